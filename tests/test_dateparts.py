"""Months from separate columns: a financial year and quarter, a year and quarter, a year and
month. Quarterly rows count only in windows of whole quarters."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import inprocess
import pytest
from typer.testing import CliRunner

from kpi.catalogue import parse_project_file
from kpi.cli import app

QUARTERLY = """
[project]
name = "Quarterly"
baseline = "2018-03"

[datasets.prc]
date = { financial_year = "fy", quarter = "q" }
[datasets.prc.columns]
fy = { type = "str", from = ["Financial Year"] }
q = { type = "int", from = ["Quarter"] }
force = "str"
offences = "int"

[[priorities]]
id = "crime"
title = "Crime"

[[kpis]]
id = "offences"
title = "Offences"
priority = "crime"
kind = "count"
dataset = "prc"
value = "offences"
better = "lower"
"""

MONTHLY = """
[project]
name = "Monthly"

[datasets.returns]
date = { year = "year", month = "month_number" }
[datasets.returns.columns]
year = "int"
month_number = "int"
force = "str"
cases = "int"

[[priorities]]
id = "crime"
title = "Crime"

[[kpis]]
id = "cases"
title = "Cases"
priority = "crime"
kind = "count"
dataset = "returns"
value = "cases"
better = "lower"
"""


def _project(tmp_path: Path, text: str, rows: str, name: str = "rows.csv") -> Path:
    (tmp_path / "kpi.toml").write_text(text)
    (tmp_path / name).write_text(rows)
    return tmp_path


def _run(project: Path, *args: str):
    return CliRunner().invoke(app, ["--project", str(project), *args])


# 2016/17 Q4 is January-March 2017; 2017/18 Q1-Q4 April 2017 - March 2018; 2018/19 Q1 is
# April-June 2018. Force A: 1, 10, 100, 1000, 10000, 100000 in that order; force B: 2 each.
ROWS = "Financial Year,Quarter,force,offences\n" + "".join(
    f"{fy},{q},A,{10 ** i}\n{fy},{q},B,2\n"
    for i, (fy, q) in enumerate([("2016/17", 4), ("2017/18", 1), ("2017/18", 2), ("2017/18", 3),
                                 ("2017/18", 4), ("2018/19", 1)]))


def test_financial_quarters_are_stored_at_their_first_month(tmp_path):
    project = _project(tmp_path, QUARTERLY, ROWS)
    result = _run(project, "ingest", "prc", str(project / "rows.csv"))
    assert result.exit_code == 0, result.output
    # Six quarters, January 2017 to June 2018 (it read "6 month(s), 2017-01..2018-04").
    assert "6 quarter(s), 2017-01..2018-06" in result.output
    shown = json.loads(_run(project, "datasets", "--format", "json").stdout)
    # Each quarter stands for its three months, so no month is missing.
    assert "2017-01" in json.dumps(shown) and "2018-06" in json.dumps(shown)


def test_the_history_of_quarterly_rows_says_the_months_their_quarters_cover(tmp_path):
    """`kpi history` of six quarters, January 2017 to June 2018, said "2017-01 2017-04
    2017-07 2017-10 2018-01 2018-04" (the months they are stored in, read as six single
    months), where the load said "6 quarter(s), 2017-01..2018-06"; a load of one quarter
    "2018-04" (April alone). Each face of the history says the quarters' months now, a
    run of quarters to the last one's end, a gap between runs."""
    project = _project(tmp_path, QUARTERLY, ROWS)
    assert _run(project, "ingest", "prc", str(project / "rows.csv")).exit_code == 0
    one = project / "one.csv"
    one.write_text("Financial Year,Quarter,force,offences\n2018/19,1,A,7\n2018/19,1,B,2\n")
    assert _run(project, "ingest", "prc", str(one)).exit_code == 0
    gap = project / "gap.csv"
    gap.write_text("Financial Year,Quarter,force,offences\n2017/18,1,A,7\n2017/18,3,A,2\n")
    assert _run(project, "ingest", "prc", str(gap), "--allow-shrink").exit_code == 0
    text = _run(project, "history", "prc").stdout
    assert "12 rows  2017-01..2018-06\n" in text
    assert "2 rows  2018-04..2018-06\n" in text
    assert "2 rows  2017-04..2017-06 2017-10..2017-12\n" in text
    csv = _run(project, "history", "prc", "--format", "csv").stdout.splitlines()
    assert [line.split(",")[4] for line in csv[1:]] == [
        "2017-01..2018-06", "2018-04..2018-06", "2017-04..2017-06 2017-10..2017-12"]
    # The JSON (and the Python face) keep the months the rows are stored in.
    doc = json.loads(_run(project, "history", "prc", "--format", "json").stdout)
    assert doc[1]["months"] == ["2018-04"]


