"""The engine: catalogue and stored data in, results out. It never prints and never exits.

Every KPI kind is a small recipe (`KINDS`): the additive or order-statistic components to
aggregate over the rows a KPI's filter selects, and how to turn them into the KPI's value. For
each dataset the engine gathers every (KPI, window, component) it needs and evaluates them all
in one lazy Polars query, so a dataset is scanned once however many KPIs read it.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from math import floor
from pathlib import Path
from typing import Any

import polars as pl

from kpi import store
from kpi.catalogue import (
    DURATION_UNITS,
    Better,
    ColumnType,
    Kind,
    KpiDef,
    Project,
    Status,
    Unit,
    derive,
)
from kpi.dateparts import period_cut, quarter_cut
from kpi.errors import ConfigError, DataError
from kpi.periods import Comparison, Month, Window, comparison_window, current_window
from kpi.store import AsOf

# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Measured:
    """A KPI's value over one window, with the counts behind it where it has them."""

    window: Window
    value: float | None
    numerator: float | None = None
    denominator: float | None = None


@dataclass(frozen=True)
class Change:
    absolute: float | None
    percent: float | None
    points: float | None


class Outcome:
    """Status words (a str so JSON and CSV carry them as they are)."""

    IMPROVING = "improving"
    DETERIORATING = "deteriorating"
    STABLE = "stable"
    CHANGED = "changed"  # a direction-less KPI (better = neutral) moved beyond its band
    IN_DEVELOPMENT = "in_development"
    NO_DATA = "no_data"


@dataclass(frozen=True)
class KpiResult:
    kpi: KpiDef
    status: str
    current: Measured | None
    comparison: Measured | None
    change: Change | None
    note: str | None = None


@dataclass(frozen=True)
class Report:
    period: Month
    comparison: Comparison
    results: tuple[KpiResult, ...]
    versions: dict[str, int]  # dataset id -> table version the figures were computed from

    def result(self, kpi_id: str) -> KpiResult | None:
        return next((r for r in self.results if r.kpi.id == kpi_id), None)


# ---------------------------------------------------------------------------------------------
# Kinds: components to aggregate, and the value made from them


@dataclass(frozen=True)
class Recipe:
    components: Callable[[KpiDef, pl.Expr], dict[str, pl.Expr]]
    value: Callable[[KpiDef, dict[str, float | None], Project], float | None]
    additive: bool = True  # components are sums, so windows can be built from monthly parts


def _sql(text: str) -> pl.Expr:
    return pl.sql_expr(text)


def _value(kpi: KpiDef) -> pl.Expr:
    """A KPI's `value` expression per row; a duration (the difference of two datetimes) is
    converted to the KPI's unit, seconds or days, instead of counting its microseconds."""
    value = _sql(kpi.value)
    if kpi.value_is_duration:
        return value.dt.total_microseconds() / (1_000_000 * DURATION_UNITS[kpi.unit])
    return value


def _amount(kpi: KpiDef, expression: str | None, rows: pl.Expr) -> pl.Expr:
    """Sum of an expression over the selected rows; the number of rows when there is none."""
    if expression is None:
        return rows.sum()  # booleans sum to their count of true, with no cast
    return pl.when(rows).then(_sql(expression)).sum()  # a condition sums to its count of true


def _count_parts(kpi: KpiDef, rows: pl.Expr) -> dict[str, pl.Expr]:
    if kpi.value is None:
        return {"n": _amount(kpi, None, rows)}
    return {"n": pl.when(rows).then(_value(kpi)).sum()}


def _rate_parts(kpi: KpiDef, rows: pl.Expr) -> dict[str, pl.Expr]:
    return {"num": _amount(kpi, kpi.numerator, rows),
            "den": _amount(kpi, kpi.denominator, rows)}


def _within_parts(kpi: KpiDef, rows: pl.Expr) -> dict[str, pl.Expr]:
    # A blank value was not measured: it is left out of the share, as mean and median leave it.
    value = _value(kpi)
    return {"num": (rows & (value <= kpi.threshold)).sum(),
            "den": (rows & value.is_not_null()).sum()}


def _mean_parts(kpi: KpiDef, rows: pl.Expr) -> dict[str, pl.Expr]:
    value = _value(kpi).cast(pl.Float64)
    return {"num": pl.when(rows).then(value).sum(),
            "den": (rows & value.is_not_null()).sum()}


def _order_parts(statistic: str) -> Callable[[KpiDef, pl.Expr], dict[str, pl.Expr]]:
    def parts(kpi: KpiDef, rows: pl.Expr) -> dict[str, pl.Expr]:
        value = _value(kpi).cast(pl.Float64).filter(rows)
        if statistic == "median":
            return {"stat": value.median(), "den": value.count()}
        return {"stat": value.quantile(kpi.percentile / 100, "linear"), "den": value.count()}
    return parts


def _weighted_parts(kpi: KpiDef, rows: pl.Expr) -> dict[str, pl.Expr]:
    return {"n": pl.when(rows).then(pl.col(_weight_column(kpi))).sum()}


def _ratio(num: float | None, den: float | None, scale: float = 1.0) -> float | None:
    if num is None or den is None or den == 0:
        return None
    return num / den * scale


def _population(project: Project, name: str) -> float:
    return project.populations[name]


