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
    assert render.change_text(Change(absolute=-1.0, percent=-50.0, points=None), kpi) == \
        "-1 (-50.0%)"
    # A scale word counts: one million days are days.
    assert kpi_value(1, _days("million days")) == "1 million days"
    assert render.unit_word("\u22121", "working days") == "working day"
    assert render.unit_word("+1", "days") == "day"
    assert render.unit_word("1.0", "days") == "days"


def test_change_words_of_one_working_day():
    from prose_support import result_of

    assert change_words(result_of(_days("working days"), 29.0, 28.0)) == \
        "a decrease of 1 working day (3.4%)"
