"""The summary reads each dataset once, month by month, and builds every window from its
months (kpi.engine._plan, ByMonth): counts, sums and the parts of rates, shares and means are
added up, and medians, percentiles and weighted scores are read off per-month counts of each
distinct value added up over the window. Checked here, for every kind, against the window
computed directly: one query over the window's rows (the aggregate of each KPI's components,
`engine.components_of`, with Polars' own median and quantile and the weights joined on), as
the engine computed windows before. Windows are drawn at random, including windows with
months the data does not hold, months with no row a KPI's filter selects, and single months
(the verdicts' monthly values). Both ways of reading the months are checked: one grouped
query (small tables) and one query per month (large ones).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi import engine, verdicts
from kpi.catalogue import Kind, load_project
from kpi.ingest import load
from kpi.periods import Comparison, Month, Window, WindowKind

MONTHS = [str(Month.parse("2023-04") + i) for i in range(30)]  # 2023-04..2025-09
OFFENCES = ("burglary", "theft", "drugs", "robbery")

PROJECT = """\
[project]
name = "One pass"

[population]
force = 50000
black = 2000
white = 40000

[datasets.crimes]
date = "day"
[datasets.crimes.columns]
day = "date"
offence = "str"
ethnicity = "str"
loss = { type = "float", required = false }
minutes = { type = "int", required = false }

