"""kpi ingest and kpi datasets: loading extracts and seeing what is stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from kpi import __version__
from kpi.cli import (
    FormatOpt,
    OutputOpt,
    _emit,
    _project,
    app,
    check_format_output,
    check_output_file,
    complete_datasets,
    emit_workbook,
    examples,
    handled,
    note,
    open_project,
    progress_bars,
    stdout_console,
    working,
)
from kpi.render import Format
from kpi.rounding import fixed


@app.command()
@examples(
    "kpi ingest crimes extracts/crimes-2025-10.csv",
    'kpi ingest crimes "extracts/crimes-*.csv"',
    "kpi ingest crimes north.csv south.csv --parts",
    "kpi ingest crimes october.xlsx --sheet Data --skip-bad-rows",
)
@handled
def ingest(
    dataset: Annotated[str, typer.Argument(help="Dataset id, as declared in kpi.toml.",
                                           autocompletion=complete_datasets)],
    files: Annotated[list[str] | None, typer.Argument(
        help="CSV, Parquet or Excel (.xlsx, .xlsm, .xls) extracts (globs allowed). Default: "
             "the dataset's sources.")] = None,
    skip_bad_rows: Annotated[bool, typer.Option(
        "--skip-bad-rows", help="Load the good rows and write the bad ones to a quarantine "
                                "file, instead of rejecting the file.")] = False,
    quarantine: Annotated[Path | None, typer.Option(
        "--quarantine", help="Where --skip-bad-rows writes rejected rows (default: a new file "
                             "in data/quarantine named after the dataset and version).")] = None,
    parts: Annotated[bool, typer.Option(
        "--parts", help="The files are parts of one extract: combine them even where they "
                        "hold the same month. Without it, two files holding one month are "
                        "refused, so an original and its revision are never added "
                        "together.")] = False,
    allow_shrink: Annotated[bool, typer.Option(
        "--allow-shrink", help="Replace a stored month even with fewer than half the rows it "
                               "holds (refused otherwise: one stray row dated in a month "
                               "would replace all of it).")] = False,
    sheet: Annotated[str | None, typer.Option(
        "--sheet", help="The sheet of an Excel workbook to read (default: the dataset's "
                        "`sheet`, or the only sheet).")] = None,
    from_source: Annotated[bool, typer.Option(
        "--from-source", help="Read the rows from the dataset's database `source` query "
                              "(the connection URI from the environment variable it names) "
                              "instead of files.")] = False,
) -> None:
    """Load extracts into a dataset, replacing the months they cover (atomic, versioned).

    The same file named twice is read once. Each replaced month is reported with its rows
    before and after."""
    check_output_file(quarantine, "--quarantine")
    project = open_project(writes="ingest")
    with progress_bars() as progress:
        result = project.ingest(dataset, files, skip_bad_rows=skip_bad_rows,
                                quarantine=quarantine, parts=parts, allow_shrink=allow_shrink,
                                sheet=sheet, from_source=from_source, progress=progress)
    for warning in result.warnings:
        note(f"Warning: {warning}")
    span = _loaded_span(result.months, project.definition.datasets[dataset].months_per_row)
    if result.unchanged:
        note(f"Nothing changed: version {result.version} of '{dataset}' already holds these "
             f"extracts ({_rows(result.rows)}, {span})")
        return
    note(f"Loaded {_rows(result.rows)} into '{dataset}' ({span}); version {result.version}")
    for replaced in result.replaced:
        note(f"  replaced {replaced['key']}: {replaced['before']:,} -> {replaced['after']:,} "
             "rows")
    if result.rejected:
        note(f"Rejected {result.rejected:,} bad {'row' if result.rejected == 1 else 'rows'}; "
             f"written to {result.quarantine}")
    # A month the load left held from a day within it, or to one (an export of the last 365
    # days): said by the load, not first by the summary that cannot count it (a part's rows
    # cut short beside others' whole, which only a scan of every month tells, is said by
    # `kpi datasets` and where a window needs the month; so is a month loaded before it
    # ended, every nightly load's).
    from kpi.periods import Month

    for month, why in result.held_in_part.items():
        note(f"Note: '{dataset}' holds {month} only in part ({why.reason()}): no window "
             f"counts it. To count it, {why.remedy(Month.parse(month))}")


@app.command()
@examples(
    "kpi datasets",
    "kpi datasets --format json",
)
@handled
def datasets(format: FormatOpt = Format.TABLE, output: OutputOpt = None) -> None:
    """The project's datasets: rows, first and last month, missing months, and months held in
    part.

    A month loaded before it ended is held in part: listed, with when it was loaded, as no
    window counts it until it is loaded again after it ends. So is a month whose rows start
    after its first day or end before its last where the dataset's other months run whole
    (the first month of an export of the last 365 days): listed with the day its rows start
    or end, as no window counts it until it is loaded whole (or declared whole as stored,
    `whole_months` in kpi.toml). A month so declared is listed apart (Declared whole), with
    the days its rows run: counted as they hold it, on kpi.toml's word.

    A month holding rolls taken at several dates is listed with how the dataset's `as_at`
    reads it: its last date's rows (each part's), refused where that date lists under half
    the rows of an earlier one or where a part missing from a later roll it shares is not
    proven gone from it, or, with no `as_at`, refused by every snapshot figure reading it (a
    refusal said on stderr too, with what to write).

    A dataset not loaded yet is listed with 0 rows and exit 0, as in a new project: the
    listing is the answer, and 'kpi ingest DATASET FILE' loads one. A dataset stored under
    another declaration than kpi.toml's is listed with its rows, version and what changed,
    and a warning on stderr, exit 0 (every figure of it is refused until it is loaded again)."""
    import json

    check_format_output(format, output)
    project = open_project(output)
    rows = project.stored()
    # A table stored under another declaration is listed, marked, with every other: the
    # listing is how its user learns what to load again (exit 0, as the listing answers).
    for r in rows:
        if r["declaration_changed"] is not None:
            from kpi import store

            try:
                store.months(project._catalogue(), r["dataset"])
            except store.DeclarationChanged as exc:
                note(f"Warning: {exc.message}: every figure of it is refused\nHint: {exc.hint}")
    # Months holding rolls at several dates that a snapshot would refuse: said before it does.
    for r in rows:
        refused = [h["month"] for h in r["rolls"] if h["read"] == "refused"]
        if refused:
            from kpi.catalogue import AS_AT_HINT

            hint = AS_AT_HINT.replace("the dataset's table", f"[datasets.{r['dataset']}]")
            note(f"Note: dataset '{r['dataset']}' holds rolls taken at several dates in "
                 f"{_listed(refused, 6)}: a snapshot's figure reading such a month is refused"
                 f"\nHint: {hint}")
        thin = [h["month"] for h in r["rolls"] if h["read"] == "thin"]
        if thin:
            from kpi.engine import THIN_HINT

            hint = THIN_HINT.replace("the dataset's table", f"[datasets.{r['dataset']}]")
            note(f"Note: dataset '{r['dataset']}' holds in {_listed(thin, 6)} a last date "
                 "listing under half the rows of an earlier one, as two rolls of other people "
                 "do: every figure reading such a month is refused\nHint: " + hint)
        untold = [h["month"] for h in r["rolls"] if h["read"] == "untold"]
        if untold:
            from kpi.engine import untold_hint

            hint = untold_hint(project._catalogue().datasets[r["dataset"]])
            note(f"Note: dataset '{r['dataset']}' holds in {_listed(untold, 6)} a part missing "
                 "from a later roll it shares whose rows cannot tell its people gone from it: "
                 "every figure reading such a month is refused (the refusal names the part)"
                 "\nHint: " + hint)
    if format == Format.JSON:
        from kpi.render import versioned

        _emit(json.dumps(versioned(rows), indent=2) + "\n", output)
        return
    if format == Format.XLSX:
        import polars as pl

        from kpi.writers.xlsx import Sheet

        frame = project.datasets().with_columns(
            pl.col("missing").list.join(" "),
            pl.Series("parts_missing", ["; ".join(_part_missing(r, 10**6)) for r in rows]),
            pl.Series("held_in_part", [_in_part(r) for r in rows]),
            pl.Series("declared_whole", [_in_part(r, "declared_whole") for r in rows]),
            pl.Series("rolls", [_rolls(r, 10**6) for r in rows]))
        emit_workbook([("Project", project.name), ("Made by", f"kpi {__version__}")],
                      [Sheet("Datasets", frame, "datasets")], output)
        return
    if format in (Format.CSV, Format.CSV_EXCEL, Format.MARKDOWN):
        from kpi.render import escape_markdown, render_csv

        head = ("dataset", "rows", "first", "last", "missing", "version",
                "declaration_changed", "held_in_part", "declared_whole", "rolls")
        cells = [(r["dataset"], r["rows"], r["first"] or "", r["last"] or "",
                  " ".join([*r["missing"], *_part_missing(r, 10**6)]),
                  "" if r["version"] is None else r["version"],
                  r["declaration_changed"] or "", _in_part(r), _in_part(r, "declared_whole"),
                  _rolls(r, 10**6)) for r in rows]
        if format == Format.MARKDOWN:
            lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            lines += ["| " + " | ".join(escape_markdown(str(c), cell=True) for c in row) + " |"
                      for row in cells]
            _emit("\n".join(lines) + "\n", output)
            return
        # As every CSV kpi writes (render_csv): fields quoted where they hold a comma (a part
        # missing two months, "2025-06, 2025-07", or a name with one), text that a
        # spreadsheet would run as a formula neutralised.
        from kpi.render import Document, Section

        _emit(render_csv(Document("Datasets", (Section("Datasets", head, cells),)),
                         excel=format == Format.CSV_EXCEL), output)
        return
    from rich.table import Table
    from rich.text import Text

    with stdout_console(output) as (console, plain):
        table = Table(box=None if plain else __import__("rich.box").box.SIMPLE_HEAD)
        # A month held in part is listed as held (First, Last) yet counted by no window.
        partly = any(r["held_in_part"] for r in rows)
        # Months counted on kpi.toml's word though their rows start late or end early.
        declared = any(r["declared_whole"] for r in rows)
        # Months holding rolls taken at several dates, and how `as_at` reads them.
        rolled = any(r["rolls"] for r in rows)
        for name in ("Dataset", "Rows", "First", "Last", "Missing months", "Version",
                     *(["Held in part"] if partly else []),
                     *(["Declared whole"] if declared else []),
                     *(["Rolls at several dates"] if rolled else [])):
            table.add_column(name, justify="right" if name in ("Rows", "Version") else "left")
        for r in rows:
            missing = ", ".join(r["missing"][:6]) + (" ..." if len(r["missing"]) > 6 else "")
            missing = "; ".join([*([missing] if missing else []), *_part_missing(r, 6)])
            if r["declaration_changed"] is not None:
                missing = "stored under another declaration (see the warning)"
            # Text, not markup: a part's name from the data may hold '[...]'.
            table.add_row(*(Text(cell) for cell in (
                r["dataset"], f"{r['rows']:,}", r["first"] or "—", r["last"] or "—",
                # Nothing is missing from a dataset that holds nothing: "—", not "none".
                missing or ("none" if r["rows"] else "—"),
                "—" if r["version"] is None else str(r["version"]),
                *([_in_part(r) or "—"] if partly else []),
                *([_in_part(r, "declared_whole") or "—"] if declared else []),
                *([_rolls(r, 3) or "—"] if rolled else []))))
        from kpi.render import print_whole

        print_whole(console, table)




def _in_part(row: dict[str, Any], key: str = "held_in_part") -> str:
    """The months held in part, as "2026-12 (loaded 6 December 2026, before it ended)",
    "2024-10 (rows from 11 October 2024)" or "2024-10 (force 'C': rows from 11 October
    2024)"; or, `key` "declared_whole", those declared whole though so cut."""
    from datetime import date, datetime

    from kpi.periods import day_words
    from kpi.store import loaded_day

    def said(held: dict[str, Any]) -> str:
        if held.get("loaded"):
            return f"loaded {loaded_day(datetime.fromisoformat(held['loaded']))}, before it ended"
        said = " and ".join(f"rows {word} {day_words(date.fromisoformat(held[key]))}"
                            for word, key in (("from", "starts"), ("to", "ends")) if held[key])
        return f"{held['part']}: {said}" if held["part"] else said

    return "; ".join(f"{h['month']} ({said(h)})" for h in row[key])


