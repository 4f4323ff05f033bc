"""The versioned store: one Delta Lake table per dataset, partitioned by month.

Every load is one Delta commit, so it is atomic: a load killed at any moment leaves the table as
it was (files written before the commit are unreferenced and invisible). Loads into one dataset
are serialised by a lock file, so two at once run one after the other. Each commit carries the
load's provenance in its metadata, and every earlier version stays readable (`as_of`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from kpi.catalogue import (
    ID_PATTERN,
    UK,
    ColumnSpec,
    ColumnType,
    DatasetSpec,
    Project,
    polars_schema,
)
from kpi.errors import (
    ConfigError,
    DataError,
    UsageError,
    never_loaded,
    option,
    refusal,
    spelled,
    visible,
)
from kpi.periods import FIRST_YEAR, LAST_YEAR, Month

if TYPE_CHECKING:
    import polars as pl

PROVENANCE_KEY = "kpi.load"
# Set when a table is created. Delta removes log entries older than logRetentionDuration (30
# days by default) when it writes a checkpoint, and with them the ability to read those
# versions: last month's board paper must stay reproducible, so kpi keeps every log entry.
TABLE_CONFIGURATION = {
    "delta.enableExpiredLogCleanup": "false",
    "delta.logRetentionDuration": "interval 36500 days",
}


_COMMIT = re.compile(r"^(\d{20})\.json$")


def table_version(table: Path) -> int | None:
    """A Delta table's latest version: the highest numbered commit file in its _delta_log, read
    from the folder's listing (no deltalake, no Polars: the answer cache keys on it)."""
    try:
        names = os.listdir(table / "_delta_log")
    except OSError:
        return None
    commits = [int(match.group(1)) for name in names if (match := _COMMIT.match(name))]
    return max(commits) if commits else None


def table_origin(table: Path) -> str | None:
    """What identifies a Delta table as the one it was made as: a digest of its first commit
    (version 0, which holds the table's unique id and the moment it was made; kpi keeps every
    log entry, see TABLE_CONFIGURATION), None for a folder with no committed table. Another
    project's table of the same name, or this one deleted and loaded anew, has another; a
    load, a restore or a vacuum keeps it."""
    try:
        first = (table / "_delta_log" / f"{0:020d}.json").read_bytes()
    except OSError:
        return None
    return hashlib.sha256(first).hexdigest()[:16]


def table_state(table: Path) -> tuple[int, str | None] | None:
    """What identifies a Delta table's contents: its latest version and the sha256 of that
    version's commit file (None for a folder with no committed table). The version alone is
    not enough: a table deleted and rebuilt can reach the same version with other rows.
    Inside `one_reading`, the state the table was first seen in there."""
    seen = _READING.get()
    if seen is None:
        return _state_now(table)
    key = str(table)
    if key not in seen:
        seen[key] = _state_now(table)
    return seen[key]


# The tables one answer has seen, by folder, with the state each was first seen in (see
# `one_reading`); None outside an answer.
_READING: ContextVar[dict[str, tuple[int, str | None] | None] | None] = ContextVar(
    "kpi_store_reading", default=None)


@contextmanager
def one_reading() -> Iterator[None]:
    """One answer reads each table at one version: the latest when the answer first looks at
    it. Every read inside (`exists`, `months`, `scan`, `row_count`, the version an answer
    reports, and the engine's caches, keyed on `table_state`) sees that version, so a load
    that commits while a summary is being worked out neither mixes two versions in its
    figures nor files one version's figures under the other's state, where a later answer
    in the same process (a notebook's) would find them. Nested uses share the outer one's;
    each thread has its own."""
    if _READING.get() is not None:
        yield
        return
    token = _READING.set({})
    try:
        yield
    finally:
        _READING.reset(token)


@contextmanager
def reading_now() -> Iterator[None]:
    """Every table read as it stands now, inside an answer too (a load: it must see the
    latest version, never the one an answer it was started from has seen)."""
    token = _READING.set(None)
    try:
        yield
    finally:
        _READING.reset(token)


def _state_now(table: Path) -> tuple[int, str | None] | None:
    version = table_version(table)
    if version is None:
        return None
    try:
        digest = hashlib.sha256((table / "_delta_log" / f"{version:020d}.json").read_bytes())
    except OSError:
        return version, None
    return version, digest.hexdigest()


@dataclass(frozen=True)
class Version:
    """One committed version of a dataset's table."""

    version: int
    timestamp: datetime
    operation: str
    rows_added: int | None
    provenance: dict[str, Any]

    @property
    def rows(self) -> int | None:
        """Rows the load wrote (from its provenance, else Delta's own count)."""
        return self.provenance.get("rows", self.rows_added)

    @property
    def months(self) -> list[str]:
        return list(self.provenance.get("months", []))

    @property
    def sources(self) -> list[dict[str, Any]]:
        """Each source file: name, sha256, bytes, rows loaded and rejected."""
        return list(self.provenance.get("sources", []))


@dataclass(frozen=True)
class AsOf:
    """A point in a table's history: a version number or a moment (UTC) no later than now."""

    version: int | None = None
    moment: datetime | None = None
    # The point as the user wrote it, for messages (not part of its identity).
    text: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str) -> AsOf:
        """A version number or an ISO date or time, in ASCII digits (Python's `\\d` and int()
        also read fullwidth and Arabic-Indic digits). Eight digits that are also a date
        (20251031) are refused as ambiguous. A bare date means the end of that day, UTC; a time
        without a zone is UTC. A point after now is refused: no version was made
        then, and reading it as the latest would give today's figures under a later date."""
        text = text.strip()
        invalid = f"invalid {option('--as-of')} '{text}'"  # each refusal begins so
        if re.fullmatch(r"[0-9]+", text):
            day = _compact_date(text)
            if day is not None:  # 20251031: version 20,251,031 or 31 October 2025?
                raise UsageError(
                    f"{invalid}: it reads as a table version and as the date {day.isoformat()}",
                    hint=f"write {option('--as-of', day.isoformat())} for the end of that day; "
                         + spelled("'kpi history'", "project.history(DATASET)")
                         + " lists the table versions")
            return cls(version=int(text), text=text)
        bad = (f"{invalid}: expected a version number or an ISO date or time such as "
               "2025-10-31 or 2025-10-31T18:00")
        if not text.isascii():
            raise UsageError(bad)
        if re.fullmatch(r"\d{4}-?W\d{2}", text, flags=re.IGNORECASE):
            # Python reads an ISO week as its Monday, so "as of week 49" was the end of that
            # Monday, the loads of the rest of the week not yet made: a week reads two ways.
            raise UsageError(f"{invalid}: it names a week, which reads as its Monday or as its "
                             "end",
                             hint=f"write the day meant, {option('--as-of', text + '-7')} for "
                                  "the end of the week's Sunday, or a date such as 2025-10-31")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise UsageError(bad) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        now = datetime.now(UTC)
        as_now = f"leave out {option('--as-of')} for the figures as they stand now"
        try:
            day = date.fromisoformat(text)
        except ValueError:
            day = None
        if day is not None:  # a bare date means the end of that day
            moment = moment.replace(hour=23, minute=59, second=59, microsecond=999999)
            if day > now.date():
                raise UsageError(f"{invalid}: a date after today "
                                 f"({now.date().isoformat()}, UTC) has no version yet",
                                 hint=as_now)
        elif moment > now:
            raise UsageError(f"{invalid}: a time after now "
                             f"({now.strftime('%Y-%m-%dT%H:%M')} UTC) has no version yet",
                             hint=as_now)
        return cls(moment=moment, text=text)

    @property
    def label(self) -> str:
        """The point as the user wrote it ('3', '2001-01-01', '2025-10-31T18:00')."""
        if self.text:
            return self.text
        if self.version is not None:
            return str(self.version)
        assert self.moment is not None, "an AsOf is a version or a moment"
        return self.moment.isoformat(timespec="seconds")

    @property
    def reading(self) -> str:
        """How a moment as written is read: 'the end of the day, UTC' for a bare date, 'UTC'
        for a time without a zone; '' otherwise."""
        if self.moment is None or not self.text:
            return ""
        try:
            date.fromisoformat(self.text)
            return "the end of the day, UTC"
        except ValueError:
            return "" if datetime.fromisoformat(self.text).tzinfo else "UTC"


def _compact_date(text: str) -> date | None:
    """The date eight digits read as (YYYYMMDD, ISO 8601's basic form, which
    `date.fromisoformat` reads), in a year a typed month may be in; None for any other number.
    Such a number is both a table version and a date, so --as-of refuses it."""
    if len(text) != 8 or not FIRST_YEAR <= int(text[:4]) <= LAST_YEAR:
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


# What Delta (deltalake 1.x) cannot read in a table's path, however it is given (a URI, a
# bare or relative path, a link: it opens the canonical path): its log reader decodes the
# path twice, so a '%' and two hex digits is read as the character they encode ('%41' as
# 'A', '%20' as a space) while its writer decodes once; it takes a backslash for a separator
# and refuses control characters such as a tab. A table there would be written, then never
# read again. A '%' not followed by two hex digits ('50%', '100% done') decodes to itself.
_DELTA_UNREADABLE = re.compile(r"%[0-9A-Fa-f]{2}|[\\\x00-\x1f\x7f]")


def table_uri(path: Path) -> str:
    """A table folder as Delta is given it: a file URI, every unsafe character percent-encoded
    (given a bare path, Delta reads it as a URL, so a '#' would end it). A path Delta cannot
    read is refused in one line, before anything is written."""
    real = path.resolve()
    found = _DELTA_UNREADABLE.search(str(real))
    if found:
        text = found.group(0)
        shown = (f"'{text}' (a '%' and two hex digits)" if text.startswith("%") else
                 "a backslash" if text == "\\" else "a control character")
        raise ConfigError(f"{visible(str(path))}: the folder's path holds {shown}, which Delta "
                          "Lake (the store's format) cannot read back",
                          hint="move the project, or its data folder (or KPI_CACHE_DIR for "
                               "the sample), to a path without '%' before two hex digits, "
                               "backslashes or control characters; spaces, '#', a lone '%' "
                               "and accented letters are fine")
    return real.as_uri()


def table_path(project: Project, dataset_id: str) -> Path:
    if not ID_PATTERN.match(dataset_id):
        raise UsageError(f"invalid dataset name '{dataset_id}'",
                         hint="dataset names are lower case letters, digits and _")
    return project.data_dir / dataset_id


def dataset_spec(project: Project, dataset_id: str) -> DatasetSpec:
    spec = project.datasets.get(dataset_id)
    if spec is None:
        from kpi.errors import did_you_mean

        known = ", ".join(sorted(project.datasets)) or "none"
        raise ConfigError(f"unknown dataset '{dataset_id}' (declared: {known})",
                          hint=did_you_mean(dataset_id, project.datasets,
                                            f"declare it under [datasets.{dataset_id}] in "
                                            f"{project.path}"))
    return spec


def stored_schema(spec: DatasetSpec) -> Any:
    """The Arrow schema of the dataset's table: its columns (`polars_schema`) with each
    datetime an instant in UTC, Delta's `timestamp` (`scan` reads it back as UK time)."""
    import polars as pl

    schema = {name: pl.Datetime("us", "UTC") if isinstance(dtype, pl.Datetime) else dtype
              for name, dtype in polars_schema(spec).items()}
    return pl.DataFrame(schema=schema).to_arrow().schema


def exists(project: Project, dataset_id: str) -> bool:
    """Whether the dataset has a committed table. A first load killed before its commit leaves
    a folder without one; that is no table, and the next load simply creates it."""
    path = table_path(project, dataset_id)
    # Inside an answer, as it first saw the table (`one_reading`); else from the listing.
    return (table_state(path) if _READING.get() is not None
            else table_version(path)) is not None


# Opened tables, by (folder, point in history, latest commit and its sha256: `table_state`).
# Opening a Delta table reads its log; one command asks a table for its months, version and
# rows several times, and a project has a table per dataset. A new commit changes the key, so
# a load is seen at once; so does a table deleted and rebuilt, or copied in from another
# project, at the same version (the version alone would serve a notebook the old rows).
_OPENED: dict[tuple[str, AsOf | None, tuple[int, str | None] | None], Any] = {}


def _table(project: Project, dataset_id: str, as_of: AsOf | None = None):
    from deltalake import DeltaTable
    from deltalake.exceptions import DeltaError, TableNotFoundError

    path = table_path(project, dataset_id)
    state = table_state(path)
    latest = state[0] if state is not None else None
    key = (str(path), as_of, state)
    if latest is not None and key in _OPENED:
        return _OPENED[key]
    uri = table_uri(path)
    try:
        # At the version the key names, not whatever a load committed since it was read.
        table = DeltaTable(uri) if latest is None else DeltaTable(uri, version=latest)
        if as_of is not None:
            _load_as_of(table, path, dataset_id, as_of)
    except TableNotFoundError:
        raise never_loaded(dataset_id) from None
    except DeltaError as exc:
        raise _corrupt(path, _first_line(exc)) from None
    if as_of is not None:
        _require_files(table, dataset_id)
    if latest is not None and table.version() <= latest:
        if len(_OPENED) > 256:
            _OPENED.clear()
        _OPENED[key] = table
    return table


class CorruptTable(DataError):
    """A table whose log cannot be read: every command refuses it (exit 3), whatever else the
    project holds, rather than report its KPIs as having no data."""