RECIPES: dict[Kind, Recipe] = {
    Kind.COUNT: Recipe(_count_parts, lambda k, c, p: c["n"]),
    Kind.SUM: Recipe(_count_parts, lambda k, c, p: c["n"]),
    Kind.RATE: Recipe(_rate_parts, lambda k, c, p: _ratio(c["num"], c["den"], 100.0)),
    Kind.WITHIN: Recipe(_within_parts, lambda k, c, p: _ratio(c["num"], c["den"], 100.0)),
    Kind.MEAN: Recipe(_mean_parts, lambda k, c, p: _ratio(c["num"], c["den"])),
    Kind.MEDIAN: Recipe(_order_parts("median"),
                        lambda k, c, p: c["stat"] if c["den"] else None, additive=False),
    Kind.PERCENTILE: Recipe(_order_parts("percentile"),
                            lambda k, c, p: c["stat"] if c["den"] else None, additive=False),
    Kind.SNAPSHOT: Recipe(
        lambda k, rows: _rate_parts(k, rows) if k.numerator else _count_parts(k, rows),
        lambda k, c, p: _ratio(c["num"], c["den"], 100.0) if k.numerator else c["n"]),
    Kind.RATIO_OF_RATES: Recipe(
        _rate_parts,
        lambda k, c, p: _ratio(_ratio(c["num"], _population(p, k.populations[0])),
                               _ratio(c["den"], _population(p, k.populations[1])))),
    Kind.PER_1000: Recipe(_count_parts,
                          lambda k, c, p: _ratio(c["n"], _population(p, k.population), 1000.0)),
    Kind.WEIGHTED_SCORE: Recipe(_weighted_parts, lambda k, c, p: c["n"]),
}


def _weight_column(kpi: KpiDef) -> str:
    return f"__weight_{kpi.id}"


def _weights_of(project: Project, kpi: KpiDef) -> pl.DataFrame:
    """The KPI's weights file, its keys written as the key column's values are cast to text."""
    spec = project.datasets[kpi.dataset].column(kpi.weight_key)
    whole = spec is not None and spec.type == ColumnType.INT
    return _read_weights(project.resolve(kpi.weights),
                         (kpi.weight_key, kpi.dataset) if whole else None)


@cache
def _read_weights(path: Path, whole: tuple[str, str] | None = None) -> pl.DataFrame:
    """Keys trimmed, as extracts' text is; with `whole` (an int key column and its dataset),
    keys read as whole numbers, so "01" and "1.0" are the rows of 1, never a weight of 0."""
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ConfigError(f"{path}: cannot read the weights file ({exc})") from None
    if frame.width < 2:
        raise ConfigError(f"{path}: a weights file needs two columns, key and weight")
    key, weight = frame.columns[:2]
    text = pl.col(key).str.strip_chars()
    number = text.cast(pl.Float64, strict=False)
    keyed = (pl.when(number.is_finite() & (number == number.round()))
             .then(number.cast(pl.Int64, strict=False).cast(pl.String))) if whole else text
    typed = frame.select(keyed.alias("key"),
                         pl.col(weight).str.strip_chars().cast(pl.Float64, strict=False)
                         .alias("weight"), text.alias("text"))
    if whole:
        odd = typed.with_row_index("row", offset=2).filter(
            pl.col("key").is_null() & pl.col("text").is_not_null() & (pl.col("text") != ""))
        if odd.height:
            raise ConfigError(f"{path}, row {odd['row'][0]}, column '{key}': expected a whole "
                              f"number, as column '{whole[0]}' of dataset '{whole[1]}' holds")
    typed = typed.drop("text")
    bad = typed.with_row_index("row", offset=2).filter(pl.col("weight").is_null())
    if bad.height:
        raise ConfigError(f"{path}, row {bad['row'][0]}, column '{weight}': expected a number")
    # Two weights for one key have no meaning, and joined they would count its rows twice.
    again = typed.with_row_index("row", offset=2).filter(
        pl.col("key").is_not_null() & ~pl.col("key").is_first_distinct())
    if again.height:
        raise ConfigError(f"{path}, row {again['row'][0]}, column '{key}': found "
                          f"'{again['key'][0]}' again",
                          hint="give each key one weight")
    return typed.filter(pl.col("key").is_not_null())


def _in_window(window: Window) -> pl.Expr:
    return pl.col("month").is_between(pl.lit(str(window.start)), pl.lit(str(window.end)))


def rows_of(kpi: KpiDef, window: Window | None = None) -> pl.Expr:
    """The rows a KPI counts, as a true/false column: its filter (a blank is false), within
    one window or over the whole frame."""
    # Every row, as a column: a literal True would aggregate to one per group, not one per row.
    rows = _sql(kpi.filter).fill_null(False) if kpi.filter else pl.col("month").is_not_null()
    return rows & _in_window(window) if window is not None else rows


def components_of(kpi: KpiDef, window: Window | None = None,
                  rows: pl.Expr | None = None) -> dict[str, pl.Expr]:
    """The aggregation expressions of a KPI, over one window (or over the whole frame), or
    over `rows` when the caller has already built that mask."""
    rows = rows if rows is not None else rows_of(kpi, window)
    parts = RECIPES[kpi.kind].components(kpi, rows)
    if kpi.value is not None:
        # Rows whose value is NaN or infinite (a division by zero): the KPI has no figure then.
        parts[NONFINITE] = (rows & ~_value(kpi).cast(pl.Float64).is_finite()).sum()
    return parts


NONFINITE = "nonfinite"


