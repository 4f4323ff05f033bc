"""kpi export markdown: the board paper, with its charts as PNG files beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kpi.cli import AsOfOpt, PeriodOpt, VsOpt, _project, app, check_output_file, handled, note
from kpi.periods import Comparison

export_app = typer.Typer(
    help="Draft documents from the data: the board paper as Markdown with its charts.",
    no_args_is_help=True, rich_markup_mode=None)
app.add_typer(export_app, name="export")


@export_app.command("markdown")
@handled
def markdown(
    period: PeriodOpt,
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="The Markdown file to write. Charts go in a folder beside it "
                               "named after it (board.md -> board-files/).")],
    vs: VsOpt = Comparison.BASELINE,
    priority: Annotated[str | None, typer.Option(
        "--priority", help="Only this plan priority (its id).")] = None,
    as_of: AsOfOpt = None,
) -> None:
    """Draft the board paper: numbered paragraphs per KPI, tables, charts and appendices."""
    from kpi import charts, engine, paper, verdicts
    from kpi.errors import UsageError
    from kpi.outputs import staged
    from kpi.periods import Month
    from kpi.store import AsOf

    month = Month.parse(period)
    cutoff = AsOf.parse(as_of) if as_of else None
    check_output_file(output)
    if output.suffix.lower() not in (".md", ".markdown"):
        raise UsageError(f"--output '{output}' should be a Markdown file ending in .md",
                         hint="for example --output out/board.md")
    output = output.resolve() if output.is_symlink() else output  # write through a link
    files_dir = f"{output.stem}-files"
    if (output.parent / files_dir).exists() and not (output.parent / files_dir).is_dir():
        raise UsageError(f"{output.parent / files_dir} is a file, where the paper's figures "
                         "folder goes; not touching it",
                         hint="move it, or choose another --output name")
    project = _project()
    if priority and project.priority(priority) is None:
        known = ", ".join(p.id for p in project.priorities)
        raise UsageError(f"unknown priority '{priority}'", hint=f"one of: {known}")
    specs = charts.chart_specs(project)
    shown = [k for k in project.kpis
             if not k.hidden and (priority is None or k.priority == priority)]
    # Charts may draw hidden KPIs (e.g. all outcomes by code); compute them alongside.
    ids = {k.id for k in shown}
    drawn = [project.kpi(i) for s in specs for i in s.kpis if i not in ids]
    kpis = shown + list({k.id: k for k in drawn}.values())
    report = engine.evaluate(project, month, vs, kpis, as_of=cutoff)

    judged = verdicts.verdicts(project, report, as_of=cutoff)
    document = paper.build_paper(project, report, charts=specs, files_dir=files_dir,
                                 priority=priority, as_of=cutoff, as_of_text=as_of,
                                 verdicts=judged)
    results = {r.kpi.id: r for r in report.results}
    output.parent.mkdir(parents=True, exist_ok=True)
    with staged(output, files_dir) as staging:
        for figure in document.figures:
            data = charts.chart_data(project, figure.spec, results, cutoff, judged)
            charts.write_png(data, staging / figure.link)
        (staging / output.name).write_text(document.markdown, encoding="utf-8")
    # The versions a paper read are kept readable by 'kpi vacuum', so its --as-of reproduces it.
    from kpi.maintenance import record_published

    record_published(project, report.versions, paper=str(output), period=str(month))
    note(f"Wrote {output}")
    if document.figures:
        note(f"Wrote {len(document.figures)} chart(s) to {output.parent / files_dir}")
