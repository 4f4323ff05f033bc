"""A process chart's figures printed beside the KPI's target stand against it as printed as they
stand against the target (docs/guarantees.md). `kpi show`'s Signal section prints the mean,
the process limits and the 2-sigma lines with the target below them, and the paper says the
latest month, the mean and the limits before "target 90.0%": a lower limit of 89.984% printed
"90.0%" beside a target of "90.0%". The figures print together (`places_together`, with the
target): to the fewest places at which each two that differ print apart and each stands
against the target as printed as it does. Checked with Hypothesis on charts whose limits fall
a few units of a decimal from the target, every unit, and on a small project through the
text, Markdown, the workbook's Signal sheet and the paper.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_faces import PERIOD, _run, excel_shown, workbook_cells
from test_printed_together import (
    _alike,
    _figures_read_apart,
    _months,
    _side,
    alternating_months,
)
from test_target_figures import UNITS, read

from kpi import render, verdicts
from kpi.catalogue import Better, Kind, KpiDef, Unit
from kpi.cli import show_command
from kpi.engine import KpiResult, Outcome
from kpi.rounding import places_together


@st.composite
def limits_near_a_target(draw):
    """A KPI of any unit and `decimals`, a monthly series a few units of its first to fourth
    decimal about a level, and a target at one of its chart's figures (the mean, a limit or
    a 2-sigma line) moved a few units of its first to fourth decimal, written to 0 to 3."""
    unit = draw(st.sampled_from(UNITS))
    decimals = draw(st.sampled_from([None, 0, 1, 2]))
    level = Decimal(draw(st.integers(0, 100_000))).scaleb(-draw(st.integers(0, 3)))
    if unit == Unit.PERCENT:
        level = min(level, Decimal(99))
    step = Decimal(1).scaleb(-draw(st.integers(1, 4)))
    n = draw(st.integers(12, 24))
    values = [float(level + draw(st.integers(0, 9)) * step) for _ in range(n)]
    better = draw(st.sampled_from([Better.HIGHER, Better.LOWER]))
    plain = KpiDef(id="k", title="K", priority="p", kind=Kind.MEAN, unit=unit, better=better,
                   value="v", decimals=decimals)
    chart = verdicts.verdict_of(KpiResult(plain, Outcome.NO_DATA, None, None, None),
                                verdicts.Series(tuple(_months(n)), tuple(values))).chart
    figures = [] if chart is None else [v for v in show_command.chart_figures(chart)
                                        if v is not None]
    near = Decimal(repr(draw(st.sampled_from(figures)))) if figures else level
    target = near.quantize(Decimal(1).scaleb(-draw(st.integers(0, 3)))) \
        + draw(st.integers(-3, 3)) * Decimal(1).scaleb(-draw(st.integers(1, 4)))
    if unit == Unit.SECONDS:
        target = abs(target)
    # Written as a percentage ("0.1%"): a target under 1 beside figures far above it is
    # otherwise refused as a proportion misread (verdicts.py).
    kpi = KpiDef(id="k", title="K", priority="p", kind=Kind.MEAN, unit=unit, better=better,
                 value="v", decimals=decimals, target=float(target),
                 target_written_percent=True)
    return kpi, values


@settings(max_examples=400, deadline=None)
@given(limits_near_a_target())
def test_a_process_charts_figures_stand_against_the_target_printed_beside_them(case):
    """`kpi show`'s Signal section (text, Markdown and the workbook's sheet): the mean and
    the four lines read back stand against the target as printed in the section as the
    figures stand against the target, and still in their order among themselves."""
    kpi, values = case
    assert kpi.target is not None
    result = KpiResult(kpi, Outcome.NO_DATA, None, None, None)
    verdict = verdicts.verdict_of(result, verdicts.Series(tuple(_months(len(values))),
                                                          tuple(values)))
    chart = verdict.chart
    if chart is None or chart.mean is None or chart.lower_limit is None:
        return
    section, _ = show_command._signal(result, verdict)
    rows = {row[0]: section.text("value", row[1], row) for row in section.rows}
    aim = rows["target"].split(" (")[0]
    assert aim == render.number(kpi.target, kpi)
    (low, high), (low2, high2) = (rows[k].split(" to ") for k in ("process limits",
                                                                   "2-sigma lines"))
    printed = [(chart.mean, rows["mean"]), (chart.lower_limit, low),
               (chart.upper_limit, high), (chart.lower_2sigma, low2),
               (chart.upper_2sigma, high2)]
    _figures_read_apart(printed, kpi.unit, "kpi show")  # type: ignore[arg-type]
    for value, text in printed:
        assert value is not None
        if not _alike(value, kpi.target):
            assert _side(read(text, kpi.unit), read(aim, kpi.unit)) == \
                _side(value, kpi.target), (text, aim, value, kpi.target, kpi.unit)
    # The workbook's sheet holds each figure as the text prints it.
    assert section.workbook is not None
    sheet = {row[0]: row for row in section.workbook.rows}
    for name, (value, text) in zip(("mean", "lower process limit", "upper process limit",
                                    "lower 2-sigma line", "upper 2-sigma line"), printed,
                                   strict=True):
        assert sheet[name][3] == text and sheet[name][1] == value, (name, sheet[name], text)


def test_places_together_stands_each_figure_against_the_target():
    """By hand: limits of 89.984 and 90.516 with a mean of 90.25 beside a target of 90 (printed
    "90.0"): at one decimal the lower limit prints "90.0", as the target; at two, "89.98"."""
    assert places_together([90.25, 89.984, 90.516], 1) == 1
    assert places_together([90.25, 89.984, 90.516], 1, target=90.0) == 2
    # A figure equal to the target prints as it: "90.0" beside "90.0".
    assert places_together([90.0, 90.5], 1, target=90.0) == 1
    # A target written to more places prints to them ("89.95"): 89.96 at one decimal,
    # "90.0", already stands above it.
    assert places_together([89.96, 91.0], 1, target=89.95) == 1
    # A target printed to two places ("90.00", `target_at`): 89.996 prints "89.996".
    assert places_together([89.996, 91.0], 1, target=90.0) == 3
    assert places_together([89.996, 91.0], 1, target=90.0, target_at=2) == 3
    # The figures apart among themselves too: 89.981 and 89.984 below a target of 90.
    assert places_together([89.981, 89.984], 1, target=90.0) == 3
    # No target: as before.
    assert places_together([89.984, 91.0], 1) == 1


TOML = """
[project]
name = "Limits by a target"
baseline = "2024-03"

