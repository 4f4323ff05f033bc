"""Excel extracts (.xlsx, .xlsm, .xls) load like CSV: the same rows give the same stored table
and the same figures, dates may be date cells, serial day numbers or text, and a workbook
that cannot be read as one table is refused with one line naming the file and sheet.

Workbooks are written by xlsxwriter here, and two were saved by LibreOffice Calc
(tests/data/libreoffice-crimes.xlsx and .xls; see tests/data/README.md for how)."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

xlsxwriter = pytest.importorskip("xlsxwriter")

import inprocess  # noqa: E402

from kpi import ingest  # noqa: E402
from kpi.catalogue import ColumnSpec, ColumnType, DatasetSpec  # noqa: E402
from kpi.errors import DataError  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DATA = Path(__file__).resolve().parent / "data"
UK = ZoneInfo("Europe/London")

SPEC = DatasetSpec(id="events", date="day", columns=(
    ColumnSpec("ref", ColumnType.STR, ("Ref",)),
    ColumnSpec("day", ColumnType.DATE, ("Day",)),
    ColumnSpec("at", ColumnType.DATETIME, ("At",), required=False),
    ColumnSpec("count", ColumnType.INT, ("Count",), required=False),
    ColumnSpec("flag", ColumnType.BOOL, ("Flag",), required=False),
))


def _workbook(path: Path, rows: list[list], header=("Ref", "Day", "At", "Count", "Flag"),
              sheets=("Extract",), before: list[list] = ()) -> Path:
    """A workbook whose first sheet holds `before` rows, the header and `rows`; a datetime
    value becomes a date cell, anything else is written as it is (numbers stay numbers)."""
    book = xlsxwriter.Workbook(str(path))
    dates = book.add_format({"num_format": "dd/mm/yyyy"})
    for number, name in enumerate(sheets):
        sheet = book.add_worksheet(name)
        if number:
            continue
        line = 0
        for row in [*before, list(header), *rows]:
            for col, value in enumerate(row):
                if isinstance(value, datetime):
                    sheet.write_datetime(line, col, value, dates)
                elif value is not None:
                    sheet.write(line, col, value)
            line += 1
    book.close()
    return path


def test_date_cells_serial_numbers_and_text_dates_all_load(tmp_path):
    path = _workbook(tmp_path / "events.xlsx", [
        ["A1", datetime(2025, 9, 30), datetime(2025, 9, 30, 14, 5), 3, True],   # date cells
        ["A2", 45930, 45930.5, 4.0, False],                                     # serial numbers
        ["A3", "01/09/2025", "2025-09-01 08:30:00", "1,204", "Y"],              # text
        ["A4", "2025-08-31", None, None, None],                                 # blanks
    ])
    frame = ingest.read_extracts(SPEC, [path]).frame.sort("ref")
    assert frame["ref"].to_list() == ["A1", "A2", "A3", "A4"]
    # 45930 days after 30 December 1899 is 30 September 2025; .5 is noon.
    assert frame["day"].to_list() == [date(2025, 9, 30), date(2025, 9, 30), date(2025, 9, 1),
                                      date(2025, 8, 31)]
    assert frame["at"].to_list() == [datetime(2025, 9, 30, 14, 5, tzinfo=UK),
                                     datetime(2025, 9, 30, 12, tzinfo=UK),
                                     datetime(2025, 9, 1, 8, 30, tzinfo=UK), None]
    assert frame["count"].to_list() == [3, 4, 1204, None]
    assert frame["flag"].to_list() == [True, False, True, None]
    assert frame["month"].to_list() == ["2025-09", "2025-09", "2025-09", "2025-08"]


def test_a_number_that_is_no_plausible_date_is_refused_not_converted(tmp_path):
    """202509 (a yyyymm code) is no Excel date of this century: refused, never read as the
    year 2454."""
    path = _workbook(tmp_path / "events.xlsx", [["A1", 202509, None, None, None]])
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [path])
    assert "row 2" in error.value.message and "'Day'" in error.value.message


def test_bad_value_names_the_sheet_row_and_column(tmp_path):
    path = _workbook(tmp_path / "events.xlsx", [
        ["A1", "01/09/2025", None, 1, None],
        ["A2", "01/09/2025", None, "three", None],
    ])
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [path])
    assert error.value.message.startswith(f"{path}, sheet 'Extract', row 3, column 'Count': ")


@pytest.mark.parametrize(("sheets", "chosen", "expected"), [
    (("Extract", "Notes"), None, "the workbook has 2 sheets ('Extract', 'Notes')"),
    (("Extract",), "Data", "the workbook has no sheet 'Data' (it has 'Extract')"),
])
def test_sheet_must_be_named_when_ambiguous_or_exist(tmp_path, sheets, chosen, expected):
    path = _workbook(tmp_path / "events.xlsx", [["A1", "01/09/2025"]], sheets=sheets)
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [path], sheet=chosen)
    assert expected in error.value.message


def test_sheet_from_the_option_or_the_dataset(tmp_path):
    path = _workbook(tmp_path / "events.xlsx", [["A1", "01/09/2025"]], sheets=("Extract",
                                                                              "Notes"))
    assert ingest.read_extracts(SPEC, [path], sheet="Extract").frame.height == 1
    from dataclasses import replace

    extract = ingest.read_extracts(replace(SPEC, sheet="Extract"), [path])
    assert extract.frame.height == 1
    assert extract.sources[0]["sheet"] == "Extract"


def test_header_below_a_title_is_refused(tmp_path):
    path = _workbook(tmp_path / "events.xlsx", [["A1", "01/09/2025"]],
                     before=[["Crimes extract, September 2025"], []])
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [path])
    assert "the header is not the first row" in error.value.message
    assert "sheet 'Extract'" in error.value.message


def test_blank_or_merged_header_cell_over_values_is_refused(tmp_path):
    path = _workbook(tmp_path / "events.xlsx", [["A1", "01/09/2025", None, None, None, "x"]],
                     header=("Ref", "Day", "At", "Count", "Flag", None))
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [path])
    assert "row 1, column F: a blank header cell over a column of values" in \
        error.value.message


def test_merged_header_cells_are_refused(tmp_path):
    path = tmp_path / "events.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, ["Ref"])
    sheet.merge_range(0, 1, 0, 2, "Day")  # one label over two columns
    sheet.write_row(1, 0, ["A1", "01/09/2025", "01/09/2025"])
    book.close()
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [path])
    assert "column C: a blank header cell" in error.value.message


def test_empty_columns_past_the_table_are_ignored(tmp_path):
    path = tmp_path / "events.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, ["Ref", "Day"])
    sheet.write_row(1, 0, ["A1", "01/09/2025"])
    sheet.write_blank(5, 6, None, book.add_format({"bold": True}))  # formatting, no value
    book.close()
    assert ingest.read_extracts(SPEC, [path]).frame["ref"].to_list() == ["A1"]


def test_corrupt_workbook_is_one_line(tmp_path):
    path = tmp_path / "events.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [path])
    assert error.value.message.startswith(f"{path}: cannot read the workbook (")
    assert "\n" not in error.value.message


# ---------------------------------------------------------------------------------------------
# Whole loads through the command line


def _mini(tmp_path: Path) -> Path:
    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    return root


def _kpi(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KPI_NO_CACHE": "1", "NO_COLOR": "1"}
    env.pop("KPI_PROJECT", None)
    return inprocess.run(args, cwd=root, env=env)


def _mini_as_workbook(root: Path, path: Path) -> Path:
    """The mini project's CSV extract as a workbook: dates alternately as date cells, serial
    numbers and the CSV's own text, whole numbers as numbers."""
    with open(root / "extracts" / "crimes.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    out = []
    for number, row in enumerate(body):
        row = list(row)
        day = datetime.strptime(row[1], "%d/%m/%Y")
        row[1] = [day, (day - datetime(1899, 12, 30)).days, row[1]][number % 3]
        row[5] = int(row[5]) if row[5] else None
        out.append([value if value != "" else None for value in row])
    return _workbook(path, out, header=tuple(header), sheets=("Crimes", "Notes"))


def test_workbook_loads_the_same_figures_as_the_csv(tmp_path):
    from_csv, from_excel = _mini(tmp_path / "a"), _mini(tmp_path / "b")
    workbook = _mini_as_workbook(from_excel, from_excel / "extracts" / "crimes.xlsx")
    assert _kpi(from_csv, "ingest", "crimes").returncode == 0
    loaded = _kpi(from_excel, "ingest", "crimes", str(workbook), "--sheet", "Crimes")
    assert loaded.returncode == 0, loaded.stderr
    assert "Loaded 849 rows" in loaded.stderr
    summaries = [json.loads(_kpi(root, "summary", "--period", "2025-09", "--format", "json")
                            .stdout)["kpis"] for root in (from_csv, from_excel)]
    assert summaries[0] == summaries[1]
    stored = [pl.read_delta(str(root / "data" / "crimes")).sort("crime_ref")
              for root in (from_csv, from_excel)]
    assert stored[0].equals(stored[1])


def _with_row_hidden(ods: bytes, row: int) -> bytes:
    """The OpenDocument spreadsheet with its `row`-th row (from 1) hidden, as Calc's Hide
    Rows marks it (table:visibility="collapse"); the archive is otherwise copied as it was,
    its mimetype first and stored."""
    import io
    import zipfile

    source, out = zipfile.ZipFile(io.BytesIO(ods)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "content.xml":
                rows = re.split(rb"(?=<table:table-row[ >])", data)
                rows[row] = rows[row].replace(b"<table:table-row",
                                              b'<table:table-row table:visibility="collapse"', 1)
                data = b"".join(rows)
            book.writestr(info, data)
    return out.getvalue()


@pytest.mark.parametrize("name", ["crimes.ods", "crimes.xlsx"])
def test_an_opendocument_spreadsheet_is_refused_whatever_its_name(tmp_path, name):
    # fastexcel reads an .ods too, but none of the reader's checks (hidden rows, merged cells,
    # percentages, formulas) reads its cells: named .xlsx, this one loaded all 60 rows with
    # its hidden row among them, where an .xlsx with a hidden row is refused.
    root = _mini(tmp_path)
    path = root / "extracts" / name
    path.write_bytes(_with_row_hidden((DATA / "libreoffice-crimes.ods").read_bytes(), 3))
    result = _kpi(root, "ingest", "crimes", str(path))
    assert result.returncode == 3, result.stderr
    what = "not an Excel workbook" if name.endswith(".xlsx") else "not a CSV file"
    assert result.stderr.splitlines() == [
        f"Error: {path}: the file is an OpenDocument spreadsheet (.ods), {what}",
        "Hint: kpi does not read .ods: in LibreOffice, save it with File > Save As as Excel "
        "2007-365 (.xlsx), or export the sheet as CSV (UTF-8)"]
    assert not (root / "data" / "crimes").exists()  # nothing written


@pytest.mark.parametrize("case", ["password", "corrupt", "sheets", "title"])
def test_unreadable_workbooks_exit_3_with_one_line(tmp_path, case):
    root = _mini(tmp_path)
    path = root / "extracts" / "crimes.xlsx"
    if case == "password":
        shutil.copy(DATA / "password-protected.xlsx", path)
        expected = "the workbook is password-protected (encrypted)"
    elif case == "corrupt":
        path.write_bytes((DATA / "libreoffice-crimes.xlsx").read_bytes()[:3000])
        expected = "cannot read the workbook"
    elif case == "sheets":
        _workbook(path, [["C1", "01/09/2025", "Coventry", "burglary"]],
                  header=("crime_ref", "recorded", "lpa", "offence"), sheets=("A", "B"))
        expected = "the workbook has 2 sheets ('A', 'B'): which one holds the extract?"
    else:
        _workbook(path, [["C1", "01/09/2025", "Coventry", "burglary"]],
                  header=("crime_ref", "recorded", "lpa", "offence"), before=[["Crimes"]])
        expected = "the header is not the first row"
    result = _kpi(root, "ingest", "crimes", str(path))
    assert result.returncode == 3
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith(f"Error: {path}") and expected in lines[0]
    assert "Traceback" not in result.stderr
    assert not (root / "data" / "crimes").exists()  # nothing written


@pytest.mark.parametrize("name", ["libreoffice-crimes.xlsx", "libreoffice-crimes.xls"])
def test_workbook_saved_by_libreoffice(tmp_path, name):
    """LibreOffice Calc saved the mini project's first 60 crimes (dates as date cells, as
    Calc reads UK dates from a CSV file); they load as the CSV rows do."""
    root = _mini(tmp_path)
    extract = ingest.read_extracts(_mini_spec(root), [DATA / name]).frame.sort("crime_ref")
    csv_rows = ingest.read_extracts(_mini_spec(root), [root / "extracts" / "crimes.csv"]).frame
    expected = csv_rows.sort("crime_ref").head(60)
    assert extract.height == 60
    assert extract.equals(expected)


def _mini_spec(root: Path) -> DatasetSpec:
    from kpi.catalogue import parse_project_file

    return parse_project_file(root / "kpi.toml").datasets["crimes"]


# ---------------------------------------------------------------------------------------------
# Workbooks as Excel and LibreOffice save them: the 1904 date system, error cells, hidden rows


def _office() -> str:
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("soffice is not installed here (.ci/run installs it with apt-get)")
    return office


# LibreOffice's profiles, one of each kind for the module: a fresh profile is written out on
# its first start (about 1.5 s of wall time a conversion here), and nothing a conversion does
# changes how the next one reads or saves. The tests of a module run one after another in one
# process, so no two conversions share a profile at once.
_PROFILES: dict[bool, Path] = {}
# The workbooks LibreOffice saved (`_saved_by_libreoffice`), made when a test first asks, in
# the module's folder.
_SAVED: dict[tuple[str, str, bool], Path] = {}
_SAVED_FOLDER: list[Path] = []


@pytest.fixture(scope="module", autouse=True)
def _calc_profiles(tmp_path_factory):
    _PROFILES[False] = tmp_path_factory.mktemp("calc-profile")
    _PROFILES[True] = tmp_path_factory.mktemp("calc-profile-recalculating")
    _SAVED_FOLDER.append(tmp_path_factory.mktemp("calc-saved"))
    yield
    _PROFILES.clear()
    _SAVED.clear()
    _SAVED_FOLDER.clear()


def _saved_by_libreoffice(name: str, suffix: str, tmp_path: Path,
                          recalculate: bool = False) -> Path:
    """The workbook `name` of SAVED_BY_LIBREOFFICE (as its builder writes it) opened and saved
    by LibreOffice Calc as `suffix` (xlsx or xls), in the module's profile; with
    `recalculate`, one that recalculates every formula on load, as Excel does a workbook
    another program saved (Calc's default keeps the saved values). The test's own copy, in
    `tmp_path`, as `events.SUFFIX`.

    Calc starts once for all the workbooks saved in one format and profile (the first test
    to ask has every one saved: one start of about a second of CPU for each of the ten
    workbooks this module has saved, when each was saved on its own); each workbook is opened
    and saved on its own, as it would be alone."""
    if not _SAVED:
        _save_every_workbook(_SAVED_FOLDER[0] if _SAVED_FOLDER else tmp_path / "calc-saved")
    saved = _SAVED[(name, suffix, recalculate)]
    assert saved.is_file()
    copy = tmp_path / f"calc-{suffix}" / f"events.{suffix}"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(saved, copy)
    return copy


def _save_every_workbook(folder: Path) -> None:
    groups: dict[tuple[str, bool], list[tuple[str, Path]]] = {}
    for number, (name, (build, saves)) in enumerate(SAVED_BY_LIBREOFFICE.items()):
        for suffix, recalculate in saves:
            source = folder / f"from-{suffix}-{recalculate}" / f"events{number}.xlsx"
            source.parent.mkdir(parents=True, exist_ok=True)
            build(source)
            groups.setdefault((suffix, recalculate), []).append((name, source))
    for (suffix, recalculate), sources in groups.items():
        out = folder / f"calc-{suffix}-{recalculate}"
        _libreoffice_saves([source for _, source in sources], suffix, out, recalculate, folder)
        for name, source in sources:
            _SAVED[(name, suffix, recalculate)] = out / f"{source.stem}.{suffix}"


def _libreoffice_saves(paths: list[Path], suffix: str, out: Path, recalculate: bool,
                       tmp_path: Path) -> None:
    """`paths` opened and saved by LibreOffice Calc as `suffix` into `out`, in one start."""
    profile = _PROFILES.get(recalculate) or tmp_path / "calc-profile"
    if recalculate:
        (profile / "user").mkdir(parents=True, exist_ok=True)
        setting = ('<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop '
                   'oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>')
        (profile / "user" / "registrymodifications.xcu").write_text(
            '<?xml version="1.0" encoding="UTF-8"?><oor:items xmlns:oor="http://openoffice.org/'
            f'2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema">{setting}</oor:items>',
            encoding="utf-8")
    subprocess.run([_office(), f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--convert-to", suffix, "--outdir", str(out), *map(str, paths)],
                   capture_output=True, timeout=180, check=True)


def _as_excel_saves_it(path: Path, edit=lambda xml: xml) -> Path:
    """The xlsxwriter workbook `path` as Excel saves one: its formulas' values calculated (no
    request to recalculate on opening), the sheet's XML passed through `edit`."""
    import zipfile

    with zipfile.ZipFile(path) as book:
        members = {name: book.read(name) for name in book.namelist()}
    members["xl/workbook.xml"] = members["xl/workbook.xml"].replace(
        b' fullCalcOnLoad="1"', b"")
    sheet = "xl/worksheets/sheet1.xml"
    members[sheet] = edit(members[sheet].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in members.items():
            book.writestr(name, data)
    return path


def _workbook_of_1904(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path), {"date_1904": True})
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, ["Ref", "Day", "At"])
    sheet.write_row(1, 0, ["A1", 44468, 44468.75])  # numbers typed into the date columns
    sheet.write(2, 0, "A2")
    sheet.write_datetime(2, 1, datetime(2025, 9, 1), book.add_format({"num_format": "d/m/yy"}))
    book.close()
    return path


@pytest.mark.parametrize("saved", ["xlsxwriter", "libreoffice xlsx", "libreoffice xls"])
def test_serial_dates_of_a_1904_workbook_count_from_1904(tmp_path, saved):
    """In the 1904 date system (Excel for Mac's, an option in Excel and Calc) 44468 is 30
    September 2025; read from 1900, as every workbook's serials were, it was 29 September
    2021, four years and a day out, exit 0. A date cell was always right (calamine knows)."""
    if saved == "xlsxwriter":
        path = _workbook_of_1904(tmp_path / "events.xlsx")
    else:
        path = _saved_by_libreoffice("1904", saved.split()[1], tmp_path)
    frame = ingest.read_extracts(SPEC, [path]).frame.sort("ref")
    assert frame["day"].to_list() == [date(2025, 9, 30), date(2025, 9, 1)]
    assert frame["at"].to_list() == [datetime(2025, 9, 30, 18, tzinfo=UK), None]
    assert frame["month"].to_list() == ["2025-09", "2025-09"]


@pytest.mark.parametrize("saved", ["libreoffice xlsx", "libreoffice xls", "excel"])
def test_a_cell_holding_an_error_is_refused_naming_it(tmp_path, saved):
    """#DIV/0! and #N/A, a formula's result or a value pasted, were read as blanks: a count of
    errors was a row not measured, exit 0. Refused, naming the row, the column and the error;
    an error in a column the dataset does not read (a lookup's #N/A) is not read either."""
    path = tmp_path / "events.xlsx"
    if saved.startswith("libreoffice"):
        path = _saved_by_libreoffice("error", saved.split()[1], tmp_path, recalculate=True)
        expected = "row 3, column 'Count': an error (#DIV/0!), which reads as a blank"
    else:  # a value pasted over a formula's #N/A, as Excel writes it
        _workbook(path, [["A1", "01/09/2025", None, 10, None],
                         ["A2", "02/09/2025", None, 10, None]])
        path = _as_excel_saves_it(path, lambda xml: xml.replace(
            '<c r="D3"><v>10</v></c>', '<c r="D3" t="e"><v>#N/A</v></c>'))
        expected = "row 3, column 'Count': an error (#N/A), which reads as a blank"
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [path])
    assert error.value.message == f"{path}, sheet 'Extract', {expected}"
    from dataclasses import replace

    unread = replace(SPEC, columns=tuple(c for c in SPEC.columns if c.name != "count"))
    assert ingest.read_extracts(unread, [path]).frame["ref"].to_list() == ["A1", "A2"]


def _workbook_of_an_error(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, ["Ref", "Day", "Count"])
    sheet.write_row(1, 0, ["A1", "01/09/2025", 10])
    sheet.write_row(2, 0, ["A2", "02/09/2025"])
    sheet.write_formula(2, 2, "=10/0")
    book.close()
    return path


def _formulas_workbook(path: Path) -> Path:
    """Count is =10+25 in row 3, saved as 0, and =1+1 in row 4, saved as 7 (what a program
    that writes formulas without calculating them leaves), beside a text column of formulas
    the dataset does not read (Note)."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, ["Ref", "Day", "Count", "Note"])
    sheet.write_row(1, 0, ["A1", "01/09/2025", 10])
    sheet.write_formula(1, 3, '="x"&"y"', None, "xy")
    for line, (formula, saved) in enumerate([("=10+25", 0), ("=1+1", 7)], start=2):
        sheet.write_row(line, 0, [f"A{line}", "02/09/2025"])
        sheet.write_formula(line, 2, formula, None, saved)
    book.close()
    return path


@pytest.mark.parametrize("saved", ["libreoffice xlsx", "libreoffice xls"])
def test_a_formula_whose_value_excel_never_calculated_is_refused(tmp_path, saved):
    """A workbook written with formulas and saved again by LibreOffice without recalculating
    (its default for a workbook it did not write) keeps each formula's value as written: the
    counts summed to 17 where Excel, which calculates such a workbook again when opening it,
    shows 47 (10 + 35 + 2), exit 0. Nothing in the saved file tells a stale value from a
    calculated one, only that no Excel calculated it (an .xlsx's calcPr without calcId, an
    .xls's BOF saying Excel 97, as LibreOffice writes both): refused where the dataset reads
    the column, read where it does not."""
    path = _saved_by_libreoffice("formulas", saved.split()[1], tmp_path)
    assert sum(ingest.read_extracts(SPEC_UNREAD_COUNT, [path]).frame["ref"].is_not_null()) == 3
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [path])
    assert error.value.message == (f"{path}, sheet 'Extract', cell C3: a formula whose saved "
                                   "value Excel did not calculate (the workbook was last saved "
                                   "by another program, and Excel calculates it again when "
                                   "opening it)")
    assert "Paste Special, values only" in (error.value.hint or "")


SPEC_UNREAD_COUNT = DatasetSpec(id="events", date="day", columns=SPEC.columns[:2])


def test_a_workbook_excel_saved_in_manual_calculation_without_calculating_is_refused(
        tmp_path):
    """Excel set to calculate by hand, and not to calculate before saving (calcMode="manual",
    calcOnSave="0"), saves each formula's value as it last calculated it, before any later
    edit: refused as a value the workbook may not have calculated; calculated before saving
    (calcOnSave left as Excel's default), it loads as saved."""
    path = _as_excel_saves_it(_formulas_workbook(tmp_path / "events.xlsx"))

    def calculation(settings: bytes) -> None:
        import zipfile

        with zipfile.ZipFile(path) as book:
            members = {name: book.read(name) for name in book.namelist()}
        members["xl/workbook.xml"] = re.sub(rb"<calcPr[^>]*/>", settings,
                                            members["xl/workbook.xml"])
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
            for name, data in members.items():
                book.writestr(name, data)

    calculation(b'<calcPr calcId="191029" calcMode="manual" calcOnSave="0"/>')
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [path])
    assert error.value.message == (f"{path}, sheet 'Extract', cell D2: a formula (=\"x\"&\"y\") "
                                   "that has a saved value the workbook may not have calculated "
                                   "(Excel calculates it by hand, and saved it without "
                                   "calculating)")
    calculation(b'<calcPr calcId="191029" calcMode="manual"/>')
    assert ingest.read_extracts(SPEC, [path]).frame["count"].to_list() == [10, 0, 7]


def test_a_formula_with_an_empty_saved_value_is_refused(tmp_path):
    """openpyxl writes a formula's value as an empty <v/>: read, a blank; it was let through
    as a saved value."""
    path = _workbook(tmp_path / "events.xlsx", [["A1", "01/09/2025", None, 10, None]])
    path = _as_excel_saves_it(path, lambda xml: xml.replace(
        '<c r="D2"><v>10</v></c>', '<c r="D2"><f>10+25</f><v/></c>'))
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [path])
    assert error.value.message == (f"{path}, sheet 'Extract', cell D2: a formula (=10+25) that "
                                   "has no saved value")


def _workbook_of_a_hidden_row(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, ["Ref", "Day", "Count"])
    for n in range(1, 4):
        sheet.write_row(n, 0, [f"A{n}", f"0{n}/09/2025", n])
    sheet.set_row(2, None, None, {"hidden": True})
    for empty in range(6, 12):  # empty rows hidden below the table hide nothing
        sheet.set_row(empty, None, None, {"hidden": True})
    book.close()
    return path


@pytest.mark.parametrize("saved", ["xlsxwriter", "libreoffice xlsx", "libreoffice xls"])
def test_a_hidden_row_is_refused(tmp_path, saved):
    """A row hidden (or filtered out) was read as any other: the analyst's sheet showed two
    rows, kpi counted three. Whether hiding it meant leaving it out is not kpi's to guess."""
    if saved == "xlsxwriter":
        path = _workbook_of_a_hidden_row(tmp_path / "events.xlsx")
    else:
        path = _saved_by_libreoffice("hidden row", saved.split()[1], tmp_path)
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [path])
    assert error.value.message == (f"{path}, sheet 'Extract', row 3: a hidden row in the data "
                                   "area (hidden, or filtered out), which kpi would read as any "
                                   "other")


