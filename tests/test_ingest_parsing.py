"""Parsing CSV dates: a column is parsed with the formats its first values use, and any value
further down in another format still loads (or fails) exactly as if every format were tried.
Expected values are computed by hand with the standard library, not by kpi."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi import ingest
from kpi.catalogue import ColumnSpec, ColumnType, DatasetSpec
from kpi.errors import DataError

LONDON = ZoneInfo("Europe/London")
SPEC = DatasetSpec(id="events", date="day", columns=(
    ColumnSpec("ref", ColumnType.STR, ("Ref",)),
    ColumnSpec("day", ColumnType.DATE, ("Day",)),
    ColumnSpec("at", ColumnType.DATETIME, ("At",)),
    ColumnSpec("period", ColumnType.MONTH, ("Month",)),
))
ISO_ROWS = 5000  # more than the sample of values the formats are chosen from


def _iso_rows(count: int) -> list[str]:
    start = date(2024, 1, 1)
    rows = []
    for i in range(count):
        day = start + timedelta(days=i % 600)
        rows.append(f"R{i},{day.isoformat()},{day.isoformat()} 08:30:00,{day:%Y-%m}")
    return rows


def _load(tmp_path: Path, rows: list[str]) -> ingest.Extract:
    path = tmp_path / "events.csv"
    path.write_text("Ref,Day,At,Month\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return ingest.read_extracts(SPEC, [path])


def test_uk_date_after_thousands_of_iso_dates_loads(tmp_path):
    rows = _iso_rows(ISO_ROWS) + ["LAST,30/09/2025,30/09/2025 14:05:09,01/09/2025"]
    frame = _load(tmp_path, rows).frame
    assert frame.height == ISO_ROWS + 1
    last = frame.row(-1, named=True)
    assert last["day"] == date(2025, 9, 30)
    assert last["at"] == datetime(2025, 9, 30, 14, 5, 9, tzinfo=LONDON)
    assert last["period"] == date(2025, 9, 1)
    # The ISO rows are untouched by the late format.
    expected = [date(2024, 1, 1) + timedelta(days=i % 600) for i in range(ISO_ROWS)]
    assert frame["day"].head(ISO_ROWS).to_list() == expected
    assert frame["at"].head(ISO_ROWS).to_list() == [
        datetime(d.year, d.month, d.day, 8, 30, tzinfo=LONDON) for d in expected]
    assert frame["period"].head(ISO_ROWS).to_list() == [d.replace(day=1) for d in expected]


def test_utc_offset_after_thousands_of_iso_dates_is_uk_time(tmp_path):
    # 23:20 UTC on 31 August 2023 is 00:20 BST on 1 September: the day and month move too.
    instant = "2023-08-31T23:20:00+00:00"
    rows = _iso_rows(ISO_ROWS) + [f"LAST,2023-09-01,{instant},2023-09"]
    frame = _load(tmp_path, rows).frame
    assert frame.height == ISO_ROWS + 1
    last = frame.row(-1, named=True)
    assert last["at"] == datetime(2023, 8, 31, 23, 20, tzinfo=UTC)  # the instant, as UK time
    assert last["at"].strftime("%Y-%m-%d %H:%M %Z") == "2023-09-01 00:20 BST"
    assert last["period"] == date(2023, 9, 1)


@pytest.mark.parametrize("instant", ["2023-08-31T22:20:00+00:00", "2023-09-01T00:20:00+01:00",
                                     "2023-12-31T23:20:00Z", "2023-08-31T18:20:00-04:00"])
def test_an_instant_whose_uk_date_is_the_date_written_is_that_date(tmp_path, instant):
    """In a date column, a time with its offset whose UK date is the date written loads on
    it (zoneinfo: 23:20 BST on 31 August, 00:20 BST on 1 September, 23:20 GMT on 31
    December, 23:20 BST on 31 August)."""
    frame = _load(tmp_path, _iso_rows(ISO_ROWS) + [f"LAST,{instant},{instant},2023-09"]).frame
    uk_day = datetime.fromisoformat(instant).astimezone(LONDON).date()
    assert uk_day == date.fromisoformat(instant[:10])
    assert frame.row(-1, named=True)["day"] == uk_day


@pytest.mark.parametrize(("instant", "uk_day"), [
    ("2023-08-31T23:20:00+00:00", "2023-09-01"),  # UTC in the UK's summer hour after 23:00
    ("2025-06-30T23:00:00Z", "2025-07-01"),
    ("2025-01-15T02:00:00+05:30", "2025-01-14"),  # India's morning, the UK's night before
    ("2025-01-15T20:00:00-05:00", "2025-01-16"),  # New York's evening, the UK's next day
])
def test_an_instant_in_a_date_column_whose_uk_date_is_another_is_refused(tmp_path, instant,
                                                                         uk_day):
    """A date column stored an instant's UK date, another than the date written where the
    writer's clock was not the UK's: UTC monthly files loaded one a month into such a column
    lost the 1 September row of August's file when September's replaced the month (the year
    ending 2025-09 read 120 where the files hold 121, exit 0), where a datetime column refuses
    that load. Refused naming the file, row and column, the UK date (zoneinfo's) and the
    remedy."""
    assert datetime.fromisoformat(instant).astimezone(LONDON).date().isoformat() == uk_day
    rows = _iso_rows(ISO_ROWS) + [f"LAST,{instant},{instant},2023-09"]
    with pytest.raises(DataError) as caught:
        _load(tmp_path, rows)
    assert str(caught.value) == (
        f"{tmp_path / 'events.csv'}, row {ISO_ROWS + 2}, column 'Day': expected a date such as "
        f"2025-09-30 or 30/09/2025, found '{instant}', an instant whose UK date is {uk_day}: "
        "declare the column datetime to read it as that instant (a load holding another "
        "stretch of a stored month is then refused), or write the UK date alone")


@pytest.mark.parametrize(("zone", "refused"), [("UTC", True), ("America/New_York", True),
                                              ("Europe/London", False), ("Asia/Tokyo", False)])
def test_a_parquet_instant_in_a_date_column_is_held_to_the_date_of_its_own_zone(tmp_path, zone,
                                                                               refused):
    """A Parquet file of a UTC month's rows, `timestamp[us, UTC]` in a date column, held 23:30
    UTC on 31 August, 1 September in the UK (zoneinfo): stored on its UK date, the next
    month's file replaced it unseen, each summer month's last-hour row lost (120 where the files
    hold 125, exit 0), as text with an offset did. Held to the date of the zone it is labelled
    with, it is refused where that is another than its UK date (New York's 19:30 on 31 August
    too); labelled London's zone, or Tokyo's (08:30 on 1 September), it loads on that date."""
    import polars as pl

    moment = datetime(2025, 8, 31, 23, 30, tzinfo=UTC)
    assert moment.astimezone(LONDON).date() == date(2025, 9, 1)
    path = tmp_path / "events.parquet"
    pl.DataFrame({"Ref": ["a", "b"], "Day": [datetime(2025, 8, 10, 12, tzinfo=UTC), moment]},
                 schema={"Ref": pl.String, "Day": pl.Datetime("us", "UTC")}).with_columns(
        pl.col("Day").dt.convert_time_zone(zone)).write_parquet(path)
    spec = DatasetSpec(id="events", date="day", columns=(
        ColumnSpec("ref", ColumnType.STR, ("Ref",)), ColumnSpec("day", ColumnType.DATE, ("Day",))))
    if refused:
        with pytest.raises(DataError) as caught:
            ingest.read_extracts(spec, [path])
        assert "an instant whose UK date is 2025-09-01: declare the column datetime" in str(
            caught.value)
        assert "row 2, column 'Day'" in str(caught.value)  # the file's second row
    else:
        days = ingest.read_extracts(spec, [path]).frame["day"].to_list()
        assert days == [date(2025, 8, 10), date(2025, 9, 1)]


# Zone-aware Parquet instants in a `date` column near a month's end, each a wall-clock time in
# the zone its file labels it with, and what a load of it does, worked out by hand from the
# offsets (summer: BST +1, CEST +2, EDT -4; winter: GMT +0, CET +1, EST -5): the month it is
# stored in where its UK date is the date in its label, else the UK date the refusal names.
# The same in a dataset of any `time_zone`: the date column is held to the file's own date.
LABELLED_INSTANTS = [
    ("UTC", "2025-06-30 23:30", ("refused", "2025-07-01")),  # 00:30 BST on 1 July
    ("UTC", "2025-07-01 00:30", ("stored", "2025-07")),  # 01:30 BST on 1 July
    ("UTC", "2025-12-31 23:30", ("stored", "2025-12")),  # 23:30 GMT, the same
    ("UTC", "2026-01-01 00:30", ("stored", "2026-01")),
    ("Europe/London", "2025-06-30 23:30", ("stored", "2025-06")),  # its own UK date
    ("Europe/London", "2025-07-01 00:30", ("stored", "2025-07")),
    ("Europe/London", "2025-12-31 23:30", ("stored", "2025-12")),
    ("Europe/London", "2026-01-01 00:30", ("stored", "2026-01")),
    ("Europe/Paris", "2025-06-30 23:30", ("stored", "2025-06")),  # 22:30 BST on 30 June
    ("Europe/Paris", "2025-07-01 00:30", ("refused", "2025-06-30")),  # 23:30 BST on 30 June
    ("Europe/Paris", "2025-12-31 23:30", ("stored", "2025-12")),  # 22:30 GMT on 31 December
    ("Europe/Paris", "2026-01-01 00:30", ("refused", "2025-12-31")),  # 23:30 GMT on 31 Dec
    ("America/New_York", "2025-06-30 23:30", ("refused", "2025-07-01")),  # 04:30 BST, 1 July
    ("America/New_York", "2025-07-01 00:30", ("stored", "2025-07")),  # 05:30 BST on 1 July
    ("America/New_York", "2025-12-31 23:30", ("refused", "2026-01-01")),  # 04:30 GMT, 1 Jan
    ("America/New_York", "2026-01-01 00:30", ("stored", "2026-01")),  # 05:30 GMT on 1 January
]


@pytest.mark.parametrize("dataset_zone", ["Europe/London", "UTC", "America/New_York"])
@pytest.mark.parametrize(("label", "wall", "outcome"), LABELLED_INSTANTS)
def test_a_parquet_instant_in_a_date_column_has_one_date_rule_in_every_dataset_zone(
        tmp_path, dataset_zone, label, wall, outcome):
    """A zone-aware Parquet timestamp in a `date` column is held to its date in the zone its
    file labels it with, whatever `time_zone` the dataset declares. Read in a UTC dataset's
    zone, a New York file's 23:30 on 30 June (04:30 BST on 1 July) was stored on 1 July, and
    July's file, replacing the month, dropped it: 61 rows of 62, exit 0; a Paris file's 00:30
    on 1 July was stored in June unsaid, and a London file's 00:30 on 1 July, its own UK date,
    was refused. Each case's month or refusal is worked out by hand above (LABELLED_INSTANTS);
    a refusal's found value shows another date than the UK date it names (its message is
    true), and nothing is stored."""
    import inprocess
    import polars as pl

    zone_line = "" if dataset_zone == "Europe/London" else f'time_zone = "{dataset_zone}"\n'
    (tmp_path / "kpi.toml").write_text(
        '[project]\nname = "Zones"\nbaseline = "2024-03"\n\n'
        f'[datasets.ev]\ndate = "d"\n{zone_line}[datasets.ev.columns]\nd = "date"\n'
        'tag = "str"\n\n[[priorities]]\nid = "p1"\ntitle = "Calls"\norder = 1\n\n'
        '[[kpis]]\nid = "c"\ntitle = "Calls"\npriority = "p1"\nkind = "count"\n'
        'dataset = "ev"\nbetter = "lower"\n', encoding="utf-8")
    path = tmp_path / "ev.parquet"
    pl.DataFrame({"d": [datetime.fromisoformat(wall)], "tag": ["x"]}).with_columns(
        pl.col("d").dt.replace_time_zone(label)).write_parquet(path)
    # The hand-worked UK date, checked against zoneinfo.
    uk_day = datetime.fromisoformat(wall).replace(tzinfo=ZoneInfo(label)).astimezone(LONDON)
    done = inprocess.run(["--project", tmp_path, "ingest", "ev", path],
                         env={**os.environ, "KPI_NO_CACHE": "1"})
    kind, expected = outcome
    if kind == "refused":
        assert uk_day.date().isoformat() == expected
        assert done.returncode == 3, done.stdout
        shown = wall[:10]
        assert (f"{path}, row 1, column 'd': expected a date such as 2025-09-30 or 30/09/2025, "
                f"found '{shown} {wall[11:]}:00.000000") in done.stderr
        assert f"an instant whose UK date is {expected}: declare the column datetime" \
            in done.stderr
        assert shown != expected
        assert not (tmp_path / "data" / "ev").exists()
    else:
        assert uk_day.strftime("%Y-%m") == expected == wall[:7]
        assert done.returncode == 0, done.stderr
        stored = pl.read_delta(str(tmp_path / "data" / "ev"))
        assert stored.select("d", "month").rows() == [(date.fromisoformat(wall[:10]), expected)]


@pytest.mark.parametrize(("value", "message"), [
    ("yesterday", "found 'yesterday'"),
    ("31/04/2025", "found '31/04/2025', which is not a calendar date"),
    ("Sept 2025", "found 'Sept 2025' (a month name: spreadsheet software may have converted"),
])
def test_bad_date_after_thousands_of_good_ones_is_reported_as_before(tmp_path, value, message):
    rows = _iso_rows(ISO_ROWS) + [f"LAST,{value},2025-09-30 14:05,2025-09"]
    with pytest.raises(DataError) as caught:
        _load(tmp_path, rows)
    # Header on line 1, so the last record is on line ISO_ROWS + 2.
    assert str(caught.value).startswith(
        f"{tmp_path / 'events.csv'}, row {ISO_ROWS + 2}, column 'Day': expected a date such "
        f"as 2025-09-30 or 30/09/2025, {message}")


# Every shape the ingest accepts, as Python writes it, and whether it carries a UTC offset.
SHAPES = [
    ("%Y-%m-%d", False), ("%d/%m/%Y", False), ("%d-%m-%Y", False), ("%Y/%m/%d", False),
    ("%Y-%m-%dT%H:%M:%S.%f", False), ("%Y-%m-%d %H:%M:%S.%f", False),
    ("%Y-%m-%dT%H:%M:%S", False), ("%Y-%m-%d %H:%M:%S", False), ("%Y-%m-%dT%H:%M", False),
    ("%Y-%m-%d %H:%M", False), ("%d/%m/%Y %H:%M:%S", False), ("%d/%m/%Y %H:%M", False),
    ("%Y-%m-%dT%H:%M:%S.%f%z", True), ("%Y-%m-%d %H:%M:%S.%f%z", True),
    ("%Y-%m-%dT%H:%M%z", True), ("%Y-%m-%d %H:%M%z", True),
]
moments = st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2024, 12, 31))


def _render(moment: datetime, shape: int, offset_hours: int) -> tuple[str, datetime]:
    """The text of `moment` in SHAPES[shape] and the UK wall-clock time kpi should read from it
    (an instant with an offset is read as UK time). A time without an offset is UK time: one
    the clocks show twice or never is written with its offset instead (see the refusals)."""
    pattern, with_offset = SHAPES[shape]
    shown = moment.replace(microsecond=moment.microsecond if "%f" in pattern else 0)
    if "%S" not in pattern:
        shown = shown.replace(second=0)
    if "%H" not in pattern:
        shown = shown.replace(hour=0, minute=0)
    if not with_offset and _one_instant(shown):
        return shown.strftime(pattern), shown
    if not with_offset:
        pattern = "%Y-%m-%dT%H:%M:%S.%f%z"
    aware = shown.replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=offset_hours)))
    text = aware.strftime(pattern)
    text = text[:-2] + ":" + text[-2:]  # +0100 as +01:00, as the extracts write it
    return text, shown.replace(tzinfo=UTC).astimezone(LONDON).replace(tzinfo=None)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(moments, st.integers(0, len(SHAPES) - 1), st.integers(-5, 5)),
                min_size=1, max_size=30))
def test_any_mix_of_formats_parses_as_each_value_says(tmp_path, monkeypatch, cells):
    # A sample of one value: most columns change format after it.
    monkeypatch.setattr(ingest.conform, "SAMPLE", 1)
    rendered = [_render(moment, shape, hours) for moment, shape, hours in cells]
    # A time with its offset whose UK date is another than the date written is refused in a
    # date column (`test_an_instant_in_a_date_column_whose_uk_date_is_another_is_refused`):
    # there the UK date is written alone.
    rows = [f"R{i},{text if _written_day(text) == wall.date() else wall.date()},{text},"
            f"{wall:%Y-%m}" for i, (text, wall) in enumerate(rendered)]
    frame = _load(tmp_path, rows).frame
    assert [at.replace(tzinfo=None) for at in frame["at"].to_list()] == [
        wall for _, wall in rendered]
    assert frame["day"].to_list() == [wall.date() for _, wall in rendered]


def _written_day(text: str) -> date:
    """The date a value of SHAPES writes, whatever its offset."""
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(text[:10], pattern).date()
        except ValueError:
            continue
    raise AssertionError(text)


def _one_instant(wall: datetime) -> bool:
    """Whether a UK wall-clock time names one instant (not in the hour the clocks go back,
    nor in the hour they go forward)."""
    early, late = (wall.replace(tzinfo=LONDON, fold=f) for f in (0, 1))
    return (early.astimezone(UTC) == late.astimezone(UTC)
            and early.astimezone(UTC).astimezone(LONDON).replace(tzinfo=None) == wall)


@pytest.mark.parametrize("skip_bad_rows", [False, True])
@pytest.mark.parametrize(("column", "row"), [
    ("Day", "R2,1/31/2025,2025-01-31 08:30,2025-01"),
    ("At", "R2,2025-01-31,01/31/2025 08:30,2025-01"),
    ("Month", "R2,2025-01-31,2025-01-31 08:30,12/31/2025"),
    # with dashes, which kpi reads day first too (09-02-2025 read as 9 February)
    ("Day", "R2,01-31-2025,2025-01-31 08:30,2025-01"),
    ("At", "R2,2025-01-31,01-31-2025 08:30,2025-01"),
])
def test_a_column_of_dates_written_month_first_is_refused_as_a_whole(tmp_path, column, row,
                                                                     skip_bad_rows):
    """A US date (1/31/2025) marks its column's dates as month first: 1/2/2025 beside it is 1
    February day first, so set aside alone it left the other rows loading in the wrong month
    (10 calls of 2 January counted in February, exit 0). The file is refused, whatever
    --skip-bad-rows says."""
    path = tmp_path / "events.csv"
    path.write_text("Ref,Day,At,Month\nR1,1/2/2025,1/2/2025 08:30,2025-01\n" + row + "\n",
                    encoding="utf-8")
    with pytest.raises(DataError) as refused:
        ingest.read_extracts(SPEC, [path], skip_bad_rows=skip_bad_rows)
    text = row.split(",")[("Ref", "Day", "At", "Month").index(column)]
    assert refused.value.message == (
        f"{path}, row 3, column '{column}': a date written month first ('{text}', a month "
        "before a day after the 12th): the column's other dates would be read day first, as "
        "the wrong day and month")


@pytest.mark.parametrize("skip_bad_rows", [False, True])
@pytest.mark.parametrize(("months", "row", "text", "day_first", "month_first"), [
    # police.uk's Month re-saved by a US spreadsheet: 1/1/2025 reads one way, 2/1/2025 two
    (["1/1/2025", "2/1/2025", "3/1/2025"], 3, "2/1/2025", "2 January 2025",
     "1 February 2025"),
    (["3/1/2025 00:00"], 2, "3/1/2025 00:00", "3 January 2025", "1 March 2025"),
    (["01/03/2025", "05/03/2025"], 3, "05/03/2025", "5 March 2025", "1 May 2025"),
])
def test_a_month_written_as_a_date_that_reads_two_ways_is_refused(
        tmp_path, months, row, text, day_first, month_first, skip_bad_rows):
    """A month column's 3/1/2025 read day first is 3 January: a police.uk Month column saved
    month first by a US spreadsheet (the first of each month) loaded a year into 2025-01, and
    one month's file replaced January's rows, exit 0. A month column's date reads one way
    where its day is 1, above 12, or its two numbers are equal; else the file is refused."""
    path = tmp_path / "events.csv"
    path.write_text("Ref,Day,At,Month\n" + "".join(
        f"R{i},2025-01-02,2025-01-02 08:30,{m}\n" for i, m in enumerate(months)),
        encoding="utf-8")
    with pytest.raises(DataError) as refused:
        ingest.read_extracts(SPEC, [path], skip_bad_rows=skip_bad_rows)
    assert refused.value.message == (
        f"{path}, row {row}, column 'Month': a month written as a date that reads two ways "
        f"('{text}': day first, as kpi reads dates, {day_first}; month first, as a US "
        f"spreadsheet writes the first of each month, {month_first})")


def test_a_month_written_as_a_date_that_reads_one_way_loads(tmp_path):
    frame = _load(tmp_path, ["R1,2025-01-02,2025-01-02 08:30,01/03/2025",
                             "R2,2025-01-02,2025-01-02 08:30,15/03/2025",
                             "R3,2025-01-02,2025-01-02 08:30,5/5/2025",
                             "R4,2025-01-02,2025-01-02 08:30,1/12/2025"]).frame
    assert [f"{m:%Y-%m}" for m in frame["period"].to_list()] == [
        "2025-03", "2025-03", "2025-05", "2025-12"]


def test_dates_day_first_keep_loading_beside_the_month_first_check(tmp_path):
    frame = _load(tmp_path, ["R1,01/02/2025,13/01/2025 08:30,02/2025",
                             "R2,31/12/2025,31/12/2025 23:59,12/2025"]).frame
    assert frame["day"].to_list() == [date(2025, 2, 1), date(2025, 12, 31)]


NUMBERS = DatasetSpec(id="losses", date="day", columns=(
    ColumnSpec("day", ColumnType.DATE, ("Day",)),
    ColumnSpec("count", ColumnType.INT, ("Count",)),
    ColumnSpec("loss", ColumnType.FLOAT, ("Loss",)),
))


@pytest.mark.parametrize(("count", "loss", "expected"), [
    ("7", "2.5", (7, 2.5)),
    ("1,234", "£1,234.50", (1234, 1234.5)),
    (" -£12 ", "-£0.25", (-12, -0.25)),
    ("1,234.0", "12,345,678", (1234, 12345678.0)),
    # A negative as an accounting format shows it, saved as text by a spreadsheet.
    ("(12)", "(£1,234.50)", (-12, -1234.5)),
    (" ( 1,234 ) ", "£(0.25)", (-1234, -0.25)),
    ("(0)", "(.5)", (0, -0.5)),
])
def test_formatted_number_after_thousands_of_plain_ones(tmp_path, count, loss, expected):
    path = tmp_path / "losses.csv"
    plain = "".join(f"2025-01-01,{i},{i}.5\n" for i in range(ISO_ROWS))
    last = f'2025-01-02,"{count}","{loss}"\n'  # quoted: the separators are commas
    path.write_text(f"Day,Count,Loss\n{plain}{last}", encoding="utf-8")
    frame = ingest.read_extracts(NUMBERS, [path]).frame
    assert frame["count"].to_list() == [*range(ISO_ROWS), expected[0]]
    assert frame["loss"].to_list() == [i + 0.5 for i in range(ISO_ROWS)] + [expected[1]]


@pytest.mark.parametrize("loss", ["((12))", "(12", "12)", "(-12)", "-(12)", "(1,23)", "(1e3)",
                                  "(x)", "()", "-", "\u2013"])
def test_a_bracket_that_is_not_an_accounting_negative_is_refused(tmp_path, loss):
    path = tmp_path / "losses.csv"
    path.write_text(f'Day,Count,Loss\n2025-01-01,1,2.5\n2025-01-02,2,"{loss}"\n',
                    encoding="utf-8")
    with pytest.raises(DataError) as refused:
        ingest.read_extracts(NUMBERS, [path])
    dash = (", a dash, which may be an accounting format's zero or a figure not available: "
            "write 0 where it means none, and leave the cell blank where it is not known")
    comma = (", a decimal comma: kpi reads numbers with a decimal point, and a comma only "
             "between thousands (1,234.5)")
    assert refused.value.message == (f"{path}, row 3, column 'Loss': expected a number, "
                                     f"found '{loss}'" + (dash if loss in "-\u2013" else "")
                                     + (comma if loss == "(1,23)" else ""))


@pytest.mark.parametrize("loss", ["0,250", "2,25", "-0,5", "1.234,56", "£3,5", "(0,75)",
                                  "12345,6"])
def test_a_number_written_with_a_decimal_comma_is_refused_saying_so(tmp_path, loss):
    """A continental locale's export writes 0.25 as '0,250' (read as 250 before, a comma
    between thousands: a mean of 85 where the rows held 1.75, exit 0) or '2,25'; none
    is a number kpi reads, and the message says why."""
    path = tmp_path / "losses.csv"
    path.write_text(f'Day,Count,Loss\n2025-01-01,1,2.5\n2025-01-02,2,"{loss}"\n',
                    encoding="utf-8")
    with pytest.raises(DataError) as refused:
        ingest.read_extracts(NUMBERS, [path])
    assert refused.value.message == (
        f"{path}, row 3, column 'Loss': expected a number, found '{loss}', a decimal comma: kpi "
        "reads numbers with a decimal point, and a comma only between thousands (1,234.5)")


# A number a decimal comma's locale would read otherwise, as the CSV writes it, how the message
# says it could be read, what kpi stores in a file writing no decimal comma, and whether the
# load is refused without --skip-bad-rows by the ambiguity (a comma between thousands) or
# only by the decimal comma's own bad row (a float's point is searched for only when kept).
AMBIGUOUS = [
    pytest.param('"1,500"', "'1,500' (row 7) could mean 1.500 where a comma between thousands "
                 "reads it as 1500", 1500.0, (False, True), id="thousands"),
    pytest.param("1.500", "'1.500' (row 7) could mean 1500 where a decimal point reads it as "
                 "1.500", 1.5, (True,), id="point between thousands"),
]


@pytest.mark.parametrize("batch", ["2", "100000"])
@pytest.mark.parametrize(("cell", "could", "stored", "skips"), AMBIGUOUS)
def test_a_number_another_locale_reads_otherwise_beside_a_decimal_comma_is_refused(
        tmp_path, monkeypatch, batch, cell, could, stored, skips):
    """'1,500' reads as 1500 (a comma between thousands) and '1.500' as 1.5 (a decimal point),
    but not in a file whose '2,25' says its commas are decimal points, where the same locale
    writes 1.5 as '1,500' and 1500 as '1.500': with --skip-bad-rows the '2,25' rows were set
    aside and the other stored as read, exit 0. The load is refused naming both, in whichever
    batches they fall; in a file writing no decimal comma each loads as read."""
    monkeypatch.setenv("KPI_INGEST_BATCH_ROWS", batch)
    path = tmp_path / "losses.csv"
    plain = "".join(f"2025-01-01,{i},{i}.5\n" for i in range(5))
    for skip in skips:
        path.write_text(f'Day,Count,Loss\n{plain}2025-01-02,6,{cell}\n{plain}'
                        f'2025-01-03,7,"2,25"\n', encoding="utf-8")
        with pytest.raises(DataError) as refused:
            ingest.read_extracts(NUMBERS, [path], skip_bad_rows=skip)
        assert refused.value.message == (
            f"{path}, row 13, column 'Loss': '2,25' is written with a decimal comma, so the "
            f"column's {could}")
        assert refused.value.hint == ("export the numbers with a decimal point and no "
                                      "separator between thousands (1500, 1.5), in a UK "
                                      "locale; nothing was loaded")
        path.write_text(f"Day,Count,Loss\n{plain}2025-01-02,6,{cell}\n", encoding="utf-8")
        frame = ingest.read_extracts(NUMBERS, [path], skip_bad_rows=skip).frame
        assert frame["loss"].to_list() == [0.5, 1.5, 2.5, 3.5, 4.5, stored]


FLAG_SPEC = DatasetSpec(id="flags", date="day", columns=(
    ColumnSpec("day", ColumnType.DATE, ("Day",)),
    ColumnSpec("flag", ColumnType.BOOL, ("Flag",)),
))
FLAG_WORDS = {"true": True, "t": True, "yes": True, "y": True, "1": True,
              "false": False, "f": False, "no": False, "n": False, "0": False}


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(sorted(FLAG_WORDS)),
                          st.lists(st.booleans(), min_size=5, max_size=5)),
                min_size=1, max_size=30))
def test_a_flag_is_read_however_it_is_cased(tmp_path, cased):
    """Usual spellings ('Y', 'yes', 'TRUE') are matched as they are and any other casing
    ('tRuE') is lowercased: both give what the lowercased word means."""
    values = ["".join(c.upper() if up else c for c, up in zip(word, upper, strict=False))
              for word, upper in cased]
    path = tmp_path / "flags.csv"
    path.write_text("Day,Flag\n" + "".join(f"2025-01-01, {v} \n" for v in values),
                    encoding="utf-8")
    frame = ingest.read_extracts(FLAG_SPEC, [path]).frame
    assert frame["flag"].to_list() == [FLAG_WORDS[word] for word, _ in cased]


def test_a_flag_that_is_no_word_is_refused(tmp_path):
    path = tmp_path / "flags.csv"
    path.write_text("Day,Flag\n2025-01-01,Yes\n2025-01-02,yES\n2025-01-03,Yess\n",
                    encoding="utf-8")
    with pytest.raises(DataError) as refused:
        ingest.read_extracts(FLAG_SPEC, [path])
    assert refused.value.message == (f"{path}, row 4, column 'Flag': expected true/false, "
                                     "yes/no or 1/0, found 'Yess'")


# ---------------------------------------------------------------------------------------------
# Column names as spreadsheets write them


HEADINGS = DatasetSpec(id="crimes", date="day", columns=(
    ColumnSpec("ref", ColumnType.STR, ("Crime Reference",)),
    ColumnSpec("day", ColumnType.DATE, ("Date Recorded",)),
    ColumnSpec("lpa", ColumnType.STR, ("LPA Name",)),
))


@pytest.mark.parametrize("reader", ["csv", "xlsx"])
@pytest.mark.parametrize("spaced", ["Crime\u00a0Reference", " Crime  Reference ",
                                    "Crime\tReference", "CRIME\u2007REFERENCE"])
def test_a_heading_spaced_otherwise_means_the_same_column(tmp_path, reader, spaced):
    """'Crime\u00a0Reference' (a no-break space, as Excel and web pages write one) prints as
    'Crime Reference' and was refused as missing, 'expected column ... 'Crime Reference',
    found ..., 'Crime Reference'', a message that names the column it says is not there."""
    rows = [("CR1", "05/04/2024", "Worcester"), ("CR2", "30/04/2024", "Hereford é")]
    header = [spaced, "Date Recorded", "LPA Name "]
    if reader == "csv":
        path = tmp_path / "crimes.csv"
        text = "\r\n".join(",".join(r) for r in [header, *rows]) + "\r\n"
        path.write_bytes(text.encode("utf-8-sig"))
    else:
        import xlsxwriter

        path = tmp_path / "crimes.xlsx"
        book = xlsxwriter.Workbook(str(path))
        sheet = book.add_worksheet("Crimes")
        for r, row in enumerate([header, *rows]):
            sheet.write_row(r, 0, row)
        book.close()
    frame = ingest.read_extracts(HEADINGS, [path]).frame
    assert frame.select("ref", "day", "lpa").rows() == [
        ("CR1", date(2024, 4, 5), "Worcester"), ("CR2", date(2024, 4, 30), "Hereford é")]


