"""What a paper printed, and which of those figures live data has revised since.

Every export writes `<name>.figures.json` beside the paper: each KPI figure it printed (the
current and comparison value, each with its window), as the paper rounded it and at full
precision, with the table version of every dataset it was computed from. Given last month's
file (`--previous`), the figures it printed are recomputed from today's data for the same
windows; those whose printed value would now read differently are listed in an appendix.

Under `parts`, the file lists each figure of a part of a KPI's breakdown the paper printed
(an LPA's figure in a sentence, a caption or a figure's bars: `kpi.paper.PartFigure`), with
the column, the part and both windows of its breakdown; they are recomputed and compared as
the KPIs' own figures are, and a part the data no longer gives, or one it gives now where the
last paper printed every part of the breakdown, is listed too. A file written before parts
were listed compares the KPIs' figures alone and says so (`Revisions.parts_compared`).
Beside a proportion's current figure, `cases` and `cases_shown` record the cases and base its
paragraph prints ("15,604 of 21,672", `kpi.paper.printed_cases`), compared as printed.

Each figure also records a digest of its KPI's definition (`definition`): a KPI whose
definition changed since (its filter, kind, decimals, multiplier, how its dataset's rows are
read for it: `reading`...) is named as redefined, its figures not listed as revised, since the
data did not change, the definition did.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kpi import engine, render, store
from kpi.catalogue import DatasetSpec, Project, Unit
from kpi.errors import DataError, KpiError, UsageError, option, refuse_unsafe_text
from kpi.periods import Comparison, Month, Window
from kpi.rounding import Beside
from kpi.store import AsOf
from kpi.text import blank_name

FORMAT = "kpi-paper-figures/1"


@dataclass(frozen=True)
class Revision:
    kpi_id: str
    title: str
    window: str  # "the year ending September 2025"
    before: str  # as the last paper printed it
    after: str   # as today's data gives it


@dataclass(frozen=True)
class Revisions:
    period: str  # the last paper's reporting month, "September 2025"
    items: tuple[Revision, ...]
    # KPIs whose definition changed since the last paper (their titles), and breakdowns whose
    # column is derived otherwise ("Incidents by area"): not compared.
    redefined: tuple[str, ...] = ()
    # KPIs of the last paper's figures no longer reported (removed from kpi.toml or hidden).
    dropped: tuple[str, ...] = ()
    # The last paper's file records no definitions (an older kpi wrote it), so a KPI
    # redefined since cannot be told from a revised one.
    unchecked: bool = False
    # The last paper's file lists the figures of its breakdowns' parts it printed, which are
    # compared (a file of a kpi before they were listed does not, and only the KPIs' own and
    # quoted figures are).
    parts_compared: bool = True


# What a KPI's figures do not depend on: how the paper words and places them.
_PRESENTATION = frozenset({"title", "notes", "description", "table", "noun", "unit_label",
                           "quotes", "target", "target_source", "target_illustrative",
                           "target_written_percent", "target_at", "flag_scale",
                           "population_source",
                           "population_illustrative",
                           "spc_baseline", "spc_rebase", "provisional_months", "peers",
                           "breakdowns", "status", "hidden", "priority", "stable_band",
                           "better", "rate_test", "within_on_trust", "counted_parts"})


def definition(project: Project, kpi, _seen: frozenset[str] = frozenset(), *,
               by: str | None = None, written: str = "now") -> str:
    """A digest of what a KPI's figures are computed and rounded from: its own keys but the
    paper's wording and placing, with those of the KPIs it is computed from, how its dataset's
    rows are read for it (`reading`), the populations it is a rate of, the project's baseline
    where the KPI has none of its own, and its weights file's content. With `by`, of a part's
    figure of its breakdown by that column: the column's derivation with it. Keys at their
    default are left out, so a key a later kpi adds does not redefine every KPI. `written`:
    the digest an earlier kpi wrote (`same_definition`), "earlier" (its dataset's date and
    every derived column, `as_at`, and with "last" the peer columns) or "legacy" (that,
    without the baseline, the weights and the peer columns)."""
    legacy = written == "legacy"
    own: dict = {}
    for spec in dataclasses.fields(kpi):
        value = getattr(kpi, spec.name)
        if spec.name in _PRESENTATION or value == spec.default or (
                spec.default_factory is not dataclasses.MISSING
                and value == spec.default_factory()):
            continue
        own[spec.name] = value
    parts = [kpi.numerator_kpi, kpi.denominator_kpi, *kpi.components]
    own["of"] = {i: definition(project, project.kpi(i), _seen | {kpi.id},
                               by=by if written == "now" else None, written=written)
                 for i in parts if i and i not in _seen and project.kpi(i) is not None}
    if not legacy:
        # What the figure also depends on beyond its own keys: the comparison window a KPI
        # with no baseline of its own takes from [project] (moved from March 2024 to June
        # 2024, every comparison figure read as revised to "no figure"), and the weights a
        # score is summed with (a weight edited, every score read as revised).
        if kpi.baseline is None:
            own["inherited_baseline"] = str(project.snapshot_baseline if kpi.is_snapshot
                                            else project.baseline_end)
        if kpi.weights:
            try:
                content = project.resolve(kpi.weights).read_bytes()
            except (OSError, KpiError):
                own["weights_content"] = None
            else:
                own["weights_content"] = hashlib.sha256(content).hexdigest()
    dataset = project.datasets.get(kpi.dataset) if kpi.dataset else None
    if dataset is not None and written == "now":
        own["read"] = reading(project, kpi, dataset, by)
    elif dataset is not None:
        own["date"] = [dataset.date, dataset.date_parts, dataset.derived]
        if dataset.as_at is not None:
            own["as_at"] = dataset.as_at
            peers = [c for c in engine.telling_apart(project, dataset)
                     if c not in dataset.replace_by]
            if dataset.as_at == "last" and peers and not legacy:
                own["as_at_parts"] = peers
    for key in (kpi.population, *(kpi.populations or ())):
        if key:
            own.setdefault("population_values", {})[key] = project.populations.get(key)
    text = json.dumps(own, sort_keys=True, default=repr, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# The settings of a dataset's declaration (`DatasetSpec`) that `reading` puts in a KPI's
# digest, and those it leaves out, as they decide what extracts are stored as, where they are
# found, or the wording, or only refuse: each setting is in one of the two
# (tests/test_revisions_definition.py holds every one kpi declares to it).
DATASET_READ = frozenset({"date", "date_parts", "derived", "as_at", "replace_by", "sparse",
                          "whole_months"})
DATASET_UNREAD = frozenset({"id", "columns", "unique", "unique_with", "description", "sources",
                            "extra_columns", "sheet", "source", "published", "time_zone"})

# The project's settings (`Project`) the digest reads: the baselines a KPI without its own
# takes, the populations, each dataset (by `reading`), the KPIs, and the `[peers.*]` groups
# (whose columns tell a dataset's parts apart, `engine.telling_apart`); the others are where
# the project is, its wording, the checks, the options' defaults and the data quality notes.
PROJECT_READ = frozenset({"baseline_end", "snapshot_baseline", "populations", "datasets",
                          "kpis", "peers"})
PROJECT_UNREAD = frozenset({"path", "name", "data_dir", "priorities", "checks", "population_by",
                            "population_sources", "population_by_sources", "bundled",
                            "defaults", "marking", "raw", "quality"})


def reading(project: Project, kpi, dataset: DatasetSpec, by: str | None = None) -> dict:
    """Every setting of a KPI's dataset, and of the project, that decides which of the
    dataset's rows its figures read and how, or whether a figure or a comparison is given,
    where no row changes: the one list of them, in the digest of its definition. Changed,
    the figures move (or go) with no row loaded again, a redefinition, not a revision:
    `replace_by` added to a dataset read `as_at = "last"` made a headcount of 12 read as
    revised to 22, a `[peers.*]` group declared left a year before a force supplied with
    "no figure". They are: the date column (or columns) a row's month is read from; `as_at`
    (which of a month's rows are read); the columns telling the dataset's parts apart
    (`engine.telling_apart`: `replace_by` and each `[peers.*]` group's column), whose parts'
    last rolls `as_at = "last"` reads and whose parts missing from a month leave a window
    without a figure (`engine.part_gap`), unless `sparse`; `sparse`; `whole_months`, counted
    whole as
    stored where they would be held in part; and the derived columns the KPI's expressions,
    those columns and `by` (a breakdown's column) reach (`engine.derived_read`), not every
    derived column of the dataset: one added for another use redefined every KPI of it, and
    hid the revisions of its data. The rest of a declaration decides what extracts are
    stored as (a load's concern: kpi refuses a read of rows stored under another date
    column or types, `store.definition_drift`), where they are found, or the wording; `unique`
    only refuses. Each at its default is left out."""
    # (a `sparse` dataset read at every row holds no part to its months: its parts move no
    # figure but by `replace_by`, which is read on its own)
    parts = engine.telling_apart(project, dataset) \
        if dataset.as_at == "last" or not dataset.sparse else []
    names = [*engine.columns_named(project, kpi, breakdowns=False), *parts, dataset.date,
             *([by] if by else [])]
    derived = {d.name: d.expression for d in dataset.derived}
    read: dict = {"date": [dataset.date, dataset.date_parts],
                  "derived": {name: derived[name]
                              for name in engine.derived_read(dataset, names)}}
    for key, value in (("as_at", dataset.as_at), ("replace_by", list(dataset.replace_by)),
                       ("parts", parts), ("sparse", dataset.sparse),
                       ("whole_months", sorted(str(m) for m in dataset.whole_months))):
        if value:
            read[key] = value
    return read


def same_definition(project: Project, kpi, recorded: object, by: str | None = None) -> bool:
    """Whether a figures file's `definition` of a KPI (of a part's figure of its breakdown by
    `by`) is its definition now: as kpi writes it, or as an earlier kpi wrote it, before the
    reading of its dataset (`reading`) or the baseline and weights were in the digest (such a
    file cannot tell those changed since, as it could not before)."""
    return recorded in (definition(project, kpi, by=by),
                        definition(project, kpi, written="earlier"),
                        definition(project, kpi, written="legacy"))


def figures_path(output: Path) -> Path:
    """board.md -> board.figures.json."""
    return output.with_name(f"{output.stem}.figures.json")


def _kpi_versions(project: Project, kpi, versions: dict[str, int]) -> dict[str, int]:
    datasets = {m.dataset for m in engine.measures_of(project, kpi) if m.dataset}
    return {d: versions[d] for d in sorted(datasets) if d in versions}


def figures(project: Project, report, priority: str | None, as_of: str | None,
            quoted: Sequence[tuple] = (), parts: Sequence = (),
            cases: frozenset[str] = frozenset()) -> dict:
    """The figures file's content for a paper: each KPI's figures its paragraph or table row
    prints (`figures`), the other KPIs' figures its paragraphs quote (`quoted`, the
    paper's (result, figure) pairs: hidden KPIs' among them), each as printed on its own, and
    each figure of a breakdown's part it prints (`parts`, the paper's `PartFigure`s), to its
    KPI's own places; beside the current figure of each KPI in `cases` (`Paper.cases`), the
    cases and base its paragraph prints ("15,604 of 21,672")."""
    from kpi.paper import cases_text, printed_cases, printed_results

    items = []
    for result in printed_results(report, priority):
        kpi = result.kpi
        for role, measured in (("current", result.current), ("comparison", result.comparison)):
            if measured is None or measured.value is None:
                continue
            items.append({
                "kpi": kpi.id, "title": kpi.title, "role": role, "unit": kpi.unit.value,
                "window": measured.window.code, "window_label": measured.window.label,
                # As the paper prints it: beside the other window's figure, reading apart
                # from it where they differ (render.number's `beside`).
                "value": measured.value,
                "shown": render.number(measured.value, kpi,
                                       beside=render.other_window(measured, result)),
                "versions": _kpi_versions(project, kpi, report.versions),
                "definition": definition(project, kpi),
            })
            shown = printed_cases(kpi, measured) if role == "current" and kpi.id in cases \
                else None
            if shown is not None:
                items[-1]["cases"] = list(shown)
                items[-1]["cases_shown"] = cases_text(shown)
    # A quoted figure the paper also prints as its KPI's own (the same window) is listed once,
    # there.
    listed = {(item["kpi"], item["window"]) for item in items}
    also = []
    for result, measured in quoted:
        kpi = result.kpi
        if (kpi.id, measured.window.code) in listed:
            continue
        listed.add((kpi.id, measured.window.code))
        also.append({
            "kpi": kpi.id, "title": kpi.title, "role": "quoted", "unit": kpi.unit.value,
            "window": measured.window.code, "window_label": measured.window.label,
            "value": measured.value, "shown": render.number(measured.value, kpi),
            "versions": _kpi_versions(project, kpi, report.versions),
            "definition": definition(project, kpi),
        })
    pieces = []
    # each breakdown's digest worked out once, not once a part
    digests: dict[tuple[str, str], str] = {}
    for figure in parts:
        kpi = figure.result.kpi
        if (kpi.id, figure.column) not in digests:
            digests[(kpi.id, figure.column)] = definition(project, kpi, by=figure.column)
        pieces.append({
            "kpi": kpi.id, "title": kpi.title, "by": figure.column, "by_label": figure.label,
            "part": figure.part, "name": figure.name, "role": figure.role,
            "unit": kpi.unit.value, "window": figure.window.code,
            "window_label": figure.window.label,
            # the windows of the breakdown it was printed from, which it is recomputed over
            "windows": [figure.current.code,
                        None if figure.comparison is None else figure.comparison.code],
            "held": figure.held, "value": figure.value,
            "shown": render.number(figure.value, kpi),
            "versions": _kpi_versions(project, kpi, report.versions),
            # of the KPI, and of the column its breakdown reads
            "definition": digests[(kpi.id, figure.column)],
        })
    return {"format": FORMAT, "project": project.name, "period": str(report.period),
            "comparison": report.comparison.value, "priority": priority, "as_of": as_of,
            "versions": dict(sorted(report.versions.items())),
            "origins": {d: store.table_origin(store.table_path(project, d))
                        for d in sorted(report.versions)},
            "figures": items, "quoted": also, "parts": pieces,
            "count": len(items) + len(also) + len(pieces),
            "printed": _printed(items + also, pieces)}


def _listed(doc: dict) -> list:
    """Every figure a figures file lists of a KPI's own: the KPIs' own and those quoted (a
    file written before quoted figures were listed has none)."""
    quoted = doc.get("quoted", [])
    return doc["figures"] + (quoted if isinstance(quoted, list) else [])


def _parts(doc: dict) -> list:
    """Every figure of a breakdown's part a figures file lists (a file written before they
    were listed has none)."""
    parts = doc.get("parts", [])
    return parts if isinstance(parts, list) else []


def _part_key(item: dict, apart: bool = True) -> str:
    """A part's figure's key. The rows with no value in the column (a null part) are keyed
    apart from a part named "None": as one key, a part "None" (no weapon used) beside the
    blank rows (not recorded) hid the blank rows' revision, the second taken as seen.
    Without `apart`, as the digest of the figures printed has always keyed them (a paper
    written before reads as written)."""
    return "\t".join("\x00" if apart and k == "part" and item.get(k) is None
                     else str(item.get(k)) for k in ("kpi", "role", "by", "part", "window"))


def _printed(items: list, parts: Sequence = ()) -> str:
    """A digest of which figures a paper printed (each KPI's current and comparison, each
    figure quoted, by id, and each part's figure, by its KPI, role, column, part and window):
    a figure deleted from the file by hand, or one added, no longer matches it, where the
    appendix of revisions would have left the figure out and said nothing. A file without
    parts has the digest it had before they were listed."""
    keys = sorted(f"{item.get('kpi')}\t{item.get('role')}"
                  + ("\tcases" if isinstance(item, dict) and "cases" in item else "")
                  for item in items)
    keys += sorted(f"part\t{_part_key(item, apart=False)}" for item in parts
                   if isinstance(item, dict))
    return hashlib.sha256("\n".join(keys).encode("utf-8")).hexdigest()[:16]


def _check_printed(path: Path, doc: dict, hint: str) -> None:
    """The figures listed are the ones kpi wrote (`_printed`), where the file records them (a
    file of an older kpi does not)."""
    if "printed" not in doc and "count" not in doc:
        return
    listed = len(_listed(doc)) + len(_parts(doc))
    count = doc.get("count")
    if isinstance(count, int) and not isinstance(count, bool) and count != listed:
        raise DataError(f"{path}: it lists {listed:,} figure(s), but kpi wrote {count:,} "
                        f"(its \"count\"): figures were {'deleted' if listed < count else 'added'}"
                        " since kpi wrote it, and the appendix of revisions would leave them "
                        "out", hint=hint)
    if doc.get("printed") != _printed(_listed(doc), _parts(doc)):
        raise DataError(f"{path}: the figures it lists are not the ones kpi wrote (its "
                        "\"printed\" digest): figures were deleted, added or renamed since kpi "
                        "wrote it, and the appendix of revisions would leave them out",
                        hint=hint)


def dumps(project: Project, report, priority: str | None, as_of: str | None,
          quoted: Sequence[tuple] = (), parts: Sequence = (),
          cases: frozenset[str] = frozenset()) -> bytes:
    return (json.dumps(figures(project, report, priority, as_of, quoted, parts, cases),
                       indent=2,
                       ensure_ascii=False) + "\n").encode("utf-8")


def load(path: Path, project: Project, month: Month | None = None) -> dict:
    """The last paper's figures file, checked: its shape, that it is this project's (by name),
    of a month no later than `month` (this paper's), that it names at least one of this
    project's KPIs, and that each figure of a KPI defined as it was then is shown as kpi
    prints its value (a figure edited by hand would be printed as what the last paper said).
    Every fault is the file's (exit 3), never the command line's."""
    hint = "pass the .figures.json written beside the last paper"
    if not path.is_file():
        raise UsageError(f"{option('--previous')} '{path}' is not a file", hint=hint)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise DataError(f"{path}: not a figures file (nested too deeply)", hint=hint) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{path}: not a figures file ({error})", hint=hint) from error
    if not isinstance(doc, dict) or doc.get("format") != FORMAT \
            or not isinstance(doc.get("figures"), list) \
            or not isinstance(doc.get("quoted", []), list) \
            or not isinstance(doc.get("parts", []), list):
        raise DataError(f"{path}: not a figures file (no \"format\": \"{FORMAT}\")", hint=hint)
    refuse_unsafe_text(doc, str(path), DataError)
    try:
        Month.typed(str(doc.get("period")))
        Comparison(doc.get("comparison"))
    except (KpiError, ValueError):
        raise DataError(f"{path}: its \"period\" or \"comparison\" is not one a paper writes "
                        f"(found {json.dumps(doc.get('period'))}, "
                        f"{json.dumps(doc.get('comparison'))})", hint=hint) from None
    for number, item in enumerate(_listed(doc), start=1):
        fields = [item.get(k) for k in ("kpi", "window", "shown")] \
            if isinstance(item, dict) else [None]
        if not all(isinstance(f, str) for f in fields):
            raise DataError(f"{path}: figure {number} lacks its kpi, window or shown value as "
                            "text", hint=hint)
        if any(k in item and not isinstance(item[k], str) for k in ("title", "definition")) \
                or ("value" in item and (isinstance(item["value"], bool)
                                         or not isinstance(item["value"], int | float))):
            raise DataError(f"{path}: figure {number}: its title and definition must be text "
                            "and its value a number", hint=hint)
        if "cases" in item and not (
                isinstance(item["cases"], list) and len(item["cases"]) == 2
                and all(isinstance(v, int | float) and not isinstance(v, bool)
                        for v in item["cases"])
                and isinstance(item.get("cases_shown"), str)):
            raise DataError(f"{path}: figure {number}: its cases must be two numbers, its "
                            "cases and base, and cases_shown their text", hint=hint)
        if not _is_window_code(str(fields[1])):
            # Matched against nothing, the figure would read as "not revised".
            raise DataError(f"{path}: figure {number}: window {json.dumps(fields[1])} is not "
                            "one a paper writes ('YE 2025-09', 'AT 2025-09' or "
                            "'2025-04..2025-09')", hint=hint)
    for number, item in enumerate(_parts(doc), start=1):
        _check_part(path, number, item, hint)
    if doc.get("project") != project.name:
        raise DataError(f"{path}: the figures of project {json.dumps(doc.get('project'))}, not "
                        f"of this project ({json.dumps(project.name)})",
                        hint="pass the .figures.json of this project's last paper")
    if not any(project.kpi(f["kpi"]) is not None for f in doc["figures"]):
        raise DataError(f"{path}: none of its {len(doc['figures']):,} figure(s) is of a KPI "
                        f"of {project.path.name}, so no revision could be found",
                        hint="pass the .figures.json of this project's last paper (KPIs "
                             "renamed since cannot be compared)")
    _check_origins(path, doc, project)
    period = Month.typed(str(doc["period"]))
    if month is not None and period > month:
        raise DataError(f"{path}: the figures of the paper for {period.name}, later than this "
                        f"paper's month ({month.name}), so none was printed before it",
                        hint="pass the .figures.json of the paper for this month or an "
                             "earlier one")
    partners = {(item.get("kpi"), item.get("role")): item.get("value")
                for item in doc["figures"]}
    for number, item in enumerate(_listed(doc), start=1):
        kpi = project.kpi(item["kpi"])
        if kpi is None or "value" not in item or not same_definition(
                project, kpi, item.get("definition")):
            continue
        # As kpi prints it now (beside the other window's figure), or to the KPI's own places
        # as a figures file written before a figure beside its target, or beside the other
        # window's, was printed to the places that show its verdict or its change (89.96%,
        # once 90.0%): last month's paper must still be read. Beside the other window's
        # figure, either way round: a file written before the places of the two took only
        # the % change printed, from the comparison, printed 0.008 beside a comparison of
        # 0.0 as "0.01" (kpi.rounding.places_apart).
        # Its figure, not the name of its unit: a `unit_label` is the paper's wording,
        # changed without redefining the KPI, and a file written before every face named the
        # unit by it says "27 days" of a KPI in working days (`in_unit`).
        other = partners.get((item["kpi"], {"current": "comparison",
                                            "comparison": "current"}.get(item.get("role"))))
        if _figure(item["shown"]) not in {_figure(text) for text in (
                render.number(item["value"], kpi),
                render.number(item["value"], kpi, change=True),
                *(render.number(item["value"], kpi, beside=Beside(other, role))
                  for role in (True, False)))}:
            raise DataError(f"{path}: figure {number} ({item['kpi']}, {item['window']}): shown "
                            f"as {json.dumps(item['shown'])}, but its value "
                            f"{item['value']!r} prints as "
                            f"{json.dumps(render.number(item['value'], kpi))}: the file was "
                            "edited since kpi wrote it", hint=hint)
    from kpi.paper import cases_text

    for number, item in enumerate(_listed(doc), start=1):
        if "cases" in item and item["cases_shown"] != cases_text(
                (item["cases"][0], item["cases"][1])):
            raise DataError(f"{path}: figure {number} ({item['kpi']}, {item['window']}): its "
                            f"cases shown as {json.dumps(item['cases_shown'])}, but they "
                            f"print as {json.dumps(cases_text(tuple(item['cases'])))}: the "
                            "file was edited since kpi wrote it", hint=hint)
    for number, item in enumerate(_parts(doc), start=1):
        kpi = project.kpi(item["kpi"])
        if kpi is None or not same_definition(project, kpi, item.get("definition"),
                                              by=item["by"]):
            continue
        if _figure(item["shown"]) != _figure(render.number(item["value"], kpi)):
            raise DataError(f"{path}: part figure {number} ({item['kpi']}, "
                            f"{item['by']} {json.dumps(item['part'])}, {item['window']}): "
                            f"shown as {json.dumps(item['shown'])}, but its value "
                            f"{item['value']!r} prints as "
                            f"{json.dumps(render.number(item['value'], kpi))}: the file was "
                            "edited since kpi wrote it", hint=hint)
    _check_printed(path, doc, hint)
    return doc


def _check_part(path: Path, number: int, item: object, hint: str) -> None:
    """A part's figure in a figures file has the shape kpi writes: its KPI, column, part
    (text, or null for the rows with no value in the column), role, windows as a paper
    writes them, its value and the figure shown; read otherwise, it would be compared with
    nothing and read as "not revised"."""
    def number_of(value: object) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    fault = None
    if not isinstance(item, dict):
        fault = "is not a figure"
    elif not all(isinstance(item.get(k), str) for k in ("kpi", "by", "window", "shown", "name")) \
            or not isinstance(item.get("part"), str | None):
        fault = "lacks its kpi, column, part, name, window or shown value as text"
    elif item.get("role") not in ("current", "comparison") or not number_of(item.get("value")) \
            or not isinstance(item.get("held"), int) or isinstance(item.get("held"), bool) \
            or any(k in item and not isinstance(item[k], str)
                   for k in ("title", "definition", "by_label")):
        fault = ("must have a role (current or comparison), a number for its value and held, "
                 "and text for its title and definition")
    else:
        windows = item.get("windows")
        if not isinstance(windows, list) or len(windows) != 2 \
                or not isinstance(windows[0], str) or not _is_window_code(windows[0]) \
                or not (windows[1] is None or isinstance(windows[1], str)
                        and _is_window_code(windows[1])) \
                or item["window"] != windows[0 if item["role"] == "current" else 1]:
            fault = ("its windows are not those a paper writes ('YE 2025-09', 'AT 2025-09' "
                     "or '2025-04..2025-09'), its window among them")
    if fault is not None:
        raise DataError(f"{path}: part figure {number} {fault}", hint=hint)


def _check_origins(path: Path, doc: dict, project: Project) -> None:
    """The last paper's data is this project's: each dataset it read is the table this
    project holds (`store.table_origin`), not another project's of the same name (two forces'
    projects made from one preset share their name and KPIs, and every figure of the one read
    as revised in the other) nor this one's deleted and loaded anew, whose versions and rows
    the last paper never read. A file of an older kpi records no origins and is read as before."""
    origins = doc.get("origins")
    if origins is None:
        return
    hint = ("pass the .figures.json of the last paper written from this project's data (a "
            "table loaded anew since cannot be compared with the papers written before)")
    if not isinstance(origins, dict) or not all(
            isinstance(v, str | None) for v in origins.values()):
        raise DataError(f"{path}: its \"origins\" must map each dataset to the text kpi "
                        "wrote for it", hint=hint)
    for dataset, then in sorted(origins.items()):
        if dataset not in project.datasets or then is None:
            continue
        now = store.table_origin(store.table_path(project, dataset))
        if now is not None and now != then:
            raise DataError(f"{path}: the figures of another table of dataset '{dataset}' "
                            "than this project's (another project's of the same name, or "
                            "this one's deleted and loaded anew since): they cannot be "
                            "compared with this project's data", hint=hint)


_WINDOW_CODE = re.compile(r"(?:YE|AT) (\d{4}-\d{2})|(\d{4}-\d{2})\.\.(\d{4}-\d{2})")


def _is_window_code(text: str) -> bool:
    """Whether `text` is a window as `Window.code` writes it, its months real months."""
    found = _WINDOW_CODE.fullmatch(text)
    if found is None:
        return False
    try:
        for month in filter(None, found.groups()):
            Month.typed(month)
    except KpiError:
        return False
    return True


def _not_before_last(project: Project, last: dict, report, as_of: AsOf | None,
                     kpis: list) -> None:
    """A paper read `as_of` an earlier point than the last paper's data is refused with
    `--previous`: where it reads a dataset of the KPIs compared at a version before the one
    the last paper read, the figures it gives differ from that paper's by loads made before
    that paper was written, going back in time; where it reads no version of it (a version
    number the table never reached, a moment before it was first loaded), its figures would
    read "no figure". Listing either as "revised since the last paper" (as they were) would
    be a wrong claim."""
    if as_of is None or not isinstance(last.get("versions"), dict):
        return
    used = {m.dataset for k in kpis for m in engine.measures_of(project, k) if m.dataset}
    asked = option("--as-of", as_of.text or as_of)
    hint = (f"leave out {option('--previous')} to write the paper as the data stood then, or "
            "pass the figures file of a paper made from the data as it stood then")
    for dataset, then in sorted(last["versions"].items()):
        if dataset not in used or not isinstance(then, int) or isinstance(then, bool):
            continue
        now = report.versions.get(dataset)
        if now is None:
            raise UsageError(
                f"{asked} reads no version of dataset '{dataset}', whose version {then} the "
                f"last paper ({option('--previous')}) read: its figures would be listed as "
                "revised to no figure, where no load revised them",
                hint=f"give {option('--as-of')} a date or time, which reads each dataset as "
                     f"it stood then, or {hint}")
        if now < then:
            raise UsageError(
                f"{asked} reads dataset '{dataset}' at version {now}, before version {then} "
                f"that the last paper ({option('--previous')}) read: their differences are "
                "loads made before that paper, not revisions since it", hint=hint)


def _printed_windows(last: dict, kpis: list) -> dict[str, tuple[Window | None, Window | None]]:
    """The current and comparison window of each KPI's figures in the last paper (its
    figures file), by KPI id: the windows their revisions are computed over. A KPI whose
    breakdown's parts alone were printed (a chart of a hidden KPI) has its parts' windows,
    which are always its own figures'."""
    ids = {k.id for k in kpis}
    windows: dict[str, dict[str, Window]] = {}
    for figure in _listed(last) + _parts(last):
        # a figure quoted in another KPI's paragraph is its KPI's current one
        role = "current" if figure.get("role") == "quoted" else figure.get("role")
        if figure["kpi"] in ids and role in ("current", "comparison"):
            windows.setdefault(figure["kpi"], {}).setdefault(role, Window.from_code(
                figure["window"], prior=role == "comparison"))
    return {i: (w.get("current"), w.get("comparison")) for i, w in windows.items()}


