"""The metamorphic oracle: a second machine that hunts wrong figures without a model.

The differential oracle (test_differential_oracle.py) checks kpi against a DuckDB model of
what the loads should leave; where the model and kpi share an assumption, both are wrong
together. This file needs no model. It draws a project and its rows with the differential
oracle's own generators (tests/oracle_support.py), runs kpi as a user does (the command line,
`--format json`: summary, compare, show, and the figures file of `kpi export markdown`), then
applies a transformation whose effect on every figure is known, runs kpi again, and checks
the relation between the two answers:

1. split: the same rows split otherwise (one file of every month; a file a month, the files
   of each load in a random order and the loads in a random order, read in batches of 1 to
   250,000 rows; the rows in `--parts` files; each file a CSV file, a Parquet file or a
   workbook; the rows shuffled; now and then a load revised with fewer rows and then loaded
   again as it was, or the files of several loads loaded again together) give every figure
   equal, the paper's text, `kpi check` and what `kpi datasets` says is stored too;
2. old rows: rows in months no window or chart reads (five years before the first, now and
   then of a force no other row holds) change no figure (each KPI's status, figures,
   change, test, chart verdict, target and covers), nor anything else the summary, `kpi
   compare` and `kpi show` print;
3. renamed parts: a bijective renaming of a breakdown column's values (`lpa`: among its
   names, or onto others) where no SQL of kpi.toml names the column or a value leaves every
   force-level figure equal and permutes the parts of `kpi show`'s breakdowns, of `kpi
   compare --by lpa` and of the paper's sentences;
4. headers: the columns in another order, a column no dataset reads, and each header in
   another case or spacing (docs/catalogue.md: `from` is matched without regard to case or
   spacing, a no-break space as a space) give every figure equal;
5. spellings: each value written in another form docs/catalogue.md reads as the same value
   (a date ISO or UK, a time without seconds or as its instant with an offset or in UTC, a
   month as `09/2025` or a date, a flag as true/false, yes/no, y/n or 1/0, a financial year
   three ways, thousands separators, a `£`) gives every figure equal;
6. bad rows: an extract with bad rows among its own, loaded with `--skip-bad-rows`, gives
   the figures of the extract without them;
7. zones: incidents timed in the UK's clocks, against the same instants written as another
   zone's clocks show them with that `time_zone` declared (the first and last minutes of a
   month among them), give every figure equal;
8. two forces: the same rows loaded again under another force's name double every count,
   sum, harm score and rate per 1,000 of the whole, leave every rate, share, mean, median and
   ratio of rates equal, and give each force's figures in `kpi compare --by force` the single
   force's;
9. as of: `--as-of` a version equals a fresh store built from the loads up to that version,
   in every face, and `--as-of` the latest version equals no `--as-of`;
10. parts: the parts of a count, total, harm score or snapshot's count in `kpi compare` (by
   force, by LPA and by one more column) add up to the summary's whole, and `kpi show`'s
   breakdown gives each part the figures and rank `kpi compare` gives it;
11. windows: a window's figure is one, whichever period, comparison or face reads it (the
   current figure at a period, the comparison a month or a year later, `kpi compare`'s
   parts, `kpi show`'s trend and its `rolling_12`), and the paper's figures file gives the
   summary's figures.

Figures are compared exactly, as kpi's JSON writes them. CI runs a fixed, derandomized budget
(META_EXAMPLES projects a relation, from META_SEED). By hand:

    KPI_META_SEED=7 KPI_META_EXAMPLES=20 pytest tests/test_metamorphic.py -p no:cacheprovider

draws other projects (KPI_META_KEEP=1 keeps their folders, to replay a failure's commands).
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import random
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import inprocess
import pytest
from conftest import SUMMARY_LINES
from oracle_support import (
    FIRST,
    LAST,
    LPAS,
    Q_FIRST,
    Q_LAST,
    Kpi,
    ProjectSpec,
    draw_checks,
    draw_cumulative,
    draw_peers,
    draw_presentation,
    draw_project,
    draw_provisional,
    draw_published,
    draw_reference_files,
    draw_staff_date,
    draw_targets,
    draw_time_zone,
    draw_units,
    draw_variants,
    inc_rows,
    parse,
    q_rows,
    staff_rows,
    text,
    write_csv,
)

META_SEED = int(os.environ.get("KPI_META_SEED", "0"))
META_EXAMPLES = int(os.environ.get("KPI_META_EXAMPLES", "1"))
STATS: Counter = Counter()
# what kpi.toml may not hold for these relations: the defects a load must refuse
DEFECTS = frozenset({"kind_baseline", "month_column", "empty_weights"})
# keys whose values say which store or load answered, not what it answered
VOLATILE = frozenset({"versions", "version", "origins", "as_of"})
FORMATS = (".csv", ".parquet", ".xlsx")
COMPARISONS = ("baseline", "yoy", "previous", "fytd")
COPY_FORCE = "Copy Police"  # relation 5's second force (every drawn force pattern takes it)
OLD = 60  # relation 2: rows this many months before the first
FORMER_FORCE = "Former Police"  # relation 2: a force of those months alone


class Failure(AssertionError):
    pass


# -- a project and its rows --------------------------------------------------------------------


def draw_spec(rnd: random.Random) -> ProjectSpec:
    """A project as the differential oracle draws one (its generators, each from a Random of
    its own), without the defects a load must refuse."""
    spec = draw_project(rnd, DEFECTS)
    state = str(rnd.getstate())
    draw_variants(rnd, spec)
    draw_checks(random.Random("checks" + state), spec)  # kpi check's reconciliations
    draw_provisional(rnd, spec)
    draw_units(random.Random("units" + state), spec)
    draw_targets(random.Random("targets" + state), spec)
    draw_published(random.Random(state), spec)
    draw_cumulative(random.Random("cumulative" + state), spec)
    draw_peers(random.Random("peers" + state), spec)
    draw_reference_files(random.Random("reference files" + state), spec)
    draw_staff_date(random.Random("staff date" + state), spec)
    draw_time_zone(random.Random("time_zone" + state), spec)
    draw_presentation(random.Random("presentation" + state), spec)
    spec.warehouse = False
    return spec


def draw_rows(rnd: random.Random, spec: ProjectSpec, forces: list[str] | None = None
              ) -> dict[str, list[dict]]:
    """Every dataset's rows: each force its own run of months now and then, as first loads
    are drawn by the differential oracle."""
    start, end = rnd.randint(FIRST, FIRST + 3), rnd.randint(LAST - 8, LAST)
    counter = [0]
    inc: list[dict] = []
    own_runs = spec.replace_by and rnd.random() < 0.4
    for f in forces or spec.forces:
        first, last = (start + rnd.choice([0, 0, 3, 5]), end - rnd.choice([0, 0, 1, 3])) \
            if own_runs else (start, end)
        inc += inc_rows(rnd, list(range(first, last + 1)), f, counter,
                        offences=spec.offences, step=spec.step)
    if not spec.replace_by and forces is None:
        for row in inc:
            row["force"] = rnd.choice(spec.forces)
    staff = staff_rows(rnd, list(range(start, end + 1)), spec.step)
    q_first = Q_FIRST + 3 * rnd.randint(0, 3)
    q = q_rows(rnd, list(range(q_first, Q_LAST - 3 * rnd.randint(0, 3) + 1, 3)),
               "Kent Police", varied=True)
    return {"inc": inc, "staff": staff, "q": q}


def last_month(rows: dict[str, list[dict]]) -> int:
    return max(r["month"] for r in rows["inc"])


def draw_period(rnd: random.Random, rows: dict[str, list[dict]]) -> tuple[str, str]:
    return text(last_month(rows) - rnd.choice([0, 0, 1, 2, 5])), rnd.choice(COMPARISONS)


def sql_of(spec: ProjectSpec) -> str:
    """Every SQL text kpi.toml holds: filters, values, numerators, denominators, derived."""
    return " ".join([*(str(getattr(k, a)) for k in spec.kpis
                       for a in ("filter", "value", "numerator", "denominator")),
                     *spec.derived.values()])


# -- extracts ----------------------------------------------------------------------------------


def csv_text(dataset: str, rows: list[dict], spec: ProjectSpec) -> str:
    """The extract write_csv writes of `rows`, as text."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.csv"
        write_csv(path, dataset, rows, spec)
        return path.read_text(encoding="utf-8")