def test_a_year_ending_on_a_quarter_counts_whole_quarters(tmp_path):
    project = _project(tmp_path, QUARTERLY, ROWS)
    _run(project, "ingest", "prc", str(project / "rows.csv"))
    summary = json.loads(_run(project, "summary", "--period", "2018-03", "--format", "json",
                              "--vs", "yoy").stdout)
    kpi = summary["kpis"][0]
    # FY 2016/17 is not all there (only its last quarter): no comparison.
    assert kpi["comparison"] is None and "incomplete" in kpi["note"]
    # FY 2017/18: quarters 1-4 of force A (10 + 100 + 1000 + 10000) and B (4 x 2).
    assert kpi["current"]["value"] == 11_110 + 8
    assert (kpi["current"]["start"], kpi["current"]["end"]) == ("2017-04", "2018-03")
    # YE June 2018 is the next four quarters.
    later = json.loads(_run(project, "summary", "--period", "2018-06", "--format", "json",
                            "--vs", "previous").stdout)
    assert later["kpis"][0]["current"]["value"] == 111_100 + 8
    # `--vs previous` of quarterly data is the year a quarter earlier (test below).
    assert later["kpis"][0]["comparison"]["end"] == "2018-03"
    compared = json.loads(_run(project, "compare", "--period", "2018-03", "--by", "force",
                               "--format", "json", "--vs", "yoy").stdout)
    parts = {p["name"]: p["current"]["value"] for p in compared["kpis"][0]["parts"]}
    assert parts == {"A": 11_110, "B": 8}


def test_the_previous_window_of_quarterly_data_is_a_quarter_earlier(tmp_path):
    """`--vs previous` compared the year ending June 2018 with the year ending May 2018,
    which cuts a quarter, so every quarterly KPI printed its figure beside "no comparison"
    and status no data, with the hint to choose a period ending in June (it did), exit 0,
    in every face: no period gave a comparison. The window a row earlier is a quarter
    earlier: the year ending March 2018, by hand 10 + 100 + 1,000 + 10,000 of force A and
    4 x 2 of B = 11,118, in the summary, `kpi show`, `kpi compare` and the paper."""
    project = _project(tmp_path, QUARTERLY, ROWS)
    _run(project, "ingest", "prc", str(project / "rows.csv"))
    args = ("--period", "2018-06", "--vs", "previous")
    kpi = json.loads(_run(project, "summary", *args, "--format", "json").stdout)["kpis"][0]
    assert (kpi["comparison"]["start"], kpi["comparison"]["end"]) == ("2017-04", "2018-03")
    assert kpi["comparison"]["value"] == 11_118 and kpi["current"]["value"] == 111_108
    assert kpi["status"] == "deteriorating" and kpi["change"]["absolute"] == 111_108 - 11_118
    shown = json.loads(_run(project, "show", "offences", *args, "--format", "json").stdout)
    assert shown["kpi"]["comparison"]["value"] == 11_118
    assert "year ending March 2018" in _run(project, "show", "offences", *args).stdout
    compared = json.loads(_run(project, "compare", *args, "--by", "force",
                               "--format", "json").stdout)
    parts = {p["name"]: p["comparison"]["value"] for p in compared["kpis"][0]["parts"]}
    assert parts == {"A": 11_110, "B": 8}
    # A KPI in development (no dataset yet) beside them: the paper's words on what each
    # KPI is compared with read the datasets of live KPIs only (it raised on this one).
    (project / "kpi.toml").write_text(QUARTERLY + """
[[kpis]]
id = "planned"
title = "Planned"
priority = "crime"
kind = "count"
status = "in_development"
""")
    paper = project / "paper.md"
    written = _run(project, "export", "markdown", *args, "--output", str(paper))
    assert written.exit_code == 0, written.output
    text = paper.read_text()
    assert "Compared with: the window ending a quarter earlier" in text
    # The introduction says so too (it said "a month earlier" below the title block).
    assert "Each KPI is compared with the window ending a quarter earlier." in text
    assert "from 11,118 in the year ending March 2018" in text


