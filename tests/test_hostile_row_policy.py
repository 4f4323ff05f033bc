"""Issue 5, point 2: a file with bad rows is rejected whole by default; --skip-bad-rows loads
the good rows, writes the bad ones with their reasons to a quarantine file, and reports both
counts."""

from __future__ import annotations

import csv
import json
import shutil

import polars as pl
import pytest
from hostile_support import GOOD_HEADER, first_error, make_project, snapshot
from typer.testing import CliRunner

from kpi.cli import app

MIXED = (
    GOOD_HEADER + "\n"
    "C1,2025-03-01,Dudley,1,18-24\n"         # row 2: good
    "C2,2025-03-02,Walsall,-4,over 65\n"     # row 3: negative count
    "C3,2025-03-03,Coventry,2,\n"            # row 4: good
    "C4,2025-02-30,Solihull,1,10-17\n"       # row 5: not a calendar date
    "C5,2025-04-01,Dudley,3,Oct-17\n"        # row 6: spreadsheet damage
    "C6,2025-04-02,=HYPERLINK(\"x\"),oops,\n"  # row 7: wrong type, formula-like text
    "C7,2025-04-03,Birmingham,0,under 10\n"  # row 8: good
)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    folder = make_project(tmp_path_factory.mktemp("row-policy") / "project")
    assert CliRunner().invoke(app, ["--project", str(folder), "ingest", "incidents",
                                    str(folder / "good.csv")]).exit_code == 0
    (folder / "mixed.csv").write_text(MIXED)
    return folder


@pytest.fixture
def project(loaded, tmp_path):
    """good.csv loaded into incidents, and mixed.csv beside it: loaded once for the module,
    and copied for each test, which may load into it."""
    return shutil.copytree(loaded, tmp_path / "project", symlinks=True)


def test_default_rejects_the_whole_file_listing_the_first_bad_rows(project, cli):
    before = snapshot(project)
    path = project / "mixed.csv"
    result = cli(["--project", project, "ingest", "incidents", path])
    assert result.exit_code == 3
    assert first_error(result.stderr) == (
        f"Error: {path}, row 3, column 'Victims': expected a value of at least 0, found '-4' "
        "(4 bad rows in all; first at rows 3, 5, 6, 7)")
    assert result.stderr.splitlines()[1] == (
        "Hint: fix the rows named, or load the rest with --skip-bad-rows")
    assert snapshot(project).same_as(before)
    assert not (project / "data" / "quarantine").exists()


def test_skip_bad_rows_loads_the_good_quarantines_the_bad_and_reports_both(project, cli):
    before = snapshot(project)
    path, quarantine = project / "mixed.csv", project / "rejected.csv"
    result = cli(["--project", project, "ingest", "incidents", path, "--skip-bad-rows",
                  "--quarantine", quarantine])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert ("Loaded 3 rows into 'incidents' (2 month(s), 2025-03..2025-04); version "
            f"{before.version + 1}") in lines
    assert f"Rejected 4 bad rows; written to {quarantine}" in lines

    after = snapshot(project)
    assert after.version == before.version + 1
    loaded = after.rows.filter(pl.col("month").is_in(["2025-03", "2025-04"])).sort("ref")
    assert loaded.select("ref", "lpa", "victims").rows() == [
        ("C1", "Dudley", 1), ("C3", "Coventry", 2), ("C7", "Birmingham", 0)]
    untouched = after.rows.filter(pl.col("month").is_in(["2025-01", "2025-02"]))
    assert untouched.equals(before.rows)

    with open(quarantine, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["file", "row", "column", "reason", "Incident Ref", "Date", "LPA", "Victims",
         "Age range"],
        [str(path), "3", "Victims", "expected a value of at least 0, found '-4'",
         "C2", "2025-03-02", "Walsall", "-4", "over 65"],
        [str(path), "5", "Date", "expected a date such as 2025-09-30 or 30/09/2025, found "
         "'2025-02-30', which is not a calendar date", "C4", "2025-02-30", "Solihull", "1",
         "10-17"],
        [str(path), "6", "Age range", r"expected text matching 'under 10|\d{1,2}-\d{1,2}|over "
         r"\d{2}', found 'Oct-17' (a month name: spreadsheet software may have converted the "
         "value)", "C5", "2025-04-01", "Dudley", "3", "Oct-17"],
        # The formula-like value is neutralised for spreadsheets; the plain number is not.
        [str(path), "7", "Victims", "expected a whole number, found 'oops'", "C6",
         "2025-04-02", "'=HYPERLINK(\"x\")", "oops", ""],
    ]


