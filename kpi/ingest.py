"""Reading extracts: CSV, Parquet or Excel in, a checked frame of the dataset's columns out.

Each source file is read whole, its columns mapped onto the dataset's names, each value parsed
to the declared type, and every failure reported as FILE, row N, column C: expected X, found Y.
By default one bad row rejects the file; with skip_bad_rows the good rows load and the bad ones
are returned with their reasons for a quarantine file. Nothing here writes to the store: a load
that fails at any point leaves it untouched (docs/guarantees.md).

Row numbers are the line numbers a text editor shows (the header is row 1; a record spanning
lines is numbered by its first line). In a Parquet file they are record numbers from 1. In a
workbook they are sheet rows, counted from the sheet's first non-empty row (the header, row 1).
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from kpi import dateparts
from kpi.catalogue import ColumnSpec, ColumnType, DatasetSpec, polars_schema
from kpi.errors import ConfigError, DataError, UsageError, located, refusal
from kpi.periods import Month

ROW = "__row"  # a record's index in its file; row numbers for messages come from Numbering
REASON = "__reason"
COLUMN = "__column"
FILE = "__file"
MAX_LISTED = 5
SANE_YEARS = (1990, date.today().year + 1)
# A header line longer than this is not a CSV header (a value's limit is Arrow's block).
MAX_HEADER = 1 << 20
# What Arrow's CSV reader parses at once (a record must fit in one), and the blocks files are
# read in. The reader reads up to 32 blocks ahead of the checks, so this also bounds the part
# of a file held in memory (128 MiB).
BLOCK = 1 << 22
# More control characters than this share of the first 64 KiB means a binary file.
BINARY_SHARE = 0.05

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d")
_DATETIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M",
)
# ISO 8601 instants with a UTC offset (data.police.uk stop and search: 2023-08-31T23:20:00+00:00).
_OFFSET_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z",
                   "%Y-%m-%d %H:%M%#z")
_MONTH_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
# What spreadsheet software makes of '10-17', '2025-09' or a date: 'Oct-17', '17-Oct',
# 'Sept 2025', '01-Oct-2025'. Only a pattern (or a date type) can tell it from real text.
_MONTH_NAME = (r"(?i)^\s*(\d{1,2}[-/ ])?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
               r"[a-z]*\.?([-/ ]\d{1,4})?\s*$")
_DATE_SHAPE = r"^\s*(\d{4}[-/]\d{1,2}[-/]\d{1,2}|\d{1,2}[-/]\d{1,2}[-/]\d{4})([ T].*)?$"
_SPREADSHEET_NOTE = " (a month name: spreadsheet software may have converted the value)"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# What a text cell may not hold: C0 and C1 control characters but tab, DEL, and the Unicode
# marks that reorder how a line is displayed. Any of them in a report could clear a terminal,
# rewrite a line or break a table (docs/guarantees.md).
_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SHOWN_AS_MARK = r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"  # shown as '?'
# Rows read, typed and checked at once: memory is bounded by a batch, not by the file.
# KPI_INGEST_BATCH_ROWS overrides it (the tests use small batches).
BATCH_ROWS = 250_000
# Distinct ids held at once by the `unique` check: above it, ids are checked in passes, each
# over the ids whose hash falls in one share.
UNIQUE_ROWS = 4_000_000
# The shares a load's ids are staged in for its own `unique` check: one share holds a 64th of
# them (a million at 64M rows).
SHARES = 64
# Rows of one month written to the table at once (a Parquet row group).
ROW_GROUP = 256 * 1024

Numbering = Callable[[pl.Series], pl.Series]


@dataclass
class Extract:
    """What one ingest read: the good rows, the rejected ones, and where they came from.

    The good rows are `staged` as Parquet files (one per batch of each file, one row group per
    month, with the file's index as FILE and the record index as ROW) or, for `read_extracts`,
    held in `frame`.
    `covered` has one row per (file, month, replace_by value...) the good rows hold, with its
    row count ("rows"): what the load will replace, and from which file."""

    rows: int
    rejected: pl.DataFrame
    sources: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    covered: pl.DataFrame | None = None
    staged: list[Path] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # FILE index -> the file's path
    numberings: dict[str, Numbering] = field(default_factory=dict)
    id_columns: dict[str, str] = field(default_factory=dict)
    frame: pl.DataFrame | None = None
    # month -> the staged files and row groups holding its rows, in load order
    groups: dict[str, list[tuple[Path, int]]] = field(default_factory=dict)
    # hash share -> the staged files and row groups of the ids in it (datasets with `unique`)
    shares: dict[int, list[tuple[Path, int]]] = field(default_factory=dict)

    @property
    def months(self) -> list[str]:
        if self.covered is None or not self.covered.height:
            return []
        return sorted(m for m in self.covered["month"].unique().to_list() if m is not None)

    @property
    def keys(self) -> pl.DataFrame:
        """Each (month, replace_by value...) the good rows hold, once."""
        assert self.covered is not None
        return self.covered.drop("rows", FILE).unique()

    def scan(self, *, bookkeeping: bool = False) -> pl.LazyFrame:
        """The good rows, in no set order; with `bookkeeping`, also FILE (the file's index in
        `files`) and ROW (its record index in the file), which give the load's order."""
        if self.frame is not None:
            return self.frame.lazy()
        lazy = pl.scan_parquet(self.staged) if self.staged else pl.LazyFrame(
            schema={ROW: pl.Int64, FILE: pl.Int32})
        return lazy if bookkeeping else lazy.drop(ROW, FILE)

    def month_rows(self, month: str, columns: list[str]) -> Iterator[Any]:
        """One month's good rows, in load order, as Arrow tables of at least ROW_GROUP rows
        (but the last), with `columns`."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        held: list[Any] = []
        count = 0
        for path, group in self.groups.get(month, []):
            for batch in pq.ParquetFile(path).read_row_group(group, columns=columns).to_batches():
                held.append(batch)
                count += batch.num_rows
                if count >= ROW_GROUP:
                    yield pa.Table.from_batches(held)
                    held, count = [], 0
        if held:
            yield pa.Table.from_batches(held)


def expand_sources(patterns: list[str]) -> list[Path]:
    """Files named on the command line, with globs expanded (also on shells that do not)."""
    paths: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise UsageError(f"no files match '{pattern}'")
        for match in matches:
            path = Path(match)
            if not path.is_file():
                raise DataError(f"{path}: no such file")
            paths.append(path)
    return paths


def read_extracts(spec: DatasetSpec, paths: list[Path], *, skip_bad_rows: bool = False,
                  parts: bool = False, measured: frozenset[str] = frozenset(),
                  sheet: str | None = None) -> Extract:
    """`stage_extracts` into a temporary folder, with the good rows then held in `frame`: for
    small extracts and for looking at what a load would store. `load` streams instead."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kpi-ingest-") as folder:
        extract = stage_extracts(spec, paths, Path(folder), skip_bad_rows=skip_bad_rows,
                                 parts=parts, measured=measured, sheet=sheet)
        extract.frame = (extract.scan(bookkeeping=True).sort(FILE, ROW).drop(ROW, FILE)
                         .collect())
        extract.staged = []
    return extract


