"""kpi.cli.coercion: option values converted without pydantic give what Typer's own
conversion gives (a number: where it is in ASCII digits and in range), and a command line is
parsed without importing pydantic."""

from __future__ import annotations

import os
import subprocess
import sys
from enum import Enum
from pathlib import Path

import pytest
import typer.main
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param

from kpi.cli import app


def _parameters():
    def walk(command, path):
        for param in command.params:
            yield path, param
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, (*path, name))

    return list(walk(typer.main.get_command(app), ("kpi",)))


def _candidates(annotation) -> list:
    leaf = annotation.__args__[0] if getattr(annotation, "__origin__", None) is list \
        else annotation
    if isinstance(leaf, type) and issubclass(leaf, Enum):
        values = [m for m in leaf] + [m.value for m in leaf] + [m.value.upper() for m in leaf]
        values += ["no such choice", ""]
    elif leaf is Path:
        values = ["out/summary.json", "Jo Smith ü/a b.csv", "-", "."]
    elif leaf is str:
        values = ["2025-09", "", "knife_crime", "ü é"]
    elif leaf is bool:
        values = [True, False, "1", "true", "no"]
    elif leaf in (int, float):
        # Numbers in ASCII digits and in range, which both read alike; anything else is
        # refused by kpi's rule for typed numbers (tests/test_edges.py), not Typer's.
        values = ["3", "24", "090"]
    else:
        values = ["3", "x"]
    if leaf is not annotation:
        return [[v] for v in values] + [values[:2]]
    return values


@pytest.mark.parametrize(("path", "param"), _parameters(),
                         ids=lambda x: x if isinstance(x, tuple) else x.name)
def test_each_option_converts_as_typer_converts_it(path, param):
    del path
    ctx = Context(typer.main.get_command(app))
    quick = param.get_runtime_param()
    own = build_runtime_param(param.type_descriptor)
    for value in [None, *_candidates(param.type_descriptor.annotation)]:
        outcomes = []
        for runtime in (quick, own):
            try:
                got = runtime.coerce(value, param=param, ctx=ctx)
                outcomes.append(("value", type(got), got))
            except BadParameter as exc:
                outcomes.append(("error", exc.format_message()))
        assert outcomes[0] == outcomes[1], (param.name, value)


PARSE_ONLY = """
import sys
from kpi.entry import main
try:
    main(["summary", "--period", "2025-13", "--vs", "YOY", "--format", "json", "--fail-on",
          "stale", "--fail-on", "Improving", "--output", "out dir/s.json", "--priority", "p"])
except SystemExit as exc:
    print("exit", exc.code)
print("pydantic imported:", "pydantic" in sys.modules)
"""


def test_a_command_line_is_parsed_without_pydantic(tmp_path):
    """Every option above is parsed (the period is refused only in the command's body)."""
    env = {**os.environ, "KPI_NO_CACHE": "1"}
    done = subprocess.run([sys.executable, "-c", PARSE_ONLY], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.stdout.split("\n")[:2] == ["exit 2", "pydantic imported: False"], done
    assert "2025-13" in done.stderr
