"""The CSV reader: a file's UTF-8 text a batch of rows at a time, every value as text, with row
numbers as an editor shows them. The next batch is parsed on a second thread while the one
before is checked (`_ahead`).

Two parsers read it. Polars' CSV parser, about twice as quick, reads a file the survey proves
plain: no quote character, no line break but \n and \r\n, and as many commas as lines times
the header's commas less one. It reads a short row (`4,5` under three columns) as if its last
fields were empty and a blank line as a row of empty strings, where kpi refuses both; by the
count, a file with a short row or a blank line has a long row too, which Polars refuses, and
then the file is read again by the other parser. Arrow's streaming CSV reader reads every
other file (quoted values, line breaks in them, any doubt), naming each bad row.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import polars as pl

from kpi.errors import CROSS_CHECK_HINT, DataError, located
from kpi.ingest.common import (
    _CONTROL,
    ROW,
    Numbering,
    _batch_rows,
    _first_line,
    _numbered,
    _show,
    printable_ascii_arrow,
)
from kpi.ingest.conform import refuse_header_below
from kpi.ingest.survey import (
    BINARY_SHARE,
    BLOCK,
    _as_utf8,
    _blocks,
    _find_line,
    _line_count,
    _lines_in,
    _looks_utf16,
    _plain,
    _read_at,
    _record_lines,
    _Survey,
    _Text,
    _utf16_bom,
)

if TYPE_CHECKING:
    from kpi.ingest.stage import _FileState

T = TypeVar("T")


# A header line longer than this is not a CSV header (a value's limit is Arrow's block).
MAX_HEADER = 1 << 20


def _csv_batches(path: Path, survey: _Survey, folder: Path, index: int,
                 state: _FileState) -> tuple[Iterator[pl.DataFrame], Numbering]:
    """A CSV file's records as frames of text, a batch at a time, after the checks that need
    only its bytes (blank, binary, encoding, NUL, header)."""
    if not survey.text:
        raise DataError(located(path, "the file is empty"), hint="check the extract was written")
    head = survey.head
    if _utf16_bom(head) is None and b"\x00" in head:
        if _looks_utf16(head):
            raise DataError(located(path, "UTF-16 text without a byte-order mark"),
                            hint="save the extract as UTF-8 (or UTF-16 with a byte-order mark)")
        sample = head.decode("utf-8", "ignore")
        if len(_CONTROL.findall(sample)) > BINARY_SHARE * len(sample):
            raise DataError(located(path, "binary data where a CSV file was expected"),
                            hint="export the extract as CSV (UTF-8) or Parquet")
    text = _as_utf8(path, survey, folder, index, state.warnings)
    sample = _read_at(text.path, text.start, 65536).decode("utf-8", "ignore")
    if len(_CONTROL.findall(sample)) > BINARY_SHARE * len(sample):
        raise DataError(located(path, "binary data where a CSV file was expected"),
                        hint="export the extract as CSV (UTF-8) or Parquet")
    if text.nul is not None:
        # Refuse a NUL byte anywhere, naming its row: a NUL is never text, and kept it would
        # make 'So\0uth' a place of its own beside 'South'.
        raise DataError(located(path, "a NUL byte (binary data) in a CSV file",
                                row=_lines_in(text.path, 0, text.nul) + 1),
                        hint="the file is damaged or not text; export it again")
    return _parse_csv(path, text, state, survey)


def _split_header(path: Path, data: memoryview) -> tuple[list[str], int]:
    """The header's field names and the byte offset where the data starts (a quoted header
    field may hold a line break, so the header is parsed, not cut at the first newline).
    Blank lines before the header are skipped, as blank lines anywhere else are."""
    prefix = bytes(data[:MAX_HEADER]).decode("utf-8", "ignore")
    lines = re.finditer(r"[^\r\n]*(?:\r\n|\r|\n|$)", prefix)
    consumed: list[str] = []

    def feed():
        for match in lines:
            if not match.group(0):
                return
            consumed.append(match.group(0))
            yield match.group(0)

    try:
        header: list[str] = []
        for record in csv.reader(feed()):
            if any(field.strip() for field in record):
                header = record
                break
    except csv.Error as exc:
        raise DataError(located(path, f"the header is not readable CSV ({exc})", row=1)) from None
    text = "".join(consumed)
    if len(data) > MAX_HEADER and not text.endswith(("\n", "\r")):
        raise DataError(located(path, f"the header is longer than {MAX_HEADER >> 20} MiB (no "
                                      "line break in it)", row=_line_count(text.encode()) + 1),
                        hint="this does not look like a CSV extract; check its first line")
    return [h.strip() for h in header], len(text.encode("utf-8"))


def _parse_csv(path: Path, text: _Text, state: _FileState,
               survey: _Survey) -> tuple[Iterator[pl.DataFrame], Numbering]:
    """The records after the header, parsed by Polars' CSV parser when the survey's count
    proves every line a record of the header's fields (`_proven_plain`), else by Arrow's
    streaming CSV reader, with every column as text, in batches of _batch_rows() records."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    prefix = _read_at(text.path, text.start, MAX_HEADER + 1)
    names, length = _split_header(path, memoryview(prefix))
    if not names:
        raise DataError(located(path, "the file is empty"), hint="check the extract was written")
    seen: set[str] = set()
    for number, name in enumerate(names, start=1):
        if not name:
            # An unnamed column (the row index a pandas export adds): no dataset column can
            # map to it, so it is an extra column like any other (ignored, or refused under
            # extra_columns = "error").
            name = names[number - 1] = f"(unnamed column {number})"
        if name.lower() in seen:
            raise DataError(located(path, f"column name '{_show(name)}' appears twice in the "
                                          "header", row=1, column=_show(name)),
                            hint="rename or remove one of them")
        seen.add(name.lower())
    start = text.start + length
    if _find_line(text.path, start, re.compile(rb"\S")) is None:
        raise DataError(located(path, "the file has a header but no data rows"),
                        hint="check the extract was written in full")
    first_line = _line_count(prefix[:length]) + 1
    internal = [f"c{i}" for i in range(len(names))]
    reserved = [n for n in names if n.startswith("__")]
    if reserved:
        state.warnings.append(f"{path}: ignored column(s) "
                              f"{', '.join(repr(_show(n)) for n in reserved[:8])}: names "
                              "starting with '__' are reserved for kpi's own use")
    seen_rows = {"ragged": 0, "blank": 0, "records": 0, "breaks": 0}
    first_ragged: list[Any] = []

    def on_invalid(row) -> str:
        if row.text.strip():
            seen_rows["ragged"] += 1
            if not first_ragged:
                first_ragged.append(row)
        else:
            seen_rows["blank"] += 1  # a whitespace-only line is a blank line, not a short row
        return "skip"

    def parsed_batches(skip: int = 0) -> Iterator[tuple[pl.DataFrame, frozenset[str], int]]:
        """Arrow's batches; with `skip`, the batches of the first `skip` records (which the
        Polars parser handed out before it refused the file) are parsed but not handed out."""
        source = pa.OSFile(str(text.path))
        # The bytes parsed, for kpi.progress, in the file's own bytes (a re-encoded copy's
        # are scaled back to them). Arrow's own position is no measure: it reads far ahead.
        scale = path.stat().st_size / max(1, source.size())
        parsed = start
        try:
            source.seek(start)
            reader = pacsv.open_csv(
                # Parsed in the parsing thread, a block when asked for: with its own threads
                # Arrow's reader ran ahead of the checks and held a growing share of the file.
                source, read_options=pacsv.ReadOptions(column_names=internal, block_size=BLOCK,
                                                       use_threads=False),
                parse_options=pacsv.ParseOptions(newlines_in_values=True,
                                                 invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in internal}, strings_can_be_null=False,
                    quoted_strings_can_be_null=False))
            pending: list[Any] = []
            held = 0
            size = _batch_rows()
            for batch in _record_batches(reader):
                parsed += _text_bytes(batch)
                while batch.num_rows:
                    take = min(size - held, batch.num_rows)
                    pending.append(batch.slice(0, take))
                    held += take
                    batch = batch.slice(take)
                    if held == size and seen_rows["records"] + held <= skip:
                        seen_rows["records"] += held
                        pending, held = [], 0
                    elif held == size:
                        # Arrow's batches are let go before the frame is handed out, not
                        # held while it is checked.
                        frame, printable = frame_of(pending)
                        pending, held = [], 0
                        yield frame, printable, int(parsed * scale)
            if pending:
                frame, printable = frame_of(pending)
                pending = []
                yield frame, printable, int(parsed * scale)
        except pa.ArrowException as exc:
            if "straddl" in str(exc):  # a record longer than the block Arrow parses at once
                _refuse_long_record(path, text.path, start, first_line, names)
            raise DataError(located(path, f"not a readable CSV file ({_first_line(exc)})"),
                            hint="check quoting and delimiters") from None
        finally:
            source.close()
        # A value holding a line break is where quotes that do not pair take the lines
        # between them as one value (`_quoting_fault`); nothing is stored before this.
        if seen_rows["breaks"] and (fault := _quoting_fault(text.path, start)) is not None:
            raise DataError(located(path, fault[1], row=first_line + fault[0]),
                            hint="close the quote (a quote inside a quoted value is written "
                                 "twice), or export the extract with its text quoted")
        if first_ragged:
            # Rows ragged against a first line of a report's title are a header below it.
            refuse_header_below(state.spec, path)
            first = first_ragged[0]
            at = _find_line(text.path, start, re.compile(
                rb"(?m)^" + re.escape(first.text.encode("utf-8")) + rb"(?=[\r\n]|\Z)"))
            more = (f" ({seen_rows['ragged']} such rows in all)" if seen_rows["ragged"] > 1
                    else "")
            raise DataError(located(path, f"expected {first.expected_columns} fields, found "
                                          f"{first.actual_columns}{more}",
                                    row=None if at is None else at[0] + first_line),
                            hint="the file may be truncated, or a value holds an unquoted comma")
        if not seen_rows["records"]:
            raise DataError(located(path, "the file has a header but no data rows"),
                            hint="check the extract was written in full")

    def frame_of(pending: list[Any]) -> tuple[pl.DataFrame, frozenset[str]]:
        """The batch as a Polars frame, and its columns whose bytes are all printable ASCII
        (common.printable_ascii), told from Arrow's buffers here rather than from a copy."""
        arrow = pa.Table.from_batches(pending)
        printable = frozenset(name for name, column in zip(names, arrow.columns, strict=True)
                              if name not in reserved and printable_ascii_arrow(column))
        if not seen_rows["breaks"]:
            # any value, read or not, holding a line break (printable ASCII holds none)
            # (pyarrow.compute's functions are made at import; its stubs do not list them)
            found = pc.match_substring_regex  # pyright: ignore[reportAttributeAccessIssue]
            seen_rows["breaks"] = any(
                pc.any(found(column, "[\r\n]")).as_py()  # pyright: ignore[reportAttributeAccessIssue]
                for name, column in zip(names, arrow.columns, strict=True)
                if name not in printable)
        frame = pl.from_arrow(arrow)
        assert isinstance(frame, pl.DataFrame)
        frame = _named(frame, names, reserved)
        frame = _numbered(frame, seen_rows["records"])
        seen_rows["records"] += frame.height
        return frame, printable

    plain: list[bool] = []
    lines = _proven_plain(survey, text, path, prefix[:length], len(names))

    def polars_batches(lines: int) -> Iterator[tuple[pl.DataFrame, frozenset[str], int]]:
        """Polars' frames of a file `_proven_plain` counted `lines` records in, parsed a
        block of whole lines at a time; on a refusal (a long row), Arrow's from the start."""
        schema = dict.fromkeys(internal, pl.String)
        shape = survey.shape
        printable = (frozenset(n for n in names if n not in reserved)
                     if shape is not None and shape.printable else frozenset())
        size = _batch_rows()
        pending: list[pl.DataFrame] = []
        held = 0
        try:
            for block, parsed in _line_blocks(text.path, start):
                part = pl.read_csv(block, has_header=False, schema=schema, infer_schema=False,
                                   quote_char=None, empty_string_is_null=False,
                                   truncate_ragged_lines=False, raise_if_empty=False)
                del block
                while part.height:
                    take = min(size - held, part.height)
                    pending.append(part.slice(0, take))
                    held += take
                    part = part.slice(take)
                    if held == size:
                        yield polars_frame(pending), printable, parsed
                        pending, held = [], 0
            if pending:
                yield polars_frame(pending), printable, path.stat().st_size
        except (pl.exceptions.PolarsError, _LongLine):
            # A long row (so, by the count, a short one too) or a line over half a block:
            # Arrow's reader reads the file, handing out what Polars' did not, and names the
            # first bad row as it does for any file.
            handed, seen_rows["records"] = seen_rows["records"], 0
            yield from parsed_batches(skip=handed)
            return
        if seen_rows["records"] == lines:
            plain.append(True)  # every record one line, no blank line
        else:  # not seen (the count proves it), but a load is never taken on a broken proof
            raise DataError(located(path, f"{seen_rows['records']:,} records read where the "
                                          f"file has {lines:,} lines of data"),
                            hint=CROSS_CHECK_HINT)

    def polars_frame(pending: list[pl.DataFrame]) -> pl.DataFrame:
        frame = pl.concat(pending, how="vertical") if len(pending) > 1 else pending[0]
        frame = _named(frame, names, reserved)
        frame = _numbered(frame, seen_rows["records"])
        seen_rows["records"] += frame.height
        return frame

    def batches() -> Iterator[pl.DataFrame]:
        # Parsed a batch ahead, on a thread of its own, while this one checks the batch before:
        # both parsers let go of the GIL, so the two share the cores.
        made = parsed_batches() if lines is None else polars_batches(lines)
        for frame, printable, read in _ahead(made):
            state.bytes_read, state.plain_text = read, printable
            yield frame

    def numbering(records: pl.Series) -> pl.Series:
        if not plain:
            plain.append(_plain(text.path, start, seen_rows["records"], seen_rows["blank"]))
        if plain[0]:
            return (records + first_line).alias(ROW)
        return _record_lines(text.path, start, first_line, len(names), seen_rows["records"],
                             records)

    return batches(), numbering


