"""Turning engine results into text: numbers in the report's style, JSON, CSV and Rich tables.

Rounding happens only at display, by one rule (`fixed`, from `kpi.rounding`: Excel's, half away
from zero on the value to 15 significant digits); JSON and CSV carry full precision.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from kpi.catalogue import (
    WHOLE_KINDS,
    Kind,
    KpiDef,
    PopulationSource,
    Unit,
    own_places,
    places,
    prints_percent_change,
)
from kpi.errors import visible
from kpi.rounding import (
    EXCEL_DIGITS,
    Beside,
    fixed,
    places_apart,
    places_ranked,
    places_together,
    rounded,
    shows_zero,
)

# The engine imports Polars; the renderers only need its result types, and `kpi --help` (which
# imports Format) must not pay for Polars.
if TYPE_CHECKING:
    from kpi.catalogue import Project
    from kpi.engine import Change, Covered, KpiResult, Measured, Report
    from kpi.verdicts import Verdict

# Status words as the engine writes them (engine.Outcome), kept as plain strings here.
STATUS_STYLE = {
    "improving": "green",
    "deteriorating": "red",
    "stable": "",
    "changed": "yellow",
    "in_development": "dim",
    "no_data": "dim",
    "stale": "magenta",
}
STATUS_WORDS = {
    "improving": "improving", "deteriorating": "deteriorating", "stable": "stable",
    "changed": "changed", "in_development": "in development", "no_data": "no data",
    "stale": "stale",
}


# ---------------------------------------------------------------------------------------------
# Numbers


def duration(seconds: float, places: int = 0) -> str:
    """h:mm:ss, or m:ss under an hour; to `places` decimals of a second where a figure beside
    its target needs them (`shown_places`): '10:00.4'."""
    magnitude = rounded(abs(seconds), places)
    total = int(magnitude)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    # Fixed-point: a Decimal's str() of 2E-7 is "2E-7" ("0:00E-7" for 0.0000002 s).
    fraction = format(magnitude - total, f".{places}f")[1:] if places > 0 else ""
    sign = "-" if seconds < 0 and magnitude else ""
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{secs:02d}{fraction}"
    return f"{sign}{minutes}:{secs:02d}{fraction}"


def printed_target(kpi: KpiDef) -> tuple[float | None, int | None]:
    """A KPI's target where it prints one (a finite `target`), and the places it prints to
    (`shown_places`): what figures printed together beside it stand against
    (`kpi.rounding.places_together`'s `target` and `target_at`)."""
    target = kpi.target if kpi.target is not None and math.isfinite(kpi.target) else None
    return target, None if target is None else shown_places(target, kpi)


def shown_places(value: float | None, kpi: KpiDef, beside: Beside | None = None) -> int:
    """The decimals a KPI's figure prints to: its one precision (`places`), or, for a KPI with
    a target, as many more as it takes for the figure to stand against the target as printed
    as it stands against the target itself: the verdict on the target compares the unrounded
    figure, so 89.96% prints so beside a target of 90.0% and "not met", never "90.0%". The
    target prints as it is written, to the KPI's places or more. A figure printed `beside`
    another (a current window and its comparison, saying which is which) takes as many more
    as it takes for the two to read apart where the change printed beside them reads as one,
    both to the same places: "0.52 -> 0.50", never "0.5 -> 0.5" beside "-3.0%"
    (`kpi.rounding.places_apart`, the one rule). A duration's own places are none (whole
    seconds), whatever its `decimals`."""
    own = own_places(kpi)
    current, comparison = beside.pair(value) if beside is not None else (value, None)
    return places_apart(current, comparison, kpi.target, own,
                        prints_percent_change(kpi.unit))


def change_digits(result: KpiResult) -> int:
    """The decimals a KPI's change (its absolute size or points; a % change keeps one)
    prints to beside its two windows' figures: the places the engine made it at and judged
    its status at (`Change.places`, from `catalogue.change_places_of`: the KPI's places, or,
    where the two print apart while the change reads as none there, the figures' own):
    "0.4%" and "0.6%" beside "+0.2pp", never "0%" and "1%" beside "+0pp". Without a change,
    the KPI's own places. A result's change is always its figures' (`engine.underived`)."""
    if result.change is None:
        return own_places(result.kpi)
    return result.change.places


def other_window(measured: Measured | None, result: KpiResult) -> Beside | None:
    """The figure printed beside a window's figure, for `beside`: the comparison's beside the
    current's and the current's beside the comparison's (None without it)."""
    if measured is result.current:
        return (Beside.comparison(result.comparison.value) if result.comparison is not None
                else None)
    return Beside.current(result.current.value) if result.current is not None else None


# A unit's name after a number is singular only where the number as printed reads one ("1
# day", "−1 working day"); any other figure takes the plural ("0 days", "1.0 days", "2
# days"), and so does a label that counts in a scale word ("1 million days": a million of them).
SCALE_WORDS = frozenset({"thousand", "million", "billion"})


def unit_word(shown: str, plural: str) -> str:
    """The unit's name, singular or plural, after the number `shown` as printed: 'day' after
    '1', 'days' after '1.0' or '2'; `plural` is how the unit is named of many ('days',
    'working days', 'million days'), and its singular drops the last word's 's'."""
    magnitude = shown.strip().lstrip("+-\u2212\u2060")
    words = plural.split(" ")
    # 'per 1,000 residents' names what the figure is per, which stays plural after '1'
    if magnitude != "1" or not words[-1].endswith("s") or SCALE_WORDS & set(words) \
            or "per" in words:
        return plural
    return " ".join([*words[:-1], words[-1][:-1]])


def counted(shown: str, plural: str) -> str:
    """A printed number with its unit's name, one rule for every face: '1 day', '27 days'."""
    return f"{shown} {unit_word(shown, plural)}"


def unit_name(of: Unit | KpiDef) -> str:
    """The name of the unit a KPI's figures are counted in, as every face prints it after a
    figure (the plural: `unit_word` gives the singular): the catalogue's `unit_label` where it
    declares one ('working days', 'million days'), else 'days' for a KPI in days; '' for any
    other unit, whose figures carry their own sign (%, £, m:ss) or none. The one source of
    the word: the text faces (`number`, `value_words`), the workbook's number formats, the
    charts' axes and the machine faces' `unit_label` all read it, so a KPI declared in working
    days is never printed in plain "days" by one of them."""
    if isinstance(of, Unit):
        return "days" if of == Unit.DAYS else ""
    return of.unit_label or ("days" if of.unit == Unit.DAYS else "")


def without_unit(text: str, of: Unit | KpiDef = Unit.DAYS) -> str:
    """A figure as printed, without its unit's name (`unit_name`): '27 days', '1 day' and
    '27 working days' to '27' and '1' (a change's absolute size is given without the word)."""
    name = unit_name(of)
    if not name:
        return text
    return re.sub(f" (?:{re.escape(name)}|{re.escape(unit_word('1', name))})$", "", text)


def pounds(amount: str, suffix: str = "") -> str:
    """An amount written as a number ("-5", "82.2") in pounds: the sign before the pound sign,
    as Excel shows it ("-£5", "£82.2m" with `suffix` "m")."""
    if amount.startswith("-"):
        return f"-£{amount[1:]}{suffix}"
    return f"£{amount}{suffix}"


def number(value: float | None, unit: Unit | KpiDef, *, change: bool = False,
           beside: Beside | None = None, digits: int | None = None) -> str:
    """A value as the report shows it. Given the KPI (not only its unit), to the KPI's one
    precision (`places`), and beside its target, or `beside` the figure printed next to it, to
    as many more as it takes to differ from them (`shown_places`); a bare unit shows a count
    whole when it is whole. A `change` (an absolute change, never read against the target)
    keeps the KPI's places. `digits`, where given, are the places (`together`'s). A figure
    in days is followed by its unit's name, the KPI's `unit_label` where it declares one
    (`unit_name`: "27 working days")."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    given = digits
    name = unit_name(unit)  # 'days', or the KPI's `unit_label` ('working days')
    if not isinstance(unit, Unit):
        kpi, unit = unit, unit.unit
        digits = places(kpi) if change else shown_places(value, kpi, beside)
    if given is not None:
        digits = given
    match unit:
        case Unit.PERCENT:
            return f"{fixed(value, 1 if digits is None else digits)}%"
        case Unit.SECONDS:
            # Whole seconds, or more where its target needs them (`shown_places`).
            return duration(value, digits if digits is not None
                            and (not change or given is not None) else 0)
        case Unit.DAYS if digits is not None:
            return counted(fixed(value, digits, grouping=True), name)
        case Unit.DAYS:
            return counted(fixed(value, 0 if float(value).is_integer() else 1, grouping=True),
                           name)
        case Unit.RATIO:
            return fixed(value, 1 if digits is None else digits)
        case Unit.GBP:
            return pounds(fixed(value, 0 if digits is None else digits, grouping=True))
        case Unit.COUNT if digits is not None:
            return fixed(value, digits, grouping=True)
        case Unit.COUNT:
            return fixed(value, 0 if float(value).is_integer() else 1, grouping=True)
        case _:
            return fixed(value, 1 if digits is None else digits, grouping=True)


def statistic(value: float | None, kpi: KpiDef, digits: int | None = None) -> str:
    """A statistic of a KPI's months (a process chart's mean, limits and 2-sigma lines) as
    printed: in its unit to `digits` places, or a bare unit's own (`bare_places`: a mean of
    whole counts keeps its decimal), its unit named as the KPI's figures are (`unit_name`):
    "141.0 working days", where "141.0 days" was printed of a KPI in working days."""
    text = number(value, kpi.unit, digits=digits)
    if value is None or kpi.unit != Unit.DAYS or text == "n/a":
        return text
    return counted(without_unit(text, kpi.unit), unit_name(kpi))


def bare_places(value: float, unit: Unit) -> int:
    """The decimals `number` prints a figure of a bare unit to (no KPI): a count and days
    whole when whole, else to one; pounds and durations whole; anything else to one."""
    if unit in (Unit.COUNT, Unit.DAYS):
        return 0 if float(value).is_integer() else 1
    return 0 if unit in (Unit.GBP, Unit.SECONDS) else 1


def together(values: Sequence[float | None], unit: Unit,
             beside: KpiDef | None = None) -> int | None:
    """The places figures of a bare unit printed as one set take (a process chart's mean,
    limits and 2-sigma lines), printed `beside` a KPI's target where it has one: None where
    each, at its own places (`bare_places`), already reads apart from every figure it differs
    from, and stands against the target as printed (`number`'s) as it stands against the
    target, so it prints as before; else one number of places for all, the fewest at which
    they do (`kpi.rounding.places_together`). A per-1,000 rate's limits 0.46 and 0.54 printed
    "0.5 to 0.5"; they print "0.46 to 0.54". A lower limit of 89.96% printed "90.0%" beside a
    target of "90.0%"; it prints "89.96%"."""
    figures = [v for v in values if v is not None and math.isfinite(v)]
    if not figures:
        return None
    # Never fewer places than the KPI's own `decimals`, which every figure of it prints to:
    # a mean of months of 0.040 printed "0.0" beside windows of "0.040".
    least = beside.decimals if beside is not None and beside.decimals is not None else 0

    def alone(v: float) -> int:
        return max(bare_places(v, unit), least)

    own = max(alone(v) for v in figures)
    target, target_at = printed_target(beside) if beside is not None else (None, None)
    common = places_together(figures, own, target=target, target_at=target_at)
    at_own = {rounded(v, alone(v)) for v in set(figures)}
    at_common = {rounded(v, common) for v in set(figures)}
    stands = target is None or target_at is None or all(
        _side(rounded(v, alone(v)), rounded(target, target_at)) == _side(v, target)
        for v in figures)
    bare = all(alone(v) == bare_places(v, unit) for v in figures)
    return None if len(at_own) >= len(at_common) and stands and bare else common


def _side(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


def column_places(values: Sequence[Any], kpi: KpiDef) -> int:
    """The one number of places a column of a KPI's figures in time order prints to (a
    trend's months, its rolling 12 months): the most any of them takes alone (its KPI's
    `places`, or more beside its target, `shown_places`), or more, the fewest at which each
    month that differs from the month before prints differently from it
    (`kpi.rounding.places_together`). Months of 0.46 and 0.54 per 1,000 printed "0.5" and
    "0.5" under a sparkline that rose; they print "0.46" and "0.54". Each month also stands
    against the target as printed at the column's places as it does against the target: a
    mean of 0.005% beside 0.02% printed "0.01%" under a target of "0.006%" that it misses
    (each figure alone stood right at its own places, and more places are not always as
    right: 0.005 reads below 0.006 at one place and above it at two)."""
    figures = [v for v in values if v is not None and math.isfinite(v)]
    own = max((shown_places(v, kpi) for v in figures),
              default=own_places(kpi))
    target, target_at = printed_target(kpi)
    return places_together(list(values), own, in_order=True, target=target,
                           target_at=target_at)


def ranked_places(column: Sequence[float | None], kpi: KpiDef,
                  rows: Sequence[tuple[float | None, float | None]] = ()) -> int:
    """The one number of places a table that ranks its rows by `column`, a KPI's figures,
    prints them to, and the figures printed with them (`rows`: each part's current and
    comparison): the most any row takes alone (`shown_places` beside its other), or more,
    the fewest at which two figures of the column that differ print differently
    (`kpi.rounding.places_ranked`). Parts of 0.46 and 0.54 per 1,000 printed "0.5" and "0.5"
    ranked one above the other; they print "0.46" and "0.54". An empty `column` (a table
    ranked on another) gives the rows' figures one number of places."""
    own = own_places(kpi)
    return places_ranked(column, own, rows, kpi.target, prints_percent_change(kpi.unit))


