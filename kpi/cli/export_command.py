"""kpi export markdown | docx | html: the board paper in the format the board reads.

One document is built from the data and the analyst's commentary, then written by the
writer for the format. Charts are drawn as PNG files in a folder beside the paper (board.md ->
board-files/); the Word and HTML papers embed them, so those files can be sent on their own.
Beside every paper goes `<name>.figures.json`: every figure it printed, with its window and
the data version, which `--previous` reads next month to list revised figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kpi.api import PAPER_SUFFIXES, PaperFormat
from kpi.cli import (
    AsOfOpt,
    PeriodOpt,
    VsOpt,
    app,
    complete_priorities,
    examples,
    handled,
    note,
    open_project,
    progress_bars,
)
from kpi.periods import Comparison

export_app = typer.Typer(
    help="Draft documents from the data: the board paper as Markdown, Word or HTML.\n\n"
         "Examples:\n\n\b\n  kpi export docx --period 2025-09 --output out/board.docx\n"
         "  kpi export markdown --period 2025-09 --output out/board.md",
    no_args_is_help=True, rich_markup_mode=None)
app.add_typer(export_app, name="export")


PriorityOpt = Annotated[str | None, typer.Option(
    "--priority", help="Only this plan priority (its id).",
    autocompletion=complete_priorities)]
CommentaryOpt = Annotated[Path | None, typer.Option(
    "--commentary", help="The analyst's commentary (TOML): text for KPIs, sections and the "
                         "paper's introduction, equality implications, next steps and author "
                         "block. Default: commentary/YYYY-MM.toml in the project, when "
                         "present. See docs/board-paper.md.")]
PreviousOpt = Annotated[Path | None, typer.Option(
    "--previous", help="The figures file of the last paper (board.figures.json): adds an "
                       "appendix of figures revised since.")]
FullOpt = Annotated[bool, typer.Option(
    "--full", help="The complete paper, as a technical annex: every KPI's full paragraph "
                   "and breakdowns, a process chart of each KPI whose latest month is a "
                   "special cause or which has a target, the KPI definitions and the data "
                   "sources. "
                   "Default: the board's paper (a front page of the matrix and the "
                   "exceptions, one sentence for a KPI in normal variation).")]


def _output_option(fmt: PaperFormat):
    suffix = PAPER_SUFFIXES[fmt][0]
    charts = ("Charts go in a folder beside it named after it (board.md -> board-files/)"
              if fmt == PaperFormat.MARKDOWN else "Its charts are embedded in it")
    return typer.Option(
        "--output", "-o", help=f"The {suffix} file to write. {charts}; the printed figures go "
                               f"in board.figures.json.")


@export_app.command("markdown")
@examples(
    "kpi export markdown --period 2025-09 --output out/board.md",
    "kpi export markdown --period 2025-10 --output out/board.md --previous out/board.figures.json",
)
@handled
def markdown(period: PeriodOpt, output: Annotated[Path, _output_option(PaperFormat.MARKDOWN)],
             vs: VsOpt = Comparison.BASELINE, priority: PriorityOpt = None,
             as_of: AsOfOpt = None, commentary: CommentaryOpt = None,
             previous: PreviousOpt = None, full: FullOpt = False) -> None:
    """Draft the board paper in Markdown: numbered paragraphs per KPI, tables, charts and
    appendices."""
    _export(PaperFormat.MARKDOWN, period, output, vs, priority, as_of, commentary, previous,
            full=full)


@export_app.command("docx")
@examples(
    "kpi export docx --period 2025-09 --output out/board.docx",
    "kpi export docx --period 2025-09 --output out/board.docx --template house-style.docx",
)
@handled
def docx(period: PeriodOpt, output: Annotated[Path, _output_option(PaperFormat.DOCX)],
         vs: VsOpt = Comparison.BASELINE, priority: PriorityOpt = None,
         as_of: AsOfOpt = None, commentary: CommentaryOpt = None,
         previous: PreviousOpt = None,
         template: Annotated[Path | None, typer.Option(
             "--template", help="A Word .docx whose styles, page set-up, headers and footers "
                                "the paper uses (its text is dropped).")] = None,
         final: Annotated[bool, typer.Option(
             "--final", help="A paper to send: the commentary as plain paragraphs, no "
                             "commentary boxes to type in (so kpi commentary import "
                             "cannot read it back).")] = False,
         full: FullOpt = False) -> None:
    """Draft the board paper as a Word document: heading styles, numbered paragraphs, tables
    and figures with captions, and a commentary box to type in after each KPI, section
    and the introduction (kpi commentary import reads them back)."""
    _export(PaperFormat.DOCX, period, output, vs, priority, as_of, commentary, previous,
            template, final, full=full)


@export_app.command("html")
@examples(
    "kpi export html --period 2025-09 --output out/board.html",
)
@handled
def html(period: PeriodOpt, output: Annotated[Path, _output_option(PaperFormat.HTML)],
         vs: VsOpt = Comparison.BASELINE, priority: PriorityOpt = None,
         as_of: AsOfOpt = None, commentary: CommentaryOpt = None,
         previous: PreviousOpt = None, full: FullOpt = False) -> None:
    """Draft the board paper as one self-contained HTML page that prints to A4."""
    _export(PaperFormat.HTML, period, output, vs, priority, as_of, commentary, previous,
            full=full)


def _export(fmt: PaperFormat, period: str, output: Path, vs: Comparison, priority: str | None,
            as_of: str | None, commentary_file: Path | None, previous: Path | None,
            template: Path | None = None, final: bool = False, *,
            full: bool = False) -> None:
    from kpi.api import check_paper_output
    from kpi.periods import Month
    from kpi.store import AsOf

    # Checked before the project is opened, so a mistyped option fails before any work.
    month = Month.typed(period)
    if as_of:
        AsOf.parse(as_of)
    check_paper_output(fmt, output, template)
    project = open_project()
    with progress_bars() as progress:
        written = project.paper(month, fmt, output, vs, priority=priority, as_of=as_of,
                                commentary=commentary_file, previous=previous,
                                template=template, final=final, full=full, progress=progress)
    note(f"Wrote {written.output} and {written.figures_file}")
    if written.charts and written.charts_dir is not None:
        note(f"Wrote {written.charts} chart(s) to {written.charts_dir}")
    elif written.charts:
        note(f"Embedded {written.charts} chart(s) in {written.output}")
