"""No silent wrong figure from the catalogue: expressions are checked against the columns'
types before anything is evaluated, non-finite values are no data, and validation is linear.

Figures are checked against DuckDB SQL over the same extract (an independent oracle), or by
hand where the fixture makes them obvious. Exit codes and tracebacks as `python -m kpi` gives
them (tests/inprocess.py); a real process where a regression would wait for ever."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import inprocess
import pytest
import reference_engine as ref

from kpi.catalogue import load_project, parse_project_file
from kpi.errors import ConfigError

HEADER = """\
[project]
name = "Hostile catalogue"
baseline = "2024-03"

[datasets.calls]
date = "date"
[datasets.calls.columns]
ref = "str"
date = "date"
lpa = "str"
victims = "int"
flag = "bool"
created_at = "datetime"
attended_at = { type = "datetime", required = false }
minutes = { type = "float", required = false }

[[priorities]]
id = "p"
title = "Priority"

[[kpis]]
id = "calls"
title = "Calls"
priority = "p"
kind = "count"
dataset = "calls"
better = "lower"
"""

MONTHS = [date(2023 + (3 + i) // 12, (3 + i) % 12 + 1, 1) for i in range(30)]  # 2023-04..2025-09


def extract_rows() -> list[dict[str, str]]:
    """Four calls a month: victims 0..3 (so `100 / victims` divides by zero once a month), flag
    Y/N alternating, attended 10, 20 and 30 minutes after creation and the fourth never
    (blank: not measured)."""
    rows = []
    for month in MONTHS:
        for j in range(4):
            created = datetime(month.year, month.month, 1 + 7 * j, 8, 0, 0)
            attended = created + timedelta(minutes=10 * (j + 1)) if j < 3 else None
            rows.append({
                "ref": f"{month:%Y%m}-{j}", "date": created.date().isoformat(),
                "lpa": ("North", "South")[j % 2], "victims": str(j),
                "flag": "Y" if j % 2 == 0 else "N",
                "created_at": created.isoformat(sep=" "),
                "attended_at": attended.isoformat(sep=" ") if attended else "",
                "minutes": str(10 * (j + 1)) if j < 3 else "",
            })
    return rows


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """The project folder with the extract loaded; tests write their own kpi.toml beside it."""
    from kpi.ingest import load

    root = tmp_path_factory.mktemp("hostile-catalogue")
    rows = extract_rows()
    lines = [",".join(rows[0])] + [",".join(r.values()) for r in rows]
    (root / "calls.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "kpi.toml").write_text(HEADER, encoding="utf-8")
    load(load_project(root), "calls", [str(root / "calls.csv")])
    return root


def project_with(store: Path, tmp_path: Path, kpis: str) -> Path:
    """A project in tmp_path holding a copy of `store`'s data, with these KPIs added."""
    folder = tmp_path / "project"
    if not folder.exists():
        shutil.copytree(store / "data", folder / "data", ignore=shutil.ignore_patterns(".cache"))
    (folder / "kpi.toml").write_text(HEADER + kpis, encoding="utf-8")
    return folder


def kpi_block(kpi_id: str, body: str) -> str:
    return f'\n[[kpis]]\nid = "{kpi_id}"\ntitle = "{kpi_id}"\npriority = "p"\n{body}\n'


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_project_file(folder / "kpi.toml")
    return caught.value.message.split("\n")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")
           or k == "KPI_CACHE_DIR"}
    env["KPI_NO_CACHE"] = "1"
    return env


def run(*args: object) -> subprocess.CompletedProcess:
    """`kpi ARGS` as a process would answer it, run in this one (tests/inprocess.py)."""
    return inprocess.run(args, env=_env())


def run_in_a_process(*args: object, timeout: float) -> subprocess.CompletedProcess:
    """`kpi ARGS` in a real process, for a case that could wait for ever: given up on after
    `timeout` seconds, a failure rather than a suite that never ends."""
    return subprocess.run([sys.executable, "-m", "kpi", *map(str, args)], capture_output=True,
                          text=True, env=_env(), timeout=timeout)


def oracle(store: Path, sql: str) -> float:
    """One number from DuckDB over the extract's current window, YE 2025-09."""
    duckdb = pytest.importorskip("duckdb")
    source = (f"(SELECT * FROM read_csv('{store / 'calls.csv'}', header = true) "
              "WHERE date BETWEEN DATE '2024-10-01' AND DATE '2025-09-30')")
    return duckdb.connect().execute(sql.replace("CALLS", source)).fetchone()[0]


