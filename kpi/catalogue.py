"""The project file (kpi.toml): datasets, plan priorities and the KPI catalogue, as data.

Loading validates everything and reports every problem at once, each naming the file, the line,
the KPI or dataset id and the key at fault. Filters and value expressions are SQL expressions
that Polars evaluates; they are checked against each dataset's declared columns here, so a typo
fails at load time rather than half way through a report.
"""

from __future__ import annotations

import functools
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

from kpi.errors import (
    MAX_NESTING,
    REFUSAL_REASONS,
    ConfigError,
    UsageError,
    refuse_unsafe_text,
    spelled,
    visible,
)
from kpi.periods import Month, Window, WindowKind
from kpi.rounding import as_written, pair_places

T = TypeVar("T")

PROJECT_FILE = "kpi.toml"
# --project / KPI_PROJECT value naming the bundled West Midlands sample.
SAMPLE = "sample"
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
# Columns kpi adds to every table (the partition month) and the prefix of those it uses while
# reading an extract: a dataset column of such a name would be overwritten, silently.
INTERNAL_COLUMNS = frozenset({"month"})
INTERNAL_PREFIX = "__"


def internal_column(name: str) -> bool:
    """Whether `name` is, or could be read as (any case), one of kpi's own columns."""
    return name.lower() in INTERNAL_COLUMNS or name.startswith(INTERNAL_PREFIX)


INTERNAL_HINT = ("'month' and names starting with '__' are kpi's own columns; give the column "
                 "another name and keep the extract's header in from = [...]")


class Kind(StrEnum):
    COUNT = "count"
    SUM = "sum"
    RATE = "rate"
    WITHIN = "within"
    MEAN = "mean"
    MEDIAN = "median"
    PERCENTILE = "percentile"
    SNAPSHOT = "snapshot"
    RATIO_OF_RATES = "ratio_of_rates"
    PER_1000 = "per_1000"
    WEIGHTED_SCORE = "weighted_score"


