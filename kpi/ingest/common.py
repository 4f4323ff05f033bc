"""What every part of ingest shares: the bookkeeping columns of a row, and how rows and values
are shown in messages.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from pathlib import Path

import polars as pl

from kpi.errors import NOT_XML, UsageError, located
from kpi.periods import whole_number
from kpi.text import as_stored

ROW = "__row"  # a record's index in its file; row numbers for messages come from Numbering


REASON = "__reason"


COLUMN = "__column"


FILE = "__file"


MAX_LISTED = 5


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# What a text cell may not hold: C0 and C1 control characters but tab, DEL, the Unicode
# marks that reorder how a line is displayed, and the two noncharacters no XML file (a Word
# paper, a workbook) can hold (kpi.errors.NOT_XML). Any of them in a report could clear a
# terminal, rewrite a line, break a table or be dropped from a name (docs/guarantees.md).
_UNSAFE = re.compile(rf"[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069{NOT_XML}]")


_SHOWN_AS_MARK = rf"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069{NOT_XML}]"  # shown as '?'


def printable_ascii(values: pl.Series) -> bool:
    """Whether every byte of a text column is printable ASCII (0x20 to 0x7e): then no value
    holds a character _UNSAFE matches, and none needs normalising (kpi.ingest.identity).

    One pass over the column's bytes, several times quicker than the regular expression it
    spares: it reads the bytes behind the values, which may include some outside them, so it
    can only answer no more often than it should, never yes wrongly."""
    if values.dtype != pl.String:
        return False
    return printable_ascii_arrow(values.to_arrow())


def printable_ascii_arrow(arrow) -> bool:
    """printable_ascii for an Arrow string array or chunked array (the CSV reader asks it of
    its batches as Arrow parsed them, before they are Polars columns: converting a Polars
    column back to Arrow copied every value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_large_string(arrow.type) or pa.types.is_string(arrow.type)):
        return False
    for chunk in arrow.chunks if isinstance(arrow, pa.ChunkedArray) else [arrow]:
        data = chunk.buffers()[2]
        if data is None or not data.size:
            continue
        octets = pa.Array.from_buffers(pa.uint8(), data.size, [None, data])
        # pyarrow.compute's functions are made at import; its stubs do not list them.
        bounds = pc.min_max(octets)  # pyright: ignore[reportAttributeAccessIssue]
        if bounds["min"].as_py() < 0x20 or bounds["max"].as_py() > 0x7e:
            return False
    return True


