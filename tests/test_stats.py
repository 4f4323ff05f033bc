"""Signal or noise (kpi.stats): significance tests checked against SciPy and hand-computed
cases, XmR rules on hand-built series, and the Signal section of `kpi show`."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi import stats
from kpi.catalogue import Better, Kind, KpiDef, Unit
from kpi.engine import KpiResult, Measured, Outcome, change_between, status_of
from kpi.periods import Month, Window

scipy_stats = pytest.importorskip("scipy.stats")  # the test extra installs it: an oracle only

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXTRACT = FIXTURES / "mini" / "extracts" / "crimes.csv"
DOCS = Path(__file__).resolve().parent.parent / "docs"


def scipy_poisson_p(n1: int, t1: float, n2: int, t2: float) -> float:
    """Twice the smaller one-sided binomtest p-value, capped at 1."""
    n = n1 + n2
    p = t1 / (t1 + t2)
    less = scipy_stats.binomtest(n1, n, p, alternative="less").pvalue
    greater = scipy_stats.binomtest(n1, n, p, alternative="greater").pvalue
    return min(1.0, 2 * min(less, greater))


# ---------------------------------------------------------------------------------------------
# Poisson counts


@pytest.mark.parametrize(("n1", "t1", "n2", "t2"), [
    (361, 12, 321, 12), (95, 12, 107, 12), (10, 12, 20, 12), (1, 12, 0, 12), (30, 6, 40, 12),
    (7, 5, 2, 5), (4000, 12, 4200, 12), (9999, 12, 1, 12),
])
def test_poisson_exact_matches_scipy(n1, t1, n2, t2):
    result = stats.poisson_test(n1, t1, n2, t2)
    assert result.test == stats.POISSON_EXACT
    assert result.p_value == pytest.approx(scipy_poisson_p(n1, t1, n2, t2), rel=1e-9, abs=1e-300)
    assert result.significant == (result.p_value < 0.05)
    if n2:
        assert result.statistic == pytest.approx((n1 / t1) / (n2 / t2))


def test_poisson_hand_computed_cases():
    # 5 against 0 in equal windows: P(X >= 5 | n = 5, p = 1/2) = 1/32, doubled.
    assert stats.poisson_test(5, 12, 0, 12).p_value == pytest.approx(2 / 32)
    # 0 against 3: P(X <= 0) = 1/8, doubled.
    assert stats.poisson_test(0, 12, 3, 12).p_value == pytest.approx(0.25)
    # 2 against 2: both tails are 11/16; doubled it passes 1, and is capped.
    assert stats.poisson_test(2, 12, 2, 12).p_value == 1.0
    nothing = stats.poisson_test(0, 12, 0, 12)
    assert (nothing.p_value, nothing.significant, nothing.note) == (1.0, False,
                                                                     "no events in either window")


@pytest.mark.parametrize(("n1", "t1", "n2", "t2"), [
    (5100, 12, 5000, 12), (5000, 12, 5300, 12), (6000, 12, 5000, 12), (5050, 12, 4960, 12),
    # a short window against a long one: the normal approximation that stood here read
    # 0.0496, significant, where the test is 0.0513
    (1012, 1200, 18988, 24000),
    # a small part against the rest pooled (kpi compare): 0.016 where the test is 0.0185
    (231, 20_000, 9819, 1_000_000),
    (40, 1, 20_000, 500), (10_001, 1, 0, 3), (0, 7, 10_001, 5), (5001, 6, 5000, 6),
    (2_000_000, 12, 2_003_000, 12), (150_000, 1, 4_000_000, 30),
])
def test_poisson_above_the_limit_is_exact_as_below(n1, t1, n2, t2):
    result = stats.poisson_test(n1, t1, n2, t2)
    assert n1 + n2 > stats.EXACT_LIMIT and result.test == stats.POISSON_EXACT
    # twice the smaller tail, by the documented definition (scipy's binomial)
    exact = scipy_poisson_p(n1, t1, n2, t2)
    assert result.p_value == pytest.approx(exact, rel=1e-9, abs=1e-300)
    assert result.significant == (exact < 0.05)


@settings(max_examples=40, deadline=None)
@given(st.integers(10_001, 60_000), st.floats(0.001, 0.999))
def test_poisson_above_the_limit_is_the_tails_summed(n, share):
    """Past EXACT_LIMIT each term comes from its neighbour by their ratio: the same p as
    every term from lgamma (`_binomial_tails`), however skewed the two windows."""
    k = int(n * share)
    p = share ** 0.5 if k % 2 else share
    lower, upper = stats._binomial_tails(k, n, p)
    assert stats._large_binomial_p(k, n, p) == pytest.approx(
        min(1.0, 2 * min(lower, upper)), rel=1e-9, abs=1e-300)


def test_a_count_past_the_most_events_the_test_sums_is_not_tested():
    """10^14 events a window asked 17 GiB of terms, and the system stopped kpi with no word
    (exit 137): past MAX_EVENTS the change is not tested, the note saying why; at it, the
    test sums its 2 million or so terms (an even split of 10^10: p = 1)."""
    big = stats.poisson_test(6 * 10**13, 12, 6 * 10**13 + 1, 12)
    assert (big.test, big.p_value, big.significant) == (stats.NOT_TESTED, None, None)
    assert big.note == ("120,000,000,000,001 events in the two windows, more than the exact "
                        "test sums (10,000,000,000): a count of this size is not tested")
    at = stats.poisson_test(5 * 10**9, 12, 5 * 10**9, 12)
    assert at.test == stats.POISSON_EXACT and at.p_value == 1.0


@given(st.integers(0, 400), st.integers(0, 400), st.integers(1, 24), st.integers(1, 24))
def test_poisson_p_is_a_probability_and_symmetric(n1, n2, t1, t2):
    forward = stats.poisson_test(n1, t1, n2, t2).p_value
    assert 0.0 <= forward <= 1.0
    assert forward == pytest.approx(stats.poisson_test(n2, t2, n1, t1).p_value, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# Two proportions


def test_proportions_hand_computed():
    # 60/100 against 40/100: pooled 0.5, se = sqrt(0.25 * 0.02), z = 0.2 / se = 2*sqrt(2),
    # and the two-sided p-value is erfc(z / sqrt(2)) = erfc(2).
    result = stats.proportion_test(60, 100, 40, 100)
    assert result.statistic == pytest.approx(2 * math.sqrt(2))
    assert result.p_value == pytest.approx(0.004677734981047266)
    assert result.significant is True
    assert stats.proportion_test(40, 100, 60, 100).statistic == pytest.approx(-2 * math.sqrt(2))


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [
    (182, 361, 158, 321), (12, 24, 12, 36), (900, 1000, 850, 1000), (3, 40, 9, 41),
])
def test_proportions_match_the_normal_distribution(x1, n1, x2, n2):
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    result = stats.proportion_test(x1, n1, x2, n2)
    assert result.statistic == pytest.approx(z)
    assert result.p_value == pytest.approx(2 * scipy_stats.norm.sf(abs(z)))


def test_proportions_degenerate_cases():
    assert stats.proportion_test(0, 10, 0, 20).p_value == 1.0
    assert stats.proportion_test(5, 0, 1, 3).test == stats.NOT_TESTED
    assert "part of the denominator" in stats.proportion_test(12, 10, 1, 3).note
    assert "rough" in stats.proportion_test(1, 10, 3, 10).note


# ---------------------------------------------------------------------------------------------
# Which test a KPI gets

YE25 = Window.year_ending(Month.parse("2025-09"))
YE24 = Window.year_ending(Month.parse("2024-03"))
COUNT = KpiDef("k", "K", "p", Kind.COUNT, Unit.COUNT, Better.LOWER, dataset="d")


def result_of(kpi: KpiDef, current: Measured, comparison: Measured | None) -> KpiResult:
    change = change_between(kpi, current.value, comparison.value if comparison else None)
    return KpiResult(kpi, status_of(kpi, change) if change else Outcome.NO_DATA, current,
                     comparison, change)


def test_a_count_gets_the_poisson_test():
    got = stats.significance(result_of(COUNT, Measured(YE25, 361.0), Measured(YE24, 321.0)))
    assert got.test == stats.POISSON_EXACT
    assert got.p_value == pytest.approx(scipy_poisson_p(361, 12, 321, 12))


def test_a_count_of_events_is_decided_by_its_rows_not_its_totals():
    """`stats.count_of_events`, the one rule of every test of a count and of its parts: a
    count of rows is one; a count of a `value` is one only where no row of the windows read
    is a value that is not a whole number of at least 0 (UNCOUNTED 0, and known): 400 rows
    of 1.5 total 600, a whole number, and are none. A multiplier, or a total that is no whole
    number or is below 0, is none either; without windows, the KPI's definition alone."""
    valued = dataclasses.replace(COUNT, value="hours")
    whole, halves = Measured(YE25, 600, uncounted=0), Measured(YE25, 600, uncounted=400)
    assert stats.count_of_events(COUNT, [Measured(YE25, 361), Measured(YE24, 321)])
    assert stats.count_of_events(valued, [whole, whole])
    assert not stats.count_of_events(valued, [whole, halves])
    assert not stats.count_of_events(valued, [whole, Measured(YE24, 600)])  # rows unchecked
    assert not stats.count_of_events(valued, [whole, Measured(YE24, -3, uncounted=0)])
    assert not stats.count_of_events(valued, [whole, Measured(YE24, 2.5, uncounted=0)])
    assert not stats.count_of_events(dataclasses.replace(COUNT, multiplier=2.0), [whole])
    assert stats.count_of_events(valued, None)
    assert not stats.count_of_events(dataclasses.replace(COUNT, unit=Unit.PERCENT), None)
    # The summary's test asks it: the same totals tested as events, or not at all.
    tested = stats.significance(result_of(valued, Measured(YE25, 600, uncounted=0),
                                          Measured(YE24, 540, uncounted=0)))
    assert tested.p_value == pytest.approx(scipy_poisson_p(600, 12, 540, 12))
    untested = stats.significance(result_of(valued, Measured(YE25, 600, uncounted=400),
                                            Measured(YE24, 540, uncounted=0)))
    assert untested.test == stats.NOT_TESTED and untested.note == stats.NOT_EVENTS


