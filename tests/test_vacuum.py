"""`kpi vacuum`: after nightly re-loads, compaction, a log checkpoint and vacuum shrink the
store, and every version an exported paper read still reproduces it with --as-of; a version
nobody kept says it can no longer be read (exit 3), never a traceback or a wrong figure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import inprocess
import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _kpi(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KPI_NO_CACHE": "1", "NO_COLOR": "1"}
    env.pop("KPI_PROJECT", None)
    return inprocess.run(args, cwd=root, env=env)


def _summary(root: Path, *args: str) -> list[dict]:
    result = _kpi(root, "summary", "--period", "2025-09", "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["kpis"]


def _data_files(table: Path) -> list[Path]:
    return [p for p in table.rglob("*.parquet") if "_delta_log" not in p.parts]


@pytest.fixture(scope="module")
def nightly_built(tmp_path_factory) -> Path:
    """The mini project after a first load, a paper exported at version 0, and two nightly
    re-loads of a revised September (one and then two crimes fewer)."""
    root = tmp_path_factory.mktemp("nightly") / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    lines = (root / "extracts" / "crimes.csv").read_text(encoding="utf-8").splitlines()
    header, september = lines[0], [line for line in lines[1:] if "/09/2025," in line]
    assert len(september) > 10
    assert _kpi(root, "ingest", "crimes").returncode == 0
    paper = _kpi(root, "export", "markdown", "--period", "2025-09", "--output", "paper/v0.md")
    assert paper.returncode == 0, paper.stderr
    for night in (1, 2):
        revised = root / "extracts" / f"september-night-{night}.csv"
        revised.write_text("\n".join([header, *september[night:]]) + "\n", encoding="utf-8")
        loaded = _kpi(root, "ingest", "crimes", str(revised))
        assert loaded.returncode == 0, loaded.stderr
    return root


@pytest.fixture
def nightly(nightly_built, tmp_path) -> Path:
    """A copy of the nightly project of its own for each test (built once: five kpi runs)."""
    return shutil.copytree(nightly_built, tmp_path / "mini", symlinks=True)


def test_vacuum_keeps_the_papers_version_and_the_latest(nightly):
    table = nightly / "data" / "crimes"
    as_of_paper = _summary(nightly, "--as-of", "0")
    latest = _summary(nightly)
    assert as_of_paper != latest  # the re-loads changed September
    files_before = _data_files(table)

    result = _kpi(nightly, "vacuum", "--keep-days", "0")
    assert result.returncode == 0, result.stderr
    assert "kept for papers: version 0" in result.stderr

    # The paper's figures and the latest figures are exactly as before.
    assert _summary(nightly, "--as-of", "0") == as_of_paper
    assert _summary(nightly) == latest
    # Version 1 (no paper read it, older than --keep-days) is gone, and says so.
    gone = _kpi(nightly, "summary", "--period", "2025-09", "--as-of", "1")
    assert gone.returncode == 3
    assert "version 1 of dataset 'crimes' can no longer be read: 'kpi vacuum' removed its " \
           "files" in gone.stderr
    assert "Traceback" not in gone.stderr
    # Fewer files; every version still listed.
    assert len(_data_files(table)) < len(files_before)
    history = json.loads(_kpi(nightly, "history", "crimes", "--format", "json").stdout)
    # Each month was one file already, so there was nothing to compact; Delta records the
    # vacuum itself as two commits.
    assert [(v["version"], v["operation"]) for v in history] == [
        (0, "ingest"), (1, "ingest"), (2, "ingest"), (3, "vacuum start"), (4, "vacuum end")]
    # The log has a checkpoint.
    assert list((table / "_delta_log").glob("*.checkpoint.parquet"))


def test_recent_versions_are_kept_and_a_dry_run_changes_nothing(nightly):
    table = nightly / "data" / "crimes"
    before = sorted(_data_files(table))
    dry = _kpi(nightly, "vacuum", "--dry-run", "--keep-days", "0")
    assert dry.returncode == 0 and "would delete" in dry.stderr
    assert sorted(_data_files(table)) == before
    as_of_1 = _summary(nightly, "--as-of", "1")
    assert _kpi(nightly, "vacuum").returncode == 0  # default: keep 30 days
    assert _summary(nightly, "--as-of", "1") == as_of_1


def test_a_repeat_of_the_latest_load_after_a_vacuum_writes_nothing(nightly):
    assert _kpi(nightly, "vacuum", "--keep-days", "0").returncode == 0
    again = _kpi(nightly, "ingest", "crimes",
                 str(nightly / "extracts" / "september-night-2.csv"))
    assert again.returncode == 0, again.stderr
    assert "Nothing changed" in again.stderr


def test_a_nightly_vacuum_keeps_one_checkpoint_and_every_version_readable(nightly):
    """A job that vacuums after each load leaves one checkpoint, not one a night, and still
    reads the paper's version (replaying the log) and lists every load."""
    table = nightly / "data" / "crimes"
    as_of_paper = _summary(nightly, "--as-of", "0")
    header, *rows = (nightly / "extracts" / "september-night-2.csv").read_text(
        encoding="utf-8").splitlines()
    for night in (3, 4):
        assert _kpi(nightly, "vacuum", "--keep-days", "0").returncode == 0
        revised = nightly / "extracts" / f"september-night-{night}.csv"
        revised.write_text("\n".join([header, *rows[night - 2:]]) + "\n", encoding="utf-8")
        assert _kpi(nightly, "ingest", "crimes", str(revised)).returncode == 0
    assert _kpi(nightly, "vacuum", "--keep-days", "0").returncode == 0
    checkpoints = sorted(p.name for p in (table / "_delta_log").glob("*.checkpoint*.parquet"))
    last = json.loads((table / "_delta_log" / "_last_checkpoint").read_text())["version"]
    assert checkpoints == [f"{last:020d}.checkpoint.parquet"]
    assert _summary(nightly, "--as-of", "0") == as_of_paper
    history = json.loads(_kpi(nightly, "history", "crimes", "--format", "json").stdout)
    assert [v["version"] for v in history] == list(range(len(history)))
    assert len(history) > last
    assert [v["version"] for v in history if v["operation"] == "ingest"] == [0, 1, 2, 5, 8]


