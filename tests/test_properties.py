"""Invariants, checked by Hypothesis on generated extracts ingested into throwaway projects:
a KPI broken down by LPA sums to the force total for additive kinds; the row order of an
extract never changes a result; splitting one extract into several files changes nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import pytest
import reference_engine as ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi import engine
from kpi.catalogue import load_project
from kpi.ingest import load
from kpi.periods import Comparison, Month

MONTHS = [f"{2023 + (3 + i) // 12}-{(3 + i) % 12 + 1:02d}" for i in range(30)]  # 2023-04..2025-09
LPAS = ("Birmingham", "Coventry", "Dudley")
OFFENCES = ("burglary", "theft", "drugs")

PROJECT = """\
[project]
name = "Properties"

[population]
force = 50000

[datasets.crimes]
date = "day"
[datasets.crimes.columns]
day = "date"
lpa = "str"
offence = "str"
loss = { type = "float", required = false }
minutes = "int"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "crimes"
title = "Crimes"
priority = "p"
kind = "count"
dataset = "crimes"
better = "lower"

[[kpis]]
id = "thefts"
title = "Thefts"
priority = "p"
kind = "count"
dataset = "crimes"
filter = "offence = 'theft'"

[[kpis]]
id = "loss"
title = "Loss"
priority = "p"
kind = "sum"
dataset = "crimes"
value = "loss"
better = "lower"

[[kpis]]
id = "harm"
title = "Harm"
priority = "p"
kind = "weighted_score"
dataset = "crimes"
weights = "weights.csv"
weight_key = "offence"

[[kpis]]
id = "quick"
title = "Within 30 minutes"
priority = "p"
kind = "within"
dataset = "crimes"
value = "minutes"
threshold = 30

[[kpis]]
id = "burglary_rate"
title = "Burglary share"
priority = "p"
kind = "rate"
dataset = "crimes"
numerator = "offence = 'burglary'"

[[kpis]]
id = "mean_minutes"
title = "Mean minutes"
priority = "p"
kind = "mean"
dataset = "crimes"
value = "minutes"

[[kpis]]
id = "median_minutes"
title = "Median minutes"
priority = "p"
kind = "median"
dataset = "crimes"
value = "minutes"

[[kpis]]
id = "p75_loss"
title = "75th percentile loss"
priority = "p"
kind = "percentile"
percentile = 75
dataset = "crimes"
value = "loss"

[[kpis]]
id = "per_1000"
title = "Crimes per 1,000"
priority = "p"
kind = "per_1000"
dataset = "crimes"
population = "force"

[[kpis]]
id = "theft_share"
title = "Thefts per 100 crimes"
priority = "p"
kind = "rate"
numerator_kpi = "thefts"
denominator_kpi = "crimes"
"""
ADDITIVE = ("crimes", "thefts", "loss", "harm")

row = st.fixed_dictionaries({
    "month": st.sampled_from(MONTHS),
    "day": st.integers(1, 28),
    "lpa": st.sampled_from(LPAS),
    "offence": st.sampled_from(OFFENCES),
    "loss": st.one_of(st.none(), st.integers(0, 100_000).map(lambda p: p / 100)),
    "minutes": st.integers(0, 120),
})
# Every month holds at least one row, so every window is complete.
ANCHORS = [{"month": m, "day": 1, "lpa": LPAS[i % 3], "offence": OFFENCES[i % 3],
            "loss": float(i), "minutes": i} for i, m in enumerate(MONTHS)]
PROPERTY_SETTINGS = settings(max_examples=15, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


def to_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"day": f"{r['month']}-{r['day']:02d}", "lpa": r["lpa"], "offence": r["offence"],
          "loss": r["loss"], "minutes": r["minutes"]} for r in rows],
        schema={"day": pl.String, "lpa": pl.String, "offence": pl.String, "loss": pl.Float64,
                "minutes": pl.Int64})


def build(folder: Path, parts: list[pl.DataFrame]):
    """A project in folder holding the given extract files, all loaded in one ingest as parts
    of one extract (--parts). Each file carries its number in a column kpi ignores, so two
    parts holding the same rows are still two files, not one file named twice."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kpi.toml").write_text(PROJECT, encoding="utf-8")
    (folder / "weights.csv").write_text("offence,weight\nburglary,365\ntheft,10.5\n",
                                        encoding="utf-8")
    files = []
    for number, part in enumerate(parts):
        path = folder / f"extract-{number}.csv"
        part.with_columns(pl.lit(number).alias("part")).write_csv(path)
        files.append(str(path))
    project = load_project(folder)
    load(project, "crimes", files, parts=True)
    return project


