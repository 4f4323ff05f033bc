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
