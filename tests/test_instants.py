"""Durations across a change of the UK clocks (docs/guarantees.md, class `dst`): the store keeps
each time's instant and reads it back as UK time, a time written without an offset is UK time
and refused where it names two instants or none, and a table an earlier kpi stored as UK
wall-clock time never gives a duration.

Every figure here is worked out by hand from the instants, in the comments beside it.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import inprocess
import polars as pl
import pytest

from kpi.expressions import ExpressionProblem, check

UK = ZoneInfo("Europe/London")

PROJECT = """[project]
name = "Instants"
baseline = "2024-10"

[datasets.incidents]
date = "opened"
{source}
[datasets.incidents.columns]
ref = "str"
opened = {{ type = "datetime", from = ["Created"] }}
closed = {{ type = "datetime", from = ["Attended"], required = false }}

[[priorities]]
id = "p"
title = "Response"

[[kpis]]
id = "incidents"
title = "Incidents"
priority = "p"
dataset = "incidents"
kind = "count"
better = "lower"
"""

DURATIONS = """
[[kpis]]
id = "total"
title = "Time to attend, in all"
priority = "p"
dataset = "incidents"
kind = "sum"
value = "closed - opened"
unit = "seconds"
better = "lower"

[[kpis]]
id = "backwards"
title = "Attended before opened"
priority = "p"
dataset = "incidents"
kind = "count"
filter = "closed - opened < INTERVAL '0 minutes'"
better = "lower"

