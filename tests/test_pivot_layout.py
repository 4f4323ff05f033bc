"""An aggregate sheet saved from a pivot table holds rows that are no rows of data, whatever
their labels (`kpi.ingest.conform.PivotLayout`):

- a label printed only on its group's first row and left blank below (outline or tabular form
  without 'Repeat All Item Labels'): the rows below it loaded under no LPA, exit 0, so each
  LPA's figure was its first row's alone, and a subtotal at the top of each group (Excel's
  outline form) doubled the year;
- a total or subtotal row whose labels are blank (a report's total row with an empty label, a
  subtotal that repeats the LPA and leaves the role blank): summed with its parts, exit 0.

Each is refused, naming the file, row and column, with `--skip-bad-rows` too (which rows are
data no row check can say). The figures of the same table with its labels repeated and its
totals removed are checked against DuckDB over the parts, and by hand."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import inprocess
import pytest
from hostile_support import first_error, snapshot
from pivot_support import HEADER, PARTS, TOML
from pivot_support import project as _project
from pivot_support import run_kpi as _kpi
from pivot_support import write_csv as _csv
from pivot_support import write_xlsx as _xlsx

MONTHS = [f"2025-{month:02d}" for month in range(1, 13)]


def _parts() -> list[tuple[str, str, str, int]]:
    """Every row of data, each label on its row: 4 a month, 160 heads a month."""
    return [(month, lpa, role, n) for month in MONTHS for (lpa, role), n in PARTS.items()]


def _tabular(rows):
    """The pivot table in tabular form without repeated labels: the LPA printed on its
    group's first row only (the month, a page field, typed on every row)."""
    out, above = [], None
    for month, lpa, role, n in rows:
        out.append((month, "" if (month, lpa) == above else lpa, role, n))
        above = (month, lpa)
    return out


def _outline(rows):
    """Excel's outline form: each LPA's subtotal on its label's row, at the top of its group,
    and the roles below it with the LPA left blank."""
    out = []
    for month in MONTHS:
        for lpa in ("Birmingham", "Coventry"):
            out.append((month, lpa, "", sum(n for (p, _), n in PARTS.items() if p == lpa)))
            out += [(m, "", role, n) for m, p, role, n in rows if m == month and p == lpa]
    return out


def _blank_grand_totals(rows):
    """Each month's parts and then its total, on a row whose LPA and role are blank (a
    report's total row with its label cell empty)."""
    out = []
    for month in MONTHS:
        these = [r for r in rows if r[0] == month]
        out += [*these, (month, "", "", sum(r[3] for r in these))]
    return out


def _subtotals_without_the_word(rows):
    """Each LPA's subtotal repeating the LPA, with the role blank (no 'Total' in it)."""
    out = []
    for month in MONTHS:
        for lpa in ("Birmingham", "Coventry"):
            these = [r for r in rows if r[0] == month and r[1] == lpa]
            out += [*these, (month, lpa, "", sum(r[3] for r in these))]
    return out


