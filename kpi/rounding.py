"""The one rounding rule of every printed figure: Excel's.

People check the report's figures in Excel, whose ROUND and cell display round a number half
away from zero on its decimal value to 15 significant digits (the digits Excel keeps and shows),
not on the binary float. Python's own formatting (`f"{v:.1f}"`) rounds the binary value half
to even, so an exact 26.5 printed "26" and 12.25 "12.2" where Excel shows 27 and 12.3, and
2.675 (a binary value just under it) "2.67" where Excel shows 2.68.

The 15 significant digits, not the shortest repr, decide: 26.499999999999996 (a sum of floats
one bit under 26.5) is 26.5000000000000 to 15 digits, as Excel displays it, so it prints 27, as
26.500000000000004 does; by its repr it would print 26 beside Excel's 27.

`fixed` is the only place in kpi that turns a float into a fixed number of decimals
(`tests/test_rounding.py` reads the source to hold that). It lives in the base layer so that the
engine's notes and the statistics' p-values print by the same rule as the renderers
(`kpi.render.fixed` is the same function).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from typing import NamedTuple

EXCEL_DIGITS = 15  # the significant digits Excel keeps of a number and displays
_WIDE = Context(prec=1000)  # room for any float's digits at any number of places


def rounded(value: float, places: int) -> Decimal:
    """A finite value rounded as Excel's ROUND(value, places) does: to 15 significant digits,
    then half away from zero to `places` decimals. A result of zero has no sign; a value not
    finite comes back as it is.

    A whole number held as an int from 10**15, where 15 significant digits no longer reach
    the units, is printed as it is: a sum of whole numbers is exact however large
    (docs/guarantees.md), and 15 digits printed 9007199254740993 as 9,007,199,254,740,990, a
    figure no rows summed to. A float keeps Excel's rule: it holds no more than its JSON does."""
    if isinstance(value, int) and abs(value) >= 10**EXCEL_DIGITS:
        return Decimal(value).quantize(Decimal(1).scaleb(-places), context=_WIDE)
    if not math.isfinite(value):
        return Decimal(value)
    digits = Decimal(format(float(value), f".{EXCEL_DIGITS}g"))
    result = digits.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=_WIDE)
    return result.copy_abs() if result.is_zero() else result


def held(value: float | Decimal) -> Decimal:
    """A figure as Excel holds and shows it: its 15 significant digits (a whole number from
    10**15 as it is, as `rounded` prints it; a Decimal as it is). Two figures are one figure,
    printing alike at any places (`places_together`) and sharing a rank
    (`kpi.compare.competition_ranks`), exactly where these are equal: 1,234,567,890,123.45 and
    1,234,567,890,123.46 are two, which a cut to 12 digits ranked as one while they printed
    apart; 0.1 + 0.2 and 0.3 are one."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and abs(value) >= 10**EXCEL_DIGITS:
        return Decimal(value)
    return Decimal(format(float(value), f".{EXCEL_DIGITS}g"))


class Exact(float):
    """A float that keeps the exact number it was rounded from: every figure `_figure` makes
    that is not a whole number (a quotient such as 31/48 of 100, a mean of decimals, an
    interpolated median or percentile). Read by
    `as_written`, it is that number, so what is made from it (a multiplier's scaling, a
    change, a status against its band) is rounded once from the exact figures; anywhere else
    it is the nearest float (JSON, a frame, arithmetic, which gives a plain float)."""

    __slots__ = ("exact",)
    exact: Fraction

    def __new__(cls, exact: Fraction, nearest: float | None = None) -> Exact:
        value = super().__new__(cls, _float(exact) if nearest is None else nearest)
        value.exact = exact
        return value


def as_written(value: float | Fraction) -> Fraction:
    """A figure as the number it stands for, exactly: an int or a Fraction as it is, a float
    as the shortest decimal that reads back as it (its repr). Every value kpi stores is the
    decimal its source wrote, and every sum and mean is the nearest float to the decimals'
    own (docs/guarantees.md), so the repr is that decimal: 0.1 is 1/10, not the binary
    0.1000000000000000055511151231257827. An `Exact` is the number it was rounded from."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, Exact):
        return value.exact
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return Fraction(int(value))  # its repr's whole number, without reading the text
    return Fraction(repr(float(value)))


