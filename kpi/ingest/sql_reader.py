"""The database reader: a dataset's query run against a warehouse, its rows read in batches.

A dataset declares `source = { uri_env = "KPI_WAREHOUSE_URI", query = "SELECT ..." }` (or
`query_file`). The connection URI, credentials and all, is read from that environment variable
and nowhere else: it never appears in kpi.toml, the load's provenance, a message or `--debug`
output (every message from the driver has the URI and its password taken out).

The rows come through ADBC (Arrow Database Connectivity) as Arrow record batches, so they are
typed as the database types them and stream a batch at a time; they then go through the same
conformer, checks and commit as a Parquet file's. PostgreSQL (`postgresql://...`) and SQLite
(`sqlite:///path/to/file.db`) are supported; their drivers are the `sql` extra
(`pip install 'kpi[sql]'`), imported only here.

Row numbers in messages are the result's rows, from 1, in the order the query returns them:
give the query an ORDER BY for messages that name the same row twice.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

import polars as pl

from kpi.catalogue import UK, ColumnSpec, ColumnType, DatasetSpec, QuerySource
from kpi.errors import ConfigError, DataError, UsageError, ingest_hint, located
from kpi.ingest.common import (
    Numbering,
    _batch_rows,
    _numbered,
    _show,
    _without_reserved,
    decimal_text,
    float16_as_written,
    without_one_text,
)
from kpi.ingest.conform import _expected, source_lookup, sources_of

if TYPE_CHECKING:
    from kpi.ingest.stage import _FileState

# The schemes kpi can connect to, and the ADBC driver module of each.
DRIVERS = {
    "postgresql": "adbc_driver_postgresql.dbapi",
    "postgres": "adbc_driver_postgresql.dbapi",
    "sqlite": "adbc_driver_sqlite.dbapi",
}
_HIDDEN = "***"


@dataclass
class Query:
    """One query to read: its text, where the text came from, and the secret parts of its
    connection URI (to be taken out of every message)."""

    dataset: str
    text: str
    uri_env: str
    origin: str  # "kpi.toml" or the query file's path relative to the project
    label: str  # how messages name the source
    time_zone: str = UK  # the dataset's: the session's TimeZone (_settle_session)
    secrets: list[str] = field(default_factory=list)
    runnable: str = ""  # the text the driver is given (_runnable)
    sqlite: bool = False  # read from a SQLite file (_connect), whose values are typed one by one

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def scrub(self, text: str) -> str:
        """The text with the connection URI and its password taken out."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, _HIDDEN)
        return text


def query_of(spec: DatasetSpec, root: Path) -> Query:
    """The dataset's declared query, its text read (from the project's query file if it names
    one); refused with a hint when the dataset declares no source."""
    source: QuerySource | None = spec.source
    if source is None:
        raise UsageError(f"dataset '{spec.id}' declares no database source",
                         hint=f"add source = {{ uri_env = \"KPI_WAREHOUSE_URI\", query = "
                              f"\"SELECT ...\" }} to [datasets.{spec.id}] in kpi.toml, or "
                              f"name extract files: {ingest_hint(spec.id)}")
    if source.query is not None:
        text, origin = source.query, "kpi.toml"
    else:
        assert source.query_file is not None
        path = root / source.query_file
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read dataset '{spec.id}''s query file "
                              f"({exc.strerror or exc})",
                              hint="check source.query_file in kpi.toml") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: the query file is not UTF-8 text",
                              hint="save it as UTF-8") from None
        origin = source.query_file
        if not text.strip():
            raise ConfigError(f"{path}: the query file is empty",
                              hint="write the SELECT that gives the dataset's rows")
    label = f"dataset '{spec.id}' query ({origin})"
    query = Query(dataset=spec.id, text=text, uri_env=source.uri_env, origin=origin,
                  label=label, time_zone=spec.time_zone)
    query.runnable = _runnable(query)
    return query


def _uri(query: Query) -> str:
    uri = os.environ.get(query.uri_env, "").strip()
    if not uri:
        raise ConfigError(f"{query.label}: the environment variable {query.uri_env} is not set",
                          hint=f"set {query.uri_env} to the connection URI, e.g. "
                               f"postgresql://user@host:5432/warehouse (the password from "
                               f"PGPASSWORD or ~/.pgpass, or in the URI)")
    query.secrets.append(uri)
    try:
        parts = urlsplit(uri)
        password = parts.password
    except ValueError:
        password = None
    if password:
        query.secrets.extend({password, unquote(password)})
    return uri


def _connect(query: Query) -> Any:
    """An open DBAPI connection for the query's URI (from its environment variable)."""
    import importlib

    uri = _uri(query)
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    if "+" in scheme and scheme.split("+", 1)[0] in DRIVERS:
        # SQLAlchemy's form names its Python driver (`sqlite+pysqlite:///file.db`,
        # `postgresql+psycopg2://...`): the same database, which ADBC's drivers did not read
        # (SQLite's tried to open the whole URI as a file: "failed to allocate memory")
        base = scheme.split("+", 1)[0]
        uri = base + uri[len(scheme):]
        query.secrets.append(uri)
        scheme = base
    module_name = DRIVERS.get(scheme)
    if module_name is None:
        shown = _show(query.scrub(scheme or uri), 20)
        raise ConfigError(f"{query.label}: {query.uri_env} names a '{shown}' database; kpi "
                          f"reads {', '.join(sorted(set(DRIVERS) - {'postgres'}))}",
                          hint="start the URI with postgresql:// or sqlite:///")
    try:
        driver = importlib.import_module(module_name)
    except ImportError:
        raise UsageError(f"{query.label}: the database driver for {scheme} is not installed",
                         hint="pip install 'kpi[sql]'") from None
    target: str = uri
    if scheme == "sqlite":
        # Opened read-only (a URI filename, `mode=ro`): kpi reads the warehouse and never
        # writes it. A query of `DELETE ... RETURNING` gave its rows and, committed, would
        # have deleted them; SQLite now refuses it ("attempt to write a readonly database").
        target = "file:" + quote(str(Path(_sqlite_path(query, uri)).absolute())) + "?mode=ro"
        query.sqlite = True
        _without_local_time(query)
    try:
        connection = driver.connect(target)
    except Exception as exc:  # noqa: BLE001 - every driver error is one line, scrubbed
        raise DataError(f"{query.label}: cannot connect to the database ({_reason(query, exc)})",
                        hint=f"check {query.uri_env}, the server and the credentials; "
                             "nothing stored was changed") from None
    if scheme != "sqlite":
        _settle_session(query, connection)
    return connection