def _oracle(rows) -> dict:
    """The year to December 2025 and each LPA's share, by DuckDB over the rows of data."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (month VARCHAR, lpa VARCHAR, role VARCHAR, n BIGINT)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    total = con.execute("SELECT SUM(n) FROM t").fetchone()[0]
    parts = dict(con.execute("SELECT lpa, SUM(n) FROM t GROUP BY lpa").fetchall())
    return {"total": total, "parts": parts}


def _figures(folder: Path) -> dict:
    shown = _kpi(folder, "show", "heads", "--period", "2025-12", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    return {"total": data["kpi"]["current"]["value"],
            "parts": {row["part"]: row["current"] for row in data["breakdowns"]["lpa"]}}


HAND = {"total": 160 * 12, "parts": {"Birmingham": 107 * 12, "Coventry": 53 * 12}}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize(("layout", "message"), [
    (_tabular, "row 3, column 'LPA': expected a label, found a blank below 'Birmingham' (row "
               "2): a pivot table prints each label only on its group's first row, so the rows "
               "below it would be counted under no label"),
    (_outline, "row 3, column 'LPA': expected a label, found a blank below 'Birmingham' (row "
               "2): a pivot table prints each label only on its group's first row, so the rows "
               "below it would be counted under no label"),
    (_blank_grand_totals, "row 6, column 'LPA': expected a row of data, found a row with no "
                          "LPA or Role whose Headcount (160) is the sum of the 4 rows it would "
                          "cover (rows 2, 3, 4, 5): a total or subtotal row, so they would be "
                          "counted twice"),
    (_subtotals_without_the_word, "row 4, column 'Role': expected a row of data, found a row "
                                  "with no Role whose Headcount (107) is the sum of the 2 rows "
                                  "it would cover (rows 2, 3): a total or subtotal row, so they "
                                  "would be counted twice"),
])
def test_a_pivot_layouts_rows_that_are_no_data_are_refused(tmp_path, kind, layout, message):
    """Loaded before, each gave a wrong figure with exit 0: the tabular layout Birmingham
    1,200 of 1,284 (its officers only), the outline one a year of 3,840 where the parts hold
    1,920, the blank grand totals 3,840, the subtotals without the word 3,840."""
    folder = _project(tmp_path / "p")
    write = _csv if kind == "csv" else _xlsx
    extract = write(tmp_path / f"pivot.{kind}", layout(_parts()))
    where = f"{extract}" + (", sheet 'Pivot'" if kind == "xlsx" else "")
    for extra in ((), ("--skip-bad-rows",)):
        refused = _kpi(folder, "ingest", "workforce", str(extract), *extra)
        assert refused.returncode == 3, refused.stderr
        assert first_error(refused.stderr) == f"Error: {where}, {message}"
        assert refused.stderr.splitlines()[1].startswith("Hint: ")
        assert "Traceback" not in refused.stderr
        assert snapshot(folder, "workforce").version is None

    # The same table with its labels repeated and without totals loads, as counted by hand.
    fixed = write(tmp_path / f"flat.{kind}", _parts())
    assert _kpi(folder, "ingest", "workforce", str(fixed)).returncode == 0
    assert _figures(folder) == _oracle(_parts()) == HAND


def _labelled_grand_totals(label):
    def layout(rows):
        out = []
        for month in MONTHS:
            these = [r for r in rows if r[0] == month]
            out += [*these, (month, label, "", sum(r[3] for r in these))]
        return out
    return layout


def _labelled_subtotals(form):
    def layout(rows):
        out = []
        for month in MONTHS:
            for lpa in ("Birmingham", "Coventry"):
                these = [r for r in rows if r[0] == month and r[1] == lpa]
                out += [*these, (month, form.format(lpa), "", sum(r[3] for r in these))]
        return out
    return layout


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize(("layout", "message"), [
    *[(_labelled_grand_totals(label),
       f"row 6, column 'LPA': expected a row of data, found '{label}', a row whose Headcount "
       "(160) is the sum of the 4 rows it would cover (rows 2, 3, 4, 5): a total or subtotal "
       "row, so they would be counted twice")
      # English, LibreOffice's Data > Subtotals and pivot table, German and French Excel
      for label in ("Overall", "All", "Grand Sum", "Total Result", "Gesamtergebnis",
                    "Total général", "All LPAs", "Grand Total 2025", "Total (all)")],
    *[(_labelled_subtotals(form),
       f"row 4, column 'LPA': expected a row of data, found '{form.format('Birmingham')}', a "
       "row whose Headcount (107) is the sum of the 2 rows it would cover (rows 2, 3): a "
       "total or subtotal row, so they would be counted twice")
      for form in ("{} Sum", "{} Result", "{} Ergebnis", "Total {}", "Total - {}",
                   "{} (Sum)")],
])
def test_a_total_labelled_without_the_word_total_is_refused(tmp_path, kind, layout, message):
    """A total whose label is no 'Total', with its figures the sum of the rows it covers.
    Loaded before, exit 0: a year of 3,840 where the parts hold 1,920, and a part of that
    label ('Overall' 1,920, 'Birmingham Sum' 1,284)."""
    folder = _project(tmp_path / "p")
    write = _csv if kind == "csv" else _xlsx
    extract = write(tmp_path / f"pivot.{kind}", layout(_parts()))
    where = f"{extract}" + (", sheet 'Pivot'" if kind == "xlsx" else "")
    refused = _kpi(folder, "ingest", "workforce", str(extract), "--skip-bad-rows")
    assert refused.returncode == 3, refused.stderr
    assert first_error(refused.stderr) == f"Error: {where}, {message}"
    assert snapshot(folder, "workforce").version is None


@pytest.mark.parametrize("label", ["Overall", "All", "Gesamtergebnis"])
def test_a_labelled_total_of_a_table_of_one_label_is_refused(tmp_path, label):
    """A table of each month's LPAs and their total, no column left blank: the total's row
    is a part as written, and a total of the others. Loaded before: a year of 3,840."""
    toml = TOML.replace('role = { type = "str", from = ["Role"] }\n', "")
    folder = _project(tmp_path / "p", toml)
    rows = [(m, lpa, n) for m in MONTHS
            for lpa, n in (("Birmingham", 107), ("Coventry", 53), (label, 160))]
    extract = _csv(tmp_path / "w.csv", rows, ("Month", "LPA", "Headcount"))
    refused = _kpi(folder, "ingest", "workforce", str(extract))
    assert refused.returncode == 3, refused.stderr
    assert first_error(refused.stderr) == (
        f"Error: {extract}, row 4, column 'LPA': expected a row of data, found '{label}', a "
        "row whose Headcount (160) is the sum of the 2 rows it would cover (rows 2, 3): a "
        "total or subtotal row, so they would be counted twice")
    flat = _csv(tmp_path / "flat.csv", [r for r in rows if r[1] != label],
                ("Month", "LPA", "Headcount"))
    assert _kpi(folder, "ingest", "workforce", str(flat)).returncode == 0
    assert _figures(folder) == HAND


def test_a_part_called_all_or_overall_loads_where_it_sums_nothing(tmp_path):
    """Such a label is read as a total's only where the row's figures are the sum of the two
    or more rows it would cover, two or more of them holding a figure."""
    folder = _project(tmp_path / "p")
    rows = [(m, lpa, role, n) for m in MONTHS for lpa, role, n in (
        ("Dudley", "All", 7), ("Walsall", "All", 100), ("Overall", "Staff", 3),
        ("Overall", "Officer", 4), ("Sandwell", "Officer", 3), ("Sandwell", "Staff", 4),
        ("All", "", 7), ("All other theft offences", "Staff", 8),
        # a row equal to the one part of its LPA that holds a figure, beside a zero
        ("Solihull", "Officer", 1), ("Solihull", "Staff", 0), ("Solihull", "All roles", 1))]
    extract = _csv(tmp_path / "w.csv", rows)
    result = _kpi(folder, "ingest", "workforce", str(extract))
    assert result.returncode == 0, result.stderr
    stored = snapshot(folder, "workforce").rows
    assert stored is not None and stored.height == len(rows)
    assert _figures(folder) == _oracle(rows)
    assert _figures(folder)["total"] == 12 * (7 + 100 + 3 + 4 + 3 + 4 + 7 + 8 + 1 + 0 + 1)


def test_the_check_reads_the_whole_file_whatever_the_batch(tmp_path, monkeypatch):
    """The blank below a label and the total it sums may fall in different batches."""
    monkeypatch.setenv("KPI_INGEST_BATCH_ROWS", "3")
    folder = _project(tmp_path / "p")
    for layout, row in ((_tabular, 3), (_blank_grand_totals, 6), (_outline, 3)):
        extract = _csv(tmp_path / f"{layout.__name__}.csv", layout(_parts()))
        refused = _kpi(folder, "ingest", "workforce", str(extract))
        assert refused.returncode == 3, refused.stderr
        assert first_error(refused.stderr).startswith(f"Error: {extract}, row {row}, ")


@pytest.mark.parametrize("rows", [
    # a part not recorded, beside an LPA that has the same role: filled down, it would be a
    # second row of Coventry officers
    [("2025-01", "Birmingham", "Officer", 10), ("2025-01", "Coventry", "Officer", 5),
     ("2025-01", "", "Officer", 2)],
    # a blank on the first row, below no label
    [("2025-01", "", "Officer", 2), ("2025-01", "Birmingham", "Officer", 10),
     ("2025-01", "Coventry", "Officer", 5)],
    # a blank on a month's first row: a pivot prints the label again when the month changes
    [("2025-01", "Birmingham", "Officer", 10), ("2025-01", "Coventry", "Officer", 5),
     ("2025-02", "", "Officer", 2), ("2025-02", "Birmingham", "Officer", 1)],
    # a part not recorded whose figure is the sum of rows scattered about the table, not of
    # a run of rows beside it
    [("2025-01", "Birmingham", "Officer", 3), ("2025-01", "Birmingham", "Staff", 2),
     ("2025-01", "Coventry", "Officer", 1), ("2025-01", "", "Officer", 4)],
    # a query's rows of no LPA sorted last in each month (NULLS LAST), below the last LPA,
    # which has no row of that role: half the LPA cells have a blank below them, not more
    [(m, lpa, role, n) for m in MONTHS[:3] for lpa, role, n in (
        ("Birmingham", "Officer", 10), ("Coventry", "Officer", 5), ("", "Staff", 1))],
    # a row with no labels summing to zero with its parts
    [("2025-01", "Birmingham", "Officer", 0), ("2025-01", "Coventry", "Officer", 0),
     ("2025-01", "", "", 0)],
    # records, not a table of parts: two rows of the same labels
    [("2025-01", "Birmingham", "Officer", 1), ("2025-01", "Birmingham", "Officer", 1),
     ("2025-01", "", "", 2), ("2025-01", "", "Staff", 1)],
])
def test_blank_labels_that_are_data_load(tmp_path, rows):
    folder = _project(tmp_path / "p")
    extract = _csv(tmp_path / "w.csv", rows)
    result = _kpi(folder, "ingest", "workforce", str(extract))
    assert result.returncode == 0, result.stderr
    stored = snapshot(folder, "workforce").rows
    assert stored is not None and stored.height == len(rows)
    assert stored["headcount"].sum() == sum(r[3] for r in rows)


def test_a_dataset_of_records_with_an_id_is_not_read_as_a_table(tmp_path):
    """A dataset that declares a `unique` id holds records: a blank below a label is a blank."""
    toml = TOML.replace('date = "month"\n', 'date = "month"\nunique = "ref"\n').replace(
        'headcount = { type = "int", from = ["Headcount"] }\n',
        'headcount = { type = "int", from = ["Headcount"] }\nref = { type = "str" }\n')
    folder = _project(tmp_path / "p", toml)
    rows = [(*row, f"R{i}") for i, row in enumerate(_tabular(_parts()))]
    extract = _csv(tmp_path / "w.csv", rows, (*HEADER, "ref"))
    result = _kpi(folder, "ingest", "workforce", str(extract))
    assert result.returncode == 0, result.stderr


def test_records_with_an_id_blank_on_some_rows_load(tmp_path):
    """An extract of records whose reference is blank on some rows (a crime reference on ASB
    rows) and unique elsewhere: each row reads differently, but its column heads no groups,
    as few of its references have a blank below them."""
    toml = TOML.replace('headcount = { type = "int", from = ["Headcount"] }\n',
                        'headcount = { type = "int", from = ["Headcount"] }\n'
                        'ref = { type = "str", from = ["Ref"] }\n')
    folder = _project(tmp_path / "p", toml)
    rows = [(f"C{i}" if i % 4 else "", "2025-01", ("Birmingham", "Coventry")[i % 2],
             ("Officer", "Staff")[i // 2 % 2], 1) for i in range(1, 40)]
    extract = _csv(tmp_path / "w.csv", rows, ("Ref", *HEADER))
    result = _kpi(folder, "ingest", "workforce", str(extract))
    assert result.returncode == 0, result.stderr
    stored = snapshot(folder, "workforce").rows
    assert stored is not None and stored.height == 39 and stored["ref"].null_count() == 9


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("shown", ["(blank)", "(empty)", "(Blank)"])
def test_a_pivot_tables_label_for_an_empty_value_is_refused(tmp_path, kind, shown):
    """Excel's pivot table shows an empty value as '(blank)', LibreOffice's as '(empty)'.
    Loaded before, exit 0: a part '(blank)' of 36, beside the 36 under no LPA of the months
    saved as CSV with the cell blank, so the breakdown split the rows with no LPA in two."""
    folder = _project(tmp_path / "p")
    write = _csv if kind == "csv" else _xlsx
    first = [(m, lpa, role, n) for m in MONTHS[:6] for lpa, role, n in (
        ("Birmingham", "Officer", 100), ("", "Officer", 6))]
    later = [(m, lpa, role, n) for m in MONTHS[6:] for lpa, role, n in (
        ("Birmingham", "Officer", 100), (shown, "Officer", 6))]
    assert _kpi(folder, "ingest", "workforce", str(_csv(tmp_path / "h1.csv", first))
                ).returncode == 0
    extract = write(tmp_path / f"h2.{kind}", later)
    refused = _kpi(folder, "ingest", "workforce", str(extract))
    assert refused.returncode == 3, refused.stderr
    where = f"{extract}" + (", sheet 'Pivot'" if kind == "xlsx" else "")
    assert first_error(refused.stderr) == (
        f"Error: {where}, row 3, column 'LPA': expected text, found '{shown}', which a pivot "
        "table shows for an empty value: it would be stored as a part of that name, not as a "
        "blank (leave the cell blank, or write what it stands for, such as 'Not recorded') "
        "(6 bad rows in all; first at rows 3, 5, 7, 9, 11)")
    assert snapshot(folder, "workforce").version == 0
    # A database's export writes its null as NULL (SQL Server's "Save Results As"), \N
    # (MySQL's INTO OUTFILE, PostgreSQL's text COPY) or null (JSON, Spark): loaded, a part of
    # that name, and `lpa IS NOT NULL` counted it (100.0% where half had none).
    for null in ("NULL", "\\N", "null"):
        nulls = write(tmp_path / f"h2-nulls.{kind}", [(m, null if lpa == shown else lpa, r, n)
                                                      for m, lpa, r, n in later])
        refused = _kpi(folder, "ingest", "workforce", str(nulls))
        assert refused.returncode == 3, refused.stderr
        assert (f"found '{null}', which a database's export writes for a null value"
                in refused.stderr)

    fixed = write(tmp_path / f"h2-fixed.{kind}", [(m, "" if lpa == shown else lpa, r, n)
                                                  for m, lpa, r, n in later])
    assert _kpi(folder, "ingest", "workforce", str(fixed)).returncode == 0
    rows = first + [(m, "" if lpa == shown else lpa, r, n) for m, lpa, r, n in later]
    oracle = _oracle([(m, lpa or None, r, n) for m, lpa, r, n in rows])
    assert _figures(folder) == oracle == {"total": 1272,
                                          "parts": {"Birmingham": 1200, None: 72}}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize(("captions", "second"), [
    (("Sum of Headcount", "Count of Headcount"), "Count of Headcount"),
    (("Sum - Headcount", "Count - Headcount"), "Count - Headcount"),   # LibreOffice's
])
def test_a_pivot_of_two_measures_is_refused(tmp_path, monkeypatch, kind, captions, second):
    """A pivot table of two measures (the sum of the headcount and the count of its rows)
    saved with the measures as rows: each part on two rows, captioned in a 'Values' column
    the dataset does not read. Loaded before, exit 0 (with a warning that 'Values' was
    ignored): the year 1,968 where the parts hold 1,920, each part's count of 1 a month added
    to its headcount. Refused whatever the batch the second caption falls in."""
    monkeypatch.setenv("KPI_INGEST_BATCH_ROWS", "1")
    folder = _project(tmp_path / "p")
    rows = [(m, lpa, role, caption, n if caption == captions[0] else 1)
            for m, lpa, role, n in _parts() for caption in captions]
    header = ("Month", "LPA", "Role", "Values", "Headcount")
    extract = (_csv if kind == "csv" else _xlsx)(tmp_path / f"v.{kind}", rows, header)
    refused = _kpi(folder, "ingest", "workforce", str(extract))
    assert refused.returncode == 3, refused.stderr
    where = f"{extract}" + (", sheet 'Pivot'" if kind == "xlsx" else "")
    assert first_error(refused.stderr).startswith(
        f"Error: {where}, row 3, column 'Values': expected a row of data, found '{second}', a "
        f"pivot table's caption of a measure, below rows of '{captions[0]}': each part has a "
        "row per measure, and their figures would be added together (export one measure, or "
        "the measures as columns) (48 bad rows in all")

    # One measure, captioned on every row, loads as its parts.
    one = (_csv if kind == "csv" else _xlsx)(
        tmp_path / f"one.{kind}", [r for r in rows if r[3] == captions[0]], header)
    assert _kpi(folder, "ingest", "workforce", str(one)).returncode == 0
    assert _figures(folder) == _oracle(_parts()) == HAND


def test_no_more_rows_are_held_than_a_sheet_holds(tmp_path, monkeypatch):
    """Rows are held until the file reads as records (two rows of the same labels) or every
    batch is in: an extract of records whose labels never repeat (a free-text place among
    them) held every row's labels to its end, 2.3 GB and 41 s for 3M rows where the load
    took 0.45 GB and 6 s without the check. Past the rows a sheet holds (1,048,576 in Excel
    and LibreOffice Calc) no file was saved from a pivot table: nothing more is held, and no
    layout is refused. Shown here with a sheet of 20 rows: the tabular pivot
    of 48 rows that is refused at row 3 loads, and the check holds nothing once past 20."""
    from kpi.ingest import conform

    monkeypatch.setattr(conform, "SHEET_ROWS", 20, raising=False)
    monkeypatch.setenv("KPI_INGEST_BATCH_ROWS", "8")
    held: list[int] = []
    add = conform.PivotLayout.add

    def counted(self, good):
        add(self, good)
        held.append(sum(f.height for f in self.frames))

    monkeypatch.setattr(conform.PivotLayout, "add", counted)
    folder = _project(tmp_path / "p")
    extract = _csv(tmp_path / "tabular.csv", _tabular(_parts()))
    assert len(_parts()) == 48
    done = inprocess.run(["--project", str(folder), "ingest", "workforce", str(extract)])
    assert done.returncode == 0, done.stderr
    assert max(held) <= 20 + 8 and held[-1] == 0, held


_OUTCOMES = """
[project]
name = "Outcomes"
baseline = "2024-09"

