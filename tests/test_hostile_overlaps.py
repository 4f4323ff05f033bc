"""Issue 9, points 1, 2 and 8: a load can no longer count a month twice or wipe one by
accident, and its rejected rows are never overwritten.

- The same file named twice (same sha256) is read once, with a warning.
- Two different files holding rows of one month (or one month and replace_by value) are
  refused, naming both files and the months, unless --parts says they are parts of one extract.
- A load leaving a stored month with fewer than half its rows is refused, naming the month and
  both counts, unless --allow-shrink; every load reports rows before -> after per replaced
  month, and records them in its provenance (kpi history).
- Two --skip-bad-rows loads in the same second write two quarantine files, each named in its
  own version's history.

Each case runs the command line as `python -m kpi` would (tests/inprocess.py, in the test's
process), checks its exit code and message, and that a refused load left the stored table
exactly as it was (version and every row).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import inprocess
import polars as pl
import pytest
from hostile_support import GOOD_HEADER, make_project, snapshot

from kpi import ingest
from kpi.catalogue import parse_project_file


def _kpi(folder: Path, *args: str | Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "KPI_PROJECT": str(folder), "NO_COLOR": "1"}
    return inprocess.run(args, cwd=folder, env=env)


def _extract(folder: Path, name: str, rows: list[str]) -> Path:
    path = folder / name
    path.write_text(GOOD_HEADER + "\n" + "".join(r + "\n" for r in rows))
    return path


def _month(month: str, count: int, prefix: str) -> list[str]:
    return [f"{prefix}{month}-{day},{month}-{day:02d},Dudley,1," for day in range(1, count + 1)]


def _stored_per_month(folder: Path) -> dict[str, int]:
    rows = snapshot(folder).rows
    return dict(rows.group_by("month").len().sort("month").iter_rows())


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    folder = make_project(tmp_path_factory.mktemp("overlaps") / "project")
    first = _extract(folder, "first.csv", _month("2025-09", 20, "S") + _month("2025-10", 25, "O"))
    ingest.load(parse_project_file(folder / "kpi.toml"), "incidents", [str(first)])
    assert _stored_per_month(folder) == {"2025-09": 20, "2025-10": 25}
    return folder


@pytest.fixture
def project(loaded, tmp_path):
    """September (20 rows) and October (25 rows) stored, version 0: loaded once, and copied
    for each test."""
    return shutil.copytree(loaded, tmp_path / "project", symlinks=True)


# --- point 1: two extracts of one month --------------------------------------------------


def test_two_extracts_of_one_month_are_refused_naming_both_and_the_months(project):
    a = _extract(project, "a.csv", _month("2025-10", 25, "A"))
    b = _extract(project, "b.csv", _month("2025-10", 27, "B") + _month("2025-11", 3, "B"))
    before = snapshot(project)
    result = _kpi(project, "ingest", "incidents", a, b)
    assert result.returncode == 3
    assert result.stderr.splitlines()[0] == (
        f"Error: {a} and {b} both hold rows for 2025-10: loaded together, they would be "
        "counted twice")
    assert "--parts" in result.stderr.splitlines()[1]
    assert "Traceback" not in result.stderr
    assert snapshot(project).same_as(before)


def test_a_glob_matching_an_original_and_its_revision_is_refused(project):
    _extract(project, "oct-original.csv", _month("2025-10", 25, "A") + _month("2025-11", 4, "A"))
    _extract(project, "oct-revised.csv", _month("2025-10", 26, "R") + _month("2025-11", 5, "R"))
    before = snapshot(project)
    result = _kpi(project, "ingest", "incidents", project / "oct-*.csv")
    assert result.returncode == 3
    assert result.stderr.splitlines()[0].endswith(
        "oct-revised.csv both hold rows for 2025-10, 2025-11: loaded together, they would be "
        "counted twice")
    assert snapshot(project).same_as(before)


def test_three_files_for_one_month_name_the_third_too(project):
    paths = [_extract(project, f"{n}.csv", _month("2025-10", 5, n.upper())) for n in "abc"]
    result = _kpi(project, "ingest", "incidents", *paths)
    assert result.returncode == 3
    assert result.stderr.splitlines()[0] == (
        f"Error: {paths[0]} and {paths[1]} both hold rows for 2025-10: loaded together, they "
        f"would be counted twice; {paths[2]} also overlap")


def test_the_same_file_named_twice_loads_once_with_a_warning(project):
    path = _extract(project, "oct.csv", _month("2025-10", 26, "R"))
    result = _kpi(project, "ingest", "incidents", path, path)
    assert result.returncode == 0, result.stderr
    assert f"Warning: {path}: the same file as {path}" in result.stderr
    assert _stored_per_month(project) == {"2025-09": 20, "2025-10": 26}
    history = json.loads(_kpi(project, "history", "incidents", "--format", "json").stdout)
    assert [s["file"] for s in history[-1]["sources"]] == ["oct.csv"]


def test_the_same_file_through_two_paths_and_a_link_loads_once(project):
    path = _extract(project, "oct.csv", _month("2025-10", 26, "R"))
    (project / "sub").mkdir()
    (project / "sub" / "link.csv").symlink_to(path)
    copy = project / "copy.csv"
    copy.write_bytes(path.read_bytes())
    result = _kpi(project, "ingest", "incidents", path, project / "sub" / ".." / "oct.csv",
                  project / "sub" / "link.csv", copy)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("Warning:") == 3
    assert _stored_per_month(project) == {"2025-09": 20, "2025-10": 26}


def test_parts_of_one_extract_are_combined(project):
    north = _extract(project, "north.csv", _month("2025-10", 12, "N"))
    south = _extract(project, "south.csv", _month("2025-10", 14, "X") + _month("2025-11", 2, "X"))
    result = _kpi(project, "ingest", "incidents", north, south, "--parts")
    assert result.returncode == 0, result.stderr
    assert _stored_per_month(project) == {"2025-09": 20, "2025-10": 26, "2025-11": 2}
    history = json.loads(_kpi(project, "history", "incidents", "--format", "json").stdout)
    assert history[-1]["replaced"] == [{"key": "2025-10", "before": 25, "after": 26}]


def test_parts_with_a_file_named_twice_still_read_it_once(project):
    north = _extract(project, "north.csv", _month("2025-10", 12, "N"))
    south = _extract(project, "south.csv", _month("2025-10", 14, "X"))
    result = _kpi(project, "ingest", "incidents", north, south, north, "--parts")
    assert result.returncode == 0, result.stderr
    assert _stored_per_month(project)["2025-10"] == 26


def test_parts_holding_one_id_twice_are_still_refused(project):
    # --parts combines files; it does not make a duplicate id acceptable.
    a = _extract(project, "a.csv", ["D1,2025-10-01,Dudley,1,"])
    b = _extract(project, "b.csv", ["D1,2025-10-02,Dudley,1,"])
    before = snapshot(project)
    result = _kpi(project, "ingest", "incidents", a, b, "--parts")
    assert result.returncode == 3
    assert "expected each Incident Ref once" in result.stderr.splitlines()[0]
    assert snapshot(project).same_as(before)


def test_files_for_different_months_load_together_without_parts(project):
    oct_ = _extract(project, "oct.csv", _month("2025-10", 25, "A"))
    nov = _extract(project, "nov.csv", _month("2025-11", 30, "B"))
    result = _kpi(project, "ingest", "incidents", oct_, nov)
    assert result.returncode == 0, result.stderr
    assert _stored_per_month(project) == {"2025-09": 20, "2025-10": 25, "2025-11": 30}


REPLACE_BY_TOML = """
[project]
name = "Forces"
baseline = "2025-01"