def _workbook_of_hidden_empty_rows(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, ["Ref", "Day"])
    sheet.write_row(1, 0, ["A1", "01/09/2025"])
    for empty in range(4, 40):
        sheet.set_row(empty, None, None, {"hidden": True})
    book.close()
    return path


@pytest.mark.parametrize("saved", ["xlsxwriter", "libreoffice xls"])
def test_empty_rows_hidden_below_the_table_load(tmp_path, saved):
    if saved == "xlsxwriter":
        path = _workbook_of_hidden_empty_rows(tmp_path / "events.xlsx")
    else:
        path = _saved_by_libreoffice("hidden empty rows", saved.split()[1], tmp_path)
    assert ingest.read_extracts(SPEC, [path]).frame["ref"].to_list() == ["A1"]


def test_another_sheet_of_the_same_header_is_named_in_a_warning(tmp_path):
    """An extract split over two sheets (a sheet holds at most 1,048,576 rows) loaded the sheet
    named and said nothing of the other's rows."""
    path = tmp_path / "events.xlsx"
    book = xlsxwriter.Workbook(str(path))
    for name in ("Part 1", "Notes", "Part 2"):
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, ["Ref", "Day"] if name != "Notes" else ["Notes"])
        sheet.write_row(1, 0, [name, "01/09/2025"])
    book.close()
    extract = ingest.read_extracts(SPEC, [path], sheet="Part 1")
    assert extract.frame["ref"].to_list() == ["Part 1"]
    assert extract.warnings == [
        f"{path}, sheet 'Part 1': sheet(s) 'Part 2' begin with a header naming the same "
        "columns, and their rows are not read (to load an extract split over sheets, save its "
        "rows as one CSV file)"]
    root = _mini(tmp_path)
    loaded = _kpi(root, "ingest", "crimes", str(_mini_as_workbook(root, tmp_path / "c.xlsx")),
                  "--sheet", "Crimes")  # its other sheet, Notes, has no header of its own
    assert loaded.returncode == 0 and "Warning" not in loaded.stderr, loaded.stderr



