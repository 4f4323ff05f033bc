"""kpi show: one KPI in depth, for a quick look before a meeting.

The definition, the current and comparison windows with the change, a 24-month monthly trend and
each breakdown the catalogue declares, ranked, with each part's change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

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
    examples,
    handled,
    note,
    open_project,
)
from kpi.periods import TREND_MAX_MONTHS, Comparison
from kpi.render import Format
from kpi.rounding import Beside

if TYPE_CHECKING:
    from kpi.catalogue import KpiDef, Project
    from kpi.engine import KpiResult
    from kpi.render import Document, Section
    from kpi.stats import Significance, Xmr
    from kpi.verdicts import Series, Verdict

TREND_MONTHS = 24
# In place of the chart of a KPI without a current window (an incomplete year).
NO_WINDOW_NOTE = ("no process chart: the current window has no figure (see the note), so no "
                  "month is judged, as in kpi summary")


@app.command()
@examples(
    "kpi show knife_crime --period 2025-09",
    "kpi show asb_incidents --period 2025-09 --seasonal",
    "kpi show knife_crime --period 2025-09 --as-of 3 --format json",
)
@handled
def show(
    kpi_id: Annotated[str, typer.Argument(metavar="KPI_ID", autocompletion=complete_kpis,
                                          help="The KPI's id (see 'kpi catalogue').")],
    period: PeriodOpt,
    vs: VsOpt = Comparison.BASELINE,
    months: Annotated[int, typer.Option("--months", min=2, max=TREND_MAX_MONTHS,
                                        help="Months the trend shows; the process chart "
                                             "and its verdict are the summary's "
                                             "whatever the number.")] = TREND_MONTHS,
    format: FormatOpt = Format.TABLE,
    output: OutputOpt = None,
    as_of: AsOfOpt = None,
    seasonal: Annotated[bool, typer.Option(
        "--seasonal", help="Add each of the last 12 months against the same month a year "
                           "earlier (for seasonal KPIs, whose process chart shows the "
                           "season).")] = False,
) -> None:
    """One KPI: its definition, windows, change, monthly trend, signal and breakdowns.

    An unknown KPI_ID is a usage error (exit 2) naming the closest ids. A KPI with no data
    on or before the period is a data error (exit 3), as a period no KPI has data for is to
    kpi summary; a window with a gap is shown, its trend ending where the data does.
    """
    from kpi import render
    from kpi.periods import Month
    from kpi.store import AsOf

    # Parsed before the project is opened, so a mistyped option fails before any work.
    month, cutoff = Month.typed(period), AsOf.parse(as_of) if as_of else None
    check_format_output(format, output)
    project = open_project(output)
    got = project.detail(kpi_id, month, vs, months=months, as_of=cutoff, seasonal=seasonal)
    for column in got.per_1000_ranked:
        # Ranked on the figures it prints, where `kpi compare` ranks the same parts per 1,000
        # people (its own answer: not where a part has no population, and it ranks them on
        # the values as this does): said, so the two ranks of one part are not read as one.
        note(f"Note: by {column}, the parts are ranked on their figures; kpi compare ranks "
             f"them per 1,000 population ([population_by] {column}), so a part's rank there "
             "may differ")
    for column, (parts, why) in got.unranked.items():
        # Listed with their figures, never ranked beside parts holding the whole window.
        note(f"Note: by {column}, {', '.join(parts)} listed but not ranked, as kpi compare "
             f"leaves {'them' if len(parts) > 1 else 'it'} out" + (f": {why}" if why else ""))
    kpi = got.result.kpi
    rolls = None
    if kpi.dataset is not None and project.definition.datasets[kpi.dataset].as_at == "last":
        from kpi.engine import rolls_held

        # The months of its windows holding several dates, each read at its last.
        shown = {str(m) for measured in (got.result.current, got.result.comparison)
                 if measured is not None for m in measured.window.months()}
        rolls = [h for h in rolls_held(project.definition, kpi.dataset, cutoff)
                 if h["month"] in shown]
    document = show_document(project.definition, got.result, month, vs, got.trend,
                             got.breakdowns, got.verdict, got.same_months, rolls)
    about = [("Project", project.name), ("KPI", f"{kpi.title} ({kpi.id})"),
             ("Unit", kpi.unit.value), ("Period", str(month)), ("Compared with", vs.value),
             ("Current window", got.result.current.window.label if got.result.current
              else None),
             ("Comparison window", got.result.comparison.window.label
              if got.result.comparison else None)]
    emit_document(document, format, output, about=about, unit=kpi.unit.value,
                  places=render.places(kpi), target=kpi.target,
                  unit_label=render.unit_name(kpi))


def _definition(project: Project, kpi: KpiDef,
                rolls: list[dict[str, Any]] | None = None) -> list[tuple[str, Any]]:
    from kpi import render
    from kpi.catalogue import PopulationSource

    priority = project.priority(kpi.priority)
    counted = kpi.description or _counted(kpi)
    rows: list[tuple[str, Any]] = [
        ("id", kpi.id), ("title", kpi.title),
        ("priority", priority.title if priority else kpi.priority),
        ("kind", kpi.kind.value), ("what is counted", counted or None),
        ("dataset", kpi.dataset or (f"{kpi.numerator_kpi} / {kpi.denominator_kpi}"
                                    if kpi.is_derived else "none yet")),
        ("filter", kpi.filter), ("value", kpi.value), ("numerator", kpi.numerator),
        ("denominator", kpi.denominator), ("unit", kpi.unit.value),
        ("better", kpi.better.value), ("baseline", kpi.baseline), ("lag (months)", kpi.lag or None),
        ("status", kpi.status.value), ("breakdowns", ", ".join(kpi.breakdowns) or None),
        ("notes", kpi.notes or None),
        # Which of a month's rows its dataset's figures read (`as_at`), and the months of
        # the windows whose rows fall on several dates, each read at its last.
        ("as_at", _as_at_words(project, kpi, rolls or [])),
        # Where the [population] figures a rate per 1,000 or a ratio of rates divides by come
        # from, as the paper says it (render.population_words).
        ("populations", render.population_words(PopulationSource(
            kpi.population_source, kpi.population_illustrative))
         if kpi.kind in render.DIVIDES_BY_POPULATION else None),
    ]
    # Keys that do not apply to this KPI are left out rather than shown empty.
    keep = {"id", "title", "priority", "kind", "dataset", "unit", "better", "status"}
    return [(key, value) for key, value in rows if value is not None or key in keep]


def _as_at_words(project: Project, kpi: KpiDef, rolls: list[dict[str, Any]]) -> str | None:
    """How the KPI's dataset declares which of a month's rows it reads, in words: "each
    month's last date (as_at = "last"): 2025-09 holds rolls at 4 dates, 2025-09-26 read";
    None where it declares nothing."""
    spec = project.datasets.get(kpi.dataset or "")
    if spec is None or spec.as_at is None:
        return None
    if spec.as_at == "month":
        return 'every row of the month (as_at = "month")'
    from kpi.engine import telling_apart

    parts = " of each part" if telling_apart(project, spec) else ""
    held = "; ".join(f"{h['month']} holds rolls at {h['dates']} dates, " + (
        "refused (its last date holds under half the rows of an earlier one)"
        if h["read"] == "thin" else "refused (a part missing from a later roll it shares)"
        if h["read"] == "untold" else f"{' and '.join(h['read_days'])} read") for h in rolls)
    return f'each month\'s last date{parts} (as_at = "last")' + (f": {held}" if held else "")


def _counted(kpi: KpiDef) -> str:
    """A plain-words reading of what a KPI measures, from its definition."""
    rows = f"rows of {kpi.dataset}" + (f" where {kpi.filter}" if kpi.filter else "")
    if kpi.dataset is None and not kpi.is_derived:
        return "not defined yet (in development)"
    if kpi.is_derived:
        return f"{kpi.numerator_kpi} as a % of {kpi.denominator_kpi}"
    match kpi.kind.value:
        case "count" | "snapshot" if not kpi.numerator:
            return rows if kpi.value is None else f"{kpi.value} summed over {rows}"
        case "rate" | "snapshot":
            whole = kpi.denominator or "all of them"
            return f"{kpi.numerator} as a % of {whole}, over {rows}"
        case "within":
            return f"% of {rows} with {kpi.value} at most {kpi.threshold:g}"
        case "mean" | "median":
            return f"{kpi.kind.value} of {kpi.value} over {rows}"
        case "percentile":
            return f"{kpi.percentile:g}th percentile of {kpi.value} over {rows}"
        case "per_1000":
            return f"{rows} per 1,000 of population '{kpi.population}'"
        case "weighted_score":
            return f"sum of {kpi.weights} weights by {kpi.weight_key} over {rows}"
        case "ratio_of_rates":
            group, reference = kpi.populations or ("?", "?")
            return (f"({kpi.numerator} / {group}) / ({kpi.denominator} / {reference}), "
                    f"over {rows}")
    return f"{kpi.kind.value} over {rows}"


def _change_columns(kpi: KpiDef) -> tuple[str, ...]:
    """The change a KPI's unit reports (SPEC: pp for rates, absolute for ratios)."""
    from kpi.catalogue import Unit

    if kpi.unit == Unit.PERCENT:
        return ("change_points",)
    if kpi.unit == Unit.RATIO:
        return ("change_absolute",)
    return ("change_absolute", "change_percent")