class Better(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"
    NEUTRAL = "neutral"


class Unit(StrEnum):
    COUNT = "count"
    PERCENT = "percent"
    SECONDS = "seconds"
    DAYS = "days"
    RATIO = "ratio"
    SCORE = "score"
    PER_1000 = "per_1000"
    GBP = "gbp"
    NUMBER = "number"


# Units whose figures carry their own sign or words, which no `unit_label` follows.
SIGNED_UNITS = {Unit.PERCENT: "45.0%", Unit.GBP: "£82.2m", Unit.SECONDS: "m:ss, and in words "
                "\"9 minutes and 12 seconds\""}


class RateTest(StrEnum):
    """How the change of a rate of two KPIs is tested (`rate_test`; docs/statistics.md)."""

    PROPORTIONS = "proportions"  # the numerator's events are some of the denominator's
    PER_DENOMINATOR = "per_denominator"  # a count of events per a denominator taken as exposure
    NONE = "none"  # neither test's assumptions are known to hold


class Status(StrEnum):
    LIVE = "live"
    IN_DEVELOPMENT = "in_development"


class ColumnType(StrEnum):
    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"
    MONTH = "month"


# Which keys each kind needs and allows, beyond the keys every KPI has. Adding a kind is adding
# a row here and its aggregation in engine.py; nothing else branches on kind names.
KIND_KEYS: dict[Kind, tuple[frozenset[str], frozenset[str]]] = {
    Kind.COUNT: (frozenset(), frozenset({"value"})),
    Kind.SUM: (frozenset({"value"}), frozenset()),
    Kind.RATE: (frozenset(), frozenset({"numerator", "denominator", "numerator_kpi",
                                        "denominator_kpi", "numerator_within_denominator"})),
    Kind.WITHIN: (frozenset({"value", "threshold"}), frozenset()),
    Kind.MEAN: (frozenset({"value"}), frozenset()),
    Kind.MEDIAN: (frozenset({"value"}), frozenset()),
    Kind.PERCENTILE: (frozenset({"value", "percentile"}), frozenset()),
    Kind.SNAPSHOT: (frozenset(), frozenset({"value", "numerator", "denominator"})),
    Kind.RATIO_OF_RATES: (frozenset({"numerator", "denominator", "populations"}), frozenset()),
    Kind.PER_1000: (frozenset({"population"}), frozenset({"value"})),
    Kind.WEIGHTED_SCORE: (frozenset({"weights", "weight_key"}), frozenset()),
}
COMMON_KEYS = frozenset({
    "id", "title", "priority", "kind", "dataset", "filter", "unit", "better", "stable_band",
    "baseline", "lag", "status", "breakdowns", "notes", "multiplier", "hidden", "components",
    "description", "table", "noun", "peers", "target", "spc_baseline", "spc_rebase",
    "target_source", "target_illustrative", "cumulative", "unit_label", "quotes",
    "provisional_months", "decimals",
})
DEFAULT_UNITS = {
    Kind.RATE: Unit.PERCENT, Kind.WITHIN: Unit.PERCENT, Kind.RATIO_OF_RATES: Unit.RATIO,
    Kind.PER_1000: Unit.PER_1000, Kind.WEIGHTED_SCORE: Unit.SCORE,
}


# The time zone a datetime column is read in: each is an instant (stored in UTC, see
# kpi.store), and its month, hour and date are those of the UK's wall clock. It is also the
# zone a time written without an offset is in, unless the dataset declares another
# (`time_zone`).
UK = "Europe/London"


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: ColumnType
    sources: tuple[str, ...] = ()
    required: bool = True
    min: float | None = None
    pattern: str | None = None  # a regex every non-blank value must match in full
    label: str = ""  # how a reader names it ("local authority"), for the board paper
    # The zone a datetime column's times without an offset are written in (an IANA name): the
    # column's own `time_zone`, else its dataset's, else the UK's.
    time_zone: str = UK


@dataclass(frozen=True)
class DateParts:
    """A row's month made from separate columns, as published tables give it: a financial year
    and quarter ("2017/18", 1 = April to June 2017), a year and quarter, or a year and month."""

    kind: str  # one of DATE_PART_KINDS
    year: str  # the column holding the (financial) year
    part: str  # the column holding the quarter or month

    @property
    def months_per_row(self) -> int:
        return 1 if self.kind == "month" else 3


# [datasets.X] date = { <year key> = "COLUMN", <part key> = "COLUMN" }: the kinds, by keys.
DATE_PART_KINDS: dict[tuple[str, str], str] = {
    ("financial_year", "quarter"): "financial_quarter",
    ("year", "quarter"): "quarter",
    ("year", "month"): "month",
}


@dataclass(frozen=True)
class DerivedColumn:
    """A column computed from others when the dataset is read, by a row-level SQL expression."""

    name: str
    expression: str
    # Each (column, text literal) the expression compares for equality
    # (`expressions.compared_text`), worked out as kpi.toml is read.
    compared: tuple[tuple[str, str], ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class PeerGroup:
    """A named set of parts of one column (e.g. the forces most similar to one force)."""

    id: str
    column: str
    members: tuple[str, ...]
    title: str = ""
    focus: str | None = None  # the project's own part: the board paper's subject


@dataclass(frozen=True)
class QuerySource:
    """A dataset read from a database: the query (inline or a file of the project) and the
    environment variable holding the connection URI, so credentials never live in kpi.toml."""

    uri_env: str
    query: str | None = None
    query_file: str | None = None  # relative to the project folder


@dataclass(frozen=True)
class DatasetSpec:
    id: str
    date: str
    columns: tuple[ColumnSpec, ...]
    unique: str | None = None
    description: str = ""
    sources: tuple[str, ...] = ()  # default extract files (globs, relative to the project)
    extra_columns: str = "ignore"  # source columns not declared: "ignore" (warn) or "error"
    # Columns that, with the month, say what an extract replaces: with ("force",), loading one
    # force's months leaves other forces' rows for those months in place.
    replace_by: tuple[str, ...] = ()
    sheet: str | None = None  # the sheet of an Excel workbook extract that holds the data
    # When the month comes from separate columns (date is then the year column).
    date_parts: DateParts | None = None
    derived: tuple[DerivedColumn, ...] = ()
    source: QuerySource | None = None  # `kpi ingest DATASET --from-source` reads this query
    # How the source is published (`PUBLISHED`): a source published once a year for the year
    # to March is not late in the eleven months before the next publication is due.
    published: str = "monthly"
    # The zone the source writes times without an offset in (`time_zone`; a column may
    # declare its own, see ColumnSpec.time_zone).
    time_zone: str = UK
    # Which rows of a month a figure reads (`AS_AT`): None, every row, a month holding two or
    # more rolls taken at other dates refused where a snapshot reads it
    # (`kpi.engine.refuse_repeated_rolls`); "last", the rows of the month's last date (of each
    # part of its `replace_by` and `[peers.*]` columns); "month", every row, the rows declared
    # events or one roll. Read when rows are read (`derive`), it changes no stored value, so
    # it is left out of the declaration's fingerprint (`kpi.store.spec_digest`, the repr).
    as_at: str | None = field(default=None, repr=False)
    # `unique` given as a list: the columns after its first, whose values with the first's no
    # two rows share (`unique = ["person", "as_at"]`, one row a person at each roll date).
    # Out of the repr as `unique` is out of the fingerprint (`kpi.store.spec_fingerprint`).
    unique_with: tuple[str, ...] = field(default=(), repr=False)
    # `sparse = true`: a part (of a `[peers.*]` group's column, the dataset not loaded by it)
    # holding no rows in a month had none that month, not a month it did not supply, so the
    # parts are not held to the shape of their rows (`kpi.engine.part_gap`): a homicide index.
    # Read when rows are read, it changes no stored value: out of the fingerprint, as `as_at`.
    sparse: bool = field(default=False, repr=False)
    # `whole_months = ["2024-10"]`: months whose rows start after the month's first day or end
    # before its last and are whole as stored (a system down for ten days, records deleted),
    # which `kpi.store.cut_short` would otherwise hold in part. Read when rows are read.
    whole_months: frozenset[Month] = field(default=frozenset(), repr=False)

    @property
    def unique_columns(self) -> tuple[str, ...]:
        """Every column `unique` names: none, its one column, or its list."""
        return (self.unique, *self.unique_with) if self.unique else ()

    @property
    def unique_declared(self) -> str | list[str] | None:
        """`unique` as kpi.toml declares it (a load's provenance records it)."""
        return [*self.unique_columns] if self.unique_with else self.unique

    def column(self, name: str) -> ColumnSpec | None:
        return next((c for c in self.columns if c.name == name), None)

    def has_column(self, name: str) -> bool:
        """A declared column or a derived one: what filters and breakdowns may use."""
        return self.column(name) is not None or any(d.name == name for d in self.derived)

    @property
    def months_per_row(self) -> int:
        """3 when each row stands for a quarter (stored at the quarter's first month)."""
        return self.date_parts.months_per_row if self.date_parts else 1

    @property
    def publication_ends(self) -> frozenset[int]:
        """The months of the year (1-12) a publication of the source runs to."""
        return PUBLISHED[self.published]


def _unique_columns(value: Any, columns: Sequence[ColumnSpec], where: str, needle: str,
                    problems: _Problems) -> tuple[str | None, tuple[str, ...]]:
    """A dataset's `unique`: a column's name (`"ref"`: no two rows share its value) or a list
    of them (`["person", "as_at"]`: no two rows share all their values, as a roll lists each
    person once at each date), as (the first, the others); None where it is not given or
    refused."""
    if value is None:
        return None, ()
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else None
    if not names or not all(isinstance(n, str) and n for n in names):
        problems.add(where, "unique", "must be a column's name, or a list of columns' names "
                     "(each in quotes)", needle, r"^\s*unique\s*=")
        return None, ()
    for name in names:
        if not any(c.name == name for c in columns):
            problems.add(where, "unique", f"'{name}' is not one of its columns", needle,
                         r"^\s*unique\s*=")
            return None, ()
    if len(set(names)) < len(names):
        problems.add(where, "unique", "names a column twice", needle, r"^\s*unique\s*=")
        return None, ()
    return names[0], tuple(names[1:])


# [datasets.X] as_at = "...": which rows of a month every figure reads (DatasetSpec.as_at).
AS_AT = {"last": "the rows of the month's last date, for a roll taken more than once a month",
         "month": "every row of the month, for events or one roll a month"}
# "last" takes one date a month of each part its replace_by and [peers.*] columns tell apart:
# rolls of different people dated differently with no such column are not told apart.
AS_AT_HINT = ('write as_at = "last" in the dataset\'s table to read each month\'s last roll '
              '(of each part its replace_by and [peers.*] columns tell apart; rolls of other '
              'people taken on other days need such a column or a dataset of their own), or '
              'load one snapshot a month, or as_at = "month" if the rows are events, each to '
              'be counted')


# A load that would leave a stored month (or month and replace_by values) with fewer than this
# share of its rows is refused unless allowed (`kpi.ingest.commit`): one stray row dated in the
# previous month would otherwise replace that whole month. A month read at its last roll
# (`as_at = "last"`) whose last date lists fewer than this share of an earlier date's rows is
# refused too (`kpi.engine.refuse_thin_last_rolls`): two rolls of other people read as one.
SHRINK_SHARE = 0.5


# [datasets.X] published = "...": the months of the year each publication runs to.
PUBLISHED: dict[str, frozenset[int]] = {
    "monthly": frozenset(range(1, 13)),
    "quarterly": frozenset({3, 6, 9, 12}),
    "financial_year": frozenset({3}),
    "calendar_year": frozenset({12}),
}


@dataclass(frozen=True)
class Priority:
    id: str
    title: str
    order: int


@dataclass(frozen=True)
class KpiDef:
    id: str
    title: str
    priority: str
    kind: Kind
    unit: Unit
    better: Better
    dataset: str | None = None
    filter: str | None = None
    value: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    numerator_kpi: str | None = None
    denominator_kpi: str | None = None
    threshold: float | None = None
    percentile: float | None = None
    population: str | None = None
    populations: tuple[str, str] | None = None
    weights: str | None = None
    weight_key: str | None = None
    multiplier: float = 1.0
    stable_band: float = 0.0
    baseline: str | None = None  # "YE YYYY-MM", "AT YYYY-MM" or "yoy"
    lag: int = 0
    status: Status = Status.LIVE
    breakdowns: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    hidden: bool = False
    notes: str = ""
    description: str = ""
    table: str = ""  # the board paper shows KPIs sharing a table name as one table
    noun: str = ""  # what a count counts, plural ("ASB incidents"), for the board paper's prose
    peers: str | None = None  # a peer group the board paper compares this KPI within
    # The value is a duration (the difference of two dates or datetimes); the engine converts
    # it to the KPI's unit (seconds or days).
    value_is_duration: bool = False
    # The dataset's columns (derived ones too) that are instants read as UK time, whose epoch
    # the engine takes without the zone (`expressions.polars_expr`); sorted.
    zoned: tuple[str, ...] = ()
    # Each (key, column, text literal) its filter, value, numerator and denominator compare
    # for equality (`expressions.compared_text`), worked out as kpi.toml is read, so a read
    # checks the literals against the stored values (`engine.refuse_read_spellings`) without
    # parsing the SQL again.
    compared: tuple[tuple[str, str, str], ...] = field(default=(), compare=False)
    # Statistical process control (docs/statistics.md): a target in the unit of the monthly
    # values, the months the chart's limits are computed from, and months the limits restart.
    target: float | None = None
    spc_baseline: tuple[Month, Month] | None = None
    spc_rebase: tuple[Month, ...] = ()
    # Where the target comes from ("the national 999 standard"), and whether it is only an
    # illustration a force sets for itself, never presented as the plan's.
    target_source: str = ""
    target_illustrative: bool = False
    # Where the [population] figures a per_1000 or ratio_of_rates KPI divides by come from, and
    # whether any of them is only an illustration (kpi.catalogue.PopulationSource).
    population_source: str = ""
    population_illustrative: bool = False
    # The target was written with a percent sign (target = "0.9%"): a percentage as written,
    # never a proportion to be read as 90% (`kpi.verdicts.misread_target`).
    target_written_percent: bool = False
    # Where the target is written, "FILE:LINE" ("" for a KPI not read from a file): a refusal
    # of the target names it (`kpi.verdicts.misread_target`). Not part of the definition.
    target_at: str = field(default="", compare=False)
    # A mean whose figure is printed off the scale of a share (`zero_one_scale_problem`:
    # percent with no multiplier 100): the refusal its rows give where each is 0 or 1
    # ("FILE:LINE: KPI 'x', key 'unit': is percent with multiplier 1, ..."), which its
    # expression does not show (`kpi.stats.unscaled_flags`); "" for any other KPI. Not part
    # of the definition.
    flag_scale: str = field(default="", compare=False)
    # A running total or a snapshot of progress (training completed to date): its months are
    # not independent, so it gets no process chart and no verdict on variation.
    cumulative: bool = False
    unit_label: str = ""  # how the board paper names the unit ("working days", "million days")
    quotes: tuple[str, ...] = ()  # other KPIs (hidden ones too) the paper quotes beside this one
    # The latest months whose values are not final yet (police.uk outcomes are assigned for
    # months after a crime): the process chart leaves them out and the paper says so.
    provisional_months: int = 0
    # The decimal places every value of the KPI is shown to; None: its unit's (render.places).
    decimals: int | None = None
    # A rate of two KPIs: whether the numerator's events are some of the denominator's, as
    # declared (`numerator_within_denominator`) or proven (`rate_test`). A rate of one
    # dataset's rows: as declared (None where it is not; its rows decide, `stats.rate_rule`).
    # None for other KPIs.
    numerator_within_denominator: bool | None = None
    # A rate of two KPIs: the test its change gets (`rate_test`); None for other KPIs.
    rate_test: RateTest | None = None
    # A rate of one dataset's rows whose numerator gives each row 0 or 1 (a condition: a
    # column declared `bool`, or any true/false expression; or a CASE of 0 and 1, or a derived
    # column that is one, `expressions.zero_or_one`) and which has no denominator: each row is
    # 0 or 1 of 1, so no row can break the rule of the proportions' test and the engine need
    # not check its rows. Or a mean of such a value: the share of its rows, from 0 to 1.
    flag_share: bool = False
    # A rate of two KPIs tested as two proportions because the catalogue declares it
    # (`numerator_within_denominator = true`) where kpi cannot prove it (`provably_within`):
    # it has no rows in common to check, so the test rests on the declaration, and says so.
    within_on_trust: bool = False
    # A rate of two KPIs whose numerator and denominator each count rows (`counts_rows`), so
    # its figure cannot be negative whatever its unit (`kpi.stats.non_negative`).
    counted_parts: bool = False

    @property
    def is_snapshot(self) -> bool:
        return self.kind == Kind.SNAPSHOT

    @property
    def counts_rows(self) -> bool:
        """Whether the KPI's figure is a number of rows, which cannot be negative whatever
        unit or multiplier it is written in (`kpi.stats.non_negative`): a count or snapshot
        without a `value` or `numerator`, a rate per 1,000 of rows counted, or a harm score
        (its weights are 0 or more)."""
        if self.kind == Kind.WEIGHTED_SCORE:
            return True
        return self.value is None and self.numerator is None and self.kind in (
            Kind.COUNT, Kind.SNAPSHOT, Kind.PER_1000)

    @property
    def is_total(self) -> bool:
        """A total of rows or of their values (a count, sum, harm score or headcount): a part
        with no rows in a window totals 0 there, and one with 0 in both windows is one the
        KPI's rows never reach; a rate, share, average or percentile of no rows has no
        figure, and one of 0 is a level of cases."""
        return self.kind in (Kind.COUNT, Kind.SUM, Kind.WEIGHTED_SCORE) or (
            self.kind == Kind.SNAPSHOT and self.numerator is None)

    @property
    def share(self) -> bool:
        """Whether the KPI is a share of rows by its definition, whatever unit it is written
        in: its numerator's rows are some of its denominator's, as a `within` share, a
        condition's share of rows (`flag_share`: a rate or snapshot whose numerator is a
        condition or a CASE of 0 and 1, over no denominator, or a mean of one), or a rate
        declared or proven so (`numerator_within_denominator`). A rate of one dataset's rows
        may also be proven one by its rows as it is read (`kpi.stats.proven_share`). Its
        values run from 0 to `share_max`: its target must lie there (`kpis.target (a share)`),
        and its process limits stop there (`kpi.stats.chart_bounds`). A rate of two KPIs not
        nested (offences per 100 calls, 240% in a month) is none."""
        return (self.kind == Kind.WITHIN or self.flag_share
                or self.numerator_within_denominator is True)

    @property
    def share_max(self) -> float:
        """All of a share's rows in its unit: 100 times its multiplier (100 in percent, 1 as
        a ratio, multiplier 0.01; 1,000 per 1,000, multiplier 10), as the engine scales a
        share (`kpi.engine.scale_of`); a mean of 0s and 1s is not scaled by 100, so its
        multiplier (1: a mean of 0.25 is a quarter of its rows)."""
        return float(as_written(self.multiplier) * (1 if self.kind == Kind.MEAN else 100))

    @property
    def is_derived(self) -> bool:
        """A rate of two other KPIs (which may come from different datasets)."""
        return self.numerator_kpi is not None

    @property
    def source(self) -> str:
        """The dataset a live base KPI reads."""
        return required(self.dataset, f"KPI '{self.id}': dataset")

    @property
    def ratio_of(self) -> tuple[str, str]:
        """A rate of two KPIs: the numerator's and the denominator's ids."""
        return (required(self.numerator_kpi, f"KPI '{self.id}': numerator_kpi"),
                required(self.denominator_kpi, f"KPI '{self.id}': denominator_kpi"))


_OR = re.compile(r"\bOR\b", re.IGNORECASE)


# Kinds whose values are whole when their unit is a count or days: a count of rows, a sum,
# a snapshot. A mean, a median or a percentile of them need not be.
WHOLE_KINDS = frozenset({Kind.COUNT, Kind.SUM, Kind.SNAPSHOT})


# The decimal places a unit's figures print to where the KPI sets no `decimals`: (of a whole
# kind, WHOLE_KINDS; of any other kind). docs/catalogue.md#decimal-places prints this table,
# and tests/test_catalogue.py compares the two.
UNIT_PLACES: dict[Unit, tuple[int, int]] = {
    Unit.COUNT: (0, 1), Unit.PERCENT: (1, 1), Unit.SECONDS: (0, 0), Unit.DAYS: (0, 1),
    Unit.RATIO: (1, 1), Unit.SCORE: (1, 1), Unit.PER_1000: (1, 1), Unit.GBP: (0, 0),
    Unit.NUMBER: (1, 1),
}


def places(kpi: KpiDef) -> int:
    """The decimal places every value of a KPI is shown to, wherever it is printed: its
    `decimals` in kpi.toml, else its unit's (`UNIT_PLACES`: one for percentages, ratios,
    scores, rates per 1,000 and numbers; none for pounds and seconds; a count or days none
    when the kind is whole, else one). One precision per KPI: a percentile printed "36" beside
    "35.4" when the digits followed the value. (`kpi.render.places` is the same function.)"""
    if kpi.decimals is not None:
        return kpi.decimals
    whole, other = UNIT_PLACES[kpi.unit]
    return whole if kpi.kind in WHOLE_KINDS else other


# Units whose change prints without a % change: points for a percentage, a ratio's absolute
# change (engine.change_between).
NO_PERCENT_CHANGE = frozenset({Unit.PERCENT, Unit.RATIO})


def own_places(kpi: KpiDef) -> int:
    """The places a KPI's figures start from: its one precision (`places`), and none for a
    duration (whole seconds), whatever its `decimals`. (`kpi.render.own_places` is the same
    function.)"""
    return unit_own_places(kpi.unit, places(kpi))


def unit_own_places(unit: Unit | str | None, places: int) -> int:
    """`own_places` given a unit (or its name, as a workbook's column holds it) and the
    places of its KPI: none for a duration, else `places`."""
    return 0 if unit == Unit.SECONDS else places


def prints_percent_change(unit: Unit | str | None) -> bool:
    """Whether a change in this unit is printed with a % change beside its size: not for a
    percentage (points) or a ratio (`NO_PERCENT_CHANGE`)."""
    return unit not in NO_PERCENT_CHANGE


def change_places_of(kpi: KpiDef, current: float | None, comparison: float | None) -> int:
    """The decimals a KPI's change (its absolute size or points; a % change keeps one)
    prints to beside its two figures, a `current` window's and its `comparison`'s: its own
    places, or, where the two print apart while the change reads as none there, the figures'
    own (`kpi.rounding.pair_places` of the two and the KPI's target, the one rule). What every
    face prints the change to (`kpi.render.change_digits`), and what the status judges it at
    (`kpi.engine.status_of`): 0.4% against 0.6% at no decimals prints "+0.2pp", so it is not
    stable."""
    return pair_places(current, comparison, kpi.target, own_places(kpi),
                       prints_percent_change(kpi.unit)).change


def _narrower(numerator: str | None, denominator: str | None) -> bool:
    """Whether a filter selects only rows the other selects: the other is absent, the same,
    or the start of it followed by AND (SQL's AND binds more tightly than OR, so `D AND X`
    selects only rows D selects, with or without brackets around D)."""
    if denominator is None:
        return True
    if numerator is None:
        return False
    num, den = (_squeezed(text) for text in (numerator, denominator))
    # What follows the AND must hold no OR: `D AND X OR Y` is `(D AND X) OR Y`, which selects
    # rows D does not. (An OR inside X's brackets or quotes is refused too: no proof, no
    # guess.)
    return num == den or any(num.upper().startswith(f"{start} AND ".upper()) and
                             num[:len(start)] == start
                             and not _OR.search(num[len(start) + len(" AND "):])
                             for start in (den, f"({den})"))


def _squeezed(text: str) -> str:
    """SQL text with each run of whitespace outside its quotes as one space, trimmed: the
    spaces inside a quoted string are the string's ('Violence  with injury', two spaces, is
    not 'Violence with injury', which a filter of one space selects none of the rows of)."""
    from kpi.expressions import QUOTED

    parts, at = [], 0
    for quoted in QUOTED.finditer(text):
        parts += [re.sub(r"\s+", " ", text[at:quoted.start()]), quoted.group()]
        at = quoted.end()
    parts.append(re.sub(r"\s+", " ", text[at:]))
    return "".join(parts).strip()


def provably_within(num: KpiDef, den: KpiDef) -> bool:
    """Whether every event a rate's numerator KPI counts is one its denominator KPI counts,
    as kpi can tell from the catalogue alone: both count the rows of one dataset (a `count`
    without `value` or `multiplier`), at one lag, and the numerator's filter narrows the
    denominator's (`_narrower`)."""
    def rows(k: KpiDef) -> bool:
        return k.kind == Kind.COUNT and k.value is None and k.multiplier == 1.0

    return (rows(num) and rows(den) and num.dataset is not None
            and num.dataset == den.dataset and num.lag == den.lag
            and _narrower(num.filter, den.filter))


def rate_test(declared: bool | None, num: KpiDef, den: KpiDef) -> RateTest:
    """The one rule for testing a rate of two KPIs (docs/statistics.md): two proportions only
    where the numerator's events are some of the denominator's, declared
    (`numerator_within_denominator = true`) or proven (`provably_within`); else a count of
    events per its denominator, where the numerator is a count of events (a `count` without
    `value` or `multiplier`) and the denominator a count or sum (its exposure); else none."""
    if declared or (declared is None and provably_within(num, den)):
        return RateTest.PROPORTIONS
    if (num.kind == Kind.COUNT and num.value is None and num.multiplier == 1.0
            and den.kind in (Kind.COUNT, Kind.SUM)):
        return RateTest.PER_DENOMINATOR
    return RateTest.NONE


def required(value: T | None, what: str) -> T:
    """A key that validation made sure is set where it is read (a KPI's dataset, a percentile
    KPI's percentile): None here is a bug in kpi, not a mistake in kpi.toml."""
    if value is None:
        raise AssertionError(f"{what} is not set, which validation should have refused")
    return value


@dataclass(frozen=True)
class Check:
    """A reconciliation: the parts declared must sum to the total (within a tolerance)."""

    id: str
    title: str
    total: str
    parts: tuple[str, ...]
    tolerance: float = 0.0


@dataclass(frozen=True)
class Quality:
    """[quality]: when a month of a KPI's data is flagged (docs/guarantees.md#data-quality).
    Shares are fractions of a month's rows."""

    # A column the KPI reads is blank on this much more of a month's rows than the median
    # share of the other months looked at (0.25: 2% usually, 27% or more that month).
    blank_jump: float = 0.25
    # A column the KPI reads is blank on at least this share of the current window's rows.
    mostly_blank: float = 0.5
    # A month holds fewer than this fraction of the median rows of the other months looked
    # at, or more than its inverse (0.5: under half, or over twice).
    row_ratio: float = 0.5
    # Months before the current window that each month is compared with, besides the window's.
    context_months: int = 6


@dataclass(frozen=True)
class Bound:
    """The range of a number a user writes: a key of kpi.toml, or a column of a weights or
    population file. Every number is finite (TOML allows nan and inf; either turns the figures
    that use it into nonsense); `above` and `below` leave out the end itself."""

    low: float | None = None
    high: float | None = None
    whole: bool = False
    above: bool = False
    below: bool = False
    unit: str = ""  # "months": a whole number of months; "year": a year, written 2024
    why: str = ""   # what a number outside the range would do, said with the refusal

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if not math.isfinite(value) or (self.whole and value != int(value)):
            return False
        if self.low is not None and (value <= self.low if self.above else value < self.low):
            return False
        return self.high is None or (value < self.high if self.below else value <= self.high)

    def text(self) -> str:
        """The range in words: 'a whole number of months from 0 to 60'."""
        what = "a year" if self.unit == "year" else \
            ("a whole number" + (f" of {self.unit}" if self.unit else "")) if self.whole \
            else "a number" if self.low is not None and self.high is not None else "a finite number"
        style = "g" if self.unit == "year" else ",g"
        low, high = (format(v, style) if v is not None else None for v in (self.low, self.high))
        if low is not None and high is not None:
            if self.above or self.below:
                return f"{what} {'above' if self.above else 'from'} {low} and " \
                       f"{'below' if self.below else 'up to'} {high}"
            return f"{what} from {low} to {high}"
        if low is not None:
            return f"{what} above {low}" if self.above else f"{what}, {low} or more"
        if high is not None:
            return f"{what}, {high} or less"
        return what

    def problem(self, value: Any) -> str | None:
        """None when the value is in range, else what to say: 'must be ..., found ...'."""
        if self.accepts(value):
            return None
        shown = f"'{value}'" if isinstance(value, str) else \
            str(value).lower() if isinstance(value, bool) else f"{value}"
        return f"must be {self.text()}, found {shown}" + (f" ({self.why})" if self.why else "")

    def outside(self, column: Any) -> Any:
        """A Polars expression: true where a number column (Float64) is blank, not finite or
        out of range, for the files kpi reads numbers from."""
        bad = column.is_null() | ~column.is_finite()
        if self.whole:
            bad = bad | (column != column.round())
        if self.low is not None:
            bad = bad | ((column <= self.low) if self.above else (column < self.low))
        if self.high is not None:
            bad = bad | ((column >= self.high) if self.below else (column > self.high))
        return bad


# Every number a user can write, and its range: kpi.toml's keys (read by this module, by
# kpi.charts for [[charts]] and by kpi.paper for [paper]) and the numbers of the files a
# project names (kpi.engine reads weights files, kpi.compare population files).
# docs/catalogue.md#number-ranges prints it.
BOUNDS: dict[str, Bound] = {
    "population": Bound(0, above=True, why="a count per 1,000 of it is divided by it"),
    "kpis.stable_band": Bound(0, why="a change this size or smaller either way is stable"),
    "kpis.multiplier": Bound(0, above=True, why="it scales every value: 0 would make each "
                             "figure 0, a negative one turn it over"),
    "kpis.lag": Bound(0, 60, whole=True, unit="months",
                      why="how far the source runs behind the period"),
    "kpis.provisional_months": Bound(0, 12, whole=True, unit="months",
                                     why="months at the end of a 12-month window"),
    "kpis.threshold": Bound(),
    "kpis.percentile": Bound(1, 100, below=True),
    "kpis.decimals": Bound(0, 3, whole=True, unit="places",
                           why="the decimal places each of the KPI's values is shown to"),
    "kpis.target": Bound(why="in the KPI's unit"),
    "kpis.target (a share)": Bound(0, 100, why="a share of rows (a within KPI, a rate or "
                                   "snapshot whose numerator is a condition over no "
                                   "denominator, or one within its denominator) is a "
                                   "percentage of rows"),
    "columns.min": Bound(why="the smallest value a row may hold"),
    "priorities.order": Bound(whole=True),
    "quality.blank_jump": Bound(0, 1), "quality.mostly_blank": Bound(0, 1),
    "quality.row_ratio": Bound(0, 1),
    "quality.context_months": Bound(0, 36, whole=True, unit="months"),
    "checks.tolerance": Bound(0, why="the largest difference a check lets pass"),
    "charts.limit": Bound(1, 1_000, whole=True), "charts.months": Bound(2, 600, whole=True),
    "paper.standout_points": Bound(0, 100, why="the least gap, in percentage points, for a "
                                   "part of a proportion to stand out"),
    "paper.standout_change_points": Bound(0, 1_000, why="the least gap, in percentage points, "
                                          "between a part's percentage change and the rest's "
                                          "for a part of a count to stand out"),
    "weights file: weight": Bound(0, why="a negative weight would lower the score for every "
                                        "row of its key"),
    "population file: population": Bound(0, above=True),
    "population file: year": Bound(1900, 2100, whole=True, unit="year"),
}
# Where the refusal of a number out of range sends the reader.
BOUNDS_HINT = "docs/catalogue.md#number-ranges gives the range of every number kpi reads"
QUALITY_KEYS = tuple(k.removeprefix("quality.") for k in BOUNDS if k.startswith("quality."))


@dataclass(frozen=True)
class Project:
    path: Path  # the kpi.toml file
    name: str
    data_dir: Path
    baseline_end: Month
    snapshot_baseline: Month
    populations: dict[str, float]
    datasets: dict[str, DatasetSpec]
    priorities: tuple[Priority, ...]
    kpis: tuple[KpiDef, ...]
    checks: tuple[Check, ...] = ()
    peers: dict[str, PeerGroup] = field(default_factory=dict)
    # [population_by]: column -> CSV of part, population, year (per 1,000 in kpi compare)
    population_by: dict[str, str] = field(default_factory=dict)
    # [population] NAME = { count = ..., source = "...", illustrative = true }: their sources
    population_sources: dict[str, PopulationSource] = field(default_factory=dict)
    # [population_by] COLUMN = { file = ..., source = "...", illustrative = true }: their sources
    population_by_sources: dict[str, PopulationSource] = field(default_factory=dict)
    bundled: bool = False
    defaults: dict[str, str] = field(default_factory=dict)  # [defaults]: option defaults
    marking: str = ""  # [paper] marking: the protective marking on every page of the paper
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    quality: Quality = field(default_factory=lambda: Quality())

    @property
    def root(self) -> Path:
        return self.path.parent

    def kpi(self, kpi_id: str) -> KpiDef | None:
        return next((k for k in self.kpis if k.id == kpi_id), None)

    def priority(self, priority_id: str) -> Priority | None:
        return next((p for p in self.priorities if p.id == priority_id), None)

    def known_kpi(self, kpi_id: str) -> KpiDef:
        """A KPI the project file itself names (a chart's, a check's, a rate's parts), which
        validation made sure exists: a missing one is a bug, not a user's mistake."""
        kpi = self.kpi(kpi_id)
        if kpi is None:
            raise KeyError(f"KPI '{kpi_id}' is named in the project but not defined")
        return kpi

    def resolve(self, relative: str) -> Path:
        """A path from the project file, which must stay inside the project folder."""
        root = self.root.resolve()
        resolved = (root / relative).resolve()
        if root != resolved and root not in resolved.parents:
            raise ConfigError(f"{self.path}: path '{relative}' leaves the project folder")
        return resolved


def read_only(project: Project) -> Project:
    """The project as the Python face hands it out (`kpi.api.Project.definition`): its
    mappings (datasets, populations, peer groups, [population_by], [defaults]) read-only views
    of copies, which refuse assignment with a TypeError, and its raw TOML a deep copy; every
    other part is a frozen dataclass or a tuple already. A notebook that changed a population
    in place changed every later answer in its process."""
    import copy
    from types import MappingProxyType

    def frozen(mapping: dict[str, Any]) -> Any:
        return MappingProxyType(dict(mapping))

    return replace(project, populations=frozen(project.populations),
                   datasets=frozen(project.datasets), peers=frozen(project.peers),
                   population_by=frozen(project.population_by),
                   population_sources=frozen(project.population_sources),
                   population_by_sources=frozen(project.population_by_sources),
                   defaults=frozen(project.defaults), raw=copy.deepcopy(project.raw))


# ---------------------------------------------------------------------------------------------
# Finding the project


def bundled_project_dir() -> Path:
    """The West Midlands sample shipped with the package (wheel) or beside it (checkout)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_bundled" / "west-midlands",
                      here.parent / "datasets" / "west-midlands"):
        if (candidate / PROJECT_FILE).is_file():
            return candidate
    raise ConfigError("the bundled sample project is missing from this installation",
                      hint="reinstall kpi, or " + spelled("pass --project",
                                                         "pass kpi.open() your project's folder"))


def find_project_file(explicit: str | os.PathLike[str] | None = None,
                      cwd: Path | None = None) -> tuple[Path, bool]:
    """Locate kpi.toml: --project / KPI_PROJECT, then the working directory and its parents,
    then the bundled sample. Returns (path, is_bundled). `explicit` "sample" names the
    bundled sample (a folder of that name is ./sample)."""
    if explicit == SAMPLE:
        if Path(SAMPLE).exists():
            raise UsageError(f"--project {SAMPLE} names both the bundled sample and "
                             f"{Path.cwd() / SAMPLE}",
                             hint=f"write .{os.sep}{SAMPLE} for the folder")
        return bundled_project_dir() / PROJECT_FILE, True
    if explicit:
        path = _named_in_utf8(Path(explicit))
        if path.is_dir():
            path = path / PROJECT_FILE
        if not path.is_file():
            raise ConfigError(f"no project file at {path}", hint=spelled(
                "pass a folder holding kpi.toml, or run 'kpi init'",
                "pass kpi.open() a folder holding kpi.toml, or make one with 'kpi init' in a "
                "terminal (no call of the Python face does it)"))
        return path, False
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).is_file():
            return _named_in_utf8(folder / PROJECT_FILE), False
    return bundled_project_dir() / PROJECT_FILE, True


def _named_in_utf8(path: Path) -> Path:
    """The path, refused where its name is not UTF-8 text (a folder named in Latin-1 on
    Linux, 'proj\\xe9'): the store's files are named under it, and Parquet's writer stopped
    on it with a traceback after the extract was read (exit 5)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        shown = str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise ConfigError(f"the project's path {shown} is not UTF-8 text, which the store's "
                          "files cannot be named under",
                          hint="rename the folder (or the folder above it whose name shows "
                               "a \\x code) in UTF-8, as a file manager names it") from None
    return path


def load_project(explicit: str | os.PathLike[str] | None = None,
                 cwd: Path | None = None) -> Project:
    """The project kpi would use, validated: from the catalogue cache when this very file was
    validated before by this very code, else parsed and checked (and then cached)."""
    path, bundled = find_project_file(explicit, cwd)
    return load_project_file(path, bundled=bundled)


def load_project_file(path: Path, *, bundled: bool = False) -> Project:
    """parse_project_file through the catalogue cache (load_project, for a file already
    found)."""
    try:
        text = path.read_bytes()
    except OSError:
        return parse_project_file(path, bundled=bundled)  # which reports why
    key = _catalogue_key(path, text, bundled)
    project = _cached_project(key, path)
    if project is None:
        project = parse_project_file(path, bundled=bundled)
        _cache_project(key, project)
    return project


# The catalogue cache: checking a catalogue's expressions imports sqlglot and parses each one
# (0.2-0.4 s of CPU for the bundled sample's 163), the same every time for the same file. A
# validated project is kept, pickled, under a key of everything the check reads: the file's
# bytes, its path as given and resolved, whether it is the bundled sample (and where its store
# is), and the code that checks it (kpi's version and the size and time of its files; Polars'
# and sqlglot's versions). Only a valid project is kept: an invalid one is checked again and
# reported every time. The data folder's link check is redone on every use (below).
CATALOGUE_CACHE_ENTRIES = 64


# What to do when kpi's cache folder cannot be had (a service account's home that does not
# exist or is read-only; no home at all).
CACHE_HINT = ("set KPI_CACHE_DIR to a folder kpi may write: it keeps the bundled sample's "
              "store and its locks there")


def user_cache_dir() -> Path:
    """kpi's folder in the user's cache: KPI_CACHE_DIR when set, else the operating system's
    place for it (platformdirs: $XDG_CACHE_HOME/kpi or ~/.cache/kpi on Linux,
    ~/Library/Caches/kpi on macOS, %LOCALAPPDATA%\\kpi\\Cache on Windows). A ConfigError
    when there is none: no home folder (a job run with HOME unset by a user the system has
    no entry for), where `~` would otherwise be made in the working folder."""
    explicit = os.environ.get("KPI_CACHE_DIR")
    if explicit:
        return Path(explicit)
    from platformdirs import user_cache_path

    try:
        path = user_cache_path("kpi", appauthor=False)
    except RuntimeError:  # platformdirs' "could not determine the home directory"
        path = None
    if path is None or not path.is_absolute():  # older platformdirs leave `~` as it is
        raise ConfigError("kpi's cache folder is unknown: the home folder is not set, and "
                          "the user has none", hint=CACHE_HINT)
    return path


def make_cache_dir(name: str = "") -> Path:
    """kpi's cache folder, or the folder `name` in it, made when missing: for what must be
    kept there (the bundled sample's store, an export's lock). One line and a hint naming
    KPI_CACHE_DIR when it cannot be."""
    from kpi.errors import REFUSAL_REASONS, SystemRefusal

    cache = user_cache_dir()
    folder = cache / name if name else cache
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = REFUSAL_REASONS.get(exc.errno or 0, (exc.strerror or str(exc), ""))[0]
        raise SystemRefusal(f"{folder}: kpi's cache folder cannot be made ({reason})",
                            hint=CACHE_HINT) from None
    return folder


def code_fingerprint() -> list[tuple[str, int, int]]:
    """Size and modification time of kpi's own files, so an upgrade or an edit of the code
    (in an editable install, the version does not change) never reuses what older code made.
    Read once per process (`_code_files`): the code a process runs is the code it started
    with, and a process that answers many questions (a notebook, the test suite) walked the
    package's 60 files for each."""
    return list(_code_files())


@functools.cache
def _code_files() -> tuple[tuple[str, int, int], ...]:
    root = Path(__file__).resolve().parent
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [d for d in subfolders if d != "__pycache__"]
        for name in files:
            if name.endswith((".py", ".toml")):
                stat = os.stat(os.path.join(folder, name))
                found.append((os.path.relpath(os.path.join(folder, name), root),
                              stat.st_mtime_ns, stat.st_size))
    return tuple(sorted(found))


@functools.cache
def _library_versions() -> dict[str, str | None]:
    """The installed versions of the libraries a validated catalogue depends on, read once per
    process: what this process runs does not change while it runs."""
    return {name: installed_version(name) for name in ("polars", "sqlglot")}


def installed_version(name: str) -> str | None:
    """An importable package's installed version, without importing it: from the name of the
    one `.dist-info` folder beside it, as pip installs it. Importing `importlib.metadata` and
    searching the import path with it took about 19 ms of every command's start for two
    packages, listing the folder 0.2 ms. Where that folder is not found alone (an egg, two
    versions' folders left side by side), the metadata is read; None when not installed."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is not None and spec.origin is not None:
        beside = os.path.dirname(os.path.dirname(spec.origin))
        prefix, suffix = name + "-", ".dist-info"
        try:
            found = [entry[len(prefix):-len(suffix)] for entry in os.listdir(beside)
                     if entry.startswith(prefix) and entry.endswith(suffix)]
        except OSError:
            found = []
        if len(found) == 1 and "-" not in found[0]:
            return found[0]
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _catalogue_key(path: Path, text: bytes, bundled: bool) -> str:
    import hashlib
    import json

    from kpi import __version__

    libraries = _library_versions()
    parts = {"sha256": hashlib.sha256(text).hexdigest(), "path": str(path),
             "resolved": str(path.resolve()), "bundled": bundled,
             "store": str(bundled_store_dir()) if bundled else None, "kpi": __version__,
             "code": code_fingerprint(), "libraries": libraries}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _cached_project(key: str, path: Path) -> Project | None:
    import pickle

    try:
        entry = user_cache_dir() / "catalogues" / f"{key}.pickle"
    except ConfigError:  # no cache folder: the file is read every time
        return None
    try:
        # Unpickling runs code: only an entry this user wrote, in a folder only they can
        # write to, is read.
        if hasattr(os, "getuid") and any(
                (info := os.stat(held)).st_uid != os.getuid() or info.st_mode & 0o022
                for held in (entry, entry.parent)):
            return None
        project = pickle.loads(entry.read_bytes())
    except Exception:  # absent, unreadable or written by other code: check the file again
        return None
    if not isinstance(project, Project) or project.path != path:
        return None
    # The data folder as the file names it, resolved now: a link made since would lead a
    # load outside the project, which the check refuses.
    if not project.bundled and data_dir_of(project.path, project.raw, False) != project.data_dir:
        return None
    return project


def _cache_project(key: str, project: Project) -> None:
    import pickle

    try:
        folder = user_cache_dir() / "catalogues"
    except ConfigError:  # no cache folder: nothing cached
        return
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = folder / f".{key}.{os.getpid()}.tmp"
        temporary.write_bytes(pickle.dumps(project, protocol=pickle.HIGHEST_PROTOCOL))
        temporary.chmod(0o600)
        os.replace(temporary, folder / f"{key}.pickle")
        entries = sorted(folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime)
        for stale in entries[:-CATALOGUE_CACHE_ENTRIES]:
            stale.unlink(missing_ok=True)
    except OSError:  # a read-only cache folder: the file is just checked every time
        return


def parse_project_file(path: Path, *, bundled: bool = False) -> Project:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        reason, hint = REFUSAL_REASONS.get(exc.errno or 0, (exc.strerror or str(exc),
                                                            "check the path"))
        raise ConfigError(f"{visible(str(path))}: cannot read the project file: {reason}",
                          hint=hint) from None
    except UnicodeDecodeError as exc:
        # Named by line, as every other fault of the file is: Notepad's "ANSI" (Windows-1252)
        # saves a £ or an é as one byte that UTF-8 does not read.
        before = exc.object[:exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise ConfigError(f"{visible(str(path))}:{line}: cannot read the project file: not "
                          f"UTF-8 text (byte 0x{exc.object[exc.start]:02X}, column {column})",
                          hint="save kpi.toml as UTF-8 (in Notepad: Save as, Encoding "
                               "UTF-8)") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}",
                          hint=_syntax_hint(text, str(exc))) from None
    except RecursionError:
        raise ConfigError(f"{path}: nested more than {MAX_NESTING} levels deep",
                          hint="tables and arrays in kpi.toml are a few levels deep; check "
                               "the brackets") from None
    refuse_unsafe_text(raw, str(path))
    _matched_text_as_stored(raw)
    problems = _Problems(path, text)
    _refuse_blank_names(raw, problems)
    _refuse_non_text(raw, problems)
    _refuse_non_lists(raw, problems)
    project = _build_project(raw, path, problems, bundled)
    problems.raise_if_any()
    assert project is not None
    return project


def _names(raw: dict[str, Any]):
    """Each text of kpi.toml printed as a name or beside a figure: (where, key, the table
    holding it, line needles or an item to find). The project's name, a priority's or KPI's
    title, a KPI's noun, unit label and target source, a column's label, a peer group's and a
    check's title, the paper's plan and data note."""
    def table(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    def items(value: Any) -> list[dict[str, Any]]:
        return [i for i in value if isinstance(i, dict)] if isinstance(value, list) else []

    yield "[project]", "name", table(raw.get("project")), \
        (r"^\s*\[project\]", r"^\s*name\s*=")
    for section, keys in (("priorities", ("title",)),
                          ("kpis", ("title", "noun", "unit_label", "target_source")),
                          ("checks", ("title",))):
        for item in items(raw.get(section)):
            where = {"priorities": "priority", "kpis": "KPI", "checks": "check"}[section]
            for key in keys:
                yield f"{where} '{item.get('id')}'", key, item, (section, item.get("id"))
    for dataset, spec in table(raw.get("datasets")).items():
        for column, declared in table(table(spec).get("columns")).items():
            yield f"dataset '{dataset}', column '{column}'", "label", table(declared), \
                (rf"^\s*\[datasets\.{re.escape(str(dataset))}\.columns\]",
                 rf"^\s*{re.escape(str(column))}\s*=")
    for group, spec in table(raw.get("peers")).items():
        yield f"peer group '{group}'", "title", table(spec), \
            (rf"^\s*\[peers\.{re.escape(str(group))}\]", r"^\s*title\s*=")
    for key in ("plan", "data_note"):
        yield "[paper]", key, table(raw.get("paper")), (r"^\s*\[paper\]", rf"^\s*{key}\s*=")


# The keys whose value is text, beyond the names of `_names`: sentences printed in the paper,
# the ids of other items, and files. A number, a flag or a list there was printed as Python
# writes it (a description of ['Recorded crimes']) or stopped kpi with a traceback
# (`dataset = ["crimes"]`, `priority = ["community"]`: "unhashable type: 'list'").
_TEXT_KEYS = {
    "kpis": ("description", "notes", "table", "priority", "dataset", "peers", "numerator_kpi",
             "denominator_kpi", "population", "weights", "kind", "unit", "better", "status",
             "filter", "value", "numerator", "denominator", "baseline"),
    "checks": ("total",),
    "datasets": ("description", "sheet"),  # `unique`: a name or a list (`_unique_columns`)
    "peers": ("column", "focus"),
    "project": ("data", "baseline", "snapshot_baseline"),
}


def _texts(raw: dict[str, Any]):
    """Each text key of kpi.toml, `_names`' and `_TEXT_KEYS`': (where, key, the table holding
    it, line needles or an item to find)."""
    def table(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    yield from _names(raw)
    for section, word in (("kpis", "KPI"), ("checks", "check")):
        items = raw.get(section)
        for item in items if isinstance(items, list) else ():
            for key in _TEXT_KEYS[section] if isinstance(item, dict) else ():
                yield f"{word} '{item.get('id')}'", key, item, (section, item.get("id"))
    for section, word in (("datasets", "dataset"), ("peers", "peer group")):
        for name, spec in table(raw.get(section)).items():
            for key in _TEXT_KEYS[section]:
                yield f"{word} '{name}'", key, table(spec), (
                    rf"^\[{section}\.{re.escape(str(name))}\]", rf"^\s*{key}\s*=")
    for key in _TEXT_KEYS["project"]:
        yield "[project]", key, table(raw.get("project")), (r"^\s*\[project\]",
                                                            rf"^\s*{key}\s*=")


def _line(problems: _Problems, found: tuple[Any, Any], key: str) -> int | None:
    """The line of a key `_names` or `_texts` gives: within its item, or after its needles."""
    section, needle = found
    return (problems.item_line(section, str(needle), key)
            if section in ("priorities", "kpis", "checks") else
            problems.line_of(section, str(needle)))


def _refuse_non_text(raw: dict[str, Any], problems: _Problems) -> None:
    """A text key of kpi.toml holding a number, a flag, a list or a table is refused, once,
    and taken out of `raw`, so that nothing after reads it as text or an id."""
    for where, key, holder, found in _texts(raw):
        value = holder.get(key)
        if value is None or isinstance(value, str):
            continue
        problems.add(where, key, f"must be text (in quotes), found {_shown_kind(value)}",
                     line=_line(problems, found, key))
        problems.not_text.add((where, key))
        del holder[key]


# The keys whose value is a list of names, and what each name is: text there was read letter
# by letter, as Python reads a string where a list belongs (`parts = "ab"` reconciled KPIs
# 'a' and 'b', exit 0; `sources = "crimes.csv"` read the files 'c', 'r', 'i' ...), and a
# number stopped kpi with a traceback ("'int' object is not iterable"). The keys of
# `_NAME_OR_LIST_KEYS` take one name as text too.
_LIST_KEYS = {
    "kpis": (("breakdowns", "columns' names", "breakdowns = [\"lpa\"]"),
             ("components", "KPI ids", 'components = ["burglary", "robbery"]'),
             ("quotes", "KPI ids", 'quotes = ["victims_satisfied"]')),
    "checks": (("parts", "KPI ids", 'parts = ["asb_nuisance", "asb_personal"]'),),
    "datasets": (("sources", "paths", 'sources = ["extracts/crimes-*.csv"]'),),
}
_NAME_OR_LIST_KEYS = {"datasets": (("replace_by", "columns' names"),)}


def _lists(raw: dict[str, Any]):
    """Each key of kpi.toml whose value is a list of names (`_LIST_KEYS`, and one name or a
    list: `_NAME_OR_LIST_KEYS` and a column's `from`): (where, key, the table holding it,
    line needles or an item to find, what each name is, an example or None where one name
    as text is taken)."""
    def table(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    for section, word in (("kpis", "KPI"), ("checks", "check")):
        items = raw.get(section)
        for item in items if isinstance(items, list) else ():
            for key, what, example in _LIST_KEYS[section] if isinstance(item, dict) else ():
                yield (f"{word} '{item.get('id')}'", key, item, (section, item.get("id")), what,
                       example)
    for name, spec in table(raw.get("datasets")).items():
        needle = rf"^\[datasets\.{re.escape(str(name))}\]"
        for key, what, example in _LIST_KEYS["datasets"]:
            yield (f"dataset '{name}'", key, table(spec), (needle, rf"^\s*{key}\s*="), what,
                   example)
        for key, what in _NAME_OR_LIST_KEYS["datasets"]:
            yield (f"dataset '{name}'", key, table(spec), (needle, rf"^\s*{key}\s*="), what,
                   None)
        for column, declared in table(table(spec).get("columns")).items():
            yield (f"dataset '{name}'", f"columns.{column}.from", table(declared),
                   (rf"^\s*\[datasets\.{re.escape(str(name))}\.columns\]",
                    rf"^\s*{re.escape(str(column))}\s*="), "columns' names", None)


def _refuse_non_lists(raw: dict[str, Any], problems: _Problems) -> None:
    """A key of kpi.toml whose value is a list of names (`_lists`) holding text where only a
    list is taken, a number, a flag or a table, or a list of anything but text, is refused,
    once, and taken out of `raw`, so that nothing after reads text letter by letter as the
    names of a list (nor stops on a number)."""
    for where, key, holder, found, what, example in _lists(raw):
        field = key.rpartition(".")[2]
        value = holder.get(field)
        if value is None or (isinstance(value, str) and example is None):
            continue
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            continue
        if isinstance(value, str):  # where only a list is taken
            problem = (f"must be a list of {what} in square brackets ({example}), found the "
                       f"text \"{visible(value)}\"")
        elif isinstance(value, list):
            odd = next(v for v in value if not isinstance(v, str))
            problem = f"must be a list of {what}, each in quotes, found {_shown_kind(odd)} in it"
        elif example is None:
            problem = (f"must be a name or a list of {what} (each in quotes), found "
                       f"{_shown_kind(value)}")
        else:
            problem = (f"must be a list of {what} in square brackets ({example}), found "
                       f"{_shown_kind(value)}")
        problems.add(where, key, problem, line=_line(problems, found, key))
        problems.not_text.add((where, key))
        del holder[field]


def _shown_kind(value: Any) -> str:
    """What a value of kpi.toml is, as a refusal names it: "a list", "a table", "true or
    false", "a number"."""
    return ("a list" if isinstance(value, list) else "a table" if isinstance(value, dict)
            else "true or false" if isinstance(value, bool) else "a number")


def _refuse_blank_names(raw: dict[str, Any], problems: _Problems) -> None:
    """A name of spaces (or of characters that show nothing: no-break spaces, zero-width
    spaces) is refused wherever kpi.toml gives one, as a missing required one is: a KPI titled
    "   " printed its figures under no name ("▼    : 1.45 in the year ending December 2025"),
    exit 0. So is a name of more than one line. One rule for every such text (`_names`),
    blank as data is stored (`kpi.text.as_stored`)."""
    from kpi.text import as_stored

    for where, key, holder, found in _names(raw):
        value = holder.get(key)
        if not isinstance(value, str) or not value:
            continue
        if as_stored([value])[0].strip():
            # A name is one line: a title of two printed "Mean?victims" in `kpi show`, split
            # `kpi summary`'s row, and read "Mean victims" in the paper. (A target source, a
            # unit label and the data note are sentences: their lines are joined.)
            if key in ("target_source", "unit_label", "data_note") or not re.search(
                    r"[\r\n]", value):
                continue
            problem = ("is more than one line: a name is printed on one line (a table's "
                       "row, a heading), so write it on one")
        else:
            problem = ("is blank (only spaces or characters that show nothing): write the "
                       "words it prints, or leave the key out")
        problems.add(where, key, problem, line=_line(problems, found, key))


# A Windows path copied into "double quotes" (sources = ["extracts\crimes.csv"]) is the
# commonest syntax error of a first kpi.toml: TOML reads the backslash as an escape.
BACKSLASH_HINT = ("in \"double quotes\" a backslash starts an escape (\\n, \\t, \\u): write "
                  "a path with / (extracts/crimes.csv) or in 'single quotes'")


def _syntax_hint(text: str, error: str) -> str:
    """The hint for a TOML syntax error: the backslash rule when the line named holds one."""
    found = re.search(r"\(at line (\d+), column \d+\)", error)
    lines = text.splitlines()
    if found and 0 < int(found.group(1)) <= len(lines) and "\\" in lines[int(found.group(1)) - 1]:
        return BACKSLASH_HINT
    return "fix the line named; strings need quotes"


def _matched_text_as_stored(raw: dict[str, Any]) -> None:
    """Put the kpi.toml text that is matched against stored cells (a KPI's filter, value,
    numerator and denominator, derived columns, peer group members and focus) in the form
    cells are stored in (`kpi.text.normalised_text`): a filter `lpa = 'Zoë Town'` typed with
    a combining diaeresis (NFD, as macOS keyboards give) or a zero-width space counted 0 rows
    where the stored 'Zoë Town' has them. File paths and titles are left as written. A literal
    is not trimmed here (it may be meant with its spaces: `CONCAT(lpa, ' ')`); one compared
    with a stored text column that no cell can equal is refused (`unmatched_text`)."""
    slots: list[tuple[Any, Any]] = []
    kpis = raw.get("kpis")
    for item in kpis if isinstance(kpis, list) else ():
        if isinstance(item, dict):
            slots += [(item, k) for k in ("filter", "value", "numerator", "denominator")
                      if isinstance(item.get(k), str)]
    datasets = raw.get("datasets")
    for spec in datasets.values() if isinstance(datasets, dict) else ():
        derived = spec.get("derived") if isinstance(spec, dict) else None
        if isinstance(derived, dict):
            slots += [(derived, k) for k, v in derived.items() if isinstance(v, str)]
    peers = raw.get("peers")
    for group in peers.values() if isinstance(peers, dict) else ():
        if not isinstance(group, dict):
            continue
        members = group.get("members")
        if isinstance(members, list):
            slots += [(members, i) for i, m in enumerate(members) if isinstance(m, str)]
        if isinstance(group.get("focus"), str):
            slots.append((group, "focus"))
    if slots:
        from kpi.text import as_stored

        for (holder, key), text in zip(slots, as_stored([h[k] for h, k in slots]),
                                       strict=True):
            holder[key] = text


def validate_project_file(path: Path) -> list[str]:
    """Every problem in a project file, one line each (empty when it is valid)."""
    try:
        parse_project_file(path)
    except ConfigError as exc:
        return exc.message.split("\n")
    return []


class _Problems:
    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = text.splitlines()
        self.items: list[str] = []
        self.bounded = False  # a number out of its range is among the problems
        self.not_text: set[tuple[str, str]] = set()  # (where, key) refused as not text

    def line_of(self, *needles: str) -> int | None:
        """Best-effort line number: the first line holding the first needle, searching on from
        there for the next one (e.g. a KPI's id, then the key)."""
        start = 0
        found = None
        for needle in needles:
            if needle is None:
                continue
            pattern = re.compile(needle)
            for number in range(start, len(self.lines)):
                if pattern.search(self.lines[number]):
                    found = start = number
                    break
            else:
                return found + 1 if found is not None else None
        return found + 1 if found is not None else None

    def item_line(self, section: str, item_id: str, key: str | None = None) -> int | None:
        """Line of an item of an array of tables (`[[kpis]]` with `id = "x"`), or of one of its
        keys: searched within the item's own table, from an index of the file built once, so
        reporting every problem of a large catalogue takes time in proportion to its size."""
        if not hasattr(self, "_items"):
            self._index()
        found = self._items.get((section, item_id))
        if found is None:
            return None
        start, end = found
        if key is not None:
            pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
            for number in range(start, end):
                if pattern.match(self.lines[number]):
                    return number + 1
        return self._id_lines[(section, item_id)] + 1

    def _index(self) -> None:
        header = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.]+)\s*\]")
        item_id = re.compile(r'^\s*id\s*=\s*"([^"]*)"')
        self._items: dict[tuple[str, str], tuple[int, int]] = {}
        self._id_lines: dict[tuple[str, str], int] = {}
        section, start, ids = None, 0, []

        def close(end: int) -> None:
            if section is None:
                return
            for found in ids:
                self._items.setdefault((section, found[0]), (start, end))
                self._id_lines.setdefault((section, found[0]), found[1])

        for number, line in enumerate(self.lines):
            opened = header.match(line)
            if opened:
                close(number)
                section, start, ids = opened.group(1), number, []
            elif (named := item_id.match(line)) and section is not None:
                ids.append((named.group(1), number))
        close(len(self.lines))

    def add(self, where: str, key: str | None, message: str, *needles: str,
            line: int | None = None) -> None:
        if (where, key) in self.not_text:  # said once, as "must be text" (_refuse_non_text)
            return
        if line is None and needles:
            line = self.line_of(*needles)
        location = f"{self.path}" + (f":{line}" if line else "")
        subject = where + (f", key '{key}'" if key else "")
        self.items.append(f"{location}: {subject}: {message}")

    def out_of_bounds(self, name: str, value: Any, where: str, key: str, *needles: str,
                      line: int | None = None) -> bool:
        """Reports a number outside its range in BOUNDS (True), or says it is in range."""
        problem = BOUNDS[name].problem(value)
        if problem is not None:
            self.add(where, key, problem, *needles, line=line)
            self.bounded = True
        return problem is not None

    def raise_if_any(self) -> None:
        if self.items:
            count = len(self.items)
            hint = f"{count} problem{'s' if count > 1 else ''} in the project file"
            raise ConfigError("\n".join(self.items),
                              hint=hint + (f"; {BOUNDS_HINT}" if self.bounded else ""))




