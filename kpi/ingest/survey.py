"""Surveying a file's bytes before anything is parsed: its sha256, encoding, NUL and binary
checks, and the blocks and lines the readers and messages use.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from kpi.errors import DataError, located
from kpi.ingest.common import ROW, _StagingRefused
from kpi.text import CONTROL_BYTES, WIDE_BOMS

# What Arrow's CSV reader parses at once (a record must fit in one), and the blocks files are
# read in. The reader reads up to 32 blocks ahead of the checks, so this also bounds the part
# of a file held in memory (128 MiB).
BLOCK = 1 << 22


# More control characters than this share of the first 64 KiB means a binary file.
BINARY_SHARE = 0.05


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(located(path, f"cannot read the file ({exc.strerror or exc})")) from None


@dataclass(frozen=True)
class _Survey:
    """What one pass over a file's bytes finds, before anything is parsed."""

    size: int
    digest: str  # sha256
    head: bytes  # the first 64 KiB
    text: bool  # some byte is not whitespace
    utf8: bool  # valid UTF-8 throughout (not checked after a UTF-16 or UTF-32 byte-order mark)
    nul: int | None  # offset of the first NUL byte
    # The commas and line breaks of a UTF-8 file with no quote character (None otherwise),
    # for the CSV reader's proof that every line has the header's fields (csv_reader).
    shape: _Shape | None = None
    # The file as the survey read it (`file_identity`): the readers open it again by name,
    # and a load checks it is still this file once they have read it (`same_file`).
    identity: tuple[int, ...] = ()


@dataclass(frozen=True)
class _Shape:
    """What a count of a quote-free file's bytes tells of its lines."""

    commas: int
    feeds: int  # \n bytes
    lone_returns: int  # \r bytes not followed by \n (a line break the CSV reader reads)
    ends_in_feed: bool  # the last byte is \n
    # Every byte printable ASCII (0x20 to 0x7e) but the line breaks and a byte-order mark.
    printable: bool


class _Counter:
    """Counts a file's commas and line breaks block by block (numpy's byte comparisons, many
    times quicker than bytes.count), until a quote character shows the count is of no use."""

    def __init__(self) -> None:
        self.commas = self.feeds = self.returns = self.pairs = 0
        self.printable, self.live, self.last = True, True, b""

    def add(self, chunk: bytes, first: bool) -> None:
        import numpy as np

        if chunk.find(b'"') >= 0:  # memchr: quicker than counting
            self.live = False
            return
        octets = np.frombuffer(chunk, dtype=np.uint8)
        feeds = int(np.count_nonzero(octets == 0x0A))
        returns = chunk.count(b"\r") if chunk.find(b"\r") >= 0 else 0
        self.commas += int(np.count_nonzero(octets == 0x2C))
        self.feeds += feeds
        if returns:
            self.returns += returns
            self.pairs += chunk.count(b"\r\n") + (self.last == b"\r" and chunk[:1] == b"\n")
        if self.printable:
            # Bytes outside 0x20-0x7e, in one pass: less 0x20 (wrapping), above 0x5e.
            bom = 3 if first and chunk[:3] == b"\xef\xbb\xbf" else 0
            outside = int(np.count_nonzero((octets - np.uint8(0x20)) > 0x5E))
            self.printable = outside == feeds + returns + bom
        self.last = chunk[-1:]

    def shape(self) -> _Shape | None:
        if not self.live:
            return None
        return _Shape(commas=self.commas, feeds=self.feeds,
                      lone_returns=self.returns - self.pairs, ends_in_feed=self.last == b"\n",
                      printable=self.printable)


