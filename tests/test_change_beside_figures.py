"""Two figures printed side by side (a current window beside its comparison) and the change
printed beside them never contradict each other, either way round: the two print apart
exactly where the change reads as one (docs/guarantees.md, `kpi.rounding.pair_places`).

The forward half (a change that reads as one between figures printed alike) is tested in
tests/test_target_figures.py and tests/test_beside_comparison.py. Here the converse: 0.4%
against 0.6% to no decimals printed "0%" and "1%" beside "+0pp", status stable, and the paper
said "unchanged at the precision shown" between figures that visibly differed; they print
"0.4%" and "0.6%" beside "+0.2pp", and the status, judged at the places the change prints
to, is improving, never "stable" beside "+0.2pp". Checked on the text the summary prints
(`render`) and on the paper's sentence (`paper.figure_words`), read back as numbers, and on a
hand-made project through `kpi summary` (text, Markdown) and the paper."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st
from project_toml import head, kpi_block
from prose_support import result_of
from test_faces import PERIOD, _run, markdown_rows
from test_target_figures import near_pair, read

from kpi import paper, render
from kpi.catalogue import Better, Kind, KpiDef, Unit
from kpi.rounding import Beside


def _change_reads(text: str, unit: Unit) -> bool:
    """Whether a printed change ('+0.2pp', '+0.2 (+0.0%)', '0 (n/a)', '-0:01 (-0.1%)') reads
    as one: its size or its % change is not zero as printed."""
    size, _, percent = text.partition(" (")
    if read(size.lstrip("+"), Unit.SECONDS if unit == Unit.SECONDS else Unit.NUMBER) != 0:
        return True
    percent = percent.rstrip(")")
    return percent not in ("", "n/a") and read(percent, Unit.NUMBER) != 0


_SENTENCE = re.compile(r"^(.*) in the year ending September 2025, (.*) from (.*) in the year "
                       r"ending March 2024$")


def _kpi(unit: Unit, places: int | None, target: float | None = None) -> KpiDef:
    return KpiDef(id="k", title="K", priority="p", kind=Kind.MEAN, unit=unit,
                  better=Better.HIGHER, value="v", decimals=places, target=target)


@settings(max_examples=500, deadline=None)
@given(near_pair())
@example((_kpi(Unit.PERCENT, 0), 0.6, 0.4))  # "0%" and "1%" beside "+0pp"
@example((_kpi(Unit.PERCENT, 1), 12.46, 12.44))  # "12.4%" and "12.5%" beside "+0.0pp"
@example((_kpi(Unit.NUMBER, 0), 1000.6, 1000.4))  # "1,000" and "1,001" beside "+0 (+0.0%)"
@example((_kpi(Unit.RATIO, 1), 1.46, 1.44))  # "1.4" and "1.5" beside "+0.0"
@example((_kpi(Unit.PERCENT, 1, 12.45), 12.46, 12.44))  # two places for the target already
def test_two_figures_print_apart_exactly_where_the_change_beside_them_reads(case):
    """The summary's text (`render.number` of each window beside the other, and its change
    cell) and the paper's sentence (a figure, its change and the figure it is from): the two
    figures read apart ⇔ the change reads as one. The status is the engine's judgement of the
    size it judges (points, else the % change, else the absolute change) at the places that
    size prints to: stable ⇔ it prints as zero (no band here)."""
    kpi, current, comparison = case
    result = result_of(kpi, comparison, current)
    now = render.number(current, kpi, beside=Beside.comparison(comparison))
    then = render.number(comparison, kpi, beside=Beside.current(current))
    change = render.change_cell(result)
    apart = read(now, kpi.unit) != read(then, kpi.unit)
    assert apart == _change_reads(change, kpi.unit), (now, then, change, kpi.unit,
                                                      kpi.decimals, kpi.target)
    # A change printed with no places given (the full paper's summary table, which prints
    # the current figure alone) prints where its status was judged, as the summary's does.
    if kpi.unit != Unit.SECONDS:
        cell = paper.change_cell(result.change, kpi).replace("\u2212", "-")
        assert _change_reads(cell, kpi.unit) == apart, (cell, change)
        assert render.change_text(result.change, kpi) == change
    # The paper's sentence: "<figure> in ..., <change words> from <figure> in ...".
    sentence = _SENTENCE.match(paper.figure_words(result))
    assert sentence is not None, paper.figure_words(result)
    said_now, words, said_then = sentence.groups()
    said_apart = read(said_now, kpi.unit) != read(said_then, kpi.unit)
    unchanged = words.startswith("unchanged")
    if not unchanged:  # "an increase of 0.2 percentage points": a size that reads
        size = words.split(" of ", 1)[1].split(" (")[0]
        assert read(size, Unit.SECONDS if kpi.unit == Unit.SECONDS and "%" not in size
                    else Unit.NUMBER) != 0, words
    assert said_apart == (not unchanged), (said_now, words, said_then, kpi.unit, kpi.decimals)
    # The status: stable exactly where the size it judges prints as zero beside the figures.
    size, _, percent = change.partition(" (")
    percent = percent.rstrip(")")
    by_size = percent in ("", "n/a")  # points, a ratio's change, or no % from its base
    shown_zero = read((size if by_size else percent).lstrip("+"),
                      Unit.SECONDS if kpi.unit == Unit.SECONDS and by_size
                      else Unit.NUMBER) == 0
    assert (result.status == "stable") == shown_zero, (now, then, change, result.status)


TOML = (head("Either side of a rounding point", "2024-03", "m",
             {"day": "date", "hit": "bool", "days": "float"},
             sources=["extracts/m.csv"], priority=("p", "Pairs"))
        + kpi_block("found", "Found", "m", kind="rate", numerator="hit", better="higher",
                    decimals=0)
        + kpi_block("wait", "Wait", "m", kind="mean", value="days", unit="days", decimals=0,
                    better="lower"))


def _project(root):
    """Every month 1,000 calls: 6 found since April 2024 (0.6%), 4 before (0.4%); each
    waiting 1,000.6 days since, 1,000.4 before."""
    (root / "extracts").mkdir(parents=True)
    (root / "kpi.toml").write_text(TOML, encoding="utf-8")
    lines = ["day,hit,days"]
    for m in range(30):
        year, month = 2023 + (m + 3) // 12, (m + 3) % 12 + 1
        hits, days = (6, 1000.6) if (year, month) >= (2024, 4) else (4, 1000.4)
        lines += [f"{year}-{month:02d}-15,{i < hits},{days}" for i in range(1000)]
    (root / "extracts" / "m.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_a_pair_either_side_of_a_rounding_point_prints_its_change(cli, tmp_path):
    """By hand: 0.4% and 0.6% to no decimals, and waits of 1,000.4 and 1,000.6 days, print to
    one decimal with their change (+0.2pp; +0.2 (0.0%)), in the summary's text and Markdown
    and in the paper, which never says "unchanged" between them. The status judges the size
    as printed: the rate's points, "+0.2pp", are a rise (improving, never "stable" beside
    them); the wait's % change, "0.0%", is none (stable)."""
    import json

    root = _project(tmp_path / "pair")
    assert cli(["--project", root, "ingest", "m"]).exit_code == 0
    doc = json.loads(_run(cli, root, ["summary", "--period", PERIOD, "--format", "json"]))
    assert [(k["comparison"]["value"], k["current"]["value"], k["status"])
            for k in doc["kpis"]] == [(0.4, 0.6, "improving"), (1000.4, 1000.6, "stable")]
    rows = markdown_rows(_run(cli, root, ["summary", "--period", PERIOD, "--format",
                                          "markdown"]))
    assert [c.split(": ")[-1] for c in rows["Found"][:3]] == ["0.4%", "0.6%", "+0.2pp"]
    assert [c.split(": ")[-1] for c in rows["Wait"][:3]] == \
        ["1,000.4 days", "1,000.6 days", "+0.2 (0.0%)"]
    table = " ".join(_run(cli, root, ["summary", "--period", PERIOD]).split())
    assert re.search(r"Found (?:\S+ )?0\.4% 0\.6% \+0\.2pp ↑ improving", table), table
    assert re.search(r"Wait (?:\S+ )?1,000\.4 days 1,000\.6 days \+0\.2 \(0\.0%\) → stable",
                     table), table
    _run(cli, root, ["export", "markdown", "--period", PERIOD], tmp_path / "paper.md")
    text = " ".join(re.sub(r"\\(.)", r"\1", (tmp_path / "paper.md").read_text(
        encoding="utf-8")).split())
    assert "unchanged" not in text, text
    assert "0.6% (72 of 12,000), up 0.2 percentage points from 0.4%" in text, text
    assert not re.search(r"(?<![.\d])[01]%", text), text
    assert "1,000.6 days in the year ending September 2025, an increase of 0.2 days from " \
        "the baseline of 1,000.4 days" in text, text
    for name in ("Found", "Wait"):
        figures = [f for f in json.loads((tmp_path / "paper.figures.json").read_text(
            encoding="utf-8"))["figures"] if f["kpi"] == name.lower()]
        assert {f["role"]: f["shown"] for f in figures if f["role"] in
                ("current", "comparison")} == (
            {"current": "0.6%", "comparison": "0.4%"} if name == "Found"
            else {"current": "1,000.6 days", "comparison": "1,000.4 days"}), figures