# The keys of [project], of a [[priorities]] and a [[checks]] item, of a dataset, its column
# written as a table and a peer group: a key kpi does not read (`baselne` for `baseline`,
# `requried` for `required`) is refused, never passed over as if its default were meant.
PROJECT_KEYS = frozenset({"name", "data", "baseline", "snapshot_baseline"})
PRIORITY_KEYS = frozenset({"id", "title", "order"})
CHECK_KEYS = frozenset({"id", "title", "total", "parts", "tolerance"})
COLUMN_KEYS = frozenset({"type", "from", "required", "min", "pattern", "label", "time_zone"})
DATASET_KEYS = frozenset({"date", "columns", "unique", "description", "sources",
                          "extra_columns", "replace_by", "sheet", "derived", "source",
                          "published", "time_zone", "as_at", "sparse", "whole_months"})
PEER_KEYS = frozenset({"column", "members", "title", "focus"})


def _unknown_keys(problems: _Problems, where: str, table: dict[str, Any], known: frozenset[str],
                  *needles: str, key_prefix: str = "", key_line: bool = True) -> None:
    """Each key of `table` kpi does not read, refused with the keys it does; its line is the
    key's own after the needles', or (`key_line=False`, a key inside an inline table) theirs."""
    for key in sorted(set(table) - known):
        own = (rf"^\s*{re.escape(key)}\s*=",) if key_line else ()
        problems.add(where, key_prefix + key, f"unknown key (known: {', '.join(sorted(known))})",
                     *needles, *own)