def stage_extracts(spec: DatasetSpec, paths: list[Path], folder: Path, *,
                   skip_bad_rows: bool = False, parts: bool = False,
                   measured: frozenset[str] = frozenset(), sheet: str | None = None) -> Extract:
    """Read, map and type every file a batch at a time, writing the good rows as Parquet files
    into `folder`; raise DataError on the first bad file (or, with skip_bad_rows, return its
    bad rows as `rejected` with file, row, column and reason). Memory is bounded by a batch
    (BATCH_ROWS), the bad rows kept, and the ids of one share of the `unique` check.

    A file named twice (the same bytes, by sha256) is read once. Two files holding rows of the
    same month (or the same month and `replace_by` values) are refused unless `parts` says they
    are parts of one extract: otherwise an original and its revision would be added together.
    A required number column in `measured` (read by a KPI) that is blank on every row of a file
    refuses that file."""
    extract = Extract(rows=0, rejected=pl.DataFrame())
    rejected, covered = [], []
    seen: dict[str, Path] = {}  # sha256 -> the first file with those bytes
    for path in paths:
        survey = _survey(path)
        if survey.digest in seen:
            extract.warnings.append(f"{path}: the same file as {seen[survey.digest]} (sha256 "
                                    f"{survey.digest[:12]}); read once")
            continue
        seen[survey.digest] = path
        index = len(extract.files)
        extract.files.append(str(path))
        state = _FileState(spec=spec, path=path, index=index, folder=folder,
                           measured=measured, keep_bad=skip_bad_rows)
        excel = _is_excel(path)
        sheet_read = None
        if excel:
            table, sheet_read, numbering = _read_excel(spec, path, _read_bytes(path),
                                                       sheet or spec.sheet, extract.warnings)
            state.excel = True
            batches = (table.slice(start, _batch_rows())
                       for start in range(0, table.height, _batch_rows()))
        elif _is_parquet(path, survey.head):
            state.from_csv = False
            batches, numbering = _parquet_batches(path, survey, state)
        else:
            batches, numbering = _csv_batches(path, survey, folder, index, state)
        for batch in batches:
            state.add(batch)
        state.finish()
        extract.warnings.extend(state.warnings)
        if state.bad_count and not skip_bad_rows:
            raise DataError(_describe_bad_rows(path, state.bad(numbering), state.bad_count),
                            hint="fix the rows named, or load the rest with --skip-bad-rows")
        extract.id_columns[str(path)] = state.mapping.get(spec.unique or "", spec.unique or "")
        extract.numberings[str(path)] = numbering
        extract.staged.extend(state.staged)
        for month, groups in state.groups.items():
            extract.groups.setdefault(month, []).extend(groups)
        for share, groups in state.shares.items():
            extract.shares.setdefault(share, []).extend(groups)
        extract.rows += state.good
        if state.bad_count:
            rejected.append(state.bad(numbering).with_columns(pl.lit(str(path)).alias(FILE)))
        extract.sources.append({"file": path.name, "sha256": survey.digest,
                                "bytes": survey.size, "rows": state.good,
                                "rejected": state.bad_count,
                                **({"sheet": sheet_read} if excel else {})})
        covered.append(state.covered())
    keys = pl.concat(covered, how="vertical")
    extract.covered = keys
    if not parts:
        _check_overlap(spec, keys)
    extract.warnings.extend(_gaps(spec, paths, keys))
    bad_frame = pl.concat(rejected, how="diagonal_relaxed") if rejected else pl.DataFrame()
    extract.rejected = bad_frame
    if spec.unique and extract.rows:
        _check_unique(spec, extract)
    if extract.rows == 0:
        where = ", ".join(str(p) for p in paths)
        if bad_frame.height:
            first = bad_frame.row(0, named=True)
            raise DataError(f"{where}: all {bad_frame.height} data rows were rejected; first: "
                            + located(first[FILE], first[REASON], row=first[ROW],
                                      column=first[COLUMN]),
                            hint="nothing was loaded; fix the extract")
        raise DataError(f"{where}: no data rows to load")
    return extract


def _batch_rows() -> int:
    text = os.environ.get("KPI_INGEST_BATCH_ROWS", "").strip()
    if not text:
        return BATCH_ROWS
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"KPI_INGEST_BATCH_ROWS must be a whole number of rows, at least 1; "
                         f"found '{_show(text)}'", hint="unset it for the default, 250000")
    return int(text)


@dataclass
class _FileState:
    """One file's batches as they are conformed: the good rows staged, the bad ones kept (all
    of them with skip_bad_rows, else the first few and a count), and what the file-wide checks
    need (rows per month, which measured number columns ever hold a value)."""

    spec: DatasetSpec
    path: Path
    index: int
    folder: Path
    measured: frozenset[str]
    keep_bad: bool
    from_csv: bool = True
    excel: bool = False
    mapping: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    staged: list[Path] = field(default_factory=list)
    good: int = 0
    typed: int = 0  # rows typed: all but blank rows and repeated headers
    repeated: int = 0
    present: dict[str, bool] = field(default_factory=dict)
    bad_frames: list[pl.DataFrame] = field(default_factory=list)
    bad_count: int = 0
    counts: list[pl.DataFrame] = field(default_factory=list)
    matched: bool = False
    batches: int = 0
    groups: dict[str, list[tuple[Path, int]]] = field(default_factory=dict)
    shares: dict[int, list[tuple[Path, int]]] = field(default_factory=dict)

    def add(self, table: pl.DataFrame) -> None:
        if not self.matched:
            self.mapping = _match_columns(self.spec, self.path, table.columns, self.warnings,
                                          1 if self.from_csv else None)
            if not self.from_csv:
                _check_parquet_types(self.spec, self.path, table, self.mapping)
            self.matched = True
        good, bad = _conform(self.spec, self.path, table, self)
        if bad.height:
            self.bad_count += bad.height
            kept = sum(f.height for f in self.bad_frames)
            if self.keep_bad:
                self.bad_frames.append(bad)
            elif kept < MAX_LISTED:
                self.bad_frames.append(bad.head(MAX_LISTED - kept))
        if good.height:
            self.good += good.height
            self.counts.append(good.group_by("month", *self.spec.replace_by).len("rows"))
            if not self.keep_bad and self.bad_count:
                return  # the file is refused anyway: stage nothing more
            # One file per batch, one row group per month (in file order within it), as the
            # table is partitioned by month: the commit reads and writes a month at a time.
            schema = polars_schema(self.spec)
            rows = good.select(pl.col(ROW), *[pl.col(n).cast(t) for n, t in schema.items()],
                               pl.lit(self.index, dtype=pl.Int32).alias(FILE)
                               ).sort("month", maintain_order=True)
            target = self.folder / f"{self.index:05d}-{self.batches:06d}.parquet"
            sizes = rows.group_by("month", maintain_order=True).len().rows()
            _write_staged(rows, sizes, target)
            self.staged.append(target)
            for group, (month, _) in enumerate(sizes):
                self.groups.setdefault(month, []).append((target, group))
            if self.spec.unique:
                self._stage_ids(rows)
        self.batches += 1

    def _stage_ids(self, rows: pl.DataFrame) -> None:
        """The batch's ids with their file and record, one row group per hash share, so the
        `unique` check reads one share of the load's ids at a time."""
        key = self.spec.unique
        ids = (rows.select(key, FILE, ROW).filter(pl.col(key).is_not_null())
               .with_columns((pl.col(key).hash(seed=0) % SHARES).alias("__share"))
               .sort("__share", maintain_order=True))
        sizes = ids.group_by("__share", maintain_order=True).len().rows()
        target = self.folder / f"{self.index:05d}-{self.batches:06d}-ids.parquet"
        _write_staged(ids.drop("__share"), sizes, target)
        for group, (share, _) in enumerate(sizes):
            self.shares.setdefault(share, []).append((target, group))

    def finish(self) -> None:
        """The file-wide checks, once every batch is in."""
        if self.repeated:
            self.warnings.append(f"{self.path}: skipped {self.repeated} repeated header row(s)")
        _refuse_blank_columns(self.spec, self.path, self)

    def bad(self, numbering: Numbering) -> pl.DataFrame:
        """The bad rows kept, in file order, with row numbers as an editor shows them."""
        bad = pl.concat(self.bad_frames, how="diagonal_relaxed")
        return bad.with_columns(numbering(bad[ROW]))

    def covered(self) -> pl.DataFrame:
        keys = ["month", *self.spec.replace_by]
        schema = {k: pl.String for k in keys}
        schema.update({k: v for k, v in polars_schema(self.spec).items() if k in keys})
        counts = (pl.concat(self.counts, how="vertical") if self.counts
                  else pl.DataFrame(schema={**schema, "rows": pl.UInt32}))
        return (counts.group_by(keys, maintain_order=True).agg(pl.col("rows").sum())
                .with_columns(pl.lit(str(self.path)).alias(FILE)))


def _gaps(spec: DatasetSpec, paths: list[Path], keys: pl.DataFrame) -> list[str]:
    """A warning for months with no rows between the first and last month read: a load
    replaces only the months it holds, so a revision that drops a month keeps the old one."""
    held = {m for m in keys["month"].to_list() if m}
    if not held:
        return []
    first, last = Month.parse(min(held)), Month.parse(max(held))
    step = spec.months_per_row
    months, month = [], first
    while month <= last:
        months.append(str(month))
        month = month + step
    missing = [m for m in months if m not in held]
    if not missing:
        return []
    where = ", ".join(str(p) for p in paths[:3]) + (", ..." if len(paths) > 3 else "")
    shown = ", ".join(missing[:6]) + (f" (and {len(missing) - 6} more)" if len(missing) > 6
                                      else "")
    return [f"{where}: no rows for {shown}, between its first and last month; any rows stored "
            f"for {'them' if len(missing) > 1 else shown} are kept"]


def describe_key(key: dict[str, Any], replace_by: tuple[str, ...]) -> str:
    """'2025-10', or '2025-10 (falls_within 'Kent')' for a dataset with replace_by columns."""
    if not replace_by:
        return str(key["month"])
    values = ", ".join(f"{name} " + ("blank" if key[name] is None else f"'{_show(key[name])}'")
                       for name in replace_by)
    return f"{key['month']} ({values})"


def _check_overlap(spec: DatasetSpec, covered: pl.DataFrame) -> None:
    """Refuse two files holding rows of one month (or month and replace_by values): the
    months a load covers are replaced by everything it holds for them, so an original and a
    revised extract loaded together would be summed."""
    keys = ["month", *spec.replace_by]
    shared = (covered.group_by(keys).agg(pl.col(FILE).unique(maintain_order=True))
              .filter(pl.col(FILE).list.len() > 1).sort(keys, nulls_last=True))
    if not shared.height:
        return
    first = shared.row(0, named=True)
    pair = first[FILE][:2]
    both = shared.filter(pl.col(FILE).list.contains(pair[0])
                         & pl.col(FILE).list.contains(pair[1]))
    named = [describe_key(k, spec.replace_by) for k in both.head(MAX_LISTED).iter_rows(named=True)]
    what = ", ".join(named) + (f" and {both.height - MAX_LISTED} more" if both.height > MAX_LISTED
                               else "")
    others = sorted({f for files in shared[FILE].to_list() for f in files} - set(pair))
    also = f"; {', '.join(others)} also overlap" if others else ""
    raise DataError(f"{pair[0]} and {pair[1]} both hold rows for {what}: loaded together, "
                    f"they would be counted twice{also}",
                    hint="load only the newest extract (it replaces the months it covers), or "
                         "pass --parts if the files are parts of one extract")


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


