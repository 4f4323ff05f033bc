"""The board paper: engine results in, a Markdown document shaped like the monthly report out.

The paper follows the catalogue: an introduction stating the windows and the comparison, one
numbered section per plan priority in plan order, one numbered paragraph per KPI, tables for
runs of KPIs that declare the same `table`, LPA rankings and top parts where a KPI declares
breakdowns, figures where [[charts]] anchor them, and an appendix (outcome codes glossary, KPI
definitions). Every number in a sentence is a value, comparison or change the engine computed,
rounded exactly as `kpi summary` shows it, and the words follow the numbers: increase or
decrease by sign, percentage points for rates, minutes and seconds for durations, an absolute
change on a small base. Status words come from the engine, so "stable" appears only when the
status is stable. Each KPI's verdict (kpi.verdicts: significance, variation, target and
assurance) is worded by the small functions under "Words for verdicts", so no paragraph presents
noise as a change; each section opens with a summary table of the verdicts, and a process chart
(XmR) follows every KPI with a special cause or a target.

Building the text never prints and never reads the clock, so the same data and options give
the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kpi import engine, render, stats
from kpi.catalogue import Better, Kind, KpiDef, Project, Unit
from kpi.document import (
    Align,
    Column,
    Document,
    Figure,
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
from kpi.engine import KpiResult, Outcome, Report
from kpi.errors import ConfigError
from kpi.periods import Comparison, Window, WindowKind
from kpi.render import STATUS_WORDS, change_text, signed
from kpi.store import AsOf

if TYPE_CHECKING:
    import datetime as dt

    import polars as pl

    from kpi.charts import ChartData, ChartSpec
    from kpi.commentary import Commentary
    from kpi.revisions import Revisions
    from kpi.verdicts import Verdict

# A percentage change on a base this small says little; the report gives the absolute change
# ("a reduction of 9" homicides), so the paper does too for counts below it.
SMALL_BASE = 50
# A breakdown with at most this many parts is ranked in full (the seven LPAs); a longer one
# (neighbourhoods) is shown as its largest TOP_PARTS parts.
RANK_LIMIT = 12
TOP_PARTS = 5

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
}
# The report varies its words from paragraph to paragraph; so does the paper, in turn, while
# "The position is stable." stays the one sentence that means stable.
STATUS_VARIANTS = {
    Outcome.IMPROVING: ("This is an improvement.", "This represents an improvement.",
                        "This is an improving position."),
    Outcome.DETERIORATING: ("This is a deterioration.", "This represents a deterioration.",
                            "This is a deteriorating position."),
}
# Section introductions count KPIs by status, in this order and wording.
STATUS_COUNT_WORDS = (
    (Outcome.IMPROVING, "improving"), (Outcome.DETERIORATING, "deteriorating"),
    (Outcome.STABLE, "stable"), (Outcome.CHANGED, "changed (no better direction)"),
    (Outcome.IN_DEVELOPMENT, "in development"), (Outcome.NO_DATA, "without data"),
)
COMPARISON_WORDS = {
    Comparison.BASELINE: "the plan baseline",
    Comparison.YOY: "the same window a year earlier",
    Comparison.PREVIOUS: "the window ending a month earlier",
    Comparison.FYTD: "the same months of the previous financial year",
}


# "marking" is read by kpi.catalogue (Project.marking).
PAPER_KEYS = frozenset({"plan", "glossary", "marking"})
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


def paper_config(project: Project) -> PaperConfig:
    """The project's [paper] table, checked; glossary files read (CSV with a header row)."""
    import csv

    raw = project.raw.get("paper") or {}
    where = f"{project.path}: [paper]"
    hint = "see docs/board-paper.md for the [paper] table"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table", hint=hint)
    for key in sorted(set(raw) - PAPER_KEYS):
        raise ConfigError(f"{where} key '{key}': unknown key (one of "
                          f"{', '.join(sorted(PAPER_KEYS))})", hint=hint)
    plan = raw.get("plan", "")
    if not isinstance(plan, str):
        raise ConfigError(f"{where} key 'plan': must be text", hint=hint)
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
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                table = [row for row in csv.reader(handle) if row]
        except (OSError, UnicodeDecodeError, csv.Error) as error:
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
    return PaperConfig(plan=" ".join(plan.split()), glossaries=tuple(glossaries))


@dataclass(frozen=True)
class PlannedFigure:
    """A chart the paper links: its number, declaration and link relative to the paper."""

    number: int
    spec: ChartSpec
    link: str  # "board-files/figure-1-asb_trend.png"


@dataclass(frozen=True)
class Paper:
    document: Document
    figures: tuple[PlannedFigure, ...]
    # The breakdowns the paper computed (engine.breakdowns), those of its compare and top
    # figures included, so drawing them reads nothing again.
    breakdowns: dict[engine.BreakdownKey, pl.DataFrame] = field(default_factory=dict)
    # The trend figures' monthly series (engine.monthly_series_all), likewise.
    series: dict[engine.SeriesKey, pl.DataFrame] = field(default_factory=dict)
    # Each peers figure's data (KPI id -> charts.peer_chart_data), likewise.
    peers: dict[str, ChartData | None] = field(default_factory=dict)

    @property
    def markdown(self) -> str:
        from kpi.writers import markdown

        return markdown.write(self.document)


