"""`kpi check` checks the windows the summary and the paper compare: `--vs`, else kpi.toml's
`[defaults] vs`, else the baseline. It always checked the baseline's, so a project read year
on year (the police.uk preset) failed the coverage of every KPI for a window no other face
reads ("comparison year ending December 2024 ends after the current year ending September
2024"), while `kpi summary` and the paper compared each with the year before.

24 months of rows, October 2023 to September 2025: the year before the year ending September
2025 is held whole; the baseline, the year ending March 2024, is not (April to September 2023
are missing).
"""

from __future__ import annotations

import json

import pytest

PROJECT = """\
[project]
name = "Year on year"
baseline = "2024-03"
[defaults]
vs = "yoy"
[datasets.c]
date = "day"
[datasets.c.columns]
day = "date"
[[priorities]]
id = "p"
title = "P"
[[kpis]]
id = "crimes"
title = "Crimes"
priority = "p"
kind = "count"
dataset = "c"
"""


@pytest.fixture
def project(tmp_path, cli, monkeypatch):
    (tmp_path / "kpi.toml").write_text(PROJECT, encoding="utf-8")
    months = [f"{2023 + (9 + i) // 12}-{(9 + i) % 12 + 1:02d}" for i in range(24)]
    (tmp_path / "c.csv").write_text("day\n" + "".join(f"{m}-01\n{m}-02\n" for m in months),
                                    encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KPI_NO_CACHE", "1")
    assert cli(["ingest", "c", "c.csv"]).exit_code == 0
    return tmp_path


def _coverage(cli, *args: str) -> tuple[int, dict]:
    result = cli(["check", "--period", "2025-09", "--format", "json", *args])
    return result.exit_code, json.loads(result.stdout)


def test_check_compares_as_the_summary_does(project, cli):
    summary = json.loads(cli(["summary", "--period", "2025-09", "--format", "json"]).stdout)
    crimes = summary["kpis"][0]
    assert (summary["comparison"], crimes["comparison"]["value"], crimes["current"]["value"]) \
        == ("yoy", 24, 24)
    code, checked = _coverage(cli)
    assert code == 0 and checked["comparison"] == "yoy" and checked["passed"], checked
    code, checked = _coverage(cli, "--vs", "baseline")
    assert code == 1 and checked["comparison"] == "baseline"
    failed = {c["id"]: c["message"] for c in checked["checks"] if not c["passed"]}
    assert failed["coverage_crimes"].startswith("'crimes': comparison year ending March 2024 "
                                                "is incomplete"), failed


def test_the_python_face_checks_the_projects_comparison(project):
    import kpi

    opened = kpi.open(project)
    assert opened.check_report("2025-09").comparison.value == "yoy"
    assert not opened.check_report("2025-09").failed
    assert [r.id for r in opened.check_report("2025-09", vs="baseline").failed] == [
        "coverage_crimes"]


def test_a_reconciliation_says_when_no_kpi_of_it_has_a_comparison_figure(project, cli):
    """The baseline (the year ending March 2024) misses April to September 2023 for the
    total and both parts: the check passed on the current window (12 + 12 = 24) saying
    nothing of the comparison window, where one part without a figure there was said."""
    toml = project / "kpi.toml"
    toml.write_text(PROJECT + "".join(
        f'[[kpis]]\nid = "{k}"\ntitle = "{k}"\npriority = "p"\nkind = "count"\n'
        f'dataset = "c"\nfilter = "EXTRACT(DAY FROM day) = {n}"\n' for k, n in
        (("first", 1), ("second", 2))) + '[[checks]]\nid = "days"\ntitle = "Days"\n'
        'total = "crimes"\nparts = ["first", "second"]\n', encoding="utf-8")
    result = cli(["check", "--period", "2025-09", "--vs", "baseline", "--no-data",
                  "--format", "json"])
    days = next(c for c in json.loads(result.stdout)["checks"] if c["id"] == "days")
    assert days["passed"] and days["comparison"] is None
    assert days["message"] == (
        "12 + 12 = 24 (year ending September 2025); not checked over the comparison window: "
        "neither the total nor any part has a figure for it (comparison year ending March "
        "2024 is incomplete: no data for 2023-04, 2023-05, 2023-06 ...)"), days["message"]
