"""kpi export --previous where a breakdown's part vanished since the last paper: a headcount's
unit with officers at the baseline and none now, whose baseline rows were revised away. The
appendix listed its September figure, 0 then and still 0, as revised to "no figure": the
revisions kept their own list of the kinds whose part of no rows totals 0, without the
headcount the paper counts as one. One rule now (`KpiDef.is_total`): a total of 0 then and of
no rows now is no revision; a vanished part's other figures are "no figure". The figures are
counted by hand from the rows written here."""

from __future__ import annotations

from pathlib import Path

import inprocess

PROJECT = """
[project]
name = "Staff"
baseline = "2024-03"

[datasets.staff]
date = "as_at"
[datasets.staff.columns]
as_at = "month"
role = "str"
unit = "str"

[[priorities]]
id = "p"
title = "People"

[[kpis]]
id = "officers"
title = "Officer headcount"
priority = "p"
kind = "snapshot"
dataset = "staff"
filter = "role = 'officer'"
better = "higher"
breakdowns = ["unit"]
"""

# officers at the end of each month: North 50, South 40, and the dog unit 3 until December 2024
UNITS = (("North", 50), ("South", 40), ("Dogs", 3))


def _rows(months: list[str], without_dogs: bool = False) -> str:
    lines = ["as_at,role,unit"]
    for month in months:
        for unit, size in UNITS:
            if unit == "Dogs" and (without_dogs or month >= "2025-01"):
                continue
            lines += [f"{month},officer,{unit}"] * size
    return "\n".join(lines) + "\n"


def _kpi(folder: Path, *args) -> str:
    out = inprocess.run(["--project", folder, *args])
    assert out.returncode == 0, out.stderr
    return out.stdout


def _appendix(paper: Path) -> list[tuple[str, ...]]:
    text = paper.read_text(encoding="utf-8").split("Figures revised since the last paper\n")[1]
    return [tuple(cell.strip() for cell in line.strip("|").split("|"))
            for line in text.splitlines() if line.startswith("| ") and "---" not in line][1:]


def test_a_vanished_part_of_a_headcount_at_0_is_no_revision(tmp_path):
    (tmp_path / "kpi.toml").write_text(PROJECT, encoding="utf-8")
    months = [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]
    (tmp_path / "staff.csv").write_text(_rows(months), encoding="utf-8")
    _kpi(tmp_path, "ingest", "staff", tmp_path / "staff.csv")
    first = tmp_path / "first.md"
    _kpi(tmp_path, "export", "markdown", "--period", "2025-09", "--full", "--output", first)
    # the last paper printed the dog unit: none in September 2025, 3 in April 2024
    assert "Dogs (−3)" in first.read_text(encoding="utf-8")
    # April 2024's return revised: the dog unit's three officers were never officers there
    (tmp_path / "april.csv").write_text(_rows(["2024-04"], without_dogs=True),
                                        encoding="utf-8")
    _kpi(tmp_path, "ingest", "staff", tmp_path / "april.csv")
    second = tmp_path / "second.md"
    _kpi(tmp_path, "export", "markdown", "--period", "2025-09", "--full", "--output", second,
         "--previous", tmp_path / "first.figures.json")
    # By hand: April 2024, 50 + 40 + 3 = 93 then, 50 + 40 = 90 now; the dog unit 3 then and
    # no longer listed; September 2025, 0 then and none now (not revised)
    assert _appendix(second) == [
        ("Officer headcount", "April 2024", "93", "90"),
        ("Officer headcount, by unit: Dogs", "April 2024", "3", "no figure")]
    assert "Figures revised since the last paper: 2," in second.read_text(encoding="utf-8")


def test_a_vanished_force_of_a_peer_group_has_no_figure_not_0(tmp_path):
    """A national extract loaded whole by month, its forces a peer group's: reissued without
    force C, C's crimes are no rows supplied, not none recorded, so its figures of the last
    paper are "no figure" now, never 0."""
    import test_parts_like as like

    rows = like._rows({2024: ("A", "B", "C"), 2025: ("A", "B", "C")})
    like._project(tmp_path, rows)
    first = tmp_path / "first.md"
    _kpi(tmp_path, "export", "markdown", "--period", "2025-12", "--full", "--output", first)
    assert "By force" in first.read_text(encoding="utf-8")
    like._project(tmp_path, [r for r in rows if r["Force"] != "C"])
    second = tmp_path / "second.md"
    _kpi(tmp_path, "export", "markdown", "--period", "2025-12", "--full", "--output", second,
         "--previous", tmp_path / "first.figures.json")
    # By hand: 3 forces x 12 months x 10 crimes, 360 a year then; A and B, 240 now
    assert _appendix(second) == [
        ("Total crime", "year ending December 2025", "360", "240"),
        ("Total crime", "year ending December 2024", "360", "240"),
        ("Total crime, by force: C", "year ending December 2025", "120", "no figure"),
        ("Total crime, by force: C", "year ending December 2024", "120", "no figure")]