def decimal_text(column):
    """An Arrow decimal column as the text of each value to its scale, never in scientific
    notation ('0.00000000', '-0.00000010'): Arrow's own cast writes '0E-8' and '-1.0E-7' where
    the adjusted exponent is below -6, so a decimal(18, 8) of 0 in a `str` column was stored
    as '0E-8' from Parquet and '0.00000000' from the CSV of the same rows, and a filter
    counted 0 of the 2. Polars' cast (to 38 digits), else Python's `format(value, 'f')`; a
    chunked column chunk by chunk."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        return pa.chunked_array([decimal_text(chunk) for chunk in column.chunks], pa.string())
    if getattr(column.type, "precision", 39) <= 38:
        series = pl.from_arrow(column)
        assert isinstance(series, pl.Series)
        return series.cast(pl.String).to_arrow().cast(pa.string())
    return pa.array([None if v is None else format(v, "f") for v in column.to_pylist()],
                    pa.string())


def float16_as_written(column):
    """An Arrow float16 column (pandas' `.astype('float16')`) as float32 values of each
    half-float's shortest decimal (1.1 where its binary value is 1.099609375), nulls kept: a
    float32 is read as its shortest decimal (`conform._cast_typed`, the database reader), and
    a half float, widened whole, summed 300 rows of 1.1 to 329.8828125. Worked out once per
    distinct value (at most 65,536)."""
    import numpy as np
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    values = column.to_numpy(zero_copy_only=False)
    distinct, where = np.unique(values, return_inverse=True)
    written = np.array([float(str(v)) for v in distinct], dtype=np.float32)[where]
    return pa.array(written, type=pa.float32(), mask=column.is_null().to_numpy(
        zero_copy_only=False))


def without_one_text(kind) -> str | None:
    """Why the values of a typed column (an Arrow type) have no one text, so that none may be
    stored in a `str` column, or None where each value has one: an integer (its digits), an
    exact decimal (its digits to its scale, '12.00'), a date (ISO 8601, '2025-09-29', as every
    writer of a typed file and every database writes it) and text itself. A boolean has none:
    PostgreSQL's boolean::text is 'true', its psql and COPY ... CSV 't'.

    The rule for every reader of typed values (a Parquet file, a database query): kpi's text
    of the others is one writer's among several, so a filter written as the source shows a
    value missed every row stored another way (`beat = '12'` counted 0 of 18 rows whose 12.0
    kpi stored as '12.0', exit 0, where the same extract as CSV counts 18). A reader that
    knows the text its source writes (the database's `real::text`, `time::text`) makes that
    text first, and asks this of what is left."""
    import pyarrow as pa

    t = pa.types
    if t.is_dictionary(kind):
        kind = kind.value_type
    if t.is_floating(kind):
        return "12.0 is written 12 or 12.0, 7.5e-09 or 7.5e-9"
    if t.is_timestamp(kind):
        return "a time is written 2025-09-29 23:30:00, 2025-09-29T23:30 or 29/09/2025 23:30"
    if t.is_time(kind):
        return "a time of day is written 13:45, 13:45:00 or 1:45 PM"
    if t.is_duration(kind) or t.is_interval(kind):
        return "an hour is written 1:00:00, 1h or 3600"
    if t.is_boolean(kind):
        return "true is written true, True, TRUE or t"
    return None


# Rows read, typed and checked at once: memory is bounded by a batch, not by the file.
# KPI_INGEST_BATCH_ROWS overrides it (the tests use small batches).
BATCH_ROWS = 250_000


Numbering = Callable[[pl.Series], pl.Series]


def _batch_rows() -> int:
    text = os.environ.get("KPI_INGEST_BATCH_ROWS", "").strip()
    if not text:
        return BATCH_ROWS
    if (whole_number(text) or 0) < 1:  # ASCII digits, as every typed number
        raise UsageError(f"KPI_INGEST_BATCH_ROWS must be a whole number of rows, at least 1; "
                         f"found '{_show(text)}'", hint="unset it for the default, 250000")
    return int(text)


class _StagingRefused(Exception):
    """The operating system refused a write into the staging folder (full disk, read-only)."""

    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error


def _without_reserved(path: Path, frame: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """The frame without source columns whose names kpi keeps for its own bookkeeping (they
    start with '__', as ROW does), and a warning naming them."""
    reserved = [name for name in frame.columns if name.startswith("__")]
    if not reserved:
        return frame, []
    return frame.drop(reserved), [f"{path}: ignored column(s) "
                                  f"{', '.join(repr(_show(n)) for n in reserved[:8])}: names "
                                  "starting with '__' are reserved for kpi's own use"]


def _numbered(frame: pl.DataFrame, start: int = 0) -> pl.DataFrame:
    """The frame with each record's index in its file (from 0; its first is `start`) as
    column ROW, its first. Made without a query: a small batch costs about as much as the
    queries it runs."""
    import numpy as np

    frame = frame.clone()
    frame.insert_column(0, pl.Series(ROW, np.arange(start, start + frame.height,
                                                    dtype=np.int64)))
    return frame


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return _show(text.splitlines()[0] if text else type(exc).__name__, 160)


@functools.lru_cache(maxsize=4096)
def _heading_key(name: str) -> str:
    """The form a column name is matched in: read as a cell is stored (`kpi.text.as_stored`:
    NFC, without invisible characters), then without case, the spaces around it, or the kind
    and number of spaces within it ('LPA\u00a0Name', a no-break space as Excel and web pages
    write it, and 'LPA  Name' are 'lpa name'), as the name prints the same either way. Matched
    as written, 'Résultat' in NFD (as macOS writes it) or 'Outcome\u200b' was a column not in
    the dataset, and the column it names was stored blank (a rate of 50.0% read as 25.0%).
    Kept for the names of a load's headers, which repeat file after file."""
    return " ".join(as_stored([name])[0].split()).lower()


def _show(text: str, limit: int = 40) -> str:
    """A value fit for a one-line message: control characters shown as '?', cut to `limit`."""
    text = re.sub(_SHOWN_AS_MARK, "?", str(text))
    return text if len(text) <= limit else text[:limit] + "..."


def _describe_bad_rows(path: Path | str, bad: pl.DataFrame, total: int | None = None) -> str:
    """The first bad row's message, the count of them all and the rows of the first few."""
    total = bad.height if total is None else total
    first = bad.row(0, named=True)
    message = located(path, first[REASON], row=first[ROW], column=_show(first[COLUMN]))
    if total > 1:
        rows = ", ".join(str(r) for r in bad[ROW].head(MAX_LISTED).to_list())
        message += f" ({total} bad rows in all; first at rows {rows})"
    return message
