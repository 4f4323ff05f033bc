"""Significance where its assumptions hold (docs/statistics.md, "A rate of two KPIs" and
"Months that are not final yet").

1. A rate of two KPIs is tested as two proportions only where its numerator's events are known
   to be some of its denominator's (`numerator_within_denominator`, or proven from the
   catalogue: one dataset's rows, the numerator's filter narrowing the denominator's); else as
   a count of events per its denominator (two Poisson counts, the denominators their
   exposures); else not tested, with the reason. Expected p-values come from scipy.
2. The provisional-months path, which the differential oracle's random projects seldom reach
   (two whole windows of a KPI with `provisional_months`): projects drawn with every month
   held and `provisional_months` 1 to 3 on a count, a rate and a within-threshold share. The
   verdict `kpi summary` prints is scipy's test on DuckDB's counts of the two windows less
   their last N months (oracle_support.settled); `kpi show` prints the same test, the
   paper's figures file the whole windows' figures, and the paper's sentence the figures of
   the windows the test compared.
"""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from oracle_support import (
    ALPHA,
    FIRST,
    FORCES,
    INC_FILTERS,
    LAST,
    Kpi,
    Model,
    Oracle,
    ProjectSpec,
    expected_significance,
    inc_rows,
    parse,
    rows_not_nested,
    settled,
    significance_counts,
    text,
    write_csv,
)

from kpi.catalogue import RateTest, load_project_file
from kpi.paper import kpi_value
from kpi.periods import Month

# ---------------------------------------------------------------------------------------------
# 1. A rate of two KPIs

RATES_TOML = """
[project]
name = "Rates"
baseline = "2024-03"

[datasets.calls]
date = "day"
[datasets.calls.columns]
day = "date"
kind = "str"

[datasets.offences]
date = "day"
[datasets.offences.columns]
day = "date"
kind = "str"

[[priorities]]
id = "p"
title = "Plan"

[[kpis]]
id = "calls"
title = "Calls"
priority = "p"
kind = "count"
dataset = "calls"
better = "neutral"

[[kpis]]
id = "urgent_calls"
title = "Urgent calls"
priority = "p"
kind = "count"
dataset = "calls"
filter = "kind = 'urgent'"
better = "neutral"

[[kpis]]
id = "offences"
title = "Offences"
priority = "p"
kind = "count"
dataset = "offences"
better = "lower"

[[kpis]]
id = "offences_per_100_calls"
title = "Offences per 100 calls"
priority = "p"
kind = "rate"
numerator_kpi = "offences"
denominator_kpi = "calls"
better = "lower"

[[kpis]]
id = "urgent_share"
title = "Share of calls that are urgent"
priority = "p"
kind = "rate"
numerator_kpi = "urgent_calls"
denominator_kpi = "calls"
better = "neutral"
"""


def _rates_project(tmp_path, cli, extra: str = "", offences_a_month: int = 30):
    """Two years of calls (100 a month, 40 of them urgent, then 100 and 55) and offences
    (`offences_a_month`, then 20): every rate's numerator is below its denominator."""
    root = tmp_path / "rates"
    root.mkdir()
    (root / "kpi.toml").write_text(RATES_TOML + extra, encoding="utf-8")
    calls, offences = ["day,kind"], ["day,kind"]
    for index in range(Month.parse("2023-10").index, Month.parse("2025-09").index + 1):
        month = Month(index)
        late = index > Month.parse("2024-09").index
        urgent = 55 if late else 40
        calls += [f"{month}-{1 + n % 28:02d},{'urgent' if n < urgent else 'routine'}"
                  for n in range(100)]
        offences += [f"{month}-{1 + n % 28:02d},theft"
                     for n in range(20 if late else offences_a_month)]
    for name, lines in (("calls", calls), ("offences", offences)):
        path = root / f"{name}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        assert cli(["--project", root, "ingest", name, path]).exit_code == 0
    return root