def _float(exact: Fraction) -> float:
    """An exact figure as the nearest float, rounded once; one too large for a float is an
    infinity of its sign, as float arithmetic would give (a change from a subnormal base)."""
    try:
        return float(exact)
    except OverflowError:
        return math.inf if exact > 0 else -math.inf


def quotient(numerator: float | None, denominator: float | Fraction | None,
             scale: float | Fraction = 1) -> float | None:
    """numerator × scale / denominator of the figures as written, rounded once: the one rule
    of every rate, share, mean, per-1,000 and multiplier kpi computes from a window's
    figures. Dividing first and scaling after rounds twice: 29 of 100 read 28.999999999999996%,
    1 of 3 33.33333333333333% (the correctly rounded value is 33.333333333333336), a rate of
    fractions one bit away from DuckDB's exact DECIMAL. None without a numerator, a
    denominator or with a denominator of zero; a figure that is not finite (NaN, infinity)
    goes through float arithmetic, so it stays not finite."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    if not (math.isfinite(numerator) and math.isfinite(denominator)):
        return numerator / denominator * float(scale)
    if denominator == 1 and scale == 1:
        # an int stays an int: a count prints 4309, not 4309.0 (an Exact keeps its number)
        return numerator
    return _figure(as_written(numerator) * as_written(scale) / as_written(denominator))


def _figure(exact: Fraction) -> float:
    """An exact figure as kpi carries it: the nearest float, rounded once, unless it is a
    whole number from 10**15, which a float need not hold (past 2**53 not even its units: the
    mean of 9007199254740993 twice is the float 9007199254740992): then the int itself,
    printed (`rounded`) and carried in JSON exactly, as a sum of whole numbers is."""
    if exact.denominator == 1 and abs(exact) >= 10**EXCEL_DIGITS:
        return int(exact)  # type: ignore[return-value]
    value = _float(exact)
    if exact.denominator != 1 and math.isfinite(value):
        # A figure that is not a whole number (31/48 of 100, a mean of 1/3, 0.1) keeps the
        # number it stands for, so the change made from it is exact too: 31/48 − 7/12 of 100
        # is 6.25 points, printed +6.3pp, where the floats' difference 6.249999999999994
        # printed +6.2pp, and 19/28 − 22/35 is 5 points, within a band of 5, where the floats'
        # 5.000000000000006 was judged beyond it. Even a float's own binary fraction is kept:
        # its shortest decimal (23559/262144 prints 0.08987045288085938) is not the number.
        return Exact(exact, value)
    return value


# An exact result as kpi carries it (`_figure`), for the modules that make one.
figure = _figure


def difference(current: float, previous: float) -> float:
    """current − previous of the figures as written, rounded once: the absolute change and
    the change in points. 0.3 − 0.1 is 0.2, where the floats' difference is
    0.19999999999999998; two counts' difference stays an int."""
    if isinstance(current, int) and isinstance(previous, int):
        return current - previous
    if not (math.isfinite(current) and math.isfinite(previous)):
        return current - previous
    return _figure(as_written(current) - as_written(previous))


def total_less_parts(total: float, parts: list[float]) -> tuple[float, float]:
    """The sum of `parts` and `total` less that sum, of the figures as written, each rounded
    once: a reconciliation's parts and its difference. £36,705.37 + £77,108.67 + £48,617.29
    is £162,431.33, the total they reconcile to, where the floats' sum is 2.9e-11 short of it
    and a check with no tolerance failed by "0.00". Counts stay whole numbers."""
    if all(isinstance(v, int) for v in (total, *parts)):
        summed = sum(parts)
        return summed, total - summed
    if not all(math.isfinite(v) for v in (total, *parts)):
        summed = sum(parts)
        return summed, total - summed
    exact = sum((as_written(v) for v in parts), Fraction(0))
    return _float(exact), _float(as_written(total) - exact)


