"""One verdict for one part, whichever face says whether it differs from the rest: `kpi
compare`'s `vs_rest` (its table, JSON and `project.compare`), the board paper's parts that stand
out and its "Compared with peers" sentence. Each judges a part's test at the 5% level divided
among the parts tested (Bonferroni's correction, `kpi.stats.part_threshold`); `kpi compare`
judged each at 5% alone, so with three LPAs a part at p = 0.022 "differed from the rest" there
while the paper, on the same figures, found nothing.

Worked by hand, on Aston, Brierley and Coventry with 100 incidents each in the year ending
September 2025, Brierley's and Coventry's 80 attended within 15 minutes (the rest of Aston,
160 of 200), by the pooled two-proportion z-test, z = (x/n - X/N) / sqrt(p(1 - p)(1/n + 1/N)),
p = (x + X) / (n + N), two-sided p = erfc(|z| / sqrt 2):

- Aston 68 of 100: p = 228/300 = 0.76, sqrt(0.76 x 0.24 x 0.015) = 0.052307, z = -0.12 /
  0.052307 = -2.2942, p = 0.0218: below 0.05, not below 0.05/3 = 0.0167.
- Aston 60 of 100: p = 220/300, sqrt(0.7333 x 0.2667 x 0.015) = 0.054160, z = -3.6927,
  p = 0.00022: below 0.05/3.
- Brierley against Aston and Coventry: 80 of 100 against 148 of 200 (z = 1.1471, p = 0.251)
  or 140 of 200 (z = 1.8464, p = 0.0648): below neither.
"""

from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_paper_standouts import RATE_TOML, _rate_project

import kpi
from kpi import stats

PEERS = """
[peers.lpas]
title = "the force's LPAs"
column = "lpa"
members = ["Aston", "Brierley", "Coventry"]
focus = "Aston"
"""


def _z_p(x: int, n: int, rest_x: int, rest_n: int) -> float:
    pooled = (x + rest_x) / (n + rest_n)
    z = (x / n - rest_x / rest_n) / math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / rest_n))
    return math.erfc(abs(z) / math.sqrt(2))


def _loaded(tmp_path, cli, aston: int = 80, peers: bool = False, **project):
    """The three LPAs' project (`_rate_project`: Aston's `aston` of 100 in time, or `project`'s
    parts and kpi.toml), loaded."""
    folder = _rate_project(tmp_path, aston, **project)
    if peers:
        toml = RATE_TOML.replace('breakdowns = ["lpa"]', 'breakdowns = ["lpa"]\npeers = "lpas"')
        (folder / "kpi.toml").write_text(toml + PEERS, encoding="utf-8")
    result = cli(["--project", folder, "ingest", "incidents", folder / "incidents.csv"])
    assert result.exit_code == 0, result.output
    return folder


def _paper_line(cli, folder) -> str:
    out = folder / "full.md"
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                  "--output", out, "--full"])
    assert result.exit_code == 0, result.output
    return next(x for x in out.read_text(encoding="utf-8").splitlines()
                if "**Incidents attended within 15 minutes.**" in x)


@pytest.mark.parametrize(("aston", "p_value", "differs"), [(68, 0.0218, False),
                                                         (60, 0.00022, True)])
