"""One rule for "this part differs from the rest", whichever face says it: `kpi compare` (its
`vs_rest` of a proportion, its `change_vs_rest` of a count) and the board paper's breakdowns
(the parts that stand out, and the parts that differ from all the others without standing
out) judge a part by one function, `kpi.stats.parts_judged`: no test below the floor of 50
cases (or events) on either side, the parts tested judged at 0.05/m, m the tests made.

Before, `kpi compare` tested a part of 12 cases and said it differed ("yes (p<0.001)") where
the paper, which needs 50, said nothing of it; it tested no count's change, where the paper
named counts' parts whose change stood out; and where it said a proportion's part differed
and the paper did not name it (a gap under `standout_points`, or a part apart only while a
larger one is among the others), the paper said nothing of it.

Worked by hand, Aston 0 of 12 incidents attended within 15 minutes against Brierley's and
Coventry's 160 of 200 (the pooled two-proportion z-test): p = 160/212 = 0.75472, sqrt(0.75472
x 0.24528 x (1/12 + 1/200)) = 0.12788, z = -0.8 / 0.12788 = -6.256, p = 4.0e-10, far below
0.05/3: "yes (p<0.001)" on the code before, on 12 cases.
"""

from __future__ import annotations

import json
import math
import re

import duckdb
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_paper_standouts import KPI_TOML, _project, _rate_project

import kpi
from kpi import stats
from kpi.catalogue import SAMPLE, load_project
from kpi.compare import compare, splittable
from kpi.periods import Month

TINY = (("Aston", 0, 12), ("Brierley", 80, 100), ("Coventry", 80, 100))


def _z_p(x: int, n: int, rest_x: int, rest_n: int) -> float:
    pooled = (x + rest_x) / (n + rest_n)
    z = (x / n - rest_x / rest_n) / math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / rest_n))
    return math.erfc(abs(z) / math.sqrt(2))


