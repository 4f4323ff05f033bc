"""Issue 9, points 6 and 10: input hygiene, and symlinks that would lead outside the project.

Each case runs the command line as `python -m kpi` would (tests/inprocess.py, in the test's
process): its exit code, its one-line message naming file, row and column, no traceback, and
for a refusal, a store left exactly as it was.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import inprocess
import polars as pl
import pytest
from hostile_support import GOOD_HEADER, make_project, snapshot

ESCAPE = "\x1b[2J\x1b[31mFAKE"


def _kpi(folder: Path, *args: str | Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "KPI_PROJECT": str(folder), "NO_COLOR": "1"}
    return inprocess.run(args, cwd=folder, env=env)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    from kpi import ingest
    from kpi.catalogue import parse_project_file

    folder = make_project(tmp_path_factory.mktemp("hygiene") / "project")
    ingest.load(parse_project_file(folder / "kpi.toml"), "incidents", [str(folder / "good.csv")])
    return folder


@pytest.fixture
def project(loaded, tmp_path):
    """The hostile project with good.csv loaded: loaded once, and copied for each test."""
    return shutil.copytree(loaded, tmp_path / "project", symlinks=True)


def _refused(folder: Path, path: Path, *options: str) -> str:
    """Load `path`, check it was refused cleanly with nothing stored; return the error line."""
    before = snapshot(folder)
    result = _kpi(folder, "ingest", "incidents", path, *options)
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(folder).same_as(before)
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: ") and lines[1].startswith("Hint: ")
    return lines[0]


def _rows(count: int, start: int = 0) -> str:
    return "".join(f"R{i},2025-03-{1 + i % 28:02d},Dudley,1,18-24\n"
                   for i in range(start, start + count))


# --- NUL bytes --------------------------------------------------------------------------------


def test_a_nul_byte_past_the_first_64_kib_is_refused_naming_its_row(project):
    path = project / "nul.csv"
    body = GOOD_HEADER + "\n" + _rows(3000) + "R3000,2025-03-02,So\x00uth,1,18-24\n"
    path.write_text(body)
    assert len(body) > 65536 * 1.4
    assert _refused(project, path) == (
        f"Error: {path}, row 3002: a NUL byte (binary data) in a CSV file")


def test_a_nul_byte_in_a_column_the_dataset_ignores_is_refused_too(project):
    path = project / "nul-notes.csv"
    path.write_text(GOOD_HEADER + ",Notes\nB1,2025-03-01,Dudley,1,,ok\n"
                    "B2,2025-03-01,Dudley,1,,n\x00\n")
    assert _refused(project, path) == (
        f"Error: {path}, row 3: a NUL byte (binary data) in a CSV file")


# --- control characters ----------------------------------------------------------------------


# U+FFFE and U+FFFF: no XML file can hold them, and the Word paper dropped them, so a part
# 'Dud\ufffeley' printed there as 'Dudley', beside the part of that name.
@pytest.mark.parametrize("value", [ESCAPE, "Dud\rley", "Dud\nley", "Dud\x9bley", "Dud\u202eley",
                                   "Dud\x07ley", "Dud\x7fley", "Dud\ufffeley", "Dud\uffffley"])
def test_control_characters_in_a_text_cell_are_refused_naming_row_and_column(project, value):
    path = project / "controls.csv"
    path.write_text(GOOD_HEADER + "\nB1,2025-03-01,Walsall,1,\n"
                    + f'B2,2025-03-02,"{value}",1,\n', encoding="utf-8")
    shown = "".join("?" if c in "\x1b\r\n\x9b\u202e\x07\x7f\ufffe\uffff" else c for c in value)
    assert _refused(project, path) == (
        f"Error: {path}, row 3, column 'LPA': expected text without control characters, "
        f"found '{shown}' (each shown as ?)")


def test_a_tab_inside_a_value_is_text(project):
    path = project / "tab.csv"
    path.write_text(GOOD_HEADER + '\nB1,2025-03-01,"North\tSouth",1,\n')
    assert _kpi(project, "ingest", "incidents", path).returncode == 0
    assert snapshot(project).rows.filter(pl.col("ref") == "B1")["lpa"].to_list() == [
        "North\tSouth"]


def test_control_characters_from_parquet_are_refused_too(project):
    path = project / "controls.parquet"
    pl.DataFrame({"Incident Ref": ["P1"], "Date": ["2025-03-01"], "LPA": [ESCAPE],
                  "Victims": [1]}).write_parquet(path)
    assert _refused(project, path) == (
        f"Error: {path}, row 1, column 'LPA': expected text without control characters, "
        "found '?[2J?[31mFAKE' (each shown as ?)")


def test_no_output_carries_control_characters_raw(project):
    """Refused rows go to the quarantine with their control characters escaped; the messages,
    the report and the history never hold a raw escape or carriage return."""
    path = project / "mixed.csv"
    path.write_text(GOOD_HEADER + ",Notes\n" + "B1,2025-03-01,Walsall,1,,fine\n"
                    + f'B2,2025-03-02,"{ESCAPE}",1,,"x\x1b]0;title\x07"\n'
                    + "B3,2025-03-03,Dudley,2,,\n", encoding="utf-8")
    outputs = [_kpi(project, "ingest", "incidents", path, "--skip-bad-rows")]
    assert outputs[0].returncode == 0, outputs[0].stderr
    quarantine = next((project / "data" / "quarantine").iterdir())
    text = quarantine.read_text(encoding="utf-8")
    assert "\\x1b[2J\\x1b[31mFAKE" in text and "x\\x1b]0;title\\x07" in text
    for command in (["summary", "--period", "2025-03"], ["summary", "--period", "2025-03",
                    "--format", "csv"], ["summary", "--period", "2025-03", "--format", "markdown"],
                    ["show", "incidents", "--period", "2025-03"], ["history", "incidents"],
                    ["datasets"]):
        outputs.append(_kpi(project, *command))
    for result in outputs:
        for stream in (result.stdout, result.stderr):
            assert not any(c in stream for c in "\x1b\x07\r\x9b\x00"), (result.args, stream)
    stored = snapshot(project).rows
    assert sorted(stored.filter(pl.col("month") == "2025-03")["ref"]) == ["B1", "B3"]


def test_a_control_character_in_an_ignored_column_or_header_is_not_echoed(project):
    path = project / "header.csv"
    path.write_text(GOOD_HEADER + f",{ESCAPE}\nB1,2025-03-01,Dudley,1,,{ESCAPE}\n",
                    encoding="utf-8")
    result = _kpi(project, "ingest", "incidents", path)
    assert result.returncode == 0, result.stderr
    assert "ignored 1 column(s) not in dataset 'incidents': ?[2J?[31mFAKE" in result.stderr
    assert "\x1b" not in result.stderr


# --- encodings -------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_a_byte_order_mark_load(project, codec):
    path = project / "wide.csv"
    text = GOOD_HEADER + "\nB1,2025-03-01,Sandwell £,1,\nB2,2025-03-02,Dudley,2,18-24\n"
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}.get(codec, b"")
    path.write_bytes(bom + text.encode(codec))
    result = _kpi(project, "ingest", "incidents", path)
    assert result.returncode == 0, result.stderr
    assert f"Warning: {path}: read as {codec[:6].upper()} (from its byte-order mark)" in (
        result.stderr)
    stored = snapshot(project).rows.filter(pl.col("month") == "2025-03").sort("ref")
    assert stored.select("ref", "lpa", "victims").rows() == [("B1", "Sandwell £", 1),
                                                             ("B2", "Dudley", 2)]


def test_utf16_without_a_byte_order_mark_is_named(project):
    path = project / "wide.csv"
    path.write_bytes((GOOD_HEADER + "\nB1,2025-03-01,Dudley,1,\n").encode("utf-16-le"))
    assert _refused(project, path) == f"Error: {path}: UTF-16 text without a byte-order mark"


# --- blank, reserved and oversized columns ---------------------------------------------------


def test_a_required_number_column_blank_on_every_row_is_refused(project):
    path = project / "blank.csv"
    path.write_text(GOOD_HEADER + "\nB1,2025-03-01,Dudley,,\nB2,2025-03-02,Walsall, ,\n")
    assert _refused(project, path) == (
        f"Error: {path}, column 'Victims': expected a whole number, found a blank on every one "
        "of the 2 rows")


def test_a_required_number_column_of_nulls_in_parquet_is_refused(project):
    path = project / "blank.parquet"
    pl.DataFrame({"Incident Ref": ["P1"], "Date": ["2025-03-01"], "LPA": ["Dudley"],
                  "Victims": [None]}, schema_overrides={"Victims": pl.Int64}).write_parquet(path)
    assert _refused(project, path) == (
        f"Error: {path}, column 'Victims': expected a whole number, found a blank on every one "
        "of the 1 rows")


@pytest.mark.parametrize("derived", [
    'counted = "COALESCE(victims, 0)"',
    'counted = "CASE WHEN victims IS NULL THEN 0 ELSE victims END"',
    # one derived column of another
    'known = "COALESCE(victims, 0)"\ncounted = "known"',
])
def test_a_number_column_a_kpi_reads_through_a_derived_column_is_refused_blank(project,
                                                                               derived):
    """The KPIs' columns the load's checks read are the stored ones, a derived column followed
    to the columns it is derived from (`columns_read_by_kpis`): a sum of victims written
    through `COALESCE(victims, 0)` loaded a file blank in Victims on every row, its months
    summed as 0, where the same sum written on `victims` refused it."""
    toml = project / "kpi.toml"
    text = toml.read_text().replace('value = "victims"', 'value = "counted"')
    toml.write_text(text + f"\n[datasets.incidents.derived]\n{derived}\n")
    path = project / "blank.csv"
    path.write_text(GOOD_HEADER + "\nB1,2025-03-01,Dudley,,\nB2,2025-03-02,Walsall, ,\n")
    assert _refused(project, path) == (
        f"Error: {path}, column 'Victims': expected a whole number, found a blank on every one "
        "of the 2 rows")


def test_a_number_column_no_kpi_reads_may_be_blank_throughout(project):
    # As police.uk coordinates are, in every file of a force that publishes none.
    toml = project / "kpi.toml"
    text = toml.read_text()
    toml.write_text(text[:text.index('[[kpis]]\nid = "victims"')])
    path = project / "blank.csv"
    path.write_text(GOOD_HEADER + "\nB1,2025-03-01,Dudley,,\nB2,2025-03-02,Walsall, ,\n")
    result = _kpi(project, "ingest", "incidents", path)
    assert result.returncode == 0, result.stderr


def test_some_blank_numbers_still_load(project):
    path = project / "some.csv"
    path.write_text(GOOD_HEADER + "\nB1,2025-03-01,Dudley,,\nB2,2025-03-02,Walsall,2,\n")
    assert _kpi(project, "ingest", "incidents", path).returncode == 0


@pytest.mark.parametrize("kind", ["csv", "parquet", "xlsx"])
def test_a_column_named_like_an_internal_one_is_ignored_not_a_crash(project, kind):
    frame = pl.DataFrame({"__row": ["x"], "Incident Ref": ["B1"], "Date": ["2025-03-01"],
                          "LPA": ["Dudley"], "Victims": ["1"], "__file": ["y"],
                          "__raw_lpa": ["z"]})
    path = project / f"internal.{kind}"
    if kind == "xlsx":
        pytest.importorskip("xlsxwriter")
        frame.write_excel(path)
    else:
        frame.write_csv(path) if kind == "csv" else frame.write_parquet(path)
    result = _kpi(project, "ingest", "incidents", path)
    assert result.returncode == 0, result.stderr
    assert (f"Warning: {path}: ignored column(s) '__row', '__file', '__raw_lpa': names starting "
            "with '__' are reserved for kpi's own use") in result.stderr
    stored = snapshot(project).rows.filter(pl.col("month") == "2025-03")
    assert stored.select("ref", "lpa", "victims").rows() == [("B1", "Dudley", 1)]


def test_a_header_over_1_mib_is_named(project):
    path = project / "wide-header.csv"
    path.write_text(",".join(f"column {i}" for i in range(120_000)) + "\n1\n")
    assert path.stat().st_size > 1 << 20
    assert _refused(project, path) == (
        f"Error: {path}, row 1: the header is longer than 1 MiB (no line break in it)")


def test_a_huge_value_is_named_with_its_row_and_column(project):
    path = project / "huge.csv"
    with path.open("w") as handle:
        handle.write(GOOD_HEADER + "\n" + _rows(3))
        handle.write("B9,2025-03-01," + "x" * (40 << 20) + ",1,\n")
    assert _refused(project, path) == (
        f"Error: {path}, row 5, column 'LPA': a value of {40 << 20:,} bytes, too long to read "
        "(a CSV record over 4 MiB may not be)")


# --- point 10: symlinks stay inside the project -------------------------------------------


def _with_sources(folder: Path) -> None:
    toml = folder / "kpi.toml"
    toml.write_text(toml.read_text().replace(
        '[datasets.incidents]\n', '[datasets.incidents]\nsources = ["extracts/*.csv"]\n'))
    (folder / "extracts").mkdir()


def test_a_sources_glob_following_a_link_outside_the_project_is_refused(project, tmp_path):
    _with_sources(project)
    outside = tmp_path / "secret.csv"
    outside.write_text(GOOD_HEADER + "\nS1,2025-03-01,Secret,1,\n")
    (project / "extracts" / "good.csv").symlink_to(project / "good.csv")  # inside: fine
    (project / "extracts" / "passwd.csv").symlink_to("/etc/passwd")
    (project / "extracts" / "secret.csv").symlink_to(outside)
    before = snapshot(project)
    result = _kpi(project, "ingest", "incidents")
    assert result.returncode == 3
    assert result.stderr.splitlines()[0] == (
        f"Error: {project / 'kpi.toml'}: dataset 'incidents' sources match "
        f"{project / 'extracts' / 'passwd.csv'}, a link to /etc/passwd, outside the project "
        "folder")
    assert snapshot(project).same_as(before)
    (project / "extracts" / "passwd.csv").unlink()
    (project / "extracts" / "secret.csv").unlink()
    assert _kpi(project, "ingest", "incidents").returncode == 0


def test_a_folder_link_in_a_sources_glob_is_refused(project, tmp_path):
    _with_sources(project)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.csv").write_text(GOOD_HEADER + "\nS1,2025-03-01,Secret,1,\n")
    (project / "extracts").rmdir()
    (project / "extracts").symlink_to(outside)
    result = _kpi(project, "ingest", "incidents")
    assert result.returncode == 3
    assert result.stderr.splitlines()[0] == (
        f"Error: {project / 'kpi.toml'}: path 'extracts/*.csv' leaves the project folder")


def test_a_data_folder_linked_outside_the_project_is_refused(tmp_path):
    folder = make_project(tmp_path / "project")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (folder / "data").symlink_to(outside)
    result = _kpi(folder, "ingest", "incidents", folder / "good.csv")
    assert result.returncode == 3
    assert result.stderr.splitlines()[0] == (
        f"Error: {folder / 'kpi.toml'}: [project], key 'data': 'data' is a link to "
        f"{outside}, outside the project folder")
    assert list(outside.iterdir()) == []
    # A link to a folder inside the project is a folder of the project.
    (folder / "data").unlink()
    (folder / "store").mkdir()
    (folder / "data").symlink_to(folder / "store")
    assert _kpi(folder, "ingest", "incidents", folder / "good.csv").returncode == 0
    assert (folder / "store" / "incidents" / "_delta_log").is_dir()


def test_a_table_or_quarantine_folder_linked_outside_is_refused(project, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (project / "data" / "strict").symlink_to(outside)
    path = project / "strict.csv"
    path.write_text("Month,Crime type\n2025-03,Burglary\n")
    result = _kpi(project, "ingest", "strict", path)
    assert result.returncode == 3
    assert "table folder of 'strict' is a link to" in result.stderr.splitlines()[0]
    assert list(outside.iterdir()) == []
    (project / "data" / "strict").unlink()
    (project / "data" / "quarantine").symlink_to(outside)
    bad = project / "bad.csv"
    bad.write_text(GOOD_HEADER + "\nB1,2025-03-01,Dudley,1,\nB2,2025-03-01,Dudley,x,\n")
    before = snapshot(project)
    result = _kpi(project, "ingest", "incidents", bad, "--skip-bad-rows")
    assert result.returncode == 3
    assert "quarantine folder is a link to" in result.stderr.splitlines()[0]
    assert list(outside.iterdir()) == []
    assert snapshot(project).same_as(before)


@pytest.mark.parametrize("inner", ["month=2025-03", "_delta_log"])
def test_a_partition_or_log_folder_linked_outside_is_refused(project, tmp_path, inner):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    table = project / "data" / "incidents"
    if inner == "_delta_log":  # the real log moves outside, and the link points to it
        (table / inner).rename(outside / inner)
        (table / inner).symlink_to(outside / inner)
    else:
        (table / inner).symlink_to(outside)
    before = sorted(p.name for p in outside.rglob("*"))
    path = project / "march.csv"
    path.write_text(GOOD_HEADER + "\nB1,2025-03-01,Dudley,1,\n")
    result = _kpi(project, "ingest", "incidents", path)
    assert result.returncode == 3
    assert result.stderr.splitlines()[0] == (
        f"Error: {table / inner}: the folder {inner} of 'incidents' is a link to "
        f"{(outside / inner) if inner == '_delta_log' else outside}, outside the project "
        f"folder {project}")
    assert sorted(p.name for p in outside.rglob("*")) == before


def test_a_lock_file_planted_as_a_link_never_truncates_its_target(project, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    lock = project / "data" / ".incidents.lock"
    lock.unlink(missing_ok=True)
    lock.symlink_to(victim)
    path = project / "more.csv"
    path.write_text(GOOD_HEADER + "\nB1,2025-03-01,Dudley,1,\n")
    before = snapshot(project)
    result = _kpi(project, "ingest", "incidents", path)
    assert result.returncode == 3
    assert "cannot open the load lock" in result.stderr.splitlines()[0]
    assert victim.read_text() == "precious\n"
    assert snapshot(project).same_as(before)


def test_history_json_still_reads_after_the_refusals(project):
    result = _kpi(project, "history", "incidents", "--format", "json")
    assert json.load(io.StringIO(result.stdout))[0]["version"] == 0


def test_a_file_name_with_control_characters_is_never_echoed_raw(project):
    """A file name is data too: messages, warnings and every history format show its control
    characters as '?' (JSON escapes them as JSON does)."""
    bad = project / "\x1b[31mbad.csv"
    bad.write_text(GOOD_HEADER + "\nZ1,2025-03-01,Dudley,x,\n")
    evil = project / "\x1b[2Jevil.csv"
    evil.write_text(GOOD_HEADER + "\nZ2,2025-03-01,Dudley,1,\n" + GOOD_HEADER + "\n")
    refused = _kpi(project, "ingest", "incidents", bad)
    assert refused.returncode == 3
    assert refused.stderr.splitlines()[0].startswith(f"Error: {project}/?[31mbad.csv, row 2")
    outputs = [refused, _kpi(project, "ingest", "incidents", evil)]
    assert outputs[1].returncode == 0, outputs[1].stderr
    assert f"Warning: {project}/?[2Jevil.csv: skipped 1 repeated header row(s)" in (
        outputs[1].stderr)
    for format in ("table", "csv", "markdown", "json"):
        outputs.append(_kpi(project, "history", "incidents", "--format", format))
    assert "?[2Jevil.csv" in outputs[2].stdout
    assert json.loads(outputs[-1].stdout)[-1]["sources"][0]["file"] == "\x1b[2Jevil.csv"
    for result in outputs:
        assert "\x1b" not in result.stdout + result.stderr, result.args
