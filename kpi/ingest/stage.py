"""Staging: every file read a batch at a time through its reader and the conformer, the good rows
written once, as the table's data files, into a temporary folder (moved into the table by the
commit), and the checks across files (overlaps, gaps, unique).
"""

from __future__ import annotations

import calendar
import glob
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from kpi.catalogue import DatasetSpec, polars_schema
from kpi.dateparts import MONTH_TEXT
from kpi.errors import CROSS_CHECK_HINT, DataError, UsageError, flag, located
from kpi.ingest.common import (
    COLUMN,
    FILE,
    MAX_LISTED,
    REASON,
    ROW,
    Numbering,
    _batch_rows,
    _describe_bad_rows,
    _show,
    _StagingRefused,
)
from kpi.ingest.conform import (
    PivotLayout,
    _check_parquet_types,
    _conform,
    _match_columns,
    _refuse_blank_columns,
)
from kpi.ingest.csv_reader import _csv_batches
from kpi.ingest.excel_reader import _is_excel, _read_excel
from kpi.ingest.parquet_reader import _parquet_batches
from kpi.ingest.sql_reader import Query, QueryRead, query_batches
from kpi.ingest.survey import _is_parquet, _read_bytes, _survey, as_named, same_file
from kpi.ingest.unique import UNIQUE_WRITTEN, load_ids, unique_as_written, unique_value
from kpi.ingest.unique import shown_unique as _shown_unique
from kpi.ingest.unique import unique_written as _unique_written
from kpi.periods import Month
from kpi.progress import Progress, Step
from kpi.store import edge_of

SECTION = "__section"  # which of a file's sections (parted by repeated headers) a row is in
# The first and last time a file's rows of a month are dated: `Extract.spans`.
LOW, HIGH = "__low", "__high"

if TYPE_CHECKING:
    from kpi.store import DataFile

# Distinct ids held at once by the `unique` check: above it, ids are checked in passes, each
# over the ids whose hash falls in one share.
UNIQUE_ROWS = 4_000_000


# Ids (with their file and record) a load holds for its own `unique` check: past it, they are
# written to the staging folder by hash share, and the check reads one share at a time.
IDS_HELD = 250_000


# The shares a load's ids are staged in for its own `unique` check: one share holds a 64th of
# them (a million at 64M rows).
SHARES = 64


@dataclass
class Extract:
    """What one ingest read: the good rows, the rejected ones, and where they came from.

    The good rows are written as the table's data files (`files`, by month, in the staging
    folder; see `store.MonthFiles`) or, for `read_extracts`, held in `frame`.
    `covered` has one row per (file, month, replace_by value...) the good rows hold, with its
    row count ("rows"): what the load will replace, and from which file. What the checks across
    the load need is kept as the rows are read: the ids of a `unique` dataset with the file
    (its index in `files_read` as FILE) and record (ROW) of each, and, for each identity
    column (kpi.ingest.identity), each value's first file and record."""

    rows: int
    rejected: pl.DataFrame
    sources: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    covered: pl.DataFrame | None = None
    # As `covered`, of the rows --skip-bad-rows rejected, where their dates read (None
    # without any): a stored month only they hold would be left as it was.
    bad_covered: pl.DataFrame | None = None
    files: list[str] = field(default_factory=list)  # FILE index -> the file's path
    numberings: dict[str, Numbering] = field(default_factory=dict)
    # the file's path -> the file as messages name it (a workbook's with its sheet)
    named: dict[str, str] = field(default_factory=dict)
    id_columns: dict[str, str] = field(default_factory=dict)
    frame: pl.DataFrame | None = None
    data: dict[str, list[DataFile]] = field(default_factory=dict)  # month -> its data files
    ids: _Ids | None = None
    firsts: dict[str, pl.DataFrame] = field(default_factory=dict)
    # Where the first and last of the good rows fall in their months (`store.edge_of`: an
    # instant, or a day), None for a dataset whose date is a month: what a load that cuts a
    # month short would drop (commit._check_cut).
    starts: Any = None
    ends: Any = None
    # Each (month, replace_by value...) the good rows hold, with the first and last time they
    # are dated (LOW, HIGH): None for a dataset dated by a day or a month.
    spans: pl.DataFrame | None = None

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


def source_patterns(project, spec: DatasetSpec) -> list[str]:
    """A dataset's `sources`, each a pattern from the project's folder whose own name is
    matched as written: a folder named "Performance [2025]" read as a pattern matched no file
    (or "proj[1]" matched another project's "proj1"). The part kpi.toml writes keeps its
    wildcards."""
    out = []
    for source in spec.sources:
        resolved = project.resolve(source)  # refuses a path leaving the project folder
        if not glob.has_magic(source):
            out.append(str(resolved))
            continue
        root = project.root.resolve()
        out.append(glob.escape(str(root)) + os.sep + str(resolved.relative_to(root)))
    return out


def expand_sources(patterns: list[str]) -> list[Path]:
    """Files named on the command line, with globs expanded (also on shells that do not). A
    name is taken literally first: `crimes[1].csv` is that file when it exists, never the
    `crimes1.csv` its brackets would match as a glob."""
    paths: list[Path] = []
    for pattern in patterns:
        literal = os.path.lexists(pattern) or not glob.has_magic(pattern)
        matches = [pattern] if literal else sorted(glob.glob(pattern))
        if not matches:
            folder = Path(pattern).parent
            raise UsageError(f"no files match '{pattern}'",
                             hint=f"check the pattern against the files in {folder.resolve()}")
        for match in matches:
            path = Path(match)
            if path.is_dir():
                raise DataError(f"{path}: is a folder, not an extract",
                                hint=f"name the files in it, for example {path / '*.csv'}")
            if not path.is_file():
                raise DataError(f"{path}: no such file",
                                hint=f"check the name; the working folder is {Path.cwd()}")
            paths.append(path)
    return paths


