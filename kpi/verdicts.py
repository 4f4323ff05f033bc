"""Signal or noise for every KPI: one verdict per result, used by summary, show and the paper.

A verdict joins the two views of docs/statistics.md and the KPI's target:

- `significance`: the current window against the comparison (`stats.significance`);
- `variation`: what the XmR chart of the monthly values says about the latest month;
- `target` and `assurance`: whether the process, as it runs, will pass or fail the target.

The monthly series come with the report when it was evaluated with `series` (read in the same
pass as its windows), else from one read per dataset, whatever the number of KPIs.
Nothing here prints; `render` and `paper` present the results.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from kpi import engine, stats
from kpi.catalogue import Kind, KpiDef, Project, Status, Unit, share_target_problem
from kpi.engine import KpiResult, Report
from kpi.errors import ConfigError
from kpi.periods import Month, Window, WindowKind
from kpi.rounding import as_written, fixed, quotient
from kpi.store import AsOf

# Months of monthly values a verdict reads, ending with the current window (kpi show's trend).
SERIES_MONTHS = 24


@dataclass(frozen=True)
class Series:
    """A KPI's monthly values, oldest first (None where a month has no value)."""

    months: tuple[str, ...]
    values: tuple[float | None, ...]
    # Read from data of one row per quarter (`catalogue.reads_quarters`): each quarter's value
    # in its first month, a rate of two KPIs over the quarter's three months of both.
    quarterly: bool = False


@dataclass(frozen=True)
class Verdict:
    """Signal or noise for one KPI. `significance` is None only for KPIs in development;
    `chart` and `variation` are None where the KPI has no monthly series or no limits."""

    significance: stats.Significance | None
    chart: stats.Xmr | None
    variation: stats.Variation | None
    target: float | None
    target_met: bool | None
    assurance: str | None
    # A KPI with provisional months: its windows without them, which `significance` tested
    # (current, comparison); None for every other KPI.
    settled: tuple[engine.Measured, engine.Measured] | None = None


def verdict_of(result: KpiResult, series: Series | None,
               settled: Settled | None = None) -> Verdict:
    """The verdict on a result, given its monthly series (pure: no data is read). `settled`
    is the test of a KPI with provisional months (`settled_significance`), which replaces
    the test of its whole windows."""
    kpi = result.kpi
    if kpi.status != Status.LIVE:
        return Verdict(None, None, None, kpi.target, None, None)
    # Tested on its whole windows, a KPI whose last months are not final would print another
    # verdict than the summary's: every caller passes `settled_tests`' answer.
    assert settled is not None or not (kpi.provisional_months and result.current is not None
                                       and result.comparison is not None), \
        f"KPI '{kpi.id}' has provisional months: judge it with settled_tests"
    test = settled[0] if settled is not None else stats.significance(result)
    misread_target(kpi, [result.current.value if result.current else None,
                         *(series.values if series is not None else ())])
    windows = [w for w in (result.current, result.comparison) if w is not None]
    off_share_target(kpi, windows)
    chart = None
    if series is not None and series.quarterly and not kpi.cumulative:
        # Two months in three hold no value of their own: a chart of months would read them
        # as missing and have no limits, and say the months were missing.
        chart = stats.Xmr((), None, None, None, None, None, None, None, stats.QUARTERLY_NOTE)
    # A cumulative KPI's months are not independent, so no process chart reads them.
    elif (not kpi.cumulative and series is not None
            and any(v is not None for v in series.values)):
        baseline = ((str(kpi.spc_baseline[0]), str(kpi.spc_baseline[1]))
                    if kpi.spc_baseline else None)
        floor, ceiling = stats.chart_bounds(kpi, windows)
        # Months whose values are not final yet are left out (`stats.xmr`), so no month that
        # will still change is read as a special cause or gives a limit.
        chart = stats.xmr(series.months, series.values, kpi.better, baseline=baseline,
                          rebase=[str(m) for m in kpi.spc_rebase], floor=floor, ceiling=ceiling,
                          provisional=kpi.provisional_months or 0)
    variation = stats.variation(chart) if chart is not None else None
    current = result.current
    met, assurance = stats.judged(
        current.value if current else None, kpi.target, chart, kpi.better,
        (str(current.window.start), str(current.window.end)) if current else None)
    return Verdict(test, chart, variation, kpi.target, met, assurance,
                   settled[1] if settled is not None else None)