def _rolls(row: dict[str, Any], most: int) -> str:
    """The months holding rolls at several dates and how each is read, as "2025-09: 4
    dates, the last read (2025-09-26)" or, where its parts end on other days, "2025-09: 8
    dates, each part's last read (2025-09-25, 2025-09-26)" (`as_at = "last"`); "2024-04:
    rolls at 5 dates, refused (its last date holds under half the rows of an earlier one)";
    "2025-09: rolls at 4 dates, refused (a part missing from a later roll it shares)"; or
    "2025-09: rolls at 4 dates, refused (no as_at)"."""
    def said(h: dict[str, Any]) -> str:
        if h["read"] == "last" and len(h["read_days"]) > 1:
            return (f"{h['month']}: {h['dates']} dates, each part's last read "
                    f"({', '.join(h['read_days'])})")
        if h["read"] == "last":
            return f"{h['month']}: {h['dates']} dates, the last read ({h['last']})"
        if h["read"] == "thin":
            return (f"{h['month']}: rolls at {h['dates']} dates, refused (its last date holds "
                    "under half the rows of an earlier one)")
        if h["read"] == "untold":
            return (f"{h['month']}: rolls at {h['dates']} dates, refused (a part missing from "
                    "a later roll it shares)")
        return f"{h['month']}: rolls at {h['dates']} dates, refused (no as_at)"

    listed = [said(h) for h in row["rolls"]]
    return "; ".join(listed[:most]) + ("; ..." if len(listed) > most else "")


