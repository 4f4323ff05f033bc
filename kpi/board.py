"""The board model: every figure the board paper prints or draws, computed in one place.

`build` evaluates the report (each KPI's windows and the monthly values of its verdict, one
read of each dataset), judges the verdicts, runs the checks that need no more data and
compares with the last paper's figures; `model` then plans the paper's figures and reads, at
once, what they and the paragraphs show beyond the report: the breakdowns (one grouped query
per dataset and column, over the rows the summary already grouped where it did, see
`engine._grouped`), the trend figures' series (from the report's monthly components where it
read their months, else one query per dataset) and each peer comparison. What it returns is
frozen. The document (`kpi.paper`) is written from it and the
figures (`kpi.charts`) are drawn from its `figures`, so neither reads data or asks the engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

import polars as pl

from kpi import engine, stats
from kpi.catalogue import TOTAL_KINDS, PeerGroup, Project
from kpi.charts import ChartData, ChartSpec, ChartType, mixed_steps
from kpi.engine import KpiResult, Report
from kpi.errors import ConfigError
from kpi.periods import Comparison, Month, Window
from kpi.progress import Progress, Step
from kpi.store import AsOf

if TYPE_CHECKING:
    from kpi.checks import CheckResult
    from kpi.compare import Covered, KpiComparison
    from kpi.paper import PaperConfig
    from kpi.revisions import Revisions
    from kpi.verdicts import Verdict


@dataclass(frozen=True)
class BoardModel:
    """What one paper prints and draws. `charts` are the figures the paper may show, in the
    order it considers them (the project's [[charts]], then process charts, then peers);
    `figures` holds the data of each that has something to draw, by chart id."""

    project: Project
    report: Report
    config: PaperConfig
    full: bool
    priority: str | None
    as_of: AsOf | None
    verdicts: Mapping[str, Verdict]
    exceptions: Mapping[str, tuple[str, ...]]  # KPI id -> why it is one (verdicts.exceptions)
    checks: tuple[CheckResult, ...]
    revised: Revisions | None
    loaded: Mapping[str, dt.datetime]  # dataset -> when the table version read was made
    charts: tuple[ChartSpec, ...]
    breakdowns: Mapping[engine.BreakdownKey, pl.DataFrame]
    # KPI id -> the breakdown the board's paper adds because a part stands out
    # (kpi.paper.standout_columns); empty for the full paper, which prints every breakdown.
    standout: Mapping[str, str]
    series: Mapping[engine.SeriesKey, pl.DataFrame]
    peers: Mapping[str, KpiComparison | None]  # KPI id -> compare.peer_result
    figures: Mapping[str, ChartData]
    # The parts of each column telling parts of the data apart whose rows the paper's figures
    # add together, where more than one (`compare.parts_covered`): said in the introduction.
    covers: tuple[Covered, ...] = ()
    # (KPI id, column) -> the parts of a breakdown kpi compare leaves out of its ranking, and
    # its note saying why (`compare.ranked_breakdowns`): in no breakdown above, named instead.
    unranked: Mapping[tuple[str, str], tuple[list[str], str | None]] = field(
        default_factory=lambda: MappingProxyType({}))

    @property
    def results(self) -> Mapping[str, KpiResult]:
        return {r.kpi.id: r for r in self.report.results}

    @property
    def priorities(self) -> set[str]:
        """The plan priorities the paper writes."""
        return {p.id for p in self.project.priorities if self.priority in (None, p.id)}


def build(project: Project, period: Month, vs: Comparison, *, priority: str | None = None,
          as_of: AsOf | None = None, last: dict | None = None, full: bool = False,
          progress: Progress | None = None) -> BoardModel:
    """The model of the paper for `period` (`kpi export`): `last` is the last paper's figures
    file (revisions.load), `priority` one plan priority. `progress` is told when the KPIs'
    figures are started and done (kpi.progress)."""
    from kpi import charts, checks, revisions, store, verdicts

    specs = charts.chart_specs(project)
    shown = [k for k in project.kpis
             if not k.hidden and (priority is None or k.priority == priority)]
    # Charts may draw hidden KPIs (e.g. all outcomes by code), paragraphs quote them, and the
    # reconciliations of kpi check add up parts: all are computed alongside, in one pass.
    ids = {k.id for k in shown}
    extra = [i for s in specs for i in s.kpis] + [q for k in shown for q in k.quotes]
    # A paper of one priority reconciles the checks that add up any of its KPIs: a check of
    # another priority's KPIs alone is that priority's paper's to list.
    reconciled = [c for c in project.checks
                  if priority is None or ids & {c.total, *c.parts}]
    extra += [i for c in reconciled for i in (c.total, *c.parts)]
    drawn = [k for i in extra if i not in ids for k in [project.kpi(i)] if k is not None]
    kpis = shown + list({k.id: k for k in drawn}.values())
    if progress is not None:
        progress(Step("figures", "KPIs", 0, len(kpis)))
    # The verdicts' monthly values are read in the same pass as the windows.
    report = engine.evaluate(project, period, vs, kpis, as_of=as_of,
                             series=verdicts.SERIES_MONTHS, hold_rows=True)
    revised = revisions.compare(project, last, report, as_of) if last is not None else None
    loaded = {}
    for dataset, version in report.versions.items():
        made = next((v for v in store.history(project, dataset) if v.version == version), None)
        if made is not None:
            loaded[dataset] = made.timestamp
    judged = verdicts.verdicts(project, report, as_of=as_of)
    checked = checks.from_report(project, report, [k for k in shown if k.status == "live"],
                                 reconciled)
    built = model(project, report, charts=specs, priority=priority, as_of=as_of,
                  verdicts=judged, checks=checked, revised=revised, loaded=loaded, full=full)
    if progress is not None:
        progress(Step("figures", "KPIs", len(kpis), len(kpis)))
    return built


def _asked(project: Project, result: KpiResult, period: Month) -> Month:
    """The month a result's current window should end at for the period (the summary's
    `stale` reads the same month); the period itself for a KPI without a figure."""
    if result.current is None:
        return period
    sources = [m.source for m in engine.measures_of(project, result.kpi)]
    return engine.target_month(project, result.kpi, period, sources)


def model(project: Project, report: Report, *, charts: Sequence[ChartSpec] = (),
          priority: str | None = None, as_of: AsOf | None = None,
          verdicts: Mapping[str, Verdict] | None = None, checks: Sequence[CheckResult] = (),
          revised: Revisions | None = None, loaded: Mapping[str, dt.datetime] | None = None,
          full: bool = False) -> BoardModel:
    """The model of a paper of a report already evaluated (it may hold hidden KPIs that
    charts draw). `charts` are the project's [[charts]]; `verdicts` (kpi.verdicts.verdicts of
    the report) add the verdict words, the exceptions and the process charts. By default the
    board's paper, `full` the complete one (see kpi.paper.build_paper)."""
    from kpi import verdicts as judge
    from kpi.paper import paper_config, standout_columns

    config = paper_config(project)
    judged = dict(verdicts or {})
    exceptions = {r.kpi.id: judge.exceptions(r, judged.get(r.kpi.id),
                                             _asked(project, r, report.period))
                  for r in report.results if not r.kpi.hidden} if judged else {}
    results = {r.kpi.id: r for r in report.results}
    wanted = {p.id for p in project.priorities if priority in (None, p.id)}
    if full:
        process = process_charts(report, charts, judged)
    else:
        process = process_charts(report, charts, judged, set(config.figures))
        process += exception_panels(report, judged, exceptions, charts, process,
                                    [p.id for p in project.priorities])
    planned = [*charts, *process, *peer_charts(project, report)]
    shown = [s for s in planned
             if (anchor := project.kpi(s.anchor)) is not None and anchor.priority in wanted]
    from kpi.compare import ranked_breakdowns

    # Each breakdown without the parts kpi compare leaves out, which the paper names instead
    # (`compare.ranked_breakdowns`): no sentence, test or chart ranks them among the others.
    breakdowns, unranked = ranked_breakdowns(project, engine.breakdowns(
        project, _paragraph_breakdowns(report, wanted, config, full) + _chart_breakdowns(
            shown, results), as_of), report.period, report.comparison, as_of)
    standout = {} if full else standout_columns(report, wanted, config, breakdowns)
    series = engine.monthly_series_all(project, _series_requests(shown, results), as_of,
                                       report)
    peers = _peer_results(project, report, wanted, as_of)
    from kpi.compare import parts_covered

    covers = parts_covered(project, [r for r in report.results if not r.kpi.hidden
                                     and r.kpi.priority in wanted], as_of)
    figures = {}
    for spec in shown:
        data = figure_data(project, spec, results, judged, breakdowns, series, peers)
        if data is not None:
            figures[spec.id] = data
    return BoardModel(
        project=project, report=report, config=config, full=full, priority=priority,
        as_of=as_of, verdicts=MappingProxyType(judged),
        exceptions=MappingProxyType(exceptions), checks=tuple(checks), revised=revised,
        loaded=MappingProxyType(dict(loaded or {})), charts=tuple(planned),
        breakdowns=MappingProxyType(breakdowns), standout=MappingProxyType(standout),
        series=MappingProxyType(series), peers=MappingProxyType(peers),
        figures=MappingProxyType(figures), covers=covers,
        unranked=MappingProxyType(unranked))