def test_a_vacuum_counts_the_files_it_deletes_not_those_gone_before(nightly):
    """Delta lists every file its log marks removed past the retention, those an earlier
    vacuum deleted too (kpi keeps the whole log): "would delete 24 of 24" was said of 12
    files to delete, and a second vacuum "deleted" files long gone. Each count is of the data
    files on disk, counted before and after."""
    import re

    table = nightly / "data" / "crimes"
    dry = _kpi(nightly, "vacuum", "--dry-run", "--keep-days", "0")
    before = len(_data_files(table))
    said = re.search(r"would delete (\d+) of (\d+) data files", dry.stderr)
    assert said is not None, dry.stderr
    done = _kpi(nightly, "vacuum", "--keep-days", "0")
    assert done.returncode == 0, done.stderr
    deleted = re.search(r"deleted (\d+);", done.stderr)
    assert deleted is not None, done.stderr
    after = len(_data_files(table))
    # the compaction writes files the vacuum keeps: deleted ones are those gone from before
    assert int(said.group(2)) == before
    assert int(deleted.group(1)) >= int(said.group(1)) > 0
    again = _kpi(nightly, "vacuum", "--dry-run", "--keep-days", "0")
    assert f"would delete 0 of {after} data files" in again.stderr, again.stderr
    assert len(_data_files(table)) == after


def test_keep_days_are_rounded_up_to_whole_hours():
    """Delta keeps whole hours: `int(keep_days * 24)` rounded down, so 0.02 days (28.8
    minutes) kept 0 hours and 1.99 days (47.76 hours) kept 47. Never fewer than asked."""
    from kpi.maintenance import retention_hours

    assert [retention_hours(d) for d in (0, 0.02, 1 / 24, 1, 1.99, 30)] == [0, 1, 1, 24, 48, 720]


def test_a_version_made_within_keep_days_of_a_fraction_stays_readable(nightly):
    """`kpi vacuum --keep-days 0.02` (29 minutes) deleted the files of versions made a minute
    before, as 0 hours were kept, and `--as-of 1` was then refused (exit 3). Every version
    here is minutes old: none of its files goes, and version 1 reads as it did."""
    table = nightly / "data" / "crimes"
    before = sorted(_data_files(table))
    as_of_1 = _summary(nightly, "--as-of", "1")
    done = _kpi(nightly, "vacuum", "--keep-days", "0.02")
    assert done.returncode == 0, done.stderr
    assert "deleted 0;" in done.stderr
    assert set(before) <= set(_data_files(table))
    assert _summary(nightly, "--as-of", "1") == as_of_1