[datasets.crimes]
date = "recorded"
unique = "ref"

[datasets.crimes.columns]
ref = "str"
recorded = "date"
outcome = { type = "str", required = false }

[[priorities]]
id = "v"
title = "Violence"

[[kpis]]
id = "outcome_rate"
title = "Crimes with an outcome"
priority = "v"
kind = "rate"
dataset = "crimes"
better = "higher"
numerator = "outcome IS NOT NULL"
"""


def _outcomes(path: Path, missing: str) -> Path:
    """24 months to 2025-09, 8 crimes a month, 4 with an outcome; from 2024-10 the others'
    outcome written `missing`, before it blank."""
    lines = ["Ref,Recorded,Outcome"]
    for n in range(24):
        year, month = 2023 + (9 + n) // 12, (9 + n) % 12 + 1
        for k in range(8):
            none = missing if (year, month) >= (2024, 10) else ""
            lines.append(f"R{year}{month:02d}-{k},{year}-{month:02d}-10,"
                         f"{'CHG' if k % 2 == 0 else none}")
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("missing, writer", [
    ("#N/A", "a spreadsheet writes for a formula's error"),
    ("#VALUE!", "a spreadsheet writes for a formula's error"),
    ("#ref!", "a spreadsheet writes for a formula's error"),
    ("#DIV/0!", "a spreadsheet writes for a formula's error"),
    ("#NAME?", "a spreadsheet writes for a formula's error"),
    ("#NUM!", "a spreadsheet writes for a formula's error"),
    ("#NULL!", "a spreadsheet writes for a formula's error"),
    ("Err:502", "a spreadsheet writes for a formula's error"),
    ("NA", "pandas or R writes for a missing value"),
    ("nan", "a data frame or a database writes for a number that is not one"),
    ("NaN", "a data frame or a database writes for a number that is not one"),
    ("<NA>", "pandas or R writes for a missing value"),
    (" NaT ", "pandas or R writes for a missing value"),
    ("NULL", "a database's export writes for a null value"),
    # with an invisible character, stored as the bare mark (24 outcomes where 22)
    ("#N/A\u200b", "a spreadsheet writes for a formula's error"),
    ("\u00adNA", "pandas or R writes for a missing value"),
    # Google Sheets', Python in Excel's, German and French Excel's, C's printf of a null
    ("#ERROR!", "a spreadsheet writes for a formula's error"),
    ("#PYTHON!", "a spreadsheet writes for a formula's error"),
    ("#DIV/0", "a spreadsheet writes for a formula's error"),
    ("#NV", "a spreadsheet writes for a formula's error"),
    ("#WERT!", "a spreadsheet writes for a formula's error"),
    ("#VALEUR!", "a spreadsheet writes for a formula's error"),
    ("(null)", "a database's export writes for a null value"),
])
def test_a_tools_mark_for_no_value_is_refused_not_counted(tmp_path, missing, writer):
    """What a spreadsheet (an error saved as CSV), pandas or R, or a database writes for "no
    value" is no outcome: loaded, `outcome IS NOT NULL` counted it, 100.0% against 50.0%,
    "+50pp improving", exit 0. Refused, naming the file, row and column; with the cells
    blank, by hand 4 of 8 crimes a month have an outcome: 50.0% in both years."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text(_OUTCOMES, encoding="utf-8")
    extract = _outcomes(tmp_path / "crimes.csv", missing)
    out = inprocess.run(["--project", folder, "ingest", "crimes", extract])
    assert out.returncode == 3, out.stdout
    assert first_error(out.stderr).startswith(
        f"Error: {extract}, row 99, column 'Outcome': expected text, found '{missing}', which "
        f"{writer}: it would be stored as a part of that name, not as a blank (")
    assert "(48 bad rows in all; first at rows 99, 101, 103, 105, 107)" in out.stderr
    assert snapshot(folder, "crimes").version is None  # nothing stored
    out = inprocess.run(["--project", folder, "ingest", "crimes",
                         _outcomes(tmp_path / "fixed.csv", "")])
    assert out.returncode == 0, out.stderr
    out = inprocess.run(["--project", folder, "summary", "--period", "2025-09", "--format",
                         "json"])
    kpi = json.loads(out.stdout)["kpis"][0]
    assert (kpi["comparison"]["value"], kpi["current"]["value"]) == (50.0, 50.0)


