"""A row that sums other rows is never counted as a row: an aggregate sheet exported from a
pivot table or a reporting tool (Excel, SSRS, Power BI, Business Objects) with its subtotal and
grand total rows beside the rows they sum doubled every `sum` of it, exit 0. Such a row is
refused, naming the file, sheet, row and column; `--skip-bad-rows` sets the totals aside and
loads their parts. The figures are checked against DuckDB over the parts alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
from hostile_support import first_error, snapshot
from pivot_support import PARTS, TOML
from pivot_support import project as _project
from pivot_support import run_kpi as _kpi
from pivot_support import write_csv as _csv
from pivot_support import write_xlsx as _xlsx

xlsxwriter = pytest.importorskip("xlsxwriter")


MONTHS = [f"{year}-{month:02d}" for year in (2024, 2025) for month in range(1, 13)]


def _pivot_rows() -> list[tuple[str, str, str, int]]:
    """Each month's parts as an Excel pivot table lays them out in tabular form, with each
    LPA's subtotal ('Birmingham Total', role blank) and the month's grand total."""
    rows = []
    for month in MONTHS:
        for lpa in ("Birmingham", "Coventry"):
            for role in ("Officer", "Staff"):
                rows.append((month, lpa, role, PARTS[lpa, role]))
            rows.append((month, f"{lpa} Total", "",
                         sum(n for (place, _), n in PARTS.items() if place == lpa)))
        rows.append((month, "Grand Total", "", sum(PARTS.values())))
    return rows


def _oracle(rows) -> dict:
    """The year to December 2025 and each LPA's share of it, by DuckDB over the parts alone
    (the rows whose role is given: every total row of the pivot has none)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (month VARCHAR, lpa VARCHAR, role VARCHAR, n BIGINT)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    where = "role <> '' AND month BETWEEN '2025-01' AND '2025-12'"
    total = con.execute(f"SELECT SUM(n) FROM t WHERE {where}").fetchone()[0]
    parts = dict(con.execute(f"SELECT lpa, SUM(n) FROM t WHERE {where} GROUP BY lpa").fetchall())
    return {"total": total, "parts": parts}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_pivot_exports_total_rows_are_refused_and_set_aside_never_summed(tmp_path, kind):
    rows = _pivot_rows()
    folder = _project(tmp_path / "p")
    write = _csv if kind == "csv" else _xlsx
    extract = write(tmp_path / f"pivot.{kind}", rows)
    before = snapshot(folder, "workforce")

    refused = _kpi(folder, "ingest", "workforce", str(extract))
    assert refused.returncode == 3, refused.stderr
    where = f"{extract}" + (", sheet 'Pivot'" if kind == "xlsx" else "")
    assert first_error(refused.stderr) == (
        f"Error: {where}, row 4, column 'LPA': expected a row of data, found 'Birmingham "
        "Total', which labels a total or subtotal row: it sums rows the extract already holds, "
        "so they would be counted twice (export the table without its subtotals and grand "
        f"totals) (72 bad rows in all; first at rows 4, 7, 8, 11, 14)")
    assert "Traceback" not in refused.stderr
    assert snapshot(folder, "workforce").same_as(before)

    loaded = _kpi(folder, "ingest", "workforce", str(extract), "--skip-bad-rows")
    assert loaded.returncode == 0, loaded.stderr
    assert "Rejected 72 bad rows" in loaded.stderr
    shown = _kpi(folder, "show", "heads", "--period", "2025-12", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    expected = _oracle(rows)
    assert expected["total"] == 160 * 12             # by hand: 100 + 7 + 50 + 3 a month
    assert data["kpi"]["current"]["value"] == expected["total"]    # it was 3 * 1,920, exit 0
    parts = {row["part"]: row["current"] for row in data["breakdowns"]["lpa"]}
    assert parts == expected["parts"] == {"Birmingham": 107 * 12, "Coventry": 53 * 12}


@pytest.mark.parametrize("label", ["Total", "Grand Total", "GRAND TOTAL", "Subtotal",
                                   "Sub-total", "Sub Total", "Totals", "Total:", " total ",
                                   "Dudley Total"])
def test_every_way_a_tool_labels_a_total_row_is_refused(tmp_path, label):
    folder = _project(tmp_path / "p")
    extract = _csv(tmp_path / "w.csv", [("2025-01", "Dudley", "Officer", 4),
                                        ("2025-01", label, "", 4)])
    result = _kpi(folder, "ingest", "workforce", str(extract))
    assert result.returncode == 3, result.stderr
    assert "row 3, column 'LPA'" in first_error(result.stderr)
    assert "which labels a total or subtotal row" in first_error(result.stderr)


def test_text_that_only_mentions_a_total_loads(tmp_path):
    """Only a cell whose last word is the total is a total row's label."""
    folder = _project(tmp_path / "p")
    labels = ["Total recorded crime", "Totality", "Teetotal", "Totals team north", "Subtotals x"]
    extract = _csv(tmp_path / "w.csv", [("2025-01", label, "Officer", 1) for label in labels])
    result = _kpi(folder, "ingest", "workforce", str(extract))
    assert result.returncode == 0, result.stderr
    stored = snapshot(folder, "workforce").rows
    assert stored is not None and sorted(stored["lpa"].to_list()) == sorted(labels)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_total_labelled_in_a_column_the_dataset_does_not_read_is_refused(tmp_path, kind):
    """A dataset reading the role but not the LPA: each LPA's subtotal row has the month and a
    blank role, and was summed as a role 'not recorded' (5,760 for the year, exit 0)."""
    rows = _pivot_rows()
    folder = _project(tmp_path / "p")
    (folder / "kpi.toml").write_text(TOML.replace('lpa = { type = "str", from = ["LPA"] }\n', "")
                                     .replace('breakdowns = ["lpa"]', 'breakdowns = ["role"]'))
    extract = (_csv if kind == "csv" else _xlsx)(tmp_path / f"pivot.{kind}", rows)
    refused = _kpi(folder, "ingest", "workforce", str(extract))
    assert refused.returncode == 3, refused.stderr
    assert first_error(refused.stderr).startswith(
        f"Error: {extract}" + (", sheet 'Pivot'" if kind == "xlsx" else "")
        + ", row 4, column 'LPA': expected a row of data, found 'Birmingham Total', which "
        "labels a total or subtotal row")
    assert snapshot(folder, "workforce").version is None

    assert _kpi(folder, "ingest", "workforce", str(extract), "--skip-bad-rows").returncode == 0
    data = json.loads(_kpi(folder, "show", "heads", "--period", "2025-12",
                           "--format", "json").stdout)
    assert data["kpi"]["current"]["value"] == _oracle(rows)["total"] == 1920
    assert {row["part"]: row["current"] for row in data["breakdowns"]["role"]} == {
        "Officer": 150 * 12, "Staff": 10 * 12}


def test_free_text_in_a_column_the_dataset_does_not_read_loads(tmp_path):
    """An unread column may hold free text: only a whole cell that is a total's label, or
    'X Total' beside cells of X, marks a total row there."""
    folder = _project(tmp_path / "p")
    extract = tmp_path / "w.csv"
    extract.write_text("Month,LPA,Role,Headcount,Notes\n"
                       "2025-01,Dudley,Officer,4,Running total\n"
                       "2025-01,Dudley,Staff,1,Walsall Total\n"
                       "2025-01,Walsall,Staff,2,total recorded crime\n")
    result = _kpi(folder, "ingest", "workforce", str(extract))
    assert result.returncode == 0, result.stderr
    stored = snapshot(folder, "workforce").rows
    assert stored is not None and sorted(stored["headcount"].to_list()) == [1, 2, 4]


def _saved_by_excel(path: Path) -> Path:
    """`path` without xlsxwriter's ask to be recalculated on opening, as Excel saves it (its
    calcId stays), so each formula's saved value is read."""
    import zipfile

    with zipfile.ZipFile(path) as old:
        members = {name: old.read(name) for name in old.namelist()}
    members["xl/workbook.xml"] = members["xl/workbook.xml"].replace(b' fullCalcOnLoad="1"', b"")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for name, content in members.items():
            new.writestr(name, content)
    return path


@pytest.mark.parametrize("formula", [
    "=SUBTOTAL(9,D{top}:D{end})", "=SUM($D${top}:$D${end})", "=SUM(D{top},D{end})",
    # a month's force-wide row summing its LPAs, and a range named with its own sheet (as
    # Excel writes one picked after visiting another sheet): each loaded as one more part
    '=SUMIFS(D$2:D{end},A$2:A{end},"2024-01")', '=SUMIF(A$2:A{end},"2024-01",D$2:D{end})',
    "=SUMPRODUCT(D{top}:D{end})", "=SUM(Sheet1!D{top}:D{end})",
    "=SUM('Sheet1'!$D${top}:$D${end})", "=AVERAGE(D{top}:D{end})", "=MAX(D{top}:D{end})",
    "=_xlfn.MAXIFS(D{top}:D{end},B{top}:B{end},\"Dudley\")", "=COUNT(D{top}:D{end})"])
def test_a_row_whose_formula_sums_its_column_is_refused_whatever_its_label(tmp_path, formula):
    """An analyst's sheet: each month's rows, then a row of the month with no LPA or role whose
    headcount sums the rows above. Its blank LPA read as not recorded, and the year summed
    3,840 where the rows hold 1,920, exit 0. Any formula aggregating other rows of its column
    makes the row no row of data: a total by SUMIFS, SUMIF or SUMPRODUCT, a SUM naming its
    own sheet, an average, a maximum or a count (each of these loaded, exit 0)."""
    folder = _project(tmp_path / "p")
    path = tmp_path / "sheet.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Sheet1")
    sheet.write_row(0, 0, ["Month", "LPA", "Role", "Headcount", "Share"])
    line = 1
    for month in MONTHS:
        top = line + 1
        for (lpa, role), n in PARTS.items():
            sheet.write_row(line, 0, [month, lpa, role, n])
            # A formula over another column of its own row is no total row.
            sheet.write_formula(line, 4, f"=D{line + 1}/160", None, n / 160)
            line += 1
        sheet.write(line, 0, month)
        sheet.write_formula(line, 3, formula.format(top=top, end=line), None,
                            sum(PARTS.values()))
        line += 1
    book.close()
    refused = _kpi(folder, "ingest", "workforce", str(_saved_by_excel(path)))
    assert refused.returncode == 3, refused.stderr
    assert first_error(refused.stderr) == (
        f"Error: {path}, sheet 'Sheet1', row 6, column 'Headcount' (cell D6): a formula "
        f"({formula.format(top=2, end=5)}) that aggregates other rows of its column (a sum, "
        "count, average, minimum or maximum): the row sums up rows the sheet already holds, so "
        "they would be counted twice")
    assert snapshot(folder, "workforce").version is None


