"""Signal or noise: is a change real? Pure functions over numbers the engine already keeps.

Two complementary views (docs/statistics.md):

- `significance`: the current window against its comparison. Counts get the exact conditional
  test of two Poisson counts, rates (percentages with a numerator and denominator) the pooled
  two-proportion z-test; anything else is reported as not tested, with the reason.
- `xmr`: a statistical process control (XmR) chart of the monthly series, NHS "Making Data
  Count" rules. Never the rolling 12-month series, whose neighbouring points share 11/12 of
  their data and so would show "trends" that are only arithmetic.

Only the standard library is used, so a scheduled job pays nothing for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Protocol, TypeVar

from kpi.catalogue import Better, Kind, KpiDef, RateTest, Unit
from kpi.errors import ConfigError
from kpi.periods import Month, Window
from kpi.rounding import as_written, change_percent, figure, fixed, quotient, rounded

if TYPE_CHECKING:
    from kpi import engine
    from kpi.engine import KpiResult

ALPHA = 0.05
# Above this many events in the two windows together the exact tails are summed term by term
# from their ratios (`_large_binomial_p`), where each term's three `lgamma` would cost seconds.
EXACT_LIMIT = 10_000
# The most events (both windows together) the Poisson test sums: its terms run 40 standard
# deviations of the binomial, which grow with the square root of the count, about 2 million
# terms at 10^10 events (a tenth of a second); 10^14 asked 17 GiB and the system stopped kpi
# with no word. Past it the change is not tested, and the note says why.
MAX_EVENTS = 10**10

# ---------------------------------------------------------------------------------------------
# Window vs comparison


@dataclass(frozen=True)
class Significance:
    """One test of the current window against the comparison.

    `statistic` is the rate ratio (current events per month / comparison events per month) for
    the Poisson tests and z for the proportion test; None when not tested. `significant` is
    p < ALPHA (p < part_threshold(tests) for one of several parts' tests), None when not
    tested."""

    test: str
    statistic: float | None
    p_value: float | None
    significant: bool | None
    note: str
    # How many tests of one breakdown's parts it was judged among (`among`): significant is
    # p < part_threshold(tests); 1 for a test judged alone.
    tests: int = 1


POISSON_EXACT = "poisson_exact"
TWO_PROPORTIONS = "two_proportion_z"
NOT_TESTED = "not_tested"

TEST_WORDS = {
    POISSON_EXACT: "exact conditional test of two Poisson counts",
    TWO_PROPORTIONS: "two-proportion z-test (pooled)",
    NOT_TESTED: "not tested",
}


def not_tested(reason: str) -> Significance:
    """A result that says why no test applies."""
    return Significance(NOT_TESTED, None, None, None, reason)


def _binomial_tails(k: int, n: int, p: float) -> tuple[float, float]:
    """P(X <= k) and P(X >= k) for X ~ Binomial(n, p), each summed term by term from its own
    end, so a tiny tail is not lost as 1 minus a number close to 1."""
    # The terms' constants worked out once (the same operations in the same order: the same
    # bits as working them out in every term).
    whole, log_p, log_q = math.lgamma(n + 1), math.log(p), math.log1p(-p)

    def log_pmf(i: int) -> float:
        return (whole - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                + i * log_p + (n - i) * log_q)

    mode = math.floor((n + 1) * p)

    def tail(indices: range, falling) -> float:
        # Summed from k outwards; once past the mode the terms only fall, so the sum stops
        # where they no longer change it at double precision (kpi compare tests hundreds of
        # parts, and summing every term of a 10,000-event tail cost seconds).
        terms, total = [], 0.0
        for i in indices:
            term = math.exp(log_pmf(i))
            terms.append(term)
            total += term
            if falling(i) and term < 1e-18 * total:
                break
        return math.fsum(terms)

    lower = tail(range(k, -1, -1), lambda i: i <= mode)
    upper = tail(range(k, n + 1), lambda i: i >= mode)
    return min(lower, 1.0), min(upper, 1.0)


# Stirling's series for log(n!) less its leading terms (Loader, "Fast and accurate computation
# of binomial probabilities", 2000: the method of R's dbinom and SciPy's binomial).
_STIRLING = (1 / 12, 1 / 360, 1 / 1260, 1 / 1680, 1 / 1188)


def _stirling_error(n: int) -> float:
    """log(n!) - log(sqrt(2 pi n) (n / e)**n)."""
    if n <= 15:
        return math.lgamma(n + 1) - (n + 0.5) * math.log(n) + n - 0.5 * math.log(2 * math.pi)
    square = n * n
    s0, s1, s2, s3, s4 = _STIRLING
    if n > 500:
        return (s0 - s1 / square) / n
    if n > 80:
        return (s0 - (s1 - s2 / square) / square) / n
    if n > 35:
        return (s0 - (s1 - (s2 - s3 / square) / square) / square) / n
    return (s0 - (s1 - (s2 - (s3 - s4 / square) / square) / square) / square) / n


def _deviance(x: float, mean: float) -> float:
    """x log(x / mean) + mean - x, without the cancellation of its terms near x = mean."""
    if abs(x - mean) < 0.1 * (x + mean):
        v = (x - mean) / (x + mean)
        total, term, square = (x - mean) * v, 2 * x * v, v * v
        for j in range(1, 1000):
            term *= square
            after = total + term / (2 * j + 1)
            if after == total:
                return after
            total = after
        return total
    return x * math.log(x / mean) + mean - x


def _binomial_pmf(k: int, n: int, p: float) -> float:
    """P(X = k) for X ~ Binomial(n, p), to a few units in the last place at any n: from
    `lgamma` of millions, log(n!) carries an error of 1e-8, which the exponent keeps."""
    q = 1.0 - p
    if k == 0:
        return math.exp(n * math.log1p(-p))
    if k == n:
        return math.exp(n * math.log(p))
    exponent = (_stirling_error(n) - _stirling_error(k) - _stirling_error(n - k)
                - _deviance(k, n * p) - _deviance(n - k, n * q))
    return math.exp(exponent) * math.sqrt(n / (2 * math.pi * k * (n - k)))


def _large_binomial_p(k: int, n: int, p: float) -> float:
    """Twice the smaller tail of Binomial(n, p) at k, capped at 1, for n past EXACT_LIMIT:
    exact as `_binomial_tails` is, each term from its neighbour by their ratio (one
    multiplication, where `lgamma` thrice cost seconds over a comparison's hundreds of parts),
    from the term at k worked out whole. The tail running away from the mode is summed first:
    below one half it is the smaller (the other holds the mode and more), and the other is
    summed only where it is not. A normal approximation stood here, 0.0496 against the exact
    0.0513 for 1,012 events in 1,200 hours against 18,988 in 24,000: a part against the rest
    pooled, or a short window against a long one, skews the binomial beyond it."""
    q = 1.0 - p
    mode = math.floor((n + 1) * p)
    first = _binomial_pmf(k, n, p)

    def tail(up: bool) -> float:
        # Summed from k outwards, each term from the one before by their ratio, until past the
        # mode what is left is below 1e-17 of the sum: the ratios only fall from there, so the
        # rest is at most a geometric series, term * ratio / (1 - ratio). A plain loop: the
        # tail away from the mode stops within a few standard deviations, and numpy's import
        # cost more than the loop did (45 ms of a summary).
        terms = [first]
        term = total = first
        j = k
        if up:
            while j < n:
                ratio = ((n - j) * p) / ((j + 1) * q)
                term *= ratio
                j += 1
                terms.append(term)
                total += term
                if ratio < 1.0 and term * ratio <= 1e-17 * total * (1.0 - ratio):
                    break
        else:
            while j > 0:
                ratio = (j * q) / ((n - j + 1) * p)
                term *= ratio
                j -= 1
                terms.append(term)
                total += term
                if ratio < 1.0 and term * ratio <= 1e-17 * total * (1.0 - ratio):
                    break
        return min(math.fsum(terms), 1.0)

    away = tail(up=k > mode) if k != mode else min(tail(True), tail(False))
    if away < 0.5:
        return 2.0 * away
    other = tail(up=not k > mode) if k != mode else away
    return min(1.0, 2.0 * min(away, other))


def _judged(p_value: float, tests: int = 1) -> str:
    text = p_text(p_value, tests)
    shown = f"p < {text[1:]}" if text.startswith("<") else f"p = {text}"
    level = f"the {fixed(ALPHA * 100, 0)}% level"
    threshold = part_threshold(tests)
    if tests > 1:
        # One of several parts' tests (`among`): the level is divided among them.
        level += f" corrected for the {tests:,} parts tested"
        shown += f", {'' if p_value < threshold else 'not '}below {threshold_text(tests)}"
    if p_value < threshold:
        return f"significant at {level} ({shown})"
    return f"not significant at {level} ({shown}): could be noise"


def part_threshold(tests: int, alpha: float = ALPHA) -> float:
    """The p-value below which one of `tests` tests of parts of one breakdown (each part
    against the rest, or against one part) is significant: alpha / tests, Bonferroni's
    correction, so a breakdown of many parts is not read as a story by chance alone (of 43
    forces, about 2 differ from the rest at the 5% level with no difference at all). The
    one rule of every face that says a part differs: `kpi compare`'s `vs_rest` and
    `vs_focus` (`among`), the paper's peer sentence that reads them, and the paper's parts
    that stand out (`_stepwise`)."""
    return alpha / max(tests, 1)


def threshold_text(tests: int) -> str:
    """`part_threshold(tests)` as said, exactly: '0.05/7' (and '0.05' for one test)."""
    level = fixed(ALPHA, 2)
    return f"{level}/{tests:,}" if tests > 1 else level


def among(test: Significance, tests: int) -> Significance:
    """A test of one part, one of `tests` such tests of a breakdown's parts, judged at
    `part_threshold(tests)`, its note saying so."""
    if test.p_value is None or tests <= 1:
        return test
    # (A test with nothing to test, p = 1, says so in its own words and is left as it is.)
    judged = _judged(test.p_value)
    return replace(test, significant=test.p_value < part_threshold(tests),
                   note=test.note.replace(judged, _judged(test.p_value, tests)), tests=tests)


# A part, and what it is tested against (the other parts pooled, or the focus), each need at
# least this many cases (a rate's denominator) or events (a count's) for any face to say
# whether the part differs: on fewer, a percentage says little (the paper prints a count's
# change on such a base as a number), and a part of 12 cases that "differs from the rest" is a
# finding no board should be given. The one floor of `parts_judged`, by which `kpi compare`
# judges its parts and the board paper finds the parts that stand out.
MIN_CASES = 50


def too_few(cases: float | None, other: float | None, floor: int = MIN_CASES) -> str | None:
    """Why a part with `cases` is not tested against `other` (its rest pooled, or the focus),
    or None where both meet the floor."""
    if cases is None or other is None:
        return None
    if cases < floor:
        return (f"{cases:,.15g} cases, fewer than the {floor} a part needs to be tested "
                "against others")
    if other < floor:
        return (f"the others have {other:,.15g} cases, fewer than the {floor} a part is "
                "tested against")
    return None


def parts_judged(tests: Sequence[tuple[Significance | None, float | None, float | None]],
                 floor: int = MIN_CASES) -> list[Significance | None]:
    """The one rule by which any face says whether a part differs from others (docs/statistics.md,
    "One part against the others"): each item is a part's test against the others pooled (or against
    the focus), the part's cases and the other side's (a rate's denominators, a count's events: for
    a count's change, its comparison window's). A part below `floor` on either side is not tested,
    whatever its p-value (`too_few`); the parts tested are judged together, at `part_threshold(m)`,
    m the tests made (Bonferroni's correction, `among`). `kpi compare`'s `vs_rest` and `vs_focus`,
    and the board paper's parts that stand out (`_stepwise`), are judged here, so no part is said to
    differ in one face on a test the other would not make."""
    floored: list[Significance | None] = []
    for test, cases, other in tests:
        why = None if test is None or test.p_value is None else too_few(cases, other, floor)
        floored.append(not_tested(why) if why is not None else test)
    made = sum(t is not None and t.p_value is not None for t in floored)
    return [t if t is None else among(t, made) for t in floored]


def p_shown(p_value: float, tests: int = 1) -> tuple[float | None, int]:
    """How a p-value prints, judged at `part_threshold(tests)`: (the floor below which it
    reads "<floor", or None where it is not below it; the places it prints to). The one rule
    of `p_text` and of the workbooks' number formats of a p-value (kpi.writers.xlsx), so a
    cell never shows 0.007 beside `significant` FALSE where the text says "0.0075"."""
    threshold = part_threshold(tests)
    floor = 0.001 if threshold > 0.001 else 10.0 ** math.floor(math.log10(threshold))
    floor_places = max(3, -math.floor(math.log10(floor)))
    if p_value < floor:
        return floor, floor_places
    # Read against the level as written (0.05, not the binary float a little above it),
    # and as a reader reads it, below only where it prints below: "0.050" beside "yes" read
    # as no lower than 0.05, so p = 0.0496 prints "0.0496"; p = 0.0504 prints "0.050".
    exact = Decimal(repr(ALPHA)) / tests
    places = 3
    while places < 17:
        if (rounded(p_value, places) < exact) == (p_value < threshold):
            break
        places += 1
    return None, places


def p_text(p_value: float | None, tests: int = 1) -> str:
    """A p-value as people read it: three decimals, '<0.001' below that. A test judged at
    `part_threshold(tests)` (0.05 for one test alone) prints to as many more places as it
    takes to read on its side of that level: 0.00749 against 0.05/7 (0.00714...) is
    "0.0075", never "0.007", and 0.0496 against 0.05 is "0.0496", never "0.050"; and "<0.001"
    only where that is below the level too ('<0.0001' against 0.05/60) (`p_shown`)."""
    if p_value is None:
        return "n/a"
    floor, places = p_shown(p_value, tests)
    if floor is not None:
        return "<" + fixed(floor, places)
    return fixed(p_value, places)


def poisson_test(n1: int, t1: float, n2: int, t2: float,
                 per_denominator: bool = False) -> Significance:
    """Two Poisson counts, n1 events over t1 months against n2 over t2, conditional on n1 + n2:
    n1 ~ Binomial(n1 + n2, t1 / (t1 + t2)) when the rates are equal. Two-sided p-value: twice
    the smaller tail, capped at 1, exact at any number of events (`_binomial_tails`, and past
    EXACT_LIMIT `_large_binomial_p`). With `per_denominator`, t1 and t2 are a rate's denominators
    (its exposures, such as calls), not months."""
    if n1 < 0 or n2 < 0 or t1 <= 0 or t2 <= 0:
        return not_tested("counts must be non-negative over windows of positive length")
    n = n1 + n2
    if n == 0:
        return Significance(POISSON_EXACT, None, 1.0, False, "no events in either window")
    if n > MAX_EVENTS:
        return not_tested(f"{n:,} events in the two windows, more than the exact test sums "
                          f"({MAX_EVENTS:,}): a count of this size is not tested")
    p = t1 / (t1 + t2)
    ratio = (n1 / t1) / (n2 / t2) if n2 else None
    test = POISSON_EXACT
    if n <= EXACT_LIMIT:
        lower, upper = _binomial_tails(n1, n, p)
        p_value = min(1.0, 2.0 * min(lower, upper))
    else:
        p_value = _large_binomial_p(n1, n, p)
    if per_denominator:
        note = (f"{n1:,} events per {t1:,.15g} of the denominator against {n2:,} per "
                f"{t2:,.15g}: {_judged(p_value)}; assumes Poisson counts in proportion to "
                "their denominators, which crime counts often exceed in variance")
    else:
        note = (f"{n1:,} events in {t1:g} months against {n2:,} in {t2:g}: "
                f"{_judged(p_value)}; assumes Poisson counts, which crime counts often exceed "
                "in variance")
    return Significance(test, ratio, p_value, p_value < ALPHA, note)


def proportion_test(x1: int, n1: int, x2: int, n2: int) -> Significance:
    """Two proportions x1/n1 (current) against x2/n2, pooled z-test, two-sided. `statistic` is
    z, positive when the current proportion is the higher."""
    if n1 <= 0 or n2 <= 0:
        return not_tested("a window has no cases to take a proportion of")
    if not (0 <= x1 <= n1 and 0 <= x2 <= n2):
        return not_tested("the numerator is not a part of the denominator")
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance == 0:
        return Significance(TWO_PROPORTIONS, None, 1.0, False,
                            f"both windows are {fixed(pooled * 100, 0)}%: no difference to test")
    z = (x1 / n1 - x2 / n2) / math.sqrt(variance)
    p_value = min(1.0, math.erfc(abs(z) / math.sqrt(2.0)))
    note = f"{x1:,} of {n1:,} against {x2:,} of {n2:,}: {_judged(p_value)}"
    # The normal approximation is rough when a window expects fewer than 5 of either outcome.
    expected = min(n * q for n in (n1, n2) for q in (pooled, 1 - pooled))
    if expected < 5:
        note += "; small counts, so the approximation is rough"
    return Significance(TWO_PROPORTIONS, z, p_value, p_value < ALPHA, note)


def _whole(value: float | None) -> int | None:
    if value is None or not math.isfinite(value) or not float(value).is_integer():
        return None
    return int(value)


# Kinds whose value is not a count of events or a proportion of cases, and why no test applies.
UNTESTED_KINDS = {
    Kind.SUM: "a sum of amounts is not a count of events",
    Kind.MEAN: "a mean needs the spread of the values, which the windows do not keep",
    Kind.MEDIAN: "a median needs the values themselves, which the windows do not keep",
    Kind.PERCENTILE: "a percentile needs the values themselves, which the windows do not keep",
    Kind.RATIO_OF_RATES: "a ratio of rates needs a test of its own",
    Kind.PER_1000: "a rate per population is tested as its count, which is not kept",
    Kind.WEIGHTED_SCORE: "a harm score weights events unequally, so it is not a Poisson count",
}


def significance(result: KpiResult) -> Significance:
    """The test that fits a KPI's result, or not_tested with the reason."""
    kpi = result.kpi
    current, comparison = result.current, result.comparison
    if current is None or comparison is None:
        return not_tested(result.note or "needs both a current and a comparison window")
    if shared := windows_shared(result):
        return not_tested(shared)
    if kpi.kind in UNTESTED_KINDS:
        return not_tested(UNTESTED_KINDS[kpi.kind])
    # What the figure counts decides its test, never the unit or multiplier it is printed in:
    # a rate of rows tested in percent was "no test for a rate in per_1000" written per 1,000
    # (multiplier 10), its p-value the same either way.
    if kpi.is_snapshot and kpi.numerator is not None:
        if _whole_counts(result) is None:
            return not_tested(NOT_WHOLE)
        return not_tested("two snapshots share most of their people, so they are not "
                          "independent samples")
    if kpi.kind in (Kind.RATE, Kind.WITHIN):
        return rate_significance(kpi, current, comparison)
    if kpi.kind == Kind.COUNT and kpi.unit == Unit.COUNT:
        if not count_of_events(kpi, (current, comparison)):
            return not_tested(NOT_EVENTS)
        return poisson_test(_events(current), len(current.window.months()),
                            _events(comparison), len(comparison.window.months()))
    if kpi.is_snapshot:
        return not_tested("a snapshot is a stock at one date, not events over time")
    return not_tested(f"no test for a {kpi.kind.value} in {kpi.unit.value}")


def overlap_reason(current: Window, comparison: Window) -> str | None:
    """Why two windows cannot be tested against each other because they share months (the
    year ending September against the year ending August, `--vs previous`; a baseline year
    ending within the current one), or None. Every test here takes its two windows as
    independent samples; windows sharing 11 of 12 months share 11 months of events, so the
    test read 300,261 against 299,579 crimes as two samples ("not significant, p = 0.379")
    where the change, -682, is one September's against another's."""
    shared = current.shared(comparison)
    if not shared:
        return None
    months = (f"{len(shared)} months, {shared[0]} to {shared[-1]}" if len(shared) > 1
              else f"the month {shared[0]}")
    return (f"the two windows share {months}, so they are not independent samples: the "
            "change is the difference of the months they do not share")


def windows_shared(result: KpiResult) -> str | None:
    """`overlap_reason` of a result's current and comparison windows; None where it lacks
    either. The one question every test of a change, and every sentence on why a change was
    not tested, asks of a result."""
    if result.current is None or result.comparison is None:
        return None
    return overlap_reason(result.current.window, result.comparison.window)


NOT_WHOLE = "a rate is tested from whole-number numerators and denominators"
# What a row that is not a whole number of cases out of a whole number has (`rate_rule`).
NOT_CASES = ("a numerator that is not a whole number from 0 to the row's denominator, or a "
             "denominator that is not a whole number")


def _whole_counts(result: KpiResult) -> list[int] | None:
    """The numerators and denominators of both windows (current first) as whole numbers, or
    None when one is not whole (or missing)."""
    assert result.current is not None and result.comparison is not None, "both windows"
    return _wholes(result.current, result.comparison)


def _wholes(*windows: Measured) -> list[int] | None:
    counts = [_whole(v) for w in windows for v in (w.numerator, w.denominator)]
    whole = [c for c in counts if c is not None]
    return whole if len(whole) == len(counts) else None


class Measured(Protocol):
    """What a test reads of a window (`engine.Measured`)."""

    @property
    def value(self) -> float | None: ...
    @property
    def numerator(self) -> float | None: ...
    @property
    def denominator(self) -> float | None: ...
    @property
    def outside(self) -> int | None: ...
    @property
    def uncounted(self) -> int | None: ...
    @property
    def negative(self) -> int | None: ...


def _rows(count: int) -> str:
    """'1 row of the windows tested has', '3 rows ... have'."""
    return (f"{count:,} row of the windows tested has" if count == 1
            else f"{count:,} rows of the windows tested have")


# Units whose values cannot be negative: their lower process limit stops at 0 (a count of
# -11 crimes is not a month that can happen), unless a month of the series is below it
# (`bounds_kept`). A score (a harm score, whose weights are 0 or more) printed limits of -0.8.
NON_NEGATIVE = frozenset({Unit.COUNT, Unit.PERCENT, Unit.PER_1000, Unit.SECONDS, Unit.DAYS,
                          Unit.GBP, Unit.SCORE})


def non_negative(kpi: KpiDef, windows: Sequence[Measured]) -> bool:
    """Whether a KPI's figure cannot be negative by what it is, whatever unit it is written
    in: a number of rows (`KpiDef.counts_rows`), a rate of two KPIs that each are one
    (`KpiDef.counted_parts`), a count of a value whose rows in `windows` are each a whole
    number of at least 0, or a rate of one dataset's rows, percentage snapshot or ratio of
    rates none of whose rows in `windows` has a numerator or denominator below 0 (the engine's
    NEGATIVE count; a population is positive). A rate of a column that can be negative (a net
    amount) is none: its figure can go below 0. Written as a ratio, a ratio of rates printed
    limits of -5.5 to 9.3, and a rate of two counts -0.6 to 0.9."""
    if kpi.counts_rows or kpi.counted_parts:
        return True
    # (a count of a `value`: its rows each a whole number of at least 0, UNCOUNTED 0)
    signed = [w.uncounted if kpi.kind == Kind.COUNT else w.negative for w in windows]
    return bool(signed) and None not in signed and not any(signed)


def chart_bounds(kpi: KpiDef, windows: Sequence[Measured]) -> tuple[float | None, float | None]:
    """Where a KPI's process limits stop (floor, ceiling), None where they do not
    (docs/statistics.md, "Limits stop where the value cannot go"): the one rule of every
    chart's bounds. A share runs from 0 to all of its rows in its unit (`KpiDef.share_max`:
    100 in percent, 1 as a ratio, 1,000 per 1,000), whatever unit it is written in: as a ratio
    its limits printed -0.11 and 1.11, per 1,000 up to 1,105.7. A share is one by its
    definition (`KpiDef.share`), or a rate tested as two proportions on the rows of its
    windows (`rate_rule`): a rate of one dataset's rows each of whose numerators is a whole
    number from 0 to its denominator, itself a whole number (compliant audits of audited
    ones). One rule with the test: a KPI tested as a proportion is charted as one, and a rate
    of two KPIs not nested (240% in a month) is neither. Any other KPI stops at 0 where its
    figure cannot be negative, by what it is (`non_negative`: rows counted, a ratio of rates
    whose rows are none below 0, whatever its unit) or by its unit (`NON_NEGATIVE`), and has
    no ceiling."""
    share = proven_share(kpi, windows)
    floor = (0.0 if share or kpi.unit in NON_NEGATIVE or non_negative(kpi, windows)
             else None)
    return floor, kpi.share_max if share else None


def proven_share(kpi: KpiDef, windows: Sequence[Measured]) -> bool:
    """Whether a KPI's figure over these windows is a share of rows, from 0 to
    `KpiDef.share_max`: one by its definition (`KpiDef.share`), or a rate tested as two
    proportions on the rows of its windows (`rate_rule`: each numerator a whole number from 0
    to its row's denominator, answered calls of calls). The one rule of a share's chart
    bounds (`chart_bounds`) and of its target's scale (`kpi.verdicts.off_share_target`). A
    mean its rows prove a share printed off its unit's scale is refused as it is read
    (`unscaled_flags`)."""
    return kpi.share or (bool(windows) and rate_rule(kpi, windows)[0] == RateTest.PROPORTIONS)


# A mean's rows whose value is neither 0 nor 1 nor a blank, counted where its figure would be
# printed off the scale of a share (`KpiDef.flag_scale`), for `unscaled_flags`.
UNFLAGGED = "unflagged"


def unscaled_flags(kpi: KpiDef, windows: Sequence[engine.Measured]) -> None:
    """Refuses a mean whose rows in these windows prove it a share printed off its unit's
    scale (ConfigError, exit 3, in the words of kpi.toml's refusal of one its expression
    proves, `catalogue.zero_one_scale_problem`): in percent with no multiplier 100, each of
    its rows read is 0 or 1 (the engine's UNFLAGGED count 0 in every window) and one or more
    is 1. No walk of an expression's text follows every way to a 0 or 1
    (`expressions.zero_or_one`), and a column of 0s and 1s declared `int` shows none: its
    mean of 0.25 printed "0.3%". A mean all of whose rows are 0 is 0 at any scale, and is
    read. The read's rule beside the share its rows prove (`proven_share`), on a KPI's two
    windows wherever they are worked out (`kpi.engine.evaluate`: the summary, `kpi show`,
    the paper, the board, `kpi check`) and on every part of `kpi compare` together."""
    if not kpi.flag_scale or not windows:
        return
    unflagged = [w.unflagged for w in windows]
    if None in unflagged or any(unflagged) or not any(w.numerator for w in windows):
        return
    rows = sum(w.denominator or 0 for w in windows)
    raise ConfigError(f"{kpi.flag_scale}; each of the {int(rows):,} rows it read is 0 or 1, "
                      "which its expression does not show", hint="1 problem in the project file")


def rate_rule(kpi: KpiDef, windows: Sequence[Measured]) -> tuple[RateTest, str]:
    """The one rule for testing a percentage of cases (docs/statistics.md, "Which test a rate
    gets"), for the windows (or parts) tested against each other: the test, and the reason
    where it is none.

    Two proportions only where the numerator's events are some of the denominator's: a
    within-threshold share (rows meeting a condition out of rows: nested by construction); a
    rate of two KPIs declared or proven so (`catalogue.rate_test`); a rate of one dataset's
    rows where every row of the windows is a whole number of cases out of a whole number (a
    numerator that is a whole number from 0 to a denominator that is a whole number: the
    engine's OUTSIDE count is 0; window totals cannot show it, 400 rows of 1.5 total 600),
    whether or not the catalogue declares `numerator_within_denominator = true`; a
    declaration that a row contradicts is refused, never taken as licence. Else a count of
    events per its denominator (two Poisson counts, the denominators their exposures) where
    every row's numerator is a whole number of at least 0 (the engine's UNCOUNTED count is
    0; for a rate of two KPIs, a `count` of rows over a count or sum), unless the catalogue
    declares the relation. Else none."""
    if kpi.kind == Kind.WITHIN:
        return RateTest.PROPORTIONS, ""
    if kpi.is_derived:
        if kpi.rate_test is None or kpi.rate_test == RateTest.NONE:
            return RateTest.NONE, ("the numerator's events are not known to be some of the "
                                   "denominator's (numerator_within_denominator), and the "
                                   "numerator is not a count of events per its denominator")
        return kpi.rate_test, ""
    if kpi.kind not in (Kind.RATE, Kind.SNAPSHOT) or kpi.numerator is None:
        return RateTest.NONE, NOT_WHOLE
    outside = [w.outside for w in windows]
    uncounted = [w.uncounted for w in windows]
    declared = kpi.numerator_within_denominator
    if None in outside or None in uncounted:
        return RateTest.NONE, ("its rows were not checked against the rule of the test "
                               "(each numerator a whole number from 0 to its denominator)")
    bad = sum(o for o in outside if o is not None)
    if bad == 0 and declared is not False:
        return RateTest.PROPORTIONS, ""
    if declared:
        return RateTest.NONE, (f"{_rows(bad)} {NOT_CASES}, against "
                               "numerator_within_denominator = true: check the expressions")
    if sum(u for u in uncounted if u is not None) == 0:
        return RateTest.PER_DENOMINATOR, ""
    return RateTest.NONE, (f"{_rows(bad)} {NOT_CASES}, so the rate is not a proportion of "
                           "cases, and not a count of events either")


# A rate of two KPIs tested as two proportions on the catalogue's declaration alone: its
# numerator and denominator are two KPIs' totals, with no rows in common to check the
# declaration against (a rate of one dataset's rows is checked row by row), so the test says
# what it rests on (`kpi show`'s test note, docs/statistics.md).
ON_TRUST = ("two proportions because the catalogue declares numerator_within_denominator = "
            "true; a rate of two KPIs has no rows kpi can check that against")


def rate_significance(kpi: KpiDef, current: Measured, comparison: Measured) -> Significance:
    """A percentage of cases, current window against comparison (or one part against the
    rest), by the test `rate_rule` chooses: two proportions, the numerator's events per its
    denominator (two Poisson counts, each denominator its exposure), or none."""
    test, reason = rate_rule(kpi, (current, comparison))
    if test == RateTest.PROPORTIONS:
        whole = _wholes(current, comparison)
        if whole is None:
            return not_tested(NOT_WHOLE)
        tested = proportion_test(*whole)
        return replace(tested, note=f"{tested.note}; {ON_TRUST}") if kpi.within_on_trust \
            else tested
    if test == RateTest.PER_DENOMINATOR:
        x1, x2 = _whole(current.numerator), _whole(comparison.numerator)
        e1, e2 = current.denominator, comparison.denominator
        if x1 is None or x2 is None or x1 < 0 or x2 < 0:
            return not_tested("the numerator's values are not whole counts of events")
        if e1 is None or e2 is None or not (math.isfinite(e1) and math.isfinite(e2)) \
                or e1 <= 0 or e2 <= 0:
            return not_tested("a window's denominator is not a positive amount to take a "
                              "rate per")
        return poisson_test(x1, e1, x2, e2, per_denominator=True)
    return not_tested(reason)


# ---------------------------------------------------------------------------------------------
# Parts whose change stands out from the rest's


@dataclass(frozen=True)
class PartTest:
    """One part of a count's breakdown, its change tested against the change of other parts
    pooled (the rest)."""

    part: object
    current: int
    comparison: int
    rest_current: int
    rest_comparison: int
    test: Significance

    @property
    def change(self) -> float | None:
        """The part's percentage change (None from a comparison of 0)."""
        return change_percent(self.current, self.comparison)

    @property
    def rest_change(self) -> float | None:
        return change_percent(self.rest_current, self.rest_comparison)


@dataclass(frozen=True)
class Standouts:
    """The parts of a breakdown whose change stands out from the rest's (`standouts`), in the
    order found, and the parts that do not, pooled."""

    parts: tuple[PartTest, ...]
    rest: tuple[object, ...]
    rest_current: int
    rest_comparison: int
    tested: int  # parts with events in either window (the sentence's "of 19")

    @property
    def rest_change(self) -> float | None:
        return change_percent(self.rest_current, self.rest_comparison)


# A paper prints a part's percentage (change or proportion) and the rest's to this many
# decimal places; the least gap is tested on the figures as printed, so no sentence shows a
# part standing out by less than the floor.
GAP_PLACES = 1


def _gap(part: float, rest: float) -> float:
    """The gap between a part's percentage and the rest's as printed (GAP_PLACES), with a
    margin for binary fractions: -5.8 against -8.2 is 2.4 points, not 2.3999999999999995."""
    return abs(float(rounded(part, GAP_PLACES) - rounded(rest, GAP_PLACES))) + 1e-9


def part_vs_rest(part: object, current: int, comparison: int, rest_current: int,
                 rest_comparison: int) -> PartTest:
    """One part's change against the rest's. If both changed by the same factor, each event
    of the two windows would fall in the current one with the same chance for the part as for
    the rest, so the test is kpi's two-proportion z-test of the part's share of its events in
    the current window against the rest's share (the 2 x 2 table's test of no interaction;
    the windows' lengths cancel). z is positive when the part rose more (or fell less)."""
    test = proportion_test(current, current + comparison, rest_current,
                           rest_current + rest_comparison)
    return PartTest(part, current, comparison, rest_current, rest_comparison, test)


# A test of one part against the rest: PartTest or ShareTest (both have .part and .test).
_Tested = TypeVar("_Tested", "PartTest", "ShareTest")


def _stepwise(rows: list[tuple[object, int, int]],
              test_of: Callable[[object, int, int, int, int], _Tested], min_base: int,
              alpha: float, material: Callable[[_Tested], bool] | None = None,
              against_all: bool = True
              ) -> tuple[list[_Tested], list[tuple[object, int, int]], int]:
    """The parts found to stand out one at a time, the parts left, and m. Each row is (part,
    a, b); each part left is tested against the others left pooled (`test_of(part, a, b, rest
    a, rest b)`); the one with the smallest p-value stands out if p < alpha / m, m the parts
    tested against all the others (`parts_judged`, the rule `kpi compare` judges its parts
    by: each part and its rest with at least `min_base` in b); it is set aside and
    the rest tested again, so one part far from the others does not make all the others look
    different. A part is a candidate only when its b and its rest's are at least `min_base`,
    when it is not None, when `material` (if given) holds of its test (a gap too small to
    matter is no story, however many cases make it significant), and, `against_all` (a
    proportion's), when it differs from all the other rows pooled at alpha / m too
    (`parts_judged`): the test `kpi compare` reports of the same figure (its `vs_rest`), so
    every part named stands out from the rest it is named against and from all the others.
    A count's parts are found step by step alone: a change is pulled by a part far off (one
    offence group up 150% beside ten up about 52%), and required to differ from all the
    others pooled too, a part at 52.6% was named as standing out from a rest the far part's
    neighbour lifted to 63.1%, beside seven parts at the same 52.5% that did not; the
    sentence names the rest its part stands out from ("from the other 9 (+52.5%)"), and the
    full paper says which other parts differ from all the others (`kpi compare`'s
    `change_vs_rest`) without standing out.

    A part found early was tested against a rest that still held the parts found after it,
    but the sentence compares it with the parts left at the end ("stands out from the other
    4"). So each part found is tested again against that final rest, pooled, and one that no
    longer passes there (base, materiality or p < alpha / m) goes back into the rest, the one
    with the largest p-value first; the rest is pooled again and the others tested again,
    until every part found passes against the rest as printed. The tests returned are those
    against that rest."""
    def tried(part: object, a: int, b: int, rest_a: int, rest_b: int) -> _Tested | None:
        # Rows with no value in the column ("not recorded") are no part, and in no part's
        # rest: they may be any part's, the one tested too, and `kpi compare` leaves them out
        # of its parts and their tests ("rows with a blank 'lpa' are not compared"), so the
        # two never judge one part against two rests. `standouts` and `share_standouts` pass
        # none; how often a column is left empty is a recording matter.
        if part is None or b < min_base or rest_b < min_base:
            return None
        test = test_of(part, a, b, rest_a, rest_b)
        if test.test.p_value is None or (material is not None and not material(test)):
            return None
        return test

    # Each part against all the other parts pooled, judged by the one rule of a part among
    # others (`parts_judged`: the floor of cases, then 0.05/m, m the parts tested), the rule
    # `kpi compare` judges its parts by. m is the divisor of every step below; and a part
    # stands out only where it also differs from all the other parts so: found against a
    # rest without a part far off, it was named as standing out where `kpi compare` said it
    # did not differ (A 20%, B 60%, C and D 80% of 100: B, 60% against 60% for the others,
    # "no (p=1.000)" there, stood out from C and D here).
    every_a, every_b = sum(a for _, a, _ in rows), sum(b for _, _, b in rows)
    judged = parts_judged([(test_of(part, a, b, every_a - a, every_b - b).test, b,
                            every_b - b) for part, a, b in rows], min_base)
    divisor = max(1, sum(t is not None and t.p_value is not None for t in judged))
    differs = {id(row) for row, test in zip(rows, judged, strict=True)
               if not against_all or test is not None and test.significant}

    def candidate(part: object, a: int, b: int, rest_a: int, rest_b: int,
                  row: tuple[object, int, int]) -> _Tested | None:
        return tried(part, a, b, rest_a, rest_b) if id(row) in differs else None

    found: list[tuple[object, int, int]] = []
    left = rows
    while len(left) >= 2:
        total_a, total_b = sum(a for _, a, _ in left), sum(b for _, _, b in left)
        tests = [(row, test) for row in left
                 if (test := candidate(*row, total_a - row[1], total_b - row[2], row))
                 is not None]
        if not tests:
            break
        row, best = min(tests, key=lambda t: (t[1].test.p_value, str(t[1].part)))
        assert best.test.p_value is not None, "tests without a p-value are set aside above"
        if best.test.p_value >= part_threshold(divisor, alpha):
            break
        found.append(row)
        left = [r for r in left if r is not row]
    while found:
        rest_a, rest_b = sum(a for _, a, _ in left), sum(b for _, _, b in left)
        retested = [(row, candidate(*row, rest_a, rest_b, row)) for row in found]
        failing = [(row, test) for row, test in retested if test is None
                   or test.test.p_value is None
                   or test.test.p_value >= part_threshold(divisor, alpha)]
        if not failing:
            return [test for _, test in retested if test is not None], left, divisor
        # The weakest goes back first: one no longer a candidate, then the largest p-value.
        weakest, _ = max(failing, key=lambda item: (
            item[1] is None, item[1].test.p_value or 0.0 if item[1] else 0.0, str(item[0][0])))
        found = [row for row in found if row is not weakest]
        left = [row for row in rows if all(row is not f for f in found)]
    return [], left, divisor


def standouts(parts: Sequence[tuple[object, float | None, float | None]], min_base: int,
              alpha: float = ALPHA, min_points: float = 0.0) -> Standouts | None:
    """The parts of a count, (part, current, comparison), whose change stands out from the
    rest's (`part_vs_rest`, found step by step with Bonferroni's correction: `_stepwise`),
    where m is the number of parts tested against all the others (`parts_judged`: each and
    its rest with `min_base` events in the comparison window; rows with no value in the
    column are none of them, nor in any rest: `_stepwise`). A part is a candidate only
    when it and its rest each had at least `min_base` events in the comparison window, so its
    percentage change is worth giving, and when its percentage change differs from the rest's
    by at least `min_points` percentage points (on a large base a part down 5.8% against the
    rest's 8.2% is significant but no finding). None when the values are not whole counts in
    both windows, fewer than two parts have events, or no part stands out."""
    counts = []
    for part, current, comparison in parts:
        c, b = _whole(current), _whole(comparison)
        if c is None or b is None or c < 0 or b < 0:
            return None
        if (c or b) and part is not None:  # (rows not recorded: `_stepwise`)
            counts.append((part, c, b))
    def material(test: PartTest) -> bool:
        # Both changes exist: a candidate's comparison and its rest's are at least min_base.
        change, rest = test.change, test.rest_change
        return change is not None and rest is not None and _gap(change, rest) >= min_points

    found, left, _ = _stepwise(counts, part_vs_rest, min_base, alpha, material,
                               against_all=False)
    if not found:
        return None
    return Standouts(tuple(found), tuple(part for part, _, _ in left),
                     sum(c for _, c, _ in left), sum(b for _, _, b in left), len(counts))


@dataclass(frozen=True)
class ShareTest:
    """One part of a proportion's breakdown: its proportion in the current window tested
    against the proportion of the other parts pooled (the rest) in the same window."""

    part: object
    numerator: int
    denominator: int
    rest_numerator: int
    rest_denominator: int
    test: Significance

    @property
    def share(self) -> float:
        """The part's proportion, in percent."""
        return required_share(self.numerator, self.denominator)

    @property
    def rest_share(self) -> float:
        return required_share(self.rest_numerator, self.rest_denominator)


def required_share(numerator: int, denominator: int) -> float:
    """A share in percent, rounded once (`kpi.rounding.quotient`), of a denominator above 0."""
    share = quotient(numerator, denominator, 100)
    if share is None:
        raise ValueError("a share of nothing")
    return share


@dataclass(frozen=True)
class ShareStandouts:
    """The parts of a proportion's breakdown whose proportion stands out from the rest's
    (`share_standouts`), in the order found, and the parts that do not, pooled."""

    parts: tuple[ShareTest, ...]
    rest: tuple[object, ...]
    rest_numerator: int
    rest_denominator: int
    tested: int  # parts with cases in the window (the sentence's "of 19")

    @property
    def rest_share(self) -> float:
        return required_share(self.rest_numerator, self.rest_denominator)


def share_vs_rest(part: object, numerator: int, denominator: int, rest_numerator: int,
                  rest_denominator: int) -> ShareTest:
    """One part's proportion against the rest's, in the same window: kpi's two-proportion
    z-test (pooled), z positive when the part's proportion is the higher. The part and the
    rest are different cases, so they are independent samples, which two windows of one
    snapshot are not."""
    test = proportion_test(numerator, denominator, rest_numerator, rest_denominator)
    return ShareTest(part, numerator, denominator, rest_numerator, rest_denominator, test)


def share_standouts(parts: Sequence[tuple[object, float | None, float | None]], min_base: int,
                    alpha: float = ALPHA, min_points: float = 0.0) -> ShareStandouts | None:
    """The parts of a proportion, (part, numerator, denominator) in the current window, whose
    proportion stands out from the rest's (`share_vs_rest`), found step by step as a count's
    are (`_stepwise`), m being the number of parts tested against all the others
    (`parts_judged`: each and its rest with `min_base` cases; rows with no value in the
    column are none of them, nor in any rest). A part is a candidate only when
    it and its rest each had at least `min_base` cases, and when its proportion differs from
    the rest's by at least `min_points` percentage points (on a large base a gap of one point
    is significant but no finding). None when the numerators and
    denominators are not whole counts with the numerator a part of the denominator, fewer
    than two parts have cases, or no part stands out."""
    shares = []
    for part, numerator, denominator in parts:
        x, n = _whole(numerator), _whole(denominator)
        if x is None or n is None or not 0 <= x <= n:
            return None
        if n and part is not None:  # (rows not recorded: `_stepwise`)
            shares.append((part, x, n))
    found, left, _ = _stepwise(shares, share_vs_rest, min_base, alpha,
                            lambda t: _gap(t.share, t.rest_share) >= min_points)
    if not found:
        return None
    return ShareStandouts(tuple(found), tuple(part for part, _, _ in left),
                          sum(x for _, x, _ in left), sum(n for _, _, n in left), len(shares))


def against_rest(parts: Sequence[tuple[object, float | None, float | None]], share: bool,
                 min_base: int = MIN_CASES) -> list[PartTest] | list[ShareTest] | None:
    """Each part against all the other parts pooled, judged by the one rule of a part among
    others (`parts_judged`: the floor of `min_base` cases or events, then 0.05/m): a
    proportion's parts, (part, numerator, denominator) in the current window, by their
    proportions (`share_vs_rest`, `share`), or a count's, (part, current, comparison), by
    their changes (`part_vs_rest`, the floor met by the comparison window's events). Parts
    with no cases (events) and the rows with no value in the column are none of them, nor in
    any rest. None where the figures are not whole counts."""
    rows = []
    for part, a, b in parts:
        x, n = _whole(a), _whole(b)
        if x is None or n is None or x < 0 or n < 0 or (share and x > n):
            return None
        if (n if share else x or n) and part is not None:  # (rows not recorded: `_stepwise`)
            rows.append((part, x, n))
    every_a, every_b = sum(a for _, a, _ in rows), sum(b for _, _, b in rows)
    test_of = share_vs_rest if share else part_vs_rest
    tests = [test_of(part, a, b, every_a - a, every_b - b) for part, a, b in rows]
    judged = parts_judged([(t.test, b, every_b - b)
                           for t, (_, _, b) in zip(tests, rows, strict=True)], min_base)
    return [replace(t, test=j) for t, j in zip(tests, judged, strict=True)]  # type: ignore


def differing(parts: Sequence[tuple[object, float | None, float | None]], share: bool,
              min_base: int = MIN_CASES) -> list[PartTest] | list[ShareTest]:
    """The parts that differ from all the other parts pooled (`against_rest`), each with its
    test against them: the parts `kpi compare` says differ from the rest (a proportion's
    `vs_rest`, a count's `change_vs_rest`), of which the board paper names those that stand
    out (`share_standouts`, `standouts`) and says of the others why it does not."""
    return [t for t in against_rest(parts, share, min_base) or []  # type: ignore
            if t.test.significant]


NOT_EVENTS = "the values are not whole counts of events"


def count_of_events(kpi: KpiDef, windows: Sequence[Measured] | None) -> bool:
    """Whether a KPI's figure over `windows` is a count of events, the one rule of every test
    of a count or of its parts (docs/statistics.md, "Not tested"): the summary's test of its
    change (`significance`), `kpi compare`'s tests of its parts per population (`vs_rest`,
    `vs_focus`) and of their changes (`change_vs_rest`), and the board paper's parts that
    stand out (`standouts`). A `count` in the unit count with no multiplier, each window's
    total a whole number of at least 0, and, for a count of a `value`, no row of any window
    a value that is not a whole number of at least 0 (the engine's UNCOUNTED count, known
    and 0): rows of 1.5 and 0.5 hours, or of +3 and -1 netted, total whole numbers and are no
    count of events. Tested on their totals, such parts "stood out" in the paper and "differed
    from the rest" in `kpi compare` beside a summary that said "not tested". `windows` are
    those the test reads (a part's and its rest's); None asks only whether the KPI can be one
    by its definition (which breakdowns the paper reads)."""
    if not (kpi.kind == Kind.COUNT and kpi.unit == Unit.COUNT and kpi.multiplier == 1.0):
        return False
    if windows is None:
        return True
    for window in windows:
        total = _whole(window.value)
        if total is None or total < 0:
            return False
        if kpi.value is not None and window.uncounted != 0:
            return False  # (None: its rows were not checked)
    return True


def _events(window: Measured) -> int:
    """A window's events, of a count `count_of_events` has found one."""
    events = _whole(window.value)
    assert events is not None, "a count of events has whole totals"
    return events


def proportion_of_cases(kpi: KpiDef) -> bool:
    """A rate of cases (a `rate`, `within` or percentage `snapshot`: a numerator over a
    denominator) whose parts in one window are tested against each other by the test its rows
    get (`rate_rule`: two proportions, `share_vs_rest`, where they are nested): by `kpi
    compare` (`vs_rest`) and the board paper alike. Decided by what the figure counts, as the
    summary's test of its change is (`significance`), never by the unit or multiplier it is
    printed in: per 1,000 (multiplier 10) or as a ratio (0.01) the same rows were "no test for
    a rate in per_1000" in `kpi compare` and in no sentence of the paper, where in percent
    they differed from the rest (p < 0.001). A percentage snapshot's parts are different
    people, so independent samples, as two snapshots of one force are not."""
    return kpi.kind in (Kind.RATE, Kind.WITHIN) or (
        kpi.kind == Kind.SNAPSHOT and kpi.numerator is not None)


# ---------------------------------------------------------------------------------------------
# XmR chart of the monthly series

BASELINE_POINTS = 12
RUN = 7  # points in a shift or a trend
LIMIT_FACTOR = 2.66  # 3 sigma, estimated as mean moving range / 1.128
SIGMA2_FACTOR = 1.773  # 2 sigma
# A baseline moving range at or above this many times the mean moving range (the upper range
# limit, D4 for ranges of two) is left out of the mean moving range before the process limits
# are computed, once (Making Data Count; NHSRplotthedots' screen_outliers = TRUE).
SCREEN_FACTOR = 3.267
# The factors as the decimals they are, for the exact arithmetic of the limits (`_segment`).
_LIMIT, _SIGMA2, _SCREEN = (Fraction(repr(f)) for f in (LIMIT_FACTOR, SIGMA2_FACTOR,
                                                         SCREEN_FACTOR))

# The fewest baseline months limits are computed from (a moving range needs two), and the
# months below which they are trial limits, revised as months arrive (NHSRplotthedots warns
# below 12 too). Every verdict on variation or assurance needs limits, so the same minimum.
MIN_LIMIT_POINTS = 2

LIMITS, TREND, TWO_IN_THREE, SHIFT = "limits", "trend", "two_in_three", "shift"
PRIORITY = (LIMITS, TREND, TWO_IN_THREE, SHIFT)
RULE_WORDS = {LIMITS: "outside the process limits", TREND: "trend of 7",
              TWO_IN_THREE: "two of three close to a limit", SHIFT: "shift of 7"}
# Each rule in words a board member reads, by whether the months ran high (or rising).
RULE_PLAIN = {
    (LIMITS, True): "an unusually high month, above the upper process limit",
    (LIMITS, False): "an unusually low month, below the lower process limit",
    (TREND, True): "seven or more months in a row, each higher than the last",
    (TREND, False): "seven or more months in a row, each lower than the last",
    (TWO_IN_THREE, True): "two of three months close to the upper process limit",
    (TWO_IN_THREE, False): "two of three months close to the lower process limit",
    (SHIFT, True): "seven or more months in a row above the average",
    (SHIFT, False): "seven or more months in a row below the average",
}
# A special cause's class. A KPI with no better direction has no improvement or concern: its
# special causes are high or low (NHSRplotthedots' special_cause_neutral_high and _low).
IMPROVEMENT, CONCERN, HIGH, LOW = "improvement", "concern", "high", "low"


@dataclass(frozen=True)
class XmrPoint:
    """One month of the chart: its value, moving range, the special cause it shows (`rule`,
    one of PRIORITY; `signal`: improvement, concern or neither), if any, and the mean and
    process limits that apply to it (they step where the limits were recalculated)."""

    month: str
    value: float | None
    moving_range: float | None
    rule: str | None = None
    signal: str | None = None
    mean: float | None = None
    lower: float | None = None
    upper: float | None = None
    high: bool | None = None  # the special cause ran high (or rising); None without one
    # The month's side of its mean, compared exactly (`_segment`): 1 above, -1 below, 0 on it;
    # None without a value or a mean. What every run on one side is read from (the paper's
    # start of a shift), so no face finds a month on the mean, or off it, that the chart did not.
    side: int | None = None


@dataclass(frozen=True)
class Segment:
    """The months between two recalculations of the limits, and the limits computed from its
    baseline. `trial` when the baseline has fewer than BASELINE_POINTS months. The limits are
    None, with `note` saying why, when there is no usable baseline."""

    start: str
    end: str
    baseline: tuple[str, str] | None
    mean: float | None
    mean_moving_range: float | None
    lower_limit: float | None
    upper_limit: float | None
    lower_2sigma: float | None
    upper_2sigma: float | None
    trial: bool = False
    note: str | None = None
    # the baseline months whose moving range was screened out of the mean moving range
    screened: tuple[str, ...] = ()


# Why a cumulative KPI (a running total, a snapshot of progress) has no process chart
# (docs/statistics.md, "Cumulative KPIs get no chart"): `kpi show`'s note in its place.
CUMULATIVE_NOTE = ("no process chart: the KPI is cumulative (a running total), so its months "
                   "are not independent values of a process")
QUARTERLY_NOTE = ("no process chart: the data is one value per quarter, and a chart of "
                  "monthly values has none for two months in three")


@dataclass(frozen=True)
class Xmr:
    """An XmR chart. The top-level limits are those of the last segment (the ones that apply
    now); `segments` has one entry per stretch between recalculations."""

    points: tuple[XmrPoint, ...]
    baseline: tuple[str, str] | None
    mean: float | None
    mean_moving_range: float | None
    lower_limit: float | None
    upper_limit: float | None
    lower_2sigma: float | None
    upper_2sigma: float | None
    note: str | None = None
    trial: bool = False
    segments: tuple[Segment, ...] = ()
    # The last months, whose figures are not final yet (`provisional_months`): the chart
    # leaves them out, so no limit comes from them and no special cause is read from them.
    provisional: tuple[str, ...] = ()

    @property
    def signals(self) -> tuple[XmrPoint, ...]:
        """The points where a rule fired, in month order."""
        return tuple(p for p in self.points if p.rule is not None)


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """(start, end inclusive) of each maximal run of True."""
    out, start = [], None
    for i, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            out.append((start, i - 1))
            start = None
    return out


def _signal(better: Better, high: bool) -> str:
    if better == Better.NEUTRAL:
        return HIGH if high else LOW
    return IMPROVEMENT if high == (better == Better.HIGHER) else CONCERN


def bounds_kept(values: Sequence[float | None], floor: float | None,
                ceiling: float | None) -> tuple[float | None, float | None]:
    """The floor and ceiling of a chart's limits that its months keep to: one a month passes
    (a value below the floor, above the ceiling) is dropped, so the limits are never cut
    inside the data they describe and the mean always lies within them."""
    seen = [as_written(v) for v in values if v is not None]
    if floor is not None and any(v < as_written(floor) for v in seen):
        floor = None
    if ceiling is not None and any(v > as_written(ceiling) for v in seen):
        ceiling = None
    return floor, ceiling


def unsettled_months(months: Sequence[str], provisional: int) -> tuple[str, ...]:
    """The months of a monthly series whose figures are not final yet: its last `provisional`
    (`provisional_months`). The one rule of which months those are, for the chart that leaves
    them out (`xmr`) and every table that shows them (`kpi show --seasonal` marks them)."""
    return tuple(str(m) for m in months[max(0, len(months) - provisional):]) \
        if provisional > 0 else ()


def xmr(months: Sequence[str], values: Sequence[float | None], better: Better,
        baseline_points: int = BASELINE_POINTS, baseline: tuple[str, str] | None = None,
        rebase: Sequence[str] = (), floor: float | None = None,
        ceiling: float | None = None, provisional: int = 0) -> Xmr:
    """The XmR chart of a monthly series: its mean and limits, and the special-cause rule (if
    any) on each month.

    The limits are computed from the first `baseline_points` months, or from the months of
    `baseline` (first, last) when given; with fewer months than `baseline_points` they are
    trial limits. Each month in `rebase` starts a new segment with limits of its own from its
    own first months; rules never run across a recalculation.

    A missing month (None) has no moving range, nor has the month after it, and it breaks
    every run: shifts, trends and two-in-three need consecutive months. A baseline with a
    missing month gives no limits, with the reason.

    `floor` and `ceiling` bound the process limits where the value cannot go (0 for a count or
    a percentage, 100 for a percentage): a limit past them would promise months that cannot
    happen. A bound some month of the series passes is not one the value keeps to (a sum of
    pounds that is a net variance, a mean of days late whose months are early), so it bounds
    nothing: cut at 0 above a mean of -£100, the limits read "£0 to -£74" and every month a
    special cause. The one rule of every chart (`bounds_kept`).

    The last `provisional` months are not final yet (`provisional_months`): the chart leaves
    them out (no value, no rule), and each segment's limits come from its months before them,
    trial limits where those are fewer than `baseline_points`. They are not missing months: a
    baseline of 14 months whose last 3 are not final has trial limits from its first 11, where
    it had none, "no value for 2025-07" said of a month holding rows.

    Each month is read as the number it stands for (`as_written`), as the mean and limits made
    from the months are: a share of 10 of 30 is 100/3 exactly (the `Exact` the engine makes),
    never the float nearest it. Made from the floats' decimals, months of 10 and 20 of 30
    averaged 50.000000000000003, and months of 15 of 30, exactly 50%, on the mean, read as a
    shift below it (special cause of concern)."""
    months = [str(m) for m in months]
    values = [None if v is None or not math.isfinite(v) else v for v in values]
    unsettled = unsettled_months(months, provisional)
    keep = len(values) - len(unsettled)
    values = [*values[:keep], *(None,) * (len(values) - keep)]
    floor, ceiling = bounds_kept(values, floor, ceiling)
    # The chart starts where the data does: months before the first value are not missing
    # months inside the series, and with them a short history (13 months of a 24-month
    # series) would have no limits at all rather than limits from the months there are.
    first = next((i for i, v in enumerate(values) if v is not None), len(values))
    months, values = months[first:], values[first:]
    if not values:
        return Xmr((), None, None, None, None, None, None, None,
                   "no limits: no month with a value is final yet" if unsettled
                   else "no monthly values", provisional=unsettled)
    cuts = sorted({0, *(next((i for i, m in enumerate(months) if m >= str(r)), len(months))
                        for r in rebase)} - {len(months)})
    # A named baseline gives the limits of one segment: the one its first month falls in
    # (the first when it starts before the chart's first value, the last when after its last
    # month); every other segment takes its own first months.
    owner = max((a for a in cuts if baseline is not None and months[a] <= baseline[0]),
                default=0)
    points: list[XmrPoint] = []
    segments: list[Segment] = []
    for a, b in zip(cuts, [*cuts[1:], len(months)], strict=True):
        segment, seg_points = _segment(months[a:b], values[a:b], better, baseline_points,
                                       baseline if a == owner else None, floor, ceiling,
                                       [m for m in months[a:b] if m in unsettled])
        segments.append(segment)
        points += seg_points
    last = segments[-1]
    return Xmr(tuple(points), last.baseline, last.mean, last.mean_moving_range, last.lower_limit,
               last.upper_limit, last.lower_2sigma, last.upper_2sigma, last.note, last.trial,
               tuple(segments), unsettled)


def _segment(months: list[str], values: list[float | None], better: Better,
             baseline_points: int, baseline: tuple[str, str] | None,
             floor: float | None = None, ceiling: float | None = None,
             unsettled: Sequence[str] = ()) -> tuple[Segment, list[XmrPoint]]:
    """One segment's limits and rules. `unsettled` are its months whose figures are not final
    yet (the chart's last, `xmr`'s `provisional`): no baseline reads them, and none is called
    a month with no value."""
    n = len(values)
    settled = n - len(unsettled)  # the months before those not final
    # Every limit and every comparison with one is worked from the months as written, exactly
    # (`as_written`): a month of 12.52% on an upper limit of exactly 7.2 + 2.66 x 2.0 = 12.52
    # was beyond the floats' 12.519999999999998, a special cause; a moving range of exactly
    # 3.267 times the mean was kept below the floats' product, the limits too wide. A month
    # that is an `Exact` (a share, 10 of 30) is the number it stands for, 100/3, not the
    # decimal of the float nearest it (`xmr`).
    exact = [None if v is None else as_written(v) for v in values]
    exact_ranges = [None if i == 0 or a is None or b is None else abs(b - a)
                    for i, (a, b) in enumerate(zip([None, *exact], exact, strict=False))]
    ranges = [None if r is None else _carried(r) for r in exact_ranges]
    bare = [XmrPoint(m, None if v is None else float(v), r)
            for m, v, r in zip(months, values, ranges, strict=True)]

    def without(note: str, span: tuple[str, str] | None = None) -> tuple[Segment, list]:
        return (Segment(months[0], months[-1], span, None, None, None, None, None, None,
                        note=note), bare)

    if baseline is not None:
        if baseline[1] > months[-1]:
            return without(f"no limits: the baseline {baseline[0]} to {baseline[1]} runs past "
                           f"{months[-1]}, where the limits are recalculated or the series ends")
        if baseline[0] < months[0]:  # the months named start before the first value
            before, month = [], Month.parse(baseline[0])
            while str(month) < months[0] and str(month) <= baseline[1]:
                before.append(str(month))
                month += 1
            return without(f"no limits: the baseline ({baseline[0]} to {baseline[1]}) has no "
                           "value for " + ", ".join(before), baseline)
        base_idx = [i for i, m in enumerate(months) if baseline[0] <= m <= baseline[1]]
        # The months named are the only ones the limits may come from: one not final yet
        # leaves none (the limits never come from other months than those named).
        named = [months[i] for i in base_idx if i >= settled]
        if named:
            return without(f"no limits: the baseline ({baseline[0]} to {baseline[1]}) holds "
                           f"{', '.join(named)}, whose figures are not final yet", baseline)
    elif settled == 0:
        return without(f"no limits: the months from {months[0]} are not final yet")
    else:
        base_idx = list(range(min(settled, baseline_points)))
    span = (months[base_idx[0]], months[base_idx[-1]])
    missing = [months[i] for i in base_idx if values[i] is None]
    if missing:
        return without(f"no limits: the baseline ({span[0]} to {span[1]}) has no value for "
                       + ", ".join(missing), span)
    if len(base_idx) < MIN_LIMIT_POINTS:
        final = " whose figures are final" if unsettled else ""
        return without(f"no limits: {len(base_idx)} month{final}, and a moving range needs "
                       f"{MIN_LIMIT_POINTS}", span)
    trial = len(base_idx) < baseline_points
    base = [v for v in (exact[i] for i in base_idx) if v is not None]
    moving = [r for r in (exact_ranges[i] for i in base_idx[1:]) if r is not None]
    assert len(base) == len(moving) + 1 == len(base_idx), "the baseline has every value"
    # The exact mean of the months as written: twelve months of 0.7 have the mean 0.7, where
    # fsum / 12 gives 0.6999999999999998 and limits collapsed on it read a target of 0.7 as
    # "consistently fails" beside months that each meet it.
    centre = sum(base, Fraction(0)) / len(base)
    moving_range, screened = _screened_mean_range(moving, [months[i] for i in base_idx[1:]])
    if not moving_range:
        return without(_no_spread(span), span)
    top, bottom = centre + _LIMIT * moving_range, centre - _LIMIT * moving_range
    top2, bottom2 = centre + _SIGMA2 * moving_range, centre - _SIGMA2 * moving_range
    if floor is not None:
        bottom, bottom2 = max(bottom, as_written(floor)), max(bottom2, as_written(floor))
    if ceiling is not None:
        top, top2 = min(top, as_written(ceiling)), min(top2, as_written(ceiling))
    # Carried as figures (each the float nearest it, keeping the number: `rounding.Exact`).
    mean, mr = _carried(centre), _carried(moving_range)
    upper, lower, upper2, lower2 = (_carried(x) for x in (top, bottom, top2, bottom2))

    fired: list[dict[str, bool]] = [{} for _ in range(n)]  # rule -> True if high / rising
    for i, v in enumerate(exact):
        if v is not None and (v > top or v < bottom):
            fired[i][LIMITS] = v > top
    trends = []
    for high in (True, False):
        side = [v is not None and (v > centre if high else v < centre) for v in exact]
        for start, end in _runs(side):
            if end - start + 1 >= RUN:
                for i in range(start, end + 1):
                    fired[i][SHIFT] = high
        # A trend of 7 points is 6 strict steps in one direction between consecutive months.
        step = [False] + [a is not None and b is not None and (b > a if high else b < a)
                          for a, b in zip(exact, exact[1:], strict=False)]
        trends += [(start - 1, end, high) for start, end in _runs(step)
                   if end - start + 2 >= RUN]
        # Two of three months close to the limits (beyond 2 sigma but not outside the
        # limits, which is a special cause of its own) count only when all three are on that
        # side of the mean (Making Data Count; NHSRplotthedots' close_to_limits and
        # ptd_two_in_three).
        beyond = [v is not None and (top2 < v <= top if high else bottom <= v < bottom2)
                  for v in exact]
        for i in range(n - 2):
            triple = range(i, i + 3)
            if all(side[j] for j in triple) and sum(beyond[j] for j in triple) >= 2:
                for j in triple:
                    if beyond[j]:
                        fired[j][TWO_IN_THREE] = high
    # A peak or trough ends one trend and starts the next: it belongs to the later trend, so
    # trends are marked in time order and the later one writes last.
    for first, last, high in sorted(trends):
        for i in range(first, last + 1):
            fired[i][TREND] = high
    points = []
    for point, rules, v in zip(bare, fired, exact, strict=True):
        rule = next((r for r in PRIORITY if r in rules), None)
        signal = _signal(better, rules[rule]) if rule else None
        points.append(XmrPoint(point.month, point.value, point.moving_range, rule, signal,
                               mean, lower, upper, rules[rule] if rule else None,
                               None if v is None else (v > centre) - (v < centre)))
    final = " whose figures are final" if unsettled and baseline is None else ""
    note = (f"trial limits: {len(base_idx)} months{final}, fewer than the {baseline_points} a "
            "baseline needs" if trial else None)
    return (Segment(months[0], months[-1], span, mean, mr, lower, upper, lower2, upper2,
                    trial, note, screened), points)


# Why a baseline whose months all have the same value gives no limits, in the words every
# face says it in: `kpi show`'s note (`_no_spread`) and the paper's sentence of the KPI
# (`paper.no_chart_sentence`).
NO_SPREAD = ("no variation (every month the same value), so the spread of the process is not "
             "known")


def _no_spread(span: tuple[str, str]) -> str:
    """Why a baseline whose mean moving range is 0 (every month the same value) gives no
    limits: limits of no width sit on the mean, and every later month off it read as a special
    cause. Twelve months of no death in custody, then one, read "special cause: concern,
    outside the process limits". The spread of a process that has not varied is not known, so
    no month can be judged against it (NHSRplotthedots' screen leaves a flat baseline no moving
    range, and its limits are not numbers)."""
    return f"no limits: the baseline ({span[0]} to {span[1]}) has {NO_SPREAD}"


def no_spread(chart: Xmr | None) -> tuple[str, str] | None:
    """The baseline (first and last month) of a chart that has no limits now because that
    baseline has no variation (`_no_spread`), else None: the one test of that reason, for
    every face that says it beside a KPI with no process chart (the paper's paragraph, whose
    matrix files the KPI under "No process chart")."""
    if chart is None or chart.mean is not None or chart.baseline is None:
        return None
    return chart.baseline if chart.note == _no_spread(chart.baseline) else None


def _screened_mean_range(moving: list[Fraction], months: list[str]
                         ) -> tuple[Fraction, tuple[str, ...]]:
    """The mean moving range the limits are computed from, and the months whose moving range
    it leaves out: those at or above SCREEN_FACTOR times the mean of all of them, in one pass
    (NHSRplotthedots' ptd_spc_standard: keeps `mr < 3.267 * amr`, then takes the mean of those
    kept), exactly: a range of exactly 3.267 times the mean is left out. The screen leaves
    out a range only where a range above 0 is kept: a baseline of noughts but one month of 1
    has two ranges of 1 and nine of 0, and with the 1s left out its limits sat on the mean
    (0.083 to 0.083) and read 23 of its 24 months as special causes (NHSRplotthedots' limits
    there); the mean of every range (2 / 11) is the only spread the baseline shows. A
    baseline whose ranges are all 0 keeps them (mean 0, from which `_segment` gives no
    limits)."""
    everything = sum(moving, Fraction(0)) / len(moving)
    kept = [r for r in moving if r < _SCREEN * everything]
    if not any(kept):
        return everything, ()
    out = tuple(m for m, r in zip(months, moving, strict=True)
                if not r < _SCREEN * everything)
    return sum(kept, Fraction(0)) / len(kept), out


def _carried(exact: Fraction) -> float:
    """An exact statistic of a chart as a figure: the float nearest it, keeping the number it
    stands for (`rounding.Exact`); a float, never an int, whatever its size (past 2**53 the
    whole number of a mean would claim digits the months' floats do not hold)."""
    value = figure(exact)
    return float(value) if isinstance(value, int) else value


# ---------------------------------------------------------------------------------------------
# The verdict on a chart: variation, and assurance against a target

COMMON_CAUSE = "common_cause"
SPECIAL_IMPROVEMENT = "special_cause_improvement"
SPECIAL_CONCERN = "special_cause_concern"
SPECIAL_HIGH = "special_cause_neutral_high"
SPECIAL_LOW = "special_cause_neutral_low"
VARIATION_OF_SIGNAL = {IMPROVEMENT: SPECIAL_IMPROVEMENT, CONCERN: SPECIAL_CONCERN,
                       HIGH: SPECIAL_HIGH, LOW: SPECIAL_LOW}
CONSISTENTLY_PASS = "consistently_pass"
CONSISTENTLY_FAIL = "consistently_fail"
HIT_AND_MISS = "hit_and_miss"


@dataclass(frozen=True)
class Variation:
    """What the process chart says about the latest month (Making Data Count's variation
    icon): common cause, or the special cause the latest month is part of, with its rule; and
    the limits that apply now."""

    verdict: str
    rule: str | None
    mean: float
    lower: float
    upper: float
    points: int
    trial: bool
    baseline: tuple[str, str]
    high: bool | None = None  # the latest month's special cause ran high (or rising)


def variation(chart: Xmr) -> Variation | None:
    """The chart's verdict on its latest month with a value, or None when it has no limits."""
    latest = next((p for p in reversed(chart.points) if p.value is not None), None)
    if chart.mean is None or latest is None:
        return None
    assert (chart.lower_limit is not None and chart.upper_limit is not None
            and chart.baseline is not None), "a chart with a mean has its limits"
    if latest.rule:
        assert latest.signal is not None, "a rule that fired classes its signal"
        verdict = VARIATION_OF_SIGNAL[latest.signal]
    else:
        verdict = COMMON_CAUSE
    points = sum(p.value is not None for p in chart.points)
    return Variation(verdict, latest.rule, chart.mean, chart.lower_limit, chart.upper_limit,
                     points, chart.trial, chart.baseline, latest.high)


def assurance(target: float | None, chart: Xmr, better: Better) -> str | None:
    """Making Data Count assurance: a target outside the process limits will consistently be
    passed or failed; inside them it will be hit and missed by chance. None without a target,
    limits or a better direction (a neutral KPI has no pass or fail)."""
    if target is None or chart.mean is None or better == Better.NEUTRAL:
        return None
    assert chart.lower_limit is not None and chart.upper_limit is not None, \
        "a chart with a mean has its limits"
    passes_above = better == Better.HIGHER
    # exactly: a target on a limit is between them (the limits keep their numbers, Exact)
    if as_written(chart.lower_limit) > as_written(target):
        return CONSISTENTLY_PASS if passes_above else CONSISTENTLY_FAIL
    if as_written(chart.upper_limit) < as_written(target):
        return CONSISTENTLY_FAIL if passes_above else CONSISTENTLY_PASS
    return HIT_AND_MISS


def judged(value: float | None, target: float | None, chart: Xmr | None,
           better: Better, window: tuple[str, str] | None = None
           ) -> tuple[bool | None, str | None]:
    """Whether the current figure meets its target (`target_met`) and the process's assurance
    against it (`assurance`): the one place the verdicts on a target are made. `window` is the
    first and last month the figure reads.

    The assurance is where the target sits against the limits that apply now. The figure
    overrules them in one case only: limits that say the target will consistently be passed
    while the figure misses it (or consistently failed while it meets it), where every month
    the figure reads is one the limits are drawn for (`describes`), no longer describe the
    process the figure comes from: its months ran outside them (narrow limits of a baseline that
    hardly varied, then a step). The process has then both met and
    missed the target, and its assurance is hit and miss. A figure holding months the limits
    do not describe overrules nothing: 18 months at 75% then 6 at 97% from a recalculation
    have limits 93.3% to 100%, and a target of 90% is consistently passed though the 12
    months' figure, 86.0%, misses it (it printed "hit and miss"); a charge rate at 29% and 31%
    has limits 24.7% to 35.3%, and a target of 24% is consistently passed though the year's
    figure, 23.7%, misses it only by its last 3 months, not final yet at 5% (it printed "hit
    and miss")."""
    met = target_met(value, target, better)
    said = assurance(target, chart, better) if chart is not None else None
    if chart is not None and describes(chart, window) and (
            (said == CONSISTENTLY_PASS and met is False) or (said == CONSISTENTLY_FAIL and met)):
        said = HIT_AND_MISS
    return met, said


def describes(chart: Xmr, window: tuple[str, str] | None) -> bool:
    """Whether the limits that apply now are drawn for every month of a figure's `window`
    (first and last month): none of its months is before the limits were last recalculated
    (`spc_rebase`: months of the process before the step), and none is one the chart leaves
    out as not final yet (`provisional_months`). Only such a figure can overrule the limits
    (`judged`); True without a window."""
    if window is None:
        return True
    first, last = window
    if len(chart.segments) > 1 and chart.segments[-1].start > first:
        return False
    return not any(first <= month <= last for month in chart.provisional)


def target_met(value: float | None, target: float | None, better: Better) -> bool | None:
    """Whether a value meets its target: at or above it when higher is better, at or below
    when lower is; None without a value, a target or a better direction."""
    if value is None or target is None or better == Better.NEUTRAL:
        return None
    return value >= target if better == Better.HIGHER else value <= target
