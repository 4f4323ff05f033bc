"""The engine takes the epoch of a datetime column without its zone (`expressions.polars_expr`):
Polars works out the sub-second field of a UK time from its local time, at about twice the
cost. These tests hold that the rewrite gives every figure Polars' own reading gives, that it
is made where it is meant to be (so the cost is saved), and that it reads nothing in quotes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi.catalogue import load_project, zoned_columns
from kpi.expressions import _epoch_in_utc, polars_expr

UK = "Europe/London"
ZONED = ("closed", "closed at", "opened")

EXPRESSIONS = [
    "DATE_PART('epoch', closed) - DATE_PART('epoch', opened)",
    "date_part('EPOCH', opened)",
    "EXTRACT(EPOCH FROM opened) - EXTRACT(epoch FROM \"closed at\")",
    "DATE_PART('epoch', \"closed at\") - DATE_PART('epoch', opened) <= 900",
    "DATE_PART('epoch', COALESCE(closed, opened)) - DATE_PART('epoch', opened)",
    "CASE WHEN DATE_PART('epoch', opened) > 0 THEN DATE_PART('epoch', closed) END",
]

# Instants from 1900 to 2100, to the microsecond (both sides of 1970, the years of summer time
# all year, 1968-1971, and of double summer time), and the two hours either side of four
# changes of the clocks: both of 2024 (the hour the UK shows twice and the one it skips), the
# start of 1968's summer time and of double summer time in 1941.
INSTANTS = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1),
                        timezones=st.just(UTC))
CHANGES = st.sampled_from([datetime(2024, 3, 31, 1, tzinfo=UTC), datetime(2024, 10, 27, 0,
                           tzinfo=UTC), datetime(1968, 2, 18, 2, tzinfo=UTC),
                           datetime(1941, 5, 4, 1, tzinfo=UTC)]).flatmap(
    lambda at: st.integers(-7_200_000_000, 7_200_000_000).map(
        lambda us: at + timedelta(microseconds=us)))
ROWS = st.lists(st.tuples(st.one_of(INSTANTS, CHANGES, st.none()),
                          st.one_of(INSTANTS, CHANGES, st.none())), min_size=1, max_size=30)


def _frame(rows: list[tuple[datetime | None, datetime | None]]) -> pl.DataFrame:
    zoned = pl.Datetime("us", UK)
    return pl.DataFrame({
        "opened": pl.Series([r[0] for r in rows], dtype=pl.Datetime("us", "UTC")).cast(zoned),
        "closed": pl.Series([r[1] for r in rows], dtype=pl.Datetime("us", "UTC")).cast(zoned),
    }).with_columns(pl.col("closed").alias("closed at"))


@settings(max_examples=60, deadline=None)
@given(ROWS)
def test_an_epoch_without_the_zone_is_the_epoch_polars_reads(rows) -> None:
    frame = _frame(rows)
    for text in EXPRESSIONS:
        plain = frame.select(pl.sql_expr(text).alias("x"))["x"]
        rewritten = frame.select(polars_expr(text, ZONED).alias("x"))["x"]
        assert rewritten.dtype == plain.dtype, text
        assert rewritten.to_list() == plain.to_list(), text


def test_the_epoch_of_a_sub_second_time_before_1970_and_in_summer() -> None:
    # 1969-12-31 23:59:59.5 UTC is half a second before the epoch; 2024-07-01 12:00:00.25 BST
    # is 11:00:00.25 UTC, 1,719,831,600.25 s after it.
    frame = _frame([(datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC),
                     datetime(2024, 7, 1, 11, 0, 0, 250_000, tzinfo=UTC))])
    row = frame.select(polars_expr("DATE_PART('epoch', opened)", ZONED).alias("o"),
                       polars_expr("DATE_PART('epoch', closed)", ZONED).alias("c")).row(0)
    assert row == (-0.5, 1_719_831_600.25)


@pytest.mark.parametrize(("text", "expected"), [
    ("DATE_PART('epoch', closed) - DATE_PART('epoch', opened)",
     "DATE_PART('epoch', CAST(closed AS TIMESTAMP)) - "
     "DATE_PART('epoch', CAST(opened AS TIMESTAMP))"),
    ("extract( epoch from \"closed at\" )",
     "extract( epoch from CAST(\"closed at\" AS TIMESTAMP) )"),
    # a column with no zone (a date, a name not in the list) and an expression are left as
    # written: Polars reads them as before
    ("DATE_PART('epoch', day) + DATE_PART('epoch', COALESCE(opened, closed))",
     "DATE_PART('epoch', day) + DATE_PART('epoch', COALESCE(opened, closed))"),
    ("DATE_PART('hour', opened) = 3", "DATE_PART('hour', opened) = 3"),
    # nothing in quotes is read: a string, or a quoted name holding the same words
    ("note = 'DATE_PART(''epoch'', opened)' AND DATE_PART('epoch', opened) > 0",
     "note = 'DATE_PART(''epoch'', opened)' AND DATE_PART('epoch', CAST(opened AS TIMESTAMP)) > 0"),
    ("\"DATE_PART('epoch', opened)\" > 0", "\"DATE_PART('epoch', opened)\" > 0"),
    ("MY_DATE_PART('epoch', opened)", "MY_DATE_PART('epoch', opened)"),
])
def test_the_rewrite_is_made_where_meant_and_nowhere_else(text: str, expected: str) -> None:
    assert _epoch_in_utc(text, ZONED) == expected


def test_the_rewritten_epoch_takes_the_sub_second_field_of_a_time_without_a_zone() -> None:
    # The point of the rewrite: Polars' sub-second field is taken of the column cast to a
    # datetime with no zone, never of the UK time (which Polars works out from local time).
    text = "DATE_PART('epoch', closed) - DATE_PART('epoch', opened)"
    for column in ("opened", "closed"):
        assert f'col("{column}").dt.nanosecond()' in str(pl.sql_expr(text))
        rewritten = str(polars_expr(text, ZONED))
        assert f'col("{column}").dt.nanosecond()' not in rewritten
        assert f"col(\"{column}\").strict_cast(Datetime('μs')).dt.nanosecond()" in rewritten


def test_the_catalogue_names_the_datetime_columns_and_derived_ones(tmp_path) -> None:
    (tmp_path / "kpi.toml").write_text("""[project]
name = "Epochs"
baseline = "2024-10"

[datasets.incidents]
date = "day"
[datasets.incidents.columns]
ref = "str"
day = "date"
opened = "datetime"
closed = { type = "datetime", required = false }
[datasets.incidents.derived]
first = "COALESCE(closed, opened)"
wait = "DATE_PART('epoch', closed) - DATE_PART('epoch', opened)"

[[priorities]]
id = "p"
title = "Response"

[[kpis]]
id = "within"
title = "Within an hour"
priority = "p"
dataset = "incidents"
kind = "within"
value = "DATE_PART('epoch', closed) - DATE_PART('epoch', first)"
threshold = 3600
better = "higher"
""")
    project = load_project(tmp_path / "kpi.toml")
    dataset = project.datasets["incidents"]
    assert zoned_columns(dataset) == ("closed", "first", "opened")
    assert project.kpis[0].zoned == ("closed", "first", "opened")
