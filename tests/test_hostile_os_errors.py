"""The operating system says no: one clear line, exit 4 (or 2 for a path that cannot be meant),
no traceback, nothing stored changed; and a killed export never leaves a mixed paper.

Read-only and full disks are real where this machine lets the tests mount a small tmpfs (as
root on Linux, as CI runs); the same refusals are also injected in-process, so they are tested
everywhere."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import inprocess
import pytest
from fixtures.paper_project import load_paper_project
from hostile_support import first_error, make_project, snapshot

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")
           or k == "KPI_CACHE_DIR"}
    env["KPI_NO_CACHE"] = "1"
    return env


def run(*args: object) -> subprocess.CompletedProcess:
    """`kpi ARGS` as a process would answer it, run in this one (tests/inprocess.py)."""
    return inprocess.run(args, env=_env())


def run_in_a_process(*args: object, timeout: float) -> subprocess.CompletedProcess:
    """`kpi ARGS` in a real process, for a case that could wait for ever: given up on after
    `timeout` seconds, a failure rather than a suite that never ends."""
    return subprocess.run([sys.executable, "-m", "kpi", *map(str, args)], capture_output=True,
                          text=True, env=_env(), timeout=timeout)


def one_line_error(result: subprocess.CompletedProcess, code: int) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("Hint: "), result.stderr
    return first_error(result.stderr)


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    from kpi.catalogue import load_project
    from kpi.ingest import load

    root = tmp_path_factory.mktemp("os") / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    load(load_project(root), "crimes")
    return root


# ---------------------------------------------------------------------------------------------
# Paths that name the wrong kind of thing


def test_output_naming_a_folder_is_a_usage_error(mini, tmp_path):
    for args in (("summary", "--period", "2025-09", "--format", "csv"),
                 ("export", "markdown", "--period", "2025-09")):
        result = run("--project", mini, *args, "--output", tmp_path)
        line = one_line_error(result, 2)
        assert f"--output '{tmp_path}' is a folder" in line
    assert list(tmp_path.iterdir()) == []


def test_output_into_a_folder_that_does_not_exist_creates_it(mini, tmp_path):
    csv_out = tmp_path / "new" / "deeper" / "summary.csv"
    assert run("--project", mini, "summary", "--period", "2025-09", "--format", "csv",
               "--output", csv_out).returncode == 0
    assert csv_out.read_text().startswith("id,title")
    paper = tmp_path / "also" / "new" / "board.md"
    result = run("--project", mini, "export", "markdown", "--period", "2025-09",
                 "--output", paper)
    assert result.returncode == 0, result.stderr
    assert "Positive outcome rate" in paper.read_text()


def test_output_into_a_named_pipe_writes_into_it_and_keeps_it(mini, tmp_path):
    import stat
    import threading

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_text()), daemon=True)
    reader.start()
    result = run_in_a_process("--project", mini, "summary", "--period", "2025-09", "--format",
                              "csv", "--output", pipe, timeout=120)
    reader.join(timeout=60)
    assert result.returncode == 0, result.stderr
    assert received and received[0].startswith("id,title")
    assert stat.S_ISFIFO(pipe.stat().st_mode)  # never replaced by a file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_output_to_a_full_device_is_one_line_and_exit_4(mini):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    result = run("--project", mini, "summary", "--period", "2025-09", "--format", "csv",
                 "--output", "/dev/full")
    assert one_line_error(result, 4) == "Error: /dev/full: no space left on the device"
    assert Path("/dev/full").is_char_device()


def test_output_through_a_link_writes_its_target_and_keeps_the_link(mini, tmp_path):
    target = tmp_path / "real" / "summary.csv"
    target.parent.mkdir()
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "latest.csv"
    link.symlink_to(target)
    assert run("--project", mini, "summary", "--period", "2025-09", "--format", "csv",
               "--output", link).returncode == 0
    assert link.is_symlink()
    assert target.read_text().startswith("id,title")


def test_a_file_where_the_figures_folder_goes_is_refused_and_kept(mini, tmp_path):
    (tmp_path / "board-files").write_text("mine", encoding="utf-8")
    result = run("--project", mini, "export", "markdown", "--period", "2025-09",
                 "--output", tmp_path / "board.md")
    assert "board-files is a file" in one_line_error(result, 2)
    assert (tmp_path / "board-files").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board-files"]


def test_quarantine_naming_a_folder_is_refused_and_nothing_is_stored(tmp_path):
    folder = make_project(tmp_path / "project")
    assert run("--project", folder, "ingest", "incidents", folder / "good.csv").returncode == 0
    before = snapshot(folder)
    bad = folder / "bad.csv"
    bad.write_text("Incident Ref,Date,LPA,Victims\nB1,2025-03-01,Dudley,1\n"
                   "B2,2025-03-02,Dudley,two\n", encoding="utf-8")
    target = tmp_path / "rejects"
    target.mkdir()
    result = run("--project", folder, "ingest", "incidents", bad, "--skip-bad-rows",
                 "--quarantine", target)
    assert f"--quarantine '{target}' is a folder" in one_line_error(result, 2)
    assert snapshot(folder).same_as(before)
    assert list(target.iterdir()) == []


def test_init_onto_an_existing_file_is_refused_and_leaves_it_alone(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("mine", encoding="utf-8")
    result = run("init", target)
    assert "is a file, not a folder" in one_line_error(result, 2)
    assert target.read_text() == "mine"


# ---------------------------------------------------------------------------------------------
# Refusals injected in-process: every platform


def test_an_os_refusal_anywhere_is_one_line_and_exit_4(mini, tmp_path, cli, monkeypatch):
    import kpi.outputs

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "board.md"))

    monkeypatch.setattr(kpi.outputs.os, "replace", full)
    result = cli(["--project", mini, "export", "markdown", "--period", "2025-09",
                  "--output", tmp_path / "board.md"])
    assert result.exit_code == 4
    assert result.stderr.splitlines() == [
        f"Error: {tmp_path / 'board.md'}: no space left on the device",
        "Hint: free some space and run the command again; nothing stored was changed"]
    assert [p.name for p in tmp_path.iterdir()] == []  # the staging folder is gone too


def test_a_full_disk_during_a_load_is_exit_4_and_stores_nothing(tmp_path, cli, monkeypatch):
    import deltalake
    from deltalake.exceptions import DeltaError

    folder = make_project(tmp_path / "project")
    assert cli(["--project", folder, "ingest", "incidents", folder / "good.csv"]).exit_code == 0
    before = snapshot(folder)

    def full(*args, **kwargs):
        raise DeltaError("Failed to parse parquet: External: Generic LocalFileSystem error: "
                         "Unable to copy data to file: No space left on device (os error 28)")

    # The commit of the files written (Delta reports the disk filling up in its own error).
    monkeypatch.setattr(deltalake.DeltaTable, "create_write_transaction", full)
    revised = folder / "revised.csv"
    revised.write_text("Incident Ref,Date,LPA,Victims\nR1,2025-06-05,Dudley,4\n",
                       encoding="utf-8")
    # One row where three are stored: a shrink, confirmed, so the load reaches the disk.
    result = cli(["--project", folder, "ingest", "incidents", revised, "--allow-shrink"])
    assert result.exit_code == 4, result.output
    assert result.stderr.splitlines()[0] == (
        f"Error: {folder.resolve() / 'data' / 'incidents'}: no space left on the device")
    assert snapshot(folder).same_as(before)


# ---------------------------------------------------------------------------------------------
# Real read-only and full disks (a small tmpfs)


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a 1 MiB tmpfs; skip where this process may not mount (not root, not Linux)."""
    point = tmp_path / "disk"
    point.mkdir()
    if sys.platform != "linux" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root on Linux")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(point)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def _read_only(point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)


