"""Every KPI kind and every comparison, computed by the engine on generated record-level data,
against an independent oracle: the same KPI written in plain SQL in DuckDB over the same source
files the engine ingested. The windows are written out here as literal months, not derived with
kpi.periods, so a window bug cannot hide in both sides at once.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pytest
import reference_engine as ref
from fixtures.generated import POPULATION, ingest_all, write_project
from oracle_support import Kpi, excel_round, status_of

from kpi import engine, store
from kpi.periods import Comparison, Month

PERIOD = "2025-09"
POSITIVE = "('OC1', 'OC2', 'OC3', 'OC8')"

# The windows SPEC.md defines for period 2025-09, as (first month, last month).
YE_CURRENT = ("2024-10", "2025-09")
FLOW_WINDOWS = {
    "baseline": (YE_CURRENT, ("2023-04", "2024-03")),   # YE 2024-03, the plan baseline
    "yoy": (YE_CURRENT, ("2023-10", "2024-09")),        # the same window 12 months earlier
    "previous": (YE_CURRENT, ("2024-09", "2025-08")),   # shifted back one month
    "fytd": (("2025-04", "2025-09"), ("2024-04", "2024-09")),
}
# Knife crime lags three months: its latest window is the year ending June 2025.
LAGGED_WINDOWS = {
    "baseline": (("2024-07", "2025-06"), ("2023-04", "2024-03")),
    "yoy": (("2024-07", "2025-06"), ("2023-07", "2024-06")),
    "previous": (("2024-07", "2025-06"), ("2024-06", "2025-05")),
    "fytd": (("2025-04", "2025-06"), ("2024-04", "2024-06")),
}
SNAPSHOT_WINDOWS = {
    "baseline": (("2025-09",) * 2, ("2024-04",) * 2),   # AT 2024-04, the snapshot baseline
    "yoy": (("2025-09",) * 2, ("2024-09",) * 2),
    "previous": (("2025-09",) * 2, ("2025-08",) * 2),
    "fytd": (("2025-09",) * 2, ("2024-09",) * 2),
}


def _windows(kpi_id: str, vs: str) -> tuple[tuple[str, str], tuple[str, str]]:
    if kpi_id == "knife_crime":
        return LAGGED_WINDOWS[vs]
    if kpi_id in ("officers", "minority_share"):
        return SNAPSHOT_WINDOWS[vs]
    current, comparison = FLOW_WINDOWS[vs]
    if vs == "baseline" and kpi_id == "loss":          # baseline = "yoy" override
        comparison = FLOW_WINDOWS["yoy"][1]
    if vs == "baseline" and kpi_id == "median_days":   # baseline = "YE 2023-09" override
        comparison = ("2022-10", "2023-09")
    return current, comparison


# Each KPI in plain SQL: {w} is replaced by the month condition of the window.
ORACLE_SQL = {
    "crimes": "SELECT count(*) FROM crimes WHERE {w}",
    "positive_outcomes": f"SELECT count(*) FILTER (outcome IN {POSITIVE}) FROM crimes WHERE {{w}}",
    "knife_crime": "SELECT count(*) FROM crimes WHERE knife AND {w}",
    "loss": "SELECT sum(loss) FROM crimes WHERE {w}",
    "outcome_rate": f"SELECT 100.0 * count(*) FILTER (outcome IN {POSITIVE}) / count(*) "
                    "FROM crimes WHERE {w}",
    "burglary_outcome_rate": "SELECT 100.0 * count(*) FILTER (outcome = 'OC1') / "
                             "count(*) FILTER (outcome IS NOT NULL) FROM crimes "
                             "WHERE offence = 'burglary' AND {w}",
    "answered_10s": "SELECT 100.0 * count(*) FILTER (answer_seconds <= 10) / count(*) "
                    "FROM calls WHERE line = '999' AND {w}",
    "mean_answer": "SELECT avg(answer_seconds) FROM calls WHERE line = '101' AND {w}",
    "median_days": "SELECT median(days_to_outcome) FROM crimes WHERE {w}",
    "p90_answer": "SELECT quantile_cont(answer_seconds, 0.9) FROM calls "
                  "WHERE line = '999' AND {w}",
    "officers": "SELECT count(*) FROM workforce WHERE role = 'officer' AND {w}",
    "minority_share": "SELECT 100.0 * count(*) FILTER (minority) / count(*) FROM workforce "
                      "WHERE role = 'officer' AND {w}",
    "stop_disproportionality": (
        f"SELECT (count(*) FILTER (ethnicity = 'Black') / {POPULATION['black']}) / "
        f"(count(*) FILTER (ethnicity = 'White') / {POPULATION['white']}) FROM stops WHERE {{w}}"),
    "crimes_per_1000": f"SELECT count(*) / {POPULATION['force']} * 1000 FROM crimes WHERE {{w}}",
    "harm": "SELECT sum(coalesce(w.weight, 0)) FROM crimes c "
            "LEFT JOIN weights w ON c.offence = w.offence WHERE {w}",
    "outcomes_per_crime": (
        f"SELECT 100.0 * (SELECT count(*) FROM outcomes WHERE code IN {POSITIVE} AND {{w}}) / "
        "(SELECT count(*) FROM crimes WHERE {w})"),
}
KIND_OF = {
    "crimes": "count", "positive_outcomes": "count", "knife_crime": "count", "loss": "sum",
    "outcome_rate": "rate", "burglary_outcome_rate": "rate", "answered_10s": "within",
    "mean_answer": "mean", "median_days": "median", "p90_answer": "percentile",
    "officers": "snapshot", "minority_share": "snapshot",
    "stop_disproportionality": "ratio_of_rates", "crimes_per_1000": "per_1000",
    "harm": "weighted_score", "outcomes_per_crime": "rate",
}
PERCENT_KPIS = {"outcome_rate", "burglary_outcome_rate", "answered_10s", "minority_share",
                "outcomes_per_crime"}
LOWER_IS_BETTER = {"crimes", "knife_crime", "loss", "mean_answer", "median_days", "p90_answer",
                   "stop_disproportionality", "crimes_per_1000", "harm"}
STABLE_BANDS = {"crimes": 1.0, "answered_10s": 0.5, "stop_disproportionality": 0.05}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = write_project(tmp_path_factory.mktemp("generated"))
    project = ingest_all(folder)
    return project, folder


@pytest.fixture(scope="module")
def oracle(generated):
    """DuckDB over the raw extract files, parsed independently of kpi.ingest. Each is read
    into a table once: a view would parse the files again for each of the oracle's queries."""
    _, folder = generated
    ex = folder / "extracts"
    db = duckdb.connect()
    db.execute(f"""
        CREATE TABLE crimes AS
        SELECT "Crime Reference" AS crime_id,
               coalesce(try_strptime("Date Recorded", '%d/%m/%Y'),
                        try_strptime("Date Recorded", '%Y-%m-%d'))::DATE AS day,
               "LPA Name" AS lpa, offence, nullif(trim(outcome), '') AS outcome,
               lower(knife) IN ('yes', 'y') AS knife,
               TRY_CAST(nullif(loss, '') AS DOUBLE) AS loss,
               TRY_CAST(nullif(days_to_outcome, '') AS DOUBLE) AS days_to_outcome
        FROM read_csv(['{ex / "crimes-2022-2024.csv"}', '{ex / "crimes-2024-2025.csv"}'],
                      all_varchar = true)""")
    db.execute(f"""
        CREATE TABLE outcomes AS SELECT outcome_date::DATE AS day, code, lpa
        FROM read_csv('{ex / "outcomes.csv"}', all_varchar = true)""")
    db.execute(f"""
        CREATE TABLE calls AS SELECT received::DATE AS day, answer_seconds::DOUBLE AS
        answer_seconds, line FROM read_parquet('{ex / "calls.parquet"}')""")
    db.execute(f"""
        CREATE TABLE stops AS SELECT stop_date::DATE AS day, ethnicity, lpa
        FROM read_csv('{ex / "stops.csv"}', all_varchar = true)""")
    db.execute(f"""
        CREATE TABLE workforce AS SELECT (as_at || '-01')::DATE AS day, role,
               minority = '1' AS minority
        FROM read_csv('{ex / "workforce.csv"}', all_varchar = true)""")
    db.execute(f"""
        CREATE TABLE weights AS SELECT offence, weight::DOUBLE AS weight
        FROM read_csv('{folder / "weights.csv"}', all_varchar = true)""")
    return db


