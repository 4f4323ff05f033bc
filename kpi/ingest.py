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
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from kpi import dateparts
from kpi.catalogue import ColumnSpec, ColumnType, DatasetSpec, polars_schema
from kpi.errors import ConfigError, DataError, UsageError, located

ROW = "__row"  # a record's index in its file; row numbers for messages come from Numbering
REASON = "__reason"
COLUMN = "__column"
FILE = "__file"
MAX_LISTED = 5
SANE_YEARS = (1990, date.today().year + 1)
# A header line longer than this is not a CSV header (a value's limit is Arrow's block).
MAX_HEADER = 1 << 20
BLOCK = 1 << 24
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


@dataclass
class Extract:
    """What one ingest read: the good rows, the rejected ones, and where they came from.

    `covered` has one row per (file, month, replace_by value...) the good rows hold, with its
    row count ("rows"): what the load will replace, and from which file."""

    frame: pl.DataFrame
    rejected: pl.DataFrame
    sources: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    covered: pl.DataFrame | None = None

    @property
    def months(self) -> list[str]:
        return sorted(self.frame["month"].unique().to_list()) if self.frame.height else []


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


Numbering = Callable[[pl.Series], pl.Series]


def read_extracts(spec: DatasetSpec, paths: list[Path], *, skip_bad_rows: bool = False,
                  parts: bool = False, measured: frozenset[str] = frozenset(),
                  sheet: str | None = None) -> Extract:
    """Read, map and type every file; raise DataError on the first bad file (or, with
    skip_bad_rows, return its bad rows as `rejected` with file, row, column and reason).

    A file named twice (the same bytes, by sha256) is read once. Two files holding rows of the
    same month (or the same month and `replace_by` values) are refused unless `parts` says they
    are parts of one extract: otherwise an original and its revision would be added together.
    A required number column in `measured` (read by a KPI) that is blank on every row of a file
    refuses that file."""
    frames, rejected, sources, warnings, covered = [], [], [], [], []
    id_columns: dict[str, str] = {}  # file -> its name for the unique id column
    numberings: dict[str, Numbering] = {}
    seen: dict[str, Path] = {}  # sha256 -> the first file with those bytes
    for path in paths:
        raw = _read_bytes(path)
        digest = hashlib.sha256(raw).hexdigest()
        if digest in seen:
            warnings.append(f"{path}: the same file as {seen[digest]} (sha256 {digest[:12]}); "
                            "read once")
            continue
        seen[digest] = path
        excel = _is_excel(path, raw)
        if excel:
            table, sheet_read, numbering = _read_excel(spec, path, raw, sheet or spec.sheet,
                                                       warnings)
        else:
            table, notes, numbering = _read_table(path, raw)
            warnings.extend(notes)
        good, bad, mapping = _conform(spec, path, table, warnings,
                                      from_csv=not _is_parquet(path, raw), measured=measured,
                                      excel=excel)
        if bad.height:
            bad = bad.with_columns(numbering(bad[ROW]))
            if not skip_bad_rows:
                raise DataError(_describe_bad_rows(path, bad),
                                hint="fix the rows named, or load the rest with --skip-bad-rows")
        id_columns[str(path)] = mapping.get(spec.unique or "", spec.unique or "")
        numberings[str(path)] = numbering
        frames.append(good.with_columns(pl.lit(str(path)).alias(FILE)))
        if bad.height:
            rejected.append(bad.with_columns(pl.lit(str(path)).alias(FILE)))
        sources.append({"file": path.name, "sha256": digest,
                        "bytes": len(raw), "rows": good.height, "rejected": bad.height,
                        **({"sheet": sheet_read} if excel else {})})
        covered.append(good.group_by("month", *spec.replace_by).len("rows")
                       .with_columns(pl.lit(str(path)).alias(FILE)))
    frame = pl.concat(frames, how="vertical")
    keys = pl.concat(covered, how="vertical")
    if not parts:
        _check_overlap(spec, keys)
    if spec.unique:
        _check_unique(spec, frame, id_columns, numberings)
    bad_frame = pl.concat(rejected, how="diagonal_relaxed") if rejected else pl.DataFrame()
    if frame.height == 0:
        where = ", ".join(str(p) for p in paths)
        if bad_frame.height:
            first = bad_frame.row(0, named=True)
            raise DataError(f"{where}: all {bad_frame.height} data rows were rejected; first: "
                            + located(first[FILE], first[REASON], row=first[ROW],
                                      column=first[COLUMN]),
                            hint="nothing was loaded; fix the extract")
        raise DataError(f"{where}: no data rows to load")
    return Extract(frame=frame.drop(ROW, FILE), rejected=bad_frame, sources=sources,
                   warnings=warnings, covered=keys)


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


