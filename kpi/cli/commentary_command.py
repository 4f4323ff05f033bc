"""kpi commentary import: the commentary an analyst typed into the Word paper, back into the
project's commentary file, so the next export carries it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from kpi.cli import _project, app, check_output_file, examples, handled, note
from kpi.errors import EXIT_CHECK_FAILED

commentary_app = typer.Typer(
    help="The analyst's commentary: bring back what was typed into the Word paper.\n\n"
         "Examples:\n\n\b\n  kpi commentary import out/board.docx",
    no_args_is_help=True, rich_markup_mode=None)
app.add_typer(commentary_app, name="commentary")


@commentary_app.command("import")
@examples(
    "kpi commentary import out/board.docx",
    "kpi commentary import edited.docx --output commentary/2025-09.toml",
)
@handled
def import_(
    docx: Annotated[Path, typer.Argument(
        help="The Word paper (written by kpi export docx) with commentary typed into its "
             "commentary boxes.", show_default=False)],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="The commentary file to write. Default: commentary/YYYY-MM.toml "
                               "in the project, for the paper's month.")] = None,
) -> None:
    """Write the commentary typed into the Word paper's commentary boxes (Word content controls)
    to the commentary file the next export reads. Entries the paper has no box for are kept;
    a box left empty removes its entry. Text typed outside the boxes is not imported: each
    is listed with the paragraph it is in, and the exit code is 1."""
    from kpi import commentary

    check_output_file(output)
    project = _project(writes="commentary import")
    imported = commentary.import_word(project, docx, output)
    path = imported.path
    check_output_file(path, inputs=(docx,))  # not on kpi.toml, the paper or the data folder
    path = path.resolve() if path.is_symlink() else path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(imported.text, encoding="utf-8")
    os.replace(tmp, path)
    changed = imported.changed
    note(f"Wrote {path}: commentary for {imported.month.name}, "
         + (f"{len(changed)} box(es) changed: {', '.join(changed)}" if changed
            else "no box changed"))
    for line in imported.notes:
        note(f"Note: {line}")
    if imported.outside:
        note(f"Warning: {len(imported.outside)} paragraph(s) typed or changed outside the "
             "commentary boxes were not imported (the next export writes the paper's own "
             "text there); move what should stay into a commentary box and import again:")
        for line in imported.outside:
            note(f"  {line}")
        raise typer.Exit(code=EXIT_CHECK_FAILED)
