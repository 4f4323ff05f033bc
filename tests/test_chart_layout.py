"""The figures' layout (kpi.charts._place, which lays each figure out from what it holds where
Matplotlib's constrained layout measured it at every draw): in every figure the sample's
paper, its full paper and the City of London paper draw, and in a peers chart, every text lies
inside the figure, and no tick label, axis label, title, bar label or legend overlaps another.
One draw per figure, the one the PNG is made from."""

from __future__ import annotations

import shutil
from itertools import combinations
from pathlib import Path

import polars as pl
import pytest

from kpi import charts
from kpi.periods import Month

REPO = Path(__file__).resolve().parents[1]
CITY = REPO.parent / "shared" / "realdata" / "police-uk" / "city-of-london" / "street"


def _figures(project, period: Month, full: bool) -> list[charts.ChartData]:
    """The data of every figure a paper draws, as `kpi export` plans them."""
    from kpi import board, paper
    from kpi.periods import Comparison

    model = board.build(project, period, Comparison.BASELINE, full=full)
    return [model.figures[f.spec.id] for f in paper.build_paper(model).figures]


@pytest.fixture(scope="module")
def sample_figures() -> list[charts.ChartData]:
    import kpi

    project = kpi.open("sample").definition
    board_paper = _figures(project, Month.of(2025, 9), full=False)
    full_paper = _figures(project, Month.of(2025, 9), full=True)
    ids = {d.spec.id for d in board_paper}
    return board_paper + [d for d in full_paper if d.spec.id not in ids]


@pytest.fixture(scope="module")
def city_figures(tmp_path_factory) -> list[charts.ChartData]:
    if not any(CITY.glob("*-street.csv")):
        pytest.skip("the real police.uk files are not beside the checkout")
    from typer.testing import CliRunner

    import kpi
    from kpi.cli import app

    folder = tmp_path_factory.mktemp("city")
    shutil.copy(REPO / "datasets" / "police-uk" / "kpi.toml", folder / "kpi.toml")
    result = CliRunner().invoke(app, ["--project", str(folder), "ingest", "street",
                                      *map(str, sorted(CITY.glob("*-street.csv")))])
    assert result.exit_code == 0, result.output
    project = kpi.open(folder).definition
    return (_figures(project, Month.of(2025, 12), full=False)
            + _figures(project, Month.of(2025, 12), full=True))


def _peers() -> charts.ChartData:
    """A peers chart with long member names, its focus and its group mean."""
    from kpi.catalogue import Better, Kind, KpiDef, Unit

    kpi = KpiDef(id="thefts", title="Thefts", priority="", kind=Kind.COUNT, unit=Unit.COUNT,
                 better=Better.LOWER)
    names = ["Avon and Somerset Constabulary", "Bedfordshire", "Cambridgeshire",
             "Devon and Cornwall", "Essex", "Greater Manchester"]
    values = [12.5, 9.75, 8.0, 7.25, 6.5, 3.125]
    return charts.ChartData(
        spec=charts.ChartSpec("peers_thefts", charts.ChartType.PEERS,
                              "Thefts compared with peers", ("thefts",), by="force"),
        kpis=(kpi,), window_text="year ending December 2025",
        parts=pl.DataFrame({"part": names, "value": values,
                            "focus": [n == "Essex" for n in names]}),
        peer_mean=sum(values) / len(values), per_1000=True, group_title="Similar forces")


def layout_problems(figure) -> list[str]:
    """What is clipped or overlaps in a drawn figure: each text outside the figure, and each
    pair of tick labels, axis labels, titles, bar labels and legends whose boxes overlap."""
    from matplotlib.text import Text

    renderer = figure.canvas.get_renderer()
    page = figure.bbox
    # Only the ticks drawn: an axis keeps tick objects from earlier draws beyond them.
    drawn: set[int] = set()
    kept: set[int] = set()
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            for tick in axis.majorTicks + axis.minorTicks:
                kept |= {id(tick.label1), id(tick.label2)}
            if axis.get_visible():
                drawn |= {id(t) for t in axis.get_ticklabels()}
    in_legends = {id(t) for legend in figure.legends for t in legend.findobj(Text)}
    texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text()
             and (id(t) not in kept or id(t) in drawn)]
    problems = []
    boxes = []
    for text in texts:
        box = text.get_window_extent(renderer)
        name = repr(text.get_text()[:30])
        if (box.x0 < page.x0 - 0.5 or box.y0 < page.y0 - 0.5 or box.x1 > page.x1 + 0.5
                or box.y1 > page.y1 + 0.5):
            problems.append(f"{name} runs out of the figure: {box.bounds}")
        if id(text) not in in_legends:
            boxes.append((name, box))
    boxes += [(f"legend {n}", legend.get_window_extent(renderer))
              for n, legend in enumerate(figure.legends)]
    for (one, a), (other, b) in combinations(boxes, 2):
        # Overlapping by more than half a pixel each way (touching boxes are apart).
        if min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5 and min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5:
            problems.append(f"{one} overlaps {other}")
    return problems


def _check(figures: list[charts.ChartData]) -> None:
    assert figures
    found = {d.spec.id: problems for d in figures
             if (problems := layout_problems(charts.drawn_figure(d)))}
    assert found == {}


def test_the_sample_papers_figures_are_laid_out_without_clipping_or_overlap(sample_figures):
    kinds = {(d.spec.type, bool(d.panels)) for d in sample_figures}
    assert kinds >= {(charts.ChartType.TREND, False), (charts.ChartType.XMR, False),
                     (charts.ChartType.XMR, True), (charts.ChartType.COMPARE, False),
                     (charts.ChartType.TOP, False)}
    # A trend of two units, with an axis each side.
    assert any(len(d.kpis) == 2 and d.kpis[0].unit != d.kpis[1].unit for d in sample_figures)
    _check(sample_figures)