# The PostgreSQL settings that change what a query gives, set for kpi's session so that its
# figures never depend on the server's, the database's or the role's defaults: the zone of
# `created::date`, `created::timestamp` and `date_trunc('month', created)` (the dataset's
# time_zone, the zone kpi reads a time without an offset in); how a date is written as text
# (`day::text` was '09/03/2025' under DateStyle 'SQL, MDY', read as 9 March) and how a slashed
# date in the query is read (day first, as kpi reads one); a double written as text in full
# (extra_float_digits below 1 rounds 0.30000000000000004 to '0.3'); an interval's text; and
# to_char's decimal point and thousands separator ('1.234,50' under lc_numeric de_DE); and
# bytea's text (`col::text` is '\x436f76' under bytea_output hex, 'Cov' under escape), hex,
# which `_bytes_as_hex_text` refuses in a text column.
_SESSION = (("DateStyle", "ISO, DMY"), ("IntervalStyle", "postgres"),
            ("extra_float_digits", "1"), ("lc_numeric", "C"), ("bytea_output", "hex"))


def _settle_session(query: Query, connection: Any) -> None:
    """Set _SESSION and the dataset's time zone for the connection's session, in one
    statement; refused in one line where the server will not take one."""
    settings = (("TimeZone", query.time_zone), *_SESSION)
    calls = ", ".join("set_config('{}', '{}', false)".format(name, value.replace("'", "''"))
                      for name, value in settings)
    cursor = connection.cursor()
    try:
        cursor.execute(f"SELECT {calls}")
        cursor.fetchall()
    except Exception as exc:  # noqa: BLE001
        _close(cursor, connection)
        raise DataError(f"{query.label}: cannot set the session's time zone ({query.time_zone}) "
                        f"and formats ({_reason(query, exc)})",
                        hint="kpi sets TimeZone to the dataset's time_zone, DateStyle, "
                             "IntervalStyle, extra_float_digits, lc_numeric and bytea_output "
                             "so that no server or role default changes a figure; nothing "
                             "stored was changed") from None
    finally:
        cursor.close()


# SQLite's date and time functions' modifiers that read the zone of the machine running the
# query: 'localtime' (a UTC time as local time) and 'utc' (a local time as UTC).
_LOCAL_TIME_MODIFIERS = frozenset({"localtime", "utc"})


def _without_local_time(query: Query) -> None:
    """Refuse a SQLite query that names a modifier reading the machine's zone, 'localtime'
    or 'utc' (`datetime(created_utc, 'localtime')`): SQLite takes the zone of the process
    running it, kpi's, so a figure depended on the machine's TZ (calls at 00:10 to 00:50 BST
    on 1 July were in June under TZ=UTC or America/New_York and in July under
    Europe/London: a year's 15 or 12, each exit 0). PostgreSQL's session zone is set by kpi
    (`_settle_session`); a process's zone cannot be set for one query on every system
    (Windows has no tzset). Every string literal of either word is refused, wherever it
    stands: which literal reaches a date function is not told without parsing the query."""
    for match in _QUOTED.finditer(query.text):
        literal = match.group(0)
        if literal[:1] in "Ee" and literal[1:2] == "'":
            literal = literal[1:]
        if not literal.startswith("'"):
            continue
        word = literal[1:-1].replace("''", "'").strip().lower()
        if word in _LOCAL_TIME_MODIFIERS:
            raise ConfigError(f"{query.label}: names SQLite's '{word}' modifier, which reads "
                              "the time zone of the machine running kpi, so that a figure "
                              "would depend on where it runs",
                              hint="leave the time as stored (UTC text, read in the dataset's "
                                   "time_zone: declare time_zone = \"UTC\" for the dataset "
                                   "or the column) and let kpi read it in its zone")


def _close(cursor: Any, connection: Any) -> None:
    """Close the cursor (its statement and result reader), then the connection: the one order
    on every path. The driver manager refuses to close a connection whose statement is open
    ("Cannot close AdbcConnection with open AdbcStatement"); it closes the cursors it knows
    first, but knows them by weak references, which are gone when a load refused mid-read
    leaves this reader to the garbage collector, and the refusal then printed as "Exception
    ignored" after kpi's error and hint."""
    try:
        if cursor is not None:
            cursor.close()
    finally:
        connection.close()


# The parameters of a SQLite URI that say what kpi does anyway: read-only (`mode=ro`), and
# SQLAlchemy's flag that the path is a URI (`uri=true`).
_SQLITE_READ_ONLY = {("mode", "ro"), ("uri", "true"), ("uri", "1")}


def _sqlite_path(query: Query, uri: str) -> str:
    """The file a sqlite:///path URI names: after the three slashes, a relative path (to the
    working folder) or, with a fourth, an absolute one; refused when it does not exist
    (SQLite would create an empty database and the query would fail less clearly), naming
    the file where it was looked for."""
    path = unquote(uri[len("sqlite:"):])
    if path.startswith("///"):  # sqlite:///relative/file.db, sqlite:////absolute/file.db
        path = path[3:]
    elif path.startswith("//"):
        path = path[2:]
    if "?" in path and not Path(path).is_file():
        # SQLAlchemy's and SQLite's own read-only forms (`?mode=ro`, `?mode=ro&uri=true`)
        # were looked for as a file named with them. kpi opens every SQLite file read-only;
        # a parameter that would read otherwise (`mode=rw`, `immutable=1`, which trusts the
        # file not to change while it is read) is refused, naming it.
        path, _, params = path.partition("?")
        for param in filter(None, params.split("&")):
            name, _, value = param.partition("=")
            if (name.lower(), value.lower()) not in _SQLITE_READ_ONLY:
                raise ConfigError(f"{query.label}: {query.uri_env} asks SQLite for "
                                  f"'{_show(param, 40)}'; kpi opens a SQLite file read-only "
                                  "and takes no other parameter",
                                  hint="leave the parameters out (sqlite:///path/to/file.db) "
                                       "or write ?mode=ro")
    if not path or not Path(path).is_file():
        where = str(Path(path).absolute()) if path else path
        raise DataError(f"{query.label}: {query.uri_env} names a SQLite file that does not "
                        f"exist ({_show(where, 200)})",
                        hint="write sqlite:///path/to/file.db, with three slashes before a "
                             "relative path and four before an absolute one")
    return path


def _reason(query: Query, exc: BaseException) -> str:
    text = query.scrub(str(exc)).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    # ADBC prefixes every message with its status code, which says nothing to a user.
    first = re.sub(r"^(?:[A-Z_]+: )?(?:\[[^\]]*\] )?", "", first)
    return _show(first, 200)


