"""Every reader stores the same rows, or refuses.

A seeded Hypothesis hunt: it draws a small dataset (a date column of type date, datetime or
month, and columns of every declared type: str, int, float, bool, date, datetime, month) and
rows of edge values (blanks, whitespace, Unicode in composed and decomposed forms, characters
that show nothing, zero, negatives, numbers past 2**53 and below 1e-300, many decimal places,
dates at month ends and on the nights the clocks change, times with and without offsets and
to the microsecond, and the dataset's time_zone: the UK's or another), then writes the same
rows with many writers and physical types:

- CSV: UTF-8 with and without a byte-order mark, Windows-1252, CRLF line breaks, every field
  quoted, and each value in a spelling kpi documents (30/09/2025, 1,234, £5, 1.50, 1e-07, yes);
- Parquet: int8 to int64, uint8 to uint64, float32 and float64, decimal128, string,
  large_string and dictionary-encoded strings, date32, timestamps in s, ms, us and ns with and
  without a zone (now and then all stored as INT96, Spark's default), bool;
- .xlsx (xlsxwriter): number, date (to the microsecond), true/false and text cells;
- SQLite (typed and as text), and PostgreSQL where its server can be started
  (`test_sql_source.postgres`).

Each is loaded into its own dataset of one project through `kpi.ingest.load` (as `kpi ingest`
loads it) and the stored Delta table read back. Each load must store exactly the rows the
drawn values mean, worked out here without kpi (text in NFC form and trimmed, a time without
an offset as the instant zoneinfo gives it in the dataset's zone, a month as its first day):
the same values and the same types, so every writer's table is the same table. Or it must refuse in
one line naming the file (or query), the row and the column. A time the dataset zone's clocks
show twice or never, without its offset, must be refused by every writer.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import sqlite3
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, event, example, given, seed, settings
from hypothesis import strategies as st

UK = ZoneInfo("Europe/London")
TYPES = ("str", "int", "float", "bool", "date", "datetime", "month")
EXAMPLES = int(os.environ.get("KPI_READERS_EXAMPLES", "40"))
SEED = int(os.environ.get("KPI_READERS_SEED", "20261205"))

# --- the values --------------------------------------------------------------------------

# Characters drawn into text: ASCII, Latin-1 and Windows-1252 letters and signs, a combining
# accent (so 'é' comes composed and decomposed), Greek, CJK and an emoji. Drawn from a fixed
# list so the NFC form is the same in every Unicode version.
LETTERS = ("abcXYZ019 -_.,;:'\"/&()#%+=*?!"
           "éÉèüÖñçßøÅ£€’—…" "\u0301" "ΩλЖ" "中文" "😀")
IGNORABLE = ("\u200b", "\u00ad", "\u2060", "\ufeff")  # shown as nothing: removed
SPACES = ("\u00a0", "\u2003")  # other spaces: a plain space
TEXTS = ["", " ", "  padded  ", "00123", "1-2", "50%", "NA", "N/A", "null", "NULL", "NaN", "\\N",
         "nan", "#N/A", "-", "true", "Ref", "=1+2", "e\u0301", "\u00e9", "Birmingham\u200b",
         "a\u00a0b", "\tx\t", "x\ty", "1,234", "£5", "Sept 2025", "2025-09"]


def _expected_text(value: str | None) -> str | None:
    """Text as kpi stores it (docs/catalogue.md, Identity): NFC, nothing that shows nothing,
    other spaces plain, trimmed; a blank is null."""
    if value is None:
        return None
    for mark in IGNORABLE:
        value = value.replace(mark, "")
    for space in SPACES:
        value = value.replace(space, " ")
    value = unicodedata.normalize("NFC", value).strip(" \t")
    return value or None


texts = st.one_of(st.sampled_from(TEXTS),
                  st.text(st.sampled_from(LETTERS + "".join(IGNORABLE + SPACES)), max_size=8))

INT_EDGES = [0, 1, -1, 127, -128, 255, 32767, 65535, 2**31 - 1, -2**31, 2**32, 999_999,
             1_000_000, 2**53, 2**53 + 1, -(2**53) - 1, 2**63 - 1, -(2**63), 10**15, 10**18]
ints = st.one_of(st.sampled_from(INT_EDGES), st.integers(-10**6, 10**6))

FLOAT_EDGES = [0.0, -0.0, 0.1, 0.5, -2.5, 1e-7, 1e-300, 5e-324, 2.2250738585072014e-308,
               1e300, 1.7976931348623157e308, 123456.789, 0.30000000000000004, 26.48,
               12345678.9, 1e15, 1e16, 9007199254740993.0, 3.141592653589793, 1 / 3]


def _decimal_float(places: int, digits: int, negative: bool) -> float:
    return float(Decimal(digits).scaleb(-places)) * (-1 if negative else 1)


floats = st.one_of(
    st.sampled_from(FLOAT_EDGES),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.builds(_decimal_float, st.integers(0, 12), st.integers(0, 10**12), st.booleans()))

# Dates: any in the years kpi takes, month ends, and the days the UK clocks change.
CLOCK_DAYS = [date(2024, 3, 31), date(2024, 10, 27), date(2025, 3, 30), date(2025, 10, 26),
              date(1996, 3, 31), date(1996, 10, 27),
              # New York's (at 02:00) and Lord Howe's (half an hour, at 02:00 and 02:30)
              date(2025, 3, 9), date(2025, 11, 2), date(2025, 4, 6), date(2025, 10, 5)]
# The dataset's time_zone, in which a time without an offset is read: the UK's most often;
# UTC; zones behind and ahead, one whose clocks move by half an hour, one that never moves.
ZONES = ["Europe/London", "Europe/London", "UTC", "America/New_York", "Australia/Lord_Howe",
         "Asia/Kolkata"]


def _month_end(year: int, month: int) -> date:
    return (date(year, month, 28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


dates = st.one_of(
    st.dates(date(1990, 1, 2), date(2026, 12, 30)),
    st.builds(_month_end, st.integers(1990, 2026), st.integers(1, 12)),
    st.builds(lambda y, m: date(y, m, 1), st.integers(1990, 2026), st.integers(1, 12)),
    st.builds(lambda y: date(y, 2, 29), st.sampled_from([1992, 2000, 2020, 2024])),
    st.sampled_from(CLOCK_DAYS))
clock_times = st.sampled_from([time(0, 0), time(0, 30), time(0, 59, 59), time(1, 0),
                               time(1, 30), time(1, 59, 59), time(2, 0), time(2, 30),
                               time(23, 30), time(23, 59, 59), time(23, 59, 59, 999_999)])
times = st.one_of(clock_times,
                  st.builds(time, st.integers(0, 23), st.integers(0, 59), st.integers(0, 59),
                            st.sampled_from([0, 0, 0, 500_000, 123_000, 123_456, 999_999,
                                             1])))
OFFSETS = [timedelta(0), timedelta(hours=1), timedelta(hours=-5), timedelta(hours=5, minutes=30),
           timedelta(hours=14), timedelta(hours=-12)]


@st.composite
def datetimes(draw, style: str):
    moment = datetime.combine(draw(dates), draw(times))
    aware = style == "aware" or (style == "mixed" and draw(st.booleans()))
    if aware:
        moment = moment.replace(tzinfo=timezone(draw(st.sampled_from(OFFSETS))))
    return moment


def _instant(moment: datetime, zone: str) -> datetime | None:
    """The instant a datetime names, in UTC: one with an offset is that instant; one without
    is a wall-clock time of the dataset's `zone`, None where its clocks show it twice or
    never."""
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    first = moment.replace(tzinfo=ZoneInfo(zone), fold=0)
    second = moment.replace(tzinfo=ZoneInfo(zone), fold=1)
    if first.utcoffset() != second.utcoffset():
        return None  # shown twice (fold) or never (gap): zoneinfo gives two readings
    return first.astimezone(UTC)


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    style: str = ""  # a datetime column's: naive, aware or mixed


@dataclass
class Spec:
    columns: list[Column]  # the first is the date column
    rows: list[dict[str, object]]
    zone: str = "Europe/London"  # the dataset's time_zone

    @property
    def date(self) -> Column:
        return self.columns[0]


def _value(draw, column: Column, blank: bool):
    if blank and draw(st.integers(0, 4)) == 0:
        return None
    match column.type:
        case "str":
            return draw(texts)
        case "int":
            return draw(ints)
        case "float":
            return draw(floats)
        case "bool":
            return draw(st.booleans())
        case "date" | "month":
            return draw(dates)
        case "datetime":
            return draw(datetimes(column.style))
    raise AssertionError(column.type)


@st.composite
def specs(draw) -> Spec:
    styles = ["naive", "aware", "mixed"]
    date_type = draw(st.sampled_from(["date", "datetime", "month"]))
    columns = [Column("when", date_type, draw(st.sampled_from(styles))
                      if date_type == "datetime" else "")]
    kinds = draw(st.lists(st.sampled_from(TYPES), min_size=2, max_size=6))
    for index, kind in enumerate(kinds):
        columns.append(Column(f"{kind}_{index}", kind,
                              draw(st.sampled_from(styles)) if kind == "datetime" else ""))
    rows = []
    for number in range(draw(st.integers(1, 6))):
        row: dict[str, object] = {"ref": f"R{number:02d}"}
        for column in columns:
            row[column.name] = _value(draw, column, blank=column is not columns[0])
        rows.append(row)
    return Spec(columns, rows, draw(st.sampled_from(ZONES)))


# --- what the rows mean ------------------------------------------------------------------

def _meant(column: Column, value, zone: str):
    """A value as the store should hold it; raises _Refused where every reader must refuse."""
    if value is None:
        return None
    match column.type:
        case "str":
            # what a tool writes for no value is refused: an export's null (NULL, \N, null),
            # R's NA, pandas' or a database's NaN (as written) and a spreadsheet's error value
            # (#N/A): stored, it was a part of that name (docs/guarantees.md); 'N/A' loads
            if _expected_text(value) in ("NULL", "\\N", "null", "NA", "NaN", "nan", "#N/A"):
                raise _Refused
            return _expected_text(value)
        case "int":
            if not -(2**63) <= value < 2**63:
                raise _Refused
            return value
        case "float":
            return value
        case "bool" | "date":
            return value
        case "month":
            return value.replace(day=1)
        case "datetime":
            instant = _instant(value, zone)
            if instant is None:
                raise _Refused
            return instant
    raise AssertionError(column.type)


class _Refused(Exception):
    """The drawn rows hold a value every reader must refuse."""


def _month_of(column: Column, value, zone: str) -> str:
    """The stored month: a time's is the UK month of its instant, whatever zone read it."""
    if column.type == "datetime":
        instant = _instant(value, zone)
        assert instant is not None
        value = instant.astimezone(UK)
    return f"{value.year:04d}-{value.month:02d}"


