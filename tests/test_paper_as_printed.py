"""The board paper read as a board member reads it on data kpi's own sample never holds: a
part's change ranked as printed, a KPI with a figure and no comparison, a comparison window
the data does not reach, a check whose figures are not loaded, and part names with
apostrophes and letters beyond ASCII. Each on a small project worked by hand."""

from __future__ import annotations

import re

KPI_TOML = """\
[project]
name = "{name}"
baseline = "2024-03"

[datasets.crimes]
date = "recorded"
sources = ["crimes.csv"]
[datasets.crimes.columns]
recorded = "date"
lpa = "str"
loss = "float"

[[priorities]]
id = "crime"
title = "Reducing Crime"

[[kpis]]
id = "total_crime"
title = "Total recorded crime"
priority = "crime"
kind = "count"
dataset = "crimes"
better = "lower"
breakdowns = ["lpa"]

[[kpis]]
id = "loss"
title = "Money lost"
priority = "crime"
kind = "sum"
dataset = "crimes"
value = "loss"
better = "lower"
breakdowns = ["lpa"]
"""


def _months(first: tuple[int, int], count: int) -> list[str]:
    year, month = first
    out = []
    for _ in range(count):
        out.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _project(folder, rows: list[tuple[str, str, float]], name: str = "Test force"):
    (folder / "kpi.toml").write_text(KPI_TOML.format(name=name), encoding="utf-8")
    lines = ["recorded,lpa,loss"] + [f"{month}-15,\"{lpa}\",{loss}" for month, lpa, loss in rows]
    (folder / "crimes.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _paper(cli, folder, *extra, period: str = "2025-09") -> str:
    out = folder / "paper.md"
    result = cli(["--project", folder, "ingest", "crimes", folder / "crimes.csv"])
    assert result.exit_code == 0, result.output
    result = cli(["--project", folder, "export", "markdown", "--period", period,
                  "--output", out, *extra])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def _line(text: str, title: str) -> str:
    return next(line for line in text.splitlines() if f"**{title}.**" in line)


def test_parts_on_a_small_base_are_ranked_by_their_change_as_printed(tmp_path, cli):
    """Money lost in Aston rose by 2.44 and in Brierley by 2.36, both printed +2: equal
    figures as printed come in the breakdown's own order (by name), as the ranking above
    them does, where the unrounded changes put Brierley first."""
    rows = [(month, "Aston", 0.0) for month in _months((2023, 4), 30)]
    comparison, current = _months((2023, 4), 12), _months((2024, 10), 12)
    for lpa, now in (("Brierley", 12.36), ("Aston", 12.44)):
        rows += [(comparison[0], lpa, 10.0), (current[0], lpa, now)]
    text = _paper(cli, _project(tmp_path, rows), "--full")
    line = _line(text, "Money lost")
    assert "on a base below 50, as numbers: Aston (+2), Brierley (+2)." in line, line
