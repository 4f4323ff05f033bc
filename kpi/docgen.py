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
    """(name, click command, context) for `kpi` itself and every command under it, groups
    (such as `kpi export`) followed by their own commands, in --help order."""
    import typer

    from kpi.cli import app

    group = typer.main.get_command(app)
    root = group.make_context("kpi", [], resilient_parsing=True)
    yield from _walk("kpi", group, root)


def _walk(name, command, context):
    yield name, command, context
    for child in getattr(command, "list_commands", lambda _: [])(context):
        sub = command.get_command(context, child)
        yield from _walk(f"{name} {child}", sub,
                         sub.make_context(child, [], parent=context, resilient_parsing=True))


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