[[kpis]]
id = "within_hour"
title = "Attended within an hour"
priority = "p"
dataset = "incidents"
kind = "within"
value = "DATE_PART('epoch', closed) - DATE_PART('epoch', opened)"
threshold = 3600
better = "higher"
"""


def _project(folder: Path, durations: bool = True, source: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kpi.toml").write_text(PROJECT.format(source=source)
                                     + (DURATIONS if durations else ""), encoding="utf-8")
    return folder


def _plain_rows() -> list[str]:
    """One incident on the 10th of each month from November 2023 to October 2025, attended
    ten minutes (600 s) later, at 10:00 UK time (no change of the clocks near it)."""
    rows = []
    for n in range(24):
        year, month = 2023 + (10 + n) // 12, (10 + n) % 12 + 1
        rows.append(f"P{n},{year}-{month:02d}-10 10:00,{year}-{month:02d}-10 10:10")
    return rows


def _extract(folder: Path, rows: list[str], name: str = "incidents.csv") -> Path:
    path = folder / name
    path.write_text("ref,Created,Attended\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _kpi(folder: Path, *args: str) -> inprocess.subprocess.CompletedProcess:
    return inprocess.run(list(args), cwd=folder, env={**_env(), "KPI_NO_CACHE": "1"})


def _env() -> dict[str, str]:
    return dict(os.environ)


def _current(folder: Path) -> dict[str, dict]:
    done = _kpi(folder, "summary", "--period", "2025-10", "--vs", "yoy", "--format", "json")
    assert done.returncode == 0, done.stderr
    return {k["id"]: k["current"] for k in json.loads(done.stdout)["kpis"]}


def test_an_incident_across_the_clocks_going_back_took_45_minutes_not_minus_15(tmp_path):
    """docs/guarantees.md: opened at 00:30 UTC (01:30 BST) and attended at 01:15 UTC (01:15
    GMT) on 26 October 2025, it took 45 minutes; read on the wall clock it was -15."""
    folder = _project(tmp_path / "p")
    rows = [*_plain_rows(), "B1,2025-10-26T00:30:00+00:00,2025-10-26T01:15:00+00:00"]
    done = _kpi(folder, "ingest", "incidents", _extract(folder, rows))
    assert done.returncode == 0, done.stderr
    got = _current(folder)
    # November 2024 to October 2025: twelve plain incidents of 600 s, and one of 2,700 s.
    assert got["total"]["value"] == 12 * 600 + 2700
    assert got["backwards"]["value"] == 0
    assert got["within_hour"]["value"] == pytest.approx(100.0)


def test_an_incident_across_the_clocks_going_forward_took_one_hour_not_two(tmp_path):
    """docs/guarantees.md: opened at 00:30 UTC and attended at 01:30 UTC on 30 March 2025, it
    took an hour (00:30 GMT to 02:30 BST), so a `within` of an hour counts it in; the same
    incident written as UK wall-clock times without an offset took an hour too."""
    folder = _project(tmp_path / "p")
    rows = [*_plain_rows(), "F1,2025-03-30T00:30:00+00:00,2025-03-30T01:30:00+00:00",
            "F2,2025-03-30 00:30,2025-03-30 02:30"]
    done = _kpi(folder, "ingest", "incidents", _extract(folder, rows))
    assert done.returncode == 0, done.stderr
    got = _current(folder)
    assert got["total"]["value"] == 12 * 600 + 2 * 3600
    # 14 of 14 within the hour (wall-clock time read 12 of 14: 85.7).
    assert got["within_hour"]["value"] == pytest.approx(100.0)
    assert (got["within_hour"]["numerator"], got["within_hour"]["denominator"]) == (14, 14)


def test_times_are_read_back_as_uk_time_and_stored_as_instants(tmp_path):
    """The month, hour and date of a time are the UK's: 23:30 UTC on 30 June is 00:30 BST on
    1 July, in July's partition; the table holds the instant (Delta's timestamp, UTC)."""
    from deltalake import DeltaTable

    from kpi import api

    folder = _project(tmp_path / "p", durations=False)
    rows = ["S1,2025-06-30T23:30:00+00:00,2025-07-01 01:00", "S2,2025-01-15 08:00,"]
    assert _kpi(folder, "ingest", "incidents", _extract(folder, rows)).returncode == 0
    table = DeltaTable(str(folder / "data" / "incidents"))
    types = {f.name: f.type.type for f in table.schema().fields}
    assert types["opened"] == "timestamp" and types["closed"] == "timestamp"
    # The plainest Delta table (docs/excel-and-power-bi.md): timestamp_ntz asked for reader 3.
    protocol = table.protocol()
    assert (protocol.min_reader_version, protocol.reader_features) == (1, None)
    stored = {r["ref"]: r for r in table.to_pyarrow_table().to_pylist()}
    assert stored["S1"]["opened"] == datetime(2025, 6, 30, 23, 30, tzinfo=UTC)
    assert stored["S1"]["month"] == "2025-07"
    assert stored["S2"]["opened"] == datetime(2025, 1, 15, 8, tzinfo=UTC)  # GMT is UTC
    read = (api.open(folder).scan("incidents").sort("ref")
            .select("ref", "opened", pl.col("opened").dt.hour().alias("hour"),
                    pl.col("opened").dt.date().alias("day"), "closed").collect())
    assert read.schema["opened"] == pl.Datetime("us", "Europe/London")
    assert read.row(0) == ("S1", datetime(2025, 7, 1, 0, 30, tzinfo=UK), 0,
                           datetime(2025, 7, 1).date(), datetime(2025, 7, 1, 1, tzinfo=UK))


CLOCK_CHANGES = [
    ("2025-10-26 01:30", "2025-10-26 02:30", "show twice",
     "2025-10-26T01:30:00+01:00 for the first or 2025-10-26T01:30:00+00:00 for the second"),
    ("2025-03-30 01:30", "2025-03-30 02:30", "skipped", "such as 2025-03-30T01:30:00+00:00"),
]


def _refused(done, file: str, row: int, column: str, value: str, what: str, example: str):
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    first = done.stderr.splitlines()[0]
    assert f"{file}, row {row}, column '{column}'" in first
    assert f"found '{value}" in first and what in first and example in first


@pytest.mark.parametrize(("opened", "closed", "what", "example"), CLOCK_CHANGES)
def test_a_csv_time_naming_two_instants_or_none_is_refused(tmp_path, opened, closed, what,
                                                         example):
    folder = _project(tmp_path / "p")
    path = _extract(folder, ["A1,2025-10-01 09:00,2025-10-01 09:10", f"A2,{opened},{closed}"])
    done = _kpi(folder, "ingest", "incidents", path)
    _refused(done, "incidents.csv", 3, "Created", opened, what, example)
    assert not (folder / "data" / "incidents" / "_delta_log").exists()


def test_skip_bad_rows_quarantines_a_time_naming_two_instants(tmp_path):
    """As any bad value: --skip-bad-rows loads the other rows and sets this one aside."""
    folder = _project(tmp_path / "p", durations=False)
    path = _extract(folder, ["A1,2025-10-01 09:00,2025-10-01 09:10",
                             "A2,2025-10-26 01:30,2025-10-26 02:30",
                             "A3,2025-10-26T01:30:00+00:00,2025-10-26 02:30"])
    done = _kpi(folder, "ingest", "incidents", path, "--skip-bad-rows")
    assert done.returncode == 0, done.stderr
    from deltalake import DeltaTable

    stored = DeltaTable(str(folder / "data" / "incidents")).to_pyarrow_table().to_pylist()
    assert sorted(r["ref"] for r in stored) == ["A1", "A3"]
    assert {r["ref"]: r["opened"] for r in stored}["A3"] == datetime(2025, 10, 26, 1, 30,
                                                                     tzinfo=UTC)


@pytest.mark.parametrize(("opened", "closed", "what", "example"), CLOCK_CHANGES)
def test_an_excel_time_naming_two_instants_or_none_is_refused(tmp_path, opened, closed, what,
                                                            example):
    """A date-time cell (and text in a cell) is UK wall-clock time, as in a CSV file."""
    xlsxwriter = pytest.importorskip("xlsxwriter")
    folder = _project(tmp_path / "p")
    path = folder / "incidents.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, ["ref", "Created", "Attended"])
    sheet.write(1, 0, "A1")
    sheet.write_datetime(1, 1, datetime(2025, 10, 1, 9), stamp)
    sheet.write_datetime(1, 2, datetime(2025, 10, 1, 9, 10), stamp)
    sheet.write(2, 0, "A2")
    sheet.write_datetime(2, 1, datetime.fromisoformat(opened), stamp)
    sheet.write_string(2, 2, closed)
    book.close()
    done = _kpi(folder, "ingest", "incidents", path)
    _refused(done, "incidents.xlsx, sheet 'Sheet1'", 3, "Created", opened, what, example)


@pytest.mark.parametrize(("opened", "closed", "what", "example"), CLOCK_CHANGES)
def test_a_naive_parquet_timestamp_naming_two_instants_or_none_is_refused(
        tmp_path, opened, closed, what, example):
    folder = _project(tmp_path / "p")
    path = folder / "incidents.parquet"
    pl.DataFrame({"ref": ["A1", "A2"],
                  "Created": [datetime(2025, 10, 1, 9), datetime.fromisoformat(opened)],
                  "Attended": [datetime(2025, 10, 1, 9, 10), datetime.fromisoformat(closed)]}
                 ).write_parquet(path)
    done = _kpi(folder, "ingest", "incidents", path)
    # A Parquet file has no header row: its second row is row 2.
    _refused(done, "incidents.parquet", 2, "Created", opened, what, example)


def test_a_parquet_instant_is_its_instant(tmp_path):
    """A time-zone-aware Parquet timestamp names one instant, even in the hour the clocks go
    back: 00:30 and 01:15 UTC on 26 October 2025 are 45 minutes apart."""
    folder = _project(tmp_path / "p")
    path = folder / "incidents.parquet"
    rows = [r.split(",") for r in _plain_rows()]
    opened = [datetime.fromisoformat(r[1]).replace(tzinfo=UK) for r in rows]
    closed = [datetime.fromisoformat(r[2]).replace(tzinfo=UK) for r in rows]
    pl.DataFrame({"ref": [r[0] for r in rows] + ["B1"],
                  "Created": [*opened, datetime(2025, 10, 26, 0, 30, tzinfo=UTC)],
                  "Attended": [*closed, datetime(2025, 10, 26, 1, 15, tzinfo=UTC)]},
                 schema={"ref": pl.String, "Created": pl.Datetime("us", "UTC"),
                         "Attended": pl.Datetime("ms", "America/New_York")}).write_parquet(path)
    done = _kpi(folder, "ingest", "incidents", path)
    assert done.returncode == 0, done.stderr
    got = _current(folder)
    assert got["total"]["value"] == 12 * 600 + 2700
    assert got["backwards"]["value"] == 0


@pytest.mark.parametrize("zone", ["+05:30", "Z", "-0330"])
def test_a_parquet_instant_of_an_offset_polars_names_no_zone_for_is_its_instant(tmp_path,
                                                                                 zone):
    """A Parquet timestamp whose zone is an offset ('+05:30', 'Z') names its instants as any
    other: it was refused as a damaged file ("unable to parse time zone"), its hint sending
    the analyst to export again what would come out the same. The same rows as UTC load to
    the same figures."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    got = {}
    for tz in ("UTC", zone):
        folder = _project(tmp_path / tz.replace(":", ""))
        path = folder / "incidents.parquet"
        rows = [r.split(",") for r in _plain_rows()]
        instants = [[int(datetime.fromisoformat(r[i]).replace(tzinfo=UK).timestamp()
                         * 1_000_000) for r in rows] for i in (1, 2)]
        pq.write_table(pa.table({
            "ref": [r[0] for r in rows],
            "Created": pa.array(instants[0], pa.timestamp("us", tz)),
            "Attended": pa.array(instants[1], pa.timestamp("us", tz))}), path)
        done = _kpi(folder, "ingest", "incidents", path)
        assert done.returncode == 0, done.stderr
        got[tz] = _current(folder)
    assert got[zone] == got["UTC"] and got["UTC"]["total"]["value"] == 12 * 600