def _peers(focus: float, median: float, ranked_on: str, kpi: KpiDef) -> str | None:
    """The paper's peer sentence of a group of three (Avon, Bure, Cam, the focus) whose focus
    has `focus` and whose median is `median`, per 1,000 or in the KPI's unit."""
    from types import SimpleNamespace

    from kpi.compare import peer_sentence
    from kpi.periods import Month, Window

    group = SimpleNamespace(title="similar forces", focus="Cam", members=("Avon", "Bure"))
    parts = [SimpleNamespace(name=name, rank=rank, per_1000=figure, vs_rest=None,
                             current=SimpleNamespace(value=figure))
             for name, rank, figure in (("Avon", 1, median - 1), ("Bure", 3, median + 1),
                                        ("Cam", 2, focus))]
    compared = SimpleNamespace(ranked_on=ranked_on, parts=parts,
                               current=Window.year_ending(Month.of(2025, 12)),
                               median_per_1000=median, median=median)
    return peer_sentence(SimpleNamespace(peers={"g": group}), kpi, Month.of(2025, 12),
                         None, compared=compared)  # type: ignore[arg-type]


def test_the_peer_sentence_prints_the_focus_apart_from_the_median_where_they_differ():
    """"Compared with peers ..., with X against a group median of Y": the focus's figure and
    the median side by side, no change printed between them. 0.4451 against 0.4549 per 1,000
    (a difference of 0.01 at two places) printed "0.45" twice; 0.444 against 0.446 (a
    difference that reads as none at two places) printed "0.44" against "0.45". Each prints
    to three places; 0.45 against 0.4549 stays at two, alike, and 0.5 against 0.7 too."""
    kpi = KpiDef(id="k", title="K", priority="p", kind=Kind.PER_1000, unit=Unit.PER_1000,
                 better=Better.LOWER, value="v", peers="g")
    for focus, median, shown in ((0.4451, 0.4549, ("0.445", "0.455")),
                                 (0.444, 0.446, ("0.444", "0.446")),
                                 (0.45, 0.4549, ("0.45", "0.45")),
                                 (0.5, 0.7, ("0.50", "0.70"))):
        sentence = _peers(focus, median, "per_1000", kpi)
        assert sentence is not None
        assert f"with {shown[0]} per 1,000 people against a group median of {shown[1]}" \
            in sentence, (focus, median, sentence)
    # In the KPI's unit (a percentage to one decimal): 12.44 against 12.46.
    share = KpiDef(id="k", title="K", priority="p", kind=Kind.MEAN, unit=Unit.PERCENT,
                   better=Better.HIGHER, value="v", peers="g")
    sentence = _peers(12.44, 12.46, "value", share)
    assert sentence is not None and "with 12.44% against a group median of 12.46%" in sentence