def _survey(path: Path) -> _Survey:
    """Read the file once in blocks: its sha256, size, first bytes, whether it is blank,
    valid UTF-8, and where its first NUL byte is."""
    import codecs

    digest, size, head, text, utf8, nul = hashlib.sha256(), 0, b"", False, True, None
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(BLOCK):
                if not size:
                    head = chunk[:65536]
                    utf8 = _utf16_bom(head) is None
                digest.update(chunk)
                if not text and re.search(rb"\S", chunk):
                    text = True
                if nul is None and (at := chunk.find(b"\x00")) >= 0:
                    nul = size + at
                if utf8:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        utf8 = False
                size += len(chunk)
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    except OSError as exc:
        raise DataError(located(path, f"cannot read the file ({exc.strerror or exc})")) from None
    return _Survey(size=size, digest=digest.hexdigest(), head=head, text=text, utf8=utf8,
                   nul=nul)


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
    try:
        with target.open("wb") as out:
            for chunk in [*_blocks(path), b""]:
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
    notes.append(f"{path}: read as {codec.upper()} (from its byte-order mark)" if codec
                 else f"{path}: not UTF-8; read as Windows-1252")
    return _Text(target, 0, nul)


def _write_staged(rows: pl.DataFrame, sizes: list[tuple[str, int]], target: Path) -> None:
    """Write a batch's good rows (sorted by month) with one row group per month."""
    import pyarrow.parquet as pq

    arrow = rows.to_arrow()
    try:
        with pq.ParquetWriter(target, arrow.schema, compression="lz4") as writer:
            start = 0
            for _, size in sizes:
                writer.write_table(arrow.slice(start, size), row_group_size=size)
                start += size
    except OSError as exc:
        raise _StagingRefused(exc) from None


class _StagingRefused(Exception):
    """The operating system refused a write into the staging folder (full disk, read-only)."""

    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error


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
    return _parse_csv(path, text, state)


def _parquet_batches(path: Path, survey: _Survey,
                     state: _FileState) -> tuple[Iterator[pl.DataFrame], Numbering]:
    """A Parquet file a batch at a time, read by Arrow's reader: fuzzing showed Polars' own
    reader panicking (and once aborting the process) on damaged files, where Arrow's raises
    an error."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not survey.text:
        raise DataError(located(path, "the file is empty"), hint="check the extract was written")

    def unreadable(exc: BaseException) -> DataError:
        return DataError(located(path, f"not a readable Parquet file ({_first_line(exc)})"),
                         hint="the file may be truncated or corrupt; export it again")

    try:
        parquet = pq.ParquetFile(str(path))
        total = parquet.metadata.num_rows
    except (Exception, pl.exceptions.PanicException) as exc:
        raise unreadable(exc) from None
    if total == 0:
        raise DataError(located(path, "the Parquet file has no rows"))

    def batches() -> Iterator[pl.DataFrame]:
        start = 0
        reading = parquet.iter_batches(batch_size=_batch_rows())
        while True:
            try:
                batch = next(reading, None)
                if batch is None:
                    return
                arrow = pa.Table.from_batches([batch])
                arrow.validate(full=True)  # e.g. invalid UTF-8 in a string column
                _check_time_range(arrow)
                frame = pl.from_arrow(arrow)
            except (Exception, pl.exceptions.PanicException) as exc:
                raise unreadable(exc) from None
            assert isinstance(frame, pl.DataFrame)
            frame, dropped = _without_reserved(path, frame)
            if not start:
                state.warnings.extend(dropped)
            yield _numbered(frame, start)
            start += frame.height

    return batches(), lambda records: records + 1


EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the container of .xls, and of encrypted .xlsx
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
# Excel serial day numbers read as dates: 1 March 1900 (61; Excel counts a 29 February 1900
# that never was, so earlier numbers are a day out) to 31 December 2099. A number outside is
# left as it is, and is then refused as not a date, never turned into a far-off one.
_SERIALS = (61, 73050)


def _is_excel(path: Path) -> bool:
    return path.suffix.lower() in EXCEL_SUFFIXES


def _read_excel(spec: DatasetSpec, path: Path, raw: bytes, sheet: str | None,
                warnings: list[str]) -> tuple[pl.DataFrame, str, Numbering]:
    """One sheet of a workbook as a frame of text, like a CSV file: its first non-empty row is
    the header. Returns the frame (with ROW), the sheet's name and the row numbering."""
    import fastexcel

    if raw[:8] == _OLE2 and _ENCRYPTED in raw:
        raise DataError(located(path, "the workbook is password-protected (encrypted)"),
                        hint="save a copy without the password, or export the sheet as CSV")
    try:
        reader = fastexcel.read_excel(raw)
    except fastexcel.FastExcelError as exc:
        raise DataError(located(path, f"cannot read the workbook ({_first_line(exc)})"),
                        hint="check that it opens in Excel or LibreOffice, or export the sheet "
                             "as CSV") from None
    names = list(reader.sheet_names)
    listed = ", ".join(f"'{_show(n)}'" for n in names[:10]) + (", ..." if len(names) > 10 else "")
    if sheet is None:
        if len(names) != 1:
            raise DataError(located(path, f"the workbook has {len(names)} sheets ({listed}): "
                                          "which one holds the extract?"),
                            hint=f"name it with --sheet, or with sheet = \"...\" under "
                                 f"[datasets.{spec.id}]")
        sheet = names[0]
    elif sheet not in names:
        raise DataError(located(path, f"the workbook has no sheet '{_show(sheet)}' (it has "
                                      f"{listed})"),
                        hint="sheet names are matched exactly, as Excel shows them on the tabs")
    where = f"{path}, sheet '{_show(sheet)}'"
    try:
        cells = reader.load_sheet(sheet, header_row=None, dtypes="string").to_polars()
    except fastexcel.FastExcelError as exc:
        raise DataError(f"{where}: cannot read the sheet ({_first_line(exc)})",
                        hint="check that it opens in Excel or LibreOffice, or export the sheet "
                             "as CSV") from None
    if cells.height == 0 or cells.width == 0:
        raise DataError(f"{where}: the sheet is empty", hint="check the extract was written")
    header = [None if v is None else str(v).strip() for v in cells.row(0)]
    # Columns with neither a name nor a value (formatting past the table's edge) are not
    # part of it; a blank name over values is a merged or forgotten header cell.
    keep = [i for i, name in enumerate(header)
            if name or cells[:, i].slice(1).drop_nulls().str.strip_chars().str.len_bytes().sum()]
    _excel_header_row(spec, where, cells, header)
    seen: set[str] = set()
    for i in keep:
        name, letter = header[i], _column_letter(i)
        if not name:
            raise DataError(f"{where}, row 1, column {letter}: a blank header cell over a "
                            "column of values (an empty or merged cell)",
                            hint="give each column of the table its own name in one header "
                                 "row; unmerge merged header cells")
        if name.lower() in seen:
            raise DataError(f"{where}, row 1, column {letter}: column name '{_show(name)}' "
                            "appears twice in the header", hint="rename or remove one of them")
        seen.add(name.lower())
    body = cells.slice(1).select([pl.col(cells.columns[i]).alias(header[i]) for i in keep])
    if body.height == 0:
        raise DataError(f"{where}: the sheet has a header but no data rows",
                        hint="check the extract was written in full")
    body, dropped = _without_reserved(path, body)
    warnings.extend(dropped)
    # Blank cells are empty fields, as in a CSV file; a row of them is skipped as there.
    table = _numbered(body.with_columns(pl.all().fill_null("")))
    return table, sheet, lambda records: records + 2