# ---------------------------------------------------------------------------------------------
# A bool column compared with text


@pytest.mark.parametrize("condition", [
    "flag = 'Y'", "'Y' = flag", "(flag) = 'N'", "flag <> 'N'", "flag IN ('Y', 'yes')",
    "flag = 1", "lpa = 'North' AND flag != 'Y'", "flag = 'true'",
])
def test_a_bool_column_compared_with_a_literal_is_refused(store, tmp_path, condition):
    folder = project_with(store, tmp_path, kpi_block(
        "flagged", f'kind = "count"\ndataset = "calls"\nfilter = "{condition}"'))
    found = problems_of(folder)
    assert len(found) == 1
    assert "KPI 'flagged', key 'filter': compares the bool column 'flag'" in found[0]
    assert "write flag or NOT flag" in found[0]


def test_a_bool_filter_written_as_a_condition_counts_the_rows(store, tmp_path):
    from kpi import engine
    from kpi.periods import Month

    folder = project_with(store, tmp_path, kpi_block(
        "flagged", 'kind = "count"\ndataset = "calls"\nfilter = "flag"')
        + kpi_block("unflagged", 'kind = "count"\ndataset = "calls"\nfilter = "NOT flag"')
        + kpi_block("true", 'kind = "count"\ndataset = "calls"\nfilter = "flag = TRUE"'))
    report = engine.evaluate(load_project(folder), Month.parse("2025-09"))
    expected = oracle(store, "SELECT count(*) FROM CALLS WHERE flag")
    assert expected == 24
    assert report.result("flagged").current.value == expected
    assert report.result("true").current.value == expected
    assert report.result("unflagged").current.value == 48 - expected


@pytest.mark.parametrize("condition", [
    "CAST(flag AS VARCHAR) = 'Y'", "CAST(flag AS TEXT) IN ('Y', 'N')", "flag::text = 'Yes'",
    "TRY_CAST(flag AS VARCHAR) <> 'N'", "UPPER(CAST(flag AS VARCHAR)) = 'Y'",
    "flag || '' = 'Y'", "CONCAT(flag, '') = '1'", "CAST(NOT flag AS VARCHAR) = 'N'",
])
def test_a_bool_turned_into_text_is_refused(store, tmp_path, condition):
    """Polars writes a true/false value as 'true' or 'false': each of these counted 0 rows
    with exit 0 where the extract's own 'Y' rows number 24."""
    folder = project_with(store, tmp_path, kpi_block(
        "flagged", f'kind = "count"\ndataset = "calls"\nfilter = "{condition}"'))
    found = problems_of(folder)
    assert len(found) == 1
    assert "KPI 'flagged', key 'filter': turns the true/false value" in found[0]
    assert "which Polars writes as 'true' or 'false'" in found[0]
    assert "NOT" in found[0] and "CASE WHEN" in found[0]


def test_a_derived_text_column_made_from_a_bool_is_refused(store, tmp_path):
    folder = project_with(store, tmp_path, "")
    text = (folder / "kpi.toml").read_text(encoding="utf-8").replace(
        "[[priorities]]", '[datasets.calls.derived]\nflag_text = "CAST(flag AS VARCHAR)"\n\n'
        "[[priorities]]", 1)
    (folder / "kpi.toml").write_text(text, encoding="utf-8")
    found = problems_of(folder)
    assert len(found) == 1
    assert "key 'derived.flag_text': turns the true/false value flag into text" in found[0]


def test_text_written_from_a_bool_by_case_counts_the_right_rows(store, tmp_path):
    """The hint's own form, and a number cast, are accepted and count the 'Y' rows."""
    from kpi import engine
    from kpi.periods import Month

    folder = project_with(store, tmp_path, kpi_block(
        "by_case", 'kind = "count"\ndataset = "calls"\n'
        "filter = \"CASE WHEN flag THEN 'Y' ELSE 'N' END = 'Y'\"")
        + kpi_block("by_number", 'kind = "count"\ndataset = "calls"\n'
                    'filter = "CAST(flag AS INT) = 1"'))
    report = engine.evaluate(load_project(folder), Month.parse("2025-09"))
    expected = oracle(store, "SELECT count(*) FROM CALLS WHERE flag")
    assert expected == 24
    assert report.result("by_case").current.value == expected
    assert report.result("by_number").current.value == expected