# A unit's name after a printed figure ("27 days", "27 working days", "1 day"): letters and
# spaces after its last digit, sign or colon.
_UNIT_NAME = re.compile(r"(?: [^\W\d_]+)+$")


def _figure(shown: str) -> str:
    """A printed figure without its unit's name: '27 days' and '27 working days' to '27';
    '45.0%', '£100' and '2:04' as they are."""
    return _UNIT_NAME.sub("", shown)


def in_unit(shown: str, kpi) -> str:
    """A figure the last paper printed (its figures file's `shown`), named in the unit its KPI
    declares now (`render.unit_name`, as `render.number` names it): "8.8 days" of a KPI in
    working days, as a file written before every face named the unit by its `unit_label`
    says it, is "8.8 working days", as the rest of the paper prints the KPI's figures."""
    name = render.unit_name(kpi) if kpi.unit == Unit.DAYS else ""
    if not name or not any(char.isdigit() for char in shown):
        return shown
    return render.counted(_figure(shown), name)


def _alone(value: float, kpi) -> str:
    """A figure as the paper prints it on its own: an amount of a million pounds or more in
    millions to one decimal ("£82.2m", `render.value_words`), as every face of the paper says
    it, where the figures file's `shown` has it to the pound; any other as `render.number`."""
    return render.value_words(value, kpi) if kpi.unit == Unit.GBP \
        else render.number(value, kpi)