def _excel_header_row(spec: DatasetSpec, where: str, cells: pl.DataFrame,
                      header: list[str | None]) -> None:
    """Refuse a sheet whose header is below a title or notes: the first non-empty row names
    none of the dataset's columns, and a later one names some."""
    wanted = {n.strip().lower() for col in spec.columns for n in (col.name, *col.sources)}
    if any(name and name.lower() in wanted for name in header):
        return
    for number, row in enumerate(cells.slice(1, 30).iter_rows(), start=2):
        if sum(1 for v in row if v is not None and str(v).strip().lower() in wanted) >= 2:
            raise DataError(f"{where}: the header is not the first row: the column names are "
                            f"on row {number} of the sheet's used range",
                            hint="delete the title or notes above the header row, so the "
                                 "table starts at its header")


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _from_serial_dates(spec: DatasetSpec, table: pl.DataFrame,
                       mapping: dict[str, str]) -> pl.DataFrame:
    """Date columns of a workbook may hold Excel serial day numbers (a date cell formatted
    as a number, or typed in as one): as text, the date or date-time they stand for."""
    exprs = []
    for col in spec.columns:
        if col.name not in mapping or col.type not in (ColumnType.DATE, ColumnType.DATETIME,
                                                       ColumnType.MONTH):
            continue
        source = pl.col(mapping[col.name])
        text = source.str.strip_chars()
        serial = text.cast(pl.Float64, strict=False)
        is_serial = text.str.contains(r"^\d+(\.\d+)?$") & serial.is_between(*_SERIALS)
        moment = pl.datetime(1899, 12, 30) + pl.duration(
            milliseconds=(serial * 86_400_000).round(0).cast(pl.Int64))
        shown = moment.dt.strftime("%Y-%m-%d" if col.type == ColumnType.MONTH
                                   else "%Y-%m-%d %H:%M:%S")
        exprs.append(pl.when(is_serial).then(shown).otherwise(source).alias(mapping[col.name]))
    return table.with_columns(exprs) if exprs else table