def read_extracts(spec: DatasetSpec, paths: list[Path], *, skip_bad_rows: bool = False,
                  parts: bool = False, measured: frozenset[str] = frozenset(),
                  sheet: str | None = None) -> Extract:
    """`stage_extracts` with the good rows held in `frame`, in file order: for small extracts
    and for looking at what a load would store. `load` writes them as data files instead."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kpi-ingest-") as folder:
        extract = stage_extracts(spec, paths, Path(folder), skip_bad_rows=skip_bad_rows,
                                 parts=parts, measured=measured, sheet=sheet, hold=True)
        extract.ids = None  # its files, if any, go with the folder
    return extract


def stage_extracts(spec: DatasetSpec, paths: Sequence[Path | Query], folder: Path, *,
                   skip_bad_rows: bool = False, parts: bool = False,
                   measured: frozenset[str] = frozenset(), sheet: str | None = None,
                   identity: Sequence[str] = (), hold: bool = False,
                   progress: Progress | None = None) -> Extract:
    """Read, map and type every file a batch at a time, writing the good rows as the table's
    data files into `folder` (with `hold`, keeping them in `frame`); raise DataError on the
    first bad file (or, with skip_bad_rows, return its bad rows as `rejected` with file, row,
    column and reason). Memory is bounded by a batch (BATCH_ROWS), the rows held for the month
    files (store.HELD_BYTES), the bad rows kept, and the ids of one share of the `unique`
    check (IDS_HELD ids at most while reading).

    A file named twice (the same bytes, by sha256) is read once. Two files holding rows of the
    same month (or the same month and `replace_by` values) are refused unless `parts` says they
    are parts of one extract: otherwise an original and its revision would be added together.
    A required number column in `measured` (read by a KPI) that is blank on every row of a file
    refuses that file. A database `Query` is read as one more file, by the database reader.
    `identity` names the columns whose first file and record of each value are kept for
    kpi.ingest.identity's check. `progress` is told each file's bytes and rows read after every
    batch (kpi.progress)."""
    sink = _Sink(spec, folder, tuple(identity), hold)
    try:
        extract = _stage(spec, paths, sink, skip_bad_rows=skip_bad_rows, parts=parts,
                         measured=measured, sheet=sheet, progress=progress)
    except BaseException:
        sink.abandon()
        raise
    return extract


def _stage(spec: DatasetSpec, paths: Sequence[Path | Query], sink: _Sink, *,
           skip_bad_rows: bool, parts: bool, measured: frozenset[str],
           sheet: str | None, progress: Progress | None) -> Extract:
    folder = sink.folder
    extract = Extract(rows=0, rejected=pl.DataFrame())
    rejected, covered, bad_covered, spanned = [], [], [], []
    seen: dict[str, Path] = {}  # sha256 -> the first file with those bytes
    for source in paths:
        query = source if isinstance(source, Query) else None
        path = Path(source.label) if isinstance(source, Query) else source
        survey = _survey(path) if query is None else None
        if survey is not None and survey.digest in seen:
            extract.warnings.append(f"{path}: the same file as {seen[survey.digest]} (sha256 "
                                    f"{survey.digest[:12]}); read once")
            if progress is not None:
                progress(Step(str(path), "bytes", survey.size, survey.size))
            continue
        if survey is not None:
            seen[survey.digest] = path
            if progress is not None:
                progress(Step(str(path), "bytes", 0, survey.size))
        index = len(extract.files)
        extract.files.append(str(path))
        state = _FileState(spec=spec, path=path, index=index, sink=sink,
                           measured=measured, keep_bad=skip_bad_rows)
        excel = query is None and _is_excel(path)
        if survey is not None:
            as_named(path, survey.head, "excel" if excel else
                     "parquet" if _is_parquet(path, survey.head) else "csv")
        sheet_read = None
        read = QueryRead()
        if query is not None:
            state.from_csv = False
            batches, numbering = query_batches(spec, query, state, read)
        elif excel:
            table, sheet_read, numbering = _read_excel(
                spec, path, _read_bytes(path), sheet or spec.sheet, extract.warnings)
            state.sheet = sheet_read
            batches = _slices(table)
        elif survey is not None and _is_parquet(path, survey.head):
            state.from_csv = False
            batches, numbering = _parquet_batches(path, survey, state)
        else:
            assert survey is not None
            batches, numbering = _csv_batches(path, survey, folder, index, state)
        counted = 0
        try:
            for batch in batches:
                state.add(batch)
                counted += batch.height
                if progress is not None:
                    progress(Step(str(path), "rows", counted, None, counted) if survey is None
                             else Step(str(path), "bytes", min(state.bytes_read, survey.size),
                                       survey.size, counted))
        except DataError:
            if survey is not None:
                same_file(path, survey)  # a file changed while read says so, not what it met
            raise
        if progress is not None and survey is not None:
            progress(Step(str(path), "bytes", survey.size, survey.size, counted))
        if survey is not None:
            same_file(path, survey)  # the rows read are of the bytes hashed
        state.finish()
        if query is None and not state.good and not state.bad_count:
            # Every line after the header blank, separators alone (",,", a sheet whose rows
            # were cleared and saved) or the header again: an extract with no data rows, as
            # a file of a header alone is. Loaded with --parts, it replaced its months with
            # the other parts' rows alone (20 rows a month read as 12), exit 0.
            raise DataError(located(path, "the file has a header but no data rows (every "
                                          "line after it is empty or the header again)"),
                            hint="check the extract was written in full")
        for name, (grouped, decimal) in state.commas.items():
            if grouped is not None and decimal is not None:
                column = state.mapping[name]
                number = numbering(pl.Series(ROW, [decimal[0], grouped[0]])).to_list()
                other, read = ((grouped[1].replace(",", "."), "a comma between thousands reads "
                                f"it as {grouped[1].replace(',', '')}") if "," in grouped[1]
                               else (grouped[1].replace(".", ""), "a decimal point reads it as "
                                     f"{grouped[1]}"))
                raise DataError(located(
                    state.where, f"'{_show(decimal[1])}' is written with a decimal comma, so the "
                    f"column's '{_show(grouped[1])}' (row {number[1]}) could mean {other} where "
                    f"{read}", row=number[0], column=_show(column)),
                    hint="export the numbers with a decimal point and no separator between "
                         "thousands (1500, 1.5), in a UK locale; nothing was loaded")
        if not parts and (shared := state.shared_by_sections()).height:
            # Read the file again for the rows of the months its sections share (a file with
            # repeated headers is rare, and most such share none).
            again = _SectionRows(spec, folder, shared)
            second = _FileState(spec=spec, path=path, index=index, sink=again,
                                measured=measured, keep_bad=True, sheet=state.sheet)
            again.state = second
            rows = (_slices(table) if excel else
                    _csv_batches(path, survey, folder, index, second)[0] if survey else iter(()))
            joined = _repeated_in_sections(spec, path, second, rows, numbering, shared, again)
            if joined is not None:
                raise joined
        if state.reordered is not None:
            row, text = state.reordered
            number = numbering(pl.Series(ROW, [row])).item()
            raise DataError(located(state.where, f"repeats the header with its columns in "
                                                 f"another order ('{_show(text)}'): the rows "
                                                 "below it would be read in the first header's "
                                                 "order, each value in another column",
                                    row=number),
                            hint="split the file where the header repeats and load the parts "
                                 f"together with {flag('--parts')}; nothing was loaded")
        if state.month_first is not None:
            row, column, text, of_month = state.month_first
            number = numbering(pl.Series(ROW, [row])).item()
            if of_month:
                first, second, year = re.split(r"[/ T]", text.strip())[:3]
                what = (f"a month written as a date that reads two ways ('{_show(text)}': "
                        f"day first, as kpi reads dates, {int(first)} "
                        f"{calendar.month_name[int(second)]} {year}; month first, as a US "
                        f"spreadsheet writes the first of each month, 1 "
                        f"{calendar.month_name[int(first)]} {year})")
            else:
                what = (f"a date written month first ('{_show(text)}', a month before a day "
                        "after the 12th): the column's other dates would be read day first, "
                        "as the wrong day and month")
            raise DataError(located(state.where, what, row=number, column=_show(column)),
                            hint="export the dates as ISO (2025-01-31) or day first "
                                 "(31/01/2025), in a UK locale, or the months as 2025-03; "
                                 "nothing was loaded")
        extract.warnings.extend(state.warnings)
        if state.bad_count and not skip_bad_rows:
            raise DataError(_describe_bad_rows(state.where, state.bad(numbering), state.bad_count),
                            hint="fix the rows named, or load the rest with "
                                 + flag("--skip-bad-rows"))
        if state.layout is not None:
            refused = state.layout.refusal(state.where, numbering)
            if refused is not None:
                raise refused
        extract.id_columns[str(path)] = state.mapping.get(spec.unique or "", spec.unique or "")
        extract.numberings[str(path)] = numbering
        extract.named[str(path)] = state.where
        extract.rows += state.good
        for edge in (state.starts, state.ends):
            if edge is not None:
                extract.starts = edge if extract.starts is None else min(extract.starts, edge)
                extract.ends = edge if extract.ends is None else max(extract.ends, edge)
        if state.bad_count:
            rejected.append(state.bad(numbering).with_columns(pl.lit(str(path)).alias(FILE)))
        if query is not None:
            # The query's text and hash, and a hash of what it returned: never the URI.
            extract.sources.append({"file": query.label, "query": query.text,
                                    "query_file": query.origin, "query_sha256": query.sha256,
                                    "uri_env": query.uri_env,
                                    "sha256": read.digest.hexdigest(), "rows": state.good,
                                    "rejected": state.bad_count})
        else:
            assert survey is not None
            extract.sources.append({"file": path.name, "sha256": survey.digest,
                                    "bytes": survey.size, "rows": state.good,
                                    "rejected": state.bad_count,
                                    **({"sheet": sheet_read} if excel else {})})
        covered.append(state.covered())
        if (spans := state.spans()) is not None:
            spanned.append(spans)
        if state.bad_keys:
            bad_covered.append(state.covered(bad=True))
    keys = pl.concat(covered, how="vertical")
    extract.covered = keys
    if spanned:
        extract.spans = (pl.concat(spanned, how="vertical").group_by("month", *spec.replace_by)
                         .agg(pl.col(LOW).min(), pl.col(HIGH).max()))
    if bad_covered:
        extract.bad_covered = pl.concat(bad_covered, how="vertical_relaxed")
    if not parts:
        # The months of rows set aside count too: a revision whose October rows were all bad
        # (--skip-bad-rows) left the original's October stored beside its November, where
        # the two files are refused as holding one month.
        _check_overlap(spec, keys if extract.bad_covered is None else pl.concat(
            [keys, extract.bad_covered.select(keys.columns)], how="vertical_relaxed"))
    names = [Path(s.label) if isinstance(s, Query) else s for s in paths]
    extract.warnings.extend(_gaps(spec, names, keys))
    bad_frame = pl.concat(rejected, how="diagonal_relaxed") if rejected else pl.DataFrame()
    extract.rejected = bad_frame
    sink.finish(extract)
    if spec.unique and extract.rows:
        _check_unique(spec, extract)
    if extract.rows == 0:
        where = ", ".join(str(p) for p in names)
        if bad_frame.height:
            first = bad_frame.row(0, named=True)
            raise DataError(f"{where}: all {bad_frame.height} data rows were rejected; first: "
                            + located(extract.named.get(first[FILE], first[FILE]),
                                      first[REASON], row=first[ROW],
                                      column=first[COLUMN]),
                            hint="nothing was loaded; fix the extract")
        raise DataError(f"{where}: no data rows to load")
    return extract


@dataclass
class _FileState:
    """One file's batches as they are conformed: the good rows passed to the load's sink, the
    bad ones kept (all of them with skip_bad_rows, else the first few and a count), and what
    the file-wide checks need (rows per month, which measured number columns ever hold a
    value)."""

    spec: DatasetSpec
    path: Path
    index: int
    sink: _Sink | _SectionRows
    measured: frozenset[str]
    keep_bad: bool
    from_csv: bool = True
    mapping: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    good: int = 0
    typed: int = 0  # rows typed: all but blank rows and repeated headers
    repeated: int = 0
    # The ROW of each row repeating the header, in file order: the file's sections, each
    # told apart as files are by `_repeated_in_sections`.
    header_rows: list[int] = field(default_factory=list)
    present: dict[str, bool] = field(default_factory=dict)
    bad_frames: list[pl.DataFrame] = field(default_factory=list)
    bad_count: int = 0
    counts: list[pl.DataFrame] = field(default_factory=list)
    # Of kept bad rows (--skip-bad-rows), each (month, replace_by value...) their dates read
    # as, with the count: `Extract.bad_covered`.
    bad_keys: list[pl.DataFrame] = field(default_factory=list)
    matched: bool = False
    bytes_read: int = 0  # of the file, as far as its reader tells (kpi.progress)
    # The text columns of the batch the reader last handed out whose bytes it found all printable
    # ASCII (common.printable_ascii), so the conformer need not look again; the CSV and Parquet
    # readers tell it.
    plain_text: frozenset[str] = frozenset()
    # The expressions made for the file's batches (the row checks, conform._rules, and the
    # typing, conform._typed_plan), by what decides them.
    made: dict[Any, Any] = field(default_factory=dict)

    sheet: str | None = None  # a workbook's sheet read
    # Each number column's first value read with thousands and first with a decimal comma
    # (conform.comma_readings): (ROW, text) or None.
    commas: dict[str, list[tuple[int, str] | None]] = field(default_factory=dict)
    # The first date only a month-first reading makes (conform._month_first): ROW, column, text.
    month_first: tuple[int, str, str, bool] | None = None
    # A Parquet file's columns stored as INT96 timestamps (parquet_reader).
    int96: frozenset[str] = frozenset()
    # The first row repeating the header in another column order (conform._reordered_header):
    # ROW, its text.
    reordered: tuple[int, str] | None = None
    # The first caption of a pivot table's measure in each column not read
    # (conform._measures_unread).
    captions: dict[str, str] = field(default_factory=dict)
    # A CSV file's or a workbook's rows as an aggregate table's (conform.PivotLayout).
    layout: PivotLayout | None = None
    starts: Any = None  # where the first and last good rows fall (`store.edge_of`)
    ends: Any = None

    @property
    def folder(self) -> Path:
        return self.sink.folder

    @property
    def where(self) -> str:
        """The file as every message about its rows and columns names it: a workbook's with
        its sheet, as the workbook reader's own messages name it."""
        if self.sheet is None:
            return str(self.path)
        return f"{self.path}, sheet '{_show(self.sheet)}'"

    def add(self, table: pl.DataFrame) -> None:
        if not self.matched:
            self.mapping = _match_columns(self.spec, self.where, table.columns, self.warnings,
                                          1 if self.from_csv else None)
            if not self.from_csv:
                _check_parquet_types(self.spec, self.where, table, self.mapping, self.int96)
            else:
                self.layout = PivotLayout(self.spec, self.mapping, table.columns,
                                          self.measured)
            self.matched = True
        good, bad = _conform(self.spec, self.path, table, self)
        if self.layout is not None:
            self.layout.add(good)
        if bad.height:
            self.bad_count += bad.height
            kept = sum(f.height for f in self.bad_frames)
            if self.keep_bad:
                self.bad_frames.append(bad)
            elif kept < MAX_LISTED:
                self.bad_frames.append(bad.head(MAX_LISTED - kept))
        if good.height:
            self.good += good.height
            edge = edge_of(self.spec, good.schema)
            # The rows of each month (and replace_by part) and where the first and last fall
            # (`edge_of`), in one query; each month's text is made once the file is read
            # (`covered`). The first and last time of a dataset dated by a datetime (`spans`).
            timed = edge is not None and isinstance(good.schema[self.spec.date], pl.Datetime)
            dated = pl.col(self.spec.date or "month")
            counts = good.group_by("month", *self.spec.replace_by, self.section(good),
                                   maintain_order=True).agg(
                pl.len().alias("rows"),
                *([dated.min().alias(LOW), dated.max().alias(HIGH)] if timed else []),
                *([edge.min().alias("__first"), edge.max().alias("__last")] if edge is not None
                  else []))
            if edge is not None:
                firsts = [d for d in counts.drop_in_place("__first").to_list() if d is not None]
                lasts = [d for d in counts.drop_in_place("__last").to_list() if d is not None]
                if firsts:
                    first, last = min(firsts), max(lasts)
                    self.starts = first if self.starts is None else min(self.starts, first)
                    self.ends = last if self.ends is None else max(self.ends, last)
            self.counts.append(counts)
            if not self.keep_bad and self.bad_count:
                return  # the file is refused anyway: write nothing more
            self.sink.add(good, self.index)

    def finish(self) -> None:
        """The file-wide checks, once every batch is in."""
        if self.repeated:
            self.warnings.append(f"{self.where}: skipped {self.repeated} repeated header row(s)")
        _refuse_blank_columns(self.spec, self.where, self)

    def bad(self, numbering: Numbering) -> pl.DataFrame:
        """The bad rows kept, in file order, with row numbers as an editor shows them."""
        bad = pl.concat(self.bad_frames, how="diagonal_relaxed")
        return bad.with_columns(numbering(bad[ROW]))

    def covered(self, bad: bool = False) -> pl.DataFrame:
        """Each (month, replace_by value...) the file's good rows hold, with their count and
        the file; with `bad`, those its kept bad rows are dated in."""
        keys = ["month", *self.spec.replace_by]
        schema = {k: pl.String for k in keys}
        schema.update({k: v for k, v in polars_schema(self.spec).items() if k in keys})
        frames = self.bad_keys if bad else self.counts
        counts = (pl.concat(frames, how="vertical").with_columns(MONTH_TEXT)
                  if frames else pl.DataFrame(schema={**schema, "rows": pl.UInt32}))
        return (counts.group_by(keys, maintain_order=True).agg(pl.col("rows").sum())
                .with_columns(pl.lit(str(self.path)).alias(FILE)))

    def spans(self) -> pl.DataFrame | None:
        """The first and last time the good rows of each (month, replace_by value...) of each
        of the file's batches are dated, for a dataset dated by a datetime column (taken
        together across the load's files in `Extract.spans`)."""
        if not self.counts or LOW not in self.counts[0].columns:
            return None
        return (pl.concat(self.counts, how="vertical").with_columns(MONTH_TEXT)
                .select("month", *self.spec.replace_by, LOW, HIGH))

    def section(self, rows: pl.DataFrame) -> pl.Series | pl.Expr:
        """Which of the file's sections each of `rows` is in (SECTION): 0 above the first
        repeated header, 1 below it, and so on."""
        if not self.header_rows:
            return pl.lit(0, dtype=pl.UInt32).alias(SECTION)
        return (pl.Series(self.header_rows, dtype=pl.Int64)
                .search_sorted(rows[ROW].cast(pl.Int64)).cast(pl.UInt32).alias(SECTION))

    def shared_by_sections(self) -> pl.DataFrame:
        """Each (month, replace_by value...) that rows of two or more of the file's sections
        are dated in."""
        keys = ["month", *self.spec.replace_by]
        if not self.header_rows or not self.counts:
            return pl.DataFrame()
        return (pl.concat(self.counts, how="vertical").group_by(keys)
                .agg(pl.col(SECTION).n_unique().alias("__sections"))
                .filter(pl.col("__sections") > 1).select(keys))


