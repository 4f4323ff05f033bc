"""The engine: catalogue and stored data in, results out. It never prints and never exits.

Every KPI kind is a small recipe (`RECIPES`): the additive or order-statistic components to
aggregate over the rows a KPI's filter selects, and how to turn them into the KPI's value. For
each dataset the engine gathers every (KPI, component) it needs and computes them month by
month in one read of the months asked (`_plan`), so a dataset is read once however many KPIs
and windows read it: a window, or one month of a verdict's series, is the sum of its months
(`ByMonth`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from functools import partial
from math import floor
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import polars as pl

from kpi import expressions, store
from kpi.cache import read_by_content
from kpi.catalogue import (
    AS_AT_HINT,
    BOUNDS,
    BOUNDS_HINT,
    DURATION_UNITS,
    SHRINK_SHARE,
    Better,
    ColumnType,
    DatasetSpec,
    Kind,
    KpiDef,
    Project,
    Status,
    Unit,
    change_places_of,
    derive,
    reads_quarters,
    required,
    snapshot_day,
    stored_text_column,
    through_derived,
)
from kpi.dateparts import quarter_cut
from kpi.errors import ConfigError, DataError, option, spelled, visible
from kpi.expressions import overflowed, polars_expr
from kpi.expressions import quotient as column_quotient
from kpi.periods import (
    MONTH_NAMES,
    Comparison,
    Month,
    Window,
    WindowKind,
    comparison_window,
    current_window,
    first_months,
)
from kpi.rounding import (
    as_written,
    change_percent,
    difference,
    figure,
    fixed,
    quotient,
    shows_zero,
)
from kpi.stats import UNFLAGGED, unscaled_flags
from kpi.store import AsOf
from kpi.text import SPELLINGS, identity_key, identity_keys

# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Measured:
    """A KPI's value over one window, with the counts behind it where it has them."""

    window: Window
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    # A rate of one dataset's rows (or a percentage snapshot): the window's rows that are not
    # a whole number of cases out of a whole number (a numerator from 0 to a whole-number
    # denominator, `outside`), and those whose numerator is not a whole number of at least 0
    # (`uncounted`), for `stats.rate_rule`; None for other KPIs.
    outside: int | None = None
    uncounted: int | None = None
    # A rate of one dataset's rows (or a percentage snapshot) or a ratio of rates: the
    # window's rows whose numerator or denominator is below 0 (or not a number), for
    # `stats.chart_bounds`: with none, the figure cannot be negative. None for other KPIs.
    negative: int | None = None
    # A mean printed off the scale of a share (`KpiDef.flag_scale`): the window's rows whose
    # value is neither 0 nor 1 nor a blank, for `stats.unscaled_flags`. None for other KPIs.
    unflagged: int | None = None


@dataclass(frozen=True)
class Change:
    absolute: float | None
    percent: float | None
    points: float | None
    # The decimals its absolute size or points print to beside its two figures
    # (catalogue.change_places_of), those its status is judged at: a change is only ever
    # made from its two figures (`change_between`), so it always has them.
    places: int


class Outcome:
    """Status words (a str so JSON and CSV carry them as they are)."""

    IMPROVING = "improving"
    DETERIORATING = "deteriorating"
    STABLE = "stable"
    CHANGED = "changed"  # a direction-less KPI (better = neutral) moved beyond its band
    IN_DEVELOPMENT = "in_development"
    NO_DATA = "no_data"
    STALE = "stale"  # figures of a window ending before the month the period asks for


@dataclass(frozen=True)
class Covered:
    """The parts of one column telling parts of the data apart (a dataset's `replace_by`
    column, a `[peers.*]` group's) whose rows a figure adds together, by name, None for rows
    with no value in it (`kpi.compare.kpi_covers`): `dataset`, the first dataset (by id)
    holding the column, and `label`, the column as the faces name it ('force')."""

    dataset: str
    column: str
    label: str
    parts: tuple[str | None, ...]


@dataclass(frozen=True)
class KpiResult:
    kpi: KpiDef
    status: str
    current: Measured | None
    comparison: Measured | None
    change: Change | None
    note: str | None = None
    # Data-quality notes on the rows behind the current window (`quality_notes`): a column
    # the KPI reads blank on a month's rows far more than usual, or mostly blank in the
    # window, or a month whose row count jumps. The figures stand; the notes say what to
    # check before reading them.
    quality: tuple[str, ...] = ()
    # Stale because a month its window needs is missing while later months are held, not
    # because its source is late (`Plan.gap`): the paper says which.
    gap: bool = False
    # The parts of each column telling parts of the data apart whose rows the current figure
    # adds together (`kpi.compare.with_covers`, which every face asks): empty until asked,
    # and where no such column is declared.
    covers: tuple[Covered, ...] = ()

    def __post_init__(self) -> None:
        if (why := underived(self.kpi, self.current, self.comparison, self.change,
                             self.status)) is not None:
            raise ValueError(f"KPI '{self.kpi.id}': {why}")


# Why a KPI has no change, in words a board member and a spreadsheet user read (`no_change`):
# the Change cell of every summary table and of the paper, `change.note` in JSON, and the CSV's,
# workbook's and DataFrame's `change_note`; likewise each part's in `kpi compare` and the
# Change section of `kpi show`.
IN_DEVELOPMENT_WORDS = "in development"  # defined in the plan, no data yet
NO_FIGURE = "no figure"  # no current value: months missing, nothing stored, or a zero base
NO_COMPARISON = "no comparison"  # a current value, but no comparison value to set it against


class Changed(Protocol):
    """What says whether a change is there: a KPI's result, or one part of it in `kpi
    compare` (kpi.compare.PartResult)."""

    @property
    def status(self) -> str: ...
    @property
    def current(self) -> Measured | None: ...
    @property
    def change(self) -> Change | None: ...


def no_change(result: Changed) -> str | None:
    """Why `result` (a KPI's, or a part's in `kpi compare`) has no change ("in development",
    "no figure", "no comparison"), or None where it has one. The one place that says it, so
    every form says the same."""
    if result.change is not None:
        return None
    if result.status == Outcome.IN_DEVELOPMENT:
        return IN_DEVELOPMENT_WORDS
    if result.current is None or result.current.value is None:
        return NO_FIGURE
    return NO_COMPARISON


@dataclass(frozen=True)
class Report:
    period: Month
    comparison: Comparison
    results: tuple[KpiResult, ...]
    versions: dict[str, int]  # dataset id -> table version the figures were computed from
    # With `evaluate(..., series=N)`: each measure's components month by month (measure id ->
    # month -> parts), over at least the N months ending with each KPI's current window (see
    # `series_start`), read in the same pass as the windows; and that N.
    monthly: dict[str, dict[str, dict[str, float | None]]] | None = None
    series: int | None = None
    # With `series`: the months read of each dataset (dataset id -> months), so a later series
    # over months all read (the board's trend figures) is taken from `monthly`.
    read: dict[str, frozenset[str]] | None = None
    # The months each part of a dataset holds, of each column telling its parts apart
    # (`held_parts`), as read for the windows: the series' and verdicts' months are judged
    # by them too.
    held: dict[Any, dict[tuple, list[Month]]] | None = None

    def result(self, kpi_id: str) -> KpiResult | None:
        return next((r for r in self.results if r.kpi.id == kpi_id), None)

    def known_result(self, kpi_id: str) -> KpiResult:
        """A KPI's result in a report evaluated with that KPI: a missing one is a bug."""
        result = self.result(kpi_id)
        if result is None:
            raise KeyError(f"KPI '{kpi_id}' was not evaluated in this report")
        return result


# ---------------------------------------------------------------------------------------------
# Kinds: components to aggregate, and the value made from them


@dataclass(frozen=True)
class Recipe:
    # For an additive kind, each component's quantity per row (the component is its sum over
    # the rows, see `summands_of`); otherwise each component's aggregate.
    components: Callable[[KpiDef, pl.Expr], dict[str, pl.Expr]]
    value: Callable[[KpiDef, dict[str, float | None], Project], float | None]
    additive: bool = True  # components are sums, so windows can be built from monthly parts


def _sql(text: str, kpi: KpiDef | None = None) -> pl.Expr:
    """An expression of the catalogue (of the KPI's dataset) as Polars reads it, parsed once
    per process (the sample's summary asked for 515 parses of its 163 expressions), an epoch
    of a datetime column taken without its zone (`expressions.polars_expr`)."""
    return polars_expr(text, kpi.zoned if kpi is not None else ())


def _value(kpi: KpiDef) -> pl.Expr:
    """A KPI's `value` expression per row; a duration (the difference of two datetimes) is
    converted to the KPI's unit, seconds or days, instead of counting its microseconds."""
    value = _sql(required(kpi.value, f"KPI '{kpi.id}': value"), kpi)
    if kpi.value_is_duration:
        return column_quotient(value.dt.total_microseconds(), 1_000_000 * DURATION_UNITS[kpi.unit])
    return value


def _amount(kpi: KpiDef, expression: str | None, rows: pl.Expr) -> pl.Expr:
    """An expression on the selected rows (null elsewhere); the row itself when there is
    none. Summed, it is the expression's sum over them, or their number."""
    if expression is None:
        return rows  # booleans sum to their count of true, with no cast
    return pl.when(rows).then(_sql(expression, kpi))  # a condition sums to its count of true


def _count_parts(kpi: KpiDef, rows: pl.Expr) -> dict[str, pl.Expr]:
    if kpi.value is None:
        return {"n": _amount(kpi, None, rows)}
    parts: dict[str, pl.Expr] = {"n": pl.when(rows).then(_value(kpi))}
    if kpi.kind == Kind.COUNT:
        # The rows whose value is not a whole number of at least 0 (a blank as 0): a count of
        # them is no count of events, and is not tested (`stats.significance`) whatever its
        # windows' totals: 40 rows of 2.5 against 28 total 100 and 70, tested as events at
        # p = 0.026 where the rows behind them give 0.18.
        value = _value(kpi).cast(pl.Float64).fill_null(0.0)
        parts[UNCOUNTED] = rows & ~(value.is_finite() & (value.floor() == value)
                                    & (value >= 0)).fill_null(False)
    return parts


def _rate_parts(kpi: KpiDef, rows: pl.Expr) -> dict[str, pl.Expr]:
    return {"num": _amount(kpi, kpi.numerator, rows),
            "den": _amount(kpi, kpi.denominator, rows)}


# A rate's rows that break the per-row rule of its test as two proportions (`stats.rate_rule`,
# docs/statistics.md): OUTSIDE counts the rows that are not a whole number of yes-or-no cases
# (a numerator that is not a whole number from 0 to the row's denominator, or a denominator
# that is not a whole number: a row of 1.5 "cases" is no set of cases, whatever the window's
# totals come to), UNCOUNTED those whose numerator is not a whole number of at least 0 (not a
# count of events). NEGATIVE counts the rows whose numerator or denominator is below 0, for
# the floor of the process limits (`stats.chart_bounds`). Each row is read as the sums read
# it: a blank as 0.
OUTSIDE, UNCOUNTED, NEGATIVE = "outside", "uncounted", "negative"


def _row_parts(kpi: KpiDef) -> tuple[pl.Expr, pl.Expr]:
    """A rate's numerator and denominator of each row as floats, a blank as 0 (1 where the
    rate has none: it counts rows)."""
    one = pl.lit(1)
    num = (_sql(kpi.numerator, kpi) if kpi.numerator is not None else one).cast(pl.Float64)
    den = (_sql(kpi.denominator, kpi) if kpi.denominator is not None else one).cast(pl.Float64)
    return num.fill_null(0.0), den.fill_null(0.0)


def _negative(num: pl.Expr, den: pl.Expr, rows: pl.Expr) -> pl.Expr:
    """The rows whose numerator or denominator is below 0 or not a number."""
    return rows & ~((num >= 0) & (den >= 0) & ~num.is_nan() & ~den.is_nan()).fill_null(False)


def _checked_rate_parts(kpi: KpiDef, rows: pl.Expr) -> dict[str, pl.Expr]:
    """A rate of one dataset's rows (or a percentage snapshot): its numerator and denominator,
    and its rows' counts against the rule of its test (OUTSIDE, UNCOUNTED) and its floor
    (NEGATIVE)."""
    parts = _rate_parts(kpi, rows)
    if kpi.flag_share:  # 0 or 1 of 1 in every row: none can break the rule, none is read
        parts[OUTSIDE] = parts[UNCOUNTED] = parts[NEGATIVE] = pl.lit(False)
        return parts
    num, den = _row_parts(kpi)

    def whole(value: pl.Expr) -> pl.Expr:
        return value.is_finite() & (value.floor() == value)

    counted = whole(num) & (num >= 0)
    parts[OUTSIDE] = rows & ~(counted & whole(den) & (num <= den)).fill_null(False)
    parts[UNCOUNTED] = rows & ~counted.fill_null(False)
    parts[NEGATIVE] = _negative(num, den, rows)
    return parts


def _ratio_parts(kpi: KpiDef, rows: pl.Expr) -> dict[str, pl.Expr]:
    """A ratio of rates: its numerator and denominator, and its rows whose numerator or
    denominator is below 0 (NEGATIVE), for the floor of its process limits."""
    return {**_rate_parts(kpi, rows), NEGATIVE: _negative(*_row_parts(kpi), rows)}


def _within_parts(kpi: KpiDef, rows: pl.Expr) -> dict[str, pl.Expr]:
    # A blank value was not measured: it is left out of the share, as mean and median leave it.
    value = _value(kpi)
    return {"num": rows & (value <= kpi.threshold), "den": rows & value.is_not_null()}


def _mean_parts(kpi: KpiDef, rows: pl.Expr) -> dict[str, pl.Expr]:
    # Whole numbers (seconds, days) are summed as integers, exactly and at an integer's cost;
    # fractions as any sum of fractions (`_totals`).
    value = _value(kpi)
    parts = {"num": pl.when(rows).then(value), "den": rows & value.is_not_null()}
    if kpi.flag_scale:
        # its rows that are not 0, 1 or a blank: with none, a share off its unit's scale
        # (`stats.unscaled_flags`)
        number = value.cast(pl.Float64)
        parts[UNFLAGGED] = rows & ~(number.is_null() | (number == 0.0) | (number == 1.0))
    return parts


def quantile_of(kpi: KpiDef) -> Fraction:
    """A median's or percentile's q, exactly: 1/2, or the percentile as written over 100 (90
    is 9/10; 29 is 29/100, where the float 0.29 times 100 is 28.999999999999996, a position a
    bit short of the 30th value)."""
    if kpi.kind == Kind.MEDIAN:
        return Fraction(1, 2)
    return as_written(required(kpi.percentile, f"KPI '{kpi.id}': percentile")) / 100


def _bounded(q: Fraction) -> Fraction:
    return q.limit_denominator(10**30) if q.denominator > 10**30 else q


