"""The arrow beside a status points the way the status was judged: a KPI the table calls
improving or deteriorating never shows the flat arrow, and a stable one never shows a rise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi import engine
from kpi.catalogue import Better, Kind, KpiDef, Unit
from kpi.render import arrow

KINDS = {Unit.PERCENT: Kind.RATE, Unit.RATIO: Kind.RATIO_OF_RATES, Unit.PER_1000: Kind.PER_1000}


def _kpi(unit: Unit, better: Better, band: float = 0.0) -> KpiDef:
    return KpiDef(id="k", title="K", priority="p", kind=KINDS.get(unit, Kind.COUNT), unit=unit,
                  better=better, stable_band=band)


def test_a_rate_per_1000_moving_under_a_tenth_points_the_way_its_status_says():
    # 1,200,000 people: 2,311 crimes a year (1.93 per 1,000) down to 2,283 (1.90): the change
    # is shown as '0.0 (-1.2%)' and judged on the 1.2%, so it is 'improving' and points down.
    kpi = _kpi(Unit.PER_1000, Better.LOWER)
    change = engine.change_between(kpi, 2283 / 1200, 2311 / 1200)
    assert engine.status_of(kpi, change) == "improving"
    assert arrow(change, Unit.PER_1000) == "↓"


VALUE = st.one_of(st.integers(0, 10_000).map(float),
                  st.floats(0, 10_000, allow_nan=False, allow_infinity=False))


@settings(max_examples=400, deadline=None)
@given(unit=st.sampled_from([Unit.COUNT, Unit.PERCENT, Unit.RATIO, Unit.PER_1000,
                             Unit.SECONDS]),
       better=st.sampled_from([Better.HIGHER, Better.LOWER]),
       band=st.sampled_from([0.0, 0.5, 1.0]), before=VALUE, after=VALUE)
def test_the_arrow_agrees_with_the_status(unit, better, band, before, after):
    kpi = _kpi(unit, better, band)
    change = engine.change_between(kpi, after, before)
    status = engine.status_of(kpi, change)
    pointed = arrow(change, unit)
    rising = {"↑": True, "↓": False}.get(pointed)
    if status in ("improving", "deteriorating"):
        assert rising is not None, (status, change)
        assert rising == ((status == "improving") == (better == Better.HIGHER)), (status, change)
    else:
        assert status == "stable"
        # inside a band it may still point the way it moved, but never against the values
        if rising is not None:
            assert rising == (after > before), (change, pointed)


@pytest.mark.parametrize(("before", "after", "pointed"), [(100, 100, "→"), (10000, 10004, "→")])
def test_a_change_that_rounds_to_nothing_is_flat(before, after, pointed):
    kpi = _kpi(Unit.COUNT, Better.LOWER)
    assert arrow(engine.change_between(kpi, after, before), Unit.COUNT) == pointed