def figures(project, vs: Comparison = Comparison.BASELINE) -> dict[str, tuple]:
    report = engine.evaluate(project, Month.parse("2025-09"), vs)
    return {r.kpi.id: (r.status, r.current.value, r.comparison.value, r.change)
            for r in report.results}


def close(left: float | None, right: float | None) -> bool:
    """Equal, or both missing; sums of floats may differ in the last bit with the order they
    are added in, so values compare to 1e-9 relative."""
    if left is None or right is None:
        return left is None and right is None
    return left == pytest.approx(right, rel=1e-9, abs=1e-9)


def assert_same(left: dict[str, tuple], right: dict[str, tuple]) -> None:
    assert left.keys() == right.keys()
    for kpi_id, (status, current, comparison, change) in left.items():
        other = right[kpi_id]
        assert status == other[0], kpi_id
        assert close(current, other[1]), kpi_id
        assert close(comparison, other[2]), kpi_id
        if change is None or other[3] is None:
            assert change is other[3], kpi_id
            continue
        for field in ("absolute", "percent", "points"):
            assert close(getattr(change, field), getattr(other[3], field)), (kpi_id, field)


@PROPERTY_SETTINGS
@given(rows=st.lists(row, max_size=80))
def test_breakdown_by_lpa_sums_to_the_force_total(rows):
    with tempfile.TemporaryDirectory() as folder:
        project = build(Path(folder), [to_frame(ANCHORS + rows)])
        report = engine.evaluate(project, Month.parse("2025-09"), Comparison.YOY)
        for kpi_id in ADDITIVE:
            result = report.result(kpi_id)
            parts = ref.breakdown(project, result.kpi, "lpa", result.current.window,
                                     result.comparison.window)
            assert set(parts["part"]) <= set(LPAS)
            assert parts["current"].sum() == pytest.approx(result.current.value, rel=1e-9)
            assert parts["comparison"].sum() == pytest.approx(result.comparison.value, rel=1e-9)
        # A rate is not additive, but the counts behind it are.
        rate = report.result("burglary_rate")
        shares = ref.breakdown(project, rate.kpi, "lpa", rate.current.window, None)
        burglaries = sum(r["current"] / 100 * n for r, n in zip(
            shares.iter_rows(named=True), _rows_per_lpa(project, rate.current.window, shares),
            strict=True))
        assert burglaries == pytest.approx(rate.current.numerator, rel=1e-9)


def _rows_per_lpa(project, window, shares: pl.DataFrame) -> list[int]:
    crimes = project.kpi("crimes")
    counts = ref.breakdown(project, crimes, "lpa", window, None)
    lookup = dict(zip(counts["part"].to_list(), counts["current"].to_list(), strict=True))
    return [int(lookup[part]) for part in shares["part"].to_list()]


@PROPERTY_SETTINGS
@given(rows=st.lists(row, max_size=80), seed=st.randoms(use_true_random=False))
def test_row_order_never_changes_a_result(rows, seed):
    shuffled = ANCHORS + rows
    seed.shuffle(shuffled)
    with tempfile.TemporaryDirectory() as folder:
        original = build(Path(folder) / "a", [to_frame(ANCHORS + rows)])
        reordered = build(Path(folder) / "b", [to_frame(shuffled)])
        for vs in (Comparison.BASELINE, Comparison.FYTD):
            assert_same(figures(original, vs), figures(reordered, vs))


@PROPERTY_SETTINGS
@given(rows=st.lists(row, max_size=80),
       cuts=st.lists(st.integers(1, 109), min_size=1, max_size=4, unique=True))
