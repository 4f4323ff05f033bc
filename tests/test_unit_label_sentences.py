"""Every sentence of the paper that prints the figure of a KPI with a `unit_label` names its
unit by the label ("9.8 working days", never "9.8 days"): the paragraph, the front page's
exceptions, the table, a breakdown's highest figures, another KPI's paragraph quoting it, the
process chart's and the peers figure's alt text, and the peer comparison sentence, which
printed "with 10.3 days against a group median of 10.3 days" beside "8.8 working days"."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest

# Cases of a mean in working days: 14 forces (more than the paper ranks, so the breakdown
# lists its highest figures), three of them a peer group; each force's cases the same every
# month, one more day a case in 2025 than in 2024.
DAYS = {f"Force {chr(65 + n)}": 3.0 + n * 0.6 for n in range(14)}
PEERS = ("Force B", "Force E", "Force K")

PROJECT = f"""
[project]
name = "Fourteen forces"
baseline = "2024-12"

[peers.similar]
title = "similar forces"
column = "force"
members = {list(PEERS)!r}
focus = "Force K"

[datasets.cases]
date = "date"
[datasets.cases.columns]
date = {{ type = "date", from = ["Date"] }}
force = {{ type = "str", from = ["Force"] }}
days = {{ type = "float", from = ["Days"] }}

[[priorities]]
id = "trust"
title = "Trust"

[[kpis]]
id = "finalised"
title = "Complaint finalisation"
priority = "trust"
kind = "mean"
dataset = "cases"
value = "days"
unit = "days"
decimals = 1
unit_label = "working days"
better = "lower"
target = 5
peers = "similar"
breakdowns = ["force"]

[[kpis]]
id = "cases"
title = "Complaints"
priority = "trust"
kind = "count"
dataset = "cases"
better = "neutral"
quotes = ["finalised"]
"""


def _kpi(project: Path, *args) -> str:
    from typer.testing import CliRunner

    from kpi.cli import app

    result = CliRunner().invoke(app, ["--project", str(project), *[str(a) for a in args]])
    assert result.exit_code == 0, result.output
    return result.stdout


def write_project(folder: Path) -> Path:
    """The working-days project in `folder`: its kpi.toml and its cases extract (a case a
    month for each force in 2024 and 2025, its days one more in 2025, and half a day more in
    every other month of 2024, so that the process chart's baseline varies), not yet
    loaded."""
    (folder / "kpi.toml").write_text(PROJECT)
    rows = ["Date,Force,Days"]
    for year in (2024, 2025):
        for month in range(1, 13):
            for force, days in DAYS.items():
                more = 0.5 * (month % 2) if year == 2024 else 1
                rows.append(f"{year}-{month:02d}-10,{force},{days + more}")
    (folder / "cases.csv").write_text("\n".join(rows) + "\n")
    return folder / "cases.csv"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("working-days")
    _kpi(folder, "ingest", "cases", write_project(folder))
    return folder


def _unlabelled(text: str) -> list[str]:
    """Each place a figure is followed by "day"/"days" without the label before it."""
    return [m.group(0) for m in re.finditer(r"[0-9][0-9,.]* days?\b", text)]


def test_every_sentence_printing_the_figure_uses_its_unit_label(project, tmp_path):
    board, full, html = (tmp_path / "board.md", tmp_path / "full.md", tmp_path / "full.html")
    _kpi(project, "export", "markdown", "--period", "2025-12", "--vs", "yoy",
         "--output", board)
    _kpi(project, "export", "markdown", "--period", "2025-12", "--vs", "yoy", "--full",
         "--output", full)
    _kpi(project, "export", "html", "--period", "2025-12", "--vs", "yoy", "--full",
         "--output", html)
    texts = {p.name: p.read_text(encoding="utf-8").replace("\\(", "(").replace("\\)", ")")
             for p in (board, full, html)}
    for name, text in texts.items():
        assert _unlabelled(text) == [], (name, _unlabelled(text))
    # The hand count: the 2025 mean of every force is its 2024 one plus a day; the focus's
    # and the group median's, to one decimal as the KPI's decimals say.
    current = {force: days + 1 for force, days in DAYS.items()}
    mine = current["Force K"]
    median = statistics.median(current[f] for f in PEERS)
    assert mine != median  # so the two are printed to the KPI's one decimal
    peer = (f"with {mine:.1f} working days against a group median of {median:.1f} working "
            "days")
    everything = sum(current.values()) / len(current)  # as many cases of each
    for name, text in texts.items():
        assert peer in text, (name, peer)
        assert f"The average was {everything:.1f} working days" in text, name
        # The other KPI's paragraph quotes it in its words.
        assert f"Complaint finalisation {everything:.1f} working days" in text, name
    # The full paper's breakdown: the highest figures, each in the label's words.
    top = sorted(current.values(), reverse=True)[:5]
    for value in top:
        assert f"({value:.1f} working days)" in texts["full.md"], value
    # The alt text of the peers figure and of the process chart.
    alts = re.findall(r'alt="([^"]*)"', texts["full.html"])
    bars = next(a for a in alts if a.startswith("Horizontal bar chart"))
    for force in PEERS:
        assert f"{force} {current[force]:.1f} working days" in bars, bars
    chart = next(a for a in alts if a.startswith("Process chart"))
    assert f"December 2025 at {everything:.1f} working days" in chart, chart


def test_the_peer_sentence_says_its_figures_as_the_paragraph_does():
    """The peer sentence's two figures in the prose's words (paper.kpi_value), not the
    terminal's: a duration in words, as the paragraph says it ("9:12" was printed beside
    "The average was 9 minutes and 12 seconds"), and a `unit_label`."""
    from test_change_beside_figures import _peers

    from kpi.catalogue import Better, Kind, KpiDef, Unit

    timed = KpiDef(id="k", title="K", priority="p", kind=Kind.MEAN, unit=Unit.SECONDS,
                   better=Better.LOWER, value="v", peers="g")
    sentence = _peers(552.4, 560, "value", timed)
    assert sentence is not None and sentence.endswith(
        "with 9 minutes and 12 seconds against a group median of 9 minutes and 20 seconds."), \
        sentence
    officers = KpiDef(id="k", title="K", priority="p", kind=Kind.SUM, unit=Unit.COUNT,
                      better=Better.HIGHER, value="v", peers="g", unit_label="officers")
    sentence = _peers(1, 2, "value", officers)
    assert sentence is not None and sentence.endswith(
        "with 1 officer against a group median of 2 officers."), sentence


DURATION_PROJECT = """
[project]
name = "Days to close"
baseline = "2024-12"

