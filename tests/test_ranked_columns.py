"""Figures in a column that ranks its rows never print alike where they differ.

`kpi show`'s breakdown lists each part by its current figure, highest first; `kpi compare`
ranks its parts by their value or their rate per 1,000; the paper ranks a breakdown's changes
("best first"), lists the highest figures and names a chart's highest and lowest part. Each
printed every figure to its KPI's places, so parts of 0.54 and 0.46 read "0.5" and "0.5"
ranked 1 and 2, and changes of +9.99% and +10.00% read "+10.0%" twice, listed by name as a
tie. Such a column prints to one number of places, the fewest at which every two figures
that differ print differently (docs/guarantees.md, `kpi.rounding.places_ranked`). The
printed figures are read back as decimals and held against the figures themselves, with
Hypothesis drawing columns of figures a few units of their first to sixth decimal apart;
then on a small project, through every face.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from oracle_support import excel_text
from test_faces import PERIOD, _run, excel_shown, plain_sections, workbook_cells

from kpi.rounding import places_ranked


def _side(a, b) -> int:
    return (a > b) - (a < b)


def _alike(a: float, b: float) -> bool:
    """Two figures that are one as Excel shows them (15 significant digits)."""
    return Decimal(format(a, ".15g")) == Decimal(format(b, ".15g"))


@st.composite
def ranked_table(draw):
    """Places, and rows of two figures (a part's current and comparison) a few units of their
    first to sixth decimal about a level, some missing; a target or none."""
    places = draw(st.integers(0, 3))
    level = Decimal(draw(st.integers(0, 100_000))).scaleb(-draw(st.integers(0, 3)))
    step = Decimal(1).scaleb(-draw(st.integers(1, 6)))
    if draw(st.booleans()):
        level = -level

    def figure():
        return None if draw(st.integers(0, 9)) == 0 else \
            float(level + draw(st.integers(0, 9)) * step)

    rows = [(figure(), figure()) for _ in range(draw(st.integers(1, 12)))]
    target = float(level + draw(st.integers(0, 9)) * step) if draw(st.booleans()) else None
    return places, rows, target, draw(st.booleans())


@settings(max_examples=500, deadline=None)
@given(ranked_table())
def test_a_ranked_column_prints_its_figures_in_their_order_and_apart(case):
    """Sorted by the figure, the rows' texts (Excel's rounding, `excel_text`, to the one
    number of places) read in non-decreasing order, two figures that differ read apart, and
    no fewer places than the KPI's."""
    places, rows, target, percent = case
    column = [a for a, _ in rows]
    digits = places_ranked(column, places, rows, target, percent)
    assert digits >= places
    figures = sorted(v for v in column if v is not None)
    texts = [Decimal(excel_text(v, digits)) for v in figures]
    assert texts == sorted(texts), (figures, digits)
    for a, a_text in zip(figures, texts, strict=True):
        for b, b_text in zip(figures, texts, strict=True):
            if not _alike(a, b):
                assert a_text != b_text, (a, b, digits, figures)
    # One column alone (a rate per 1,000): the same, from its own places.
    alone = places_ranked(column, places)
    assert len({excel_text(v, alone) for v in figures}) == \
        len({Decimal(format(v, ".15g")) for v in figures}), (figures, alone)


@settings(max_examples=300, deadline=None)
@given(ranked_table())
def test_each_row_still_stands_beside_its_other_and_its_target(case):
    """The rule beside the column's: each row's two figures, and each against the target as
    printed, stand at the column's places as they do at the places the row takes alone
    (`places_apart`), so parting a column never makes a change or a verdict read wrong."""
    from kpi.rounding import places_apart, reads_changed, target_places

    places, rows, target, percent = case
    digits = places_ranked([a for a, _ in rows], places, rows, target, percent)
    for a, b in rows:
        alone = places_apart(a, b, target, places, percent)
        for x, y in ((a, b), (b, a)):
            if x is None:
                continue
            if y is not None and not _alike(x, y) and reads_changed(x, y, places, percent) \
                    and _side(Decimal(excel_text(x, alone)), Decimal(excel_text(y, alone))) \
                    == _side(x, y):
                assert _side(Decimal(excel_text(x, digits)), Decimal(excel_text(y, digits))) \
                    == _side(x, y), (x, y, alone, digits)
            if target is not None:
                aim = Decimal(excel_text(target, target_places(target, places)))
                if _side(Decimal(excel_text(x, alone)), aim) == _side(x, target):
                    assert _side(Decimal(excel_text(x, digits)), aim) == _side(x, target), \
                        (x, target, alone, digits)


def test_a_table_not_ranked_by_a_column_prints_it_to_one_number_of_places():
    """No column (parts ranked per 1,000): the rows' figures to the most any row takes
    alone; 0.52 beside 0.50 takes two, so 0.7 beside 0.7 prints "0.70"."""
    assert places_ranked([], 1, [(0.52, 0.5), (0.7, 0.7)]) == 2
    assert places_ranked([], 1, [(0.5, 0.5), (0.7, 0.7)]) == 1
    # Ranked by the column: 0.54 and 0.46 read "0.5" at one place.
    assert places_ranked([0.54, 0.46], 1, [(0.54, 0.54), (0.46, 0.46)]) == 2
    # Equal figures are a tie, at the column's own places.
    assert places_ranked([0.5, 0.5, 0.7], 1) == 1


# ---------------------------------------------------------------------------------------------
# A small project through every face