[[priorities]]
id = "p"
title = "P"
"""

KPIS = [
    ("crimes", "count", {}),
    ("thefts", "count", {"filter": "offence = 'theft'"}),
    ("robberies", "count", {"filter": "offence = 'robbery'"}),  # rare: months with none
    ("minutes_total", "sum", {"value": "minutes"}),
    ("loss", "sum", {"value": "loss"}),
    ("burglary_rate", "rate", {"numerator": "offence = 'burglary'"}),
    ("theft_loss_rate", "rate", {"filter": "loss IS NOT NULL",
                                 "numerator": "offence = 'theft'"}),
    ("quick", "within", {"value": "minutes", "threshold": 30}),
    ("mean_minutes", "mean", {"value": "minutes"}),
    # A value that is NaN or infinite where minutes is 0: the KPI then has no figure.
    ("loss_per_minute", "mean", {"value": "loss / minutes"}),
    ("median_minutes", "median", {"value": "minutes"}),
    ("median_loss_per_minute", "median", {"value": "loss / minutes"}),
    ("median_theft_minutes", "median", {"value": "minutes", "filter": "offence = 'theft'"}),
    ("median_robbery_loss", "median", {"value": "loss", "filter": "offence = 'robbery'"}),
    ("p75_loss", "percentile", {"value": "loss", "percentile": 75}),
    ("p90_minutes", "percentile", {"value": "minutes", "percentile": 90}),
    ("per_1000", "per_1000", {"population": "force"}),
    ("harm", "weighted_score", {"weights": "weights.csv", "weight_key": "offence"}),
    ("disproportionality", "ratio_of_rates", {"numerator": "ethnicity = 'Black'",
                                              "denominator": "ethnicity = 'White'",
                                              "populations": ["black", "white"]}),
]


def _toml_value(value) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)


def project_toml() -> str:
    text = PROJECT
    for kpi_id, kind, extra in KPIS:
        text += (f'\n[[kpis]]\nid = "{kpi_id}"\ntitle = "{kpi_id}"\npriority = "p"\n'
                 f'kind = "{kind}"\ndataset = "crimes"\n')
        text += "".join(f"{key} = {_toml_value(value)}\n" for key, value in extra.items())
    return text


row = st.fixed_dictionaries({
    "month": st.sampled_from(MONTHS),
    "day": st.integers(1, 28),
    "offence": st.sampled_from(OFFENCES[:3]) | st.just("robbery"),
    "ethnicity": st.sampled_from(("Black", "White", "Asian")),
    "loss": st.none() | st.integers(0, 5_000).map(lambda p: p / 100),
    "minutes": st.none() | st.integers(0, 90),
})
window = st.tuples(st.integers(-3, 32), st.integers(0, 14)).map(
    lambda t: Window(WindowKind.YE, Month.parse("2023-04") + t[0],
                     Month.parse("2023-04") + t[0] + t[1]))


def build(folder: Path, rows: list[dict]):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kpi.toml").write_text(project_toml(), encoding="utf-8")
    (folder / "weights.csv").write_text("offence,weight\nburglary,365\ntheft,10.5\n"
                                        "robbery,0.1\n", encoding="utf-8")
    frame = pl.DataFrame(
        [{"day": f"{r['month']}-{r['day']:02d}", "offence": r["offence"],
          "ethnicity": r["ethnicity"], "loss": r["loss"], "minutes": r["minutes"]}
         for r in rows],
        schema={"day": pl.String, "offence": pl.String, "ethnicity": pl.String,
                "loss": pl.Float64, "minutes": pl.Int64})
    frame.write_csv(folder / "crimes.csv")
    project = load_project(folder)
    load(project, "crimes", [str(folder / "crimes.csv")])
    return project


def direct(project, kpi, window: Window, rows: dict[str, pl.LazyFrame]) -> dict:
    """A KPI's components over one window in one query over the window's rows. The KPI's
    prepared rows (`engine.prepare`: the store's table with its weights joined on) are read
    from the store once per project built and kept in `rows` (KPI id -> the rows in memory);
    each window's aggregate is still its own query over them."""
    if kpi.id not in rows:
        rows[kpi.id] = engine.prepare(project, "crimes", [kpi]).collect().lazy()
    frame = rows[kpi.id]
    parts = engine.components_of(kpi, frame, window)
    return frame.select(**parts).collect().row(0, named=True)


def same(project, kpi, got: dict, want: dict) -> None:
    """Whole numbers equal to the bit; other numbers to 1e-12 relative (a sum of floats
    changes in its last bits with the order it is added in)."""
    if kpi.kind in (Kind.MEDIAN, Kind.PERCENTILE):
        # The direct query gives the values either side of the position; the figure is
        # their exact interpolation, as `engine._ordered` takes it.
        stat = (engine._interpolated(want["den"], engine.quantile_of(kpi), want["lower"],
                                     want["upper"]) if want["den"] else None)
        want = {"stat": stat, "den": want["den"],
                engine.NONFINITE: want.get(engine.NONFINITE, 0)}
        if want[engine.NONFINITE]:  # no figure: where NaN ranks does not matter
            want["stat"] = got["stat"]
    assert got.keys() == want.keys(), kpi.id
    for part, value in want.items():
        if value is None or got[part] is None:
            assert (got[part], value) in ((None, None), (None, 0), (0, None)), (kpi.id, part)
        elif isinstance(value, int) and not isinstance(value, bool):
            assert got[part] == value and isinstance(got[part], int), (kpi.id, part)
        elif math.isnan(value):
            assert math.isnan(got[part]), (kpi.id, part)
        else:
            assert got[part] == pytest.approx(value, rel=1e-12, abs=1e-12), (kpi.id, part)
    value, expected = engine.value_of(kpi, got, project), engine.value_of(kpi, want, project)
    assert (value is None) == (expected is None), kpi.id
    if value is not None:
        assert value == pytest.approx(expected, rel=1e-12), kpi.id


SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(rows=st.lists(row, min_size=1, max_size=120),
       dropped=st.sets(st.sampled_from(MONTHS), max_size=8),
       windows=st.lists(window, min_size=1, max_size=4),
       month_by_month=st.booleans(), prefetch=st.booleans())
def test_windows_summed_from_months_equal_one_query_over_the_window(
        rows, dropped, windows, month_by_month, prefetch, monkeypatch_module):
    rows = [r for r in rows if r["month"] not in dropped] or rows[:1]
    monkeypatch_module.setattr(engine, "MONTH_BY_MONTH_ROWS", 0 if month_by_month else 10**12)
    with tempfile.TemporaryDirectory() as folder:
        project = build(Path(folder), rows)
        measures = {k.id: k for k in project.kpis}
        read = sorted({str(m) for w in windows for m in w.months()})
        by_month = engine._plan(project, "crimes", measures, read, None).run()
        if prefetch:
            by_month.prefetch(windows)
        rows_read: dict[str, pl.LazyFrame] = {}
        for w in windows:
            for kpi in measures.values():
                same(project, kpi, by_month.window(kpi.id, w),
                     direct(project, kpi, w, rows_read))
        # Each month read (the verdicts' monthly values); a month without rows is absent.
        monthly = by_month.monthly()
        held = {r["month"] for r in rows}
        for kpi in measures.values():
            assert set(monthly[kpi.id]) == held & set(read), kpi.id
            for month, got in monthly[kpi.id].items():
                one = Month.parse(month)
                # A fraction's exact pieces ride along (for sums over months, months_part).
                pieces = {k for k in got if k.endswith(engine.PIECES)}
                assert {k.split("\t")[0] for k in pieces} <= set(got), kpi.id
                same(project, kpi, {k: v for k, v in got.items() if k not in pieces},
                     direct(project, kpi, Window(WindowKind.AT, one, one), rows_read))


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@SETTINGS
@given(rows=st.lists(row, min_size=1, max_size=120),
       dropped=st.sets(st.sampled_from(MONTHS[:-1]), max_size=6),
       vs=st.sampled_from(list(Comparison)))
def test_the_summary_read_once_equals_windows_and_verdicts_read_apart(rows, dropped, vs):
    """`evaluate(..., series=24)` (one read) gives the same report and the same verdicts'
    monthly values as the windows and the series read separately."""
    anchors = [{"month": m, "day": 1, "offence": "theft", "ethnicity": "White", "loss": 1.0,
                "minutes": 5} for m in MONTHS if m not in dropped]
    with tempfile.TemporaryDirectory() as folder:
        project = build(Path(folder), anchors + rows)
        period = Month.parse("2025-09")
        once = engine.evaluate(project, period, vs, series=verdicts.SERIES_MONTHS)
        apart = engine.evaluate(project, period, vs)
        assert apart.monthly is None and once.series == verdicts.SERIES_MONTHS
        # Compared by repr: exact for floats, and a NaN (a mean's numerator over a division
        # by zero, which leaves the KPI without a figure) equals a NaN.
        assert repr(once.results) == repr(apart.results)
        ends = {r.kpi.id: r.current.window.end for r in once.results if r.current is not None}
        kpis = [r.kpi for r in once.results if r.kpi.id in ends]
        read = verdicts.monthly_values(project, kpis, ends)
        reused = verdicts.monthly_values(project, kpis, ends, parts=once.monthly)
        assert reused.keys() == read.keys()
        for kpi_id, series in read.items():
            assert reused[kpi_id].months == series.months
            for a, b in zip(reused[kpi_id].values, series.values, strict=True):
                assert (a is None) == (b is None), kpi_id
                if a is not None:
                    assert a == pytest.approx(b, rel=1e-12), kpi_id
        assert (repr(verdicts.verdicts(project, once))
                == repr(verdicts.verdicts(project, apart)))


# The KPIs that read only text columns (and a weights file keyed by one): their rows can be
# grouped by those columns and the month before anything is summed (engine._grouped).
GROUPABLE = ("crimes", "thefts", "robberies", "burglary_rate", "per_1000", "harm",
             "disproportionality")


@SETTINGS
@given(rows=st.lists(row, min_size=1, max_size=120),
       windows=st.lists(window, min_size=1, max_size=4),
       column=st.sampled_from(("offence", "ethnicity")), held=st.sampled_from((0, 10_000)))
def test_sums_over_grouped_rows_equal_sums_over_the_rows(rows, windows, column, held,
                                                         monkeypatch_module):
    """A dataset whose KPIs read only text and flags is read as groups of rows (per month and
    combination of the columns read) with their number; every month's components, and every
    breakdown, equal those summed over the rows themselves, to the bit. With GROUPS_HELD 0,
    a month of few rows has too many groups for them, and the rows are read instead."""
    monkeypatch_module.setattr(engine, "GROUPS_HELD", held)
    with tempfile.TemporaryDirectory() as folder:
        project = build(Path(folder), rows)
        measures = {i: project.kpi(i) for i in GROUPABLE}
        read = sorted({str(m) for w in windows for m in w.months()})
        got = {}
        for grouped in (True, False):
            monkeypatch_module.setattr(engine, "GROUP_FIRST", grouped)
            engine._GROUPED.clear()
            plan = engine._plan(project, "crimes", measures, read, None)
            assert (plan.grouped is not None) == grouped
            by_month = plan.run()
            requests = [(project.kpi(i), column, w, c) for i in GROUPABLE[:5]
                        for w, c in zip(windows, [*windows[1:], None], strict=False)]
            got[grouped] = (by_month.monthly(), [by_month.window(i, w) for i in measures
                                                 for w in windows],
                            engine.breakdowns(project, requests))
        monkeypatch_module.setattr(engine, "GROUP_FIRST", True)
        monkeypatch_module.setattr(engine, "GROUPS_HELD", 10_000)
        assert repr(got[True][:2]) == repr(got[False][:2])
        assert got[True][2].keys() == got[False][2].keys()
        for key, frame in got[True][2].items():
            assert frame.equals(got[False][2][key]), key


@SETTINGS
@given(rows=st.lists(row, min_size=1, max_size=120),
       months=st.sampled_from((12, 24, 36)), end=st.sampled_from(("2025-09", "2024-12")))
def test_series_taken_from_the_summary_equal_series_read_again(rows, months, end):
    """The board's trend series are taken from the summary's own monthly components where it
    read every month they show (`monthly_series_all(..., report)`), and equal the series read
    again, to the bit; where it did not (months before its read), they are read again."""
    anchors = [{"month": m, "day": 1, "offence": "theft", "ethnicity": "White", "loss": 1.0,
                "minutes": 5} for m in MONTHS]
    with tempfile.TemporaryDirectory() as folder:
        project = build(Path(folder), anchors + rows)
        report = engine.evaluate(project, Month.parse("2025-09"), series=verdicts.SERIES_MONTHS)
        requests = [(kpi, Month.parse(end), months) for kpi in project.kpis]
        engine._GROUPED.clear()
        again = engine.monthly_series_all(project, requests)
        taken = engine.monthly_series_all(project, requests, report=report)
        assert taken.keys() == again.keys()
        for key, frame in taken.items():
            assert frame.equals(again[key]), key


@SETTINGS
@given(rows=st.lists(row, min_size=1, max_size=120),
       windows=st.lists(window, min_size=1, max_size=4),
       column=st.sampled_from(("offence", "ethnicity")))
def test_breakdowns_over_held_rows_equal_breakdowns_read_again(rows, windows, column,
                                                              monkeypatch_module):
    """The board reads a small table once and holds the rows its KPIs read
    (`evaluate(..., hold_rows=True)`, engine._HELD); every month's components, and every
    breakdown over the held rows, equal those read from the store, to the bit."""
    monkeypatch_module.setattr(engine, "MONTH_BY_MONTH_ROWS", 10**12)  # a small table
    with tempfile.TemporaryDirectory() as folder:
        project = build(Path(folder), rows)
        measures = {k.id: k for k in project.kpis if not k.is_derived}
        read = sorted({str(m) for w in windows for m in w.months()})
        requests = [(project.kpi(i), column, w, c) for i in measures
                    for w, c in zip(windows, [*windows[1:], None], strict=False)]
        got = {}
        for hold in (True, False):
            engine._HELD.clear()
            engine._GROUPED.clear()
            plan = engine._plan(project, "crimes", measures, read, None, hold_rows=hold)
            assert (plan.hold is not None) == hold
            by_month = plan.run()
            assert bool(engine._HELD) == hold
            got[hold] = (by_month.monthly(), [by_month.window(i, w) for i in measures
                                              for w in windows],
                         engine.breakdowns(project, requests))
        engine._HELD.clear()
        assert repr(got[True][:2]) == repr(got[False][:2])
        assert got[True][2].keys() == got[False][2].keys()
        for key, frame in got[True][2].items():
            assert frame.equals(got[False][2][key]), key


def test_a_breakdown_over_held_rows_adds_fractions_as_read_from_the_store():
    """The rows the summary held come in another order than the store's files give them:
    0.01 + 26.48 + 0.01 added in two orders is 26.5 and 26.500000000000004, which a figure
    in pounds shows as £26 and £27 (`kpi export` over held rows, `kpi show` over the store).
    Fractions are added exactly (engine._exact_sum): both are 26.5."""
    def crime(month: str, loss: float) -> dict:
        return {"month": month, "day": 1, "offence": "robbery", "ethnicity": "Black",
                "loss": loss, "minutes": None}

    rows = [crime("2025-01", 0.01), crime("2025-06", 26.48), crime("2024-05", 0.01)]
    current = Window(WindowKind.YE, Month.parse("2024-05"), Month.parse("2025-06"))
    with tempfile.TemporaryDirectory() as folder:
        project = build(Path(folder), rows)
        kpi = project.kpi("loss")
        got = {}
        for hold in (True, False):
            engine._HELD.clear()
            engine._GROUPED.clear()
            engine._plan(project, "crimes", {kpi.id: kpi}, [str(m) for m in current.months()],
                         None, hold_rows=hold).run()
            frame = engine.breakdowns(project, [(kpi, "offence", current, None)])
            got[hold] = frame[(kpi.id, "offence", current, None)]["current"].to_list()
        engine._HELD.clear()
        assert got[True] == got[False] == [26.5]


def test_an_exact_sum_is_the_correctly_rounded_sum_of_its_values():
    """A negative fraction split at its floor (-1 and 0.99999) lost bits the float could not
    hold (-0.00001 summed to -9.99999999995449e-06); a sum is now the decimals' sum rounded
    once (-1.0 + 0.99999 is -1e-05, tests/test_decimal_sums.py), and a group holding a
    value of more places than a decimal is read to the floats' exact sum, within 2**-64 of
    math.fsum."""
    cases = {(-1e-05,): -1e-05, (-1.0, 0.99999): -1e-05, (-1.0, 1 / 3): math.fsum([-1.0, 1 / 3]),
             (26.48, 0.01, 0.01): 26.5, (-0.25, 0.125, -3.0): -3.125}
    for values, expected in cases.items():
        got = pl.DataFrame({"x": list(values)}).select(engine._exact_sum(pl.col("x"))).item()
        assert abs(got - expected) <= 2.0**-64, (values, got)
    assert pl.DataFrame({"x": [-0.25, 0.125, -3.0]}).select(
        engine._exact_sum(pl.col("x"))).item() == -3.125


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.none() | st.floats(-1e12, 1e12) | st.integers(-10**6, 10**6)
                       .map(lambda c: c / 100), min_size=1, max_size=40),
       groups=st.integers(1, 3), order=st.randoms(use_true_random=False))