def test_the_old_silent_zero_now_fails_in_a_real_process(store, tmp_path):
    folder = project_with(store, tmp_path, kpi_block(
        "flagged", 'kind = "count"\ndataset = "calls"\nfilter = "flag = \'Y\'"'))
    result = run("--project", folder, "summary", "--period", "2025-09", "--format", "json")
    assert result.returncode == 3
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "KPI 'flagged', key 'filter'" in result.stderr.splitlines()[0]


# ---------------------------------------------------------------------------------------------
# Durations: the difference of two datetimes


@pytest.mark.parametrize(("kind", "unit", "sql", "scale"), [
    ("median", "seconds", "median", 1), ("mean", "seconds", "avg", 1),
    ("mean", "days", "avg", 86_400), ("percentile", "seconds", "quantile_cont", 1),
])
def test_a_datetime_difference_is_reported_in_the_kpis_unit(store, tmp_path, kind, unit, sql,
                                                              scale):
    from kpi import engine
    from kpi.periods import Month

    extra = "\npercentile = 90" if kind == "percentile" else ""
    folder = project_with(store, tmp_path, kpi_block(
        "response", f'kind = "{kind}"\ndataset = "calls"\nunit = "{unit}"\n'
                    f'value = "attended_at - created_at"{extra}'))
    project = load_project(folder)
    assert project.kpi("response").value_is_duration
    result = engine.evaluate(project, Month.parse("2025-09")).result("response")
    argument = ", 0.9" if kind == "percentile" else ""
    expected = oracle(store, f"SELECT {sql}(epoch(attended_at) - epoch(created_at){argument}) "
                             "FROM CALLS") / scale
    assert result.current.value == pytest.approx(expected)
    assert result.current.value == pytest.approx(
        {"median": 1200, "mean": 1200, "percentile": 1800}[kind] / scale)


def test_the_documented_response_time_example_gives_the_same_seconds(store, tmp_path):
    """docs/catalogue.md's example computes a response time from two datetime columns."""
    from kpi import engine
    from kpi.periods import Month

    docs = (Path(__file__).resolve().parent.parent / "docs" / "catalogue.md").read_text()
    start = docs.index("<!-- response-time example -->")
    opening = docs.index("```toml", start) + len("```toml")
    block = docs[opening:docs.index("```", opening)]
    block = block.replace('dataset = "incidents"', 'dataset = "calls"').replace(
        'priority = "response"', 'priority = "p"')
    folder = project_with(store, tmp_path, block)
    report = engine.evaluate(load_project(folder), Month.parse("2025-09"))
    values = {r.kpi.id: r.current.value for r in report.results if r.kpi.id != "calls"}
    assert len(values) == 2
    assert list(values.values()) == [pytest.approx(1200.0)] * 2


@pytest.mark.parametrize(("body", "expected"), [
    ('kind = "median"\nunit = "number"\nvalue = "attended_at - created_at"',
     "set unit = \"seconds\" or unit = \"days\""),
    ('kind = "within"\nvalue = "attended_at - created_at"\nthreshold = 900',
     "DATE_PART('epoch', attended_at) - DATE_PART('epoch', created_at)"),
    ('kind = "count"\nvalue = "attended_at - created_at"', "DATE_PART('epoch'"),
    ('kind = "rate"\nnumerator = "attended_at - created_at"', "cannot be counted"),
    ('kind = "mean"\nvalue = "created_at"', "must be a number or a true/false condition"),
    ('kind = "sum"\nvalue = "lpa"', "must be a number or a true/false condition, not String"),
])
def test_values_of_the_wrong_type_are_refused_with_a_hint(store, tmp_path, body, expected):
    folder = project_with(store, tmp_path, kpi_block("k", f'dataset = "calls"\n{body}'))
    found = problems_of(folder)
    assert len(found) == 1, found
    assert "KPI 'k'" in found[0] and expected in found[0]


