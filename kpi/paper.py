"""The board paper: engine results in, a Markdown document shaped like the monthly report out.

The paper follows the catalogue: an introduction stating the windows and the comparison, one
numbered section per plan priority in plan order, one numbered paragraph per KPI, tables for
runs of KPIs that declare the same `table`, LPA rankings and top parts where a KPI declares
breakdowns, figures where [[charts]] anchor them, and an appendix (outcome codes glossary, KPI
definitions). Every number in a sentence is a value, comparison or change the engine computed,
rounded exactly as `kpi summary` shows it, and the words follow the numbers: increase or
decrease by sign, percentage points for rates, minutes and seconds for durations, an absolute
change on a small base. Status words come from the engine's status where the change is
significant, and "no significant change" or "not tested" otherwise (`shown_status`), so
"deteriorating" is never said of noise. Each KPI's verdict (kpi.verdicts: significance,
variation, target and assurance) is worded by the small functions under "Words for
verdicts", so no paragraph presents noise as a change; each section opens with a summary table
of the verdicts, and a process chart (XmR) follows every KPI with a special cause or a target.

Building the text never prints and never reads the clock, so the same data and options give
the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kpi import engine, render, stats, verdicts
from kpi.catalogue import (
    BOUNDS,
    BOUNDS_HINT,
    Better,
    Kind,
    KpiDef,
    PopulationSource,
    Project,
    RateTest,
    Status,
    Unit,
)
from kpi.document import (
    Align,
    BulletList,
    Column,
    Document,
    Figure,
    Inline,
    Inlines,
    Name,
    Paragraph,
    Section,
    Slot,
    Strong,
    Table,
    inlines,
    plain_text,
)
from kpi.engine import KpiResult, Measured, Outcome, Report, no_change, reads_quarters
from kpi.errors import ConfigError
from kpi.periods import Comparison, Month, Window, WindowKind, comparison_window, day_words
from kpi.render import (  # the prose's words for figures, kept by render for every face
    STATUS_WORDS,
    column_title,
    dataset_column_label,
    source_sentence,
    target_source,
)
from kpi.rounding import EXCEL_DIGITS, Beside, places_ranked
from kpi.text import NOT_RECORDED, blank_name

if TYPE_CHECKING:
    import polars as pl

    from kpi import engine
    from kpi.board import BoardModel
    from kpi.charts import ChartData, ChartSpec
    from kpi.commentary import Commentary
    from kpi.compare import KpiComparison, Top
    from kpi.verdicts import Verdict

# A percentage change on a base this small says little; the report gives the absolute change
# ("a reduction of 9" homicides), so the paper does too for counts below it.
SMALL_BASE = 50
# A breakdown with at most this many parts is ranked in full (the seven LPAs); a longer one
# (neighbourhoods) is shown as its largest TOP_PARTS parts.
RANK_LIMIT = 12
TOP_PARTS = 5
# The parts tied with the fifth highest are listed with it ("joint 5th"), never one of equal
# figures kept by its name; where they would make the list longer than this, they are counted
# instead of named (compare.highest).
TOP_MOST = 10
# The board's paper adds at most this many breakdowns of its own where a count's part changed
# unlike the rest (stats.standouts), and as many again where a proportion's part sits apart
# from the rest (stats.share_standouts), those with the largest gap first: the two gaps are on
# different scales, so neither is ranked against the other. Each names at most NAMED_PARTS
# parts. Every breakdown is in --full.
BOARD_STANDOUTS = 2
NAMED_PARTS = 3

# How a KPI's value is introduced in a sentence, by kind.
SUBJECTS: dict[Kind, str] = {
    Kind.SUM: "The total", Kind.RATE: "The rate", Kind.WITHIN: "The proportion",
    Kind.MEAN: "The average", Kind.MEDIAN: "The median", Kind.PERCENTILE: "The percentile",
    Kind.RATIO_OF_RATES: "The ratio", Kind.PER_1000: "The rate",
    Kind.WEIGHTED_SCORE: "The score",
}
STATUS_SENTENCES = {
    Outcome.IMPROVING: "This is an improvement.",
    Outcome.DETERIORATING: "This is a deterioration.",
    Outcome.STABLE: "The position is stable.",
    Outcome.CHANGED: "",
    # The window ends before the month the period asks for: said so, never a trend word.
    Outcome.STALE: "These are the latest figures held, for a window ending before the period.",
}
# The report varies its words from paragraph to paragraph; so does the paper, in turn, while
# "The position is stable." stays the one sentence that means stable.
STATUS_VARIANTS = {
    Outcome.IMPROVING: ("This is an improvement.", "This represents an improvement.",
                        "This is an improving position."),
    Outcome.DETERIORATING: ("This is a deterioration.", "This represents a deterioration.",
                            "This is a deteriorating position."),
}
STATUS_NOUNS = {Outcome.IMPROVING: "improvement", Outcome.DETERIORATING: "deterioration"}
# Section introductions count KPIs by status, in this order and wording.
STATUS_COUNT_WORDS = (
    (Outcome.IMPROVING, "improving"), (Outcome.DETERIORATING, "deteriorating"),
    (Outcome.STABLE, "stable"), (Outcome.CHANGED, "changed (no better direction)"),
    (Outcome.IN_DEVELOPMENT, "in development"), (Outcome.NO_DATA, "without data"),
    (Outcome.STALE, "stale (data ending before the period)"),
)
COMPARISON_WORDS = {
    Comparison.BASELINE: "the plan baseline",
    Comparison.YOY: "the same window a year earlier",
    Comparison.PREVIOUS: "the window ending a month earlier",
    Comparison.FYTD: "the same months of the previous financial year",
}


# "marking" is read by kpi.catalogue (Project.marking).
PAPER_KEYS = frozenset({"plan", "glossary", "marking", "data_note", "breakdowns", "figures",
                        "standout_points", "standout_change_points", "no_standouts"})
# A part of a proportion stands out only when its proportion differs from the other parts'
# by at least this many percentage points ([paper] standout_points): on 185,000 incidents a
# gap of one point is significant, and no finding.
STANDOUT_POINTS = 2.0
# A part of a count stands out only when its percentage change differs from the other parts'
# by at least this many percentage points ([paper] standout_change_points): on a large base a
# part down 5.8% against the others' 8.2% is significant, and no finding.
STANDOUT_CHANGE_POINTS = 5.0
# The board paper's figures at most, by default: the report has eight; --full has no limit.
BOARD_FIGURES = 12
# A true minus sign; the writers join it to its number (kpi.writers.minus_signs).
MINUS = "\u2212"
GLOSSARY_KEYS = frozenset({"title", "file"})


@dataclass(frozen=True)
class Glossary:
    """Reference data a project prints as an appendix (an outcome codes glossary)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class PaperConfig:
    """kpi.toml's [paper] table: what the paper says that only the project knows."""

    plan: str = ""  # "the Police and Crime Plan"; empty: the paper names no plan
    glossaries: tuple[Glossary, ...] = ()
    # What the introduction says of the data ("drawn from live systems ..."): only the project
    # knows whether its data is live operational records or published open data.
    data_note: str = ""
    # KPI id -> breakdown columns the board paper always prints (the rest are in --full).
    breakdowns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    figures: tuple[str, ...] = ()  # KPI ids that always get a process chart
    # The least gap, in percentage points, between a part's proportion and the rest's for
    # the part to stand out (stats.share_standouts).
    standout_points: float = STANDOUT_POINTS
    # The least gap, in percentage points, between a part's percentage change and the rest's
    # for a part of a count to stand out (stats.standouts).
    standout_change_points: float = STANDOUT_CHANGE_POINTS
    # Breakdowns never tested for a part that stands out: "crime_type" (every KPI's) or
    # "no_suspect_share.crime_type" (one KPI's).
    no_standouts: frozenset[str] = frozenset()

    def tests_standouts(self, kpi_id: str, column: str) -> bool:
        """Whether the paper tests a KPI's breakdown by `column` for a part that stands out."""
        return column not in self.no_standouts and f"{kpi_id}.{column}" not in self.no_standouts


def paper_config(project: Project) -> PaperConfig:
    """The project's [paper] table, checked; glossary files read (CSV with a header row)."""
    import csv
    import io

    from kpi.text import reference_text

    raw = project.raw.get("paper") or {}
    where = f"{project.path}: [paper]"
    hint = "see docs/board-paper.md for the [paper] table"
    for key in sorted(set(raw) - PAPER_KEYS):
        raise ConfigError(f"{where} key '{key}': unknown key (one of "
                          f"{', '.join(sorted(PAPER_KEYS))})", hint=hint)
    plan = raw.get("plan", "")  # text: catalogue._refuse_non_text refuses any other
    glossaries = []
    items = raw.get("glossary", [])
    if not isinstance(items, list):
        raise ConfigError(f"{where} key 'glossary': must be an array of tables "
                          "([[paper.glossary]])", hint=hint)
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or set(item) != GLOSSARY_KEYS \
                or not all(isinstance(v, str) for v in item.values()):
            raise ConfigError(f"{where} glossary #{number}: needs title and file (text)",
                              hint=hint)
        path = project.resolve(item["file"])
        text = reference_text(path, f"glossary '{item['title']}'")
        try:
            table = [row for row in csv.reader(io.StringIO(text, newline="")) if row]
        except csv.Error as error:
            raise ConfigError(f"{path}: glossary '{item['title']}' cannot be read ({error})",
                              hint="a UTF-8 CSV file with a header row") from error
        if not table or any(len(row) != len(table[0]) for row in table):
            bad = next((n for n, row in enumerate(table, start=1)
                        if len(row) != len(table[0])), 1)
            raise ConfigError(f"{path}, row {bad}: every row needs the header's "
                              f"{len(table[0]) if table else 0} columns",
                              hint="a UTF-8 CSV file with a header row")
        glossaries.append(Glossary(item["title"], tuple(table[0]),
                                   tuple(tuple(r) for r in table[1:])))
    data_note = raw.get("data_note", "")  # text, as the plan is
    breakdowns = raw.get("breakdowns", {})
    if not isinstance(breakdowns, dict):
        raise ConfigError(f"{where} key 'breakdowns': must be a table of KPI id = [columns]",
                          hint=hint)
    for kpi_id, columns in breakdowns.items():
        kpi = project.kpi(kpi_id)
        if kpi is None:
            raise ConfigError(f"{where} breakdowns: '{kpi_id}' is not a KPI", hint=hint)
        if not isinstance(columns, list) or any(c not in kpi.breakdowns for c in columns):
            raise ConfigError(f"{where} breakdowns.{kpi_id}: must list columns of the KPI's "
                              f"own breakdowns ({', '.join(kpi.breakdowns) or 'none'})",
                              hint=hint)
    figures = raw.get("figures", [])
    if not isinstance(figures, list) or any(project.kpi(f) is None for f in figures):
        raise ConfigError(f"{where} key 'figures': must list KPI ids", hint=hint)
    points = raw.get("standout_points", STANDOUT_POINTS)
    if problem := BOUNDS["paper.standout_points"].problem(points):
        raise ConfigError(f"{where} key 'standout_points': {problem}", hint=BOUNDS_HINT)
    change_points = raw.get("standout_change_points", STANDOUT_CHANGE_POINTS)
    if problem := BOUNDS["paper.standout_change_points"].problem(change_points):
        raise ConfigError(f"{where} key 'standout_change_points': {problem}", hint=BOUNDS_HINT)
    quiet = raw.get("no_standouts", [])
    columns = {c for k in project.kpis for c in k.breakdowns}
    if not isinstance(quiet, list) or not all(isinstance(q, str) for q in quiet):
        raise ConfigError(f"{where} key 'no_standouts': must list breakdown columns "
                          "(\"crime_type\") or KPI breakdowns (\"kpi_id.crime_type\")",
                          hint=hint)
    for item in quiet:
        kpi_id, _, column = item.rpartition(".")
        kpi = project.kpi(kpi_id) if kpi_id else None
        if (column not in columns if not kpi_id
                else kpi is None or column not in kpi.breakdowns):
            raise ConfigError(f"{where} no_standouts: '{item}' is not a breakdown of "
                              + ("any KPI" if not kpi_id else f"KPI '{kpi_id}'"), hint=hint)
    return PaperConfig(plan=" ".join(plan.split()), glossaries=tuple(glossaries),
                       data_note=" ".join(data_note.split()),
                       breakdowns={k: tuple(v) for k, v in breakdowns.items()},
                       figures=tuple(figures), standout_points=float(points),
                       standout_change_points=float(change_points),
                       no_standouts=frozenset(quiet))


@dataclass(frozen=True)
class PlannedFigure:
    """A chart the paper links: its number, declaration and link relative to the paper."""

    number: int
    spec: ChartSpec
    link: str  # "board-files/figure-1-asb_trend.png"


@dataclass(frozen=True)
class PartFigure:
    """A figure of one part of a KPI's breakdown that the paper prints, in any of its
    sentences, captions, alt texts or figures (`_Builder._print_parts`, the one place they
    are recorded): the part's current figure where the paper prints it (a ranking of levels,
    the highest parts, a range, a top chart), and its comparison figure too where it prints
    the part's change or draws both windows. `part` is the part's value as text (None: the
    rows with no value in the column, printed as `name`); `held`, how many parts of the
    breakdown have a figure in the current window, printed or not (0 of a peer group's
    members, `_print_peers`: the paper reads the group, never every part of the column)."""

    result: KpiResult
    column: str
    label: str  # the column as the paper names it: "LPA"
    part: str | None
    name: str  # the part as the paper names it
    role: str  # "current" or "comparison"
    current: Window  # the breakdown's windows
    comparison: Window | None
    value: float
    held: int

    @property
    def window(self) -> Window:
        window = self.current if self.role == "current" else self.comparison
        assert window is not None, "a comparison figure has its window"
        return window


@dataclass(frozen=True)
class Paper:
    document: Document
    figures: tuple[PlannedFigure, ...]  # each drawn from BoardModel.figures[spec.id]
    # The other KPIs' figures its paragraphs quote (`quotes`), as (result, figure), in paper
    # order, each once: the figures file lists them, so a revision of one is found.
    quoted: tuple[tuple[KpiResult, Measured], ...] = ()
    # Each figure of a part of a breakdown it prints (a sentence, a caption or alt text, a
    # figure's bars), each once: the figures file lists them, so a revision of one is found.
    parts: tuple[PartFigure, ...] = ()
    # The KPIs whose paragraph prints the cases and base of its current figure
    # (`printed_cases`): the figures file records them beside it, so a revision is found.
    cases: frozenset[str] = frozenset()

    @property
    def markdown(self) -> str:
        from kpi.writers import markdown

        return markdown.write(self.document)


def build_paper(model: BoardModel, *, files_dir: str = "board-files",
                as_of_text: str | None = None,
                commentary: Commentary | None = None) -> Paper:
    """The board paper of a model (kpi.board), which holds every figure it prints and draws:
    nothing is read here. `files_dir` is where the chart files sit, relative to the paper;
    `commentary` is the analyst's text. The model's report may hold hidden KPIs that charts
    draw; they get no paragraph. Its verdicts add the verdict words, the section summary
    tables and the process charts.

    By default the paper is the board's: a front page of the summary matrix and the
    exceptions (with the model's checks, the failed checks of `kpi check`), one sentence for a
    KPI that is not an exception, a full paragraph and process chart for one that is, and only
    the breakdowns [paper] declares. A `full` model gives every KPI its full paragraph,
    breakdowns and process chart, the definitions and the data sources: the technical
    annex."""
    from kpi.commentary import Commentary

    return _Builder(model, files_dir, commentary or Commentary()).build(as_of_text)


def exception_groups(charted: Sequence[tuple[str, str]], room: int) -> list[list[str]]:
    """The board paper's process charts of its exceptions, grouped into at most `room`
    figures (at least one), each figure near the paragraphs it illustrates: `charted` is
    (KPI id, priority) in the paper's order; a figure holds one priority's exceptions, and
    while there are more figures than room, the two neighbouring figures with the fewest
    charts between them become one (the earlier pair on a tie). A figure of four KPIs of
    three sections two pages apart, as the paper grouped them by fours, left a reader
    turning back for the chart a paragraph cites."""
    groups: list[tuple[str, list[str]]] = []
    for kpi_id, priority in charted:
        if groups and groups[-1][0] == priority:
            groups[-1][1].append(kpi_id)
        else:
            groups.append((priority, [kpi_id]))
    out = [ids for _, ids in groups]
    while len(out) > max(1, room):
        at = min(range(len(out) - 1), key=lambda i: (len(out[i]) + len(out[i + 1]), i))
        out[at:at + 2] = [out[at] + out[at + 1]]
    return out


def shown_breakdowns(kpi: KpiDef, config: PaperConfig, full: bool,
                     standout: str | None = None) -> tuple[str, ...]:
    """The breakdowns a KPI's paragraph prints: all in the full paper; in the board's, those
    [paper] declares and `standout`, the one the paper adds where a part stands out (where a
    breakdown is the story: standout_columns)."""
    if full:
        return kpi.breakdowns
    declared = config.breakdowns.get(kpi.id, ())
    return (*declared, standout) if standout and standout not in declared else declared


def tested_breakdowns(kpi: KpiDef, config: PaperConfig, full: bool) -> tuple[str, ...]:
    """The breakdowns the board model reads for a KPI: those printed and, in the board's
    paper, every other breakdown of a count or a proportion the paper tests for a part that
    stands out (not one `no_standouts` names, nor any of a KPI with provisional months)."""
    shown = shown_breakdowns(kpi, config, full)
    if not full and (_countable(kpi) or _proportion(kpi)) and not kpi.provisional_months:
        return tuple(c for c in kpi.breakdowns
                     if c in shown or config.tests_standouts(kpi.id, c))
    return shown


def _part_rows(result: KpiResult, column: str,
               breakdowns: Mapping[engine.BreakdownKey, pl.DataFrame], config: PaperConfig
               ) -> list[tuple[object, float | None, float | None]] | None:
    """The parts the paper tests against each other: a proportion's as (part, numerator,
    denominator) in the current window, a count's as (part, current, comparison); None where
    it tests none (another kind, a breakdown not read, one `no_standouts` names, a KPI with
    months not final, a count with no comparison or windows sharing months or that is no
    count of events, a proportion whose rows do not meet the rule of a test of
    proportions)."""
    kpi = result.kpi
    if result.current is None or not (_countable(kpi) or _proportion(kpi)):
        return None
    if not config.tests_standouts(kpi.id, column):
        return None
    if kpi.provisional_months:
        # Its current window holds months that are not final: a part found to stand out
        # there could be records not yet updated, so no part is tested.
        return None
    comparison = result.comparison.window if result.comparison else None
    frame = breakdowns.get((kpi.id, column, result.current.window, comparison))
    if frame is None:
        return None
    if _proportion(kpi):
        # A part's proportion is tested against the rest's only where the whole window's
        # rows meet the rule of a test of proportions (stats.rate_rule): then so do the rows
        # of each part.
        if stats.rate_rule(kpi, [result.current])[0] != RateTest.PROPORTIONS:
            return None
        return [(r["part"], r["current_numerator"], r["current_denominator"])
                for r in frame.iter_rows(named=True)]
    if comparison is None or stats.windows_shared(result):
        # A part's change against the rest's takes its windows as independent samples,
        # as every test of a change does (stats.windows_shared).
        return None
    if result.comparison is None or not stats.count_of_events(
            kpi, (result.current, result.comparison)):
        # Rows that are no whole counts of events (1.5 hours; +3 and -1 netted) in the
        # windows, whose parts hold them: the summary's one rule, by which `kpi compare`
        # tests no part's change either.
        return None
    return [(r["part"], r["current"], r["comparison"]) for r in frame.iter_rows(named=True)]


def part_standouts(result: KpiResult, column: str,
                   breakdowns: Mapping[engine.BreakdownKey, pl.DataFrame],
                   config: PaperConfig | None = None
                   ) -> stats.Standouts | stats.ShareStandouts | None:
    """The parts of a count's breakdown whose percentage change stands out from the rest's by
    at least `config.standout_change_points` (stats.standouts), or of a proportion's whose
    proportion in the current window does by at least `config.standout_points`
    (stats.share_standouts); None for other KPIs, a breakdown not read or one the
    project's `no_standouts` names (`_part_rows`). Each part and its rest need the floor of
    cases of every test of parts (`stats.MIN_CASES`)."""
    config = config or PaperConfig()
    rows = _part_rows(result, column, breakdowns, config)
    if rows is None:
        return None
    if _proportion(result.kpi):
        return stats.share_standouts(rows, stats.MIN_CASES, min_points=config.standout_points)
    return stats.standouts(rows, stats.MIN_CASES, min_points=config.standout_change_points)


def differing_unnamed(result: KpiResult, column: str,
                      breakdowns: Mapping[engine.BreakdownKey, pl.DataFrame],
                      config: PaperConfig,
                      found: stats.Standouts | stats.ShareStandouts | None
                      ) -> list[stats.PartTest] | list[stats.ShareTest]:
    """The parts of a breakdown that differ from all the other parts together
    (`stats.differing`: the parts `kpi compare` says differ from the rest, a proportion's by
    its `vs_rest`, a count's change by its `change_vs_rest`) but do not stand out (`found`):
    each is said, with why it is not named, so the paper never leaves out a part the
    comparison says differs."""
    rows = _part_rows(result, column, breakdowns, config)
    if rows is None:
        return []
    names = {t.part for t in found.parts} if found is not None else set()
    return [t for t in stats.differing(rows, _proportion(result.kpi))  # type: ignore[misc]
            if t.part not in names]


def standout_columns(report: Report, priorities: set[str], config: PaperConfig,
                     breakdowns: Mapping[engine.BreakdownKey, pl.DataFrame]
                     ) -> dict[str, str]:
    """The breakdowns the board's paper adds, KPI id -> column: of the KPIs it prints without
    a breakdown [paper] declares, each count's breakdown where a part's change stands out
    from the rest's and each proportion's where a part's proportion does; of each, the
    BOARD_STANDOUTS with the largest gap between the part and the rest, one a KPI."""
    scored: dict[bool, list[tuple[float, str, str]]] = {False: [], True: []}
    for result in report.results:
        kpi = result.kpi
        if (kpi.hidden or kpi.priority not in priorities or kpi.is_derived
                or config.breakdowns.get(kpi.id)):
            continue
        best = None
        for column in kpi.breakdowns:
            found = part_standouts(result, column, breakdowns, config)
            if found is None:
                continue
            gap = _gaps(found)[0][0]
            if best is None or gap > best[0]:
                best = (gap, column)
        if best is not None:
            scored[_proportion(kpi)].append((-best[0], kpi.id, best[1]))
    return {kpi_id: column for family in scored.values()
            for _, kpi_id, column in sorted(family)[:BOARD_STANDOUTS]}


def _shared_no_comparison(results: list[KpiResult]) -> tuple[str, int] | None:
    """Why most KPIs with a figure have no comparison, in words, and how many, where two or
    more share it: said once in the introduction, each paragraph pointing there. A year of
    police.uk files gave nineteen paragraphs the same sentence on the month not held."""
    reasons: dict[str, int] = {}
    for r in results:
        if r.status == Outcome.NO_DATA and r.current is not None \
                and r.current.value is not None:
            words = no_figure_words(r.note)
            reasons[words] = reasons.get(words, 0) + 1
    if not reasons:
        return None
    words, count = max(reasons.items(), key=lambda item: item[1])
    return (words, count) if count > 1 else None


# A comparison chart draws at most this many parts, the highest in the current window, where
# its breakdown has more: 800 small areas of three forces drew as one black block.
COMPARE_PARTS = 12


def named_parts(frame: pl.DataFrame) -> pl.DataFrame:
    """The parts of a breakdown that a chart draws or a list of the highest names: those with
    a figure in the current window and a name. The rows with no value in the column ("not
    recorded") are a recording matter, never a place or an offence: "the highest figures
    were not recorded (2,546)" read as figures missing, and a chart of the highest 10 small
    areas led with them."""
    import polars as pl

    return frame.filter(pl.col("current").is_not_null() & pl.col("part").is_not_null())


def top_parts(frame: pl.DataFrame, limit: int) -> tuple[pl.DataFrame, Top]:
    """The named parts a chart of the `limit` highest draws and its alt text names, highest
    first: every part tied with the last drawn is drawn too, or, where those tied would make
    more than twice `limit` bars, none of them, and the chart says how many it leaves out
    (`kpi.compare.highest`). `frame.head(limit)` kept one of two equal figures by its name."""
    from kpi.compare import highest

    named = named_parts(frame).sort(["current", "part"], descending=[True, False])
    top = highest(named["current"].to_list(), limit, 2 * limit)
    return named[list(top.shown)], top


def left_out(top: Top, kpi: KpiDef) -> str:
    """What a chart or list of the highest figures says of the parts tied at its last place
    that it leaves out (`kpi.compare.highest`): '14 parts joint 10th (3 each) are not
    drawn'; nothing where it leaves none out."""
    from kpi.compare import ordinal

    if not top.left:
        return ""
    assert top.left_rank is not None and top.left_value is not None
    return (f"{top.left:,} parts joint {ordinal(top.left_rank)} "
            f"({kpi_value(top.left_value, kpi)} each) are not drawn")