# A KPI in percent whose target is below 1 and below a tenth of every figure it has: the
# target was likely written as a proportion (0.9 for 90%).
MISREAD_FACTOR = 10


def reads_two_ways(kpi: KpiDef) -> bool:
    """Whether a KPI's target could be a proportion written for a percentage: on a KPI in
    percent, between 0 and 1 (0.9, which kpi reads as 0.9%, where 90% may be meant), and not
    written with its sign ("0.9%"). Its figures decide (`misread_target`)."""
    target = kpi.target
    return (kpi.unit == Unit.PERCENT and target is not None and 0 < target < 1
            and not kpi.target_written_percent)


def _readings(kpi: KpiDef) -> tuple[str, str, str]:
    """Where the target is written ("FILE:LINE: ", or "" for a KPI not read from a file), the
    target as written (0.9) and as a proportion in percent (90)."""
    assert kpi.target is not None, "a target that reads two ways is a number"
    return (f"{kpi.target_at}: " if kpi.target_at else "", f"{kpi.target:g}",
            f"{float(as_written(kpi.target) * 100):g}")


def misread_target(kpi: KpiDef, figures: Iterable[float | None]) -> None:
    """Refuses a target on a KPI in percent that reads two ways (ConfigError, exit 3): one
    between 0 and 1 (0.9, `reads_two_ways`), which kpi reads as written (0.9%), where the
    KPI's figures (its current window and monthly values) are all at least ten times it, so the
    figures make that reading implausible and the proportion (90%) likely. A target of 0.9 on
    figures of 85% to 93% read "0.9%: met, consistently passes". A small rate whose figures are
    near its target (0.5 on figures of 0.3% to 0.8%) is read as written, and a target written
    with its sign ("0.9%") always is. The one rule of `kpi summary`, `kpi show`, the paper and
    `kpi catalogue --validate` (`stored_targets`); the refusal names the file's line."""
    if not reads_two_ways(kpi):
        return
    assert kpi.target is not None, "reads_two_ways"
    known = [v for v in figures if v is not None and math.isfinite(v)]
    if not known or min(known) < MISREAD_FACTOR * kpi.target:
        return
    at, written, proportion = _readings(kpi)
    raise ConfigError(
        f"{at}KPI '{kpi.id}', key 'target': {written} reads as {written}%, but the KPI's "
        f"figures run from {fixed(min(known), 1)}% to {fixed(max(known), 1)}%; as a proportion "
        f"it would be {proportion}%",
        hint=f'write target = {proportion} if {proportion}% is meant, or target = "{written}%" '
             f"if {written}% is")


def off_share_target(kpi: KpiDef, windows: Sequence[engine.Measured]) -> None:
    """Refuses a target off the scale of a figure its rows prove a share (ConfigError, exit
    3): a rate of one dataset's rows whose every numerator is a whole number from 0 to its
    row's denominator (`stats.proven_share`), which kpi.toml alone does not show. Calls
    answered of calls as a ratio (0.7995) took a target of 80 and was judged "consistently
    fails" where 79.95% misses 80% by 0.05 points. A share by its definition is refused as
    kpi.toml loads (`catalogue.target_problem`), by the same bound
    (`catalogue.share_target_problem`)."""
    if kpi.target is None or not stats.proven_share(kpi, windows):
        return
    problem = share_target_problem(kpi)
    if problem is None:
        return
    at = f"{kpi.target_at}: " if kpi.target_at else ""
    rows = "" if kpi.share else ("; its rows make it a share (each numerator a whole number "
                                 "from 0 to its row's denominator)")
    raise ConfigError(f"{at}KPI '{kpi.id}', key 'target': {problem}{rows}",
                      hint=f"write the target as the figure prints it, from 0 to "
                           f"{kpi.share_max:,g}")


