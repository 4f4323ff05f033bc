"""Reading extracts: CSV or Parquet in, a checked frame of the dataset's columns out.

Each source file is read whole, its columns mapped onto the dataset's names, each value parsed
to the declared type, and every failure reported as FILE, row N, column C: expected X, found Y.
By default one bad row rejects the file; with skip_bad_rows the good rows load and the bad ones
are returned with their reasons for a quarantine file.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from kpi.catalogue import ColumnSpec, ColumnType, DatasetSpec
from kpi.errors import DataError, UsageError, located

ROW = "__row"  # the 1-based line number in the source (header is row 1)
REASON = "__reason"
MAX_LISTED = 5
SANE_YEARS = (1990, date.today().year + 1)

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d")
_DATETIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M",
)
_MONTH_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


@dataclass
class Extract:
    """What one ingest read: the good rows, the rejected ones, and where they came from."""

    frame: pl.DataFrame
    rejected: pl.DataFrame
    sources: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

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


def read_extracts(spec: DatasetSpec, paths: list[Path], *, skip_bad_rows: bool = False) -> Extract:
    frames, rejected, sources, warnings = [], [], [], []
    for path in paths:
        raw = path.read_bytes()
        table, notes = _read_table(path, raw)
        warnings.extend(notes)
        good, bad = _conform(spec, path, table, warnings)
        if bad.height and not skip_bad_rows:
            raise DataError(_describe_bad_rows(path, bad),
                            hint="fix the rows named, or load the rest with --skip-bad-rows")
        frames.append(good)
        if bad.height:
            rejected.append(bad.with_columns(pl.lit(str(path)).alias("__file")))
        sources.append({"file": path.name, "sha256": hashlib.sha256(raw).hexdigest(),
                        "rows": good.height, "rejected": bad.height})
    frame = pl.concat(frames, how="vertical") if frames else pl.DataFrame()
    if spec.unique:
        frame = _check_unique(spec, frame, paths)
    if frame.height == 0:
        raise DataError(f"{', '.join(str(p) for p in paths)}: no data rows to load")
    bad_frame = pl.concat(rejected, how="diagonal_relaxed") if rejected else pl.DataFrame()
    return Extract(frame=frame.drop(ROW), rejected=bad_frame, sources=sources, warnings=warnings)


def _read_table(path: Path, raw: bytes) -> tuple[pl.DataFrame, list[str]]:
    """A source file as a frame of strings (CSV) or typed columns (Parquet), plus a row number."""
    if not raw.strip():
        raise DataError(located(path, "the file is empty"), hint="check the extract was written")
    if raw[:4] == b"PAR1" or path.suffix.lower() in (".parquet", ".pq"):
        try:
            frame = pl.read_parquet(io.BytesIO(raw))
        except Exception as exc:
            raise DataError(located(path, f"not a readable Parquet file ({_first_line(exc)})"),
                            hint="the file may be truncated or corrupt; export it again") from None
        return frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64)), []
    if b"\x00" in raw[:65536]:
        raise DataError(located(path, "binary data where a CSV file was expected"),
                        hint="export the extract as CSV (UTF-8) or Parquet")
    text, notes = _decode(path, raw)
    return _parse_csv(path, text), notes


def _decode(path: Path, raw: bytes) -> tuple[str, list[str]]:
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), [f"{path}: not UTF-8; read as Windows-1252"]
    except UnicodeDecodeError as exc:
        raise DataError(located(path, f"cannot decode byte {raw[exc.start]:#x} at offset "
                                      f"{exc.start} as UTF-8 or Windows-1252"),
                        hint="save the extract as UTF-8") from None


def _parse_csv(path: Path, text: str) -> pl.DataFrame:
    lines = text.splitlines()
    header = next(csv.reader([lines[0]])) if lines else []
    names = [h.strip() for h in header]
    seen: set[str] = set()
    for number, name in enumerate(names, start=1):
        key = name.lower()
        if key in seen:
            raise DataError(located(path, f"column name '{name}' appears twice in the header",
                                    row=1, column=name), hint="rename or remove one of them")
        seen.add(key)
        if not name:
            raise DataError(located(path, f"header field {number} is blank", row=1),
                            hint="every column needs a name")
    if len(lines) < 2 or not any(line.strip() for line in lines[1:]):
        raise DataError(located(path, "the file has a header but no data rows"))
    try:
        frame = pl.read_csv(io.StringIO(text), infer_schema=False, has_header=True,
                            new_columns=names, raise_if_empty=True)
    except pl.exceptions.PolarsError:
        _find_ragged_row(path, text, len(names))
        raise DataError(located(path, "not a readable CSV file"),
                        hint="check quoting and delimiters") from None
    frame = frame.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    if frame.height and len(lines) - 1 != frame.height:
        # Blank lines or quoted line breaks move rows: number them from the file itself.
        frame = frame.with_columns(pl.Series(ROW, _row_numbers(text, frame.height)))
    return frame


def _row_numbers(text: str, expected: int) -> list[int]:
    numbers, reader = [], csv.reader(io.StringIO(text))
    next(reader, None)
    for row in reader:
        if any(cell.strip() for cell in row):
            numbers.append(reader.line_num)
    return numbers[:expected] + [0] * max(0, expected - len(numbers))


def _find_ragged_row(path: Path, text: str, width: int) -> None:
    reader = csv.reader(io.StringIO(text))
    next(reader, None)
    for row in reader:
        if row and len(row) != width and any(cell.strip() for cell in row):
            raise DataError(located(path, f"expected {width} fields, found {len(row)}",
                                    row=reader.line_num),
                            hint="the file may be truncated, or a value holds an unquoted comma")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _match_columns(spec: DatasetSpec, path: Path, names: list[str],
                   warnings: list[str]) -> dict[str, str]:
    """Source column name for each dataset column found."""
    lookup = {n.strip().lower(): n for n in names if n != ROW}
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
        found = ", ".join(f"'{n}'" for n in names if n != ROW)
        more = f" (and {len(missing) - 1} more missing)" if len(missing) > 1 else ""
        raise DataError(located(path, f"required column {accepted} is missing{more}; "
                                      f"found {found}", row=1),
                        hint=f"map the source name with from = [...] under "
                             f"[datasets.{spec.id}.columns]")
    used = set(mapping.values())
    unknown = [n for n in names if n != ROW and n not in used]
    if unknown:
        warnings.append(f"{path}: ignored {len(unknown)} column(s) not in dataset "
                        f"'{spec.id}': {', '.join(unknown[:8])}"
                        + ("..." if len(unknown) > 8 else ""))
    return mapping


def _conform(spec: DatasetSpec, path: Path, table: pl.DataFrame,
             warnings: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Map, clean and type a source frame. Returns (good rows, bad rows with reasons)."""
    mapping = _match_columns(spec, path, table.columns, warnings)
    is_text = all(dtype == pl.String for name, dtype in table.schema.items() if name != ROW)
    if is_text:
        # Blank lines and header rows repeated inside the file (concatenated exports).
        cells = [pl.col(c) for c in table.columns if c != ROW]
        blank = pl.all_horizontal([c.is_null() | (c.str.strip_chars() == "") for c in cells])
        repeated = pl.all_horizontal([pl.col(c).str.strip_chars() == c.strip()
                                      for c in table.columns if c != ROW])
        n_repeated = table.filter(repeated.fill_null(False)).height
        if n_repeated:
            warnings.append(f"{path}: skipped {n_repeated} repeated header row(s)")
        table = table.filter(~blank.fill_null(False) & ~repeated.fill_null(False))

    exprs, checks = [pl.col(ROW)], []
    for col in spec.columns:
        source = mapping.get(col.name)
        if source is None:
            exprs.append(pl.lit(None).alias(col.name))
            continue
        raw = pl.col(source)
        parsed = _parse(col, raw, table.schema[source])
        exprs.append(parsed.alias(col.name))
        exprs.append(raw.cast(pl.String).alias(f"__raw_{col.name}"))
        checks.append(col)
    typed = table.select(exprs)

    reasons = []
    for col in checks:
        raw, value = pl.col(f"__raw_{col.name}"), pl.col(col.name)
        present = raw.is_not_null() & (raw.str.strip_chars() != "")
        source = mapping[col.name]
        reasons.append(
            pl.when(present & value.is_null())
            .then(pl.format("column '{}': expected {}, found '{}'", pl.lit(source),
                            pl.lit(_expected(col)), raw.str.slice(0, 40))))
        if col.name == spec.date:
            reasons.append(pl.when(~present).then(
                pl.lit(f"column '{source}': the date is blank")))
            year = value.dt.year()
            reasons.append(
                pl.when(value.is_not_null() & ((year < SANE_YEARS[0]) | (year > SANE_YEARS[1])))
                .then(pl.format("column '{}': date '{}' is outside {}..{}", pl.lit(source),
                                raw, pl.lit(SANE_YEARS[0]), pl.lit(SANE_YEARS[1]))))
        elif col.required and col.type != ColumnType.STR:
            pass  # blanks in non-date columns are nulls, which aggregations skip
        if col.min is not None:
            reasons.append(pl.when(value < col.min).then(
                pl.format("column '{}': expected a value of at least {}, found '{}'",
                          pl.lit(source), pl.lit(col.min), raw)))
    reason = pl.coalesce(reasons) if reasons else pl.lit(None, dtype=pl.String)
    typed = typed.with_columns(reason.alias(REASON))
    bad = typed.filter(pl.col(REASON).is_not_null()).select(
        ROW, REASON, *[f"__raw_{c.name}" for c in checks])
    bad = bad.rename({f"__raw_{c.name}": mapping[c.name] for c in checks})
    good = typed.filter(pl.col(REASON).is_null()).select(ROW, *[c.name for c in spec.columns])
    good = good.with_columns(pl.col(spec.date).dt.strftime("%Y-%m").cast(pl.String).alias("month"))
    return good, bad


