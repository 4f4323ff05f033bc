"""kpi.checks and `kpi check`: reconciliations and data checks on a small hand-made project,
whose figures are worked out by hand below."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi.catalogue import load_project
from kpi.checks import CheckKind, run_checks
from kpi.errors import DataError
from kpi.ingest import load
from kpi.periods import Month

PROJECT = """
[project]
name = "checks"

[datasets.events]
sources = ["events.csv"]
date = "month"
columns.month = "month"
columns.category = "str"
columns.count = "int"

[datasets.totals]
sources = ["totals.csv"]
date = "month"
columns.month = "month"
columns.count = "int"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "total"
title = "Total"
priority = "p"
kind = "count"
dataset = "totals"
value = "count"

[[kpis]]
id = "part_a"
title = "A"
priority = "p"
kind = "count"
dataset = "events"
filter = "category = 'a'"
value = "count"
hidden = true

[[kpis]]
id = "part_b"
title = "B"
priority = "p"
kind = "count"
dataset = "events"
filter = "category = 'b'"
value = "count"
lag = {lag}

[[checks]]
id = "a_and_b"
title = "A and B make the total"
total = "total"
parts = ["part_a", "part_b"]
tolerance = {tolerance}
"""
MONTHS = [str(Month.parse("2023-04") + i) for i in range(24)]  # 2023-04 .. 2025-03


def _project(tmp_path, *, total_extra: int = 0, lag: int = 0, tolerance: float = 0,
             skip: str | None = None, extra_in: str = MONTHS[-1], part_from: str | None = None):
    """Each month: a = 3, b = 2 and a total of 5 (plus total_extra in the month `extra_in`,
    the last by default); b from `part_from` on where it is given."""
    (tmp_path / "kpi.toml").write_text(PROJECT.format(lag=lag, tolerance=tolerance))
    events = ["month,category,count"]
    totals = ["month,count"]
    for month in MONTHS:
        if month == skip:
            continue
        events += [f"{month},a,3"] + ([f"{month},b,2"] if not part_from or month >= part_from
                                      else [])
        totals.append(f"{month},{5 + (total_extra if month == extra_in else 0)}")
    (tmp_path / "events.csv").write_text("\n".join(events) + "\n")
    (tmp_path / "totals.csv").write_text("\n".join(totals) + "\n")
    project = load_project(tmp_path)
    for dataset in ("events", "totals"):
        load(project, dataset)
    return project


PERIOD = Month.parse("2025-03")


def test_parts_that_sum_to_the_total_pass(tmp_path):
    report = run_checks(_project(tmp_path), PERIOD)
    check = next(r for r in report.results if r.id == "a_and_b")
    assert check.passed and check.difference == 0
    assert check.total.value == 60 and [p.value for p in check.parts] == [36, 24]
    assert check.total.window == "year ending March 2025"
    assert report.failed == ()


def test_a_mismatch_fails_with_the_figures(tmp_path):
    report = run_checks(_project(tmp_path, total_extra=-7), PERIOD)
    check = report.results[0]
    assert not check.passed
    assert check.difference == -7  # 53 against 36 + 24
    assert check.message == ("parts sum to 60 (36 + 24), 7 more than the total of 53 "
                             "(year ending March 2025); 36 + 24 = 60 (year ending March 2024)")
    assert [r.id for r in report.failed] == ["a_and_b"]


def test_a_mismatch_says_which_is_the_larger(tmp_path):
    check = run_checks(_project(tmp_path, total_extra=5), PERIOD).results[0]
    assert check.difference == 5  # 65 against 36 + 24
    assert check.message == ("parts sum to 60 (36 + 24), 5 less than the total of 65 "
                             "(year ending March 2025); 36 + 24 = 60 (year ending March 2024)")


def test_a_pass_within_the_tolerance_never_reads_as_equal(tmp_path):
    """A total 5 over its parts, with a tolerance of 5, passes: it read "36 + 24 = 65", a sum
    that is false, beside a difference of 5 in its JSON. By hand: 36 + 24 is 60."""
    check = run_checks(_project(tmp_path, total_extra=5, tolerance=5), PERIOD).results[0]
    assert check.passed and check.difference == 5
    assert check.message.startswith(
        "36 + 24 = 60, 5 less than the total of 65 (year ending March 2025), within the "
        "tolerance of 5; ")


def test_parts_that_add_up_now_but_not_in_the_comparison_window_fail(tmp_path):
    """Each change printed is made from the comparison window's figure too: parts adding up
    over the current window and not over the comparison window fail, and say which window
    (the check passed before, exit 0, beside a change of the total that its parts' changes
    did not add up to). The figures by hand: 36 + 24 = 60 now; 36 + 24 against 60 - 7 then."""
    project = _project(tmp_path, total_extra=-7, extra_in="2023-06")
    check = run_checks(project, PERIOD).results[0]
    assert not check.passed
    assert check.difference == 0 and check.comparison is not None
    assert check.comparison.difference == -7 and not check.comparison.passed
    assert check.comparison.total.value == 53
    assert [p.value for p in check.comparison.parts] == [36, 24]
    assert check.message == ("36 + 24 = 60 (year ending March 2025); but parts sum to 60 "
                             "(36 + 24), 7 more than the total of 53 (year ending March 2024)")
    from kpi.api import check_json

    shown = check_json(check)["comparison"]
    assert (shown["difference"], shown["passed"], shown["total"]["value"]) == (-7, False, 53)
    assert shown["total"]["window"] == "year ending March 2024"


@pytest.mark.parametrize("figures, lacking", [
    ({"total": (60, 50), "a": (36, 30), "b": (24, None)}, "b"),
    # the total's own comparison missing, the parts' held: it passed saying nothing of it
    ({"total": (60, None), "a": (36, 30), "b": (24, 20)}, "total"),
])
def test_a_part_with_no_comparison_figure_is_checked_now_and_says_so(figures, lacking):
    """A part (or the total) with no figure for the comparison window (its source begins
    later) while another has one: the current window is checked, the comparison window
    cannot be, and the message says so rather than pass it silently."""
    from kpi import engine
    from kpi.catalogue import Better, Check, Kind, KpiDef, Unit
    from kpi.checks import _reconcile
    from kpi.periods import Comparison, Window

    now, then = Window.year_ending(PERIOD), Window.year_ending(PERIOD - 12)
    def result(kpi_id: str, current: int, before: int | None) -> engine.KpiResult:
        kpi = KpiDef(id=kpi_id, title=kpi_id, priority="p", kind=Kind.COUNT, unit=Unit.COUNT,
                     better=Better.NEUTRAL, dataset="d")
        change = engine.change_between(kpi, current, before)
        return engine.KpiResult(
            kpi, engine.status_of(kpi, change) if change else engine.Outcome.NO_DATA,
            engine.Measured(now, current),
            None if before is None else engine.Measured(then, before), change)

    results = tuple(result(i, *pair) for i, pair in figures.items())

    class Known:
        def known_kpi(self, kpi_id):
            return next(r.kpi for r in results if r.kpi.id == kpi_id)

    report = engine.Report(period=PERIOD, comparison=Comparison.BASELINE, results=results,
                           versions={})
    check = _reconcile(Known(), Check("c", "C", "total", ("a", "b"), 0.0),  # type: ignore[arg-type]
                       PERIOD, report)
    assert check.passed and check.comparison is None
    assert check.message == ("36 + 24 = 60 (year ending March 2025); not checked over the "
                             f"comparison window (year ending March 2024): '{lacking}' has no "
                             "figure for it")


def test_parts_over_a_different_window_fail(tmp_path):
    check = run_checks(_project(tmp_path, lag=1), PERIOD).results[0]
    assert not check.passed
    assert "different windows" in check.message
    assert "year ending February 2025" in check.message


def test_a_missing_month_fails_coverage_and_gaps(tmp_path):
    report = run_checks(_project(tmp_path, skip="2024-06"), PERIOD)
    kinds = {r.kind: r for r in report.failed}
    assert set(kinds) == {CheckKind.RECONCILIATION, CheckKind.COVERAGE, CheckKind.GAPS}
    gaps = [r for r in report.failed if r.kind == CheckKind.GAPS]
    assert sorted(r.id for r in gaps) == ["gaps_events", "gaps_totals"]
    assert "2024-06" in gaps[0].message
    coverage = [r.id for r in report.failed if r.kind == CheckKind.COVERAGE]
    # Hidden KPIs are covered too: rates and reconciliations are built from them.
    assert coverage == ["coverage_total", "coverage_part_a", "coverage_part_b"]


def test_the_quality_check_says_how_many_kpis_had_rows_to_check(tmp_path):
    """It passes when no KPI has a quality note, and says of how many KPIs it read rows: all
    three here. A period before the data is refused as kpi summary refuses it (not checks
    failing, nor '3 rows checked' of rows never read)."""
    project = _project(tmp_path)
    quality = next(r for r in run_checks(project, PERIOD).results if r.id == "quality")
    assert quality.passed and quality.message == "3 of 3 live KPIs' rows checked"
    with pytest.raises(DataError) as refused:
        run_checks(project, Month.parse("2019-01"))
    assert refused.value.message == ("no KPI has data for 2019-01: total: no data on or "
                                     "before 2019-01")


def test_data_checks_can_be_left_out(tmp_path):
    report = run_checks(_project(tmp_path, skip="2024-06"), PERIOD, data=False)
    assert [r.kind for r in report.results] == [CheckKind.RECONCILIATION]


@pytest.mark.parametrize(("extra", "code"), [(0, 0), (1, 1)])
def test_cli_exit_code(tmp_path, cli, extra, code):
    _project(tmp_path, total_extra=extra)
    result = cli(["--project", tmp_path, "check", "--period", "2025-03", "--format", "json"])
    assert result.exit_code == code, result.output
    document = json.loads(result.stdout)
    assert document["passed"] is (code == 0)
    assert document["checks"][0]["total"]["value"] == 60 + extra


def test_cli_bad_period_is_a_usage_error(tmp_path, cli):
    _project(tmp_path)
    result = cli(["--project", tmp_path, "check", "--period", "2025-13"])
    assert result.exit_code == 2
    assert "invalid period '2025-13'" in result.output


def test_pounds_and_pence_that_reconcile_to_the_penny_pass(tmp_path):
    """£0.10 + £0.20 is £0.30: the floats' sum, 0.30000000000000004, failed a tolerance of 0
    with "0.00 more than the total" (and `kpi check` exit 1)."""
    check = run_checks(_pence_project(tmp_path, ["0.1", "0.2"], "0.3"), PERIOD).results[0]
    assert (check.total.value, [p.value for p in check.parts]) == (0.3, [0.1, 0.2])
    assert check.passed and check.difference == 0
    # Every other month holds 0: the comparison window's parts add up to its total of 0.
    assert check.message == ("0.10 + 0.20 = 0.30 (year ending March 2025); 0 + 0 = 0 "
                             "(year ending March 2024)")


def test_pounds_and_pence_a_penny_out_fail_by_the_penny(tmp_path):
    check = run_checks(_pence_project(tmp_path, ["0.1", "0.2"], "0.31"), PERIOD).results[0]
    assert not check.passed and check.difference == 0.01  # 0.31 - 0.3 as written
    assert check.message == ("parts sum to 0.30 (0.10 + 0.20), 0.01 less than the total of "
                             "0.31 (year ending March 2025); 0 + 0 = 0 (year ending March 2024)")


def _reconciled(total: float, parts: list[float], tolerance: float = 0.0,
                decimals: int | None = None):
    """`_reconcile` of a total and its parts (KPIs of `decimals` places) over the current
    window alone: no data is read."""
    from kpi import engine
    from kpi.catalogue import Better, Check, Kind, KpiDef, Unit
    from kpi.checks import _reconcile
    from kpi.periods import Comparison, Window

    window = Window.year_ending(PERIOD)
    ids = ["total", *(f"p{i}" for i in range(len(parts)))]
    results = tuple(
        engine.KpiResult(KpiDef(id=i, title=i, priority="p", kind=Kind.SUM, unit=Unit.NUMBER,
                                better=Better.NEUTRAL, dataset="d", decimals=decimals),
                         engine.Outcome.NO_DATA, engine.Measured(window, v), None, None)
        for i, v in zip(ids, [total, *parts], strict=True))

    class Known:
        def known_kpi(self, kpi_id):
            return next(r.kpi for r in results if r.kpi.id == kpi_id)

    report = engine.Report(period=PERIOD, comparison=Comparison.BASELINE, results=results,
                           versions={})
    check = Check("c", "C", "total", tuple(ids[1:]), tolerance)
    return _reconcile(Known(), check, PERIOD, report)  # type: ignore[arg-type]


@pytest.mark.parametrize("total, parts, tolerance, decimals, message", [
    # 1.005 + 1.005 is 2.010, 0.003 short of 2.013: it printed "1.01 + 1.01 = 2.01, 0.003
    # less than the total of 2.01 ..., within the tolerance of 0.00".
    (2.013, [1.005, 1.005], 0.004, None,
     "1.005 + 1.005 = 2.010, 0.003 less than the total of 2.013 (year ending March 2025), "
     "within the tolerance of 0.004"),
    # The sum and the total print apart at two places, but the parts as printed (1.01 + 1.01)
    # made 2.02, not the 2.01 printed: three places, where the arithmetic holds.
    (2.02, [1.005, 1.005], 0.01, None,
     "1.005 + 1.005 = 2.010, 0.010 less than the total of 2.020 (year ending March 2025), "
     "within the tolerance of 0.010"),
    # Failed beyond its tolerance, which is said: 0.005 is more than 0.004.
    (2.015, [1.005, 1.005], 0.004, None,
     "parts sum to 2.010 (1.005 + 1.005), 0.005 less than the total of 2.015 (year ending "
     "March 2025), beyond the tolerance of 0.004"),
    # A difference of 0.0049 within a tolerance of 0.005 printed "0.00" at two places, and
    # "0.005" at three would read as the tolerance itself: it takes four.
    (2.0149, [1.005, 1.005], 0.005, None,
     "1.0050 + 1.0050 = 2.0100, 0.0049 less than the total of 2.0149 (year ending March "
     "2025), within the tolerance of 0.0050"),
    # A KPI of three decimals prints three: 0.125 + 0.25 printed "0.13 + 0.25 = 0.38".
    (0.375, [0.125, 0.25], 0.0, 3, "0.125 + 0.250 = 0.375 (year ending March 2025)"),
    # Whole figures print whole, as before; the tolerance is whole too.
    (65, [36, 24], 5.0, None,
     "36 + 24 = 60, 5 less than the total of 65 (year ending March 2025), within the "
     "tolerance of 5"),
])
def test_a_checks_figures_print_to_the_places_its_verdict_needs(total, parts, tolerance,
                                                                 decimals, message):
    """A check's sum, total, difference and tolerance print to as many places as it takes
    for the message to say what the verdict says (worked by hand above): the sum and the
    total apart where they differ, the difference against the tolerance as it stands, and
    the parts adding up to their sum as printed where some places make them."""
    check = _reconciled(total, parts, tolerance, decimals)
    assert check.message.split("; not checked")[0] == message


@settings(max_examples=300, deadline=None)
@given(pence=st.lists(st.integers(-10**9, 10**9), min_size=2, max_size=6),
       off=st.integers(-3, 3), tolerance=st.integers(0, 3))
def test_a_reconciliation_is_judged_on_the_figures_as_written(pence, off, tolerance):
    """Figures in pounds and pence (each the float nearest its decimal, as every stored sum
    is), the total off by `off` pence and a tolerance in pence: the check passes exactly when
    Python's Decimal says the difference is within the tolerance, and says the difference."""
    from decimal import Decimal

    from kpi import engine
    from kpi.catalogue import Better, Check, Kind, KpiDef, Unit
    from kpi.checks import _reconcile
    from kpi.periods import Comparison, Window

    cents = Decimal("0.01")
    parts = [p * cents for p in pence]
    total = sum(parts, Decimal(0)) + off * cents
    window = Window.year_ending(PERIOD)
    ids = ["total", *(f"p{i}" for i in range(len(parts)))]
    results = tuple(
        engine.KpiResult(KpiDef(id=i, title=i, priority="p", kind=Kind.SUM, unit=Unit.GBP,
                                better=Better.NEUTRAL, dataset="d"),
                         engine.Outcome.NO_DATA, engine.Measured(window, float(v)), None,
                         None)
        for i, v in zip(ids, [total, *parts], strict=True))

    class Known:
        def known_kpi(self, kpi_id):
            return next(r.kpi for r in results if r.kpi.id == kpi_id)

    report = engine.Report(period=PERIOD, comparison=Comparison.BASELINE, results=results,
                           versions={})
    check = Check("c", "C", "total", tuple(ids[1:]), float(tolerance * cents))
    got = _reconcile(Known(), check, PERIOD, report)  # type: ignore[arg-type]
    assert got.passed == (abs(off) <= tolerance)
    assert got.difference == float(off * cents)