def stored_targets(project: Project) -> list[str]:
    """`kpi catalogue --validate`'s check of targets that read two ways (`reads_two_ways`):
    each such KPI whose data the project's store holds is judged by `misread_target` on its
    monthly values over the `SERIES_MONTHS` months ending at the latest month its datasets
    all hold, and refused as a summary would refuse it (ConfigError, every such KPI in one
    error, one line each); for each other one (no data held, or a KPI in development), a
    warning line naming the file's line, the KPI and the key, returned."""
    from kpi import store

    warnings, refused, hints = [], [], []
    for kpi in project.kpis:
        if not reads_two_ways(kpi):
            continue
        values: tuple[float | None, ...] = ()
        if kpi.status == Status.LIVE:
            # A store whose reads are refused (a table stored under another declaration, or
            # one that cannot be read) is refused here too, as by the summary (exit 3): its
            # figures are not "none held".
            sources = {m.source for m in engine.measures_of(project, kpi)}
            held = [store.months(project, d) if store.exists(project, d) else []
                    for d in sorted(sources)]
            if held and all(held):
                end = min(max(months) for months in held)
                values = monthly_values(project, [kpi], {kpi.id: end})[kpi.id].values
        try:
            misread_target(kpi, values)
        except ConfigError as exc:
            refused.append(exc.message)
            hints.append(exc.hint)
            continue
        if any(v is not None and math.isfinite(v) for v in values):
            continue  # the figures read the target as written
        at, written, proportion = _readings(kpi)
        warnings.append(
            f"{at}KPI '{kpi.id}', key 'target': {written} reads as {written}%, and no figures "
            f"are held to judge it by; if {proportion}% is meant write target = {proportion}, "
            f'and write target = "{written}%" to say {written}%')
    if refused:
        raise ConfigError("\n".join(refused), hint=hints[0] if len(hints) == 1 else
                          'write each as the percentage meant (target = 90 for 90%), or with '
                          'its sign (target = "0.9%") where the small percentage is meant')
    return warnings


# Kinds whose window is the sum of its months' components, so a window without its last
# months can be summed again from the monthly parts.
SUMMED = {Kind.COUNT: ("n",), Kind.RATE: ("num", "den", engine.OUTSIDE, engine.UNCOUNTED),
          Kind.WITHIN: ("num", "den")}


def settled_window(months: int) -> str:
    """How a test of provisional months says what it leaves out."""
    last = "month" if months == 1 else f"{months} months"
    return f"leaves out the last {last} of each window, whose figures are not final yet"


def last_months(months: int, whose: str = "the") -> str:
    """'the last 3 months', 'its last month' ("the last 1 months" read as a slip)."""
    return f"{whose} last month" if months == 1 else f"{whose} last {months} months"


def not_final(months: int) -> str:
    """Why a test of a KPI with provisional months starts as it does: 'its last 3 months are
    not final', 'its last month is not final'."""
    return ("its last month is not final" if months == 1
            else f"its last {months} months are not final")


def _them(months: int) -> str:
    return "it" if months == 1 else "them"


# A test of the windows without their provisional months, and those windows (None where no
# test could be made).
Settled = tuple[stats.Significance, "tuple[engine.Measured, engine.Measured] | None"]


