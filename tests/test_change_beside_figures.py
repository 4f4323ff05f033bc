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
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st
from project_toml import fixture_months, head, kpi_block
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
                               median_per_1000=median, median=median, population=None)
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


# ---------------------------------------------------------------------------------------------
# `kpi compare`'s ranked table: each part's change beside its status


@st.composite
def ranked_parts(draw):
    """A KPI of any unit and `decimals`, higher or lower better, with a stable band or none,
    and one to five parts, each a current and a comparison figure a few units of their first
    to sixth decimal about one level: columns whose places (`columns_places`) often exceed
    some part's own pair's."""
    unit = draw(st.sampled_from(list(Unit)))
    decimals = None if unit == Unit.SECONDS else draw(st.sampled_from([None, 0, 1, 2]))
    kpi = KpiDef(id="k", title="K", priority="p", kind=Kind.MEAN, unit=unit, value="v",
                 better=draw(st.sampled_from([Better.HIGHER, Better.LOWER])),
                 decimals=decimals, stable_band=draw(st.sampled_from([0.0, 0.0, 0.05, 1.0])))
    level = Decimal(draw(st.integers(0, 100_000))).scaleb(-draw(st.integers(0, 3)))
    step = Decimal(1).scaleb(-draw(st.integers(1, 6)))

    def figure() -> float:
        return float(abs(level + draw(st.integers(-9, 9)) * step))

    return kpi, [(figure(), figure()) for _ in range(draw(st.integers(1, 5)))]


def _compared(kpi: KpiDef, pairs: list[tuple[float, float]]):
    """`kpi compare`'s result of parts p0, p1, ... with these (current, comparison) figures,
    each part's change and status the engine's, ranked on the values."""
    from kpi import compare, engine
    from kpi.engine import Measured
    from kpi.periods import Comparison, Month, Window
    from kpi.rounding import mean_of, median_of

    now, then = Window.year_ending(Month.of(2025, 9)), Window.year_ending(Month.of(2024, 3))
    parts = []
    for number, (current, comparison) in enumerate(pairs):
        change = engine.change_between(kpi, current, comparison)
        status, _ = engine.judged(kpi, change, now, None)
        parts.append(compare.PartResult(f"p{number}", Measured(now, current),
                                        Measured(then, comparison), change, status, None))
    values = [current for current, _ in pairs]
    compared = compare.KpiComparison(kpi, now, then,
                                     tuple(compare._ranked(parts, kpi.better, "value")),
                                     "value", mean_of(values), median_of(values))
    return compare.PeerComparison(Month.of(2025, 9), Comparison.BASELINE, "lpa", None, None,
                                  (compared,), {})


@settings(max_examples=300, deadline=None)
@given(ranked_parts())
# A column at four places (99.9002% needs them apart from 99.9001%) printed p0's "+0.0002pp"
# beside "stable": its status is judged at its own pair's places, one decimal.
@example((_kpi(Unit.PERCENT, None), [(99.9001, 99.8999), (99.9002, 99.9)]))
@example((_kpi(Unit.NUMBER, 0), [(1000.4, 1000.4), (1000.41, 1000.39)]))
def test_a_ranked_parts_change_reads_as_its_status_says(case):
    """`kpi compare`'s table prints each part's figures to its column's places, so that the
    ranking reads; its change beside them printed to the column's places too, "+0.0002pp"
    beside "stable" (99.9001% against 99.8999%, in a column a part needing four places set).
    Read off the text and Markdown: each part's status is the oracle's of its own two figures
    (`oracle_support.status_of`, whatever the other rows), never contradicted by the change
    printed beside it (`oracle_support.status_reads`), and that change is the one the
    summary prints beside the same two figures."""
    import oracle_support
    from test_faces import plain_sections

    from kpi.cli.compare_command import comparison_document

    kpi, pairs = case
    document = comparison_document(_compared(kpi, pairs), "P")
    (_, rows), = plain_sections(render.render_table(document))
    markdown = [[re.sub(r"\\(.)", r"\1", c.strip()) for c in line.strip("|").split(" | ")]
                for line in render.render_markdown(document).splitlines()
                if re.match(r"\| (\d+|—) \| p\d", line)]
    assert [(r["lpa"], r["change"], r["status"]) for r in rows] == \
        [(m[1], m[4], m[5]) for m in markdown]
    k = oracle_support.Kpi(id="k", kind="mean", dataset="m", better=kpi.better.value,
                           stable_band=kpi.stable_band, decimals=render.own_places(kpi),
                           written_unit=kpi.unit.value)
    for row in rows:
        current, comparison = pairs[int(row["lpa"][1:])]
        status = oracle_support.status_of(k, current, comparison)
        alone = render.change_cell(result_of(kpi, comparison, current))
        said = (row["lpa"], row["comparison"], row["current"], row["change"], row["status"],
                kpi.unit, kpi.decimals, kpi.stable_band, pairs)
        assert row["status"] == status, said
        assert oracle_support.status_reads(k, status, row["change"], comparison,
                                           current) is None, said
        assert row["change"] == alone, (alone, said)


