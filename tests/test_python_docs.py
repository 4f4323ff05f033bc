"""docs/python.md is a notebook walkthrough: every ```pycon block is run, in order, in one
namespace, and each value it shows is checked (doctest)."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "python.md"
BLOCK = re.compile(r"^```pycon\n(.*?)^```", re.DOTALL | re.MULTILINE)


def test_the_walkthrough_runs_and_shows_what_it_says(tmp_path, monkeypatch):
    text = DOC.read_text(encoding="utf-8")
    blocks = BLOCK.findall(text)
    assert len(blocks) >= 8
    # Run from a folder with no kpi.toml, as a new notebook would be.
    monkeypatch.chdir(tmp_path)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    namespace: dict = {}
    for number, block in enumerate(blocks, start=1):
        test = parser.get_doctest(block, namespace, f"docs/python.md block {number}",
                                  str(DOC), 0)
        assert test.examples, f"block {number} has no >>> lines"
        failures: list[str] = []
        runner.run(test, out=failures.append, clear_globs=False)
        assert not failures, "".join(failures)
        namespace = test.globs  # the next block goes on from this one's names


def test_import_kpi_does_not_load_polars():
    """The console script enters through the kpi package: importing it must stay cheap."""
    import subprocess
    import sys

    code = "import sys, kpi; print('polars' in sys.modules, callable(kpi.open))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "True"]


def test_the_package_ships_its_type_marker():
    import kpi

    assert (Path(kpi.__file__).parent / "py.typed").is_file()


def test_a_script_writing_a_paper_needs_the_main_guard_and_says_so(tmp_path):
    """Worker processes drawing the charts run a script's main module again as they start
    (docs/python.md). Without `if __name__ == "__main__":` the workers refuse at kpi.open(),
    before the script's loads and papers run again in each, and the script stops with one
    error naming the guard; with it, the paper is written."""
    import os
    import subprocess
    import sys

    from fixtures.paper_project import load_paper_project

    project = tmp_path / "paper project"
    project.mkdir()
    load_paper_project(project)
    body = (f"import kpi\nproject = kpi.open({str(project)!r})\n"
            f"paper = project.paper('2025-09', 'markdown', {str(tmp_path / 'board.md')!r}, "
            "full=True)\nprint(paper.charts)\n")
    env = {**os.environ, "KPI_CHART_WORKERS": "2", "KPI_NO_CACHE": "1"}
    bare = tmp_path / "bare.py"
    bare.write_text(body, encoding="utf-8")
    result = subprocess.run([sys.executable, str(bare)], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=900)
    assert result.returncode == 1, result.stderr
    assert "kpi.errors.UsageError: kpi.open() ran in a process starting to draw a paper's " \
           "charts" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith(
        "kpi.errors.SystemRefusal: a process drawing the paper's charts stopped")
    assert 'if __name__ == "__main__":' in result.stderr
    # each worker says so in one line, written whole, and no traceback of its own: two
    # workers' tracebacks, printed together in pieces, had interleaved into neither message
    assert result.stderr.count("Traceback (most recent call last)") == 1, result.stderr
    assert not (tmp_path / "board.md").exists()

    guarded = tmp_path / "guarded.py"
    guarded.write_text("if __name__ == '__main__':\n" + "".join(
        f"    {line}\n" for line in body.splitlines()), encoding="utf-8")
    result = subprocess.run([sys.executable, str(guarded)], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 2 and (tmp_path / "board.md").is_file()