def ranked_digits(values: Sequence[float | None], kpi: KpiDef) -> int | None:
    """The places a list of a KPI's figures ranked or named highest and lowest (a chart's
    bars, the paper's highest parts) prints them to: None where each, at its own places
    (`number`), already prints apart from every figure it differs from, so it prints as
    before; else one number of places for all, the fewest at which they do
    (`ranked_places`): parts of 0.54 and 0.46 per 1,000 read "0.5" and "0.5", one said to
    be the highest."""
    figures = {v for v in values if v is not None and math.isfinite(v)}
    if not figures:
        return None
    digits = ranked_places(list(figures), kpi, [(v, None) for v in figures])
    at_own = {number(v, kpi) for v in figures}
    return None if len(at_own) >= len({number(v, kpi, digits=digits) for v in figures}) \
        else digits


def prints_zero(text: str, of: KpiDef | None = None) -> bool:
    """Whether a figure as printed shows as zero (no digit 1-9 in it), judged on the figure
    alone: the label a KPI's figures carry after them (`unit_label`, 'per 1,000 population',
    'times') is not part of it. The one rule of every face's sign on printed text (a value's
    is `rounding.shows_zero`): a change that shows as zero has none ('\u22120.0 per 1,000
    residents' read the '1,000' of the label as a figure)."""
    if of is not None:
        label = of.unit_label or ""
        for after in sorted({label, unit_word("1", label) if label else "",
                             "per 1,000 population", "per 1,000", "times"} - {""},
                            key=len, reverse=True):
            if text.endswith(f" {after}"):
                text = text[:-len(after) - 1]
                break
    return not any(char in "123456789" for char in text)


def signed(value: float, text: str) -> str:
    """Prefix '+' to a displayed change; a change that shows as zero gets no sign at all."""
    if prints_zero(text):
        return text.lstrip("-")
    if text.startswith("-"):
        return text
    return ("+" if value > 0 else "") + text


def percent_change(percent: float | None) -> str:
    """A % change as printed: '+0.8%', '-16.6%', 'n/a' for none (a base of zero or below)."""
    return "n/a" if percent is None else signed(percent, f"{fixed(percent, 1)}%")


def points_change(points: float | None, unit: Unit | KpiDef, digits: int | None = None) -> str:
    """A change in percentage points as printed, to the KPI's precision: '+6.8pp'; to
    `digits` where given (beside its two figures, `change_digits`)."""
    if digits is None:
        digits = 1 if isinstance(unit, Unit) else places(unit)
    return "n/a" if points is None else signed(points, f"{fixed(points, digits)}pp")


def change_text(change: Change | None, unit: Unit | KpiDef, digits: int | None = None) -> str:
    """'+208 (+0.8%)', '+6.8pp', '-2:04 (-16.6%)', '+12 (n/a)' from a base of zero or below;
    its size or points to `digits` where given (beside its two figures: `change_digits`),
    else to the places it was made at beside its two figures (`Change.places`, those its
    status is judged at); the % change to one decimal."""
    if change is None:
        return "n/a"
    if digits is None:  # the places its status is judged at (engine.Change.places)
        digits = change.places
    if change.points is not None:
        return points_change(change.points, unit, digits)
    size = change.absolute
    assert size is not None, "a change not in points has an absolute size"
    if (unit if isinstance(unit, Unit) else unit.unit) == Unit.RATIO:
        return signed(size, fixed(size, digits))
    absolute = signed(size, without_unit(number(size, unit, change=True, digits=digits), unit))
    return f"{absolute} ({percent_change(change.percent)})"


def column_title(column: str | None) -> str:
    """A breakdown column as a reader names it: 'lpa' -> 'LPA', 'outcome_code' -> 'Outcome
    code'."""
    text = str(column or "")
    if len(text) <= 3:
        return text.upper()
    return text.replace("_", " ").capitalize()


def dataset_column_label(project: Project, dataset_id: str, column: str) -> str:
    """A dataset's column as every face names it (the paper's `column_label`): its declared
    label, else its name in words."""
    spec = project.datasets[dataset_id].column(column)
    label = column_title(column)
    return spec.label if spec is not None and spec.label \
        else label if len(label) <= 3 else label.lower()


