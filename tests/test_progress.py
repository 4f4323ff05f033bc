"""Progress of a long load or export (kpi.progress): what the callback is told, and the bars
the command line draws on a terminal and nowhere else.

The callback's counts are checked against what they count: an extract's bytes against its size
(and the bytes read part-way through a file larger than Arrow's read block), its rows against
the rows it holds, the rows stored against the load's, the charts against the files in the
paper's charts folder, the sections against the paper's headings. The bars are checked by
running kpi in a pseudo-terminal, and their absence with the same command piped.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kpi.ingest.survey import BLOCK

PROJECT = """\
[project]
name = "Progress force"
baseline = "2024-03"

[datasets.crimes]
date = "recorded"
[datasets.crimes.columns]
crime_ref = "str"
recorded = "date"
lpa = "str"

[[priorities]]
id = "crime"
title = "Less crime"

[[kpis]]
id = "crime"
title = "Recorded crime"
priority = "crime"
kind = "count"
dataset = "crimes"
better = "lower"
"""

LPAS = ("Birmingham", "Coventry", "Dudley", "Sandwell")


def _extract(path: Path, months: list[int], rows: int) -> int:
    """A CSV of `rows` crimes spread over `months` of 2025; returns its data rows."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("crime_ref,recorded,lpa\n")
        for i in range(rows):
            out.write(f"{path.stem}-{i:08d},{1 + i % 28:02d}/{months[i % len(months)]:02d}"
                      f"/2025,{LPAS[i % 4]}\n")
    return rows


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("progress ü")
    (folder / "kpi.toml").write_text(PROJECT, encoding="utf-8")
    # Larger than the block Arrow parses at once, so its bytes are told in several steps.
    big = folder / "big crimes.csv"
    _extract(big, [4, 5, 6], 1000)
    _extract(big, [4, 5, 6], 1000 * (BLOCK // big.stat().st_size + 2))
    _extract(folder / "small.csv", [7, 8], 500)
    return folder


def _by_task(steps):
    tasks: dict[str, list] = {}
    for step in steps:
        tasks.setdefault(step.task, []).append(step)
    return tasks


def _monotonic(steps) -> bool:
    return all(a.done <= b.done and a.rows <= b.rows for a, b in itertools.pairwise(steps))


def test_a_load_tells_each_files_bytes_and_rows_and_the_rows_stored(project, monkeypatch):
    import kpi

    monkeypatch.setenv("KPI_INGEST_BATCH_ROWS", "20000")
    files = [project / "big crimes.csv", project / "small.csv"]
    steps = []
    result = kpi.open(project).ingest("crimes", files, progress=steps.append)
    tasks = _by_task(steps)
    assert list(tasks) == [str(files[0]), str(files[1]), "store"]
    for path in files:
        told = tasks[str(path)]
        size = path.stat().st_size
        assert {(s.unit, s.total) for s in told} == {("bytes", size)}
        assert _monotonic(told)
        assert told[-1].done == size
        data_rows = sum(1 for _ in path.open(encoding="utf-8")) - 1
        assert told[-1].rows == data_rows
    # Part-way through the big file: bytes read before its end, as Arrow's reader read them.
    big = tasks[str(files[0])]
    assert any(0 < s.done < big[-1].total for s in big)
    assert sum(tasks[str(p)][-1].done for p in files) == sum(p.stat().st_size for p in files)
    stored = tasks["store"]
    assert _monotonic(stored)
    assert {(s.unit, s.total) for s in stored} == {("rows", result.rows)}
    assert stored[-1].done == result.rows == sum(s[-1].rows for t, s in tasks.items()
                                                 if t != "store")


@pytest.fixture(scope="module")
def paper_project(tmp_path_factory):
    from fixtures.paper_project import load_paper_project

    folder = tmp_path_factory.mktemp("paper")
    load_paper_project(folder)
    return folder


def test_an_export_tells_the_kpis_charts_and_sections(paper_project):
    import kpi

    folder = paper_project
    steps = []
    paper = kpi.open(folder).paper("2025-09", "markdown", folder / "out" / "board.md",
                                   full=True, progress=steps.append)
    tasks = _by_task(steps)
    assert list(tasks) == ["figures", "charts", "sections"]
    for told in tasks.values():
        assert _monotonic(told)
        assert told[-1].done == told[-1].total
    assert [s.done for s in tasks["figures"]] == [0, tasks["figures"][0].total]
    drawn = sorted(paper.charts_dir.glob("*.png"))
    assert paper.charts == len(drawn) > 0
    assert [s.done for s in tasks["charts"]] == list(range(1, len(drawn) + 1))
    headings = [line for line in paper.output.read_text(encoding="utf-8").splitlines()
                if line.startswith("## ")]
    assert [s.done for s in tasks["sections"]] == list(range(1, len(headings) + 1))


def _in_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """Run kpi with stderr on a pseudo-terminal and stdout on a pipe: (exit code, stdout,
    what the terminal showed)."""
    pty = pytest.importorskip("pty")  # not on Windows
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "kpi", *args], cwd=cwd, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=follower)
    os.close(follower)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal is closed once kpi has exited
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    out = process.stdout.read() if process.stdout else b""
    while process.poll() is None:
        time.sleep(0.05)
    return process.returncode, out.decode("utf-8"), shown.decode("utf-8", "replace")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")}
    env.update(TERM="xterm", COLUMNS="100", KPI_CACHE_DIR=str(tmp_path / "cache"),
               KPI_INGEST_BATCH_ROWS="20000")
    return env


@pytest.fixture
def copy(project, tmp_path):
    import shutil

    target = tmp_path / "project"
    shutil.copytree(project, target, ignore=shutil.ignore_patterns("data"))
    return target


def test_a_terminal_shows_the_load_bar_and_a_pipe_shows_nothing_more(copy, tmp_path):
    env = _env(tmp_path)
    code, out, shown = _in_terminal(["ingest", "crimes", "big crimes.csv"], copy, env)
    assert code == 0, shown
    assert out == ""
    assert "━" in shown and "big crimes.csv" in shown
    assert " MB of " in shown and " rows" in shown
    assert "Loaded " in shown

    # The same load again, piped as a scheduled job's would be: its one line, and nothing else.
    piped = subprocess.run([sys.executable, "-m", "kpi", "ingest", "crimes", "small.csv"],
                           cwd=copy, env=env, capture_output=True, text=True)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == ""
    assert piped.stderr.startswith("Loaded 500 rows into 'crimes'")
    assert "\x1b" not in piped.stderr and "━" not in piped.stderr


def test_quiet_draws_no_bar_on_a_terminal(copy, tmp_path):
    code, out, shown = _in_terminal(["ingest", "crimes", "small.csv", "--quiet"], copy,
                                    _env(tmp_path))
    assert code == 0, shown
    assert out == "" and shown == ""


def test_a_terminal_shows_the_charts_of_an_export(paper_project, tmp_path):
    code, out, shown = _in_terminal(["export", "markdown", "--period", "2025-09", "--output",
                                     str(tmp_path / "board.md")], paper_project,
                                    _env(tmp_path))
    assert code == 0, shown
    assert out == ""
    assert "━" in shown and " charts" in shown and " sections" in shown
    assert "Wrote " in shown