class _SectionRows:
    """Where a second read of a file puts its good rows (as `_Sink` would): the hash of each
    row of the months its sections share (`_FileState.shared_by_sections`), with its section,
    to find a row written in two sections (`_repeated_in_sections`)."""

    def __init__(self, spec: DatasetSpec, folder: Path, shared: pl.DataFrame) -> None:
        self.spec = spec
        self.folder = folder
        self.shared = shared
        self.stored = [n for n in polars_schema(spec) if n != "month"]
        self.frames: list[pl.DataFrame] = []
        self.state: _FileState | None = None

    def add(self, good: pl.DataFrame, index: int) -> None:
        assert self.state is not None
        keys = ["month", *self.spec.replace_by]
        self.frames.append(
            good.select(*keys, self.state.section(good), pl.col(ROW),
                        pl.struct(self.stored).hash(_ROW_SEED).alias("__hash"))
            .join(self.shared, on=keys, how="semi", nulls_equal=True))


_ROW_SEED = 20251107  # any fixed seed: rows are compared within one read only


def _repeated_in_sections(spec: DatasetSpec, path: Path, state: _FileState,
                          batches: Iterator[pl.DataFrame], numbering: Numbering,
                          shared: pl.DataFrame, sink: _SectionRows) -> DataError | None:
    """Refuse a file two of whose sections (the rows between its repeated headers) hold one
    row of a month alike, every stored column equal: an original extract and its revision
    joined into one file, the header written again between them, were read as one extract
    and summed (each incident of the month counted twice, exit 0), where two files holding
    one month are refused (`_check_overlap`). Sections that only share months are read
    together, as the file has them: police.uk's monthly stop and search files, joined, each
    hold searches of the next month's first days (a July file 144 of August's, none of them
    in the August file). `batches` is a second read of the file, made only where its
    sections share a month."""
    for batch in batches:
        state.add(batch)
    if not sink.frames:
        return None
    keys = ["month", *spec.replace_by]
    rows = pl.concat(sink.frames, how="vertical")
    # Each row repeated in a later section, with the first section holding it.
    first = rows.group_by("__hash").agg(pl.col(SECTION).min().alias("__first"))
    again = (rows.join(first, on="__hash").filter(pl.col(SECTION) > pl.col("__first"))
             .sort(ROW))
    if not again.height:
        return None
    top = again.row(0, named=True)
    key = again.join(again.head(1).select(keys), on=keys, how="semi", nulls_equal=True)
    shown = {**top, "month": top["month"].strftime("%Y-%m")}
    # The header that parts the section first holding the row from the one repeating it.
    header = numbering(pl.Series(ROW, [state.header_rows[top[SECTION] - 1]])).item()
    row = numbering(pl.Series(ROW, [top[ROW]])).item()
    count = f"{key.height:,} row{'s' if key.height > 1 else ''} of the month"
    what = (f"repeats a row of {describe_key(shown, spec.replace_by)} written above the header "
            f"repeated at row {header} ({count} written twice): two extracts joined into one "
            "file would be counted twice")
    return DataError(located(state.where, what, row=row),
                     hint="load only the newest extract (split the file where the header "
                          f"repeats), or pass {flag('--parts')} if the file's sections are "
                          "parts of one extract; nothing was loaded")


