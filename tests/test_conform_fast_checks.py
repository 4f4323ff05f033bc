"""The conformer's quicker checks agree with the plain ones they replace, on random values:
dates and date-times at and beyond the sane years' edges, nulls (dates that did not parse),
and rows of blanks, spaces, control characters, non-ASCII text and header names."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi.catalogue import ColumnType
from kpi.dateparts import SANE_YEARS
from kpi.ingest.common import ROW
from kpi.ingest.conform import _outside_years, _repeated_headers, _without_blank_rows

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
    # Instants read as UK time, as ingest makes them: the year is the UK's.
    instants = pl.DataFrame({"v": pl.Series(
        [None if d is None else datetime(d.year, d.month, d.day) for d in days],
        dtype=pl.Datetime("us", "UTC"))}).with_columns(
        (pl.col("v") + pl.Series([micros[i % len(micros)] if micros else 0
                                  for i in range(len(days))], dtype=pl.Duration("us")))
        .dt.convert_time_zone("Europe/London"))
    assert (instants.select(_outside_years(pl.col("v"), ColumnType.DATETIME))["v"].to_list()
            == instants.select(by_year)["v"].to_list())


_HEADER = ["Ref", "Recorded Date", "Force"]
_CELL = st.one_of(st.sampled_from(["", None]),
                  st.sampled_from([" ", "\t", "x", "Ref", " Ref ", "Recorded Date",
                                   "Recorded Date ", "Recorded Dates", "xRecorded Date",
                                   "Force", "\u00a0Force", "é", "\x00"]))


def _frame(rows: list[list[str | None]]) -> pl.DataFrame:
    return pl.DataFrame({name: pl.Series([row[i] for row in rows], dtype=pl.String)
                         for i, name in enumerate(_HEADER)}).with_row_index(ROW).with_columns(
        pl.col(ROW).cast(pl.Int64))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.lists(_CELL, min_size=3, max_size=3),
                          st.sampled_from([_HEADER, [" Ref", "Recorded Date ", "Force"],
                                           ["", "", ""], [None, "", ""], ["", None, None]])),
                max_size=25))
def test_blank_rows_and_repeated_headers_as_every_cell_compared(
        rows: list[list[str | None]]) -> None:
    """The prefiltered searches drop the rows the whole-frame comparisons dropped (the
    conformer's code before them, kept here as the oracle), nulls included."""
    table = _frame(rows)
    probe = "Recorded Date"
    candidates = table.filter(pl.col(probe).str.strip_chars() == probe)
    expected = candidates.filter(pl.all_horizontal(
        [pl.col(s).str.strip_chars() == s for s in _HEADER]))[ROW]
    assert _repeated_headers(table, probe, _HEADER).to_list() == expected.to_list()

    blank = table.select(pl.all_horizontal([pl.col(c).str.len_bytes() == 0 for c in _HEADER])
                         .alias("blank"))["blank"]
    kept = table.filter(~blank) if blank.any() else table
    assert _without_blank_rows(table, _HEADER).equals(kept)
