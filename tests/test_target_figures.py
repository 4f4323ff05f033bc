"""A figure printed beside its target and a verdict on it reads as the verdict does.

The verdict compares the unrounded figure with the target (stats.target_met), so 89.96%
misses a target of 90%; printed to the KPI's one decimal it read "90.0%" beside "90.0%" and
"missed" in the summary, `kpi show`, the paper and the workbook. Each face prints it to as many
more places as it takes ("89.96%"), and a target written with more decimals than the KPI's
prints as written. The figures are read back from the text here (the oracle: the printed
numbers, compared as decimals) and held against the verdict, for every unit and `decimals`,
with Hypothesis drawing figures just either side of their targets; then on a small project,
every face of it (tests/test_faces.py's checks) and the words of its paper."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from project_toml import head, kpi_block
from test_faces import (
    PERIOD,
    _run,
    check_every_face,
    check_show_faces,
    excel_shown,
    plain_sections,
    workbook_cells,
)

from kpi import paper, render, stats
from kpi.catalogue import Better, Kind, KpiDef, Unit
from kpi.rounding import Beside
from kpi.writers import xlsx

_NUMBER = re.compile(r"-?[\d,]+(?:\.\d+)?")
_CLOCK = re.compile(r"^(-?)(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$")
_SPAN = {"hour": 3600, "hours": 3600, "h": 3600, "minute": 60, "minutes": 60, "min": 60,
         "second": 1, "seconds": 1, "s": 1}


def read(text: str, unit: Unit) -> Decimal:
    """The number a reader reads in a printed figure: '89.96%', '£1,234', '12.4 days',
    '10:00.4', '9 minutes and 59.6 seconds', '9 min 59.6 s', a true minus sign."""
    text = text.replace("\u2212", "-").replace("\u2060", "").strip()
    negative = text.startswith("-")
    if unit == Unit.SECONDS:
        clock = _CLOCK.match(text)
        if clock:
            sign, hours, minutes, secs = clock.groups()
            total = Decimal(hours or 0) * 3600 + Decimal(minutes) * 60 + Decimal(secs)
        else:
            total = sum((Decimal(n) * _SPAN[word] for n, word in
                         re.findall(r"(\d+(?:\.\d+)?) ([a-z]+)", text)), Decimal(0))
        return -total if negative else total
    found = _NUMBER.search(text)
    assert found is not None, text
    magnitude = Decimal(found.group().replace(",", "").lstrip("-"))
    return -magnitude if negative else magnitude


def reads_as_verdict(value_text: str, target_text: str, unit: Unit, better: Better,
                     met: bool | None) -> bool:
    shown, aim = read(value_text, unit), read(target_text, unit)
    return (shown >= aim if better == Better.HIGHER else shown <= aim) is met


UNITS = [Unit.PERCENT, Unit.RATIO, Unit.SCORE, Unit.PER_1000, Unit.DAYS, Unit.GBP,
         Unit.SECONDS, Unit.NUMBER, Unit.COUNT]


@st.composite
def near_target(draw):
    """A KPI of any unit and `decimals`, a target written with up to three decimals, and a
    figure a few units of its fifth to first decimal either side of it (or on it)."""
    unit = draw(st.sampled_from(UNITS))
    decimals = draw(st.sampled_from([None, 0, 1, 2, 3]))
    target = Decimal(draw(st.integers(0, 10_000_000))).scaleb(-draw(st.integers(0, 3)))
    if unit == Unit.PERCENT:
        target = min(target, Decimal(100))
    step = Decimal(1).scaleb(-draw(st.integers(1, 6)))
    value = target + draw(st.integers(-9, 9)) * step
    if unit == Unit.SECONDS:  # a duration is never negative (its prose has no sign)
        value = abs(value)
    better = draw(st.sampled_from([Better.HIGHER, Better.LOWER]))
    kpi = KpiDef(id="k", title="K", priority="p", kind=Kind.MEAN, unit=unit, better=better,
                 value="v", decimals=decimals, target=float(target))
    return kpi, float(value)


@settings(max_examples=400, deadline=None)
@given(near_target())
def test_every_printing_of_a_figure_beside_its_target_reads_as_its_verdict(case):
    """The summary's and `kpi show`'s text (render.number), the paper's prose (kpi_value) and
    table cells (cell_value), and the workbook's cell as its number format shows it."""
    kpi, value = case
    assert kpi.target is not None
    met = stats.target_met(value, kpi.target, kpi.better)
    target_text = render.number(kpi.target, kpi)
    prose_target = paper.kpi_value(kpi.target, kpi)
    for face, shown, aim in (("text", render.number(value, kpi), target_text),
                             ("prose", paper.kpi_value(value, kpi), prose_target),
                             ("cell", paper.cell_value(value, kpi), prose_target)):
        assert reads_as_verdict(shown, aim, kpi.unit, kpi.better, met), \
            (face, shown, aim, met, value, kpi.target, kpi.unit, kpi.decimals)
    if kpi.unit == Unit.SECONDS:
        return  # seconds, not a duration, in a workbook: its own test below
    # The workbook's cell, as its number format shows it (a percentage is its fraction).
    book = {}
    for v in (value, kpi.target):
        cell = xlsx.percent_cell(v) if kpi.unit == Unit.PERCENT else v
        code = xlsx.number_format(kpi.unit.value, render.shown_places(v, kpi), "unit", v)
        book[v] = excel_shown(cell, code)
    assert reads_as_verdict(book[value], book[kpi.target], kpi.unit, kpi.better, met), \
        (book, met, value, kpi.target)


