"""Signal or noise for every KPI (kpi.verdicts, kpi.stats): trial limits, declared baselines
and recalculations, the variation verdict, assurance against a target on hand-worked series,
the catalogue keys, false alarms on pure Poisson noise, and the verdicts on the bundled sample
in summary's JSON, CSV and table."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import numpy as np
import pytest
import reference_engine as ref
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi import stats, verdicts
from kpi.catalogue import Better, Kind, KpiDef, RateTest, Unit
from kpi.engine import KpiResult, Measured, change_between, status_of
from kpi.periods import Month, Window

BASE = [10.0, 12.0] * 6  # mean 11, moving ranges 2: limits 5.68 to 16.32


def months(n: int, first: str = "2023-10") -> list[str]:
    return [str(Month.parse(first) + i) for i in range(n)]


# ---------------------------------------------------------------------------------------------
# Variation: the latest month


@pytest.mark.parametrize(("tail", "better", "verdict", "rule"), [
    ([11.0, 12.0, 10.0], Better.LOWER, stats.COMMON_CAUSE, None),
    ([11.0, 20.0], Better.LOWER, stats.SPECIAL_CONCERN, "limits"),
    ([11.0, 20.0], Better.HIGHER, stats.SPECIAL_IMPROVEMENT, "limits"),
    ([11.0, 20.0], Better.NEUTRAL, stats.SPECIAL_HIGH, "limits"),
    ([11.0] + [12.5] * 7, Better.HIGHER, stats.SPECIAL_IMPROVEMENT, "shift"),
    ([8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0], Better.LOWER, stats.SPECIAL_CONCERN, "trend"),
    ([15.0, 12.0, 15.0], Better.LOWER, stats.SPECIAL_CONCERN, "two_in_three"),
    # A special cause earlier in the series, then ordinary months: common cause now.
    ([11.0, 20.0, 11.0, 10.0], Better.LOWER, stats.COMMON_CAUSE, None),
])
def test_variation_is_the_latest_month(tail, better, verdict, rule):
    values = BASE + tail
    got = stats.variation(stats.xmr(months(len(values)), values, better))
    assert (got.verdict, got.rule) == (verdict, rule)
    assert (got.mean, got.lower, got.upper) == pytest.approx((11, 5.68, 16.32))
    assert got.points == len(values) and got.trial is False
    assert got.baseline == ("2023-10", "2024-09")


def test_variation_of_a_missing_latest_month_is_the_last_month_with_a_value():
    values = [*BASE, 11.0, 20.0, None]
    got = stats.variation(stats.xmr(months(len(values)), values, Better.LOWER))
    assert got.verdict == stats.SPECIAL_CONCERN and got.points == 14


def test_no_limits_no_variation():
    assert stats.variation(stats.xmr(["2025-01"], [3.0], Better.LOWER)) is None


# ---------------------------------------------------------------------------------------------
# Assurance: the target against the process limits (5.68 to 16.32)


@pytest.mark.parametrize(("target", "better", "expected"), [
    (4.0, Better.HIGHER, stats.CONSISTENTLY_PASS),   # below the lower limit
    (18.0, Better.HIGHER, stats.CONSISTENTLY_FAIL),  # above the upper limit
    (11.0, Better.HIGHER, stats.HIT_AND_MISS),
    (18.0, Better.LOWER, stats.CONSISTENTLY_PASS),
    (4.0, Better.LOWER, stats.CONSISTENTLY_FAIL),
    (6.0, Better.LOWER, stats.HIT_AND_MISS),         # just inside the lower limit
    (11.0, Better.NEUTRAL, None),                    # no pass or fail without a direction
    (None, Better.LOWER, None),
])
def test_assurance_each_case(target, better, expected):
    chart = stats.xmr(months(12), BASE, better)
    assert stats.assurance(target, chart, better) == expected


def test_assurance_needs_limits():
    assert stats.assurance(5.0, stats.xmr(["2025-01"], [3.0], Better.LOWER), Better.LOWER) is None


@pytest.mark.parametrize(("value", "target", "better", "met"), [
    (91.0, 90.0, Better.HIGHER, True), (90.0, 90.0, Better.HIGHER, True),
    (89.9, 90.0, Better.HIGHER, False), (10.0, 12.0, Better.LOWER, True),
    (13.0, 12.0, Better.LOWER, False), (5.0, 5.0, Better.NEUTRAL, None),
    (None, 5.0, Better.LOWER, None),
])
def test_target_met(value, target, better, met):
    assert stats.target_met(value, target, better) is met


# ---------------------------------------------------------------------------------------------
# Declared baselines, recalculation points, trial limits


def test_spc_baseline_chooses_the_months_the_limits_come_from():
    # 12 months of 20s and 22s, then the 10/12 pattern: limits from the later months only.
    values = [20.0, 22.0] * 6 + BASE
    got = stats.xmr(months(24), values, Better.LOWER, baseline=("2024-10", "2025-09"))
    assert got.baseline == ("2024-10", "2025-09")
    assert (got.mean, got.upper_limit) == pytest.approx((11, 16.32))
    # The earlier months sit above the upper limit: special causes against these limits.
    assert {p.rule for p in got.points[:12]} == {"limits"}


def test_a_baseline_running_past_a_recalculation_gives_no_limits():
    got = stats.xmr(months(24), [*BASE, *BASE], Better.LOWER, baseline=("2023-10", "2024-12"),
                    rebase=["2024-06"])
    assert got.segments[0].mean is None
    assert "runs past 2024-05" in got.segments[0].note


def test_a_baseline_starting_before_the_data_gives_no_limits_naming_the_months():
    # The chart starts where the data does (2023-12); the months named start two before it.
    # The limits came from the first 12 months with data instead (2023-12 to 2024-11, the
    # step to 30 among them), with no note.
    values = [None, None, *BASE[:10], *[v + 20 for v in BASE]]
    got = stats.xmr(months(24), values, Better.LOWER, baseline=("2023-10", "2024-09"))
    assert (got.mean, got.upper_limit) == (None, None)
    assert got.note == ("no limits: the baseline (2023-10 to 2024-09) has no value for "
                        "2023-10, 2023-11")


def test_a_baseline_after_the_chart_gives_no_limits():
    # kpi show of a month before the months named: the limits came from the first 12 months.
    got = stats.xmr(months(24), [*BASE, *BASE], Better.LOWER, baseline=("2026-01", "2026-12"))
    assert got.mean is None and "runs past 2025-09" in got.note


def test_a_baseline_in_a_later_segment_leaves_the_earlier_one_its_own_months():
    values = [20.0, 22.0] * 6 + BASE
    got = stats.xmr(months(24), values, Better.LOWER, baseline=("2024-10", "2025-09"),
                    rebase=["2024-10"])
    first, second = got.segments
    assert first.baseline == ("2023-10", "2024-09") and first.mean == pytest.approx(21)
    assert second.baseline == ("2024-10", "2025-09") and second.mean == pytest.approx(11)


def test_rebase_restarts_the_limits_and_the_runs():
    # A level of 11 for a year, then a step to 31: without a recalculation every later month
    # is a special cause; recalculated at the step, the new level is ordinary.
    values = BASE + [v + 20 for v in BASE]
    plain = stats.xmr(months(24), values, Better.LOWER)
    assert stats.variation(plain).verdict == stats.SPECIAL_CONCERN
    rebased = stats.xmr(months(24), values, Better.LOWER, rebase=["2024-10"])
    assert [s.start for s in rebased.segments] == ["2023-10", "2024-10"]
    assert rebased.mean == pytest.approx(31) and rebased.signals == ()
    assert stats.variation(rebased).verdict == stats.COMMON_CAUSE
    # Each point carries the limits that apply to it, so a chart can draw them as steps.
    assert (rebased.points[0].mean, rebased.points[-1].mean) == pytest.approx((11, 31))
    # The first month after a recalculation has no moving range within its segment.
    assert rebased.points[12].moving_range is None


def test_a_short_segment_after_a_recalculation_has_trial_limits():
    values = BASE + [30.0, 32.0, 30.0, 32.0, 30.0]
    got = stats.xmr(months(17), values, Better.LOWER, rebase=["2024-10"])
    assert got.trial and got.segments[0].trial is False
    assert got.note == "trial limits: 5 months, fewer than the 12 a baseline needs"
    assert stats.variation(got).trial is True


# ---------------------------------------------------------------------------------------------
# Pure Poisson noise is rarely flagged; a step change is caught


@settings(max_examples=8, deadline=None)
@given(mean=st.integers(5, 5000), seed=st.integers(0, 2**32 - 1))
def test_pure_poisson_noise_is_rarely_flagged(mean, seed):
    """The latest of 24 months of constant-mean Poisson counts is a special cause in about 6.5%
    of series (simulated: the four rules together, limits from 12 months); never near half,
    nor never."""
    rng = np.random.default_rng(seed)
    runs = 1000
    flagged = 0
    for _ in range(runs):
        values = rng.poisson(mean, 24).astype(float).tolist()
        variation = stats.variation(stats.xmr(months(24), values, Better.LOWER))
        flagged += variation.verdict != stats.COMMON_CAUSE
    assert 0.03 <= flagged / runs <= 0.10


@settings(max_examples=30, deadline=None)
@given(mean=st.integers(20, 5000), seed=st.integers(0, 2**32 - 1),
       up=st.booleans())
def test_a_step_change_is_caught_within_the_shift_run(mean, seed, up):
    """After 12 months of Poisson noise, a step of 6 standard deviations is flagged on or
    before its 7th month (the shift rule's run length), as a concern when it is the wrong way."""
    rng = np.random.default_rng(seed)
    step = 6 * mean ** 0.5 * (1 if up else -1)
    values = rng.poisson(mean, 12).astype(float).tolist()
    values += (rng.poisson(mean, 7) + step).tolist()
    chart = stats.xmr(months(19), values, Better.LOWER)
    after = chart.points[12:]
    assert after[-1].rule is not None
    assert after[-1].signal == (stats.CONCERN if up else stats.IMPROVEMENT)


# ---------------------------------------------------------------------------------------------
# A verdict from a result


def _result(kpi: KpiDef, current: float, comparison: float) -> KpiResult:
    cur = Measured(Window.year_ending(Month.parse("2025-09")), current)
    cmp = Measured(Window.year_ending(Month.parse("2024-09")), comparison)
    change = change_between(kpi, current, comparison)
    return KpiResult(kpi, status_of(kpi, change), cur, cmp, change)


def test_verdict_of_a_rate_with_a_target():
    kpi = KpiDef("sla", "SLA", "p", Kind.MEDIAN, Unit.SECONDS, Better.LOWER, dataset="d",
                 value="x", target=15.0)
    series = verdicts.Series(tuple(months(24)), tuple(BASE + BASE))
    got = verdicts.verdict_of(_result(kpi, 11.5, 12.0), series)
    assert got.significance.test == stats.NOT_TESTED
    assert got.variation.verdict == stats.COMMON_CAUSE
    assert (got.target, got.target_met, got.assurance) == (15.0, True, stats.HIT_AND_MISS)


def test_conflict_between_the_status_and_the_chart_is_one_sentence():
    kpi = KpiDef("h", "Homicides", "p", Kind.COUNT, Unit.COUNT, Better.LOWER, dataset="d")
    series = verdicts.Series(tuple(months(14)), tuple([*BASE, 11.0, 20.0]))
    got = verdicts.verdict_of(_result(kpi, 34, 43), series)
    text = verdicts.conflict(_result(kpi, 34, 43), got)
    assert text.startswith("the status is improving, from the 12-month change;")
    assert text.endswith("so the most recent months run against the 12-month change")
    assert ("special cause of concern (an unusually high month, above the upper process "
            "limit)") in text
    calm = verdicts.verdict_of(_result(kpi, 34, 43),
                               verdicts.Series(tuple(months(12)), tuple(BASE)))
    assert verdicts.conflict(_result(kpi, 34, 43), calm) is None


def test_a_conflict_names_the_change_by_its_windows():
    """`kpi show` said "the status compares two 12-month windows" of a financial year to date
    and of two months as at their end: the change is named by its windows, as the paper names
    it (`verdicts.change_named`)."""
    kpi = KpiDef("h", "Homicides", "p", Kind.COUNT, Unit.COUNT, Better.LOWER, dataset="d")
    series = verdicts.Series(tuple(months(14)), tuple([*BASE, 11.0, 20.0]))
    for current, before, named in (
            (Window.fytd(Month.parse("2025-09")), Window.fytd(Month.parse("2024-09")),
             "the change over the financial year to date"),
            (Window.as_at(Month.parse("2025-09")), Window.as_at(Month.parse("2024-04")),
             "the change since April 2024")):
        change = change_between(kpi, 34, 43)
        result = KpiResult(kpi, status_of(kpi, change), Measured(current, 34),
                           Measured(before, 43), change)
        text = verdicts.conflict(result, verdicts.verdict_of(result, series))
        assert text is not None and "12-month" not in text, text
        assert text.startswith(f"the status is improving, from {named};")
        assert text.endswith(f"run against {named}")


# ---------------------------------------------------------------------------------------------
# Catalogue keys


def _catalogue(tmp_path, extra: str):
    from kpi.catalogue import load_project

    (tmp_path / "kpi.toml").write_text(f"""
[project]
name = "t"
[datasets.calls]
date = "day"
[datasets.calls.columns]
day = "date"
secs = "float"
[[priorities]]
id = "p"
title = "P"
[[kpis]]
id = "k"
title = "K"
priority = "p"
dataset = "calls"
{extra}
""", encoding="utf-8")
    return load_project(tmp_path)


def test_catalogue_reads_target_and_spc_keys(tmp_path):
    project = _catalogue(tmp_path, 'kind = "within"\nvalue = "secs"\nthreshold = 10\n'
                                   'better = "higher"\ntarget = 90\n'
                                   'spc_baseline = ["2023-04", "2024-03"]\n'
                                   'spc_rebase = ["2023-10"]')
    kpi = project.kpi("k")
    assert kpi.target == 90.0
    assert kpi.spc_baseline == (Month.parse("2023-04"), Month.parse("2024-03"))
    assert kpi.spc_rebase == (Month.parse("2023-10"),)


@pytest.mark.parametrize(("extra", "message"), [
    ('kind = "count"\ntarget = 100', "key 'target': a count KPI's value is a total"),
    ('kind = "within"\nvalue = "secs"\nthreshold = 10\ntarget = "900%"',
     "key 'target': must be a number from 0 to 100, found 900"),
    # A percent sign is for a KPI in percent only.
    ('kind = "mean"\nvalue = "secs"\nunit = "seconds"\ntarget = "90%"',
     "key 'target': must be a finite number, found '90%'"),
    ('kind = "count"\nspc_baseline = ["2024-03"]', "key 'spc_baseline': must be the first"),
    ('kind = "count"\nspc_baseline = ["2024-03", "2023-04"]',
     "key 'spc_baseline': must be the first"),
    ('kind = "count"\nspc_rebase = ["2023-13"]', "key 'spc_rebase': must be a list of months"),
    ('kind = "count"\nspc_rebase = ["2024-01", "2023-10"]', "key 'spc_rebase': must list each"),
])
def test_catalogue_refuses_bad_spc_keys(tmp_path, extra, message):
    from kpi.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        _catalogue(tmp_path, extra)
    assert message in caught.value.message


# ---------------------------------------------------------------------------------------------
# The bundled sample: ASB's +0.8% is noise, total crime's -8.7% is not


@pytest.fixture(scope="module")
def sample_json(sample_paper):
    # `kpi summary --period 2025-09 --format json`, made once for the run (conftest.py)
    document = json.loads(sample_paper["summary"].read_text(encoding="utf-8"))
    return {k["id"]: k for k in document["kpis"]}


def test_sample_asb_is_noise_and_total_crime_is_not(sample_json):
    asb, crime = sample_json["asb_incidents"], sample_json["total_recorded_crime"]
    assert asb["status"] == "deteriorating" and asb["significance"]["significant"] is False
    assert asb["significance"]["p_value"] == pytest.approx(
        stats.poisson_test(26_613, 12, 26_405, 12).p_value)
    assert crime["status"] == "improving" and crime["significance"]["significant"] is True


def test_sample_every_live_kpi_has_significance_and_a_monthly_series_a_variation(sample_json):
    for kpi in sample_json.values():
        if kpi["status"] == "in_development":
            assert kpi["significance"] is None and kpi["variation"] is None
            continue
        assert kpi["significance"] is not None, kpi["id"]
        if kpi["id"].startswith("ethics_module_"):
            # Completion to date is cumulative (catalogue key): no process chart reads it.
            assert kpi["variation"] is None, kpi["id"]
        elif kpi["current"] is not None:
            assert kpi["variation"] is not None, kpi["id"]
            assert kpi["variation"]["verdict"] in {
                "common_cause", "special_cause_improvement", "special_cause_concern",
                "special_cause_neutral_high", "special_cause_neutral_low"}


def test_sample_counts_are_integers_in_json(sample_json):
    asb = sample_json["asb_incidents"]
    assert asb["current"]["value"] == 26_613 and isinstance(asb["current"]["value"], int)
    assert isinstance(asb["change"]["absolute"], int)
    rate = sample_json["positive_outcome_rate"]
    assert isinstance(rate["current"]["numerator"], int)


def test_sample_targets_declare_assurance(sample_json):
    targeted = [k for k in sample_json.values() if k["target"] is not None]
    assert len(targeted) >= 3
    for kpi in targeted:
        assert kpi["assurance"] in {"consistently_pass", "consistently_fail", "hit_and_miss"}
        assert isinstance(kpi["target_met"], bool)


def test_sample_csv_and_table_carry_the_verdicts(cli):
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(
        cli(["summary", "--period", "2025-09", "--format", "csv"]).stdout))}
    assert rows["asb_incidents"]["significant"] == "False"
    assert rows["total_recorded_crime"]["significant"] == "True"
    table = cli(["summary", "--period", "2025-09"], env={"COLUMNS": "80"}).stdout
    asb = next(line for line in table.splitlines() if line.startswith("ASB ") and "+208" in line)
    crime = next(line for line in table.splitlines() if "-28,574" in line)
    assert "deteriorating no " in asb
    assert "improving     yes " in crime


