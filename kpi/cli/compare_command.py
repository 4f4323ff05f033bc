"""kpi compare: every part of a column (force, LPA, ...) side by side, ranked."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from kpi.cli import (
    AsOfOpt,
    FormatOpt,
    OutputOpt,
    PeriodOpt,
    VsOpt,
    app,
    check_format_output,
    complete_kpis,
    emit_document,
    emit_workbook,
    examples,
    handled,
    note,
    open_project,
    working,
)
from kpi.periods import Comparison
from kpi.render import Format
from kpi.rounding import fixed


@app.command()
@examples(
    "kpi compare --period 2025-09 --by lpa",
    "kpi compare --period 2025-09 --by lpa --kpi knife_crime --focus Birmingham",
    "kpi compare --period 2025-09 --by force --peers most_similar --format csv",
)
@handled
def compare(
    period: PeriodOpt,
    by: Annotated[str, typer.Option(
        "--by", help="The column whose parts are compared (e.g. force, lpa).")],
    vs: VsOpt = Comparison.BASELINE,
    kpi: Annotated[list[str] | None, typer.Option(
        "--kpi", autocompletion=complete_kpis,
        help="Only this KPI (its id; repeatable). Default: every KPI that can be "
             "split by the column.")] = None,
    focus: Annotated[str | None, typer.Option(
        "--focus", help="The part to highlight and test the others against (e.g. your "
                        "force).")] = None,
    peers: Annotated[str | None, typer.Option(
        "--peers", help="Only the members of this peer group ([peers.NAME] in kpi.toml), "
                        "ranked among themselves.")] = None,
    format: FormatOpt = Format.TABLE,
    output: OutputOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Parts side by side: values, change, status, rank (ties equal), group mean and median,
    per 1,000 population, and whether each part differs from the others beyond chance."""
    from kpi.api import require_parts
    from kpi.compare import shared_notes
    from kpi.periods import Month
    from kpi.store import AsOf

    # Parsed before the project is opened, so a mistyped option fails before any work.
    month, cutoff = Month.typed(period), AsOf.parse(as_of) if as_of else None
    check_format_output(format, output)
    project = open_project(output)
    with working(f"Comparing by {by}..."):
        result = project.comparison(month, by, vs, kpis=kpi, peers=peers, focus=focus,
                                    as_of=cutoff)
    require_parts(project.definition, result)  # before the notes: a refusal is one line
    for line in result.notes:
        note(f"Note: {line}")
    for line in shared_notes(result):
        note(f"Note: {line}")
    if format == Format.XLSX:
        import polars as pl

        from kpi.api import comparison_about, comparison_frame
        from kpi.render import covers_text
        from kpi.writers.xlsx import Sheet, kpi_places

        # A cell holds text: the notes joined, as the CSV joins them, and what each part's
        # figure adds together as the CSV writes it.
        frame = comparison_frame(result)
        frame = frame.with_columns(pl.col("notes").list.join("; "), pl.Series(
            "covers", [covers_text(c) for c in frame["covers"].to_list()], dtype=pl.String))
        # Each KPI's rows to its table's places (columns_places), in comparison_rows' order:
        # a KPI with no parts has one row, with no figures.
        values: list[int | None] = []
        rates: list[int | None] = []
        # Each part's change to the places its status is judged at (Change.places), as the
        # text prints it, whatever its figures take in the column.
        changes: list[int | None] = []
        for k in result.kpis:
            digits, rate_digits = columns_places(k)
            values += [digits] * len(k.parts) or [None]
            rates += [rate_digits] * len(k.parts) or [None]
            changes += [p.change.places if p.change else None for p in k.parts] or [None]
        emit_workbook(comparison_about(project.name, result, as_of),
                      [Sheet("Compare", frame, "compare",
                             places=kpi_places(k.kpi for k in result.kpis),
                             target={k.kpi.id: k.kpi.target for k in result.kpis},
                             row_column_places={"current_value": values,
                                                "comparison_value": values,
                                                "per_1000": rates,
                                                "change_absolute": changes,
                                                "change_points": changes})], output)
        return
    document = (comparison_csv(result) if format in (Format.CSV, Format.CSV_EXCEL)
                else comparison_document(result, project.name))
    emit_document(document, format, output)


def _test(result) -> dict[str, Any] | None:
    from kpi.compare import judged_among
    from kpi.stats import NOT_TESTED

    if result is None:
        return None
    # null where no test applies, as the summary's `significance.test` and `kpi show`'s
    # `signal.test`; `note` says why.
    return {"test": None if result.test == NOT_TESTED else result.test,
            "statistic": result.statistic, "p_value": result.p_value,
            "significant": result.significant, "note": result.note,
            "tests": judged_among(result)}