def oracle_value(db, kpi_id: str, window: tuple[str, str]) -> float | None:
    first, last = window
    condition = f"strftime(day, '%Y-%m') BETWEEN '{first}' AND '{last}'"
    value = db.execute(ORACLE_SQL[kpi_id].format(w=condition)).fetchone()[0]
    return None if value is None else float(value)


# Each KPI's decimal places, as docs/catalogue.md's `decimals` gives them by default: none for
# counts, pounds and seconds, one for percentages, ratios, scores, rates per 1,000 and days of
# a median. (A change without a % is stable when it prints as zero at these places.)
PLACES = {"crimes": 0, "positive_outcomes": 0, "knife_crime": 0, "loss": 0,
          "outcome_rate": 1, "burglary_outcome_rate": 1, "answered_10s": 1, "mean_answer": 0,
          "median_days": 1, "p90_answer": 0, "officers": 0, "minority_share": 1,
          "stop_disproportionality": 1, "crimes_per_1000": 1, "harm": 1,
          "outcomes_per_crime": 1}


def expected_percent(current: float, previous: float) -> float | None:
    """docs/catalogue.md, Status: a % change exists only from a base above zero."""
    return (current - previous) / previous * 100 if previous > 0 else None


def expected_status(current: float, previous: float, *, points: bool, places: int,
                    better: str, band: float = 0.0) -> str:
    """docs/catalogue.md's rule, written out here: the size is the change in percentage points
    for percentages and the absolute change for ratios (`points`), else the % change where
    one exists (a base above zero), else the absolute change, to which the band (a %) does
    not apply. Inside the band, or printing as zero (a % to one decimal, points or an
    absolute change to the KPI's places), is stable; else the sign of the size decides."""
    diff = current - previous
    percent = expected_percent(current, previous)
    if points:
        size, digits = diff, places
    elif percent is not None:
        size, digits = percent, 1
    else:
        size, digits, band = diff, places, -1.0
    if abs(size) <= band or (math.isfinite(size) and excel_round(size, digits) == 0):
        return "stable"
    if better == "neutral":
        return "changed"
    return "improving" if (size > 0) == (better == "higher") else "deteriorating"


CASES = [(kpi_id, vs) for kpi_id in ORACLE_SQL for vs in ("baseline", "yoy", "previous", "fytd")]


@pytest.fixture(scope="module")
def reports(generated):
    project, _ = generated
    return {vs.value: engine.evaluate(project, Month.parse(PERIOD), vs) for vs in Comparison}


@pytest.mark.parametrize(("kpi_id", "vs"), CASES, ids=[f"{k}-{v}" for k, v in CASES])
def test_engine_matches_sql_oracle(reports, oracle, kpi_id, vs):
    result = reports[vs].result(kpi_id)
    assert result.kpi.kind.value == KIND_OF[kpi_id]
    current_window, comparison_window = _windows(kpi_id, vs)
    assert (str(result.current.window.start), str(result.current.window.end)) == current_window
    assert (str(result.comparison.window.start),
            str(result.comparison.window.end)) == comparison_window

    current = oracle_value(oracle, kpi_id, current_window)
    previous = oracle_value(oracle, kpi_id, comparison_window)
    assert result.current.value == pytest.approx(current, rel=1e-9)
    assert result.comparison.value == pytest.approx(previous, rel=1e-9)

    change = result.change
    if kpi_id in PERCENT_KPIS:
        assert change.points == pytest.approx(current - previous, rel=1e-9)
        assert change.absolute is None and change.percent is None
    elif kpi_id == "stop_disproportionality":
        assert change.absolute == pytest.approx(current - previous, rel=1e-9)
        assert change.percent is None and change.points is None
    else:
        assert change.absolute == pytest.approx(current - previous, rel=1e-9, abs=1e-9)
        percent = expected_percent(current, previous)
        assert change.percent == (None if percent is None else pytest.approx(percent, rel=1e-9))
        assert change.points is None
    assert result.status == expected_status(
        current, previous, points=kpi_id in PERCENT_KPIS or kpi_id == "stop_disproportionality",
        places=PLACES[kpi_id], better="lower" if kpi_id in LOWER_IS_BETTER else "higher",
        band=STABLE_BANDS.get(kpi_id, 0.0))
    assert result.note is None


# ---------------------------------------------------------------------------------------------
# Sums of signed amounts: bases below zero, at zero and above it, so the status rule's every
# branch is met (a % change only from a base above zero; else the sign of the absolute change,
# stable when it prints as zero at the KPI's places, with no band).

SIGNED_MONTHS = [f"{2023 + (m + 2) // 12}-{(m + 2) % 12 + 1:02d}" for m in range(31)]  # to 2025-09