def write_text(path: Path, data: str, n_rows: int) -> None:
    """CSV text `data` as the extract `path` names: a CSV file, or the same rows as a Parquet
    file or workbook, as write_csv writes them."""
    from oracle_support import _write_other_format

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        path.write_text(data, encoding="utf-8")
    else:
        _write_other_format(path, data, n_rows)


def past_a_cell(dataset: str, rows: list[dict]) -> bool:
    """A workbook's number cell cannot hold a whole number past 2**53 (kpi refuses it)."""
    return dataset == "q" and any(r["n"] > 2**53 for r in rows)


# -- running kpi -------------------------------------------------------------------------------


class Store:
    """One project folder: kpi.toml, its extracts and its data; every command it ran."""

    def __init__(self, base: Path, name: str, spec: ProjectSpec, batch: str = "250000"):
        self.folder = base / name
        self.spec, self.batch = spec, batch
        spec.write(self.folder)
        self.log: list[str] = []
        self.files = self.papers = 0

    def kpi(self, *args: str):
        STATS["commands"] += 1
        self.log.append(f"KPI_INGEST_BATCH_ROWS={self.batch} kpi --project '{self.folder}' "
                        + " ".join(repr(a) if " " in a else a for a in map(str, args)))
        result = inprocess.run(["--project", str(self.folder), *map(str, args)],
                               env={**os.environ, "KPI_INGEST_BATCH_ROWS": self.batch})
        if "Traceback" in result.stderr:
            raise Failure(f"a traceback: {result.stderr[-1500:]}\n{self.replay()}")
        if result.returncode:
            self.log.append(f"  -> exit {result.returncode}: {result.stderr.strip()[:300]}")
        return result

    def replay(self) -> str:
        return f"kpi.toml of {self.folder}:\n{self.spec.toml()}\ncommands:\n  " + \
            "\n  ".join(self.log[-40:])

    def extract(self, dataset: str, rows: list[dict], kind: str = ".csv",
                data: str | None = None) -> Path:
        self.files += 1
        if past_a_cell(dataset, rows) and kind == ".xlsx":
            kind = ".parquet"
        path = self.folder / "extracts" / f"{dataset} {self.files}{kind}"
        write_text(path, csv_text(dataset, rows, self.spec) if data is None else data,
                   len(rows))
        STATS[f"extracts {kind}"] += 1
        return path

    def ingest(self, dataset: str, paths: list[Path], parts: bool = False) -> None:
        result = self.kpi("ingest", dataset, *map(str, paths), "--allow-shrink",
                          *(["--parts"] if parts else []))
        if result.returncode:
            raise Failure(f"a valid load was refused: {result.stderr[:400]}\n{self.replay()}")
        STATS["loads"] += 1

    def load_whole(self, rows: dict[str, list[dict]], kind: str = ".csv") -> None:
        for dataset, some in rows.items():
            if some:
                self.ingest(dataset, [self.extract(dataset, some, kind)])

    def answer(self, *args: str) -> object:
        """A command's JSON document, or its refusal as (exit code, first line) with this
        store's folder taken out, so two stores' refusals compare."""
        result = self.kpi(*args)
        if result.returncode in (0, 1) and result.stdout.strip():
            return json.loads(result.stdout)
        line = (result.stderr.strip().splitlines() or [""])[0]
        return ("refused", result.returncode, line.replace(str(self.folder), "PROJECT"))

    def reads(self, period: str, vs: str, *, shows: list[str], by: list[str],
              as_of: str | None = None, paper: bool = True, stored: bool = False
              ) -> dict[str, object]:
        """What a user reads at a period: the summary, `kpi compare` by each column of `by`,
        `kpi show` of each KPI of `shows`, the paper (its figures file, and its text), and
        (`stored`) `kpi check` and what `kpi datasets` says is stored, each as JSON."""
        when = ["--period", period, "--vs", vs, *(["--as-of", as_of] if as_of else [])]
        out: dict[str, object] = {
            "summary": self.answer("summary", *when, "--format", "json")}
        for column in by:
            out[f"compare --by {column}"] = self.answer("compare", "--by", column, *when,
                                                        "--format", "json")
        for kpi_id in shows:
            out[f"show {kpi_id}"] = self.answer("show", kpi_id, *when, "--format", "json")
        if paper:
            # (named by the reads before it, so two stores' papers name their charts alike)
            self.papers += 1
            paper_path = self.folder / "out" / f"paper {self.papers}.md"
            result = self.kpi("export", "markdown", *when, "--output", str(paper_path))
            figures = paper_path.with_suffix(".figures.json")
            if result.returncode == 0:
                out["figures file"] = json.loads(figures.read_text(encoding="utf-8"))
                # the paper's words and tables, line by line
                out["paper"] = paper_path.read_text(encoding="utf-8").splitlines()
            else:
                out["figures file"] = ("refused", result.returncode, result.stderr.strip()[
                    :200].replace(str(self.folder), "PROJECT"))
        if stored:
            out["check"] = self.answer("check", *when, "--format", "json")
            out["datasets"] = self.answer("datasets", "--format", "json")
        STATS["documents read"] += len(out)
        return out


# the paper's title block: the day its data was loaded (the stores may be loaded either side
# of midnight), and the version `--as-of` named (the fresh store's paper names none)
LOADED_ON = re.compile(r"(as loaded (?:on|between) ).*?(?=\s*(?:\(|$))")
AS_AT_VERSION = re.compile(r" \(data as at table version \d+\)")
CHARTS = re.compile(r"paper%20\d+-files/")


def steady(doc: object) -> object:
    """A document without what says which store or load answered (VOLATILE), and the
    paper's title block without when its data was loaded and the version named."""
    if isinstance(doc, dict):
        return {k: steady(v) for k, v in doc.items() if k not in VOLATILE}
    if isinstance(doc, list):
        return [steady(v) for v in doc]
    if isinstance(doc, str) and doc.startswith("- Data: "):
        return AS_AT_VERSION.sub("", LOADED_ON.sub(r"\1(the day)", doc))
    if isinstance(doc, str):  # a chart's file, named after its paper's
        return CHARTS.sub("paper-files/", doc)
    return doc


