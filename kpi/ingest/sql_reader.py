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
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import polars as pl

from kpi.catalogue import DatasetSpec, QuerySource
from kpi.errors import ConfigError, DataError, UsageError
from kpi.ingest.common import Numbering, _batch_rows, _numbered, _show, _without_reserved

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
    secrets: list[str] = field(default_factory=list)

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
                              f"name extract files: kpi ingest {spec.id} FILE...")
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
    return Query(dataset=spec.id, text=text, uri_env=source.uri_env, origin=origin, label=label)


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
    module_name = DRIVERS.get(scheme.split("+", 1)[0])
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
        target = _sqlite_path(query, uri)
    try:
        return driver.connect(target)
    except Exception as exc:  # noqa: BLE001 - every driver error is one line, scrubbed
        raise DataError(f"{query.label}: cannot connect to the database ({_reason(query, exc)})",
                        hint=f"check {query.uri_env}, the server and the credentials; "
                             "nothing stored was changed") from None


def _sqlite_path(query: Query, uri: str) -> str:
    """The file a sqlite:///path URI names; refused when it does not exist (SQLite would
    create an empty database and the query would fail less clearly)."""
    path = unquote(uri[len("sqlite:"):])
    if path.startswith("//"):
        path = path[2:]
    if not path or not Path(path).is_file():
        raise DataError(f"{query.label}: {query.uri_env} names a SQLite file that does not "
                        f"exist ({_show(path, 80)})",
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


def query_batches(spec: DatasetSpec, query: Query, state: _FileState,
                  read: QueryRead) -> tuple[Iterator[pl.DataFrame], Numbering]:
    """The query's result a batch at a time, typed as the database types it, numbered from 1.
    The connection is opened when the first batch is asked for and closed when the last is
    read or the load stops. `read` collects the row count and a sha256 of the result (its
    Arrow IPC bytes), so reloading an unchanged result writes no new version."""
    import pyarrow as pa

    def batches() -> Iterator[pl.DataFrame]:
        connection = _connect(query)
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(query.text)
                reader = cursor.fetch_record_batch()
            except Exception as exc:  # noqa: BLE001
                raise DataError(f"{query.label}: the query failed ({_reason(query, exc)})",
                                hint="run the query in the database's own client to see why; "
                                     "nothing stored was changed") from None
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
                    raise DataError(f"{query.label}: reading the result failed "
                                    f"({_reason(query, exc)})",
                                    hint="nothing stored was changed") from None
                if batch is not None and batch.num_rows:
                    held.append(batch)
                    count += batch.num_rows
                if held and (count >= size or batch is None):
                    table = pa.Table.from_batches(held)
                    held, count = [], 0
                    read.digest.update(_ipc_bytes(table))
                    frame = pl.from_arrow(table)
                    assert isinstance(frame, pl.DataFrame)
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
            connection.close()

    return batches(), lambda records: records + 1


def _ipc_bytes(table: Any) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()
