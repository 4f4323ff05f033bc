"""When a month was loaded survives every rewrite of the store (`kpi.store.unfinished`,
docs/guarantees.md): a month is held in part exactly when the earliest load of the rows it
holds now happened before the month ended (UK time). The time is the add action's
`modificationTime` in the table's log; `kpi upgrade` and a part-by-part load (`replace_by`)
rewrite rows without loading them, and each wrote them as loaded at that moment, so a month
loaded on its 4th read as whole: "the year ending" it counted eleven months and three days
as twelve, with exit 0.

A load on 4 September 2025 is made here by writing that moment into the add actions of the
commit that load made, as kpi (or the earlier kpi) would have written it that day. Every
figure is counted by hand: `PER_DAY` rows a day, from `FIRST`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import inprocess
import pytest

from kpi.periods import Month

PER_DAY = 2
FIRST = date(2024, 9, 1)
SEPTEMBER = Month.of(2025, 9)
# 06:00 UTC on 4 September 2025: rows of 1 to 3 September held, the month far from over.
EARLY = datetime(2025, 9, 4, 6, tzinfo=UTC)

PROJECT = """[project]
name = "Loaded early"
baseline = "2024-09"

[datasets.crimes]
date = "day"
{replace_by}
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


def _project(folder: Path, *, replace_by: bool = False, kind: str = "date") -> Path:
    folder.mkdir(parents=True)
    (folder / "kpi.toml").write_text(PROJECT.format(
        replace_by='replace_by = ["force"]' if replace_by else "", kind=kind), encoding="utf-8")
    return folder


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _extract(path: Path, force: str, first: date, last: date) -> Path:
    lines = ["Day,Ref,Force"]
    for day in _days(first, last):
        lines += [f"{day.isoformat()},{force}{day:%Y%m%d}-{k},{force}" for k in range(PER_DAY)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _kpi(folder: Path, *args: object):
    return inprocess.run(["--project", folder, *args])


def _backdate(folder: Path, version: int, when: datetime) -> None:
    """Write `when` as the moment each file the commit `version` added was written: that
    load made on that day."""
    log = folder / "data" / "crimes" / "_delta_log" / f"{version:020d}.json"
    millis = int(when.timestamp() * 1000)
    actions = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert any("add" in action for action in actions)
    for action in actions:
        if "add" in action:
            action["add"]["modificationTime"] = millis
    log.write_text("".join(json.dumps(action) + "\n" for action in actions), encoding="utf-8")


def _year_ending(month: int) -> int:
    """Force A's rows of the 12 months ending `month` of 2025, by hand."""
    after = date(2025, month + 1, 1)
    return PER_DAY * len(_days(date(2024, month + 1, 1), after - timedelta(days=1)))


def _held_in_part(folder: Path, *args: object) -> list[str]:
    done = _kpi(folder, "datasets", "--format", "json", *args)
    assert done.returncode == 0, done.stderr
    return [h["month"] for h in json.loads(done.stdout)[0]["held_in_part"]]


def _year_ending_september(folder: Path, *args: object):
    return _kpi(folder, "summary", "--period", str(SEPTEMBER), "--vs", "previous",
                "--format", "json", *args)


def _refused_as_in_part(done) -> None:
    assert done.returncode == 3, done.stdout
    assert done.stdout == ""
    first = done.stderr.splitlines()[0]
    assert first == ("Error: no data reaches 2025-09 in full: dataset 'crimes' holds 2025-09 "
                     "only in part (its rows were loaded on 4 September 2025, before the month "
                     "ended); the latest whole month held is 2025-08")


def _counted(done) -> int:
    assert done.returncode == 0, done.stderr
    crime = json.loads(done.stdout)["kpis"][0]
    assert crime["current"]["end"] == str(SEPTEMBER)
    return crime["current"]["value"]


# ---------------------------------------------------------------------------------------------
# kpi upgrade

def _old_store(folder: Path) -> None:
    """The crimes table as the earlier kpi wrote it (a datetime as UK wall-clock time,
    Delta's timestamp_ntz), loaded on 4 September 2025: rows from October 2024 to 3 September
    2025, each day's at noon."""
    import polars as pl
    from deltalake import write_deltalake

    days = _days(FIRST, date(2025, 9, 3))
    frame = pl.DataFrame({
        "day": [datetime(d.year, d.month, d.day, 12) for d in days for _ in range(PER_DAY)],
        "ref": [f"A{d:%Y%m%d}-{k}" for d in days for k in range(PER_DAY)],
        "force": ["A"] * (len(days) * PER_DAY)},
        schema={"day": pl.Datetime("us"), "ref": pl.String, "force": pl.String})
    frame = frame.with_columns(pl.col("day").dt.strftime("%Y-%m").alias("month"))
    write_deltalake(str(folder / "data" / "crimes"), frame.to_arrow(), partition_by=["month"])
    _backdate(folder, 0, EARLY)


def test_an_upgrade_keeps_a_month_loaded_before_it_ended_held_in_part(tmp_path):
    """The earlier kpi's table, loaded on 4 September 2025, holds 1 to 3 September. Before
    the fix, `kpi upgrade` wrote every month's rows anew, as loaded when it ran, and the year
    ending September 2025 then counted 676 rows (11 months and 3 days) as a whole year, exit
    0. The upgrade keeps each file's load time: September is held in part, August whole."""
    folder = _project(tmp_path / "p", kind="datetime")
    _old_store(folder)
    assert _held_in_part(folder) == ["2025-09"]
    _refused_as_in_part(_year_ending_september(folder))
    done = _kpi(folder, "upgrade", "crimes")
    assert done.returncode == 0, done.stderr
    assert _held_in_part(folder) == ["2025-09"]
    _refused_as_in_part(_year_ending_september(folder))
    # August was loaded after it ended: the year ending it counts every row to 31 August.
    august = _kpi(folder, "summary", "--period", "2025-08", "--vs", "previous", "--format",
                  "json")
    assert august.returncode == 0, august.stderr
    assert json.loads(august.stdout)["kpis"][0]["current"]["value"] == _year_ending(8)


def test_an_upgrade_keeps_the_time_of_each_load_not_the_earliest_of_the_month(tmp_path):
    """A month held in two loads' files, one before it ended and one after (a part loaded
    again): the upgrade keeps the two times apart, so loading the early part again after the
    month ended releases the month, as it would have before the upgrade."""
    import polars as pl
    from deltalake import write_deltalake

    folder = _project(tmp_path / "p", replace_by=True, kind="datetime")
    _old_store(folder)
    days = _days(FIRST, date(2025, 9, 30))
    late = pl.DataFrame({
        "day": [datetime(d.year, d.month, d.day, 12) for d in days for _ in range(PER_DAY)],
        "ref": [f"B{d:%Y%m%d}-{k}" for d in days for k in range(PER_DAY)],
        "force": ["B"] * (len(days) * PER_DAY),
        "month": [f"{d:%Y-%m}" for d in days for _ in range(PER_DAY)]},
        schema={"day": pl.Datetime("us"), "ref": pl.String, "force": pl.String,
                "month": pl.String})
    write_deltalake(str(folder / "data" / "crimes"), late.to_arrow(), mode="append",
                    partition_by=["month"])
    assert _held_in_part(folder) == ["2025-09"]
    assert _kpi(folder, "upgrade", "crimes").returncode == 0
    assert _held_in_part(folder) == ["2025-09"]
    # Force A's September in full, loaded now: every row September holds was loaded after it.
    again = _extract(tmp_path / "a-september.csv", "A", date(2025, 9, 1), date(2025, 9, 30))
    done = _kpi(folder, "ingest", "crimes", again)
    assert done.returncode == 0, done.stderr
    assert _held_in_part(folder) == []
    # Force A from October 2024, force B September only: the year ending September 2025.
    assert _counted(_year_ending_september(folder)) == 2 * _year_ending(9)


# ---------------------------------------------------------------------------------------------
# Loads part by part (replace_by)

def _loaded_early(tmp_path: Path) -> Path:
    """Force A from October 2024 to 3 September 2025, loaded on 4 September 2025."""
    folder = _project(tmp_path / "p", replace_by=True)
    done = _kpi(folder, "ingest", "crimes",
                _extract(tmp_path / "a.csv", "A", FIRST, date(2025, 9, 3)))
    assert done.returncode == 0, done.stderr
    _backdate(folder, 0, EARLY)
    assert _held_in_part(folder) == ["2025-09"]
    return folder


def test_another_parts_load_keeps_the_early_part_held(tmp_path):
    """Force B's September, loaded after it ended, writes force A's stored rows of September
    again beside its own. Before the fix they were written as loaded then, and the year ending
    September counted force A's three days as its month: 732 rows, exit 0. They keep their
    load time: September is held in part (A's rows are part of it)."""
    folder = _loaded_early(tmp_path)
    done = _kpi(folder, "ingest", "crimes", _extract(tmp_path / "b.csv", "B", FIRST,
                                                     date(2025, 9, 30)))
    assert done.returncode == 0, done.stderr
    assert _held_in_part(folder) == ["2025-09"]
    _refused_as_in_part(_year_ending_september(folder))


def test_the_early_part_loaded_again_after_the_month_ended_releases_it(tmp_path):
    """Then force A's September in full, loaded now: every row September holds was loaded
    after it ended, B's (written again beside A's) too. The year ending September 2025 counts
    A's year and B's month."""
    folder = _loaded_early(tmp_path)
    assert _kpi(folder, "ingest", "crimes", _extract(
        tmp_path / "b.csv", "B", FIRST, date(2025, 9, 30))).returncode == 0
    done = _kpi(folder, "ingest", "crimes", _extract(
        tmp_path / "a-september.csv", "A", date(2025, 9, 1), date(2025, 9, 30)))
    assert done.returncode == 0, done.stderr
    assert _held_in_part(folder) == []
    assert _counted(_year_ending_september(folder)) == 2 * _year_ending(9)
    # As of the version before, September was still held in part.
    _refused_as_in_part(_year_ending_september(folder, "--as-of", "1"))


def test_a_part_loaded_early_in_a_month_another_part_finished_holds_it_in_part(tmp_path):
    """The other way round: force B's September whole (loaded after it ended), then force A's
    first three days loaded early. The month is held in part."""
    folder = _project(tmp_path / "p", replace_by=True)
    assert _kpi(folder, "ingest", "crimes", _extract(
        tmp_path / "b.csv", "B", FIRST, date(2025, 9, 30))).returncode == 0
    assert _held_in_part(folder) == []
    assert _kpi(folder, "ingest", "crimes", _extract(
        tmp_path / "a.csv", "A", date(2025, 9, 1), date(2025, 9, 3))).returncode == 0
    _backdate(folder, 1, EARLY)
    assert _held_in_part(folder) == ["2025-09"]
    # Force C's September, after: A's and B's rows are written again beside C's.
    assert _kpi(folder, "ingest", "crimes", _extract(
        tmp_path / "c.csv", "C", FIRST, date(2025, 9, 30))).returncode == 0
    assert _held_in_part(folder) == ["2025-09"]


# ---------------------------------------------------------------------------------------------
# Loads that write nothing, a restore, time travel and vacuum

def test_the_same_extract_loaded_again_changes_nothing_and_the_month_stays_held(tmp_path):
    folder = _project(tmp_path / "p")
    extract = _extract(tmp_path / "a.csv", "A", FIRST, date(2025, 9, 3))
    assert _kpi(folder, "ingest", "crimes", extract).returncode == 0
    _backdate(folder, 0, EARLY)
    done = _kpi(folder, "ingest", "crimes", extract)
    assert done.returncode == 0, done.stderr
    assert _held_in_part(folder) == ["2025-09"]
    _refused_as_in_part(_year_ending_september(folder))


def test_a_restore_and_a_vacuum_keep_the_load_times_of_the_version_they_hold(tmp_path):
    """September loaded early (version 0), then in full after it ended (version 1): whole.
    `DeltaTable.restore(0)` adds version 0's files again, with their times: held in part
    again, as `--as-of 0` reads it. A vacuum after (compaction and a checkpoint) keeps it."""
    from deltalake import DeltaTable

    folder = _project(tmp_path / "p")
    assert _kpi(folder, "ingest", "crimes", _extract(
        tmp_path / "a.csv", "A", FIRST, date(2025, 9, 3))).returncode == 0
    _backdate(folder, 0, EARLY)
    assert _kpi(folder, "ingest", "crimes", _extract(
        tmp_path / "b.csv", "A", date(2025, 9, 1), date(2025, 9, 30))).returncode == 0
    assert _held_in_part(folder) == []
    assert _counted(_year_ending_september(folder)) == _year_ending(9)
    _refused_as_in_part(_year_ending_september(folder, "--as-of", "0"))
    DeltaTable(str(folder / "data" / "crimes")).restore(0)
    assert _held_in_part(folder) == ["2025-09"]
    _refused_as_in_part(_year_ending_september(folder))
    assert _kpi(folder, "vacuum", "crimes", "--keep-days", "0").returncode == 0
    assert _held_in_part(folder) == ["2025-09"]
    _refused_as_in_part(_year_ending_september(folder))


QUARTERLY = """[project]
name = "Quarters"
baseline = "2024-10"

[datasets.crimes]
date = { year = "year", quarter = "quarter" }
replace_by = ["force"]
[datasets.crimes.columns]
year = { type = "int", from = ["Year"] }
quarter = { type = "int", from = ["Quarter"] }
force = { type = "str", from = ["Force"] }
crimes = { type = "int", from = ["Crimes"] }

[[priorities]]
id = "p"
title = "Crime"

[[kpis]]
id = "crime"
title = "Total crime"
priority = "p"
kind = "sum"
value = "crimes"
dataset = "crimes"
better = "lower"
"""


@pytest.mark.parametrize("early", ["A", "B"])
def test_a_quarter_loaded_before_it_ended_stays_held_through_another_parts_load(tmp_path,
                                                                                 early):
    """A quarterly row stands for its three months: force A's July to September 2025 loaded
    on 4 September 2025, force B's after the quarter ended (or the other way round). The
    quarter is held in part whichever came first."""
    folder = tmp_path / "q"
    folder.mkdir()
    (folder / "kpi.toml").write_text(QUARTERLY, encoding="utf-8")

    def extract(force: str) -> Path:
        path = tmp_path / f"{force}.csv"
        lines = ["Year,Quarter,Force,Crimes", f"2024,4,{force},10", f"2025,1,{force},10",
                 f"2025,2,{force},10", f"2025,3,{force},10"]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    late = "B" if early == "A" else "A"
    order = [early, late] if early == "A" else [late, early]
    for version, force in enumerate(order):
        assert _kpi(folder, "ingest", "crimes", extract(force)).returncode == 0
        if force == early:
            _backdate(folder, version, EARLY)
    assert _held_in_part(folder) == ["2025-07", "2025-08", "2025-09"]


def test_when_months_were_loaded_is_read_once_per_table_version(tmp_path, monkeypatch):
    """`store.unfinished` is asked on every read and again by the checks: the log is read
    once for each version (and point in history), and a new load is seen at once."""
    from kpi import store
    from kpi.catalogue import parse_project_file

    folder = _loaded_early(tmp_path)
    project = parse_project_file(folder / "kpi.toml")
    reads: list[int] = []
    real = store.loaded_files
    monkeypatch.setattr(store, "loaded_files", lambda table: reads.append(1) or real(table))
    store._UNFINISHED.clear()

    def unfinished(*as_of: store.AsOf) -> tuple[set[Month], int]:
        """The months held in part, and how often the log was read for them."""
        before = len(reads)
        got = store.unfinished(project, "crimes", *as_of)
        return set(got), len(reads) - before

    first = store.unfinished(project, "crimes")
    assert set(first) == {SEPTEMBER}
    first.clear()  # the caller's copy
    assert unfinished() == ({SEPTEMBER}, 0)
    assert _kpi(folder, "ingest", "crimes", _extract(
        tmp_path / "b.csv", "B", FIRST, date(2025, 9, 30))).returncode == 0
    assert unfinished()[0] == {SEPTEMBER}  # the new version read
    assert unfinished() == ({SEPTEMBER}, 0)
    assert _kpi(folder, "ingest", "crimes", _extract(
        tmp_path / "a-september.csv", "A", date(2025, 9, 1), date(2025, 9, 30))).returncode == 0
    assert unfinished()[0] == set()
    assert unfinished(store.AsOf.parse("1")) == ({SEPTEMBER}, 1)
    assert unfinished() == (set(), 0)
    assert unfinished(store.AsOf.parse("1")) == ({SEPTEMBER}, 0)


# ---------------------------------------------------------------------------------------------
# The same rows loaded again after the month ended

def test_one_parts_extract_loaded_again_unchanged_beside_anothers_keeps_the_month_in_part(
        tmp_path):
    """A nightly job loads every force's extract: force A's stopped on 3 September (loaded on
    the 4th), force B's is fresh. Loaded together after September ended, A's three days of
    September were written again as loaded then, so September read as whole: the year ending
    it counted A's eleven months and three days as twelve (676 of A's rows beside B's 730),
    exit 0. A part whose rows are those stored, row for row, keeps their load time: the month
    stays held in part; A's full September, loaded since, releases it."""
    folder = _project(tmp_path / "p", replace_by=True)
    a = _extract(tmp_path / "a.csv", "A", FIRST, date(2025, 9, 3))
    assert _kpi(folder, "ingest", "crimes", a).returncode == 0
    _backdate(folder, 0, EARLY)
    assert _held_in_part(folder) == ["2025-09"]
    b = _extract(tmp_path / "b.csv", "B", FIRST, date(2025, 9, 30))
    done = _kpi(folder, "ingest", "crimes", a, b)
    assert done.returncode == 0, done.stderr
    assert _held_in_part(folder) == ["2025-09"]
    _refused_as_in_part(_year_ending_september(folder))
    # August: both forces whole, as counted by hand
    august = _kpi(folder, "summary", "--period", "2025-08", "--vs", "previous", "--format",
                  "json")
    assert json.loads(august.stdout)["kpis"][0]["current"]["value"] == 2 * _year_ending(8)
    full = _extract(tmp_path / "a-full.csv", "A", FIRST, date(2025, 9, 30))
    assert _kpi(folder, "ingest", "crimes", full, b).returncode == 0
    assert _held_in_part(folder) == []
    assert _counted(_year_ending_september(folder)) == 2 * _year_ending(9)


def test_a_month_loaded_again_unchanged_keeps_its_load_time_and_changed_releases_it(tmp_path):
    """Without parts: the extract revised in August alone (one row's reference), loaded after
    September ended, gives September's rows as they were, so September keeps the 4th; an
    extract adding 4 September is new evidence of the month, loaded after it ended."""
    folder = _project(tmp_path / "p")
    a = _extract(tmp_path / "a.csv", "A", FIRST, date(2025, 9, 3))
    assert _kpi(folder, "ingest", "crimes", a).returncode == 0
    _backdate(folder, 0, EARLY)
    revised = tmp_path / "revised.csv"
    revised.write_text(a.read_text(encoding="utf-8").replace("A20250805-0", "A20250805-X"),
                       encoding="utf-8")
    done = _kpi(folder, "ingest", "crimes", revised)
    assert done.returncode == 0, done.stderr
    assert _held_in_part(folder) == ["2025-09"]
    _refused_as_in_part(_year_ending_september(folder))
    more = _extract(tmp_path / "more.csv", "A", FIRST, date(2025, 9, 4))
    done = _kpi(folder, "ingest", "crimes", more)
    assert done.returncode == 0, done.stderr
    # Loaded after it ended, yet its rows stop on the 4th where every other month runs whole
    # at two rows a day: held in part still, now as cut short (`store.cut_short`).
    shown = json.loads(_kpi(folder, "datasets", "--format", "json").stdout)[0]["held_in_part"]
    assert shown == [{"month": "2025-09", "loaded": None, "starts": None, "ends": "2025-09-04",
                      "part": None}]
    whole = _extract(tmp_path / "whole.csv", "A", FIRST, date(2025, 9, 30))
    done = _kpi(folder, "ingest", "crimes", whole)
    assert done.returncode == 0, done.stderr
    assert _held_in_part(folder) == []