def test_a_spreadsheets_text_formula_is_refused_not_stored_with_its_quotes(tmp_path):
    """="000040" (a CSV written for Excel keeps an id's zeros so, as kpi's csv-excel does) was
    stored with its = and quotes, another id than 000040: a re-dated incident was counted
    twice, exit 0. Refused, naming the cell."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text(_OUTCOMES, encoding="utf-8")
    extract = _outcomes(tmp_path / "crimes.csv", '"=""CHG"""')
    out = inprocess.run(["--project", folder, "ingest", "crimes", extract])
    assert out.returncode == 3, out.stdout
    assert first_error(out.stderr).startswith(
        f"Error: {extract}, row 99, column 'Outcome': expected text, found '=\"CHG\"', a "
        "spreadsheet's formula for a text")


@pytest.mark.parametrize("written", ["N/A", "n/a", "None", "Nan", "Na", "Null", "none", "NA Team",
                                     "#1", "Error 502"])
def test_a_word_a_person_may_mean_as_a_value_loads(tmp_path, written):
    """Text a tool does not write for "no value", which a person may mean as one ('N/A', not
    applicable, an outcome of its own; 'None', a weapon used): loaded as written, counted as
    an outcome (by hand, 8 of 8 crimes a month from 2024-10)."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text(_OUTCOMES, encoding="utf-8")
    out = inprocess.run(["--project", folder, "ingest", "crimes",
                         _outcomes(tmp_path / "crimes.csv", written)])
    assert out.returncode == 0, out.stderr
    out = inprocess.run(["--project", folder, "summary", "--period", "2025-09", "--format",
                         "json"])
    kpi = json.loads(out.stdout)["kpis"][0]
    assert (kpi["comparison"]["value"], kpi["current"]["value"]) == (50.0, 100.0)


@pytest.mark.parametrize("header", [
    "Re\u0301sultat",  # NFD, as macOS writes it
    "Outcome Code\u200b",  # a zero-width space after it
    "\ufeffR\u00e9sultat\u2060",  # a byte-order mark before it, a word joiner after it
    "OUTCOME\u00a0 CODE",
])
def test_a_header_is_read_as_a_cell_is(tmp_path, header):
    """A column's name is matched as its cells are stored (NFC, without invisible characters),
    then without case or spacing: 'Résultat' in NFD or 'Outcome Code' with a zero-width space
    was "ignored 1 column(s) not in dataset" and the outcome stored blank, 25.0% where 50.0%,
    "deteriorating, significant", exit 0. By hand: 4 of 8 crimes a month, 50.0% both years."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text(_OUTCOMES.replace(
        'outcome = { type = "str", required = false }',
        'outcome = { type = "str", from = ["Résultat", "Outcome Code"], required = false }'),
        encoding="utf-8")
    extract = _outcomes(tmp_path / "crimes.csv", "")
    extract.write_text(extract.read_text(encoding="utf-8").replace(
        "Ref,Recorded,Outcome", f"Ref,Recorded,{header}", 1), encoding="utf-8")
    out = inprocess.run(["--project", folder, "ingest", "crimes", extract])
    assert out.returncode == 0, out.stderr
    assert "ignored" not in out.stderr
    out = inprocess.run(["--project", folder, "summary", "--period", "2025-09", "--format",
                         "json"])
    kpi = json.loads(out.stdout)["kpis"][0]
    assert (kpi["comparison"]["value"], kpi["current"]["value"]) == (50.0, 50.0)