def _signed_ledger(rng: random.Random) -> tuple[str, list[tuple[str, str, str]]]:
    """A kpi.toml of sum KPIs, one per account, and ledger rows (day, account, amount in
    pence written as text). An account draws amounts around a mean below, at or above zero;
    one cancels out every month but the last (a base of exactly zero before it), by a small
    amount or none (a change that may print as zero at its places)."""
    toml = ['[project]\nname = "Ledger"\nbaseline = "2024-03"\n\n[datasets.ledger]\n'
            'date = "day"\n[datasets.ledger.columns]\nday = "date"\naccount = "str"\n'
            'amount = "float"\n\n[[priorities]]\nid = "p"\ntitle = "P"\n']
    rows: list[tuple[str, str, str]] = []
    accounts = {}
    for i in range(24):
        account = f"a{i}"
        shape = ("cancels", "mean")[i % 2] if i % 3 else "drift"
        better = rng.choice(["lower", "higher", "neutral"])
        places = rng.choice([0, 1, 2, 3])
        band = rng.choice([0.0, 0.0, 2.5, 50.0])
        accounts[account] = (better, places, band)
        toml.append(f'\n[[kpis]]\nid = "{account}"\ntitle = "Account {i}"\npriority = "p"\n'
                    f'kind = "sum"\ndataset = "ledger"\nvalue = "amount"\n'
                    f"filter = \"account = '{account}'\"\nunit = \"gbp\"\n"
                    f'better = "{better}"\ndecimals = {places}\nstable_band = {band}\n')
        mean = rng.choice([-4000, -300, -2, 0, 0, 2, 300, 4000])
        step = rng.choice([-200, -5, 0, 5, 200])
        last = rng.choice([0, 1, -1, 4, -4, 50, -50, 1000, -1000])  # the last month, in pence
        for m, month in enumerate(SIGNED_MONTHS):
            day = f"{month}-{rng.randint(1, 28):02d}"
            if shape == "cancels":  # pairs that add to zero; the last month keeps its rest
                for _ in range(rng.randint(0, 3)):
                    pence = rng.randint(1, 90_000)
                    rows += [(day, account, f"{pence / 100:.2f}"),
                             (day, account, f"{-pence / 100:.2f}")]
                if m == len(SIGNED_MONTHS) - 1 and last:
                    rows.append((day, account, f"{last / 100:.2f}"))
                continue
            centre = mean + (step * m if shape == "drift" else 0)
            for _ in range(rng.randint(0, 4)):
                pence = round(rng.gauss(centre, 3 * abs(centre) + 50))
                rows.append((day, account, f"{pence / 100:.2f}"))
    for month in SIGNED_MONTHS:  # every month holds rows, so every window is complete
        rows.append((f"{month}-01", "other", "1.00"))
    return "".join(toml), rows


@pytest.fixture(scope="module", params=[1, 2, 3])
def signed(request, tmp_path_factory):
    import polars as pl

    from kpi.catalogue import load_project
    from kpi.ingest import load

    folder = tmp_path_factory.mktemp(f"signed{request.param}")
    toml, rows = _signed_ledger(random.Random(request.param))
    (folder / "kpi.toml").write_text(toml, encoding="utf-8")
    pl.DataFrame(rows, schema=["day", "account", "amount"], orient="row").write_csv(
        folder / "ledger.csv")
    project = load_project(folder)
    load(project, "ledger", [str(folder / "ledger.csv")])
    db = duckdb.connect()
    # The amounts as exact decimals: a base of zero is zero, not a float's remainder. Read
    # into a table once, not parsed again by each of the 48 queries of a test.
    db.execute(f"""CREATE TABLE ledger AS SELECT day::DATE AS day, account,
                   amount::DECIMAL(18, 2) AS amount
                   FROM read_csv('{folder / "ledger.csv"}', all_varchar = true)""")
    accounts = {}
    for line in toml.split("[[kpis]]")[1:]:
        fields = dict(part.split(" = ", 1) for part in line.strip().splitlines())
        accounts[fields["id"].strip('"')] = (fields["better"].strip('"'), int(fields["decimals"]),
                                             float(fields["stable_band"]))
    return project, db, accounts


@pytest.mark.parametrize("vs", ["baseline", "yoy", "previous", "fytd"])
def test_status_of_sums_from_negative_zero_and_positive_bases(signed, vs):
    project, db, accounts = signed
    report = engine.evaluate(project, Month.parse(PERIOD), Comparison(vs))
    (first, last), (base_first, base_last) = FLOW_WINDOWS[vs]
    bases = set()
    for account, (better, places, band) in accounts.items():
        result = report.result(account)
        got = []
        for lo, hi in ((first, last), (base_first, base_last)):
            got.append(float(db.execute(
                "SELECT coalesce(sum(amount), 0) FROM ledger WHERE account = ? AND "
                "strftime(day, '%Y-%m') BETWEEN ? AND ?", [account, lo, hi]).fetchone()[0]))
        current, previous = got
        bases.add((previous > 0) - (previous < 0))
        assert result.current.value == pytest.approx(current, rel=1e-9, abs=1e-9), account
        assert result.comparison.value == pytest.approx(previous, rel=1e-9, abs=1e-9), account
        assert result.change.absolute == pytest.approx(current - previous, rel=1e-9, abs=1e-9)
        percent = expected_percent(current, previous)
        assert result.change.percent == (None if percent is None
                                         else pytest.approx(percent, rel=1e-9)), account
        assert result.status == expected_status(current, previous, points=False, places=places,
                                                better=better, band=band), \
            (account, current, previous, places, band)
    assert bases == {-1, 0, 1}  # every branch of the rule is met


def test_rates_carry_the_counts_behind_them(reports, oracle):
    result = reports["baseline"].result("burglary_outcome_rate")
    first, last = YE_CURRENT
    num, den = oracle.execute(
        "SELECT count(*) FILTER (outcome = 'OC1'), count(*) FILTER (outcome IS NOT NULL) "
        "FROM crimes WHERE offence = 'burglary' AND strftime(day, '%Y-%m') BETWEEN ? AND ?",
        [first, last]).fetchone()
    assert (result.current.numerator, result.current.denominator) == (num, den)
    assert den > 0


def test_rate_of_two_kpis_reports_both_values(reports, oracle):
    result = reports["yoy"].result("outcomes_per_crime")
    outcomes = oracle.execute(
        f"SELECT count(*) FROM outcomes WHERE code IN {POSITIVE} AND "
        "strftime(day, '%Y-%m') BETWEEN '2024-10' AND '2025-09'").fetchone()[0]
    assert result.current.numerator == outcomes
    assert result.current.denominator == oracle_value(oracle, "crimes", YE_CURRENT)


