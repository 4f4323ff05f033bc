"""The board's paper prints a breakdown the project did not declare only where a part's
change stands out from the rest's (kpi.stats.standouts), checked on counts worked by hand."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from oracle_support import excel_round

KPI_TOML = """\
[project]
name = "Stand-out test force"
baseline = "2024-03"

[datasets.crimes]
date = "recorded"
unique = "crime_id"
sources = ["crimes.csv"]
[datasets.crimes.columns]
crime_id = "str"
recorded = "date"
lpa = "str"

[[priorities]]
id = "crime"
title = "Reducing Crime"

[[kpis]]
id = "total_crime"
title = "Total recorded crime"
priority = "crime"
kind = "count"
dataset = "crimes"
better = "lower"
breakdowns = ["lpa"]
"""

COMPARISON = [f"{y}-{m:02d}" for y, m in [(2023, m) for m in range(4, 13)]
              + [(2024, m) for m in range(1, 4)]]
CURRENT = [f"{y}-{m:02d}" for y, m in [(2024, m) for m in range(10, 13)]
           + [(2025, m) for m in range(1, 10)]]


def _project(folder, aston_now: int, others=("Brierley", "Coventry")):
    """Aston, Brierley and Coventry with 100 crimes each in the baseline year (April 2023 to
    March 2024); in the year ending September 2025 Brierley and Coventry again 100, Aston
    `aston_now`. Spread over the months of each year in turn."""
    (folder / "kpi.toml").write_text(KPI_TOML, encoding="utf-8")
    rows = ["crime_id,recorded,lpa"]
    for lpa, before, now in (("Aston", 100, aston_now), *[(o, 100, 100) for o in others]):
        for window, count in ((COMPARISON, before), (CURRENT, now)):
            for i in range(count):
                rows.append(f"{lpa}-{window[0]}-{i},{window[i % 12]}-15,{lpa}")
    (folder / "crimes.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def _paper(cli, folder, *extra) -> str:
    out = folder / ("full.md" if extra else "board.md")
    result = cli(["--project", folder, "ingest", "crimes", folder / "crimes.csv"])
    assert result.exit_code == 0, result.output
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                  "--output", out, *extra])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


@pytest.fixture
def risen(tmp_path):
    return _project(tmp_path, 150)


def test_a_part_that_stands_out_brings_its_breakdown_into_the_board_paper(risen, cli):
    # Aston 100 -> 150 against 200 -> 200 for the other two: z = 2.488, p = 0.0128, below
    # 0.05 / 3 (tests/test_stats.py works it by hand).
    text = _paper(cli, risen)
    line = next(x for x in text.splitlines() if "**Total recorded crime.**" in x)
    assert ("By LPA, Aston (+50.0%) stands out from the other 2 (0.0%): a difference "
            "unlikely to be chance. By LPA, the percentage change, best first: Brierley "
            "(0.0%), Coventry (0.0%), Aston (+50.0%).") in line
    # The method says what "stands out" means.
    assert "Bonferroni" in text and "stands out" in text.split("How to read this paper")[1]


def test_a_count_gap_below_the_projects_floor_does_not_stand_out(risen, cli):
    # Aston +50.0% against the other two's 0.0%: 50 points apart, beyond chance (above).
    # A floor of 60 points leaves it out of both papers; one of 50 keeps it, and the method
    # states the floor.
    for floor, stands in ((60, False), (50, True)):
        (risen / "kpi.toml").write_text(
            KPI_TOML + f"\n[paper]\nstandout_change_points = {floor}\n", encoding="utf-8")
        for extra in ((), ("--full",)):
            text = _paper(cli, risen, *extra)
            line = next(x for x in text.splitlines() if "**Total recorded crime.**" in x)
            assert ("Aston (+50.0%) stands out from the other 2 (0.0%)" in line) == stands
            assert f"by at least {floor} percentage points;" in text


def test_a_difference_chance_explains_once_the_parts_are_counted_stays_in_the_full_paper(
        tmp_path, cli):
    # Aston 100 -> 140: p = 0.041, significant alone but not below 0.05 / 3.
    folder = _project(tmp_path, 140)
    text = _paper(cli, folder)
    line = next(x for x in text.splitlines() if "**Total recorded crime.**" in x)
    assert "By LPA" not in line
    full = _paper(cli, folder, "--full")
    line = next(x for x in full.splitlines() if "**Total recorded crime.**" in x)
    assert "By LPA, the percentage change, best first: Brierley (0.0%), Coventry (0.0%), " \
           "Aston (+40.0%)." in line
    assert "stands out" not in line


def test_a_sentence_that_names_every_part_is_not_followed_by_their_ranking(tmp_path, cli):
    # Two LPAs, Aston 100 -> 170 and Brierley 100 -> 100: 170 / 270 against 100 / 200,
    # pooled 270 / 470, z = 0.1296 / sqrt(0.5745 * 0.4255 * (1/270 + 1/200)) = 2.810,
    # p = 0.0050 < 0.05 / 2. The sentence gives both changes, so no ranking repeats them.
    folder = _project(tmp_path, 170, others=("Brierley",))
    line = next(x for x in _paper(cli, folder).splitlines()
                if "**Total recorded crime.**" in x)
    assert ("By LPA, Aston (+70.0%) stands out from Brierley (0.0%): a difference unlikely "
            "to be chance.") in line
    assert "best first" not in line


RATE_TOML = """\
[project]
name = "Stand-out test force"
baseline = "2024-03"