def _corrupt(path: Path, reason: str) -> CorruptTable:
    """A table whose log cannot be read: say which, and how to get a version back."""
    return CorruptTable(f"{path}: the stored table cannot be read: {visible(reason)}",
                     hint=f"a commit file in {path / '_delta_log'} is damaged (a disk that "
                          "filled, a copy cut short): move the newest NNN.json aside to read "
                          f"the version before it, or reload the extracts "
                          f"({history_call(path.name, quoted=False)} lists each file's "
                          "sha256); see 'Reproducing and recovering a version' in "
                          "docs/guarantees.md")


class NotAtPoint(DataError):
    """A table with no version to read at the --as-of point asked: one before it was first
    loaded, a version it never had, or one whose files `kpi vacuum` removed. Of one dataset
    among several, its KPIs are reported with no data there (`engine._available`); every
    other refusal of a read (`CorruptTable`, `DeclarationChanged`) is never taken for it."""


def _load_as_of(table, path: Path, dataset_id: str, as_of: AsOf) -> None:
    if as_of.version is not None:
        if as_of.version > table.version():
            raise NotAtPoint(f"dataset '{dataset_id}' has no version {as_of.version} "
                            f"(latest is {table.version()})")
        table.load_as_version(as_of.version)
        return
    # The last version committed at or before the moment, as Delta would choose it, from the
    # log's own commit times (see _history).
    moment = as_of.moment
    assert moment is not None, "an AsOf is a version or a moment"
    history = _history(path)
    made = [v.version for v in history
            if v.timestamp <= moment and v.version <= table.version()]
    if not made:
        first = min((v.timestamp for v in history), default=None)
        notes = [as_of.reading] if as_of.reading else []
        if first is not None:
            # to the millisecond: a time cut to the minute would read as before the load
            loaded = first.astimezone(UTC).isoformat(timespec="milliseconds")
            notes.append(f"first loaded {loaded.removesuffix('+00:00')}Z")
        said = f" ({'; '.join(notes)})" if notes else ""
        raise NotAtPoint(f"dataset '{dataset_id}' did not exist at {as_of.label}{said}",
                        hint="see " + history_call(dataset_id))
    table.load_as_version(max(made))


def history_call(dataset_id: str, *, quoted: bool = True) -> str:
    """How the face that asked lists a dataset's versions: 'kpi history crimes' on the
    command line (without quotes where not `quoted`), project.history('crimes') from
    Python."""
    command = f"kpi history {dataset_id}"
    return spelled(f"'{command}'" if quoted else command, f"project.history({dataset_id!r})")


def load_again_call(dataset_id: str) -> str:
    """How the face that asked loads a dataset's extracts again: kpi ingest crimes ... on
    the command line, project.ingest('crimes', [FILE, ...]) from Python."""
    return spelled(f"kpi ingest {dataset_id} ...", f"project.ingest({dataset_id!r}, [FILE, ...])")


def upgrade_call(dataset_id: str) -> str:
    """How to store a dataset's wall-clock times as instants, which only the command line
    does: run 'kpi upgrade crimes', and from Python, where no call does it, in a terminal."""
    command = f"run 'kpi upgrade {dataset_id}'"
    return spelled(command, f"{command} in a terminal (no call of the Python face does it)")


def spelled_hint(template: str, dataset_id: str) -> str:
    """A hint written with the calls of the face that asked (`kpi.errors.spelled`): its
    {dataset}, and {load}, {history} and {upgrade} as `load_again_call`, `history_call` and
    `upgrade_call` give them, so a notebook's refusal names what a notebook runs."""
    return template.format(dataset=dataset_id, load=load_again_call(dataset_id),
                           history=history_call(dataset_id), upgrade=upgrade_call(dataset_id))


def _require_files(table, dataset_id: str) -> None:
    """An earlier version whose data files `kpi vacuum` removed cannot be read: say so, rather
    than fail reading a missing file."""
    import os

    for local in data_files(table):
        if not os.path.exists(local):
            raise NotAtPoint(f"version {table.version()} of dataset '{dataset_id}' can no longer "
                            "be read: 'kpi vacuum' removed its files (it keeps the latest "
                            "version, those of recent days and every version an exported "
                            "paper read)",
                            hint=f"see {history_call(dataset_id)} for the versions")


def data_files(table) -> list[str]:
    """The live data files of the table's loaded version, as local paths. Delta gives each as
    a percent-encoded path or file URI, and that is not a path: a folder holding a space, '#'
    or an accented letter would be read as another folder. (A '%' in a table's path is never
    followed by two hex digits (see table_uri), so decoding is never ambiguous.)"""
    from urllib.parse import unquote, urlparse

    files = []
    for uri in table.file_uris():
        if uri.startswith("file:"):
            parsed = urlparse(uri)
            uri = f"//{parsed.netloc}{parsed.path}" if parsed.netloc else parsed.path
            if os.name == "nt" and re.match(r"^/[A-Za-z]:", uri):
                uri = uri[1:]  # file:///C:/x is C:/x
        files.append(unquote(uri))
    return files


# Delta reader features a table's Parquet files can be scanned under as they are. A datetime
# column makes a table kpi writes ask for `timestampNtz` (reader version 3), and Polars' Delta
# reader is handed percent-encoded paths it cannot open in a folder holding a space or 'é'.
PLAIN_READER_FEATURES = frozenset({"timestampNtz"})


def scan(project: Project, dataset_id: str, as_of: AsOf | None = None) -> pl.LazyFrame:
    """A lazy scan of the dataset as stored (now, or as of a version or moment), refused where
    kpi.toml now declares its rows to mean something else (`_check_read`)."""
    import polars as pl

    table = _table(project, dataset_id, as_of)
    widened = _check_read(project, dataset_id, table)
    frame = _scan(table, dataset_id)
    # An int column kpi.toml now declares float is read as the floats it holds exactly.
    return frame.with_columns(pl.col(c).cast(pl.Float64) for c in widened) if widened \
        else frame


def stored_rows(project: Project, dataset_id: str) -> pl.LazyFrame:
    """The latest version's rows as a load reads them, the rows it keeps or replaces: under
    whatever declaration they were stored (`replace_months` decides whether it may)."""
    return _scan(_table(project, dataset_id), dataset_id)


def _scan(table: Any, dataset_id: str, files: list[str] | None = None) -> pl.LazyFrame:
    """A lazy scan of a table version's rows (of `files` alone, some of its live files as
    `data_files` names them, where the table is read as plain Parquet: `plain_files`).

    The table's live Parquet files (those of the version read), scanned as Polars' Delta
    reader scans them: the table's schema, the partition column from the folder names, the
    same casts. Polars' own reader also imports PyArrow and NumPy, 0.3 s of every first
    answer, for nothing a table kpi writes uses. A table that needs more of a reader (column
    mapping, deletion vectors: any reader feature but `timestampNtz`, which only names the
    Parquet type of a datetime column) is read by Polars' reader."""
    import polars as pl

    files = data_files(table) if files is None else files
    if not plain_files(table) or not files:
        frame = pl.scan_delta(table)
        return _as_uk_time(frame, frame.collect_schema(), dataset_id)
    schema = pl.Schema(table.schema())
    partitions = set(table.metadata().partition_columns)
    stored = pl.Schema({k: v for k, v in schema.items() if k not in partitions})
    hive = pl.Schema({k: v for k, v in schema.items() if k in partitions})
    frame = pl.scan_parquet(
        files, schema=stored, hive_partitioning=bool(partitions), hive_schema=hive or None,
        cast_options=pl.ScanCastOptions(
            integer_cast="upcast", float_cast=["upcast", "downcast"],
            datetime_cast=("nanosecond-downcast", "millisecond-upcast", "convert-timezone"),
            missing_struct_fields="insert", extra_struct_fields="ignore",
            categorical_to_string="allow"),
        missing_columns="insert", extra_columns="ignore", glob=False).select(list(schema))
    return _as_uk_time(frame, schema, dataset_id)


def plain_files(table: Any) -> bool:
    """Whether the table's Parquet files are read as they are (`_scan`): no reader feature
    but `timestampNtz`. Reader version 2 is column mapping; version 3 lists its features."""
    protocol = table.protocol()
    return not (protocol.min_reader_version == 2
                or set(protocol.reader_features or ()) - PLAIN_READER_FEATURES)


def _as_uk_time(frame: pl.LazyFrame, schema: pl.Schema, dataset_id: str) -> pl.LazyFrame:
    """The table's datetime columns as `polars_schema` gives them: each stored instant read as
    UK time. A column an earlier kpi stored as UK wall-clock time (no zone: Delta's
    `timestamp_ntz`) cannot give an instant (the hour the clocks go back is on it twice, its
    instants lost), so any figure that reads it is refused (`_wall_clock_refused`), while those
    that do not (counts, months, other columns) are worked out as before."""
    import functools

    import polars as pl

    exprs = []
    for name, dtype in schema.items():
        if not isinstance(dtype, pl.Datetime):
            continue
        if dtype.time_zone is not None:
            exprs.append(pl.col(name).dt.convert_time_zone(UK))
        else:
            # The hint in the words of the face that made the scan: a notebook's LazyFrame
            # (`project.scan`) is collected after the call that made it has returned.
            exprs.append(pl.col(name).map_batches(
                functools.partial(_wall_clock_refused, dataset_id, name,
                                  spelled_hint(WALL_CLOCK_HINT, dataset_id)),
                return_dtype=pl.Datetime("us", UK)))
    return frame.with_columns(exprs) if exprs else frame


def _wall_clock_refused(dataset_id: str, column: str, hint: str, _: Any) -> Any:
    raise DataError(WALL_CLOCK.format(dataset=dataset_id, column=column), hint=hint)


# A table whose datetime columns an earlier kpi stored as UK wall-clock time (see _as_uk_time).
WALL_CLOCK = ("dataset '{dataset}' holds column '{column}' as UK wall-clock time, stored by an "
              "earlier kpi, which cannot give a duration or a comparison of instants across a "
              "change of the clocks")
# (Each a `spelled_hint` template.)
WALL_CLOCK_HINT = ("{upgrade} to store its times as instants in place (each read in the "
                   "dataset's time_zone, the UK's by default), or move the table's folder "
                   "({dataset} in the data folder) aside and load its extracts again ({load}): "
                   "kpi now stores each time's instant")


def months(project: Project, dataset_id: str, as_of: AsOf | None = None) -> list[Month]:
    """The months the dataset holds, read from the table's partition list (no data scan); for
    a dataset of quarterly rows, every month of its quarters."""
    from kpi.dateparts import covered

    table = _table(project, dataset_id, as_of)
    _check_read(project, dataset_id, table)
    stored = sorted(Month.parse(p["month"]) for p in table.partitions())
    spec = project.datasets.get(dataset_id)
    return covered(spec, stored) if spec is not None else stored


def unfinished(project: Project, dataset_id: str, as_of: AsOf | None = None
               ) -> dict[Month, datetime]:
    """The months the dataset holds whose rows were loaded before the month (for a quarterly
    or yearly row, its last month) ended in UK time, with when the earliest of them was
    loaded: a month loaded on its 4th holds its first three days, and "the year ending" it
    counted eleven months and three days as twelve (its 92 crimes against about 920 a month
    read as a significant improvement, exit 0).

    The invariant: a month is held in part exactly when the earliest load of the rows it
    holds now happened before the month ended. Read from the add actions' modification times
    in the table's log (no data scan; `loaded_files`): a load writes the moment it commits,
    and every rewrite of stored rows carries their load's time forward (`_add_action`: the
    rows of other parts a `replace_by` load writes again, `upgrade`); a restore adds the old
    add actions as they were. `kpi vacuum` leaves such a month's files as they are
    (`maintenance`), as Delta's compaction writes its files as made now. Kept per table
    version (it is asked on every read, and again by the checks)."""

    from kpi.dateparts import covered

    spec = project.datasets.get(dataset_id)
    months_per_row = spec.months_per_row if spec is not None else 1
    path = table_path(project, dataset_id)
    state = table_state(path)
    key = (str(path), as_of, state, months_per_row)
    if state is not None and key in _UNFINISHED:
        return dict(_UNFINISHED[key])
    table = _table(project, dataset_id, as_of)
    out: dict[Month, datetime] = {}
    for month_text, loads in loaded_files(table).items():
        month = Month.parse(month_text)
        if not _ended(spec, month, min(loads)):
            months = covered(spec, [month]) if spec is not None else [month]
            out.update((m, datetime.fromtimestamp(min(loads) / 1000, tz=UTC)) for m in months)
    if state is not None and table_state(path) == state:  # no commit since it was read
        if len(_UNFINISHED) > 256:
            _UNFINISHED.clear()
        _UNFINISHED[key] = dict(out)
    return out


# `unfinished` of each table version read, by (folder, point in history, `table_state`, months
# a row stands for), as `_OPENED` keeps the tables themselves.
_UNFINISHED: dict[tuple[str, AsOf | None, tuple[int, str | None] | None, int],
                  dict[Month, datetime]] = {}