# The sections of kpi.toml and their shapes: tables (`[project]`, `[datasets.crimes]`) and
# arrays of tables (`[[kpis]]`), each array item named by the word its problems are given under.
_TABLES = {"project": "a table", "population": "a table of name = number",
           "datasets": "a table of datasets, each [datasets.NAME]", "defaults": "a table",
           "paper": "a table", "peers": "a table of peer groups, each [peers.NAME]",
           "population_by": 'a table of column = "file.csv"', "quality": "a table"}
_ARRAYS = {"priorities": "priority", "kpis": "KPI", "checks": "check", "charts": "chart"}


def _shaped(raw: dict[str, Any], problems: _Problems) -> dict[str, Any]:
    """`raw` with every section of the wrong shape reported and left out, so that no reader of
    a section (this module's, `kpi.charts`' [[charts]] and `kpi.paper`'s [paper]) meets one.
    `[kpis.total_crime]` written for `[[kpis]]` made a table that was read as no KPIs at all: the
    summary printed an empty table with exit 0. Each section is judged here, once, by its value
    (a `kpis = 0` or `datasets = []` is not taken as missing)."""
    shaped = dict(raw)
    for name in (*_TABLES, *_ARRAYS):
        if name not in raw:
            continue
        value = raw[name]
        if name in _ARRAYS:
            if isinstance(value, list) and all(isinstance(item, dict) for item in value):
                continue
            word = _ARRAYS[name]
            if isinstance(value, dict) and value and all(isinstance(v, dict)
                                                        for v in value.values()):
                first = next(iter(value))
                fix = (f"each {word} is its own [[{name}]] table, with its id as a key: write "
                       f'[[{name}]] and id = "{first}" where [{name}.{first}] is written')
            else:
                fix = f"each {word} is its own [[{name}]] table (an array of tables)"
            problems.add(f"[[{name}]]", None, f"must be an array of tables: {fix}",
                         rf"^\s*(\[+\s*{name}\b|{name}\s*=)")
            shaped[name] = []
        elif not isinstance(value, dict):
            problems.add(f"[{name}]", None, f"must be {_TABLES[name]}",
                         rf"^\s*(\[+\s*{name}\b|{name}\s*=)")
            shaped[name] = {}
    return shaped


def _build_project(raw: dict[str, Any], path: Path, problems: _Problems,
                   bundled: bool) -> Project | None:
    unknown = set(raw) - set(_TABLES) - set(_ARRAYS)
    for key in sorted(unknown):
        problems.add("top level", key, "unknown section", rf"^\[+{re.escape(key)}")
    raw = _shaped(raw, problems)
    meta = raw.get("project", {})
    _unknown_keys(problems, "[project]", meta, PROJECT_KEYS, r"^\[project\]")

    def month_of(key: str, default: str) -> Month:
        try:
            return Month.typed(str(meta.get(key, default)), what=f"project.{key}")
        except Exception as exc:  # UsageError: report as a configuration problem
            problems.add("[project]", key, str(exc), rf"^\s*{key}\s*=")
            return Month.parse(default)

    baseline_end = month_of("baseline", "2024-03")
    snapshot_baseline = month_of("snapshot_baseline", str(baseline_end + 1))

    populations, population_sources = _build_populations(raw.get("population") or {}, problems)

    datasets = _build_datasets(raw.get("datasets") or {}, problems)
    priorities = _build_priorities(raw.get("priorities") or [], problems)
    kpis = _build_kpis(raw.get("kpis") or [], problems, datasets,
                       {p.id for p in priorities}, populations)
    checks = _build_checks(raw.get("checks") or [], problems, {k.id for k in kpis})
    for kpi in kpis:
        # `components` names the KPIs a figure is the sum of (the paper's and the revisions'
        # reading of it); the figure itself is counted from its own rows. Declared without a
        # check that they add up, a count of a whole dataset titled "thefts + burglaries"
        # printed 36 where its components give 24, the key read by nothing that computes.
        if kpi.components and not any(
                c.total == kpi.id and set(c.parts) == set(kpi.components) for c in checks):
            problems.add(f"KPI '{kpi.id}'", "components",
                         "names the KPIs its figure is the sum of, but its figure is counted "
                         "from its own rows: declare a [[checks]] with total = "
                         f"'{kpi.id}' and these parts, so 'kpi check' says whether they add "
                         "up",
                         line=problems.item_line("kpis", kpi.id, "components"))
    defaults = _build_defaults(raw.get("defaults") or {}, problems)
    peers = _build_peers(raw.get("peers") or {}, problems, datasets)
    for kpi in kpis:
        if kpi.peers is None:
            continue
        group = peers.get(kpi.peers)
        if group is None:
            problems.add(f"KPI '{kpi.id}'", "peers", f"'{kpi.peers}' is not a declared peer "
                         "group", line=problems.item_line("kpis", kpi.id, "peers"))
        elif kpi.dataset is None or not datasets[kpi.dataset].has_column(group.column):
            problems.add(f"KPI '{kpi.id}'", "peers", f"its data has no column '{group.column}' "
                         "to compare by", line=problems.item_line("kpis", kpi.id, "peers"))
    population_by, population_by_sources = _build_population_by(
        raw.get("population_by") or {}, problems, datasets)
    quality = _build_quality(raw.get("quality") or {}, problems)

    root = path.parent
    data = str(meta.get("data", "data"))
    if (fault := _path_fault(data)) is not None:
        problems.add("[project]", "data", f"'{visible(data)}' {fault}", r"^\s*data\s*=")
        data = "data"
    data = project_path(data)
    data_dir = named_data_dir(root, data)
    if not bundled and root.resolve() != data_dir and root.resolve() not in data_dir.parents:
        # A link would let every load write outside the project, as '..' would.
        problems.add("[project]", "data", f"'{data}' is a link to {data_dir}, outside the "
                                          "project folder", r"^\s*data\s*=")
        data_dir = root.resolve() / "data"
    if bundled:
        data_dir = bundled_store_dir()
    return Project(
        path=path, name=str(meta.get("name", root.name)), data_dir=data_dir,
        baseline_end=baseline_end, snapshot_baseline=snapshot_baseline, populations=populations,
        datasets=datasets, priorities=tuple(sorted(priorities, key=lambda p: p.order)),
        kpis=tuple(_with_population_source(k, population_sources) for k in kpis),
        checks=tuple(checks), peers=peers, population_by=population_by,
        population_sources=population_sources, population_by_sources=population_by_sources,
        bundled=bundled, defaults=defaults, marking=_marking(raw, problems), raw=raw,
        quality=quality,
    )


def _build_quality(raw: dict[str, Any], problems: _Problems) -> Quality:
    """[quality]: the data-quality thresholds, each a number in its range."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in QUALITY_KEYS:
            problems.add("[quality]", key, f"is not a key of [quality] (keys: "
                         f"{', '.join(QUALITY_KEYS)})", rf"^\s*{re.escape(key)}\s*=")
            continue
        if problems.out_of_bounds(f"quality.{key}", value, "[quality]", key,
                                  rf"^\s*{re.escape(key)}\s*="):
            continue
        values[key] = int(value) if BOUNDS[f"quality.{key}"].whole else value
    return Quality(**values)


# A protective marking is one short line ("OFFICIAL", "OFFICIAL-SENSITIVE"): it is printed in
# the header and footer of every page, where a paragraph would not fit.
MARKING_LIMIT = 60


@dataclass(frozen=True)
class PopulationSource:
    """Where a [population] figure, or a [population_by] file of each part's, comes from:
    `source` ("ONS Census 2021, table TS021"), and whether it is only an illustration
    (`illustrative = true`), a round figure that shows the method and is never printed as the
    area's own."""
    source: str = ""
    illustrative: bool = False


POPULATION_FORM = "{ count = ..., source = \"...\", illustrative = true }"
# [population_by] COLUMN = "file.csv", or a table of the file and where its figures come from.
POPULATION_BY_FORM = "{ file = \"reference/file.csv\", source = \"...\", illustrative = true }"


def _declared_source(value: dict[str, Any], problems: _Problems, where: str, name: str,
                     lead: str, form: str, *line: str) -> PopulationSource | None:
    """The source of a population written as a table (`[population]`'s `{ count = ...,
    source = "...", illustrative = true }`, `[population_by]`'s `{ file = ..., ... }`): one
    rule for both, `lead` the key that holds the figure or the file. None, with the problem
    added, when the table is written wrongly."""
    unknown = sorted(set(value) - {lead, "source", "illustrative"})
    source, illustrative = value.get("source", ""), value.get("illustrative", False)
    what = "a population" if lead == "count" else "a population file"
    if unknown:
        problems.add(where, name, f"unknown key{'s' if len(unknown) > 1 else ''} "
                     f"{', '.join(unknown)}: {what} is written as "
                     f"{'a number' if lead == 'count' else 'a file name'} or as {form}", *line)
        return None
    if lead not in value:
        example = ('{ count = 160_000, source = "..." }' if lead == "count"
                   else '{ file = "reference/population.csv", source = "..." }')
        problems.add(where, name, f"has no {lead}: write {example}", *line)
        return None
    if not isinstance(source, str) or any(not c.isprintable() for c in source):
        problems.add(where, name, "source must be one line of text, e.g. "
                     "source = \"ONS Census 2021, table TS021\"", *line)
        return None
    if not isinstance(illustrative, bool):
        problems.add(where, name, "illustrative must be true or false", *line)
        return None
    return PopulationSource(" ".join(source.split()), illustrative)


def _build_populations(raw: dict[str, Any], problems: _Problems
                       ) -> tuple[dict[str, float], dict[str, PopulationSource]]:
    """[population] NAME = number, or NAME = { count = number, source = "...",
    illustrative = true }: the populations and, for those written as a table, their sources."""
    populations: dict[str, float] = {}
    sources: dict[str, PopulationSource] = {}
    for name, value in raw.items():
        needle = rf"^\s*{re.escape(name)}\s*="
        if isinstance(value, dict):
            declared = _declared_source(value, problems, "[population]", name, "count",
                                        POPULATION_FORM, needle)
            if declared is None:
                continue
            sources[name] = declared
            value = value["count"]
        if not problems.out_of_bounds("population", value, "[population]", name, needle):
            populations[name] = float(value)
    return populations, sources


def _with_population_source(kpi: KpiDef, sources: dict[str, PopulationSource]) -> KpiDef:
    """The KPI with the sources of the populations it divides by: illustrative where any of
    them is, and their sources, each once, in the order the KPI names them."""
    names = kpi.populations or ((kpi.population,) if kpi.population else ())
    known = [sources[n] for n in names if n in sources]
    if not known:
        return kpi
    texts = list(dict.fromkeys(s.source for s in known if s.source))
    return replace(kpi, population_source=" and ".join(texts),
                   population_illustrative=any(s.illustrative for s in known))


def _marking(raw: dict[str, Any], problems: _Problems) -> str:
    paper = raw.get("paper")
    value = paper.get("marking", "") if isinstance(paper, dict) else ""
    needle = r"^\s*marking\s*="
    if not isinstance(value, str):
        problems.add("[paper]", "marking", "must be text, e.g. marking = \"OFFICIAL\"", needle)
        return ""
    text = " ".join(value.split())
    if len(text) > MARKING_LIMIT or any(not c.isprintable() for c in text):
        problems.add("[paper]", "marking", f"must be one line of at most {MARKING_LIMIT} "
                                           "printable characters, e.g. \"OFFICIAL\"", needle)
        return ""
    return text


# [defaults]: option defaults the command line applies (after the command line itself and the
# environment). The allowed values of each key; None means checked by its own parser.
DEFAULTS_KEYS: dict[str, tuple[str, ...] | None] = {
    "format": ("table", "json", "csv", "markdown"),
    "vs": ("baseline", "yoy", "previous", "fytd"),
    "period": None,
}


def default_problem(key: str, value: Any) -> str | None:
    """Why a [defaults] value of a known key is not one its option reads, or None: the one
    rule, by which the catalogue refuses it and the command line, reading [defaults] before
    the catalogue, knows to let the catalogue say so (`kpi.cli._project_defaults`)."""
    allowed = DEFAULTS_KEYS[key]
    if allowed is not None and value not in allowed:
        return f"must be one of {', '.join(allowed)}"
    if key == "period":
        try:
            Month.typed(str(value), what="defaults.period")
        except Exception as exc:  # UsageError: reported as a configuration problem
            return str(exc)
    return None


def _build_defaults(raw: dict[str, Any], problems: _Problems) -> dict[str, str]:
    defaults: dict[str, str] = {}
    for key, value in raw.items():
        needles = (r"^\[defaults\]", rf"^\s*{re.escape(key)}\s*=")
        if key not in DEFAULTS_KEYS:
            problems.add("[defaults]", key, f"unknown key (known: {', '.join(DEFAULTS_KEYS)})",
                         *needles)
            continue
        if (problem := default_problem(key, value)) is not None:
            problems.add("[defaults]", key, problem, *needles)
            continue
        defaults[key] = str(value)
    return defaults


def project_path(relative: str) -> str:
    """A path the project file names, relative to the project folder, as kpi uses it: a
    backslash (a path copied from Windows, written in 'single quotes') is a folder separator
    on every system, as on Windows, so one kpi.toml serves a laptop and a Linux server."""
    return relative.replace("\\", "/")


def named_data_dir(root: Path, data: str) -> Path:
    """The data folder `data` (kpi.toml's `[project] data`) names from the project folder
    `root`, resolved now: every link on the way (a `data` link, the project folder's own)
    followed as it stands at this moment; a backslash a folder separator, as in every path
    kpi.toml names (`project_path`)."""
    return (root / project_path(data)).resolve()


def data_dir_of(path: Path, raw: dict[str, Any], bundled: bool) -> Path:
    """The data folder of the project file at `path` whose TOML is `raw`, resolved now: the
    one rule the catalogue as it is read, its cache's check of a kept catalogue, the answer
    cache's key (kpi.cache) and every question of a project kept open (kpi.api.Project) take
    it by, so a `data` link, or a link to the project folder, switched since kpi.toml was
    read leads each of them to the folder it leads to now. The bundled sample's store is
    kpi's own folder."""
    if bundled:
        return bundled_store_dir()
    meta = raw.get("project")
    data = meta.get("data", "data") if isinstance(meta, dict) else "data"
    return named_data_dir(path.parent, str(data))


def _path_fault(relative: Any) -> str | None:
    """Why a path from the project file is unusable, or None: it leaves the project folder,
    or it holds a tab or line break (a backslash escape in \"double quotes\", as in
    "extracts\new.csv", read by TOML as a line break)."""
    if _escapes(relative):
        return ("leaves the project folder" if _leaves(relative)
                else "holds a '..' step, which kpi refuses even where the path stays in the "
                "project folder: write it without one")
    if any(c in str(relative) for c in "\t\n\r"):
        return "holds a tab or line break: " + BACKSLASH_HINT
    return None


def _escapes(relative: Any) -> bool:
    """Whether a path from the project file could point outside the project folder: absolute
    paths and any '..' step are refused outright, before anything is resolved or created."""
    text = str(relative).replace("\\", "/")
    return (text.startswith("/") or re.match(r"^[A-Za-z]:", text) is not None
            or ".." in text.split("/"))


def _leaves(relative: Any) -> bool:
    """Whether a path `_escapes` refuses does point outside the project folder: absolute, or
    more '..' steps than folders before them at some point (`extracts/../../x.csv`), rather
    than only written with a '..' that comes back inside (`./ref/../ref/w.csv`)."""
    text = str(relative).replace("\\", "/")
    if text.startswith("/") or re.match(r"^[A-Za-z]:", text) is not None:
        return True
    depth = 0
    for step in text.split("/"):
        if step == "..":
            depth -= 1
            if depth < 0:
                return True
        elif step not in ("", "."):
            depth += 1
    return False


def _bad_pattern(pattern: Any) -> str | None:
    """Why a column pattern is unusable (the regex dialect is Polars', i.e. Rust's), or None."""
    import polars as pl

    if not isinstance(pattern, str) or not pattern:
        return "must be a non-empty regular expression"
    try:
        pl.select(pl.lit("").str.contains(f"^(?:{pattern})$"))
    except pl.exceptions.PolarsError as exc:
        return f"is not a valid regular expression ({str(exc).strip().splitlines()[0]})"
    return None


