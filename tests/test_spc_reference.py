"""kpi's process charts against an independent reference (tests/spc_reference.py).

Random monthly series (missing months, constant stretches, zeros, shares near 0% and 100%,
series near the fewest points, recalculations) go through kpi.stats.xmr, variation and
assurance, and every month's rule and direction, the limits that apply now, the variation
icon and the assurance must be the reference's.
"""

from __future__ import annotations

import math

import pytest
import spc_reference as ref
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kpi import stats
from kpi.catalogue import Better

BETTER = {"higher": Better.HIGHER, "lower": Better.LOWER, "neutral": Better.NEUTRAL}
# floor and ceiling as kpi.verdicts gives them: none, a quantity that cannot be negative, a
# percentage
BOUNDS = {"none": (None, None), "count": (0.0, None), "percent": (0.0, 100.0)}


def _months(n: int, start: int = 2023 * 12) -> list[str]:
    return [f"{m // 12}-{m % 12 + 1:02d}" for m in range(start, start + n)]


@st.composite
def series(draw):
    unit = draw(st.sampled_from(sorted(BOUNDS)))
    n = draw(st.one_of(st.integers(0, 14), st.integers(12, 30)))
    style = draw(st.sampled_from(["ints", "small", "floats", "near0", "near100", "steps",
                                  "negative"]))
    if style == "ints":
        value = st.integers(0, 40).map(float)
    elif style == "small":
        value = st.integers(0, 3).map(float)
    elif style == "floats":
        value = st.floats(-50 if unit == "none" else 0, 150 if unit != "percent" else 100,
                          allow_nan=False).map(lambda v: round(v, 1))
    elif style == "negative":  # a net amount or a mean of days late: below a count's floor
        value = st.floats(-130, 10, allow_nan=False).map(lambda v: round(v, 1))
    elif style == "near0":
        value = st.sampled_from([0.0, 0.0, 0.1, 0.2, 0.5, 1.0, 3.0])
    elif style == "near100":
        value = st.sampled_from([100.0, 100.0, 99.9, 99.8, 99.5, 99.0, 97.0])
    else:  # runs and trends: a walk of small steps
        steps = draw(st.lists(st.sampled_from([-2.0, -1.0, 0.0, 1.0, 1.0, 2.0]),
                              min_size=n, max_size=n))
        base = draw(st.integers(20, 60))
        walk = [float(base + sum(steps[:i + 1])) for i in range(n)]
        gaps = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        values = [None if g and draw(st.integers(0, 9)) == 0 else v
                  for v, g in zip(walk, gaps, strict=True)]
        return unit, values
    values = draw(st.lists(st.one_of(value, value, value, value, value, value, value,
                                     value, value, st.none()), min_size=n, max_size=n))
    if style == "percent" or unit == "percent":
        values = [None if v is None else min(max(v, 0.0), 100.0) for v in values]
    return unit, values


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def check(values: list[float | None], better: str, unit: str, target: float | None,
          rebase: tuple[str, ...] = (), baseline: tuple[str, str] | None = None) -> None:
    months = _months(len(values))
    floor, ceiling = BOUNDS[unit]
    got = stats.xmr(months, values, BETTER[better], rebase=rebase, floor=floor,
                    ceiling=ceiling, baseline=baseline)
    want = ref.chart(months, values, rebase, floor, ceiling, baseline)
    where = f"values={values!r} better={better} unit={unit} rebase={rebase} baseline={baseline}"
    assert [p.month for p in got.points] == [p.month for p in want.points], where
    for g, w in zip(got.points, want.points, strict=True):
        assert (g.rule, g.high) == (w.rule, w.high), f"{g.month}: kpi {g.rule}/{g.high}, " \
            f"reference {w.rule}/{w.high}; {where}"
        assert _same(g.mean, w.mean) and _same(g.lower, w.lower) \
            and _same(g.upper, w.upper), f"{g.month}: limits; {where}"
        if g.rule is not None:
            assert g.signal == stats._signal(BETTER[better], bool(g.high)), where
    for name in ("mean", "lower", "upper", "lower2", "upper2"):
        kpi_name = {"lower": "lower_limit", "upper": "upper_limit", "lower2": "lower_2sigma",
                    "upper2": "upper_2sigma"}.get(name, name)
        assert _same(getattr(got, kpi_name), getattr(want, name)), f"{name}; {where}"
    if want.mean is not None:
        assert got.trial == want.trial, where
    if got.mean is not None and got.lower_limit is not None and got.upper_limit is not None:
        # whatever bounds the caller gives, the limits hold the mean they are drawn about
        assert got.lower_limit <= got.mean <= got.upper_limit, where
    v = stats.variation(got)
    assert (v.verdict if v else None) == ref.variation(want, better), where
    if v is not None:
        latest = next(p for p in reversed(want.points) if p.value is not None)
        assert v.rule == latest.rule, where
    assert stats.assurance(target, got, BETTER[better]) == ref.assurance(target, want, better), \
        f"target={target}; {where}"


