"""`kpi compare` of a KPI whose last months are not final (`provisional_months`): no part is
judged on them. Each figure is counted by hand."""

from __future__ import annotations

import json
from pathlib import Path

import inprocess

PROJECT = """\
[project]
name = "Provisional parts"
baseline = "2024-03"

[datasets.outcomes]
date = "month"
[datasets.outcomes.columns]
month = "month"
lpa = "str"
n = "int"
pos = "int"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "outcomes"
title = "Outcomes"
priority = "p"
kind = "count"
dataset = "outcomes"
value = "n"
better = "lower"
provisional_months = 2
breakdowns = ["lpa"]
"""


def _compare(folder: Path, *extra: str) -> dict:
    result = inprocess.run(["--project", folder, "compare", "--by", "lpa", "--period",
                            "2025-09", *extra, "--format", "json"])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["kpis"][0]


def test_a_parts_change_is_not_tested_on_months_not_final(tmp_path):
    """North 100 a month; South 100 a month but 400 in the two months not final (August and
    September 2025). "Change differs from the rest's: yes (p < 0.001)" was said of both, on
    the whole years (1,800 of 3,000 against 1,200 of 2,400), beside a note that the last two
    months were left out; without them both parts went from 1,000 to 1,000. The change of a
    part is of the whole windows, so it is not tested; the parts against the rest are tested
    on the ten months before (1,000 each: no difference)."""
    (tmp_path / "kpi.toml").write_text(PROJECT, encoding="utf-8")
    rows = ["month,lpa,n,pos"]
    for i in range(30):
        year, month = 2023 + (3 + i) // 12, (3 + i) % 12 + 1
        rows += [f"{year}-{month:02d},North,100,1",
                 f"{year}-{month:02d},South,{400 if i >= 28 else 100},1"]
    (tmp_path / "o.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert inprocess.run(["--project", tmp_path, "ingest", "outcomes",
                          tmp_path / "o.csv"]).returncode == 0
    got = _compare(tmp_path, "--vs", "yoy")
    parts = {p["name"]: p for p in got["parts"]}
    assert {n: (p["current"]["value"], p["comparison"]["value"]) for n, p in parts.items()} \
        == {"North": (1200, 1200), "South": (1800, 1200)}
    for part in parts.values():
        assert part["change_vs_rest"]["significant"] is None
        assert part["change_vs_rest"]["note"] == (
            "its last 2 months are not final, and a part's change is of the whole windows")
        assert part["vs_rest"]["significant"] is not True


def test_quarterly_rows_are_not_tested_without_their_last_months(tmp_path):
    """Rows of a quarter each: the last quarter holds the two months not final, and cannot
    lose them. Its parts were tested "without the last 2 months" on four whole quarters
    (600 of 4,000 against 800 of 4,000, "differs, p < 0.001"), the quarter said to be left out
    counted; they are not tested, as the summary does not test the KPI."""
    text = PROJECT.replace('date = "month"\n[datasets.outcomes.columns]\nmonth = "month"',
                           'date = { year = "year", quarter = "quarter" }\n'
                           '[datasets.outcomes.columns]\nyear = "int"\nquarter = "int"')
    text = text.replace('kind = "count"\ndataset = "outcomes"\nvalue = "n"\nbetter = "lower"',
                        'kind = "rate"\ndataset = "outcomes"\nnumerator = "pos"\n'
                        'denominator = "n"\nnumerator_within_denominator = true\n'
                        'better = "higher"')
    (tmp_path / "kpi.toml").write_text(text, encoding="utf-8")
    rows = ["year,quarter,lpa,n,pos"]
    for year, quarter in [(y, q) for y in (2023, 2024, 2025) for q in (1, 2, 3, 4)]:
        if (year, quarter) > (2025, 3):
            break
        south = 0 if (year, quarter) == (2025, 3) else 200
        rows += [f"{year},{quarter},North,1000,200", f"{year},{quarter},South,1000,{south}"]
    (tmp_path / "q.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = inprocess.run(["--project", tmp_path, "ingest", "outcomes", tmp_path / "q.csv"])
    assert result.returncode == 0, result.stderr
    got = _compare(tmp_path)
    assert "not tested: its last 2 months are not final" in got["note"]
    for part in got["parts"]:
        assert part["vs_rest"]["significant"] is None


def test_one_month_not_final_is_said_in_the_singular(tmp_path):
    """With one month not final, the notes read "its last month is not final" and "without the
    last month", not "its last 1 months" (the same rule as the summary's note,
    `verdicts.not_final`)."""
    (tmp_path / "kpi.toml").write_text(
        PROJECT.replace("provisional_months = 2", "provisional_months = 1"), encoding="utf-8")
    rows = ["month,lpa,n,pos"]
    for i in range(30):
        year, month = 2023 + (3 + i) // 12, (3 + i) % 12 + 1
        rows += [f"{year}-{month:02d},North,100,1", f"{year}-{month:02d},South,100,1"]
    (tmp_path / "o.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert inprocess.run(["--project", tmp_path, "ingest", "outcomes",
                          tmp_path / "o.csv"]).returncode == 0
    got = _compare(tmp_path, "--vs", "yoy")
    assert "each part is tested without the last month of the" in got["note"]
    assert "1 months" not in json.dumps(got)
    for part in got["parts"]:
        assert part["change_vs_rest"]["note"] == (
            "its last month is not final, and a part's change is of the whole windows")