def test_the_city_of_london_papers_figures_are_laid_out_without_clipping_or_overlap(
        city_figures):
    _check(city_figures)


def test_a_peers_figure_is_laid_out_without_clipping_or_overlap():
    _check([_peers()])


@pytest.mark.parametrize("squeeze", ["beside", "below", "above"])
def test_a_margin_too_small_is_found(sample_figures, monkeypatch, squeeze):
    """The check can fail: a margin made too small leaves an axis' labels over its tick labels
    or out of the figure, the legend over the months, or the title out of the top."""
    measure = charts._Measures
    if squeeze == "beside":
        beside = measure.beside
        monkeypatch.setattr(measure, "beside", lambda self, axis: beside(self, axis) * 0.6)
    else:
        margins = measure.margins

        def smaller(self, cell):
            left, right, below, above = margins(self, cell)
            return (left, right, below * 0.5, above) if squeeze == "below" else \
                (left, right, below, above * 0.5)

        monkeypatch.setattr(measure, "margins", smaller)
    trend = next(d for d in sample_figures if d.spec.type == charts.ChartType.TREND)
    assert layout_problems(charts.drawn_figure(trend))


@pytest.mark.parametrize("kind", [charts.ChartType.TOP, charts.ChartType.COMPARE])
@pytest.mark.parametrize("parts", [3, 12])
def test_a_part_named_in_150_characters_is_printed_whole_to_its_cut(sample_figures, kind,
                                                                      parts):
    """A part named in 150 characters (an LPA or a neighbourhood as a force's system names
    it) ran past the figure's left edge, cut mid-letter, its start lost: the axis prints the
    name's start and its last words on two lines (one where the chart has many parts), "\u2026"
    where it is cut, every text inside the figure, and the axes keep half its width."""
    from dataclasses import replace

    chart = next(d for d in sample_figures if d.spec.type == kind)
    assert chart.parts is not None
    long = ("Birmingham East and the Neighbourhoods of Saint Andrew's, Hodge Hill, "
            "Washwood Heath and Shard End, including the Bordesley Green Police Station areas")
    assert len(long) >= 150
    frame = pl.concat([chart.parts] * 4).head(parts).with_row_index("n").with_columns(
        part=pl.format("{} {}", pl.col("n"), pl.lit(long))).drop("n")
    figure = charts.drawn_figure(replace(chart, parts=frame))
    assert layout_problems(figure) == []
    box = figure.axes[0].get_window_extent()
    assert box.width >= 0.5 * (figure.bbox.width - 2 * charts.EDGE) - 0.5
    shown = [t.get_text() for t in figure.axes[0].yaxis.get_ticklabels()]
    assert ("0 Birmingham East and \u2026 Station areas" if parts > charts.PART_TWO_LINES
            else "0 Birmingham East and the Neighbourhoods\nof Saint Andrew's \u2026 Station "
            "areas") in shown, shown
    assert all(len(line) <= charts.PART_LINE for text in shown for line in text.split("\n"))


def test_a_name_that_fits_is_printed_as_it_is_and_a_cut_one_keeps_its_last_words():
    assert charts.part_labels(["Birmingham", "Sandwell"]) == ["Birmingham", "Sandwell"]
    # Three small areas of one long name told apart by their codes, which end the name.
    long = ("Stratford-upon-Avon St Mary's & Ysbyty Ystwyth \u2014 Bryn-y-Maen (\u0174yn "
            "Glynd\u0175r) \u00d8rsted Fa\u00e7ade Quarter, Alcester Road and the Old Town "
            "Conservation Area")
    assert charts.part_labels([f"{long} 00{n}A" for n in range(1, 9)])[:2] == [
        "Stratford-upon-Avon St \u2026 Area 001A", "Stratford-upon-Avon St \u2026 Area 002A"]
    assert charts.part_labels(["Possession of weapons offences in Walsall"]) == [
        "Possession of weapons offences in\nWalsall"]


def test_bars_of_a_rate_in_percent_past_100_are_drawn_whole(sample_figures):
    """A rate of two KPIs in percent is not a share: offences per 100 calls can read 240%. The
    bars of its parts were drawn on an axis fixed at 0 to 112%, so a bar of 146% or 240% ran
    off the chart, its end and label cut: the axis now holds every bar, and a share's stays
    at 0 to 112%."""
    from dataclasses import replace

    from kpi.catalogue import Unit

    chart = next(d for d in sample_figures if d.spec.type == charts.ChartType.COMPARE)
    assert chart.parts is not None
    kpi = replace(chart.kpis[0], unit=Unit.PERCENT, target=None)
    values = [146.0, 240.0, 90.0] * len(chart.parts)
    frame = chart.parts.with_columns(
        current=pl.Series(values[:len(chart.parts)], dtype=pl.Float64),
        comparison=pl.Series(values[1:len(chart.parts) + 1], dtype=pl.Float64))
    for top, right in ((240.0, None), (None, 112.0)):
        parts = frame if top else frame.with_columns(pl.col("current", "comparison") / 3)
        figure = charts.drawn_figure(replace(chart, kpis=(kpi, *chart.kpis[1:]), parts=parts,
                                             force_value=None, target=None))
        low, high = figure.axes[0].get_xlim()
        if top:
            assert high > top, (low, high)
        else:
            assert (low, high) == (0.0, right)
        assert layout_problems(figure) == []