def _shown(kpi: KpiDef, digits: int | None = None) -> dict[str, Any]:
    """How each numeric column reads in a table: the KPI's unit, signed changes (to `digits`
    where given: beside two figures, render.change_digits)."""
    from kpi import render
    from kpi.catalogue import Unit

    def value(v: Any) -> str:
        return render.number(v, kpi)

    def absolute(v: Any) -> str:
        if v is None:
            return "n/a"
        text = render.without_unit(render.number(v, kpi, change=True, digits=digits), kpi)
        return render.signed(v, text.replace("%", ""))

    def count(v: Any) -> str:
        return "—" if v is None else render.number(v, Unit.COUNT)

    return {"value": value, "current": value, "comparison": value, "rolling_12": value,
            "change_absolute": absolute, "change_percent": render.percent_change,
            "change_points": lambda v: render.points_change(v, kpi, digits),
            "numerator": count, "denominator": count}


def _taken_names() -> frozenset[str]:
    """The column names a table's faces read as their own (`kpi.writers.xlsx`'s roles and
    pairs, a row's unit, a CSV file's section)."""
    from kpi.writers.xlsx import PAIRED, ROLES

    return frozenset({*ROLES, *PAIRED, "unit", "unit_label", "section"})


def show_document(project: Project, result: KpiResult, period: Any, vs: Comparison,
                  trend: Any, breakdowns: dict[str, Any], verdict: Verdict,
                  same_months: Series | None = None,
                  rolls: list[dict[str, Any]] | None = None) -> Document:
    """The result of `kpi show` as a render.Document: sections for every format (the trend
    drawn as a sparkline in a terminal) and the JSON document. `verdict` is the summary's
    (`Project.detail`), whatever months the trend shows."""
    from kpi import render
    from kpi.engine import no_change
    from kpi.render import Document, Section

    kpi = result.kpi
    shown = _shown(kpi)
    sections: list[Section] = [Section("Definition", ("field", "value"),
                                       _definition(project, kpi, rolls), headers=False)]
    windows = []
    for role, measured in (("current", result.current), ("comparison", result.comparison)):
        if measured is not None:
            windows.append((role, measured.window.label, measured.window.code, measured.value,
                            measured.numerator, measured.denominator))
    change = result.change
    change_cols = _change_columns(kpi)
    values = {"change_absolute": change.absolute if change else None,
              "change_percent": change.percent if change else None,
              "change_points": change.points if change else None}
    if windows:
        # The two windows' figures read apart where the change printed beside them reads as
        # one (render.number's `beside`, which says which of the two is the comparison).
        figures = [w[3] for w in windows]
        besides: list[Beside | None] = [None] * len(figures)
        if len(figures) == 2:
            besides = [Beside.comparison(figures[1]), Beside.current(figures[0])]
        # Two equal figures read no change either way round, so one key serves both.
        beside_of = dict(zip(figures, besides, strict=True))

        def window_value(v: Any) -> str:
            return render.number(v, kpi, beside=beside_of.get(v))

        sections.append(Section("Windows", ("window", "label", "code", "value", "numerator",
                                            "denominator"), windows,
                                shown={**shown, "value": window_value},
                                beside={"value": besides}))
    # Where there is no change, its cells are empty ("—", never "n/a") and `change_note` says
    # why, in the summary's words (engine.no_change); last, so the columns before keep their
    # places. "n/a" is left to a % change that has no base (a change from zero).
    why = no_change(result)
    # Beside the windows' two figures: to their places where they print apart while the
    # change reads as none at the KPI's (render.change_digits).
    at = render.change_digits(result)
    in_change = _shown(kpi, at) if why is None else {c: lambda v: "—" for c in change_cols}
    sections.append(Section("Change", (*change_cols, "status", "note", "change_note"),
                            [(*(values[c] for c in change_cols), result.status, result.note,
                              why)],
                            shown={**shown, **in_change,
                                   "status": lambda v: str(render.STATUS_WORDS.get(v, v))},
                            status_column="status",
                            places={c: at for c in change_cols if c != "change_percent"}))

    # What the figure adds together, where it adds several parts of a column the data is
    # loaded or compared by (three forces' rows): the summary's words (render.covers_lines).
    if covered := render.covers_lines([result]):
        sections.append(Section("Covers", ("note",), [(line,) for line in covered],
                                headers=False))
    if result.quality:
        sections.append(Section("Data quality", ("note",), [(n,) for n in result.quality],
                                headers=False))
    from kpi.engine import plain

    # A whole count as an integer, as the JSON gives it (27894, not 27894.0 in the CSV).
    trend_rows = [] if trend is None else [
        tuple(render.figure_json(plain(v), kpi) for v in r) for r in trend.iter_rows()]
    if trend_rows and _quarterly(project, kpi):
        # One row per quarter (engine.quarters_of), labelled with its months.
        from kpi.periods import Month

        trend_rows = [(f"{m}..{Month.parse(m) + 2}", v, r) for m, v, r in trend_rows]
        title = (f"Trend: {len(trend_rows)} quarters to {trend_rows[-1][0].split('..')[1]} "
                 "(quarterly values)")
    elif trend_rows:
        title = f"Trend: {len(trend_rows)} months to {trend_rows[-1][0]} (monthly values)"
    if trend_rows:
        # Each column to one number of places, each month apart from the month before where
        # they differ (render.column_places).
        digits = [render.column_places([row[i] for row in trend_rows], kpi) for i in (1, 2)]
        sections.append(Section(title, ("month", "value", "rolling_12"), trend_rows,
                                shown={**shown, **{column: _at(kpi, d) for column, d in
                                                   zip(("value", "rolling_12"), digits,
                                                       strict=True)}},
                                terminal=_sparkline_text(trend_rows, kpi),
                                places=dict(zip(("value", "rolling_12"), digits,
                                                strict=True))))
    signal_section, signal_json = _signal(result, verdict, [row[0] for row in trend_rows],
                                          _quarterly(project, kpi))
    sections.append(signal_section)
    seasonal_json = None
    if same_months is not None:
        section, seasonal_json = _same_months(kpi, same_months, shown,
                                              _quarterly(project, kpi))
        sections.append(section)
    breakdown_json = {}
    for column, frame in breakdowns.items():
        rows = []
        # Each part's rank is the one `kpi compare` gives it, and the parts are listed as it
        # lists them (compare.ranked_breakdown, by the library face: by the KPI's better
        # direction, equal figures sharing a rank, none with no better direction or no
        # figure). The rows with no value in the column are no part: listed last, unranked,
        # and never counted in a part's rank (they made the 5th of five LPAs read "6").
        from kpi.text import blank_name

        listed = [(named.pop("rank"), named) for named in frame.iter_rows(named=True)]
        for rank, named in listed:
            row = {key: plain(value) for key, value in named.items()}
            row.update({key: render.figure_json(row[key], kpi)
                        for key in ("current", "comparison", "absolute")})
            cells = {"change_absolute": row["absolute"], "change_percent": row["percent"],
                     "change_points": row["points"]}
            rows.append((rank, row["part"], row["current"], row["comparison"],
                         *(cells[c] for c in change_cols)))
        # Ranked by the current figure: both columns to one number of places, at which two
        # parts that differ never print alike and each part's two figures read apart where
        # its change reads as one (render.ranked_places).
        digits = render.ranked_places([r[2] for r in rows], kpi,
                                      [(r[2], r[3]) for r in rows])
        # The rows with no value in the column print as "—", or, beside a part printing so,
        # under a name no part prints as (kpi.text.blank_name).
        blank = blank_name(frame["part"].to_list(), "—")
        # The part's column is headed by its name, unless that is a name the table's other
        # columns, or a workbook's and a CSV file's, read as their own: a breakdown by `rank`
        # (an officer's) or `unit` (a team) overwrote the ranks, or made each part's name
        # its cells' unit ("75" for 75.0% where every sheet holds 0.75), exit 0.
        head = f"{column} (part)" if column in _taken_names() else column
        sections.append(Section(f"By {column}", ("rank", head, "current", "comparison",
                                                 *change_cols), rows,
                                shown={**shown, head: lambda part, blank=blank: (
                                           blank if part is None else str(part)),
                                       "current": _at(kpi, digits),
                                       "comparison": _at(kpi, digits)},
                                places={"current": digits, "comparison": digits},
                                **_stored_changes(kpi, change_cols, rows, 2, 3,
                                                  [named["places"] for _, named in listed])))
        # The JSON lists the parts as the table does, each with its rank.
        hidden = {"current_numerator", "current_denominator", "places"}
        breakdown_json[column] = [
            {**row, "current": render.figure_json(row["current"], kpi),
             "comparison": render.figure_json(row["comparison"], kpi),
             "absolute": render.figure_json(row["absolute"], kpi), "rank": rank}
            for rank, row in ((rank, {key: plain(value) for key, value in named.items()
                                      if key not in hidden}) for rank, named in listed)]

    data = {
        "project": project.name, "period": str(period), "comparison": vs.value,
        "kpi": {**render.result_json(result, _titles(project), verdict),
                "definition": dict(_definition(project, kpi, rolls))},
        # (trend_rows hold each figure as its JSON gives it: render.figure_json above)
        "trend": [{"month": m, "value": v, "rolling_12": r} for m, v, r in trend_rows],
        "breakdowns": breakdown_json,
        "signal": signal_json,
    }
    if seasonal_json is not None:
        data["same_months_a_year_earlier"] = seasonal_json
    heading = (f"{kpi.title} ({kpi.id}): period {period} against {vs.value}"
               f" — {render.STATUS_WORDS.get(result.status, result.status)}")
    return Document(heading, tuple(sections), data=data)


