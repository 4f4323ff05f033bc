"""The answer cache: a repeated question is answered without importing Polars.

The console script's front door (kpi.entry) asks it first. For the read-only commands that print
results (summary, show, catalogue, datasets) it computes a key from everything the answer depends
on, and gives back the stored answer (stdout, stderr and exit code) when there is one:

- the command line, the working directory and the environment variables that change output
  (KPI_*, NO_COLOR, COLUMNS), whether stdout is a terminal and its width;
- the project file's bytes, and the bytes of every weights file it names;
- each dataset's table state: its latest version, read from its `_delta_log` directory listing
  (no deltalake, no Polars), and the sha256 of that version's commit file. The version number
  alone is not enough: a table deleted and rebuilt, or a data folder copied from another project,
  can be at the same version with other rows. A commit file records its time and names data
  files with random ids, so two tables never share one;
- the kpi version and the size and modification time of kpi's own source files.

Anything else (a miss, any other command, --output, --debug, --help, KPI_NO_CACHE set) runs the
command line as usual; after a miss, the front door stores the answer here if the inputs did not
change while it ran.
Entries live in the project's data folder, under `.cache/`, so deleting the data folder clears
them; only the most recent MAX_ENTRIES are kept.

A leaf: only the standard library is imported here, plus kpi.catalogue for finding the project
and kpi.store for reading a table's version from its log (neither imports Polars).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

CACHED_COMMANDS = frozenset({"summary", "show", "catalogue", "datasets"})
# Options that make a run unsuitable: it writes a file, prints a traceback, or shows help.
BYPASS = frozenset({"--output", "-o", "--debug", "--help", "-h", "--validate", "--version",
                    "--install-completion", "--show-completion"})
GLOBAL_FLAGS = frozenset({"--quiet", "-q"})
GLOBAL_WITH_VALUE = frozenset({"--project", "-p"})
MAX_ENTRIES = 200
CACHE_FOLDER = ".cache"


def plan(args: list[str]) -> dict[str, Any] | None:
    """Where the answer to this command line would be cached and under which key, or None when
    it must not be cached."""
    if os.environ.get("KPI_NO_CACHE"):
        return None
    from kpi.argv import placed

    args = placed(args)  # shared options before or after the command: one key
    explicit = os.environ.get("KPI_PROJECT") or None
    position = 0
    while position < len(args) and args[position].startswith("-"):
        option, _, value = args[position].partition("=")
        if option in GLOBAL_WITH_VALUE:
            if not value:
                position += 1
                if position >= len(args):
                    return None
                value = args[position]
            explicit = value
        elif option not in GLOBAL_FLAGS:
            return None
        position += 1
    if position >= len(args) or args[position] not in CACHED_COMMANDS:
        return None
    if any(arg.partition("=")[0] in BYPASS for arg in args):
        return None
    try:
        key, cache_dir = _key(args, explicit)
    except Exception:  # anything odd about the project: let the command line report it
        return None
    return {"key": key, "dir": cache_dir, "explicit": explicit, "args": args}


ANSWERING_LIBRARIES = ("polars", "deltalake", "pyarrow", "typer", "rich")


def _key(args: list[str], explicit: str | None) -> tuple[str, Path]:
    from kpi import __version__
    from kpi.catalogue import (
        code_fingerprint,
        find_project_file,
        installed_version,
        project_path,
    )

    # The project file's folder as the catalogue takes it, not through its links: a
    # kpi.toml linked from another project's folder reads the data beside the link
    # (`cur -> B`, `B/kpi.toml -> ../A/kpi.toml`: resolved, the key read A's tables, and
    # B's summary was answered with A's figures, exit 0).
    path, bundled = find_project_file(explicit)
    path = path.absolute()
    text = path.read_bytes()
    raw = tomllib.loads(text.decode("utf-8-sig"))
    data_dir = data_dir_of(path, raw, bundled)
    # Each weights file as the catalogue names it (a backslash a folder separator, as
    # copied from Windows): read as written, 'reference\weights.csv' was no file on Linux,
    # its digest always None, and an edited weights file was answered from the cache.
    inputs = [file_digest(path.parent / project_path(str(kpi["weights"])))
              for kpi in raw.get("kpis") or [] if isinstance(kpi, dict) and "weights" in kpi]
    from kpi.store import table_state

    versions = {ds: table_state(data_dir / ds) for ds in sorted(raw.get("datasets") or {})}
    environment = {name: value for name, value in os.environ.items()
                   if name.startswith("KPI_") or name in ("NO_COLOR", "COLUMNS")}
    terminal = sys.stdout.isatty()
    # Outside a project the sample is used on a terminal only (stderr, where its note goes).
    messages_terminal = sys.stderr.isatty()
    width = os.get_terminal_size(sys.stdout.fileno()).columns if terminal else None
    parts = {
        "args": args, "cwd": os.getcwd(), "env": sorted(environment.items()),
        "terminal": terminal, "stderr_terminal": messages_terminal, "width": width,
        "project": str(path), "resolved": str(path.resolve()), "data": str(data_dir),
        "project_sha256": hashlib.sha256(text).hexdigest(), "inputs": inputs,
        "versions": versions, "kpi": __version__, "code": code_fingerprint(),
        # the libraries that compute and read the figures, and Python: an upgrade of one
        # may change an answer, which is then computed again (read without importing them)
        "libraries": [installed_version(name) for name in ANSWERING_LIBRARIES],
        "python": sys.version,
    }
    key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return key, data_dir / CACHE_FOLDER


def data_dir_of(path: Path, raw: dict[str, Any], bundled: bool) -> Path:
    """The project's data folder, resolved now by the catalogue's own rule
    (`kpi.catalogue.data_dir_of`; checked against the loaded project before anything is
    stored)."""
    from kpi.catalogue import data_dir_of as resolved_now

    return resolved_now(path, raw, bundled)


def file_digest(path: Path) -> str | None:
    """The sha256 of a file's bytes; None when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def read_by_content(parse: Callable[..., T]) -> Callable[..., T]:
    """`parse(path, *args)` (a reference file kpi.toml names: weights, populations) kept in
    memory by the file's bytes, never by its name alone: a process that lives for hours (a
    notebook) reads a file edited since its last answer again, as the next command would,
    rather than answer from the file as it was. Hashing the bytes costs little beside
    parsing them; the last few versions read are kept."""
    @functools.lru_cache(maxsize=32)
    def parsed(path: Path, digest: str | None, *args: Any) -> T:
        return parse(path, *args)

    @functools.wraps(parse)
    def read(path: Path, *args: Any) -> T:
        return parsed(path, file_digest(path), *args)

    read.cache_clear = parsed.cache_clear  # type: ignore[attr-defined]
    return read