def build_paper(project: Project, report: Report, *, charts: Sequence[ChartSpec] = (),
                files_dir: str = "board-files", priority: str | None = None,
                as_of: AsOf | None = None, as_of_text: str | None = None,
                commentary: Commentary | None = None, revised: Revisions | None = None,
                loaded: dict[str, dt.datetime] | None = None,
                verdicts: dict[str, Verdict] | None = None) -> Paper:
    """The board paper for a report. `report` may hold hidden KPIs that charts draw; they
    get no paragraph. `files_dir` is where the chart files sit, relative to the paper.
    `commentary` is the analyst's text; `revised` the figures revised since the last paper;
    `loaded` when each dataset's table version was made. `verdicts` (kpi.verdicts.verdicts
    of the report) adds the verdict words, the section summary tables and a process chart for
    every KPI with a special cause or a target."""
    from kpi.commentary import Commentary

    builder = _Builder(project, report, charts, files_dir, as_of, paper_config(project),
                       commentary or Commentary(), revised, loaded or {}, verdicts or {})
    return builder.build(priority, as_of_text)


def printed_results(report: Report, priority: str | None) -> list[KpiResult]:
    """The results the paper gives a paragraph or a table row, in paper order."""
    return [r for r in report.results
            if not r.kpi.hidden and priority in (None, r.kpi.priority)]


# ---------------------------------------------------------------------------------------------
# Words for numbers


