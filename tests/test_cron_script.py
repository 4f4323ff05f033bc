"""docs/nightly.sh runs as written, and its exit codes are what a scheduler needs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "docs" / "nightly.sh"
FIXTURES = REPO / "tests" / "fixtures"

pytestmark = pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    return root


def nightly(project: Path, out: Path, **settings: str | None) -> subprocess.CompletedProcess:
    """Run the script; a setting given as None is left unset (the script's default)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KPI_") or k == "KPI_CACHE_DIR"}
    # The `kpi` installed beside this Python comes first, as in an activated environment.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(KPI_PROJECT=str(project), KPI_DATASETS="crimes", KPI_PERIOD="2025-09",
               KPI_OUT=str(out))
    env.update({k: v for k, v in settings.items() if v is not None})
    for unset in (k for k, v in settings.items() if v is None):
        env.pop(unset)
    return subprocess.run(["sh", str(SCRIPT)], capture_output=True, text=True, env=env,
                          timeout=180)


def _more_crime(project: Path, extra: int) -> None:
    """`extra` more burglaries recorded in September 2025, so total crime rises well beyond
    chance over its baseline (the mini's own rise, 13.5%, is not significant: p = 0.14)."""
    extract = project / "extracts" / "crimes.csv"
    with extract.open("a", encoding="utf-8", newline="") as handle:
        for n in range(extra):
            handle.write(f"X{n:05d},15/09/2025,Birmingham,burglary,OC1,5\r\n")


def test_deteriorating_kpi_exits_1_and_still_writes_the_json(project, tmp_path):
    _more_crime(project, 120)
    done = nightly(project, tmp_path / "out")
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines()[-1] == "1 KPI(s) with status deteriorating: total_crime"
    summary = json.loads((tmp_path / "out" / "summary-2025-09.json").read_text())
    deteriorating = [k["id"] for k in summary["kpis"] if k["status"] == "deteriorating"
                     and k["significance"]["significant"]]
    assert deteriorating == ["total_crime"]
    assert summary["versions"] == {"crimes": 0}


def test_a_deterioration_that_is_not_significant_does_not_stop_the_job(project, tmp_path):
    """Total crime rose 13.5% (p = 0.14): the paper says "no significant change", and the
    job, failing on `deteriorating`, writes the JSON and exits 0 (it exited 1 on the noise).
    The JSON keeps the status and says the change is not significant."""
    done = nightly(project, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert "KPI(s) with status" not in done.stderr
    summary = json.loads((tmp_path / "out" / "summary-2025-09.json").read_text())
    total = next(k for k in summary["kpis"] if k["id"] == "total_crime")
    assert total["status"] == "deteriorating"
    assert total["significance"]["significant"] is False


def test_nothing_deteriorating_exits_0(project, tmp_path):
    toml = project / "kpi.toml"
    # Total crime as a demand measure (neither good nor bad): it can no longer deteriorate.
    toml.write_text(toml.read_text().replace('better = "lower"\nbreakdowns = ["lpa", "offence"]',
                                             'better = "neutral"\nbreakdowns = ["lpa", "offence"]'))
    done = nightly(project, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out" / "summary-2025-09.json").read_text())["period"] == (
        "2025-09")


def test_malformed_extract_exits_3_and_writes_nothing(project, tmp_path):
    extract = project / "extracts" / "crimes.csv"
    extract.write_text(extract.read_text() + "C99999,31/02/2025,Dudley,theft,,\n")
    done = nightly(project, tmp_path / "out")
    assert done.returncode == 3
    assert "row 851, column 'recorded'" in done.stderr  # 849 rows after the header
    assert not (tmp_path / "out" / "summary-2025-09.json").exists()
    assert not (project / "data" / "crimes").exists()  # nothing was loaded


@pytest.mark.parametrize("shell", ["bash", "dash"])
@pytest.mark.parametrize("setting", [None, ""])
def test_missing_project_setting_is_a_usage_error_in_every_shell(tmp_path, shell, setting):
    """No KPI_PROJECT (or an empty one) is exit 2 with one line, as docs/guide.md says and
    nightly.ps1 does, whichever shell runs the script: `${KPI_PROJECT:?}` exited 2 in dash
    and 1 in bash, with the shell's own message naming the script's line."""
    if shutil.which(shell) is None:
        pytest.skip(f"needs {shell}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")}
    if setting is not None:
        env["KPI_PROJECT"] = setting
    env["KPI_OUT"] = str(tmp_path / "out")
    done = subprocess.run([shell, str(SCRIPT)], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 2, (shell, done.stderr)
    assert done.stderr.splitlines() == [
        "Error: set KPI_PROJECT to the project folder holding kpi.toml; nothing was loaded"]
    assert not (tmp_path / "out").exists()


def test_a_default_period_past_the_data_writes_nothing_and_exits_3(project, tmp_path):
    # The default period is last month; the fixture's data ends 2025-09. Before, the job
    # wrote September 2025's figures into summary-2026-11.json and exited 0 (or 1).
    done = nightly(project, tmp_path / "out", KPI_PERIOD=None)
    assert done.returncode == 3, done.stderr
    error = done.stderr.splitlines()[0]
    assert error.startswith("Error: no data reaches 20"), error
    assert error.endswith(": the latest month held is 2025-09 (dataset 'crimes')"), error
    assert list((tmp_path / "out").iterdir()) == []


def test_kpi_missing_from_cron_path_is_a_usage_error_with_the_way_out(project, tmp_path):
    # cron's PATH is /usr/bin:/bin, without the virtual environment kpi is installed in: the
    # job stopped with the shell's 'kpi: not found' and exit 127, which no document explains.
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {"KPI_PROJECT": str(project), "KPI_PERIOD": "2025-09", "KPI_OUT": str(tmp_path / "out"),
           "PATH": str(empty)}
    done = subprocess.run([shutil.which("sh") or "sh", str(SCRIPT)], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    error, hint = done.stderr.splitlines()
    assert error == f"Error: kpi is not on PATH ({empty})"
    assert hint.startswith("Hint: put the bin folder of the environment kpi is installed in")
    assert not (tmp_path / "out").exists()


def test_an_output_folder_that_cannot_be_made_exits_4_in_one_line(project, tmp_path):
    """The operating system refusing the JSON's folder (a read-only home folder, where cron
    starts the job and the default `out` goes; here a file in the way) is exit 4, as kpi's
    own refusals are, with kpi's two lines: it was exit 3, a data or configuration error,
    after the shell's own 'mkdir: cannot create directory' message."""
    blocker = tmp_path / "home"
    blocker.write_text("", encoding="utf-8")
    done = nightly(project, blocker / "out")
    assert done.returncode == 4, done.stderr
    assert done.stderr.splitlines() == [
        f"Error: cannot make the output folder {blocker / 'out'} (working folder {os.getcwd()})",
        "Hint: set KPI_OUT to a folder the job may write; nothing was loaded"]
    assert not (project / "data" / "crimes").exists()