# ---------------------------------------------------------------------------------------------
# A result's change, its places and its status come from its KPI and its two figures


def _oracle_kpi(kpi: KpiDef):
    import oracle_support

    return oracle_support.Kpi(id="k", kind="mean", dataset="m", better=kpi.better.value,
                              stable_band=kpi.stable_band, decimals=render.own_places(kpi),
                              target=kpi.target, written_unit=kpi.unit.value)


@settings(max_examples=300, deadline=None)
@given(near_pair(), st.sampled_from([0, 1, 2, 3]))
# Rebuilt with whole percentages beside the change made at one decimal: "+6.8pp", where the
# KPI prints "+7pp" (tests/test_paper.py rebuilt one so).
@example((_kpi(Unit.PERCENT, 1), 13.5, 6.7), 0)
@example((_kpi(Unit.PERCENT, 0), 0.6, 0.4), 1)  # "+0.2pp" either way: the same change
def test_a_result_holds_only_the_change_and_status_of_its_figures(case, decimals):
    """The places a change prints to are stored on it once (`Change.places`) and read by
    every face (`render.change_digits`): they are the oracle's (`oracle_support.
    change_places`). A result that keeps a change, or a status, its KPI and its two figures
    do not give (another KPI's `decimals` beside the old change) cannot be built, as a
    KPI's result or as a part's in `kpi compare`."""
    import dataclasses

    import oracle_support
    import pytest

    from kpi import compare, engine

    kpi, current, comparison = case
    result = result_of(kpi, comparison, current)
    assert result.change is not None
    assert render.change_digits(result) == result.change.places == \
        oracle_support.change_places(_oracle_kpi(kpi), comparison, current)
    parts = (result.current, result.comparison, result.change)
    other = kpi if kpi.unit == Unit.SECONDS else dataclasses.replace(kpi, decimals=decimals)
    rebuilt = engine.change_between(other, current, comparison)
    assert rebuilt is not None
    stale = rebuilt.places != result.change.places or \
        engine.status_of(other, rebuilt) != result.status
    if stale:
        with pytest.raises(ValueError, match="is not its"):
            engine.KpiResult(other, result.status, *parts)
    else:
        assert render.change_digits(engine.KpiResult(other, result.status, *parts)) == \
            result.change.places
    judged = {"improving", "deteriorating", "stable", "changed"}  # docs/catalogue.md, Status
    for status in sorted(judged - {result.status}):
        with pytest.raises(ValueError, match="status"):
            engine.KpiResult(kpi, status, *parts)
        part = compare.PartResult("p", *parts, status, None)
        with pytest.raises(ValueError, match="status"):
            compare.KpiComparison(kpi, None, None, (part,), "value", None, None)
    with pytest.raises(ValueError, match="judges no change"):
        engine.KpiResult(kpi, engine.Outcome.STABLE, None, None, None)


@settings(max_examples=200, deadline=None)
@given(near_pair())
def test_a_compare_part_holds_only_its_figures_change_where_it_is_built(case):
    """A `kpi compare` part (`kpi.compare.PartResult`, which holds no KPI) is refused where
    it is built, not only where it meets its KPI (`KpiComparison`), when its change or status
    is not what its two figures alone give (`engine.unfigured`): a judged status beside no
    change ("stable" beside one figure, as tests/test_compare.py built its parts), a change
    beside one figure, none beside two, or a change whose size or % change is not theirs.
    What needs the KPI (points or an absolute change, the places, the status's direction
    and band) is refused where the part meets it (the test above)."""
    import dataclasses

    import pytest

    from kpi import compare, engine

    kpi, current, comparison = case
    result = result_of(kpi, comparison, current)
    now, then, change = result.current, result.comparison, result.change
    assert change is not None
    assert compare.PartResult("p", now, then, change, result.status, None).change == change
    for status in ("improving", "deteriorating", "stable", "changed"):
        with pytest.raises(ValueError, match="judges no change"):
            compare.PartResult("p", now, None, None, status, None)
    for figures, made in (((now, None), change), ((None, then), change), ((now, then), None)):
        with pytest.raises(ValueError, match="is not its figures'"):
            compare.PartResult("p", *figures, made, engine.Outcome.NO_DATA, None)
    size = "points" if change.points is not None else "absolute"
    wrong = [dataclasses.replace(change, **{size: getattr(change, size) + 1})]
    if change.percent is not None:
        wrong.append(dataclasses.replace(change, percent=change.percent + 1))
    for made in wrong:
        with pytest.raises(ValueError, match="is not its figures'"):
            compare.PartResult("p", now, then, made, result.status, None)