def duration_words(seconds: float) -> str:
    """'12 minutes and 29 seconds', '1 hour, 9 minutes and 17 seconds', '23 seconds'."""
    total = int(round(abs(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n} {unit}{'' if n == 1 else 's'}"
             for n, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second")) if n]
    if not parts:
        return "0 seconds"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def value_words(value: float | None, unit: Unit) -> str:
    """A value as prose shows it: as `kpi summary` rounds it, durations in words."""
    if value is not None and unit == Unit.SECONDS:
        return duration_words(value)
    return render.number(value, unit)


def column_title(column: str | None) -> str:
    """A breakdown column as a reader names it: 'lpa' -> 'LPA', 'outcome_code' -> 'Outcome
    code'."""
    text = str(column or "")
    if len(text) <= 3:
        return text.upper()
    return text.replace("_", " ").capitalize()


def _ordinal(value: float) -> str:
    whole = int(value)
    if whole != value:
        return f"{value:g}th"
    suffix = "th" if 10 <= whole % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(whole % 10,
                                                                               "th")
    return f"{whole}{suffix}"


def _in(window: Window) -> str:
    """'in the year ending March 2024', 'in April 2024'."""
    if window.kind == WindowKind.YE:
        return f"in the {window.label}"
    return f"in {window.label}"


def _direction(size: float) -> str:
    return "an increase" if size > 0 else "a decrease"


def change_words(result: KpiResult) -> str:
    """'an increase of 0.8%', 'a decrease of 6.8 percentage points', 'a decrease of 9',
    'a decrease of 2 minutes and 4 seconds (16.6%)', or 'unchanged'."""
    kpi, change = result.kpi, result.change
    if change.points is not None:
        if round(change.points, 1) == 0:
            return _unchanged(change.points, "to one decimal place")
        return f"{_direction(change.points)} of {abs(change.points):.1f} percentage points"
    if kpi.unit == Unit.RATIO:
        if round(change.absolute, 1) == 0:
            return _unchanged(change.absolute, "to one decimal place")
        return f"{_direction(change.absolute)} of {abs(change.absolute):.1f}"
    size = change.absolute
    absolute = value_words(abs(size), kpi.unit)
    if value_words(0.0, kpi.unit) == absolute:
        return _unchanged(size, "at the precision shown")
    if change.percent is None or round(change.percent, 1) == 0:
        return f"{_direction(size)} of {absolute}"
    small_base = (kpi.unit == Unit.COUNT and result.comparison is not None
                  and abs(result.comparison.value) < SMALL_BASE)
    if small_base:
        return f"{_direction(size)} of {absolute}"
    if kpi.unit == Unit.COUNT:
        return f"{_direction(size)} of {abs(change.percent):.1f}%"
    return f"{_direction(size)} of {absolute} ({abs(change.percent):.1f}%)"


def _unchanged(size: float, precision: str) -> str:
    # A change too small to show is not called no change: the words say which it is.
    return "unchanged" if size == 0 else f"unchanged {precision}"


def current_clause(result: KpiResult) -> Inlines:
    """'A total of 26,613 was recorded in the year ending September 2025', 'As of September
    2025 the proportion was 37.0%'."""
    kpi, current = result.kpi, result.current
    value = value_words(current.value, kpi.unit)
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
        if kpi.noun:
            return inlines(f"A total of {value} was recorded {when}")
        if noun.lower().startswith("total "):
            return inlines("The ", Name(noun), f" was {value} {when}")
        return inlines("The total for ", Name(noun), f" was {value} {when}")
    subject = SUBJECTS[kpi.kind]
    if kpi.kind == Kind.PERCENTILE:
        subject = f"The {_ordinal(kpi.percentile)} percentile"
    if kpi.kind == Kind.PER_1000:
        value += " per 1,000 population"
    counts = ""
    if (kpi.kind in (Kind.RATE, Kind.WITHIN) and current.numerator is not None
            and current.denominator is not None):
        counts = (f" ({render.number(current.numerator, Unit.COUNT)} of "
                  f"{render.number(current.denominator, Unit.COUNT)})")
    return inlines(f"{subject} was {value}{counts} {when}")


# ---------------------------------------------------------------------------------------------
# Words for verdicts (kpi.verdicts): what each says, in the report's register

NOT_SIGNIFICANT = "within normal variation (not statistically significant)"
SIGNIFICANT = "a statistically significant change"
DIRECTION_ONLY = {
    Outcome.IMPROVING: "By direction alone this is an improvement.",
    Outcome.DETERIORATING: "By direction alone this is a deterioration.",
}
VARIATION_SENTENCES = {
    stats.SPECIAL_IMPROVEMENT: "The latest month is a special cause of improvement on the "
                               "process chart",
    stats.SPECIAL_CONCERN: "The latest month is a special cause of concern on the process chart",
    stats.SPECIAL_NEUTRAL: "The latest month is a special cause on the process chart",
}
ASSURANCE_SENTENCES = {
    stats.CONSISTENTLY_PASS: "the process limits show it will consistently pass",
    stats.CONSISTENTLY_FAIL: "the process limits show it will consistently fail unless the "
                             "process changes",
    stats.HIT_AND_MISS: "the target lies within the process limits, so it will be hit and "
                        "missed by chance",
}
# The section summary tables: short words that survive greyscale printing.
SIGNIFICANCE_CELLS = {True: "yes", False: "no", None: "–"}
VARIATION_CELLS = {
    stats.COMMON_CAUSE: "common cause", stats.SPECIAL_IMPROVEMENT: "special: improvement",
    stats.SPECIAL_CONCERN: "special: concern", stats.SPECIAL_NEUTRAL: "special: neither",
}
ASSURANCE_CELLS = {stats.CONSISTENTLY_PASS: "consistently passes",
                   stats.CONSISTENTLY_FAIL: "consistently fails",
                   stats.HIT_AND_MISS: "hit and miss"}


def significance_clause(verdict: Verdict | None) -> str:
    """', within normal variation (not statistically significant)' or ', a statistically
    significant change' after the change; nothing when no test applies."""
    significant = verdict.significance.significant if verdict and verdict.significance else None
    if significant is None:
        return ""
    return f", {SIGNIFICANT if significant else NOT_SIGNIFICANT}"


def status_sentence(result: KpiResult, verdict: Verdict | None, variant: int = 0) -> str:
    """'This is a deterioration.', or for a change that may be noise 'By direction alone this
    is a deterioration.': the status keeps the report's convention, the words its weight."""
    significant = verdict.significance.significant if verdict and verdict.significance else None
    if significant is False and result.status in DIRECTION_ONLY:
        return DIRECTION_ONLY[result.status]
    words = STATUS_VARIANTS.get(result.status)
    return words[variant % len(words)] if words else STATUS_SENTENCES[result.status]


def variation_sentence(result: KpiResult, verdict: Verdict | None) -> str:
    """A sentence when the process chart's latest month is a special cause (with the rule,
    trial limits named), and why it runs against the status when it does; otherwise none."""
    from kpi import verdicts

    variation = verdict.variation if verdict else None
    if variation is None or variation.verdict == stats.COMMON_CAUSE:
        return ""
    text = (f"{VARIATION_SENTENCES[variation.verdict]} "
            f"({stats.RULE_WORDS[variation.rule]}"
            + (", against trial limits" if variation.trial else "") + ")")
    if verdicts.conflict(result, verdict):
        text += (", against the direction of the 12-month change: the most recent months "
                 "do not follow it")
    return text + "."


def target_sentence(result: KpiResult, verdict: Verdict | None) -> str:
    """'Against the target of 90.0% the figure passes, and the process limits show it will
    consistently pass.'"""
    if verdict is None or verdict.target is None:
        return ""
    kpi = result.kpi
    text = f"Against the target of {value_words(verdict.target, kpi.unit)}"
    if verdict.target_met is not None:
        text += f" the figure {'passes' if verdict.target_met else 'fails'}"
    if verdict.assurance is not None:
        text += ("," if verdict.target_met is not None else "") + \
            f" and {ASSURANCE_SENTENCES[verdict.assurance]}"
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
                  variant: int = 0) -> Inlines:
    """The sentences of one KPI's paragraph (without breakdowns or figure references)."""
    kpi = result.kpi
    if result.status == Outcome.IN_DEVELOPMENT:
        text = inlines(f"This KPI is in development: it is defined in {plan or 'the catalogue'}, "
                       "but there is no data for it yet.")
        if kpi.description:
            text = inlines(text, " ", _sentence(Name(kpi.description)))
        return text
    note = Name(result.note or "no data")
    if result.current is None or result.current.value is None:
        return _sentence(inlines("No figure can be reported: ", note))
    opening = current_clause(result)
    if result.change is None or result.comparison is None:
        return _sentence(inlines(opening, "; no comparison can be made: ", note))
    before = value_words(result.comparison.value, kpi.unit)
    base = "the baseline of " if comparison == Comparison.BASELINE else ""
    text = inlines(opening, f", {change_words(result)} from {base}{before} "
                            f"{_in(result.comparison.window)}{significance_clause(verdict)}.")
    for sentence in (status_sentence(result, verdict, variant),
                     variation_sentence(result, verdict),
                     target_sentence(result, verdict)):
        if sentence:
            text = inlines(text, " " + sentence)
    if result.current.window.end.index < period_end_index:
        text = inlines(text, " This is the latest period the data covers.")
    return text


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


class _Builder:
    def __init__(self, project: Project, report: Report, charts: Sequence[ChartSpec],
                 files_dir: str, as_of: AsOf | None, config: PaperConfig,
                 commentary: Commentary, revised: Revisions | None,
                 loaded: dict[str, dt.datetime], verdicts: dict[str, Verdict]):
        self.config = config
        self.commentary = commentary
        self.revised = revised
        self.loaded = loaded
        self.project = project
        self.report = report
        self.results = {r.kpi.id: r for r in report.results}
        self.verdicts = verdicts
        self.said: dict[Outcome, int] = {}  # status sentences said so far in the section
        self.charts = [*charts, *_process_charts(report, charts, verdicts),
                       *_peer_charts(project, report)]
        self.peers: dict[str, ChartData | None] = {}  # KPI id -> its peers figure data, once
        self.peer_results: dict = {}  # KPI id -> compare.peer_result, once
        self.files_dir = files_dir.rstrip("/")
        self.as_of = as_of
        self.figures: list[PlannedFigure] = []
        self.tables = 0
        self.breakdowns: dict[engine.BreakdownKey, pl.DataFrame] = {}
        self.series: dict[engine.SeriesKey, pl.DataFrame] = {}

    # -- whole document ----------------------------------------------------------------------

    def build(self, priority: str | None, as_of_text: str | None) -> Paper:
        priorities = [p for p in self.project.priorities if priority in (None, p.id)]
        wanted = {p.id for p in priorities}
        self.breakdowns = engine.breakdowns(self.project, self._breakdown_requests(wanted),
                                            self.as_of)
        self.series = engine.monthly_series_all(self.project, self._series_requests(wanted),
                                                self.as_of)
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
                # The place for it stays in the paper (an empty one prints only in Word).
                last = sections[-1]
                sections[-1] = Section(last.label, last.title,
                                       last.blocks + (Slot(f"paper.{key}", title),))
        author = self._author_block()
        if author:
            last = sections[-1]
            sections[-1] = Section(last.label, last.title, last.blocks + author)
        sections += self._appendices(priorities)
        title, subtitle, facts = self._title(priority, as_of_text)
        issued = notes.issued
        document = Document(title=title, subtitle=subtitle, facts=facts,
                            sections=tuple(sections), author=notes.author, issued=issued,
                            marking=self.project.marking, period=str(self.report.period))
        return Paper(document=document, figures=tuple(self.figures),
                     breakdowns=self.breakdowns, series=self.series, peers=self.peers)

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
            scope = inlines("the priority ", Name(self.project.priority(priority).title))
        notes = self.commentary
        facts = []
        if notes.board:
            facts.append(inlines("Board: ", Name(notes.board)))
        if notes.date:
            facts.append(inlines("Date: ", Name(notes.date)))
        if notes.author:
            facts.append(inlines("Presented by: ", Name(notes.author)))
        facts += [
            inlines(f"Reporting period: {report.period.name} ({report.period})"),
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
        words = COMPARISON_WORDS[self.report.comparison]
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
            return inlines(f"as loaded on {_day(days[0])}")
        return inlines(f"as loaded between {_day(days[0])} and {_day(days[-1])}")

    def _introduction(self, priority: str | None) -> Section:
        project, report = self.project, self.report
        period = report.period
        count = len(project.priorities) if priority is None else 1
        plan = self.config.plan
        against = f"the KPIs of {plan}" if plan else "its KPIs"
        span = (f"the financial year to date ending {period.name}"
                if report.comparison == Comparison.FYTD else f"the year ending {period.name}")
        kind = "plan " if plan else ""
        paras = [
            f"This paper reports performance against {against} for {span}, across {count} "
            f"{kind}{'priority' if count == 1 else 'priorities'}. Each numbered paragraph "
            "reports one KPI; every figure in it is computed from the stored data.",
            _conventions(project, report.comparison, period.name),
            "Where a source lags, a KPI reports the latest complete window its data covers "
            "and names that window; a window with missing months is never reported as if "
            "complete. Percentages are shown to one decimal place, changes in rates in "
            f"percentage points, and changes on a base below {SMALL_BASE} as numbers rather "
            "than percentages.",
            "Improving, deteriorating and stable follow each KPI's declared better direction "
            "and stable band, a policy choice rather than a statistical test. Data is largely "
            "drawn from live systems and may change as records are updated.",
        ]
        if self.verdicts:
            paras.append(READING_VERDICTS)
        texts = [inlines(t) for t in paras]
        if not plan:
            texts[1] = inlines(texts[1][0].replace("the plan baseline", "the baseline"))
        blocks: list = [Paragraph(text, number=f"1.{n}") for n, text in enumerate(texts, start=1)]
        blocks.append(_slot("paper.introduction", "Introduction", self.commentary.introduction,
                            1, len(texts)))
        return Section("1.", inlines("Introduction"), tuple(blocks))

    # -- sections ----------------------------------------------------------------------------

    def _section(self, number: int, priority_id: str, title: str) -> Section:
        results = [r for r in self.report.results
                   if r.kpi.priority == priority_id and not r.kpi.hidden]
        blocks: list = []
        self.said = {}
        paragraph = 1
        blocks.append(Paragraph(_section_intro(title, results), number=f"{number}.{paragraph}"))
        if self.verdicts and results:
            blocks.append(self._summary_table(title, results))
        texts = self.commentary.sections.get(priority_id, ())
        blocks.append(_slot(f"sections.{priority_id}", title, texts, number, paragraph))
        paragraph += len(texts)
        for group in _groups(results):
            paragraph += 1
            label = f"{number}.{paragraph}"
            if group[0].kpi.table:
                blocks += self._table(label, group)
            else:
                blocks.append(self._paragraph(label, group[0]))
            for result in group:
                texts = self.commentary.kpis.get(result.kpi.id, ())
                blocks.append(_slot(f"kpis.{result.kpi.id}", result.kpi.title, texts, number,
                                    paragraph))
                paragraph += len(texts)
            for result in group:
                blocks += self._figures_after(result.kpi.id)
        # A figure anchored on a hidden KPI (drawn, never given a paragraph) ends the section.
        for result in self.report.results:
            if result.kpi.hidden and result.kpi.priority == priority_id:
                blocks += self._figures_after(result.kpi.id)
        return Section(f"{number}.", inlines(Name(title)), tuple(blocks))

    def _summary_table(self, title: str, results: list[KpiResult]) -> Table:
        """The section's verdicts at a glance, in the Making Data Count manner: words, not
        colours, so it reads in greyscale."""
        shared = render.shared_code(results, "current")
        head = f"Current ({shared})" if shared else "Current"
        columns = (Column("KPI"), Column(head, Align.RIGHT), Column("Change", Align.RIGHT),
                   Column("Significant"), Column("Variation"), Column("Assurance"))
        rows = []
        for r in results:
            verdict = self.verdicts.get(r.kpi.id)
            if r.current is None or r.current.value is None:
                current = inlines(STATUS_WORDS[r.status])
            else:
                current = _table_value(r.current, r.kpi, r.current.window.code != shared)
            rows.append((inlines(Name(r.kpi.title)), current,
                         inlines(Name(change_text(r.change, r.kpi.unit)) if r.change else "n/a"),
                         *(inlines(c) for c in verdict_cells(verdict))))
        return Table(columns, tuple(rows), caption=inlines("Summary – ", Name(title)))

    def _paragraph(self, label: str, result: KpiResult) -> Paragraph:
        kpi = result.kpi
        # Each status sentence in a section takes the next wording, in paper order.
        variant = self.said.get(result.status, 0)
        self.said[result.status] = variant + 1
        text = kpi_sentences(result, self.report.comparison, self.report.period.index,
                             self.verdicts.get(kpi.id), self.config.plan, variant)
        extra = self._breakdown_sentences(result)
        if kpi.peers:
            from kpi.compare import peer_sentence

            extra += [inlines(Name(t)) for t in [peer_sentence(
                self.project, kpi, self.report.period, self.report.comparison, self.as_of,
                compared=self._peer_result(kpi))] if t]
        refs = self._figure_numbers(kpi.id)
        if refs:
            extra.append(inlines(f"See {_figure_list(refs)}."))
        body = inlines(text, [inlines(" ", e) for e in extra])
        return Paragraph(inlines(Strong(_sentence(Name(kpi.title))), " ", body), number=label)

    def _table(self, label: str, group: list[KpiResult]) -> list:
        self.tables += 1
        name = Name(group[0].kpi.table)
        current = _shared_window(r.current for r in group)
        compare = _shared_window(r.comparison for r in group)
        when = f" {_in(current)}" if current else ""
        against = f", against {_in(compare)[3:]}" if compare else ""
        text = inlines(f"Table {self.tables} sets out ", name,
                       f"{when}{against}: for each KPI the comparison value, the current value "
                       "and the change.")
        changed = [r for r in group if r.change is not None]
        if changed:
            largest = max(changed, key=lambda r: (_change_size(r), -group.index(r)))
            if _change_size(largest) > 0:
                text = inlines(text, " The largest change was for ", Name(largest.kpi.title),
                               f": {change_words(largest)}.")
        refs = [n for r in group for n in self._figure_numbers(r.kpi.id)]
        if refs:
            text = inlines(text, f" See {_figure_list(refs)}.")
        comparison_head = "Baseline" if self.report.comparison == Comparison.BASELINE \
            else "Comparison"
        head_cmp = f"{comparison_head} ({compare.label})" if compare else comparison_head
        head_cur = f"Current ({current.label})" if current else "Current"
        columns = (Column("KPI"), Column(head_cmp, Align.RIGHT), Column(head_cur, Align.RIGHT),
                   Column("Change", Align.RIGHT), Column("Status"))
        rows = []
        for r in group:
            rows.append((
                inlines(Name(r.kpi.title)),
                _table_value(r.comparison, r.kpi, compare is None),
                _table_value(r.current, r.kpi, current is None),
                inlines(Name(change_text(r.change, r.kpi.unit)) if r.change else "n/a"),
                inlines(STATUS_WORDS[r.status]),
            ))
        caption = inlines(f"Table {self.tables} – ", name, f", {self.report.period.name}")
        return [Paragraph(text, number=label),
                Table(columns, tuple(rows), number=self.tables, caption=caption)]

    def _series_requests(self, priorities: set[str]) -> list[engine.SeriesRequest]:
        """The monthly series of the paper's trend figures, asked of the engine at once."""
        from kpi.charts import ChartType

        requests = []
        for spec in self.charts:
            anchor = self.project.kpi(spec.anchor)
            measured = [self.results.get(k) for k in spec.kpis]
            if (spec.type != ChartType.TREND or anchor is None
                    or anchor.priority not in priorities
                    or any(r is None or r.current is None for r in measured)):
                continue
            end = max(r.current.window.end for r in measured)
            requests += [(r.kpi, end, spec.months) for r in measured]
        return requests

    # -- breakdowns --------------------------------------------------------------------------

    def _breakdown_requests(self, priorities: set[str]) -> list[engine.BreakdownRequest]:
        """Every breakdown the paper's paragraphs and its compare and top figures show, asked
        of the engine at once (one query per dataset and column, not one per KPI)."""
        from kpi.charts import ChartType

        requests = []
        for result in self.report.results:
            kpi = result.kpi
            if (kpi.hidden or kpi.priority not in priorities or not kpi.breakdowns
                    or result.current is None or kpi.is_derived):
                continue
            comparison = result.comparison.window if result.comparison else None
            requests += [(kpi, column, result.current.window, comparison)
                         for column in kpi.breakdowns]
        for spec in self.charts:
            anchor = self.project.kpi(spec.anchor)
            result = self.results.get(spec.kpis[0])
            if (spec.type not in (ChartType.COMPARE, ChartType.TOP) or anchor is None
                    or anchor.priority not in priorities or result is None
                    or result.current is None or result.kpi.is_derived):
                continue
            comparison = result.comparison.window if result.comparison else None
            if spec.type == ChartType.TOP:
                comparison = None
            requests.append((result.kpi, spec.by, result.current.window, comparison))
        return requests

    def _breakdown_sentences(self, result: KpiResult) -> list[Inlines]:
        kpi = result.kpi
        if not kpi.breakdowns or result.current is None or kpi.is_derived:
            return []
        comparison = result.comparison.window if result.comparison else None
        out = []
        for column in kpi.breakdowns:
            key = (kpi.id, column, result.current.window, comparison)
            frame = self.breakdowns.get(key)
            if frame is None:
                frame = engine.breakdowns(self.project, [(kpi, column, result.current.window,
                                                          comparison)], self.as_of)[key]
            # Parts the KPI's rows never reach (0 in both windows) are not part of its story.
            rows = [r for r in frame.iter_rows(named=True)
                    if r["current"] is not None and (r["current"] or r["comparison"])]
            if not rows:
                continue
            spec = self.project.datasets[kpi.dataset].column(column)
            label = column_title(column)
            label = Name(spec.label if spec is not None and spec.label
                         else label if len(label) <= 3 else label.lower())
            if len(rows) == 1:
                out.append(_only_part(kpi, label, rows[0]))
            elif len(rows) <= RANK_LIMIT and comparison is not None:
                out.append(_ranking(kpi, label, rows))
            else:
                items = []
                for r in rows[:TOP_PARTS]:
                    if r["current"]:
                        items.append(inlines(", " if items else "", _part(r["part"]),
                                             f" ({value_words(r['current'], kpi.unit)})"))
                out.append(inlines("By ", label, f", the highest figures "
                                   f"{_in(result.current.window)} were ", items, "."))
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

    def _drawable(self, spec: ChartSpec) -> bool:
        from kpi.charts import ChartType

        if spec.type == ChartType.PEERS:
            return self._peer_data(spec) is not None
        if spec.type == ChartType.XMR:
            verdict = self.verdicts.get(spec.kpis[0])
            return verdict is not None and verdict.chart is not None \
                and verdict.chart.mean is not None
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
            alt = _alt_text(figure.spec) if data is None else _peer_alt_text(data)
            out.append(Figure(number, figure.link, caption, alt=alt))
        return out

    def _peer_data(self, spec: ChartSpec):
        """A peers figure's chart data (the numbers it draws), or None when the data does not
        hold the whole group; computed once per KPI."""
        from kpi.charts import ChartType, peer_chart_data

        if spec.type != ChartType.PEERS:
            return None
        kpi_id = spec.kpis[0]
        if kpi_id not in self.peers:
            kpi = self.project.kpi(kpi_id)
            compared = self._peer_result(kpi)
            self.peers[kpi_id] = None if compared is None else peer_chart_data(
                spec, compared, self.project.peers[kpi.peers])
        return self.peers[kpi_id]

    def _peer_result(self, kpi: KpiDef):
        """The KPI's comparison across its peer group (compare.peer_result), computed once
        for its sentence and its figure."""
        from kpi.compare import peer_result

        if kpi.id not in self.peer_results:
            self.peer_results[kpi.id] = peer_result(self.project, kpi, self.report.period,
                                                    self.report.comparison, self.as_of)
        return self.peer_results[kpi.id]

    # -- appendix ----------------------------------------------------------------------------

    def _appendices(self, priorities) -> list[Section]:
        out: list[Section] = []

        def add(title: str, blocks) -> None:
            out.append(Section(f"Appendix {len(out) + 1}:", inlines(title), tuple(blocks),
                               appendix=True))

        for glossary in self.config.glossaries:
            add(glossary.title, [Table(tuple(Column(c) for c in glossary.columns),
                                       tuple(tuple(inlines(Name(v)) for v in row)
                                             for row in glossary.rows))])
        add("KPI definitions", [self._definitions(priorities)])
        add("Data sources", [self._sources()])
        if self.revised is not None:
            add("Figures revised since the last paper", self._revisions())
        return out

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
                         inlines(_day(when.date()) if when else "—")))
        return Table(columns, tuple(rows))

    def _revisions(self) -> list:
        revised = self.revised
        if not revised.items:
            return [Paragraph(inlines(f"No figure printed in the paper for {revised.period} "
                                      "has been revised since."))]
        intro = Paragraph(inlines(
            f"Figures printed in the paper for {revised.period} that the data now gives "
            "differently, for the same window: live systems revise records after a paper is "
            "written."))
        columns = (Column("KPI"), Column("Window"), Column("Last paper", Align.RIGHT),
                   Column("Now", Align.RIGHT))
        rows = tuple((inlines(Name(r.title)), inlines(Name(r.window)), inlines(Name(r.before)),
                      inlines(Name(r.after))) for r in revised.items)
        return [intro, Table(columns, rows)]


