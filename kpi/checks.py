"""Checks on a period's figures: reconciliations and data coverage. Pure: no printing.

A reconciliation ([[checks]] in kpi.toml) says that some KPIs are the parts of another: their
values over the period's window must sum to the total's, within a tolerance. Reports built by
hand break this (the November 2025 West Midlands report's ASB categories sum to 26,848, not the
26,613 incidents it reports); a toolkit that computes from extracts still needs the check, as
parts and totals often come from different systems.

Data checks need no configuration: every live KPI must have complete windows for the period
(ending where the period asks: a stale KPI fails), and no dataset may have months missing
inside the span it covers, nor any part of a dataset loaded part by part (`replace_by`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from kpi import engine, store
from kpi.catalogue import Check, KpiDef, Project, Status
from kpi.catalogue import places as render_places
from kpi.errors import ConfigError, DataError, UsageError, no_data
from kpi.periods import Comparison, Month, gaps
from kpi.rounding import EXCEL_DIGITS, fixed, rounded, target_places, total_less_parts
from kpi.store import AsOf


class CheckKind:
    """What a check looks at (a str so JSON and CSV carry it as it is)."""

    RECONCILIATION = "reconciliation"
    COVERAGE = "coverage"  # a KPI's windows for the period are incomplete
    GAPS = "gaps"  # a dataset has months missing inside its span
    QUALITY = "quality"  # a KPI's rows have a data-quality note (engine.quality_notes)


@dataclass(frozen=True)
class Part:
    """A KPI's value in a check, over the period's window."""

    kpi: str
    title: str
    value: float | None
    window: str | None  # the window's label, e.g. "year ending September 2025"


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome, with the figures behind it."""

    id: str
    title: str
    kind: str
    passed: bool
    message: str
    total: Part | None = None
    parts: tuple[Part, ...] = ()
    difference: float | None = None  # total minus the sum of the parts
    # A reconciliation over the comparison window too (the figure each change is made
    # from), where the total and every part have one; None where one has none.
    comparison: WindowSum | None = None

    @property
    def made(self) -> bool:
        """Whether a reconciliation had every figure it adds up (its total and each part)."""
        return self.total is not None and self.total.value is not None and all(
            p.value is not None for p in self.parts)

    @property
    def windows_differ(self) -> bool:
        """Whether a window's total and parts cover different months (no sum was made)."""
        return (self.kind == CheckKind.RECONCILIATION and self.made
                and (self.difference is None or (self.comparison is not None
                                                 and self.comparison.difference is None)))


@dataclass(frozen=True)
class WindowSum:
    """A reconciliation over one window: its total, its parts, and the total less their sum
    (None where they cover different months)."""

    total: Part
    parts: tuple[Part, ...]
    difference: float | None
    passed: bool
    message: str


@dataclass(frozen=True)
class CheckReport:
    """Every check's result for a period."""

    period: Month
    results: tuple[CheckResult, ...]
    # The comparison the windows were checked against (`kpi check --vs`).
    comparison: Comparison = Comparison.BASELINE

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        """The checks that failed."""
        return tuple(r for r in self.results if not r.passed)


