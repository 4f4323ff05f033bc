"""The differential oracle of `kpi compare` and of the board paper's breakdown standouts: random
projects drawn by the oracle's generators (tests/oracle_support.py), loaded through the CLI,
and every figure `kpi compare --by COLUMN --format json` prints, and every "stands out"
sentence of `kpi export markdown --full`, worked out again in DuckDB over the rows the loads
should have left.

What is checked, and where its definition comes from (never from kpi's code):

- **Parts listed** (docs/json.md, "Each part"): a part is listed when the KPI's filter selects
  one of its rows in the windows compared; compared by the column the dataset is loaded by
  (`--by force` of incidents loaded by force), it must also hold rows in every month of the
  current window, and its comparison is null (never 0) when it holds rows in only some months,
  or none, of the comparison window. A part of any other column has 0 in a month it holds no
  row in (its figure is `kpi show`'s, over its rows). A window a force of a `replace_by`
  dataset holds only some months of has no figure (docs/guarantees.md: never summed over
  fewer months than it says), so a part of another column (an LPA, which spans forces) is then
  given no figure either, or its figure over the forces that hold the whole window.
- **Values, changes, per 1,000, ranks, mean and median** (docs/json.md, docs/peers.md): each
  part's value over its rows; per 1,000 from `[population_by]`, the part's latest year on or
  before the year the window ends, for counts, sums and harm scores; ranked per 1,000 when
  every valued part has a population, else on the values; competition ranking.
- **vs_rest** (docs/statistics.md, "One part against the others"): the part against the other
  listed parts pooled; a rate by the pooled two-proportion z-test of x of n against the
  others' summed numerators over their summed denominators; a count by the conditional test
  of two Poisson counts with the parts' populations as exposure (statistic: the ratio of the
  two rates per person); a part or a rest of fewer than 50 cases (events) not tested. With
  `--peers` (docs/peers.md): the group's members and focus only,
  ranked among themselves, and `vs_focus` each part against the focus alone; a member is said
  to hold no rows only where it has none.
- **Standouts** (docs/board-paper.md, "A part that stands out"; docs/statistics.md): for each
  printed sentence, the named parts' and the rest's percentage change (a count) or proportion
  (a rate), the rest being every other part with events (cases) less those that stand out; the
  number of parts; both bases at least 50; the gap as printed at least `[paper]
  standout_change_points` (or `standout_points`); p < 0.05 / m, m the parts with 50 cases
  (events) and a rest of 50, against the rest named and against all the others pooled (the
  test `kpi compare` reports of the same figure); for a count, windows that
  share no month (none is said over windows that do). Where a tested breakdown has
  no sentence, no part meets the rule against all the other parts (the search's first step
  would have found it). Whether a part left in the rest would pass against the final rest is
  not a documented promise (a part put back after its retest is not searched again), so it is
  counted, not failed.

- **Derived columns** (docs/catalogue.md, `[datasets.<d>.derived]`): `place` (a text) and
  `serious` (true/false) of oracle_support.DERIVED, compared by and broken down by as stored
  columns are, each part's rows selected by the column's expression written out in SQL.
- **`--as-of` a moment** (docs/guarantees.md, "Reproducing and recovering a version"): the
  incidents are loaded twice, the clock read between the loads; `kpi compare --as-of` that
  moment (in UTC, with `Z` or another zone) gives the first load's figures, and a moment before
  every load is refused (exit 3).

CI runs two seeds (1 and 2); by hand:

    KPI_COMPARE_ORACLE_SEEDS=7,99,2026,424243 pytest tests/test_oracle_compare.py -s
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from oracle_support import (
    CLASSES,
    COLUMN_LABELS,
    DERIVED,
    FORCES,
    LPAS,
    Kpi,
    Model,
    Oracle,
    as_of_text,
    change_places,
    derived_text,
    draw_project,
    excel_round,
    excel_text,
    inc_rows,
    month,
    percent_change,
    printed_places,
    same,
    staff_rows,
    stands_for,
    text,
    windows,
    write_csv,
)
from typer.testing import CliRunner

from kpi.cli import app

SEEDS = [int(s) for s in os.environ.get("KPI_COMPARE_ORACLE_SEEDS", "1,2").split(",") if s]
STATS: Counter = Counter()
MORE_LPAS = [*LPAS, "Walsall", "Solihull"]
SMALL_BASE = 50  # docs/board-paper.md: the base under which the paper gives no percentage
ALPHA = 0.05
# `place` and `serious` are derived columns (oracle_support.DERIVED), compared by as any other
BY = {"inc": ["lpa", "offence", "force", "victims", "place", "serious"],
      "staff": ["role", "minority"]}
SPLIT_KINDS = {"count", "sum", "rate", "within", "mean", "median", "percentile",
               "weighted_score", "snapshot"}
PER_POPULATION = {"count", "sum", "weighted_score"}


def _part_where(by: str, window: tuple[int, int], name: str | None,
                forces: list[str] | None) -> tuple[list[str], list]:
    """The SQL conditions (and their arguments) of a part's rows in a window, over `forces`
    (None: every force): the part's value of `by`, or no value for the part None."""
    column = derived_text(by, DERIVED)  # a derived column: its expression
    where = [f"month BETWEEN {window[0]} AND {window[1]}",
             f"{column} IS NULL" if name is None else f"CAST({column} AS VARCHAR) = ?"]
    args: list = [] if name is None else [name]
    if forces is not None:
        where.append("force IN (" + ", ".join("?" * len(forces)) + ")" if forces else "FALSE")
        args += forces
    return where, args


