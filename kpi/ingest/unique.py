"""What `unique` asks of a dataset's rows, in one place: the value no two rows may share
(`unique_value`), and the words a refusal names it in. Read by the load's checks
(`kpi.ingest.stage`, `kpi.ingest.commit`) and by a read of rows stored before `unique` was
declared (`kpi.store`)."""

from __future__ import annotations

from typing import Any

import polars as pl

from kpi.catalogue import UK, ColumnType, DatasetSpec
from kpi.ingest.common import FILE, ROW, _show
from kpi.periods import first_months
from kpi.text import identity_key

# The values of the columns a `unique` list names, one apart from the next in the one text the
# checks compare (`unique_value`): the unit separator, which the conformer refuses in text.
_APART = "\x1f"


def unique_value(spec: DatasetSpec) -> pl.Expr:
    """The value `unique` asks no two rows to share, named as its first column: that column's,
    or where it names a list, each column's value as text, one apart from the next (a
    datetime as its instant, the same whether read as UK time or stored in UTC), so the checks
    of a load and of the stored rows it keeps compare one value a row, whatever the list. The
    dataset's date column of datetimes is its UK day (`_by_day`), the unit of a roll. A text
    column's value is its identity key (`kpi.text.identity_key`), as the identity rule calls
    two values one: compared as written, an incident '000123' stored in August and its
    re-extract as '123' (a spreadsheet dropped the zeros) re-dated into September loaded as
    two incidents, where written '000123' it was refused."""
    return _unique_text(spec, compared=True)


def unique_as_written(spec: DatasetSpec) -> pl.Expr:
    """`unique_value` as the row writes it, named UNIQUE_WRITTEN, for a refusal to show."""
    return _unique_text(spec, compared=False).alias(UNIQUE_WRITTEN)


def load_ids(spec: DatasetSpec, rows: pl.DataFrame) -> pl.DataFrame:
    """A batch's ids for the checks of its load: `unique_value`, and the value as written
    (UNIQUE_WRITTEN) only where it is not the value compared (most ids show for themselves,
    and a column of nulls costs the staged ids next to nothing), with the row's FILE and
    ROW. Each is keyed once."""
    key = spec.unique
    assert key is not None
    ids = rows.select(unique_value(spec), unique_as_written(spec), FILE, ROW)
    written = pl.col(UNIQUE_WRITTEN)
    return ids.with_columns(pl.when(written != pl.col(key)).then(written).alias(UNIQUE_WRITTEN))


# The column beside a load's ids holding each as written (`unique_as_written`).
UNIQUE_WRITTEN = "__unique_written"


def _unique_text(spec: DatasetSpec, compared: bool) -> pl.Expr:
    """`unique_value`, with its text columns' values by identity key if `compared`, else as
    written."""
    key = spec.unique
    assert key is not None

    def text(name: str, value: pl.Expr) -> pl.Expr:
        column = spec.column(name)
        if compared and column is not None and column.type == ColumnType.STR:
            return identity_key(value)
        return value

    if not spec.unique_with:
        return text(key, pl.col(key)).alias(key)
    parts = []
    for name in spec.unique_columns:
        column = spec.column(name)
        value = pl.col(name)
        if _by_day(spec, name):
            value = value.dt.convert_time_zone(UK).dt.date()
        elif column is not None and column.type == ColumnType.DATETIME:
            value = value.dt.epoch("us")
        parts.append(text(name, value.cast(pl.String)))
    return pl.concat_str(parts, separator=_APART).alias(key)


def _by_day(spec: DatasetSpec, name: str) -> bool:
    """Whether a column of a `unique` list is compared by its UK day: the dataset's date
    column of datetimes. A roll is taken at a day (`catalogue.snapshot_day`: `as_at = "last"`
    reads a month's last day, the check of rolls counts days), so `unique = ["person",
    "taken"]` allows each person once a day: by the instant, a roll run at 08:00 and again at
    17:00 on 30 September passed, and the last day read counted 20 officers where 10 are in
    post."""
    column = spec.column(name)
    return name == spec.date and column is not None and column.type == ColumnType.DATETIME


def unique_written(spec: DatasetSpec) -> str:
    """`unique` as kpi.toml writes it: unique = "ref", unique = ["person", "as_at"]."""
    names = ", ".join(f'"{n}"' for n in spec.unique_columns)
    return f"unique = [{names}]" if spec.unique_with else f"unique = {names}"


def shown_unique(spec: DatasetSpec, value: Any, written: Any = None) -> str:
    """A repeated value of `unique`: 'C2', or where it names a list, 'P0' with as_at
    2025-09-30 (a datetime as UK time, the date column's as its UK day). `written` is the
    value as its row writes it (`unique_as_written`), where that is not `value`."""
    if written is not None:
        value = written
    if not spec.unique_with:
        return f"'{_show(value)}'"
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    texts = str(value).split(_APART)
    shown = []
    for name, text in zip(spec.unique_columns[1:], texts[1:], strict=True):
        column = spec.column(name)
        if column is not None and column.type == ColumnType.DATETIME \
                and not _by_day(spec, name):
            instant = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(text))
            text = str(instant.astimezone(ZoneInfo(UK)).replace(tzinfo=None))
        shown.append(f"{name} {_show(text)}")
    return f"'{_show(texts[0])}' with {' and '.join(shown)}"


def repeated_words(spec: DatasetSpec, value: object, count: int, months: list[str],
                   spellings: list[str] | None = None) -> tuple[str, str]:
    """Stored rows repeating an id `unique` allows once (`repeated_stored`): what to
    say and the remedy. `unique` declared (or moved) since they were loaded, no load checked
    them against each other. `spellings` are the ways the rows write it, where more than one
    (the first is shown, the others named after it)."""
    spellings = spellings or []
    shown = shown_unique(spec, value, spellings[0] if spellings else None)
    if len(spellings) > 1:
        shown += " (also written " + " and ".join(shown_unique(spec, value, s)
                                                  for s in spellings[1:4]) + ")"
    return (f"its stored rows hold {shown} {count} times (in "
            f"{first_months(months)}), "
            f"where {unique_written(spec)}, declared since they were loaded, allows it once",
            f"load the months holding them again from extracts without the repeated rows (a "
            f"load replaces the months it holds), or drop {unique_written(spec)} for dataset "
            f"'{spec.id}'")


def repeated_stored(spec: DatasetSpec, rows: pl.LazyFrame) -> tuple[str, str] | None:
    """An id the stored `rows` hold more than once, where `unique` allows it once, as the
    refusal of a read or a load words it (with its remedy); None where there is none. One pass
    of the id columns and the month; the spellings are read for the one id refused."""
    key = spec.unique
    assert key is not None
    found = (rows.select(unique_value(spec), "month").group_by(key)
             .agg(pl.len().alias("n"), pl.col("month").unique().sort().alias("months"))
             .filter(pl.col("n") > 1).sort(key).head(1).collect())
    if not found.height:
        return None
    row = found.row(0, named=True)
    spellings = (rows.filter(unique_value(spec) == row[key])
                 .select(_unique_text(spec, compared=False).alias(UNIQUE_WRITTEN))
                 .unique().sort(UNIQUE_WRITTEN).collect()[UNIQUE_WRITTEN].to_list())
    return repeated_words(spec, row[key], row["n"], row["months"], spellings)