def test_what_cuts_a_quarter_is_said_and_a_snapshot_of_quarters_refused(tmp_path):
    """A window that cuts a quarter said "(choose a period ending in March, June, September
    or December)" of the period 2018-06: no period was at fault. A baseline ending in
    February is, and the note says so; a snapshot (as at one month) of quarterly rows was no
    data in every period with that note, exit 0, and is refused when kpi.toml loads."""
    project = _project(tmp_path, QUARTERLY.replace('baseline = "2018-03"',
                                                   'baseline = "2018-02"'), ROWS)
    _run(project, "ingest", "prc", str(project / "rows.csv"))
    kpi = json.loads(_run(project, "summary", "--period", "2018-06", "--format",
                          "json").stdout)["kpis"][0]
    assert kpi["comparison"] is None and kpi["current"]["value"] == 111_108
    assert kpi["note"].startswith("comparison year ending February 2018 cuts a quarter")
    assert "give the baseline so" in kpi["note"] and "choose a period" not in kpi["note"]
    snapshot = QUARTERLY + """
[[kpis]]
id = "held"
title = "Offences as at"
priority = "crime"
kind = "snapshot"
dataset = "prc"
value = "offences"
better = "lower"
"""
    (project / "kpi.toml").write_text(snapshot)
    refused = inprocess.run(["--project", project, "summary", "--period", "2018-06"])
    assert refused.returncode == 3, refused.stdout
    assert ("KPI 'held', key 'kind': a snapshot is as at one month, and dataset 'prc' holds "
            "one row per quarter") in refused.stderr


@pytest.mark.parametrize("period, end", [("2018-02", "2017-12"), ("2018-04", "2018-03"),
                                         ("2018-05", "2018-03"), ("2018-06", "2018-06")])
def test_a_period_inside_a_quarter_reports_the_last_whole_quarter(tmp_path, period, end):
    # Before, 2018-05 was refused as "cuts a quarter" while 2018-06 reported a window: one
    # rule now, the window ends at the last whole quarter on or before the period.
    project = _project(tmp_path, QUARTERLY, ROWS)
    _run(project, "ingest", "prc", str(project / "rows.csv"))
    compare = inprocess.run(["--project", project, "compare", "--period", period, "--by",
                             "force", "--format", "json"])
    assert compare.returncode == 0, compare.stderr
    assert {p["current"]["end"] for p in json.loads(compare.stdout)["kpis"][0]["parts"]} == {end}
    summary = json.loads(_run(project, "summary", "--period", period, "--format",
                              "json").stdout)["kpis"][0]
    assert summary["current"]["end"] == end and summary["status"] != "stale"
    # A (10 ** i for the quarters ending in the year) and B (2 a quarter), by hand.
    totals = {"2017-12": 1 + 10 + 100 + 1000 + 8, "2018-03": 10 + 100 + 1000 + 10000 + 8,
              "2018-06": 100 + 1000 + 10000 + 100000 + 8}
    assert summary["current"]["value"] == totals[end]


def test_a_quarter_end_past_the_data_is_refused_and_a_period_before_it_is_not_stale(tmp_path):
    # The data ends with the quarter to March 2018. May asks for that quarter; June asks for
    # the quarter to June, which no row reaches.
    rows = "".join(line + "\n" for line in ROWS.splitlines() if "2018/19" not in line)
    project = _project(tmp_path, QUARTERLY, rows)
    _run(project, "ingest", "prc", str(project / "rows.csv"))
    may = json.loads(_run(project, "summary", "--period", "2018-05", "--format",
                          "json").stdout)["kpis"][0]
    assert (may["current"]["end"], may["status"]) == ("2018-03", "stable")  # the baseline
    june = _run(project, "summary", "--period", "2018-06")
    assert june.exit_code == 3
    assert ("no data reaches 2018-06: the latest month held is 2018-03 (dataset 'prc')"
            in june.output)


_NEXT = date.today().year + 1
_FY = (f"column 'Financial Year': expected a financial year such as 2017/18, from 1990/91 to "
       f"{_NEXT}/{(_NEXT + 1) % 100:02d}, ")


