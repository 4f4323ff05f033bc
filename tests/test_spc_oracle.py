"""The process-chart verdicts kpi prints, against the reference on the oracle's own values.

The differential oracle's random projects (tests/test_differential_oracle.py, whose loads
this reuses) are read with `kpi summary --format json`; each KPI's monthly values over the 24
months ending with its current window are worked out again in DuckDB (tests/oracle_support.py)
and put through the independent chart of tests/spc_reference.py. The variation kpi prints (its
verdict, rule and the limits that apply now) must be the reference's. A KPI with a month whose
value is not certain (a part left out) is not compared, nor is a quarterly one.

KPI_SPC_ORACLE_EXAMPLES and KPI_SPC_ORACLE_STEPS size a run; KPI_ORACLE_SEED as for the oracle.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter

import spc_reference as ref
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import precondition, rule
from oracle_support import parse, text
from test_differential_oracle import SEED, OracleMachine

EXAMPLES = int(os.environ.get("KPI_SPC_ORACLE_EXAMPLES", "5"))
STEPS = int(os.environ.get("KPI_SPC_ORACLE_STEPS", "8"))
SERIES_MONTHS = 24  # docs/statistics.md: summary and the paper read 24 months
# Units that cannot be negative (docs/statistics.md, "Limits stop where the value cannot go")
NON_NEGATIVE = {"count", "percent", "per_1000", "seconds", "days", "gbp"}
COUNTS: Counter = Counter()


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


class ChartsMachine(OracleMachine):
    def __init__(self):
        super().__init__()
        # whole months only: every month's value is then one figure
        self.avoid = self.avoid | {"part_gaps", "quarter_trend", "case", "invisible",
                                   "restore"}

    def first_loads(self):
        super().first_loads()
        self.check_process_charts()  # every project is checked at least once

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
            end = parse(got["current"]["end"])
            months = list(range(end - SERIES_MONTHS + 1, end + 1))
            values = []
            for m in months:
                options = self.oracle.accepted(k, (m, m))[0]
                if len(options) != 1:
                    COUNTS["charts with an uncertain month"] += 1
                    break
                values.append(next(iter(options)))
            else:
                COUNTS["charts"] += 1
                self._compare(got, k.id, [text(m) for m in months], values)

    def _compare(self, got: dict, kpi_id: str, months: list[str],
                 values: list[float | None]) -> None:
        unit = got["unit"]
        chart = ref.chart(months, values, floor=0.0 if unit in NON_NEGATIVE else None,
                          ceiling=100.0 if unit == "percent" else None)
        verdict = ref.variation(chart, got["better"])
        printed = got["variation"]
        COUNTS[f"variation {verdict}"] += 1
        where = (f"{kpi_id} ({unit}, better {got['better']}) to {months[-1]}: monthly values "
                 f"{values}")
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
        assert got["assurance"] == ref.assurance(got["target"], chart, got["better"]), where


ChartsMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=STEPS, derandomize=not SEED, deadline=None,
    database=None, suppress_health_check=list(HealthCheck), print_blob=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate])


class TestSpcAgainstTheOracle(ChartsMachine.TestCase):
    pass


def test_the_oracle_compared_verdicts():
    """Runs after the machine (same module, file order): it compared some charts."""
    assert COUNTS["charts"] > 0, COUNTS
