"""kpi catalogue and kpi init: the project file itself."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Annotated

import typer

from kpi.catalogue import PROJECT_FILE, Status
from kpi.cli import (
    FormatOpt,
    OutputOpt,
    State,
    app,
    asked_for_sample,
    check_output_file,
    complete_priorities,
    emit_document,
    examples,
    handled,
    note,
)
from kpi.errors import KpiError
from kpi.render import Format


@app.command()
@examples(
    "kpi catalogue",
    "kpi catalogue --priority violence --format csv",
    "kpi catalogue --validate kpi.toml",
)
@handled
def catalogue(
    priority: Annotated[str | None, typer.Option(
        "--priority", help="Only this plan priority (its id).",
        autocompletion=complete_priorities)] = None,
    status: Annotated[Status | None, typer.Option(
        "--status", help="Only KPIs with this status.", case_sensitive=False)] = None,
    validate: Annotated[Path | None, typer.Option(
        "--validate", metavar="FILE",
        help="Check a project file and report every problem at once, each with its file and "
             "line; exit 3 when there is any. A percentage target written as a proportion "
             "(0.9) is judged on the figures the project's store holds, as the summary "
             "judges it, or warned of where it holds none.")] = None,
    format: FormatOpt = Format.TABLE,
    output: OutputOpt = None,
) -> None:
    """The plan's priorities and KPIs, or every problem in a project file (--validate)."""
    from kpi.catalogue import load_project, parse_project_file

    if validate is not None:
        from kpi.verdicts import stored_targets

        project = parse_project_file(validate)  # raises one ConfigError listing every problem
        # A percentage target written as a proportion: refused on the figures the store holds,
        # as the summary refuses it, else a warning.
        for warning in stored_targets(project):
            note(f"Warning: {warning}")
        note(f"{validate}: valid ({len(project.datasets)} datasets, "
             f"{len(project.priorities)} priorities, {len(project.kpis)} KPIs)")
        return
    project = load_project(State.project)
    asked_for_sample(project)
    State.loaded = project
    check_output_file(output)
    if priority:
        from kpi.api import require_priority

        require_priority(project, priority)
    emit_document(catalogue_document(project, priority, status), format, output)


def catalogue_document(project, priority: str | None = None, status: Status | None = None):
    """The catalogue as a render.Document: one row per KPI, in plan order."""
    from kpi.render import Document, Section, figure_json, provenance

    order = {p.id: p.order for p in project.priorities}
    titles = {p.id: p.title for p in project.priorities}
    kpis = [k for k in project.kpis
            if (priority is None or k.priority == priority)
            and (status is None or k.status == status)]
    kpis.sort(key=lambda k: order.get(k.priority, 0))  # stable: catalogue order within one
    columns = ("id", "title", "priority", "kind", "unit", "better", "status", "dataset")
    rows = [(k.id, k.title, k.priority, k.kind.value, k.unit.value, k.better.value,
             k.status.value, k.dataset or (f"{k.numerator_kpi}/{k.denominator_kpi}"
                                           if k.is_derived else None)) for k in kpis]
    data = {
        "project": project.name,
        "priorities": [{"id": p.id, "title": p.title, "order": p.order}
                       for p in project.priorities if priority in (None, p.id)],
        # Each KPI's target and where it and the populations its figure divides by come
        # from, as the summary's JSON gives them (`render.provenance`, the one maker).
        "kpis": [dict(zip(columns, row, strict=True)) | {"priority_title": titles[row[2]]}
                 | {"target": figure_json(k.target, k)} | provenance(k)
                 for k, row in zip(kpis, rows, strict=True)],
    }
    heading = f"{project.name}: {len(rows)} KPIs"
    return Document(heading, (Section("KPIs", columns, rows),), data=data)


@app.command()
@examples(
    "kpi init myforce",
    "kpi init --preset west-midlands sample-copy",
    "kpi init --list-presets",
)
@handled
def init(
    directory: Annotated[Path, typer.Argument(
        metavar="[DIR]", help="Folder for the new project (created if missing).")] = Path("."),
    preset: Annotated[str | None, typer.Option(
        "--preset", metavar="NAME",
        help="Start from a ready project shipped with kpi (see --list-presets).")] = None,
    list_presets: Annotated[bool, typer.Option(
        "--list-presets", help="List the ready projects and exit.")] = False,
) -> None:
    """Start a project: a kpi.toml with an example of every KPI kind, and an empty data folder;
    or, with --preset, a copy of a ready project (police-uk, home-office-prc, west-midlands).

    Refuses to overwrite an existing kpi.toml (exit 2).
    """
    import json
    from importlib.resources import files

    from kpi.errors import UsageError

    if list_presets:
        from kpi.presets import PRESETS

        for item in PRESETS.values():
            typer.echo(f"{item.name:<16} {item.description}")
        return
    if preset is not None:
        _init_preset(preset, directory)
        return
    target = directory / PROJECT_FILE
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} is a file, not a folder; not touching it",
                         hint="give a new or existing folder: kpi init myforce")
    if target.exists():
        raise UsageError(f"{target} already exists; not overwriting it",
                         hint="choose another folder, or edit the existing file")
    directory.mkdir(parents=True, exist_ok=True)
    name = directory.resolve().name or "My force"
    template = (files("kpi") / "templates" / PROJECT_FILE).read_text(encoding="utf-8")
    # json.dumps gives a valid TOML basic string for any name (quotes and backslashes escaped).
    target.write_text(template.replace('"{name}"', json.dumps(name, ensure_ascii=False)),
                      encoding="utf-8")
    (directory / "data").mkdir(exist_ok=True)
    note(f"Created {target} and {directory / 'data'}{os.sep}")
    # The command as a shell reads it: a folder named "Zoë's reports" is quoted.
    validate = f"kpi catalogue --validate {shlex.quote(str(target))}"
    note(f"Next: edit {target}, check it with: {validate}\nthen 'kpi ingest DATASET FILE' "
         "and 'kpi summary --period YYYY-MM'.")


def _init_preset(name: str, directory: Path) -> None:
    """Copy a preset; load the datasets whose sources it ships (the West Midlands sample)."""
    from kpi.catalogue import load_project
    from kpi.cli import progress_bars
    from kpi.ingest import expand_sources, load, source_patterns
    from kpi.presets import copy_preset

    written = copy_preset(name, directory)
    note(f"Created {directory / PROJECT_FILE} from preset '{name}' ({len(written)} file(s)) "
         f"and {directory / 'data'}{os.sep}")
    project = load_project(directory)
    loaded = 0
    for dataset_id, spec in project.datasets.items():
        patterns = source_patterns(project, spec)
        try:
            present = bool(patterns) and bool(expand_sources(patterns))
        except KpiError:
            present = False
        if present:
            with progress_bars() as progress:
                load(project, dataset_id, progress=progress)
            loaded += 1
    if loaded:
        note(f"Loaded {loaded} dataset(s) from the extracts the preset ships.")
    else:
        note(f"Next: put the downloaded files where {directory / PROJECT_FILE} says "
             "(sources), then 'kpi ingest DATASET' and 'kpi summary --period YYYY-MM'.")
