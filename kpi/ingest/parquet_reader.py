"""The Parquet reader: a file's record batches, typed as stored, with record numbers from 1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from kpi.errors import DataError, located
from kpi.ingest.common import (
    Numbering,
    _batch_rows,
    _first_line,
    _numbered,
    _show,
    _without_reserved,
    decimal_text,
    float16_as_written,
    printable_ascii_arrow,
)
from kpi.ingest.survey import _Survey

if TYPE_CHECKING:
    from kpi.ingest.stage import _FileState


def _parquet_batches(path: Path, survey: _Survey,
                     state: _FileState) -> tuple[Iterator[pl.DataFrame], Numbering]:
    """A Parquet file a batch at a time, read by Arrow's reader: fuzzing showed Polars' own
    reader panicking (and once aborting the process) on damaged files, where Arrow's raises
    an error."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not survey.text:
        raise DataError(located(path, "the file is empty"), hint="check the extract was written")

    def unreadable(exc: BaseException) -> DataError:
        return DataError(located(path, f"not a readable Parquet file ({_first_line(exc)})"),
                         hint="the file may be truncated or corrupt; export it again")

    try:
        parquet = pq.ParquetFile(str(path))
        total = parquet.metadata.num_rows
        # The columns stored as INT96 timestamps, whose meaning the writer decides
        # (`conform._check_parquet_types`): Arrow reads them as timestamps without a zone.
        state.int96 = frozenset(parquet.schema.column(i).path
                                for i in range(len(parquet.schema))
                                if parquet.schema.column(i).physical_type == "INT96")
    except (Exception, pl.exceptions.PanicException) as exc:
        raise unreadable(exc) from None
    if total == 0:
        raise DataError(located(path, "the Parquet file has no rows"))
    # Two columns of one name (a writer that does not refuse them, as pyarrow's does not):
    # refused as a CSV file's header holding a name twice is, where they were reported as a
    # damaged file ("the file may be truncated or corrupt").
    seen: set[str] = set()
    for name in parquet.schema_arrow.names:
        if name in seen:
            raise DataError(located(path, f"column name '{_show(name)}' appears twice in the "
                                          "file's columns", column=_show(name)),
                            hint="rename or remove one of them")
        seen.add(name)

    def batches() -> Iterator[pl.DataFrame]:
        start = 0
        reading = _row_group_batches(parquet, _batch_rows())
        while True:
            try:
                batch = next(reading, None)
                if batch is None:
                    return
                arrow = _decoded(pa.Table.from_batches([batch]))
                arrow.validate(full=True)  # e.g. invalid UTF-8 in a string column
                _check_time_range(arrow)
                # Told from Arrow's buffers, as the CSV reader does: asked of the Polars
                # column, it copied every value back to Arrow (common.printable_ascii).
                printable = frozenset(name for name in arrow.column_names
                                      if printable_ascii_arrow(arrow.column(name)))
                frame = pl.from_arrow(arrow)
            except (Exception, pl.exceptions.PanicException) as exc:
                raise unreadable(exc) from None
            assert isinstance(frame, pl.DataFrame)
            frame, dropped = _without_reserved(path, frame)
            if not start:
                state.warnings.extend(dropped)
            state.plain_text = printable
            yield _numbered(frame, start)
            start += frame.height

    return batches(), lambda records: records + 1