@pytest.mark.parametrize(("value", "target", "decimals", "unit", "shown", "aim"), [
    (89.96, 90.0, None, Unit.PERCENT, "89.96%", "90.0%"),
    (90.04, 90.0, None, Unit.PERCENT, "90.04%", "90.0%"),
    (90.0, 90.0, None, Unit.PERCENT, "90.0%", "90.0%"),
    (75.123, 90.0, None, Unit.PERCENT, "75.1%", "90.0%"),
    (89.5, 90.0, 0, Unit.PERCENT, "89.5%", "90%"),
    (89.96, 89.95, None, Unit.PERCENT, "90.0%", "89.95%"),  # above it, and reads so
    (89.949, 89.95, None, Unit.PERCENT, "89.9%", "89.95%"),  # below it, and reads so
    (600.4, 600.0, None, Unit.SECONDS, "10:00.4", "10:00"),
    (12.04, 12.0, 0, Unit.DAYS, "12.04 days", "12 days"),
    (1234.4, 1234.0, None, Unit.GBP, "£1,234.4", "£1,234"),
])
def test_the_rule_on_hand_worked_figures(value, target, decimals, unit, shown, aim):
    kpi = KpiDef(id="k", title="K", priority="p", kind=Kind.MEAN, unit=unit,
                 better=Better.HIGHER, value="v", decimals=decimals, target=target)
    assert (render.number(value, kpi), render.number(target, kpi)) == (shown, aim)


@st.composite
def signed_near_target(draw):
    """An amount in pounds, or a figure in its `unit_label`'s words, against a target of
    either sign written with up to two decimals, and a figure a few units of its fourth to
    first decimal either side of it (or on it)."""
    unit, label = draw(st.sampled_from([(Unit.GBP, ""), (Unit.GBP, "thousand pounds"),
                                        (Unit.DAYS, "working days"), (Unit.NUMBER, "hours")]))
    decimals = draw(st.sampled_from([None, 0, 1, 2]))
    target = Decimal(draw(st.integers(-10_000_000, 10_000_000))).scaleb(-draw(st.integers(0, 2)))
    step = Decimal(1).scaleb(-draw(st.integers(1, 4)))
    value = target + draw(st.integers(-9, 9)) * step
    better = draw(st.sampled_from([Better.HIGHER, Better.LOWER]))
    return unit, label, decimals, better, target, value


