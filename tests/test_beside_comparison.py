"""Two figures printed side by side, a current window's and its comparison's, print apart
where the change printed beside them reads as one (docs/guarantees.md). The change printed is
from the comparison to the current: its difference at the KPI's places and, for a unit that
prints one, the % change from a comparison above zero at one decimal. From a comparison of
zero or below there is no % change ("n/a"): a rate per 1,000 of 0.008 against 0.0 reads "+0.0
(n/a)" and stable, and printed "0.01" beside "0.00", as if the % change back from 0.008 to 0.0
(never printed) read. The rule is stated again here in decimals, from the figures as written,
and checked against `kpi.rounding.places_apart` and every face's `render.number`."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kpi import paper, render
from kpi.catalogue import Better, Kind, KpiDef, Unit
from kpi.rounding import Beside, pair_places, places_apart


def excel(value: Decimal, places: int) -> Decimal:
    """Excel's ROUND: to 15 significant digits, then half away from zero."""
    with localcontext() as context:
        context.prec = 60
        digits = Decimal(format(value, ".15g"))
        return digits.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP) + 0


def change_reads(current: float, comparison: float, places: int, percent: bool) -> bool:
    """The change printed beside the two, from the comparison, reads as one: the difference
    at `places` is not zero, or (`percent`) the % change from a comparison above zero is not
    at one decimal."""
    now, then = Decimal(repr(current)), Decimal(repr(comparison))
    if excel(now - then, places) != 0:
        return True
    if not percent or not then > 0:
        return False
    with localcontext() as context:
        context.prec = 60
        return excel((now - then) * 100 / then, 1) != 0


@st.composite
def pairs(draw):
    """(comparison, current, places, percent): a comparison of zero, below zero or above it,
    written to up to five decimals, and a current a few units of its first to fifth decimal
    away (or equal), printed to 0 to 3 places, with or without a % change beside them."""
    places = draw(st.integers(0, 3))
    comparison = draw(st.one_of(
        st.just(Decimal(0)),
        st.builds(lambda n, k: Decimal(n).scaleb(-k), st.integers(-2000, 2000),
                  st.integers(0, 5))))
    step = Decimal(1).scaleb(-draw(st.integers(1, 5)))
    current = comparison + draw(st.integers(-9, 9)) * step
    return float(comparison), float(current), places, draw(st.booleans())


def _ordered(a: Decimal, b: Decimal) -> int:
    return (a > b) - (a < b)


@settings(max_examples=1000, deadline=None)
@given(pairs())
@example((0.0, 0.008, 1, True))  # a rate per 1,000: "0.0 (n/a)", stable; printed 0.00 / 0.01
@example((-0.001, 0.003, 2, True))  # from below zero: "+0.00 (n/a)"
@example((100.05, 100.0, 0, True))  # "-0 (-0.0%)"; the % change back from 100 reads 0.1%
@example((0.5, 0.48, 1, True))  # "-0.0 (-4.0%)": reads, so "0.50" and "0.48"
@example((0.4, 0.6, 0, False))  # "+0", so not "0" and "1": "0.4" and "0.6" beside "+0.2"
@example((0.96, 0.914, 1, True))  # "1.0 -> 0.9" beside "0.0 (-4.8%)": "0.96 -> 0.91", "-0.05"
def test_two_figures_print_apart_exactly_where_the_change_printed_reads(case):
    """`places_apart`: where the change printed reads as one, the two as printed stand to
    each other as the figures do; where it reads as none, they keep their own places where
    they print alike there, and else take more, with the change printed beside them
    (`pair_places`), till they print apart exactly where that change reads: a pair either
    side of a place's rounding, 0.4 and 0.6 at no decimals, printed "0" and "1" beside "+0";
    it prints "0.4" and "0.6" beside "+0.2". Print apart <=> the change printed reads."""
    comparison, current, places, percent = case
    reads = change_reads(current, comparison, places, percent)
    got, change_at = pair_places(current, comparison, None, places, percent)
    assert got == places_apart(current, comparison, None, places, percent)
    now, then = (excel(Decimal(repr(v)), got) for v in (current, comparison))
    alike_at_own = excel(Decimal(repr(current)), places) == excel(Decimal(repr(comparison)),
                                                                  places)
    # The change prints to the figures' places where they print apart, and its size (the
    # absolute change or points) never prints as zero between figures that print apart, nor
    # otherwise between figures that print alike: "1.0 -> 0.9" beside "0.0 (-4.8%)" read as
    # two answers.
    assert change_at == (got if now != then else places), (case, got, change_at)
    size = Decimal(repr(current)) - Decimal(repr(comparison))
    assert (now != then) == (excel(size, change_at) != 0), (case, got, change_at, now, then)
    if reads:
        assert _ordered(now, then) == _ordered(Decimal(repr(current)),
                                               Decimal(repr(comparison))), (case, got)
    else:
        assert (now != then) == change_reads(current, comparison, change_at, percent), \
            (case, got, change_at, now, then)
    if alike_at_own:
        assert got == places or reads, (case, got)
        assert (now != then) == reads, (case, got, now, then)


def _kpi(unit: Unit, places: int) -> KpiDef:
    return KpiDef(id="k", title="K", priority="p", kind=Kind.MEAN, unit=unit,
                  better=Better.LOWER, value="v", decimals=places)


def _number(text: str) -> Decimal:
    return Decimal(text.replace("per 1,000 population", "").replace("per 1,000", "")
                   .replace("%", "").replace(",", "")
                   .replace("\u2212", "-").strip())


@settings(max_examples=300, deadline=None)
@given(pairs())
@example((0.0, 0.008, 1, True))
@example((0.0, 0.008, 1, False))
def test_every_face_prints_the_pair_apart_exactly_where_its_change_reads(case):
    """The summary's and `kpi show`'s text, the paper's prose and its table cells print a
    current figure and its comparison (saying which is which: `Beside`) to one number of
    places, apart exactly where the change printed beside them reads, for a pair alike at
    its KPI's places: a rate per 1,000 (with a % change) and a percentage (points, none)."""
    comparison, current, places, percent = case
    kpi = _kpi(Unit.PER_1000 if percent else Unit.PERCENT, places)
    reads = change_reads(current, comparison, places, percent)
    alike_at_own = excel(Decimal(repr(current)), places) == excel(Decimal(repr(comparison)),
                                                                  places)
    for face, show in (("text", lambda v, o: render.number(v, kpi, beside=o)),
                       ("prose", lambda v, o: paper.kpi_value(v, kpi, beside=o)),
                       ("cell", lambda v, o: paper.cell_value(v, kpi, beside=o))):
        now = show(current, Beside.comparison(comparison))
        then = show(comparison, Beside.current(current))
        decimals = {len(t.split(" ")[0].rstrip("%").partition(".")[2]) for t in (now, then)}
        assert len(decimals) == 1, (face, now, then)
        if alike_at_own:
            assert (_number(now) != _number(then)) == reads, (face, case, now, then)
        if not reads and alike_at_own:
            assert decimals == {places}, (face, case, now, then)