def test_windows_that_share_months_are_not_tested_as_two_samples():
    """The year ending September against the year ending August (`--vs previous`) share 11
    months: the Poisson test read 299,579 against 300,261 crimes as two samples, "not
    significant (p = 0.379)", where the change, -682, is September 2025's 25,637 against
    September 2024's 26,319 (p = 0.003 on those two months alone). Windows that share months
    are not tested, saying which; windows apart (yoy) still are."""
    august = YE25.shift(-1)
    got = stats.significance(result_of(COUNT, Measured(YE25, 299_579.0),
                                       Measured(august, 300_261.0)))
    assert got.test == stats.NOT_TESTED and got.p_value is None
    assert f"share 11 months, {YE25.start} to {august.end}" in got.note
    # A baseline year ending inside the current one shares its last months.
    assert "share the month" in stats.significance(result_of(
        COUNT, Measured(YE25, 361.0), Measured(YE25.shift(-11), 321.0))).note
    assert stats.significance(result_of(COUNT, Measured(YE25, 361.0),
                                        Measured(YE25.shift(-12), 321.0))).test \
        == stats.POISSON_EXACT


def test_a_rate_gets_the_proportion_test():
    rate = dataclasses.replace(COUNT, kind=Kind.RATE, unit=Unit.PERCENT, numerator="x")
    got = stats.significance(result_of(rate, Measured(YE25, 50.0, 12, 24, 0, 0),
                                       Measured(YE24, 100 / 3, 12, 36, 0, 0)))
    assert got.test == stats.TWO_PROPORTIONS
    assert got.p_value == pytest.approx(stats.proportion_test(12, 24, 12, 36).p_value)
    # Windows whose rows were not checked against the rule (no count of rows outside) are
    # not taken as proportions.
    unchecked = stats.significance(result_of(rate, Measured(YE25, 50.0, 12, 24),
                                             Measured(YE24, 100 / 3, 12, 36)))
    assert unchecked.test == stats.NOT_TESTED and "not checked" in unchecked.note


@pytest.mark.parametrize(("change", "current", "reason"), [
    ({"kind": Kind.MEDIAN, "unit": Unit.DAYS}, Measured(YE25, 31.0), "median"),
    ({"kind": Kind.MEAN, "unit": Unit.SECONDS}, Measured(YE25, 9.5, 95, 10), "mean"),
    ({"kind": Kind.SUM, "unit": Unit.GBP}, Measured(YE25, 1000.0), "sum of amounts"),
    ({"kind": Kind.WEIGHTED_SCORE, "unit": Unit.SCORE}, Measured(YE25, 50.0), "harm score"),
    ({"kind": Kind.RATIO_OF_RATES, "unit": Unit.RATIO}, Measured(YE25, 2.1, 5, 9), "ratio"),
    ({"kind": Kind.PER_1000, "unit": Unit.PER_1000}, Measured(YE25, 4.0), "population"),
    ({"kind": Kind.SNAPSHOT, "unit": Unit.COUNT}, Measured(YE25, 7000.0), "stock"),
    ({"kind": Kind.SNAPSHOT, "unit": Unit.PERCENT, "numerator": "x"},
     Measured(YE25, 20.0, 20, 100), "independent"),
    ({"multiplier": 2.0}, Measured(YE25, 10.0), "whole counts"),
    ({}, Measured(YE25, 10.5), "whole counts"),
])
def test_what_is_not_tested_says_why(change, current, reason):
    kpi = dataclasses.replace(COUNT, **change)
    got = stats.significance(result_of(kpi, current, Measured(YE24, current.value,
                                                              current.numerator,
                                                              current.denominator)))
    assert (got.test, got.p_value, got.significant) == (stats.NOT_TESTED, None, None)
    assert reason in got.note


