"""A KPI's `unit` names the quantity its kind's value is, or kpi.toml is refused.

Any unit was accepted on any kind, and the figure was printed as the unit said: a `within`
share of 33.3% in `unit = "seconds"` read "0:33" and "+0:17 (+50.0%)", 36 incidents in
`unit = "percent"` read "36.0%" and "-12.0pp", a rate in `unit = "count"` read "33.3" with a
% change of a percentage (+50.0% for 33.3% to 50.0%), and a rate of two KPIs in `unit =
"ratio"` read 400.0 for 4 calls per call, each with exit 0. Every kind is drawn with every
unit on the tiny fixture and checked against the rule written out here from
docs/catalogue.md (`unit`): a share (a rate, a `within`, a snapshot with a numerator) is a
percentage, in `percent` unless a `multiplier` scales it, and never in a time, money or a
count; rows counted (a count or snapshot without a value, a rate per 1,000) and a ratio of
rates are never a percentage, a time or money."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from fixtures.generated import tiny_project

from kpi.catalogue import Unit, load_project
from kpi.errors import ConfigError

# name -> keys, and what its value is (a kind reading a `value` may be in any unit the
# value's type allows: docs/catalogue.md, "Durations")
KINDS = {
    "count": ('kind = "count"\ndataset = "incidents"', "rows"),
    "rate": ('kind = "rate"\ndataset = "incidents"\nnumerator = "minutes <= 15"', "share"),
    "rate_of_kpis": ('kind = "rate"\nnumerator_kpi = "fraud"\ndenominator_kpi = "incidents"',
                     "share"),
    "within": ('kind = "within"\ndataset = "incidents"\nvalue = "minutes"\nthreshold = 15',
               "share"),
    "snapshot": ('kind = "snapshot"\ndataset = "staff"', "rows"),
    "snapshot_share": ('kind = "snapshot"\ndataset = "staff"\nnumerator = "role = \'officer\'"',
                       "share"),
    "per_1000": ('kind = "per_1000"\ndataset = "incidents"\npopulation = "force"', "rows"),
    "ratio_of_rates": ('kind = "ratio_of_rates"\ndataset = "incidents"\n'
                       'numerator = "type = \'theft\'"\ndenominator = "type <> \'theft\'"\n'
                       'populations = ["force", "force"]', "ratio"),
}
NEVER = {"share": {"seconds", "days", "gbp", "count"},
         "rows": {"percent", "seconds", "days", "gbp"},
         "ratio": {"percent", "seconds", "days", "gbp"}}


# A share (numerator / denominator x 100) in a unit of a fixed scale takes the multiplier
# that gives that scale: per 1,000 is x 10 more, a ratio x 0.01.
SHARE_SCALES = {"per_1000": 10, "ratio": 0.01}


# The units naming a kind's value unscaled, which a multiplier would scale and leave named
# so: a rate per 1,000 times 10 printed "14.4 per 1,000 population" for 1.44, a ratio of
# rates times 100 "300.0 times" for 3.0. (A per_1000 KPI is rows counted per 1,000 people.)
UNSCALED = {"share": set(), "rows": {"per_1000"}, "ratio": {"ratio"}}


# Shares of rows whose numerator is 0 or 1 on every row over no denominator (a condition):
# in percent too their multiplier gives the unit's scale, 1 (x 10 printed 25% as 250%).
ZERO_ONE_SHARES = {"rate", "snapshot_share"}


def accepted(what: str, unit: str, multiplier: float, kind: str = "") -> bool:
    if unit in NEVER[what] or (multiplier != 1 and unit in UNSCALED[what]):
        return False
    if what == "share" and unit in SHARE_SCALES:
        return multiplier == SHARE_SCALES[unit]
    if kind in ZERO_ONE_SHARES and unit == "percent":
        return multiplier == 1
    return not (what == "share" and multiplier == 1 and unit != "percent")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("units")
    tiny_project(root)
    shutil.copy(root / "kpi.toml", root / "tiny.toml")
    return root


def _write(folder: Path, keys: str) -> None:
    (folder / "kpi.toml").write_text(
        (folder / "tiny.toml").read_text(encoding="utf-8") + "\n[population]\nforce = 2000\n"
        + f'\n[[kpis]]\nid = "k"\ntitle = "K"\npriority = "community"\n{keys}\n',
        encoding="utf-8")


@pytest.mark.parametrize("multiplier", [1, 10, 0.01, 1000])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_unit_names_what_the_kinds_value_is(folder, kind, multiplier):
    keys, what = KINDS[kind]
    for unit in Unit:
        _write(folder, f'{keys}\nunit = "{unit.value}"'
               + (f"\nmultiplier = {multiplier}" if multiplier != 1 else ""))
        try:
            load_project(folder)
        except ConfigError as exc:
            assert not accepted(what, unit.value, multiplier, kind), (unit, str(exc))
            assert "KPI 'k', key 'unit'" in str(exc) or (
                kind in ZERO_ONE_SHARES and "KPI 'k', key 'multiplier'" in str(exc))
            continue
        assert accepted(what, unit.value, multiplier, kind), unit


@pytest.mark.parametrize(("kind", "multiplier"), [("per_1000", 10), ("ratio_of_rates", 100)])
def test_a_multiplier_is_refused_where_the_default_unit_would_name_the_figure_unscaled(
        folder, cli, kind, multiplier):
    """A rate per 1,000 times 10 (an analyst's "per 10,000") printed "14.4 per 1,000
    population" for 1.44; a ratio of rates times 100 (an index, 100 = parity) "300.0 times"
    for 3.0, exit 0. Refused, naming the multiplier; in unit "number", with words of its own,
    the scaled figure is what it says."""
    _write(folder, f"{KINDS[kind][0]}\nmultiplier = {multiplier}")
    shown = cli(["--project", folder, "summary", "--period", "2025-09"])
    assert shown.exit_code == 3, shown.output
    assert (f"KPI 'k', key 'multiplier': multiplier {multiplier} scales the value of a {kind} "
            "KPI") in " ".join(shown.output.split())
    _write(folder, f'{KINDS[kind][0]}\nmultiplier = {multiplier}\nunit = "number"\n'
                   'unit_label = "per 10,000 population"')
    assert cli(["--project", folder, "summary", "--period", "2025-09"]).exit_code == 0


def test_a_share_is_never_printed_as_a_time(folder, cli):
    """By hand: 12 of the 24 incidents in the year ending September 2025 took 15 minutes or
    less (the Birmingham thefts, 10 minutes): 50.0%, which `unit = "seconds"` printed 0:50."""
    _write(folder, f'{KINDS["within"][0]}\nunit = "seconds"')
    shown = cli(["--project", folder, "summary", "--period", "2025-09"])
    assert shown.exit_code == 3, shown.output
    assert ("KPI 'k', key 'unit': is 'seconds', but the value of a within KPI is a percentage "
            "(numerator / denominator x 100)") in shown.output
    _write(folder, KINDS["within"][0])
    shown = cli(["--project", folder, "summary", "--period", "2025-09", "--format", "csv"])
    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.stdout.splitlines() if line.startswith("k,"))
    assert ",50.0," in row


def _status_rule() -> tuple[str, str]:
    """The units docs/catalogue.md#status names for a change in points and for an absolute
    change only: what the doc says decides."""
    import re

    docs = (Path(__file__).resolve().parent.parent / "docs" / "catalogue.md").read_text("utf-8")
    section = docs.split("\n## Status\n", 1)[1].split("\n## ", 1)[0]
    points = re.search(r"^- percentage points, for KPIs whose unit is `(\w+)`", section, re.M)
    absolute = re.search(r"^- the absolute change, for KPIs whose unit is `(\w+)`", section,
                         re.M)
    assert points and absolute, "docs/catalogue.md#status names the units of its first rules"
    return points.group(1), absolute.group(1)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_change_follows_the_unit_as_docs_catalogue_md_says(folder, kind):
    """docs/catalogue.md said an absolute change is given "for `ratio_of_rates`", where the
    code decides by the unit: a ratio of rates in `number` has a % change, a mean in `ratio`
    none. The doc now names the unit; every kind in every unit it accepts gets the change the
    doc's rules give (points for its points unit, an absolute change only for its ratio unit,
    else a % change from a base above zero)."""
    from kpi import engine

    points_unit, absolute_unit = _status_rule()
    assert (points_unit, absolute_unit) == ("percent", "ratio")
    keys, what = KINDS[kind]
    for unit in Unit:
        if not accepted(what, unit.value, 10):
            continue
        _write(folder, f'{keys}\nunit = "{unit.value}"'
               + ("\nmultiplier = 10" if what == "share" and unit != Unit.PERCENT else ""))
        kpi = load_project(folder).kpi("k")
        change = engine.change_between(kpi, 3.0, 2.0)
        assert change is not None
        if unit.value == points_unit:
            assert (change.points, change.absolute, change.percent) == (1.0, None, None), unit
        elif unit.value == absolute_unit:
            assert (change.points, change.absolute, change.percent) == (None, 1.0, None), unit
        else:
            assert (change.points, change.absolute, change.percent) == (None, 1.0, 50.0), unit


def test_a_ratio_of_rates_in_number_and_a_mean_in_ratio_as_the_summary_reports_them(folder,
                                                                                    cli):
    """End to end, in the summary's JSON: the ratio of rates in `number` has a % change of
    its two windows' values (worked out here in decimals), the mean in `ratio` an absolute
    change only."""
    import json
    from decimal import Decimal

    ratio = KINDS["ratio_of_rates"][0]
    _write(folder, f'{ratio}\nunit = "number"\n\n[[kpis]]\nid = "m"\ntitle = "M"\n'
                   'priority = "community"\nkind = "mean"\ndataset = "incidents"\n'
                   'value = "minutes"\nunit = "ratio"')
    shown = cli(["--project", folder, "summary", "--period", "2025-09", "--format", "json"])
    assert shown.exit_code == 0, shown.output
    got = {k["id"]: k for k in json.loads(shown.stdout)["kpis"]}
    for kid in ("k", "m"):
        now, then = got[kid]["current"]["value"], got[kid]["comparison"]["value"]
        assert now is not None and then is not None and then > 0 and now != then, got[kid]
        change = got[kid]["change"]
        assert change["points"] is None
        assert math.isclose(change["absolute"], now - then, rel_tol=1e-12)
        if kid == "k":
            expected = (Decimal(repr(now)) - Decimal(repr(then))) / Decimal(repr(then)) * 100
            assert math.isclose(change["percent"], float(expected), rel_tol=1e-9), change
        else:
            assert change["percent"] is None, change


def _kinds_table() -> dict[str, str]:
    """docs/catalogue.md's table of kinds: the first cell (`rate`, `rate` of two KPIs, ...)
    to the change it says the kind reports."""
    docs = (Path(__file__).resolve().parent.parent / "docs" / "catalogue.md").read_text("utf-8")
    section = docs.split("\n### Kinds\n", 1)[1].split("\n| kind |", 1)[1]
    rows = [line.split(" | ") for line in section.split("\n\n", 1)[0].splitlines()[2:]]
    return {row[0].removeprefix("| "): row[-1].removesuffix(" |") for row in rows}


TABLE_ROWS = {"count": "`count`", "rate": "`rate`", "rate_of_kpis": "`rate` of two KPIs",
              "within": "`within`", "snapshot": "`snapshot`", "snapshot_share": "`snapshot`",
              "per_1000": "`per_1000`", "ratio_of_rates": "`ratio_of_rates`"}
SAID = {"percentage points": (1.0, None, None), "absolute and %": (None, 1.0, 50.0),
        "absolute": (None, 1.0, None)}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_table_of_kinds_says_the_change_each_reports(folder, kind):
    """The table of kinds said a `rate` changes in percentage points, where a rate that a
    `multiplier` scales to another unit gets a % change (the unit decides). Each row's change
    is checked against the code: in the kind's default unit, and for a share in each unit the
    row names for a `multiplier`."""
    import re

    from kpi import engine

    table = _kinds_table()
    said = table[TABLE_ROWS[kind]]
    if said == "as a `rate`" or (kind == "snapshot_share" and "with `numerator`, as a `rate`"
                                 in said):
        said = table["`rate`"]
    if kind == "snapshot":
        said = said.split(";")[0]
    keys, what = KINDS[kind]

    def change(unit: str | None, multiplier: float = 1) -> tuple:
        _write(folder, keys + (f'\nunit = "{unit}"' if unit else "")
               + (f"\nmultiplier = {multiplier}" if multiplier != 1 else ""))
        got = engine.change_between(load_project(folder).kpi("k"), 3.0, 2.0)
        assert got is not None
        return got.points, got.absolute, got.percent

    default = next(words for words in SAID if said.startswith(words))
    assert change(None) == SAID[default], (kind, said)
    if what != "share":
        return
    scaled = re.search(r"scaled by a `multiplier` to (.+?), absolute and %, and to `(\w+)`, "
                       r"absolute\b", said)
    assert scaled, f"the row of {TABLE_ROWS[kind]} says what a multiplier does: {said}"
    for unit in re.findall(r"`(\w+)`", scaled.group(1)):
        assert change(unit, SHARE_SCALES.get(unit, 10)) == SAID["absolute and %"], (kind, unit)
    assert change(scaled.group(2), SHARE_SCALES.get(scaled.group(2), 10)) == SAID["absolute"], \
        kind


def test_a_share_per_1000_is_per_1000_of_its_denominator(folder, cli):
    """A rate per 1,000 written with the multiplier 1000 (the catalogue's key table once gave
    it as the example) printed 100 times its value: 36 of 120 read "30,000.0 per 1,000
    population (36 of 120)", exit 0. The share is x 100 already, so per 1,000 takes x 10, and
    any other multiplier in that unit is refused naming it. By hand: 12 of the 24 incidents in
    the year ending September 2025 took 15 minutes or less, 500.0 per 1,000, said "per 1,000"
    (of incidents: no population divides a share)."""
    import json

    keys = KINDS["within"][0]
    _write(folder, f'{keys}\nunit = "per_1000"\nmultiplier = 1000')
    shown = cli(["--project", folder, "summary", "--period", "2025-09"])
    assert shown.exit_code == 3, shown.output
    assert ("KPI 'k', key 'unit': is 'per_1000' with multiplier 1000, but the value of a "
            "within KPI is a percentage (numerator / denominator x 100), times the multiplier, "
            "so a share per 1,000 (numerator / denominator x 1,000) takes multiplier = 10"
            ) in " ".join(shown.output.split())
    _write(folder, f'{keys}\nunit = "per_1000"\nmultiplier = 10')
    shown = cli(["--project", folder, "summary", "--period", "2025-09", "--format", "json"])
    assert shown.exit_code == 0, shown.output
    k = next(k for k in json.loads(shown.stdout)["kpis"] if k["id"] == "k")
    assert k["current"]["value"] == 500.0
    from kpi import render

    kpi = load_project(folder).kpi("k")
    assert render.kpi_value(500.0, kpi) == "500.0 per 1,000"