def bundled_store_dir() -> Path:
    """The bundled sample's store is built on first use in a user cache folder, because the
    package folder may be read-only. Its name carries a fingerprint of the sample's files, so a
    changed sample (an upgrade, or a regenerated checkout) gets a store of its own."""
    import hashlib

    cache = user_cache_dir()
    folder = bundled_project_dir()
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".py"
                       and "__pycache__" not in p.parts):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return cache / f"west-midlands-sample-{digest.hexdigest()[:12]}"


def _build_datasets(raw: dict[str, Any], problems: _Problems) -> dict[str, DatasetSpec]:
    datasets: dict[str, DatasetSpec] = {}
    for ds_id, spec in raw.items():
        where = f"dataset '{ds_id}'"
        needle = rf"^\[datasets\.{re.escape(ds_id)}\]"
        if not ID_PATTERN.match(ds_id):
            problems.add(where, None, "ids are lower case letters, digits and _", needle)
            continue
        if not isinstance(spec, dict):
            problems.add(where, None, "must be a table", needle)
            continue
        _unknown_keys(problems, where, spec, DATASET_KEYS, needle)
        sheet = spec.get("sheet")
        if sheet is not None and (not isinstance(sheet, str) or not sheet.strip()):
            problems.add(where, "sheet", "must be the name of a sheet, as text", needle,
                         r"^\s*sheet\s*=")
            sheet = None
        extra = spec.get("extra_columns", "ignore")
        if extra not in ("ignore", "error"):
            problems.add(where, "extra_columns", "must be 'ignore' or 'error'", needle,
                         r"^\s*extra_columns\s*=")
            extra = "ignore"
        for source in spec.get("sources", ()):
            if (fault := _path_fault(source)) is not None:
                problems.add(where, "sources", f"'{visible(str(source))}' {fault}", needle,
                             r"^\s*sources\s*=")
        source = _query_source(spec.get("source"), where, needle, problems)
        published = spec.get("published", "monthly")
        if not isinstance(published, str) or published not in PUBLISHED:
            problems.add(where, "published", "must be one of " + ", ".join(
                f"'{name}'" for name in PUBLISHED), needle, r"^\s*published\s*=")
            published = "monthly"
        zone = _time_zone(spec.get("time_zone", UK), where, "time_zone", needle,
                          r"^\s*time_zone\s*=", problems)
        sparse = spec.get("sparse", False)
        if not isinstance(sparse, bool):
            problems.add(where, "sparse", "must be true or false", needle, r"^\s*sparse\s*=")
            sparse = False
        whole_months: set[Month] = set()
        if (listed := spec.get("whole_months")) is not None:
            try:
                if not isinstance(listed, list) or not all(isinstance(v, str) for v in listed):
                    raise UsageError("not a list of text")
                whole_months = {Month.typed(v, what="whole_months") for v in listed}
            except UsageError:
                problems.add(where, "whole_months", 'must be a list of months as YYYY-MM, such '
                             'as ["2024-10"]', needle, r"^\s*whole_months\s*=")
        columns: list[ColumnSpec] = []
        for name, col in (spec.get("columns") or {}).items():
            if name.startswith(INTERNAL_PREFIX):
                problems.add(where, f"columns.{name}", f"is the name of one of kpi's own "
                             f"columns ({INTERNAL_HINT})", needle, rf"^\s*{re.escape(name)}\s*=")
                continue
            col_table = col if isinstance(col, dict) else {"type": col}
            _unknown_keys(problems, where, col_table, COLUMN_KEYS, needle,
                          rf"^\s*{re.escape(name)}\s*=", key_prefix=f"columns.{name}.",
                          key_line=False)
            required = col_table.get("required", True)
            if not isinstance(required, bool):
                problems.add(where, f"columns.{name}.required", "must be true or false", needle,
                             rf"^\s*{re.escape(name)}\s*=")
                required = True
            try:
                ctype = ColumnType(col_table.get("type"))
            except ValueError:
                problems.add(where, f"columns.{name}",
                             f"type must be one of {', '.join(t.value for t in ColumnType)}",
                             needle, rf"^\s*{re.escape(name)}\s*=")
                continue
            sources = col_table.get("from", [])
            sources = (sources,) if isinstance(sources, str) else tuple(sources)
            pattern = col_table.get("pattern")
            bad = _bad_pattern(pattern) if pattern is not None else None
            if bad:
                problems.add(where, f"columns.{name}.pattern", bad, needle,
                             rf"^\s*{re.escape(name)}\s*=")
                pattern = None
            least = col_table.get("min")
            if least is not None and ctype not in (ColumnType.INT, ColumnType.FLOAT):
                problems.add(where, f"columns.{name}.min", f"a {ctype.value} column has no "
                             "smallest value: min is for int and float columns", needle,
                             rf"^\s*{re.escape(name)}\s*=")
                least = None
            elif least is not None and problems.out_of_bounds(
                    "columns.min", least, where, f"columns.{name}.min", needle,
                    rf"^\s*{re.escape(name)}\s*="):
                least = None
            own = zone
            if "time_zone" in col_table:
                if ctype != ColumnType.DATETIME:
                    problems.add(where, f"columns.{name}.time_zone", f"a {ctype.value} column "
                                 "holds no time of day: time_zone is for datetime columns",
                                 needle, rf"^\s*{re.escape(name)}\s*=")
                else:
                    own = _time_zone(col_table["time_zone"], where, f"columns.{name}.time_zone",
                                     needle, rf"^\s*{re.escape(name)}\s*=", problems)
            columns.append(ColumnSpec(name=name, type=ctype, sources=sources,
                                      required=required,
                                      min=least, pattern=pattern,
                                      label=str(col_table.get("label", "")),
                                      time_zone=own if ctype == ColumnType.DATETIME else UK))
        if not columns:
            problems.add(where, "columns", "declare at least the date column", needle)
            continue
        date = spec.get("date")
        date_parts = None
        date_col = next((c for c in columns if c.name == date), None)
        if isinstance(date, dict):  # the month from separate columns; reports its problems
            date_parts = _date_parts(date, columns, where, needle, problems)
            date = date_parts.year if date_parts else None
        elif date_col is None:
            problems.add(where, "date", f"'{date}' is not one of its columns", needle,
                         r"^\s*date\s*=")
        elif date_col.type not in (ColumnType.DATE, ColumnType.DATETIME, ColumnType.MONTH):
            problems.add(where, "date", f"column '{date}' must be of type date, datetime or month",
                         needle, r"^\s*date\s*=")
        # Each row's month is read from these: an extract may not leave one out (its rows
        # would have no month, and the load stopped with a traceback).
        month_from = [date_parts.year, date_parts.part] if date_parts else [date]
        for col in columns:
            if col.name in month_from and not col.required:
                problems.add(where, f"columns.{col.name}.required", "must be true: each "
                             "row's month is read from this column, so an extract cannot "
                             "leave it out", needle, rf"^\s*{re.escape(col.name)}\s*=")
        for col in columns:
            # The one column that may be called month: the date column of type month, which
            # holds exactly the month kpi partitions by.
            if internal_column(col.name) and not (col.name == date
                                                  and col.type == ColumnType.MONTH):
                problems.add(where, f"columns.{col.name}", f"is the name of one of kpi's own "
                             f"columns, unless it is the date column of type month "
                             f"({INTERNAL_HINT})", needle, rf"^\s*{re.escape(col.name)}\s*=")
        unique, unique_with = _unique_columns(spec.get("unique"), columns, where, needle,
                                              problems)
        replace_by = spec.get("replace_by", [])
        replace_by = [replace_by] if isinstance(replace_by, str) else list(replace_by)
        for name in replace_by:
            col = next((c for c in columns if c.name == name), None)
            if col is None or name == date:
                problems.add(where, "replace_by", f"'{name}' is not one of its columns (other "
                             "than the date)", needle, r"^\s*replace_by\s*=")
            elif col.type not in (ColumnType.STR, ColumnType.INT):
                problems.add(where, "replace_by", f"column '{name}' must be of type str or int",
                             needle, r"^\s*replace_by\s*=")
        derived = _derived_columns(spec.get("derived", {}), columns, ds_id, where, needle,
                                   problems)
        as_at = spec.get("as_at")
        if as_at is not None and as_at not in AS_AT:
            problems.add(where, "as_at", "must be " + " or ".join(
                f"'{k}' ({v})" for k, v in AS_AT.items()), needle, r"^\s*as_at\s*=")
            as_at = None
        elif as_at == "last" and (date_col is None or date_parts is not None
                                  or date_col.type == ColumnType.MONTH):
            # A month column (or a year and a month) gives every row of the month one date:
            # there is no last one to choose, and several rolls of a month cannot be told.
            problems.add(where, "as_at", "'last' chooses the month's last date, and the "
                         "dataset's date is not a column of type date or datetime", needle,
                         r"^\s*as_at\s*=")
            as_at = None
        datasets[ds_id] = DatasetSpec(id=ds_id, date=str(date), columns=tuple(columns),
                                      unique=unique, unique_with=unique_with,
                                      description=str(spec.get("description", "")),
                                      sources=tuple(project_path(str(p))
                                                    for p in spec.get("sources", ())),
                                      extra_columns=extra, replace_by=tuple(replace_by),
                                      sheet=sheet, date_parts=date_parts, derived=derived,
                                      source=source, published=published, time_zone=zone,
                                      as_at=as_at, sparse=sparse,
                                      whole_months=frozenset(whole_months))
    return datasets


def _time_zone(raw: Any, where: str, key: str, needle: str, line: str,
               problems: _Problems) -> str:
    """A declared `time_zone`: an IANA zone name ('UTC', 'Europe/London', 'Europe/Paris'), as
    Polars, which reads the times, knows it; an unknown one is a problem, and the UK's zone
    stands in for it."""
    if raw == UK:
        return UK
    if isinstance(raw, str) and raw.strip() == raw and raw:
        import polars as pl

        try:
            pl.Series([], dtype=pl.Datetime("us")).dt.replace_time_zone(raw)
        except pl.exceptions.ComputeError:
            pass
        else:
            return raw
    problems.add(where, key, f"'{raw}' is not a time zone: write an IANA name such as "
                 "'UTC' or 'Europe/London'", needle, line)
    return UK


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _query_source(raw: Any, where: str, needle: str, problems: _Problems) -> QuerySource | None:
    """A dataset's `source = { uri_env = "...", query = "..." }` (or `query_file`)."""
    if raw is None:
        return None
    line = r"^\s*source\s*="
    if not isinstance(raw, dict):
        problems.add(where, "source", "must be a table: { uri_env = \"ENV_VAR\", query = "
                     "\"SELECT ...\" }", needle, line)
        return None
    for key in sorted(set(raw) - {"uri_env", "query", "query_file"}):
        if key in ("uri", "url", "dsn", "password", "user", "connection"):
            problems.add(where, f"source.{key}", "a connection string or credential does not "
                         "belong in kpi.toml: put the URI in an environment variable and name "
                         "it with uri_env", needle, line)
        else:
            problems.add(where, f"source.{key}", "unknown key (uri_env, query, query_file)",
                         needle, line)
    uri_env = raw.get("uri_env")
    if not isinstance(uri_env, str) or not _ENV_NAME.match(uri_env):
        problems.add(where, "source.uri_env", "must name the environment variable that holds "
                     "the connection URI, e.g. \"KPI_WAREHOUSE_URI\"", needle, line)
        return None
    query, query_file = raw.get("query"), raw.get("query_file")
    if (query is None) == (query_file is None):
        problems.add(where, "source", "give one of query (the SQL text) or query_file (a .sql "
                     "file in the project folder)", needle, line)
        return None
    if query is not None and (not isinstance(query, str) or not query.strip()):
        problems.add(where, "source.query", "must be the SQL text of a query", needle, line)
        return None
    if query_file is not None and (not isinstance(query_file, str)
                                   or _path_fault(query_file) is not None):
        problems.add(where, "source.query_file", "must be a file inside the project folder",
                     needle, line)
        return None
    return QuerySource(uri_env=uri_env, query=query,
                       query_file=None if query_file is None else project_path(query_file))


# The type each date part column must be declared with.
_DATE_PART_TYPES = {"financial_year": ColumnType.STR, "year": ColumnType.INT,
                    "quarter": ColumnType.INT, "month": ColumnType.INT}


def _date_parts(date: dict[str, Any], columns: list[ColumnSpec], where: str, needle: str,
                problems: _Problems) -> DateParts | None:
    """date = { financial_year = "COL", quarter = "COL" } (or year + quarter, year + month)."""
    keys = tuple(sorted(date, key=lambda k: k not in ("financial_year", "year")))
    kind = DATE_PART_KINDS.get(keys) if len(keys) == 2 else None
    if kind is None:
        problems.add(where, "date", "a table of columns must be { financial_year, quarter }, "
                     "{ year, quarter } or { year, month }", needle, r"^\s*date\s*=")
        return None
    for key in keys:
        name = date[key]
        col = next((c for c in columns if c.name == name), None)
        if col is None:
            problems.add(where, f"date.{key}", f"'{name}' is not one of its columns", needle,
                         r"^\s*date\s*=")
            return None
        if col.type != _DATE_PART_TYPES[key]:
            problems.add(where, f"date.{key}", f"column '{name}' must be of type "
                         f"{_DATE_PART_TYPES[key].value}", needle, r"^\s*date\s*=")
            return None
    return DateParts(kind=kind, year=str(date[keys[0]]), part=str(date[keys[1]]))


def _derived_columns(raw: Any, columns: list[ColumnSpec], ds_id: str, where: str, needle: str,
                     problems: _Problems) -> tuple[DerivedColumn, ...]:
    """[datasets.X.derived] name = "SQL expression": checked like a filter (row-level: no
    aggregates, window functions, subqueries or table functions) against the declared columns
    and the derived columns before it."""
    from kpi.expressions import ExpressionProblem, check, compared_text

    if not isinstance(raw, dict):
        problems.add(where, "derived", "must be a table of name = \"SQL expression\"", needle)
        return ()
    derived: list[DerivedColumn] = []
    for name, expression in raw.items():
        line = rf"^\s*{re.escape(name)}\s*="
        if not ID_PATTERN.match(name):
            problems.add(where, f"derived.{name}", "names are lower case letters, digits and _",
                         needle, line)
            continue
        if internal_column(name):
            problems.add(where, f"derived.{name}", f"is the name of one of kpi's own columns "
                         f"({INTERNAL_HINT})", needle, line)
            continue
        if any(c.name == name for c in columns) or any(d.name == name for d in derived):
            problems.add(where, f"derived.{name}", "is already a column", needle, line)
            continue
        partial = DatasetSpec(id=ds_id, date="", columns=tuple(columns), derived=tuple(derived))
        try:
            check(expression, ds_id, _declared_types(partial), _scan_schema(partial),
                  guarded_division=True, derived=_derived_texts(partial))
        except ExpressionProblem as exc:
            problems.add(where, f"derived.{name}", str(exc), needle, line)
            continue
        if (never := unmatched_text(expression, partial)) is not None:
            problems.add(where, f"derived.{name}", never, needle, line)
            continue
        derived.append(DerivedColumn(name=name, expression=expression, compared=tuple(
            (column, literal) for column, literal, _ in compared_text(expression))))
    return tuple(derived)


def _build_peers(raw: dict[str, Any], problems: _Problems,
                 datasets: dict[str, DatasetSpec]) -> dict[str, PeerGroup]:
    """[peers.NAME] column = "force", members = ["...", ...], title = "..." (optional)."""
    peers: dict[str, PeerGroup] = {}
    for name, group in raw.items():
        where, needle = f"peer group '{name}'", rf"^\[peers\.{re.escape(name)}\]"
        if not ID_PATTERN.match(name) or not isinstance(group, dict):
            problems.add(where, None, "needs an id of lower case letters, digits and _, and a "
                         "table with column and members", needle)
            continue
        _unknown_keys(problems, where, group, PEER_KEYS, needle)
        column, members = group.get("column"), group.get("members")
        if not isinstance(column, str) or not any(d.has_column(column)
                                                   for d in datasets.values()):
            problems.add(where, "column", f"'{column}' is not a column of any dataset", needle,
                         r"^\s*column\s*=")
            continue
        if (not isinstance(members, list) or len(members) < 2
                or not all(isinstance(m, str) and m for m in members)):
            problems.add(where, "members", "must list at least two names", needle,
                         r"^\s*members\s*=")
            continue
        from kpi.text import SPELLINGS, identity_keys

        # Members name parts by the one rule (kpi.text.identity_key): 'BURE' and 'Bure' are
        # one member, which kpi compare would match to one part twice.
        keys = identity_keys(members)
        if len(set(keys)) != len(keys):
            twice = next(k for k in keys if keys.count(k) > 1)
            again = [m for m, k in zip(members, keys, strict=True) if k == twice]
            problems.add(where, "members", f"names a member twice ('{again[0]}' and "
                         f"'{again[1]}' {SPELLINGS})",
                         needle, r"^\s*members\s*=")
            continue
        focus = group.get("focus")
        if focus is not None and (not isinstance(focus, str)
                                  or identity_keys([focus])[0] not in keys):
            problems.add(where, "focus", f"'{focus}' is not one of its members", needle,
                         r"^\s*focus\s*=")
            continue
        peers[name] = PeerGroup(id=name, column=column, members=tuple(members),
                                title=str(group.get("title", name)), focus=focus)
    return peers


def _build_population_by(raw: dict[str, Any], problems: _Problems, datasets: dict[str, DatasetSpec]
                         ) -> tuple[dict[str, str], dict[str, PopulationSource]]:
    """[population_by] COLUMN = "reference/file.csv", or COLUMN = { file = "...", source =
    "...", illustrative = true }: the population file of each part of a column and, for those
    written as a table, where its figures come from (as `[population]`'s, `_declared_source`)."""
    out: dict[str, str] = {}
    sources: dict[str, PopulationSource] = {}
    for column, value in raw.items():
        line = (r"^\[population_by\]", rf"^\s*{re.escape(column)}\s*=")
        declared = None
        if isinstance(value, dict):
            declared = _declared_source(value, problems, "[population_by]", column, "file",
                                        POPULATION_BY_FORM, *line)
            if declared is None:
                continue
            value = value["file"]
        if not any(d.has_column(column) for d in datasets.values()):
            problems.add("[population_by]", column, "is not a column of any dataset", *line)
        elif not isinstance(value, str) or _path_fault(value) is not None:
            problems.add("[population_by]", column, "must be a CSV file inside the project "
                         "folder", *line)
        else:
            out[column] = project_path(value)
            if declared is not None:
                sources[column] = declared
    return out, sources


def _build_priorities(raw: list[Any], problems: _Problems) -> list[Priority]:
    priorities: list[Priority] = []
    seen: set[str] = set()
    for number, item in enumerate(raw):
        pid = item.get("id") if isinstance(item, dict) else None
        where = f"priority '{pid}'" if pid else f"priority #{number + 1}"
        needle = rf'^\s*id\s*=\s*"{re.escape(str(pid))}"'
        if not pid or not isinstance(pid, str) or not ID_PATTERN.match(pid):
            problems.add(where, "id", "needs an id of lower case letters, digits and _")
            continue
        if pid in seen:
            problems.add(where, "id", "is declared twice", needle)
            continue
        seen.add(pid)
        _unknown_keys(problems, where, item, PRIORITY_KEYS, needle)
        title, order = item.get("title"), item.get("order", number + 1)
        if not isinstance(title, str) or not title:
            problems.add(where, "title", "is required", needle)
        if problems.out_of_bounds("priorities.order", order, where, "order", needle):
            order = number + 1
        priorities.append(Priority(id=pid, title=str(title), order=int(order)))
    return priorities


