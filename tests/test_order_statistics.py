"""The engine reads medians and percentiles off the counts of each distinct value (so they
stream in bounded memory); they must equal Polars' own `quantile(q, "linear")` on the values
themselves, and DuckDB's `quantile_cont`, whatever the values, ties and q."""

from __future__ import annotations

import math

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_engine import quantile as _quantile

from kpi.engine import _quantiles
from kpi.rounding import as_written

VALUES = st.one_of(
    st.lists(st.integers(-1_000, 1_000), max_size=60),
    st.lists(st.integers(0, 5), max_size=60),  # many ties
    st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), max_size=60),
)
QUANTILES = st.one_of(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0]),
                      st.floats(0.0, 1.0))


def _from_counts(values: list[float], q: float) -> tuple[float | None, int]:
    counts = pl.Series("v", values, dtype=pl.Float64).value_counts().sort("v")
    return _quantile(counts["v"].to_list(), counts["count"].to_list(), q)


@settings(max_examples=300, deadline=None)
@given(VALUES, QUANTILES)
def test_quantile_from_counts_equals_polars_on_the_values(values, q):
    got, n = _from_counts(values, q)
    want = pl.Series(values, dtype=pl.Float64).quantile(q, "linear")
    assert n == len(values)
    if want is None:
        assert got is None
    else:
        assert got == pytest.approx(want, rel=1e-12, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-1_000, 1_000), min_size=1, max_size=40), QUANTILES)
def test_quantile_from_counts_equals_duckdb_quantile_cont(values, q):
    got, _ = _from_counts(values, q)
    want = duckdb.sql(f"SELECT quantile_cont(v, {q!r}) FROM unnest({values!r}) AS t(v)"
                      ).fetchall()[0][0]
    assert got == pytest.approx(float(want), rel=1e-12, abs=1e-9)


def test_quantile_by_hand():
    assert _quantile([1.0, 2.0, 10.0], [1, 2, 1], 0.5) == (2.0, 4)
    assert _quantile([1.0, 3.0], [1, 1], 0.5) == (2.0, 2)  # between the two middle values
    assert _quantile([1.0, 3.0], [1, 1], 0.9) == (pytest.approx(2.8), 2)
    assert _quantile([], [], 0.5) == (None, 0)
    assert _quantile([4.0], [0], 0.5) == (None, 0)  # a value no row of this mask has


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.booleans()), max_size=60), QUANTILES)
def test_quantile_of_a_mask_with_values_only_other_rows_have(rows, q):
    """One count table serves several masks: values a mask has no row of count zero."""
    frame = pl.DataFrame(rows, schema={"v": pl.Float64, "m": pl.Boolean}, orient="row")
    counts = frame.group_by("v").agg(pl.col("m").sum()).sort("v")
    got, n = _quantile(counts["v"].to_list(), counts["m"].to_list(), q)
    want = frame.filter("m")["v"].quantile(q, "linear")
    assert n == frame["m"].sum()
    assert (got is None) if want is None else got == pytest.approx(want, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["2025-07", "2025-08", "2025-09"]),
                          st.one_of(st.integers(0, 30).map(float),
                                    st.sampled_from([float("inf"), float("-inf"),
                                                     float("nan")])),
                          st.integers(0, 4)), max_size=60), QUANTILES)
def test_quantiles_per_group_in_polars_equal_quantile_on_each_group(rows, q):
    """The engine reads a statistic for every month (or window) of a count table at once, in
    Polars (`_quantiles`): the same figure, to the bit, as `_quantile` on each group's counts,
    with the rows that are not finite counted."""
    table = (pl.DataFrame(rows, schema={"__month": pl.String, "__value": pl.Float64,
                                        "m": pl.Int64}, orient="row")
             .group_by("__month", "__value").agg(pl.col("m").sum()))
    got = _quantiles(table, "__month", "m", as_written(q))
    for (month,), part in table.partition_by("__month", as_dict=True).items():
        part = part.filter(pl.col("m") > 0).sort("__value")
        if part.height == 0:
            assert month not in got
            continue
        values, counts = part["__value"].to_list(), part["m"].to_list()
        stat, n = _quantile(values, counts, q)
        nonfinite = sum(c for v, c in zip(values, counts, strict=True)
                        if not math.isfinite(v))
        assert got[month][1:] == (n, nonfinite)
        if not nonfinite:
            assert got[month][0] == stat


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]),
                          st.one_of(st.none(), st.integers(-50, 50).map(float),
                                    st.sampled_from([0.1, 0.25, 26.48, 1 / 3])),
                          st.booleans()), max_size=80),
       st.sampled_from([1, 10, 25, 29, 50, 75, 90, 99, 99.9]))
def test_a_parts_quantile_is_the_quantile_of_its_own_rows(rows, percentile):
    """`kpi compare` and the paper's breakdowns aggregate a median's or percentile's
    components per part in one group_by (`engine.components_of`): each part's figure is the
    quantile of its own selected rows, whatever the other parts hold. Polars takes a quantile's
    expression argument from the first group for every group, so a part of 25 values was read
    at another part's position (its 90th percentile 33.0 where its rows give 34.8)."""
    from fractions import Fraction

    from kpi import engine
    from kpi.catalogue import Better, Kind, KpiDef, Unit

    kind = Kind.MEDIAN if percentile == 50 else Kind.PERCENTILE
    kpi = KpiDef(id="k", title="K", priority="p", kind=kind, unit=Unit.COUNT,
                 better=Better.LOWER, dataset="d", value="v", filter="keep",
                 percentile=None if kind == Kind.MEDIAN else percentile)
    frame = pl.DataFrame(rows, schema={"part": pl.String, "v": pl.Float64, "keep": pl.Boolean},
                         orient="row").with_columns(month=pl.lit("2025-09"))
    components = engine.components_of(kpi, frame.lazy())
    got = frame.lazy().group_by("part").agg(**components).collect()
    q = Fraction(1, 2) if kind == Kind.MEDIAN else as_written(percentile) / 100
    for row in got.iter_rows(named=True):
        values = sorted(as_written(v) for part, v, keep in rows
                        if part == row["part"] and keep and v is not None)
        figure = engine.value_of(kpi, row, None)  # type: ignore[arg-type]
        if not values:
            assert figure is None
            continue
        position = (len(values) - 1) * q
        below = position.numerator // position.denominator
        exact = values[below] if position == below else (
            values[below] + (values[below + 1] - values[below]) * (position - below))
        assert figure == float(exact), (row["part"], values)
