"""Issue 5, point 6: fuzzing the ingest boundary. Mutated CSV bytes (truncation, byte flips,
inserted delimiters, quotes, line breaks, other encodings, damaged headers) and Parquet files
(wrong schemas, damaged bytes) either load correctly or fail with a KpiError, never another
exception, and the store is never corrupted: after each case it is readable and exactly at
its previous version or at the new one.

"Loads correctly" is checked against an independent reading of the same bytes: every stored
row's id and LPA come from a record Python's csv module finds in the file, the months the
load did not cover are untouched, and every stored value honours the dataset's rules.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hostile_support import make_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi import ingest, store
from kpi.catalogue import parse_project_file
from kpi.errors import KpiError

BASE = (
    "Incident Ref,Date,LPA,Victims,Age range\r\n"
    "F1,2025-01-03,Birmingham,1,10-17\r\n"
    "F2,15/01/2025,\"Coventry, North\",2,18-24\r\n"
    "F3,2025-01-31 23:59,Dudley,\"1,200\",over 65\r\n"
    "F4,2025-02-01,Sandwell £,0,under 10\r\n"
    "F5,28/02/2025,\"Walsall \"\"Town\"\"\",3,\r\n"
    "F6,2025-02-14T09:30:00,Solihull,4,25-34\r\n"
).encode()

INSERTS = [b",", b'"', b"\n", b"\r", b"\r\n", b"\x00", b"\xef\xbb\xbf", b";", b"\t", b" ",
           b"\xa3", b"\xff", b"-", b"=", b"Oct", b"9", b"Incident Ref,Date,LPA,Victims\n"]


@st.composite
def mutated_csv(draw) -> bytes:
    data = bytearray(BASE)
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "duplicate_line",
                                     "header", "encoding"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "truncate":
            data = data[:at]
        elif kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(INSERTS))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 12))]
        elif kind == "duplicate_line":
            lines = bytes(data).split(b"\r\n")
            line = draw(st.integers(0, len(lines) - 1))
            lines.insert(line, lines[line])
            data = bytearray(b"\r\n".join(lines))
        elif kind == "header":
            head, _, rest = bytes(data).partition(b"\r\n")
            names = head.split(b",")
            index = draw(st.integers(0, len(names) - 1))
            change = draw(st.sampled_from(["upper", "pad", "rename", "drop", "repeat"]))
            if change == "upper":
                names[index] = names[index].upper()
            elif change == "pad":
                names[index] = b"  " + names[index] + b" "
            elif change == "rename":
                names[index] = b"Column " + str(index).encode()
            elif change == "drop":
                del names[index]
            else:
                names.append(names[index])
            data = bytearray(b",".join(names) + b"\r\n" + rest)
        elif kind == "encoding":
            text = bytes(data).decode("utf-8", "replace")
            codec = draw(st.sampled_from(["cp1252", "utf-8-sig", "utf-16", "latin-1"]))
            data = bytearray(text.encode(codec, "replace"))
    return bytes(data)


def _frame_from_base() -> pl.DataFrame:
    return pl.read_csv(io.BytesIO(BASE), infer_schema=False)


@st.composite
def mutated_parquet(draw) -> bytes:
    frame = _frame_from_base()
    frame = frame.with_columns(pl.col("Date").str.to_date("%Y-%m-%d", strict=False))
    for _ in range(draw(st.integers(0, 3))):
        flat = [c for c, dtype in frame.schema.items() if not dtype.is_nested()]
        if not flat:
            break
        column = draw(st.sampled_from(flat))
        change = draw(st.sampled_from(["drop", "rename", "int", "float", "bool", "date",
                                       "datetime", "list", "nulls", "rows"]))
        if change == "drop" and frame.width > 1:
            frame = frame.drop(column)
        elif change == "rename":
            frame = frame.rename({column: column.lower() + "_x"})
        elif change == "int":
            frame = frame.with_columns(pl.col(column).cast(pl.String).str.len_chars()
                                       .cast(pl.Int64))
        elif change == "float":
            frame = frame.with_columns(pl.col(column).cast(pl.String).str.len_chars() * -0.5)
        elif change == "bool":
            frame = frame.with_columns(pl.col(column).is_null())
        elif change == "date":
            frame = frame.with_columns(pl.lit(draw(st.dates())).alias(column))
        elif change == "datetime":
            frame = frame.with_columns(pl.lit(draw(st.datetimes())).alias(column))
        elif change == "list":
            frame = frame.with_columns(pl.concat_list(pl.col(column).cast(pl.String)))
        elif change == "nulls":
            frame = frame.with_columns(pl.lit(None).alias(column))
        else:
            frame = frame.head(draw(st.integers(0, frame.height)))
    out = io.BytesIO()
    frame.write_parquet(out)
    data = bytearray(out.getvalue())
    damage = draw(st.sampled_from(["none", "none", "truncate", "flip"]))
    if damage == "truncate":
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif damage == "flip":
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


class Store:
    """The fuzzed project and what its store held after the last case (read once per load,
    so hundreds of cases stay fast)."""

    def __init__(self, project):
        self.project = project
        self.version, self.rows = self.read()

    def read(self) -> tuple[int, pl.DataFrame]:
        frame = store.scan(self.project, "incidents").collect()
        return store.current_version(self.project, "incidents"), frame.sort(frame.columns)

    def committed_since(self) -> bool:
        """Whether any load committed after the last known version: Delta commits are the
        files _delta_log/NNN.json, so the next one existing is exactly that."""
        log = self.project.data_dir / "incidents" / "_delta_log"
        return (log / f"{self.version + 1:020d}.json").exists()


@pytest.fixture(scope="module")
def project():
    with tempfile.TemporaryDirectory(prefix="kpi-fuzz-") as folder:
        root = make_project(Path(folder) / "project")
        loaded = parse_project_file(root / "kpi.toml")
        ingest.load(loaded, "incidents", [str(root / "good.csv")])
        fuzzed = Store(loaded)
        yield fuzzed
        # However many cases ran, the store reads back exactly as last seen.
        assert fuzzed.read()[0] == fuzzed.version
        assert fuzzed.read()[1].equals(fuzzed.rows)


# What kpi trims from values (Unicode White_Space); Python's str.strip() would also trim the
# control characters \x1c-\x1f, which kpi keeps.
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace() and c not in
                     "\x1c\x1d\x1e\x1f")


def _records(data: bytes) -> list[tuple[str, str]]:
    """(id, LPA) of every record Python's csv module reads from the bytes, by column name."""
    for codec in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(codec)
            break
        except UnicodeDecodeError:
            continue
    else:
        return []
    rows = list(csv.reader(io.StringIO(text.replace("\x00", ""), newline="")))
    while rows and not any(field.strip() for field in rows[0]):
        rows.pop(0)  # blank lines before the header are skipped (docs/guarantees.md)
    if not rows:
        return []
    names = [n.strip().lower() for n in rows[0]]
    # kpi.toml: the column 'ref' is read from 'ref' or else 'Incident Ref'; 'lpa' from 'LPA'.
    ref = next((names.index(n) for n in ("ref", "incident ref") if n in names), None)
    if ref is None or "lpa" not in names:
        return []
    lpa = names.index("lpa")
    return [(r[ref].strip(WHITESPACE), r[lpa].strip(WHITESPACE)) for r in rows[1:]
            if len(r) > max(ref, lpa)]