[datasets.m]
date = "day"
sources = ["extracts/m.csv"]
[datasets.m.columns]
day = "date"
v = "float"

[[priorities]]
id = "p"
title = "Limits"

[[kpis]]
id = "level"
title = "Level"
priority = "p"
dataset = "m"
kind = "mean"
value = "v"
unit = "percent"
decimals = 1
better = "higher"
target = 90

[[charts]]
id = "level_xmr"
title = "Level process chart"
type = "xmr"
kpis = ["level"]
"""


def _project(root):
    """A mean of 90.2% one month and 90.3% the next, from April 2023 to September 2025: its
    process chart's mean is 90.25%, its limits 89.984% and 90.516%, its 2-sigma lines
    90.073% and 90.427% (worked by hand: m̄R 0.1, 90.25 ± 2.66 × 0.1, and ± 2 × 0.1 / 1.128)."""
    return alternating_months(root, TOML, "90.2", "90.3")


def test_a_lower_limit_under_the_target_never_prints_as_it_in_any_face(cli, tmp_path):
    root = _project(tmp_path / "limits")
    assert cli(["--project", root, "ingest", "m"]).exit_code == 0
    args = ["show", "level", "--period", PERIOD]
    doc = json.loads(_run(cli, root, [*args, "--format", "json"]))
    xmr = doc["signal"]["xmr"]
    assert [round(xmr[k], 6) for k in ("mean", "lower_limit", "upper_limit")] == \
        [90.25, 89.984, 90.516]
    # The text: the lower limit printed "90.0%" beside a target of "90.0%".
    text = _run(cli, root, args, tmp_path / "show.txt")
    assert re.search(r"(?m)^process limits +89\.98% to 90\.52%$", text), text
    assert re.search(r"(?m)^2-sigma lines +90\.07% to 90\.43%$", text), text
    assert re.search(r"(?m)^mean +90\.25%$", text), text
    assert re.search(r"(?m)^target +90\.0% \(source not stated\), met in the current window$",
                     text), text
    markdown = _run(cli, root, [*args, "--format", "markdown"])
    assert "| process limits | 89.98% to 90.52% |" in markdown, markdown
    _run(cli, root, [*args, "--format", "xlsx"], tmp_path / "k.xlsx")
    _, signal = workbook_cells(tmp_path / "k.xlsx", "field", "Signal")
    cells = {row["field"][0]: row for row in signal}
    assert [excel_shown(*cells[k]["value"]) for k in
            ("mean", "lower process limit", "upper process limit", "target")] == \
        ["90.25%", "89.98%", "90.52%", "90.0%"]
    # The paper's words on its process chart: the limits before "target 90.0%".
    _run(cli, root, ["export", "html", "--period", PERIOD], tmp_path / "paper.html")
    html = (tmp_path / "paper.html").read_text(encoding="utf-8")
    assert "mean 90.25%, process limits 89.98% to 90.52%; target 90.0% (source not " \
           "stated)." in html, \
        re.findall(r"process limits[^.]*\.[^.]*\.", html)


@settings(max_examples=400, deadline=None)
@given(limits_near_a_target())
# Found by a longer hunt: the latest month, £0.50, needs two places beside the target of
# £0.16 where the others were set at none; at two, the upper limit of £0.1647 read "£0.16",
# the target, above which it stands.
@example((KpiDef(id="k", title="K", priority="p", kind=Kind.MEAN, unit=Unit.GBP,
                 better=Better.HIGHER, value="v", decimals=2, target=0.16,
                 target_written_percent=True), [0.0] * 9 + [0.2, 0.0, 0.5]))
def test_the_papers_process_sentence_stands_each_figure_against_the_target(case):
    """The paper's words on a process chart ('the latest month, September 2025 at 89.98%,
    …; mean …, process limits … to …; target 90.0%.', `_Builder._xmr_finding`): each figure
    said stands against the target as said as the figure stands against the target. The
    places the latest month needs beside the target were taken as they were (a `max` of
    places), and more places than the others were checked at are not always as right."""
    from types import SimpleNamespace

    from kpi.paper import _Builder, kpi_value
    from kpi.render import target_source

    kpi, values = case
    assert kpi.target is not None
    result = KpiResult(kpi, Outcome.NO_DATA, None, None, None)
    verdict = verdicts.verdict_of(result, verdicts.Series(tuple(_months(len(values))),
                                                          tuple(values)))
    if verdict.chart is None or verdict.variation is None or verdict.variation.lower is None:
        return
    builder = SimpleNamespace(verdicts={"k": verdict}, results={"k": result})
    sentence = _Builder._xmr_finding(builder, "k")  # type: ignore[arg-type]
    said = re.fullmatch(r"K: the latest month, \w+ \d{4} at (.+?), (?:shows|is) .*; mean "
                        r"(.+?), process limits (.+?) to (.+?); target (.+)\.", sentence)
    assert said is not None, sentence
    latest = next(p.value for p in reversed(verdict.chart.points) if p.value is not None)
    aim = said.group(5)
    # The target as the paper prints it, with whose it is (render.target_source).
    assert aim == kpi_value(kpi.target, kpi) + target_source(kpi), aim
    variation = verdict.variation
    for value, text in zip((latest, variation.mean, variation.lower, variation.upper),
                           said.groups()[:4], strict=True):
        assert value is not None
        if not _alike(value, kpi.target):
            assert _side(read(text, kpi.unit), read(aim, kpi.unit)) == \
                _side(value, kpi.target), (sentence, value, kpi.target)
