"""A KPI whose process chart has no limits (a month missing in the baseline the limits are
taken from) is never said to vary normally, nor filed as consistently meeting its target: only
limits say either. And a rate of a 12-month total over a level takes no target, its year's
figure being twelve times its months'."""

from __future__ import annotations

import json
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
    # (a month missing, not months of one value: the sentence of that reason is not said)
    assert "This KPI has no process chart" not in paper


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


def _flat_project(folder: Path) -> Path:
    """2023-10 to 2025-09: a mean wait of 12 and 3 calls in every month of the first year (the
    months the chart's limits come from), then 4 calls waiting 11 and 2 waiting 14 in turn.
    Each year's mean wait is 12 and each year holds 36 calls, counted by hand."""
    folder.mkdir()
    (folder / "kpi.toml").write_text(PROJECT.replace('baseline = "2024-03"',
                                                     'baseline = "2024-09"'), encoding="utf-8")
    rows = ["month,wait"]
    for i in range(24):
        year, month = 2023 + (9 + i) // 12, (9 + i) % 12 + 1
        wait, calls = (12, 3) if i < 12 else ((11, 4) if i % 2 == 0 else (14, 2))
        rows += [f"{year}-{month:02d},{wait}"] * calls
    (folder / "m.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    done = inprocess.run(["--project", folder, "ingest", "m", folder / "m.csv"])
    assert done.returncode == 0, done.stderr
    return folder


def test_a_baseline_that_does_not_vary_is_said_to_give_no_process_chart(tmp_path):
    """Every month of the first year the same value: the chart has no limits (the spread of
    the process is not known), and each KPI's paragraph says so where it would say what the
    chart shows, naming those months, in `kpi show`'s words; never that the KPI or its change
    is within normal variation. The matrix files both under "No process chart", whose words
    name the reason."""
    folder = _flat_project(tmp_path / "flat")
    reason = ("no variation (every month the same value), so the spread of the process is "
              "not known")
    said = ("This KPI has no process chart: the months its limits would come from (October "
            f"2023 to September 2024) have {reason}.")
    for kpi_id in ("wait", "months"):
        shown = inprocess.run(["--project", folder, "show", kpi_id, "--period", "2025-09",
                               "--format", "json"])
        assert shown.returncode == 0, shown.stderr
        xmr = json.loads(shown.stdout)["signal"]["xmr"]
        assert xmr["mean"] is None and xmr["signals"] == []
        assert xmr["note"] == f"no limits: the baseline (2023-10 to 2024-09) has {reason}"
    for full in ((), ("--full",)):
        out = folder / f"paper{len(full)}.md"
        done = inprocess.run(["--project", folder, "export", "markdown", "--period",
                              "2025-09", "--output", out, *full])
        assert done.returncode == 0, done.stderr
        paper = out.read_text(encoding="utf-8")
        wait = re.search(r"\*\*Mean wait\.\*\* [^\n]*", paper)
        calls = re.search(r"\*\*Months supplied\.\*\* [^\n]*", paper)
        assert wait and calls, paper
        # 36 calls in each year: tested, not significant; a mean wait is not tested
        if not full:
            assert wait.group(0) == ("**Mean wait.** 12.0, unchanged from 12.0: not tested "
                                     f"for significance. {said}")
            assert calls.group(0) == ("**Months supplied.** 36, unchanged from 36: not "
                                      f"statistically significant. {said}")
        for sentence in (wait.group(0), calls.group(0)):
            assert said in sentence and "normal variation" not in sentence, sentence
        row = next(line for line in paper.splitlines() if line.startswith("| No process chart"))
        assert [c.strip() for c in row.strip("|").split("|")] == [
            "No process chart (cumulative, too few months, no data, no variation)", "–", "–",
            "–", "1", "1", "2"]
        assert ("- **No process chart (cumulative, too few months, no data, no variation), "
                "2:** Mean wait (target not judged, no process chart); Months supplied.") in paper
