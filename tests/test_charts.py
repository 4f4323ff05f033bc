"""The board paper's charts: declarations checked, data equal to SQL over the extracts, PNG
files valid, greyscale, and byte-identical across runs."""

from __future__ import annotations

from dataclasses import replace

import duckdb
import numpy as np
import pytest
from fixtures.paper_project import PROJECT_TOML, load_paper_project
from oracle_support import excel_text
from PIL import Image

from kpi import board, charts, engine
from kpi.catalogue import Unit, parse_project_file
from kpi.errors import ConfigError
from kpi.periods import Month

PERIOD = Month.of(2025, 9)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("charts")
    project = load_paper_project(folder)
    report = engine.evaluate(project, PERIOD, kpis=list(project.kpis))
    specs = {s.id: s for s in charts.chart_specs(project)}
    con = duckdb.connect()
    con.execute(f"CREATE TABLE crimes AS SELECT * FROM read_csv_auto('{folder}/extracts/"
                "crimes.csv', all_varchar=true)")
    return project, report, specs, con


def test_declared_charts_are_read_in_order(setup):
    _, _, specs, _ = setup
    assert list(specs) == ["crime_trend", "violence_outcomes", "emergency_lpa", "top_outcomes",
                           "response_trend"]
    top = specs["top_outcomes"]
    assert (top.type, top.kpis, top.by, top.limit, top.anchor) == (
        charts.ChartType.TOP, ("all_outcomes",), "outcome", 10, "violence_outcome_rate")
    assert specs["crime_trend"].anchor == "total_crime"
    assert specs["response_trend"].months == 12


def test_every_problem_in_charts_is_reported_at_once(tmp_path):
    bad = PROJECT_TOML + """
[[charts]]
id = "Bad Id"
type = "trend"
title = "t"
kpis = ["total_crime"]

[[charts]]
id = "by_nothing"
type = "compare"
title = "t"
kpis = ["total_crime"]
by = "colour"
colour = "red"

[[charts]]
id = "too_many"
type = "trend"
title = ""
kpis = ["total_crime", "homicides", "knife_crime"]

[[charts]]
id = "peer_chart"
type = "peers"
title = "drawn by the paper for KPIs with peers, not declared"
kpis = ["total_crime"]

[[charts]]
id = "crime_trend"
type = "top"
title = "duplicate id"
kpis = ["nope"]
by = "lpa"
limit = 0
"""
    path = tmp_path / "kpi.toml"
    path.write_text(bad, encoding="utf-8")
    project = parse_project_file(path)
    with pytest.raises(ConfigError) as caught:
        charts.chart_specs(project)
    lines = caught.value.message.splitlines()
    assert lines == [
        f"{path}: chart 'Bad Id', key 'id': needs an id of lower case letters, digits and _",
        f"{path}: chart 'by_nothing', key 'colour': unknown key (one of after, by, id, kpis, "
        "limit, months, title, type)",
        f"{path}: chart 'by_nothing', key 'by': 'colour' is not a column of dataset 'crimes'",
        f"{path}: chart 'too_many', key 'title': is required",
        f"{path}: chart 'too_many', key 'kpis': a trend chart takes one or two KPI ids",
        f"{path}: chart 'peer_chart', key 'type': must be one of trend, compare, top, xmr",
        f"{path}: chart 'crime_trend', key 'id': is declared twice",
        f"{path}: chart 'crime_trend', key 'kpis': 'nope' is not a KPI",
        f"{path}: chart 'crime_trend', key 'limit': must be a whole number from 1 to 1,000, "
        "found 0",
    ]
    assert caught.value.hint == "9 problems in [[charts]]"


def test_a_project_without_charts_has_none(tmp_path):
    path = tmp_path / "kpi.toml"
    path.write_text(PROJECT_TOML.split("[[charts]]")[0], encoding="utf-8")
    assert charts.chart_specs(parse_project_file(path)) == []


def test_trend_data_equals_sql(setup):
    project, report, specs, con = setup
    data = board.chart_data(project, specs["crime_trend"], report)
    assert data.window_text == "October 2023 to September 2025"
    frame = data.series[0]
    rows = con.execute("""
        WITH monthly AS (
            SELECT strftime(CAST(recorded AS DATE), '%Y-%m') AS month, count(*) AS n
            FROM crimes GROUP BY 1)
        SELECT month, n, sum(n) OVER (ORDER BY month ROWS 11 PRECEDING) AS rolling
        FROM monthly ORDER BY month""").fetchall()
    expected = [(m, float(n), float(r)) for m, n, r in rows if m >= "2023-10"]
    assert list(zip(frame["month"], frame["value"], frame["rolling_12"], strict=True)) == expected