TOML = """
[project]
name = "Close parts"
baseline = "2024-03"

[datasets.m]
date = "day"
sources = ["extracts/m.csv"]
[datasets.m.columns]
day = "date"
lpa = "str"
v = "float"
n = "int"

[[priorities]]
id = "p"
title = "Parts"

[[kpis]]
id = "level"
title = "Level"
priority = "p"
dataset = "m"
kind = "mean"
value = "v"
unit = "number"
decimals = 1
better = "higher"
breakdowns = ["lpa"]

[[kpis]]
id = "calls"
title = "Calls"
priority = "p"
dataset = "m"
kind = "sum"
value = "n"
better = "lower"
breakdowns = ["lpa"]

[[charts]]
id = "level_lpa"
type = "compare"
title = "Level by LPA"
kpis = ["level"]
by = "lpa"
"""


def _project(root):
    """Every month from April 2023 to September 2025 a level of 0.54 in North and 0.46 in
    South (the same in both windows: no change to part them beside each other); calls of
    1,000 (North) and 1,001 (South) in April 2023, of the baseline year, and 1,100 and 1,101
    in October 2024, of the current year: rises of 10.00% and 9.99% (worked by hand: 100 /
    1,000 and 100 / 1,001), both "+10.0%" at one place."""
    (root / "extracts").mkdir(parents=True)
    (root / "kpi.toml").write_text(TOML, encoding="utf-8")
    calls = {("2023-04", "North"): 1000, ("2023-04", "South"): 1001,
             ("2024-10", "North"): 1100, ("2024-10", "South"): 1101}
    lines = ["day,lpa,v,n"]
    for m in range(30):
        month = f"{2023 + (m + 3) // 12}-{(m + 3) % 12 + 1:02d}"
        for lpa, level in (("North", "0.54"), ("South", "0.46")):
            lines.append(f"{month}-15,{lpa},{level},{calls.get((month, lpa), 0)}")
    (root / "extracts" / "m.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_close_parts_read_apart_in_every_face(cli, tmp_path):
    root = _project(tmp_path / "close")
    assert cli(["--project", root, "ingest", "m"]).exit_code == 0
    # kpi show: the JSON's figures exact; the text's "By lpa" ranked 1 and 2 read "0.54" and
    # "0.46" (they read "0.5" and "0.5"), both columns to the same places.
    args = ["show", "level", "--period", PERIOD]
    doc = json.loads(_run(cli, root, [*args, "--format", "json"]))
    assert [(r["part"], r["current"], r["comparison"]) for r in doc["breakdowns"]["lpa"]] == \
        [("North", 0.54, 0.54), ("South", 0.46, 0.46)]
    sections = dict(plain_sections(_run(cli, root, args, tmp_path / "show.txt")))
    assert [(r["rank"], r["lpa"], r["current"], r["comparison"])
            for r in sections["By lpa"]] == [("1", "North", "0.54", "0.54"),
                                             ("2", "South", "0.46", "0.46")]
    markdown = _run(cli, root, [*args, "--format", "markdown"])
    assert re.search(r"\| 1 \| North \| 0\.54 \| 0\.54 \|", markdown), markdown
    assert re.search(r"\| 2 \| South \| 0\.46 \| 0\.46 \|", markdown), markdown
    _run(cli, root, [*args, "--format", "xlsx"], tmp_path / "k.xlsx")
    _, parts = workbook_cells(tmp_path / "k.xlsx", "rank", "By lpa")
    assert [(excel_shown(*r["current"]), excel_shown(*r["comparison"])) for r in parts] == \
        [("0.54", "0.54"), ("0.46", "0.46")]
    # kpi compare: ranked on the values, 1 and 2, as the text, Markdown and the workbook
    # print them; the CSV and JSON carry the exact figures.
    args = ["compare", "--by", "lpa", "--period", PERIOD, "--kpi", "level"]
    doc = json.loads(_run(cli, root, [*args, "--format", "json"]))
    assert [(p["rank"], p["name"], p["current"]["value"]) for p in doc["kpis"][0]["parts"]] \
        == [(1, "North", 0.54), (2, "South", 0.46)]
    (title, rows), = plain_sections(_run(cli, root, args, tmp_path / "c.txt"))
    assert "ranked on the values" in title
    assert [(r["rank"], r["lpa"], r["comparison"], r["current"]) for r in rows] == \
        [("1", "North", "0.54", "0.54"), ("2", "South", "0.46", "0.46")]
    markdown = _run(cli, root, [*args, "--format", "markdown"])
    assert re.search(r"\| 1 \| North \| 0\.54 \| 0\.54 \|", markdown), markdown
    assert "0.54,0.54" not in _run(cli, root, [*args, "--format", "csv"])  # figures, not text
    _run(cli, root, [*args, "--format", "xlsx"], tmp_path / "c.xlsx")
    _, cells = workbook_cells(tmp_path / "c.xlsx", "kpi")
    assert [(r["part"][0], excel_shown(*r["current_value"]),
             excel_shown(*r["comparison_value"])) for r in cells] == \
        [("North", "0.54", "0.54"), ("South", "0.46", "0.46")]
    # The paper: the calls' rises ranked best first (lower is better) read "+9.99%" and
    # "+10.00%" in their order (they read "+10.0%" twice, North first by name); the level's
    # chart names its highest and lowest part apart (it read "all 2 parts are equal (0.5
    # each)").
    _run(cli, root, ["export", "markdown", "--period", PERIOD, "--full"],
         tmp_path / "paper.md")
    text = " ".join(re.sub(r"\\(.)", r"\1", (tmp_path / "paper.md").read_text(
        encoding="utf-8")).split())
    assert "By LPA, the percentage change, best first: South (+9.99%), North (+10.00%)." \
        in text, text
    assert "Highest North (0.54), lowest South (0.46)" in text, text
    assert "(0.5 each)" not in text
    # The method says so, and names the KPIs whose parts it lists to more places.
    assert ("or, in a list of a breakdown's parts ranked by their figures or changes, as "
            "another part's, while it is not") in text
    assert "Parts are listed so for Level and Calls." in text