def compare_parts(frame: pl.DataFrame) -> tuple[pl.DataFrame, int | None]:
    """The parts a comparison chart draws, by name, and, where the breakdown has more than
    COMPARE_PARTS, how many named parts it has (the chart draws the highest of them, every
    part tied with the last drawn too, or none of them where they are many:
    `top_parts`)."""
    if frame.height <= COMPARE_PARTS:
        return frame.sort("part", nulls_last=True), None
    named = named_parts(frame)
    shown, _ = top_parts(frame, COMPARE_PARTS)
    return shown.sort("part"), named.height


def printed_results(report: Report, priority: str | None) -> list[KpiResult]:
    """The results the paper gives a paragraph or a table row, in paper order."""
    return [r for r in report.results
            if not r.kpi.hidden and priority in (None, r.kpi.priority)]


# ---------------------------------------------------------------------------------------------
# Words for numbers


def short_duration(seconds: float, places: int = 0) -> str:
    """A duration in a table cell: '2 s', '28 min 50 s', '1 h 9 min 17 s'; the seconds to
    `places` decimals where a figure beside its target needs them ('9 min 59.6 s')."""
    magnitude = render.rounded(abs(seconds), places)
    total = int(magnitude)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    fraction = magnitude - total
    parts = [f"{n} {unit}" for n, unit in ((hours, "h"), (minutes, "min")) if n]
    if secs or fraction:
        parts.append(f"{secs}{str(fraction)[1:] if fraction else ''} s")
    return " ".join(parts) or "0 s"


def cell_value(value: float | None, kpi: KpiDef, change: bool = False,
               beside: Beside | None = None, digits: int | None = None) -> str:
    """A KPI's value in a table cell: short durations, the unit named where it needs one, a
    true minus sign; beside its target to as many more places as it takes to differ from it
    (render.shown_places), unless it is a `change`. `digits`, where given, are the places."""
    if value is None:
        return "n/a"
    if kpi.unit == Unit.SECONDS:
        text = short_duration(value, digits if digits is not None else 0 if change
                              else render.shown_places(value, kpi, beside))
    elif kpi.unit == Unit.GBP or kpi.unit_label:
        # The sign is taken off the text, never the value: the places beside a target are the
        # signed figure's (-£100.4 against a target of -£100 read "£100" from 100.4).
        text = render.kpi_value(value, kpi, change, beside, digits).removeprefix("-")
    else:
        text = render.number(value, kpi, change=change, beside=beside,
                             digits=digits).lstrip("-")
    return _with_sign(-1 if value < 0 else 0, text, kpi)


def _with_sign(value: float, text: str, kpi: KpiDef | None = None) -> str:
    """'+' or a true minus before a shown magnitude; none when it shows as zero, judged on the
    figure without the KPI's label after it (`render.prints_zero`)."""
    if render.prints_zero(text, kpi):
        return text
    return ("+" if value > 0 else MINUS if value < 0 else "") + text


def change_cell(change, kpi: KpiDef, none: str = "n/a", digits: int | None = None) -> str:
    """A change in a table cell: '+208 (+0.8%)', '\u22126.8pp', '\u22122 min 4 s
    (\u221216.6%)'; `none` where there is no change (a KPI's cell says why:
    engine.no_change). To `digits` where given (beside its two figures:
    render.change_digits), else to the places it was made at beside its two figures
    (`Change.places`, those its status is judged at)."""
    if change is None:
        return none
    if digits is None:  # the places its status is judged at (engine.Change.places)
        digits = change.places
    own = render.own_places(kpi)
    finer = digits if digits != own else None
    digits = render.places(kpi) if finer is None else finer
    if change.points is not None:
        return _with_sign(change.points, f"{render.fixed(abs(change.points), digits)}pp")
    if kpi.unit == Unit.RATIO:
        return _with_sign(change.absolute, render.fixed(abs(change.absolute), digits))
    size = cell_value(abs(change.absolute), kpi, change=True, digits=finer)
    absolute = _with_sign(change.absolute, size, kpi)
    if change.percent is None:
        return f"{absolute} (n/a)"
    return f"{absolute} ({_with_sign(change.percent, f'{render.fixed(abs(change.percent), 1)}%')})"


_INCOMPLETE = re.compile(r"(comparison )?(.+) is incomplete: no data for "
                         r"(\d{4}-\d{2}(?:, \d{4}-\d{2})*)( \.\.\.)?")
_UNLIKE = re.compile(r"comparison .+? left out: (.+ has rows in .+ and none in .+)")
_NONE_BEFORE = re.compile(r"no data on or before (\d{4}-\d{2})")


def no_figure_words(note: str | None) -> str:
    """Why a KPI has no figure, or no comparison, as a board reads it, in words and months
    by name: the engine names a dataset not loaded by its id ("dataset 'stop_search' has no
    data yet") and a window's missing months as codes ("comparison year ending November 2025
    is incomplete: no data for 2024-12"), which the analyst needs and the board does not
    ("the data held does not cover the year ending November 2025, with no data for December
    2024")."""
    from kpi.periods import Month

    text = note or ""
    found = re.fullmatch(r"dataset '([^']+)' has no data yet", text)
    if found:
        return f"no {column_title(found[1]).lower()} data has been loaded yet"
    found = _INCOMPLETE.fullmatch(text)
    if found:
        months = [Month.parse(m).name for m in found[3].split(", ")]
        listed = _and_list(months + ["other months"]) if found[4] else _and_list(months)
        whole = "" if found[1] else "whole "
        return f"the data held does not cover the {whole}{found[2]}, with no data for {listed}"
    found = _UNLIKE.fullmatch(text)
    if found:  # engine.part_gap: a part held in one window compared and not the other
        return found[1]
    found = _NONE_BEFORE.fullmatch(text)
    if found:
        return f"no data on or before {Month.parse(found[1]).name}"
    return note or "no data"


def column_label(project: Project, kpi: KpiDef, column: str) -> str:
    """How the paper and its figures name a breakdown's column ('LPA', 'offence', 'small area
    (LSOA)'): its declared label, else its name in words."""
    assert kpi.dataset is not None, "a KPI with breakdowns reads a dataset"
    return dataset_column_label(project, kpi.dataset, column)


def _parts_listed(parts: Sequence[str | None], label: Name) -> Inlines:
    """Parts of a column, as a sentence lists them: the first few by name, "and N more", and
    "rows with no LABEL" for None (rows with no value in the column)."""
    named = [p for p in parts if p is not None]
    listed: list[Name | str | Inlines] = [Name(n) for n in named[:UNFIGURED_NAMED]]
    if len(named) > len(listed):
        listed.append(f"{len(named) - len(listed):,} more")
    if None in parts:
        listed.append(inlines("rows with no ", label))
    return inlines(*(inlines(", " if 0 < n < len(listed) - 1 else " and " if n else "", item)
                     for n, item in enumerate(listed)))


def percentile_name(percentile: float) -> str:
    """'the 90th percentile', 'the 2.5th percentile', 'the 99.9th percentile': an ordinal
    only of a whole rank ('2.5th' alone is no rank), and no exponent ever ('1e-05th')."""
    if float(percentile).is_integer():
        whole = int(percentile)
        suffix = "th" if 10 <= whole % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(
            whole % 10, "th")
        return f"the {whole}{suffix} percentile"
    digits = format(Decimal(repr(float(percentile))).normalize(), "f")
    return f"the {digits}th percentile"


def precision_words(places: int) -> str:
    """'to one decimal place', 'to whole numbers', 'to 2 decimal places'."""
    if places == 0:
        return "to whole numbers"
    return "to one decimal place" if places == 1 else f"to {places} decimal places"


def _in(window: Window) -> str:
    """'in the year ending March 2024', 'in April 2024'."""
    if window.kind == WindowKind.YE:
        return f"in the {window.label}"
    return f"in {window.label}"


def latest_words(window: Window, period_end_index: int) -> str:
    """What a figure whose window ends before the period is: 'the latest period its data
    covers, 18 months before September 2025' (a source published late or a year at a time,
    its lag declared, or one running late); '' for a window that ends at the period."""
    from kpi.periods import Month

    behind = period_end_index - window.end.index
    if behind <= 0:
        return ""
    return (f"the latest data, {render.counted(str(behind), 'months')} "
            f"before {Month(period_end_index).name}")


def gap_sentence(window: Window, period_end_index: int) -> str:
    """What a figure whose window ends before a month missing from its data is, later months
    held (`engine.Plan.gap`): not the latest data, which `latest_words` would call it."""
    from kpi.periods import Month

    behind = period_end_index - window.end.index
    return (f"The window ends {render.counted(str(behind), 'months')} before "
            f"{Month(period_end_index).name}: a month the period asks for is missing from the "
            "data, though later months are held.")


def _direction(size: float) -> str:
    return "an increase" if size > 0 else "a decrease"


def change_words(result: KpiResult) -> str:
    """'an increase of 0.8%', 'a decrease of 6.8 percentage points', 'a decrease of 9',
    'a decrease of 2 minutes and 4 seconds (16.6%)', or 'unchanged'."""
    kpi, change = result.kpi, result.change
    assert change is not None, "only a KPI with a change has change words"
    # A change is shown to the KPI's own precision (render.places), as its values are, or,
    # where its two figures print apart while it reads as none there, to the figures' own
    # (render.change_digits): "unchanged" is never said between figures printed apart.
    digits = render.change_digits(result)
    own = render.own_places(kpi)
    finer = digits if digits != own else None  # a change in millions of pounds keeps them
    if change.points is not None:
        if render.shows_zero(change.points, digits):
            return _unchanged(change.points, precision_words(digits))
        return (f"{_direction(change.points)} of {render.fixed(abs(change.points), digits)} "
                "percentage points")
    size = change.absolute
    assert size is not None, "a change not in points has an absolute size"
    if kpi.unit == Unit.RATIO:
        if render.shows_zero(size, digits):
            return _unchanged(size, precision_words(digits))
        return f"{_direction(size)} of {render.fixed(abs(size), digits)}"
    absolute = kpi_value(abs(size), kpi, change=True, digits=finer)
    if kpi_value(0.0, kpi, change=True, digits=finer) == absolute:
        # Too small to show in the KPI's unit, but a % change that shows is the change the
        # status judges ("0.0 (-1.2%)", improving): say it, never "unchanged" beside it.
        if change.percent is not None and not render.shows_zero(change.percent):
            return f"{_direction(size)} of {render.fixed(abs(change.percent), 1)}%"
        return _unchanged(size, "at the precision shown")
    if change.percent is None or render.shows_zero(change.percent):
        return f"{_direction(size)} of {absolute}"
    before = result.comparison.value if result.comparison is not None else None
    if _small_base(kpi, before):
        return f"{_direction(size)} of {absolute}"
    if _counted(kpi):
        return f"{_direction(size)} of {render.fixed(abs(change.percent), 1)}%"
    return f"{_direction(size)} of {absolute} ({render.fixed(abs(change.percent), 1)}%)"


def figure_words(result: KpiResult, usual: Window | None = None) -> str:
    """A KPI's figure as a line read on its own says it (the front page's exceptions, a
    chart's alt text): '11,762 in the year ending September 2025, an increase of 9.5% from
    10,739 in the year ending March 2024'. The window of the figure is always named; that of
    the figure it is compared with is left out where it is `usual` (the comparison the title
    block states)."""
    kpi, current = result.kpi, result.current
    assert current is not None and current.value is not None, "a figure to say"
    before = result.comparison.value if result.comparison is not None else None
    text = (f"{kpi_value(current.value, kpi, beside=Beside.comparison(before))} "
            f"{_in(current.window)}")
    if result.change is not None and result.comparison is not None:
        text += (f", {change_words(result)} from "
                 f"{kpi_value(before, kpi, beside=Beside.current(current.value))}")
        if result.comparison.window != usual:
            text += f" {_in(result.comparison.window)}"
    return text


def _unchanged(size: float, precision: str) -> str:
    # A change too small to show is not called no change: the words say which it is.
    return "unchanged" if size == 0 else f"unchanged {precision}"


def printed_cases(kpi: KpiDef, measured: Measured | None) -> tuple[float, float] | None:
    """The cases and base a paragraph prints beside a proportion's current figure ("72.0%
    (15,604 of 21,672)"): a rate's or a `within`'s, where it has both. The one rule both
    sentences print them by and the figures file records them by (`Paper.cases`)."""
    if measured is None or measured.value is None or kpi.kind not in (Kind.RATE, Kind.WITHIN) \
            or measured.numerator is None or measured.denominator is None:
        return None
    return measured.numerator, measured.denominator


def cases_text(cases: tuple[float, float]) -> str:
    """'15,604 of 21,672', as a paragraph prints a proportion's cases and base."""
    return f"{render.number(cases[0], Unit.COUNT)} of {render.number(cases[1], Unit.COUNT)}"


def current_clause(result: KpiResult) -> Inlines:
    """'A total of 26,613 was recorded in the year ending September 2025', 'As of September
    2025 the proportion was 37.0%'."""
    kpi, current = result.kpi, result.current
    assert current is not None, "a current clause needs a current window"
    # Beside the comparison's figure where the paragraph gives it: the two read apart.
    other = render.other_window(current, result)
    value = kpi_value(current.value, kpi, beside=other)
    if kpi.kind == Kind.RATIO_OF_RATES and kpi.populations and kpi.noun:
        value = value_words(current.value, kpi, beside=other)
        # "Asian people were 2.8 times as likely as White people to be stopped and searched"
        group, reference = (_capital(p.replace("_", " ")) for p in kpi.populations)
        return inlines(f"{group} people were {value} times as likely as {reference} people "
                       "to be ", Name(kpi.noun), f" {_in(current.window)}")
    if kpi.is_snapshot:
        noun = "the proportion" if kpi.unit == Unit.PERCENT else "the figure"
        return inlines(f"As of {current.window.label} {noun} was {value}")
    when = _in(current.window)
    if kpi.kind == Kind.COUNT:
        noun = kpi.noun or _noun_phrase(kpi.title)
        if kpi.noun and kpi.noun[:1].isdigit():
            # "A total of 68 999 calls ..." reads as 68,999: the number goes after the noun.
            return inlines("The number of ", Name(kpi.noun), f" was {value} {when}")
        if kpi.noun and current.value != 1:
            return inlines(f"A total of {value} ", Name(kpi.noun), f" were recorded {when}")
        if noun.lower().startswith("total ") and not kpi.noun:
            return inlines("The ", Name(noun), f" was {value} {when}")
        # Without a noun the title, which heads the paragraph, says what is counted: "The
        # total for burglary was 459" read as no board paper would put it.
        return inlines(f"A total of {value} was recorded {when}")
    subject = SUBJECTS[kpi.kind]
    if kpi.kind == Kind.PERCENTILE:
        assert kpi.percentile is not None, "validation requires a percentile KPI's percentile"
        subject = _capital(percentile_name(kpi.percentile))
    cases = printed_cases(kpi, current)
    counts = f" ({cases_text(cases)})" if cases else ""
    return inlines(f"{subject} was {value}{counts} {when}")


# ---------------------------------------------------------------------------------------------
# Words for verdicts (kpi.verdicts): what each says, in the report's register

NOT_SIGNIFICANT = "within normal variation (not statistically significant)"
# A change tested and found not significant, of a KPI whose chart marks a month (the latest,
# or one before it), or has no limits (`normal_variation`): the paper says "within normal
# variation" only of a KPI whose chart marks none ("within normal variation; the months show
# a special cause of improvement" said both).
NOT_SIGNIFICANT_UNUSUAL = "not statistically significant"
SIGNIFICANT = "a statistically significant change"
# The paper's status of a KPI (`shown_status`): the engine's where the change is significant;
# otherwise one of these, so no change that may be noise is called improving or deteriorating.
NO_SIGNIFICANT_CHANGE = "no_significant_change"
NOT_TESTED = "not_tested"
# A figure with nothing to compare it with (the comparison window's months are not held):
# the engine's status is no_data, which the paper said of KPIs whose figures it printed.
NO_COMPARISON = "no_comparison"
SHOWN_STATUS_WORDS = {**STATUS_WORDS, NO_SIGNIFICANT_CHANGE: "no significant change",
                      NOT_TESTED: "not tested", NO_COMPARISON: "no comparison"}
# The narrative's sentence for a change no test applies to; a change tested and found not
# significant has none, its clause having said "within normal variation".
NOT_TESTED_SENTENCE = ("No test of significance applies to it, so it is not counted as an "
                       "improvement or a deterioration.")
# The same of a change between windows that share months (`stats.overlap_reason`): a test
# applies to its kind, but is not made, the two windows not being independent samples.
SHARED_MONTHS_SENTENCE = ("No test of significance is made, as the two periods compared share "
                          "months, so it is not counted as an improvement or a deterioration.")
# The same of a change whose test without the months not final found a change running
# otherwise (verdicts.settled_significance): a test was made, of another change.
RUNS_OTHERWISE = "without them the change runs otherwise"
RUNS_OTHERWISE_SENTENCE = ("Without the months not final yet, the change runs otherwise, so it "
                           "is not counted as an improvement or a deterioration.")
# The tally's words (`_tally`), in its order.
TALLY_WORDS = {
    Outcome.IMPROVING: "significantly improving",
    Outcome.DETERIORATING: "significantly deteriorating",
    Outcome.CHANGED: "significantly changed (no better direction)",
    Outcome.STABLE: "stable",
    # Not "within normal variation": the front page's matrix counts the KPIs whose monthly
    # figures show only normal variation, a different count, in the same words.
    NO_SIGNIFICANT_CHANGE: "with no significant change",
    NOT_TESTED: "not tested for significance",
    NO_COMPARISON: "with a figure but nothing to compare it with",
    Outcome.STALE: "stale (data ending before the period)",
    Outcome.IN_DEVELOPMENT: "in development",
    Outcome.NO_DATA: "without data",
}
# What the process chart says of the latest month, by its class; the rule follows in words.
VARIATION_WORDS = {
    stats.SPECIAL_IMPROVEMENT: "a special cause of improvement",
    stats.SPECIAL_CONCERN: "a special cause of concern",
    stats.SPECIAL_HIGH: "unusually high",
    stats.SPECIAL_LOW: "unusually low",
}
ASSURANCE_SENTENCES = {
    stats.CONSISTENTLY_PASS: "on current performance, the target will consistently be met",
    stats.CONSISTENTLY_FAIL: "on current performance, the target will consistently be missed "
                             "unless something changes",
    stats.HIT_AND_MISS: "on current performance, the target will sometimes be met and "
                        "sometimes missed",
}
# The summary tables and the board's matrix: words and shapes that survive greyscale printing.
SIGNIFICANCE_CELLS = {True: "yes", False: "no", None: "not tested"}
VARIATION_CELLS = {
    stats.COMMON_CAUSE: "normal variation",
    stats.SPECIAL_IMPROVEMENT: "\u25a0 improvement", stats.SPECIAL_CONCERN: "\u25b2 concern",
    stats.SPECIAL_HIGH: "\u25c6 unusually high", stats.SPECIAL_LOW: "\u25c6 unusually low",
}
ASSURANCE_CELLS = {stats.CONSISTENTLY_PASS: "target consistently met",
                   stats.CONSISTENTLY_FAIL: "target consistently missed",
                   stats.HIT_AND_MISS: "target sometimes met, sometimes missed"}


def rule_words(variation) -> str:
    """'seven or more months in a row above the average', 'an unusually high month ...'."""
    return stats.RULE_PLAIN[(variation.rule, bool(variation.high))]


def shown_variation(verdict: Verdict, brief: bool = False) -> str:
    """What the months show, in words: 'a special cause of concern (two of three months close
    to the upper process limit)'; a step in level as a change in level with the month it
    began ('a change in level: the level fell in November 2024 and has stayed lower since
    (seven or more months in a row below the average)'); for a KPI with no better direction
    the unusual months alone. `brief` leaves out which process limit a month passed."""
    variation = verdict.variation
    assert variation is not None, "only a verdict with a process chart has months to show"
    trial = ", against trial limits" if variation.trial else ""
    rule = f"{rule_words(variation)}{trial}"
    if brief:
        rule = rule.split(", above the")[0].split(", below the")[0]
    if variation.rule == stats.SHIFT and verdict.chart is not None:
        start = _shift_start(verdict.chart, bool(variation.high))
        moved, stayed = ("rose", "higher") if variation.high else ("fell", "lower")
        return (f"a change in level: the level {moved} in {Month.parse(start).name} and has "
                f"stayed {stayed} since ({rule})")
    if variation.verdict in (stats.SPECIAL_HIGH, stats.SPECIAL_LOW):
        return rule
    return f"{VARIATION_WORDS[variation.verdict]} ({rule})"


def _shift_start(chart, high: bool) -> str:
    """The first month of the run of months on the latest month's side of the mean, as the
    chart's rules count it: a month with no value breaks the run, and so does a recalculation
    of the limits (`stats.xmr`). Months with no value were dropped, so a shift the chart marks
    from August 2024 was said to start in May 2024, across a missing July."""
    latest = next(p.month for p in reversed(chart.points) if p.value is not None)
    return _run_start(chart, latest, high)


def _run_start(chart, month: str, high: bool) -> str:
    """The first month of the run of months on one side of the mean (`high`: above) that
    `month` ends, as the chart's rules count runs: a month with no value, one on the mean or
    a recalculation of the limits breaks it. Each month's side is the chart's own
    (`stats.XmrPoint.side`, compared exactly), never its float against the mean's."""
    points = [p for p in chart.points if p.month <= month]
    first = next((s.start for s in reversed(chart.segments) if s.start <= month),
                 points[0].month)
    start = month
    for point in reversed(points):
        if point.side is None or point.month < first or point.side != (1 if high else -1):
            break
        start = point.month
    return start


def normal_variation(verdict: Verdict | None) -> bool:
    """Whether a KPI's process chart shows only normal variation: it has limits for its
    latest month, which is of common cause, and no rule marks a month before it. Only then
    does the paper call the KPI, or its change, "within normal variation": it said so of ASB
    incidents beside a chart marking every month from January 2024 to July 2025, and of KPIs
    whose chart has no limits at all (a month missing in its baseline, a last segment of one
    month after `spc_rebase`), the matrix's "No process chart" row, beside the special causes
    `kpi show` lists. Nor where the chart recalculates its limits (`spc_rebase`): the step
    there is one the chart shows (`_normal_run`)."""
    run = _normal_run(verdict)
    return verdict is not None and verdict.variation is not None \
        and verdict.variation.verdict == stats.COMMON_CAUSE and run is not None and run.whole


def significance_clause(verdict: Verdict | None) -> str:
    """', within normal variation (not statistically significant)' (', not statistically
    significant' where the months show a special cause) or ', a statistically significant
    change' after the change; nothing when no test applies."""
    significant = verdict.significance.significant if verdict and verdict.significance else None
    if significant is None:
        return ""
    if significant:
        return f", {SIGNIFICANT}"
    return f", {NOT_SIGNIFICANT if normal_variation(verdict) else NOT_SIGNIFICANT_UNUSUAL}"


def shown_status(result: KpiResult, verdict: Verdict | None) -> str:
    """The status the paper gives a KPI, wherever it words one (Tables 1 and 2, the status
    sentence, the section tallies): the engine's status (its better direction and stable band)
    only where the test of the change finds it significant; otherwise NO_SIGNIFICANT_CHANGE,
    or NOT_TESTED where no test applies. A KPI with a figure and no comparison is
    NO_COMPARISON, never "without data". A KPI in development, without data or stale keeps
    its engine status."""
    if result.status == Outcome.NO_DATA and result.current is not None \
            and result.current.value is not None:
        return NO_COMPARISON
    if result.status not in (Outcome.IMPROVING, Outcome.DETERIORATING, Outcome.STABLE,
                             Outcome.CHANGED):
        return result.status
    significant = verdict.significance.significant if verdict and verdict.significance else None
    if significant is None:
        return NOT_TESTED
    return result.status if significant else NO_SIGNIFICANT_CHANGE


def status_sentence(result: KpiResult, verdict: Verdict | None, variant: int = 0) -> str:
    """'This is a deterioration.' only for a significant change (`shown_status`); nothing for
    one within normal variation (its clause says so), and for a change no test applies to,
    that it is not counted as either."""
    shown = shown_status(result, verdict)
    if shown == NO_SIGNIFICANT_CHANGE:
        return STATUS_SENTENCES[Outcome.STABLE] if result.status == Outcome.STABLE else ""
    if shown == NOT_TESTED:
        if result.status in STATUS_VARIANTS:
            if verdict is not None and verdict.significance is not None \
                    and RUNS_OTHERWISE in (verdict.significance.note or ""):
                return RUNS_OTHERWISE_SENTENCE
            return SHARED_MONTHS_SENTENCE if stats.windows_shared(result) \
                else NOT_TESTED_SENTENCE
        return STATUS_SENTENCES[result.status]
    words = STATUS_VARIANTS.get(shown)
    return words[variant % len(words)] if words else STATUS_SENTENCES.get(shown, "")