def _quoting_fault(path: Path, start: int) -> tuple[int, str] | None:
    """Where the file's quotes do not pair as CSV's do, and how (the line of the record it
    is in, from 0 for the first line after `start`), or None. Arrow's reader reads such a
    file without a word, and not as the file means: a value opening a quote that never
    closes took every line after it, to the end of the file, as its text (an SSMS export's
    note swallowed a month and a half of rows, exit 0); two such notes, or one beside a quote
    within an unquoted value (5'10"), closed each other, the lines between one value. Python's
    reader in strict mode reads the file as CSV defines it (a quote opens a value only at its
    start, one inside a quoted value is written twice) and stops where it cannot; a quote
    within an unquoted value is a character. Read only where Arrow's values hold a line
    break: a quoted value spanning lines (a note written on two), or quotes gone wrong."""
    limit = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)  # a value may be long; it is the pairing that is read
    try:
        with path.open(encoding="utf-8", errors="replace", newline="") as handle:
            handle.seek(start)
            reader = csv.reader(handle, strict=True)
            begins = 0
            try:
                while True:
                    begins = reader.line_num
                    next(reader)
            except StopIteration:
                return None
            except csv.Error as error:
                if "unexpected end of data" in str(error):
                    return begins, ("a quote opens a value that no quote closes: every line "
                                    "after it to the end of the file would be read as that "
                                    "one value")
                return begins, ("a quoted value goes on after its closing quote (the quotes "
                                "do not pair: the lines between two of them would be read as "
                                "one value)")
    finally:
        csv.field_size_limit(limit)