def test_show_json_counts_are_integers(cli):
    result = cli(["show", "asb_incidents", "--period", "2025-09", "--format", "json"])
    doc = json.loads(result.stdout)
    assert all(isinstance(row["value"], int) for row in doc["trend"])
    for rows in doc["breakdowns"].values():
        assert all(isinstance(row["current"], int) for row in rows)


@pytest.mark.parametrize(("width", "vs"), [(80, "baseline"), (120, "baseline"), (80, "fytd")])
def test_sample_table_fits_and_never_cuts_a_verdict(cli, width, vs):
    table = cli(["summary", "--period", "2025-09", "--vs", vs],
                env={"COLUMNS": str(width)}).stdout
    lines = table.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= width
    statuses = ("improving", "deteriorating", "stable", "changed", "no data", "in development")
    rows = [line.rstrip() for line in lines if any(f" {s} " in line for s in statuses)]
    assert len(rows) > 90
    last = {"common", "improvement", "concern", "high", "low", "–"}
    assert {row.split()[-1] for row in rows} <= last
    # Targets are listed under their table, with whether they are met and the assurance.
    # Each with whose target it is, as the paper prints it.
    assert ("999 answered within 10 seconds 90.0% (the national 999 call answering standard "
            "(Home Office and NPCC)): met, consistently passes") in " ".join(
        line.strip() for line in lines)