@dataclass(frozen=True)
class InPart:
    """Why a month a dataset holds is held only in part, so that no window counts it
    (`held_in_part`): its rows were `loaded` before the month ended (`unfinished`), or they
    `start` after its first day or `end` before its last (`cut_short`)."""

    loaded: datetime | None = None
    start: date | None = None
    end: date | None = None
    part: str | None = None  # "force 'C'": only that part's rows run short

    def reason(self) -> str:
        """'its rows were loaded on 4 October 2025, before the month ended', 'its rows start
        on 11 October 2024'."""
        if self.loaded is not None:
            return f"its rows were loaded on {loaded_day(self.loaded)}, before the month ended"
        return f"{self.rows()}, where its other months run from their first day to their last"

    def rows(self) -> str:
        """'its rows start on 11 October 2024', "the rows of force 'C' end on 15 September
        2025": where the rows of a month cut short run."""
        whose = f"the rows of {self.part}" if self.part else "its rows"
        return f"{whose} {self.span()}"

    def remedy(self, month: Month) -> str:
        """What makes the month whole."""
        if self.loaded is not None:
            return f"load {month}'s extract again once it has ended"
        return (f"load the whole of {month}" + (f" for {self.part}" if self.part else "")
                + " (a query bounded by whole months, not a rolling window of days), or, where "
                f"its records really {self.span()}, declare it whole_months = "
                f'["{month}"] in the dataset\'s table of kpi.toml')

    def span(self) -> str:
        """'start on 11 October 2024', 'end on 1 October 2025': where the rows run."""
        from kpi.periods import day_words

        return " and ".join(([f"start on {day_words(self.start)}"] if self.start else []) + (
            [f"end on {day_words(self.end)}"] if self.end else []))


def _uk() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(UK)


def loaded_day(when: datetime) -> str:
    """'6 December 2026': the UK day of an instant, as a note names when rows were loaded."""
    from kpi.periods import day_words

    return day_words(when.astimezone(_uk()))


def held_in_part(project: Project, dataset_id: str, as_of: AsOf | None = None,
                 told: tuple[str, ...] = ()) -> dict[Month, InPart]:
    """The months the dataset holds only in part, which no window counts: loaded before they
    ended (`unfinished`), or cut short within them (`cut_short`, each part of `told` too).
    Asked through `kpi.engine.held_in_part`, which names the columns telling its parts
    apart."""
    out = {month: InPart(loaded=when) for month, when in
           unfinished(project, dataset_id, as_of).items()}
    out.update(cut_short(project, dataset_id, as_of, set(out), told))
    return out


# The rows a month's missing first (or last) days would hold at the dataset's rate, from which
# their absence is no chance: a Poisson count of mean 10 is 0 once in about 22,000 months.
CUT_ROWS = 10
# The other months, each running from its first day to its last, that show a dataset's rows
# spread over every day of a month (events, not a roll taken on one day).
CUT_EVIDENCE = 3


def cut_short(project: Project, dataset_id: str, as_of: AsOf | None = None,
              early: set[Month] | frozenset[Month] = frozenset(),
              told: tuple[str, ...] = (), declared: bool = False, parts: bool = True
              ) -> dict[Month, InPart]:
    """The months whose rows start after the month's first day or end before its last, in a
    dataset whose rows are spread over every day of a month: each as `InPart`, with the day its
    rows start (None where on the 1st) and end (None where on the last day), and the part
    whose rows run short where only a part's do.

    A nightly query over a rolling window (`day >= current_date - 365`) or an export of "the
    last 365 days", loaded for the first time, stored October from the 11th as October, and
    the year ending September read 355 where the records hold 365, exit 0 (a load into stored
    rows is refused by the load, `commit._check_cut`; a month new to the store has nothing to
    tell by there). Told at read time from the date column's bounds in each file's add action
    (no data scan), in UK days: a month is cut short where most of the months held (at least
    CUT_EVIDENCE, besides the `early` ones, loaded before they ended) run from their first
    day to their last, and its missing days would hold CUT_ROWS rows or more at those months'
    rate. A dataset dated by a month, or by a roll taken on one day, never runs over a month;
    one so sparse that a day of no rows is common never shows the rate: neither is
    judged. For a dataset loaded part by part (`replace_by`), each part's months are judged
    so too (`part_months`, the scan `parts_held` reads): one force's nightly query over a
    rolling window, loaded beside the others' whole months, hides in the month's bounds; and
    so are the parts of each stored column of `told` (a peer group's force in a national
    extract loaded whole: one force's month supplied to its 15th beside the others' whole).
    Kept per table version. The months kpi.toml declares whole as stored (`whole_months`) are
    left out; with `declared`, they alone are given (`kpi datasets` lists them). Without
    `parts`, only the dataset's own bounds are judged (no scan: what a load says of itself)."""
    spec = project.datasets.get(dataset_id)
    column = _dated_by_day(spec)
    if spec is None or column is None:
        return {}
    path = table_path(project, dataset_id)
    state = table_state(path)
    key = (str(path), as_of, state, frozenset(early), told, parts)
    if state is not None and key in _CUT_SHORT:
        return _not_declared(spec, _CUT_SHORT[key], declared)
    table = _table(project, dataset_id, as_of)
    spans = _stored_spans(table, column)
    out = {month: InPart(start=start, end=end) for month, (start, end) in _cut({
        Month.parse(text): (first, last, rows) for text, (first, last, rows) in spans.items()
        if first is not None and Month.parse(text) not in early}).items()}
    # Each part of the dataset's loads (its replace_by values together), then of each
    # stored column telling parts apart that it is not loaded by.
    derived = {d.name for d in spec.derived}
    groups = ([spec.replace_by] if spec.replace_by else []) + [
        (c,) for c in told if (spec.column(c) is not None or c in derived)
        and c not in spec.replace_by]
    for columns in groups if parts else []:
        for cuts in _cut_parts(project, dataset_id, as_of, columns, early).values():
            for month, why in cuts.items():
                out.setdefault(month, why)
    if state is not None and table_state(path) == state:
        if len(_CUT_SHORT) > 256:
            _CUT_SHORT.clear()
        _CUT_SHORT[key] = dict(out)
    return _not_declared(spec, out, declared)


def _stored_spans(table: Any, column: ColumnSpec) -> dict[str, list[Any]]:
    """Each month partition of a table version with the first and last UK day its rows are
    dated and its rows ([None, None, 0] where they cannot be told): from the date column's
    bounds in each file's add action (no data scan), the rule of `cut_short`."""
    import polars as pl

    kind = pl.Schema(table.schema()).get(column.name)
    # An instant's bound is UTC (its UK day is asked); an earlier kpi's wall-clock time is
    # the UK's already.
    wall = isinstance(kind, pl.Datetime) and kind.time_zone is None
    actions = pl.DataFrame(table.get_add_actions(flatten=True))
    low, high = f"min.{column.name}", f"max.{column.name}"
    spans: dict[str, list[Any]] = {}
    if actions.height and low in actions.columns and high in actions.columns:
        spans = _spans(actions.select("partition.month", low, high, "num_records").iter_rows(),
                       wall)
    # Months whose files carry no bounds of the date column (Delta keeps statistics of a
    # table's first 32 columns: a date column declared after them has none) are read from
    # the rows, one scan of the month and the date column: taken as whole, a month of rows
    # from the 11th read as a year of 355 days, "improving", exit 0.
    listed = set(actions["partition.month"].to_list()) if actions.height else set()
    unbounded = sorted(m for m in listed if spans.get(m, [None])[0] is None)
    if unbounded:
        got = (pl.scan_pyarrow_dataset(table.to_pyarrow_dataset())
               .filter(pl.col("month").is_in(unbounded))
               .group_by("month").agg(pl.col(column.name).min().alias("first"),
                                      pl.col(column.name).max().alias("last"),
                                      pl.len().alias("rows"))
               .collect())
        for month, first, last, rows in got.iter_rows():
            spans[month] = ([None, None, 0] if first is None or last is None
                            else [_uk_day(first, wall), _uk_day(last, wall), int(rows)])
    return spans


def _spans(files: Iterator[tuple[Any, ...]], wall: bool = False) -> dict[str, list[Any]]:
    """Each month of data files given as (month, first, last, rows) with the first and last
    UK day of its rows and their count; [None, None, 0] where a file has no bounds (the month
    not judged)."""
    spans: dict[str, list[Any]] = {}
    for month, first, last, rows in files:
        if first is None or last is None:
            spans[month] = [None, None, 0]
            continue
        first, last = _uk_day(first, wall), _uk_day(last, wall)
        span = spans.setdefault(month, [first, last, 0])
        if span[0] is not None:
            span[0], span[1] = min(span[0], first), max(span[1], last)
        span[2] += int(rows or 0)
    return spans


def cut_by_load(project: Project, spec: DatasetSpec, staged: dict[str, list[DataFile]],
                edges: list[str]) -> dict[Month, InPart]:
    """The months of `edges` (a query result's first and last) that the table a load of the
    `staged` files makes would hold cut short, by `cut_short`'s rule over the months it would
    hold: those the store keeps, and those the load writes (each as its own files bound it,
    where the dataset is loaded whole by month; with the stored part's bounds where it is
    loaded part by part). Asked before the commit, whatever the store holds, so that a query
    cut within its first (or last) month is refused on its first load as on every later
    one: loaded into an empty store, a year and the first hour of October (a query run at
    00:30 UTC on 1 October, its month of October ended) stored October's hour without a word.
    A month not ended now is held in part anyway (`unfinished`), and one the project declares
    whole (`whole_months`) is counted as its rows hold it: neither is given."""
    column = _dated_by_day(spec)
    if column is None or not edges:
        return {}
    spans: dict[str, list[Any]] = {}
    early: set[Month] = set()
    if exists(project, spec.id):
        table = _table(project, spec.id)
        spans = _stored_spans(table, column)
        early = set(unfinished(project, spec.id))
        if not spec.replace_by:  # each month the load writes is its rows alone, loaded now
            spans = {m: span for m, span in spans.items() if m not in staged}
            early = {m for m in early if str(m) not in staged}
    now = int(datetime.now(UTC).timestamp() * 1000)
    for month, files in staged.items():
        loaded = _spans(iter([(month, f.stats.get("minValues", {}).get(column.name),
                               f.stats.get("maxValues", {}).get(column.name), f.rows)
                              for f in files]))
        span = loaded.get(month)
        if span is None:
            continue
        held = spans.get(month)
        if held is not None and (held[0] is None or span[0] is None):
            spans[month] = [None, None, 0]
        elif held is not None:
            spans[month] = [min(held[0], span[0]), max(held[1], span[1]), held[2] + span[2]]
        else:
            spans[month] = span
        if not _ended(spec, Month.parse(month), now):
            early.add(Month.parse(month))
    cut = _cut({Month.parse(m): (first, last, rows) for m, (first, last, rows) in spans.items()
                if first is not None and Month.parse(m) not in early})
    return _not_declared(spec, {month: InPart(start=start, end=end)
                                for month, (start, end) in cut.items() if str(month) in edges})


def _dated_by_day(spec: DatasetSpec | None) -> ColumnSpec | None:
    """The date column of a dataset of monthly rows dated by a day or a time, the only kind
    whose months the cut rule judges (a month or a quarter's date runs over no days); None
    for any other."""
    column = spec.column(spec.date) if spec is not None and spec.date else None
    if spec is None or spec.months_per_row != 1 or column is None \
            or column.type not in (ColumnType.DATE, ColumnType.DATETIME):
        return None
    return column


def _cut_parts(project: Project, dataset_id: str, as_of: AsOf | None, columns: tuple[str, ...],
               early: set[Month] | frozenset[Month]) -> dict[tuple, dict[Month, InPart]]:
    """`cut_short`'s rule over each part of `columns` (its values together, in order): the
    months its own rows start late in or end early in (`part_months`), but the `early` ones."""
    parts = part_months(project, dataset_id, as_of, columns)
    if parts is None:
        return {}
    by_part: dict[tuple, dict[Month, tuple[date, date, int]]] = {}
    for row in parts.iter_rows(named=True):
        month = Month.parse(row["month"])
        part = tuple(row[c] for c in columns)
        if row["first"] is not None and month not in early and None not in part:
            by_part.setdefault(part, {})[month] = (row["first"], row["last"], row["rows"])
    out: dict[tuple, dict[Month, InPart]] = {}
    for part, bounds in sorted(by_part.items(), key=str):
        label = ", ".join(f"{c} '{v}'" for c, v in zip(columns, part, strict=True))
        if cuts := _cut(bounds):
            out[part] = {month: InPart(start=start, end=end, part=label)
                         for month, (start, end) in cuts.items()}
    return out


def cut_parts(project: Project, dataset_id: str, as_of: AsOf | None, column: str
              ) -> dict[Any, dict[Month, InPart]]:
    """Each value of a column telling parts apart (stored or derived) whose own months are cut
    short within them, with why (`cut_short`'s rule, each part judged by its own rows), but the
    months loaded before they ended (every part's) and those declared whole: so that `kpi
    compare --by` that column leaves out only the part whose rows run short, not every part's
    window holding the month."""
    spec = project.datasets.get(dataset_id)
    if spec is None or _dated_by_day(spec) is None:
        return {}
    early = set(unfinished(project, dataset_id, as_of))
    return {part[0]: kept for part, cuts in
            _cut_parts(project, dataset_id, as_of, (column,), early).items()
            if (kept := _not_declared(spec, cuts))}


def _not_declared(spec: DatasetSpec, cut: dict[Month, InPart], declared: bool = False
                  ) -> dict[Month, InPart]:
    """The months cut short but those the project declares whole as stored (`whole_months`:
    a system down for a month's first ten days, records deleted), for every part; with
    `declared`, those alone."""
    return {month: why for month, why in cut.items()
            if (month in spec.whole_months) == declared}