def _listed(months: list[str], most: int) -> str:
    return ", ".join(months[:most]) + (" ..." if len(months) > most else "")


def _part_missing(row: dict[str, Any], most: int) -> list[str]:
    """Each part's missing months, as "force 'Kent': 2025-06"."""
    return [f"{p['part']}: {', '.join(p['missing'][:most])}"
            f"{' ...' if len(p['missing']) > most else ''}" for p in row["parts_missing"] or []]


@app.command()
@examples(
    "kpi history crimes",
    "kpi history crimes --format json --output crimes-history.json",
)
@handled
def history(
    dataset: Annotated[str, typer.Argument(help="Dataset id, as declared in kpi.toml.",
                                           autocompletion=complete_datasets)],
    format: FormatOpt = Format.TABLE,
    output: OutputOpt = None,
) -> None:
    """Every stored version of a dataset: when, what, rows, months and source files (sha256).

    Any version can be read back with --as-of VERSION (or a date) on summary, show and export."""
    from kpi.api import history_json
    from kpi.cli import emit_document
    from kpi.render import Document, Section

    project = _project(output)
    data = history_json(project, dataset)
    per_row = project.datasets[dataset].months_per_row
    if format == Format.JSON:
        document = Document(heading=f"History of '{dataset}'", sections=(), data=data)
    elif format == Format.TABLE:
        _emit(_history_text(dataset, data, per_row), output)
        return
    else:
        # One row per version; a load of several files lists them, and their hashes, joined.
        # Every machine face holds each hash and replaced month in full (an auditor checks a
        # file's sha256 from the workbook); only Markdown, read as text, shortens them. Names
        # are joined by " | ": a name may hold spaces or "; ", and no Windows name holds "|"
        # (the JSON lists each name apart, whatever it holds).
        full = format != Format.MARKDOWN
        joint = " | "
        rows = [(d["version"], d["time"], d["operation"], d["rows"],
                 _span(d["months"], per_row),
                 joint.join(s["file"] for s in d["sources"]),
                 joint.join(s["sha256"] if full else s["sha256"][:12] for s in d["sources"]),
                 _replaced(d["replaced"], full), d["rejected"] or 0, d["quarantine"] or "")
                for d in data]
        count = f"{len(rows)} version{'s' if len(rows) != 1 else ''}"
        document = Document(heading=f"History of '{dataset}' ({count})",
                            sections=(Section(title="Versions", columns=(
                                "version", "time", "operation", "rows", "months", "sources",
                                "sha256", "replaced", "rejected", "quarantine"), rows=rows,
                                shown={"version": str}),))
    emit_document(document, format, output)