def expected_rows(spec: Spec) -> list[tuple] | None:
    """The stored table's rows (sorted by ref), or None where the load must be refused."""
    try:
        rows = []
        for row in spec.rows:
            values = [row["ref"]] + [_meant(c, row[c.name], spec.zone) for c in spec.columns]
            rows.append((*values, _month_of(spec.date, row[spec.date.name], spec.zone)))
    except _Refused:
        return None
    return sorted(rows, key=lambda r: r[0])


STORED_TYPES = {"str": pl.String, "int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean,
                "date": pl.Date, "month": pl.Date,
                "datetime": pl.Datetime("us", "UTC")}


def _key(value):
    """Values compared exactly: a float by its bits (but for the sign of a zero, which SQLite
    does not keep and no figure shows), an instant in UTC."""
    if isinstance(value, float):
        return ("float", (value or 0.0).hex())
    if isinstance(value, datetime):
        return ("instant", value.astimezone(UTC).isoformat())
    return value


def _keys(rows: list[tuple]) -> list[tuple]:
    return [tuple(_key(v) for v in row) for row in rows]


# --- the writers -------------------------------------------------------------------------

class Written:
    """A file's bytes, shown by how it was written (Hypothesis prints every value drawn)."""

    def __init__(self, name: str, content: bytes):
        self.name, self.content = name, content

    def __repr__(self) -> str:
        return f"Written({self.name!r})"


def _iso(value: datetime) -> str:
    text = value.isoformat(sep=" ")
    return text


@st.composite
def spellings(draw, column: Column, value) -> str:
    """A value as an extract's text may write it (docs/catalogue.md)."""
    if value is None:
        return draw(st.sampled_from(["", " "]))
    match column.type:
        case "str":
            return value
        case "int":
            forms = [str(value), f"{value:,}", f" {value} "]
            if value >= 0:
                forms += [f"£{value:,}", f"{value}.0"]
            return draw(st.sampled_from(forms))
        case "float":
            text = repr(value)
            forms = [text, text.upper() if "e" in text else text]
            if "e" not in text and "." in text:
                forms.append(text + "00")
            exact = Decimal(text)
            plain = format(exact, "f")
            if len(plain) <= 40:
                forms.append(plain)
                if abs(value) >= 1000 and len(plain) <= 30:
                    forms.append(format(exact, ",f"))
            return draw(st.sampled_from(forms))
        case "bool":
            words = (["true", "TRUE", "True", "yes", "Y", "y", "1", "t"] if value
                     else ["false", "FALSE", "no", "N", "n", "0", "f"])
            return draw(st.sampled_from(words))
        case "date":
            return draw(st.sampled_from([value.isoformat(), value.strftime("%d/%m/%Y"),
                                         value.strftime("%d-%m-%Y"), value.strftime("%Y/%m/%d"),
                                         value.isoformat() + " 00:00:00"]))
        case "month":
            return draw(st.sampled_from([value.strftime("%Y-%m"), value.strftime("%m/%Y"),
                                         value.isoformat(), value.strftime("%d/%m/%Y"),
                                         value.isoformat() + " 00:00"]))
        case "datetime":
            forms = [_iso(value), value.isoformat()]
            if value.tzinfo is None:
                if not value.microsecond:
                    forms += [value.strftime("%d/%m/%Y %H:%M:%S"),
                              value.strftime("%Y-%m-%dT%H:%M:%S")]
                    if not value.second:
                        forms += [value.strftime("%Y-%m-%d %H:%M"),
                                  value.strftime("%d/%m/%Y %H:%M")]
            return draw(st.sampled_from(forms))
    raise AssertionError(column.type)


def _canonical(column: Column, value) -> str:
    if value is None:
        return ""
    match column.type:
        case "str" | "int" | "date":
            return str(value)
        case "float":
            return repr(value)
        case "bool":
            return "true" if value else "false"
        case "month":
            return value.strftime("%Y-%m")
        case "datetime":
            return value.isoformat()
    raise AssertionError(column.type)


@st.composite
def csv_writers(draw, spec: Spec):
    """The rows as a CSV file: an encoding, line break, quoting and spelling of each value."""
    names = ["ref", *[c.name for c in spec.columns]]
    cells = [[row["ref"], *[draw(spellings(c, row[c.name])) for c in spec.columns]]
             for row in spec.rows]
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=ending, quoting=quoting)
    writer.writerow(names)
    writer.writerows(cells)
    text = out.getvalue()
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        encoding, data = "utf-8", text.encode("utf-8")
    return Written(f"csv {encoding} {'crlf' if ending == chr(13) + chr(10) else 'lf'} "
                   f"{'quoted' if quoting == csv.QUOTE_ALL else 'minimal'}", data)


def _canonical_csv(spec: Spec) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["ref", *[c.name for c in spec.columns]])
    for row in spec.rows:
        writer.writerow([row["ref"], *[_canonical(c, row[c.name]) for c in spec.columns]])
    return out.getvalue().encode("utf-8")


def _int_types(values: list[int]) -> list[str]:
    import numpy as np

    present = [v for v in values if v is not None]
    found = []
    for name in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"):
        info = np.iinfo(name)
        if all(info.min <= v <= info.max for v in present):
            found.append(name)
    if all(abs(v) <= 2**53 for v in present):
        found.append("float64")
    found += ["decimal", "string"]
    return found


def _float_types(values: list[float]) -> list[str]:
    import numpy as np

    present = [v for v in values if v is not None]
    found = ["float64", "string"]
    with np.errstate(over="ignore"):
        # a float32 is read as its shortest decimal (0.1), so one that writes each value
        fits = all(np.isfinite(np.float32(v)) and Decimal(str(np.float32(v))) == Decimal(repr(v))
                   for v in present)
    if fits:
        found.append("float32")
    if all(Decimal(repr(v)).as_tuple().exponent >= -30 and len(format(Decimal(repr(v)), "f"))
           <= 36 for v in present):
        found.append("decimal")
    return found


