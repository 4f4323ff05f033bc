"""The house has no circle: every import in kpi points down the layers of docs/design.md.

The layers are read from the table in docs/design.md, so the documented layout and the code
cannot drift apart. Imports inside functions count (they are what made the old circle, from the
answer cache through the command line to the store and back); imports only for type checking
(`if TYPE_CHECKING:`) do not, as they never run.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kpi"
DESIGN = ROOT / "docs" / "design.md"


def _layers() -> list[tuple[str, list[str]]]:
    """(layer, module patterns) from the layer table of docs/design.md, highest first."""
    text = DESIGN.read_text(encoding="utf-8")
    table = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    layers = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] in ("layer", "") or set(cells[0]) <= set("-: "):
            continue
        layers.append((cells[0], re.findall(r"`(kpi/[^`]+)`", cells[1])))
    return layers


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _layer_of(module: str, layers: list[tuple[str, list[str]]]) -> int | None:
    """The index of the module's layer (0 is the top), or None when no row names it."""
    path = module.replace(".", "/")
    for index, (_, patterns) in enumerate(layers):
        for pattern in patterns:
            pattern = pattern.rstrip("/")
            if pattern.endswith(".py"):
                if path == pattern.removesuffix(".py").removesuffix("/__init__"):
                    return index
            elif path == pattern or path.startswith(pattern + "/"):
                return index
    return None


def _runtime_imports(tree: ast.Module) -> list[tuple[int, str, bool]]:
    """(line, kpi module imported, at module level) for every import that can run."""
    found: list[tuple[int, str, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit(other, top)
                continue
            if isinstance(child, ast.Import):
                found.extend((child.lineno, a.name, top) for a in child.names
                             if a.name.split(".")[0] == "kpi")
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                if child.module.split(".")[0] != "kpi":
                    continue
                for alias in child.names:
                    found.append((child.lineno, child.module, top))
                    found.append((child.lineno, f"{child.module}.{alias.name}", top))
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                   ast.Lambda, ast.ClassDef))
            visit(child, inner)

    visit(tree, True)
    return found


@functools.cache
def _graph() -> dict[str, list[tuple[int, str, bool]]]:
    """Each kpi module's runtime imports of other kpi modules: (line, module, at module level).
    Parsed once per process (about a second of CPU for kpi's modules) for the four tests that
    read it; none of them changes it."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        edges = []
        for line, target, top in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if target in modules and target != name:
                edges.append((line, target, top))
        graph[name] = edges
    return graph


def test_every_module_has_a_layer_in_the_design_doc():
    layers = _layers()
    assert len(layers) >= 6, "docs/design.md lost its layer table"
    missing = sorted(m for m in _modules() if _layer_of(m, layers) is None)
    assert not missing, (f"add these modules to the layer table of docs/design.md: {missing}")


# The one import pointing up (docs/design.md): kpi.open() imports the library when called.
LAZY_FRONT_DOOR = {("kpi", "kpi.api")}


def test_no_import_runs_from_a_lower_layer_to_a_higher_one():
    layers = _layers()
    upward = []
    for module, edges in _graph().items():
        mine = _layer_of(module, layers)
        for line, target, top in edges:
            theirs = _layer_of(target, layers)
            if (module, target) in LAZY_FRONT_DOOR and not top:
                continue
            if mine is not None and theirs is not None and theirs < mine:
                upward.append(f"{module}:{line} imports {target} "
                              f"({layers[mine][0]} -> {layers[theirs][0]})")
    assert not upward, "\n".join(upward)


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def _is_parent(a: str, b: str) -> bool:
    return b.startswith(a + ".")


def test_no_circle_of_imports_outside_the_command_line_package():
    """The command modules register themselves on the Typer app of kpi.cli, which imports them:
    that circle is within one package and one layer. No other circle exists, counting imports
    inside functions. (A module importing its own package's __init__ is not a circle: Python
    runs the package first.)"""
    graph = {m: sorted({t for _, t, _ in edges if not _is_parent(t, m) and not _is_parent(m, t)})
             for m, edges in _graph().items()}
    cycles = [c for c in _cycles(graph) if not all(m.startswith("kpi.cli") for m in c)]
    assert not cycles, cycles


@pytest.mark.parametrize("module", ["kpi.cache", "kpi.entry"])
def test_the_front_door_and_the_answer_cache_import_no_heavy_library(module):
    """What the console script runs before a cached answer: no Polars, deltalake, Typer or Rich
    (checked in a fresh interpreter)."""
    import subprocess
    import sys

    code = (f"import sys, {module}; heavy = [m for m in ('polars', 'deltalake', 'typer', "
            f"'rich', 'pyarrow', 'sqlglot') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_the_answer_cache_imports_nothing_above_the_store():
    layers = _layers()
    names = [name for name, _ in layers]
    limit = names.index("store and input")
    above = [t for _, t, _ in _graph()["kpi.cache"] if (_layer_of(t, layers) or 0) < limit]
    assert not above, above


# What the figures may import: drawing works from the board model's numbers (kpi.board), so a
# chart can never read data or compute a figure of its own.
DRAWING_MAY_NOT_IMPORT = ("kpi.engine", "kpi.stats", "kpi.store", "kpi.verdicts",
                          "kpi.compare", "kpi.checks", "kpi.ingest", "kpi.board", "kpi.paper")


def test_the_charts_draw_from_the_board_model_and_ask_the_engine_nothing():
    found = [f"kpi/charts.py:{line} imports {target}" for line, target, _ in _graph()["kpi.charts"]
             if target.startswith(DRAWING_MAY_NOT_IMPORT)]
    assert not found, "\n".join(found)


# What a run imports in a fresh interpreter: a report reads the store and never loads an extract,
# so no reader (nor pyarrow's CSV parser) is imported. The export compares LPAs, which checks
# the spellings with kpi.ingest.identity: that leaf must not bring in its package's readers.
READERS = ("kpi.ingest.csv_reader", "kpi.ingest.parquet_reader", "kpi.ingest.excel_reader",
           "kpi.ingest.stage", "kpi.ingest.commit", "pyarrow.csv")
RUN_PROBE = """
import sys
from kpi.entry import main
try:
    code = main(sys.argv[1:])
finally:
    names = sorted(m for m in sys.modules if m.startswith(("kpi.", "pyarrow")))
    sys.stderr.write("\\nimported: " + " ".join(names) + "\\n")
sys.exit(code)
"""


@pytest.mark.parametrize("command", ["summary", "export"])
def test_a_report_on_the_sample_imports_no_reader(command, tmp_path):
    import os
    import subprocess
    import sys

    import kpi

    kpi.open("sample")  # the sample's store is built by the loader once, before the probe
    args = ["summary", "--period", "2025-09", "--project", "sample", "--vs", "yoy"]
    if command == "export":
        args = ["export", "markdown", "--period", "2025-09", "--project", "sample",
                "--output", str(tmp_path / "board.md")]
    env = {**{k: v for k, v in os.environ.items()
              if not k.startswith("KPI_") or k == "KPI_CACHE_DIR"}, "KPI_NO_CACHE": "1"}
    done = subprocess.run([sys.executable, "-c", RUN_PROBE, *args], capture_output=True,
                          text=True, env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    imported = done.stderr.strip().splitlines()[-1].removeprefix("imported: ").split()
    assert "kpi.engine" in imported  # the command ran, not a cached answer
    if command == "export":
        assert "kpi.ingest.identity" in imported  # the spelling check ran
    assert not [m for m in READERS if m in imported]