def _cut(bounds: dict[Month, tuple[date, date, int]]
         ) -> dict[Month, tuple[date | None, date | None]]:
    """`cut_short`'s rule over one dataset's (or part's) months, each with its first and last
    UK day and rows: where at least CUT_EVIDENCE months, and most, run from their first day
    to their last, each other month whose days missing at its start (or end) would hold
    CUT_ROWS rows or more at their rate, with the day its rows start (end) there."""
    import calendar

    def days_in(month: Month) -> int:
        return calendar.monthrange(month.year, month.month)[1]

    full = {m: b for m, b in bounds.items()
            if b[0] == date(m.year, m.month, 1) and b[1] == date(m.year, m.month, days_in(m))}
    if len(full) < CUT_EVIDENCE or 2 * len(full) <= len(bounds):
        return {}  # most months run short: a sparse dataset, or one of rolls
    rate = sum(b[2] for b in full.values()) / sum((b[1] - b[0]).days + 1 for b in full.values())
    out: dict[Month, tuple[date | None, date | None]] = {}
    for month, (first, last, _rows) in sorted(bounds.items()):
        if month in full:
            continue
        before = (first - date(month.year, month.month, 1)).days
        after = (date(month.year, month.month, days_in(month)) - last).days
        start = first if before and before * rate >= CUT_ROWS else None
        end = last if after and after * rate >= CUT_ROWS else None
        if start or end:
            out[month] = (start, end)
    return out


_CUT_SHORT: dict[tuple[str, AsOf | None, tuple[int, str | None] | None, frozenset[Month],
                       tuple[str, ...], bool], dict[Month, InPart]] = {}


def day_of(spec: DatasetSpec, schema: Any) -> pl.Expr | None:
    """The day each row is dated, as the UK calendar has it (an instant's UK date), of rows of
    this `schema` (new rows or stored ones); None for a dataset dated by a month (or by a
    year and a part of it), which no load can cut short within a month. Read by each part's
    days (`part_months`), and by a load's check of a month cut short where the rows are dated
    by a day (`edge_of`)."""
    import polars as pl

    column = spec.column(spec.date) if spec.date else None
    if column is None or column.type not in (ColumnType.DATE, ColumnType.DATETIME) \
            or column.name not in schema:
        return None
    kind = schema[column.name]
    day = pl.col(column.name)
    if isinstance(kind, pl.Datetime):
        if kind.time_zone is not None:
            day = day.dt.convert_time_zone(UK)
        return day.dt.date()
    return day if kind == pl.Date else None


def edge_of(spec: DatasetSpec, schema: Any) -> pl.Expr | None:
    """Where each row falls within its month, as the check of a load that cuts a month short
    compares new rows with stored ones (`kpi.ingest.commit._check_cut`, from the first and
    last the load's rows give, `kpi.ingest.stage`): the instant of a dataset dated by a zoned
    datetime, in UTC (so that rows written in any zone compare), else the UK day
    (`day_of`). By days, a query cut at 00:00 UTC on 1 June, 01:00 UK time, started on June's
    first day like the stored month did, and replaced the month's 360 stored rows with 359,
    exit 0. None where `day_of` is."""
    import polars as pl

    day = day_of(spec, schema)
    if day is None or spec.date is None:
        return None
    kind = schema[spec.date]
    if isinstance(kind, pl.Datetime) and kind.time_zone is not None:
        return pl.col(spec.date).dt.convert_time_zone("UTC")
    return day


def _uk_day(value: Any, wall: bool = False) -> date:
    """A bound of the date column as a UK day: a date as it is, an instant (UTC, or naive UTC
    as the log's statistics give it) as its UK date, a `wall`-clock time (an earlier kpi's
    UK time) as its date."""
    if isinstance(value, datetime):
        if wall:
            return value.date()
        instant = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return instant.astimezone(_uk()).date()
    if isinstance(value, date):
        return value
    text = str(value)
    if len(text) > 10:  # a staged file's instant, as Delta's log writes it (`_stat_value`)
        return _uk_day(datetime.fromisoformat(text.replace("Z", "+00:00")), wall)
    return date.fromisoformat(text)


def loaded_files(table: Any) -> dict[str, dict[int, list[str]]]:
    """The live data files of a table version (local paths, as `data_files` gives them) by
    month partition, then by when their rows were first loaded, in milliseconds since the
    epoch: each file's add action's `modificationTime`. A load writes the moment it commits
    as every file's; a rewrite of stored rows writes the time of the files it read them from
    (`_add_action`), so one file holds rows of one load time, and the month's earliest is
    that of its rows' earliest load (`unfinished`)."""
    from urllib.parse import unquote

    import polars as pl

    actions = pl.DataFrame(table.get_add_actions(flatten=True))
    if not actions.height:
        return {}
    local = {_in_table(file): file for file in data_files(table)}
    out: dict[str, dict[int, list[str]]] = {}
    for relative, month, millis in actions.select(
            "path", "partition.month", "modification_time").iter_rows():
        file = local.get(_in_table(unquote(relative)), unquote(relative))
        out.setdefault(month, {}).setdefault(int(millis), []).append(file)
    return out


def _in_table(file: str) -> str:
    """A data file's path from its month's folder (`month=YYYY-MM/part-...parquet`)."""
    file = file.replace("\\", "/")
    return file[file.rindex("month="):] if "month=" in file else file


def parts_held(project: Project, dataset_id: str, as_of: AsOf | None = None
               ) -> dict[tuple, list[Month]]:
    """For a dataset with `replace_by` columns, the months each part (a tuple of their values)
    holds rows in: its extracts are loaded part by part, so a month can be held for one force
    and never loaded for another. Empty for a dataset without them. From `part_months` (one
    scan of the month and the replace_by columns); for quarterly rows, every month of their
    quarters."""

    from kpi.dateparts import covered

    spec = project.datasets.get(dataset_id)
    held = part_months(project, dataset_id, as_of)
    if spec is None or held is None:
        return {}
    out: dict[tuple, list[Month]] = {}
    for row in held.select("month", *spec.replace_by).iter_rows():
        out.setdefault(tuple(row[1:]), []).append(Month.parse(row[0]))
    return {part: covered(spec, sorted(months)) for part, months in out.items()}


def part_months(project: Project, dataset_id: str, as_of: AsOf | None = None,
                columns: tuple[str, ...] | None = None) -> pl.DataFrame | None:
    """Each part's months, of a dataset with `replace_by` columns (or of `columns` given,
    stored or derived): a row per month and values of those columns, with the UK day its rows
    start (`first`) and end (`last`; null for a dataset dated by a month) and its `rows`. None
    for a dataset without them, or not stored, or whose derived column cannot be computed (the
    read that needs it says why). One scan of the month, those columns and the date, kept per
    table version: asked by `parts_held` and `cut_short` on every read."""
    import polars as pl

    from kpi.catalogue import derive

    spec = project.datasets.get(dataset_id)
    columns = spec.replace_by if spec is not None and columns is None else columns
    if spec is None or not columns or not exists(project, dataset_id):
        return None
    path = table_path(project, dataset_id)
    state = table_state(path)
    # A derived column (a force from `falls_within`) is computed as every read computes it:
    # its expression is part of what the scan answers.
    derived = tuple((d.name, d.expression) for d in spec.derived) \
        if any(spec.column(c) is None for c in columns) else ()
    key = (str(path), as_of, state, columns, spec.date, derived)
    if state is not None and key in _PART_MONTHS:
        return _PART_MONTHS[key]
    frame = scan(project, dataset_id, as_of)
    if derived:
        frame = derive(frame, replace(spec, as_at=None), ())
    # As stored: a datetime an earlier kpi stored as wall-clock time is refused where read
    # (`_as_uk_time`), so it gives no day here, as a month or a year's date gives none.
    stored = pl.Schema(_table(project, dataset_id, as_of).schema())
    kind = stored.get(spec.date) if spec.date else None
    day = None if isinstance(kind, pl.Datetime) and kind.time_zone is None \
        else day_of(spec, stored)
    bounds = ([day.min().alias("first"), day.max().alias("last")] if day is not None else
              [pl.lit(None, pl.Date).alias("first"), pl.lit(None, pl.Date).alias("last")])
    try:
        held = (frame.group_by("month", *columns)
                .agg(*bounds, pl.len().alias("rows"))
                .sort("month", *columns, nulls_last=True)
                .collect(engine="streaming"))
    except pl.exceptions.PolarsError:
        if not derived:
            raise
        return None
    if state is not None and table_state(path) == state:  # no commit since it was read
        if len(_PART_MONTHS) > 256:
            _PART_MONTHS.clear()
        _PART_MONTHS[key] = held
    return held


# `part_months` of each table version read, by (folder, point in history, `table_state`, the
# parts' columns, the date column).
_PART_MONTHS: dict[tuple, pl.DataFrame] = {}


def row_count(project: Project, dataset_id: str, as_of: AsOf | None = None) -> int:
    """Rows in the table, from the record counts its log keeps for each data file (no scan)."""
    table = _table(project, dataset_id, as_of)
    _check_read(project, dataset_id, table)
    return _rows_of(table)


def stored_row_count(project: Project, dataset_id: str) -> int:
    """The latest version's rows, whatever declaration they were stored under: a count that
    means the same under any (`kpi datasets` lists a table whose reads are refused with it)."""
    return _rows_of(_table(project, dataset_id))


def _rows_of(table: Any) -> int:
    import polars as pl

    actions = pl.DataFrame(table.get_add_actions(flatten=True))
    return int(actions["num_records"].sum()) if actions.height else 0


def current_version(project: Project, dataset_id: str) -> int | None:
    if not exists(project, dataset_id):
        return None
    return _table(project, dataset_id).version()


def resolve_version(project: Project, dataset_id: str, as_of: AsOf | None) -> int:
    return _table(project, dataset_id, as_of).version()


def history(project: Project, dataset_id: str) -> list[Version]:
    """Every committed version of the dataset, oldest first, with each load's provenance."""
    _table(project, dataset_id)  # the table exists and can be read
    return _history(table_path(project, dataset_id))


def _history(path: Path) -> list[Version]:
    """Each commit's information, read from the commit files of the table's log. Delta's own
    history() returns nothing for a table whose path holds a '#' or a '?'."""
    log = path / "_delta_log"
    versions = []
    for name in os.listdir(log):
        match = _COMMIT.match(name)
        if match is None:
            continue
        entry = _commit_info(log / name)
        provenance = entry.get(PROVENANCE_KEY)
        metrics = entry.get("operationMetrics") or {}
        versions.append(Version(
            version=int(match.group(1)),
            timestamp=datetime.fromtimestamp(int(entry.get("timestamp", 0)) / 1000, tz=UTC),
            operation=str(entry.get("operation", "")),
            rows_added=metrics.get("num_added_rows"),
            provenance=json.loads(provenance) if provenance else {},
        ))
    return sorted(versions, key=lambda v: v.version)


def _commit_info(commit: Path) -> dict[str, Any]:
    """The commitInfo action of one commit file (its first line, as Delta writes it)."""
    with open(commit, encoding="utf-8") as handle:
        for line in handle:
            try:
                action = json.loads(line)
            except json.JSONDecodeError:
                raise _corrupt(commit.parent.parent, f"{commit.name} is not a whole commit "
                               "(cut short or damaged)") from None
            if isinstance(action, dict) and isinstance(action.get("commitInfo"), dict):
                return action["commitInfo"]
    return {}


def inside_project(project: Project, path: Path, what: str) -> Path:
    """`path` with every link resolved, which must lie inside the project folder: a data
    folder, table or quarantine folder that is a link to elsewhere would write outside it."""
    root = project.root.resolve()
    resolved = path.resolve()
    if resolved != root and root not in resolved.parents:
        raise ConfigError(f"{path}: the {what} is a link to {resolved}, outside the project "
                          f"folder {root}",
                          hint="kpi writes only inside the project folder; replace the link "
                               "with a folder")
    return resolved


def _writable_data_dir(project: Project) -> None:
    """Refuse a data folder, or a table folder in it, that is a link leading outside the
    project (the bundled sample's store lives in the user cache, by design)."""
    if project.bundled:
        return
    inside_project(project, project.data_dir, "data folder")
    for dataset_id in project.datasets:
        inside_project(project, project.data_dir / dataset_id, f"table folder of '{dataset_id}'")


@contextmanager
def _locked(project: Project, dataset_id: str) -> Iterator[None]:
    from kpi.locks import locked

    _writable_data_dir(project)
    project.data_dir.mkdir(parents=True, exist_ok=True)
    # A lock file planted as a link to another file is refused, never written through.
    with locked(project.data_dir / f".{dataset_id}.lock", "load lock"):
        yield


def stored_counts(project: Project, dataset_id: str, keys: pl.DataFrame) -> pl.DataFrame:
    """Rows stored for each (month, replace_by value...) in `keys`, as column "before" (only
    keys with stored rows appear). Reads only the months concerned, from their partitions."""
    import polars as pl

    names = keys.columns
    months = keys["month"].unique().to_list()
    if not exists(project, dataset_id):
        return keys.clear().with_columns(pl.lit(0, dtype=pl.UInt32).alias("before"))
    return (stored_rows(project, dataset_id).filter(pl.col("month").is_in(months))
            .group_by(names).agg(pl.len().alias("before")).collect())