def differences(a: object, b: object, where: str = "") -> list[str]:
    """Where two documents differ, each as `path: a != b` (a float compared exactly)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                out.append(f"{where}.{key}: {'missing' if key not in a else a[key]!r} != "
                           f"{'missing' if key not in b else b[key]!r}")
            else:
                out += differences(a[key], b[key], f"{where}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items != {len(b)} items ({a!r:.300} != {b!r:.300})"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in differences(x, y, f"{where}[{i}]")]
    if type(a) is not type(b) or a != b:
        return [f"{where}: {a!r} != {b!r}"]
    return []


def check_same(relation: str, one: Store, other: Store, a: dict, b: dict) -> None:
    """Every document of `a` equal to `b`'s, but for what says which store answered."""
    for face in a:
        found = differences(steady(a[face]), steady(b[face]))
        STATS[f"{relation}: documents compared"] += 1
        if found:
            raise Failure(f"[{relation}] {face} differs:\n  " + "\n  ".join(found[:12])
                          + f"\n--- one:\n{one.replay()}\n--- other:\n{other.replay()}")


def faces_to_read(rnd: random.Random, spec: ProjectSpec) -> tuple[list[str], list[str]]:
    """The KPIs `kpi show` reads (one with breakdowns first) and the columns `kpi compare`
    reads by."""
    shown = [k.id for k in spec.kpis if not k.hidden]
    broken = [k.id for k in spec.kpis if k.breakdowns and not k.hidden]
    shows = ([rnd.choice(broken)] if broken else []) + \
        rnd.sample(shown, min(len(shown), 1 if broken else 2))
    return list(dict.fromkeys(shows)), ["force", "lpa"] if rnd.random() < 0.5 else ["force"]


@pytest.fixture
def base():
    folder = Path(tempfile.mkdtemp(prefix="kpi-meta-"))
    yield folder
    if not os.environ.get("KPI_META_KEEP"):
        shutil.rmtree(folder, ignore_errors=True)


EXAMPLES = range(META_EXAMPLES)


def seeded(relation: str, example: int) -> random.Random:
    return random.Random(f"metamorphic {relation} {META_SEED} {example}")


# -- 1. the same rows split otherwise ----------------------------------------------------------


def split_loads(rnd: random.Random, store: Store, rows: dict[str, list[dict]]) -> str:
    """Load `rows` split as drawn; returns how, for a failure's message."""
    how = []
    for dataset, some in rows.items():
        if not some:
            continue
        some = list(some)
        rnd.shuffle(some)
        form = rnd.choice(["months", "parts", "months", "forces"])
        kinds = [k for k in FORMATS if not (k == ".xlsx" and past_a_cell(dataset, some))]
        if form == "forces" and dataset == "inc" and store.spec.replace_by:
            # a load a force (each `replace_by` part its own load, in a random order), as
            # police.uk's files arrive, each of a format of its own
            forces = sorted({r["force"] for r in some})
            rnd.shuffle(forces)
            for f in forces:
                store.ingest(dataset, [store.extract(dataset, [r for r in some
                                                               if r["force"] == f],
                                                     rnd.choice(kinds))])
            how.append(f"{dataset}: a load a force ({len(forces)})")
            continue
        if form == "parts":
            # the rows in two to four files of one extract, however they fall
            n = rnd.randint(2, 4)
            files = [store.extract(dataset, some[i::n], rnd.choice(kinds)) for i in range(n)
                     if some[i::n]]
            store.ingest(dataset, files, parts=True)
            how.append(f"{dataset}: {len(files)} --parts files")
            continue
        # a file a month (a quarter), the files grouped into loads, each load's files in a
        # random order and the loads in a random order
        months = sorted({r["month"] for r in some})
        files = {m: store.extract(dataset, [r for r in some if r["month"] == m],
                                  rnd.choice(kinds)) for m in months}
        rnd.shuffle(months)
        groups = rnd.randint(1, min(4, len(months)))
        loads = [months[i::groups] for i in range(groups)]
        for group in loads:
            store.ingest(dataset, [files[m] for m in group])
        if rnd.random() < 0.5:
            # a load revised with other rows, then loaded again as it was (a revision
            # replaces what the load holds: the store is as before)
            group = rnd.choice(loads)
            # (fewer rows, so every value stays one the dataset's patterns and bounds take)
            other = [r for r in some if r["month"] in group][::2]
            store.ingest(dataset, [store.extract(dataset, other, ".csv")])
            store.ingest(dataset, [files[m] for m in group])
            how.append(f"{dataset}: revised and loaded again")
        if rnd.random() < 0.3:
            # months of several loads loaded again together: the same rows, nothing changes
            again = rnd.sample(months, rnd.randint(1, len(months)))
            store.ingest(dataset, [files[m] for m in again])
            how.append(f"{dataset}: {len(again)} of its files loaded again together")
        how.append(f"{dataset}: {len(months)} files in {groups} loads")
    return "; ".join(how)


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_same_rows_split_otherwise_give_the_same_figures(base, example):
    rnd = seeded("split", example)
    spec = draw_spec(rnd)
    rows = draw_rows(rnd, spec)
    period, vs = draw_period(rnd, rows)
    shows, by = faces_to_read(rnd, spec)
    whole = Store(base, "whole", spec)
    whole.load_whole(rows)
    split = Store(base, "split", spec, batch=rnd.choice(["1", "7", "64", "250000"]))
    how = split_loads(rnd, split, rows)
    STATS["split: projects"] += 1
    split.log.insert(0, f"(split: {how})")
    check_same("split", whole, split, whole.reads(period, vs, shows=shows, by=by, stored=True),
               split.reads(period, vs, shows=shows, by=by, stored=True))


# -- 2. rows in months no window reads ---------------------------------------------------------

# the fields of a summary's KPI that are its figures for the period
SUMMARY_FIGURES = ("status", "current", "comparison", "change", "significance", "variation",
                   "target_met", "assurance", "covers")


def old_rows(rnd: random.Random, spec: ProjectSpec, rows: dict[str, list[dict]]
             ) -> dict[str, list[dict]]:
    """Rows OLD months before each dataset's first, a few months of them; now and then of
    a force no other row holds (a force holding no row of a window is no part of it:
    docs/guarantees.md, so it is in no figure, part or note)."""
    counter = [10**5]
    out: dict[str, list[dict]] = {}
    for dataset, some in rows.items():
        if not some:
            continue
        first = min(r["month"] for r in some) - OLD
        if dataset == "inc":
            forces = sorted({r["force"] for r in some})
            if rnd.random() < 0.5:
                forces.append(FORMER_FORCE)  # a force of those months alone
            out["inc"] = [r for f in forces
                          for r in inc_rows(rnd, [first + i for i in range(rnd.randint(1, 6))],
                                            f, counter, offences=spec.offences)]
        elif dataset == "staff":
            out["staff"] = staff_rows(rnd, [first + i for i in range(rnd.randint(1, 6))])
        else:
            out["q"] = q_rows(rnd, [first + 3 * i for i in range(rnd.randint(1, 3))],
                              rnd.choice(["Kent Police", FORMER_FORCE]))
    return out