def run_checks(project: Project, period: Month, as_of: AsOf | None = None,
               *, data: bool = True, vs: Comparison = Comparison.BASELINE) -> CheckReport:
    """Every reconciliation declared in the project, then (with `data`) the data checks, the
    windows against the comparison `vs` (as kpi summary and the paper read them).

    One evaluation serves them all, so each dataset is scanned once."""
    live = [k for k in project.kpis if k.status == Status.LIVE] if data else []
    wanted = {k.id: k for k in live}
    for check in project.checks:
        for kpi_id in (check.total, *check.parts):
            wanted.setdefault(kpi_id, project.known_kpi(kpi_id))
    if not wanted:
        if data:  # no live KPI either: nothing for the data checks to read
            raise UsageError(f"nothing to check in {project.path.name}: it declares no [[checks]] "
                             "and no live KPI ([[kpis]]) for the data checks",
                             hint="declare KPIs ([[kpis]]) or reconciliations ([[checks]])")
        raise UsageError(f"nothing to check in {project.path.name}: it declares no [[checks]] "
                         "and --no-data leaves out the data checks",
                         hint="leave out --no-data, or declare reconciliations ([[checks]])")
    # A KPI of a table stored under another declaration than kpi.toml's has no figure: each
    # check that reads one fails naming why, and the others are made, so one drifted dataset
    # does not hide every other check (nor is its KPI passed over as if it had no data).
    drifted = _drifted(project, wanted.values(), as_of)
    readable = [k for k in wanted.values() if _drift_of(project, k, drifted) is None]
    if not readable and drifted:
        raise next(iter(drifted.values()))
    report = engine.evaluate(project, period, vs, readable, as_of=as_of)
    # With nothing to check (an empty store, a period before every month stored), the period
    # is refused as kpi summary refuses it, not reported as a check failing for each KPI and
    # dataset. A period inside the data with no KPI complete (a month missing) is what the
    # checks are for: they say which months are missing.
    if _none_has_data(report) and not _held_by(project, report, period, as_of):
        require_some_data(project, report, period)
    results = []
    for check in project.checks:
        refused = next((d for k in (check.total, *check.parts)
                        if (d := _drift_of(project, project.known_kpi(k), drifted))), None)
        results.append(_reconcile(project, check, period, report) if refused is None else
                       CheckResult(check.id, check.title, CheckKind.RECONCILIATION, False,
                                   f"not checked: {refused.message}"))
    if data:
        results += [CheckResult(f"coverage_{k.id}", k.title, CheckKind.COVERAGE, False,
                                f"'{k.id}': not computed: {refused.message}")
                    for k in live if (refused := _drift_of(project, k, drifted))]
        kept = [k for k in live if _drift_of(project, k, drifted) is None]
        results += _coverage(kept, period, report)
        results += _gaps(project, as_of)
        results += _quality(kept, report)
    return CheckReport(period=period, results=tuple(results), comparison=vs)


def _drifted(project: Project, kpis: Iterable[KpiDef], as_of: AsOf | None
             ) -> dict[str, store.DeclarationChanged]:
    """The datasets these KPIs read that were stored under another declaration than
    kpi.toml's (`store._check_read` refuses every read of them), with the refusal."""
    out: dict[str, store.DeclarationChanged] = {}
    datasets = {m.dataset for k in kpis for m in engine.measures_of(project, k)}
    for dataset_id in sorted(d for d in datasets if d in project.datasets):
        if not store.exists(project, dataset_id):
            continue
        try:
            store.months(project, dataset_id, as_of)
        except store.DeclarationChanged as exc:
            out[dataset_id] = exc
        except DataError:
            pass  # an --as-of before the table, say: the evaluation reports it
    return out


def _drift_of(project: Project, kpi: KpiDef, drifted: dict[str, store.DeclarationChanged]
              ) -> store.DeclarationChanged | None:
    """The refusal of a dataset the KPI reads, if one was stored under another declaration."""
    return next((drifted[m.dataset] for m in engine.measures_of(project, kpi)
                 if m.dataset in drifted), None)


def require_some_data(project: Project, report: engine.Report, period: Month) -> None:
    """Refuse (kpi.errors.no_data, exit 3) a period for which no live KPI of the report has
    data: every command's one refusal of it (kpi summary, check, export). The reason named is
    the first such KPI's whose dataset holds rows ("no data on or before 2019-01"), or, when
    none does, that nothing is stored yet. A report of no KPI at all (a kpi.toml declaring
    none, or a priority whose KPIs are all hidden) is refused too: it printed an empty table,
    and a board paper "Of the 0 KPIs reported" with "No KPI is an exception this month", exit
    0."""
    if not report.results:
        if not project.kpis:
            why, hint = "it declares none", "declare KPIs as [[kpis]] tables (docs/catalogue.md)"
        elif all(k.hidden for k in project.kpis):
            why, hint = ("every KPI it declares is hidden",
                         "take hidden = true off the KPIs to report")
        else:
            why, hint = ("every KPI of the priority asked for is hidden",
                         "ask for another priority, or take hidden = true off its KPIs")
        raise ConfigError(f"{project.path.name}: no KPI to report: {why}", hint=hint)
    if _none_has_data(report):
        live = [r for r in report.results if r.status != engine.Outcome.IN_DEVELOPMENT]
        raise no_data_for(project, period, [(r.kpi, r.note) for r in live])


