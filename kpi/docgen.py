"""The CLI reference (docs/cli.md), generated from the commands' own --help.

    python -m kpi.docgen > docs/cli.md

tests/test_docs_reference.py fails when the file is out of date or a command or option lacks
help text, so the reference cannot drift from the code.
"""

from __future__ import annotations

import sys

# Help is laid out at a fixed width so the reference does not depend on the terminal.
WIDTH = 100

HEADER = """# CLI reference

Generated from `kpi --help` and each command's `--help` by `python -m kpi.docgen > docs/cli.md`;
do not edit by hand. For a guided tour see [the analyst guide](guide.md).
"""


def commands():
    """(name, click command) for `kpi` itself and each of its commands, in --help order."""
    import typer

    from kpi.cli import app

    group = typer.main.get_command(app)
    root = group.make_context("kpi", [], resilient_parsing=True)
    yield "kpi", group, root
    for name in group.list_commands(root):
        command = group.get_command(root, name)
        yield f"kpi {name}", command, command.make_context(name, [], parent=root,
                                                           resilient_parsing=True)


def help_text(command, context) -> str:
    context.terminal_width = context.max_content_width = WIDTH
    return command.get_help(context)


def generate() -> str:
    """docs/cli.md's text."""
    parts = [HEADER]
    for name, command, context in commands():
        parts += [f"## `{name}`", "", "```text", help_text(command, context).rstrip(), "```", ""]
    return "\n".join(parts)


def main() -> None:
    sys.stdout.write(generate())


if __name__ == "__main__":
    main()