def test_top_parts_equal_sql(setup):
    project, report, specs, con = setup
    data = board.chart_data(project, specs["top_outcomes"], report)
    rows = con.execute("""
        SELECT outcome, count(*) AS n FROM crimes
        WHERE outcome IS NOT NULL AND outcome <> ''
          AND recorded BETWEEN '2024-10-01' AND '2025-09-30'
        GROUP BY outcome ORDER BY n DESC, outcome LIMIT 10""").fetchall()
    assert list(zip(data.parts["part"], data.parts["current"], strict=True)) == [
        (code, float(n)) for code, n in rows]
    assert data.window_text == "year ending September 2025"


def test_compare_parts_cover_every_lpa_in_name_order(setup):
    project, report, specs, _ = setup
    data = board.chart_data(project, specs["emergency_lpa"], report)
    assert data.parts["part"].to_list() == ["Birmingham", "Coventry", "Dudley"]
    assert data.window_text == "year ending September 2025 against year ending March 2024"
    assert data.comparison_label == "year ending March 2024"


def test_no_chart_for_a_kpi_without_data(tmp_path):
    path = tmp_path / "kpi.toml"
    path.write_text(PROJECT_TOML + '\n[[charts]]\nid = "courts"\ntype = "trend"\n'
                    'title = "Courts"\nkpis = ["court_days"]\n', encoding="utf-8")
    project = parse_project_file(path)
    report = engine.evaluate(project, PERIOD, kpis=[project.kpi("court_days")])
    spec = charts.chart_specs(project)[-1]
    assert board.chart_data(project, spec, report) is None


@pytest.mark.parametrize("chart_id", ["crime_trend", "violence_outcomes", "emergency_lpa",
                                      "top_outcomes", "response_trend"])
def test_png_is_valid_greyscale_and_byte_stable(setup, tmp_path, chart_id):
    project, report, specs, _ = setup
    data = board.chart_data(project, specs[chart_id], report)
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    charts.write_png(data, first)
    charts.write_png(data, second)
    assert first.read_bytes() == second.read_bytes()
    with Image.open(first) as image:
        assert image.format == "PNG"
        assert image.size == (800, 400)
        rgb = np.asarray(image.convert("RGB"))
        # Greys only: a figure must read the same printed in black and white.
        assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
        assert len(np.unique(rgb[..., 0])) > 10  # not blank
    assert not list(tmp_path.glob(".*.tmp"))


def test_charts_drawn_in_worker_processes_are_the_same_bytes(setup, tmp_path):
    """write_pngs draws in a pool of worker processes when there are many charts: each file
    must be byte for byte the one write_png draws here."""
    project, report, specs, _ = setup
    datas = [board.chart_data(project, spec, report) for spec in specs.values()]
    here = [(d, tmp_path / "here" / f"{d.spec.id}.png") for d in datas]
    pooled = [(d, tmp_path / "pool" / f"{d.spec.id}.png") for d in datas]
    charts.write_pngs(here, workers=1)
    charts.write_pngs(pooled, workers=2)
    for (_, one), (_, other) in zip(here, pooled, strict=True):
        assert one.read_bytes() == other.read_bytes(), one.name


def test_a_chart_that_cannot_be_written_fails_with_workers_as_without(setup, tmp_path):
    """Workers only draw; the asking process writes each file, so a chart that cannot be
    written (here, its folder is a file) fails the export as it would in one process: the
    operating system's error, not a hang or a lost chart."""
    project, report, specs, _ = setup
    data = board.chart_data(project, specs["crime_trend"], report)
    (tmp_path / "blocked").write_text("a file where the folder goes", encoding="utf-8")
    with pytest.raises(OSError):
        charts.write_pngs([(data, tmp_path / "ok.png"), (data, tmp_path / "blocked" / "x.png")],
                          workers=2)