def _none_has_data(report: engine.Report) -> bool:
    """Whether the report has live KPIs and none of them a current window."""
    live = [r for r in report.results if r.status != engine.Outcome.IN_DEVELOPMENT]
    return bool(live) and all(r.status == engine.Outcome.NO_DATA and r.current is None
                              for r in live)


def _held_by(project: Project, report: engine.Report, period: Month,
             as_of: AsOf | None) -> bool:
    """Whether a dataset the report's KPIs read holds a month on or before the period."""
    datasets = {m.dataset for r in report.results for m in engine.measures_of(project, r.kpi)
                if m.dataset in project.datasets}
    for dataset_id in sorted(d for d in datasets if d is not None):
        if store.exists(project, dataset_id):
            months = store.months(project, dataset_id, as_of)
            if months and months[0] <= period:
                return True
    return False


def no_data_for(project: Project, period: object, kpis: list[tuple[KpiDef, str | None]],
                by: str | None = None, as_of: AsOf | None = None) -> DataError:
    """The refusal of a period none of these KPIs (each with its note) has data for: why, by
    `why_no_data`, with the remedy of a month its data holds only in part leading the hint
    (`engine.in_part_remedy`)."""
    said, kpi, note = why_no_data(project, kpis)
    remedy = engine.in_part_remedy(project, kpi, note, as_of) if kpi is not None else None
    return no_data(period, said, by=by, remedy=remedy)


def why_no_data(project: Project, kpis: list[tuple[KpiDef, str | None]]
                ) -> tuple[str, KpiDef | None, str | None]:
    """Why none of these KPIs (each with its note) has data, with the KPI and note it names:
    the first whose datasets hold rows, by its note ("total_crime: no data on or before
    2019-01"), rather than one whose dataset is simply empty; else the first KPI's note
    ("dataset 'calls' has no data yet"); or, when no dataset of the project holds a row, that
    nothing is stored yet (no KPI, no note)."""
    for kpi, note in kpis:
        if all(store.exists(project, m.dataset) for m in engine.measures_of(project, kpi)
               if m.dataset in project.datasets):
            return f"{kpi.id}: {note or 'no rows'}", kpi, note
    if kpis and any(store.exists(project, d) for d in project.datasets):
        kpi, note = kpis[0]
        return f"{kpi.id}: {note or 'no rows'}", kpi, note
    return "nothing is stored yet (every dataset is empty)", None, None


def from_report(project: Project, report: engine.Report, live: list[KpiDef],
                reconciled: Sequence[Check] | None = None) -> tuple[CheckResult, ...]:
    """The reconciliations (`reconciled`, or every check of the project) and coverage checks
    of a report already evaluated with every KPI they read (the board paper's, which reads
    each dataset once): no data is read here."""
    results = [_reconcile(project, check, report.period, report)
               for check in (project.checks if reconciled is None else reconciled)]
    return tuple(results + _coverage(live, report.period, report))


def _part(result: engine.KpiResult, window: str = "current") -> Part:
    measured = result.current if window == "current" else result.comparison
    return Part(kpi=result.kpi.id, title=result.kpi.title,
                value=measured.value if measured else None,
                window=measured.window.label if measured else None)