@settings(max_examples=500, deadline=None)
@given(near_pair(), st.sampled_from([0.0, 0.0, 0.05, 1.0]),
       st.sampled_from([None, Better.NEUTRAL]))
@example((_kpi(Unit.PERCENT, 0), 0.6, 0.4), 0.0, None)  # "+0.2pp" read "stable"
@example((_kpi(Unit.PERCENT, 0), 0.6, 0.4), 1.0, None)  # within its band: stable
@example((_kpi(Unit.RATIO, 1), 1.46, 1.44), 0.0, Better.NEUTRAL)  # "+0.02": changed
# 0.451% against a target of 0.45% takes three places beside 0.45% ("0.451%", "0.450%",
# "+0.001pp"): at two it would print as the target it exceeds (the oracle's model said
# "stable" there; found by a whole run)
@example((_kpi(Unit.PERCENT, None, 0.45), 0.451, 0.45), 0.0, None)
def test_the_status_is_the_oracles_and_reads_as_the_change_printed_beside_it(case, band,
                                                                            better):
    """The engine's status of two figures (`engine.status_of`, through `change_between`)
    against the differential oracle's statement of the rule (`oracle_support.status_of`, its
    places worked out in decimals), and against the change the summary prints beside it
    (`oracle_support.status_reads`): stable ⇔ the size judged prints as zero, outside the
    stable band. 0.4% against 0.6% at no decimals printed "+0.2pp" beside "stable"."""
    from dataclasses import replace

    import oracle_support

    kpi, current, comparison = case
    kpi = replace(kpi, stable_band=band, better=better or kpi.better)
    result = result_of(kpi, comparison, current)
    k = oracle_support.Kpi(id="k", kind="mean", dataset="m", better=kpi.better.value,
                           stable_band=band, decimals=render.own_places(kpi),
                           target=kpi.target, written_unit=kpi.unit.value)
    assert result.status == oracle_support.status_of(k, current, comparison), (
        current, comparison, kpi.unit, kpi.decimals, band, render.change_cell(result))
    why = oracle_support.status_reads(k, result.status, render.change_cell(result),
                                      comparison, current)
    assert why is None, (why, current, comparison, kpi.unit, kpi.decimals, band)
