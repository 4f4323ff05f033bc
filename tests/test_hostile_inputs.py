"""Issue 5, point 1: every bad input gets one clear line (file, row, column, expected, found),
a documented exit code, no traceback, and nothing stored changes."""

from __future__ import annotations

import gzip
import io
import random
import shutil
import zipfile
from pathlib import Path

import polars as pl
import pytest
from hostile_support import GOOD_HEADER, first_error, make_project, snapshot
from typer.testing import CliRunner

from kpi.cli import app
from kpi.ingest import SANE_YEARS

H = GOOD_HEADER + "\n"
ROW_A = "B1,2025-03-01,Dudley,1,18-24\n"
ROW_B = "B2,2025-03-02,Walsall,2,over 65\n"
DATE_EXPECTED = "expected a date such as 2025-09-30 or 30/09/2025"


def _parquet(frame: pl.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.write_parquet(out)
    return out.getvalue()


def _good_parquet() -> bytes:
    return _parquet(pl.DataFrame({
        "Incident Ref": ["P1", "P2"], "Date": ["2025-03-01", "2025-03-02"],
        "LPA": ["Dudley", "Walsall"], "Victims": [1, 2]},
    ).with_columns(pl.col("Date").str.to_date()))


def _xlsx() -> bytes:
    out = io.BytesIO()
    pl.DataFrame({"Incident Ref": ["X1"], "Date": ["2025-03-01"], "LPA": ["Dudley"],
                  "Victims": [1]}).write_excel(out)
    return out.getvalue()


def _zip(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, data)
    return out.getvalue()


DATA = Path(__file__).resolve().parent / "data"
GOOD = (H + ROW_A + ROW_B).encode()


# (case, file name, content, dataset, message after "Error: FILE")
CASES = [
    ("empty file", "empty.csv", b"", "incidents", ": the file is empty"),
    ("blank lines only", "blank.csv", b"\r\n\r\n  \n", "incidents", ": the file is empty"),
    ("header only", "header.csv", H.encode(), "incidents",
     ": the file has a header but no data rows"),
    ("binary garbage", "garbage.csv", random.Random(5).randbytes(4096), "incidents",
     ": binary data where a CSV file was expected"),
    ("binary without NUL bytes", "controls.csv", bytes(range(1, 32)) * 100, "incidents",
     ": binary data where a CSV file was expected"),
    # A container saved or downloaded in place of the extract is named, with what to do.
    ("workbook named .csv", "book.csv", _xlsx(), "incidents",
     ": the file is an Excel workbook (.xlsx), not a CSV file"),
    ("Excel 97-2003 workbook named .csv", "old.csv",
     (DATA / "libreoffice-crimes.xls").read_bytes(), "incidents",
     ": the file is an Excel 97-2003 workbook (.xls) or another Office file, not a CSV file"),
    ("OpenDocument spreadsheet", "sheet.ods", (DATA / "libreoffice-crimes.ods").read_bytes(),
     "incidents", ": the file is an OpenDocument spreadsheet (.ods), not a CSV file"),
    ("zip archive", "download.zip", _zip("good.csv", GOOD), "incidents",
     ": the file is a zip archive, not a CSV file"),
    ("gzip-compressed CSV", "good.csv.gz", gzip.compress(GOOD), "incidents",
     ": the file is a gzip-compressed file, not a CSV file"),
    ("PDF", "report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)), "incidents",
     ": the file is a PDF document, not a CSV file"),
    ("text named as a workbook", "good.xlsx", GOOD, "incidents",
     ": the file is text (a CSV file?), not an Excel workbook"),
    ("text named as Parquet", "good.parquet", GOOD, "incidents",
     ": the file is text (a CSV file?), not a Parquet file"),
    ("workbook named as Parquet", "book.parquet", _xlsx(), "incidents",
     ": the file is an Excel workbook (.xlsx), not a Parquet file"),
    ("truncated file", "truncated.csv", (H + ROW_A + ROW_B)[:-12].encode(), "incidents",
     ", row 3: expected 5 fields, found 3"),
    ("truncated inside quotes", "open-quote.csv", (H + ROW_A + 'B2,2025-03-02,"Wal').encode(),
     "incidents", ", row 3: expected 5 fields, found 3"),
    ("short row that repeats the start of an earlier one", "prefix.csv",
     (H + ROW_A + "B1,2025-03-01\n").encode(), "incidents", ", row 3: expected 5 fields, found 2"),
    ("ragged row", "ragged.csv", (H + ROW_A + "B2,2025-03-02,Walsall,2,18-24,x\n").encode(),
     "incidents", ", row 3: expected 5 fields, found 6"),
    ("missing required column", "missing.csv",
     b"Incident Ref,Date,Victims\nB1,2025-03-01,1\n", "incidents",
     ", row 1: expected column 'lpa' or 'LPA', found 'Incident Ref', 'Date', 'Victims'"),
    ("unknown column where the dataset refuses them", "strict.csv",
     b"Month,Crime type,Officer\n2025-03,Burglary,PC 1\n", "strict",
     ", row 1, column 'Officer': expected only the columns of dataset 'strict', "
     "found 'Officer'"),
    ("duplicate column names", "dupcols.csv",
     b"Incident Ref,Date,LPA,Victims,lpa\nB1,2025-03-01,Dudley,1,Dudley\n", "incidents",
     ", row 1, column 'lpa': column name 'lpa' appears twice in the header"),
    ("wrong type", "type.csv", (H + ROW_A + "B2,2025-03-02,Walsall,two,\n").encode(),
     "incidents", ", row 3, column 'Victims': expected a whole number, found 'two'"),
    ("fractional count", "fraction.csv", (H + "B1,2025-03-01,Dudley,1.5,\n").encode(),
     "incidents", ", row 2, column 'Victims': expected a whole number, found '1.5'"),
    ("unparseable date", "date.csv", (H + "B1,yesterday,Dudley,1,\n").encode(), "incidents",
     f", row 2, column 'Date': {DATE_EXPECTED}, found 'yesterday'"),
    ("impossible ISO date", "feb30.csv", (H + ROW_A + "B2,2025-02-30,Dudley,1,\n").encode(),
     "incidents", f", row 3, column 'Date': {DATE_EXPECTED}, found '2025-02-30', which is "
     "not a calendar date"),
    ("impossible UK date", "apr31.csv", (H + "B1,31/04/2025,Dudley,1,\n").encode(),
     "incidents", f", row 2, column 'Date': {DATE_EXPECTED}, found '31/04/2025', which is "
     "not a calendar date"),
    ("blank date", "nodate.csv", (H + "B1, ,Dudley,1,\n").encode(), "incidents",
     f", row 2, column 'Date': {DATE_EXPECTED}, found a blank"),
    ("date too early", "old.csv", (H + "B1,31/12/1899,Dudley,1,\n").encode(), "incidents",
     f", row 2, column 'Date': expected a date between {SANE_YEARS[0]} and {SANE_YEARS[1]}, "
     "found '31/12/1899'"),
    ("date too late", "future.csv", (H + "B1,2999-01-01,Dudley,1,\n").encode(), "incidents",
     f", row 2, column 'Date': expected a date between {SANE_YEARS[0]} and {SANE_YEARS[1]}, "
     "found '2999-01-01'"),
    ("negative count", "negative.csv", (H + ROW_A + "B2,2025-03-02,Dudley,-3,\n").encode(),
     "incidents", ", row 3, column 'Victims': expected a value of at least 0, found '-3'"),
    ("blank id where ids are unique", "noid.csv", (H + " ,2025-03-01,Dudley,1,\n").encode(),
     "incidents", ", row 2, column 'Incident Ref': expected an id (dataset 'incidents' "
     "declares 'ref' unique), found a blank"),
    ("duplicate unique id", "dupid.csv", (H + ROW_A + ROW_B + ROW_A.replace("03-01", "03-05")
                                          ).encode(), "incidents",
     ", row 4, column 'Incident Ref': expected each Incident Ref once (dataset 'incidents' "
     "declares 'ref' unique), found 'B1' again (at dupid.csv row 2, dupid.csv row 4)"),
    ("age range turned into a date", "excel-age.csv",
     (H + ROW_A + "B2,2025-03-02,Dudley,1,Oct-17\n").encode(), "incidents",
     ", row 3, column 'Age range': expected text matching "
     r"'under 10|\d{1,2}-\d{1,2}|over \d{2}', found 'Oct-17' (a month name: spreadsheet "
     "software may have converted the value)"),
    ("month-name date", "excel-date.csv", (H + "B1,Sept 2025,Dudley,1,\n").encode(),
     "incidents", f", row 2, column 'Date': {DATE_EXPECTED}, found 'Sept 2025' (a month name: "
     "spreadsheet software may have converted the value)"),
    ("day-month-name date", "excel-date2.csv", (H + "B1,01-Oct-2025,Dudley,1,\n").encode(),
     "incidents", f", row 2, column 'Date': {DATE_EXPECTED}, found '01-Oct-2025' (a month "
     "name: spreadsheet software may have converted the value)"),
    ("neither UTF-8 nor Windows-1252", "latin.csv", (H + "B1,2025-03-01,Dudley").encode()
     + b"\x81" + b",1,\n", "incidents",
     f": cannot decode byte 0x81 at offset {len(H) + 20} as UTF-8 or Windows-1252"),
    # UTF-8 text with one byte pasted from a Windows program (a curly apostrophe, 0x92): read
    # as Windows-1252 whole, "Assault – ABH" was stored as "Assault â€“ ABH" and a filter on
    # it counted none, exit 0
    ("UTF-8 and Windows-1252 in one file", "mixed.csv",
     (H + "B1,2025-03-01,Dudley \u2013 North,1,\n").encode() + b"B2,2025-03-02,O\x92Neil,1,\n",
     "incidents", ": line 3 holds byte 0x92, which is not UTF-8, and line 2 holds '\u2013' "
     "written in UTF-8: the file mixes two encodings, and read as either, some of its text "
     "would be wrong ('\u2013' read as Windows-1252 is '\u00e2\u20ac\u201c')"),
    # A note that opens a quote and never closes it (SQL Server's "Save Results As" quotes
    # nothing): Arrow's reader read every line after it as its value, exit 0
    ("a quote never closed", "unclosed.csv",
     (H + ROW_A + 'B2,2025-03-02,"Dudley,1,\n' + "B3,2025-03-03,Dudley,1,\n"
      + "B4,2025-03-04,Dudley,1,\n").encode(), "incidents",
     ", row 3: expected 5 fields, found 3"),
    ("Parquet with the wrong schema", "typed.parquet", _parquet(pl.DataFrame({
        "Incident Ref": ["P1"], "Date": [20250301], "LPA": ["Dudley"], "Victims": [1]})),
     "incidents", f", column 'Date': {DATE_EXPECTED}, found a column of type Int64"),
    # A report's title, run date and parameters above the table (Business Objects, SSRS): it
    # was "expected column 'ref' or 'Incident Ref' ..., found 'Incidents by LPA'" with the hint
    # to map the source name in kpi.toml, which no mapping fixes.
    ("report header block above the table", "report.csv",
     b"Incidents by LPA\r\nRun date: 01/04/2025,Parameters: all LPAs\r\n\r\n" + GOOD,
     "incidents", ": the header is not the first row: the column names are on row 4"),
    ("Parquet missing a column", "narrow.parquet", _parquet(pl.DataFrame({
        "Incident Ref": ["P1"], "Date": ["2025-03-01"], "Victims": [1]})), "incidents",
     ": expected column 'lpa' or 'LPA', found 'Incident Ref', 'Date', 'Victims'"),
    ("Parquet with a negative count", "negative.parquet", _parquet(pl.DataFrame({
        "Incident Ref": ["P1", "P2"], "Date": ["2025-03-01", "2025-03-02"],
        "LPA": ["Dudley", "Dudley"], "Victims": [1, -1]})), "incidents",
     ", row 2, column 'Victims': expected a value of at least 0, found '-1'"),
]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    folder = make_project(tmp_path_factory.mktemp("inputs") / "project")
    result = CliRunner().invoke(app, ["--project", str(folder), "ingest", "incidents",
                                      str(folder / "good.csv")])
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture
def project(loaded, tmp_path):
    """good.csv loaded into incidents, version 0: loaded once for the module, and copied for
    each test, which may load into it."""
    return shutil.copytree(loaded, tmp_path / "project", symlinks=True)


@pytest.mark.parametrize(("name", "content", "dataset", "message"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_extract_is_one_clear_line_and_changes_nothing(project, cli, name, content,
                                                           dataset, message):
    before = snapshot(project, dataset)
    path = project / name
    path.write_bytes(content)
    result = cli(["--project", project, "ingest", dataset, path])
    assert result.exit_code == 3, result.output
    assert first_error(result.stderr) == f"Error: {path}{message}"
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert snapshot(project, dataset).same_as(before)


def test_corrupt_parquet_is_rejected(project, cli):
    good = _good_parquet()
    before = snapshot(project)
    for name, content in (("cut.parquet", good[: len(good) // 2]),
                          ("noise.parquet", b"PAR1" + bytes(range(256)) * 4 + b"PAR1")):
        path = project / name
        path.write_bytes(content)
        result = cli(["--project", project, "ingest", "incidents", path])
        assert result.exit_code == 3, result.output
        line = first_error(result.stderr)
        assert line.startswith(f"Error: {path}: not a readable Parquet file (")
        assert "Traceback" not in result.output
    assert snapshot(project).same_as(before)
    # The same file whole loads, so the rejections above are about the damage.
    path = project / "whole.parquet"
    path.write_bytes(good)
    assert cli(["--project", project, "ingest", "incidents", path]).exit_code == 0
    assert snapshot(project).version == before.version + 1


def test_a_parquet_file_holding_a_column_name_twice_says_so(project, cli):
    """Two columns of one name (pyarrow writes them) were reported as a damaged file ("the
    file may be truncated or corrupt; export it again"): it is the file's columns that are
    wrong, named as a CSV header holding a name twice is."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = project / "twice named é.parquet"
    pq.write_table(pa.Table.from_arrays(
        [pa.array(["B1"]), pa.array(["2025-03-01"]), pa.array(["Dudley"]), pa.array(["x"])],
        names=["Incident Ref", "Date", "LPA", "LPA"]), path)
    before = snapshot(project)
    result = cli(["--project", project, "ingest", "incidents", path])
    assert result.exit_code == 3, result.output
    assert first_error(result.stderr) == (
        f"Error: {path}, column 'LPA': column name 'LPA' appears twice in the file's columns")
    assert snapshot(project).same_as(before)


@pytest.mark.parametrize(("values", "reason"), [
    ("far dates", "column 'Date' holds dates outside the years 1 to 9999"),
    ("bad UTF-8", "Column 2: In chunk 0: Invalid: Invalid UTF8 sequence at string index 1"),
])
def test_parquet_values_polars_cannot_hold_are_rejected(project, cli, values, reason):
    # Both were found by the fuzz test: Polars panicked on them instead of raising.
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = {"Incident Ref": ["P1", "P2"],
             "Date": pa.array([20_000, 20_001], pa.int32()).cast(pa.date32()),
             "LPA": ["Dudley", "Dudley"], "Victims": [1, 1]}
    if values == "far dates":
        table["Date"] = pa.array([20_000, 10**9], pa.int32()).cast(pa.date32())
    else:
        table["LPA"] = pa.array([b"ok", b"\xf1\x80"], pa.binary()).view(pa.string())
    path = project / "odd.parquet"
    pq.write_table(pa.table(table), path)
    before = snapshot(project)
    result = cli(["--project", project, "ingest", "incidents", path])
    assert result.exit_code == 3
    assert first_error(result.stderr) == f"Error: {path}: not a readable Parquet file ({reason})"
    assert snapshot(project).same_as(before)


def test_unknown_columns_are_ignored_with_a_warning_by_default(project, cli):
    path = project / "extra.csv"
    path.write_text("Incident Ref,Date,LPA,Victims,Officer,Notes\n"
                    "B1,2025-03-01,Dudley,1,PC 1,x\n")
    result = cli(["--project", project, "ingest", "incidents", path])
    assert result.exit_code == 0, result.output
    assert (f"Warning: {path}: ignored 2 column(s) not in dataset 'incidents': Officer, Notes"
            in result.stderr.splitlines())
    stored = snapshot(project).rows.filter(pl.col("month") == "2025-03")
    assert stored.select("ref", "lpa", "victims").rows() == [("B1", "Dudley", 1)]


@pytest.mark.parametrize(("encoding", "prefix"), [("utf-8", b"\xef\xbb\xbf"), ("cp1252", b"")])
def test_bom_and_windows_1252_load_correctly(project, cli, encoding, prefix):
    text = (H + "B1,2025-03-01,Café £5,1,\r\n"
            "B2,26/03/2025,Solihull,\"1,200\",under 10\r\n")
    path = project / f"{encoding}.csv"
    path.write_bytes(prefix + text.encode(encoding))
    result = cli(["--project", project, "ingest", "incidents", path])
    assert result.exit_code == 0, result.output
    rows = snapshot(project).rows.filter(pl.col("month") == "2025-03").sort("ref")
    assert rows.select("ref", "lpa", "victims", "age_range").rows() == [
        ("B1", "Café £5", 1, None), ("B2", "Solihull", 1200, "under 10")]
    assert rows["date"].cast(pl.String).to_list() == ["2025-03-01", "2025-03-26"]


@pytest.mark.parametrize("notes, row, message", [
    # a note opening a quote never closed, more than 128 KiB before the end (Python's reader
    # stopped at its field limit first, and the check passed the file)
    ({40: '"No further action'}, 41, "a quote opens a value that no quote closes"),
    # two such notes: the second's quote closed the first
    ({5: '"No further action', 17: '"Victim declined'}, 6,
     "a quoted value goes on after its closing quote"),
    # one beside a quote within an unquoted value, which pairs with it
    ({3: "suspect 5'10\" tall", 13: '"No further action'}, 14,
     "a quote opens a value that no quote closes"),
])
def test_quotes_that_do_not_pair_in_a_column_not_read_are_refused(project, cli, notes, row,
                                                                  message):
    """A free-text Notes column the dataset does not read, in an export that quotes nothing:
    a note opening a quote took the lines after it as its value, and the rows on them were
    never loaded (a month and a half of a 10,000-row extract, exit 0). The file is refused,
    naming the line the value starts on; a quote within an unquoted value (5'10") alone
    loads."""
    before = snapshot(project)
    lines = [GOOD_HEADER + ",Notes"]
    for n in range(1, 3001):
        lines.append(f"Q{n},2025-03-{1 + n % 28:02d},Dudley,1,18-24,{notes.get(n, 'none')}")
    path = project / "notes.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli(["--project", project, "ingest", "incidents", path])
    assert result.exit_code == 3, result.output
    assert first_error(result.stderr).startswith(f"Error: {path}, row {row}: {message}")
    assert snapshot(project).rows.equals(before.rows)
    alone = "\n".join(lines).replace('"No further action', "No further action").replace(
        '"Victim declined', "Victim declined")
    path.write_text(alone + "\n", encoding="utf-8")
    result = cli(["--project", project, "ingest", "incidents", path])
    assert result.exit_code == 0, result.output
    assert snapshot(project).rows.filter(pl.col("ref").str.starts_with("Q")).height == 3000


def test_repeated_header_rows_and_blank_lines_are_skipped(project, cli):
    path = project / "concatenated.csv"
    path.write_text(H + ROW_A + "\n" + H + ROW_B + "\n\n")
    result = cli(["--project", project, "ingest", "incidents", path])
    assert result.exit_code == 0, result.output
    assert f"Warning: {path}: skipped 1 repeated header row(s)" in result.stderr.splitlines()
    assert sorted(snapshot(project).rows.filter(pl.col("month") == "2025-03")["ref"]) == [
        "B1", "B2"]


def test_sections_of_one_month_with_no_row_alike_load_without_parts(project, cli):
    """Monthly files joined into one file share a month where a file holds the next month's
    first hours (police.uk's files, written in UTC): sections with no row alike are read
    together, as the file has them."""
    path = project / "joined months.csv"
    path.write_text(H + ROW_A + ROW_B + H + ROW_B.replace("B2,2025-03-02", "B3,2025-03-02")
                    + ROW_B.replace("B2,2025-03-02", "B4,2025-04-02"))
    result = cli(["--project", project, "ingest", "incidents", path])
    assert result.exit_code == 0, result.output
    rows = snapshot(project).rows.filter(pl.col("ref").str.starts_with("B"))
    assert sorted(zip(rows["month"], rows["ref"], strict=True)) == [
        ("2025-03", "B1"), ("2025-03", "B2"), ("2025-03", "B3"), ("2025-04", "B4")]


@pytest.mark.parametrize("second", ["INCIDENT REF,DATE,LPA,VICTIMS,AGE RANGE",
                                    "ref,date,lpa,victims,age_range"])
@pytest.mark.parametrize("skip", [[], ["--skip-bad-rows"]])
def test_a_revision_under_its_header_spelt_otherwise_is_told_apart(project, cli, second, skip):
    """An extract and its revision joined into one file, the second header spelt otherwise
    (upper case, or the dataset's own names), in the same order: it was no header but a bad
    row, and with --skip-bad-rows set aside as one, so the file read as one extract and the
    month's rows were summed (B1 counted twice, exit 0). The header is recognised as the
    loader reads names, and the file refused as one holding a row in two sections."""
    path = project / "joined é.csv"
    path.write_text(H + ROW_A + ROW_B + second + "\n" + ROW_A + ROW_B.replace(",2,", ",3,"))
    before = snapshot(project)
    result = cli(["--project", project, "ingest", "incidents", path, *skip])
    assert result.exit_code == 3, result.output
    assert (f"{path}, row 5: repeats a row of 2025-03 written above the header repeated at "
            "row 4 (1 row of the month written twice)") in " ".join(result.output.split())
    assert snapshot(project).same_as(before)


@pytest.mark.parametrize("skip", [[], ["--skip-bad-rows"]])
def test_an_extract_and_its_revision_joined_into_one_file_are_refused(project, cli, skip):
    """An original extract and its revision joined into one file, the header written again
    between them: read as one extract, March's incidents were summed (B1 counted twice,
    exit 0). A row written alike in two sections is refused as two files holding one month
    are (`_check_overlap`), naming the row and the header, nothing stored; `--parts` reads
    the sections together."""
    original = ROW_A + ROW_B
    revision = ROW_A + ROW_B.replace(",2,", ",3,")
    path = project / "original and revision é.csv"
    path.write_text(H + original + H + revision)
    before = snapshot(project)
    result = cli(["--project", project, "ingest", "incidents", path, *skip])
    assert result.exit_code == 3, result.output
    assert (f"{path}, row 5: repeats a row of 2025-03 written above the header repeated at "
            "row 4 (1 row of the month written twice): two extracts joined into one file "
            "would be counted twice") in " ".join(result.output.split())
    assert "--parts" in result.output
    assert snapshot(project).same_as(before)


@pytest.mark.parametrize("second", [
    "Incident Ref,Date,LPA,Age range,Victims",  # the date column where it was
    "Date,Incident Ref,LPA,Victims,Age range",  # the date column moved
    # named as the loader matches names: in another case, and by the dataset's own names
    "INCIDENT REF,DATE,LPA,AGE RANGE,VICTIMS",
    "date,ref,lpa,victims,age_range",
])
@pytest.mark.parametrize("skip", [[], ["--skip-bad-rows"]])
def test_a_header_repeated_in_another_column_order_refuses_the_file(project, cli, second,
                                                                     skip):
    """Two exports joined into one file, the second with its columns in another order: its
    header row was a bad row, and with --skip-bad-rows (its refusal's hint) the rows below it
    loaded in the first header's order, victims read from the age range (the hostile test's
    own file: 117 where its amounts sum to 715, exit 0). The file is refused as a whole, with
    or without --skip-bad-rows, naming the row; nothing is stored. The second header is
    recognised as the loader matches names (`_heading_key`, and each column's own name and
    `from` names): compared as written, 'INCIDENT REF,DATE,LPA,AGE RANGE,VICTIMS' was one bad
    row and the rows below it loaded in the first header's order, exit 0."""
    swapped = {"incident ref,date,lpa,age range,victims": "B3,2025-03-02,Dudley,,3\n",
               "date,incident ref,lpa,victims,age range": "2025-03-02,B3,Dudley,3,\n",
               "date,ref,lpa,victims,age_range": "2025-03-02,B3,Dudley,3,\n"}[second.lower()]
    path = project / "two exports é.csv"
    path.write_text(H + ROW_A + second + "\n" + swapped)
    before = snapshot(project)
    result = cli(["--project", project, "ingest", "incidents", path, *skip])
    assert result.exit_code == 3, result.output
    assert (f"{path}, row 3: repeats the header with its columns in another order "
            f"('{second}'): the rows below it would be read in the first header's order, "
            "each value in another column") in " ".join(result.output.split())
    assert snapshot(project).same_as(before)


def test_row_numbers_count_lines_across_blank_lines_and_quoted_line_breaks(project, cli):
    # The quoted line break is in a column the dataset does not declare (a text cell of a
    # declared column may not hold one: see the control-character tests).
    path = project / "multiline.csv"
    path.write_text(GOOD_HEADER + ",Notes\n\n" + 'B1,2025-03-01,Dudley,1,,"two\nlines"\n'
                    + "\n" + "B2,2025-03-01,x,y,,\n")
    result = cli(["--project", project, "ingest", "incidents", path])
    assert first_error(result.stderr) == (
        f"Error: {path}, row 6, column 'Victims': expected a whole number, found 'y'")


def test_many_bad_rows_list_the_first_ones(project, cli):
    path = project / "many.csv"
    path.write_text(H + "".join(f"B{i},2025-03-01,Dudley,{-i if i % 2 else i},\n"
                                for i in range(1, 16)))
    result = cli(["--project", project, "ingest", "incidents", path])
    assert result.exit_code == 3
    assert first_error(result.stderr) == (
        f"Error: {path}, row 2, column 'Victims': expected a value of at least 0, found '-1' "
        "(8 bad rows in all; first at rows 2, 4, 6, 8, 10)")


# ---------------------------------------------------------------------------------------------
# Bad configuration and bad command-line values


def test_toml_syntax_error_names_file_and_line(project, cli):
    toml = project / "kpi.toml"
    toml.write_text(toml.read_text().replace('name = "Hostile inputs"', 'name = "Hostile'))
    result = cli(["--project", project, "summary", "--period", "2025-02"])
    assert result.exit_code == 3
    assert first_error(result.stderr) == (
        f"Error: {toml}: TOML syntax error: Illegal character '\\n' (at line 6, column 16)")
    assert "Traceback" not in result.output


def test_catalogue_referencing_unknown_dataset_names_file_and_line(project, cli):
    toml = project / "kpi.toml"
    text = toml.read_text()
    toml.write_text(text.replace('kind = "count"\ndataset = "incidents"',
                                 'kind = "count"\ndataset = "incidentz"'))
    line = toml.read_text().splitlines().index('dataset = "incidentz"') + 1
    result = cli(["--project", project, "summary", "--period", "2025-02"])
    assert result.exit_code == 3
    assert first_error(result.stderr) == (
        f"Error: {toml}:{line}: KPI 'incidents', key 'dataset': 'incidentz' is not a declared "
        "dataset")


def test_catalogue_referencing_unknown_column_names_file_and_line(project, cli):
    toml = project / "kpi.toml"
    toml.write_text(toml.read_text().replace('value = "victims"', 'value = "victimz"'))
    line = toml.read_text().splitlines().index('value = "victimz"') + 1
    result = cli(["--project", project, "summary", "--period", "2025-02"])
    assert result.exit_code == 3
    assert first_error(result.stderr) == (
        f"Error: {toml}:{line}: KPI 'victims', key 'value': refers to 'victimz', which is not "
        "a column of dataset 'incidents'")


@pytest.mark.parametrize("period", ["2025-13", "Sept 2025", "2025-9", "2025-00"])
def test_bad_period_is_a_usage_error(project, cli, period):
    result = cli(["--project", project, "summary", "--period", period])
    assert result.exit_code == 2
    assert first_error(result.stderr) == (
        f"Error: invalid period '{period}': expected a calendar month as YYYY-MM")
    assert "Traceback" not in result.output


def test_unknown_dataset_on_the_command_line(project, cli):
    before = snapshot(project)
    result = cli(["--project", project, "ingest", "crimes", project / "good.csv"])
    assert result.exit_code == 3
    assert first_error(result.stderr) == (
        "Error: unknown dataset 'crimes' (declared: incidents, strict)")
    assert snapshot(project).same_as(before)


def test_missing_file_is_a_data_error(project, cli):
    missing = Path(project / "nope.csv")
    result = cli(["--project", project, "ingest", "incidents", missing])
    assert result.exit_code == 3
    assert first_error(result.stderr) == f"Error: {missing}: no such file"