def shared_column_label(project: Project, dataset_id: str, column: str) -> str:
    """A column several datasets may hold (a force), as a sentence on all of them names it:
    the dataset's declared label, else the first other dataset's (by id) declaring one for
    a column of that name, else its name in words. Three forces' figures of two datasets, the
    column labelled "police force" in one, were said "By force" of the other's."""
    own = project.datasets[dataset_id].column(column)
    if own is None or not own.label:
        for other in sorted(project.datasets):
            spec = project.datasets[other].column(column)
            if spec is not None and spec.label:
                return spec.label
    return dataset_column_label(project, dataset_id, column)


# The parts a sentence names before "and N more" (the paper's, and the line under a table).
PARTS_NAMED = 5


def parts_words(parts: Sequence[str | None], label: str) -> str:
    """Parts of a column as a line lists them, as the paper does (`kpi.paper._parts_listed`):
    the first few by name, "and N more", and "rows with no LABEL" for None."""
    named = [p for p in parts if p is not None]
    listed = named[:PARTS_NAMED]
    if len(named) > len(listed):
        listed.append(f"{len(named) - len(listed):,} more")
    if None in parts:
        listed.append(f"rows with no {label}")
    return spoken_list(listed)


def covers_lines(results: Sequence[KpiResult]) -> list[str]:
    """What the figures add together, said once for each column telling parts of the data
    apart whose rows some figure adds from more than one part (`KpiResult.covers`, made by
    `kpi.compare.with_covers`), in the paper's words where every figure does: "By force, each
    figure is that of every part the data holds together (A, B and C), not of any one of
    them alone."; else naming the KPIs whose figures do ("each figure of Burglary and
    Robbery is ..."). None where no figure adds several. The same words under the terminal's
    tables, the Markdown summary and `kpi show`."""
    figured = [r for r in results if r.current is not None and r.current.value is not None]
    said: dict[tuple[str, tuple[str | None, ...]], list[str]] = {}
    for result in figured:
        for covered in result.covers:
            if len(covered.parts) > 1:
                said.setdefault((covered.label, covered.parts), []).append(result.kpi.title)
    lines = []
    for (label, parts), titles in said.items():
        if len(titles) == len(figured) and len(titles) > 1:
            whose = "each figure is"
        elif len(titles) == 1:
            whose = f"the figure of {titles[0]} is"
        else:
            named = titles[:PARTS_NAMED]
            more = len(titles) - len(named)
            whose = "each figure of " + spoken_list(
                named + ([f"{more:,} more KPI{'s' if more > 1 else ''}"] if more else [])) \
                + " is"
        lines.append(f"By {label}, {whose} that of every part the data holds together "
                     f"({parts_words(parts, label)}), not of any one of them alone.")
    return lines