# ---------------------------------------------------------------------------------------------
# Helpers


READING_VERDICTS = (
    "Beside each status, a test says whether the change from the comparison is statistically "
    "significant at the 5% level, and a process chart of the monthly figures says whether the "
    "latest month shows only common-cause variation (noise) or a special cause of improvement "
    "or concern; where a KPI has a target, assurance says whether the process as it runs will "
    "consistently pass, consistently fail, or hit and miss it. Each section opens with a "
    "summary table of these verdicts, in words so that it reads when printed in greyscale. "
    "The process charts plot each month as a grey point, the mean as a solid line, the "
    "process limits as dashed lines and any target as a dotted line, and mark special-cause "
    "months with a black square (improvement), a black triangle (concern) or a diamond "
    "(neither).")


def verdict_cells(verdict: Verdict | None) -> list[str]:
    """The Significant, Variation and Assurance cells of a summary table."""
    if verdict is None:
        return ["–", "–", "–"]
    significant = verdict.significance.significant if verdict.significance else None
    variation = verdict.variation
    cells = [SIGNIFICANCE_CELLS[significant],
             "–" if variation is None else VARIATION_CELLS[variation.verdict]
             + (" (trial)" if variation.trial else ""),
             ASSURANCE_CELLS.get(verdict.assurance, "–")]
    return cells