def test_two_headings_that_match_alike_are_refused_not_one_picked(tmp_path):
    """'LPA Name' and 'LPA\u00a0Name' now both mean column lpa: which one counts is not kpi's
    to guess, so the extract is refused, never the last of them taken and the other ignored
    with a warning."""
    path = tmp_path / "crimes.csv"
    path.write_text("Crime Reference,Date Recorded,LPA Name,LPA\u00a0Name\n"
                    "CR1,05/04/2024,Worcester,Hereford\n", encoding="utf-8")
    with pytest.raises(DataError, match="both mean column 'lpa' of dataset 'crimes'"):
        ingest.read_extracts(HEADINGS, [path])


# A differential oracle for numbers written as text: cells drawn from the characters numbers
# are written with, and from the forms spreadsheets and continental locales write, read by
# kpi and by `_number_reading` (Python's re and Decimal, none of kpi's code). kpi may refuse
# a cell the oracle reads (refusing is safe); it may never store a number the oracle does not
# read from that cell, nor load a file whose thousands its decimal commas make ambiguous.
_ORACLE_GROUPED = re.compile(r"-?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?")
_ORACLE_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_ORACLE_DECIMAL_COMMA = re.compile(r"-?(?:\d+|\d{1,3}(?:\.\d{3})+),\d+")
UNREAD = "unread"