def chart_data(project: Project, spec: ChartSpec, report: Report,
               verdicts: Mapping[str, Verdict] | None = None,
               as_of: AsOf | None = None) -> ChartData | None:
    """One chart's data, reading what it needs (a library user's or a test's way to one
    figure; the paper reads every figure's at once, in `model`). An xmr chart uses the KPI's
    verdict from `verdicts`, or judges it."""
    results = {r.kpi.id: r for r in report.results}
    judged = dict(verdicts or {})
    if spec.type == ChartType.XMR and not all(k in judged for k in spec.kpis):
        from kpi import verdicts as judge

        judged = {**judge.verdicts(project, report, as_of=as_of), **judged}
    from kpi.compare import ranked_breakdowns

    breakdowns, _ = ranked_breakdowns(project, engine.breakdowns(
        project, _chart_breakdowns([spec], results), as_of), report.period, report.comparison,
        as_of)
    series = engine.monthly_series_all(project, _series_requests([spec], results), as_of)
    peers = {}
    if spec.type == ChartType.PEERS:
        from kpi.compare import peer_result

        kpi = project.known_kpi(spec.kpis[0])
        peers[kpi.id] = peer_result(project, kpi, report.period, report.comparison, as_of)
    return figure_data(project, spec, results, judged, breakdowns, series, peers)


