"""An independent reference for the process chart's verdicts (tests/test_spc_reference.py).

Written from the published rules, not from kpi/stats.py: NHS England's "Making Data Count" as
NHSRplotthedots implements it (`ptd_spc_standard.R`, `ptd_calculate_point_type.R`,
`ptd_calculate_assurance_type.R`) and kpi's docs/statistics.md where kpi documents a
deliberate difference:

- a missing month has no moving range (nor has the month after it) and breaks every run; a
  baseline with a missing month gives no limits (NHSRplotthedots drops missing values);
- the baseline is the first 12 months of each segment, trial limits with fewer, none with
  fewer than 2 (a moving range needs two months);
- the last months whose figures are not final yet (`provisional_months`) are left out: no
  value, no rule, and no baseline reads them, so a segment's baseline is its first 12 months
  before them (trial limits with fewer), and a named baseline holding one of them gives none;
- limits of a quantity that cannot be negative stop at 0, a share's at 100 (the caller's
  `ceiling`: oracle_support.chart_ceiling), unless a month of the series is below 0 or above
  100: a series that passes a bound does not keep to it, and limits cut there would lie inside
  the months they describe;
- the mean is of the months' figures as written (decimals), rounded once: a baseline that
  does not vary has its value as mean and limits, where a float sum divided by the count is
  a bit off it and read every month as outside its own limits;
- a baseline whose moving ranges are all 0 (every month the same) gives no limits, and so no
  rule and no verdict: the spread of the process is not known. NHSRplotthedots' screen
  (`mr < 3.267 * amr`) drops every range of it, leaving a mean moving range and limits that
  are not numbers, so no month is outside them (it still reads shifts and trends about the
  mean; kpi reads nothing without limits);
- the screen drops ranges only where a range above 0 is kept: where it would keep only
  ranges of 0 (noughts but one month of 1), NHSRplotthedots' limits sit on the mean and every
  other month is outside them; kpi takes the mean of every range, the only spread there is;
- a point in two trends (a shared peak or trough) takes the later trend's direction
  (NHSRplotthedots: "use right side"); a point in one trend only takes that trend's direction
  (NHSRplotthedots reads the step after the last point of a trend when the next month starts
  another trend, so the top of 1..7 followed by 0..6 reads "decreasing" there).

The rules are applied the way NHSRplotthedots applies them: a window of 7 ending at each point
for shifts and trends, a window of 3 around each point for two of three, then a point's label
by priority (outside the limits, trend, two of three, shift). Nothing here imports kpi; the
arithmetic of the limits is written as the docs state it (mean of the baseline, mean moving
range, mean +- 2.66 and 1.773 times it), exactly, of the months as the decimals they print as:
a value on a limit is on it.

Moving ranges are screened as `ptd_spc_standard.R` does by default (`screen_outliers = TRUE`):
`amr` is the mean of the baseline's moving ranges; each range is kept where `mr < 3.267 * amr`
(so one at 3.267 times the mean is dropped) and `amr` is the mean of those kept, once (the
screen is not repeated on the new mean).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

LIMIT = Fraction("2.66")
SCREEN = Fraction("3.267")
CLOSE = Fraction("1.773")
BASELINE = 12
FEWEST = 2
RUN = 7


@dataclass(frozen=True)
class Point:
    month: str
    value: float | None
    rule: str | None  # limits, trend, two_in_three, shift
    high: bool | None  # the special cause ran high (or rising)
    mean: float | None
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class Chart:
    points: tuple[Point, ...]
    mean: float | None  # the limits that apply now: the last segment's
    lower: float | None
    upper: float | None
    lower2: float | None
    upper2: float | None
    trial: bool
    # The month the limits that apply now were recalculated from (`spc_rebase`); None where
    # the chart has one segment.
    recalculated: str | None = None
    # The months left out as not final yet (`provisional_months`).
    provisional: tuple[str, ...] = ()


def _month_after(m: str) -> str:
    year, mon = int(m[:4]), int(m[5:])
    return f"{year + mon // 12}-{mon % 12 + 1:02d}"


def _limits(values: list[float | None], floor: float | None, ceiling: float | None,
            months: list[str] | None = None, named: tuple[str, str] | None = None,
            final: int | None = None):
    """The limits from the first 12 values of the first `final` (those before the months not
    final yet), or from the months `named` (first, last): every one of them must be among
    the first `final` of `months` and hold a value."""
    final = len(values) if final is None else final
    if named is None:
        base = values[:min(BASELINE, final)]
    else:
        assert months is not None
        wanted, m = [], named[0]
        while m <= named[1]:
            wanted.append(m)
            m = _month_after(m)
        if any(m not in months[:final] for m in wanted):
            return None
        base = [values[months.index(m)] for m in wanted]
    if len(base) < FEWEST or any(v is None for v in base):
        return None
    # The months as written (kpi's docs/statistics.md), exactly (`chart` makes each value the
    # fraction its decimal is): twelve months of 0.7 have the mean 0.7, limits with no width
    # sit on the months themselves, and a month on a limit is on it.
    xs = [v for v in base if v is not None]
    mean = sum(xs, Fraction(0)) / len(xs)
    mrs = [abs(b - a) for a, b in zip(xs, xs[1:], strict=False)]
    amr = sum(mrs, Fraction(0)) / len(mrs)
    # case_when(mr < 3.267 * amr ~ mr, TRUE ~ NA), then mean(mr, na.rm = TRUE)
    screened = [r if r < SCREEN * amr else None for r in mrs]
    kept = [r for r in screened if r is not None]
    mr = sum(kept, Fraction(0)) / len(kept) if any(kept) else amr
    if mr == 0:
        return None  # no spread known: see the module's note
    lower, upper = mean - LIMIT * mr, mean + LIMIT * mr
    lower2, upper2 = mean - CLOSE * mr, mean + CLOSE * mr
    if floor is not None:
        lower, lower2 = max(floor, lower), max(floor, lower2)
    if ceiling is not None:
        upper, upper2 = min(ceiling, upper), min(ceiling, upper2)
    return mean, lower, upper, lower2, upper2, len(base) < BASELINE


def _segment_points(months, values, floor, ceiling, named=None, final=None):
    limits = _limits(values, floor, ceiling, months, named, final)
    if limits is None:
        return [Point(m, v, None, None, None, None, None) for m, v in zip(months, values,
                                                                           strict=True)], None
    mean, lower, upper, lower2, upper2, _ = limits
    n = len(values)
    # sign of each point against the mean: +1 above, -1 below, 0 on it or missing
    side = [0 if v is None or v == mean else (1 if v > mean else -1) for v in values]
    outside = [v is not None and (v > upper or v < lower) for v in values]
    # "close to the limits": beyond a 2-sigma line but not outside the limits
    # (NHSRplotthedots' close_to_limits)
    close = [v is not None and not outside[i] and (v > upper2 or v < lower2)
             for i, v in enumerate(values)]

    shift = [0] * n
    for end in range(RUN - 1, n):
        window = side[end - RUN + 1:end + 1]
        if window[0] != 0 and all(s == window[0] for s in window):
            for i in range(end - RUN + 1, end + 1):
                shift[i] = window[0]

    trend = [0] * n
    for end in range(RUN - 1, n):  # windows in time order: a later trend overwrites a point
        window = values[end - RUN + 1:end + 1]
        if any(v is None for v in window):
            continue
        steps = [b - a for a, b in zip(window, window[1:], strict=False)]  # type: ignore[operator]
        direction = 1 if all(d > 0 for d in steps) else -1 if all(d < 0 for d in steps) else 0
        if direction:
            for i in range(end - RUN + 1, end + 1):
                trend[i] = direction

    two = [0] * n
    for start in range(n - 2):
        triple = range(start, start + 3)
        total = sum(side[j] for j in triple)
        if abs(total) == 3 and sum(close[j] for j in triple) >= 2:
            for j in triple:
                if close[j]:
                    two[j] = side[j]

    points = []
    for i, (m, v) in enumerate(zip(months, values, strict=True)):
        if outside[i]:
            rule, high = "limits", v > upper  # type: ignore[operator]
        elif trend[i]:
            rule, high = "trend", trend[i] > 0
        elif two[i]:
            rule, high = "two_in_three", two[i] > 0
        elif shift[i]:
            rule, high = "shift", shift[i] > 0
        else:
            rule, high = None, None
        points.append(Point(m, v, rule, high, mean, lower, upper))
    return points, limits


def chart(months: list[str], values: list[float | None], rebase: tuple[str, ...] = (),
          floor: float | None = None, ceiling: float | None = None,
          baseline: tuple[str, str] | None = None, provisional: int = 0) -> Chart:
    """The chart of a monthly series: leading missing months dropped, a new segment at the
    first month on or after each `rebase` month. A named `baseline` (`spc_baseline`: first
    and last month) gives the limits of the segment its first month falls in (the first
    segment when it starts before the chart, the last when after it): every month named must
    be in that segment and hold a value, else that segment has no limits. Every other segment
    takes its own first 12 months. The last `provisional` months are not final: left out (no
    value), and no baseline reads them."""
    unsettled = tuple(months[len(months) - provisional:]) if provisional else ()
    values = [None if m in unsettled else v for m, v in zip(months, values, strict=True)]
    # each value the decimal it prints as, exactly, and the bounds likewise
    values = [None if v is None or not math.isfinite(v) else _written(v) for v in values]
    floor = None if floor is None else _written(floor)
    ceiling = None if ceiling is None else _written(ceiling)
    while values and values[0] is None:
        months, values = months[1:], values[1:]
    if not values:
        return Chart((), None, None, None, None, None, False, provisional=unsettled)
    if floor is not None and min(v for v in values if v is not None) < floor:
        floor = None
    if ceiling is not None and max(v for v in values if v is not None) > ceiling:
        ceiling = None
    starts = {0}
    for r in rebase:
        at = next((i for i, m in enumerate(months) if m >= r), None)
        if at is not None:
            starts.add(at)
    bounds = sorted(starts) + [len(months)]
    points: list[Point] = []
    limits = None
    owner = None
    if baseline is not None:
        owner = max((a for a in bounds[:-1] if months[a] <= baseline[0]), default=0)
    for a, b in zip(bounds, bounds[1:], strict=False):
        seg, limits = _segment_points(months[a:b], values[a:b], floor, ceiling,
                                      baseline if a == owner else None,
                                      sum(m not in unsettled for m in months[a:b]))
        points += seg
    if limits is None:
        return Chart(tuple(points), None, None, None, None, None, False, provisional=unsettled)
    mean, lower, upper, lower2, upper2, trial = limits
    last = bounds[-2]
    return Chart(tuple(points), mean, lower, upper, lower2, upper2, trial,
                 months[last] if last > 0 else None, unsettled)


def _written(value: float) -> Fraction:
    """A figure as the decimal it prints as (its shortest repr), exactly."""
    return Fraction(repr(float(value)))


def variation(c: Chart, better: str) -> str | None:
    """Making Data Count's variation icon for the latest month with a value; None without
    limits. `better` is "higher", "lower" or "neutral"."""
    latest = next((p for p in reversed(c.points) if p.value is not None), None)
    if latest is None or c.mean is None:
        return None
    if latest.rule is None:
        return "common_cause"
    if better == "neutral":
        return "special_cause_neutral_high" if latest.high else "special_cause_neutral_low"
    good = latest.high == (better == "higher")
    return "special_cause_improvement" if good else "special_cause_concern"


def assurance(target: float | None, c: Chart, better: str,
              current: float | None = None, since: str | None = None,
              until: str | None = None) -> str | None:
    """Making Data Count assurance (NHSRplotthedots' ptd_calculate_assurance_type): a target
    beyond the upper limit is failed consistently when higher is better, passed when lower
    is; below the lower limit the reverse; otherwise hit and miss. Given the `current`
    figure (kpi's docs/statistics.md): a consistent pass beside a current figure that misses
    the target, or a consistent fail beside one that meets it, is hit and miss, unless the
    figure's window (its first month `since`) starts before the limits were recalculated, or
    holds (to its last month `until`, the chart's last when not given) a month the chart
    leaves out as not final yet: it then reads months the limits do not describe, and the
    limits stand."""
    if target is None or c.mean is None or better == "neutral":
        return None
    assert c.lower is not None and c.upper is not None
    target = _written(target)
    current = None if current is None else _written(current)
    if target > c.upper:
        said = "consistently_fail" if better == "higher" else "consistently_pass"
    elif target < c.lower:
        said = "consistently_pass" if better == "higher" else "consistently_fail"
    else:
        return "hit_and_miss"
    undescribed = (since is not None and c.recalculated is not None
                   and c.recalculated > since) or any(
        (since is None or since <= m) and (until is None or m <= until) for m in c.provisional)
    if current is not None and not undescribed:
        meets = current >= target if better == "higher" else current <= target
        if meets != (said == "consistently_pass"):
            return "hit_and_miss"
    return said