def _as_printed(value: float, old: float, shown: str, kpi) -> str:
    """The figure now, to the places the last paper printed its figure to where those were
    more than it takes alone (beside the other window's figure): "51.87%" then and "44.27%"
    now, not "44.3%" beside it; and to more where the figure now takes more alone (beside its
    target). The places are those at which the last paper's value prints as it printed it
    (its figure: the name of its unit may have been other, `in_unit`)."""
    then = render.shown_places(old, kpi)
    for digits in range(then + 1, then + 7):
        if _figure(render.number(old, kpi, digits=digits)) == _figure(shown):
            return render.number(value, kpi,
                                 digits=max(digits, render.shown_places(value, kpi)))
    return render.number(value, kpi)


def compare(project: Project, last: dict, report, as_of: AsOf | None) -> Revisions:
    """Figures the last paper printed whose value, recomputed for the same window from the
    data this paper uses, now reads differently; a figure of a KPI still shown that the data
    no longer gives (a month of its window no longer held, or a part of it) is revised to
    "no figure", never taken as unchanged. The window is the one the last paper printed the
    figure for (`_printed_windows`), not the one its period would be given now: a month
    loaded since moves no figure printed. A KPI whose definition changed since is named
    as redefined, not compared: its figures moved because the definition did. A last paper
    of a later month than this one is refused (`load`)."""
    from kpi.paper import cases_text

    period = Month.typed(str(last["period"]))
    listed = _listed(last)
    parts = _parts(last)
    known = [project.kpi(i) for i in dict.fromkeys(f["kpi"] for f in listed + parts)]
    # a hidden KPI's figure the last paper quoted, or its breakdown's parts a figure drew,
    # was printed, and is compared as any other
    quoted = {f["kpi"] for f in listed if f.get("role") == "quoted"} | {
        f["kpi"] for f in parts}
    shown = [k for k in known if k is not None and (not k.hidden or k.id in quoted)]
    judged: dict[tuple, bool] = {}

    def moved(kpi, figure: dict) -> bool:
        """Whether a figure's KPI (a part's: and its breakdown's column) is defined otherwise
        than the file records (a file of a kpi before definitions were recorded: not told)."""
        recorded = figure.get("definition")
        key = (kpi.id, figure.get("by"), recorded)
        if recorded is not None and key not in judged:
            judged[key] = not same_definition(project, kpi, recorded, by=figure.get("by"))
        return recorded is not None and judged[key]

    redefined = [k for k in shown if any(moved(k, f) for f in listed if f["kpi"] == k.id)]
    kpis = [k for k in shown if k not in redefined]
    # A breakdown whose column is derived otherwise now (its KPI's own figures not): its
    # parts are not compared, and it is named as redefined.
    # (one by a column its dataset no longer has is not compared either, `_revised_parts`)
    rederived = list(dict.fromkeys((f["kpi"], f["by"]) for f in parts if any(
        k.id == f["kpi"] for k in kpis) and _has_column(project, f["kpi"], f["by"])
        and moved(project.known_kpi(f["kpi"]), f)))
    labels = {(f["kpi"], f["by"]): f.get("by_label") or f["by"] for f in parts}
    _not_before_last(project, last, report, as_of, kpis)
    now: dict[tuple[str, str], float] = {}
    # the cases and base of each figure recomputed, where it has them (`figures`' "cases")
    cases_now: dict[tuple[str, str], tuple[float, float]] = {}
    if kpis:
        # Each figure recomputed for the window the last paper printed it for, never the
        # window its period would be given now: a KPI whose data then stopped short of the
        # period (stale, or a gap) reports a later window once the month is loaded, and its
        # figure printed would read as revised to "no figure" where no record changed.
        again = engine.evaluate(project, period, Comparison(last["comparison"]), kpis,
                                as_of=as_of, given=_printed_windows(last, kpis))
        for result in again.results:
            for measured in (result.current, result.comparison):
                if measured is not None and measured.value is not None:
                    now[(result.kpi.id, measured.window.code)] = measured.value
                    if measured.numerator is not None and measured.denominator is not None:
                        cases_now[(result.kpi.id, measured.window.code)] = (
                            measured.numerator, measured.denominator)
    items = []
    seen = set()
    for figure in listed:
        key = (figure["kpi"], figure["window"])
        kpi = project.kpi(figure["kpi"])
        if key in seen or kpi is None or kpi not in kpis:
            continue
        seen.add(key)
        value = now.get(key)
        after = "no figure" if value is None else _alone(value, kpi)
        # Compared as printed on its own (its KPI's places, or its target's; millions of
        # pounds as "£82.2m"): the paper printed it beside the other window's figure, to as
        # many places as that pair needed, which is no revision of its own.
        old = figure.get("value")
        old = old if isinstance(old, int | float) and not isinstance(old, bool) else None
        before = _alone(old, kpi) if old is not None else in_unit(figure["shown"], kpi)
        if after != before:
            pounds = kpi.unit == Unit.GBP and old is not None
            items.append(Revision(kpi.id, kpi.title, str(figure.get("window_label") or
                                                         figure["window"]),
                                  before if pounds else in_unit(str(figure["shown"]), kpi),
                                  after if value is None or old is None or pounds
                                  else _as_printed(value, old, str(figure["shown"]), kpi)))
        if "cases" in figure:
            # the cases and base its paragraph printed beside it ("15,604 of 21,672")
            again_cases = cases_now.get(key)
            then_cases = cases_text((figure["cases"][0], figure["cases"][1]))
            now_cases = "no figure" if value is None or again_cases is None \
                else cases_text(again_cases)
            if now_cases != then_cases:
                items.append(Revision(kpi.id, f"{kpi.title}, its cases and base",
                                      str(figure.get("window_label") or figure["window"]),
                                      then_cases, now_cases))
    items += _revised_changes(listed, kpis, now, {r.kpi_id for r in items})
    revised_parts, gone = _revised_parts(
        project, [p for p in parts if (p["kpi"], p["by"]) not in rederived], kpis, now, as_of)
    items += revised_parts
    dropped = tuple(dict.fromkeys(
        [str(f.get("title") or f["kpi"]) for f in listed + parts
         if (k := project.kpi(f["kpi"])) is None or k.hidden and k.id not in quoted] + gone))
    redone = [k.title for k in redefined] + [
        f"{project.known_kpi(i).title} by {labels[(i, by)]}" for i, by in rederived]
    return Revisions(period.name, tuple(items), tuple(redone), dropped,
                     unchecked=any("definition" not in f for f in listed),
                     parts_compared="parts" in last)


