"""A figure compared with another adds the same parts of every column telling parts of the
data apart (a `[peers.*]` group's column) in each window it compares. A national extract loaded
whole by month held three forces' crimes for 2024 and only one force's for 2025 (a force that
stopped supplying data, as Greater Manchester did to police.uk in 2019-20): the summary printed
the current year (one force) against the baseline (three forces), "-240 (-66.7%) improving",
significant, a special cause of improvement, exit 0. The comparison is now left out with a
note naming the part and the two windows (`kpi.engine.part_gap`), in every face; a part with
no rows in some months of a window (sparse data) still compares. The figures are counted by
hand from the rows written here and again by DuckDB over the extract."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import inprocess
import pytest

import kpi

PROJECT = """
[project]
name = "Forces"
baseline = "2024-12"

[datasets.crimes]
date = "month"

[datasets.crimes.columns]
month = { type = "month", from = ["Month"] }
force = { type = "str", from = ["Force"], label = "force" }
kind = { type = "str", from = ["Kind"] }

[peers.forces]
column = "force"
members = ["A", "B", "C"]

[[priorities]]
id = "p"
title = "Crime"

[[kpis]]
id = "crime"
title = "Total crime"
priority = "p"
kind = "count"
dataset = "crimes"
filter = "kind = 'crime'"
better = "lower"
breakdowns = ["force"]
"""

PERIOD = "2025-12"
UNLIKE = ("comparison year ending December 2024 left out: force 'B' has rows in year ending "
          "December 2024 and none in year ending December 2025")


def _rows(forces_by_year: dict[int, tuple[str, ...]], per_month: int = 10,
          months: dict[str, set[int]] | None = None) -> list[dict[str, str]]:
    """`per_month` crimes a month for each force of each year (only in `months[force]`
    where given: a sparse force)."""
    rows = []
    for year, forces in forces_by_year.items():
        for month in range(1, 13):
            for force in forces:
                if months is not None and force in months and month not in months[force]:
                    continue
                rows += [{"Month": f"{year}-{month:02d}", "Force": force, "Kind": "crime"}
                         for _ in range(per_month)]
    return rows


def _project(folder: Path, rows: list[dict[str, str]], more: str = "",
             sparse: bool = False) -> Path:
    text = PROJECT.replace('date = "month"\n', 'date = "month"\nsparse = true\n', 1) \
        if sparse else PROJECT
    (folder / "kpi.toml").write_text(text + more, encoding="utf-8")
    extract = folder / "crimes.csv"
    with extract.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, ["Month", "Force", "Kind"])
        writer.writeheader()
        writer.writerows(rows)
    out = inprocess.run(["--project", folder, "ingest", "crimes", extract])
    assert out.returncode == 0, out.stderr
    return folder


def _kpi(folder: Path, *args: str) -> str:
    out = inprocess.run(["--project", folder, *args])
    assert out.returncode == 0, out.stderr
    return out.stdout


def _flat_chart(folder: Path, kpi_id: str) -> int:
    """The months the KPI's process chart runs over (`kpi show`'s JSON, first to last), where
    its values are flat: no limits (no spread known), so no special cause and no verdict."""
    chart = json.loads(_kpi(folder, "show", kpi_id, "--period", PERIOD, "--format",
                            "json"))["signal"]["xmr"]
    assert chart["mean"] is None and chart["signals"] == [], chart
    assert "has no variation" in chart["note"], chart
    (y1, m1), (y2, m2) = (map(int, month.split("-")) for month in chart["months"])
    return (y2 - y1) * 12 + m2 - m1 + 1


def _duckdb_counts(extract: Path) -> dict[tuple[str, str], int]:
    """(year, force) -> crimes, by DuckDB over the extract."""
    import duckdb

    con = duckdb.connect()
    got = con.execute("SELECT substr(Month, 1, 4), Force, count(*) FROM read_csv(?, header = "
                      "true, all_varchar = true) WHERE Kind = 'crime' GROUP BY ALL",
                      [str(extract)]).fetchall()
    return {(year, force): n for year, force, n in got}


@pytest.fixture(scope="module")
def stopped(tmp_path_factory) -> Path:
    """Forces A, B and C supply 10 crimes a month in 2024; only A does in 2025."""
    return _project(tmp_path_factory.mktemp("stopped"),
                    _rows({2024: ("A", "B", "C"), 2025: ("A",)}))


def test_the_oracle_counts_the_figures_by_hand(stopped):
    # By hand: 2024, 3 forces x 12 months x 10 = 360; 2025, A alone, 12 x 10 = 120; A's own
    # year before, 120. Like with like, A's 120 against A's 120; the summary compared 120
    # with 360.
    counts = _duckdb_counts(stopped / "crimes.csv")
    assert counts == {("2024", "A"): 120, ("2024", "B"): 120, ("2024", "C"): 120,
                      ("2025", "A"): 120}


def test_the_summary_leaves_out_a_comparison_of_other_parts(stopped):
    text = _kpi(stopped, "summary", "--period", PERIOD)
    assert "-66.7%" not in text and "improving" not in text
    assert "-240" not in text
    got = json.loads(_kpi(stopped, "summary", "--period", PERIOD, "--format", "json"))
    crime = got["kpis"][0]
    assert crime["current"]["value"] == 120  # A's 2025, as counted by hand
    assert crime["comparison"] is None
    assert crime["change"]["percent"] is None and crime["status"] == "no_data"
    assert crime["note"].startswith(UNLIKE)
    assert crime["significance"]["significant"] is None
    # The process chart is of the months adding the same forces as the latest year's: A's,
    # flat at 10, so no limits and no verdict.
    assert _flat_chart(stopped, "crime") == 12 and crime["variation"] is None
    assert crime["covers"] == [{"column": "force", "label": "force", "parts": ["A"]}]


def test_kpi_show_leaves_it_out_and_its_trend_has_no_value_of_other_parts(stopped):
    got = json.loads(_kpi(stopped, "show", "crime", "--period", PERIOD, "--format", "json"))
    assert got["kpi"]["comparison"] is None and got["kpi"]["note"].startswith(UNLIKE)
    values = {row["month"]: row["value"] for row in got["trend"]}
    assert all(values[f"2024-{m:02d}"] is None for m in range(1, 13))
    assert all(values[f"2025-{m:02d}"] == 10 for m in range(1, 13))  # A's 10 a month
    # its breakdown by force: A's figure alone, with no change (B's and C's never 0)
    assert [(p["part"], p["current"], p["comparison"]) for p in got["breakdowns"]["force"]] \
        == [("A", 120, None)]


def test_kpi_compare_by_another_column_leaves_it_out(stopped):
    got = json.loads(_kpi(stopped, "compare", "--by", "kind", "--period", PERIOD,
                          "--format", "json"))
    crime = got["kpis"][0]
    assert crime["note"].startswith(UNLIKE)
    assert [(p["name"], p["current"]["value"], p["comparison"]) for p in crime["parts"]] == [
        ("crime", 120, None)]


def test_kpi_compare_by_the_peer_column_never_reads_a_force_with_no_rows_as_0(stopped):
    got = json.loads(_kpi(stopped, "compare", "--by", "force", "--period", PERIOD,
                          "--format", "json"))
    crime = got["kpis"][0]
    assert [(p["name"], p["current"]["value"], p["comparison"]["value"])
            for p in crime["parts"]] == [("A", 120, 120)]
    assert "left out, with no rows in the year ending December 2025" in crime["note"]
    assert crime["note"].endswith(": B, C")


def test_the_paper_and_the_python_face_leave_it_out(stopped):
    _kpi(stopped, "export", "markdown", "--period", PERIOD, "--output", stopped / "p.md")
    paper = (stopped / "p.md").read_text(encoding="utf-8")
    assert "66.7" not in paper and "360" not in paper
    assert ("no comparison can be made: force 'B' has rows in year ending December 2024 and "
            "none in year ending December 2025") in paper
    frame = kpi.open(stopped).summary(period=PERIOD)
    row = frame.row(0, named=True)
    assert (row["current_value"], row["comparison_value"], row["change_percent"]) == (
        120, None, None)
    assert row["note"].startswith(UNLIKE)


def test_a_force_that_starts_supplying_leaves_the_comparison_out_too(tmp_path):
    folder = _project(tmp_path, _rows({2024: ("A",), 2025: ("A", "D")}))
    crime = json.loads(_kpi(folder, "summary", "--period", PERIOD, "--format",
                            "json"))["kpis"][0]
    assert crime["current"]["value"] == 240 and crime["comparison"] is None  # 2 x 12 x 10
    assert crime["note"].startswith("comparison year ending December 2024 left out: force "
                                    "'D' has rows in year ending December 2025 and none in "
                                    "year ending December 2024")


def test_sparse_parts_with_rows_in_each_window_still_compare(tmp_path):
    """C holds rows in March and October 2024 and in June 2025 only (deaths in custody): a
    month without rows is an empty month, not a force missing; both windows add A, B and C."""
    rows = _rows({2024: ("A", "B", "C"), 2025: ("A", "B", "C")}, per_month=2,
                 months={"C": set()})
    rows += [{"Month": month, "Force": "C", "Kind": "crime"}
             for month in ("2024-03", "2024-10", "2025-06")]
    folder = _project(tmp_path, rows)
    counts = _duckdb_counts(folder / "crimes.csv")
    # By hand: A and B 2 a month, 48 a year together; C 2 in 2024 and 1 in 2025.
    assert (counts[("2024", "C")], counts[("2025", "C")]) == (2, 1)
    crime = json.loads(_kpi(folder, "summary", "--period", PERIOD, "--format",
                            "json"))["kpis"][0]
    assert crime["current"]["value"] == 49 and crime["comparison"]["value"] == 50
    assert crime["change"]["absolute"] == -1 and crime["note"] is None
    assert crime["variation"]["points"] == 24  # no month of the series left out
    by_force = json.loads(_kpi(folder, "compare", "--by", "force", "--period", PERIOD,
                               "--format", "json"))["kpis"][0]
    assert {p["name"]: (p["current"]["value"], p["comparison"]["value"])
            for p in by_force["parts"]} == {"A": (24, 24), "B": (24, 24), "C": (1, 2)}


def test_a_kpi_picking_its_forces_is_held_to_the_forces_it_picks(tmp_path):
    """A KPI of A's crimes alone adds A in both years, whatever B and C did: its comparison
    stands (120 against 120, by hand), its series too; one of A's and B's is left out."""
    more = """
