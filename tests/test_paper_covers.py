"""The board paper says once, in its introduction, which parts of the data its figures add
together, where a column that tells parts apart holds more than one: a dataset's `replace_by`
columns and a `[peers.*]` group's column (`kpi.compare.parts_covered`). Three forces loaded for
comparison on the police.uk preset gave "The total recorded crime was 212,517" with no word of
whose figure it was. The parts expected are counted with Python's csv from the extracts."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import inprocess
import pytest

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "police-uk"
NEIGHBOURS = REALDATA / "neighbours-2025" / "street"
PRESET_TOML = Path(__file__).resolve().parents[1] / "datasets" / "police-uk" / "kpi.toml"

PROJECT = """
[project]
name = "Forces together"
baseline = "2024-12"

[datasets.crimes]
date = "month"
{replace_by}
[datasets.crimes.columns]
month = {{ type = "month", from = ["Month"] }}
force = {{ type = "str", from = ["Force"], label = "force" }}
area = {{ type = "str", from = ["Area"], label = "area" }}
kind = {{ type = "str", from = ["Kind"] }}

{peers}

[[priorities]]
id = "p"
title = "Crime"

[[kpis]]
id = "crime"
title = "Total crime"
priority = "p"
kind = "count"
dataset = "crimes"
filter = "kind = 'crime'"
better = "lower"
"""

FORCES = ["Avon", "Bedfordshire", "Cheshire", "Dorset", "Essex", "Gwent", "Kent"]


def _extract(path: Path, forces: list[str], asb_only: list[str], blank: bool = False) -> None:
    """Rows of every month of 2025: two crimes a month of each of `forces` (in two areas), one
    ASB incident of each of `asb_only`, and with `blank` a crime with no force."""
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["Month", "Force", "Area", "Kind"])
        for month in range(1, 13):
            for force in forces:
                out.writerow([f"2025-{month:02d}", force, "North", "crime"])
                out.writerow([f"2025-{month:02d}", force, "South", "crime"])
            for force in asb_only:
                out.writerow([f"2025-{month:02d}", force, "North", "asb"])
            if blank:
                out.writerow([f"2025-{month:02d}", "", "North", "crime"])


def _parts(path: Path, column: str) -> list[str | None]:
    """The parts of `column` of the rows the KPI counts (Kind crime, 2025), by hand: Python's
    csv, a blank as None, named parts in order of name ignoring case, then None."""
    with path.open(encoding="utf-8", newline="") as f:
        found = {row[column] or None for row in csv.DictReader(f)
                 if row["Kind"] == "crime" and row["Month"].startswith("2025-")}
    named = sorted((p for p in found if p is not None), key=str.casefold)
    return [*named, *([None] if None in found else [])]


def _paper(folder: Path, toml: str, extract: Path) -> str:
    (folder / "kpi.toml").write_text(toml, encoding="utf-8")
    out = inprocess.run(["--project", folder, "ingest", "crimes", extract])
    assert out.returncode == 0, out.stderr
    paper = folder / "p.md"
    out = inprocess.run(["--project", folder, "export", "markdown", "--period", "2025-12",
                         "--output", paper])
    assert out.returncode == 0, out.stderr
    return paper.read_text(encoding="utf-8")


def _said(paper: str) -> list[str]:
    """The sentences of the introduction saying what the figures cover."""
    intro = paper.split("## 1. Introduction", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"By [^.]*?, each figure is that of every part the data holds together "
                      r"\([^)]*\), not of any one of them alone\.", intro)


def _expected(label: str, parts: list[str | None]) -> str:
    named = [p for p in parts if p is not None]
    listed = named[:5] + ([f"{len(named) - 5} more"] if len(named) > 5 else [])
    listed += [f"rows with no {label}"] if None in parts else []
    words = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]
    return (f"By {label}, each figure is that of every part the data holds together ({words}), "
            "not of any one of them alone.")


@pytest.mark.parametrize("blank", [False, True])
def test_a_paper_of_several_forces_loaded_part_by_part_says_which(tmp_path, blank):
    """Seven forces' crimes and one force's ASB alone, loaded part by part (`replace_by`):
    the crime KPI's figure adds the seven, the first five named and "2 more"; the force whose
    rows the KPI's filter leaves out is not named; rows with no force, told apart by a peer
    group (loaded part by part, a row of no force is refused), are said."""
    extract = tmp_path / "crimes.csv"
    _extract(extract, FORCES, ["Zeta"], blank=blank)
    parts = _parts(extract, "Force")
    assert "Zeta" not in parts and len([p for p in parts if p]) == 7
    group = f'[peers.forces]\ncolumn = "force"\nmembers = {json.dumps(FORCES)}\n'
    paper = _paper(tmp_path, PROJECT.format(replace_by="" if blank else 'replace_by = ["force"]',
                                            peers=group if blank else ""), extract)
    assert _said(paper) == [_expected("force", parts)]
    assert "Zeta" not in paper


def test_a_peer_groups_column_is_said_too(tmp_path):
    """A `[peers.*]` group's column (not loaded part by part) holding two parts is said; a
    column with one part is not (here `force`, one force)."""
    extract = tmp_path / "crimes.csv"
    _extract(extract, ["Avon"], [])
    peers = ('[peers.areas]\ncolumn = "area"\nmembers = ["North", "South"]\n')
    paper = _paper(tmp_path, PROJECT.format(replace_by='replace_by = ["force"]', peers=peers),
                   extract)
    assert _said(paper) == [_expected("area", _parts(extract, "Area"))]


def test_a_column_only_labelled_force_is_no_trigger(tmp_path):
    """A label is wording: without `replace_by` or a peer group, a column labelled "force"
    holding several forces is not said (docs/catalogue.md says which columns are)."""
    extract = tmp_path / "crimes.csv"
    _extract(extract, FORCES[:3], [])
    paper = _paper(tmp_path, PROJECT.format(replace_by="", peers=""), extract)
    assert _said(paper) == []


def test_a_paper_of_one_force_says_nothing_of_it(tmp_path):
    extract = tmp_path / "crimes.csv"
    _extract(extract, ["Avon"], ["Avon"])
    paper = _paper(tmp_path, PROJECT.format(replace_by='replace_by = ["force"]', peers=""),
                   extract)
    assert _said(paper) == []


@pytest.mark.skipif(not any(NEIGHBOURS.glob("*-street.csv")),
                    reason="the real police.uk files are not beside the checkout")
def test_the_police_uk_preset_with_three_forces_says_which(tmp_path):
    """The reproduction: West Mercia and its two neighbours' 2025 street files in one
    police.uk project. The forces expected are those of the files' rows (Python's csv)."""
    files = sorted(NEIGHBOURS.glob("*-street.csv"))
    forces: set[str] = set()
    for path in files:
        with path.open(encoding="utf-8-sig", newline="") as f:
            forces.update(row["Falls within"] for row in csv.DictReader(f))
    assert len(forces) == 3
    (tmp_path / "kpi.toml").write_text(PRESET_TOML.read_text(encoding="utf-8"),
                                       encoding="utf-8")
    out = inprocess.run(["--project", tmp_path, "ingest", "street", *files])
    assert out.returncode == 0, out.stderr
    paper = tmp_path / "p.md"
    out = inprocess.run(["--project", tmp_path, "export", "markdown", "--period", "2025-12",
                         "--output", paper])
    assert out.returncode == 0, out.stderr
    text = paper.read_text(encoding="utf-8")
    assert _said(text) == [_expected("force", sorted(forces, key=str.casefold))]
