"""The bundled West Midlands sample reproduces the November 2025 board report.

Every row of tests/data/report-2025-11-figures.csv (a copy of the report's figures) is checked
against `kpi summary --period 2025-09 --format json`; other periods and comparisons are checked
against an independent oracle, DuckDB SQL over the extract files themselves; the report's LPA
and neighbourhood paragraphs through the reference breakdown (tests/reference_engine.py); and
the generator rebuilds the committed files byte for byte.
"""

from __future__ import annotations

import csv
import hashlib
import json
import runpy
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
import reference_engine as ref
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from oracle_support import excel_round
from typer.testing import CliRunner

from kpi import engine
from kpi.catalogue import PROJECT_FILE, bundled_project_dir, parse_project_file
from kpi.cli import app
from kpi.ingest import ensure_bundled_store
from kpi.periods import Comparison, Month, Window, WindowKind

SAMPLE = Path(__file__).resolve().parent.parent / "datasets" / "west-midlands"
EXTRACTS = SAMPLE / "extracts"
FIGURES = Path(__file__).resolve().parent / "data" / "report-2025-11-figures.csv"
ROWS = list(csv.DictReader(FIGURES.open(encoding="utf-8")))

# Changes the report states wrongly: the toolkit shows the change it computes (docs list them).
REPORT_ERRORS = {
    "priority_incidents_attended": "+34.7%",  # stated +48.0%; 78,892 -> 106,273
    "calls_999_abandoned_10s": "-89.6%",      # stated -89.5%; 651 -> 68 is -89.55%
}