def _build_kpis(raw: list[Any], problems: _Problems, datasets: dict[str, DatasetSpec],
                priority_ids: set[str], populations: dict[str, float]) -> list[KpiDef]:
    kpis: list[KpiDef] = []
    seen: set[str] = set()
    for number, item in enumerate(raw):
        kid = item.get("id") if isinstance(item, dict) else None
        where = f"KPI '{kid}'" if kid else f"KPI #{number + 1}"
        if not isinstance(kid, str) or not ID_PATTERN.match(kid):
            problems.add(where, "id", "needs an id of lower case letters, digits and _")
            continue

        def bad(key: str | None, message: str, kid: str = kid, where: str = where,
                bounded: bool = False) -> None:
            problems.add(where, key, message, line=problems.item_line("kpis", kid, key))
            problems.bounded |= bounded

        if kid in seen:
            bad("id", "is declared twice")
            continue
        seen.add(kid)
        kpi = _build_kpi(item, bad, datasets, priority_ids, populations)
        if kpi is not None and kpi.target is not None:
            line = problems.item_line("kpis", kid, "target")
            kpi = replace(kpi, target_at=f"{problems.path}" + (f":{line}" if line else ""))
        if kpi is not None and kpi.kind == Kind.MEAN and (
                why := zero_one_scale_problem(kpi.kind, kpi.unit, kpi.multiplier)):
            key = "multiplier" if "multiplier" in item else "unit"
            line = problems.item_line("kpis", kid, key)
            kpi = replace(kpi, flag_scale=f"{problems.path}" + (f":{line}" if line else "")
                          + f": {where}, key '{key}': {why}")
        if kpi is not None:
            kpis.append(kpi)
    known = {k.id: k for k in kpis}
    resolved: dict[str, KpiDef] = {}
    for kpi in kpis:
        for key in ("numerator_kpi", "denominator_kpi"):
            ref = getattr(kpi, key)
            if ref is not None and (ref not in known or known[ref].is_derived):
                problems.add(f"KPI '{kpi.id}'", key,
                             f"'{ref}' is not a KPI computed from a dataset",
                             line=problems.item_line("kpis", kpi.id, key))
            elif (ref is not None and kpi.status == Status.LIVE
                  and known[ref].status != Status.LIVE):
                problems.add(f"KPI '{kpi.id}'", key,
                             f"'{ref}' is in development, so a live KPI cannot use it",
                             line=problems.item_line("kpis", kpi.id, key))
            elif ref is not None and (why := _not_in_window(kpi, known[ref])):
                problems.add(f"KPI '{kpi.id}'", key, why,
                             line=problems.item_line("kpis", kpi.id, key))
        if kpi.is_derived and all(
                (ref := getattr(kpi, key)) in known and not known[ref].is_derived
                for key in ("numerator_kpi", "denominator_kpi")):
            num, den = (known[ref] for ref in kpi.ratio_of)
            if num.unit in DURATION_UNITS and den.unit in DURATION_UNITS \
                    and num.unit != den.unit:
                # the figures are divided as printed: 12 hours on scene in seconds over 24
                # hours deployed in days read 4,320,000.0%, 86,400 times the 50.0% they are
                problems.add(f"KPI '{kpi.id}'", "denominator_kpi",
                             f"'{num.id}' is in {num.unit.value} and '{den.id}' in "
                             f"{den.unit.value}, and a rate of two KPIs divides their figures "
                             f"as printed: give both the same unit",
                             line=problems.item_line("kpis", kpi.id, "denominator_kpi"))
            if kpi.target is not None and kpi.better != Better.NEUTRAL \
                    and (num.kind in TOTAL_KINDS) != (den.kind in TOTAL_KINDS):
                # 132 crimes in a year over 100 officers on average is 132%, where each
                # month's point is 11%: the headline and its months are of two scales, so a
                # target set against one was judged against the other ("consistently passes"
                # a target of 140 that every other month missed).
                total, level = (num, den) if num.kind in TOTAL_KINDS else (den, num)
                problems.add(f"KPI '{kpi.id}'", "target",
                             f"'{total.id}' is a {total.kind.value}, a total over the window, "
                             f"and '{level.id}' a {level.kind.value}, a level, so the rate's "
                             "figure for a year is twelve times its months' (the process "
                             "chart's points): a target could be judged on neither; leave it "
                             "out, or divide two totals or two levels",
                             line=problems.item_line("kpis", kpi.id, "target"))
            declared = kpi.numerator_within_denominator
            if declared is False and provably_within(num, den):
                problems.add(f"KPI '{kpi.id}'", "numerator_within_denominator",
                             f"is false, but '{num.id}' counts rows of '{den.id}' (the same "
                             "dataset, its filter narrowed): remove the key",
                             line=problems.item_line("kpis", kpi.id,
                                                     "numerator_within_denominator"))
            resolved[kpi.id] = replace(
                kpi, numerator_within_denominator=bool(declared) or (
                    declared is None and provably_within(num, den)),
                rate_test=rate_test(declared, num, den),
                within_on_trust=bool(declared) and not provably_within(num, den),
                counted_parts=num.counts_rows and den.counts_rows,
                # A rate's last months are not final where its numerator's or denominator's
                # are not: it was tested, and charted, on the outcomes not yet recorded that
                # its numerator declares so (610 of 2,400 against 720, "a statistically
                # significant deterioration", where the settled months give 600 against 600).
                provisional_months=max(kpi.provisional_months, num.provisional_months,
                                       den.provisional_months))
        for ref in kpi.components:
            if ref not in known:
                problems.add(f"KPI '{kpi.id}'", "components", f"'{ref}' is not a KPI",
                             line=problems.item_line("kpis", kpi.id, "components"))
        for ref in kpi.quotes:
            if ref not in known or ref == kpi.id:
                problems.add(f"KPI '{kpi.id}'", "quotes", f"'{ref}' is not another KPI",
                             line=problems.item_line("kpis", kpi.id, "quotes"))
    built = [resolved.get(k.id, k) for k in kpis]
    for kpi in built:
        if (problem := target_problem(kpi)) is not None:
            problems.add(f"KPI '{kpi.id}'", "target", problem[0],
                         line=problems.item_line("kpis", kpi.id, "target"))
            problems.bounded |= problem[1]
    return built


def cumulative_refusal(kind: Kind, derived: bool = False) -> str:
    """Why `cumulative = true` is refused on a KPI that combines the months of its window:
    only a snapshot reads a running total at its month."""
    what = "a rate of two KPIs" if derived else f"a {kind.value}"
    verb = "adds" if kind in TOTAL_KINDS else "combines"
    return (f"{what} {verb} the months of its window, so its figure is no running total: a "
            "running total (trained to date) is read at its month by kind = \"snapshot\" "
            "(with value = its column, or a numerator and denominator for a share); leave "
            "cumulative out")


def share_target_problem(kpi: KpiDef) -> str | None:
    """Why a share's target is off the share's scale, from 0 to all of its rows in its unit
    (`KpiDef.share_max`), or None: the one bound of every share's target, a share by its
    definition (`target_problem`, as kpi.toml loads) or proven one by its rows as they are
    read (`kpi.verdicts.off_share_target`). A target written in percent on a share that
    prints 0 to 1 (20 on a mean of 0s and 1s, 0.25 "met") is said as the figure prints it."""
    if kpi.target is None:
        return None
    target = kpi.target
    # Said as the figure prints it where the target reads as a percentage of a share that
    # prints otherwise: 20 on a share from 0 to 1 is 0.2.
    meant = (f"; as the figure prints it, {target:g}% is "
             f"{float(as_written(target) * as_written(kpi.share_max) / 100):g}"
             if 0 < target <= 100 and kpi.share_max != 100 else "")
    if kpi.kind == Kind.MEAN:
        bound = Bound(0, kpi.share_max, why="a mean of values each 0 or 1 is a share of rows"
                      + (f", times its multiplier {kpi.multiplier:g}" if kpi.multiplier != 1
                         else "") + meant)
    elif kpi.share_max == 100:
        bound = BOUNDS["kpis.target (a share)"]
    else:
        bound = Bound(0, kpi.share_max, why=f"a share of rows, in its unit (multiplier "
                                            f"{kpi.multiplier:g}){meant}")
    # A whole target is read as a float: said as written, "found 90", not "found 90.0".
    return bound.problem(int(target) if target.is_integer() else target)


def target_problem(kpi: KpiDef) -> tuple[str, bool] | None:
    """Why a built KPI's target is refused, and whether for its range; None where it is not.

    A share's target lies from 0 to all of its rows in its unit (`KpiDef.share_max`), one
    rule for every share (`KpiDef.share`) whatever kind makes it, known once a rate of two
    KPIs is resolved: a target of 90 on a share as a ratio, at most 1, was missed in every
    month (1.0, all calls answered, "not met"), and on a rate of a condition as a ratio (0.95
    every month) was judged "consistently fails", where on a `within` it was refused. And met
    or missed needs a direction: a neutral KPI's target would be printed and judged by nothing
    (docs/statistics.md, "A `neutral` KPI has no assurance")."""
    if kpi.target is None:
        return None
    if kpi.share and (problem := share_target_problem(kpi)) is not None:
        return problem, True
    if kpi.better == Better.NEUTRAL:
        return ("a target is met from one side, and this KPI's better is neutral: set "
                "better = \"higher\" or \"lower\", or leave the target out"), False
    return None


# What a kind's value is, where no unit but a few can print it: a share is numerator /
# denominator x 100 (a rate, a `within`, a snapshot with a numerator), rows are counted (a
# count or snapshot without a value, a rate per 1,000), a ratio of rates is a ratio. A unit
# that names another quantity printed the figure as one: a share of 33.3% as "0:33" (seconds),
# 36 incidents as "36.0%" with a change of "-12.0pp", a share as a count with a % change of a
# percentage (+50.0% for 33.3% to 50.0%).
_MISREAD_UNITS = {
    "share": frozenset({Unit.SECONDS, Unit.DAYS, Unit.GBP, Unit.COUNT}),
    "rows": frozenset({Unit.PERCENT, Unit.SECONDS, Unit.DAYS, Unit.GBP}),
    "ratio": frozenset({Unit.PERCENT, Unit.SECONDS, Unit.DAYS, Unit.GBP}),
}
# The units whose figure of a share is a fixed scale of numerator / denominator: the
# multiplier that gives it (the share being x 100 already), and the unit in words.
_SHARE_SCALES = {Unit.PER_1000: (10, "a share per 1,000 (numerator / denominator x 1,000)"),
                 Unit.RATIO: (0.01, "a share as a ratio (numerator / denominator)")}
# The units whose words name a kind's value as it is, unscaled ("per 1,000 population", "times
# as likely"): a multiplier on one would scale the figure and leave its words.
_UNSCALED = {"rows": frozenset({Unit.PER_1000}), "ratio": frozenset({Unit.RATIO})}
_WHAT = {"share": "a percentage (numerator / denominator x 100)",
         "rows": "a number of rows", "ratio": "a ratio of two rates"}


# The units that scale a share of rows, and all of its rows in each: a share is printed in one
# only at that scale (25% of rows is 25 in percent, 250 per 1,000, 0.25 as a ratio).
SHARE_UNIT_SCALES = {Unit.PERCENT: (100, "%"), Unit.PER_1000: (1000, " per 1,000"),
                     Unit.RATIO: (1, "")}


def zero_one_scale_problem(kind: Kind, unit: Unit, multiplier: float) -> str | None:
    """Why a figure of values each 0 or 1 (`expressions.zero_or_one`: a condition, a bool
    column, a CASE of 0 and 1, or a derived column that is one) is printed off its unit's
    scale, or None: the one rule of a mean of such values, and of a rate's or snapshot's
    numerator of them over no denominator (`KpiDef.flag_share`). Such a mean is a share from
    0 to 1 times its multiplier, such a rate one from 0 to 100 times its multiplier
    (`KpiDef.share_max`); in a unit that scales a share (`SHARE_UNIT_SCALES`) the multiplier
    must give that scale: a mean of a share of 25% printed "0.3%" with no multiplier, "2.5%"
    with multiplier 10 and "0.3" per 1,000. A median or percentile of such values is 0 or 1
    itself (or between, where the rows split at it), never the share it would be read as (a
    quarter of rows 1 has a median of 0), in any unit: refused, the mean being the share."""
    if kind in (Kind.MEDIAN, Kind.PERCENTILE):
        return (f"a {kind.value} of values each 0 or 1 is 0 or 1 itself (or between, where "
                "the rows split at it), not the share of rows that are 1 (a quarter of rows "
                "1 has a median of 0): write kind = \"mean\" for that share"
                + (" with multiplier = 100" if unit == Unit.PERCENT else ""))
    if unit not in SHARE_UNIT_SCALES:
        return None
    scale, sign = SHARE_UNIT_SCALES[unit]
    times = 1 if kind == Kind.MEAN else 100
    written = as_written(multiplier)
    if written * times == scale:
        return None
    need = Fraction(scale, times)
    what = ("a mean of values each 0 or 1 is a share from 0 to 1" if kind == Kind.MEAN else
            f"a {kind.value} of a numerator each 0 or 1 over no denominator is a share from 0 "
            "to 100")
    fix = f"write multiplier = {float(need):g}" + (
        " (or leave it out)" if need == 1 else "") + (
        ", or kind = \"rate\" with the condition as its numerator"
        if kind == Kind.MEAN and unit == Unit.PERCENT else "")
    return (f"is {unit.value} with multiplier {float(written):g}, but {what} times its "
            f"multiplier, which would print a quarter of the rows, "
            f"{float(scale * Fraction(1, 4)):g}{sign}, as "
            f"{float(written * times * Fraction(1, 4)):g}{sign}: {fix}")


# The units a `unit_label` can name, by the words that name them: a time, a percentage, a rate
# per so many ("per 1,000", "per 10,000", "per 1k") and pounds. An abbreviation of a time is
# one only in small letters ("24 hrs"; "HR referrals" are of human resources).
_TIME_WORDS = {"second": "seconds", "seconds": "seconds", "sec": "seconds", "secs": "seconds",
               "minute": "minutes", "minutes": "minutes", "min": "minutes", "mins": "minutes",
               "hour": "hours", "hours": "hours", "hr": "hours", "hrs": "hours",
               "day": "days", "days": "days", "week": "weeks", "weeks": "weeks",
               "month": "months", "months": "months", "year": "years", "years": "years"}
_ABBREVIATED = frozenset({"sec", "secs", "min", "mins", "hr", "hrs"})
# Words saying a figure is a rate per a time ("monthly crimes"), as "per month" does.
_PERIOD_WORDS = {"hourly": "hour", "daily": "day", "weekly": "week", "monthly": "month",
                 "yearly": "year", "annual": "year", "annually": "year", "annum": "year"}
_PER_WORDS = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_PER_NUMBER = re.compile(r"(\d[\d,]*)(k|m)?")
# The words that end a label's head, the words naming its unit: what follows qualifies it
# (who: "victims aged 18 and over"; which: "incidents within 24 hours", "days to charge"; of
# what: "% of crimes charged"), as do brackets, a comma, colon or semicolon and a spaced dash.
_QUALIFIERS = frozenset({
    "within", "aged", "to", "of", "in", "for", "from", "after", "before", "over", "under",
    "since", "by", "at", "on", "with", "without", "between", "during", "until", "where", "who",
    "which", "that", "when", "whose", "than", "excluding", "including", "not", "as"})
# Words before a head that say which figure it is, not its unit ("average number of days").
_LEADING = frozenset({"average", "mean", "median", "total", "number", "count", "amount",
                      "typical", "of"})


def _label_head(label: str) -> list[tuple[str, str]]:
    """A `unit_label`'s head, the words naming the unit its figures are in, each (as written,
    in small letters): the words before the first qualifier (`_QUALIFIERS`, a bracket, a
    comma, colon or semicolon, a spaced dash), after any words saying which figure it is
    ("average number of"). A word joined by a hyphen is one word ("same-day", "12-month"),
    and "/" reads "per" ("crimes/month")."""
    text = re.split(r"[(\[{;:]|,(?!\d)|\s[-\u2013\u2014]\s", label.replace("/", " per "))[0]
    words = [(w.strip(".'\u2019\""), w.strip(".'\u2019\"").casefold()) for w in text.split()]
    words = [w for w in words if w[1]]
    while words and words[0][1] in _LEADING:
        words = words[1:]
    end = next((i for i, (_, w) in enumerate(words) if w in _QUALIFIERS), len(words))
    return words[:end]


def _per_number(word: str) -> int | None:
    """The number a rate is per, written after "per": 1,000, 10000, 1k; None for a word."""
    if (found := _PER_NUMBER.fullmatch(word)) is None:
        return _PER_WORDS.get(word)
    return int(found[1].replace(",", "")) * {"k": 1000, "m": 1_000_000, None: 1}[found[2]]


def label_names(label: str) -> tuple[list[str], list[str]]:
    """The units a `unit_label` names in its head (`_label_head`), each once in the order first
    named ('days', 'hours' (a time), 'percent', 'per 1,000' or 'per 10,000' (a rate per so
    many), 'pounds'), and the times it names a rate per ('month' for "crimes per month", "a
    month", "monthly"). A time anywhere after the head says who or which rows are counted,
    not the unit: "victims aged 18 years and over", "crimes (rolling 12 months)"."""
    head = _label_head(label)
    named: list[str] = []
    periods: list[str] = []
    skip = False
    for i, (written, word) in enumerate(head):
        after = head[i + 1][1] if i + 1 < len(head) else ""
        if skip:
            skip = False
        elif word in ("per", "a", "an", "each", "every") and after in _TIME_WORDS:
            periods.append(_TIME_WORDS[after].removesuffix("s"))
            skip = True
        elif word == "per" and after == "cent":
            named.append("percent")
            skip = True
        elif word == "per" and (per := _per_number(after)) is not None:
            named.append(f"per {per:,}")
            skip = True
        elif (per := _per_number(word.removeprefix("per_"))) is not None \
                and word.startswith("per_"):
            named.append(f"per {per:,}")
        elif word in _PERIOD_WORDS:
            periods.append(_PERIOD_WORDS[word])
        elif word in _TIME_WORDS and not (word in _ABBREVIATED and written.isupper()):
            named.append(_TIME_WORDS[word])
        elif "%" in word or word in ("percent", "percentage", "pp"):
            named.append("percent")
        elif "\u00a3" in word or word in ("pound", "pounds", "gbp", "pence"):
            named.append("pounds")
    return list(dict.fromkeys(named)), list(dict.fromkeys(periods))


def units_named(label: str) -> list[str]:
    """The units a `unit_label` names (`label_names`), a rate's period aside."""
    return label_names(label)[0]


# A figure in days that kpi worked out from a duration, times a multiplier, in another time.
_DAYS_TIMES = ((24, "hours"), (1440, "minutes"), (86_400, "seconds"), (1 / 7, "weeks"))
# A duration kpi worked out in seconds, times a multiplier, in another time.
_SECONDS_TIMES = ((1 / 60, "minutes"), (1 / 3600, "hours"), (1 / 86_400, "days"))
_EXAMPLES = {"days": "working days", "hours": "hours", "minutes": "minutes",
             "seconds": "seconds", "weeks": "weeks"}


def figure_unit(kind: Kind, unit: Unit, multiplier: float = 1.0, *, rows: bool = False,
                duration: bool = False) -> str | None:
    """The unit a KPI's figures are in where kpi knows it, as a `unit_label` names it, or None
    where the label is what says it. Keyed on the kind first, which fixes what the figure is:
    a `per_1000` KPI's is per 1,000 people, or per 10,000 with multiplier 10 (whatever its
    `unit`: in `number` or `count` it is still a rate); then the unit: 'per 1,000' for a
    share or mean per 1,000, 'days' for a KPI in days, or, where kpi worked the days out from
    a `duration` itself, the time its multiplier makes them (24: 'hours'; 1,440: 'minutes';
    86,400: 'seconds'; 1/7: 'weeks'; '?' for another, a time kpi cannot name); 'rows' for rows
    counted (`rows`: a count or snapshot without a value, or of a value 0 or 1 on every row)
    with no multiplier; 'ratio' for a ratio. A multiplier on a value that is not a duration
    gives it in the unit ("60 for a mean of minutes in seconds")."""
    if kind == Kind.PER_1000:
        per = 1000 * as_written(multiplier)
        return f"per {int(per):,}" if per.denominator == 1 else None
    if unit == Unit.PER_1000:
        return "per 1,000"
    if unit == Unit.DAYS:
        if not duration or multiplier == 1:
            return "days"
        return next((name for times, name in _DAYS_TIMES
                     if math.isclose(multiplier, times, rel_tol=1e-6)), "?")
    if rows and multiplier == 1:
        return "rows"
    if unit == Unit.RATIO:
        return "ratio"
    return None