def _decoded(arrow):
    """The table as the conformer reads it, as every other reader gives the same values:

    - a dictionary-encoded column as its values: a dictionary of strings (pandas' category,
      R's factor, Spark's and DuckDB's choice for repeated text) is text, and is cleaned as
      text is (trimmed, NFC, a blank as null). Read as Polars' Categorical, it was stored as
      written: '  Dudley ' and 'Dudley\u200b' beside the 'Dudley' of every other reader, and
      a blank as '' where they store null;
    - an exact decimal (decimal128, decimal256) as its text ('1.50'), as the database reader
      reads a NUMERIC (`sql_reader._as_read`): whole numbers load into an `int` column (a
      decimal(38, 0) of counts was refused there, by its type, with no row named), a fraction
      there is refused naming its row, and a `float` column takes the number as written or
      refuses one a float cannot hold, as it does a CSV file's text."""
    import pyarrow as pa

    for index, field_ in enumerate(arrow.schema):
        kind = field_.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_decimal(kind):
            column = arrow.column(index)
            if pa.types.is_dictionary(field_.type):
                column = column.cast(kind)
            arrow = arrow.set_column(index, pa.field(field_.name, pa.string()),
                                     decimal_text(column))
            continue
        if pa.types.is_timestamp(kind) and kind.tz is not None \
                and re.fullmatch(r"Z|[+-]\d\d:?\d\d", kind.tz) and not pa.types.is_dictionary(
                    field_.type):
            # A zone that is an offset Polars names no zone for ('+05:30', 'Z': "unable to
            # parse time zone", reported as a damaged file): the same instants, in UTC.
            arrow = arrow.set_column(index, pa.field(field_.name, pa.timestamp(kind.unit, "UTC")),
                                     arrow.column(index).cast(pa.timestamp(kind.unit, "UTC")))
            continue
        if pa.types.is_float16(kind) and not pa.types.is_dictionary(field_.type):
            # a half float as its shortest decimal, as a float32 is read
            arrow = arrow.set_column(index, pa.field(field_.name, pa.float32()),
                                     float16_as_written(arrow.column(index)))
            continue
        if kind != field_.type:
            arrow = arrow.set_column(index, pa.field(field_.name, kind),
                                     arrow.column(index).cast(kind))
    return arrow


# A reader reads whole row groups of up to this many batches' rows in all (a larger group alone).
RUN_BATCHES = 4


def _row_group_batches(parquet, rows: int) -> Iterator:
    """The file's record batches of up to `rows` rows, read by a new reader for each run of
    row groups (consecutive groups of up to RUN_BATCHES * `rows` rows in all, or one larger
    group).

    One reader over the whole file (`ParquetFile.iter_batches`) keeps part of what it decoded
    in Arrow's memory pool from one row group to the next: about 6 bytes a row (pyarrow 26),
    so a load's memory grew with the file. A reader per run lets go of it at the run's end, so
    what it holds is bounded by the run; small groups (a writer's of 10,000 rows) are still
    read in batches of `rows`, not a batch a group."""
    metadata = parquet.metadata
    run: list[int] = []
    held = 0
    for group in range(metadata.num_row_groups):
        size = metadata.row_group(group).num_rows
        if not size:
            continue
        if run and held + size > RUN_BATCHES * rows:
            yield from parquet.iter_batches(batch_size=rows, row_groups=run)
            run, held = [], 0
        run.append(group)
        held += size
    if run:
        yield from parquet.iter_batches(batch_size=rows, row_groups=run)


# Dates and times that Polars can turn into calendar values: years 1 to 9999, in days since
# 1970-01-01. Outside them Polars panics ("out-of-range date") when it formats or compares.
_DAY_RANGE = (-719_162, 2_932_896)


_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}


def _check_time_range(arrow) -> None:
    """Raise ValueError if a date or timestamp column holds a value outside _DAY_RANGE."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for field_, column in zip(arrow.schema, arrow.columns, strict=True):
        kind = field_.type
        if pa.types.is_date32(kind):
            scale = 1
        elif pa.types.is_date64(kind):
            scale = _PER_DAY["ms"]
        elif pa.types.is_timestamp(kind):
            scale = _PER_DAY[kind.unit]
        else:
            continue
        # pyarrow.compute's functions are made at import; its stubs do not list them.
        bounds = pc.min_max(  # pyright: ignore[reportAttributeAccessIssue]
            column.cast(pa.int32() if scale == 1 else pa.int64()))
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        if low is not None and (low < _DAY_RANGE[0] * scale or high > _DAY_RANGE[1] * scale):
            raise ValueError(f"column '{field_.name}' holds dates outside the years 1 to 9999")