def test_compare_and_the_paper_judge_a_part_alike(tmp_path, cli, aston, p_value, differs):
    assert _z_p(aston, 100, 160, 200) == pytest.approx(p_value, abs=5e-5)
    assert (p_value < 0.05, p_value < 0.05 / 3) == (True, differs)
    folder = _loaded(tmp_path, cli, aston)
    args = ["--project", folder, "compare", "--period", "2025-09", "--by", "lpa"]

    result = cli([*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    parts = {p["name"]: p for p in json.loads(result.stdout)["kpis"][0]["parts"]}
    tests = {name: part["vs_rest"] for name, part in parts.items()}
    assert tests["Aston"]["p_value"] == pytest.approx(_z_p(aston, 100, 160, 200), rel=1e-9)
    # Compare judged Aston at 68 "yes" against 5% alone: the paper below found nothing.
    assert tests["Aston"]["significant"] is differs
    assert "corrected for the 3 parts tested" in tests["Aston"]["note"]
    for name in ("Brierley", "Coventry"):
        assert tests[name]["significant"] is False
        assert tests[name]["p_value"] > 0.05 / 3

    table = cli(args)
    assert table.exit_code == 0, table.output
    assert "differs from the rest (p<0.05/3)" in table.stdout
    aston_row = next(line for line in table.stdout.splitlines() if "Aston" in line)
    assert aston_row.endswith("yes (p<0.001)" if differs else "no (p=0.022)")

    frame = kpi.open(folder).compare("2025-09", "lpa")
    judged = dict(zip(frame["part"], frame["vs_rest_significant"], strict=True))
    assert judged == {"Aston": differs, "Brierley": False, "Coventry": False}

    # The paper's parts that stand out, on the same figures, by the same rule.
    line = _paper_line(cli, folder)
    assert ("Aston (60.0%) stands out from the other 2 (80.0% together)" in line) is differs
    assert "Brierley (80.0%) stands out" not in line


@pytest.mark.parametrize(("aston", "said"), [
    (68, "could be chance (p = 0.022, judged against 0.05/3 for the 3 parts tested)"),
    (60, "is statistically significant (p < 0.001, judged against 0.05/3 for the 3 parts "
         "tested)")])
def test_the_peer_sentence_judges_the_focus_as_compare_does(tmp_path, cli, aston, said):
    folder = _loaded(tmp_path, cli, aston, peers=True)
    result = cli(["--project", folder, "compare", "--period", "2025-09", "--by", "lpa",
                  "--peers", "lpas", "--format", "json"])
    assert result.exit_code == 0, result.output
    focus = next(p for p in json.loads(result.stdout)["kpis"][0]["parts"] if p["focus"])
    line = _paper_line(cli, folder)
    sentence = re.search(r"Compared with peers .*?\)\.", line)
    assert sentence is not None, line
    assert sentence.group(0).endswith(f"the difference from the rest of the group {said}.")
    assert ("statistically significant" in sentence.group(0)) is focus["vs_rest"]["significant"]


@pytest.mark.parametrize(("p_value", "tests", "shown"), [
    (0.00749, 7, "0.0075"),      # "0.007" would read below 0.05/7 = 0.00714...
    (0.0075, 7, "0.008"),
    (0.00712, 7, "0.007"),       # below it, and reads so at three places
    (0.0218, 3, "0.022"),
    (0.0009, 60, "0.001"),       # above 0.05/60 = 0.000833...
    (0.0008, 60, "0.0008"),      # below it
    (0.00001, 60, "<0.0001"),    # "<0.001" would not say which side of 0.00083 it is
    (0.0003, 7, "<0.001"),
    (0.0003, 1, "<0.001"),
    (0.0218, 1, "0.022"),
])
def test_a_p_value_reads_on_its_side_of_the_level_it_is_judged_at(p_value, tests, shown):
    assert stats.p_text(p_value, tests) == shown


def test_a_part_among_others_is_judged_at_the_level_divided_among_them():
    alone = stats.proportion_test(68, 100, 160, 200)
    assert alone.significant is True and alone.tests == 1
    judged = stats.among(alone, 3)
    assert (judged.significant, judged.tests, judged.p_value) == (False, 3, alone.p_value)
    assert judged.note == ("68 of 100 against 160 of 200: not significant at the 5% level "
                           "corrected for the 3 parts tested (p = 0.022, not below 0.05/3): "
                           "could be noise")
    assert stats.among(alone, 1) == alone
    # The paper's parts that stand out are found at the same level.
    assert stats.share_standouts([("Aston", 68, 100), ("Brierley", 80, 100),
                                  ("Coventry", 80, 100)], 50) is None
    found = stats.share_standouts([("Aston", 60, 100), ("Brierley", 80, 100),
                                   ("Coventry", 80, 100)], 50)
    assert found is not None and [t.part for t in found.parts] == ["Aston"]
    assert stats.among(found.parts[0].test, found.tested).significant is True


def test_the_paper_says_which_parts_have_no_figure(tmp_path, cli):
    """Coventry with 100 incidents in the baseline year and none in the year ending September
    2025 has no proportion there: `kpi compare` and `kpi show` list it "n/a"; the paper's
    breakdown named Aston and Brierley and said nothing of it."""
    _loaded(tmp_path, cli, parts=(("Aston", 60, 100), ("Brierley", 80, 100), ("Coventry", 0, 0)))
    compared = cli(["--project", tmp_path, "compare", "--period", "2025-09", "--by", "lpa",
                    "--format", "json"])
    parts = {p["name"]: p for p in json.loads(compared.stdout)["kpis"][0]["parts"]}
    assert parts["Coventry"]["current"]["value"] is None
    said = "By LPA, Coventry has no figure in the year ending September 2025."
    assert said in _paper_line(cli, tmp_path)
    out = tmp_path / "board.md"
    done = cli(["--project", tmp_path, "export", "markdown", "--period", "2025-09",
                "--output", out])
    assert done.exit_code == 0, done.output
    assert said in out.read_text(encoding="utf-8")


def test_the_parts_with_no_figure_are_named_five_and_counted():
    from kpi.document import Name, plain_text
    from kpi.paper import _unfigured_sentence
    from kpi.periods import Month, Window, WindowKind

    window = Window(WindowKind.YE, Month.parse("2024-10"), Month.parse("2025-09"))
    text = plain_text(_unfigured_sentence(Name("LPA"), ["G", "B", "A", "F", "C", "E", "D"],
                                          window))
    assert text == ("By LPA, A, B, C, D, E and 2 more have no figure in the year ending "
                    "September 2025.")
    assert plain_text(_unfigured_sentence(Name("LPA"), ["B", "A"], window)) == (
        "By LPA, A and B have no figure in the year ending September 2025.")


def test_rows_not_recorded_are_in_no_parts_rest_in_either_face(tmp_path, cli):
    """Aston 70 and Brierley 80 of 100 incidents attended in time, and 120 of 200 with no
    LPA. `kpi compare` leaves the blank rows out ("rows with a blank 'lpa' are not
    compared"): Brierley against Aston, 80 of 100 against 70 of 100, p = 0.102, "no". The paper
    pooled them into Brierley's rest, 190 of 300 (p = 0.002), and said it "stands out from the
    other 2 (63.3% together)", the other 2 being Aston and the rows not recorded."""
    _loaded(tmp_path, cli, parts=(("Aston", 70, 100), ("Brierley", 80, 100), ("", 120, 200)),
            toml=RATE_TOML.replace('lpa = "str"', 'lpa = { type = "str", required = false }'))
    compared = cli(["--project", tmp_path, "compare", "--period", "2025-09", "--by", "lpa",
                    "--format", "json"])
    parts = {p["name"]: p for p in json.loads(compared.stdout)["kpis"][0]["parts"]}
    assert set(parts) == {"Aston", "Brierley"}
    brierley = parts["Brierley"]["vs_rest"]
    assert brierley["p_value"] == pytest.approx(_z_p(80, 100, 70, 100), rel=1e-9)
    assert brierley["p_value"] == pytest.approx(0.1025, abs=5e-5)
    assert brierley["significant"] is False
    line = _paper_line(cli, tmp_path)
    assert "stands out" not in line
    assert "By LPA, the change in percentage points, best first: Brierley (+30.0pp), Aston " \
           "(+20.0pp), not recorded (+10.0pp)." in line


def test_a_part_the_paper_names_differs_from_the_rest_in_kpi_compare(tmp_path, cli):
    """A 20, B 60, C and D 80 of 100 incidents attended in time. By hand (the pooled z-test
    above): B against all the others, 60 of 100 against 180 of 300, is 60% against 60%,
    p = 1; `kpi compare` says "no (p=1.000)". The paper set A aside first (20 of 100 against
    220 of 300, p < 0.001), then tested B against C and D alone (60 of 100 against 160 of
    200, p = 0.00022 < 0.05/4) and said "A (20.0%) and B (60.0%) stand out from the other 2
    (80.0% together)": B differed in one face and not in the other. A part is named now only
    where it differs from all the others pooled too, the test `kpi compare` reports."""
    assert _z_p(60, 100, 180, 300) == pytest.approx(1.0)
    assert _z_p(60, 100, 160, 200) < 0.05 / 4 < 0.05
    assert _z_p(20, 100, 220, 300) < 0.001
    _loaded(tmp_path, cli, parts=(("A", 20, 100), ("B", 60, 100), ("C", 80, 100),
                                  ("D", 80, 100)))
    compared = cli(["--project", tmp_path, "compare", "--period", "2025-09", "--by", "lpa",
                    "--format", "json"])
    parts = {p["name"]: p["vs_rest"] for p in json.loads(compared.stdout)["kpis"][0]["parts"]}
    assert parts["B"]["significant"] is False
    assert parts["A"]["significant"] is True
    line = _paper_line(cli, tmp_path)
    assert ("By LPA, A (20.0%) stands out from the other 3 (73.3% together): a difference "
            "unlikely to be chance.") in line, line
    said = re.search(r"By LPA, (.*?) stands? out from", line)
    assert said is not None
    named = re.findall(r"(?:^|, | and )(\w+) \(", said.group(1))
    assert named and all(parts[name]["significant"] for name in named), (named, parts)


@given(st.lists(st.tuples(st.integers(0, 120), st.integers(0, 120)), min_size=2, max_size=7))
@settings(max_examples=300, deadline=None)
def test_every_part_named_as_standing_out_differs_from_all_the_others(cells):
    """Of any parts of a proportion (x of n), each part `stats.share_standouts` names
    differs from all the other parts pooled at 0.05/m (the oracle: the pooled z-test worked
    above), m the parts tested (each and its rest with 50 cases: `stats.parts_judged`), as
    `kpi compare` judges it; and from the rest it is named against."""
    rows = [(f"p{i}", min(a, b), max(a, b)) for i, (a, b) in enumerate(cells)]
    found = stats.share_standouts(rows, 50)
    live = [(name, x, n) for name, x, n in rows if n]
    if found is None:
        return
    assert found.tested == len(live)
    every_x, every_n = sum(x for _, x, _ in live), sum(n for _, _, n in live)
    m = sum(1 for _, _, n in live if n >= 50 and every_n - n >= 50)
    rest = set(found.rest)
    rest_x = sum(x for name, x, _ in live if name in rest)
    rest_n = sum(n for name, _, n in live if name in rest)
    for test in found.parts:
        x, n = next((x, n) for name, x, n in live if name == test.part)
        assert _z_p(x, n, every_x - x, every_n - n) < 0.05 / m, (test.part, live)
        assert _z_p(x, n, rest_x, rest_n) < 0.05 / m, (test.part, live)


def test_the_workbook_shows_a_p_value_on_its_side_of_the_level_beside_its_verdict(
        tmp_path, cli):
    """A 53 of 56 and six LPAs of 80 of 100 each: by hand (the pooled z-test above), A
    against the other six's 480 of 600 has p = 0.00725, not below 0.05/7 = 0.00714. The text
    says "no (p=0.0073)" under "differs from the rest (p<0.05/7)"; the workbook showed the
    same p-value as 0.007, below the level, beside `vs_rest_significant` FALSE, and gave the 7
    parts tested only inside a note. It shows 0.0073, and `vs_rest_tests` 7 (the CSV, JSON
    and `project.compare` carry it too)."""
    from test_faces import excel_shown, workbook_cells

    p_value = _z_p(53, 56, 480, 600)
    assert 0.05 / 7 < p_value < 0.0075 and round(p_value, 3) == 0.007
    _loaded(tmp_path, cli, parts=(("A", 53, 56), *((lpa, 80, 100) for lpa in "BCDEFG")))
    args = ["--project", tmp_path, "compare", "--period", "2025-09", "--by", "lpa"]
    table = cli(args)
    assert table.exit_code == 0, table.output
    row = next(line for line in table.stdout.splitlines() if line.startswith("7 ")
               or " A " in line)
    assert row.endswith("no (p=0.0073)"), table.stdout
    done = cli([*args, "--format", "xlsx", "--output", tmp_path / "c.xlsx"])
    assert done.exit_code == 0, done.output
    _, cells = workbook_cells(tmp_path / "c.xlsx", "kpi")
    part = next(r for r in cells if r["part"][0] == "A")
    value, code = part["vs_rest_p"]
    assert value == pytest.approx(p_value, rel=1e-12)
    assert excel_shown(float(value), code) == "0.0073", code  # type: ignore[arg-type]
    assert part["vs_rest_significant"][0] is False
    assert part["vs_rest_tests"][0] == 7
    doc = json.loads(cli([*args, "--format", "json"]).stdout)
    assert {p["name"]: p["vs_rest"]["tests"] for p in doc["kpis"][0]["parts"]} == dict.fromkeys(
        "ABCDEFG", 7)
    frame = kpi.open(tmp_path).compare("2025-09", "lpa")
    assert frame["vs_rest_tests"].to_list() == [7] * 7


@pytest.mark.parametrize(("p_value", "tests", "shown"), [
    (0.0496, 1, "0.0496"),       # "0.050" beside "yes" read as not below 0.05
    (0.0504, 1, "0.050"),
    (0.05, 1, "0.050"),
    (0.00725, 7, "0.0073"),
])
def test_a_p_value_alone_reads_on_its_side_of_five_percent(p_value, tests, shown):
    from test_faces import excel_shown

    from kpi.writers.xlsx import p_format

    assert stats.p_text(p_value, tests) == shown
    assert excel_shown(p_value, p_format(p_value, tests)) == shown