@settings(max_examples=400, deadline=None)
@given(signed_near_target())
def test_a_negative_cell_takes_the_places_of_its_positive_twin(case):
    """The paper's table cell of an amount in pounds (or of a KPI naming its unit) worked out
    its places beside the target from the figure without its sign: -£100.4 against a target
    of -£100 printed "−£100" beside "−£100" and a verdict that it missed, where
    £100.4 against £100 printed "£100.4". The cell of -v against -t is the cell of v against
    t with a minus sign, and reads (as a decimal) as the verdict does."""
    unit, label, decimals, better, target, value = case

    def kpi(aim: Decimal) -> KpiDef:
        return KpiDef(id="k", title="K", priority="p", kind=Kind.MEAN, unit=unit,
                      better=better, value="v", decimals=decimals, target=float(aim),
                      unit_label=label)

    shown, twin = paper.cell_value(float(value), kpi(target)), paper.cell_value(
        float(-value), kpi(-target))
    if not any(c in "123456789" for c in shown):  # shows as zero: no sign either way
        assert shown == twin, (shown, twin)
    elif shown.startswith("\u2212"):
        assert twin == shown.removeprefix("\u2212"), (shown, twin)
    else:
        assert twin == "\u2212" + shown, (shown, twin)
    met = stats.target_met(float(value), float(target), better)
    aim = paper.cell_value(float(target), kpi(target))
    assert reads_as_verdict(shown, aim, unit, better, met), (shown, aim, met, value, target)


@pytest.mark.parametrize(("value", "target", "unit", "label", "shown"), [
    (-100.4, -100.0, Unit.GBP, "", "\u2212£100.4"),
    (100.4, 100.0, Unit.GBP, "", "£100.4"),
    (-12.04, -12.0, Unit.DAYS, "working days", "\u221212.04 working days"),
    (-0.4, 0.0, Unit.GBP, "", "\u2212£0.4"),
])
def test_negative_cells_on_hand_worked_figures(value, target, unit, label, shown):
    kpi = KpiDef(id="k", title="K", priority="p", kind=Kind.MEAN, unit=unit,
                 better=Better.HIGHER, value="v", decimals=0, target=target, unit_label=label)
    assert paper.cell_value(value, kpi) == shown


def test_a_change_is_not_read_against_the_target():
    """A change is never judged against the target: it keeps the KPI's places."""
    kpi = KpiDef(id="k", title="K", priority="p", kind=Kind.MEAN, unit=Unit.NUMBER,
                 better=Better.HIGHER, value="v", target=0.0)
    assert render.number(0.04, kpi, change=True) == "0.0"
    assert render.number(0.04, kpi) == "0.04"


TOML = (head("Near the target", "2024-03", "m",
             {"day": "date", "hit": "bool", "days": "float", "lpa": "str"},
             sources=["extracts/m.csv"], priority=("p", "Targets"))
        + kpi_block("answered", "Answered", "m", kind="rate", numerator="hit", better="higher",
                    target=90, breakdowns=["lpa"])
        + kpi_block("wait", "Wait", "m", kind="mean", value="days", unit="days", decimals=0,
                    better="lower", target=12, breakdowns=["lpa"]))