def _summed(check: Check, total: Part, parts: Sequence[Part], places: int) -> WindowSum:
    """The parts of one window against its total, every figure known: the one rule of a
    reconciliation, for the current window and the comparison window alike. Its figures
    print to `places` decimals at least (the most its KPIs print to), or more
    (`_check_places`)."""
    assert total.value is not None and all(p.value is not None for p in parts)
    part_values = [p.value for p in parts if p.value is not None]
    windows = {p.window for p in (total, *parts) if p.window is not None}
    if len(windows) > 1:
        return WindowSum(total, tuple(parts), None, False,
                         "the total and its parts cover different windows "
                         f"({', '.join(sorted(windows))})")
    summed_value, difference = total_less_parts(total.value, part_values)
    passed = abs(difference) <= check.tolerance
    # The tolerance is printed beside a difference (a pass within it, or a failure of a
    # check that has one): "beyond the tolerance" left a reader to guess how far it reached.
    beside = check.tolerance if difference and (passed or check.tolerance) else None
    at = _check_places(part_values, summed_value, total.value, difference, beside, places)

    def figure(value: float) -> str:
        return _figure(value, at)

    summed = " + ".join(figure(v) for v in part_values)
    # Said which way round: "a difference of -235" left a reader to work out whether the
    # parts or the total was the larger.
    more = "more" if difference < 0 else "less"
    if passed and difference == 0:
        message = f"{summed} = {figure(total.value)} ({total.window})"
    elif passed:
        # within the tolerance, never written as equal: "16 + 1,440 = 1,468" beside a
        # difference of 12
        message = (f"{summed} = {figure(summed_value)}, "
                   f"{figure(abs(difference))} {more} than the total of "
                   f"{figure(total.value)} ({total.window}), within the tolerance of "
                   f"{_tolerance(check.tolerance, at)}")
    else:
        message = (f"parts sum to {figure(summed_value)} ({summed}), "
                   f"{figure(abs(difference))} {more} than the total of "
                   f"{figure(total.value)} ({total.window})"
                   + (f", beyond the tolerance of {_tolerance(check.tolerance, at)}"
                      if check.tolerance else ""))
    return WindowSum(total, tuple(parts), difference, passed, message)


def _reconcile(project: Project, check: Check, period: Month,
               report: engine.Report) -> CheckResult:
    """A reconciliation over the current window and, where the total and every part have
    one, the comparison window: each change printed is made from both figures, so parts
    that add up now but not then would leave a change that does not add up."""
    kpis = [project.known_kpi(check.total), *(project.known_kpi(p) for p in check.parts)]
    results = [report.known_result(k.id) for k in kpis]
    total, *parts = (_part(r) for r in results)
    missing = next((p for p in (total, *parts) if p.value is None), None)
    if missing is not None:
        note = report.known_result(missing.kpi).note or "no value"
        return CheckResult(check.id, check.title, CheckKind.RECONCILIATION, False,
                           f"'{missing.kpi}' cannot be computed for {period}: {note}",
                           total, tuple(parts))
    places = max(render_places(k) for k in kpis)
    now = _summed(check, total, parts, places)
    then_total, *then_parts = (_part(r, "comparison") for r in results)
    then = None
    message = now.message
    if all(p.value is not None for p in (then_total, *then_parts)):
        then = _summed(check, then_total, then_parts, places)
        message = (f"{now.message}; {then.message}" if now.passed == then.passed
                   else f"{now.message}; but {then.message}" if now.passed
                   else f"{now.message}; {then.message}")
    elif (held := next((p for p in (then_total, *then_parts) if p.value is not None),
                       None)) is not None:
        # the total's figure missing as a part's is: said, never a pass of one window read
        # as the check's whole
        lacking = next(p for p in (then_total, *then_parts) if p.value is None)
        message += (f"; not checked over the comparison window ({held.window}): "
                    f"'{lacking.kpi}' has no figure for it")
    else:
        # no KPI of the check has a comparison figure: said too, so a pass is read as of
        # the current window alone (a baseline with a month missing passed unsaid)
        why = report.known_result(check.total).note
        message += ("; not checked over the comparison window: neither the total nor any "
                    "part has a figure for it" + (f" ({why})" if why else ""))
    return CheckResult(check.id, check.title, CheckKind.RECONCILIATION,
                       now.passed and (then is None or then.passed), message, total,
                       tuple(parts), now.difference, then)