def test_charts_are_drawn_here_when_few_or_on_one_core(monkeypatch):
    monkeypatch.delenv("KPI_CHART_WORKERS", raising=False)
    assert charts.chart_workers(charts.POOL_FROM - 1) == 1
    monkeypatch.setattr("os.sched_getaffinity", lambda _: {0}, raising=False)
    assert charts.chart_workers(100) == 1
    monkeypatch.setattr("os.sched_getaffinity", lambda _: {0, 1, 2, 3, 4, 5, 6, 7},
                        raising=False)
    assert charts.chart_workers(charts.POOL_FROM * 2) == 2
    assert charts.chart_workers(1000) == charts.MAX_WORKERS
    monkeypatch.setenv("KPI_CHART_WORKERS", "1")
    assert charts.chart_workers(1000) == 1


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_chart_worker_count_that_is_not_a_whole_number_is_a_usage_error(monkeypatch, value):
    from kpi.errors import UsageError

    monkeypatch.setenv("KPI_CHART_WORKERS", value)
    with pytest.raises(UsageError, match=f"KPI_CHART_WORKERS must be a whole number of "
                                         f"processes, at least 1; found '{value}'"):
        charts.chart_workers(100)


def test_png_has_no_timestamp_or_software_metadata(setup, tmp_path):
    project, report, specs, _ = setup
    path = tmp_path / "c.png"
    charts.write_png(board.chart_data(project, specs["crime_trend"], report), path)
    with Image.open(path) as image:
        assert "Software" not in image.info
        assert not any("date" in key.lower() or "time" in key.lower() for key in image.info)


def test_axis_label_names_the_unit(setup):
    project, _, specs, _ = setup
    assert charts.axis_label(project.kpi("total_crime")) == "Total recorded crime (count)"
    assert charts.axis_label(project.kpi("emergency_median_response")) == \
        "Median emergency response time\n(seconds)"
    # A trend of a 12-month total says its axis is per month, wrapped with the rest: one line
    # of 46 characters ran past the top of a chart 400 pixels high.
    assert charts.axis_label(project.kpi("total_crime"), per_month=True) == \
        "Total recorded crime (count),\nper month"
    assert charts.axis_label(replace(project.kpi("total_crime"), title="Crimes"),
                             per_month=True) == "Crimes (count), per month"
    # Under the level value axis of a bar chart the label has the chart's width: the sample's
    # Figures 6 and 7 read "... within 15 / minutes (%)" split at 38 characters.
    title = "Emergency incidents attended within 15 minutes"
    emergency = replace(project.kpi(specs["emergency_lpa"].kpis[0]), title=title)
    assert charts.axis_label(emergency, width=charts.LEVEL_AXIS) == f"{title} (%)"
    assert charts.axis_label(emergency) == "Emergency incidents attended within 15\nminutes (%)"


def test_an_axis_whose_title_ends_in_brackets_still_names_the_unit(setup):
    """A title ending in brackets was taken to name its unit: "Public confidence (regional
    perception survey)" drew ticks of 60 and 70 under an axis with no "%", and a KPI in
    working days titled "Complaints (Schedule 3)" no unit at all. The unit follows a comma
    where the brackets say something else, and is not given twice where they name it."""
    project, _, _, _ = setup
    base = project.kpi("total_crime")
    confidence = replace(base, title="Public confidence (regional perception survey)",
                         unit=Unit.PERCENT)
    assert charts.axis_label(confidence, width=charts.LEVEL_AXIS) == \
        "Public confidence (regional perception survey), %"
    schedule = replace(base, title="Complaints (Schedule 3)", unit=Unit.DAYS,
                       unit_label="working days")
    assert charts.axis_label(schedule) == "Complaints (Schedule 3), working days"
    harm = replace(base, title="Crime harm score (millions of days)", unit=Unit.SCORE,
                   unit_label="million days")
    assert charts.axis_label(harm) == "Crime harm score (millions of days)"
    named = replace(base, title="Complaint finalisation (working days)", unit=Unit.DAYS,
                    unit_label="working days")
    assert charts.axis_label(named) == "Complaint finalisation (working days)"


def test_text_from_data_is_never_tex(setup, tmp_path):
    """A '$' pair in a title or a part name would be TeX math to Matplotlib, and an unpaired
    one a drawing error; the chart shows them as written."""
    from dataclasses import replace

    project, report, specs, _ = setup
    data = board.chart_data(project, specs["emergency_lpa"], report)
    odd = replace(data, spec=replace(data.spec, title="Costs in $ and \\frac $"),
                  parts=data.parts.with_columns(data.parts["part"] + " $a_1$"))
    path = tmp_path / "odd.png"
    charts.write_png(odd, path)
    with Image.open(path) as image:
        assert image.size == (800, 400)