def test_a_read_only_project_reads_but_refuses_to_write(tmpfs, tmp_path):
    project = tmpfs / "mini"
    shutil.copytree(FIXTURES / "mini", project)
    assert run("--project", project, "ingest", "crimes").returncode == 0
    before = snapshot(project, "crimes")
    _read_only(tmpfs)
    summary = run("--project", project, "summary", "--period", "2025-09", "--format", "csv")
    assert summary.returncode == 0, summary.stderr  # the answer cache just is not written
    revised = tmp_path / "revised.csv"
    lines = (FIXTURES / "mini" / "extracts" / "crimes.csv").read_text().splitlines()
    revised.write_text("\n".join(lines[:40]) + "\n", encoding="utf-8")
    line = one_line_error(run("--project", project, "ingest", "crimes", revised), 4)
    assert line.startswith(f"Error: {project}/data/") and "read-only" in line
    assert snapshot(project, "crimes").same_as(before)
    paper = one_line_error(run("--project", project, "export", "markdown", "--period",
                               "2025-09", "--output", tmpfs / "out" / "board.md"), 4)
    assert paper == f"Error: {tmpfs / 'out'}: the file system is read-only"
    init = one_line_error(run("init", tmpfs / "new"), 4)
    assert init == f"Error: {tmpfs / 'new'}: the file system is read-only"