def value_of(kpi: KpiDef, parts: dict[str, float | None], project: Project) -> float | None:
    """The KPI's value from its components; None when there is none, and when any row's value
    or the result is NaN or infinite: such a figure is no data, never a trend."""
    if parts.get(NONFINITE):
        return None
    value = RECIPES[kpi.kind].value(kpi, parts, project)
    if value is None:
        return None
    value = value * kpi.multiplier if kpi.multiplier != 1.0 else value
    return value if math.isfinite(value) else None


def _no_value_note(project: Project, kpi: KpiDef, windows: Iterable[Window | None],
                   parts: dict[tuple[str, Window], dict[str, float | None]]) -> str:
    """Why a KPI has no value: rows or a result that are not numbers, or nothing to divide by."""
    for window in (w for w in windows if w is not None):
        for measure in measures_of(project, kpi):
            got = parts.get((measure.id, window), {})
            if got.get(NONFINITE):
                return (f"{got[NONFINITE]:,} row(s) in {window.label} give a value that is not a "
                        "number (NaN or infinite, e.g. a division by zero)")
            raw = RECIPES[measure.kind].value(measure, got, project)
            if raw is not None and not math.isfinite(raw * measure.multiplier):
                return (f"the value for {window.label} is not a number (NaN or infinite, e.g. a "
                        "division by zero)")
    return "a value cannot be computed (zero base or no rows)"


def prepare(project: Project, dataset_id: str, kpis: Iterable[KpiDef],
            as_of: AsOf | None = None) -> pl.LazyFrame:
    """The dataset's lazy scan, with the weight columns weighted-score KPIs need joined on."""
    frame = derive(store.scan(project, dataset_id, as_of), project.datasets[dataset_id])
    return _with_weights(project, frame, kpis)


def _with_weights(project: Project, frame: pl.LazyFrame, kpis: Iterable[KpiDef]) -> pl.LazyFrame:
    for kpi in kpis:
        if kpi.kind == Kind.WEIGHTED_SCORE:
            weights = _weights_of(project, kpi)
            # A left join on the key, as text so numeric offence codes match: the streaming
            # engine joins a small table to the scan batch by batch. A per-row lookup
            # (`replace_strict`) cannot stream, so it held every column of the scan in memory
            # (docs/performance.md). Keys are unique (see _read_weights), so no row is doubled.
            lookup = weights.lazy().select(
                pl.col("key").alias(f"__key_{kpi.id}"),
                pl.col("weight").alias(_weight_column(kpi)))
            frame = (frame.with_columns(pl.col(kpi.weight_key).cast(pl.String)
                                        .alias(f"__key_{kpi.id}"))
                     .join(lookup, on=f"__key_{kpi.id}", how="left", maintain_order="left")
                     .drop(f"__key_{kpi.id}")
                     .with_columns(pl.col(_weight_column(kpi)).fill_null(0.0)))
    return frame


# ---------------------------------------------------------------------------------------------
# Windows


def baseline_window(project: Project, kpi: KpiDef, current: Window) -> Window:
    if kpi.baseline == "yoy":
        return current.shift(-12)
    if kpi.baseline:
        return Window.parse(kpi.baseline)
    if kpi.is_snapshot:
        return Window.as_at(project.snapshot_baseline)
    return Window.year_ending(project.baseline_end)


def _plan_windows(project: Project, kpi: KpiDef, period: Month, vs: Comparison,
                  available: set[Month]) -> tuple[Window | None, Window | None, str | None]:
    """The current and comparison windows of a KPI for a period, given the months its data
    covers. The current window ends at the latest covered month on or before period - lag."""
    target = period - kpi.lag
    covered = [m for m in available if m <= target]
    if not covered:
        return None, None, f"no data on or before {target}"
    end = max(covered)
    current = current_window(end, snapshot=kpi.is_snapshot, vs=vs)
    missing = [m for m in current.months() if m not in available]
    if missing:
        return None, None, (f"{current.label} is incomplete: no data for "
                            f"{', '.join(str(m) for m in missing[:3])}"
                            + (" ..." if len(missing) > 3 else ""))
    base = baseline_window(project, kpi, current)
    compare = comparison_window(current, vs, base)
    missing = [m for m in compare.months() if m not in available]
    if missing:
        return current, None, (f"comparison {compare.label} is incomplete: no data for "
                               f"{', '.join(str(m) for m in missing[:3])}"
                               + (" ..." if len(missing) > 3 else ""))
    return current, compare, None


# ---------------------------------------------------------------------------------------------
# Changes and status


def change_between(kpi: KpiDef, current: float | None, previous: float | None) -> Change | None:
    if current is None or previous is None:
        return None
    diff = current - previous
    if kpi.unit == Unit.PERCENT:
        return Change(absolute=None, percent=None, points=diff)
    if kpi.unit == Unit.RATIO:
        return Change(absolute=diff, percent=None, points=None)
    percent = diff / previous * 100 if previous != 0 else None
    return Change(absolute=diff, percent=percent, points=None)


def status_of(kpi: KpiDef, change: Change) -> str:
    """Direction-aware status. A change inside the KPI's stable band, or one that rounds to
    nothing at the one decimal place it is shown to, is stable."""
    if change.points is not None:
        size = change.points
    elif change.percent is not None:
        size = change.percent
    else:
        size = change.absolute
        if kpi.unit != Unit.RATIO and size:  # a rise from zero: no % exists, the sign tells
            size = float("inf") if size > 0 else float("-inf")
    if abs(size) <= kpi.stable_band or round(size, 1) == 0:
        return Outcome.STABLE
    if kpi.better == Better.NEUTRAL:
        return Outcome.CHANGED
    rising_is_good = kpi.better == Better.HIGHER
    return Outcome.IMPROVING if (size > 0) == rising_is_good else Outcome.DETERIORATING