def test_show_judges_no_month_of_an_incomplete_window_as_the_summary_judges_none(cli, tmp_path):
    """The tiny project's 101 calls miss June 2025: no status, and no verdict in the summary.
    `kpi show` charted the months there were and gave a variation the summary never gives
    (two answers for one KPI at one period); it now gives the summary's (none), and its
    trend still shows the months held, with the gap."""
    from fixtures.generated import tiny_project

    tiny = tiny_project(tmp_path)
    summary = cli(["--project", tiny.root, "summary", "--period", "2025-09", "--format",
                   "json"])
    assert summary.exit_code == 0, summary.output
    judged = next(k for k in json.loads(summary.stdout)["kpis"] if k["id"] == "calls")
    assert judged["status"] == "no_data" and judged["variation"] is None
    result = cli(["--project", tiny.root, "show", "calls", "--period", "2025-09", "--format",
                  "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["kpi"]["status"] == "no_data"
    assert doc["kpi"]["significance"] == judged["significance"]
    assert doc["kpi"]["significance"]["test"] is None
    assert "incomplete" in doc["kpi"]["significance"]["reason"]
    assert doc["kpi"]["variation"] is None
    assert doc["signal"]["xmr"]["mean"] is None and doc["signal"]["xmr"]["months"] is None
    assert doc["signal"]["xmr"]["note"].startswith("no process chart: the current window")
    values = {row["month"]: row["value"] for row in doc["trend"]}
    assert len(values) == 24 and values["2025-06"] is None
    assert sum(v is not None for v in values.values()) == 23


def test_a_breakdown_lists_only_the_parts_the_kpi_counts(tmp_path):
    """knife_crime counts offence = 'knife': split by offence it has one part, not every
    offence in the dataset at 0 and 0."""
    import shutil
    from pathlib import Path

    from kpi import engine
    from kpi.catalogue import load_project
    from kpi.ingest import load

    root = tmp_path / "mini"
    shutil.copytree(Path(__file__).resolve().parent / "fixtures" / "mini", root)
    project = load_project(root)
    load(project, "crimes")
    kpi = project.kpi("knife_crime")
    result = engine.evaluate(project, Month.parse("2025-09"), kpis=[kpi]).results[0]
    view = ref.breakdown(project, kpi, "offence", result.current.window,
                            result.comparison.window)
    assert view["part"].to_list() == ["knife"]
    assert view["current"].to_list() == [result.current.value]
    assert view["comparison"].to_list() == [result.comparison.value]


def test_show_seasonal_compares_each_month_with_a_year_earlier(cli):
    """Each of the last 12 months against the same month a year earlier, from the same
    monthly values as the trend."""
    result = cli(["show", "asb_incidents", "--period", "2025-09", "--seasonal", "--format",
                  "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    trend = {row["month"]: row["value"] for row in doc["trend"]}
    rows = doc["same_months_a_year_earlier"]
    assert [r["month"] for r in rows] == [f"{y}-{m:02d}" for y, m in
                                          [(2024, 10), (2024, 11), (2024, 12)]
                                          + [(2025, m) for m in range(1, 10)]]
    for row in rows:
        year, month = row["month"].split("-")
        before = f"{int(year) - 1}-{month}"
        assert (row["value"], row["a_year_earlier"]) == (trend[row["month"]], trend[before])
        assert row["change_absolute"] == row["value"] - row["a_year_earlier"]
        assert isinstance(row["value"], int)
    table = cli(["show", "asb_incidents", "--period", "2025-09", "--seasonal"]).stdout
    assert "Same months a year earlier" in table


PROVISIONAL_TOML = """\
[project]
name = "Tieshire"
baseline = "2024-03"

[datasets.ev]
date = "d"
[datasets.ev.columns]
d = "date"
outcome = "str"

[[priorities]]
id = "p1"
title = "Justice"
order = 1

[[kpis]]
id = "charged"
title = "Crimes charged"
priority = "p1"
kind = "count"
dataset = "ev"
filter = "outcome = 'charged'"
better = "higher"
provisional_months = 3
"""


def test_show_seasonal_marks_the_months_not_final_yet(tmp_path, cli):
    """With provisional_months = 3, `kpi show --seasonal` listed July to September 2025 (12, 8
    and 5 charged so far, against 20 each a year earlier) as ordinary rows, falls of 40%, 60%
    and 75%, in the text and the JSON, where the Signal section beside them leaves them out.
    Each is marked provisional now, by the chart's rule of which months are not final (the
    last 3 of the series to the period); every other month not. By hand: 20 charged a month
    from January 2023, the last three months holding 12, 8 and 5."""
    (tmp_path / "kpi.toml").write_text(PROVISIONAL_TOML, encoding="utf-8")
    counts = {(2025, 7): 12, (2025, 8): 8, (2025, 9): 5}
    lines = ["d,outcome"] + [f"{y}-{m:02d}-{1 + j:02d},charged"
                             for y in (2023, 2024, 2025) for m in range(1, 13)
                             if (y, m) <= (2025, 9) for j in range(counts.get((y, m), 20))]
    (tmp_path / "ev.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli(["--project", tmp_path, "ingest", "ev", tmp_path / "ev.csv"]).exit_code == 0
    args = ["--project", tmp_path, "show", "charged", "--period", "2025-09", "--vs", "yoy",
            "--seasonal"]
    result = cli([*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    expected = [(f"2024-{m}", 20, 20, 0, False) for m in (10, 11, 12)]
    expected += [(f"2025-{m:02d}", 20, 20, 0, False) for m in range(1, 7)]
    expected += [("2025-07", 12, 20, -8, True), ("2025-08", 8, 20, -12, True),
                 ("2025-09", 5, 20, -15, True)]
    assert [(r["month"], r["value"], r["a_year_earlier"], r["change_absolute"],
             r["provisional"]) for r in doc["same_months_a_year_earlier"]] == expected
    # The months the chart leaves out are the ones marked.
    assert [r["month"] for r in doc["same_months_a_year_earlier"] if r["provisional"]] == \
        list(stats.unsettled_months([r["month"] for r in doc["trend"]], 3))
    table = cli(args)
    assert table.exit_code == 0, table.output
    seasonal = table.stdout.split("Same months a year earlier")[1].splitlines()
    assert seasonal[1].split() == ["month", "value", "a_year_earlier", "change_absolute",
                                   "change_percent", "provisional"]
    rows = {line.split()[0]: line.split() for line in seasonal[2:] if line.strip()}
    assert rows["2025-07"] == ["2025-07", "12", "20", "-8", "-40.0%", "yes"]
    assert rows["2025-09"] == ["2025-09", "5", "20", "-15", "-75.0%", "yes"]
    assert rows["2025-06"] == ["2025-06", "20", "20", "0", "0.0%", "no"]
    assert [m for m, row in rows.items() if row[-1] == "yes"] == ["2025-07", "2025-08", "2025-09"]


def test_unsettled_months_are_the_last_n_of_a_series():
    """By hand: the last 3 of 5 months; none for 0; every month where N passes the length."""
    months = ["2025-05", "2025-06", "2025-07", "2025-08", "2025-09"]
    assert stats.unsettled_months(months, 3) == ("2025-07", "2025-08", "2025-09")
    assert stats.unsettled_months(months, 0) == ()
    assert stats.unsettled_months(months[:2], 3) == ("2025-05", "2025-06")


# ---------------------------------------------------------------------------------------------
# The verdicts on a target agree: met or not beside the assurance, on series that do not vary


def _exact_mean(values: list[float]) -> float:
    """The oracle: the mean of the figures as written, in Python's decimal."""
    from decimal import Decimal, localcontext
    with localcontext() as exact:
        exact.prec = 60
        return float(sum((Decimal(repr(v)) for v in values), Decimal(0)) / len(values))


# Figures as a report writes them: a percentage or rate to a few decimals.
_FIGURE = st.integers(0, 100_000).map(lambda n: n / 1000)


@st.composite
def _flat_series(draw):
    """24 months whose baseline (the first 12) does not vary, then months that may: the same
    value, another value held, or values drawn; and a target on the value, on the later
    months' mean, or drawn."""
    flat = draw(_FIGURE)
    tail = draw(st.one_of(st.just([flat] * 12), _FIGURE.map(lambda v: [v] * 12),
                          st.lists(_FIGURE, min_size=12, max_size=12)))
    current = _exact_mean(tail)
    target = draw(st.one_of(st.just(flat), st.just(current), _FIGURE))
    return [flat] * 12 + tail, current, target


@settings(max_examples=400, deadline=None)
@given(_flat_series(), st.sampled_from([Better.HIGHER, Better.LOWER]),
       st.sampled_from([Unit.PERCENT, Unit.PER_1000, Unit.RATIO]))
def test_a_baseline_that_does_not_vary_gives_no_limits_and_no_verdict_on_them(drawn, better,
                                                                               unit):
    """A baseline that does not vary tells nothing of the spread of the process: the chart
    has no limits, so no month of it is a special cause and no assurance is given, whatever
    the months after it; the target is still met or not by the current figure. Limits of no
    width on the mean read every later month off it as outside them (12 months of 0.7 then
    0.8: a special cause), and 95.0% every month then 85.0% "consistently passes" a target
    of 90 beside "not met"."""
    values, current, target = drawn
    # A percentage target under 1 is written with its sign, so it is never read two ways.
    kpi = KpiDef("k", "K", "p", Kind.RATE, unit, better, dataset="d", target=target,
                 target_written_percent=True)
    got = verdicts.verdict_of(_result(kpi, current, current),
                              verdicts.Series(tuple(months(24)), tuple(values)))
    met = current >= target if better == Better.HIGHER else current <= target
    assert got.target_met is met
    assert (got.chart.mean, got.chart.lower_limit, got.chart.upper_limit) == (None,) * 3
    assert got.chart.note is not None and "has no variation" in got.chart.note
    assert got.variation is None and got.assurance is None and not got.chart.signals


@pytest.mark.parametrize(("values", "better", "target", "current", "met"), [
    # 12 months of 0.7: no limits, the target of 0.7 met (the float mean 0.6999999999999998
    # once made each month a special cause).
    ([0.7] * 24, Better.HIGHER, 0.7, 0.7, True),
    ([0.1] * 24, Better.LOWER, 0.1, 0.1, True),
    # A baseline of 95.0% every month, then 85.0%: limits 95.0 to 95.0 "consistently passed"
    # a target of 90 that the current figure misses, and read every later month as a special
    # cause of concern.
    ([95.0] * 12 + [85.0] * 12, Better.HIGHER, 90.0, 85.0, False),
    ([5.0] * 12 + [15.0] * 12, Better.LOWER, 10.0, 15.0, False),
    ([85.0] * 12 + [95.0] * 12, Better.HIGHER, 90.0, 95.0, True),
])
def test_a_flat_baseline_and_its_target(values, better, target, current, met):
    kpi = KpiDef("k", "K", "p", Kind.RATE, Unit.PERCENT, better, dataset="d", target=target)
    got = verdicts.verdict_of(_result(kpi, current, current),
                              verdicts.Series(tuple(months(24)), tuple(values)))
    assert (got.target_met, got.assurance, got.variation) == (met, None, None)
    assert got.chart.signals == ()


@pytest.mark.parametrize(("old", "new", "better", "target", "current", "met", "assurance",
                          "limits"), [
    # 101 calls answered: 18 months at 75, 74, 76%, then 6 at 96 to 98% from a recalculation
    # (new telephony). The new limits: mean 97, m̄R 7 / 5 = 1.4, 97 ± 2.66 x 1.4 = 93.276 to
    # 100.724, stopped at 100; a target of 90 is below them, consistently passed. The 12
    # months' figure, (450 + 582) / 12 = 86.0%, holds 6 months from before: it misses the
    # target, and printed "hit and miss".
    ([75.0, 74.0, 76.0] * 6, [96.0, 98.0, 97.0] * 2, Better.HIGHER, 90.0, 86.0, False,
     stats.CONSISTENTLY_PASS, (93.276, 100.0)),
    # Lower is better: 4 to 6 before, 30 and 31 after: mean 30.5, m̄R 1, limits 27.84 to
    # 33.16 are all above a target of 25, consistently failed; the 12 months' figure,
    # (30 + 183) / 12 = 17.75, meets it, and printed "met, hit and miss".
    ([4.0, 5.0, 6.0] * 6, [30.0, 31.0] * 3, Better.LOWER, 25.0, 17.75, True,
     stats.CONSISTENTLY_FAIL, (27.84, 33.16)),
])
def test_a_window_across_a_recalculation_does_not_overrule_the_limits_that_apply_now(
        old, new, better, target, current, met, assurance, limits):
    """Assurance is where the target sits against the limits that apply now. A current
    window that starts before the limits were recalculated (`spc_rebase`) reads months of the
    process before them, so its figure missing (or meeting) the target says nothing about
    them."""
    kpi = KpiDef("k", "K", "p", Kind.WITHIN, Unit.PERCENT, better, dataset="d",
                 target=target, spc_rebase=(Month.parse("2025-04"),))
    series = verdicts.Series(tuple(months(24)), tuple(old + new))
    got = verdicts.verdict_of(_result(kpi, current, current), series)
    assert got.chart.segments[-1].start == "2025-04"
    assert (round(got.chart.lower_limit, 3), round(got.chart.upper_limit, 3)) == limits
    assert (got.target_met, got.assurance) == (met, assurance)
    # The paper says the two apart: the figure misses it, but the process now passes.
    result = _result(kpi, current, current)
    from kpi.paper import ASSURANCE_SENTENCES, target_sentence
    assert target_sentence(result, got) == (
        f"Against the target of {target:.1f}% (source not stated) the figure "
        f"{'meets' if met else 'misses'} it, but {ASSURANCE_SENTENCES[assurance]}.")


def test_a_window_inside_the_recalculated_limits_still_overrules_them():
    """The limits recalculated from 2024-04 on twelve months of 95.0% and 96.0% in turn (mean
    95.5, every moving range 1: 92.84 to 98.16) pass a target of 90; six months of 80.0%
    follow. The current window (2024-10 to 2025-09) lies wholly after the recalculation, and
    its figure, (3 x 95 + 3 x 96 + 6 x 80) / 12 = 87.75%, misses the target: the process the
    limits describe has both met and missed it, hit and miss."""
    kpi = KpiDef("k", "K", "p", Kind.RATE, Unit.PERCENT, Better.HIGHER, dataset="d",
                 target=90.0, spc_rebase=(Month.parse("2024-04"),))
    series = verdicts.Series(tuple(months(24)),
                             tuple([60.0] * 6 + [95.0, 96.0] * 6 + [80.0] * 6))
    got = verdicts.verdict_of(_result(kpi, 87.75, 87.75), series)
    assert (got.chart.lower_limit, got.chart.upper_limit) == (92.84, 98.16)
    assert (got.target_met, got.assurance) == (False, stats.HIT_AND_MISS)


# ---------------------------------------------------------------------------------------------
# A target that reads two ways: 0.9 on a KPI in percent whose figures are near 90%


def _percent_kpi(target: float, written_percent: bool = False) -> KpiDef:
    return KpiDef("rate_k", "Rate", "p", Kind.RATE, Unit.PERCENT, Better.HIGHER, dataset="d",
                  target=target, target_written_percent=written_percent)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 999).map(lambda n: n / 1000),
       st.lists(st.integers(0, 100_000).map(lambda n: n / 1000), min_size=1, max_size=24))
def test_a_proportion_as_a_percent_target_is_refused_naming_both_readings(target, figures):
    """Refused exactly where every figure is at least ten times the target (the rule counted
    here in decimals), with one line naming the KPI, the key and both readings; any other
    target is read as written, and one written with its sign always is."""
    from decimal import Decimal

    from kpi.errors import ConfigError

    series = verdicts.Series(tuple(months(len(figures))), tuple(figures))
    implausible = min(Decimal(repr(v)) for v in figures) >= 10 * Decimal(repr(target))
    result = _result(_percent_kpi(target), figures[-1], figures[0])
    if implausible:
        with pytest.raises(ConfigError) as caught:
            verdicts.verdict_of(result, series)
        message = caught.value.message
        assert "\n" not in message
        as_proportion = Decimal(repr(target)) * 100
        assert message.startswith(f"KPI 'rate_k', key 'target': {target:g} reads as "
                                  f"{target:g}%"), message
        assert message.endswith(f"as a proportion it would be {float(as_proportion):g}%")
        assert f'target = "{target:g}%"' in caught.value.hint
    else:
        assert verdicts.verdict_of(result, series).target == target
    kept = verdicts.verdict_of(_result(_percent_kpi(target, True), figures[-1], figures[0]),
                               series)
    assert kept.target_met is (figures[-1] >= target)


@pytest.mark.parametrize(("target", "figures", "refused"), [
    (0.9, [85.1, 93.4, 90.2], True),      # 90% written as a proportion
    (0.05, [3.0, 7.0], True),             # 5% written as a proportion
    (0.05, [3.0, 0.4], False),            # a month of 0.4% is under ten times 0.05%
    (0.5, [0.3, 0.8, 0.6], False),        # a small rate near its target: as written
    (0.9, [9.0, 12.0], True),             # 9.0 is ten times 0.9
    (1.0, [85.0, 93.0], False),           # 1 is 1%: no proportion reads 100% of a target
])
def test_percent_targets_by_hand(target, figures, refused):
    from kpi.errors import ConfigError

    series = verdicts.Series(tuple(months(len(figures))), tuple(figures))
    result = _result(_percent_kpi(target), figures[-1], figures[0])
    if refused:
        with pytest.raises(ConfigError):
            verdicts.verdict_of(result, series)
    else:
        assert verdicts.verdict_of(result, series).target == target


def test_a_target_written_with_its_percent_sign_is_read_as_written(tmp_path):
    project = _catalogue(tmp_path, 'kind = "within"\nvalue = "secs"\nthreshold = 10\n'
                                   'better = "higher"\ntarget = "0.9%"')
    kpi = project.kpi("k")
    assert (kpi.target, kpi.target_written_percent) == (0.9, True)
    plain = _catalogue(tmp_path, 'kind = "within"\nvalue = "secs"\nthreshold = 10\n'
                                 'better = "higher"\ntarget = 0.9').kpi("k")
    assert (plain.target, plain.target_written_percent) == (0.9, False)


def test_the_summary_and_show_refuse_a_proportion_target_in_one_line(cli, tmp_path):
    """The mini's positive outcome rate runs 40.0% to 62.5% a month: a target of 0.5 read
    "0.5%: met, consistently passes" (exit 0); now exit 3 naming both readings, and
    "0.5%" or 50 are read as written."""
    import shutil
    from pathlib import Path

    from kpi.catalogue import load_project
    from kpi.ingest import load

    root = tmp_path / "mini"
    shutil.copytree(Path(__file__).parent / "fixtures" / "mini", root)
    load(load_project(root), "crimes")
    toml = root / "kpi.toml"
    original = toml.read_text(encoding="utf-8")
    rate = 'numerator = "outcome IN (\'OC1\', \'OC2\')"\nbetter = "higher"\n'
    assert rate in original
    for target, code in (("0.5", 3), ('"0.5%"', 0), ("50", 0)):
        toml.write_text(original.replace(rate, f"{rate}target = {target}\n"), encoding="utf-8")
        for args in (["summary"], ["show", "positive_outcome_rate"]):
            got = cli(["--project", root, *args, "--period", "2025-09"])
            assert got.exit_code == code, (target, args, got.output)
            if code == 3:
                lines = got.stderr.splitlines()
                line = toml.read_text(encoding="utf-8").splitlines().index("target = 0.5") + 1
                assert lines[0] == (f"Error: {toml}:{line}: KPI 'positive_outcome_rate', key "
                                    "'target': 0.5 reads as 0.5%, but the KPI's figures run "
                                    "from 40.0% to 62.5%; as a proportion it would be 50%"), lines
                assert lines[1] == ('Hint: write target = 50 if 50% is meant, or target = '
                                    '"0.5%" if 0.5% is')
                assert "Traceback" not in got.output
            elif args == ["summary"]:
                shown = "0.5%" if target != "50" else "50.0%"
                verdict = "met, consistently passes" if target != "50" else "met, hit and miss"
                assert f"Positive outcome rate {shown} (source not stated): {verdict}" in \
                    " ".join(got.stdout.split())


def _mini_with_target(tmp_path, target: str, loaded: bool = True):
    """The mini project with a target on its positive outcome rate (40.0% to 62.5% a month),
    its crimes loaded or not; the file and the target's line."""
    import shutil
    from pathlib import Path

    from kpi.catalogue import load_project
    from kpi.ingest import load

    root = tmp_path / f"mini {len(list(tmp_path.iterdir()))}"
    shutil.copytree(Path(__file__).parent / "fixtures" / "mini", root)
    toml = root / "kpi.toml"
    original = toml.read_text(encoding="utf-8")
    rate = 'numerator = "outcome IN (\'OC1\', \'OC2\')"\nbetter = "higher"\n'
    assert rate in original
    toml.write_text(original.replace(rate, f"{rate}target = {target}\n"), encoding="utf-8")
    if loaded:
        load(load_project(root), "crimes")
    line = toml.read_text(encoding="utf-8").splitlines().index(f"target = {target}") + 1
    return toml, line


def test_validate_refuses_a_proportion_target_on_the_figures_the_store_holds(cli, tmp_path):
    """`kpi catalogue --validate` read no figures, so a target of 0.5 on a rate of 40% to
    62.5% a month passed it (exit 0) and was refused only by the summary. With the data in the
    project's store it is now refused by the same rule (`misread_target`), in the summary's
    words, naming the file's line (exit 3); "0.5%" and 50 pass with no warning."""
    toml, line = _mini_with_target(tmp_path, "0.5")
    got = cli(["catalogue", "--validate", toml])
    assert got.exit_code == 3, got.output
    assert got.stderr.splitlines() == [
        f"Error: {toml}:{line}: KPI 'positive_outcome_rate', key 'target': 0.5 reads as 0.5%, "
        "but the KPI's figures run from 40.0% to 62.5%; as a proportion it would be 50%",
        'Hint: write target = 50 if 50% is meant, or target = "0.5%" if 0.5% is']
    summary = cli(["--project", toml.parent, "summary", "--period", "2025-09"])
    assert summary.exit_code == 3
    assert summary.stderr.splitlines()[:2] == got.stderr.splitlines()
    for target in ('"0.5%"', "50"):
        toml, _ = _mini_with_target(tmp_path, target)
        got = cli(["catalogue", "--validate", toml])
        assert got.exit_code == 0, got.output
        assert "Warning" not in got.stderr and "target" not in got.stderr, got.stderr


def test_validate_warns_of_a_proportion_target_without_figures(cli, tmp_path):
    """With nothing loaded there are no figures to judge the target by: a warning naming the
    file's line, the KPI, the key and both readings, and exit 0 (the file is valid); the
    summary, once the data is loaded, refuses it."""
    toml, line = _mini_with_target(tmp_path, "0.5", loaded=False)
    got = cli(["catalogue", "--validate", toml])
    assert got.exit_code == 0, got.output
    lines = got.stderr.splitlines()
    assert lines[0] == (
        f"Warning: {toml}:{line}: KPI 'positive_outcome_rate', key 'target': 0.5 reads as "
        "0.5%, and no figures are held to judge it by; if 50% is meant write target = 50, and "
        'write target = "0.5%" to say 0.5%')
    assert lines[1].startswith(f"{toml}: valid ("), lines
    assert len(lines) == 2


def test_the_read_and_validate_refuse_by_one_rule(tmp_path, monkeypatch):
    """Both the summary's read and `kpi catalogue --validate` ask `misread_target`: with its
    factor raised past the data (40.0% is under 100 times 0.5), neither refuses."""
    from kpi.catalogue import load_project

    toml, _ = _mini_with_target(tmp_path, "0.5")
    project = load_project(toml.parent)
    from kpi.errors import ConfigError

    with pytest.raises(ConfigError):
        verdicts.stored_targets(project)
    monkeypatch.setattr(verdicts, "MISREAD_FACTOR", 100)
    assert verdicts.stored_targets(project) == []


def test_limits_stop_at_100_only_for_a_share_and_not_for_a_rate_that_passes_it():
    # A rate of two KPIs not nested (its numerator's events are not some of its
    # denominator's) runs above 100%: 12 baseline months 200, 220, ... have mean 210 and
    # m̄R 20, so limits 210 ± 2.66 × 20 = 156.8 to 263.2 and 2-sigma lines 210 ± 1.773 × 20
    # = 174.54 to 245.46; the 13th and 14th months, 210 and 200, are common cause. A ceiling
    # of 100 made the upper limit 100, below the mean, and each month a special cause.
    values = [200.0, 220.0] * 6 + [210.0, 200.0]
    series = verdicts.Series(tuple(months(14)), tuple(values))
    per_calls = KpiDef("r", "Offences per 100 calls", "p", Kind.RATE, Unit.PERCENT,
                       Better.HIGHER, numerator_kpi="a", denominator_kpi="b",
                       numerator_within_denominator=False, rate_test=RateTest.PER_DENOMINATOR)
    assert not per_calls.share
    got = verdicts.verdict_of(_result(per_calls, 205.0, 210.0), series)
    chart = got.chart
    assert (chart.mean, chart.mean_moving_range) == (210.0, 20.0)
    assert (round(chart.lower_limit, 2), round(chart.upper_limit, 2)) == (156.8, 263.2)
    assert (round(chart.lower_2sigma, 2), round(chart.upper_2sigma, 2)) == (174.54, 245.46)
    assert all(p.rule is None for p in chart.points)
    assert got.variation.verdict == stats.COMMON_CAUSE
    # A share cannot pass 100%: 90, 98, ... have mean 94 and m̄R 8, and an upper limit of
    # 94 + 21.28 = 115.28 stops at 100 (its 2-sigma line, 94 + 14.184 = 108.184, too).
    share = KpiDef("s", "Share", "p", Kind.RATE, Unit.PERCENT, Better.HIGHER,
                   numerator_kpi="a", denominator_kpi="b", numerator_within_denominator=True,
                   rate_test=RateTest.PROPORTIONS)
    assert share.share
    shares = verdicts.Series(tuple(months(12)), tuple([90.0, 98.0] * 6))
    chart = verdicts.verdict_of(_result(share, 94.0, 94.0), shares).chart
    assert (chart.mean, chart.upper_limit, chart.upper_2sigma) == (94.0, 100.0, 100.0)
    assert round(chart.lower_limit, 2) == 72.72



def test_a_rate_of_rows_its_windows_prove_nested_stops_at_100_and_one_they_do_not_does_not():
    """A rate of one dataset's rows, a numerator column over a denominator column (compliant
    audits of audited ones): tested as two proportions where every row of its windows has a
    numerator from 0 to its denominator (`stats.rate_rule`), so charted as a share too, its
    upper limit at 100 (the sample's crime data integrity read "88.7% to 101.6%" without
    it); where a row's numerator passes its denominator, neither. The months 90, 98, ... as
    above: mean 94, upper limit 94 + 2.66 x 8 = 115.28."""
    audits = KpiDef("cdi", "Audits compliant", "p", Kind.RATE, Unit.PERCENT, Better.HIGHER,
                    dataset="d", numerator="compliant", denominator="audited")
    assert not audits.share
    shares = verdicts.Series(tuple(months(12)), tuple([90.0, 98.0] * 6))

    def charted(outside: int):
        now = Window.year_ending(Month.parse("2025-09"))
        then = Window.year_ending(Month.parse("2024-09"))
        change = change_between(audits, 94.0, 94.0)
        result = KpiResult(audits, status_of(audits, change),
                           Measured(now, 94.0, 94, 100, outside, 0),
                           Measured(then, 94.0, 94, 100, 0, 0), change)
        return verdicts.verdict_of(result, shares).chart

    assert charted(0).upper_limit == 100.0
    assert round(charted(1).upper_limit, 2) == 115.28


@pytest.mark.parametrize(("unit", "multiplier", "values", "limits", "sigma2"), [
    # As a ratio (multiplier 0.01), 0.0 and 0.1 alternately: mean 0.05, m̄R 0.1, limits
    # 0.05 ± 0.266 = -0.216 to 0.316 and 2-sigma lines 0.05 ± 0.1773; a share is never below
    # 0 (the floor of a ratio, a unit that may be negative, was not drawn: -0.11 printed).
    (Unit.RATIO, 0.01, [0.0, 0.1] * 6, (0.0, 0.316), (0.0, 0.2273)),
    # 0.9 and 1.0: mean 0.95, limits 0.684 to 1.216; a share is at most 1 as a ratio (1.11
    # printed).
    (Unit.RATIO, 0.01, [0.9, 1.0] * 6, (0.684, 1.0), (0.7727, 1.0)),
    # Per 1,000 (multiplier 10), 900 and 1,000: mean 950, m̄R 100, limits 684 to 1,216 stop
    # at 1,000 per 1,000 (1,105.7 printed), the 2-sigma lines 772.7 to 1,127.3 too.
    (Unit.PER_1000, 10.0, [900.0, 1000.0] * 6, (684.0, 1000.0), (772.7, 1000.0)),
    # In percent, unscaled, as before: 90 and 100 give 73.4 to 116.6, stopped at 100.
    (Unit.PERCENT, 1.0, [90.0, 100.0] * 6, (68.4, 100.0), (77.27, 100.0)),
])
def test_a_share_in_any_unit_has_limits_from_0_to_all_of_its_rows(unit, multiplier, values,
                                                                   limits, sigma2):
    """Limits stop where the value cannot go, whatever unit a share is scaled to: from 0 to
    100 times its multiplier (`KpiDef.share_max`, `stats.chart_bounds`), as in percent."""
    kpi = KpiDef("k", "K", "p", Kind.WITHIN, unit, Better.HIGHER, dataset="d", value="t",
                 threshold=10.0, multiplier=multiplier)
    assert kpi.share and kpi.share_max == 100 * multiplier
    middle = (values[0] + values[1]) / 2
    chart = verdicts.verdict_of(_result(kpi, middle, middle),
                                verdicts.Series(tuple(months(12)), tuple(values))).chart
    assert (round(chart.lower_limit, 4), round(chart.upper_limit, 4)) == limits
    assert (round(chart.lower_2sigma, 4), round(chart.upper_2sigma, 4)) == sigma2


# A figure that cannot be negative, in a unit that can (a ratio, a number): months 0.5 and 4.5
# by turns, mean 2.5, every moving range 4, so limits 2.5 -+ 2.66 x 4 = -8.14 to 13.14 and
# 2-sigma lines 2.5 -+ 1.773 x 4 = -4.592 to 9.592, the lower ones stopped at 0 where the
# figure cannot go below it.
SIGNED_LIMITS = ((-8.14, 13.14), (-4.592, 9.592))
FLOORED_LIMITS = ((0.0, 13.14), (0.0, 9.592))


def _ratio_kpis() -> dict[str, KpiDef]:
    def rate(**keys) -> KpiDef:
        return KpiDef("r", "R", "p", Kind.RATE, Unit.RATIO, Better.LOWER, multiplier=0.01,
                      **keys)

    return {
        # a disproportionality: a ratio of two rates per head, its default unit a ratio
        "ratio_of_rates": KpiDef("d", "Disproportionality", "p", Kind.RATIO_OF_RATES,
                                 Unit.RATIO, Better.LOWER, dataset="ev",
                                 numerator="kind = 'b'", denominator="kind = 'w'",
                                 populations=("black", "white")),
        # a rate of one dataset's rows, a count of events over another column, as a ratio
        "rate_of_rows": rate(dataset="ev", numerator="arrests", denominator="hours",
                             numerator_within_denominator=False),
        # a rate of two counts of rows, as a ratio
        "rate_of_counts": rate(numerator_kpi="b", denominator_kpi="w",
                               rate_test=RateTest.PER_DENOMINATOR, counted_parts=True),
        # a rate of a sum (which may be a net amount) over a count: not known to be 0 or more
        "rate_of_a_sum": rate(numerator_kpi="net", denominator_kpi="w",
                              rate_test=RateTest.NONE),
    }


@pytest.mark.parametrize(("which", "negative", "want"), [
    ("ratio_of_rates", 0, FLOORED_LIMITS),
    # a row whose numerator or denominator is below 0: the figure can be, so no floor
    ("ratio_of_rates", 1, SIGNED_LIMITS),
    ("rate_of_rows", 0, FLOORED_LIMITS),
    ("rate_of_rows", 2, SIGNED_LIMITS),
    # rows not read (a rate of two KPIs has none of its own): its parts decide
    ("rate_of_counts", None, FLOORED_LIMITS),
    ("rate_of_a_sum", None, SIGNED_LIMITS),
])
def test_limits_stop_at_0_for_a_figure_that_cannot_be_negative_in_any_unit(which, negative,
                                                                            want):
    """docs/statistics.md, "Limits stop where the value cannot go", by what the figure is,
    not its unit: a ratio of rates printed limits "-5.5 to 9.3", a rate of two counts written
    as a ratio "-0.6 to 0.9". Only where its rows (or parts) cannot be negative: a rate of a
    column that can be keeps its limits below 0."""
    kpi = _ratio_kpis()[which]
    assert not kpi.share and kpi.unit not in stats.NON_NEGATIVE
    now = Window.year_ending(Month.parse("2025-09"))
    then = Window.year_ending(Month.parse("2024-09"))
    change = change_between(kpi, 2.5, 2.5)
    rows = {} if kpi.is_derived else {"outside": 3, "uncounted": 0, "negative": negative}
    result = KpiResult(kpi, status_of(kpi, change), Measured(now, 2.5, 30, 1200, **rows),
                       Measured(then, 2.5, 30, 1200, **rows), change)
    chart = verdicts.verdict_of(result, verdicts.Series(tuple(months(12)),
                                                        tuple([0.5, 4.5] * 6))).chart
    assert (chart.mean, chart.mean_moving_range) == (2.5, 4.0)
    assert ((round(chart.lower_limit, 4), round(chart.upper_limit, 4)),
            (round(chart.lower_2sigma, 4), round(chart.upper_2sigma, 4))) == want


@pytest.mark.parametrize("unit", [Unit.NUMBER, Unit.RATIO])
def test_rows_counted_stop_at_0_in_any_unit(unit):
    """A count of rows in a unit that may be negative (a number, a ratio): its limits stop at
    0, as in its unit `count`; a count of a value no row of which is checked does not."""
    rows = KpiDef("c", "C", "p", Kind.COUNT, unit, Better.LOWER, dataset="d")
    assert rows.counts_rows
    series = verdicts.Series(tuple(months(12)), tuple([0.5, 4.5] * 6))
    chart = verdicts.verdict_of(_result(rows, 2.5, 2.5), series).chart
    assert (round(chart.lower_limit, 4), round(chart.lower_2sigma, 4)) == (0.0, 0.0)
    valued = replace(rows, value="amount")
    assert not valued.counts_rows
    chart = verdicts.verdict_of(_result(valued, 2.5, 2.5), series).chart
    assert (round(chart.lower_limit, 4), round(chart.lower_2sigma, 4)) == (-8.14, -4.592)


def test_the_engine_stops_limits_at_0_by_the_rows_behind_a_figure(tmp_path, cli):
    """End to end: stops of two kinds a month, 1 to 9 'b' stops and 20 'w' ones, populations
    1,000 and 10,000. A disproportionality (a ratio of rates, unit ratio) of b / 1,000 over
    w / 10,000 is b / 2 a month: 0.5, 4, 0.5, 4.5, 1, 0.5, 4, 0.5, 1, 4.5, 0.5, 1 in 2024,
    mean 22.5 / 12 = 1.875, m̄R 30.5 / 11 = 2.7727, limits 1.875 -+ 7.3755 = -5.50 to 9.25
    (printed "-5.5 to 9.3"), the lower stopped at 0. The same months of a rate of a column
    that can be negative (a net change in stops per w stop, written as a ratio) keep theirs
    below 0."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "kpi.toml").write_text("""
[project]
name = "T"
baseline = "2024-12"

[population]
black = 1000
white = 10000

[datasets.ev]
date = "day"
[datasets.ev.columns]
day = "date"
kind = "str"
net = "int"

[[priorities]]
id = "p"
title = "Plan"

[[kpis]]
id = "disp"
title = "Stop disproportionality"
priority = "p"
kind = "ratio_of_rates"
dataset = "ev"
numerator = "kind = 'b'"
denominator = "kind = 'w'"
populations = ["black", "white"]
better = "lower"

[[kpis]]
id = "net"
title = "Net change per W stop"
priority = "p"
kind = "rate"
dataset = "ev"
numerator = "net"
denominator = "kind = 'w'"
unit = "ratio"
multiplier = 0.01
better = "lower"
""", encoding="utf-8")
    b = [1, 8, 1, 9, 2, 1, 8, 1, 2, 9, 1, 2] * 2
    lines = ["day,kind,net"]
    for i, n in enumerate(b):
        month = f"{2024 + i // 12}-{i % 12 + 1:02d}"
        # net: n x 10 on the first w row of a month, -1 on every other (its total, over 20 w
        # stops, is (10n - 19) / 20 as a ratio: -0.45 to 3.55)
        lines += [f"{month}-{j + 1:02d},b,0" for j in range(n)]
        lines += [f"{month}-{j + 1:02d},w,{10 * n if j == 0 else -1}" for j in range(20)]
    path = root / "ev.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli(["--project", root, "ingest", "ev", path]).exit_code == 0
    result = cli(["--project", root, "summary", "--period", "2025-12", "--format", "json"])
    assert result.exit_code == 0, result.output
    got = {k["id"]: k["variation"] for k in json.loads(result.stdout)["kpis"]}
    mean, spread = 22.5 / 12, 2.66 * 30.5 / 11
    assert got["disp"]["mean"] == pytest.approx(mean)
    assert got["disp"]["upper"] == pytest.approx(mean + spread)
    assert round(mean - spread, 2) == -5.50 and got["disp"]["lower"] == 0.0
    # net: (10b - 19) / 20 a month, mean (450 - 228) / 240 = 0.925, its moving ranges half
    # those of b as the disproportionality's, so limits 0.925 -+ 7.3755: -6.45, kept
    mean = (10 * sum(b[:12]) - 19 * 12) / 240
    assert got["net"]["mean"] == pytest.approx(mean) == 0.925
    assert got["net"]["lower"] == pytest.approx(mean - spread)
    assert round(got["net"]["lower"], 2) == -6.45


# ---------------------------------------------------------------------------------------------
# Months not final yet (`provisional_months`): left out of the chart, not missing from it


def test_months_not_final_give_no_baseline_and_are_not_called_missing():
    """By hand: 14 months from 2024-08, 10 and 12 by turns, then 11 and 30, the last 3 not
    final. The chart leaves 2025-07 to 2025-09 out, and its limits are trial limits from the
    11 months before them: mean 120 / 11 = 10.909, every moving range 2, limits 10.909 -+
    2.66 x 2 = 5.589 to 16.229. It had none: "the baseline (2024-08 to 2025-07) has no value
    for 2025-07", a month holding 12 rows, the last of the first 12 months taken as the
    baseline."""
    values = [10.0, 12.0] * 6 + [11.0, 30.0]
    got = stats.xmr(months(14, "2024-08"), values, Better.LOWER, provisional=3)
    mean = sum(values[:11]) / 11
    assert got.baseline == ("2024-08", "2025-06") and got.trial
    assert (got.mean, got.mean_moving_range) == (pytest.approx(mean), 2.0)
    assert (got.lower_limit, got.upper_limit) == (pytest.approx(mean - 5.32),
                                                  pytest.approx(mean + 5.32))
    assert (round(got.lower_limit, 2), round(got.upper_limit, 2)) == (5.59, 16.23)
    assert got.note == ("trial limits: 11 months whose figures are final, fewer than the 12 a "
                        "baseline needs")
    assert got.provisional == ("2025-07", "2025-08", "2025-09")
    # The months left out have no value on the chart and mark nothing: the latest month
    # judged is 2025-06, of common cause (the 30 of 2025-09 is not read).
    assert [p.value for p in got.points[-3:]] == [None, None, None]
    assert stats.variation(got).verdict == stats.COMMON_CAUSE and got.signals == ()
    # The same months, all final: limits from the first 12 (mean 11), 30 a special cause.
    final = stats.xmr(months(14, "2024-08"), values, Better.LOWER)
    assert (final.baseline, final.mean) == (("2024-08", "2025-07"), 11.0)
    assert stats.variation(final).verdict == stats.SPECIAL_CONCERN


def test_months_not_final_after_a_recalculation_leave_the_segment_its_months_before_them():
    """By hand: 16 months of 10 and 12, a recalculation at 2025-02, then 30, 32, 30, 32, 30
    and 31, 31, 31 for 2025-07 to 2025-09, not final. The last segment's trial limits come
    from 2025-02 to 2025-06: mean 154 / 5 = 30.8, moving ranges 2, limits 25.48 to 36.12. It
    had none: "has no value for 2025-07, 2025-08, 2025-09"."""
    values = [10.0, 12.0] * 8 + [30.0, 32.0, 30.0, 32.0, 30.0, 31.0, 31.0, 31.0]
    got = stats.xmr(months(24), values, Better.LOWER, rebase=["2025-02"], provisional=3)
    assert got.baseline == ("2025-02", "2025-06") and got.trial
    assert (got.mean, got.mean_moving_range) == (pytest.approx(30.8), 2.0)
    assert (got.lower_limit, got.upper_limit) == (pytest.approx(25.48), pytest.approx(36.12))
    assert got.segments[0].baseline == ("2023-10", "2024-09")
    assert stats.variation(got).verdict == stats.COMMON_CAUSE


@pytest.mark.parametrize(("rebase", "baseline", "note"), [
    # A segment whose every month is not final has no month to take limits from.
    (["2025-08"], None, "no limits: the months from 2025-08 are not final yet"),
    # One final month: no moving range.
    (["2025-07"], None, "no limits: 1 month whose figures are final, and a moving range "
                        "needs 2"),
    # Months named that are not final yet give no limits, and are named as not final.
    ([], ("2024-10", "2025-09"), "no limits: the baseline (2024-10 to 2025-09) holds 2025-08, "
                                 "2025-09, whose figures are not final yet"),
])
def test_a_baseline_of_months_not_final_says_so(rebase, baseline, note):
    got = stats.xmr(months(24), BASE * 2, Better.LOWER, rebase=rebase, baseline=baseline,
                    provisional=2)
    assert (got.mean, got.note) == (None, note)
    assert "no value" not in got.note


def test_a_figure_holding_months_not_final_does_not_overrule_the_limits():
    """By hand: a charge rate of 29% and 31% by turns for 21 months, then 5% in the last 3,
    whose outcomes are not recorded yet (`provisional_months = 3`). The chart leaves them
    out: limits from the first 12 months, mean 30, moving ranges 2, 30 -+ 5.32 = 24.68% to
    35.32%. A target of 24% (higher better) is below the lower limit: consistently passed.
    The year's figure, (5 x 29 + 4 x 31 + 3 x 5) / 12 = 284 / 12 = 23.67%, misses it only by
    the months not final, and overruled the limits: "hit and miss"."""
    kpi = KpiDef("chg", "Charge rate", "p", Kind.RATE, Unit.PERCENT, Better.HIGHER,
                 dataset="d", target=24.0, provisional_months=3)
    values = [29.0, 31.0] * 10 + [29.0] + [5.0] * 3
    current = (5 * 29 + 4 * 31 + 3 * 5) / 12
    assert current == sum(values[12:]) / 12
    untested = (stats.not_tested("its last 3 months are not final"), None)
    got = verdicts.verdict_of(_result(kpi, current, 30.0),
                              verdicts.Series(tuple(months(24)), tuple(values)), untested)
    assert (round(got.chart.lower_limit, 2), round(got.chart.upper_limit, 2)) == (24.68, 35.32)
    assert (got.target_met, got.assurance) == (False, stats.CONSISTENTLY_PASS)
    assert not stats.describes(got.chart, ("2024-10", "2025-09"))
    assert stats.describes(got.chart, ("2024-10", "2025-06"))
    # The same months all final: the 5s are the process's, on the chart (special causes), and
    # the figure that misses the target is one the limits are drawn for: hit and miss.
    final = verdicts.verdict_of(_result(replace(kpi, provisional_months=0), current, 30.0),
                                verdicts.Series(tuple(months(24)), tuple(values)))
    assert (final.target_met, final.assurance) == (False, stats.HIT_AND_MISS)