@pytest.mark.parametrize("condition", [
    "attended_at - created_at <= 900", "(attended_at - created_at) > 600",
    "attended_at - created_at BETWEEN 0 AND 900", "900 >= attended_at - created_at",
])
def test_a_duration_compared_with_a_number_is_refused(store, tmp_path, condition):
    folder = project_with(store, tmp_path, kpi_block(
        "quick", f'kind = "count"\ndataset = "calls"\nfilter = "{condition}"'))
    found = problems_of(folder)
    assert len(found) == 1, found
    assert "KPI 'quick', key 'filter': compares a duration" in found[0]
    assert "microseconds" in found[0]


def test_durations_compared_with_intervals_or_seconds_count_the_right_rows(store, tmp_path):
    from kpi import engine
    from kpi.periods import Month

    seconds = "DATE_PART('epoch', attended_at) - DATE_PART('epoch', created_at) <= 900"
    folder = project_with(store, tmp_path, kpi_block(
        "by_interval", 'kind = "count"\ndataset = "calls"\n'
                       'filter = "attended_at - created_at <= INTERVAL \'15 minutes\'"')
        + kpi_block("by_seconds", f'kind = "count"\ndataset = "calls"\nfilter = "{seconds}"'))
    report = engine.evaluate(load_project(folder), Month.parse("2025-09"))
    expected = oracle(store, "SELECT count(*) FROM CALLS "
                             "WHERE attended_at - created_at <= INTERVAL 15 MINUTE")
    assert expected == 12
    assert report.result("by_interval").current.value == expected
    assert report.result("by_seconds").current.value == expected


# ---------------------------------------------------------------------------------------------
# Row-level only: no aggregates, windows, subqueries or table functions


@pytest.mark.parametrize(("key", "expression", "expected"), [
    ("filter", "victims > AVG(victims)", "uses the aggregate AVG(...)"),
    ("filter", "victims >= MAX(victims)", "uses the aggregate MAX(...)"),
    ("filter", "COUNT(*) > 10", "uses the aggregate COUNT(...)"),
    ("filter", "victims > QUANTILE_CONT(victims, 0.5)", "uses the aggregate QUANTILE_CONT(...)"),
    ("filter", "FIRST(victims) = victims", "uses the aggregate FIRST(...)"),
    ("filter", "victims > MEDIAN(victims)", "uses the aggregate MEDIAN(...)"),
    ("value", "victims - STDDEV(victims)", "uses the aggregate"),
    ("value", "SUM(victims) OVER ()", "uses"),
    ("value", "LAG(victims) OVER (ORDER BY date)", "uses a window function"),
    ("filter", "victims IN (SELECT 1)", "holds a subquery"),
    ("filter", "victims > (SELECT 1)", "holds a subquery"),
    ("filter", "EXISTS (SELECT 1)", "holds a subquery"),
    ("filter", "victims IN (VALUES (1))", "holds a subquery"),
    ("filter", "lpa IN (SELECT column_1 FROM read_csv('/etc/passwd'))", "reads a table"),
    ("value", "read_parquet('x.parquet')", "reads a table"),
    ("filter", "victims > 1; SELECT 1", "one SQL expression"),
])
def test_expressions_that_are_not_row_level_are_refused(store, tmp_path, key, expression,
                                                        expected):
    kind = "count" if key == "filter" else "sum"
    value = '\nvalue = "victims"' if key == "filter" and kind == "sum" else ""
    folder = project_with(store, tmp_path, kpi_block(
        "k", f'kind = "{kind}"\ndataset = "calls"\n{key} = "{expression}"{value}'))
    found = problems_of(folder)
    assert len(found) == 1, found
    assert f"KPI 'k', key '{key}'" in found[0] and expected in found[0], found


