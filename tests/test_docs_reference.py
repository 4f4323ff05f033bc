"""The CLI reference in docs/cli.md is generated from --help and must stay complete and current."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpi import docgen

DOCS = Path(__file__).resolve().parent.parent / "docs"
COMMANDS = list(docgen.commands())


@pytest.mark.parametrize(("name", "command", "context"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_command_and_every_parameter_have_help(name, command, context):
    assert (command.help or "").strip(), f"'{name}' has no help text"
    for param in command.get_params(context):
        if param.name == "help":
            continue
        assert (getattr(param, "help", None) or "").strip(), (
            f"'{name}': {param.opts[0]} has no help text")


def test_reference_is_up_to_date():
    expected = docgen.generate()
    actual = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/cli.md is out of date: python -m kpi.docgen > docs/cli.md"


def test_reference_lists_every_command():
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for name, _, _ in COMMANDS:
        assert f"## `{name}`" in text


def test_guide_links_the_reference_and_shows_the_everyday_commands():
    guide = (DOCS / "guide.md").read_text(encoding="utf-8")
    assert "(cli.md)" in guide
    for name in ("kpi init", "kpi catalogue", "kpi ingest", "kpi datasets", "kpi summary",
                 "kpi show"):
        assert f"`{name}" in guide, f"docs/guide.md never shows {name}"
