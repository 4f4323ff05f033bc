"""kpi summary."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kpi.cli import (
    AsOfOpt,
    FormatOpt,
    OutputOpt,
    PeriodOpt,
    VsOpt,
    _emit,
    app,
    check_format_output,
    complete_priorities,
    emit_workbook,
    examples,
    handled,
    note,
    open_project,
    stdout_console,
)
from kpi.periods import Comparison
from kpi.render import Format


class FailOn(StrEnum):
    """Statuses a scheduled job can fail on (exit 1). `deteriorating` is a significant
    deterioration, as the board paper counts one (`kpi.paper.shown_status`); a deterioration
    that is not significant, or that no test applies to, is noise to the paper and fails only
    `any_deterioration`."""

    DETERIORATING = "deteriorating"
    ANY_DETERIORATION = "any_deterioration"
    IMPROVING = "improving"
    STABLE = "stable"
    CHANGED = "changed"
    NO_DATA = "no_data"
    STALE = "stale"


@app.command()
@examples(
    "kpi summary --period 2025-09",
    "kpi summary --period 2025-09 --vs yoy --priority violence",
    "kpi summary --period 2025-09 --format json --output summary.json",
    "kpi summary --period 2025-09 --fail-on deteriorating",
)
@handled
def summary(
    period: PeriodOpt,
    vs: VsOpt = Comparison.BASELINE,
    priority: Annotated[str | None, typer.Option(
        "--priority", help="Only this plan priority (its id).",
        autocompletion=complete_priorities)] = None,
    format: FormatOpt = Format.TABLE,
    output: OutputOpt = None,
    as_of: AsOfOpt = None,
    fail_on: Annotated[list[FailOn] | None, typer.Option(
        "--fail-on", case_sensitive=False,
        help="Exit 1 when any KPI has this status (repeatable), after printing the results. "
             "deteriorating: a statistically significant deterioration, as the board paper "
             "counts one; any_deterioration: any change the wrong way, significant or not.")
    ] = None,
) -> None:
    """Every KPI for a period against its comparison, grouped by plan priority."""
    from kpi import render
    from kpi.periods import Month
    from kpi.store import AsOf

    # Parsed before the project is opened, so a mistyped option fails before any work.
    month, cutoff = Month.typed(period), AsOf.parse(as_of) if as_of else None
    check_format_output(format, output)
    summary = open_project(output).report(month, vs, priority=priority, as_of=cutoff)
    report, priorities, judged = summary.report, summary.priorities, summary.verdicts
    if format == Format.JSON:
        _emit(render.report_json(report, summary.project, summary.titles, judged), output)
    elif format in (Format.CSV, Format.CSV_EXCEL):
        _emit(render.report_csv(report, summary.titles, judged,
                                excel=format == Format.CSV_EXCEL), output)
    elif format == Format.XLSX:
        import polars as pl

        from kpi.writers.xlsx import Sheet, kpi_places

        places = kpi_places(r.kpi for r in report.results)
        # A cell holds text: the data-quality notes joined, as the CSV joins them, and what
        # each figure adds together as the CSV writes it (the frame's rows are the results').
        frame = summary.frame().with_columns(
            pl.col("quality").list.join("; "),
            pl.Series("covers", [render.covers_cell(r) for r in report.results],
                      dtype=pl.String))
        # Each KPI's change to the places stored on it, those its status is judged at
        # (engine.Change.places), as the text prints it: the frame's rows are the results'.
        changes = [r.change.places if r.change else None for r in report.results]
        emit_workbook(summary.about(as_of),
                      [Sheet("Summary", frame, "summary", places=places,
                             row_column_places={"change_absolute": changes,
                                                "change_points": changes})], output)
    elif format == Format.MARKDOWN:
        _emit(render.report_markdown_table(report, priorities, judged), output)
    else:
        _print_tables(report, priorities, summary.project, output, judged)
    failing = [(r, why) for r in report.results
               if (why := _failed(r, judged.get(r.kpi.id), set(fail_on or ()))) is not None]
    if failing:
        names = ", ".join(r.kpi.id for r, _ in failing[:5]) + (" ..." if len(failing) > 5
                                                                 else "")
        note(f"{len(failing)} KPI(s) with status {'/'.join(sorted({w for _, w in failing}))}: "
             f"{names}")
        raise typer.Exit(code=1)


def _failed(result, verdict, fail_on: set[FailOn]) -> str | None:
    """What of `fail_on` a KPI fails, as the failing line names it: `deteriorating` only for
    a deterioration the paper calls one (significant), 'deteriorating (not significant)' or
    'deteriorating (not tested)' for `any_deterioration` alone; None when it fails none."""
    from kpi.engine import Outcome

    if not fail_on:  # nothing to fail: the paper's rules are not imported for it
        return None
    if result.status != Outcome.DETERIORATING:
        return result.status if result.status in fail_on else None
    from kpi.paper import shown_status

    significant = shown_status(result, verdict) == Outcome.DETERIORATING
    if significant and fail_on & {FailOn.DETERIORATING, FailOn.ANY_DETERIORATION}:
        return "deteriorating"
    if not significant and FailOn.ANY_DETERIORATION in fail_on:
        tested = verdict is not None and verdict.significance is not None \
            and verdict.significance.significant is not None
        return f"deteriorating ({'not significant' if tested else 'not tested'})"
    return None


# Printed under the terminal tables, so the short verdict words need no manual.
LEGEND = ("Sig.: is the change bigger than chance would often make it (5% level; - not "
          "tested). Variation: the process chart's latest month (common cause, or a special "
          "cause of improvement, concern or unusual). Targets: met or not now, and whether the "
          "process will consistently pass or fail, or hit and miss. docs/statistics.md "
          "explains them.")


def _print_tables(report, priorities, name: str, output: Path | None, verdicts) -> None:
    with stdout_console(output) as (console, plain):
        _print_to(console, plain, report, priorities, name, verdicts)


def _print_to(console, plain: bool, report, priorities, name: str, verdicts) -> None:
    import textwrap

    from kpi import render

    vs = report.comparison.value
    console.print(f"{name}: period {report.period} against {vs}", markup=False)
    for table, notes in render.report_tables(report, priorities, box=not plain,
                                             verdicts=verdicts, width=console.width):
        console.print()
        render.print_whole(console, table)
        for said in notes:
            # no word broken, at a hyphen ('third-party') or for its length
            console.print(textwrap.fill(said, max(console.width, 40), subsequent_indent="  ",
                                        break_on_hyphens=False, break_long_words=False),
                          markup=False)
    # What the figures add together, where a figure adds several forces (or other parts the
    # data is loaded or compared by): a total of three forces never reads as one force's.
    for line in render.covers_lines(report.results):
        console.print()
        console.print(textwrap.fill(line, max(console.width, 40)), markup=False)
    console.print()
    console.print(LEGEND, markup=False)
    for status, heading in (("no_data", "No data:"), ("stale", "Stale:")):
        missing = [r for r in report.results if r.status == status and r.note]
        if not missing:
            continue
        console.print()
        console.print(heading, markup=False)
        for r in missing:
            # Wrapped here, with a hanging indent, so a long reason stays readable at 80.
            console.print(textwrap.fill(f"{r.kpi.title}: {r.note}", max(console.width, 40),
                                        initial_indent="  ", subsequent_indent="    "),
                          markup=False)
    made_up = render.illustrative_populations(report.results)
    if made_up:
        # A ratio of illustrative populations is printed as it is computed, and said to be one.
        console.print()
        console.print(render.ILLUSTRATIVE_POPULATIONS, markup=False)
        console.print(textwrap.fill("; ".join(made_up), max(console.width, 40),
                                    initial_indent="  ", subsequent_indent="  "), markup=False)
    flagged = [r for r in report.results if r.quality]
    if flagged:
        console.print()
        console.print("Data quality (docs/guarantees.md#data-quality):", markup=False)
        for r in flagged:
            console.print(textwrap.fill(f"{r.kpi.title}: {'; '.join(r.quality)}",
                                        max(console.width, 40), initial_indent="  ",
                                        subsequent_indent="    "), markup=False)