def _survey(path: Path) -> _Survey:
    """Read the file once in blocks: its sha256, size, first bytes, whether it is blank,
    valid UTF-8, where its first NUL byte is, and (for the CSV reader) its commas and line
    breaks when it holds no quote character."""
    import codecs

    digest, size, head, text, utf8, nul = hashlib.sha256(), 0, b"", False, True, None
    decoder = codecs.getincrementaldecoder("utf-8")()
    counter = _Counter()
    try:
        with path.open("rb") as handle:
            identity = file_identity(os.fstat(handle.fileno()))
            while chunk := handle.read(BLOCK):
                if not size:
                    head = chunk[:65536]
                    utf8 = _utf16_bom(head) is None
                digest.update(chunk)
                if not text and re.search(rb"\S", chunk):
                    text = True
                if nul is None and (at := chunk.find(b"\x00")) >= 0:
                    nul = size + at
                # An ASCII block is valid UTF-8 unless a multi-byte character began before it
                # (the decoder then holds its first bytes): most extracts are all ASCII, and
                # checking that is many times quicker than decoding.
                if utf8 and not (chunk.isascii() and not decoder.getstate()[0]):
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        utf8 = False
                if utf8 and counter.live:
                    counter.add(chunk, not size)
                size += len(chunk)
            if file_identity(os.fstat(handle.fileno())) != identity or size != identity[2]:
                raise DataError(located(path, CHANGED))  # written to while it was hashed
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    except OSError as exc:
        raise DataError(located(path, f"cannot read the file ({exc.strerror or exc})")) from None
    return _Survey(size=size, digest=digest.hexdigest(), head=head, text=text, utf8=utf8,
                   nul=nul, shape=counter.shape() if utf8 else None, identity=identity)


# A file written to, or replaced, while a load read it: its sha256 was of one file's bytes and
# its rows another's (an export job renaming a new extract over the old one mid-load), and a
# later load of the file hashed "Nothing changed" over the wrong figures.
CHANGED = ("the file changed while it was read (written to or replaced): nothing was loaded; "
           "load it again once it is written whole")


def file_identity(stat: os.stat_result) -> tuple[int, ...]:
    """What tells one file's bytes from another's without reading them: the device and file
    number (a file renamed over it is another), its size and the time it was last written."""
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def same_file(path: Path, survey: _Survey) -> None:
    """Refuse a file that is no longer the one surveyed: replaced, written to, or gone."""
    try:
        now = file_identity(os.stat(path))
    except OSError:
        now = ()
    if now != survey.identity:
        raise DataError(located(path, CHANGED))