def _beside(kpi: KpiDef, of_comparison: bool) -> Any:
    """How a figure of a KPI reads beside the other of its pair in the same row: a current
    window's beside its comparison's (`of_comparison`), or a comparison's beside its current's
    (render.number's `beside`, which reads the change printed as from the comparison)."""
    from kpi import render

    def shown(v: Any, other: Any) -> str:
        return render.number(v, kpi, beside=Beside(other, of_comparison))

    return shown


def chart_figures(chart: Xmr) -> list[float | None]:
    """A process chart's figures printed together: its mean, limits and 2-sigma lines."""
    return [chart.mean, chart.lower_limit, chart.upper_limit, chart.lower_2sigma,
            chart.upper_2sigma]


def _at(kpi: KpiDef, digits: int) -> Any:
    """A KPI's figure printed to `digits` places, in its unit."""
    from kpi import render

    return lambda v: render.number(v, kpi, digits=digits)


def chart_months(chart: Xmr, trend: list[str] | None, quarterly: bool = False) -> str | None:
    """The months a process chart reads where the trend shows other months ("2023-07 to
    2025-06 (24 months, as kpi summary reads them); the trend shows the last 12 months of
    them"): the chart is the summary's whatever `--months` shows. None where the two are the
    same months, or the chart has none."""
    if not chart.points:
        return None
    first, last = chart.points[0].month, chart.points[-1].month
    # A quarter's row is labelled with its months ("2025-04..2025-06").
    start, end = ((trend[0].split("..")[0], trend[-1].split("..")[-1]) if trend
                  else (None, None))
    if (start, end) == (first, last):
        return None
    text = f"{first} to {last} ({len(chart.points)} months, as kpi summary reads them)"
    if not trend:
        return text
    rows = f"{len(trend)} {'quarters' if quarterly else 'months'}"
    shown = (f"the last {rows} of them" if end == last and start is not None and start > first
             else f"{rows}, {start} to {end}")
    return f"{text}; the trend shows {shown}"