def test_splitting_an_extract_into_files_changes_nothing(rows, cuts):
    frame = to_frame(ANCHORS + rows)
    bounds = [0, *sorted(c for c in cuts if c < frame.height), frame.height]
    parts = [frame.slice(a, b - a) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    with tempfile.TemporaryDirectory() as folder:
        whole = build(Path(folder) / "whole", [frame])
        split = build(Path(folder) / "split", parts)
        assert_same(figures(whole), figures(split))
        assert_same(figures(whole, Comparison.PREVIOUS), figures(split, Comparison.PREVIOUS))


def _same_breakdown(one: pl.DataFrame, other: pl.DataFrame) -> None:
    assert one["part"].to_list() == other["part"].to_list()
    for column in ("current", "comparison", "absolute", "percent", "points"):
        for left, right in zip(one[column].to_list(), other[column].to_list(), strict=True):
            assert close(left, right), column


@PROPERTY_SETTINGS
@given(rows=st.lists(row, max_size=80),
       vs=st.sampled_from([Comparison.BASELINE, Comparison.YOY, Comparison.PREVIOUS]))
def test_grouped_breakdowns_equal_one_breakdown_at_a_time(rows, vs):
    """engine.breakdowns (every KPI of a dataset split by a column in one query, as the board
    paper asks) gives each KPI the frame engine.breakdown gives it alone: every kind, with a
    comparison and without (a top chart), parts a KPI's filter never reaches left out."""
    import duckdb

    frame = to_frame(ANCHORS + rows)
    with tempfile.TemporaryDirectory() as folder:
        project = build(Path(folder), [frame])
        report = engine.evaluate(project, Month.parse("2025-09"), vs)
        requests = []
        for result in report.results:
            if result.kpi.is_derived:
                continue  # a rate of two KPIs has no breakdown
            requests += [(result.kpi, "lpa", result.current.window, result.comparison.window),
                         (result.kpi, "offence", result.current.window, None)]
        grouped = engine.breakdowns(project, requests)
        assert len(grouped) == len(requests)
        for kpi, column, current, comparison in requests:
            alone = ref.breakdown(project, kpi, column, current, comparison)
            _same_breakdown(grouped[(kpi.id, column, current, comparison)], alone)
        # And against SQL over the extract itself: thefts and the median minutes by LPA, for
        # every LPA with a selected row in either window.
        con = duckdb.connect()
        con.register("crimes", frame.with_columns(pl.col("day").str.slice(0, 7).alias("month")))
        for kpi_id, selected, value in (("thefts", "offence = 'theft'", "count(*)"),
                                        ("median_minutes", "true", "median(minutes)")):
            result = report.result(kpi_id)
            current = [str(m) for m in result.current.window.months()]
            either = current + [str(m) for m in result.comparison.window.months()]
            expected = dict(con.execute(
                f"SELECT lpa, {value} FILTER (WHERE month IN ?) FROM crimes "
                f"WHERE {selected} AND month IN ? GROUP BY lpa", [current, either]).fetchall())
            got = grouped[(kpi_id, "lpa", result.current.window, result.comparison.window)]
            assert set(got["part"]) == set(expected)
            for part, value in zip(got["part"], got["current"], strict=True):
                assert close(value, expected[part]), (kpi_id, part)


@PROPERTY_SETTINGS
@given(rows=st.lists(row, max_size=80), months=st.sampled_from([2, 12, 24]),
       end=st.sampled_from(["2025-09", "2025-03", "2024-06"]))
def test_monthly_series_of_many_kpis_at_once_equal_each_alone(rows, months, end):
    """engine.monthly_series_all (one query per dataset, as the board paper's trend figures
    ask) gives each KPI the frame engine.monthly_series gives it alone, a rate of two KPIs
    included."""
    with tempfile.TemporaryDirectory() as folder:
        project = build(Path(folder), [to_frame(ANCHORS + rows)])
        last = Month.parse(end)
        requests = [(kpi, last, months) for kpi in project.kpis]
        together = engine.monthly_series_all(project, requests)
        assert len(together) == len(requests)
        for kpi in project.kpis:
            alone = ref.monthly_series(project, kpi, last, months)
            got = together[(kpi.id, last, months)]
            assert got["month"].to_list() == alone["month"].to_list()
            for column in ("value", "rolling_12"):
                for left, right in zip(got[column].to_list(), alone[column].to_list(),
                                       strict=True):
                    assert close(left, right), (kpi.id, column)