def _named(frame: pl.DataFrame, names: list[str], reserved: list[str]) -> pl.DataFrame:
    """A parsed batch (its columns named c0, c1, ...) with the header's names, without those
    kpi reserves; renamed in place on a copy of the frame, not by a query."""
    frame = frame.clone()
    frame.columns = names
    return frame.drop(reserved) if reserved else frame


class _LongLine(Exception):
    """A line longer than half a block, left to Arrow's reader (which reads it, or refuses
    it as too long, as it did before Polars' parser was used)."""


def _line_blocks(path: Path, start: int) -> Iterator[tuple[bytes, int]]:
    """The file's bytes from `start` in blocks of whole lines (the last may end without a line
    break), each with the offset where it ends; _LongLine for a line over BLOCK // 2 bytes."""
    longest, step = BLOCK // 2, BLOCK // 4
    carry, offset = b"", start
    for chunk in _blocks(path, start):
        data = carry + chunk if carry else chunk
        # A line over half a block holds one of these points: look at the line around each.
        for point in range(step, len(data), step):
            end = data.find(b"\n", point)
            if (len(data) if end < 0 else end) - data.rfind(b"\n", 0, point) > longest + 1:
                raise _LongLine
        cut = data.rfind(b"\n") + 1
        if cut:
            offset += cut
            yield data[:cut], offset
        carry = data[cut:]
    if len(carry) > longest:
        raise _LongLine
    if carry:
        yield carry, offset + len(carry)