@dataclass
class QueryRead:
    """What the reader learned while reading: rows, and a digest of the result's content."""

    rows: int = 0
    digest: Any = field(default_factory=hashlib.sha256)


def _in_session_zone(frame: pl.DataFrame, zone: str) -> pl.DataFrame:
    """Each instant (a timestamptz) labelled with the session's zone, the dataset's, as the
    database writes it in an extract of that session (ADBC gives it in UTC): the same instant,
    whose date in its label is the date the extract writes, which the conformer holds a `date`
    column's instant to (`conform._rules`; a Parquet file's instants keep the zone their
    writer gave them)."""
    zoned = [name for name, dtype in frame.schema.items()
             if isinstance(dtype, pl.Datetime) and dtype.time_zone not in (None, zone)]
    return frame.with_columns(pl.col(name).dt.convert_time_zone(zone) for name in zoned) \
        if zoned else frame


def query_batches(spec: DatasetSpec, query: Query, state: _FileState,
                  read: QueryRead) -> tuple[Iterator[pl.DataFrame], Numbering]:
    """The query's result a batch at a time, typed as the database types it, numbered from 1.
    The connection is opened when the first batch is asked for and closed when the last is
    read or the load stops. `read` collects the row count and a sha256 of the result (its
    Arrow IPC bytes), so reloading an unchanged result writes no new version."""
    import pyarrow as pa

    def batches() -> Iterator[pl.DataFrame]:
        connection = _connect(query)
        cursor = None
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(query.runnable)
                reader = cursor.fetch_record_batch()
            except Exception as exc:  # noqa: BLE001
                raise DataError(f"{query.label}: the query failed ({_reason(query, exc)})",
                                hint="run the query in the database's own client to see why; "
                                     "nothing stored was changed") from None
            if query.sqlite:
                _check_sqlite_types(query, connection, _mapped(spec, reader.schema.names))
            start = 0
            size = _batch_rows()
            held: list[Any] = []
            count = 0
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    batch = None
                except Exception as exc:  # noqa: BLE001
                    raise _read_failed(query, exc, reader.schema, start + count) from None
                if batch is not None and batch.num_rows:
                    held.append(batch)
                    count += batch.num_rows
                if held and (count >= size or batch is None):
                    table = pa.Table.from_batches(held)
                    held, count = [], 0
                    read.digest.update(_ipc_bytes(table))
                    frame = pl.from_arrow(_as_read(spec, query, table, start))
                    assert isinstance(frame, pl.DataFrame)
                    frame = _in_session_zone(frame, query.time_zone)
                    frame, dropped = _without_reserved(Path(query.label), frame)
                    if not start:
                        state.warnings.extend(dropped)
                    yield _numbered(frame, start)
                    start += frame.height
                    read.rows = start
                if batch is None:
                    break
            if start == 0:
                raise DataError(f"{query.label}: the query returned no rows",
                                hint="check its WHERE clause; nothing stored was changed")
        finally:
            _close(cursor, connection)

    return batches(), lambda records: records + 1


def _runnable(query: Query) -> str:
    """The query as the driver is given it: its one statement, without the ';' a .sql file
    ends with and anything after it (blank lines, a `-- comment`), and with a line break after
    its last line (a statement ending in a `-- comment` keeps it, so the break ends it).
    PostgreSQL's driver runs the query inside `COPY (...) TO STDOUT`, where `SELECT ... ;`, as
    every client runs it, was a syntax error at ';'. The query's text is recorded as written
    (its sha256 with it).

    A text of two statements is refused, naming where the query came from: SQLite's driver
    ran the first alone (`SELECT ... FROM old; SELECT ... FROM w` loaded `old`'s rows, exit 0;
    a leading `PRAGMA` or `ATTACH` ran alone and "returned no rows"), and PostgreSQL refused
    it as a syntax error: which statement gives the rows is not kpi's to guess."""
    statements = _statements(query.text)
    if not statements:
        raise ConfigError(f"{query.label}: holds no SQL statement, only comments",
                          hint="write the SELECT that gives the dataset's rows")
    if len(statements) > 1:
        shown = "; ".join(_show(" ".join(statement.split()), 40) for statement in statements)
        raise ConfigError(f"{query.label}: holds {len(statements)} SQL statements ({shown}); "
                          "kpi runs one, the SELECT that gives the dataset's rows",
                          hint="keep that one SELECT (or WITH ... SELECT): join another table "
                               "in it, or make a view in the database for what a PRAGMA or "
                               "ATTACH before it would set up")
    return statements[0] + "\n"


# A quoted string, a quoted name or a comment, any `;` inside of which ends no statement:
# '...' (with '' inside), E'...' (with backslash escapes), "...", `...`, [...] (SQLite's),
# PostgreSQL's dollar quotes ($$...$$, $tag$...$tag$), -- to the line's end, /* ... */.
_QUOTED = re.compile(r"""[Ee]'(?:[^'\\]|\\.|'')*(?:'|$)|'(?:[^']|'')*(?:'|$)"""
                     r"""|"(?:[^"]|"")*(?:"|$)|`[^`]*(?:`|$)|\[[^\]]*(?:\]|$)"""
                     r"|(?P<dollar>\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$)(?:.|\n)*?(?:(?P=dollar)|$)"
                     r"|--[^\n]*|/\*(?:.|\n)*?(?:\*/|$)", re.DOTALL)
_COMMENT = re.compile(r"--[^\n]*|/\*(?:.|\n)*?(?:\*/|$)", re.DOTALL)


def _statements(text: str) -> list[str]:
    """The statements of a query's text, split at each `;` outside a quoted string, a quoted
    name and a comment, without their `;`: those that hold more than blanks and comments, each
    without its trailing blanks (a comment before a statement's `;` is kept; one after the last
    `;` is not a statement)."""
    statements: list[str] = []
    start = position = 0
    while position < len(text):
        char = text[position]
        if char == ";":
            statements.append(text[start:position])
            start = position + 1
            position += 1
            continue
        if char in "'\"`[$-/" or (char in "Ee" and not (position and (
                text[position - 1].isalnum() or text[position - 1] == "_"))):
            quoted = _QUOTED.match(text, position)
            if quoted is not None and quoted.end() > position:
                position = quoted.end()
                continue
        position += 1
    statements.append(text[start:])
    return [statement.strip() for statement in statements
            if _COMMENT.sub("", statement).strip()]