def test_a_full_disk_during_a_load_stores_nothing(tmpfs, tmp_path):
    project = tmpfs / "mini"
    shutil.copytree(FIXTURES / "mini", project, ignore=shutil.ignore_patterns("extracts"))
    # A large extract: its data files (about 1.4 MiB) cannot fit in what is left of the 1 MiB
    # disk. (200 copies made 0.9 MiB once each row was written only once.)
    lines = (FIXTURES / "mini" / "extracts" / "crimes.csv").read_text().splitlines()
    big = tmp_path / "big.csv"
    with big.open("w", encoding="utf-8") as handle:
        handle.write(lines[0] + "\n")
        for copy in range(400):
            for number, line in enumerate(lines[1:]):
                handle.write(f"C{copy}-{number}," + line.split(",", 1)[1] + "\n")
    small = tmp_path / "small.csv"
    small.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run("--project", project, "ingest", "crimes", small).returncode == 0
    before = snapshot(project, "crimes")
    line = one_line_error(run("--project", project, "ingest", "crimes", big), 4)
    assert line == f"Error: {project / 'data' / 'crimes'}: no space left on the device"
    assert snapshot(project, "crimes").same_as(before)


def test_a_full_disk_during_an_export_keeps_the_previous_paper(tmpfs, mini):
    project = tmpfs / "mini"
    shutil.copytree(mini, project, ignore=shutil.ignore_patterns("extracts", ".cache"))
    # Fill the disk, then export over an existing paper: the old paper stays as it was.
    paper = tmpfs / "board.md"
    assert run("--project", project, "export", "markdown", "--period", "2025-09",
               "--output", paper).returncode == 0
    kept = paper.read_bytes()
    filler = tmpfs / "filler"
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass
    line = one_line_error(run("--project", project, "export", "markdown", "--period",
                              "2025-06", "--output", paper), 4)
    assert line == f"Error: {paper}: no space left on the device"
    assert paper.read_bytes() == kept
    assert not list(tmpfs.glob(".board.md.*"))


# ---------------------------------------------------------------------------------------------
# A killed export never leaves a mixed paper


def _state(out: Path) -> tuple[bytes | None, dict[str, str]]:
    """The paper at `out` and the sha256 of each file in its folder."""
    paper = out.read_bytes() if out.exists() else None
    folder = out.parent / f"{out.stem}-files"
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(folder.glob("*"))} if folder.is_dir() else {}
    return paper, files


@pytest.fixture(scope="module")
def papers(tmp_path_factory):
    """The paper project and its June and September papers, each written on its own."""
    folder = tmp_path_factory.mktemp("papers")
    load_paper_project(folder)
    states = {}
    for period in ("2025-06", "2025-09"):
        out = tmp_path_factory.mktemp(period) / "board.md"
        assert run("--project", folder, "export", "markdown", "--period", period,
                   "--output", out).returncode == 0
        states[period] = _state(out)
    assert states["2025-06"][0] != states["2025-09"][0]
    assert states["2025-06"][1] != states["2025-09"][1]
    return folder, states


def _assert_whole(out: Path, states) -> str:
    """The paper at `out` is one of the papers with exactly its own figures, or absent."""
    paper, files = _state(out)
    for period, (text, figures) in states.items():
        if paper == text:
            assert files == figures, f"{period} paper with other figures: mixed"
            return period
    assert paper is None, "a paper that is neither"
    return "none"


@pytest.mark.parametrize("failing_move", [1, 2, 3, 4])
def test_an_export_failing_between_its_moves_leaves_one_whole_paper(papers, tmp_path, cli,
                                                                    monkeypatch, failing_move):
    import kpi.outputs

    folder, states = papers
    out = tmp_path / "board.md"
    assert cli(["--project", folder, "export", "markdown", "--period", "2025-06",
                "--output", out]).exit_code == 0
    real_replace, moves = os.replace, []

    def flaky(source, target):
        moves.append(target)
        if len(moves) == failing_move:
            raise OSError(errno.EIO, "Input/output error", str(target))
        real_replace(source, target)

    monkeypatch.setattr(kpi.outputs.os, "replace", flaky)
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                  "--output", out])
    assert result.exit_code == 4
    assert _assert_whole(out, states) in ("2025-06", "none")
    monkeypatch.setattr(kpi.outputs.os, "replace", real_replace)
    assert cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                "--output", out]).exit_code == 0
    assert _assert_whole(out, states) == "2025-09"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board-files", "board.figures.json",
                                                          "board.md"]


