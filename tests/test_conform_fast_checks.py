"""The conformer's quicker checks agree with the plain ones they replace, on random values:
dates and date-times at and beyond the sane years' edges, nulls (dates that did not parse),
rows of blanks, spaces, control characters, non-ASCII text and header names, labels of
totals and a pivot table's blanks, and a small batch's dates read without a sample."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi.catalogue import ColumnSpec, ColumnType, DatasetSpec
from kpi.dateparts import SANE_YEARS
from kpi.ingest.common import ROW
from kpi.ingest.conform import (
    _EMPTY_SHOWN,
    _NULL_SHOWN,
    _TEXT_FORMULA,
    _TOTAL_LABEL,
    _TOTAL_OR_EMPTY,
    _format_hits,
    _outside_years,
    _reordered_header,
    _repeated_headers,
    _skipped_row_probes,
    _source_questions,
    _typed,
    _without_blank_rows,
)

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
                                           ["", "", ""], [None, "", ""], ["", None, None],
                                           ["Force", "ref", "RECORDED  DATE"],
                                           ["Recorded Date", "Ref", "force"]])),
                max_size=25))
def test_blank_rows_and_repeated_headers_as_every_cell_compared(
        rows: list[list[str | None]]) -> None:
    """The prefiltered searches drop the rows the whole-frame comparisons dropped (the
    conformer's code before them, kept here as the oracle), nulls included. A repeated
    header is one whose every name means its column's, as the loader reads names: without
    case or the spaces around and within them, by the column's own name or its `from`."""
    table = _frame(rows)
    probe = "Recorded Date"

    def meaning(cell: str | None) -> str:
        key = " ".join((cell or "").split()).lower()
        return {"ref": "ref", "recorded date": "day", "day": "day", "force": "force"}.get(
            key, "name " + key)

    header = [meaning(c) for c in _HEADER]
    expected = pl.Series(ROW, [i for i, row in enumerate(rows)
                               if [meaning(c) for c in row] == header], dtype=table[ROW].dtype)
    got = _repeated_headers(_SPEC, table, probe, _HEADER, _HEADER)
    assert got.to_list() == expected.to_list()

    blank = table.select(pl.all_horizontal([pl.col(c).str.len_bytes() == 0 for c in _HEADER])
                         .alias("blank"))["blank"]
    kept = table.filter(~blank) if blank.any() else table
    assert _without_blank_rows(table, _HEADER).equals(kept)

    # The conformer looks for either kind of row only where the batch's probe says it may
    # be: a probe that says no never hides a row the search would find.
    may = table.select(**_skipped_row_probes(probe, _HEADER, _SPEC)).row(0, named=True)
    assert may["header"] or may["reordered"] or not expected.len()
    assert may["blank"] or kept.height == table.height
    # nor a header repeated in another order, however its names are written
    reordered = _reordered_header(_SPEC, table, probe, _HEADER, _HEADER)
    assert may["header"] or may["reordered"] or reordered is None
    keys = [[" ".join((c or "").split()).lower() for c in row] for row in rows]
    first = next((i for i, key in enumerate(keys) if sorted(key) == sorted(_KEYS)
                  and key != _KEYS), None)
    assert reordered == (None if first is None else (first, ",".join(
        (c or "").strip() for c in rows[first])))


_KEYS = ["ref", "recorded date", "force"]
_SPEC = DatasetSpec(id="x", date="day", columns=(
    ColumnSpec("ref", ColumnType.STR, ("Ref",)),
    ColumnSpec("day", ColumnType.DATE, ("Recorded Date",)),
    ColumnSpec("force", ColumnType.STR, ("Force",)),
))


# Each marker a tool writes for "no value", stated again: a spreadsheet's error values (any
# case), and as written LibreOffice's errors and a data frame's missing values.
_ERRORS = ("#N/A", "#N/A N/A", "#NA", "#VALUE!", "#REF!", "#DIV/0!", "#NAME?", "#NUM!",
           "#NULL!", "#SPILL!", "#CALC!", "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!",
           "#BUSY!", "#UNKNOWN!")
_AS_WRITTEN = ("nan", "NaN", "-nan", "-NaN", "<NA>", "NA", "NaT", "Err:502", "Err:511")


_LABEL = st.one_of(
    st.lists(st.sampled_from([*" \t-_:()Tt", *"otalsubOTALSUB", "blank", "empty", "Grand",
                              "x"]), max_size=10).map("".join),
    st.sampled_from(["Total", "Grand Total", "Sub-total", "Birmingham Total", "TOTALS:",
                     "Teetotal", "Total recorded crime", "(blank)", " (Empty) ", "(blanks)",
                     "x (blank)", "\u00a0Total", "NULL", " NULL ", "Null", "null", "NULLS",
                     "not NULL", *_ERRORS, *(e.lower() for e in _ERRORS), *_AS_WRITTEN,
                     "N/A", "n/a", "Nan", "NAN", "Na", "na", "None", "none", "NONE", "nat",
                     "#NA!", "#N/A!", "N/A N/A", "err:502", "Err:50", "NA NA", "<na>", "-NA",
                     '="000123"', ' ="a b" ', '="x', '=""', 'x="1"', '=A2']))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.none(), _LABEL), max_size=20))