def comparison_json(result) -> dict[str, Any]:
    """The JSON document of a comparison (shape: docs/json.md)."""
    from kpi.catalogue import Unit
    from kpi.engine import no_change
    from kpi.render import (
        average_json,
        change_json,
        covers_json,
        json_number,
        population_fields,
        unit_name,
        window_json,
    )

    # Every figure through the functions the summary writes its own with (kpi.render), so a
    # whole count is `30` here as there, never `30.0`.
    return {
        "period": str(result.period),
        "comparison": result.vs.value,
        "by": result.by,
        "focus": result.focus,
        "peers": ({"id": result.peers.id, "title": result.peers.title,
                   "members": list(result.peers.members)} if result.peers else None),
        "versions": dict(sorted(result.versions.items())),
        "notes": list(result.notes),
        "kpis": [{
            "id": k.kpi.id, "title": k.kpi.title, "unit": k.kpi.unit.value,
            "unit_label": unit_name(k.kpi) or None,
            "better": k.kpi.better.value, "ranked_on": k.ranked_on,
            "mean": average_json(k.mean, k.kpi), "median": average_json(k.median, k.kpi),
            "mean_per_1000": k.mean_per_1000, "median_per_1000": k.median_per_1000,
            "note": k.note,
            # where the populations its parts' per 1,000 divide by come from (kpi.render)
            **population_fields(k.population),
            "parts": [{
                "name": p.name, "focus": p.name == k.focus,
                "current": window_json(p.current, k.kpi, labelled=False),
                "comparison": window_json(p.comparison, k.kpi, labelled=False),
                "change": change_json(p.change, k.kpi, no_change(p)),
                "status": p.status, "rank": p.rank,
                # people, as the summary's denominator of a figure per 1,000 is
                "population": json_number(p.population, Unit.COUNT),
                "per_1000": p.per_1000,
                "vs_rest": _test(p.vs_rest), "vs_focus": _test(p.vs_focus),
                "change_vs_rest": _test(p.change_vs_rest),
                # what the part's figure adds together, as the summary's `covers`
                "covers": covers_json(p),
            } for p in k.parts],
        } for k in result.kpis],
    }


def comparison_csv(result):
    """One row per KPI and part, for spreadsheets and programs."""
    from kpi.compare import ROW_COLUMNS, comparison_rows
    from kpi.render import Document, Section, covers_text

    # A cell holds text: the comparison's notes joined, as the summary's CSV joins its
    # data-quality notes.
    # And what a part's figure adds together (last), as the summary's CSV writes it.
    at = ROW_COLUMNS.index("notes")
    rows = [(*row[:at], "; ".join(row[at]), *row[at + 1:-1], covers_text(row[-1]))
            for row in comparison_rows(result)]
    return Document("compare", (Section("compare", ROW_COLUMNS, rows),),
                    data=comparison_json(result))


def _judged_at(header: str, tests) -> str:
    """A test column's header, with the p-value below which its parts' tests say "yes" where
    there are several (stats.part_threshold): 'differs from the rest (p<0.0071)'."""
    from kpi.stats import threshold_text

    made = max((t.tests for t in tests if t is not None and t.p_value is not None), default=1)
    return f"{header} (p<{threshold_text(made)})" if made > 1 else header


def _difference(test) -> str:
    """'yes (p<0.001)', 'no (p=0.210)', or '—' when not tested; the p-value to the places
    at which it reads on its side of the level its column judges it at (stats.p_text):
    'no (p=0.0075)' under 'p<0.05/7'."""
    from kpi.stats import p_text

    if test is None or test.significant is None:
        return "—"
    return f"{'yes' if test.significant else 'no'} (p={p_text(test.p_value, test.tests)})" \
        .replace("p=<", "p<")


def columns_places(compared) -> tuple[int, int]:
    """The places of a comparison's value columns (its parts' current and comparison
    figures) and of its per 1,000 column, each one number for its column: the column the
    parts are ranked or listed by (`ranked_on`) to as many as it takes for two parts that
    differ to print differently (`kpi.rounding.places_ranked`), per 1,000 from two places."""
    from kpi.render import ranked_places
    from kpi.rounding import places_ranked

    parts = compared.parts
    values = [p.current.value if p.current else None for p in parts]
    rows = [(v, p.comparison.value if p.comparison else None)
            for v, p in zip(values, parts, strict=True)]
    # Unranked parts (no better direction) are still listed by their value, largest first.
    digits = ranked_places(values if compared.ranked_on != "per_1000" else [], compared.kpi,
                           rows)
    rates = [p.per_1000 for p in parts] if compared.ranked_on == "per_1000" else []
    return digits, places_ranked(rates, 2)


def _of_populations(source) -> str:
    """' of illustrative populations (...)' or ' of populations from ...': where the
    [population_by] figures the parts' rates per 1,000 divide by come from, as the JSON's
    `population_source` and `population_illustrative` say it; "" where it declares neither."""
    if source is None or not (source.illustrative or source.source):
        return ""
    if source.illustrative:
        return " of illustrative populations" + (f" ({source.source})" if source.source
                                                 else "")
    return f" of populations from {source.source}"