@pytest.mark.parametrize("row, message", [
    ("2017-19,1,A,5", _FY + "found '2017-19'"),
    ("FY17,1,A,5", _FY + "found 'FY17'"),
    # Issue 17, break 13: each of these was accepted.
    ("1899/00,1,A,5", _FY + "found '1899/00'"),
    ("2071/72,1,A,5", _FY + "found '2071/72'"),
    ("2017/2118,1,A,5", _FY + "found '2017/2118'"),
    ("2017/18,5,A,5", "column 'Quarter': expected a quarter 1 to 4, found '5'"),
    ("2017/18,,A,5", "column 'Quarter': expected a quarter 1 to 4, found a blank"),
])
def test_bad_date_parts_are_refused_with_row_and_column(tmp_path, row, message):
    project = _project(tmp_path, QUARTERLY,
                       "Financial Year,Quarter,force,offences\n2017/18,1,A,5\n" + row + "\n")
    result = inprocess.run(["--project", project, "ingest", "prc", project / "rows.csv"])
    assert result.returncode == 3
    assert "rows.csv, row 3, " + message in result.stderr


def test_year_and_month_columns(tmp_path):
    rows = "year,month_number,force,cases\n" + "".join(
        f"{2024 + (m - 1) // 12},{(m - 1) % 12 + 1},A,{m}\n" for m in range(1, 25))
    project = _project(tmp_path, MONTHLY, rows)
    result = _run(project, "ingest", "returns", str(project / "rows.csv"))
    assert "24 month(s), 2024-01..2025-12" in result.output
    summary = json.loads(_run(project, "summary", "--period", "2025-12", "--vs", "yoy",
                              "--format", "json").stdout)
    kpi = summary["kpis"][0]
    assert kpi["current"]["value"] == sum(range(13, 25))
    assert kpi["comparison"]["value"] == sum(range(1, 13))
    # A month is not a quarter: any period works.
    odd = json.loads(_run(project, "summary", "--period", "2025-11", "--vs", "previous",
                          "--format", "json").stdout)
    assert odd["kpis"][0]["current"]["value"] == sum(range(12, 24))
    (tmp_path / "bad.csv").write_text("year,month_number,force,cases\n2025,13,A,1\n")
    bad = inprocess.run(["--project", project, "ingest", "returns", tmp_path / "bad.csv"])
    assert bad.returncode == 3
    assert "row 2, column 'month_number': expected a month number 1 to 12, found '13'" \
        in bad.stderr


@pytest.mark.parametrize("date, message", [
    ('{ financial_year = "fy" }', "a table of columns must be"),
    ('{ financial_year = "fy", month = "q" }', "a table of columns must be"),
    ('{ financial_year = "nope", quarter = "q" }', "key 'date.financial_year': 'nope' is not"),
    ('{ financial_year = "offences", quarter = "q" }', "column 'offences' must be of type str"),
])
def test_date_parts_are_validated(tmp_path, date, message):
    path = tmp_path / "kpi.toml"
    path.write_text(QUARTERLY.replace('{ financial_year = "fy", quarter = "q" }', date))
    with pytest.raises(Exception) as caught:
        parse_project_file(path)
    assert message in str(caught.value)


def test_show_gives_quarterly_rows_as_quarters(tmp_path):
    # Before: each quarter's whole total in its first month, n/a in the other two, and no
    # rolling year at all.
    project = _project(tmp_path, QUARTERLY, ROWS)
    _run(project, "ingest", "prc", str(project / "rows.csv"))
    shown = _run(project, "show", "offences", "--period", "2018-06", "--format", "json")
    assert shown.exit_code == 0, shown.output
    trend = [(t["month"], t["value"], t["rolling_12"])
             for t in json.loads(shown.stdout)["trend"]]
    # 24 months are 8 quarters; force A's quarters are 1, 10, ... 100000, B's 2 each.
    assert trend == [
        ("2016-07..2016-09", None, None), ("2016-10..2016-12", None, None),
        ("2017-01..2017-03", 3, None), ("2017-04..2017-06", 12, None),
        ("2017-07..2017-09", 102, None), ("2017-10..2017-12", 1002, 1119),
        ("2018-01..2018-03", 10002, 11118), ("2018-04..2018-06", 100002, 111108)]
    table = _run(project, "show", "offences", "--period", "2018-06")
    assert "Trend: 8 quarters to 2018-06 (quarterly values)" in table.stdout