def test_matplotlib_is_imported_only_to_draw():
    """Other commands must not pay Matplotlib's import time: only write_png imports it."""
    import subprocess
    import sys

    code = ("import sys, kpi.cli, kpi.paper, kpi.board, kpi.charts; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_a_declared_process_chart_is_greyscale_byte_stable_and_draws_the_verdict(tmp_path):
    """[[charts]] type = "xmr": the KPI's process chart, from the same verdict summary and
    show use; it takes no breakdown."""
    from kpi import verdicts

    folder = tmp_path / "p"
    project = load_paper_project(folder)
    path = project.path
    path.write_text(path.read_text(encoding="utf-8") + '\n[[charts]]\nid = "crime_xmr"\n'
                    'type = "xmr"\ntitle = "Crime: process chart"\nkpis = ["total_crime"]\n'
                    '\n[[charts]]\nid = "bad_xmr"\ntype = "xmr"\ntitle = "t"\n'
                    'kpis = ["total_crime"]\nby = "lpa"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        charts.chart_specs(parse_project_file(path))
    assert "chart 'bad_xmr', key 'by': a xmr chart has no breakdown" in caught.value.message
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:text.index('\n[[charts]]\nid = "bad_xmr"')], encoding="utf-8")
    project = parse_project_file(path)
    spec = next(s for s in charts.chart_specs(project) if s.id == "crime_xmr")
    report = engine.evaluate(project, PERIOD, kpis=[project.kpi("total_crime")])
    judged = verdicts.verdicts(project, report)
    data = board.chart_data(project, spec, report, judged)
    assert data.xmr == judged["total_crime"].chart
    assert data.window_text == "October 2023 to September 2025"
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    charts.write_png(data, first)
    charts.write_png(data, second)
    assert first.read_bytes() == second.read_bytes()
    with Image.open(first) as image:
        rgb = np.asarray(image.convert("RGB"))
        assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    # Without the verdicts passed in, chart_data judges them, to the same chart.
    again = board.chart_data(project, spec, report)
    assert again.xmr == data.xmr


def _legend_and_labels(data) -> tuple[list[str], list[str]]:
    """Draw a chart's data on a figure and read back its legend entries and bar labels."""
    figure = charts.drawn_figure(data)
    axes = figure.axes[0]
    legends = [t.get_text() for legend in figure.legends for t in legend.get_texts()]
    labels = [t.get_text() for t in axes.texts]
    return legends, labels


def test_compare_chart_labels_its_bars_and_draws_the_force_value(setup):
    project, report, specs, _ = setup
    result = next(r for r in report.results if r.kpi.id == "emergency_15min")
    data = board.chart_data(project, specs["emergency_lpa"], report)
    assert data.force_value == result.current.value
    legends, labels = _legend_and_labels(data)
    force = f"{excel_text(result.current.value, 1)}%"
    assert f"Force, {result.current.window.label}: {force}" in legends
    shown = [f"{excel_text(v, 1)}%" for v in data.parts["current"].to_list() + data.parts[
        "comparison"].to_list()]
    assert sorted(labels) == sorted(shown)


def test_compare_chart_reads_printed_names_on_the_axis_and_nothing_turned(setup):
    # Before: the LPAs' names turned 30 degrees under the bars, and the values turned 90
    # degrees in 6.5 pt type, which could not be read on paper.
    project, report, specs, _ = setup
    data = board.chart_data(project, specs["emergency_lpa"], report)
    axes = charts.drawn_figure(data).axes[0]
    names = [t.get_text() for t in axes.get_yticklabels()]
    assert names == data.parts["part"].to_list()  # in the text's order
    # The first part is at the top: its bars have the smallest y on an inverted axis.
    assert axes.yaxis_inverted()
    texts = [*axes.get_yticklabels(), *axes.texts]
    assert all(t.get_rotation() == 0 for t in texts)
    assert min(t.get_fontsize() for t in texts) >= 8
    # No value label runs out of the axes.
    box = axes.get_window_extent()
    assert all(t.get_window_extent().x1 <= box.x1 for t in axes.texts)