def summary_figures(doc: object) -> object:
    if not isinstance(doc, dict):
        return doc
    return {k["id"]: {f: k.get(f) for f in SUMMARY_FIGURES} for k in doc["kpis"]}


@pytest.mark.parametrize("example", EXAMPLES)
def test_rows_in_months_no_window_reads_change_no_figure(base, example):
    rnd = seeded("old", example)
    spec = draw_spec(rnd)
    rows = draw_rows(rnd, spec)
    period, vs = draw_period(rnd, rows)
    plain = Store(base, "plain", spec)
    plain.load_whole(rows)
    aged = Store(base, "aged", spec)
    aged.load_whole(rows)
    old = old_rows(rnd, spec, rows)
    for dataset, some in old.items():
        # as a load of their own, or in the same file as the rows of now
        if rnd.random() < 0.5:
            aged.ingest(dataset, [aged.extract(dataset, some, rnd.choice(FORMATS))])
        else:
            aged.ingest(dataset, [aged.extract(dataset, some + rows[dataset], ".csv")])
    STATS["old rows: projects"] += 1
    shows, by = faces_to_read(rnd, spec)
    a = plain.reads(period, vs, shows=shows, by=by, paper=False)
    b = aged.reads(period, vs, shows=shows, by=by, paper=False)
    # each KPI's figures for the period first (the failure a reader cares for), then the
    # whole documents: notes, quality, `kpi show`'s trend of 24 months and `kpi compare`
    check_same("old rows", plain, aged, {"summary": summary_figures(a["summary"])},
               {"summary": summary_figures(b["summary"])})
    check_same("old rows", plain, aged, a, b)


# -- 3. a breakdown column's values renamed ----------------------------------------------------

NEW_LPAS = ("Walsall", "Sandwell", "Solihull", "Wolverhampton")


def renaming(rnd: random.Random, spec: ProjectSpec) -> dict[str, str]:
    """A bijection of the LPAs: among themselves (a permutation, so every name changes
    place in any order kpi sorts by) or onto other names too, where no `pattern` limits
    them to the drawn ones."""
    pool = list(LPAS) if "lpa" in spec.patterns else [*LPAS, *NEW_LPAS]
    while True:
        image = rnd.sample(pool, len(LPAS))
        if image != list(LPAS):
            return dict(zip(LPAS, image, strict=True))


def renamed(doc: object, names: dict[str, str]) -> object:
    """`doc` with every LPA name (a whole string, or words in a note) taken back through
    the inverse of `names`, and each list of parts in name order."""
    back = {v: k for k, v in names.items()}
    pattern = re.compile("|".join(map(re.escape, sorted(back, key=len, reverse=True)))
                         or "(?!)")

    def walk(node: object) -> object:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            items = [walk(v) for v in node]
            if items and all(isinstance(i, dict) and ("part" in i or "name" in i)
                             for i in items):
                items.sort(key=lambda i: str(i.get("part", i.get("name"))))
            return items
        if isinstance(node, str):
            return pattern.sub(lambda m: back[m.group(0)], node)
        return node

    return walk(doc)


def no_lpa_named(spec: ProjectSpec) -> bool:
    """Whether no SQL of kpi.toml names the LPAs."""
    sql = sql_of(spec)
    return "lpa" not in sql and not any(name in sql for name in LPAS)


@pytest.mark.parametrize("example", EXAMPLES)
def test_a_breakdowns_values_renamed_leave_the_figures_and_permute_the_parts(base, example):
    rnd = seeded("rename", example)
    spec = draw_spec(rnd)
    for _ in range(60):  # a project whose SQL names no LPA (the column may be renamed)
        if no_lpa_named(spec):
            break
        spec = draw_spec(rnd)
    if not no_lpa_named(spec):
        pytest.skip("no project drawn whose SQL names no LPA")
    if not any("lpa" in k.breakdowns and not k.hidden for k in spec.kpis):
        spec.kpis.append(Kpi("k_by_lpa", "count", "inc", breakdowns=("lpa",)))
    rows = draw_rows(rnd, spec)
    period, vs = draw_period(rnd, rows)
    # (at the last month every force holds, or before: a breakdown has parts to rename)
    every = min(max(r["month"] for r in rows["inc"] if r["force"] == f)
                for f in {r["force"] for r in rows["inc"]})
    period = min(period, text(every))
    names = renaming(rnd, spec)
    moved = {**rows, "inc": [dict(r, lpa=names[r["lpa"]]) for r in rows["inc"]]}
    shows = [k.id for k in spec.kpis if k.breakdowns and not k.hidden][:2] or \
        [rnd.choice([k.id for k in spec.kpis if not k.hidden])]
    kind = rnd.choice(FORMATS)
    plain = Store(base, "plain", spec)
    plain.load_whole(rows, kind)
    other = Store(base, "renamed", spec)
    other.load_whole(moved, kind)
    other.log.insert(0, f"(LPAs renamed: {names})")
    STATS["renamed parts: projects"] += 1
    a = plain.reads(period, vs, shows=shows, by=["force", "lpa"])
    b = other.reads(period, vs, shows=shows, by=["force", "lpa"])
    STATS["renamed parts: breakdowns read"] += sum(
        len(d.get("breakdowns") or {}) for d in b.values() if isinstance(d, dict))
    check_same("renamed parts", plain, other, {f: renamed(d, {}) for f, d in a.items()},
               {f: renamed(d, names) for f, d in b.items()})


# -- 4. the columns in another order, one more, headers in another case or spacing -------------

# the spellings of a header docs/catalogue.md says `from` matches: another case, spaces
# around it, a no-break space
HEADER_FORMS = (str.lower, str.upper, str.swapcase, lambda h: f" {h} ", lambda h: f"{h}  ",
                lambda h: f"\u00a0{h}", lambda h: f"{h}\u00a0", lambda h: h)
UNUSED = "Unused notes"


def reshaped(rnd: random.Random, data: str) -> str:
    """CSV text with its columns in another order, each header spelled as drawn, and a
    column no dataset declares."""
    head, *body = list(csv.reader(io.StringIO(data)))
    forms = [rnd.choice(HEADER_FORMS)(h) for h in head]
    order = list(range(len(head)))
    rnd.shuffle(order)
    extra = rnd.random() < 0.7
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([forms[i] for i in order] + ([UNUSED] if extra else []))
    for n, row in enumerate(body):
        writer.writerow([row[i] for i in order] + ([f"note {n}"] if extra else []))
    return out.getvalue()