class Project:
    """A random project and the rows its loads should have left."""

    def __init__(self, seed: int, base: Path):
        self.seed = seed
        rnd = self.rnd = random.Random(seed)
        self.spec = draw_project(rnd, frozenset(CLASSES))
        for k in self.spec.kpis:
            k.breakdowns = ()
            if k.parts or k.kind not in SPLIT_KINDS:
                continue
            if k.dataset == "inc":
                k.breakdowns = ("lpa", "offence")
            elif k.dataset == "staff":
                k.breakdowns = ("role",)
        if not any(k.kind == "count" and k.dataset == "inc" and not k.parts
                   for k in self.spec.kpis):
            self.spec.kpis.append(Kpi("k_cnt", "count", "inc", breakdowns=("lpa", "offence")))
        if not any(k.kind == "rate" for k in self.spec.kpis):
            self.spec.kpis.append(Kpi("k_rt", "rate", "inc", numerator="offence = 'theft'",
                                      better="higher", breakdowns=("lpa", "offence")))
        # a count with no better direction, whose parts the full paper ranks highest first,
        # never "best first" (docs/board-paper.md)
        if not any(k.better == "neutral" and k.breakdowns for k in self.spec.kpis):
            self.spec.kpis.append(Kpi("k_cnt_neutral", "count", "inc", better="neutral",
                                      breakdowns=("lpa", "offence")))
        # derived columns (docs/catalogue.md), compared by, and one KPI's breakdown (CI's cost)
        self.spec.derived = dict(DERIVED)
        # what the oracle drew later draws from its own generator, so seeds draw the projects
        # they drew before
        self.more = random.Random(seed * 31 + 5)
        split = [k for k in self.spec.kpis if k.dataset == "inc" and k.breakdowns]
        if split:
            k = self.more.choice(split)
            k.breakdowns = (*k.breakdowns, self.more.choice(sorted(DERIVED)))
        # now and then a `label` on the incidents' LPA and offence (docs/catalogue.md), which
        # heads their sentences and lists ("By local policing area, ..."), from a generator
        # of its own again
        labelling = random.Random(seed * 41 + 7)
        for column in ("lpa", "offence"):
            if labelling.random() < 0.5:
                self.spec.labels[column] = labelling.choice(COLUMN_LABELS[column])
        self.named = {**LABELS, **self.spec.labels}
        STATS["projects with a column labelled"] += bool(self.spec.labels)
        self.folder = base / f"p{seed}"
        self.spec.write(self.folder)
        # some incidents have no LPA: never a part, nor in a standout's rest (docs/board-paper.md)
        toml = (self.folder / "kpi.toml").read_text(encoding="utf-8")
        (self.folder / "kpi.toml").write_text(toml.replace(
            'lpa = { type = "str", from = ["LPA"]',
            'lpa = { type = "str", from = ["LPA"], required = false', 1), encoding="utf-8")
        self.blank_lpas = rnd.random() < 0.5
        self.change_points = rnd.choice([0.0, 2.0, 5.0])
        self.share_points = rnd.choice([0.0, 2.0])
        # populations: two years for most LPAs, sometimes one LPA without
        self.populations: dict[str, list[tuple[int, float]]] = {}
        for lpa in MORE_LPAS:
            if rnd.random() < 0.1:
                continue
            self.populations[lpa] = [(2023, rnd.randint(50, 900) * 1000),
                                     (2025, rnd.randint(50, 900) * 1000)]
        lines = ["lpa,population,year"]
        for lpa, years in self.populations.items():
            written = lpa.upper() if rnd.random() < 0.2 else lpa  # parts ignore case
            lines += [f"{written},{p},{y}" for y, p in years]
        (self.folder / "lpa-population.csv").write_text("\n".join(lines) + "\n",
                                                        encoding="utf-8")
        self.members = rnd.sample(MORE_LPAS, 3)
        self.focus = rnd.choice(self.members)
        with (self.folder / "kpi.toml").open("a", encoding="utf-8") as f:
            f.write('\n[peers.g]\ntitle = "similar areas"\ncolumn = "lpa"\nmembers = ['
                    + ", ".join(f'"{m}"' for m in self.members) + f']\nfocus = "{self.focus}"\n')
            f.write('\n[population_by]\nlpa = "lpa-population.csv"\n\n[paper]\n'
                    f"standout_change_points = {self.change_points}\n"
                    f"standout_points = {self.share_points}\n")
        (self.folder / "extracts").mkdir()
        self.model = Model(self.spec)
        self.oracle = Oracle(self.model)
        self.runner = CliRunner()
        self.log: list[str] = []
        self.earliest = datetime.now(UTC)  # before every load
        time.sleep(0.02)

    def kpi(self, *args: str):
        self.log.append("kpi " + " ".join(args))
        result = self.runner.invoke(app, ["--project", str(self.folder), *args])
        assert "Traceback" not in (result.stderr or ""), result.stderr
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    def load(self, dataset: str, rows: list[dict], name: str) -> None:
        path = self.folder / "extracts" / f"{name}.csv"
        write_csv(path, dataset, rows, self.spec)
        result = self.kpi("ingest", dataset, str(path), "--allow-shrink")
        assert result.exit_code == 0, result.stderr
        for row in rows:
            if row.get("lpa") == "":
                row["lpa"] = None
        self.model.apply(dataset, rows)

    def fill(self) -> None:
        """Incidents of five LPAs whose sizes and changes differ, so parts stand out; each force
        its own run of months (with a hole) when the dataset is loaded force by force."""
        r = self.rnd
        counter = [0]
        size = {lpa: r.randint(1, 5) for lpa in MORE_LPAS}
        shift = {lpa: r.choice([0.4, 1.0, 1.0, 1.0, 1.8]) for lpa in MORE_LPAS}
        pivot = month(2024, r.randint(1, 12))
        start, end = month(2023, 1), r.randint(month(2025, 6), month(2025, 12))
        rows: list[dict] = []
        for force in FORCES:
            first, last = start, end
            if self.spec.replace_by and r.random() < 0.3:
                first, last = r.randint(start, start + 14), r.randint(end - 10, end)
            months = list(range(first, last + 1))
            if self.spec.replace_by and r.random() < 0.2 and len(months) > 4:
                months.pop(r.randrange(1, len(months) - 1))
            for m in months:
                for lpa in MORE_LPAS:
                    reps = max(1, round(size[lpa] * (shift[lpa] if m >= pivot else 1.0)))
                    for _ in range(reps):
                        rows += inc_rows(r, [m], force, counter, lpas=[lpa])
                if self.blank_lpas and r.random() < 0.5:
                    rows += inc_rows(r, [m], force, counter, lpas=[""])
        if not self.spec.replace_by:
            for row in rows:
                row["force"] = r.choice(FORCES)
        self.load("inc", rows, "inc")
        self.load("staff", staff_rows(r, list(range(start, end + 1))), "staff")
        self.oracle.refresh()
        self.last = end
        self.revise(size, start, end)

    def revise(self, size: dict[str, int], start: int, end: int) -> None:
        """A second load of the incidents (every force's, or one force's, months of a run
        of a year or so, each LPA's numbers drawn again), with the clock read on either side:
        `--as-of` a moment between the loads (`self.between`) reads the rows of the first
        (`self.before`); one before every load (`self.earliest`) has no data."""
        r = self.more
        self.before = Model(self.spec, canonical=self.model.canonical)
        self.before.rows = {d: [dict(x) for x in rows] for d, rows in self.model.rows.items()}
        first = r.randint(start, end - 12)
        months = list(range(first, min(end, first + r.randint(3, 14)) + 1))
        forces = [r.choice(FORCES)] if self.spec.replace_by else FORCES
        counter = [10**6]
        rows: list[dict] = []
        for force in forces:
            held = self.model.held("inc", force) if self.spec.replace_by else None
            for m in months:
                if held is not None and m not in held:
                    continue  # a force's revision keeps its run of months (and its hole)
                for lpa in MORE_LPAS:
                    for _ in range(max(1, round(size[lpa] * r.choice([0.5, 1.0, 2.0])))):
                        rows += inc_rows(r, [m], force, counter, lpas=[lpa])
        if not self.spec.replace_by:
            for row in rows:
                row["force"] = r.choice(FORCES)
        time.sleep(0.02)  # a moment clear of both commits (Delta stamps them to the ms)
        self.between = datetime.now(UTC)
        time.sleep(0.02)
        if not rows:  # the force drawn holds none of the months: no second load
            return
        self.load("inc", rows, "inc-revised")
        self.oracle.refresh()

    # -- the model ------------------------------------------------------------------------

    def forces_full(self, k: Kpi, window: tuple[int, int], spans: list[tuple[int, int]]
                    ) -> tuple[list[str] | None, bool]:
        """(forces a window is summed over, whether some force in play is left out): every
        row (None) unless a force of a replace_by dataset holding rows in the windows compared
        lacks a month of `window`."""
        if k.dataset != "inc" or not self.spec.replace_by:
            return None, False
        months = set(range(window[0], window[1] + 1))
        span = {m for a, b in spans for m in range(a, b + 1)}
        full, gap = [], False
        for f in self.model.parts("inc"):
            held = self.model.held("inc", f)
            if not held & span:
                continue
            if months <= held:
                full.append(f)
            else:
                gap = True
        return full, gap

    def part_rows(self, k: Kpi, by: str, window: tuple[int, int], name: str | None,
                  forces: list[str] | None, filtered: bool) -> tuple[int, int]:
        """(rows, distinct months) of a part in a window, over `forces`, with or without the
        KPI's filter."""
        where, args = _part_where(by, window, name, forces)
        if filtered and k.filter:
            where.append(f"({derived_text(k.filter, DERIVED)})")
        got = self.oracle.db.execute(
            f"SELECT count(*), count(DISTINCT month) FROM {k.dataset} WHERE "
            + " AND ".join(where), args).fetchone()
        return int(got[0]), int(got[1])

    def loads(self, k: Kpi, by: str) -> bool:
        """Whether each part of `by` is loaded on its own (docs/json.md): the column the
        dataset is loaded by, whose months a part holds no row in were never loaded."""
        return k.dataset == "inc" and by == "force" and self.spec.replace_by

    def parts_of(self, k: Kpi, by: str) -> list[str]:
        column = derived_text(by, DERIVED)
        return [str(v[0]) for v in self.oracle.db.execute(
            f"SELECT DISTINCT CAST({column} AS VARCHAR) FROM {k.dataset} "
            f"WHERE {column} IS NOT NULL").fetchall()]

    def components(self, k: Kpi, by: str, window: tuple[int, int], name: str | None,
                   forces: list[str] | None) -> tuple[float, float] | None:
        """(x, n) of a proportion's part: a rate's selected rows of its numerator of all its
        rows, a within's values at most the threshold of its values."""
        where, args = _part_where(by, window, name, forces)
        if k.filter:
            where.append(f"({derived_text(k.filter, DERIVED)})")
        table = "staff" if k.snapshot else k.dataset
        if k.kind == "rate" or k.snapshot:
            sql = f"SELECT count(*) FILTER ({k.numerator}), count(*) FROM {table} WHERE "
        elif k.kind == "within":
            sql = (f"SELECT count(*) FILTER ({k.value} <= {k.threshold}), count({k.value}) "
                   f"FROM {table} WHERE ")
        else:
            return None
        x, n = self.oracle.db.execute(sql + " AND ".join(where), args).fetchone()
        return float(x), float(n)

    def population(self, name: str, year: int) -> float | None:
        for lpa, years in self.populations.items():
            if lpa.lower() == name.lower():
                known = [p for y, p in years if y <= year]
                return known[-1] if known else None
        return None


