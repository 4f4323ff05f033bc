"""A `str` column holds text a filter can be written against: a typed value read into one (a
Parquet file's, a database query's) is stored only where its type's values have one text, and
is refused otherwise (`kpi.ingest.common.without_one_text`, the rule every typed reader asks).

A float64 beat of 12.0 was stored as '12.0', where the extract's CSV, a spreadsheet and the
source system write 12: a filter `beat = '12'` counted 0 of 18 rows, exit 0. The expected
counts are worked out here by hand from the rows written."""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import inprocess
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hostile_support import snapshot
from project_toml import head, kpi_block

from kpi.ingest.common import without_one_text

FIRST = date(2024, 10, 1)
DAYS = [FIRST + timedelta(days=n) for n in range(365)]  # the year to September 2025
BEATS = [n % 20 for n in range(365)]
TWELVES = sum(1 for b in BEATS if b == 12)  # 18, counted by hand: n = 12, 32, ..., 352


def _project(folder: Path, extract: str, beat_filter: str = "beat = '12'") -> Path:
    (folder / "extracts").mkdir(parents=True, exist_ok=True)
    (folder / "kpi.toml").write_text(
        head("Typed text", "2024-09", "w", {"ref": "str", "day": "date", "beat": "str"},
             sources=[f"extracts/{extract}"])
        + kpi_block("k", "K", "w", kind="count", better="lower", decimals=0,
                    filter=beat_filter), encoding="utf-8")
    return folder


def _parquet(folder: Path, beat: pa.Array) -> Path:
    project = _project(folder, "w.parquet")
    pq.write_table(pa.table({"ref": [f"R{n}" for n in range(365)],
                             "day": pa.array(DAYS, pa.date32()), "beat": beat}),
                   project / "extracts" / "w.parquet")
    return project


def _run(project: Path, *args: str):
    env = {**os.environ, "KPI_NO_CACHE": "1"}
    return inprocess.run(["--project", project, *args], env=env)


def _count(project: Path) -> tuple[int, float | None]:
    """The load's exit code, and (when it loaded) the KPI's count for the year to 2025-09."""
    import json

    out = _run(project, "ingest", "w")
    if out.returncode:
        return out.returncode, None
    summary = _run(project, "summary", "--period", "2025-09", "--format", "json")
    assert summary.returncode == 0, summary.stderr
    return 0, json.loads(summary.stdout)["kpis"][0]["current"]["value"]


def _one_error(stderr: str) -> str:
    lines = stderr.splitlines()
    assert lines and lines[0].startswith("Error: "), stderr
    assert "Traceback" not in stderr and len(lines) <= 2, stderr  # the error and its hint
    return lines[0]


def test_a_parquet_float_in_a_text_column_is_refused_where_its_csv_counts_18(tmp_path):
    """The worst of it: a float64 beat of 12.0 was stored as '12.0', and a filter beat = '12'
    counted 0 rows, exit 0, where the same extract as CSV (12, as the source writes it)
    counts 18. Refused now, naming the file and column; written as text, as the hint says,
    the Parquet file counts what the CSV file does."""
    project = _parquet(tmp_path / "float", pa.array([float(b) for b in BEATS], pa.float64()))
    out = _run(project, "ingest", "w")
    assert out.returncode == 3, out.stderr
    assert _one_error(out.stderr) == (
        f"Error: {project / 'extracts' / 'w.parquet'}, column 'beat': expected text, found a "
        "column of type Float64, whose values have no one text (12.0 is written 12 or 12.0, "
        "7.5e-09 or 7.5e-9)")
    assert "declare the column float in kpi.toml, or write it in the file as text" in out.stderr
    assert snapshot(project).version is None

    csv = _project(tmp_path / "csv", "w.csv")
    (csv / "extracts" / "w.csv").write_text(
        "ref,day,beat\n" + "".join(f"R{n},{d},{b}\n" for n, (d, b) in enumerate(zip(
            DAYS, BEATS, strict=True))), encoding="utf-8")
    assert _count(csv) == (0, TWELVES) and TWELVES == 18
    text = _parquet(tmp_path / "text", pa.array([str(b) for b in BEATS], pa.string()))
    assert _count(text) == (0, TWELVES)


