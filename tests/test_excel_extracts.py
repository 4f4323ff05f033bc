"""Excel extracts (.xlsx, .xlsm, .xls) load like CSV: the same rows give the same stored table
and the same figures, dates may be date cells, serial day numbers or text, and a workbook
that cannot be read as one table is refused with one line naming the file and sheet.

Workbooks are written by xlsxwriter here, and two were saved by LibreOffice Calc
(tests/data/libreoffice-crimes.xlsx and .xls; see tests/data/README.md for how)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

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
    assert error.value.message.startswith(f"{path}, row 3, column 'Count': ")


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