@pytest.mark.parametrize("other", [["Day", "Ref"], ["ref", "Day "], ["Ref", "Day\u00a0", "Notes"],
                                   ["Row", "Ref", "Day"]])
def test_another_sheet_naming_the_same_columns_otherwise_is_named_in_a_warning(tmp_path, other):
    """A month's rows over two sheets, the second's columns in another order, another case or
    spacing, or with a column more (as an analyst pastes a second extract): the sheet named
    loaded, the other's rows were left out, and nothing was said, exit 0, where a second sheet
    of the very same header is named. A sheet is the extract's when its first row names every
    column of the sheet read that the dataset reads, matched as the conformer matches names."""
    path = tmp_path / "events.xlsx"
    book = xlsxwriter.Workbook(str(path))
    first, second = book.add_worksheet("Sep 1"), book.add_worksheet("Sep 2")
    book.add_worksheet("Lookup").write_row(0, 0, ["Ref", "Meaning"])
    first.write_row(0, 0, ["Ref", "Day"])
    first.write_row(1, 0, ["A1", "01/09/2025"])
    second.write_row(0, 0, other)
    second.write_row(1, 0, [{"Ref": "B1", "ref": "B1", "Row": 1}.get(name, "02/09/2025")
                            for name in other])
    book.close()
    extract = ingest.read_extracts(SPEC, [path], sheet="Sep 1")
    assert extract.frame["ref"].to_list() == ["A1"]
    assert extract.warnings == [
        f"{path}, sheet 'Sep 1': sheet(s) 'Sep 2' begin with a header naming the same "
        "columns, and their rows are not read (to load an extract split over sheets, save its "
        "rows as one CSV file)"]

def _workbook_of_merged_cells(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, ["Ref", "Day"])
    for n in range(1, 4):
        sheet.write_row(n, 0, [f"A{n}", "01/09/2025"])
    sheet.merge_range(2, 1, 3, 1, "02/09/2025")
    book.close()
    return path


def _workbook_of_logicals(path: Path) -> Path:
    """Ref, Day and Flag, the flags true/false cells (TRUE typed into a cell); the last two
    equal, which Calc saves in an .xls as one shared formula."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, ["Ref", "Day", "Flag"])
    for line, (ref, flag) in enumerate([("A1", True), ("A2", False), ("A3", True),
                                        ("A4", True)], start=1):
        sheet.write_row(line, 0, [ref, "01/09/2025"])
        sheet.write_boolean(line, 2, flag)
    book.close()
    return path


# The workbooks the tests above have LibreOffice save: how each is built, and the formats
# (and whether in the profile that recalculates on load) it is saved in.
SAVED_BY_LIBREOFFICE = {
    "1904": (_workbook_of_1904, [("xlsx", False), ("xls", False)]),
    "error": (_workbook_of_an_error, [("xlsx", True), ("xls", True)]),
    "formulas": (_formulas_workbook, [("xlsx", False), ("xls", False)]),
    "hidden row": (_workbook_of_a_hidden_row, [("xlsx", False), ("xls", False)]),
    "hidden empty rows": (_workbook_of_hidden_empty_rows, [("xls", False)]),
    "merged cells": (_workbook_of_merged_cells, [("xls", False)]),
    "true/false": (_workbook_of_logicals, [("xlsx", False), ("xls", False)]),
}



@pytest.mark.parametrize("suffix", ["xlsx", "xls"])
def test_true_false_cells_as_libreoffice_saves_them_are_read_as_values(tmp_path, suffix):
    """LibreOffice Calc saves a true/false cell as a formula of the constant (`TRUE()` with
    its value in an .xlsx, the constant's token in an .xls), which no program calculates to
    anything else: every workbook Calc saved with a true/false column the dataset reads was
    refused as "a formula whose saved value Excel did not calculate", exit 3; in an .xls, two
    equal flags one above the other (one shared formula of the constant) still were. The
    flags load as the cells hold them, and in a text column are refused as any true/false
    cell is."""
    path = _saved_by_libreoffice("true/false", suffix, tmp_path)
    frame = ingest.read_extracts(SPEC, [path]).frame.sort("ref")
    assert frame["flag"].to_list() == [True, False, True, True]
    as_text = DatasetSpec(id="events", date="day", columns=(
        ColumnSpec("ref", ColumnType.STR, ("Ref",)), ColumnSpec("day", ColumnType.DATE, ("Day",)),
        ColumnSpec("flag", ColumnType.STR, ("Flag",))))
    with pytest.raises(DataError) as error:
        ingest.read_extracts(as_text, [path])
    assert error.value.message.startswith(
        f"{path}, sheet 'Extract', row 2, column 'Flag': a true/false cell (TRUE; ")

def test_merged_cells_in_an_xls_workbook_are_refused(tmp_path):
    """Merged cells were refused in an .xlsx workbook only: an .xls one read a day merged over
    two rows as the day and a blank."""
    path = _saved_by_libreoffice("merged cells", "xls", tmp_path)
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [path])
    assert error.value.message == (f"{path}, sheet 'Extract', cells B3:B4: merged cells in the "
                                   "data area (only the first holds the value; the others read "
                                   "as blanks)")


# ---------------------------------------------------------------------------------------------
# Cells whose type disagrees with their column: what Excel made of what was typed

RATED = DatasetSpec(id="events", date="day", columns=(
    ColumnSpec("day", ColumnType.DATE, ("Day",)),
    ColumnSpec("rate", ColumnType.FLOAT, ("Rate",)),
    ColumnSpec("count", ColumnType.INT, ("Count",)),
    ColumnSpec("ref", ColumnType.STR, ("Ref",)),
))


def _typed_workbook(path: Path, rows: list[list]) -> Path:
    """A workbook of RATED's columns (Day, Rate, Count, Ref: the text column last, so a cell's
    column is not its place among the text columns); a cell is a value (written as xlsxwriter
    types it) or (value, Excel number format)."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Extract")
    formats: dict[str, object] = {}
    sheet.write_row(0, 0, ["Day", "Rate", "Count", "Ref"])
    for line, row in enumerate(rows, start=1):
        for col, cell in enumerate(row):
            value, shown = cell if isinstance(cell, tuple) else (cell, None)
            style = None if shown is None else formats.setdefault(
                shown, book.add_format({"num_format": shown}))
            if isinstance(value, datetime):
                sheet.write_datetime(line, col, value, style)
            elif isinstance(value, str):
                sheet.write_string(line, col, value, style)
            else:
                sheet.write(line, col, value, style)
    book.close()
    return path


DAY = (datetime(2025, 9, 1), "dd/mm/yyyy")
SAVES = ["xlsxwriter", "libreoffice xlsx", "libreoffice xls"]


def _saved(name: str, saved: str, tmp_path: Path) -> Path:
    """The workbook `name` of SAVED_BY_LIBREOFFICE as xlsxwriter wrote it, or as LibreOffice
    saved it ("libreoffice xlsx", "libreoffice xls")."""
    if saved == "xlsxwriter":
        return SAVED_BY_LIBREOFFICE[name][0](tmp_path / "events.xlsx")
    return _saved_by_libreoffice(name, saved.split()[1], tmp_path)


def _typed(rows: list[list]):
    """Builds `_typed_workbook(path, rows)`."""
    return lambda path: _typed_workbook(path, rows)


TEXT_COLUMN_CELLS = [
    ((123, "00000"), "a number cell (123; a reference typed as 00123 is kept as the number 123)"),
    (123, "a number cell (123; "),
    (0.5, "a number cell (0.5; "),
    ((datetime(2025, 1, 2), "d-mmm"), "a date or time cell (2025-01-02; text such as 1-2 typed"),
]
BOTH = [("xlsx", False), ("xls", False)]
SAVED_BY_LIBREOFFICE.update({
    f"text column cell {cell!r}": (_typed([
        [DAY, 0.25, 3, "A1"],
        [DAY, 0.5, 4, "00124"],
        [DAY, 0.75, 5, cell],
    ]), BOTH) for cell, _ in TEXT_COLUMN_CELLS})
SAVED_BY_LIBREOFFICE["percentage in a text column"] = (_typed([
    [DAY, 0.25, 3, "A1"],
    [DAY, 0.5, 4, (0.5, "0%")],
]), BOTH)
SAVED_BY_LIBREOFFICE["percentages mixed with numbers"] = (_typed([
    [DAY, 50, 3, "A1"],
    [DAY, (0.5, "0.0%"), 4, "A2"],
]), BOTH)
SAVED_BY_LIBREOFFICE["cells of their columns' types"] = (_typed([
    [DAY, (0.25, "0.00"), 3, "00123"],
    [(datetime(2025, 9, 2), "d mmm yyyy"), (0.5, "0.0"), 4.0, "1-2"],
    [DAY, None, 5, "A3"],
    [DAY, (1, "0"), None, "50%"],
]), BOTH)
SAVED_BY_LIBREOFFICE["a column of percentages"] = (_typed([
    [DAY, (0.8, "0%"), 3, "A1"],
    [DAY, None, 4, "A2"],
    [DAY, (0.6, "0.0%"), 5, "A3"],
]), BOTH)
SAVED_BY_LIBREOFFICE["a number shown in thousands"] = (_typed([
    [DAY, (1234567, "#,##0,"), 3, "A1"],
    [DAY, 20, 4, "A2"],
    [DAY, (2500000, '0.0,,"m"'), 5, "A3"],
]), BOTH)