def _process_charts(report: Report, declared: Sequence[ChartSpec],
                    verdicts: dict[str, Verdict]) -> list[ChartSpec]:
    """A process chart (XmR) for every visible KPI whose latest month is a special cause or
    which has a target, unless [[charts]] already declares one for it."""
    from kpi.charts import ChartSpec, ChartType

    drawn = {s.kpis[0] for s in declared if s.type == ChartType.XMR}
    out = []
    for result in report.results:
        verdict = verdicts.get(result.kpi.id)
        kpi = result.kpi
        if kpi.hidden or kpi.id in drawn or verdict is None or verdict.variation is None:
            continue
        special = verdict.variation.verdict != stats.COMMON_CAUSE
        if special or verdict.target is not None:
            out.append(ChartSpec(id=f"xmr_{kpi.id}", type=ChartType.XMR,
                                 title=f"{kpi.title}: process chart", kpis=(kpi.id,)))
    return out


def _peer_charts(project: Project, report: Report) -> list[ChartSpec]:
    """A peers figure for every visible KPI that declares a peer group (drawn only when the
    data holds every member: see _Builder._peer_data)."""
    from kpi.charts import ChartSpec, ChartType

    out = []
    for result in report.results:
        kpi = result.kpi
        group = project.peers.get(kpi.peers) if kpi.peers else None
        if kpi.hidden or group is None:
            continue
        out.append(ChartSpec(id=f"peers_{kpi.id}", type=ChartType.PEERS,
                             title=f"{kpi.title} compared with peers", kpis=(kpi.id,),
                             by=group.column))
    return out


