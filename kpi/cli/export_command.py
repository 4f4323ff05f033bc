"""kpi export markdown | docx | html: the board paper in the format the board reads.

One document is built from the data and the analyst's commentary, then written by the
writer for the format. Charts are drawn as PNG files in a folder beside the paper (board.md ->
board-files/); the Word and HTML papers embed them, so those files can be sent on their own.
Beside every paper goes `<name>.figures.json`: every figure it printed, with its window and
the data version, which `--previous` reads next month to list revised figures.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kpi.cli import (
    AsOfOpt,
    PeriodOpt,
    VsOpt,
    _project,
    app,
    check_output_file,
    complete_priorities,
    examples,
    handled,
    note,
    require_priority,
)
from kpi.periods import Comparison

export_app = typer.Typer(
    help="Draft documents from the data: the board paper as Markdown, Word or HTML.\n\n"
         "Examples:\n\n\b\n  kpi export docx --period 2025-09 --output out/board.docx\n"
         "  kpi export markdown --period 2025-09 --output out/board.md",
    no_args_is_help=True, rich_markup_mode=None)
app.add_typer(export_app, name="export")


class PaperFormat(StrEnum):
    MARKDOWN = "markdown"
    DOCX = "docx"
    HTML = "html"


SUFFIXES = {PaperFormat.MARKDOWN: (".md", ".markdown"), PaperFormat.DOCX: (".docx",),
            PaperFormat.HTML: (".html", ".htm")}
EXAMPLES = {PaperFormat.MARKDOWN: "out/board.md", PaperFormat.DOCX: "out/board.docx",
            PaperFormat.HTML: "out/board.html"}
FORMAT_NAMES = {PaperFormat.MARKDOWN: "a Markdown file", PaperFormat.DOCX: "a Word file",
                PaperFormat.HTML: "an HTML file"}

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


def _output_opt(fmt: PaperFormat):
    suffix = SUFFIXES[fmt][0]
    return Annotated[Path, typer.Option(
        "--output", "-o", help=f"The {suffix} file to write. Charts go in a folder beside it "
                               f"named after it (board{suffix} -> board-files/), the printed "
                               f"figures in board.figures.json.")]


@export_app.command("markdown")
@examples(
    "kpi export markdown --period 2025-09 --output out/board.md",
    "kpi export markdown --period 2025-10 --output out/board.md --previous out/board.figures.json",
)
@handled
def markdown(period: PeriodOpt, output: _output_opt(PaperFormat.MARKDOWN),
             vs: VsOpt = Comparison.BASELINE, priority: PriorityOpt = None,
             as_of: AsOfOpt = None, commentary: CommentaryOpt = None,
             previous: PreviousOpt = None) -> None:
    """Draft the board paper in Markdown: numbered paragraphs per KPI, tables, charts and
    appendices."""
    _export(PaperFormat.MARKDOWN, period, output, vs, priority, as_of, commentary, previous)


@export_app.command("docx")
@examples(
    "kpi export docx --period 2025-09 --output out/board.docx",
    "kpi export docx --period 2025-09 --output out/board.docx --template house-style.docx",
)
@handled
def docx(period: PeriodOpt, output: _output_opt(PaperFormat.DOCX),
         vs: VsOpt = Comparison.BASELINE, priority: PriorityOpt = None,
         as_of: AsOfOpt = None, commentary: CommentaryOpt = None,
         previous: PreviousOpt = None,
         template: Annotated[Path | None, typer.Option(
             "--template", help="A Word .docx whose styles, page set-up, headers and footers "
                                "the paper uses (its text is dropped).")] = None) -> None:
    """Draft the board paper as a Word document: heading styles, numbered paragraphs, tables
    and figures with captions."""
    _export(PaperFormat.DOCX, period, output, vs, priority, as_of, commentary, previous,
            template)


@export_app.command("html")
@examples(
    "kpi export html --period 2025-09 --output out/board.html",
)
@handled
def html(period: PeriodOpt, output: _output_opt(PaperFormat.HTML),
         vs: VsOpt = Comparison.BASELINE, priority: PriorityOpt = None,
         as_of: AsOfOpt = None, commentary: CommentaryOpt = None,
         previous: PreviousOpt = None) -> None:
    """Draft the board paper as one self-contained HTML page that prints to A4."""
    _export(PaperFormat.HTML, period, output, vs, priority, as_of, commentary, previous)


def _export(fmt: PaperFormat, period: str, output: Path, vs: Comparison, priority: str | None,
            as_of: str | None, commentary_file: Path | None, previous: Path | None,
            template: Path | None = None) -> None:
    from kpi import charts, commentary, engine, paper, revisions, store, verdicts
    from kpi.cache import CACHE_FOLDER
    from kpi.errors import UsageError
    from kpi.outputs import staged
    from kpi.periods import Month
    from kpi.store import AsOf

    month = Month.parse(period)
    cutoff = AsOf.parse(as_of) if as_of else None
    check_output_file(output)
    if output.suffix.lower() not in SUFFIXES[fmt]:
        raise UsageError(f"--output '{output}' should be {FORMAT_NAMES[fmt]} ending in "
                         f"{SUFFIXES[fmt][0]}", hint=f"for example --output {EXAMPLES[fmt]}")
    if template is not None and not template.is_file():
        raise UsageError(f"--template '{template}' is not a file",
                         hint="pass a Word .docx file whose styles the paper should use")
    output = output.resolve() if output.is_symlink() else output  # write through a link
    files_dir = f"{output.stem}-files"
    if (output.parent / files_dir).exists() and not (output.parent / files_dir).is_dir():
        raise UsageError(f"{output.parent / files_dir} is a file, where the paper's figures "
                         "folder goes; not touching it",
                         hint="move it, or choose another --output name")
    project = _project()
    if priority:
        require_priority(project, priority)
    notes = commentary.load(project, month, commentary_file)
    last = revisions.load(previous) if previous is not None else None
    specs = charts.chart_specs(project)
    shown = [k for k in project.kpis
             if not k.hidden and (priority is None or k.priority == priority)]
    # Charts may draw hidden KPIs (e.g. all outcomes by code); compute them alongside.
    ids = {k.id for k in shown}
    drawn = [project.kpi(i) for s in specs for i in s.kpis if i not in ids]
    kpis = shown + list({k.id: k for k in drawn}.values())
    # The verdicts' monthly values are read in the same pass as the windows.
    report = engine.evaluate(project, month, vs, kpis, as_of=cutoff,
                             series=verdicts.SERIES_MONTHS)
    revised = revisions.compare(project, last, report, cutoff) if last is not None else None

    loaded = {}
    for dataset, version in report.versions.items():
        made = next((v for v in store.history(project, dataset) if v.version == version), None)
        if made is not None:
            loaded[dataset] = made.timestamp
    judged = verdicts.verdicts(project, report, as_of=cutoff)
    built = paper.build_paper(project, report, charts=specs, files_dir=files_dir,
                              priority=priority, as_of=cutoff, as_of_text=as_of,
                              commentary=notes, revised=revised, loaded=loaded,
                              verdicts=judged)
    results = {r.kpi.id: r for r in report.results}
    output.parent.mkdir(parents=True, exist_ok=True)
    # The paper and its figures are written to a staging folder and moved into place together
    # (kpi.outputs), so a reader never sees one paper's text with another's figures.
    with staged(output, files_dir) as staging:
        jobs = [(charts.chart_data(project, figure.spec, results, cutoff, judged,
                                   period=report.period, vs=report.comparison,
                                   breakdowns=built.breakdowns, peers=built.peers,
                                   series=built.series),
                 staging / figure.link) for figure in built.figures]
        # Charts drawn before from the same data are reused (the cache folder, beside the
        # answers kpi.cache keeps); KPI_NO_CACHE draws every one.
        cache = None if os.environ.get("KPI_NO_CACHE") else \
            project.data_dir / CACHE_FOLDER / "charts"
        charts.write_pngs(jobs, workers=None, cache=cache)
        if fmt == PaperFormat.MARKDOWN:
            from kpi.writers import markdown as writer

            content: bytes = writer.write(built.document).encode("utf-8")
        elif fmt == PaperFormat.HTML:
            from kpi.writers import html as writer

            content = writer.write(built.document, staging).encode("utf-8")
        else:
            from kpi.writers import docx as writer

            content = writer.write(built.document, staging, template)
        (staging / output.name).write_bytes(content)
    figures_file = revisions.figures_path(output)
    _write(figures_file, revisions.dumps(project, report, priority, as_of))
    # The versions a paper read are kept readable by 'kpi vacuum', so its --as-of reproduces it.
    from kpi.maintenance import record_published

    record_published(project, report.versions, paper=str(output), period=str(month))
    note(f"Wrote {output} and {figures_file.name}")
    if built.figures:
        note(f"Wrote {len(built.figures)} chart(s) to {output.parent / files_dir}")


def _write(path: Path, content: bytes) -> None:
    """Write a file by an atomic rename from a temporary file of its own, so two exports
    racing each leave a whole file."""
    import tempfile

    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