RANKED = {"per_1000": "ranked per 1,000 population", "value": "ranked on the values",
          None: "not ranked: no better direction"}


# What the focus's own row says in the column of the tests against the focus (the table and
# Markdown of `kpi compare --focus`, or a peer group's focus): the one mark of the focus.
FOCUS_CELL = "the focus"


def comparison_document(result, project_name: str):
    """Tables: one section per KPI, parts in rank order, the focus part marked."""
    from kpi.compare import part_covers_lines
    from kpi.engine import no_change
    from kpi.render import (
        STATUS_WORDS,
        Document,
        Section,
        change_text,
        number,
    )

    against = f"against {result.vs.value}"
    group = f", peer group {result.peers.title}" if result.peers else ""
    heading = f"{project_name}: by {result.by}, period {result.period} {against}{group}"
    sections = []
    for k in result.kpis:
        kpi = k.kpi
        title = k.kpi.title
        if k.current is not None:
            title += f", {k.current.code}" + (f" vs {k.comparison.code}" if k.comparison
                                              else "")
        if k.parts:
            title += f" (mean {number(k.mean, kpi)}, median {number(k.median, kpi)}"
            if k.mean_per_1000 is not None:
                title += (f"; per 1,000{_of_populations(k.population)} mean "
                          f"{fixed(k.mean_per_1000, 2, True)}, median "
                          f"{fixed(k.median_per_1000, 2, True)}")
                # Of the parts with a population only: said where a part with a value has
                # none, as the values' mean and median are of every part with a value.
                valued = [p for p in k.parts if p.current and p.current.value is not None]
                counted = sum(p.per_1000 is not None for p in valued)
                if counted < len(valued):
                    title += (f" (of the {counted} part{'s' if counted != 1 else ''} with a "
                              "population)")
            title += f"; {RANKED[k.ranked_on]})"
        if not k.parts:
            sections.append(Section(title, ("note",), [(k.note or "no data",)]))
            continue
        per_1000 = any(p.per_1000 is not None for p in k.parts)
        focus_test = result.focus is not None
        columns = ["rank", result.by, "comparison", "current", "change", "status"]
        # A count's parts' changes against the others' pooled change: the test by which the
        # board paper finds a part whose change stands out (stats.against_rest), beside the
        # change, so a part the paper names is one this table says differs.
        changes = any(p.change_vs_rest is not None for p in k.parts)
        columns += [_judged_at("change differs from the rest's",
                               [p.change_vs_rest for p in k.parts])] if changes else []
        columns += ["per 1,000"] if per_1000 else []
        # Each column's tests are judged at the level divided among them (stats.among): the
        # header says the p-value a "yes" needs, so "no (p=0.030)" reads as meant.
        columns += [_judged_at("differs from the rest", [p.vs_rest for p in k.parts])]
        columns += [_judged_at(f"differs from {result.focus}", [p.vs_focus for p in k.parts])
                    ] if focus_test else []
        # Each column to one number of places, at which the column the parts are ranked by
        # never prints two that differ alike (a tie, or a ranking read the wrong way), and each
        # part's two windows read apart where its change reads as one (ranked_places).
        digits, rate_digits = columns_places(k)
        rows = []
        for p in k.parts:
            # The focus is marked in its own cell, never in its name: a part "Avon (focus)"
            # beside the focus "Avon" printed as it does.
            row = [p.rank if p.rank is not None else "—", p.name,
                   number(p.comparison.value, kpi, digits=digits) if p.comparison else "n/a",
                   number(p.current.value, kpi, digits=digits) if p.current else "n/a",
                   # To the places its status is judged at (Change.places), whatever its
                   # figures take in the column: "0.0pp" beside "stable", never "+0.0002pp".
                   change_text(p.change, kpi) if p.change else str(no_change(p)),
                   STATUS_WORDS.get(p.status, p.status)]
            row += [_difference(p.change_vs_rest)] if changes else []
            row += [fixed(p.per_1000, rate_digits, True) if p.per_1000 is not None
                    else "n/a"] if per_1000 else []
            row += [_difference(p.vs_rest)]
            row += [_difference(p.vs_focus) if p.name != k.focus else FOCUS_CELL] \
                if focus_test else []
            rows.append(tuple(row))
        sections.append(Section(title, tuple(columns), rows, status_column="status"))
    # What the parts' figures add together, where a part's adds several forces (or other
    # parts the data is loaded or compared by): a crime type of three forces loaded.
    covered = [line for k in result.kpis for line in part_covers_lines(k)]
    if covered:
        sections.append(Section("Covers", ("note",), [(line,) for line in covered],
                                headers=False))
    return Document(heading, tuple(sections), data=comparison_json(result))