def _expected(col: ColumnSpec) -> str:
    return {
        ColumnType.STR: "text", ColumnType.INT: "a whole number", ColumnType.FLOAT: "a number",
        ColumnType.BOOL: "true/false, yes/no or 1/0",
        ColumnType.DATE: "a date such as 2025-09-30 or 30/09/2025",
        ColumnType.DATETIME: "a date and time such as 2025-09-30 14:05 or 30/09/2025 14:05:09",
        ColumnType.MONTH: "a month such as 2025-09",
    }[col.type]


def _parse(col: ColumnSpec, raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """An expression turning a source column into the declared type; null where it cannot."""
    if dtype != pl.String:
        return _cast_typed(col, raw, dtype)
    text = raw.str.strip_chars()
    text = pl.when(text == "").then(None).otherwise(text)
    match col.type:
        case ColumnType.STR:
            return text
        case ColumnType.INT | ColumnType.FLOAT:
            number = text.str.replace_all(r"^£|,(?=\d{3}(\D|$))", "")
            target = pl.Int64 if col.type == ColumnType.INT else pl.Float64
            if col.type == ColumnType.INT:
                as_float = number.cast(pl.Float64, strict=False)
                return pl.when(as_float == as_float.round(0)).then(as_float.cast(pl.Int64))
            return number.cast(target, strict=False)
        case ColumnType.BOOL:
            lower = text.str.to_lowercase()
            return pl.when(lower.is_in(_TRUE)).then(True).when(lower.is_in(_FALSE)).then(False)
        case ColumnType.DATE:
            datetimes = [text.str.strptime(pl.Datetime("us"), f, strict=False)
                         for f in _DATETIME_FORMATS]
            dates = [text.str.strptime(pl.Date, f, strict=False) for f in _DATE_FORMATS]
            return pl.coalesce(*dates, *[d.dt.date() for d in datetimes])
        case ColumnType.DATETIME:
            datetimes = [text.str.strptime(pl.Datetime("us"), f, strict=False)
                         for f in _DATETIME_FORMATS]
            dates = [text.str.strptime(pl.Date, f, strict=False).cast(pl.Datetime("us"))
                     for f in _DATE_FORMATS]
            return pl.coalesce(*datetimes, *dates)
        case ColumnType.MONTH:
            months = [(text + "-01").str.strptime(pl.Date, "%Y-%m-%d", strict=False),
                      ("01/" + text).str.strptime(pl.Date, "%d/%m/%Y", strict=False)]
            days = [text.str.strptime(pl.Date, f, strict=False).dt.month_start()
                    for f in _MONTH_FORMATS]
            return pl.coalesce(*months, *days)
    raise AssertionError(col.type)


def _cast_typed(col: ColumnSpec, raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Parquet columns arrive typed: cast them, strings going through the text parser."""
    target = {
        ColumnType.STR: pl.String, ColumnType.INT: pl.Int64, ColumnType.FLOAT: pl.Float64,
        ColumnType.BOOL: pl.Boolean, ColumnType.DATE: pl.Date,
        ColumnType.DATETIME: pl.Datetime("us"), ColumnType.MONTH: pl.Date,
    }[col.type]
    if col.type == ColumnType.MONTH and dtype in (pl.Date, pl.Datetime):
        return raw.cast(pl.Date).dt.month_start()
    if col.type == ColumnType.DATE and isinstance(dtype, pl.Datetime):
        return raw.dt.date()
    if col.type == ColumnType.STR:
        return raw.cast(pl.String)
    return raw.cast(target, strict=False)


def _describe_bad_rows(path: Path, bad: pl.DataFrame) -> str:
    first = bad.row(0, named=True)
    message = located(path, first[REASON].split(": ", 1)[1],
                      row=first[ROW], column=first[REASON].split("'")[1])
    if bad.height > 1:
        rows = ", ".join(str(r) for r in bad[ROW].head(MAX_LISTED).to_list())
        message += f" ({bad.height} bad rows in all; first at rows {rows})"
    return message


def _check_unique(spec: DatasetSpec, frame: pl.DataFrame, paths: list[Path]) -> pl.DataFrame:
    key = spec.unique
    dupes = frame.filter(pl.col(key).is_duplicated() & pl.col(key).is_not_null())
    if dupes.height:
        first = dupes.sort(ROW).row(0, named=True)
        rows = ", ".join(str(r) for r in dupes.sort(ROW)[ROW].head(MAX_LISTED).to_list())
        where = paths[0] if len(paths) == 1 else "the extracts"
        raise DataError(located(where, f"duplicate id '{first[key]}' (the dataset declares "
                                       f"'{key}' unique; rows {rows})", row=first[ROW],
                                column=key),
                        hint=f"remove the duplicates, or drop unique = \"{key}\" for "
                             f"dataset '{spec.id}'")
    return frame


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


def load(project, dataset_id: str, patterns: list[str] | None = None, *,
         skip_bad_rows: bool = False, quarantine: Path | None = None) -> LoadResult:
    """Read extracts and replace the months they cover in the dataset's table, atomically.

    With no patterns the dataset's configured `sources` are read. Nothing is stored unless the
    whole load is good (or, with skip_bad_rows, unless at least one row is)."""
    from kpi import store

    spec = store.dataset_spec(project, dataset_id)
    if not patterns:
        if not spec.sources:
            raise UsageError(f"no files given, and dataset '{dataset_id}' declares no sources",
                             hint=f"kpi ingest {dataset_id} FILE...")
        patterns = [str(project.resolve(s)) for s in spec.sources]
    paths = expand_sources(patterns)
    extract = read_extracts(spec, paths, skip_bad_rows=skip_bad_rows)
    written = None
    if extract.rejected.height:
        written = quarantine or project.data_dir / "quarantine" / f"{dataset_id}-rejected.csv"
        written.parent.mkdir(parents=True, exist_ok=True)
        ordered = extract.rejected.rename({ROW: "row", REASON: "reason", "__file": "file"})
        ordered.select("file", "row", "reason", *[c for c in ordered.columns
                                                  if c not in ("file", "row", "reason")]
                       ).write_csv(written)
    provenance = {"operation": "ingest", "dataset": dataset_id, "sources": extract.sources,
                  "rows": extract.frame.height, "rejected": extract.rejected.height,
                  "months": extract.months}
    version = store.replace_months(project, dataset_id, extract.frame, provenance)
    return LoadResult(dataset=dataset_id, version=version, rows=extract.frame.height,
                      rejected=extract.rejected.height, months=extract.months,
                      sources=extract.sources, warnings=extract.warnings, quarantine=written)


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