@settings(max_examples=400, deadline=None)
@given(series(), st.sampled_from(sorted(BETTER)), st.one_of(st.none(), st.floats(0, 100)),
       st.lists(st.integers(1, 29), max_size=2))
@example(("none", [10.0, 12.0] * 6 + [11.0, 20.0, 15.0]), "lower", None, [])
@example(("none", [10.0, 12.0] * 6 + [20.0, 15.0, 11.5]), "lower", None, [])
@example(("none", [1.0, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6]), "higher", None, [])
@example(("count", [5.0] * 14), "higher", None, [])  # every moving range 0: none screened
# a net amount in pounds about -£100: a count's floor of 0 read every month a special cause
@example(("count", [-100.0, -92.0, -108.0, -95.0, -104.0, -99.0, -110.0, -91.0, -101.0,
                    -97.0, -106.0, -100.0, -100.0]), "higher", None, [])
@example(("none", [10.0, 12.0] * 3 + [30.0] + [12.0, 10.0] * 2 + [12.0, 20.0]), "lower", None,
         [])
def test_xmr_variation_assurance_match_the_reference(drawn, better, target, cuts):
    unit, values = drawn
    if unit == "percent" and target is not None:
        target = min(target, 100.0)
    months = _months(len(values))
    rebase = tuple(sorted({months[c] for c in cuts if c < len(months)}))
    check(values, better, unit, target, rebase)


@settings(max_examples=300, deadline=None)
@given(series(), st.sampled_from(sorted(BETTER)), st.one_of(st.none(), st.floats(0, 100)),
       st.lists(st.integers(1, 29), max_size=2), st.integers(-3, 32), st.integers(0, 14))
@example(("none", [None, None] + [10.0, 12.0] * 5 + [30.0, 32.0] * 6), "lower", None, [], 0, 11)
@example(("none", [10.0, 12.0] * 6 + [30.0, 32.0] * 2), "lower", None, [], 14, 11)
@example(("none", [10.0, 12.0] * 6 + [30.0, 32.0] * 6), "lower", None, [12], 12, 11)
@example(("none", [10.0, 12.0] * 6 + [30.0, 32.0] * 6), "lower", None, [12], 6, 11)
def test_a_named_baseline_matches_the_reference(drawn, better, target, cuts, first, length):
    """`spc_baseline`: the months named give the limits of the segment they start in, even
    where they start before the chart's first value or run past its end (no limits then),
    with and without `spc_rebase`."""
    unit, values = drawn
    if unit == "percent" and target is not None:
        target = min(target, 100.0)
    months = _months(len(values))
    rebase = tuple(sorted({months[c] for c in cuts if c < len(months)}))
    start = 2023 * 12 + first
    named = _months(length + 1, start)
    check(values, better, unit, target, rebase, (named[0], named[-1]))


