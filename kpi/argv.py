"""Where the command line's shared options go, whichever side of the command they are written.

`--project`, `--debug` and `--quiet` belong to `kpi` itself and `--format` and `--period` to
each command, but a user writes `kpi summary --project X` as readily as `kpi --project X
summary`, and `kpi --format json summary` as readily as `kpi summary --format json`. `placed`
moves each to where the parser expects it. The answer cache (kpi.cache) and the parser
(kpi.cli) both call it, so a cached answer is keyed on the same command line the parser reads.
Standard library only: the answer cache must not import Typer.
"""

from __future__ import annotations

ROOT_FLAGS = frozenset({"--debug", "--quiet", "-q"})
ROOT_WITH_VALUE = frozenset({"--project", "-p"})
COMMAND_WITH_VALUE = frozenset({"--format", "-f", "--period"})
ALIASES = {"-f": "--format", "-p": "--project", "-q": "--quiet"}


def placed(args: list[str]) -> list[str]:
    """The command line with `kpi`'s own options before the command and the commands' shared
    options after it. Anything after `--` is left alone, and so is a line with no command."""
    args = list(args)
    end = args.index("--") if "--" in args else len(args)
    head, tail = args[:end], args[end:]
    root: list[str] = []
    later: list[str] = []
    position = 0
    while position < len(head) and head[position].startswith("-"):
        name, equals, _ = head[position].partition("=")
        chunk = head[position:position + 1]
        if (name in ROOT_WITH_VALUE or name in COMMAND_WITH_VALUE) and not equals:
            chunk = head[position:position + 2]
        (later if name in COMMAND_WITH_VALUE else root).extend(chunk)
        position += len(chunk)
    if position >= len(head):
        return args
    command: list[str] = []
    while position < len(head):
        token = head[position]
        name, equals, _ = token.partition("=")
        if name in ROOT_FLAGS and not equals:
            root.append(token)
            position += 1
        elif name in ROOT_WITH_VALUE and (equals or position + 1 < len(head)):
            chunk = head[position:position + (1 if equals else 2)]
            root.extend(chunk)
            position += len(chunk)
        else:
            command.append(token)
            position += 1
    # Written on both sides, the one after the command wins, as the later of two always does.
    given = {ALIASES.get(name, name) for name in (t.partition("=")[0] for t in command)}
    kept: list[str] = []
    position = 0
    while position < len(later):
        name = later[position].partition("=")[0]
        size = 1 if "=" in later[position] else 2
        if ALIASES.get(name, name) not in given:
            kept.extend(later[position:position + size])
        position += size
    return root + command + kept + tail