def same_rows_rewritten(base, example: int, relation: str, name: str, rewrite) -> None:
    """One project's extracts loaded as written and as `rewrite(rnd, text, spec, kind)` writes
    their CSV text again (the same rows: another header, other spellings), the figures of both
    stores compared as `relation`."""
    rnd = seeded(relation, example)
    spec = draw_spec(rnd)
    rows = draw_rows(rnd, spec)
    period, vs = draw_period(rnd, rows)
    shows, by = faces_to_read(rnd, spec)
    plain = Store(base, "plain", spec)
    other = Store(base, name, spec)
    for dataset, some in rows.items():
        if not some:
            continue
        kind = rnd.choice([k for k in FORMATS if not (k == ".xlsx"
                                                      and past_a_cell(dataset, some))])
        plain.ingest(dataset, [plain.extract(dataset, some, kind)])
        data = rewrite(rnd, csv_text(dataset, some, spec), spec, kind)
        other.log.append(f"(the {dataset} extract's header: {data.splitlines()[0]!r})")
        other.ingest(dataset, [other.extract(dataset, some, kind, data=data)])
    STATS[f"{relation}: projects"] += 1
    check_same(relation, plain, other, plain.reads(period, vs, shows=shows, by=by),
               other.reads(period, vs, shows=shows, by=by))


@pytest.mark.parametrize("example", EXAMPLES)
def test_columns_reordered_added_and_respelled_give_the_same_figures(base, example):
    same_rows_rewritten(base, example, "headers", "reshaped",
                        lambda rnd, data, spec, kind: reshaped(rnd, data))


# -- 5. values written in another form kpi documents as the same value -------------------------


def respelled(rnd: random.Random, data: str, spec: ProjectSpec, kind: str) -> str:
    """CSV text whose values are each written, row by row, in a form docs/catalogue.md reads
    as the same value: a date as ISO or UK (`2025-09-30`, `30/09/2025`); a time without its
    seconds, or as the instant it is with the offset of the zone it was written in, or in
    UTC (`Z`); a month as `09/2025`, a date in it or that date at midnight; a flag as
    `true/false`, `yes/no`, `y/n` or `1/0`; a financial year as `2017/18`, `2017-18` or
    `2017/2018`; a month number with or without a leading zero; and in a CSV file (the
    others type their number columns) a whole number with thousands separators and an
    amount after a `£` (where no `pattern` reads its text)."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(spec.time_zone or "Europe/London")
    head, *body = list(csv.reader(io.StringIO(data)))

    def form(name: str, cell: str) -> str:
        if not cell:
            return cell
        if name == "Day":
            day = datetime.strptime(cell, "%d/%m/%Y" if "/" in cell else "%Y-%m-%d")
            return day.strftime(rnd.choice(["%d/%m/%Y", "%Y-%m-%d"]))
        if name == "When":
            wall = datetime.fromisoformat(cell)
            way = rnd.choice(["as written", "no seconds", "offset", "utc"])
            if way == "no seconds" and wall.second == 0:
                return wall.strftime("%Y-%m-%d %H:%M")
            if way == "offset":
                return wall.replace(tzinfo=zone).isoformat()
            if way == "utc":
                return wall.replace(tzinfo=zone).astimezone(UTC).isoformat().replace(
                    "+00:00", "Z")
            return cell
        if name == "as_at":
            year, mon = cell.split("-")
            return rnd.choice([cell, f"{mon}/{year}", f"{cell}-01", f"{cell}-15 00:00:00"])
        if name == "minority":
            truth = cell == "yes"
            return rnd.choice([("yes", "no"), ("true", "false"), ("y", "n"),
                               ("1", "0")])[0 if truth else 1]
        if name == "fy":
            first, _ = cell.split("/")
            return rnd.choice([cell, f"{first}-{int(first) % 100 + 1:02d}"[:7],
                               f"{first}/{int(first) + 1}"])
        if name == "n" and kind == ".csv":
            return f"{int(cell):,}" if rnd.random() < 0.7 else cell
        if name == "minutes" and "minutes" not in spec.patterns and kind == ".csv":
            return "\u00a3" + cell if rnd.random() < 0.5 else cell
        if name == "Month":
            return str(int(cell)).zfill(rnd.choice([1, 2]))
        return cell

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(head)
    writer.writerows([form(name, cell) for name, cell in zip(head, row, strict=True)]
                     for row in body)
    return out.getvalue()


@pytest.mark.parametrize("example", EXAMPLES)
def test_values_written_in_another_documented_form_give_the_same_figures(base, example):
    same_rows_rewritten(base, example, "spelling", "respelled", respelled)


# -- 6. bad rows skipped -----------------------------------------------------------------------


def with_bad_rows(rnd: random.Random, data: str, dataset: str) -> tuple[str, int]:
    """CSV text with bad rows among its own, each a copy of a row beside it with one value
    its column refuses (a number below its `min`, a word where a number or a flag goes), and
    a ref of its own; returns the text and how many."""
    head, *body = list(csv.reader(io.StringIO(data)))
    spoil = {"inc": ("victims", ["-1", "many", "2.5"]), "staff": ("minority", ["maybe", "2"]),
             "q": ("n", ["-5", "ten"])}[dataset]
    column = head.index(spoil[0])
    out, bad = [], 0
    for n, row in enumerate(body):
        out.append(row)
        if rnd.random() < 0.15:
            copy_ = list(row)
            copy_[column] = rnd.choice(spoil[1])
            if "ref" in head:
                copy_[head.index("ref")] = f"R{900000 + n}"
            out.append(copy_)
            bad += 1
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([head, *out])
    return buffer.getvalue(), bad


@pytest.mark.parametrize("example", EXAMPLES)
def test_bad_rows_skipped_give_the_figures_of_the_rows_without_them(base, example):
    """`kpi ingest --skip-bad-rows` of an extract with bad rows among its own stores the
    good rows (docs/guarantees.md, "Row policy"): every figure, `kpi check` and what `kpi
    datasets` says is stored are those of the same extract without the bad rows."""
    rnd = seeded("bad rows", example)
    spec = draw_spec(rnd)
    rows = draw_rows(rnd, spec)
    period, vs = draw_period(rnd, rows)
    shows, by = faces_to_read(rnd, spec)
    plain = Store(base, "plain", spec)
    other = Store(base, "bad rows skipped", spec)
    for dataset, some in rows.items():
        if not some:
            continue
        plain.ingest(dataset, [plain.extract(dataset, some)])
        data, bad = with_bad_rows(rnd, csv_text(dataset, some, spec), dataset)
        path = other.extract(dataset, some, ".csv", data=data)
        result = other.kpi("ingest", dataset, str(path), "--allow-shrink",
                           *(["--skip-bad-rows"] if bad else []))
        if result.returncode:
            raise Failure(f"[bad rows] a load with {bad} bad rows was refused: "
                          f"{result.stderr[:400]}\n{other.replay()}")
        STATS["bad rows: rows skipped"] += bad
    STATS["bad rows: projects"] += 1
    check_same("bad rows", plain, other,
               plain.reads(period, vs, shows=shows, by=by, stored=True),
               other.reads(period, vs, shows=shows, by=by, stored=True))


# -- 7. the same instants, written in another zone's clocks ------------------------------------

# zones a system may write its times in: whole hours either side of the UK's, half an hour
# (India), and a clock change of half an hour (Lord Howe Island)
OTHER_ZONES = ("UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
               "Pacific/Chatham")


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_same_instants_written_in_another_zones_clocks_give_the_same_figures(base,
                                                                                example):
    """Incidents timed in the UK's clocks, against the same instants written as another
    zone's clocks show them with that `time_zone` declared (docs/catalogue.md, "Times and
    the clocks": a row is in the UK month of its instant): every figure equal. A time the
    other zone's clocks show twice or never is left out of both (kpi refuses it there)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from oracle_support import wall_text, zone_trouble

    rnd = seeded("zones", example)
    spec = draw_spec(rnd)
    spec.datetime_dates, spec.time_zone = True, None
    spec.patterns.pop("when", None)
    rows = draw_rows(rnd, spec)
    zone = rnd.choice(OTHER_ZONES)
    kept, moved = [], []
    for r in rows["inc"]:
        uk = datetime.fromisoformat(wall_text(r, None))
        edge = rnd.random()
        if edge < 0.2:  # the first minutes of its UK month: the month before's, west of it
            uk = uk.replace(day=1, hour=0, minute=rnd.randint(0, 59))
        elif edge < 0.4:  # the last minutes: the month after's, east of it
            first = uk.replace(day=1, hour=0, minute=0, second=0)
            uk = (first + timedelta(days=32)).replace(day=1) - timedelta(
                minutes=rnd.randint(1, 59))
        r = dict(r, wall=uk.isoformat())
        instant = uk.replace(tzinfo=ZoneInfo("Europe/London"))
        wall = instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        if zone_trouble(wall, zone):
            continue
        kept.append(r)
        moved.append(dict(r, wall=wall.isoformat()))
    period, vs = draw_period(rnd, rows)
    shows, by = faces_to_read(rnd, spec)
    zoned = copy.deepcopy(spec)
    zoned.time_zone = zone
    kind = rnd.choice(FORMATS)
    plain = Store(base, "uk", spec)
    plain.load_whole({**rows, "inc": kept}, kind)
    other = Store(base, "zoned", zoned)
    other.load_whole({**rows, "inc": moved}, kind)
    STATS["zones: projects"] += 1
    STATS[f"zones: projects in {zone}"] += 1
    check_same("zones", plain, other,
               plain.reads(period, vs, shows=shows, by=by, stored=True),
               other.reads(period, vs, shows=shows, by=by, stored=True))