@st.composite
def parquet_writers(draw, spec: Spec):
    """The rows as a Parquet file, each column of a physical type drawn from those that hold
    its values."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {"ref": pa.array([r["ref"] for r in spec.rows], pa.string())}
    chosen = []
    for column in spec.columns:
        values = [r[column.name] for r in spec.rows]
        present = [v for v in values if v is not None]
        match column.type:
            case "str":
                kind = draw(st.sampled_from(["string", "large_string", "dictionary"]))
                array = pa.array(values, pa.large_string() if kind == "large_string"
                                 else pa.string())
                if kind == "dictionary":
                    array = array.dictionary_encode()
            case "int":
                kind = draw(st.sampled_from(_int_types(values)))
                if kind == "decimal":
                    array = pa.array([None if v is None else Decimal(v) for v in values],
                                     pa.decimal128(38, 0))
                elif kind == "string":
                    array = pa.array([None if v is None else str(v) for v in values])
                else:
                    array = pa.array(values, getattr(pa, kind)())
            case "float":
                kind = draw(st.sampled_from(_float_types(values)))
                if kind == "decimal":
                    scale = max([-Decimal(repr(v)).as_tuple().exponent for v in present] + [0])
                    array = pa.array([None if v is None else Decimal(repr(v)) for v in values],
                                     pa.decimal128(38, scale))
                elif kind == "string":
                    array = pa.array([None if v is None else repr(v) for v in values])
                elif kind == "float32":
                    array = pa.array(values, pa.float32())
                else:
                    array = pa.array(values, pa.float64())
            case "bool":
                kind = draw(st.sampled_from(["bool", "string"]))
                array = (pa.array(values, pa.bool_()) if kind == "bool" else
                         pa.array([None if v is None else _canonical(column, v)
                                   for v in values]))
            case "date" | "month":
                kind = draw(st.sampled_from(["date32", "s", "ms", "us", "ns", "string",
                                             "UTC", "Europe/London"]))
                if kind == "date32":
                    array = pa.array(values, pa.date32())
                elif kind == "string":
                    array = pa.array([None if v is None else _canonical(column, v)
                                      for v in values])
                elif kind in ("UTC", "Europe/London"):
                    # the UK midnight of each date, as an instant
                    moments = [None if v is None else datetime.combine(v, time(0), UK)
                               for v in values]
                    array = pa.array(moments, pa.timestamp("us", kind))
                else:
                    array = pa.array([None if v is None else datetime.combine(v, time(0))
                                      for v in values], pa.timestamp(kind))
            case "datetime":
                units = [u for u in ("s", "ms", "us", "ns")
                         if all(v.microsecond % {"s": 10**6, "ms": 1000}.get(u, 1) == 0
                                for v in present)]
                zones = ["string"]
                if column.style == "naive":
                    zones += ["naive"] * 3
                elif all(_instant(v, spec.zone) is not None for v in present):
                    zones += ["UTC", "Europe/London", "America/New_York"]
                zone = draw(st.sampled_from(zones))
                unit = draw(st.sampled_from(units))
                kind = f"{zone} {unit}" if zone != "string" else zone
                if zone == "string":
                    array = pa.array([None if v is None else _canonical(column, v)
                                      for v in values])
                elif zone == "naive":
                    array = pa.array(values, pa.timestamp(unit))
                else:
                    instants = [None if v is None else _instant(v, spec.zone) for v in values]
                    array = pa.array(instants, pa.timestamp(unit, zone))
            case _:
                raise AssertionError(column.type)
        arrays[column.name] = array
        chosen.append(f"{column.name}:{kind}")
    # Now and then every timestamp as INT96, Spark's and Hive's default (a naive one read in
    # the dataset's declared zone, as its naive timestamp is; the catalogue always declares it)
    table = pa.table(arrays)
    int96 = any(pa.types.is_timestamp(f.type) for f in table.schema) and \
        draw(st.sampled_from([False, False, False, True]))
    buffer = io.BytesIO()
    pq.write_table(table, buffer, use_deprecated_int96_timestamps=int96)
    return Written("parquet " + " ".join(chosen) + (" as INT96" if int96 else ""),
                   buffer.getvalue())


def _fits_a_cell(value: float) -> bool:
    """Whether xlsxwriter writes the float exactly (it writes 16 significant digits)."""
    return float(f"{value:.16G}") == value


def _fits_a_date_cell(value: datetime) -> bool:
    """Whether the serial day number xlsxwriter writes for the time (to 16 significant
    digits, some 0.9 microseconds) holds the time: a whole millisecond always; else the
    time is the serial's nearest microsecond, and no whole millisecond a few microseconds
    from it is written, by a writer of as many digits as the text shows or more, as the
    same text (it would be read instead, as the rounder)."""
    from xlsxwriter.utility import _datetime_to_excel_datetime

    if value.microsecond % 1000 == 0:
        return True
    serial = Decimal(f"{_datetime_to_excel_datetime(value, False, False):.16G}")
    micro = int((serial * 86_400_000_000).to_integral_value())
    if datetime(1899, 12, 30) + timedelta(microseconds=micro) != value:
        return False
    shown = len(serial.normalize().as_tuple().digits)
    for step in range(-8, 9):
        other = value + timedelta(microseconds=step)
        if other.microsecond % 1000 == 0 and any(
                Decimal(f"{_datetime_to_excel_datetime(other, False, False):.{d}G}") == serial
                for d in (15, 16, 17) if d >= shown):
            return False
    return True


@st.composite
def xlsx_writers(draw, spec: Spec):
    """The rows as an .xlsx workbook: number, date, true/false or text cells, drawn per
    column."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Extract")
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["ref", *[c.name for c in spec.columns]])
    chosen = []
    for index, column in enumerate(spec.columns, start=1):
        values = [r[column.name] for r in spec.rows]
        present = [v for v in values if v is not None]
        cells = ["text"]
        if column.type == "int":
            cells += ["number"]
        elif column.type == "float" and all(_fits_a_cell(v) for v in present):
            cells += ["number"]
        elif column.type == "bool":
            cells += ["boolean"]
        elif column.type in ("date", "month"):
            cells += ["date", "serial"]
        elif column.type == "datetime" and column.style == "naive" and all(
                _fits_a_date_cell(v) for v in present):
            cells += ["date"]  # a date cell's time to the microsecond
        kind = draw(st.sampled_from(cells))
        chosen.append(f"{column.name}:{kind}")
        for number, value in enumerate(values, start=1):
            if value is None:
                continue
            if kind == "text":
                sheet.write_string(number, index, draw(spellings(column, value)))
            elif kind == "number":
                sheet.write_number(number, index, value)
            elif kind == "boolean":
                sheet.write_boolean(number, index, value)
            elif kind == "serial":
                sheet.write_number(number, index, (value - date(1899, 12, 30)).days)
            elif column.type == "datetime":
                sheet.write_datetime(number, index, value, stamp)
            else:
                sheet.write_datetime(number, index, datetime.combine(value, time(0)), day)
    for number, row in enumerate(spec.rows, start=1):
        sheet.write_string(number, 0, row["ref"])
    book.close()
    return Written("xlsx " + " ".join(chosen), buffer.getvalue())


SQLITE_TYPES = {"str": "TEXT", "int": "INTEGER", "float": "REAL", "bool": "INTEGER",
                "date": "TEXT", "month": "TEXT", "datetime": "TEXT"}


def _sqlite_value(column: Column, value, typed: bool):
    if value is None:
        return None
    if typed and column.type in ("int", "float"):
        return value
    if typed and column.type == "bool":
        return int(value)
    return _canonical(column, value)


def write_sqlite(path: Path, spec: Spec, typed: bool) -> None:
    names = ["ref", *[c.name for c in spec.columns]]
    kinds = ["TEXT", *[SQLITE_TYPES[c.type] if typed else "TEXT" for c in spec.columns]]
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE rows (" + ", ".join(
            f'"{n}" {k}' for n, k in zip(names, kinds, strict=True)) + ")")
        db.executemany(f"INSERT INTO rows VALUES ({', '.join('?' * len(names))})",
                       [(r["ref"], *[_sqlite_value(c, r[c.name], typed) for c in spec.columns])
                        for r in spec.rows])
    # SQLite's INTEGER holds -2**63 .. 2**63-1; larger were refused by _meant already


PG_TYPES = {"str": "text", "int": "bigint", "float": "double precision", "bool": "boolean",
            "date": "date", "month": "date", "datetime": "timestamp"}


def _pg_literal(column: Column, value) -> str:
    if value is None:
        return "NULL"
    match column.type:
        case "str":
            return "$q$" + value + "$q$"
        case "int":
            return str(value)
        case "float":
            return "'" + repr(value) + "'::float8"
        case "bool":
            return "true" if value else "false"
        case "date" | "month":
            return f"'{value.isoformat()}'::date"
        case "datetime":
            if value.tzinfo is not None:
                return f"'{value.isoformat()}'::timestamptz"
            return f"'{value.isoformat()}'::timestamp"
    raise AssertionError(column.type)