def _read_failed(query: Query, exc: BaseException, schema: Any, read: int) -> DataError:
    """A failure to read the result's next rows, after `read` of them, in one line. SQLite
    types each value, not its column, and its driver types a column by its first rows (1,024,
    a batch): a later value of another type stops the read ('Type mismatch in column 2:
    expected INT64 but got DOUBLE', the column counted from 0), named here by the column's
    name, with the query that reads it as text."""
    reason = _reason(query, exc)
    mismatch = re.search(r"Type mismatch in column (\d+): expected (\w+) but got ([\w/]+)",
                         reason)
    if mismatch is None or int(mismatch.group(1)) >= len(schema.names):
        return DataError(f"{query.label}: reading the result failed ({reason})",
                         hint="nothing stored was changed")
    name = _show(schema.names[int(mismatch.group(1))])
    found = {"DOUBLE": "a fraction", "STRING/BINARY": "text or bytes", "INT64": "a whole number"
             }.get(mismatch.group(3), mismatch.group(3))
    return DataError(located(Path(query.label), f"a value of two types: SQLite's driver typed "
                             f"the column {mismatch.group(2)} from its first rows, and a row "
                             f"after row {read:,} holds {found}", column=name),
                     hint=_as_text(name))


def _ipc_bytes(table: Any) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _as_read(spec: DatasetSpec, query: Query, table: Any, start: int) -> Any:
    """The result's columns as the conformer reads them, with the warehouse's value kept as
    the warehouse shows it, or the load refused in one line (row numbers from `start`):

    - two columns of one name: refused (which one the dataset means is not ours to guess);
    - an exact decimal (PostgreSQL NUMERIC, a DECIMAL) and a single-precision float (REAL):
      the text the database prints, read as an extract's text is ('0.10', not the float32
      0.100000001), so that in a float column the conformer refuses, as it does a file's, a
      value a float cannot hold as written (and a whole number beyond 2**53 no float holds);
    - PostgreSQL's money, which the driver gives as a whole number of pence: refused;
    - PostgreSQL's oid, an unsigned 32-bit number the driver gives as a signed one: read as
      the unsigned number it is (3000000001, not -1294967295); a regproc, which the driver
      gives as an oid where PostgreSQL prints a name: read as a type kpi does not read;
    - a whole number in a true/false column (SQLite has no BOOLEAN: its flags are 0 and 1):
      its text, read as an extract's '0' and '1' are (and 2 refused);
    - a date or time outside the years 1 to 9999 (PostgreSQL's 'infinity'): refused;
    - a column of NULLs alone: blank text, whatever type the driver gave it;
    - a uuid, a time of day and citext: their text as PostgreSQL writes it (a uuid lowercase
      and hyphenated, a time '13:45:00'), which the conformer reads as a file's text;
    - JSON: refused where the dataset reads it (its text is not its value: '"Coventry"');
    - a type kpi cannot read (an INTERVAL, bytes, an array): refused in a column the dataset
      maps, with the query's expression that reads it, and left out as an ignored column
      elsewhere.

    Every refusal here is of a column the dataset reads; the conformer's checks follow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names = table.schema.names
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(f"{query.label}: the query returns two columns named "
                            f"'{_show(name)}'",
                            hint="give each column of the SELECT a name of its own "
                                 "(... AS name); nothing stored was changed")
        seen.add(name)
    mapped = _mapped(spec, names)
    columns = []
    for i, name in enumerate(names):
        field_ = table.schema.field(i)
        column = table.column(i)
        kind = field_.type
        described = _database_type(field_)
        extension = kind.extension_name if isinstance(kind, pa.BaseExtensionType) else None
        if extension is not None:
            column = pa.chunked_array([chunk.storage for chunk in column.chunks],
                                      type=kind.storage_type)
            kind = kind.storage_type
        col = mapped.get(name)
        if extension == "arrow.json" and col is not None:
            # JSON's text is not its value: a string is '"Coventry"', quotes and all, which a
            # filter lpa = 'Coventry' never matches (it counted 0 rows of 121).
            raise DataError(located(Path(query.label), f"expected {_expected(col)}, found a "
                                    f"column of type {described} (JSON text, not a value)",
                                    column=name),
                            hint=f"take the value out in the query: {_show(name)} #>> '{{}}' "
                                 f"AS {_show(name)} for a JSON string or number, or "
                                 f"{_show(name)} ->> 'key' for one of its fields; nothing "
                                 "stored was changed")
        if extension == "arrow.uuid":
            column, kind = _uuid_text(column), pa.string()
        elif described == "citext" and pa.types.is_binary(kind):
            # case-insensitive text: its bytes are its text (compared as written, as a file's),
            # checked as UTF-8 below with every other text column
            column, kind = _bytes_as_text(column), pa.string()
        elif pa.types.is_time(kind):
            column, kind = _time_text(query, name, column, col is not None, start), pa.string()
        if described == "money" and col is not None:
            # The driver gives PostgreSQL's money as a whole number of its smallest unit
            # (110 for 1.10), the places set by the server's locale: not ours to guess.
            raise DataError(located(Path(query.label), "found a column of type money, which "
                                    "the database driver gives in pence (110 for 1.10)",
                                    column=name),
                            hint=f"CAST it in the query: {_show(name)}::numeric AS "
                                 f"{_show(name)}; nothing stored was changed")
        if described == "oid" and pa.types.is_int32(kind):
            # An oid is an unsigned 32-bit number, which the driver gives as a signed one:
            # 3000000001 arrived as -1294967295, and a filter ref >= 3000000000 counted 0 rows
            # where the database counts 24. Its bits read again as unsigned are its value.
            column, kind = _unsigned(column), pa.int64()
        if col is not None and len(column) and column.null_count == len(column):
            # Nothing but NULLs: no value has a type. SQLite's driver types such a column
            # by its first value, and gives a date column NULL on every row as Int64, which
            # was refused as the wrong type where a file's blank column loads.
            column, kind = pa.nulls(len(column), pa.string()), pa.string()
        if pa.types.is_decimal(kind):
            column = _numeric_text(decimal_text(column))
            kind = pa.string()
        elif pa.types.is_float16(kind) or pa.types.is_float32(kind):
            if pa.types.is_float16(kind):
                column = float16_as_written(column)
            column = _numeric_text(_real_text(column))
            kind = pa.string()
        elif described == "numeric" and pa.types.is_string(kind):
            column = _numeric_text(column)  # a NUMERIC of no declared scale: its text already
        reason = without_one_text(kind) if _readable(kind) else None
        if col is not None and col.type == ColumnType.STR and reason is not None:
            # A double, a time or a boolean has no one text (common.without_one_text): kpi's
            # (12.0, 1.5e-7, '2025-09-30 23:30:00.000000') is not the database's (12, 1.5e-07,
            # '2025-09-30 23:30:00'), so a filter beat = '12' counted 0 rows where the
            # database counts 18; a boolean is 'true' as boolean::text writes it and 't' as
            # psql and COPY ... CSV write it, and a filter urgent = 't' counted 0 rows where
            # the database counts 8. The texts the database's own are read as above.
            raise DataError(located(Path(query.label), f"expected text, found a column of "
                                    f"type {described}, whose values have no one text "
                                    f"({reason})", column=name),
                            hint=_without_one_text_hint(name, kind))
        if col is not None and not query.sqlite:
            _made_in_session_zone(query, name, column, col, described, start)
        if not _readable(kind) or described in NAMED_BY_OID:
            if col is not None:
                raise DataError(located(Path(query.label), f"expected {_expected(col)}, "
                                        f"found a column of type {described}", column=name),
                                hint=f"convert it in the query: "
                                     f"{_conversion(name, kind, described, query.sqlite)}, "
                                     "or fix the column's type in kpi.toml; nothing stored "
                                     "was changed")
            column = pa.nulls(len(column), pa.string())
        elif pa.types.is_date(kind) or pa.types.is_timestamp(kind):
            column = _within_calendar(query, name, column, col is not None, start)
        elif col is not None and col.type == ColumnType.BOOL and pa.types.is_integer(kind):
            column = pc.cast(column, pa.string())
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            column = _utf8(query, name, column, col is not None, start)
            if col is not None and col.type == ColumnType.STR and not query.sqlite:
                _bytes_as_hex_text(query, name, column, start)
        columns.append(column)
    return pa.table(columns, names=names)


def _without_one_text_hint(name: str, kind: Any) -> str:
    """The hint for a typed column in a `str` column whose values have no one text: declare
    the type that holds the value, or make the text wanted in the query."""
    import pyarrow as pa

    shown = _show(name)
    if pa.types.is_boolean(kind):
        return (f"declare the column bool in kpi.toml (a filter then reads {shown} or NOT "
                f"{shown}), or write the text wanted in the query: CASE WHEN {shown} THEN 'Y' "
                f"WHEN NOT {shown} THEN 'N' END AS {shown}; nothing stored was changed")
    return (f"read the database's text in the query: CAST({shown} AS TEXT) AS {shown}, or "
            "declare the column float or datetime in kpi.toml; nothing stored was changed")


def _made_in_session_zone(query: Query, name: str, column: Any, col: ColumnSpec,
                          described: str, start: int) -> None:
    """Refuse a PostgreSQL column the dataset reads as `datetime` in a zone of its own (its
    `time_zone`, not the dataset's) that arrives as a time without an offset: a `timestamp`,
    a date or text. The session has one TimeZone, the dataset's, and a query makes its
    wall-clock times in it (`to_char(booked_at, ...)`, `booked_at::timestamp`,
    `booked_at::date`), where the column's own zone reads them: with the dataset's UTC and the
    column's Europe/London, calls at 00:10 to 00:50 BST on 1 July were stored at 23:10 to 23:50
    on 30 June, a year's 15 where it is 12, exit 0. Whether a time without an offset was made
    in the session or is held as written, the result does not say; an instant (a
    `timestamptz`) is the same whatever the session's zone, and is read."""
    import pyarrow as pa

    kind = column.type
    if (col.type != ColumnType.DATETIME or col.time_zone == query.time_zone
            or not len(column) or column.null_count == len(column)
            or (pa.types.is_timestamp(kind) and kind.tz is not None)
            or not (pa.types.is_timestamp(kind) or pa.types.is_date(kind)
                    or pa.types.is_string(kind) or pa.types.is_large_string(kind))):
        return
    shown = _show(name)
    raise DataError(located(Path(query.label), f"a time without an offset ({described}) in a "
                            f"column read in its own time_zone ({col.time_zone}), where kpi's "
                            f"session, and any time the query makes, is in the dataset's "
                            f"({query.time_zone})", row=start + 1, column=name),
                    hint=f"give the instant in the query: the timestamptz itself, or "
                         f"{shown}::timestamp AT TIME ZONE '{col.time_zone}' AS {shown} of a "
                         f"time held as {col.time_zone}'s wall clock; or declare the dataset's "
                         "time_zone as the column's; nothing stored was changed")


# A value as PostgreSQL writes a bytea's text under kpi's bytea_output (`_SESSION`): '\x' and
# two lowercase hex digits a byte (none for no bytes).
_BYTEA_HEX = r"^\\x(?:[0-9a-f]{2})*$"


def _bytes_as_hex_text(query: Query, name: str, column: Any, start: int) -> None:
    """Refuse a PostgreSQL text column every value of which (in a batch of the result) is a
    bytea's text, '\\x436f76656e747279': `lpa::text` of bytes holding 'Coventry' writes them
    in hex, and a filter lpa = 'Coventry' counted 0 rows where the database holds 12, exit 0
    (and under a role's bytea_output = escape, 12: kpi's session now pins it to hex). Text
    that is all of that form is bytes written out, not what the bytes hold."""
    values = pl.from_arrow(column)
    assert isinstance(values, pl.Series)
    held = values.is_not_null().arg_true()
    written = values.gather(held)
    if (not held.len() or not written.str.contains(_BYTEA_HEX).all()
            or not (written.str.len_bytes() > 2).any()):
        return
    shown = _show(name)
    raise DataError(located(Path(query.label), f"found bytes written as hex "
                            f"('{_show(values[int(held[0])], 40)}', as PostgreSQL writes a "
                            "bytea as text) in every row of a text column",
                            row=start + int(held[0]) + 1, column=name),
                    hint=f"read the text the bytes hold in the query: convert_from({shown}, "
                         f"'UTF8') AS {shown}; nothing stored was changed")


def _mapped(spec: DatasetSpec, names: list[str]) -> dict[str, ColumnSpec]:
    """The dataset column each result column means, matched as every reader's are."""
    lookup = source_lookup(names)
    mapped: dict[str, ColumnSpec] = {}
    for col in spec.columns:
        for source in sources_of(col, lookup):
            mapped.setdefault(source, col)
    return mapped


def _check_sqlite_types(query: Query, connection: Any, mapped: dict[str, ColumnSpec]) -> None:
    """Refuse a column the dataset reads whose values SQLite holds in types its driver cannot
    read as one without altering some: SQLite types each value, not its column, and the driver
    gives each column one type, from its first rows, converting the rest. A real among text was
    written to 7 digits (1234.5678 stored as 1234.568, 2.5 as the text '2.500000e+00') and a
    whole number past 2**53 among reals became the nearest float (9007199254740993 as
    9007199254740992), each loaded with exit 0. Whole numbers among text are their digits and
    among reals (within 2**53) their value, as a file's are; a mix the driver refuses part way
    (`_read_failed`) is refused there. The types are SQLite's own, `typeof()` of every value of
    the query's result, read by the database before the driver reads a row."""
    names = list(mapped)
    if not names or len(set(names)) != len(names):
        return  # no column read, or two of one name (refused by _as_read)
    parts = []
    for name in names:
        quoted = '"' + name.replace('"', '""') + '"'
        parts.append(f"group_concat(DISTINCT typeof({quoted}))")
        parts.append(f"coalesce(sum(typeof({quoted}) = 'integer' AND ({quoted} > {2**53} OR "
                     f"{quoted} < -{2**53})), 0)")
    cursor = connection.cursor()
    try:
        cursor.execute(f"SELECT {', '.join(parts)} FROM (\n{query.runnable}) AS kpi_result")
        found = cursor.fetchone()
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"{query.label}: the query failed ({_reason(query, exc)})",
                        hint="run the query in the database's own client to see why; "
                             "nothing stored was changed") from None
    finally:
        cursor.close()
    for i, name in enumerate(names):
        kinds = set((found[2 * i] or "").split(",")) - {"", "null"}
        past = int(found[2 * i + 1] or 0)
        if "real" in kinds and "text" in kinds:
            why = "a real among text would be stored to 7 digits (1234.5678 as 1234.568)"
        elif "real" in kinds and past:
            why = (f"{past:,} whole number(s) past 2^53 among reals would be stored as the "
                   "nearest float (9007199254740993 as 9007199254740992)")
        elif "blob" in kinds and len(kinds) > 1:
            why = "bytes among other values have no one reading"
        else:
            continue
        shown = _show(name)
        raise DataError(located(Path(query.label), f"SQLite holds values of {len(kinds)} types "
                                f"in it ({', '.join(sorted(kinds))}), which its driver reads "
                                f"as one: {why}", column=shown),
                        hint=_as_text(shown))