def test_fractions_add_to_the_same_sum_in_any_order(values, groups, order):
    """engine._exact_sum gives the same sums, to the bit, for the rows in any order, whole
    and by group (in one thread's order and in the streaming engine's), each within 2**-64
    per value of its exact sum (math.fsum), or, where its values are decimals of few places
    and summed as such, within half a unit in the last place of each."""
    listed = [(i % groups, v) for i, v in enumerate(values)]
    shuffled = list(listed)
    order.shuffle(shuffled)
    sums = []
    for rows in (listed, shuffled):
        frame = pl.DataFrame(rows, schema={"g": pl.Int64, "x": pl.Float64}, orient="row")
        whole = frame.select(engine._exact_sum(pl.col("x"))).item()
        parts = (frame.lazy().group_by("g").agg(engine._exact_sum(pl.col("x"))).sort("g")
                 .collect(engine="streaming"))
        sums.append((whole, parts["x"].to_list()))
    assert repr(sums[0]) == repr(sums[1])
    for got, part in zip([sums[0][0], *sums[0][1]], [None, *range(groups)], strict=False):
        own = [v for g, v in listed if v is not None and part in (None, g)]
        slack = len(own) * 2.0**-64 + math.fsum(math.ulp(v) for v in own) / 2
        assert got == pytest.approx(math.fsum(own), rel=1e-15, abs=slack)