[[kpis]]
id = "a_crime"
title = "A's crime"
priority = "p"
kind = "count"
dataset = "crimes"
filter = "kind = 'crime' and force = 'A'"
better = "lower"

[[kpis]]
id = "ab_crime"
title = "A's and B's crime"
priority = "p"
kind = "count"
dataset = "crimes"
filter = "kind = 'crime' and force in ('A', 'B')"
better = "lower"
"""
    folder = _project(tmp_path, _rows({2024: ("A", "B", "C"), 2025: ("A",)}), more)
    got = {k["id"]: k for k in json.loads(_kpi(folder, "summary", "--period", PERIOD,
                                               "--format", "json"))["kpis"]}
    mine = got["a_crime"]
    assert (mine["current"]["value"], mine["comparison"]["value"]) == (120, 120)
    assert mine["change"]["absolute"] == 0 and mine["note"] is None
    assert _flat_chart(folder, "a_crime") == 24 and mine["variation"] is None
    both = got["ab_crime"]
    assert both["current"]["value"] == 120 and both["comparison"] is None
    assert both["note"].startswith(UNLIKE)
    # by another column, the same
    compared = {k["id"]: k for k in json.loads(_kpi(
        folder, "compare", "--by", "kind", "--period", PERIOD, "--format", "json"))["kpis"]}
    assert compared["a_crime"]["parts"][0]["comparison"]["value"] == 120
    assert compared["ab_crime"]["parts"][0]["comparison"] is None


def test_a_force_that_stops_in_june_leaves_the_comparison_out(tmp_path):
    """A, B and C supply 10 crimes a month in 2024; in 2025 C stops after June (Greater
    Manchester's stop, in the middle of a year). C has rows in both years, so holding rows in
    each window was not enough: the change read 300 against 360, "-60 (-16.7%)", improving.
    A part with rows in every month of one window is held to every month of the other."""
    rows = _rows({2024: ("A", "B", "C"), 2025: ("A", "B", "C")},
                 months={"C": set(range(1, 13))})
    rows = [r for r in rows if not (r["Force"] == "C" and r["Month"] > "2025-06")]
    folder = _project(tmp_path, rows)
    counts = _duckdb_counts(folder / "crimes.csv")
    # By hand: 2024, 3 x 12 x 10 = 360; 2025, A and B 120 each and C 6 x 10 = 60, 300.
    assert counts == {("2024", "A"): 120, ("2024", "B"): 120, ("2024", "C"): 120,
                      ("2025", "A"): 120, ("2025", "B"): 120, ("2025", "C"): 60}
    crime = json.loads(_kpi(folder, "summary", "--period", PERIOD, "--format",
                            "json"))["kpis"][0]
    assert crime["current"]["value"] == 300 and crime["comparison"] is None
    assert crime["status"] == "no_data" and crime["change"]["percent"] is None
    assert crime["note"].startswith(
        "comparison year ending December 2024 left out: force 'C' has rows in every month of "
        "year ending December 2024 and none in 2025-07, 2025-08, 2025-09 ... of year ending "
        "December 2025, so the figures would not add the same parts")
    text = _kpi(folder, "summary", "--period", PERIOD)
    assert "-16.7%" not in text and "improving" not in text
    # kpi show: this year's months C holds no rows in (20 a month, read as a fall of a
    # third) have no value; the year before adds A, B and C every month, as do the six months
    # kept, and keeps its values (30 a month, by hand); a rolling year holding a month left
    # out has no figure (300 beside 360 read as a fall), the year to January 2025 is 360
    got = json.loads(_kpi(folder, "show", "crime", "--period", PERIOD, "--format", "json"))
    assert got["kpi"]["comparison"] is None
    values = {row["month"]: row["value"] for row in got["trend"]}
    assert [values[f"2024-{m:02d}"] for m in range(1, 13)] == [30] * 12
    assert [values[f"2025-{m:02d}"] for m in range(1, 13)] == [30] * 6 + [None] * 6
    rolling = {row["month"]: row["rolling_12"] for row in got["trend"]}
    assert [rolling[f"2025-{m:02d}"] for m in range(1, 13)] == [360] * 6 + [None] * 6
    assert rolling["2024-12"] == counts[("2024", "A")] + counts[("2024", "B")] + counts[
        ("2024", "C")] == 360
    # so no process chart reads the fall as a special cause of improvement: the chart runs 24
    # months, its 18 values those adding A, B and C (the last 6 have none, above), flat at 30
    # (so no limits and no verdict)
    assert _flat_chart(folder, "crime") == 24 and crime["variation"] is None
    _kpi(folder, "export", "markdown", "--period", PERIOD, "--output", folder / "p.md")
    paper = (folder / "p.md").read_text(encoding="utf-8")
    assert "special cause of improvement" not in paper and "-16.7" not in paper
    # by force: A and B compare (120 with 120); C is left out and the note says why: its 60
    # are six months, which were ranked first of three, pooled into A's and B's "rest" and
    # averaged as a year (a peer group's mean of 100 where A and B hold 120 each)
    by_force = json.loads(_kpi(folder, "compare", "--by", "force", "--period", PERIOD,
                               "--format", "json"))["kpis"][0]
    assert {p["name"]: (p["current"]["value"], p["comparison"]["value"])
            for p in by_force["parts"]} == {"A": (120, 120), "B": (120, 120)}
    assert by_force["mean"] == 120
    assert by_force["note"].endswith(
        "left out, holding rows in only some months of the year ending December 2025: C (6 of "
        "12 months)")
    # The year to June 2025 against the year to May adds C in every month of both: compared.
    june = json.loads(_kpi(folder, "summary", "--period", "2025-06", "--vs", "previous",
                           "--format", "json"))["kpis"][0]
    assert (june["current"]["value"], june["comparison"]["value"]) == (360, 360)


@pytest.mark.parametrize("c_months, held", [
    ({2024: set(), 2025: set(range(4, 13))}, 9),  # C starts supplying in April 2025
    ({2024: set(range(1, 13)), 2025: set(range(1, 13)) - {2}}, 11),  # C misses February
])
def test_a_force_holding_part_of_the_year_is_not_ranked_tested_or_averaged(tmp_path, c_months,
                                                                            held):
    """By the windows' shape, a force with rows in every month of one year and not of the
    other, or in none of one and only some of the other, holds fewer months than its figure
    claims: its 90 (or 110) was ranked first of three as a year's, pooled into A's and B's
    "rest" (A and B, 120 each, "differ from the rest" at p < 0.001) and averaged into the
    group's mean. It is left out and named, and A and B, alike, do not differ."""
    rows = [r for r in _rows({2024: ("A", "B", "C"), 2025: ("A", "B", "C")})
            if r["Force"] != "C" or int(r["Month"][5:]) in c_months[int(r["Month"][:4])]]
    folder = _project(tmp_path, rows)
    counts = _duckdb_counts(folder / "crimes.csv")
    assert counts[("2025", "C")] == held * 10 and counts[("2025", "A")] == 120
    by_force = json.loads(_kpi(folder, "compare", "--by", "force", "--period", PERIOD,
                               "--format", "json"))["kpis"][0]
    assert [p["name"] for p in by_force["parts"]] == ["A", "B"]
    assert by_force["mean"] == 120 and by_force["median"] == 120
    assert f"left out, holding rows in only some months of the year ending December 2025: C " \
           f"({held} of 12 months)" in by_force["note"]
    assert not any(p.get("differs") for p in by_force["parts"]), by_force["parts"]
    # kpi show: a rolling year is the summary's figure of its months (the parts the data
    # holds in it, as its Covers line says), whose comparison the summary withholds; where C
    # held every month of 2024 and none of February 2025, February has no value (it adds A
    # and B only) and no rolling year holding it has a figure (engine.cut_off), though the
    # summary's current figure stands; where C started in April 2025, the months before it
    # add A and B only and have no value, nor has a rolling year holding them (330 read as a
    # year of A, B and C: engine.started)
    crime = json.loads(_kpi(folder, "summary", "--period", PERIOD, "--format",
                            "json"))["kpis"][0]
    assert crime["current"]["value"] == (330 if held == 9 else 350) and crime["comparison"] \
        is None
    got = json.loads(_kpi(folder, "show", "crime", "--period", PERIOD, "--format", "json"))
    rolling = {row["month"]: row["rolling_12"] for row in got["trend"]}
    values = {row["month"]: row["value"] for row in got["trend"]}
    if held == 9:
        assert [values[f"2025-{m:02d}"] for m in range(1, 6)] == [None] * 3 + [30] * 2
        assert rolling["2025-12"] is None
    else:
        assert values["2025-02"] is None and values["2025-03"] == 30
        assert all(rolling[f"2025-{m:02d}"] is None for m in range(2, 13))
        assert rolling["2025-01"] == 360  # February 2024 to January 2025: A, B and C whole


def test_a_sparse_source_declared_so_compares_a_force_with_a_month_of_none(tmp_path):
    """A homicide index: force C records a homicide every month of 2024 and none in March
    2025. Read by the shape of its rows, C held every month of one year and not of the other
    (a force that stopped supplying, as far as the rows tell), so the comparison was left out
    and no year of the index compared. `sparse = true` says a force's month without rows had
    none: the year compares (35 against 36, by hand and by DuckDB), and so does C by force;
    without it the comparison is left out as before."""
    rows = _rows({2024: ("A", "B", "C"), 2025: ("A", "B", "C")}, per_month=1)
    rows = [r for r in rows if not (r["Force"] == "C" and r["Month"] == "2025-03")]
    (tmp_path / "as rows tell").mkdir()
    left_out = _project(tmp_path / "as rows tell", rows)
    crime = json.loads(_kpi(left_out, "summary", "--period", PERIOD, "--format",
                            "json"))["kpis"][0]
    assert crime["comparison"] is None and crime["note"].startswith(
        "comparison year ending December 2024 left out: force 'C' has rows in every month of "
        "year ending December 2024 and none in 2025-03 of year ending December 2025")
    (tmp_path / "sparse").mkdir()
    folder = _project(tmp_path / "sparse", rows, sparse=True)
    counts = _duckdb_counts(folder / "crimes.csv")
    assert counts[("2025", "C")] == 11 and counts[("2024", "C")] == 12
    crime = json.loads(_kpi(folder, "summary", "--period", PERIOD, "--format",
                            "json"))["kpis"][0]
    assert (crime["current"]["value"], crime["comparison"]["value"]) == (
        sum(n for (year, _), n in counts.items() if year == "2025"),
        sum(n for (year, _), n in counts.items() if year == "2024")) == (35, 36)
    assert crime["note"] is None or "left out" not in crime["note"], crime["note"]
    by_force = json.loads(_kpi(folder, "compare", "--by", "force", "--period", PERIOD,
                               "--format", "json"))["kpis"][0]
    assert {p["name"]: (p["current"]["value"], p["comparison"]["value"])
            for p in by_force["parts"]} == {"A": (12, 12), "B": (12, 12), "C": (11, 12)}
    # The trend's March has a value: one month of none, not a month C did not supply.
    got = json.loads(_kpi(folder, "show", "crime", "--period", PERIOD, "--format", "json"))
    values = {row["month"]: row["value"] for row in got["trend"]}
    assert values["2025-03"] == 2 and values["2024-03"] == 3


def test_sparse_must_be_true_or_false(tmp_path):
    (tmp_path / "kpi.toml").write_text(
        PROJECT.replace('date = "month"\n', 'date = "month"\nsparse = "yes"\n', 1),
        encoding="utf-8")
    out = inprocess.run(["--project", tmp_path, "summary", "--period", PERIOD])
    assert out.returncode == 3, out.stdout
    first = out.stderr.splitlines()[0]
    assert first.endswith("kpi.toml:8: dataset 'crimes', key 'sparse': must be true or false")


# A force stops supplying after September 2025 (9 of the 12 months of the year ending
# December 2025), having supplied every month of 2024: A 20, B 30 and C 25 crimes a month.
STOPS = {"A": 20, "B": 30, "C": 25}
TOP_CHART = """
[[charts]]
id = "top_force"
type = "top"
title = "Highest forces"
kpis = ["crime"]
by = "force"
limit = 3
"""


@pytest.fixture(scope="module")
def stops_in_september(tmp_path_factory) -> Path:
    rows = [{"Month": f"{year}-{month:02d}", "Force": force, "Kind": "crime"}
            for year in (2024, 2025) for month in range(1, 13)
            for force, n in STOPS.items() if not (force == "C" and (year, month) > (2025, 9))
            for _ in range(n)]
    return _project(tmp_path_factory.mktemp("september"), rows, TOP_CHART)


def _window_counts(extract: Path, first: str, last: str) -> dict[str, tuple[int, int]]:
    """force -> (crimes, months holding rows) from `first` to `last`, by DuckDB."""
    import duckdb

    got = duckdb.connect().execute(
        "SELECT Force, count(*), count(DISTINCT Month) FROM read_csv(?, header = true, "
        "all_varchar = true) WHERE Month BETWEEN ? AND ? GROUP BY ALL",
        [str(extract), first, last]).fetchall()
    return {force: (n, months) for force, n, months in got}


def test_a_force_that_stopped_is_not_compared_over_two_part_years(stops_in_september):
    """Against the previous year (to November 2025) neither window is whole for C (10 and 9
    months), so it read as sparse: 850 -> 825, -2.9%, "improving", exit 0, the whole fall C's
    missing months, and kpi compare ranked C's 225 among whole years, where against the
    baseline the same current window left C out. C held every month of 2024 and none after
    September 2025: it stopped (engine.cut_off), in every comparison asked."""
    folder = stops_in_september
    now = _window_counts(folder / "crimes.csv", "2025-01", "2025-12")
    before = _window_counts(folder / "crimes.csv", "2024-12", "2025-11")
    assert now == {"A": (240, 12), "B": (360, 12), "C": (225, 9)}
    assert before == {"A": (240, 12), "B": (360, 12), "C": (250, 10)}
    for vs, compared in (("previous", "November 2025"), ("baseline", "December 2024")):
        crime = json.loads(_kpi(folder, "summary", "--period", PERIOD, "--vs", vs,
                                "--format", "json"))["kpis"][0]
        assert crime["current"]["value"] == sum(n for n, _ in now.values()) == 825
        assert crime["comparison"] is None and crime["status"] == "no_data", crime
        assert crime["note"].startswith(f"comparison year ending {compared} left out: force "
                                        f"'C' has rows in every month of year ending "), crime
        by_force = json.loads(_kpi(folder, "compare", "--by", "force", "--period", PERIOD,
                                   "--vs", vs, "--format", "json"))["kpis"][0]
        assert {p["name"]: (p["current"]["value"], p["rank"]) for p in by_force["parts"]} \
            == {"A": (240, 1), "B": (360, 2)}, vs
        assert by_force["note"].endswith("left out, holding rows in only some months of the "
                                         "year ending December 2025: C (9 of 12 months)")
    text = _kpi(folder, "summary", "--period", PERIOD, "--vs", "previous")
    assert "improving" not in text and "-2.9%" not in text
    # the year to September 2025 against the year to August adds C in every month of both
    sept = json.loads(_kpi(folder, "summary", "--period", "2025-09", "--vs", "previous",
                           "--format", "json"))["kpis"][0]
    assert (sept["current"]["value"], sept["comparison"]["value"]) == (900, 900)


def test_the_rolling_year_holding_a_month_left_out_has_no_figure(stops_in_september):
    """The trend left C's missing months without a value but its rolling line read 900,
    875, 850, 825 for the years to September..December 2025: a fall of three forces flat
    every month. A rolling year holding a month left out has no figure; the years before
    add A, B and C every month and keep their values (900, by DuckDB). A trend of 12 months
    holds no earlier year, and printed October to December as 50 a month."""
    folder = stops_in_september
    year = _window_counts(folder / "crimes.csv", "2024-10", "2025-09")
    assert sum(n for n, _ in year.values()) == 900 and all(m == 12 for _, m in year.values())
    for months in (24, 12):
        got = json.loads(_kpi(folder, "show", "crime", "--period", PERIOD, "--months",
                              str(months), "--format", "json"))
        values = {row["month"]: row["value"] for row in got["trend"]}
        rolling = {row["month"]: row["rolling_12"] for row in got["trend"]}
        assert [values[f"2025-{m:02d}"] for m in range(1, 13)] == [75] * 9 + [None] * 3
        assert [rolling[f"2025-{m:02d}"] for m in range(9, 13)] == [900, None, None, None]
        if months == 24:
            assert values["2024-01"] == 75 and rolling["2024-12"] == 900
    series = kpi.open(folder).series("crime", PERIOD, months=12)
    assert series.filter(pl_month_is("2025-12"))["rolling_12"].to_list() == [None]
    assert series.filter(pl_month_is("2025-09"))["rolling_12"].to_list() == [900]


def pl_month_is(month: str):
    import polars as pl

    return pl.col("month") == month


def test_the_paper_ranks_no_part_kpi_compare_leaves_out(stops_in_september):
    """The paper said "the highest figures in the year ending December 2025 were B (360), A
    (240), C (225)" and drew C's 9 months in its chart of the 3 highest beside whole years,
    where kpi compare and kpi show leave C out or unranked. Every face ranks the parts by
    one rule (compare.ranked_breakdowns): the paper names C as not ranked, and says why."""
    from kpi import board
    from kpi.periods import Comparison, Month

    folder = stops_in_september
    _kpi(folder, "export", "markdown", "--full", "--period", PERIOD, "--output",
         folder / "p.md")
    paper = " ".join((folder / "p.md").read_text(encoding="utf-8").split())
    assert "By force, the highest figures in the year ending December 2025 were B (360), A " \
           "(240)." in paper
    assert "C (225)" not in paper
    assert "By force, C is not ranked with the others: left out, holding rows in only some " \
           "months of the year ending December 2025: C (9 of 12 months)." in paper
    shown = json.loads(_kpi(folder, "show", "crime", "--period", PERIOD, "--format", "json"))
    assert [(p["part"], p["rank"]) for p in shown["breakdowns"]["force"]] == [
        ("A", 1), ("B", 2), ("C", None)]
    project = kpi.open(folder)._catalogue()
    model = board.build(project, Month.parse(PERIOD), Comparison.BASELINE, full=True)
    drawn = model.figures["top_force"].parts
    assert drawn["part"].to_list() == ["B", "A"] and drawn["current"].to_list() == [360, 240]


# A force joins the extract in April 2025 and supplies every month since (9 of the 12 months
# of the year ending December 2025, 8 of the year to November): A 20, B 30 and C 25 crimes a
# month, A and B every month of 2024 and 2025.
STARTS = {"A": 20, "B": 30, "C": 25}


@pytest.fixture(scope="module")
def starts_in_april(tmp_path_factory) -> Path:
    rows = [{"Month": f"{year}-{month:02d}", "Force": force, "Kind": "crime"}
            for year in (2024, 2025) for month in range(1, 13)
            for force, n in STARTS.items() if not (force == "C" and (year, month) < (2025, 4))
            for _ in range(n)]
    return _project(tmp_path_factory.mktemp("april"), rows)


def test_a_force_that_started_is_not_compared_over_two_part_years(starts_in_april):
    """Against the previous year (to November 2025) neither window is whole for C (9 and 8
    months), so it read as sparse: 800 -> 825, +3.1%, "deteriorating", exit 0, the whole rise
    C's first months, and kpi compare ranked C's 225 among whole years, where against the
    baseline (no rows of C) it was left out. C has no rows before April 2025 and rows in
    every month since: it started (engine.started), in every comparison asked."""
    folder = starts_in_april
    now = _window_counts(folder / "crimes.csv", "2025-01", "2025-12")
    before = _window_counts(folder / "crimes.csv", "2024-12", "2025-11")
    assert now == {"A": (240, 12), "B": (360, 12), "C": (225, 9)}
    assert before == {"A": (240, 12), "B": (360, 12), "C": (200, 8)}
    notes = {"previous": "comparison year ending November 2025 left out: force 'C' has its "
                         "first rows in 2025-04, within year ending November 2025, and rows in "
                         "every month after, so the figures would not add the same parts",
             "baseline": "comparison year ending December 2024 left out: force 'C' has rows "
                         "in year ending December 2025 and none in year ending December 2024"}
    for vs, note in notes.items():
        crime = json.loads(_kpi(folder, "summary", "--period", PERIOD, "--vs", vs,
                                "--format", "json"))["kpis"][0]
        assert crime["current"]["value"] == sum(n for n, _ in now.values()) == 825
        assert crime["comparison"] is None and crime["status"] == "no_data", crime
        assert crime["note"].startswith(note), crime
        by_force = json.loads(_kpi(folder, "compare", "--by", "force", "--period", PERIOD,
                                   "--vs", vs, "--format", "json"))["kpis"][0]
        assert {p["name"]: (p["current"]["value"], p["rank"]) for p in by_force["parts"]} \
            == {"A": (240, 1), "B": (360, 2)}, vs
        assert by_force["note"].endswith("left out, holding rows in only some months of the "
                                         "year ending December 2025: C (9 of 12 months)")
    text = _kpi(folder, "summary", "--period", PERIOD, "--vs", "previous")
    assert "deteriorating" not in text and "+3.1%" not in text
    # a window from C's first month on holds it whole: the year to March 2026 is not stored,
    # but the year to December 2025 against the year to November of A and B alone compares
    # where C is left out of neither; the year to March 2025 (no rows of C) against the year
    # to February compares A and B (600 and 600)
    march = json.loads(_kpi(folder, "summary", "--period", "2025-03", "--vs", "previous",
                            "--format", "json"))["kpis"][0]
    assert (march["current"]["value"], march["comparison"]["value"]) == (600, 600)


def test_the_chart_and_rolling_line_hold_a_started_force_to_its_months(starts_in_april):
    """The trend and process chart read A and B's 50 a month to March 2025 beside 75 after
    (C joining): a special cause of concern, and the rolling line 625, 650 ... 825 for three
    forces flat every month. The months before C's first have no value, nor has a rolling
    year holding them; the chart is of the 9 months adding A, B and C (75 each, by DuckDB)."""
    import duckdb

    folder = starts_in_april
    monthly = dict(duckdb.connect().execute(
        "SELECT Month, count(*) FROM read_csv(?, header = true, all_varchar = true) "
        "GROUP BY ALL", [str(folder / "crimes.csv")]).fetchall())
    assert {monthly[f"2025-{m:02d}"] for m in range(4, 13)} == {75}
    assert {monthly[f"2025-{m:02d}"] for m in range(1, 4)} == {50}
    for months in (24, 12):
        got = json.loads(_kpi(folder, "show", "crime", "--period", PERIOD, "--months",
                              str(months), "--format", "json"))
        values = {row["month"]: row["value"] for row in got["trend"]}
        rolling = {row["month"]: row["rolling_12"] for row in got["trend"]}
        assert [values[f"2025-{m:02d}"] for m in range(1, 13)] == [None] * 3 + [75] * 9
        assert all(v is None for v in rolling.values()), rolling
        if months == 24:
            assert all(values[f"2024-{m:02d}"] is None for m in range(1, 13))
    crime = json.loads(_kpi(folder, "summary", "--period", PERIOD, "--format",
                            "json"))["kpis"][0]
    assert _flat_chart(folder, "crime") == 9 and crime["variation"] is None
    series = kpi.open(folder).series("crime", PERIOD, months=12)
    assert series.filter(pl_month_is("2025-12"))["rolling_12"].to_list() == [None]
    assert series.filter(pl_month_is("2025-03"))["value"].to_list() == [None]


def test_a_sparse_force_with_a_month_without_rows_after_its_first_still_compares(tmp_path):
    """A force with rows from April 2025 but none in July is sparse, not started: compared
    as its rows hold it (8 months against 7, by hand), as before."""
    rows = [{"Month": f"{year}-{month:02d}", "Force": force, "Kind": "crime"}
            for year in (2024, 2025) for month in range(1, 13)
            for force, n in STARTS.items()
            if not (force == "C" and ((year, month) < (2025, 4) or (year, month) == (2025, 7)))
            for _ in range(n)]
    folder = _project(tmp_path, rows)
    crime = json.loads(_kpi(folder, "summary", "--period", PERIOD, "--vs", "previous",
                            "--format", "json"))["kpis"][0]
    assert (crime["current"]["value"], crime["comparison"]["value"]) == (
        600 + 8 * 25, 600 + 7 * 25)