def test_polars_and_duckdb_agree_on_interpolated_quantiles():
    """The oracle is only independent if both use the same definition: linear interpolation
    between closest ranks, position (n - 1) * q, and the mean of the middle two for a median."""
    import polars as pl

    values = [1.0, 2.0, 3.0, 4.0, 10.0, 11.0]
    frame = pl.DataFrame({"x": values})
    got = frame.select(pl.col("x").median().alias("m"),
                       pl.col("x").quantile(0.37, "linear").alias("q")).row(0)
    want = duckdb.connect().execute("SELECT median(x), quantile_cont(x, 0.37) FROM "
                      "(SELECT unnest([1.0, 2.0, 3.0, 4.0, 10.0, 11.0])::DOUBLE AS x)").fetchone()
    assert got == pytest.approx(want)
    assert want == pytest.approx((3.5, 2.85))


def test_in_development_kpi_has_no_values(reports):
    result = reports["baseline"].result("satisfaction")
    assert result.status == "in_development"
    assert result.current is None and result.comparison is None and result.change is None


def test_hidden_kpis_are_left_out_unless_asked_for(reports):
    assert reports["baseline"].result("outcomes_recorded") is None


def test_each_dataset_is_scanned_once(generated, monkeypatch):
    """All KPIs of a dataset, over all their windows, come from one lazy query."""
    project, _ = generated
    scans: list[str] = []
    real_scan = store.scan

    def counting_scan(project, dataset_id, as_of=None):
        scans.append(dataset_id)
        return real_scan(project, dataset_id, as_of)

    monkeypatch.setattr(store, "scan", counting_scan)
    engine.evaluate(project, Month.parse(PERIOD), Comparison.YOY)
    assert sorted(scans) == ["calls", "crimes", "outcomes", "stops", "workforce"]


def test_monthly_series_rolling_year_equals_year_ending_value(generated, reports):
    project = generated[0]
    series = ref.monthly_series(project, project.kpi("crimes"), Month.parse(PERIOD), 24)
    assert series.height == 24
    assert series["month"][-1] == PERIOD
    assert series["rolling_12"][-1] == reports["baseline"].result("crimes").current.value
    assert series["value"].sum() == reports["baseline"].result("crimes").current.value + \
        engine.evaluate(project, Month.parse("2024-09"), Comparison.BASELINE,
                        [project.kpi("crimes")]).result("crimes").current.value


# ---------------------------------------------------------------------------------------------
# Hand-computed values on the tiny fixture project (its kpi.toml describes the data)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from fixtures.generated import tiny_project

    return tiny_project(tmp_path_factory.mktemp("tiny"))


def _tiny(tiny, vs: str = "baseline", period: str = PERIOD):
    return engine.evaluate(tiny, Month.parse(period), Comparison(vs))


def test_hand_computed_count_and_rate(tiny):
    report = _tiny(tiny)
    incidents = report.result("incidents")
    # Baseline year: 3 incidents a month; since April 2024: 2 a month.
    assert (incidents.comparison.value, incidents.current.value) == (36, 24)
    assert incidents.change.absolute == -12
    assert incidents.change.percent == pytest.approx(-100 / 3)
    assert incidents.status == "improving"
    within = report.result("within_15")
    # One incident a month took 10 minutes: 12 of 36, then 12 of 24.
    assert within.comparison.value == pytest.approx(100 / 3)
    assert within.current.value == 50.0
    assert within.change.points == pytest.approx(50 - 100 / 3)
    assert (within.current.numerator, within.current.denominator) == (12, 24)
    assert within.status == "improving"


def test_zero_base_gives_no_percent_and_status_by_sign(tiny):
    fraud = _tiny(tiny).result("fraud")
    assert (fraud.comparison.value, fraud.current.value) == (0, 12)
    assert fraud.change.absolute == 12
    assert fraud.change.percent is None
    assert fraud.status == "deteriorating"  # lower is better, and it rose from nothing


def test_division_by_zero_is_null_never_inf(tiny):
    rate = _tiny(tiny).result("fraud_quick")
    assert rate.comparison.value is None  # no fraud at all in the baseline year: 0 / 0
    assert (rate.comparison.numerator, rate.comparison.denominator) == (0, 0)
    assert rate.current.value == 0.0
    assert rate.change is None
    assert rate.status == "no_data"
    assert "zero base" in rate.note


def test_neutral_kpi_that_moved_is_changed_and_one_that_did_not_is_stable(tiny):
    assert _tiny(tiny).result("thefts").status == "changed"  # 24 -> 12, better = neutral
    assert _tiny(tiny, "previous").result("thefts").status == "stable"  # 12 -> 12


def test_snapshot_compares_as_at_months(tiny):
    base = _tiny(tiny).result("officers")
    assert (base.comparison.window.label, base.current.window.label) == (
        "April 2024", "September 2025")
    assert (base.comparison.value, base.current.value, base.status) == (10, 10, "stable")
    yoy = _tiny(tiny, "yoy").result("officers")
    assert yoy.comparison.value == 8  # September 2024 had 8 officers
    assert (yoy.change.absolute, yoy.change.percent, yoy.status) == (2, 25.0, "improving")


def test_window_with_a_missing_month_is_no_data_with_a_note(tiny):
    calls = _tiny(tiny).result("calls")
    assert calls.status == "no_data"
    assert calls.current is None and calls.change is None
    assert calls.note == "year ending September 2025 is incomplete: no data for 2025-06"


def test_comparison_window_with_missing_months_keeps_the_current_value(tiny):
    # Year ending May 2024 is complete; the year before it starts before the data does.
    result = _tiny(tiny, "yoy", "2024-05").result("incidents")
    assert result.current.value == 10 * 3 + 2 * 2
    assert result.comparison is None and result.status == "no_data"
    assert result.note == ("comparison year ending May 2023 is incomplete: no data for "
                           "2022-06, 2022-07, 2022-08 ...")


def test_lagged_kpi_names_its_own_window(tiny):
    days = _tiny(tiny).result("days_to_finalise")
    assert days.current.window.label == "year ending June 2025"
    assert (str(days.current.window.start), str(days.current.window.end)) == (
        "2024-07", "2025-06")
    assert (days.comparison.value, days.current.value) == (120, 100)
    assert days.change.percent == pytest.approx(-50 / 3)
    yoy = _tiny(tiny, "yoy").result("days_to_finalise")
    # July 2023 .. June 2024: nine months of 100/140 and three of 80/120 -> (100 + 120) / 2.
    assert yoy.comparison.value == 110