def test_formulas_that_sum_no_rows_of_their_column_load(tmp_path):
    """A formula of each row's own cells, or of another sheet's (its column's letter too, and
    a sheet whose name ends as this one's), is a value like any other; so is text in quotes
    that reads as a cell of its column ("D2")."""
    folder = _project(tmp_path / "p")
    path = tmp_path / "sheet.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Sheet1")
    book.add_worksheet("Data").write_row(0, 0, [60, 40])
    sheet.write_row(0, 0, ["Month", "LPA", "Role", "Headcount", "Officers", "Staff"])
    sheet.write_row(1, 0, ["2025-01", "Dudley", "All", None, 4, 3])
    sheet.write_formula(1, 3, "=SUM(E2:F2)", None, 7)
    sheet.write_row(2, 0, ["2025-01", "Walsall", "All"])
    sheet.write_formula(2, 3, "=SUM(Data!A1:B1)", None, 100)
    book.add_worksheet("OldSheet1").write_column(0, 3, [2, 3])
    sheet.write_row(3, 0, ["2025-01", "Coventry", "All"])
    sheet.write_formula(3, 3, "=SUM(Data!D1:D5,OldSheet1!D1:D2)", None, 5)
    sheet.write_row(4, 0, ["2025-01", "Solihull", "All"])
    sheet.write_formula(4, 3, '=COUNTIF(Data!A1:B1,"D2")', None, 0)
    book.close()
    result = _kpi(folder, "ingest", "workforce", str(_saved_by_excel(path)), "--sheet", "Sheet1")
    assert result.returncode == 0, result.stderr
    stored = snapshot(folder, "workforce").rows
    assert stored is not None and sorted(stored["headcount"].to_list()) == [0, 5, 7, 100]