@pytest.mark.parametrize(("tail", "rules", "verdict"), [
    # 20 is outside the limits (16.32); 15 is the only month close to them: common cause
    ([12.0, 20.0, 15.0], [None, "limits", None], stats.COMMON_CAUSE),
    # two months close to the upper limit around one beyond it
    ([15.0, 20.0, 15.0], ["two_in_three", "limits", "two_in_three"], stats.SPECIAL_CONCERN),
    ([15.0, 12.0, 15.0], ["two_in_three", None, "two_in_three"], stats.SPECIAL_CONCERN),
])
def test_two_of_three_counts_months_close_to_the_limits_not_beyond_them(tail, rules, verdict):
    """NHSRplotthedots' close_to_limits: beyond a 2-sigma line (14.55 here) and inside the
    process limits. A month outside the limits is a special cause of its own and is not one of
    the two."""
    values = [10.0, 12.0] * 6 + tail
    chart = stats.xmr(_months(len(values)), values, Better.LOWER)
    assert [p.rule for p in chart.points[-3:]] == rules
    variation = stats.variation(chart)
    assert variation is not None and variation.verdict == verdict
    check(values, "lower", "none", None)


# Twelve months of 10 and 12 with one wild month (30) in July, then 20 in January.
WILD = [10.0, 12.0, 10.0, 12.0, 10.0, 12.0, 30.0, 12.0, 10.0, 12.0, 10.0, 12.0, 20.0]


def test_a_wild_month_is_screened_out_of_the_mean_moving_range():
    """NHSRplotthedots' default (screen_outliers = TRUE): the moving ranges into and out of
    the wild month (18 and 18) are at least 3.267 times the mean of all 11 (54 / 11 = 4.91,
    so 16.04) and are left out, so m̄R is 2, not 4.91, and the limits are 12.67 +- 5.32
    (7.35 to 17.99), not -0.39 to 25.72. The 20 in January, which the wide limits hid, is
    outside them: the latest month is a special cause of concern, not common cause. The
    mean keeps the wild month (12.67): only the moving ranges are screened."""
    months = _months(len(WILD))
    chart = stats.xmr(months, WILD, Better.LOWER)
    (segment,) = chart.segments
    assert segment.screened == (months[6], months[7])
    assert chart.mean == pytest.approx(38 / 3)
    assert chart.mean_moving_range == pytest.approx(2.0)
    assert (chart.lower_limit, chart.upper_limit) == pytest.approx((38 / 3 - 5.32,
                                                                    38 / 3 + 5.32))
    assert [(p.month, p.rule) for p in chart.signals] == [(months[6], "limits"),
                                                           (months[12], "limits")]
    variation = stats.variation(chart)
    assert variation is not None and variation.verdict == stats.SPECIAL_CONCERN
    check(WILD, "lower", "none", None)


def test_a_moving_range_at_exactly_the_screen_is_left_out():
    """The screen keeps a moving range strictly below 3.267 x m̄R (`mr < 3.267 * amr`), so
    one exactly at it is left out: ranges of 773 (nine), 776 and 3,267 have mean 1,000, the
    3,267 is on the screen, and m̄R is the other ten's 7,733 / 10 = 773.3."""
    ranges = [773.0] * 5 + [3267.0] + [773.0] * 4 + [776.0]
    values = [5000.0]
    for i, r in enumerate(ranges):
        values.append(values[-1] + (r if i % 2 else -r))
    months = _months(len(values))
    chart = stats.xmr(months, values, Better.HIGHER)
    assert chart.segments[0].screened == (months[6],)
    assert chart.mean_moving_range == pytest.approx(773.3)
    check(values, "higher", "none", None)
    # A hair below the screen, the range is kept and m̄R is the mean of all eleven.
    values[6:] = [v + (-0.01 if values[6] > values[5] else 0.01) for v in values[6:]]
    chart = stats.xmr(months, values, Better.HIGHER)
    assert chart.segments[0].screened == ()
    check(values, "higher", "none", None)