def _signal(result: KpiResult, verdict: Verdict, trend: list[str] | None = None,
            quarterly: bool = False) -> tuple[Section, dict]:
    """The 'Signal' section and its JSON (docs/statistics.md): the window-vs-comparison test,
    the summary's XmR chart of the monthly values (its months named where the trend's
    `trend` differ), the variation and assurance verdicts, and one line on why the heading and
    the chart differ when they do."""
    from dataclasses import replace

    from kpi import render, stats, verdicts
    from kpi.catalogue import Status
    from kpi.render import Section

    kpi = result.kpi
    test = verdict.significance or stats.not_tested(result.note or "in development")
    chart = verdict.chart or stats.xmr([], [], kpi.better)
    if verdict.chart is None and kpi.cumulative:
        # Its months are there (the trend lists them): not "no monthly values", but no chart.
        chart = replace(chart, note=stats.CUMULATIVE_NOTE)
    elif verdict.chart is None and kpi.status == Status.LIVE and result.current is None:
        # The trend shows the months held; the summary judges none of them (verdicts.verdicts).
        chart = replace(chart, note=NO_WINDOW_NOTE)
    read = chart_months(chart, trend, quarterly)

    # Beside the target where the section prints it: each against it as it stands.
    digits = render.together(chart_figures(chart), kpi.unit, kpi)

    def value(v: float | None) -> str:
        # A process chart's mean and limits are statistics of the months: a count's mean
        # keeps its decimal ("27.7"), where the KPI's own figures are whole; printed together,
        # so two that differ never print alike ("0.46 to 0.54", never "0.5 to 0.5"), nor
        # one as the target printed beside them where it differs ("89.96%", never "90.0%").
        return render.statistic(v, kpi, digits)

    fired = _fired(chart.signals)
    latest = chart.signals[-1] if chart.signals else None
    screened = [m for seg in chart.segments for m in seg.screened]
    rows: list[tuple[str, Any]] = [
        ("test", stats.TEST_WORDS[test.test]),
        ("p value", stats.p_text(test.p_value)),
        ("significant (5%)", {True: "yes", False: "no", None: "n/a"}[test.significant]),
        ("test note", test.note),
    ]
    if chart.mean is None or chart.baseline is None:
        rows.append(("process chart", chart.note or "no monthly values"))
    else:
        latest_text = "none"
        if latest is not None:
            assert latest.rule is not None, "a signal names the rule that fired"
            latest_text = f"{latest.month}: {stats.RULE_WORDS[latest.rule]} ({latest.signal})"
        if read is not None:
            rows.append(("chart months", read))
        rows += [
            ("chart baseline", f"{chart.baseline[0]} to {chart.baseline[1]}"
                               + (" (trial limits)" if chart.trial else "")),
            ("mean", chart.mean),  # a figure: raw in CSV, as every figure is
            ("process limits", f"{value(chart.lower_limit)} to {value(chart.upper_limit)}"),
            ("2-sigma lines", f"{value(chart.lower_2sigma)} to {value(chart.upper_2sigma)}"),
        ]
        if len(chart.segments) > 1:
            rows.append(("recalculated", ", ".join(seg.start for seg in chart.segments[1:])))
        if screened:
            rows.append(("screened from m̄R", ", ".join(screened)))
        rows += [
            ("latest signal", latest_text),
            ("special causes", "; ".join(f"{span}: {stats.RULE_WORDS[rule]} ({signal})"
                                         for span, rule, signal in fired) or "none"),
            ("variation", render.variation_word(verdict)),
        ]
    if kpi.target is not None:
        met = {True: "met", False: "not met", None: "n/a"}[verdict.target_met]
        # As the target prints beside the current figure (render.number): as it is written,
        # with whose it is, as the paper prints it (render.target_source).
        rows += [("target", f"{render.number(kpi.target, kpi)}{render.target_source(kpi)}, "
                            f"{met} in the current window"),
                 ("assurance", render.assurance_word(verdict))]
    reading = verdicts.conflict(result, verdict)
    if reading:
        rows.append(("heading and chart", reading))
    data = {
        # null where no test applies, as the summary's `significance.test`; `note` says why.
        "test": None if test.test == stats.NOT_TESTED else test.test,
        "statistic": test.statistic, "p_value": test.p_value,
        "significant": test.significant, "note": test.note,
        "xmr": {
            "baseline": list(chart.baseline) if chart.mean is not None and chart.baseline
            else None,
            "months": [chart.points[0].month, chart.points[-1].month] if chart.points
            else None,
            "mean": chart.mean, "mean_moving_range": chart.mean_moving_range,
            "lower_limit": chart.lower_limit, "upper_limit": chart.upper_limit,
            "lower_2sigma": chart.lower_2sigma, "upper_2sigma": chart.upper_2sigma,
            "trial": chart.trial, "note": chart.note,
            "recalculated": [seg.start for seg in chart.segments[1:]],
            "screened": screened,
            "signals": [{"month": p.month, "value": render.figure_json(p.value, kpi),
                         "rule": p.rule, "signal": p.signal} for p in chart.signals],
        },
        "heading_and_chart": reading,
    }
    def cell(v: Any) -> str:  # the figures among the words, in the KPI's unit
        return "—" if v is None else value(v) if isinstance(v, float) else str(v)

    return Section("Signal", ("field", "value"), rows, shown={"value": cell}, headers=False,
                   workbook=_signal_sheet(rows, test, chart, kpi)), data