@pytest.mark.parametrize("typed", [False, True])
def test_a_tables_totals_row_is_refused_whatever_it_holds(tmp_path, typed):
    """An Excel table (Insert > Table) with its Total Row on: the workbook names that row the
    table's totals row (`totalsRowCount` in its table part), whatever its cells hold, a
    SUBTOTAL over the column by its name (`[Headcount]`, no range of cells) or
    the figures typed over it. Its month given and its labels blank, it loaded as a row of
    data: the year summed 3,840 + 1,920 where the rows hold 1,920, exit 0."""
    folder = _project(tmp_path / "p")
    path = tmp_path / "sheet.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Sheet1")
    rows = [[month, lpa, role, n] for month in MONTHS for (lpa, role), n in PARTS.items()]
    total = sum(row[3] for row in rows)
    last = len(rows) + 2  # the header, the rows, the totals row
    sheet.add_table(0, 0, last - 1, 3, {
        "data": rows, "total_row": True,
        "columns": [{"header": "Month", "total_string": "2025-12"}, {"header": "LPA"},
                    {"header": "Role"},
                    {"header": "Headcount", "total_function": "sum", "total_value": total}]})
    if typed:  # the totals row's formula replaced by its value (Paste Special, values)
        sheet.write_number(last - 1, 3, total)
    book.close()
    _saved_by_excel(path)
    if not typed:
        assert b"<f>SUBTOTAL(109,[Headcount])</f>" in _member(path, "xl/worksheets/sheet1.xml")
    refused = _kpi(folder, "ingest", "workforce", str(path))
    assert refused.returncode == 3, refused.stderr
    assert first_error(refused.stderr) == (
        f"Error: {path}, sheet 'Sheet1', row {last}, column 'Month': the totals row of table "
        "'Table1' (its Total Row): it sums or counts the table's rows, so they would be counted "
        "twice")
    assert snapshot(folder, "workforce").version is None
    # The same table without its totals row loads, its year the rows' own; so does a table
    # beside it, of columns the dataset does not read, whose totals row is on a row of data.
    plain = tmp_path / "plain.xlsx"
    book = xlsxwriter.Workbook(str(plain))
    sheet = book.add_worksheet("Sheet1")
    sheet.add_table(0, 0, last - 2, 3, {
        "data": rows, "columns": [{"header": h} for h in ("Month", "LPA", "Role", "Headcount")]})
    sheet.add_table(0, 5, 3, 6, {
        "data": [["Officer", 150], ["Staff", 10]], "total_row": True,
        "columns": [{"header": "Kind", "total_string": "All"},
                    {"header": "Heads", "total_function": "sum", "total_value": 160}]})
    book.close()
    loaded = _kpi(folder, "ingest", "workforce", str(_saved_by_excel(plain)))
    assert loaded.returncode == 0, loaded.stderr
    stored = snapshot(folder, "workforce").rows
    assert stored is not None and stored["headcount"].sum() == total