@pytest.mark.parametrize("saved", SAVES)
@pytest.mark.parametrize(("cell", "shown"), TEXT_COLUMN_CELLS)
def test_a_number_or_date_cell_in_a_text_column_is_refused(tmp_path, saved, cell, shown):
    """A reference typed as 00123 into a cell not formatted as Text is the number 123, and
    `1-2` the date 2 January: read as text they were '123' (where the CSV of the same extract
    holds '00123', so `unique`, filters and joins disagree) and '2025-01-02 00:00:00', exit 0.
    Refused, naming the row and column and the value the cell holds."""
    path = _saved(f"text column cell {cell!r}", saved, tmp_path)
    with pytest.raises(DataError) as error:
        ingest.read_extracts(RATED, [path])
    message = error.value.message
    assert message.startswith(f"{path}, sheet 'Extract', row 4, column 'Ref': {shown}"), message
    assert message.endswith("in a text column")
    assert "format the column as Text in Excel" in (error.value.hint or "")


SPACED = DatasetSpec(id="events", date="day", columns=(
    ColumnSpec("day", ColumnType.DATE, ("Day Recorded",)),
    ColumnSpec("rate", ColumnType.FLOAT, ("Rate",)),
    ColumnSpec("count", ColumnType.INT, ("Count",)),
    ColumnSpec("ref", ColumnType.STR, ("Crime Reference",)),
))


@pytest.mark.parametrize("spaced", ["  ", "\u00a0", " \t"])
def test_the_cells_checks_find_a_column_however_its_header_is_spaced(tmp_path, spaced):
    """The conformer matches a header without case or the kind and number of spaces within
    it ('Crime  Reference', or with a no-break space as Excel and web pages write it, is
    'Crime Reference'); the workbook's checks of cells by their column's kind matched it by
    case alone. So under such a header a number cell 123 of the text column (a reference
    typed as 00123) was loaded as '123', exit 0, and a serial day number of a date column
    headed so was refused as text ('45930') where it is 30 September 2025. Every such check
    reads the column's kind in one place (`excel_reader._column_kinds`), matched as the
    conformer matches."""
    header = [f"Day{spaced}Recorded", "Rate", "Count", f"Crime{spaced}Reference"]
    book = xlsxwriter.Workbook(str(tmp_path / "events.xlsx"))
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, ["Day Recorded", *header[1:]])
    sheet.write_row(1, 0, [45930, 0.25, 3, "A1"])
    sheet.write_row(2, 0, [45931, 0.5, 4])
    sheet.write(2, 3, 123, book.add_format({"num_format": "00000"}))
    book.close()
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPACED, [tmp_path / "events.xlsx"])
    assert ", row 3, column " in error.value.message
    assert "a number cell (123; a reference typed as 00123 is kept as the number 123)" \
        in error.value.message and error.value.message.endswith("in a text column")
    book = xlsxwriter.Workbook(str(tmp_path / "dated.xlsx"))
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, header)
    sheet.write_row(1, 0, [45930, 0.25, 3, "A1"])
    book.close()
    assert ingest.read_extracts(SPACED, [tmp_path / "dated.xlsx"]).frame.select(
        "day", "ref").rows() == [(date(2025, 9, 30), "A1")]


HEADS = DatasetSpec(id="staff", date="day", columns=(
    ColumnSpec("ref", ColumnType.STR, ("Ref",)),
    ColumnSpec("day", ColumnType.DATE, ("Day",)),
    ColumnSpec("heads", ColumnType.INT, ("Head count",)),
))


def _heads_workbook(path: Path, header: str, cell: str) -> Path:
    """Two rows of headcount (10, 20) under `header`, and a third row whose headcount is
    `cell`: a total of the two (=SUM, as Excel saves it), a formula Excel never calculated
    (saved as 0 by a program that leaves calcPr without Excel's calcId), a #DIV/0!, or the
    Total Row of an Excel table over the rows."""
    import zipfile

    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Extract")
    rows = [["A1", "01/09/2025", 10], ["A2", "02/09/2025", 20]]
    if cell == "table total":
        sheet.add_table(0, 0, 3, 2, {"data": rows, "total_row": True, "columns": [
            {"header": "Ref"}, {"header": "Day"},
            {"header": header, "total_function": "sum", "total_value": 30}]})
    else:
        sheet.write_row(0, 0, ["Ref", "Day", header])
        for line, row in enumerate(rows, start=1):
            sheet.write_row(line, 0, row)
        sheet.write_row(3, 0, ["A3", "03/09/2025"])
        formula, saved = {"sum": ("=SUM(C2:C3)", 30), "uncalculated": ("=10+25", 0),
                          "error": ("=1/0", "#DIV/0!")}[cell]
        sheet.write_formula(3, 2, formula, None, saved)
    book.close()
    with zipfile.ZipFile(path) as old:
        members = {name: old.read(name) for name in old.namelist()}
    members["xl/workbook.xml"] = re.sub(
        rb"<calcPr[^>]*/>", b"<calcPr/>" if cell == "uncalculated"
        else b'<calcPr calcId="191029"/>', members["xl/workbook.xml"])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for name, data in members.items():
            new.writestr(name, data)
    return path


@pytest.mark.parametrize("header", ["Head\ncount", "Head\u00a0count", "Head  count"])
@pytest.mark.parametrize("cell", ["sum", "uncalculated", "error", "table total"])
def test_every_check_of_a_workbooks_cells_finds_a_column_as_the_loader_does(tmp_path, header,
                                                                            cell):
    """The loader matches 'Head count' wrapped onto two lines in its cell (Alt+Enter), or
    written with a no-break space or two spaces, to the column 'Head count'
    (`_heading_key`); the checks of a formula summing its own column, of formulas Excel never
    calculated, of error cells and of an Excel table's Total Row matched by case alone, and
    let the row load: the headcount summed 60 (the total read as a part), 30 (0 for =10+25)
    or 30 (the #DIV/0! a blank) where the rows refused under 'Head count' hold 30 and more,
    exit 0. Each check now finds the column as the loader does (`_column_kinds`), and the
    sheet is refused as it is under 'Head count'."""
    def refusal(name: str) -> str:
        path = _heads_workbook(tmp_path / f"{len(name)}-{ord(name[4])}.xlsx", name, cell)
        with pytest.raises(DataError) as error:
            ingest.read_extracts(HEADS, [path])
        return error.value.message.removeprefix(f"{path}, sheet 'Extract', ")

    shown = header.replace("\n", "?")
    assert refusal(header) == refusal("Head count").replace("'Head count'", f"'{shown}'")
    assert refusal(header) == {
        "sum": f"row 4, column '{shown}' (cell C4): a formula (=SUM(C2:C3)) that aggregates "
               "other rows of its column (a sum, count, average, minimum or maximum): the row "
               "sums up rows the sheet already holds, so they would be counted twice",
        "uncalculated": "cell C4: a formula whose saved value Excel did not calculate (the "
                        "workbook was last saved by another program, and Excel calculates it "
                        "again when opening it)",
        "error": f"row 4, column '{shown}': an error (#DIV/0!), which reads as a blank",
        "table total": f"row 4, column '{shown}': the totals row of table 'Table1' (its Total "
                       "Row): it sums or counts the table's rows, so they would be counted "
                       "twice"}[cell]


@pytest.mark.parametrize("saved", ["xlsxwriter", "libreoffice xlsx"])
def test_a_true_false_cell_in_a_text_column_is_refused(tmp_path, saved):
    """TRUE typed into a cell not formatted as Text is the logical value TRUE (true and True
    too): read as text it was 'true', where the CSV of the same extract holds 'TRUE', so a
    filter `ref = 'TRUE'` counted none of the workbook's rows, exit 0. A column of text and
    true/false cells, or of true/false cells alone, was let through: read again as datetimes
    to find a number or date cell, a true/false cell reads as none. Refused, naming the first.
    (LibreOffice saves a true/false cell as the formula =FALSE(), read as its value; a CSV
    file it opens has true/false cells.)"""
    rows = [[DAY, 0.25, 3, "A1"], [DAY, 0.5, 4, False], [DAY, 0.75, 5, True]]
    path = (_typed_workbook(tmp_path / "Extract.xlsx", rows) if saved == "xlsxwriter" else
            _csv_opened_by_calc(tmp_path, "Day,Rate,Count,Ref\n01/09/2025,0.25,3,A1\n"
                                "01/09/2025,0.5,4,FALSE\n01/09/2025,0.75,5,True\n", "xlsx",
                                sheet="Extract"))
    with pytest.raises(DataError) as error:
        ingest.read_extracts(RATED, [path])
    assert error.value.message == (
        f"{path}, sheet 'Extract', row 3, column 'Ref': a true/false cell (FALSE; text such "
        "as true or True typed into a cell is kept as the logical value TRUE) in a text column")
    assert "format the column as Text in Excel" in (error.value.hint or "")
    alone = _typed_workbook(tmp_path / "alone.xlsx", [[DAY, 0.25, 3, True], [DAY, 0.5, 4, False]])
    with pytest.raises(DataError) as error:
        ingest.read_extracts(RATED, [alone])
    assert error.value.message.startswith(f"{alone}, sheet 'Extract', row 2, column 'Ref': a "
                                          "true/false cell (TRUE; ")


@pytest.mark.parametrize("saved", SAVES)
def test_a_percentage_cell_in_a_text_column_is_refused_as_excel_shows_it(tmp_path, saved):
    path = _saved("percentage in a text column", saved, tmp_path)
    with pytest.raises(DataError) as error:
        ingest.read_extracts(RATED, [path])
    assert error.value.message == (f"{path}, sheet 'Extract', row 3, column 'Ref': a "
                                   "percentage cell (Excel shows 50%, the cell holds 0.5) in a "
                                   "text column")


@pytest.mark.parametrize("saved", SAVES)
def test_a_number_column_mixing_percentages_with_other_numbers_is_refused(tmp_path, saved):
    """50 typed in one row and 50% (the number 0.5) in the next: read, a mean of the column
    was 25.25, where the analyst meant 50. The CSV of the same sheet says '50%', refused too."""
    path = _saved("percentages mixed with numbers", saved, tmp_path)
    with pytest.raises(DataError) as error:
        ingest.read_extracts(RATED, [path])
    assert error.value.message.startswith(
        f"{path}, sheet 'Extract', row 3, column 'Rate': a percentage (Excel shows 50%, the "
        "cell holds 0.5) in a number column whose other cells are not percentages")
    assert "kpi reads no percentage cell in a number column" in (error.value.hint or "")


@pytest.mark.parametrize("saved", SAVES)
def test_a_number_column_of_percentages_is_refused_as_its_csv_is(tmp_path, saved):
    """A column formatted as Percentage shows 80% and holds 0.8: loaded as held, a `mean` in
    percent printed 0.7% against a target of 60% ("not met") where every month was 70%, and
    beside another workbook of the same load typed as numbers (80) its mean fell from 70.0 to
    0.7, exit 0. The CSV Excel saves of it holds '80%', which kpi refuses; so is the column,
    in one line naming the cell and what it holds and shows, in each file of a load alike."""
    path = _saved("a column of percentages", saved, tmp_path)
    with pytest.raises(DataError) as error:
        ingest.read_extracts(RATED, [path])
    assert error.value.message == (
        f"{path}, sheet 'Extract', row 2, column 'Rate': a percentage (Excel shows 80%, the cell "
        "holds 0.8) in a number column: loaded, it would be 0.8 where the sheet shows 80% (the "
        "CSV Excel saves of it holds '80%', refused too)")
    assert "format the column as Number" in (error.value.hint or "")
    typed = _typed_workbook(tmp_path / "typed.xlsx", [[DAY, 80, 3, "A1"], [DAY, 60, 4, "A2"]])
    with pytest.raises(DataError) as error:
        ingest.read_extracts(RATED, [typed, path])
    assert error.value.message.startswith(f"{path}, sheet 'Extract', row 2, column 'Rate': a "
                                          "percentage (Excel shows 80%")


@pytest.mark.parametrize("saved", SAVES)
def test_a_number_shown_divided_by_a_thousand_is_refused_as_a_percentage_is(tmp_path, saved):
    """A cell formatted `#,##0,` (a Finance column in £k) shows 1234567 as 1,235: loaded as
    held it summed to 1,234,657 with the column's 20, 30 and 40 typed in thousands, where the
    CSV LibreOffice saves of the same sheet ("1,235") sums to 1,325, exit 0 both. Refused,
    naming the cell, as a percentage cell is; a comma between digits (`#,##0`) is no scaling."""
    path = _saved("a number shown in thousands", saved, tmp_path)
    with pytest.raises(DataError) as error:
        ingest.read_extracts(RATED, [path])
    assert error.value.message == (
        f"{path}, sheet 'Extract', row 2, column 'Rate': a number (1234567) whose format shows it "
        "divided by 1,000 or a million (a comma after its last digit, as in '#,##0,'): loaded, "
        "it would be the number held where the sheet and the CSV saved of it show the number "
        "divided")
    assert "without the comma after its last digit" in (error.value.hint or "")
    plain = _typed_workbook(tmp_path / "plain.xlsx", [[DAY, (1234567, "#,##0"), 3, "A1"],
                                                       [DAY, (20.5, "#,##0.00"), 4, "A2"]])
    assert ingest.read_extracts(RATED, [plain]).frame["rate"].to_list() == [1234567.0, 20.5]