def _as_text(name: str) -> str:
    """The hint for a SQLite column whose values are of several types: read SQLite's own text
    of each value, which kpi then reads as the column's declared type."""
    return (f"read it as text, which kpi then reads as the column's declared type: "
            f"COALESCE(CAST({name} AS TEXT), '') AS {name} in the query; nothing stored was "
            "changed")


def _bytes_as_text(column: Any) -> Any:
    """A column of bytes as the text they hold, unchecked (`_utf8` checks it): Arrow's cast
    raised on bytes that are not UTF-8, a traceback."""
    import pyarrow as pa

    return pa.chunked_array(
        [pa.Array.from_buffers(pa.string(), len(chunk), chunk.buffers()[:3], chunk.null_count,
                               chunk.offset) for chunk in column.chunks], type=pa.string())


def _utf8(query: Query, name: str, column: Any, mapped: bool, start: int) -> Any:
    """A text column whose every value is UTF-8, as every text kpi stores is; else, in a column
    the dataset reads, the first value that is not is refused (a SQL_ASCII database keeps the
    bytes it was given, Windows-1252's 'Café' among them, and hands them on as they are: stored,
    they made the table unreadable, and every later figure refused), and one it ignores is
    made blank."""
    import pyarrow as pa

    offset = 0
    for chunk in column.chunks if isinstance(column, pa.ChunkedArray) else [column]:
        try:
            chunk.validate(full=True)  # checks that each value is UTF-8
        except pa.ArrowInvalid:
            for index, value in enumerate(chunk.cast(pa.binary()).to_pylist()):
                if value is None:
                    continue
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError as exc:
                    if not mapped:  # a column the dataset ignores: left out whole
                        return pa.nulls(len(column), pa.string())
                    shown = value.decode("utf-8", "backslashreplace")
                    raise DataError(located(Path(query.label), f"found text that is not UTF-8 "
                                            f"('{_show(shown)}', byte 0x{value[exc.start]:02x})",
                                            row=start + offset + index + 1, column=name),
                                    hint="the database holds it in another encoding (a "
                                         "SQL_ASCII database keeps bytes as written): convert "
                                         "it in the query, for Windows-1252 text in PostgreSQL "
                                         f"convert_from(convert({_show(name)}::bytea, 'WIN1252', "
                                         f"'UTF8'), 'UTF8') AS {_show(name)}; nothing stored "
                                         "was changed") from None
        offset += len(chunk)
    return column


