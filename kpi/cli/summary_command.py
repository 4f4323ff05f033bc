"""kpi summary."""

from __future__ import annotations

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
    _project,
    _stdout_console,
    app,
    handled,
    note,
)
from kpi.periods import Comparison
from kpi.render import Format


@app.command()
@handled
def summary(
    period: PeriodOpt,
    vs: VsOpt = Comparison.BASELINE,
    priority: Annotated[str | None, typer.Option(
        "--priority", help="Only this plan priority (its id).")] = None,
    format: FormatOpt = Format.TABLE,
    output: OutputOpt = None,
    as_of: AsOfOpt = None,
    fail_on: Annotated[str | None, typer.Option(
        "--fail-on", help="Exit 1 when any KPI has this status (e.g. deteriorating).")] = None,
) -> None:
    """Every KPI for a period against its comparison, grouped by plan priority."""
    from kpi import engine, render
    from kpi.periods import Month
    from kpi.store import AsOf

    month = Month.parse(period)
    cutoff = AsOf.parse(as_of) if as_of else None
    project = _project()
    kpis = list(project.kpis)
    if priority:
        if project.priority(priority) is None:
            from kpi.errors import UsageError

            known = ", ".join(p.id for p in project.priorities)
            raise UsageError(f"unknown priority '{priority}'", hint=f"one of: {known}")
        kpis = [k for k in kpis if k.priority == priority]
    kpis = [k for k in kpis if not k.hidden]
    report = engine.evaluate(project, month, vs, kpis, as_of=cutoff)
    priorities = [(p.id, p.title) for p in project.priorities]
    titles = dict(priorities)
    if format == Format.JSON:
        _emit(render.report_json(report, project.name, titles), output)
    elif format == Format.CSV:
        _emit(render.report_csv(report, titles), output)
    elif format == Format.MARKDOWN:
        _emit(render.report_markdown_table(report, priorities), output)
    else:
        _print_tables(report, priorities, project.name, output)
    if fail_on and any(r.status == fail_on for r in report.results):
        count = sum(r.status == fail_on for r in report.results)
        note(f"{count} KPI(s) {fail_on}")
        raise typer.Exit(code=1)


def _print_tables(report, priorities, name: str, output: Path | None) -> None:
    from rich.console import Console

    from kpi import render

    console, plain = _stdout_console()
    if output is not None:
        console = Console(file=open(output, "w", encoding="utf-8"), no_color=True, width=120)
        plain = True
    vs = report.comparison.value
    console.print(f"{name}: period {report.period} against {vs}", markup=False)
    for table in render.report_tables(report, priorities, box=not plain):
        console.print()
        console.print(table)
    if output is not None:
        console.file.close()
        note(f"Wrote {output}")