MONEY = """
[project]
name = "money"

[datasets.losses]
sources = ["losses.csv"]
date = "month"
columns.month = "month"
columns.kind = "str"
columns.amount = "float"

[datasets.totals]
sources = ["totals.csv"]
date = "month"
columns.month = "month"
columns.amount = "float"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "total"
title = "Losses"
priority = "p"
kind = "sum"
dataset = "totals"
value = "amount"
unit = "gbp"
{parts}
[[checks]]
id = "kinds"
title = "Loss kinds make the total"
total = "total"
parts = [{names}]
"""


def _pence_project(folder, amounts: list, total):
    """A project of losses in pounds and pence: one part KPI per amount, each summing its kind,
    and a check that they make the total. The year's amounts and total, as written, fall in
    its last month; every other month holds 0."""
    names = [f"kind_{n}" for n in range(len(amounts))]
    parts = "".join(f'\n[[kpis]]\nid = "{n}"\ntitle = "{n}"\npriority = "p"\nkind = "sum"\n'
                    f'dataset = "losses"\nvalue = "amount"\nunit = "gbp"\n'
                    f"filter = \"kind = '{n}'\"\n" for n in names)
    (folder / "kpi.toml").write_text(MONEY.format(
        parts=parts, names=", ".join(f'"{n}"' for n in names)))
    losses, totals = ["month,kind,amount"], ["month,amount"]
    for month in MONTHS:
        last = month == MONTHS[-1]
        losses += [f"{month},{n},{a if last else 0}" for n, a in zip(names, amounts, strict=True)]
        totals.append(f"{month},{total if last else 0}")
    (folder / "losses.csv").write_text("\n".join(losses) + "\n")
    (folder / "totals.csv").write_text("\n".join(totals) + "\n")
    project = load_project(folder)
    for dataset in ("losses", "totals"):
        load(project, dataset)
    return project