def read(plan: dict[str, Any]) -> dict[str, Any] | None:
    """The stored answer for a plan: stdout, stderr and exit code; None on a miss."""
    try:
        entry = json.loads((plan["dir"] / f"{plan['key']}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or not {"stdout", "stderr", "code"} <= set(entry) or not (
            isinstance(entry["stdout"], str) and isinstance(entry["stderr"], str)
            and type(entry["code"]) is int):
        return None  # not an answer kpi wrote: asked again
    return entry


def store(plan: dict[str, Any], stdout: str, stderr: str, code: int) -> None:
    """Keep an answer, unless its inputs changed while it was computed (an ingest ran at the
    same time) or the project's data folder is not where the key looked."""
    from kpi.catalogue import load_project

    try:
        key, cache_dir = _key(plan["args"], plan["explicit"])
        project = load_project(plan["explicit"])
    except Exception:
        return
    if key != plan["key"] or cache_dir != project.data_dir / CACHE_FOLDER:
        return
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        temporary = cache_dir / f".{key}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps({"stdout": stdout, "stderr": stderr, "code": code}),
                             encoding="utf-8")
        os.replace(temporary, cache_dir / f"{key}.json")
        _prune(cache_dir)
    except OSError:  # a read-only data folder: answers are just not cached
        return


def _prune(cache_dir: Path) -> None:
    entries = sorted(cache_dir.glob("*.json"), key=lambda p: p.stat().st_mtime)
    for stale in entries[:-MAX_ENTRIES]:
        stale.unlink(missing_ok=True)

