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


def _block(doc: str, first_line: str) -> list[str]:
    """The lines of the fenced block of docs/`doc` whose first line starts `first_line`."""
    import re

    text = (DOCS / doc).read_text(encoding="utf-8")
    for body in re.findall(r"^```\w*\n(.*?)^```", text, re.S | re.M):
        if body.startswith(first_line):
            return body.rstrip("\n").splitlines()
    raise AssertionError(f"docs/{doc} has no block starting {first_line!r}")


# (doc, the first line of its output block, the command it shows, exit code, stream): each
# block is printed by its command on the bundled sample, line for line (a section of a longer
# output: its lines in a row).
OUTPUT_BLOCKS = [
    ("statistics.md", "Signal", ["show", "homicides", "--period", "2025-09"], 0, "stdout"),
    ("guide.md", "Error: unknown KPI 'knife'", ["show", "knife", "--period", "2025-09"], 2,
     "stderr"),
    ("peers.md", "police-uk ", ["init", "--list-presets"], 0, "stdout"),
]


@pytest.mark.parametrize(("doc", "first", "args", "code", "stream"), OUTPUT_BLOCKS,
                         ids=[f"{b[0]}:{b[1]}" for b in OUTPUT_BLOCKS])
def test_an_output_block_is_what_its_command_prints(cli, doc, first, args, code, stream):
    shown = _block(doc, first)
    result = cli(args, env={"COLUMNS": "120"})
    assert result.exit_code == code, result.output
    printed = getattr(result, stream).splitlines()
    start = printed.index(shown[0]) if shown[0] in printed else -1
    assert printed[start:start + len(shown)] == shown, (
        f"docs/{doc} shows what `kpi {' '.join(args)}` no longer prints:\n"
        + "\n".join(printed))