def _z(x1: float, n1: float, x2: float, n2: float) -> tuple[float, float]:
    """The pooled two-proportion z-test (docs/statistics.md), two-sided."""
    p = (x1 + x2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    z = (x1 / n1 - x2 / n2) / se if se else 0.0
    return z, math.erfc(abs(z) / math.sqrt(2))


def exact_mean(values) -> float:
    """The mean of the numbers the figures stand for (`stands_for`: a decimal as the JSON
    writes it, a quotient as the quotient), in exact fractions, made one float."""
    exact = [stands_for(float(v)) for v in values]
    return float(sum(exact, Fraction(0)) / len(exact))


def exact_median(values) -> float:
    """The middle figure, or halfway between the two middle ones, exactly, made one float."""
    exact = sorted(stands_for(float(v)) for v in values)
    middle = len(exact) // 2
    return float(exact[middle] if len(exact) % 2 else (exact[middle - 1] + exact[middle]) / 2)


def _rank_ok(values: dict[str, float], ranks: dict[str, int | None], better: str) -> bool:
    for name, v in values.items():
        ahead = sum(1 for w in values.values()
                    if (float(f"{w:.12g}") > float(f"{v:.12g}") if better == "higher"
                        else float(f"{w:.12g}") < float(f"{v:.12g}")))
        if ranks[name] != ahead + 1:
            return False
    return True


def check_compare_as_of(p: Project, period: int, vs: str, by: str, rnd: random.Random) -> None:
    """`kpi compare --as-of` a moment between the two loads of the incidents: every figure is
    the first load's (`p.before`); a moment before every load is refused (exit 3, one line)."""
    if rnd.random() < 0.2:
        result = p.kpi("compare", "--period", text(period), "--by", by, "--vs", vs,
                       "--as-of", as_of_text(p.earliest, rnd), "--format", "json")
        # a column no KPI can be compared by is a usage error, whatever the moment
        unusable = not any(not k.parts and k.kind in SPLIT_KINDS
                           and by in BY.get(k.dataset, []) for k in p.spec.kpis)
        assert result.exit_code == (2 if unusable else 3) and result.stderr.startswith(
            "Error:"), (f"seed {p.seed}: compare --as-of before every load: exit "
                        f"{result.exit_code} {result.stderr}")
        STATS["compare --as-of before every load: refused"] += 1
        return
    saved = p.model, p.oracle
    p.model, p.oracle = p.before, Oracle(p.before)
    p.oracle.refresh()
    as_of = as_of_text(p.between, rnd)
    try:
        check_compare(p, period, vs, by, as_of=as_of)
    except AssertionError as failure:
        raise AssertionError(f"compare --as-of {as_of} (between the loads): {failure}") \
            from None
    finally:
        p.model, p.oracle = saved
    STATS["compare --as-of a moment between loads: checked"] += 1


def check_compare(p: Project, period: int, vs: str, by: str, peers: bool = False,
                  as_of: str | None = None) -> None:
    """`kpi compare --by` (with `--peers`: the group's members and its focus only, ranked among
    themselves, each tested against the others of the group and against the focus)."""
    result = p.kpi("compare", "--period", text(period), "--by", by, "--vs", vs,
                   "--format", "json", *(["--peers", "g"] if peers else []),
                   *(["--as-of", as_of] if as_of else []))
    kpis = [k for k in p.spec.kpis if not k.parts and k.kind in SPLIT_KINDS
            and by in BY.get(k.dataset, [])]
    whole = [k for k in kpis if whole_current(p, k, period, vs)]
    if peers and whole:
        # every LPA has rows in every month loaded: the group's members are all in the data
        assert "holds no rows" not in result.stderr, f"seed {p.seed}: {result.stderr}"
    if result.exit_code != 0:
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert result.exit_code in (2, 3) and len(errors) == 1, result.stderr
        error = errors[0]
        if "no KPI can be compared by" in error:
            assert not kpis, f"seed {p.seed}: compare --by {by} refused: {error}"
        elif "no KPI has data by" in error:
            # with --peers, only the group's members are parts
            group = set([*p.members, p.focus]) if peers else None
            for k in kpis:
                parts = listed(p, k, by, *windows(k, period, vs, p.model.held(k.dataset))[1:])
                assert not (whole_current(p, k, period, vs) and (
                    parts if group is None else parts & group)), (
                    f"seed {p.seed}: compare --by {by} refused: {error}")
        else:  # a period past some dataset's data (the Period invariant)
            assert any(windows(k, period, vs, p.model.held(k.dataset))[0] != period - k.lag
                       for k in kpis), f"seed {p.seed}: compare --by {by} refused: {error}"
        STATS["compare refusals: " + re.sub(r"[\d-]{7}", "M", error)[:60]] += 1
        return
    got = {g["id"]: g for g in json.loads(result.stdout)["kpis"]}
    quarterly = {k.id for k in p.spec.kpis if k.dataset == "q"}  # the main oracle's
    assert set(got) - quarterly == {k.id for k in kpis}, (sorted(got), [k.id for k in kpis])
    group = set([*p.members, p.focus]) if peers else None
    for k in kpis:
        check_kpi(p, k, got[k.id], period, vs, by, group)


def listed(p: Project, k: Kpi, by: str, cur: tuple[int, int], cmp_) -> set[str]:
    """The parts docs/json.md lists: the KPI's filter selects one of their rows in the windows
    compared, and, compared by the column the dataset is loaded by, they hold rows in every
    month of the current window."""
    out = set()
    for name in p.parts_of(k, by):
        months_cur = p.part_rows(k, by, cur, name, None, False)[1]
        selected = p.part_rows(k, by, cur, name, None, True)[0] + (
            p.part_rows(k, by, cmp_, name, None, True)[0] if cmp_ else 0)
        if selected and (months_cur == cur[1] - cur[0] + 1 or not p.loads(k, by)):
            out.add(name)
    return out


def whole_current(p: Project, k: Kpi, period: int, vs: str) -> bool:
    """Whether a KPI's current window is held whole (every month, by every force in play)."""
    _, cur, cmp_ = windows(k, period, vs, p.model.held(k.dataset))
    if cur is None or not set(range(cur[0], cur[1] + 1)) <= p.model.held(k.dataset):
        return False
    return not p.forces_full(k, cur, [cur] + ([cmp_] if cmp_ else []))[1]


def check_kpi(p: Project, k: Kpi, got: dict, period: int, vs: str, by: str,
              group: set[str] | None) -> None:
    where = (f"seed {p.seed}: compare --by {by}{' --peers g' if group else ''} --period "
             f"{text(period)} --vs {vs}: {k.id}")
    end, cur, cmp_ = windows(k, period, vs, p.model.held(k.dataset))
    if cur is None:
        assert not got["parts"], where
        return
    spans = [cur] + ([cmp_] if cmp_ else [])
    cur_forces, cur_gap = p.forces_full(k, cur, spans)
    cmp_forces, cmp_gap = p.forces_full(k, cmp_, spans) if cmp_ else (None, False)
    parts = {g["name"]: g for g in got["parts"]}
    if cur_gap and parts:
        STATS["compare: parts printed over a window a force holds in part"] += 1
    expected_listed = listed(p, k, by, cur, cmp_)
    if group is not None:
        expected_listed &= group
    if not cur_gap:
        assert set(parts) == expected_listed, f"{where}: parts {sorted(parts)}, expected " \
                                              f"{sorted(expected_listed)}"
    values: dict[str, float] = {}
    per_1000: dict[str, float] = {}
    for name, part in parts.items():
        assert part["current"] is not None, where
        want = p.oracle.value(k, cur, cur_forces, (by, name))
        value = part["current"]["value"]
        assert not cur_gap or cur_forces is not None
        assert same(value, want), (
            f"{where}: {name} current {value}, expected {want} over "
            f"{'every force' if cur_forces is None else cur_forces}"
            f"{' (a force holds only some months of the window)' if cur_gap else ''}")
        STATS["compare: part values checked"] += 1
        if by in DERIVED:
            STATS["compare: part values of a derived column checked"] += 1
        if value is not None:
            values[name] = value
        # the comparison: null when the part (or a force in play) lacks a month of it
        if cmp_ is None:
            assert part["comparison"] is None, where
        else:
            months_cmp = p.part_rows(k, by, cmp_, name, None, False)[1]
            shown = part["comparison"]
            # a window the dataset holds only some months of (one before the data) has no
            # figure; nor, compared by the column the dataset is loaded by, one the part does
            whole_cmp = set(range(cmp_[0], cmp_[1] + 1)) <= p.model.held(k.dataset)
            if not whole_cmp or months_cmp < cmp_[1] - cmp_[0] + 1 and p.loads(k, by):
                assert shown is None, f"{where}: {name} has a comparison of {shown} over a " \
                                      "window it holds only some months of"
            elif shown is not None:
                want_cmp = p.oracle.value(k, cmp_, cmp_forces, (by, name))
                assert same(shown["value"], want_cmp), (
                    f"{where}: {name} comparison {shown['value']}, expected {want_cmp} over "
                    f"{'every force' if cmp_forces is None else cmp_forces}"
                    f"{' (a force holds only some months of the window)' if cmp_gap else ''}")
                STATS["compare: part comparisons checked"] += 1
            else:
                # a window it holds no value in (a mean, a rate of no rows) divides by zero
                assert cmp_gap or p.oracle.value(k, cmp_, cmp_forces, (by, name)) is None, \
                    f"{where}: {name} has no comparison, its window is whole"
        # per 1,000
        population = (p.population(name, cur[1] // 12)
                      if by == "lpa" and k.kind in PER_POPULATION and k.unit != "percent"
                      else None)
        assert same(part["population"], population), (where, name, part["population"],
                                                      population)
        want_pp = (value / population * 1000 if population and value is not None else None)
        assert same(part["per_1000"], want_pp), (where, name, part["per_1000"], want_pp)
        if want_pp is not None:
            per_1000[name] = want_pp
            STATS["compare: per 1,000 checked"] += 1
    # ranks, mean, median
    if values:
        ranked_on = None if k.better == "neutral" else (
            "per_1000" if len(per_1000) == len(values) else "value")
        assert got["ranked_on"] == ranked_on, (where, got["ranked_on"], ranked_on)
        if ranked_on:
            metric = per_1000 if ranked_on == "per_1000" else values
            assert _rank_ok(metric, {n: parts[n]["rank"] for n in metric}, k.better), where
        # To the bit: the parts' figures as written, worked out exactly and rounded once.
        assert got["mean"] == exact_mean(values.values()), (where, got["mean"])
        assert got["median"] == exact_median(values.values()), (where, got["median"])
        if per_1000:
            shown_pp = [parts[n]["per_1000"] for n in per_1000]
            assert got["mean_per_1000"] == exact_mean(shown_pp), where
            assert got["median_per_1000"] == exact_median(shown_pp), where
        STATS["compare: ranks, means and medians checked"] += 1
    check_vs_rest(p, k, parts, values, cur, cur_forces, by, where, "vs_rest")
    if group is not None and p.focus in parts:
        check_vs_rest(p, k, parts, values, cur, cur_forces, by, where, "vs_focus", p.focus)


def check_vs_rest(p: Project, k: Kpi, parts: dict, values: dict, cur, forces, by: str,
                  where: str, field: str, focus: str | None = None) -> None:
    """Each part against the others listed, pooled (vs_rest), or against the focus
    (vs_focus)."""
    if len(parts) < 2 or len(values) < len(parts):
        return
    for name, part in parts.items():
        test = part[field]
        others = [n for n in parts if n != name]
        if focus is not None:
            if name == focus:
                assert test is None, (where, name, test)
                continue
            others = [focus]
        if k.kind in ("rate", "within") and k.unit == "percent":
            comps = {n: p.components(k, by, cur, n, forces) for n in parts}
            x1, n1 = comps[name]
            x2 = sum(comps[o][0] for o in others)
            n2 = sum(comps[o][1] for o in others)
            if not n1 or not n2:
                continue
            if min(n1, n2) < SMALL_BASE:  # no part tested on fewer than 50 cases a side
                assert test["p_value"] is None and test["test"] is None, (where, name, test)
                STATS[f"compare: {field} under 50 cases, not tested"] += 1
                continue
            z, pv = _z(x1, n1, x2, n2)
            assert test["test"] is not None, (where, name, test)
            if x1 + x2 in (0, n1 + n2):  # every case one way: no spread, nothing to test
                assert test["statistic"] in (None, 0) and not test["significant"], where
                continue
            assert math.isclose(test["statistic"], z, rel_tol=1e-9, abs_tol=1e-9), (
                f"{where}: {name} {field} z {test['statistic']}, expected {z} from {x1:g} of "
                f"{n1:g} against {x2:g} of {n2:g} (the others pooled)")
            assert math.isclose(test["p_value"], pv, rel_tol=1e-6, abs_tol=1e-12), where
            STATS[f"compare: {field} z-tests checked"] += 1
        elif k.kind == "count" and k.unit != "percent" and by == "lpa":
            pops = {n: parts[n]["population"] for n in [name, *others]}
            if any(v is None for v in pops.values()):
                assert test["test"] is None, (where, name, test)
                continue
            n1 = values[name]
            n2 = sum(values[o] for o in others)
            t2 = sum(pops[o] for o in others)
            if min(n1, n2) < SMALL_BASE:  # no part tested on fewer than 50 events a side
                assert test["p_value"] is None and test["test"] is None, (where, name, test)
                STATS[f"compare: {field} under 50 events, not tested"] += 1
                continue
            ratio = (n1 / pops[name]) / (n2 / t2) if n2 else None
            assert (test["statistic"] is None) == (ratio is None), where
            if ratio is not None:
                assert math.isclose(test["statistic"], ratio, rel_tol=1e-9), (
                    f"{where}: {name} {field} rate ratio {test['statistic']}, expected {ratio} "
                    f"({n1:g} in {pops[name]:g} against {n2:g} in {t2:g}, the others pooled)")
            n = int(n1 + n2)
            if n and n <= 10_000:
                # Imported here, not at the top: scipy.stats costs every worker process that
                # collects this module about 0.6 s of CPU, and most never run this check.
                from scipy.stats import binom

                q = pops[name] / (pops[name] + t2)
                lower, upper = binom.cdf(n1, n, q), binom.sf(n1 - 1, n, q)
                assert math.isclose(test["p_value"], min(1.0, 2 * min(lower, upper)),
                                    rel_tol=1e-6, abs_tol=1e-12), (where, name, test)
            STATS[f"compare: {field} Poisson tests checked"] += 1


# ---------------------------------------------------------------------------------------------
# The paper's standout sentences

PERCENT = r"([+\-−]?\d[\d,]*\.\d)%"
PART = rf"(?:\*\*)?(.+?)(?:\*\*)? \({PERCENT}\)"


def _num(s: str) -> float:
    return float(s.replace("−", "-").replace(",", ""))


def parse_standout(sentence: str) -> dict | None:
    """'By LPA, A (+1.0%), B (-2.0%) and C (+3.0%) stand out from the other 2 (+4.0%): …' or
    '… from D (+4.0%): …' or 'By LPA, 4 of 5 stand out from D (…), differences …; the largest
    are …'."""
    m = re.match(r"By (.+?), (\d+) of (\d+) stand out from (.+?), differences unlikely to be "
                 r"chance; the (?:largest|furthest from them) are (.+)\.$", sentence)
    head = None
    if m:
        label, count, tested, rest_text, named_text = m.groups()
        count, tested = int(count), int(tested)
    else:
        m = re.match(r"By (.+?), (.+) stands? out from (.+?): (?:a difference|differences) "
                     r"unlikely to be chance\.$", sentence)
        if not m:
            return None
        label, named_text, rest_text = m.groups()
        count = tested = None
        head = True
    named = [(a, _num(b)) for a, b in re.findall(
        rf"(?:^|, | and )(.+?) \({PERCENT}\)", named_text)]
    other = re.match(rf"the other (\d+) \({PERCENT}( together)?\)$", rest_text)
    if other:
        rest = {"n": int(other.group(1)), "name": None, "value": _num(other.group(2))}
    else:
        one = re.match(rf"(.+?) \({PERCENT}( together)?\)$", rest_text)
        assert one, rest_text
        rest = {"n": 1, "name": one.group(1), "value": _num(one.group(2))}
    if head:
        count = len(named)
    return {"label": label, "named": named, "count": count, "tested": tested, "rest": rest}


def check_paper(p: Project, period: int, vs: str, full: bool) -> None:
    """The standout sentences of the full paper (every breakdown, each tested) or of the
    board's (the breakdowns it adds where a part stands out: only what it prints is checked)."""
    out = p.folder / "out" / f"paper-{text(period)}-{vs}-{full}.md"
    result = p.kpi("export", "markdown", *(["--full"] if full else []), "--period",
                   text(period), "--vs", vs, "--output", str(out))
    if result.exit_code != 0:
        assert result.exit_code in (2, 3) and result.stderr.startswith("Error:"), result.stderr
        STATS["paper refusals"] += 1
        return
    paper = out.read_text(encoding="utf-8").replace("\\", "")
    figures = json.loads(out.with_suffix(".figures.json").read_text(encoding="utf-8"))
    labels = {name: column for column, name in p.named.items()}
    # each KPI's section: from its title to the next KPI's
    titles = {k.id: f"KPI {k.id}" for k in p.spec.kpis}
    spots = sorted((m.start(), kid) for kid, t in titles.items()
                   for m in re.finditer(rf"\*\*{re.escape(t)}\.?\*\*", paper))
    sections: dict[str, str] = {}
    for i, (at, kid) in enumerate(spots):
        stop = spots[i + 1][0] if i + 1 < len(spots) else len(paper)
        sections[kid] = sections.get(kid, "") + paper[at:stop]
    del figures
    for k in p.spec.kpis:
        text_ = sections.get(k.id, "")
        sentences = re.findall(r"By [^,.]+, (?:(?!By ).)*? stands? out from .*?unlikely to be "
                               r"chance(?:\.|; .*?\)\.)", text_)
        if k.kind not in ("count", "rate", "within") and not (k.snapshot and k.numerator):
            # a sum, mean, median or score, and a headcount, have no breakdown test
            assert not sentences, f"seed {p.seed}: {k.id} ({k.kind}): {sentences}"
            continue
        found = {}
        for s in sentences:
            parsed = parse_standout(s)
            assert parsed, f"seed {p.seed}: unparsed standout sentence: {s}"
            found[labels[parsed["label"]]] = (parsed, s)
        end, cur, cmp_ = windows(k, period, vs, p.model.held(k.dataset))
        if cur is None:
            continue
        if cmp_ and not set(range(cmp_[0], cmp_[1] + 1)) <= p.model.held(k.dataset):
            cmp_ = None  # a comparison window before the data: no comparison
        for by in k.breakdowns:
            if full or by in found:
                check_standout(p, k, by, cur, cmp_, found.get(by), period, vs, full)
            if full:
                check_ranking(p, k, by, cur, cmp_, text_, by in found,
                              f"seed {p.seed}: export --full --period {text(period)} --vs {vs}")


# every part on a base below 50: "By offence, on a base below 50, as numbers: assault (−9)."
RANKING = re.compile(r"By ([^,.]+?), (?:the (percentage change|change in percentage points|"
                     r"change), (best|highest) first: |(?=on a base below 50, as numbers: ))"
                     r"(.*?\))\.(?: |\n|$)")
HIGHEST = re.compile(r"By ([^,.]+?), the highest figures .*? were (.*?\))\.(?: |\n|$)")
# a true/false column's parts read 'true' and 'false', as DuckDB casts them
LABELS = {"lpa": "LPA", "offence": "offence", "role": "role", "place": "place",
          "serious": "serious"}
TOP_PARTS = 5  # docs/board-paper.md: a longer breakdown lists its five largest parts, as one
# with no comparison to rank by does, every part tied with the fifth too
TOP_MOST = 10  # ... unless that makes more than ten: then those tied are counted, not named


def check_highest(k: Kpi, by: str, parts: dict, section: str, ranked: list, standout: bool,
                  where: str, heading: str) -> None:
    """A breakdown with no comparison window (none asked, or one a force holds only some
    months of): no ranking by change, and, for more than one part, "By LPA, the highest
    figures in ... were A (12), B (9) ...": the parts with a current figure above zero,
    highest first (equal figures by name), at most five, never the rows with no value in the
    column ("not recorded")."""
    assert not ranked, f"{where}: {k.id} by {by} ranked by a change with no comparison"
    found = [m for m in HIGHEST.finditer(section) if m.group(1) == heading]
    if len(parts) <= 1 or standout:
        STATS["highest figures: one part or a standout sentence"] += 1
        return
    # docs/board-paper.md: never the rows with no value in the column ("not recorded"),
    # which "the highest figures were not recorded (2,546)" would read as figures missing
    shown = [(n, v) for n, (v, _) in parts.items() if v and n != "not recorded"]
    if not shown:
        assert not found, (where, k.id, by, found[0].group(0))
        return
    assert len(found) == 1, f"{where}: {k.id} by {by}: no list of the highest figures of " \
                            f"{sorted(parts)}: {section[:800]}"
    items = re.findall(r"(?:^|, )(.+?) \(([^()]*)\)", found[0].group(2))
    names = [n for n, _ in items]
    for name, shown in items:
        # each figure as printed, to the places it is printed to (a count whole, a share to
        # one decimal with its %)
        digits = shown.replace(",", "").removesuffix("%")
        places = len(digits.partition(".")[2])
        assert name in parts and excel_text(parts[name][0], places) == digits, (
            f"{where}: {k.id} by {by}: {name} ({shown}), expected "
            f"{parts.get(name, (None,))[0]}")
    # Listed highest first, two figures that differ never print alike (a ranked column,
    # docs/guarantees.md).
    assert len({shown for _, shown in items}) == len(
        {Decimal(format(parts[n][0], ".15g")) for n in names}), (where, k.id, by, items)
    # kpi sorts equal figures by the part, the rows with no value in the column last; every
    # part tied with the fifth is listed too (fewer than five figures above it), or, where
    # they would make more than TOP_MOST, none of them, counted (docs/board-paper.md)
    ordered = sorted(parts.items(), key=lambda item: (-item[1][0], item[0] == "not recorded",
                                                      item[0]))
    named = [(n, v) for n, (v, _) in ordered if n != "not recorded" and v]
    def above(v: float) -> int:
        return sum(Decimal(format(w, ".15g")) > Decimal(format(v, ".15g")) for _, w in named)
    kept = [(n, v) for n, v in named if above(v) < TOP_PARTS]
    joint = re.search(r" and ([\d,]+) parts joint (\d+)\w\w \(", found[0].group(2))
    if len(kept) > TOP_MOST:
        last = kept[-1][1]
        tied = [n for n, v in kept if v == last]
        kept = [(n, v) for n, v in kept if v != last]
        assert joint is not None and (int(joint.group(1).replace(",", "")),
                                      int(joint.group(2))) == (len(tied), 1 + above(last)), (
            f"{where}: {k.id} by {by}: {found[0].group(0)}, expected {len(tied)} parts joint")
    else:
        assert joint is None, (where, k.id, by, found[0].group(0))
    want = [n for n, _ in kept]
    assert names == want, (f"{where}: {k.id} by {by}: the highest figures {names}, expected "
                           f"{want} of {[(n, v) for n, (v, _) in ordered]}")
    STATS["highest figures lists checked"] += 1
    STATS["highest figures parts checked"] += len(names)


def _shown(sign_and_figure: str) -> tuple[float, str]:
    """'+14.6%' or '−3' as (the value, its digits as printed)."""
    digits = re.sub(r"[^\d.,]", "", sign_and_figure).replace(",", "")
    return _num(re.sub(r"[^\d.,+\-−]", "", sign_and_figure)), digits


def check_ranking(p: Project, k: Kpi, by: str, cur, cmp_, section: str, standout: bool,
                  where: str) -> None:
    """The full paper's list of every part of a breakdown ("By LPA, the percentage change,
    best first: A (−14.6%), B (+3.0%), C (n/a); on a base below 50, as numbers: D (−3).",
    docs/board-paper.md): the parts whose current figure exists, less those with nothing in
    either window for a total (a count, sum or score); each part's change worked out again in
    DuckDB: points for a percentage, the change for a ratio, else the percentage change (n/a
    from a base of 0); a part of a KPI in counts on a base below 50 given its change as a
    number after the others; ranked best first by the KPI's direction (highest first, and so
    worded, for a KPI with no better direction), equal figures by name, n/a last. A part with
    no value in the column reads "not recorded"."""
    spans = [cur] + ([cmp_] if cmp_ else [])
    cur_forces, cur_gap = p.forces_full(k, cur, spans)
    cmp_forces, cmp_gap = p.forces_full(k, cmp_, spans) if cmp_ else (None, False)
    heading = p.named[by]  # the column's label, where kpi.toml gives it one
    found = [m for m in RANKING.finditer(section) if m.group(1) == heading]
    if cur_gap:
        # a force holds only some months of the current window: the KPI has no figure
        # (docs/guarantees.md), so no part is listed
        assert not found and not re.search(rf"By {re.escape(heading)}, ", section), (
            f"{where}: {k.id} by {by} lists parts of a window a force holds only some months "
            f"of: {section[:600]}")
        STATS["rankings: none, a force holds the current window in part"] += 1
        return
    total = k.kind in ("count", "sum", "weighted_score", "per_1000") or (
        k.snapshot and not k.numerator)
    if cmp_gap:
        cmp_ = None  # no comparison (docs/guarantees.md), never the forces held whole's
    parts = {}
    for name in [*p.parts_of(k, by), None]:
        now = p.oracle.value(k, cur, cur_forces, (derived_text(by, DERIVED), name))
        then = p.oracle.value(k, cmp_, cmp_forces, (derived_text(by, DERIVED), name)) \
            if cmp_ else None
        if now is None or (total and not now and not then):
            continue
        parts["not recorded" if name is None else name] = (now, then)
    if cmp_ is None:
        check_highest(k, by, parts, section, found, standout, where, heading)
        return
    if not found:
        # no ranking: one part ("all of it is ..."), or a standout sentence says it
        assert len(parts) <= 1 or standout, (f"{where}: {k.id} by {by}: no ranking of "
                                             f"{sorted(parts)}")
        STATS["rankings: none, one part or a standout sentence"] += 1
        return
    assert len(found) == 1, (where, k.id, by, [m.group(0) for m in found])
    measure, first, body = found[0].group(2), found[0].group(3), found[0].group(4)
    # A KPI with no better direction has no best change: its parts are ranked highest first.
    assert first in (None, "highest" if k.better == "neutral" else "best"), (
        f"{where}: {k.id} by {by} (better {k.better}) ranked '{first} first'")
    key = "points" if k.unit == "percent" else "absolute" if k.unit == "ratio" else "percent"
    assert measure == {"points": "change in percentage points", "absolute": "change",
                       "percent": "percentage change"}[key] or (
        measure is None and body.startswith("on a base below 50")), (where, k.id, measure)
    ranked, _, small_text = body.partition("; on a base below 50, as numbers: ")
    if body.startswith("on a base below 50"):
        ranked, small_text = "", body.removeprefix("on a base below 50, as numbers: ")
    items = re.findall(r"(?:^|, )(.+?) \(([^()]*)\)", ranked)
    small_items = re.findall(r"(?:^|, )(.+?) \(([^()]*)\)", small_text)
    counts = k.unit == "other" and k.kind not in ("weighted_score", "per_1000")
    want_small = {n for n, (now, then) in parts.items()
                  if key == "percent" and counts and then is not None and abs(then) < SMALL_BASE}
    listed = [n for n, _ in items] + [n for n, _ in small_items]
    assert sorted(listed) == sorted(parts) and {n for n, _ in small_items} == want_small, (
        f"{where}: {k.id} by {by} lists {listed} ({len(small_items)} as numbers), expected "
        f"{sorted(parts)} ({sorted(want_small)} as numbers): {found[0].group(0)}")
    sign = 1 if k.better == "lower" else -1
    known = []

    def change_of(name: str) -> float | None:
        now, then = parts[name]
        return (now - then if key != "percent" else percent_change(now, then)) \
            if then is not None else None

    # Points and a ratio's change to the KPI's decimals, as every change the paper prints,
    # or to the most any part's change prints to beside its own two figures
    # (`change_places`: no change shows fewer places than its status is judged at); a %
    # change to one; or, where two changes that differ would print alike, to the fewest more
    # at which none do (docs/guarantees.md: a ranked column), all to the same.
    changes = [c for n, _ in items if (c := change_of(n)) is not None]
    base = 1 if key == "percent" else max(
        [printed_places(k), *(change_places(k, parts[n][1], parts[n][0]) for n, _ in items
                              if change_of(n) is not None)])
    differ = len({Decimal(format(c, ".15g")) for c in changes})
    places = next(q for q in range(base, base + 16)
                  if len({Decimal(excel_text(c, q)) for c in changes}) == differ)
    for name, shown in items:
        now, then = parts[name]
        change = change_of(name)
        if change is None:
            assert shown == "n/a", (where, k.id, by, name, shown, now, then)
            known.append((1, 0.0, name))
            continue
        value, digits = _shown(shown)
        assert excel_text(abs(change), places) == digits and (
            value == 0 or (value > 0) == (change > 0)), (
            f"{where}: {k.id} by {by}: {name} ({shown}), expected {change} from {then} to {now}")
        known.append((0, sign * float(excel_round(change, places)), name))
    assert _ranked(known, [n for n, _ in items]), (
        f"{where}: {k.id} by {by} (better {k.better}) ranked {[n for n, _ in items]}")
    order = []
    for name, shown in small_items:
        now, then = parts[name]
        value, digits = _shown(shown)
        places = len(digits.partition(".")[2])
        assert excel_text(abs(now - then), places) == digits and (
            value == 0 or (value > 0) == (now > then)), (where, k.id, by, name, shown, now, then)
        order.append((sign * (now - then), name))
    assert _ranked(order, [n for n, _ in small_items]), (where, k.id, by, small_items)
    # Two that differ never read alike (a tie in the list's order by name).
    small_changes = [parts[n][0] - parts[n][1] for n, _ in small_items]
    assert len({shown for _, shown in small_items}) == len(
        {Decimal(format(c, ".15g")) for c in small_changes}), (where, k.id, by, small_items)
    STATS["rankings checked"] += 1
    STATS["ranked parts checked"] += len(listed)


def _ranked(keyed: list[tuple], printed: list[str]) -> bool:
    """Whether parts are printed best first by their keys (each key's last item the part's
    name), equal figures by name and the rows with no value ("not recorded") after every
    named part they tie with, the breakdown's own order (docs/board-paper.md)."""
    want = sorted(keyed, key=lambda item: (*item[:-1], item[-1] == "not recorded", item[-1]))
    return printed == [item[-1] for item in want]


def check_standout(p: Project, k: Kpi, by: str, cur, cmp_, printed, period: int,
                   vs: str, full: bool) -> None:
    where = (f"seed {p.seed}: export{' --full' if full else ''} --period {text(period)} "
             f"--vs {vs}: {k.id} by {by}")
    share = k.unit == "percent"
    if not share and k.kind != "count":
        return
    if not share and cmp_ is None:
        assert printed is None, f"{where}: a standout with no comparison: {printed}"
        return
    if not share and cmp_[0] <= cur[1] and cur[0] <= cmp_[1]:
        # windows sharing months are not two samples: no change of theirs is tested
        # (docs/statistics.md), a part's against the rest's neither
        assert printed is None, f"{where}: a standout over windows sharing months: {printed}"
        STATS["standouts: windows sharing months, none said"] += 1
        return
    spans = [cur] + ([cmp_] if cmp_ else [])
    cur_forces, cur_gap = p.forces_full(k, cur, spans)
    cmp_forces, cmp_gap = p.forces_full(k, cmp_, spans) if cmp_ else (None, False)
    # each part's (a, b): a count's current and comparison; a proportion's x and n
    rows: dict[str | None, tuple[float, float]] = {}
    # Rows with no value in the column are no part, in no part's rest and not counted in m,
    # as `kpi compare` leaves them out of its tests (docs/board-paper.md).
    for name in p.parts_of(k, by):
        if share:
            got = p.components(k, by, cur, name, cur_forces)
            assert got is not None
            if got[1]:
                rows[name] = got
        else:
            a = p.part_rows(k, by, cur, name, cur_forces, True)[0]
            b = p.part_rows(k, by, cmp_, name, cmp_forces, True)[0]
            if a or b:
                rows[name] = (a, b)
    # m: the parts tested against all the others, each and its rest with 50 cases (events
    # in the comparison window), as `kpi compare` judges its parts (docs/statistics.md)
    every_b = sum(b for _, b in rows.values())
    m = sum(1 for _, b in rows.values() if b >= SMALL_BASE and every_b - b >= SMALL_BASE)
    floor = p.share_points if share else p.change_points

    def figure(a: float, b: float) -> float | None:
        if share:
            return a / b * 100
        return (a - b) / b * 100 if b else None

    def passes(name: str | None, rest: list) -> tuple[bool, str]:
        a, b = rows[name]
        ra, rb = sum(rows[r][0] for r in rest), sum(rows[r][1] for r in rest)
        if b < SMALL_BASE or rb < SMALL_BASE:
            return False, f"base {b:g} / rest {rb:g}"
        mine, theirs = figure(a, b), figure(ra, rb)
        assert mine is not None and theirs is not None
        gap = abs(float(excel_round(mine, 1) - excel_round(theirs, 1))) + 1e-9
        if gap < floor:
            return False, f"gap {gap:.1f} < {floor}"
        _, pv = (_z(a, b, ra, rb) if share else _z(a, a + b, ra, ra + rb))
        if not pv < ALPHA / m:
            return False, f"p {pv:.4g} >= {ALPHA}/{m}"
        return True, f"{mine:.1f} against {theirs:.1f}, p {pv:.3g}"

    if cur_gap or (cmp_gap and not share):
        STATS["standouts: windows a force holds in part"] += 1
        if printed is not None:
            STATS["standouts: printed over a window a force holds in part"] += 1
            pytest.fail(f"{where}: a standout sentence over a window a force holds only some "
                        f"months of: {printed[1]}")
        return
    if printed is None:
        if m >= 2:
            for name in rows:
                ok, why = passes(name, [r for r in rows if r != name])
                assert not ok, (f"{where}: no sentence, but {name} stands out from all the "
                                f"others ({why})")
        STATS["standouts: silent breakdowns checked"] += 1
        if by in DERIVED:
            STATS["standouts: silent breakdowns of a derived column checked"] += 1
        return
    parsed, sentence = printed
    STATS[f"standouts: sentences checked ({'full' if full else 'board'} paper)"] += 1
    if by in DERIVED:
        STATS["standouts: sentences of a derived column checked"] += 1
    named = [n for n, _ in parsed["named"]]
    count = parsed["count"]
    assert all(n in rows for n in named), (where, sentence, sorted(rows))
    if parsed["rest"]["name"] is not None:
        rest = [parsed["rest"]["name"]]
    else:
        rest = [r for r in rows if r not in named]
        assert count == len(named), (where, sentence)
    assert len(rest) == parsed["rest"]["n"], (f"{where}: '{sentence}' names a rest of "
                                              f"{parsed['rest']['n']}, expected {len(rest)}")
    if parsed["tested"] is not None:
        assert parsed["tested"] == len(rows), (where, sentence, len(rows))
        assert count + len(rest) == len(rows), (where, sentence)
    ra, rb = sum(rows[r][0] for r in rest), sum(rows[r][1] for r in rest)
    rest_fig = figure(ra, rb)
    assert rest_fig is not None
    assert float(excel_round(rest_fig, 1)) == parsed["rest"]["value"], (
        f"{where}: '{sentence}' gives the rest {parsed['rest']['value']}%, expected "
        f"{rest_fig:.1f}% from {ra:g} / {rb:g} over {rest}")
    for name, shown in parsed["named"]:
        a, b = rows[name]
        mine = figure(a, b)
        assert mine is not None and float(excel_round(mine, 1)) == shown, (where, sentence, name,
                                                                            mine)
        ok, why = passes(name, rest)
        assert ok, f"{where}: '{sentence}': {name} does not stand out from the rest ({why})"
        # and a proportion's differs from all the other parts pooled, as `kpi compare`
        # judges it (its `vs_rest`); a count's parts are found step by step alone
        # (stats._stepwise, `against_all=False`: a change is pulled by a part far off), so a
        # count's part named beside another may differ only from the rest it is named
        # against ("Dudley (+46.7%) and Birmingham (+22.6%) stand out from the other 3
        # (-5.7%)", Birmingham against all four others at p 0.10)
        if not share:
            STATS["standouts: count parts named against their rest alone"] += 1
            continue
        oa = sum(rows[r][0] for r in rows if r != name)
        ob = sum(rows[r][1] for r in rows if r != name)
        _, pv = _z(a, b, oa, ob)
        assert pv < ALPHA / m, (f"{where}: '{sentence}': {name} is named, but differs "
                                f"from all the others only at p {pv:.4g}, not below "
                                f"{ALPHA}/{m}")
    # a part left in the rest that would pass against the others left: counted (not promised)
    for name in rest:
        if passes(name, [r for r in rest if r != name])[0]:
            STATS["standouts: a part of the rest passing against the rest left"] += 1


# ---------------------------------------------------------------------------------------------


GAP_TOML = """\
[project]
name = "Two forces"
baseline = "2024-12"

[datasets.crimes]
date = "day"
replace_by = ["force"]
[datasets.crimes.columns]
day = "date"
force = "str"
lpa = "str"

[[priorities]]
id = "p"
title = "Plan"

[[kpis]]
id = "crimes"
title = "Crimes"
priority = "p"
kind = "count"
dataset = "crimes"
breakdowns = ["lpa"]

[peers.g]
title = "areas"
column = "lpa"
members = ["North", "South", "East"]
focus = "North"
"""


def _two_forces(folder: Path, cli, missing: str) -> None:
    """Avon and Bure, each loaded on its own, 2024-01 to 2025-12; both LPAs (North, South)
    span both forces. Each force has 2 crimes a month in North and 1 in South, except that
    Bure was never loaded for `missing`; East has one crime, in March 2025."""
    folder.mkdir()
    (folder / "kpi.toml").write_text(GAP_TOML, encoding="utf-8")
    for force in ("Avon", "Bure"):
        lines = ["day,force,lpa"]
        for year in (2024, 2025):
            for mon in range(1, 13):
                if force == "Bure" and f"{year}-{mon:02d}" == missing:
                    continue
                lines += [f"{year}-{mon:02d}-0{d},{force},{lpa}"
                          for d, lpa in ((1, "North"), (2, "North"), (3, "South"))]
                if force == "Avon" and (year, mon) == (2025, 3):
                    lines.append("2025-03-04,Avon,East")
        path = folder / f"{force}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = cli("--project", str(folder), "ingest", "crimes", str(path))
        assert result.exit_code == 0, result.stderr


def test_compare_by_a_column_across_forces_never_sums_a_window_a_force_lacks(tmp_path):
    """Found by the oracle above (seed 4): compared by LPA, a comparison window Bure was never
    loaded for in June 2024 was summed over Avon's 12 months and Bure's 11 (North: 46, not the
    48 of two whole forces, nor a figure over Avon alone), with exit 0, where the summary gives
    no comparison. The comparison is now null, with the summary's note; a current window a
    force lacks a month of is no figure at all. Compared in a peer group, a member with no
    figure (or left out for holding only some months) is not said to have no rows in the
    data, as it was ("the data holds no rows for North, South of peer group 'g'")."""
    runner = CliRunner()

    def cli(*args):
        return runner.invoke(app, list(args))

    _two_forces(tmp_path / "cmp", cli, "2024-06")
    result = cli("--project", str(tmp_path / "cmp"), "compare", "--period", "2025-12",
                 "--by", "lpa", "--vs", "yoy", "--format", "json")
    assert result.exit_code == 0, result.stderr
    [crimes] = json.loads(result.stdout)["kpis"]
    # East, an LPA (not what a load holds), had one crime in the year: 1, as `kpi show`
    # counts it, over months both forces hold whole
    assert {p["name"]: p["current"]["value"] for p in crimes["parts"]} == {
        "North": 48, "South": 24, "East": 1}
    assert "only some months of the year ending December 2025" not in crimes["note"]
    assert [p["comparison"] for p in crimes["parts"]] == [None, None, None]
    assert "year ending December 2024 is incomplete: force 'Bure' has no rows for 2024-06" \
        in crimes["note"]
    # compared by force, each force's figure adds the LPAs of peer group 'g': East, with rows
    # in 2025 and none in 2024, leaves every comparison out (a part of a peer group's column
    # held in one window compared only, engine.part_gap)
    result = cli("--project", str(tmp_path / "cmp"), "compare", "--period", "2025-12",
                 "--by", "force", "--vs", "yoy", "--format", "json")
    [by_force] = json.loads(result.stdout)["kpis"]
    assert [p["comparison"] for p in by_force["parts"]] == [None, None]
    assert by_force["note"].startswith(
        "comparison year ending December 2024 left out: lpa 'East' has rows in year ending "
        "December 2025 and none in year ending December 2024")
    # with East's crime of March 2024 loaded too, the force is the part each load holds:
    # Avon keeps its comparison (36 and East's 1), Bure, never loaded for June 2024, has none
    avon = tmp_path / "cmp" / "Avon.csv"
    avon.write_text(avon.read_text(encoding="utf-8") + "2024-03-04,Avon,East\n",
                    encoding="utf-8")
    assert cli("--project", str(tmp_path / "cmp"), "ingest", "crimes", str(avon)).exit_code == 0
    result = cli("--project", str(tmp_path / "cmp"), "compare", "--period", "2025-12",
                 "--by", "force", "--vs", "yoy", "--format", "json")
    parts = {p["name"]: p for p in json.loads(result.stdout)["kpis"][0]["parts"]}
    assert parts["Avon"]["comparison"]["value"] == 37 and parts["Bure"]["comparison"] is None

    # in a peer group, East is in the data, as North and South are
    result = cli("--project", str(tmp_path / "cmp"), "compare", "--period", "2025-12",
                 "--by", "lpa", "--vs", "yoy", "--peers", "g")
    assert result.exit_code == 0, result.stderr
    assert "holds no rows" not in result.stderr, result.stderr

    _two_forces(tmp_path / "cur", cli, "2025-06")
    result = cli("--project", str(tmp_path / "cur"), "compare", "--period", "2025-12",
                 "--by", "lpa", "--vs", "yoy", "--format", "json")
    assert result.exit_code == 3, result.stdout
    assert result.stderr.startswith("Error: no KPI has data by 'lpa' for 2025-12: crimes: year "
                                    "ending December 2025 is incomplete: force 'Bure' has no "
                                    "rows for 2025-06"), result.stderr
    # no figure is no sign that the group's members are not in the data
    result = cli("--project", str(tmp_path / "cur"), "compare", "--period", "2025-12",
                 "--by", "lpa", "--vs", "yoy", "--peers", "g")
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: no KPI has data by 'lpa'"), result.stderr


SHARE_TOML = """\
[project]
name = "Theft share"
baseline = "2024-12"

[datasets.crimes]
date = "day"
[datasets.crimes.columns]
day = "date"
lpa = "str"
offence = "str"

[[priorities]]
id = "p"
title = "Plan"

[[kpis]]
id = "theft_share"
title = "Theft share"
priority = "p"
kind = "rate"
dataset = "crimes"
numerator = "offence = 'theft'"
better = "lower"
breakdowns = ["lpa"]
"""


def test_a_part_whose_rate_is_zero_is_in_the_papers_breakdown(tmp_path):
    """Found by the oracle above (its rate by offence, seed 1): a part whose rate was 0% in
    both windows was left out of the paper's breakdown as if the KPI's rows never reached it,
    so half the cases (South: 24 crimes a year, none of them thefts) read "By LPA, all of it is
    North." Now South is ranked beside North, each 0.0pp from the year before."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text(SHARE_TOML, encoding="utf-8")
    lines = ["day,lpa,offence"]
    for year in (2024, 2025):
        for mon in range(1, 13):
            lines += [f"{year}-{mon:02d}-01,North,theft", f"{year}-{mon:02d}-02,North,burglary",
                      f"{year}-{mon:02d}-03,South,burglary", f"{year}-{mon:02d}-04,South,fraud"]
    (folder / "crimes.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["--project", str(folder), "ingest", "crimes",
                                 str(folder / "crimes.csv")])
    assert result.exit_code == 0, result.stderr
    out = folder / "paper.md"
    result = runner.invoke(app, ["--project", str(folder), "export", "markdown", "--full",
                                 "--period", "2025-12", "--vs", "yoy", "--output", str(out)])
    assert result.exit_code == 0, result.stderr
    paper = out.read_text(encoding="utf-8").replace("\\", "")
    assert "all of it is North" not in paper
    assert ("By LPA, the change in percentage points, best first: North (0.0pp), South (0.0pp)."
            in paper), paper


@pytest.mark.parametrize("seed", SEEDS)
def test_compare_and_standouts_against_duckdb(seed, tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_CACHE_DIR", str(tmp_path / "cache"))
    p = Project(seed, tmp_path)
    p.fill()
    rnd = random.Random(seed * 7 + 1)
    for i in range(3):
        period = rnd.randint(month(2024, 9), p.last)
        vs = rnd.choice(["baseline", "yoy", "previous", "fytd"])
        # one derived column a period (CI's cost), and --as-of once a project
        for by in ("lpa", "offence", "role", "force", "victims", "minority",
                   p.more.choice(["place", "serious"])):
            check_compare(p, period, vs, by)
        check_compare(p, period, vs, "lpa", peers=True)
        if i == 0:
            check_compare_as_of(p, period, vs, p.more.choice([*BY["inc"], *BY["staff"]]),
                                p.more)
        vs = rnd.choice(["baseline", "yoy"])
        check_paper(p, period, vs, full=True)
        check_paper(p, period, vs, full=False)
    STATS["projects"] += 1


@pytest.fixture(autouse=True, scope="module")
def _report():
    yield
    if STATS:
        print("\ncompare oracle: " + ", ".join(f"{k}: {v}" for k, v in sorted(STATS.items())))


def test_parts_left_out_are_listed_in_the_same_order_every_run(tmp_path):
    """Found by the differential oracle (seed 31): the note naming the parts left out for
    holding rows in only some months of the window listed them in the order the data's
    group-by met them, which varies from run to run, so `kpi compare` and the Python face
    asked the same question read "Kent Police (9 of 12 months), West Midlands Police (5 of 12
    months)" and the other way round. They are listed by name, as the parts with no comparison
    were. Twelve forces, each loaded for a different number of months, compared ten times."""
    runner = CliRunner()
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text(GAP_TOML, encoding="utf-8")
    forces = [f"Force {c}" for c in "LKJIHGFEDCBA"]
    for n, force in enumerate(forces):
        lines = ["day,force,lpa"] + [f"2025-{mon:02d}-01,{force},North"
                                     for mon in range(1 + n % 11, 13)]
        path = folder / f"{n}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = runner.invoke(app, ["--project", str(folder), "ingest", "crimes", str(path)])
        assert result.exit_code == 0, result.stderr
    notes = set()
    for _ in range(10):
        result = runner.invoke(app, ["--project", str(folder), "compare", "--period", "2025-12",
                                     "--by", "force", "--format", "json"])
        assert result.exit_code == 0, result.stderr
        notes.add(json.loads(result.stdout)["kpis"][0]["note"])
    # forces A and L hold all 12 months; the others 11 down to 2 (B: 11, ... K: 2), listed by
    # name, five and then how many more
    [note] = notes
    assert note.endswith("; left out, holding rows in only some months of the year ending "
                         "December 2025: Force B (2 of 12 months), Force C (3 of 12 months), "
                         "Force D (4 of 12 months), Force E (5 of 12 months), Force F (6 of 12 "
                         "months) and 5 more"), note