def settled_significance(project: Project, result: KpiResult,
                         parts: engine.Monthly) -> Settled | None:
    """The significance of a KPI whose last months are not final (`provisional_months`),
    tested on its windows without those months (the last N of the current window and, so
    the two stay alike, of the comparison window): an outcome share whose latest months are
    still being recorded would otherwise be a significant change made of records not yet
    updated. None for a KPI without provisional months. `parts` are the monthly components
    (measure id -> month -> components); a window they do not cover, or a KPI not summed
    from its months, is not tested, with the reason."""
    kpi = result.kpi
    months = kpi.provisional_months
    if not months or kpi.status != Status.LIVE:
        return None
    whole = stats.significance(result)
    if whole.p_value is None:
        return whole, None
    current, comparison = result.current, result.comparison
    assert current is not None and comparison is not None, "a tested KPI has both windows"
    keys = SUMMED.get(kpi.kind)
    if keys is not None and kpi.kind == Kind.COUNT and kpi.value is not None:
        # (its rows that are no whole count of events: `stats.count_of_events` reads them)
        keys = (*keys, engine.UNCOUNTED)
    if keys is None or kpi.is_derived:
        return stats.not_tested(f"{not_final(months)}, and a {kpi.kind.value} cannot be "
                                f"tested without {_them(months)}"), None
    if any(project.datasets[m.source].months_per_row != 1
           for m in engine.measures_of(project, kpi)):
        # A quarter's rows are held in one month of it: the months before the ones not
        # final are not each held, and "the months before them are not all held" was said.
        return stats.not_tested(f"{not_final(months)}, and data of one row per quarter is "
                                f"not tested without {_them(months)}"), None
    trimmed = []
    for measured in (current, comparison):
        kept = measured.window.months()[:-months]
        held = parts.get(kpi.id, {})
        got = [held.get(str(m)) or {} for m in kept]
        if not kept:
            # A financial year to date of no more months than are not final: nothing is left
            # to test ("the months before them are not all held" was said of it).
            return stats.not_tested(
                "the windows' one month is its last, which is not final" if months == 1 else
                f"every month of the windows is among its last {months}, which are not final"
            ), None
        if any(month.get(k) is None for month in got for k in keys):
            return stats.not_tested(f"{not_final(months)}, and the months before "
                                    f"{_them(months)} are not all held"), None
        # Each component summed as a window's is: a fraction's exact pieces, the same bits
        # as one sum over the months' rows (engine.months_part).
        sums: dict[str, float | None] = {k: float(engine.months_part(got, k)) for k in keys}
        window = Window(measured.window.kind, kept[0], kept[-1])
        trimmed.append(engine.measured_of(project, kpi, window, sums))
    settled = engine.refigured(result, trimmed[0], trimmed[1])
    test = stats.significance(settled)
    if test.significant and not _same_way(result, settled):
        # The change tested runs otherwise than the change printed (50.0% to 53.8%, up, where
        # the settled months went from 50.0% to 40.0%): "a statistically significant
        # improvement" was said of a rise no test had found, and the fall tested went
        # unsaid. Neither is counted; the note gives both.
        return stats.not_tested(
            f"{not_final(months)}, and without {_them(months)} the change runs "
            f"otherwise than over the whole windows ({test.note}), so neither is counted"), \
            None
    return replace(test, note=f"{test.note}; {settled_window(months)}"), (trimmed[0],
                                                                          trimmed[1])


def _same_way(whole: KpiResult, settled: KpiResult) -> bool:
    """Whether two results of one KPI change the same way: the same status, and a change of
    the same sign (a neutral KPI's 'changed' either way)."""
    def sign(result: KpiResult) -> int:
        absolute = result.change.absolute if result.change is not None else None
        return 0 if not absolute else (1 if absolute > 0 else -1)
    return whole.status == settled.status and sign(whole) == sign(settled)


def change_named(result: KpiResult) -> str:
    """A KPI's change named by the windows it is between: 'the 12-month change' of two years;
    'the change over the financial year to date', 'the change since April 2024' (two months
    as at their end) or 'the change from the year ending March 2024' otherwise. "The
    12-month change" was said of April 2025 against April 2024, one month each."""
    current, before = result.current, result.comparison
    assert current is not None and before is not None, "a change is between two windows"
    if current.window.kind == WindowKind.YE and before.window.kind == WindowKind.YE:
        return "the 12-month change"
    if current.window.kind == WindowKind.FYTD:
        return "the change over the financial year to date"
    if current.window.kind == WindowKind.AT:
        return f"the change since {before.window.end.name}"
    then = before.window
    return f"the change from {'the ' if then.kind == WindowKind.YE else ''}{then.label}"