def _signal_sheet(rows: list[tuple[str, Any]], test: Significance, chart: Xmr,
                  kpi: KpiDef) -> Section:
    """The 'Signal' section as its workbook sheet holds it: each figure a number (the p value,
    the mean, each process limit and 2-sigma line, the target) in `value`, with its `unit` and
    the decimals the text prints it to (`_places`, which the sheet's number format takes),
    and `text` as `kpi show` prints the row; the rows of words keep their words in `text`."""
    import re

    from kpi import render, stats
    from kpi.render import Section
    from kpi.writers.xlsx import ROW_PLACES

    def places(shown: str) -> int:
        found = re.search(r"\.(\d+)", shown)
        return len(found.group(1)) if found else 0

    digits = render.together(chart_figures(chart), kpi.unit, kpi)

    def figure(field: str, v: float | None) -> tuple[Any, ...]:
        # A statistic of the months, printed in the KPI's unit as the text prints it.
        text = render.statistic(v, kpi, digits)
        return ((field, v, kpi.unit.value, text, places(text)) if v is not None
                else (field, None, None, text, None))

    limits = {"process limits": (("lower process limit", chart.lower_limit),
                                 ("upper process limit", chart.upper_limit)),
              "2-sigma lines": (("lower 2-sigma line", chart.lower_2sigma),
                                ("upper 2-sigma line", chart.upper_2sigma))}
    sheet: list[tuple[Any, ...]] = []
    for field, shown in rows:
        if field == "p value":
            sheet.append((field, test.p_value, None if test.p_value is None else "p",
                          stats.p_text(test.p_value), None))
        elif field == "mean":
            sheet.append(figure(field, chart.mean))
        elif field in limits:
            sheet += [figure(name, v) for name, v in limits[field]]
        elif field == "target" and kpi.target is not None:
            aim = render.number(kpi.target, kpi)  # as the text prints it: as written
            sheet.append((field, kpi.target, kpi.unit.value, shown, places(aim)))
        else:
            sheet.append((field, None, None, shown, None))
    return Section("Signal", ("field", "value", "unit", "text", ROW_PLACES), sheet)