def change_percent(current: float, previous: float) -> float | None:
    """The % change from `previous` to `current`, the one rule of every % change kpi prints
    (the engine's, `kpi compare`'s, `kpi show`'s, a paper's part against the rest): one exists
    only from a base above zero. From zero or a negative base there is none (None, printed
    'n/a'): -0.001 to 0.000 divided by its negative base read "-100.0%" beside a rise. It is
    the exact (current − previous) / previous × 100 of the figures as written, rounded once
    (`quotient`): 110 against 100 is 10.0, where the floats' (1.1 - 1.0) / 1.0 × 100 is
    10.000000000000009."""
    if not previous > 0:
        return None
    if not (math.isfinite(current) and math.isfinite(previous)):
        return (current - previous) / previous * 100
    return _float((as_written(current) - as_written(previous)) * 100 / as_written(previous))


def fixed(value: float | None, places: int, grouping: bool = False) -> str:
    """A value printed to `places` decimals (thousands separated by commas with `grouping`) as
    Excel shows it: 26.5 -> "27", 12.25 -> "12.3", 2.675 -> "2.68", -0.05 -> "-0.1", and a
    value that rounds to zero without a minus sign (-0.04 -> "0.0"). "n/a" for None, NaN or an
    infinity."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return format(rounded(value, places), f"{',' if grouping else ''}.{places}f")


def shows_zero(value: float, places: int = 1) -> bool:
    """Whether a change prints as zero (to one decimal place unless told): what the status
    ("stable"), the arrow ("→") and the paper ("unchanged") read as no change."""
    return rounded(value, places).is_zero()


def target_places(target: float, places: int) -> int:
    """The decimals a target prints to: its KPI's `places`, or as many as the target is
    written with where that is more (a target of 89.95 for a KPI of one decimal prints
    "89.95%", not "90.0%", which a figure of 89.96 would then read as missing)."""
    if not math.isfinite(target):
        return places
    exponent = Decimal(repr(float(target))).normalize().as_tuple().exponent
    assert isinstance(exponent, int), "a finite target has a numeric exponent"
    return max(places, min(-exponent, 15))


def places_beside(value: float | None, target: float | None, places: int) -> int:
    """The decimals a figure printed beside its target (and a verdict on it) takes: its own
    `places`, or as many more as it takes for the figure as printed to stand against the
    target as printed (`target_places`) as the figure itself does. The verdict compares the
    unrounded figure, so 89.96% against a target of 90% is missed, and prints "89.96%", not
    "90.0%" beside "90.0%" and a "missed". The one rule of every face that prints a figure
    beside its target (`kpi.render.number`, the workbook's cells); a figure that differs from
    its target only past the 15 significant digits Excel shows keeps its `places`. It is
    `places_apart` with no other figure beside it."""
    return places_apart(value, None, target, places)


class Beside(NamedTuple):
    """The figure printed beside another (a current window's beside its comparison's, a
    part's two windows), and which of the two it is: the change printed beside them is from
    the comparison to the current only, so which is which decides whether it reads as one
    (`reads_changed`). `Beside.comparison(x)`: the figure printed is a current one, beside
    its comparison `x`; `Beside.current(x)`: it is a comparison, beside its current `x`."""

    figure: float | None
    is_comparison: bool

    @classmethod
    def comparison(cls, figure: float | None) -> Beside:
        return cls(figure, True)

    @classmethod
    def current(cls, figure: float | None) -> Beside:
        return cls(figure, False)

    def pair(self, value: float | None) -> tuple[float | None, float | None]:
        """(current, comparison) of `value`, the figure printed, and this one beside it."""
        return (value, self.figure) if self.is_comparison else (self.figure, value)


def _order(a: float | Decimal, b: float | Decimal) -> int:
    return (a > b) - (a < b)


def reads_changed(current: float, comparison: float, places: int,
                  percent: bool = True) -> bool:
    """Whether the change printed beside two figures, from the `comparison` to the `current`,
    reads as a change: their difference (an absolute change, or points) does not print as
    zero at `places`, or, where a % change is printed beside it (`percent`), the % change
    from the comparison to the current (`change_percent`) does not at one decimal. From a
    comparison of zero or below there is no % change ("n/a"), so only the difference reads:
    0.008 against 0.0 per 1,000 reads "0.0 (n/a)" and stable. A status other than stable
    does not imply it at `places`: the status judges the size at the places it prints to
    beside the figures (`change_places`, from `pair_places`), so 0.4% against 0.6% at no
    decimals does not read changed here, yet prints "+0.2pp" and is a rise. Not symmetric:
    the % change the other way, from the current back to the comparison, is never printed."""
    if not shows_zero(difference(current, comparison), places):
        return True
    if not percent:
        return False
    change = change_percent(current, comparison)
    return change is not None and not shows_zero(change)


def change_places(current: float | None, comparison: float | None, places: int,
                  at: int) -> int:
    """The decimals the change printed beside two figures printed to `at` places takes (its
    absolute size, or its points; a % change keeps one decimal): the figures' own `at` where
    they print apart there, else the KPI's `places`. A change beside two figures that read
    apart is never a zero: 0.4% against 0.6% at no decimals printed "0%" and "1%" beside
    "+0pp"; `places_apart` prints them "0.4%" and "0.6%", and the change "+0.2pp"; a rate per
    1,000 of 0.914 against 0.96 printed "1.0 -> 0.9" beside "0.0 (-4.8%)", and prints "0.96
    -> 0.91" beside "-0.05 (-4.8%)". The one rule of the places of every printed change
    beside its two figures."""
    if current is None or comparison is None or not (
            math.isfinite(current) and math.isfinite(comparison)) or current == comparison:
        return places
    return at if rounded(current, at) != rounded(comparison, at) else places


def _agree(current: float, comparison: float, places: int, at: int) -> bool:
    """Whether two figures printed to `at` places print apart exactly where the change
    printed beside them, to `change_places`, does not print as zero: its absolute size or
    points, whatever the % change beside it says (a % change of -4.8% beside "0.0" between
    "1.0" and "0.9" read as two answers)."""
    apart = rounded(current, at) != rounded(comparison, at)
    return apart == (not shows_zero(difference(current, comparison),
                                    change_places(current, comparison, places, at)))


class PairPlaces(NamedTuple):
    """The decimals two figures printed side by side take (`figures`, `places_apart`) and
    the change printed beside them (`change`, `change_places` at the figures' places)."""

    figures: int
    change: int


def pair_places(current: float | None, comparison: float | None, target: float | None,
                places: int, percent: bool = True) -> PairPlaces:
    """`places_apart` of two figures and `change_places` of the change printed beside them,
    from the one rule: every face that prints a change beside its two figures takes both
    from here, so the two never contradict each other."""
    at = places_apart(current, comparison, target, places, percent)
    return PairPlaces(at, change_places(current, comparison, places, at))


def places_apart(current: float | None, comparison: float | None, target: float | None,
                 places: int, percent: bool = True) -> int:
    """The decimals two figures printed side by side take, a `current` window's beside its
    `comparison`'s (a part's two windows), each also beside its `target`: its own `places`,
    or, where the change printed beside them reads as one (`reads_changed`, given whether a
    % change is printed: `percent`), the fewest more at which the two as printed stand to
    each other as the figures do, and each against the target as printed as it does
    (`places_beside`). A per-1,000 rate of 0.48 against 0.5 printed "0.5 -> 0.5" beside
    "-4.0%" and "improving"; it prints "0.48 -> 0.50", beside "-0.02 (-4.0%)". Conversely,
    two figures never print apart beside a change whose size prints as zero: where at
    `places` they would (0.4% and 0.6% to no decimals, "0%" and "1%" beside "+0pp"; rates of
    0.96 and 0.914 per 1,000, "1.0" and "0.9" beside "0.0 (-4.8%)"), they take the fewest
    more places at which they print apart exactly where the change, printed to the same
    places (`change_places`), does not print as zero ("0.4%" and "0.6%", "+0.2pp"; "0.96"
    and "0.91", "-0.05 (-4.8%)"). Two figures whose change
    reads as none keep their places where they print alike: 99.9001% and 99.8999%
    ("0.0pp", stable), and 0.008 against a comparison of 0.0 per 1,000 ("0.0 (n/a)",
    stable), which printed "0.01" beside "0.00" as if the % change back from 0.008 to 0.0
    were printed. Both figures print to the places of the one pair, whichever of them is
    printed (`Beside.pair` gives the pair in this order): the one rule of every face that
    prints two figures side by side. Figures that differ only past the 15 significant digits
    Excel shows keep the places of the target's rule alone. With one figure (either None) it
    is the target's rule alone (`places_beside`)."""
    figures = [v for v in (current, comparison) if v is not None and math.isfinite(v)]
    if not figures:
        return places
    two = len(figures) == 2 and figures[0] != figures[1]
    pair = two and reads_changed(figures[0], figures[1], places, percent)
    aim = target if target is not None and math.isfinite(target) else None
    shown_target = rounded(aim, target_places(aim, places)) if aim is not None else None
    for extra in range(places, places + 16):
        shown = [rounded(v, extra) for v in figures]
        if pair and _order(shown[0], shown[1]) != _order(figures[0], figures[1]):
            continue
        if two and not _agree(figures[0], figures[1], places, extra):
            continue
        if aim is not None and shown_target is not None and any(
                _order(s, shown_target) != _order(v, aim) for s, v in zip(shown, figures,
                                                                          strict=True)):
            continue
        return extra
    return places_apart(current, None, target, places) if pair else places


def places_together(values: Sequence[float | None], places: int, in_order: bool = False,
                    target: float | None = None, target_at: int | None = None) -> int:
    """The decimals figures printed together take (a process chart's mean, limits and 2-sigma
    lines), all to the same places: `places`, or the fewest more at which each two of them
    that differ print differently, so, rounding being monotone, in the order they stand. A
    lower limit of 0.46 and an upper of 0.54 printed "0.5 to 0.5"; they print "0.46 to 0.54".
    `in_order` (a trend's column of months) parts each figure from the one before it (a
    missing month, None, parts none), not from every other: two months a year apart may
    print alike. Printed beside a `target` (which prints to `target_at` places, by default
    `target_places`), each figure also stands against the target as printed as it stands
    against the target, as `places_beside` has one figure do: a lower process limit of 89.96
    printed "90.0%" beside a target of "90.0%"; it prints "89.96%". Figures that differ only
    past the 15 significant digits Excel shows print alike at any places, and leave `places`
    as it is; so does a figure that differs from the target only there."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    figures = [v for v in values] if in_order else sorted(set(finite))
    finest = places + 15
    # Neighbours that some places part (none part two alike to 15 significant digits).
    parted = [(a, b) for a, b in zip(figures, figures[1:], strict=False)
              if a is not None and b is not None and math.isfinite(a) and math.isfinite(b)
              and rounded(a, finest) != rounded(b, finest)]
    # Each figure that some places set against the target as printed as it stands against
    # the target, with the side it stands on.
    against: list[tuple[float, int]] = []
    shown_target = Decimal(0)
    if target is not None and math.isfinite(target):
        shown_target = rounded(target, target_places(target, places) if target_at is None
                               else target_at)
        against = [(v, _order(v, target)) for v in set(finite)
                   if _order(rounded(v, finest), shown_target) == _order(v, target)]
    for extra in range(places, finest + 1):
        if all(rounded(a, extra) != rounded(b, extra) for a, b in parted) and all(
                _order(rounded(v, extra), shown_target) == side for v, side in against):
            return extra
    return places


def _read_right(row: tuple[float | None, float | None], target: float | None, places: int,
                percent: bool, at: int) -> list[bool]:
    """Whether, printed to `at` places, a row's figure and the one beside it stand to each
    other as the figures do (where their change reads as one, `reads_changed` at `places`),
    print apart only where the change's size beside them does not print as zero (`_agree`),
    and each stands against the target as printed (`target_places`) as it does:
    `places_apart`'s tests, one answer each."""
    figures = [v for v in row if v is not None and math.isfinite(v)]
    tests = []
    if len(figures) == 2 and figures[0] != figures[1]:
        if reads_changed(figures[0], figures[1], places, percent):
            tests.append(_order(rounded(figures[0], at), rounded(figures[1], at))
                         == _order(figures[0], figures[1]))
        tests.append(_agree(figures[0], figures[1], places, at))
    if target is not None and math.isfinite(target):
        shown = rounded(target, target_places(target, places))
        tests += [_order(rounded(v, at), shown) == _order(v, target) for v in figures]
    return tests


def places_ranked(column: Sequence[float | None], places: int,
                  rows: Sequence[tuple[float | None, float | None]] = (),
                  target: float | None = None, percent: bool = True) -> int:
    """The one number of places a table's columns print to where the table ranks its rows by
    `column` (a breakdown's parts by their current figure, `kpi compare`'s parts by their
    value or per 1,000): the fewest, from the most any row takes alone (`places_apart` of
    its figure beside the other of its `rows`, a part's current and comparison, and its
    `target`), at which every two figures of `column` that differ print differently
    (`places_together`), and each row's two still stand to each other and to the target
    as they do at the places they take alone. Rounding being monotone, the rows then read
    in the order they are ranked, and two parts read as a tie only where their figures are
    one: rates per 1,000 of 0.46 and 0.54 printed "0.5" and "0.5" in a ranked column; they
    print "0.46" and "0.54". No `column` (a table ranked by another) gives its columns one
    number of places, as a trend's column takes (`places_together` with `in_order`).
    Figures that differ only past the 15 significant digits Excel shows print alike."""
    alone = [places_apart(a, b, target, places, percent) for a, b in rows]
    start = max([places, *alone])
    held = [_read_right(row, target, places, percent, at)
            for row, at in zip(rows, alone, strict=True)]
    for extra in range(start, start + 16):
        if places_together(column, extra) != extra:
            continue
        if all(now or not before for row, was in zip(rows, held, strict=True)
               for now, before in zip(_read_right(row, target, places, percent, extra), was,
                                      strict=True)):
            return extra
    return places_together(column, start)


def mean_of(values: list[float]) -> float:
    """The mean of figures as written, rounded once: `kpi compare`'s mean of its parts. 0.1
    and 0.2 average 0.15, where `statistics.fmean` gives 0.15000000000000002."""
    if not all(math.isfinite(v) for v in values):
        return math.fsum(values) / len(values)
    return _figure(sum((as_written(v) for v in values), Fraction(0)) / len(values))


def median_of(values: list[float]) -> float:
    """The median of figures as written, rounded once: the middle one, or halfway between the
    two middle ones (0.1 and 0.2 give 0.15, where the floats' halfway is 0.15000000000000002);
    `kpi compare`'s median of its parts."""
    if not all(math.isfinite(v) for v in values):
        ordered = sorted(values)
        middle = len(ordered) // 2
        return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1]
                                                         + ordered[middle]) / 2
    ordered = sorted(values, key=as_written)
    middle = len(ordered) // 2
    if len(ordered) % 2:  # the figure itself: a count's stays a whole number
        return ordered[middle]
    return _figure((as_written(ordered[middle - 1]) + as_written(ordered[middle])) / 2)
