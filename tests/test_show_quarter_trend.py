"""`kpi show` of quarterly data whose current window is incomplete: the trend ends at the last
quarter the data holds on or before the period less the lag, and that quarter has its rolling
year (found by the differential oracle, seed 2001: the trend ended at the quarter's middle
month, so the last quarter's year was read as missing).

Quarters April 2023 to September 2024, one row each; `lag = 3`, so --period 2024-05 asks for
the year to December 2023, which lacks January to March 2023 (incomplete). The quarter January
to March 2024 is held from its first month, on or before 2024-02: its rolling year is the four
quarters April 2023 to March 2024, 4 rows.
"""

from __future__ import annotations

import json

PROJECT = """[project]
name = "Quarters"
baseline = "2024-03"

[datasets.q]
date = { year = "yr", quarter = "qtr" }
{published}
[datasets.q.columns]
yr = "int"
qtr = "int"
force = "str"

[[priorities]]
id = "p"
title = "Plan"

[[kpis]]
id = "rows"
title = "Rows"
priority = "p"
kind = "count"
better = "lower"
dataset = "q"
baseline = "yoy"
lag = 3
"""


def test_the_last_quarter_of_an_incomplete_window_has_its_rolling_year(tmp_path, cli):
    quarters = [(2023, 2), (2023, 3), (2023, 4), (2024, 1), (2024, 2), (2024, 3)]
    (tmp_path / "q.csv").write_text("yr,qtr,force\n" + "".join(
        f"{y},{q},Kent\n" for y, q in quarters), encoding="utf-8")
    for published in ("", 'published = "quarterly"'):
        (tmp_path / "kpi.toml").write_text(PROJECT.replace("{published}", published),
                                           encoding="utf-8")
        assert cli(["--project", tmp_path, "ingest", "q", tmp_path / "q.csv"]).exit_code == 0
        result = cli(["--project", tmp_path, "show", "rows", "--period", "2024-05", "--months",
                      "15", "--format", "json"])
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        assert doc["kpi"]["current"] is None
        assert doc["kpi"]["note"].startswith("year ending December 2023 is incomplete")
        trend = [(p["month"], p["value"], p["rolling_12"]) for p in doc["trend"]]
        assert trend == [("2023-01..2023-03", None, None), ("2023-04..2023-06", 1, None),
                         ("2023-07..2023-09", 1, None), ("2023-10..2023-12", 1, None),
                         ("2024-01..2024-03", 1, 4)], published


def test_quarters_loaded_force_by_force_keep_their_values_and_rolling_years(tmp_path, cli):
    """Quarterly rows loaded part by part (`replace_by = ["force"]`, Kent and then Essex):
    each quarter's row is stored in its first month, so no part holds a quarter's second or
    third month. Those months are no part's, never months a part is missing (which would
    leave the trend without its rolling years); a quarter one force was never loaded for is.
    Counted by hand: two rows a quarter, eight in the year to March 2024; Essex holds no
    April to June 2023, so that quarter and every year holding it has no figure."""
    quarters = [(2023, 2), (2023, 3), (2023, 4), (2024, 1), (2024, 2), (2024, 3)]
    toml = PROJECT.replace("{published}", 'replace_by = ["force"]').replace("lag = 3\n", "")
    (tmp_path / "kpi.toml").write_text(toml, encoding="utf-8")
    for force, held in (("Kent", quarters), ("Essex", quarters[1:])):
        (tmp_path / f"{force}.csv").write_text("yr,qtr,force\n" + "".join(
            f"{y},{q},{force}\n" for y, q in held), encoding="utf-8")
        assert cli(["--project", tmp_path, "ingest", "q", tmp_path / f"{force}.csv"]) \
            .exit_code == 0
    result = cli(["--project", tmp_path, "show", "rows", "--period", "2024-09", "--months",
                  "18", "--format", "json"])
    assert result.exit_code == 0, result.output
    trend = [(p["month"], p["value"], p["rolling_12"]) for p in json.loads(result.stdout)["trend"]]
    assert trend == [("2023-04..2023-06", None, None), ("2023-07..2023-09", 2, None),
                     ("2023-10..2023-12", 2, None), ("2024-01..2024-03", 2, None),
                     ("2024-04..2024-06", 2, 8), ("2024-07..2024-09", 2, 8)]


def test_quarterly_data_has_no_process_chart_and_says_why_not_that_months_are_missing(tmp_path,
                                                                                        cli):
    """Sixteen whole quarters, 2021 to 2024, each held: a chart of monthly values has no value
    in two months of three, so no limits, and `kpi show` said "no limits: the baseline
    (2023-01 to 2023-12) has no value for 2023-02, 2023-03, ..." of months no quarterly
    extract could hold. It now says the data is quarterly; the summary, as before, gives no
    variation, and neither face gives assurance."""
    quarters = [(y, q) for y in (2021, 2022, 2023, 2024) for q in (1, 2, 3, 4)]
    (tmp_path / "q.csv").write_text("yr,qtr,force\n" + "".join(
        f"{y},{q},Kent\n" * (3 + (y + q) % 4) for y, q in quarters), encoding="utf-8")
    (tmp_path / "kpi.toml").write_text(
        PROJECT.replace("{published}", "").replace("lag = 3\n", ""), encoding="utf-8")
    assert cli(["--project", tmp_path, "ingest", "q", tmp_path / "q.csv"]).exit_code == 0
    shown = cli(["--project", tmp_path, "show", "rows", "--period", "2024-12", "--format",
                 "json"])
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.stdout)
    assert doc["signal"]["xmr"]["note"] == (
        "no process chart: the data is one value per quarter, and a chart of monthly values "
        "has none for two months in three")
    assert doc["signal"]["xmr"]["mean"] is None and doc["kpi"]["variation"] is None
    summary = cli(["--project", tmp_path, "summary", "--period", "2024-12", "--format",
                   "json"])
    judged = json.loads(summary.stdout)["kpis"][0]
    assert judged["variation"] is None and judged["assurance"] is None
    # The windows are whole: 2024's four quarters hold 3 + (2024 + q) % 4 rows each.
    assert judged["current"]["value"] == doc["kpi"]["current"]["value"] == sum(
        3 + (2024 + q) % 4 for q in (1, 2, 3, 4))