def spoken_list(items: list[str]) -> str:
    """'A', 'A and B', 'A, B and C': a list as a sentence says it."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"



# ---------------------------------------------------------------------------------------------
# A KPI's figures in prose: the paper's sentences, its alt text and peer sentence


def duration_words(seconds: float, places: int = 0) -> str:
    """'12 minutes and 29 seconds', '1 hour, 9 minutes and 17 seconds', '23 seconds'; the
    seconds to `places` decimals where a figure beside its target needs them ('9 minutes and
    59.6 seconds', shown_places)."""
    magnitude = rounded(abs(seconds), places)
    total = int(magnitude)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    fraction = magnitude - total
    parts = [f"{n} {unit}{'' if n == 1 else 's'}"
             for n, unit in ((hours, "hour"), (minutes, "minute")) if n]
    if secs or fraction:
        parts.append(f"{secs}{str(fraction)[1:] if fraction else ''} "
                     f"second{'' if secs == 1 and not fraction else 's'}")
    if not parts:
        return "0 seconds"
    said = spoken_list(parts)
    # A negative duration (a mean of arrivals before their time) keeps its sign: "30 seconds"
    # was said of -30, the figure's opposite. A change is said by its size, with its own word
    # for the direction ("a decrease of"), so none passes a negative here.
    return f"minus {said}" if seconds < 0 else said


def value_words(value: float | None, of: Unit | KpiDef, label: str = "",
                change: bool = False, beside: Beside | None = None,
                digits: int | None = None) -> str:
    """A value as prose shows it: as `kpi summary` rounds it (given the KPI, to its one
    precision, places), durations in words, millions of pounds as '£82.2m', and the
    KPI's `unit_label` where it names the unit ('27 working days', '41.4 million days').
    Beside its target, a figure to as many more places as it takes to differ from it
    (shown_places), and `beside` the figure printed next to it to as many as it takes
    to read apart from it; a `change` is never read against the target. `digits`, where
    given, are the places (figures printed together, `together`), in full pounds."""
    unit = of if isinstance(of, Unit) else of.unit
    if value is not None and unit == Unit.SECONDS:
        return duration_words(value, digits if digits is not None
                              else 0 if isinstance(of, Unit) or change
                              else shown_places(value, of, beside))
    # Millions of pounds to one decimal are not said of a KPI with a target: its figure and
    # target print whole, where "£82.2m" beside a target of "£82.2m" could not say "missed".
    other = beside.figure if beside is not None else None
    if value is not None and unit == Unit.GBP and abs(value) >= 1_000_000 and (
            digits is None) and (change or not isinstance(of, KpiDef) or of.target is None) and (
            other is None or fixed(value / 1_000_000, 1)
            != fixed(other / 1_000_000, 1) or value == other):
        # the sign before the pound sign, as `number` writes "-£5" ("£-2.5m" was said)
        return pounds(fixed(value / 1_000_000, 1, grouping=True), "m")
    text = number(value, of, change=change, beside=beside, digits=digits)
    if label and value is not None:
        text = counted(without_unit(text, of), label)
    return text


def kpi_value(value: float | None, kpi: KpiDef, change: bool = False,
              beside: Beside | None = None, digits: int | None = None) -> str:
    """A KPI's value in prose, in its own unit's words: every value and every change the prose
    prints comes through here, so each carries its unit ('102.6 per 1,000 population', '27
    working days'; a percentage, a duration or an amount in pounds by its own sign)."""
    text = value_words(value, kpi, kpi.unit_label, change, beside, digits)
    if value is not None and (kpi.kind == Kind.PER_1000 or kpi.unit == Unit.PER_1000) \
            and not kpi.unit_label:
        # a population divides only a per_1000 KPI: a share or a value in per_1000 is per
        # 1,000 of what it counts, which its title names
        text += " per 1,000 population" if kpi.kind == Kind.PER_1000 else " per 1,000"
    elif value is not None and kpi.unit == Unit.RATIO and not kpi.unit_label:
        text += " times"
    return text


def arrow(change: Change | None) -> str:
    """The direction of the size the status is judged on (engine.status_of): points, else the
    % change, else the absolute change, so a per-1,000 figure moving 0.03 (1.2%) points the way
    its 'improving' says instead of reading flat. Flat when that size prints as zero: points or
    an absolute change (a ratio, or no % from a base of zero or below) at the places it prints
    to beside its two figures (`Change.places`), a % change at one decimal: as the status
    judges it."""
    if change is None:
        return " "
    size = next((v for v in (change.points, change.percent, change.absolute) if v is not None),
                0.0)
    if shows_zero(size, 1 if change.percent is not None else change.places):
        return "→"
    return "↑" if size > 0 else "↓"


# ---------------------------------------------------------------------------------------------
# Structured outputs


def window_json(measured: Measured | None, kpi: KpiDef,
                labelled: bool = True) -> dict[str, Any] | None:
    """One window of a KPI (or of one part of it) for JSON: its figure through `figure_json`,
    its numerator and denominator through `json_number`, so a whole count reads `30` on every
    face (the summary, `kpi show`, `kpi compare`, whose windows carry no `label`)."""
    if measured is None:
        return None
    return {**({"label": measured.window.label} if labelled else {}),
            "start": str(measured.window.start), "end": str(measured.window.end),
            "value": figure_json(measured.value, kpi),
            "numerator": json_number(measured.numerator, Unit.COUNT),
            "denominator": json_number(measured.denominator, Unit.COUNT)}


def change_json(change: Change | None, kpi: KpiDef, note: str | None) -> dict[str, Any]:
    """A change for JSON, of a KPI or of one part of it: its absolute change a figure of the
    KPI (`figure_json`), its percent and points as they are (null for NaN), and `note`, why
    there is none (engine.no_change)."""
    return {"absolute": figure_json(change.absolute, kpi) if change else None,
            "percent": _plain(change.percent) if change else None,
            "points": _plain(change.points) if change else None,
            "note": note}


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_number(value: Any, unit: Unit, kind: Kind | None = None) -> Any:
    """A number for JSON: None for NaN and infinity, and a whole count as an integer (3131,
    not 3131.0) so that counts read as counts everywhere.

    An integer says the figure is that whole number. A float of a kind whose figures are
    whole (`WHOLE_KINDS`; `kind` None: a numerator or denominator, rows counted) is one; a
    float of any other kind (a mean, a median) from 10**15, where a float no longer holds
    the units, need not be: the float nearest a mean of 4503599627370497.5 is
    4503599627370498.0, which as 4503599627370498 would be a figure no rows average to. It
    stays the float it is (printed by Excel's rule, to 15 significant digits, as the summary
    prints it); a whole figure of such a kind is carried as an int (`rounding._figure`).

    Past 2**53 no float says which whole number it was made from, whatever the kind: a
    month of a sum, 54043195528446033, is the float 5.404319552844603e+16 on a process
    chart, whose int is 54043195528446032, a figure no rows add to. It stays a float; a
    whole number held exactly past 2**53 is an int already and passes as it is. A negative
    zero (a float column's `-0`) is 0, as every other face prints it."""
    value = _plain(value)
    if isinstance(value, float) and value == 0:
        value = 0.0
    if unit == Unit.COUNT and isinstance(value, float) and value.is_integer() \
            and abs(value) <= 2**53 and (
            kind is None or kind in WHOLE_KINDS or abs(value) < 10**EXCEL_DIGITS):
        return int(value)
    return value


def figure_json(value: Any, kpi: KpiDef) -> Any:
    """One of a KPI's figures for JSON (and for the tables made from it): `json_number` in
    its unit, knowing whether its kind's figures are whole numbers."""
    return json_number(value, kpi.unit, kpi.kind)


def average_json(value: Any, kpi: KpiDef) -> Any:
    """A mean or median of a KPI's figures (`kpi compare`'s mean and median of its parts) for
    JSON: `json_number` in the KPI's unit, whole where it is whole (the mean of 30 and 60
    counted is `45`), but read as a mean whatever the KPI's kind, so from 10**15 a float
    stays the float it is (a mean of two counts can be no whole number)."""
    return json_number(value, kpi.unit, Kind.MEAN)


def verdict_json(verdict: Verdict | None, kpi: KpiDef | None = None) -> dict[str, Any]:
    """The signal-or-noise fields of one KPI (docs/json.md): significance, variation, target,
    target_met and assurance. `significance.reason` says why no test applies, or what a test
    rests on that kpi cannot check (`trusted_test`)."""
    from kpi import stats

    if verdict is None:
        return {"significance": None, "variation": None, "target": None, "target_met": None,
                "assurance": None}
    test = verdict.significance
    significance = None
    if test is not None:
        tested = test.test != stats.NOT_TESTED
        reason = test.note if not tested else (
            stats.ON_TRUST if kpi is not None and trusted_test(kpi, verdict) else None)
        significance = {"test": test.test if tested else None,
                        "statistic": _plain(test.statistic), "p_value": _plain(test.p_value),
                        "significant": test.significant, "reason": reason}
    var = verdict.variation
    variation = None if var is None else {
        "verdict": var.verdict, "rule": var.rule, "mean": var.mean, "lower": var.lower,
        "upper": var.upper, "points": var.points, "trial": var.trial,
        "baseline": list(var.baseline)}
    return {"significance": significance, "variation": variation, "target": verdict.target,
            "target_met": verdict.target_met, "assurance": verdict.assurance}


def trusted_test(kpi: KpiDef, verdict: Verdict | None) -> bool:
    """Whether a KPI's change was tested as two proportions on the catalogue's word alone: a
    rate of two KPIs declared `numerator_within_denominator = true` that kpi cannot prove
    nested, whose two totals have no rows in common to check it against (`stats.ON_TRUST`)."""
    from kpi import stats

    test = verdict.significance if verdict is not None else None
    return kpi.within_on_trust and test is not None and test.test == stats.TWO_PROPORTIONS


def target_source(kpi: KpiDef) -> str:
    """' (illustrative: ...)', ' (source)' or ' (source not stated)' after a printed target:
    a target is never printed without saying whose it is, and an illustrative one never
    reads as the plan's. The paper's words, and the terminal summary's and `kpi show`'s; the
    machine faces carry the same as fields (`provenance`)."""
    if kpi.target_illustrative:
        return " (illustrative" + (f": {_after_illustration(kpi.target_source)}"
                                   if kpi.target_source else "") + ")"
    return f" ({kpi.target_source})" if kpi.target_source else " (source not stated)"


def _after_illustration(text: str) -> str:
    # "an illustration: forces set their own" reads once: "(illustrative: forces set ...)".
    for lead in ("an illustration: ", "illustrative: ", "an illustration; "):
        if text.lower().startswith(lead):
            return text[len(lead):]
    return text


def population_words(source: PopulationSource) -> str:
    """'illustrative, not published figures (...)', 'from the 2021 Census' or 'source not
    stated': where populations come from, in the paper's words (`source_sentence`)
    and `kpi show`'s Definition."""
    if source.illustrative:
        return "illustrative, not published figures" + (f" ({source.source})" if source.source
                                                        else "")
    return f"from {source.source}" if source.source else "source not stated"


def source_sentence(subject: str, source: PopulationSource | None) -> str:
    """' {subject} illustrative, not published figures (...).' or ' {subject} from ...': where
    populations come from, said after the figure that divides by them (a KPI's [population]
    figures, `kpi.paper.population_sentence`; the [population_by] file of its peers' rates
    per 1,000, `kpi.compare.peer_sentence`); "" where they declare neither."""
    if source is None or not (source.illustrative or source.source):
        return ""
    return f" {subject} {population_words(source)}."


# Kinds whose figures divide by `[population]` figures (their sources: KpiDef.population_*).
DIVIDES_BY_POPULATION = frozenset({Kind.PER_1000, Kind.RATIO_OF_RATES})
# The provenance fields, in the order every face carries them (docs/json.md).
PROVENANCE_FIELDS = ("target_source", "target_illustrative", "population_source",
                     "population_illustrative")


def population_fields(source: PopulationSource | None) -> dict[str, Any]:
    """`population_source` and `population_illustrative` of figures that divide by the
    populations `source` describes (a KPI's `[population]` figures, or the `[population_by]`
    file of `kpi compare`'s parts): the source as kpi.toml writes it (null where none is
    stated) and whether any is only an illustration; both null where nothing divides by a
    population (`source` None)."""
    if source is None:
        return {"population_source": None, "population_illustrative": None}
    return {"population_source": source.source or None,
            "population_illustrative": source.illustrative}


def provenance(kpi: KpiDef) -> dict[str, Any]:
    """Where a KPI's target and the populations its figure divides by come from, as the paper
    says it (`kpi.paper.target_source`, `kpi.paper.population_sentence`): the one maker of
    these fields for every machine face (the summary's and `kpi show`'s JSON, the CSV, the
    workbook, `Project.summary()`). `target_source` is the target's `target_source` (null
    without a target, or where none is stated: the paper's "source not stated"),
    `target_illustrative` whether the target is only an illustration (null without a
    target); the population fields as `population_fields` gives them for the `[population]`
    figures a `per_1000` or `ratio_of_rates` KPI divides by (null for any other kind)."""
    aimed = kpi.target is not None
    divides = kpi.kind in DIVIDES_BY_POPULATION
    fields = {"target_source": (kpi.target_source or None) if aimed else None,
              "target_illustrative": kpi.target_illustrative if aimed else None,
              **population_fields(PopulationSource(kpi.population_source,
                                                   kpi.population_illustrative)
                                  if divides else None)}
    assert tuple(fields) == PROVENANCE_FIELDS
    return fields


def result_json(result: KpiResult, priorities: dict[str, str],
                verdict: Verdict | None = None) -> dict[str, Any]:
    from kpi.engine import no_change

    kpi = result.kpi
    change = result.change
    data = {
        "id": kpi.id, "title": kpi.title, "priority": kpi.priority,
        "priority_title": priorities.get(kpi.priority, ""), "kind": kpi.kind.value,
        "unit": kpi.unit.value, "unit_label": unit_name(kpi) or None,
        "better": kpi.better.value, "status": result.status,
        "current": window_json(result.current, kpi),
        "comparison": window_json(result.comparison, kpi),
        "change": change_json(change, kpi, no_change(result)),
        "note": result.note,
        "quality": list(result.quality),
    }
    if verdict is not None:
        data.update(verdict_json(verdict, kpi))
    data.update(provenance(kpi))
    # What the figure adds together (`covers_json`), last so the fields before keep their
    # places.
    data["covers"] = covers_json(result)
    return data


class _Covering(Protocol):
    """What carries `covers`: a KPI's result, or one part of it in `kpi compare`."""

    @property
    def covers(self) -> tuple[Covered, ...]: ...


def covers_json(result: _Covering) -> list[dict[str, Any]]:
    """The JSON's `covers` of a result, the DataFrame's too: for each column telling parts of
    the data apart (a `replace_by` column, a peer group's), the parts whose rows the current
    figure adds together, by name (null for rows with no value in the column): more than one
    part is a figure of them together, not of any one (`KpiResult.covers`). Empty where no
    such column is declared, or the KPI has no figure."""
    return [{"column": c.column, "label": c.label, "parts": list(c.parts)}
            for c in result.covers]


def covers_cell(result: _Covering) -> str:
    """The CSV's and workbook's `covers` of a result (`covers_text`)."""
    return covers_text(covers_json(result))


def covers_text(covers: Sequence[dict[str, Any]] | None) -> str:
    """`covers` (as `covers_json` gives it) as a cell's text: each column as 'LABEL: part;
    part' (a part of no value as 'rows with no LABEL'), columns apart by ' | '; empty where
    the JSON's is empty."""
    return " | ".join(
        f"{c['label']}: " + "; ".join(p if p is not None else f"rows with no {c['label']}"
                                      for p in c["parts"])
        for c in covers or ())


# The version of every JSON output's shape (kpi/schemas/*.json, docs/json.md): raised when a
# field is removed, renamed or changes meaning; adding a field keeps it.
SCHEMA_VERSION = 1


def versioned(data: Any) -> Any:
    """A JSON output with its schema_version: first key of an object; in each record of a
    list (datasets, history), so the output stays the list it always was."""
    if isinstance(data, dict):
        return {"schema_version": SCHEMA_VERSION, **data}
    if isinstance(data, list):
        return [versioned(item) if isinstance(item, dict) else item for item in data]
    return data


def report_json(report: Report, project_name: str, priorities: dict[str, str],
                verdicts: dict[str, Verdict] | None = None) -> str:
    verdicts = verdicts or {}
    document = {
        "schema_version": SCHEMA_VERSION,
        "project": project_name,
        "period": str(report.period),
        "comparison": report.comparison.value,
        "versions": dict(sorted(report.versions.items())),
        "kpis": [result_json(r, priorities, verdicts.get(r.kpi.id)) for r in report.results],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


CSV_FIELDS = [
    "id", "title", "priority", "kind", "unit", "better", "status",
    "comparison_label", "comparison_start", "comparison_end", "comparison_value",
    "current_label", "current_start", "current_end", "current_value",
    "change_absolute", "change_percent", "change_points", "note",
    "significance_test", "p_value", "significant", "variation", "variation_rule", "target",
    "target_met", "assurance", "quality", "change_note", *PROVENANCE_FIELDS,
    # the name of the unit every face prints the figures with (`unit_name`), added last so
    # the columns before keep their places
    "unit_label",
    # what each figure adds together (`covers_cell`), after it for the same reason
    "covers",
]

# Words for the verdicts: in full (Markdown, the paper) and short (the terminal table).
VARIATION_WORDS = {
    "common_cause": "common cause", "special_cause_improvement": "special cause: improvement",
    "special_cause_concern": "special cause: concern",
    "special_cause_neutral_high": "special cause: high",
    "special_cause_neutral_low": "special cause: low",
}
VARIATION_SHORT = {
    "common_cause": "common", "special_cause_improvement": "improvement",
    "special_cause_concern": "concern", "special_cause_neutral_high": "high",
    "special_cause_neutral_low": "low",
}
ASSURANCE_WORDS = {
    "consistently_pass": "consistently passes", "consistently_fail": "consistently fails",
    "hit_and_miss": "hit and miss",
}
ASSURANCE_SHORT = {"consistently_pass": "passes", "consistently_fail": "fails",
                   "hit_and_miss": "hit and miss"}


def significance_word(verdict: Verdict | None) -> str:
    """'yes', 'no', or '–' when not tested."""
    if verdict is None or verdict.significance is None:
        return "–"
    return {True: "yes", False: "no", None: "–"}[verdict.significance.significant]


def variation_word(verdict: Verdict | None, short: bool = False) -> str:
    if verdict is None or verdict.variation is None:
        return "–"
    words = (VARIATION_SHORT if short else VARIATION_WORDS)[verdict.variation.verdict]
    return words + (" (trial)" if verdict.variation.trial and not short else "")


def assurance_word(verdict: Verdict | None, short: bool = False) -> str:
    if verdict is None or verdict.assurance is None:
        return "–"
    return (ASSURANCE_SHORT if short else ASSURANCE_WORDS)[verdict.assurance]


def safe_cell(value: Any, excel: bool = False) -> Any:
    """A CSV field. Plain CSV: text starting =, +, -, @ gets a quote, so a spreadsheet never
    runs it as a formula. For Excel (`excel`, `--format csv-excel`): every field that is not
    a figure is as `excel_text` writes it. Numbers are left alone, so a negative change
    stays a number, and flags, which Excel reads as its TRUE and FALSE; but a whole number
    of more than 15 significant digits, which a spreadsheet reading the file cuts to 15 (a
    year's 3,600,000,000,024,477 pence read 3,600,000,000,024,480 in Calc, beside a change of
    18 between it and 3,600,000,000,024,495 read ...500), is its digits as text."""
    if excel and isinstance(value, int) and not isinstance(value, bool) \
            and len(str(abs(value)).rstrip("0")) > EXCEL_DIGITS:
        return excel_text(str(value))
    if value is None or isinstance(value, bool | int | float):
        return value
    if excel:
        return excel_text(visible(str(value)))
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        value = "'" + value
    return visible(value) if isinstance(value, str) else value


# What Excel opening a CSV file reads as other than text: a formula (=, +, -, @), an error
# value (#N/A), a flag (TRUE, false), and a number, date or time, whose every run of letters
# is one of those Excel reads in them (a month or day name, AM/PM, an exponent's E, ISO's T
# and Z, an ordinal's "st"): '00123' (123), '1E5' (1.00E+05), '10-17' and '1/2' (dates),
# '2025-09' (September 2025), 'Sep 2025', '12:30'. Text with any other word ("Route -1",
# "year ending September 2025") Excel keeps as written.
_EXCEL_LETTERS = frozenset(
    "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june "
    "july august september october november december mon tue tues wed thu thur thurs fri sat "
    "sun monday tuesday wednesday thursday friday saturday sunday am pm a p e t z st nd rd th"
    .split())
_LETTER_RUN = re.compile(r"[^\W\d_]+")
# The longest formula Excel takes, and the longest text constant in one: longer text is
# written as constants joined by '&'.
_EXCEL_FORMULA = 8192
_EXCEL_CONSTANT = 255


def excel_reads_otherwise(text: str) -> bool:
    """Whether Excel, opening a CSV file, may read this field as other than the text."""
    if text[:1] in ("=", "+", "-", "@", "#", "\t", "\r") or \
            text.strip().lower() in ("true", "false"):
        return True
    return re.search(r"\d", text) is not None and all(
        run.lower() in _EXCEL_LETTERS for run in _LETTER_RUN.findall(text))


def excel_text(text: str) -> str:
    """A text field of `--format csv-excel`, so Excel shows it as written and saves it back
    as written: as it is where Excel reads it as text, else as Excel's own text formula,
    `="10-17"` (a double quote in it doubled; longer than a formula's text constant, in
    pieces joined by '&'), which Excel shows and saves as CSV as the text, never as a date
    or number (10-Oct, 1.00E+05, 123). Text longer than a formula Excel takes, which no
    number or date is, is as it is."""
    if not text or not excel_reads_otherwise(text):
        return text
    pieces = [text[at:at + _EXCEL_CONSTANT] for at in range(0, len(text), _EXCEL_CONSTANT)]
    formula = "=" + "&".join('"' + piece.replace('"', '""') + '"' for piece in pieces)
    return formula if len(formula) <= _EXCEL_FORMULA else text


def report_csv(report: Report, priorities: dict[str, str],
               verdicts: dict[str, Verdict] | None = None, excel: bool = False) -> str:
    """The summary as CSV; for Excel (`excel`), after a byte-order mark, its fields as
    `safe_cell` writes them for Excel."""
    verdicts = verdicts or {}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writerow({k: safe_cell(k, excel) for k in CSV_FIELDS})
    for result in report.results:
        doc = result_json(result, priorities)
        signal = verdict_json(verdicts.get(result.kpi.id), result.kpi)
        test = signal["significance"] or {}
        variation = signal["variation"] or {}
        row = {k: doc[k] for k in ("id", "title", "priority", "kind", "unit", "better",
                                   "status", "note")}
        for role in ("comparison", "current"):
            for key in ("label", "start", "end", "value"):
                row[f"{role}_{key}"] = (doc[role] or {}).get(key)
        for key in ("absolute", "percent", "points"):
            row[f"change_{key}"] = doc["change"][key]
        row.update(significance_test=test.get("test"), p_value=test.get("p_value"),
                   significant=test.get("significant"), variation=variation.get("verdict"),
                   variation_rule=variation.get("rule"), target=signal["target"],
                   target_met=signal["target_met"], assurance=signal["assurance"],
                   quality="; ".join(doc["quality"]), change_note=doc["change"]["note"])
        row.update({key: doc[key] for key in PROVENANCE_FIELDS})
        row["unit_label"] = doc["unit_label"]
        row["covers"] = covers_cell(result)
        writer.writerow({k: safe_cell(v, excel) for k, v in row.items()})
    return (BOM if excel else "") + out.getvalue()


# An entity reference or a character reference, which Markdown would print as its character.
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});")
# What opens a block where it starts a line: a heading's '#', a list's '-', '+' or '*', a
# quote's '>', an ordered list's digits; and a line of '-' or '=' alone ("---", "-- -", "=="),
# which is a thematic break or, under a paragraph's line, turns that line into a heading.
_BLOCK_START = re.compile(r"(?:#{1,6}|[-+*])(?=[ \t]|$)|>|[0-9]{1,9}(?=[.)](?:[ \t]|$))"
                          r"|-(?=(?:[ \t]*-)*[ \t]*$)|=(?==*[ \t]*$)")