# -- 8. the same rows as two forces ------------------------------------------------------------

# a KPI's figure of the whole, of its rows twice over: twice the figure (its events and
# amounts), or the figure (a quotient of two such, an average, a median, a share)
DOUBLED_KINDS = ("count", "sum", "per_1000", "weighted_score")
SAME_KINDS = ("rate", "within", "mean", "median", "ratio_of_rates")


def expected_twice(k, kpis: dict) -> str | None:
    """How a KPI's figure of the whole moves with its rows twice over: "double", "same", or
    None where no rule holds by the documented definitions: a percentile (interpolated
    between the closest ranks at (n - 1) x q, docs/catalogue.md: of 1 and 2 the 25th is
    1.25, of 1, 1, 2 and 2 it is 1.0; a median's position is the middle of either), a
    snapshot of staff (no force column: its rows are loaded once), a KPI whose SQL names a
    force (the copy is no such force)."""
    sql = " ".join(str(getattr(k, a)) for a in ("filter", "value", "numerator",
                                                 "denominator"))
    if k.dataset == "staff" or "force" in sql or k.kind == "percentile":
        return None
    if k.parts:  # a rate of two KPIs: of two figures each twice over, where both are
        return "same" if all(expected_twice(kpis[p], kpis) == "double"
                             for p in k.parts) else None
    return "double" if k.kind in DOUBLED_KINDS else "same" if k.kind in SAME_KINDS else None


def whole_figures(doc: dict) -> dict[str, dict]:
    return {k["id"]: k for k in doc["kpis"]}


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_same_rows_as_two_forces_double_the_whole_and_repeat_each_force(base, example):
    rnd = seeded("two forces", example)
    spec = draw_spec(rnd)
    for _ in range(30):  # a project of parts by force (`replace_by`), as police.uk's
        if spec.replace_by:
            break
        spec = draw_spec(rnd)
    spec.patterns.pop("ref", None)  # the copies' refs are the rows' own, another letter
    # one force's rows, and the same rows under another force's name
    force = rnd.choice(spec.forces)
    rows = draw_rows(rnd, spec, forces=[force])
    rows["q"] = [dict(r, force=force) for r in rows["q"]]
    twice = {**rows,
             "inc": rows["inc"] + [dict(r, force=COPY_FORCE, ref="C" + r["ref"][1:])
                                   for r in rows["inc"]],
             "q": rows["q"] + [dict(r, force=COPY_FORCE) for r in rows["q"]]}
    period, vs = draw_period(rnd, rows)
    kind = rnd.choice(FORMATS)
    one = Store(base, "one force", spec)
    one.load_whole(rows, kind)
    two = Store(base, "two forces", spec)
    two.load_whole(twice, kind)
    STATS["two forces: projects"] += 1
    a = one.reads(period, vs, shows=[], by=["force"], paper=False)
    b = two.reads(period, vs, shows=[], by=["force"], paper=False)
    problems = []
    if not (isinstance(a["summary"], dict) and isinstance(b["summary"], dict)):
        problems.append(f"summary: {a['summary']!r:.300} against {b['summary']!r:.300}")
    else:
        mine, theirs = whole_figures(a["summary"]), whole_figures(b["summary"])
        for k in spec.kpis:
            rule = expected_twice(k, {x.id: x for x in spec.kpis})
            if rule is None or k.hidden:
                continue
            x, y = mine[k.id], theirs[k.id]
            if x["status"] in ("no_data", "stale") or y["status"] in ("no_data", "stale"):
                if x["status"] != y["status"]:
                    problems.append(f"{k.id}: status {x['status']} once, {y['status']} twice")
                continue
            STATS[f"two forces: figures of the whole ({rule})"] += 1
            for role in ("current", "comparison"):
                u, v = x[role], y[role]
                if (u is None) != (v is None):
                    problems.append(f"{k.id} {role}: {u} once, {v} twice")
                    continue
                if u is None or u["value"] is None:
                    continue
                want = u["value"] * 2 if rule == "double" else u["value"]
                got = v["value"]
                if past_a_float(got, want):
                    # a figure no whole number past 2**53 is the nearest float
                    # (docs/guarantees.md): twice over, a whole number, it is every digit
                    got, want = float(got), float(want)
                if got != want or (u["start"], u["end"]) != (v["start"], v["end"]):
                    problems.append(f"{k.id} {role} {u['start']}..{u['end']}: "
                                    f"{u['value']!r} once, {v['value']!r} twice ({v['start']}"
                                    f"..{v['end']}), expected {want!r} ({rule})")
            if past_a_float(*(f["value"] for f in (x["current"], x["comparison"],
                                                   y["current"], y["comparison"])
                              if f is not None)):
                # a change is the difference of the figures as written (docs/guarantees.md):
                # of a float past 2**53, whose units no float holds, it is no multiple of
                # the exact figures' (+6,294,052 once of figures whose exact difference is
                # -75,001.5): not judged
                STATS["two forces: changes of figures past 2**53 not judged"] += 1
                continue
            for key in ("absolute", "percent", "points"):
                # a difference of two figures each twice over is twice over (points too, of
                # a sum in percent); a % change is the same
                u = x["change"][key]
                want = u * 2 if rule == "double" and key != "percent" and u is not None \
                    else u
                if y["change"][key] != want:
                    problems.append(f"{k.id} change {key}: {u!r} once, "
                                    f"{y['change'][key]!r} twice, expected {want!r}")
    # each force's own figures in `kpi compare --by force`: the single force's
    if isinstance(a["compare --by force"], dict) and isinstance(b["compare --by force"], dict):
        parts_once = {(k["id"], p["name"]): p for k in a["compare --by force"]["kpis"]
                      for p in k["parts"]}
        for k in b["compare --by force"]["kpis"]:
            for p in k["parts"]:
                q = parts_once.get((k["id"], force))
                if q is None:
                    problems.append(f"compare {k['id']}: {p['name']} listed twice over, "
                                    f"{force} not listed once")
                    continue
                STATS["two forces: parts compared"] += 1
                for key in ("current", "comparison", "change"):
                    if p[key] != q[key]:
                        problems.append(f"compare {k['id']} {p['name']} {key}: {p[key]} "
                                        f"twice over, {q[key]} of {force} alone")
    elif a["compare --by force"] != b["compare --by force"]:
        problems.append(f"compare: {a['compare --by force']!r:.300} once, "
                        f"{b['compare --by force']!r:.300} twice")
    if problems:
        raise Failure("[two forces] " + "\n  ".join(problems[:12])
                      + f"\n--- once:\n{one.replay()}\n--- twice:\n{two.replay()}")


