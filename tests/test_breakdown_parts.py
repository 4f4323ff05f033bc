"""A part of a KPI's breakdown (`breakdowns`, `kpi show`, the board paper) is the KPI's own
figure over that part's rows, or the catalogue refuses the breakdown.

A `per_1000` KPI divides by one population of the whole area, and a `ratio_of_rates` by the
populations of two groups of it: split by LPA, Birmingham's 12 incidents read 6.0 per 1,000
(of the force's 2,000 people), a part per 1,000 of no one's population, and the ratio of rates
read 0.0 and n/a for parts whose rows hold one group only; `kpi compare --by` refused both.
Every kind is broken down by LPA on the tiny fixture (its kpi.toml describes the rows, so
counts are known by hand); each accepted part must equal the KPI with its filter narrowed to
that part, summarised as any KPI is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fixtures.generated import tiny_project

from kpi import engine
from kpi.catalogue import load_project
from kpi.errors import ConfigError
from kpi.periods import Month

POPULATION = """
[population]
force = 2000
birmingham = 1000
coventry = 500
"""

# kind -> the KPI's keys besides id, title, priority, dataset and breakdowns
KINDS = {
    "count": 'kind = "count"',
    "count_filtered": 'kind = "count"\nfilter = "type <> \'assault\'"',
    "sum": 'kind = "sum"\nvalue = "minutes"',
    "rate": 'kind = "rate"\nnumerator = "minutes <= 15"',
    "within": 'kind = "within"\nvalue = "minutes"\nthreshold = 15',
    "mean": 'kind = "mean"\nvalue = "minutes"',
    "median": 'kind = "median"\nvalue = "minutes"',
    "percentile": 'kind = "percentile"\npercentile = 90\nvalue = "minutes"',
    "per_1000": 'kind = "per_1000"\npopulation = "force"',
    "ratio_of_rates": ('kind = "ratio_of_rates"\nnumerator = "type = \'theft\'"\n'
                       'denominator = "type <> \'theft\'"\n'
                       'populations = ["birmingham", "coventry"]'),
}
REFUSED = {"per_1000": "a per_1000 KPI divides by one population of the whole area",
           "ratio_of_rates": "a ratio_of_rates KPI divides by populations of the whole area"}
PERIOD = "2025-09"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("breakdown-parts")
    tiny_project(root)
    shutil.copy(root / "kpi.toml", root / "tiny.toml")
    return root


def _write(folder: Path, keys: str, narrowed: str | None = None) -> None:
    block = ('\n[[kpis]]\nid = "split"\ntitle = "Split"\npriority = "community"\n'
             f'dataset = "incidents"\nbreakdowns = ["lpa"]\n{keys}\n')
    if narrowed is not None:  # the same KPI over one part's rows, without a breakdown
        keys_only = "\n".join(line for line in keys.splitlines()
                              if not line.startswith("filter"))
        block += ('\n[[kpis]]\nid = "narrowed"\ntitle = "Narrowed"\npriority = "community"\n'
                  f'dataset = "incidents"\n{keys_only}\nfilter = "{narrowed}"\n')
    (folder / "kpi.toml").write_text(
        (folder / "tiny.toml").read_text(encoding="utf-8") + POPULATION + block,
        encoding="utf-8")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_part_is_the_kpis_figure_over_its_rows(folder, cli, kind):
    keys = KINDS[kind]
    _write(folder, keys)
    if kind in REFUSED:
        with pytest.raises(ConfigError, match=f"key 'breakdowns': {REFUSED[kind]}"):
            load_project(folder)
        shown = cli(["--project", folder, "show", "split", "--period", PERIOD])
        assert shown.exit_code == 3 and REFUSED[kind] in shown.output
        assert "Traceback" not in shown.output
        return
    shown = cli(["--project", folder, "show", "split", "--period", PERIOD, "--format", "json"])
    assert shown.exit_code == 0, shown.output
    parts = {p["part"]: p for p in json.loads(shown.stdout)["breakdowns"]["lpa"]}
    assert set(parts) == {"Birmingham", "Coventry"}
    own_filter = next((line.partition("= ")[2].strip('"') for line in keys.splitlines()
                       if line.startswith("filter")), None)
    for name, part in parts.items():
        narrowed = f"lpa = '{name}'" + (f" AND ({own_filter})" if own_filter else "")
        _write(folder, keys, narrowed.replace('"', '\\"'))
        project = load_project(folder)
        result = engine.evaluate(project, Month.parse(PERIOD),
                                 kpis=[project.kpi("narrowed")]).result("narrowed")
        assert (part["current"], part["comparison"]) == (
            result.current.value, result.comparison.value), name
    if kind == "count":
        # By hand: from April 2024 one theft a month in Birmingham and one fraud in Coventry;
        # in the baseline year two thefts a month in Birmingham and one assault in Coventry.
        assert (parts["Birmingham"]["current"], parts["Birmingham"]["comparison"]) == (12, 24)
        assert (parts["Coventry"]["current"], parts["Coventry"]["comparison"]) == (12, 12)


def test_a_rate_of_two_kpis_with_a_breakdown_is_refused_at_load(folder, cli):
    (folder / "kpi.toml").write_text(
        (folder / "tiny.toml").read_text(encoding="utf-8")
        + '\n[[kpis]]\nid = "share"\ntitle = "Share"\npriority = "community"\nkind = "rate"\n'
          'numerator_kpi = "fraud"\ndenominator_kpi = "incidents"\nbreakdowns = ["lpa"]\n',
        encoding="utf-8")
    shown = cli(["--project", folder, "show", "share", "--period", PERIOD])
    assert shown.exit_code == 3, shown.output
    assert "Traceback" not in shown.output
    assert "KPI 'share', key 'breakdowns'" in shown.output