def write_postgres(sql, table: str, spec: Spec) -> None:
    kinds = []
    for column in spec.columns:
        kind = PG_TYPES[column.type]
        if column.type == "datetime" and column.style != "naive":
            kind = "timestamptz" if column.style == "aware" else "text"
        kinds.append(kind)
    columns = ", ".join(["ref text", *[f'"{c.name}" {k}' for c, k in
                                       zip(spec.columns, kinds, strict=True)]])
    rows = []
    for row in spec.rows:
        cells = [f"'{row['ref']}'"]
        for column, kind in zip(spec.columns, kinds, strict=True):
            value = row[column.name]
            mixed = column.type == "datetime" and kind == "text"  # offsets on some rows only
            cells.append("'" + value.isoformat() + "'" if mixed and value is not None
                         else _pg_literal(column, value))
        rows.append("(" + ", ".join(cells) + ")")
    sql(f"CREATE TABLE {table} ({columns}); INSERT INTO {table} VALUES {', '.join(rows)}; "
        f"GRANT SELECT ON {table} TO analyst")


# --- the loads ---------------------------------------------------------------------------

SQLITE_ENV, PG_ENV = "KPI_READERS_SQLITE", "KPI_READERS_PG"


def _catalogue(spec: Spec, writers: list[tuple[str, str]]) -> str:
    """kpi.toml: one dataset per writer, each of the same columns; a database writer's with
    its query."""
    columns = "\n".join(['ref = "str"', *[f'{c.name} = "{c.type}"' for c in spec.columns]])
    text = '[project]\nname = "Readers"\nbaseline = "2025-01"\n'
    for index, (_, source) in enumerate(writers):
        text += f'\n[datasets.w{index}]\ndate = "when"\ntime_zone = "{spec.zone}"\n{source}\n'
        text += f"[datasets.w{index}.columns]\n{columns}\n"
    return text