def _peer_alt_text(data: ChartData) -> str:
    """The peers figure's bars, in words: every value, which part is the focus, the mean."""
    from kpi.charts import peer_axis_label

    def text(value: float) -> str:
        return f"{value:,.2f}" if data.per_1000 else render.number(value, data.kpis[0].unit)

    what = peer_axis_label(data).replace("\n", " ")
    bars = "; ".join(f"{part}{' (focus)' if focus else ''} {text(value)}"
                     for part, value, focus in data.parts.iter_rows())
    mean = f"; group mean {text(data.peer_mean)}" if data.peer_mean is not None else ""
    return (f"Horizontal bar chart of {what} for each member of the {data.group_title} peer "
            f"group, {data.current_label}, largest first: {bars}{mean}.")


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


def _day(day) -> str:
    return f"{day.day} {day.strftime('%B')} {day.year}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _only_part(kpi: KpiDef, label: Name, row: dict) -> Inlines:
    """A breakdown with one part is not a ranking: it says where all of it is."""
    return inlines("By ", label, ", all of it is ", _part(row["part"]), ".")


def _alt_text(spec: ChartSpec) -> str:
    """What a figure shows, for a reader who cannot see it."""
    from kpi.charts import ChartType

    shapes = {ChartType.TREND: "Line chart of the monthly values and the 12-month line",
              ChartType.COMPARE: "Bar chart comparing the current and comparison windows",
              ChartType.TOP: "Bar chart of the largest parts",
              ChartType.PEERS: "Bar chart of the peer group's current values",
              ChartType.XMR: "Process chart (XmR) of the monthly values with their mean, "
                             "process limits and any target, special causes marked"}
    by = ""
    if spec.by:
        name = column_title(spec.by)
        by = f" by {name if len(name) <= 3 else name.lower()}"
    return f"{shapes[spec.type]}{by}: {spec.title}."