@pytest.mark.parametrize(("beat", "kind", "declare"), [
    (pa.array([b / 4 for b in BEATS], pa.float32()), "Float32", "float"),
    (pa.array([datetime(2025, 9, 29, 23, b) for b in BEATS], pa.timestamp("s")),
     "Datetime(time_unit='ms', time_zone=None)", "datetime or date"),
    (pa.array([datetime(2025, 9, 29, 23, b) for b in BEATS], pa.timestamp("us", "UTC")),
     "Datetime(time_unit='us', time_zone='UTC')", "datetime or date"),
    (pa.array([b == 12 for b in BEATS], pa.bool_()), "Boolean", "bool"),
    (pa.array([time(13, b) for b in BEATS], pa.time64("us")), "Time", None),
    (pa.array([timedelta(minutes=b) for b in BEATS], pa.duration("us")),
     "Duration(time_unit='us')", None),
], ids=["float32", "timestamp", "instant", "bool", "time", "duration"])
def test_a_parquet_value_of_no_one_text_in_a_text_column_is_refused(tmp_path, beat, kind,
                                                                    declare):
    project = _parquet(tmp_path, beat)
    out = _run(project, "ingest", "w")
    assert out.returncode == 3, out.stderr
    line = _one_error(out.stderr)
    assert line.startswith(f"Error: {project / 'extracts' / 'w.parquet'}, column 'beat': "
                           f"expected text, found a column of type {kind}, whose values have "
                           "no one text ("), line
    assert (f"declare the column {declare} in kpi.toml, or " in out.stderr) == bool(declare)
    assert "write it in the file as text" in out.stderr
    assert snapshot(project).version is None


@pytest.mark.parametrize(("beat", "written"), [
    (pa.array(BEATS, pa.int64()), "12"),
    (pa.array(BEATS, pa.uint8()), "12"),
    (pa.array([Decimal(b) for b in BEATS], pa.decimal128(9, 0)), "12"),
    (pa.array([Decimal(b).quantize(Decimal("0.01")) for b in BEATS], pa.decimal128(9, 2)),
     "12.00"),
    (pa.array([date(2025, 9, b + 1) for b in BEATS], pa.date32()), "2025-09-13"),
    (pa.array([str(b) for b in BEATS], pa.string()).dictionary_encode(), "12"),
], ids=["int64", "uint8", "decimal", "decimal-scale-2", "date", "dictionary"])
def test_a_parquet_value_of_one_text_in_a_text_column_loads_as_that_text(tmp_path, beat,
                                                                         written):
    """An integer's digits, an exact decimal's to its scale (as a database's NUMERIC is
    written) and a date's ISO 8601 are each one text: loaded, the filter counts the rows."""
    project = _parquet(tmp_path, beat)
    (project / "kpi.toml").write_text((project / "kpi.toml").read_text(encoding="utf-8")
                                      .replace("beat = '12'", f"beat = '{written}'"),
                                      encoding="utf-8")
    assert _count(project) == (0, TWELVES)


def test_the_rule_is_one_for_every_typed_reader():
    """The types whose values have one text, and those that have not, as both typed readers
    (the Parquet reader's conformer and the database reader) ask it."""
    one = [pa.int8(), pa.int64(), pa.uint64(), pa.decimal128(12, 2), pa.date32(), pa.date64(),
           pa.string(), pa.large_string(), pa.dictionary(pa.int32(), pa.string()), pa.null()]
    several = [pa.float16(), pa.float32(), pa.float64(), pa.timestamp("s"),
               pa.timestamp("ns", "UTC"), pa.time32("s"), pa.time64("ns"), pa.duration("ms"),
               pa.month_day_nano_interval(), pa.bool_(),
               pa.dictionary(pa.int32(), pa.float64())]
    assert [kind for kind in one if without_one_text(kind) is not None] == []
    assert [kind for kind in several if without_one_text(kind) is None] == []