# CommonMark's e-mail autolink ("<1@b>", "<+@s>"), which a '<' before a letter misses.
_EMAIL_AUTOLINK = re.compile(r"<[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9]"
                             r"(?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                             r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*>")
_PUNCTUATION = frozenset(string.punctuation)
# A heading's closing sequence: '#'s at the end of its text, after a space or tab (or making
# up the whole text), which CommonMark drops, so "## Calls #" read "Calls".
_CLOSING_HASHES = re.compile(r"(?:(?<=[ \t])|^)#+[ \t]*$")


def escape_markdown(text: object, *, cell: bool = False, start: bool = False) -> str:
    """Text (from data, an analyst or kpi's own words) that reads as itself in Markdown
    (CommonMark with GitHub tables): a backslash goes before a character only where a reader
    would take it for markup in that position, so "+22 (+0.3%)" stays as it is. `cell`: the
    text is a table cell ('|' ends a cell); `start`: it opens a line (a heading's '#', a
    list's '-' or '1.', a quote's '>' there). Line breaks become spaces (a table row is one
    line) and control characters show as '?'. '#'s ending the text after a space are escaped
    wherever it is, as a heading (`## TEXT`) would drop them. The one Markdown escaper of
    kpi: the paper's writer, `kpi summary` and every `--format markdown` use it."""
    text = one_line(str(text))
    out = []
    opened = _BLOCK_START.match(text) if start else None
    # The block marker's last character is escaped: "\#", "\-", "\>" read as text; an ordered
    # list's the "." or ")" after its digits: "1\.". (Only digits open that kind: ">)" is a
    # quote, its ">" escaped.)
    marker = -1 if opened is None else (opened.end() if opened.group().isdigit()
                                        else opened.end() - 1)
    # A heading's closing sequence is no closing sequence once its first '#' is escaped.
    closing = _CLOSING_HASHES.search(text)
    for i, char in enumerate(text):
        before = text[i - 1] if i else ""
        after = text[i + 1] if i + 1 < len(text) else ""
        if i == marker or (closing is not None and i == closing.start()):
            needed = True
        elif char == "\\":  # escapes the punctuation after it; before a letter it is a letter
            needed = after == "" or after in _PUNCTUATION
        elif char in "`[]~":  # code, links and images, strikethrough: pair across the text
            needed = True
        elif char == "*":  # emphasis, unless spaces on both sides (then it neither opens
            needed = not (before.isspace() and after.isspace())  # nor closes)
        elif char == "_":  # emphasis, except inside a word ("knife_crime")
            needed = not (before.isalnum() and after.isalnum())
        elif char == "<":  # an HTML tag, a link or an e-mail autolink: "<5" is text
            needed = (after == "" or after.isalpha() or after in "/!?"
                      or _EMAIL_AUTOLINK.match(text, i) is not None)
        elif char == "&":  # "&amp;" would print as "&"
            needed = _ENTITY.match(text, i) is not None
        elif char == "|":
            needed = cell
        else:
            needed = False
        out.append("\\" + char if needed else char)
    return "".join(out)


