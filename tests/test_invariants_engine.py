"""Issue 17's invariants on the engine side, each through the real command on a small project
whose every figure is counted by hand: a period past the data, a stale KPI, a part of a
dataset with months never loaded (in the summary, `kpi datasets`, `kpi check` and `kpi
compare`), and a baseline of the wrong kind."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kpi.cli import app
from kpi.periods import Month

FIXTURES = Path(__file__).resolve().parent / "fixtures"

PARTS_TOML = """\
[project]
name = "Forces"
baseline = "2024-06"

[datasets.stops]
date = "date"
replace_by = "force"
[datasets.stops.columns]
ref = "str"
date = "date"
force = "str"

[datasets.staff]
date = "date"
[datasets.staff.columns]
date = "date"
officers = "int"

[[priorities]]
id = "p"
title = "Priority"

[[kpis]]
id = "searches"
title = "Searches"
priority = "p"
kind = "count"
dataset = "stops"
better = "lower"
"""

# Per month: Kent 3 rows, Essex 2, over July 2023 to June 2025 (24 months), so every year
# ending June holds 12 * 5 = 60 rows.
FIRST, LAST = Month.parse("2023-07"), Month.parse("2025-06")
ROWS = {"Kent": 3, "Essex": 2}


def _months(first: Month, last: Month) -> list[Month]:
    return [Month(i) for i in range(first.index, last.index + 1)]


def _extract(path: Path, force: str, months: list[Month], per_month: int) -> Path:
    lines = ["ref,date,force"]
    for month in months:
        lines += [f"{force}-{month}-{i},{month}-15,{force}" for i in range(per_month)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def forces_loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("forces") / "forces"
    root.mkdir()
    (root / "kpi.toml").write_text(PARTS_TOML, encoding="utf-8")
    kent = _extract(root / "kent.csv", "Kent", _months(FIRST, LAST - 1), ROWS["Kent"])
    essex = _extract(root / "essex.csv", "Essex", _months(FIRST, LAST), ROWS["Essex"])
    loaded = CliRunner().invoke(app, ["--project", str(root), "ingest", "stops", str(kent),
                                      str(essex)])
    assert loaded.exit_code == 0, loaded.output
    return root


@pytest.fixture
def forces(forces_loaded, tmp_path):
    """The project, with Kent's June 2025 file never loaded: loaded once for the module, and
    copied for each test, which may change its catalogue or load into it."""
    return shutil.copytree(forces_loaded, tmp_path / "forces", symlinks=True)


def _json(cli, root: Path, *args: str) -> dict:
    result = cli(["--project", root, *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# ---------------------------------------------------------------------------------------------
# A part with a month never loaded (break 3)


def test_a_window_never_sums_a_part_over_fewer_months_than_it_claims(forces, cli):
    # Before: 57 (60 less Kent's 3 June rows) against 60, "improving". Now the window is
    # refused; the project's only KPI has no figure, so the summary is refused.
    result = cli(["--project", forces, "summary", "--period", "2025-06", "--format", "json"])
    assert result.exit_code == 3 and result.stdout == ""
    assert ("searches: year ending June 2025 is incomplete: force 'Kent' has no rows for 2025-06 "
            "(never loaded for that part)") in result.stderr
    # A year both forces hold in full is counted: 12 * (3 + 2).
    earlier = _json(cli, forces, "summary", "--period", "2025-05")["kpis"][0]
    assert earlier["current"]["value"] == 60 and earlier["current"]["end"] == "2025-05"


@pytest.mark.parametrize("kent_in", ["2024", "2025"])
def test_a_rolling_year_a_part_holds_no_rows_in_has_no_figure(tmp_path, cli, kent_in):
    """Essex loaded for 2024 and 2025, Kent for one of the two years only: `kpi show`'s trend
    gave the year Kent has no rows in a rolling 12-month figure of Essex alone (24, beside 60
    for the other year), exit 0, where the summary calls that year incomplete. By hand: the
    year both forces hold is 12 * (3 + 2) = 60, and the other has no rolling figure, as its
    months have no value."""
    root = tmp_path / "forces é"
    root.mkdir()
    (root / "kpi.toml").write_text(PARTS_TOML, encoding="utf-8")
    kent_year = Month.parse(f"{kent_in}-01")
    kent = _extract(root / "kent.csv", "Kent", _months(kent_year, kent_year + 11), 3)
    essex = _extract(root / "essex.csv", "Essex",
                     _months(Month.parse("2024-01"), Month.parse("2025-12")), 2)
    assert cli(["--project", root, "ingest", "stops", kent, essex]).exit_code == 0
    shown = cli(["--project", root, "show", "searches", "--period", "2025-12", "--vs", "yoy",
                 "--months", "24", "--format", "json"])
    doc = json.loads(shown.stdout) if shown.exit_code == 0 else None
    if doc is None:  # the year without Kent is the current one: no figure for the period
        assert kent_in == "2024" and "incomplete" in shown.output, shown.output
        shown = cli(["--project", root, "show", "searches", "--period", "2024-12",
                     "--months", "24", "--format", "json"])
        assert shown.exit_code == 0, shown.output
        doc = json.loads(shown.stdout)
    rolled = {t["month"]: t["rolling_12"] for t in doc["trend"] if t["rolling_12"] is not None}
    assert rolled == {f"{kent_in}-12": 60}, rolled


def test_a_part_holding_rows_in_an_incomplete_comparison_still_holds_the_current_window(
        tmp_path, cli):
    """Kent loaded for July to December 2023 only, Essex for 2024: the year compared with
    2024 (2023) is incomplete (no force holds January to June), so it is left out, but Kent
    holds rows in it and none in 2024. The current year was summed over Essex alone, 24 (2 a
    month), exit 0, where loading 2023's first half as well refused it; it is refused either
    way, naming Kent (found by the differential oracle, seed 243)."""
    root = tmp_path / "forces"
    root.mkdir()
    (root / "kpi.toml").write_text(PARTS_TOML, encoding="utf-8")
    kent = _extract(root / "kent.csv", "Kent",
                    _months(Month.parse("2023-07"), Month.parse("2023-12")), 3)
    essex = _extract(root / "essex.csv", "Essex",
                     _months(Month.parse("2024-01"), Month.parse("2024-12")), 2)
    loaded = cli(["--project", root, "ingest", "stops", kent, essex])
    assert loaded.exit_code == 0, loaded.output
    result = cli(["--project", root, "summary", "--period", "2024-12", "--vs", "yoy",
                  "--format", "json"])
    assert result.exit_code == 3 and result.stdout == "", result.output
    assert ("year ending December 2024 is incomplete: force 'Kent' has no rows for 2024-01"
            in result.stderr)
    # By force, Essex's year is its own: compared by the column the data is loaded by, each
    # force is held to its own months (Kent, with no rows in 2024, is not listed).
    doc = _json(cli, root, "compare", "--period", "2024-12", "--vs", "yoy", "--by", "force")
    assert [(p["name"], p["current"]["value"]) for p in doc["kpis"][0]["parts"]] == \
        [("Essex", 24)]


ROLL_TOML = """\
[project]
name = "Workforce"
baseline = "2025-03"
snapshot_baseline = "2024-09"

[datasets.staff]
date = "as_at"
replace_by = "force"
[datasets.staff.columns]
as_at = "date"
force = "str"
person = "str"

[[priorities]]
id = "p"
title = "People"