def _without_reserved(path: Path, frame: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """The frame without source columns whose names kpi keeps for its own bookkeeping (they
    start with '__', as ROW does), and a warning naming them."""
    reserved = [name for name in frame.columns if name.startswith("__")]
    if not reserved:
        return frame, []
    return frame.drop(reserved), [f"{path}: ignored column(s) "
                                  f"{', '.join(repr(_show(n)) for n in reserved[:8])}: names "
                                  "starting with '__' are reserved for kpi's own use"]


def _numbered(frame: pl.DataFrame, start: int = 0) -> pl.DataFrame:
    """The frame with each record's index in its file (from 0; its first is `start`) as
    column ROW."""
    return frame.with_row_index(ROW, offset=start).with_columns(pl.col(ROW).cast(pl.Int64))


_UTF16_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
               (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def _utf16_bom(raw: bytes) -> str | None:
    """'utf-16' or 'utf-32' when the file starts with that encoding's byte-order mark."""
    return next((codec for bom, codec in _UTF16_BOMS if raw.startswith(bom)), None)


def _looks_utf16(sample: bytes) -> bool:
    """Text such as ASCII saved as UTF-16 without a byte-order mark: every other byte NUL."""
    even, odd = sample[0::2], sample[1::2]
    return max(even.count(0), odd.count(0)) > 0.9 * min(len(even), len(odd)) > 0


def _is_parquet(path: Path, raw: bytes) -> bool:
    return raw[:4] == b"PAR1" or path.suffix.lower() in (".parquet", ".pq")


# Dates and times that Polars can turn into calendar values: years 1 to 9999, in days since
# 1970-01-01. Outside them Polars panics ("out-of-range date") when it formats or compares.
_DAY_RANGE = (-719_162, 2_932_896)
_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}


def _check_time_range(arrow) -> None:
    """Raise ValueError if a date or timestamp column holds a value outside _DAY_RANGE."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for field_, column in zip(arrow.schema, arrow.columns, strict=True):
        kind = field_.type
        if pa.types.is_date32(kind):
            scale = 1
        elif pa.types.is_date64(kind):
            scale = _PER_DAY["ms"]
        elif pa.types.is_timestamp(kind):
            scale = _PER_DAY[kind.unit]
        else:
            continue
        bounds = pc.min_max(column.cast(pa.int32() if scale == 1 else pa.int64()))
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        if low is not None and (low < _DAY_RANGE[0] * scale or high > _DAY_RANGE[1] * scale):
            raise ValueError(f"column '{field_.name}' holds dates outside the years 1 to 9999")


def _line_count(data: bytes | memoryview) -> int:
    """Line breaks in the data, counting \\r\\n, \\r and \\n once each as the csv module does."""
    data = bytes(data) if isinstance(data, memoryview) else data
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


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


def _parse_csv(path: Path, text: _Text,
               state: _FileState) -> tuple[Iterator[pl.DataFrame], Numbering]:
    """The records after the header, parsed by Arrow's streaming CSV reader with every column
    as text, in batches of _batch_rows() records."""
    import pyarrow as pa
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
    seen_rows = {"ragged": 0, "blank": 0, "records": 0}
    first_ragged: list[Any] = []

    def on_invalid(row) -> str:
        if row.text.strip():
            seen_rows["ragged"] += 1
            if not first_ragged:
                first_ragged.append(row)
        else:
            seen_rows["blank"] += 1  # a whitespace-only line is a blank line, not a short row
        return "skip"

    def batches() -> Iterator[pl.DataFrame]:
        source = pa.OSFile(str(text.path))
        try:
            source.seek(start)
            reader = pacsv.open_csv(
                # Parsed in this thread, a block when asked for: with threads Arrow's reader
                # ran ahead of the checks and held a growing share of the file.
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
                while batch.num_rows:
                    take = min(size - held, batch.num_rows)
                    pending.append(batch.slice(0, take))
                    held += take
                    batch = batch.slice(take)
                    if held == size:
                        yield frame_of(pending)
                        pending, held = [], 0
            if pending:
                yield frame_of(pending)
        except pa.ArrowException as exc:
            if "straddl" in str(exc):  # a record longer than the block Arrow parses at once
                _refuse_long_record(path, text.path, start, first_line, names)
            raise DataError(located(path, f"not a readable CSV file ({_first_line(exc)})"),
                            hint="check quoting and delimiters") from None
        finally:
            source.close()
        if first_ragged:
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

    def frame_of(pending: list[Any]) -> pl.DataFrame:
        arrow = pa.Table.from_batches(pending)
        frame = pl.from_arrow(arrow)
        assert isinstance(frame, pl.DataFrame)
        frame = frame.rename(dict(zip(internal, names, strict=True))).drop(reserved)
        frame = _numbered(frame, seen_rows["records"])
        seen_rows["records"] += frame.height
        return frame

    plain: list[bool] = []

    def numbering(records: pl.Series) -> pl.Series:
        if not plain:
            plain.append(_plain(text.path, start, seen_rows["records"], seen_rows["blank"]))
        if plain[0]:
            return (records + first_line).alias(ROW)
        return _record_lines(text.path, start, first_line, len(names), seen_rows["records"],
                             records)

    return batches(), numbering


def _record_batches(reader) -> Iterator[Any]:
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return


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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return _show(text.splitlines()[0] if text else type(exc).__name__, 160)


def _show(text: str, limit: int = 40) -> str:
    """A value fit for a one-line message: control characters shown as '?', cut to `limit`."""
    text = re.sub(_SHOWN_AS_MARK, "?", str(text))
    return text if len(text) <= limit else text[:limit] + "..."


def _match_columns(spec: DatasetSpec, path: Path, names: list[str], warnings: list[str],
                   header: int | None) -> dict[str, str]:
    """Source column name for each dataset column found. `header` is the row the names are
    on (1 in a CSV file; None in Parquet, which has no header row)."""
    names = [n for n in names if n != ROW]
    lookup = {n.strip().lower(): n for n in names}
    mapping: dict[str, str] = {}
    missing = []
    for col in spec.columns:
        found = list(dict.fromkeys(
            source for candidate in (col.name, *col.sources)
            if (source := lookup.get(candidate.strip().lower())) is not None))
        if len(found) > 1:
            # Two columns that both mean this one may disagree: which one counts is not ours
            # to guess.
            raise DataError(located(path, f"columns '{_show(found[0])}' and '{_show(found[1])}' "
                                          f"both mean column '{col.name}' of dataset "
                                          f"'{spec.id}'", row=header, column=_show(found[1])),
                            hint="remove one of them from the extract, or its name from "
                                 f"from = [...] under [datasets.{spec.id}.columns]")
        if found:
            mapping[col.name] = found[0]
        elif col.required:
            missing.append(col)
    if missing:
        col = missing[0]
        accepted = " or ".join(f"'{n}'" for n in (col.name, *col.sources))
        found = ", ".join(f"'{_show(n)}'" for n in names[:12]) + (", ..." if len(names) > 12
                                                                     else "")
        more = f" (and {len(missing) - 1} more missing)" if len(missing) > 1 else ""
        hint = (f"map the source name with from = [...] under [datasets.{spec.id}.columns]")
        if len(names) == 1 and any(sep in names[0] for sep in ";\t|"):
            hint = "the file seems to use another delimiter; export it comma-separated"
        raise DataError(located(path, f"expected column {accepted}{more}, found {found}",
                                row=header), hint=hint)
    used = set(mapping.values())
    unknown = [n for n in names if n not in used]
    if unknown and spec.extra_columns == "error":
        raise DataError(located(path, f"expected only the columns of dataset '{spec.id}', "
                                      f"found '{_show(unknown[0])}'"
                                      + (f" and {len(unknown) - 1} more" if len(unknown) > 1
                                         else ""), row=header, column=_show(unknown[0])),
                        hint=f"dataset '{spec.id}' sets extra_columns = \"error\"; declare the "
                             "column or drop it from the extract")
    if unknown:
        warnings.append(f"{path}: ignored {len(unknown)} column(s) not in dataset "
                        f"'{spec.id}': {', '.join(_show(n) for n in unknown[:8])}"
                        + ("..." if len(unknown) > 8 else ""))
    return mapping


def _check_parquet_types(spec: DatasetSpec, path: Path, table: pl.DataFrame,
                         mapping: dict[str, str]) -> None:
    """A typed source column must hold something the declared type can be made from: a
    Parquet file whose 'date' column holds integers has the wrong schema, it is not data."""
    for col in spec.columns:
        source = mapping.get(col.name)
        if source is None:
            continue
        dtype = table.schema[source]
        if dtype == pl.String or dtype == pl.Null:
            continue
        ok = {
            ColumnType.STR: (dtype.is_numeric() or dtype in (pl.Boolean, pl.Date, pl.Categorical)
                             or isinstance(dtype, pl.Datetime | pl.Enum)),
            ColumnType.INT: dtype.is_integer() or dtype.is_float(),
            ColumnType.FLOAT: dtype.is_numeric(),
            ColumnType.BOOL: dtype == pl.Boolean,
            ColumnType.DATE: dtype == pl.Date or isinstance(dtype, pl.Datetime),
            ColumnType.DATETIME: dtype == pl.Date or isinstance(dtype, pl.Datetime),
            ColumnType.MONTH: dtype == pl.Date or isinstance(dtype, pl.Datetime),
        }[col.type]
        if not ok:
            raise DataError(located(path, f"expected {_expected(col)}, found a column of "
                                          f"type {dtype}", column=source),
                            hint="the Parquet file's schema does not match the dataset; "
                                 "export it again or fix the column's type in kpi.toml")


def _conform(spec: DatasetSpec, path: Path, table: pl.DataFrame,
             state: _FileState) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Clean and type one batch of a source frame with its file's column mapping. Returns the
    good rows and the bad rows with their reasons; adds to `state` what the file-wide checks
    need."""
    mapping = state.mapping
    cells = [c for c in table.columns if c != ROW]
    if state.from_csv:
        # Rows of empty fields (',,,') and header rows repeated inside the file (concatenated
        # exports) are not data. A repeated header is found from one column first, as
        # comparing every column of every row would cost more than the rest of the load.
        empty = pl.all_horizontal([pl.col(c).str.len_bytes() == 0 for c in cells])
        probe = mapping.get(spec.date) or next(iter(mapping.values()), None)
        candidates = table.filter(pl.col(probe).str.strip_chars() == probe) if probe else None
        if candidates is not None and candidates.height:
            repeated = candidates.filter(pl.all_horizontal(
                [pl.col(s).str.strip_chars() == s for s in mapping.values()]))[ROW]
            if repeated.len():
                state.repeated += repeated.len()
                table = table.filter(~pl.col(ROW).is_in(repeated.to_list()))
        table = table.filter(~empty)
        if state.excel:
            table = _from_serial_dates(spec, table, mapping)

    typed = _typed(spec, table, mapping)
    checked = [col for col in spec.columns if col.name in mapping]
    _note_present(spec, typed, state)

    rules = [rule for col in checked for rule in _rules(spec, col, mapping[col.name])]
    failed = pl.any_horizontal([cond for _, cond, _ in rules]) if rules else pl.lit(False)
    typed = typed.with_columns(failed.alias("__failed"))
    # Messages are built for the failing rows only: most loads have none.
    bad_rows = typed.filter(pl.col("__failed")).select(
        ROW, pl.coalesce([pl.when(cond).then(pl.lit(source)) for source, cond, _ in rules]
                         or [pl.lit(None, dtype=pl.String)]).alias(COLUMN),
        pl.coalesce([pl.when(cond).then(message) for _, cond, message in rules]
                    or [pl.lit(None, dtype=pl.String)]).alias(REASON))
    # The quarantine keeps every original value of a rejected row, not just the mapped ones.
    if bad_rows.height:
        originals = _as_text(table.filter(pl.col(ROW).is_in(bad_rows[ROW].to_list())), cells)
        bad = bad_rows.join(originals, on=ROW, how="left", maintain_order="left")
    else:
        bad = bad_rows
    good = typed.filter(~pl.col("__failed")).select(ROW, *[c.name for c in spec.columns])
    good = good.with_columns(dateparts.month_expr(spec))
    return good, bad


def _measured_numbers(spec: DatasetSpec, mapping: dict[str, str],
                      measured: frozenset[str]) -> list[ColumnSpec]:
    return [col for col in spec.columns if col.name in mapping and col.required
            and col.name in measured and col.type in (ColumnType.INT, ColumnType.FLOAT)]


def _note_present(spec: DatasetSpec, typed: pl.DataFrame, state: _FileState) -> None:
    """Count a batch's typed rows, and note which measured number columns hold a value."""
    state.typed += typed.height
    numeric = [col for col in _measured_numbers(spec, state.mapping, state.measured)
               if not state.present.get(col.name)]
    if not numeric or not typed.height:
        return
    present = typed.select(
        (pl.col(f"__raw_{col.name}").str.strip_chars().str.len_bytes() > 0).any().alias(col.name)
        for col in numeric).row(0, named=True)
    for col in numeric:
        state.present[col.name] = bool(present[col.name])


def _refuse_blank_columns(spec: DatasetSpec, path: Path, state: _FileState) -> None:
    """Refuse an extract whose required number column, read by a KPI, is blank on every row:
    the KPIs summing it would quietly lose the file's months. A number column no KPI reads
    may be blank throughout (police.uk files of some forces have no coordinates at all)."""
    if not state.typed:
        return
    numeric = _measured_numbers(spec, state.mapping, state.measured)
    blank = [col for col in numeric if not state.present.get(col.name)]
    if blank:
        col = blank[0]
        raise DataError(located(path, f"expected {_expected(col)}, found a blank on every one "
                                      f"of the {state.typed:,} rows", row=None,
                                column=_show(state.mapping[col.name])),
                        hint="the extract seems to have lost this column's values; export it "
                             "again (or declare the column required = false if it may be "
                             "blank)")


def _as_text(frame: pl.DataFrame, cells: list[str]) -> pl.DataFrame:
    """The row number and every cell as text, for the quarantine file. Columns that have no
    text form (lists, structs, binary from a Parquet file) are left out."""
    out = [pl.col(ROW)]
    for name, dtype in frame.schema.items():
        if name in cells and not dtype.is_nested() and dtype != pl.Binary:
            out.append(pl.col(name).cast(pl.String, strict=False))
    return frame.select(out)


def _rules(spec: DatasetSpec, col: ColumnSpec, source: str) -> list[tuple[str, pl.Expr, pl.Expr]]:
    """The checks on one column, in order: (source column, failing condition, message). The
    first failing check of a row is the reason it is rejected."""
    raw, value = pl.col(f"__raw_{col.name}"), pl.col(col.name)
    present = raw.is_not_null() & (raw.str.strip_chars() != "")
    found = raw.str.replace_all(_SHOWN_AS_MARK, "?").str.slice(0, 40)
    month_name = raw.str.contains(_MONTH_NAME)
    is_date = col.type in (ColumnType.DATE, ColumnType.DATETIME, ColumnType.MONTH)
    rules = []
    if col.name == spec.date:
        rules.append((source, ~present, pl.lit(f"expected {_expected(col)}, found a blank")))
    if col.name == spec.unique:
        rules.append((source, ~present, pl.lit(f"expected an id (dataset '{spec.id}' declares "
                                               f"'{col.name}' unique), found a blank")))
    unparsed = present & value.is_null()
    if is_date:
        note = (pl.when(month_name).then(pl.lit(_SPREADSHEET_NOTE))
                .when(raw.str.contains(_DATE_SHAPE)).then(pl.lit(", which is not a calendar date"))
                .otherwise(pl.lit("")))
        rules.append((source, unparsed,
                      pl.format("expected {}, found '{}'{}", pl.lit(_expected(col)), found, note)))
        year = value.dt.year()
        insane = (year < SANE_YEARS[0]) | (year > SANE_YEARS[1])
        rules.append((source, value.is_not_null() & insane,
                      pl.format("expected a date between {} and {}, found '{}'",
                                pl.lit(SANE_YEARS[0]), pl.lit(SANE_YEARS[1]), found)))
    else:
        rules.append((source, unparsed,
                      pl.format("expected {}, found '{}'", pl.lit(_expected(col)), found)))
    if col.type == ColumnType.STR:
        rules.append((source, raw.str.contains(_UNSAFE.pattern),
                      pl.format("expected text without control characters, found '{}' (each "
                                "shown as ?)", found)))
    if col.min is not None:
        rules.append((source, value < col.min,
                      pl.format("expected a value of at least {}, found '{}'",
                                pl.lit(_number_text(col.min)), found)))
    if col.pattern is not None:
        note = pl.when(month_name).then(pl.lit(_SPREADSHEET_NOTE)).otherwise(pl.lit(""))
        mismatch = present & ~raw.str.strip_chars().str.contains(f"^(?:{col.pattern})$")
        rules.append((source, mismatch,
                      pl.format("expected text matching '{}', found '{}'{}",
                                pl.lit(_show(col.pattern, 60)), found, note)))
    rules += dateparts.rules(spec, col, source)
    return [(s, cond.fill_null(False), message) for s, cond, message in rules]


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _expected(col: ColumnSpec) -> str:
    return {
        ColumnType.STR: "text", ColumnType.INT: "a whole number", ColumnType.FLOAT: "a number",
        ColumnType.BOOL: "true/false, yes/no or 1/0",
        ColumnType.DATE: "a date such as 2025-09-30 or 30/09/2025",
        ColumnType.DATETIME: "a date and time such as 2025-09-30 14:05 or 30/09/2025 14:05:09",
        ColumnType.MONTH: "a month such as 2025-09",
    }[col.type]


def _whole(number: pl.Expr) -> pl.Expr:
    """A float as Int64 where it is a whole number Int64 can hold exactly; else null."""
    return (pl.when(number.is_finite() & (number == number.round(0)) & (number.abs() < 2.0**53))
            .then(number.cast(pl.Int64, strict=False)))


def _typed(spec: DatasetSpec, table: pl.DataFrame, mapping: dict[str, str]) -> pl.DataFrame:
    """The row index, each dataset column in its declared type (null where a value cannot be
    parsed) and each mapped column's source text as `__raw_<name>`, for the row checks."""
    schema = polars_schema(spec)
    texts = {col.name: f"__text_{col.name}" for col in spec.columns
             if col.name in mapping and table.schema[mapping[col.name]] == pl.String}
    # Each text column is cleaned once, in one step, and every parse below reads the result:
    # Polars evaluates a repeated sub-expression again at each use, so a date column used to
    # strip its text once per format tried, and a number clean its text five times.
    cleaned = table.with_columns(
        _clean(col, pl.col(mapping[col.name]), _formatted(col, table[mapping[col.name]]))
        .alias(texts[col.name]) for col in spec.columns if col.name in texts)
    formats = {col.name: _formats_in_sample(col, cleaned[texts[col.name]])
               for col in spec.columns if col.name in texts and col.type in _DATE_TYPES}
    exprs = [pl.col(ROW)]
    for col in spec.columns:
        source = mapping.get(col.name)
        if source is None:  # an optional column this file lacks: typed nulls, so files stack
            exprs.append(pl.lit(None, dtype=schema[col.name]).alias(col.name))
            continue
        if col.name in texts:
            value = _parse(col, pl.col(texts[col.name]), formats.get(col.name))
        else:
            value = _cast_typed(col, pl.col(source), table.schema[source])
        exprs.append(value.alias(col.name))
        exprs.append(pl.col(source).cast(pl.String).alias(f"__raw_{col.name}"))
    typed = cleaned.select(exprs)
    for name, found in formats.items():
        if found is not None:
            typed = _parse_the_rest(spec.column(name), typed, cleaned[texts[name]])
    return typed


_DATE_TYPES = (ColumnType.DATE, ColumnType.DATETIME, ColumnType.MONTH)
# Values of a date column tried against every format, to choose the formats the whole column
# is parsed with. Any value the chosen formats miss is tried against them all afterwards.
SAMPLE = 2000


def _formatted(col: ColumnSpec, text: pl.Series) -> bool:
    """Whether a number column holds a thousands separator or a pound sign anywhere (one quick
    scan: most record-level extracts have neither, and removing them costs regexes on every
    row)."""
    if col.type not in (ColumnType.INT, ColumnType.FLOAT):
        return False
    return bool(text.str.contains_any([",", "£"]).any())


def _clean(col: ColumnSpec, raw: pl.Expr, formatted: bool = True) -> pl.Expr:
    """A text cell as it is parsed: stripped, blank as null, and for a number without its
    thousands separators or pound sign (when `formatted`: some value holds one)."""
    text = raw.str.strip_chars().replace("", None)
    if col.type not in (ColumnType.INT, ColumnType.FLOAT) or not formatted:
        return text
    # Rust regex has no look-ahead: drop commas only from well-formed thousands.
    grouped = text.str.contains(r"^-?£?\d{1,3}(,\d{3})+(\.\d+)?$")
    number = pl.when(grouped).then(text.str.replace_all(",", "", literal=True))
    return number.otherwise(text).str.replace(r"^(-?)£", "$1")


def _formats_in_sample(col: ColumnSpec, text: pl.Series) -> list[int] | None:
    """Which of the column's formats (indexes into _date_formats) parse at least one of its
    first non-blank values; None when none do, so the column is parsed with them all.

    Trying all (up to 16) formats on every row of a large extract cost more than reading the
    file, and a column almost always holds one or two of them."""
    sample = text.head(4 * SAMPLE).drop_nulls().head(SAMPLE)
    if not sample.len():
        return None
    hits = sample.to_frame("t").select(
        candidate.is_not_null().any().alias(str(i))
        for i, candidate in enumerate(_date_formats(col, pl.col("t"))))
    found = [int(name) for name, hit in hits.row(0, named=True).items() if hit]
    return found or None


def _parse_the_rest(col: ColumnSpec, typed: pl.DataFrame, text: pl.Series) -> pl.DataFrame:
    """Parse with every format the values the sampled formats left unparsed, so a file that
    changes format after its first rows loads, and fails, exactly as if all were tried."""
    missed = (typed[col.name].is_null() & text.is_not_null()).arg_true()
    if not missed.len():
        return typed
    retried = text.gather(missed).to_frame("t").select(_parse(col, pl.col("t")))[col.name]
    return typed.with_columns(typed[col.name].clone().scatter(missed, retried))


def _parse(col: ColumnSpec, text: pl.Expr, formats: list[int] | None = None) -> pl.Expr:
    """An expression turning cleaned text (see _clean) into the declared type; null where it
    cannot. A date column tries only `formats` (indexes into _date_formats) when given."""
    match col.type:
        case ColumnType.STR:
            return text
        case ColumnType.INT | ColumnType.FLOAT:
            as_float = text.cast(pl.Float64, strict=False)
            if col.type == ColumnType.INT:
                return pl.coalesce(text.cast(pl.Int64, strict=False), _whole(as_float))
            return pl.when(as_float.is_finite()).then(as_float)
        case ColumnType.BOOL:
            lower = text.str.to_lowercase()
            return pl.when(lower.is_in(_TRUE)).then(True).when(lower.is_in(_FALSE)).then(False)
        case ColumnType.DATE | ColumnType.DATETIME | ColumnType.MONTH:
            candidates = _date_formats(col, text)
            if formats is not None:
                candidates = [candidates[i] for i in formats]
            return pl.coalesce(*candidates).alias(col.name)
    raise AssertionError(col.type)


def _date_formats(col: ColumnSpec, text: pl.Expr) -> list[pl.Expr]:
    """Every way a date, date-time or month column's text is read, in order of preference:
    a value takes the first that parses it."""
    match col.type:
        case ColumnType.DATE:
            datetimes = [text.str.strptime(pl.Datetime("us"), f, strict=False)
                         for f in _DATETIME_FORMATS] + _instants(text)
            dates = [text.str.strptime(pl.Date, f, strict=False) for f in _DATE_FORMATS]
            return [*dates, *[d.dt.date() for d in datetimes]]
        case ColumnType.DATETIME:
            datetimes = [text.str.strptime(pl.Datetime("us"), f, strict=False)
                         for f in _DATETIME_FORMATS] + _instants(text)
            dates = [text.str.strptime(pl.Date, f, strict=False).cast(pl.Datetime("us"))
                     for f in _DATE_FORMATS]
            return [*datetimes, *dates]
        case ColumnType.MONTH:
            months = [(text + "-01").str.strptime(pl.Date, "%Y-%m-%d", strict=False),
                      ("01/" + text).str.strptime(pl.Date, "%d/%m/%Y", strict=False)]
            days = [text.str.strptime(pl.Date, f, strict=False).dt.month_start()
                    for f in _MONTH_FORMATS]
            return [*months, *days]
    raise AssertionError(col.type)


def _instants(text: pl.Expr) -> list[pl.Expr]:
    """Text with a UTC offset as UK wall-clock time, as _cast_typed stores Parquet instants:
    a search at 23:20 UTC on 31 August was at 00:20 BST on 1 September, and belongs to
    September (the month file it was published in)."""
    return [text.str.strptime(pl.Datetime("us", "UTC"), f, strict=False)
            .dt.convert_time_zone("Europe/London").dt.replace_time_zone(None)
            for f in _OFFSET_FORMATS]


def _cast_typed(col: ColumnSpec, raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Parquet columns arrive typed (checked by _check_parquet_types): cast them exactly."""
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        # Extracts are UK data: an instant is stored as UK wall-clock time.
        raw = raw.dt.convert_time_zone("Europe/London").dt.replace_time_zone(None)
    match col.type:
        case ColumnType.STR:
            return raw.cast(pl.String)
        case ColumnType.INT:
            return _whole(raw.cast(pl.Float64)) if dtype.is_float() else raw.cast(
                pl.Int64, strict=False)
        case ColumnType.FLOAT:
            as_float = raw.cast(pl.Float64, strict=False)
            return pl.when(as_float.is_finite()).then(as_float)
        case ColumnType.BOOL:
            return raw.cast(pl.Boolean, strict=False)
        case ColumnType.DATE:
            return raw.cast(pl.Date)
        case ColumnType.DATETIME:
            return raw.cast(pl.Datetime("us"))
        case ColumnType.MONTH:
            return raw.cast(pl.Date).dt.month_start()
    raise AssertionError(col.type)


def _describe_bad_rows(path: Path, bad: pl.DataFrame, total: int | None = None) -> str:
    """The first bad row's message, the count of them all and the rows of the first few."""
    total = bad.height if total is None else total
    first = bad.row(0, named=True)
    message = located(path, first[REASON], row=first[ROW], column=_show(first[COLUMN]))
    if total > 1:
        rows = ", ".join(str(r) for r in bad[ROW].head(MAX_LISTED).to_list())
        message += f" ({total} bad rows in all; first at rows {rows})"
    return message


def _shares(rows: int) -> int:
    """How many passes the `unique` check makes over `rows` ids, each holding one share."""
    return max(1, -(-rows // UNIQUE_ROWS))


def _share(key: str, shares: int, share: int) -> pl.Expr:
    return pl.col(key).is_not_null() & (pl.col(key).hash(seed=0) % shares == share)


def _check_unique(spec: DatasetSpec, extract: Extract) -> None:
    """Reject a load holding an id twice, naming the second occurrence (in file order).

    The ids are read one hash share at a time (staged by `_FileState._stage_ids`), so memory
    holds a 64th of them whatever the size of the load."""
    import pyarrow.parquet as pq

    key = spec.unique
    assert key is not None
    second, occurrences = None, None  # the earliest second occurrence, and all of its id's
    for share in sorted(extract.shares):
        tables = [pq.ParquetFile(path).read_row_group(group)
                  for path, group in extract.shares[share]]
        part = pl.concat([_frame(t) for t in tables]).sort(FILE, ROW)  # the load's order
        dupes = part.filter(~pl.col(key).is_first_distinct()).head(1)
        if dupes.height:
            found = dupes.row(0, named=True)
            if second is None or (found[FILE], found[ROW]) < (second[FILE], second[ROW]):
                second = found
                occurrences = part.filter(pl.col(key) == found[key]).head(MAX_LISTED)
    if second is None or occurrences is None:
        return
    value = second[key]
    where = ", ".join(f"{Path(extract.files[f]).name} row {_row_number(extract, f, r)}"
                      for f, r in occurrences.select(FILE, ROW).iter_rows())
    file = extract.files[second[FILE]]
    column = extract.id_columns.get(file, key)
    raise DataError(located(file, f"expected each {column} once (dataset "
                                  f"'{spec.id}' declares '{key}' unique), found "
                                  f"'{_show(value)}' again (at {where})",
                            row=_row_number(extract, second[FILE], second[ROW]), column=column),
                    hint=f"remove the duplicates, or drop unique = \"{key}\" for "
                         f"dataset '{spec.id}'")


def _frame(table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _row_number(extract: Extract, file: int, record: int) -> int:
    name = extract.files[file]
    return int(extract.numberings[name](pl.Series([record], dtype=pl.Int64))[0])


def check_unique_stored(spec: DatasetSpec, extract: Extract, kept: pl.LazyFrame,
                        kept_rows: int) -> None:
    """Reject a load holding an id that a stored row the load keeps (a month, or month and
    replace_by values, it does not replace) already holds: `kept` is those stored rows."""
    key = spec.unique
    assert key is not None
    staged = extract.scan(bookkeeping=True).select(key, FILE, ROW)
    stored = kept.select(key, "month")
    shares = _shares(extract.rows + kept_rows)
    first = None
    for share in range(shares):
        found = (staged.filter(_share(key, shares, share))
                 .join(stored.filter(_share(key, shares, share)), on=key, how="inner")
                 .sort(FILE, ROW).head(1).collect())
        if found.height:
            row = found.row(0, named=True)
            if first is None or (row[FILE], row[ROW]) < (first[FILE], first[ROW]):
                first = row
    if first is None:
        return
    file = extract.files[first[FILE]]
    column = extract.id_columns.get(file, key)
    raise DataError(located(file, f"expected each {column} once (dataset '{spec.id}' declares "
                                  f"'{key}' unique), found '{_show(first[key])}', which the "
                                  f"store already holds in {first['month']}, a month this load "
                                  "does not replace",
                            row=_row_number(extract, first[FILE], first[ROW]), column=column),
                    hint=f"remove the row, load the month holding the stored one as well (a "
                         f"load replaces the months it holds), or drop unique = \"{key}\" "
                         f"for dataset '{spec.id}'")


@dataclass(frozen=True)
class LoadResult:
    dataset: str
    version: int
    rows: int
    rejected: int
    months: list[str]
    sources: list[dict[str, Any]]
    warnings: list[str]
    quarantine: Path | None = None
    unchanged: bool = False  # the same extracts as the latest load: nothing was written
    # Each stored month (or month and replace_by values) the load replaced: its "key" as
    # text, and rows "before" and "after". Months new to the table are not listed.
    replaced: list[dict[str, Any]] = field(default_factory=list)


# A load that would leave a stored month (or month and replace_by values) with fewer than this
# share of its rows is refused unless allowed: one stray row dated in the previous month would
# otherwise replace that whole month.
SHRINK_SHARE = 0.5


def replaced_months(spec: DatasetSpec, covered: pl.DataFrame,
                    before: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows before and after for each stored month (or month and replace_by values) the load
    replaces, in month order, with the files that hold its new rows."""
    keys = ["month", *spec.replace_by]
    after = covered.group_by(keys).agg(pl.col("rows").sum().alias("after"),
                                       pl.col(FILE).unique(maintain_order=True).alias("files"))
    joined = (after.join(before, on=keys, how="inner", nulls_equal=True)
              .sort(keys, nulls_last=True))
    return [{"key": describe_key(row, spec.replace_by), "before": int(row["before"]),
             "after": int(row["after"]), "files": row["files"]}
            for row in joined.iter_rows(named=True)]


def _check_shrink(spec: DatasetSpec, replaced: list[dict[str, Any]]) -> None:
    shrunk = [r for r in replaced if r["after"] < SHRINK_SHARE * r["before"]]
    if not shrunk:
        return
    first = shrunk[0]
    more = (f" (and {len(shrunk) - 1} more month(s) would shrink as much)" if len(shrunk) > 1
            else "")
    rows = "row" if first["after"] == 1 else "rows"
    raise DataError(f"{', '.join(first['files'])}: would replace {first['key']} "
                    f"({first['before']:,} rows stored) with {first['after']:,} {rows}, fewer "
                    f"than half{more}",
                    hint="an extract replaces every month it holds rows for: remove rows dated "
                         "in months it does not cover, or pass --allow-shrink if the month "
                         "really has fewer rows now")


def _spec_fingerprint(spec: DatasetSpec) -> str:
    """Changes whenever the dataset's declaration (columns, types, mapping) changes, since the
    same bytes may then load differently."""
    return hashlib.sha256(repr(spec).encode("utf-8")).hexdigest()[:16]


def _same_as_latest(project, dataset_id: str, provenance: dict[str, Any]) -> int | None:
    """The latest version, when it loaded exactly these extracts under this declaration."""
    from kpi import store

    if not store.exists(project, dataset_id):
        return None
    # The latest load (every load records its provenance): the compaction and vacuum commits
    # of 'kpi vacuum' change no row and load nothing.
    loads = [v for v in store.history(project, dataset_id) if v.provenance]
    if not loads:
        return None
    latest = loads[-1]
    keys = ("spec", "months", "rows", "rejected", "skip_bad_rows")
    before = latest.provenance
    if any(before.get(key) != provenance.get(key) for key in keys):
        return None
    hashes = sorted(s.get("sha256") for s in before.get("sources", []))
    if hashes != sorted(s["sha256"] for s in provenance["sources"]):
        return None
    return latest.version


QUARANTINE_FIELDS = ("file", "row", "column", "reason")


def write_quarantine(rejected: pl.DataFrame, path: Path, *, exclusive: bool = False) -> Path:
    """The rejected rows as CSV: file, row, column, reason, then the row's original values.

    Values that a spreadsheet would run as a formula (=, +, -, @ and not a plain number) get a
    leading apostrophe, as every CSV kpi writes does; control characters are written as
    visible escapes (\\x1b), so the file cannot drive a terminal it is printed on. With
    `exclusive`, an existing file is never replaced: a '-2', '-3'... is added to the name.
    Returns the path written."""
    renamed = rejected.rename({FILE: "file", ROW: "row", COLUMN: "column", REASON: "reason"})
    originals = [c for c in renamed.columns if c not in QUARANTINE_FIELDS]
    # An extract column called 'row' or 'reason' must not clash with ours.
    renamed = renamed.rename({c: f"{c} (original)" for c in originals
                              if c.lower() in QUARANTINE_FIELDS})
    renamed = renamed.rename({c: _escaped(c) for c in renamed.columns if _escaped(c) != c})
    text = [c for c in renamed.columns if c not in QUARANTINE_FIELDS[:2]]
    risky = r"^[=+\-@\t\r]"
    safe = [pl.when(pl.col(c).str.contains(risky)
                    & ~pl.col(c).str.contains(r"^[+-]?\d+(\.\d+)?$"))
            .then("'" + pl.col(c)).otherwise(pl.col(c)).map_batches(_escape_controls).alias(c)
            for c in text]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    renamed.with_columns(safe).select(*QUARANTINE_FIELDS, *[
        c for c in renamed.columns if c not in QUARANTINE_FIELDS]).write_csv(tmp)
    if not exclusive:
        tmp.replace(path)
        return path
    import os

    stem, suffix, attempt = path.stem, path.suffix, 1
    while True:
        try:
            os.link(tmp, path)  # fails if the name is taken: never overwrites another load's
            tmp.unlink()
            return path
        except FileExistsError:
            attempt += 1
            path = path.with_name(f"{stem}-{attempt}{suffix}")


def _escaped(text: str) -> str:
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 256
                       else f"\\u{ord(m.group(0)):04x}", text)


def _escape_controls(values: pl.Series) -> pl.Series:
    if not values.str.contains(_UNSAFE.pattern).any():
        return values
    return values.map_elements(_escaped, return_dtype=pl.String, skip_nulls=True)


def _quarantine_name(dataset_id: str, version: int) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{dataset_id}-v{version}-{stamp}-rejected.csv"


def load(project, dataset_id: str, patterns: list[str] | None = None, *,
         skip_bad_rows: bool = False, quarantine: Path | None = None, parts: bool = False,
         allow_shrink: bool = False, sheet: str | None = None) -> LoadResult:
    """Read extracts and replace the months they cover in the dataset's table, atomically.

    With no patterns the dataset's configured `sources` are read. Nothing is stored unless the
    whole load is good (or, with skip_bad_rows, unless at least one row is). Loading the very
    extracts the latest version loaded writes nothing, not even a new version. Files holding
    the same month are refused unless `parts`; a load leaving a stored month with fewer than
    half its rows is refused unless `allow_shrink`. The good rows are staged as Parquet files
    in a temporary folder inside the data folder, removed however the load ends."""
    from kpi import store

    spec = store.dataset_spec(project, dataset_id)
    configured = not patterns
    if configured:
        if not spec.sources:
            raise UsageError(f"no files given, and dataset '{dataset_id}' declares no sources",
                             hint=f"kpi ingest {dataset_id} FILE...")
        patterns = [str(project.resolve(s)) for s in spec.sources]
    paths = expand_sources(patterns)
    if configured:
        _check_inside(project, dataset_id, paths)
    measured = columns_read_by_kpis(project, dataset_id)
    with store.staging_folder(project, dataset_id) as folder:
        try:
            extract = stage_extracts(spec, paths, folder, skip_bad_rows=skip_bad_rows,
                                     parts=parts, measured=measured, sheet=sheet)
        except _StagingRefused as exc:
            raise refusal(exc.error, store.table_path(project, dataset_id)) from None
        return _commit(project, spec, extract, skip_bad_rows=skip_bad_rows,
                       quarantine=quarantine, parts=parts, allow_shrink=allow_shrink)


def _commit(project, spec: DatasetSpec, extract: Extract, *, skip_bad_rows: bool,
            quarantine: Path | None, parts: bool, allow_shrink: bool) -> LoadResult:
    """Store what `stage_extracts` read: the checks against the stored table, under the load
    lock, then one Delta commit streaming the staged rows."""
    from kpi import store

    dataset_id = spec.id
    provenance = {"operation": "ingest", "dataset": dataset_id, "sources": extract.sources,
                  "rows": extract.rows, "rejected": extract.rejected.height,
                  "months": extract.months, "skip_bad_rows": skip_bad_rows,
                  "spec": _spec_fingerprint(spec)}
    if parts:
        provenance["parts"] = True
    same = _same_as_latest(project, dataset_id, provenance)
    if same is not None:
        return LoadResult(dataset=dataset_id, version=same, rows=extract.rows,
                          rejected=extract.rejected.height, months=extract.months,
                          sources=extract.sources, warnings=extract.warnings, unchanged=True)
    outcome: dict[str, Any] = {"quarantine": None, "replaced": []}
    keys = extract.keys

    def guard(before: pl.DataFrame, version: int) -> dict[str, Any]:
        # Runs under the load lock: the counts are those the commit replaces, and the version
        # is the one it creates, so the quarantine file's name is unique to this load.
        replaced = replaced_months(spec, extract.covered, before)
        if not allow_shrink:
            _check_shrink(spec, replaced)
        if spec.unique and version > 0:
            kept = _kept_rows(store.scan(project, dataset_id), spec, keys)
            check_unique_stored(spec, extract, kept, store.row_count(project, dataset_id))
        outcome["replaced"] = replaced
        if extract.rejected.height:
            target = quarantine
            if target is None:
                folder = project.data_dir / "quarantine"
                if not project.bundled:
                    store.inside_project(project, folder, "quarantine folder")
                target = folder / _quarantine_name(dataset_id, version)
            outcome["quarantine"] = write_quarantine(extract.rejected, target,
                                                     exclusive=quarantine is None)
        return {"replaced": [{k: r[k] for k in ("key", "before", "after")} for r in replaced],
                "quarantine": _shown_path(project, outcome["quarantine"])}

    try:
        version = store.replace_months(project, dataset_id, extract.month_rows, keys,
                                       provenance, guard)
    except BaseException:
        if outcome["quarantine"] is not None:  # the load did not happen: neither did its rejects
            outcome["quarantine"].unlink(missing_ok=True)
        raise
    return LoadResult(dataset=dataset_id, version=version, rows=extract.rows,
                      rejected=extract.rejected.height, months=extract.months,
                      sources=extract.sources, warnings=extract.warnings,
                      quarantine=outcome["quarantine"], replaced=outcome["replaced"])


def _kept_rows(stored: pl.LazyFrame, spec: DatasetSpec, keys: pl.DataFrame) -> pl.LazyFrame:
    """The stored rows a load replacing `keys` (month, replace_by value...) keeps."""
    if not spec.replace_by:
        return stored.filter(~pl.col("month").is_in(keys["month"].unique().to_list()))
    return stored.join(keys.lazy(), on=["month", *spec.replace_by], how="anti",
                       nulls_equal=True)


def columns_read_by_kpis(project, dataset_id: str) -> frozenset[str]:
    """The dataset's columns that some KPI's filter, value, numerator, denominator or weight
    key reads."""
    names: set[str] = set()
    for kpi in project.kpis:
        if kpi.dataset != dataset_id:
            continue
        for text in (kpi.filter, kpi.value, kpi.numerator, kpi.denominator):
            if text:
                try:
                    names.update(pl.sql_expr(text).meta.root_names())
                except Exception:  # noqa: BLE001 - the catalogue reports a bad expression
                    continue
        if kpi.weight_key:
            names.add(kpi.weight_key)
    return frozenset(names)


def _shown_path(project, path: Path | None) -> str | None:
    """A written file as provenance names it: relative to the project folder when inside it."""
    if path is None:
        return None
    try:
        return str(path.resolve().relative_to(project.root.resolve()))
    except ValueError:
        return str(path.resolve())


def _check_inside(project, dataset_id: str, paths: list[Path]) -> None:
    """A dataset's configured sources must be files inside the project folder once every link
    is followed, as weights files must: a glob must not read /etc/passwd through a link."""
    root = project.root.resolve()
    for path in paths:
        resolved = path.resolve()
        if root not in resolved.parents:
            raise ConfigError(f"{project.path}: dataset '{dataset_id}' sources match {path}, a "
                              f"link to {resolved}, outside the project folder",
                              hint="copy the file into the project folder, or name it on the "
                                   "command line: kpi ingest DATASET FILE")


def ensure_bundled_store(project, notify=None) -> None:
    """Build the bundled sample's store from its extracts, once, into the user cache.

    Built in a temporary folder and renamed into place, so a build that is interrupted or
    runs twice at once never leaves a half-built store behind."""
    import fcntl
    import os
    import shutil
    import tempfile
    from dataclasses import replace

    from kpi import store

    if not project.bundled or all(store.exists(project, d) for d in project.datasets):
        return
    target = project.data_dir
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all(store.exists(project, d) for d in project.datasets):
            return
        if notify:
            notify("Building the bundled West Midlands sample store (first use only)...")
        building = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            staging = replace(project, data_dir=building)
            for dataset_id in project.datasets:
                load(staging, dataset_id)
            if target.exists():
                shutil.rmtree(target)
            os.replace(building, target)
        finally:
            shutil.rmtree(building, ignore_errors=True)