def _numeric_text(column: Any) -> Any:
    """A number's text with NaN and the infinities spelt as PostgreSQL writes them ('NaN',
    'Infinity', '-Infinity'; Arrow and the driver write 'nan' and 'inf'), so that a text column
    holds the database's text and a refusal quotes it."""
    import pyarrow.compute as pc

    for arrow, database in (("nan", "NaN"), ("inf", "Infinity"), ("-inf", "-Infinity")):
        column = pc.replace_substring_regex(  # type: ignore[attr-defined]
            column, f"^{arrow}$", database)
    return column


def _real_text(column: Any) -> Any:
    """A REAL (float4) column as PostgreSQL's real::text writes each value (`float4_text`),
    nulls kept. Arrow's text was stored, written its own way ('1000000', '0.00001' where
    PostgreSQL writes '1e+06', '1e-05'), so a filter code = '1e+06' counted 0 rows where the
    database and its CSV export count 92, exit 0. Arrow's shortest digits are PostgreSQL's
    but where they fall exactly halfway to the next float4 (44623648: Arrow's 4.462365e+07,
    PostgreSQL's 4.4623648e+07); they are written out as PostgreSQL writes them, and those
    that fall halfway are worked out again, one by one, by `float4_text`."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    arrow = pl.from_arrow(pc.cast(column, pa.string()))
    assert isinstance(arrow, pl.Series)
    text = _postgres_real(arrow)
    values = pc.fill_null(column, 0.0).to_numpy(zero_copy_only=False)
    wide = values.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        read = arrow.cast(pl.Float64, strict=False).fill_null(np.nan).to_numpy()
        halfway = np.isfinite(wide) & (
            (read == (wide + np.nextafter(values, np.float32(np.inf)).astype(np.float64)) / 2)
            | (read == (wide + np.nextafter(values, np.float32(-np.inf)).astype(np.float64)) / 2))
    where = np.flatnonzero(halfway & ~column.is_null().to_numpy(zero_copy_only=False))
    if len(where):
        bits = values.view(np.uint32)
        text = text.scatter(where, [float4_text(int(bits[i])) for i in where])
    return pa.chunked_array([text.to_arrow().cast(pa.string())])


def _postgres_real(raw: pl.Series) -> pl.Series:
    """A float's text of any writer ('1000000', '1e-5', '1.5e-7', '123.40') with its digits
    written as PostgreSQL writes a float4's (`float4_text`): out where the first digit's power
    of ten is -4 to 5, else d.ddde+XX; 'nan' and 'inf' as they are. Worked out a step at a
    time, each step's column kept for the next."""
    col = pl.col
    numbers = raw.str.strip_prefix("-").str.splitn("e", 2).struct.rename_fields(
        ["mantissa", "shift"]).struct.unnest()
    parts = numbers["mantissa"].str.splitn(".", 2).struct.rename_fields(
        ["whole", "fraction"]).struct.unnest()
    frame = pl.DataFrame({"raw": raw, "whole": parts["whole"],
                          "every": parts["whole"] + parts["fraction"].fill_null(""),
                          "shift": numbers["shift"].cast(pl.Int32, strict=False).fill_null(0)})
    frame = frame.with_columns(digits=col("every").str.strip_chars_start("0"))
    frame = frame.with_columns(
        # the power of ten of the first digit that is not 0
        power=(col("whole").str.len_chars().cast(pl.Int32) - 1 + col("shift")
               - (col("every").str.len_chars() - col("digits").str.len_chars())
               .cast(pl.Int32)),
        digits=col("digits").str.strip_chars_end("0"),
        number=col("raw").str.contains(r"^-?[0-9.]"))
    frame = frame.with_columns(count=col("digits").str.len_chars().cast(pl.Int32))
    power, digits, count = col("power"), col("digits"), col("count")
    # (every branch is worked out for every row: the lengths are kept from going below 0)
    zeros = pl.lit("0" * 8)
    point = (power + 1).clip(0, 8)
    fixed = (pl.when(power < 0)
             .then("0." + zeros.str.slice(0, (-power - 1).clip(0, 8)) + digits)
             .when(count <= power + 1)
             .then(digits + zeros.str.slice(0, (power + 1 - count).clip(0, 8)))
             .otherwise(digits.str.slice(0, point) + "." + digits.str.slice(point)))
    scientific = pl.concat_str(
        [digits.str.slice(0, 1),
         pl.when(count > 1).then("." + digits.str.slice(1)).otherwise(pl.lit("")),
         pl.when(power < 0).then(pl.lit("e-")).otherwise(pl.lit("e+")),
         power.abs().cast(pl.String).str.zfill(2)])
    written = (pl.when(~col("number")).then(col("raw"))  # nan, inf, -inf
               .when(digits == "").then(pl.lit("0"))
               .when((power >= -4) & (power < 6)).then(fixed)
               .otherwise(scientific))
    return frame.select(pl.when(col("number") & col("raw").str.starts_with("-"))
                        .then("-" + written).otherwise(written)).to_series()


