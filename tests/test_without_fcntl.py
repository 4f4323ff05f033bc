"""kpi's everyday commands run where Windows would take them: no `fcntl` module and no
`os.O_NOFOLLOW` (neither exists on Windows), in a folder whose path holds a space and a
non-ASCII letter, as a Windows or macOS home folder often does.

Each command runs in a fresh interpreter in which `import fcntl` fails and `os.O_NOFOLLOW` is
gone before kpi is imported, so any use of them, at import or on the way, fails the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_support import GOOD_HEADER, make_project

# What a Windows interpreter lacks, taken away before kpi is imported. filelock then falls back
# to its marker-file lock (on Windows it locks with msvcrt) and says so once in a warning.
SHIM = """
import os, sys, warnings
sys.modules["fcntl"] = None
del os.O_NOFOLLOW
warnings.filterwarnings("ignore", message="only soft file lock is available")
from kpi.entry import main
sys.argv[0] = "kpi"
sys.exit(main())
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("win") / "Jo Smith ü"
    folder.mkdir()
    return folder


def _kpi(home: Path, *args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")}
    env.update(KPI_CACHE_DIR=str(home / "AppData" / "kpi cache"), KPI_NO_CACHE="1",
               NO_COLOR="1", PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-c", SHIM, *map(str, args)], capture_output=True,
                          text=True, encoding="utf-8", env=env, cwd=cwd or home, timeout=900)


def test_the_shim_takes_fcntl_and_o_nofollow_away():
    probe = subprocess.run(
        [sys.executable, "-c", SHIM.split("from kpi")[0] + "import os\n"
         "try:\n    import fcntl\nexcept ImportError:\n    print('no fcntl')\n"
         "print(hasattr(os, 'O_NOFOLLOW'))"], capture_output=True, text=True, check=True)
    assert probe.stdout.split() == ["no", "fcntl", "False"]


def test_ingest_and_history_without_fcntl(home):
    project = make_project(home / "Force plan")
    result = _kpi(home, "--project", project, "ingest", "incidents", project / "good.csv")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("Loaded ")
    revised = project / "révision mars.csv"
    revised.write_text(GOOD_HEADER + "\nB9,2025-03-02,Dudley,4,\n", encoding="utf-8")
    result = _kpi(home, "ingest", "incidents", revised, "--allow-shrink", cwd=project)
    assert result.returncode == 0, result.stderr
    history = _kpi(home, "history", "incidents", "--format", "json", cwd=project)
    assert history.returncode == 0, history.stderr
    versions = json.loads(history.stdout)["data"] if history.stdout.lstrip().startswith(
        "{") else json.loads(history.stdout)
    assert [v["version"] for v in versions] == [0, 1]
    assert [s["file"] for s in versions[1]["sources"]] == ["révision mars.csv"]
    # Nothing of a load is left behind: no staging folder, no lock of one.
    assert not list((project / "data").glob(".ingest-*"))


def test_a_lock_file_planted_as_a_link_is_refused_without_o_nofollow(home, tmp_path):
    project = make_project(home / "Linked lock")
    assert _kpi(home, "ingest", "incidents", project / "good.csv", cwd=project).returncode == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    lock = project / "data" / ".incidents.lock"
    lock.unlink(missing_ok=True)
    lock.symlink_to(victim)
    more = project / "more.csv"
    more.write_text(GOOD_HEADER + "\nB1,2025-03-01,Dudley,1,\n", encoding="utf-8")
    result = _kpi(home, "ingest", "incidents", more, cwd=project)
    assert result.returncode == 3
    assert result.stderr.splitlines()[0] == (
        f"Error: {lock}: cannot open the load lock (it is a link)")
    assert victim.read_text() == "precious\n"


def test_reading_commands_and_the_word_paper_without_fcntl(home, sample_paper):
    # The first use builds the bundled sample's store, under its lock, in the user cache.
    summary = _kpi(home, "--project", "sample", "summary", "--period", "2025-09",
                   "--format", "json")
    assert summary.returncode == 0, summary.stderr
    results = json.loads(summary.stdout)
    # The same figures as with fcntl (`kpi summary` in the test process, conftest.py's
    # `sample_paper`, from the store the suite built).
    usual = json.loads(sample_paper["summary"].read_text(encoding="utf-8"))
    assert results["kpis"] == usual["kpis"]
    assert sum((k["current"] or {}).get("value") is not None for k in results["kpis"]) > 50
    cache = home / "AppData" / "kpi cache"
    assert [p.name for p in cache.glob("west-midlands-sample-*") if p.is_dir()]
    show = _kpi(home, "--project", "sample", "show", "total_recorded_crime",
                "--period", "2025-09", "--format", "json")
    assert show.returncode == 0, show.stderr
    assert json.loads(show.stdout)["kpi"]["id"] == "total_recorded_crime"
    compare = _kpi(home, "--project", "sample", "compare", "--period", "2025-09",
                   "--by", "lpa", "--format", "csv")
    assert compare.returncode == 0, compare.stderr
    assert len(compare.stdout.splitlines()) > 2
    paper = home / "Board papers" / "board 2025-09.docx"
    paper.parent.mkdir(parents=True)
    export = _kpi(home, "--project", "sample", "export", "docx", "--period", "2025-09",
                  "--output", paper)
    assert export.returncode == 0, export.stderr
    from docx import Document

    assert any("2025" in p.text for p in Document(str(paper)).paragraphs)
    # The export's folder lock lives in kpi's cache folder, not beside the paper, and its
    # staging folder is gone.
    assert [p.name for p in paper.parent.iterdir() if p.name.startswith(".")
            or p.suffix == ".lock"] == []


def test_nothing_in_kpi_imports_fcntl_or_probes_a_process():
    source = Path(__file__).resolve().parent.parent / "kpi"
    found = [f"{path.relative_to(source)}: {needle}"
             for path in source.rglob("*.py")
             for needle in ("import fcntl", "os.O_NOFOLLOW", "os.kill(")
             if needle in path.read_text(encoding="utf-8")]
    assert found == []
