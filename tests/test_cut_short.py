"""A month held only from a day within it, or only to one (`kpi.store.cut_short`,
docs/guarantees.md): an export of "the last 365 days", or a nightly query over a rolling window
(`day >= current_date - 365`), loaded for the first time, stored October from the 11th as
October, and the year ending September read 355 days' rows as a year, exit 0. The load could
not tell (no stored rows to compare); the read tells from the date column's bounds in the
table's log: where most months run from their first day to their last, a month whose missing
days would hold CUT_ROWS rows or more at their rate is held in part, and no window counts it.

Every figure is counted by hand (`PER_DAY` rows a day) and, for the extracts, by DuckDB
reading the CSV.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import inprocess
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

PER_DAY = 3

PROJECT = """[project]
name = "Cut short"
baseline = "2024-09"

[datasets.crimes]
date = "day"
unique = "ref"
{zone}
[datasets.crimes.columns]
day = {{ type = "{kind}", from = ["Day"] }}
ref = {{ type = "str", from = ["Ref"] }}
force = {{ type = "str", from = ["Force"] }}

[[priorities]]
id = "p"
title = "Crime"

[[kpis]]
id = "crime"
title = "Total crime"
priority = "p"
kind = "count"
dataset = "crimes"
better = "lower"
"""


def _project(folder: Path, kind: str = "date", zone: str = "") -> Path:
    folder.mkdir(parents=True)
    (folder / "kpi.toml").write_text(PROJECT.format(kind=kind, zone=zone), encoding="utf-8")
    return folder


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _extract(path: Path, days: list[date], per_day: int = PER_DAY,
             stamp=lambda day: day.isoformat(), force: str = "A") -> Path:
    lines = ["Day,Ref,Force"] + [f"{stamp(day)},{force}{day:%Y%m%d}-{k},{force}" for day in days
                                 for k in range(per_day)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _kpi(folder: Path, *args: object):
    return inprocess.run(["--project", folder, *args])


def _load(folder: Path, extract: Path) -> None:
    done = _kpi(folder, "ingest", "crimes", extract)
    assert done.returncode == 0, done.stderr


def _summary(folder: Path, period: str, vs: str = "previous"):
    return _kpi(folder, "summary", "--period", period, "--vs", vs, "--format", "json")


def _crime(folder: Path, period: str, vs: str = "previous") -> dict:
    done = _summary(folder, period, vs)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["kpis"][0]


def _held_in_part(folder: Path) -> list[dict]:
    done = _kpi(folder, "datasets", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)[0]["held_in_part"]


def _duckdb_count(extract: Path, first: str, last: str) -> int:
    duckdb = pytest.importorskip("duckdb")
    return duckdb.sql(f"SELECT count(*) FROM read_csv('{extract.as_posix()}', header = true) "
                      f"WHERE \"Day\"::DATE BETWEEN DATE '{first}' AND DATE '{last}'").fetchone()[0]


def test_the_first_night_of_a_rolling_window_gives_no_year_it_does_not_hold(tmp_path):
    """The last 365 days to 10 October 2025, loaded once: October 2024 from its 11th, October
    2025 to its 10th. The year ending September 2025 read 355 days' rows (1,065) as a year,
    exit 0; no window holding either October is given now, each saying why, and `kpi
    datasets` and `kpi check` name both months and their days."""
    folder = _project(tmp_path / "p")
    loaded = _kpi(folder, "ingest", "crimes", _extract(
        tmp_path / "last 365 days.csv", _days(date(2024, 10, 11), date(2025, 10, 10))))
    assert loaded.returncode == 0, loaded.stderr
    # The load says so, where the summary was the first to: each month, why, and the way out.
    notes = [line for line in loaded.stderr.splitlines() if line.startswith("Note: ")]
    assert notes == [
        "Note: 'crimes' holds 2024-10 only in part (its rows start on 11 October 2024, where "
        "its other months run from their first day to their last): no window counts it. To "
        "count it, load the whole of 2024-10 (a query bounded by whole months, not a rolling "
        "window of days), or, where its records really start on 11 October 2024, declare it "
        "whole_months = [\"2024-10\"] in the dataset's table of kpi.toml",
        "Note: 'crimes' holds 2025-10 only in part (its rows end on 10 October 2025, where "
        "its other months run from their first day to their last): no window counts it. To "
        "count it, load the whole of 2025-10 (a query bounded by whole months, not a rolling "
        "window of days), or, where its records really end on 10 October 2025, declare it "
        "whole_months = [\"2025-10\"] in the dataset's table of kpi.toml"]
    done = _summary(folder, "2025-09")
    assert done.returncode == 3, done.stdout  # 1,065, exit 0, before
    assert done.stderr.splitlines()[0] == (
        "Error: no KPI has data for 2025-09: crime: year ending September 2025 is incomplete: "
        "it holds 2024-10 only in part (its rows start on 11 October 2024, where its other "
        "months run from their first day to their last)")
    # what makes the year whole leads the hint
    assert done.stderr.splitlines()[1].startswith(
        "Hint: load the whole of 2024-10 (a query bounded by whole months, not a rolling "
        "window of days), or, where its records really start on 11 October 2024, declare it "
        "whole_months = [\"2024-10\"] in the dataset's table of kpi.toml; or 'kpi datasets' "
        "shows the months each dataset holds")
    assert _held_in_part(folder) == [
        {"month": "2024-10", "loaded": None, "starts": "2024-10-11", "ends": None,
         "part": None},
        {"month": "2025-10", "loaded": None, "starts": None, "ends": "2025-10-10",
         "part": None}]
    table = _kpi(folder, "datasets", "--format", "csv")
    assert "2024-10 (rows from 11 October 2024); 2025-10 (rows to 10 October 2025)" \
        in table.stdout
    check = _kpi(folder, "check", "--period", "2025-08", "--format", "json")
    results = {r["id"]: r for r in json.loads(check.stdout)["checks"]}
    assert results["in_part_crimes"]["passed"]
    assert results["in_part_crimes"]["message"] == (
        "dataset 'crimes' holds 2024-10 only in part (its rows start on 11 October 2024, where "
        "its other months run from their first day to their last); 2025-10 only in part (its "
        "rows end on 10 October 2025, where its other months run from their first day to their "
        "last): no window counts it until it is loaded whole, or declared whole as stored "
        "(whole_months)")
    # The period past the whole months held: refused, naming the month and what makes it whole.
    late = _summary(folder, "2025-10")
    assert late.returncode == 3, late.stdout
    first, hint = late.stderr.splitlines()[:2]
    assert first == (
        "Error: no data reaches 2025-10 in full: dataset 'crimes' holds 2025-10 only in part "
        "(its rows end on 10 October 2025, where its other months run from their first day to "
        "their last); the latest whole month held is 2025-09")
    assert "load the whole of 2025-10 (a query bounded by whole months" in hint


def test_a_year_held_whole_is_counted_and_its_cut_comparison_left_out(tmp_path):
    """From 20 September 2024: the year ending September 2025 is whole and counted; the year
    before it (`--vs previous`, ending August 2025) holds September 2024 from its 20th, and is
    left out, never compared; the whole of September loaded, it counts."""
    folder = _project(tmp_path / "p")
    extract = _extract(tmp_path / "from the 20th.csv",
                       _days(date(2024, 9, 20), date(2025, 9, 30)))
    _load(folder, extract)
    crime = _crime(folder, "2025-09")
    year = PER_DAY * 365
    assert crime["current"]["value"] == year == _duckdb_count(extract, "2024-10-01",
                                                               "2025-09-30")
    assert crime["comparison"] is None, crime
    assert crime["change"]["absolute"] is None and crime["change"]["percent"] is None, crime
    assert crime["note"] == (
        "comparison year ending August 2025 is incomplete: it holds 2024-09 only in part (its "
        "rows start on 20 September 2024, where its other months run from their first day to "
        "their last)")
    # The process chart leaves the month out: 20 days' rows read as a month were a special
    # cause of improvement, every later month above the mean (a shift), 13 points.
    assert crime["variation"]["points"] == 12, crime["variation"]
    assert crime["variation"]["verdict"] == "common_cause", crime["variation"]
    assert _held_in_part(folder) == [
        {"month": "2024-09", "loaded": None, "starts": "2024-09-20", "ends": None,
         "part": None}]
    whole = _extract(tmp_path / "whole.csv", _days(date(2024, 9, 1), date(2025, 9, 30)))
    _load(folder, whole)
    assert _held_in_part(folder) == []
    crime = _crime(folder, "2025-09")
    assert crime["comparison"]["value"] == PER_DAY * 365 == _duckdb_count(
        whole, "2024-09-01", "2025-08-31")
    assert crime["current"]["value"] == year


def test_a_month_whose_records_really_start_late_is_counted_once_declared_whole(tmp_path):
    """A month whose first ten days' records are really missing (a system down, records
    deleted) is held in part, and the refusal's hint names the way out: declared whole as
    stored (`whole_months`), it is counted as its rows hold it, in the summary, `kpi datasets`
    and `kpi check`, for every part; any other value of the key is refused naming its line."""
    folder = _project(tmp_path / "p")
    days = _days(date(2024, 10, 11), date(2025, 9, 30))
    extract = _extract(tmp_path / "from the 11th.csv", days)
    _load(folder, extract)
    assert _summary(folder, "2025-09").returncode == 3
    toml = folder / "kpi.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('unique = "ref"\n', 'unique = "ref"\nwhole_months = '
                                 '["2024-10"]\n'), encoding="utf-8")
    assert _held_in_part(folder) == []
    # Listed apart, with the days its rows run: counted on kpi.toml's word.
    listed = _kpi(folder, "datasets", "--format", "json")
    assert json.loads(listed.stdout)[0]["declared_whole"] == [
        {"month": "2024-10", "starts": "2024-10-11", "ends": None, "part": None}]
    table = _kpi(folder, "datasets", "--format", "csv")
    assert table.stdout.splitlines()[0].endswith("held_in_part,declared_whole,rolls")
    assert ",2024-10 (rows from 11 October 2024)," in table.stdout
    crime = _crime(folder, "2025-09")
    assert crime["current"]["value"] == PER_DAY * len(days) == PER_DAY * 355 == _duckdb_count(
        extract, "2024-10-01", "2025-09-30")
    assert crime["note"] is None or "in part" not in crime["note"], crime
    check = _kpi(folder, "check", "--period", "2025-09", "--format", "json")
    results = {r["id"]: r for r in json.loads(check.stdout)["checks"]}
    assert "in_part_crimes" not in results
    assert results["declared_whole_crimes"]["passed"]
    assert results["declared_whole_crimes"]["message"] == (
        "dataset 'crimes' counts 2024-10 (its rows start on 11 October 2024) as whole, as "
        "kpi.toml declares it (whole_months)")
    for value, line in (('"2024-10"', 'whole_months = "2024-10"'),
                        ('["October"]', 'whole_months = ["October"]')):
        toml.write_text(text.replace('unique = "ref"\n', f'unique = "ref"\nwhole_months = '
                                     f'{value}\n'), encoding="utf-8")
        done = _summary(folder, "2025-09")
        assert done.returncode == 3, done.stdout
        assert done.stderr.splitlines()[0] == (
            f"Error: {toml}:8: dataset 'crimes', key 'whole_months': must be a list of months "
            'as YYYY-MM, such as ["2024-10"]')
        assert toml.read_text(encoding="utf-8").splitlines()[7] == line


@pytest.mark.parametrize("case", ["sparse", "rolls", "a quiet first day", "too few months"])
def test_what_the_bounds_cannot_tell_is_counted_as_held(tmp_path, case):
    """Not judged, and counted as the rows hold it: a dataset so sparse that a month's first
    days of no rows are common (a row every fourth day); rolls taken on one day a month (the
    last); a month of three rows a day whose 1st had none (the days missing would hold 3, far
    from CUT_ROWS); a dataset of three months, the other two too few to show a rate."""
    folder = _project(tmp_path / "p")
    if case == "sparse":
        days = _days(date(2024, 10, 11), date(2025, 9, 30))[::4]
    elif case == "rolls":
        days = [date(2024, 10, 1) + timedelta(days=n) for n in range(365)
                if (date(2024, 10, 1) + timedelta(days=n) + timedelta(days=1)).day == 1]
    elif case == "a quiet first day":
        days = [d for d in _days(date(2024, 10, 1), date(2025, 9, 30)) if d != date(2025, 1, 1)]
    else:
        days = _days(date(2025, 7, 11), date(2025, 9, 30))
    extract = _extract(tmp_path / "extract.csv", days)
    _load(folder, extract)
    assert _held_in_part(folder) == []
    if case == "too few months":
        return  # no year to count; the months are held (`kpi datasets` above)
    crime = _crime(folder, "2025-09")
    assert crime["current"]["value"] == PER_DAY * len(days) == _duckdb_count(
        extract, "2024-10-01", "2025-09-30")


def test_an_instants_month_is_bounded_by_its_uk_days(tmp_path):
    """A datetime column stores instants (UTC in the log's bounds): rows at 00:30 UK time each
    day, which in summer are 23:30 UTC the day before, run whole UK months, not one starting
    on the last day of the month before; the rolling window's first day is named in UK days."""
    folder = _project(tmp_path / "p", kind="datetime")
    uk = ZoneInfo("Europe/London")

    def stamp(day: date) -> str:
        return datetime(day.year, day.month, day.day, 0, 30, tzinfo=uk).isoformat()

    whole = _extract(tmp_path / "whole.csv", _days(date(2024, 10, 1), date(2025, 9, 30)),
                     stamp=stamp)
    _load(folder, whole)
    assert _held_in_part(folder) == []
    assert _crime(folder, "2025-09")["current"]["value"] == PER_DAY * 365
    cut = _project(tmp_path / "q", kind="datetime")
    _load(cut, _extract(tmp_path / "cut.csv", _days(date(2024, 10, 11), date(2025, 9, 30)),
                        stamp=stamp))
    assert _held_in_part(cut) == [
        {"month": "2024-10", "loaded": None, "starts": "2024-10-11", "ends": None,
         "part": None}]


def _month_days(year: int, month: int) -> list[date]:
    first = date(year, month, 1)
    after = date(year + month // 12, month % 12 + 1, 1)
    return _days(first, after - timedelta(days=1))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(per_day=st.integers(1, 4), start=st.integers(1, 28), end=st.integers(0, 27),
       months=st.integers(13, 15), quiet=st.sampled_from([None, "first", "last"]),
       shuffled=st.booleans(), beside=st.sampled_from([None, "loads", "national"]))
def test_no_year_counts_a_month_cut_short_and_a_whole_year_is_counted(
        tmp_path_factory, per_day, start, end, months, quiet, shuffled, beside):
    """The invariant, drawn: rows `per_day` a day over `months` whole months to September
    2025, the first month's rows starting on its `start`th day and the last's ending `end`
    days short, and now and then an interior month's first or last day without rows; now and
    then (`beside`) as force B beside force A's whole months: of a dataset loaded force by
    force (`replace_by`), or in one national extract whose forces a peer group tells apart.
    The year ending September 2025 (and the one before, `--vs previous`) is counted by hand
    over its months where none is cut by days that would hold CUT_ROWS rows or more at that
    rate; where one is, it has no figure. Row order changes nothing."""
    import random

    from kpi.store import CUT_ROWS

    folder = _project(tmp_path_factory.mktemp("cut") / "p",
                      zone='replace_by = ["force"]' if beside == "loads" else "")
    if beside == "national":
        with (folder / "kpi.toml").open("a", encoding="utf-8") as toml:
            toml.write('\n[peers.forces]\ncolumn = "force"\nmembers = ["A", "B"]\n')
    calendar = sorted(divmod(2025 * 12 + 8 - n, 12) for n in range(months))
    calendar = [(y, m + 1) for y, m in calendar]
    days_of = {ym: _month_days(*ym) for ym in calendar}
    days_of[calendar[0]] = days_of[calendar[0]][start - 1:]
    if end:
        days_of[calendar[-1]] = days_of[calendar[-1]][:-end]
    middle = calendar[len(calendar) // 2]
    if quiet == "first":
        days_of[middle] = days_of[middle][1:]
    elif quiet == "last":
        days_of[middle] = days_of[middle][:-1]
    days = [d for ym in calendar for d in days_of[ym]]
    if shuffled:
        days = random.Random(per_day * 1000 + start).sample(days, len(days))
    whole_months = [d for ym in calendar for d in _month_days(*ym)]
    if beside == "loads":
        _load(folder, _extract(folder / "a.csv", whole_months, per_day, force="A"))
    rows = _extract(folder / "rows.csv", days, per_day, force="B")
    if beside == "national":  # one extract: A's rows, then B's
        a = _extract(folder / "a.csv", whole_months, per_day, force="A")
        lines = rows.read_text(encoding="utf-8").splitlines()[1:]
        rows.write_text(a.read_text(encoding="utf-8") + "\n".join(lines) + "\n",
                        encoding="utf-8")
    _load(folder, rows)

    def cut(ym: tuple[int, int]) -> bool:
        missing = len(_month_days(*ym)) - len(days_of[ym])
        return missing * per_day >= CUT_ROWS

    held = {f"{y}-{m:02d}" for y, m in calendar}
    in_part = sorted(f"{y}-{m:02d}" for y, m in calendar if cut((y, m)))
    assert [h["month"] for h in _held_in_part(folder)] == in_part

    def year(end_year: int, end_month: int) -> int | None:
        window = [(y, m + 1) for y, m in (divmod(end_year * 12 + end_month - 1 - n, 12)
                                          for n in range(12))]
        if any(f"{y}-{m:02d}" not in held or f"{y}-{m:02d}" in in_part for y, m in window):
            return None
        return per_day * sum(len(days_of[ym]) + bool(beside) * len(_month_days(*ym))
                             for ym in window)

    if beside == "national":
        # Compared by force, A's whole years are compared whatever B's rows; B's year is left
        # out where it holds a month B's rows run short in, as its comparison is.
        def of_force(force: str, end_month: int) -> int | None:
            window = [(y, m + 1) for y, m in (divmod(2025 * 12 + end_month - 1 - n, 12)
                                              for n in range(12))]
            if force == "B" and any(f"{y}-{m:02d}" not in held or f"{y}-{m:02d}" in in_part
                                    for y, m in window):
                return None
            return per_day * sum(len(_month_days(*ym) if force == "A" else days_of[ym])
                                 for ym in window)

        parts = {p["name"]: p for p in _compared(folder, "2025-09", "previous")["parts"]}
        assert parts["A"]["current"]["value"] == of_force("A", 9)
        assert parts["A"]["comparison"]["value"] == of_force("A", 8)
        if of_force("B", 9) is None:
            assert "B" not in parts, parts
        else:
            assert parts["B"]["current"]["value"] == of_force("B", 9)
            assert (parts["B"]["comparison"] or {}).get("value") == of_force("B", 8)
        event("compared by force")
    done = _summary(folder, "2025-09")
    figure = json.loads(done.stdout)["kpis"][0] if done.returncode == 0 else None
    current, before = year(2025, 9), year(2025, 8)
    event(f"{len(in_part)} month(s) held in part")
    if current is None:
        assert figure is None or figure["current"] is None or \
            figure["current"]["end"] != "2025-09" or figure["current"]["value"] is None, figure
        return
    assert figure is not None, done.stderr
    assert figure["current"]["value"] == current
    event("the year counted" + (", its comparison too" if before is not None else ""))
    shown = figure["comparison"]["value"] if figure["comparison"] else None
    assert shown == before, figure


def test_one_forces_rolling_window_beside_the_others_whole_months(tmp_path):
    """A dataset loaded force by force (`replace_by`): force A's extracts run whole months,
    force B's first load is the last 365 days to 10 October 2025, so B's October 2024 starts on
    the 11th, hidden in the month's bounds by A's rows from the 1st. The year ending September
    2025 summed A's year and B's 355 days (A 1,095 + B 1,065 = 2,160), exit 0; each part's
    months are judged, and the year has no figure, naming the force."""
    folder = _project(tmp_path / "p", zone='replace_by = ["force"]')
    a = _extract(tmp_path / "a.csv", _days(date(2024, 10, 1), date(2025, 9, 30)), force="A")
    b = _extract(tmp_path / "b.csv", _days(date(2024, 10, 11), date(2025, 9, 30)), force="B")
    _load(folder, a)
    _load(folder, b)
    assert _held_in_part(folder) == [
        {"month": "2024-10", "loaded": None, "starts": "2024-10-11", "ends": None,
         "part": "force 'B'"}]
    done = _summary(folder, "2025-09")
    assert done.returncode == 3, done.stdout  # 2,160, exit 0, before
    assert done.stderr.splitlines()[0] == (
        "Error: no KPI has data for 2025-09: crime: year ending September 2025 is incomplete: "
        "it holds 2024-10 only in part (the rows of force 'B' start on 11 October 2024, where "
        "its other months run from their first day to their last)")
    table = _kpi(folder, "datasets", "--format", "csv")
    assert "2024-10 (force 'B': rows from 11 October 2024)" in table.stdout
    # B's whole October loaded: the year is both forces' whole year, by hand and by DuckDB.
    whole = _extract(tmp_path / "b-october.csv", _days(date(2024, 10, 1), date(2024, 10, 31)),
                     force="B")
    _load(folder, whole)
    assert _held_in_part(folder) == []
    assert _crime(folder, "2025-09")["current"]["value"] == 2 * PER_DAY * 365 == (
        _duckdb_count(a, "2024-10-01", "2025-09-30") + _duckdb_count(b, "2024-11-01", "2025-09-30")
        + _duckdb_count(whole, "2024-10-01", "2024-10-31"))


PEERS = '\n[peers.forces]\ncolumn = "force"\nmembers = ["A", "B", "C"]\n'


def _national(tmp_path: Path, held, toml: str | None = None) -> tuple[Path, Path]:
    """A national extract of forces A, B and C, told apart by a peer group's `force` (kpi.toml
    `toml`, else PROJECT's), `PER_DAY` rows a day from September 2024 to September 2025 on the
    days `held(force, day)` keeps, loaded whole: its project folder and extract."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text((toml or PROJECT.format(kind="date", zone="")) + PEERS,
                                     encoding="utf-8")
    year = _days(date(2024, 9, 1), date(2025, 9, 30))
    lines = ["Day,Ref,Force"] + [
        f"{day.isoformat()},{force}{day:%Y%m%d}-{k},{force}" for force in "ABC" for day in year
        if held(force, day) for k in range(PER_DAY)]
    extract = folder / "national.csv"
    extract.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _load(folder, extract)
    return folder, extract


def _to_the_15th(force: str, day: date) -> bool:
    """Force C's September 2025 supplied to its 15th, every other month whole."""
    return not (force == "C" and day > date(2025, 9, 15))


def test_one_force_of_a_national_extract_supplied_to_the_15th(tmp_path):
    """A national extract loaded whole by month, its forces told apart by a peer group's
    column (no `replace_by`): force C's September runs to the 15th beside A's and B's whole
    months, which the month's bounds hide. The year ending September 2025 summed C's half
    month as a month (3,240 where the forces' whole years hold 3,285), and `kpi compare --by
    force` read C's year against its last; each force's months are judged now."""
    folder, extract = _national(tmp_path, _to_the_15th)
    assert _held_in_part(folder) == [
        {"month": "2025-09", "loaded": None, "starts": None, "ends": "2025-09-15",
         "part": "force 'C'"}]
    done = _summary(folder, "2025-09")
    assert done.returncode == 3, done.stdout  # 3,240, exit 0, before
    assert "2025-09 only in part (the rows of force 'C' end on 15 September 2025" \
        in done.stderr.splitlines()[0]
    assert done.stderr.splitlines()[1] == (
        "Hint: choose --period 2025-08 or earlier, or load the whole of 2025-09 for force 'C' "
        "(a query bounded by whole months, not a rolling window of days), or, where its "
        "records really end on 15 September 2025, declare it whole_months = [\"2025-09\"] in "
        "the dataset's table of kpi.toml")
    # The year to August holds every force's whole months: counted, by hand and by DuckDB.
    august = _crime(folder, "2025-08")
    assert august["current"]["value"] == 3 * PER_DAY * 365 == _duckdb_count(
        extract, "2024-09-01", "2025-08-31")


def test_one_force_supplied_to_the_15th_told_by_a_derived_column(tmp_path):
    """As above, with the force derived (`force = "falls_within"`, as a police.uk street file
    is declared): the store saw only its stored columns, so C's half September passed as a
    month (3,240 where the whole years hold 3,285), exit 0. A derived column telling parts
    apart is computed for the judgement as every read computes it."""
    toml = PROJECT.format(kind="date", zone="").replace(
        'force = {{ type = "str", from = ["Force"] }}'.replace("{{", "{").replace("}}", "}"),
        'falls_within = { type = "str", from = ["Force"] }\n\n'
        '[datasets.crimes.derived]\nforce = "falls_within"')
    assert 'force = "falls_within"' in toml
    folder, extract = _national(tmp_path, _to_the_15th, toml)
    assert _held_in_part(folder) == [
        {"month": "2025-09", "loaded": None, "starts": None, "ends": "2025-09-15",
         "part": "force 'C'"}]
    done = _summary(folder, "2025-09")
    assert done.returncode == 3, done.stdout  # 3,240, exit 0, before
    assert "2025-09 only in part (the rows of force 'C' end on 15 September 2025" \
        in done.stderr.splitlines()[0]
    compared = _compared(folder, "2025-09")
    assert {p["name"]: p["current"]["value"] for p in compared["parts"]} == {
        "A": PER_DAY * 365, "B": PER_DAY * 365}
    assert compared["note"].endswith(
        "left out, holding a month of the year ending September 2025 only in part: C (2025-09: "
        "the rows of force 'C' end on 15 September 2025, where its other months run from their "
        "first day to their last)")
    august = _crime(folder, "2025-08")
    assert august["current"]["value"] == 3 * PER_DAY * 365 == _duckdb_count(
        extract, "2024-09-01", "2025-08-31")


def _compared(folder: Path, period: str, vs: str = "baseline") -> dict:
    done = _kpi(folder, "compare", "--by", "force", "--period", period, "--vs", vs,
                "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["kpis"][0]


def test_compare_by_force_leaves_out_only_the_force_whose_rows_run_short(tmp_path):
    """One force's month cut short holds the national month in part, so the summary gives no
    year holding it; `kpi compare --by force` left out every force's year too, where only that
    force's rows run short. The others are compared, by hand and by DuckDB; the force cut
    short is left out of the year holding its short month, and given no comparison where the
    year compared holds it, each said in the note."""
    # C's September 2024 starts on the 16th: in the year ending August 2025, not September's.
    folder, extract = _national(
        tmp_path, lambda force, day: not (force == "C" and day < date(2024, 9, 16)))
    assert _held_in_part(folder) == [
        {"month": "2024-09", "loaded": None, "starts": "2024-09-16", "ends": None,
         "part": "force 'C'"}]
    duckdb = pytest.importorskip("duckdb")

    def by_hand(force: str, first: str, last: str) -> int:
        return duckdb.sql(f"SELECT count(*) FROM read_csv('{extract.as_posix()}', header = true)"
                          f" WHERE \"Force\" = '{force}' AND \"Day\"::DATE BETWEEN DATE "
                          f"'{first}' AND DATE '{last}'").fetchone()[0]

    # The year ending August 2025 holds C's short September: C is left out, A and B compared.
    august = _compared(folder, "2025-08")
    assert {p["name"]: p["current"]["value"] for p in august["parts"]} == {
        f: by_hand(f, "2024-09-01", "2025-08-31") for f in "AB"} == {"A": 1095, "B": 1095}
    assert "left out, holding a month of the year ending August 2025 only in part: C " \
        "(2024-09: the rows of force 'C' start on 16 September 2024" in august["note"]
    # The year ending September 2025 against the one before (`--vs previous`): every force's
    # current year is whole; C's comparison holds its short month, so C has none.
    september = _compared(folder, "2025-09", "previous")
    parts = {p["name"]: p for p in september["parts"]}
    assert {n: p["current"]["value"] for n, p in parts.items()} == {
        f: by_hand(f, "2024-10-01", "2025-09-30") for f in "ABC"}
    assert {n: (p["comparison"] or {}).get("value") for n, p in parts.items()} == {
        "A": 1095, "B": 1095, "C": None}
    assert "no comparison for C (2024-09: the rows of force 'C' start on 16 September 2024, " \
        "where its other months run from their first day to their last), holding a month of " \
        "the year ending August 2025 only in part" in september["note"]
    # The national year holding September 2024 has no figure; the next, every force's, has.
    assert _summary(folder, "2025-08").returncode == 3
    assert _crime(folder, "2025-09")["current"]["value"] == 3 * PER_DAY * 365


def test_the_python_face_s_load_gives_the_months_it_leaves_held_in_part(tmp_path):
    """`project.ingest` carries what `kpi ingest` notes: each month loaded that the table now
    holds only in part, with why and how to count it; a load of whole months carries none."""
    import kpi

    folder = _project(tmp_path / "p")
    project = kpi.open(folder)
    loaded = project.ingest("crimes", [_extract(tmp_path / "last 365 days.csv",
                                                _days(date(2024, 10, 11), date(2025, 10, 10)))])
    assert list(loaded.held_in_part) == ["2024-10", "2025-10"]
    assert loaded.held_in_part["2024-10"].reason() == (
        "its rows start on 11 October 2024, where its other months run from their first day "
        "to their last")
    assert loaded.held_in_part["2025-10"].end == date(2025, 10, 10)
    whole = project.ingest("crimes", [_extract(tmp_path / "october.csv",
                                               _days(date(2024, 10, 1), date(2024, 10, 31)))])
    assert whole.held_in_part == {}



def test_a_month_cut_short_is_seen_where_the_date_column_is_past_the_32nd(tmp_path):
    """Delta keeps statistics of a table's first 32 columns: a date column declared after
    them has no bounds in the log, and every month was taken as whole, so October 2025 from
    its 11th read as a year of 355 days (1,065 crimes), "improving", exit 0. Such months are
    read from the rows; the refusal says the month is held in part, not that it holds no
    rows."""
    folder = tmp_path / "p"
    folder.mkdir()
    extra = "".join(f"extra{n:02d} = {{ type = \"str\", required = false }}\n"
                    for n in range(40))
    (folder / "kpi.toml").write_text(PROJECT.format(kind="date", zone="").replace(
        '[datasets.crimes.columns]\n', '[datasets.crimes.columns]\n' + extra).replace(
        'day = { type = "date", from = ["Day"] }\n', '').replace(
        'force = { type = "str", from = ["Force"] }\n',
        'force = { type = "str", from = ["Force"] }\nday = { type = "date", from = ["Day"] }\n'),
        encoding="utf-8")
    days = [d for d in _days(date(2024, 1, 1), date(2025, 12, 31))
            if not date(2025, 10, 1) <= d < date(2025, 10, 11)]
    _load(folder, _extract(tmp_path / "wide.csv", days))
    assert [h["month"] for h in _held_in_part(folder)] == ["2025-10"]
    refused = _summary(folder, "2025-10", "baseline")
    assert refused.returncode == 3
    assert ("no data for 2025-10 in full: dataset 'crimes' holds 2025-10 only in part (its rows "
            "start on 11 October 2025") in " ".join(refused.stderr.split())