def variation_sentence(result: KpiResult, verdict: Verdict | None) -> str:
    """What the process chart shows: a special cause with its rule in words (trial limits
    named), and why it runs against the status when it does; for a significant change with
    only normal variation, what that means; otherwise none."""
    from kpi import verdicts

    variation = verdict.variation if verdict else None
    if variation is None:
        return no_chart_sentence(verdict)
    assert verdict is not None, "a variation comes with its verdict"
    if variation.verdict == stats.COMMON_CAUSE:
        significant = verdict.significance.significant if verdict.significance else None
        if significant is False and not normal_variation(verdict):
            # not significant, beside a chart that marks earlier months or recalculates its
            # limits: which (the clause before says "not statistically significant", never
            # "normal variation")
            return f"{_capital(common_cause_words(verdict))}."
        return settled_sentence(result, verdict)
    text = f"The monthly figures show {shown_variation(verdict)}"
    if verdicts.conflict(result, verdict):
        text += (f", against the direction of {verdicts.change_named(result)}: the most "
                 "recent months do not follow it")
    return text + "."


def no_chart_sentence(verdict: Verdict | None) -> str:
    """Why a KPI whose months were charted has no process chart, where its paragraph would
    have said what the chart shows: 'This KPI has no process chart: the months its limits
    would come from (January to December 2024) have no variation (every month the same
    value), so the spread of the process is not known.', in `kpi show`'s words
    (`stats.NO_SPREAD`, of `stats.no_spread`); the matrix files it under "No process chart".
    City of London's crimes still under investigation, 0.0% in every month whose outcomes
    were final, was filed there beside a paragraph that said nothing of its chart. Nothing
    for a KPI with a chart or with none for another reason."""
    span = stats.no_spread(verdict.chart if verdict is not None else None)
    if span is None:
        return ""
    first, last = (Month.parse(m) for m in span)
    return (f"This KPI has no process chart: the months its limits would come from "
            f"({_span(first, last)}) have {stats.NO_SPREAD}.")


def settled_sentence(result: KpiResult, verdict: Verdict | None) -> str:
    """For a 12-month change that is significant while the months show only normal variation:
    the level moved before the months charted and has held there since."""
    significant = verdict.significance.significant if verdict and verdict.significance else None
    variation = verdict.variation if verdict else None
    # Months not final yet are in the change but not on the chart, so the chart cannot say
    # the level has held (on police.uk outcomes the change is often only those months).
    if (not significant or variation is None or variation.verdict != stats.COMMON_CAUSE
            or result.change is None or result.kpi.provisional_months):
        return ""
    step = _level_step(result, verdict)
    if step is None:
        return _unmoved_sentence(result, verdict)
    if step.shown == BEFORE_CHART:
        return (f"The level {step.moved} after the comparison period and has been stable at "
                f"its new level since: {common_cause_words(verdict)}.")
    # what the months show names the recalculation the months held from start at
    stable = _capital(_stable_words(verdict, step, "the comparison period", name_step=False))
    if step.shown == SHIFTED or _settled_since(verdict) is None:
        return f"{stable}."
    return f"{stable}: {common_cause_words(verdict)}."


def _unmoved_words(result: KpiResult, verdict: Verdict | None) -> str:
    """What the months show beside a significant change the chart shows no move for, in
    brief: the unusual months after the comparison where there are any ('3 of the last 24
    months, from December 2024 to February 2025, were unusual, though not the latest'), not
    the months of normal variation after them, else `common_cause_words`."""
    run = _normal_run(verdict)
    assert verdict is not None and run is not None, "a common-cause verdict has its run"
    if result.comparison is not None and run.start > result.comparison.window.end \
            and _earlier_signals(verdict):
        return _marked_words(verdict)
    return common_cause_words(verdict, brief=True)


def _unmoved_sentence(result: KpiResult, verdict: Verdict | None) -> str:
    """For a significant change where the chart shows no move of the level after the
    comparison (`_level_step`): what the months show, and that the change is a difference
    between the two periods' figures. Where the months held run across the comparison's end,
    it says so; where unusual months came after it, it names them: three months of 136
    among months of 98 and 102 read "The level rose after the comparison period and has been
    stable since March 2025", the months from March at the level they were before."""
    change = _change_direction(result)
    run = _normal_run(verdict)
    if not change or run is None or result.comparison is None or verdict is None:
        return ""
    difference = (f"the {'rise' if change == 'rose' else 'fall'} is a difference between the "
                  "two periods' figures, not a step the monthly figures show")
    if run.start <= result.comparison.window.end:
        return (f"{_capital(common_cause_words(verdict))}, across the end of the comparison "
                f"period: {difference}.")
    if _earlier_signals(verdict):
        return f"{_capital(_marked_words(verdict))}: {difference}."
    return f"{_capital(common_cause_words(verdict))}."


def _earlier_signals(verdict: Verdict | None) -> tuple[stats.XmrPoint, ...]:
    """The months of the process chart, before its latest, that a rule marks."""
    if verdict is None or verdict.chart is None:
        return ()
    return verdict.chart.signals


# A run of months this long after the last unusual one is a level the KPI has held.
SETTLED_MONTHS = 6


@dataclass(frozen=True)
class _Run:
    """The months of normal variation a process chart ends with, to its latest month with a
    value: from `start`, `count` of them. `whole` where they are the whole chart (no month
    marked, no recalculation of the limits); `step` where they start at a recalculation
    (`spc_rebase`), a step the chart itself shows."""

    start: Month
    count: int
    whole: bool
    step: bool


def _normal_run(verdict: Verdict | None) -> _Run | None:
    """The run of months of normal variation the chart ends with (`_Run`), or None without a
    chart: from the month after its last marked month, or from where the limits that apply
    now were recalculated (`spc_rebase`) where that is later, else from its first month. The
    one place the paper reads how long a chart has held (`_level_step`, `_settled_since`,
    `common_cause_words`, `normal_variation`): no month before a recalculation is said to
    show the level held, nor a step across it not to show (counts of 10 and 12 a month, then
    of 30 and 32 from a recalculation, read "the last 24 months show only normal variation
    ... not a step the monthly figures show")."""
    if verdict is None or verdict.chart is None:
        return None
    chart = verdict.chart
    valued = [p.month for p in chart.points if p.value is not None]
    if not valued:
        return None
    first, latest = Month.parse(valued[0]), Month.parse(valued[-1])
    start, step = first, False
    marked = chart.signals
    if marked:
        start = Month.parse(marked[-1].month) + 1
    if len(chart.segments) > 1 and Month.parse(chart.segments[-1].start) >= start:
        start, step = Month.parse(chart.segments[-1].start), True
    return _Run(start, latest.index - start.index + 1, start == first, step)


def _settled_since(verdict: Verdict | None) -> tuple[Month, int] | None:
    """The first month of the run of normal variation the chart ends with (`_normal_run`:
    after its last unusual month, or from a recalculation of its limits) and how many months
    from it to the latest, when those are at least SETTLED_MONTHS; None when the run is the
    whole chart (no month marked, no recalculation) or shorter."""
    run = _normal_run(verdict)
    if run is None or run.whole or run.count < SETTLED_MONTHS:
        return None
    return run.start, run.count


# Where a run of normal variation starts at a recalculation of the limits (`spc_rebase`).
RECALCULATED = "when the process limits were recalculated"


def common_cause_words(verdict: Verdict | None, brief: bool = False) -> str:
    """What the months show when the latest is common cause, true of the chart the paper
    prints: 'the last 24 months show only normal variation' only when no month of them is
    marked and the limits are never recalculated; 'the 9 months from January 2025 show only
    normal variation' when the unusual ones are further back; 'the 8 months from February
    2025, when the process limits were recalculated, show only normal variation' from a
    recalculation (`spc_rebase`); else '2 of the last 24 months, from July to August 2025,
    were unusual, though not the latest' (the span is of the months marked, not of the 24),
    naming a recalculation among them. No sentence calls a chart with triangles on it, or a
    step in its limits, "only normal variation"."""
    variation = verdict.variation if verdict else None
    assert variation is not None, "a common-cause verdict has its chart"
    run = _normal_run(verdict)
    assert run is not None and verdict is not None and verdict.chart is not None, \
        "a common-cause verdict has a month with a value"
    if run.whole:
        if brief:
            return "the months show only normal variation"
        months, missing = _chart_months(verdict)
        if missing:
            return (f"{months - len(missing)} of the last {months} months show only normal "
                    f"variation ({_no_figure(missing)})")
        return f"the last {months} months show only normal variation"
    # a month with no value among those counted is named, not counted as one that held
    _, missing = _chart_months(verdict)
    gap = [m for m in missing if m >= run.start]
    gap_words = f" ({_no_figure(gap)})" if gap else ""
    if run.step:
        return (f"the {run.count} months from {run.start.name}, {RECALCULATED}, show only "
                f"normal variation{gap_words}")
    settled = _settled_since(verdict)
    if settled is not None:
        start, count = settled
        return f"the {count} months from {start.name} show only normal variation{gap_words}"
    return _marked_words(verdict)


def _chart_months(verdict: Verdict) -> tuple[int, list[Month]]:
    """How many calendar months the chart spans, from its first month with a value to its
    latest, and those of them with no value: a chart of 24 months with one missing read
    "the last 23 months show only normal variation"."""
    assert verdict.chart is not None, "only a verdict with a chart has months"
    valued = [p for p in verdict.chart.points if p.value is not None]
    first, latest = Month.parse(valued[0].month), Month.parse(valued[-1].month)
    missing = [Month.parse(p.month) for p in verdict.chart.points
               if p.value is None and first <= Month.parse(p.month) <= latest]
    return latest.index - first.index + 1, missing


def _no_figure(missing: Sequence[Month]) -> str:
    """'July 2024 has no figure', 'July and August 2024 have no figure'."""
    names = [m.name for m in missing]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{listed} {'has' if len(names) == 1 else 'have'} no figure"


def _marked_words(verdict: Verdict) -> str:
    """'2 of the last 24 months, from July to August 2025, were unusual, though not the
    latest': the months the chart marks before its latest (the span is of the months marked,
    not of the 24), naming a recalculation of the limits among them."""
    assert verdict.chart is not None, "only a verdict with a chart has months it marks"
    marked = _earlier_signals(verdict)
    first, last = Month.parse(marked[0].month), Month.parse(marked[-1].month)
    span = _span(first, last) if first == last else f"from {_span(first, last)}"
    steps = [Month.parse(s.start).name for s in verdict.chart.segments[1:]]
    recalculated = (f" (the process limits were recalculated in {' and '.join(steps)})"
                    if steps else "")
    months, _ = _chart_months(verdict)
    return (f"{len(marked)} of the last {months} months, {span}, "
            f"{'was' if len(marked) == 1 else 'were'} unusual, though not the "
            f"latest{recalculated}")


def _stable_words(verdict: Verdict | None, step: _Step, since: str,
                 name_step: bool = True) -> str:
    """'the level fell after the baseline and has been stable at the new level' where the
    chart bears it out (`_level_step`): since the month the limits were recalculated (named,
    unless `name_step` is False where the words that follow name it), and not at all where
    that is recent; beside a shift the chart marks, the months it marks."""
    moved = step.moved
    run = _normal_run(verdict)
    assert verdict is not None and run is not None, "a level moves on a chart"
    if step.shown == SHIFTED:
        return f"the level {moved} after {since}, and {_marked_words(verdict)}"
    if run.whole:
        return f"the level {moved} after {since} and has been stable at the new level"
    settled = _settled_since(verdict)
    if settled is not None:
        named = f", {RECALCULATED}" if run.step and name_step else ""
        return (f"the level {moved} after {since} and has been stable since "
                f"{settled[0].name}{named}")
    return f"the level {moved} after {since}, and {common_cause_words(verdict, brief=True)}"


def target_sentence(result: KpiResult, verdict: Verdict | None) -> str:
    """'Against the target of 90.0% (the national standard) the figure is met, and as the
    process runs the target will consistently be met.'"""
    if verdict is None or verdict.target is None:
        return ""
    kpi = result.kpi
    text = f"Against the target of {kpi_value(verdict.target, kpi)}{target_source(kpi)}"
    if verdict.target_met is not None:
        text += f" the figure {'meets' if verdict.target_met else 'misses'} it"
    if verdict.assurance is not None:
        # A figure whose window holds months from before the limits were recalculated can
        # miss a target the process now passes consistently (or meet one it now fails).
        against = (verdict.target_met, verdict.assurance) in (
            (False, stats.CONSISTENTLY_PASS), (True, stats.CONSISTENTLY_FAIL))
        text += ("," if verdict.target_met is not None else "") + \
            f" {'but' if against else 'and'} {ASSURANCE_SENTENCES[verdict.assurance]}"
    return text + "."


def _noun_phrase(title: str) -> str:
    """A KPI title inside a sentence: 'Neighbourhood crime' -> 'neighbourhood crime', but
    'ASB incidents' and 'PCSO headcount' keep their capitals."""
    first = title.split(" ", 1)[0]
    if len(first) > 1 and first[1:].islower():
        return title[:1].lower() + title[1:]
    return title


def kpi_sentences(result: KpiResult, comparison: Comparison, period_end_index: int,
                  verdict: Verdict | None = None, plan: str = "the plan",
                  variant: int = 0, concise: bool = False, said: str = "") -> Inlines:
    """The sentences of one KPI's paragraph (without breakdowns or figure references).
    `concise` (the board's paper) says a significant change's worth in the same clause: 'a
    statistically significant deterioration', not 'a statistically significant change. This
    represents a deterioration.'"""
    kpi = result.kpi
    if result.status == Outcome.IN_DEVELOPMENT:
        text = inlines(f"This KPI is in development: it is defined in {plan or 'the catalogue'}, "
                       "but there is no data for it yet.")
        if kpi.description:
            text = inlines(text, " ", _sentence(Name(kpi.description)))
        return text
    note = Name(no_figure_words(result.note))
    if result.current is None or result.current.value is None:
        return _sentence(inlines("No figure can be reported: ", note))
    opening = current_clause(result)
    status = ""
    if result.change is None or result.comparison is None:
        # A figure with nothing to compare it with still has what its process chart, its
        # target, its window and its months not final say: an exception for a special cause
        # of concern said only "no comparison can be made" in its own paragraph.
        # Why, where the introduction has not said it for this and other KPIs (`said`).
        text = _sentence(inlines(opening, "; no comparison can be made (see 1.2)")
                         if said and note.text == said else
                         inlines(opening, "; no comparison can be made: ", note))
    else:
        before = kpi_value(result.comparison.value, kpi,
                           beside=render.other_window(result.comparison, result))
        base = "the baseline of " if comparison == Comparison.BASELINE else ""
        clause = significance_clause(verdict)
        status = status_sentence(result, verdict, variant)
        if result.gap:  # not "the latest figures held": later months are held
            status = ""
        worth = verdicts.change_status(result)
        if concise and clause == f", {SIGNIFICANT}" and worth in STATUS_VARIANTS:
            clause = f", a statistically significant {STATUS_NOUNS[worth]}"
            if result.status in STATUS_VARIANTS:  # (a stale KPI's sentence says it is stale)
                status = ""
        text = inlines(opening, f", {change_words(result)} from {base}{before} "
                                f"{_in(result.comparison.window)}{clause}.")
    for sentence in (status,
                     variation_sentence(result, verdict),
                     target_sentence(result, verdict)):
        if sentence:
            text = inlines(text, " " + sentence)
    latest = latest_words(result.current.window, period_end_index)
    if result.gap:
        text = inlines(text, " " + gap_sentence(result.current.window, period_end_index))
    elif latest:
        text = inlines(text, f" This is {latest}.")
    return inlines(text, population_sentence(kpi), quality_sentence(result),
                   provisional_sentence(result, verdict))


def change_worth(result: KpiResult, verdict: Verdict | None) -> str:
    """What a KPI's change is worth, as its sentence and a figure's caption say it: 'a
    statistically significant improvement', 'within normal variation' ('not statistically
    significant' where the months show a special cause) or 'not tested for significance'."""
    significant = verdict.significance.significant if verdict and verdict.significance else None
    if significant:
        return {Outcome.IMPROVING: "a statistically significant improvement",
                Outcome.DETERIORATING: "a statistically significant deterioration"}.get(
            verdicts.change_status(result), "a statistically significant change")
    if significant is None:
        return "not tested for significance"
    return "within normal variation" if normal_variation(verdict) else NOT_SIGNIFICANT_UNUSUAL


def change_from(result: KpiResult, usual: Window | None) -> str:
    """A KPI's change as a brief sentence and a figure's caption give it: 'up 0.8% from
    26,405', the comparison's window named where it is not the paper's `usual` one."""
    before = result.comparison
    assert before is not None, "a change is from a comparison"
    then = "" if before.window == usual else f" {_in(before.window)}"
    change = change_words(result).replace("an increase of", "up").replace(
        "a decrease of", "down")
    return (f"{change} from "
            f"{kpi_value(before.value, result.kpi, beside=render.other_window(before, result))}"
            f"{then}")


def brief_sentences(result: KpiResult, comparison: Comparison, period_end_index: int,
                    verdict: Verdict | None = None, plan: str = "the plan",
                    usual: tuple[Window | None, Window | None] = (None, None),
                    said: str = "") -> Inlines:
    """One sentence for a KPI that is not an exception: its figure, its change and what the
    change is worth, and what the months show where that adds to it. A window is named only
    when it is not the paper's usual one (`usual`: the current and comparison windows the
    introduction states for the KPI's kind)."""
    kpi = result.kpi
    if (result.status == Outcome.IN_DEVELOPMENT or result.current is None
            or result.current.value is None or result.change is None
            or result.comparison is None):
        return kpi_sentences(result, comparison, period_end_index, verdict, plan, said=said)
    current, before = result.current, result.comparison
    significant = verdict.significance.significant if verdict and verdict.significance else None
    variation = verdict.variation if verdict else None
    # Beside the comparison's figure where the paragraph gives it: the two read apart.
    other = render.other_window(current, result)
    value = kpi_value(current.value, kpi, beside=other)
    if kpi.kind == Kind.RATIO_OF_RATES and kpi.populations and kpi.noun:
        value = value_words(current.value, kpi, beside=other)
        group, reference = (_capital(p.replace("_", " ")) for p in kpi.populations)
        head = inlines(f"{group} people were {value} times as likely as {reference} people "
                       "to be ", Name(kpi.noun))
    else:
        cases = printed_cases(kpi, current)
        counts = f" ({cases_text(cases)})" if cases else ""
        head = inlines(f"{value}{counts}")
    when = "" if current.window == usual[0] else f" {_in(current.window)}"
    latest = latest_words(current.window, period_end_index)
    if latest:
        when += f" ({latest})"
    worth = change_worth(result, verdict)
    step = _level_step(result, verdict)
    if (variation is not None and variation.verdict == stats.COMMON_CAUSE
            and (significant is None or (significant and step is None)
                 or (significant is False and not normal_variation(verdict)))):
        # (not significant, beside months the chart marks or a recalculation of its limits:
        # which, never "normal variation"; significant with no move of the level the chart
        # shows: the unusual months after the comparison, where there are any)
        months = (_unmoved_words(result, verdict) if significant
                  else common_cause_words(verdict, brief=True))
        worth += f"; {months}"
    text = inlines(head, f"{when}, {change_from(result, usual[1])}: {worth}")
    if variation is not None and variation.verdict == stats.COMMON_CAUSE:
        if significant and step is not None and not kpi.provisional_months:
            # "the level fell after the comparison" named no time: the window does.
            since = "the baseline" if comparison == Comparison.BASELINE else \
                _in(before.window).removeprefix("in ")
            text = inlines(text, f"; {_stable_words(verdict, step, since)}")
    elif (variation is not None and variation.rule == stats.LIMITS
          and variation.verdict in (stats.SPECIAL_HIGH, stats.SPECIAL_LOW)):
        # "the months show an unusually high month" said "month" twice: the rule is of the
        # latest month, beyond a process limit, and a KPI with no better direction has no
        # more to say of it.
        text = inlines(text, f"; the latest month is unusually "
                             f"{'high' if variation.high else 'low'}")
    elif variation is not None and verdict is not None:
        text = inlines(text, f"; the months show {shown_variation(verdict, brief=True)}")
    text = inlines(text, ".")
    no_chart = no_chart_sentence(verdict)  # (where what the months show would be said)
    if no_chart:
        text = inlines(text, " " + no_chart)
    return inlines(text, population_sentence(kpi), quality_sentence(result),
                   provisional_sentence(result, verdict))


def _span(first: Month, last: Month) -> str:
    """'October to December 2025', 'December 2024 to February 2025', 'March 2025'."""
    if first == last:
        return last.name
    if first.year == last.year:
        return f"{first.name.split()[0]} to {last.name}"
    return f"{first.name} to {last.name}"


def quality_words(note: str) -> str:
    """A data-quality note of the engine (`engine._column_flags`, `engine._row_flags`) as the
    paper prints it: its months named ('November 2023', not '2023-11'; a quarter's 'April
    2025 to June 2025') and a column by its words ('the age range column', not
    "column 'age_range'")."""
    text = re.sub(r"column '([^']*)'",
                  lambda m: f"the {m.group(1).replace('_', ' ')} column", note)
    text = re.sub(r"\b(\d{4}-\d{2})\.\.(\d{4}-\d{2})\b",
                  lambda m: f"{Month.parse(m.group(1)).name} to {Month.parse(m.group(2)).name}",
                  text)
    return re.sub(r"\b\d{4}-(?:0[1-9]|1[0-2])\b", lambda m: Month.parse(m.group(0)).name, text)


def quality_sentence(result: KpiResult) -> str:
    """' Data quality: the age range column is blank on 100.0% of the rows of November 2023 (a
    median of 23.2% in the months around it).': the notes `kpi summary` and `kpi check` give on
    the rows behind the figure, so a figure resting on rows kpi doubts never reads as sound."""
    if not result.quality:
        return ""
    return f" Data quality: {quality_text(result)}."


def quality_text(result: KpiResult) -> str:
    """A result's data-quality notes in the paper's words, one after another."""
    return "; ".join(quality_words(n) for n in result.quality)


def population_sentence(kpi: KpiDef) -> str:
    """' The populations this ratio divides by are illustrative, not published figures (...).'
    for a KPI dividing by [population] figures that are only an illustration, or ' The
    population this rate divides by is from the ONS Census 2021.' where their source is
    declared: a ratio of made-up populations never reads as the area's own
    (`catalogue.PopulationSource`)."""
    two = kpi.kind == Kind.RATIO_OF_RATES
    return source_sentence(
        f"The population{'s' if two else ''} it divides by {'are' if two else 'is'}",
        PopulationSource(kpi.population_source, kpi.population_illustrative))


def provisional_sentence(result: KpiResult, verdict: Verdict | None = None) -> str:
    """' The figures of the last 3 months (October to December 2025) are not final yet, ...'
    for a KPI whose latest months will still change (`provisional_months`), with the figures
    its significance test compared without them (`Verdict.settled`)."""
    kpi = result.kpi
    if not kpi.provisional_months or result.current is None:
        return ""
    window = result.current.window
    end = window.end
    first = end - (kpi.provisional_months - 1)
    last = "month" if kpi.provisional_months == 1 else f"{kpi.provisional_months} months"
    text = (f" The figures of the last {last} "
            f"({_span(first, end)}) are not final yet and will change as records are updated: "
            f"{_figure_holding(window, first)}")
    # Said of the process chart and the test only where the KPI has them: with a year of
    # data it has neither, and "the process chart leaves them out" named a chart not drawn.
    charted = verdict is not None and verdict.variation is not None
    settled = verdict.settled if verdict is not None else None
    if settled is not None:
        now, then = settled
        compares = (f"{kpi_value(now.value, kpi, beside=Beside.comparison(then.value))} in "
                    f"{_span(now.window.start, now.window.end)} "
                    f"with {kpi_value(then.value, kpi, beside=Beside.current(now.value))} in "
                    f"{_span(then.window.start, then.window.end)}")
        if charted:
            return (text + "; the process chart leaves them out, and so does the test of the "
                    f"change, which compares {compares}.")
        return text + f"; they are left out of the test of the change, which compares {compares}."
    tested = result.change is not None and result.comparison is not None
    if charted:
        return text + "; the process chart leaves them out" + (
            ", and so does any test of the change." if tested else ".")
    return text + ("; any test of the change leaves them out." if tested else ".")


def _figure_holding(window: Window, first: Month) -> str:
    """Which figure holds a KPI's months not final yet (`first` to the window's end), as its
    window is: 'the 12-month figure includes them' of a year; 'the figure for April to
    December 2025 includes them' of a financial year to date or a month ("the 12-month
    figure" was said of nine months); 'the figure for April 2025 includes the one of them it
    covers' where the window starts after the first of them."""
    months = window.end.index - window.start.index + 1
    if months == 12 and first >= window.start:
        return "the 12-month figure includes them"
    figure = f"the figure for {_span(window.start, window.end)}"
    if first >= window.start:
        return f"{figure} includes {'it' if first == window.end else 'them'}"
    return (f"{figure} includes the "
            f"{'one' if months == 1 else months} of them it covers")


def _size(result: KpiResult) -> float:
    change = result.change
    assert change is not None, "only a KPI with a change has its size"
    return next(v for v in (change.points, change.absolute) if v is not None)