def test_a_killed_export_leaves_the_old_paper_or_the_new_one_never_a_mix(papers, tmp_path):
    """SIGKILL a real `kpi export` over a June paper at moments spread over its run."""
    folder, states = papers
    out = tmp_path / "board.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")
           or k == "KPI_CACHE_DIR"}
    args = [sys.executable, "-m", "kpi", "--project", str(folder), "export", "markdown",
            "--output", str(out), "--period"]
    # Timed as the killed exports run: with the charts drawn once and taken from the cache.
    # Timed cold, the drawing made the span long and every kill could land after the move.
    assert subprocess.run(args + ["2025-09"], env=env, capture_output=True).returncode == 0
    started = time.monotonic()
    assert subprocess.run(args + ["2025-09"], env=env, capture_output=True).returncode == 0
    duration = time.monotonic() - started
    seen = set()
    for step in range(1, 7):
        # The June paper each kill starts from (and what a killed run left cleared), written
        # in this process: only the export killed needs a process of its own.
        assert inprocess.run(args[3:] + ["2025-06"], env=env).returncode == 0
        process = subprocess.Popen(args + ["2025-09"], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(duration * step / 7)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        seen.add(_assert_whole(out, states))
    assert "2025-06" in seen  # killed before the paper moved, at least once
    # The next export clears what a killed one left behind.
    assert subprocess.run(args + ["2025-09"], env=env, capture_output=True).returncode == 0
    assert _assert_whole(out, states) == "2025-09"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board-files", "board.figures.json",
                                                          "board.md"]


def test_the_figures_file_a_killed_export_left_half_written_is_cleared(papers, tmp_path):
    """A run killed while writing the figures file leaves its temporary file beside the paper
    (`.board.figures.json.XXXX.tmp`); the next export clears it, as it clears the paper's
    staging folder. It stayed for good (found by the kill test above, once in many runs)."""
    folder, states = papers
    out = tmp_path / "board.md"
    stale = tmp_path / ".board.figures.json.k1lled.tmp"
    stale.write_text('{"half": ', encoding="utf-8")
    other = tmp_path / ".notes.json.k1lled.tmp"  # not the paper's: kept
    other.write_text("{}", encoding="utf-8")
    assert run("--project", folder, "export", "markdown", "--output", out, "--period",
               "2025-09").returncode == 0
    assert _assert_whole(out, states) == "2025-09"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".notes.json.k1lled.tmp", "board-files", "board.figures.json", "board.md"]


def test_exports_racing_into_one_folder_end_with_one_whole_paper(papers, tmp_path):
    folder, states = papers
    out = tmp_path / "board.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")
           or k == "KPI_CACHE_DIR"}
    processes = [subprocess.Popen([sys.executable, "-m", "kpi", "--project", str(folder),
                                   "export", "markdown", "--output", str(out), "--period",
                                   period], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
                 for period in ("2025-06", "2025-09", "2025-06")]
    for process in processes:
        assert process.wait(timeout=300) == 0, process.stderr.read()
    assert _assert_whole(out, states) in ("2025-06", "2025-09")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board-files", "board.figures.json",
                                                          "board.md"]


def test_figures_the_new_paper_does_not_link_are_removed_and_other_files_kept(papers, tmp_path,
                                                                              cli):
    folder, states = papers
    out = tmp_path / "board.md"
    assert cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                "--output", out]).exit_code == 0
    files = tmp_path / "board-files"
    (files / "logo.png").write_bytes(b"mine")
    (files / "figure-99-old_chart.png").write_bytes(b"stale")
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                  "--priority", "community", "--output", out])
    assert result.exit_code == 0, result.output
    linked = {line.split("](board-files/")[1].split(")")[0]
              for line in out.read_text().splitlines() if "](board-files/" in line}
    assert {p.name for p in files.iterdir()} == linked | {"logo.png"}
    assert (files / "logo.png").read_bytes() == b"mine"