def _slices(table: pl.DataFrame) -> Iterator[pl.DataFrame]:
    """A table read whole (a workbook's sheet) in the batches the conformer takes."""
    return (table.slice(start, _batch_rows()) for start in range(0, table.height, _batch_rows()))


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
                         f"pass {flag('--parts')} if the files are parts of one extract")


class _Sink:
    """Where each checked batch's good rows go, for every file of a load: the month files of
    the table (`store.MonthFiles`), or with `hold` a list of frames; and what the checks across
    the load need, kept as the rows pass: the ids of a unique dataset (`_Ids`) and the first
    file and record of each value of the identity columns."""

    def __init__(self, spec: DatasetSpec, folder: Path, identity: tuple[str, ...],
                 hold: bool) -> None:
        from kpi.store import MonthFiles

        self.spec = spec
        self.folder = folder
        self.identity = identity
        self.schema = polars_schema(spec)
        self.months = None if hold else MonthFiles(spec, folder)
        self.frames: list[pl.DataFrame] | None = [] if hold else None
        self.ids = _Ids(spec.unique, folder) if spec.unique else None
        self.firsts: dict[str, pl.DataFrame] = {}

    def add(self, good: pl.DataFrame, index: int) -> None:
        rows = good.select(pl.col(ROW), *[pl.col(n).cast(t) for n, t in self.schema.items()
                                          if n != "month"],
                           pl.col("month"), pl.lit(index, dtype=pl.Int32).alias(FILE))
        try:
            if self.frames is not None:
                self.frames.append(rows.with_columns(MONTH_TEXT))
            else:
                assert self.months is not None
                # Split by the month's first day (a number), each month's text made once:
                # formatting every row's date and splitting by the text took half as long
                # again (0.09 s of CPU against 0.06 for a batch of 250,000 rows).
                # (MonthFiles.add takes the stored columns of each part: not ROW or FILE.)
                for (month,), part in rows.partition_by(
                        "month", maintain_order=True, as_dict=True, include_key=False).items():
                    self.months.add(month.strftime("%Y-%m"), part.to_arrow())
            if self.ids is not None:
                ids = load_ids(self.spec, rows)
                if ids[self.ids.key].null_count():  # a filter copies every id, even keeping all
                    ids = ids.filter(pl.col(self.ids.key).is_not_null())
                self.ids.add(ids)
        except OSError as exc:
            raise _StagingRefused(exc) from None
        for column in self.identity:
            # Only values no earlier batch held have a first occurrence here: after the first
            # batches, few or none (0.10 s of CPU against 0.22 for 5M rows, grouping each
            # batch's rows and then the batch's firsts with the earlier ones). After the
            # first batch, the rows of new values are taken and each value's first found in
            # two queries, not three (a small batch costs about as much as its queries).
            seen = self.firsts.get(column)
            new = pl.col(column).is_not_null()
            if seen is None:
                first = (rows.select(column, FILE, ROW).filter(new)
                         .group_by(column, maintain_order=True).first())
            else:
                new = new & ~pl.col(column).is_in(seen[column].implode())
                first = rows.filter(new).select(pl.col(column, FILE, ROW)
                                                .filter(pl.col(column).is_first_distinct()))
            # The earlier batches' first occurrences come first.
            self.firsts[column] = first if seen is None else pl.concat([seen, first])

    def finish(self, extract: Extract) -> None:
        try:
            if self.months is not None:
                extract.data = self.months.finish()
            if self.ids is not None:
                self.ids.finish()
        except OSError as exc:
            raise _StagingRefused(exc) from None
        extract.ids = self.ids
        extract.firsts = self.firsts
        if self.frames is not None:
            extract.frame = (pl.concat(self.frames).sort(FILE, ROW).drop(ROW, FILE)
                             if self.frames else pl.DataFrame(schema=self.schema))

    def abandon(self) -> None:
        if self.months is not None:
            self.months.abandon()