def _change_direction(result: KpiResult) -> str:
    """'rose' or 'fell', as the 12-month change goes; '' without one, or for a change the
    paper calls unchanged (`change_words`: one that prints as zero)."""
    if result.change is None or change_words(result).startswith("unchanged"):
        return ""
    return "fell" if _size(result) < 0 else "rose"


# How a process chart shows the level moved after the comparison window (`_Step`): its months
# all come after the window; its limits were recalculated (`spc_rebase`) after it, the months
# from then on the side the change went; or a rule marks a shift that shows the move.
BEFORE_CHART, AT_RECALCULATION, SHIFTED = "before_chart", "recalculated", "shifted"


@dataclass(frozen=True)
class _Step:
    """A move of the level after the comparison window the process chart shows: `moved`
    ('rose' or 'fell', the way the 12-month change goes) and how the chart shows it
    (`shown`: BEFORE_CHART, AT_RECALCULATION or SHIFTED)."""

    moved: str
    shown: str


def _level_step(result: KpiResult, verdict: Verdict | None) -> _Step | None:
    """The move of the level after the comparison window that the process chart shows, or
    None: the one place the paper decides it may say the level rose or fell after the
    comparison ("... and has been stable since"). The 12-month change gives the way, never
    the move: a move is one the chart shows, the months said to be at the new level set apart
    from the months before them by the chart itself. That is where the chart's months all
    come after the comparison window and show only normal variation (the move came before
    them); where its limits were recalculated after the window (`spc_rebase`, a declared
    step) and the months since average the other side of those before, the way the change
    went; or where a rule marks a shift (seven or more months in a row one side of the
    average) that way starting after the window, or marks the other way the months the
    window ends in, the months since out of that run (a shift below the average from October
    2023 to April 2024, then months about it: the level rose after the year ending March
    2024). Nowhere else: three unusual months of 136 among months of 98 and 102 read "The
    level rose after the comparison period and has been stable since March 2025", the months
    from March 2025 averaging 100.3; a fall in October 2023, inside the baseline year, read
    "the level fell after the baseline and has been stable since February 2025" for one
    unusual month in January 2025. No move for a change
    the paper calls unchanged ("unchanged to one decimal place from 99.9%: ... the level rose
    after the baseline"), nor where the months held run across the comparison's end."""
    moved = _change_direction(result)
    run = _normal_run(verdict)
    if not moved or run is None or result.comparison is None:
        return None
    assert verdict is not None and verdict.chart is not None, "a run is of a chart"
    chart, end, high = verdict.chart, result.comparison.window.end, moved == "rose"
    if run.whole:
        return _Step(moved, BEFORE_CHART) if run.start > end else None
    if run.step and run.start > end:
        since = str(run.start)
        before = [p.value for p in chart.points
                  if p.value is not None and p.month < since
                  and p.month >= chart.segments[-2].start]
        after = [p.value for p in chart.points if p.value is not None and p.month >= since]
        if before and after and sum(after) / len(after) != sum(before) / len(before) \
                and (sum(after) / len(after) > sum(before) / len(before)) == high:
            return _Step(moved, AT_RECALCULATION)
    shifts = [p for p in chart.signals if p.rule == stats.SHIFT]
    if any(p.high == high and Month.parse(_run_start(chart, p.month, high)) > end
           for p in shifts):
        return _Step(moved, SHIFTED)
    left = [p.month for p in shifts if p.high == (not high)]
    if left and Month.parse(_run_start(chart, left[-1], not high)) <= end:
        return _Step(moved, SHIFTED)
    return None


def level_moved(result: KpiResult, verdict: Verdict | None = None) -> str:
    """'rose' or 'fell' where the process chart shows the level moved after the comparison
    window (`_level_step`), the way the 12-month change goes; '' otherwise."""
    step = _level_step(result, verdict)
    return step.moved if step is not None else ""


def _slot(key: str, label: str, texts: Sequence[str], section: int, after: int) -> Slot:
    """The place for the commentary `key`, holding its paragraphs numbered on from
    paragraph `after` of the section."""
    return Slot(key, label, tuple(Paragraph(inlines(Name(t)), number=f"{section}.{n}")
                                  for n, t in enumerate(texts, start=after + 1)))


def _sentence(content: Inlines | Name) -> Inlines:
    """Inlines ending in a full stop unless they already end a sentence."""
    content = inlines(content)
    if plain_text(content).strip().endswith((".", "!", "?")):
        return content
    return inlines(content, ".")


# ---------------------------------------------------------------------------------------------
# The document


@dataclass(frozen=True)
class _ExceptionLine:
    """A line of the front page's exceptions and how many KPIs it lists: KPIs with no figure
    for one reason share a line, and every count of exceptions counts KPIs, not lines."""

    text: Inlines
    kpis: int


def _kpis_in(lines: Sequence[_ExceptionLine]) -> int:
    """How many exceptions (KPIs) `lines` list: the one count the front page, its overflow
    sentence and the appendix give. "16 of 39" counted lines beside "Exceptions (42)", where
    4 KPIs with no figure shared one."""
    return sum(line.kpis for line in lines)


def _bullets(lines: Sequence[_ExceptionLine]) -> BulletList:
    return BulletList(tuple(line.text for line in lines), marked=True)


@dataclass(frozen=True)
class _Aside:
    """A block of the front page the exceptions come before: a sentence (its strong head,
    what it lists and what follows) and its list, or, where the exceptions need its room, the
    sentence alone saying which appendix holds the list."""

    head: str
    what: str
    tail: str
    items: BulletList
    title: str  # the appendix's, where the list goes

    def blocks(self) -> list:
        return [Paragraph(inlines(Strong(inlines(self.head)), ": ", self.what, self.tail)),
                self.items]

    def pointer(self, label: str) -> Paragraph:
        return Paragraph(inlines(Strong(inlines(self.head)), ": ", self.what,
                                 f", listed in {label}", self.tail))