def _stored(project: Path, dataset: str) -> pl.DataFrame:
    """The stored table, read straight from Delta (not through kpi's store module)."""
    from deltalake import DeltaTable

    frame = pl.from_arrow(DeltaTable(str(project / "data" / dataset)).to_pyarrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def _located(message: str, name: str) -> bool:
    """Whether a refusal is one line naming the source, a row and a column (no row where the
    column's own type is refused, as an INT96 timestamp's is: no row is worse than another)."""
    whole_column = "a timestamp stored as INT96" in message
    return ("\n" not in message and name in message and "column '" in message
            and (whole_column or re.search(r"\brow \d+", message) is not None))


@pytest.fixture(scope="module")
def database():
    """PostgreSQL's server where it can be started (test_sql_source.postgres), else None."""
    try:
        from test_sql_source import postgres as server
    except pytest.skip.Exception:  # the sql extra is not installed
        yield None
        return
    generator = server.__wrapped__()
    try:
        found = next(generator)
    except pytest.skip.Exception:
        yield None
        return
    try:
        yield found
    finally:
        next(generator, None)


RESULTS: dict[str, int] = {}
REFUSED: list[str] = []  # refusals of rows another writer stored as meant


def _hunt(spec: Spec, data: st.DataObject, database) -> None:
    import kpi
    from kpi.errors import KpiError

    expected = expected_rows(spec)
    with tempfile.TemporaryDirectory(prefix="kpi-readers-") as folder:
        root = Path(folder)
        files: list[tuple[str, Path | None]] = []  # (writer, file) per dataset
        sources: list[tuple[str, str]] = []

        def add(name: str, suffix: str, content: bytes) -> None:
            path = root / f"w{len(files)}{suffix}"
            path.write_bytes(content)
            files.append((name, path))
            sources.append((name, ""))

        add("csv canonical", ".csv", _canonical_csv(spec))
        written = data.draw(csv_writers(spec))
        add(written.name, ".csv", written.content)
        for _ in range(2):
            written = data.draw(parquet_writers(spec))
            add(written.name, ".parquet", written.content)
        written = data.draw(xlsx_writers(spec))
        add(written.name, ".xlsx", written.content)
        select = ", ".join(['"ref"', *[f'"{c.name}"' for c in spec.columns]])
        for typed in (True, False):
            db = root / f"warehouse-{int(typed)}.db"
            write_sqlite(db, spec, typed)
            files.append((f"sqlite {'typed' if typed else 'text'}", db))
            sources.append((files[-1][0], f'source = {{ uri_env = "{SQLITE_ENV}{int(typed)}", '
                                          f"query = 'SELECT {select} FROM rows ORDER BY ref' }}"))
        if database is not None:
            table = f"rows_{abs(hash((str(spec), folder))) % 10**12}"
            write_postgres(database["sql"], table, spec)
            files.append(("postgresql", None))
            sources.append(("postgresql", f'source = {{ uri_env = "{PG_ENV}", '
                                          f"query = 'SELECT {select} FROM {table} "
                                          "ORDER BY ref' }"))
        (root / "kpi.toml").write_text(_catalogue(spec, sources), encoding="utf-8")
        env = {f"{SQLITE_ENV}1": f"sqlite:///{root / 'warehouse-1.db'}",
               f"{SQLITE_ENV}0": f"sqlite:///{root / 'warehouse-0.db'}"}
        if database is not None:
            env[PG_ENV] = database["uri"]
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            project = kpi.open(root)
            outcomes = {}
            for index, (name, path) in enumerate(files):
                dataset = f"w{index}"
                try:
                    if path is None or path.suffix == ".db":
                        project.ingest(dataset, from_source=True)
                    else:
                        project.ingest(dataset, [path])
                except KpiError as exc:
                    message = str(exc)
                    shown = "query" if path is None or path.suffix == ".db" else path.name
                    assert _located(message, shown), (
                        f"{name}: refused without naming its file, row and column: {message}")
                    outcomes[name] = ("refused", message)
                    continue
                outcomes[name] = ("stored", _stored(root, dataset))
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    names = ["ref", *[c.name for c in spec.columns], "month"]
    schema = {"ref": pl.String, **{c.name: STORED_TYPES[c.type] for c in spec.columns},
              "month": pl.String}
    wrong = []
    for name, (outcome, found) in outcomes.items():
        RESULTS[f"{name.split()[0]} {outcome}"] = RESULTS.get(f"{name.split()[0]} {outcome}",
                                                              0) + 1
        if outcome == "refused":
            if expected is not None and name == "csv canonical":
                wrong.append(f"{name}: refused rows it should store: {found}")
            elif expected is not None:
                REFUSED.append(f"{name}: {found}")  # --hypothesis-show-statistics lists them
                event(f"refused, valid: {name.split()[0]}")
            continue
        if expected is None:
            wrong.append(f"{name}: stored rows that every reader must refuse")
            continue
        table = found.select(names).sort("ref")
        if dict(table.schema) != schema:
            wrong.append(f"{name}: stored types {dict(table.schema)}, expected {schema}")
            continue
        got = _keys(table.rows())
        want = _keys(expected)
        if got != want:
            diff = [(g, w) for g, w in zip(got, want, strict=True) if g != w]
            wrong.append(f"{name}: stored {diff[0][0]}, expected {diff[0][1]}")
    assert not wrong, "\n".join([repr(spec), *wrong])


# Shrinking a failure of eight loads takes many minutes: KPI_READERS_SHRINK=1 asks for it.
PHASES = ([Phase.explicit, Phase.generate, Phase.shrink]
          if os.environ.get("KPI_READERS_SHRINK") else [Phase.explicit, Phase.generate])


@seed(SEED)
@settings(max_examples=EXAMPLES, deadline=None, database=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(spec=specs(), data=st.data())
def test_every_reader_stores_the_rows_the_values_mean_or_refuses(spec, data, database):
    _hunt(spec, data, database)


# --- the classes it found, each pinned --------------------------------------------------

SPEC_ROWS = """[project]
name = "Pinned"
baseline = "2025-01"

[datasets.d]
date = "day"
[datasets.d.columns]
ref = "str"
day = "date"
place = "str"
rate = "float"
count = "int"
"""


def _load(folder: Path, path: Path) -> pl.DataFrame:
    import kpi

    (folder / "kpi.toml").write_text(SPEC_ROWS, encoding="utf-8")
    kpi.open(folder).ingest("d", [path])
    return _stored(folder, "d").sort("ref")


def test_an_excel_number_cell_is_stored_as_its_float_not_to_nine_places(tmp_path):
    """fastexcel writes a number cell as text to nine decimal places: 1/3 was stored as
    0.333333333, pi as 3.141592654 and 4e-10 as 0, exit 0, where the CSV of the same rows
    stored the float. A text cell keeps its text (one of more digits than a float holds is
    still refused)."""
    import xlsxwriter

    rates = [1 / 3, math.pi, 4e-10, -3.48929e-06, 1.23456789012e-05, 0.1, 26.48]
    path = tmp_path / "d.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["ref", "day", "place", "rate", "count"])
    for row, rate in enumerate(rates, start=1):
        sheet.write_row(row, 0, [f"R{row}", "2025-01-02", "Dudley"])
        sheet.write_number(row, 3, rate)
        sheet.write_number(row, 4, row * 1000)
    sheet.write_row(len(rates) + 1, 0, ["R9", "2025-01-02", "Dudley", "12.50", "7"])
    book.close()
    stored = _load(tmp_path, path)
    assert stored["rate"].to_list() == [*rates, 12.5]  # R1..R7, R9: the floats themselves
    assert stored["count"].to_list() == [1000, 2000, 3000, 4000, 5000, 6000, 7000, 7]
    assert sum(stored["rate"].to_list()[:2]) == 1 / 3 + math.pi


def test_dictionary_encoded_parquet_text_is_cleaned_as_text(tmp_path):
    """A dictionary of strings (pandas' category) was read as a Categorical and stored as
    written: '  Dudley ' and 'Dudley\\u200b' beside the 'Dudley' of every other reader, and
    a blank as '' where they store null."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    places = ["  Dudley ", "Dudley\u200b", "", "Cafe\u0301", None]
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({
        "ref": [f"R{n}" for n in range(len(places))],
        "day": pa.array([date(2025, 1, 2)] * len(places), pa.date32()),
        "place": pa.array(places, pa.string()).dictionary_encode(),
        "rate": [0.5] * len(places), "count": [1] * len(places)}), path)
    stored = _load(tmp_path, path)
    assert stored["place"].to_list() == ["Dudley", "Dudley", None, "Caf\u00e9", None]
    assert stored.schema["place"] == pl.String


def test_an_excel_number_past_2_53_in_a_whole_number_column_is_refused(tmp_path):
    """A cell holds a float: 9007199254740993 written to one is held as 9007199254740992,
    which was stored in an `int` column with exit 0. It is refused naming its row."""
    import xlsxwriter

    import kpi
    from kpi.errors import DataError

    path = tmp_path / "d.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["ref", "day", "place", "rate", "count"])
    sheet.write_row(1, 0, ["R1", "2025-01-02", "Dudley", 0.5, 5])
    sheet.write_row(2, 0, ["R2", "2025-01-02", "Dudley", 0.5])
    sheet.write_number(2, 4, 2**53 + 1)
    book.close()
    (tmp_path / "kpi.toml").write_text(SPEC_ROWS, encoding="utf-8")
    with pytest.raises(DataError) as refused:
        kpi.open(tmp_path).ingest("d", [path])
    assert "row 3, column 'count': expected a whole number, found '9007199254740992.0'" in str(
        refused.value)
    assert not (tmp_path / "data" / "d").exists()


def test_a_database_column_of_nulls_loads_as_a_blank_column(tmp_path, monkeypatch):
    """SQLite's driver types a column by its values: a date column NULL on every row came as
    Int64 and was refused as the wrong type, where the CSV of the same rows loads."""
    pytest.importorskip("adbc_driver_sqlite", reason="the sql extra is not installed")
    import kpi

    db = tmp_path / "w.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (ref TEXT, day TEXT, place TEXT, rate REAL, count INTEGER,"
                     " seen TEXT)")
        conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, NULL)",
                         [("R1", "2025-01-02", "Dudley", 0.5, 1), ("R2", "2025-01-03", None,
                                                                    None, None)])
    source = ('source = { uri_env = "KPI_READERS_NULLS", query = "SELECT ref, day, place, '
              'rate, count, seen FROM t ORDER BY ref" }\n')
    (tmp_path / "kpi.toml").write_text(
        SPEC_ROWS.replace('date = "day"\n', 'date = "day"\n' + source)
        + 'seen = { type = "date", required = false }\n', encoding="utf-8")
    monkeypatch.setenv("KPI_READERS_NULLS", f"sqlite:///{db}")
    kpi.open(tmp_path).ingest("d", from_source=True)
    stored = _stored(tmp_path, "d").sort("ref")
    assert stored.select("ref", "place", "rate", "count", "seen").rows() == [
        ("R1", "Dudley", 0.5, 1, None), ("R2", None, None, None, None)]
    assert stored.schema["seen"] == pl.Date


def test_an_excel_date_cell_keeps_its_time_to_the_microsecond(tmp_path):
    """fastexcel gives a date cell's time to the millisecond: 03:04:05.123456 was stored as
    03:04:05.123, and 23:59:59.999999 on 31 January as midnight on 1 February, a row in the
    next month, exit 0, where the CSV of the same rows stored the time written. The serial day
    number in the sheet's XML is read to the microsecond (excel_reader._times_in_full); in a
    dataset whose time_zone is not the UK's, too."""
    import xlsxwriter

    import kpi

    moments = [datetime(2025, 1, 31, 23, 59, 59, 999_999), datetime(2025, 1, 2, 3, 4, 5, 123_456),
               datetime(2025, 1, 2, 3, 4, 5, 1), datetime(2025, 1, 2, 3, 4, 5, 500_000),
               datetime(2025, 1, 2, 3, 4, 5)]
    path = tmp_path / "d.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    sheet.write_row(0, 0, ["ref", "when"])
    for row, moment in enumerate(moments, start=1):
        sheet.write_string(row, 0, f"R{row}")
        sheet.write_datetime(row, 1, moment, stamp)
    book.close()
    for zone in ("Europe/London", "America/New_York"):
        folder = tmp_path / zone.replace("/", "-")
        folder.mkdir()
        (folder / "kpi.toml").write_text(
            f'[project]\nname = "Times"\nbaseline = "2025-01"\n\n[datasets.d]\ndate = "when"\n'
            f'time_zone = "{zone}"\n[datasets.d.columns]\nref = "str"\nwhen = "datetime"\n',
            encoding="utf-8")
        kpi.open(folder).ingest("d", [path])
        stored = _stored(folder, "d").sort("ref")
        assert stored["when"].to_list() == [m.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
                                            for m in moments], zone
        months = [m.replace(tzinfo=ZoneInfo(zone)).astimezone(UK).strftime("%Y-%m")
                  for m in moments]
        assert stored["month"].to_list() == months, zone


def test_a_text_cell_of_characters_that_show_nothing_is_a_blank(tmp_path):
    """The identity rule removes characters that show nothing, then trims, and nothing left is
    a blank; a cell holding only a word joiner or a zero-width space (with spaces or not) was
    refused instead ("expected text, found ' \\u2060'"), where a cell of spaces loads as a
    blank. It is a blank now, in CSV and Parquet alike; an id left blank so is refused as a
    blank id."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import kpi
    from kpi.errors import DataError

    places = ["\u2060", " \u200b\u00a0", "\ufeff ", "Dudley\u2060", " "]
    csv_path = tmp_path / "d.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["ref", "day", "place", "rate", "count"])
        writer.writerows([f"R{n}", "2025-01-02", place, "0.5", "1"]
                         for n, place in enumerate(places))
    parquet_path = tmp_path / "d.parquet"
    pq.write_table(pa.table({
        "ref": [f"R{n}" for n in range(len(places))],
        "day": pa.array([date(2025, 1, 2)] * len(places), pa.date32()),
        "place": places, "rate": [0.5] * len(places), "count": [1] * len(places)}),
        parquet_path)
    for path in (csv_path, parquet_path):
        folder = tmp_path / path.suffix[1:]
        folder.mkdir()
        stored = _load(folder, path)
        assert stored["place"].to_list() == [None, None, None, "Dudley", None], path.name
    (tmp_path / "unique").mkdir()
    (tmp_path / "unique" / "kpi.toml").write_text(
        SPEC_ROWS.replace('date = "day"\n', 'date = "day"\nunique = "ref"\n'), encoding="utf-8")
    csv_path.write_text("ref,day,place,rate,count\n\u2060,2025-01-02,x,0.5,1\n", encoding="utf-8")
    with pytest.raises(DataError) as refused:
        kpi.open(tmp_path / "unique").ingest("d", [csv_path])
    assert "row 2, column 'ref': expected an id (dataset 'd' declares 'ref' unique), found a " \
           "blank" in str(refused.value)


CALLS = """
[project]
name = "Calls"
baseline = "2025-01"

[datasets.calls]
date = "at"

[datasets.calls.columns]
ref = { type = "str", from = ["Ref"] }
at = { type = "datetime", from = ["Created"] }
day = { type = "date", from = ["Day"] }
lpa = { type = "str", from = ["LPA"] }
seconds = { type = "float", from = ["Seconds"] }
answered = { type = "int", from = ["Answered"] }

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "calls"
title = "Calls"
priority = "p"
kind = "count"
dataset = "calls"
better = "neutral"
breakdowns = ["lpa"]

[[kpis]]
id = "answered"
title = "Answered"
priority = "p"
kind = "sum"
dataset = "calls"
value = "answered"
better = "higher"

[[kpis]]
id = "mean_seconds"
title = "Mean answer time"
priority = "p"
kind = "mean"
dataset = "calls"
value = "seconds"
unit = "seconds"
better = "lower"

[[kpis]]
id = "late_days"
title = "Calls of the last day of a month"
priority = "p"
kind = "count"
dataset = "calls"
filter = "day IN (DATE '2025-01-31', DATE '2025-02-28', DATE '2025-12-31', DATE '2024-12-31')"
better = "neutral"
"""


def _calls() -> list[tuple[str, datetime, date, str, float, int]]:
    """Calls on the edges a reading could move across: the last second of a month and the
    first of the next, each side of midnight on the nights the UK clocks change (not the
    hour they show twice or skip), 29 February, the year's last second; each call's `day`
    its date but for every third, a day earlier (a date column of its own)."""
    moments = [datetime(2024, 1, 31, 23, 59, 59), datetime(2024, 2, 1, 0, 0),
               datetime(2024, 2, 29, 12, 30, 15), datetime(2024, 3, 31, 0, 30),
               datetime(2024, 3, 31, 3, 0), datetime(2024, 10, 27, 0, 59, 59),
               datetime(2024, 10, 27, 2, 0, 1), datetime(2024, 12, 31, 23, 59, 59),
               datetime(2025, 1, 1, 0, 0, 1), datetime(2025, 1, 31, 23, 30),
               datetime(2025, 2, 28, 23, 59, 59), datetime(2025, 3, 30, 0, 59),
               datetime(2025, 3, 30, 2, 0), datetime(2025, 9, 30, 23, 59, 59),
               datetime(2025, 10, 1, 0, 0), datetime(2025, 10, 26, 0, 30),
               datetime(2025, 10, 26, 2, 30), datetime(2025, 12, 31, 23, 59, 59)]
    # every month of the two years has calls, so each window is whole
    moments += [datetime(year, month, 15, 12, 0) for year in (2024, 2025)
                for month in range(1, 13)]
    rows = []
    for n, moment in enumerate(moments):
        day = moment.date() - timedelta(days=1 if n % 3 == 0 else 0)
        rows.append((f"C{n:03d}", moment, day, ("Dudley", "Walsall", "10-17")[n % 3],
                     [12.5, 0.1, 0.3333, 86399.75][n % 4], n % 5))
    return rows


def test_an_excel_saved_csv_iso_text_parquet_and_the_workbook_give_the_same_figures(
        tmp_path, cli, office_profile):
    """The same calls as a workbook of date and number cells (xlsxwriter), the CSV a
    spreadsheet saves of it in a UK locale (dates `31/01/2024 23:59:59` and `31/01/2024`, as
    shown: LibreOffice Calc, `soffice --convert-to csv`, as Excel's "CSV (Comma delimited)"
    writes), a Parquet file of ISO text (`2024-01-31T23:59:59`, `2024-01-31`) and one of
    typed columns (timestamp, date32): every reader stores the same rows, and every figure
    of `kpi summary` and `kpi show` is the same; the figures by hand below. (Its figures have
    at most the 15 significant digits a spreadsheet writes in a CSV.) The workbook's times
    were read a microsecond off (23:59:59 as 23:59:58.999999:
    `excel_reader._serial_microseconds`)."""
    import shutil
    import subprocess

    import pyarrow as pa
    import pyarrow.parquet as pq
    import xlsxwriter

    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("soffice is not installed here (.ci/run installs it with apt-get)")
    rows = _calls()
    header = ["Ref", "Created", "Day", "LPA", "Seconds", "Answered"]
    book = xlsxwriter.Workbook(str(tmp_path / "calls.xlsx"))
    sheet = book.add_worksheet("Calls")
    when = book.add_format({"num_format": "dd/mm/yyyy hh:mm:ss"})
    on = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, header)
    for r, (ref, moment, day, lpa, seconds, answered) in enumerate(rows, start=1):
        sheet.write_string(r, 0, ref)
        sheet.write_datetime(r, 1, moment, when)
        sheet.write_datetime(r, 2, datetime.combine(day, time()), on)
        sheet.write_string(r, 3, lpa)
        sheet.write_number(r, 4, seconds)
        sheet.write_number(r, 5, answered)
    book.close()
    # As shown (the 9th token), UTF-8, British English (2057): as Excel saves a CSV in the UK.
    result = subprocess.run([office, "--headless", "--norestore",
                             f"-env:UserInstallation={office_profile.as_uri()}",
                             "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,2057,"
                             "false,true,true", "--outdir", str(tmp_path / "saved"),
                             str(tmp_path / "calls.xlsx")], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    saved = tmp_path / "saved" / "calls.csv"
    lines = saved.read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("C000,31/01/2024 23:59:59,30/01/2024,Dudley,12.5,0"), lines[1]
    pq.write_table(pa.table({
        "Ref": [r[0] for r in rows], "Created": [r[1].isoformat() for r in rows],
        "Day": [r[2].isoformat() for r in rows], "LPA": [r[3] for r in rows],
        "Seconds": [repr(r[4]) for r in rows], "Answered": [str(r[5]) for r in rows]}),
        tmp_path / "iso.parquet")
    pq.write_table(pa.table({
        "Ref": [r[0] for r in rows], "Created": pa.array([r[1] for r in rows],
                                                         pa.timestamp("us")),
        "Day": pa.array([r[2] for r in rows], pa.date32()), "LPA": [r[3] for r in rows],
        "Seconds": [r[4] for r in rows], "Answered": [r[5] for r in rows]}),
        tmp_path / "typed.parquet")
    stored, figures = {}, {}
    for name, path in (("workbook", tmp_path / "calls.xlsx"), ("saved csv", saved),
                       ("iso parquet", tmp_path / "iso.parquet"),
                       ("typed parquet", tmp_path / "typed.parquet")):
        folder = tmp_path / name.replace(" ", "-")
        folder.mkdir()
        (folder / "kpi.toml").write_text(CALLS, encoding="utf-8")
        loaded = cli(["--project", folder, "ingest", "calls", path])
        assert loaded.exit_code == 0, (name, loaded.output)
        stored[name] = _stored(folder, "calls").sort("ref")
        summary = cli(["--project", folder, "summary", "--period", "2025-12", "--format",
                       "json"])
        shown = cli(["--project", folder, "show", "calls", "--period", "2025-12", "--format",
                     "json"])
        assert summary.exit_code == shown.exit_code == 0, name
        import json

        figures[name] = ({k["id"]: (k["current"]["value"], k["comparison"]["value"])
                          for k in json.loads(summary.stdout)["kpis"]},
                         json.loads(shown.stdout)["trend"],
                         json.loads(shown.stdout)["breakdowns"])
    first = stored["workbook"]
    for name, frame in stored.items():
        assert frame.equals(first), (name, frame, first)
    assert len({repr(f) for f in figures.values()}) == 1, figures
    # By hand: YE 2025-12 is the 2025 calls; the comparison (baseline YE 2025-01) is
    # February 2024 to January 2025.
    in_2025 = [r for r in rows if r[1].year == 2025]
    baseline = [r for r in rows if datetime(2024, 2, 1) <= r[1] < datetime(2025, 2, 1)]
    got = figures["workbook"][0]
    assert got["calls"] == (len(in_2025), len(baseline))
    assert got["answered"] == (sum(r[5] for r in in_2025), sum(r[5] for r in baseline))
    assert got["mean_seconds"][0] == pytest.approx(
        math.fsum(r[4] for r in in_2025) / len(in_2025), rel=1e-12)
    last_days = {date(2025, 1, 31), date(2025, 2, 28), date(2025, 12, 31), date(2024, 12, 31)}
    assert got["late_days"] == (sum(r[2] in last_days for r in in_2025),
                                sum(r[2] in last_days for r in baseline))


def test_whole_minutes_in_a_workbook_are_read_as_the_csv_of_them(tmp_path, cli):
    """Calls created on the quarter hours of the first of each month and attended 15 minutes
    later, as a workbook (xlsxwriter, as pandas' `to_excel` writes: serials to 16 significant
    digits) and as a CSV. The workbook's 00:15 was read as 00:14:59.999999 and its 00:30 as
    00:30:00.000001, so one call in four took 15 minutes and 2 microseconds: "attended
    within 15 minutes" was 75.0% from the workbook and 100.0% from the CSV, exit 0. By hand:
    every call is attended in 15 minutes, 100.0% in both windows."""
    import csv as csv_module
    import json

    import xlsxwriter

    toml = """[project]
name = "Attendance"
baseline = "2025-01"

[datasets.incidents]
date = "created"

[datasets.incidents.columns]
ref = { type = "str", from = ["Ref"] }
created = { type = "datetime", from = ["Created"] }
attended = { type = "datetime", from = ["Attended"] }

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "in_15"
title = "Attended within 15 minutes"
priority = "p"
kind = "rate"
dataset = "incidents"
numerator = "CASE WHEN attended - created <= INTERVAL '15 minutes' THEN 1 ELSE 0 END"
denominator = "1"
better = "higher"
"""
    rows = []
    for year in (2024, 2025):
        for month in range(1, 13):
            for quarter in range(4):
                start = datetime(year, month, 1) + timedelta(minutes=15 * quarter)
                rows.append((f"R{len(rows)}", start, start + timedelta(minutes=15)))
    book = xlsxwriter.Workbook(str(tmp_path / "calls.xlsx"))
    sheet = book.add_worksheet()
    shown = book.add_format({"num_format": "dd/mm/yyyy hh:mm:ss"})
    sheet.write_row(0, 0, ["Ref", "Created", "Attended"])
    with (tmp_path / "calls.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv_module.writer(handle)
        writer.writerow(["Ref", "Created", "Attended"])
        for r, (ref, created, attended) in enumerate(rows, start=1):
            sheet.write_string(r, 0, ref)
            sheet.write_datetime(r, 1, created, shown)
            sheet.write_datetime(r, 2, attended, shown)
            writer.writerow([ref, f"{created:%d/%m/%Y %H:%M:%S}", f"{attended:%d/%m/%Y %H:%M:%S}"])
    book.close()
    got = {}
    for name in ("calls.xlsx", "calls.csv"):
        folder = tmp_path / name.replace(".", "-")
        folder.mkdir()
        (folder / "kpi.toml").write_text(toml, encoding="utf-8")
        assert cli(["--project", folder, "ingest", "incidents", tmp_path / name]).exit_code == 0
        result = cli(["--project", folder, "summary", "--period", "2025-12", "--format", "json"])
        assert result.exit_code == 0, result.output
        [figure] = json.loads(result.stdout)["kpis"]
        got[name] = (figure["current"]["value"], figure["comparison"]["value"])
    assert got == {"calls.xlsx": (100.0, 100.0), "calls.csv": (100.0, 100.0)}
    for name in ("calls.xlsx", "calls.csv"):
        stored = _stored(tmp_path / name.replace(".", "-"), "incidents")
        assert stored["created"].dt.microsecond().max() == 0, name
        assert stored["attended"].dt.microsecond().max() == 0, name


SERIAL_TIMES = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2027, 12, 31))


@settings(max_examples=2000, deadline=None)
@given(moment=SERIAL_TIMES, unit=st.sampled_from([1_000_000, 1000, 1]),
       digits=st.sampled_from([15, 16, 17]), system=st.booleans())
def test_a_serial_day_number_is_read_as_the_time_written(moment, unit, digits, system):
    """A time to the second, millisecond or microsecond, as a writer of 15 (LibreOffice's
    fewest), 16 (xlsxwriter) or 17 significant digits writes its serial day number (in the
    1900 or the 1904 date system: xlsxwriter's own conversion), is read as that time: every
    one to the second or millisecond exactly; one to the microsecond a few microseconds from
    it at most (a float near 45,000 days holds some 0.6 of them, 16 digits 0.9, 15 digits
    8.6), and as a whole millisecond only where a writer writes that as the same text
    (00:00:01.000001 of 1 January 2000 and 00:00:01 are both '36526.00001157408', read as
    the whole second; a text of 15 digits may be a 16-digit writer's whose last is 0)."""
    from xlsxwriter.utility import _datetime_to_excel_datetime

    from kpi.ingest.excel_reader import DAY_ZERO_1900, DAY_ZERO_1904, _serial_microseconds

    micros = moment.microsecond - moment.microsecond % unit
    moment = moment.replace(microsecond=micros)
    serial = _datetime_to_excel_datetime(moment, system, True)
    read = _serial_microseconds(f"{serial:.{digits}g}".encode())
    assert read is not None
    got = (DAY_ZERO_1904 if system else DAY_ZERO_1900) + timedelta(microseconds=read)
    if unit > 1:
        assert got == moment, (moment, f"{serial:.{digits}g}", got)
    else:
        assert abs(got - moment) <= timedelta(microseconds=9), (moment, got)
        if got != moment and got.microsecond % 1000 == 0:
            # a time a writer of as many digits as the text shows, or more, writes as it
            text = Decimal(f"{serial:.{digits}g}")
            shown = len(text.normalize().as_tuple().digits)
            again = _datetime_to_excel_datetime(got, system, True)
            assert any(Decimal(f"{again:.{d}g}") == text for d in (15, 16, 17)
                       if d >= shown), (moment, got, text)


def _by_hand(text: str, zero: datetime) -> datetime:
    """The moment of a serial day number's text, worked out by hand: its whole part the days
    after day 0, its fraction of a day in microseconds as an exact fraction, rounded half up
    and kept within its day."""
    from fractions import Fraction

    exact = Fraction(Decimal(text))
    days = math.floor(exact)
    micros = math.floor((exact - days) * 86_400_000_000 + Fraction(1, 2))
    return zero + timedelta(days=days) + timedelta(microseconds=min(micros, 86_399_999_999))


@pytest.mark.parametrize(("text", "moment"), [
    ("45930.99999999999", datetime(2025, 9, 30, 23, 59, 59, 999_999)),  # xlsxwriter's 16
    ("45930.999999999993", datetime(2025, 9, 30, 23, 59, 59, 999_999)),  # 17 digits
    ("45930.9999999999999999", datetime(2025, 9, 30, 23, 59, 59, 999_999)),
    ("4.59309999999999999999e4", datetime(2025, 9, 30, 23, 59, 59, 999_999)),
    ("45930.999999995", datetime(2025, 9, 30, 23, 59, 59, 999_568)),
    ("45931", datetime(2025, 10, 1)),  # LibreOffice's 15 digits of the same moment
    ("45930.5", datetime(2025, 9, 30, 12)),
    ("61.999999999999997", datetime(1900, 3, 1, 23, 59, 59, 999_999)),
])
def test_a_serial_is_read_within_its_day(text, moment):
    """A serial day number's day is its whole part: 23:59:59.999999 on 30 September written
    with more digits than a float holds (or a serial of an early day, whose float holds a
    time to far less than a microsecond) was rounded to midnight, 1 October, a month out.
    By hand (`_by_hand`) and as written."""
    from kpi.ingest.excel_reader import DAY_ZERO_1900, _serial_microseconds

    read = _serial_microseconds(text.encode())
    assert read is not None
    assert DAY_ZERO_1900 + timedelta(microseconds=read) == moment == _by_hand(text,
                                                                              DAY_ZERO_1900)


@settings(max_examples=1500, deadline=None)
@example(day=2_097_152, below=25, digits=None, system=False)
@given(day=st.integers(min_value=1, max_value=2_950_000), below=st.integers(1, 80),
       digits=st.sampled_from([None, 15, 16, 17, 40]), system=st.booleans())
def test_a_serial_just_below_midnight_is_read_on_its_day(day, below, digits, system):
    """A serial `below` floats under midnight, as an .xls cell holds it (its shortest text,
    `None`) or an .xlsx writer of 15, 16, 17 or 40 significant digits writes it, is read as
    the moment worked out by hand from the text (`_by_hand`): on the day of its whole part,
    never the next (a writer of 15 digits may write the next day's midnight itself)."""
    from kpi.ingest.excel_reader import DAY_ZERO_1900, DAY_ZERO_1904, _serial_microseconds

    serial = float(day + 1)
    for _ in range(below):
        serial = math.nextafter(serial, 0)
    text = repr(serial) if digits is None else f"{Decimal(serial):.{digits}g}"
    zero = DAY_ZERO_1904 if system else DAY_ZERO_1900
    read = _serial_microseconds(text.encode())
    assert read is not None
    by_hand = _by_hand(text, zero)
    got = zero + timedelta(microseconds=read)
    # or the whole millisecond a few microseconds off that a writer gives this text (the
    # reader's rule, `_written_as`): far from 1900 a float holds a time only to tens of
    # microseconds (day 2,097,152's 23:59:59.999 is '2097152.9999999884', by hand .998998)
    snapped = read % 1000 == 0 and abs(got - by_hand) <= timedelta(microseconds=6)
    assert got == by_hand or snapped, text
    assert read // 86_400_000_000 == math.floor(Decimal(text)), text


def test_a_date_cell_at_a_days_end_stays_on_its_day_in_a_date_or_month_column(tmp_path, cli):
    """A date cell of 30 September 2025 23:59:59.999999 (a period's end as pandas gives it,
    shown 30/09/2025 by a date format) in a `date` column was stored as 1 October, counted
    in October, and in a `month` column (shown Sep-25) as October, exit 0: fastexcel gives
    a cell's time to the millisecond, rounded up to the next midnight, and only a `datetime`
    column's serials were read in full. The CSV of the same times stores 30 September in the
    date column and refuses the time of day in the month column; so now does the workbook.
    By hand: the four incidents are of 30 September."""
    import xlsxwriter

    hostile = Path(__file__).resolve().parent / "fixtures" / "hostile"
    ends = [datetime(2025, 9, 30, 23, 59, 59, 999_999), datetime(2025, 9, 30, 23, 59, 59, 999_500),
            datetime(2025, 9, 30, 23, 59, 59, 999_000), datetime(2025, 9, 30, 12)]
    book = xlsxwriter.Workbook(str(tmp_path / "days.xlsx"))
    sheet = book.add_worksheet()
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, ["Incident Ref", "Date", "LPA", "Victims", "Age range"])
    lines = ["Incident Ref,Date,LPA,Victims,Age range"]
    for row, end in enumerate(ends, start=1):
        sheet.write_string(row, 0, f"A{row}")
        sheet.write_datetime(row, 1, end, day)
        sheet.write_row(row, 2, ["Dudley", 1, "10-17"])
        lines.append(f"A{row},{end:%Y-%m-%d %H:%M:%S.%f},Dudley,1,10-17")
    book.close()
    (tmp_path / "days.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name in ("days.xlsx", "days.csv"):
        folder = tmp_path / name.replace(".", "-")
        folder.mkdir()
        (folder / "kpi.toml").write_text((hostile / "kpi.toml").read_text(encoding="utf-8"),
                                         encoding="utf-8")
        result = cli(["--project", folder, "ingest", "incidents", tmp_path / name])
        assert result.exit_code == 0, result.output
        stored = _stored(folder, "incidents").sort("ref")
        assert stored["date"].to_list() == [date(2025, 9, 30)] * 4, name
        assert stored["month"].to_list() == ["2025-09"] * 4, name
    months = xlsxwriter.Workbook(str(tmp_path / "months.xlsx"))
    sheet = months.add_worksheet()
    sheet.write_row(0, 0, ["Month", "Crime type"])
    shown = months.add_format({"num_format": "mmm-yy"})
    sheet.write_datetime(1, 0, datetime(2025, 8, 1), shown)
    sheet.write_datetime(2, 0, ends[0], shown)
    sheet.write_row(1, 1, ["Theft"])
    sheet.write_row(2, 1, ["Theft"])
    months.close()
    folder = tmp_path / "months"
    folder.mkdir()
    (folder / "kpi.toml").write_text((hostile / "kpi.toml").read_text(encoding="utf-8"),
                                     encoding="utf-8")
    result = cli(["--project", folder, "ingest", "strict", tmp_path / "months.xlsx"])
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith(
        "Error: ") and "row 3, column 'Month': expected a month such as 2025-09, found "\
        "'2025-09-30 23:59:59.999999', which is a date with a time of day" in result.stderr, \
        result.stderr


PATTERNED_FLOATS = """[project]
name = "Patterned"
baseline = "2024-03"
[datasets.inc]
date = "day"
source = { uri_env = "KPI_PATTERN_DB", query = "SELECT * FROM extract ORDER BY rowid" }
[datasets.inc.columns]
ref = { type = "str", pattern = 'R\\d+' }
day = "date"
minutes = { type = "float", pattern = '\\d+(?:\\.\\d*[1-9])?' }
[[priorities]]
id = "p"
title = "P"
[[kpis]]
id = "total"
title = "Total minutes"
priority = "p"
kind = "sum"
dataset = "inc"
value = "minutes"
better = "lower"
"""


def test_a_pattern_reads_a_typed_number_as_a_csv_file_writes_it(tmp_path):
    """A `pattern` on a number column reads a number typed by its source (a Parquet double, a
    database REAL, a workbook's number cell) as the text of its shortest decimal, a whole
    number without a point, as the same number in a CSV file or a workbook reads: the
    differential oracle's pattern '\\d+(?:\\.\\d*[1-9])?' (no trailing zero) took 10 minutes
    from a CSV file or a workbook and refused the same rows from Parquet and SQLite, "found
    '10.0'", a text neither source holds. Every reader loads the rows, with the same total."""
    import xlsxwriter
    from inprocess import run

    minutes = [10.0, 2.35, 0.0, 26.48, 40.0, 3.0]
    # a row in each month of the year to March 2024
    rows = [(f"R{n}", f"{2023 + (n + 3) // 12}-{(n + 3) % 12 + 1:02d}-0{n % 9 + 1}",
             minutes[n % len(minutes)]) for n in range(12)]
    frame = pl.DataFrame(rows, schema={"ref": pl.String, "day": pl.String,
                                       "minutes": pl.Float64}, orient="row")
    totals = {}
    for kind in ("csv", "parquet", "xlsx", "db"):
        folder = tmp_path / kind
        folder.mkdir()
        (folder / "kpi.toml").write_text(PATTERNED_FLOATS, encoding="utf-8")
        path = folder / f"extract.{kind}"
        env = dict(os.environ)
        if kind == "csv":
            path.write_text("ref,day,minutes\n" + "".join(
                f"{r},{d},{m:g}\n" for r, d, m in rows), encoding="utf-8")
        elif kind == "parquet":
            frame.write_parquet(path)
        elif kind == "xlsx":
            book = xlsxwriter.Workbook(str(path))
            sheet = book.add_worksheet()
            sheet.write_row(0, 0, ["ref", "day", "minutes"])
            for n, (r, d, m) in enumerate(rows, start=1):
                sheet.write_string(n, 0, r)
                sheet.write_string(n, 1, d)
                sheet.write_number(n, 2, m)
            book.close()
        else:
            with sqlite3.connect(path) as db:
                db.execute("CREATE TABLE extract (ref TEXT, day TEXT, minutes REAL)")
                db.executemany("INSERT INTO extract VALUES (?, ?, ?)", rows)
            db.close()
            env["KPI_PATTERN_DB"] = f"sqlite:///{path}"
        args = ["ingest", "inc", "--from-source"] if kind == "db" else ["ingest", "inc",
                                                                          str(path)]
        loaded = run(args, cwd=folder, env=env)
        assert loaded.returncode == 0, (kind, loaded.stderr)
        summary = run(["summary", "--period", "2024-03", "--format", "json"], cwd=folder,
                      env=env)
        assert summary.returncode == 0, (kind, summary.stderr)
        totals[kind] = json.loads(summary.stdout)["kpis"][0]["current"]["value"]
    # the year to March 2024, its twelve rows' minutes added as written
    want = float(sum(Decimal(repr(m)) for _, _, m in rows))
    assert totals == dict.fromkeys(("csv", "parquet", "xlsx", "db"), want), totals


@pytest.mark.parametrize("scale", [2, 8, 12])
def test_a_decimal_in_a_text_column_is_its_digits_to_its_scale(tmp_path, scale):
    """Arrow writes a decimal whose adjusted exponent is below -6 in scientific notation: a
    decimal(18, 8) of 0 stored in a `str` column was '0E-8' from Parquet, '0.00000000' from
    the CSV of the same rows, and a filter `adjustment = '0.00000000'` counted 0 of 2, exit
    0. Every reader stores a decimal's text to its scale, as the CSV writes it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from kpi import ingest
    from kpi.catalogue import ColumnSpec, ColumnType, DatasetSpec

    values = [Decimal(0), Decimal(2), Decimal("-0.0000001") if scale >= 7 else Decimal("-0.5")]
    typed = pa.decimal128(18 + scale, scale)
    written = [v.quantize(Decimal(1).scaleb(-scale)) for v in values]
    path = tmp_path / "adjusted.parquet"
    pq.write_table(pa.table({"day": pa.array([date(2025, 9, 1)] * 3),
                             "adjustment": pa.array(written, typed)}), path)
    spec = DatasetSpec(id="a", date="day", columns=(
        ColumnSpec("day", ColumnType.DATE, ("day",)),
        ColumnSpec("adjustment", ColumnType.STR, ("adjustment",))))
    got = ingest.read_extracts(spec, [path]).frame["adjustment"].to_list()
    assert got == [format(v, "f") for v in written]
    assert got[0] == "0." + "0" * scale