def _read_table(path: Path, raw: bytes) -> tuple[pl.DataFrame, list[str], Numbering]:
    """A source file as a frame of strings (CSV) or typed columns (Parquet). Its ROW column
    holds record indexes (from 0); the returned function turns them into the row numbers
    messages show. Working that out for a CSV file costs a scan, so only errors pay it."""
    if re.search(rb"\S", raw) is None:
        raise DataError(located(path, "the file is empty"), hint="check the extract was written")
    if _is_parquet(path, raw):
        frame, notes = _without_reserved(path, _read_parquet(path, raw))
        return _numbered(frame), notes, lambda records: records + 1
    if _utf16_bom(raw) is None and b"\x00" in raw[:65536]:
        if _looks_utf16(raw[:65536]):
            raise DataError(located(path, "UTF-16 text without a byte-order mark"),
                            hint="save the extract as UTF-8 (or UTF-16 with a byte-order mark)")
        sample = raw[:65536].decode("utf-8", "ignore")
        if len(_CONTROL.findall(sample)) > BINARY_SHARE * len(sample):
            raise DataError(located(path, "binary data where a CSV file was expected"),
                            hint="export the extract as CSV (UTF-8) or Parquet")
    data, notes = _utf8(path, raw)
    sample = bytes(data[:65536]).decode("utf-8", "ignore")
    if len(_CONTROL.findall(sample)) > BINARY_SHARE * len(sample):
        raise DataError(located(path, "binary data where a CSV file was expected"),
                        hint="export the extract as CSV (UTF-8) or Parquet")
    _check_nul(path, data)
    frame, numbering = _parse_csv(path, data, notes)
    return frame, notes, numbering


EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the container of .xls, and of encrypted .xlsx
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
# Excel serial day numbers read as dates: 1 March 1900 (61; Excel counts a 29 February 1900
# that never was, so earlier numbers are a day out) to 31 December 2099. A number outside is
# left as it is, and is then refused as not a date, never turned into a far-off one.
_SERIALS = (61, 73050)


def _is_excel(path: Path, raw: bytes) -> bool:
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


def _numbered(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with each record's index in its file (from 0) as column ROW."""
    return frame.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))


def _check_nul(path: Path, data: memoryview) -> None:
    """Refuse a NUL byte anywhere in a CSV file, naming its row: a NUL is never text, and kept
    it would make 'So\\0uth' a place of its own beside 'South'."""
    whole = data.obj  # the buffer `data` views (a byte-order mark holds no line break)
    assert isinstance(whole, bytes)
    at = whole.find(b"\x00")
    if at < 0:
        return
    row = _line_count(whole[:at]) + 1
    raise DataError(located(path, "a NUL byte (binary data) in a CSV file", row=row),
                    hint="the file is damaged or not text; export it again")


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