def test_provenance_records_both_counts_and_the_quarantine(project, cli):
    cli(["--project", project, "ingest", "incidents", project / "mixed.csv",
         "--skip-bad-rows"])
    result = cli(["--project", project, "history", "incidents", "--format", "json"])
    last = json.loads(result.stdout)[-1]
    assert (last["rows"], last["rejected"]) == (3, 4)
    assert [(s["file"], s["rows"], s["rejected"]) for s in last["sources"]] == [
        ("mixed.csv", 3, 4)]
    written = sorted((project / "data" / "quarantine").glob("incidents-*-rejected.csv"))
    assert len(written) == 1
    assert written[0].read_text().splitlines()[0] == (
        "file,row,column,reason,Incident Ref,Date,LPA,Victims,Age range")


def test_skip_bad_rows_with_every_row_bad_stores_nothing(project, cli):
    before = snapshot(project)
    path = project / "allbad.csv"
    path.write_text(GOOD_HEADER + "\nD1,2025-05-01,Dudley,-1,\nD2,someday,Dudley,1,\n")
    result = cli(["--project", project, "ingest", "incidents", path, "--skip-bad-rows"])
    assert result.exit_code == 3
    assert first_error(result.stderr) == (
        f"Error: {path}: all 2 data rows were rejected; first: {path}, row 2, column "
        "'Victims': expected a value of at least 0, found '-1'")
    assert snapshot(project).same_as(before)


def test_a_bad_file_among_good_ones_rejects_the_whole_load(project, cli):
    before = snapshot(project)
    good = project / "april.csv"
    good.write_text(GOOD_HEADER + "\nE1,2025-04-01,Dudley,1,\n")
    result = cli(["--project", project, "ingest", "incidents", good, project / "mixed.csv"])
    assert result.exit_code == 3
    assert snapshot(project).same_as(before)


def test_duplicate_ids_across_files_of_one_load(project, cli):
    first, second = project / "a.csv", project / "b.csv"
    first.write_text(GOOD_HEADER + "\nF1,2025-04-01,Dudley,1,\nF2,2025-04-01,Dudley,1,\n")
    second.write_text("Date,Incident Ref,LPA,Victims\n2025-05-01,F3,Dudley,1\n"
                      "2025-05-02,F2,Dudley,1\n")
    result = cli(["--project", project, "ingest", "incidents", first, second])
    assert result.exit_code == 3
    assert first_error(result.stderr) == (
        f"Error: {second}, row 3, column 'Incident Ref': expected each Incident Ref once "
        "(dataset 'incidents' declares 'ref' unique), found 'F2' again (at a.csv row 3, "
        "b.csv row 3)")


def test_duplicate_ids_reject_the_load_even_when_skipping_bad_rows(project, cli):
    before = snapshot(project)
    path = project / "dupes.csv"
    path.write_text(GOOD_HEADER + "\nG1,2025-04-01,Dudley,1,\nG1,2025-04-02,Dudley,2,\n")
    result = cli(["--project", project, "ingest", "incidents", path, "--skip-bad-rows"])
    assert result.exit_code == 3
    assert first_error(result.stderr) == (
        f"Error: {path}, row 3, column 'Incident Ref': expected each Incident Ref once "
        "(dataset 'incidents' declares 'ref' unique), found 'G1' again (at dupes.csv row 2, "
        "dupes.csv row 3)")
    assert snapshot(project).same_as(before)
