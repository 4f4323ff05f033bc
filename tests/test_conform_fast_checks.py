"""The conformer's quicker checks agree with the plain ones they replace, on random values:
dates and date-times at and beyond the sane years' edges, and nulls (dates that did not
parse)."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi.catalogue import ColumnType
from kpi.dateparts import SANE_YEARS
from kpi.ingest.conform import _outside_years

_DAYS = st.one_of(st.none(), st.dates(min_value=date(1, 1, 1), max_value=date(9998, 12, 31)),
                  st.dates(min_value=date(SANE_YEARS[0] - 1, 12, 30),
                           max_value=date(SANE_YEARS[0], 1, 2)),
                  st.dates(min_value=date(SANE_YEARS[1], 12, 30),
                           max_value=date(SANE_YEARS[1] + 1, 1, 2)))


@settings(max_examples=200, deadline=None)
@given(st.lists(_DAYS, max_size=20), st.lists(st.integers(0, 86_399_999_999), max_size=20))
def test_outside_years_agrees_with_each_value_s_year(days: list[date | None],
                                                    micros: list[int]) -> None:
    lo, hi = SANE_YEARS
    dates = pl.DataFrame({"v": pl.Series(days, dtype=pl.Date)})
    year = pl.col("v").dt.year()
    by_year = (year < lo) | (year > hi)
    assert (dates.select(_outside_years(pl.col("v"), ColumnType.DATE))["v"].to_list()
            == dates.select(by_year)["v"].to_list())
    assert (dates.select(_outside_years(pl.col("v"), ColumnType.MONTH))["v"].to_list()
            == dates.select(by_year)["v"].to_list())
    instants = pl.DataFrame({"v": pl.Series(
        [None if d is None else datetime(d.year, d.month, d.day) for d in days],
        dtype=pl.Datetime("us"))}).with_columns(
        pl.col("v") + pl.Series([micros[i % len(micros)] if micros else 0
                                 for i in range(len(days))], dtype=pl.Duration("us")))
    assert (instants.select(_outside_years(pl.col("v"), ColumnType.DATETIME))["v"].to_list()
            == instants.select(by_year)["v"].to_list())
