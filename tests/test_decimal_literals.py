"""A number written with a decimal point in a KPI's expression (`net * 1.2`, VAT; `minutes *
0.5`) is a Decimal to Polars, exact; its sums reached the faces as Python Decimals, which no
JSON or workbook writer takes: `kpi summary --format json`, the workbook and the paper stopped
with a traceback and exit 1 (the code of a failed check), and `kpi compare --format json`
wrote each part's figure as text ("3600.0"), against its schema. Each row's decimal is summed
as every fraction is, as written: the figures are those counted by hand. And a fault of kpi's
own exits 5, never 1."""

from __future__ import annotations

import json

import inprocess
import pytest

PROJECT = """\
[project]
name = "Decimal literals"
baseline = "2024-09"

[datasets.costs]
date = "date"
[datasets.costs.columns]
date = "date"
lpa = "str"
net = "int"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "gross"
title = "Overtime cost with VAT"
priority = "p"
kind = "sum"
dataset = "costs"
value = "net * 1.2"
unit = "gbp"
better = "lower"
breakdowns = ["lpa"]

[[kpis]]
id = "hours"
title = "Mean hours"
priority = "p"
kind = "mean"
dataset = "costs"
value = "net * 0.1"
better = "lower"

[[kpis]]
id = "weighted"
title = "Weighted"
priority = "p"
kind = "sum"
dataset = "costs"
value = "CASE WHEN lpa = 'North' THEN 1.5 ELSE 0.5 END"
better = "lower"
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("decimal literals")
    (folder / "kpi.toml").write_text(PROJECT, encoding="utf-8")
    rows = ["date,lpa,net"]
    for year, month in [(2024, m) for m in range(9, 13)] + [(2025, m) for m in range(1, 10)]:
        rows += [f"{year}-{month:02d}-10,North,101", f"{year}-{month:02d}-11,South,253"]
    (folder / "costs.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = inprocess.run(["--project", folder, "ingest", "costs", folder / "costs.csv"])
    assert result.returncode == 0, result.stderr
    return folder


def test_every_face_gives_the_figures_counted_by_hand(project, tmp_path):
    result = inprocess.run(["--project", project, "summary", "--period", "2025-09", "--vs",
                            "previous", "--format", "json"])
    assert result.returncode == 0, result.stderr
    got = {k["id"]: k["current"]["value"] for k in json.loads(result.stdout)["kpis"]}
    # 12 months of (101 + 253) x 1.2 = 5,097.6; a mean of 12 x 10.1 and 12 x 25.3 over 24
    # rows, 17.7; 12 x 1.5 + 12 x 0.5 = 24
    assert got == {"gross": 5097.6, "hours": 17.7, "weighted": 24}
    compared = json.loads(inprocess.run([
        "--project", project, "compare", "--by", "lpa", "--period", "2025-09", "--vs",
        "previous", "--kpi", "gross", "--format", "json"]).stdout)["kpis"][0]
    assert {p["name"]: p["current"]["value"] for p in compared["parts"]} == {
        "North": 1454.4, "South": 3643.2}
    assert compared["mean"] == 2548.8
    for args in (["summary", "--period", "2025-09", "--format", "xlsx", "--output",
                  tmp_path / "s.xlsx"],
                 ["export", "markdown", "--period", "2025-09", "--output", tmp_path / "b.md"]):
        result = inprocess.run(["--project", project, *args])
        assert result.returncode == 0, result.stderr
    assert "£5,097.6" not in (tmp_path / "b.md").read_text(encoding="utf-8")  # whole pounds
    assert "£5,098" in (tmp_path / "b.md").read_text(encoding="utf-8")


def test_a_fault_of_kpis_own_exits_5_not_the_code_of_a_failed_check(monkeypatch, capsys):
    import kpi.cli

    def broken():
        def run():
            raise TypeError("Object of type Decimal is not JSON serializable")
        return run

    monkeypatch.setattr(kpi.cli, "command", broken)
    monkeypatch.setattr(kpi.cli.State, "debug", False)  # as the root's options leave it
    with pytest.raises(SystemExit) as stopped:
        kpi.cli.main()
    assert stopped.value.code == kpi.cli.EXIT_BUG == 5
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.splitlines()[-2:] == [
        "Error: kpi stopped on a fault of its own (above), not of its input (a load it "
        "stopped is not committed)",
        "Hint: please report it with the command and the lines above"]


def test_a_count_of_fractional_values_is_not_tested_whatever_its_totals(tmp_path):
    """A count of a value of 2.5 a row: 28 rows in the baseline year (70) and 40 in the
    current year (100). The totals are whole, so it was tested as 100 events against 70 (p =
    0.026, significant, deteriorating), where the rows behind them give 40 against 28 (p =
    0.18); docs/statistics.md says a count of fractional values is not tested. A row whose
    value is not a whole number of at least 0 leaves it untested, whatever the totals; a
    count of whole values is tested as before."""
    (tmp_path / "kpi.toml").write_text("""\
[project]
name = "Weighted"
baseline = "2024-03"
[datasets.crimes]
date = "day"
[datasets.crimes.columns]
day = "date"
weight = "float"
[[priorities]]
id = "p"
title = "P"
[[kpis]]
id = "weighted"
title = "Weighted"
priority = "p"
kind = "count"
dataset = "crimes"
value = "weight"
better = "lower"
[[kpis]]
id = "whole"
title = "Whole"
priority = "p"
kind = "count"
dataset = "crimes"
value = "weight * 2"
better = "lower"
""", encoding="utf-8")
    rows = ["day,weight"]
    for first, n in ((2023, 28), (2024, 40)):
        for i in range(n):
            k = i % 12
            year, month = first + (3 + k) // 12, (3 + k) % 12 + 1
            rows.append(f"{year}-{month:02d}-{1 + i % 28:02d},2.5")
    (tmp_path / "c.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert inprocess.run(["--project", tmp_path, "ingest", "crimes", tmp_path / "c.csv"]
                         ).returncode == 0
    got = {k["id"]: k for k in json.loads(inprocess.run(
        ["--project", tmp_path, "summary", "--period", "2025-03", "--format", "json"]).stdout)[
        "kpis"]}
    weighted = got["weighted"]
    assert (weighted["current"]["value"], weighted["comparison"]["value"]) == (100, 70)
    assert weighted["significance"]["test"] is None
    assert weighted["significance"]["reason"] == "the values are not whole counts of events"
    # 200 events against 140, each row 5: tested as events (scipy's binomtest: twice the
    # smaller tail of 200 of 340 at one half)
    assert got["whole"]["significance"]["test"] == "poisson_exact"