def _summary(cli, root, *args: str) -> dict[str, dict]:
    result = cli(["--project", root, "summary", "--period", "2025-09", "--vs", "yoy",
                  "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return {k["id"]: k for k in json.loads(result.stdout)["kpis"]}


def _poisson_p(x1: int, e1: float, x2: int, e2: float) -> float:
    """The conditional test of two Poisson counts per exposure, from scipy's binomial
    distribution: x1 of x1 + x2 events, each in the first with chance e1 / (e1 + e2) where the
    rates are equal; two-sided as SPEC states it, twice the smaller tail (scipy's binomtest
    sums the outcomes no likelier instead, the same only where the chance is one half)."""
    from scipy import stats as sp

    n, p = x1 + x2, e1 / (e1 + e2)
    return min(1.0, 2 * min(float(sp.binom.cdf(x1, n, p)), float(sp.binom.sf(x1 - 1, n, p))))


def _proportions_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """The pooled two-proportion z-test, two-sided, from scipy's normal distribution."""
    from scipy import stats as sp

    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / (pooled * (1 - pooled) * (1 / n1 + 1 / n2)) ** 0.5
    return float(2 * sp.norm.sf(abs(z)))


def test_a_rate_of_kpis_from_two_datasets_is_tested_per_its_denominator(tmp_path, cli):
    """Offences per 100 calls: 240 offences against 1,200 calls, then 360 against 1,200. The
    numerator is below the denominator in both windows, yet offences are not some of the
    calls, so no two-proportion test: the offences per call, as Poisson counts."""
    root = _rates_project(tmp_path, cli)
    got = _summary(cli, root)["offences_per_100_calls"]
    assert (got["current"]["numerator"], got["current"]["denominator"]) == (240, 1200)
    assert (got["comparison"]["numerator"], got["comparison"]["denominator"]) == (360, 1200)
    test = got["significance"]
    assert test["test"] == "poisson_exact" and test["reason"] is None
    assert test["p_value"] == pytest.approx(_poisson_p(240, 1200, 360, 1200), rel=1e-9)
    assert test["statistic"] == pytest.approx((240 / 1200) / (360 / 1200))
    assert test["significant"] is True
    # As two proportions it would have been another p-value: the test is not a relabelling.
    assert abs(test["p_value"] - _proportions_p(240, 1200, 360, 1200)) > 1e-6
    shown = cli(["--project", root, "show", "offences_per_100_calls", "--period", "2025-09",
                 "--vs", "yoy", "--format", "json"])
    assert json.loads(shown.stdout)["kpi"]["significance"] == test


def test_a_rate_whose_numerator_filter_narrows_its_denominator_is_two_proportions(tmp_path,
                                                                                  cli):
    """Urgent calls among calls: one dataset, the denominator unfiltered, so kpi proves the
    numerator's calls are some of the denominator's and tests two proportions."""
    root = _rates_project(tmp_path, cli)
    got = _summary(cli, root)["urgent_share"]
    assert (got["current"]["numerator"], got["comparison"]["numerator"]) == (660, 480)
    test = got["significance"]
    assert test["test"] == "two_proportion_z"
    assert test["p_value"] == pytest.approx(_proportions_p(660, 1200, 480, 1200), rel=1e-9)


def test_a_declared_numerator_within_its_denominator_is_two_proportions(tmp_path, cli):
    """`numerator_within_denominator = true` is the catalogue's word for what kpi cannot
    prove across two datasets."""
    extra = '\n[[kpis]]\nid = "declared"\ntitle = "Declared"\npriority = "p"\nkind = "rate"\n' \
            'numerator_kpi = "offences"\ndenominator_kpi = "calls"\n' \
            'numerator_within_denominator = true\n'
    root = _rates_project(tmp_path, cli, extra)
    got = _summary(cli, root)
    assert got["declared"]["significance"]["test"] == "two_proportion_z"
    assert got["declared"]["significance"]["p_value"] == pytest.approx(
        _proportions_p(240, 1200, 360, 1200), rel=1e-9)
    assert got["offences_per_100_calls"]["significance"]["test"] == "poisson_exact"
    # a rate of two KPIs has no rows to check the declaration against: `kpi show` says what
    # the test rests on, where a proven one (urgent calls of all calls) needs no such word
    trust = ("two proportions because the catalogue declares numerator_within_denominator "
             "= true; a rate of two KPIs has no rows kpi can check that against")
    for kpi_id, note in (("declared", trust), ("urgent_share", "")):
        shown = cli(["--project", root, "show", kpi_id, "--period", "2025-09", "--vs", "yoy",
                     "--format", "json"])
        assert shown.exit_code == 0, shown.stderr
        said = json.loads(shown.stdout)["signal"]["note"]
        assert said.endswith(f"; {trust}") if note else trust not in said, said
        text_ = cli(["--project", root, "show", kpi_id, "--period", "2025-09", "--vs", "yoy"])
        assert ("has no rows kpi can check" in " ".join(text_.stdout.split())) == bool(note)


def test_every_face_that_states_a_trusted_test_says_what_it_rests_on(tmp_path, cli):
    """`kpi show` said that a rate of two KPIs tested as two proportions rests on
    `numerator_within_denominator = true` alone; the summary's JSON (its `significance`, which
    `kpi show --format json` repeats) and the paper's "How to read this paper" said nothing.
    `significance.reason` now says it, where a proven rate (urgent calls of all calls) and an
    untested one keep theirs, and the paper's method names the KPIs whose test rests on it."""
    extra = '\n[[kpis]]\nid = "declared"\ntitle = "Declared offences share"\npriority = "p"\n' \
            'kind = "rate"\nnumerator_kpi = "offences"\ndenominator_kpi = "calls"\n' \
            'numerator_within_denominator = true\n'
    root = _rates_project(tmp_path, cli, extra)
    trust = ("two proportions because the catalogue declares numerator_within_denominator "
             "= true; a rate of two KPIs has no rows kpi can check that against")
    got = _summary(cli, root)
    assert got["declared"]["significance"]["test"] == "two_proportion_z"
    assert got["declared"]["significance"]["reason"] == trust
    assert got["urgent_share"]["significance"]["test"] == "two_proportion_z"
    assert got["urgent_share"]["significance"]["reason"] is None
    assert got["offences_per_100_calls"]["significance"]["reason"] is None
    shown = cli(["--project", root, "show", "declared", "--period", "2025-09", "--vs", "yoy",
                 "--format", "json"])
    assert json.loads(shown.stdout)["kpi"]["significance"] == got["declared"]["significance"]
    import kpi

    frame = kpi.open(root).summary("2025-09", vs="yoy")
    reasons = dict(zip(frame["id"], frame["significance_reason"], strict=True))
    assert (reasons["declared"], reasons["urgent_share"]) == (trust, None)
    paper = cli(["--project", root, "export", "markdown", "--period", "2025-09", "--vs", "yoy",
                 "--output", tmp_path / "paper.md"])
    assert paper.exit_code == 0, paper.output
    text = " ".join((tmp_path / "paper.md").read_text(encoding="utf-8").split())
    assert ("The change of Declared offences share is tested as a proportion of cases because "
            "the catalogue declares that every case its numerator counts is one its "
            "denominator counts; the two are separate totals with no records in common to "
            "check that against, so the test rests on that declaration.") in text, text[-3000:]
    assert text.count("rests on that declaration") == 1


def test_a_rate_of_a_mean_is_not_tested_with_a_plain_reason(tmp_path, cli):
    """A numerator that is no count of events (a mean) gets neither test."""
    extra = """
[datasets.waits]
date = "day"
[datasets.waits.columns]
day = "date"
minutes = "float"

[[kpis]]
id = "wait"
title = "Mean wait"
priority = "p"
kind = "mean"
dataset = "waits"
value = "minutes"
better = "lower"
hidden = true

[[kpis]]
id = "wait_per_call"
title = "Mean wait per call"
priority = "p"
kind = "rate"
numerator_kpi = "wait"
denominator_kpi = "calls"
better = "lower"
"""
    root = _rates_project(tmp_path, cli, extra)
    waits = root / "waits.csv"
    waits.write_text("day,minutes\n" + "".join(
        f"{Month(i)}-03,{5 + i % 7}\n" for i in range(Month.parse("2023-10").index,
                                                      Month.parse("2025-09").index + 1)),
        encoding="utf-8")
    assert cli(["--project", root, "ingest", "waits", waits]).exit_code == 0
    test = _summary(cli, root)["wait_per_call"]["significance"]
    assert test["test"] is None and test["p_value"] is None
    assert test["reason"] == ("the numerator's events are not known to be some of the "
                              "denominator's (numerator_within_denominator), and the numerator "
                              "is not a count of events per its denominator")


def _kpi(defs: str, kpi_id: str, tmp_path):
    (tmp_path / "kpi.toml").write_text(defs, encoding="utf-8")
    return load_project_file(tmp_path / "kpi.toml").kpi(kpi_id)


@pytest.mark.parametrize(("numerator", "denominator", "proven"), [
    ("kind = 'urgent'", None, True),
    ("kind = 'urgent'", "kind = 'urgent'", True),
    ("kind = 'a' OR kind = 'b' AND kind <> 'z'", "kind = 'a' OR kind = 'b'", True),
    ("(kind = 'a' OR kind = 'b') AND kind <> 'z'", "kind = 'a' OR kind = 'b'", True),
    ("kind  =  'urgent' and kind <> 'z'", "kind = 'urgent'", True),
    (None, "kind = 'urgent'", False),
    ("kind = 'routine' AND kind = 'urgent'", "kind = 'urgent'", False),
    ("kind = 'urgentish'", "kind = 'urgent'", False),
    ("kind = 'urgent' OR kind = 'x'", "kind = 'urgent'", False),
    # AND binds before OR: this is (urgent AND not z) OR x, rows the denominator lacks.
    ("kind = 'urgent' AND kind <> 'z' OR kind = 'x'", "kind = 'urgent'", False),
    ("(kind = 'urgent') and kind <> 'z' or kind = 'x'", "kind = 'urgent'", False),
])
def test_kpi_proves_a_numerator_within_its_denominator_only_from_narrowing_filters(
        tmp_path, numerator, denominator, proven):
    """The proof reads the filters as written: the denominator's (or none), then AND."""
    def count(kid: str, where: str | None) -> str:
        line = "" if where is None else f'filter = "{where}"\n'
        return (f'[[kpis]]\nid = "{kid}"\ntitle = "{kid}"\npriority = "p"\nkind = "count"\n'
                f'dataset = "calls"\n{line}better = "neutral"\n\n')
    defs = (RATES_TOML.split("[[kpis]]")[0] + count("num", numerator) + count("den", denominator)
            + '[[kpis]]\nid = "r"\ntitle = "R"\npriority = "p"\nkind = "rate"\n'
              'numerator_kpi = "num"\ndenominator_kpi = "den"\n')
    kpi = _kpi(defs, "r", tmp_path)
    assert kpi.numerator_within_denominator is proven
    assert kpi.rate_test == (RateTest.PROPORTIONS if proven else RateTest.PER_DENOMINATOR)


def test_a_lag_or_a_value_keeps_kpi_from_proving_the_relation(tmp_path):
    base = RATES_TOML.split("[[kpis]]")[0]
    rate = ('[[kpis]]\nid = "r"\ntitle = "R"\npriority = "p"\nkind = "rate"\n'
            'numerator_kpi = "num"\ndenominator_kpi = "den"\n')
    den = ('[[kpis]]\nid = "den"\ntitle = "D"\npriority = "p"\nkind = "count"\n'
           'dataset = "calls"\n\n')
    lagged = ('[[kpis]]\nid = "num"\ntitle = "N"\npriority = "p"\nkind = "count"\n'
              'dataset = "calls"\nlag = 1\n\n')
    # (The rate runs as far behind as its numerator: one reading months the numerator's
    # figure leaves out is refused, tests/test_rate_of_kpis_windows.py.)
    assert _kpi(base + lagged + den + rate + "lag = 1\n", "r", tmp_path).rate_test == \
        RateTest.PER_DENOMINATOR
    # A count with a value totals a column: not events, so not a count per its denominator.
    totalled = ('[[kpis]]\nid = "num"\ntitle = "N"\npriority = "p"\nkind = "count"\n'
                'dataset = "calls"\nvalue = "kind = \'urgent\'"\n\n')
    assert _kpi(base + totalled + den + rate, "r", tmp_path).rate_test == RateTest.NONE


@pytest.mark.parametrize(("key", "message"), [
    ("numerator_within_denominator = false",
     "KPI 'urgent_share', key 'numerator_within_denominator': is false, but 'urgent_calls' "
     "counts rows of 'calls' (the same dataset, its filter narrowed): remove the key"),
    ('numerator_within_denominator = "yes"',
     "KPI 'urgent_share', key 'numerator_within_denominator': must be true or false"),
])
def test_a_contradicted_or_malformed_declaration_is_refused(tmp_path, cli, key, message):
    root = tmp_path / "refused"
    root.mkdir()
    defs = RATES_TOML.replace('denominator_kpi = "calls"\nbetter = "neutral"',
                              f'denominator_kpi = "calls"\nbetter = "neutral"\n{key}')
    assert key in defs
    (root / "kpi.toml").write_text(defs, encoding="utf-8")
    result = cli(["--project", root, "summary", "--period", "2025-09"])
    assert result.exit_code == 3, result.output  # a project file's problem
    assert message in result.output
    assert "Traceback" not in result.output


def test_the_key_is_refused_on_a_kpi_that_is_not_a_rate(tmp_path, cli):
    root = tmp_path / "refused"
    root.mkdir()
    defs = RATES_TOML + ('\n[[kpis]]\nid = "own"\ntitle = "Own"\npriority = "p"\n'
                         'kind = "count"\ndataset = "calls"\n'
                         'numerator_within_denominator = true\n')
    (root / "kpi.toml").write_text(defs, encoding="utf-8")
    result = cli(["--project", root, "summary", "--period", "2025-09"])
    assert result.exit_code == 3
    assert ("KPI 'own', key 'numerator_within_denominator': is a key of a rate (with "
            "numerator and denominator, or numerator_kpi and denominator_kpi)") in result.output


# ---------------------------------------------------------------------------------------------
# 1b. A rate of one dataset's rows: two proportions only where every row of the windows has a
# numerator that is a whole number from 0 to its denominator

REPORTS_TOML = """
[project]
name = "Reports"
baseline = "2024-03"

[datasets.reports]
date = "day"
[datasets.reports.columns]
day = "date"
area = "str"
reports = "int"
positive = "float"

[[priorities]]
id = "p"
title = "Plan"

[[kpis]]
id = "positive_rate"
title = "Positive outcome rate"
priority = "p"
kind = "rate"
dataset = "reports"
numerator = "positive"
denominator = "reports"
better = "higher"
breakdowns = ["area"]
"""


def _reports_project(tmp_path, cli, odd: list[str], extra: str = ""):
    """Two years of monthly rows, per area: North 3 (then 5) positive of 10 reports, South 2
    of 10; every row's numerator a whole number from 0 to its denominator. `odd` rows
    ("day,area,reports,positive") are added in March 2025, inside the current window."""
    root = tmp_path / "reports"
    root.mkdir(parents=True)
    (root / "kpi.toml").write_text(REPORTS_TOML + extra, encoding="utf-8")
    lines = ["day,area,reports,positive"]
    for index in range(Month.parse("2023-10").index, Month.parse("2025-09").index + 1):
        month = Month(index)
        late = index > Month.parse("2024-09").index
        lines += [f"{month}-05,North,10,{5 if late else 3}", f"{month}-06,South,10,2"]
    lines += odd
    path = root / "reports.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli(["--project", root, "ingest", "reports", path]).exit_code == 0
    return root


@pytest.mark.parametrize(("columns", "numerator", "denominator", "extra", "flag"), [
    ('flag = "bool"', "flag", None, "", True),
    ('flag = "bool"', " flag ", None, "", True),
    ('flag = "bool"', "flag", "reports", "", False),  # 1 of a row's reports: rows decide
    ('flag = "int"', "flag", None, "", False),  # an int can be 2 of 1
    # any condition is 0 or 1 of each row, a blank 0: it was checked row by row
    ('flag = "bool"', "NOT flag", None, "", True),
    ('flag = "bool"', "reports >= 5 AND area = 'North'", None, "", True),
    # a CASE of 0 and 1 is as a condition is (SQL's way to write one as a number)
    ('flag = "bool"', "CASE WHEN flag THEN 1 ELSE 0 END", None, "", True),
    ('flag = "bool"', "CASE WHEN flag THEN 2 ELSE 0 END", None, "", False),  # 2 of 1
    ('flag = "bool"', "flag", None, "numerator_within_denominator = false\n", False),
])
def test_a_share_of_rows_flagged_needs_no_row_check(tmp_path, columns, numerator, denominator,
                                                    extra, flag):
    """A rate whose numerator is a condition (a column declared bool, or any true/false
    expression) and which has no denominator is 0 or 1 of 1 in every row (a blank reads 0),
    so the engine does not check its rows; anything else is checked row by row."""
    den = "" if denominator is None else f'denominator = "{denominator}"\n'
    defs = (REPORTS_TOML.split("[[kpis]]")[0].replace('positive = "float"', columns)
            + '[[kpis]]\nid = "share"\ntitle = "S"\npriority = "p"\nkind = "rate"\n'
              f'dataset = "reports"\nnumerator = "{numerator}"\n{den}{extra}better = "higher"\n')
    assert _kpi(defs, "share", tmp_path).flag_share is flag


def test_a_flag_share_is_two_proportions_with_its_rows_unread(tmp_path, cli):
    """The flag share's rows are not checked (its counts of rows outside are 0 by
    construction) and it is tested as two proportions, the p-value scipy's."""
    root = tmp_path / "flags"
    root.mkdir()
    defs = (REPORTS_TOML.split("[[kpis]]")[0].replace('positive = "float"', 'flag = "bool"')
            + '[[kpis]]\nid = "share"\ntitle = "S"\npriority = "p"\nkind = "rate"\n'
              'dataset = "reports"\nnumerator = "flag"\nbetter = "higher"\n')
    (root / "kpi.toml").write_text(defs, encoding="utf-8")
    lines = ["day,area,reports,flag"]
    for index in range(Month.parse("2023-10").index, Month.parse("2025-09").index + 1):
        late = index > Month.parse("2024-09").index
        lines += [f"{Month(index)}-05,North,1,true", f"{Month(index)}-06,South,1,false",
                  f"{Month(index)}-07,South,1,{'true' if late else ''}"]
    (root / "flags.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli(["--project", root, "ingest", "reports", root / "flags.csv"]).exit_code == 0
    got = _summary(cli, root)["share"]
    assert (got["current"]["numerator"], got["current"]["denominator"]) == (24, 36)
    assert (got["comparison"]["numerator"], got["comparison"]["denominator"]) == (12, 36)
    test = got["significance"]
    assert test["test"] == "two_proportion_z"
    assert test["p_value"] == pytest.approx(_proportions_p(24, 36, 12, 36), rel=1e-9)


def test_a_rate_whose_every_row_is_nested_is_two_proportions(tmp_path, cli):
    root = _reports_project(tmp_path, cli, [])
    got = _summary(cli, root)["positive_rate"]
    assert (got["current"]["numerator"], got["current"]["denominator"]) == (84, 240)
    assert (got["comparison"]["numerator"], got["comparison"]["denominator"]) == (60, 240)
    test = got["significance"]
    assert test["test"] == "two_proportion_z"
    assert test["p_value"] == pytest.approx(_proportions_p(84, 240, 60, 240), rel=1e-9)


# A row with more positives than reports beside one with none of ten: the windows' sums (89
# of 252 against 60 of 240) still look like proportions.
OUTSIDE_ROWS = ["2025-03-07,North,2,5", "2025-03-08,South,10,0"]


def test_a_row_outside_its_denominator_is_tested_per_denominator(tmp_path, cli):
    """A numerator above its row's denominator: the positives are not some of the reports,
    so no test of two proportions (whatever the windows' sums); the positives are whole
    counts of events, so the conditional test of two Poisson counts per report."""
    root = _reports_project(tmp_path, cli, OUTSIDE_ROWS)
    got = _summary(cli, root)["positive_rate"]
    assert (got["current"]["numerator"], got["current"]["denominator"]) == (89, 252)
    test = got["significance"]
    assert test["test"] == "poisson_exact", test
    assert test["p_value"] == pytest.approx(_poisson_p(89, 252, 60, 240), rel=1e-9)
    shown = cli(["--project", root, "show", "positive_rate", "--period", "2025-09",
                 "--vs", "yoy", "--format", "json"])
    assert json.loads(shown.stdout)["kpi"]["significance"] == test


def test_a_declaration_a_row_contradicts_is_not_tested(tmp_path, cli):
    """`numerator_within_denominator = true` with a row whose numerator exceeds its
    denominator: not tested, the reason naming the rows and the declaration."""
    root = _reports_project(tmp_path, cli, OUTSIDE_ROWS,
                            extra="numerator_within_denominator = true\n")
    test = _summary(cli, root)["positive_rate"]["significance"]
    assert test["test"] is None and test["p_value"] is None
    assert test["reason"] == (
        "1 row of the windows tested has a numerator that is not a whole number from 0 to "
        "the row's denominator, or a denominator that is not a whole number, against "
        "numerator_within_denominator = true: check the expressions")
    # Declared, with every row nested: two proportions.
    nested = _reports_project(tmp_path / "nested", cli, [],
                              extra="numerator_within_denominator = true\n")
    assert _summary(cli, nested)["positive_rate"]["significance"]["test"] == "two_proportion_z"
    # Declared false: never two proportions, so events per report even with every row nested.
    denied = _reports_project(tmp_path / "denied", cli, [],
                              extra="numerator_within_denominator = false\n")
    test = _summary(cli, denied)["positive_rate"]["significance"]
    assert test["test"] == "poisson_exact"
    assert test["p_value"] == pytest.approx(_poisson_p(84, 240, 60, 240), rel=1e-9)


def test_a_numerator_not_a_count_is_not_tested(tmp_path, cli):
    """A half positive: neither a proportion of cases nor a count of events."""
    root = _reports_project(tmp_path, cli, ["2025-03-07,North,10,0.5"])
    test = _summary(cli, root)["positive_rate"]["significance"]
    assert test["test"] is None
    assert test["reason"] == (
        "1 row of the windows tested has a numerator that is not a whole number from 0 to "
        "the row's denominator, or a denominator that is not a whole number, so the rate is "
        "not a proportion of cases, and not a count of events either")


# A rate of one dataset's rows with a float denominator (officer-days): 400 rows a year, 330
# then 370 of them with an arrest, each of 1.5 officer-days.
HALVES_TOML = """
[project]
name = "Halves"
baseline = "2024-12"

[datasets.ev]
date = "day"
[datasets.ev.columns]
day = "date"
num = "int"
den = "float"

[[priorities]]
id = "p"
title = "Plan"

[[kpis]]
id = "rr"
title = "Arrests per 100 officer-days"
priority = "p"
kind = "rate"
dataset = "ev"
numerator = "num"
denominator = "den"
better = "higher"
"""


def _halves_project(tmp_path, cli, extra_rows: int, den: str = "1.5", toml: str = ""):
    root = tmp_path / f"halves{extra_rows}{den}"
    root.mkdir(parents=True)
    (root / "kpi.toml").write_text(HALVES_TOML + toml, encoding="utf-8")
    lines = ["day,num,den"]
    for year, hits, rows in ((2024, 330, 400), (2025, 370, 400 + extra_rows)):
        lines += [f"{year}-{j % 12 + 1:02d}-{(j // 12) % 28 + 1:02d},{int(j < hits)},{den}"
                  for j in range(rows)]
    path = root / "ev.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli(["--project", root, "ingest", "ev", path]).exit_code == 0
    result = cli(["--project", root, "summary", "--period", "2025-12", "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["kpis"][0]


@pytest.mark.parametrize(("extra_rows", "current_den"), [(0, 600), (1, 601.5)])
def test_a_denominator_of_fractions_in_its_rows_is_no_count_of_cases(tmp_path, cli,
                                                                     extra_rows, current_den):
    """Each row 0 or 1 arrests per 1.5 officer-days: no row is a whole number of yes-or-no
    cases, so the rate is never two proportions, whether or not the windows' totals happen
    to be whole (400 rows, 600; 401 rows, 601.5). It was tested as "370 of 600 against 330
    of 600" (p = 0.019, significant) at 400 rows and not at all at 401. The arrests are whole
    counts of events, so events per officer-day: scipy's binomial test of 370 of 700 with
    chance 600 / 1,200 gives p = 0.140, not significant."""
    from scipy import stats as sp

    got = _halves_project(tmp_path, cli, extra_rows)
    assert (got["current"]["numerator"], got["current"]["denominator"]) == (370, current_den)
    assert (got["comparison"]["numerator"], got["comparison"]["denominator"]) == (330, 600)
    test = got["significance"]
    assert test["test"] == "poisson_exact" and test["reason"] is None, test
    assert test["p_value"] == pytest.approx(_poisson_p(370, current_den, 330, 600), rel=1e-9)
    assert test["significant"] is False
    if extra_rows == 0:
        assert test["p_value"] == pytest.approx(sp.binomtest(370, 700, 0.5).pvalue, rel=1e-9)
        assert round(test["p_value"], 3) == 0.140
    # Whole denominators (each row 0 or 1 of 2 cases) are cases: two proportions, 370 of 800.
    whole = _halves_project(tmp_path, cli, extra_rows, den="2")["significance"]
    assert whole["test"] == "two_proportion_z"
    assert whole["p_value"] == pytest.approx(
        _proportions_p(370, 800 + 2 * extra_rows, 330, 800), rel=1e-9)


def test_a_declared_share_of_fractional_denominators_is_not_tested(tmp_path, cli):
    """`numerator_within_denominator = true` over rows of 1.5 officer-days: every row
    contradicts it (a row of 1.5 is no set of cases), so not tested, the reason naming them."""
    test = _halves_project(tmp_path, cli, 0, toml="numerator_within_denominator = true\n"
                           )["significance"]
    assert test["test"] is None
    assert test["reason"] == (
        "800 rows of the windows tested have a numerator that is not a whole number from 0 to "
        "the row's denominator, or a denominator that is not a whole number, against "
        "numerator_within_denominator = true: check the expressions")


# One rate, share and flag share written in each unit a share takes (docs/catalogue.md): the
# same rows, so the same test and p-value whatever unit the figure is printed in.
UNITS = {"percent": "", "per_1000": 'unit = "per_1000"\nmultiplier = 10\n',
         "ratio": 'unit = "ratio"\nmultiplier = 0.01\n'}


@pytest.mark.parametrize("unit", sorted(UNITS))
def test_a_share_or_rate_is_tested_the_same_in_every_unit(tmp_path, cli, unit):
    """Offences per call (0 or 3 per row: events, not cases), calls answered in time (a
    `within`) and calls flagged (a condition over no denominator), in percent, per 1,000 and
    as a ratio. The test depends on what the figure counts, never on its unit: per 1,000 or
    as a ratio they were "no test for a rate in per_1000" (or "in ratio"). Offences: 504
    events per 1,200 calls against 360, scipy's binomial of 504 of 864 at 0.5; answered:
    1,000 of 1,200 against 900 of 1,200; flagged: 168 of 1,200 against 120."""
    from scipy import stats as sp

    keys = UNITS[unit]
    root = tmp_path / unit
    root.mkdir()
    (root / "kpi.toml").write_text(f"""
[project]
name = "Units"
baseline = "2024-12"

[datasets.ev]
date = "day"
[datasets.ev.columns]
day = "date"
num = "int"
wait = "int"
flag = "bool"

[[priorities]]
id = "p"
title = "Plan"

[[kpis]]
id = "offences"
title = "Offences per call"
priority = "p"
kind = "rate"
dataset = "ev"
numerator = "num"
better = "lower"
{keys}
[[kpis]]
id = "answered"
title = "Answered in 10"
priority = "p"
kind = "within"
dataset = "ev"
value = "wait"
threshold = 10
better = "higher"
{keys}
[[kpis]]
id = "flagged"
title = "Flagged"
priority = "p"
kind = "rate"
dataset = "ev"
numerator = "flag"
better = "lower"
{keys}""", encoding="utf-8")
    lines = ["day,num,wait,flag"]
    for i in range(24):
        late = i >= 12
        for j in range(100):
            offences = j < (14 if late else 10)
            answered = j < (84 if late else 75)
            flagged = j < (14 if late else 10)
            lines.append(f"{2024 + i // 12}-{i % 12 + 1:02d}-{j % 28 + 1:02d},"
                         f"{3 if offences else 0},{5 if answered else 20},{str(flagged).lower()}")
    path = root / "ev.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli(["--project", root, "ingest", "ev", path]).exit_code == 0
    got = _summary_at(cli, root)
    offences, answered, flagged = (got[k]["significance"]
                                   for k in ("offences", "answered", "flagged"))
    assert offences["test"] == "poisson_exact", offences
    assert offences["p_value"] == pytest.approx(sp.binomtest(504, 864, 0.5).pvalue, rel=1e-9)
    assert answered["test"] == flagged["test"] == "two_proportion_z", (answered, flagged)
    assert answered["p_value"] == pytest.approx(_proportions_p(1008, 1200, 900, 1200),
                                                rel=1e-9)
    assert flagged["p_value"] == pytest.approx(_proportions_p(168, 1200, 120, 1200), rel=1e-9)
    for k in ("offences", "answered", "flagged"):
        shown = cli(["--project", root, "show", k, "--period", "2025-12", "--format", "json"])
        assert json.loads(shown.stdout)["kpi"]["significance"] == got[k]["significance"]


def _summary_at(cli, root) -> dict[str, dict]:
    result = cli(["--project", root, "summary", "--period", "2025-12", "--format", "json"])
    assert result.exit_code == 0, result.output
    return {k["id"]: k for k in json.loads(result.stdout)["kpis"]}


def test_compare_tests_a_part_by_the_same_rule(tmp_path, cli):
    """`kpi compare`: South (its rows nested) against North (one row outside): the test of
    the parts follows the rule over both parts' rows, as the summary's does over windows."""
    root = _reports_project(tmp_path, cli, ["2025-03-07,North,2,5"])
    result = cli(["--project", root, "compare", "--period", "2025-09", "--by", "area",
                  "--format", "json"])
    assert result.exit_code == 0, result.output
    parts = {p["name"]: p for p in json.loads(result.stdout)["kpis"][0]["parts"]}
    south = parts["South"]["vs_rest"]
    assert south["test"] == "poisson_exact"
    assert south["p_value"] == pytest.approx(_poisson_p(24, 120, 65, 122), rel=1e-9)
    clean = _reports_project(tmp_path / "clean", cli, [])
    result = cli(["--project", clean, "compare", "--period", "2025-09", "--by", "area",
                  "--format", "json"])
    parts = {p["name"]: p for p in json.loads(result.stdout)["kpis"][0]["parts"]}
    assert parts["South"]["vs_rest"]["test"] == "two_proportion_z"
    assert parts["South"]["vs_rest"]["p_value"] == pytest.approx(
        _proportions_p(24, 120, 60, 120), rel=1e-9)


def test_the_samples_outcome_rates_are_tested_per_crime(sample_paper):
    """The bundled sample's four outcome rates divide positive outcomes in the window (dataset
    outcomes, often for crimes recorded earlier) by crimes recorded in it (dataset crimes):
    tested per crime, each still a significant change."""
    # `kpi summary --period 2025-09 --format json`, made once for the run (conftest.py)
    got = {k["id"]: k for k in json.loads(
        sample_paper["summary"].read_text(encoding="utf-8"))["kpis"]}
    for kid in ("vawg_outcome_rate", "violence_outcome_rate", "shoplifting_outcome_rate",
                "positive_outcome_rate"):
        k = got[kid]
        x1, e1 = k["current"]["numerator"], k["current"]["denominator"]
        x2, e2 = k["comparison"]["numerator"], k["comparison"]["denominator"]
        assert x1 < e1 and x2 < e2
        test = k["significance"]
        assert test["test"] == "poisson_exact", kid  # exact above 10,000 events too
        assert test["statistic"] == pytest.approx((x1 / e1) / (x2 / e2), rel=1e-12)
        want = _poisson_p(x1, e1, x2, e2)
        assert test["p_value"] == pytest.approx(want, abs=1e-12) and want < 1e-100
        assert test["significant"] is True


# ---------------------------------------------------------------------------------------------
# 2. Months not final yet, with two whole windows


def _provisional_spec(rnd: random.Random) -> ProjectSpec:
    """A count, a rate, a within-threshold share and a rate of victims per incident (not a
    proportion: `oracle_support.rows_not_nested`) of the incidents, each with 1 to 3
    provisional months and a comparison of its own; a rate of two KPIs with them as well,
    which is not tested (its windows are not summed again)."""
    def baseline() -> str | None:
        return rnd.choice([None, "yoy", "YE 2023-12", "YE 2024-06"])

    kpis = [
        Kpi("k_count", "count", "inc", filter=rnd.choice(INC_FILTERS), baseline=baseline()),
        Kpi("k_rate", "rate", "inc", numerator="offence = 'theft'",
            filter=rnd.choice(INC_FILTERS), baseline=baseline(), better="higher"),
        Kpi("k_within", "within", "inc", value="minutes", threshold=rnd.choice([10, 15.5, 30]),
            baseline=baseline(), better="higher"),
        Kpi("k_den", "count", "inc"),
        Kpi("k_share", "rate", "inc", parts=("k_count", "k_den"), better="higher"),
        # Victims per incident: rows with two or three victims are not nested in their one
        # incident, so the rate is tested as victims (counts of events) per incident.
        Kpi("k_victims", "rate", "inc", numerator="victims", baseline=baseline()),
    ]
    for k in kpis:
        if k.id != "k_den":
            k.provisional_months = rnd.randint(1, 3)
    return ProjectSpec(replace_by=False, datetime_dates=rnd.random() < 0.5,
                       quarter_form="fy", kpis=kpis)


def _comparison(k: Kpi, current: tuple[int, int]) -> tuple[int, int]:
    """The comparison window kpi must give (the project's baseline is YE 2024-03)."""
    if k.baseline == "yoy":
        return current[0] - 12, current[1] - 12
    end = parse((k.baseline or "YE 2024-03").split()[1])
    return end - 11, end


def _span(window: tuple[int, int]) -> str:
    """How the paper names a span of months (paper._span)."""
    first, last = Month.parse(text(window[0])), Month.parse(text(window[1]))
    if first == last:
        return last.name
    if first.year == last.year:
        return f"{first.name.split()[0]} to {last.name}"
    return f"{first.name} to {last.name}"


@settings(max_examples=6, deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate],  # a shrink costs minutes of CLI runs
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1),
       period=st.integers(min_value=LAST - 12, max_value=LAST))
# A KPI whose baseline year ends inside the current year: its windows share months
@example(seed=0, period=24299)
def test_months_not_final_are_left_out_as_documented(tmp_path_factory, cli, seed, period):
    rnd = random.Random(seed)  # Hypothesis's own random draws its simplest values first
    root = tmp_path_factory.mktemp("provisional")
    spec = _provisional_spec(rnd)
    spec.write(root)
    (root / "extracts").mkdir()
    counter = [0]
    # Some projects' incidents rise in their last 18 months, so verdicts of both kinds occur.
    surge = rnd.choice([1, 1, 2, 3])
    rows = [row for force in FORCES for m in range(FIRST, LAST + 1)
            for _ in range(surge if m > LAST - 18 else 1)
            for row in inc_rows(rnd, [m], force, counter)]
    path = root / "extracts" / "inc.csv"
    write_csv(path, "inc", rows, spec)
    result = cli(["--project", root, "ingest", "inc", path])
    assert result.exit_code == 0, result.output
    model = Model(spec)
    model.apply("inc", rows)
    oracle = Oracle(model)
    oracle.refresh()

    when = text(period)
    result = cli(["--project", root, "summary", "--period", when, "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = {k["id"]: k for k in json.loads(result.stdout)["kpis"]}
    out = root / "out" / "board.md"
    result = cli(["--project", root, "export", "markdown", "--period", when, "--output", out])
    assert result.exit_code == 0, result.output
    paper = out.read_text(encoding="utf-8")
    figures = json.loads(out.with_name("board.figures.json").read_text(encoding="utf-8"))
    defs = load_project_file(root / "kpi.toml")

    for k in spec.kpis:
        if not k.provisional_months:
            continue
        got = summary[k.id]
        current = (period - 11, period)
        comparison = _comparison(k, current)
        assert (parse(got["current"]["start"]), parse(got["current"]["end"])) == current
        assert (parse(got["comparison"]["start"]),
                parse(got["comparison"]["end"])) == comparison
        # The figures file holds the whole windows' figures, as the summary does.
        held = {f["role"]: f["value"] for f in figures["figures"] if f["kpi"] == k.id}
        assert held == {"current": got["current"]["value"],
                        "comparison": got["comparison"]["value"]}
        for role, window in (("current", current), ("comparison", comparison)):
            assert got[role]["value"] == pytest.approx(oracle.value(k, window), rel=1e-12)

        test = got["significance"]
        shown = cli(["--project", root, "show", k.id, "--period", when, "--format", "json"])
        assert shown.exit_code == 0, shown.output
        shown_test = json.loads(shown.stdout)["kpi"]["significance"]
        paragraph = next(line for line in paper.splitlines()
                         if f"**KPI {k.id}.**" in line)
        if comparison[1] >= current[0]:
            # A baseline year ending inside the current one: the two windows share months,
            # so they are no two samples to test, whatever their months not final
            # (stats.overlap_reason).
            assert test["test"] is None and test["reason"].startswith(
                "the two windows share "), test
            assert shown_test == test
            continue
        if k.parts:
            # A rate of two KPIs is not summed again without its last months, its own or
            # its parts' (the most of them).
            months_not_final = max(k.provisional_months, *(
                p.provisional_months for p in spec.kpis if p.id in k.parts))
            assert test["test"] is None
            assert test["reason"] == (
                "its last month is not final, and a rate cannot be tested without it"
                if months_not_final == 1 else f"its last {months_not_final} months are not "
                "final, and a rate cannot be tested without them")
            assert "and so does any test of the change." in paragraph
            assert shown_test == test
            continue
        kept = [settled(k, w) for w in (current, comparison)]
        assert None not in kept
        now, then = kept
        counts = [significance_counts(oracle, k, w) for w in (now, then)]
        assert counts[0] is not None and counts[1] is not None
        months = (now[1] - now[0] + 1, then[1] - then[0] + 1)
        want = expected_significance(k, counts[0], counts[1], months,
                                     rows_not_nested(oracle, k, [now, then]))
        if k.id == "k_victims":
            assert rows_not_nested(oracle, k, [now, then])[0] > 0  # the path is reached
            assert test["test"] in ("poisson_exact", "poisson_normal"), test
        if want is None:  # a window without a case to take a share of
            assert test["test"] is None and test["reason"]
            assert shown_test == test
            continue
        p_value, significant = want
        whole = [oracle.value(k, w) for w in (current, comparison)]
        settled_values = [oracle.value(k, w) for w in (now, then)]
        if test["test"] is None and "the change runs otherwise" in (test["reason"] or ""):
            # A significant settled change running otherwise than the whole windows' change
            # (the other way, or where the whole windows read stable) is not counted.
            def sign(pair):
                return (pair[0] > pair[1]) - (pair[0] < pair[1])
            assert significant, (test, want)
            assert sign(whole) != sign(settled_values) or got["status"] == "stable", test
            assert shown_test == test
            continue
        assert test["test"] is not None, test
        assert test["p_value"] == pytest.approx(p_value, rel=1e-9, abs=1e-12), (k, counts)
        if abs(p_value - ALPHA) > 1e-9:
            assert test["significant"] is significant
        # kpi show prints the summary's test, to the bit.
        assert shown_test == test
        # The paper gives the figures the test compared, over the months it compared.
        kpi = defs.kpi(k.id)
        values = [oracle.value(k, w) for w in (now, then)]
        assert (f"which compares {kpi_value(values[0], kpi)} in {_span(now)} with "
                f"{kpi_value(values[1], kpi)} in {_span(then)}.") in paragraph, paragraph


def test_the_papers_parts_of_a_rate_follow_the_same_rule(tmp_path, cli):
    """The paper tests a proportion's parts against each other (stats.share_standouts) only
    where the rows of its current window meet the rule: North's 60 of 120 stands out from
    South's 24 of 120 where every row is nested, and no part is tested with a row outside."""
    import kpi
    from kpi.paper import part_standouts

    def standouts(root):
        detail = kpi.open(root).detail("positive_rate", "2025-09", "yoy")
        result = detail.result
        key = ("positive_rate", "area", result.current.window, result.comparison.window)
        return part_standouts(result, "area", {key: detail.breakdowns["area"]})

    found = standouts(_reports_project(tmp_path / "clean", cli, []))
    assert found is not None and [t.part for t in found.parts] == ["North"]
    assert standouts(_reports_project(tmp_path / "odd", cli, OUTSIDE_ROWS)) is None