def _coverage(live: list[KpiDef], period: Month, report: engine.Report) -> list[CheckResult]:
    """A failure for each live KPI whose windows for the period are incomplete."""
    out = []
    for result in (report.known_result(k.id) for k in live):
        if result.status in (engine.Outcome.NO_DATA, engine.Outcome.STALE):
            out.append(CheckResult(f"coverage_{result.kpi.id}", result.kpi.title,
                                   CheckKind.COVERAGE, False,
                                   f"'{result.kpi.id}': {result.note}"))
    if not out:
        out.append(CheckResult("coverage", "Every live KPI has complete windows",
                               CheckKind.COVERAGE, True,
                               f"{len(live)} live KPIs computed for {period}"))
    return out


def _quality(live: list[KpiDef], report: engine.Report) -> list[CheckResult]:
    """A failure for each live KPI whose current window's rows have a data-quality note."""
    results = [report.known_result(k.id) for k in live]
    out = [CheckResult(f"quality_{r.kpi.id}", r.kpi.title, CheckKind.QUALITY, False,
                       f"'{r.kpi.id}': {'; '.join(r.quality)}")
           for r in results if r.quality]
    # Said of the KPIs that have rows to check, those with a current window: with none (an
    # empty store, a period before the data), "checked" would claim a check that read
    # nothing; a KPI of no status for want of its comparison window had its rows checked.
    held = sum(r.current is not None for r in results)
    checked = (f"{held} of {len(live)} live KPIs' rows checked" if held
               else f"no rows to check for the {len(live)} live KPIs")
    return out or [CheckResult("quality", "No data-quality note on any KPI", CheckKind.QUALITY,
                               True, checked)]


def _gaps(project: Project, as_of: AsOf | None) -> list[CheckResult]:
    """A failure for each dataset with months missing between its first and last month; and
    for each that holds a month only in part (`engine.held_in_part`), a passing row
    saying so: the month is held, yet no window counts it (a KPI whose window would end in
    it fails its coverage, stale)."""
    out = []
    partly: list[CheckResult] = []
    checked = 0
    for dataset_id in sorted(project.datasets):
        if not store.exists(project, dataset_id):
            out.append(CheckResult(f"gaps_{dataset_id}", f"Dataset '{dataset_id}'",
                                   CheckKind.GAPS, False,
                                   f"dataset '{dataset_id}' has no data yet"))
            continue
        try:
            months = store.months(project, dataset_id, as_of)
        except DataError as exc:
            out.append(CheckResult(f"gaps_{dataset_id}", f"Dataset '{dataset_id}'",
                                   CheckKind.GAPS, False, exc.message))
            continue
        checked += 1
        if early := engine.held_in_part(project, dataset_id, as_of):
            said = "; ".join(f"{m} only in part ({why.reason()})"
                             for m, why in sorted(early.items()))
            partly.append(CheckResult(
                f"in_part_{dataset_id}", f"Dataset '{dataset_id}'", CheckKind.GAPS, True,
                f"dataset '{dataset_id}' holds {said}: no window counts it until it is "
                + ("loaded again after it ends" if all(w.loaded for w in early.values())
                   else "loaded whole, or declared whole as stored (whole_months)")))
        # Counted on kpi.toml's word (`whole_months`), though its rows run short: said.
        if declared := engine.declared_whole(project, dataset_id, as_of):
            said = "; ".join(f"{m} ({why.rows()})" for m, why in sorted(declared.items()))
            partly.append(CheckResult(
                f"declared_whole_{dataset_id}", f"Dataset '{dataset_id}'", CheckKind.GAPS, True,
                f"dataset '{dataset_id}' counts {said} as whole, as kpi.toml declares it "
                "(whole_months)"))
        missing = gaps(months)
        if missing:
            listed = ", ".join(str(m) for m in missing[:6]) + (" ..." if len(missing) > 6 else "")
            out.append(CheckResult(f"gaps_{dataset_id}", f"Dataset '{dataset_id}'",
                                   CheckKind.GAPS, False,
                                   f"dataset '{dataset_id}' has no data for {listed} "
                                   f"({len(missing)} month(s) inside {months[0]}..{months[-1]})"))
        # A dataset loaded part by part: a month one force holds is no proof of the others.
        for label, missing in engine.part_gaps(project, dataset_id, as_of):
            listed = ", ".join(str(m) for m in missing[:6]) + (" ..." if len(missing) > 6 else "")
            out.append(CheckResult(f"gaps_{dataset_id}", f"Dataset '{dataset_id}'",
                                   CheckKind.GAPS, False,
                                   f"dataset '{dataset_id}': {label} has no data for {listed} "
                                   f"({len(missing)} month(s) never loaded for it)"))
    if not any(r.kind == CheckKind.GAPS for r in out):
        out.append(CheckResult("gaps", "No dataset has missing months", CheckKind.GAPS, True,
                               f"{checked} datasets checked"))
    return out + partly