def change_cell(result: KpiResult) -> str:
    """A summary table's Change cell: the change ('+208 (+0.8%)'), or why there is none ('no
    comparison', 'no figure', 'in development': engine.no_change)."""
    from kpi.engine import no_change

    if result.change is not None:
        return change_text(result.change, result.kpi, change_digits(result))
    return str(no_change(result))


def report_markdown_table(report: Report, priorities: list[tuple[str, str]],
                          verdicts: dict[str, Verdict] | None = None) -> str:
    verdicts = verdicts or {}
    lines = []
    for priority_id, title in priorities:
        results = [r for r in report.results if r.kpi.priority == priority_id]
        if not results:
            continue
        cmp_code, cur_code = shared_code(results, "comparison"), shared_code(results, "current")
        lines += [f"## {escape_markdown(title)}", "",
                  f"| KPI | {_head(report, 'comparison', cmp_code)} | "
                  f"{_head(report, 'current', cur_code)} | Change | Status | Significant | "
                  "Variation | Assurance |",
                  "|---|--:|--:|--:|---|---|---|---|"]
        for r in results:
            verdict = verdicts.get(r.kpi.id)
            lines.append("| " + " | ".join([
                escape_markdown(r.kpi.title, cell=True),
                escape_markdown(_cell(r.comparison, r, cmp_code), cell=True),
                escape_markdown(_cell(r.current, r, cur_code), cell=True),
                escape_markdown(change_cell(r), cell=True),
                STATUS_WORDS[r.status], significance_word(verdict), variation_word(verdict),
                assurance_word(verdict)]) + " |")
        lines.append("")
        # Each target with whose it is (and its verdict's words), as the terminal's table
        # says under it: "consistently fails" read as against the plan's target.
        aimed = targets_said(results, verdicts)
        if aimed:
            lines += [escape_markdown("Targets: " + "; ".join(aimed), start=True), ""]
    # What the figures add together, as the terminal says it under its tables.
    lines += [line for said in covers_lines(report.results)
              for line in (escape_markdown(said, start=True), "")]
    made_up = illustrative_populations(report.results)
    if made_up:
        lines += [escape_markdown(f"{ILLUSTRATIVE_POPULATIONS} {'; '.join(made_up)}",
                                  start=True), ""]
    return "\n".join(lines)


def shared_code(results: list[KpiResult], role: str) -> str | None:
    """The window code ('YE 2024-03') most results with a value in this role share (the
    first such in a tie), or None when none has one. Cells in another window name it."""
    codes = [getattr(r, role).window.code for r in results if getattr(r, role) is not None]
    if not codes:
        return None
    return max(dict.fromkeys(codes), key=codes.count)


def _head(report: Report, role: str, code: str | None) -> str:
    from kpi.periods import Comparison

    if role == "current":
        name = "Current"
    else:
        name = "Baseline" if report.comparison == Comparison.BASELINE else "Comparison"
    return f"{name} {code}" if code else name


def _cell(measured: Measured | None, result: KpiResult, shared: str | None = None) -> str:
    """A value with its window ('YE 2024-03: 26,405'), or the bare value when its window is
    the one the column header names."""
    if measured is None:
        return "—"
    value = number(measured.value, result.kpi, beside=other_window(measured, result))
    return value if measured.window.code == shared else f"{measured.window.code}: {value}"


# ---------------------------------------------------------------------------------------------
# Rich tables