# ---------------------------------------------------------------------------------------------
# The figures a paper may show


def process_charts(report: Report, declared: Sequence[ChartSpec],
                   verdicts: Mapping[str, Verdict], only: set[str] | None = None
                   ) -> list[ChartSpec]:
    """A process chart (XmR) for every visible KPI in `only` (the board paper's exceptions
    and the KPIs [paper] names), or with `only` None (the full paper) for every one whose
    latest month is a special cause or which has a target, unless [[charts]] already declares
    one for it."""
    drawn = {s.kpis[0] for s in declared if s.type == ChartType.XMR}
    out = []
    for result in report.results:
        verdict = verdicts.get(result.kpi.id)
        kpi = result.kpi
        if kpi.hidden or kpi.id in drawn or verdict is None or verdict.variation is None:
            continue
        special = verdict.variation.verdict != stats.COMMON_CAUSE
        if (special or verdict.target is not None) if only is None else kpi.id in only:
            out.append(ChartSpec(id=f"xmr_{kpi.id}", type=ChartType.XMR,
                                 title=f"{kpi.title}: process chart", kpis=(kpi.id,)))
    return out


def exception_panels(report: Report, verdicts: Mapping[str, Verdict],
                     exceptions: Mapping[str, tuple[str, ...]], declared: Sequence[ChartSpec],
                     planned: Sequence[ChartSpec], priorities: Sequence[str] = ()
                     ) -> list[ChartSpec]:
    """The board paper's process charts of its exceptions, several to a figure, so that
    with the project's own figures there are at most paper.BOARD_FIGURES; a figure holds
    the exceptions of one section where there is room (paper.exception_groups, the sections
    in `priorities` order)."""
    from kpi import verdicts as judge
    from kpi.paper import BOARD_FIGURES, exception_groups

    drawn = {s.kpis[0] for s in [*declared, *planned] if s.type == ChartType.XMR}
    order = {p: n for n, p in enumerate(priorities)}
    charted = [(r.kpi.id, r.kpi.priority) for r in sorted(
        report.results, key=lambda r: order.get(r.kpi.priority, len(order)))
               if not r.kpi.hidden and r.kpi.id not in drawn
               and set(exceptions.get(r.kpi.id, ())) - {judge.STALE, judge.NO_FIGURE}
               and verdicts[r.kpi.id].variation is not None]
    if not charted:
        return []
    room = max(1, BOARD_FIGURES - len(declared) - len(planned))
    groups = exception_groups(charted, room)
    section = dict(charted)
    out = []
    for number, group in enumerate(groups, start=1):
        # The caption names each KPI charted with what its months show (kpi.paper). The
        # figure follows the last of its paragraphs in the section of its first.
        title = "Process charts of the exceptions" + (
            f" ({number} of {len(groups)})" if len(groups) > 1 else "")
        last = [k for k in group if section[k] == section[group[0]]][-1]
        out.append(ChartSpec(id=f"xmr_exceptions_{number}", type=ChartType.XMR,
                             title=title, kpis=tuple(group), after=last))
    return out


def peer_charts(project: Project, report: Report) -> list[ChartSpec]:
    """A peers figure for every visible KPI that declares a peer group (drawn only when the
    data holds every member)."""
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