def _same_months(kpi: KpiDef, series: Series, shown: dict[str, Any],
                 quarterly: bool = False) -> tuple[Section, list]:
    """Each of the last 12 months against the same month a year earlier: a seasonal KPI's
    honest month-by-month comparison (the season cancels out). Data of one row per quarter
    is compared quarter by quarter, each labelled with its months as the trend is: its value
    is the quarter's, stored in its first month, never one month's.

    A month whose figure is not final yet (the KPI's `provisional_months`, the months the
    chart and the test leave out: `stats.unsettled_months`) is marked `provisional`, in a
    column of its own where the KPI has such months and in every row of the JSON: listed
    unmarked, July to September's 12, 8 and 5 read as falls of 40% to 75% on a year
    earlier's 20, where the Signal section beside them leaves them out. A quarter is
    provisional where any of its months is."""
    from kpi import engine, render
    from kpi.periods import Month
    from kpi.render import Section
    from kpi.stats import unsettled_months

    rows, data = [], []
    stored: list[int | None] = []  # each row's change's places (Change.places)
    values = dict(zip(series.months, series.values, strict=True))
    unsettled = set(unsettled_months(series.months, kpi.provisional_months))
    marked = bool(kpi.provisional_months)
    for month in series.months[-12:]:
        if quarterly and Month.parse(month).month % 3 != 1:
            continue  # a quarter's row stands for its three months, stored in its first
        year, number = month.split("-")
        before = f"{int(year) - 1:04d}-{number}"
        now, then = values.get(month), values.get(before)
        label = f"{month}..{Month.parse(month) + 2}" if quarterly else month
        held = [str(Month.parse(month) + i) for i in range(3 if quarterly else 1)]
        provisional = any(m in unsettled for m in held)
        change = engine.change_between(kpi, now, then)
        cells = {"change_absolute": change.absolute if change else None,
                 "change_percent": change.percent if change else None,
                 "change_points": change.points if change else None}
        columns = _change_columns(kpi)
        rows.append((label, now, then, *(cells[c] for c in columns),
                     *((provisional,) if marked else ())))
        stored.append(change.places if change else None)
        data.append({"month": label, "value": render.figure_json(now, kpi),
                     "a_year_earlier": render.figure_json(then, kpi),
                     **{k: render.figure_json(v, kpi) if k == "change_absolute" else v
                        for k, v in cells.items()},
                     "provisional": provisional})
    section = Section(f"Same {'quarters' if quarterly else 'months'} a year earlier",
                      ("month", "value", "a_year_earlier", *_change_columns(kpi),
                       *(("provisional",) if marked else ())), rows,
                      shown={**shown, "a_year_earlier": shown["value"],
                             "provisional": lambda v: "yes" if v else "no"},
                      paired={"value": ("a_year_earlier", _beside(kpi, True)),
                              "a_year_earlier": ("value", _beside(kpi, False))},
                      **_stored_changes(kpi, _change_columns(kpi), rows, 1, 2, stored))
    return section, data


