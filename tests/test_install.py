"""What a plain `pip install .` gives: every module kpi imports is a core dependency, and the
README's commands, the board paper included, work with nothing else installed."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _core_dependencies() -> set[str]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    names = set()
    for requirement in pyproject["project"]["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
        names.add(re.sub(r"[-_.]+", "-", name).lower())
    return names


def _imported_top_level_modules() -> set[str]:
    """Every module kpi's own code imports, anywhere (deferred imports inside functions too)."""
    modules = set()
    for path in (REPO / "kpi").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - {"kpi"}


def test_every_third_party_module_kpi_imports_is_a_core_dependency():
    distributions = importlib.metadata.packages_distributions()
    core = _core_dependencies()
    missing = {}
    for module in sorted(_imported_top_level_modules()):
        if module in sys.stdlib_module_names:
            continue
        owners = {re.sub(r"[-_.]+", "-", d).lower() for d in distributions.get(module, [module])}
        if not owners & core:
            missing[module] = sorted(owners)
    assert missing == {}, f"imported by kpi but only installed by extras: {missing}"


def test_the_readme_installs_without_extras_for_the_everyday_commands():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "pip install . && kpi summary --period 2025-09 --project sample\n" in readme
    assert "kpi export markdown --period 2025-09 --output out/board.md" in readme


def test_export_markdown_on_the_bundled_sample_in_a_real_process(tmp_path):
    """`kpi export markdown` as the README gives it: exit 0, a paper and every chart it links."""
    output = tmp_path / "out" / "board.md"
    # Not a terminal, so the sample is asked for by name, as a scheduled job would.
    result = subprocess.run(
        [sys.executable, "-m", "kpi", "export", "markdown", "--period", "2025-09",
         "--output", str(output)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "KPI_PROJECT": "sample"})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    markdown = output.read_text(encoding="utf-8")
    assert "year ending September 2025" in markdown
    links = re.findall(r"\]\((board-files/figure-[^)]+\.png)\)", markdown)
    assert len(links) >= 5
    for link in links:
        assert (output.parent / link).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ci_runs_the_readme_test_command_and_the_board_paper():
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install '.[test]' && pytest -n auto --dist loadfile\n" in script
    assert "kpi export markdown --period 2025-09 --output" in script
    # The quick start as the README gives it, word for word: no terminal needed.
    assert "\nkpi summary --period 2025-09 --project sample >" in script


def test_the_readme_quick_start_has_a_windows_form_of_the_same_commands():
    """`. .venv/bin/activate` fails in PowerShell and the Command Prompt; a Windows analyst
    gets the same install and summary with the environment's Scripts folder named."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bat\n(.*?)```", readme, re.S)
    assert block is not None
    assert block.group(1).splitlines() == [
        "py -m venv .venv", r".venv\Scripts\pip install .",
        r".venv\Scripts\kpi summary --period 2025-09 --project sample"]
    posix = "pip install . && kpi summary --period 2025-09 --project sample\n"
    assert posix in readme  # the same install (no extras) and the same command