def _summary(*args: str) -> dict:
    result = CliRunner().invoke(app, ["--project", "sample", "summary", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    return {k["id"]: k for k in document["kpis"]}


@pytest.fixture(scope="module")
def report(sample_paper) -> dict:
    # `kpi summary --period 2025-09 --format json`, made once for the run (conftest.py)
    document = json.loads(sample_paper["summary"].read_text(encoding="utf-8"))
    return {k["id"]: k for k in document["kpis"]}


@pytest.fixture(scope="module")
def project():
    project = parse_project_file(bundled_project_dir() / PROJECT_FILE, bundled=True)
    ensure_bundled_store(project)
    return project


def _shown(value: float, row: dict) -> float:
    """A value at the report's precision: whole numbers for counts, seconds and days, one
    decimal place for percentages, ratios and the harm score, rounded as Excel rounds (half
    away from zero, docs/guarantees.md)."""
    if row["unit"] in ("count", "seconds", "days"):
        return float(excel_round(value, 0))
    return float(excel_round(value, 1))


def _change(result: dict, reported: str) -> str:
    change = result["change"]
    if reported.endswith("pp"):
        points = excel_round(change["points"], 1)
        return "0.0pp" if points == 0 else f"{points:+.1f}pp"
    if reported.endswith("%"):
        return f"{excel_round(change['percent'], 1):+.1f}%"
    if reported == "stable":
        return result["status"]
    return f"{excel_round(change['absolute'], 0):+.0f}"


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_every_report_figure(report, row):
    result = report[row["id"]]
    current, comparison = result["current"], result["comparison"]
    assert current["label"] == Window.parse(row["current_window"]).label
    assert comparison["label"] == Window.parse(row["baseline_window"]).label
    assert _shown(current["value"], row) == _shown(float(row["current"]), row)
    if row["baseline"]:
        assert _shown(comparison["value"], row) == _shown(float(row["baseline"]), row)
    reported = row["reported_change"]
    if reported:
        # Where the report states no baseline, the sample's baseline is the one that gives the
        # reported change; where it does, the change is computed, so it shows the report's.
        assert _change(result, reported) == REPORT_ERRORS.get(row["id"], reported)


def test_window_wording_of_lagged_kpis(report):
    assert report["knife_crime"]["current"]["label"] == "year ending June 2025"
    assert report["third_party_reports"]["current"]["label"] == "year ending July 2025"
    assert report["crown_court_median_days"]["current"]["label"] == "year ending March 2025"
    assert report["cps_case_quality"]["current"]["label"] == "August 2025"
    assert report["drug_treatment_entries"]["comparison"]["label"] == "year ending March 2023"


def test_in_development_kpis_are_listed(report):
    expected = {"victims_code_compliance", "victim_satisfaction",
                "commissioned_services_satisfaction", "public_confidence", "race_action_plan",
                "evidence_led_prosecutions", "investigations_grading"}
    developing = {k for k, r in report.items() if r["status"] == "in_development"}
    assert developing == expected
    assert all(report[k]["current"] is None for k in expected)


def test_summary_shows_all_nine_priorities_in_order():
    result = CliRunner().invoke(app, ["--project", "sample", "summary", "--period", "2025-09"])
    assert result.exit_code == 0, result.output
    titles = ["Rebuilding Community Policing", "Preventing and Tackling Violence",
              "Improving Road and Travel Safety", "Preventing and Reducing Neighbourhood Crime",
              "Protecting Victims and Witnesses", "Building Trust and Confidence",
              "An Equal and Fair West Midlands", "Bringing Offenders to Justice",
              "Prevention and Rehabilitation"]
    positions = [result.stdout.index(title) for title in titles]
    assert positions == sorted(positions)
    assert "in development" in result.stdout


# ---------------------------------------------------------------------------------------------
# The report's paragraphs on LPAs and neighbourhoods

YE_2025_09 = Window.year_ending(Month.parse("2025-09"))
YE_2024_03 = Window.year_ending(Month.parse("2024-03"))


def test_top_five_asb_neighbourhoods(project):
    view = ref.breakdown(project, project.kpi("asb_incidents"), "neighbourhood", YE_2025_09,
                            None)
    top = list(zip(view["part"].head(5), view["current"].head(5), strict=True))
    assert top == [("St Michael's", 958), ("Birmingham City Centre", 685),
                   ("St Matthew's", 436), ("Aston", 421), ("Lozells and East Handsworth", 369)]
    assert view["current"].sum() == 26_613


def test_lpas_ranked_by_change_in_total_crime(project):
    view = ref.breakdown(project, project.kpi("total_recorded_crime"), "lpa", YE_2025_09,
                            YE_2024_03).sort("percent")
    ranked = [(part, round(pct, 1)) for part, pct in zip(view["part"], view["percent"],
                                                         strict=True)]
    assert ranked == [("Wolverhampton", -14.6), ("Coventry", -13.3), ("Walsall", -9.0),
                      ("Sandwell", -8.7), ("Solihull", -7.9), ("Dudley", -6.8),
                      ("Birmingham", -5.8)]
    assert view["current"].sum() == 299_579 and view["comparison"].sum() == 328_153


def test_neighbourhood_crime_largest_lpa_reductions(project):
    view = ref.breakdown(project, project.kpi("neighbourhood_crime"), "lpa", YE_2025_09,
                            YE_2024_03).sort("percent")
    top = [(part, round(pct, 1)) for part, pct in zip(view["part"].head(3),
                                                      view["percent"].head(3), strict=True)]
    assert top == [("Coventry", -36.3), ("Walsall", -29.3), ("Solihull", -24.2)]
    assert (view["percent"] < 0).all()  # "all LPAs contributed to this decline"


def test_shoplifting_rises_everywhere_most_in_walsall(project):
    view = ref.breakdown(project, project.kpi("shoplifting"), "lpa", YE_2025_09,
                            YE_2024_03).sort("percent", descending=True)
    assert view["part"][0] == "Walsall" and round(view["percent"][0], 1) == 51.5
    assert (view["percent"] > 0).all()


def test_emergency_compliance_by_lpa_for_september(project):
    september = Window(WindowKind.AT, Month.parse("2025-09"), Month.parse("2025-09"))
    view = ref.breakdown(project, project.kpi("emergency_15min_compliance"), "lpa",
                            september, None).sort("current")
    assert view["part"][0] == "Birmingham"  # the lowest, "slightly below other LPAs"
    assert round(view["current"][0], 1) == 71.0
    assert len(view) == 7


# ---------------------------------------------------------------------------------------------
# Other periods and comparisons against DuckDB over the extract files


@pytest.fixture(scope="module")
def db():
    con = duckdb.connect()
    parquet = {"crimes": ("crimes.parquet", '"Recorded Date"'),
               "outcomes": ("outcomes.parquet", "outcome_date"),
               "incidents": ("incidents.parquet", "incident_date"),
               "calls": ("calls.parquet", "CallDate")}
    for name, (file, date) in parquet.items():
        con.execute(f"CREATE VIEW {name} AS SELECT *, strftime({date}, '%Y-%m') AS m "
                    f"FROM read_parquet('{EXTRACTS / file}')")
    uk = "strftime(strptime({}, '%d/%m/%Y'), '%Y-%m')"
    con.execute(f"""CREATE VIEW workforce AS SELECT "Role Group" AS role,
        CAST(replace("Headcount", ',', '') AS INTEGER) AS headcount,
        CAST(replace("Ethnicity Stated", ',', '') AS INTEGER) AS stated,
        CAST("Racially Minoritised" AS INTEGER) AS minoritised,
        {uk.format('"Snapshot Date"')} AS m
        FROM read_csv('{EXTRACTS / 'workforce.csv'}', all_varchar = true)""")
    con.execute(f"""CREATE VIEW stops AS SELECT "Self Defined Ethnicity" AS ethnicity,
        CAST("Searches" AS INTEGER) AS searches, {uk.format('"Month"')} AS m
        FROM read_csv('{EXTRACTS / 'stop-search.csv'}', all_varchar = true)""")
    con.execute(f"""CREATE VIEW fraud AS SELECT
        CAST(replace(replace("Reported Loss", '£', ''), ',', '') AS DOUBLE) AS losses,
        substr("Period", 1, 7) AS m
        FROM read_csv('{EXTRACTS / 'action-fraud.csv'}', all_varchar = true)""")
    con.execute(f"CREATE VIEW weights AS SELECT * FROM "
                f"read_csv('{SAMPLE / 'reference' / 'harm-weights.csv'}')")
    yield con
    con.close()


POSITIVE = "('OC1', 'OC1A', 'OC2', 'OC2A', 'OC3', 'OC3A', 'OC4', 'OC5', 'OC8', 'OC9', 'OC22')"
# One KPI of each kind, in plain SQL; {w} is the window's month condition.
ORACLE = {
    "total_recorded_crime": "SELECT count(*) FROM crimes WHERE {w}",
    "knife_crime": 'SELECT count(*) FROM crimes WHERE "Knife Flag" AND {w}',
    "fraud_losses": "SELECT sum(losses) FROM fraud WHERE {w}",
    "calls_101_answered_pct": "SELECT 100.0 * count(*) FILTER (Answered) / count(*) "
                              "FROM calls WHERE Service = '101' AND {w}",
    "emergency_15min_compliance": "SELECT 100.0 * count(*) FILTER (response_seconds <= 900) / "
                                  "count(*) FROM incidents WHERE grade = 'Emergency' "
                                  "AND attended AND {w}",
    "calls_999_avg_answer_s": "SELECT avg(WaitSeconds) FROM calls WHERE Service = '999' "
                              "AND Answered AND {w}",
    "priority_median_response_s": "SELECT median(response_seconds) FROM incidents "
                                  "WHERE grade = 'Priority' AND attended AND {w}",
    "officer_headcount": "SELECT sum(headcount) FROM workforce "
                         "WHERE role = 'Police officer' AND {w}",
    "staff_minoritised": "SELECT 100.0 * sum(minoritised) / sum(stated) FROM workforce "
                         "WHERE role = 'Police staff' AND {w}",
    "stop_search_disp_black": "SELECT (sum(searches) FILTER (ethnicity = 'Black') / 160000) / "
                              "(sum(searches) FILTER (ethnicity = 'White') / 1987000) "
                              "FROM stops WHERE {w}",
    "crime_per_1000": "SELECT count(*) / 2919600 * 1000 FROM crimes WHERE {w}",
    "harm_score": "SELECT sum(coalesce(w.weight_days, 0)) / 1e6 FROM crimes c "
                  'LEFT JOIN weights w ON c."HO Offence Group" = w.offence WHERE {w}',
    "oc15_share": "SELECT 100.0 * count(*) FILTER (outcome_code = 'OC15') / count(*) "
                  "FROM outcomes WHERE {w}",
    "positive_outcome_rate": f"SELECT 100.0 * (SELECT count(*) FROM outcomes WHERE "
                             f"outcome_code IN {POSITIVE} AND {{w}}) / "
                             f"(SELECT count(*) FROM crimes WHERE {{w}})",
}
SNAPSHOTS = {"officer_headcount", "staff_minoritised"}
# (period, --vs): (current window, comparison window) as literal months, for flows, for
# knife crime (three months behind) and for snapshots.
CASES = {
    ("2025-03", "baseline"): {"flow": (("2024-04", "2025-03"), ("2023-04", "2024-03")),
                              "knife": (("2024-01", "2024-12"), ("2023-04", "2024-03")),
                              "snapshot": (("2025-03",) * 2, ("2024-04",) * 2)},
    ("2025-09", "yoy"): {"flow": (("2024-10", "2025-09"), ("2023-10", "2024-09")),
                         "knife": (("2024-07", "2025-06"), ("2023-07", "2024-06")),
                         "snapshot": (("2025-09",) * 2, ("2024-09",) * 2)},
    ("2025-09", "fytd"): {"flow": (("2025-04", "2025-09"), ("2024-04", "2024-09")),
                          "knife": (("2025-04", "2025-06"), ("2024-04", "2024-06")),
                          "snapshot": (("2025-09",) * 2, ("2024-09",) * 2)},
}


@pytest.fixture(scope="module")
def reports(project) -> dict:
    """Each case's summary, with the hidden KPIs of the oracle computed by the engine too."""
    out = {}
    for case in CASES:
        results = _summary("--period", case[0], "--vs", case[1])
        hidden = engine.evaluate(project, Month.parse(case[0]), Comparison(case[1]),
                                 [project.kpi("fraud_losses")])
        for result in hidden.results:
            results[result.kpi.id] = {
                name: {"start": str(m.window.start), "end": str(m.window.end),
                       "value": m.value}
                for name, m in (("current", result.current), ("comparison", result.comparison))}
        out[case] = results
    return out


def _oracle(db, kpi_id: str, months: tuple[str, str]) -> float:
    condition = f"m BETWEEN '{months[0]}' AND '{months[1]}'"
    return db.execute(ORACLE[kpi_id].replace("{w}", condition)).fetchone()[0]


@pytest.mark.parametrize("case", list(CASES), ids=[f"{p}-{vs}" for p, vs in CASES])
@pytest.mark.parametrize("kpi_id", list(ORACLE))
def test_other_periods_against_duckdb(db, reports, case, kpi_id):
    result = reports[case][kpi_id]
    kind = "snapshot" if kpi_id in SNAPSHOTS else "knife" if kpi_id == "knife_crime" else "flow"
    current, comparison = CASES[case][kind]
    assert (result["current"]["start"], result["current"]["end"]) == current
    assert (result["comparison"]["start"], result["comparison"]["end"]) == comparison
    assert result["current"]["value"] == pytest.approx(_oracle(db, kpi_id, current), rel=1e-9)
    assert result["comparison"]["value"] == pytest.approx(_oracle(db, kpi_id, comparison),
                                                          rel=1e-9)


# ---------------------------------------------------------------------------------------------
# Checks and the generator


def test_check_reports_the_asb_category_mismatch():
    result = CliRunner().invoke(app, ["--project", "sample",
                                      "check", "--period", "2025-09", "--format", "json"])
    assert result.exit_code == 1
    checks = {c["id"]: c for c in json.loads(result.stdout)["checks"]}
    asb = checks["asb_categories"]
    assert not asb["passed"]
    assert asb["total"]["value"] == 26_613
    assert [p["value"] for p in asb["parts"]] == [19_480, 4_785, 2_583]
    assert asb["difference"] == 26_613 - 26_848
    assert checks["neighbourhood_crime_types"]["difference"] == -1
    assert checks["coverage"]["passed"] and checks["gaps"]["passed"]


def test_check_table_names_the_failures():
    result = CliRunner().invoke(app, ["--project", "sample", "check", "--period", "2025-09"])
    assert result.exit_code == 1
    line = next(x for x in result.stdout.splitlines() if x.startswith("asb_categories"))
    assert "FAIL" in line and "26,848" in line and "26,613" in line


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_generator_rebuilds_the_committed_files(tmp_path):
    """Every file the generator writes is the committed one: byte for byte, except a Parquet
    file, whose bytes name the Polars that wrote it (and its encoding may change between
    releases): its rows, columns and types are compared."""
    runpy.run_path(str(SAMPLE / "generate.py"))["main"](tmp_path)
    committed = {**{f"extracts/{k}": EXTRACTS / k for k in _digests(EXTRACTS)},
                 **{f"reference/{k}": SAMPLE / "reference" / k
                    for k in _digests(SAMPLE / "reference")}}
    built = _digests(tmp_path)
    assert sorted(built) == sorted(committed)
    for name, path in committed.items():
        if name.endswith(".parquet"):
            again = pl.read_parquet(tmp_path / name)
            assert again.schema == pl.read_parquet(path).schema, name
            assert again.equals(pl.read_parquet(path)), name
        else:
            assert built[name] == hashlib.sha256(path.read_bytes()).hexdigest(), name


def test_committed_data_is_small():
    total = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert total < 25 * 1024 * 1024


# ---------------------------------------------------------------------------------------------
# Invariants: LPA splits add up, and the generator's calibration helpers are exact

GENERATOR = runpy.run_path(str(SAMPLE / "generate.py"))


@settings(max_examples=12, deadline=None)
@given(end=st.integers(4, 18), vs=st.sampled_from([Comparison.BASELINE, Comparison.PREVIOUS]),
       kpi_id=st.sampled_from(["total_recorded_crime", "shoplifting", "asb_incidents",
                               "knife_crime"]))
def test_lpa_breakdown_sums_to_the_force_total(end, vs, kpi_id):
    project = parse_project_file(bundled_project_dir() / PROJECT_FILE, bundled=True)
    ensure_bundled_store(project)
    kpi = project.kpi(kpi_id)
    # 2024-07 .. 2025-09: every window has data. The sample starts in 2023-04, so a period of
    # 2024-06 would give knife crime (lag 3) a previous window, YE 2024-02, that starts before it.
    period = Month.parse("2024-03") + end
    result = engine.evaluate(project, period, vs, [kpi]).results[0]
    view = ref.breakdown(project, kpi, "lpa", result.current.window,
                            result.comparison.window)
    assert view["current"].sum() == result.current.value
    assert view["comparison"].sum() == result.comparison.value


@settings(max_examples=60, deadline=None)
@given(total=st.integers(0, 10**6),
       weights=st.lists(st.floats(0, 1e3, allow_nan=False), min_size=1, max_size=30))
def test_alloc_is_exact_and_proportional(total, weights):
    parts = GENERATOR["alloc"](total, weights)
    assert parts.sum() == total and (parts >= 0).all()
    if sum(weights) > 0:
        exact = [w / sum(weights) * total for w in weights]
        assert all(abs(p - e) < 1 for p, e in zip(parts, exact, strict=True))


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(3, 400), min_size=1, max_size=8),
       median=st.integers(100, 800), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_cells_pool_to_the_exact_median(sizes, median, seed, data):
    shifts = [data.draw(st.integers(-(n // 4), n // 4)) for n in sizes[:-1]]
    shifts.append(-sum(shifts))  # a window's shifts sum to zero
    assume(abs(shifts[-1]) <= (sizes[-1] - 1) // 2)  # within what the last cell can hold
    rng = np.random.default_rng(seed)
    cells = [GENERATOR["cell_values"](rng, n, n, median, 900, 20, 900, s)
             for n, s in zip(sizes, shifts, strict=True)]
    assert [len(c) for c in cells] == sizes
    assert np.median(np.concatenate(cells)) == median