def _stored_changes(kpi: KpiDef, columns: tuple[str, ...], rows: list[tuple[Any, ...]],
                    current: int, comparison: int, places: list[int | None]
                    ) -> dict[str, Any]:
    """A section's `by_row` and `row_places` for the changes of its rows, each printed beside
    its row's two figures (at `current` and `comparison` in the row) to the places stored on
    it (`places`, each row's `Change.places`: those its status is judged at, as the summary
    and `kpi compare` print a change beside the same two figures), whatever places the
    figures' column takes; the % change to one decimal."""
    # Keyed by the row's two figures, which alone (with the KPI) give a change's places.
    stored = {(row[current], row[comparison]): at for row, at in zip(rows, places,
                                                                      strict=True)}

    def reader(column: str) -> Any:
        return lambda v, row: _shown(kpi, stored[(row[current], row[comparison])])[column](v)

    shown = [c for c in columns if c != "change_percent"]
    return {"by_row": {c: reader(c) for c in shown},
            "row_places": dict.fromkeys(shown, places)}


def _fired(points: tuple[Any, ...]) -> list[tuple[str, str, str]]:
    """Signals as (months, rule, class), consecutive months with the same rule and class
    joined into one span ('2024-03 to 2024-09')."""
    from kpi.periods import Month

    spans: list[list[Any]] = []
    for point in points:
        last = spans[-1] if spans else None
        if (last and (last[2], last[3]) == (point.rule, point.signal)
                and Month.parse(point.month) - 1 == Month.parse(last[1])):
            last[1] = point.month
        else:
            spans.append([point.month, point.month, point.rule, point.signal])
    return [(start if start == end else f"{start} to {end}", rule, signal)
            for start, end, rule, signal in spans]