def test_a_sql_source_time_naming_two_instants_is_refused(tmp_path):
    pytest.importorskip("adbc_driver_sqlite", reason="the sql extra is not installed")
    db = tmp_path / "warehouse.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE incidents (ref TEXT, created TEXT, attended TEXT)")
        conn.executemany("INSERT INTO incidents VALUES (?, ?, ?)",
                         [("A1", "2025-10-01 09:00:00", "2025-10-01 09:10:00"),
                          ("A2", "2025-10-26 01:30:00", "2025-10-26 02:30:00")])
    query = "SELECT ref, created AS Created, attended AS Attended FROM incidents ORDER BY ref"
    folder = _project(tmp_path / "p", source=f'source = {{ uri_env = "KPI_TEST_WAREHOUSE", '
                                             f'query = "{query}" }}')
    done = inprocess.run(["ingest", "incidents", "--from-source"], cwd=folder,
                         env={**_env(), "KPI_NO_CACHE": "1",
                              "KPI_TEST_WAREHOUSE": f"sqlite:///{db}"})
    assert done.returncode == 3, done.stderr
    first = done.stderr.splitlines()[0]
    assert "row 2, column 'Created'" in first and "'2025-10-26 01:30:00'" in first
    assert "2025-10-26T01:30:00+01:00" in first


# ---------------------------------------------------------------------------------------------
# A table stored by the kpi before this change: UK wall-clock times without a zone
# (Delta's timestamp_ntz), written as its writer wrote them.

def old_store(folder: Path, rows: list[str]) -> Path:
    """The incidents table as the earlier kpi wrote it from these rows ('ref,opened,closed'):
    each time as written (naive), its month that wall-clock time's, in one commit (version 0)."""
    from deltalake import write_deltalake

    cells = [r.split(",") for r in rows]

    def wall(text: str) -> datetime | None:
        return datetime.fromisoformat(text) if text else None

    frame = pl.DataFrame({"ref": [c[0] for c in cells],
                          "opened": [wall(c[1]) for c in cells],
                          "closed": [wall(c[2]) for c in cells]},
                         schema={"ref": pl.String, "opened": pl.Datetime("us"),
                                 "closed": pl.Datetime("us")})
    frame = frame.with_columns(pl.col("opened").dt.strftime("%Y-%m").alias("month"))
    path = folder / "data" / "incidents"
    write_deltalake(str(path), frame.to_arrow(), partition_by=["month"])
    return path


def _old_store(folder: Path) -> Path:
    """The incidents table as the earlier kpi stored it: each time its UK wall-clock time
    (an offset dropped), naive, so the October incident reads 01:30 to 01:15."""
    return old_store(folder, [*_plain_rows(), "B1,2025-10-26 01:30,2025-10-26 01:15"])


def test_an_old_wall_clock_store_gives_counts_but_never_a_duration(tmp_path):
    from deltalake import DeltaTable

    folder = _project(tmp_path / "p", durations=False)
    path = _old_store(folder)
    assert {f.name: f.type.type for f in DeltaTable(str(path)).schema().fields}["opened"] \
        == "timestamp_ntz"
    # Months and counts read no time: they are worked out as before (25 incidents; 13 in the
    # year to October 2025).
    got = _current(folder)
    assert got["incidents"]["value"] == 13
    done = _kpi(folder, "datasets")
    assert done.returncode == 0, done.stderr
    # A duration, an epoch and a comparison of times are refused, in one line with the hint.
    for kpi_keys in ('kind = "sum"\nvalue = "closed - opened"\nunit = "seconds"',
                     'kind = "mean"\nvalue = "DATE_PART(\'epoch\', closed) - '
                     'DATE_PART(\'epoch\', opened)"\nunit = "seconds"',
                     'kind = "count"\nfilter = "closed - opened < INTERVAL \'0 minutes\'"'):
        toml = PROJECT.format(source="") + (
            f'\n[[kpis]]\nid = "d"\ntitle = "D"\npriority = "p"\ndataset = "incidents"\n'
            f'{kpi_keys}\nbetter = "lower"\n')
        (folder / "kpi.toml").write_text(toml, encoding="utf-8")
        done = _kpi(folder, "summary", "--period", "2025-10", "--vs", "yoy", "--format",
                    "json")
        assert done.returncode == 3, (kpi_keys, done.stdout, done.stderr)
        assert done.stdout == ""
        assert "Traceback" not in done.stderr
        lines = done.stderr.splitlines()
        assert "dataset 'incidents' holds column" in lines[0]
        assert "UK wall-clock time" in lines[0]
        assert "kpi ingest incidents" in done.stderr
        assert "kpi upgrade incidents" in done.stderr