# ---------------------------------------------------------------------------------------------
# What is read beyond the report, asked of the engine at once


def _paragraph_breakdowns(report: Report, priorities: set[str], config: PaperConfig,
                          full: bool) -> list[engine.BreakdownRequest]:
    """Every breakdown the paper's paragraphs print, and in the board's paper every breakdown
    of a count, tested for a part that stands out."""
    from kpi.paper import tested_breakdowns

    requests = []
    for result in report.results:
        kpi = result.kpi
        if (kpi.hidden or kpi.priority not in priorities or not kpi.breakdowns
                or result.current is None or kpi.is_derived):
            continue
        comparison = result.comparison.window if result.comparison else None
        requests += [(kpi, column, result.current.window, comparison)
                     for column in tested_breakdowns(kpi, config, full)]
    return requests


def _chart_windows(spec: ChartSpec, result: KpiResult) -> tuple[Window, Window | None]:
    """The windows a compare or top chart draws: the current one, and a compare chart's
    comparison window."""
    assert result.current is not None, "a chart's windows are those of a measured KPI"
    comparison = result.comparison.window if result.comparison else None
    return result.current.window, None if spec.type == ChartType.TOP else comparison


def _chart_breakdowns(specs: Sequence[ChartSpec], results: Mapping[str, KpiResult]
                      ) -> list[engine.BreakdownRequest]:
    """The breakdowns the compare and top charts draw."""
    requests = []
    for spec in specs:
        result = results.get(spec.kpis[0])
        if (spec.type not in (ChartType.COMPARE, ChartType.TOP) or result is None
                or result.current is None or result.kpi.is_derived):
            continue
        assert spec.by is not None, "compare and top charts name their breakdown column"
        requests.append((result.kpi, spec.by, *_chart_windows(spec, result)))
    return requests


def _series_requests(specs: Sequence[ChartSpec], results: Mapping[str, KpiResult]
                     ) -> list[engine.SeriesRequest]:
    """The monthly series of the trend charts."""
    requests = []
    for spec in specs:
        measured = [results.get(k) for k in spec.kpis]
        if spec.type != ChartType.TREND or any(r is None or r.current is None
                                               for r in measured):
            continue
        drawn = [r for r in measured if r is not None and r.current is not None]
        end = max(r.current.window.end for r in drawn if r.current is not None)
        requests += [(r.kpi, end, spec.months) for r in drawn]
    return requests


def _peer_results(project: Project, report: Report, priorities: set[str],
                  as_of: AsOf | None) -> dict[str, KpiComparison | None]:
    """Each written KPI's comparison across its peer group, once for its sentence and its
    figure (None where the data does not hold the whole group)."""
    from kpi.compare import peer_result

    return {r.kpi.id: peer_result(project, r.kpi, report.period, report.comparison, as_of)
            for r in report.results
            if r.kpi.peers and not r.kpi.hidden and r.kpi.priority in priorities}


# ---------------------------------------------------------------------------------------------
# Each figure's data, from what was read


def _held_to(frame: pl.DataFrame, result: KpiResult) -> pl.DataFrame:
    """A trend's frame with no value or 12-month value after the result's current window."""
    assert result.current is not None, "a trend is drawn only of KPIs with a current window"
    after = pl.col("month") > str(result.current.window.end)
    return frame.with_columns(pl.when(after).then(None).otherwise(pl.col(c)).alias(c)
                              for c in ("value", "rolling_12"))


def peer_chart_data(spec: ChartSpec, compared: KpiComparison, group: PeerGroup) -> ChartData:
    """A peers figure's data from kpi.compare's result (`compare.peer_result`): each part's
    current value, per 1,000 population when every part has one (as the comparison ranks
    them), else the KPI's own value; the largest first, ties by name."""
    assert compared.current is not None, "a peer result has a current window"
    per_1000 = all(p.per_1000 is not None for p in compared.parts)
    values: list[tuple[str, float, bool]] = []
    from kpi.compare import peer_parts

    focus = peer_parts(compared, group).get(group.focus) if group.focus else None
    for part in compared.parts:
        value = part.per_1000 if per_1000 else part.current.value if part.current else None
        assert value is not None, "a peer result holds a current value for every member"
        values.append((part.name, value, part is focus))
    values.sort(key=lambda row: (-row[1], row[0]))
    parts = pl.DataFrame({"part": [r[0] for r in values], "value": [r[1] for r in values],
                          "focus": [r[2] for r in values]},
                         schema={"part": pl.String, "value": pl.Float64, "focus": pl.Boolean})
    mean = compared.mean_per_1000 if per_1000 else compared.mean
    return ChartData(spec, (compared.kpi,), compared.current.label, parts=parts,
                     current_label=compared.current.label, peer_mean=mean, per_1000=per_1000,
                     illustrative_populations=per_1000 and compared.population is not None
                     and compared.population.illustrative,
                     group_title=group.title or group.id)