def _check_places(parts: Sequence[float], summed: float, total: float, difference: float,
                  tolerance: float | None, places: int) -> int:
    """The decimals a reconciliation's figures that are not whole print to (a whole one prints
    whole): two at least, or its KPIs' `places` where more, or the fewest more at which the
    figures as printed say what the verdict says. The sum and the total print apart where
    they differ, the difference never prints as zero, and it stands against the tolerance
    printed beside it (`tolerance`, None where none is) as it does; and, where some places
    make it so, the parts as printed add up to their sum as printed, and the total less that
    sum is the difference as printed. Parts of 1.005 and 1.005 against a total of 2.013 and
    a tolerance of 0.004 printed "1.01 + 1.01 = 2.01, 0.003 less than the total of 2.01 ...,
    within the tolerance of 0.00"; they print "1.005 + 1.005 = 2.010, 0.003 less than the
    total of 2.013 ..., within the tolerance of 0.004". Figures that differ only past the 15
    significant digits Excel shows print alike at any places (`rounding.rounded`), so the
    arithmetic of figures no decimal holds (a third) is not asked of them."""
    start = max(2, places)

    def told(at: int) -> bool:  # the verdict, as printed
        if summed != total and rounded(summed, at) == rounded(total, at):
            return False
        if difference and rounded(difference, at).is_zero():
            return False
        if tolerance is None:
            return True
        shown = rounded(tolerance, target_places(tolerance, at))
        return _order(rounded(abs(difference), at), shown) == _order(abs(difference), tolerance)

    def adds_up(at: int) -> bool:  # the arithmetic, as printed
        shown = rounded(summed, at)
        return (sum((rounded(v, at) for v in parts), Decimal(0)) == shown
                and rounded(total, at) - shown == rounded(difference, at))

    told_at = [at for at in range(start, start + EXCEL_DIGITS + 1) if told(at)]
    return next((at for at in told_at if adds_up(at)), told_at[0] if told_at else start)


def _order(a: float | Decimal, b: float | Decimal) -> int:
    return (a > b) - (a < b)


def _figure(value: float, places: int) -> str:
    """A check's figure: whole, or to `places` decimals (`_check_places`)."""
    return fixed(value, 0 if float(value).is_integer() else places, grouping=True)


def _tolerance(tolerance: float, places: int) -> str:
    """A check's tolerance: whole, or to `places` decimals or as many as it is written with
    where more (a tolerance of 0.004 printed "0.00" beside figures of two places)."""
    return _figure(tolerance, target_places(tolerance, places))
