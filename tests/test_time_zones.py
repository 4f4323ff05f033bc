"""A dataset's declared `time_zone` (docs/catalogue.md, "Times and the clocks"), and `kpi
upgrade`, which stores a table an earlier kpi wrote as wall-clock times as instants in place
(docs/cli.md; docs/guarantees.md).

Many systems export times without an offset in UTC: for them the hour the UK clocks go back is
not ambiguous, and reading their times as UK time puts them an hour out all summer. Each
figure here is worked out independently of kpi, from the rows, by `zoneinfo` (`_expected`).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import inprocess
import polars as pl
import pytest
from test_instants import DURATIONS, PROJECT, _plain_rows, old_store

UK = ZoneInfo("Europe/London")
PERIOD, WINDOW = "2025-10", ("2024-11", "2025-10")

# Times written without an offset, in the zone the dataset declares; R6 carries its offset.
ROWS = [
    *_plain_rows(),
    # Across the hour the UK clocks go back: 45 minutes in UTC.
    "R1,2025-10-26 00:30,2025-10-26 01:15",
    # In the hour the UK clocks show twice (refused as UK time): 15 minutes in UTC.
    "R2,2025-10-26 01:30,2025-10-26 01:45",
    # In the hour the UK clocks skip (refused as UK time): 40 minutes in UTC.
    "R3,2025-03-30 01:30,2025-03-30 02:10",
    # 23:30 UTC on 30 June is 00:30 BST on 1 July: July's row.
    "R4,2025-06-30 23:30,2025-07-01 00:10",
    # 20:30 in New York on 31 October is 00:30 GMT on 1 November: after the window.
    "R5,2025-10-31 20:30,2025-10-31 21:00",
    # With its offset: the same instant whatever the zone declared (45 minutes).
    "R6,2025-10-26T01:30:00+01:00,2025-10-26T01:15:00+00:00",
    # 22:30 in New York on 31 October 2024 is 02:30 GMT on 1 November 2024: in the window.
    "R7,2024-10-31 22:30,2024-10-31 22:40",
    # Attended before opened, by the instants (a backwards duration): -5 minutes.
    "R8,2025-08-10 10:05,2025-08-10 10:00",
]


def _instant(text: str, zone: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))


def _expected(rows: list[str], zone: str) -> dict[str, float]:
    """The window's figures from the rows by zoneinfo: each row's month is its opening
    instant's UK month; a duration is the difference of the instants."""
    count = 0
    seconds: list[float] = []
    for row in rows:
        _, opened, closed = row.split(",")
        start = _instant(opened, zone)
        if not WINDOW[0] <= start.astimezone(UK).strftime("%Y-%m") <= WINDOW[1]:
            continue
        count += 1
        if closed:
            seconds.append((_instant(closed, zone) - start).total_seconds())
    return {"incidents": count, "total": sum(seconds),
            "backwards": sum(1 for s in seconds if s < 0),
            "within_hour": 100 * sum(1 for s in seconds if s <= 3600) / len(seconds)}