def test_no_comparison_is_not_tested():
    got = stats.significance(result_of(COUNT, Measured(YE25, 361.0), None))
    assert got.test == stats.NOT_TESTED and "comparison" in got.note


# ---------------------------------------------------------------------------------------------
# XmR: baseline 10, 12, 10, 12 ... has mean 11 and every moving range 2, so the process limits
# are 11 ± 5.32 (5.68, 16.32) and the 2-sigma lines 11 ± 3.546 (7.454, 14.546).

BASE = [10.0, 12.0] * 6


def chart(tail: list[float | None], better: Better = Better.LOWER) -> stats.Xmr:
    values = BASE + tail
    months = [str(Month.parse("2023-10") + i) for i in range(len(values))]
    return stats.xmr(months, values, better)


def fired(result: stats.Xmr) -> list[tuple[int, str, str]]:
    """(index after the baseline, rule, class) of each signal."""
    return [(i - len(BASE), p.rule, p.signal) for i, p in enumerate(result.points) if p.rule]


def test_baseline_mean_and_limits():
    got = chart([])
    assert got.mean == pytest.approx(11) and got.mean_moving_range == pytest.approx(2)
    assert (got.lower_limit, got.upper_limit) == pytest.approx((5.68, 16.32))
    assert (got.lower_2sigma, got.upper_2sigma) == pytest.approx((7.454, 14.546))
    assert got.baseline == ("2023-10", "2024-09") and got.signals == ()
    assert [p.moving_range for p in got.points] == [None] + [2.0] * 11


def test_baseline_is_the_first_12_months_only():
    # Points after the baseline do not move the mean or the limits.
    assert chart([100.0, 100.0]).mean == pytest.approx(11)


def test_outside_the_limits_fires_once():
    assert fired(chart([11.0, 20.0, 11.0])) == [(1, "limits", "concern")]
    assert fired(chart([11.0, 5.0, 11.0])) == [(1, "limits", "improvement")]


def test_trend_of_seven_fires_once():
    got = fired(chart([8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0]))
    assert got == [(i, "trend", "concern") for i in range(7)]
    # Six points rising is not a trend, nor is a tie inside seven.
    assert fired(chart([9.0, 10.0, 11.0, 12.0, 13.0, 14.0])) == []
    assert fired(chart([8.0, 9.0, 10.0, 10.0, 12.0, 13.0, 14.0])) == []


def test_two_of_three_beyond_two_sigma_fires_once():
    assert fired(chart([15.0, 12.0, 15.0], Better.HIGHER)) == [
        (0, "two_in_three", "improvement"), (2, "two_in_three", "improvement")]
    # Two beyond 2 sigma on opposite sides is not the rule.
    assert fired(chart([15.0, 11.0, 7.0])) == []


def test_shift_of_seven_fires_once():
    assert fired(chart([11.0] + [12.5] * 7)) == [(i, "shift", "concern") for i in range(1, 8)]
    assert fired(chart([11.0] + [12.5] * 6)) == []


def test_a_point_on_the_mean_breaks_a_shift():
    assert fired(chart([11.0] + [12.5] * 3 + [11.0] + [12.5] * 3)) == []
    assert len(fired(chart([11.0] + [12.5] * 3 + [12.5] + [12.5] * 3))) == 7


def test_priority_limits_over_shift():
    got = fired(chart([11.0] + [12.5] * 3 + [20.0] + [12.5] * 3))
    assert [rule for _, rule, _ in got] == ["shift"] * 3 + ["limits"] + ["shift"] * 3


def test_priority_limits_over_trend():
    got = fired(chart([8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 17.0]))
    assert [rule for _, rule, _ in got] == ["trend"] * 6 + ["limits"]


def test_priority_trend_over_two_in_three():
    got = fired(chart([8.0, 9.0, 10.0, 11.0, 12.0, 15.0, 16.0]))
    assert [rule for _, rule, _ in got] == ["trend"] * 7


def test_priority_trend_over_shift():
    # Rising from the mean and above it throughout: a shift of 7 and a trend of 8.
    got = fired(chart([11.0, 11.5, 12.0, 12.5, 13.0, 13.5, 14.0, 14.2]))
    assert [rule for _, rule, _ in got] == ["trend"] * 8


def test_priority_two_in_three_over_shift():
    got = fired(chart([11.0, 12.0, 12.0, 15.0, 15.0, 12.0, 12.0, 12.0]))
    assert [rule for _, rule, _ in got] == (["shift"] * 2 + ["two_in_three"] * 2
                                             + ["shift"] * 3)


def test_neutral_kpis_signal_high_or_low():
    # A KPI with no better direction has no improvement or concern: its special causes are
    # high or low (NHSRplotthedots' special_cause_neutral_high and _low).
    assert fired(chart([11.0, 20.0], Better.NEUTRAL)) == [(1, "limits", "high")]
    assert fired(chart([11.0, 2.0], Better.NEUTRAL)) == [(1, "limits", "low")]
    assert stats.variation(chart([11.0, 2.0], Better.NEUTRAL)).verdict == stats.SPECIAL_LOW


def test_two_in_three_needs_all_three_on_one_side_of_the_mean():
    # Two months beyond the upper 2-sigma line (14.546) with the month between them below
    # the mean (11): not two-in-three (NHSRplotthedots' ptd_two_in_three).
    assert fired(chart([15.0, 10.0, 15.0])) == []
    # The same with the middle month above the mean: two-in-three.
    assert fired(chart([15.0, 12.0, 15.0])) == [(0, "two_in_three", "concern"),
                                                 (2, "two_in_three", "concern")]


def test_a_trough_shared_by_two_trends_belongs_to_the_later_one():
    # Wide limits from the first months, then seven falling months and seven rising ones
    # sharing the trough (index 12): it belongs to the rising trend (NHSRplotthedots uses the
    # right side), so it reads as improvement when higher is better.
    values = [17.0, 24.0, 10.0, 24.0, 10.0, 17.0, 20.0, 19.0, 18.0, 17.0, 16.0, 15.0, 14.0,
              15.0, 16.0, 17.0, 18.0, 19.0, 20.0]
    months = [str(Month.parse("2023-10") + i) for i in range(len(values))]
    points = stats.xmr(months, values, Better.HIGHER).points
    assert [p.rule for p in points[6:19]] == ["trend"] * 13
    assert points[12].signal == "improvement" and points[12].high
    assert points[11].signal == "concern" and points[13].signal == "improvement"