def conflict(result: KpiResult, verdict: Verdict) -> str | None:
    """One sentence on why a KPI's status (its change against the better direction, named by
    its windows: `change_named`) and its process chart (the latest month) point different
    ways, or None when they do not."""
    variation = verdict.variation
    if variation is None or result.status not in ("improving", "deteriorating"):
        return None
    chart_says = {stats.SPECIAL_IMPROVEMENT: "improving", stats.SPECIAL_CONCERN: "deteriorating"}
    said = chart_says.get(variation.verdict)
    if said is None or said == result.status:
        return None
    assert variation.rule is not None, "a special cause names the rule that fired"
    worry = "concern" if said == "deteriorating" else "improvement"
    named = change_named(result)
    return (f"the status is {result.status}, from {named}; the process chart reads single "
            f"months, and its latest month is a special cause of {worry} "
            f"({stats.RULE_PLAIN[(variation.rule, bool(variation.high))]}), so the most recent "
            f"months run against {named}")


# Why a KPI is an exception the board must see (issue: what the board must know this month).
NO_FIGURE = "no_figure"          # the source is missing: nothing can be reported
STALE = "stale"                  # the window ends before the month the period asks for
CONCERN = "concern"              # the latest month is a special cause of concern
TARGET_FAILING = "target_failing"  # the process will consistently miss the target
TARGET_MISSED = "target_missed"  # the current figure misses the target
TARGET_AT_RISK = "target_at_risk"  # the target will sometimes be met and sometimes missed
DETERIORATION = "deterioration"  # a statistically significant deterioration


def change_status(result: KpiResult) -> str:
    """The direction a KPI's change is worth: its status, or for a stale KPI (whose status is
    "stale" whatever its change) its change's own (`engine.status_of`). The one rule of a
    significant deterioration among the exceptions (`exceptions`) and of the words the paper
    gives a change (`paper.change_worth`): judged apart, a stale KPI's significant rise read
    "a statistically significant deterioration" on the front page and "a statistically
    significant change" in its own paragraph. Any other status is its change's own, or there
    is no change (`engine.underived` holds every result to it)."""
    if result.status == engine.Outcome.STALE and result.change is not None:
        return engine.status_of(result.kpi, result.change)
    return result.status


def exceptions(result: KpiResult, verdict: Verdict | None, asked: Month) -> tuple[str, ...]:
    """Why a live KPI is an exception: no figure alone, or a stale source first (a fact of its
    data, before what is judged of it), then the rest most serious first; empty when it is not
    one. The paper ranks and marks an exception by the most serious (`paper.seriousness`,
    `paper.exception_mark`). `asked`
    is the month its current window should end at (`engine.target_month`: the period less
    the KPI's lag, for quarterly data the end of the last whole quarter by then)."""
    kpi = result.kpi
    if kpi.status != Status.LIVE:
        return ()
    if result.current is None or result.current.value is None:
        return (NO_FIGURE,)
    out = []
    if result.current.window.end.index < asked.index:
        out.append(STALE)
    if verdict is None:
        return tuple(out)
    if verdict.variation is not None and verdict.variation.verdict == stats.SPECIAL_CONCERN:
        out.append(CONCERN)
    if verdict.assurance == stats.CONSISTENTLY_FAIL:
        out.append(TARGET_FAILING)
    elif verdict.target_met is False:
        out.append(TARGET_MISSED)
    elif verdict.assurance == stats.HIT_AND_MISS:
        out.append(TARGET_AT_RISK)
    significant = verdict.significance.significant if verdict.significance else None
    # The change's own direction, not the result's status: a stale KPI's status is "stale"
    # whatever its change, and a stale KPI that is also deteriorating is both.
    if significant and change_status(result) == engine.Outcome.DETERIORATING:
        out.append(DETERIORATION)
    return tuple(out)