def _blocks(path: Path, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The file's bytes from `start` to `end`, a block at a time."""
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            left = None if end is None else end - start
            while left is None or left > 0:
                chunk = handle.read(BLOCK if left is None else min(BLOCK, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk
    except OSError as exc:
        raise DataError(located(path, f"cannot read the file ({exc.strerror or exc})")) from None


def _lines_in(path: Path, start: int = 0, end: int | None = None) -> int:
    """Line breaks between two offsets, counting \\r\\n, \\r and \\n once each."""
    lines, last = 0, b""
    for chunk in _blocks(path, start, end):
        lines += _line_count(chunk) - (last == b"\r" and chunk[:1] == b"\n")
        last = chunk[-1:]
    return lines


def _read_at(path: Path, start: int, size: int) -> bytes:
    return b"".join(_blocks(path, start, start + size))


@dataclass(frozen=True)
class _Text:
    """A CSV file's text as UTF-8: the file itself, or a re-encoded copy in the staging folder."""

    path: Path
    start: int  # where the text starts (after a UTF-8 byte-order mark)
    nul: int | None


def _as_utf8(path: Path, survey: _Survey, folder: Path, index: int,
             notes: list[str]) -> _Text:
    """The file as UTF-8 without a byte-order mark: as it is when it is UTF-8, else read as
    UTF-16 or UTF-32 (from its byte-order mark) or Windows-1252 (what Excel writes on a UK
    machine) and re-encoded, a block at a time, into the staging folder."""
    codec = _utf16_bom(survey.head)
    if codec is None and survey.utf8:
        return _Text(path, 3 if survey.head[:3] == b"\xef\xbb\xbf" else 0, survey.nul)
    import codecs

    target = folder / f"{index:05d}-utf8.csv"
    decoder = codecs.getincrementaldecoder(codec or "cp1252")()
    offset = written = 0
    nul = None
    first = True
    # Read as Windows-1252, a file must not also hold UTF-8's characters: the first byte that
    # is not UTF-8, and the first character written in UTF-8's bytes (line, text), if any.
    utf8 = codecs.getincrementaldecoder("utf-8")() if codec is None else None
    stray: tuple[int, int] | None = None
    written_utf8: tuple[int, str] | None = None
    if utf8 is not None and survey.head.startswith(b"\xef\xbb\xbf"):
        written_utf8 = (1, "")  # UTF-8's byte-order mark
    lines, tail = 1, b""
    try:
        with target.open("wb") as out:
            for chunk in [*_blocks(path), b""]:
                if utf8 is not None:
                    if stray is None:
                        try:  # to the end: a lead byte last in the file is stray too
                            utf8.decode(chunk, final=not chunk)
                        except UnicodeDecodeError as exc:
                            # (the decoder's bytes: any held from the block before, then these)
                            stray = (lines + exc.object.count(b"\n", 0, exc.start),
                                     exc.object[exc.start])
                    # searched with the end of the block before, so a character across the
                    # edge of two blocks is seen
                    window = tail + chunk
                    if written_utf8 is None and (found := _UTF8_CHARACTER.search(window)):
                        written_utf8 = (lines - tail.count(b"\n")
                                        + window.count(b"\n", 0, found.start()),
                                        found.group().decode("utf-8"))
                    lines += chunk.count(b"\n")
                    tail = chunk[-3:]
                try:
                    text = decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as exc:
                    if codec is not None:
                        raise DataError(located(path, f"cannot decode the bytes at offset "
                                                      f"{offset + exc.start} as "
                                                      f"{codec.upper()} (the file starts with "
                                                      "its byte-order mark)"),
                                        hint="save the extract as UTF-8") from None
                    raise DataError(located(path, f"cannot decode byte {chunk[exc.start]:#x} "
                                                  f"at offset {offset + exc.start} as UTF-8 or "
                                                  "Windows-1252"),
                                    hint="save the extract as UTF-8") from None
                if first and codec is not None and text:
                    text = text.lstrip("\ufeff")
                    first = not text
                data = text.encode("utf-8")
                if nul is None and (at := data.find(b"\x00")) >= 0:
                    nul = written + at
                out.write(data)
                written += len(data)
                offset += len(chunk)
    except OSError as exc:
        raise _StagingRefused(exc) from None
    if stray is not None and written_utf8 is not None:
        what = f"'{written_utf8[1]}'" if written_utf8[1] else "a byte-order mark"
        raise DataError(located(path, f"line {stray[0]:,} holds byte {stray[1]:#x}, which is "
                                      f"not UTF-8, and line {written_utf8[0]:,} holds "
                                      f"{what} written in UTF-8: the file mixes "
                                      "two encodings, and read as either, some of its text "
                                      "would be wrong ('\u2013' read as Windows-1252 is "
                                      "'\u00e2\u20ac\u201c')"),
                        hint=f"save the extract as UTF-8 again, or correct line "
                             f"{stray[0]:,} (a character pasted from another program)")
    notes.append(f"{path}: read as {codec.upper()} (from its byte-order mark)" if codec
                 else f"{path}: not UTF-8; read as Windows-1252")
    return _Text(target, 0, nul)


# A character UTF-8 writes in two bytes (accented letters, Greek, Cyrillic: U+0080 to
# U+07FF), or the punctuation and currency pasted from word processors in three (U+2000 to
# U+20CF: dashes, curly quotes, the ellipsis, the euro sign). Windows-1252 text holds such
# bytes only where an accented capital stands before a symbol ("É’"), or "â" before two
# ("â€“", itself UTF-8 read as Windows-1252), which a file of that encoding rarely has; a
# letter before two symbols ("é £", é, a no-break space and £) reads as a Chinese character
# in UTF-8 and is not counted.
_UTF8_CHARACTER = re.compile(rb"(?<![\x80-\xff])(?:[\xc2-\xdf][\x80-\xbf]"
                             rb"|\xe2[\x80-\x82][\x80-\xbf])(?![\x80-\xbf])")


def _utf16_bom(raw: bytes) -> str | None:
    """'utf-16' or 'utf-32' when the file starts with that encoding's byte-order mark."""
    return next((codec for bom, codec in WIDE_BOMS if raw.startswith(bom)), None)


def _looks_utf16(sample: bytes) -> bool:
    """Text such as ASCII saved as UTF-16 without a byte-order mark: every other byte NUL."""
    even, odd = sample[0::2], sample[1::2]
    return max(even.count(0), odd.count(0)) > 0.9 * min(len(even), len(odd)) > 0


# The opening bytes of the containers an extract is sometimes saved in by mistake, and what
# each is called in a message (`format_of`).
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and an encrypted .xlsx
_ODS = b"application/vnd.oasis.opendocument.spreadsheet"


@dataclass(frozen=True)
class Format:
    """What a file's bytes say it is, whatever its name."""

    kind: str  # "xlsx", "xls", "ods", "zip", "gzip", "pdf", "parquet" or "text"
    what: str  # in a message, after "the file is": "an Excel workbook (.xlsx)"
    hint: str  # what to do with it where another kind was expected


_FORMATS = {
    "xlsx": ("an Excel workbook (.xlsx)", "give it its .xlsx name: kpi reads a workbook by its "
             "name (.xlsx, .xlsm, .xls)"),
    "xls": ("an Excel 97-2003 workbook (.xls) or another Office file",
            "give it its .xls name: kpi reads a workbook by its name (.xlsx, .xlsm, .xls)"),
    "ods": ("an OpenDocument spreadsheet (.ods)",
            "kpi does not read .ods: in LibreOffice, save it with File > Save As as Excel "
            "2007-365 (.xlsx), or export the sheet as CSV (UTF-8)"),
    "zip": ("a zip archive", "if it holds extracts, unzip it and load them"),
    "gzip": ("a gzip-compressed file", "decompress it (gunzip) and load the extract inside"),
    "pdf": ("a PDF document", "load the extract the PDF was made from, as CSV, Parquet or "
            "Excel"),
    "parquet": ("a Parquet file", "give it its .parquet name"),
    "text": ("text (a CSV file?)", "if it is a CSV extract, give it its .csv name"),
}


def format_of(path: Path, head: bytes) -> Format | None:
    """What the file's opening bytes (`head`, at least its first 64 KiB where there are as
    many) say it is, for the containers kpi recognises; None for anything else (binary data
    of no known kind). A zip archive's names are read to tell an .xlsx from an .ods from any
    other archive. "text" is a head without a control character (but tab, line breaks and
    form feed): the CSV reader's own checks decide the rest."""
    kind: str | None = None
    if head[:4] == b"PAR1":
        kind = "parquet"
    elif head[:8] == _OLE2:
        kind = "xls"
    elif head[:2] == b"\x1f\x8b":
        kind = "gzip"
    elif head[:5] == b"%PDF-":
        kind = "pdf"
    elif head[:4] == b"PK\x03\x04":
        kind = _zip_kind(path, head)
    elif head and not CONTROL_BYTES.search(head):
        kind = "text"
    if kind is None:
        return None
    what, hint = _FORMATS[kind]
    return Format(kind, what, hint)


# The formats each reader takes, and what it is called in a message.
_READERS = {"csv": ({"text"}, "a CSV file"), "parquet": ({"parquet"}, "a Parquet file"),
            "excel": ({"xlsx", "xls"}, "an Excel workbook")}


def as_named(path: Path, head: bytes, reader: str) -> None:
    """Refuse a file whose opening bytes say it is another format than `reader` ("csv",
    "parquet" or "excel", chosen by its name) takes, naming what it is and what to do: the
    one check that a reader is never handed another format's bytes. Bytes of no format
    `format_of` knows are left to the reader, which names its own fault."""
    found = format_of(path, head)
    takes, name = _READERS[reader]
    if found is not None and found.kind not in takes:
        raise DataError(located(path, f"the file is {found.what}, not {name}"), hint=found.hint)


def _zip_kind(path: Path, head: bytes) -> str | None:
    """"xlsx", "ods" or "zip": an OpenDocument file names its type in an uncompressed
    first member, `mimetype`; an .xlsx (or .xlsm) holds xl/workbook.xml. None for a damaged
    archive, which the reader reports in its own words."""
    if head[30:38] == b"mimetype" and head[38:38 + len(_ODS)] == _ODS:
        return "ods"
    import zipfile

    try:
        with zipfile.ZipFile(path) as book:
            names = set(book.namelist())
    except (zipfile.BadZipFile, OSError):
        return None
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "mimetype" in names and "content.xml" in names:
        return "ods"
    return "zip"


def _is_parquet(path: Path, raw: bytes) -> bool:
    return raw[:4] == b"PAR1" or path.suffix.lower() in (".parquet", ".pq")


def _line_count(data: bytes | memoryview) -> int:
    """Line breaks in the data, counting \\r\\n, \\r and \\n once each as the csv module does."""
    data = bytes(data) if isinstance(data, memoryview) else data
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def _find_line(path: Path, start: int, pattern: re.Pattern[bytes]) -> tuple[int, int] | None:
    """Where `pattern` first matches within a line, after `start`: the line (counted from 0)
    and the byte offset; None when it does not. The pattern may use ^ and \\Z (with
    re.MULTILINE) and must not match a line break."""
    lines, carry, offset = 0, b"", start
    for chunk in _blocks(path, start):
        data = carry + chunk
        # Whole lines only (a lone \r at the end may be the first half of \r\n).
        cut = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1
        found = pattern.search(data, 0, cut)
        if found is not None:
            return lines + _line_count(data[:found.start()]), offset + found.start()
        lines += _line_count(data[:cut])
        offset += cut
        carry = data[cut:]
    found = pattern.search(carry)
    if found is None:
        return None
    return lines + _line_count(carry[:found.start()]), offset + found.start()


def _plain(path: Path, start: int, records: int, blank_lines: int) -> bool:
    """Whether each record is one line, with no blank lines: then record i is on line i."""
    if blank_lines:
        return False
    lines, tail = 0, b""
    for chunk in _blocks(path, start):
        data = tail + chunk
        if any(gap in data for gap in (b"\n\n", b"\r\r", b"\n\r\n")):
            return False
        lines += _line_count(chunk) - (tail[-1:] == b"\r" and chunk[:1] == b"\n")
        tail = data[-2:]
    lines += 1 if tail and tail[-1:] not in (b"\r", b"\n") else 0
    return lines == records


def _record_lines(path: Path, start: int, first_line: int, width: int, height: int,
                  records: pl.Series) -> pl.Series:
    """The line each of `records` (indexes) starts on, from one scan of the file with the csv
    module, which counts the lines a quoted value spans."""
    wanted = set(records.to_list())
    found: dict[int, int] = {}
    count = 0
    try:
        with path.open("rb") as raw:
            raw.seek(start)
            reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
            line = 1
            for row in reader:
                blank = not row or (width > 1 and len(row) == 1 and not row[0].strip())
                if not blank:
                    if count in wanted:
                        found[count] = line + first_line - 1
                    count += 1
                line = reader.line_num + 1
    except (csv.Error, UnicodeDecodeError):
        count = -1
    except OSError as exc:
        raise DataError(located(path, f"cannot read the file ({exc.strerror or exc})")) from None
    if count != height:  # the two parsers disagree on odd quoting: number by record
        return (records + first_line).alias(ROW)
    return pl.Series(ROW, [found[r] for r in records.to_list()], dtype=pl.Int64)