# -- 9. --as-of a version: a fresh store of the loads up to it ---------------------------------


def revision(rnd: random.Random, spec: ProjectSpec, dataset: str, rows: list[dict],
             counter: list[int]) -> list[dict]:
    """A load of other rows for some of the months (or quarters) `rows` holds."""
    months = sorted({r["month"] for r in rows})
    chosen = sorted(rnd.sample(months, rnd.randint(1, min(4, len(months)))))
    if dataset == "inc":
        forces = sorted({r["force"] for r in rows})
        which = forces if not spec.replace_by else rnd.sample(forces, rnd.randint(1,
                                                                                len(forces)))
        out = [r for f in which for r in inc_rows(rnd, chosen, f, counter,
                                                  offences=spec.offences)]
        if not spec.replace_by:
            for r in out:
                r["force"] = rnd.choice(spec.forces)
        return out
    if dataset == "staff":
        return staff_rows(rnd, chosen)
    return q_rows(rnd, chosen, "Kent Police", varied=True)


@pytest.mark.parametrize("example", EXAMPLES)
def test_as_of_a_version_is_a_fresh_store_of_the_loads_up_to_it(base, example):
    rnd = seeded("as of", example)
    spec = draw_spec(rnd)
    rows = draw_rows(rnd, spec)
    period, vs = draw_period(rnd, rows)
    shows, by = faces_to_read(rnd, spec)
    counter = [10**5]
    rounds = [rows] + [{d: revision(rnd, spec, d, some, counter) for d, some in rows.items()
                        if some} for _ in range(rnd.randint(1, 2))]
    kinds = [rnd.choice(FORMATS) for _ in rounds]
    every = Store(base, "every load", spec)
    for loads, kind in zip(rounds, kinds, strict=True):
        every.load_whole(loads, kind)
    version = rnd.randrange(len(rounds))
    fresh = Store(base, f"fresh to version {version}", spec)
    for loads, kind in zip(rounds[:version + 1], kinds[:version + 1], strict=True):
        fresh.load_whole(loads, kind)
    STATS["as of: projects"] += 1
    check_same("as of", every, fresh,
               every.reads(period, vs, shows=shows, by=by, as_of=str(version)),
               fresh.reads(period, vs, shows=shows, by=by))
    if version == len(rounds) - 1:
        check_same("as of the latest", every, every,
                   every.reads(period, vs, shows=shows, by=by, as_of=str(version)),
                   every.reads(period, vs, shows=shows, by=by))


# -- 10. the parts of a count add up to the whole ----------------------------------------------

# kinds whose figure of the whole is the sum of its parts' figures: a count of rows, a total,
# a harm score, a snapshot's count of rows (a rate per 1,000 divides each part by its own
# population)
ADDING_KINDS = ("count", "sum", "weighted_score")


def past_a_float(*values: object) -> bool:
    """Whether one of the values is a float past 2**53 (a figure no whole number, held as the
    nearest float: docs/guarantees.md), where a float holds no units."""
    return any(isinstance(v, float) and abs(v) >= 2**53 for v in values)


def whole_number(v: object) -> bool:
    return isinstance(v, int | float) and float(v).is_integer() and abs(v) < 2**53


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_parts_of_a_count_add_up_to_the_whole_in_every_face(base, example):
    """Each part of `kpi compare` by force, LPA and one more column (an offence, a derived
    column, a role), and of `kpi show`'s breakdown, of a count, total, harm score or
    snapshot's count in whole numbers: the parts' figures add up
    to the summary's figure of the whole over the same window, where every part has one
    (a part missing months of the window has none, and the whole is then that of the parts
    that are whole: docs/guarantees.md); `kpi show`'s breakdown gives each part the
    figure `kpi compare` gives it."""
    rnd = seeded("parts", example)
    spec = draw_spec(rnd)
    rows = draw_rows(rnd, spec)
    period, vs = draw_period(rnd, rows)
    store = Store(base, "project", spec)
    store.load_whole(rows, rnd.choice(FORMATS))
    broken = [k.id for k in spec.kpis if k.breakdowns and not k.hidden]
    # by force and LPA, and by one more column: an offence, a derived column, a role
    more = rnd.choice(["offence", "role", *spec.derived])
    columns = ["force", "lpa", more]
    got = store.reads(period, vs, shows=broken[:2], by=columns, paper=False)
    STATS["parts: projects"] += 1
    summary = got["summary"]
    if not isinstance(summary, dict):
        return
    whole = {k["id"]: k for k in summary["kpis"]}
    kinds = {k.id: k for k in spec.kpis}
    problems = []
    for column in columns:
        doc = got[f"compare --by {column}"]
        if not isinstance(doc, dict):
            continue
        for entry in doc["kpis"]:
            k, w = kinds.get(entry["id"]), whole.get(entry["id"])
            adds = k is not None and (k.kind in ADDING_KINDS
                                      or (k.snapshot and k.numerator is None))
            if k is None or w is None or not adds or k.multiplier != 1.0 \
                    or w["current"] is None or not whole_number(w["current"]["value"]):
                continue
            values = [p["current"]["value"] if p["current"] else None for p in entry["parts"]]
            if not values or any(not whole_number(v) for v in values):
                continue
            window = {(p["current"]["start"], p["current"]["end"]) for p in entry["parts"]}
            if window != {(w["current"]["start"], w["current"]["end"])}:
                continue
            STATS[f"parts: wholes added up by {column}"] += 1
            if sum(int(v) for v in values) != int(w["current"]["value"]):
                problems.append(
                    f"compare --by {column} {k.id} {sorted(window)}: the parts "
                    f"{[(p['name'], p['current']['value']) for p in entry['parts']]} add up "
                    f"to {sum(int(v) for v in values)}, the summary's whole is "
                    f"{w['current']['value']}")
    lpa = got.get("compare --by lpa")
    for kpi_id in broken[:2]:
        shown = got[f"show {kpi_id}"]
        if not isinstance(shown, dict) or not isinstance(lpa, dict):
            continue
        parts = {p["name"]: p for e in lpa["kpis"] if e["id"] == kpi_id for p in e["parts"]}
        for item in (shown.get("breakdowns") or {}).get("lpa", []):
            p = parts.get(item.get("part"))
            if p is None or p["current"] is None:
                continue
            STATS["parts: show's breakdown beside compare's part"] += 1
            theirs = {"current": p["current"]["value"],
                      "comparison": (p["comparison"] or {}).get("value"),
                      **{key: p["change"][key] for key in ("absolute", "percent", "points")},
                      "rank": p["rank"]}
            for key, value in theirs.items():
                if item.get(key) != value:
                    problems.append(f"show {kpi_id}: by lpa, {item.get('part')}'s {key} is "
                                    f"{item.get(key)!r}; kpi compare --by lpa gives {value!r}")
    if problems:
        raise Failure("[parts] " + "\n  ".join(problems[:12]) + f"\n{store.replay()}")