def _number_body(cell: str) -> str | None:
    """The cell's number without white space, pound sign or accounting brackets ('-' before
    it for a bracketed negative); None for a blank."""
    text = cell.strip(" \t")
    if not text:
        return None
    bracketed = re.fullmatch(r"\((£?)\s*([^()]*?)\s*\)|£\(([^()]*)\)", text)
    if bracketed:
        inner = bracketed.group(2) if bracketed.group(3) is None else bracketed.group(3)
        return UNREAD if inner.startswith(("-", "+")) or not inner else "-" + inner
    return text.replace("£", "", 1) if text.startswith(("£", "-£")) else text


def _number_reading(cell: str) -> Decimal | None | str:
    from decimal import InvalidOperation

    body = _number_body(cell)
    if body is None or body == UNREAD:
        return body
    if _ORACLE_GROUPED.fullmatch(body):
        body = body.replace(",", "")
    elif not _ORACLE_PLAIN.fullmatch(body):
        return UNREAD
    try:
        return Decimal(body)
    except InvalidOperation:
        return UNREAD


def _kinds(cell: str) -> tuple[bool, bool, bool]:
    """Whether the cell's commas are read as thousands, whether it is a decimal comma, and
    whether its points could be between thousands ('1.500')."""
    body = _number_body(cell)
    if body is None or body == UNREAD:
        return False, False, False
    grouped = bool(_ORACLE_GROUPED.fullmatch(body))
    return (grouped, not grouped and bool(_ORACLE_DECIMAL_COMMA.fullmatch(body)),
            bool(re.fullmatch(r"-?[1-9]\d{0,2}(?:\.\d{3})+", body)))