def _proven_plain(survey: _Survey, text: _Text, path: Path, header: bytes,
                  width: int) -> int | None:
    """The number of records after the header when the survey's count proves each line of the
    file a record of `width` fields for Polars' parser, else None.

    In a file with no quote character and no line break but \n and \r\n, a line's fields
    are its commas plus one. When the lines after the header hold `lines` x (`width` - 1)
    commas, a line with fewer commas (a short row, a blank line) means another with more,
    which Polars' parser refuses (`truncate_ragged_lines=False`); so a file it reads to the
    end has `width` fields on every line."""
    shape = survey.shape
    if shape is None or text.path != path or shape.lone_returns or width < 2:
        return None
    # The header (and any blank lines before it) hold no quote either, so its lines are its
    # line feeds.
    lines = shape.feeds - header.count(b"\n") + (not shape.ends_in_feed)
    if lines < 1 or shape.commas - header.count(b",") != lines * (width - 1):
        return None
    return lines


def _ahead(items: Iterator[T]) -> Iterator[T]:
    """`items`, each made on a second thread while the one before it is used. The thread makes
    the next item only once the one before is taken, so memory holds at most one item more
    than without it. An exception raised making an item is raised here, in its place; when the
    consumer stops early (a refusal while checking a batch, an interrupt), the thread makes
    nothing more and `items` is closed in it."""
    import queue
    import threading

    handed: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
    wanted = threading.Semaphore(0)
    stop = threading.Event()

    def make() -> None:
        try:
            while True:
                while not wanted.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                try:
                    item = next(items)
                except StopIteration:
                    handed.put(("end", None))
                    return
                handed.put(("item", item))
        except BaseException as exc:  # handed to the consumer, raised there  # noqa: BLE001
            handed.put(("error", exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=make, name="kpi-csv-parse", daemon=True)
    worker.start()
    try:
        wanted.release()
        while True:
            kind, value = handed.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            wanted.release()  # the next item is made while this one is used
            yield value
    finally:
        stop.set()
        worker.join()


def _text_bytes(batch) -> int:
    """The bytes a batch of text records took in the file: each value's UTF-8 and the comma or
    line break after it (quotes, carriage returns and blank lines are not counted, so it is
    at most what was read)."""
    total = batch.num_rows * batch.num_columns
    for column in batch.columns:
        if len(column):
            offsets = memoryview(column.buffers()[1]).cast("i")  # a string column's offsets
            total += offsets[column.offset + len(column)] - offsets[column.offset]
    return total


def _record_batches(reader) -> Iterator[Any]:
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return


def _refuse_long_record(path: Path, text: Path, start: int, first_line: int,
                        names: list[str]) -> None:
    """Name the row (and, when it can be told, the column) of a value too long to read."""
    found = _find_line(text, start, re.compile(rb"[^\r\n]{%d,}" % (BLOCK // 2)))
    if found is None:
        return
    line, offset = found
    data = b""
    for chunk in _blocks(text, offset):  # the line itself (over BLOCK // 2 bytes)
        ends = [at for at in (chunk.find(b"\n"), chunk.find(b"\r")) if at >= 0]
        data += chunk[:min(ends)] if ends else chunk
        if ends:
            break
    column = None
    if b'"' not in data[:4096]:
        lengths = [len(cell) for cell in data.split(b",")]
        widest = max(range(len(lengths)), key=lengths.__getitem__)
        if len(lengths) == len(names):
            column = _show(names[widest])
    size = max(len(cell) for cell in data.split(b","))
    raise DataError(located(path, f"a value of {size:,} bytes, too long to read (a CSV "
                                  f"record over {BLOCK >> 20} MiB may not be)",
                            row=line + first_line, column=column),
                    hint="the file may be damaged (a missing line break or quote); export it "
                         "again")