def _revised_changes(listed: list, kpis: list, now: dict[tuple[str, str], float],
                     revised: set[str]) -> list[Revision]:
    """The change between a KPI's two figures, as printed ("+0.8 days (+10.5%)"), where it
    reads differently now though neither figure does: both figures print "8.8 days" and
    "8.0 days" to their places, while the mean they round moved from 8.84 to 8.80 and the
    change printed beside them from +10.5% to +10.0%; it was said that no figure printed had
    been revised. Made from the last paper's values (its figures file keeps each in full) and
    today's, by the one rule of a change (`engine.change_between`, `render.change_text`); a
    KPI one of whose figures is revised (`revised`) is listed there, its change with it."""
    by_id = {k.id: k for k in kpis}
    pairs: dict[str, dict[str, dict]] = {}
    for figure in listed:
        if figure["kpi"] in by_id and figure.get("role") in ("current", "comparison"):
            pairs.setdefault(figure["kpi"], {})[figure["role"]] = figure
    out = []
    for kpi_id, pair in pairs.items():
        if kpi_id in revised or len(pair) != 2:
            continue
        current, comparison = pair["current"], pair["comparison"]
        revision = _change_revised(by_id[kpi_id], by_id[kpi_id].title, current, comparison,
                                   [now.get((kpi_id, f["window"]))
                                    for f in (current, comparison)])
        if revision is not None:
            out.append(revision)
    return out


