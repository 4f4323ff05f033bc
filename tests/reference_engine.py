"""Reference versions of engine views, one KPI at a time: the tests check the engine's grouped,
one-pass views (engine.breakdowns, engine.monthly_series_all, the per-group quantiles) against
these straightforward queries, which read the table once per KPI."""

from __future__ import annotations

from bisect import bisect_right
from fractions import Fraction
from itertools import accumulate
from math import floor

import polars as pl

from kpi.catalogue import KpiDef, Project
from kpi.engine import (
    RECIPES,
    _breakdown_frame,
    _derived_series,
    _interpolated,
    _series_frame,
    _series_window,
    _sql,
    _totals,
    components_of,
    prepare,
    rows_of,
    summands_of,
)
from kpi.errors import ConfigError
from kpi.periods import Month, Window
from kpi.rounding import as_written
from kpi.store import AsOf


def quantile(values: list[float], counts: list[int], q: float | Fraction
             ) -> tuple[float | None, int]:
    """The q-quantile (linear interpolation, as Polars' `quantile(q, "linear")` and DuckDB's
    `quantile_cont`) of values given in ascending order with their counts; and the count.
    (`_quantiles` reads the same off a count table, per group, in Polars.)"""
    exact = as_written(q)  # the position (n - 1) × q worked out exactly, as the engine does
    cumulative = list(accumulate(counts))
    n = cumulative[-1] if cumulative else 0
    if n == 0:
        return None, 0
    below = floor((n - 1) * exact)
    lower = values[bisect_right(cumulative, below)]
    upper = (values[bisect_right(cumulative, below + 1)]
             if bisect_right(cumulative, below + 1) < len(values) else None)
    return _interpolated(n, exact, lower, upper), n


def monthly_series(project: Project, kpi: KpiDef, end: Month, months: int = 24,
                   as_of: AsOf | None = None) -> pl.DataFrame:
    """Monthly values of a KPI for the `months` months ending at `end`, with the rolling
    12-month value where the kind allows it (columns: month, value, rolling_12)."""
    if kpi.is_derived:
        num = monthly_series(project, project.kpi(kpi.numerator_kpi), end, months + 11, as_of)
        den = monthly_series(project, project.kpi(kpi.denominator_kpi), end, months + 11, as_of)
        return _derived_series(kpi, num, den, months)
    window = _series_window(kpi, end, months)
    frame = prepare(project, kpi.dataset, [kpi], as_of)
    parts = components_of(kpi, frame)
    aggs = [e.alias(name) for name, e in parts.items()]
    if RECIPES[kpi.kind].additive:
        # Each month's fractions also as their exact pieces, from which a rolling year is
        # the one exact sum over the year's rows.
        aggs += [e for e in _totals(frame, summands_of(kpi, rows_of(kpi)), None, pieces=True)
                 if "\t" in e.meta.output_name()]
    rows = pl.col("month").is_between(pl.lit(str(window.start)), pl.lit(str(window.end)))
    grouped = frame.filter(rows).group_by("month").agg(aggs).collect()
    monthly = {row.pop("month"): row for row in grouped.iter_rows(named=True)}
    return _series_frame(project, kpi, window, monthly, months)


def breakdown(project: Project, kpi: KpiDef, column: str, current: Window,
              comparison: Window | None, as_of: AsOf | None = None) -> pl.DataFrame:
    """A KPI split by one column, current and comparison values and change per part
    (columns: part, current, comparison, absolute, percent, points), largest first. Only the
    windows' months and the rows the KPI's filter selects are read, so a part the KPI does not
    count (no selected rows in either window) is not listed."""
    if kpi.is_derived:
        raise ConfigError(f"KPI '{kpi.id}' is a rate of two KPIs and has no breakdown")
    windows = [w for w in (current, comparison) if w is not None]
    months = sorted({str(month) for window in windows for month in window.months()})
    frame = prepare(project, kpi.dataset, [kpi], as_of).filter(pl.col("month").is_in(months))
    if kpi.filter:
        frame = frame.filter(_sql(kpi.filter).fill_null(False))
    aggs = []
    for tag, window in (("cur", current), ("cmp", comparison)):
        if window is None:
            continue
        aggs += [e.alias(f"{tag}_{name}") for name, e in components_of(kpi, frame, window).items()]
    grouped = frame.group_by(column).agg(aggs).collect()
    return _breakdown_frame(project, kpi, comparison is not None, [
        (row[column], {k[4:]: v for k, v in row.items() if k.startswith("cur_")},
         {k[4:]: v for k, v in row.items() if k.startswith("cmp_")})
        for row in grouped.iter_rows(named=True)])
