"""A list or chart of the highest figures never cuts a tie: the paper's five highest parts, a
chart of the highest 10 (its bars and its alt text), a comparison chart of the highest 12 and
the parts named as furthest from the rest all keep every part tied with the last one shown
("joint 5th"), or, where those tied are many, name none of them and say how many there are
(`kpi.compare.highest`). A cut at five kept one of two equal figures by its name, and a row
order or a name would decide which part was "in the top five".

Worked by hand on fourteen LPAs, A to N, each with the same count in the baseline year and the
year ending September 2025 (no change, so no part stands out): A 90, B 80, C 70, D 60, E and
F 50, then 40, 30, 20, 15, 14, 13, 12, 11. The five highest are A to D and E and F, joint
fifth with 50 each.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

TOML = """\
[project]
name = "Top test force"
baseline = "2024-03"

[datasets.incidents]
date = "opened"
unique = "incident_id"
sources = ["incidents.csv"]
[datasets.incidents.columns]
incident_id = "str"
opened = "date"
lpa = { type = "str", required = false }

[[priorities]]
id = "p"
title = "Priority"

[[kpis]]
id = "incidents"
title = "Incidents"
priority = "p"
kind = "count"
dataset = "incidents"
better = "lower"
breakdowns = ["lpa"]

[[charts]]
id = "top_lpas"
type = "top"
title = "The LPAs with the most incidents"
kpis = ["incidents"]
by = "lpa"
limit = 3
"""

BASELINE = [f"2023-{m:02d}" for m in range(4, 13)] + [f"2024-{m:02d}" for m in range(1, 4)]
CURRENT = [f"2024-{m:02d}" for m in range(10, 13)] + [f"2025-{m:02d}" for m in range(1, 10)]
TIED = (("A", 90), ("B", 80), ("C", 70), ("D", 60), ("E", 50), ("F", 50), ("G", 40),
        ("H", 30), ("I", 20), ("J", 15), ("K", 14), ("L", 13), ("M", 12), ("N", 11))


def _project(folder: Path, counts, seed: int = 0) -> Path:
    """Each LPA's incidents ("" for rows with none), as many in the baseline year as in the
    year ending September 2025, the rows in an order drawn from `seed`."""
    (folder / "kpi.toml").write_text(TOML, encoding="utf-8")
    rows = []
    for lpa, n in counts:
        for tag, months in (("b", BASELINE), ("c", CURRENT)):
            rows += [f"{lpa or 'none'}-{tag}-{i},{months[i % 12]}-15,{lpa}" for i in range(n)]
    random.Random(seed).shuffle(rows)
    (folder / "incidents.csv").write_text("incident_id,opened,lpa\n" + "\n".join(rows) + "\n",
                                          encoding="utf-8")
    return folder


def _paper(cli, folder: Path, fmt: str = "markdown") -> str:
    result = cli(["--project", folder, "ingest", "incidents", folder / "incidents.csv"])
    assert result.exit_code == 0, result.output
    out = folder / f"full.{'md' if fmt == 'markdown' else fmt}"
    result = cli(["--project", folder, "export", fmt, "--period", "2025-09", "--output", out,
                  "--full"])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def _hand_top(counts, limit: int) -> list[tuple[str, int]]:
    """The parts whose count has fewer than `limit` parts above it, by hand."""
    named = [(lpa, n) for lpa, n in counts if lpa]
    kept = [(lpa, n) for lpa, n in named if sum(m > n for _, m in named) < limit]
    return sorted(kept, key=lambda item: (-item[1], item[0]))


@pytest.mark.parametrize("seed", [0, 1])
def test_the_fifth_highest_part_shares_its_place_with_its_tie(tmp_path, cli, seed):
    want = _hand_top(TIED, 5)
    assert want[-2:] == [("E", 50), ("F", 50)]
    listed = ", ".join(f"{lpa} ({n})" for lpa, n in want)
    text = _paper(cli, _project(tmp_path, TIED, seed))
    # It read "... D (60), E (50)." and left F, with as many, out.
    assert (f"By LPA, the highest figures in the year ending September 2025 were {listed}."
            in text), re.findall(r"By LPA[^.]*\.", text)


def test_many_parts_tied_at_the_fifth_are_counted_not_picked(tmp_path, cli):
    counts = (("A", 90), ("B", 80), ("C", 70), ("D", 60),
              *((f"T{i:02d}", 50) for i in range(10)), ("Z", 5))
    text = _paper(cli, _project(tmp_path, counts))
    assert ("By LPA, the highest figures in the year ending September 2025 were A (90), "
            "B (80), C (70), D (60) and 10 parts joint 5th (50 each).") in text, \
        re.findall(r"By LPA[^.]*\.", text)


def test_a_top_chart_draws_and_names_every_part_tied_with_its_last(tmp_path, cli):
    """A chart of the 3 highest of A 90, B 80, C and D 70 and 300 rows with no LPA: it drew
    A, B and C (D, with as many, left out by its name) and its alt text named the first 3
    rows, 'not recorded' first, which the chart leaves out."""
    from kpi import board, charts, engine
    from kpi.catalogue import load_project
    from kpi.periods import Month

    counts = (("A", 90), ("B", 80), ("C", 70), ("D", 70), ("E", 20), ("", 300))
    folder = _project(tmp_path, counts)
    html = _paper(cli, folder, "html")
    project = load_project(folder)
    report = engine.evaluate(project, Month.of(2025, 9), kpis=list(project.kpis))
    [spec] = [s for s in charts.chart_specs(project) if s.id == "top_lpas"]
    data = board.chart_data(project, spec, report)
    assert data is not None
    want = _hand_top(counts, 3)
    assert want == [("A", 90), ("B", 80), ("C", 70), ("D", 70)]
    assert list(zip(data.parts["part"], data.parts["current"], strict=True)) == want
    alt = re.search(r'alt="(Bar chart of the largest parts[^"]*)"', html)
    assert alt is not None, html
    assert alt.group(1).endswith(": A 90; B 80; C 70; D 70."), alt.group(1)


@given(st.lists(st.one_of(st.none(), st.integers(0, 6)), max_size=14), st.integers(1, 6),
       st.integers(0, 8), st.randoms(use_true_random=False))
def test_the_highest_are_cut_by_place_never_by_order(values, limit, more, rnd):
    """`highest` against an oracle counting the figures above each (a part is shown when
    fewer than `limit` are higher, unless its tie at the last place makes more than `most`,
    then none of that tie is, and it is counted), and the same parts whatever order they
    come in."""
    from kpi.compare import highest

    most = limit + more
    top = highest(values, limit, most)
    kept = [i for i, v in enumerate(values)
            if v is not None and sum(w is not None and w > v for w in values) < limit]
    if len(kept) > most:
        last = min(values[i] for i in kept)
        tied = [i for i in kept if values[i] == last]
        kept = [i for i in kept if values[i] != last]
        assert (top.left, top.left_value) == (len(tied), last)
        assert top.left_rank == 1 + sum(w is not None and w > last for w in values)
    else:
        assert top.left == 0
    assert sorted(top.shown) == kept
    assert [values[i] for i in top.shown] == sorted((values[i] for i in kept), reverse=True)
    # Shuffled, the same parts (by their figures and names) are shown, in the same order.
    named = list(enumerate(values))
    rnd.shuffle(named)
    again = highest([v for _, v in named], limit, most)
    assert sorted(named[i][0] for i in again.shown) == kept
    assert again.left == top.left


def test_a_comparison_chart_draws_every_part_tied_with_its_twelfth():
    """Of fourteen parts, 12 with 14 to 3 and two of 2 and 1, and P13 moved to 3: the
    twelfth highest, 3, is P11's and P13's; `head(12)` drew P11 and left P13 out by its
    name. Both are drawn; where the tie at the last place would make more than 24 bars, none
    of it is, and it is counted."""
    import polars as pl

    from kpi import paper

    values = [float(14 - n) for n in range(12)] + [2.0, 1.0]
    values[13] = 3.0
    frame = pl.DataFrame({"part": [f"P{n:02d}" for n in range(14)], "current": values})
    want = sorted(f"P{n:02d}" for n in range(14)
                  if sum(v > values[n] for v in values) < 12)
    assert len(want) == 13
    drawn, of = paper.compare_parts(frame)
    assert (drawn["part"].to_list(), of) == (want, 14)
    many = pl.DataFrame({"part": [f"Q{n:02d}" for n in range(30)], "current": [1.0] * 30})
    shown, top = paper.top_parts(many, 12)
    assert (shown.height, top.left, top.left_rank, top.left_value) == (0, 30, 1, 1.0)