[datasets.cases]
date = "opened"
[datasets.cases.columns]
opened = { type = "date", from = ["Opened"] }
closed = { type = "date", from = ["Closed"] }

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "to_close"
title = "Days to close"
priority = "p"
kind = "mean"
dataset = "cases"
value = "closed - opened"
unit = "days"
unit_label = "LABEL"
better = "lower"
"""


def test_a_label_naming_another_unit_than_the_figures_is_refused(tmp_path):
    """By hand: two cases a month, closed 2 and 4 days after they opened, a mean of 3 days,
    which kpi works out from the two dates in days. `unit_label = "minutes"` scales nothing,
    and every face printed "3.0 minutes" (the JSON: value 3.0, unit days, unit_label minutes),
    exit 0. Refused now, naming the line and the key; "working days" prints the 3.0 days."""
    import json

    from typer.testing import CliRunner

    from kpi.cli import app

    rows = ["Opened,Closed"] + [
        f"{year}-{month:02d}-{opened:02d},{year}-{month:02d}-{opened + days:02d}"
        for year in (2024, 2025) for month in range(1, 13)
        for opened, days in ((1, 2), (5, 4))]
    (tmp_path / "cases.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "kpi.toml").write_text(DURATION_PROJECT.replace("LABEL", "working days"),
                                       encoding="utf-8")
    _kpi(tmp_path, "ingest", "cases", tmp_path / "cases.csv")
    (kpi,) = json.loads(_kpi(tmp_path, "summary", "--period", "2025-12", "--format",
                             "json"))["kpis"]
    assert (kpi["current"]["value"], kpi["unit"], kpi["unit_label"]) == (
        3.0, "days", "working days")
    assert "3.0 working days" in _kpi(tmp_path, "summary", "--period", "2025-12")
    toml = DURATION_PROJECT.replace("LABEL", "minutes")
    (tmp_path / "kpi.toml").write_text(toml, encoding="utf-8")
    line = toml.splitlines().index('unit_label = "minutes"') + 1
    refused = CliRunner().invoke(app, ["--project", str(tmp_path), "summary", "--period",
                                       "2025-12"])
    assert refused.exit_code == 3
    assert (f"Error: {tmp_path / 'kpi.toml'}:{line}: KPI 'to_close', key 'unit_label': names "
            "minutes, but this KPI's figures are in days, and a label scales nothing (3.0 days "
            "would print \"3.0 minutes\")") in refused.output


def test_a_duration_in_days_times_24_is_named_in_hours(tmp_path):
    """By hand: two cases a month, closed 2 and 4 days after they opened, a mean of 3 days,
    times `multiplier = 24`, 72 hours. Labelled "hours" it was refused by the rule before,
    whose hint ("working days", or no label) printed "72.0 working days" and "72.0 days",
    exit 0. Now "hours" prints 72.0 hours, and "working days" or no label is refused."""
    import json

    from typer.testing import CliRunner

    from kpi.cli import app

    rows = ["Opened,Closed"] + [
        f"{year}-{month:02d}-{opened:02d},{year}-{month:02d}-{opened + days:02d}"
        for year in (2024, 2025) for month in range(1, 13)
        for opened, days in ((1, 2), (5, 4))]
    (tmp_path / "cases.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    scaled = DURATION_PROJECT.replace('unit = "days"', 'unit = "days"\nmultiplier = 24')
    (tmp_path / "kpi.toml").write_text(scaled.replace("LABEL", "hours"), encoding="utf-8")
    _kpi(tmp_path, "ingest", "cases", tmp_path / "cases.csv")
    (kpi,) = json.loads(_kpi(tmp_path, "summary", "--period", "2025-12", "--format",
                             "json"))["kpis"]
    assert (kpi["current"]["value"], kpi["unit_label"]) == (3.0 * 24, "hours")
    assert "72.0 hours" in _kpi(tmp_path, "summary", "--period", "2025-12")
    for toml, key in ((scaled.replace("LABEL", "working days"), "unit_label"),
                      (scaled.replace('unit_label = "LABEL"\n', ""), "multiplier")):
        (tmp_path / "kpi.toml").write_text(toml, encoding="utf-8")
        refused = CliRunner().invoke(app, ["--project", str(tmp_path), "summary", "--period",
                                           "2025-12"])
        assert refused.exit_code == 3, refused.output
        assert f"KPI 'to_close', key '{key}': " in refused.output
        assert "hours" in refused.output and "72.0" not in refused.output


RATE_PROJECT = """
[project]
name = "Rate"
baseline = "2024-12"