def _member_edited(path: Path, name: str, edit) -> Path:
    """`path` with its member `name` passed through `edit` (bytes to bytes)."""
    import zipfile

    with zipfile.ZipFile(path) as book:
        members = {member: book.read(member) for member in book.namelist()}
    members[name] = edit(members[name])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for member, data in members.items():
            book.writestr(member, data)
    return path


@pytest.mark.parametrize(("shown", "says"), [
    ("[>=0]0%;-0%", "a percentage (Excel shows 80%, the cell holds 0.8)"),
    ('[>=1000000]0.0,,"m";[>=1000]0.0,"k";0', "a number (0.8) whose format shows it divided"),
])
def test_a_number_format_written_with_a_raw_angle_bracket_is_read_as_excel_reads_it(
        tmp_path, shown, says):
    """XML allows '>' unescaped in an attribute's value: a conditional format written
    `formatCode="[>=0]0%"` (valid, and read by fastexcel and openpyxl as `[&gt;=0]0%` is) was
    cut at its '>' by the searches of the styles, so 80% cells loaded as 0.8, exit 0, where
    the same workbook with '&gt;' is refused. Both are refused alike."""
    book = _typed_workbook(tmp_path / "book.xlsx", [[DAY, (0.8, shown), 3, "A1"],
                                                     [DAY, (0.8, shown), 4, "A2"]])
    for raw in (False, True):
        path = book if not raw else _member_edited(
            book, "xl/styles.xml", lambda xml: xml.replace(b"&gt;", b">"))
        assert (b"[>=" in zipfile_member(path, "xl/styles.xml")) == raw
        with pytest.raises(DataError) as error:
            ingest.read_extracts(RATED, [path])
        assert says in error.value.message, (raw, error.value.message)


def test_a_percentage_is_found_among_styles_that_leave_out_their_number_format(tmp_path):
    """A cell style (<xf> of cellXfs) may leave out numFmtId, which is then 0 (General), as
    the Open XML SDK (.NET) writes a CellFormat without NumberFormatId. Styles were counted
    only where they wrote it, so every style after such a one was taken for the next: the
    percentage cell's was not found, and 50% (0.5) beside 50 loaded, a mean of 25.25 where
    the workbook with numFmtId="0" written is refused."""
    path = _member_edited(_saved("percentages mixed with numbers", "xlsxwriter", tmp_path),
                          "xl/styles.xml", lambda xml: xml.replace(b'<xf numFmtId="0" ', b"<xf "))
    assert b'numFmtId="0"' not in zipfile_member(path, "xl/styles.xml")
    with pytest.raises(DataError) as error:
        ingest.read_extracts(RATED, [path])
    assert error.value.message.startswith(
        f"{path}, sheet 'Extract', row 3, column 'Rate': a percentage (Excel shows 50%, the "
        "cell holds 0.5) in a number column whose other cells are not percentages")


def test_a_sheet_whose_xml_the_checks_cannot_read_is_refused(tmp_path):
    """A raw control character in a cell's text (a vertical tab in a Note column the dataset
    does not read, as a naive exporter writes text pasted from Word) is not XML: fastexcel
    reads the sheet, xml.etree does not, and the check that gave up on it let every check of
    the sheet's cells go unread: formulas never calculated (=10+25 saved as 0) loaded as 0,
    exit 0. Refused in one line."""
    path = _member_edited(_formulas_workbook(tmp_path / "events.xlsx"),
                          "xl/worksheets/sheet1.xml",
                          lambda xml: xml.replace(b"<v>xy</v>", b"<v>x\x0by</v>"))
    column = zipfile_member(path, "xl/worksheets/sheet1.xml").split(b"\n")[1].index(b"\x0b")
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [path])
    assert error.value.message == (
        f"{path}, sheet 'Extract': the sheet's XML cannot be read (not well-formed (invalid "
        f"token): line 2, column {column}; a control character in a cell's text is one "
        "cause), so its cells cannot be checked (formulas, hidden rows, merged cells, totals)")
    assert error.value.hint == ("open the workbook in Excel (letting it repair the file) and "
                                "save it, or export the sheet as CSV")