def test_two_headers_naming_one_column_in_two_forms_are_refused(tmp_path):
    """'Résultat' in NFC and in NFD are one name: two columns meaning one are refused."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text(_OUTCOMES.replace(
        'outcome = { type = "str", required = false }',
        'outcome = { type = "str", from = ["Résultat"], required = false }'), encoding="utf-8")
    extract = tmp_path / "two.csv"
    extract.write_text("Ref,Recorded,R\u00e9sultat,Re\u0301sultat\nR1,2025-09-10,CHG,\n",
                       encoding="utf-8")
    out = inprocess.run(["--project", folder, "ingest", "crimes", extract])
    assert out.returncode == 3, out.stdout
    assert first_error(out.stderr).startswith(
        f"Error: {extract}, row 1, column 'Re\u0301sultat': columns 'R\u00e9sultat' and "
        "'Re\u0301sultat' both mean column 'outcome' of dataset 'crimes'")


_TYPED = """
[project]
name = "Typed"
baseline = "2024-09"

[datasets.d]
date = "recorded"

[datasets.d.columns]
recorded = "date"
n = { type = "int", required = false }
x = { type = "float", required = false }
on = { type = "date", required = false }
at = { type = "datetime", required = false }
mo = { type = "month", required = false }
ok = { type = "bool", required = false }