@contextmanager
def staging_folder(project: Project, dataset_id: str) -> Iterator[Path]:
    """A new temporary folder inside the data folder for a load's staged rows, removed when
    the load ends however it ends. One a killed load left behind is removed by the next load.

    Each folder has a lock file beside it (`.ingest-PID-TOKEN.lock`), held for as long as the
    load runs and taken before the folder exists: a folder whose lock can be taken belongs to
    no running load. (A lock, not a probe of the process id, which Windows does not offer.)"""
    import secrets
    import shutil

    from kpi.locks import locked

    table_uri(table_path(project, dataset_id))  # a valid name, in a path Delta can read
    _writable_data_dir(project)
    folder = project.data_dir
    created = not folder.exists()
    name = f".ingest-{os.getpid()}-{secrets.token_hex(6)}"
    staging, lock = folder / name, folder / f"{name}.lock"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(folder)
    except OSError as exc:
        raise refusal(exc, table_path(project, dataset_id)) from None
    try:
        with locked(lock, "staging lock"):
            try:
                staging.mkdir()
            except OSError as exc:
                raise refusal(exc, table_path(project, dataset_id)) from None
            try:
                yield staging
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    finally:
        lock.unlink(missing_ok=True)
        if created:  # a first load that failed leaves no empty data folder behind
            try:
                folder.rmdir()
            except OSError:
                pass


def _remove_abandoned(folder: Path) -> None:
    import shutil

    from kpi.locks import attempt

    for staging in folder.glob(".ingest-*"):
        if not staging.is_dir() or staging.is_symlink():
            continue
        lock = staging.with_name(f"{staging.name}.lock")
        with attempt(lock) as abandoned:
            if abandoned:
                shutil.rmtree(staging, ignore_errors=True)
        if abandoned:
            lock.unlink(missing_ok=True)


def replace_months(project: Project, dataset_id: str, files: dict[str, list[DataFile]],
                   keys: pl.DataFrame, provenance: dict[str, Any],
                   guard: Callable[[pl.DataFrame, int], dict[str, Any]] | None = None,
                   moved: Callable[[DataFile], None] | None = None) -> int:
    """Replace the months `keys` names with the data files `files` holds, in one atomic commit.

    `keys` holds each (month, replace_by value...) the rows hold, once; `files` the data files
    `MonthFiles` wrote for each month, in the staging folder. Under the load lock they are moved
    into the table's month folders (a rename: each row is written once), then added, and the
    replaced months' files removed, in one Delta commit. Until that commit the files belong to
    no version: a load stopped part-way leaves the table as it was (and removes them, unless
    killed).

    Returns the new table version. Months the rows do not cover are untouched, so a revised
    re-extract never double counts and loading the same file twice changes nothing. A dataset
    with `replace_by` columns replaces only the (month, value...) combinations the rows hold:
    the stored rows of its other values in those months are written again beside the new ones,
    so one force's extract never removes another force's rows.

    `guard(before, version)`, when given, runs under the load lock, just before the writes, with
    the rows stored for each (month, replace_by value...) the rows hold and the version the
    commit will create: it may refuse the load (raise) or return entries for the provenance.
    `moved(file)`, when given, is called as each data file is moved into the table.
    """
    from deltalake import CommitProperties, DeltaTable, Schema
    from deltalake.exceptions import DeltaError
    from deltalake.transaction import create_table_with_add_actions

    spec = dataset_spec(project, dataset_id)
    arrow_schema = stored_schema(spec)
    path = table_path(project, dataset_id)
    months = sorted(keys["month"].unique().to_list())
    with _locked(project, dataset_id):
        if not project.bundled:  # the folders this commit writes into must not lead outside
            for folder in ["_delta_log", *(f"month={m}" for m in months)]:
                inside_project(project, path / folder, f"folder {folder} of '{dataset_id}'")
        present = exists(project, dataset_id)
        drift = _check_schema(project, dataset_id, spec) if present else None
        if drift is None and present and not project.bundled:
            at = _table(project, dataset_id).version()
            if _unrecorded(spec, path, at, _commit_digest(path, at)):
                drift = UNRECORDED  # every stored row replaced, or none
        left = sorted({p["month"] for p in _table(project, dataset_id).partitions()}
                      - set(months)) if present else []
        if drift is not None and left:
            # Stored under another declaration: the load may replace every stored row, never
            # leave some meaning what they did beside its own (`_check_read`).
            raise _drift_kept(dataset_id, drift, f"month {left[0]}")
        if guard is not None:
            before = stored_counts(project, dataset_id, keys)
            version = _table(project, dataset_id).version() + 1 if present else 0
            provenance = {**provenance, **guard(before, version)}
        written: list[Path] = []
        try:
            adds = []
            now = now_millis()  # every file the load writes holds rows loaded now
            # months held in part (loaded before they ended): rows loaded again as they were
            # keep that time (`_loaded_again`)
            # (only those that have ended since: a load before the month ends is early too)
            early = ({str(m) for m in unfinished(project, dataset_id) if _ended(spec, m, now)}
                     if present else set())
            loads = (loaded_files(_table(project, dataset_id))
                     if present and (spec.replace_by or early & set(months)) else {})
            for month in months:
                if present and spec.replace_by:
                    kept = _kept_in_month(project, dataset_id, spec, keys, month, arrow_schema,
                                          loads.get(month, {}))
                    if kept and drift is not None:
                        raise _drift_kept(dataset_id, drift, f"rows of other {spec.replace_by[0]}"
                                          f" values in month {month}")
                    adds.extend(_write_month(path, month, arrow_schema, [rows], written, loaded)
                                for loaded, rows in kept)
                again = (_loaded_again(project, dataset_id, spec, keys, month, arrow_schema,
                                       files.get(month, []), loads.get(month, {}), now)
                         if month in early else None)
                if again is not None:
                    adds.extend(_write_month(path, month, arrow_schema, [rows], written, loaded)
                                for loaded, rows in again)
                    for data in files.get(month, []):
                        if moved is not None:
                            moved(data)
                    continue
                for data in files.get(month, []):
                    folder = path / f"month={month}"
                    folder.mkdir(parents=True, exist_ok=True)
                    written.append(folder / data.name)
                    _move(data.path, folder / data.name)
                    adds.append(_add_action(month, data.name, data.size, data.stats, now))
                    if moved is not None:
                        moved(data)
            metadata = {PROVENANCE_KEY: json.dumps(provenance, sort_keys=True)}
            schema = Schema.from_arrow(arrow_schema)
            commit = CommitProperties(custom_metadata=metadata)
            with _rust_panics_held():
                if present:
                    DeltaTable(table_uri(path)).create_write_transaction(
                        adds, mode="overwrite", schema=schema, partition_by=["month"],
                        partition_filters=[("month", "in", months)], commit_properties=commit)
                else:
                    create_table_with_add_actions(
                        table_uri(path), schema, adds, mode="error", partition_by=["month"],
                        configuration=TABLE_CONFIGURATION, commit_properties=commit)
        except OSError as exc:
            _remove(written)
            raise refusal(exc, path) from None
        except DeltaError as exc:
            _remove(written)
            # Delta reports the operating system's refusals (a full or read-only disk) in its
            # own errors; the data files written are not part of any version.
            code = re.search(r"\(os error (\d+)\)", str(exc))
            if code is None:
                raise
            raise refusal(OSError(int(code.group(1)), _first_line(exc)), path) from None
        except BaseException:
            _remove(written)
            raise
        return _table(project, dataset_id).version()