CALLS = """
[datasets.calls]
date = "date"
[datasets.calls.columns]
ref = "str"
date = "date"

[[kpis]]
id = "calls"
title = "Calls"
priority = "crime"
kind = "count"
dataset = "calls"
better = "lower"

[[kpis]]
id = "offences_per_call"
title = "Offences per 100 calls"
priority = "crime"
kind = "rate"
numerator_kpi = "offences"
denominator_kpi = "calls"
better = "lower"
"""


def test_a_rate_of_a_quarterly_kpi_and_a_monthly_one_is_shown_by_whole_quarters(tmp_path):
    """A rate of a quarterly KPI over a monthly one: each quarter's value over the monthly
    KPI's three months, and the rolling year over its year to the quarter's end (the current
    figure). Before, a quarter's offences were divided by its first month's calls (1,000,020
    for April to June 2018, not 250,005) and the rolling year by the year to that first month
    (92,590, not the current figure's 85,467.7)."""
    project = _project(tmp_path, QUARTERLY + CALLS, ROWS)
    # 10 calls a month from January 2017 to June 2018, 20 in June 2018
    months = [f"{2017 + m // 12}-{m % 12 + 1:02d}" for m in range(18)]
    (project / "calls.csv").write_text("ref,date\n" + "".join(
        f"{month}-{i},{month}-15\n" for month in months
        for i in range(20 if month == "2018-06" else 10)))
    for dataset, name in (("prc", "rows.csv"), ("calls", "calls.csv")):
        loaded = _run(project, "ingest", dataset, str(project / name))
        assert loaded.exit_code == 0, loaded.output
    shown = _run(project, "show", "offences_per_call", "--period", "2018-06", "--months",
                 "6", "--format", "json")
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.stdout)
    trend = [(t["month"], t["value"], t["rolling_12"]) for t in doc["trend"]]
    assert trend == [
        ("2018-01..2018-03", pytest.approx(10002 / 30 * 100), pytest.approx(11118 / 120 * 100)),
        ("2018-04..2018-06", pytest.approx(100002 / 40 * 100),
         pytest.approx(111108 / 130 * 100))]
    assert doc["kpi"]["current"]["value"] == pytest.approx(111108 / 130 * 100)


CHARGE_RATE = """
[project]
name = "Charges"
baseline = "2024-03"

[datasets.charges]
date = { financial_year = "fy", quarter = "q" }
[datasets.charges.columns]
fy = "str"
q = "int"
charges = "int"

[datasets.crimes]
date = "month"
[datasets.crimes.columns]
month = "month"
crimes = "int"

[[priorities]]
id = "j"
title = "Justice"

[[kpis]]
id = "charges"
title = "Charges"
priority = "j"
kind = "sum"
value = "charges"
dataset = "charges"
better = "higher"

[[kpis]]
id = "crimes"
title = "Recorded crime"
priority = "j"
kind = "sum"
value = "crimes"
dataset = "crimes"
better = "lower"

[[kpis]]
id = "charge_rate"
title = "Charges per 100 crimes"
priority = "j"
kind = "rate"
numerator_kpi = "charges"
denominator_kpi = "crimes"
better = "higher"
target = 0.9

[[kpis]]
id = "crimes_per_charge"
title = "Crimes per 100 charges"
priority = "j"
kind = "rate"
numerator_kpi = "crimes"
denominator_kpi = "charges"
better = "lower"
"""


