"""One error root for everything a user can cause, with a documented exit code each.

The engine, the store and the catalogue raise these; only the CLI catches them, prints one line
and exits. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar

# Exit codes, documented in the README and `kpi --help`.
EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_DATA = 3
EXIT_SYSTEM = 4


class KpiError(Exception):
    """Base of every error a user can cause; carries a hint on how to fix it (each class has
    a general one, for a raise that names none)."""

    exit_code = EXIT_DATA
    general_hint = "check the file or value named"

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(KpiError):
    """A command-line value is malformed (a period like 2025-13, an unknown option value)."""

    exit_code = EXIT_USAGE
    general_hint = "the command's --help lists its options and values"


class ConfigError(KpiError):
    """kpi.toml is missing, malformed or inconsistent."""

    general_hint = "'kpi catalogue --validate kpi.toml' lists every problem of a project file"


class DataError(KpiError):
    """An extract or a stored table cannot be read, or lacks the data asked for."""

    general_hint = ("check the extract named; 'kpi datasets' and 'kpi history DATASET' show "
                    "what is stored")


# Which face asked the question being answered: "command line" (kpi.cli.handled), "python" (a
# method of kpi.api.Project) or None, read as the command line (a direct call of the engine).
# The one place that knows it.
_FACE: ContextVar[str | None] = ContextVar("kpi_face", default=None)

# The Python face's argument for each command-line option a refusal names.
PYTHON_ARGUMENTS = {"--as-of": "as_of", "--period": "period", "--by": "by",
                    "--focus": "focus", "--output": "output", "--template": "template",
                    "--quarantine": "quarantine", "--sheet": "sheet", "--parts": "parts",
                    "--allow-shrink": "allow_shrink", "--skip-bad-rows": "skip_bad_rows",
                    "--from-source": "from_source", "--previous": "previous",
                    "--commentary": "commentary"}


@contextmanager
def asked_by(face: str) -> Iterator[None]:
    """Answer what is asked inside as `face` ("python" or "command line") asked it, unless a
    face has already said: a command asks through the Python face, and its refusals name
    its options."""
    token = _FACE.set(face) if _FACE.get() is None else None
    try:
        yield
    finally:
        if token is not None:
            _FACE.reset(token)


def command_line() -> AbstractContextManager[None]:
    """The command line asking (`kpi.cli.handled`): its refusals name options."""
    return asked_by("command line")


def option(name: str, value: object = None) -> str:
    """A command-line option, with its value, as the face that asked spells it: `--as-of
    2025-10-31` on the command line, `as_of='2025-10-31'` from Python (`period='2025-09'`,
    `output`)."""
    if _FACE.get() == "python":
        argument = PYTHON_ARGUMENTS[name]
        return argument if value is None else f"{argument}={str(value)!r}"
    return name if value is None else f"{name} {value}"


def flag(name: str) -> str:
    """A command-line switch as the face that asked spells turning it on: `--parts` on the
    command line, `parts=True` from Python."""
    return f"{PYTHON_ARGUMENTS[name]}=True" if _FACE.get() == "python" else name


def spelled(command: str, call: str) -> str:
    """What to run, as the face that asked runs it: `command` on the command line (`kpi ingest
    crimes FILE...`), `call` from Python (`project.ingest('crimes', [FILE, ...])`)."""
    return call if _FACE.get() == "python" else command


def ingest_hint(dataset: str, *switches: str) -> str:
    """How to load extracts into a dataset, as the face that asked writes it: `kpi ingest
    crimes FILE...` or `project.ingest('crimes', [FILE, ...])`; with `switches`, the command
    line's `--from-source` (no files), `from_source=True` from Python."""
    if switches:
        return spelled(f"kpi ingest {dataset} {' '.join(switches)}",
                       f"project.ingest({dataset!r}, "
                       f"{', '.join(f'{PYTHON_ARGUMENTS[s]}=True' for s in switches)})")
    return spelled(f"kpi ingest {dataset} FILE...", f"project.ingest({dataset!r}, [FILE, ...])")