def report_tables(report: Report, priorities: list[tuple[str, str]], *, box: bool = True,
                  verdicts: dict[str, Verdict] | None = None, width: int | None = None):
    """One Rich table per priority, in plan order, each with the notes printed under it (the
    KPIs of their own window, the targets): (table, notes). A window most KPIs of a table
    share is named in its header, not in each cell; the KPI title wraps, verdict words never
    do. `width` is the terminal's, when known: under 100 columns changes wrap too. The notes
    are not the table's caption: a caption is wrapped to the table's width and then cut at the
    terminal's, and at 56 columns "Targets: ... not met" lost its "not". Printed by
    `print_whole`."""
    from rich import box as boxes
    from rich.table import Table
    from rich.text import Text

    verdicts = verdicts or {}
    narrow = width is not None and width < 100
    tables = []
    for priority_id, title in priorities:
        results = [r for r in report.results if r.kpi.priority == priority_id]
        if not results:
            continue
        cmp_code, cur_code = shared_code(results, "comparison"), shared_code(results, "current")
        # One space between columns, not two: eight columns then fit in 80.
        # Text from the project (titles, in cells, the title and the notes) is given as Text,
        # so Rich reads no markup or emoji code in it: a string cell's '[draft]' or ':x:'
        # was taken for a style or an emoji, and the title printed without it.
        table = Table(title=Text(title, style="table.title"), title_justify="left",
                      box=boxes.SIMPLE_HEAD if box else None,
                      show_edge=False, pad_edge=False, expand=False, padding=(0, 1, 0, 0))
        # Wide enough for the longest word of any title, so titles wrap between words.
        # In a narrow terminal a very long word (19 letters) may fold rather than cut a verdict.
        longest = max((len(word) for r in results for word in r.kpi.title.split()), default=0)
        table.add_column("KPI", overflow="fold",
                         min_width=min(max(12, longest), 14 if narrow else 20))
        for role, code in (("comparison", cmp_code), ("current", cur_code)):
            # A range code ('2024-04..2024-09') wraps at ' to ' rather than being cut.
            head = _head(report, role, code).replace("..", " to ")
            cells = [_mark(getattr(r, role), code, r) for r in results]
            # Narrow: as wide as the longest word of the header and the values, so the
            # window in the header wraps onto its own line.
            widest = max(len(word) for text in [head, *cells] for word in text.split())
            table.add_column(head.replace(" ", "\n", 1), justify="right",
                             max_width=widest if narrow else None)
        # In a narrow terminal, as narrow as its longest word: '+208 (+0.8%)' wraps before a
        # verdict would be cut.
        changes = [change_cell(r) for r in results]
        narrowest = max([6, *(len(word) for text in changes for word in text.split())])
        table.add_column("Change", justify="right",
                         max_width=narrowest if narrow else None)
        table.add_column("Status", no_wrap=True)
        table.add_column("Sig.", no_wrap=True)
        table.add_column("Variation", no_wrap=True)
        for r in results:
            verdict = verdicts.get(r.kpi.id)
            style = STATUS_STYLE[r.status]
            status = Text(f"{arrow(r.change)} {STATUS_WORDS[r.status]}", style=style)
            cells = [Text(r.kpi.title), Text(_mark(r.comparison, cmp_code, r)),
                     Text(_mark(r.current, cur_code, r)),
                     Text(change_cell(r)), status,
                     Text(significance_word(verdict)), Text(variation_word(verdict, short=True))]
            table.add_row(*cells)
        notes = []
        own = [f"{r.kpi.title} {_windows(r)}" for r in results
               if _differs(r.comparison, cmp_code) or _differs(r.current, cur_code)]
        if own:
            notes.append("* own window: " + "; ".join(own))
        # Targets under the table rather than in a column: eight columns fit in 80, nine not.
        aimed = targets_said(results, verdicts)
        if aimed:
            notes.append("Targets: " + "; ".join(aimed))
        tables.append((table, notes))
    return tables