NUMBER_CELLS = st.one_of(
    st.text(alphabet="0123456789,.£()-+ e", max_size=9),
    st.integers(0, 10**9).map(lambda n: f"{n:,}"),
    st.tuples(st.integers(0, 999), st.integers(0, 999)).map(lambda p: f"{p[0]},{p[1]:03d}"),
    st.tuples(st.integers(0, 99), st.integers(0, 99)).map(lambda p: f"{p[0]},{p[1]}"),
    st.tuples(st.integers(1, 999), st.integers(0, 999), st.integers(0, 99))
    .map(lambda p: f"{p[0]}.{p[1]:03d},{p[2]:02d}"),
    st.tuples(st.integers(1, 999), st.integers(0, 999)).map(lambda p: f"{p[0]}.{p[1]:03d}"),
    st.integers(-10**6, 10**6).map(lambda n: f"({abs(n):,})" if n < 0 else f"£{n:,}.50"))
REF_SPEC = DatasetSpec(id="losses", date="day", columns=(
    ColumnSpec("ref", ColumnType.STR, ("Ref",)),
    ColumnSpec("day", ColumnType.DATE, ("Day",)),
    ColumnSpec("count", ColumnType.INT, ("Count",)),
    ColumnSpec("loss", ColumnType.FLOAT, ("Loss",)),
))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(NUMBER_CELLS, NUMBER_CELLS), min_size=1, max_size=8),
       batch=st.sampled_from(["1", "3", "100000"]))