def unit_label_problem(label: str, kind: Kind, unit: Unit, multiplier: float = 1.0, *,
                       rows: bool = False, duration: bool = False) -> tuple[str, str] | None:
    """The key and why a KPI's `unit_label` (or, with none, its multiplier) would name its
    figures in another unit than they are, or None: the one rule of what a label may name.
    Every face prints the label after a figure in place of its unit's own name
    (kpi.render.unit_name), and it scales nothing, so a mean of 3 days labelled "minutes" was
    printed "3.0 minutes", a count of 24 rows "24 hours" and a rate of 12.0 per 1,000 "12.0
    percent", exit 0. A figure with its own sign (%, pounds, m:ss) takes no label. Where kpi
    knows the unit (`figure_unit`) the label's head (`label_names`) names that unit and no
    other: days ("working days"), hours for days times 24 ("hours"), a rate per 1,000 ("per
    1,000 residents", "rate per 1k"); a ratio and rows counted name no unit ("officers"), and
    rows counted no rate per a time either (24 rows of 12 months are not "24 crimes per
    month"). A label is free where kpi does not know the unit (`number`, `score`, a sum or
    mean of a `value`). A duration kpi works out in days or seconds that a multiplier makes
    another time is never printed in days or as m:ss: in days it takes a label naming that
    time, in seconds unit = "number" with one."""
    if unit == Unit.SECONDS and duration and multiplier != 1:
        made = next((name for times, name in _SECONDS_TIMES
                     if math.isclose(multiplier, times, rel_tol=1e-6)), None)
        return "multiplier", (
            f"is {multiplier:g}, so this KPI's figures (a duration kpi works out in seconds) "
            f"are in {made or 'a unit kpi cannot name'}, seconds x {multiplier:g}, which a "
            f"KPI in seconds prints as m:ss: give unit = \"number\" and unit_label = "
            f"\"{made or 'the unit they are in'}\", or leave the multiplier out")
    own = figure_unit(kind, unit, multiplier, rows=rows, duration=duration)
    if not label.strip():
        if own is None or own in ("days", "rows", "ratio") or own.startswith("per"):
            return None
        made = (f"{own}, days x {multiplier:g}" if own != "?" else
                f"days x {multiplier:g}, a unit kpi cannot name")
        return "multiplier", (
            f"is {multiplier:g}, so this KPI's figures (a duration kpi works out in days) are in "
            f"{made}, which every face would name \"days\" with no unit_label: "
            + (f"give unit_label = \"{own}\"" if own != "?" else
               "give a unit_label naming their unit") + ", or leave the multiplier out")
    if unit in SIGNED_UNITS:
        # after a figure that carries its own sign it would read "45.0% working days",
        # "£82.2m officers", or name a chart's axis of m:ss in "working days"
        return "unit_label", (f"names the unit after a figure, but a KPI in {unit.value} prints "
                              f"its own ({SIGNED_UNITS[unit]}): leave unit_label out")
    if own is None or own == "?":
        return None
    named, periods = label_names(label)
    other = [u for u in named if u != own]
    timed = own in _EXAMPLES
    what, figure, number = (
        (f"in {own}" + (f" (days x {multiplier:g})" if own != "days" else ""), f"3.0 {own}",
         "3.0") if timed else
        (own, f"3.0 {own}", "3.0") if own.startswith("per") else
        ("a ratio", "a ratio of 3.0", "3.0") if own == "ratio" else
        ("a number of rows", "24 rows", "24"))
    example = _EXAMPLES.get(own, f"{own} residents")
    fix = (f"name {own} (\"{example}\")" if own not in ("rows", "ratio")
           else "name what is counted (\"officers\")") + " or leave unit_label out"
    said = f"{number} {' '.join(label.split())}"
    if other:
        return "unit_label", (
            f"names {' and '.join(other)}, but this KPI's figures are {what}, and a label "
            f"scales nothing ({figure} would print \"{said}\"): {fix}"
            + (f", or give the value in {other[0]} with unit = \"number\""
               if other[0] in _EXAMPLES and own in ("days", "rows") else ""))
    if own == "rows" and periods:
        return "unit_label", (
            f"names a rate per {periods[0]}, but this KPI's figures are a number of rows, all "
            f"those of its window (12 months, or the year to date), and a label scales "
            f"nothing ({figure} would print \"{said}\"): {fix}")
    if own not in ("rows", "ratio") and own not in named:
        if (unit, own) in ((Unit.DAYS, "days"), (Unit.PER_1000, "per 1,000")):
            return "unit_label", (
                f"names no unit, but every face prints it in place of \"{own}\" after this "
                f"KPI's figures, which are {what}: {fix}")
        return "unit_label", (f"names no unit, but this KPI's figures are {what}, and every "
                              f"face prints the label after them: {fix}")
    return None


def _reads_as_fraction(value: Any) -> bool:
    """A percentile between 0 and 1: the 0.9th, or the 90th as a fraction?"""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and 0 < value < 1)


def _unit_misread(kind: Kind, item: dict[str, Any], unit: Unit) -> str | None:
    """Why a KPI's `unit` names another quantity than its kind's value is, or None. A share
    without a `multiplier` is a percentage, in `percent` only; a multiplier may scale it to
    another unit (per 1,000, a ratio), not to a time, money or a count."""
    share = kind in (Kind.RATE, Kind.WITHIN) or (kind == Kind.SNAPSHOT and "numerator" in item)
    rows = ((kind in (Kind.COUNT, Kind.SNAPSHOT) and "value" not in item and not share)
            or kind == Kind.PER_1000)
    family = ("share" if share else "rows" if rows
              else "ratio" if kind == Kind.RATIO_OF_RATES else None)
    if family is None:
        return None
    scaled = item.get("multiplier", 1) != 1
    scale = _SHARE_SCALES.get(unit)
    if share and scale is not None and item.get("multiplier", 1) != scale[0]:
        # numerator / denominator x 100, then the multiplier: 36 of 120 with multiplier 1000
        # printed "30,000.0 per 1,000" beside its own "(36 of 120)"
        return (f"is '{unit.value}' with multiplier {item.get('multiplier', 1)!r}, but the "
                f"value of a {kind.value} KPI is {_WHAT['share']}, times the multiplier, so "
                f"{scale[1]} takes multiplier = {scale[0]:g}")
    if scaled and unit in _UNSCALED.get(family, ()):
        # The unit's words describe the kind's value unscaled: a rate per 1,000 with multiplier
        # 10 printed "14.4 per 1,000 population" for 1.44; a ratio of rates with multiplier
        # 100, "300.0 times as likely" for 3.0.
        multiplier = item.get("multiplier", 1)
        what = "a rate per 1,000 people" if kind == Kind.PER_1000 else _WHAT[family]
        return (f"multiplier {multiplier!r} scales the value of a {kind.value} KPI, {what}, "
                f"which its unit '{unit.value}' would still name unscaled (a rate per 1,000 "
                "times 10 printed as per 1,000): leave the multiplier out, or give unit = "
                f"\"number\" and a "
                f"unit_label saying what the figure is (\"per 10,000 population\", "
                f"\"index, 100 = parity\")")
    if unit in _MISREAD_UNITS[family] or (share and not scaled and unit != Unit.PERCENT):
        which = f"a {kind.value} KPI" + (" with a numerator" if kind == Kind.SNAPSHOT else "")
        fix = "leave the unit out" + (
            " (percent), or give a multiplier that scales it to that unit"
            if unit not in _MISREAD_UNITS[family] else "")
        return (f"is '{unit.value}', but the value of {which} is {_WHAT[family]}, which it "
                f"would print as a {unit.value} figure: {fix}")
    return None


def _not_in_window(rate: KpiDef, part: KpiDef) -> str | None:
    """Why a rate of two KPIs cannot read `part` (its numerator or denominator KPI) over the
    rate's own window, or None. The rate reads both over its window (a year ending
    `period - lag`, or the financial year to date); a part's figure there must be the one the
    part itself reports: a snapshot is as at one month, and 12 of them summed read 24
    incidents per 120 officers (20%) where 10 officers were in post (240%); a part that runs
    further behind (a larger `lag`) leaves out months the rate would read."""
    if part.is_snapshot:
        return (f"'{part.id}' is a snapshot (as at one month), which a rate of two KPIs would "
                "sum over its 12 months: for a share of one dataset's rows as at a month, "
                "write a snapshot with a numerator")
    if part.lag > rate.lag:
        months = "month" if part.lag == 1 else "months"
        return (f"'{part.id}' runs {part.lag} {months} behind (lag = {part.lag}), so the rate "
                f"would read months its figure leaves out: give the rate lag = {part.lag}")
    return None


def _build_kpi(item: dict[str, Any], bad, datasets: dict[str, DatasetSpec],
               priority_ids: set[str], populations: dict[str, float]) -> KpiDef | None:
    try:
        kind = Kind(item.get("kind"))
    except ValueError:
        bad("kind", f"must be one of {', '.join(k.value for k in Kind)}")
        return None
    required, optional = KIND_KEYS[kind]
    status_text = item.get("status", "live")
    try:
        status = Status(status_text)
    except ValueError:
        bad("status", "must be 'live' or 'in_development'")
        return None
    live = status == Status.LIVE
    for key in sorted(set(item) - COMMON_KEYS - required - optional - {"percentile"}):
        bad(key, f"is not a key of a {kind.value} KPI")
    if live:
        for key in sorted(required - set(item)):
            bad(key, f"is required for a {kind.value} KPI")
    for key in ("title", "priority"):
        if not isinstance(item.get(key), str) or not item.get(key):
            bad(key, "is required")
    if item.get("priority") and item["priority"] not in priority_ids:
        bad("priority", f"'{item['priority']}' is not a declared priority")
    try:
        unit = Unit(item.get("unit", DEFAULT_UNITS.get(kind, Unit.COUNT)))
    except ValueError:
        bad("unit", f"must be one of {', '.join(u.value for u in Unit)}")
        unit = Unit.COUNT
    if kind == Kind.SNAPSHOT and "numerator" in item and "unit" not in item:
        unit = Unit.PERCENT
    misread = ("unit" in item or "multiplier" in item) and _unit_misread(kind, item, unit)
    if misread:
        bad("unit" if "unit" in item else "multiplier", misread)
    try:
        better = Better(item.get("better", "neutral"))
    except ValueError:
        bad("better", "must be 'higher', 'lower' or 'neutral'")
        better = Better.NEUTRAL

    derived = kind == Kind.RATE and ("numerator_kpi" in item or "denominator_kpi" in item)
    dataset_id = item.get("dataset")
    dataset = datasets.get(dataset_id) if dataset_id else None
    if live and derived:
        if not ("numerator_kpi" in item and "denominator_kpi" in item):
            bad("numerator_kpi", "a rate of KPIs needs both numerator_kpi and denominator_kpi")
        if dataset_id:
            bad("dataset", "a rate of two KPIs takes its data from them, not from a dataset")
        if item.get("breakdowns"):
            # Not split, and said nowhere: `kpi show` and the paper left the key unread.
            bad("breakdowns", "a rate of two KPIs has no rows of its own to split: give the "
                "breakdowns to its numerator and denominator KPIs")
    elif live:
        if not dataset_id:
            bad("dataset", "is required")
        elif dataset is None:
            bad("dataset", f"'{dataset_id}' is not a declared dataset")
        if kind == Kind.RATE and "numerator" not in item:
            bad("numerator", "is required for a rate (or give numerator_kpi and denominator_kpi)")

    if kind == Kind.SNAPSHOT and dataset is not None and dataset.months_per_row > 1:
        # As at one month, of rows that each stand for a quarter: no month of it could be
        # read, so the KPI was "no data" in every period, its note saying to choose a
        # period ending in June of the period 2018-06.
        bad("kind", f"a snapshot is as at one month, and dataset '{dataset.id}' holds one row "
            "per quarter, which cannot be split into months: use a count or sum, whose "
            "windows are whole quarters")

    value_is_duration = False
    value_counts_rows = False  # a count's, sum's or snapshot's value 0 or 1 on every row
    # The keys whose expression gives every row 0, 1 or a blank (`expressions.zero_or_one`).
    zero_one: set[str] = set()
    if dataset is not None:
        from kpi.expressions import zero_or_one

        for key in ("filter", "value", "numerator", "denominator"):
            if key in item:
                dtype, message = _check_expression(item[key], dataset, key=key, kind=kind,
                                                   unit=unit)
                if message:
                    bad(key, message)
                value_is_duration |= key == "value" and dtype == "duration"
                asked = (key == "value" and kind in (Kind.MEAN, Kind.MEDIAN, Kind.PERCENTILE)) \
                    or (key == "numerator" and kind in (Kind.RATE, Kind.SNAPSHOT))
                summed = key == "value" and kind in (Kind.COUNT, Kind.SUM, Kind.SNAPSHOT)
                if (asked or summed) and dtype is not None and not message and (
                        dtype == "bool" or zero_or_one(item[key], dataset.id,
                                                       _scan_schema(dataset),
                                                       _derived_texts(dataset))):
                    if asked:
                        zero_one.add(key)
                    value_counts_rows |= summed
        if kind in NOT_SPLIT and item.get("breakdowns"):
            # Birmingham's incidents per 1,000 of the force's people read 6.0 beside the
            # force's 12.0, a part per 1,000 of no one's population.
            bad("breakdowns", f"a {kind.value} KPI {NOT_SPLIT[kind]}, which a part's rows "
                "are not: break down a count of the same rows, or compare the parts per "
                "1,000 of their own populations with kpi compare --by ([population_by])")
        for col in item.get("breakdowns", []):
            kind_of = column_type(dataset, col)
            if not dataset.has_column(col):
                bad("breakdowns", f"'{col}' is not a column of dataset '{dataset.id}'")
            elif kind_of not in {t.value for t in BREAKDOWN_TYPES}:
                bad("breakdowns", f"column '{col}' is of type {kind_of}, and a "
                    "breakdown splits by a category: use a str, int or bool column (the "
                    "monthly trend is in kpi show)")
        if "weight_key" in item and dataset.column(item["weight_key"]) is None:
            bad("weight_key", f"'{item['weight_key']}' is not a column of dataset '{dataset.id}'")
        elif "weight_key" in item and (keyed := dataset.column(item["weight_key"])) is not None \
                and keyed.type not in (ColumnType.STR, ColumnType.INT):
            # A weights file's keys are text, matched to a str column's values (or an int's
            # as numbers): a float's 1 is '1.0', a bool read from 'yes' is 'true', a date
            # written 05/03/2025 is '2025-03-05', and every row weighed 0, exit 0.
            bad("weight_key", f"column '{item['weight_key']}' is of type "
                              f"{keyed.type.value}, and a weights file's keys name text or "
                              "whole numbers: key the weights by a str or int column")

    populations_pair = item.get("populations")
    if populations_pair is not None:
        if not (isinstance(populations_pair, list) and len(populations_pair) == 2):
            bad("populations", "must be [group, reference]")
            populations_pair = None
        else:
            for name in populations_pair:
                if name not in populations:
                    bad("populations", f"'{name}' is not in [population]")
    if "weights" in item and (fault := _path_fault(item["weights"])) is not None:
        bad("weights", f"'{visible(str(item['weights']))}' {fault}")
    if "population" in item and item["population"] not in populations:
        bad("population", f"'{item['population']}' is not in [population]")
    baseline = item.get("baseline")
    if baseline is not None and baseline != "yoy":
        try:
            window = Window.parse(baseline)
        except Exception:
            bad("baseline", "must be 'YE YYYY-MM', 'AT YYYY-MM' or 'yoy'")
            baseline = None
        else:
            # A flow's windows are years ending a month, a snapshot's one month as at its end:
            # a baseline of the other kind compares 12 months with one (+1100%) or one with 12.
            snapshot = kind == Kind.SNAPSHOT
            if snapshot != (window.kind == WindowKind.AT):
                month = baseline.strip().partition(" ")[2].strip()
                bad("baseline", f"'{baseline}' is {'an as-at month' if not snapshot else 'a year'}"
                    f", but a {kind.value} KPI's windows are "
                    f"{'as-at months' if snapshot else 'years ending a month'}: write "
                    f"'{'AT' if snapshot else 'YE'} {month}'")
                baseline = None
    numbers = {}
    for key, default in (("stable_band", 0.0), ("multiplier", 1.0), ("lag", 0),
                         ("threshold", None), ("percentile", None), ("provisional_months", 0),
                         ("decimals", None)):
        value = item.get(key, default)
        if key == "percentile" and _reads_as_fraction(value):
            # 0.9 reads two ways: the 0.9th percentile, or the 90th written as the fraction
            # DuckDB's quantile_cont, Polars, pandas and Excel's PERCENTILE.INC take (a "90th
            # percentile" KPI printed its 0.9th, its lowest figures).
            bad(key, f"is {value:g}, which reads as the {value:g}th percentile or, written as a "
                f"fraction, the {value * 100:g}th: write percentile = {value * 100:g} for the "
                f"{value * 100:g}th (kpi takes a percentile from 1 to below 100)", bounded=True)
            value = default
        problem = BOUNDS[f"kpis.{key}"].problem(value) if value is not None else None
        if problem:
            bad(key, problem, bounded=True)
            value = default
        numbers[key] = value
    if unit == Unit.SECONDS and numbers["decimals"]:
        # A duration prints whole seconds (m:ss, h:mm:ss) wherever it is printed: places
        # asked for would be left unprinted, with nothing said.
        bad("decimals", f"is {numbers['decimals']}, but a KPI in seconds prints whole seconds "
            "(m:ss or h:mm:ss), more only where a figure must read apart from its target: "
            "leave decimals out")
        numbers["decimals"] = None

    # The target's range, and a target on a neutral KPI, are refused once the KPI is built
    # (`target_problem`).
    target, spc_baseline, spc_rebase, written_percent = _spc_keys(item, kind, bad, unit)
    # Text, or left out by _refuse_non_text.
    texts = {key: item.get(key, "") for key in ("target_source", "unit_label")}
    # Rows counted: a count or snapshot without a value, or of a value 0 or 1 on every row
    # (`outcome = 'Charged'` summed is the rows charged, as a filter of it counts them).
    rows = "numerator" not in item and (
        (kind in (Kind.COUNT, Kind.SNAPSHOT) and "value" not in item)
        or (kind in (Kind.COUNT, Kind.SUM, Kind.SNAPSHOT) and value_counts_rows))
    if isinstance(texts["unit_label"], str) and (misnamed := unit_label_problem(
            texts["unit_label"], kind, unit, float(numbers["multiplier"]), rows=rows,
            duration=value_is_duration)):
        bad(*misnamed)
        texts["unit_label"] = ""
    flags = {}
    for key in ("target_illustrative", "cumulative", "hidden"):
        flags[key] = item.get(key, False)
        if not isinstance(flags[key], bool):
            bad(key, "must be true or false")
            flags[key] = False
    if kind == Kind.SNAPSHOT and "numerator" in item and "value" in item:
        # A percentage snapshot counts the rows its numerator selects; its value was read by
        # nothing, and "minority share of FTE" printed a share of heads (14.3% for 7.7%).
        bad("value", "a snapshot with a numerator is a percentage of the rows it counts, so "
                     "value is not read: leave it out (kpi gives no share of a value, such as "
                     "FTE, at one date)")
    if kind == Kind.SNAPSHOT and "denominator" in item and "numerator" not in item:
        bad("denominator", "is read only with a numerator (a percentage snapshot); a snapshot "
                           "without one counts every row its filter selects: choose them "
                           "with filter")
    if flags["cumulative"] and kind != Kind.SNAPSHOT:
        # A running total is read at its month. Every other kind combines the months of its
        # window: a count of a column of running totals added them (2,940 "trained to date"
        # where the total had reached 300), and a rate or mean of them averaged twelve (54.2%
        # trained where 300 of 300 were, "stable" where it rose from 91.7% to 100%).
        bad("cumulative", cumulative_refusal(kind, derived))
    within = item.get("numerator_within_denominator")
    if within is not None and not isinstance(within, bool):
        bad("numerator_within_denominator", "must be true or false")
        within = None
    elif within is not None and not (derived or (kind == Kind.RATE and "numerator" in item)):
        bad("numerator_within_denominator", "is a key of a rate (with numerator and "
            "denominator, or numerator_kpi and denominator_kpi)")
        within = None
    if (flags["target_illustrative"] or texts["target_source"]) and "target" not in item:
        bad("target_source" if texts["target_source"] else "target_illustrative",
            "describes a target, and the KPI has none")
    # A condition (a bool column, or any true/false expression: `offence = 'theft'`, `NOT
    # flag`), or a CASE of 0 and 1, counts 0 or 1 of each row, a blank as 0: with no
    # denominator, nested by construction (docs/statistics.md, "Which test a rate gets"). A
    # mean of one is the share of its rows (SQL's AVG(CASE WHEN ... THEN 1 ELSE 0 END)), 0
    # to 1: a target of 20 on its 0.25 was judged "met", where 25% misses 20%.
    flag_share = dataset is not None and not derived and (
        (kind in (Kind.RATE, Kind.SNAPSHOT) and item.get("denominator") is None
         and within is not False and "numerator" in zero_one)
        or (kind == Kind.MEAN and "value" in zero_one))
    if not misread and (flag_share or "value" in zero_one) and (
            why := zero_one_scale_problem(kind, unit, item.get("multiplier", 1))):
        bad("kind" if kind in (Kind.MEDIAN, Kind.PERCENTILE)
            else "multiplier" if "multiplier" in item else "unit", why)
    quotes = item.get("quotes", [])  # a list of text, or left out by _refuse_non_lists
    return KpiDef(
        id=item["id"], title=str(item.get("title", "")), priority=str(item.get("priority", "")),
        kind=kind, unit=unit, better=better, dataset=dataset_id if not derived else None,
        filter=item.get("filter"), value=item.get("value"), numerator=item.get("numerator"),
        denominator=item.get("denominator"), numerator_kpi=item.get("numerator_kpi"),
        denominator_kpi=item.get("denominator_kpi"), numerator_within_denominator=within,
        flag_share=flag_share,
        threshold=numbers["threshold"],
        percentile=numbers["percentile"], population=item.get("population"),
        populations=tuple(populations_pair) if populations_pair else None,
        weights=project_path(item["weights"]) if isinstance(item.get("weights"), str)
        else item.get("weights"), weight_key=item.get("weight_key"),
        multiplier=float(numbers["multiplier"]), stable_band=float(numbers["stable_band"]),
        baseline=baseline, lag=int(numbers["lag"] or 0), status=status,
        breakdowns=tuple(item.get("breakdowns", [])), components=tuple(item.get("components", [])),
        hidden=flags["hidden"], notes=str(item.get("notes", "")),
        description=str(item.get("description", "")), table=str(item.get("table", "")),
        noun=str(item.get("noun", "")), value_is_duration=value_is_duration,
        zoned=zoned_columns(dataset) if dataset is not None and not derived else (),
        compared=_compared(item) if dataset is not None and not derived else (),
        peers=item.get("peers"),
        target=target, spc_baseline=spc_baseline,
        spc_rebase=spc_rebase, target_source=" ".join(texts["target_source"].split()),
        target_illustrative=flags["target_illustrative"], cumulative=flags["cumulative"],
        target_written_percent=written_percent,
        unit_label=" ".join(texts["unit_label"].split()), quotes=tuple(quotes),
        provisional_months=int(numbers["provisional_months"] or 0),
        decimals=None if numbers["decimals"] is None else int(numbers["decimals"]),
    )