def _read_parquet(path: Path, raw: bytes) -> pl.DataFrame:
    """A Parquet file, read by Arrow's reader: fuzzing showed Polars' own reader panicking (and
    once aborting the process) on damaged files, where Arrow's raises an error."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(pa.BufferReader(raw))
        arrow.validate(full=True)  # e.g. invalid UTF-8 in a string column of a damaged file
        _check_time_range(arrow)
        frame = pl.from_arrow(arrow)
    except (Exception, pl.exceptions.PanicException) as exc:
        raise DataError(located(path, f"not a readable Parquet file ({_first_line(exc)})"),
                        hint="the file may be truncated or corrupt; export it again") from None
    assert isinstance(frame, pl.DataFrame)
    if frame.height == 0:
        raise DataError(located(path, "the Parquet file has no rows"))
    return frame


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


def _utf8(path: Path, raw: bytes) -> tuple[memoryview, list[str]]:
    """The file as UTF-8 without a byte-order mark: as it is when it is UTF-8 (no copy), else
    read as Windows-1252 (what Excel writes on a UK machine) and re-encoded."""
    codec = _utf16_bom(raw)
    if codec is not None:
        try:
            text = raw.decode(codec)  # the byte-order mark says which byte order
        except UnicodeDecodeError as exc:
            raise DataError(located(path, f"cannot decode the bytes at offset {exc.start} as "
                                          f"{codec.upper()} (the file starts with its "
                                          "byte-order mark)"),
                            hint="save the extract as UTF-8") from None
        return (memoryview(text.lstrip("\ufeff").encode("utf-8")),
                [f"{path}: read as {codec.upper()} (from its byte-order mark)"])
    bom = 3 if raw[:3] == b"\xef\xbb\xbf" else 0
    try:
        raw[bom:].decode("utf-8")
        return memoryview(raw)[bom:], []
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise DataError(located(path, f"cannot decode byte {raw[exc.start]:#x} at offset "
                                      f"{exc.start} as UTF-8 or Windows-1252"),
                        hint="save the extract as UTF-8") from None
    return memoryview(text.encode("utf-8")), [f"{path}: not UTF-8; read as Windows-1252"]


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


def _parse_csv(path: Path, data: memoryview,
               notes: list[str]) -> tuple[pl.DataFrame, Numbering]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names, start = _split_header(path, data)
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
    body = data[start:]
    if re.search(rb"\S", body) is None:
        raise DataError(located(path, "the file has a header but no data rows"),
                        hint="check the extract was written in full")
    first_line = _line_count(data[:start]) + 1
    internal = [f"c{i}" for i in range(len(names))]
    ragged: list[Any] = []
    blank_lines = 0

    def on_invalid(row) -> str:
        nonlocal blank_lines
        if row.text.strip():
            ragged.append(row)
        else:
            blank_lines += 1  # a whitespace-only line is a blank line, not a short row
        return "skip"

    try:
        arrow = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(body)),
            read_options=pacsv.ReadOptions(column_names=internal, block_size=BLOCK),
            parse_options=pacsv.ParseOptions(newlines_in_values=True,
                                             invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in internal}, strings_can_be_null=False,
                quoted_strings_can_be_null=False))
    except pa.ArrowException as exc:
        if "straddl" in str(exc):  # a record longer than the block Arrow parses at once
            _refuse_long_record(path, body, first_line, names)
        raise DataError(located(path, f"not a readable CSV file ({_first_line(exc)})"),
                        hint="check quoting and delimiters") from None
    if ragged:
        first = ragged[0]
        found = re.search(rb"(?m)^" + re.escape(first.text.encode("utf-8")) + rb"(?=[\r\n]|\Z)",
                          body)
        row = _line_count(body[:found.start()]) + first_line if found else None
        more = f" ({len(ragged)} such rows in all)" if len(ragged) > 1 else ""
        raise DataError(located(path, f"expected {first.expected_columns} fields, found "
                                      f"{first.actual_columns}{more}", row=row),
                        hint="the file may be truncated, or a value holds an unquoted comma")
    if arrow.num_rows == 0:
        raise DataError(located(path, "the file has a header but no data rows"),
                        hint="check the extract was written in full")
    frame = pl.from_arrow(arrow).rename(dict(zip(internal, names, strict=True)))
    frame, dropped = _without_reserved(path, frame)
    notes.extend(dropped)
    frame = _numbered(frame)
    lines: list[pl.Series] = []

    def numbering(records: pl.Series) -> pl.Series:
        if not lines:
            lines.append(_record_lines(bytes(body), frame.height, first_line, blank_lines,
                                       len(names)))
        return lines[0].gather(records).alias(ROW)

    return frame, numbering


def _refuse_long_record(path: Path, body: memoryview, first_line: int, names: list[str]) -> None:
    """Name the row (and, when it can be told, the column) of a value too long to read."""
    data = bytes(body)
    found = re.search(rb"[^\r\n]{%d,}" % (BLOCK // 2), data)
    if found is None:
        return
    row = _line_count(data[:found.start()]) + first_line
    line_end = data.find(b"\n", found.start())
    line = data[found.start():line_end if line_end >= 0 else len(data)]
    column = None
    if b'"' not in line[:4096]:
        lengths = [len(cell) for cell in line.split(b",")]
        widest = max(range(len(lengths)), key=lengths.__getitem__)
        if len(lengths) == len(names):
            column = _show(names[widest])
    size = max(len(cell) for cell in line.split(b","))
    raise DataError(located(path, f"a value of {size:,} bytes, too long to read (a CSV "
                                  f"record over {BLOCK >> 20} MiB may not be)", row=row,
                            column=column),
                    hint="the file may be damaged (a missing line break or quote); export it "
                         "again")


def _record_lines(body: bytes, height: int, first_line: int, blank_lines: int,
                  width: int) -> pl.Series:
    """The line each record starts on. The common file (no blank lines, no line breaks inside
    values) is numbered by arithmetic; any other is scanned once with the csv module."""
    lines = _line_count(body) + (1 if body and body[-1:] not in (b"\r", b"\n") else 0)
    plain = (lines == height and not blank_lines
             and not any(gap in body for gap in (b"\n\n", b"\r\r", b"\n\r\n")))
    if plain:
        return pl.int_range(first_line, first_line + height, dtype=pl.Int64, eager=True)
    numbers, reader = [], csv.reader(io.StringIO(body.decode("utf-8"), newline=""))
    start = 1
    try:
        for row in reader:
            blank = not row or (width > 1 and len(row) == 1 and not row[0].strip())
            if not blank:
                numbers.append(start + first_line - 1)
            start = reader.line_num + 1
    except csv.Error:
        numbers = []
    if len(numbers) != height:  # the two parsers disagree on odd quoting: number by record
        numbers = list(range(first_line, first_line + height))
    return pl.Series(numbers, dtype=pl.Int64)


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
        for candidate in (col.name, *col.sources):
            source = lookup.get(candidate.strip().lower())
            if source is not None:
                mapping[col.name] = source
                break
        else:
            if col.required:
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


def _conform(spec: DatasetSpec, path: Path, table: pl.DataFrame, warnings: list[str], *,
             from_csv: bool, measured: frozenset[str] = frozenset(), excel: bool = False
             ) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str]]:
    """Map, clean and type a source frame. Returns the good rows, the bad rows with their
    reasons, and the source column of each dataset column."""
    mapping = _match_columns(spec, path, table.columns, warnings, 1 if from_csv else None)
    cells = [c for c in table.columns if c != ROW]
    if from_csv:
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
                warnings.append(f"{path}: skipped {repeated.len()} repeated header row(s)")
                table = table.filter(~pl.col(ROW).is_in(repeated.to_list()))
        table = table.filter(~empty)
        if excel:
            table = _from_serial_dates(spec, table, mapping)
    else:
        _check_parquet_types(spec, path, table, mapping)

    typed = _typed(spec, table, mapping)
    checked = [col for col in spec.columns if col.name in mapping]
    _refuse_blank_columns(spec, path, typed, mapping, measured)

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
    originals = _as_text(table.filter(pl.col(ROW).is_in(bad_rows[ROW].to_list())), cells)
    bad = bad_rows.join(originals, on=ROW, how="left", maintain_order="left")
    good = typed.filter(~pl.col("__failed")).select(ROW, *[c.name for c in spec.columns])
    good = good.with_columns(dateparts.month_expr(spec))
    return good, bad, mapping


def _refuse_blank_columns(spec: DatasetSpec, path: Path, typed: pl.DataFrame,
                          mapping: dict[str, str], measured: frozenset[str]) -> None:
    """Refuse an extract whose required number column, read by a KPI, is blank on every row:
    the KPIs summing it would quietly lose the file's months. A number column no KPI reads
    may be blank throughout (police.uk files of some forces have no coordinates at all)."""
    numeric = [col for col in spec.columns if col.name in mapping and col.required
               and col.name in measured and col.type in (ColumnType.INT, ColumnType.FLOAT)]
    if not numeric or not typed.height:
        return
    present = typed.select(
        (pl.col(f"__raw_{col.name}").str.strip_chars().str.len_bytes() > 0).any().alias(col.name)
        for col in numeric).row(0, named=True)
    blank = [col for col in numeric if not present[col.name]]
    if blank:
        col = blank[0]
        raise DataError(located(path, f"expected {_expected(col)}, found a blank on every one "
                                      f"of the {typed.height:,} rows", row=None,
                                column=_show(mapping[col.name])),
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


def _describe_bad_rows(path: Path, bad: pl.DataFrame) -> str:
    first = bad.row(0, named=True)
    message = located(path, first[REASON], row=first[ROW], column=_show(first[COLUMN]))
    if bad.height > 1:
        rows = ", ".join(str(r) for r in bad[ROW].head(MAX_LISTED).to_list())
        message += f" ({bad.height} bad rows in all; first at rows {rows})"
    return message


def _check_unique(spec: DatasetSpec, frame: pl.DataFrame, id_columns: dict[str, str],
                  numberings: dict[str, Numbering]) -> None:
    """Reject a load holding an id twice, naming the second occurrence (in file order)."""
    key = spec.unique
    # The frame holds the files in the order given, each in file order.
    dupes = frame.filter(~pl.col(key).is_first_distinct() & pl.col(key).is_not_null())
    if dupes.height:
        first = dupes.row(0, named=True)
        rows = frame.filter(pl.col(key) == first[key]).head(MAX_LISTED)
        where = ", ".join(f"{Path(f).name} row {numberings[f](pl.Series([r]))[0]}"
                          for f, r in rows.select(FILE, ROW).iter_rows())
        first[ROW] = numberings[first[FILE]](pl.Series([first[ROW]]))[0]
        column = id_columns.get(first[FILE], key)
        raise DataError(located(first[FILE], f"expected each {column} once (dataset "
                                             f"'{spec.id}' declares '{key}' unique), found "
                                             f"'{_show(first[key])}' again (at {where})",
                                row=first[ROW], column=column),
                        hint=f"remove the duplicates, or drop unique = \"{key}\" for "
                             f"dataset '{spec.id}'")


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
    half its rows is refused unless `allow_shrink`."""
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
    extract = read_extracts(spec, paths, skip_bad_rows=skip_bad_rows, parts=parts,
                            measured=columns_read_by_kpis(project, dataset_id), sheet=sheet)
    provenance = {"operation": "ingest", "dataset": dataset_id, "sources": extract.sources,
                  "rows": extract.frame.height, "rejected": extract.rejected.height,
                  "months": extract.months, "skip_bad_rows": skip_bad_rows,
                  "spec": _spec_fingerprint(spec)}
    if parts:
        provenance["parts"] = True
    same = _same_as_latest(project, dataset_id, provenance)
    if same is not None:
        return LoadResult(dataset=dataset_id, version=same, rows=extract.frame.height,
                          rejected=extract.rejected.height, months=extract.months,
                          sources=extract.sources, warnings=extract.warnings, unchanged=True)
    outcome: dict[str, Any] = {"quarantine": None, "replaced": []}

    def guard(before: pl.DataFrame, version: int) -> dict[str, Any]:
        # Runs under the load lock: the counts are those the commit replaces, and the version
        # is the one it creates, so the quarantine file's name is unique to this load.
        replaced = replaced_months(spec, extract.covered, before)
        if not allow_shrink:
            _check_shrink(spec, replaced)
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
        version = store.replace_months(project, dataset_id, extract.frame, provenance, guard)
    except BaseException:
        if outcome["quarantine"] is not None:  # the load did not happen: neither did its rejects
            outcome["quarantine"].unlink(missing_ok=True)
        raise
    return LoadResult(dataset=dataset_id, version=version, rows=extract.frame.height,
                      rejected=extract.rejected.height, months=extract.months,
                      sources=extract.sources, warnings=extract.warnings,
                      quarantine=outcome["quarantine"], replaced=outcome["replaced"])


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