class _Ids:
    """A load's ids for the `unique` checks, each with its file (FILE) and record (ROW), in
    load order. Up to IDS_HELD of them are held; past it, they are written to the staging
    folder as LZ4 Arrow IPC in load order (`ids-*.arrow`), and a 64-bit hash of each
    (`_id_hash`) as Arrow IPC with one record batch per hash share (`hashes-*.arrow`), so that
    the check holds one share of the hashes at a time whatever the size of the load, and reads
    the ids themselves only for the hashes it finds more than once."""

    def __init__(self, key: str, folder: Path) -> None:
        self.key = key
        self.folder = folder
        self.held: list[pl.DataFrame] = []
        self.count = 0
        self.staged: dict[int, list[tuple[Path, int]]] = {}  # share -> its hashes' batches
        self.files: list[Path] = []  # the ids, in load order
        self.written = 0

    def add(self, ids: pl.DataFrame) -> None:
        self.held.append(ids)
        self.count += ids.height
        if self.count > IDS_HELD:
            self._stage()

    def _stage(self) -> None:
        if not self.held:
            return
        import pyarrow.compute as pc

        ids = pl.concat(self.held)
        self.held, self.count = [], 0
        hashes = ids.select(_id_hash(self.key))
        share = (hashes.to_series() % SHARES).cast(pl.UInt8)
        # Grouped by share in load order by Arrow's stable sort of the small share numbers: a
        # sixth of the time of Polars' sort with maintain_order (0.05 s against 0.32 for 5M).
        order = pl.Series(pc.sort_indices(share.to_arrow()))  # pyright: ignore[reportAttributeAccessIssue]
        hashes, share = hashes[order], share.gather(order)
        sizes = share.to_frame("__share").group_by("__share", maintain_order=True).len().rows()
        target = self.folder / f"hashes-{self.written:06d}.arrow"
        text = self.folder / f"ids-{self.written:06d}.arrow"
        self.written += 1
        _write_staged(hashes, sizes, target, compression=None)
        _write_staged(ids, [(0, ids.height)], text, compression="lz4")
        self.files.append(text)
        for group, (share, _) in enumerate(sizes):
            self.staged.setdefault(share, []).append((target, group))

    def finish(self) -> None:
        if self.staged:  # once any are staged, all are, so each share is whole
            self._stage()

    def hash_shares(self) -> Iterator[pl.Series]:
        """The staged ids' hashes (`_id_hash`) a share at a time, each in no set order."""
        import pyarrow as pa
        import pyarrow.ipc as ipc

        files = sorted({path for groups in self.staged.values() for path, _ in groups})
        with ExitStack() as stack:
            # Read, not memory-mapped: the pages of a map stay in the process's memory while
            # it is open, so reading every share through maps would hold them all at the end;
            # a read holds one share's batch at a time.
            readers = {path: ipc.open_file(stack.enter_context(pa.OSFile(str(path), "rb")))
                       for path in files}
            for share in sorted(self.staged):
                batches = [readers[path].get_batch(group) for path, group in self.staged[share]]
                yield pl.concat([_frame(b) for b in batches]).to_series()

    def scan(self) -> pl.LazyFrame:
        """Every id, in load order once staged."""
        if self.staged:
            return pl.scan_ipc(self.files, glob=False)
        if self.held:
            return pl.concat(self.held).lazy()
        return pl.LazyFrame(schema={self.key: pl.String, UNIQUE_WRITTEN: pl.String,
                                    FILE: pl.Int32, ROW: pl.Int64})