[population]
force = 2000

[datasets.crimes]
date = "date"
[datasets.crimes.columns]
date = { type = "date", from = ["Date"] }

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "rate"
title = "Crime rate"
priority = "p"
kind = "per_1000"
population = "force"
dataset = "crimes"
better = "lower"
unit = "number"
EXTRA
"""


def test_a_rate_per_1000_in_unit_number_is_named_per_its_multiplier(tmp_path):
    """By hand: 18 crimes in 2025 (one a month, two in each of six months) among 2,000 people,
    9.0 per 1,000. In unit = "number" its label was free, and "per 10,000 population" printed
    "9.0 per 10,000 population" for 90, exit 0: a per_1000 KPI's figures are a rate per 1,000
    times its multiplier whatever its unit. With multiplier = 10 the label prints 90.0."""
    import json

    from typer.testing import CliRunner

    from kpi.cli import app

    rows = ["Date"] + [f"{year}-{month:02d}-{day:02d}" for year in (2024, 2025)
                       for month in range(1, 13) for day in ((10, 11) if month % 2 else (10,))]
    (tmp_path / "crimes.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    label = 'unit_label = "per 10,000 population"'
    (tmp_path / "kpi.toml").write_text(
        RATE_PROJECT.replace("EXTRA", f"multiplier = 10\n{label}"), encoding="utf-8")
    _kpi(tmp_path, "ingest", "crimes", tmp_path / "crimes.csv")
    (kpi,) = json.loads(_kpi(tmp_path, "summary", "--period", "2025-12", "--format",
                             "json"))["kpis"]
    assert kpi["current"]["value"] == pytest.approx(18 / 2000 * 10_000)
    _kpi(tmp_path, "export", "markdown", "--period", "2025-12", "--output", tmp_path / "p.md")
    paper = (tmp_path / "p.md").read_text(encoding="utf-8")
    assert "90.0 per 10,000 population" in paper and "9.0 per" not in paper
    for extra in (label, 'unit_label = "crimes"'):
        (tmp_path / "kpi.toml").write_text(RATE_PROJECT.replace("EXTRA", extra),
                                           encoding="utf-8")
        refused = CliRunner().invoke(app, ["--project", str(tmp_path), "summary", "--period",
                                           "2025-12"])
        assert refused.exit_code == 3, refused.output
        assert "KPI 'rate', key 'unit_label': " in refused.output
        assert "this KPI's figures are per 1,000" in refused.output