def _prefixed(path: Path) -> Path:
    """`path` with its sheet's XML written with a prefix on every element (`<x:c r="B3">`),
    as the Open XML SDK (.NET: ClosedXML, many reporting systems) writes SpreadsheetML."""
    import zipfile

    with zipfile.ZipFile(path) as book:
        members = {name: book.read(name) for name in book.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    xml = re.sub(rb"<(/?)(\w+)(?=[\s>/])", rb"<\1x:\2", members[sheet])
    members[sheet] = xml.replace(b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/',
                                 b'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in members.items():
            book.writestr(name, data)
    return path


def test_a_sheet_written_with_prefixed_elements_is_checked_as_any_other(tmp_path):
    """A sheet whose elements carry a namespace prefix (`<x:c r="B3" s="1">`, as the Open XML
    SDK writes) was read by fastexcel as any other, but the checks that search its XML for
    cells written `<c ...>` found none: 50 beside 50% (the number 0.5) in a number column
    loaded as 50 and 0.5, exit 0, and a date cell's time was kept to the millisecond."""
    path = _prefixed(_saved("percentages mixed with numbers", "xlsxwriter", tmp_path))
    assert b"<x:c " in zipfile_member(path, "xl/worksheets/sheet1.xml")
    with pytest.raises(DataError) as error:
        ingest.read_extracts(RATED, [path])
    assert error.value.message.startswith(
        f"{path}, sheet 'Extract', row 3, column 'Rate': a percentage (Excel shows 50%, the "
        "cell holds 0.5) in a number column whose other cells are not percentages")
    timed = _workbook(tmp_path / "timed.xlsx", [
        ["A1", datetime(2025, 9, 30), datetime(2025, 9, 30, 23, 59, 59, 999999), 1, None]])
    frame = ingest.read_extracts(SPEC, [_prefixed(timed)]).frame
    assert frame["at"].to_list() == [datetime(2025, 9, 30, 23, 59, 59, 999999, tzinfo=UK)]



def _unreferenced(path: Path) -> Path:
    """`path` with its sheet's rows and cells written without their references (`<row>`,
    `<c t="s">`: `r` is optional, and many programs built on the Open XML SDK leave it out)."""
    import zipfile

    with zipfile.ZipFile(path) as book:
        members = {name: book.read(name) for name in book.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    members[sheet] = re.sub(rb'(<c|<row) r="[A-Z]*\d+"', rb"\1", members[sheet])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in members.items():
            book.writestr(name, data)
    return path


def test_a_sheet_whose_cells_leave_out_their_references_is_checked_as_any_other(tmp_path):
    """Rows and cells without references are placed by fastexcel as Excel places them, but
    the checks of the sheet's XML read a cell's place from its reference and found none: a
    hidden row loaded as any other, and 50 beside 50% as 50 and 0.5, exit 0."""
    path = _unreferenced(_saved("percentages mixed with numbers", "xlsxwriter", tmp_path))
    assert b' r="' not in zipfile_member(path, "xl/worksheets/sheet1.xml")
    with pytest.raises(DataError) as error:
        ingest.read_extracts(RATED, [path])
    assert error.value.message.startswith(
        f"{path}, sheet 'Extract', row 3, column 'Rate': a percentage (Excel shows 50%, the "
        "cell holds 0.5) in a number column whose other cells are not percentages")
    hidden = tmp_path / "hidden.xlsx"
    book = xlsxwriter.Workbook(str(hidden))
    sheet = book.add_worksheet("Extract")
    for line, row in enumerate([["Ref", "Day"], ["A1", "01/09/2025"], ["A2", "02/09/2025"]]):
        sheet.write_row(line, 0, row)
    sheet.set_row(2, None, None, {"hidden": True})
    book.close()
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [_unreferenced(hidden)])
    assert error.value.message.startswith(f"{hidden}, sheet 'Extract', row 3: a hidden row")

def zipfile_member(path: Path, name: str) -> bytes:
    import zipfile

    with zipfile.ZipFile(path) as book:
        return book.read(name)

@pytest.mark.parametrize("saved", SAVES)
def test_cells_of_their_columns_types_keep_loading(tmp_path, saved):
    """Date cells in a date column, numbers in a float column (shown to any number of places),
    whole numbers in an int column, text (numeric text too) in a text column, blanks
    anywhere: the rows load as the cells hold them."""
    path = _saved("cells of their columns' types", saved, tmp_path)
    frame = ingest.read_extracts(RATED, [path]).frame
    assert frame.select("day", "rate", "count", "ref").rows() == [
        (date(2025, 9, 1), 0.25, 3, "00123"),
        (date(2025, 9, 2), 0.5, 4, "1-2"),
        (date(2025, 9, 1), None, 5, "A3"),
        (date(2025, 9, 1), 1.0, None, "50%"),
    ]


def test_a_retyped_cell_exits_3_with_one_line_and_writes_nothing(tmp_path):
    root = _mini(tmp_path)
    path = root / "extracts" / "crimes.xlsx"
    _workbook(path, [["C1", "01/09/2025", "Coventry", "burglary"],
                     [1234, "01/09/2025", "Coventry", "burglary"]],
              header=("crime_ref", "recorded", "lpa", "offence"))
    result = _kpi(root, "ingest", "crimes", str(path))
    assert result.returncode == 3, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0] == (f"Error: {path}, sheet 'Extract', row 3, column 'crime_ref': a number "
                        "cell (1234; a reference typed as 00123 is kept as the number 123) in a "
                        "text column")
    assert "Traceback" not in result.stderr
    assert not (root / "data" / "crimes").exists()


def test_a_number_no_date_can_be_in_a_text_column_is_one_line_not_a_panic(tmp_path):
    """A number cell of -1e300 in a text column: read as a date to tell a date cell from a
    number cell, fastexcel's Rust code panicked ("TimeDelta::milliseconds out of bounds") and
    the load ended in its backtrace and a Python traceback, exit 1. It is a number cell in a
    text column: refused in one line, exit 3, nothing written."""
    root = _mini(tmp_path)
    path = root / "extracts" / "crimes.xlsx"
    _workbook(path, [["C1", "01/09/2025", "Coventry", "burglary"],
                     [-1e300, "01/09/2025", "Coventry", "burglary"]],
              header=("crime_ref", "recorded", "lpa", "offence"))
    result = _kpi(root, "ingest", "crimes", str(path))
    assert result.returncode == 3, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith(f"Error: {path}, sheet 'Extract', row 3, column 'crime_ref': a "
                               "number cell (-1"), lines
    assert lines[0].endswith("in a text column"), lines
    assert len(lines) == 2 and lines[1].startswith("Hint: "), lines
    assert "Traceback" not in result.stderr and "panicked" not in result.stderr
    assert not (root / "data" / "crimes").exists()


def _workbook_of_a_table_at_c3(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Extract")
    day, share = book.add_format({"num_format": "dd/mm/yyyy"}), book.add_format(
        {"num_format": "0%"})
    sheet.write_row(2, 2, ["Day", "Rate", "Count", "Ref"])
    for line, rate in enumerate([0.5, 50, 0.25], start=3):
        sheet.write_datetime(line, 2, datetime(2025, 9, 1), day)
        sheet.write_number(line, 3, rate, share if rate < 1 else None)
        sheet.write_number(line, 4, line)
        sheet.write_string(line, 5, f"A{line}")
    book.close()
    return path


SAVED_BY_LIBREOFFICE["table at C3"] = (_workbook_of_a_table_at_c3, BOTH)


@pytest.mark.parametrize("saved", SAVES)
def test_a_percentage_cell_is_placed_in_a_table_that_does_not_start_at_a1(tmp_path, saved):
    """The table's first row and column are where fastexcel counts from, wherever the sheet's
    first value is (here C3): the percentage is found in its own row and column, and named by
    the sheet's row (D4 is row 4; it was named "row 2", its place in the used range)."""
    with pytest.raises(DataError) as error:
        ingest.read_extracts(RATED, [_saved("table at C3", saved, tmp_path)])
    assert ", row 4, column 'Rate': a percentage (Excel shows 50%, the cell holds 0.5)" in (
        error.value.message)


def test_every_refusal_names_the_sheets_own_row(tmp_path):
    """A table whose header is on row 3, in column C: a bad value in E5, a blank header cell
    in F3 over values and an error in E6 were named rows 3, 1 and 4 (counted from the used
    range); each is named by the sheet's own row and column."""
    def book(name: str, edit) -> Path:
        path = tmp_path / name
        workbook = xlsxwriter.Workbook(str(path))
        sheet = workbook.add_worksheet("Extract")
        sheet.write_row(2, 2, ["Day", "Rate", "Count", "Ref"])
        sheet.write_row(3, 2, ["01/09/2025", 0.5, 3, "A1"])
        sheet.write_row(4, 2, ["02/09/2025", 0.25, 4, "A2"])
        edit(sheet)
        workbook.close()
        return path

    bad = book("bad.xlsx", lambda sheet: sheet.write_string(4, 4, "three"))
    with pytest.raises(DataError) as error:
        ingest.read_extracts(RATED, [bad])
    assert error.value.message.startswith(f"{bad}, sheet 'Extract', row 5, column 'Count': "), (
        error.value.message)
    blank = book("blank.xlsx", lambda sheet: sheet.write_number(3, 6, 1))
    with pytest.raises(DataError) as error:
        ingest.read_extracts(RATED, [blank])
    assert error.value.message.startswith(f"{blank}, sheet 'Extract', row 3, column G: a blank "
                                          "header cell")
    error_cell = _member_edited(
        book("error.xlsx", lambda sheet: sheet.write_formula(5, 4, "=1/0", None, "#DIV/0!")),
        "xl/workbook.xml", lambda xml: re.sub(rb"<calcPr[^>]*/>", b'<calcPr calcId="191029"/>',
                                              xml))
    with pytest.raises(DataError) as error:
        ingest.read_extracts(RATED, [error_cell])
    assert ", row 6, column 'Count': an error (#DIV/0!)" in error.value.message


# ---------------------------------------------------------------------------------------------
# A UK extract opened in a spreadsheet that reads dates month first

UK_DAYS = ["03/04/2025", "30/04/2025", "05/04/2025", "15/03/2025", "01/04/2025"]


def _csv_opened_by_calc(tmp_path: Path, text: str, suffix: str, sheet: str = "uk",
                       columns: str = "") -> Path:
    """The CSV file `text`, named `sheet`.csv, opened by LibreOffice Calc in a US locale (the
    import's language 1033, as Excel on a US machine opens one) and saved as `suffix`: Calc
    makes a cell of each value's kind as it reads it (TRUE a true/false cell, 03/04/2025 the
    date 4 March, 30/04/2025 text, as no month-first reading takes it), but in a column
    `columns` imports as Text (its import option: `2/2/3/2` makes columns 2 and 3 text)."""
    extract = tmp_path / f"{sheet}.csv"
    extract.write_text(text, encoding="utf-8")
    out = tmp_path / f"calc-{suffix}"
    profile = _PROFILES.get(False) or tmp_path / "calc-profile"
    subprocess.run([_office(), f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    f"--infilter=CSV:44,34,76,1,{columns},1033", "--convert-to", suffix,
                    "--outdir",
                    str(out), str(extract)], capture_output=True, timeout=180, check=True)
    return out / f"{sheet}.{suffix}"


def _uk_csv_opened_month_first(tmp_path: Path, suffix: str) -> Path:
    """A CSV file of UK dates (day first), UK_DAYS, opened by Calc in a US locale and saved as
    `suffix` (`_csv_opened_by_calc`)."""
    return _csv_opened_by_calc(tmp_path, "Day,Rate,Count,Ref\n" + "".join(
        f"{day},0.5,{n},R{n}\n" for n, day in enumerate(UK_DAYS, start=1)), suffix)


def _month_first_refusal(path: Path) -> str:
    """The refusal of UK_DAYS as a spreadsheet reading them month first saves them."""
    return (f"{path}, sheet 'uk', row 3, column 'Day': a date typed as text day first "
            "(30/04/2025) in a column of date cells (row 2 holds 2025-03-04): a spreadsheet "
            "that read the dates month first makes 03/04/2025 the date 4 March and leaves "
            "30/04/2025 as text, so the date cells cannot be trusted")


@pytest.mark.parametrize("suffix", ["xlsx", "xls"])
def test_date_cells_beside_day_first_text_are_refused(tmp_path, suffix):
    """The CSV's April holds 4 rows and March 1 (counted by hand from UK_DAYS). Calc in a US
    locale made 03/04/2025, 05/04/2025 and 01/04/2025 date cells of 4 March, 4 May and 4
    January and left 30/04/2025 and 15/03/2025 as text, which kpi read day first: loaded,
    April held 1 row, March 2, January and May 1 each, exit 0. A column whose date cells
    (all on days 1 to 12) sit beside dates typed as text day first, each with a day after
    the 12th, is refused naming a text cell and a date cell."""
    path = _uk_csv_opened_month_first(tmp_path, suffix)
    from_csv = ingest.read_extracts(RATED, [tmp_path / "uk.csv"]).frame
    assert dict(from_csv.group_by("month").len().iter_rows()) == {"2025-03": 1, "2025-04": 4}
    with pytest.raises(DataError) as error:
        ingest.read_extracts(RATED, [path])
    assert error.value.message == _month_first_refusal(path)
    assert "open the CSV file in a UK locale" in (error.value.hint or "")


def test_iso_date_cells_read_month_first_are_refused_as_serial_ones_are(tmp_path):
    """The same cells as `test_date_cells_beside_day_first_text_are_refused` saves, stored as
    ISO 8601 date cells (`t="d"`, which the standard allows and openpyxl writes): fastexcel
    shows them as "2025-03-04T00:00:00", which the month-first check did not take for a date
    cell, so the workbook loaded with 03/04/2025 in March, exit 0. Every form of a date cell is
    read by one rule."""
    import zipfile

    import openpyxl

    book = openpyxl.Workbook(iso_dates=True)
    sheet = book.active
    sheet.title = "uk"
    sheet.append(["Day", "Rate", "Count", "Ref"])
    for n, day in enumerate(UK_DAYS, start=1):
        first, second, year = (int(part) for part in day.split("/"))
        # a month-first reading makes a date of each it can, and leaves the rest as text
        cell = datetime(year, first, second) if first <= 12 else day
        sheet.append([cell, 0.5, n, f"R{n}"])
        if isinstance(cell, datetime):
            sheet.cell(row=n + 1, column=1).number_format = "dd/mm/yyyy"
    path = tmp_path / "iso dates é.xlsx"
    book.save(path)
    assert b't="d"' in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    with pytest.raises(DataError) as error:
        ingest.read_extracts(RATED, [path])
    assert error.value.message == _month_first_refusal(path)


def test_date_cells_beside_text_dates_a_month_first_reading_would_take_load(tmp_path):
    """Date cells beside text dates load where a month-first reading cannot have made them:
    beside 01/09/2025 typed as text (which it would have made a date cell too), or where a
    date cell falls on a day after the 12th (a month it cannot have been written with)."""
    mixed = _typed_workbook(tmp_path / "mixed.xlsx", [
        [DAY, 0.5, 1, "A1"], ["01/09/2025", 0.5, 2, "A2"], ["2025-09-13", 0.5, 3, "A3"],
        ["30/09/2025", 0.5, 4, "A4"]])
    late = _typed_workbook(tmp_path / "late.xlsx", [
        [(datetime(2025, 9, 20), "dd/mm/yyyy"), 0.5, 1, "A1"], ["30/09/2025", 0.5, 2, "A2"]])
    assert ingest.read_extracts(RATED, [mixed]).frame.sort("ref")["day"].to_list() == [
        date(2025, 9, 1), date(2025, 9, 1), date(2025, 9, 13), date(2025, 9, 30)]
    assert ingest.read_extracts(RATED, [late]).frame.sort("ref")["day"].to_list() == [
        date(2025, 9, 20), date(2025, 9, 30)]


def _read_month_first(path: Path, days: list[date]) -> Path:
    """A workbook of `days` as a spreadsheet reading their UK text month first saves it: a
    date cell of the day and month swapped where that is a date (day 12 or before), else the
    text day first, as written."""
    rows = []
    for n, day in enumerate(days):
        cell = ((datetime(day.year, day.day, day.month), "mm/dd/yyyy") if day.day <= 12
                else day.strftime("%d/%m/%Y"))
        rows.append([cell, 0.5, n, f"R{n}"])
    return _typed_workbook(path, rows)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days=st.lists(st.dates(min_value=date(2024, 1, 1), max_value=date(2025, 12, 31)),
                     min_size=1, max_size=8))
def test_a_uk_extract_read_month_first_never_loads_other_months_than_its_csv(tmp_path, days):
    """Whatever the days, a workbook a month-first reading made of a UK extract either loads
    the months the CSV file holds or is refused: where a day after the 12th stayed text beside
    a date cell, refused; where every day stayed text, loaded as the CSV. (Where every day was
    12 or before, every cell is a date cell, and no cell tells what was typed.)"""
    path = _read_month_first(tmp_path / f"uk-{len(days)}-{days[0]:%Y%m%d}.xlsx", days)
    early = [d for d in days if d.day <= 12]
    if early and len(early) < len(days):
        with pytest.raises(DataError, match="a date typed as text day first"):
            ingest.read_extracts(RATED, [path])
    elif not early:
        frame = ingest.read_extracts(RATED, [path]).frame.sort("count")
        assert frame["day"].to_list() == days


# ---------------------------------------------------------------------------------------------
# A text cell is read as the CSV file's field of the same text


TYPED = DatasetSpec(id="typed", date="day", columns=(
    ColumnSpec("ref", ColumnType.STR, ("Ref",)),
    ColumnSpec("day", ColumnType.DATE, ("Day",)),
    ColumnSpec("at", ColumnType.DATETIME, ("At",), required=False),
    ColumnSpec("mon", ColumnType.MONTH, ("Mon",), required=False),
    ColumnSpec("count", ColumnType.INT, ("Count",), required=False),
    ColumnSpec("amount", ColumnType.FLOAT, ("Amount",), required=False),
))
TYPED_HEADER = ["Ref", "Day", "At", "Mon", "Count", "Amount"]


def _loaded_or_refused(spec: DatasetSpec, path: Path):
    """The rows loaded from `path` (sorted by ref), or the refusal's reason after its row and
    column, which the CSV file and the workbook name alike."""
    try:
        return ingest.read_extracts(spec, [path]).frame.sort("ref").drop("month").rows()
    except DataError as error:
        return error.message.split(", row ", 1)[1]


def _text_extract(folder: Path, rows: list[dict[str, str]]) -> tuple[Path, Path]:
    """`rows` as a CSV file and as an xlsxwriter workbook whose every cell is a text cell
    (write_string) of the same text: the two hold the same extract."""
    folder.mkdir(parents=True, exist_ok=True)
    extract = folder / "typed.csv"
    with extract.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(TYPED_HEADER)
        writer.writerows([row.get(name, "") for name in TYPED_HEADER] for row in rows)
    book = xlsxwriter.Workbook(str(folder / "typed.xlsx"))
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, TYPED_HEADER)
    for line, row in enumerate(rows, start=1):
        for column, name in enumerate(TYPED_HEADER):
            if row.get(name):
                sheet.write_string(line, column, row[name])
    book.close()
    return extract, folder / "typed.xlsx"


@pytest.mark.parametrize(("column", "text", "expected"), [
    # A serial day number typed as text is no date in the CSV file, nor in the workbook: it
    # was read as 30 September 2025 (and 45930.5 as its noon), exit 0.
    ("Day", "45930", "2, column 'Day': expected a date such as 2025-09-30 or 30/09/2025, "
                     "found '45930'"),
    ("At", "45930.5", "2, column 'At': expected a date and time such as 2025-09-30 14:05 or "
                      "30/09/2025 14:05:09, found '45930.5'"),
    ("Mon", " 45930 ", "2, column 'Mon': expected a month such as 2025-09, found ' 45930 '"),
    # A whole number past 2**53 typed as text is the number its text writes, as in the CSV
    # file: it was written as its float, 9007199254740992.0, and refused.
    ("Count", "9007199254740993", [("A1", date(2025, 10, 1), None, None, 9007199254740993,
                                    None)]),
    ("Count", "nan", "2, column 'Count': expected a whole number, found 'nan'"),
    ("Count", "1e20", "2, column 'Count': expected a whole number, found '1e20'"),
    ("Day", "01/10/2025", [("A1", date(2025, 10, 1), None, None, None, None)]),
])
def test_a_text_cell_is_read_as_the_csv_reads_its_text(tmp_path, column, text, expected):
    extract, book = _text_extract(tmp_path, [{"Ref": "A1", "Day": "2025-10-01", column: text}])
    assert _loaded_or_refused(TYPED, extract) == expected  # the CSV reader, and a hand answer
    assert _loaded_or_refused(TYPED, book) == expected