def _change_revised(kpi, title: str, current: dict, comparison: dict,
                    new: list) -> Revision | None:
    """The change between two figures the last paper printed (`current`, `comparison`: their
    figures file entries) where it reads otherwise between today's (`new`: current first),
    by the one rule of a change (`engine.change_between`, `render.change_text`): a KPI's
    (`_revised_changes`) or a breakdown part's (`_revised_parts`). None where it reads the
    same, or either window has no figure then or now."""
    values = [current.get("value"), comparison.get("value"), *new]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return None
    then = render.change_text(engine.change_between(kpi, values[0], values[1]), kpi)
    today = render.change_text(engine.change_between(kpi, values[2], values[3]), kpi)
    if then == today:
        return None
    return Revision(kpi.id, f"{title}, its change from the "
                            f"{comparison.get('window_label') or comparison['window']}",
                    str(current.get("window_label") or current["window"]), then, today)


def _has_column(project: Project, kpi_id: str, column: str) -> bool:
    """Whether a KPI's dataset still has a breakdown's column (declared or derived)."""
    dataset = project.datasets.get(project.known_kpi(kpi_id).source)
    return dataset is not None and dataset.has_column(column)


def _part_title(kpi, item: dict) -> str:
    """How the appendix names a part's figure: 'Total recorded crime, by LPA: Coventry'."""
    return f"{kpi.title}, by {item.get('by_label') or item['by']}: {item['name']}"


