"""The conformer's quicker checks agree with the plain ones they replace, on random values:
control characters, non-ASCII text, blanks, spaces at either end, nulls and bad dates."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi.catalogue import ColumnType
from kpi.dateparts import SANE_YEARS
from kpi.ingest.common import edge_spaces, printable_ascii
from kpi.ingest.conform import _outside_years

# Short values sit inside a string view, long ones (over 12 bytes) in a data buffer.
_CHARS = st.sampled_from([" ", "a", "Z", "0", "-", "\t", "\n", "\x00", "\x1f", "\x7f", "\x85",
                          "\u00a0", "\u2003", "\u202e", "é", "£", "日", "\U0001f600"])
_TEXT = st.one_of(st.none(), st.just(""), st.text(_CHARS, max_size=4),
                  st.text(_CHARS, min_size=11, max_size=40))


def _series(values: list[str | None], cut: int, pieces: int) -> pl.Series:
    """The values as a Polars text column, cut into `pieces` chunks and sliced from `cut`: the
    views the check reads start at an offset and span more than one array."""
    whole = pl.Series("t", values, dtype=pl.String)
    size = max(1, len(values) // pieces)
    parts = [whole.slice(i, size) for i in range(0, len(values), size)] or [whole]
    return pl.concat(parts, rechunk=False).slice(min(cut, len(values)))


@settings(max_examples=300, deadline=None)
@given(st.lists(_TEXT, max_size=30), st.integers(0, 5), st.integers(1, 4))
def test_edge_spaces_is_a_space_at_either_end(values: list[str | None], cut: int,
                                              pieces: int) -> None:
    column = _series(values, cut, pieces)
    expected = bool((column.str.starts_with(" ") | column.str.ends_with(" ")).any())
    assert edge_spaces(column) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(_TEXT, max_size=30), st.integers(0, 5), st.integers(1, 4))
def test_a_printable_column_without_edge_spaces_is_stripped_already(
        values: list[str | None], cut: int, pieces: int) -> None:
    column = _series(values, cut, pieces)
    stripped = column.str.strip_chars()
    if printable_ascii(column) and not edge_spaces(column):
        assert stripped.to_list() == column.to_list()
    # And the other way: whatever stripping would change is caught by one check or the other.
    if stripped.to_list() != column.to_list():
        assert not printable_ascii(column) or edge_spaces(column)


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