# ---------------------------------------------------------------------------------------------
# Evaluation


def measures_of(project: Project, kpi: KpiDef) -> list[KpiDef]:
    """The KPIs whose data a KPI is computed from: itself, or for a rate of two KPIs those
    two (which may read different datasets)."""
    if kpi.is_derived:
        return [project.kpi(kpi.numerator_kpi), project.kpi(kpi.denominator_kpi)]
    return [kpi]


def _dependencies(project: Project, kpis: Iterable[KpiDef]) -> list[KpiDef]:
    needed: dict[str, KpiDef] = {}
    for kpi in kpis:
        needed[kpi.id] = kpi
        needed.update((m.id, m) for m in measures_of(project, kpi))
    return list(needed.values())


def _available(project: Project, dataset_ids: set[str], as_of: AsOf | None,
               versions: dict[str, int]) -> dict[str, set[Month] | str]:
    """Months each dataset covers, or why it cannot be read.

    A dataset that did not exist at an --as-of point is reported on its KPIs (it may have been
    added later), but an --as-of point that no stored dataset can satisfy is an error."""
    out: dict[str, set[Month] | str] = {}
    unsatisfied: list[DataError] = []
    for dataset_id in sorted(dataset_ids):
        if not store.exists(project, dataset_id):
            out[dataset_id] = f"dataset '{dataset_id}' has no data yet"
            continue
        try:
            out[dataset_id] = set(store.months(project, dataset_id, as_of))
            versions[dataset_id] = store.resolve_version(project, dataset_id, as_of)
        except DataError as exc:
            out[dataset_id] = exc.message
            unsatisfied.append(exc)
    if unsatisfied and not versions:
        first = unsatisfied[0]
        raise DataError(first.message if len(unsatisfied) == 1 else
                        f"{first.message}, nor any of the other {len(unsatisfied) - 1} datasets",
                        hint="see 'kpi history DATASET' for the versions and when they were made")
    return out


def evaluate(project: Project, period: Month, vs: Comparison = Comparison.BASELINE,
             kpis: Iterable[KpiDef] | None = None, as_of: AsOf | None = None) -> Report:
    """Compute KPIs (default: every visible one) for a period against a comparison."""
    selected = [k for k in (kpis if kpis is not None else project.kpis) if not k.hidden
                or kpis is not None]
    live = [k for k in selected if k.status == Status.LIVE]
    base_kpis = [k for k in _dependencies(project, live) if not k.is_derived]
    versions: dict[str, int] = {}
    available = _available(project, {k.dataset for k in base_kpis}, as_of, versions)

    # Plan every KPI's windows; a rate of two KPIs needs both datasets' months.
    plans: dict[str, tuple[Window | None, Window | None, str | None]] = {}
    for kpi in live:
        sources = measures_of(project, kpi)
        problems = [available[s.dataset] for s in sources if isinstance(available[s.dataset], str)]
        if problems:
            plans[kpi.id] = (None, None, problems[0])
            continue
        months = set.intersection(*(available[s.dataset] for s in sources))
        plans[kpi.id] = _plan_windows(project, kpi, period, vs, months)
        # Quarterly rows: a current window that cuts a quarter is refused, a comparison
        # window that does is left out, never half counted.
        datasets = [s.dataset for s in sources]
        current, compare, _ = plans[kpi.id]
        cut = (period_cut(project, datasets, kpi, period, vs)
               or quarter_cut(project, datasets, current))
        if cut:
            plans[kpi.id] = (None, None, cut)
        elif cut := quarter_cut(project, datasets, compare):
            plans[kpi.id] = (current, None, f"comparison {cut}")

    # Gather (measure KPI, window) requests per dataset, and evaluate each dataset once.
    requests: dict[str, dict[tuple[str, Window], KpiDef]] = {}
    for kpi in live:
        current, compare, _ = plans[kpi.id]
        measures = measures_of(project, kpi)
        for window in (w for w in (current, compare) if w is not None):
            for measure in measures:
                requests.setdefault(measure.dataset, {})[(measure.id, window)] = measure
    parts = _aggregate_all(project, requests, as_of)

    results = []
    for kpi in selected:
        if kpi.status == Status.IN_DEVELOPMENT:
            results.append(KpiResult(kpi, Outcome.IN_DEVELOPMENT, None, None, None,
                                     "in development: no data yet"))
            continue
        current, compare, note = plans[kpi.id]
        cur = _measured(project, kpi, current, parts)
        cmp = _measured(project, kpi, compare, parts)
        change = change_between(kpi, cur.value if cur else None, cmp.value if cmp else None)
        if change is None:
            note = note or _no_value_note(project, kpi, (current, compare), parts)
            status = Outcome.NO_DATA
        else:
            status = status_of(kpi, change)
        results.append(KpiResult(kpi, status, cur, cmp, change, note))
    return Report(period=period, comparison=vs, results=tuple(results), versions=versions)


Parts = dict[tuple[str, Window], dict[str, float | None]]


def _aggregate_all(project: Project, requests: dict[str, dict[tuple[str, Window], KpiDef]],
                   as_of: AsOf | None) -> Parts:
    parts: Parts = {}
    for dataset_id, wanted in requests.items():
        plan, finish = _aggregate(project, dataset_id, wanted, as_of)
        parts.update(finish(_collect(dataset_id, plan)))
    return parts