def test_a_serial_number_in_a_month_column_keeps_its_time_of_day(tmp_path):
    """A month column refuses a date with a time of day (its month hangs on the zone), as
    text and as a date cell; a General number cell holding the same moment as a serial day
    (45930.979...: 23:30 on 30 September 2025) was cut to its day and counted in September,
    exit 0. Now it is read as the date cell is; a whole serial (45930) is a date and loads."""
    path = tmp_path / "serials é.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, TYPED_HEADER)
    sheet.write_row(1, 0, ["A1", "2025-09-01", None, 45930 + 23.5 / 24])
    sheet.write_row(2, 0, ["A2", "2025-09-01", None, 45930])
    book.close()
    assert _loaded_or_refused(TYPED, path) == (
        "2, column 'Mon': expected a month such as 2025-09, found '2025-09-30 23:30:00', which "
        "is a date with a time of day, and a month column takes a month or a date: declare the "
        "column as type datetime to take each row's month from its date and time")
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, TYPED_HEADER)
    sheet.write_row(1, 0, ["A2", "2025-09-01", None, 45930])
    book.close()
    assert _loaded_or_refused(TYPED, path) == [("A2", date(2025, 9, 1), None, date(2025, 9, 1),
                                                None, None)]


_NUMBER_LIKE = st.one_of(
    st.integers(min_value=0, max_value=2**64).map(str),
    st.decimals(min_value=0, max_value=10**17, allow_nan=False, places=3).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.from_regex(r"\A ?[0-9]{1,17}(\.[0-9]{0,4})? ?\Z"),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(column=st.sampled_from(["Day", "At", "Mon", "Count", "Amount"]), text=_NUMBER_LIKE)
def test_text_cells_of_numbers_load_as_the_csv_of_the_same_text(tmp_path, column, text):
    """Whatever number a text cell of a date, datetime, month, int or float column writes
    (a serial day number, a whole number past 2**53, 1e20, nan), the workbook loads the rows
    the CSV file of the same text loads, or is refused for the same reason."""
    folder = tmp_path / f"{column}-{abs(hash(text))}"
    extract, book = _text_extract(folder, [{"Ref": "A1", "Day": "2025-10-01", column: text},
                                           {"Ref": "A2", "Day": "2025-10-02"}])
    assert _loaded_or_refused(TYPED, book) == _loaded_or_refused(TYPED, extract)


def test_number_cells_beside_text_cells_of_the_same_digits_keep_their_dates(tmp_path):
    """Beside a text cell, a number cell of a date column is still its serial day number's
    date, and a number cell of an int column past 2**53 is still refused (its float is not
    the number typed): only the text cell is read as its text."""
    path = tmp_path / "mixed.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, TYPED_HEADER)
    sheet.write_row(1, 0, ["A1", 45930])
    sheet.write_row(2, 0, ["A2", "2025-10-01"])
    book.close()
    assert [row[:2] for row in _loaded_or_refused(TYPED, path)] == [
        ("A1", date(2025, 9, 30)), ("A2", date(2025, 10, 1))]
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, TYPED_HEADER)
    sheet.write_row(1, 0, ["A1", "2025-10-01", None, None, 9007199254740993])
    sheet.write_row(2, 0, ["A2", "2025-10-01"])
    sheet.write_string(2, 4, "9007199254740993")
    book.close()
    assert _loaded_or_refused(TYPED, path) == (
        "2, column 'Count': expected a whole number, found '9007199254740992.0'")


@pytest.mark.parametrize("suffix", ["xlsx", "xls"])
def test_a_csv_imported_by_calc_with_text_columns_loads_as_the_csv(tmp_path, suffix):
    """The CSV file opened by LibreOffice Calc with its date and count columns imported as
    Text, and saved: its '45930' is refused as the CSV file's is (it was read as the date 30
    September 2025), its 9007199254740993 loaded whole (it was refused as 9007199254740992.0)."""
    text = ("Ref,Day,Count\nA1,2025-10-01,9007199254740993\nA2,01/10/2025,12\n")
    path = _csv_opened_by_calc(tmp_path, text, suffix, sheet="typed", columns="1/1/2/2/3/2")
    spec = DatasetSpec(id="typed", date="day", columns=TYPED.columns[:2] + TYPED.columns[4:5])
    assert _loaded_or_refused(spec, path) == _loaded_or_refused(spec, tmp_path / "typed.csv") == [
        ("A1", date(2025, 10, 1), 9007199254740993), ("A2", date(2025, 10, 1), 12)]
    (tmp_path / "serial").mkdir()
    serial = _csv_opened_by_calc(tmp_path / "serial", "Ref,Day\nA1,45930\n", suffix,
                                 sheet="typed", columns="1/1/2/2")
    assert _loaded_or_refused(spec, serial) == _loaded_or_refused(
        spec, tmp_path / "serial" / "typed.csv") == (
        "2, column 'Day': expected a date such as 2025-09-30 or 30/09/2025, found '45930'")


# ---------------------------------------------------------------------------------------------
# Every message about a workbook's rows and columns names its sheet


def test_every_refusal_of_a_workbooks_rows_and_columns_names_its_sheet(tmp_path):
    """A value the conformer refused was named "events.xlsx, row 3" without its sheet, where
    the workbook reader's own refusals name it ("events.xlsx, sheet 'Extract', row 3"): so
    was a missing column, every row refused under --skip-bad-rows, and a repeated unique id.
    Each now names the sheet read, as the rest do."""
    where = f"{tmp_path / 'events.xlsx'}, sheet 'Extract'"
    bad = _workbook(tmp_path / "events.xlsx", [["A1", "01/09/2025", None, "three", None]])
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [bad])
    assert error.value.message == (f"{where}, row 2, column 'Count': expected a whole number, "
                                   "found 'three'")
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [bad], skip_bad_rows=True)
    assert error.value.message == (
        f"{tmp_path / 'events.xlsx'}: all 1 data rows were rejected; first: {where}, row 2, "
        "column 'Count': expected a whole number, found 'three'")
    missing = _workbook(tmp_path / "events.xlsx", [["A1", "01/09/2025"]], header=("Ref", "Date"))
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [missing])
    assert error.value.message.startswith(f"{where}, row 1: expected column 'day' or 'Day'")
    unique = DatasetSpec(id="events", date="day", unique="ref", columns=SPEC.columns)
    twice = _workbook(tmp_path / "events.xlsx", [["A1", "01/09/2025"], ["A1", "02/09/2025"]])
    with pytest.raises(DataError) as error:
        ingest.read_extracts(unique, [twice])
    assert error.value.message.startswith(f"{where}, row 3, column 'Ref': expected each Ref once")


def test_a_text_cell_written_with_a_decimal_comma_is_read_as_a_csv_cell_is(tmp_path):
    """A workbook from a continental locale saves its numbers as text cells ('0,250', '2,25'):
    each is refused saying it is a decimal comma, and beside one, a text cell '1,500' the
    comma between thousands would read as 1500 refuses the load, --skip-bad-rows or not, as in
    a CSV file (kpi.ingest.conform); a number cell is a number, whatever the locale."""
    path = _workbook(tmp_path / "events.xlsx", [
        ["A1", datetime(2025, 9, 30), None, "0,250", None],
        ["A2", datetime(2025, 9, 30), None, 3, None]])
    with pytest.raises(DataError) as refused:
        ingest.read_extracts(SPEC, [path])
    assert refused.value.message.endswith(
        "row 2, column 'Count': expected a whole number, found '0,250', a decimal comma: kpi "
        "reads numbers with a decimal point, and a comma only between thousands (1,234.5)")
    path = _workbook(tmp_path / "both.xlsx", [
        ["A1", datetime(2025, 9, 30), None, "1,500", None],
        ["A2", datetime(2025, 9, 30), None, 3, None],
        ["A3", datetime(2025, 9, 30), None, "2,25", None]])
    for skip in (False, True):
        with pytest.raises(DataError) as refused:
            ingest.read_extracts(SPEC, [path], skip_bad_rows=skip)
        assert refused.value.message.endswith(
            "row 4, column 'Count': '2,25' is written with a decimal comma, so the column's "
            "'1,500' (row 2) could mean 1.500 where a comma between thousands reads it as 1500")


@pytest.mark.parametrize("above", [
    '<c r="A1"><v></v></c>',  # a null number, as some writers write one: no value
    '<c r="A1"><v/></c>',
])
def test_an_empty_number_cell_above_the_header_moves_no_row(tmp_path, above):
    """Row 1 holds an empty number cell (`<v></v>`), which fastexcel skips: its rows start
    at the header in row 2. The readers of the sheet's XML counted from row 1, so each date
    cell's time was written into the row below it: every row the date of the one above, a
    month's last row in the next month, exit 0. Each row keeps its own date (xlsxwriter wrote
    them, and the CSV of the same rows reads so)."""
    days = [datetime(2025, 1, 31, 23, 59, 59, 999999), datetime(2025, 2, 1, 6),
            datetime(2025, 2, 28, 12, 30)]
    rows = [[f"R{i}", day, day, i, None] for i, day in enumerate(days)]
    path = _workbook(tmp_path / "extract.xlsx", rows, before=[["X"]])
    _as_excel_saves_it(path, lambda xml: re.sub(r'<c r="A1"[^>]*>.*?</c>', above, xml, count=1))
    frame = ingest.read_extracts(SPEC, [path]).frame.sort("ref")
    assert frame["day"].to_list() == [d.date() for d in days]
    assert frame["at"].dt.replace_time_zone(None).to_list() == days


def test_a_formula_whose_saved_value_is_empty_text_is_a_saved_value(tmp_path):
    """=IF(C2>5,"High","") where its result is the empty text: Excel and LibreOffice save
    `<c t="str"><f>...</f><v></v></c>`, which was refused as a formula with no saved value,
    naming a column the dataset does not read, with a hint (save it in Excel or
    LibreOffice) that could not help. A formula with no saved value at all is refused as
    before."""
    rows = [["R1", datetime(2025, 9, 5), None, 3, None], ["R2", datetime(2025, 9, 6), None, 8,
                                                          None]]
    header = ("Ref", "Day", "At", "Count", "Flag", "Band")
    path = _workbook(tmp_path / "extract.xlsx", [r + ["x"] for r in rows], header=header)

    def band(value: str):
        return lambda xml: re.sub(
            r'<c r="F(\d)"[^>]*>.*?</c>',
            lambda m: f'<c r="F{m.group(1)}" t="str"><f>IF(D{m.group(1)}&gt;5,"High","")</f>'
                      f'{value}</c>' if m.group(1) != "1" else m.group(0), xml)

    _as_excel_saves_it(path, band("<v></v>"))
    frame = ingest.read_extracts(SPEC, [path]).frame.sort("ref")
    assert frame["count"].to_list() == [3, 8]
    path = _workbook(tmp_path / "unsaved.xlsx", [r + ["x"] for r in rows], header=header)
    _as_excel_saves_it(path, lambda xml: band("")(xml).replace(' t="str"', ""))
    with pytest.raises(DataError, match="cell F2: a formula .* that has no saved value"):
        ingest.read_extracts(SPEC, [path])


# ---------------------------------------------------------------------------------------------
# A sheet's XML laid out otherwise than Excel lays it out

TIMED = DatasetSpec(id="events", date="at", columns=(
    ColumnSpec("ref", ColumnType.STR, ("Ref",)),
    ColumnSpec("at", ColumnType.DATETIME, ("When",)),
    ColumnSpec("n", ColumnType.FLOAT, ("N",)),
))
MOMENTS = [datetime(2025, 8, 31, 21, 0), datetime(2025, 9, 1, 9, 0),
           datetime(2025, 9, 30, 23, 59, 59, 999999), datetime(2025, 10, 1, 9, 0, 0, 600000)]


def _timed_workbook(path: Path, percent_row: int | None = None, date_1904: bool = False
                    ) -> Path:
    """Ref, When (date cells) and N (10 each; 0.5 shown as 50% in `percent_row`), in the 1900
    date system or the 1904 one."""
    book = xlsxwriter.Workbook(str(path), {"date_1904": date_1904})
    sheet = book.add_worksheet("Extract")
    shown, share = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}), book.add_format(
        {"num_format": "0%"})
    sheet.write_row(0, 0, ["Ref", "When", "N"])
    for line, moment in enumerate(MOMENTS, start=1):
        sheet.write_string(line, 0, f"R{line}")
        sheet.write_datetime(line, 1, moment, shown)
        if line == percent_row:
            sheet.write_number(line, 2, 0.5, share)
        else:
            sheet.write_number(line, 2, 10)
    book.close()
    return path