def verdicts(project: Project, report: Report, as_of: AsOf | None = None
             ) -> dict[str, Verdict]:
    """Every result's verdict, by KPI id; the monthly series end where each KPI's current
    window does, `SERIES_MONTHS` of them (earlier where `spc_baseline` starts), and a KPI
    without a current window has no process chart. The one place a verdict is made from a
    report: `kpi summary`, the paper, `kpi show` and `Project.detail` all call it, and it
    takes no number of months, so a KPI has one verdict at a period whatever months a trend
    shows. A report evaluated with `series` of at least `SERIES_MONTHS` already holds the
    monthly values (read in the same pass as its windows); otherwise they are read here."""
    months = SERIES_MONTHS
    ends = {r.kpi.id: r.current.window.end for r in report.results if r.current is not None}
    wanted = [r.kpi for r in report.results if r.kpi.id in ends]
    # A longer series read the same months and more before them (engine.series_start).
    known = report.monthly if report.series is not None and report.series >= months else None
    series = monthly_values(project, wanted, ends, months, as_of, parts=known, report=report)
    settled = settled_tests(project, report.results, known, as_of)
    return {r.kpi.id: verdict_of(r, series.get(r.kpi.id), settled.get(r.kpi.id))
            for r in report.results}


def settled_tests(project: Project, results: Iterable[KpiResult],
                  known: engine.Monthly | None = None,
                  as_of: AsOf | None = None) -> dict[str, Settled | None]:
    """The test without their provisional months (`settled_significance`) of each live result
    of a KPI with `provisional_months` and both windows, by KPI id: what `verdict_of` needs
    for such a KPI, whichever command judges it (the summary, `kpi show`, the paper). The
    monthly components are read only where `known` does not hold them."""
    provisional = [r for r in results if r.kpi.provisional_months
                   and r.current is not None and r.comparison is not None
                   and r.kpi.status == Status.LIVE]
    if not provisional:
        return {}
    # The months of both windows, read again only where the series did not hold them
    # (a comparison window more than `months` back).
    spans: dict[str, tuple[Month, Month]] = {}
    for r in provisional:
        assert r.current is not None and r.comparison is not None, "chosen above"
        spans[r.kpi.id] = (min(r.comparison.window.start, r.current.window.start),
                           r.current.window.end)
    held = known or {}
    # A rate of two KPIs is not summed again (settled_significance says why).
    missing = [r.kpi for r in provisional if not r.kpi.is_derived and any(
        str(m) not in held.get(r.kpi.id, {})
        for m in Window(WindowKind.YE, *spans[r.kpi.id]).months())]
    parts = dict(held)
    if missing:
        parts.update(_read_monthly(project, missing, {k.id: spans[k.id] for k in missing},
                                   as_of))
    return {r.kpi.id: settled_significance(project, r, parts) for r in provisional}


# The first month of a verdict's series; the engine reads the series with the windows.
series_start = engine.series_start