def _collect(dataset_id: str, plan: list[pl.LazyFrame]) -> list[pl.DataFrame]:
    """Run a dataset's planned queries. Streaming: the rows pass through in batches, never the
    whole table at once. One query after another: collect_all would run them side by side,
    adding up their memory, and on many small datasets it measured no faster."""
    try:
        return [query.collect(engine="streaming") for query in plan]
    except pl.exceptions.PolarsError as exc:
        raise DataError(f"dataset '{dataset_id}': cannot compute its KPIs "
                        f"({str(exc).strip().splitlines()[0]})",
                        hint="check the KPI expressions against the stored columns") from None


def _aggregate(project: Project, dataset_id: str,
               wanted: dict[tuple[str, Window | None], KpiDef], as_of: AsOf | None,
               months: list[str] | None = None, by: str | None = None
               ) -> tuple[list[pl.LazyFrame], Callable[[list[pl.DataFrame]], Parts]]:
    """The queries that compute a dataset's KPI components, and the function turning their
    results into each (KPI, window)'s parts: keyed (KPI, window), or with `by` a column
    ((KPI, window), value of by). A window of None is every row read; `months` (default: the
    windows' months) are the months read."""
    # Each (filter, window) mask is computed once, as a column, however many KPIs and
    # components read it: built inside every aggregate, twenty KPIs in two windows make
    # dozens of mask computations over every row where a handful suffice.
    masks: dict[tuple[str | None, Window], pl.Expr] = {}
    sums: dict[str, pl.Expr] = {}  # alias -> aggregate of the additive components
    sum_masks: dict[str, pl.Expr] = {}
    # Order statistics, by value expression: (output key, mask column, quantile); and
    # weighted scores, by key column: (output key, mask column, KPI).
    ordered: dict[tuple, list[tuple[tuple[str, Window], str, float]]] = {}
    order_masks: dict[tuple, dict[str, pl.Expr]] = {}
    values: dict[tuple, pl.Expr] = {}
    weighted: dict[str, list[tuple[tuple[str, Window], str, KpiDef]]] = {}
    weight_masks: dict[str, dict[str, pl.Expr]] = {}
    for number, ((kpi_id, window), kpi) in enumerate(wanted.items()):
        key = (kpi.filter, window)
        if key not in masks:
            masks[key] = rows_of(kpi, window).alias(f"__rows{len(masks)}")
        mask = masks[key]
        name = mask.meta.output_name()
        if kpi.kind == Kind.WEIGHTED_SCORE:
            weighted.setdefault(kpi.weight_key, []).append(((kpi_id, window), name, kpi))
            weight_masks.setdefault(kpi.weight_key, {})[name] = mask
        elif RECIPES[kpi.kind].additive:
            sum_masks[name] = mask
            for part, expr in components_of(kpi, rows=pl.col(name)).items():
                sums[f"{number}\t{part}"] = expr
        else:
            q = 0.5 if kpi.kind == Kind.MEDIAN else kpi.percentile / 100
            # KPIs ranking the same value (in the same unit) share one count table.
            value = (kpi.value, kpi.unit if kpi.value_is_duration else None)
            ordered.setdefault(value, []).append(((kpi_id, window), name, q))
            order_masks.setdefault(value, {})[name] = mask
            values[value] = _value(kpi).cast(pl.Float64)
    keys = list(wanted)
    # Only the windows' months can count (every component is masked to its window), and month
    # is the table's partition column: a store holding years of history is read for the
    # months compared, not all of it.
    if months is None:
        months = sorted({str(month) for _, window in wanted for month in window.months()})
    scan = derive(store.scan(project, dataset_id, as_of),
                  project.datasets[dataset_id]).filter(pl.col("month").is_in(months))
    groups = [by] if by else []
    queries = []
    if sums or by:
        # By group, also the rows of each group: every group read is listed, even one with
        # no row any KPI selects.
        masked = scan.with_columns(list(sum_masks.values()))
        aggs = [e.alias(a) for a, e in sums.items()]
        queries.append(masked.group_by(by).agg(*aggs, pl.len().alias("__rows")) if by
                       else masked.select(aggs))
    # A median or percentile needs every value it ranks; held in the one query, they would
    # keep every column that query reads in memory. Counting the rows per distinct value
    # instead streams in memory bounded by the number of distinct values, and the statistic
    # is read off the sorted counts exactly.
    for value, wanted_masks in order_masks.items():
        queries.append(_counts_by(scan, values[value], wanted_masks, groups)
                       .sort(*groups, "__value"))
    # A weighted score likewise: rows counted per key, each count times the key's weight.
    # (A lookup of each row's weight cannot stream; a join carries every column through.)
    for column, wanted_masks in weight_masks.items():
        queries.append(_counts_by(scan, pl.col(column).cast(pl.String), wanted_masks, groups))

    def finish(frames: list[pl.DataFrame]) -> Parts:
        if not by:
            return _parts_from(project, frames, keys, bool(sums), ordered, weighted)
        # One group at a time: the same arithmetic on each group's rows of every result.
        frames = list(frames)
        out: Parts = {}
        parts = [f.partition_by(by, as_dict=True, include_key=False) for f in frames]
        for group in sorted({k[0] for p in parts for k in p}, key=str):
            own = [p.get((group,), f.clear().drop(by)) for p, f in zip(parts, frames,
                                                                      strict=True)]
            got = _parts_from(project, own, keys, True, ordered, weighted)
            out.update({(key, group): value for key, value in got.items()})
        return out

    return queries, finish