PENCE = st.integers(min_value=1, max_value=10**9).map(lambda p: Decimal(p).scaleb(-2))


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amounts=st.lists(PENCE, min_size=2, max_size=4), extra=st.sampled_from([0, 0, 1, -3]))
def test_a_reconciliation_of_pounds_and_pence_is_exact(tmp_path_factory, amounts, extra):
    """Parts in pounds and pence that add up to their total pass a check with no tolerance,
    and a total a few pence off fails by those pence, said so: the parts' sum and the
    difference are the decimals' own (Python's Decimal here), not the floats' (£36,705.37 +
    £77,108.67 + £48,617.29 summed as floats is 2.9e-11 short of £162,431.33, and the check
    failed "0.00 more than the total")."""
    # The year's amounts in the last month; every other month 0.
    off = Decimal(extra).scaleb(-2)
    total = sum(amounts, Decimal(0)) + off
    project = _pence_project(tmp_path_factory.mktemp("money"), amounts, total)
    check = run_checks(project, PERIOD, data=False).results[0]
    assert check.passed is (extra == 0), check.message
    assert check.difference == float(off)
    def shown(amount: Decimal) -> str:  # whole pounds whole, else to the penny
        return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"

    listed = " + ".join(shown(a) for a in amounts)
    # Every other month holds 0: the comparison window's parts add up to its total of 0.
    before = " + ".join("0" for _ in amounts) + " = 0 (year ending March 2024)"
    if extra == 0:
        assert check.message == f"{listed} = {shown(total)} (year ending March 2025); {before}"
    else:
        assert check.message == (
            f"parts sum to {shown(sum(amounts, Decimal(0)))} ({listed}), {shown(abs(off))} "
            f"{'more' if off < 0 else 'less'} than the total of {shown(total)} "
            f"(year ending March 2025); {before}")