SAVED_BY_LIBREOFFICE.update({
    "timed": (_timed_workbook, BOTH),
    "timed 1904": (lambda path: _timed_workbook(path, date_1904=True), BOTH)})


@pytest.mark.parametrize("system", ["1900", "1904"])
@pytest.mark.parametrize("saved", ["xlsxwriter", "libreoffice xls"])
def test_a_date_cell_at_a_months_end_stays_in_its_month_in_every_format(tmp_path, saved,
                                                                         system):
    """A date cell of 23:59:59.999999 on 30 September in an .xls workbook (its serial
    45930.99999999999, a float of its NUMBER record) was read as fastexcel reads it, rounded
    to the millisecond: midnight of 1 October, counted in October, exit 0, where the same
    cell in an .xlsx was read to the microsecond. Each serial of either format is read by one
    function, which never rounds it into the next day. By hand: the moments written, and
    their months. (LibreOffice saves an .xlsx's serials to 15 significant digits, this one as
    45931, the midnight it then shows: that workbook holds no such moment.)"""
    path = _saved("timed" if system == "1900" else "timed 1904", saved, tmp_path)
    frame = ingest.read_extracts(TIMED, [path]).frame.sort("ref")
    local = frame["at"].dt.convert_time_zone("Europe/London").dt.replace_time_zone(None)
    assert frame["ref"].to_list() == ["R1", "R2", "R3", "R4"]
    assert local.to_list() == MOMENTS
    assert frame["month"].to_list() == ["2025-08", "2025-09", "2025-09", "2025-10"]


def test_a_number_no_date_can_be_in_a_date_column_is_refused_as_its_text(tmp_path):
    """A number cell of 1e14 in a datetime column stopped the read with a traceback (its
    microseconds past a 64-bit integer); no date has such a serial, and it is refused as the
    CSV's '100000000000000' is."""
    book = xlsxwriter.Workbook(str(tmp_path / "huge.xlsx"))
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, ["Ref", "When", "N"])
    sheet.write_row(1, 0, ["R1", 1e14, 1])
    book.close()
    with pytest.raises(DataError) as error:
        ingest.read_extracts(TIMED, [tmp_path / "huge.xlsx"])
    assert error.value.message.startswith(
        f"{tmp_path / 'huge.xlsx'}, sheet 'Extract', row 2, column 'When': expected a date and "
        "time such as ")
    assert error.value.message.endswith(", found '100000000000000'")


def _inline_texts(path: Path, cell: Callable[[bytes, bytes], bytes]) -> Path:
    """`path` with each of its shared-string cells written as an inline text cell
    (t="inlineStr"), its XML `cell(reference, text)`."""
    import zipfile

    with zipfile.ZipFile(path) as book:
        strings = re.findall(rb"<t[^>]*>([^<]*)</t>", book.read("xl/sharedStrings.xml"))
    return _member_edited(path, "xl/worksheets/sheet1.xml", lambda xml: re.sub(
        rb'<c r="([A-Z]+\d+)" t="s"><v>(\d+)</v></c>',
        lambda m: cell(m.group(1), strings[int(m.group(2))]), xml))


@pytest.mark.parametrize("value", ["<v/>{text}", "<v></v>{text}", "{text}<v/>",
                                   "{text}<v></v>", "{text}<v> </v>"])
def test_an_inline_text_cell_is_read_as_its_text_beside_an_empty_value(tmp_path, value):
    """Some writers give an inline text cell (t="inlineStr", its text in <is>) an empty <v>
    too. The checks of the sheet's XML read a header of `<v/><is>` cells as no value, counted
    the rows from the row below it and put each date cell's time in the row above: R1 was
    1 September 09:00 and R3 1 October 09:00:00.600, August's count 0 where it is 1 and
    October's 2 where it is 1, exit 0; with the <v/> after the text, fastexcel read every
    such cell as blank (the header lost). An empty <v> holds nothing: every reader reads the
    cell's text. By hand: the workbook's rows."""
    path = _inline_texts(_timed_workbook(tmp_path / "timed.xlsx"), lambda ref, text: (
        b'<c r="' + ref + b'" t="inlineStr">'
        + value.format(text="<is><t>" + text.decode() + "</t></is>").encode() + b"</c>"))
    frame = ingest.read_extracts(TIMED, [path]).frame.sort("ref")
    local = frame["at"].dt.convert_time_zone("Europe/London").dt.replace_time_zone(None)
    assert frame["ref"].to_list() == ["R1", "R2", "R3", "R4"]
    assert local.to_list() == MOMENTS
    assert frame["month"].to_list() == ["2025-08", "2025-09", "2025-09", "2025-10"]


@pytest.mark.parametrize(("where", "value", "says"), [
    ("A1", "<v>0</v>{text}", "('0' beside its text 'Ref')"),
    ("A1", "{text}<v>0</v>", "('0' beside its text 'Ref')"),
    ("A4", "{text}<v>R3</v>", "('R3' beside its text 'R3')"),
    ("A4", "<v>R9</v>{text}", "('R9' beside its text 'R3')"),
])
def test_an_inline_text_cell_holding_a_second_value_is_refused(tmp_path, where, value, says):
    """An inline text cell with a <v> holding something has two values, which programs read
    differently: fastexcel the <v> where it comes after the text (a blank), LibreOffice a
    blank wherever it comes, openpyxl the text. Which one the cell holds is not ours to
    guess: refused, naming the cell, whichever comes first."""
    path = _inline_texts(_timed_workbook(tmp_path / "timed.xlsx"), lambda ref, text: (
        b'<c r="' + ref + b'" t="inlineStr">' + (value if ref == where.encode() else "{text}")
        .format(text="<is><t>" + text.decode() + "</t></is>").encode() + b"</c>"))
    with pytest.raises(DataError) as error:
        ingest.read_extracts(TIMED, [path])
    assert error.value.message == (
        f"{path}, sheet 'Extract', cell {where}: an inline text cell holding a second value "
        f"{says}, which programs read differently (as the text, or as a blank)")


def _cells_first_type(xml: bytes) -> bytes:
    return re.sub(rb'<c r="([A-Z]+\d+)"( s="\d+")?( t="\w+")?',
                  lambda m: b"<c" + (m.group(3) or b"") + (m.group(2) or b"") + b' r="'
                  + m.group(1) + b'"', xml)


def _indented(xml: bytes) -> bytes:
    from xml.dom import minidom

    return minidom.parseString(xml).toprettyxml(indent="  ", encoding="UTF-8")


def _quoted_and_spaced(xml: bytes) -> bytes:
    return re.sub(rb"<(?:c|row)\b[^>]*>", lambda tag: re.sub(
        rb'([\w:]+)="([^"]*)"', rb"\1 = '\2' ", tag.group(0)), xml)


def _without_references(xml: bytes) -> bytes:
    return re.sub(rb'(<(?:c|row)) r="[A-Z]*\d+"', rb"\1", xml)


LAYOUTS = {"as written": lambda xml: xml, "type before reference": _cells_first_type,
           "indented": _indented, "quoted and spaced": _quoted_and_spaced,
           "no references": _without_references,
           "indented, type first": lambda xml: _indented(_cells_first_type(xml))}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_every_check_of_the_sheets_xml_reads_cells_however_they_are_laid_out(tmp_path, layout):
    """The checks of a sheet's XML searched it by patterns of Excel's own layout (`r` first,
    `s` after it, a value straight after its cell's tag). A header written `<c t="s" r="A1">`
    gave each row the date of the row below (a year's count 23 where it is 24), and in an
    indented sheet 50% among 10s loaded as 0.5 and 23:59:59.999999 on 30 September was
    midnight, in October, exit 0. Every layout fastexcel reads alike now loads alike, or is
    refused alike."""
    edit = LAYOUTS[layout]
    path = _member_edited(_timed_workbook(tmp_path / "timed.xlsx"), "xl/worksheets/sheet1.xml",
                          edit)
    frame = ingest.read_extracts(TIMED, [path]).frame.sort("ref")
    local = frame["at"].dt.convert_time_zone("Europe/London").dt.replace_time_zone(None)
    assert frame["ref"].to_list() == ["R1", "R2", "R3", "R4"]
    assert local.to_list() == MOMENTS
    assert frame["month"].to_list() == ["2025-08", "2025-09", "2025-09", "2025-10"]
    assert frame["n"].to_list() == [10.0] * 4
    percent = _member_edited(_timed_workbook(tmp_path / "percent.xlsx", percent_row=3),
                             "xl/worksheets/sheet1.xml", edit)
    with pytest.raises(DataError) as error:
        ingest.read_extracts(TIMED, [percent])
    assert error.value.message == (
        f"{percent}, sheet 'Extract', row 4, column 'N': a percentage (Excel shows 50%, the cell "
        "holds 0.5) in a number column whose other cells are not percentages (50 beside 0.5 for "
        "50%)")
    hidden = tmp_path / "hidden.xlsx"
    book = xlsxwriter.Workbook(str(hidden))
    sheet = book.add_worksheet("Extract")
    for line, row in enumerate([["Ref", "Day"], ["A1", "01/09/2025"], ["A2", "02/09/2025"]]):
        sheet.write_row(line, 0, row)
    sheet.set_row(2, None, None, {"hidden": True})
    book.close()
    _member_edited(hidden, "xl/worksheets/sheet1.xml", edit)
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [hidden])
    assert error.value.message.startswith(f"{hidden}, sheet 'Extract', row 3: a hidden row")


def test_a_cell_the_checks_cannot_place_is_refused(tmp_path):
    """A cell whose reference is no cell's (R1C1 style) would be placed by its neighbours, or
    not at all: refused, rather than read in another row."""
    path = _member_edited(_timed_workbook(tmp_path / "timed.xlsx"), "xl/worksheets/sheet1.xml",
                          lambda xml: xml.replace(b'<c r="B3"', b'<c t="n" r="R3C2"', 1))
    with pytest.raises(DataError) as error:
        ingest.read_extracts(TIMED, [path])
    assert error.value.message == (
        f"{path}, sheet 'Extract': the sheet's XML holds a cell whose reference is 'R3C2', so "
        "its cells cannot be placed for their checks (formulas, percentages, times, hidden "
        "rows)")


def test_a_serial_number_cell_is_read_to_the_microsecond_as_a_date_cell_is(tmp_path):
    """A date serial in a General (number) cell of a datetime column was rounded to the
    millisecond and cut to the second: 23:59:59.999999 on 30 September (45930.99999999999)
    was midnight, in October (a year's count 24 where it is 25), and 12:00:00.600 was
    12:00:00, exit 0, where the same serial as a date cell, and the CSV, held the time
    written. Both are read by one function (`_serial_microseconds`)."""
    zero = datetime(1899, 12, 30)
    book = xlsxwriter.Workbook(str(tmp_path / "serials.xlsx"))
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, ["Ref", "When", "N"])
    for line, moment in enumerate(MOMENTS, start=1):
        serial = (moment - zero).total_seconds() / 86400
        sheet.write_row(line, 0, [f"R{line}", serial, 1])
    book.close()
    frame = ingest.read_extracts(TIMED, [tmp_path / "serials.xlsx"]).frame.sort("ref")
    local = frame["at"].dt.convert_time_zone("Europe/London").dt.replace_time_zone(None)
    assert local.to_list() == MOMENTS
    assert frame["month"].to_list() == ["2025-08", "2025-09", "2025-09", "2025-10"]


def test_number_columns_of_a_table_not_in_column_a_are_read_from_their_own_cells(tmp_path):
    """fastexcel takes a column's number in `use_columns` as its place in the sheet: in a
    table starting in column B, each number column was read again (to write its floats in
    full) from the column left of it, and 1/3 was stored as 45900 (the date cell beside it)
    and 2 as 0.333..., exit 0."""
    book = xlsxwriter.Workbook(str(tmp_path / "b.xlsx"))
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 1, ["Ref", "Day", "A", "B"])
    sheet.write_row(1, 1, ["R1", 45900, 1 / 3, 2])
    book.close()
    spec = DatasetSpec(id="events", date="day", columns=(
        ColumnSpec("ref", ColumnType.STR, ("Ref",)), ColumnSpec("day", ColumnType.DATE, ("Day",)),
        ColumnSpec("a", ColumnType.FLOAT, ("A",)), ColumnSpec("b", ColumnType.FLOAT, ("B",))))
    frame = ingest.read_extracts(spec, [tmp_path / "b.xlsx"]).frame
    assert frame.select("ref", "day", "a", "b").rows() == [("R1", date(2025, 8, 31), 1 / 3, 2.0)]