def _full_paper(cli, folder, dataset: str) -> str:
    result = cli(["--project", folder, "ingest", dataset, folder / f"{dataset}.csv"])
    assert result.exit_code == 0, result.output
    out = folder / "full.md"
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09", "--full",
                  "--output", out])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_a_part_of_12_cases_is_said_to_differ_by_no_face(tmp_path, cli):
    assert _z_p(0, 12, 160, 200) == pytest.approx(4.0e-10, rel=0.05)
    assert _z_p(0, 12, 160, 200) < 0.05 / 3  # it would test significant among three
    folder = _rate_project(tmp_path, parts=TINY)
    paper = _full_paper(cli, folder, "incidents")
    args = ["--project", folder, "compare", "--period", "2025-09", "--by", "lpa"]

    result = cli([*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    parts = {p["name"]: p for p in json.loads(result.stdout)["kpis"][0]["parts"]}
    aston = parts["Aston"]["vs_rest"]
    # "yes (p<0.001)" on the code before
    assert (aston["test"], aston["p_value"], aston["significant"]) == (None, None, None)
    assert aston["note"] == "12 cases, fewer than the 50 a part needs to be tested against " \
                            "others"
    # the two parts tested are judged between them: 0.05/2, not 0.05/3
    for name, rest in (("Brierley", (80, 112)), ("Coventry", (80, 112))):
        test = parts[name]["vs_rest"]
        assert test["p_value"] == pytest.approx(_z_p(80, 100, *rest), rel=1e-9)
        assert test["tests"] == 2 and test["significant"] is False

    table = cli(args)
    assert table.exit_code == 0, table.output
    assert "differs from the rest (p<0.05/2)" in table.stdout
    row = next(line for line in table.stdout.splitlines() if "Aston" in line)
    assert row.endswith("—"), row
    frame = kpi.open(folder).compare("2025-09", "lpa")
    judged = dict(zip(frame["part"], frame["vs_rest_significant"], strict=True))
    assert judged == {"Aston": None, "Brierley": False, "Coventry": False}

    line = next(x for x in paper.splitlines()
                if "**Incidents attended within 15 minutes.**" in x)
    assert "stand" not in line and "differ" not in line, line


def test_a_count_of_few_events_has_no_change_tested_in_compare(tmp_path, cli):
    """A count's parts' changes, tested in `kpi compare` as the paper tests them: Aston 12 crimes
    in the baseline year and 40 in the year ending September 2025 (+233%) is not tested, on
    12 events, but is among the others it is not tested against; Brierley 100 -> 100 and
    Coventry 100 -> 150 are, judged between them. By hand, the test of the 2 x 2 table (the
    part's share of its events in the current window against the others'): Brierley 100 of
    200 against 190 of 302, pooled 290/502 = 0.57769, sqrt(0.57769 x 0.42231 x (1/200 +
    1/302)) = 0.045029, z = -0.12914 / 0.045029 = -2.8679, p = 0.00413 < 0.05/2; Coventry
    150 of 250 against 140 of 252, z = 1.0080, p = 0.313."""
    folder = tmp_path
    (folder / "kpi.toml").write_text(KPI_TOML, encoding="utf-8")
    _project(folder, 100)
    rows = (folder / "crimes.csv").read_text(encoding="utf-8").splitlines()
    kept = [r for r in rows if not r.startswith("Aston-") and not r.startswith("Coventry-")]
    from test_paper_standouts import COMPARISON, CURRENT

    for lpa, before, now in (("Aston", 12, 40), ("Coventry", 100, 150)):
        for window, count in ((COMPARISON, before), (CURRENT, now)):
            kept += [f"{lpa}-{window[0]}-{i},{window[i % 12]}-15,{lpa}" for i in range(count)]
    (folder / "crimes.csv").write_text("\n".join(kept) + "\n", encoding="utf-8")
    paper = _full_paper(cli, folder, "crimes")
    result = cli(["--project", folder, "compare", "--period", "2025-09", "--by", "lpa",
                  "--format", "json"])
    assert result.exit_code == 0, result.output
    parts = {p["name"]: p["change_vs_rest"]
             for p in json.loads(result.stdout)["kpis"][0]["parts"]}
    assert parts["Aston"]["p_value"] is None
    assert parts["Aston"]["note"].startswith("12 cases, fewer than the 50")
    assert _z_p(100, 200, 190, 302) == pytest.approx(0.00413, abs=5e-6)
    assert _z_p(150, 250, 140, 252) == pytest.approx(0.313, abs=5e-4)
    assert parts["Brierley"]["p_value"] == pytest.approx(_z_p(100, 200, 190, 302), rel=1e-9)
    assert parts["Coventry"]["p_value"] == pytest.approx(_z_p(150, 250, 140, 252), rel=1e-9)
    assert (parts["Brierley"]["tests"], parts["Brierley"]["significant"]) == (2, True)
    assert (parts["Coventry"]["tests"], parts["Coventry"]["significant"]) == (2, False)
    line = next(x for x in paper.splitlines() if "**Total recorded crime.**" in x)
    assert "Aston" not in re.sub(r"By LPA, the percentage change.*", "", line), line


# ---------------------------------------------------------------------------------------------
# The differential test: every KPI with a breakdown in the bundled sample

ITEM = re.compile(r"(?:^|, | and )(?:\*\*)?([^,()*]+?)(?:\*\*)? \(([+−\-]?[\d.,]+%)\)")


def _said(paragraph: str, label: str) -> tuple[set[str], int]:
    """The parts a KPI's paragraph says differ from the rest by `label` ("LPA"): named as
    standing out or as differing from all the others together, and how many it says so of
    in all (counted where not named: "12 of 19 stand out", "and 4 more")."""
    named: set[str] = set()
    total = 0
    for sentence in re.findall(rf"By {re.escape(label)}, (.*?\.)(?= By |$| See |\n)", paragraph):
        counted = re.match(r"(\d+) of \d+ stand out from .*?the (?:largest|furthest from "
                           r"them) are (.*)\.$", sentence)
        if counted:
            total += int(counted.group(1))
            named |= {m.group(1) for m in ITEM.finditer(counted.group(2))}
            continue
        stands = re.match(r"(.*?) stands? out from ", sentence)
        if stands:
            found = {m.group(1) for m in ITEM.finditer(stands.group(1))}
            named |= found
            total += len(found)
            continue
        if "from all the others beyond chance" in sentence:
            for clause in sentence.split("; "):
                items = clause.split(" differ")[0].split(" too, but ")[0]
                found = {m.group(1) for m in ITEM.finditer(items)}
                more = re.search(r" and (\d+) more$", items.removesuffix(" also"))
                named |= found
                total += len(found) + (int(more.group(1)) if more else 0)
    return named, total


@pytest.fixture(scope="module")
def sample_full(tmp_path_factory):
    from typer.testing import CliRunner

    from kpi.cli import app

    out = tmp_path_factory.mktemp("paper") / "full.md"
    result = CliRunner().invoke(app, ["--project", "sample", "export", "markdown", "--period",
                                      "2025-09", "--full", "--output", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_compare_and_the_paper_call_the_same_parts_of_the_sample_different(sample_full):
    project = load_project(SAMPLE)
    from kpi.paper import paper_config

    config = paper_config(project)
    period = Month.parse("2025-09")
    checked = 0
    for k in project.kpis:
        if k.hidden or not k.breakdowns or k.is_derived:
            continue
        paragraph = next(line for line in sample_full.splitlines()
                         if f"**{k.title}.**" in line)
        for column in k.breakdowns:
            if splittable(project, k, column) is not None:
                continue
            compared = compare(project, period, column, kpis=[k]).kpis[0]
            field = "change_vs_rest" if stats.count_of_events(k, None) else "vs_rest"
            differs = {p.name for p in compared.parts
                       if (t := getattr(p, field)) is not None and t.significant}
            label = {"lpa": "LPA"}.get(column, column.replace("_", " "))
            named, total = _said(paragraph, label)
            where = f"{k.id} by {column}: compare {sorted(differs)}, paper {sorted(named)}"
            if not config.tests_standouts(k.id, column) or k.provisional_months:
                # documented: the project turned the breakdown off, or months not final
                assert not named, where
                continue
            if stats.count_of_events(k, None):
                # A count's parts stand out step by step from the rest their sentence names,
                # which may hold a part far off that `kpi compare`'s test of all the others
                # pooled does not set aside; every part compare says differs is said to.
                assert total >= len(differs), where
            else:
                assert named <= differs, where
                assert total == len(differs), where
            checked += 1
    assert checked >= 30  # every LPA, offence and code breakdown of a count or a proportion


def _p(x: int, n: int, rest_x: int, rest_n: int) -> float:
    """The pooled two-proportion z-test's two-sided p-value, 1 where every case is one way."""
    pooled = (x + rest_x) / (n + rest_n)
    if pooled in (0, 1):
        return 1.0
    return _z_p(x, n, rest_x, rest_n)


CELLS = st.lists(st.tuples(st.integers(0, 400), st.integers(0, 400)), min_size=2, max_size=7)


@given(CELLS, st.booleans())
@example([(20, 100), (60, 100), (80, 100), (80, 100)], True)
@example([(0, 12), (80, 100), (80, 100)], True)
@example([(52430, 72269), (9006, 11571), (17781, 23070), (11408, 14943), (18269, 23935),
          (14078, 18623), (15726, 21014)], True)
@example([(40, 12), (100, 100), (150, 100)], False)
@settings(max_examples=300, deadline=None)
def test_the_parts_named_and_the_parts_said_to_differ_are_those_compare_finds(cells, share):
    """The parts that differ from all the others pooled at 0.05/m with 50 cases (events in the
    comparison window) each side, worked again here from the z-test, are those `kpi compare`
    reports (a proportion's x of n, a count's part's share of its events in the current
    window); of a proportion, the paper's parts that stand out are among them."""
    if share:
        rows = [(f"p{i}", min(a, b), max(a, b)) for i, (a, b) in enumerate(cells)]
        live = [r for r in rows if r[2]]
    else:
        rows = [(f"p{i}", a, b) for i, (a, b) in enumerate(cells)]
        live = [r for r in rows if r[1] or r[2]]
    every_a, every_b = sum(r[1] for r in live), sum(r[2] for r in live)
    tested = [r for r in live if r[2] >= 50 and every_b - r[2] >= 50]
    by_hand = set()
    for name, a, b in tested:
        ra, rb = every_a - a, every_b - b
        p_value = _p(a, b, ra, rb) if share else _p(a, a + b, ra, ra + rb)
        if p_value < 0.05 / len(tested):
            by_hand.add(name)
    found = (stats.share_standouts(rows, stats.MIN_CASES, min_points=2.0) if share
             else stats.standouts(rows, stats.MIN_CASES, min_points=5.0))
    named = {t.part for t in found.parts} if found else set()
    said = {t.part for t in stats.differing(rows, share)}
    assert said == by_hand, (named, said, by_hand)
    # A proportion's parts that stand out differ from all the others too; a count's stand out
    # from the rest their sentence names, found step by step (stats._stepwise).
    assert named <= said or not share, (named, said, by_hand)


def test_show_says_it_ranks_on_the_figures_where_compare_ranks_per_1000(tmp_path, cli):
    """With `[population_by] lpa`, `kpi compare` ranks a count's LPAs per 1,000 people and
    says so ("ranked per 1,000 population", a per 1,000 column); `kpi show` ranks the same
    parts on their figures, which it prints, and now says so, where before the two ranks of
    one part were given with no word of what each ranks: Birmingham, with the most incidents
    (24) of 1,000,000 people, is behind Walsall (12 of 25,000) on its figure and ahead of it
    per 1,000 (lower is better)."""
    from test_parts_agree import _loaded

    root = _loaded(tmp_path / "p", populations=True)
    (root / "pop.csv").write_text(
        "lpa,population,year\nBirmingham,1000000,2025\nCoventry,100000,2025\n"
        "Dudley,30000,2025\nSandwell,30000,2025\nWalsall,25000,2025\n", encoding="utf-8")
    compared = cli(["--project", root, "compare", "--period", "2025-09", "--by", "lpa",
                    "--kpi", "incidents", "--format", "json"])
    assert compared.exit_code == 0, compared.output
    (got,) = json.loads(compared.stdout)["kpis"]
    assert got["ranked_on"] == "per_1000"
    ranks = {p["name"]: p["rank"] for p in got["parts"]}
    shown = cli(["--project", root, "show", "incidents", "--period", "2025-09", "--format",
                 "json"])
    assert shown.exit_code == 0, shown.output
    by_figure = {p["part"]: p["rank"] for p in json.loads(shown.stdout)["breakdowns"]["lpa"]
                 if p["part"] is not None}
    # Birmingham 24 of 1,000,000 against Walsall's 12 of 25,000: ahead per 1,000, behind on
    # the figure
    assert ranks["Birmingham"] < ranks["Walsall"] and by_figure["Birmingham"] > by_figure["Walsall"]
    assert ("Note: by lpa, the parts are ranked on their figures; kpi compare ranks them per "
            "1,000 population ([population_by] lpa), so a part's rank there may differ"
            ) in shown.stderr
    table = cli(["--project", root, "compare", "--period", "2025-09", "--by", "lpa", "--kpi",
                 "incidents"])
    assert "ranked per 1,000 population" in table.stdout and "per 1,000" in table.stdout
    # No population file for the column: nothing to say.
    plain = _loaded(tmp_path / "q")
    shown = cli(["--project", plain, "show", "incidents", "--period", "2025-09"])
    assert shown.exit_code == 0 and "kpi compare ranks" not in shown.stderr


def test_show_says_compare_ranks_per_1000_only_where_compare_does(tmp_path, cli):
    """The population file has none for Walsall: `kpi compare` ranks the LPAs on their values
    ("no population for Walsall: ranked on the values", `ranked_on` "value"), as `kpi show`
    does, but `kpi show`'s note said compare ranks them per 1,000, read off the declaration
    alone. It now says what compare does (`compare.ranks_per_1000`): nothing here, and the
    ranks of each part in the two are one, SQL's RANK() over the figures; with Walsall's
    population the note is back (the test above)."""
    from test_parts_agree import _loaded, _oracle

    root = _loaded(tmp_path / "p", populations=True)
    (root / "pop.csv").write_text(
        "lpa,population,year\nBirmingham,1000000,2025\nCoventry,100000,2025\n"
        "Dudley,30000,2025\nSandwell,30000,2025\n", encoding="utf-8")
    compared = cli(["--project", root, "compare", "--period", "2025-09", "--by", "lpa",
                    "--kpi", "incidents", "--format", "json"])
    assert compared.exit_code == 0, compared.output
    (got,) = json.loads(compared.stdout)["kpis"]
    assert got["ranked_on"] == "value"
    assert "no population for Walsall: ranked on the values" in got["note"]
    shown = cli(["--project", root, "show", "incidents", "--period", "2025-09", "--format",
                 "json"])
    assert shown.exit_code == 0, shown.output
    assert "kpi compare ranks" not in shown.stderr, shown.stderr
    # lower is better: the fewest incidents first, equal counts sharing a rank
    counts = {lpa: now for lpa, (now, _) in _oracle(root, "true").items() if lpa is not None}
    by_sql = dict(duckdb.sql(
        "SELECT lpa, rank() OVER (ORDER BY n) FROM (VALUES "
        + ", ".join(f"('{lpa}', {n})" for lpa, n in counts.items())
        + ") AS t(lpa, n)").fetchall())
    assert {p["name"]: p["rank"] for p in got["parts"]} == by_sql
    assert {p["part"]: p["rank"] for p in json.loads(shown.stdout)["breakdowns"]["lpa"]
            if p["part"] is not None} == by_sql
    assert kpi.open(root).detail("incidents", "2025-09").per_1000_ranked == ()
    (root / "pop.csv").write_text((root / "pop.csv").read_text(encoding="utf-8")
                                  + "Walsall,25000,2025\n", encoding="utf-8")
    assert kpi.open(root).detail("incidents", "2025-09").per_1000_ranked == ("lpa",)


def test_show_reads_its_figures_where_compare_refuses_the_population_file(tmp_path, cli):
    """`kpi show` asks compare how it ranks the parts (`compare.ranks_per_1000`); a
    population file compare refuses (a heading it cannot name) refuses `kpi compare`, and
    leaves `kpi show`'s own figures, which do not rest on it, to be shown with no note of a
    ranking compare does not make."""
    from test_parts_agree import _loaded

    root = _loaded(tmp_path / "p", populations=True)
    (root / "pop.csv").write_text("lpa,residents,year\nBirmingham,1000000,2025\n",
                                  encoding="utf-8")
    compared = cli(["--project", root, "compare", "--period", "2025-09", "--by", "lpa",
                    "--kpi", "incidents"])
    assert compared.exit_code == 3, compared.output
    shown = cli(["--project", root, "show", "incidents", "--period", "2025-09", "--format",
                 "json"])
    assert shown.exit_code == 0, shown.output
    assert "kpi compare ranks" not in shown.stderr, shown.stderr
    assert json.loads(shown.stdout)["breakdowns"]["lpa"]


def test_a_percentage_snapshots_parts_are_tested_in_compare_as_in_the_paper(tmp_path, cli):
    """A percentage snapshot's parts (different people, so independent samples) were tested
    against each other by the paper and not by `kpi compare` ("no test for a snapshot in
    percent"): one rule of which KPIs' parts are tested now (`stats.proportion_of_cases`).
    As at September 2025, Aston 50 of 100 attended in time against Brierley's and Coventry's
    160 of 200: p = 210/300 = 0.7, sqrt(0.7 x 0.3 x 0.015) = 0.056125, z = -0.3 / 0.056125 =
    -5.345, p = 9.0e-8, below 0.05/3."""
    toml = _snapshot_toml()
    folder = _rate_project(tmp_path, parts=(("Aston", 600, 1200), ("Brierley", 960, 1200),
                                            ("Coventry", 960, 1200)), toml=toml)
    paper = _full_paper(cli, folder, "incidents")
    result = cli(["--project", folder, "compare", "--period", "2025-09", "--by", "lpa",
                  "--format", "json"])
    assert result.exit_code == 0, result.output
    parts = {p["name"]: p["vs_rest"] for p in json.loads(result.stdout)["kpis"][0]["parts"]}
    assert parts["Aston"]["test"] == "two_proportion_z"
    assert parts["Aston"]["p_value"] == pytest.approx(_z_p(50, 100, 160, 200), rel=1e-9)
    assert _z_p(50, 100, 160, 200) == pytest.approx(9.0e-8, rel=0.01)
    assert parts["Aston"]["significant"] is True
    line = next(x for x in paper.splitlines()
                if "**Incidents attended within 15 minutes.**" in x)
    assert "By LPA, Aston (50.0%) stands out from the other 2 (80.0% together)" in line


def _snapshot_toml() -> str:
    from test_paper_standouts import RATE_TOML

    return RATE_TOML.replace('kind = "within"\ndataset = "incidents"\nvalue = "seconds"\n'
                             'threshold = 900\n',
                             'kind = "snapshot"\ndataset = "incidents"\n'
                             'numerator = "seconds <= 900"\n')


def _valued_project(folder, provisional: int = 0):
    """Aston, Brierley and Coventry, each of whose crimes carries two values: `hours`, 1.5
    and 0.5 in turn (no row a whole number of events), and `items`, 2 and 0 in turn (each
    row a whole number of at least 0); both total the rows counted. Aston 100 rows in the
    baseline year and 160 in the year ending September 2025, the others 100 in each."""
    from test_paper_standouts import COMPARISON, CURRENT

    months = f"provisional_months = {provisional}\n" if provisional else ""
    toml = KPI_TOML.replace('lpa = "str"\n', 'lpa = "str"\nhours = "float"\nitems = "int"\n')
    toml = toml.split("[[kpis]]")[0]
    for kpi_id, title, value in (("hours", "Hours of overtime", "hours"),
                                 ("items", "Items seized", "items")):
        toml += (f'[[kpis]]\nid = "{kpi_id}"\ntitle = "{title}"\npriority = "crime"\n'
                 f'kind = "count"\ndataset = "crimes"\nvalue = "{value}"\nbetter = "lower"\n'
                 f'breakdowns = ["lpa"]\n{months}\n')
    (folder / "kpi.toml").write_text(toml, encoding="utf-8")
    rows = ["crime_id,recorded,lpa,hours,items"]
    for lpa, before, now in (("Aston", 100, 160), ("Brierley", 100, 100),
                             ("Coventry", 100, 100)):
        for window, count in ((COMPARISON, before), (CURRENT, now)):
            for i in range(count):
                rows.append(f"{lpa}-{window[0]}-{i},{window[i % 12]}-15,{lpa},"
                            f"{0.5 if i % 2 else 1.5},{0 if i % 2 else 2}")
    (folder / "crimes.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def test_a_count_of_values_not_whole_has_no_part_tested_by_any_face(tmp_path, cli):
    """A count of a `value` whose rows are 1.5 and 0.5 hours totals whole numbers (Aston 100
    to 160, Brierley and Coventry 100 each), and is no count of events: the summary says "not
    tested", and `kpi compare` and the paper said on the totals that Aston's change "differs
    from the rest's" and "stands out". One rule now (`stats.count_of_events`): none of its
    parts is tested. The same totals of rows of 2 and 0 items are tested, by hand: Aston 160
    of 260 events in the current window against 200 of 400, pooled 360/660 = 0.54545,
    sqrt(0.54545 x 0.45455 x (1/260 + 1/400)) = 0.039666, z = (0.61538 - 0.5) / 0.039666 =
    2.9089, p = 0.00363 < 0.05/3."""
    folder = _valued_project(tmp_path)
    paper = _full_paper(cli, folder, "crimes")
    result = cli(["--project", folder, "compare", "--period", "2025-09", "--by", "lpa",
                  "--format", "json"])
    assert result.exit_code == 0, result.output
    kpis = {k["id"]: {p["name"]: p for p in k["parts"]}
            for k in json.loads(result.stdout)["kpis"]}
    assert _z_p(160, 260, 200, 400) == pytest.approx(0.00363, abs=5e-6)
    items = kpis["items"]["Aston"]["change_vs_rest"]
    assert items["p_value"] == pytest.approx(_z_p(160, 260, 200, 400), rel=1e-9)
    assert (items["tests"], items["significant"]) == (3, True)
    for name, part in kpis["hours"].items():
        assert part["change_vs_rest"]["p_value"] is None, name
        assert part["change_vs_rest"]["note"] == stats.NOT_EVENTS, name
    summary = json.loads(cli(["--project", folder, "summary", "--period", "2025-09",
                              "--format", "json"]).stdout)
    tests = {k["id"]: k["significance"] for k in summary["kpis"]}
    assert tests["hours"]["test"] is None and tests["hours"]["reason"] == stats.NOT_EVENTS
    assert tests["items"]["test"] == stats.POISSON_EXACT
    lines = {kpi_id: next(x for x in paper.splitlines() if f"**{title}.**" in x)
             for kpi_id, title in (("hours", "Hours of overtime"), ("items", "Items seized"))}
    assert "By LPA, Aston (+60.0%) stands out from the other 2 (0.0%)" in lines["items"]
    assert "stands out" not in lines["hours"] and "differ" not in lines["hours"], lines


def test_a_count_of_values_not_whole_is_not_tested_without_its_months_not_final(tmp_path,
                                                                                cli):
    """A count with `provisional_months` is tested on its windows without those months, summed
    again from its months (`verdicts.settled_significance`), by the one rule of a count of
    events (`stats.count_of_events`), which reads its rows that are no whole count: they are
    summed again with the months, so 2 and 0 items are tested (its events in the 11 months
    kept of each window, summed by hand below), where without them the windows could not
    say, and 1.5 and 0.5 hours are not."""
    folder = _valued_project(tmp_path, provisional=1)
    assert cli(["--project", folder, "ingest", "crimes", folder / "crimes.csv"]).exit_code == 0
    summary = json.loads(cli(["--project", folder, "summary", "--period", "2025-09",
                              "--format", "json"]).stdout)
    tests = {k["id"]: k["significance"] for k in summary["kpis"]}
    assert tests["hours"]["test"] is None and tests["hours"]["reason"] == stats.NOT_EVENTS
    assert tests["items"]["test"] == stats.POISSON_EXACT
    shown = json.loads(cli(["--project", folder, "show", "items", "--period", "2025-09",
                            "--format", "json"]).stdout)
    # By hand: the rows of each window's last month left out, each part's i-th row falling
    # in month i % 12, and i % 2 deciding 2 items or 0.
    def kept(count: int) -> int:
        return sum(2 for i in range(count) if i % 12 != 11 and i % 2 == 0)

    now, before = kept(160) + 2 * kept(100), 3 * kept(100)
    assert shown["signal"]["note"].startswith(f"{now:,} events in 11 months against "
                                              f"{before:,} in 11"), shown["signal"]


@pytest.mark.parametrize(("unit", "multiplier"), [("percent", None), ("per_1000", 10),
                                                  ("ratio", 0.01)])
def test_a_shares_parts_are_tested_whatever_unit_it_is_printed_in(tmp_path, cli, unit,
                                                                  multiplier):
    """One share, incidents attended within 15 minutes, in percent, per 1,000 (multiplier 10)
    or as a ratio (multiplier 0.01): the summary tests its change as two proportions in each,
    and `kpi compare` and the paper tested its parts in percent only ("no test for a rate in
    per_1000"). What it counts decides now (`stats.proportion_of_cases`): by hand, Aston 60
    of 100 against the others' 160 of 200, z = -3.693, p = 0.00022 < 0.05/3, in every unit;
    the paper gives the proportions in percent."""
    from test_paper_standouts import RATE_TOML

    scale = f'unit = "{unit}"\n' + (f"multiplier = {multiplier}\n" if multiplier else "")
    toml = RATE_TOML.replace("threshold = 900\n", f"threshold = 900\n{scale}")
    folder = _rate_project(tmp_path, 60, toml=toml)
    paper = _full_paper(cli, folder, "incidents")
    result = cli(["--project", folder, "compare", "--period", "2025-09", "--by", "lpa",
                  "--format", "json"])
    assert result.exit_code == 0, result.output
    parts = {p["name"]: p["vs_rest"] for p in json.loads(result.stdout)["kpis"][0]["parts"]}
    assert _z_p(60, 100, 160, 200) == pytest.approx(0.00022, abs=5e-6)
    assert parts["Aston"]["test"] == stats.TWO_PROPORTIONS
    assert parts["Aston"]["p_value"] == pytest.approx(_z_p(60, 100, 160, 200), rel=1e-9)
    assert (parts["Aston"]["tests"], parts["Aston"]["significant"]) == (3, True)
    summary = json.loads(cli(["--project", folder, "summary", "--period", "2025-09",
                              "--format", "json"]).stdout)
    assert summary["kpis"][0]["significance"]["test"] == stats.TWO_PROPORTIONS
    line = next(x for x in paper.splitlines()
                if "**Incidents attended within 15 minutes.**" in x)
    assert "By LPA, Aston (60.0%) stands out from the other 2 (80.0% together)" in line
