"""The arrow beside a status points the way the status was judged: a KPI the table calls
improving or deteriorating never shows the flat arrow, and a stable one never shows a rise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi import engine
from kpi.catalogue import Better, Kind, KpiDef, Unit
from kpi.render import arrow, change_text

KINDS = {Unit.PERCENT: Kind.RATE, Unit.RATIO: Kind.RATIO_OF_RATES, Unit.PER_1000: Kind.PER_1000}


def _kpi(unit: Unit, better: Better, band: float = 0.0, kind: Kind | None = None,
         decimals: int | None = None) -> KpiDef:
    return KpiDef(id="k", title="K", priority="p", kind=kind or KINDS.get(unit, Kind.COUNT),
                  unit=unit, better=better, stable_band=band, decimals=decimals)


def test_a_rate_per_1000_moving_under_a_tenth_points_the_way_its_status_says():
    # 1,200,000 people: 2,311 crimes a year (1.93 per 1,000) down to 2,283 (1.90): the change
    # is shown as '0.0 (-1.2%)' and judged on the 1.2%, so it is 'improving' and points down.
    kpi = _kpi(Unit.PER_1000, Better.LOWER)
    change = engine.change_between(kpi, 2283 / 1200, 2311 / 1200)
    assert engine.status_of(kpi, change) == "improving"
    assert arrow(change) == "↓"


VALUE = st.one_of(st.integers(-100, 10_000).map(float),
                  st.floats(-100, 10_000, allow_nan=False, allow_infinity=False))


@settings(max_examples=400, deadline=None)
@given(unit=st.sampled_from([Unit.COUNT, Unit.PERCENT, Unit.RATIO, Unit.PER_1000,
                             Unit.SECONDS]),
       better=st.sampled_from([Better.HIGHER, Better.LOWER]),
       band=st.sampled_from([0.0, 0.5, 1.0]), before=VALUE, after=VALUE)
def test_the_arrow_agrees_with_the_status(unit, better, band, before, after):
    kpi = _kpi(unit, better, band)
    change = engine.change_between(kpi, after, before)
    status = engine.status_of(kpi, change)
    pointed = arrow(change)
    rising = {"↑": True, "↓": False}.get(pointed)
    if status in ("improving", "deteriorating"):
        assert rising is not None, (status, change)
        assert rising == ((status == "improving") == (better == Better.HIGHER)), (status, change)
        assert rising == (after > before), (status, change)  # a negative base too
    else:
        assert status == "stable"
        # inside a band it may still point the way it moved, but never against the values
        if rising is not None:
            assert rising == (after > before), (change, pointed)


@pytest.mark.parametrize(("before", "after", "pointed"), [(100, 100, "→"), (10000, 10004, "→")])
def test_a_change_that_rounds_to_nothing_is_flat(before, after, pointed):
    kpi = _kpi(Unit.COUNT, Better.LOWER)
    assert arrow(engine.change_between(kpi, after, before)) == pointed


@pytest.mark.parametrize(("unit", "kind", "decimals", "better", "before", "after", "status",
                          "shown", "pointed"), [
    # -0.001 to 0.000 read "-100.0%" and "deteriorating" for a rise where higher is better
    (Unit.SCORE, Kind.MEAN, 3, Better.HIGHER, -0.0005, 0.0, "improving", "+0.001 (n/a)", "↑"),
    (Unit.COUNT, Kind.MEAN, None, Better.LOWER, -2.0, -1.0, "deteriorating", "+1.0 (n/a)", "↑"),
    (Unit.COUNT, Kind.MEAN, None, Better.HIGHER, -1.0, -2.0, "deteriorating", "-1.0 (n/a)", "↓"),
    # a sum in pounds: -£480 to -£240 read "-50.0%", deteriorating; -£0.048 to £0 read
    # "0 (-100.0%)", deteriorating
    (Unit.GBP, Kind.SUM, None, Better.HIGHER, -480.0, -240.0, "improving", "+£240 (n/a)", "↑"),
    (Unit.GBP, Kind.SUM, None, Better.HIGHER, -0.048, 0.0, "stable", "£0 (n/a)", "→"),
    # a rise from zero that prints as zero is stable; one that shows is judged by its sign
    (Unit.COUNT, Kind.MEAN, 0, Better.LOWER, 0.0, 0.3, "stable", "0 (n/a)", "→"),
    (Unit.COUNT, Kind.MEAN, 0, Better.LOWER, 0.0, 0.6, "deteriorating", "+1 (n/a)", "↑"),
    # a % change from a base above zero, as before
    (Unit.GBP, Kind.SUM, None, Better.HIGHER, 480.0, 240.0, "deteriorating", "-£240 (-50.0%)",
     "↓"),
])
def test_a_change_from_a_base_of_zero_or_below_has_no_percent_and_goes_by_its_sign(
        unit, kind, decimals, better, before, after, status, shown, pointed):
    kpi = _kpi(unit, better, kind=kind, decimals=decimals)
    change = engine.change_between(kpi, after, before)
    assert change is not None
    assert change.percent == (None if before <= 0 else (after - before) / before * 100)
    assert engine.status_of(kpi, change) == status
    assert change_text(change, kpi) == shown
    assert arrow(change) == pointed