RANKED_TOML = (head("A column at four places", "2024-03", "m",
                    {"day": "date", "lpa": "str", "v": "float"},
                    sources=["extracts/m.csv"], priority=("p", "Parts"))
               + kpi_block("share", "Share", "m", kind="mean", value="v", unit="percent",
                           better="higher", breakdowns=["lpa"]))


def _ranked_project(root):
    """Every month one row a part: North 99.8999% before April 2024 and 99.9001% since,
    South 99.8% before and 99.9002% since. Ranked on the current figures, the column takes
    four places for 99.9001% and 99.9002% to read apart; North's own two figures print alike
    at the KPI's one decimal ("99.9%" twice), its change "0.0pp", stable."""
    (root / "extracts").mkdir(parents=True)
    (root / "kpi.toml").write_text(RANKED_TOML, encoding="utf-8")
    lines = ["day,lpa,v"]
    for month, since in fixture_months():
        lines += [f"{month}-15,North,{'99.9001' if since else '99.8999'}",
                  f"{month}-15,South,{'99.9002' if since else '99.8'}"]
    (root / "extracts" / "m.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_a_ranked_parts_change_prints_where_its_status_is_judged_in_every_face(cli, tmp_path):
    """By hand: North's 99.8999% and 99.9001% print to the column's four places, beside
    "0.0pp" and stable (they printed "+0.0002pp" beside stable); South's 99.8000% and
    99.9002% beside "+0.1pp" and improving, its change to its own pair's one decimal, in
    `kpi compare`'s text, Markdown and workbook. JSON and CSV carry the exact figures and the
    same statuses."""
    import csv
    import io
    import json

    from test_faces import excel_shown, plain_sections, workbook_cells

    root = _ranked_project(tmp_path / "ranked")
    assert cli(["--project", root, "ingest", "m"]).exit_code == 0
    args = ["compare", "--by", "lpa", "--period", PERIOD]
    doc = json.loads(_run(cli, root, [*args, "--format", "json"]))
    parts = [(p["rank"], p["name"], p["comparison"]["value"], p["current"]["value"],
              p["change"]["points"], p["status"]) for p in doc["kpis"][0]["parts"]]
    assert parts == [(1, "South", 99.8, 99.9002, 0.1002, "improving"),
                     (2, "North", 99.8999, 99.9001, 0.0002, "stable")]
    rows = list(csv.DictReader(io.StringIO(_run(cli, root, [*args, "--format", "csv"]))))
    assert [(r["part"], r["change_points"], r["status"]) for r in rows] == \
        [("South", "0.1002", "improving"), ("North", "0.0002", "stable")]
    want = [("1", "South", "99.8000%", "99.9002%", "+0.1pp", "improving"),
            ("2", "North", "99.8999%", "99.9001%", "0.0pp", "stable")]
    (_, table), = plain_sections(_run(cli, root, args))
    assert [(r["rank"], r["lpa"], r["comparison"], r["current"], r["change"], r["status"])
            for r in table] == want
    markdown = _run(cli, root, [*args, "--format", "markdown"])
    for row in want:
        assert "| " + " | ".join(row) + " |" in markdown, markdown
    _run(cli, root, [*args, "--format", "xlsx"], tmp_path / "c.xlsx")
    _, cells = workbook_cells(tmp_path / "c.xlsx", "kpi")
    assert [(r["part"][0], excel_shown(*r["comparison_value"]),
             excel_shown(*r["current_value"]), excel_shown(*r["change_points"]),
             r["status"][0]) for r in cells] == [w[1:] for w in want]


def test_a_show_breakdowns_change_prints_at_its_stored_places_in_every_face(cli, tmp_path):
    """By hand: `kpi show`'s breakdown by lpa prints each part's two figures to the column's
    four places (99.9002% and 99.9001% read apart), and each part's change to the places
    stored on it (`Change.places`, those of its own two figures, as `kpi compare` and the
    summary print it): South "+0.1pp", North "0.0pp", where they printed "+0.1002pp" and
    "+0.0002pp" at the column's places, so the same part's change read otherwise in `kpi
    show` and `kpi compare`. In the text, Markdown and the workbook's cells; the same months
    a year earlier (the KPI's monthly means: 99.84995% before April 2024, 99.90015% since)
    each to its own pair's one decimal."""
    from test_faces import excel_shown, plain_sections, workbook_cells

    root = _ranked_project(tmp_path / "ranked")
    assert cli(["--project", root, "ingest", "m"]).exit_code == 0
    args = ["show", "share", "--period", PERIOD, "--seasonal"]
    parts = [("1", "South", "99.9002%", "99.8000%", "+0.1pp"),
             ("2", "North", "99.9001%", "99.8999%", "0.0pp")]
    months = [(f"{m}", "99.9%", "99.8%", "+0.1pp")
              for m in ("2024-10", "2024-11", "2024-12", "2025-01", "2025-02", "2025-03")]
    months += [(f"2025-{m:02d}", "99.9%", "99.9%", "0.0pp") for m in range(4, 10)]
    sections = dict(plain_sections(_run(cli, root, args)))
    assert [(r["rank"], r["lpa"], r["current"], r["comparison"], r["change_points"])
            for r in sections["By lpa"]] == parts
    assert [(r["month"], r["value"], r["a_year_earlier"], r["change_points"])
            for r in sections["Same months a year earlier"]] == months
    markdown = _run(cli, root, [*args, "--format", "markdown"])
    for row in [*parts, *months]:
        assert "| " + " | ".join(row) + " |" in markdown, markdown
    # The part's change as `kpi compare` prints it beside its status.
    (_, compared), = plain_sections(_run(cli, root, ["compare", "--by", "lpa",
                                                      "--period", PERIOD]))
    assert {r["lpa"]: r["change"] for r in compared} == {p[1]: p[4] for p in parts}
    _run(cli, root, [*args, "--format", "xlsx"], tmp_path / "s.xlsx")
    _, cells = workbook_cells(tmp_path / "s.xlsx", "rank", "By lpa")
    assert [(str(int(r["rank"][0])), r["lpa"][0], excel_shown(*r["current"]),
             excel_shown(*r["comparison"]), excel_shown(*r["change_points"]))
            for r in cells] == parts
    _, cells = workbook_cells(tmp_path / "s.xlsx", "month", "Same months a year earlier")
    assert [(excel_shown(*r["value"]), excel_shown(*r["a_year_earlier"]),
             excel_shown(*r["change_points"])) for r in cells] == [m[1:] for m in months]


def test_the_papers_ranking_prints_each_change_at_no_fewer_places_than_its_own():
    """By hand: a share of whole percentages whose parts moved 0.4% to 0.6% and 20% to 30%.
    The paper's ranking of the parts' changes printed the first "0pp" (the KPI's places),
    where its change is judged at one decimal and `kpi show` and `kpi compare` print
    "+0.2pp" beside the same two figures: one precision for the list, now no fewer places
    than any part's change is judged at (`Change.places`, stored on each breakdown row)."""
    from kpi.document import plain_text
    from kpi.engine import change_between
    from kpi.paper import _ranking

    kpi = KpiDef(id="k", title="K", priority="p", kind=Kind.RATE, unit=Unit.PERCENT,
                 better=Better.HIGHER, value="v", decimals=0)
    rows = []
    for part, now, then in (("North", 0.6, 0.4), ("South", 30.0, 20.0)):
        change = change_between(kpi, now, then)
        rows.append({"part": part, "current": now, "comparison": then,
                     "absolute": change.absolute, "percent": change.percent,
                     "points": change.points, "places": change.places})
    assert [r["places"] for r in rows] == [1, 0]
    widened: set[str] = set()
    assert plain_text(_ranking(kpi, "LPA", rows, widened=widened)) == (
        "By LPA, the change in percentage points, best first: South (+10.0pp), "
        "North (+0.2pp).")
    assert widened == {"K"}  # the method names it among those printed to more places
