"""A unit named after a number reads singular only where the number as printed is one ("1
day", "1 working day"), in every face: the text (kpi.render), the paper's prose (its
`unit_label`) and the workbook's number formats, read by tests/test_faces.py's independent
reading of Excel's format codes. Issue 18, read again: "1 days" was printed where a value or a
change was one day."""

from __future__ import annotations

import pytest
from test_faces import excel_shown

from kpi import render
from kpi.catalogue import Better, Kind, KpiDef, Unit
from kpi.engine import Change
from kpi.paper import change_words, kpi_value
from kpi.writers.xlsx import number_format


def _days(label: str = "", decimals: int | None = 0) -> KpiDef:
    return KpiDef(id="k", title="K", priority="p", kind=Kind.MEAN, unit=Unit.DAYS,
                  better=Better.LOWER, dataset="d", unit_label=label, decimals=decimals)


@pytest.mark.parametrize(("value", "decimals", "shown"), [
    (1, 0, "1 day"), (0.6, 0, "1 day"), (1.4, 0, "1 day"), (1.5, 0, "2 days"),
    (0, 0, "0 days"), (0.4, 0, "0 days"), (2, 0, "2 days"), (1, 1, "1.0 days"),
    (1001, 0, "1,001 days"),
])
def test_a_day_is_singular_in_the_text_and_the_workbook(value, decimals, shown):
    kpi = _days(decimals=decimals)
    assert render.number(value, kpi) == shown
    assert excel_shown(value, number_format("days", decimals, "unit", value)) == shown


def test_a_change_of_one_day_and_a_label_of_working_days():
    kpi = _days("working days")
    assert kpi_value(1, kpi) == "1 working day"
    assert kpi_value(27, kpi) == "27 working days"
    assert render.change_text(Change(absolute=-1.0, percent=-50.0, points=None, places=0), kpi) == \
        "-1 (-50.0%)"
    # A scale word counts: one million days are days.
    assert kpi_value(1, _days("million days")) == "1 million days"
    assert render.unit_word("\u22121", "working days") == "working day"
    assert render.unit_word("+1", "days") == "day"
    assert render.unit_word("1.0", "days") == "days"


def _per_residents(decimals: int = 1) -> KpiDef:
    return KpiDef(id="k", title="K", priority="p", kind=Kind.PER_1000, unit=Unit.PER_1000,
                  better=Better.LOWER, dataset="d", unit_label="per 1,000 residents",
                  decimals=decimals)


def test_a_label_naming_what_a_rate_is_per_stays_plural_after_one():
    """'1 per 1,000 resident' was printed after a rate shown as 1: the label names what the
    figure is per, not a count of residents."""
    assert kpi_value(1, _per_residents(0)) == "1 per 1,000 residents"
    assert render.unit_word("1", "per 100,000 population") == "per 100,000 population"


@pytest.mark.parametrize(("absolute", "percent", "cell"), [
    # 2,565 and 2,566 crimes among 25,000 residents: 102.60 and 102.64, a change of -0.04
    # that prints as 0.0 (the '1,000' of the label read as a figure gave it a minus sign)
    (-0.04, -0.039, "0.0 per 1,000 residents (0.0%)"),
    (0.04, 0.039, "0.0 per 1,000 residents (0.0%)"),
    (-1.25, -1.2, "\u22121.3 per 1,000 residents (\u22121.2%)"),
])
def test_a_change_that_prints_as_zero_has_no_sign_whatever_its_label(absolute, percent, cell):
    from kpi.paper import change_cell

    change = Change(absolute=absolute, percent=percent, points=None, places=1)
    assert change_cell(change, _per_residents()).replace("\u2060", "") == cell
    assert render.prints_zero("0.0 per 1,000 residents", _per_residents())
    assert not render.prints_zero("0.1 per 1,000 residents", _per_residents())


def test_change_words_of_one_working_day():
    from prose_support import result_of

    assert change_words(result_of(_days("working days"), 29.0, 28.0)) == \
        "a decrease of 1 working day (3.4%)"


def _spoken_seconds(words: str) -> int:
    """A duration as the paper says it, read back: 'minus 1 hour, 2 minutes and 3 seconds'."""
    import re

    sign = -1 if words.startswith("minus ") else 1
    total = sum(int(n) * {"hour": 3600, "minute": 60, "second": 1}[unit]
                for n, unit in re.findall(r"(\d+) (hour|minute|second)s?", words))
    return sign * total


def test_a_negative_duration_or_amount_is_said_with_its_sign():
    """The paper said a mean of -30 seconds (arrivals before their time) as "30 seconds", and
    -£2.5m as "£-2.5m": a duration keeps its sign in words, and an amount's sign stands before
    the pound sign, as `render.number` writes "-£5". Every whole number of seconds from -2 h
    to 2 h reads back as itself."""
    from kpi.paper import value_words

    assert value_words(-30.0, Unit.SECONDS) == "minus 30 seconds"
    assert value_words(-1750.0, Unit.SECONDS) == "minus 29 minutes and 10 seconds"
    assert value_words(-0.2, Unit.SECONDS) == "0 seconds"  # shows as zero: no sign
    # (the paper's prose with a true minus sign, as its tables: docs/board-paper.md)
    assert value_words(-2_500_000.0, Unit.GBP) == "\u2212£2.5m"
    assert value_words(82_200_000.0, Unit.GBP) == "£82.2m"
    assert value_words(-5.0, Unit.GBP) == "\u2212£5"
    for seconds in range(-7200, 7201, 7):
        assert _spoken_seconds(value_words(float(seconds), Unit.SECONDS)) == seconds