@app.command()
@examples(
    "kpi vacuum --dry-run",
    "kpi vacuum crimes --keep-days 90",
)
@handled
def vacuum(
    datasets: Annotated[list[str] | None, typer.Argument(
        autocompletion=complete_datasets,
        help="Dataset ids (default: every dataset with data).")] = None,
    keep_days: Annotated[float, typer.Option(
        # At most 100 years, as long as the tables keep their log (inf was a traceback).
        "--keep-days", min=0, max=36_500,
        help="Keep every version of the last N days readable (0 to 36,500), rounded up to "
             "whole hours (0.02 keeps 1 hour).")] = 30.0,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Count the files that would be deleted; change nothing.")] = False,
) -> None:
    """Compact small files, checkpoint the log and delete data files no kept version needs.

    Kept readable: the latest version, every version of the last --keep-days days, and every
    version a paper written by 'kpi export markdown' was computed from, so its --as-of still
    reproduces it. Every version stays listed in 'kpi history'."""
    from kpi import maintenance

    project = _project(writes="vacuum")
    for dataset_id in _with_data(project, datasets, "vacuum"):
        with working(f"Vacuuming '{dataset_id}'..."):
            got = maintenance.vacuum(project, dataset_id, keep_days=keep_days, dry_run=dry_run)
        pins = (f"; kept for papers: version {', '.join(map(str, got.pinned))}"
                if got.pinned else "")
        if dry_run:
            note(f"{dataset_id}: would delete {got.removed:,} of {got.files_before:,} data "
                 f"files{pins}")
        else:
            note(f"{dataset_id}: {got.files_before:,} files, {_mib(got.bytes_before)} -> "
                 f"{got.files_after:,} files, {_mib(got.bytes_after)}; deleted {got.removed:,}; "
                 f"version {got.version_after}{pins}")


