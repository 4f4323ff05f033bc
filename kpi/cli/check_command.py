"""kpi check: reconciliations and data checks for a period; exit 1 when any fails."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from kpi.cli import (
    AsOfOpt,
    FormatOpt,
    OutputOpt,
    PeriodOpt,
    VsOpt,
    app,
    emit_document,
    examples,
    handled,
    note,
    open_project,
)
from kpi.errors import EXIT_CHECK_FAILED
from kpi.periods import Comparison
from kpi.render import Format

if TYPE_CHECKING:
    from kpi.checks import CheckReport
    from kpi.render import Document


@app.command()
@examples(
    "kpi check --period 2025-09",
    "kpi check --period 2025-09 --format json",
    "kpi check --period 2025-09 --vs yoy",
)
@handled
def check(
    period: PeriodOpt,
    vs: VsOpt = Comparison.BASELINE,
    format: FormatOpt = Format.TABLE,
    output: OutputOpt = None,
    as_of: AsOfOpt = None,
    data: Annotated[bool, typer.Option(
        "--data/--no-data", help="Also check that every KPI's windows are complete and no "
                                 "dataset has missing months.")] = True,
) -> None:
    """Run the catalogue's reconciliations (parts that must sum to a total) and the data
    checks for a period. Exit code 1 when any check fails (a check reading a dataset stored
    under another declaration than kpi.toml's fails, naming why); 3 when there is nothing to
    check (an empty store, a period before every month stored, every KPI's dataset stored
    under another declaration), with the line kpi summary gives. The windows are checked
    against the comparison --vs names (kpi.toml's [defaults] vs where it is left out), as
    kpi summary and the paper compare them."""
    from kpi.periods import Month
    from kpi.store import AsOf

    month = Month.typed(period)
    cutoff = AsOf.parse(as_of) if as_of else None
    project = open_project(output)
    report = project.check_report(month, cutoff, data=data, vs=vs)
    emit_document(check_document(report, project.name), format, output)
    failed = report.failed
    if failed:
        note(f"{len(failed)} of {len(report.results)} check(s) failed: "
             + ", ".join(r.id for r in failed))
        raise typer.Exit(code=EXIT_CHECK_FAILED)


def check_document(report: CheckReport, project_name: str) -> Document:
    """The checks as a document: one row each, and JSON with every figure."""
    from kpi.api import check_json
    from kpi.render import Document, Section

    rows = [(r.id, r.kind, "pass" if r.passed else "FAIL", r.message) for r in report.results]
    section = Section(title=f"Checks for {report.period}",
                      columns=("check", "kind", "result", "detail"), rows=rows,
                      status_column="result")
    data = {"project": project_name, "period": str(report.period),
            "comparison": report.comparison.value,
            "passed": not report.failed, "checks": [check_json(r) for r in report.results]}
    failed = len(report.failed)
    heading = (f"{project_name}: {len(report.results)} check(s) for {report.period}, "
               f"{failed} failed")
    return Document(heading=heading, sections=(section,), data=data)