def _parts_from(project: Project, frames: list[pl.DataFrame], keys: list[tuple[str, Window]],
                sums: bool, ordered: dict, weighted: dict) -> Parts:
    frames = list(frames)
    out: Parts = {}
    if sums:
        for alias, value in frames.pop(0).row(0, named=True).items():
            if "\t" not in alias:
                continue  # the rows of a group
            number, part = alias.split("\t")
            out.setdefault(keys[int(number)], {})[part] = value
    for requests, counts in zip(ordered.values(), frames[:len(ordered)], strict=True):
        values = counts["__value"].to_list()
        for key, mask, q in requests:
            stat, n = _quantile(values, counts[mask].to_list(), q)
            # NaN and infinite values (a division by zero) leave the KPI without a figure.
            nonfinite = sum(c for v, c in zip(values, counts[mask], strict=True)
                            if not math.isfinite(v))
            out[key] = {"stat": stat, "den": n, NONFINITE: nonfinite}
    for requests, counts in zip(weighted.values(), frames[len(ordered):], strict=True):
        for key, mask, kpi in requests:
            weights = dict(zip(*_weights_of(project, kpi), strict=True))
            score = sum(weights.get(value, 0.0) * n
                        for value, n in zip(counts["__value"], counts[mask], strict=True) if n)
            out[key] = {"n": float(score)}
    return out


def _counts_by(scan: pl.LazyFrame, value: pl.Expr, masks: dict[str, pl.Expr],
               groups: list[str] = ()) -> pl.LazyFrame:
    """Per distinct non-null `value` (as column __value), within each group, the number of
    rows in each mask."""
    return (scan.with_columns(list(masks.values()))
            .select(*groups, value.alias("__value"), *masks)
            .filter(pl.col("__value").is_not_null() & pl.any_horizontal(*masks))
            .group_by(*groups, "__value").agg(pl.col(*masks).sum()))


def monthly_parts(project: Project, dataset_id: str, measures: Iterable[KpiDef],
                  months: list[str], as_of: AsOf | None = None
                  ) -> dict[str, dict[str, dict[str, float | None]]]:
    """Each measure's components per month (measure id -> month -> parts) over the given
    months of one dataset, computed as the summary computes its windows: streaming, in
    memory bounded by the number of months and distinct values, not rows. A month without
    rows is absent."""
    wanted = {(m.id, None): m for m in measures}
    plan, finish = _aggregate(project, dataset_id, wanted, as_of, months=months, by="month")
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for ((measure_id, _), month), parts in finish(_collect(dataset_id, plan)).items():
        out.setdefault(measure_id, {})[month] = parts
    return out


def _quantile(values: list[float], counts: list[int], q: float) -> tuple[float | None, int]:
    """The q-quantile (linear interpolation, as Polars' `quantile(q, "linear")` and DuckDB's
    `quantile_cont`) of values given in ascending order with their counts; and the count."""
    cumulative = list(accumulate(counts))
    n = cumulative[-1] if cumulative else 0
    if n == 0:
        return None, 0
    position = (n - 1) * q
    below = floor(position)
    lower = values[bisect_right(cumulative, below)]
    if position == below:
        return lower, n
    upper = values[bisect_right(cumulative, below + 1)]
    return lower + (upper - lower) * (position - below), n


def _measured(project: Project, kpi: KpiDef, window: Window | None,
              parts: dict[tuple[str, Window], dict[str, float | None]]) -> Measured | None:
    if window is None:
        return None
    if kpi.is_derived:
        num = value_of(project.kpi(kpi.numerator_kpi),
                       parts[(kpi.numerator_kpi, window)], project)
        den = value_of(project.kpi(kpi.denominator_kpi),
                       parts[(kpi.denominator_kpi, window)], project)
        value = _ratio(num, den, 100.0)
        value = value * kpi.multiplier if value is not None else None
        return Measured(window, value if value is not None and math.isfinite(value) else None,
                        num, den)
    got = parts[(kpi.id, window)]
    return Measured(window, value_of(kpi, got, project), got.get("num"), got.get("den"))


# ---------------------------------------------------------------------------------------------
# Views: monthly series and breakdowns


def latest_month(project: Project, kpi: KpiDef, period: Month,
                 as_of: AsOf | None = None) -> Month | None:
    """The latest month on or before period - lag that the KPI's data holds (any month, even
    when the window ending there is incomplete), or None."""
    ends = []
    for source in measures_of(project, kpi):
        if source.dataset is None or not store.exists(project, source.dataset):
            return None
        try:
            held = [m for m in store.months(project, source.dataset, as_of)
                    if m <= period - kpi.lag]
        except DataError:
            return None
        if not held:
            return None
        ends.append(max(held))
    return min(ends)


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
    parts = components_of(kpi)
    rows = pl.col("month").is_between(pl.lit(str(window.start)), pl.lit(str(window.end)))
    grouped = (frame.filter(rows).group_by("month")
               .agg([e.alias(name) for name, e in parts.items()]).collect())
    return _series_frame(project, kpi, window, grouped, months)


SeriesRequest = tuple[KpiDef, Month, int]  # KPI, last month, months
SeriesKey = tuple[str, Month, int]  # KPI id, last month, months


