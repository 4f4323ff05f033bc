"""A KPI whose process chart has no limits (a month missing in the baseline the limits are
taken from) is never said to vary normally, nor filed as consistently meeting its target: only
limits say either. And a rate of a 12-month total over a level takes no target, its year's
figure being twelve times its months'."""

from __future__ import annotations

import re
from pathlib import Path

import inprocess

PROJECT = """\
[project]
name = "No limits"
baseline = "2024-03"
[datasets.m]
date = "month"
[datasets.m.columns]
month = "month"
wait = "float"
[[priorities]]
id = "p"
title = "P"
[[kpis]]
id = "wait"
title = "Mean wait"
priority = "p"
kind = "mean"
dataset = "m"
value = "wait"
unit = "number"
better = "lower"
target = 15
[[kpis]]
id = "months"
title = "Months supplied"
priority = "p"
kind = "count"
dataset = "m"
better = "higher"
"""


def _project(folder: Path) -> Path:
    """2023-04 to 2025-09, 10 and 20 in turn, 2024-05 never supplied: the chart's baseline
    (its first 12 months) lacks a month, so it has no limits. The current year's mean is 15,
    meeting the target, where every other month misses it."""
    folder.mkdir()
    (folder / "kpi.toml").write_text(PROJECT, encoding="utf-8")
    rows = ["month,wait"]
    for i in range(30):
        year, month = 2023 + (3 + i) // 12, (3 + i) % 12 + 1
        if (year, month) != (2024, 5):
            rows.append(f"{year}-{month:02d},{10 if i % 2 == 0 else 20}")
    (folder / "m.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    done = inprocess.run(["--project", folder, "ingest", "m", folder / "m.csv"])
    assert done.returncode == 0, done.stderr
    return folder


def test_a_target_no_limits_judge_is_not_judged_nor_called_normal_variation(tmp_path):
    folder = _project(tmp_path / "p")
    out = folder / "paper.md"
    done = inprocess.run(["--project", folder, "export", "markdown", "--period", "2025-09",
                          "--output", out])
    assert done.returncode == 0, done.stderr
    paper = out.read_text(encoding="utf-8")
    head = next(line for line in paper.splitlines()
                if line.startswith("| Variation in the monthly figures |"))
    assert "| Target not judged, no process chart |" in head
    row = next(line for line in paper.splitlines() if line.startswith("| No process chart"))
    assert [c.strip() for c in row.strip("|").split("|")][1:] == ["–", "–", "–", "1", "1", "2"]
    assert "Mean wait (target not judged, no process chart)" in paper
    assert "(target consistently met)" not in paper.lower()
    assert "within normal variation" not in paper
    # a count tested and found not significant, its chart without limits: not "within normal
    # variation", which the matrix's "No process chart" row beside it denies
    sentence = re.search(r"\*\*Months supplied\.\*\* [^\n]*", paper)
    assert sentence and sentence.group(0).endswith(": not statistically significant."), \
        sentence


def test_a_rate_of_a_total_over_a_level_takes_no_target(tmp_path):
    """132 crimes in a year over 100 officers on average is 132%, each month's point 11%: a
    target of 140 was "consistently passed" where every other month missed it."""
    folder = tmp_path / "rate"
    folder.mkdir()
    (folder / "kpi.toml").write_text(
        '[project]\nname = "R"\nbaseline = "2024-09"\n[datasets.c]\ndate = "month"\n'
        '[datasets.c.columns]\nmonth = "month"\nn = "int"\n[[priorities]]\nid = "p"\n'
        'title = "P"\n[[kpis]]\nid = "crimes"\ntitle = "Crimes"\npriority = "p"\n'
        'kind = "count"\ndataset = "c"\n[[kpis]]\nid = "officers"\ntitle = "Officers"\n'
        'priority = "p"\nkind = "mean"\ndataset = "c"\nvalue = "n"\n[[kpis]]\n'
        'id = "per_officer"\ntitle = "Crimes per officer"\npriority = "p"\nkind = "rate"\n'
        'numerator_kpi = "crimes"\ndenominator_kpi = "officers"\nbetter = "lower"\n'
        'target = 140\n', encoding="utf-8")
    done = inprocess.run(["--project", folder, "catalogue"])
    assert done.returncode == 3
    assert ("KPI 'per_officer', key 'target': 'crimes' is a count, a total over the window, "
            "and 'officers' a mean, a level, so the rate's figure for a year is twelve times "
            "its months'") in " ".join(done.stderr.split())