def never_loaded(dataset: str) -> DataError:
    """The one refusal of a dataset never loaded (no table yet), whichever face read it, its
    hint how that face loads one: 'kpi ingest crimes FILE...' on the command line,
    project.ingest('crimes', [FILE, ...]) from Python."""
    call = ingest_hint(dataset)
    quoted = "'" + call + "'"  # a command in quotes; a Python call as it is written
    return DataError(f"dataset '{dataset}' has no data yet",
                     hint=f"load extracts with {spelled(quoted, call)}")


def no_data_hint() -> str:
    """The hint of every refusal of a period with nothing to show (no_data), in the words of
    the face that asked: 'kpi datasets' and 'kpi ingest DATASET FILE...' on the command line,
    project.datasets() and project.ingest('DATASET', [FILE, ...]) from Python."""
    shows = spelled("'kpi datasets'", "project.datasets()")
    load = ingest_hint("DATASET")
    quoted = "'" + load + "'"  # a command in quotes; a Python call as it is written
    return (f"{shows} shows the months each dataset holds: choose a "
            f"{option('--period')} they cover, or load extracts with {spelled(quoted, load)}")


def no_data(period: object, reason: str, *, kpi: str | None = None,
            by: str | None = None, remedy: str | None = None) -> DataError:
    """The one refusal of a period a command has nothing to show for, whichever command (kpi
    summary, show, compare, check, export): 'no KPI has data [by 'COLUMN'] for PERIOD:
    REASON' (or 'KPI has no data for PERIOD: REASON'), exit 3, one hint, led by the
    `remedy` where the reason has one (a month held in part: "load the whole of 2024-10").
    A table of blanks, or checks failing for want of data, would say less; figures of another
    period would be a wrong answer."""
    split = f" by '{by}'" if by else ""
    said = f"{kpi} has no data{split}" if kpi else f"no KPI has data{split}"
    return DataError(f"{said} for {period}: {reason}",
                     hint=f"{remedy}; or " + no_data_hint() if remedy else no_data_hint())


# The hint of a load refused because one of kpi's own cross-checks failed (a count that
# should match another did not): the fault is not the user's, and nothing was stored.
CROSS_CHECK_HINT = "the load is refused, nothing was stored; please report it"


# Control characters (C0 but tab, DEL, C1) and the marks that reorder a line's display (the
# embeddings, overrides and isolates, and the implicit marks: U+200E, U+200F and Arabic's
# U+061C, which make '\u200f1 - 2\u200f' read '2 - 1'): in text shown to a person, any of them
# could clear a terminal, rewrite a line or break a table.
_MARKS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# The two noncharacters XML 1.0 cannot hold (U+FFFE, a byte-swapped byte-order mark, and
# U+FFFF): a Word paper drops them, so 'A\ufffeB' printed there as 'AB', the name of another
# part beside it, while the Markdown and HTML papers and the workbook kept them. Text holding
# one is refused wherever text enters kpi, as control characters are, so every output can
# hold every character of what it prints (written as escapes for Python's re and Polars').
NOT_XML = r"\ufffe\uffff"
INVISIBLE = re.compile(rf"[\x00-\x08\x0a-\x1f\x7f-\x9f{_MARKS}{NOT_XML}]")


def visible(text: str) -> str:
    """The text with each control character shown as '?' (tab is kept)."""
    return INVISIBLE.sub("?", text)


# How deeply a project, commentary or figures file may nest tables and arrays: kpi's own
# files need four levels; a file nested hundreds deep is a mistake or an attack.
MAX_NESTING = 16