def _quarterly(project: Project, kpi: KpiDef) -> bool:
    """Whether the KPI's data is one row per quarter (`catalogue.reads_quarters`)."""
    from kpi.catalogue import reads_quarters

    return reads_quarters(project, kpi)


def _titles(project: Project) -> dict[str, str]:
    return {p.id: p.title for p in project.priorities}


def _sparkline_text(rows: list[tuple[Any, ...]], kpi: KpiDef):
    """The trend drawn for a terminal: a sparkline of the monthly values, labelled with its
    first and last months, its minimum, maximum and latest value."""
    from rich.text import Text

    from kpi import render

    values = [row[1] for row in rows]
    known = [(v, m) for m, v, _ in rows if v is not None]
    text = Text(f"{rows[0][0]} ")
    text.append(render.sparkline(values), style="cyan")
    text.append(f" {rows[-1][0]}\n")
    if known:
        low = min(known, key=lambda item: item[0])
        high = max(known, key=lambda item: item[0])
        # As the column prints them, and the three apart where they differ.
        from kpi.rounding import places_together

        target, target_at = render.printed_target(kpi)
        digits = places_together([low[0], high[0], known[-1][0]],
                                 render.column_places(values, kpi), target=target,
                                 target_at=target_at)
        text.append(f"min {render.number(low[0], kpi, digits=digits)} ({low[1]})   "
                    f"max {render.number(high[0], kpi, digits=digits)} ({high[1]})   "
                    f"latest {render.number(known[-1][0], kpi, digits=digits)}")
    return text