def test_an_old_store_is_upgraded_in_place_unless_it_holds_the_repeated_hour(tmp_path):
    """`kpi upgrade` (docs/cli.md): the earlier kpi's table holds B1 at 01:30 and 01:15 on 26
    October, UK times the clocks show twice, so the upgrade is refused, nothing written. With
    B1 loaded again from an extract with offsets (its months moved aside first), the upgrade
    of the rest gives the figures of a fresh load of the same extracts."""
    from deltalake import DeltaTable

    folder = _project(tmp_path / "p")
    path = _old_store(folder)
    before = sorted(p.relative_to(path) for p in path.rglob("*"))
    done = _kpi(folder, "upgrade", "incidents")
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    first = done.stderr.splitlines()[0]
    assert ("dataset 'incidents' cannot be upgraded: 1 stored row holds a wall-clock time the "
            "UK clocks show twice or never, first in 2025-10, row 2 of the month, column "
            "'opened' ('2025-10-26 01:30')") in first
    assert "nothing was written" in done.stderr and "kpi ingest incidents" in done.stderr
    assert sorted(p.relative_to(path) for p in path.rglob("*")) == before
    assert DeltaTable(str(path)).version() == 0
    # The plain rows alone, as the earlier kpi stored them: upgraded, then B1 loaded with its
    # offsets, the figures are a fresh load's of the same extracts (12 x 600 s + 2,700 s).
    plain = tmp_path / "plain"
    _project(plain)
    _old_store(plain)
    table = DeltaTable(str(plain / "data" / "incidents"))
    table.delete("ref = 'B1'")
    done = _kpi(plain, "upgrade")
    assert done.returncode == 0, done.stderr
    october = ["B1,2025-10-26T01:30:00+01:00,2025-10-26T01:15:00+00:00",
               *[r for r in _plain_rows() if r.startswith("P23,")]]
    assert _kpi(plain, "ingest", "incidents", _extract(plain, october, "october.csv")
                ).returncode == 0
    fresh = _project(tmp_path / "fresh")
    assert _kpi(fresh, "ingest", "incidents", _extract(
        fresh, [*_plain_rows(), october[0]])).returncode == 0
    assert _current(plain) == _current(fresh)
    assert _current(plain)["total"]["value"] == 12 * 600 + 2700


def test_a_load_into_an_old_wall_clock_store_is_refused_and_writes_nothing(tmp_path):
    from deltalake import DeltaTable

    folder = _project(tmp_path / "p")
    path = _old_store(folder)
    before = sorted(p.relative_to(path) for p in path.rglob("*"))
    version = DeltaTable(str(path)).version()
    extract = _extract(folder, ["N1,2025-11-03 09:00,2025-11-03 09:10"], "november.csv")
    done = _kpi(folder, "ingest", "incidents", extract)
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    assert "UK wall-clock time" in done.stderr.splitlines()[0]
    assert "nothing was written" in done.stderr
    assert sorted(p.relative_to(path) for p in path.rglob("*")) == before
    assert DeltaTable(str(path)).version() == version
    # Moved aside and loaded again, it gives the instants' figures (in a process of its own:
    # this one has the table moved aside open, at the version the new one starts at).
    path.rename(folder / "incidents-wall-clock")
    rows = [*_plain_rows(), "B1,2025-10-26T01:30:00+01:00,2025-10-26T01:15:00+00:00"]
    done = subprocess.run([sys.executable, "-m", "kpi", "ingest", "incidents",
                           str(_extract(folder, rows))], cwd=folder, capture_output=True,
                          text=True, env={**_env(), "KPI_NO_CACHE": "1"}, check=False)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([sys.executable, "-m", "kpi", "summary", "--period", "2025-10",
                           "--vs", "yoy", "--format", "json"], cwd=folder, capture_output=True,
                          text=True, env={**_env(), "KPI_NO_CACHE": "1"}, check=False)
    assert done.returncode == 0, done.stderr
    got = {k["id"]: k["current"] for k in json.loads(done.stdout)["kpis"]}
    assert got["total"]["value"] == 12 * 600 + 2700


def test_duckdb_reads_the_stored_instants(tmp_path):
    """docs/excel-and-power-bi.md: a warehouse reads the table with DuckDB's Delta extension;
    a datetime column is a TIMESTAMPTZ holding the instant, and the file statistics (bounds in
    UTC) skip no row a filter on it keeps."""
    from test_other_engines import _delta_connection

    connection = _delta_connection()
    if connection is None:
        pytest.skip("DuckDB's delta extension is not installed")
    folder = _project(tmp_path / "p")
    rows = [*_plain_rows(), "B1,2025-10-26T00:30:00+00:00,2025-10-26T01:15:00+00:00",
            "F1,2025-03-30 00:30,2025-03-30 02:30"]
    assert _kpi(folder, "ingest", "incidents", _extract(folder, rows)).returncode == 0
    table = (folder / "data" / "incidents").as_posix()
    got = dict(connection.execute(
        f"SELECT ref, epoch(closed) - epoch(opened) FROM delta_scan('{table}') "
        "WHERE typeof(opened) = 'TIMESTAMP WITH TIME ZONE'").fetchall())
    assert got == {**{f"P{n}": 600.0 for n in range(24)}, "B1": 2700.0, "F1": 3600.0}
    late = connection.execute(
        f"SELECT list(ref ORDER BY ref) FROM delta_scan('{table}') "
        "WHERE opened >= TIMESTAMPTZ '2025-10-26 00:30:00+00'").fetchall()[0][0]
    assert late == ["B1"]