def test_the_seasonal_table_of_a_rate_of_a_quarterly_kpi_and_a_monthly_one_is_by_quarters(
        tmp_path):
    """`kpi show --seasonal` of charges (a quarterly table) per 100 crimes (monthly) printed
    each quarter's charges over one month's crimes, three times the rate the trend above it
    gave the same quarter (15.0% against the trend's 5.0%), in text, JSON and the Python
    face; `kpi catalogue --validate` judged the target of 0.9 by those figures and refused it
    as a proportion (every one at least ten times it), where the quarters' rates (5.0% and
    5.5%) are not. The other way round (crimes per 100 charges) read a third of the rate.
    150 charges a quarter to March 2024 and 165 after, 1,000 crimes a month (hand count:
    150 / 3,000 is 5.0%, 165 / 3,000 5.5%, 3,000 / 150 is 2,000 and 3,000 / 165 1,818.18)."""
    from fractions import Fraction

    import kpi
    from kpi import verdicts

    quarters = [(y, q) for y in (2022, 2023, 2024, 2025) for q in (1, 2, 3, 4)
                if (y, q) <= (2025, 2)]
    project = _project(tmp_path, CHARGE_RATE, "fy,q,charges\n" + "".join(
        f"{y}/{(y + 1) % 100:02d},{q},{150 if y < 2024 else 165}\n" for y, q in quarters),
        name="charges.csv")
    months = [f"{y}-{m:02d}" for y in (2022, 2023, 2024, 2025) for m in range(1, 13)
              if "2022-04" <= f"{y}-{m:02d}" <= "2025-09"]
    (project / "crimes.csv").write_text("month,crimes\n" + "".join(f"{m},1000\n"
                                                                    for m in months))
    for dataset in ("charges", "crimes"):
        loaded = _run(project, "ingest", dataset, str(project / f"{dataset}.csv"))
        assert loaded.exit_code == 0, loaded.output
    labels = ["2024-10..2024-12", "2025-01..2025-03", "2025-04..2025-06", "2025-07..2025-09"]
    shown = _run(project, "show", "charge_rate", "--period", "2025-09", "--seasonal",
                 "--format", "json")
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.stdout)
    trend = {t["month"]: t["value"] for t in doc["trend"]}
    assert [trend[label] for label in labels] == [5.5] * 4
    assert [(r["month"], r["value"], r["a_year_earlier"], r["change_points"])
            for r in doc["same_months_a_year_earlier"]] == [
        (labels[0], 5.5, 5.0, 0.5), (labels[1], 5.5, 5.0, 0.5), (labels[2], 5.5, 5.5, 0.0),
        (labels[3], 5.5, 5.5, 0.0)]
    text = _run(project, "show", "charge_rate", "--period", "2025-09", "--seasonal")
    seasonal = text.stdout.split("Same quarters a year earlier")[1]
    assert [line.split() for line in seasonal.splitlines()[2:4]] == [
        [labels[0], "5.5%", "5.0%", "+0.5pp"], [labels[1], "5.5%", "5.0%", "+0.5pp"]]
    # The Python face's series: each quarter's rate in its first month, none in the others.
    face = kpi.open(project)
    detail = face.detail("charge_rate", "2025-09", seasonal=True)
    assert detail.same_months is not None
    got = dict(zip(detail.same_months.months, detail.same_months.values, strict=True))
    assert [got[m] for m in ("2024-10", "2024-11", "2024-12", "2025-07")] == [
        5.5, None, None, 5.5]
    assert got["2023-10"] == 5.0
    other = face.detail("crimes_per_charge", "2025-09", seasonal=True).same_months
    assert other is not None
    got = dict(zip(other.months, other.values, strict=True))
    assert (got["2023-10"], got["2024-10"]) == (2000.0, float(Fraction(300000, 165)))
    # The verdict's series and `kpi catalogue --validate` read the same quarters.
    assert verdicts.stored_targets(face.definition) == []
    validated = _run(project, "catalogue", "--validate", str(project / "kpi.toml"))
    assert validated.exit_code == 0, validated.output


def test_a_financial_year_is_stored_in_one_spelling(tmp_path):
    """'2017/18', '2017-18' and '2017/2018' name one year, read to one quarter's months, but
    were stored as written: two values to `unique` (a quarter given twice in one file, once
    in each spelling, was summed: 520 where 420), to `kpi compare --by` and to a filter. The
    year is stored as '2017/18' whichever way it is written."""
    keyed = QUARTERLY.replace('date = { financial_year = "fy", quarter = "q" }',
                              'date = { financial_year = "fy", quarter = "q" }\n'
                              'unique = ["fy", "q", "force"]')
    rows = ("Financial Year,Quarter,force,offences\n2017/18,1,A,100\n2017-18,2,A,100\n"
            " 2017/2018 ,3,A,100\n")
    project = _project(tmp_path, keyed, rows)
    assert _run(project, "ingest", "prc", str(project / "rows.csv")).exit_code == 0
    import kpi

    stored = kpi.open(project).scan("prc").collect()
    assert sorted(stored["fy"].to_list()) == ["2017/18", "2017/18", "2017/18"]
    again = project / "again.csv"
    again.write_text("Financial Year,Quarter,force,offences\n2017/18,4,A,100\n"
                     "2017/2018,4,A,120\n")
    refused = _run(project, "ingest", "prc", str(again))
    assert refused.exit_code == 3
    assert "expected each Financial Year once at each" in refused.output