def monthly_series_all(project: Project, requests: Iterable[SeriesRequest],
                       as_of: AsOf | None = None) -> dict[SeriesKey, pl.DataFrame]:
    """Many KPIs' monthly series at once, each frame the one `monthly_series` gives: one
    grouped query per dataset over the months any of them shows, where `monthly_series` reads
    the table once per KPI (and twice for a rate of two KPIs). Keyed (KPI id, end, months)."""
    requests = list(requests)
    base: dict[SeriesKey, SeriesRequest] = {}
    for kpi, end, months in requests:
        if kpi.is_derived:
            for part in (kpi.numerator_kpi, kpi.denominator_kpi):
                base[(part, end, months + 11)] = (project.kpi(part), end, months + 11)
        else:
            base[(kpi.id, end, months)] = (kpi, end, months)
    by_dataset: dict[str, list[SeriesRequest]] = {}
    for request in base.values():
        by_dataset.setdefault(request[0].dataset, []).append(request)
    found: dict[SeriesKey, pl.DataFrame] = {}
    for dataset_id, wanted in by_dataset.items():
        windows = [_series_window(kpi, end, months) for kpi, end, months in wanted]
        kpis = list({kpi.id: kpi for kpi, _, _ in wanted}.values())
        first, last = min(w.start for w in windows), max(w.end for w in windows)
        rows = pl.col("month").is_between(pl.lit(str(first)), pl.lit(str(last)))
        # Each KPI's components over every row of a month, as monthly_series computes them.
        aggs = [e.alias(f"{number}\t{name}") for number, kpi in enumerate(kpis)
                for name, e in components_of(kpi).items()]
        try:
            grouped = (prepare(project, dataset_id, kpis, as_of).filter(rows)
                       .group_by("month").agg(aggs).collect())
        except pl.exceptions.PolarsError as exc:
            raise DataError(f"dataset '{dataset_id}': cannot compute its monthly series "
                            f"({str(exc).strip().splitlines()[0]})",
                            hint="check the KPI expressions against the stored columns") from None
        for (kpi, end, months), window in zip(wanted, windows, strict=True):
            number = kpis.index(kpi)
            own = grouped.select("month", *[pl.col(f"{number}\t{name}").alias(name)
                                            for name in components_of(kpi)])
            found[(kpi.id, end, months)] = _series_frame(project, kpi, window, own, months)
    out: dict[SeriesKey, pl.DataFrame] = {}
    for kpi, end, months in requests:
        if kpi.is_derived:
            out[(kpi.id, end, months)] = _derived_series(
                kpi, found[(kpi.numerator_kpi, end, months + 11)],
                found[(kpi.denominator_kpi, end, months + 11)], months)
        else:
            out[(kpi.id, end, months)] = found[(kpi.id, end, months)]
    return out


def _series_window(kpi: KpiDef, end: Month, months: int) -> Window:
    """The months a series reads: those shown, and for a rolling 12-month value the 11
    before."""
    start = end - (months - 1) - (11 if RECIPES[kpi.kind].additive else 0)
    return Window(current_window(end, snapshot=True, vs=Comparison.BASELINE).kind, start, end)


def _derived_series(kpi: KpiDef, num: pl.DataFrame, den: pl.DataFrame,
                    months: int) -> pl.DataFrame:
    """A rate of two KPIs month by month, from their series (each 11 months longer)."""
    joined = num.join(den, on="month", suffix="_den")
    # A month whose denominator is 0 has no rate (null), never NaN or infinity.
    frame = joined.select(
        "month",
        _finite(pl.col("value") / pl.col("value_den") * 100 * kpi.multiplier).alias("value"),
        _finite(pl.col("value").rolling_sum(12) / pl.col("value_den").rolling_sum(12) * 100
                * kpi.multiplier).alias("rolling_12"))
    return frame.tail(months)


def _series_frame(project: Project, kpi: KpiDef, window: Window, grouped: pl.DataFrame,
                  months: int) -> pl.DataFrame:
    """The series from each month's components (a month without rows has none)."""
    parts = list(components_of(kpi))
    all_months = pl.DataFrame({"month": [str(m) for m in window.months()]})
    grouped = all_months.join(grouped, on="month", how="left").sort("month")
    values = [value_of(kpi, row, project) for row in grouped.iter_rows(named=True)]
    out = grouped.with_columns(pl.Series("value", values, dtype=pl.Float64))
    if RECIPES[kpi.kind].additive and not kpi.is_snapshot:
        rolled = grouped.select("month", *[pl.col(n).cast(pl.Float64).rolling_sum(12)
                                           for n in parts])
        rolling = [value_of(kpi, row, project) if all(v is not None for v in row.values())
                   else None for row in rolled.drop("month").iter_rows(named=True)]
        out = out.with_columns(pl.Series("rolling_12", rolling, dtype=pl.Float64))
    else:
        out = out.with_columns(pl.lit(None, dtype=pl.Float64).alias("rolling_12"))
    return out.select("month", "value", "rolling_12").tail(months)


def _finite(expr: pl.Expr) -> pl.Expr:
    """The expression where it is a finite number, null where it is NaN or infinite."""
    return pl.when(expr.is_finite()).then(expr)


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
        aggs += [e.alias(f"{tag}_{name}") for name, e in components_of(kpi, window).items()]
    grouped = frame.group_by(column).agg(aggs).collect()
    return _breakdown_frame(project, kpi, comparison is not None, [
        (row[column], {k[4:]: v for k, v in row.items() if k.startswith("cur_")},
         {k[4:]: v for k, v in row.items() if k.startswith("cmp_")})
        for row in grouped.iter_rows(named=True)])