def float4_text(bits: int, start: int = 1) -> str:
    """The float4 of these 32 bits as PostgreSQL's float4out writes it in a session of
    extra_float_digits 1 or more (PostgreSQL 12 on; kpi's, `_SESSION`), exactly: Ryu's
    shortest digits that read back as the same float4, where a decimal exactly halfway to the
    next float4 does not count as reading back (PostgreSQL builds Ryu so; 44623648 is
    '4.4623648e+07', where Arrow and most writers give 4.462365e+07), the nearest of them (a
    tie to an even last digit); written out where the first digit's power of ten is -4 to 5
    ('0.0001', '123456.7') and as d.ddde+XX elsewhere ('1e+06', '1.000001e+06', '1e-05');
    'NaN', 'Infinity', '-Infinity', '0' and '-0'. `start`: digits fewer than which none reads
    back (1, or a writer's shortest)."""
    sign = "-" if bits >> 31 else ""
    exponent, mantissa = (bits >> 23) & 0xFF, bits & 0x7FFFFF
    if exponent == 0xFF:
        return "NaN" if mantissa else sign + "Infinity"
    if not exponent and not mantissa:
        return sign + "0"
    # The value, and the ends of the values that read back as it, all times 2**shift: the
    # gap below a power of two is half the gap above.
    whole = (mantissa | 1 << 23) if exponent else mantissa
    shift = max(exponent, 1) - 152
    value, high = 4 * whole, 4 * whole + 2
    low = 4 * whole - (1 if not mantissa and exponent > 1 else 2)

    def scales(power: int) -> tuple[int, int]:
        """Whole numbers that 10**power and 2**shift are the same multiple of."""
        return (10 ** max(power, 0) * 2 ** max(-shift, 0),
                10 ** max(-power, 0) * 2 ** max(shift, 0))

    def above(power: int) -> bool:  # 10**power > value * 2**shift
        ten, two = scales(power)
        return ten > value * two

    top = math.floor(math.log10(whole) + shift * math.log10(2))
    while above(top):
        top -= 1
    while not above(top + 1):
        top += 1
    for count in range(max(start, 1), 10):
        power = top - count + 1
        ten, two = scales(power)
        below = value * two // ten  # the count-digit numbers either side of the value
        inside = [c for c in (below, below + 1) if low * two < c * ten < high * two]
        if inside:
            best = min(inside, key=lambda c: (abs(c * ten - value * two), c % 2))
            break
    else:  # pragma: no cover - nine digits always read back
        raise AssertionError(bits)
    digits = str(best).rstrip("0")
    top = power + len(str(best)) - 1  # 9.99 rounded to 10 gains a digit
    if -4 <= top < 6:
        if top < 0:
            return sign + "0." + "0" * (-top - 1) + digits
        if len(digits) <= top + 1:
            return sign + digits + "0" * (top + 1 - len(digits))
        return sign + digits[:top + 1] + "." + digits[top + 1:]
    return (sign + digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
            + ("e-" if top < 0 else "e+") + f"{abs(top):02d}")


def _conversion(name: str, kind: Any, described: str = "", sqlite: bool = False) -> str:
    """The query's expression that reads a column of a type kpi does not read, for a hint:
    bytes are read as the UTF-8 text they hold (PostgreSQL's bytea::text is their hex,
    '\\x436f76', which no filter written as the text matches)."""
    import pyarrow as pa

    shown = _show(name)
    if sqlite and (pa.types.is_binary(kind) or pa.types.is_large_binary(kind)):
        return f"CAST({shown} AS TEXT) AS {shown} (the text the bytes hold)"
    if described == "bytea":
        return f"convert_from({shown}, 'UTF8') AS {shown} (the text the bytes hold)"
    if pa.types.is_interval(kind) or pa.types.is_duration(kind):
        return f"EXTRACT(EPOCH FROM {shown}) AS {shown} (its seconds)"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return (f"array_to_string({shown}, ',') AS {shown} (its items as text), or "
                f"{shown}[1] AS {shown} (its first)")
    return f"{shown}::text AS {shown} (its text, as the database writes it)"