def _project(folder: Path, zone: str | None, source: str = "", unique: bool = False,
             durations: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    keys = (f'time_zone = "{zone}"\n' if zone else "") + ('unique = "ref"\n' if unique else "")
    text = PROJECT.format(source=keys + source) + (DURATIONS if durations else "")
    (folder / "kpi.toml").write_text(text, encoding="utf-8")
    return folder


def _kpi(folder: Path, *args: str, **env: str):
    import os

    return inprocess.run(list(args), cwd=folder,
                         env={**os.environ, "KPI_NO_CACHE": "1", **env})


def _figures(folder: Path, *extra: str) -> dict[str, float]:
    done = _kpi(folder, "summary", "--period", PERIOD, "--vs", "yoy", "--format", "json", *extra)
    assert done.returncode == 0, done.stderr
    return {k["id"]: k["current"]["value"] for k in json.loads(done.stdout)["kpis"]}


def _csv(folder: Path, rows: list[str], name: str = "incidents.csv") -> Path:
    path = folder / name
    path.write_text("ref,Created,Attended\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _xlsx(folder: Path, rows: list[str]) -> Path:
    """Times without an offset as Excel date-time cells; one with an offset as text."""
    import xlsxwriter

    path = folder / "incidents.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, ["ref", "Created", "Attended"])
    for index, row in enumerate(rows, start=1):
        for column, value in enumerate(row.split(",")):
            if column and "T" not in value:
                sheet.write_datetime(index, column, datetime.fromisoformat(value), stamp)
            else:
                sheet.write_string(index, column, value)
    book.close()
    return path


def _parquet(folder: Path, rows: list[str]) -> Path:
    """Naive Parquet timestamps (a row with an offset has no place in them: left out)."""
    naive = [r.split(",") for r in rows if "T" not in r]
    path = folder / "incidents.parquet"
    pl.DataFrame({"ref": [r[0] for r in naive],
                  "Created": [datetime.fromisoformat(r[1]) for r in naive],
                  "Attended": [datetime.fromisoformat(r[2]) for r in naive]},
                 schema={"ref": pl.String, "Created": pl.Datetime("us"),
                         "Attended": pl.Datetime("us")}).write_parquet(path)
    return path


def _sqlite(folder: Path, rows: list[str]) -> Path:
    db = folder / "warehouse.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE incidents (ref TEXT, created TEXT, attended TEXT)")
        conn.executemany("INSERT INTO incidents VALUES (?, ?, ?)",
                         [tuple(r.split(",")) for r in rows])
    return db


SQL_SOURCE = ('source = { uri_env = "KPI_TEST_WAREHOUSE", query = "SELECT ref, created AS '
              'Created, attended AS Attended FROM incidents ORDER BY ref" }\n')


def _load(folder: Path, reader: str, rows: list[str]):
    if reader == "sql":
        pytest.importorskip("adbc_driver_sqlite", reason="the sql extra is not installed")
        db = _sqlite(folder, rows)
        return _kpi(folder, "ingest", "incidents", "--from-source",
                    KPI_TEST_WAREHOUSE=f"sqlite:///{db}")
    path = {"csv": _csv, "xlsx": _xlsx, "parquet": _parquet}[reader](folder, rows)
    return _kpi(folder, "ingest", "incidents", str(path))


READERS = ["csv", "xlsx", "parquet", "sql"]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_times_without_an_offset_are_read_in_the_declared_zone(tmp_path, reader, zone):
    """Every reader: the month, durations (across October's repeated hour and March's skipped
    one, as UTC), a `within` and a backwards duration are those of the instants the declared
    zone names, as zoneinfo works them out."""
    folder = _project(tmp_path / "p", zone, SQL_SOURCE if reader == "sql" else "")
    done = _load(folder, reader, ROWS)
    assert done.returncode == 0, done.stderr
    rows = [r for r in ROWS if reader != "parquet" or "T" not in r]
    want = _expected(rows, zone)
    got = _figures(folder)
    assert got["incidents"] == want["incidents"]
    assert got["total"] == pytest.approx(want["total"])
    assert got["backwards"] == want["backwards"]
    assert got["within_hour"] == pytest.approx(want["within_hour"])
    if zone == "UTC":
        # By hand: twelve plain rows of 600 s, R1 2,700, R2 900, R3 2,400, R4 2,400, R5
        # 1,800, R6 2,700 (with its offset), R8 -300; R7 (October 2024) is out.
        assert want["total"] == 12 * 600 + 2700 + 900 + 2400 + 2400 + 1800 \
            + (2700 if reader != "parquet" else 0) - 300


def test_the_declared_zone_decides_the_month_and_is_kept_in_provenance(tmp_path):
    """R4 is July's as UTC (00:30 BST on 1 July); the stored instant is 23:30 UTC; `kpi
    history` says which zone the load read times without an offset in."""
    from deltalake import DeltaTable

    from kpi.catalogue import load_project
    from kpi.store import scan

    folder = _project(tmp_path / "p", "UTC")
    assert _kpi(folder, "ingest", "incidents", str(_csv(folder, ROWS))).returncode == 0
    stored = {r["ref"]: r for r in DeltaTable(str(folder / "data" / "incidents"))
              .to_pyarrow_table().to_pylist()}
    assert stored["R4"]["opened"] == datetime(2025, 6, 30, 23, 30, tzinfo=ZoneInfo("UTC"))
    assert stored["R4"]["month"] == "2025-07"
    project = load_project(folder / "kpi.toml")
    read = scan(project, "incidents").filter(pl.col("ref") == "R2").collect()
    # 01:30 UTC, which is 01:30 GMT (the second 01:30 of the UK's clock that night).
    assert read["opened"][0].astimezone(ZoneInfo("UTC")) == datetime(
        2025, 10, 26, 1, 30, tzinfo=ZoneInfo("UTC"))
    assert read["opened"][0].utcoffset() == timedelta(0)
    done = _kpi(folder, "history", "incidents")
    assert "times without an offset read in UTC (closed, opened)" in done.stdout
    done = _kpi(folder, "history", "incidents", "--format", "json")
    assert json.loads(done.stdout)[0]["time_zones"] == {"closed": "UTC", "opened": "UTC"}
    _valid_history(json.loads(done.stdout))
    # The Python face gives the same zones, a struct of column and zone each.
    import kpi

    assert kpi.open(folder).history("incidents")["time_zones"].to_list() == [
        [{"column": "closed", "zone": "UTC"}, {"column": "opened", "zone": "UTC"}]]


def _valid_history(versions: list) -> None:
    """The history JSON, `time_zones` and all, against the schema kpi ships for it."""
    from importlib.resources import files

    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((files("kpi") / "schemas" / "history.json").read_text(encoding="utf-8"))
    jsonschema.validate(versions, schema)


def test_a_columns_own_zone_overrides_the_datasets(tmp_path):
    """`opened` in UTC by the dataset, `closed` in New York by its own key: R1 was attended
    at 05:15 UTC, 4 h 45 min after it was opened."""
    folder = tmp_path / "p"
    folder.mkdir()
    text = PROJECT.format(source='time_zone = "UTC"\n').replace(
        'closed = { type = "datetime", from = ["Attended"], required = false }',
        'closed = { type = "datetime", from = ["Attended"], required = false, '
        'time_zone = "America/New_York" }') + DURATIONS
    (folder / "kpi.toml").write_text(text, encoding="utf-8")
    rows = [*_plain_rows(), "R1,2025-10-26 00:30,2025-10-26 01:15"]
    assert _kpi(folder, "ingest", "incidents", str(_csv(folder, rows))).returncode == 0
    start = datetime(2025, 10, 26, 0, 30, tzinfo=ZoneInfo("UTC"))
    end = datetime(2025, 10, 26, 1, 15, tzinfo=ZoneInfo("America/New_York"))
    assert (end - start).total_seconds() == 4 * 3600 + 45 * 60
    # The plain rows' times were also read each in its own column's zone: 10:00 UTC to
    # 10:10 New York time, 4 h 10 min (or 5 h 10 min in winter).
    plain = sum((_instant(r.split(",")[2], "America/New_York")
                 - _instant(r.split(",")[1], "UTC")).total_seconds()
                for r in _plain_rows()[-12:])
    assert _figures(folder)["total"] == plain + (end - start).total_seconds()


def test_an_offset_and_a_zone_aware_parquet_time_ignore_the_declared_zone(tmp_path):
    """A time with an offset, or a Parquet timestamp with a zone, names its instant: the
    figures are the same under any declared zone."""
    rows = [r.split(",") for r in _plain_rows()]
    frame = pl.DataFrame(
        {"ref": [r[0] for r in rows] + ["B1"],
         "Created": [datetime.fromisoformat(r[1]).replace(tzinfo=UK) for r in rows]
         + [datetime(2025, 10, 26, 0, 30, tzinfo=ZoneInfo("UTC"))],
         "Attended": [datetime.fromisoformat(r[2]).replace(tzinfo=UK) for r in rows]
         + [datetime(2025, 10, 26, 1, 15, tzinfo=ZoneInfo("UTC"))]},
        schema={"ref": pl.String, "Created": pl.Datetime("us", "UTC"),
                "Attended": pl.Datetime("ms", "Asia/Tokyo")})
    got = {}
    for zone in (None, "UTC", "America/New_York"):
        folder = _project(tmp_path / str(zone).replace("/", "-"), zone)
        frame.write_parquet(folder / "incidents.parquet")
        text_rows = [*_plain_rows(), "T1,2025-10-26T00:30:00Z,2025-10-26T01:15:00+00:00"]
        text = _csv(folder, [r.replace("P", "Q", 1) for r in text_rows], "more.csv")
        done = _kpi(folder, "ingest", "incidents", str(folder / "incidents.parquet"), str(text),
                    "--parts")
        assert done.returncode == 0, done.stderr
        got[zone] = _figures(folder)
    assert got[None] == got["UTC"] == got["America/New_York"]
    assert got[None]["total"] == 2 * (12 * 600 + 2700)


@pytest.mark.parametrize("reader", ["csv", "parquet"])
def test_a_time_the_declared_zones_clocks_show_twice_is_refused(tmp_path, reader):
    """New York's clocks go back at 02:00 EDT on 2 November 2025: 01:30 names two instants,
    -04:00 and -05:00. As UK time it would load (nothing ambiguous there)."""
    folder = _project(tmp_path / "p", "America/New_York")
    rows = ["A1,2025-11-01 09:00,2025-11-01 09:10", "A2,2025-11-02 01:30,2025-11-02 03:00"]
    path = _csv(folder, rows) if reader == "csv" else _parquet(folder, rows)
    done = _kpi(folder, "ingest", "incidents", str(path))
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    first = done.stderr.splitlines()[0]
    assert f"row {3 if reader == 'csv' else 2}, column 'Created'" in first
    assert "the clocks of America/New_York show twice" in first
    assert "2025-11-02T01:30:00-04:00 for the first or 2025-11-02T01:30:00-05:00" in first
    assert not (folder / "data" / "incidents" / "_delta_log").exists()
    skipped = ["A1,2025-03-09 09:00,", "A2,2025-03-09 02:30,"]
    done = _kpi(folder, "ingest", "incidents", str(_csv(folder, skipped, "march.csv")))
    assert done.returncode == 3, done.stderr
    first = done.stderr.splitlines()[0]
    assert "a time the clocks of America/New_York skipped" in first
    assert "such as 2025-03-09T02:30:00-05:00" in first


@pytest.mark.parametrize(("keys", "says"), [
    ('time_zone = "Europe/Londres"\n', "key 'time_zone': 'Europe/Londres' is not a time zone"),
    ('time_zone = ""\n', "key 'time_zone': '' is not a time zone"),
    ('time_zone = 1\n', "key 'time_zone': '1' is not a time zone"),
])
def test_an_unknown_zone_is_refused_when_the_catalogue_loads(tmp_path, keys, says):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text(PROJECT.format(source=keys), encoding="utf-8")
    done = _kpi(folder, "catalogue")
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    problems = [line for line in done.stderr.splitlines() if "time_zone" in line]
    assert len(problems) == 1 and says in problems[0], done.stderr
    assert "dataset 'incidents'" in problems[0] and "kpi.toml:7" in problems[0]


def test_a_zone_on_a_column_without_a_time_of_day_is_refused(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    text = PROJECT.format(source="").replace('ref = "str"', 'ref = { type = "str", '
                                             'time_zone = "UTC" }')
    (folder / "kpi.toml").write_text(text, encoding="utf-8")
    done = _kpi(folder, "catalogue")
    assert done.returncode == 3, done.stderr
    assert "key 'columns.ref.time_zone': a str column holds no time of day" in done.stderr


@pytest.mark.parametrize("reader", READERS)
def test_a_date_columns_time_of_day_whose_uk_date_is_another_is_refused(tmp_path, reader):
    """A `date` column holds the date as written, and the dataset's `time_zone` is read only
    in a datetime column. So 23:30 UTC on 30 June written in a date column of a dataset whose
    times are UTC was stored on 30 June and counted in June, exit 0, where a datetime column of
    the same text counts it in July (00:30 BST on 1 July): the same instant's month hung on
    the column's type. Such a time is now refused, naming its UK date; one whose UK date is
    the date written (10:00 UTC) loads on that date, as does any time of a UK dataset."""
    def project(folder: Path, zone: str | None) -> Path:
        folder = _project(folder, zone, SQL_SOURCE if reader == "sql" else "", durations=False)
        text = (folder / "kpi.toml").read_text(encoding="utf-8")
        (folder / "kpi.toml").write_text(text.replace(
            'opened = { type = "datetime"', 'opened = { type = "date"'), encoding="utf-8")
        return folder

    late = "L1,2025-06-30 23:30,2025-06-30 23:40"
    early = "E1,2025-06-30 10:00,2025-06-30 10:10"
    rows = [*_plain_rows(), late, early]
    utc = project(tmp_path / "utc", "UTC")
    done = _load(utc, reader, rows)
    assert done.returncode == 3, done.stdout
    assert "Traceback" not in done.stderr
    assert ("a time in UTC whose UK date is 2025-07-01: declare the column datetime to read it "
            "as that time, or write the date alone") in done.stderr
    assert "found '2025-06-30 10:00" not in done.stderr
    (utc / "warehouse.db").unlink(missing_ok=True)
    done = _load(utc, reader, [*_plain_rows(), early])
    assert done.returncode == 0, done.stderr
    shown = _kpi(utc, "show", "incidents", "--period", "2025-06", "--vs", "previous",
                 "--format", "json")
    assert shown.returncode == 0, shown.stderr
    trend = {row["month"]: row["value"] for row in json.loads(shown.stdout)["trend"]}
    assert trend["2025-06"] == 2  # the plain row of June, and E1
    uk = project(tmp_path / "uk", None)
    assert _load(uk, reader, rows).returncode == 0
    shown = _kpi(uk, "show", "incidents", "--period", "2025-06", "--vs", "previous",
                 "--format", "json")
    trend = {row["month"]: row["value"] for row in json.loads(shown.stdout)["trend"]}
    assert trend["2025-06"] == 3  # 23:30 of the UK clock on 30 June is 30 June


# ---------------------------------------------------------------------------------------------
# kpi upgrade: a table an earlier kpi stored as wall-clock times (Delta's timestamp_ntz).

def _fresh(tmp_path: Path, zone: str | None, rows: list[str]) -> dict[str, float]:
    folder = _project(tmp_path / "fresh", zone)
    done = _kpi(folder, "ingest", "incidents", str(_csv(folder, rows)))
    assert done.returncode == 0, done.stderr
    return _figures(folder)


NAIVE = [r for r in ROWS if "T" not in r]
# As UK time, R1's end and R2 (shown twice) and R3 (skipped) name no one instant: a UK store
# has none of them.
UK_ROWS = [r for r in NAIVE if not r.startswith(("R1,", "R2,", "R3,"))]


@pytest.mark.parametrize(("zone", "rows"), [(None, UK_ROWS), ("UTC", NAIVE),
                                            ("America/New_York", NAIVE)])
def test_an_upgraded_store_gives_the_figures_of_a_fresh_load(tmp_path, zone, rows):
    """Refused before, the durations work after `kpi upgrade`, and equal a fresh load of the
    same extracts (and zoneinfo's figures); rows move to the UK month of their instant (R4 to
    July as UTC, R5 out of the window and R7 into it as New York time); version 0 is kept."""
    from deltalake import DeltaTable

    folder = _project(tmp_path / "p", zone)
    path = old_store(folder, rows)
    refused = _kpi(folder, "summary", "--period", PERIOD, "--format", "json")
    assert refused.returncode == 3 and "kpi upgrade incidents" in refused.stderr
    done = _kpi(folder, "upgrade")
    assert done.returncode == 0, done.stderr
    shown = zone or "Europe/London"
    assert (f"incidents: {len(rows)} rows" in done.stderr
            and f"read opened as {shown} time; closed as {shown} time; version 1"
            in done.stderr), done.stderr
    got = _figures(folder)
    assert got == _fresh(tmp_path, zone, rows)
    want = _expected(rows, zone or "Europe/London")
    assert got["total"] == pytest.approx(want["total"])
    assert got["incidents"] == want["incidents"]
    table = DeltaTable(str(path))
    assert table.version() == 1
    assert {f.name: f.type.type for f in table.schema().fields}["opened"] == "timestamp"
    # Time travel: version 0 is kept as it was stored (R4 in June, by its wall clock), and a
    # duration read from it is refused as before.
    months = {r["ref"]: r["month"] for r in
              DeltaTable(str(path), version=0).to_pyarrow_table().to_pylist()}
    assert months["R4"] == "2025-06"
    old = _kpi(folder, "summary", "--period", PERIOD, "--as-of", "0", "--format", "json")
    assert old.returncode == 3 and "wall-clock time" in old.stderr
    history = _kpi(folder, "history", "incidents")
    assert "upgrade" in history.stdout
    assert f"stored wall-clock times read in {shown} (closed, opened)" in history.stdout
    versions = json.loads(_kpi(folder, "history", "incidents", "--format", "json").stdout)
    assert [v["operation"] for v in versions] == ["write", "upgrade"]
    assert versions[1]["time_zones"] == {"closed": shown, "opened": shown}
    assert versions[1]["rows"] == len(rows) and versions[1]["rejected"] == 0
    _valid_history(versions[1:])  # (version 0, not kpi's commit, has no count of rejects)
    # A second upgrade finds instants and leaves the table alone.
    again = _kpi(folder, "upgrade", "incidents")
    assert again.returncode == 0 and "already stores instants" in again.stderr
    assert DeltaTable(str(path)).version() == 1


@pytest.mark.parametrize("unique", [False, True])
def test_an_upgrade_meeting_a_time_the_zone_shows_twice_or_never_writes_nothing(
        tmp_path, unique):
    """As UK time, R1's end and R2 (the repeated hour) and R3 (the skipped one) name two
    instants or none:
    the whole upgrade is refused, naming the first (by month: March's R3), its column and the
    count, exit 3, the table's files and version unchanged."""
    from deltalake import DeltaTable

    folder = _project(tmp_path / "p", None, unique=unique)
    path = old_store(folder, NAIVE)
    before = sorted(p.relative_to(path) for p in path.rglob("*"))
    done = _kpi(folder, "upgrade", "incidents")
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    first = done.stderr.splitlines()[0]
    row = "id 'R3'" if unique else "row 2 of the month"  # after P16, March's plain row
    assert (f"dataset 'incidents' cannot be upgraded: 3 stored rows hold a wall-clock time "
            f"the UK clocks show twice or never, first in 2025-03 (and 1 other month), {row}, "
            f"column 'opened' ('2025-03-30 01:30')") in first, first
    assert "time_zone" in done.stderr and "nothing was written" in done.stderr
    assert sorted(p.relative_to(path) for p in path.rglob("*")) == before
    assert DeltaTable(str(path)).version() == 0


def test_an_upgrade_stopped_before_its_commit_changes_nothing(tmp_path, monkeypatch):
    """A failure (here, the commit itself) after the month files are written leaves the
    table as it was: the same version and the same files."""
    from deltalake import DeltaTable

    from kpi import store
    from kpi.catalogue import load_project

    folder = _project(tmp_path / "p", "UTC")
    path = old_store(folder, NAIVE)
    before = sorted(p.relative_to(path) for p in path.rglob("*"))

    def fail(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(DeltaTable, "create_write_transaction", fail)
    with pytest.raises(KeyboardInterrupt):
        store.upgrade(load_project(folder / "kpi.toml"), "incidents")
    assert sorted(p.relative_to(path) for p in path.rglob("*")) == before
    assert DeltaTable(str(path)).version() == 0


def test_an_upgrade_reads_a_month_at_a_time(tmp_path, monkeypatch):
    """Memory stays bounded: each read of the stored rows is of one month's files."""
    import pyarrow.parquet as pq

    from kpi import store
    from kpi.catalogue import load_project

    folder = _project(tmp_path / "p", "UTC")
    old_store(folder, NAIVE)
    read: list[str] = []
    real_file, real_table = pq.ParquetFile, pq.read_table

    def opened(source, *args, **kwargs):
        read.append(Path(source).parent.name)
        return real_file(source, *args, **kwargs)

    def whole(source, *args, **kwargs):
        read.append(Path(source).parent.name)
        return real_table(source, *args, **kwargs)

    monkeypatch.setattr(pq, "ParquetFile", opened)
    monkeypatch.setattr(pq, "read_table", whole)
    got = store.upgrade(load_project(folder / "kpi.toml"), "incidents")
    assert got.rows == len(NAIVE)
    assert all(name.startswith("month=") for name in read)
    # Each month's files read once to check and once to write.
    assert len(read) == 2 * len({r.split(",")[1][:7] for r in NAIVE})


def test_upgrade_of_a_table_of_instants_or_of_no_table(tmp_path):
    folder = _project(tmp_path / "p", None)
    done = _kpi(folder, "upgrade")
    assert done.returncode == 0 and "Nothing to upgrade" in done.stderr
    done = _kpi(folder, "upgrade", "incidents")
    assert done.returncode == 0 and "incidents: no data yet" in done.stderr
    assert _kpi(folder, "ingest", "incidents", str(_csv(folder, UK_ROWS))).returncode == 0
    done = _kpi(folder, "upgrade", "incidents")
    assert done.returncode == 0 and "already stores instants; nothing to do" in done.stderr


def test_a_zone_changed_after_loading_reinterprets_no_stored_row(tmp_path):
    """Stored values are instants: declaring another zone changes only later loads."""
    folder = _project(tmp_path / "p", None)
    assert _kpi(folder, "ingest", "incidents", str(_csv(folder, UK_ROWS))).returncode == 0
    before = _figures(folder)
    _project(folder, "UTC")
    assert _figures(folder) == before
    # A later load (of a month after the window) changes no figure of the window either.
    november = ["N1,2025-11-03 09:00,2025-11-03 09:10"]
    assert _kpi(folder, "ingest", "incidents", str(_csv(folder, november, "nov.csv"))
                ).returncode == 0
    assert _figures(folder) == before


def test_duckdb_reads_the_upgraded_instants(tmp_path):
    """An independent reader of the upgraded table: DuckDB's Delta extension reads the
    instants, each row's duration as zoneinfo gives it."""
    from test_other_engines import _delta_connection

    connection = _delta_connection()
    if connection is None:
        pytest.skip("DuckDB's delta extension is not installed")
    folder = _project(tmp_path / "p", "UTC")
    path = old_store(folder, NAIVE)
    assert _kpi(folder, "upgrade").returncode == 0
    got = dict(connection.execute(
        f"SELECT ref, epoch(closed) - epoch(opened) FROM delta_scan('{path.as_posix()}') "
        "WHERE typeof(opened) = 'TIMESTAMP WITH TIME ZONE'").fetchall())
    want = {ref: (_instant(closed, "UTC") - _instant(opened, "UTC")).total_seconds()
            for ref, opened, closed in (r.split(",") for r in NAIVE)}
    assert got == want
    assert got["R2"] == 900 and got["R1"] == 2700
    assert timedelta(seconds=got["R3"]) == timedelta(minutes=40)


@pytest.mark.parametrize("zone", [None, "UTC", "Europe/London"])
def test_an_int96_timestamp_is_refused_whatever_zone_is_declared(tmp_path, zone):
    """Spark and Hive write a timestamp as INT96 holding the UTC instant (their default),
    Impala (and pyarrow, of a naive time) the wall-clock time, and the file says neither:
    read as UK wall-clock time, a Spark table's summer incidents loaded an hour early (00:30
    BST on 1 July counted in June), exit 0, where the same instants written as
    TIMESTAMP_MICROS loaded right. A declared zone says how the sources write wall-clock
    times, not which an INT96 column holds (read in Europe/London, a zoned column's instants
    were an hour out all summer), so it is refused naming the column, nothing stored; the
    same instants as TIMESTAMP_MICROS load, under any zone, with the same figures."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [r.split(",") for r in _plain_rows()] + [
        ["S1", "2025-07-01 00:30", "2025-07-01 00:50"]]  # UK times, one on a month's edge
    instants = {name: [_instant(r[i], "Europe/London").astimezone(ZoneInfo("UTC"))
                       .replace(tzinfo=None) for r in rows] for i, name in
                ((1, "Created"), (2, "Attended"))}
    table = pa.table({"ref": [r[0] for r in rows],
                      **{k: pa.array(v, pa.timestamp("ns")) for k, v in instants.items()}})
    folder = _project(tmp_path / f"zone {zone}", zone)
    pq.write_table(table, folder / "spark.parquet", use_deprecated_int96_timestamps=True,
                   store_schema=False)
    assert pq.ParquetFile(folder / "spark.parquet").schema.column(1).physical_type == "INT96"
    done = _kpi(folder, "ingest", "incidents", str(folder / "spark.parquet"))
    assert done.returncode == 3, done.stderr
    assert (f"{folder / 'spark.parquet'}, column 'Created': a timestamp stored as INT96, "
            "which Spark and Hive write as the UTC instant and Impala as the wall-clock time: "
            "the file does not say which") in " ".join(done.stderr.split())
    assert not (folder / "data").exists() or not any((folder / "data").rglob("*.parquet"))
    utc = pa.schema([("ref", pa.string()), ("Created", pa.timestamp("us", "UTC")),
                     ("Attended", pa.timestamp("us", "UTC"))])
    pq.write_table(table.cast(utc), folder / "micros.parquet")
    done = _kpi(folder, "ingest", "incidents", str(folder / "micros.parquet"))
    assert done.returncode == 0, done.stderr
    july = _kpi(folder, "show", "incidents", "--period", "2025-07", "--format", "json")
    assert july.returncode == 0, july.stderr
    assert next(t["value"] for t in json.loads(july.stdout)["trend"]
                if t["month"] == "2025-07") == 1 + sum(r[1].startswith("2025-07")
                                                       for r in rows[:-1])