def _with_data(project, datasets: list[str] | None, verb: str) -> Iterator[str]:
    """The datasets named (each checked to be one), or every dataset with data, that hold data;
    a dataset named without data, or a project with none, is said rather than passed over."""
    from kpi import store

    ids = datasets or sorted(d for d in project.datasets if store.exists(project, d))
    if not ids:  # a new project: nothing to do, said rather than silent
        note(f"Nothing to {verb}: no dataset holds data yet")
    for dataset_id in ids:
        store.dataset_spec(project, dataset_id)
        if not store.exists(project, dataset_id):
            note(f"{dataset_id}: no data yet")
            continue
        yield dataset_id


@app.command()
@examples(
    "kpi upgrade",
    "kpi upgrade incidents",
)
@handled
def upgrade(
    datasets: Annotated[list[str] | None, typer.Argument(
        autocompletion=complete_datasets,
        help="Dataset ids (default: every dataset with data).")] = None,
) -> None:
    """Store the times of a table an earlier kpi wrote as wall-clock times as instants.

    Each stored time is read in its column's declared time_zone (kpi.toml; the UK's by
    default), the zone the extracts wrote it in, and every month is rewritten, a month at a
    time, in one new version: atomic (stopped part-way, nothing changes), with kpi history and
    --as-of keeping the earlier versions. A row moves to the UK month of its instant where the
    zone puts it in another (23:30 UTC on 30 June is in July). Each row keeps when it was
    loaded, so a month loaded before it ended is still held in part. A stored time that zone's
    clocks show twice or never names two instants or none: that dataset is refused, naming the
    first such row and counting them, and nothing is written to it (exit 3); load those months
    again from extracts with offsets, or declare the zone the source used. Each dataset is its
    own commit, in turn; a table that already stores instants is left alone, with a note."""
    from kpi import store

    project = _project(writes="upgrade")
    for dataset_id in _with_data(project, datasets, "upgrade"):
        with working(f"Upgrading '{dataset_id}'..."):
            got = store.upgrade(project, dataset_id)
        if got.version is None:
            note(f"{dataset_id}: already stores instants; nothing to do")
            continue
        read = "; ".join(f"{name} as {zone} time" for name, zone in got.zones)
        months = got.months
        span = f"{months[0]}..{months[-1]}" if len(months) > 1 else months[0] if months else ""
        note(f"{dataset_id}: {got.rows:,} rows ({len(months)} month(s), {span}) stored as "
             f"instants, read {read}; version {got.version}")


def _loaded_span(months: list[str], months_per_row: int) -> str:
    """The months a load holds, as its message says them: "3 month(s), 2025-07..2025-09", or
    for rows of a quarter each (stored in the quarter's first month) "7 quarter(s),
    2016-04..2017-12", to the last quarter's end ("7 month(s), 2016-04..2017-10" counted
    quarters as months and stopped two months short)."""
    from kpi.periods import Month

    if not months:
        return "0 month(s)"
    last = str(Month.parse(months[-1]) + (months_per_row - 1))
    unit = "quarter(s)" if months_per_row == 3 else "month(s)"
    span = f"{months[0]}..{last}" if last != months[0] else months[0]
    return f"{len(months)} {unit}, {span}"