def test_a_count_compare_chart_has_no_force_line(setup):
    project, report, _, _ = setup
    spec = charts.ChartSpec(id="by_lpa", type=charts.ChartType.COMPARE, title="Crime by LPA",
                            kpis=("total_crime",), by="lpa")
    data = board.chart_data(project, spec, report)
    # The LPAs' counts add up to the force's: a force line would dwarf them.
    assert data.force_value is None
    legends, _ = _legend_and_labels(data)
    assert not any(text.startswith("Force") for text in legends)


def test_a_two_axis_trend_says_which_axis_each_series_uses(setup):
    project, report, specs, _ = setup
    data = board.chart_data(project, specs["violence_outcomes"], report)
    assert data.kpis[0].unit != data.kpis[1].unit
    legends, _ = _legend_and_labels(data)
    assert legends and all(t.endswith(("(left axis)", "(right axis)")) for t in legends)
    assert [t.endswith("(left axis)") for t in legends] == [True, True, False, False]


def test_the_paper_and_its_figures_are_drawn_from_the_board_model_alone(setup, tmp_path,
                                                                        monkeypatch):
    """kpi.board reads everything a paper prints or draws, once; writing the document and
    drawing every figure afterwards reads nothing (each way to the data raises here)."""
    from kpi import compare, paper, store, verdicts

    project, report, specs, _ = setup
    judged = verdicts.verdicts(project, report)
    model = board.model(project, report, charts=list(specs.values()), verdicts=judged,
                        full=True)

    def refuse(*args, **kwargs):
        raise AssertionError("data read after the board model was built")

    for module, name in ((engine, "evaluate"), (engine, "breakdowns"),
                         (engine, "monthly_series_all"), (compare, "peer_result"),
                         (verdicts, "verdicts"), (store, "scan"), (store, "months"),
                         (store, "parts_held"), (store, "_table")):
        monkeypatch.setattr(module, name, refuse)
    built = paper.build_paper(model)
    kinds = {f.spec.type for f in built.figures}
    assert {charts.ChartType.TREND, charts.ChartType.COMPARE, charts.ChartType.TOP,
            charts.ChartType.XMR} <= kinds
    jobs = [(model.figures[f.spec.id], tmp_path / f.link) for f in built.figures]
    charts.write_pngs(jobs)
    assert all(path.stat().st_size > 0 for _, path in jobs)
    # The model is frozen: a paper cannot change what another is drawn from.
    with pytest.raises(AttributeError):
        model.full = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        model.figures["extra"] = jobs[0][0]  # type: ignore[index]


def test_a_trend_of_two_kpis_draws_neither_past_its_own_window():
    """A trend chart of total crime (reported to September 2025) and knife crime (`lag = 3`:
    to June) drew both to September, knife crime's 12-month line ending at 4,207 (the year to
    September) where its paragraph, the summary and `kpi show` give 4,309 for the year to
    June, "the latest data". Each KPI's months after its own current window are now blank;
    the months before are DuckDB's counts over the sample's extract."""
    from pathlib import Path

    import kpi
    from kpi.periods import Comparison

    project = kpi.open("sample").definition
    spec = charts.ChartSpec(id="crime_and_knives", type=charts.ChartType.TREND, title="t",
                            kpis=("total_recorded_crime", "knife_crime"))
    report = engine.evaluate(project, PERIOD, Comparison.BASELINE,
                             [project.known_kpi(k) for k in spec.kpis], series=24)
    data = board.chart_data(project, spec, report)
    assert data is not None and data.series is not None
    extract = (Path(__file__).resolve().parents[1] / "datasets" / "west-midlands" / "extracts"
               / "crimes.parquet")
    by_sql = dict(duckdb.connect().execute(
        f"""SELECT strftime("Recorded Date", '%Y-%m'), count(*) FROM '{extract}'
            WHERE "Knife Flag" GROUP BY 1""").fetchall())
    total, knives = ({row["month"]: (row["value"], row["rolling_12"])
                      for row in frame.iter_rows(named=True)} for frame in data.series)
    assert list(knives) == list(total) and list(knives)[-1] == "2025-09"
    year_to_june = sum(by_sql[f"{y}-{m:02d}"] for y, m in
                       [(2024, m) for m in range(7, 13)] + [(2025, m) for m in range(1, 7)])
    assert knives["2025-06"] == (by_sql["2025-06"], year_to_june) == (405, 4309)
    assert year_to_june == next(r for r in report.results
                                if r.kpi.id == "knife_crime").current.value
    assert [knives[m] for m in ("2025-07", "2025-08", "2025-09")] == [(None, None)] * 3
    assert total["2025-09"][0] is not None  # the KPI reported to September keeps its months