def _conventions(project: Project, comparison: Comparison, period_name: str) -> str:
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
    return text + f"Each KPI is compared with {COMPARISON_WORDS[comparison]}."


def _as_at(text: str) -> Inlines:
    """The --as-of point as the title block names it."""
    text = text.strip()
    if text.isdigit():
        return inlines(f"data as at table version {text}")
    return inlines("data as at ", Name(text))


def _section_intro(title: str, results: list[KpiResult]) -> Inlines:
    if not results:
        return inlines("No KPIs are reported under the priority ", Name(title), ".")
    counts = [f"{sum(r.status == s for r in results)} {words}"
              for s, words in STATUS_COUNT_WORDS if any(r.status == s for r in results)]
    listed = counts[0] if len(counts) == 1 else ", ".join(counts[:-1]) + " and " + counts[-1]
    noun = "KPI" if len(results) == 1 else "KPIs"
    return inlines(f"This section reports {len(results)} {noun} under the priority ",
                   Name(title), f": {listed}.")


def _groups(results: list[KpiResult]) -> list[list[KpiResult]]:
    """Consecutive KPIs that name the same table form one group; every other KPI its own."""
    groups: list[list[KpiResult]] = []
    for result in results:
        table = result.kpi.table
        if table and groups and groups[-1][0].kpi.table == table:
            groups[-1].append(result)
        else:
            groups.append([result])
    return groups