def test_period_before_any_data_is_no_data(tiny):
    result = _tiny(tiny, period="2022-01").result("incidents")
    assert result.status == "no_data"
    assert result.note == "no data on or before 2022-01"


def test_year_before_the_data_starts_is_incomplete(tiny):
    result = _tiny(tiny, period="2023-12").result("incidents")
    assert result.status == "no_data"
    assert result.note == ("year ending December 2023 is incomplete: no data for "
                           "2023-01, 2023-02, 2023-03")


def test_weighted_score_joins_numeric_offence_codes(tmp_path):
    """Weights files are text; a dataset whose offence code is a number must still match."""
    from kpi.catalogue import load_project
    from kpi.ingest import load

    (tmp_path / "kpi.toml").write_text("""\
[datasets.c]
date = "day"
[datasets.c.columns]
day = "date"
code = "int"
[[priorities]]
id = "p"
title = "P"
[[kpis]]
id = "harm"
title = "Harm"
priority = "p"
kind = "weighted_score"
dataset = "c"
weights = "weights.csv"
weight_key = "code"
""", encoding="utf-8")
    (tmp_path / "weights.csv").write_text("code,days\n1,10\n2,20.5\n", encoding="utf-8")
    months = [f"{2023 + (3 + i) // 12}-{(3 + i) % 12 + 1:02d}" for i in range(30)]
    # Each month: codes 1, 2 and 3 (no weight, so 0) -> 30.5 a month, 366 a year.
    rows = "".join(f"{m}-0{d},{d}\n" for m in months for d in (1, 2, 3))
    (tmp_path / "c.csv").write_text("day,code\n" + rows, encoding="utf-8")
    project = load_project(tmp_path)
    load(project, "c", [str(tmp_path / "c.csv")])
    result = engine.evaluate(project, Month.parse(PERIOD)).result("harm")
    assert (result.comparison.value, result.current.value) == (366.0, 366.0)


# ---------------------------------------------------------------------------------------------
# Changes and status, by hand


def _kpi(unit: str = "count", better: str = "lower", band: float = 0.0):
    from kpi.catalogue import Better, Kind, KpiDef, Unit

    kind = {"percent": Kind.RATE, "ratio": Kind.RATIO_OF_RATES}.get(unit, Kind.COUNT)
    return KpiDef(id="k", title="K", priority="p", kind=kind, unit=Unit(unit),
                  better=Better(better), stable_band=band)


@pytest.mark.parametrize(("unit", "before", "after", "expected"), [
    ("count", 26405, 26613, (208, pytest.approx(0.78773), None)),
    ("percent", 6.7, 13.5, (None, None, pytest.approx(6.8))),
    ("ratio", 3.5, 2.5, (-1.0, None, None)),
    ("seconds", 744, 620, (-124, pytest.approx(-16.6667, rel=1e-4), None)),
    ("count", 0, 12, (12, None, None)),
])
def test_change_kinds(unit, before, after, expected):
    change = engine.change_between(_kpi(unit), after, before)
    assert (change.absolute, change.percent, change.points) == expected


@pytest.mark.parametrize(("unit", "better", "band", "before", "after", "status"), [
    ("count", "lower", 0.0, 26405, 26613, "deteriorating"),      # +0.8%
    ("count", "lower", 1.0, 26405, 26613, "stable"),             # +0.8% inside a 1% band
    ("count", "higher", 1.0, 100, 101, "stable"),                # +1.0%: the band is inclusive
    ("count", "higher", 1.0, 100, 102, "improving"),
    ("count", "higher", 0.0, 10000, 10004, "stable"),            # +0.04% shows as 0.0%
    ("count", "neutral", 0.0, 100, 90, "changed"),
    ("count", "neutral", 15.0, 100, 90, "stable"),
    ("percent", "higher", 0.5, 50.0, 50.4, "stable"),            # band in percentage points
    ("percent", "higher", 0.5, 50.0, 49.0, "deteriorating"),
    ("ratio", "lower", 0.1, 3.0, 3.05, "stable"),                # band in absolute units
    ("ratio", "lower", 0.1, 3.0, 2.5, "improving"),
    ("count", "lower", 50.0, 0, 3, "deteriorating"),             # from zero: by sign, no band
    ("count", "higher", 0.0, 0, 0, "stable"),
])
def test_status_is_direction_aware_with_a_stable_band(unit, better, band, before, after,
                                                      status):
    kpi = _kpi(unit, better, band)
    assert engine.status_of(kpi, engine.change_between(kpi, after, before)) == status


def test_no_change_without_both_values():
    assert engine.change_between(_kpi(), None, 3) is None
    assert engine.change_between(_kpi(), 3, None) is None


# February 2025: the financial year to date crosses a new calendar year, and knife crime's lag
# puts its window in November 2024.
FEBRUARY = {
    "fytd": {"flow": (("2024-04", "2025-02"), ("2023-04", "2024-02")),
             "lagged": (("2024-04", "2024-11"), ("2023-04", "2023-11")),
             "snapshot": (("2025-02",) * 2, ("2024-02",) * 2)},
    "previous": {"flow": (("2024-03", "2025-02"), ("2024-02", "2025-01")),
                 "lagged": (("2023-12", "2024-11"), ("2023-11", "2024-10")),
                 "snapshot": (("2025-02",) * 2, ("2025-01",) * 2)},
}
FEBRUARY_CASES = [(k, vs) for k in ORACLE_SQL for vs in FEBRUARY]


@pytest.fixture(scope="module")
def february(generated):
    project, _ = generated
    return {vs: engine.evaluate(project, Month.parse("2025-02"), Comparison(vs))
            for vs in FEBRUARY}


@pytest.mark.parametrize(("kpi_id", "vs"), FEBRUARY_CASES,
                         ids=[f"{k}-{v}" for k, v in FEBRUARY_CASES])
def test_engine_matches_sql_oracle_across_a_new_year(february, oracle, kpi_id, vs):
    shape = ("lagged" if kpi_id == "knife_crime" else
             "snapshot" if kpi_id in ("officers", "minority_share") else "flow")
    current_window, comparison_window = FEBRUARY[vs][shape]
    result = february[vs].result(kpi_id)
    assert (str(result.current.window.start), str(result.current.window.end)) == current_window
    assert (str(result.comparison.window.start),
            str(result.comparison.window.end)) == comparison_window
    assert result.current.value == pytest.approx(oracle_value(oracle, kpi_id, current_window),
                                                 rel=1e-9)
    assert result.comparison.value == pytest.approx(
        oracle_value(oracle, kpi_id, comparison_window), rel=1e-9)