[[priorities]]
id = "v"
title = "V"

[[kpis]]
id = "k"
title = "K"
priority = "v"
kind = "count"
dataset = "d"
better = "lower"
"""


@pytest.mark.parametrize("missing", ["#N/A", "#DIV/0!", "NA", "nan", "NaN", "<NA>", "None",
                                     "NaT", "N/A", "inf"])
def test_a_tools_mark_for_no_value_in_a_typed_column_is_refused(tmp_path, missing):
    """In a number, date, date-time, month or true/false column a mark for no value is no
    value of the column's type: refused as any other text, naming the row and column. One
    row a column, each refused (by hand, six bad rows)."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text(_TYPED, encoding="utf-8")
    good = {"n": "1", "x": "1.5", "on": "2025-09-02", "at": "2025-09-02 10:00",
            "mo": "2025-09", "ok": "true"}
    lines = ["recorded," + ",".join(good), "2025-09-01," + ",".join(good.values())]
    for column in good:
        lines.append("2025-09-01," + ",".join(missing if c == column else v
                                              for c, v in good.items()))
    extract = tmp_path / "d.csv"
    extract.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = inprocess.run(["--project", folder, "ingest", "d", extract])
    assert out.returncode == 3, out.stdout
    assert first_error(out.stderr).startswith(
        f"Error: {extract}, row 3, column 'n': expected a whole number, found '{missing}'")
    assert "(6 bad rows in all; first at rows 3, 4, 5, 6, 7)" in out.stderr
    assert snapshot(folder, "d").version is None