def _shared_window(measured: Iterable) -> Window | None:
    windows = {m.window for m in measured if m is not None}
    return windows.pop() if len(windows) == 1 else None


def _table_value(measured, kpi: KpiDef, show_window: bool) -> Inlines:
    if measured is None:
        return inlines("n/a")
    text = Name(render.number(measured.value, kpi.unit))
    return inlines(text, f" ({measured.window.code})" if show_window else None)


def _change_size(result: KpiResult) -> float:
    change = result.change
    size = next((v for v in (change.points, change.percent, change.absolute) if v is not None),
                0.0)
    return round(abs(size), 1)


def _figure_list(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"Figure {numbers[0]}"
    return "Figures " + ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"


def _part(value) -> Inlines:
    return inlines("not recorded" if value is None else Name(str(value)))


def _ranking(kpi: KpiDef, label: Name, rows: list[dict]) -> Inlines:
    """'By LPA, ranked by percentage change from lowest to highest: Wolverhampton (-14.6%),
    Coventry (-13.3%) ...': the best change first by the KPI's direction."""
    if kpi.unit == Unit.PERCENT:
        key, measure, fmt = "points", "change in percentage points", "{:.1f}pp"
    elif kpi.unit == Unit.RATIO:
        key, measure, fmt = "absolute", "change", "{:.1f}"
    else:
        key, measure, fmt = "percent", "percentage change", "{:.1f}%"
    known = [r for r in rows if r[key] is not None]
    unknown = [r for r in rows if r[key] is None]
    # A percentage on a small base says little (+200.0% on a base of 1): those parts are
    # listed after the ranking with their change as a number.
    small = []
    if key == "percent" and kpi.unit == Unit.COUNT:
        small = [r for r in rows if r["comparison"] is not None
                 and abs(r["comparison"]) < SMALL_BASE and r["absolute"] is not None]
        known = [r for r in known if r not in small]
        unknown = [r for r in unknown if r not in small]
    sign = -1 if kpi.better == Better.HIGHER else 1
    known.sort(key=lambda r: (sign * round(r[key], 1), str(r["part"])))
    unknown.sort(key=lambda r: str(r["part"]))
    items = [inlines(_part(r["part"]), f" ({signed(r[key], fmt.format(r[key]))})")
             for r in known]
    items += [inlines(_part(r["part"]), " (n/a)") for r in unknown]
    order = "highest to lowest" if kpi.better == Better.HIGHER else "lowest to highest"
    listed = [inlines(", " if n else "", item) for n, item in enumerate(items)]
    text = inlines("By ", label, f", ranked by {measure} from {order}: ", listed)
    if not items:
        text = inlines("By ", label)
    if small:
        small.sort(key=lambda r: (sign * r["absolute"], str(r["part"])))
        tiny = [inlines(", " if n else "", _part(r["part"]),
                        f" ({'-' if r['absolute'] < 0 else '+' if r['absolute'] > 0 else ''}"
                        f"{value_words(abs(r['absolute']), kpi.unit)})")
                for n, r in enumerate(small)]
        text = inlines(text, "; " if items else ", ",
                       f"on a base below {SMALL_BASE}, as numbers: ", tiny)
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
