"""A rate of two KPIs (`numerator_kpi`, `denominator_kpi`) reads each of them over its own
window: the figure it divides is the one that KPI itself reports for that window, or the
catalogue is refused.

The rate reads both parts over its window (a year ending the period less its lag, or the
financial year to date). A snapshot part was summed over the 12 months (24 incidents per 120
officers, 20%, where 10 officers were in post: 240%), and a part with a larger `lag` was read
over months its own figure leaves out. Hypothesis draws every kind of part, lags, comparisons
and periods on the tiny fixture (its kpi.toml describes the rows, so counts are known by
hand): a rate kpi accepts divides the parts' own figures, over windows that end no later
than the parts' own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fixtures.generated import tiny_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi import engine
from kpi.catalogue import load_project
from kpi.errors import ConfigError
from kpi.periods import Comparison, Month

# Base KPIs of every kind the tiny fixture's rows can give, besides its own (incidents,
# within_15, fraud, thefts, officers, calls, days_to_finalise, fraud_quick).
EXTRA = """
[population]
force = 2000
birmingham = 1000
coventry = 500

[[kpis]]
id = "minutes_sum"
title = "Minutes"
priority = "community"
kind = "sum"
dataset = "incidents"
value = "minutes"

[[kpis]]
id = "minutes_within"
title = "Within 15"
priority = "community"
kind = "within"
dataset = "incidents"
value = "minutes"
threshold = 15

[[kpis]]
id = "minutes_mean"
title = "Mean minutes"
priority = "community"
kind = "mean"
dataset = "incidents"
value = "minutes"

[[kpis]]
id = "minutes_p90"
title = "90th percentile minutes"
priority = "community"
kind = "percentile"
percentile = 90
dataset = "incidents"
value = "minutes"

[[kpis]]
id = "officer_share"
title = "Officers' share of staff"
priority = "community"
kind = "snapshot"
dataset = "staff"
numerator = "role = 'officer'"

[[kpis]]
id = "per_head"
title = "Incidents per 1,000"
priority = "community"
kind = "per_1000"
dataset = "incidents"
population = "force"

[[kpis]]
id = "lpa_ratio"
title = "Birmingham against Coventry"
priority = "community"
kind = "ratio_of_rates"
dataset = "incidents"
numerator = "lpa = 'Birmingham'"
denominator = "lpa = 'Coventry'"
populations = ["birmingham", "coventry"]
"""

RATE = """
[[kpis]]
id = "the_rate"
title = "A rate of two KPIs"
priority = "community"
kind = "rate"
numerator_kpi = "{num}"
denominator_kpi = "{den}"
lag = {lag}
"""

# id -> (kind, lag as tiny and EXTRA declare it), and `fraud_late`, fraud one quarter behind
PARTS = {"incidents": 0, "within_15": 0, "fraud": 0, "thefts": 0, "officers": 0,
         "days_to_finalise": 3, "fraud_quick": 0, "minutes_sum": 0, "minutes_within": 0,
         "minutes_mean": 0, "minutes_p90": 0, "officer_share": 0, "per_head": 0,
         "lpa_ratio": 0, "fraud_late": 3}
LATE = """
[[kpis]]
id = "fraud_late"
title = "Fraud, a quarter behind"
priority = "community"
kind = "count"
dataset = "incidents"
filter = "type = 'fraud'"
lag = 3
"""
SNAPSHOTS = {"officers", "officer_share"}


def _by_hand(kpi_id: str, months: list[Month]) -> int | None:
    """The tiny fixture's counts, from its kpi.toml's description of the rows: April 2023 to
    March 2024, 2 thefts and 1 assault a month; from April 2024, 1 theft and 1 fraud."""
    early = [m for m in months if m < Month.of(2024, 4)]
    late = len(months) - len(early)
    return {"incidents": 3 * len(early) + 2 * late, "thefts": 2 * len(early) + late,
            "fraud": late, "fraud_late": late}.get(kpi_id)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("rate-of-kpis")
    tiny_project(root)
    shutil.copy(root / "kpi.toml", root / "tiny.toml")
    return root


def _project(folder: Path, num: str, den: str, lag: int):
    toml = (folder / "tiny.toml").read_text(encoding="utf-8") + EXTRA + LATE
    (folder / "kpi.toml").write_text(toml + RATE.format(num=num, den=den, lag=lag),
                                     encoding="utf-8")
    return load_project(folder)


def test_a_rate_of_a_snapshot_is_refused_naming_the_key(folder):
    """24 incidents in the year ending September 2025 per officer in post (10): 240%, never
    the 20% of 24 per 120 (the 12 months' headcounts summed)."""
    with pytest.raises(ConfigError) as caught:
        _project(folder, "incidents", "officers", 0)
    assert (":216: KPI 'the_rate', key 'denominator_kpi': 'officers' is a snapshot (as at one "
            "month), which a rate of two KPIs would sum over its 12 months") in str(caught.value)


def test_a_rate_reading_past_its_parts_lag_is_refused_and_one_of_their_lag_reads_theirs(
        folder):
    with pytest.raises(ConfigError, match="'fraud_late' runs 3 months behind .*: give the "
                                          "rate lag = 3"):
        _project(folder, "fraud_late", "incidents", 0)
    project = _project(folder, "fraud_late", "incidents", 3)
    rate = engine.evaluate(project, Month.of(2025, 9)).result("the_rate")
    # The year ending June 2025: 12 frauds of 24 incidents.
    assert rate.current.window.label == "year ending June 2025"
    assert (rate.current.numerator, rate.current.denominator, rate.current.value) == (
        12, 24, 50.0)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(num=st.sampled_from(sorted(PARTS)), den=st.sampled_from(sorted(PARTS)),
       lag=st.integers(0, 4), period=st.integers(0, 17),
       vs=st.sampled_from(list(Comparison)))
def test_a_rate_of_two_kpis_divides_its_parts_own_figures(folder, num, den, lag, period, vs):
    try:
        project = _project(folder, num, den, lag)
    except ConfigError as exc:
        # Refused only for a reason the catalogue documents: a snapshot part, or a part
        # further behind than the rate.
        assert {num, den} & SNAPSHOTS or max(PARTS[num], PARTS[den]) > lag, str(exc)
        return
    assert not {num, den} & SNAPSHOTS and max(PARTS[num], PARTS[den]) <= lag
    when = Month.of(2024, 4) + period
    try:
        rate = engine.evaluate(project, when, vs).result("the_rate")
    except Exception as exc:  # a period no data reaches: refused, as for any KPI
        assert "no data" in str(exc)
        return
    if rate.current is None:
        return
    window = rate.current.window
    for part_id, figure in ((num, rate.current.numerator), (den, rate.current.denominator)):
        part = project.known_kpi(part_id)
        # Never past the months the part reads for the same period.
        own = engine.evaluate(project, when, vs, [part]).result(part_id)
        if own.current is not None:
            assert window.end <= own.current.window.end
        # The part's own figure over the rate's window: its report for the period whose
        # window that is.
        theirs = engine.evaluate(project, window.end + part.lag, vs, [part]).result(part_id)
        assert theirs.current is not None and theirs.current.window == window
        assert figure == theirs.current.value
        hand = _by_hand(part_id, window.months())
        if hand is not None:
            assert figure == hand