def test_every_number_stored_is_one_its_cell_writes(tmp_path, monkeypatch, cells, batch):
    import csv

    monkeypatch.setenv("KPI_INGEST_BATCH_ROWS", batch)
    path = tmp_path / "numbers.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, quoting=csv.QUOTE_ALL)
        writer.writerow(["Ref", "Day", "Count", "Loss"])
        writer.writerows([f"R{n}", "2025-01-01", count, loss]
                         for n, (count, loss) in enumerate(cells))
    kinds = [[_kinds(row[i]) for row in cells] for i in (0, 1)]

    def beside_a_decimal_comma(i: int, which: int) -> bool:
        return any(k[1] for k in kinds[i]) and any(k[which] for k in kinds[i])

    # Refused whole where a column's thousands or points could mean another number beside its
    # decimal commas: always for thousands and a float's points; a whole number's points (a
    # bad row already) where the batch writes a comma.
    must = any(beside_a_decimal_comma(i, 0) for i in (0, 1)) or beside_a_decimal_comma(1, 2)
    may = must or beside_a_decimal_comma(0, 2)
    try:
        frame = ingest.read_extracts(REF_SPEC, [path], skip_bad_rows=True).frame
    except DataError as refused:
        # Refused whole only where the file's commas are ambiguous, or every row is bad.
        ambiguity = "is written with a decimal comma, so the column's" in refused.message
        assert (ambiguity if must else (ambiguity and may)
                or "data rows were rejected" in refused.message), refused.message
        return
    assert not must, cells
    for ref, count, loss in frame.select("ref", "count", "loss").iter_rows():
        written = cells[int(ref[1:])]
        for stored, cell, kind in ((count, written[0], "count"), (loss, written[1], "loss")):
            reading = _number_reading(cell)
            assert reading != UNREAD, (kind, cell, stored)
            if reading is None:
                assert stored is None, (kind, cell, stored)
            elif kind == "count":
                assert stored == int(reading) and reading == int(reading), (cell, stored)
            else:
                assert stored == float(reading), (cell, stored)