@pytest.mark.parametrize(("expression", "says"), [
    ("opened::date = DATE '2025-07-01'", "DATE(STRFTIME(opened, '%Y-%m-%d'))"),
    ("CAST(opened AS TIME) < '08:00'", "DATE_PART('hour', opened)"),
    ("opened >= DATE '2025-07-01'", "STRFTIME(opened, '%Y-%m-%d %H:%M')"),
    ("opened BETWEEN DATE '2025-07-01' AND DATE '2025-07-31'", "DATE(STRFTIME(opened"),
])
def test_a_datetime_polars_would_take_in_utc_is_refused(tmp_path, expression, says):
    """00:30 BST on 1 July is 23:30 UTC on 30 June: Polars casts an instant to a date, or
    compares it with one, in UTC, so each of these would count such a row on the wrong day."""
    folder = _project(tmp_path / "p", durations=False)
    (folder / "kpi.toml").write_text(
        PROJECT.format(source="") + f'\n[[kpis]]\nid = "d"\ntitle = "D"\npriority = "p"\n'
        f'dataset = "incidents"\nkind = "count"\nfilter = "{expression}"\nbetter = "lower"\n',
        encoding="utf-8")
    done = _kpi(folder, "catalogue")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "which Polars takes in UTC" in done.stderr and says in done.stderr


def test_the_uk_date_and_time_written_out_count_the_right_rows(tmp_path):
    """The readings the refusals give: a row at 00:30 BST on 1 July (23:30 UTC on 30 June)
    is on 1 July, and at 00:30 of the UK clock."""
    folder = _project(tmp_path / "p", durations=False)
    kpis = {"july": "DATE(STRFTIME(opened, '%Y-%m-%d')) >= DATE '2025-07-01'",
            "early": "STRFTIME(opened, '%Y-%m-%d %H:%M') < '2025-07-01 01:00'",
            "night": "DATE_PART('hour', opened) = 0"}
    (folder / "kpi.toml").write_text(PROJECT.format(source="") + "".join(
        f'\n[[kpis]]\nid = "{k}"\ntitle = "{k}"\npriority = "p"\ndataset = "incidents"\n'
        f'kind = "count"\nfilter = "{f}"\nbetter = "lower"\n' for k, f in kpis.items()),
        encoding="utf-8")
    rows = [*_plain_rows(), "J1,2025-06-30T23:30:00+00:00,"]
    assert _kpi(folder, "ingest", "incidents", _extract(folder, rows)).returncode == 0
    got = _current(folder)
    # In November 2024 to October 2025: J1 and the plain rows of July to October 2025 (10:00).
    assert got["july"]["value"] == 1 + 4
    assert got["early"]["value"] == 1 + 8  # J1 and the plain rows of November to June
    assert got["night"]["value"] == 1


DAYS = """[project]
name = "Days"
baseline = "2024-10"

[datasets.cases]
date = "reported"
[datasets.cases.columns]
reported = { type = "date", from = ["Reported"] }
closed = { type = "datetime", from = ["Closed"] }

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "days"
title = "Days to close"
priority = "p"
dataset = "cases"
kind = "mean"
value = "VALUE"
unit = "days"
better = "lower"
"""


def test_a_datetime_less_a_date_is_refused_as_two_readings_with_the_days_between_written(
        tmp_path):
    """`closed - reported`, a datetime less a date, reads two ways (the time since the date's
    midnight, or the days between the two dates), and Polars would take the date's midnight in
    UTC: refused, naming both readings, with the days between their UK dates written out,
    which counts by the UK clock: closed at 00:30 BST on 1 July (23:30 UTC on 30 June) of a
    case reported on 30 June is one day (Polars' UTC date would give none), as is noon on 3
    June of one reported on 2 June (a mean of 1.0 day, by hand)."""
    folder = tmp_path / "days"
    folder.mkdir()
    (folder / "kpi.toml").write_text(DAYS.replace("VALUE", "closed - reported"),
                                     encoding="utf-8")
    done = _kpi(folder, "catalogue")
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert ("takes the date reported and the datetime closed one from the other, which reads "
            "two ways") in done.stderr
    written = "DATE(STRFTIME(closed, '%Y-%m-%d')) - reported"
    assert "write DATE(STRFTIME(closed, '%Y-%m-%d')) in place of closed" in done.stderr
    (folder / "kpi.toml").write_text(DAYS.replace("VALUE", written), encoding="utf-8")
    (folder / "cases.csv").write_text(
        "Reported,Closed\n2025-06-30,2025-07-01 00:30\n2025-06-02,2025-06-03 12:00\n",
        encoding="utf-8")
    assert _kpi(folder, "ingest", "cases", "cases.csv").returncode == 0
    shown = _kpi(folder, "show", "days", "--period", "2025-06", "--vs", "previous",
                 "--format", "json")
    assert shown.returncode == 0, shown.stderr
    trend = {row["month"]: row["value"] for row in json.loads(shown.stdout)["trend"]}
    # Reported in June (the dataset's month is the date's): 1 day and 1 day.
    assert trend["2025-06"] == 1.0


UK_MIDNIGHT = "DATE_PART('epoch', CAST(reported AS TIMESTAMP) AT TIME ZONE 'Europe/London')"