class _Builder:
    def __init__(self, model: BoardModel, files_dir: str, commentary: Commentary):
        self.model = model
        self.full = model.full
        self.checks = model.checks
        self.config = model.config
        # Why each KPI is an exception (kpi.verdicts.exceptions), and the paragraph that
        # reports it, so the front page can point there.
        self.exceptions = model.exceptions
        self.labels: dict[str, str] = {}
        self.commentary = commentary
        self.revised = model.revised
        self.loaded = model.loaded
        self.project = model.project
        self.report = model.report
        self.results = model.results
        self.verdicts = model.verdicts
        self.said: dict[str, int] = {}  # status sentences said so far in the section
        self.charts = model.charts
        self.breakdowns = model.breakdowns
        self.files_dir = files_dir.rstrip("/")
        self.figures: list[PlannedFigure] = []
        self.quoted: dict[tuple[str, str], tuple[KpiResult, Measured]] = {}
        self.parts: dict[tuple, PartFigure] = {}
        self.cases: set[str] = set()
        # KPIs a list of whose parts prints to more places than the KPI's, so that two parts
        # that differ never read alike (render.ranked_digits, `_ranking`): the method says so.
        self.widened: set[str] = set()
        self.tables = 0
        self._wanted = model.priorities
        self.uncompared = _shared_no_comparison(printed_results(model.report, model.priority))

    # -- whole document ----------------------------------------------------------------------

    def build(self, as_of_text: str | None) -> Paper:
        priority = self.model.priority
        priorities = [p for p in self.project.priorities if p.id in self._wanted]
        # Figures are numbered in the order the paper shows them, planned before any
        # paragraph is written: a paragraph may cite a figure that follows a later one.
        for item in priorities:
            results = [r for r in self.report.results if r.kpi.priority == item.id]
            for group in _groups([r for r in results if not r.kpi.hidden]):
                for result in group:
                    self._figure_numbers(result.kpi.id)
            for result in results:
                if result.kpi.hidden:
                    self._figure_numbers(result.kpi.id)
        sections = [self._introduction(priority)]
        for number, item in enumerate(self.project.priorities, start=2):
            if item in priorities:
                sections.append(self._section(number, item.id, item.title))
        number = len(self.project.priorities) + 2
        notes = self.commentary
        for title, key, text in (
                ("Equality Implications", "equality_implications", notes.equality_implications),
                ("Next Steps", "next_steps", notes.next_steps)):
            if text:
                sections.append(Section(f"{number}.", inlines(title), (
                    _slot(f"paper.{key}", title, text, number, 0),)))
                number += 1
            else:
                # The place for it stays in the Word draft, under its own (unnumbered)
                # heading, so it is not one of a stack of places at the end of the last
                # priority; the other formats and the final paper leave the section out.
                sections.append(Section("", inlines(title), (Slot(f"paper.{key}", title),)))
        author = self._author_block()
        if author:
            at = max(n for n, section in enumerate(sections) if not section.placeholder)
            last = sections[at]
            sections[at] = Section(last.label, last.title, last.blocks + author)
        appendices = self._appendices(priorities)
        sections += appendices
        title, subtitle, facts = self._title(priority, as_of_text)
        # The front page is written last, when every paragraph it points to has its number;
        # what does not fit its two pages goes to appendices after the others.
        front, overflow = self._front_page(priority, len(appendices), (title, subtitle, facts))
        sections.insert(0, front)
        sections += overflow
        issued = notes.issued
        document = Document(title=title, subtitle=subtitle, facts=facts,
                            sections=tuple(sections), author=notes.author, issued=issued,
                            marking=self.project.marking, period=str(self.report.period),
                            project=self.project.name)
        for figure in self.figures:
            self._print_drawn(figure.spec)
        return Paper(document=document, figures=tuple(self.figures),
                     quoted=tuple(self.quoted.values()), parts=tuple(self.parts.values()),
                     cases=frozenset(self.cases))

    # -- the front page ----------------------------------------------------------------------

    def _visible(self, priority: str | None = None) -> list[KpiResult]:
        return [r for r in self.report.results if not r.kpi.hidden
                and (priority is None or r.kpi.priority == priority)
                and r.kpi.priority in self._wanted]

    def _front_page(self, priority: str | None, appendices: int,
                    title_block: tuple[Inlines, Inlines, tuple[Inlines, ...]]
                    ) -> tuple[Section, list[Section]]:
        """What the board must know this month, built from the data: the tally, what the
        board is asked to do, the matrix of every KPI by variation and assurance, the
        exceptions with the paragraph of each, failed checks, revised figures and the
        analyst's introduction. It is kept to the first two A4 pages (FRONT_PAGE_LINES,
        estimated by `_front_lines`): where the matrix rows' KPIs by name do not fit they go to
        an appendix, and where the exceptions do not either, those beyond what fits are
        counted on the front page and listed in an appendix, both after the `appendices`
        the paper has. Returns the front page and those appendices."""
        results = self._visible()
        blocks: list = [Paragraph(inlines(_tally_sentence(results, self.verdicts,
                                                          "Of the {kpis} reported: ")))]
        ask = self.commentary.next_steps
        if ask:
            lead = () if ask[0].lower().startswith("the board") else Strong(inlines(
                "What the board is asked to do: "))
            blocks.append(Paragraph(inlines(lead, Name(ask[0]))))
        grid, developing, names = self._matrix(results)
        blocks.append(grid)
        if developing is not None:
            blocks.append(developing)
        listed = [r for r in results if self.exceptions.get(r.kpi.id)]
        lines: tuple[_ExceptionLine, ...] = ()
        at = len(blocks)
        if listed:
            # The one order of the front page's list and of the appendix that takes its rest.
            listed.sort(key=lambda r: (seriousness(self.exceptions[r.kpi.id]),
                                       results.index(r)))
            lines = self._exception_lines(listed)
            # The marks are a key to scan by, so the key says what each one used means.
            marks = dict.fromkeys(exception_mark(self.exceptions[r.kpi.id]) for r in listed)
            key = "; ".join(f"{mark} {MARK_WORDS[mark]}" for mark in marks)
            blocks.append(Paragraph(inlines(Strong(inlines(
                f"Exceptions ({_kpis_in(lines)})")), ": the KPIs the board should look at, "
                f"most serious first, each with the paragraph that reports it ({key}).")))
        else:
            blocks.append(Paragraph(inlines(
                "No KPI is an exception this month: no special cause of concern, no target "
                "missed or at risk, no significant deterioration and no stale source.")))
        # A KPI without data is already an exception above: the front page lists the checks
        # that reconcile figures.
        reconciling = [c for c in self.checks if c.kind == "reconciliation"]
        # A check one of whose figures the paper has none of (a dataset not loaded, a window
        # not held) was not made: it is not a failure of parts to add up.
        unmade = [c for c in reconciling if not c.passed and not c.made]
        reconciling = [c for c in reconciling if c not in unmade]
        failed = [c for c in reconciling if not c.passed]
        if unmade:
            count = len(unmade)
            blocks.append(Paragraph(inlines(
                f"{count} check{'s' if count > 1 else ''} of the data could not be made, a "
                f"figure {'they' if count > 1 else 'it'} add{'' if count > 1 else 's'} up "
                "having none this month: ", [inlines("; " if n else "", Name(c.title))
                                             for n, c in enumerate(unmade)], ".")))
        # The failed checks and the data-quality notes: each a sentence and a list, which go
        # to an appendix (the notes first, then the checks) where they would take the
        # exceptions' room: the board reads the exceptions first.
        asides: list[_Aside] = []
        if reconciling:
            if failed:
                # A check whose total and parts cover different windows failed without a sum:
                # "do not add up" alone would say of it what was never worked out.
                windows = any(c.windows_differ for c in failed)
                asides.append(_Aside(
                    f"Checks that failed ({len(failed)})", "parts that should add up to "
                    "their total and do not"
                    + (", or that cover other months than their total" if windows else ""),
                    ". Each figure in this paper is computed from its own source; where "
                    "parts and their total come from different systems they need not agree.",
                    BulletList(tuple(inlines(Name(c.title), ": ", Name(_true_minus(c.message)))
                                     for c in failed), small=True),
                    "The checks that failed"))
            else:
                count = len(reconciling)
                blocks.append(Paragraph(inlines(f"Every reconciliation of the data passed "
                                                f"({count} check{'s' if count > 1 else ''}).")))
        # A figure resting on rows kpi doubts (a column blank far more often than usual, a
        # month with far fewer rows): the notes `kpi check` fails on, with the paragraph.
        doubted = [r for r in results if r.quality and r.current is not None
                   and r.current.value is not None]
        if doubted:
            asides.append(_Aside(
                f"Data-quality notes ({len(doubted)})", "figures whose rows have a column "
                "blank far more often than usual, or a month with far fewer or more rows",
                "; each paragraph says so beside its figure.",
                BulletList(tuple(
                    inlines(Name(r.kpi.title), ": ", Name(quality_text(r)),
                            f". See {self.labels[r.kpi.id]}." if r.kpi.id in self.labels
                            else ".")
                    for r in doubted), small=True),
                "The data-quality notes"))
        revised: list = []
        if self.revised is not None:
            count = len(self.revised.items)
            # A KPI redefined or dropped since was not compared: "none has changed" would
            # claim of its figures what nothing checked.
            uncompared = len(self.revised.redefined) + len(self.revised.dropped)
            revised.append(Paragraph(inlines(
                f"Figures revised since the last paper: {count}"
                + (f", listed in {self._revision_appendix}." if count else
                   f" among the KPIs compared; {uncompared} KPI(s) redefined or no longer "
                   f"reported since were not compared ({self._revision_appendix})."
                   if uncompared else
                   " (none of the KPI or breakdown figures printed last time has changed)."
                   if self.revised.parts_compared else
                   " (none of the KPI figures printed last time has changed; their "
                   "breakdowns are not compared)."))))
        rows_head = Paragraph(inlines(Strong(inlines("The KPIs in each row of the table above")),
                                      " (for a KPI with a target, whether it will meet it)"))
        overflow: list[Section] = []

        def appendix(title: str, content: tuple) -> str:
            label = f"Appendix {appendices + len(overflow) + 1}"
            overflow.append(Section(f"{label}:", inlines(title), content, appendix=True))
            return label

        def fitting(moved: int) -> tuple[int, float]:
            """How many exception lines fit on the first two pages, and the room left for
            them, with the last `moved` asides in an appendix (the title block and every
            block but the exceptions and the rows' names counted)."""
            kept = asides[:len(asides) - moved]
            room = FRONT_PAGE_LINES - _front_lines(
                blocks + [b for a in kept for b in a.blocks()]
                + [a.pointer("Appendix 10") for a in asides[len(kept):]] + revised,
                title_block)
            shown = len(lines)
            while shown and _front_lines([_bullets(lines[:shown])]) \
                    + (EXCEPTION_POINTER_LINES if shown < len(lines) else 0) \
                    + POINTER_LINES > room:
                shown -= 1
            return shown, room

        moved = 0
        shown, room = fitting(moved)
        while shown < len(lines) and moved < len(asides):
            moved += 1
            shown, room = fitting(moved)
        rows_cost = _front_lines([rows_head, names])
        fits_rows = _front_lines([_bullets(lines)]) + rows_cost <= room
        if lines:
            # Where not one exception fits (a front page crowded by checks and notes), none
            # is listed there, never an empty list (the HTML and Word page estimates met one
            # as a list of no lines: an IndexError, exit 1): all are in the appendix.
            front_lines = lines if shown == len(lines) else lines[:shown]
            if front_lines:
                blocks.insert(at + 1, _bullets(front_lines))
            if shown < len(lines):
                rest = lines[shown:]
                # Counted in KPIs, as the list's head counts them (`_kpis_in`); and the
                # order has ties, so those left are none more serious, not less serious.
                count = _kpis_in(rest)
                many = count > 1
                where = appendix("The rest of the exceptions" if shown else "The exceptions", (
                    Paragraph(inlines(f"The exceptions that the summary for the board counts "
                                      f"but does not list, {count} of {_kpis_in(lines)}, "
                                      "in its order, each with the paragraph that reports "
                                      "it.")), _bullets(rest)))
                blocks.insert(at + (2 if front_lines else 1), Paragraph(inlines(
                    f"{count} more exception{'s' if many else ''}, "
                    f"{'none' if many else 'no'} more serious than those above, "
                    f"{'are' if many else 'is'} listed in {where}, each with the paragraph "
                    "that reports it."
                    if shown else
                    f"The {count} exception{'s' if many else ''}, in order of "
                    f"seriousness, {'are' if many else 'is'} listed in {where}, each "
                    "with the paragraph that reports it.")))
        for n, aside in enumerate(asides):
            if n < len(asides) - moved:
                blocks += aside.blocks()
            else:
                blocks.append(aside.pointer(appendix(aside.title, tuple(aside.blocks()))))
        blocks += revised
        if fits_rows:
            blocks += [rows_head, names]
        else:
            where = appendix("The KPIs in each row of the summary matrix", (
                Paragraph(inlines("The KPIs in each row of the matrix in the summary for the "
                                  "board (for a KPI with a target, whether it will meet it).")),
                names))
            blocks.append(Paragraph(inlines(f"The KPIs in each row of the table above are "
                                            f"listed by name in {where}.")))
        # The analyst's introduction ends the front page, after the matrix and the exceptions
        # it must not push off the first two pages: a place the Word paper lets them type.
        blocks.append(Slot("paper.introduction", "Introduction", tuple(
            Paragraph(inlines(Name(t))) for t in self.commentary.introduction)))
        return Section("", inlines("Summary for the board"), tuple(blocks)), overflow

    def _matrix(self, results: list[KpiResult]
                ) -> tuple[Table, Paragraph | None, BulletList]:
        """Every KPI by variation (rows) and by assurance against its target (columns), in
        the manner of Making Data Count's integrated performance reports, with shapes and
        words, never colour: a grid of counts, the sentence that counts the KPIs in
        development and points to their paragraphs (they have neither, so no row: a row of
        dashes said nothing, and one of dashes and 0 where there were none), then each row's
        KPIs by name."""
        rows: dict[str, list[KpiResult]] = {key: [] for key, _ in MATRIX_ROWS}
        rows["developing"] = []
        for r in results:
            rows[_matrix_row(r, self.verdicts.get(r.kpi.id))].append(r)
        grid = []
        # A target not judged (no limits) is a column only where some KPI has one: the front
        # page's width is for the columns that hold KPIs.
        judged = {_matrix_column(self.verdicts.get(r.kpi.id)) for r in results}
        columns = [(c, title) for c, title in MATRIX_COLUMNS
                   if c != "unjudged" or "unjudged" in judged]
        for key, words in MATRIX_ROWS:
            members = rows[key]
            cells = [sum(_matrix_column(self.verdicts.get(r.kpi.id)) == c for r in members)
                     for c, _ in columns]
            grid.append((inlines(words), *(inlines(str(n) if n else "\u2013") for n in cells),
                         inlines(str(len(members)))))
        table = Table((Column("Variation in the monthly figures"),
                       *(Column(title, Align.RIGHT) for _, title in columns),
                       Column("All", Align.RIGHT)), tuple(grid),
                      caption=inlines("KPIs by the variation in their monthly figures and "
                                      "whether they will meet their target"), role="matrix")
        items = []
        for key, words in MATRIX_ROWS:
            members = rows[key]
            if not members:
                continue
            names = []
            for n, r in enumerate(members):
                verdict = self.verdicts.get(r.kpi.id)
                column = _matrix_column(verdict)
                said = "" if column == "none" else _aside(
                    r.kpi.title, dict(MATRIX_COLUMNS)[column].lower())
                names.append(inlines("; " if n else "", Name(r.kpi.title), said))
            items.append(inlines(Strong(inlines(f"{words}, {len(members)}: ")), names, "."))
        developing = rows["developing"]
        sentence = None
        if developing:
            # One line, pointing to the paragraphs that name them: the front page's room is
            # for the matrix, the exceptions and the rows' KPIs by name.
            where = list(dict.fromkeys(self.labels[r.kpi.id] for r in developing
                                       if r.kpi.id in self.labels))
            see = f": see {_and_list(where)}" if where else ""
            sentence = Paragraph(
                inlines("The table leaves out ", Name(developing[0].kpi.title),
                        f", in development (no data yet){see}.")
                if len(developing) == 1 else
                inlines(f"The table leaves out the {len(developing)} KPIs in development "
                        f"(no data yet){see}."))
        # Each row's mark leads its item (no bullet beside it); a list to look names up in.
        return table, sentence, BulletList(tuple(items), marked=True, small=True)

    def _exception_lines(self, listed: list[KpiResult]) -> tuple[_ExceptionLine, ...]:
        """One line per exception, in the order of `listed`; KPIs with no figure for the same
        reason (a dataset not loaded) share one line, where the first of them is (those with
        no figure are the most serious, so they lead)."""
        from kpi import verdicts as judge

        lines: list[_ExceptionLine] = []
        missing: dict[str, tuple[int, list[KpiResult]]] = {}  # each line's place and KPIs
        for result in listed:
            if self.exceptions[result.kpi.id] == (judge.NO_FIGURE,):
                note = no_figure_words(result.note)
                if note not in missing:
                    missing[note] = (len(lines), [])
                    lines.append(_ExceptionLine((), 0))  # filled below, with all of them
                missing[note][1].append(result)
            else:
                lines.append(_ExceptionLine(self._exception_line(result), 1))
        for note, (at, results) in missing.items():
            if len(results) == 1:
                lines[at] = _ExceptionLine(self._exception_line(results[0]), 1)
                continue
            # The paragraphs that report them, each named once in paper order: "(2.2)" after
            # each of fourteen KPIs reported in one paragraph read as a list left unfinished.
            where = list(dict.fromkeys(self.labels[r.kpi.id] for r in results
                                       if r.kpi.id in self.labels))
            names = [inlines("; " if n else "", Name(r.kpi.title))
                     for n, r in enumerate(results)]
            lines[at] = _ExceptionLine(inlines(
                f"{EXCEPTION_MARKS[judge.NO_FIGURE]} ",
                Strong(inlines(f"{len(results)} KPIs have no figure")), " (", Name(note), "): ",
                names, f". See {_and_list(where)}." if where else "."), len(results))
        assert _kpis_in(lines) == len(listed), "every exception on one line, once"
        return tuple(lines)

    def _exception_line(self, result: KpiResult) -> Inlines:
        """'\u25b2 999 calls answered within 10 seconds: 83.9% in the year ending September
        2025, a decrease of ... from ... in the year ending March 2024; a special cause of
        concern (...). See 6.4.': every reason it is an exception, on one line."""
        kpi = result.kpi
        verdict = self.verdicts.get(kpi.id)
        reasons = [self._exception_words(kpi, verdict, why)
                   for why in self.exceptions[kpi.id]]
        figure = ""
        if result.current is not None and result.current.value is not None:
            figure = figure_words(result, self._usual(kpi)[1])
        mark = exception_mark(self.exceptions[kpi.id])
        where = self.labels.get(kpi.id)
        return inlines(f"{mark} ", Strong(inlines(Name(kpi.title))),
                       f": {figure}; " if figure else ": ", "; ".join(reasons),
                       f". See {where}." if where else ".")

    def _exception_words(self, kpi: KpiDef, verdict: Verdict | None, why: str) -> str:
        from kpi import verdicts as judge

        result = self.results[kpi.id]
        if why == judge.NO_FIGURE:
            return f"no figure can be reported ({no_figure_words(result.note)})"
        if why == judge.STALE:
            assert result.current is not None, "a stale source has a latest figure"
            if result.gap or result.status != Outcome.STALE:
                # later months are held, and one the window needs is not
                window = result.current.window
                return (f"a month the period asks for is missing, though later months are "
                        f"held: its figure is for {'the ' * (window.kind == WindowKind.YE)}"
                        f"{window.label}")
            # The figure before it names its window: said here, how far short of the period.
            period = self.report.period
            behind = period.index - result.current.window.end.index
            return (f"the source is stale: its data ends "
                    f"{render.counted(str(behind), 'months')} before {period.name}"
                    if behind > 0 else "the source is stale")
        if why == judge.CONCERN:
            assert verdict is not None and verdict.variation is not None, \
                "a concern is a special cause of the process chart"
            return shown_variation(verdict) if verdict.variation.rule == stats.SHIFT else \
                f"a special cause of concern ({rule_words(verdict.variation)})"
        target = f"the target of {kpi_value(kpi.target, kpi)}{target_source(kpi)}"
        if why == judge.TARGET_FAILING:
            return f"on current performance, {target} will consistently be missed"
        if why == judge.TARGET_MISSED:
            return f"misses {target}"
        if why == judge.TARGET_AT_RISK:
            return f"{target} will sometimes be met and sometimes missed"
        return "a statistically significant deterioration"

    def _author_block(self) -> tuple[Paragraph, ...]:
        notes = self.commentary
        out = []
        for label, value in (("Author", notes.author), ("Job title", notes.job_title)):
            if value:
                out.append(Paragraph(inlines(f"{label}: ", Strong(inlines(Name(value))))))
        return tuple(out)

    def _title(self, priority: str | None, as_of_text: str | None):
        report = self.report
        plan = self.config.plan
        scope: Inlines = inlines("every plan priority" if plan else "every priority")
        if priority is not None:
            named = self.project.priority(priority)
            scope = inlines("the priority ", Name(named.title if named else priority))
        notes = self.commentary
        facts = []
        if notes.board:
            facts.append(inlines("Board: ", Name(notes.board)))
        if notes.date:
            facts.append(inlines("Date: ", Name(notes.date)))
        if notes.author:
            facts.append(inlines("Presented by: ", Name(notes.author)))
        facts += [
            inlines(f"Reporting period: {report.period.name}"),
            inlines(f"Compared with: {self._comparison_words()}"),
            inlines("Scope: ", scope),
            inlines("Data: ", self._vintage(),
                    inlines(" (", _as_at(as_of_text), ")") if as_of_text else None),
        ]
        named = plan[4:] if plan.lower().startswith("the ") else plan
        heading = f"{_capital(named)} performance" if plan else "Performance report"
        return (inlines(Name(self.project.name)),
                inlines(Name(heading), f": {report.period.name}"), tuple(facts))

    def _comparison_words(self) -> str:
        words = comparison_words(self.project, self.report.comparison,
                                 [r.kpi for r in self.results.values()])
        return words if self.config.plan else words.replace("the plan baseline", "the baseline")

    def _vintage(self) -> Inlines:
        """When the stored data was loaded, as a date a board member can read; table
        versions are in the data sources appendix."""
        if not self.report.versions:
            return inlines("no stored data")
        days = sorted({self.loaded[d].date() for d in self.report.versions if d in self.loaded})
        if not days:
            return inlines("as stored (table versions in the appendix)")
        if len(days) == 1:
            return inlines(f"as loaded on {day_words(days[0])}")
        return inlines(f"as loaded between {day_words(days[0])} and {day_words(days[-1])}")

    def _introduction(self, priority: str | None) -> Section:
        project, report = self.project, self.report
        period = report.period
        count = len(project.priorities) if priority is None else 1
        plan = self.config.plan
        against = f"the KPIs of {plan}" if plan else "its KPIs"
        span = (f"the financial year to date ending {period.name}"
                if report.comparison == Comparison.FYTD else f"the year ending {period.name}")
        kind = "plan " if plan else ""
        how = ("Each numbered paragraph reports one KPI; every figure in it is computed from "
               "the stored data. A KPI that shows only normal variation gets one sentence; an "
               "exception gets a full paragraph and its process chart."
               if not self.full else "Each numbered paragraph reports one KPI; every figure "
               "in it is computed from the stored data.")
        paras = [
            f"This paper reports performance against {against} for {span}, across {count} "
            f"{kind}{'priority' if count == 1 else 'priorities'}. {how}",
            _conventions(project, report.comparison, period.name, self._comparison_words()),
        ]
        if self.uncompared:
            words, count = self.uncompared
            paras[1] += f" No comparison can be made for {count} KPIs: {words}."
        texts = [inlines(t) for t in paras]
        if not plan:
            texts[1] = inlines(paras[1].replace("the plan baseline", "the baseline"))
        if covers := self._covers():
            texts[1] = inlines(texts[1], *covers)
        note = self.config.data_note
        texts.append(inlines(
            "How to read the verdicts, the matrix and the process charts is set out in the "
            "appendix \u201cHow to read this paper\u201d.", f" {note}" if note else ""))
        blocks = [Paragraph(text, number=f"1.{n}") for n, text in enumerate(texts, start=1)]
        return Section("1.", inlines("Introduction"), tuple(blocks))

    # -- sections ----------------------------------------------------------------------------

    def _section(self, number: int, priority_id: str, title: str) -> Section:
        results = [r for r in self.report.results
                   if r.kpi.priority == priority_id and not r.kpi.hidden]
        blocks: list = []
        self.said = {}
        paragraph = 1
        blocks.append(Paragraph(_section_intro(title, results, self.verdicts),
                                number=f"{number}.{paragraph}"))
        # A table of KPIs none of which has a figure ("no data", "n/a", "not tested", "no
        # chart", "no target" fourteen times over) says nothing the paragraph after it does
        # not: a section whose dataset is not loaded has none.
        if self.verdicts and self.full and any(
                r.current is not None and r.current.value is not None for r in results):
            blocks.append(self._summary_table(title, results))
        texts = self.commentary.sections.get(priority_id, ())
        blocks.append(_slot(f"sections.{priority_id}", title, texts, number, paragraph))
        paragraph += len(texts)
        for group in _groups(results):
            paragraph += 1
            label = f"{number}.{paragraph}"
            for result in group:
                self.labels[result.kpi.id] = label
            if group[0].kpi.table:
                blocks += self._table(label, group)
            elif len(group) > 1:
                blocks.append(self._unreported(label, group))
            else:
                blocks.append(self._paragraph(label, group[0]))
            for result in group:
                # A KPI's place is in the paper when its commentary is: the Word draft holds
                # one empty place a section (the section's, above), not one after every KPI,
                # which stacked seven or eight under a table.
                texts = self.commentary.kpis.get(result.kpi.id, ())
                if texts:
                    blocks.append(_slot(f"kpis.{result.kpi.id}", result.kpi.title, texts,
                                        number, paragraph))
                paragraph += len(texts)
            for result in group:
                blocks += self._figures_after(result.kpi.id)
        # A figure anchored on a hidden KPI (drawn, never given a paragraph) ends the section.
        for result in self.report.results:
            if result.kpi.hidden and result.kpi.priority == priority_id:
                blocks += self._figures_after(result.kpi.id)
        return Section(f"{number}.", inlines(Name(title)), tuple(blocks))

    def _unreported(self, label: str, group: list[KpiResult]) -> Paragraph:
        """One paragraph for the KPIs of a section that have no figure for the same reason
        (`_groups`): the reason said once, then their titles."""
        names = [inlines("; " if n else "", Name(r.kpi.title)) for n, r in enumerate(group)]
        if group[0].status == Outcome.IN_DEVELOPMENT:
            lead = f"{len(group)} KPIs in development."
            text = inlines(f"They are defined in {self.config.plan or 'the catalogue'}, but "
                           "there is no data for them yet: ", names, ".")
        else:
            lead = f"{len(group)} KPIs without a figure."
            text = inlines("No figure can be reported for them (",
                           Name(no_figure_words(group[0].note)), "): ", names, ".")
        return Paragraph(inlines(Strong(inlines(lead)), " ", text), number=label)

    def _summary_table(self, title: str, results: list[KpiResult]) -> Table:
        """The section's verdicts at a glance, in the Making Data Count manner: words, not
        colours, so it reads in greyscale (the full paper's; the board's is the matrix)."""
        shared = _shared_window(r.current for r in results)
        head = f"Current ({shared.label})" if shared else "Current"
        columns = (Column("KPI"), Column(head, Align.RIGHT), Column("Change", Align.RIGHT),
                   Column("Significant"), Column("Variation"), Column("Assurance"))
        rows = []
        for r in results:
            verdict = self.verdicts.get(r.kpi.id)
            if r.current is None or r.current.value is None:
                current = inlines(STATUS_WORDS[r.status])
            else:
                # To the places its paragraph prints it to, beside the figure it is compared
                # with, as the change beside it is: "1.0 days" stood beside "+0.08 days"
                # where the paragraph said "1.04 days" (render.other_window)
                current = _table_value(r.current, r.kpi, shared is None,
                                       render.other_window(r.current, r))
            rows.append((inlines(Name(r.kpi.title)), current,
                         inlines(change_cell(r.change, r.kpi, str(no_change(r)),
                                             render.change_digits(r))),
                         *(inlines(c) for c in verdict_cells(r, verdict))))
        return Table(columns, tuple(rows), caption=inlines("Summary – ", Name(title)))

    def _paragraph(self, label: str, result: KpiResult) -> Paragraph:
        kpi = result.kpi
        # Each status sentence in a section takes the next wording, in paper order.
        verdict = self.verdicts.get(kpi.id)
        shown = shown_status(result, verdict)
        variant = self.said.get(shown, 0)
        self.said[shown] = variant + 1
        said = self.uncompared[0] if self.uncompared else ""
        if self.full or self.exceptions.get(kpi.id):
            text = kpi_sentences(result, self.report.comparison, self.report.period.index,
                                 verdict, self.config.plan, variant, concise=not self.full,
                                 said=said)
        else:
            text = brief_sentences(result, self.report.comparison, self.report.period.index,
                                   verdict, self.config.plan, self._usual(kpi), said=said)
        if printed_cases(kpi, result.current) is not None:
            self.cases.add(kpi.id)  # its opening prints them (current_clause, brief_sentences)
        extra = self._breakdown_sentences(result)
        extra += self._quotes(kpi)
        compared = self.model.peers.get(kpi.id)
        if compared is not None:
            from kpi.compare import peer_sentence

            said_peers = [inlines(Name(t)) for t in [peer_sentence(
                self.project, kpi, self.report.period, self.report.comparison,
                compared=compared)] if t]
            if said_peers:
                extra += [*self._whole_sentence(result, compared), *said_peers]
                self._print_peers(result, compared)
        refs = self._figure_refs(kpi.id)
        if refs:
            extra.append(inlines(f"See {_figure_list(refs)}."))
        body = inlines(text, [inlines(" ", e) for e in extra])
        return Paragraph(inlines(Strong(_sentence(Name(kpi.title))), " ", body), number=label)

    def _whole_sentence(self, result: KpiResult, compared: KpiComparison) -> list[Inlines]:
        """Before a peer sentence, which ranks the focus's own figure: whose rows the KPI's
        figure above it adds together, where that is more than the focus's. Data that holds
        the whole group (as a peer sentence needs) gives the KPI a figure of every part
        together, which read beside the focus's rank as the focus's own."""
        kpi, current = result.kpi, result.current
        group = self.project.peers.get(kpi.peers) if kpi.peers else None
        focus = compared.focus
        if group is None or focus is None or not compared.whole or current is None:
            return []
        if compared.whole == (focus,):  # as the KPI's own dataset spells it, as `whole` is
            return []
        label = self._column_label(kpi, group.column)
        items = _parts_listed(compared.whole, label)
        # As the paragraph's first sentence prints it (`current_clause`).
        value = kpi_value(current.value, kpi, beside=render.other_window(current, result))
        return [inlines("By ", label, f", the figure of {value} is that of every part the "
                        "data holds together (", items, "), not of ", Name(focus), " alone.")]

    def _covers(self) -> list[Inlines]:
        """What the figures cover, once, in the introduction: for each column telling parts
        of the data apart (`compare.parts_covered`: a `replace_by` column, a peer group's)
        whose rows the paper's figures add together from more than one part, those parts.
        Three forces loaded for comparison gave "The total recorded crime was 212,517" with
        no word of whose it was."""
        out = []
        said: set[tuple[str, tuple[str | None, ...]]] = set()
        for covered in self.model.covers:
            label = Name(covered.label)
            if (label.text, covered.parts) in said:
                continue  # one column derived from another (police.uk's force): said once
            said.add((label.text, covered.parts))
            out.append(inlines(
                " By ", label, ", each figure is that of every part the data holds together (",
                _parts_listed(covered.parts, label), "), not of any one of them alone."))
        return out

    def _usual(self, kpi: KpiDef) -> tuple[Window | None, Window | None]:
        """The windows the introduction states for a KPI of this kind: the year ending the
        period against the plan baseline for a flow, as at the period's end for a snapshot."""
        from kpi.periods import current_window

        vs = self.report.comparison
        current = current_window(self.report.period, snapshot=kpi.is_snapshot, vs=vs)
        baseline = (Window.as_at(self.project.snapshot_baseline) if kpi.is_snapshot
                    else Window.year_ending(self.project.baseline_end))
        return current, comparison_window(current, vs, baseline)

    def _quotes(self, kpi: KpiDef) -> list[Inlines]:
        """The other KPIs' figures a paragraph quotes (its `quotes`), computed as every figure
        is: 'Nuisance 19,480, ... (year ending September 2025).'"""
        quoted = [self.results[q] for q in kpi.quotes if q in self.results]
        shown = [(r, r.current) for r in quoted
                 if r.current is not None and r.current.value is not None]
        if not shown:
            return []
        for r, c in shown:
            self.quoted.setdefault((r.kpi.id, c.window.code), (r, c))
        windows = {c.window for _, c in shown}
        shared = windows.pop() if len(windows) == 1 else None
        items = [inlines("; " if n else "", Name(r.kpi.title), " ", kpi_value(c.value, r.kpi),
                         "" if shared else f" ({c.window.label})")
                 for n, (r, c) in enumerate(shown)]
        lead = f"Related figures {_in(shared)}: " if shared else "Related figures: "
        return [inlines(lead, items, ".")]

    def _table(self, label: str, group: list[KpiResult]) -> list:
        self.tables += 1
        name = Name(group[0].kpi.table)
        developing = [r for r in group if r.status == Outcome.IN_DEVELOPMENT]
        group = [r for r in group if r not in developing]
        current = _shared_window(r.current for r in group)
        compare = _shared_window(r.comparison for r in group)
        when = f" {_in(current)}" if current else ""
        against = f", against {_in(compare)[3:]}" if compare else ""
        last = _table_last_column(group, self.verdicts)
        what = ("the comparison value, the current value, the change and "
                + ("its status" if last[0] == "Status" else
                   "what its monthly figures show (as in the summary's matrix)")
                if last else "the comparison value, the current value and the change")
        text = inlines(f"Table {self.tables} sets out ", Name(_in_sentence(name.text)),
                       f"{when}{against}: for each KPI {what}.")
        changed = [r for r in group if r.change is not None]
        # Only changes measured alike are ranked: 10.0% of a count is not larger than 3.8
        # points of a proportion, nor 2 minutes than 5 crimes.
        if changed and len({_change_measure(r) for r in changed}) == 1:
            top = max(_change_size(r) for r in changed)
            if top > 0:
                text = inlines(text, " ", _largest_change(
                    [r for r in changed if _change_size(r) == top]))
        for r in developing:
            text = inlines(text, " ", Name(r.kpi.title), " is in development: there is no "
                           "data for it yet.")
        # An exception the front page points here for is said in words, not left to a row.
        for r in group:
            if self.exceptions.get(r.kpi.id):
                verdict = self.verdicts.get(r.kpi.id)
                reasons = [self._exception_words(r.kpi, verdict, why)
                           for why in self.exceptions[r.kpi.id]]
                # A dash, not a colon: a reason may hold its own ('a change in level: ...'),
                # and a clause carries one colon at most.
                text = inlines(text, " ", Strong(inlines(Name(r.kpi.title))),
                               " is an exception \u2013 ", "; ".join(reasons), ".")
        for r in group:
            quotes = self._quotes(r.kpi)
            if quotes:
                text = inlines(text, " ", quotes)
        # Each KPI's breakdowns, as its own paragraph would give them, named by the KPI: a
        # KPI of a table printed none, though `[paper] breakdowns` or `--full` asked for them.
        for r in group:
            for sentence in self._breakdown_sentences(r):
                text = inlines(text, " ", Name(r.kpi.title), ": ", sentence)
        refs = sorted({n for r in group for n in self._figure_refs(r.kpi.id)})
        if refs:
            text = inlines(text, f" See {_figure_list(refs)}.")
        comparison_head = "Baseline" if self.report.comparison == Comparison.BASELINE \
            else "Comparison"
        head_cmp = f"{comparison_head} ({compare.label})" if compare else comparison_head
        head_cur = f"Current ({current.label})" if current else "Current"
        # The last column says what a board can use: the status where a row's change was
        # tested; where none was (snapshots: two counts of the same people are not independent
        # samples), what the monthly figures show, as the matrix gives it; where the KPIs have
        # no process chart either (running totals), nothing, and no column.
        columns = (Column("KPI"), Column(head_cmp, Align.RIGHT), Column(head_cur, Align.RIGHT),
                   Column("Change", Align.RIGHT), *((Column(last[0]),) if last else ()))
        rows = []
        for r in group:
            rows.append((
                inlines(Name(r.kpi.title)),
                _table_value(r.comparison, r.kpi, compare is None,
                             render.other_window(r.comparison, r)),
                _table_value(r.current, r.kpi, current is None,
                             render.other_window(r.current, r)),
                inlines(change_cell(r.change, r.kpi, str(no_change(r)),
                                    render.change_digits(r))),
                *((inlines(last[1](r)),) if last else ()),
            ))
        # The window its current figures share, as the sentence names it; where they share
        # none (a KPI whose data lags), no month: "Workforce representation rates, September
        # 2025" was the caption of a row of July 2025.
        caption = inlines(f"Table {self.tables} – ", name,
                          f", {current.label}" if current else None)
        return [Paragraph(text, number=label),
                Table(columns, tuple(rows), number=self.tables, caption=caption)]

    # -- breakdowns --------------------------------------------------------------------------

    def _blank(self, kpi_id: str, column: str) -> str:
        """What the rows with no value in a KPI's breakdown print under, in every sentence,
        caption and alt text of the paper: judged against the parts of every window the
        paper reads of it (`kpi.text.blank_name`)."""
        return blank_name(part for (kpi, by, *_), frame in self.breakdowns.items()
                          if kpi == kpi_id and by == column for part in frame["part"])

    def _print_parts(self, result: KpiResult, column: str, comparison: Window | None,
                     parts: Iterable, roles: Sequence[str]) -> None:
        """Records the figures of `parts` (values of `column`) that the paper prints from
        the breakdown of `result` over its current window and `comparison` (`roles`: the
        current figure, and the comparison one where the part's change or both windows are
        printed): the one place every part's figure printed is recorded (`Paper.parts`), so
        the figures file lists it and `--previous` compares it."""
        kpi = result.kpi
        if result.current is None:
            return
        frame = self.breakdowns.get((kpi.id, column, result.current.window, comparison))
        if frame is None:
            return
        rows = {r["part"]: r for r in frame.iter_rows(named=True)}
        held = sum(1 for r in rows.values() if r["current"] is not None)
        label = column_label(self.project, kpi, column)
        blank = self._blank(kpi.id, column)
        for part in parts:
            row = rows.get(part)
            if row is None:
                continue
            for role in roles:
                window = result.current.window if role == "current" else comparison
                if row[role] is None or window is None:
                    continue
                text = None if part is None else str(part)
                self._record(PartFigure(result, column, label, text, _part_text(part, blank),
                                        role, result.current.window, comparison, row[role],
                                        held))

    def _record(self, figure: PartFigure) -> None:
        """The one place a figure of a part enters `Paper.parts` (each once, by its KPI,
        column, part, role and window): `_print_parts` for a breakdown's, `_print_peers` for
        a peer group's members."""
        self.parts.setdefault((figure.result.kpi.id, figure.column, figure.part, figure.role,
                               figure.window.code), figure)

    def _print_tested(self, result: KpiResult, column: str,
                      tests: Sequence[stats.PartTest | stats.ShareTest],
                      found: stats.Standouts | stats.ShareStandouts | None = None) -> None:
        """The parts a sentence of parts that stand out or differ names, each with its
        proportion in the current window or its change between the two; and, of a sentence
        of parts that stand out (`found`), the parts it pools ("the other 6 (-7.0%)"), whose
        figures that pooled figure is of: a revision of any of them is a revision of it."""
        comparison = result.comparison.window if result.comparison else None
        for test in tests:
            roles = ("current",) if isinstance(test, stats.ShareTest) else (
                "current", "comparison")
            self._print_parts(result, column, comparison, [test.part], roles)
        if found is not None:
            roles = ("current",) if isinstance(found, stats.ShareStandouts) else (
                "current", "comparison")
            self._print_parts(result, column, comparison, list(found.rest), roles)

    def _print_left(self, result: KpiResult, column: str, comparison: Window | None,
                    rows: Sequence[Mapping], shown: Sequence[Mapping], top: Top) -> None:
        """The parts a list or chart of the highest figures counts at its last place rather
        than names or draws ("14 parts joint 10th (3 each)"): their one figure is printed,
        so each of theirs is recorded."""
        if not top.left or top.left_value is None:
            return
        drawn = {r["part"] for r in shown}
        self._print_parts(result, column, comparison,
                          [r["part"] for r in rows if r["part"] not in drawn
                           and r["current"] == top.left_value], ("current",))

    def _print_peers(self, result: KpiResult, compared: KpiComparison) -> None:
        """Each member's figure a peer sentence or a peers figure prints or draws (and the
        group's median or mean, which is of them), as a part of the KPI's breakdown by the
        group's column in the comparison's current window: a revision of a peer force's
        rows is a revision of its figure (or of its rate per 1,000 people, of it)."""
        group = self.project.peers.get(result.kpi.peers) if result.kpi.peers else None
        if group is None or compared.current is None:
            return
        values = [(p.name, p.current.value) for p in compared.parts
                  if p.current is not None and p.current.value is not None]
        label = column_label(self.project, result.kpi, group.column)
        for name, value in values:
            self._record(PartFigure(result, group.column, label, name, name, "current",
                                    compared.current, compared.comparison, value, 0))

    def _print_range(self, result: KpiResult, column: str, comparison: Window | None,
                     rows: Sequence[Mapping], largest: bool = False) -> None:
        """The parts a range prints (`parts_range`): those at its highest figure and, but
        for the largest alone, at its lowest."""
        figures = [r["current"] for r in rows]
        ends = {max(figures)} if largest else {max(figures), min(figures)}
        self._print_parts(result, column, comparison,
                          [r["part"] for r in rows if r["current"] in ends], ("current",))

    def _print_drawn(self, spec: ChartSpec) -> None:
        """The parts a comparison or top chart the paper holds draws, each bar labelled with
        its figure: both windows' figures of a comparison chart, the current of a top one."""
        from kpi.charts import ChartType

        data = self.model.figures.get(spec.id)
        result = self.results.get(spec.kpis[0])
        if spec.type not in (ChartType.COMPARE, ChartType.TOP) or data is None \
                or data.parts is None or result is None or result.current is None \
                or spec.by is None:
            return
        comparison = None if spec.type == ChartType.TOP or result.comparison is None \
            else result.comparison.window
        roles = ("current",) if comparison is None else ("current", "comparison")
        self._print_parts(result, spec.by, comparison, data.parts["part"].to_list(), roles)
        frame = self.breakdowns.get((result.kpi.id, spec.by, result.current.window,
                                     comparison))
        if spec.type == ChartType.COMPARE and frame is not None \
                and frame.height > COMPARE_PARTS:
            # its subtitle says the parts tied at its last place it does not draw, with
            # their one figure ("14 parts joint 12th (3 each) are not drawn")
            drawn, top = top_parts(frame, COMPARE_PARTS)
            self._print_left(result, spec.by, comparison,
                             list(named_parts(frame).iter_rows(named=True)),
                             list(drawn.iter_rows(named=True)), top)

    def _breakdown_sentences(self, result: KpiResult) -> list[Inlines]:
        kpi = result.kpi
        if not kpi.breakdowns or result.current is None or kpi.is_derived:
            return []
        comparison = result.comparison.window if result.comparison else None
        # The parts' figures are of the whole windows, the months not final yet included
        # (provisional_sentence says which): the sentence that ranks them says so.
        months = kpi.provisional_months
        unsettled = (f" (including {verdicts.last_months(months, 'its')}, not final yet)"
                     if months else "")
        out = []
        for column in shown_breakdowns(kpi, self.config, self.full,
                                       self.model.standout.get(kpi.id)):
            frame = self.breakdowns[(kpi.id, column, result.current.window, comparison)]
            # Parts the KPI's rows never reach (a total of 0 in both windows) are not part of
            # its story; a rate, share or average of 0 is a level of cases it does reach.
            rows = [r for r in frame.iter_rows(named=True)
                    if r["current"] is not None
                    and (r["current"] or r["comparison"] or not kpi.is_total)]
            # A part with no figure in the current window (a rate of no cases there) is in
            # no sentence's ranking, and said to have none, as kpi compare lists it "n/a".
            unfigured = [r["part"] for r in frame.iter_rows(named=True)
                         if r["current"] is None and r["part"] is not None]
            label = self._column_label(kpi, column)
            out.extend(self._breakdown_words(result, column, rows, label, unsettled))
            # Said once, after whatever the breakdown says of its parts with a figure (or
            # alone, where none has one).
            if unfigured:
                out.append(_unfigured_sentence(label, unfigured, result.current.window))
            # The parts kpi compare leaves out of its ranking (`compare.ranked_breakdowns`),
            # in none of the sentences above: named, with why.
            if (left := self.model.unranked.get((kpi.id, column))) is not None:
                out.append(_unranked_sentence(label, *left))
        return out

    def _breakdown_words(self, result: KpiResult, column: str, rows: list[dict],
                         label: Name, unsettled: str) -> list[Inlines]:
        """What the paper says of a breakdown's parts with a figure (`rows`): the parts that
        stand out, then its ranking, the one part it has, or its highest figures."""
        from kpi.compare import highest, ordinal

        kpi = result.kpi
        assert result.current is not None, "only a KPI with a figure is broken down"
        if not rows:
            return []
        comparison = result.comparison.window if result.comparison else None
        out = []
        blank = self._blank(kpi.id, column)
        found = part_standouts(result, column, self.breakdowns, self.config)
        tested: list[stats.PartTest | stats.ShareTest] = []
        if found is not None:
            out.append(_standout_sentence(label, found, blank, tested))
        # The parts that differ without standing out are said in the full paper; the board's
        # says where they are (its method text), as it does of the breakdowns it leaves out.
        unnamed = (differing_unnamed(result, column, self.breakdowns, self.config, found)
                   if self.full else [])
        if unnamed:
            points = (self.config.standout_points if _proportion(kpi)
                      else self.config.standout_change_points)
            out.append(_differing_sentence(label, unnamed, found, points, blank, tested))
        self._print_tested(result, column, tested, found)
        if len(rows) == 1:
            out.extend(_only_part(kpi, label, rows[0], comparison, blank))
        elif found is not None and (len(rows) > RANK_LIMIT or (
                len(found.rest) == 1 and len(found.parts) <= NAMED_PARTS)):
            # The parts that stand out are the story, not the largest ones; and where
            # the sentence has named every part, a ranking would say it again.
            pass
        elif len(rows) <= RANK_LIMIT and comparison is not None:
            out.append(_ranking(kpi, label, rows, unsettled, self.widened, blank))
            # each part named with its change of its figures in the two windows; a part
            # whose change it cannot give ("(n/a)") prints no figure of it
            self._print_parts(result, column, comparison,
                              [r["part"] for r in rows if _ranked_figure(kpi, r)],
                              ("current", "comparison"))
        else:
            # The highest places or offences: "not recorded" is none of them. Listed
            # highest first, two that differ never print alike (render.ranked_digits), and
            # every part tied with the fifth listed too (compare.highest).
            named = [r for r in rows if r["part"] is not None and r["current"]]
            top = highest([r["current"] for r in named], TOP_PARTS, TOP_MOST)
            shown = [named[i] for i in top.shown]
            self._print_parts(result, column, comparison, [r["part"] for r in shown],
                              ("current",))
            self._print_left(result, column, comparison, named, shown, top)
            figures = [r["current"] for r in shown] + (
                [top.left_value] if top.left_value is not None else [])
            digits = render.ranked_digits(figures, kpi)
            if digits is not None:
                self.widened.add(kpi.title)
            items = []
            for r in shown:
                items.append(inlines(", " if items else "", _part(r["part"], blank),
                                     f" ({kpi_value(r['current'], kpi, digits=digits)})"))
            if top.left:
                assert top.left_value is not None and top.left_rank is not None
                each = kpi_value(top.left_value, kpi, digits=digits)
                items.append(inlines(" and " if items else "",
                                     f"{top.left:,} parts joint {ordinal(top.left_rank)} "
                                     f"({each} each)"))
            if items:
                out.append(inlines("By ", label, f", the highest figures "
                                   f"{_in(result.current.window)}{unsettled} were ",
                                   items, "."))
        return out

    # -- figures -----------------------------------------------------------------------------

    def _figure_numbers(self, kpi_id: str) -> list[int]:
        """Numbers of the figures that will follow this KPI's paragraph (planned on first
        ask, so figures are numbered in the order the paper shows them)."""
        planned = {f.spec.id: f for f in self.figures}
        numbers = []
        for spec in self.charts:
            if spec.anchor != kpi_id or not self._drawable(spec):
                continue
            if spec.id not in planned:
                number = len(self.figures) + 1
                link = f"{self.files_dir}/figure-{number}-{spec.id}.png"
                planned[spec.id] = PlannedFigure(number, spec, link)
                self.figures.append(planned[spec.id])
            numbers.append(planned[spec.id].number)
        return numbers

    def _figure_refs(self, kpi_id: str) -> list[int]:
        """The figures a KPI's paragraph refers to: those that follow it, and a figure of
        several process charts drawn after another paragraph that includes this KPI's."""
        numbers = self._figure_numbers(kpi_id)
        for figure in self.figures:
            spec = figure.spec
            if spec.anchor != kpi_id and kpi_id in spec.kpis and len(spec.kpis) > 1 \
                    and figure.number not in numbers:
                numbers.append(figure.number)
        return sorted(numbers)

    def _drawable(self, spec: ChartSpec) -> bool:
        from kpi.charts import ChartType

        if spec.type == ChartType.PEERS:
            return self._peer_data(spec) is not None
        if spec.type == ChartType.XMR:
            return any((v := self.verdicts.get(k)) is not None and v.chart is not None
                       and v.chart.mean is not None for k in spec.kpis)
        results = [self.results.get(k) for k in spec.kpis]
        return all(r is not None and r.current is not None and r.current.value is not None
                   for r in results)

    def _figures_after(self, kpi_id: str) -> list[Figure]:
        out = []
        for number in self._figure_numbers(kpi_id):
            figure = self.figures[number - 1]
            caption = inlines(f"Figure {number} – ", Name(figure.spec.title))
            data = self._peer_data(figure.spec)
            if data is not None:
                caption = inlines(caption, f" ({data.current_label})")
                compared = self.model.peers.get(figure.spec.kpis[0])
                result = self.results.get(figure.spec.kpis[0])
                if compared is not None and result is not None:
                    self._print_peers(result, compared)  # the bars and the alt text
            else:
                caption = inlines(caption, self._caption_finding(figure.spec))
            alt = self._alt(figure.spec) if data is None else _peer_alt_text(data)
            out.append(Figure(number, figure.link, caption, alt=alt))
        return out

    def _caption_finding(self, spec: ChartSpec) -> Inlines:
        """What a figure shows, after its title, for a board member who reads the caption in
        print and not the alt text: built from the same verdict words as the paragraph it
        illustrates, each KPI named ('. Sexual offences – the level rose in March 2025
        and has stayed higher since; Business crime – ...'; one trend: '. ASB incidents
        up 0.8% from 26,405: within normal variation.'), a part that stands out in the
        paragraph's own sentence."""
        from kpi.charts import ChartType

        if spec.type in (ChartType.XMR, ChartType.TREND):
            # A process chart marks what the months show; a trend draws the 12-month line,
            # whose change the caption gives with what it is worth.
            finding = self._months_finding if spec.type == ChartType.XMR else self._trend_finding
            found = [(k, f) for k in spec.kpis if (f := finding(k))]
            if not found:
                return ()
            if len(spec.kpis) == 1 and spec.type == ChartType.TREND:
                return inlines(". ", Name(self.results[found[0][0]].kpi.title),
                               f" {found[0][1]}.")
            items = [inlines("; " if n else "", Name(self.results[k].kpi.title), f" – {f}")
                     for n, (k, f) in enumerate(found)]
            return inlines(". ", items, ".")
        result = self.results.get(spec.kpis[0])
        if result is None or result.current is None or spec.by is None:
            return ()
        if spec.type == ChartType.COMPARE:
            found_parts = part_standouts(result, spec.by, self.breakdowns, self.config)
            if found_parts is not None:
                tested: list[stats.PartTest | stats.ShareTest] = []
                sentence = _standout_sentence(self._column_label(result.kpi, spec.by),
                                              found_parts, self._blank(result.kpi.id, spec.by),
                                              tested)
                self._print_tested(result, spec.by, tested, found_parts)
                return inlines(". ", sentence)
        comparison = None if spec.type == ChartType.TOP or result.comparison is None \
            else result.comparison.window
        frame = self.breakdowns.get((spec.kpis[0], spec.by, result.current.window, comparison))
        if frame is None:
            return ()
        shown, of = (named_parts(frame), None) if spec.type == ChartType.TOP else \
            compare_parts(frame)
        rows = [r for r in shown.iter_rows(named=True) if r["current"] is not None]
        if not rows:
            return ()
        kpi = result.kpi
        self._print_range(result, spec.by, comparison, rows,
                          largest=spec.type == ChartType.TOP or bool(of))
        if spec.type == ChartType.TOP or of:
            drawn = f"The {len(rows)} highest of {of:,} are drawn; the highest" if of \
                else "The largest"
            return inlines(". ", parts_range(rows, kpi, capital=True, largest=drawn,
                                             subset=bool(of), widened=self.widened,
                                             blank=self._blank(kpi.id, spec.by)), ".")
        return inlines(". ", parts_range(rows, kpi, capital=True, widened=self.widened,
                                         blank=self._blank(kpi.id, spec.by)), ".")

    def _trend_finding(self, kpi_id: str) -> str:
        """A KPI's change and what it is worth, as its one sentence gives them: 'up 0.8%
        from 26,405: within normal variation' (a window named where it is not the usual)."""
        result = self.results.get(kpi_id)
        if result is None or result.current is None or result.current.value is None \
                or result.change is None or result.comparison is None:
            return ""
        usual = self._usual(result.kpi)
        when = "" if result.current.window == usual[0] else f"{_in(result.current.window)}, "
        return (f"{when}{change_from(result, usual[1])}: "
                f"{change_worth(result, self.verdicts.get(kpi_id))}")

    def _months_finding(self, kpi_id: str) -> str:
        """What a KPI's monthly figures show, in the words its paragraph uses, shortened for
        a caption: 'the level rose in March 2025 and has stayed higher since', 'a special
        cause of concern (an unusually high month)' (its paragraph adds which limit the month
        passed), 'the months show only normal variation'; empty without a verdict."""
        result = self.results.get(kpi_id)
        verdict = self.verdicts.get(kpi_id)
        if result is None or verdict is None or verdict.variation is None:
            return ""
        variation = verdict.variation
        exception = self.full or bool(self.exceptions.get(kpi_id))
        if variation.verdict == stats.COMMON_CAUSE:
            significant = verdict.significance.significant if verdict.significance else None
            settled = settled_sentence(result, verdict) if exception else ""
            if settled:
                # Its paragraph's sentence, up to what the months show; a caption is short,
                # and the chart marks the earlier months it counts.
                head = settled.split(":")[0].rstrip(".").split(", and ")[0]
                return head[:1].lower() + head[1:]
            step = _level_step(result, verdict)
            if significant and step is not None and not result.kpi.provisional_months \
                    and result.comparison is not None:
                since = ("the comparison period" if exception
                         else "the baseline" if self.report.comparison == Comparison.BASELINE
                         else _in(result.comparison.window).removeprefix("in "))
                return _stable_words(verdict, step, since).split(", and ")[0]
            if significant and step is None:
                return _unmoved_words(result, verdict)
            return common_cause_words(verdict, brief=True)
        if variation.rule == stats.SHIFT and verdict.chart is not None:
            start = _shift_start(verdict.chart, bool(variation.high))
            moved, stayed = ("rose", "higher") if variation.high else ("fell", "lower")
            return (f"the level {moved} in {Month.parse(start).name} and has stayed {stayed} "
                    "since")
        if variation.rule == stats.LIMITS and variation.verdict in (stats.SPECIAL_HIGH,
                                                                     stats.SPECIAL_LOW):
            return f"the latest month is unusually {'high' if variation.high else 'low'}"
        return shown_variation(verdict, brief=True)

    def _column_label(self, kpi: KpiDef, column: str) -> Name:
        return Name(column_label(self.project, kpi, column))

    def _alt(self, spec: ChartSpec) -> str:
        """What a figure shows and what it finds, for a reader who cannot see it."""
        from kpi.charts import ChartType

        kpi = self.project.kpi(spec.kpis[0])
        by = column_label(self.project, kpi, spec.by) if spec.by and kpi is not None \
            and kpi.dataset else None
        quarterly = spec.type == ChartType.TREND and kpi is not None \
            and reads_quarters(self.project, kpi)
        shape = _alt_text(spec, by, quarterly).rstrip(".")
        if spec.type == ChartType.XMR:
            found = [self._xmr_finding(k) for k in spec.kpis]
            return f"{shape}. " + " ".join(f for f in found if f)
        if spec.type == ChartType.TREND:
            found = []
            for kpi_id in spec.kpis:
                r = self.results.get(kpi_id)
                if r is not None and r.current is not None and r.current.value is not None:
                    found.append(f"{r.kpi.title}: {figure_words(r)}")
            return f"{shape}. " + "; ".join(found) + "." if found else shape + "."
        result = self.results.get(spec.kpis[0])
        if result is None or result.current is None or spec.by is None:
            return shape + "."
        comparison = None if spec.type == ChartType.TOP or result.comparison is None \
            else result.comparison.window
        frame = self.breakdowns.get((spec.kpis[0], spec.by, result.current.window, comparison))
        if frame is None:
            return shape + "."
        rows = [r for r in frame.iter_rows(named=True) if r["current"] is not None]
        if not rows:
            return shape + "."
        blank = self._blank(result.kpi.id, spec.by)
        if spec.type == ChartType.TOP:
            # The bars the chart draws (top_parts: its named parts, ties at the last place
            # drawn or said), highest first, as they are labelled (render.ranked_digits). It
            # named the first `limit` rows, the rows not recorded among them, which the
            # chart leaves out.
            drawn, top = top_parts(frame, spec.limit)
            shown = list(drawn.iter_rows(named=True))
            self._print_parts(result, spec.by, comparison, [r["part"] for r in shown],
                              ("current",))
            self._print_left(result, spec.by, comparison,
                             list(named_parts(frame).iter_rows(named=True)), shown, top)
            digits = render.ranked_digits([r["current"] for r in shown], result.kpi)
            if digits is not None:
                self.widened.add(result.kpi.title)
            left = left_out(top, result.kpi)
            return (f"{shape}, {_in(result.current.window)}: " + "; ".join(
                [f"{_part_text(r['part'], blank)} "
                 f"{kpi_value(r['current'], result.kpi, digits=digits)}"
                 for r in shown] + ([left] if left else [])) + ".")
        self._print_range(result, spec.by, comparison, rows)
        return (f"{shape}, {_in(result.current.window)}: "
                f"{plain_text(parts_range(rows, result.kpi, widened=self.widened, blank=blank))}"
                "; the whole "
                "force "
                f"{kpi_value(result.current.value, result.kpi)}.")

    def _xmr_finding(self, kpi_id: str) -> str:
        verdict = self.verdicts.get(kpi_id)
        result = self.results.get(kpi_id)
        if verdict is None or verdict.chart is None or verdict.variation is None:
            return ""
        assert result is not None, "a KPI with a verdict has its result"
        kpi = result.kpi
        variation = verdict.variation
        latest = next(p for p in reversed(verdict.chart.points) if p.value is not None)
        month = Month.parse(latest.month).name
        if variation.verdict == stats.COMMON_CAUSE:
            found = "shows only normal variation"
        else:
            found = f"is {VARIATION_WORDS[variation.verdict]} ({rule_words(variation)})"
        # With whose it is, as every target the paper prints (render.target_source): the alt
        # text said "target 80.0%" of an illustrative one.
        target = (f"; target {kpi_value(kpi.target, kpi)}{target_source(kpi)}"
                  if kpi.target is not None else "")

        # The latest month, the mean and the limits are said together: two that differ are
        # never said alike, nor the month on the wrong side of the mean, nor one as the
        # target said after them where it differs from it (render.together).
        figures = [latest.value, variation.mean, variation.lower, variation.upper]
        digits = render.together(figures, kpi.unit, kpi)
        aim, aim_at = render.printed_target(kpi)
        if digits is None and len({value_words(v, kpi.unit) for v in set(figures)
                                   if v is not None}) < len(
                {render.rounded(v, 15) for v in figures if v is not None}):
            # £82.21m and £82.24m both said "£82.2m": said in full pounds, apart
            digits = render.places_together(figures, 0, target=aim, target_at=aim_at)
        if digits is not None:  # and the month still against its target as it stands,
            # at places from which all of them do (more places are not always as right)
            digits = render.places_together(
                figures, max(digits, render.shown_places(latest.value, kpi)),
                target=aim, target_at=aim_at)
        at = kpi_value(latest.value, kpi) if digits is None else \
            kpi_value(latest.value, kpi, digits=digits)

        def statistic(v: float | None) -> str:
            """The chart's mean and limits, statistics of the months: a count's mean keeps its
            decimal where the KPI's own figures are whole; said together, so two that differ
            are never said alike ("0.46 to 0.54", never "0.5 to 0.5")."""
            return value_words(v, kpi.unit, kpi.unit_label, digits=digits)

        return (f"{kpi.title}: the latest month, {month} at {at}, "
                f"{found}; mean {statistic(variation.mean)}, process limits "
                f"{statistic(variation.lower)} to {statistic(variation.upper)}"
                f"{target}.")

    def _peer_data(self, spec: ChartSpec) -> ChartData | None:
        """A peers figure's chart data (the numbers it draws), or None when the data does not
        hold the whole group."""
        from kpi.charts import ChartType

        return self.model.figures.get(spec.id) if spec.type == ChartType.PEERS else None

    # -- appendix ----------------------------------------------------------------------------

    def _appendices(self, priorities) -> list[Section]:
        out: list[Section] = []

        def add(title: str | Name, blocks) -> None:
            out.append(Section(f"Appendix {len(out) + 1}:", inlines(title), tuple(blocks),
                               appendix=True))

        add("How to read this paper", [Paragraph(inlines(t)) for t in self._method()])
        for glossary in self.config.glossaries:
            add(Name(glossary.title), [Table(tuple(Column(Name(c)) for c in glossary.columns),
                                       tuple(tuple(inlines(Name(v)) for v in row)
                                             for row in glossary.rows))])
        if self.full:
            # Definitions name datasets and expressions, and sources table versions: the
            # technical annex's, not the board's.
            add("KPI definitions", [self._definitions(priorities)])
            add("Data sources", [self._sources()])
        if self.revised is not None:
            add("Figures revised since the last paper", self._revisions())
            self._revision_appendix = out[-1].label.rstrip(":")
        return out

    def _method(self) -> list[str | Inlines]:
        """The method the board can look up: rounding, lagging sources, statuses and how the
        verdicts are reached. A KPI's title in it is a `Name`, printed as it is."""
        texts: list[str | Inlines] = [
            inlines(
                "Where a source lags, a KPI reports the latest complete window its data covers "
                "and names that window, saying how many months before the period it ends; a "
                "window with missing months is never reported as if complete. ",
                self._precision(),
                " Changes in rates are given in percentage "
                "points (pp), and changes of a count (of crimes, calls, people) on a base below "
                f"{SMALL_BASE} as numbers rather than percentages. A negative change carries a "
                "minus sign (\u2212)."),
            "Improving, deteriorating and stable follow each KPI's declared better direction "
            "and stable band, a policy choice, and are said only of a change that is "
            "statistically significant: the tables, the sentences and each section's count "
            "give any other change as no significant change, or as not tested where no test "
            "of significance applies (an average, a median, a snapshot).",
        ]
        if self.verdicts:
            texts += READING_VERDICTS
        shared = [r.kpi.title for r in self._visible() if stats.windows_shared(r)]
        if shared:
            # Every test of a change takes its two windows as independent samples
            # (stats.windows_shared): a reader of "not tested" is told why.
            count = len(shared)
            texts.append(
                f"{count} KPI{'s' if count > 1 else ''} {'are' if count > 1 else 'is'} "
                f"compared with a window that shares months with {'their' if count > 1 else 'its'} "
                "own (the window ending a month earlier, or a baseline year ending inside the "
                "current one), so no change of "
                f"{'theirs' if count > 1 else 'its'} is tested for significance: the two "
                "windows are not independent samples, and the change is the difference of "
                "the months they do not share.")
        trusted = [Name(r.kpi.title) for r in self._visible()
                   if render.trusted_test(r.kpi, self.verdicts.get(r.kpi.id))]
        if trusted:
            texts.append(inlines(
                "The change of ", _and_names(trusted), " is tested as a proportion of cases "
                "because the catalogue declares that every case its numerator counts is one "
                "its denominator counts; the two are separate totals with no records in common "
                "to check that against, so the test rests on that declaration."))
        # The examples are no project's own: a police.uk paper has no LPAs.
        floors = (self.config.standout_change_points, self.config.standout_points)
        standing = ("A part of a count (an area, a type of crime) stands out when its "
                    "percentage change differs from the change of the other parts together by "
                    "more than chance would often make it"
                    + (f" and by at least {_points(floors[0])}"
                       if floors[0] else "")
                    + "; a part of a proportion (one area's share of incidents "
                    "attended in time) when its proportion in the period reported differs from "
                    "the other parts' together by more than chance would often make it"
                    + (f" and by at least {_points(floors[1])}" if floors[1] else "")
                    + (", a gap too small to matter being no finding however large the numbers"
                       if any(floors) else "")
                    + ". More than chance means less than a 5% chance "
                    "divided by the number of parts tested (Bonferroni's correction), against "
                    "the rest its sentence gives (a proportion's against all the other parts "
                    "together too), each part set aside in turn and, at the end, tested again "
                    f"against that rest. No part with fewer than {stats.MIN_CASES} cases (a "
                    "count's: in the earlier period), or whose rest has fewer, is tested.")
        if self.full:
            standing += (" A part that differs from all the others together beyond chance "
                         "but does not stand out is named after those that do, with why.")
        if not self.full:
            standing += (" Besides the breakdowns the project asks for, this paper shows at "
                         f"most {BOARD_STANDOUTS} of counts and {BOARD_STANDOUTS} of "
                         "proportions where a part stands out, those with the largest gap, and "
                         "names only the parts that stand out; the technical annex, the full "
                         "paper, has them all, and names each other part that differs from all "
                         "the others beyond chance, with why it does not stand out.")
        texts.append(standing)
        settling = sorted({r.kpi.provisional_months for r in self._visible()
                           if r.kpi.provisional_months and r.kpi.status == "live"})
        if settling == [1]:  # "a KPI's last 1 months are not final yet" read as a slip
            texts.append(
                "Where a KPI's last month is not final yet (outcomes still being recorded), "
                "its figure includes it, but no finding rests on it: the significance test "
                "compares the two windows without their last month, the process chart leaves "
                "that month out, and no part of its breakdowns is tested for standing out.")
        elif settling:
            last = " or ".join(str(n) for n in settling)
            texts.append(
                f"Where a KPI's last {last} months are not final yet (outcomes still being "
                "recorded), its figure includes them, but no finding rests on them: "
                "the significance test compares the two windows without their last "
                f"{last} months, the process chart leaves those months out, and no part of its "
                "breakdowns is tested for standing out.")
        return texts

    def _precision(self) -> Inlines:
        """What the paper's rounding is, from the KPIs it prints (render.places): 'Each KPI's
        figures and changes are shown to one precision wherever they appear: percentages to
        one decimal place; ...'."""
        kinds = (("percentages", lambda k: k.unit == Unit.PERCENT),
                 ("counts", lambda k: k.unit == Unit.COUNT),
                 ("days", lambda k: k.unit == Unit.DAYS),
                 ("rates per 1,000 and ratios", lambda k: k.unit in (Unit.PER_1000, Unit.RATIO)
                  or k.kind == Kind.PER_1000),
                 ("scores", lambda k: k.unit in (Unit.SCORE, Unit.NUMBER)))
        shown = [r.kpi for r in self._visible() if r.current is not None]
        parts = []
        for name, chosen in kinds:
            places: dict[int, list[Name]] = {}
            for kpi in shown:
                if chosen(kpi) and kpi.unit not in (Unit.SECONDS, Unit.GBP):
                    places.setdefault(render.places(kpi), []).append(Name(kpi.title))
            if not places:
                continue
            usual = max(places, key=lambda n: len(places[n]))
            text = f"{name} {precision_words(usual)}"
            others = [inlines(f"{precision_words(n)} for ",
                              [inlines("; " if k else "", t) for k, t in enumerate(titles)])
                      for n, titles in sorted(places.items()) if n != usual]
            parts.append(inlines(text, " (", [inlines(", " if k else "", o)
                                              for k, o in enumerate(others)], ")")
                         if others else inlines(text))
        if any(k.unit == Unit.SECONDS for k in shown):
            parts.append(inlines("durations to the second"))
        if any(k.unit == Unit.GBP for k in shown):
            parts.append(inlines("amounts in pounds to the pound, or to \u00a30.1m from a "
                                 "million"))
        if not parts:
            return ()
        listed = [inlines("; " if k else "", part) for k, part in enumerate(parts)]
        wider = self._wider_figures()
        # Lists of a breakdown's parts (ranked, or named highest and lowest) printed to more
        # places where two parts that differ would read alike (render.ranked_digits).
        ranked = [Name(r.kpi.title) for r in self._visible() if r.kpi.title in self.widened]
        if not wider and not ranked:
            return inlines("Each KPI's figures and changes are shown to one precision wherever "
                           "they appear: ", listed, ".")
        parted = (", or, in a list of a breakdown's parts ranked by their figures or changes, "
                  "as another part's" if ranked else "")
        return inlines(
            "Each KPI's figures and changes are shown to these places wherever they "
            "appear: ", listed, ". A figure is given to more decimal places "
            "only where, rounded to these, it would look the same as its target, or as "
            f"the figure it is compared with{parted}, while it is not: whether a target "
            "is met and how a figure changed are worked out before rounding.",
            (" Here that is ", _and_names(wider), ".") if wider else None,
            (" Parts are listed so for ", _and_names(ranked), ".") if ranked else None,
            " A figure and the one it is compared with are also given to more places, "
            "and their change with them, where rounded to these they would look "
            "different while their change would look like none."
            if self._changes_wider() else None)

    def _changes_wider(self) -> bool:
        """Whether a KPI's change is printed to more places than its KPI's, beside two
        figures that would otherwise print apart while it read as none
        (`render.change_digits`)."""
        return any(render.change_digits(r) > render.own_places(r.kpi)
                   for r in self._visible() if r.change is not None)

    def _wider_figures(self) -> list[Inlines]:
        """The paper's window figures printed to more places than their KPI's (by
        `kpi.rounding.places_apart`, the one rule): 'Answered (89.96% against a target of
        90.0%)', 'Small rate (0.48 per 1,000 population against 0.50)'."""
        from kpi.rounding import places_beside

        found = []
        for result in self._visible():
            kpi, now = result.kpi, result.current
            if now is None or now.value is None:
                continue
            # A duration's own places are none (whole seconds), whatever its `decimals`.
            own = render.own_places(kpi)
            other = render.other_window(now, result)
            if render.shown_places(now.value, kpi, other) <= own:
                continue
            shown = kpi_value(now.value, kpi, beside=other)
            if kpi.target is not None and places_beside(now.value, kpi.target, own) > own:
                found.append(inlines(Name(kpi.title), f" ({shown} against a target of "
                                     f"{kpi_value(kpi.target, kpi)})"))
            elif other is not None:
                found.append(inlines(
                    Name(kpi.title), f" ({shown} against "
                    f"{kpi_value(other.figure, kpi, beside=Beside.current(now.value))})"))
        return found

    def _definitions(self, priorities) -> Table:
        columns = (Column("KPI"), Column("Id"), Column("Kind"), Column("Definition"),
                   Column("Unit"), Column("Better"), Column("Windows"))
        rows = []
        wanted = {p.id for p in priorities}
        for result in self.report.results:
            kpi = result.kpi
            if kpi.hidden or kpi.priority not in wanted:
                continue
            cells = [kpi.title, kpi.id, kpi.kind.value, definition(kpi), kpi.unit.value,
                     kpi.better.value, _windows(result)]
            rows.append(tuple(inlines(Name(c)) for c in cells))
        return Table(columns, tuple(rows))

    def _sources(self) -> Table:
        columns = (Column("Dataset"), Column("Table version", Align.RIGHT), Column("Loaded"))
        rows = []
        for dataset, version in sorted(self.report.versions.items()):
            when = self.loaded.get(dataset)
            rows.append((inlines(Name(dataset)), inlines(str(version)),
                         inlines(day_words(when.date()) if when else "—")))
        return Table(columns, tuple(rows))

    def _revisions(self) -> list:
        revised = self.revised
        assert revised is not None, "called only when there is a previous paper"
        # A figures file of a kpi before breakdowns' parts were listed holds the KPIs' own
        # figures only: a breakdown's parts printed (each LPA's change) may have moved, so
        # "no figure printed" would be a wrong claim.
        whole = revised.parts_compared
        unsaid = "" if whole else f" {BREAKDOWNS_NOT_COMPARED}"
        which = "KPI or breakdown figure" if whole else "KPI figure"
        if not revised.items:
            blocks = [Paragraph(inlines(f"No {which} printed in the paper for "
                                        f"{revised.period} has been revised since.{unsaid}"))]
        else:
            intro = Paragraph(inlines(
                f"{'KPI and breakdown' if whole else 'KPI'} figures printed in the paper for "
                f"{revised.period} that the data now gives differently, for the same window "
                "(a part of a breakdown named after its KPI): records are revised after a "
                "paper is written."
                f"{unsaid}"))
            columns = (Column("KPI"), Column("Window"), Column("Last paper", Align.RIGHT),
                       Column("Now", Align.RIGHT))
            rows = tuple((inlines(Name(r.title)), inlines(Name(r.window)),
                          inlines(Name(r.before)), inlines(Name(r.after)))
                         for r in revised.items)
            blocks = [intro, Table(columns, rows)]
        # What was not compared, said: a changed definition is not a revision of the data.
        for titles, text in (
                (revised.redefined, "redefined since the last paper (their filter, kind, "
                                    "rounding or other definition changed), so their figures "
                                    "are not compared with it: "),
                (revised.dropped, "in the last paper but no longer reported, so not "
                                  "compared: ")):
            if titles:
                names: list = []
                for n, title in enumerate(titles):
                    names += [", " if 0 < n < len(titles) - 1 else " and " if n else "",
                              Name(title)]
                blocks.append(Paragraph(inlines(f"{len(titles)} KPI(s) {text}", names, ".")))
        if revised.unchecked:
            blocks.append(Paragraph(inlines(
                "The last paper's figures file does not record the KPIs' definitions (an "
                "older kpi wrote it), so a figure of a KPI redefined since reads here as "
                "revised.")))
        return blocks