def _history_text(dataset: str, data: list[dict[str, Any]], months_per_row: int = 1) -> str:
    """The table format of `kpi history`: a block per version, its first line what the load
    was and the next its files and what it replaced, wrapped to the terminal (100 columns when
    piped), so that neither a narrow terminal splits a number nor a pipe gets endless lines."""
    import os
    import shutil
    import sys
    import textwrap

    from kpi.catalogue import UK
    from kpi.errors import visible
    from kpi.periods import whole_number

    columns = os.environ.get("COLUMNS", "")
    width = (shutil.get_terminal_size().columns if sys.stdout.isatty()
             else whole_number(columns) or 100)
    width = max(width, 40)
    count = f"{len(data)} version{'s' if len(data) != 1 else ''}"
    lines = [f"History of '{dataset}' ({count})"]
    nbsp = "\u00a0"
    for d in data:
        # To the millisecond in UTC, as --as-of reads it: given back, the time shown reads this
        # version (cut to the minute, it read the version before).
        when = d["time"].removesuffix("+00:00") + "Z"
        # A no-break space holds "1,024 rows" and "version 3" together when the line wraps.
        # A commit that is not a load (a vacuum, a restore) has no rows to count.
        rows = f"{d['rows']:,}{nbsp}rows  " if d["rows"] is not None else ""
        head = (f"version{nbsp}{d['version']}  {when.replace(' ', nbsp)}  {d['operation']}  "
                f"{rows}{_span(d['months'], months_per_row)}").rstrip()
        lines += ["", *(line.replace(nbsp, " ") for line in textwrap.wrap(
            head, width, subsequent_indent="  ", break_long_words=False,
            break_on_hyphens=False))]
        parts = [f"{s['file']} (sha256 {s['sha256'][:12]})" for s in d["sources"]]
        if d["replaced"]:
            parts.append(f"replaced {_replaced(d['replaced'], False)}")
        zones = d.get("time_zones") or {}
        if d["operation"] == "upgrade" or any(zone != UK for zone in zones.values()):
            # The zone times without an offset were read in, where it is not the default.
            read: dict[str, list[str]] = {}
            for name, zone in zones.items():
                read.setdefault(zone, []).append(name)
            what = ("stored wall-clock times" if d["operation"] == "upgrade"
                    else "times without an offset")
            parts.append(f"{what} read in " + "; ".join(
                f"{zone} ({', '.join(names)})" for zone, names in read.items()))
        if d["rejected"]:
            parts.append(f"rejected {d['rejected']:,} rows"
                         + (f" into {d['quarantine']}" if d["quarantine"] else ""))
        for part in parts:
            lines += textwrap.wrap(part, width, initial_indent="  ", subsequent_indent="    ",
                                   break_long_words=False, break_on_hyphens=False)
    # A file name is data: its control characters are shown, never sent to the terminal.
    return "\n".join(visible(line) for line in lines) + "\n"


def _mib(size: int) -> str:
    return f"{fixed(size / 2**20, 1, grouping=True)} MiB"


def _replaced(replaced: list[dict[str, Any]], full: bool) -> str:
    """Rows before -> after of each month a load replaced: '2025-09 20->18 2025-10 25->27'
    (on a terminal, the first three and a count of the rest)."""
    shown = replaced if full else replaced[:3]
    text = " ".join(f"{r['key']} {r['before']}->{r['after']}" for r in shown)
    return text + (f" (+{len(replaced) - 3} more)" if len(shown) < len(replaced) else "")


def _span(months: list[str], months_per_row: int = 1) -> str:
    """'2025-01..2025-03' for a run of months; the months themselves when there are gaps.
    Rows of a quarter each, stored in the quarter's first month, are said as the months their
    quarters cover, a run of quarters to the last one's end: '2022-01..2025-06' where the
    stored months '2022-01 2022-04 ... 2025-04' read as fourteen single months, and
    '2025-04..2025-06' for one quarter, not '2025-04' (`_loaded_span`, the load's message)."""
    if months_per_row > 1 and months:
        from kpi.periods import Month

        runs: list[list[Month]] = []
        for month in map(Month.parse, months):
            if runs and month == runs[-1][1] + months_per_row:
                runs[-1][1] = month
            else:
                runs.append([month, month])
        return " ".join(f"{first}..{last + (months_per_row - 1)}" for first, last in runs)
    if len(months) <= 2:
        return " ".join(months)
    first, last = months[0], months[-1]
    years = int(last[:4]) - int(first[:4])
    if years * 12 + int(last[5:]) - int(first[5:]) + 1 == len(months):
        return f"{first}..{last}"
    return " ".join(months)


def _rows(n: int) -> str:
    """"1 row", "58 rows", "1,200 rows"."""
    return f"{n:,} {'row' if n == 1 else 'rows'}"