[datasets.incidents]
date = "opened"
unique = "incident_id"
sources = ["incidents.csv"]
[datasets.incidents.columns]
incident_id = "str"
opened = "date"
lpa = "str"
seconds = "int"

[[priorities]]
id = "trust"
title = "Building Trust"

[[kpis]]
id = "attended_in_time"
title = "Incidents attended within 15 minutes"
priority = "trust"
kind = "within"
dataset = "incidents"
value = "seconds"
threshold = 900
better = "higher"
breakdowns = ["lpa"]
"""


def _rate_project(folder, aston_in_time: int = 80,
                  parts: tuple[tuple[str, int, int], ...] | None = None, toml: str = RATE_TOML):
    """Aston, Brierley and Coventry with 100 incidents each in the baseline year and in the
    year ending September 2025; in the baseline year 50 of each attended within 15 minutes,
    in the year ending September 2025 80 of Brierley's and Coventry's and `aston_in_time` of
    Aston's. Or `parts`: each LPA ("" for rows with none), how many of its incidents of the
    year ending September 2025 were attended in time and how many it had (100 in the baseline
    year, 50 of them in time)."""
    (folder / "kpi.toml").write_text(toml, encoding="utf-8")
    rows = ["incident_id,opened,lpa,seconds"]
    for lpa, now, cases in parts or (("Aston", aston_in_time, 100), ("Brierley", 80, 100),
                                     ("Coventry", 80, 100)):
        for window, in_time, count in ((COMPARISON, 50, 100), (CURRENT, now, cases)):
            for i in range(count):
                seconds = 600 if i < in_time else 1200
                rows.append(f"{lpa or 'none'}-{window[0]}-{i},{window[i % 12]}-15,{lpa},"
                            f"{seconds}")
    (folder / "incidents.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def _rate_paper(cli, folder, *extra) -> str:
    out = folder / ("full.md" if extra else "board.md")
    result = cli(["--project", folder, "ingest", "incidents", folder / "incidents.csv"])
    assert result.exit_code == 0, result.output
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                  "--output", out, *extra])
    assert result.exit_code == 0, result.output
    line = next(x for x in out.read_text(encoding="utf-8").splitlines()
                if "**Incidents attended within 15 minutes.**" in x)
    return line


def test_a_part_whose_proportion_stands_out_brings_its_breakdown_into_the_board_paper(
        tmp_path, cli):
    # Aston 60 of 100 against 160 of 200 for the other two in the year ending September
    # 2025: z = -3.693, p = 0.00022, below 0.05 / 3 (tests/test_stats.py works it by hand).
    # The proportions are compared in that year, not their changes: all three rose from 50%.
    line = _rate_paper(cli, _rate_project(tmp_path, 60))
    assert ("By LPA, Aston (60.0%) stands out from the other 2 (80.0% together): a "
            "difference unlikely to be chance. By LPA, the change in percentage points, best "
            "first: Brierley (+30.0pp), Coventry (+30.0pp), Aston (+10.0pp).") in line


def test_a_proportion_chance_explains_once_the_parts_are_counted_gets_no_sentence(
        tmp_path, cli):
    # Aston 68 of 100: p = 0.022, significant alone but not below 0.05 / 3; the board's paper
    # prints no breakdown the project did not ask for, the full paper no sentence.
    folder = _rate_project(tmp_path, 68)
    assert "By LPA" not in _rate_paper(cli, folder)
    line = _rate_paper(cli, folder, "--full")
    assert "By LPA, the change in percentage points, best first:" in line
    assert "stands out" not in line


@pytest.mark.parametrize("paper", [
    'standout_points = 25',              # Aston's gap is 20 points: no finding at 25
    'no_standouts = ["lpa"]',            # no KPI's LPAs are tested
    'no_standouts = ["attended_in_time.lpa"]',  # this KPI's are not
])
def test_a_project_sets_how_large_a_gap_stands_out_or_turns_a_breakdown_off(
        tmp_path, cli, paper):
    # Aston 60 of 100 against 160 of 200 stands out by default (the test above); each
    # [paper] key keeps it out of the board's paper and out of the full paper's sentences.
    folder = _rate_project(tmp_path, 60)
    (folder / "kpi.toml").write_text(RATE_TOML + f"\n[paper]\n{paper}\n", encoding="utf-8")
    assert "By LPA" not in _rate_paper(cli, folder)
    line = _rate_paper(cli, folder, "--full")
    assert "By LPA, the change in percentage points, best first:" in line
    assert "stands out" not in line
    # At the default floor of 2 points, or one below the gap, Aston stands out again.
    (folder / "kpi.toml").write_text(RATE_TOML + "\n[paper]\nstandout_points = 20\n",
                                     encoding="utf-8")
    assert "Aston (60.0%) stands out from the other 2 (80.0% together)" in _rate_paper(
        cli, folder)


@pytest.mark.parametrize("paper, message", [
    ("standout_points = -1", "key 'standout_points': must be a number from 0 to 100, found "
                             "-1 (the least gap, in percentage points, for a part of a "
                             "proportion to stand out)"),
    ('standout_points = "2"', "key 'standout_points': must be a number from 0 to 100, found "
                              "'2'"),
    ("standout_points = true", "key 'standout_points': must be a number from 0 to 100, found "
                               "true"),
    ("standout_points = nan", "key 'standout_points': must be a number from 0 to 100, found "
                              "nan"),
    ("standout_change_points = -1", "key 'standout_change_points': must be a number from 0 "
                                    "to 1,000, found -1 (the least gap, in percentage points, "
                                    "between a part's percentage change and the rest's for a "
                                    "part of a count to stand out)"),
    ("standout_change_points = inf", "key 'standout_change_points': must be a number from 0 "
                                     "to 1,000, found inf"),
    ('no_standouts = "lpa"', "key 'no_standouts': must list breakdown columns"),
    ('no_standouts = ["ward"]', "no_standouts: 'ward' is not a breakdown of any KPI"),
    ('no_standouts = ["attended_in_time.ward"]',
     "no_standouts: 'attended_in_time.ward' is not a breakdown of KPI 'attended_in_time'"),
    ('no_standouts = ["nothing.lpa"]', "no_standouts: 'nothing.lpa' is not a breakdown of KPI "
                                       "'nothing'"),
])
def test_a_bad_standout_key_is_refused_naming_it(tmp_path, cli, paper, message):
    folder = _rate_project(tmp_path, 60)
    (folder / "kpi.toml").write_text(RATE_TOML + f"\n[paper]\n{paper}\n", encoding="utf-8")
    result = cli(["--project", folder, "ingest", "incidents", folder / "incidents.csv"])
    assert result.exit_code == 0, result.output
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                  "--output", folder / "board.md"])
    assert result.exit_code == 3, result.output
    assert message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output


# ---------------------------------------------------------------------------------------------
# Every standout a sentence prints meets the floor, against the rest the sentence names

_PARTS = st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 4000)), min_size=2,
                  max_size=8)
_FLOORS = st.sampled_from([0.0, 2.0, 2.5, 5.0, 10.0])


def _printed(figure: str) -> float:
    """'−36.3%', '+51.5%', '76.2% together' as a number."""
    return float(figure.replace("\u2212", "-").removesuffix(" together").removesuffix("%"))


def _sentence_figures(sentence: str) -> tuple[dict[str, float], float, int]:
    """The named parts' figures, the rest's figure and how many parts the rest holds, read
    from a printed standout sentence (parts are named P0, P1, ...)."""
    named, _, rest = sentence.partition(" out from ")
    head, _, tail = rest.partition(",") if "; the " in rest else rest.partition(":")
    if "; the " in rest:  # "4 of 7 stand out from the other 3 (…), …; the largest are …"
        named = rest.split("; the ", 1)[1]
    if m := re.fullmatch(r"the other (\d+) \(([^)]*)\)", head.strip()):
        others, figure = int(m.group(1)), m.group(2)
    else:
        m = re.fullmatch(r"P\d+ \(([^)]*)\)", head.strip())
        assert m, sentence
        others, figure = 1, m.group(1)
    parts = {name: _printed(f) for name, f in re.findall(r"(P\d+) \(([^)]*)\)", named)}
    assert parts, sentence
    return parts, _printed(figure), others


@given(_PARTS, _FLOORS)
# tests/test_stats.py: A, found first, is 3 points from the rest the sentence would name.
@example([(3200, 4000), (1200, 2000), (1200, 2000), (770, 1000), (770, 1000), (770, 1000)],
         5.0)
# The rest's change is +81.25% exactly (725 against 400): printed +81.3%, not Python's 81.2.
@example([(0, 143), (0, 143), (83, 302), (284, 45), (441, 212)], 0.0)
def test_every_count_standout_printed_meets_its_floor_against_the_rest_printed(parts, floor):
    from kpi import stats
    from kpi.document import Name, plain_text
    from kpi.paper import SMALL_BASE, _standout_sentence

    named = [(f"P{n}", current, comparison) for n, (current, comparison) in enumerate(parts)]
    found = stats.standouts(named, SMALL_BASE, min_points=floor)
    if found is None:
        return
    sentence = plain_text(_standout_sentence(Name("area"), found))
    figures, rest_figure, others = _sentence_figures(sentence)
    out = {t.part for t in found.parts}
    rest = [(c, b) for name, c, b in named if name not in out and (c or b)]
    assert others == len(rest)
    rest_c, rest_b = sum(c for c, _ in rest), sum(b for _, b in rest)
    assert rest_b >= SMALL_BASE
    # printed as Excel rounds (docs/guarantees.md): 81.25 is 81.3, not Python's 81.2
    assert rest_figure == float(excel_round((rest_c - rest_b) / rest_b * 100, 1))
    # m: the parts tested against all the others, each and its rest with 50 events in the
    # comparison window (stats.parts_judged, the rule of `kpi compare` too)
    live = [(c, b) for _, c, b in named if c or b]
    every_b = sum(b for _, b in live)
    tested = sum(1 for _, b in live if b >= SMALL_BASE and every_b - b >= SMALL_BASE)
    for name, figure in figures.items():
        assert abs(figure - rest_figure) + 1e-9 >= floor, sentence
        _, current, comparison = next(p for p in named if p[0] == name)
        # The part against the rest the sentence names is beyond chance, Bonferroni-corrected.
        p_value = stats.part_vs_rest(name, current, comparison, rest_c, rest_b).test.p_value
        assert p_value is not None and p_value < 0.05 / tested, sentence


@given(_PARTS, st.sampled_from([0.0, 1.0, 2.0, 5.0]))
# Found before P2, P3 was tested against a rest that held P2: against the rest printed,
# P2's gap is under the floor (4.9 points) or its difference is chance.
@example([(0, 1), (38, 49), (241, 298), (0, 1902)], 5.0)
@example([(0, 1), (35, 49), (203, 240), (0, 1860)], 0.0)
def test_every_proportion_standout_printed_meets_its_floor_against_the_rest_printed(
        parts, floor):
    from kpi import stats
    from kpi.document import Name, plain_text
    from kpi.paper import SMALL_BASE, _standout_sentence

    named = [(f"P{n}", min(x, n_), n_) for n, (x, n_) in enumerate(parts)]
    found = stats.share_standouts(named, SMALL_BASE, min_points=floor)
    if found is None:
        return
    sentence = plain_text(_standout_sentence(Name("area"), found))
    figures, rest_figure, others = _sentence_figures(sentence)
    out = {t.part for t in found.parts}
    rest = [(x, n_) for name, x, n_ in named if name not in out and n_]
    assert others == len(rest)
    rest_x, rest_n = sum(x for x, _ in rest), sum(n_ for _, n_ in rest)
    assert rest_figure == float(excel_round(rest_x / rest_n * 100, 1))
    # m: the parts tested against all the others, each and its rest with 50 cases
    # (stats.parts_judged, the rule of `kpi compare` too)
    every_n = sum(n_ for _, _, n_ in named)
    tested = sum(1 for _, _, n_ in named if n_ >= SMALL_BASE and every_n - n_ >= SMALL_BASE)
    for name, figure in figures.items():
        assert abs(figure - rest_figure) + 1e-9 >= floor, sentence
        _, x, n_ = next(p for p in named if p[0] == name)
        p_value = stats.share_vs_rest(name, x, n_, rest_x, rest_n).test.p_value
        assert p_value is not None and p_value < 0.05 / tested, sentence


_TABLE_RUN = """\
[project]
name = "Table breakdowns"
baseline = "2024-03"
[paper]
breakdowns = { rate_ok = ["area"] }
[datasets.inc]
date = "when"
[datasets.inc.columns]
when = "date"
area = "str"
ok = "bool"
[[priorities]]
id = "p"
title = "P"
[[kpis]]
id = "rate_ok"
title = "OK rate"
priority = "p"
kind = "rate"
dataset = "inc"
numerator = "ok"
better = "higher"
breakdowns = ["area"]
table = "Rates"
[[kpis]]
id = "rate_north"
title = "OK rate (north)"
priority = "p"
kind = "rate"
dataset = "inc"
filter = "area = 'North'"
numerator = "ok"
better = "higher"
table = "Rates"
"""


def test_a_kpi_of_a_table_prints_the_breakdowns_asked_for(tmp_path, cli):
    """A KPI in a table run, its breakdown by area asked for by `[paper] breakdowns`: the
    paper printed no "By area" sentence (in the board's paper or --full), where the same KPI
    outside a table printed them. Given after the table's sentence, named by its KPI. By
    hand: North 60 of 100 in every month of both years, South 70 of 100 in the baseline year
    and 80 in the current."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text(_TABLE_RUN, encoding="utf-8")
    lines = ["when,area,ok"]
    for n in range(30):
        year, month = 2023 + (3 + n) // 12, (3 + n) % 12 + 1
        south = 80 if (year, month) >= (2024, 10) else 70
        for area, good in (("North", 60), ("South", south)):
            lines += [f"{year}-{month:02d}-05,{area},{'true' if k < good else 'false'}"
                      for k in range(100)]
    (folder / "inc.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli(["--project", folder, "ingest", "inc", folder / "inc.csv"]).exit_code == 0
    for extra, said in (([], "OK rate: By area, North (60.0%) stands out from South (80.0%): "
                              "a difference unlikely to be chance."),
                        (["--full"], "OK rate: By area, South (80.0%) also differs from all "
                                     "the others beyond chance, but does not stand out once "
                                     "North is set aside.")):
        out = tmp_path / f"paper{len(extra)}.md"
        result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                      "--output", out, *extra])
        assert result.exit_code == 0, result.output
        assert said in " ".join(out.read_text(encoding="utf-8").split())