[datasets.street]
date = "month"
replace_by = ["force"]

[datasets.street.columns]
month = { type = "month", from = ["Month"] }
force = { type = "str", from = ["Falls within"] }
crime = { type = "str", from = ["Crime type"] }

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "crimes"
title = "Crimes"
priority = "p"
kind = "count"
dataset = "street"
better = "lower"
"""


def _street(folder: Path, name: str, rows: list[tuple[str, str, int]]) -> Path:
    path = folder / name
    lines = ["Month,Falls within,Crime type"]
    for month, force, count in rows:
        lines += [f"{month},{force},Burglary"] * count
    path.write_text("\n".join(lines) + "\n")
    return path


def test_replace_by_pairs_overlap_only_for_the_same_force(tmp_path):
    folder = tmp_path / "forces"
    folder.mkdir()
    (folder / "kpi.toml").write_text(REPLACE_BY_TOML)
    kent = _street(folder, "kent.csv", [("2025-10", "Kent", 5)])
    essex = _street(folder, "essex.csv", [("2025-10", "Essex", 7)])
    # Two forces' files for one month: different pairs, no overlap.
    assert _kpi(folder, "ingest", "street", kent, essex).returncode == 0
    kent_again = _street(folder, "kent-revised.csv", [("2025-10", "Kent", 6)])
    result = _kpi(folder, "ingest", "street", kent, kent_again)
    assert result.returncode == 3
    assert result.stderr.splitlines()[0] == (
        f"Error: {kent} and {kent_again} both hold rows for 2025-10 (force 'Kent'): loaded "
        "together, they would be counted twice")
    # A stray Kent row shrinks Kent's month, whatever Essex holds.
    stray = _street(folder, "stray.csv", [("2025-10", "Kent", 1), ("2025-10", "Essex", 7)])
    result = _kpi(folder, "ingest", "street", stray)
    assert result.returncode == 3
    assert result.stderr.splitlines()[0] == (
        f"Error: {stray}: would replace 2025-10 (force 'Kent') (5 rows stored) with 1 row, "
        "fewer than half")


# --- point 2: one stray row wipes a month ------------------------------------------------


def test_a_stray_row_would_wipe_a_month_and_is_refused(project):
    late = _extract(project, "oct.csv", _month("2025-10", 27, "R") + ["L1,2025-09-30,Dudley,1,"])
    before = snapshot(project)
    result = _kpi(project, "ingest", "incidents", late)
    assert result.returncode == 3
    assert result.stderr.splitlines()[0] == (
        f"Error: {late}: would replace 2025-09 (20 rows stored) with 1 row, fewer than half")
    assert "--allow-shrink" in result.stderr.splitlines()[1]
    assert snapshot(project).same_as(before)


def test_allow_shrink_replaces_the_month_and_reports_it(project):
    late = _extract(project, "oct.csv", _month("2025-10", 27, "R") + ["L1,2025-09-30,Dudley,1,"])
    result = _kpi(project, "ingest", "incidents", late, "--allow-shrink")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[1:] == [
        "  replaced 2025-09: 20 -> 1 rows", "  replaced 2025-10: 25 -> 27 rows"]
    assert _stored_per_month(project) == {"2025-09": 1, "2025-10": 27}


def test_every_load_reports_rows_before_and_after_and_records_them(project):
    revised = _extract(project, "revised.csv",
                       _month("2025-10", 13, "R") + _month("2025-11", 30, "N"))
    result = _kpi(project, "ingest", "incidents", revised)
    assert result.returncode == 0, result.stderr
    # 13 of 25 is more than half: allowed. November is new, so not "replaced".
    assert result.stderr.splitlines() == [
        "Loaded 43 rows into 'incidents' (2 month(s), 2025-10..2025-11); version 1",
        "  replaced 2025-10: 25 -> 13 rows"]
    history = json.loads(_kpi(project, "history", "incidents", "--format", "json").stdout)
    assert [v["replaced"] for v in history] == [[], [{"key": "2025-10", "before": 25,
                                                      "after": 13}]]
    table = _kpi(project, "history", "incidents").stdout
    assert "2025-10 25->13" in table


def test_exactly_half_is_allowed_and_one_fewer_is_not(project):
    half = _extract(project, "half.csv", _month("2025-09", 10, "H"))
    assert _kpi(project, "ingest", "incidents", half).returncode == 0
    fewer = _extract(project, "fewer.csv", _month("2025-09", 4, "F"))
    result = _kpi(project, "ingest", "incidents", fewer)
    assert result.returncode == 3
    assert "would replace 2025-09 (10 rows stored) with 4 rows" in result.stderr


def test_skip_bad_rows_cannot_shrink_a_month_unnoticed(project):
    # 20 rows, 15 of them bad: skipping them would leave 5 of September's 20.
    rows = _month("2025-09", 5, "G") + [f"X{i},2025-09-{i:02d},Dudley,many," for i in range(1, 16)]
    path = _extract(project, "mostly-bad.csv", rows)
    before = snapshot(project)
    result = _kpi(project, "ingest", "incidents", path, "--skip-bad-rows")
    assert result.returncode == 3
    assert "would replace 2025-09 (20 rows stored) with 5 rows" in result.stderr
    assert snapshot(project).same_as(before)
    # Nor is a quarantine file left behind for a load that did not happen.
    assert not list((project / "data").glob("quarantine/*"))


def test_skip_bad_rows_cannot_leave_a_month_all_of_whose_rows_are_bad(project):
    """A revision of September and October whose every October row is bad: the rejected
    rows were not counted as October's, so October was not one the load replaced and its 25
    stored rows stayed beside the revised September, exit 0. By hand: nothing is loaded, and
    the store is as it was, with no quarantine file; with --allow-shrink too."""
    rows = _month("2025-09", 20, "S") + [f"B{i},2025-10-{i:02d},Dudley,many,"
                                          for i in range(1, 26)]
    path = _extract(project, "revision.csv", rows)
    before = snapshot(project)
    for extra in ((), ("--allow-shrink",)):
        result = _kpi(project, "ingest", "incidents", path, "--skip-bad-rows", *extra)
        assert result.returncode == 3, result.stderr
        assert ("revision.csv: every row dated 2025-10 was rejected (25 bad rows), so the 25 "
                "rows stored for it would stay as they were") in " ".join(result.stderr.split())
        assert snapshot(project).same_as(before)
        assert not list((project / "data").glob("quarantine/*"))
    # A month the store does not hold is only missing: the good months load.
    rows = _month("2025-09", 20, "S") + [f"N{i},2025-11-{i:02d},Dudley,many,"
                                          for i in range(1, 4)]
    result = _kpi(project, "ingest", "incidents", _extract(project, "nov.csv", rows),
                  "--skip-bad-rows")
    assert result.returncode == 0, result.stderr
    assert _stored_per_month(project) == {"2025-09": 20, "2025-10": 25}


# --- point 8: quarantine files never overwrite each other --------------------------------


def test_two_skip_bad_rows_loads_in_one_second_keep_both_quarantine_files(project):
    first = _extract(project, "nov.csv", _month("2025-11", 3, "N") + ["N9,2025-11-09,Dudley,x,"])
    second = _extract(project, "dec.csv", _month("2025-12", 3, "D") + ["D9,2025-12-09,Dudley,y,"])
    one = _kpi(project, "ingest", "incidents", first, "--skip-bad-rows")
    two = _kpi(project, "ingest", "incidents", second, "--skip-bad-rows")
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    written = sorted((project / "data" / "quarantine").iterdir())
    assert [p.name.split("-")[:2] for p in written] == [["incidents", "v1"],
                                                         ["incidents", "v2"]]
    assert [_quarantined_ids(p) for p in written] == [["N9"], ["D9"]]
    history = json.loads(_kpi(project, "history", "incidents", "--format", "json").stdout)
    assert [v["quarantine"] for v in history] == [
        None, f"data/quarantine/{written[0].name}", f"data/quarantine/{written[1].name}"]
    assert f"written to {project / 'data' / 'quarantine' / written[1].name}" in two.stderr


def _quarantined_ids(path: Path) -> list[str]:
    with path.open(newline="") as handle:
        return [row["Incident Ref"] for row in csv.DictReader(handle)]


def test_loads_in_the_same_second_write_different_quarantine_files(project, monkeypatch):
    """The clock frozen at one second: names still differ, by the version each load made."""
    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2025, 11, 26, 2, 0, 0, tzinfo=UTC)

    monkeypatch.setattr(ingest.commit, "datetime", Frozen)
    loaded = parse_project_file(project / "kpi.toml")
    results = []
    for month, prefix in (("2025-11", "N"), ("2025-12", "D")):
        path = _extract(project, f"{prefix}.csv",
                        _month(month, 3, prefix) + [f"{prefix}9,{month}-09,Dudley,bad,"])
        results.append(ingest.load(loaded, "incidents", [str(path)], skip_bad_rows=True))
    assert results[0].quarantine != results[1].quarantine
    assert [_quarantined_ids(r.quarantine) for r in results] == [["N9"], ["D9"]]
    assert [r.quarantine.name for r in results] == [
        "incidents-v1-20251126T020000Z-rejected.csv", "incidents-v2-20251126T020000Z-rejected.csv"]


def test_a_taken_quarantine_name_is_never_overwritten(project, monkeypatch):
    monkeypatch.setattr(ingest.commit, "_quarantine_name", lambda dataset, version: "fixed.csv")
    folder = project / "data" / "quarantine"
    folder.mkdir(parents=True)
    (folder / "fixed.csv").write_text("an earlier load's rejected rows\n")
    loaded = parse_project_file(project / "kpi.toml")
    path = _extract(project, "nov.csv", _month("2025-11", 3, "N") + ["N9,2025-11-09,Dudley,x,"])
    result = ingest.load(loaded, "incidents", [str(path)], skip_bad_rows=True)
    assert (folder / "fixed.csv").read_text() == "an earlier load's rejected rows\n"
    assert result.quarantine == folder / "fixed-2.csv"
    assert "N9" in result.quarantine.read_text()


def test_stored_rows_per_month_match_an_independent_count(project):
    """After a refused overlap and an allowed revision, the store holds exactly the rows of the
    last file loaded for each month (counted here with Polars from the files themselves)."""
    revised = _extract(project, "revised.csv", _month("2025-10", 19, "R"))
    assert _kpi(project, "ingest", "incidents", revised, project / "first.csv").returncode == 3
    assert _kpi(project, "ingest", "incidents", revised).returncode == 0
    first = pl.read_csv(project / "first.csv").filter(pl.col("Date").str.starts_with("2025-09"))
    expected = {"2025-09": first.height,
                "2025-10": pl.read_csv(revised).height}
    assert _stored_per_month(project) == expected == {"2025-09": 20, "2025-10": 19}