def test_one_search_for_a_total_or_a_pivot_s_blank_finds_what_two_did(
        cells: list[str | None]) -> None:
    """A text column's four label checks are one search (`_TOTAL_OR_EMPTY`): it finds a
    cell exactly where any pattern does, and an export's null only as written (NULL, \\N,
    null: 'Null' may be a name), a spreadsheet's error value in any case, and a data frame's
    missing value as written ('Nan', 'N/A', 'None' may be values)."""
    frame = pl.DataFrame({"s": pl.Series(cells, dtype=pl.String)})
    either = frame.select(pl.col("s").str.contains(_TOTAL_OR_EMPTY))["s"].to_list()
    each = frame.select(pl.col("s").str.contains(_TOTAL_LABEL)
                        | pl.col("s").str.contains(_EMPTY_SHOWN)
                        | pl.col("s").str.contains(_NULL_SHOWN)
                        | pl.col("s").str.contains(_TEXT_FORMULA))["s"].to_list()
    assert either == each
    nulls = frame.select(pl.col("s").str.contains(_NULL_SHOWN))["s"].to_list()
    assert nulls == [None if c is None else (c.strip() in ("NULL", "\\N", "null", *_AS_WRITTEN)
                                             or c.strip().upper() in _ERRORS)
                     for c in cells]


_DATE_TEXT = st.one_of(
    st.none(), st.just(""), st.just("  "),
    st.sampled_from(["2025-09-30", "30/09/2025", "30-09-2025", "2025/09/30", "1/2/2025",
                     "2025-09-30T23:30:00", "2025-09-30 23:30", "30/09/2025 23:30:09",
                     "2025-09-30T23:30:00.250", "2025-09-30T23:20:00+00:00",
                     "2025-10-26 01:30", "2025-03-30 01:30", "2025-09", "09/2025",
                     "2025-09-01 00:00:00", "Sept 2025", "31/02/2025", "2025-13-01", "x"]),
    st.builds(lambda d, sep: d.strftime(f"%Y{sep}%m{sep}%d"),
              st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)),
              st.sampled_from(["-", "/"])))


@settings(max_examples=300, deadline=None)
@given(st.lists(_DATE_TEXT, min_size=1, max_size=12),
       st.sampled_from([ColumnType.DATE, ColumnType.DATETIME, ColumnType.MONTH]))
def test_a_small_batch_parsed_with_every_format_reads_as_one_sampled(
        texts: list[str | None], kind: ColumnType) -> None:
    """A batch of SAMPLE rows or fewer is parsed with every date format, not the formats
    found in a sample of its values first and the rest tried on what they missed: its
    sample is every value, so each is read the same (the typed rows are equal)."""
    spec = DatasetSpec(id="events", date="day", columns=(ColumnSpec("day", kind, ("Day",)),))
    mapping = {"day": "Day"}
    table = pl.DataFrame({"Day": pl.Series(texts, dtype=pl.String)}).with_row_index(
        ROW).with_columns(pl.col(ROW).cast(pl.Int64))
    asked = {**_source_questions(spec, table, mapping, set()),
             **_format_hits(list(spec.columns), {"day": pl.col("Day").str.strip_chars()
                                                 .replace("", None)})}
    sampled, _ = _typed(spec, table, mapping, set(), table.select(**asked).row(0, named=True))
    whole, _ = _typed(spec, table, mapping, set())
    assert whole.select(ROW, "day").equals(sampled.select(ROW, "day"))