def _member(path: Path, name: str) -> bytes:
    import zipfile

    with zipfile.ZipFile(path) as book:
        return book.read(name)


@pytest.mark.parametrize(("written", "shown"), [
    # the total typed in Budget (D) and filled right into Headcount (E): Excel saves one
    # shared formula, its text in D6 alone
    ('<c r="D6"><f t="shared" ref="D6:E6" si="0">SUM(D2:D5)</f><v>1</v></c>'
     '<c r="E6"><f t="shared" si="0"/><v>160</v></c>', "=SUM(E2:E5)"),
    ('<c r="D6"><v>1</v></c><c r="E6"><f>SUM(Table1[Headcount])</f><v>160</v></c>',
     "=SUM(Table1[Headcount])"),
    ('<c r="D6"><v>1</v></c><c r="E6"><f>SUBTOTAL(109,Table1[[#Data],[Headcount]])</f>'
     '<v>160</v></c>', "=SUBTOTAL(109,Table1[[#Data],[Headcount]])"),
    # text for a formula of one row, and a total of another column: values like any other
    ('<c r="D6"><v>1</v></c><c r="E6"><f>SUM(Table1[@Budget],1)</f><v>160</v></c>', None),
    ('<c r="D6"><v>1</v></c><c r="E6"><f>SUM(Table1[Budget])</f><v>160</v></c>', None),
])
def test_a_shared_or_table_formula_summing_its_column_is_refused(tmp_path, written, shown):
    """A total row's SUM typed in one column and filled right is saved as one shared formula,
    its text in the first cell alone (`<f t="shared" si="0"/>` in the others); a total of a
    table's column is written by its name (=SUM(Table1[Headcount])). Either loaded as one more
    row, the year's headcount 320 where its rows hold 160, exit 0. The shared formula is read
    as Excel reads it in its cell, and a table's column taken whole as its own column."""
    import zipfile

    folder = _project(tmp_path / "p")  # Budget is not read
    path = tmp_path / "sheet.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Sheet1")
    sheet.write_row(0, 0, ["Month", "LPA", "Role", "Budget", "Headcount"])
    for line, ((lpa, role), n) in enumerate(PARTS.items(), start=1):
        sheet.write_row(line, 0, ["2025-01", lpa, role, 1, n])
    sheet.write_row(5, 0, ["2025-01", "Solihull", "All", 1, 0])
    book.close()
    with zipfile.ZipFile(path) as old:
        members = {name: old.read(name) for name in old.namelist()}
    members["xl/worksheets/sheet1.xml"] = re.sub(
        rb'<c r="D6"[^>]*><v>1</v></c><c r="E6"[^>]*><v>0</v></c>', written.encode(),
        members["xl/worksheets/sheet1.xml"])
    assert written.encode() in members["xl/worksheets/sheet1.xml"]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for name, content in members.items():
            new.writestr(name, content)
    result = _kpi(folder, "ingest", "workforce", str(_saved_by_excel(path)))
    if shown is None:
        assert result.returncode == 0, result.stderr
        stored = snapshot(folder, "workforce").rows
        assert stored is not None and sorted(stored["headcount"].to_list()) == [3, 7, 50, 100,
                                                                                160]
        return
    assert result.returncode == 3, result.stderr
    error = first_error(result.stderr)
    assert error.startswith(f"Error: {path}, sheet 'Sheet1', row 6, column 'Headcount' (cell "
                            f"E6): a formula ({shown[:30]}"), error
    assert error.endswith("that aggregates other rows of its column (a sum, count, average, "
                          "minimum or maximum): the row sums up rows the sheet already holds, "
                          "so they would be counted twice")
    assert snapshot(folder, "workforce").version is None