def test_fytd_labels_across_a_new_year(february):
    crimes = february["fytd"].result("crimes")
    assert crimes.current.window.label == (
        "April 2024 to February 2025 (financial year 2024/25 to date)")
    assert crimes.comparison.window.label == (
        "April 2023 to February 2024 (financial year 2023/24 to date)")
    knife = february["fytd"].result("knife_crime")
    assert knife.current.window.label == (
        "April to November 2024 (financial year 2024/25 to date)")


# ---------------------------------------------------------------------------------------------
# Durations: KPIs over the difference of two datetimes, as `kpi summary --format json` prints
# them, against DuckDB over the instants themselves (TIMESTAMPTZ), with each row's month taken
# from the UK wall-clock time of its start by zoneinfo, not by kpi.ingest. A project's extract
# writes its times in UK time, or in the zone its two datetime columns declare (`time_zone`, New
# York's or UTC); the months are the UK's whatever the zone.

UK = ZoneInfo("Europe/London")
DURATION_SEEDS = [int(os.environ["KPI_ORACLE_SEED"]) + n for n in range(3)] \
    if os.environ.get("KPI_ORACLE_SEED") else [1, 2, 3]
# The row forms a project may draw. "dst" (an incident open across a change of the UK clocks,
# docs/guarantees.md, "The differential oracle") is drawn unless KPI_ORACLE_AVOID names it.
DURATION_FORMS = ("plain", "open", "backwards", "month_end", "dst")
NEW_YORK = ZoneInfo("America/New_York")
# The zones a project's extract writes its times in: the UK's (none declared), New York's
# (declared on the dataset) and UTC (declared on each of the two columns).
DURATION_ZONES = (None, "America/New_York", "UTC")


def _clock_changes() -> list[datetime]:
    """The instants the UK clocks changed in 2023-2025: 01:00 UTC on the last Sunday of March
    and of October."""
    out = []
    for year in (2023, 2024, 2025):
        for mon in (3, 10):
            last = datetime(year, mon, 31, 1, tzinfo=UTC)
            out.append(last - timedelta(days=(last.weekday() + 1) % 7))
    return out


def _new_york_clock_changes() -> list[datetime]:
    """The instants New York's clocks changed in 2023-2025: 02:00 local on the second Sunday of
    March (07:00 UTC) and the first Sunday of November (06:00 UTC)."""
    out = []
    for year in (2023, 2024, 2025):
        for mon, nth, hour in ((3, 2, 7), (11, 1, 6)):
            first = datetime(year, mon, 1, hour, tzinfo=UTC)
            out.append(first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (nth - 1)))
    return out


def _instant_text(at: datetime, rnd: random.Random, zone: ZoneInfo = UK) -> str:
    """An instant as an extract writes it: the zone's wall-clock time without an offset (only
    where that names one instant), or with a UTC offset, +00:00 or the zone's own."""
    local = at.astimezone(zone)
    naive = local.replace(tzinfo=None, fold=0)  # the second 01:30 of October has fold 1
    unique = naive.replace(tzinfo=zone).astimezone(UTC) == at.astimezone(UTC) \
        and naive.replace(tzinfo=zone, fold=1).astimezone(UTC) == at.astimezone(UTC)
    form = rnd.choice(["naive", "utc", "uk"]) if unique else rnd.choice(["utc", "uk"])
    if form == "naive":
        return naive.isoformat(sep=rnd.choice("T "), timespec="seconds")
    return (at.astimezone(UTC) if form == "utc" else local).isoformat(timespec="seconds")


def _duration_rows(rnd: random.Random, forms: list[str]) -> list[dict]:
    changes = _clock_changes()
    rows = []
    for year in (2023, 2024, 2025):
        for mon in range(1, 13):
            change = next((c for c in changes if (c.year, c.month) == (year, mon)), None)
            for _ in range(rnd.randint(2, 6)):
                form = rnd.choice([f for f in forms if f != "dst" or change])
                took: float | None = rnd.randint(30, 5400)
                if form == "dst" and change is not None:  # opened up to 100 minutes before
                    opened = change + timedelta(minutes=rnd.randint(-100, 40))
                if form == "month_end":
                    first = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=UK)
                    opened = (first - timedelta(minutes=rnd.randint(1, 90))).astimezone(UTC)
                elif form != "dst":
                    opened = datetime(year, mon, rnd.randint(1, 28), rnd.randint(7, 21),
                                      rnd.randint(0, 59), rnd.randint(0, 59),
                                      tzinfo=UK).astimezone(UTC)
                if form == "open":
                    took = None
                elif form == "backwards":
                    took = -rnd.randint(1, 1800)
                closed = None if took is None else opened + timedelta(seconds=took)
                rows.append({"opened": opened, "closed": closed})
    return rows


def _zone_rows(rnd: random.Random) -> list[dict]:
    """The rows a project in a declared zone has besides the drawn ones: one open across each
    change of the New York clocks and of the UK's (opened up to 100 minutes before), and one
    opened in the first four hours of each UK month, still the previous month in New York (four
    or five hours behind)."""
    rows = []
    for change in _new_york_clock_changes() + _clock_changes():
        opened = change + timedelta(minutes=rnd.randint(-100, -1))
        rows.append({"opened": opened, "closed": change + timedelta(minutes=rnd.randint(1, 90))})
    for year in (2023, 2024, 2025):
        for mon in range(1, 13):
            opened = (datetime(year, mon, 1, tzinfo=UK)
                      + timedelta(minutes=rnd.randint(0, 239))).astimezone(UTC)
            rows.append({"opened": opened, "closed": opened + timedelta(
                seconds=rnd.choice([rnd.randint(30, 5400), -rnd.randint(1, 1800)]))})
    return rows