QUARTERLY_CHARGES = """
[project]
name = "Charges"
baseline = "2024-03"

[datasets.charges]
date = { financial_year = "fy", quarter = "q" }
[datasets.charges.columns]
fy = "str"
q = "int"
charges = "int"

[datasets.crimes]
date = "month"
[datasets.crimes.columns]
month = "month"
crimes = "int"

[[priorities]]
id = "j"
title = "Justice"

[[kpis]]
id = "charges"
title = "Charges"
priority = "j"
kind = "sum"
value = "charges"
dataset = "charges"
better = "higher"

[[kpis]]
id = "crimes"
title = "Crimes"
priority = "j"
kind = "sum"
value = "crimes"
dataset = "crimes"
better = "lower"

[[charts]]
id = "charges_trend"
type = "trend"
title = "Charges trend"
kpis = ["charges"]
"""


def test_a_trend_of_quarterly_rows_draws_quarters_on_a_per_quarter_axis(tmp_path, cli):
    """A trend of a sum read from a quarterly table drew each quarter's total (330) as a
    month's, "Charges: monthly" on an axis "(count), per month", beside a 12-month average
    of 110 (the year's 1,320 over 12): points and line in two units. The points are the
    quarters', labelled as quarters, and the line the year's average quarter, on an axis per
    quarter. 300 charges a quarter to March 2024 and 330 after (hand count: the year to
    June 2024 holds 300 + 300 + 300 + 330 = 1,230, a quarter of it 307.5). A monthly KPI
    beside it would stand on other places and another scale: refused."""
    quarters = [(y, q) for y in (2022, 2023, 2024, 2025) for q in (1, 2, 3, 4)
                if (y, q) <= (2025, 2)]
    (tmp_path / "kpi.toml").write_text(QUARTERLY_CHARGES, encoding="utf-8")
    (tmp_path / "charges.csv").write_text("fy,q,charges\n" + "".join(
        f"{y}/{(y + 1) % 100:02d},{q},{300 if y < 2024 else 330}\n" for y, q in quarters),
        encoding="utf-8")
    assert cli(["--project", tmp_path, "ingest", "charges",
                tmp_path / "charges.csv"]).exit_code == 0
    project = parse_project_file(tmp_path / "kpi.toml")
    spec = charts.chart_specs(project)[0]
    report = engine.evaluate(project, PERIOD, kpis=[project.known_kpi("charges")])
    data = board.chart_data(project, spec, report)
    assert data is not None and data.quarterly
    figure = charts.drawn_figure(data)
    axes = figure.axes[0]
    points, average = ([float(v) for v in line.get_ydata()] for line in axes.get_lines())
    assert points == [300.0, 300.0, 330.0, 330.0, 330.0, 330.0, 330.0, 330.0]
    assert average == [300.0, 300.0, 307.5, 315.0, 322.5, 330.0, 330.0, 330.0]
    legends = [t.get_text() for legend in figure.legends for t in legend.get_texts()]
    assert legends == ["Charges: quarterly", "Charges: 12-month average per quarter"]
    assert axes.get_ylabel() == "Charges (count), per quarter"
    assert axes.get_xlabel() == "Quarter"
    assert [t.get_text() for t in axes.get_xticklabels()][:3] == [
        "Oct\u2013Dec 23", "Jan\u2013Mar 24", "Apr\u2013Jun 24"]
    # The paper says so to a reader who cannot see the chart.
    made = cli(["--project", tmp_path, "export", "html", "--period", "2025-09", "--output",
                tmp_path / "paper.html"])
    assert made.exit_code == 0, made.output
    page = (tmp_path / "paper.html").read_text(encoding="utf-8")
    assert "Line chart of the quarterly values and the 12-month line: Charges trend." in page
    assert "Line chart of the monthly values" not in page
    # A monthly KPI and a quarterly one in one trend: refused where the charts are read.
    path = tmp_path / "kpi.toml"
    path.write_text(QUARTERLY_CHARGES.replace('kpis = ["charges"]',
                                              'kpis = ["charges", "crimes"]'),
                    encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        charts.chart_specs(parse_project_file(path))
    assert caught.value.message == (
        f"{path}: chart 'charges_trend', key 'kpis': 'charges' is read from quarterly rows and "
        "'crimes' from monthly ones; a trend draws KPIs of one or the other (declare a chart "
        "for each)")