def monthly_values(project: Project, kpis: Iterable[KpiDef], ends: dict[str, Month],
                   months: int = SERIES_MONTHS, as_of: AsOf | None = None,
                   parts: engine.Monthly | None = None,
                   report: Report | None = None) -> dict[str, Series]:
    """Monthly values of each KPI for the `months` months ending at `ends[kpi.id]` (see
    `series_start`), reading each dataset once, or not at all given `parts` (measure id ->
    month -> components, as `engine.evaluate(..., series=months)` returns them in
    `Report.monthly`). A month the dataset does not hold, or holds only in part
    (`engine.in_part_months`), has no value; a month it holds with
    no matching rows counts as the kind makes it (0 for a count). A rate of two KPIs is their
    monthly ratio, or where either is quarterly their ratio over each quarter's months."""
    kpis = list(kpis)
    spans = {k.id: (series_start(k, ends[k.id], months), ends[k.id]) for k in kpis}
    if parts is None:
        parts = _read_monthly(project, kpis, spans, as_of)

    # A month that does not add the same parts as the latest months has no value: a part of
    # a dataset loaded part by part (`replace_by`) holding no rows in it, though it holds rows
    # in other months of the series, or a year of it holding other parts of a peer group's
    # column than the latest year (engine.partial_months).
    held_by: dict[object, dict[tuple, list[Month]]] = {}
    in_part: dict[str, set[str]] = {}
    partial: set[tuple[str, str]] = set()

    def value(measure: KpiDef, month: str) -> float | None:
        got = parts.get(measure.id, {}).get(month)
        if got is None or (measure.source, month) in partial:
            return None
        return engine.value_of(measure, got, project)

    def in_quarter(measure: KpiDef, month: str) -> float | None:
        # A rate of a quarterly KPI and a monthly one is a rate of quarters: the monthly
        # KPI's three months beside the quarterly one's row, in the quarter's first month as
        # a quarterly KPI's value is (`engine.quarter_value`, as the trend's `_by_quarter`).
        # Divided month by month, a quarter's numerator over one month read three times the
        # rate the trend gives the same quarter.
        first = Month.parse(month)
        if first.month % 3 != 1:
            return None
        if project.datasets[measure.source].months_per_row == 3:
            return value(measure, month)
        return engine.quarter_value(project, measure, parts.get(measure.id, {}), first,
                                    lambda m: value(measure, m) is not None)

    out = {}
    for kpi in kpis:
        start, end = spans[kpi.id]
        labels = tuple(str(Month(i)) for i in range(start.index, end.index + 1))
        partial.clear()
        for measure in engine.measures_of(project, kpi):
            if (key := engine.held_key(project, measure)) not in held_by:
                held_by[key] = engine.parts_held_of(project, measure.source, as_of, report,
                                                    measure)
            partial.update((measure.source, m) for m in
                           engine.partial_months(held_by[key], labels))
            # A month held only in part, as no window counts it: the first month of a rolling
            # extract, from its 11th, was a special cause on the process chart.
            if measure.source not in in_part:
                in_part[measure.source] = engine.in_part_months(project, measure.source, as_of)
            partial.update((measure.source, m) for m in in_part[measure.source]
                           if m in labels)
        quarterly = engine.reads_quarters(project, kpi)
        if kpi.is_derived:
            num, den = engine.measures_of(project, kpi)
            values = []
            for month in labels:
                if quarterly:
                    n, d = (in_quarter(measure, month) for measure in (num, den))
                else:
                    n, d = value(num, month), value(den, month)
                values.append(quotient(n, d, engine.scale_of(kpi, 100)))
        else:
            values = [value(kpi, month) for month in labels]
        out[kpi.id] = Series(labels, tuple(values), quarterly)
    return out


def monthly_parts(project: Project, kpis: Iterable[KpiDef], ends: dict[str, Month],
                  months: int = SERIES_MONTHS, as_of: AsOf | None = None) -> engine.Monthly:
    """Every measure's components month by month over the `months` months ending at
    `ends[kpi.id]` (see `series_start`), one read per dataset: the `parts` of
    `monthly_values` and `settled_tests` for several series of the same KPIs."""
    kpis = list(kpis)
    return _read_monthly(project, kpis, {k.id: (series_start(k, ends[k.id], months),
                                                ends[k.id]) for k in kpis}, as_of)


def _read_monthly(project: Project, kpis: list[KpiDef], spans: dict[str, tuple[Month, Month]],
                  as_of: AsOf | None) -> engine.Monthly:
    """Every measure's components month by month over the KPIs' spans, one read per dataset."""
    measures: dict[str, KpiDef] = {}
    measure_span: dict[str, tuple[Month, Month]] = {}
    for kpi in kpis:
        for measure in engine.measures_of(project, kpi):
            measures[measure.id] = measure
            low, high = measure_span.get(measure.id, spans[kpi.id])
            measure_span[measure.id] = (min(low, spans[kpi.id][0]), max(high, spans[kpi.id][1]))
    by_dataset: dict[str, list[KpiDef]] = {}
    for measure in measures.values():
        by_dataset.setdefault(measure.source, []).append(measure)
    parts: engine.Monthly = {}
    for dataset_id, group in by_dataset.items():
        first = min(measure_span[m.id][0] for m in group)
        last = max(measure_span[m.id][1] for m in group)
        wanted = [str(Month(i)) for i in range(first.index, last.index + 1)]
        # As the summary computes its windows: streaming, medians from per-value counts.
        parts.update(engine.monthly_parts(project, dataset_id, group, wanted, as_of))
    return parts
