"""The board paper read once more, printed, as a board member and a performance lead read it
(issue 18): each finding a class of fault, each tested here on the code that had it."""

from __future__ import annotations

from kpi.catalogue import Better, Kind, KpiDef, Unit
from kpi.document import plain_text
from kpi.engine import KpiResult, Measured, change_between, status_of
from kpi.paper import _ranking, change_words
from kpi.periods import Month, Window


def _result(kind: Kind, before: float, after: float, unit: Unit = Unit.COUNT) -> KpiResult:
    kpi = KpiDef(id="k", title="K", priority="p", kind=kind, unit=unit, better=Better.LOWER,
                 dataset="d")
    change = change_between(kpi, after, before)
    return KpiResult(kpi, status_of(kpi, change),
                     Measured(Window.year_ending(Month.of(2025, 9)), after),
                     Measured(Window.year_ending(Month.of(2024, 3)), before), change)


def test_a_small_base_is_a_rule_for_counts_not_for_levels():
    """"A base below 50 is given as numbers, not percentages" was said of a mean of minutes
    typed as plain numbers (the count unit, a kind's default): 20 minutes to 30 read "an
    increase of 10", where a level of 20 is no small base of events."""
    assert change_words(_result(Kind.COUNT, 20, 30)) == "an increase of 10"
    assert change_words(_result(Kind.SUM, 20, 30)) == "an increase of 10"
    for kind in (Kind.MEAN, Kind.MEDIAN, Kind.PERCENTILE):
        assert change_words(_result(kind, 20, 30)) == "an increase of 10.0 (50.0%)", kind
    rows = [{"part": "North", "comparison": 20.0, "current": 30.0, "absolute": 10.0,
             "percent": 50.0, "points": None},
            {"part": "South", "comparison": 40.0, "current": 30.0, "absolute": -10.0,
             "percent": -25.0, "points": None}]
    mean = _result(Kind.MEAN, 30, 30).kpi
    assert plain_text(_ranking(mean, "area", rows)) == (
        "By area, the percentage change, best first: South (\u221225.0%), North (+50.0%).")
    count = _result(Kind.COUNT, 30, 30).kpi
    assert "on a base below 50, as numbers" in plain_text(_ranking(count, "area", rows))


def test_the_commentary_boxes_are_named_as_what_they_are(cli):
    """The help and messages of `kpi export docx` and `kpi commentary import` spoke of
    "[commentary] places", a name from the code: a reader of the Word file sees boxes to type
    in (content controls), and the help says so."""
    import re

    texts = [cli(["export", "docx", "--help"]).output,
             cli(["commentary", "import", "--help"]).output]
    for text in texts:
        flat = " ".join(text.split())
        assert "commentary box" in flat, flat
        assert not re.search(r"\[commentary\] place|commentary place", flat), flat