def _check(fuzzed: Store, path: Path, data: bytes, *, csv_oracle: bool) -> None:
    path.write_bytes(data)
    version, rows = fuzzed.version, fuzzed.rows
    try:
        result = ingest.load(fuzzed.project, "incidents", [str(path)])
    except KpiError as exc:
        assert "\n" not in exc.message  # one line
        assert not fuzzed.committed_since()
        return
    fuzzed.version, fuzzed.rows = new_version, stored = fuzzed.read()
    # A repeat of the latest load writes nothing (ingest's idempotence); anything else commits.
    assert result.version == new_version == (version if result.unchanged else version + 1)
    covered = set(result.months)
    assert stored.filter(~pl.col("month").is_in(covered)).equals(
        rows.filter(~pl.col("month").is_in(covered)))
    loaded = stored.filter(pl.col("month").is_in(covered))
    assert loaded.height == result.rows > 0
    assert loaded["ref"].is_unique().all()
    assert (loaded["victims"].drop_nulls() >= 0).all()
    assert (loaded["date"].dt.strftime("%Y-%m") == loaded["month"]).all()
    years = loaded["date"].dt.year()
    assert years.min() >= ingest.SANE_YEARS[0] and years.max() <= ingest.SANE_YEARS[1]
    if csv_oracle:
        found = set(_records(data))
        for ref, lpa in loaded.select("ref", "lpa").iter_rows():
            assert (ref or "", lpa or "") in found, (ref, lpa)


FUZZ = settings(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(FUZZ, max_examples=500)
@given(data=mutated_csv())
def test_mutated_csv_loads_correctly_or_fails_cleanly(project, data):
    _check(project, project.project.root / "fuzz.csv", data, csv_oracle=True)


@settings(FUZZ, max_examples=100)
@given(data=mutated_parquet())
def test_mutated_parquet_loads_correctly_or_fails_cleanly(project, data):
    _check(project, project.project.root / "fuzz.parquet", data, csv_oracle=False)


def test_the_unmutated_extract_loads_exactly(project):
    path = project.project.root / "base.csv"
    path.write_bytes(BASE)
    result = ingest.load(project.project, "incidents", [str(path)])
    project.version, project.rows = project.read()
    stored = project.rows.filter(
        pl.col("month").is_in(result.months)).sort("ref")
    assert stored.select("ref", "lpa", "victims", "age_range").rows() == [
        ("F1", "Birmingham", 1, "10-17"), ("F2", "Coventry, North", 2, "18-24"),
        ("F3", "Dudley", 1200, "over 65"), ("F4", "Sandwell £", 0, "under 10"),
        ("F5", 'Walsall "Town"', 3, None), ("F6", "Solihull", 4, "25-34")]
    assert stored["date"].cast(pl.String).to_list() == [
        "2025-01-03", "2025-01-15", "2025-01-31", "2025-02-01", "2025-02-28", "2025-02-14"]
