"""Parts side by side: every KPI that can be split by a column (force, LPA, local authority),
each part's current and comparison values, change, status, rank, per 1,000 population, and
whether it differs from the rest of the group (or the focus part) beyond chance.

Like the summary, a dataset is read once: every (KPI, window, component) of a dataset is one
aggregation grouped by the column, over one lazy scan of the windows' months.
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl

from kpi import engine, render, stats, store, verdicts
from kpi.cache import read_by_content
from kpi.catalogue import (
    BOUNDS,
    BOUNDS_HINT,
    BREAKDOWN_TYPES,
    NOT_SPLIT,
    Better,
    DatasetSpec,
    Kind,
    KpiDef,
    PeerGroup,
    PopulationSource,
    Project,
    Status,
    Unit,
    column_type,
)
from kpi.dateparts import quarter_cut
from kpi.engine import Change, Measured
from kpi.errors import ConfigError, DataError, KpiError, UsageError, did_you_mean, option
from kpi.expressions import polars_expr
from kpi.periods import Comparison, Month, Window, WindowKind
from kpi.rounding import fixed, held, mean_of, median_of, quotient
from kpi.store import AsOf
from kpi.text import SPELLINGS, identity_key, identity_keys

# Counts that a population turns into a rate per 1,000.
PER_POPULATION_KINDS = (Kind.COUNT, Kind.SUM, Kind.WEIGHTED_SCORE)
SELECTED = "__selected"
HELD = "__months"
# Of the rows a KPI counts in its current window: how many (CURRENT_ROWS), and how many are
# not blank in each column its numerator or value reads (KNOWN + the column): a part with
# rows and none known there has no figure of that KPI (`engine.measured_columns`).
CURRENT_ROWS = "__current_rows"
KNOWN = "__known\t"


@dataclass(frozen=True)
class PartResult:
    name: str
    current: Measured | None
    comparison: Measured | None
    change: Change | None
    status: str
    rank: int | None
    population: float | None = None
    per_1000: float | None = None
    vs_rest: stats.Significance | None = None  # this part against the others pooled
    vs_focus: stats.Significance | None = None  # this part against the focus part
    # A count's: this part's change against the others' pooled change (stats.against_rest),
    # the test by which the board paper finds a part whose change stands out.
    change_vs_rest: stats.Significance | None = None
    # The parts of each other column telling parts of the data apart whose rows this part's
    # figure adds together (`_with_part_covers`): a crime type's, of three forces loaded.
    covers: tuple[engine.Covered, ...] = ()

    def __post_init__(self) -> None:
        # Its change and status as far as its two figures alone say (engine.unfigured); what
        # needs its KPI (the unit's points or absolute change, the places, the status's
        # direction and band) is checked with it, in KpiComparison (engine.underived).
        if (why := engine.unfigured(self.current, self.comparison, self.change,
                                    self.status)) is not None:
            raise ValueError(f"part '{self.name}': {why}")


@dataclass(frozen=True)
class KpiComparison:
    kpi: KpiDef
    current: Window | None
    comparison: Window | None
    parts: tuple[PartResult, ...]
    ranked_on: str | None  # "per_1000", "value", or None (no better direction, or no values)
    mean: float | None
    median: float | None
    mean_per_1000: float | None = None
    median_per_1000: float | None = None
    note: str | None = None
    # The focus part as this KPI's dataset spells it (another dataset may spell it otherwise),
    # or None when the comparison has no focus or the KPI's parts hold none.
    focus: str | None = None
    # Where the populations its parts' per 1,000 divide by come from: the [population_by]
    # file's declared source (an empty PopulationSource where it declares none), None where
    # no part has a population (kpi.render.population_fields).
    population: PopulationSource | None = None
    # Of a peer result (`peer_result`): every part of the group's column whose rows the KPI's
    # own figure adds together in its current window, the group's or not, a part of no value
    # (blank rows) as None. The KPI's figure is theirs together, not the focus's alone.
    whole: tuple[str | None, ...] = ()

    def __post_init__(self) -> None:
        for part in self.parts:  # each part's change and status from its figures, as a KPI's
            if (why := engine.underived(self.kpi, part.current, part.comparison, part.change,
                                        part.status)) is not None:
                raise ValueError(f"KPI '{self.kpi.id}', part '{part.name}': {why}")


@dataclass(frozen=True)
class PeerComparison:
    period: Month
    vs: Comparison
    by: str
    focus: str | None
    peers: PeerGroup | None
    kpis: tuple[KpiComparison, ...]
    versions: dict[str, int]
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# Populations of parts


@read_by_content
def read_populations(path: Path, column: str) -> pl.DataFrame:
    """A population reference for the parts of `column`: each part's population and the year
    of the estimate, its columns bound by their names in any order (`_population_columns`),
    checked like a weights file: numbers where numbers belong, each (part, year) once."""
    from kpi.text import reference_table

    frame = reference_table(path, "population file",
                            f"write it as CSV, comma separated, with a heading row such as "
                            f"'{column},population,year'")
    part, population, year = _population_columns(path, frame.columns, column)

    # Parts are keyed by the one rule naming a part (kpi.text.identity_key): 'kent' and
    # 'Birmingham  East' are the populations of the stored 'Kent' and 'Birmingham East', not
    # "no population for Kent", as the check of the data's spellings calls them one.
    typed = frame.with_row_index("row", offset=2).select(
        "row", identity_key(pl.col(part)).alias("part"),
        pl.col(part).alias("written"),
        pl.col(population).str.strip_chars().str.replace_all(",", "")
        .cast(pl.Float64, strict=False).alias("population"),
        pl.col(year).str.strip_chars().cast(pl.Int64, strict=False).alias("year"))
    for role, source in (("population", population), ("year", year)):
        bound = BOUNDS[f"population file: {role}"]
        bad = typed.with_columns(found=frame.get_column(source)).filter(
            bound.outside(pl.col(role).cast(pl.Float64)))
        if bad.height:
            raise ConfigError(f"{path}, row {bad['row'][0]}, column '{source}': expected "
                              f"{'a population that is ' if role == 'population' else ''}"
                              f"{bound.text()}, found '{bad['found'][0] or ''}'",
                              hint=BOUNDS_HINT)
    blank = typed.filter(pl.col("part").is_null() | (pl.col("part") == ""))
    if blank.height:
        raise ConfigError(f"{path}, row {blank['row'][0]}, column '{part}': expected a name")
    again = typed.filter(~pl.struct("part", "year").is_first_distinct())
    if again.height:
        raise ConfigError(f"{path}, row {again['row'][0]}, column '{part}': found "
                          f"'{again['written'][0]}' for {again['year'][0]} again (parts "
                          "ignore case, spacing and Unicode form)",
                          hint="give each part one population a year")
    return typed.drop("row", "written")


def _population_columns(path: Path, names: list[str], column: str) -> tuple[str, str, str]:
    """The headings of a population file's part, population and year, bound by name alone:
    the part's is `part` or the name of the column it gives the populations of (`force`, as
    [population_by] keys it), the others `population` and `year`, in any order, ignoring
    case and spacing. Read by position, a file headed 'force,period,residents' (or
    'nbhd,year,population') took each year as the population and each population as the
    year: where the populations lay in 1900 to 2100 (a neighbourhood's) nothing was refused
    and Avon's 18 crimes were 8.9 per 1,000 of "2,024 people" where its 1,990 give 9.0, exit
    0. Any other column is not read (a file's source, the blank column of a trailing comma
    Excel writes), so 'lpa,population,year,source' reads as 'lpa,population,year'; a file
    without one of the three names, or naming one twice, is refused on row 1: the one rule
    of which column is which."""
    def folded(name: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()

    own = column if folded(column) not in ("part", "population", "year") else "part"
    spellings = {"part": {"part", folded(own)}, "population": {"population"}, "year": {"year"}}
    hint = (f"name the columns {own}{' (or part)' if own != 'part' else ''}, population and "
            "year, in any order")
    bound: dict[str, str] = {}
    unread: list[str] = []
    for name in names:
        # a heading written twice is kept apart by a suffix (kpi.text.reference_table)
        written = re.sub(r"_duplicated_\d+$", "", name)
        written = written if written != name and written in names else name
        role = next((r for r, known in spellings.items() if folded(written) in known), None)
        if role is None:
            unread.append(written)
            continue
        if role in bound:
            raise ConfigError(f"{path}, row 1, column '{written}': names the {role} again, "
                              f"after column '{bound[role]}'", hint=hint)
        bound[role] = name
    missing = [role for role in spellings if role not in bound]
    if missing:
        said = [f"'{own if role == 'part' else role}'" for role in missing]
        others = [f"'{name}'" for name in dict.fromkeys(unread) if name.strip()]
        raise ConfigError(f"{path}, row 1: no column {' or '.join(said)}"
                          + (f" (kpi does not read {', '.join(others)})" if others else ""),
                          hint=hint)
    return bound["part"], bound["population"], bound["year"]


def populations_for(project: Project, column: str, year: int) -> dict[str, float]:
    """Each part's population in the latest year of the reference on or before `year`, keyed
    by kpi.text.identity_key, as compare looks a stored part up (`_parts_by_key`)."""
    return {part: population for part, (population, _) in
            _latest_populations(project, column, year).items()}


def population_years(project: Project, column: str, year: int) -> dict[str, int]:
    """The year of each part's population `populations_for` gives, keyed as it keys them."""
    return {part: of for part, (_, of) in _latest_populations(project, column, year).items()}


def _latest_populations(project: Project, column: str, year: int
                        ) -> dict[str, tuple[float, int]]:
    relative = project.population_by.get(column)
    if relative is None:
        return {}
    frame = read_populations(project.resolve(relative), column).filter(pl.col("year") <= year)
    latest = frame.sort("year").group_by("part").agg(pl.col("population").last(),
                                                     pl.col("year").last())
    return {part: (population, of) for part, population, of in latest.iter_rows()}


# ---------------------------------------------------------------------------------------------
# Comparing


def per_population(project: Project, kpi: KpiDef, column: str) -> bool:
    """Whether `kpi compare` gives a KPI's parts of `column` a rate per 1,000 people, and ranks
    them on it where every part with a figure has a population (`ranked_on`): a count, sum or
    harm score, the column having a `[population_by]` file. Whether they are ranked on it
    is `ranks_per_1000`'s answer."""
    return (kpi.kind in PER_POPULATION_KINDS and kpi.unit != Unit.PERCENT
            and column in project.population_by)


def ranks_per_1000(project: Project, kpi: KpiDef, by: str, period: Month, vs: Comparison,
                   as_of: AsOf | None) -> bool:
    """Whether `kpi compare --by BY` ranks a KPI's parts per 1,000 population (its JSON's
    `ranked_on`), by comparing them: where they have rates per 1,000 (`per_population`),
    every part with a figure has a population and the KPI has a better direction. A part the
    `[population_by]` file has no population for ranks them all on the values ("no
    population for C: ranked on the values"), which the declaration alone cannot tell. The
    one answer `kpi show` gives of how compare ranks the parts it ranks on their figures.
    Where compare refuses the comparison (a population file it cannot read, a window it
    will not cut), it ranks nothing, so no: `kpi show`'s own figures do not rest on it, and
    `kpi compare` says why."""
    if not per_population(project, kpi, by) or splittable(project, kpi, by) is not None:
        return False
    try:
        return compare(project, period, by, vs, [kpi], as_of=as_of).kpis[0].ranked_on == \
            "per_1000"
    except KpiError:
        return False


def _none_by(project: Project, by: str) -> UsageError:
    """Why no KPI can be compared by `by`, a column of a dataset, and what would let one be:
    never "did you mean 'lpa'?" of the column 'lpa' given. Said of the column where its type
    is why (its parts would be no categories), else of the first KPI shown (not hidden) of a
    dataset holding it, else of the KPIs shown reading none that does."""
    shown = [k for k in project.kpis if not k.hidden]
    if not shown:
        hidden = [k.id for k in project.kpis]
        if hidden:
            return UsageError(f"no KPI can be compared by '{by}': every KPI is hidden "
                              "(hidden = true in kpi.toml)",
                              hint=f"name one to compare it: --kpi {hidden[0]}")
        return UsageError(f"no KPI can be compared by '{by}': kpi.toml declares no KPI",
                          hint=f"declare one ([[kpis]]) of a dataset holding '{by}'")
    holding = [k for k in shown
               if not k.is_derived and project.datasets[k.source].has_column(by)]
    if not holding:
        datasets = [repr(d) for d, spec in project.datasets.items() if spec.has_column(by)]
        return UsageError(f"no KPI can be compared by '{by}': no KPI shown reads a dataset "
                          "holding it",
                          hint=f"'{by}' is a column of {_listed(datasets)}: declare a KPI of "
                               f"{'it' if len(datasets) == 1 else 'one'}, or compare by a "
                               "column of a dataset a KPI reads")
    reasons = [(k, splittable(project, k, by)) for k in holding]
    assert all(reasons), "a shown KPI that can be compared is compared"
    # A live KPI of a kind compared by its parts: the column's type is why.
    typed = next((r for k, r in reasons if k.status == Status.LIVE
                  and k.kind not in NOT_SPLIT), None)
    if typed:
        return UsageError(f"no KPI can be compared by '{by}': {typed}",
                          hint="compare by a text, whole-number or true/false column")
    kpi, reason = reasons[0]
    hint = ("only live KPIs are compared (status = \"live\" in kpi.toml)"
            if kpi.status != Status.LIVE else
            f"a count compared by '{by}' with [population_by] {by} in kpi.toml gives each "
            "part's rate per 1,000")
    return UsageError(f"no KPI can be compared by '{by}': KPI '{kpi.id}': {reason}",
                      hint=hint)


def splittable(project: Project, kpi: KpiDef, column: str) -> str | None:
    """Why a KPI cannot be compared across the parts of a column, or None when it can."""
    if kpi.status != Status.LIVE:
        return "it is in development"
    if kpi.is_derived:
        return "it is a rate of two KPIs"
    if kpi.kind in NOT_SPLIT:
        return f"a {kpi.kind.value} KPI {NOT_SPLIT[kpi.kind]}"
    dataset = project.datasets[kpi.source]
    if not dataset.has_column(column):
        return f"dataset '{kpi.dataset}' has no column '{column}'"
    kind_of = column_type(dataset, column)
    if kind_of not in {t.value for t in BREAKDOWN_TYPES}:  # as a breakdown is checked
        what = (f"a {kind_of} column" if dataset.column(column) is not None
                else "a derived column of another type")
        return (f"'{column}' is {what}, and parts are categories (text, whole numbers or "
                "true/false)")
    return None


def compare(project: Project, period: Month, by: str, vs: Comparison = Comparison.BASELINE,
            kpis: Iterable[KpiDef] | None = None, peers: str | None = None,
            focus: str | None = None, as_of: AsOf | None = None) -> PeerComparison:
    """Every part of column `by` side by side, for each KPI that can be split by it (default:
    every visible KPI that can; a named KPI that cannot is a usage error). `by` ignores case
    (`LPA` is the column `lpa`) when it names one column."""
    columns = sorted({c for d in project.datasets.values()
                      for c in [*(x.name for x in d.columns), *(x.name for x in d.derived)]})
    if by not in columns:
        same = [c for c in columns if c.lower() == by.lower()]
        by = same[0] if len(same) == 1 else by
    group = _peer_group(project, peers, by)
    asked = focus
    if focus is None and group is not None:
        focus = group.focus  # the group's own part, when the data holds it
    if kpis is None:
        chosen = [k for k in project.kpis if not k.hidden and splittable(project, k, by) is None]
    else:
        # A KPI named twice is compared once (`--kpi crimes --kpi crimes` stopped on a query
        # error that blamed the expressions), as the summary lists it once.
        chosen = list({kpi.id: kpi for kpi in kpis}.values())
        for kpi in chosen:
            reason = splittable(project, kpi, by)
            if reason:
                raise UsageError(f"KPI '{kpi.id}' cannot be compared by '{by}': {reason}")
    if not chosen and by in columns:
        raise _none_by(project, by)
    if not chosen:
        raise UsageError(f"no KPI can be compared by '{by}'",
                         hint=did_you_mean(by, columns,
                                           f"columns of the datasets: {', '.join(columns)}"))

    versions: dict[str, int] = {}
    available = engine._available(project, {k.source for k in chosen}, as_of, versions)
    # A month held in part only because some parts' rows run short in it is held for the other
    # parts (`engine.held_by_part`); each such part is left out where it runs short.
    in_part: dict[str, dict[Any, dict[Month, store.InPart]]] = {}
    for dataset_id, held_months in available.items():
        if isinstance(held_months, engine.Held):
            available[dataset_id], in_part[dataset_id] = engine.held_by_part(
                project, dataset_id, as_of, by, held_months)
    plans: dict[str, engine.Plan] = {}
    held: dict[object, dict[tuple, list[Month]]] = {}  # held_parts of each dataset, read once
    for kpi in chosen:
        months = available[kpi.source]
        if isinstance(months, str):
            plans[kpi.id] = engine.Plan(None, None, months)
            continue
        plan = engine._plan_windows(project, kpi, period, vs, months, [kpi.source])
        cut = quarter_cut(project, [kpi.source], plan.current)
        if cut:
            raise UsageError(cut)
        if cut := quarter_cut(project, [kpi.source], plan.comparison):
            plan = plan._replace(comparison=None, note=f"comparison {cut}")
        plan = _whole_loads(project, kpi, by, plan, held, as_of)
        if plan.stale:
            plan = plan._replace(note="; ".join(n for n in (plan.stale, plan.note) if n))
        plans[kpi.id] = plan
    if any(plan.stale for plan in plans.values()):
        engine.require_reached(project, period, as_of)

    members = None
    if group is not None:
        members = [*group.members, *([focus] if focus and identity_keys([focus])[0] not in
                                     identity_keys(list(group.members)) else [])]
    requests: dict[str, list[KpiDef]] = {}
    for kpi in chosen:
        if plans[kpi.id][0] is not None:
            requests.setdefault(kpi.source, []).append(kpi)
    grouped = {dataset_id: _grouped(project, dataset_id, wanted, plans, by, members, as_of,
                                    group, asked)
               for dataset_id, wanted in requests.items()}
    # Members and focus named as the data spells them (kpi.text.identity_key, as population
    # files are): 'BURE' in kpi.toml is the stored 'Bure', and so is `--focus bure`. Spelled
    # otherwise by two datasets, a name is kept as written here, and each KPI's focus is its
    # own dataset's spelling (`KpiComparison.focus`).
    # Each dataset's parts by key, and every dataset's, worked out once (`_parts_by_key`).
    by_key = {dataset_id: _parts_by_key(rows) for dataset_id, rows in grouped.items()}
    everywhere = _parts_by_key({n for rows in grouped.values() for n in rows})
    if group is not None:
        named = [*group.members, *(f for f in (focus, group.focus) if f)]
        spelled = _spelled(named, everywhere)
        group = replace(group, members=tuple(spelled.get(m, m) for m in group.members),
                        focus=spelled.get(group.focus, group.focus) if group.focus else None)
    focus = _spelled([focus], everywhere).get(focus, focus) if focus else None
    keyed = set(everywhere)  # the parts any dataset compared holds, by key
    # The group's members and the focus, each said of in every KPI's table: listed, or named
    # in its note with why not, never left out of the group's ranking unsaid.
    wanted: list[str] = list(dict.fromkeys([*(group.members if group else ()),
                                            *([focus] if focus else [])]))

    results = []
    # the population file read once a year: each part's population, and the year it is of
    populations_of: dict[int, tuple[dict[str, float], dict[str, int]]] = {}
    told: dict[object, TOLD] = {}  # _told_months, read once a dataset
    for kpi in chosen:
        current, comparison, note, stale = plans[kpi.id][:4]
        if current is None:
            results.append(KpiComparison(kpi, None, None, (), None, None, None, note=note))
            continue
        rows = grouped[kpi.source]
        populations: dict[str, float] = {}
        years: dict[str, int] = {}
        if per_population(project, kpi, by):
            year = current.end.year
            if year not in populations_of:
                populations_of[year] = (populations_for(project, by, year),
                                        population_years(project, by, year))
            populations, years = populations_of[year]
        here = _spelled(wanted, by_key[kpi.source])  # as this dataset spells them
        own = here.get(focus) if focus else None
        # held by another dataset compared only (none at all: the comparison's notes say so)
        elsewhere = [m for m, k in zip(wanted, identity_keys(wanted), strict=True)
                     if m not in here and k in keyed]
        result = _compare_kpi(project, kpi, by, rows, by_key[kpi.source], current, comparison,
                              populations, own, note, stale, set(here.values()), elsewhere,
                              years, in_part.get(kpi.source, {}),
                              _unloaded(project, kpi.source, by, current, comparison, as_of),
                              _told_months(project, kpi, by, as_of, told))
        if any(p.population is not None for p in result.parts):
            result = replace(result, population=project.population_by_sources.get(
                by, PopulationSource()))
        results.append(result)
    notes = []
    # Whether the data holds a part is a matter of its rows in the months read, not of the
    # parts listed: a KPI with no figure (an incomplete window) lists none, and a part left
    # out for holding only some months of a window (named in the KPI's note) has rows. With
    # no dataset read, nothing is said of the parts.
    in_data = {name for rows in grouped.values() for name in rows if name is not None}
    if asked is None and focus is not None and grouped and identity_keys([focus])[0] not in keyed:
        assert group is not None  # the focus came from the group
        notes.append(f"the data holds no rows for {focus}, the focus of peer group "
                     f"'{group.id}'")
        focus = None
    if focus is not None and grouped and identity_keys([focus])[0] not in keyed:
        raise UsageError(f"{option('--focus')} '{focus}' is not a part of '{by}' in the data "
                         "compared",
                         hint=f"parts found: {', '.join(sorted(in_data)[:10]) or 'none'}")
    if group is not None and grouped:
        absent = [m for m, k in zip(group.members, identity_keys(list(group.members)),
                                    strict=True) if k not in keyed]
        if absent:
            notes.append(f"the data holds no rows for {', '.join(absent)} of peer group "
                         f"'{group.id}'")
    # What each part's figure adds together, which every face of the comparison says.
    results = _with_part_covers(project, results, by, as_of)
    return PeerComparison(period=period, vs=vs, by=by, focus=focus, peers=group,
                          kpis=tuple(results), versions=versions, notes=tuple(notes))


def _whole_loads(project: Project, kpi: KpiDef, by: str, plan: engine.Plan,
                 held: dict[object, dict[tuple, list[Month]]], as_of: AsOf | None
                 ) -> engine.Plan:
    """The plan with its windows adding the same parts of every column telling parts of the
    dataset apart but `by` (engine.held_parts, engine.whole_parts), as the summary's are: a
    part of another column (an LPA, across forces) sums the rows of every force, so a force
    never loaded for a month of a window, or holding rows in the year compared and none in
    the current one, would make each part's figure short of its rows. Compared by the one
    column the dataset is loaded by, each part is its own load, held whole or left out (with
    its months named) by `_compare_kpi`; compared by a peer group's column, each part is its
    own figure too."""
    spec = project.datasets[kpi.source]
    if plan.current is None:
        return plan
    if (key := engine.held_key(project, kpi)) not in held:
        held[key] = engine.held_parts(project, kpi.source, as_of, without=[by],
                                      picked=kpi if key != kpi.source else None)
    return engine.whole_parts(spec, held[key], plan) if held[key] else plan


def shared_notes(result: PeerComparison) -> list[str]:
    """The notes of the KPIs compared, each said once with the KPIs it is about: a dataset's
    stale note is the same for each of its KPIs, and was printed again for each."""
    shared: dict[str, list[str]] = {}
    for k in result.kpis:
        if k.note and k.parts:  # a KPI with no parts prints its note in place of its table
            for piece in k.note.split("; "):
                shared.setdefault(piece, []).append(k.kpi.id)
    return [f"{', '.join(ids[:3])}{f' and {len(ids) - 3} more' if len(ids) > 3 else ''}: "
            f"{text}" for text, ids in shared.items()]


def _peer_group(project: Project, peers: str | None, by: str) -> PeerGroup | None:
    if peers is None:
        return None
    group = project.peers.get(peers)
    if group is None:
        known = ", ".join(sorted(project.peers)) or "none declared"
        raise UsageError(f"unknown peer group '{peers}'", hint=f"peer groups: {known}")
    if group.column != by:
        raise UsageError(f"peer group '{peers}' is a group of '{group.column}', not '{by}'",
                         hint=f"use {option('--by', group.column)}")
    return group


def _parts_by_key(parts: Iterable[object]) -> dict[str, list[str]]:
    """The data's parts (blank aside) by the key naming them (kpi.text.identity_key), each
    key's spellings in order of name: the one map by which a name (a population file's part,
    a peer group's member or focus, `--focus`) finds a part. Over one dataset's parts a key
    has one spelling (`_grouped` refuses two, by the same rule); over several datasets' parts
    it may have one in each."""
    names = sorted(p for p in parts if isinstance(p, str))
    found: dict[str, list[str]] = {}
    for name, key in zip(names, identity_keys(names), strict=True):
        found.setdefault(key, []).append(name)
    return found


def _spelled(members: list[str], found: dict[str, list[str]]) -> dict[str, str]:
    """Each member (or focus) as the data spells the one part it names (`found`, the data's
    parts by key: `_parts_by_key`), for those the data holds under one spelling."""
    return {m: found[k][0] for m, k in zip(members, identity_keys(members), strict=True)
            if len(found.get(k, ())) == 1}


def _one_part_each(dataset_id: str, by: str, members: list[str], parts: Iterable[object],
                   group: PeerGroup, asked: str | None) -> None:
    """Refuse a member (or the focus) of a peer group that names two parts of the data, parts
    that differ only in case, spacing or Unicode form (`_parts_by_key`): the group would
    compare one of them as the member and leave the other out, or rank both."""
    found = _parts_by_key(parts)
    for member, key in zip(members, identity_keys(members), strict=True):
        if len(found.get(key, [])) > 1:
            first, second = found[key][:2]
            where = (f"{option('--focus')} '{member}'" if member == asked
                     and member not in group.members else
                     f"kpi.toml, [peers.{group.id}]: '{member}'")
            raise UsageError(f"{where} names both '{first}' and '{second}' of '{by}' in "
                             f"dataset '{dataset_id}', which {SPELLINGS}",
                             hint=f"write each {by} one way in the extracts and reload the "
                                  "months holding the other spelling")


def _grouped(project: Project, dataset_id: str, kpis: list[KpiDef],
             plans: dict[str, engine.Plan], by: str,
             members: list[str] | None, as_of: AsOf | None, group: PeerGroup | None = None,
             asked: str | None = None) -> dict[str, dict[str, float | None]]:
    """Every KPI's components for its windows, and the number of rows its filter selects in
    them, grouped by the column, from one lazy scan of the dataset. Keys: part -> alias ->
    value.

    Sums and order statistics (medians, percentiles) are two group-bys over that scan,
    evaluated together: Polars' group-by runs sums on its fast path only when no order
    statistic shares the query (at 2M rows the split took 4 s where one query took 8 s)."""
    frame = engine.prepare(project, dataset_id, kpis, as_of)
    months = sorted({str(m) for kpi in kpis for w in plans[kpi.id][:2] if w is not None
                     for m in w.months()})
    frame = frame.filter(pl.col("month").is_in(months))
    part = pl.col(by).cast(pl.String)
    if members is not None:  # matched as population files are (kpi.text.identity_key)
        frame = frame.filter(identity_key(part).is_in(identity_keys(members)))
    queries = []
    for additive in (True, False):
        exprs = [e for kpi in kpis if engine.RECIPES[kpi.kind].additive == additive
                 for e in _aggregations(kpi, plans[kpi.id], set(months), frame,
                                        project.datasets[dataset_id].months_per_row,
                                        project.datasets[dataset_id])]
        if exprs:
            queries.append(frame.group_by(part.alias("__part")).agg(exprs))
    try:
        tables = pl.collect_all(queries)
    except pl.exceptions.PolarsError as exc:
        overflow = engine.overflow_error(project, dataset_id, exc)
        if overflow is not None:
            raise overflow from None
        raise DataError(f"dataset '{dataset_id}': cannot compare its KPIs by '{by}' "
                        f"({str(exc).strip().splitlines()[0]})",
                        hint="check the KPI expressions against the stored columns") from None
    out: dict[str, dict[str, float | None]] = {}
    for table in tables:
        for row in table.iter_rows(named=True):
            out.setdefault(row.pop("__part"), {}).update(row)
    from kpi.ingest.identity import refuse_spellings  # the loader's package, read only here

    if group is not None and members is not None:
        _one_part_each(dataset_id, by, members, out, group, asked)
    refuse_spellings(dataset_id, by, out, "compare by")
    return out


def _aggregations(kpi: KpiDef, plan: engine.Plan, scanned: set[str],
                  frame: pl.LazyFrame, months_per_row: int = 1,
                  spec: DatasetSpec | None = None) -> list[pl.Expr]:
    """A KPI's components over its current and comparison windows, and the count of rows its
    filter selects in either (a part with none is not listed for it); of those in the current
    window, how many and how many are not blank in each column its numerator or value reads
    (`engine.measured_columns`). `scanned` are the months the query reads: when the KPI's
    windows are all of them, no month mask is needed."""
    exprs: list[pl.Expr] = []
    if plan[0] is not None and spec is not None and (
            read := engine.measured_columns(kpi, spec)):
        schema = frame.collect_schema()
        counted = engine.rows_of(kpi, plan[0])
        exprs.append(counted.sum().alias(f"{kpi.id}:{CURRENT_ROWS}"))
        exprs += [(counted & ~engine.blank_in(c, schema[c], spec)).sum()
                  .alias(f"{kpi.id}:{KNOWN}{c}") for c in read if c in schema]
    selected = None
    months: set[str] = set()
    current = plan[0]
    if current is not None and (
            settled := settled_window_of(kpi, current, months_per_row)) is not None:
        # The current window without its provisional months, which the parts are tested on.
        exprs += [e.alias(f"{kpi.id}:set:{name}")
                  for name, e in engine.components_of(kpi, frame, settled).items()]
    for tag, window in (("cur", plan[0]), ("cmp", plan[1])):
        if window is None:
            continue
        exprs += [e.alias(f"{kpi.id}:{tag}:{name}")
                  for name, e in engine.components_of(kpi, frame, window).items()]
        months.update(str(m) for m in window.months())
        in_window = pl.col("month").is_between(pl.lit(str(window.start)),
                                               pl.lit(str(window.end)))
        # The months each part holds any row in (whatever the filter): a part never loaded
        # for some of them is left out, never summed over fewer months than the window says.
        exprs.append(pl.col("month").filter(in_window).n_unique().alias(f"{kpi.id}:{tag}{HELD}"))
        selected = in_window if selected is None else selected | in_window
    if months == scanned:
        selected = None
    rows = polars_expr(kpi.filter, kpi.zoned) if kpi.filter else None
    if rows is None and selected is None:
        count = pl.len()
    else:
        mask = rows if selected is None else selected if rows is None else selected & rows
        assert mask is not None  # rows or selected is set here
        count = mask.fill_null(False).sum()
    exprs.append(count.alias(f"{kpi.id}:{SELECTED}"))
    return exprs


def settled_window_of(kpi: KpiDef, current: Window, months_per_row: int = 1
                      ) -> Window | None:
    """The current window without the KPI's provisional months (whose figures are not final
    yet), on which its parts are tested against each other, as the summary tests its change
    (verdicts.settled_significance); None for a KPI without them, one whose kind cannot be
    summed again, a window no longer than they are, or rows of a quarter each (a quarter's
    row stands for its three months, and cannot lose the last of them: the quarter said to be
    left out was tested whole, as the summary does not test it)."""
    months = kpi.provisional_months
    kept = current.months()[:-months] if months else []
    if not kept or kpi.kind not in verdicts.SUMMED or kpi.is_derived or months_per_row > 1:
        return None
    return Window(current.kind, kept[0], kept[-1])


def _unloaded(project: Project, dataset_id: str, by: str, current: Window,
              comparison: Window | None, as_of: AsOf | None) -> set[str]:
    """The parts of `by`, a column the dataset is loaded by (`parts_are_loads`), due in the
    current window though never loaded for any month of it (`engine.due_parts`): left out
    and named, as the summary refuses the window without them. South with no September roll
    and none in the September compared with was neither listed nor named, where compared
    with August it was left out."""
    spec = project.datasets[dataset_id]
    if not parts_are_loads(spec, by):
        return set()
    held = store.parts_held(project, dataset_id, as_of)
    at = spec.replace_by.index(by)
    return {str(part[at]) for part in engine.due_parts(held, current)}


# the months each part of a column holds rows in, and the first month of the dataset's rows
TOLD = tuple[dict[str, set[Month]], Month | None]


def _told_months(project: Project, kpi: KpiDef, by: str, as_of: AsOf | None,
                 read: dict[object, TOLD]) -> TOLD:
    """The months each part of `by` holds rows in, where `by` is a column telling parts of
    the KPI's dataset apart that it is not loaded by (`engine.told_columns`: a peer group's
    force in an extract loaded whole), as the summary's windows read them
    (`engine.held_parts`, kept in `read` by what they are held by), and the first month any
    part holds (`engine.first_held`): the months `engine.cut_off` judges a force that
    stopped by, and `engine.started` one that started. Empty for any other column."""
    spec = project.datasets[kpi.source]
    if parts_are_loads(spec, by) or by not in engine.told_columns(project, spec):
        return {}, None
    key = engine.held_key(project, kpi)
    if key not in read:
        held = engine.held_parts(project, kpi.source, as_of,
                                 picked=kpi if key != kpi.source else None)
        read[key] = ({part.value: set(got) for part, got in held.items()
                      if isinstance(part, engine.Told) and part.column == by},
                     engine.first_held(held))
    return read[key]


def parts_are_loads(spec: DatasetSpec, by: str) -> bool:
    """Whether each part of column `by` is loaded on its own, so a month it holds no row in
    was never loaded (a gap, never a 0): `by` is a column the dataset is loaded by
    (`replace_by`). A part of any other column (an LPA, an offence, a neighbourhood) is read
    from months the dataset holds whole (`engine.whole_parts` for a dataset loaded part by
    part), so a month it holds no row in is a month it had none: homicides are 43 in a year
    with none in January, not "only some months". The one rule of which parts' months are
    gaps: `kpi compare`, and what `kpi show`'s breakdowns and the paper agree with."""
    return by in spec.replace_by


def _stored_months(spec, window: Window) -> int:
    """The month partitions a window holds when every one is loaded: each month, or for
    quarterly rows each quarter's first month."""
    if spec.months_per_row == 1:
        return len(window.months())
    return sum(1 for m in window.months() if m.month % 3 == 1)


def _listed(names: Iterable[str]) -> str:
    """Up to five names in order of name, then how many more: `--by` an id column leaves out
    thousands. Every note naming parts lists them here: in the group-by's order, which is its
    own and changes from run to run, the same comparison read apart twice."""
    names = sorted(names)
    more = f" and {len(names) - 5:,} more" if len(names) > 5 else ""
    return ", ".join(names[:5]) + more


def _measured(project: Project, kpi: KpiDef, window: Window | None, tag: str,
              row: dict[str, float | None]) -> Measured | None:
    if window is None:
        return None
    prefix = f"{kpi.id}:{tag}:"
    parts = {k[len(prefix):]: v for k, v in row.items() if k.startswith(prefix)}
    return engine.measured_of(project, kpi, window, parts)


def reads_column(project: Project, kpi: KpiDef, by: str) -> bool:
    """Whether a KPI's filter, value, numerator, denominator or weight key reads the column
    `by` (`engine.columns_read`; directly or through a derived column; for a rate of two
    KPIs, either's): a KPI that picks its rows by the column compared (`lpa = 'Birmingham'`
    compared by lpa, a burglary count by offence) is about its own parts only."""
    read = set(engine.columns_read(project, kpi, breakdowns=False))
    return bool(read & engine._sources(project.datasets[kpi.source], [by]))


def _compare_kpi(project: Project, kpi: KpiDef, by: str,
                 rows: dict[str, dict[str, float | None]], found: dict[str, list[str]],
                 current: Window, comparison: Window | None, populations: dict[str, float],
                 focus: str | None, note: str | None, stale: str | None,
                 named: Collection[str] = (), elsewhere: Sequence[str] = (),
                 years: dict[str, int] | None = None,
                 cut: Mapping[Any, dict[Month, store.InPart]] | None = None,
                 unloaded: Collection[str] = (),
                 told_months: TOLD | None = None) -> KpiComparison:
    """A KPI's parts side by side (`found`: the rows' parts by key, `_parts_by_key`). `named`
    are the parts of the data the group's members and the focus name, and `elsewhere` the
    members (or focus) only another dataset compared holds: each left out of the table is
    named in the note. `cut` holds the parts whose rows run short within a month
    (`engine.held_by_part`): left out where it is of the current window, given no comparison
    where it is of the comparison window. `unloaded` are the parts never loaded for a month of
    the current window they are due in and hold no rows in (`_unloaded`): named in the note.
    `told_months` are the months each part of a peer group's column holds rows in, and the
    dataset's first month (`_told_months`), by which a part that stopped (`engine.cut_off`)
    or started within the current window (`engine.started`) is left out."""
    parts = []
    blank = 0
    spec = project.datasets[kpi.source]
    settled = settled_window_of(kpi, current, spec.months_per_row)
    settled_of: dict[str, Measured | None] = {}  # each part's current window, settled
    short: list[str] = []  # parts left out: rows in fewer months than the current window's
    absent: list[str] = []  # parts left out: rows only in the comparison window
    unread: list[str] = []  # parts whose comparison window is not all loaded
    new: list[str] = []  # parts with no rows in the comparison window
    # each part's key, as populations_for keys the population file's parts
    keys = {name: key for key, names in found.items() for name in names}
    uncounted: list[str] = []  # parts holding rows the KPI selects none of, to be named
    # A part whose rows the KPI counts none of is not listed (its 0 may be no count of its
    # own: fraud recorded nationally, not by forces), and is named in the note, so a mean and
    # median of the parts listed never read as of them all; unless the KPI picks its rows by
    # the column compared (a burglary count by offence), whose other parts it is not about.
    picks = reads_column(project, kpi, by)
    # Months a part holds no row in are gaps only where the part is a load of its own
    # (`parts_are_loads`); elsewhere the window is the dataset's, held whole (the plan), and a
    # part with no row in one of its months had none there: 0, as `kpi show`'s breakdown and
    # the paper count it (43 homicides in a year with none in January were "no comparison").
    loads = parts_are_loads(spec, by)
    # A part of a column telling parts apart that the dataset is not loaded by (a peer
    # group's force in an extract loaded whole) is judged by the windows' shape, as
    # engine.part_gap judges it: one with no rows in a window compared has no figure there,
    # never 0 (a force that stopped supplying), and one with rows in every month of one
    # window and not of the other has no comparison (a force that stopped in June), though
    # a month without rows is a month without any where neither window is whole (sparse),
    # or in a dataset declared `sparse` (`engine.told_columns`: none there).
    told = not loads and by in engine.told_columns(project, spec)
    uneven: list[str] = []  # parts with rows in every month of one window, not the other
    # parts holding a month of the current (comparison) window only in part, with the month
    partly: list[str] = []
    partly_compared: list[str] = []
    # parts left out: blank on every row counted in a column the numerator or value reads
    unmeasured: list[str] = []

    def in_part(name: str, window: Window | None) -> str | None:
        mine = (cut or {}).get(name, {})
        month = next((m for m in window.months() if m in mine), None) if window else None
        return None if month is None else f"{name} ({month}: {mine[month].reason()})"
    # the month partitions each window holds when every one is loaded
    whole_current = _stored_months(spec, current)
    whole_comparison = _stored_months(spec, comparison) if comparison is not None else None
    for name, row in rows.items():
        if not row[f"{kpi.id}:{SELECTED}"]:
            if name is not None and (name in named or not picks):
                uncounted.append(name)
            continue  # the KPI selects none of this part's rows in either window
        if name is None:
            blank += 1
            continue
        held = row[f"{kpi.id}:cur{HELD}"]
        assert held is not None  # a count of months (n_unique), never null
        if (loads or told) and held == 0:
            absent.append(name)
            continue
        if loads and held < whole_current:
            short.append(f"{name} ({held} of {whole_current} months)")
            continue
        months_of, stored = told_months or ({}, None)
        mine = months_of.get(str(name), set())
        if told and held < whole_current and (
                whole_comparison is not None
                and row[f"{kpi.id}:cmp{HELD}"] in (0, whole_comparison)
                or engine.cut_off(mine, current.months()) is not None
                or (begun := engine.started(mine, stored, current.end)) is not None
                and current.start < begun):
            # By the windows' shape (engine.part_gap): a part with rows in every month of the
            # comparison window and not of this one (a force that stopped in June), or in none
            # of it and some of this (one that started in April), holds fewer months than the
            # window's figure claims; ranked, pooled into another part's rest or averaged, it
            # read as a whole year. So does one that held every month of any earlier year and
            # holds none in a month of this one (engine.cut_off: a force that stopped in
            # December, its 9 months ranked 2nd of 4 against the year to February), and one
            # that started within it (engine.started: no rows before its first month, rows in
            # every month since: a force joining in January, its 9 months ranked against the
            # year to August). A part with rows in only some months of each window, and no
            # whole year before nor a start, is sparse, compared as its rows hold it.
            short.append(f"{name} ({held} of {whole_current} months)")
            continue
        if said := in_part(name, current):
            partly.append(said)
            continue
        if row.get(f"{kpi.id}:{CURRENT_ROWS}") and (blank_in := [
                c for c in engine.measured_columns(kpi, project.datasets.get(kpi.source))
                if row.get(f"{kpi.id}:{KNOWN}{c}") == 0]):
            # An absence of data is no figure: 0 of its crimes "closed with no suspect" where
            # the force publishes no outcomes would be ranked and tested as a performance.
            unmeasured.append(f"{name} ('{blank_in[0]}')")
            continue
        cur = _measured(project, kpi, current, "cur", row)
        cmp = _measured(project, kpi, comparison, "cmp", row)
        if said := in_part(name, comparison):
            partly_compared.append(said)
            cmp = None
        elif whole_comparison is not None and (loads or told):
            cmp_held = row[f"{kpi.id}:cmp{HELD}"]
            assert cmp_held is not None  # a count of months (n_unique), never null
            if cmp_held < (whole_comparison if loads else 1):
                (new if cmp_held == 0 else unread).append(name)
                cmp = None  # never 0 for months that were never loaded
            elif told and (held == whole_current) != (cmp_held == whole_comparison):
                uneven.append(name)
                cmp = None
        change = engine.change_between(kpi, cur.value if cur else None,
                                       cmp.value if cmp else None)
        status, _ = engine.judged(kpi, change, current, stale)
        population = populations.get(keys[name])
        per_1000 = quotient(cur.value, population, 1000) if cur is not None else None
        parts.append(PartResult(name, cur, cmp, change, status, None, population, per_1000))
        settled_of[name] = _measured(project, kpi, settled, "set", row)
    # a mean its parts' rows prove a share printed off its unit's scale, as a summary refuses
    stats.unscaled_flags(kpi, [w for p in parts for w in (p.current, p.comparison)
                               if w is not None])
    if blank:
        extra = f"rows with a blank '{by}' are not compared"
        note = f"{note}; {extra}" if note else extra
    windows = current.label + (f" or the {comparison.label}" if comparison else "")
    if uncounted and any(row[f"{kpi.id}:{SELECTED}"] for row in rows.values()):
        # (with no part counted at all, the note below says so of every part)
        extra = f"not listed, with no rows counted in the {windows}: {_listed(uncounted)}"
        note = f"{note}; {extra}" if note else extra
    if elsewhere:
        extra = (f"not listed, with no rows in dataset '{kpi.source}' in the {windows}: "
                 f"{_listed(elsewhere)}")
        note = f"{note}; {extra}" if note else extra
    if absent:
        extra = (f"left out, with no rows in the {current.label} (only in the comparison "
                 f"window): {_listed(sorted(absent))}")
        note = f"{note}; {extra}" if note else extra
    if missing := sorted(set(unloaded).difference(map(str, absent))):
        extra = (f"left out, never loaded for the {current.label} though loaded for the month "
                 f"before: {_listed(missing)}")
        note = f"{note}; {extra}" if note else extra
    if short:
        # by name, as the others: the group-by meets the parts in an order of its own
        extra = (f"left out, holding rows in only some months of the {current.label}: "
                 f"{_listed(sorted(short))}")
        note = f"{note}; {extra}" if note else extra
    if new:
        assert comparison is not None  # only a comparison window leaves a part unread
        extra = f"no comparison for {_listed(sorted(new))}: no rows in the {comparison.label}"
        note = f"{note}; {extra}" if note else extra
    if unread:
        assert comparison is not None  # only a comparison window leaves a part unread
        extra = (f"no comparison for {_listed(sorted(unread))}: rows in only some months of "
                 f"the {comparison.label}")
        note = f"{note}; {extra}" if note else extra
    if unmeasured:
        extra = (f"left out, blank on every row counted in the {current.label} in the column "
                 f"the figure reads, so no figure: {_listed(unmeasured)}")
        note = f"{note}; {extra}" if note else extra
    if partly:
        extra = (f"left out, holding a month of the {current.label} only in part: "
                 f"{_listed(partly)}")
        note = f"{note}; {extra}" if note else extra
    if partly_compared:
        assert comparison is not None  # only a comparison window leaves them uncompared
        extra = (f"no comparison for {_listed(partly_compared)}, holding a month of the "
                 f"{comparison.label} only in part")
        note = f"{note}; {extra}" if note else extra
    if uneven:
        assert comparison is not None  # only a comparison window leaves a part uneven
        extra = (f"no comparison for {_listed(sorted(uneven))}: rows in every month of one "
                 f"of the {current.label} and the {comparison.label}, not of the other")
        note = f"{note}; {extra}" if note else extra

    if not parts and not note:
        # Every KPI listed without parts says why, in each form (kpi compare's table, CSV,
        # workbook and JSON): here its filter selects no row of any part.
        note = (f"no rows counted in the {current.label}"
                + (f" or the {comparison.label}" if comparison is not None else ""))
    valued = [p for p in parts if p.current and p.current.value is not None]
    with_population = [p for p in valued if p.per_1000 is not None]
    ranked_on = None
    if kpi.better != Better.NEUTRAL and valued:
        ranked_on = "per_1000" if valued and len(with_population) == len(valued) else "value"
    # Where the column has populations, a part without one is said, and so is every part
    # (none in the file for the window's year or before): never a fall back to ranking on
    # the values unsaid.
    if (populations or per_population(project, kpi, by)) and valued \
            and len(with_population) < len(valued):
        missing = [p.name for p in valued if p.per_1000 is None]
        extra = f"no population for {_listed(missing)}: ranked on the values"
        note = f"{note}; {extra}" if note else extra
    # Each part's population is its latest on or before the year the window ends: where the
    # parts' are not all of one year, the rates per 1,000 beside each other are of different
    # years, and the note says whose are older (a file missing the latest year of some).
    of_year = {p.name: (years or {}).get(keys[p.name]) for p in with_population}
    if len({y for y in of_year.values() if y is not None}) > 1:
        newest = max(y for y in of_year.values() if y is not None)
        older = [f"{name} ({y})" for name, y in of_year.items() if y is not None and y < newest]
        extra = (f"per 1,000 of populations of {newest}, except {_listed(older)}, whose "
                 "latest population in the file is older")
        note = f"{note}; {extra}" if note else extra
    parts = _ranked(parts, kpi.better, ranked_on)
    if kpi.provisional_months and parts:
        # No finding rests on months whose figures are not final: a force whose latest
        # outcomes are still being recorded would differ from the rest by its lag alone.
        left_out = verdicts.last_months(kpi.provisional_months)
        extra = (f"each part is tested without {left_out} of the {current.label}, whose "
                 "figures are not final yet" if settled else
                 f"not tested: {verdicts.not_final(kpi.provisional_months)}, and a "
                 f"{kpi.kind.value} cannot be tested without them")
        note = f"{note}; {extra}" if note else extra
    parts = _tested(kpi, parts, focus, settled_of if settled else None)

    def centre(values: list[float]) -> tuple[float | None, float | None]:
        # Of the figures as written, rounded once (docs/guarantees.md, "rounded once").
        if not values:
            return None, None
        return mean_of(values), median_of(values)

    mean, median = centre([p.current.value for p in valued])
    mean_pp, median_pp = centre([p.per_1000 for p in with_population])
    return KpiComparison(kpi, current, comparison, tuple(parts), ranked_on, mean, median,
                         mean_pp, median_pp, note,
                         focus if any(p.name == focus for p in parts) else None)


def _metric(part: PartResult, ranked_on: str | None) -> float | None:
    if part.current is None:
        return None
    return part.per_1000 if ranked_on == "per_1000" else part.current.value


def competition_ranks(values: Sequence[float | None], highest_first: bool
                      ) -> list[int | None]:
    """Competition ranks (1, 2, 2, 4) of values, the highest first or the lowest first: equal
    values share a rank and the next rank skips, so no rank says one part is ahead of
    another with the same figure. No value (or not a finite one) has no rank. Two figures
    tie exactly where they are one figure as printed (`kpi.rounding.held`: 15 significant
    digits, as Excel holds them, and as `places_ranked` prints a ranked column), so float
    noise never splits a tie and no two parts printed apart share a rank."""
    # Each rank is 1 + the values strictly ahead, counted by bisection of the values sorted
    # (counted one by one, 6,000 parts took 36 million comparisons).
    known = sorted(held(v) for v in values if v is not None and math.isfinite(v))
    ranks: list[int | None] = []
    for value in values:
        if value is None or not math.isfinite(value):
            ranks.append(None)
            continue
        mine = held(value)
        ahead = (len(known) - bisect.bisect_right(known, mine) if highest_first
                 else bisect.bisect_left(known, mine))
        ranks.append(1 + ahead)
    return ranks


def part_ranks(values: Sequence[float | None], better: Better) -> list[int | None]:
    """The one rank of a part among the parts of a KPI, in every face that prints one (`kpi
    compare`, its CSV, workbook and JSON, `project.compare`, `kpi show`'s breakdowns): its
    competition rank (`competition_ranks`) by the KPI's better direction, 1 the best (the
    highest where higher is better, the lowest where lower is); a KPI with no better
    direction ranks no part (its parts are listed by their figure, largest first). `kpi
    show` numbered a breakdown largest first whatever the KPI, so the LPA with the most knife
    crime was 1st there and 7th in `kpi compare`."""
    if better == Better.NEUTRAL:
        return [None] * len(values)
    return competition_ranks(values, highest_first=better == Better.HIGHER)


def rank_order(ranks: Sequence[int | None], values: Sequence[float | None]) -> list[int]:
    """The order parts are listed in, as indexes of `ranks` (`part_ranks`) and their
    `values`: by rank, best first; parts with no rank (no better direction) by their figure,
    largest first; parts with no figure last. Equal ranks and figures keep the order they
    come in, which the caller makes one of names, never of rows."""
    def key(index: int) -> tuple:
        rank, value = ranks[index], values[index]
        if rank is not None:
            return (0, rank)
        if value is not None and math.isfinite(value):
            return (1, -held(value))
        return (2, 0)

    return sorted(range(len(ranks)), key=key)


def ranked_breakdown(frame: pl.DataFrame, better: Better,
                     unranked: Collection[str] = ()) -> pl.DataFrame:
    """A KPI's breakdown (engine.breakdowns: a part, its current figure, ...) as `kpi show`
    and `project.detail(...).breakdowns` give it: each part with its `rank` among the parts
    (`part_ranks`, the rank `kpi compare` gives a part on its value) and listed as `kpi
    compare` lists its parts (`rank_order`; equal ones by name, as the frame comes sorted),
    the rows with no value in the column last and unranked. The parts `unranked` names (those
    `kpi compare` leaves out: `left_out`) are listed after the ranked ones, unranked, and
    never counted in another part's rank: a force's half year is no figure to rank beside
    others' whole years."""
    from kpi.engine import plain

    named = frame.filter(pl.col("part").is_not_null())
    out = named.filter(pl.col("part").is_in(list(unranked)))
    named = named.filter(~pl.col("part").is_in(list(unranked)))
    figures = [plain(v) for v in named["current"].to_list()]
    ranks = part_ranks(figures, better)
    order = rank_order(ranks, figures)
    ranked = named.with_columns(pl.Series("rank", ranks, dtype=pl.Int64))[order]
    rest = pl.concat([out, frame.filter(pl.col("part").is_null())], how="vertical_relaxed")
    rest = rest.with_columns(pl.lit(None, dtype=pl.Int64).alias("rank"))
    return pl.concat([ranked, rest], how="vertical_relaxed") if rest.height else ranked


def left_out(project: Project, kpi: KpiDef, by: str, frame: pl.DataFrame, period: Month,
             vs: Comparison, as_of: AsOf | None) -> tuple[list[str], str | None]:
    """The parts of a KPI's breakdown by a column telling parts of the data apart
    (`engine.telling_apart`: a `replace_by` column, a peer group's) that `kpi compare` leaves
    out of its ranking (a force that stopped supplying in June holds half the year; one whose
    month is cut short), by its one rule (`_compare_kpi`), and the comparison's note saying
    why; none, and no note, for any other column, whose parts are the rows' own."""
    spec = project.datasets.get(kpi.source)
    if spec is None or by not in engine.telling_apart(project, spec) \
            or splittable(project, kpi, by) is not None:
        return [], None
    compared = compare(project, period, by, vs, [kpi], as_of=as_of).kpis[0]
    listed = {part.name for part in compared.parts}
    out = sorted(str(p) for p in frame["part"].to_list() if p is not None and p not in listed)
    return out, compared.note if out else None


def ranked_breakdowns(project: Project, breakdowns: Mapping[engine.BreakdownKey, pl.DataFrame],
                      period: Month, vs: Comparison, as_of: AsOf | None
                      ) -> tuple[dict[engine.BreakdownKey, pl.DataFrame],
                                 dict[tuple[str, str], tuple[list[str], str | None]]]:
    """Each breakdown without the parts `kpi compare` leaves out of its ranking (`left_out`:
    a force that stopped supplying holds 9 months of the year), and those parts with the
    comparison's note by KPI id and column: the one rule by which every face that ranks,
    lists the highest of or draws a breakdown's parts (the paper's sentences and its top and
    compare charts, as `kpi show` and `kpi compare`) leaves them out. The paper said "the
    highest figures were Bure (360), Avon (240), Dee (225), Cam (180)", Dee's 9 months
    beside whole years that `kpi compare` and `kpi show` left out or unranked."""
    out: dict[engine.BreakdownKey, pl.DataFrame] = {}
    left: dict[tuple[str, str], tuple[list[str], str | None]] = {}
    for key, frame in breakdowns.items():
        kpi_id, column = key[0], key[1]
        if (kpi_id, column) not in left:
            left[kpi_id, column] = left_out(project, project.known_kpi(kpi_id), column, frame,
                                            period, vs, as_of)
        names = left[kpi_id, column][0]
        out[key] = frame.filter(~pl.col("part").cast(pl.String).is_in(names).fill_null(
            False)) if names else frame
    return out, {key: got for key, got in left.items() if got[0]}


@dataclass(frozen=True)
class Top:
    """The parts a list or chart of the highest figures shows (`highest`)."""

    shown: tuple[int, ...]  # indexes of the values shown, highest first
    left: int  # parts tied at the last place that are not shown (0: every tie is shown)
    left_rank: int | None  # the place they share ("joint 5th"), None when none is left
    left_value: float | None  # the figure they share


def highest(values: Sequence[float | None], limit: int, most: int) -> Top:
    """The `limit` highest figures, as every face that lists or draws them cuts them (the
    paper's five highest parts, a chart of the highest 10, a comparison chart of the highest
    12): the parts whose competition rank, highest first, is at most `limit`
    (`competition_ranks`), so a part tied with the last one shown is shown too ("joint
    5th"), never one of two equal figures kept by its name or its row. Where the parts tied
    at the last place would make more than `most`, none of them is shown and their number,
    place and figure are returned to be said. Equal figures keep the order given (the
    caller's, by name). No figure, no place."""
    ranks = competition_ranks(values, highest_first=True)
    order = [i for i in rank_order(ranks, values) if ranks[i] is not None]
    shown = [i for i in order if (rank := ranks[i]) is not None and rank <= limit]
    if len(shown) <= most:
        return Top(tuple(shown), 0, None, None)
    last = ranks[shown[-1]]
    tied = [i for i in shown if ranks[i] == last]
    return Top(tuple(i for i in shown if ranks[i] != last), len(tied), last,
               values[tied[0]])


def _ranked(parts: list[PartResult], better: Better,
            ranked_on: str | None) -> list[PartResult]:
    """Competition ranking (1, 2, 2, 4) by the better direction (`part_ranks`), listed by
    rank then name (`rank_order`); parts with no value unranked."""
    parts = sorted(parts, key=lambda part: part.name)
    values = [_metric(p, ranked_on) for p in parts]
    ranks = (part_ranks(values, better) if ranked_on is not None else [None] * len(parts))
    out = [replace(part, rank=rank) for part, rank in zip(parts, ranks, strict=True)]
    return [out[i] for i in rank_order(ranks, values)]


def _whole(value: float | None) -> int | None:
    if value is None or not math.isfinite(value) or not float(value).is_integer():
        return None
    return int(value)


@dataclass(frozen=True)
class _Pool:
    """What a part is tested against, of other parts pooled: how many, how many of them lack
    what a test needs, and their totals. Made once over every part and less one part at a
    time (`without`), a part's rest is not summed again for each part (a comparison of 6,000
    parts summed 18 million values). Totals are whole numbers, exact either way."""

    size: int
    no_current: int
    rate_not_whole: int  # numerator or denominator not a whole number
    numerator: int
    denominator: int
    outside: int | None  # None when any part has none
    uncounted: int | None
    count_not_whole: int  # value not a whole count of events (not whole, or below 0)
    value: int
    no_population: int
    population: float
    population_exact: bool  # every population a whole number, and their sum exact

    def without(self, part: PartResult) -> _Pool | None:
        """The pool less one of its parts, or None where a total cannot be taken apart
        exactly (a population that is no whole number: sum the rest again)."""
        one = _pool([part])
        if not self.population_exact or not one.population_exact:
            return None
        def less(a: int | None, b: int | None) -> int | None:
            return None if a is None or b is None else a - b
        return _Pool(self.size - 1, self.no_current - one.no_current,
                     self.rate_not_whole - one.rate_not_whole, self.numerator - one.numerator,
                     self.denominator - one.denominator,
                     None if self.outside is None else less(self.outside, one.outside),
                     None if self.uncounted is None else less(self.uncounted, one.uncounted),
                     self.count_not_whole - one.count_not_whole, self.value - one.value,
                     self.no_population - one.no_population,
                     self.population - one.population, True)


def _pool(others: Sequence[PartResult]) -> _Pool:
    currents = [o.current for o in others if o.current is not None]
    rate_not_whole = sum(1 for c in currents
                         if _whole(c.numerator) is None or _whole(c.denominator) is None)
    wholes = [_whole(c.value) for c in currents]

    def total(name: str) -> int | None:
        got = [getattr(c, name) for c in currents]
        return None if None in got else sum(int(v) for v in got)

    populations = [o.population for o in others if o.population is not None]
    exact = all(float(p).is_integer() for p in populations) and sum(
        abs(p) for p in populations) < 2 ** 53
    def wholes_of(name: str) -> int:
        return sum(w for c in currents if (w := _whole(getattr(c, name))) is not None)

    return _Pool(len(others), len(others) - len(currents), rate_not_whole,
                 wholes_of("numerator"), wholes_of("denominator"),
                 total("outside"), total("uncounted"),
                 # a negative total (an extract netting cancellations) is no count of events
                 sum(1 for w in wholes if w is None or w < 0),
                 sum(w for w in wholes if w is not None),
                 len(others) - len(populations), sum(populations), exact)


def difference(kpi: KpiDef, one: PartResult, other: list[PartResult] | _Pool,
               other_name: str) -> stats.Significance:
    """Whether a part's current value differs from another's (or the others' pooled) beyond
    chance: a rate by the two-proportion z-test, a count per population by the conditional test
    of two Poisson counts with the populations as exposure; anything else is not tested.
    `other` may be the others already pooled (`_Pool`)."""
    pool = other if isinstance(other, _Pool) else _pool(other)
    if one.current is None or pool.no_current or not pool.size:
        return stats.not_tested("needs a current value for both")
    if stats.proportion_of_cases(kpi):
        # The others pooled (their rows together) against the part, by the rule of every
        # rate's test (stats.rate_rule): the others' counts of rows against it add up.
        if pool.rate_not_whole:
            return stats.not_tested(stats.NOT_WHOLE)
        pooled = Measured(one.current.window, None, pool.numerator, pool.denominator,
                          pool.outside, pool.uncounted)
        result = stats.rate_significance(kpi, one.current, pooled)
        return replace(result, note=f"against {other_name}: {result.note}")
    if kpi.kind == Kind.COUNT and kpi.unit == Unit.COUNT:
        # The others pooled as one window (their totals, and their rows that are no whole
        # count of events), judged with the part by the summary's one rule of a count of
        # events (stats.count_of_events), which reads the rows, not only the totals.
        pooled = Measured(one.current.window, None if pool.count_not_whole else pool.value,
                          uncounted=pool.uncounted)
        if not stats.count_of_events(kpi, (one.current, pooled)):
            return stats.not_tested(stats.NOT_EVENTS)
        n1 = _whole(one.current.value)
        assert n1 is not None, "a count of events has whole totals"
        if one.population is None or pool.no_population:
            return stats.not_tested("counts of parts of different sizes are compared per "
                                    "population, which this part or the rest has none of: "
                                    "give each part its population in the column's "
                                    "[population_by] file, for the window's year or before")
        t2 = pool.population
        result = stats.poisson_test(n1, one.population, pool.value, t2)
        if result.p_value is None:
            return result
        rate1, rate2 = quotient(n1, one.population, 1000), quotient(pool.value, t2, 1000)
        judged = stats._judged(result.p_value)
        return replace(result, note=f"{fixed(rate1, 2, True)} per 1,000 against "
                                    f"{fixed(rate2, 2, True)} per 1,000 "
                                    f"({other_name}): {judged}; assumes Poisson counts, which "
                                    "crime counts often exceed in variance")
    return stats.not_tested(stats.UNTESTED_KINDS.get(
        kpi.kind, f"no test for a {kpi.kind.value} in {kpi.unit.value}"))


def _tested(kpi: KpiDef, parts: list[PartResult], focus: str | None,
            settled: dict[str, Measured | None] | None = None) -> list[PartResult]:
    """Each part tested against the rest and the focus. A KPI with provisional months is
    tested on its parts' windows without them (`settled`, by part: `settled_window_of`), or,
    where they cannot be left out, not at all. The tests against the rest are judged together,
    at the level divided among those made (`stats.part_threshold`, the rule the paper's parts
    that stand out are found by), and so are the tests against the focus."""
    untested = None
    if kpi.provisional_months and settled is None:
        untested = stats.not_tested(f"{verdicts.not_final(kpi.provisional_months)}, "
                                    f"and a {kpi.kind.value} cannot be tested without them")
    # Only the tests read the settled figures: the part's own change stays the whole window's.
    basis = (parts if settled is None
             else [replace(p, current=settled.get(p.name), comparison=None, change=None,
                           status=engine.Outcome.NO_DATA) for p in parts])
    focus_part = next((p for p in basis if p.name == focus), None)
    def said(test: stats.Significance) -> stats.Significance:
        if settled is None or test.p_value is None:
            return test
        return replace(test, note=f"{test.note}; "
                                  f"{verdicts.settled_window(kpi.provisional_months)}")

    out = []
    every = _pool(basis)  # every part pooled once; each part's rest is it less the part
    rests: list[tuple[stats.Significance | None, float | None, float | None]] = []
    focuses: list[tuple[stats.Significance | None, float | None, float | None]] = []
    for part, tested in zip(parts, basis, strict=True):
        rest: list[PartResult] | _Pool | None = every.without(tested)
        if rest is None:
            rest = [p for p in basis if p.name != part.name]
        vs_rest = (untested or (said(difference(kpi, tested, rest, "the other parts together"))
                                if len(basis) > 1
                                else stats.not_tested("no other part to compare with")))
        pooled = rest if isinstance(rest, _Pool) else _pool(rest)
        rests.append((vs_rest, _cases(kpi, vs_rest, tested), _cases(kpi, vs_rest, pooled)))
        vs_focus = None
        if focus_part is not None and part.name != focus:
            vs_focus = untested or said(difference(kpi, tested, [focus_part], focus_part.name))
        focuses.append((vs_focus, _cases(kpi, vs_focus, tested),
                        _cases(kpi, vs_focus, focus_part)))
        out.append(part)
    # Each family of tests judged by the one rule of a part among others (stats.parts_judged:
    # no test below the floor of cases, the rest at the level divided among the tests made):
    # the parts against the rest, and the parts against the focus.
    # A part's change against the rest's is of the whole windows, whose last months are not
    # final: not tested (it read "differs, p < 0.001" of a difference that was only those
    # months, beside a note saying they were left out).
    changes = _changes_tested(kpi, parts, untested or (stats.not_tested(
        f"{verdicts.not_final(kpi.provisional_months)}, and a part's change is of the whole "
        "windows") if kpi.provisional_months else None))
    return [replace(p, vs_rest=r, vs_focus=f, change_vs_rest=changes.get(p.name)) for p, r, f
            in zip(out, stats.parts_judged(rests), stats.parts_judged(focuses), strict=True)]


def _changes_tested(kpi: KpiDef, parts: list[PartResult],
                    untested: stats.Significance | None) -> dict[str, stats.Significance]:
    """A count's parts, each part's change against the others' pooled change, by the test and
    the rule the board paper finds a part whose change stands out by (`stats.against_rest`:
    the floor of events in the comparison window, 0.05/m); none for another kind, or where
    no part has a comparison (no change to test)."""
    if not stats.count_of_events(kpi, None) or not parts:
        return {}
    if untested is not None:
        return {p.name: untested for p in parts}
    windows = next(((p.current.window, p.comparison.window) for p in parts
                    if p.current is not None and p.comparison is not None), None)
    if windows is None:
        return {}  # no change to test: no part has a comparison
    if (shared := stats.overlap_reason(*windows)) is not None:
        return {p.name: stats.not_tested(shared) for p in parts}
    rows = [(p.name, p.current.value if p.current else None,
             p.comparison.value if p.comparison else None) for p in parts]
    # Each part is tested against all the others pooled: every window of the parts tested
    # is read by the summary's one rule of a count of events (stats.count_of_events).
    measured = [w for p in parts if p.current is not None and p.comparison is not None
                and p.current.value is not None and p.comparison.value is not None
                for w in (p.current, p.comparison)]
    tests = (stats.against_rest([r for r in rows if r[1] is not None and r[2] is not None],
                                share=False)
             if stats.count_of_events(kpi, measured) else None)
    if tests is None:
        return {p.name: stats.not_tested(stats.NOT_EVENTS) for p in parts}
    found = {t.part: t.test for t in tests}
    return {name: found.get(name) or stats.not_tested(
        "needs a comparison" if before is None else "no events in either window")
        for name, _, before in rows}


def _cases(kpi: KpiDef, test: stats.Significance | None,
           side: PartResult | _Pool | None) -> float | None:
    """The cases (a rate's denominator, whichever test it gets) or events (a count's) of one
    side of a part's test (`difference`), which the floor of `stats.parts_judged` is met by;
    None where no test was made."""
    if test is None or test.p_value is None or side is None:
        return None
    if isinstance(side, _Pool):
        denominator, value = side.denominator, side.value
    elif side.current is None:
        return None
    else:
        denominator, value = side.current.denominator, side.current.value
    # (a rate's cases are its denominator whatever unit it is printed in)
    return denominator if stats.proportion_of_cases(kpi) else value


# ---------------------------------------------------------------------------------------------
# The board paper's "Compared with peers" sentence


def ordinal(rank: int) -> str:
    suffix = "th" if 10 <= rank % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    return f"{rank}{suffix}"


def peer_result(project: Project, kpi: KpiDef, period: Month, vs: Comparison,
                as_of: AsOf | None = None) -> KpiComparison | None:
    """The comparison of a KPI across its declared peer group (with a focus part), when the
    data holds a current value for the focus and every member; None otherwise, so the paper
    says nothing rather than compare with part of the group."""
    group = project.peers.get(kpi.peers) if kpi.peers else None
    if group is None or group.focus is None or splittable(project, kpi, group.column):
        return None
    only = engine.constant_part(project.datasets[kpi.source], group.column)
    if only is not None and any(m != only for m in (*group.members, group.focus)):
        return None  # the data holds one part, so not the whole group: nothing to read
    try:
        result = compare(project, period, group.column, vs, [kpi], peers=group.id,
                         focus=group.focus, as_of=as_of)
    except (UsageError, store.NotAtPoint):
        # A group the data cannot compare (its focus holds no rows), or a dataset with no
        # version at the --as-of point: no sentence. Any other refusal (a table stored
        # under another declaration, or one that cannot be read) is the paper's.
        return None
    compared = result.kpis[0]
    parts = peer_parts(compared, group)
    if compared.current is None or any(
            m not in parts or _metric(parts[m], None) is None
            for m in (*group.members, group.focus)):
        return None
    return replace(compared, whole=whole_parts(project, kpi, compared.current, group.column,
                                               as_of))


def whole_parts(project: Project, kpi: KpiDef, window: Window, column: str,
                as_of: AsOf | None) -> tuple[str | None, ...]:
    """The parts of `column` (None for rows with no value in it) that hold rows the KPI's
    filter selects in `window`: whose rows its own figure for the window adds together. A peer
    sentence ranks the focus's figure; the KPI's figure above it is of all of these."""
    held = _parts_by_kpi(project, kpi.source, [(kpi.id, kpi, window)], [column], as_of)
    return _in_order(held.get((kpi.id, None, column), ()))


def _in_order(parts: Iterable[str | None]) -> tuple[str | None, ...]:
    """Parts by name, ignoring case, the rows with no value in the column (None) last."""
    found = set(parts)
    return (*sorted((p for p in found if p is not None), key=str.casefold),
            *((None,) if None in found else ()))


Covered = engine.Covered  # the parts of one column a figure adds (kpi.engine)


def kpi_covers(project: Project, results: Iterable[engine.KpiResult],
               as_of: AsOf | None) -> dict[str, tuple[Covered, ...]]:
    """For each result with a figure (by KPI id), the parts of each column telling parts of
    the data apart (`engine.telling_apart`) whose rows its figure adds together: read from the rows
    it counts (its filter, its current window; a rate's two measures each), in one scan of
    each dataset, a column derived as a literal (the sample's one force) its one part with no
    scan. None stands for rows with no value in the column. A column holding the same parts
    under the same label as one before it (police.uk's `force`, derived from `falls_within`)
    is given once. Every face says what a figure covers from this: the summary's, `kpi
    show`'s and `kpi compare`'s (`with_covers`), the paper's (`parts_covered`)."""
    found = _columns_covered(project, _read_for(project, [
        (r.kpi, r.current.window) for r in results
        if r.current is not None and r.current.value is not None]), as_of)
    return {kpi_id: _covers_of(project, columns) for (kpi_id, _), columns in found.items()}


def _read_for(project: Project, figures: Iterable[tuple[KpiDef, Window]]
              ) -> dict[str, list[tuple[str, KpiDef, Window]]]:
    """Dataset id -> (KPI id, measure, window) of each measure the figures' KPIs read (a rate's
    two), for `_columns_covered`."""
    wanted: dict[str, list[tuple[str, KpiDef, Window]]] = {}
    for kpi, window in figures:
        for measure in engine.measures_of(project, kpi):
            if measure.dataset in project.datasets:
                wanted.setdefault(measure.source, []).append((kpi.id, measure, window))
    return wanted


def _columns_covered(project: Project, wanted: dict[str, list[tuple[str, KpiDef, Window]]],
                     as_of: AsOf | None, by: str | None = None,
                     parts: Mapping[str, Sequence[str]] | None = None
                     ) -> dict[tuple[str, str | None], dict[str, tuple[str, set[str | None]]]]:
    """(KPI id, part of `by` or None without it) -> column -> (the first dataset holding it,
    the parts of it whose rows the KPI's measures select in their windows, `wanted` as
    `_read_for` gives it): each column telling parts of the data apart (`engine.telling_apart`)
    but `by`, of each dataset (one holding `by`, with it), in one scan of each; a column
    derived as a literal (the sample's one force) its one part with no scan. With `by`,
    `parts` names the parts of each KPI (`kpi compare`'s)."""
    found: dict[tuple[str, str | None], dict[str, tuple[str, set[str | None]]]] = {}
    for dataset_id, counted in sorted(wanted.items()):
        spec = project.datasets[dataset_id]
        if by is not None and not spec.has_column(by):
            continue
        columns = [c for c in engine.telling_apart(project, spec) if c != by]
        scanned = [c for c in columns if engine.constant_part(spec, c) is None]
        held = _parts_by_kpi(project, dataset_id, counted, scanned, as_of, by) \
            if scanned else {}
        for kpi_id in dict.fromkeys(k for k, _, _ in counted):
            for part in (parts or {}).get(kpi_id, ()) if by is not None else (None,):
                mine = found.setdefault((kpi_id, part), {})
                for column in columns:
                    only = engine.constant_part(spec, column)
                    held_parts = {only} if only is not None else held.get(
                        (kpi_id, part, column), set())
                    mine.setdefault(column, (dataset_id, set()))[1].update(held_parts)
    return found


def _covers_of(project: Project, columns: dict[str, tuple[str, set[str | None]]]
               ) -> tuple[Covered, ...]:
    """Covered of each column (-> its first dataset, its parts), in order, a column holding
    the same parts under the same label as one before it given once."""
    covers: list[Covered] = []
    for column, (dataset_id, parts) in columns.items():
        label = render.shared_column_label(project, dataset_id, column)
        covered = Covered(dataset_id, column, label, _in_order(parts))
        if not any((c.label, c.parts) == (label, covered.parts) for c in covers):
            covers.append(covered)
    return tuple(covers)


def _with_part_covers(project: Project, results: list[KpiComparison], by: str,
                      as_of: AsOf | None) -> list[KpiComparison]:
    """Each part's `covers`: of each column telling parts of the data apart but `by`
    (`engine.telling_apart`), the parts whose rows the part's current figure adds together, read
    as `kpi_covers` reads a KPI's (the rows its KPI's measures select in the KPI's current
    window that hold the part), one scan of each dataset; none of a part with no figure. A
    part of another column than the one the data is loaded by (a crime type of three forces
    loaded) is of every force its rows hold, not of one."""
    found = _columns_covered(
        project, _read_for(project, [(k.kpi, k.current) for k in results
                                     if k.current is not None and k.parts]),
        as_of, by, {k.kpi.id: [p.name for p in k.parts] for k in results})
    # A part with no figure covers nothing, as a KPI with none (`kpi_covers`).
    return [replace(k, parts=tuple(
                replace(p, covers=_covers_of(project, found.get((k.kpi.id, p.name), {}))
                        if p.current is not None and p.current.value is not None else ())
                for p in k.parts)) if k.parts else k for k in results]


def part_covers_lines(compared: KpiComparison) -> list[str]:
    """What the figures of a KPI's parts add together, where some part's figure adds the rows
    of several parts of a column the data is loaded or compared by (`PartResult.covers`): a
    crime type's figure of three forces loaded reads as one force's. In the paper's words
    where each part's figure adds the same parts: "Total crime: by force, each figure is that
    of every part the data holds together (A, B and C), not of any one of them alone."; else
    naming the parts whose figures do. None where each figure is of one part."""
    figured = [p for p in compared.parts if p.current is not None
               and p.current.value is not None]
    by_label: dict[str, list[tuple[str, tuple[str | None, ...]]]] = {}
    for part in figured:
        for covered in part.covers:
            if len(covered.parts) > 1:
                by_label.setdefault(covered.label, []).append((part.name, covered.parts))
    lines = []
    for label, several in by_label.items():
        held = {parts for _, parts in several}
        if len(several) == len(figured) and len(held) == 1:
            lines.append(f"{compared.kpi.title}: by {label}, each figure is that of every "
                         "part the data holds together "
                         f"({render.parts_words(held.pop(), label)}), not of any one of "
                         "them alone.")
            continue
        named = [f"{name} ({render.parts_words(parts, label)})"
                 for name, parts in several[:render.PARTS_NAMED]]
        more = len(several) - len(named)
        named += [f"{more:,} more"] if more else []
        lines.append(f"{compared.kpi.title}: by {label}, the figure"
                     f"{'s' if len(several) > 1 else ''} of {render.spoken_list(named)} "
                     f"{'are each' if len(several) > 1 else 'is'} that of several parts the "
                     "data holds together, not of any one of them alone.")
    return lines


def _parts_by_kpi(project: Project, dataset_id: str,
                  counted: list[tuple[str, KpiDef, Window]], columns: list[str],
                  as_of: AsOf | None, by: str | None = None
                  ) -> dict[tuple[str, str | None, str], set[str | None]]:
    """(KPI id, part of `by` or None without it, column) -> the parts of the column (as
    text) among the rows of the dataset the KPI's measures select in their windows (and,
    with `by`, hold that part of it, as `kpi compare` names parts: as text): one scan."""
    measures = list({m.id: m for _, m, _ in counted}.values())
    # Only the windows' months are read (the month is the table's partition): each KPI's
    # flag below holds its rows to its window anyway.
    months = sorted({str(m) for _, _, w in counted for m in w.months()})
    frame = engine.prepare(project, dataset_id, measures, as_of).filter(
        pl.col("month").is_in(months))
    kpi_ids = list(dict.fromkeys(k for k, _, _ in counted))
    names = [f"__kpi_{n}" for n in range(len(kpi_ids))]
    flags = [pl.any_horizontal([engine.rows_of(m, w) for k, m, w in counted if k == kpi_id])
             .alias(name) for kpi_id, name in zip(kpi_ids, names, strict=True)]
    keys = [*([by] if by is not None else []), *columns]
    try:
        held = frame.select(*(pl.col(c).cast(pl.String) for c in dict.fromkeys(keys)),
                            *flags) \
            .filter(pl.any_horizontal(names)).group_by(list(dict.fromkeys(keys))) \
            .agg(pl.col(n).any() for n in names).collect()
    except pl.exceptions.PolarsError as exc:
        raise DataError(f"dataset '{dataset_id}': cannot read the parts of "
                        f"{', '.join(columns)}: {str(exc).splitlines()[0]}") from None
    out: dict[tuple[str, str | None, str], set[str | None]] = {}
    for kpi_id, name in zip(kpi_ids, names, strict=True):
        for row in held.filter(pl.col(name)).iter_rows(named=True):
            part = row[by] if by is not None else None
            for column in columns:
                out.setdefault((kpi_id, part, column), set()).add(row[column])
    return out


def with_covers(project: Project, report: engine.Report, as_of: AsOf | None) -> engine.Report:
    """The report with each result's `covers` (`kpi_covers`): what each figure adds together,
    which every face of the summary and `kpi show` says."""
    found = kpi_covers(project, report.results, as_of)
    return replace(report, results=tuple(replace(r, covers=found.get(r.kpi.id, ()))
                                         for r in report.results))


def parts_covered(project: Project, results: Iterable[engine.KpiResult],
                  as_of: AsOf | None) -> tuple[Covered, ...]:
    """For each column that tells parts of the data apart, the parts whose rows these
    results' figures add together, where they are more than one: each figure is then of
    all of them, not of any one (three forces loaded for comparison gave the paper's "total
    recorded crime was 212,517" with no word of which forces). Each KPI's parts are
    `kpi_covers`'s, the column labelled by the first dataset (by id) holding it."""
    found: dict[str, tuple[str, str, set[str | None]]] = {}
    for covers in kpi_covers(project, results, as_of).values():
        for covered in covers:
            into = found.setdefault(covered.column, (covered.dataset, covered.label, set()))
            if covered.dataset < into[0]:
                into = found[covered.column] = (covered.dataset, covered.label, into[2])
            into[2].update(covered.parts)
    return tuple(Covered(dataset, column, label, _in_order(parts))
                 for column, (dataset, label, parts) in found.items() if len(parts) > 1)


def peer_parts(compared: KpiComparison, group: PeerGroup) -> dict[str, PartResult]:
    """The parts of a comparison by the member (or focus) of the group naming each, as
    kpi.toml spells it (matched by kpi.text.identity_key, as `compare` matched them)."""
    by_name = {p.name: p for p in compared.parts}
    named = [*group.members, *([group.focus] if group.focus else [])]
    return {m: by_name[name] for m, name in _spelled(named, _parts_by_key(by_name)).items()}


def peer_sentence(project: Project, kpi: KpiDef, period: Month, vs: Comparison,
                  as_of: AsOf | None = None, compared: KpiComparison | None = None
                  ) -> str | None:
    """'Compared with peers: ...' for a KPI that declares a peer group with a focus, when the
    data holds a current value for every member; None otherwise (the paper says nothing rather
    than compare with part of the group). `compared` is the KPI's peer_result when the caller
    has it (the paper also draws it), else it is computed."""
    group = project.peers.get(kpi.peers) if kpi.peers else None
    if compared is None:
        compared = peer_result(project, kpi, period, vs, as_of)
    if (group is None or group.focus is None or compared is None or compared.ranked_on is None
            or compared.current is None):
        return None
    parts = peer_parts(compared, group)
    if any(m not in parts or parts[m].rank is None for m in (*group.members, group.focus)):
        return None
    from kpi.render import own_places, spoken_list
    from kpi.rounding import places_apart

    me = parts[group.focus]
    assert me.rank is not None  # every part checked above is ranked
    per_1000 = compared.ranked_on == "per_1000"
    others = ", ".join(parts[m].name for m in group.members if parts[m] is not me)
    best = "highest" if kpi.better == Better.HIGHER else "lowest"
    # The focus's figure and the group's median side by side, with no change printed
    # between them: to as many places as it takes for them to print apart exactly where
    # their difference does (kpi.rounding.places_apart, no % change): 0.445 against a median
    # of 0.455 per 1,000 printed "0.45" and "0.45".
    if per_1000:
        digits = places_apart(me.per_1000, compared.median_per_1000, None, 2, percent=False)
        value = f"{fixed(me.per_1000, digits, True)} per 1,000 people"
        centre = fixed(compared.median_per_1000, digits, True)
    else:
        assert me.current is not None  # peer_result holds the focus's current value
        digits = places_apart(me.current.value, compared.median, kpi.target, own_places(kpi),
                              percent=False)
        # In the KPI's own words, as every figure of its paragraph (render.kpi_value: its
        # `unit_label`, "9.8 working days", not "9.8 days")
        from kpi.render import kpi_value

        value, centre = (kpi_value(me.current.value, kpi, digits=digits),
                         kpi_value(compared.median, kpi, digits=digits))
    window = compared.current
    when = f"the {window.label}" if window.kind == WindowKind.YE else window.label
    # A rank shared is said to be (competition ranks, 1, 2, 2): "2nd" alone reads as alone.
    level = [parts[m].name for m in group.members
             if parts[m] is not me and parts[m].rank == me.rank]
    place = (f"joint {ordinal(me.rank)} (with {spoken_list(level)})" if level
             else ordinal(me.rank))
    text = (f"Compared with peers ({group.title}: {others}), {me.name} ranked "
            f"{place} of {len(compared.parts)} in {when}, where 1st is the {best}, "
            f"with {value} against a group median of {centre}")
    test = me.vs_rest
    if test is not None and test.significant is not None:
        assert test.p_value is not None  # a test that judged has a p-value
        text += ("; the difference from the rest of the group is statistically significant"
                 if test.significant else
                 "; the difference from the rest of the group could be chance")
        shown = stats.p_text(test.p_value, test.tests)
        text += f" (p {shown[0]} {shown[1:]}" if shown.startswith("<") else f" (p = {shown}"
        if test.tests > 1:
            # Judged as kpi compare judges it, at the level divided among the parts tested
            # (stats.part_threshold): said, so a p of 0.012 that "could be chance" reads so.
            text += f", judged against {stats.threshold_text(test.tests)} for the " \
                    f"{test.tests} parts tested"
        if kpi.provisional_months:
            # The parts were tested without the months not final yet (`_tested`), not over
            # the window the rank and median above are of: said, as the test's note says it.
            months = kpi.provisional_months
            text += (f"; tested without the window's last "
                     f"{'month' if months == 1 else f'{months} months'}, not final yet")
        text += ")"
    if not per_1000:
        return text + "."
    # Rates per 1,000 of the [population_by] file's figures: where they come from, as the
    # paper says it of a KPI's own populations (kpi.render.source_sentence).
    from kpi.render import source_sentence

    return text + "." + source_sentence("The populations these rates per 1,000 divide by are",
                                        compared.population)


# ---------------------------------------------------------------------------------------------
# Flat rows: `kpi compare --format csv`, its workbook and `Project.compare()`

ROW_COLUMNS = ("kpi", "title", "unit", "better", "part", "focus", "rank", "ranked_on",
               "comparison_start", "comparison_end", "comparison_value", "current_start",
               "current_end", "current_value", "change_absolute", "change_percent",
               "change_points", "status", "population", "per_1000", "group_mean",
               "group_median", "vs_rest_p", "vs_rest_significant", "vs_focus_p",
               "vs_focus_significant", "note", "notes", "change_note", "vs_rest_tests",
               "vs_focus_tests", "population_source", "population_illustrative",
               "unit_label", "change_vs_rest_p", "change_vs_rest_significant",
               "change_vs_rest_tests", "covers")


def judged_among(test: stats.Significance | None) -> int | None:
    """How many tests of parts a part's test was judged among (the Bonferroni divisor its
    `significant` is read at: p below 0.05 / it); None where it is no test."""
    return None if test is None or test.p_value is None else test.tests


def comparison_rows(result: PeerComparison) -> list[tuple[Any, ...]]:
    """One row per KPI and part (columns ROW_COLUMNS), parts in rank order. Each row carries
    what the JSON says beside its figures: its KPI's `note` (why a window is missing, which
    parts were left out) and the comparison's `notes` (a list; the CSV joins them with
    "; ", as the summary's CSV joins its data-quality notes). A KPI with no parts has one
    row, its part and figures empty, so its note (why it has none) is read where the parts'
    are. A part with no change says why in `change_note` (engine.no_change), and how many
    parts' tests each test was judged among (`vs_rest_tests`, `vs_focus_tests`: its
    `significant` is p below 0.05 divided by it, Bonferroni's correction) after it, then
    where the populations its KPI's parts divide by come from (`population_source`,
    `population_illustrative`: the KPI's, on each row, as its `note` is;
    kpi.render.population_fields), and the name of its KPI's unit as every face prints it
    (`unit_label`: kpi.render.unit_name, "working days"; empty where its figures carry their
    own sign or none), then a count's part's change against the others' pooled change
    (`change_vs_rest_p`, `_significant`, `_tests`: the board paper's test of a part whose
    change stands out), then what the part's figure adds together (`covers`: as the
    summary's JSON gives a KPI's, kpi.render.covers_json; the CSV writes it as text,
    kpi.render.covers_cell), so the columns before keep their places."""
    from kpi.render import (
        average_json,
        change_json,
        covers_json,
        json_number,
        population_fields,
        unit_name,
        window_json,
    )

    rows = []
    notes = list(result.notes)
    for k in result.kpis:
        sourced = (*population_fields(k.population).values(), unit_name(k.kpi) or None)
        # The group's mean and median, each window and change as the JSON writes them (a
        # whole count `30`, never `30.0`), by the summary's own functions (kpi.render).
        mean, median = average_json(k.mean, k.kpi), average_json(k.median, k.kpi)
        if not k.parts:
            blank: dict[str, Any] = dict.fromkeys(ROW_COLUMNS)
            blank.update(kpi=k.kpi.id, title=k.kpi.title, unit=k.kpi.unit.value,
                         better=k.kpi.better.value, ranked_on=k.ranked_on, group_mean=mean,
                         group_median=median, note=k.note, notes=notes,
                         unit_label=unit_name(k.kpi) or None, covers=[])
            rows.append(tuple(blank.values()))
        for p in k.parts:
            cur = window_json(p.current, k.kpi, labelled=False) or {}
            cmp = window_json(p.comparison, k.kpi, labelled=False) or {}
            change = change_json(p.change, k.kpi, None)
            rows.append((
                k.kpi.id, k.kpi.title, k.kpi.unit.value, k.kpi.better.value, p.name,
                p.name == k.focus, p.rank, k.ranked_on,
                cmp.get("start"), cmp.get("end"), cmp.get("value"),
                cur.get("start"), cur.get("end"), cur.get("value"),
                change["absolute"], change["percent"], change["points"], p.status,
                json_number(p.population, Unit.COUNT), p.per_1000, mean, median,
                p.vs_rest.p_value if p.vs_rest else None,
                p.vs_rest.significant if p.vs_rest else None,
                p.vs_focus.p_value if p.vs_focus else None,
                p.vs_focus.significant if p.vs_focus else None, k.note, notes,
                engine.no_change(p), judged_among(p.vs_rest), judged_among(p.vs_focus),
                *sourced, p.change_vs_rest.p_value if p.change_vs_rest else None,
                p.change_vs_rest.significant if p.change_vs_rest else None,
                judged_among(p.change_vs_rest), covers_json(p)))
    return rows