def test_a_subquery_reading_a_named_pipe_is_refused_before_it_is_opened(store, tmp_path):
    """Polars opens a subquery's file while parsing the expression; on a named pipe that waits
    for ever. Validation must refuse it without opening anything."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    folder = project_with(store, tmp_path, kpi_block(
        "k", f'kind = "count"\ndataset = "calls"\n'
             f'filter = "lpa IN (SELECT column_1 FROM read_csv(\'{pipe}\'))"'))
    for args in (("catalogue", "--validate", folder / "kpi.toml"),
                 ("summary", "--period", "2025-09")):
        result = run_in_a_process("--project", folder, *args, timeout=60)
        assert result.returncode == 3, result.stderr
        assert "Traceback" not in result.stderr
        assert "reads a table ('read_csv')" in result.stderr


# ---------------------------------------------------------------------------------------------
# Blanks: not measured, left out of within as out of mean and median


def test_within_leaves_blank_values_out_of_its_denominator(store, tmp_path):
    from kpi import engine
    from kpi.periods import Month

    folder = project_with(store, tmp_path, kpi_block(
        "quick", 'kind = "within"\ndataset = "calls"\nvalue = "minutes"\nthreshold = 15')
        + kpi_block("average", 'kind = "mean"\ndataset = "calls"\nvalue = "minutes"'))
    report = engine.evaluate(load_project(folder), Month.parse("2025-09"))
    quick = report.result("quick").current
    expected = oracle(store, "SELECT 100.0 * count(*) FILTER (WHERE minutes <= 15) / "
                             "count(minutes) FROM CALLS")
    assert quick.value == pytest.approx(expected)
    assert quick.value == pytest.approx(100 / 3)  # 1 of 3 measured calls; the 4th is blank
    assert (quick.numerator, quick.denominator) == (12, 36)
    assert report.result("average").current.denominator == 36


# ---------------------------------------------------------------------------------------------
# Non-finite values are no data


@pytest.mark.parametrize("body", [
    'kind = "mean"\nvalue = "100 / victims"',
    'kind = "median"\nvalue = "100 / victims"',
    'kind = "percentile"\nvalue = "100 / victims"\npercentile = 10',
    'kind = "sum"\nvalue = "victims / 0"',
    'kind = "within"\nvalue = "victims / 0"\nthreshold = 5',
    'kind = "sum"\nvalue = "CAST(\'nan\' AS DOUBLE)"',
    'kind = "sum"\nvalue = "victims * 1e308 * 10"',
    'kind = "rate"\nnumerator = "victims / 0"',
])
def test_nan_and_infinite_values_are_no_data_with_a_note(store, tmp_path, body):
    from kpi import engine
    from kpi.periods import Month

    folder = project_with(store, tmp_path, kpi_block(
        "k", f'dataset = "calls"\nbetter = "lower"\n{body}'))
    result = engine.evaluate(load_project(folder), Month.parse("2025-09")).result("k")
    assert result.status == "no_data"
    assert result.change is None
    assert result.current is None or result.current.value is None
    assert "not a number (NaN or infinite" in result.note


def test_no_data_from_a_division_by_zero_fails_a_scheduled_job(store, tmp_path):
    folder = project_with(store, tmp_path, kpi_block(
        "per_victim", 'kind = "mean"\ndataset = "calls"\nvalue = "100 / victims"\n'
                      'better = "lower"'))
    result = run("--project", folder, "summary", "--period", "2025-09", "--format", "json",
                 "--fail-on", "no_data")
    assert result.returncode == 1, result.stderr
    strict = json.loads(result.stdout, parse_constant=lambda token: pytest.fail(token))
    payload = {k["id"]: k for k in strict["kpis"]}
    assert payload["per_victim"]["status"] == "no_data"
    assert payload["per_victim"]["current"]["value"] is None
    assert payload["calls"]["status"] != "no_data"
    table = run("--project", folder, "summary", "--period", "2025-09")
    assert table.returncode == 0
    assert "nan%" not in table.stdout.lower() and "improving" not in table.stdout
    assert "not a number (NaN or infinite" in table.stdout


@pytest.mark.parametrize(("key", "value"), [
    ("multiplier", "nan"), ("multiplier", "inf"), ("multiplier", "-inf"),
    ("stable_band", "nan"), ("threshold", "inf"), ("lag", "inf"), ("percentile", "nan"),
])
def test_a_non_finite_number_in_the_catalogue_is_refused_at_load(store, tmp_path, key, value):
    kind = 'kind = "within"\nvalue = "minutes"' if key == "threshold" else 'kind = "count"'
    folder = project_with(store, tmp_path, kpi_block(
        "k", f'dataset = "calls"\n{kind}\n{key} = {value}'))
    found = problems_of(folder)
    expected = {"lag": "a whole number of months from 0 to 60",
                "percentile": "a number from 1 and below 100"}.get(key, "a finite number")
    assert any(f"KPI 'k', key '{key}': must be {expected}" in line and f"found {value}" in line
               for line in found), found


@pytest.mark.parametrize("tolerance", ["inf", "nan", '"0.5"', "-1"])
def test_a_check_tolerance_that_is_not_a_finite_number_is_refused(store, tmp_path, tolerance):
    folder = project_with(store, tmp_path, kpi_block("a", 'kind = "count"\ndataset = "calls"')
                          + kpi_block("b", 'kind = "count"\ndataset = "calls"')
                          + '\n[[checks]]\nid = "parts"\ntitle = "Parts"\ntotal = "calls"\n'
                            f'parts = ["a", "b"]\ntolerance = {tolerance}\n')
    found = problems_of(folder)
    assert any("check 'parts', key 'tolerance': must be a finite number" in line
               for line in found), found


def test_an_infinite_population_is_refused(store, tmp_path):
    folder = project_with(store, tmp_path, "\n[population]\nforce = inf\n")
    found = problems_of(folder)
    assert any("[population], key 'force': must be a finite number above 0, found inf" in line
               for line in found)


DERIVED = (kpi_block("all_calls", 'kind = "count"\ndataset = "calls"\nhidden = true')
           + kpi_block("big", 'kind = "count"\ndataset = "calls"\nhidden = true\n'
                              'filter = "victims = 3 AND month <> \'2025-06\'"')
           + kpi_block("per_big", 'kind = "rate"\nnumerator_kpi = "all_calls"\n'
                                  'denominator_kpi = "big"\nbetter = "lower"'))


def test_show_of_a_rate_of_kpis_with_a_zero_denominator_month_does_not_crash(store, tmp_path):
    from kpi.periods import Month

    folder = project_with(store, tmp_path, DERIVED)
    project = load_project(folder)
    series = ref.monthly_series(project, project.kpi("per_big"), Month.parse("2025-09"))
    june = series.filter(series["month"] == "2025-06")
    assert june["value"][0] is None  # 4 calls / 0: no rate, not infinity
    assert series.filter(series["month"] == "2025-05")["value"][0] == pytest.approx(400.0)
    result = run("--project", folder, "show", "per_big", "--period", "2025-09")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "inf" not in result.stdout.lower()
    as_json = run("--project", folder, "show", "per_big", "--period", "2025-09", "--format",
                  "json")
    assert as_json.returncode == 0, as_json.stderr
    json.loads(as_json.stdout, parse_constant=lambda token: pytest.fail(token))


def test_sparkline_draws_nan_and_infinity_as_gaps():
    from kpi.render import sparkline

    assert sparkline([1.0, float("nan"), 3.0, float("inf"), None, float("-inf")]) == "▁ █   "
    assert sparkline([float("nan")] * 3) == "   "


@pytest.mark.parametrize("column", ["date", "created_at", "minutes"])
def test_a_breakdown_by_a_date_or_measure_is_refused_at_load(store, tmp_path, column):
    folder = project_with(store, tmp_path, kpi_block(
        "k", f'kind = "count"\ndataset = "calls"\nbreakdowns = ["{column}"]'))
    found = problems_of(folder)
    assert len(found) == 1
    assert f"KPI 'k', key 'breakdowns': column '{column}' is of type" in found[0]
    result = run("--project", folder, "show", "k", "--period", "2025-09")
    assert result.returncode == 3 and "Traceback" not in result.stderr


def test_a_breakdown_by_a_bool_or_int_column_works(store, tmp_path):
    folder = project_with(store, tmp_path, kpi_block(
        "k", 'kind = "count"\ndataset = "calls"\nbreakdowns = ["flag", "victims"]'))
    result = run("--project", folder, "show", "k", "--period", "2025-09", "--format", "json")
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------------------------
# Validation is linear


def test_every_problem_of_a_large_catalogue_is_reported(tmp_path):
    """2,000 KPIs, each with a typo, each reported once with its own line number (the
    benchmark of 10,000 is in benchmarks/validate_scale.py and docs/performance.md)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    try:
        from validate_scale import catalogue
    finally:
        sys.path.pop(0)
    path = tmp_path / "kpi.toml"
    path.write_text(catalogue(2000), encoding="utf-8")
    found = problems_of(tmp_path)
    assert len(found) == 2000
    lines = path.read_text().splitlines()
    for number, problem in enumerate(found):
        line = int(problem.split(":")[1])
        assert lines[line - 1] == f"filter = \"ofence = 'x{number}'\"", problem
        assert f"KPI 'k{number}', key 'filter': refers to 'ofence'" in problem