def _id_hash(key: str) -> pl.Expr:
    """A 64-bit hash of each id, named "hash": Polars' hash, the same for the same value
    within a process. The `unique` check looks for repeats among these and confirms each on
    the ids themselves, so two ids sharing a hash can neither refuse a load nor hide a repeat."""
    return pl.col(key).hash(seed=0).alias("hash")


def _write_staged(rows: pl.DataFrame, sizes: list[tuple[Any, int]], target: Path, *,
                  compression: str | None) -> None:
    """Write rows sorted by a key as an Arrow IPC file with one record batch per key (`sizes`:
    each key's rows): they are read back a batch at a time, and this takes about half the time
    of Parquet both ways (kpi.ingest writes them only to read them once). Text is kept as
    Polars holds it (Arrow's string view), not copied into Arrow's plain strings."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    arrow = rows.rechunk().to_arrow(compat_level=pl.CompatLevel.newest())
    try:
        with pa.OSFile(str(target), "wb") as sink, ipc.new_file(
                sink, arrow.schema,
                options=ipc.IpcWriteOptions(compression=compression)) as writer:
            start = 0
            for _, size in sizes:
                part = arrow.slice(start, size)
                batches = part.to_batches()
                if len(batches) != 1:  # each share is read back as one batch
                    batches = part.combine_chunks().to_batches()
                writer.write_batch(batches[0])
                start += size
    except OSError as exc:
        raise _StagingRefused(exc) from None


def _shares(rows: int) -> int:
    """How many passes the `unique` check makes over `rows` ids, each holding one share."""
    return max(1, -(-rows // UNIQUE_ROWS))


def _share(key: str, shares: int, share: int) -> pl.Expr:
    return pl.col(key).is_not_null() & (pl.col(key).hash(seed=0) % shares == share)


def _check_unique(spec: DatasetSpec, extract: Extract) -> None:
    """Reject a load holding an id twice, naming the second occurrence (in file order).

    Past IDS_HELD ids, their hashes are read one share at a time (see `_Ids`), so memory holds
    a 64th of them whatever the size of the load; only the ids whose hash is found more than
    once are read back, up to UNIQUE_ROWS of them a pass, and repeats are confirmed on them."""
    key = spec.unique
    assert key is not None
    ids = extract.ids
    assert ids is not None, "a load of a unique dataset keeps its ids"
    best: tuple[dict[str, Any], pl.DataFrame] | None = None

    def keep(found: tuple[dict[str, Any], pl.DataFrame] | None) -> None:
        nonlocal best
        if found is not None and (best is None or (found[0][FILE], found[0][ROW])
                                  < (best[0][FILE], best[0][ROW])):
            best = found

    if not ids.staged:
        if ids.held:
            keep(_first_repeat(pl.concat(ids.held), key))
    else:
        candidates: list[pl.Series] = []  # hashes seen more than once, whole shares of them
        rows = 0  # the ids holding them
        for hashes in ids.hash_shares():
            if hashes.n_unique() == hashes.len():  # most loads: a quick count, no ids read
                continue
            repeated = hashes.filter(hashes.is_duplicated())
            candidates.append(repeated.unique())
            rows += repeated.len()
            if rows >= UNIQUE_ROWS:
                keep(_confirm(ids, pl.concat(candidates), rows))
                candidates, rows = [], 0
        if candidates:
            keep(_confirm(ids, pl.concat(candidates), rows))
    if best is None:
        return
    second, occurrences = best
    value = second[key]
    # Where the rows write it otherwise ('000123' and '123', one id by the identity rule),
    # each is named with its spelling.
    spellings = [written or value for written in occurrences[UNIQUE_WRITTEN].to_list()]
    alike = len(set(spellings)) == 1
    where = ", ".join(f"{Path(extract.files[f]).name} row {_row_number(extract, f, r)}"
                      + ("" if alike else f" as {_shown_unique(spec, value, w)}")
                      for (f, r), w in zip(occurrences.select(FILE, ROW).iter_rows(),
                                           spellings, strict=True))
    file = extract.files[second[FILE]]
    column = extract.id_columns.get(file, key)
    raise DataError(located(extract.named.get(file, file),
                            f"expected {_expected_once(spec, column)}, found "
                            f"{_shown_unique(spec, value, second[UNIQUE_WRITTEN])} again "
                            f"(at {where})",
                            row=_row_number(extract, second[FILE], second[ROW]), column=column),
                    hint=f"remove the duplicates, or drop {_unique_written(spec)} for "
                         f"dataset '{spec.id}'")


def _confirm(ids: _Ids, hashes: pl.Series,
             rows: int) -> tuple[dict[str, Any], pl.DataFrame] | None:
    """The first repeat (`_first_repeat`) among the staged ids whose hash is in `hashes`, read
    back from the ids in load order: `rows` of them, every id of those hashes, so a repeat
    found among them is one of the whole load's."""
    key = ids.key
    part = (ids.scan().filter(_id_hash(key).is_in(hashes.implode()))
            .collect(engine="streaming"))
    if part.height != rows:  # the hashes, computed again, must find every id counted
        raise DataError(f"the unique check read {part.height:,} ids for {hashes.len():,} "
                        f"repeated hashes, expected {rows:,}", hint=CROSS_CHECK_HINT)
    return _first_repeat(part, key)


