"""The process-chart verdicts kpi prints, against the reference on the oracle's own values;
and the board paper's front page (its matrix and exceptions) against those verdicts.

The differential oracle's random projects (tests/test_differential_oracle.py, whose loads
this reuses) are read with `kpi summary --format json`; each KPI's monthly values over the 24
months ending with its current window are worked out again in DuckDB (tests/oracle_support.py)
and put through the independent chart of tests/spc_reference.py. The variation kpi prints (its
verdict, rule and the limits that apply now) must be the reference's. A KPI with a month whose
value is not certain (a part left out) is not compared, nor is a quarterly one.

The paper's matrix (`kpi export markdown`) must count every KPI once, in the row of its
variation and the column of its assurance, as the summary prints them, and its exceptions list
every KPI that issue 18 makes one exactly once: no figure or a stale source, a special cause of
concern (the reference's verdict where the oracle's months are certain), a target failing, missed
or at risk, a statistically significant deterioration.

KPI_SPC_ORACLE_EXAMPLES and KPI_SPC_ORACLE_STEPS size a run; KPI_ORACLE_SEED as for the oracle.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter

import spc_reference as ref
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import precondition, rule
from oracle_support import FIRST, LAST, chart_ceiling, chart_floor, parse, text
from test_differential_oracle import SEED, OracleMachine

EXAMPLES = int(os.environ.get("KPI_SPC_ORACLE_EXAMPLES", "5"))
STEPS = int(os.environ.get("KPI_SPC_ORACLE_STEPS", "8"))
SERIES_MONTHS = 24  # docs/statistics.md: summary and the paper read 24 months
COUNTS: Counter = Counter()


# The paper's matrix as docs/board-paper.md and the paper print it: rows by variation, columns by
# assurance (a target without limits: met or missed by the current figure).
MATRIX_ROWS = {
    "concern": "\u25b2 Special cause of concern",
    "improvement": "\u25a0 Special cause of improvement",
    "unusual": "\u25c6 Unusually high or low (no better direction)",
    "common": "Normal variation (latest month)",
    "uncharted": "No process chart (cumulative, too few months, no data, no variation)",
}
# A KPI in development has no row: a sentence below the matrix counts it (names the one).
DEVELOPING = "developing"
ROW_OF_VARIATION = {"special_cause_concern": "concern", "special_cause_improvement": "improvement",
                    "special_cause_neutral_high": "unusual", "special_cause_neutral_low": "unusual",
                    "common_cause": "common"}
COLUMN_OF_ASSURANCE = {"consistently_fail": "fail", "hit_and_miss": "risk",
                       "consistently_pass": "pass"}
COLUMN_OF_TITLE = {"Target consistently missed": "fail",
                   "Target sometimes met, sometimes missed": "risk",
                   "Target consistently met": "pass",
                   "Target not judged, no process chart": "unjudged", "No target": "none"}


def _series_months(k, end: int) -> list[int]:
    """The months a summary's process chart reads (docs/statistics.md): the 24 ending with
    the current window, from the first month of `spc_baseline` when that is earlier."""
    start = end - SERIES_MONTHS + 1
    if k.spc_baseline is not None:
        start = min(start, parse(k.spc_baseline[0]))
    return list(range(start, end + 1))


def _unescape(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md)


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


class ChartsMachine(OracleMachine):
    # KPIs with a `target` (oracle_support.draw_targets): each one's assurance against the
    # reference's over the limits that apply now, and the front page's column for it
    targets = True

    def __init__(self):
        super().__init__()
        # whole months only: every month's value is then one figure
        self.avoid = self.avoid | {"part_gaps", "quarter_trend", "case", "invisible",
                                   "restore"}

    def first_loads(self):
        # Now and then a KPI of monthly data names the months its limits come from
        # (`spc_baseline`: before the data, inside it or past the period too) or months they
        # are recalculated from (`spc_rebase`).
        r = self.rnd
        for k in self.spec.kpis:
            if self.oracle.dataset_of(k) == "q":
                continue
            if r.random() < 0.3:
                first = r.randint(FIRST - 3, LAST - 4)
                k.spc_baseline = (text(first), text(first + r.choice([0, 5, 11, 11, 14])))
                COUNTS["kpis with spc_baseline"] += 1
            if r.random() < 0.3:
                k.spc_rebase = tuple(sorted({text(r.randint(FIRST + 6, LAST))
                                             for _ in range(r.randint(1, 2))}))
                COUNTS["kpis with spc_rebase"] += 1
        self.spec.write(self.folder)
        super().first_loads()
        # every project is checked at least once
        self.check_process_charts()
        self.check_front_page()

    @precondition(lambda self: any(self.model.rows.values()))
    @rule()
    def check_process_charts(self):
        period, vs = self._period()
        result = self.kpi("summary", "--period", text(period), "--vs", vs, "--format", "json")
        COUNTS["summaries"] += 1
        if result.exit_code != 0 or self.spec.defect or self.ambiguous:
            COUNTS["summaries refused or not comparable"] += 1
            return
        self.oracle.refresh()
        kpis = {k.id: k for k in self.spec.kpis}
        for got in json.loads(result.stdout)["kpis"]:
            k = kpis[got["id"]]
            if got["current"] is None or self.oracle.dataset_of(k) == "q":
                continue
            months = _series_months(k, parse(got["current"]["end"]))
            values = []
            for m in months:
                options = self.oracle.accepted(k, (m, m))[0]
                if len(options) != 1:
                    COUNTS["charts with an uncertain month"] += 1
                    break
                values.append(next(iter(options)))
            else:
                COUNTS["charts"] += 1
                self._compare(got, k, [text(m) for m in months], values)

    def _reference_variation(self, k, got: dict) -> tuple[str | None, bool]:
        """The reference's variation for a KPI of the summary, and whether the oracle's months
        were certain enough to work it out."""
        if got["current"] is None or self.oracle.dataset_of(k) == "q":
            return None, False
        months = _series_months(k, parse(got["current"]["end"]))
        values = []
        for m in months:
            options = self.oracle.accepted(k, (m, m))[0]
            if len(options) != 1:
                return None, False
            values.append(next(iter(options)))
        unit = got["unit"]
        chart = ref.chart([text(m) for m in months], values, k.spc_rebase,
                          floor=chart_floor(self.oracle, k, unit, _windows(got)),
                          ceiling=chart_ceiling(self.oracle, k, unit, _windows(got)),
                          baseline=k.spc_baseline)
        return ref.variation(chart, got["better"]), True

    @precondition(lambda self: any(self.model.rows.values()))
    @rule()
    def check_front_page(self):
        period, vs = self._period()
        summary = self.kpi("summary", "--period", text(period), "--vs", vs, "--format", "json")
        self.n_files += 1
        out = self.folder / "out" / f"board {self.n_files}.md"
        paper = self.kpi("export", "markdown", "--period", text(period), "--vs", vs,
                         "--output", str(out))
        if summary.exit_code != 0 or paper.exit_code != 0:
            if summary.exit_code != paper.exit_code and not self.spec.defect:
                self.fail("front_page", f"summary exits {summary.exit_code}, export "
                                        f"{paper.exit_code}: {paper.stderr[:300]}")
            return
        if self.spec.defect or self.ambiguous:
            return
        COUNTS["front pages"] += 1
        self.oracle.refresh()
        kpis = {k.id: k for k in self.spec.kpis}
        docs = json.loads(summary.stdout)["kpis"]
        rows: dict[str, list[str]] = {words: [] for words in [*MATRIX_ROWS.values(),
                                                              DEVELOPING]}
        cells: Counter = Counter()
        want_exceptions: dict[str, list[str]] = {}
        for got in docs:
            k = kpis[got["id"]]
            title = f"KPI {k.id}"
            variation = got["variation"]["verdict"] if got["variation"] else None
            reference, certain = self._reference_variation(k, got)
            if certain and reference != variation:
                self.fail("process_chart", f"{k.id}: the summary prints {variation}, the "
                                           f"reference {reference}")
            row = ("developing" if got["status"] == "in_development" else
                   "uncharted" if variation is None else ROW_OF_VARIATION[variation])
            rows[MATRIX_ROWS.get(row, row)].append(title)
            column = ("none" if got["target"] is None else
                      COLUMN_OF_ASSURANCE[got["assurance"]] if got["assurance"] else
                      "unjudged")
            cells[MATRIX_ROWS.get(row, row), column] += 1
            why = []
            if got["status"] == "in_development":
                pass
            elif got["current"] is None or got["current"]["value"] is None:
                why.append("no figure")
            else:
                asked = period - k.lag
                if self.oracle.dataset_of(k) == "q":
                    asked -= (asked - 2) % 3  # the last whole quarter by then
                if parse(got["current"]["end"]) < asked:
                    why.append("stale")
                if variation == "special_cause_concern":
                    why.append("concern")
                if got["assurance"] in ("consistently_fail", "hit_and_miss") \
                        or got["target_met"] is False:
                    why.append("target")
                significance = got["significance"] or {}
                if significance.get("significant") and got["status"] == "deteriorating":
                    why.append("deterioration")
            if why:
                want_exceptions[title] = why
        COUNTS["exceptions expected"] += len(want_exceptions)
        self._check_matrix(out.read_text(encoding="utf-8"), rows, cells, len(docs),
                           want_exceptions)

    def _check_matrix(self, md: str, rows: dict[str, list[str]], cells: Counter, n: int,
                      want_exceptions: dict[str, list[str]]) -> None:
        lines = md.splitlines()
        head = next(i for i, line in enumerate(lines)
                    if line.startswith("| Variation in the monthly figures |"))
        header = [c.strip() for c in lines[head].strip("|").split("|")]
        columns = [COLUMN_OF_TITLE[c] for c in header[1:-1]]
        # a column is left out only where no KPI is in it ("not judged")
        for (words, column), count in cells.items():
            if count and column not in columns:
                self.fail("front_page", f"matrix: no column {column!r}, where the summary's "
                                        f"verdicts put {count} KPIs of {words!r}")
        total = 0
        for line in lines[head + 2:head + 2 + len(MATRIX_ROWS)]:
            words, *counts, whole = [c.strip() for c in line.strip("|").split("|")]
            counted = [0 if c == "\u2013" else int(c) for c in counts]
            for column, count in zip(columns, counted, strict=True):
                if count != cells[words, column]:
                    self.fail("front_page", f"matrix {words!r} x {column}: {count}, the "
                                            f"summary's verdicts give {cells[words, column]}")
            if int(whole) != sum(counted) or int(whole) != len(rows[words]):
                self.fail("front_page", f"matrix {words!r}: All reads {whole}, cells "
                                        f"{counted}, the summary gives {len(rows[words])}")
            total += int(whole)
        if lines[head + 2 + len(MATRIX_ROWS)].startswith("|"):
            self.fail("front_page", f"a row beyond the matrix's: "
                                    f"{lines[head + 2 + len(MATRIX_ROWS)]}")
        if total + len(rows[DEVELOPING]) != n:
            self.fail("front_page", f"the matrix counts {total} KPIs and "
                                    f"{len(rows[DEVELOPING])} in development, the summary {n}")
        # each row's KPIs by name, and those in development in their sentence, each KPI once
        named: Counter = Counter()
        for words, titles in rows.items():
            if words == DEVELOPING:
                # "The table leaves out the 2 KPIs in development (no data yet): see 3.2.", or
                # the one by name; a paper without any says nothing
                found = [m for x in lines if (m := re.match(
                    r"The table leaves out (?:the (\d+) KPIs|(.+),) in development", x))]
                said = (0 if not found else int(found[0][1]) if found[0][1] else 1)
                if len(found) > 1 or said != len(titles) or (
                        said == 1 and [_unescape(found[0][2])] != titles):
                    self.fail("front_page", f"the KPIs in development: {found}, the summary "
                                            f"has {titles}")
                continue
            else:
                line = next((x for x in lines if x.startswith(f"- **{words}, ")), None)
                listed = [] if line is None else [
                    re.sub(r" \(target [^)]*\)$", "", t) for t in
                    _unescape(line.split(":** ", 1)[1].rstrip(".")).split("; ")]
            named.update(listed)
            if sorted(listed) != sorted(titles):
                self.fail("front_page", f"matrix row {words!r} names {listed}, the summary's "
                                        f"verdicts put {titles} there")
        if any(c != 1 for c in named.values()):
            self.fail("front_page", f"a KPI named in two rows of the matrix: {named}")
        # the exceptions, each once
        at = next((i for i, x in enumerate(lines) if x.startswith("**Exceptions (")), None)
        listed = []
        if at is not None:
            stated = int(lines[at].split("(", 1)[1].split(")", 1)[0])
            for line in lines[at + 1:]:
                if not line.strip() and listed:
                    break
                if not line.startswith("- "):
                    continue
                bold = _unescape(line.split("**")[1])
                grouped = re.fullmatch(r"(\d+) KPIs have no figure", bold)
                if grouped is None:
                    listed.append(bold)
                    continue
                # KPIs without a figure for one reason share a line: "N KPIs have no figure
                # (why): A; B. See 2.2."
                names = _unescape(line.rsplit("): ", 1)[1])
                names = re.sub(r"\.( See [\d.]+\.)?$", "", names).split("; ")
                names = [re.sub(r" \([\d.]+\)$", "", n) for n in names]
                if len(names) != int(grouped[1]):
                    self.fail("front_page", f"{line!r} names {len(names)} KPIs")
                if any(want_exceptions.get(n) != ["no figure"] for n in names):
                    self.fail("front_page", f"{line!r}: not every KPI there has only no "
                                            f"figure: {want_exceptions}")
                listed += names
            if stated != len(listed):
                self.fail("front_page", f"Exceptions ({stated}) lists {len(listed)}")
        elif want_exceptions and not any(x.startswith("No KPI is an exception") for x in lines):
            self.fail("front_page", "no exceptions list and no sentence saying there is none")
        if sorted(listed) != sorted(want_exceptions) or len(set(listed)) != len(listed):
            self.fail("front_page", f"the exceptions list {sorted(listed)}; the rules make "
                                    f"{want_exceptions}")

    def _compare(self, got: dict, k, months: list[str], values: list[float | None]) -> None:
        unit = got["unit"]
        chart = ref.chart(months, values, k.spc_rebase,
                          floor=chart_floor(self.oracle, k, unit, _windows(got)),
                          ceiling=chart_ceiling(self.oracle, k, unit, _windows(got)),
                          baseline=k.spc_baseline)
        verdict = ref.variation(chart, got["better"])
        printed = got["variation"]
        COUNTS[f"variation {verdict}"] += 1
        COUNTS["charts with spc_baseline or spc_rebase"] += bool(k.spc_baseline or k.spc_rebase)
        where = (f"{k.id} ({unit}, better {got['better']}, spc_baseline {k.spc_baseline}, "
                 f"spc_rebase {k.spc_rebase}) to {months[-1]}: monthly values {values}")
        if (printed["verdict"] if printed else None) != verdict:
            self.fail("process_chart", f"{where}: kpi prints variation {printed}, the "
                                       f"reference {verdict}")
        if printed is None:
            return
        latest = next(p for p in reversed(chart.points) if p.value is not None)
        if printed["rule"] != latest.rule:
            self.fail("process_chart", f"{where}: kpi's rule {printed['rule']}, the "
                                       f"reference's {latest.rule}")
        for name, want in (("mean", chart.mean), ("lower", chart.lower),
                           ("upper", chart.upper)):
            if not _close(printed[name], want):
                self.fail("process_chart", f"{where}: kpi's {name} {printed[name]}, the "
                                           f"reference's {want}")
        COUNTS["assurance against a target checked"] += k.target is not None
        assert got["target"] == k.target, where
        current = got["current"]["value"] if got["current"] else None
        since = got["current"]["start"] if got["current"] else None
        assert got["assurance"] == ref.assurance(k.target, chart, got["better"], current,
                                                 since), where


ChartsMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=STEPS, derandomize=not SEED, deadline=None,
    database=None, suppress_health_check=list(HealthCheck), print_blob=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate])


class TestSpcAgainstTheOracle(ChartsMachine.TestCase):
    pass


def test_the_oracle_compared_verdicts():
    """Runs after the machine (same module, file order): it compared some charts."""
    assert COUNTS["charts"] > 0 and COUNTS["front pages"] > 0, COUNTS
    assert COUNTS["charts with spc_baseline or spc_rebase"] > 0, COUNTS
    print("\nprocess-chart oracle: " + ", ".join(f"{k} {v}" for k, v in sorted(COUNTS.items())))


def test_a_quarterly_kpi_up_to_its_last_whole_quarter_is_not_a_stale_exception(tmp_path):
    """Period February 2025 less a lag of 3 asks for November 2024, and quarterly data for the
    last whole quarter by then, ending September 2024: a window ending there is the one asked
    for. The summary says so; the paper's exceptions called the source stale, comparing the
    window with November itself (verdicts.exceptions)."""
    import random

    from oracle_support import Kpi, ProjectSpec, month, q_rows, write_csv
    from typer.testing import CliRunner

    from kpi.cli import app

    spec = ProjectSpec(replace_by=False, datetime_dates=False, quarter_form="year", kpis=[
        Kpi("k_q", "sum", "q", value="n", lag=3, better="lower", baseline="YE 2023-06"),
        Kpi("k_late", "sum", "q", value="n", lag=0, better="lower", baseline="YE 2023-06")])
    folder = tmp_path / "project"
    spec.write(folder)
    rows = q_rows(random.Random(7), list(range(month(2022, 4), month(2024, 7) + 1, 3)),
                  "Kent Police")
    extract = folder / "q.csv"
    write_csv(extract, "q", rows, spec)
    runner = CliRunner()
    project = ["--project", str(folder)]
    assert runner.invoke(app, [*project, "ingest", "q", str(extract)]).exit_code == 0
    summary = runner.invoke(app, [*project, "summary", "--period", "2025-02", "--format",
                                  "json"])
    status = {k["id"]: k["status"] for k in json.loads(summary.stdout)["kpis"]}
    assert status["k_q"] != "stale" and status["k_late"] == "stale"
    out = folder / "board.md"
    assert runner.invoke(app, [*project, "export", "markdown", "--period", "2025-02",
                               "--output", str(out)]).exit_code == 0
    listed = [line for line in out.read_text(encoding="utf-8").splitlines()
              if line.startswith("- ") and "See " in line and "stale" in line]
    assert len(listed) == 1 and "**KPI k_late**" in listed[0], listed


def _windows(got: dict) -> list[tuple[int, int]]:
    """The summary's current and comparison windows of a KPI, as the model's months."""
    return [(parse(w["start"]), parse(w["end"])) for w in (got["current"], got["comparison"])
            if w is not None]