# Said with the list of revised figures (`_revisions`) where the last paper's figures file
# holds each KPI's own figures only (an older kpi wrote it), so the parts of a breakdown
# printed last time cannot be compared.
BREAKDOWNS_NOT_COMPARED = ("The last paper's figures file does not list the figures of its "
                           "KPIs' breakdowns (an older kpi wrote it), so those (each LPA's, "
                           "each crime type's) are not compared, and may have been revised "
                           "too.")


# ---------------------------------------------------------------------------------------------
# The front page's length

# The first two A4 pages, in lines of body text as the Word paper sets them (11 pt Arial on
# a 16.6 cm column, as LibreOffice lays it out), which the front page's blocks are estimated
# in (`_front_lines`): the sample's front page, whose matrix, twelve exceptions, failed
# checks and matrix rows by name fill them to within three lines, is estimated at 105.6.
FRONT_PAGE_LINES = 107.0
COLUMN_TWIPS = 9411  # 16.6 cm; a list's items are indented 0.63 cm (357 twips)
SMALL_LINE = 0.72  # a line set at 9 pt, in lines of body text
PARAGRAPH_SPACE = 0.8  # the 10 pt after a paragraph, in lines
# The lines the front page keeps for the sentence counting the exceptions it does not list
# (with two lines to spare: where it lists fewer than all, the estimate is its only bound),
# and for the one pointing to the matrix rows' appendix.
EXCEPTION_POINTER_LINES, POINTER_LINES = 5.0, 2.0