def test_limits_stop_at_zero_and_at_one_hundred():
    noisy = [0.0, 9.0] * 6
    months = [str(Month.parse("2023-10") + i) for i in range(12)]
    free = stats.xmr(months, noisy, Better.LOWER)
    assert free.lower_limit < 0
    bounded = stats.xmr(months, noisy, Better.LOWER, floor=0.0, ceiling=10.0)
    assert bounded.lower_limit == 0.0 and bounded.lower_2sigma == 0.0
    assert bounded.upper_limit == 10.0 and bounded.mean == free.mean


def test_fewer_than_12_points_gives_trial_limits_from_all_of_them():
    # Six months 10, 12, ...: mean 11, moving ranges all 2, so the same limits as a full
    # baseline of that pattern, labelled trial.
    got = stats.xmr([f"2025-{m:02d}" for m in range(1, 7)], BASE[:6], Better.LOWER)
    assert got.trial and got.baseline == ("2025-01", "2025-06")
    assert (got.mean, got.lower_limit, got.upper_limit) == pytest.approx((11, 5.68, 16.32))
    assert got.note == "trial limits: 6 months, fewer than the 12 a baseline needs"
    # One month has no moving range, so no limits at all.
    one = stats.xmr(["2025-01"], [4.0], Better.LOWER)
    assert one.mean is None and one.note == "no limits: 1 month, and a moving range needs 2"
    assert stats.xmr([], [], Better.LOWER).points == ()


def test_a_missing_baseline_month_gives_no_limits_with_the_reason():
    values: list[float | None] = list(BASE)
    values[5] = None
    months = [str(Month.parse("2024-01") + i) for i in range(12)]
    got = stats.xmr(months, values, Better.LOWER)
    assert got.mean is None
    assert got.note == "no limits: the baseline (2024-01 to 2024-12) has no value for 2024-06"


