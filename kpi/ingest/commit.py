"""The commit: what was staged is checked against the stored table under the load lock and
written in one Delta commit with its provenance; quarantine files; the bundled sample's store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import polars as pl

from kpi.catalogue import SHRINK_SHARE, UK, ColumnType, DatasetSpec, through_derived
from kpi.errors import (
    ConfigError,
    DataError,
    UsageError,
    flag,
    ingest_hint,
    option,
    refusal,
    spelled,
)
from kpi.ingest.common import _UNSAFE, COLUMN, FILE, REASON, ROW, _StagingRefused
from kpi.ingest.identity import check_identity, identity_columns
from kpi.ingest.sql_reader import Query, query_of
from kpi.ingest.stage import (
    HIGH,
    LOW,
    Extract,
    check_unique_stored,
    describe_key,
    expand_sources,
    source_patterns,
    stage_extracts,
)
from kpi.ingest.unique import repeated_stored
from kpi.outputs import check_target
from kpi.progress import Progress, Step

# The fingerprint of a declaration a load records (`spec`) is worked out in the store, which
# judges an earlier kpi's load by it (`kpi.store.declaration_fingerprints`).
from kpi.store import earlier_fingerprints as _earlier_fingerprints
from kpi.store import spec_fingerprint as _spec_fingerprint

if TYPE_CHECKING:
    from kpi.store import DataFile, InPart


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
    # The months loaded that the table now holds only in part, from its log alone (rows
    # starting after the month's first day or ending before its last, where its other months
    # run whole: `kpi.store.cut_short`), each with why (`InPart.reason`) and how to count it
    # (`InPart.remedy`): no window counts them. A part's rows cut short beside others' whole
    # are told by the reads, which scan every month.
    held_in_part: dict[str, InPart] = field(default_factory=dict)


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
                         f"in months it does not cover, or pass {flag('--allow-shrink')} if the "
                         "month really has fewer rows now")


def _check_left_stale(project, spec: DatasetSpec, extract: Extract) -> None:
    """Refuse a load with --skip-bad-rows where every row it holds for a stored month (or
    month and replace_by value) was rejected: the month is not one it replaces, so its stored
    rows would stay as they were beside the revised months. A revision whose July rows all
    had a bad amount kept July's old classification: 48 burglaries where the revision holds
    44, exit 0. Rows rejected count as missing (docs/guarantees.md), and a load whose bad
    rows would empty a month is refused, with or without --allow-shrink."""
    from kpi import store

    bad = extract.bad_covered
    if bad is None or not bad.height or extract.covered is None:
        return
    keys = ["month", *spec.replace_by]
    only_bad = (bad.group_by(keys).agg(pl.col("rows").sum().alias("bad"),
                                       pl.col(FILE).unique(maintain_order=True).alias("files"))
                .join(extract.covered.select(keys).unique(), on=keys, how="anti",
                      nulls_equal=True))
    if not only_bad.height or not store.exists(project, spec.id):
        return
    stored = store.stored_counts(project, spec.id, only_bad.select(keys))
    left = (only_bad.join(stored, on=keys, how="inner", nulls_equal=True)
            .sort(keys, nulls_last=True))
    if not left.height:
        return
    first = left.row(0, named=True)
    more = (f" (and {left.height - 1} more month(s) likewise)" if left.height > 1 else "")
    rows = "row" if first["bad"] == 1 else "rows"
    raise DataError(f"{', '.join(first['files'])}: every row dated "
                    f"{describe_key(first, spec.replace_by)} was rejected ({first['bad']:,} bad "
                    f"{rows}), so the {int(first['before']):,} rows stored for it would stay as "
                    f"they were{more}",
                    hint="nothing was loaded; fix that month's bad rows (without "
                         f"{flag('--skip-bad-rows')} kpi lists them) and load the extract "
                         "again, or remove the month's rows from it to keep the stored month")


def _check_cut(project, spec: DatasetSpec, extract: Extract, before: pl.DataFrame) -> None:
    """Refuse a database query's load whose first (or last) month it holds only in part, the
    one rule of a result cut short, whatever the store holds: where the month is stored and
    shrinks, from the stored rows outside the result's stretch (`_cut_stored`); and where the
    table the load makes would hold it cut short by `store.cut_short`'s rule (its missing days
    would hold 10 rows or more at the rate of the months that run whole,
    `store.cut_by_load`), first load or not. Loaded into an empty store, a year and the first
    hour of the next month (a query to 00:00 UTC on 1 October, 01:00 UK time) was stored and
    only noted, where loaded over the stored month it was refused. `--allow-shrink` loads it,
    the month then held in part (no window counts it) until it is loaded whole."""
    from kpi import store

    if not any("query" in source for source in extract.sources):
        return
    if extract.covered is None or extract.starts is None or not extract.months:
        return
    if before.height:
        _cut_stored(project, spec, extract, before)
    edges = [extract.months[0], extract.months[-1]]
    cut = store.cut_by_load(project, spec, extract.data, edges)
    if not cut:
        return
    month, why = min(cut.items())
    files = ", ".join(dict.fromkeys(str(f) for f in extract.covered.filter(
        pl.col("month") == str(month))[FILE].to_list()))
    raise DataError(f"{files}: {why.rows()}, where the other months it would hold run from "
                    f"their first day to their last: {month} would be held only in part",
                    hint="a query's WHERE over a rolling window (day >= current_date - 365), "
                         "or to a time within a month, cuts its first or last month. Bound it "
                         "by whole UK months (day >= date_trunc('month', current_date) - "
                         f"interval '12 months'), or pass {flag('--allow-shrink')} to load it "
                         "held in part (no window counts it until it is loaded whole), or, "
                         f"where its records really {why.span()}, declare it whole_months = "
                         f'["{month}"] in the dataset\'s table of kpi.toml')


def _cut_stored(project, spec: DatasetSpec, extract: Extract, before: pl.DataFrame) -> None:
    """Refuse a database query's load whose rows start after the first (or end before the
    last) stored row of its first (or last) month, where that month shrinks: the stored rows
    outside the result's stretch would go with the month it replaces. Where a row falls is
    `store.edge_of`'s: the instant of a dataset dated by a datetime, else the day. A query's
    WHERE over a rolling window (`day >= current_date - 365`, the usual nightly query) holds
    its first month only from that day: the year ending September 2025 read 355 where the
    warehouse holds 365 rows, exit 0, and one day fewer every night until the month fell below
    half. Compared by days, a query cut within the first day (`created >= '2024-06-01
    00:00+00'`, 01:00 UK time) started on the same day as the stored month and replaced its
    360 rows with 359, exit 0. A month that grows, and a result of whole months, are not
    refused; `--allow-shrink` confirms the rows were removed. An extract file is not checked:
    a revised file whose month lost its first day's rows (a record deleted, or moved to
    another date) is as common as one cut short."""
    from kpi import store

    assert extract.covered is not None
    keys = ["month", *spec.replace_by]
    after = extract.covered.group_by(keys).agg(pl.col("rows").sum().alias("after"),
                                               pl.col(FILE).unique(maintain_order=True))
    shrunk = (after.join(before, on=keys, how="inner", nulls_equal=True)
              .filter(pl.col("after") < pl.col("before")))
    edges = [(extract.months[0], extract.starts, True),
             (extract.months[-1], extract.ends, False)]
    shrunk = shrunk.filter(pl.col("month").is_in([month for month, _, _ in edges]))
    if not shrunk.height:
        return
    stored = store.stored_rows(project, spec.id)
    schema = stored.collect_schema()
    at = store.edge_of(spec, schema)
    if at is None:
        return
    kind = schema[spec.date or ""]
    instants = isinstance(kind, pl.Datetime) and kind.time_zone is not None
    if isinstance(extract.starts, datetime) != instants:
        # One side by days (stored under another declaration, or an earlier kpi's wall-clock
        # time): both by UK days.
        at = store.day_of(spec, schema)
        edges = [(month, edge.astimezone(ZoneInfo(UK)).date() if isinstance(edge, datetime)
                  else edge, first) for month, edge, first in edges]
        if at is None:
            return
    stored = stored.join(shrunk.lazy().select(keys), on=keys, how="semi", nulls_equal=True)
    for month, edge, first in edges:
        outside = stored.filter((pl.col("month") == month) & (at < edge if first else at > edge))
        count, low, high = outside.select(pl.len(), at.min().alias("low"),
                                          at.max().alias("high")).collect().row(0)
        if not count:
            continue
        row = shrunk.filter(pl.col("month") == month).row(0, named=True)
        files = ", ".join(str(f) for f in row[FILE])
        key = describe_key(row, spec.replace_by)
        where = f"at {_when(edge)}" if isinstance(edge, datetime) else f"on {edge}"
        said = (f"its rows of {month} start {where}, and the {count:,} stored row(s) dated "
                f"before then (from {_when(low)}) would go" if first else
                f"its rows of {month} end {where}, and the {count:,} stored row(s) dated after "
                f"then (to {_when(high)}) would go")
        raise DataError(f"{files}: would replace {key} ({row['before']:,} rows stored) with "
                        f"{row['after']:,}: {said}",
                        hint="a load replaces each month it holds rows for with its rows of that "
                             "month: a query's WHERE over a rolling window (day >= current_date "
                             "- 365), or from a UTC time, cuts its first month. "
                             "Bound it by whole UK months (day >= date_trunc('month', "
                             "current_date) - interval '12 months'), or pass "
                             f"{flag('--allow-shrink')} if those rows were really removed")


def _check_apart(project, spec: DatasetSpec, extract: Extract, before: pl.DataFrame) -> None:
    """Refuse a load whose rows of a stored month (or month and replace_by values) lie wholly
    after (or before) every row stored for it: the load does not revise those rows, it holds
    another stretch of the month, and replacing the month would drop them. Monthly files
    written in UTC, loaded one a night as a command-and-control system exports them, each
    hold the first hour of the next UK month in summer (23:30 UTC on 31 August is 00:30 on 1
    September): August's file stored that hour as September's, and September's file then
    replaced the month, so every summer month lost its first hour for good (the year ending
    September 2025 read 8,777 where the files hold 8,760, exit 0). A month the load holds rows
    of within the stored stretch replaces it as ever (a revision, even one that dropped rows
    at either end); `--allow-shrink` says the rows outside were really removed. Only a dataset
    dated by a datetime is checked, where a month's edge moves with the zone a file is cut
    in: rows dated by a day alone are revised to other days often enough (a record's date
    corrected, a month's total dated by its first day and then its last) to read as a
    revision."""
    from kpi import store

    spans = extract.spans
    if spans is None or not spans.height or not before.height or not spec.date:
        return
    keys = ["month", *spec.replace_by]
    replaced = spans.join(before.select(keys), on=keys, how="semi", nulls_equal=True)
    if not replaced.height:
        return
    dated = pl.col(spec.date)
    stored = (store.stored_rows(project, spec.id)
              .join(replaced.lazy().select(keys), on=keys, how="semi", nulls_equal=True)
              .group_by(keys).agg(pl.len().alias("stored"), dated.min().alias("__from"),
                                  dated.max().alias("__to"))
              .collect())
    if stored["__to"].dtype != replaced[LOW].dtype:
        return  # stored by an earlier kpi as another kind of time: not compared
    joined = replaced.join(stored, on=keys, nulls_equal=True)
    apart = joined.filter((pl.col(LOW) > pl.col("__to")) | (pl.col(HIGH) < pl.col("__from")))
    # Rows either side of the stored stretch, none within it (a week before and a week after
    # a stored week, loaded together with --parts): asked of the load's own rows of the month.
    around = joined.filter((pl.col(LOW) < pl.col("__from")) & (pl.col(HIGH) > pl.col("__to")))
    if around.height:
        apart = pl.concat([apart, around.filter(pl.Series(
            [not _holds_within(extract, spec, around.slice(i, 1)) for i in range(around.height)],
            dtype=pl.Boolean))], how="vertical")
    apart = apart.sort(keys, nulls_last=True)
    if not apart.height:
        return
    row = apart.row(0, named=True)
    files = ", ".join(dict.fromkeys(
        str(f) for f in extract.covered.join(apart.head(1).select(keys), on=keys,
                                             nulls_equal=True)[FILE].to_list())) \
        if extract.covered is not None else ""
    more = f" (and {apart.height - 1} more month(s) likewise)" if apart.height > 1 else ""
    count = int(row["stored"])
    said = (f"{count:,} stored row{'s' if count != 1 else ''} dated {_when(row['__from'])}"
            + (f" to {_when(row['__to'])}" if row["__to"] != row["__from"] else ""))
    side = ("after" if row[LOW] > row["__to"] else "before" if row[HIGH] < row["__from"]
            else "either side of")
    raise DataError(f"{files}: would replace {describe_key(row, spec.replace_by)}, whose "
                    f"{said} would go: its rows of the month ({_when(row[LOW])} to "
                    f"{_when(row[HIGH])}) all lie {side} them, so it holds another stretch of "
                    f"the month, not a revision of them{more}",
                    hint="a load replaces each month it holds rows for: extracts cut on other "
                         "months than the UK's (a UTC month's last hour is the next UK "
                         "month's first in summer) or by week leave part of a month in the "
                         "load before. Export each month from 00:00 UK time, or pass "
                         f"{flag('--allow-shrink')} if those rows were really removed")


def _holds_within(extract: Extract, spec: DatasetSpec, key: pl.DataFrame) -> bool:
    """Whether the load holds a row of the month (and replace_by values) of `key` (one row)
    dated within the stored stretch of it (`__from` to `__to`), read from the data files it
    staged for the month (or the rows it holds, `read_extracts`)."""
    row = key.row(0, named=True)
    if extract.frame is not None:
        rows = extract.frame.lazy()
    else:
        files = [f.path for f in extract.data.get(row["month"], [])]
        if not files:
            return True  # nothing staged to read: taken as a revision, as before
        rows = pl.scan_parquet(files)
    if spec.replace_by:
        rows = rows.join(key.lazy().select(spec.replace_by), on=list(spec.replace_by),
                         how="semi", nulls_equal=True)
    dated, low, high = pl.col(spec.date), pl.lit(row["__from"]), pl.lit(row["__to"])
    if isinstance(row["__from"], datetime) and row["__from"].tzinfo is not None:
        # instants compared as instants, whatever zone each side is written in
        dated, low, high = (e.dt.convert_time_zone("UTC") for e in (dated, low, high))
    return bool(rows.filter(dated >= low, dated <= high).select(pl.len()).collect().item())


def _when(value: Any) -> str:
    """A stored time as UK time to the minute, or a day as it is."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(ZoneInfo(UK))
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


# Delta operations that rewrite files or the log without changing a row (`kpi vacuum`).
ROW_PRESERVING_OPERATIONS = frozenset({"OPTIMIZE", "VACUUM START", "VACUUM END"})


def _same_as_latest(project, dataset_id: str, provenance: dict[str, Any],
                    earlier: frozenset[str] = frozenset()) -> tuple[int, str | None] | None:
    """The latest version and the `unique` it was loaded under (None where none was
    recorded), when the table's current state was made by a load of exactly these extracts
    under this declaration (its fingerprint, or one of the `earlier` forms of it). Whatever
    commit made the current state counts: after a restore (`DeltaTable.restore`) or any other
    commit that is not a kpi load, the table no longer holds what the last load wrote, so the
    load goes ahead.

    `unique` is compared on its own. It only refuses rows: its blank ids are rejected rows,
    and a repeated id refuses the load. Added or removed, the rows it rejects are a superset
    or a subset of the others', so the same rows and rejected counts store the same rows;
    moved to another column, the same count may be other rows (one without a ref, then one
    without an LPA), so a move is the same load only where no row was rejected."""
    from kpi import store

    if not store.exists(project, dataset_id):
        return None
    # The compaction and vacuum commits of 'kpi vacuum' change no row: look past them only.
    made = [v for v in store.history(project, dataset_id)
            if v.operation not in ROW_PRESERVING_OPERATIONS]
    if not made or not made[-1].provenance:
        return None
    latest = made[-1]
    keys = ("months", "rows", "rejected", "skip_bad_rows")
    before = latest.provenance
    if any(before.get(key) != provenance.get(key) for key in keys):
        return None
    if before.get("spec") != provenance["spec"] and before.get("spec") not in earlier:
        return None
    was, now = before.get("unique"), provenance.get("unique")
    if (before.get("spec") == provenance["spec"] and was is not None and now is not None
            and was != now and provenance["rejected"]):
        return None
    # A source is what its rows are read from: the bytes, and of a workbook the sheet read
    # (`--sheet Revised` of the workbook loaded as `--sheet Original` read "Nothing changed",
    # and the other sheet's rows stayed, exit 0).
    if _read_from(before.get("sources", [])) != _read_from(provenance["sources"]):
        return None
    return latest.version, was


def _read_from(sources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """What a load's rows were read from, in an order of its own: each source's hash and the
    sheet of a workbook read ("" for any other source)."""
    return sorted((str(s.get("sha256")), str(s.get("sheet") or "")) for s in sources)


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
         allow_shrink: bool = False, sheet: str | None = None,
         from_source: bool = False, progress: Progress | None = None) -> LoadResult:
    """Read extracts and replace the months they cover in the dataset's table, atomically.

    With no patterns the dataset's configured `sources` are read; with `from_source`, the
    rows its database `source` query returns (kpi.ingest.sql_reader), checked and committed
    as a file's would be. Nothing is stored unless the
    whole load is good (or, with skip_bad_rows, unless at least one row is). Loading the very
    extracts the latest version loaded writes nothing, not even a new version. Files holding
    the same month are refused unless `parts`; a load leaving a stored month with fewer than
    half its rows is refused unless `allow_shrink`. The good rows are written as the table's data
    files into a temporary folder inside the data folder, moved into the table by the commit;
    the folder is removed however the load ends. `progress` is told the bytes and rows read of
    each file and the rows stored (kpi.progress)."""
    from kpi import store

    spec = store.dataset_spec(project, dataset_id)
    sources: list[Path | Query]
    if from_source:
        if patterns:
            raise UsageError(f"{option('--from-source')} reads the dataset's query: name no "
                             "files with it", hint=ingest_hint(dataset_id, "--from-source"))
        check_target(quarantine, "--quarantine", project)
        query = query_of(spec, project.root)
        if query.origin != "kpi.toml":
            _check_inside(project, dataset_id, [project.root / query.origin])
        sources, parts = [query], False
    else:
        configured = not patterns
        if configured:
            if not spec.sources:
                raise UsageError(f"no files given, and dataset '{dataset_id}' declares no "
                                 "sources", hint=ingest_hint(dataset_id))
            patterns = source_patterns(project, spec)
        assert patterns is not None
        paths = expand_sources(patterns)
        if configured:
            _check_inside(project, dataset_id, paths)
        check_target(quarantine, "--quarantine", project, paths)
        sources = list(paths)
    measured = columns_read_by_kpis(project, dataset_id)
    with store.staging_folder(project, dataset_id) as folder:
        try:
            extract = stage_extracts(spec, sources, folder, skip_bad_rows=skip_bad_rows,
                                     parts=parts, measured=measured, sheet=sheet,
                                     identity=identity_columns(project, spec),
                                     progress=progress)
        except _StagingRefused as exc:
            raise refusal(exc.error, store.table_path(project, dataset_id)) from None
        return _commit(project, spec, extract, skip_bad_rows=skip_bad_rows,
                       quarantine=quarantine, parts=parts, allow_shrink=allow_shrink,
                       progress=progress)


def _commit(project, spec: DatasetSpec, extract: Extract, *, skip_bad_rows: bool,
            quarantine: Path | None, parts: bool, allow_shrink: bool,
            progress: Progress | None = None) -> LoadResult:
    """Store what `stage_extracts` read: the checks against the stored table, under the load
    lock, then one Delta commit of the data files it wrote."""
    from kpi import store

    dataset_id = spec.id
    provenance = {"operation": "ingest", "dataset": dataset_id, "sources": extract.sources,
                  "rows": extract.rows, "rejected": extract.rejected.height,
                  "months": extract.months, "skip_bad_rows": skip_bad_rows,
                  "spec": _spec_fingerprint(spec), "unique": spec.unique_declared,
                  store.DEFINITION_KEY: store.definition(spec)}
    if parts:
        provenance["parts"] = True
    zones = {c.name: c.time_zone for c in spec.columns if c.type == ColumnType.DATETIME}
    if zones:  # the zone each column's times without an offset were read in (kpi history)
        provenance["time_zones"] = zones
    latest = _same_as_latest(project, dataset_id, provenance, _earlier_fingerprints(spec))
    if latest is not None:
        same, was = latest
        if spec.unique and was != spec.unique_declared:
            # Declared or moved since the rows were stored: the load's ids were checked
            # within it as they were read; check them against the stored rows it keeps.
            stored = store.stored_rows(project, dataset_id)
            check_unique_stored(spec, extract, _kept_rows(stored, spec, extract.keys))
        return LoadResult(dataset=dataset_id, version=same, rows=extract.rows,
                          rejected=extract.rejected.height, months=extract.months,
                          sources=extract.sources, warnings=extract.warnings, unchanged=True)
    outcome: dict[str, Any] = {"quarantine": None, "replaced": []}
    keys = extract.keys

    def guard(before: pl.DataFrame, version: int) -> dict[str, Any]:
        # Runs under the load lock: the counts are those the commit replaces, and the version
        # is the one it creates, so the quarantine file's name is unique to this load.
        assert extract.covered is not None, "a staged extract records the months it covers"
        replaced = replaced_months(spec, extract.covered, before)
        _check_left_stale(project, spec, extract)
        if not allow_shrink:
            _check_shrink(spec, replaced)
            _check_cut(project, spec, extract, before)
            if version > 0:
                _check_apart(project, spec, extract, before)
        kept = (_kept_rows(store.stored_rows(project, dataset_id), spec, keys)
                if version > 0 else None)
        check_identity(project, spec, extract, kept)
        if spec.unique and kept is not None:
            check_unique_stored(spec, extract, kept)
            # `unique` declared (or moved) since the kept rows were loaded: no load checked
            # them against each other, and the table this load makes holds them all
            if store.latest_unique_unchecked(project, spec, version - 1) and (
                    found := repeated_stored(spec, kept)):
                said, hint = found
                raise DataError(f"dataset '{dataset_id}': {said}", hint=hint)
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

    moved: Callable[[DataFile], None] | None = None
    if progress is not None:
        written = 0

        def count_rows(data: DataFile) -> None:
            nonlocal written
            written += data.rows
            progress(Step("store", "rows", written, extract.rows, written))

        moved = count_rows

    try:
        version = store.replace_months(project, dataset_id, extract.data, keys, provenance,
                                       guard, moved)
    except BaseException:
        if outcome["quarantine"] is not None:  # the load did not happen: neither did its rejects
            outcome["quarantine"].unlink(missing_ok=True)
        raise
    from kpi import store

    # Said by the load, not first by the summary that cannot count the month.
    cut = store.cut_short(project, dataset_id, None, set(store.unfinished(project, dataset_id)),
                          parts=False)
    loaded = set(extract.months)
    return LoadResult(dataset=dataset_id, version=version, rows=extract.rows,
                      rejected=extract.rejected.height, months=extract.months,
                      sources=extract.sources, warnings=extract.warnings,
                      quarantine=outcome["quarantine"], replaced=outcome["replaced"],
                      held_in_part={str(m): why for m, why in sorted(cut.items())
                                    if str(m) in loaded})


def _kept_rows(stored: pl.LazyFrame, spec: DatasetSpec, keys: pl.DataFrame) -> pl.LazyFrame:
    """The stored rows a load replacing `keys` (month, replace_by value...) keeps."""
    if not spec.replace_by:
        return stored.filter(~pl.col("month").is_in(keys["month"].unique().to_list()))
    return stored.join(keys.lazy(), on=["month", *spec.replace_by], how="anti",
                       nulls_equal=True)


def columns_read_by_kpis(project, dataset_id: str) -> frozenset[str]:
    """The dataset's stored columns that some KPI's filter, value, numerator, denominator or
    weight key reads, a derived column by the stored columns it is derived from (as every
    data-quality judgement reads them, `engine.expression_columns`): a count summed through
    `COALESCE(n, 0)` of a derived column is a count of `n`, whose file blank throughout is
    refused whichever way the KPI is written."""
    def roots(text: str) -> list[str]:
        try:
            return pl.sql_expr(text).meta.root_names()
        except Exception:  # noqa: BLE001 - the catalogue reports a bad expression
            return []

    names: list[str] = []
    for kpi in project.kpis:
        if kpi.dataset != dataset_id:
            continue
        for text in (kpi.filter, kpi.value, kpi.numerator, kpi.denominator):
            if text:
                names += roots(text)
        if kpi.weight_key:
            names.append(kpi.weight_key)
    return frozenset(through_derived(project.datasets[dataset_id], names, roots)[0])


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
                              hint="copy the file into the project folder, or name it "
                                   + spelled("on the command line: kpi ingest DATASET FILE",
                                             "in files: project.ingest(DATASET, [FILE])"))


def ensure_bundled_store(project, notify=None) -> None:
    """Build the bundled sample's store from its extracts, once, into the user cache.

    Built in a temporary folder and renamed into place, so a build that is interrupted or
    runs twice at once never leaves a half-built store behind."""
    import os
    import shutil
    import tempfile

    from kpi import store
    from kpi.locks import locked

    if not project.bundled or all(store.exists(project, d) for d in project.datasets):
        return
    from kpi.catalogue import make_cache_dir

    target = project.data_dir
    # The store goes in kpi's cache folder (catalogue.bundled_store_dir), which may be
    # impossible to make (no home folder): refused there with the way out.
    make_cache_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    with locked(target.parent / f".{target.name}.lock", "sample store lock"):
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