[[kpis]]
id = "officers"
title = "Officer headcount"
priority = "p"
kind = "snapshot"
dataset = "staff"
better = "higher"
"""


def test_a_part_never_loaded_for_the_month_is_missing_whatever_it_is_compared_with(
        tmp_path, cli):
    """A roll a month of each force: North's 10 from September 2024 to September 2025,
    South's 100 from January to August 2025, its September roll not loaded. Against
    September 2024 (South had no rows then either) the headcount as at September 2025 was
    North's 10, "stable", exit 0, where against August it was refused as missing South's
    September. South holds August, so September was never loaded for it (`kpi datasets`
    says so): refused under every --vs, September's trend value with it, and `kpi compare
    --by force` names South."""
    root = tmp_path / "rolls"
    root.mkdir()
    (root / "kpi.toml").write_text(ROLL_TOML, encoding="utf-8")
    files = []
    for force, people, first, last in (("North", 10, "2024-09", "2025-09"),
                                       ("South", 100, "2025-01", "2025-08")):
        lines = ["as_at,force,person"]
        for month in _months(Month.parse(first), Month.parse(last)):
            lines += [f"{month}-28,{force},{force[0]}{i}" for i in range(people)]
        files.append(root / f"{force}.csv")
        files[-1].write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli(["--project", root, "ingest", "staff", *files]).exit_code == 0
    refusal = ("officers: September 2025 is incomplete: force 'South' has no rows for 2025-09 "
               "(never loaded for that part)")
    for vs in ("baseline", "yoy", "previous"):
        result = cli(["--project", root, "summary", "--period", "2025-09", "--vs", vs,
                      "--format", "json"])
        assert result.exit_code == 3 and result.stdout == "", (vs, result.output)
        assert refusal in result.stderr, (vs, result.stderr)
    # August holds both forces: 10 + 100; against September 2024 (North's alone) it has no
    # comparison, as before.
    august = _json(cli, root, "summary", "--period", "2025-08", "--vs", "previous")["kpis"][0]
    assert august["current"]["value"] == 110 and august["comparison"]["value"] == 110
    shown = _json(cli, root, "show", "officers", "--period", "2025-09", "--months", "3")
    assert shown["kpi"]["current"] is None and shown["kpi"]["status"] == "no_data"
    assert [(t["month"], t["value"]) for t in shown["trend"]] == \
        [("2025-07", 110), ("2025-08", 110), ("2025-09", None)]
    by_force = _json(cli, root, "compare", "--period", "2025-09", "--by", "force")["kpis"][0]
    assert [(p["name"], p["current"]["value"]) for p in by_force["parts"]] == [("North", 10)]
    assert by_force["note"] == ("left out, never loaded for the September 2025 though "
                                "loaded for the month before: South")


def test_a_rolling_year_in_a_series_never_sums_a_part_over_fewer_months(forces):
    """The trend `kpi show` and the paper draw: the rolling 12-month value of a month whose
    year a part holds only in part has no figure (it summed Kent over 11 months: 57), as the
    summary refuses that window; a year both forces hold in full is 12 * (3 + 2)."""
    from kpi import engine
    from kpi.catalogue import load_project

    project = load_project(forces)
    kpi = project.kpi("searches")
    series = engine.monthly_series_all(project, [(kpi, LAST, 24)])[("searches", LAST, 24)]
    rolling = dict(zip(series["month"], series["rolling_12"], strict=True))
    assert rolling[str(LAST)] is None
    assert rolling[str(LAST - 1)] == 60


SHARE_TOML = """
[[kpis]]
id = "kent_searches"
title = "Kent's searches"
priority = "p"
kind = "count"
dataset = "stops"
filter = "force = 'Kent'"
better = "lower"

[[kpis]]
id = "kent_share"
title = "Kent's share of searches"
priority = "p"
kind = "rate"
numerator_kpi = "kent_searches"
denominator_kpi = "searches"
better = "lower"
"""


def test_a_rolling_year_of_a_rate_of_two_kpis_never_sums_a_part_over_fewer_months(forces, cli):
    """A rate of two KPIs (numerator_kpi, denominator_kpi) takes its rolling year from theirs:
    none where either has none. It summed their monthly values again, Kent over 11 months:
    33 of 57, 57.9% in `kpi show`'s trend, where each KPI's own rolling year had no figure
    (found by the differential oracle, seed 90417). A year both forces hold is 36 of 60."""
    with (forces / "kpi.toml").open("a", encoding="utf-8") as toml:
        toml.write(SHARE_TOML)
    from kpi import engine
    from kpi.catalogue import load_project

    project = load_project(forces)
    kpi = project.kpi("kent_share")
    series = engine.monthly_series_all(project, [(kpi, LAST, 13)])[("kent_share", LAST, 13)]
    rolling = dict(zip(series["month"], series["rolling_12"], strict=True))
    assert rolling[str(LAST)] is None
    assert rolling[str(LAST - 1)] == pytest.approx(60.0)
    # The same through the command: the trend's last point has no rolling year.
    trend = _json(cli, forces, "show", "kent_share", "--period", "2025-06", "--vs",
                  "previous", "--months", "2")["trend"]
    assert [(p["month"], p["rolling_12"]) for p in trend] == [
        ("2025-05", pytest.approx(60.0)), ("2025-06", None)]


def test_datasets_and_check_show_a_part_with_a_month_never_loaded(forces, cli):
    shown = _json(cli, forces, "datasets")
    stops = next(d for d in shown if d["dataset"] == "stops")
    assert stops["missing"] == []  # every month is held by some force
    assert stops["parts_missing"] == [{"part": "force 'Kent'", "missing": ["2025-06"]}]
    table = cli(["--project", forces, "datasets"])
    assert "force 'Kent': 2025-06" in table.stdout
    checked = cli(["--project", forces, "check", "--period", "2025-06", "--format", "json"])
    assert checked.exit_code == 1  # it passed before
    failed = {c["id"]: c["message"] for c in json.loads(checked.stdout)["checks"]
              if not c["passed"]}
    assert failed["gaps_stops"] == ("dataset 'stops': force 'Kent' has no data for 2025-06 "
                                    "(1 month(s) never loaded for it)")
    assert "force 'Kent' has no rows for 2025-06" in failed["coverage_searches"]


def test_datasets_csv_keeps_a_part_missing_two_months_in_its_own_field(forces, cli):
    """A third force, Avon, never loaded for March and April 2025: `kpi datasets --format
    csv` wrote its fields joined by commas unquoted, and "force 'Avon': 2025-03, 2025-04"
    split into two, so the row had 7 fields under 6 names and a CSV reader took " 2025-04"
    as the dataset's `version` (exit 0). Every field is now its own, quoted as every CSV kpi
    writes (render_csv), in `csv` and `csv-excel`; the version is the JSON's."""
    avon = _extract(forces / "avon.csv", "Avon",
                    [m for m in _months(FIRST, LAST) if m not in (LAST - 3, LAST - 2)],
                    ROWS["Essex"])
    assert cli(["--project", forces, "ingest", "stops", avon]).exit_code == 0
    stops = next(d for d in _json(cli, forces, "datasets") if d["dataset"] == "stops")
    assert stops["parts_missing"] == [
        {"part": "force 'Avon'", "missing": [str(LAST - 3), str(LAST - 2)]},
        {"part": "force 'Kent'", "missing": [str(LAST)]}]
    for form, mark in (("csv", ""), ("csv-excel", "\ufeff")):
        result = cli(["--project", forces, "datasets", "--format", form])
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(mark)
        rows = list(csv.reader(io.StringIO(result.stdout.removeprefix(mark))))
        assert rows[0] == ["dataset", "rows", "first", "last", "missing", "version",
                           "declaration_changed", "held_in_part", "declared_whole",
                           "rolls"], rows[0]
        assert all(len(row) == len(rows[0]) for row in rows), rows
        got = next(dict(zip(rows[0], row, strict=True)) for row in rows if row[0] == "stops")
        assert got["version"] == str(stops["version"])
        assert got["missing"] == "force 'Avon': 2025-03, 2025-04 force 'Kent': 2025-06"


def test_loading_the_missing_month_makes_the_window_whole(forces, cli):
    june = _extract(forces / "kent-june.csv", "Kent", [LAST], ROWS["Kent"])
    assert cli(["--project", forces, "ingest", "stops", june]).exit_code == 0
    kpi = _json(cli, forces, "summary", "--period", "2025-06")["kpis"][0]
    assert (kpi["current"]["value"], kpi["comparison"]["value"], kpi["status"]) == (
        60, 60, "stable")
    shown = _json(cli, forces, "datasets")
    assert next(d for d in shown if d["dataset"] == "stops")["parts_missing"] == []


def test_rows_with_a_blank_part_are_refused_where_the_data_is_loaded_part_by_part(forces,
                                                                                  cli):
    """Two rows with no force, in one month only, were counted into a year that held them
    one month (62 against 60, "deteriorating"), and a force's revision left such a row
    beside the row that revised it (a crime counted twice): no load replaces a row of no
    part. Refused, naming the row; `--skip-bad-rows` sets them aside."""
    june = _extract(forces / "kent-june.csv", "Kent", [LAST], ROWS["Kent"])
    stray = forces / "stray.csv"
    stray.write_text("ref,date,force\nX1,2025-02-03,\nX2,2025-02-04,\n", encoding="utf-8")
    refused = cli(["--project", forces, "ingest", "stops", june, stray])
    assert refused.exit_code == 3
    assert (f"{stray}, row 2, column 'force': expected a value (dataset 'stops' is loaded part "
            "by part by 'force', replace_by: a row of no part is replaced by no load), found "
            "a blank") in " ".join(refused.output.split())
    assert cli(["--project", forces, "ingest", "stops", june, stray, "--skip-bad-rows"]
               ).exit_code == 0
    kpi = _json(cli, forces, "summary", "--period", "2025-06")["kpis"][0]
    assert (kpi["current"]["value"], kpi["comparison"]["value"]) == (60, 60)


# ---------------------------------------------------------------------------------------------
# kpi compare over a part that holds half the year (break 4)


def test_compare_leaves_out_a_part_with_half_the_year_and_never_reads_zero(forces, cli):
    # Surrey: 1 row a month, January to June 2025 only (6 of the 12 months, none in the
    # comparison year). Sussex: 4 a month for the whole current year, none before.
    surrey = _extract(forces / "surrey.csv", "Surrey", _months(Month.parse("2025-01"), LAST), 1)
    sussex = _extract(forces / "sussex.csv", "Sussex", _months(Month.parse("2024-07"), LAST), 4)
    kent = _extract(forces / "kent-june.csv", "Kent", [LAST], ROWS["Kent"])
    assert cli(["--project", forces, "ingest", "stops", surrey, sussex, kent]).exit_code == 0
    compared = _json(cli, forces, "compare", "--period", "2025-06", "--by", "force")
    kpi = compared["kpis"][0]
    parts = {p["name"]: p for p in kpi["parts"]}
    # Before: Surrey ranked 1st on a half-year total of 6, its comparison 0, "deteriorating".
    assert "Surrey" not in parts
    assert "Surrey (6 of 12 months)" in kpi["note"]
    assert {n: (p["current"]["value"], p["rank"]) for n, p in parts.items()} == {
        "Essex": (24, 1), "Kent": (36, 2), "Sussex": (48, 3)}
    assert parts["Sussex"]["comparison"] is None and parts["Sussex"]["status"] == "no_data"
    assert "no comparison for Sussex" in kpi["note"]
    assert {n: p["comparison"]["value"] for n, p in parts.items() if n != "Sussex"} == {
        "Essex": 24, "Kent": 36}
    # The whole: Surrey holds part of the current year, so the summary does not sum it.
    whole = cli(["--project", forces, "summary", "--period", "2025-06"])
    assert whole.exit_code == 3
    assert "force 'Surrey' has no rows for 2024-07, 2024-08, 2024-09 ..." in whole.stderr


LATE_TOML = PARTS_TOML + """
[datasets.late]
date = "date"
[datasets.late.columns]
date = "date"
force = "str"

[[kpis]]
id = "late_all"
title = "Late, all"
priority = "p"
kind = "count"
dataset = "late"

[[kpis]]
id = "late_kent"
title = "Late, Kent"
priority = "p"
kind = "count"
dataset = "late"
filter = "force = 'Kent'"
"""


def test_compare_says_plainly_which_parts_have_no_rows_in_a_window_and_a_stale_note_once(
        tmp_path, cli):
    """Oldshire holds rows only in the comparison year: it was left out as "(0 of 12 months)";
    Newshire only in the current one. The late dataset ends 2025-03, before the period: its
    stale note was printed once for each of its KPIs."""
    root = tmp_path / "parts"
    root.mkdir()
    (root / "kpi.toml").write_text(LATE_TOML, encoding="utf-8")
    files = [_extract(root / "kent.csv", "Kent", _months(FIRST, LAST), 3),
             _extract(root / "old.csv", "Oldshire", _months(FIRST, LAST - 12), 1),
             _extract(root / "new.csv", "Newshire", _months(LAST - 11, LAST), 2)]
    assert cli(["--project", root, "ingest", "stops", *files]).exit_code == 0
    late = root / "late.csv"
    months = _months(Month.parse("2023-01"), Month.parse("2025-03"))
    late.write_text("date,force\n" + "".join(
        f"{m}-10,{f}\n" for m in months for f in ("Kent", "Essex")), encoding="utf-8")
    assert cli(["--project", root, "ingest", "late", late]).exit_code == 0
    args = ["--project", root, "compare", "--period", "2025-06", "--by", "force", "--vs",
            "yoy"]
    result = cli(args)
    assert result.exit_code == 0, result.output
    assert [line for line in result.stderr.splitlines() if line.startswith("Note:")] == [
        "Note: searches: left out, with no rows in the year ending June 2025 (only in the "
        "comparison window): Oldshire",
        "Note: searches: no comparison for Newshire: no rows in the year ending June 2024",
        "Note: late_all, late_kent: stale: its data ends 2025-03, and the period 2025-06 asks "
        "for a window ending 2025-06"]
    assert "0 of 12 months" not in result.output
    # JSON and CSV list no row for Oldshire, and no comparison figure (never 0) for Newshire.
    searches = _json(cli, root, *args[2:])["kpis"][0]
    parts = {p["name"]: p for p in searches["parts"]}
    assert {n: (p["current"]["value"], p["comparison"] and p["comparison"]["value"])
            for n, p in parts.items()} == {"Kent": (36, 36), "Newshire": (24, None)}
    assert searches["note"] == (
        "left out, with no rows in the year ending June 2025 (only in the comparison window): "
        "Oldshire; no comparison for Newshire: no rows in the year ending June 2024")
    rows = list(csv.DictReader(io.StringIO(cli([*args, "--format", "csv"]).stdout)))
    assert sorted((r["kpi"], r["part"], r["comparison_value"]) for r in rows) == [
        ("late_all", "Essex", "12"), ("late_all", "Kent", "12"), ("late_kent", "Kent", "12"),
        ("searches", "Kent", "36"), ("searches", "Newshire", "")]


QUARTERS_TOML = """\
[project]
name = "Quarters"
baseline = "2024-03"

[datasets.q]
date = { financial_year = "fy", quarter = "qtr" }
[datasets.q.columns]
fy = "str"
qtr = "int"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "returns"
title = "Returns"
priority = "p"
kind = "count"
dataset = "q"
"""


# A monthly dataset beside the quarterly one, holding the months a period asks for.
CALLS_TOML = """
[datasets.calls]
date = "date"
[datasets.calls.columns]
date = "date"

[[kpis]]
id = "calls"
title = "Calls"
priority = "p"
kind = "count"
dataset = "calls"
"""


def test_a_quarter_missing_before_one_held_is_a_gap_not_stale_data(tmp_path, cli):
    """Found by the differential oracle (seed 7311): quarters to March 2025 and July to
    September 2025, April to June never loaded. At --period 2025-07 the KPI was `stale`, "its
    data ends 2025-03", of data holding July to September; the data has caught up, and a
    quarter is missing. Where no other dataset holds the quarter the period asks for, the
    period is refused as a gap, as a month missing from monthly data is; where one does, the
    KPI reports the year before the gap, `stale` as its figures are not the period's (the
    Period invariant), and its note says a quarter is missing, not that the data ends."""
    root = tmp_path / "q"
    root.mkdir()
    (root / "kpi.toml").write_text(QUARTERS_TOML + CALLS_TOML, encoding="utf-8")
    quarters = [("2023/24", q) for q in (1, 2, 3, 4)] + [("2024/25", q) for q in (1, 2, 3, 4)]
    rows = [(fy, q) for fy, q in quarters for _ in range(q)] + [("2025/26", 2)] * 9
    (root / "q.csv").write_text("fy,qtr\n" + "".join(f"{fy},{q}\n" for fy, q in rows),
                                encoding="utf-8")
    assert cli(["--project", root, "ingest", "q", root / "q.csv"]).exit_code == 0
    refused = cli(["--project", root, "summary", "--period", "2025-07", "--vs", "yoy"])
    assert refused.exit_code == 3, refused.output
    # the quarter named as a quarter, not as if the rows were stored by month
    assert ("Error: no data for 2025-06: dataset 'q' holds no rows for the quarter April to "
            "June 2025, though it holds later months (up to 2025-09): a gap in its months"
            ) in " ".join(refused.output.split())
    assert "load the extract for the quarter April to June 2025" in " ".join(
        refused.output.split())
    (root / "calls.csv").write_text("date\n" + "".join(f"2025-0{m}-01\n" for m in (6, 7)),
                                    encoding="utf-8")
    assert cli(["--project", root, "ingest", "calls", root / "calls.csv"]).exit_code == 0
    kpi = _json(cli, root, "summary", "--period", "2025-07", "--vs", "yoy")["kpis"][0]
    assert kpi["status"] == "stale"
    assert (kpi["current"]["label"], kpi["current"]["value"]) == ("year ending March 2025", 10)
    assert kpi["comparison"]["value"] == 10
    assert kpi["note"] == ("no data for 2025-04, 2025-05, 2025-06, which the period 2025-07 "
                           "asks for, though later months are held: the window ends 2025-03; "
                           "stable over year ending March 2025")


MONTHLY_GAP_TOML = """\
[project]
name = "Gap"
baseline = "2024-02"

[datasets.crimes]
date = "date"
[datasets.crimes.columns]
date = "date"

[datasets.calls]
date = "date"
[datasets.calls.columns]
date = "date"

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
id = "calls"
title = "Calls"
priority = "p"
kind = "count"
dataset = "calls"
"""


def test_a_month_missing_before_months_held_is_a_gap_in_every_face_not_stale_data(
        tmp_path, cli):
    """Crimes held March 2023 to September 2025 but March 2025, calls March 2025. At --period
    2025-03 the crimes KPI was `stale`, "its data ends 2025-02", and the paper said "the
    source is stale: its data ends 1 month before March 2025", "These are the latest figures
    held" and "This is the latest data", of data holding every month to September 2025: a
    month the period asks for is missing, as every face now says. It stays `stale` (its
    figures are not the period's), so `--fail-on stale` still fails. 2 crimes a month, so the
    year ending February 2025 holds 24 and the baseline, the year ending February 2024, 24
    (hand count)."""
    root = tmp_path / "gap dir é"
    root.mkdir()
    (root / "kpi.toml").write_text(MONTHLY_GAP_TOML, encoding="utf-8")
    months = [m for m in _months(Month.parse("2023-03"), Month.parse("2025-09"))
              if str(m) != "2025-03"]
    (root / "crimes.csv").write_text(
        "date\n" + "".join(f"{m}-01\n{m}-28\n" for m in months), encoding="utf-8")
    (root / "calls.csv").write_text("date\n2025-03-31\n", encoding="utf-8")
    for dataset in ("crimes", "calls"):
        loaded = cli(["--project", root, "ingest", dataset, root / f"{dataset}.csv"])
        assert loaded.exit_code == 0, loaded.output
    note = ("no data for 2025-03, which the period 2025-03 asks for, though later months are "
            "held: the window ends 2025-02")
    crimes = _json(cli, root, "summary", "--period", "2025-03")["kpis"][0]
    assert crimes["status"] == "stale", crimes
    assert (crimes["current"]["label"], crimes["current"]["value"]) == (
        "year ending February 2025", 24)
    assert crimes["comparison"]["value"] == 24
    assert crimes["note"] == f"{note}; stable over year ending February 2025"
    table = cli(["--project", root, "summary", "--period", "2025-03", "--fail-on", "stale"])
    assert table.exit_code == 1, table.output
    said = " ".join(table.stdout.split())
    assert f"Stale: Crimes: {note}" in said
    assert "its data ends" not in said
    paper = tmp_path / "paper.md"
    made = cli(["--project", root, "export", "markdown", "--period", "2025-03", "--output",
                paper])
    assert made.exit_code == 0, made.output
    text = " ".join(paper.read_text(encoding="utf-8").split())
    assert ("a month the period asks for is missing, though later months are held: its figure "
            "is for the year ending February 2025") in text
    assert ("The window ends 1 month before March 2025: a month the period asks for is missing "
            "from the data, though later months are held.") in text
    for wrong in ("source is stale", "its data ends", "latest figures held", "latest data,"):
        assert wrong not in text
    # The calls dataset alone: a month missing from the only dataset read is refused.
    (root / "kpi.toml").write_text(MONTHLY_GAP_TOML.split("\n[[kpis]]\nid = \"calls\"")[0],
                                   encoding="utf-8")
    refused = cli(["--project", root, "summary", "--period", "2025-03"])
    assert refused.exit_code == 3, refused.output
    assert "holds no rows for 2025-03, though it holds later months" in refused.output


def test_seasonal_rows_of_quarterly_data_are_quarters_never_one_month(tmp_path, cli):
    """`kpi show --seasonal` of the Home Office's quarterly table listed '2017-04  1,213,008'
    beside '2017-05  n/a': a quarter's total as April's figure. Each row is now a quarter,
    labelled with its months as the trend's are. Quarter q of 2023/24 holds q rows and of
    2024/25 q + 10 rows (hand count)."""
    root = tmp_path / "q"
    root.mkdir()
    (root / "kpi.toml").write_text(QUARTERS_TOML, encoding="utf-8")
    rows = [("2023/24", q) for q in (1, 2, 3, 4) for _ in range(q)]
    rows += [("2024/25", q) for q in (1, 2, 3, 4) for _ in range(q + 10)]
    (root / "q.csv").write_text("fy,qtr\n" + "".join(f"{fy},{q}\n" for fy, q in rows),
                                encoding="utf-8")
    assert cli(["--project", root, "ingest", "q", root / "q.csv"]).exit_code == 0
    shown = _json(cli, root, "show", "returns", "--period", "2025-03", "--vs", "yoy",
                  "--seasonal")
    assert [(r["month"], r["value"], r["a_year_earlier"], r["change_absolute"])
            for r in shown["same_months_a_year_earlier"]] == [
        ("2024-04..2024-06", 11, 1, 10), ("2024-07..2024-09", 12, 2, 10),
        ("2024-10..2024-12", 13, 3, 10), ("2025-01..2025-03", 14, 4, 10)]
    text = cli(["--project", root, "show", "returns", "--period", "2025-03", "--seasonal"])
    assert text.exit_code == 0 and "Same quarters a year earlier" in text.stdout
    assert "2024-05" not in text.stdout.split("Same quarters a year earlier")[1]
    assert not any(r["provisional"] for r in shown["same_months_a_year_earlier"])
    # Its last month not final (provisional_months = 1): the quarter holding it, January to
    # March 2025, is marked provisional, not only a quarter whose first month is that month.
    (root / "kpi.toml").write_text(QUARTERS_TOML + "provisional_months = 1\n", encoding="utf-8")
    shown = _json(cli, root, "show", "returns", "--period", "2025-03", "--vs", "yoy",
                  "--seasonal")
    assert [(r["month"], r["provisional"]) for r in shown["same_months_a_year_earlier"]] == [
        ("2024-04..2024-06", False), ("2024-07..2024-09", False),
        ("2024-10..2024-12", False), ("2025-01..2025-03", True)]


# ---------------------------------------------------------------------------------------------
# A period past the data, and a stale KPI


@pytest.fixture
def mini(tmp_path) -> Path:
    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    return root


@pytest.mark.parametrize("command", [
    ["summary", "--period", "2030-01"],
    ["summary", "--period", "2030-01", "--format", "json", "--fail-on", "no_data"],
    ["export", "markdown", "--period", "2031-01", "--output", "board.md"],
    ["compare", "--period", "2030-01", "--by", "lpa"],
    ["show", "total_crime", "--period", "2030-01"],
    ["check", "--period", "2030-01"],
])
def test_a_period_no_dataset_reaches_is_refused_naming_the_latest_month(mini, cli, command):
    # Before: the year ending September 2025 under the heading 2030-01, exit 0; the export
    # wrote "for the year ending January 2031".
    assert cli(["--project", mini, "ingest", "crimes"]).exit_code == 0
    result = cli(["--project", mini, *command])
    assert result.exit_code == 3, result.output
    assert (f"Error: no data reaches {command[command.index('--period') + 1]}: the latest month "
            "held is 2025-09 (dataset 'crimes')") in result.output
    assert not list(mini.glob("board*"))


def test_a_gap_at_the_period_month_is_refused_as_a_gap_not_as_data_ending_early(mini, cli):
    # Before: "no data reaches 2025-06: the latest month held is 2025-09", which contradicts
    # itself: the data reaches past June, it holds no rows for June.
    extract = mini / "extracts" / "crimes.csv"
    with extract.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    kept = [rows[0], *(r for r in rows[1:] if r[1][3:] != "06/2025")]
    assert len(kept) < len(rows)
    with extract.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(kept)
    assert cli(["--project", mini, "ingest", "crimes"]).exit_code == 0
    result = cli(["--project", mini, "summary", "--period", "2025-06"])
    assert result.exit_code == 3, result.output
    assert ("Error: no data for 2025-06: dataset 'crimes' holds no rows for 2025-06, though it "
            "holds later months (up to 2025-09): a gap in its months") in result.output
    assert "'kpi datasets' lists each dataset's missing months" in result.output
    assert "no data reaches" not in result.output
    # A month after the last one held is still said as data that stops short.
    result = cli(["--project", mini, "summary", "--period", "2025-10"])
    assert result.exit_code == 3
    assert "no data reaches 2025-10: the latest month held is 2025-09" in result.output


def test_months_not_final_are_left_out_of_the_test_against_a_baseline_years_back(mini, cli):
    """A rate with provisional_months = 3 against the plan baseline (April 2023 to March
    2024), which the verdicts' 24 months of series do not reach: those months are read again,
    and the test compares October 2024 to June 2025 with April to December 2023, counted
    here from the extract itself."""
    import datetime as dt
    import math

    toml = mini / "kpi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'numerator = "outcome IN (\'OC1\', \'OC2\')"\n',
        'numerator = "outcome IN (\'OC1\', \'OC2\')"\nprovisional_months = 3\n'),
        encoding="utf-8")
    assert "provisional_months = 3" in toml.read_text(encoding="utf-8")
    assert cli(["--project", mini, "ingest", "crimes"]).exit_code == 0
    result = cli(["--project", mini, "summary", "--period", "2025-09", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = next(d for d in json.loads(result.stdout)["kpis"]
               if d["id"] == "positive_outcome_rate")
    with (mini / "extracts" / "crimes.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))

    def counts(first: str, last: str) -> tuple[int, int]:
        chosen = [r for r in rows if first <= dt.datetime.strptime(
            r["recorded"], "%d/%m/%Y").strftime("%Y-%m") <= last]
        return sum(r["outcome"] in ("OC1", "OC2") for r in chosen), len(chosen)

    x1, n1 = counts("2024-10", "2025-06")
    x2, n2 = counts("2023-04", "2023-12")
    # The whole windows would have been tested otherwise.
    assert (doc["current"]["numerator"], doc["current"]["denominator"]) == counts(
        "2024-10", "2025-09")
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert doc["significance"]["test"] == "two_proportion_z"
    assert doc["significance"]["statistic"] == pytest.approx(z, rel=1e-12)


STALE_TOML = PARTS_TOML.replace('replace_by = "force"\n', "") + """
[[kpis]]
id = "officers"
title = "Officers"
priority = "p"
kind = "snapshot"
dataset = "staff"
value = "officers"
better = "higher"
"""


def test_a_kpi_whose_data_ends_before_the_period_is_stale_in_every_output(tmp_path, cli):
    root = tmp_path / "stale"
    root.mkdir()
    (root / "kpi.toml").write_text(STALE_TOML, encoding="utf-8")
    stops = _extract(root / "stops.csv", "Kent", _months(FIRST, LAST), 2)
    # Officers as at each month end, 100 + the month's number, up to March 2025 only.
    staff = root / "staff.csv"
    staff.write_text("date,officers\n" + "".join(
        f"{m}-28,{100 + m.month}\n" for m in _months(FIRST, Month.parse("2025-03"))))
    for dataset, path in (("stops", stops), ("staff", staff)):
        assert cli(["--project", root, "ingest", dataset, path]).exit_code == 0
    report = _json(cli, root, "summary", "--period", "2025-06")
    got = {k["id"]: k for k in report["kpis"]}
    assert got["searches"]["status"] == "stable" and got["searches"]["current"]["value"] == 24
    officers = got["officers"]
    assert officers["status"] == "stale"
    assert (officers["current"]["end"], officers["current"]["value"]) == ("2025-03", 103)
    assert officers["comparison"]["value"] == 107  # the snapshot baseline: as at July 2024
    assert officers["note"].startswith("stale: its data ends 2025-03, and the period 2025-06 "
                                       "asks for a window ending 2025-06")
    assert "deteriorating over March 2025" in officers["note"]
    table = cli(["--project", root, "summary", "--period", "2025-06"])
    assert table.exit_code == 0 and "stale" in table.stdout and "Stale:" in table.stdout
    rows = list(csv.DictReader(io.StringIO(cli(["--project", root, "summary", "--period",
                                                 "2025-06", "--format", "csv"]).stdout)))
    assert {r["id"]: r["status"] for r in rows} == {"searches": "stable", "officers": "stale"}
    # Shown alone, it is still stale, not refused: another KPI's data reaches the period.
    shown = _json(cli, root, "show", "officers", "--period", "2025-06")["kpi"]
    assert (shown["status"], shown["current"]["value"]) == ("stale", 103)
    failing = cli(["--project", root, "summary", "--period", "2025-06", "--fail-on", "stale"])
    assert failing.exit_code == 1
    assert failing.stderr.splitlines()[-1] == "1 KPI(s) with status stale: officers"
    # The paper says so too (it raised KeyError('stale'), found by the differential oracle).
    paper = cli(["--project", root, "export", "markdown", "--period", "2025-06", "--output",
                 root / "board.md"])
    assert paper.exit_code == 0, paper.output
    assert "a window ending before the period" in (root / "board.md").read_text()
    # A lag declares the delay: officers reported two months behind are not stale.
    (root / "kpi.toml").write_text(STALE_TOML.replace('value = "officers"',
                                                      'value = "officers"\nlag = 3'))
    lagged = {k["id"]: k for k in _json(cli, root, "summary", "--period", "2025-06")["kpis"]}
    assert lagged["officers"]["status"] == "deteriorating"


ANNUAL_TOML = PARTS_TOML.replace('replace_by = "force"\n', "") + """
[datasets.treatment]
date = "month"
published = "financial_year"
[datasets.treatment.columns]
month = "month"
entries = "int"

[[kpis]]
id = "entries"
title = "Entries into treatment"
priority = "p"
kind = "count"
dataset = "treatment"
value = "entries"
better = "higher"
baseline = "yoy"
lag = 18
"""


def test_a_source_published_for_the_year_to_march_is_stale_only_once_the_next_is_due(
        tmp_path, cli):
    """Entries are published once a year for the year to March, 18 months after it ends: the
    year to March 2024 is the latest data from September 2025 to August 2026, not stale in
    the eleven months after September 2025; from September 2026 the year to March 2025 is
    due, and without it the KPI is stale. Declared monthly, it was stale from October 2025."""
    root = tmp_path / "annual"
    root.mkdir()
    (root / "kpi.toml").write_text(ANNUAL_TOML, encoding="utf-8")
    searches = _extract(root / "stops.csv", "Kent", _months(Month.parse("2023-04"),
                                                             Month.parse("2026-12")), 1)
    # 10 entries a month in the year to March 2023, 11 a month in the year to March 2024.
    entries = root / "entries.csv"
    entries.write_text("month,entries\n" + "".join(
        f"{m},{10 if m <= Month.parse('2023-03') else 11}\n"
        for m in _months(Month.parse("2022-04"), Month.parse("2024-03"))), encoding="utf-8")
    for dataset, path in (("stops", searches), ("treatment", entries)):
        assert cli(["--project", root, "ingest", dataset, path]).exit_code == 0

    def entries_at(period: str) -> dict:
        return next(k for k in _json(cli, root, "summary", "--period", period)["kpis"]
                    if k["id"] == "entries")

    for period in ("2025-09", "2025-10", "2026-03", "2026-08"):
        got = entries_at(period)
        assert got["status"] == "improving", (period, got)
        assert (got["current"]["end"], got["current"]["value"]) == ("2024-03", 132), period
        assert got["comparison"]["value"] == 120, period
        assert got["note"] is None or "stale" not in got["note"], period
    due = entries_at("2026-09")
    assert due["status"] == "stale"
    assert due["note"].startswith("stale: its data ends 2024-03, and the period 2026-09 less "
                                  "its lag of 18 asks for a window ending 2025-03")
    # Declared monthly (the default), the same data is stale from October 2025.
    (root / "kpi.toml").write_text(ANNUAL_TOML.replace('published = "financial_year"\n', ""),
                                   encoding="utf-8")
    assert entries_at("2025-09")["status"] == "improving"
    assert entries_at("2025-10")["status"] == "stale"


def test_a_publication_that_is_no_known_kind_is_refused(tmp_path, cli):
    root = tmp_path / "annual"
    root.mkdir()
    (root / "kpi.toml").write_text(ANNUAL_TOML.replace('"financial_year"', '"yearly"'),
                                   encoding="utf-8")
    result = cli(["catalogue", "--validate", root / "kpi.toml"])
    assert result.exit_code == 3, result.output
    assert ("kpi.toml:32: dataset 'treatment', key 'published': must be one of 'monthly', "
            "'quarterly', 'financial_year', 'calendar_year'") in result.output


def test_compare_marks_every_part_of_a_stale_kpi_stale(tmp_path, cli):
    # Searches to March 2025 (Kent 3 and Essex 2 a month), officers to June: at --period
    # 2025-06 compare ranked the year to March with its usual statuses (Kent 36 against 36,
    # "stable"), exit 0, the staleness only in a note.
    root = tmp_path / "stale compare"
    root.mkdir()
    (root / "kpi.toml").write_text(STALE_TOML, encoding="utf-8")
    march = Month.parse("2025-03")
    kent = _extract(root / "kent.csv", "Kent", _months(FIRST, march), ROWS["Kent"])
    essex = _extract(root / "essex.csv", "Essex", _months(FIRST, march), ROWS["Essex"])
    staff = root / "staff.csv"
    staff.write_text("date,officers\n" + "".join(
        f"{m}-28,{100 + m.month}\n" for m in _months(FIRST, LAST)))
    for dataset, paths in (("stops", (kent, essex, "--parts")), ("staff", (staff,))):
        assert cli(["--project", root, "ingest", dataset, *paths]).exit_code == 0
    got = _json(cli, root, "compare", "--by", "force", "--period", "2025-06", "--vs", "previous")
    searches = next(k for k in got["kpis"] if k["id"] == "searches")
    parts = {p["name"]: (p["current"]["end"], p["current"]["value"], p["comparison"]["value"],
                         p["status"]) for p in searches["parts"]}
    assert parts == {"Kent": ("2025-03", 36, 36, "stale"), "Essex": ("2025-03", 24, 24, "stale")}
    assert searches["note"].startswith("stale: its data ends 2025-03")
    table = cli(["--project", root, "compare", "--by", "force", "--period", "2025-06", "--vs",
                 "previous"])
    assert table.exit_code == 0 and "stable" not in table.stdout and "stale" in table.stdout
    # At March the same figures are current.
    current = _json(cli, root, "compare", "--by", "force", "--period", "2025-03", "--vs",
                    "previous")
    assert {p["status"] for k in current["kpis"] for p in k["parts"]} == {"stable"}


# ---------------------------------------------------------------------------------------------
# Kinds (break 5)


@pytest.mark.parametrize("kind, baseline, message", [
    ("count", "AT 2024-12", "KPI 'bad', key 'baseline': 'AT 2024-12' is an as-at month, but a "
                            "count KPI's windows are years ending a month: write 'YE 2024-12'"),
    ("snapshot", "YE 2024-03", "KPI 'bad', key 'baseline': 'YE 2024-03' is a year, but a "
                               "snapshot KPI's windows are as-at months: write 'AT 2024-03'"),
])
def test_a_baseline_of_the_wrong_kind_is_refused_at_load(tmp_path, cli, kind, baseline, message):
    # Before: +1100% (12 months against one) and -91.7% (10 officers against 120).
    root = tmp_path / "kinds"
    root.mkdir()
    value = 'value = "officers"\n' if kind == "snapshot" else ""
    (root / "kpi.toml").write_text(STALE_TOML + f"""
[[kpis]]
id = "bad"
title = "Bad"
priority = "p"
kind = "{kind}"
dataset = "staff"
{value}baseline = "{baseline}"
""", encoding="utf-8")
    result = cli(["--project", root, "summary", "--period", "2025-06"])
    assert result.exit_code == 3
    assert message in result.output


# ---------------------------------------------------------------------------------------------
# Data quality


QUALITY_TOML = """\
[project]
name = "Quality"
baseline = "2024-06"

[datasets.stops]
date = "date"
[datasets.stops.columns]
date = "date"
age = { type = "str", required = false }
ethnicity = { type = "str", required = false }

[[priorities]]
id = "p"
title = "Priority"

[[kpis]]
id = "children"
title = "Children searched"
priority = "p"
kind = "count"
dataset = "stops"
filter = "age = '10-17'"
better = "neutral"

[[kpis]]
id = "searches"
title = "Searches"
priority = "p"
kind = "count"
dataset = "stops"
better = "neutral"
breakdowns = ["ethnicity"]
"""


def _quality_project(root: Path, cli, toml: str = QUALITY_TOML) -> Path:
    """20 rows a month from July 2023 to June 2025, 2 of them children (age '10-17'), the
    others '18-24'; ethnicity blank on 3 rows in 4. In 2025-03 age is blank on every row;
    2025-05 holds 5 rows (2 children). A blank is empty or only spaces (a no-break or an em
    space too): the ingest stores each as null, which is what the engine counts."""
    root.mkdir()
    (root / "kpi.toml").write_text(toml, encoding="utf-8")
    lines = ["date,age,ethnicity"]
    spaces = ("", "   ", "\u00a0", "\u2003 ")
    for month in _months(FIRST, LAST):
        rows = 5 if str(month) == "2025-05" else 20
        for i in range(rows):
            age = "  " if str(month) == "2025-03" else "10-17" if i < 2 else "18-24"
            lines.append(f"{month}-10,{age},{'White' if i % 4 == 0 else spaces[i % 4]}")
    (root / "stops.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli(["--project", root, "ingest", "stops", root / "stops.csv"]).exit_code == 0
    return root


def test_a_month_whose_column_goes_blank_or_whose_rows_jump_is_flagged(tmp_path, cli):
    root = _quality_project(tmp_path / "quality", cli)
    got = {k["id"]: k for k in _json(cli, root, "summary", "--period", "2025-06")["kpis"]}
    # The figure is what the rows say (2 a month, none in March): 22, not hidden.
    assert got["children"]["current"]["value"] == 2 * 11
    # Age is blank on no row of the other 17 months read (the window and 6 before it).
    assert got["children"]["quality"] == [
        "column 'age' is blank on 100.0% of the rows of 2025-03 (a median of 0.0% in the "
        "months around it)",
        "2025-05 holds 5 rows, against a median of 20 in the months around it"]
    # Ethnicity (a breakdown) is blank on 3 rows in 4 every month: mostly blank, no jump.
    # In May, 3 of its 5 rows are blank.
    blank = (15 * 11 + 3) / (20 * 11 + 5)
    assert got["searches"]["quality"] == [
        f"column 'ethnicity' is blank on {blank:.1%} of the rows in year ending June 2025",
        "2025-05 holds 5 rows, against a median of 20 in the months around it"]
    rows = list(csv.DictReader(io.StringIO(cli(["--project", root, "summary", "--period",
                                                 "2025-06", "--format", "csv"]).stdout)))
    assert rows[0]["quality"] == "; ".join(got["children"]["quality"])
    table = cli(["--project", root, "summary", "--period", "2025-06"]).stdout
    assert "Data quality" in table and "column 'age' is blank on 100.0% of the rows of" in table
    shown = cli(["--project", root, "show", "children", "--period", "2025-06"]).stdout
    assert "Data quality" in shown and "2025-05 holds 5 rows" in shown
    checked = cli(["--project", root, "check", "--period", "2025-06", "--format", "json"])
    assert checked.exit_code == 1
    failed = {c["id"] for c in json.loads(checked.stdout)["checks"] if not c["passed"]}
    assert failed == {"quality_children", "quality_searches"}


def test_a_quarter_whose_rows_jump_is_named_by_its_months_among_quarters(tmp_path, cli):
    """A quarterly dataset stores each quarter at its first month: a note names the quarter
    by its months and compares it with the quarters around it (it read "2024-10 holds 9
    rows, against a median of 3 in the months around it", as if October alone), and one row
    is "1 row"."""
    root = tmp_path / "quarters"
    root.mkdir()
    (root / "kpi.toml").write_text(
        '[project]\nname = "Q"\n\n[datasets.q]\n'
        'date = { financial_year = "fy", quarter = "qtr" }\n[datasets.q.columns]\n'
        'fy = "str"\nqtr = "int"\nn = "int"\n\n[[priorities]]\nid = "p"\ntitle = "P"\n\n'
        '[[kpis]]\nid = "qn"\ntitle = "Quarterly"\npriority = "p"\nkind = "sum"\n'
        'dataset = "q"\nvalue = "n"\nbetter = "neutral"\n', encoding="utf-8")
    # 2022/23 Q1 to 2024/25 Q4, three rows a quarter; nine in 2024/25 Q3 (October to
    # December 2024) and one in 2024/25 Q2
    lines = ["fy,qtr,n"]
    for year in ("2022/23", "2023/24", "2024/25"):
        for quarter in (1, 2, 3, 4):
            many = {("2024/25", 3): 9, ("2024/25", 2): 1}.get((year, quarter), 3)
            lines += [f"{year},{quarter},5"] * many
    (root / "q.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli(["--project", root, "ingest", "q", root / "q.csv"]).exit_code == 0
    got = {k["id"]: k for k in _json(cli, root, "summary", "--period", "2025-03")["kpis"]}
    assert got["qn"]["current"]["value"] == 5 * (3 + 1 + 9 + 3)
    assert got["qn"]["quality"] == [
        "2024-07..2024-09 holds 1 row, against a median of 3 in the quarters around it",
        "2024-10..2024-12 holds 9 rows, against a median of 3 in the quarters around it"]


def test_the_quality_thresholds_are_settable(tmp_path, cli):
    toml = QUALITY_TOML + "\n[quality]\nblank_jump = 1.0\nmostly_blank = 0.8\nrow_ratio = 0.2\n"
    root = _quality_project(tmp_path / "quality", cli, toml)
    got = {k["id"]: k for k in _json(cli, root, "summary", "--period", "2025-06")["kpis"]}
    # A jump of 100 points still reaches 1.0; 5 rows against 20 is above a fifth.
    assert got["children"]["quality"] == [
        "column 'age' is blank on 100.0% of the rows of 2025-03 (a median of 0.0% in the "
        "months around it)"]
    assert got["searches"]["quality"] == []
    (root / "kpi.toml").write_text(QUALITY_TOML + "\n[quality]\nblank_jump = 2\n")
    refused = cli(["--project", root, "summary", "--period", "2025-06"])
    assert refused.exit_code == 3
    assert "[quality], key 'blank_jump': must be a number from 0 to 1" in refused.output


SPELLED_TOML = """\
[project]
name = "Spellings"
baseline = "2024-03"

[datasets.crimes]
date = "day"
[datasets.crimes.columns]
day = "date"
force = "str"
outcome = {{ type = "str", required = false }}
age = {{ type = "str", required = false }}
[datasets.crimes.derived]
{derived}
[peers.all]
column = "force"
members = ["A", "B", "C"]

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "solved"
title = "Solved"
priority = "p"
kind = "rate"
dataset = "crimes"
numerator = "{numerator}"
better = "higher"

[[kpis]]
id = "children"
title = "Children"
priority = "p"
kind = "count"
dataset = "crimes"
filter = "{filter}"
better = "neutral"
"""


@pytest.mark.parametrize(("derived", "numerator", "filter_"), [
    # each column read directly
    ("", "outcome IN ('OC1', 'OC2')", "age = 'under 18'"),
    ("positive = \"CASE WHEN outcome IN ('OC1', 'OC2') THEN 1 ELSE 0 END\"\n"
     "is_child = \"CASE WHEN age = 'under 18' THEN true ELSE false END\"",
     "positive = 1", "is_child"),
    ("hit = \"IF(outcome IN ('OC1', 'OC2'), 1, 0)\"\n"
     "is_child = \"IF(age = 'under 18', true, false)\"", "hit = 1", "is_child"),
    ("said = \"COALESCE(outcome, 'none')\"\nsaid_age = \"COALESCE(age, '')\"",
     "said IN ('OC1', 'OC2')", "said_age = 'under 18'"),
    # derived columns of derived columns
    ("solved_row = \"outcome IN ('OC1', 'OC2')\"\n"
     "positive = \"CASE WHEN solved_row THEN 1 ELSE 0 END\"\n"
     "is_child = \"CASE WHEN age = 'under 18' THEN true ELSE false END\"\n"
     "young = \"is_child\"", "positive = 1", "young"),
], ids=["direct", "case", "if", "coalesce", "chained"])
def test_a_kpis_data_quality_is_judged_on_its_stored_columns_however_it_is_written(
        tmp_path, cli, derived, numerator, filter_):
    """Every data-quality judgement reads the stored columns a KPI's figure is made of,
    following derived columns to their sources (`engine.expression_columns`), so a KPI written
    through a derived column (a CASE, IF or COALESCE, or one derived column of another) is
    judged as the same KPI written on its stored columns. Force B writes no outcome on any row
    (as police.uk for PSNI); age is blank on every row of 2025-09. Through a derived column,
    `kpi compare` ranked B at 0.0% (a mean of 16.7% where A and C are 25% and 50%) and
    `kpi check` passed, where written directly B was left out and the check failed.

    By hand, 4 rows a month for each force from 2023-04: A has 1 solved (OC1) and C 2 (OC1,
    OC2); 1 row of each force a month is a child's, none in 2025-09 (age blank). The year to
    September 2025: A 12 of 48, C 24 of 48, B 0 of 48 with no outcome; 36 of 144 together;
    11 children a force."""
    root = tmp_path / "spelled"
    root.mkdir()
    (root / "kpi.toml").write_text(SPELLED_TOML.format(derived=derived, numerator=numerator,
                                                       filter=filter_), encoding="utf-8")
    lines = ["day,force,outcome,age"]
    for month in _months(Month.parse("2023-04"), Month.parse("2025-09")):
        for force in "ABC":
            solved = {"A": 1, "B": 0, "C": 2}[force]
            for i in range(4):
                outcome = "" if force == "B" else ("OC1", "OC2")[i] if i < solved else "OC9"
                age = "" if str(month) == "2025-09" else "under 18" if i == 0 else "18-24"
                lines.append(f"{month}-{i + 1:02d},{force},{outcome},{age}")
    (root / "crimes.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli(["--project", root, "ingest", "crimes", root / "crimes.csv"]).exit_code == 0

    got = {k["id"]: k for k in _json(cli, root, "summary", "--period", "2025-09")["kpis"]}
    current = got["solved"]["current"]
    assert (current["numerator"], current["denominator"], current["value"]) == (36, 144, 25.0)
    assert got["solved"]["quality"] == [
        "column 'outcome' is blank on every one of the 48 rows of B (force) in year ending "
        "September 2025, where the figure of every part together reads no value of it from "
        "that part"]
    assert got["children"]["current"]["value"] == 3 * 11
    assert got["children"]["quality"] == [
        "column 'age' is blank on 100.0% of the rows of 2025-09 (a median of 0.0% in the "
        "months around it)"]

    compared = _json(cli, root, "compare", "--period", "2025-09", "--by", "force")
    kpis = {k["id"]: k for k in compared["kpis"]}
    parts = {p["name"]: p["current"] for p in kpis["solved"]["parts"]}
    assert {n: (p["numerator"], p["denominator"]) for n, p in parts.items()} == {
        "A": (12, 48), "C": (24, 48)}
    assert kpis["solved"]["mean"] == 37.5
    assert kpis["solved"]["note"] == (
        "left out, blank on every row counted in the year ending September 2025 in the column "
        "the figure reads, so no figure: B ('outcome')")
    assert {p["name"]: p["current"]["value"] for p in kpis["children"]["parts"]} == {
        "A": 11, "B": 11, "C": 11}

    checked = cli(["--project", root, "check", "--period", "2025-09", "--format", "json"])
    assert checked.exit_code == 1
    failed = {c["id"] for c in json.loads(checked.stdout)["checks"] if not c["passed"]}
    assert failed == {"quality_solved", "quality_children"}


def test_a_month_a_part_was_never_loaded_for_has_no_value_in_the_trend_or_the_chart(
        tmp_path, cli):
    """Kent loaded for 24 months, Essex (3 + 2 a month together) for the last 12 only, as
    four police.uk forces' 2025 files beside one force's 2024 ones: the summary has no
    comparison (part_gap), and the trend and the process chart have no value in the months
    Essex was never loaded for. Before, they showed Kent alone in them (3 a month, a rolling
    year of 36 against 60), and the chart read the jump to 5 as a special cause of concern."""
    root = tmp_path / "forces"
    root.mkdir()
    (root / "kpi.toml").write_text(PARTS_TOML, encoding="utf-8")
    kent = _extract(root / "kent.csv", "Kent", _months(FIRST, LAST), ROWS["Kent"])
    essex = _extract(root / "essex.csv", "Essex", _months(LAST - 11, LAST), ROWS["Essex"])
    loaded = cli(["--project", root, "ingest", "stops", kent, essex])
    assert loaded.exit_code == 0, loaded.output
    shown = _json(cli, root, "show", "searches", "--period", "2025-06", "--months", "24")
    assert shown["kpi"]["comparison"] is None and shown["kpi"]["current"]["value"] == 60
    trend = {p["month"]: (p["value"], p["rolling_12"]) for p in shown["trend"]}
    # Counted by hand: the first 12 months miss Essex, the last 12 hold both forces. The
    # year ending June 2024 holds Kent alone, Essex holding no rows in it: beside the last
    # year's 60 it would add one force where the latest adds two (it read 36, exit 0), so it
    # has no rolling figure, as its months have none; each later year lacks some of Essex's
    # months. Asked alone, with nothing beside it, the summary counts that year: 12 * 3.
    assert trend == {**{str(m): (None, None) for m in _months(FIRST, LAST - 12)},
                     **{str(m): (5, None) for m in _months(LAST - 11, LAST - 1)},
                     str(LAST): (5, 60)}
    year = _json(cli, root, "summary", "--period", "2024-06", "--vs", "previous")
    assert year["kpis"][0]["current"]["value"] == 36
    # A flat 5 a month has no limits (no spread known), never a special cause; the chart
    # reads Essex's 12 months alone.
    assert shown["kpi"]["variation"] is None
    assert shown["signal"]["xmr"]["months"] == [str(LAST - 11), str(LAST)]
    assert f"the baseline ({LAST - 11} to {LAST}) has no variation" in (
        shown["signal"]["xmr"]["note"])
    assert shown["signal"]["xmr"]["signals"] == []


def _held_to_own_months(csvs: list[Path], shown: list[Month]) -> tuple[dict, dict]:
    """DuckDB's figures for a trend of searches by force (docs/guarantees.md, "Completeness
    per part"): each month shown, its rows, or None where a force holding rows in the months
    shown, or in the month before it, has none in it; each rolling year ending a month shown,
    its rows, or None where a force holding rows in its 12 months, or in the month before
    them, lacks one of them."""
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE s AS SELECT force, strftime(CAST(date AS DATE), '%Y-%m') AS month "
                f"FROM read_csv([{', '.join(repr(str(p)) for p in csvs)}], header = true)")

    def figure(first: Month, last: Month, whole: bool) -> int | None:
        span = (str(first), str(last))
        gaps = con.execute(
            "SELECT count(*) FROM (SELECT force, count(DISTINCT month) FILTER (WHERE month >= ?)"
            " AS n FROM s WHERE month BETWEEN ? AND ? GROUP BY force) WHERE n < ?",
            [str(first), str(first - 1), str(last),
             last.index - first.index + 1 if whole else 1]).fetchone()
        rows = con.execute("SELECT count(*) FROM s WHERE month BETWEEN ? AND ?",
                           span).fetchone()
        assert gaps is not None and rows is not None
        return None if gaps[0] else rows[0]

    def month(m: Month) -> int | None:
        lacking = con.execute(
            "SELECT count(DISTINCT force) FROM s WHERE (month BETWEEN ? AND ? OR month = ?) "
            "AND force NOT IN (SELECT force FROM s WHERE month = ?)",
            [str(shown[0]), str(shown[-1]), str(m - 1), str(m)]
        ).fetchone()
        assert lacking is not None
        return None if lacking[0] else figure(m, m, False)

    return ({str(m): month(m) for m in shown},
            {str(m): figure(m - 11, m, True) for m in shown})


def test_a_trend_holds_each_month_and_year_to_its_own_months_never_the_11_before(
        tmp_path, cli):
    """Kent (3 a month) and Essex (2) loaded for January 2023 to August 2025, City (1) for
    July 2023 to March 2024 only. The summary's year ending August 2025 is 60, but `kpi show
    --months 15` (June 2024 on) printed every month n/a and no rolling year: it held each
    month to the forces holding rows in the months shown and the 11 read before them for the
    rolling years, City among them. Each month shown is now held to the forces holding rows
    in the months shown (not City: 5 each), and each rolling year to those holding rows in
    its own 12 months and the month before them (City until the year ending March 2025, the
    first without City's last month: none; then 60, as the summary gives the same years under
    every --vs). Found by the differential oracle."""
    root = tmp_path / "forces"
    root.mkdir()
    (root / "kpi.toml").write_text(PARTS_TOML + SHARE_TOML, encoding="utf-8")
    everything = _months(Month.parse("2023-01"), Month.parse("2025-08"))
    csvs = [_extract(root / "kent.csv", "Kent", everything, 3),
            _extract(root / "essex.csv", "Essex", everything, 2),
            _extract(root / "city.csv", "City",
                     _months(Month.parse("2023-07"), Month.parse("2024-03")), 1)]
    loaded = cli(["--project", root, "ingest", "stops", *csvs])
    assert loaded.exit_code == 0, loaded.output
    last = Month.parse("2025-08")
    shown = _months(last - 14, last)
    values, years = _held_to_own_months(csvs, shown)
    # Counted by hand: 5 a month; City's last month (March 2024) is in the years ending up
    # to February 2025, and the month before the year ending March 2025 (City's April never
    # loaded), which have no figure; 12 * 5 in those after.
    assert values == {str(m): 5 for m in shown}
    assert years == {**{str(m): None for m in _months(last - 14, Month.parse("2025-03"))},
                     **{str(m): 60 for m in _months(Month.parse("2025-04"), last)}}
    doc = _json(cli, root, "show", "searches", "--period", "2025-08", "--vs", "previous",
                "--months", "15")
    assert {p["month"]: p["value"] for p in doc["trend"]} == values
    assert {p["month"]: p["rolling_12"] for p in doc["trend"]} == years
    # The summary gives the same years the same figures (March 2025's is refused, as the
    # summary refuses it against February's, which City holds rows in, or any other).
    for period in ("2025-04", "2025-08"):
        summary = _json(cli, root, "summary", "--period", period, "--vs", "previous")
        assert summary["kpis"][0]["current"]["value"] == years[period] == 60
    # The process chart is the summary's (one verdict for a KPI at a period), of 24 months:
    # its baseline holds April to August 2024, which City, holding rows before them, does not
    # hold, so they have no figure and no limits are given, in the summary neither.
    assert doc["signal"]["xmr"]["mean"] is None and doc["signal"]["xmr"]["note"] == (
        "no limits: the baseline (2023-09 to 2024-08) has no value for 2024-04, 2024-05, "
        "2024-06, 2024-07, 2024-08")
    assert _json(cli, root, "summary", "--period", "2025-08", "--vs", "previous")["kpis"][0][
        "variation"] is None
    # A rate of two KPIs of the dataset: each month and year Kent's share of those figures.
    share = _json(cli, root, "show", "kent_share", "--period", "2025-08", "--vs", "previous",
                  "--months", "15")["trend"]
    assert {p["month"]: p["value"] for p in share} == {str(m): 60.0 for m in shown}
    assert {p["month"]: p["rolling_12"] for p in share} == {
        m: None if year is None else 60.0 for m, year in years.items()}


PROVISIONAL_TOML = """\
[project]
name = "Forces"
baseline = "2024-06"

[datasets.crimes]
date = "date"
replace_by = "force"
[datasets.crimes.columns]
ref = "str"
date = "date"
force = "str"
outcome = "str"

[[priorities]]
id = "p"
title = "Priority"

[[kpis]]
id = "open_share"
title = "Crimes still open"
priority = "p"
kind = "rate"
dataset = "crimes"
numerator = "outcome = 'open'"
better = "lower"
provisional_months = 3
"""


def test_compare_tests_parts_without_the_months_that_are_not_final(tmp_path, cli):
    """police.uk's City of London files read 2.1% of 2025's crimes still under investigation
    (all in its last two months) against 0.0% for its neighbours, and `kpi compare --by
    force` said it differed from the rest (p<0.001), where without the months not final
    every force is 0 of N. Here Kent's only open crimes are 5 of 10 a month in the last 3
    months; Essex has 2 of 10 open every month. Whole years: 15 of 120 against 24 of 120,
    z = -1.575. Without the last 3 months: 0 of 90 against 18 of 90, pooled 0.1,
    z = -0.2 / sqrt(0.1 * 0.9 * 2 / 90) = -4.472 (hand count)."""
    root = tmp_path / "forces"
    root.mkdir()
    (root / "kpi.toml").write_text(PROVISIONAL_TOML, encoding="utf-8")
    lines = ["ref,date,force,outcome"]
    for force in ("Kent", "Essex"):
        for i, month in enumerate(_months(LAST - 11, LAST)):
            for r in range(10):
                open_ = (i >= 9 and r < 5) if force == "Kent" else r < 2
                lines.append(f"{force}-{month}-{r},{month}-15,{force},"
                             f"{'open' if open_ else 'closed'}")
    (root / "crimes.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = cli(["--project", root, "ingest", "crimes", root / "crimes.csv"])
    assert loaded.exit_code == 0, loaded.output
    result = _json(cli, root, "compare", "--period", str(LAST), "--by", "force",
                   "--focus", "Essex")["kpis"][0]
    parts = {p["name"]: p for p in result["parts"]}
    # The figures are the whole year's, as the data says today.
    assert (parts["Kent"]["current"]["numerator"], parts["Kent"]["current"]["denominator"]) \
        == (15, 120)
    z = -0.2 / math.sqrt(0.1 * 0.9 * 2 / 90)
    for test in (parts["Kent"]["vs_rest"], parts["Kent"]["vs_focus"]):
        assert test["statistic"] == pytest.approx(z, abs=1e-9)
        assert test["p_value"] == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), rel=1e-9)
        assert "leaves out the last 3 months" in test["note"]
    assert "tested without the last 3 months of the year ending June 2025" in result["note"]


def test_a_baseline_after_the_current_window_gives_no_change(cli, tmp_path):
    """The sample's snapshot baseline is April 2024. At --period 2024-01 the summary read
    "Police officer headcount 8,102 -> 8,117 +15 (+0.2%) improving" and the paper "8,117, up
    0.2% from 8,102", exit 0: a change from April 2024 to January 2024, backwards in time
    (the headcount fell from 8,117 to 8,102). A comparison window ending after the current
    window is no comparison, and the note says why, in every face (`engine._plan_windows`)."""
    result = cli(["--project", "sample", "summary", "--period", "2024-01", "--format", "json"])
    assert result.exit_code == 0, result.output
    kpis = {k["id"]: k for k in json.loads(result.stdout)["kpis"]}
    headcount = kpis["officer_headcount"]
    assert (headcount["current"]["end"], headcount["current"]["value"]) == ("2024-01", 8117)
    assert headcount["comparison"] is None and headcount["change"]["absolute"] is None
    assert headcount["status"] == "no_data"
    assert headcount["note"] == ("comparison April 2024 ends after the current January 2024: "
                                 "a change from it would run backwards in time")
    # No KPI anywhere compares with a window ending after its current one.
    for k in kpis.values():
        if k["comparison"] is not None and k["current"] is not None:
            assert k["comparison"]["end"] <= k["current"]["end"], k["id"]
    out = tmp_path / "board.md"
    result = cli(["--project", "sample", "export", "markdown", "--period", "2024-01",
                  "--output", out])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert ("**Police officer headcount.** As of January 2024 the figure was 8,117; no "
            "comparison can be made") in text
    assert "up 0.2% from 8,102" not in text


def test_a_quality_threshold_is_met_exactly_at_its_edge():
    """The checks' thresholds are compared with the months' shares exactly, as written: 7 of
    20 blank against a median of 2 of 20 is a jump of 25 points, which the default
    `blank_jump` of 0.25 flags (in floats 0.24999999999999997, and `kpi check` passed, exit
    0); and 7 rows against a median of 50 is not under a `row_ratio` of 0.14 (in floats 0.14
    × 50 is 7.000000000000001, and the month was flagged)."""
    from types import SimpleNamespace

    from kpi.engine import _column_flags, _row_flags
    from kpi.periods import Window

    limits = SimpleNamespace(blank_jump=0.25, mostly_blank=0.5, row_ratio=0.14)
    months = {f"2025-{m:02d}": {"cat": 7 if m == 3 else 2, "__rows": 20} for m in range(1, 13)}
    window = Window.year_ending(Month.parse("2025-12"))
    assert _column_flags(months, "cat", list(months), window, limits) == [
        "column 'cat' is blank on 35.0% of the rows of 2025-03 (a median of 10.0% in the "
        "months around it)"]
    months["2025-03"]["cat"] = 6  # 30% against 10%: 20 points, under the jump
    assert _column_flags(months, "cat", list(months), window, limits) == []
    rows = {f"2025-{m:02d}": {"__rows": 7 if m == 3 else 50} for m in range(1, 13)}
    assert _row_flags(rows, list(rows), limits) == []
    rows["2025-03"]["__rows"] = 6
    assert _row_flags(rows, list(rows), limits) == [
        "2025-03 holds 6 rows, against a median of 50 in the months around it"]