def test_a_baseline_with_no_variation_gives_no_limits_and_no_special_cause():
    """Twelve months of no death in custody, then 1, 0, 0, 2, ...: every baseline moving range
    is 0, so limits 2.66 x 0 either side of the mean 0 sat on it, and each later month of 1
    or 2 read "outside the process limits", a special cause of concern. With no spread
    known, the chart has no limits, no special cause, no variation verdict and no assurance,
    and says why."""
    values = [0.0] * 12 + [1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    months = [str(Month.parse("2024-01") + i) for i in range(24)]
    got = stats.xmr(months, values, Better.LOWER, floor=0.0)
    assert (got.mean, got.lower_limit, got.upper_limit, got.mean_moving_range) == (None,) * 4
    assert got.signals == () and stats.variation(got) is None
    assert stats.assurance(0.0, got, Better.LOWER) is None
    assert got.note == ("no limits: the baseline (2024-01 to 2024-12) has no variation (every "
                        "month the same value), so the spread of the process is not known")
    # The same value every month of 95.0%: no limits either, whatever follows.
    flat = stats.xmr(months, [95.0] * 12 + [85.0] * 12, Better.HIGHER)
    assert flat.mean is None and flat.signals == () and flat.note is not None


def test_a_baseline_varying_only_in_ranges_the_screen_would_leave_out_is_not_screened():
    """Noughts but one month of 1 (June): its two moving ranges of 1 against a mean of 2 / 11
    are each at or above 3.267 x 2 / 11 = 0.59, and left out they left a mean moving range of
    0: limits on the mean, 1 / 12 = 0.083 to 0.083, and every month of 0 after read "below the
    lower process limit", 23 of 24 months special causes. The screen leaves a range out only
    where a range above 0 is kept, so the mean moving range is 2 / 11 and the limits 0 (the
    floor) to 1 / 12 + 2.66 x 2 / 11 = 0.567, by hand: June is the one month outside them,
    and the 18 months of 0 after it, below the mean, are a shift (the first five, too few)."""
    from fractions import Fraction

    values = [0.0] * 5 + [1.0] + [0.0] * 18
    months = [str(Month.parse("2024-01") + i) for i in range(24)]
    got = stats.xmr(months, values, Better.LOWER, floor=0.0)
    assert got.mean_moving_range == float(Fraction(2, 11))
    assert got.segments[-1].screened == ()
    assert (got.lower_limit, got.upper_limit) == (
        0.0, float(Fraction(1, 12) + Fraction("2.66") * Fraction(2, 11)))
    assert fired_at(got) == [("2024-06", stats.LIMITS, stats.CONCERN)] + [
        (m, stats.SHIFT, stats.IMPROVEMENT) for m in months[6:]]
    # A baseline varying in a range the screen keeps is screened as ever: 0, then ten of 1,
    # then 6 has the ranges 1, nine of 0 and 5 (mean 6 / 11, the screen 1.78: the 5 is left
    # out, the 1 kept), so the mean moving range is 1 / 10 and the limits 0.266 about 16 / 12.
    step = [0.0] + [1.0] * 10 + [6.0]
    kept = stats.xmr(months[:12], step, Better.LOWER)
    assert kept.mean_moving_range == 0.1 and kept.segments[-1].screened == ("2024-12",)
    assert kept.upper_limit == pytest.approx(16 / 12 + 0.266)


def fired_at(chart: stats.Xmr) -> list[tuple[str, str | None, str | None]]:
    return [(p.month, p.rule, p.signal) for p in chart.points if p.rule]


def test_a_flat_segment_after_a_recalculation_has_no_limits_the_one_before_keeps_its_own():
    """Limits are a segment's own: a flat stretch after `spc_rebase` has none (and no special
    cause), while the segment before keeps the limits of its varying baseline (10, 12, ...:
    5.68 to 16.32)."""
    values = BASE + [7.0] * 12
    months = [str(Month.parse("2023-10") + i) for i in range(24)]
    got = stats.xmr(months, values, Better.LOWER, rebase=["2024-10"])
    first, last = got.segments
    assert (first.lower_limit, first.upper_limit) == pytest.approx((5.68, 16.32))
    assert last.mean is None and last.note is not None and "no variation" in last.note
    assert got.mean is None and stats.variation(got) is None and got.signals == ()


def test_a_missing_month_has_no_moving_range_and_breaks_runs():
    got = chart([11.0] + [12.5] * 3 + [None] + [12.5] * 3)
    assert fired(got) == []
    ranges = [p.moving_range for p in got.points[len(BASE):]]
    assert ranges == [1.0, 1.5, 0.0, 0.0, None, None, 0.0, 0.0]
    # Nor can a trend or two-in-three reach across the gap.
    assert fired(chart([8.0, 9.0, 10.0, None, 11.0, 12.0, 13.0, 14.0])) == []
    assert fired(chart([15.0, None, 15.0])) == []


# ---------------------------------------------------------------------------------------------
# kpi show: the Signal section, against DuckDB and SciPy


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    from kpi.catalogue import load_project
    from kpi.ingest import load

    root = tmp_path_factory.mktemp("stats") / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    load(load_project(root), "crimes")
    return root


def monthly_counts(where: str = "TRUE") -> list[tuple[str, int]]:
    con = duckdb.connect()
    return con.execute(f"""
        SELECT strftime(strptime(recorded, '%d/%m/%Y'), '%Y-%m') AS month, count(*)
        FROM read_csv('{EXTRACT}', all_varchar = true) WHERE {where}
        GROUP BY 1 HAVING month BETWEEN '2023-10' AND '2025-09' ORDER BY 1""").fetchall()


def show_json(cli, project: Path, *args: str) -> dict:
    result = cli(["--project", project, "show", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_show_signal_for_a_count_matches_duckdb_and_scipy(cli, project):
    signal = show_json(cli, project, "total_crime", "--period", "2025-09")["signal"]
    assert signal["test"] == "poisson_exact"
    assert signal["p_value"] == pytest.approx(scipy_poisson_p(361, 12, 321, 12), rel=1e-9)
    assert signal["significant"] is False
    base = [n for _, n in monthly_counts()][:12]
    xmr = signal["xmr"]
    assert xmr["baseline"] == ["2023-10", "2024-09"]
    assert xmr["mean"] == pytest.approx(sum(base) / 12)
    mr = sum(abs(b - a) for a, b in zip(base, base[1:], strict=False)) / 11
    assert xmr["mean_moving_range"] == pytest.approx(mr)
    assert xmr["upper_limit"] == pytest.approx(sum(base) / 12 + 2.66 * mr)
    assert xmr["lower_2sigma"] == pytest.approx(sum(base) / 12 - 1.773 * mr)


def test_show_signal_for_a_rate_and_a_median(cli, project):
    rate = show_json(cli, project, "positive_outcome_rate", "--period", "2025-09")
    assert rate["signal"]["test"] == "two_proportion_z"
    assert rate["signal"]["statistic"] == pytest.approx(
        stats.proportion_test(182, 361, 158, 321).statistic)
    median = show_json(cli, project, "median_days_to_outcome", "--period", "2025-09")
    # Null where no test applies, as the summary's significance.test; the note says why.
    assert median["signal"]["test"] is None and median["signal"]["p_value"] is None
    assert median["signal"]["note"]
    assert median["signal"]["xmr"]["mean"] is not None  # the chart still applies


def test_show_signal_with_a_short_trend_says_why(cli, project):
    """Trial limits where the chart the summary judges by has fewer than 12 months: the
    financial year to date of September 2023, the data's sixth month. `--months` chooses only
    the months the trend shows: six of them at September 2025 are read beside the summary's
    chart of 24 months, no trial (one verdict for a KPI at a period)."""
    signal = show_json(cli, project, "knife_crime", "--period", "2023-09", "--vs", "fytd")
    assert signal["signal"]["xmr"]["trial"] is True
    assert signal["signal"]["xmr"]["months"] == ["2023-04", "2023-09"]
    assert signal["signal"]["xmr"]["note"] == ("trial limits: 6 months, fewer than the 12 a "
                                               "baseline needs")
    shown = show_json(cli, project, "knife_crime", "--period", "2025-09", "--months", "6")
    assert shown["signal"]["xmr"]["trial"] is False
    assert shown["signal"]["xmr"]["months"] == ["2023-10", "2025-09"]
    assert len(shown["trend"]) == 6


def test_show_signal_lists_the_months_that_fired(cli, tmp_path):
    """July 2025 loaded four times over (108 crimes, limits 15.8 to 39.5): the chart names
    it, in the table and in JSON."""
    from kpi.catalogue import load_project
    from kpi.ingest import load

    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    lines = EXTRACT.read_text(encoding="utf-8").splitlines()
    july = [line.partition(",")[2] for line in lines[1:] if "/07/2025," in line]
    copies = [f"X{copy}{number:05d},{line}" for copy in range(3)  # new refs: they are unique
              for number, line in enumerate(july)]
    extra = root / "extracts" / "more.csv"
    extra.write_text("\n".join(lines + copies) + "\n", encoding="utf-8")
    load(load_project(root), "crimes", [str(extra)])
    doc = show_json(cli, root, "total_crime", "--period", "2025-09")
    # July is beyond the limits. September (37, above the 2-sigma line at 35.6) is the only
    # month of July to September close to the limits: July, outside them, is a special cause
    # of its own and not one of "two of three" (NHSRplotthedots' close_to_limits), so
    # September is common cause.
    assert doc["signal"]["xmr"]["signals"] == [
        {"month": "2025-07", "value": 108.0, "rule": "limits", "signal": "concern"}]
    table = cli(["--project", root, "show", "total_crime", "--period", "2025-09"]).stdout
    assert re.search(r"latest signal +2025-07: outside the process limits \(concern\)", table)
    assert re.search(r"special causes +2025-07: outside the process limits \(concern\)\n",
                     table)
    assert doc["kpi"]["variation"]["verdict"] == "common_cause"


def test_signal_json_keys_are_documented(cli, project):
    """Every key of the JSON 'signal' object is in docs/statistics.md's tables."""
    signal = show_json(cli, project, "total_crime", "--period", "2025-09")["signal"]
    text = (DOCS / "statistics.md").read_text(encoding="utf-8")
    keys = set(signal) | {f"xmr.{k}" for k in signal["xmr"]}
    keys |= {f"xmr.signals[].{k}" for k in ("month", "value", "rule", "signal")}
    assert [k for k in sorted(keys) if f"| `{k}` |" not in text] == []


def test_show_joins_consecutive_months_with_the_same_rule():
    from kpi.cli.show_command import _fired

    points = (stats.XmrPoint("2024-12", 1.0, None, "shift", "concern"),
              stats.XmrPoint("2025-01", 1.0, None, "shift", "concern"),
              stats.XmrPoint("2025-02", 9.0, None, "limits", "concern"),
              stats.XmrPoint("2025-03", 1.0, None, "shift", "concern"),
              stats.XmrPoint("2025-05", 1.0, None, "shift", "concern"))
    assert _fired(points) == [("2024-12 to 2025-01", "shift", "concern"),
                              ("2025-02", "limits", "concern"), ("2025-03", "shift", "concern"),
                              ("2025-05", "shift", "concern")]


# ---------------------------------------------------------------------------------------------
# Parts whose change stands out from the rest's, against numbers worked by hand


def _z_by_hand(x1, n1, x2, n2):
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return z, math.erfc(abs(z) / math.sqrt(2))


def test_a_part_that_rose_by_half_stands_out_from_two_that_did_not():
    # A: 100 -> 150; B and C: 100 -> 100. A's share of its events in the current window is
    # 150 / 250 = 0.6 against the rest's 200 / 400 = 0.5: pooled 350 / 650,
    # z = 0.1 / sqrt(0.5385 * 0.4615 * (1/250 + 1/400)) = 2.488, p = 0.0128 < 0.05 / 3.
    z, p = _z_by_hand(150, 250, 200, 400)
    assert z == pytest.approx(2.48806, abs=1e-5) and p == pytest.approx(0.012843, abs=1e-6)
    found = stats.standouts([("A", 150, 100), ("B", 100, 100), ("C", 100, 100)], 50)
    assert found is not None and found.tested == 3
    [a] = found.parts
    assert (a.part, a.current, a.comparison, a.rest_current, a.rest_comparison) == (
        "A", 150, 100, 200, 200)
    assert a.test.statistic == pytest.approx(z) and a.test.p_value == pytest.approx(p)
    assert a.change == pytest.approx(50.0) and a.rest_change == pytest.approx(0.0)
    # B against C is no difference at all, so the search stops there.
    assert found.rest == ("B", "C") and (found.rest_current, found.rest_comparison) == (200, 200)


def test_significant_alone_is_not_enough_once_the_parts_tested_are_allowed_for():
    # A: 100 -> 140: z = 2.045, p = 0.041 < 0.05, but not below 0.05 / 3 = 0.0167.
    z, p = _z_by_hand(140, 240, 200, 400)
    assert z == pytest.approx(2.04524, abs=1e-5) and 0.0167 < p < 0.05
    assert stats.part_vs_rest("A", 140, 100, 200, 200).test.significant
    assert stats.standouts([("A", 140, 100), ("B", 100, 100), ("C", 100, 100)], 50) is None


def test_one_part_far_out_does_not_make_the_others_stand_out():
    # A: 100 -> 400 and five parts at 100 -> 100. Tested against a rest that holds A, B alone
    # would stand out (p = 0.0019 < 0.05 / 6); once A is set aside the five are alike.
    _, p = _z_by_hand(100, 200, 800, 1300)
    assert p < 0.05 / 6
    parts = [("A", 400, 100), *[(name, 100, 100) for name in "BCDEF"]]
    found = stats.standouts(parts, 50)
    assert found is not None and [t.part for t in found.parts] == ["A"]
    assert found.rest == tuple("BCDEF") and found.tested == 6


def test_a_part_found_first_is_tested_again_against_the_rest_the_sentence_names():
    # A: 4,000 -> 3,200 (-20%); B and C: 2,000 -> 1,200 (-40%) each; D, E and F: 1,000 -> 770
    # (-23%) each. Against a rest that holds B and C (7,000 -> 4,710, -32.7%) A is 12.7 points
    # away with p = 1.1e-8, so the search sets it aside first; B and C follow. But the sentence
    # compares A with the parts left at the end, D, E and F (3,000 -> 2,310, -23.0%): 3 points,
    # under the floor of 5, and p = 0.294 against them, chance. So A goes back into the rest
    # and B and C are tested against A, D, E and F pooled: 7,000 -> 5,510 (-21.3%).
    z, p = _z_by_hand(3200, 7200, 4710, 11710)
    assert z == pytest.approx(5.71566, abs=1e-5) and p < 0.05 / 6
    _, p = _z_by_hand(3200, 7200, 2310, 5310)
    assert p == pytest.approx(0.29438, abs=1e-5)
    z, p = _z_by_hand(1200, 3200, 5510, 12510)
    assert z == pytest.approx(-6.67887, abs=1e-5) and p < 0.05 / 6
    parts = [("A", 3200, 4000), ("B", 1200, 2000), ("C", 1200, 2000),
             *((name, 770, 1000) for name in "DEF")]
    for floor in (5.0, 0.0):  # A's p-value against D, E and F alone sends it back too
        found = stats.standouts(parts, 50, min_points=floor)
        assert found is not None and found.tested == 6
        assert [t.part for t in found.parts] == ["B", "C"]
        assert found.rest == ("A", "D", "E", "F")
        assert (found.rest_current, found.rest_comparison) == (5510, 7000)
        for test in found.parts:  # each test is the one against the rest as printed
            assert (test.rest_current, test.rest_comparison) == (5510, 7000)
            assert test.test.statistic == pytest.approx(z) and test.test.p_value == pytest.approx(p)
            assert test.change == pytest.approx(-40.0)
        assert found.rest_change == pytest.approx(-21.285714)


def test_a_floor_is_met_by_the_gap_as_printed_to_one_decimal_place():
    # A: 10,000 -> 12,554 (+25.54%, printed +25.5%) against B to E: 10,000 -> 10,000 each
    # (0.0%). The gap the sentence shows is 25.5 points: a floor of 25.5 is met, one of 25.54
    # is not, though the unrounded gap would meet it.
    parts = [("A", 12_554, 10_000), *((name, 10_000, 10_000) for name in "BCDE")]
    assert stats.part_vs_rest("A", 12_554, 10_000, 40_000, 40_000).change == pytest.approx(25.54)
    assert stats.standouts(parts, 50, min_points=25.5) is not None
    assert stats.standouts(parts, 50, min_points=25.54) is None


def test_standouts_need_whole_counts_two_parts_and_a_base():
    assert stats.standouts([("A", 150.5, 100), ("B", 100, 100)], 50) is None
    assert stats.standouts([("A", 150, None), ("B", 100, 100)], 50) is None
    assert stats.standouts([("A", 150, 100), ("B", 0, 0)], 50) is None  # one part has events
    # A base below min_base gives no percentage worth naming, so no candidate.
    assert stats.standouts([("A", 30, 10), ("B", 100, 100), ("C", 100, 100)], 50) is None


# ---------------------------------------------------------------------------------------------
# Parts whose proportion stands out from the rest's, against numbers worked by hand


def test_a_part_whose_proportion_is_lower_stands_out_from_two_alike():
    # A: 60 of 100 against B and C: 80 of 100 each, so the rest is 160 of 200. Pooled
    # 220 / 300 = 0.7333; variance 0.7333 * 0.2667 * (1/100 + 1/200) = 0.0029333;
    # z = (0.6 - 0.8) / 0.054160 = -3.6927; p = erfc(3.6927 / sqrt 2) = 0.000222 < 0.05 / 3.
    found = stats.share_standouts([("A", 60, 100), ("B", 80, 100), ("C", 80, 100)], 50)
    assert found is not None and found.tested == 3
    [a] = found.parts
    assert (a.part, a.numerator, a.denominator, a.rest_numerator, a.rest_denominator) == (
        "A", 60, 100, 160, 200)
    assert a.test.statistic == pytest.approx(-3.69274, abs=1e-5)
    assert a.test.p_value == pytest.approx(0.00022185, abs=1e-8)
    assert a.share == pytest.approx(60.0) and a.rest_share == pytest.approx(80.0)
    # B against C is no difference at all, so the search stops there.
    assert found.rest == ("B", "C") and (found.rest_numerator, found.rest_denominator) == (
        160, 200)
    assert found.rest_share == pytest.approx(80.0)


def test_a_proportion_significant_alone_is_not_enough_once_the_parts_are_allowed_for():
    # A: 68 of 100 against 160 of 200: pooled 228 / 300 = 0.76, variance 0.76 * 0.24 * 0.015
    # = 0.002736, z = -0.12 / 0.052307 = -2.2942, p = 0.0218: below 0.05, not below 0.05 / 3.
    test = stats.share_vs_rest("A", 68, 100, 160, 200).test
    assert test.statistic == pytest.approx(-2.29416, abs=1e-5)
    assert test.p_value == pytest.approx(0.021781, abs=1e-6) and test.significant
    assert stats.share_standouts([("A", 68, 100), ("B", 80, 100), ("C", 80, 100)], 50) is None


def test_one_proportion_far_out_does_not_make_the_others_stand_out():
    # A: 40 of 200 and five parts at 160 of 200. Against a rest that holds A (680 of 1,000),
    # B alone would stand out: pooled 840 / 1,200 = 0.7, variance 0.21 * (1/200 + 1/1000) =
    # 0.00126, z = 0.12 / 0.035496 = 3.3806, p = 0.00072 < 0.05 / 6. Once A is set aside the
    # five are alike.
    assert stats.share_vs_rest("B", 160, 200, 680, 1000).test.p_value == pytest.approx(
        0.00072323, abs=1e-8)
    parts = [("A", 40, 200), *[(name, 160, 200) for name in "BCDEF"]]
    found = stats.share_standouts(parts, 50)
    assert found is not None and [t.part for t in found.parts] == ["A"]
    assert found.rest == tuple("BCDEF") and found.tested == 6


def test_share_standouts_need_whole_cases_a_proportion_and_a_base():
    alike = [("B", 80, 100), ("C", 80, 100)]
    assert stats.share_standouts([("A", 60.5, 100), *alike], 50) is None
    assert stats.share_standouts([("A", None, 100), *alike], 50) is None
    assert stats.share_standouts([("A", 120, 100), *alike], 50) is None  # not a proportion
    assert stats.share_standouts([("A", 60, 100), ("B", 0, 0)], 50) is None  # one has cases
    # A part on fewer than min_base cases is no candidate, however far out its proportion,
    # nor is a part whose rest is that small.
    assert stats.share_standouts([("A", 0, 40), ("B", 80, 100)], 50) is None
    # Rows with no value in the column are never named, nor in any part's rest or count: B at
    # 80 of 100 against A's 70 of 100 is p = 0.102 (not below 0.05/2), as `kpi compare` has
    # it; with the 120 of 200 not recorded pooled into B's rest it "stood out" (190 of 300,
    # p = 0.002, below 0.05/3).
    assert stats.share_standouts([(None, 60, 100), *alike], 50) is None
    assert stats.share_standouts([("A", 70, 100), ("B", 80, 100), (None, 120, 200)], 50) is None
    # A count's too: B's 100 -> 150 against A's 100 -> 100 is 150 of 250 against 100 of 200 in
    # the current window, p = 0.034, not below 0.05/2; with the 300 -> 100 not recorded, B and
    # then A "stood out" from the rows not recorded.
    assert stats.standouts([("A", 100, 100), ("B", 150, 100), (None, 100, 300)], 50) is None


def test_a_proportion_gap_too_small_to_matter_does_not_stand_out_however_large_the_base():
    # A: 79,000 of 100,000 against B and C: 80,000 of 100,000 each, so the rest is 160,000
    # of 200,000. Pooled 239,000 / 300,000 = 0.796667; variance 0.796667 * 0.203333 *
    # (1/100,000 + 1/200,000) = 2.42983e-6; z = -0.01 / 0.0015588 = -6.415: far below
    # 0.05 / 3, and a gap of one percentage point.
    parts = [("A", 79_000, 100_000), ("B", 80_000, 100_000), ("C", 80_000, 100_000)]
    test = stats.share_vs_rest("A", 79_000, 100_000, 160_000, 200_000).test
    assert test.statistic == pytest.approx(-6.4152, abs=1e-4) and test.significant
    assert stats.share_standouts(parts, 50, min_points=2.0) is None
    # A floor at the gap or below it keeps the part (1.0 points exactly, in floating point).
    for floor in (0.0, 1.0):
        found = stats.share_standouts(parts, 50, min_points=floor)
        assert found is not None and [t.part for t in found.parts] == ["A"]
    # The floor is a gap from the rest, either way: 81% against 80% is one point too.
    high = [("A", 81_000, 100_000), ("B", 80_000, 100_000), ("C", 80_000, 100_000)]
    assert stats.share_standouts(high, 50, min_points=2.0) is None
    assert stats.share_standouts(high, 50) is not None


def test_a_count_change_too_small_to_matter_does_not_stand_out_however_large_the_base():
    # A: 100,000 events then 94,200 (-5.8%), B to E: 100,000 then 91,800 each, so the rest
    # went 400,000 to 367,200 (-8.2%): 2.4 points apart. A's share of its events in the
    # current window is 94,200 / 194,200 against the rest's 367,200 / 767,200; pooled
    # p = 461,400 / 961,400 = 0.479925, variance p(1 - p)(1/194,200 + 1/767,200) =
    # 1.61059e-6, z = 0.0064434 / 0.0012691 = 5.0772: far beyond 0.05 / 5.
    parts = [("A", 94_200, 100_000), *((name, 91_800, 100_000) for name in "BCDE")]
    test = stats.part_vs_rest("A", 94_200, 100_000, 367_200, 400_000)
    assert test.test.statistic == pytest.approx(5.0772, abs=1e-4) and test.test.significant
    assert (test.change, test.rest_change) == (pytest.approx(-5.8), pytest.approx(-8.2))
    # The floor of the board's paper (5 points) and any floor above 2.4 leave it out.
    assert stats.standouts(parts, 50, min_points=5.0) is None
    assert stats.standouts(parts, 50, min_points=2.5) is None
    # A floor at the gap or below it keeps the part (2.4 points, in floating point).
    for floor in (0.0, 2.4):
        found = stats.standouts(parts, 50, min_points=floor)
        assert found is not None and [t.part for t in found.parts] == ["A"]
    assert stats.standouts(parts, 50) is not None


def _months_from(first: str, n: int) -> list[str]:
    year, month = int(first[:4]), int(first[5:])
    out = []
    for _ in range(n):
        out.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def test_a_month_exactly_on_a_limit_is_no_special_cause():
    """6.2% and 8.2% alternating: mean 7.2, every moving range 2.0, so the limits are exactly
    7.2 -+ 2.66 x 2.0, 1.88 to 12.52. A month of 12.52% is on the upper limit, not beyond
    it; the floats' limit, 12.519999999999998, made it a special cause of concern. A target
    of 1.88 on the lower limit is hit and miss ("between the limits, or on one"), where the
    floats' 1.8800000000000026 read "consistently fails"."""
    from kpi.catalogue import Better

    values = [6.2, 8.2] * 11 + [6.2, 12.52]
    chart = stats.xmr(_months_from("2023-04", len(values)), values, Better.LOWER)
    assert (chart.upper_limit, chart.lower_limit) == (12.52, 1.88)
    assert chart.points[-1].rule is None
    assert stats.variation(chart).verdict == stats.COMMON_CAUSE
    assert stats.assurance(1.88, chart, Better.LOWER) == stats.HIT_AND_MISS
    assert stats.assurance(1.87, chart, Better.LOWER) == stats.CONSISTENTLY_FAIL


def test_a_moving_range_exactly_at_the_screen_is_screened():
    """Ten moving ranges of 77.33 and one of 326.70 (505.53 after 178.83): their mean is
    exactly 100.00, and 3.267 times it 326.70, so the last is screened ("at or above") and the
    mean moving range is 77.33 and the upper limit about 444, not the 504 of a range kept
    below the floats' product; 480.00 after it is beyond."""
    from fractions import Fraction

    from kpi.catalogue import Better

    values = [178.83, 256.16] * 5 + [178.83, 505.53, 480.00]
    chart = stats.xmr(_months_from("2024-01", len(values)), values, Better.LOWER)
    baseline = [Fraction(repr(v)) for v in values[:12]]
    mean = sum(baseline) / 12
    assert chart.mean_moving_range == 77.33 and chart.segments[-1].screened == ("2024-12",)
    assert chart.upper_limit == float(mean + Fraction("2.66") * Fraction("77.33"))
    assert chart.points[-1].rule == stats.LIMITS and chart.points[-1].high
    assert stats.variation(chart).verdict == stats.SPECIAL_CONCERN


def test_a_share_on_its_exact_mean_starts_no_run():
    """Months of 10 and 20 of 30 alternating (33.3% and 66.7%), then twelve of 15 of 30: by
    hand the mean is (100/3 + 200/3) / 2 = 50 exactly, and each later month, 15/30 = 50%,
    is on it, which starts no run. The engine carries each share as the number it stands for
    (`Exact`, from `quotient`); read as the decimals of its floats (33.333333333333336 and
    66.66666666666667) the mean was 50.000000000000003 and every later month "a shift of 7"
    below it, a special cause of concern."""
    from fractions import Fraction

    from kpi.rounding import quotient

    values = [quotient(k, 30, 100) for k in [10, 20] * 6 + [15] * 12]
    chart = stats.xmr(_months_from("2023-10", len(values)), values, Better.HIGHER)
    baseline = [Fraction(k * 100, 30) for k in [10, 20] * 6]
    mean = sum(baseline, Fraction(0)) / 12
    assert mean == 50 and chart.mean == 50.0
    assert stats.as_written(chart.mean) == mean
    assert chart.signals == ()
    assert [p.side for p in chart.points[12:]] == [0] * 12
    assert [p.side for p in chart.points[:2]] == [-1, 1]
    assert stats.variation(chart).verdict == stats.COMMON_CAUSE
    # The months themselves are printed as the floats nearest them.
    assert chart.points[0].value == 100 / 3 and type(chart.points[0].value) is float


def test_a_share_exactly_on_a_limit_is_no_special_cause():
    """2 and 3 of 7 alternating: by hand the mean is 5/14 of 100 = 250/7, every moving range
    100/7, so the upper limit is 250/7 + 2.66 x 100/7 = 516/7, exactly 129 of 175. That
    month is on the limit, not beyond it; read as its float's decimal (73.71428571428571)
    against limits made of the other months' decimals it was outside the limits. 130 of
    175 is beyond."""
    from fractions import Fraction

    from kpi.rounding import quotient

    def chart_of(last: int):
        values = [quotient(k, 7, 100) for k in [2, 3] * 6] + [quotient(last, 175, 100)]
        return stats.xmr(_months_from("2024-01", len(values)), values, Better.LOWER)

    upper = Fraction(250, 7) + Fraction("2.66") * Fraction(100, 7)
    assert upper == Fraction(129 * 100, 175)
    on = chart_of(129)
    assert stats.as_written(on.upper_limit) == upper and on.points[-1].rule is None
    beyond = chart_of(130)
    assert beyond.points[-1].rule == stats.LIMITS and beyond.points[-1].high


def test_a_share_repeated_in_other_terms_is_no_step_of_a_trend():
    """A trend is six strict steps between consecutive months, read exactly: 1 of 3 and 10 of
    30 are one value (100/3), so a rise through them is no trend of 7. Rising by hand over
    7 months with a repeat at the fourth: 5 steps up and one of none. (The baseline, 4 and 18
    of 30, has its mean at 11 of 30 and limits past 0 and 100%: no other rule fires.)"""
    from kpi.rounding import quotient

    base = [quotient(k, 30, 100) for k in [4, 18] * 6]
    rising = [quotient(k, n, 100) for k, n in
              [(8, 30), (9, 30), (1, 3), (10, 30), (11, 30), (12, 30), (13, 30)]]
    chart = stats.xmr(_months_from("2023-10", 19), base + rising, Better.HIGHER)
    assert not any(p.rule == stats.TREND for p in chart.points)
    # Without the repeat (10 of 30 replaced by 10.5 of 30, 35%), the same months are a trend.
    rising[3] = quotient(21, 60, 100)
    chart = stats.xmr(_months_from("2023-10", 19), base + rising, Better.HIGHER)
    assert [p.rule for p in chart.points[12:]] == [stats.TREND] * 7