def refuse_unsafe_text(document: object, source: str,
                       error: type[KpiError] | None = None) -> None:
    """The one control-character policy for text that enters kpi from a file a person writes
    (kpi.toml, a commentary file, a previous paper's figures file), as for extracts: a string
    holding a control character (tab and, in a multi-line text, line breaks are text), DEL, a
    C1 control or a mark that reorders a line's display is refused, naming the key. Also
    refused: nesting deeper than MAX_NESTING. Walked without recursion."""
    error = error or ConfigError
    stack: list[tuple[object, str, int]] = [(document, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_NESTING:
                raise error(f"{source}: {where or 'the file'} is nested more than "
                            f"{MAX_NESTING} levels deep", hint="tables and arrays in kpi's "
                            "files are a few levels deep; check the brackets")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                label = (f"{where}.{key}" if where else str(key)) if isinstance(value, dict) \
                    else f"{where}[{key}]"
                stack.append((item, label, depth + 1))
                if isinstance(key, str):  # a key is text too
                    stack.append((key, label, depth + 1))
        elif isinstance(value, str) and UNSAFE_IN_TEXT.search(value):
            raise error(f"{source}: key '{visible(where)}': expected text without control "
                        f"characters, found '{visible(value)[:40]}' (each shown as ?)",
                        hint="remove the escape sequence, control or direction mark")


# As INVISIBLE, but line breaks are allowed: a multi-line text in a file is text.
UNSAFE_IN_TEXT = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_MARKS}{NOT_XML}]")


class SystemRefusal(KpiError):
    """The operating system refused to read or write a file: permissions, a read-only or full
    disk, a folder where a file was expected. Nothing stored was changed."""

    exit_code = EXIT_SYSTEM


# What each refusal means for the user, and what to do about it.
REFUSAL_REASONS: dict[int, tuple[str, str]] = {
    errno.EACCES: ("permission denied", "check the permissions of this file or folder"),
    errno.EPERM: ("operation not permitted", "check the permissions of this file or folder"),
    errno.EROFS: ("the file system is read-only", "choose a writable folder"),
    errno.ENOSPC: ("no space left on the device", "free some space and run the command again"),
    errno.EDQUOT: ("disk quota exceeded", "free some space and run the command again"),
    errno.EISDIR: ("is a folder, where a file was expected", "name a file"),
    errno.ENOTDIR: ("a part of this path is a file, where a folder was expected",
                    "check the path"),
    errno.ENOENT: ("no such file or folder", "check the path"),
    errno.EEXIST: ("already exists", "choose another name"),
    errno.ENAMETOOLONG: ("the name is too long", "choose a shorter path"),
    errno.EBADF: ("is closed", "give --output FILE, or run the command with its output open"),
}


def refusal(exc: OSError, path: object | None = None) -> SystemRefusal:
    """The one-line error for an operating-system refusal, naming the path at fault."""
    reason, hint = REFUSAL_REASONS.get(exc.errno or 0, (exc.strerror or str(exc), "check the path"))
    if exc.errno == errno.EBADF:
        hint = spelled(hint, "give output a file to write")
    hint = hint.replace("run the command again", spelled("run the command again",
                                                         "call it again"))
    where = path if path is not None else exc.filename
    message = f"{where}: {reason}" if where is not None else reason
    return SystemRefusal(message, hint=f"{hint}; nothing stored was changed")


def located(path: object, message: str, *, row: int | None = None,
            column: str | None = None) -> str:
    """Format 'FILE, row N, column C: message' with whichever parts are known. A file name
    is shown without its control characters (a name is data too)."""
    parts = [visible(str(path))]
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column '{column}'")
    return ", ".join(parts) + f": {message}"


def closest(word: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The choices nearest `word`, ignoring case: near spellings (difflib), then choices that
    contain it ('knife' finds knife_crime)."""
    import difflib

    choices = list(dict.fromkeys(choices))
    lower: dict[str, str] = {}
    for choice in choices:
        lower.setdefault(choice.lower(), choice)
    found = [lower[c] for c in difflib.get_close_matches(word.lower(), list(lower), n=n,
                                                          cutoff=0.6)]
    found += [c for c in choices if word.lower() in c.lower() and c not in found]
    return found[:n]


def did_you_mean(word: str, choices: Iterable[str], otherwise: str) -> str:
    """A hint naming the nearest choices, or `otherwise` when none is near."""
    close = closest(word, choices)
    if not close:
        return otherwise
    return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