def _front_lines(blocks: Sequence, title_block: tuple | None = None) -> float:
    """How many lines of body text the blocks (and the title block) take on the Word paper's
    page, estimated by setting their words in Arial as the Word writer's page estimate does
    (`kpi.writers.pages.wrapped_lines`): a title line takes 2.6 lines, a table row 0.72 (its
    first column wrapped in a third of the page)."""
    from kpi.writers.pages import wrapped_lines as _wrapped

    total = 0.0
    item = COLUMN_TWIPS - 357
    if title_block is not None:
        title, subtitle, facts = title_block
        total += 2.6 * _wrapped(plain_text(title), COLUMN_TWIPS, 28) + 1.0  # and its rule
        total += 1.6 * _wrapped(plain_text(subtitle), COLUMN_TWIPS, 14) if subtitle else 0.0
        total += _wrapped("; ".join(plain_text(f) for f in facts) + ".", COLUMN_TWIPS, 11) \
            + PARAGRAPH_SPACE
        total += 2.5  # the heading "Summary for the board"
    for block in blocks:
        if isinstance(block, Paragraph):
            total += _wrapped(plain_text(block.content), COLUMN_TWIPS, 11) + PARAGRAPH_SPACE
        elif isinstance(block, BulletList) and block.small:
            total += sum(SMALL_LINE * _wrapped(plain_text(i), item, 9) + 0.1
                         for i in block.items) + PARAGRAPH_SPACE
        elif isinstance(block, BulletList):
            total += sum(_wrapped(plain_text(i), item, 11) + 0.15
                         for i in block.items) + PARAGRAPH_SPACE
        elif isinstance(block, Table):
            head = max(_wrapped(c.title, COLUMN_TWIPS / 8, 9) for c in block.columns)
            total += SMALL_LINE * (head + sum(_wrapped(plain_text(row[0]), COLUMN_TWIPS / 3, 9)
                                              for row in block.rows)) + 1.5
    return total


# ---------------------------------------------------------------------------------------------
# Helpers


READING_VERDICTS = (
    "Each KPI gets two verdicts. The first says whether the change from the comparison is "
    "statistically significant at the 5% level (counts as events over time, proportions as "
    "cases; averages, medians, sums and snapshots are not tested). The second reads the "
    "process chart of the last 24 months, which either shows only normal variation or has "
    "a special cause in its latest month: an unusually high or low month beyond the process "
    "limits, seven or more months in a row above or below the average (a change in level), "
    "seven or more months in a row each higher or lower than the last, or two of three "
    "months close to a limit. A special cause is of improvement or of concern by the KPI's "
    "better direction; with no better direction it is simply unusually high or low.",
    "Where a KPI has a target, assurance says what the process as it runs will do: meet it "
    "consistently, miss it consistently, or sometimes meet and sometimes miss it. Every "
    "target is printed with its source; an illustrative target is marked so and is not the "
    "plan's. Process limits come from the first 12 months charted (fewer give trial "
    "limits), never go below zero for a count or a percentage nor above 100% for a "
    "percentage, and a running total such as training completed to date gets no chart. "
    "The charts plot each month as a grey point, the mean as a solid line, the limits as "
    "dashed lines and any target as a dotted line, and mark special causes with a black "
    "square (\u25a0 improvement), a black triangle (\u25b2 concern) or a diamond "
    "(\u25c6 unusually high or low).",
)

EXCEPTION_ORDER = ("no_figure", "concern", "target_failing", "target_missed",
                   "deterioration", "target_at_risk", "stale")
EXCEPTION_MARKS = {"no_figure": "\u25cb", "stale": "\u25cb", "concern": "\u25b2",
                   "target_failing": "\u25bc", "target_missed": "\u25bc",
                   "target_at_risk": "\u25bd", "deterioration": "\u25b2"}
MARK_WORDS = {"\u25cb": "no figure or stale data", "\u25b2": "concern or deterioration",
              "\u25bc": "target missed", "\u25bd": "target at risk"}


def exception_mark(reasons: Sequence[str]) -> str:
    """An exception's mark on the front page: its most serious reason's (EXCEPTION_ORDER), by
    which it is ranked (`seriousness`). `verdicts.exceptions` gives a stale source first, the
    least serious: a stale KPI with a special cause of concern, ranked by its concern, was
    marked \u25cb, "no figure or stale data"."""
    return EXCEPTION_MARKS[min(reasons, key=EXCEPTION_ORDER.index)]


def seriousness(reasons: Sequence[str]) -> tuple[int, ...]:
    """How serious an exception is, as its reasons (`verdicts.exceptions`) make it, for
    sorting, most serious first: the ranks of its reasons in EXCEPTION_ORDER, most serious
    first, compared one after another, and a reason more before none (a special cause of
    concern and a significant deterioration before a special cause of concern alone, which
    is before a deterioration alone). By its most serious reason alone, a concern with a
    deterioration tied with a concern, and went to the appendix behind it as less serious."""
    ranks = sorted(EXCEPTION_ORDER.index(reason) for reason in reasons)
    return (*ranks, len(EXCEPTION_ORDER))


MATRIX_ROWS = (
    ("concern", "\u25b2 Special cause of concern"),
    ("improvement", "\u25a0 Special cause of improvement"),
    ("unusual", "\u25c6 Unusually high or low (no better direction)"),
    # (of the latest month, as Making Data Count's icon: earlier months may be marked, which
    # the KPI's sentence says)
    ("common", "Normal variation (latest month)"),
    # (every reason a KPI has none: a running total; fewer than 2 months, or a month missing
    # where its limits come from; no figure; months that all have one value, no spread known)
    ("uncharted", "No process chart (cumulative, too few months, no data, no variation)"),
)


def _table_last_column(group: list[KpiResult], verdicts: Mapping[str, Verdict]
                       ) -> tuple[str, Callable[[KpiResult], str]] | None:
    """A KPI table's last column, its heading and its cell of a row: "Status" where any
    row's change was tested; otherwise "Variation" (the matrix's row of each KPI) where any
    row has a process chart, in the words of the summary tables (VARIATION_CELLS);
    otherwise none (None)."""
    def status(r: KpiResult) -> str:
        return SHOWN_STATUS_WORDS[shown_status(r, verdicts.get(r.kpi.id))]

    def variation(r: KpiResult) -> str:
        verdict = verdicts.get(r.kpi.id)
        if r.status == Outcome.IN_DEVELOPMENT:
            return "in development"
        if verdict is None or verdict.variation is None:
            return "no chart"
        return VARIATION_CELLS[verdict.variation.verdict] + (
            " (trial limits)" if verdict.variation.trial else "")

    if any(shown_status(r, verdicts.get(r.kpi.id)) != NOT_TESTED for r in group):
        return "Status", status
    if any(_matrix_row(r, verdicts.get(r.kpi.id)) not in ("uncharted", "developing")
           for r in group):
        return "Variation", variation
    return None


def _aside(title: str, words: str) -> str:
    """Words said beside a name in a list: ' (target consistently met)', or ', target
    consistently met' after a name that ends in its own parenthesis, so that a board member
    never reads two asides stacked ('... (working days) (target ...)')."""
    return f", {words}" if title.endswith(")") else f" ({words})"


def _in_sentence(title: str) -> str:
    """A title inside a sentence: 'Ethics training completion rates' reads 'ethics training
    completion rates' after 'Table 1 sets out'; a title that starts with a name or an
    abbreviation ('West Midlands ...', 'PCSO ...') keeps its capitals."""
    words = title.split(" ")
    first = words[0]
    if (len(first) > 1 and first[0].isupper() and first[1:].islower()
            and (len(words) == 1 or not words[1][:1].isupper())):
        return first[0].lower() + title[1:]
    return title


def _matrix_row(result: KpiResult, verdict: Verdict | None) -> str:
    if result.status == Outcome.IN_DEVELOPMENT:
        return "developing"
    variation = verdict.variation if verdict else None
    if variation is None:
        return "uncharted"
    return {stats.SPECIAL_CONCERN: "concern", stats.SPECIAL_IMPROVEMENT: "improvement",
            stats.SPECIAL_HIGH: "unusual", stats.SPECIAL_LOW: "unusual"}.get(variation.verdict,
                                                                            "common")


MATRIX_COLUMNS = (
    ("fail", "Target consistently missed"),
    ("risk", "Target sometimes met, sometimes missed"),
    ("pass", "Target consistently met"),
    ("unjudged", "Target not judged, no process chart"),
    ("none", "No target"),
)


def _matrix_column(verdict: Verdict | None) -> str:
    """The assurance column of a KPI in the matrix. A target without process limits to judge
    it by is "not judged": whether it will be met consistently only limits say, and a current
    figure meeting it was filed under "Target consistently met" beside months that missed it
    every other month (`kpi show` gave no assurance)."""
    if verdict is None or verdict.target is None:
        return "none"
    if verdict.assurance is not None:
        return {stats.CONSISTENTLY_FAIL: "fail", stats.HIT_AND_MISS: "risk",
                stats.CONSISTENTLY_PASS: "pass"}[verdict.assurance]
    return "unjudged"


def _assurance_cell(verdict: Verdict | None) -> str:
    if verdict is None:
        return "no verdict"
    if verdict.assurance is not None:
        return ASSURANCE_CELLS[verdict.assurance]
    if verdict.target_met is not None:
        return "target met" if verdict.target_met else "target missed"
    return "no verdict"


def _tally(results: list[KpiResult], verdicts: Mapping[str, Verdict]) -> list[str]:
    """An honest count: improving or deteriorating only where the change is significant, by
    the status the tables and sentences give (`shown_status`)."""
    counts: dict[str, int] = {}
    for r in results:
        key = shown_status(r, verdicts.get(r.kpi.id))
        counts[key] = counts.get(key, 0) + 1
    return [f"{counts[k]} {words}" for k, words in TALLY_WORDS.items() if k in counts]


def _tally_sentence(results: list[KpiResult], verdicts: Mapping[str, Verdict],
                    lead: str) -> str:
    """The tally after `lead`, whose '{kpis}' is the number of KPIs with its noun ('1 KPI',
    '3 KPIs': "Of the 1 KPIs reported" was said of a paper of one)."""
    kpis = f"{len(results)} KPI{'' if len(results) == 1 else 's'}"
    parts = _tally(results, verdicts) if verdicts else []
    if not parts:
        return lead.format(kpis=kpis).rstrip(":, ") + "."
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return lead.format(kpis=kpis) + listed + "."


def significance_cell(result: KpiResult, verdict: Verdict | None) -> str:
    """A summary table's Significant cell: "yes" or "no" for a tested change, "not tested"
    for a change no test applies to, and "no comparison" where there is no change to test
    (no comparison window held, or no figure): never "not tested" of a change that does not
    exist."""
    if result.change is None:
        return SHOWN_STATUS_WORDS[NO_COMPARISON]
    return SIGNIFICANCE_CELLS[verdict.significance.significant
                              if verdict and verdict.significance else None]


def verdict_cells(result: KpiResult, verdict: Verdict | None) -> list[str]:
    """The Significant, Variation and Assurance cells of a summary table."""
    if verdict is None:
        return [significance_cell(result, verdict), "no chart", "no target"]
    variation = verdict.variation
    cells = [significance_cell(result, verdict),
             "no chart" if variation is None else VARIATION_CELLS[variation.verdict]
             + (" (trial limits)" if variation.trial else ""),
             ASSURANCE_CELLS.get(verdict.assurance or "", "no target" if verdict.target is None
                                 else "no verdict")]
    return cells


def _peer_alt_text(data: ChartData) -> str:
    """The peers figure's bars, in words: every value, which part is the focus, the mean."""
    from kpi.charts import peer_axis_label, peer_text

    text = peer_text(data, words=True)  # as the bars are labelled, in the prose's words
    what = peer_axis_label(data).replace("\n", " ")
    assert data.parts is not None, "a peers figure has parts"
    bars = "; ".join(f"{part} {text(value)}" for part, value, _ in data.parts.iter_rows())
    mean = f"; group mean {text(data.peer_mean)}" if data.peer_mean is not None else ""
    # The focus named in a sentence of its own, never marked in a name: "Avon (focus) 2.1"
    # read as the part "Avon (focus)" does.
    focus = next((part for part, _, mine in data.parts.iter_rows() if mine), None)
    named = f" The focus is {focus}." if focus is not None else ""
    return (f"Horizontal bar chart of {what} for each member of the {data.group_title} peer "
            f"group, {data.current_label}, largest first: {bars}{mean}.{named}")


def definition(kpi: KpiDef) -> str:
    """A KPI's whole definition in one line: where its rows come from and how its value is
    made, so two KPIs with the same filter but different numerators read differently."""
    parts = []
    if kpi.is_derived:
        parts.append(f"{kpi.numerator_kpi} / {kpi.denominator_kpi}")
    elif kpi.dataset:
        parts.append(f"dataset {kpi.dataset}")
    for key in ("filter", "numerator", "denominator", "value", "threshold", "percentile",
                "population", "weights", "weight_key"):
        value = getattr(kpi, key)
        if value is not None and value != "":
            parts.append(f"{key.replace('_', ' ')} {value}")
    if kpi.populations:
        parts.append(f"populations {' / '.join(kpi.populations)}")
    if kpi.multiplier != 1.0:
        parts.append(f"multiplier {kpi.multiplier:g}")
    return "; ".join(parts) or "—"


def _true_minus(text: str) -> str:
    """A message's negative numbers with a true minus sign joined to them ("-60", "-£5")."""
    return re.sub(r"(?<![\w-])-(?=[\d£])", MINUS, text)


def kpi_value(*args: Any, **kwargs: Any) -> str:
    """`render.kpi_value` as the paper prints it: a negative figure with a true minus sign, as
    its tables print one ("The total was -60" stood beside a table's "\u221260")."""
    return _true_minus(render.kpi_value(*args, **kwargs))


def value_words(*args: Any, **kwargs: Any) -> str:
    """`render.value_words` as the paper prints it (`kpi_value`)."""
    return _true_minus(render.value_words(*args, **kwargs))


def _points(value: float) -> str:
    """'2 percentage points', '1.5 percentage points', '1 percentage point'."""
    return f"{value:g} percentage point{'' if value == 1 else 's'}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _countable(kpi: KpiDef) -> bool:
    """A count that can be one of events, whose parts can be tested against each other
    (stats.part_vs_rest), by its definition (stats.count_of_events); whether its rows are
    whole counts of events is for the windows to say (`_part_rows`)."""
    return stats.count_of_events(kpi, None)


def _counted(kpi: KpiDef) -> bool:
    """A total of things counted (crimes, calls, people): a count, a sum or a headcount in
    the count unit. An average, median or percentile in that unit (a mean of minutes typed as
    numbers) is a level, not a number of things."""
    return kpi.unit == Unit.COUNT and kpi.is_total


def _small_base(kpi: KpiDef, before: float | None) -> bool:
    """Whether a change of the KPI from `before` is given as a number rather than a
    percentage: a count on a base below SMALL_BASE, where a percentage says little (+200.0% on
    a base of 1). A level such as a mean has no such base: 2 minutes to 3 is a rise of 50%."""
    return _counted(kpi) and before is not None and abs(before) < SMALL_BASE


def _ranked_change(kpi: KpiDef) -> str:
    """Which change of its parts a ranking of changes (`_ranking`) prints: a proportion's in
    points, a ratio's absolute, any other's as a percentage."""
    return ("points" if kpi.unit == Unit.PERCENT else "absolute" if kpi.unit == Unit.RATIO
            else "percent")


def _ranked_figure(kpi: KpiDef, row: Mapping) -> bool:
    """Whether a ranking of changes (`_ranking`) prints a figure of the part: its change, or
    its change as a number on a small base; a part whose change it cannot give reads
    "(n/a)", no figure of it."""
    key = _ranked_change(kpi)
    return row[key] is not None or (key == "percent" and row["absolute"] is not None
                                    and _small_base(kpi, row["comparison"]))


def _proportion(kpi: KpiDef) -> bool:
    """A proportion of cases (a numerator within its denominator, in percent) whose parts can
    be tested against each other (stats.share_vs_rest), by the one rule `kpi compare` tests
    its parts by (stats.proportion_of_cases); whether its numerators and denominators are
    whole counts is for the data to say."""
    return stats.proportion_of_cases(kpi)


def _gaps(found: stats.Standouts | stats.ShareStandouts
          ) -> list[tuple[float, stats.PartTest | stats.ShareTest]]:
    """The parts that stand out, largest gap first: between a count's part's change and the
    rest's, or between a proportion's part's proportion and the rest's (percentage points)."""
    gaps: list[tuple[float, stats.PartTest | stats.ShareTest]] = []
    if isinstance(found, stats.ShareStandouts):
        gaps += [(abs(test.share - found.rest_share), test) for test in found.parts]
    else:
        rest = found.rest_change
        assert rest is not None, "the rest of a part that stands out has a comparison"
        for test in found.parts:
            assert test.change is not None, "a part that stands out has a comparison"
            gaps.append((abs(test.change - rest), test))
    return sorted(gaps, key=lambda g: (-g[0], _part_order(g[1].part)))


# The parts of a breakdown with no figure in the current window named at most
# (`_unfigured_sentence`).
UNFIGURED_NAMED = 5