def _project(root):
    """Every month 2,500 calls: 2,249 answered since April 2024 (89.96%, a target of 90%),
    2,300 before (92.0%); waits of 12.4 days since (a target of 12 days, lower better),
    11 before."""
    (root / "extracts").mkdir(parents=True)
    (root / "kpi.toml").write_text(TOML, encoding="utf-8")
    lines = ["day,hit,days,lpa"]
    for m in range(30):
        year, month = 2023 + (m + 3) // 12, (m + 3) % 12 + 1
        after = (year, month) >= (2024, 4)
        hits, days = (2249, 12.4) if after else (2300, 11)
        lines += [f"{year}-{month:02d}-15,{i < hits},{days},{'North' if i % 2 else 'South'}"
                  for i in range(2500)]
    (root / "extracts" / "m.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_every_face_prints_a_missed_figure_apart_from_its_target(cli, tmp_path):
    import kpi

    root = _project(tmp_path / "near")
    assert cli(["--project", root, "ingest", "m"]).exit_code == 0
    project = kpi.open(root)
    # Every face against the text worked out from the JSON (tests/test_faces.py's oracle).
    assert check_every_face(cli, root, project.definition, project, tmp_path) == 2
    for kpi_id in ("answered", "wait"):
        check_show_faces(cli, root, project.definition, project, tmp_path, kpi_id)
    doc = json.loads(_run(cli, root, ["summary", "--period", PERIOD, "--format", "json"]))
    assert [(k["current"]["value"], k["target"], k["target_met"]) for k in doc["kpis"]] == \
        [(89.96, 90.0, False), (12.4, 12.0, False)]
    # The summary: the figure in its cell, the target and its verdict under the table.
    table = " ".join(_run(cli, root, ["summary", "--period", PERIOD]).split())
    assert "89.96%" in table and "Answered 90.0% (source not stated): not met" in table, table
    assert "12.4 days" in table and "Wait 12 days (source not stated): not met" in table, table
    # kpi show: the current window's value and the target row.
    text = _run(cli, root, ["show", "answered", "--period", PERIOD], tmp_path / "show.txt")
    shown = dict(plain_sections(text))
    assert [r["value"] for r in shown["Windows"] if r["window"] == "current"] == ["89.96%"]
    assert re.search(r"(?m)^target +90\.0% \(source not stated\), not met in the current "
                     r"window$", text), text
    # The paper: the figure's sentence, the target's and the exception line.
    _run(cli, root, ["export", "markdown", "--period", PERIOD], tmp_path / "paper.md")
    text = " ".join(re.sub(r"\\(.)", r"\1", (tmp_path / "paper.md").read_text(
        encoding="utf-8")).split())
    assert "89.96%" in text and "Against the target of 90.0% (source not stated) the " \
        "figure misses it" in text
    assert "90.0%" not in text.replace("target of 90.0%", ""), "a figure printed as its target"
    assert "12.4 days" in text and "misses the target of 12 days" in text
    # The workbook: the current cell shows what the text prints.
    _run(cli, root, ["summary", "--period", PERIOD, "--format", "xlsx"], tmp_path / "s.xlsx")
    _, rows = workbook_cells(tmp_path / "s.xlsx")
    assert [excel_shown(*row["current_value"]) for row in rows] == ["89.96%", "12.4 days"]
    assert [excel_shown(*row["target"]) for row in rows] == ["90.0%", "12 days"]


# ---------------------------------------------------------------------------------------------
# Two figures side by side: a current window beside its comparison


@st.composite
def near_pair(draw):
    """A KPI of any unit and `decimals`, with or without a target, and two figures (current,
    comparison) a few units of their fifth to first decimal apart (or equal)."""
    kpi, comparison = draw(near_target())
    if draw(st.booleans()):
        kpi = KpiDef(id="k", title="K", priority="p", kind=Kind.MEAN, unit=kpi.unit,
                     better=kpi.better, value="v", decimals=kpi.decimals)
    step = Decimal(1).scaleb(-draw(st.integers(1, 6)))
    current = Decimal(repr(comparison)) + draw(st.integers(-9, 9)) * step
    if kpi.unit == Unit.SECONDS:
        current = abs(current)
    return kpi, float(current), comparison


@settings(max_examples=500, deadline=None)
@given(near_pair())
def test_two_figures_side_by_side_read_apart_where_their_change_reads(case):
    """A per-1,000 rate of 0.48 beside 0.5 printed "0.5" and "0.5" beside "-4.0%" and
    "improving". Wherever the change between two figures reads as one (the rule stated again
    in tests/test_faces.py::reads_changed, in decimals), the two as printed (summary and
    `kpi show` text, the paper's prose and cells) stand to each other as the figures do, and
    each still against the target as its verdict says."""
    from test_faces import decimals as own_places
    from test_faces import reads_changed

    kpi, current, comparison = case
    places = 0 if kpi.unit == Unit.SECONDS else own_places(kpi)
    apart = Decimal(format(current, ".15g")) != Decimal(format(comparison, ".15g")) \
        and reads_changed(current, comparison, places, kpi.unit.value)
    for face, show in (("text", lambda v, o: render.number(v, kpi, beside=o)),
                       ("prose", lambda v, o: paper.kpi_value(v, kpi, beside=o)),
                       ("cell", lambda v, o: paper.cell_value(v, kpi, beside=o))):
        now = show(current, Beside.comparison(comparison))
        then = show(comparison, Beside.current(current))
        if apart:
            got = read(now, kpi.unit), read(then, kpi.unit)
            assert (got[0] > got[1]) - (got[0] < got[1]) == \
                (current > comparison) - (current < comparison), \
                (face, now, then, current, comparison, kpi.unit, kpi.decimals)
        if kpi.target is not None:
            aim = render.number(kpi.target, kpi) if face == "text" else \
                paper.kpi_value(kpi.target, kpi)
            for value, text in ((current, now), (comparison, then)):
                assert reads_as_verdict(text, aim, kpi.unit, kpi.better,
                                        stats.target_met(value, kpi.target, kpi.better)), \
                    (face, text, aim, value)