BreakdownRequest = tuple[KpiDef, str, Window, Window | None]  # KPI, column, current, comparison
BreakdownKey = tuple[str, str, Window, Window | None]  # KPI id, column, current, comparison


def breakdowns(project: Project, requests: Iterable[BreakdownRequest],
               as_of: AsOf | None = None) -> dict[BreakdownKey, pl.DataFrame]:
    """Many breakdowns at once, each frame the one `breakdown` gives: one query for all the
    requests of a dataset that split by the same column, reading only their windows' months,
    where `breakdown` reads the table once per KPI and column (the board paper asks for
    dozens). Keyed (KPI id, column, current, comparison)."""
    groups: dict[tuple[str, str], dict[BreakdownKey, BreakdownRequest]] = {}
    for request in requests:
        kpi, column, current, comparison = request
        if kpi.is_derived:
            raise ConfigError(f"KPI '{kpi.id}' is a rate of two KPIs and has no breakdown")
        key = (kpi.id, column, current, comparison)
        groups.setdefault((kpi.dataset, column), {})[key] = request
    out: dict[BreakdownKey, pl.DataFrame] = {}
    for (dataset_id, column), wanted in groups.items():
        out.update(_breakdowns_by(project, dataset_id, column, list(wanted.values()), as_of))
    return out


def _breakdowns_by(project: Project, dataset_id: str, column: str,
                   requests: list[BreakdownRequest], as_of: AsOf | None
                   ) -> dict[BreakdownKey, pl.DataFrame]:
    """One dataset's breakdowns by one column, in one grouped query. Each request's
    components are masked by its own filter and windows, and it counts its selected rows,
    so a part is listed for a KPI only where that KPI has rows, as `breakdown` lists it."""
    every: set[str] = set()
    aggs: list[pl.Expr] = []
    # As in the summary, each (filter, months) mask is one column, computed once however many
    # KPIs read it.
    masks: dict[tuple, pl.Expr] = {}

    def mask(kpi: KpiDef, months: tuple[str, ...], make: Callable[[], pl.Expr]) -> pl.Expr:
        key = (kpi.filter, months)
        if key not in masks:
            masks[key] = make().alias(f"__rows{len(masks)}")
        return pl.col(masks[key].meta.output_name())

    for number, (kpi, _, current, comparison) in enumerate(requests):
        windows = [w for w in (current, comparison) if w is not None]
        months = tuple(sorted({str(month) for window in windows for month in window.months()}))
        every.update(months)
        selected = mask(kpi, months, lambda k=kpi, m=months: rows_of(k) & pl.col("month")
                        .is_in(list(m)))
        aggs.append(selected.sum().alias(f"{number}\trows"))
        for tag, window in (("cur", current), ("cmp", comparison)):
            if window is not None:
                rows = mask(kpi, tuple(str(m) for m in window.months()),
                            lambda k=kpi, w=window: rows_of(k, w))
                aggs += [e.alias(f"{number}\t{tag}\t{name}")
                         for name, e in components_of(kpi, rows=rows).items()]
    kpis = [request[0] for request in requests]
    frame = (prepare(project, dataset_id, kpis, as_of)
             .filter(pl.col("month").is_in(sorted(every))).with_columns(list(masks.values())))
    try:
        grouped = frame.group_by(column).agg(aggs).collect(engine="streaming")
    except pl.exceptions.PolarsError as exc:
        raise DataError(f"dataset '{dataset_id}': cannot break its KPIs down by '{column}' "
                        f"({str(exc).strip().splitlines()[0]})",
                        hint="check the KPI expressions against the stored columns") from None
    by_request: list[list[tuple]] = [[] for _ in requests]
    for row in grouped.iter_rows(named=True):
        parts: list[dict[str, dict]] = [{"cur": {}, "cmp": {}} for _ in requests]
        selected = [0] * len(requests)
        for alias, value in row.items():
            if alias == column:
                continue
            number, *rest = alias.split("\t")
            if rest == ["rows"]:
                selected[int(number)] = value
            else:
                parts[int(number)][rest[0]][rest[1]] = value
        for number, got in enumerate(parts):
            if selected[number]:
                by_request[number].append((row[column], got["cur"], got["cmp"]))
    return {(kpi.id, column, current, comparison):
            _breakdown_frame(project, kpi, comparison is not None, by_request[number])
            for number, (kpi, column, current, comparison) in enumerate(requests)}


def _breakdown_frame(project: Project, kpi: KpiDef, compared: bool,
                     parts: list[tuple[Any, dict, dict]]) -> pl.DataFrame:
    """The breakdown frame from each part's current and comparison components."""
    rows = []
    for part, current_parts, comparison_parts in parts:
        cur = value_of(kpi, current_parts, project)
        cmp = value_of(kpi, comparison_parts, project) if compared else None
        change = change_between(kpi, cur, cmp)
        rows.append({"part": part, "current": cur, "comparison": cmp,
                     "absolute": change.absolute if change else None,
                     "percent": change.percent if change else None,
                     "points": change.points if change else None})
    schema = {"part": pl.String, "current": pl.Float64, "comparison": pl.Float64,
              "absolute": pl.Float64, "percent": pl.Float64, "points": pl.Float64}
    out = pl.DataFrame(rows, schema=schema, orient="row")
    return out.sort(["current", "part"], descending=[True, False], nulls_last=True)