def _first_repeat(part: pl.DataFrame, key: str) -> tuple[dict[str, Any], pl.DataFrame] | None:
    """The earliest id in file order whose value came before, with up to MAX_LISTED of its
    value's occurrences; None if each id is there once."""
    if part[key].n_unique() == part.height:
        return None
    part = part.sort(FILE, ROW)
    dupes = part.filter(~pl.col(key).is_first_distinct()).head(1)
    second = dupes.row(0, named=True)
    return second, part.filter(pl.col(key) == second[key]).head(MAX_LISTED)


def _frame(table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _row_number(extract: Extract, file: int, record: int) -> int:
    name = extract.files[file]
    return int(extract.numberings[name](pl.Series([record], dtype=pl.Int64))[0])


def check_unique_stored(spec: DatasetSpec, extract: Extract, kept: pl.LazyFrame) -> None:
    """Reject a load holding an id that a stored row the load keeps (a month, or month and
    replace_by values, it does not replace) already holds: `kept` is those stored rows.

    The load's ids are held a share at a time (at most UNIQUE_ROWS), and each pass reads the
    stored ids once, keeping only those among the share's: so a nightly reload of a few months
    into a national store reads its stored ids once, not once per 4M stored rows."""
    key = spec.unique
    assert key is not None
    assert extract.ids is not None, "a load of a unique dataset keeps its ids"
    staged = extract.ids.scan()
    # A stored row of a month the load holds is another part's (`replace_by`): named so.
    parts = [c for c in spec.replace_by if c != key]
    stored = kept.select(unique_value(spec), unique_as_written(spec).alias(_STORED_WRITTEN),
                         "month", *parts)
    shares = _shares(extract.rows)
    first = None
    for share in range(shares):
        new = staged.filter(_share(key, shares, share)).collect()
        if not new.height:
            continue
        held = stored.filter(pl.col(key).is_in(new[key].unique().implode())).collect()
        found = new.join(held, on=key, how="inner").sort(FILE, ROW).head(1)
        if found.height:
            row = found.row(0, named=True)
            if first is None or (row[FILE], row[ROW]) < (first[FILE], first[ROW]):
                first = row
    if first is None:
        return
    file = extract.files[first[FILE]]
    column = extract.id_columns.get(file, key)
    where = (f"{first['month']}, a month this load does not replace" if not parts else
             f"{first['month']} of " + ", ".join(f"{c} {_shown_part(first[c])}" for c in parts)
             + ", rows this load does not replace")
    found_as = _shown_unique(spec, first[key], first[UNIQUE_WRITTEN])
    stored_as = _shown_unique(spec, first[key], first[_STORED_WRITTEN])
    # Stored in another spelling of the same id (`unique_value`), it is named as stored too.
    held_as = "" if stored_as == found_as else f" (as {stored_as})"
    raise DataError(located(file, f"expected {_expected_once(spec, column)}, found "
                                  f"{found_as}, which the store already holds{held_as} in "
                                  f"{where}",
                            row=_row_number(extract, first[FILE], first[ROW]), column=column),
                    hint=f"remove the row, load the month holding the stored one as well (a "
                         f"load replaces the months it holds), or drop {_unique_written(spec)} "
                         f"for dataset '{spec.id}'")


# The stored rows' ids as written, beside the load's (UNIQUE_WRITTEN) in `check_unique_stored`.
_STORED_WRITTEN = "__stored_written"


def _shown_part(value: object) -> str:
    """A stored `replace_by` value as a refusal names it: 'North', or blank."""
    return "blank" if value is None else f"'{_show(str(value))}'"


def _expected_once(spec: DatasetSpec, column: str) -> str:
    """What `unique` expects, in a refusal's words: each ref once, or with a list, each person
    once at each as_at."""
    declared = spec.unique_declared
    if not spec.unique_with:
        return f"each {column} once (dataset '{spec.id}' declares '{declared}' unique)"
    others = " and ".join(spec.unique_with)
    return (f"each {column} once at each {others} (dataset '{spec.id}' declares "
            f"{_unique_written(spec).removeprefix('unique = ')})")