def _move(source: Path, target: Path) -> None:
    """A staged data file into the table: a rename, as the staging folder is in the data
    folder; a copy only where the table's folder is another file system (a mount)."""
    import errno
    import shutil

    try:
        os.replace(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.copyfile(source, target)


def definition(spec: DatasetSpec) -> dict[str, Any]:
    """What the stored values of a dataset mean, as a load records it (`DEFINITION_KEY` in its
    provenance): the column (or columns) placing a row in its month, and each column's type
    and the source columns read into it (its name and `from`). The settings that only refuse
    rows (`required`, `min`, `pattern`, `unique`), say how loads replace one another
    (`replace_by`), how the next extracts write their times (`time_zone`: stored times are
    instants) or are worked out when rows are read (`derived`, `published`, a label) are not
    in it: changing them leaves every stored value meaning what it meant."""
    parts = spec.date_parts
    return {"date": spec.date,
            "date_parts": [parts.kind, parts.year, parts.part] if parts else None,
            "columns": {c.name: {"type": str(c.type),
                                 "from": list(dict.fromkeys((c.name, *c.sources)))}
                        for c in spec.columns}}


DEFINITION_KEY = "definition"


def read_as(spec: DatasetSpec) -> DatasetSpec:
    """The declaration without the settings that change no stored value: where the extracts
    are found (`sources`; the database `source`, whose result is compared by its own sha256),
    how the dataset is described (`description`, `published`, a column's `label`), the columns
    derived when rows are read (`derived`) and the refusal of undeclared columns
    (`extra_columns`, checked as every load is read)."""
    return replace(spec, description="", sources=(), source=None, published="monthly",
                   derived=(), extra_columns="ignore",
                   columns=tuple(replace(c, label="") for c in spec.columns))


def spec_digest(spec: DatasetSpec) -> str:
    return hashlib.sha256(repr(spec).encode("utf-8")).hexdigest()[:16]


def spec_fingerprint(spec: DatasetSpec) -> str:
    """Changes whenever a setting that decides what the same bytes are stored as changes
    (columns, types, mapping, checks, date, zones, `replace_by`, sheet), since the same
    extracts may then load differently. Left out are the settings of `read_as`, and `unique`:
    it only refuses (a blank id is a rejected row, a repeated or already stored id refuses the
    load), so it is recorded beside the fingerprint and compared on its own
    (`kpi.ingest.commit._same_as_latest`): adding, moving or removing it and loading the same
    extracts again writes no version where the same rows are refused. Changing one of the
    others and loading the same extracts again writes no version."""
    return spec_digest(replace(read_as(spec), unique=None))


def earlier_fingerprints(spec: DatasetSpec) -> frozenset[str]:
    """The fingerprints earlier code recorded for this declaration, so a table it loaded is
    still recognised as holding these extracts: the whole declaration (earlier releases), and
    the settings of `read_as` with `unique` in them, as declared or (a table loaded before
    `unique` was declared: adding it only adds refusals) left out."""
    return frozenset({spec_digest(spec), spec_digest(read_as(spec)),
                      spec_digest(read_as(replace(spec, unique=None)))})


def declaration_fingerprints(spec: DatasetSpec) -> frozenset[str]:
    """Every fingerprint a load of this declaration records or recorded (`spec_fingerprint`
    and `earlier_fingerprints`), as each earlier kpi wrote the declaration: without the
    settings it did not have yet (`EARLIER_FIELDS`), where they are at their defaults. A load
    by an earlier kpi, which recorded no `definition`, read the same date, types and `from`
    where it recorded one of them (`_unrecorded`)."""
    found = set(earlier_fingerprints(spec)) | {spec_fingerprint(spec)}
    omitted: set[str] = set()
    for added in EARLIER_FIELDS:
        omitted |= added
        if not _at_defaults(spec, omitted):
            break  # an earlier kpi could not have declared this
        forms = (spec, read_as(spec), read_as(replace(spec, unique=None)),
                 replace(read_as(spec), unique=None))
        found |= {hashlib.sha256(_written(form, frozenset(omitted)).encode("utf-8"))
                  .hexdigest()[:16] for form in forms}
    return frozenset(found)


# The settings of a declaration each earlier kpi did not have, newest first: its fingerprint
# (`spec_digest`, the `repr` of the declaration) was written without them.
EARLIER_FIELDS: tuple[frozenset[str], ...] = (
    frozenset({"ColumnSpec.time_zone", "DatasetSpec.time_zone"}),
    frozenset({"DatasetSpec.published"}),
    frozenset({"DatasetSpec.source"}),
    frozenset({"ColumnSpec.label"}),
    frozenset({"DatasetSpec.date_parts", "DatasetSpec.derived"}),
    frozenset({"DatasetSpec.sheet"}),
)


def _written(value: Any, omitted: frozenset[str]) -> str:
    """`repr(value)` as a dataclass writes it, without the `omitted` fields ("Class.field")."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        kind = type(value).__qualname__
        shown = (f"{f.name}={_written(getattr(value, f.name), omitted)}"
                 for f in dataclasses.fields(value)
                 if f.repr and f"{kind}.{f.name}" not in omitted)
        return f"{kind}({', '.join(shown)})"
    items: Any = value
    if type(items) is tuple:
        inner = ", ".join(_written(v, omitted) for v in items)
        return f"({inner},)" if len(items) == 1 else f"({inner})"
    if type(items) is list:
        return f"[{', '.join(_written(v, omitted) for v in items)}]"
    return repr(items)


def _at_defaults(value: Any, omitted: set[str]) -> bool:
    """Whether every `omitted` field ("Class.field") of the declaration (and its columns) is
    at its default: a setting an earlier kpi did not have could not have been declared."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        kind = type(value).__qualname__
        for f in dataclasses.fields(value):
            held = getattr(value, f.name)
            if f"{kind}.{f.name}" in omitted:
                default = (f.default_factory() if f.default_factory is not dataclasses.MISSING
                           else f.default)
                if held != default:
                    return False
            elif not _at_defaults(held, omitted):
                return False
        return True
    items: Any = value
    if type(items) in (tuple, list):
        return all(_at_defaults(v, omitted) for v in items)
    return True


# A column's declared type that reads every value of a stored one as it was (`definition`'s
# types, and the Delta types they are stored as): an int declared float, within 2**53 (a
# float holds every whole number up to it; `_drift_of` reads the table's statistics). A
# narrowing (float to int) or any other change is refused.
WIDENED = frozenset({("int", "float"), ("long", "double")})
EXACT_IN_A_FLOAT = 2**53


def definition_drift(stored: dict[str, Any], now: dict[str, Any]) -> str | None:
    """How the declaration `now` reads the stored values otherwise than the one they were
    loaded under (`definition`), or None when every stored value means what it meant. A
    column stored but no longer declared, or a `from` name added, changes no stored value."""
    from kpi.ingest.common import _heading_key

    def date(d: dict[str, Any]) -> str:
        parts = d.get("date_parts")
        return (f"the year and part columns '{parts[1]}' and '{parts[2]}' ({parts[0]})"
                if parts else f"column '{d.get('date')}'")

    if (stored.get("date"), stored.get("date_parts")) != (now["date"], now["date_parts"]):
        return (f"its rows were placed in months by {date(stored)}, and kpi.toml now places "
                f"them by {date(now)}")
    held = stored.get("columns", {})
    for name, column in now["columns"].items():
        was = held.get(name)
        if was is None:
            return f"column '{name}' is declared in kpi.toml but not stored"
        if was.get("type") != column["type"] and (was.get("type"), column["type"]) \
                not in WIDENED:
            return (f"column '{name}' was stored as {was.get('type')} and kpi.toml now "
                    f"declares it {column['type']}")
        reads = {_heading_key(n) for n in column["from"]}
        lost = [n for n in was.get("from", []) if _heading_key(n) not in reads]
        if lost:
            names = ", ".join(f"'{n}'" for n in lost)
            return (f"column '{name}' was read from source column {names}, which kpi.toml no "
                    "longer reads into it (its from = [...])")
    return None


# The provenance of the load each table version's rows were stored by, by (folder, version,
# sha256 of its commit file): None where no kpi load made them (a table another tool wrote).
_LOADS: dict[tuple[str, int, str | None], dict[str, Any] | None] = {}


def stored_definition(path: Path, version: int) -> dict[str, Any] | None:
    """The `definition` the rows of a table version were loaded under, or None where that
    load recorded none (an earlier kpi's) or no kpi load made them (`_loaded_by`)."""
    provenance = _loaded_by(path, version, _commit_digest(path, version))
    return None if provenance is None else provenance.get(DEFINITION_KEY)


def _loaded_by(path: Path, version: int, digest: str | None) -> dict[str, Any] | None:
    """The provenance of the load that stored the rows of a table version (`digest` is its
    commit file's sha256): the latest load at or before it (a restore is followed to the
    version it restored; an upgrade or a vacuum changes no stored value), or None."""
    if digest is None:
        return None
    key = (str(path), version, digest)
    if key in _LOADS:
        return _LOADS[key]
    found: dict[str, Any] | None = None
    at = version
    while at >= 0:
        commit = path / "_delta_log" / f"{at:020d}.json"
        if not commit.exists():
            break
        info = _commit_info(commit)
        if str(info.get("operation", "")).upper() == "RESTORE":
            restored = (info.get("operationParameters") or {}).get("version")
            if restored is not None and str(restored).isdigit() and int(restored) < at:
                at = int(restored)
                continue
        raw = info.get(PROVENANCE_KEY)
        provenance = json.loads(raw) if isinstance(raw, str) else {}
        if provenance.get("operation") == "ingest":
            found = provenance
            break
        at -= 1
    if len(_LOADS) > 256:
        _LOADS.clear()
    _LOADS[key] = found
    return found


def _declaration_drift(spec: DatasetSpec, path: Path, version: int, digest: str | None
                       ) -> str | None:
    """How kpi.toml's declaration reads the rows of a table version otherwise than the one
    their load recorded (`definition_drift`), or None: the one judgement a read (`_drift_of`)
    and a load (`_check_schema`) make. None where no load recorded one (`_unrecorded`)."""
    provenance = _loaded_by(path, version, digest)
    recorded = None if provenance is None else provenance.get(DEFINITION_KEY)
    return None if recorded is None else definition_drift(recorded, definition(spec))


def _unrecorded(spec: DatasetSpec, path: Path, version: int, digest: str | None) -> bool:
    """Whether rows of a table version may have been loaded under another declaration than
    kpi.toml's that no load recorded: a load by an earlier kpi recorded no `definition`, only
    the fingerprint of the declaration it read (`spec`), and kpi.toml's is not that one (a
    changed date or `from` cannot be told from any other change, nor from a change in how an
    earlier kpi worked the fingerprint out). Refused as a changed declaration is, by a read
    (`_check_read`) and by a load that would keep some of its rows (`replace_months`): its
    figures could be of another `from` or date column than kpi.toml's, and nothing can show
    they are not."""
    provenance = _loaded_by(path, version, digest)
    if provenance is None or provenance.get(DEFINITION_KEY) is not None:
        return False  # no kpi load (only its columns can be checked, `_drift_of`), or recorded
    return provenance.get("spec") not in declaration_fingerprints(spec)


def unique_unchecked(spec: DatasetSpec, path: Path, version: int, digest: str | None) -> bool:
    """Whether kpi.toml's `unique` is not the one the load that stored a table version's rows
    was checked under (declared, or moved, since; or a load that recorded none): its stored
    rows were never checked against each other under it, and may repeat an id it allows
    once. False without `unique`, or with no load recorded (no kpi load: `_drift_of`)."""
    if not spec.unique:
        return False
    provenance = _loaded_by(path, version, digest)
    return provenance is not None and provenance.get("unique") != spec.unique_declared


def latest_unique_unchecked(project: Project, spec: DatasetSpec, version: int) -> bool:
    """`unique_unchecked` of a table's version `version` (the latest, before a load)."""
    path = table_path(project, spec.id)
    return unique_unchecked(spec, path, version, _commit_digest(path, version))


# Why a table an earlier kpi loaded is refused (`_unrecorded`), and the remedy.
UNRECORDED = ("it was loaded by an earlier kpi, which recorded no declaration, and kpi.toml's "
              "declaration of it is not the one that kpi read, so a change to its date column "
              "or a column's from cannot be told from any other")
UNRECORDED_HINT = ("load every extract of it again ({load}; {history} lists those stored), "
                   "replacing every stored month, so the load records its declaration; or "
                   "restore kpi.toml's declaration of it as it was when it was loaded")


def _same_type(stored: str, wanted: str) -> bool:
    # A table an earlier kpi stored times in as wall-clock time is read (and refused where a
    # figure needs its times) by `_as_uk_time`; `kpi upgrade` stores them as instants.
    return stored == wanted or (stored, wanted) == ("timestamp_ntz", "timestamp")


def _check_read(project: Project, dataset_id: str, table: Any) -> tuple[str, ...]:
    """Every read of a stored table (`scan`, `months`, `row_count`) answers only from rows
    whose values mean what kpi.toml now declares: each declared column stored, with its
    type, and (where the load recorded it, `stored_definition`) the same date column, and no
    source column of the load that stored the rows read taken out of its `from`. Else it
    refuses, naming the dataset and what changed, rather than answer this declaration's
    figures from another's rows. Worked out once per table version and declaration."""
    spec = project.datasets.get(dataset_id)
    if spec is None:
        return ()
    path = table_path(project, dataset_id)
    version = table.version()
    # The sha256 of the version's commit file: the one `table_state` took of the latest (once
    # an answer), not read and hashed again on each of an answer's reads.
    state = table_state(path)
    digest = state[1] if state is not None and state[0] == version else \
        _commit_digest(path, version)
    # The declaration as the object kpi.toml was read into (kept in the entry, so its id is
    # never another's): an earlier kpi's load is judged by all of it (`_unrecorded`).
    key = (str(path), version, digest, id(spec))
    entry = _CHECKED.get(key)
    if entry is None or entry[0] is not spec:
        if len(_CHECKED) > 256:
            _CHECKED.clear()
        drift, widened = _drift_of(spec, path, table, digest)
        # The bundled sample's store is built for the kpi.toml it holds: its folder's name
        # carries the fingerprint of the sample's files, kpi.toml among them.
        if drift is None and not project.bundled and _unrecorded(spec, path, version, digest):
            drift = (UNRECORDED, UNRECORDED_HINT)
        if drift is None and unique_unchecked(spec, path, version, digest):
            from kpi.ingest.unique import repeated_stored

            drift = repeated_stored(spec, _scan(table, dataset_id))
        entry = _CHECKED[key] = (spec, drift, widened)
    _, found, widened = entry
    if found is not None:
        problem, hint = found
        raise DeclarationChanged(dataset_id, problem, spelled_hint(hint, dataset_id))
    return widened


# What `_check_read` found, by (folder, version, sha256 of its commit file, id of the
# declaration), with the declaration.
_CHECKED: dict[tuple[str, int, str | None, int],
               tuple[DatasetSpec, tuple[str, str] | None, tuple[str, ...]]] = {}


def _commit_digest(path: Path, version: int) -> str | None:
    try:
        return hashlib.sha256((path / "_delta_log" / f"{version:020d}.json").read_bytes()
                              ).hexdigest()
    except OSError:
        return None


# The Delta type each declared column is stored as (`stored_schema`, a datetime an instant in
# UTC), and the month partition's: worked out without PyArrow, which a read never imports.
DELTA_TYPES: dict[ColumnType, str] = {
    ColumnType.STR: "string", ColumnType.INT: "long", ColumnType.FLOAT: "double",
    ColumnType.BOOL: "boolean", ColumnType.DATE: "date", ColumnType.DATETIME: "timestamp",
    ColumnType.MONTH: "date",
}


def declared_types(spec: DatasetSpec) -> list[tuple[str, str]]:
    """Each column of the dataset's table as kpi.toml declares it, with its Delta type, in
    the table's order (`stored_schema`'s, as a load writes it)."""
    types = {c.name: DELTA_TYPES[c.type] for c in spec.columns}
    types["month"] = "string"  # the partition (a declared month column is stored as it)
    return list(types.items())


def _drift_of(spec: DatasetSpec, path: Path, table: Any, digest: str | None
              ) -> tuple[tuple[str, str] | None, tuple[str, ...]]:
    """How the table version's rows differ from the declaration (`_check_read`), with the
    remedy's hint, or None; and the int columns declared float, read as floats (`scan`)."""
    problem = _declaration_drift(spec, path, table.version(), digest)
    fields = [(f["name"], f["type"]) for f in json.loads(table.schema().to_json())["fields"]]
    stored = dict(fields)
    wanted = declared_types(spec)
    widened: list[str] = []
    for name, kind in wanted:
        if problem is not None:
            break
        if name not in stored:
            problem = f"column '{name}' is declared in kpi.toml but not stored"
        elif (stored[name], kind) in WIDENED:
            past = _past_exact(table, name)
            if past is not None:
                problem = (f"column '{name}' is stored as {stored[name]} and kpi.toml now "
                           f"declares it {kind}, and it holds {past}, past 2**53, which a "
                           "float does not hold exactly")
            widened.append(name)
        elif not _same_type(stored[name], kind):
            problem = (f"column '{name}' is stored as {stored[name]} and kpi.toml now "
                       f"declares it {kind}")
    if problem is None:
        return None, tuple(widened)
    # A load is refused where the table's columns are not the declared ones (`_check_schema`).
    return (problem, DRIFT_HINT if fields == wanted else COLUMNS_HINT), ()


def _past_exact(table: Any, column: str) -> str | None:
    """A stored whole number of the column a float does not hold exactly (past 2**53 either
    way), from the table version's file statistics (no data scan), or None. A file whose
    statistics do not bound the column (none kept, and not every value blank) is taken to
    hold one: it cannot be shown not to."""
    import polars as pl

    actions = pl.DataFrame(table.get_add_actions(flatten=True))
    names = ("num_records", f"null_count.{column}", f"min.{column}", f"max.{column}")
    for rows, blank, low, high in actions.select(
            pl.col(n) if n in actions.columns else pl.lit(None).alias(n)
            for n in names).iter_rows():
        if low is None or high is None:
            if rows and blank != rows:
                return "values the table keeps no statistics of"
            continue
        for value in (low, high):
            if abs(int(value)) > EXACT_IN_A_FLOAT:
                return str(int(value))
    return None


def _drift_kept(dataset_id: str, drift: str, kept: str) -> DeclarationChanged:
    """A load under a changed declaration that would keep stored rows (`kept`) of the old."""
    return DeclarationChanged(
        dataset_id, f"{drift}; this load would keep the {kept} stored under it",
        "nothing was written; " + spelled_hint(DRIFT_HINT, dataset_id))


class DeclarationChanged(DataError):
    """A stored table whose values kpi.toml now declares to mean something else: every read
    refuses it (exit 3), rather than report its KPIs from the rows or as having no data. A
    listing of every dataset (`kpi datasets`, `kpi check`) lists the others and names this
    one with its `reason`."""

    def __init__(self, dataset: str, reason: str, hint: str) -> None:
        super().__init__(f"dataset '{dataset}' was stored under another declaration than "
                         f"kpi.toml's: {reason}", hint=hint)
        self.dataset = dataset
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return DeclarationChanged, (self.dataset, self.reason, self.hint or "")


DRIFT_HINT = ("restore the dataset's declaration in kpi.toml (a source column's new name goes "
              "beside the old in from = [...]), or load every extract again under it ({load}; "
              "{history} lists those stored), replacing every stored month; where the "
              "extracts no longer cover them all, move the table's folder ({dataset} in the "
              "data folder) aside first")
# Where the table's columns are not kpi.toml's, no load goes into it.
COLUMNS_HINT = ("restore the dataset's columns in kpi.toml, or move the table's folder "
                "({dataset} in the data folder) aside and load every extract again ({load}; "
                "{history} lists those stored)")


def _check_schema(project: Project, dataset_id: str, spec: DatasetSpec) -> str | None:
    """Refuse a load whose declared columns (`declared_types`) no longer match the stored
    table's. Returns how the stored rows' declaration differs otherwise (`definition_drift`),
    or None."""
    table = _table(project, dataset_id)
    stored = json.loads(table.schema().to_json())["fields"]
    wanted = declared_types(spec)
    if [(f["name"], f["type"]) for f in stored] == wanted:
        path = table_path(project, dataset_id)
        return _declaration_drift(spec, path, table.version(),
                                  _commit_digest(path, table.version()))
    wall = [f["name"] for f in stored if f["type"] == "timestamp_ntz"]
    if wall and [(f["name"], f["type"].replace("timestamp_ntz", "timestamp")) for f in stored] \
            == wanted:
        raise DataError(WALL_CLOCK.format(dataset=dataset_id, column=wall[0]),
                        hint="nothing was written; " + spelled_hint(WALL_CLOCK_HINT,
                                                                    dataset_id))
    shown = [f"{f['name']} ({f['type']})" for f in stored]
    raise DataError(f"dataset '{dataset_id}': its columns in kpi.toml no longer match the "
                    f"stored table (stored: {', '.join(shown)})",
                    hint="nothing was written; restore the columns, or move the table aside "
                         "and reload every extract")


@dataclass(frozen=True)
class Upgraded:
    """What `upgrade` did to a dataset's table: the version it made (None when the table
    already held instants), the rows and months it rewrote, and the zone each column's
    wall-clock times were read in."""

    dataset: str
    version: int | None
    rows: int = 0
    months: tuple[str, ...] = ()
    zones: tuple[tuple[str, str], ...] = ()


def upgrade(project: Project, dataset_id: str) -> Upgraded:
    """Store a table an earlier kpi wrote as wall-clock times (Delta's `timestamp_ntz`) as
    instants, in place: each wall-clock time read in its column's declared zone (`time_zone`,
    by default the UK's), every month rewritten and committed as one new version, so history
    and time travel are kept and a stop part-way changes nothing (the files written belong to
    no version). A month at a time is read, a row group at a time written.

    A time the zone's clocks show twice or never names two instants or none: which was meant
    is not kpi's to guess, so the whole upgrade is refused (nothing written), naming the first
    such row. A table of instants is left alone (`version` None)."""
    import polars as pl
    import pyarrow.parquet as pq
    from deltalake import CommitProperties, DeltaTable, Schema

    spec = dataset_spec(project, dataset_id)
    path = table_path(project, dataset_id)
    with _locked(project, dataset_id):
        table = _table(project, dataset_id)
        stored = json.loads(table.schema().to_json())["fields"]
        wall = [f["name"] for f in stored if f["type"] == "timestamp_ntz"]
        if not wall:
            return Upgraded(dataset_id, None)
        arrow_schema = stored_schema(spec)
        wanted = json.loads(Schema.from_arrow(arrow_schema).to_json())["fields"]
        if [(f["name"], f["type"].replace("timestamp_ntz", "timestamp")) for f in stored] \
                != [(f["name"], f["type"]) for f in wanted]:
            shown = [f"{f['name']} ({f['type']})" for f in stored]
            raise DataError(f"dataset '{dataset_id}': its columns in kpi.toml no longer match "
                            f"the stored table (stored: {', '.join(shown)})",
                            hint="nothing was written; restore the columns as they were when "
                                 f"it was stored, then run 'kpi upgrade {dataset_id}' again")
        zones = {name: _declared_zone(spec, name) for name in wall}
        by_month: dict[str, list[str]] = {}
        for file in data_files(table):
            month = re.search(r"month=(\d{4}-\d{2})", file)
            assert month is not None, "kpi's tables are partitioned by month"
            by_month.setdefault(month.group(1), []).append(file)
        months = sorted(by_month)
        _refuse_unnamed_instants(spec, by_month, zones)
        schema = arrow_schema.remove(arrow_schema.get_field_index("month"))
        written: list[Path] = []

        def parts(files: list[str]) -> Iterator[Any]:
            for file in files:
                for batch in pq.ParquetFile(file).iter_batches(batch_size=ROW_GROUP,
                                                               columns=schema.names):
                    frame = cast(pl.DataFrame, pl.from_arrow(batch))
                    yield frame.with_columns(
                        pl.col(name).cast(pl.Datetime("us")).dt.replace_time_zone(
                            zone, ambiguous="raise", non_existent="raise")
                        .dt.convert_time_zone("UTC") for name, zone in zones.items()).to_arrow()

        rows = 0
        moved_to: set[str] = set()
        opened: list[_MonthFile] = []  # every file opened, closed before a failure's clean-up
        loads = loaded_files(table)
        try:
            adds = []
            for month in months:
                # A month's rows, in files by the month their instant falls in, read as UK
                # time: a time written in another zone may be in the UK's next or last month
                # (23:30 UTC on 30 June is 00:30 BST on 1 July), as a load would put it. The
                # rows of each load apart, with its time: the upgrade loads no row.
                for loaded, loaded_then in sorted(loads[month].items()):
                    files: dict[str, _MonthFile] = {}
                    for part in parts(loaded_then):
                        for target, rows_of in _by_uk_month(spec, part, month, zones):
                            if target not in files:
                                files[target] = _MonthFile(path, target, schema, written)
                                opened.append(files[target])
                            files[target].add(rows_of)
                    for target, file in files.items():
                        adds.append(file.close(loaded))
                        rows += file.stats.rows
                        moved_to.add(target)
            months = sorted(moved_to)
            provenance = {"operation": "upgrade", "dataset": dataset_id, "rows": rows,
                          "rejected": 0, "months": months, "time_zones": zones}
            commit = CommitProperties(
                custom_metadata={PROVENANCE_KEY: json.dumps(provenance, sort_keys=True)})
            with _rust_panics_held():
                DeltaTable(table_uri(path)).create_write_transaction(
                    adds, mode="overwrite", schema=Schema.from_arrow(arrow_schema),
                    partition_by=["month"], commit_properties=commit)
        except OSError as exc:
            _abandon(opened)
            _remove(written)
            raise refusal(exc, path) from None
        except BaseException:
            _abandon(opened)
            _remove(written)
            raise
        return Upgraded(dataset_id, _table(project, dataset_id).version(), rows, tuple(months),
                        tuple(zones.items()))


def _abandon(files: list[_MonthFile]) -> None:
    for file in files:
        file.abandon()


def _by_uk_month(spec: DatasetSpec, part: Any, month: str,
                 zones: dict[str, str]) -> list[tuple[str, Any]]:
    """The rows of an upgraded part (`upgrade`) by the month their date column's instant falls
    in, read as UK time; all in `month` where the date column is not a converted datetime."""
    import polars as pl

    if spec.date not in zones or not part.num_rows:
        return [(month, part)]
    frame = cast(pl.DataFrame, pl.from_arrow(part))
    keyed = frame.with_columns(pl.col(spec.date).dt.convert_time_zone(UK).dt.strftime("%Y-%m")
                               .fill_null(month).alias("__month"))
    return [(str(key[0]), rows.to_arrow()) for key, rows in
            keyed.partition_by("__month", as_dict=True, include_key=False).items()]


def _declared_zone(spec: DatasetSpec, name: str) -> str:
    column = spec.column(name)
    return column.time_zone if column is not None else spec.time_zone


def _refuse_unnamed_instants(spec: DatasetSpec, by_month: dict[str, list[str]],
                             zones: dict[str, str]) -> None:
    """Refuse an upgrade (`upgrade`) whose stored wall-clock times include one its column's
    zone shows twice or never, naming the first (by month, then as stored) and counting all.
    Reads a month's datetime columns (and id) at a time."""
    import polars as pl
    import pyarrow.parquet as pq

    found = 0
    first: tuple[str, str, str, Any, str] | None = None  # month, row, column, value, zone
    bad_months: list[str] = []
    wanted = [*zones, *([spec.unique] if spec.unique and spec.unique not in zones else [])]
    for month in sorted(by_month):
        frame = pl.concat([cast(pl.DataFrame, pl.from_arrow(pq.read_table(f, columns=wanted)))
                           for f in by_month[month]],
                          how="vertical_relaxed").with_row_index("__position")
        unnamed = {name: pl.col(name).cast(pl.Datetime("us")).pipe(
            lambda value, zone=zone: value.is_not_null() & value.dt.replace_time_zone(
                zone, ambiguous="null", non_existent="null").is_null())
            for name, zone in zones.items()}
        bad = frame.filter(pl.any_horizontal(*unnamed.values()))
        found += bad.height
        earliest: tuple[str, dict[str, Any]] | None = None
        if bad.height:
            row = bad.row(0, named=True)
            flags = bad.head(1).select(**unnamed).row(0, named=True)
            earliest = (next(name for name in zones if flags[name]), row)
        if earliest is not None:
            bad_months.append(month)
            if first is None:
                name, row = earliest
                label = (f"id '{row[spec.unique]}'" if spec.unique
                         else f"row {row['__position'] + 1:,} of the month")
                first = (month, label, name, row[name], zones[name])
    if first is None:
        return
    month, label, name, value, zone = first
    clocks = "the UK clocks show" if zone == UK else f"the clocks of {zone} show"
    more = (f" (and {len(bad_months) - 1} other month{'s' if len(bad_months) > 2 else ''})"
            if len(bad_months) > 1 else "")
    rows = f"{found:,} stored row{'s' if found != 1 else ''}"
    raise DataError(
        f"dataset '{spec.id}' cannot be upgraded: {rows} {'holds' if found == 1 else 'hold'} "
        f"a wall-clock time {clocks} twice "
        f"or never, first in {month}{more}, {label}, column '{name}' ('{value:%Y-%m-%d %H:%M}'), "
        "which names two instants or none",
        hint=f"nothing was written; load those months again from extracts whose times carry "
             f"their offset (kpi ingest {spec.id} ...), or declare the zone the source really "
             f"wrote its times in (time_zone in kpi.toml), then run 'kpi upgrade {spec.id}' "
             "again")


def _kept_in_month(project: Project, dataset_id: str, spec: DatasetSpec, keys: pl.DataFrame,
                   month: str, arrow_schema: Any, loads: dict[int, list[str]]
                   ) -> list[tuple[int, Any]]:
    """The stored rows of `month` whose replace_by values the load does not replace, with when
    they were first loaded: the rows of each load time (`loads`, the month's `loaded_files`)
    apart, so each is written again with its own (another part's early rows keep the month
    held in part, and once every early row is replaced, the later ones' time no longer does)."""
    return [(loaded, kept.to_arrow().select(arrow_schema.names).cast(arrow_schema))
            for loaded, kept in _month_by_load(project, dataset_id, spec, keys, month, loads,
                                               "anti")]


def _month_by_load(project: Project, dataset_id: str, spec: DatasetSpec, keys: pl.DataFrame,
                   month: str, loads: dict[int, list[str]], how: Literal["semi", "anti"]
                   ) -> list[tuple[int, pl.DataFrame]]:
    """The stored rows of `month`, by when they were first loaded (`loads`, the month's
    `loaded_files`), of the parts a load replaces (`how="semi"`: `keys`' replace_by values
    in the month) or of those it keeps (`"anti"`); every row where the dataset has no
    replace_by. A table read by Delta's reader as a whole (`plain_files`) is read once, under
    the month's earliest time. Load times holding none of those rows are left out."""
    import polars as pl

    replaced = keys.filter(pl.col("month") == month).drop("month")
    table = _table(project, dataset_id)
    if not plain_files(table):
        loads = {min(loads): []} if loads else {}
    out = []
    for loaded, files in sorted(loads.items()):
        rows = _scan(table, dataset_id, files or None).filter(pl.col("month") == month)
        if spec.replace_by:
            rows = rows.join(replaced.lazy(), on=list(spec.replace_by), how=how,
                             nulls_equal=True)
        got = rows.collect()
        if got.height:
            out.append((loaded, got))
    return out


def _ended(spec: DatasetSpec | None, month: Month, millis: int) -> bool:
    """Whether the month (a quarterly or yearly row's last month) had ended in UK time at
    `millis`: a load before that holds it in part (`unfinished`)."""
    from zoneinfo import ZoneInfo

    from kpi.dateparts import covered

    after = (covered(spec, [month]) if spec is not None else [month])[-1] + 1
    return datetime.fromtimestamp(millis / 1000, tz=UTC) >= datetime(
        after.year, after.month, 1, tzinfo=ZoneInfo(UK))


def _loaded_again(project: Project, dataset_id: str, spec: DatasetSpec, keys: pl.DataFrame,
                  month: str, arrow_schema: Any, staged: list[DataFile],
                  loads: dict[int, list[str]], now: int) -> list[tuple[int, Any]] | None:
    """The rows a load writes into a month held in part (its earliest rows loaded before it
    ended: `unfinished`), each part (of `replace_by`, or the month whole) with when its rows
    were first loaded: a part whose rows are those stored, row for row, keeps the earliest
    time of its stored rows, the rest `now`. Loading the same rows again after the month
    ended adds nothing to show it whole: a nightly job loading one force's extract, which
    stopped on the 4th, beside another's fresh one made the month read as whole (and a
    year of eleven months and three days counted as twelve, exit 0). None where every part
    changed (the staged files are moved as they are)."""
    import polars as pl
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = list(spec.replace_by)
    names = [n for n in arrow_schema.names if n != "month"]
    target = arrow_schema.remove(arrow_schema.get_field_index("month"))
    if not staged:
        return None
    new = pl.DataFrame(pa.concat_tables([pq.read_table(d.path).select(names).cast(target)
                                         for d in staged]))
    stored = [pl.DataFrame(got.to_arrow().select(names).cast(target))
              .with_columns(pl.lit(loaded).alias("__loaded"))
              for loaded, got in _month_by_load(project, dataset_id, spec, keys, month, loads,
                                                "semi")]
    if not stored:
        return None
    before = pl.concat(stored)

    def by_part(frame: pl.DataFrame) -> dict[tuple, pl.DataFrame]:
        if not parts:
            return {(): frame}
        return {tuple(k): v for k, v in frame.partition_by(parts, as_dict=True).items()}

    then = by_part(before)
    out: dict[int, list[pl.DataFrame]] = {}
    for part, rows in by_part(new).items():
        old = then.get(part)
        same = old is not None and old.height == rows.height and old.drop("__loaded").sort(
            names, nulls_last=True).equals(rows.sort(names, nulls_last=True))
        loaded = min(old.get_column("__loaded").to_list()) if same and old is not None else now
        out.setdefault(loaded, []).append(rows)
    if list(out) == [now]:
        return None
    return [(loaded, pl.concat(frames).to_arrow().cast(target))
            for loaded, frames in sorted(out.items())]


def _write_month(table: Path, month: str, arrow_schema: Any, parts: list[Any],
                 written: list[Path], loaded: int) -> Any:
    """Write one month's rows, first loaded at `loaded`, into a new data file of the table;
    its Delta add action."""
    file = _MonthFile(table, month, arrow_schema.remove(arrow_schema.get_field_index("month")),
                      written)
    try:
        for part in parts:
            file.add(part)
    except BaseException:
        file.abandon()
        raise
    return file.close(loaded)


class _MonthFile:
    """A new data file in a month's folder of a table, written a part at a time with its
    Delta statistics (`_FileStats`); `close` gives its add action. Its path is put in
    `written` at once, so a failure's clean-up removes it."""

    def __init__(self, table: Path, month: str, schema: Any, written: list[Path]) -> None:
        import uuid

        import pyarrow.parquet as pq

        folder = table / f"month={month}"
        folder.mkdir(parents=True, exist_ok=True)
        self.month, self.schema = month, schema
        self.name = f"part-00000-{uuid.uuid4()}-c000.snappy.parquet"
        self.path = folder / self.name
        written.append(self.path)
        self.stats = _FileStats(schema)
        self.writer = pq.ParquetWriter(self.path, schema, compression="snappy",
                                       metadata_collector=self.stats.written)

    def add(self, part: Any) -> None:
        _write_part(self.writer, self.stats, part.select(self.schema.names).cast(self.schema))

    def close(self, loaded: int) -> Any:
        """Its add action, its rows first loaded at `loaded` (`_add_action`)."""
        self.writer.close()
        return _add_action(self.month, self.name, self.path.stat().st_size, self.stats.delta(),
                           loaded)

    def abandon(self) -> None:
        """Close the file being given up (so it can be removed), whatever closing raises."""
        try:
            self.writer.close()
        except Exception:  # noqa: BLE001 - closing only so the file can be removed
            pass


def _add_action(month: str, name: str, size: int, stats: dict[str, Any], loaded: int) -> Any:
    """The Delta add action of a data file `name` in the month's folder of the table, whose
    rows were first loaded at `loaded` (milliseconds since the epoch), written as its
    `modificationTime`: the moment of the load that commits it (`now_millis`), or for rows
    stored before and written again (another part's load, `upgrade`), that of the files they
    were read from (`loaded_files`). The one record of when a month was loaded
    (`unfinished`): written as the rewrite's own moment, a month loaded on its 4th and
    rewritten after it ended would read as whole."""
    from deltalake.transaction import AddAction

    return AddAction(path=f"month={month}/{name}", size=size, partition_values={"month": month},
                     modification_time=loaded, data_change=True, stats=json.dumps(stats))


def now_millis() -> int:
    """The moment a load commits, as `_add_action` records it."""
    import time

    return int(time.time() * 1000)


@dataclass(frozen=True)
class DataFile:
    """A data file of the table written ahead of its commit, in a load's staging folder."""

    month: str
    path: Path
    size: int
    stats: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def rows(self) -> int:
        return int(self.stats["numRecords"])


# Rows of one month written to a data file at once (a Parquet row group).
ROW_GROUP = 256 * 1024


# Bytes of rows a load holds for the months being written: beyond it, the month holding most
# is written out as a row group. Rows arrive in file order, often every month in every batch:
# held until each month had ROW_GROUP of them, thirty months would hold several hundred MiB;
# written batch by batch, they would make row groups of a few thousand rows. An extract in date
# order fills one month at a time, and gets row groups of ROW_GROUP rows; one in no order, of
# about HELD_BYTES / months. (A 5M-row CSV load peaked at 631 MiB with 48 MiB here and 250,000
# ids held for `unique`, 700 with 96 MiB and a million ids, and 563 when its rows were staged
# and written again.)
HELD_BYTES = 48 * 1024 * 1024


# Data files open for writing at once: past it, the file least recently written is closed, and
# that month's later rows go into a file of their own (a month may have several).
OPEN_FILES = 48


class MonthFiles:
    """A load's rows written as the table's data files while they are read and checked, each
    row once: one Parquet file per month (Snappy, the stored columns without `month`, which the
    folder names), in the staging folder, with the Delta statistics of each file added up as it
    is written (`_FileStats`). `replace_months` moves them into the table and commits them."""

    def __init__(self, spec: DatasetSpec, folder: Path) -> None:
        arrow_schema = stored_schema(spec)
        self.schema = arrow_schema.remove(arrow_schema.get_field_index("month"))
        # A unique column has as many values as rows: a dictionary of them is built only to
        # be dropped (about a sixth of the writing).
        # (pyarrow takes the list of dictionary columns; its type stubs admit only a bool.)
        self.dictionary = [name for name in self.schema.names if name != spec.unique]
        self.folder = folder
        self.held: dict[str, list[Any]] = {}
        self.held_rows: dict[str, int] = {}
        self.held_bytes: dict[str, int] = {}
        self.open: dict[str, tuple[Any, Path, _FileStats]] = {}  # in order of last write
        self.files: dict[str, list[DataFile]] = {}
        # Parts are encoded and compressed on a second thread (pyarrow lets go of the GIL), one
        # at a time, while the next batch is read and checked: the load's wall time, not its CPU.
        self.thread: Any = None
        self.writing: Any = None  # the part being written, a Future

    def add(self, month: str, part: Any) -> None:
        """Rows of `month` (an Arrow table with the stored columns but `month`), after those
        added before."""
        part = part.select(self.schema.names).cast(self.schema)
        self.held.setdefault(month, []).append(part)
        self.held_rows[month] = self.held_rows.get(month, 0) + part.num_rows
        self.held_bytes[month] = self.held_bytes.get(month, 0) + part.nbytes
        if self.held_rows[month] >= ROW_GROUP:
            self._write(month)
        while sum(self.held_bytes.values()) > HELD_BYTES:
            self._write(max(self.held_bytes, key=self.held_bytes.__getitem__))

    def _write(self, month: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        part = pa.concat_tables(self.held.pop(month))
        del self.held_rows[month], self.held_bytes[month]
        if month in self.open:
            self.open[month] = self.open.pop(month)  # now the most recently written
        else:
            if len(self.open) >= OPEN_FILES:
                self._close(next(iter(self.open)))
            import uuid

            folder = self.folder / "months"
            folder.mkdir(exist_ok=True)
            target = folder / f"part-00000-{uuid.uuid4()}-c000.snappy.parquet"
            stats = _FileStats(self.schema)
            self.open[month] = (pq.ParquetWriter(target, self.schema, compression="snappy",
                                                 use_dictionary=cast(Any, self.dictionary),
                                                 metadata_collector=stats.written),
                                target, stats)
        writer, _, stats = self.open[month]
        self._wait()
        if self.thread is None:
            from concurrent.futures import ThreadPoolExecutor

            self.thread = ThreadPoolExecutor(1, thread_name_prefix="kpi-write")
        self.writing = self.thread.submit(_write_part, writer, stats, part)

    def _wait(self) -> None:
        """Wait for the part being written, raising what its write raised (an OSError on a
        full disk, as if it were written in this thread)."""
        writing, self.writing = self.writing, None
        if writing is not None:
            writing.result()

    def _stop(self) -> None:
        if self.thread is not None:
            self.thread.shutdown(wait=True)
            self.thread = None

    def _close(self, month: str) -> None:
        self._wait()
        writer, target, stats = self.open.pop(month)
        writer.close()
        self.files.setdefault(month, []).append(
            DataFile(month=month, path=target, size=target.stat().st_size, stats=stats.delta()))

    def finish(self) -> dict[str, list[DataFile]]:
        """Every month's files, complete, by month."""
        try:
            for month in list(self.held):
                self._write(month)
            for month in list(self.open):
                self._close(month)
        finally:
            self._stop()
        return self.files

    def abandon(self) -> None:
        """Close what is open (the staging folder and its files are removed with it)."""
        try:
            self._wait()
        except Exception:  # noqa: BLE001 - the load is failing already; its files go
            pass
        self._stop()
        for writer, _, _ in self.open.values():
            try:
                writer.close()
            except OSError:
                pass
        self.open.clear()
        self.held.clear()


def _write_part(writer: Any, stats: _FileStats, part: Any) -> None:
    writer.write_table(part, row_group_size=max(part.num_rows, 1))
    stats.add(part)


# Delta's statistics keep a text column's bounds to this many characters, as Delta writers do.
_STATS_TEXT = 32


class _FileStats:
    """A data file's Delta statistics (rows, and each column's minimum, maximum and nulls),
    so that DuckDB, Spark, Trino or deltalake can skip files by value. Rows and nulls are added
    up part by part as the file is written (Arrow keeps each array's null count); the bounds
    are read, when the file is closed, from the statistics the Parquet writer records for each
    row group (`written`, its metadata), rather than found again with a pass over every value
    (a tenth of the CPU of a Parquet load's writing). A bound that cannot be given exactly is
    left out, which tells a reader nothing (never something false): NaN, an infinity, a row
    group the writer recorded no bounds for, a text maximum longer than Delta keeps."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self.rows = 0
        self.low: dict[str, Any] = {}
        self.high: dict[str, Any] = {}
        self.nulls: dict[str, int] = {name: 0 for name in schema.names}
        self.unbounded: set[str] = set()
        self.written: list[Any] = []  # the Parquet writer's metadata, once it is closed

    def add(self, part: Any) -> None:
        self.rows += part.num_rows
        for name in self.schema.names:
            self.nulls[name] += part.column(name).null_count

    def _bounds(self) -> None:
        """Each column's bounds over the row groups of the closed file."""
        assert len(self.written) == 1, "the file's writer is closed once"
        metadata = self.written.pop()
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            for index in range(row_group.num_columns):
                chunk = row_group.column(index)
                name = chunk.path_in_schema
                stats = chunk.statistics
                if stats is None or not stats.has_min_max:
                    # No bounds recorded: right only for a column chunk of nulls alone.
                    if (stats is None or not stats.has_null_count
                            or stats.null_count < row_group.num_rows):
                        self.unbounded.add(name)
                    continue
                low, high = stats.min, stats.max
                if isinstance(low, float) and not (math.isfinite(low) and math.isfinite(high)):
                    self.unbounded.add(name)  # NaN or infinity: JSON holds neither
                    continue
                if name not in self.low or low < self.low[name]:
                    self.low[name] = low
                if name not in self.high or high > self.high[name]:
                    self.high[name] = high

    def delta(self) -> dict[str, Any]:
        self._bounds()
        low: dict[str, Any] = {}
        high: dict[str, Any] = {}
        for name in self.low:
            if name in self.unbounded:
                continue
            low[name], high[name] = _stat_value(self.low[name]), _stat_value(self.high[name])
            if isinstance(low[name], str) and len(low[name]) > _STATS_TEXT:
                low[name] = low[name][:_STATS_TEXT]  # a prefix sorts at or before the value
            if isinstance(high[name], str) and len(high[name]) > _STATS_TEXT:
                del high[name]
        return {"numRecords": self.rows, "minValues": low, "maxValues": high,
                "nullCount": self.nulls}


def _stat_value(value: Any) -> Any:
    """A statistic as Delta's log writes it: dates as 2025-09-30, timestamps (instants, to the
    microsecond) in UTC as 2025-09-30T18:00:00.000000Z."""
    if isinstance(value, datetime):
        if value.tzinfo is None:  # the Parquet writer's bound of a UTC column
            return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _remove(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


@contextmanager
def _rust_panics_held() -> Iterator[None]:
    """Hold back what Delta's Rust threads print on the process's stderr while a write runs.

    On a full disk its worker threads panic ("Already shut down") and each prints a message
    and a backtrace note straight to file descriptor 2, before the write raises the error kpi
    reports in one line. What they printed is dropped when the write fails and passed on
    unchanged when it succeeds."""
    import sys
    import tempfile

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (an embedding host): nothing to hold back
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        failed = True
        try:
            yield
            failed = False
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            if not failed:
                held.seek(0)
                text = held.read()
                if text:
                    os.write(2, text)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