def _below(count: pl.Expr, q: Fraction) -> pl.Expr:
    """floor((count - 1) × q) in whole numbers (128-bit, so a percentile written with many
    digits cannot overflow): the index of the value at or just below a quantile's position.
    A q whose denominator passes 10**30 (a percentile of 1e-300) is taken to the nearest
    fraction below that denominator, a difference no position of fewer than 10**9 rows shows."""
    q = _bounded(q)
    whole = pl.Int128
    return ((count.cast(whole) - 1) * pl.lit(q.numerator, dtype=whole)
            // pl.lit(q.denominator, dtype=whole))


def _order_parts(kpi: KpiDef, rows: pl.Expr, whole: bool = False) -> dict[str, pl.Expr]:
    """A median's or percentile's components: the values either side of its position
    (n - 1) × q, found in whole numbers, and n; `_ordered` interpolates them exactly, as
    `_quantiles` does for the summary's count tables (Polars' own `median` and `quantile`
    interpolate in floats: the median of £0.10 and £0.20 read 0.15000000000000002). A value
    of `whole` numbers is ranked as them (`ranked`)."""
    value = ranked(_value(kpi), whole).filter(rows)
    n = value.count().cast(pl.Int64)
    q = quantile_of(kpi)
    if q.denominator & (q.denominator - 1) == 0 and not whole:
        # A q of a power of two over (a median's 1/2): Polars' own position (n - 1) × q is
        # exact, so its values either side are the ones the exact position lies between.
        return {"lower": value.quantile(float(q), "lower"),
                "upper": value.quantile(float(q), "higher"), "den": n}
    below = _below(n, q).cast(pl.Int64)
    ordered = value.drop_nulls().sort()

    def at(index: pl.Expr) -> pl.Expr:
        # The value at a whole-number index of the part's own ordered values. Not Polars'
        # "lower" quantile asked at a position worked out from n: in a group_by, Polars takes
        # a quantile's expression argument once, from the first group, for every group, so
        # a part of 25 values was read at another part's position (its 90th percentile 33.0
        # where its rows give 34.8, `kpi compare --by force`, exit 0). A part of no values
        # has no value (an index of -1 would read from the end).
        return pl.when(index >= 0).then(ordered.get(index, null_on_oob=True))

    return {"lower": at(below), "upper": at(below + 1), "den": n}


def ranked(value: pl.Expr, whole: bool) -> pl.Expr:
    """The values a median or percentile ranks: whole numbers as they are (`whole`: the
    value's type is an integer), every other value as a float. Ranked as floats, a whole
    number past 2**53 became the nearest float: every row 9007199254740993 had a median of
    9007199254740992, printed 9,007,199,254,740,990 beside a mean of 9,007,199,254,740,993."""
    return value if whole else value.cast(pl.Float64)


def whole_value(kpi: KpiDef, frame: pl.LazyFrame) -> bool:
    """Whether a KPI's value expression over `frame` gives whole numbers (an integer type)."""
    return frame.select(_value(kpi).alias("v")).collect_schema()["v"].is_integer()


def _weighted_parts(kpi: KpiDef, rows: pl.Expr) -> dict[str, pl.Expr]:
    return {"n": pl.when(rows).then(pl.col(_weight_column(kpi)))}


def scale_of(kpi: KpiDef, times: int = 1) -> Fraction:
    """What a KPI's figure is multiplied by, exactly: its multiplier as written (0.1 is 1/10),
    times 100 for a percentage or 1,000 for a rate per 1,000."""
    return as_written(kpi.multiplier) * times


def _population(project: Project, name: str) -> Fraction:
    return as_written(project.populations[name])


def _per_population(k: KpiDef, c: dict[str, Any], p: Project) -> float | None:
    """A ratio of two rates per head, (num / its population) / (den / its population), as one
    quotient: num × the denominator's population / (den × the numerator's), rounded once."""
    num_population, den_population = (
        _population(p, name) for name in required(k.populations, f"KPI '{k.id}'"))
    if not num_population:
        return None
    return quotient(c["num"], c["den"], scale_of(k) * den_population / num_population)


def _ordered(k: KpiDef, c: dict[str, Any], p: Project) -> float | None:
    if not c["den"]:
        return None
    stat = (c["stat"] if "stat" in c
            else _interpolated(c["den"], quantile_of(k), c["lower"], c["upper"]))
    return quotient(stat, 1, scale_of(k))


# Each kind's value from its window's components: one quotient (`kpi.rounding.quotient`), so
# the multiplier, the 100 of a percentage and the 1,000 of a rate per 1,000 are applied
# exactly with the division, and the figure is rounded once.
RECIPES: dict[Kind, Recipe] = {
    Kind.COUNT: Recipe(_count_parts, lambda k, c, p: quotient(c["n"], 1, scale_of(k))),
    Kind.SUM: Recipe(_count_parts, lambda k, c, p: quotient(c["n"], 1, scale_of(k))),
    Kind.RATE: Recipe(_checked_rate_parts,
                      lambda k, c, p: quotient(c["num"], c["den"], scale_of(k, 100))),
    Kind.WITHIN: Recipe(_within_parts,
                        lambda k, c, p: quotient(c["num"], c["den"], scale_of(k, 100))),
    # A mean is its sum over its rows, rounded once: £10.10, £10.20 and £10.30 average 10.2,
    # where the float 30.6 divided by 3 is 10.200000000000001 (a mean of pounds and pence in
    # four read so).
    Kind.MEAN: Recipe(_mean_parts, lambda k, c, p: quotient(c["num"], c["den"], scale_of(k))),
    Kind.MEDIAN: Recipe(_order_parts, _ordered, additive=False),
    Kind.PERCENTILE: Recipe(_order_parts, _ordered, additive=False),
    Kind.SNAPSHOT: Recipe(
        lambda k, rows: _checked_rate_parts(k, rows) if k.numerator else _count_parts(k, rows),
        lambda k, c, p: (quotient(c["num"], c["den"], scale_of(k, 100)) if k.numerator
                         else quotient(c["n"], 1, scale_of(k)))),
    Kind.RATIO_OF_RATES: Recipe(_ratio_parts, _per_population),
    Kind.PER_1000: Recipe(_count_parts,
                          lambda k, c, p: quotient(c["n"], _population(
                              p, required(k.population, f"KPI '{k.id}': population")),
                              scale_of(k, 1000))),
    Kind.WEIGHTED_SCORE: Recipe(_weighted_parts,
                                lambda k, c, p: quotient(c["n"], 1, scale_of(k))),
}


def _weight_column(kpi: KpiDef) -> str:
    return f"__weight_{kpi.id}"


def _weights_of(project: Project, kpi: KpiDef) -> pl.DataFrame:
    """The KPI's weights file, its keys written as the key column's values are cast to text."""
    key = required(kpi.weight_key, f"KPI '{kpi.id}': weight_key")
    spec = project.datasets[kpi.source].column(key)
    whole = spec is not None and spec.type == ColumnType.INT
    return _read_weights(project.resolve(required(kpi.weights, f"KPI '{kpi.id}': weights")),
                         (key, kpi.source) if whole else None)


@read_by_content
def _read_weights(path: Path, whole: tuple[str, str] | None = None) -> pl.DataFrame:
    """Keys as extracts' text is stored (`kpi.text.normalised_text`, trimmed), matched by
    their identity (`kpi.text.identity_key`, the one rule of two spellings of one value): a
    key is the value it names whatever its case, spacing, invisible characters or a code's
    leading zeros, so 'Theft' weighs the rows of 'theft' and '8' those of '008' (they read as
    a weight of 0), and 'THEFT' beside 'theft', or '8' beside '008', is one key written twice.
    With `whole` (an int key column and its dataset), keys read as whole numbers, so "01" and
    "1.0" are the rows of 1, never a weight of 0."""
    from kpi.text import normalised_text, reference_table

    frame = reference_table(path, "weights file",
                            "write it as CSV, comma separated, with a heading row such as "
                            "'offence,weight'")
    if frame.width < 2:
        raise ConfigError(f"{path}: a weights file needs two columns, key and weight")
    if frame.width > 2:
        # The weight is the second column: 'offence,weight_2023,weight_2024' scored 2025's
        # crimes by 2023's weights (2,335 where 2024's give 2,625), and 'offence,year,weight'
        # weighed every crime 2024, exit 0, another column set aside without a word.
        others = ", ".join(f"'{c}'" for c in frame.columns[2:])
        raise ConfigError(f"{path}: a weights file has two columns, the key and the weight "
                          f"('{frame.columns[0]}', '{frame.columns[1]}'); it also holds "
                          f"{others}, which would be set aside",
                          hint="keep the key and the one weight to score by in the file (a "
                               "file of each year's weights, if they change), and nothing "
                               "else")
    key, weight = frame.columns[:2]
    # A file saved without its heading row: its first key and weight were taken as the
    # columns' names, and that key's rows weighed 0 (a harm score of 8,768.4 where its rows
    # give 20,768.4), exit 0. A heading that is a number is a weight.
    if re.fullmatch(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*", weight):
        raise ConfigError(f"{path}, row 1: the first row ('{key}', '{weight}') reads as a key "
                          "and its weight, not the columns' names",
                          hint="add a heading row such as 'offence,weight' above the weights")

    text = normalised_text(pl.col(key)).str.strip_chars()
    number = text.cast(pl.Float64, strict=False)
    keyed = (pl.when(number.is_finite() & (number == number.round()))
             .then(number.cast(pl.Int64, strict=False).cast(pl.String))) if whole \
        else identity_key(text)
    typed = frame.select(keyed.alias("key"),
                         pl.col(weight).str.strip_chars().cast(pl.Float64, strict=False)
                         .alias("weight"), text.alias("text"))
    if whole:
        odd = typed.with_row_index("row", offset=2).filter(
            pl.col("key").is_null() & pl.col("text").is_not_null() & (pl.col("text") != ""))
        if odd.height:
            raise ConfigError(f"{path}, row {odd['row'][0]}, column '{key}': expected a whole "
                              f"number, as column '{whole[0]}' of dataset '{whole[1]}' holds")
    # 'inf', 'nan' and 1e400 read as floats: the score would be no number, blamed on the data;
    # a negative weight would lower the score with every row of its key.
    bound = BOUNDS["weights file: weight"]
    bad = typed.with_columns(found=frame.get_column(weight)).with_row_index(
        "row", offset=2).filter(bound.outside(pl.col("weight")))
    if bad.height:
        raise ConfigError(f"{path}, row {bad['row'][0]}, column '{weight}': expected a weight "
                          f"that is {bound.text()}, found '{bad['found'][0] or ''}'",
                          hint=(f"{bound.why}; " if (bad["weight"][0] or 0) < 0 else "")
                          + BOUNDS_HINT)
    # Two weights for one key have no meaning, and joined they would count its rows twice.
    numbered = typed.with_row_index("row", offset=2)
    # A blank key's weight matched no row: a blank cell is stored as no value, which no key
    # joins to ('Burglary,10' and ',5' scored 120 where the file's weights give 180, exit 0).
    blank = numbered.filter(pl.col("text").is_null() | (pl.col("text") == ""))
    if blank.height:
        raise ConfigError(f"{path}, row {blank['row'][0]}, column '{key}': a blank key, whose "
                          "weight would weigh no row (a blank cell of the data is stored as "
                          "no value, which no key matches)",
                          hint="remove the row: the rows with no value weigh 0, as a key "
                               "missing from the file does; to weigh them, give them a value "
                               "in the extract")
    again = numbered.filter(pl.col("key").is_not_null() & ~pl.col("key").is_first_distinct())
    if again.height:
        first = numbered.filter(pl.col("key") == again["key"][0]).row(0, named=True)
        # A whole-number key is named as read ('01' is '1'); a text key as written.
        shown = "" if whole or first["text"] == again["text"][0] else \
            f" (as '{first['text']}', row {first['row']}: two keys that {SPELLINGS} are one)"
        named = again["key"][0] if whole else again["text"][0]
        raise ConfigError(f"{path}, row {again['row'][0]}, column '{key}': found "
                          f"'{named}' again{shown}",
                          hint="give each key one weight")
    weights = typed.drop("text").filter(pl.col("key").is_not_null())
    if not weights.filter(pl.col("key") != "").height:
        # Every row would join to no weight and the score would read 0, a figure of nothing.
        raise ConfigError(f"{path}: the weights file has no rows with a key (only a header)",
                          hint="one row per key: key,weight")
    return weights


def _in_window(window: Window) -> pl.Expr:
    return pl.col("month").is_between(pl.lit(str(window.start)), pl.lit(str(window.end)))


def rows_of(kpi: KpiDef, window: Window | None = None) -> pl.Expr:
    """The rows a KPI counts, as a true/false column: its filter (a blank is false), within
    one window or over the whole frame."""
    # Every row, as a column: a literal True would aggregate to one per group, not one per row.
    every = pl.col("month").is_not_null()
    rows = _sql(kpi.filter, kpi).fill_null(False) if kpi.filter else every
    return rows & _in_window(window) if window is not None else rows


def components_of(kpi: KpiDef, frame: pl.LazyFrame, window: Window | None = None,
                  rows: pl.Expr | None = None) -> dict[str, pl.Expr]:
    """The aggregation expressions of a KPI over `frame`, over one window (or over the whole
    frame), or over `rows` when the caller has already built that mask. A sum of fractions is
    the exact sum the summary takes (`_totals`), so that a part's figure is the same bits
    whatever order its rows are read in."""
    rows = rows if rows is not None else rows_of(kpi, window)
    recipe = RECIPES[kpi.kind]
    summands = summands_of(kpi, rows)
    summed = {e.meta.output_name(): e for e in _totals(frame, summands, None)}
    if recipe.additive:
        return summed
    return {**_order_parts(kpi, rows, whole_value(kpi, frame)), **summed}


def component_names(kpi: KpiDef) -> list[str]:
    """The names of a KPI's components, as `components_of` and the monthly parts key them."""
    names = list(RECIPES[kpi.kind].components(kpi, rows_of(kpi)))
    return names + [NONFINITE] if kpi.value is not None else names


def summands_of(kpi: KpiDef, rows: pl.Expr) -> dict[str, pl.Expr]:
    """The KPI's components that are sums, each as its quantity per row (null or false off
    `rows`): all of an additive kind's, and of a median's or percentile's, the count of rows
    whose value is not a finite number. A sum over rows that share every column an
    expression reads is its quantity times their number, which is how `_cube` reads it."""
    recipe = RECIPES[kpi.kind]
    parts = recipe.components(kpi, rows) if recipe.additive else {}
    if kpi.value is not None:
        # Rows whose value is NaN or infinite (a division by zero): the KPI has no figure then.
        parts[NONFINITE] = rows & ~_value(kpi).cast(pl.Float64).is_finite()
    return parts


NONFINITE = "nonfinite"


def value_of(kpi: KpiDef, parts: dict[str, float | None], project: Project) -> float | None:
    """The KPI's value from its components; None when there is none, and when any row's value
    or the result is NaN or infinite: such a figure is no data, never a trend."""
    if parts.get(NONFINITE):
        return None
    value = RECIPES[kpi.kind].value(kpi, parts, project)  # the multiplier applied with it
    if value is None:
        return None
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
            if raw is not None and not math.isfinite(raw):
                return (f"the value for {window.label} is not a number (NaN or infinite, e.g. a "
                        "division by zero)")
    return "a value cannot be computed (zero base or no rows)"


def rows_read(project: Project, dataset_id: str, as_of: AsOf | None = None) -> pl.LazyFrame:
    """The dataset's rows as every figure reads them (`catalogue.derive`, its derived columns
    added): where it declares `as_at = "last"`, the rows of each month's last date of each
    part of every column telling its parts apart (`telling_apart`), not only its
    `replace_by` columns, so a force of a `[peers.*]` group rolled on Thursdays keeps its
    roll in a month whose last roll is another force's Friday."""
    spec = project.datasets[dataset_id]
    return derive(store.scan(project, dataset_id, as_of), spec, telling_apart(project, spec))


def prepare(project: Project, dataset_id: str, kpis: Iterable[KpiDef],
            as_of: AsOf | None = None) -> pl.LazyFrame:
    """The dataset's lazy scan, with the weight columns weighted-score KPIs need joined on."""
    kpis = list(kpis)
    frame = rows_read(project, dataset_id, as_of)
    refuse_repeated_rolls(project, dataset_id, frame, kpis, None, as_of)
    refuse_read_spellings(project, dataset_id, frame, kpis, None, as_of)
    return _with_weights(project, frame, kpis)


# The (table state, months) whose rolls `refuse_repeated_rolls` found once each: a
# process asks again for every command's reads of the same table.
_ROLLS_CHECKED: set[tuple] = set()


def refuse_repeated_rolls(project: Project, dataset_id: str, scan: pl.LazyFrame,
                          kpis: Iterable[KpiDef], months: Sequence[str] | None,
                          as_of: AsOf | None) -> None:
    """Refuse the figures of a snapshot (as at one month: every row of its month counted)
    where a month it reads holds a roll taken at two or more dates, each entity listed at
    each, so it would count each several times (a headcount of 40 where 10 are in post).

    What the rows prove, in `months` (every month where None): the month's rows fall on two
    or more days of the date column; no day holds two rows of the same labels (the text and
    true/false columns), so each row is one entity, a person by an id or a part of a table;
    and one entity is listed on two of those days. Rows of events repeat their labels on a
    day (the sample's incidents) and are read as they are; so are the rows of a dataset
    declaring `as_at` (its "last" roll only, or "month", every row), and a date column of
    months, whose rows of a month all carry the month (docs/catalogue.md, "A roll taken more
    than once a month")."""
    spec = project.datasets[dataset_id]
    if spec.as_at == "last":
        refuse_thin_last_rolls(project, dataset_id, months, as_of)
        return
    snapshots = [k for k in kpis if k.is_snapshot]
    date = spec.column(spec.date)
    if (spec.as_at is not None or not snapshots or spec.date_parts is not None or date is None
            or date.type not in (ColumnType.DATE, ColumnType.DATETIME)):
        return
    state = _held_key(project, dataset_id, as_of)
    key = (state, tuple(months) if months is not None else None)
    if state is not None and key in _ROLLS_CHECKED:
        return
    listed, repeated, labels = _rolls_proven(spec, scan, months)
    day = _DAY
    repeated = repeated.head(1)
    if repeated.height:
        found = repeated.row(0, named=True)
        days = [str(d) for d in found[day]]
        held = (listed.filter(pl.col("month") == found["month"]).get_column(day)
                .unique().sort())
        shown = ", ".join(str(d) for d in held.head(4)) + (", ..." if held.len() > 4 else "")
        named = [f"{c} {_label(found[c])}" for c in labels[:LABELS_NAMED]]
        more = len(labels) - LABELS_NAMED
        listing = (f"each listing {', '.join(named)}{f' (and {more} more)' if more > 0 else ''}"
                   " once" if labels else "one row at each, and no text or true/false column "
                   "to tell rows apart")
        # Where `as_at = "last"` would be refused too (a later roll of other people), the
        # hint says what tells the rolls apart instead of promising a last roll.
        parts = telling_apart(project, spec)
        thin = _thin_last_rolls(spec, parts, _last_rolls(spec, scan, parts, months))
        raise DataError(
            f"dataset '{dataset_id}', {found['month']}, column '{spec.date}': the month holds "
            f"a roll at each of {held.len()} dates ({shown}), {listing}, so snapshot "
            f"'{snapshots[0].id}' would count it {len(days)} times",
            hint=(f'as_at = "last" would not do ({thin[0][0]}: {thin[0][1]}): {THIN_HINT}'
                  if thin else AS_AT_HINT)
            .replace("the dataset's table", f"[datasets.{dataset_id}]"))
    if state is not None:
        if len(_ROLLS_CHECKED) > 256:
            _ROLLS_CHECKED.clear()
        _ROLLS_CHECKED.add(key)


# What tells rolls of different people apart where a month's last date lists under half
# the rows of an earlier one (`refuse_thin_last_rolls`).
THIN_HINT = ("name a column telling the rolls apart (role, force) in replace_by of the "
             "dataset's table, so each roll's own last date is read, or load each roll as a "
             "dataset of its own")


def _last_rolls(spec: DatasetSpec, scan: pl.LazyFrame, parts: Sequence[str],
                months: Sequence[str] | None) -> pl.DataFrame:
    """Each month's (of `months`, every month where None) last date of each part of `parts`,
    as `as_at = "last"` reads it (`catalogue.derive`), from every row of `scan`: by month
    and part, `dates` (the days holding rows), `last` and its `rows`, whether the part is
    `gone` from a later roll it shares (`catalogue.shared_last`: none of its rows read), and
    the earlier day holding the most rows, `before` and its `before_rows` (null where there
    is none)."""
    rows = scan if months is None else scan.filter(pl.col("month").is_in(list(months)))
    keys = ["month", *parts]
    rolled = [c for c in parts if c in spec.replace_by]
    days = (rows.group_by(*keys, snapshot_day(spec).alias(_DAY)).agg(pl.len().alias("__n"))
            .with_columns(pl.col(_DAY).max().over(keys).alias("last"),
                          pl.col(_DAY).n_unique().over(keys).alias("dates"))
            .with_columns((pl.col("last").max().over("month", *rolled, _DAY) > pl.col("last"))
                          .alias("gone"))
            .collect())
    last = days.filter(pl.col(_DAY) == pl.col("last")).select(*keys, "dates", "last",
                                                             pl.col("__n").alias("rows"),
                                                             "gone")
    before = (days.filter(pl.col(_DAY) < pl.col("last"))
              .sort("__n", _DAY, descending=True)
              .group_by(keys, maintain_order=True)
              .agg(pl.col(_DAY).first().alias("before"), pl.col("__n").first()
                   .alias("before_rows")))
    return last.join(before, on=keys, how="left", nulls_equal=True).sort(keys, nulls_last=True)


def _thin(last: pl.DataFrame) -> pl.DataFrame:
    """The rows of `_last_rolls` whose last date holds fewer than half the rows of an
    earlier date of its month and part (`SHRINK_SHARE`)."""
    return last.filter(pl.col("rows") < SHRINK_SHARE * pl.col("before_rows"))


def _thin_last_rolls(spec: DatasetSpec, parts: Sequence[str], last: pl.DataFrame
                     ) -> list[tuple[str, str]]:
    """The months (and parts) of `_last_rolls` whose last date holds fewer than half the rows
    of an earlier date (the share a load may not shrink a month by, `SHRINK_SHARE`), each
    as a refusal says it: ("2024-04", "the month's last date, 2024-04-30, holds 8 rows, under
    half the 20 of 2024-04-26"), a part after its month ("2024-04 (force 'A')"). Rolls of
    different people taken on different days (officers weekly, staff on the month's last
    working day) with no column telling them apart read as one: their last date's rows are
    only the later roll's."""
    said = []
    for row in _thin(last).iter_rows(named=True):
        part = ", ".join(f"{c} {_label(row[c])}" for c in parts)
        said.append((f"{row['month']}{f' ({part})' if part else ''}",
                     f"the month's last date, {row['last']}, holds {row['rows']:,} row"
                     f"{'' if row['rows'] == 1 else 's'}, under half the "
                     f"{row['before_rows']:,} of {row['before']}"))
    return said


# What tells parts rolled on their own from parts of one roll (`_gone_untold`).
GONE_HINT = ("where each part is rolled on its own days (a force of a national extract), name "
             "its column in replace_by of the dataset's table, so each part's own last date "
             "is read; or load the part's rolls as a dataset of their own")

# What a part missing from a later roll it shares, its rows not found on it, may need
# (`_gone_untold`), before GONE_HINT.
MISSING_HINT = "if the file of the month's last roll is missing the part, load it again whole; "


def untold_hint(spec: DatasetSpec, missing: bool = True) -> str:
    """The hint of a month refused for a part missing from a later roll it shares, one text
    for the refusal (`refuse_thin_last_rolls`) and `kpi datasets`' note of it: where its rows
    are not found on that roll (`missing`), that the file may lack the part, and that people
    known by an id that is no text (a number) are found by it only where `unique` declares it
    with the date; then where each part is rolled on its own days (GONE_HINT)."""
    found = (f"where people are known by an id of numbers, declare it with the date, "
             f"unique = [\"<id>\", \"{spec.date}\"], so they are found on the later roll by "
             "it; ")
    return ((MISSING_HINT + found if missing else "")
            + GONE_HINT.replace("the dataset's table", f"[datasets.{spec.id}]"))


def _gone_untold(spec: DatasetSpec, parts: Sequence[str], every: pl.LazyFrame,
                 months: Sequence[str] | None) -> list[tuple[str, str, str, bool]]:
    """The parts of `parts` read as gone from a month's last roll (`catalogue.shared_last`:
    their last date is a roll of other parts whose last date is later) whose rows do not prove
    them gone from that shared roll, each with its month and as a refusal says it ("2025-09 (lpa
    'C')", "its last date, 2025-09-19, ...", and whether it is only its rows not found on the
    later roll that leave it unproven). Proven: the part held rows on two or more dates and on
    every date up to its last on which those later parts held rows, so it was on their roll each
    week; and each of its rows of its last date is listed again on the later roll, in another
    part (`_moved`), so that roll holds its people and the part is empty on it. Otherwise it may
    be rolled on its own days that fall on theirs (fortnightly beside weekly, or once a month),
    or the later roll may be missing it (a national extract whose last file of the month lacks
    one force: read as gone, a force of 3 officers read 0, a headcount of 6 where 9 are in post,
    exit 0), and reading it as gone would drop its people, reading it at its own last date would
    count people gone: kpi does not guess."""
    keys = ["month", *parts]
    rolled = ["month", *(c for c in parts if c in spec.replace_by)]
    rows = every if months is None else every.filter(pl.col("month").is_in(list(months)))
    days = (rows.select(*keys, snapshot_day(spec).alias(_DAY)).unique()
            .with_columns(pl.col(_DAY).max().over(keys).alias("__last"))
            .with_columns(pl.col("__last").max().over(*rolled, _DAY).alias("__later"))
            .collect())
    if not days.filter(pl.col("__later") > pl.col("__last")).height:
        return []
    ids = days.select(keys).unique(maintain_order=True).with_row_index("__part")
    days = days.join(ids, on=keys, nulls_equal=True)
    gone = days.filter((pl.col(_DAY) == pl.col("__last"))
                       & (pl.col("__later") > pl.col("__last")))
    later = (days.filter(pl.col("__last") > pl.col(_DAY))
             .select(*rolled, pl.col(_DAY).alias("__shared"), pl.col("__part").alias("__q")))
    # each date up to the part's last on which a part sharing its last and ending later
    # held rows, and the first of them the part holds none on
    theirs = (gone.select(*rolled, "__part", "__last")
              .join(later, left_on=[*rolled, "__last"], right_on=[*rolled, "__shared"],
                    nulls_equal=True)
              .join(days.select(*rolled, pl.col("__part").alias("__q"), _DAY),
                    on=[*rolled, "__q"], nulls_equal=True)
              .filter(pl.col(_DAY) <= pl.col("__last")).select("__part", _DAY).unique())
    missed = (theirs.join(days.select("__part", _DAY), on=["__part", _DAY], how="anti")
              .group_by("__part").agg(pl.col(_DAY).min().alias("__missed")))
    dates = days.group_by("__part").agg(pl.col(_DAY).n_unique().alias("__dates"))
    stayed = _moved(spec, parts, rows, gone)
    found = (gone.join(missed, on="__part", how="left").join(dates, on="__part")
             .join(stayed, on="__part", how="left")
             .filter(pl.col("__missed").is_not_null() | (pl.col("__dates") < 2)
                     | pl.col("__left").is_not_null())
             .sort(keys, nulls_last=True))
    said = []
    for row in found.iter_rows(named=True):
        part = ", ".join(f"{c} {_label(row[c])}" for c in parts)
        why = (f"it holds none on their roll of {row['__missed']}" if row["__missed"]
               is not None else "it holds rows on that date only" if row["__dates"] < 2
               else _not_found(parts, row))
        said.append((row["month"], f"{row['month']} ({part})",
                     f"its last date, {row['__last']}, is a roll of other parts whose last "
                     f"is {row['__later']}, and {why}", row["__left"] is not None
                     and row["__missed"] is None and row["__dates"] >= 2))
    return said


def _moved(spec: DatasetSpec, parts: Sequence[str], rows: pl.LazyFrame, gone: pl.DataFrame
           ) -> pl.DataFrame:
    """Of the parts `_gone_untold` finds missing from a later roll they share (`gone`: by
    month and part, `__part`, its `__last` date and the roll's `__later` one), those not
    proven emptied on it: by `__part`, its `__rows` of its last date and how many of them
    (`__left`) are not listed on the later roll, with the first such row's `__labels`. A row
    is listed there where an id (`_roll_ids`: a column each of whose values is one row on
    each of the two dates, a person's) puts it on the later roll, or else where the later
    roll holds exactly one row of all its labels (the text and true/false columns other than
    `parts`) and its last date held no other: LPA C's three officers on the roll of the 19th,
    moved to A for the roll of the 26th, found by their person id though their station moved
    with them. A part's people left, or the roll's file missing the part, leave nothing on it
    to tell the two apart; nor do labels that are not one row's each (a role, a force's own
    numbering of its people, the same id under two parts on one date), so such a part is not
    proven."""
    labels = [c for c in _roll_labels(spec) if c not in parts]
    keys = ["month", *parts]
    rolled = ["month", *(c for c in parts if c in spec.replace_by)]
    ids = gone.select(*keys, "__part", pl.col("__last").alias(_DAY), "__later")
    # only the days of the rolls compared, each part's last and the later one it is off
    days = pl.concat([gone.select(*rolled, pl.col(c).alias(_DAY)) for c in ("__last", "__later")]
                     ).unique()
    rows = rows.with_columns(snapshot_day(spec).alias(_DAY)).join(
        days.lazy(), on=[*rolled, _DAY], how="semi", nulls_equal=True)
    named = _roll_ids(spec, parts, labels)
    if not labels and not named:
        listed = rows.select(*keys, _DAY).collect()
        return (listed.join(ids, on=[*keys, _DAY], nulls_equal=True).group_by("__part")
                .agg(pl.len().alias("__rows"), pl.len().alias("__left"),
                     pl.lit(None).alias("__labels")))
    held = rows.select(*dict.fromkeys([*keys, _DAY, *labels, *named])).collect()
    mine = (held.join(ids, on=[*keys, _DAY], nulls_equal=True)
            .with_columns(pl.lit(False).alias("__on")))

    def listed_once(found: pl.DataFrame, by: list[str], on: pl.Expr) -> pl.DataFrame:
        # each row of `found` on the later roll where `on` holds, its rows by `by` counted
        # on both dates (`__n` on its own last date, `__m` on the later one)
        listed = held.group_by(*rolled, _DAY, *by).agg(pl.len().alias("__n"))
        return (found.join(listed, on=[*rolled, _DAY, *by], how="left", nulls_equal=True)
                .join(listed.rename({_DAY: "__later", "__n": "__m"}),
                      on=[*rolled, "__later", *by], how="left", nulls_equal=True)
                .with_columns((pl.col("__on") | on.fill_null(False)).alias("__on"))
                .drop("__n", "__m"))

    for column in named:
        # an id of the two dates: none of its values on two rows of either date
        once = (held.filter(pl.col(column).is_not_null())
                .group_by(*rolled, _DAY, column).agg(pl.len().alias("__k"))
                .group_by(*rolled, _DAY).agg((pl.col("__k").max() == 1).alias("__id")))
        mine = (mine.join(once, on=[*rolled, _DAY], how="left", nulls_equal=True)
                .join(once.rename({_DAY: "__later", "__id": "__id2"}),
                      on=[*rolled, "__later"], how="left", nulls_equal=True))
        mine = listed_once(mine, [column], pl.col("__id") & pl.col("__id2")
                           & pl.col(column).is_not_null() & (pl.col("__m") == 1)
                           ).drop("__id", "__id2")
    if labels:
        mine = listed_once(mine, labels, (pl.col("__n") == 1) & (pl.col("__m") == 1))
    shown = labels or named
    return (mine.sort(*shown, nulls_last=True).group_by("__part")
            .agg(pl.len().alias("__rows"), (~pl.col("__on")).sum().alias("__left"),
                 pl.struct(shown).filter(~pl.col("__on")).first().alias("__labels"))
            .filter(pl.col("__left") > 0))


def _roll_ids(spec: DatasetSpec, parts: Sequence[str], labels: Sequence[str]) -> list[str]:
    """The columns `_moved` may find a part's people on a later roll by, one at a time: its
    `labels` (text and true/false columns other than the parts) and the other columns of a
    `unique` declared with the date column (`unique = ["person", "as_at"]`: a person's id,
    of any type), each read as an id only where its rows show it one on both dates compared.
    A part's column is none (its people's part changes as they move)."""
    declared = ([c for c in spec.unique_columns if c != spec.date and c not in parts]
                if spec.date in spec.unique_columns else [])
    return list(dict.fromkeys([*labels, *declared]))


def _not_found(parts: Sequence[str], row: dict[str, Any]) -> str:
    """How `_gone_untold` says a part's rows of its last date are not on the later roll
    (`_moved`): "3 of its 3 rows there are not found on their roll of 2025-09-26 (person
    'B0' first)"."""
    labels = row["__labels"] or {}
    first = ", ".join(f"{c} {_label(v)}" for c, v in labels.items() if c not in parts)
    named = f" ({first}{' first' if row['__left'] > 1 else ''})" if first else ""
    return (f"{row['__left']:,} of its {row['__rows']:,} row{'' if row['__rows'] == 1 else 's'}"
            f" there {'is' if row['__left'] == 1 else 'are'} not found on their roll of "
            f"{row['__later']}{named}")


def refuse_thin_last_rolls(project: Project, dataset_id: str, months: Sequence[str] | None,
                           as_of: AsOf | None) -> None:
    """Refuse the figures of a dataset declaring `as_at = "last"` where a month it reads (of
    `months`, every month where None) holds on its last date, in a part of the columns
    telling its parts apart, fewer than half the rows of an earlier date of the month: two
    rolls of different people, dated differently and with nothing to tell them apart (20
    officers rolled every Friday, 8 staff on the month's last working day), whose last date
    is only the later roll's. Read as its last date, April 2024 (staff on Tuesday the 30th)
    held 8 people where 28 are in post, a change of +250% to August 2025 (both rolls on the
    29th), exit 0. kpi cannot tell the rolls apart, so it does not guess; people leaving and
    joining between weekly rolls of one population move a few rows, not half."""
    spec = project.datasets[dataset_id]
    state = _held_key(project, dataset_id, as_of)
    key = ("last", state, tuple(months) if months is not None else None)
    if state is not None and key in _ROLLS_CHECKED:
        return
    parts = telling_apart(project, spec)
    every = derive(store.scan(project, dataset_id, as_of), replace(spec, as_at=None), parts)
    untold = _gone_untold(spec, parts, every, months)
    if untold:
        _, where, said, missing = untold[0]
        raise DataError(f"dataset '{dataset_id}', {where}, column '{spec.date}': {said}, so "
                        "as_at = \"last\" cannot tell its people gone from "
                        + ("its rows missing from that roll" if missing
                           else "a roll of its own"),
                        hint=untold_hint(spec, missing))
    thin = _thin_last_rolls(spec, parts, _last_rolls(spec, every, parts, months))
    if thin:
        where, said = thin[0]
        more = f" (and {len(thin) - 1} more month(s) as thin)" if len(thin) > 1 else ""
        raise DataError(f"dataset '{dataset_id}', {where}, column '{spec.date}': {said}, so "
                        f"as_at = \"last\" would read only the later of two rolls{more}",
                        hint=THIN_HINT.replace("the dataset's table",
                                               f"[datasets.{dataset_id}]"))
    if state is not None:
        if len(_ROLLS_CHECKED) > 256:
            _ROLLS_CHECKED.clear()
        _ROLLS_CHECKED.add(key)


def text_read(spec: DatasetSpec, kpis: Iterable[KpiDef]) -> dict[str, TextRead]:
    """Each stored text column the KPIs' filters, values, numerators and denominators read
    the values of (directly or through a derived column; a column read only as `IS [NOT]
    NULL`, a reference counted where present, is not: `expressions.value_roots`): the first
    KPI reading it, each text literal compared with it (`KpiDef.compared`,
    `DerivedColumn.compared`) and each `LIKE` pattern matched with it
    (`expressions.like_patterns`), with the first KPI and key comparing or matching it."""
    derived = {d.name: d for d in spec.derived}
    read: dict[str, TextRead] = {}
    for kpi in kpis:
        for key in ("filter", "value", "numerator", "denominator"):
            text = getattr(kpi, key)
            if not text:
                continue
            compared = [(c, t) for k, c, t in kpi.compared if k == key]
            patterns = list(expressions.like_patterns(text))
            stored, via = through_derived(spec, expressions.value_roots(_sql(text, kpi)),
                                          lambda e: expressions.value_roots(_sql(e)))
            for name in via:
                compared += derived[name].compared
                patterns += expressions.like_patterns(derived[name].expression)
            for name in stored:
                if (column := spec.column(name)) is not None and column.type == ColumnType.STR:
                    read.setdefault(name, TextRead(kpi.id, {}, {}))
            # a derived column whose answer is one column's value (`area = "lpa"`) is that
            # column's stored cells
            for name, literal in compared:
                if (column_name := stored_text_column(spec, name) or name) in read:
                    read[column_name].literals.setdefault(literal, (kpi.id, key))
            for name, pattern, test in patterns:
                if (column_name := stored_text_column(spec, name) or name) in read:
                    read[column_name].patterns.setdefault((name, pattern, test),
                                                          (kpi.id, key))
    return read


class TextRead(NamedTuple):
    """What KPIs read of one stored text column (`text_read`): the first KPI reading it, and
    each literal compared with it and each `LIKE` pattern matched with it (with the name the
    expression gives the column and the test as written where it is no LIKE:
    `expressions.like_patterns`), with the first KPI and key doing so."""

    reader: str
    literals: dict[str, tuple[str, str]]
    patterns: dict[tuple[str, str, str], tuple[str, str]]


# The (table state, months, columns) whose text `refuse_read_spellings` found apart: a
# process asks again for every command's reads of the same table.
_SPELLINGS_CHECKED: set[tuple] = set()


def refuse_read_spellings(project: Project, dataset_id: str, scan: pl.LazyFrame,
                          kpis: Iterable[KpiDef], months: Sequence[str] | None,
                          as_of: AsOf | None) -> None:
    """The identity rule (docs/guarantees.md, "Identity") at a read, for every stored text
    column a KPI's filter, value, numerator or denominator reads, in `months` (every month
    where None), as the board's breakdowns hold it for the column they split by
    (`kpi.ingest.identity.refuse_spellings`): a load checks such a column, but not rows loaded
    before a changed kpi.toml began to read it. Refused: two stored values that differ only in
    case, spacing or leading zeros ('Knife crime' to March, 'Knife Crime' from April:
    `offence = 'Knife crime'` counted 48 then 24, "improving", exit 0); and a text literal
    compared with the column that no stored value is but one is by that rule (`lpa =
    'SANDWELL'` counted 0 of the rows of 'Sandwell', which a peer group's member of that
    spelling finds). One query of the columns' distinct values, once per table state; the
    summary's figures read them in their own query instead (`_plan`)."""
    spec = project.datasets[dataset_id]
    kpis = list(kpis)
    read = text_read(spec, kpis)
    if not read:
        return
    state = _held_key(project, dataset_id, as_of)
    key = (state, tuple(months) if months is not None else None,
           tuple(sorted((c, tuple(sorted(v.literals)), tuple(sorted(v.patterns)))
                        for c, v in read.items())))
    if state is not None and key in _SPELLINGS_CHECKED:
        return
    held = _distinct_by_month(dataset_id, scan, state, list(read), lambda: list(text_read(
        spec, [k for k in project.kpis if k.dataset == dataset_id])))
    values: dict[str, list[str]] = {}
    for column, frame in held.items():
        if months is not None:
            frame = frame.filter(pl.col("month").is_in(list(months)))
        values[column] = frame.get_column(column).explode().drop_nulls().unique().sort().to_list()
    refuse_text(dataset_id, read, values)
    if state is not None:
        if len(_SPELLINGS_CHECKED) > 256:
            _SPELLINGS_CHECKED.clear()
        _SPELLINGS_CHECKED.add(key)


def refuse_text(dataset_id: str, read: Mapping[str, TextRead],
                values: Mapping[str, list[str]]) -> None:
    """`refuse_read_spellings`' refusals, of each text column KPIs read (`text_read`) and its
    distinct stored values in the months read."""
    from kpi.ingest.identity import refuse_spellings  # the loader's package, read only here

    for column, (reader, literals, patterns) in read.items():
        refuse_spellings(dataset_id, column, values[column], "read",
                         f"KPI '{reader}' reads '{column}', and would count them as two values")
        refuse_respelled(dataset_id, column, values[column], literals)
        refuse_case_patterns(dataset_id, column, values[column], patterns)


# The prefix of a text column's distinct values in the totals of a plan's read (`_plan`).
TEXT = "__text\t"

# Each text column's distinct values in each month of a table state (`_distinct_by_month`).
_DISTINCT: dict[tuple, pl.DataFrame] = {}


def _distinct_by_month(dataset_id: str, scan: pl.LazyFrame, state: tuple | None,
                       columns: list[str], every: Callable[[], list[str]]
                       ) -> dict[str, pl.DataFrame]:
    """Each of `columns`: the table's months, each with the column's distinct values in it (a
    list), read once per table state and column. A summary reads a dataset's months in
    several sets (each KPI's windows), and a set holds two spellings exactly when the values
    of its months taken together do; so the columns every KPI of the dataset reads (`every`)
    are read in the one query, when one is needed."""
    wanted = [c for c in columns if state is None or (state, c) not in _DISTINCT]
    got: dict[str, pl.DataFrame] = {}
    if wanted and state is not None:
        wanted += [c for c in every() if c not in wanted and (state, c) not in _DISTINCT]
    if wanted:
        try:
            read = (scan.group_by("month").agg(pl.col(c).drop_nulls().unique() for c in wanted)
                    .collect(engine="streaming"))
        except pl.exceptions.PolarsError as exc:
            raise _compute_error(dataset_id, exc) from None
        got = {c: read.select("month", c) for c in wanted}
        if state is not None:
            if len(_DISTINCT) > 256:
                _DISTINCT.clear()
            _DISTINCT.update(((state, c), frame) for c, frame in got.items())
    return {c: got[c] if c in got else _DISTINCT[(state, c)] for c in columns}


def refuse_respelled(dataset_id: str, column: str, values: Sequence[str],
                     literals: Mapping[str, tuple[str, str]]) -> None:
    """Refuse a text literal compared with a stored column (`text_read`) that no stored value
    of it is, but one is by the identity rule (`text.identity_key`): `lpa = 'SANDWELL'`
    against a stored 'Sandwell' counts none of its rows, where a peer group's member,
    a population file's part or --focus of that spelling finds them."""
    absent = [t for t in literals if t not in set(values)]
    if not absent or not values:
        return
    stored = dict(zip(identity_keys(list(values)), values, strict=True))
    for literal, key in zip(absent, identity_keys(absent), strict=True):
        if key in stored:
            kpi_id, where = literals[literal]
            raise DataError(
                f"KPI '{kpi_id}', key '{where}': compares {column} with "
                f"'{visible(literal)}', which no stored {column} is, but "
                f"'{visible(stored[key])}' of dataset '{dataset_id}' is: they "
                f"{SPELLINGS}, and the KPI would count none of its rows",
                hint=f"write '{visible(stored[key])}' in kpi.toml, as the data spells it")


def refuse_case_patterns(dataset_id: str, column: str, values: Sequence[str],
                         patterns: Mapping[tuple[str, str, str], tuple[str, str]]) -> None:
    """Refuse a `LIKE` pattern (`text_read`), or a test of a part of a text that is one
    (`STRPOS(offence, 'burglary') > 0`, `STARTS_WITH`, `LEFT(offence, 8) = 'burglary'`:
    `expressions.like_patterns`), that a stored value of its column matches only in another
    case: `offence LIKE '%burglary%'` matched 'Residential burglary' but not 'Burglary -
    business', and counted half the burglaries, exit 0. kpi reads two values that differ only
    in case as one (the identity rule), so a pattern that tells them apart is read as a slip:
    `ILIKE` matches either case, as `LOWER(s) LIKE LOWER(pattern)`."""
    for (written, pattern, test), (kpi_id, where) in patterns.items():
        exact, folded = expressions.like_regex(pattern), expressions.like_regex(pattern.lower())
        missed = next((v for v in values
                       if folded.fullmatch(v.lower()) and not exact.fullmatch(v)), None)
        if missed is None:
            continue
        matched = next((v for v in values if exact.fullmatch(v)), None)
        also = (f" (it matches '{visible(matched)}' as written)" if matched is not None
                else " (it matches no stored value as written)")
        of = f"{column} " if written != column else ""
        like = f"{written} LIKE '{visible(pattern)}'"
        hint = (f"write {written} ILIKE '{visible(pattern)}' to match either case, or the "
                "pattern as the data spells it" if not test else
                f"test LOWER({written}) against the text in lower case to match either case, "
                "or write the text as the data spells it")
        raise DataError(
            f"KPI '{kpi_id}', key '{where}': {f'{test}, as {like},' if test else like} matches "
            f"{of}'{visible(missed)}' of dataset '{dataset_id}' only in another case{also}; "
            f"{'it tells' if test else 'LIKE tells'} case apart, and the KPI would read its "
            "rows as not matching",
            hint=f"{hint} (REGEXP_LIKE tells case apart where that is meant)")


# The labels a refusal of repeated rolls names, in the order the dataset declares them.
LABELS_NAMED = 5

_DAY = "__day"


def _roll_labels(spec: DatasetSpec) -> list[str]:
    """The columns that tell one entity of a roll from another: its text and true/false."""
    return [c.name for c in spec.columns if c.type in (ColumnType.STR, ColumnType.BOOL)]


def _rolls_proven(spec: DatasetSpec, scan: pl.LazyFrame, months: Sequence[str] | None
                  ) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """What the rows of `months` (every month where None) prove of rolls, in the one place
    the refusal (`refuse_repeated_rolls`) and the listings (`rolls_held`) read it: each
    month's rows by day and labels, counted (`listed`), and in the months where no day lists
    two rows of the same labels, each entity listed on two or more days, with those days
    (`repeated`, by month and labels); and the labels read (`_roll_names`: not those naming
    the roll in every month of two or more days)."""
    labels = _roll_labels(spec)
    rows = scan if months is None else scan.filter(pl.col("month").is_in(list(months)))
    listed = (rows.group_by("month", snapshot_day(spec).alias(_DAY), *labels)
              .agg(pl.len().alias("__n")).collect())
    if labels:
        named = _roll_names(listed, labels)
        if named:
            labels = [c for c in labels if c not in named]
            listed = listed.group_by("month", _DAY, *labels).agg(pl.col("__n").sum())
    events = listed.filter(pl.col("__n") > 1).get_column("month").unique()
    repeated = (listed.filter(~pl.col("month").is_in(events.implode()))
                .group_by("month", *labels).agg(pl.col(_DAY).sort())
                .filter(pl.col(_DAY).list.len() > 1).sort("month", *labels))
    return listed, repeated, labels


def _roll_names(listed: pl.DataFrame, labels: list[str]) -> set[str]:
    """The labels of `_rolls_proven`'s count that tell one roll from another, not one entity
    from another: in every month of two or more days, each of its values falls on one day (a
    column naming each roll, "Officer roll 2025-09-05" beside "Staff roll 2025-09-05"; an
    extract's record key, unique on every row); or each day listing two or more rows holds
    one value of it and a month holds two or more ("Weekly roll 01/03/2025"). Read as an
    entity's label, no person was listed on two days, and four weekly rolls of 10 officers
    counted 40, exit 0; a key the dataset declares `unique` is no exception (it vouches
    that no two rows are alike, not that each row is another entity). Read as none, such a
    label can only prove rolls repeated, never hide them: its values tell no two days' rows
    alike, or no two rows of a day apart. A label any value of which falls on two days of a
    month (an LPA of events) tells entities apart, as a month of one day tells nothing."""
    several = listed.filter(pl.col(_DAY).n_unique().over("month") > 1)
    if not several.height:
        return set()
    big_days = several.filter(pl.col("__n").sum().over("month", _DAY) > 1)
    one_day = several.select((pl.col(_DAY).n_unique().over("month", c).max() == 1).alias(c)
                             for c in labels)
    per_day = big_days.select((pl.col(c).n_unique().over("month", _DAY).max() == 1)
                              .alias(c) for c in labels) if big_days.height else None
    varies = several.select((pl.col(c).n_unique().over("month").max() > 1).alias(c)
                            for c in labels)
    return {c for c in labels if one_day[c].item() or (
        per_day is not None and per_day[c].item() and varies[c].item())}


def rolls_held(project: Project, dataset_id: str,
               as_of: AsOf | None = None) -> list[dict[str, Any]]:
    """The stored months of a dataset holding rolls taken at two or more dates, and how its
    `as_at` reads them, so an analyst learns it before a figure is refused (`kpi datasets`,
    `project.datasets()`, `kpi show`): with `as_at = "last"`, each month whose rows fall on two
    or more days, read as its last date's rows of each part (`read` "last"), or refused where a
    part's last date holds under half the rows of an earlier one (`read` "thin",
    `refuse_thin_last_rolls`) or a part missing from a later roll it shares is not proven gone
    from it (`read` "untold", `_gone_untold`); with no `as_at`, where a snapshot reads the
    dataset, each month its rows prove to hold rolls at several dates, which every figure of the
    snapshot refuses (`read` "refused", `refuse_repeated_rolls`). Each {"month", "dates" (how
    many days), "last" (the last day, ISO), "read", "read_days" (the days read, ISO: each part's
    last, one where its parts end on one day; none where refused)}, by month; none for any other
    dataset (`as_at = "month"`, rows dated by a month, no snapshot)."""
    spec = project.datasets[dataset_id]
    date = spec.column(spec.date)
    if (spec.as_at == "month" or spec.date_parts is not None or date is None
            or date.type not in (ColumnType.DATE, ColumnType.DATETIME)):
        return []
    if spec.as_at is None and not any(k.is_snapshot and k.dataset == dataset_id
                                      for k in project.kpis):
        return []
    scan = store.scan(project, dataset_id, as_of)
    read_days: dict[str, list[str]] = {}
    thin: set[str] = set()
    untold: set[str] = set()
    if spec.as_at is None:
        # The months the refusal reads as rolls, their days from its own count of the rows
        # (one scan of the table, not one for the proof and one for the days).
        listed, repeated, _ = _rolls_proven(spec, scan, None)
        rows = listed.lazy().filter(pl.col("month").is_in(repeated.get_column("month")
                                                          .implode()))
        day = pl.col(_DAY)
    else:
        # Each part's last date, as the figures read it (`catalogue.derive`).
        parts = telling_apart(project, spec)
        rows = derive(scan, replace(spec, as_at=None), parts)
        day = snapshot_day(spec)
        last = _last_rolls(spec, rows, parts, None)
        thin = set(_thin(last).get_column("month"))
        untold = {month for month, *_ in _gone_untold(spec, parts, rows, None)}
        for month, days in (last.filter(~pl.col("gone")).group_by("month")
                            .agg(pl.col("last").unique().sort()).iter_rows()):
            read_days[month] = [d.isoformat() for d in days]
    held = (rows.group_by("month").agg(day.n_unique().alias("dates"), day.max().alias("last"))
            .filter(pl.col("dates") > 1).sort("month").collect())
    read = "last" if spec.as_at == "last" else "refused"
    said = [("untold" if row["month"] in untold else "thin" if row["month"] in thin else read,
             row) for row in held.iter_rows(named=True)]
    return [{"month": row["month"], "dates": row["dates"], "last": row["last"].isoformat(),
             "read": how, "read_days": read_days[row["month"]] if how == "last" else []}
            for how, row in said]


def _label(value: Any) -> str:
    """A label's value as kpi.toml writes it: 'text', true or false, blank."""
    if value is None:
        return "blank"
    if isinstance(value, bool):
        return str(value).lower()
    return f"'{visible(str(value))}'"


def _with_weights(project: Project, frame: pl.LazyFrame, kpis: Iterable[KpiDef]) -> pl.LazyFrame:
    for kpi in kpis:
        if kpi.kind == Kind.WEIGHTED_SCORE:
            weights = _weights_of(project, kpi)
            # A left join on the key, as text so numeric offence codes match: the streaming
            # engine joins a small table to the scan batch by batch. A per-row lookup
            # (`replace_strict`) cannot stream, so it held every column of the scan in memory
            # (docs/performance.md). Keys are unique (see _read_weights), so no row is doubled.
            # Each stored spelling is keyed by its identity (`text.identity_key`) once, among
            # the column's distinct values, not row by row: the identity's normal form and
            # patterns cost 0.75 s per 800,000 rows, its lower case 0.02.
            key = required(kpi.weight_key, f"KPI '{kpi.id}': weight_key")
            text, spelt = pl.col(key).cast(pl.String), f"__key_{kpi.id}"
            lookup = (frame.select(text.alias(spelt)).unique()
                      .with_columns(identity_key(pl.col(spelt)).alias("key"))
                      .join(weights.lazy(), on="key", how="inner")
                      .select(spelt, pl.col("weight").alias(_weight_column(kpi))))
            frame = (frame.with_columns(text.alias(spelt))
                     .join(lookup, on=spelt, how="left", maintain_order="left")
                     .drop(spelt)
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


class Plan(NamedTuple):
    """A KPI's windows for a period: current and comparison (None where there is none), why
    one is missing, and, when the current window ends before the month the period asks of the
    KPI, why it is stale."""

    current: Window | None
    comparison: Window | None
    note: str | None
    stale: str | None = None
    # The comparison window the period asks for, kept where `comparison` is left out (a month
    # no part holds, a quarter cut): the parts holding rows in it are still held to the
    # current window (`whole_parts`), whether or not the comparison is whole.
    asked: Window | None = None
    # `stale` because the month asked is missing while later months are held (a gap), not
    # because the source is late: the paper says which (`KpiResult.gap`).
    gap: bool = False


# How the command line lists what each dataset holds (a hint's words; `project.datasets()`
# from Python).
DATASETS_COMMAND = "'kpi datasets'"


def row_step(project: Project, datasets: Iterable[str]) -> int:
    """The months one row of a KPI's data stands for: 3 where any of its datasets is
    quarterly, else 1."""
    return max((project.datasets[d].months_per_row for d in datasets
                if d in project.datasets), default=1)


def target_month(project: Project, kpi: KpiDef, period: Month,
                 datasets: Iterable[str]) -> Month:
    """The month a KPI's current window should end at for a period: the period less the KPI's
    lag, and for quarterly data the end of the last whole quarter on or before it (a window
    never cuts a quarter, so May asks for the quarter ending March, as June asks for June's).
    A source published for whole years or quarters (`published`) asks for the last month a
    publication runs to on or before that: one published for the year to March, 18 months
    after it ends, is not late in the months before the next one is due. Of several sources,
    the earliest."""
    target = period - kpi.lag
    datasets = list(datasets)
    specs = [project.datasets[d] for d in datasets if d in project.datasets]
    step = row_step(project, datasets)
    if step == 3:
        target = target - (target.month % step)
    ends = [spec.publication_ends for spec in specs]
    return min((target - min((target.month - end) % 12 for end in months) for months in ends),
               default=target)


def _plan_windows(project: Project, kpi: KpiDef, period: Month, vs: Comparison,
                  available: set[Month], datasets: Iterable[str] = ()) -> Plan:
    """The current and comparison windows of a KPI for a period, given the months its data
    covers. The current window ends at the latest covered month on or before the period less
    the KPI's lag (`target_month`); a window ending earlier is stale."""
    datasets = list(datasets)
    target = target_month(project, kpi, period, datasets)
    covered = [m for m in available if m <= target]
    if not covered:
        return Plan(None, None, f"no data on or before {target}")
    end = max(covered)
    stale = gap = None
    # How far the data reaches: every month held, those after the period too. A month held
    # after the one asked for means that one is missing, not that the source is late: "its
    # data ends 2025-03" was said of quarterly data holding July to September 2025, and "its
    # data ends 2025-02" of monthly data holding every month to 2025-09 but 2025-03. Either
    # way the window ends before the month asked, so its figures are not the period's: the
    # KPI is stale (the Period invariant, `judged`), its note saying why.
    reached = max(available)
    asked = f"the period {period}" + (f" less its lag of {kpi.lag}" if kpi.lag else "")
    early = getattr(available, "early", {})
    if reached < target and target in early:
        stale = (f"stale: it holds {target} only in part ({early[target].reason()}): its data "
                 f"ends {reached}, and {asked} asks for a window ending {target}")
    elif reached < target:
        stale = f"stale: its data ends {reached}, and {asked} asks for a window ending {target}"
    elif end < target:
        lost = [str(Month(i)) for i in range((end + 1).index, target.index + 1)]
        stale = gap = (f"no data for {first_months(lost)}, which {asked} asks for, though "
                       f"later months are held: the window ends {end}")
    current = current_window(end, snapshot=kpi.is_snapshot, vs=vs)
    if lost := incomplete(current, available):
        return Plan(None, None, lost, stale, gap=gap is not None)
    base = baseline_window(project, kpi, current)
    # `--vs previous` of quarterly data is the window a quarter earlier, not a month: the
    # month before would cut a quarter and leave no comparison whatever the period.
    compare = comparison_window(current, vs, base, row_step(project, datasets))
    if compare.end > current.end:
        # A baseline after the current window: the change from it to the current figure
        # would run backwards in time ("+15 (+0.2%) improving" from April 2024's 8,102 to
        # January 2024's 8,117, where the headcount fell from one to the other).
        return Plan(current, None, f"comparison {compare.label} ends after the current "
                                   f"{current.label}: a change from it would run backwards "
                                   "in time", stale, gap=gap is not None)
    if lost := incomplete(compare, available):
        return Plan(current, None, f"comparison {lost}", stale, compare, gap is not None)
    return Plan(current, compare, None, stale, compare, gap is not None)


def incomplete(window: Window, available: set[Month]) -> str | None:
    """Why a window the data does not hold every month of is incomplete, or None: "year
    ending September 2025 is incomplete: no data for 2024-10", or, for a month held only in
    part (`Held`), "... it holds 2024-10 only in part (its rows start on 11 October 2024,
    ...)"."""
    missing = [m for m in window.months() if m not in available]
    if not missing:
        return None
    early = getattr(available, "early", {})
    partly = [m for m in missing if m in early]
    said = (IN_PART.format(month=partly[0]) + f" ({early[partly[0]].reason()})" if partly
            else f"no data for {first_months(missing)}")
    return f"{window.label} is incomplete: {said}"


# How a note says a window needs a month held only in part (`incomplete`), read back by
# `in_part_remedy` for the hint of a period refused for it.
IN_PART = "it holds {month} only in part"


def in_part_remedy(project: Project, kpi: KpiDef, note: str | None,
                   as_of: AsOf | None = None) -> str | None:
    """What makes whole the month a KPI's note says its data holds only in part ("load the
    whole of 2024-10 (a query bounded by whole months, ...)"), or None: the hint of a period
    no KPI has data for, where the reason is such a month (`checks.no_data_for`)."""
    import re

    found = re.search(IN_PART.format(month=r"(\d{4}-\d{2})"), note or "")
    if found is None:
        return None
    month = Month.parse(found.group(1))
    for measure in measures_of(project, kpi):
        if measure.dataset in project.datasets and store.exists(project, measure.dataset):
            if (why := held_in_part(project, measure.dataset, as_of).get(month)) is not None:
                return why.remedy(month)
    return None


def given_windows(current: Window | None, comparison: Window | None,
                  available: set[Month]) -> Plan:
    """The plan of windows given, not chosen for a period (`evaluate`'s `given`): each
    window kept where the data holds every month of it, else left out as incomplete. A paper's
    figure recomputed for its own window is a revision only where the rows of that window
    changed: choosing the windows for the last paper's period again would move a window the
    data then stopped short of (a stale KPI, a gap) to the month loaded since, and read the
    figure printed as revised to "no figure"."""
    note = None
    if current is not None and (note := incomplete(current, available)):
        current = None
    asked = comparison
    if comparison is not None and (gap := incomplete(comparison, available)):
        comparison, note = None, note or f"comparison {gap}"
    return Plan(current, comparison, note, None, asked)


def judged(kpi: KpiDef, change: Change | None, current: Window | None,
           stale: str | None) -> tuple[str, str | None]:
    """The status of a KPI, or of one part of it (`kpi compare`), and the note a stale one
    carries: the Period invariant's one rule. Figures over a window ending before the period
    asks (`Plan.stale`) are right for the window they name but not for the period, so the
    status is `stale` whatever the change, and the note keeps what the trend was."""
    status = status_of(kpi, change) if change is not None else Outcome.NO_DATA
    if not stale or current is None:
        return status, None
    return Outcome.STALE, f"{stale}; {status.replace('_', ' ')} over {current.label}"


def require_reached(project: Project, period: Month, as_of: AsOf | None = None) -> None:
    """A period past every dataset's data is refused, naming the latest month held: figures
    of an earlier window under the period's heading would be a wrong answer with exit 0.

    Judged over the whole project, whatever KPIs a command shows: the period is reached when
    some live KPI's data holds the month the period asks of it (`target_month`), so one KPI
    whose source runs late is `stale` rather than refused. A dataset that holds later months
    but not the one asked has a gap there, and the refusal says so."""
    live = [k for k in project.kpis if k.status == Status.LIVE and not k.is_derived
            and k.dataset in project.datasets]
    available = _available(project, {k.source for k in live}, as_of, {})
    months = {d: m for d, m in available.items() if not isinstance(m, str) and m}
    held = {d: max(m) for d, m in months.items()}
    if not held or any(target_month(project, k, period, [k.source]) in months[k.source]
                       for k in live if k.dataset in held):
        return
    # A dataset that holds months after the one asked but not that month has a gap there:
    # said as `kpi datasets` lists it ("missing months"), not as data that stops short.
    gaps = sorted((target_month(project, k, period, [k.source]), k.source) for k in live
                  if k.dataset in held and held[k.source] > target_month(
                      project, k, period, [k.source]))
    early = {d: m.early for d, m in months.items() if isinstance(m, Held) and m.early}
    if gaps:
        month, dataset = gaps[0]
        spec = project.datasets[dataset]
        if month in early.get(dataset, {}):
            # held in part, not missing: said as `kpi datasets` says it ("held in part"), with
            # its remedy ("holds no rows for 2025-10 ... load the extract" of a month held from
            # its 11th)
            why = early[dataset][month]
            raise DataError(f"no data for {month} in full: dataset '{dataset}' holds {month} "
                            f"only in part ({why.reason()})",
                            hint=f"{why.remedy(month)}, or choose another {option('--period')}")
        # a quarterly dataset's rows stand for quarters: "holds no rows for 2025-06" read as
        # if it were stored by month
        missing = str(month) if spec.months_per_row == 1 else (
            f"the quarter {MONTH_NAMES[(month - spec.months_per_row + 1).month - 1]} to "
            f"{month.name}")
        raise DataError(f"no data for {month}: dataset '{dataset}' holds no rows for {missing}, "
                        f"though it holds later months (up to {held[dataset]}): a gap in its "
                        "months",
                        hint=f"load the extract for {missing}, or choose another "
                             f"{option('--period')} "
                             f"({spelled(DATASETS_COMMAND, 'project.datasets()')} lists "
                             "each dataset's missing months)")
    dataset, latest = max(held.items(), key=lambda item: item[1])
    partly = sorted((month, d) for d, found in early.items() for month in found
                    if month > latest)
    if partly:
        month, dataset = partly[0]
        why = early[dataset][month]
        raise DataError(f"no data reaches {period} in full: dataset '{dataset}' holds {month} "
                        f"only in part ({why.reason()}); the latest whole month held is {latest}",
                        hint=f"choose {option('--period', latest)} or earlier, or "
                             f"{why.remedy(month)}")
    raise DataError(f"no data reaches {period}: the latest month held is {latest} "
                    f"(dataset '{dataset}')",
                    hint=f"choose {option('--period', latest)} or earlier, or load the newer "
                         f"extracts first ({spelled(DATASETS_COMMAND, 'project.datasets()')} "
                         "shows what is stored)")


class Told(NamedTuple):
    """A part of a column telling parts of a dataset apart (`telling_apart`) that the dataset
    is not loaded by (a `[peers.*]` group's `force` in a national extract loaded whole by
    month), as `held_parts` keys it beside the `replace_by` parts (tuples of their values)."""
    column: str
    value: str


def telling_apart(project: Project, spec: DatasetSpec) -> list[str]:
    """The columns of a dataset that tell parts of the data apart, as kpi.toml declares them:
    its `replace_by` columns (rows from several sources loaded separately: forces,
    divisions, systems), then the column of each `[peers.*]` group (parts compared with each
    other). A column's label or name is wording, not a declaration, so it is no trigger."""
    peer_columns = [g.column for g in project.peers.values()]
    return [c for c in dict.fromkeys([*spec.replace_by, *peer_columns]) if spec.has_column(c)]


def constant_part(dataset: DatasetSpec, column: str) -> str | None:
    """The one part a derived column can hold when its expression is a literal (the sample's
    `force = "'West Midlands'"`), as the comparison names parts (cast to text); None when the
    column is declared or derived from the data. Read from the catalogue, not the store."""
    derived = next((d for d in dataset.derived if d.name == column), None)
    if derived is None:
        return None
    expression = pl.sql_expr(derived.expression)
    if not expression.meta.is_literal():
        return None
    value = pl.select(expression.cast(pl.String).alias(column)).to_series()
    return value.item() if value.len() == 1 else None


def stored_columns(spec: DatasetSpec, names: Iterable[str]) -> list[str]:
    """The stored columns `names` read, a derived column by the columns it is derived from
    (followed through derived columns), in the order first met."""
    return through_derived(spec, names, lambda e: _sql(e).meta.root_names())[0]


def _sources(spec: DatasetSpec, names: Iterable[str]) -> set[str]:
    """The stored columns `names` read (`stored_columns`), as a set."""
    return set(stored_columns(spec, names))


def derived_read(spec: DatasetSpec, names: Iterable[str]) -> list[str]:
    """The derived columns `names` read, directly or through other derived columns, in the
    order first met: the other side of `_sources`' walk (`catalogue.through_derived`)."""
    return through_derived(spec, names, lambda e: _sql(e).meta.root_names())[1]


def told_columns(project: Project, spec: DatasetSpec, without: Iterable[str] = ()
                 ) -> list[str]:
    """The columns telling a dataset's parts apart that it is not loaded by (`Told`), but
    `without` and those derived as a literal (one part whatever the rows: no scan); none for
    a dataset declared `sparse`, whose part holding no rows in a month had none."""
    if spec.sparse:
        return []
    skip = set(without)
    return [c for c in telling_apart(project, spec) if c not in spec.replace_by
            and c not in skip and constant_part(spec, c) is None]


def picked_columns(project: Project, measure: KpiDef) -> list[str]:
    """The columns telling parts apart (`told_columns`) that a measure's filter reads
    (directly or through a derived column): a KPI of one force's crimes (`force = 'A'`) adds
    only the forces its filter picks, so its parts are those of the rows it selects, not of
    every row of the dataset."""
    if not measure.filter or measure.dataset not in project.datasets:
        return []
    spec = project.datasets[measure.source]
    read = _sources(spec, _sql(measure.filter, measure).meta.root_names())
    return [c for c in told_columns(project, spec) if _sources(spec, [c]) & read]


def held_key(project: Project, measure: KpiDef) -> str | tuple[str, str]:
    """What the parts a measure's figures add are held by (`held_parts`): its dataset, or with
    a filter reading a column telling parts apart (`picked_columns`), its dataset and filter."""
    if measure.filter and picked_columns(project, measure):
        return (measure.source, measure.filter)
    return measure.source


def held_parts(project: Project, dataset_id: str, as_of: AsOf | None = None,
               without: Iterable[str] = (), picked: KpiDef | None = None
               ) -> dict[tuple, list[Month]]:
    """The months each part of a dataset holds rows in, for every column telling its parts
    apart (`telling_apart`) but those in `without`: its `replace_by` parts (tuples of their
    values, `store.parts_held`) and, of each other such column (a `[peers.*]` group's), each
    value (`Told`), read in one scan of the month and those columns. A column derived as a
    literal holds one part whatever the rows (no scan); one that `picked`'s filter reads
    (`picked_columns`) holds the parts of the rows it selects. Empty where the dataset has
    none: the parts `part_gap` and `partial_months` hold every compared window and series
    to. Whether a part holds a month is judged from every row of the dataset (whatever a
    KPI's filter), so a month of sparse data with none of the rows a KPI counts still holds
    the part that supplied the others; and from every roll of a month read at its last
    (`as_at = "last"`), so a part on the month's earlier rolls whose people are all gone from
    its last (`catalogue.shared_last`) held the month, and reads none of it."""
    spec = project.datasets.get(dataset_id)
    if spec is None:
        return {}
    skip = set(without)
    out = {} if spec.replace_by and skip.issuperset(spec.replace_by) else store.parts_held(
        project, dataset_id, as_of)
    columns = told_columns(project, spec, skip)
    if not columns or not store.exists(project, dataset_id):
        return out
    from kpi.dateparts import covered

    picks = set(picked_columns(project, picked)) if picked is not None else set()
    if not picks:
        # Every row's part: the scan of each column's parts by month that judging each part's
        # months for cuts reads (`store.part_months`, kept per table version), not another.
        told: dict[tuple, set[Month]] = {}
        for column in columns:
            try:
                parts = store.part_months(project, dataset_id, as_of, (column,))
            except pl.exceptions.PolarsError:
                parts = None
            if parts is None:
                break  # a column that cannot be read: the scan below says why, in one line
            for month, value in parts.select("month", pl.col(column).cast(pl.String)) \
                    .iter_rows():
                if value is not None:
                    told.setdefault(Told(column, value), set()).add(Month.parse(month))
        else:
            return {**out, **{part: covered(spec, sorted(months))
                              for part, months in told.items()}}
    frame = derive(store.scan(project, dataset_id, as_of), replace(spec, as_at=None),
                   telling_apart(project, spec))
    flag = [rows_of(picked).alias("__picked")] if picked is not None and picks else []
    try:
        rows = frame.select(pl.col("month"), *(pl.col(c).cast(pl.String) for c in columns),
                            *flag).unique().collect(engine="streaming")
    except pl.exceptions.PolarsError as exc:
        raise DataError(f"dataset '{dataset_id}': cannot read the parts of "
                        f"{', '.join(columns)}: {str(exc).splitlines()[0]}") from None
    told: dict[tuple, set[Month]] = {}
    for row in rows.iter_rows():
        selected = row[-1] if flag else True
        for column, value in zip(columns, row[1:len(columns) + 1], strict=True):
            # rows with no part are no part anyone supplies
            if value is not None and (selected or column not in picks):
                told.setdefault(Told(column, value), set()).add(Month.parse(row[0]))
    return {**out, **{part: covered(spec, sorted(months)) for part, months in told.items()}}


def part_label(spec: DatasetSpec, part: tuple) -> str:
    """"force 'Kent'": a part of a dataset loaded part by part, or of a column telling its
    parts apart (`Told`), as messages name it."""
    if isinstance(part, Told):
        return f"{part.column} '{part.value}'"
    return ", ".join(f"{column} '{value}'" for column, value in zip(spec.replace_by, part,
                                                                     strict=True))


def part_gaps(project: Project, dataset_id: str, as_of: AsOf | None = None
              ) -> list[tuple[str, list[Month]]]:
    """For a dataset loaded part by part (`replace_by`), each part with months missing from
    its first month to the dataset's last (label, months): the months never loaded for it."""
    spec = project.datasets[dataset_id]
    held = store.parts_held(project, dataset_id, as_of)
    if not held:
        return []
    last = max(m for months in held.values() for m in months)
    out = []
    for part in sorted((p for p in held if None not in p), key=str):
        months = set(held[part])
        missing = [m for m in Window(WindowKind.YE, min(months), last).months()
                   if m not in months]
        if missing:
            out.append((part_label(spec, part), missing))
    return out


def part_gap(spec: DatasetSpec, held: dict[tuple, list[Month]], window: Window,
             windows: Iterable[Window]) -> str | None:
    """Why `window` cannot be compared as the sum of the same parts as `windows` (those
    compared), or None: the one rule of the parts a compared figure adds. A part of a
    dataset loaded part by part (`replace_by`) that holds rows in any of `windows`, or in
    the month before `window` (`due_parts`), must hold every month of `window`, or the
    window would sum it over fewer months than it claims (a month never loaded for it). A
    part of another column telling parts apart (`Told`: a peer group's force in an extract
    loaded whole) is held by the windows' shape (`told_shape`): one that holds rows in any
    of `windows` must hold rows in `window` (a whole window without any is a part the data
    does not hold there: a force that stopped supplying), and one that holds rows in every
    month of any of them must hold every month of `window` (a part supplying every month,
    then not: a force that stopped in June), as must one that held rows in every month of
    any earlier year and holds none in a month of `window` after it (`cut_off`: a force that
    stopped in December, compared over two years that each hold only some of its months),
    and one that started within `window` (`started`: no rows in a stored month before its
    first, and rows in every month from it to the last of the windows: a force joining the
    extract in January, compared over the years to September and to August, 9 of its months
    against 8). A part with rows in only some months of each window, having never held a
    whole year before them nor started, is sparse data, compared as the rows hold it."""
    windows = list(windows)
    spans = {m for w in windows for m in w.months()}
    months = set(window.months())
    first, last = first_held(held), max(spans | months)
    # Rows with a blank part are no part anyone loads: they come and go with the data.
    named = (p for p, got in held.items() if None not in p and spans.intersection(got))
    for part in sorted({*named, *due_parts(held, window)}, key=str):
        if isinstance(part, Told):
            got = set(held[part])
            if not months.intersection(got):
                other = next(w for w in windows if set(w.months()).intersection(got))
                return (f"{part_label(spec, part)} has rows in {other.label} and none in "
                        f"{window.label}, so the figures would not add the same parts")
            whole = next((w for w in windows if set(w.months()) <= got), None)
            if whole is not None and not months <= got:
                missing = sorted(months.difference(got))
            elif (cut := cut_off(got, window.months())) is not None:
                whole, missing = cut
            elif (begun := started(got, first, last)) is not None and window.start < begun:
                # (a part that started holds every month of a window from its first on)
                return (f"{part_label(spec, part)} has its first rows in {begun}, within "
                        f"{window.label}, and rows in every month after, so the figures "
                        f"would not add the same parts")
            else:
                continue
            return (f"{part_label(spec, part)} has rows in every month of {whole.label} "
                    f"and none in {first_months(missing)} of {window.label}, so the "
                    f"figures would not add the same parts")
        missing = sorted(months.difference(held[part]))
        if missing:
            return (f"{window.label} is incomplete: {part_label(spec, part)} has no rows for "
                    f"{first_months(missing)} (never loaded for that part)")
    return None


def cut_off(got: Iterable[Month], months: Iterable[Month]) -> tuple[Window, list[Month]] | None:
    """The one rule of a part of a column telling parts apart (`Told`: a peer group's force
    in an extract loaded whole) that stopped supplying, or was cut, rather than being sparse:
    one that held rows (`got`) in every month of a year (12 months in a row) and holds none
    in a month of `months` after that year. Its figure over those months adds the part over
    fewer months than a figure of the same length before them, so it is never compared,
    ranked or drawn beside one (`part_gap`, `partial_months`, `kpi.compare`): a force
    supplying every month to December and none after read as a fall of 25 in the year to
    March against the year to February, "improving", where neither year was whole for it.
    (that year, the months of `months` it holds none in after it), the year the last whole
    one before the first such month; or None, for a part that never held a whole year
    before a month it holds none in (sparse data: a homicide index's force)."""
    held = set(got)
    wanted = sorted(set(months).difference(held))
    if not held or not wanted or min(held) > wanted[-1]:
        return None
    month, run, year, named = min(held), 0, None, None
    cut: list[Month] = []
    while month <= wanted[-1]:
        if month in held:
            run += 1
            year = month if run >= 12 else year
        else:
            run = 0
            if year is not None and month in wanted:
                named = year if named is None else named
                cut.append(month)
        month = month + 1
    return (Window.year_ending(named), cut) if named is not None else None


def started(got: Iterable[Month], first: Month | None, last: Month) -> Month | None:
    """The other side of `cut_off`, in the same rule: the month a part of a column telling
    parts apart (`Told`) started supplying in, where it holds rows (`got`) in no month before
    it that other parts hold (they hold months from `first`, `first_held`) and in every month
    from it to `last` (the last month read). A window holding only some of its months from then
    adds the part over fewer months than one holding all of them, and one before it none: a
    force joining the extract in January read, against the year to August, as a rise of 90
    (+3.1%) in the year to September, "deteriorating", its 9 months against 8, and its first
    months as a shift of concern on the process chart. So it is never compared, ranked or
    drawn beside those months (`part_gap`, `partial_months`, `kpi.compare`). None for a part
    holding rows from the dataset's first month, starting after `last`, or with a month
    without rows after its first (sparse data: a homicide index's force, compared as its rows
    hold it)."""
    held = set(got)
    if not held or first is None or not first < min(held) <= last:
        return None
    begun = min(held)
    return begun if held.issuperset(Window(WindowKind.YE, begun, last).months()) else None


def first_held(held: dict[tuple, list[Month]]) -> Month | None:
    """The first month any part holds rows in (`held`, `held_parts`; rows with no part are
    no part anyone supplies): before it no part supplied, so a part whose first month it is
    did not start within the data (`started`)."""
    return min((m for got in held.values() for m in got), default=None)


def due_parts(held: dict[tuple, list[Month]], window: Window) -> list[tuple]:
    """The parts of a dataset loaded part by part (`replace_by`) due in `window` though they
    hold none of its months: each holding rows in the month before it, so a month of the
    window without them was never loaded for them (`part_gaps`, as `kpi datasets` lists it),
    whatever the window is compared with. South's September roll never loaded beside its
    August one: the headcount as at September was North's 10 against September 2024 (South
    had no rows then either), "stable", exit 0, and refused against August. A part that
    stopped supplying is due in the window after its last month, and no later one."""
    before = window.start - 1
    months = set(window.months())
    return [part for part, got in held.items()
            if not isinstance(part, Told) and None not in part and before in got
            and not months.intersection(got)]


def parts_held_of(project: Project, dataset_id: str, as_of: AsOf | None,
                  report: Report | None = None, measure: KpiDef | None = None
                  ) -> dict[tuple, list[Month]]:
    """`held_parts` (of `measure`'s rows where its filter picks parts, `held_key`), taken
    from the report where its windows read it (one scan of the table's parts per answer, not
    one for the windows, the verdicts and the trends each)."""
    key = held_key(project, measure) if measure is not None else dataset_id
    if report is not None and report.held is not None and key in report.held:
        return report.held[key]
    return held_parts(project, dataset_id, as_of,
                      picked=measure if key != dataset_id else None)


def partial_months(held: dict[tuple, list[Month]], months: Iterable[str]) -> set[str]:
    """The months of a series (labels) that do not add the same parts as its latest months
    (`held`, `held_parts`), by the rule of `part_gap`: a month that a part of a dataset
    loaded part by part holds no rows in, though it holds rows in another of them or in the
    month before it (it sums fewer parts than its neighbours); and every month of a year of
    the series (12 months back from its last) whose parts of a column telling parts apart
    (`Told`) are not held as its last year's months kept hold them (`told_shape`, the rule
    of two windows compared): a force holding rows in one year and none in the other, or
    rows in every month of one and not of the other; and the months of the last year a part
    holds no rows in where it holds rows in only some of them, having held every month of
    an earlier year, shown or not (`cut_off`: a force that stopped in June: its last six
    months add fewer parts than its first six), and the months before a part's first where
    it started within the series (`started`: a force joining in January, its months before
    adding fewer parts than those after), which are not kept.
    Such a month has no value in a trend or a process chart, as a window missing a part has
    none. Empty for a dataset with no parts."""
    span = {Month.parse(m) for m in months}
    out: set[str] = set()
    for part, got in held.items():
        if None in part or isinstance(part, Told) or not span.intersection(got):
            continue
        out.update(str(m) for m in span.difference(got))
    # and each month a part is due in though the months shown hold none of its rows
    # (`due_parts`: its September never loaded, where it holds August)
    out.update(str(m) for m in span if due_parts(held, Window.as_at(m)))
    told = {part: set(got) for part, got in held.items() if isinstance(part, Told)}
    if told and span:
        last, first = max(span), min(span)
        last_shown = last
        years = []
        while last >= first:
            years.append({m for m in span if last - 11 <= m <= last})
            last = last - 12
        # A part with rows in only some months of the last year that held every month of an
        # earlier year (`cut_off`, of every month it holds, not only those shown: a series of
        # 12 months holds no earlier year) stopped within it: the last year's months without
        # its rows add fewer parts than the others (a fall of a third read as a special cause).
        cut: set[Month] = set()
        for part, whole in told_shape(told, years[0]).items():
            if not whole and (stopped := cut_off(told[part], years[0])) is not None:
                cut.update(stopped[1])
        # A part that started within the series (`started`: no rows in a stored month before
        # its first, rows in every month since) is the other side: the months shown before
        # its first add fewer parts than those after (a force joining in January read Oct-Dec
        # as a special cause of improvement, and every month after as one of concern).
        stored = first_held(held)
        for got in told.values():
            if (begun := started(got, stored, last_shown)) is not None:
                cut.update(m for m in span if m < begun)
        out.update(str(m) for m in cut)
        # The earlier years are held to the parts of the last year's months kept: a year of
        # the three forces that the last year holds every month but its last three (a fourth
        # stopped in December) adds the same parts as those nine months, and has its values;
        # so do an earlier year's months kept (those from a part's start).
        latest = told_shape(told, years[0] - cut)
        for year in years[1:]:
            if told_shape(told, year - cut) != latest:
                out.update(str(m) for m in year)
    return out


def told_shape(told: dict[Any, set[Month]], months: set[Month]) -> dict[Any, bool]:
    """How the parts of a column telling parts apart (`Told`, with the months each holds
    rows in) hold a span of months: of each part with rows in it, whether it holds rows in
    every month. Two windows (or two years of a series) add the same parts alike where their
    shapes are equal (`part_gap`, `partial_months`)."""
    return {part: months <= got for part, got in told.items() if got & months}


def whole_parts(spec: DatasetSpec, held: dict[tuple, list[Month]], plan: Plan) -> Plan:
    """A plan whose windows add the same parts (`part_gap`): a current window that sums a
    part loaded part by part over fewer months is refused, and so is a comparison window
    (never read as 0 for a part whose months were never loaded). The parts held to them are
    those holding rows in the current window or the comparison window the period asks for
    (`Plan.asked`), even where that comparison is left out as incomplete: a force loaded
    only for the year compared is not left out of the current year's figure because a month
    of that year is missing. A part of a column telling parts apart (`Told`) holding rows in
    one of the two windows and none in the other leaves the comparison out, the current
    figure being that of the parts it holds (its `covers`). A part holding rows in the month
    before a window is held to it too (`due_parts`), whatever it is compared with."""
    asked = plan.comparison if plan.comparison is not None else plan.asked
    windows = [w for w in (plan.current, asked) if w is not None]
    loads = {p: got for p, got in held.items() if not isinstance(p, Told)}
    if plan.current is not None and (gap := part_gap(spec, loads, plan.current, windows)):
        return Plan(None, None, gap, plan.stale)
    if plan.comparison is None:
        return plan
    if (gap := part_gap(spec, held, plan.comparison, windows)) or (
            plan.current is not None and (gap := part_gap(spec, held, plan.current, windows))):
        return plan._replace(comparison=None, note=f"comparison {plan.comparison.label} left "
                             f"out: {gap}" if " is incomplete: " not in gap
                             else f"comparison {gap}")
    return plan


# ---------------------------------------------------------------------------------------------
# Changes and status


def change_between(kpi: KpiDef, current: float | None, previous: float | None) -> Change | None:
    if current is None or previous is None:
        return None
    diff = difference(current, previous)
    shown = change_places_of(kpi, current, previous)
    if kpi.unit == Unit.PERCENT:
        return Change(absolute=None, percent=None, points=diff, places=shown)
    if kpi.unit == Unit.RATIO:
        return Change(absolute=diff, percent=None, points=None, places=shown)
    return Change(absolute=diff, percent=change_percent(current, previous), points=None,
                  places=shown)


# The statuses judged from a change (`status_of`); a result without one is no_data, stale or
# in development.
JUDGED = frozenset({Outcome.IMPROVING, Outcome.DETERIORATING, Outcome.STABLE, Outcome.CHANGED})


def _same(a: float | None, b: float | None) -> bool:
    return a == b or (a is not None and b is not None and math.isnan(a) and math.isnan(b))


def unfigured(current: Measured | None, comparison: Measured | None, change: Change | None,
              status: str) -> str | None:
    """Why a change or status is not its two figures', as far as the figures alone say, or
    None: a change exactly where both figures are, its size (points or an absolute change,
    one of the two) their difference and its % change theirs (`change_percent`) or none, and
    a status judged from a change (`JUDGED`) only beside one. The part of `underived` that
    needs no KPI, made where a `kpi compare` part is built (`kpi.compare.PartResult`, which
    holds no KPI): which of points or an absolute change the unit takes, whether a % change
    is printed, the places the change prints to and the status it is judged to (the KPI's
    direction and band) need the KPI, and `underived` checks them where it is at hand."""
    now = current.value if current is not None else None
    then = comparison.value if comparison is not None else None
    if (now is None or then is None) != (change is None):
        return f"its change {change} is not its figures' ({now} against {then})"
    if change is not None and now is not None and then is not None:
        sizes = [v for v in (change.absolute, change.points) if v is not None]
        if len(sizes) != 1 or not _same(sizes[0], difference(now, then)) or not (
                change.percent is None or _same(change.percent, change_percent(now, then))):
            return f"its change {change} is not its figures' ({now} against {then})"
    if change is None and status in JUDGED:
        return f"its status {status!r} judges no change"
    return None


def underived(kpi: KpiDef, current: Measured | None, comparison: Measured | None,
              change: Change | None, status: str) -> str | None:
    """Why a result's change or status is not the one its KPI and its two figures give, or
    None: the change (its size, % change, points and the places it prints to) is
    `change_between` of the two figures, and the status `status_of` that change (or stale,
    whatever it is; no_data, stale or in development without one). The one check, made on
    every KPI's result (`KpiResult`) and every part's (`kpi.compare.KpiComparison`): a
    result rebuilt with another KPI's `decimals`, or other figures, beside the old change
    printed the change to places its figures no longer print apart at. What the figures
    alone say is checked first (`unfigured`)."""
    if (why := unfigured(current, comparison, change, status)) is not None:
        return why
    now = current.value if current is not None else None
    then = comparison.value if comparison is not None else None
    want = change_between(kpi, now, then)
    if (want is None) != (change is None) or (
            want is not None and change is not None and not (
                _same(want.absolute, change.absolute) and _same(want.percent, change.percent)
                and _same(want.points, change.points) and want.places == change.places)):
        return f"its change {change} is not its figures' ({now} against {then}): {want}"
    if status == Outcome.STALE or change is None:  # without one: unfigured
        return None
    if status != (judged := status_of(kpi, change)):
        return f"its status {status!r} is not its change's ({judged!r})"
    return None


def refigured(result: KpiResult, current: Measured | None,
              comparison: Measured | None) -> KpiResult:
    """`result` over other figures of its KPI (a test over its settled months alone): its
    change and status made again from them (a stale one stays stale), never the old change
    beside the new figures (`underived`)."""
    change = change_between(result.kpi, current.value if current is not None else None,
                            comparison.value if comparison is not None else None)
    status = (result.status if result.status == Outcome.STALE
              else judged(result.kpi, change, None, None)[0])
    return replace(result, current=current, comparison=comparison, change=change,
                   status=status)


def status_of(kpi: KpiDef, change: Change) -> str:
    """Direction-aware status, by the rule in docs/catalogue.md "Status". The size judged is the
    change in points for a percentage, else the % change, else (a ratio, or a base of zero or
    below, where no % exists) the absolute change. A size within the KPI's stable band is
    stable, and so is a change that prints as zero, and no other: points or an absolute
    change at the places it prints to beside its two figures (`Change.places`, from
    catalogue.change_places_of: the KPI's own, or more where the two print apart there), a %
    change at one decimal place. 0.4% against 0.6% for a KPI of whole percentages prints
    "+0.2pp", and is a rise, never "stable" beside it. Its sign is the sign of the absolute
    change (a % exists only from a base above zero), so -0.001 to 0.000 is a rise."""
    digits = change.places
    band: float | None = kpi.stable_band
    if change.points is not None:
        size, shown_zero = change.points, shows_zero(change.points, digits)
    elif change.percent is not None:
        size, shown_zero = change.percent, shows_zero(change.percent)
    else:
        size = change.absolute
        assert size is not None  # change_between leaves it unset only when points is set
        shown_zero = shows_zero(size, digits)
        if kpi.unit != Unit.RATIO:  # no % exists: the band (a %) does not apply
            band = None
    if shown_zero or (band is not None and (abs(as_written(size)) <= as_written(band)
                                            if math.isfinite(size) else abs(size) <= band)):
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
        return [project.known_kpi(k) for k in kpi.ratio_of]
    return [kpi]


def _dependencies(project: Project, kpis: Iterable[KpiDef]) -> list[KpiDef]:
    needed: dict[str, KpiDef] = {}
    for kpi in kpis:
        needed[kpi.id] = kpi
        needed.update((m.id, m) for m in measures_of(project, kpi))
    return list(needed.values())


class Held(set):
    """The months a dataset holds for its windows, with those it holds only in part (loaded
    before they ended, or cut short within them: `held_in_part`, why), left out."""

    def __init__(self, months: Iterable[Month] = (), early: Mapping[Month, Any] | None = None):
        super().__init__(months)
        self.early = dict(early or {})


def _available(project: Project, dataset_ids: set[str], as_of: AsOf | None,
               versions: dict[str, int]) -> dict[str, set[Month] | str]:
    """Months each dataset covers, or why it cannot be read.

    A dataset that did not exist at an --as-of point is reported on its KPIs (it may have been
    added later), but an --as-of point that no stored dataset can satisfy is an error."""
    out: dict[str, set[Month] | str] = {}
    unsatisfied: list[store.NotAtPoint] = []
    for dataset_id in sorted(dataset_ids):
        if not store.exists(project, dataset_id):
            out[dataset_id] = f"dataset '{dataset_id}' has no data yet"
            continue
        try:
            # A month loaded before it ended holds part of it (`store.unfinished`): not held
            # for any window, which ends before it (stale, saying why) until a load after it.
            early = held_in_part(project, dataset_id, as_of)
            out[dataset_id] = Held(set(store.months(project, dataset_id, as_of)) - set(early),
                                   early)
            versions[dataset_id] = store.resolve_version(project, dataset_id, as_of)
        except store.NotAtPoint as exc:  # any other refusal of the read is the answer's
            out[dataset_id] = exc.message
            unsatisfied.append(exc)
    if unsatisfied and not versions:
        first = unsatisfied[0]
        raise store.NotAtPoint(first.message if len(unsatisfied) == 1 else
                        f"{first.message}, nor any of the other {len(unsatisfied) - 1} datasets",
                        hint="see " + spelled("'kpi history DATASET'",
                                              "project.history(DATASET)")
                        + " for the versions and when they were made")
    return out


def evaluate(project: Project, period: Month, vs: Comparison = Comparison.BASELINE,
             kpis: Iterable[KpiDef] | None = None, as_of: AsOf | None = None,
             series: int | None = None, hold_rows: bool = False,
             given: Mapping[str, tuple[Window | None, Window | None]] | None = None
             ) -> Report:
    """Compute KPIs (default: every visible one) for a period against a comparison; with
    `series`, also every measure's monthly components over the `series` months ending with
    each KPI's current window (`Report.monthly`, for the verdicts), in the same read of each
    dataset. With `hold_rows` (the board, which breaks KPIs down after), a small table that
    would be read more than once is read once and its rows held (see `_HELD`). With `given`
    (KPI id -> current and comparison window), those KPIs are computed over exactly those
    windows, whatever months the data now reaches (`given_windows`): the figures a paper
    printed, recomputed for its revisions (`kpi.revisions.compare`)."""
    selected = [k for k in (kpis if kpis is not None else project.kpis) if not k.hidden
                or kpis is not None]
    live = [k for k in selected if k.status == Status.LIVE]
    base_kpis = [k for k in _dependencies(project, live) if not k.is_derived]
    versions: dict[str, int] = {}
    available = _available(project, {k.source for k in base_kpis}, as_of, versions)

    # Plan every KPI's windows; a rate of two KPIs needs both datasets' months.
    plans: dict[str, Plan] = {}
    for kpi in live:
        sources = measures_of(project, kpi)
        found = [available[s.source] for s in sources]
        problems = [f for f in found if isinstance(f, str)]
        if problems:
            plans[kpi.id] = Plan(None, None, problems[0])
            continue
        months_of = [f for f in found if not isinstance(f, str)]
        # Every dataset's months, with those any of them holds only in part (`Held`).
        common = Held(set.intersection(*months_of),
                      {m: w for f in months_of for m, w in getattr(f, "early", {}).items()})
        datasets = [s.source for s in sources]
        plan = (given_windows(*given[kpi.id], common) if given and kpi.id in given
                else _plan_windows(project, kpi, period, vs, common, datasets))
        # Quarterly rows: a current window that cuts a quarter (an as-at month) is refused, a
        # comparison window that does is left out, never half counted.
        if cut := quarter_cut(project, datasets, plan.current):
            plan = Plan(None, None, cut, plan.stale)
        elif cut := quarter_cut(project, datasets, plan.comparison):
            plan = plan._replace(comparison=None, note=f"comparison {cut}")
        plans[kpi.id] = plan
    if any(plan.stale for plan in plans.values()):
        require_reached(project, period, as_of)
    held: dict[Any, dict[tuple, list[Month]]] = {}
    for kpi in live:
        for source in measures_of(project, kpi):
            if isinstance(available[source.source], str):
                continue
            if (key := held_key(project, source)) not in held:
                held[key] = held_parts(project, source.source, as_of,
                                       picked=source if key != source.source else None)
            if held[key]:
                plans[kpi.id] = whole_parts(project.datasets[source.source], held[key],
                                            plans[kpi.id])

    # Gather the measures and the months they are read for, per dataset, and read each
    # dataset once: every component month by month, each window the sum of its months.
    measures: dict[str, dict[str, KpiDef]] = {}
    months: dict[str, set[Month]] = {}
    windows: dict[str, set[Window]] = {}
    blanks: dict[str, set[str]] = {}  # dataset -> columns whose blanks are counted per month
    for kpi in live:
        current, compare = plans[kpi.id][:2]
        wanted = [w for w in (current, compare) if w is not None]
        if series and current is not None:
            span = Window(current.kind, series_start(kpi, current.end, series), current.end)
            wanted.append(span)
        if current is not None:  # the months data quality is judged over (quality_notes)
            wanted.append(Window(current.kind, current.start - project.quality.context_months,
                                 current.end))
        if not wanted:
            continue
        read_by = columns_read(project, kpi) if current is not None else []
        for measure in measures_of(project, kpi):
            measures.setdefault(measure.source, {})[measure.id] = measure
            for window in wanted:
                months.setdefault(measure.source, set()).update(window.months())
            windows.setdefault(measure.id, set()).update(w for w in (current, compare)
                                                          if w is not None)
            spec = project.datasets[measure.source]
            blanks.setdefault(measure.source, set()).update(
                c for c in read_by if c != "month" and spec.has_column(c))
    parts: Parts = {}
    monthly: dict[str, dict[str, dict[str, float | None]]] = {}
    counted: dict[str, dict[str, dict[str, int]]] = {}
    read_of: dict[str, frozenset[str]] = {}
    for dataset_id, group in measures.items():
        read = [str(m) for m in sorted(months[dataset_id])]
        read_of[dataset_id] = frozenset(read)
        by_month = _plan(project, dataset_id, group, read, as_of,
                         sorted(blanks.get(dataset_id, ())), hold_rows).run()
        counted[dataset_id] = by_month.blanks()
        by_month.prefetch(w for measure_id in group for w in windows.get(measure_id, ()))
        for measure_id in group:
            for window in windows.get(measure_id, ()):
                parts[(measure_id, window)] = by_month.window(measure_id, window)
        if series:
            monthly.update(by_month.monthly())

    results = []
    for kpi in selected:
        if kpi.status == Status.IN_DEVELOPMENT:
            results.append(KpiResult(kpi, Outcome.IN_DEVELOPMENT, None, None, None,
                                     "in development: no data yet"))
            continue
        plan = plans[kpi.id]
        current, compare, note, stale = plan[:4]
        cur = _measured(project, kpi, current, parts)
        cmp = _measured(project, kpi, compare, parts)
        # a mean its rows prove a share printed off its unit's scale (as `kpi compare` does)
        unscaled_flags(kpi, [w for w in (cur, cmp) if w is not None])
        change = change_between(kpi, cur.value if cur else None, cmp.value if cmp else None)
        if change is None:
            note = note or _no_value_note(project, kpi, (current, compare), parts)
        status, why = judged(kpi, change, current if cur is not None else None, stale)
        note = "; ".join(n for n in (why, note) if n) or None
        results.append(KpiResult(kpi, status, cur, cmp, change, note,
                                 gap=plan.gap and status == Outcome.STALE))
    notes = _quality_of(project, results, counted, as_of)
    results = [replace(r, quality=notes[r.kpi.id]) if r.kpi.id in notes else r for r in results]
    return Report(period=period, comparison=vs, results=tuple(results), versions=versions,
                  monthly=monthly if series else None, series=series or None,
                  read=read_of if series else None, held=held)


# ---------------------------------------------------------------------------------------------
# Data quality


# The keys of a KPI's expressions: those every figure of it reads (`columns_read`), and of
# them those its figure is made of (`measured_columns`). A blank in its filter picks no row,
# and in its denominator adds nothing to its base (a base of 0 is no figure either way, said
# as such); a blank weight key is refused as the data is loaded, and a breakdown splits rows.
READ_KEYS = ("filter", "value", "numerator", "denominator")
MEASURED_KEYS = ("numerator", "value")


def names_read(kpi: KpiDef, keys: Iterable[str] = READ_KEYS) -> list[str]:
    """The names a KPI's expressions of `keys` read, in the order met, as written: a derived
    column by its own name (each expression read as its figures read it, `_sql`). What the
    rows are read with (a figures file's definition names the derived columns reached,
    `revisions.reading`); what they are judged by is `expression_columns`."""
    names: dict[str, None] = {}
    for key in keys:
        if text := getattr(kpi, key):
            names.update(dict.fromkeys(_sql(text, kpi).meta.root_names()))
    return list(names)


def expression_columns(spec: DatasetSpec, kpi: KpiDef,
                       keys: Iterable[str] = READ_KEYS) -> list[str]:
    """The stored columns of `spec` (the KPI's dataset) a KPI's expressions of `keys` read, in
    the order met: a derived column by the stored columns it is derived from, followed through
    derived columns (`stored_columns`). The one reading of which columns a KPI's figure is
    made of, for every judgement of the data's quality: `columns_read` (whose blanks the
    quality notes count) and `measured_columns` (a part blank in each of which has no figure
    in `kpi compare`). Its stored columns, not its names: a numerator written
    `CASE WHEN outcome IN ('OC1', 'OC2') THEN 1 ELSE 0 END` through a derived column read a
    force with no outcome on any row as 0.0%, ranked and averaged, where the same numerator
    written on `outcome` left it out, so whether a KPI's checks passed hung on its spelling."""
    return stored_columns(spec, names_read(kpi, keys))


def measured_columns(kpi: KpiDef, spec: DatasetSpec | None) -> list[str]:
    """The stored columns a KPI's numerator and value read (`MEASURED_KEYS`,
    `expression_columns`; `spec` is its dataset), of those it reads (`columns_read`); none
    of a KPI without a dataset (a rate of two KPIs: its parts are its KPIs'; one in
    development not yet given its data). A part whose rows the KPI counts are blank on every
    one in such a column has no figure of the KPI: police.uk publishes no outcomes for PSNI,
    whose 0.0% of crimes "closed with no suspect" was ranked first and tested as differing
    from the rest."""
    if kpi.dataset is None or spec is None:
        return []
    return expression_columns(spec, kpi, MEASURED_KEYS)


def _columns(project: Project, kpi: KpiDef, breakdowns: bool, stored: bool) -> list[str]:
    """`columns_read` (`stored`) or `columns_named`: the walk they share."""
    names: dict[str, None] = {}
    for measure in measures_of(project, kpi):
        read = [*names_read(measure), *([measure.weight_key] if measure.weight_key else ()),
                *(measure.breakdowns if breakdowns else ())]
        if stored and measure.dataset in project.datasets:
            read = stored_columns(project.datasets[measure.source], read)
        names.update(dict.fromkeys(read))
    return list(names)


def columns_read(project: Project, kpi: KpiDef, breakdowns: bool = True) -> list[str]:
    """The stored columns a KPI's filter, value, numerator, denominator
    (`expression_columns`), weight key and breakdowns (without `breakdowns`, not those) read
    (for a rate of two KPIs, theirs), a derived column by the stored columns it is derived
    from: those whose blanks the quality notes count, whatever way the KPI is written."""
    return _columns(project, kpi, breakdowns, stored=True)


def columns_named(project: Project, kpi: KpiDef, breakdowns: bool = True) -> list[str]:
    """The names `columns_read` follows to the stored columns, as written: a derived column
    by its own name (`names_read`), for what reads the derived columns themselves (a figures
    file's definition, `revisions.reading`)."""
    return _columns(project, kpi, breakdowns, stored=False)


def blank_in(name: str, dtype: pl.DataType, spec: DatasetSpec) -> pl.Expr:
    """Whether a row is blank in a column: null, or for text only spaces. Stored text is
    trimmed by the ingest, and a cell left blank is stored as null (the identity rule of
    docs/guarantees.md), so only a derived text column is stripped here: stripping every
    stored text cell cost more than the rest of a month's sums."""
    column = pl.col(name)
    if dtype == pl.String and spec.column(name) is None:
        return column.is_null() | (column.str.strip_chars() == "")
    return column.is_null()


def quality_notes(project: Project, results: Iterable[KpiResult],
                  as_of: AsOf | None = None) -> dict[str, tuple[str, ...]]:
    """The data-quality notes of each result with a current window (KPI id -> notes), from one
    grouped read per dataset of the months of the windows and `[quality] context_months`
    before them: per month, its rows and how many are blank in each column the KPIs read.

    A month is flagged when a column is blank on `blank_jump` more of its rows than the median
    share of the other months read, or when its rows are under `row_ratio` times (or over
    1 / `row_ratio` times) the other months' median; the window is flagged when a column is
    blank on at least `mostly_blank` of its rows. The thresholds are [quality]'s."""
    wanted: dict[str, tuple[set[str], set[str]]] = {}  # dataset -> (columns, months)
    for _, dataset_id, columns, window in _quality_asks(project, results):
        got = wanted.setdefault(dataset_id, (set(), set()))
        got[0].update(c for c in columns if c != "month")
        got[1].update(str(m) for m in Window(window.kind,
                                             window.start - project.quality.context_months,
                                             window.end).months())
    counted: dict[str, dict[str, dict[str, int]]] = {}  # dataset -> month -> column -> n
    for dataset_id, (columns, months) in wanted.items():
        frame = rows_read(project, dataset_id, as_of)
        schema = frame.collect_schema()
        aggs = [blank_in(c, schema[c], project.datasets[dataset_id]).sum().alias(f"{BLANK}{c}")
                for c in sorted(columns) if c in schema]
        try:
            table = (frame.filter(pl.col("month").is_in(sorted(months))).group_by("month")
                     .agg(pl.len().alias("__rows"), *aggs).collect(engine="streaming"))
        except pl.exceptions.PolarsError as exc:
            raise _compute_error(dataset_id, exc, project) from None
        counted[dataset_id] = _blank_counts(table.rename({"month": "__month"}))
    return _quality_of(project, results, counted, as_of)


BLANK = "__blank\t"  # the prefix of a column's count of blank rows in a month


def _blank_counts(totals: pl.DataFrame) -> dict[str, dict[str, int]]:
    """month -> {"__rows": rows, column: blank rows} from a frame of per-month totals."""
    keep = [c for c in totals.columns if c.startswith(BLANK)]
    return {row["__month"]: {"__rows": row["__rows"],
                             **{c[len(BLANK):]: row[c] for c in keep}}
            for row in totals.select("__month", "__rows", *keep).iter_rows(named=True)}


def _quality_asks(project: Project, results: Iterable[KpiResult]
                  ) -> list[tuple[KpiResult, str, list[str], Window]]:
    """(result, dataset, columns it reads there, current window) for each result with a
    current window."""
    asks = []
    for result in results:
        if result.current is None or result.kpi.status != Status.LIVE:
            continue
        window = result.current.window
        columns = columns_read(project, result.kpi)
        for measure in measures_of(project, result.kpi):
            spec = project.datasets[measure.source]
            mine = [c for c in columns if spec.has_column(c) or c == "month"]
            asks.append((result, measure.dataset, mine, window))
    return asks


def _quality_of(project: Project, results: Iterable[KpiResult],
                counted: dict[str, dict[str, dict[str, int]]],
                as_of: AsOf | None = None) -> dict[str, tuple[str, ...]]:
    """Each result's notes (see `quality_notes`) from the per-month counts of its datasets,
    and the notes on a part of the data blank on every row of the window (`_part_flags`).
    The notes on a column, or on the rows, of a dataset over a window are the same for every
    KPI reading it, so each is worked out once."""
    limits = project.quality
    out: dict[str, list[str]] = {}
    looked_at: dict[tuple[str, Window], dict[str, dict[str, int]]] = {}
    found: dict[tuple[str, Window, str | None], list[str]] = {}
    parted: dict[tuple[str, Window], dict[str, dict[object, tuple[int, int]]]] = {}
    asks = _quality_asks(project, results)
    wanted: dict[str, set[str]] = {}  # dataset -> every column its KPIs read
    for _, dataset_id, columns, _ in asks:
        wanted.setdefault(dataset_id, set()).update(c for c in columns if c != "month")
    for result, dataset_id, columns, window in asks:
        notes = out.setdefault(result.kpi.id, [])
        if (dataset_id, window) not in looked_at:
            # Only the window and the months just before it: a command reads more (a
            # verdict's series, a comparison window), and "usual" must not depend on what
            # else it reads.
            first = str(window.start - limits.context_months)
            looked_at[(dataset_id, window)] = {
                m: got for m, got in counted.get(dataset_id, {}).items()
                if first <= m <= str(window.end)}
        looked = looked_at[(dataset_id, window)]
        inside = [str(m) for m in window.months() if str(m) in looked]
        step = project.datasets[dataset_id].months_per_row
        for column in [c for c in columns if c != "month" and inside
                       and c in looked[inside[0]]] + [None]:
            key = (dataset_id, window, column)
            if key not in found:
                found[key] = (_row_flags(looked, inside, limits, step) if column is None else
                              _column_flags(looked, column, inside, window, limits, step))
            for note in found[key]:
                if note not in notes:
                    notes.append(note)
        # A part of the data blank on every row in a column, where the dataset's rows are
        # not mostly blank there (then the note above says so): police.uk publishes no
        # outcomes for PSNI, a sixth of the rows, and the pooled share read as all forces'.
        mostly = as_written(limits.mostly_blank)
        # (a column with no blank row in the window has no part blank on every row: no read)
        fine = [c for c in columns if c != "month" and inside and c in looked[inside[0]]
                and 0 < Fraction(sum(looked[m][c] for m in inside),
                                 max(1, sum(looked[m]["__rows"] for m in inside))) < mostly]
        for column in fine:
            key = (dataset_id, window, f"\tparts {column}")
            if key not in found:
                found[key] = _part_flags(project, dataset_id, column, window, parted,
                                         sorted(wanted[dataset_id]), as_of)
            for note in found[key]:
                if note not in notes:
                    notes.append(note)
    return {kpi_id: tuple(notes) for kpi_id, notes in out.items() if notes}


def _part_flags(project: Project, dataset_id: str, column: str, window: Window,
                parted: dict[tuple[str, Window], dict[str, dict[object, tuple[int, int]]]],
                wanted: Sequence[str], as_of: AsOf | None) -> list[str]:
    """The notes naming each part of a column telling parts of the dataset apart
    (`telling_apart`: a force loaded on its own, a peer group's member) whose rows in the
    window are blank on every one in `column`. The counts come from one grouped read per
    dataset and window (kept in `parted`): each part's rows and blank rows in each column
    the KPIs read (`wanted`)."""
    spec = project.datasets[dataset_id]
    apart = [c for c in telling_apart(project, spec) if c != column]
    if not apart:
        return []
    if (dataset_id, window) not in parted:
        frame = rows_read(project, dataset_id, as_of)
        schema = frame.collect_schema()
        read = [c for c in wanted if c in schema and c not in apart]
        months = [str(m) for m in window.months()]
        got: dict[str, dict[object, tuple[int, int]]] = {}
        for by in apart:
            try:
                table = (frame.filter(pl.col("month").is_in(months))
                         .group_by(pl.col(by).alias("__part"))
                         .agg(pl.len().alias("__rows"),
                              *(blank_in(c, schema[c], spec).sum().alias(f"{BLANK}{c}")
                                for c in read))
                         .collect(engine="streaming"))
            except pl.exceptions.PolarsError as exc:
                raise _compute_error(dataset_id, exc, project) from None
            for row in table.iter_rows(named=True):
                for c in read:
                    got.setdefault(f"{by}\t{c}", {})[row["__part"]] = (row["__rows"],
                                                                       row[f"{BLANK}{c}"])
        parted[(dataset_id, window)] = got
    notes = []
    for by in apart:
        counts = parted[(dataset_id, window)].get(f"{by}\t{column}", {})
        if len(counts) < 2:
            continue  # one part: the dataset's own note says it
        declared = spec.column(by)
        label = (declared.label if declared is not None else "") or by
        for part, (rows, blank) in sorted(counts.items(), key=lambda kv: str(kv[0])):
            if part is not None and rows and blank == rows:
                notes.append(f"column '{column}' is blank on every one of the {rows:,} rows "
                             f"of {part} ({label}) in {window.label}, where the figure of every "
                             "part together reads no value of it from that part")
    return notes


def _spans(step: int) -> tuple[Callable[[str], str], str]:
    """How a note names a stored month, and what it calls the months around it: a quarterly
    dataset's row stands for its quarter, stored at the quarter's first month, so a quarter
    is named by its months ('2025-04..2025-06') among the quarters around it."""
    if step == 1:
        return str, "months"
    return (lambda month: f"{month}..{Month.parse(month) + (step - 1)}"), "quarters"


def _column_flags(months: dict[str, dict[str, int]], column: str, inside: list[str],
                  window: Window, limits: Any, step: int = 1) -> list[str]:
    """The notes on one column over one window (`inside`: its months read), from each
    month's counts."""
    named, around = _spans(step)
    notes = []
    # Shares and thresholds as exact fractions (the thresholds as written): in floats, 7 of
    # 20 blank against a median of 2 of 20 was a jump of 0.24999999999999997, not the 0.25
    # `blank_jump` flags, and the check passed, exit 0.
    shares = {m: Fraction(got[column], got["__rows"]) for m, got in months.items()}
    blanks = sum(months[m][column] for m in inside)
    rows = sum(months[m]["__rows"] for m in inside)
    jump, mostly = as_written(limits.blank_jump), as_written(limits.mostly_blank)
    for month in inside:
        rest = [share for m, share in shares.items() if m != month]
        share = shares[month]
        if rest and share - _median(rest) >= jump:
            notes.append(f"column '{column}' is blank on {fixed(float(share * 100), 1)}% of the "
                         f"rows of {named(month)} (a median of "
                         f"{fixed(float(_median(rest) * 100), 1)}% in the {around} around "
                         "it)")
    if rows and Fraction(blanks, rows) >= mostly:
        share = fixed(quotient(blanks, rows, 100), 1)
        notes.append(f"column '{column}' is blank on {share}% of the rows in {window.label}")
    return notes


def _row_flags(months: dict[str, dict[str, int]], inside: list[str], limits: Any,
               step: int = 1) -> list[str]:
    """The notes on the rows of each month of a window (`inside`), against the months around."""
    named, around = _spans(step)
    notes = []
    for month in inside:
        rest: list[int] = [got["__rows"] for m, got in months.items() if m != month]
        if not rest:
            continue
        usual, rows = _median(rest), months[month]["__rows"]
        # exactly, the ratio as written: 0.14 × 50 is 7, where the float 7.000000000000001
        # flagged a month of 7 rows as under it
        ratio = as_written(limits.row_ratio)
        if rows < ratio * usual or rows * ratio > usual:
            notes.append(f"{named(month)} holds {rows:,} row{'' if rows == 1 else 's'}, "
                         f"against a median of {fixed(float(usual), 0, True)} in the {around} "
                         "around it")
    return notes


def _median(values: Sequence[Fraction | int]) -> Fraction:
    """The median of counts or shares, exactly."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return Fraction(ordered[middle] if len(ordered) % 2
                    else Fraction(ordered[middle - 1] + ordered[middle]) / 2)


def series_start(kpi: KpiDef, end: Month, months: int) -> Month:
    """The first month of a verdict's monthly series: `months` back from `end`, or earlier to
    take in the KPI's declared spc_baseline."""
    start = end - (months - 1)
    if kpi.spc_baseline is not None and kpi.spc_baseline[0] < start:
        start = kpi.spc_baseline[0]
    return start


Parts = dict[tuple[str, Window], dict[str, float | None]]
Monthly = dict[str, dict[str, dict[str, float | None]]]  # measure id -> month -> parts


def _compute_error(dataset_id: str, exc: Exception, project: Project | None = None
                   ) -> DataError:
    overflow = overflow_error(project, dataset_id, exc)
    if overflow is not None:
        return overflow
    return DataError(f"dataset '{dataset_id}': cannot compute its KPIs "
                     f"({str(exc).strip().splitlines()[0]})",
                     hint="check the KPI expressions against the stored columns")


def overflow_error(project: Project | None, dataset_id: str, exc: Exception
                   ) -> DataError | None:
    """The one line for a query stopped by whole-number arithmetic beyond 64 bits on a row
    (`expressions.overflowed`), naming the KPI and key (or derived column) that wrote it;
    None for any other error."""
    text = overflowed(str(exc))
    if text is None:
        return None
    keys = ("filter", "value", "numerator", "denominator")
    kpis = project.kpis if project is not None else ()
    named = [f"KPI '{k.id}', key '{key}'" for k in kpis if k.dataset == dataset_id
             for key in keys if getattr(k, key) == text]
    spec = project.datasets.get(dataset_id) if project is not None else None
    named += [f"dataset '{dataset_id}', key 'derived.{d.name}'"
              for d in (spec.derived if spec is not None else ()) if d.expression == text]
    where = named[0] + (f" (and {len(named) - 1} more)" if len(named) > 1 else "") \
        if named else f"dataset '{dataset_id}'"
    return DataError(
        f"{where}: {text} gives a whole number beyond 64 bits on a row of dataset "
        f"'{dataset_id}' (past 9,223,372,036,854,775,807 in size), which Polars would wrap "
        "round to a wrong number and DuckDB stops at",
        hint="check the column's values; to work in floats instead, cast an operand "
             "(CAST(i AS DOUBLE) * 1000)")


# Stored rows from which a dataset is read month by month (see `_Plan.run`).
MONTH_BY_MONTH_ROWS = 1_000_000

# Rows grouped first (see `_grouped`): a dataset whose KPIs read only columns of these types
# (few distinct values each) has its rows counted per month and combination of those columns,
# and every sum is taken over those groups. Tests turn it off to compare with the rows.
GROUP_TYPES = (pl.String, pl.Boolean, pl.Categorical, pl.Enum)
GROUP_FIRST = True
COUNT = "__n"  # a group's number of rows


def _total(row: pl.Expr, n: pl.Expr | None, whole: bool = False) -> pl.Expr:
    """The sum of a quantity per row (a summand, see `summands_of`) over the rows, or, with
    `n` the number of rows in each group of rows that share every column it reads, of each
    group's quantity times that number: the same whole number (only whole-number and
    true/false quantities are summed so, `_group_keys`). A `whole` quantity (whole numbers,
    not flags) is summed in 128 bits (WIDE): Polars adds 64-bit integers modulo 2**64, so
    three values of 2**62 summed to -2**62, a sum with the wrong sign."""
    if whole:
        return row.cast(WIDE).sum() if n is None else (row.cast(WIDE) * n).sum()
    return row.sum() if n is None else (row.cast(pl.Int64) * n).sum()


# The type every sum of whole numbers is taken in: no sum of fewer than 2**64 values of 64
# bits can pass it, so a month's sum is exact, and the months' sums are added as Python's
# integers (`months_total`), exact however large.
WIDE = pl.Int128


# A fraction's sum is added exactly, so that it does not depend on the order the rows are read
# in: the same rows read from the store, from the rows the summary held (`_HELD`), in another
# number of threads or files, give the same figure to the bit. It is the sum of the decimals
# the values were written as (the conformer stores each number as written, and a float prints
# as the decimal it was read from): 0.1 + 0.2 is 0.3, where the floats' own sum, even exact,
# is 0.30000000000000004 (one sum in eight of a few pounds and pence). Each value that is a
# decimal of at most nine places (four from DECIMAL_LIMITS' first bound on) is that decimal
# in units of 10**-9, a 128-bit integer (`_decimal_units`); the group's sum of those integers
# is made a float once, correctly rounded (`_decimal_float`, `decimal_total`). A group with
# any other value (a third of a minute, 1e-12) is summed as the floats' own exact sum: each
# finite value split into its whole part (towards zero, so that the fraction is exact) and its
# fraction in units of 2**-64 (rounded below 2**-65, far below any printed figure); both
# summed as 128-bit integers, which no order changes, and put together as one integer of
# 2**-64 units made a float once (`_exact_sum`, `exact_total`). A value not finite, beyond
# EXACT_LIMIT, or a whole sum beyond WHOLE_LIMIT (so the units fit 128 bits) leaves the
# group's sum to Polars' own (a NaN or infinity is no figure anyway).
FRACTION_UNITS = 2.0**64
EXACT_LIMIT = 2.0**90
WHOLE_LIMIT = 2**62
# A value below each bound is read as a decimal of at most that many places when it is one:
# below the bound, two such decimals are further apart than a float's spacing, so the one
# nearest the value is its only candidate, and it is the value's decimal exactly when it
# converts back to the value (the test `_decimal_units` makes).
DECIMAL_PLACES = 9
DECIMAL_LIMITS = expressions.DECIMAL_LIMITS  # the bounds row arithmetic reads decimals by


# The columns a month's total of a float quantity carries besides its sum (see `_totals`):
# its exact pieces, so that a window of several months is the exact sum of all their rows
# (`months_total`), the same bits as one sum over those rows (`_exact_sum`).
WHOLES, UNITS, ORDINARY, DECIMALS = "\twholes", "\tunits", "\tordinary", "\tdecimals"
PIECES = (WHOLES, UNITS, ORDINARY, DECIMALS)


def _split(row: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """Each value of a float quantity split: its whole part and its fraction in 2**-64 units,
    as 128-bit integers (null where not plain), whether it is plain (finite and below
    EXACT_LIMIT), and its fraction as a decimal in 10**-9 units (null where the value is no
    decimal of few places, see `_decimal_units`)."""
    value = row.cast(pl.Float64)
    # Towards zero: -0.00001 is 0 and -0.00001 (exact), where floor would give -1 and
    # 0.99999, a fraction the float cannot hold exactly.
    whole = pl.when(value < 0).then(value.ceil()).otherwise(value.floor())
    plain = value.is_finite() & (value.abs() < EXACT_LIMIT)
    return (pl.when(plain).then(whole).cast(pl.Int128),
            pl.when(plain).then(((value - whole) * FRACTION_UNITS).round()).cast(pl.Int128),
            plain, _decimal_units(value, whole))


def _decimal_units(value: pl.Expr, whole: pl.Expr) -> pl.Expr:
    """A float value's fraction as the decimal it prints as, in units of
    10**-DECIMAL_PLACES (an integer below 10**9 in size), where that decimal has at most the
    places DECIMAL_LIMITS allows for the value's size; null otherwise. The value's decimal is
    its whole part (towards zero) and this. The candidate is the fraction rounded to the
    places; it is the value's decimal exactly when, divided back, it is the value."""
    (places, near), (fewer, far) = DECIMAL_LIMITS
    size = value.abs()
    small = size < near

    def by_size(exponent: int, other: int) -> pl.Expr:
        return pl.when(small).then(pl.lit(10.0**exponent)).otherwise(pl.lit(10.0**other))

    scale = by_size(places, fewer)
    digits = ((value - whole) * scale).round()
    # Correctly rounded (`quotient`), as the test needs: Polars holds `scale` as one value
    # where every row is below `near`, and would multiply by its reciprocal.
    exact = (size < far) & (column_quotient(whole * scale + digits, scale) == value)
    units = digits * by_size(DECIMAL_PLACES - places, DECIMAL_PLACES - fewer)
    return pl.when(exact).then(units).cast(pl.Int64)


def _decimal_float(units: pl.Expr) -> pl.Expr:
    """A sum in 10**-DECIMAL_PLACES units (a 128-bit integer) as the float nearest it: written
    out as decimal text and read, which rounds once (as `decimal_total` does in Python)."""
    digits = units.abs().cast(pl.String).str.zfill(DECIMAL_PLACES + 1)
    text = pl.concat_str(pl.when(units < 0).then(pl.lit("-")).otherwise(pl.lit("")),
                         digits.str.slice(0, digits.str.len_chars() - DECIMAL_PLACES),
                         pl.lit("."), digits.str.slice(-DECIMAL_PLACES))
    return text.cast(pl.Float64)


def decimal_total(units: int) -> float:
    """A sum in 10**-DECIMAL_PLACES units as the float nearest it (Python divides integers
    correctly rounded): the same bits as `_decimal_float`."""
    return units / 10**DECIMAL_PLACES


def _exact_pieces(row: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """The sums of a float quantity's whole parts and of its fractions in 2**-64 units, as
    128-bit integers, whether the sum is left to Polars' own (a value not finite or beyond
    EXACT_LIMIT, or whole parts summing beyond WHOLE_LIMIT), and the sum of its decimals in
    10**-9 units (null where a value is no decimal of few places): the pieces PIECES name."""
    whole, fraction, plain, decimal = _split(row)
    wholes, units = whole.sum(), fraction.sum()
    ordinary = (row.is_not_null() & ~plain).any() | (wholes.abs() >= WHOLE_LIMIT)
    # Every value a decimal: its whole parts (plain, as they are) and its decimal fractions.
    decimals = (pl.when((row.is_not_null() & decimal.is_null()).any())
                .then(pl.lit(None, dtype=pl.Int128))
                .otherwise(wholes * 10**DECIMAL_PLACES + decimal.sum().cast(pl.Int128)))
    return wholes, units, ordinary, decimals


def _exact_sum(row: pl.Expr) -> pl.Expr:
    """The sum of a float quantity per row, the same whatever order its rows come in."""
    wholes, units, ordinary, decimals = _exact_pieces(row)
    # Below WHOLE_LIMIT (else `ordinary`), wholes x 2**64 + units fits 128 bits; made a float
    # once, the sum is correctly rounded, and scaling by 2**-64 is exact.
    total = wholes * pl.lit(int(FRACTION_UNITS), dtype=pl.Int128) + units
    exact = (pl.when(decimals.is_not_null()).then(_decimal_float(decimals))
             .otherwise(total.cast(pl.Float64) / FRACTION_UNITS))
    return pl.when(ordinary).then(row.cast(pl.Float64).sum()).otherwise(exact)


def exact_total(wholes: int, units: int, decimals: int | None = None) -> float:
    """`_exact_sum` put together from its pieces summed over several groups of rows (months):
    the same one rounding of the same integer, so the same bits as `_exact_sum` over all
    those rows."""
    if decimals is not None:
        return decimal_total(decimals)
    return float(wholes * int(FRACTION_UNITS) + units) / FRACTION_UNITS


def months_total(sums: Sequence[float | int | None],
                 pieces: Mapping[str, Sequence[Any]] | None = None) -> float | int:
    """A quantity's sum over several months from each month's sum and, for a fraction, each
    month's exact pieces (PIECES, each a list by month): `exact_total` of the pieces summed,
    the bits one exact sum over all their rows gives (`_exact_sum`); where a month's sum was
    left to Polars (ORDINARY) or has no pieces, `math.fsum` of the months' sums (the same
    whatever their order); whole numbers and flags as integers."""
    if not any(isinstance(v, float) for v in sums):
        return sum(v or 0 for v in sums)
    if pieces is None or any(w is None for w in pieces[WHOLES]) or any(pieces[ORDINARY]):
        return math.fsum(v or 0.0 for v in sums)
    whole = sum(pieces[WHOLES])
    if abs(whole) >= WHOLE_LIMIT:  # as `_exact_sum` over all the rows
        return math.fsum(v or 0.0 for v in sums)
    decimals = pieces[DECIMALS]
    return exact_total(whole, sum(u or 0 for u in pieces[UNITS]),
                       None if any(d is None for d in decimals) else sum(decimals))


def months_part(months: Sequence[dict[str, float | None]], name: str) -> float | int:
    """One component summed over several months' parts (as `ByMonth.monthly` gives them, a
    fraction's with its exact pieces): `months_total`."""
    held = all(name + tag in m for m in months for tag in PIECES)
    return months_total([m.get(name) for m in months],
                        {tag: [m[name + tag] for m in months] for tag in PIECES} if held
                        else None)


def _totals(frame: pl.LazyFrame, summed: dict[str, pl.Expr], n: pl.Expr | None,
            pieces: bool = False) -> list[pl.Expr]:
    """Each quantity's sum (see `_total`), named; a quantity in fractions summed exactly (see
    `_exact_sum`), whole numbers and flags as integers. With `pieces`, a sum of fractions is
    its exact pieces instead (columns named with PIECES, which `months_total` puts
    together over any months), beside Polars' own sum, which stands only
    where a value is left to it (ORDINARY)."""
    if not summed:
        return []
    types = frame.select(e.alias(a) for a, e in summed.items()).collect_schema()
    out = []
    for a, e in summed.items():
        if types[a].is_decimal():
            # A decimal literal makes a Decimal (`net * 1.2`, VAT): each row's exact decimal
            # as the float that prints as it, summed as every fraction is, as written (a
            # Decimal sum reached the faces as a Decimal, which no JSON or workbook writes).
            e = e.cast(pl.Float64)
            types = {**types, a: pl.Float64}
        exact = n is None and types[a].is_float()
        if exact and pieces:
            out.append(e.cast(pl.Float64).sum().alias(a))
            out += [p.alias(a + tag) for p, tag in zip(_exact_pieces(e), PIECES, strict=True)]
        else:
            whole = types[a].is_integer()
            out.append((_exact_sum(e) if exact else _total(e, n, whole)).alias(a))
    return out


def _group_keys(schema: pl.Schema, read: Iterable[pl.Expr], summed: Iterable[pl.Expr],
                masks: Iterable[str] = ()) -> set[str] | None:
    """The columns the expressions read (besides the month and the mask columns named), when
    every one is text or a flag and every expression `summed` gives whole numbers or
    true/false; None otherwise (a number or date column has too many values to group by, and
    a fraction summed over groups could differ in its last bit from its sum over the rows)."""
    summed = list(summed)
    roots = {r for e in (*read, *summed) for r in e.meta.root_names()} - set(masks) - {"month"}
    if not all(r in schema and schema[r].base_type() in GROUP_TYPES for r in roots):
        return None
    probe = pl.LazyFrame(schema=schema).with_columns(pl.lit(True).alias(m) for m in masks)
    try:
        types = probe.select(e.alias(f"__e{i}") for i, e in enumerate(summed)).collect_schema()
    except pl.exceptions.PolarsError:
        return None  # the rows' own query names the problem
    if not all(t == pl.Boolean or t.is_integer() for t in types.values()):
        return None
    return roots


@dataclass(frozen=True)
class _Grouped:
    months: frozenset[str]
    keys: frozenset[str]
    frame: pl.DataFrame  # month, the keys, and COUNT


# A table's grouped rows (by path, point in history, latest commit and dataset definition),
# so that the board's breakdowns and series, asked after the summary's figures, read the
# groups the summary read rather than the rows again. A new commit changes the key.
_GROUPED: dict[tuple, list[_Grouped]] = {}


# Grouping first pays, and holds little in memory, only where rows share few combinations of
# the columns read: when the latest month read has more than GROUPS_HELD groups and more than
# a quarter as many groups as rows (a text column of many values, such as an id, is read),
# the dataset is read row by row, in memory bounded as before.
GROUPS_HELD = 10_000


def _grouped(project: Project, dataset_id: str, as_of: AsOf | None, scan: pl.LazyFrame,
             months: Sequence[str], keys: set[str]) -> pl.DataFrame | None:
    """The rows of `months` counted per month and combination of `keys` (column COUNT), read
    in streaming queries (the latest month held first, to see that it groups), or the groups
    already read of a superset of those months and keys; None where rows do not group."""
    path = store.table_path(project, dataset_id)
    latest = store.table_state(path)  # a table made again can reach a version it had
    cacheable = latest is not None and latest[1] is not None
    key = (str(path), as_of, latest, project.datasets[dataset_id])
    month = pl.col("month")
    held = {str(m) for m in store.months(project, dataset_id, as_of)}
    for got in _GROUPED.get(key, []) if cacheable else []:
        # A month the table does not hold has no rows, read or not.
        if set(months) & held <= got.months and keys <= got.keys:
            return got.frame.filter(month.is_in(list(months)))

    def count(frame: pl.LazyFrame) -> pl.DataFrame:
        return (frame.group_by("month", *sorted(keys)).agg(pl.len().alias(COUNT))
                .collect(engine="streaming"))

    first = max(set(months) & held, default=None)
    frame = count(scan.filter(month == first)) if first is not None else None
    if frame is not None and frame.height > GROUPS_HELD and 4 * frame.height > frame[COUNT].sum():
        return None
    rest = count(scan.filter(month.is_in([m for m in months if m != first])))
    frame = pl.concat([frame, rest]) if frame is not None else rest
    if cacheable:
        if sum(len(v) for v in _GROUPED.values()) > 64:
            _GROUPED.clear()
        _GROUPED.setdefault(key, []).append(_Grouped(frozenset(months), frozenset(keys), frame))
    return frame



# A small table's rows (fewer than MONTH_BY_MONTH_ROWS), as the summary read them: the months
# it read and only the columns its KPIs read or declare as breakdowns, held in memory so that
# its queries (the sums, each median's count table) and, after the summary's figures, the
# board's breakdowns run over them rather than reading the table's files again. Keyed as
# `_GROUPED` is; a new commit changes the key. At most HELD_ROWS rows are held at once.
_HELD: dict[tuple, list[_Grouped]] = {}
HELD_ROWS = MONTH_BY_MONTH_ROWS


def _held_key(project: Project, dataset_id: str, as_of: AsOf | None) -> tuple | None:
    path = store.table_path(project, dataset_id)
    latest = store.table_state(path)  # a table made again can reach a version it had
    if latest is None or latest[1] is None:
        return None
    return (str(path), as_of, latest, project.datasets[dataset_id])


def _held(project: Project, dataset_id: str, as_of: AsOf | None, months: Sequence[str],
          columns: set[str]) -> pl.DataFrame | None:
    """The rows of `months` with `columns` held from an earlier read (see `_HELD`), or None."""
    key = _held_key(project, dataset_id, as_of)
    if key is None or key not in _HELD:
        return None
    stored = {str(m) for m in store.months(project, dataset_id, as_of)}
    for got in _HELD[key]:
        # A month the table does not hold has no rows, read or not.
        if set(months) & stored <= got.months and columns <= got.keys:
            return got.frame
    return None


def _hold(project: Project, dataset_id: str, as_of: AsOf | None, scan: pl.LazyFrame,
          months: Sequence[str], columns: set[str]) -> pl.DataFrame:
    """Read the rows of `months` with `columns` (one streaming query) and hold them."""
    rows = (scan.filter(pl.col("month").is_in(list(months))).select(sorted(columns))
            .collect(engine="streaming"))
    key = _held_key(project, dataset_id, as_of)
    if key is not None:
        if sum(g.frame.height for v in _HELD.values() for g in v) + rows.height > HELD_ROWS:
            _HELD.clear()
        _HELD.setdefault(key, []).append(_Grouped(frozenset(months), frozenset(columns), rows))
    return rows


def _roots(exprs: Iterable[pl.Expr]) -> set[str]:
    """The columns the expressions read."""
    return {name for e in exprs for name in e.meta.root_names()}


@dataclass
class _Plan:
    """The queries of one read of a dataset's months (see `_plan`): each query is built on a
    frame of rows, grouped by `by` (the month, or nothing for one month's rows), and given
    the column of each row's number of rows when its rows are groups (`grouped`)."""

    dataset_id: str
    scan: pl.LazyFrame
    months: list[str]
    queries: list[Callable[[pl.LazyFrame, list[str], pl.Expr | None], pl.LazyFrame]]
    finish: Callable[[list[pl.DataFrame]], ByMonth]
    rows: int  # stored rows of the dataset
    grouped: Callable[[], pl.DataFrame | None] | None = None
    # A small table's rows, read once and held (see `_HELD`), where its rows are read more
    # than once: several queries, or breakdowns the board asks after the summary.
    hold: Callable[[], pl.DataFrame] | None = None
    project: Project | None = None  # to name the KPI of an expression that fails

    def run(self) -> ByMonth:
        """Each query's result, with the month as column __month. Rows that can be grouped
        first (see `_grouped`) are read in one grouped query, and the queries run on its
        groups. Otherwise a large table is read month by month, each month's queries
        collected together (Polars reads the month's files once for all of them), and each a
        plain aggregate: Polars sums a column about twice as fast as it sums it by group, and
        one month at a time holds one month's batches. A small table (where starting a query
        costs more than reading its rows) is read in one query per kind, grouped by month."""
        month = pl.col("month")
        try:
            groups = self.grouped() if self.grouped is not None else None
            if groups is not None:
                frames = [got.rename({"month": "__month"}) for got in pl.collect_all(
                    [query(groups.lazy(), ["month"], pl.col(COUNT))
                     for query in self.queries])]
            elif self.rows < MONTH_BY_MONTH_ROWS:
                # Rows held may be of more months than these (an earlier read's).
                frame = (self.hold().lazy() if self.hold is not None
                         else self.scan).filter(month.is_in(self.months))
                frames = [query(frame, ["month"], None).collect(engine="streaming")
                          .rename({"month": "__month"}) for query in self.queries]
            else:
                each = [pl.collect_all([query(self.scan.filter(month == m), [], None)
                                        for query in self.queries], engine="streaming")
                        for m in self.months]
                frames = [pl.concat([got[i].with_columns(pl.lit(m).alias("__month"))
                                     for m, got in zip(self.months, each, strict=True)])
                          for i in range(len(self.queries))]
        except pl.exceptions.PolarsError as exc:
            raise _compute_error(self.dataset_id, exc, self.project) from None
        return self.finish(frames)


def _plan(project: Project, dataset_id: str, measures: dict[str, KpiDef], months: list[str],
          as_of: AsOf | None, blanks: Sequence[str] = (), hold_rows: bool = False) -> _Plan:
    """The queries that compute every component of a dataset's measures (by id) in each of
    the given months, and the function turning their results into a `ByMonth`, from which
    each window's parts and each month's are read. With `blanks`, each month's count of blank
    rows in those columns is read in the same pass (`ByMonth.blanks`, for data quality).

    Every component is additive over months, or read off something that is: sums (counts,
    sums, the parts of rates, shares and means) add up; a median or percentile is read off
    the number of rows holding each distinct value, and a weighted score is the number of
    rows with each key times its weight, both of which add up. So the months are read once,
    and a window, or one month, is the sum of its months."""
    # Each filter's mask is computed once, as a column, however many KPIs and components
    # read it: built inside every aggregate, twenty KPIs make dozens of mask computations
    # over every row where a handful suffice.
    masks: dict[str | None, pl.Expr] = {}
    sums: dict[str, pl.Expr] = {}  # alias -> aggregate of the additive components
    sum_masks: dict[str, pl.Expr] = {}
    # measure -> (component, alias); no alias for a component known to be 0
    parts_of: dict[str, list[tuple[str, str | None]]] = {}
    # Order statistics, by value expression: (measure, mask column, quantile); and weighted
    # scores, by key column: (measure, mask column, KPI).
    ordered: dict[tuple, list[tuple[str, str, Fraction]]] = {}
    order_masks: dict[tuple, dict[str, pl.Expr]] = {}
    values: dict[tuple, pl.Expr] = {}
    weighted: dict[str, list[tuple[str, str, KpiDef]]] = {}
    weight_masks: dict[str, dict[str, pl.Expr]] = {}
    aliases: dict[str, str] = {}  # a sum's expression (serialized) -> its column
    # Only the scan is read here, so derive it first: each value expression's type.
    scan = rows_read(project, dataset_id, as_of)
    refuse_repeated_rolls(project, dataset_id, scan, measures.values(), months, as_of)
    # The identity rule for the text columns the measures read (`refuse_read_spellings`),
    # each month's distinct values read in the totals' own query, not a scan of their own.
    texts = text_read(project.datasets[dataset_id], measures.values())
    types = _value_types(dataset_id, scan, measures.values())
    floats = {value: dtype.is_float() for value, dtype in types.items()}
    for measure_id, kpi in measures.items():
        if kpi.filter not in masks:
            masks[kpi.filter] = rows_of(kpi).alias(f"__rows{len(masks)}")
        mask = masks[kpi.filter]
        name = mask.meta.output_name()
        if kpi.kind == Kind.WEIGHTED_SCORE:
            key = required(kpi.weight_key, f"KPI '{kpi.id}': weight_key")
            weighted.setdefault(key, []).append((measure_id, name, kpi))
            weight_masks.setdefault(key, {})[name] = mask
        elif RECIPES[kpi.kind].additive:
            sum_masks[name] = mask
            for part, expr in summands_of(kpi, pl.col(name)).items():
                if part == NONFINITE and not floats[kpi.value]:
                    # Only a float can be NaN or infinite: nothing to count.
                    parts_of.setdefault(measure_id, []).append((part, None))
                    continue
                # Components many KPIs share (the rows of a filter, say) are summed once.
                alias = aliases.setdefault(expr.meta.serialize(format="json"), f"__sum{len(sums)}")
                sums[alias] = expr
                parts_of.setdefault(measure_id, []).append((part, alias))
        else:
            q = quantile_of(kpi)
            # KPIs ranking the same value (in the same unit) share one count table.
            value = (kpi.value, kpi.unit if kpi.value_is_duration else None)
            ordered.setdefault(value, []).append((measure_id, name, q))
            order_masks.setdefault(value, {})[name] = mask
            values[value] = ranked(_value(kpi), types[kpi.value].is_integer())

    # The rows of each month, alongside the sums: a month read with no row is not held.
    schema = scan.collect_schema()
    spec = project.datasets[dataset_id]
    blank_rows = {f"{BLANK}{c}": blank_in(c, schema[c], spec) for c in blanks if c in schema}

    # The aggregates are built once for each way a plan reads (see `_Plan.run`): grouped
    # first, a small table by month, or a large one a month at a time. The frames one way
    # reads differ only in the month they keep, never in their columns' types, which
    # `_totals` resolves (month by month, resolving them again cost more than reading).
    built: dict[tuple[tuple[str, ...], bool], list[pl.Expr]] = {}

    def totals(frame: pl.LazyFrame, by: list[str], n: pl.Expr | None) -> pl.LazyFrame:
        frame = frame.with_columns(list(sum_masks.values()))
        way = (tuple(by), n is None)
        if way not in built:
            built[way] = [*_totals(frame, sums, n, pieces=True),
                          (pl.len() if n is None else n.cast(pl.Int64).sum()).alias("__rows"),
                          *_totals(frame, blank_rows, n)]
            built[way] += [(pl.col(c).drop_nulls().unique() if by
                            else pl.col(c).drop_nulls().unique().implode()).alias(f"{TEXT}{c}")
                           for c in texts]
        aggs = built[way]
        return frame.group_by(by).agg(aggs) if by else frame.select(aggs)

    queries = [totals]
    # A median or percentile needs every value it ranks; held in the one query, they would
    # keep every column that query reads in memory. Counting the rows per distinct value
    # instead streams in memory bounded by the number of distinct values, and the statistic
    # is read off the sorted counts exactly.
    for value, wanted_masks in order_masks.items():
        queries.append(lambda frame, by, n, v=value, w=wanted_masks:
                       _counts_by(frame, values[v], w, by, n))
    # A weighted score likewise: rows counted per key, each count times the key's weight.
    # (A lookup of each row's weight cannot stream; a join carries every column through.)
    # Keys are matched by their identity (`text.identity_key`: case, spacing, invisible
    # characters, a code's leading zeros), as the weights file's are (`_read_weights`): the
    # few counted keys are keyed, not every row's.
    for column, wanted_masks in weight_masks.items():
        queries.append(lambda frame, by, n, c=column, w=wanted_masks:
                       _counts_by(frame, pl.col(c).cast(pl.String), w, by, n)
                       .with_columns(identity_key(pl.col("__value"))))

    # Rows grouped first, when every expression read allows it (see `_group_keys`), by the
    # columns the KPIs read and the breakdowns they declare, so the board's breakdowns and
    # series find those groups already read (`_grouped`).
    grouped = None
    if GROUP_FIRST and not order_masks:
        names = [m.meta.output_name() for m in masks.values()]
        keys = _group_keys(schema, [*masks.values(), *(pl.col(c) for c in weight_masks)],
                           [*sums.values(), *blank_rows.values()], names)
        if keys is not None:
            keys |= {c for kpi in measures.values() for c in kpi.breakdowns
                     if c in schema and schema[c].base_type() in GROUP_TYPES}
            keys |= set(texts)  # a derived column's text, for the identity rule
            grouped = partial(_grouped, project, dataset_id, as_of, scan, months, keys)
    # With `hold_rows`, rows held (read once) where a small table would otherwise be read
    # more than once: by several queries, or again by the breakdowns its KPIs declare.
    hold = None
    declared = {c for kpi in measures.values() for c in kpi.breakdowns if c in schema}
    if hold_rows and (len(queries) > 1 or declared):
        read = _roots([*masks.values(), *sums.values(), *values.values(),
                       *(pl.col(c) for c in weight_masks), *blank_rows.values()])
        columns = (read | declared | set(texts) | {"month"}) & set(schema.names())
        hold = partial(_held_rows, project, dataset_id, as_of, scan, months, columns)

    def finish(frames: list[pl.DataFrame]) -> ByMonth:
        frames = list(frames)
        held = frames.pop(0)
        refuse_text(dataset_id, texts, {c: held.get_column(f"{TEXT}{c}").explode().drop_nulls()
                                        .unique().sort().to_list() for c in texts})
        held = held.drop(f"{TEXT}{c}" for c in texts)
        return ByMonth(project, parts_of, held.filter(pl.col("__rows") > 0),
                       list(zip(ordered.values(), frames[:len(ordered)], strict=True)),
                       list(zip(weighted.values(), frames[len(ordered):], strict=True)))

    # Only the months asked are read, and month is the table's partition column: a store
    # holding years of history is read for the months compared, not all of it.
    return _Plan(dataset_id, scan, months, queries, finish,
                 store.row_count(project, dataset_id, as_of), grouped, hold, project)


def _held_rows(project: Project, dataset_id: str, as_of: AsOf | None, scan: pl.LazyFrame,
               months: Sequence[str], columns: set[str]) -> pl.DataFrame:
    """The rows held of those months and columns, read now if they are not."""
    held = _held(project, dataset_id, as_of, months, columns)
    return held if held is not None else _hold(project, dataset_id, as_of, scan, months,
                                               columns)


def _value_types(dataset_id: str, scan: pl.LazyFrame, kpis: Iterable[KpiDef]
                 ) -> dict[str | None, pl.DataType]:
    """The type each KPI value expression gives: a float may be NaN or infinite; whole
    numbers are ranked as them (`ranked`)."""
    exprs = {k.value: _value(k) for k in kpis if k.value is not None}
    try:
        schema = scan.select(*(e.alias(f"v{i}") for i, e in enumerate(exprs.values())))\
            .collect_schema()
    except pl.exceptions.PolarsError as exc:
        raise _compute_error(dataset_id, exc) from None
    return dict(zip(exprs, schema.values(), strict=True))


class ByMonth:
    """A dataset's KPI components in each month read (see `_plan`): the parts of any window,
    or of any one month, by adding up months."""

    def __init__(self, project: Project, parts_of: dict[str, list[tuple[str, str | None]]],
                 totals: pl.DataFrame, ordered: list, weighted: list):
        self.project = project
        self.parts_of = parts_of
        self.held = sorted(totals["__month"].to_list())  # months that hold rows
        self._frame = totals
        self.totals = {row["__month"]: row for row in totals.iter_rows(named=True)}
        # A float column's sums are added exactly over months (`_sum`), whole numbers as integers.
        self.floats = {name for name, dtype in totals.schema.items() if dtype.is_float()}
        self.ordered = ordered
        self.weighted = weighted
        # A weighted KPI's weights by key: (weight, whole part, fraction in 2**-64 units,
        # plain, fraction as a decimal in 10**-9 units or None), as `_split` splits them.
        self._weights: dict[str, dict[str, tuple[float, int, int, bool, int | None]]] = {}
        # An order statistic, by (count table, mask, quantile, months): (value, rows, rows
        # whose value is not finite). Read off the counts in Polars: a table holds a row per
        # distinct value and month, a million for a continuous column at 10M rows.
        self._stats: dict[tuple, tuple[float | None, int, int]] = {}
        # A weighted score's keys and each mask's rows per key, by (count table, months):
        # few keys (those of its weights file), so kept as lists.
        self._keys: dict[tuple[int, tuple[str, ...]], tuple[list, dict[str, list[int]]]] = {}
        for table in (counts for _, counts in weighted):
            for (month,), part in table.partition_by("__month", as_dict=True,
                                                     include_key=False).items():
                self._keys[(id(table), (month,))] = _lists(part)

    def blanks(self) -> dict[str, dict[str, int]]:
        """Each month's rows and blank rows per column counted (see `_plan`'s `blanks`)."""
        return _blank_counts(self._frame)

    def prefetch(self, windows: Iterable[Window]) -> None:
        """Sum each count table over every window of several months in one query (rather
        than one query per window)."""
        spans = sorted({tuple(str(m) for m in w.months()) for w in windows})
        spans = [span for span in spans if len(span) > 1]
        if not spans:
            return
        for requests, table in self.ordered:
            # One window at a time: a window's sums hold each distinct value once, where
            # the windows joined at once would hold the month table over again.
            summed = pl.concat([_summed(table.filter(pl.col("__month").is_in(span))
                                        .with_columns(pl.lit(i).alias("__span")), "__span")
                                for i, span in enumerate(spans)])
            stats = _quantiles_all(summed, "__span", [(mask, q) for _, mask, q in requests])
            for (_, mask, q), got in zip(requests, stats, strict=True):
                for i, span in enumerate(spans):
                    self._stats[(id(table), mask, q, span)] = got.get(i, (None, 0, 0))
        for _, table in self.weighted:
            for span in spans:
                self._keyed(table, list(span), "")

    def _order_stat(self, table: pl.DataFrame, mask: str, q: Fraction, months: list[str]
                    ) -> tuple[float | None, int, int]:
        key = (id(table), mask, q, tuple(months))
        # Every statistic read off this table is worked out at once: every month's (the
        # verdicts' series) or one span's. A month where the mask holds no row has no entry.
        done = (id(table), "every month" if len(months) == 1 else tuple(months))
        if key not in self._stats and done not in self._stats:
            wanted = next([(m, r) for _, m, r in requests]
                          for requests, counts in self.ordered if counts is table)
            if len(months) == 1:
                for (m, r), stats in zip(wanted, _quantiles_all(table, "__month", wanted),
                                         strict=True):
                    for month, got in stats.items():
                        self._stats[(id(table), m, r, (month,))] = got
            else:
                summed = _summed(table.filter(pl.col("__month").is_in(months))
                                 .with_columns(pl.lit(0).alias("__span")), "__span")
                for (m, r), stats in zip(wanted, _quantiles_all(summed, "__span", wanted),
                                         strict=True):
                    self._stats[(id(table), m, r, tuple(months))] = stats.get(0, (None, 0, 0))
            self._stats[done] = (None, 0, 0)
        return self._stats.get(key, (None, 0, 0))  # a month without rows

    def _keyed(self, table: pl.DataFrame, months: list[str], mask: str) -> tuple[list, list]:
        key = (id(table), tuple(months))
        if key not in self._keys:
            if len(months) == 1:
                return [], []  # a month without rows
            summed = _summed(table.filter(pl.col("__month").is_in(months))
                             .with_columns(pl.lit(0).alias("__span")), "__span")
            self._keys[key] = _lists(summed.drop("__span"))
        values, counts = self._keys[key]
        return values, counts.get(mask, [])

    def window(self, measure_id: str, window: Window) -> dict[str, float | None]:
        """The measure's components over a window: the sum of its months'."""
        return self._parts(measure_id, [str(m) for m in window.months()])

    def monthly(self) -> Monthly:
        """Every measure's components in each month that holds rows."""
        out: Monthly = {}
        ids = [*self.parts_of, *(m for requests, _ in self.ordered for m, _, _ in requests),
               *(m for requests, _ in self.weighted for m, _, _ in requests)]
        for measure_id in dict.fromkeys(ids):
            weighted = self._weighted(measure_id)
            if weighted is not None:  # the score and its pieces, worked out once a month
                out[measure_id] = {month: self._month_score(weighted, month)
                                   for month in self.held}
                continue
            out[measure_id] = {month: {**self._parts(measure_id, [month]),
                                       **self._pieces(measure_id, month)}
                               for month in self.held}
        return out

    def _weighted(self, measure_id: str) -> tuple[pl.DataFrame, str, KpiDef] | None:
        """A weighted score's count table, mask and KPI; None for another measure."""
        for requests, table in self.weighted:
            for measure, mask, kpi in requests:
                if measure == measure_id:
                    return table, mask, kpi
        return None

    def _month_score(self, weighted: tuple[pl.DataFrame, str, KpiDef], month: str
                     ) -> dict[str, Any]:
        """A weighted score's month: its score and, for a month of the totals, its exact
        pieces (`_score`)."""
        score = self._score(*weighted, [month])
        return score if month in self.totals else {"n": score["n"]}

    def _sum(self, alias: str | None, rows: list[dict]) -> float | int:
        """A component's sum over months: a float's exact, from its months' exact pieces (the
        bits one sum over all their rows gives), else as integers."""
        if alias is None:
            return 0
        if alias not in self.floats:
            return sum(r[alias] or 0 for r in rows)
        if alias + WHOLES not in self._frame.columns:
            return math.fsum(r[alias] or 0.0 for r in rows)
        return months_total([float(r[alias] or 0.0) for r in rows],
                            {tag: [r[alias + tag] for r in rows] for tag in PIECES})

    def _pieces(self, measure_id: str, month: str) -> dict[str, float | None]:
        """A month's exact pieces of each of the measure's fractions (keyed part + each of
        PIECES), so that a sum over months made from `monthly` is exact too
        (`months_part`)."""
        row = self.totals.get(month)
        if row is None:
            return {}
        return {part + tag: row[alias + tag] for part, alias in self.parts_of.get(measure_id, ())
                if alias is not None and alias + WHOLES in self._frame.columns
                for tag in PIECES}

    def _parts(self, measure_id: str, months: list[str]) -> dict[str, float | None]:
        rows = [self.totals[m] for m in months if m in self.totals]
        if measure_id in self.parts_of:
            return {part: self._sum(alias, rows) for part, alias in self.parts_of[measure_id]}
        for requests, table in self.ordered:
            for measure, mask, q in requests:
                if measure == measure_id:
                    stat, n, nonfinite = self._order_stat(table, mask, q, months)
                    # NaN and infinite values (a division by zero) leave the KPI without a
                    # figure.
                    return {"stat": stat, "den": n, NONFINITE: nonfinite}
        weighted = self._weighted(measure_id)
        if weighted is not None:
            return {"n": self._score(*weighted, months)["n"]}
        raise KeyError(measure_id)

    def _score(self, table: pl.DataFrame, mask: str, kpi: KpiDef, months: list[str]
               ) -> dict[str, Any]:
        """A weighted score over months, the exact sum of its rows' weights (`_exact_sum`,
        as `kpi compare` and a breakdown sum the joined weight column): each key's rows
        times its weight's exact pieces, added as integers and made a float once, with the
        pieces (keyed "n" + each of PIECES) so that a sum over months made from
        `monthly` is the same bits (`months_part`). A weight left to Polars' own sum (not
        plain, or whole parts beyond WHOLE_LIMIT) gives `math.fsum` of the products."""
        if kpi.id not in self._weights:
            # A key without a weight weighs 0, as the join gives it (`_with_weights`).
            weight = pl.col("weight").fill_null(0.0)
            whole, fraction, plain, decimal = _split(weight)
            split = _weights_of(self.project, kpi).select(
                "key", weight, whole.alias("w"), fraction.alias("u"), plain.alias("p"),
                decimal.alias("d"))
            self._weights[kpi.id] = {key: (weight, w, u, p, d)
                                     for key, weight, w, u, p, d in split.iter_rows()}
        weights = self._weights[kpi.id]
        keys, counts = self._keyed(table, months, mask)
        counted = [(weights.get(key, (0.0, 0, 0, True, 0)), n)
                   for key, n in zip(keys, counts, strict=True) if n]
        wholes = sum(w * n for (_, w, _, p, _), n in counted if p)
        units = sum(u * n for (_, _, u, p, _), n in counted if p)
        ordinary = not all(p for (_, _, _, p, _), _ in counted) or abs(wholes) >= WHOLE_LIMIT
        fractions = [(w, d, n) for (_, w, _, _, d), n in counted]
        decimals = (sum((w * 10**DECIMAL_PLACES + d) * n for w, d, n in fractions if d is not None)
                    if all(d is not None for _, d, _ in fractions) else None)
        score = (math.fsum(weight * n for (weight, *_), n in counted) if ordinary
                 else exact_total(wholes, units, decimals))
        return {"n": float(score), "n" + WHOLES: wholes, "n" + UNITS: units,
                "n" + ORDINARY: ordinary, "n" + DECIMALS: decimals}


def _summed(table: pl.DataFrame, group: str) -> pl.DataFrame:
    """A count table's rows per distinct value summed within each group (of months)."""
    masks = [c for c in table.columns if c not in ("__month", "__value", group)]
    return table.group_by(group, "__value").agg(pl.col(masks).cast(pl.Int64).sum())


def _lists(part: pl.DataFrame) -> tuple[list, dict[str, list[int]]]:
    """A count table's distinct values, ascending, and each mask's rows per value."""
    part = part.sort("__value")
    return (part["__value"].to_list(),
            {m: part[m].to_list() for m in part.columns if m not in ("__month", "__value")})


def _quantiles(counts: pl.DataFrame, group: str, mask: str, q: Fraction
               ) -> dict[object, tuple[float | None, int, int]]:
    """Per group: the q-quantile of the values in `mask` (as `_quantile` reads it off the
    counts), their number, and the number that are not finite; computed in Polars, so a
    table of a million distinct values never becomes Python objects."""
    return _quantiles_all(counts, group, [(mask, q)])[0]


def _quantiles_all(counts: pl.DataFrame, group: str, wanted: Sequence[tuple[str, Fraction]]
                   ) -> list[dict[object, tuple[float | None, int, int]]]:
    """`_quantiles` of each (mask, q) wanted of one count table, in one `collect_all`: a
    query each, which Polars runs together (one at a time, each query's start cost more
    than its work on a small table)."""
    n = pl.col("__n")
    queries = []
    for mask, q in wanted:
        ranked = (counts.lazy().select(group, "__value", pl.col(mask).cast(pl.Int64).alias("__n"))
                  .filter(n > 0).sort("__value")
                  .with_columns(n.cum_sum().over(group).alias("__cum"),
                                n.sum().over(group).alias("__total")))
        # As in _quantile: the position (n - 1) * q, and the first value whose cumulative
        # count passes its floor, and the floor plus one. Rows keep their order within a
        # group (in a window and in a group_by), so sorting by value alone orders each group:
        # sorting by the month's text as well took twice as long.
        below = _below(pl.col("__total"), q)
        value, cumulative = pl.col("__value"), pl.col("__cum")
        queries.append(ranked.group_by(group).agg(
            pl.col("__total").first(),
            value.filter(cumulative > below).first().alias("__lower"),
            value.filter(cumulative > below + 1).first().alias("__upper"),
            n.filter(~value.is_finite()).sum().alias("__nonfinite")))
    return [{key: (_interpolated(total, q, lower, upper), total, nonfinite)
             for key, total, lower, upper, nonfinite in got.iter_rows()}
            for got, (_, q) in zip(pl.collect_all(queries), wanted, strict=True)]


def _interpolated(n: int, q: Fraction, lower: float, upper: float | None) -> float:
    """The q-quantile of n ordered values (linear interpolation, as Polars' `quantile(q,
    "linear")` and DuckDB's `quantile_cont` define it), given the values at the floor of its
    position (n - 1) × q and just above: worked out exactly on the values as written and
    rounded once (`kpi.rounding.as_written`), so the median of £0.10 and £0.20 is 0.15, where
    the floats' interpolation reads 0.15000000000000002 (DuckDB's DECIMAL median gives 0.15).
    A value between two keeps its exact number (`kpi.rounding.figure`), so that the KPI's
    multiplier is applied before the one rounding (`_ordered`): rounded here and again after
    it, the median of 111.85714285714286 and 9.285714285714286 times 100 read
    6057.142857142858, where the exact figure rounds to 6057.142857142857."""
    position = (n - 1) * _bounded(q)
    below = floor(position)
    if position == below or not math.isfinite(lower):
        return lower
    assert upper is not None  # a position between two values has a value above it
    if not math.isfinite(upper):
        return lower + (upper - lower) * float(position - below)
    low = as_written(lower)
    # A whole number from 10**15 stays an int (`rounding.figure`): the median of two middle
    # values past 2**53 whose halfway is whole is that whole number, not the nearest float.
    return figure(low + (as_written(upper) - low) * (position - below))


def _counts_by(scan: pl.LazyFrame, value: pl.Expr, masks: dict[str, pl.Expr],
               groups: Sequence[str] = (), n: pl.Expr | None = None) -> pl.LazyFrame:
    """Per distinct non-null `value` (as column __value), within each group, the number of
    rows in each mask; with `n`, the scan's rows are groups of n rows (see `_total`)."""
    counted = [] if n is None else [n.alias(COUNT)]
    return (scan.with_columns(list(masks.values()))
            .select(*groups, value.alias("__value"), *masks, *counted)
            .filter(pl.col("__value").is_not_null() & pl.any_horizontal(*masks))
            .group_by(*groups, "__value")
            .agg(_total(pl.col(m), None if n is None else pl.col(COUNT)).alias(m)
                 for m in masks))


def monthly_parts(project: Project, dataset_id: str, measures: Iterable[KpiDef],
                  months: list[str], as_of: AsOf | None = None) -> Monthly:
    """Each measure's components per month (measure id -> month -> parts) over the given
    months of one dataset, computed as the summary computes its windows: streaming, in
    memory bounded by the number of months and distinct values, not rows. A month without
    rows is absent."""
    return _plan(project, dataset_id, {m.id: m for m in measures}, months, as_of).run().monthly()


def _measured(project: Project, kpi: KpiDef, window: Window | None,
              parts: dict[tuple[str, Window], dict[str, float | None]]) -> Measured | None:
    if window is None:
        return None
    if kpi.is_derived:
        num_id, den_id = kpi.ratio_of
        num = value_of(project.known_kpi(num_id), parts[(num_id, window)], project)
        den = value_of(project.known_kpi(den_id), parts[(den_id, window)], project)
        value = quotient(num, den, scale_of(kpi, 100))
        return Measured(window, value if value is not None and math.isfinite(value) else None,
                        num, den)
    return measured_of(project, kpi, window, parts[(kpi.id, window)])


def measured_of(project: Project, kpi: KpiDef, window: Window,
                parts: dict[str, float | None]) -> Measured:
    """A KPI of one dataset over a window, from the window's components."""
    def count(name: str) -> int | None:
        got = parts.get(name)
        return None if got is None else int(got)

    return Measured(window, value_of(kpi, parts, project), parts.get("num"), parts.get("den"),
                    count(OUTSIDE), count(UNCOUNTED), count(NEGATIVE), count(UNFLAGGED))


# ---------------------------------------------------------------------------------------------
# Views: monthly series and breakdowns


def latest_month(project: Project, kpi: KpiDef, period: Month,
                 as_of: AsOf | None = None) -> Month | None:
    """The latest month on or before period - lag that the KPI's data holds (any month, even
    when the window ending there is incomplete), or None. A quarter's row stands for its
    three months: a quarter begun on or before period - lag ends the data at its last month,
    so the quarter shown last has its rolling year."""
    ends = []
    for source in measures_of(project, kpi):
        if source.dataset is None or not store.exists(project, source.dataset):
            return None
        try:
            held = [m for m in store.months(project, source.dataset, as_of)
                    if m <= period - kpi.lag]
        except store.NotAtPoint:  # none at the --as-of point; a drifted table refuses
            return None
        if not held:
            return None
        latest = max(held)
        if project.datasets[source.dataset].months_per_row == 3:
            latest = latest + (3 - latest.month % 3) % 3  # the end of its quarter
        ends.append(latest)
    return min(ends)


def figure_frame(data: Sequence[Any] | Mapping[str, Sequence[Any]],
                 schema: Mapping[str, Any]) -> pl.DataFrame:
    """A frame of figures (rows: mappings or tuples in `schema`'s order; or columns), every
    `Float64` column as the one contract of the Python face types it, but one holding a whole
    number no float holds (past 2**53: a sum of whole numbers is exact however large, and
    its JSON and printed figure are every digit) is an `Int128` column of the whole numbers,
    so a trend, a breakdown or a frame gives the figure the summary prints, never the float
    nearest it (9007199254740993 read 9007199254740992, a figure no rows summed to). Beside a
    float (a rate in the summary's column) it is a `Decimal(38, s)` column of every figure
    as the decimal the JSON writes; where 38 digits do not hold them all, a
    DataError naming the column, never a figure rounded away. Every frame of figures the
    Python face and `kpi show` read is made here."""
    names = list(schema)
    if isinstance(data, Mapping):
        columns = {name: list(data[name]) for name in names}
    else:
        rows = list(data)
        columns = {name: [row.get(name) if isinstance(row, Mapping) else row[index]
                          for row in rows] for index, name in enumerate(names)}
    types = dict(schema)
    for name, dtype in schema.items():
        if dtype == pl.Float64:
            types[name], columns[name] = figure_column(name, columns[name])
    # Not strict, as a frame built from rows is: a breakdown's part of a bool or int column
    # is its text ("true", "3") in the String column of parts.
    return pl.DataFrame(columns, schema=types, strict=False)


def plain(value: Any) -> Any:
    """A figure read from a frame as kpi carries it (an int or a float): a `Decimal` cell
    (`figure_column`, a column of figures beside a whole number past 2**53) is the whole
    number past 2**53 it holds, else the float it was made from (its repr), so the text, JSON
    and CSV print it as the summary prints its figures, never a Decimal's text.

    A float past 2**53 is whole, and its repr's decimal too (a mean of
    1152921504606846977.5 is the float 1.152921504606847e+18, the Decimal
    1152921504606847000): that decimal is the float again, never the whole number
    1152921504606847000, which would print every digit as exact. A whole number the column
    holds is one no float's repr writes."""
    if not isinstance(value, Decimal):
        return value
    if value == value.to_integral_value() and abs(value) > 2**53 \
            and Decimal(repr(float(value))) != value:
        return int(value)
    return float(value)


def figure_column(name: str, values: list[Any]) -> tuple[Any, list[Any]]:
    """The type and values of a column of figures `name` (`figure_frame`): `Float64` and the
    values as they are, unless one is a whole number past 2**53 that no float holds."""
    past = [v for v in values if isinstance(v, int) and not isinstance(v, bool)
            and (abs(v) > 2**53 and float(v) != v)]
    if not past:
        return pl.Float64, values
    # Every figure an int (a float, even 32.0 or 4503599627370496.0, the float nearest a
    # mean of ...496.5, is not said to be a whole number): the whole numbers.
    if all(v is None or isinstance(v, int) for v in values) \
            and all(abs(v) < 2**127 for v in values if v is not None):
        return pl.Int128, values
    # Beside floats: each as the decimal it is (its repr, the JSON's figure), in a Decimal
    # column wide enough for all of them.
    exact = [None if v is None else Decimal(v if isinstance(v, int) else repr(v))
             for v in values]
    finite = [d for d in exact if d is not None and d.is_finite()]
    scale = max(0, *(-int(d.as_tuple().exponent) for d in finite))
    digits = max(len(str(abs(int(d)))) for d in finite)
    if len(finite) < sum(d is not None for d in exact) or digits + scale > 38:
        raise DataError(
            f"column '{name}' holds {past[0]:,}, a whole number past 2**53 that no float "
            "holds, beside figures no Decimal column holds with it exactly",
            # (a trend is such a frame on every face, `kpi show --format json` too: the
            # summary's windows are not)
            hint=spelled("'kpi summary --format json' carries each window's figure exactly",
                         "the command line's 'kpi summary --format json' carries each "
                         "window's figure exactly"))
    return pl.Decimal(38, scale), exact


SeriesRequest = tuple[KpiDef, Month, int]  # KPI, last month, months
SeriesKey = tuple[str, Month, int]  # KPI id, last month, months


def monthly_series_all(project: Project, requests: Iterable[SeriesRequest],
                       as_of: AsOf | None = None, report: Report | None = None
                       ) -> dict[SeriesKey, pl.DataFrame]:
    """Many KPIs' monthly series at once: one grouped query per dataset over the months any of
    them shows (the tests check each frame against a query per KPI, reference_engine's
    `monthly_series`), or none where `report` (evaluated with `series`, of the same store as
    of the same point) read every month they show and holds their components. Each frame has
    columns month, value and rolling_12 (the rolling 12-month value where the kind allows
    it). Keyed (KPI id, end, months)."""
    requests = list(requests)
    base: dict[SeriesKey, SeriesRequest] = {}
    for kpi, end, months in requests:
        if kpi.is_derived:
            for part in kpi.ratio_of:
                base[(part, end, months)] = (project.known_kpi(part), end, months)
        else:
            base[(kpi.id, end, months)] = (kpi, end, months)
    by_dataset: dict[str, list[SeriesRequest]] = {}
    for request in base.values():
        by_dataset.setdefault(request[0].source, []).append(request)
    found: dict[SeriesKey, pl.DataFrame] = {}
    parts_of: Monthly = {}  # each base KPI's components month by month
    for dataset_id, wanted in by_dataset.items():
        windows = [_series_window(kpi, end, months) for kpi, end, months in wanted]
        kpis = list({kpi.id: kpi for kpi, _, _ in wanted}.values())
        first, last = min(w.start for w in windows), max(w.end for w in windows)
        # Each KPI's components in each month, by the summary's own month-by-month read
        # (streaming; medians off count tables), so no month's rows are all held at once.
        span = [str(month) for month in Window(WindowKind.YE, first, last).months()]
        monthly = _read_already(project, dataset_id, kpis, span, as_of, report)
        if monthly is None:
            monthly = monthly_parts(project, dataset_id, kpis, span, as_of)
        # A month held only in part (loaded before it ended, or cut short within it) has no
        # value, and no rolling year holding it has one, as no window of the summary counts
        # it: the first month of a rolling extract, from its 11th, read as a month a third
        # short, and its process chart a special cause.
        in_part = in_part_months(project, dataset_id, as_of)
        for (kpi, end, months), window in zip(wanted, windows, strict=True):
            own = monthly.get(kpi.id, {})
            held = parts_held_of(project, dataset_id, as_of, report, kpi)
            found[(kpi.id, end, months)] = _series_frame(project, kpi, window, own, months,
                                                         held, in_part)
            parts_of[kpi.id] = own
    out: dict[SeriesKey, pl.DataFrame] = {}
    for kpi, end, months in requests:
        if kpi.is_derived:
            num_id, den_id = kpi.ratio_of
            quarterly = reads_quarters(project, kpi)
            num, den = (found[(k, end, months)] for k in (num_id, den_id))
            if quarterly:
                # both by quarter: a monthly KPI's three months, beside the quarterly one's row
                num, den = (_by_quarter(project, project.known_kpi(k), frame, parts_of[k])
                            for k, frame in ((num_id, num), (den_id, den)))
            out[(kpi.id, end, months)] = _derived_series(kpi, num, den,
                                                         months // 3 if quarterly else months)
        else:
            out[(kpi.id, end, months)] = found[(kpi.id, end, months)]
    return out


def _read_already(project: Project, dataset_id: str, kpis: list[KpiDef], months: list[str],
                  as_of: AsOf | None, report: Report | None) -> Monthly | None:
    """The KPIs' components in `months` from the report's own read, when it read every one
    of those months the dataset holds and holds the KPIs' components; otherwise None."""
    if report is None or report.monthly is None or report.read is None:
        return None
    read = report.read.get(dataset_id)
    if read is None or any(kpi.id not in report.monthly for kpi in kpis):
        return None
    wanted = set(months)
    if not (wanted & {str(m) for m in store.months(project, dataset_id, as_of)}) <= read:
        return None
    return {kpi.id: {month: parts for month, parts in report.monthly[kpi.id].items()
                     if month in wanted} for kpi in kpis}


def held_in_part(project: Project, dataset_id: str, as_of: AsOf | None = None
                 ) -> dict[Month, store.InPart]:
    """The months a dataset holds only in part (`store.held_in_part`), which no window
    counts, every part of a column telling its parts apart (`told_columns`) judged too: the
    one question every face asks (the windows, series, `kpi check`, `kpi datasets`)."""
    spec = project.datasets.get(dataset_id)
    told = tuple(told_columns(project, spec)) if spec is not None else ()
    return store.held_in_part(project, dataset_id, as_of, told)


def declared_whole(project: Project, dataset_id: str, as_of: AsOf | None = None
                   ) -> dict[Month, store.InPart]:
    """The months kpi.toml declares whole as stored (`whole_months`) whose rows start late or
    end early (`store.cut_short`): counted as their rows hold them on the analyst's word, and
    listed by `kpi datasets` so that the word is seen beside what the rows show."""
    spec = project.datasets.get(dataset_id)
    if spec is None or not spec.whole_months or not store.exists(project, dataset_id):
        return {}
    return store.cut_short(project, dataset_id, as_of,
                           set(store.unfinished(project, dataset_id, as_of)),
                           tuple(told_columns(project, spec)), declared=True)


def held_by_part(project: Project, dataset_id: str, as_of: AsOf | None, by: str, held: Held
                 ) -> tuple[Held, dict[Any, dict[Month, store.InPart]]]:
    """For a comparison by a column telling a dataset's parts apart that it is not loaded by
    (a peer group's force in a national extract, `told_columns`): the months `held` holds in
    part only because some parts' rows run short in them (`store.cut_parts`), given back to
    the dataset, with each such part's months and why. One force's September supplied to its
    15th left out every force's year holding September; only that force's is, by
    `kpi.compare`. A month held in part for any other reason (loaded before it ended, every
    part's rows cut, a part of another column) stays out of every part's windows."""
    spec = project.datasets[dataset_id]
    told = told_columns(project, spec)
    if by not in told or not held.early:
        return held, {}
    others = store.held_in_part(project, dataset_id, as_of,
                                tuple(c for c in told if c != by))
    given = {month for month in held.early if month not in others}
    if not given:
        return held, {}
    parts = {part: mine for part, months in store.cut_parts(project, dataset_id, as_of,
                                                            by).items()
             if (mine := {m: why for m, why in months.items() if m in given})}
    return (Held(set(held) | given, {m: why for m, why in held.early.items() if m not in given}),
            parts)


def in_part_months(project: Project, dataset_id: str, as_of: AsOf | None) -> set[str]:
    """The months a dataset holds only in part (`held_in_part`), which no window counts: in a
    series, each has no value, nor a rolling year holding it (`_series_frame`,
    `verdicts.monthly_values`)."""
    if not store.exists(project, dataset_id):
        return set()
    return {str(m) for m in held_in_part(project, dataset_id, as_of)}


def _series_window(kpi: KpiDef, end: Month, months: int) -> Window:
    """The months a series reads: those shown, and for a rolling 12-month value the 11
    before."""
    start = end - (months - 1) - (11 if RECIPES[kpi.kind].additive else 0)
    return Window(current_window(end, snapshot=True, vs=Comparison.BASELINE).kind, start, end)


def _derived_series(kpi: KpiDef, num: pl.DataFrame, den: pl.DataFrame,
                    months: int) -> pl.DataFrame:
    """A rate of two KPIs month by month (or quarter by quarter), from their series of the
    same months (each month held to those months, as theirs). Its rolling year is theirs,
    numerator over denominator: none where either has none (a part holding only some of the
    year's months, a month without rows), as the two KPIs' own series decide, never summed
    again here."""
    joined = num.join(den, on="month", suffix="_den")
    # Scaled first, then divided: a count times 100 (times a whole multiplier) is exact, so
    # the rate is rounded once, as the summary's (`kpi.rounding.quotient`).
    scale = float(scale_of(kpi, 100))
    # A month whose denominator is 0 has no rate (null), never NaN or infinity.
    frame = joined.select(
        "month",
        _finite(column_quotient(pl.col("value") * scale, pl.col("value_den"))).alias("value"),
        _finite(column_quotient(pl.col("rolling_12") * scale, pl.col("rolling_12_den")))
        .alias("rolling_12"))
    return frame.tail(months)


def _by_quarter(project: Project, kpi: KpiDef, frame: pl.DataFrame,
                monthly: dict[str, dict[str, float | None]]) -> pl.DataFrame:
    """A KPI's series by quarter, as `quarters_of` gives a quarterly dataset's: a row per
    quarter (its month the quarter's first), the quarter's value (a monthly KPI's three
    months' components summed exactly, `_months_value`; none where one is missing, or for a
    kind not summed from its months) and the rolling year to the quarter's end. `monthly` is
    the KPI's components month by month. A quarterly KPI's series is returned as it is."""
    if project.datasets[kpi.source].months_per_row == 3:
        return frame
    months = frame["month"].to_list()
    values = dict(zip(months, frame["value"].to_list(), strict=True))
    rolling = dict(zip(months, frame["rolling_12"].to_list(), strict=True))
    rows = []
    for month in months:
        first = Month.parse(month)
        if first.month % 3 != 1:
            continue
        rows.append((month, quarter_value(project, kpi, monthly, first,
                                          lambda m: values.get(m) is not None),
                     rolling.get(str(first + 2))))
    return figure_frame(rows, {"month": pl.String, "value": pl.Float64,
                               "rolling_12": pl.Float64})


def quarter_value(project: Project, kpi: KpiDef, monthly: dict[str, dict[str, float | None]],
                  first: Month, held: Callable[[str], bool]) -> float | None:
    """A monthly KPI's value over the quarter starting at `first`, to stand beside a quarterly
    KPI's row in a rate of the two: its three months' components summed exactly
    (`_months_value`); none where a month has no value of its own (`held` is false of it: no
    rows, held in part, a part missing) or the kind is not summed from its months. Each
    series of such a rate divides by it (`_by_quarter`, `verdicts.monthly_values`): a
    quarter's numerator over one month of the denominator read three times the rate."""
    three = [str(first + step) for step in range(3)]
    if not (RECIPES[kpi.kind].additive and not kpi.is_snapshot) or not all(map(held, three)):
        return None
    return _months_value(project, kpi, monthly, three)


def _months_value(project: Project, kpi: KpiDef, monthly: dict[str, dict[str, float | None]],
                  months: Sequence[str]) -> float | None:
    """An additive KPI's value over several months from their components, each summed as a
    window's is (`months_part`: a fraction's exact pieces, the bits one sum over the months'
    rows gives, in any order of rows or months); None where a month has no components."""
    got = [monthly.get(m) for m in months]
    if any(parts is None for parts in got):
        return None
    held = [parts for parts in got if parts is not None]
    return value_of(kpi, {name: months_part(held, name) if name in held[0] or name != NONFINITE
                          else 0 for name in component_names(kpi)}, project)


def _series_frame(project: Project, kpi: KpiDef, window: Window,
                  monthly: dict[str, dict[str, float | None]], months: int,
                  held: dict[tuple, list[Month]] | None = None,
                  in_part: set[str] | frozenset[str] = frozenset()) -> pl.DataFrame:
    """The series from each month's components (`monthly`: month -> parts; a month without
    rows has none). A rolling 12-month value is the year's components summed exactly
    (`_months_value`), the same figure to the bit as the summary's window of those months.
    For a dataset loaded part by part, `held` gives each part's months, and each figure is
    held to its own months (`partial_months`), never to the 11 months read before those
    shown only for the rolling years: a month shown that a part holding rows in the months
    shown has none in has no value, and a rolling 12-month value has no figure where a part
    holding rows in its 12 months lacks one of them, as the summary refuses that window
    (part_gap), rather than summing fewer parts than its neighbours; and none where it holds a
    month the series leaves out for a part of any column telling parts apart. A month
    `in_part` (the dataset holds it only in part: `store.held_in_part`) has no value, nor a
    rolling year holding it."""
    labels = [str(m) for m in window.months()]
    held = held or {}
    partial = partial_months(held, labels[-months:]) | set(in_part)
    values = [value_of(kpi, monthly[m], project) if m in monthly and m not in partial
              else None for m in labels]
    quarterly = project.datasets[kpi.source].months_per_row == 3
    rolling: list[float | None] = [None] * len(labels)
    # A part of a dataset loaded part by part that holds rows in the months shown but none in
    # a whole rolling year makes that year sum fewer parts than the latest: a force never
    # loaded for 2024 left the year ending December 2024 at the other force's 12 beside 132,
    # where the summary calls that year incomplete. So does a part of a column telling parts
    # apart (`Told`): a rolling year holding a month the series leaves out (a force that
    # stopped in December: `cut_off`) has no figure, as none of its months has a value; the
    # years to January, February and March fell 1,080, 1,055, 1,030, 1,005 for three forces
    # flat every month.
    shown = labels[-months:]
    if RECIPES[kpi.kind].additive and not kpi.is_snapshot:
        rolling = []
        for index in range(len(labels)):
            # A quarter's row stands for its three months: the 12 months to a quarter's end
            # are its four quarters, read from the rows of their first months.
            steps = (2, 5, 8, 11) if quarterly else range(12)
            if index < max(steps):
                rolling.append(None)
                continue
            year = [labels[index - step] for step in range(12)]
            rolling.append(None if partial_months(held, year) or in_part & set(year)
                           or set(year) & partial_months(held, [*shown, *year]) else
                           _months_value(project, kpi, monthly,
                                         [labels[index - step] for step in steps]))
    out = figure_frame({"month": labels, "value": values, "rolling_12": rolling},
                       {"month": pl.String, "value": pl.Float64, "rolling_12": pl.Float64})
    out = out.tail(months)
    return quarters_of(out) if quarterly else out


def quarters_of(frame: pl.DataFrame) -> pl.DataFrame:
    """A series of quarterly rows as quarters: a row per quarter (its month the quarter's
    first), the quarter's value, and the rolling 12 months to the quarter's end. Shown month
    by month, a quarter's whole total would sit in its first month and n/a in the others."""
    months = frame["month"].to_list()
    ends = {m: str(Month.parse(m) + 2) for m in months if Month.parse(m).month % 3 == 1}
    rolling = dict(zip(months, frame["rolling_12"].to_list(), strict=True))
    values = dict(zip(months, frame["value"].to_list(), strict=True))
    return figure_frame({"month": list(ends), "value": [values[m] for m in ends],
                         "rolling_12": [rolling.get(ends[m]) for m in ends]},
                        {"month": pl.String, "value": pl.Float64, "rolling_12": pl.Float64})


def _finite(expr: pl.Expr) -> pl.Expr:
    """The expression where it is a finite number, null where it is NaN or infinite."""
    return pl.when(expr.is_finite()).then(expr)


BreakdownRequest = tuple[KpiDef, str, Window, Window | None]  # KPI, column, current, comparison
BreakdownKey = tuple[str, str, Window, Window | None]  # KPI id, column, current, comparison


def breakdowns(project: Project, requests: Iterable[BreakdownRequest],
               as_of: AsOf | None = None) -> dict[BreakdownKey, pl.DataFrame]:
    """Many breakdowns at once: one query for all the requests of a dataset that split by the
    same column, reading only their windows' months and the rows each KPI's filter selects (the
    tests check each frame against a query per KPI, reference_engine's `breakdown`). Each frame
    is a KPI split by the column, current and comparison values and change per part (columns:
    part, current, comparison, absolute, percent, points, and the change's `places`), largest
    first; a part with no selected rows in either window is not listed. Keyed (KPI id,
    column, current, comparison)."""
    groups: dict[tuple[str, str], dict[BreakdownKey, BreakdownRequest]] = {}
    for request in requests:
        kpi, column, current, comparison = request
        if kpi.is_derived:
            raise ConfigError(f"KPI '{kpi.id}' is a rate of two KPIs and has no breakdown")
        key = (kpi.id, column, current, comparison)
        groups.setdefault((kpi.source, column), {})[key] = request
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
    summed: dict[str, pl.Expr] = {}  # alias -> quantity per row (see summands_of)
    # As in the summary, each (filter, months) mask is one column, computed once however many
    # KPIs read it.
    masks: dict[tuple, pl.Expr] = {}

    def mask(kpi: KpiDef, months: tuple[str, ...], make: Callable[[], pl.Expr]) -> pl.Expr:
        key = (kpi.filter, months)
        if key not in masks:
            masks[key] = make().alias(f"__rows{len(masks)}")
        return pl.col(masks[key].meta.output_name())

    # Medians and percentiles are read off per-part count tables of each distinct value (as
    # in the summary): a median aggregate per group would make Polars hold every row read.
    # (value expression, duration?, unit) -> [(request number, "cur" or "cmp", mask column)]
    ordered: dict[tuple, list[tuple[int, str, str]]] = {}
    for number, (kpi, _, current, comparison) in enumerate(requests):
        windows = [w for w in (current, comparison) if w is not None]
        months = tuple(sorted({str(month) for window in windows for month in window.months()}))
        every.update(months)
        selected = mask(kpi, months, lambda k=kpi, m=months: rows_of(k) & pl.col("month")
                        .is_in(list(m)))
        summed[f"{number}\trows"] = selected
        for tag, window in (("cur", current), ("cmp", comparison)):
            if window is not None:
                rows = mask(kpi, tuple(str(m) for m in window.months()),
                            lambda k=kpi, w=window: rows_of(k, w))
                if kpi.kind in (Kind.MEDIAN, Kind.PERCENTILE):
                    ordered.setdefault((kpi.value, kpi.value_is_duration, kpi.unit), []).append(
                        (number, tag, rows.meta.output_name()))
                summed.update((f"{number}\t{tag}\t{name}", e)
                              for name, e in summands_of(kpi, rows).items())
    # Each KPI once: a weighted score's weights are joined on once, however many of its
    # windows are asked (joined twice, the second join's column clashed with the first's).
    kpis = list({request[0].id: request[0] for request in requests}.values())
    months = sorted(every)
    scan = rows_read(project, dataset_id, as_of)
    refuse_repeated_rolls(project, dataset_id, scan, kpis, months, as_of)
    refuse_read_spellings(project, dataset_id, scan, kpis, months, as_of)
    # After the summary's figures (the board), a small table's rows it held (see `_HELD`)
    # where they hold every column read here, else its groups (below), else the rows.
    read = _roots([*masks.values(), *summed.values(), pl.col(column),
                   *(_value(k) for k in kpis if k.value is not None),
                   *(pl.col(k.weight_key) for k in kpis if k.weight_key)])
    rows = _held(project, dataset_id, as_of, months,
                 (read | {"month"}) & set(scan.collect_schema().names()))
    frame = _with_weights(project, scan if rows is None else rows.lazy(), kpis)
    # The rows grouped first where every expression allows (see `_grouped`): after the
    # summary's figures (the board), the groups it read, with this column among their keys.
    keys = None
    if rows is None and GROUP_FIRST and not ordered:
        keys = _group_keys(frame.collect_schema(), [*masks.values(), pl.col(column)],
                           summed.values(), [m.meta.output_name() for m in masks.values()])
    n = None
    try:
        groups = _grouped(project, dataset_id, as_of, frame, months, keys) \
            if keys is not None else None
        if groups is not None:
            frame, n = groups.lazy(), pl.col(COUNT)
        frame = frame.filter(pl.col("month").is_in(months)).with_columns(list(masks.values()))
        grouped = frame.group_by(column).agg(_totals(frame, summed, n))
        grouped = grouped.collect(engine="in-memory" if n is not None else "streaming")
        quantiles = _part_quantiles(frame, column, requests, ordered)
    except pl.exceptions.PolarsError as exc:
        overflow = overflow_error(project, dataset_id, exc)
        if overflow is not None:
            raise overflow from None
        raise DataError(f"dataset '{dataset_id}': cannot break its KPIs down by '{column}' "
                        f"({str(exc).strip().splitlines()[0]})",
                        hint="check the KPI expressions against the stored columns") from None
    from kpi.ingest.identity import refuse_spellings  # the loader's package, read only here

    refuse_spellings(dataset_id, column, grouped[column], "break down by")
    by_request: list[list[tuple]] = [[] for _ in requests]
    for row in grouped.iter_rows(named=True):
        parts: list[dict[str, dict]] = [{"cur": {}, "cmp": {}} for _ in requests]
        for (number, tag), per_part in quantiles.items():
            stat, den, _ = per_part.get(row[column], (None, 0, 0))
            parts[number][tag].update(stat=stat, den=den)
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


def _part_quantiles(frame: pl.LazyFrame, column: str, requests: list[BreakdownRequest],
                    ordered: dict[tuple, list[tuple[int, str, str]]]
                    ) -> dict[tuple[int, str], dict[object, tuple[float | None, int, int]]]:
    """Each median or percentile request's statistic per part, read off one streaming count
    table per value expression (a row per part and distinct value), with `_quantiles`."""
    out: dict[tuple[int, str], dict[object, tuple[float | None, int, int]]] = {}
    for jobs in ordered.values():
        names = {f"__q{i}": pl.col(mask).alias(f"__q{i}") for i, (_, _, mask) in enumerate(jobs)}
        kpi = requests[jobs[0][0]][0]
        value = ranked(_value(kpi), whole_value(kpi, frame))
        counts = _counts_by(frame, value, names, [column]).collect(engine="streaming")
        stats = _quantiles_all(counts, column, [(name, quantile_of(requests[number][0]))
                                                for (number, _, _), name in zip(jobs, names,
                                                                                strict=True)])
        for (number, tag, _), got in zip(jobs, stats, strict=True):
            out[(number, tag)] = got
    return out


def _breakdown_frame(project: Project, kpi: KpiDef, compared: bool,
                     parts: list[tuple[Any, dict, dict]]) -> pl.DataFrame:
    """The breakdown frame from each part's current and comparison components. A rate's,
    proportion's or mean's part also keeps its numerator and denominator in the current
    window (null for other kinds): a proportion's part is tested from them
    (kpi.stats.rate_standouts). Each part's change keeps the places it prints to beside its
    two figures (`places`, its `Change.places`; null without a change), which every face
    that prints the part's change reads."""
    rows = []
    for part, current_parts, comparison_parts in parts:
        cur = value_of(kpi, current_parts, project)
        cmp = value_of(kpi, comparison_parts, project) if compared else None
        change = change_between(kpi, cur, cmp)
        whole = "num" in current_parts and "den" in current_parts
        rows.append({"part": part, "current": cur, "comparison": cmp,
                     "absolute": change.absolute if change else None,
                     "percent": change.percent if change else None,
                     "points": change.points if change else None,
                     "places": change.places if change else None,
                     "current_numerator": current_parts["num"] if whole else None,
                     "current_denominator": current_parts["den"] if whole else None})
    schema = {"part": pl.String, "current": pl.Float64, "comparison": pl.Float64,
              "absolute": pl.Float64, "percent": pl.Float64, "points": pl.Float64,
              "places": pl.Int64, "current_numerator": pl.Float64,
              "current_denominator": pl.Float64}
    out = figure_frame(rows, schema)
    return out.sort(["current", "part"], descending=[True, False], nulls_last=True)