def _standout_sentence(label: Name, found: stats.Standouts | stats.ShareStandouts,
                       blank: str = NOT_RECORDED,
                       printed: list[stats.PartTest | stats.ShareTest] | None = None
                       ) -> Inlines:
    """'By LPA, Walsall (+51.5%) stands out from the other 6 (+31.3%): a difference unlikely
    to be chance.' A proportion's parts are given at their level in the current window,
    the rest's pooled: 'By LPA, Birmingham (72.5%) stands out from the other 6 (76.2%
    together): …'."""
    def percent(value: float | None) -> str:
        assert value is not None, "a part that stands out and its rest have a comparison"
        if isinstance(found, stats.ShareStandouts):
            return f"{render.fixed(value, 1)}%"
        return _with_sign(value, f"{render.fixed(abs(value), 1)}%")

    def figure(test: stats.PartTest | stats.ShareTest) -> float | None:
        return test.share if isinstance(test, stats.ShareTest) else test.change

    from kpi.compare import highest, ordinal

    # The parts furthest from the rest, every part as far as the last named named too, or,
    # where those would be many, counted (compare.highest): a cut at NAMED_PARTS kept one of
    # two parts as far from the rest by its name.
    gaps = _gaps(found)
    top = highest([gap for gap, _ in gaps], NAMED_PARTS, 2 * NAMED_PARTS)
    shown = [gaps[i][1] for i in top.shown]
    if printed is not None:  # the parts whose figures it prints
        printed += shown
    items = []
    for n, test in enumerate(shown):
        joint = "" if n == 0 else " and " if n == len(shown) - 1 and not top.left else ", "
        items.append(inlines(joint, _part(test.part, blank), f" ({percent(figure(test))})"))
    if top.left:
        assert top.left_rank is not None
        items.append(inlines(" and " if items else "",
                             f"{top.left:,} parts joint {ordinal(top.left_rank)}"))
    share = isinstance(found, stats.ShareStandouts)
    pooled = found.rest_share if isinstance(found, stats.ShareStandouts) else found.rest_change
    if len(found.rest) == 1:
        other = inlines(_part(found.rest[0], blank), f" ({percent(pooled)})")
    else:
        # A proportion of parts pooled is not their average: "together" says so.
        other = inlines(f"the other {len(found.rest)} ({percent(pooled)}"
                        f"{' together' if share else ''})")
    count = len(found.parts)
    if count > len(shown) + top.left:
        return inlines("By ", label, f", {count} of {found.tested} stand out from ", other,
                       ", differences unlikely to be chance; the ",
                       "furthest from them" if share else "largest", " are ", items, ".")
    verb, what = (("stands", "a difference") if count == 1 else ("stand", "differences"))
    return inlines("By ", label, ", ", items, f" {verb} out from ", other,
                   f": {what} unlikely to be chance.")


# The parts a sentence on the parts that differ without standing out names at most, then
# counts ("and 4 more"), by the largest gap first.
DIFFERING_NAMED = 5


def _differing_sentence(label: Name, unnamed: list[stats.PartTest] | list[stats.ShareTest],
                        found: stats.Standouts | stats.ShareStandouts | None, points: float,
                        blank: str = NOT_RECORDED,
                        printed: list[stats.PartTest | stats.ShareTest] | None = None
                        ) -> Inlines:
    """'By LPA, Solihull (77.8%) and Coventry (77.1%) also differ from all the others beyond chance,
    but do not stand out once Birmingham is set aside; Wolverhampton (76.3%) and Dudley (76.3%) too,
    but by less than 2 percentage points.' The parts `kpi compare` says differ from the rest (each
    against all the others pooled, `stats.differing`: a proportion's level, a count's change) that
    the paper does not name as standing out, each with why: its gap from all the others is below
    `points` (`[paper] standout_points`, `standout_change_points`), or it stands apart only while
    the parts that stand out are among the others (`stats._stepwise`)."""
    def figure(test: stats.PartTest | stats.ShareTest) -> float:
        value = test.share if isinstance(test, stats.ShareTest) else test.change
        assert value is not None, "a part tested has a figure"
        return value

    def rest(test: stats.PartTest | stats.ShareTest) -> float:
        value = (test.rest_share if isinstance(test, stats.ShareTest) else test.rest_change)
        assert value is not None, "a part tested has a rest with a figure"
        return value

    def percent(test: stats.PartTest | stats.ShareTest) -> str:
        value = figure(test)
        if isinstance(test, stats.ShareTest):
            return f"{render.fixed(value, 1)}%"
        return _with_sign(value, f"{render.fixed(abs(value), 1)}%")

    def gap(test: stats.PartTest | stats.ShareTest) -> float:
        # Both figures exist: a part tested and its rest each have the floor of cases (or of
        # events in the comparison window).
        return stats._gap(figure(test), rest(test))

    also = " also" if found is not None else ""
    close = [t for t in unnamed if gap(t) < points]
    apart = [t for t in unnamed if gap(t) >= points]
    clauses = []
    for tests in (apart, close):
        if not tests:
            continue
        one = len(tests) == 1
        if tests is close:
            why = inlines(f", but by less than {_points(points)}")
        elif found is not None and len(found.parts) > NAMED_PARTS:
            why = inlines(f", but {'does' if one else 'do'} not stand out once the "
                          f"{len(found.parts)} that do are set aside")
        elif found is not None and found.parts:
            aside = [t.part for _, t in _gaps(found)]
            named = [inlines(", " if 0 < n < len(aside) - 1 else " and " if n else "",
                             _part(x, blank)) for n, x in enumerate(aside)]
            why = inlines(f", but {'does' if one else 'do'} not stand out once ", named,
                          f" {'is' if len(aside) == 1 else 'are'} set aside")
        else:
            why = inlines(f", but {'does' if one else 'do'} not stand out from the parts "
                          "left once each is tested against them")
        tests = sorted(tests, key=lambda t: (-gap(t), _part_order(t.part)))
        shown, more = tests[:DIFFERING_NAMED], len(tests) - DIFFERING_NAMED
        if printed is not None:  # the parts whose figures it prints
            printed += shown
        items = []
        for n, test in enumerate(shown):
            joint = ("" if n == 0 else " and " if n == len(shown) - 1 and more <= 0 else ", ")
            items.append(inlines(joint, _part(test.part, blank), f" ({percent(test)})"))
        if more > 0:
            items.append(f" and {more:,} more")
        if clauses:  # the second: said of the first already
            clauses.append(inlines("; ", items, " too", why))
            continue
        verb = "differs" if one else "differ"
        clauses.append(inlines(items, f"{also} {verb} from all the others beyond chance", why))
    return inlines("By ", label, ", ", clauses, ".")


def _only_part(kpi: KpiDef, label: Name, row: dict, comparison: Window | None,
               blank: str = NOT_RECORDED) -> list[Inlines]:
    """A breakdown with one part is not a ranking: it says where all of it is. A total of 0
    now is nowhere: where it was in the comparison window, where that holds any (S went from
    12 to 0: "all of it was S in the year ending March 2024", never "all of it is S"), else
    nothing."""
    part = _part(row["part"], blank)
    if not kpi.is_total or row["current"]:
        return [inlines("By ", label, ", all of it is ", part, ".")]
    if comparison is None or not row["comparison"]:
        return []
    return [inlines("By ", label, ", all of it was ", part, f" {_in(comparison)}.")]


def _alt_text(spec: ChartSpec, label: str | None = None, quarterly: bool = False) -> str:
    """What a figure shows, for a reader who cannot see it: a trend of quarterly rows draws
    the quarters' values (`charts.ChartData.quarterly`)."""
    from kpi.charts import ChartType

    rows = "quarterly" if quarterly else "monthly"
    shapes = {ChartType.TREND: f"Line chart of the {rows} values and the 12-month line",
              ChartType.COMPARE: "Bar chart comparing the current and comparison windows",
              ChartType.TOP: "Bar chart of the largest parts",
              ChartType.PEERS: "Bar chart of the peer group's current values",
              ChartType.XMR: "Process chart (XmR) of the monthly values with their mean, "
                             "process limits and any target, special causes marked"}
    by = ""
    if spec.by:
        name = column_title(spec.by)
        by = f" by {label or (name if len(name) <= 3 else name.lower())}"
    return f"{shapes[spec.type]}{by}: {spec.title}."


def comparison_words(project: Project, comparison: Comparison, kpis: Iterable[KpiDef]) -> str:
    """What the KPIs reported are compared with, as the title block and the introduction
    say it: `--vs previous` of quarterly data is the window a quarter earlier
    (engine.row_step), so for a paper of quarterly KPIs "the window ending a quarter
    earlier" (the introduction said "a month earlier" below a title block saying a quarter)."""
    words = COMPARISON_WORDS[comparison]
    if comparison == Comparison.PREVIOUS:
        from kpi.engine import measures_of, row_step

        # (a KPI in development may have no dataset yet: it reads none)
        steps = {row_step(project, [m.dataset for m in measures_of(project, kpi) if m.dataset])
                 for kpi in kpis if kpi.status == Status.LIVE}
        if steps == {3}:
            words = "the window ending a quarter earlier"
        elif 3 in steps:
            words += " (a quarter earlier for quarterly data)"
    return words


def _conventions(project: Project, comparison: Comparison, period_name: str,
                 words: str) -> str:
    flows = (f"the financial year to date ending {period_name}" if comparison == Comparison.FYTD
             else f"the 12 months of the year ending {period_name}")
    text = (f"Unless a KPI states otherwise, flows (counts, rates, averages) cover {flows}, and "
            f"snapshots (headcounts, proportions at a point in time) are as at the end of "
            f"{period_name}. ")
    if comparison == Comparison.BASELINE:
        return text + (f"Each KPI is compared with the plan baseline: the year ending "
                       f"{project.baseline_end.name} for flows and "
                       f"{project.snapshot_baseline.name} for snapshots, unless the KPI "
                       "declares its own baseline.")
    return text + f"Each KPI is compared with {words}."


def _as_at(text: str) -> Inlines:
    """The --as-of point as the title block names it."""
    text = text.strip()
    if text.isdigit():
        return inlines(f"data as at table version {text}")
    return inlines("data as at ", Name(text))


def _section_intro(title: str, results: list[KpiResult],
                   verdicts: Mapping[str, Verdict] | None = None) -> Inlines:
    if not results:
        return inlines("No KPIs are reported under the priority ", Name(title), ".")
    if verdicts:
        counts = _tally(results, verdicts)
    else:
        counts = [f"{sum(r.status == s for r in results)} {words}"
                  for s, words in STATUS_COUNT_WORDS if any(r.status == s for r in results)]
    listed = counts[0] if len(counts) == 1 else ", ".join(counts[:-1]) + " and " + counts[-1]
    noun = "KPI" if len(results) == 1 else "KPIs"
    return inlines(f"This section reports {len(results)} {noun} under the priority ",
                   Name(title), f": {listed}.")


def _unreported_reason(result: KpiResult) -> str | None:
    """Why a KPI outside a table has no figure, as `_groups` gathers them: in development
    (with no description of its own to give), or the words of its note; None when it has a
    figure."""
    kpi = result.kpi
    if kpi.table:
        return None
    if result.status == Outcome.IN_DEVELOPMENT:
        return None if kpi.description else "in development"
    if result.current is None or result.current.value is None:
        return f"no figure: {no_figure_words(result.note)}"
    return None


def _groups(results: list[KpiResult]) -> list[list[KpiResult]]:
    """Consecutive KPIs that name the same table form one group, and so do all the KPIs of
    a section without a figure for the same reason (a dataset not loaded, in development),
    where the first of them stands, so the reason is said once; every other KPI is its own."""
    groups: list[list[KpiResult]] = []
    reasons = [_unreported_reason(r) for r in results]
    shared = {w for w in reasons if w is not None and reasons.count(w) > 1}
    gathered: dict[str, list[KpiResult]] = {}
    for result, reason in zip(results, reasons, strict=True):
        table = result.kpi.table
        if reason in shared:
            assert reason is not None, "only a reason shared by two KPIs gathers them"
            if reason in gathered:
                gathered[reason].append(result)
            else:
                gathered[reason] = [result]
                groups.append(gathered[reason])
        elif table and groups and groups[-1][0].kpi.table == table:
            groups[-1].append(result)
        else:
            groups.append([result])
    return groups


def _shared_window(measured: Iterable) -> Window | None:
    windows = {m.window for m in measured if m is not None}
    return windows.pop() if len(windows) == 1 else None


def _table_value(measured, kpi: KpiDef, show_window: bool,
                 beside: Beside | None = None) -> Inlines:
    if measured is None:
        return inlines("n/a")
    return inlines(cell_value(measured.value, kpi, beside=beside),
                   f" ({measured.window.label})" if show_window else None)


def _change_measure(result: KpiResult) -> tuple:
    """What `_change_size` measures a change in, as `change_words` says it: percentage
    points, per cent, or the KPI's own unit (and its words), as a count on a base below
    SMALL_BASE is said ("an increase of 4"): ranked by its 33.3%, it was named the largest
    change beside a row of +240."""
    change = result.change
    assert change is not None, "only a KPI with a change is ranked by it"
    if change.points is not None:
        return ("points",)
    before = result.comparison.value if result.comparison is not None else None
    if change.percent is not None and not _small_base(result.kpi, before):
        return ("percent",)
    return ("absolute", result.kpi.unit, result.kpi.unit_label)


def _change_size(result: KpiResult, exact: bool = False) -> Decimal:
    """The size of a change as `change_words` prints it (a % to one place, points and
    amounts to the places of the KPI's changes): to one place always, 3.01 and 3.04 points
    read as a tie, and the first row was named the larger. `exact`: to 15 significant digits
    (Excel's), where 55% less 50% and 65% less 70% are the same 5 points, as their floats
    (5.000000000000004 and 4.999999999999993) are not."""
    change = result.change
    assert change is not None, "only a KPI with a change is ranked by it"
    measure = _change_measure(result)[0]
    size = {"points": change.points, "percent": change.percent,
            "absolute": change.absolute}[measure]
    assert size is not None, "the measure is one the change has"
    if exact:
        return Decimal(format(abs(float(size)), f".{EXCEL_DIGITS}g"))
    return render.rounded(abs(size), 1 if measure == "percent" else render.change_digits(result))


def _largest_change(largest: list[KpiResult]) -> Inlines:
    """A table's sentence on its largest change, judged as its rows print it (`_change_size`),
    as `parts_range` judges a breakdown's ends on their printed figures: 'The largest change
    was for A, an increase of 6.0 percentage points.' A largest change several rows print is
    shared by them all, in table order: 'The largest change was shared by A, an increase of
    5.0 percentage points, and B, a decrease of 5.0 percentage points.' ("was for A" named
    the first of two rows of +5.0pp and -5.0pp); where they differ past the places printed,
    'as printed' says it is the printed sizes that tie."""
    if len(largest) == 1:
        return inlines("The largest change was for ", Name(largest[0].kpi.title),
                       f", {change_words(largest[0])}.")
    printed = "" if len({_change_size(r, exact=True) for r in largest}) == 1 else " as printed"
    if len(largest) == 2:
        first, second = largest
        return inlines(f"The largest change{printed} was shared by ", Name(first.kpi.title),
                       f", {change_words(first)}, and ", Name(second.kpi.title),
                       f", {change_words(second)}.")
    return inlines(f"The largest change{printed} was shared by {len(largest)} KPIs: ",
                   [inlines("; and " if n == len(largest) - 1 else "; " if n else "",
                            Name(r.kpi.title), f", {change_words(r)}")
                    for n, r in enumerate(largest)], ".")


def _and_list(items: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _and_names(items: Sequence[Inline | Inlines]) -> Inlines:
    """'A', 'A and B', 'A, B and C' (`_and_list`) of names, or of inlines holding them: a
    name stays a `Name`, which the writers print as it is (`writers.printed`). Joined into
    plain text, a KPI title "Share -2 theft" was printed "Share \u22122 theft"."""
    out: list = []
    for n, item in enumerate(items):
        out += [(", " if n < len(items) - 1 else " and ") if n else "", item]
    return inlines(out)


def _figure_list(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"Figure {numbers[0]}"
    return "Figures " + ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"


def parts_range(rows: Sequence[Mapping], kpi: KpiDef, capital: bool = False,
                largest: str = "", subset: bool = False,
                widened: set[str] | None = None, blank: str = NOT_RECORDED) -> Inlines:
    """A breakdown's range, as a chart's caption and alt text give it: 'highest Aston (60),
    lowest Brierley (48)', or with `largest` its words and the highest part alone ('the
    largest is Aston (60)'). Where every part prints the same figure, 'all 3 parts are equal
    (60 each)', and 'only Aston (60)' of one part (not of a `subset`, the highest parts of
    more); an end several parts print is said to be shared ('the largest, 60, is shared by
    2 parts'; 'highest 60 (2 parts), lowest Coleshill (12)'): one part is never named as both
    the highest and the lowest, nor as the highest or lowest of parts that print the same."""
    # The highest and lowest each print apart from every part whose figure differs from
    # theirs: "highest 0.5 (2 parts)" was said of 0.54 and 0.46 (render.ranked_digits).
    figures = sorted({r["current"] for r in rows})
    digits = render.ranked_digits(figures[:2] + figures[-2:], kpi)
    if digits is not None and widened is not None:
        widened.add(kpi.title)  # the method names it
    printed = [kpi_value(r["current"], kpi, digits=digits) for r in rows]
    high = max(rows, key=lambda r: r["current"])
    low = min(rows, key=lambda r: r["current"])
    top, bottom = (kpi_value(high["current"], kpi, digits=digits),
                   kpi_value(low["current"], kpi, digits=digits))

    def end(row: Mapping, figure: str) -> Inlines:
        shared = printed.count(figure)
        return inlines(f"{figure} ({shared} parts)") if shared > 1 else \
            inlines(_part(row["part"], blank), f" ({figure})")

    if len(rows) == 1 and not subset:
        words = inlines("only ", _part(high["part"], blank), f" ({top})")
    elif top == bottom and not subset:
        words = inlines(f"all {len(rows)} parts are equal ({top} each)")
    elif largest and printed.count(top) > 1:
        words = inlines(f"{largest}, {top}, is shared by {printed.count(top)} parts")
    elif largest:
        words = inlines(f"{largest} is ", _part(high["part"], blank), f" ({top})")
    else:
        words = inlines("highest ", end(high, top), ", lowest ", end(low, bottom))
    if not capital:
        return words
    first = words[0]
    assert isinstance(first, str), "each wording above starts with the paper's own words"
    return (_capital(first), *words[1:])


def _part(value, blank: str) -> Inlines:
    """A part as the paper names it; `blank`, the rows with no value in the column, as
    `kpi.text.blank_name` names them beside the column's parts."""
    return inlines(blank if value is None else Name(str(value)))


def _part_text(value, blank: str) -> str:
    return blank if value is None else str(value)


def _part_order(value) -> tuple:
    """Equal figures' parts in the breakdown's own order (`kpi show`, `kpi compare`): by
    name, the rows with no value in the column ("not recorded") after every named part."""
    return (1,) if value is None else (0, value)


def _unranked_sentence(label: Name, parts: list[str], why: str | None) -> Inlines:
    """'By force, Dee is not ranked with the others: left out, holding rows in only some
    months of the year ending March 2025: Dee (9 of 12 months).': the parts of a breakdown
    kpi compare leaves out of its ranking (`compare.ranked_breakdowns`), by name, the first
    UNFIGURED_NAMED of them and how many more, with the pieces of the comparison's note
    naming them."""
    names = sorted(parts)
    items = _first_named(names)
    verb = "is" if len(names) == 1 else "are"
    pieces = [p for p in (why or "").split("; ") if any(n in p for n in names)]
    said = f": {'; '.join(pieces)}" if pieces else ""
    return inlines("By ", label, ", ", items, f" {verb} not ranked with the others{said}.")


def _unfigured_sentence(label: Name, parts: list, window: Window) -> Inlines:
    """'By LPA, Coventry has no figure in the year ending September 2025.': the parts of a
    breakdown with no figure in the current window (a proportion of no cases), which no
    ranking or sentence of the breakdown names, by name, the first UNFIGURED_NAMED of them
    and how many more."""
    names = sorted(str(p) for p in parts)
    verb = "has" if len(names) == 1 else "have"
    return inlines("By ", label, ", ", _first_named(names), f" {verb} no figure {_in(window)}.")


def _first_named(names: list[str]) -> list[Inlines]:
    """'Dee', 'Avon and Dee', 'Avon, Bure, Cam and 3 more': the first UNFIGURED_NAMED of the
    names and how many more, as a sentence lists parts."""
    shown = names[:UNFIGURED_NAMED]
    listed: list[Name | str] = [Name(n) for n in shown]
    if len(names) > len(shown):
        listed.append(f"{len(names) - len(shown):,} more")
    return [inlines(", " if 0 < n < len(listed) - 1 else " and " if n else "", item)
            for n, item in enumerate(listed)]


def _ranking(kpi: KpiDef, label: Name, rows: list[dict], unsettled: str = "",
             widened: set[str] | None = None, blank: str = NOT_RECORDED) -> Inlines:
    """'By LPA, the percentage change, best first: Wolverhampton (−14.6%), Coventry
    (−13.3%) ...': the best change first by the KPI's direction, or, for a KPI with no better
    direction, 'highest first' (the largest rise first: no change of it is better than
    another); `unsettled` says, after the measure, that the windows hold months not final
    yet. Points and a ratio's change to the KPI's `decimals`, as every change of it the paper
    prints (`change_words`, `change_cell`), or to more where a part's change is judged at
    more (its stored `places`, `Change.places`: 0.6% against 0.4% of a KPI of whole
    percentages is "+0.2pp", never "0pp"); a % change to one decimal."""
    key = _ranked_change(kpi)
    measure, suffix = {"points": ("change in percentage points", "pp"),
                       "absolute": ("change", ""),
                       "percent": ("percentage change", "%")}[key]
    known = [r for r in rows if r[key] is not None]
    base = 1 if key == "percent" else render.places(kpi)
    digits = base if key == "percent" else max(
        [base, *(r["places"] for r in known if r.get("places") is not None)])
    unknown = [r for r in rows if r[key] is None]
    # A percentage on a small base says little (+200.0% on a base of 1): those parts are
    # listed after the ranking with their change as a number. So are the parts with no
    # percentage at all, from a base of zero or below (a net amount of -£600), which listed
    # as "(n/a)" under "best first" read as ranked: the worst part was named first.
    small: list[dict] = []
    unbased: list[dict] = []
    if key == "percent":
        small = [r for r in rows if _small_base(kpi, r["comparison"])
                 and r["absolute"] is not None]
        unbased = [r for r in unknown if r not in small and r["absolute"] is not None]
        known = [r for r in known if r not in small]
        unknown = [r for r in unknown if r not in small and r not in unbased]
    sign = 1 if kpi.better == Better.LOWER else -1
    order = "highest" if kpi.better == Better.NEUTRAL else "best"
    # Ranked by the change as printed, to as many places as it takes for two changes that
    # differ to print differently (-14.64% and -14.56% read "-14.6%" twice, as a tie in the
    # breakdown's own order): equal figures alone read as a tie (`places_ranked`).
    digits = places_ranked([r[key] for r in known], digits)
    if digits > base and widened is not None:
        widened.add(kpi.title)  # the method names it
    known.sort(key=lambda r: (sign * render.rounded(r[key], digits), _part_order(r["part"])))
    unknown.sort(key=lambda r: _part_order(r["part"]))
    items = [inlines(_part(r["part"], blank),
                     f" ({_with_sign(r[key], render.fixed(abs(r[key]), digits) + suffix)})")
             for r in known]
    items += [inlines(_part(r["part"], blank), " (n/a)") for r in unknown]
    listed = [inlines(", " if n else "", item) for n, item in enumerate(items)]
    text = inlines("By ", label, f", the {measure}{unsettled}, {order} first: ", listed)
    if not items:
        text = inlines("By ", label)
    for group, words in ((small, f"on a base below {SMALL_BASE}"),
                         (unbased, "with no percentage change (from a base of zero or below)")):
        if not group:
            continue
        # By the change as printed, as the ranking above: +2.44 and +2.36 both print "+2",
        # and equal figures come in the breakdown's own order.
        own = render.places(kpi)
        places = places_ranked([r["absolute"] for r in group], max(
            [own, *(r["places"] for r in group if r.get("places") is not None)]))
        if places > own and widened is not None:
            widened.add(kpi.title)
        group.sort(key=lambda r: (sign * render.rounded(r["absolute"], places),
                                  _part_order(r["part"])))
        tiny = [inlines(", " if n else "", _part(r["part"], blank), " (" + _with_sign(
                    r["absolute"], kpi_value(abs(r["absolute"]), kpi, change=True,
                                             digits=places if places > own else None),
                    kpi) + ")")
                for n, r in enumerate(group)]
        text = inlines(text, "; " if items or group is unbased and small else ", ",
                       f"{words}, as numbers: ", tiny)
    return inlines(text, ".")


def _windows(result: KpiResult) -> str:
    kpi = result.kpi
    if result.current is None:
        return "—"
    text = result.current.window.code
    if result.comparison is not None:
        text += f" vs {result.comparison.window.code}"
    if kpi.lag:
        text += f" (lag {kpi.lag} month{'s' if kpi.lag > 1 else ''})"
    return text
