"""The CSV reader's two parsers agree (kpi.ingest.csv_reader): a file the survey's count proves
plain is read by Polars' parser, any other by Arrow's, and for any file the Polars parser is
given, the rows loaded, the rows rejected (with their row numbers) and the warnings are the
same as Arrow's, or both refuse the file with the same message.

The files are drawn from lines of about the header's width (short and long rows, blank and
whitespace lines, a row of commas), \\n, \\r\\n and lone \\r line breaks, a byte-order mark,
a quote now and then, with or without a last line break, read in batches of a few rows so a
refusal falls in a later batch than the first."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kpi import ingest
from kpi.catalogue import ColumnSpec, ColumnType, DatasetSpec
from kpi.errors import DataError
from kpi.ingest import csv_reader

SPEC = DatasetSpec(id="events", date="day", columns=(
    ColumnSpec("ref", ColumnType.STR, ("Ref",)),
    ColumnSpec("day", ColumnType.DATE, ("Day",)),
    ColumnSpec("place", ColumnType.STR, ("Place",), required=False),
    ColumnSpec("count", ColumnType.INT, ("Count",), required=False),
))
HEADER = b"Ref,Day,Place,Count"
VALUES = [b"R1", b"R2", b"x y", b" ", b"", b"2025-01-03", b"03/02/2025", b"2025-13-01", b"7",
          b"-1", b"1.5", b"Dudley", b"\xc2\xa3", b"\t", b"Ref"]


@st.composite
def csv_files(draw) -> bytes:
    ends = draw(st.sampled_from([[b"\n"], [b"\r\n"], [b"\n", b"\r\n"], [b"\n", b"\r"]]))
    lines = [HEADER]
    odd = ["short", "long", "blank", "commas"] if draw(st.booleans()) else []  # else plain
    for _ in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(["row"] * 8 + odd))
        if kind == "blank":
            lines.append(draw(st.sampled_from([b"", b" ", b"  "])))
            continue
        if kind == "commas":
            lines.append(b",,,")
            continue
        width = {"row": 4, "short": draw(st.integers(1, 3)), "long": draw(st.integers(5, 6))}
        fields = [draw(st.sampled_from(VALUES)) for _ in range(width[kind])]
        if kind == "row" and draw(st.integers(0, 3)):  # mostly rows that load
            fields[0] = b"R%d" % len(lines)
            fields[1] = b"2025-01-%02d" % (len(lines) % 28 + 1)
        lines.append(b",".join(fields))
    if draw(st.integers(0, 15)) == 0:
        at = draw(st.integers(1, len(lines) - 1))
        lines[at] = lines[at].replace(b",", b',"', 1)
    data = b"".join(line + draw(st.sampled_from(ends)) for line in lines)
    if draw(st.booleans()):
        data = data.rstrip(b"\r\n")
    if draw(st.integers(0, 5)) == 0:
        data = b"\xef\xbb\xbf" + data
    return data


def _read(path: Path) -> tuple:
    """What loading the file gives: its rows, rejected rows and warnings, or the refusal."""
    try:
        extract = ingest.read_extracts(SPEC, [path], skip_bad_rows=True)
    except DataError as exc:
        return ("refused", str(exc), exc.hint)
    rejected = extract.rejected
    return ("loaded", extract.frame.rows(),
            rejected.rows() if rejected.height else [], extract.warnings)


def _both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[tuple, tuple, bool]:
    """The file read as kpi reads it, and by Arrow's parser alone; whether Polars' was used."""
    used: list[bool] = []
    proven = csv_reader._proven_plain

    def watched(*args):
        lines = proven(*args)
        used.append(lines is not None)
        return lines

    with monkeypatch.context() as patch:
        patch.setattr(csv_reader, "_proven_plain", watched)
        either = _read(path)
    with monkeypatch.context() as patch:
        patch.setattr(csv_reader, "_proven_plain", lambda *args: None)
        arrow = _read(path)
    return either, arrow, any(used)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPI_INGEST_BATCH_ROWS", "3")


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=csv_files())
def test_both_parsers_load_the_same_rows_or_refuse_alike(tmp_path, monkeypatch, small_batches,
                                                        data):
    path = tmp_path / "events.csv"
    path.write_bytes(data)
    either, arrow, used = _both(path, monkeypatch)
    event(f"{'Polars' if used else 'Arrow'}: {either[0]}")  # --hypothesis-show-statistics
    assert either == arrow


def test_a_plain_file_is_read_by_polars_with_the_same_rows(tmp_path, monkeypatch, small_batches):
    lines = [b"R%d,2025-01-%02d,Place %d,%d" % (n, n % 28 + 1, n, n) for n in range(20)]
    path = tmp_path / "events.csv"
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join([HEADER, *lines]) + b"\r\n")
    either, arrow, used = _both(path, monkeypatch)
    assert used
    assert either == arrow
    assert either[0] == "loaded" and len(either[1]) == 20
    assert "R3" in either[1][3] and date(2025, 1, 4) in either[1][3]


def test_a_count_the_records_do_not_match_refuses_the_load(tmp_path, monkeypatch,
                                                           small_batches):
    """Were the survey's count ever wrong, the load is refused in one line, not taken."""
    lines = [b"R%d,2025-01-%02d,Place %d,%d" % (n, n % 28 + 1, n, n) for n in range(8)]
    path = tmp_path / "events.csv"
    path.write_bytes(b"\n".join([HEADER, *lines]) + b"\n")
    proven = csv_reader._proven_plain
    monkeypatch.setattr(csv_reader, "_proven_plain",
                        lambda *args: (lines := proven(*args)) and lines + 1)
    outcome = _read(path)
    assert outcome[0] == "refused"
    assert "8 records read where the file has 9 lines of data" in outcome[1]
    assert "nothing was stored" in outcome[2]