DURATION_TOML = """[project]
name = "Durations"
baseline = "2024-03"

[datasets.incidents]
date = "opened"
[datasets.incidents.columns]
ref = "str"
opened = { type = "datetime", from = ["Created"] }
closed = { type = "datetime", from = ["Attended"], required = false }

[[priorities]]
id = "p"
title = "Response"
"""
# id -> (catalogue keys, DuckDB over d, the seconds from start to end; {w} the window)
DURATION_KPIS = {
    "med": ('kind = "median"\nvalue = "closed - opened"\nunit = "seconds"',
            "SELECT median(d) FROM incidents WHERE {w}"),
    "p90": ('kind = "percentile"\npercentile = 90\nvalue = "closed - opened"\nunit = "seconds"',
            "SELECT quantile_cont(d, 0.9) FROM incidents WHERE {w}"),
    "mean_days": ('kind = "mean"\nvalue = "closed - opened"\nunit = "days"',
                  "SELECT avg(d) / 86400 FROM incidents WHERE {w}"),
    "total_days": ('kind = "sum"\nvalue = "closed - opened"\nunit = "days"',
                   "SELECT coalesce(sum(d), 0) / 86400 FROM incidents WHERE {w}"),
    "epoch_mean": ('kind = "mean"\nvalue = "DATE_PART(\'epoch\', closed) - '
                   'DATE_PART(\'epoch\', opened)"\nunit = "seconds"',
                   "SELECT avg(d) FROM incidents WHERE {w}"),
    "within_hour": ('kind = "within"\nvalue = "DATE_PART(\'epoch\', closed) - '
                    'DATE_PART(\'epoch\', opened)"\nthreshold = 3600\nbetter = "higher"',
                    "SELECT 100.0 * count(*) FILTER (d <= 3600) / nullif(count(d), 0) "
                    "FROM incidents WHERE {w}"),
    "fast": ('kind = "count"\nfilter = "closed - opened <= INTERVAL \'15 minutes\'"',
             "SELECT count(*) FILTER (d <= 900) FROM incidents WHERE {w}"),
    "late_rate": ('kind = "rate"\nnumerator = "DATE_PART(\'epoch\', closed) - '
                  'DATE_PART(\'epoch\', opened) > 3600"\nfilter = "closed IS NOT NULL"',
                  "SELECT 100.0 * count(*) FILTER (d > 3600) / nullif(count(d), 0) "
                  "FROM incidents WHERE {w}"),
    # a hidden KPI is left out of the summary; one in development has no figures
    "hidden_count": ('kind = "count"\nhidden = true', None),
    "planned": ('kind = "median"\nvalue = "closed - opened"\nunit = "seconds"\n'
                'status = "in_development"', None),
}
# the components JSON carries beside a value ("numerator", "denominator"), in DuckDB
DURATION_COMPONENTS = {
    "med": (None, "count(d)"), "p90": (None, "count(d)"),
    "mean_days": ("sum(d) / 86400", "count(d)"), "epoch_mean": ("sum(d)", "count(d)"),
    "within_hour": ("count(*) FILTER (d <= 3600)", "count(d)"),
    "late_rate": ("count(*) FILTER (d > 3600)", "count(d)"),
}
DURATION_WINDOWS = {  # period 2025-12
    "baseline": (("2025-01", "2025-12"), ("2023-04", "2024-03")),
    "yoy": (("2025-01", "2025-12"), ("2024-01", "2024-12")),
    "previous": (("2025-01", "2025-12"), ("2024-12", "2025-11")),
    "fytd": (("2025-04", "2025-12"), ("2024-04", "2024-12")),
}