def _revised_parts(project: Project, parts: list, kpis: list,
                   now: dict[tuple[str, str], float], as_of: AsOf | None
                   ) -> tuple[list[Revision], list[str]]:
    """The figures of breakdowns' parts the last paper printed (`parts`) that the data now
    gives differently, each recomputed over the windows of the breakdown it was printed from,
    by the rules of a KPI's own figure: compared at its KPI's own places, and "no figure"
    where the part has none now, or where its KPI has no figure for the window (a month of
    it no longer held). A part the data gives now that the breakdown did not hold, where the
    last paper printed every part of it (`held`), is listed as "no figure" then, in each
    window of the breakdown printed, by the same rule (`_part_value`: a total of no rows
    then, of 0 now, is no revision). Also
    returns the breakdowns by a column the KPI's dataset no longer has ("Incidents by
    area"), which are not compared (a change of the project, not of the data)."""
    by_id = {k.id: k for k in kpis}

    def held_column(item: dict) -> bool:
        return _has_column(project, item["kpi"], item["by"])

    wanted = [p for p in parts if p["kpi"] in by_id and held_column(p)]
    gone = list(dict.fromkeys(f"{by_id[p['kpi']].title} by {p.get('by_label') or p['by']}"
                              for p in parts if p["kpi"] in by_id and not held_column(p)))
    if not wanted:
        return [], gone

    def windows(item: dict) -> tuple[Window, Window | None]:
        current, comparison = item["windows"]
        return (Window.from_code(current),
                None if comparison is None else Window.from_code(comparison, prior=True))

    requests = {(p["kpi"], p["by"], *windows(p)) for p in wanted}
    frames = engine.breakdowns(project, [(by_id[k], by, current, comparison)
                                         for k, by, current, comparison in sorted(
                                             requests, key=str)], as_of)
    items: list[Revision] = []
    seen: set[str] = set()
    printed: dict[tuple, set] = {}
    # Each part's figures printed then, with today's, by role; and the parts a figure of
    # which is revised.
    pairs: dict[tuple, dict[str, tuple[dict, object]]] = {}
    revised: set[tuple] = set()
    for item in wanted:
        key = _part_key(item)
        if key in seen:
            continue
        seen.add(key)
        kpi = by_id[item["kpi"]]
        current, comparison = windows(item)
        printed.setdefault((kpi.id, item["by"], current.code), set()).add(item["part"])
        frame = frames.get((kpi.id, item["by"], current, comparison))
        value = None
        if frame is not None and (kpi.id, item["window"]) in now:
            rows = [r for r in frame.iter_rows(named=True)
                    if _part_text(r["part"]) == item["part"]]
            value = _part_value(kpi, rows[0] if rows else None, item["role"], item["value"])
        after = "no figure" if value is None else _alone(value, kpi)
        part = (kpi.id, item["by"], current.code, item["part"])
        pairs.setdefault(part, {})[item["role"]] = (item, value)
        if after != (before := _alone(item["value"], kpi)):
            revised.add(part)
            items.append(Revision(kpi.id, _part_title(kpi, item),
                                  str(item.get("window_label") or item["window"]),
                                  before if kpi.unit == Unit.GBP
                                  else in_unit(str(item["shown"]), kpi), after))
    # A part's change, as its breakdown printed it, where it reads differently now though
    # neither of its figures does (`_revised_changes`, for a part): West's mean printed "0:11"
    # in both windows, then and now, while its change moved from +10.0% to +12.5%.
    for part, roles in pairs.items():
        if part in revised or set(roles) != {"current", "comparison"}:
            continue
        kpi = by_id[part[0]]
        (was, now_current), (was_comparison, now_comparison) = (roles["current"],
                                                                roles["comparison"])
        revision = _change_revised(kpi, _part_title(kpi, was), was, was_comparison,
                                   [now_current, now_comparison])
        if revision is not None:
            items.append(revision)
    # Parts the data gives now that a breakdown printed whole did not hold then: each window
    # of it the paper printed, by the rule of a part's figure then as now (`_part_value`).
    # (Only the current window's was read, its figure listed as "no figure" then where a
    # count of no rows then and now is no revision, and the comparison window's revision
    # missed: West, no row in the year to August 2025 and one in the year to March 2024.)
    done: set[tuple] = set()
    for item in wanted:
        kpi = by_id[item["kpi"]]
        current, comparison = windows(item)
        whole = (kpi.id, item["by"], current.code)
        names = printed.get(whole, set())
        if whole in done or len(names) != item["held"]:
            continue
        done.add(whole)
        frame = frames.get((kpi.id, item["by"], current, comparison))
        if frame is None:
            continue
        # each window the breakdown's figures were printed for, with its wording, where its
        # KPI has a figure for it now
        printed_windows = {p["role"]: p for p in wanted
                           if (p["kpi"], p["by"], windows(p)[0].code) == whole
                           and (kpi.id, p["window"]) in now}
        for row in frame.iter_rows(named=True):
            if _part_text(row["part"]) in names:
                continue
            name = blank_name(frame["part"]) if row["part"] is None else str(row["part"])
            for role in ("current", "comparison"):
                if role not in printed_windows:
                    continue
                value = row[role]
                then = _part_value(kpi, None, role, value)
                before = "no figure" if then is None else _alone(then, kpi)
                after = "no figure" if value is None else _alone(value, kpi)
                if before != after:
                    shown = printed_windows[role]
                    items.append(Revision(kpi.id, _part_title(kpi, {**item, "name": name}),
                                          str(shown.get("window_label") or shown["window"]),
                                          before, after))
    return items, gone


def _part_value(kpi, row: dict | None, role: str, beside: object) -> float | None:
    """A part's figure for a window (`role`: "current" or "comparison") as its breakdown
    gives it (`row`; None where the breakdown does not list the part, then or now), the one
    rule for a part's figure in the last paper and in the data now. Not listed, a total
    (`KpiDef.is_total`: a count, sum, harm score or headcount) beside a figure of 0 on the
    other side (`beside`: then or now) is 0, as the paper counts a part of no rows, so no
    revision; any other has no figure."""
    if row is not None:
        return row[role]
    return 0 if kpi.is_total and beside == 0 else None


def _part_text(part: object) -> str | None:
    """A part's value as a figures file writes it."""
    return None if part is None else str(part)