@pytest.mark.parametrize(("value", "derived"), [
    # the UTC midnight the refusal of the epoch of a date once said to write
    ("DATE_PART('epoch', closed) - DATE_PART('epoch', CAST(reported AS TIMESTAMP))", ""),
    ("DATE_PART('epoch', closed) - DATE_PART('epoch', reported)", ""),
    ("EXTRACT(EPOCH FROM closed) - EXTRACT(EPOCH FROM CAST(reported AS TIMESTAMP))", ""),
    ("GREATEST(DATE_PART('epoch', closed) - DATE_PART('epoch', CAST(reported AS TIMESTAMP)), 0)",
     ""),
    # through derived columns: the date's epoch, the datetime's epoch, the date as a time
    ("DATE_PART('epoch', closed) - reported_s",
     "reported_s = \"DATE_PART('epoch', CAST(reported AS TIMESTAMP))\""),
    ("closed_s - DATE_PART('epoch', CAST(reported AS TIMESTAMP))",
     "closed_s = \"DATE_PART('epoch', closed)\""),
    ("DATE_PART('epoch', closed) - DATE_PART('epoch', reported_at)",
     "reported_at = \"CAST(reported AS TIMESTAMP)\""),
])
def test_the_epoch_of_a_uk_time_against_a_dates_utc_midnight_is_refused(tmp_path, value,
                                                                          derived):
    """The epoch of a date's midnight cast to a timestamp counts from UTC's midnight, an hour
    after the UK's all summer: set against the epoch of an instant (a datetime column), every
    BST month read 8:00:00 for arrests at 09:00 UK time on the day reported, and a special
    cause of improvement, exit 0. Refused, however it is reached, in one line naming the UK
    midnight to write instead."""
    folder = tmp_path / "days"
    folder.mkdir()
    toml = DAYS.replace("VALUE", value).replace('unit = "days"', 'unit = "seconds"')
    if derived:
        toml = toml.replace("[[priorities]]", f"[datasets.cases.derived]\n{derived}\n\n"
                            "[[priorities]]", 1)
    (folder / "kpi.toml").write_text(toml, encoding="utf-8")
    done = _kpi(folder, "catalogue")
    assert done.returncode == 3 and "Traceback" not in done.stderr, done.stderr
    assert "of an instant, against" in done.stderr
    assert "whose epoch Polars counts from a UTC clock (an hour out in summer)" in done.stderr
    written = ("DATE_PART('epoch', reported_at AT TIME ZONE 'Europe/London')"
               if "reported_at" in value else UK_MIDNIGHT)
    assert f"for the seconds of its UK time write {written}" in done.stderr, done.stderr


def test_the_epoch_of_a_uk_time_less_a_dates_uk_midnight_is_the_time_since_it(tmp_path):
    """What the refusals say to write, the epoch of the date's midnight as the UK's clock shows
    it, gives the seconds since the UK midnight of the date, in summer and winter and across
    both changes of the clocks (zoneinfo below; by hand: 09:00 BST on 10 July is 32,400 s after
    midnight, as is 09:00 GMT on 10 January; 09:00 BST on 30 March 2025, the clocks having gone
    forward at 01:00 GMT, is 8 hours after midnight, 28,800 s; 09:00 GMT on 26 October, back at
    02:00 BST, is 10 hours, 36,000 s)."""
    folder = tmp_path / "days"
    folder.mkdir()
    value = f"DATE_PART('epoch', closed) - {UK_MIDNIGHT}"
    (folder / "kpi.toml").write_text(
        DAYS.replace("VALUE", value).replace('unit = "days"', 'unit = "seconds"'),
        encoding="utf-8")
    rows = [("2025-07-10", "2025-07-10 09:00"), ("2025-01-10", "2025-01-10 09:00"),
            ("2025-03-30", "2025-03-30 09:00"), ("2025-10-26", "2025-10-26 09:00")]
    (folder / "cases.csv").write_text(
        "Reported,Closed\n" + "".join(f"{r},{c}\n" for r, c in rows), encoding="utf-8")
    assert _kpi(folder, "ingest", "cases", "cases.csv").returncode == 0
    shown = _kpi(folder, "show", "days", "--period", "2025-10", "--months", "12",
                 "--format", "json")
    assert shown.returncode == 0, shown.stderr
    trend = {row["month"]: row["value"] for row in json.loads(shown.stdout)["trend"]}
    for reported, closed in rows:
        day = datetime.fromisoformat(reported)
        # (of the instants: Python subtracts two times of one zone by their wall clocks)
        since = (datetime.fromisoformat(closed).replace(tzinfo=UK).astimezone(UTC)
                 - day.replace(tzinfo=UK).astimezone(UTC)).total_seconds()
        assert trend[reported[:7]] == since, (reported, trend)
    assert [trend[r[:7]] for r, _ in rows] == [32400, 32400, 28800, 36000]


# A dataset of UK times, a date and a number (`check` reads the columns as kpi.toml declares
# them and as the store holds them).
ZONED = (("opened", pl.Datetime("us", "Europe/London")),
         ("closed_at", pl.Datetime("us", "Europe/London")), ("closed_on", pl.Date),
         ("days", pl.Int64), ("b", pl.Boolean))
ZONED_TYPES = {"opened": "datetime", "closed_at": "datetime", "closed_on": "date",
               "days": "int", "b": "bool"}


@pytest.mark.parametrize(("expression", "says"), [
    ("COALESCE(closed_at, closed_on) > opened", "as one value (COALESCE)"),
    ("EXTRACT(HOUR FROM COALESCE(closed_at, closed_on)) = 0", "as one value (COALESCE)"),
    ("CASE WHEN b THEN closed_at ELSE closed_on END > opened", "as one value (CASE)"),
    ("GREATEST(closed_at, closed_on) > opened", "as one value (GREATEST)"),
    ("LEAST(closed_on, closed_at) IS NULL", "as one value (LEAST)"),
    ("IF(b, closed_on, closed_at) > opened", "as one value (IF)"),
    ("COALESCE(closed_at, TIMESTAMP '2025-07-01 00:30') > opened", "as one value (COALESCE)"),
    ("NULLIF(closed_at, closed_on) IS NULL", "which Polars takes in UTC"),
    ("CASE closed_on WHEN closed_at THEN 1 ELSE 0 END = 1", "which Polars takes in UTC"),
])
def test_a_date_made_one_value_with_a_uk_time_is_refused_wherever_it_appears(expression,
                                                                              says):
    """A date brought to one type with a UK time (COALESCE, CASE, GREATEST, LEAST, IF, NULLIF)
    is its midnight in UTC in Polars and its UK midnight in DuckDB and PostgreSQL, so
    `COALESCE(closed_at, closed_on) > created_at` counted 13 where DuckDB counts 9, and the
    hour of it 0 where DuckDB counts 4: refused as `closed_on > created_at` is, with the UK
    date and the seconds since 1970 to write."""
    with pytest.raises(ExpressionProblem, match=re.escape(says)) as refused:
        check(expression, "rows", ZONED_TYPES, ZONED)
    assert "STRFTIME(closed_at, '%Y-%m-%d" in str(refused.value)