def _duration_project(folder, seed: int, avoid: frozenset[str],
                      zone: str | None = None) -> list[dict]:
    """Writes the project and its extract; returns its rows, each with its UK month."""
    rnd = random.Random(seed)
    forms = [f for f in DURATION_FORMS if f not in avoid]
    rows = _duration_rows(rnd, forms) + (_zone_rows(rnd) if zone is not None else [])
    for r in rows:
        uk = r["opened"].astimezone(UK)
        r["month"] = (uk.year, uk.month)
    toml = DURATION_TOML
    if zone == "UTC":  # declared on each column
        toml = toml.replace('required = false }', 'required = false, time_zone = "UTC" }') \
            .replace('["Created"] }', '["Created"], time_zone = "UTC" }')
    elif zone is not None:  # declared on the dataset
        toml = toml.replace('date = "opened"\n', f'date = "opened"\ntime_zone = "{zone}"\n')
    assert (zone is None) == ("time_zone" not in toml)
    written = UK if zone is None else ZoneInfo(zone)
    for kpi_id, (keys, _) in DURATION_KPIS.items():
        better = "" if "better" in keys else '\nbetter = "lower"'
        toml += (f'\n[[kpis]]\nid = "{kpi_id}"\ntitle = "KPI {kpi_id}"\npriority = "p"\n'
                 f'dataset = "incidents"\n{keys}{better}\n')
    (folder / "kpi.toml").write_text(toml, encoding="utf-8")
    lines = ["ref,Created,Attended"]
    for n, r in enumerate(rows):
        closed = "" if r["closed"] is None else _instant_text(r["closed"], rnd, written)
        lines.append(f"R{n},{_instant_text(r['opened'], rnd, written)},{closed}")
    (folder / "incidents.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rows


@pytest.fixture(scope="module", params=[(seed, zone) for zone in DURATION_ZONES
                                        for seed in DURATION_SEEDS],
                ids=[f"{seed}-{zone or 'uk'}" for zone in DURATION_ZONES
                     for seed in DURATION_SEEDS])
def durations(request, tmp_path_factory):
    """A project of incidents with a start and an end: each month's rows drawn plainly, not
    yet attended (no end), attended before they were opened (a negative time), open across
    the end of a month, and (when not avoided) across a change of the UK clocks; its
    extract's times written with and without a UTC offset, in UK time or in the zone its
    columns declare (then with rows across each change of the New York clocks and the UK's,
    and in the first hours of each UK month, the previous month in New York). kpi ingests
    it; DuckDB gets the instants."""
    import inprocess
    import pyarrow as pa
    from oracle_support import avoided

    folder = tmp_path_factory.mktemp("durations")
    seed, zone = request.param
    rows = _duration_project(folder, seed, avoided(), zone)
    if zone is not None:  # the rows a declared zone is drawn for are there, by zoneinfo
        for changes, clocks in ((_new_york_clock_changes(), NEW_YORK), (_clock_changes(), UK)):
            assert all(any(r["closed"] is not None and r["opened"] < at < r["closed"]
                           and r["opened"].astimezone(clocks).utcoffset()
                           != r["closed"].astimezone(clocks).utcoffset() for r in rows)
                       for at in changes)
        new_york = {r["month"] for r in rows
                    if (r["opened"].astimezone(NEW_YORK).year,
                        r["opened"].astimezone(NEW_YORK).month) != r["month"]}
        assert len(new_york) == 36
    done = inprocess.run(["ingest", "incidents", "incidents.csv"], cwd=folder)
    assert done.returncode == 0, done.stderr
    db = duckdb.connect()
    frame = pa.table({  # noqa: F841
        "month": [f"{y}-{m:02d}" for y, m in (r["month"] for r in rows)],
        "opened": pa.array([r["opened"] for r in rows], pa.timestamp("us", "UTC")),
        "closed": pa.array([r["closed"] for r in rows], pa.timestamp("us", "UTC"))})
    db.execute("CREATE TABLE incidents AS SELECT month, epoch(closed) - epoch(opened) AS d "
               "FROM frame")
    summaries = {}
    for vs in DURATION_WINDOWS:
        done = inprocess.run(["summary", "--period", "2025-12", "--vs", vs, "--format", "json"],
                             cwd=folder)
        assert done.returncode == 0, done.stderr
        summaries[vs] = {k["id"]: k for k in json.loads(done.stdout)["kpis"]}
    done = inprocess.run(["summary", "--period", "2025-12", "--vs", "yoy", "--format",
                          "markdown"], cwd=folder)
    assert done.returncode == 0, done.stderr
    table = {cells[0]: cells[1:] for line in done.stdout.splitlines()
             if line.startswith("| KPI ") and (cells := [c.strip() for c in line.split("|")[1:]])}
    done = inprocess.run(["export", "markdown", "--period", "2025-12", "--vs", "yoy",
                          "--output", "out/paper.md"], cwd=folder)
    assert done.returncode == 0, done.stderr
    paper = {"text": (folder / "out" / "paper.md").read_text(encoding="utf-8"),
             "figures": json.loads((folder / "out" / "paper.figures.json").read_text(
                 encoding="utf-8"))["figures"]}
    return db, summaries, table, paper


def _duration_oracle(db, sql: str, window: tuple[str, str]) -> float | None:
    got = db.execute(sql.replace("{w}", "month BETWEEN ? AND ?"), list(window)).fetchone()[0]
    return None if got is None else float(got)


@pytest.mark.parametrize("vs", list(DURATION_WINDOWS))
def test_durations_match_the_instants_in_duckdb(durations, vs):
    """Each duration KPI's two windows, their components and the status, against DuckDB over
    the elapsed seconds between the two instants (a blank end left out, a negative time
    kept); a hidden KPI is not in the summary and one in development has no figure."""
    db, summaries, _, _ = durations
    got = summaries[vs]
    assert "hidden_count" not in got
    assert got["planned"]["status"] == "in_development"
    assert got["planned"]["current"] is None and got["planned"]["comparison"] is None
    for kpi_id, (_, sql) in DURATION_KPIS.items():
        if sql is None:
            continue
        k = got[kpi_id]
        values = []
        for role, window in zip(("current", "comparison"), DURATION_WINDOWS[vs], strict=True):
            figure = k[role]
            assert (figure["start"], figure["end"]) == window, (kpi_id, role, figure)
            want = _duration_oracle(db, sql, window)
            assert figure["value"] == pytest.approx(want, rel=1e-9, abs=1e-9), \
                (kpi_id, vs, role, figure, want)
            for part, expression in zip(("numerator", "denominator"),
                                        DURATION_COMPONENTS.get(kpi_id, (None, None)),
                                        strict=True):
                if expression is not None:
                    want = _duration_oracle(db, f"SELECT {expression} FROM incidents "
                                                "WHERE {w}", window)
                    assert figure[part] == pytest.approx(want, rel=1e-9, abs=1e-9), \
                        (kpi_id, vs, role, part, figure)
            values.append(figure["value"])
        spec = Kpi(kpi_id, DURATION_KPIS[kpi_id][0].split('"')[1], "incidents",
                   better="higher" if "higher" in DURATION_KPIS[kpi_id][0] else "lower")
        assert k["status"] == status_of(spec, values[0], values[1]), (kpi_id, vs, values)


def _clock(seconds: float) -> str:
    """docs/catalogue.md: a duration in seconds shown as m:ss, or h:mm:ss from an hour, to the
    second (rounded as Excel rounds, oracle_support.excel_round)."""
    whole = int(excel_round(seconds, 0))
    hours, rest = divmod(abs(whole), 3600)
    minutes, secs = divmod(rest, 60)
    text_ = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return ("-" if whole < 0 else "") + text_


def test_durations_print_as_the_clock_reads_them(durations):
    """The Markdown summary's two figures of each duration KPI in seconds, as m:ss or h:mm:ss
    of the value DuckDB gives (the comparison first); in days, to the decimals the catalogue
    gives (one for a mean, none for a sum), or as many more as it takes for the two to read
    apart where their change reads as one (tests/test_faces.py::beside states the rule)."""
    from test_faces import beside

    db, _, table, _ = durations
    current, comparison = DURATION_WINDOWS["yoy"]
    for kpi_id, places in (("med", None), ("p90", None), ("epoch_mean", None),
                           ("mean_days", 1), ("total_days", 0)):
        sql = DURATION_KPIS[kpi_id][1]
        want = [_duration_oracle(db, sql, w) for w in (comparison, current)]
        # A figure printed as one day is singular (docs/board-paper.md: "1 day", "0 days").
        texts = [str(excel_round(v, beside(v, None, places, other, "days", role)))
                 for v, other, role in zip(want, want[::-1], ("comparison", "current"),
                                           strict=True)] \
            if places is not None else []
        shown = [_clock(v) for v in want] if places is None else \
            [f"{t} {'day' if t == '1' else 'days'}" for t in texts]
        assert table[f"KPI {kpi_id}"][:2] == shown, (kpi_id, want)


def _spoken(seconds: float) -> str:
    """A duration as the paper's prose says it, to the second: '1 hour, 22 minutes and 5
    seconds', '13 minutes and 53 seconds' (a part of 0 left out)."""
    whole = abs(int(excel_round(seconds, 0)))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    said = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in
            ((hours, "hour"), (minutes, "minute"), (secs, "second")) if n]
    return said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]


def test_durations_in_the_paper(durations):
    """The board paper (`kpi export markdown`): its figures file carries each duration KPI's
    two values as DuckDB gives them, shown as m:ss or h:mm:ss, and the KPI's paragraph says
    both in words; the hidden KPI is nowhere in it, the one in development is said to be."""
    db, _, _, paper = durations
    words = paper["text"].replace("\\", "")
    assert "hidden_count" not in words
    assert re.search(r"\*\*KPI planned\.\*\* This KPI is in development", words)
    windows = dict(zip(("current", "comparison"), DURATION_WINDOWS["yoy"], strict=True))
    checked = 0
    for figure in paper["figures"]:
        if figure["kpi"] not in ("med", "p90", "epoch_mean"):
            continue
        want = _duration_oracle(db, DURATION_KPIS[figure["kpi"]][1], windows[figure["role"]])
        assert figure["value"] == pytest.approx(want, rel=1e-9, abs=1e-9), figure
        assert figure["shown"] == _clock(want), (figure, want)
        paragraph = re.search(rf"\*\*KPI {figure['kpi']}\.\*\* (.*)", words)
        assert paragraph is not None and _spoken(want) in paragraph.group(1), (
            figure, _spoken(want), paragraph and paragraph.group(1))
        checked += 1
    assert checked == 6