# Kinds whose window value is a total of its months: a target for one would have to say whether
# it is per month or per 12 months, so none is accepted (docs/statistics.md#targets); a chart
# draws its rolling 12 months as a monthly average (kpi.charts).
TOTAL_KINDS = frozenset({Kind.COUNT, Kind.SUM, Kind.PER_1000, Kind.WEIGHTED_SCORE})


# A percentage target written with its sign: "0.9%" (a KPI in percent only).
_PERCENT_TEXT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")


def _spc_keys(item: dict[str, Any], kind: Kind, bad, unit: Unit
              ) -> tuple[float | None, tuple[Month, Month] | None, tuple[Month, ...], bool]:
    """The target, spc_baseline and spc_rebase keys of a KPI, checked, and whether the target
    was written with a percent sign ("0.9%", for a KPI in percent: a percentage as written)."""
    target = item.get("target")
    written_percent = False
    if isinstance(target, str) and unit == Unit.PERCENT \
            and (found := _PERCENT_TEXT.match(target)):
        target, written_percent = float(found.group(1)), True
    # A share's target runs from 0 to all of its rows, which is known once the KPI is built
    # (`share_target`): here, any finite number.
    bound = BOUNDS["kpis.target"]
    if target is not None:
        if problem := bound.problem(target):
            bad("target", problem, bounded=True)
            target = None
        elif kind in TOTAL_KINDS or (kind == Kind.SNAPSHOT and "numerator" not in item):
            bad("target", f"a {kind.value} KPI's value is a total, so a target would have to "
                          "say per month or per 12 months; targets are for rates, averages, "
                          "percentiles, ratios and percentage snapshots")
            target = None

    def months(key: str) -> list[Month] | None:
        value = item.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            bad(key, 'must be a list of months such as ["2023-10"]')
            return None
        try:
            return [Month.typed(v, what=key) for v in value]
        except UsageError:
            bad(key, 'must be a list of months as YYYY-MM in the digits 0-9 and the years '
                     '1900 to 2999, such as ["2023-10"]')
            return None

    baseline = months("spc_baseline")
    if baseline is not None and (len(baseline) != 2 or baseline[0] > baseline[1]):
        bad("spc_baseline", 'must be the first and last month, such as ["2023-04", "2024-03"]')
        baseline = None
    rebase = months("spc_rebase") or []
    if rebase != sorted(set(rebase)):
        bad("spc_rebase", "must list each month once, in order")
        rebase = []
    return (float(target) if target is not None else None,
            (baseline[0], baseline[1]) if baseline else None, tuple(rebase),
            written_percent and target is not None)


def _build_checks(raw: list[Any], problems: _Problems, kpi_ids: set[str]) -> list[Check]:
    checks = []
    for number, item in enumerate(raw):
        cid = item.get("id") if isinstance(item, dict) else None
        where = f"check '{cid}'" if cid else f"check #{number + 1}"
        needles = (rf'^\s*id\s*=\s*"{re.escape(str(cid))}"',)
        if not isinstance(cid, str) or not ID_PATTERN.match(cid):
            problems.add(where, "id", "needs an id of lower case letters, digits and _")
            continue
        _unknown_keys(problems, where, item, CHECK_KEYS, *needles)
        if item.get("total") is None:
            problems.add(where, "total", "is required: the id of the KPI its parts add up to",
                         *needles)
        refs = [*([item["total"]] if item.get("total") is not None else []),
                *item.get("parts", [])]
        for ref in refs:
            if ref not in kpi_ids:
                problems.add(where, "total/parts", f"'{ref}' is not a KPI", *needles)
        if len(item.get("parts", [])) < 2:
            problems.add(where, "parts", "name at least two KPIs", *needles)
        # A part named twice (a copy-paste slip for another) is added twice, and the total
        # named among its own parts adds it to itself: `parts = ["a", "a", "b"]` passed
        # "48 + 48 + 24 = 120" with part c never reconciled, exit 0.
        listed = [str(p) for p in item.get("parts", [])]
        if (twice := next((p for n, p in enumerate(listed) if p in listed[:n]), None)):
            problems.add(where, "parts", f"names '{twice}' twice: each part is added once",
                         *needles)
        elif item.get("total") in listed:
            problems.add(where, "parts", f"names the total '{item['total']}' as one of its "
                         "parts", *needles)
        tolerance = item.get("tolerance", 0.0)
        if problems.out_of_bounds("checks.tolerance", tolerance, where, "tolerance", *needles):
            tolerance = 0.0
        checks.append(Check(id=cid, title=str(item.get("title", cid)), total=str(item.get("total")),
                            parts=tuple(item.get("parts", [])), tolerance=float(tolerance)))
    return checks


_POLARS_TYPES: dict[ColumnType, str] = {
    ColumnType.STR: "String", ColumnType.INT: "Int64", ColumnType.FLOAT: "Float64",
    ColumnType.BOOL: "Boolean", ColumnType.DATE: "Date", ColumnType.DATETIME: "Datetime",
    ColumnType.MONTH: "Date",
}


def polars_schema(dataset: DatasetSpec) -> dict[str, Any]:
    """The schema of a dataset's rows: its declared columns plus the month partition. A
    datetime column is an instant read as UK time (`UK`)."""
    return dict(_polars_schema(dataset))


@functools.cache
def _polars_schema(dataset: DatasetSpec) -> tuple[tuple[str, Any], ...]:
    import polars as pl

    schema: dict[str, Any] = {}
    for col in dataset.columns:
        dtype = getattr(pl, _POLARS_TYPES[col.type])
        schema[col.name] = pl.Datetime("us", UK) if col.type == ColumnType.DATETIME else dtype
    schema["month"] = pl.String
    return tuple(schema.items())


def scan_schema(dataset: DatasetSpec) -> dict[str, Any]:
    """The schema KPIs see: the stored columns and the month, then the derived columns."""
    return dict(_scan_schema(dataset))


@functools.cache
def _scan_schema(dataset: DatasetSpec) -> tuple[tuple[str, Any], ...]:
    import polars as pl

    frame = derive(pl.LazyFrame(schema=polars_schema(dataset)), dataset, ())
    return tuple(frame.collect_schema().items())


@functools.cache
def zoned_columns(dataset: DatasetSpec) -> tuple[str, ...]:
    """The columns KPIs see (derived ones too) that are instants read as UK time, sorted."""
    import polars as pl

    return tuple(sorted(name for name, dtype in _scan_schema(dataset)
                        if dtype == pl.Datetime("us", UK)))


def _derived_texts(dataset: DatasetSpec) -> tuple[tuple[str, str], ...]:
    """The derived columns' (name, expression) pairs, in order, which the expression checks
    follow into (an epoch taken in a derived column is read as one taken in place)."""
    return tuple((d.name, d.expression) for d in dataset.derived)


def _declared_types(dataset: DatasetSpec) -> dict[str, str]:
    """Each column's declared type ('bool', 'str', ...); a derived column's from what its
    expression gives, so a derived true/false column is checked like a declared one."""
    import polars as pl

    types = {c.name: c.type.value for c in dataset.columns}
    schema = dict(_scan_schema(dataset))
    for column in dataset.derived:
        dtype = schema[column.name]
        types[column.name] = ("bool" if dtype == pl.Boolean else "str" if dtype == pl.String
                              else "int" if dtype.is_integer() else "other")
    return types


def column_type(dataset: DatasetSpec, name: str) -> str | None:
    """A column's type as kpi.toml names it ('str', 'date' ...); a derived column's from what
    its expression gives ('bool', 'str', 'int', else 'other'); None for no such column."""
    column = dataset.column(name)
    return column.type.value if column is not None else _declared_types(dataset).get(name)


def snapshot_day(dataset: DatasetSpec) -> Any:
    """The day of a row's date column (a datetime's UK day), which a roll is taken at."""
    import polars as pl

    column = dataset.column(dataset.date)
    day = pl.col(dataset.date)
    return day.dt.date() if column is not None and column.type == ColumnType.DATETIME else day


def shared_last(frame: Any, dataset: DatasetSpec, parts: Sequence[str]) -> Any:
    """The rows of (lazy) `frame` read as their month's last roll (`as_at = "last"`,
    `derive`): a row's day is the last of its part (its values of `parts`) in the month,
    and no other part holding rows that day (of the same `replace_by` values: those are
    loaded, so rolled, on their own) has a later last date. A part whose last roll is
    another's earlier one is missing from the later roll they share, so its people are gone
    from it: the one rule of which rows a month's last roll holds, read by every figure and
    by the refusal of a part it cannot tell (`engine.refuse_thin_last_rolls`: gone is read
    only where its people are found on that roll in another part, not where the roll's file
    may lack the part, a force of a national extract)."""
    import polars as pl

    day = snapshot_day(dataset)
    rolled = [c for c in parts if c in dataset.replace_by]
    own = "__own_last"
    return (frame.with_columns(day.max().over(["month", *parts]).alias(own))
            .filter((day == pl.col(own))
                    & (pl.col(own).max().over(["month", *rolled, day]) == pl.col(own)))
            .drop(own))


def derive(frame: Any, dataset: DatasetSpec, parts: Sequence[str]) -> Any:
    """A (lazy) frame of the dataset as every figure reads it: with `as_at = "last"` only the
    rows of each month's last date of each part of `parts`, the columns telling the dataset's
    parts apart (`engine.telling_apart`: its `replace_by` and `[peers.*]` columns), and its
    derived columns added, each in turn so a derived column may use the ones declared before
    it. Polars drops any a query does not use. The last date is each part's: taken across
    the month whole, force B's Thursday roll was dropped wherever force A's Friday roll was
    dated later, a headcount of 10 where 15 are in post (the same rows gave 15 where the
    force was declared `replace_by`). But a part is rolled with the others where its last
    date holds rows of another part (of the same `replace_by` values) whose last date is
    later: it is missing from that later roll, its people gone or moved, and reads none of
    its rows (`shared_last`). Read at its own last date, LPA C's 3 officers, who left
    before the force's last Friday roll of 7, were counted again: 10 (`engine.
    refuse_thin_last_rolls` refuses such a part where its rows cannot tell it)."""
    import polars as pl

    from kpi.expressions import polars_expr

    last = dataset.as_at == "last"
    # Before the derived columns, unless a part is one of them (each of its row alone).
    if last and all(dataset.column(c) is not None for c in parts):
        frame, last = shared_last(frame, dataset, parts), False
    stored = tuple(name for name, dtype in _polars_schema(dataset)
                   if dtype == pl.Datetime("us", UK))
    for column in dataset.derived:
        frame = frame.with_columns(polars_expr(column.expression, stored).alias(column.name))
    return shared_last(frame, dataset, parts) if last else frame


# A breakdown splits a KPI by a category; dates and measures have a trend or a value instead.
BREAKDOWN_TYPES = frozenset({ColumnType.STR, ColumnType.INT, ColumnType.BOOL})
# Kinds whose value already divides by one population of the whole area, so a part's value
# would divide its count by the wrong population: not split into parts, by `breakdowns` (the
# catalogue refuses them) or by `kpi compare --by` (`compare.splittable`).
NOT_SPLIT = {Kind.PER_1000: "divides by one population of the whole area",
             Kind.RATIO_OF_RATES: "divides by populations of the whole area"}
# Seconds in each unit a duration value may be given in.
DURATION_UNITS = {Unit.SECONDS: 1, Unit.DAYS: 86_400}
# Kinds whose value is a measurement that may be a duration (response times, days to outcome).
DURATION_KINDS = frozenset({Kind.SUM, Kind.MEAN, Kind.MEDIAN, Kind.PERCENTILE})
DURATION_HINT = ("for a time in seconds between two datetime columns, write value = "
                 "\"DATE_PART('epoch', attended_at) - DATE_PART('epoch', created_at)\"")


def _compared(item: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """Each (key, column, text literal) a KPI's expressions compare for equality."""
    from kpi.expressions import compared_text

    return tuple((key, column, literal)
                 for key in ("filter", "value", "numerator", "denominator")
                 if isinstance(item.get(key), str)
                 for column, literal, _ in compared_text(item[key]))


def through_derived(dataset: DatasetSpec, names: Iterable[str],
                    roots: Callable[[str], Iterable[str]]) -> tuple[list[str], list[str]]:
    """(the names `names` read that are not derived columns, the derived columns on the way),
    each in the order first met: a derived column read by the names `roots` finds in its
    expression, followed through derived columns. The one walk of what an expression's
    columns stand for in the store (the columns a figure reads, `engine._sources`; the text
    columns held to one spelling, `engine.text_read` and `ingest.identity.identity_columns`),
    each with its own reading of an expression's columns."""
    derived = {d.name: d.expression for d in dataset.derived}
    stored: list[str] = []
    via: list[str] = []
    seen: set[str] = set()

    def add(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        if name not in derived:
            stored.append(name)
            return
        via.append(name)
        for root in roots(derived[name]):
            add(root)

    for name in names:
        add(name)
    return stored, via


def reads_quarters(project: Project, kpi: KpiDef) -> bool:
    """Whether a KPI's series is by quarter: its data, or for a rate of two KPIs either KPI's,
    is one row per quarter. Each row of such a series stands for three months (its value the
    quarter's, its month the quarter's first), on every face that reads it: `kpi show`'s
    trend and seasonal table, the verdict's series and the paper's trend chart. The one
    question each asks, of the catalogue alone (the charts ask it, and read no data)."""
    measures = [project.known_kpi(k) for k in kpi.ratio_of] if kpi.is_derived else [kpi]
    return any(m.dataset in project.datasets and project.datasets[m.dataset].months_per_row == 3
               for m in measures)


def stored_text_column(dataset: DatasetSpec, name: str) -> str | None:
    """The stored column a name of an expression stands for: itself, or for a derived column
    whose answer is one column's value (`area = "lpa"`, `COALESCE(lpa, 'Unknown')`:
    `expressions.text_source`), that column, followed through derived columns; None for any
    other. A literal compared with `area` is compared with lpa's stored cells: `area =
    'Walsall '` counted 0, exit 0, where `lpa = 'Walsall '` is refused."""
    from kpi.expressions import text_source

    seen: set[str] = set()
    while dataset.column(name) is None and name not in seen:
        seen.add(name)
        expression = next((d.expression for d in dataset.derived if d.name == name), None)
        source = text_source(expression) if expression is not None else None
        if source is None:
            return None
        name = source
    return name if dataset.column(name) is not None else None


def unmatched_text(text: str, dataset: DatasetSpec) -> str | None:
    """Why an expression compares a stored text column with a literal no stored cell can
    equal (`expressions.compared_text`), or None. A cell is stored trimmed, and a blank one as
    no value (docs/guarantees.md, "Identity"), but a literal is only put in the form cells are
    (`_matched_text_as_stored`): `lpa IN ('Dudley\u00a0', 'Walsall ')`, copied from the
    extract's cells, counted 0 where they have 48 rows, and `outcome = ''` 0.0% where half the
    crimes have none, exit 0. `outcome <> ''` (NOT IN, IS DISTINCT FROM) is every stored
    outcome, as meant; `lpa <> 'Walsall '` names a value it would not leave out, and is
    refused. A literal UPPER, LOWER or TRIM of a text can never give (`UPPER(lpa) =
    'Dudley'`: `expressions.never_given`) holds on no row, or as `<>` on every one."""
    from kpi.expressions import compared_text, never_given

    if never := never_given(text, _derived_texts(dataset)):
        changed, literal, could = never[0]
        return (f"compares {changed} with '{visible(literal)}', which {changed} never matches, "
                f"so write '{visible(could)}'")
    for name, literal, holds in compared_text(text):
        stored = stored_text_column(dataset, name)
        column = dataset.column(stored) if stored is not None else None
        if column is None or column.type != ColumnType.STR:
            continue
        if not literal.strip() and holds:
            return (f"compares {name} with '{visible(literal)}', which no stored {name} is: a "
                    f"blank cell is stored as no value, so write {name} IS NULL (or "
                    f"{name} IS NOT NULL) for the rows without one")
        if literal.strip() and literal != literal.strip():
            return (f"compares {name} with '{visible(literal)}', which no stored {name} is: "
                    f"cells are stored without spaces before and after, so write "
                    f"'{visible(literal.strip())}'")
    return None


def _check_expression(text: Any, dataset: DatasetSpec, *, key: str, kind: Kind,
                      unit: Unit) -> tuple[str | None, str | None]:
    """(what the expression gives: 'bool', 'number', 'duration' or None, why it is unusable
    or None). Nothing is evaluated before the expression is known to be row-level."""
    import polars as pl

    from kpi.expressions import ExpressionProblem, check

    columns = _declared_types(dataset)
    try:
        dtype = check(text, dataset.id, columns, _scan_schema(dataset),
                      derived=_derived_texts(dataset)).dtype
    except ExpressionProblem as exc:
        return None, str(exc)
    if (never := unmatched_text(text, dataset)) is not None:
        return None, never
    if dtype == pl.Boolean:
        return "bool", None
    if key == "filter":
        return None, f"must be a true/false condition, not {dtype}"
    if dtype.is_numeric():
        return "number", None
    if isinstance(dtype, pl.Duration):
        if key != "value":
            return "duration", ("is a duration (the difference of two dates or times), which "
                                f"cannot be counted: {DURATION_HINT}")
        if kind not in DURATION_KINDS:
            return "duration", (f"is a duration (the difference of two dates or times), and a "
                                f"{kind.value} KPI would compare it with a number of unknown "
                                f"unit: {DURATION_HINT}")
        if unit not in DURATION_UNITS:
            return "duration", ("is a duration (the difference of two dates or times): set "
                                "unit = \"seconds\" or unit = \"days\" to say how to report it")
        return "duration", None
    return None, (f"must be a number or a true/false condition, not {dtype} (a {key} is summed, "
                  "averaged or ranked)")