# -- 11. one window, one figure, whichever read gives it ---------------------------------------


def window_figures(doc: object, where: str, kinds: dict) -> list[tuple[tuple, tuple, str]]:
    """Each figure a document gives a window: ((kpi, part, first month, last month),
    (value, numerator, denominator), where). A figure with a note (the parts that are whole
    of a window some part lacks months of) is left out: it is not the window's own."""
    out: list[tuple[tuple, tuple, str]] = []
    if not isinstance(doc, dict):
        return out
    if "trend" in doc:  # kpi show: each month, and the year ending it
        k = doc["kpi"]
        if kinds[k["id"]].dataset == "q":
            return out  # a quarter's trend is dated by its first month
        for m in doc["trend"]:
            month = parse(m["month"])
            out.append(((k["id"], None, m["month"], m["month"]), (m["value"], None, None),
                        f"{where}: the month {m['month']}"))
            if m["rolling_12"] is not None and not kinds[k["id"]].snapshot:
                out.append(((k["id"], None, text(month - 11), m["month"]),
                            (m["rolling_12"], None, None),
                            f"{where}: the year ending {m['month']} (rolling_12)"))
        return out
    for k in doc["kpis"]:
        for part in k.get("parts") or [None]:
            holder = part if part is not None else k
            if holder.get("note") or k.get("note"):
                continue
            for role in ("current", "comparison"):
                w = holder.get(role)
                if not w or w.get("value") is None:
                    continue
                out.append(((k["id"], part and part["name"], w["start"], w["end"]),
                            (w["value"], w.get("numerator"), w.get("denominator")),
                            f"{where}: {part['name'] + ' ' if part else ''}{role}"))
    return out


@pytest.mark.parametrize("example", EXAMPLES)
def test_a_windows_figure_is_the_same_whichever_period_comparison_or_face_reads_it(base,
                                                                                 example):
    """The figure of a window (a KPI's, or a part's, over the same months) is one: the
    current figure at a period, the comparison a month or a year later (`--vs previous`,
    `--vs yoy`) and the same window under every comparison, `kpi compare`'s parts under two
    comparisons, and `kpi show`'s trend (a month's value; `rolling_12`, the year ending
    it, docs/python.md) give it alike, its numerator and denominator too; and the paper's
    figures file gives each KPI the figures and windows of the summary at its period."""
    rnd = seeded("windows", example)
    spec = draw_spec(rnd)
    rows = draw_rows(rnd, spec)
    period = parse(draw_period(rnd, rows)[0])
    store = Store(base, "project", spec)
    store.load_whole(rows, rnd.choice(FORMATS))
    kinds = {k.id: k for k in spec.kpis}
    reads = [(period, "baseline"), (period, "yoy"), (period, "previous"),
             (period - 1, "previous"), (period - 12, "yoy"), (period, "fytd")]
    figures = []
    summaries = {}
    for when, vs in reads:
        where = f"summary --period {text(when)} --vs {vs}"
        summaries[when, vs] = store.answer("summary", "--period", text(when), "--vs", vs,
                                           "--format", "json")
        figures += window_figures(summaries[when, vs], where, kinds)
    for vs in ("baseline", "previous"):
        where = f"compare --by force --period {text(period)} --vs {vs}"
        figures += window_figures(store.answer("compare", "--by", "force", "--period",
                                               text(period), "--vs", vs, "--format", "json"),
                                  where, kinds)
    monthly = [k.id for k in spec.kpis if k.dataset != "q" and not k.hidden]
    for kpi_id in rnd.sample(monthly, min(2, len(monthly))):
        where = f"show {kpi_id} --period {text(period)}"
        figures += window_figures(store.answer("show", kpi_id, "--period", text(period),
                                               "--format", "json"), where, kinds)
    STATS["windows: projects"] += 1
    first: dict[tuple, tuple[tuple, str]] = {}
    problems = []
    # the paper's figures file: each KPI's figures and windows the summary's at its period
    vs = rnd.choice(["baseline", "yoy", "previous"])
    paper = store.reads(text(period), vs, shows=[], by=[])["figures file"]
    summary = summaries[period, vs]
    if isinstance(paper, dict) and isinstance(summary, dict):
        kpis = {k["id"]: k for k in summary["kpis"]}
        for f in paper["figures"]:
            w = (kpis.get(f["kpi"]) or {}).get(f["role"]) or {}
            STATS["windows: the figures file's figures beside the summary's"] += 1
            if (f["value"], f["window_label"]) != (w.get("value"), w.get("label")):
                problems.append(f"{f['kpi']} {f['role']}: the paper's figures file gives "
                                f"{f['value']!r} ({f['window_label']}), the summary at "
                                f"{text(period)} --vs {vs} {w.get('value')!r} "
                                f"({w.get('label')})")
    for key, got, where in figures:
        if key not in first:
            first[key] = (got, where)
            continue
        STATS["windows: figures read again"] += 1
        (had, there) = first[key]
        # a trend gives the value alone
        same = had[0] == got[0] and (None in (had[1], got[1]) or had[1:] == got[1:])
        if not same:
            problems.append(f"{key[0]}{' ' + key[1] if key[1] else ''} {key[2]}..{key[3]}: "
                            f"{had} ({there}) against {got} ({where})")
    if problems:
        raise Failure("[windows] " + "\n  ".join(problems[:12]) + f"\n{store.replay()}")


@pytest.fixture(autouse=True, scope="module")
def _report(request):
    yield
    if STATS:
        summary = ", ".join(f"{k} {v}" for k, v in sorted(STATS.items()))
        request.config.stash.setdefault(SUMMARY_LINES, []).append(
            f"metamorphic oracle ({META_EXAMPLES} examples a relation, seed {META_SEED}): "
            f"{summary}")