def _uuid_text(column: Any) -> Any:
    """A uuid's 16 bytes as its canonical text, lowercase and hyphenated (PostgreSQL's
    uuid::text): one uuid, one text, and back."""
    import pyarrow as pa

    hexed = pl.from_arrow(column).bin.encode("hex")  # type: ignore[union-attr]
    text = pl.concat_str([hexed.str.slice(0, 8), hexed.str.slice(8, 4),
                          hexed.str.slice(12, 4), hexed.str.slice(16, 4),
                          hexed.str.slice(20, 12)], separator="-", ignore_nulls=False)
    return pa.chunked_array([pl.select(text).to_series().to_arrow()])


# A day in microseconds: PostgreSQL's time runs from 00:00:00 to 24:00:00 inclusive.
_DAY_MICROS = 86_400_000_000


def _time_text(query: Query, name: str, column: Any, mapped: bool, start: int) -> Any:
    """A time of day as PostgreSQL's time::text writes it: '13:45:00', '01:02:03.5', and
    '24:00:00' (a shift ending at midnight; '23:59:59.9999999' rounds to it), written from
    its microseconds. Polars holds a time only below 24:00 and made 24:00:00 no value, so a
    filter shift_end IS NULL counted 73 rows where the database (and its CSV export) holds
    none, exit 0. A value outside 00:00 to 24:00, which no database time holds, is refused in
    a column the dataset reads, never made blank; a column it ignores is left out whole."""
    import pyarrow as pa
    import pyarrow.compute as pc

    micros = pl.from_arrow(pc.cast(column.cast(pa.time64("us")), pa.int64()))
    assert isinstance(micros, pl.Series)
    outside = ((micros < 0) | (micros > _DAY_MICROS)).fill_null(False).arg_true()
    if outside.len():
        if not mapped:
            return pa.nulls(len(column), pa.string())
        raise DataError(located(Path(query.label), "found a time of day outside 00:00:00 to "
                                                   "24:00:00",
                                row=start + int(outside[0]) + 1, column=name),
                        hint=f"read the database's text in the query: CAST({_show(name)} AS "
                             f"TEXT) AS {_show(name)}; nothing stored was changed")
    us = pl.col("us")
    seconds = us // 1_000_000
    fraction = (us % 1_000_000).cast(pl.String).str.zfill(6).str.strip_chars_end("0")
    clock = pl.concat_str([part.cast(pl.String).str.zfill(2) for part in (
        seconds // 3600, seconds // 60 % 60, seconds % 60)], separator=":")
    text = micros.to_frame("us").select(
        clock + pl.when(fraction == "").then(pl.lit("")).otherwise("." + fraction)).to_series()
    return pa.chunked_array([text.to_arrow().cast(pa.string())])


# The first and last days of years 1 and 9999, in days from 1970-01-01: Polars cannot show a
# date outside them (PostgreSQL's 'infinity' is the largest a driver can give).
_FIRST_DAY, _LAST_DAY = -719162, 2932896


def _within_calendar(query: Query, name: str, column: Any, mapped: bool, start: int) -> Any:
    """A date or time column whose values all fall in years 1 to 9999; else, in a column the
    dataset reads, the first that does not is refused (PostgreSQL's 'infinity', year 200000),
    and one it ignores is made blank."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_date(kind):
        raw = pc.cast(pc.cast(column, pa.date32()), pa.int32())
        low, high = _FIRST_DAY, _LAST_DAY
    else:
        raw = pc.cast(column, pa.int64())
        per_day = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000,
                   "ns": 86_400_000_000_000}[kind.unit]
        # a nanosecond's reach (1677 to 2262) is within the years: only its ends are refused
        low = max(_FIRST_DAY * per_day, -(2**63) + 1)
        high = min((_LAST_DAY + 1) * per_day - 1, 2**63 - 2)
    values = pl.from_arrow(raw)
    assert isinstance(values, pl.Series)
    outside = ((values < low) | (values > high)).fill_null(False).arg_true()
    if not outside.len():
        return column
    if not mapped:  # a column the dataset ignores: left out whole, as one of no known type
        return pa.nulls(len(column), pa.string())
    index = int(outside[0])
    raise DataError(located(Path(query.label), "found a date outside the years 1 to 9999 "
                                               "(PostgreSQL's 'infinity', for one)",
                            row=start + index + 1, column=name),
                    hint="leave it out in the query (WHERE col <> 'infinity'), or make it NULL "
                         "there; nothing stored was changed")


# PostgreSQL's types that the driver gives as the oid of what they name, where the database
# prints the name: a regproc is 'now' in psql and 1299 from the driver, neither a figure nor
# the text a filter would compare. Read as a type kpi does not read (the other reg- types,
# xid and cid arrive as bytes, and are).
NAMED_BY_OID = frozenset({"regproc"})


def _unsigned(column: Any) -> Any:
    """A column of 32-bit whole numbers the driver gave as signed, read as the unsigned
    numbers they are (PostgreSQL's oid), as 64-bit ones: -1294967295 is 3000000001."""
    import pyarrow as pa

    return pa.chunked_array([chunk.view(pa.uint32()).cast(pa.int64())
                             for chunk in column.chunks], type=pa.int64())


def _readable(kind: Any) -> bool:
    import pyarrow as pa

    t = pa.types
    return (t.is_null(kind) or t.is_boolean(kind) or t.is_integer(kind) or t.is_floating(kind)
            or t.is_string(kind) or t.is_large_string(kind) or t.is_string_view(kind)
            or t.is_date(kind) or t.is_timestamp(kind))


def _database_type(field_: Any) -> str:
    """A column's type as the database names it (PostgreSQL's, where the driver says), else
    Arrow's."""
    import pyarrow as pa

    meta = field_.metadata or {}
    named = meta.get(b"POSTGRESQL:type") or meta.get(b"ADBC:postgresql:typname")
    if named:
        return named.decode("utf-8", "replace")
    if isinstance(field_.type, pa.BaseExtensionType):
        return str(getattr(field_.type, "type_name", field_.type.extension_name))
    return str(field_.type)