REPRO_PROJECT = """[project]
name = "Repro"

[[priorities]]
id = "p"
title = "P"

[datasets.incidents]
date = "created_at"

[datasets.incidents.columns]
ref = "str"
created_at = "datetime"
resolved_at = { type = "datetime", required = false }
closed_at = { type = "datetime", required = false }
closed_on = { type = "date", required = false }
sla_days = { type = "int", required = false }
"""


def _repro(folder: Path, kpis: dict[str, str], rows: list[str], derived: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kpi.toml").write_text(
        REPRO_PROJECT + (f"\n[datasets.incidents.derived]\n{derived}\n" if derived else "")
        + "".join(f'\n[[kpis]]\nid = "{k}"\ntitle = "{k}"\npriority = "p"\nkind = "count"\n'
                  f'dataset = "incidents"\nfilter = "{f}"\n' for k, f in kpis.items()),
        encoding="utf-8")
    (folder / "incidents.csv").write_text(
        "ref,created_at,resolved_at,closed_at,closed_on,sla_days\n" + "\n".join(rows) + "\n",
        encoding="utf-8")
    return folder


def _duckdb_counts(folder: Path, kpis: dict[str, str]) -> dict[str, int]:
    """Each filter's count in DuckDB, the times read as UK time (TimeZone Europe/London)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'Europe/London'")
    con.execute(f"""CREATE TABLE incidents AS SELECT ref, created_at::TIMESTAMPTZ AS created_at,
        NULLIF(resolved_at, '')::TIMESTAMPTZ AS resolved_at,
        NULLIF(closed_at, '')::TIMESTAMPTZ AS closed_at, NULLIF(closed_on, '')::DATE AS closed_on,
        NULLIF(sla_days, '')::BIGINT AS sla_days
        FROM read_csv('{(folder / "incidents.csv").as_posix()}', all_varchar = true)""")
    return {k: con.execute(f"SELECT count(*) FILTER (WHERE {f}) FROM incidents").fetchone()[0]
            for k, f in kpis.items()}


# Nine incidents, October 2024 to June 2025, closed two hours after they were opened, and four
# in summer closed on a date (no time) after being opened in the first hour of that day.
CLOSED_ON_A_DATE = [
    *(f"A{n},{y}-{m:02d}-10 10:00,,{y}-{m:02d}-10 12:00,," for n, (y, m) in enumerate(
        [(2024, 10), (2024, 11), (2024, 12), (2025, 1), (2025, 2), (2025, 3), (2025, 4),
         (2025, 5), (2025, 6)])),
    "B1,2025-07-01 00:20,,,2025-07-01,", "B2,2025-07-15 00:40,,,2025-07-15,",
    "B3,2025-08-01 00:10,,,2025-08-01,", "B4,2025-09-01 00:30,,,2025-09-01,"]


def test_a_date_made_one_value_with_a_uk_time_is_refused_in_a_derived_column_too(tmp_path):
    """A derived column `closed = "COALESCE(closed_at, closed_on)"` (whose `closed >
    created_at` would have counted 13, each B's date taken as its UTC midnight, 01:00 BST,
    after the time opened; DuckDB 9) is refused at load, naming the derived column. What the
    refusal says to write counts as DuckDB does, by hand: by UK date, none closed on a later
    day than opened, all 13 on the same day or later; by the seconds since 1970, the nine
    closed at noon, not the four whose UK midnight is before the time opened."""
    folder = _repro(tmp_path / "derived", {"after": "closed > created_at"}, CLOSED_ON_A_DATE,
                    derived='closed = "COALESCE(closed_at, closed_on)"')
    done = _kpi(folder, "catalogue")
    assert done.returncode == 3 and "Traceback" not in done.stderr, done.stderr
    assert "derived.closed" in done.stderr and "as one value (COALESCE)" in done.stderr
    uk_day = "DATE(STRFTIME(created_at, '%Y-%m-%d'))"
    kpis = {"after": f"COALESCE(DATE(STRFTIME(closed_at, '%Y-%m-%d')), closed_on) > {uk_day}",
            "same_day": f"COALESCE(DATE(STRFTIME(closed_at, '%Y-%m-%d')), closed_on) >= "
                        f"{uk_day}",
            "later_in_seconds": "COALESCE(DATE_PART('epoch', closed_at), DATE_PART('epoch', "
                                "CAST(closed_on AS TIMESTAMP) AT TIME ZONE 'Europe/London')) "
                                "> DATE_PART('epoch', created_at)"}
    folder = _repro(tmp_path / "written", kpis, CLOSED_ON_A_DATE)
    assert _kpi(folder, "ingest", "incidents", "incidents.csv").returncode == 0
    done = _kpi(folder, "summary", "--period", "2025-09", "--format", "json")
    assert done.returncode == 0, done.stderr
    got = {k["id"]: k["current"]["value"] for k in json.loads(done.stdout)["kpis"]}
    # by hand: the UK midnight of each B date is before the time opened, the noon after it
    assert got == {"after": 0, "same_day": 13, "later_in_seconds": 9}
    assert _duckdb_counts(folder, kpis) == got


@pytest.mark.parametrize("expression", [
    "closed_at <= opened + days * INTERVAL '1 day'",
    "closed_at <= opened + (INTERVAL '1 day')",
    "closed_at <= INTERVAL '1 day' + opened",
    "closed_at <= opened + INTERVAL '1 day' * 2",
    "closed_at <= opened - (INTERVAL '1 week')",
    "closed_at <= opened + (closed_at - opened)",
    "closed_at <= opened + (closed_on - DATE '2025-01-01')",
])
def test_a_computed_interval_of_days_added_to_a_uk_time_is_refused(expression):
    """SQL adds days to a UK time as calendar days (the same clock time, 23 hours on across
    the spring change), and Polars does so only for an INTERVAL written out after the time:
    `created_at + sla_days * INTERVAL '1 day'` and `created_at + (INTERVAL '1 day')` added
    24-hour days (13 and 12 resolved in time, DuckDB 11). Refused, with what to write."""
    with pytest.raises(ExpressionProblem, match=re.escape("which kpi adds as calendar days")):
        check(expression, "rows", ZONED_TYPES, ZONED)


@pytest.mark.parametrize("expression", [
    "closed_at <= opened + INTERVAL '1 day'", "closed_at <= opened - INTERVAL '2 weeks'",
    "closed_at <= opened + days * INTERVAL '1 hour'",
    "closed_at <= opened + (INTERVAL '90 minutes')", "closed_at <= opened + INTERVAL '24 hours'",
])
def test_an_interval_written_out_or_of_hours_added_to_a_uk_time_is_read(expression):
    assert check(expression, "rows", ZONED_TYPES, ZONED)


def test_a_uk_time_plus_days_is_read_by_the_uk_clock_as_duckdb_reads_it(tmp_path):
    """Days added to a UK time keep its clock time, 23 hours on across the spring change,
    and a clock time the change skips (01:30 on 30 March 2025, a day after 01:30 on the
    29th) is read as 02:30 BST, an hour past it, as DuckDB and PostgreSQL read it (kpi gave
    00:30 GMT: 11 resolved within a day where DuckDB counts 13). By hand: the eleven plain
    rows within two hours; S1 and S2, opened at 01:30 and 01:10 GMT on the 29th, resolved
    at 00:45 and 00:50 GMT on the 30th, before 02:30 and 02:10 BST: 13. And the sum of days
    of the SLA written per row is refused, not counted in 24-hour days."""
    rows = [*(f"A{n},{y}-{m:02d}-10 10:00,{y}-{m:02d}-10 12:00,,,1"
              for n, (y, m) in enumerate([(2024, 10), (2024, 11), (2024, 12), (2025, 1),
                                          (2025, 2), (2025, 4), (2025, 5), (2025, 6),
                                          (2025, 7), (2025, 8), (2025, 9)])),
            "S1,2025-03-29 01:30,2025-03-30 00:45,,,1", "S2,2025-03-29 01:10,2025-03-30 00:50,,,1"]
    kpis = {"within_a_day": "resolved_at <= created_at + INTERVAL '1 day'",
            "within_a_day_back": "resolved_at - INTERVAL '1 day' <= created_at"}
    folder = _repro(tmp_path / "gap", kpis, rows)
    assert _kpi(folder, "ingest", "incidents", "incidents.csv").returncode == 0
    done = _kpi(folder, "summary", "--period", "2025-09", "--format", "json")
    assert done.returncode == 0, done.stderr
    got = {k["id"]: k["current"]["value"] for k in json.loads(done.stdout)["kpis"]}
    # back from 00:45 GMT on the 30th is 00:45 GMT on the 29th, before both: 11 + 2
    assert got == {"within_a_day": 13, "within_a_day_back": 13}
    assert _duckdb_counts(folder, kpis) == got
    (folder / "kpi.toml").write_text((folder / "kpi.toml").read_text(encoding="utf-8").replace(
        "INTERVAL '1 day'\"", "sla_days * INTERVAL '1 day'\"", 1), encoding="utf-8")
    done = _kpi(folder, "summary", "--period", "2025-09", "--format", "json")
    assert done.returncode == 3 and "KPI 'within_a_day'" in done.stderr, done.stderr


@pytest.mark.parametrize("interval", [
    "1 day", "2 days", "1 week", "6 days", "30 days", "1 month", "2 months", "1 year",
    "1 day 30 minutes", "1 day 2 hours", "1 month 1 day", "5 months 3 days 4 hours",
    "3 hours", "90 minutes"])
@pytest.mark.parametrize("sign", ["+", "-"])
def test_every_uk_time_plus_an_interval_is_duckdbs_instant(interval, sign):
    """Every quarter hour of the days around both changes of the clocks (and of days a month
    or a year from them) plus or minus an INTERVAL written out is the instant DuckDB gives
    (TimeZone Europe/London): the months on the UK clock, then the days, then the hours as
    elapsed time (taken off: the hours first); a clock time the spring change skips read an
    hour on; one the autumn change repeats by the offset the time had, after days, and as
    GMT after months, as DuckDB reads them."""
    import duckdb

    from kpi.expressions import polars_expr

    days = ["2025-03-28", "2025-03-29", "2025-03-30", "2025-03-31", "2025-10-24",
            "2025-10-25", "2025-10-26", "2025-10-27", "2025-01-30", "2025-02-28",
            "2025-08-26", "2025-09-26", "2025-11-26", "2024-10-27", "2025-04-26", "2025-11-02"]
    clock = pl.DataFrame({"t": [datetime.fromisoformat(f"{d} {h:02d}:{m:02d}")
                                for d in days for h in range(24) for m in (0, 15, 30, 45)]})
    earlier = clock.select(pl.col("t").dt.replace_time_zone(
        "Europe/London", ambiguous="earliest", non_existent="null")).drop_nulls()
    later = clock.select(pl.col("t").dt.replace_time_zone(
        "Europe/London", ambiguous="latest", non_existent="null")).drop_nulls()
    frame = pl.concat([earlier, later]).unique().with_row_index("i")
    text = f"t {sign} INTERVAL '{interval}'"
    ours = frame.select(polars_expr(text, ("t",)).dt.epoch("us"))["t"].to_list()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Europe/London'")
    instants = frame.select("i", pl.col("t").dt.epoch("us").alias("us"))  # noqa: F841
    theirs = [r[0] for r in con.execute(
        f"SELECT epoch_us({text}) FROM (SELECT i, make_timestamptz(us) AS t FROM instants) "
        "ORDER BY i").fetchall()]
    assert len(ours) == len(theirs) > 1500
    wrong = [(str(t), (o - d) / 3.6e9) for t, o, d in zip(frame["t"], ours, theirs, strict=True)
             if o != d]
    assert not wrong, wrong[:5]