def figure_data(project: Project, spec: ChartSpec, results: Mapping[str, KpiResult],
                verdicts: Mapping[str, Verdict],
                breakdowns: Mapping[engine.BreakdownKey, pl.DataFrame],
                series: Mapping[engine.SeriesKey, pl.DataFrame],
                peers: Mapping[str, KpiComparison | None]) -> ChartData | None:
    """What a chart draws, from figures already computed; None when its KPIs have nothing to
    show. Reads nothing: a frame it needs and was not given is a bug (KeyError)."""
    kpis = tuple(project.known_kpi(k) for k in spec.kpis)
    if spec.type == ChartType.PEERS:
        compared = peers.get(kpis[0].id)
        group = project.peers.get(kpis[0].peers) if kpis[0].peers else None
        if compared is None or group is None:
            return None
        return peer_chart_data(spec, compared, group)
    measured = [r for k in kpis if (r := results.get(k.id)) is not None]
    currents = [r.current for r in measured if r.current is not None]
    if len(currents) < len(kpis):
        return None
    if spec.type == ChartType.XMR and len(spec.kpis) > 1:
        panels = []
        for kpi in kpis:
            one = ChartSpec(id=f"{spec.id}_{kpi.id}", type=ChartType.XMR, title=kpi.title,
                            kpis=(kpi.id,))
            panel = figure_data(project, one, results, verdicts, breakdowns, series, peers)
            if panel is not None:
                panels.append(panel)
        if not panels:
            return None
        return ChartData(spec, kpis, panels[0].window_text, panels=tuple(panels))
    if spec.type == ChartType.XMR:
        verdict = verdicts.get(kpis[0].id)
        if verdict is None or verdict.chart is None or verdict.chart.mean is None:
            return None
        points = verdict.chart.points
        text = f"{Month.parse(points[0].month).name} to {Month.parse(points[-1].month).name}"
        return ChartData(spec, kpis, text, xmr=verdict.chart, target=kpis[0].target)
    if spec.type == ChartType.TREND:
        if mixed := mixed_steps(project, spec.kpis):
            raise ConfigError(f"chart '{spec.id}', key 'kpis': {mixed}")
        end = max(c.window.end for c in currents)
        # One month axis for the KPIs drawn together, each KPI's months after its own current
        # window left blank: a KPI reported later (its `lag`) has no figure for them in any
        # other face, and its 12-month line would end on a year its paragraph does not give.
        drawn = tuple(_held_to(series[(k.id, end, spec.months)], results[k.id])
                      for k in kpis)
        first = end - (spec.months - 1)
        return ChartData(spec, kpis, f"{first.name} to {end.name}", series=drawn,
                         target=kpis[0].target,
                         quarterly=any(engine.reads_quarters(project, k) for k in kpis))
    result = measured[0]
    assert spec.by is not None, "compare and top charts name their breakdown column"
    current, comparison = _chart_windows(spec, result)
    parts = breakdowns[(kpis[0].id, spec.by, current, comparison)]
    from kpi.paper import COMPARE_PARTS, column_label, compare_parts, left_out, top_parts

    if spec.type == ChartType.TOP:
        # The highest `limit`, ties at the last place drawn or said (paper.top_parts).
        parts, top = top_parts(parts, spec.limit)
        text = current.label + (f"; {left}" if (left := left_out(top, kpis[0])) else "")
    else:
        every = parts
        parts, of = compare_parts(every)
        # The parts tied at the last place that are not drawn, said (paper.top_parts).
        left = left_out(top_parts(every, COMPARE_PARTS)[1], kpis[0]) if of else ""
        drawn = (f"the {parts.height} highest of {of:,}" if of and parts.height else "")
        text = current.label + (f" against {comparison.label}" if comparison else "") + (
            f": {'; '.join(x for x in (drawn, left) if x)}" if drawn or left else "")
    # The whole force's value is a fair line across the parts only where a part's value is on
    # the same scale (a rate, a median), not where the parts add up to it (a count).
    force = currents[0].value if kpis[0].kind not in TOTAL_KINDS else None
    return ChartData(spec, kpis, text, parts=parts, current_label=current.label,
                     comparison_label=comparison.label if comparison else "",
                     target=kpis[0].target, force_value=force,
                     by_label=column_label(project, kpis[0], spec.by))