@pytest.mark.parametrize("short_at", [1, 7, 19])
def test_a_short_row_beside_a_long_one_is_named_as_arrow_names_it(tmp_path, monkeypatch,
                                                                 small_batches, short_at):
    """A short row and a long one hold the commas of two full rows, so the count proves
    nothing: Polars' parser refuses the long row (here in a later batch than the short one)
    and Arrow's reads the file again, naming the short row first."""
    lines = [b"R%d,2025-01-%02d,Dudley,%d" % (n, n % 28 + 1, n) for n in range(24)]
    lines[short_at] = b"R%d,2025-01-02,Dudley" % short_at
    lines[21] = b"R21,2025-01-02,Dudley,5,6"
    path = tmp_path / "events.csv"
    path.write_bytes(b"\n".join([HEADER, *lines]) + b"\n")
    either, arrow, used = _both(path, monkeypatch)
    assert used
    assert either == arrow
    assert either[0] == "refused"
    assert f"row {short_at + 2}" in either[1]
    assert "expected 4 fields, found 3 (2 such rows in all)" in either[1]


@pytest.mark.parametrize("length", [400, 600, 3000])
@pytest.mark.parametrize("where", [0, 5])
def test_a_line_over_half_a_block_is_left_to_arrow(tmp_path, monkeypatch, length, where):
    """Arrow's reader refuses a record longer than its block; Polars' parser would read it, so
    a line over half a block (blocks of 1 KiB here) goes to Arrow's reader, which reads the
    file as it did before."""
    monkeypatch.setattr(csv_reader, "BLOCK", 1 << 10)
    monkeypatch.setattr(ingest.survey, "BLOCK", 1 << 10)
    lines = [b"R%d,2025-01-%02d,Dudley,%d" % (n, n + 1, n) for n in range(8)]
    lines[where] = b"R%d,2025-01-03,%s,2" % (where, b"x" * length)
    path = tmp_path / "events.csv"
    path.write_bytes(b"\n".join([HEADER, *lines]) + b"\n")
    left: list[bool] = []
    blocks = csv_reader._line_blocks

    def watched(*args):
        try:
            yield from blocks(*args)
        except csv_reader._LongLine:
            left.append(True)
            raise

    monkeypatch.setattr(csv_reader, "_line_blocks", watched)
    either, arrow, used = _both(path, monkeypatch)
    assert used
    assert either == arrow
    assert bool(left) == (length + 20 > 512)


def test_the_survey_counts_commas_and_line_breaks(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"a,b\r\n1,2\r\n3,4")
    shape = ingest.survey._survey(path).shape
    assert shape is not None
    assert (shape.commas, shape.feeds, shape.lone_returns, shape.ends_in_feed,
            shape.printable) == (3, 2, 0, False, True)
    path.write_bytes(b"a,b\r1,\t2\n")
    shape = ingest.survey._survey(path).shape
    assert shape is not None
    assert (shape.commas, shape.feeds, shape.lone_returns, shape.ends_in_feed,
            shape.printable) == (2, 1, 1, True, False)
    path.write_bytes(b'a,b\n"1",2\n')
    assert ingest.survey._survey(path).shape is None