def print_whole(console, table) -> None:
    """Print a Rich table with no figure, verdict or name cut to fit the terminal. Each
    column gets its natural width (its longest line, or its `max_width`), and where the table
    is then wider than the terminal, the columns that wrap give up width, the widest first,
    down to their longest word (a column that folds a long word, a KPI's title, down to its
    `min_width`: folded, it keeps every letter); a column that does not wrap keeps its
    longest line. A table still wider than the terminal is printed whole, its lines wrapped
    by the terminal. Rich's own layout shrinks every column evenly where a table is too wide:
    `kpi summary` at 56 columns printed '328,1…' for 328,153 and 'co' for both common and
    concern, `kpi datasets` at 50 '791,0…' rows, and at 30 columns the KPI and its figures
    were dropped. The one way every table is printed."""
    from rich.cells import cell_len

    least, widths = [], []
    for column in table.columns:
        texts = [str(column.header), *(str(cell) for cell in column.cells)]
        natural = max((cell_len(line) for text in texts for line in text.split("\n")),
                      default=1)
        if column.no_wrap:
            fewest = natural
        elif column.overflow == "fold":
            fewest = min(natural, column.min_width or 1)
        else:
            fewest = max((cell_len(word) for text in texts for word in text.split()),
                         default=1)
        least.append(fewest)
        widths.append(natural if column.max_width is None
                      else max(fewest, min(natural, column.max_width)))
    overhead = table._extra_width + sum(table._get_padding_width(i)
                                        for i in range(len(table.columns)))
    excess = sum(widths) + overhead - console.width
    while excess > 0:
        give = [i for i, w in enumerate(widths) if w > least[i]]
        if not give:
            break
        widest = max(give, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    terminal = console.width
    console.width = max(terminal, sum(widths) + overhead)
    try:
        console.print(table)
    finally:
        console.width = terminal


def targets_said(results: Sequence[KpiResult], verdicts: dict[str, Verdict]) -> list[str]:
    """'TITLE 80.0% (illustrative: ...): not met, consistently fails' for each result with a
    target: what the terminal and Markdown summaries print under a table, each target with
    whose it is, as the paper prints it (`target_source`)."""
    return [f"{r.kpi.title} {number(r.kpi.target, r.kpi)}{target_source(r.kpi)}: "
            f"{_target_words(verdicts.get(r.kpi.id))}" for r in results
            if r.kpi.target is not None]


def illustrative_populations(results: Sequence[KpiResult]) -> list[str]:
    """The titles of the results whose figure divides by an illustrative [population] figure,
    listed under the terminal and Markdown summaries (the paper says it beside the figure)."""
    return [r.kpi.title for r in results
            if r.kpi.population_illustrative and r.current is not None
            and r.current.value is not None]


# Said under the summaries' tables of a ratio or rate of illustrative populations.
ILLUSTRATIVE_POPULATIONS = ("Illustrative populations, not published figures (kpi.toml "
                            "[population]):")


def _target_words(verdict: Verdict | None) -> str:
    """'met, consistently passes', 'not met, hit and miss'."""
    if verdict is None:
        return "n/a"
    met = {True: "met", False: "not met", None: "n/a"}[verdict.target_met]
    return met + (f", {ASSURANCE_WORDS[verdict.assurance]}" if verdict.assurance else "")


def _differs(measured: Measured | None, shared: str | None) -> bool:
    return measured is not None and measured.window.code != shared


def _mark(measured: Measured | None, shared: str | None, result: KpiResult) -> str:
    """A value for the terminal table; one in a window other than its column's is starred and
    its windows listed under the table (a narrow column has no room to name them)."""
    if measured is None:
        return "—"
    return number(measured.value, result.kpi, beside=other_window(measured, result)) + (
        " *" if _differs(measured, shared) else "")


def _windows(result: KpiResult) -> str:
    cur = result.current.window.code if result.current else "—"
    if result.comparison is None:
        return cur
    return f"{result.comparison.window.code} to {cur}"


# ---------------------------------------------------------------------------------------------
# Documents: any command's result, and one renderer per output format


@dataclass(frozen=True)
class Section:
    """One titled table of a result. Cells hold raw values (full precision, for JSON and CSV);
    `shown` turns a column's raw value into the text tables and Markdown display."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    shown: dict[str, Callable[[Any], str]] = field(default_factory=dict)
    status_column: str | None = None  # coloured by status in a terminal
    headers: bool = True  # False for key/value sections, shown without a header row
    terminal: Any = None  # a Rich renderable drawn instead of the rows in a terminal (a chart)
    # The section as a workbook's sheet holds it, where the text's cells are figures among
    # words ("359.8 to 494.7"): each figure a number in a cell of its own (kpi.writers.xlsx).
    workbook: Section | None = None
    # Columns printed beside another column of the same row (a part's current and comparison
    # figures): column -> (the other column, how the value reads given the other's), so the
    # two read apart where they differ (`number`'s `beside`).
    paired: dict[str, tuple[str, Callable[[Any, Any], str]]] = field(default_factory=dict)
    # The figure printed beside each row's value of a column, where it is in another row (a
    # window's figure beside the other window's), for the workbook's number formats.
    beside: dict[str, list[Any]] = field(default_factory=dict)
    # The one number of places every figure of a column prints to, where `shown` prints them
    # so (a trend's months, `column_places`), for the workbook's number formats.
    places: dict[str, int] = field(default_factory=dict)
    # Columns whose value reads by its whole row (a change beside the row's two figures, to
    # the places stored on it): column -> how the value reads given its row.
    by_row: dict[str, Callable[[Any, tuple[Any, ...]], str]] = field(default_factory=dict)
    # The places each row's value of a column prints to, where the rows' differ (each row's
    # change to its `Change.places`), for the workbook's number formats; None in a row: the
    # KPI's own.
    row_places: dict[str, list[int | None]] = field(default_factory=dict)

    def partners(self, column: str) -> list[Any] | None:
        """The figure printed beside each row's value of `column` (None where none is)."""
        if column in self.beside:
            return self.beside[column]
        if column in self.paired:
            index = self.columns.index(self.paired[column][0])
            return [row[index] for row in self.rows]
        return None

    def text(self, column: str, value: Any, row: tuple[Any, ...] | None = None) -> str:
        """A cell as a person reads it (`one_line`); `row` is the cell's row, which a `paired`
        column reads its other column from."""
        if column in self.paired and row is not None:
            other, shown = self.paired[column]
            return one_line(shown(value, row[self.columns.index(other)]))
        if column in self.by_row and row is not None:
            return one_line(self.by_row[column](value, row))
        if column in self.shown:
            return one_line(self.shown[column](value))
        if value is None:
            return "—"
        if isinstance(value, float):
            return fixed(value, 1, grouping=True)
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        return one_line(str(value))


def one_line(text: str) -> str:
    """Text as a table's cell shows it: its line breaks as spaces (a KPI's notes of two lines
    in kpi.toml read "first line?second line" in `kpi show`), control characters as '?'."""
    return visible(text.replace("\r\n", " ").replace("\r", " ").replace("\n", " "))


@dataclass(frozen=True)
class Document:
    """A command's result: a heading, sections, and the JSON document scheduled jobs read
    (built from the sections when not given)."""

    heading: str
    sections: tuple[Section, ...]
    data: Any = None


def render_json(document: Document, plain: bool = True) -> str:
    """The document's data as indented JSON; sections become lists of objects when no data."""
    data = versioned(document.data)
    if data is None:
        data = {section.title: [dict(zip(section.columns, row, strict=True))
                                for row in section.rows] for section in document.sections}
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def _as_figures(section: Section) -> Section:
    """The section as a CSV holds it: its workbook sheet's, where it has one (each figure a
    number in a cell of its own), without the sheet's own columns of number formats."""
    if section.workbook is None:
        return section
    sheet = section.workbook
    kept = [i for i, c in enumerate(sheet.columns) if not c.startswith("_")]
    return replace(sheet, columns=tuple(sheet.columns[i] for i in kept),
                   rows=[tuple(row[i] for i in kept) for row in sheet.rows], workbook=None)


def render_csv(document: Document, plain: bool = True, excel: bool = False) -> str:
    """One CSV table. With several sections, a leading `section` column says which each row
    belongs to and the columns are the union of the sections' columns, in order. For Excel
    (`excel`, `--format csv-excel`): after a byte-order mark, every field as `safe_cell`
    writes it for Excel."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    # A section whose text cells hold figures among words ("9:02 to 11:10", "<0.001") is
    # written as its workbook sheet is, each figure a number of its own beside its text: a
    # scheduled job read the p value and limits back as text, rounded.
    document = replace(document, sections=tuple(_as_figures(s) for s in document.sections))
    if len(document.sections) == 1:
        section = document.sections[0]
        writer.writerow([safe_cell(c, excel) for c in section.columns] if excel
                        else section.columns)
        writer.writerows([[safe_cell(v, excel) for v in row] for row in section.rows])
        return (BOM if excel else "") + out.getvalue()
    columns: list[str] = []
    for section in document.sections:
        columns += [c for c in section.columns if c not in columns]
    writer.writerow([safe_cell(c, excel) for c in ["section", *columns]] if excel
                    else ["section", *columns])
    for section in document.sections:
        for row in section.rows:
            cells = dict(zip(section.columns, row, strict=True))
            writer.writerow([safe_cell(section.title, excel) if excel else section.title,
                             *(safe_cell(cells.get(c), excel) for c in columns)])
    return (BOM if excel else "") + out.getvalue()


def render_markdown(document: Document, plain: bool = True) -> str:
    """A heading and one pipe table per section, text escaped for Markdown."""
    lines = [f"# {escape_markdown(document.heading)}", ""]
    for section in document.sections:
        lines += [f"## {escape_markdown(section.title)}", ""]
        if section.headers:
            lines.append("| " + " | ".join(escape_markdown(c, cell=True)
                                           for c in section.columns) + " |")
        else:
            lines.append("| " + " | ".join(" " for _ in section.columns) + " |")
        lines.append("|" + "---|" * len(section.columns))
        for row in section.rows:
            cells = [escape_markdown(section.text(c, v, row), cell=True)
                     for c, v in zip(section.columns, row, strict=True)]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def render_table(document: Document, plain: bool = True, width: int | None = None) -> str:
    """Rich tables as text: box drawing and colour in a terminal, plain columns otherwise.
    Plain text is not wrapped to a terminal (up to 400 columns), so each row stays one line for
    grep and awk, and files and golden tests do not depend on where the command ran."""
    import shutil

    from rich import box as boxes
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    if width is None:
        width = 400 if plain else shutil.get_terminal_size((100, 24)).columns
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, highlight=False, soft_wrap=False, emoji=False,
                      force_terminal=not plain, no_color=plain,
                      color_system=None if plain else "standard")
    console.print(Text(visible(document.heading), style="" if plain else "bold"))
    for section in document.sections:
        if plain:
            lines = _plain_columns(section, width)
            if lines is not None:
                console.print()
                console.print(Text(visible(section.title)))
                buffer.write("".join(f"{line}\n" for line in lines))
                continue
        # The title is printed above the table, not as its caption, so a long title is not
        # wrapped to the width of a narrow table.
        table = Table(show_header=section.headers, box=None if plain else boxes.SIMPLE_HEAD,
                      show_edge=False, pad_edge=False)
        for column in section.columns:
            # As Text: a header given as a string is read by Rich as markup and emoji codes
            # (a column ":a:" printed as an emoji on a terminal, "[b]" dropped).
            table.add_column(Text(visible(column)), overflow="fold")
        for row in section.rows:
            cells = []
            for column, value in zip(section.columns, row, strict=True):
                style = ""
                if column == section.status_column and not plain:
                    style = STATUS_STYLE.get(str(value), "")
                cells.append(Text(section.text(column, value, row), style=style))
            table.add_row(*cells)
        console.print()
        console.print(Text(visible(section.title), style="" if plain else "bold"))
        console.print(table if plain or section.terminal is None else section.terminal)
    return "\n".join(line.rstrip() for line in buffer.getvalue().split("\n"))


def _plain_columns(section: Section, width: int) -> list[str] | None:
    """A plain table's lines as Rich lays them out (columns left-aligned, two spaces apart,
    no edge padding), written directly: Rich measures and styles every cell, about 0.7 s for
    the 12,000 cells of a year of nightly loads in `kpi history`. None when Rich's layout is
    needed: a cell not of single-width characters (wide or combining ones, line breaks), or
    a table wider than the page, which Rich folds."""
    header = [visible(c) for c in section.columns] if section.headers else []
    rows = [[section.text(column, value, row) for column, value in zip(section.columns, row,
                                                                         strict=True)]
            for row in section.rows]
    every = [header, *rows] if header else rows
    if not every:
        return None
    from rich.cells import cell_len

    for cells in every:
        for cell in cells:
            if not cell.isprintable() or (not cell.isascii() and cell_len(cell) != len(cell)):
                return None
    widths = [max(len(cells[i]) for cells in every) for i in range(len(section.columns))]
    if sum(widths) + 2 * (len(widths) - 1) > width:
        return None
    return ["  ".join(cell.ljust(size) for cell, size in zip(cells, widths, strict=True)
                      ).rstrip() for cells in every]


# Excel reads a CSV file as UTF-8 only when it starts with a byte-order mark; without one it
# guesses the Windows code page and shows "£" as "Â£". Programs reading `--format csv` would
# see the mark as part of the first column's name, so it is a format of its own.
BOM = "\ufeff"


def render_csv_excel(document: Document, plain: bool = True) -> str:
    """The CSV of `render_csv` for Excel: a UTF-8 byte-order mark, and text Excel would read
    as a date or number written so that Excel keeps it as text (`excel_text`)."""
    return render_csv(document, plain, excel=True)


class Format(StrEnum):
    """Output formats; each text member knows its renderer (`Format.JSON.render(doc)`);
    xlsx is a workbook file, written by kpi.writers.xlsx (WORKBOOK_FORMATS)."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    CSV_EXCEL = "csv-excel"
    MARKDOWN = "markdown"
    XLSX = "xlsx"

    def render(self, document: Document, plain: bool = True) -> str:
        if self in WORKBOOK_FORMATS:
            from kpi.errors import UsageError

            raise UsageError(f"--format {self.value} writes a workbook file, not text",
                             hint="add --output FILE.xlsx")
        return RENDERERS[self](document, plain)


RENDERERS: dict[Format, Callable[[Document, bool], str]] = {
    Format.TABLE: render_table,
    Format.JSON: render_json,
    Format.CSV: render_csv,
    Format.CSV_EXCEL: render_csv_excel,
    Format.MARKDOWN: render_markdown,
}
WORKBOOK_FORMATS = frozenset({Format.XLSX})


# ---------------------------------------------------------------------------------------------
# Sparklines


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float | None]) -> str:
    """One block character per value, scaled between the series' min and max; a gap (space)
    where a value is missing or is not a finite number. A flat series is drawn at mid height."""
    values = [v if v is not None and math.isfinite(v) else None for v in values]
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    low, high = min(known), max(known)
    span = high - low
    out = []
    for value in values:
        if value is None:
            out.append(" ")
        elif span == 0:
            out.append(SPARKS[3])
        else:
            out.append(SPARKS[int(rounded((value - low) / span * 7, 0))])
    return "".join(out)