@pytest.mark.parametrize("kind", ["csv", "parquet", "xlsx"])
def test_a_file_replaced_while_it_is_read_is_refused(tmp_path, monkeypatch, kind):
    """An export job renames a new extract over the old one while kpi reads it: the load
    hashed the old file's bytes and stored the new file's rows (its history naming a sha256
    the rows are not of), and a later load of the old file was "Nothing changed" over the new
    file's figures. The readers open the file again by name after the survey hashed it: a
    file that is no longer the one surveyed is refused, nothing loaded."""
    import polars as pl

    from kpi.ingest import stage

    frames = [pl.DataFrame({"Ref": [f"R{i}" for i in range(n)],
                            "Day": ["2025-01-02"] * n, "At": ["2025-01-02 08:30"] * n,
                            "Month": ["2025-01"] * n}) for n in (3, 4)]
    paths = [tmp_path / f"{name}.{kind}" for name in ("extract", "other")]
    for frame, path in zip(frames, paths, strict=True):
        if kind == "csv":
            frame.write_csv(path)
        elif kind == "parquet":
            frame.write_parquet(path)
        else:
            frame.write_excel(path)
    surveyed = stage._survey

    def survey_then_replace(path):
        got = surveyed(path)
        paths[1].replace(paths[0])  # renamed over it, as an export job publishes a file
        return got

    monkeypatch.setattr(stage, "_survey", survey_then_replace)
    with pytest.raises(DataError) as refused:
        ingest.read_extracts(SPEC, [paths[0]])
    assert refused.value.message == (
        f"{paths[0]}: the file changed while it was read (written to or replaced): nothing was "
        "loaded; load it again once it is written whole")
