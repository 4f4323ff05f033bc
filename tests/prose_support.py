"""How the printed paper reads, one clause at a time: the rules the paper tests hold the
sample's and a real force's Markdown paper to."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_CLAUSE = re.compile(r"(?<=[.;])\s+")


def prose_lines(markdown: str) -> list[str]:
    """The paper's prose: paragraphs and list items, without tables, headings, figures or
    captions."""
    out = []
    for line in markdown.splitlines():
        text = line.strip()
        if not text or text[0] in "|#!*" and not text.startswith("**"):
            continue
        out.append(text)
    return out


def kpi_titles(project_file: Path, *, bundled: bool = False) -> list[str]:
    """The title of every KPI of a project's catalogue, quoted and hidden ones included."""
    from kpi.catalogue import load_project_file

    return [k.title for k in load_project_file(project_file, bundled=bundled).kpis]


def stacked_punctuation(markdown: str, titles: list[str]) -> list[str]:
    """Clauses a board member would have to read twice: two asides in a row (') (') or more
    than one colon in a clause (a clause ends at a full stop or a semicolon), with KPI
    names, which may hold their own colons and parentheses, read as one word."""
    names = sorted({t for t in titles if t}, key=len, reverse=True)
    found = []
    for line in prose_lines(markdown):
        plain = line.replace("\\", "").replace("**", "")
        for name in names:
            plain = plain.replace(name, "NAME")
        if ") (" in plain:
            found.append(line)
            continue
        found += [line for clause in _CLAUSE.split(plain) if clause.count(":") > 1]
    return found


def result_of(kpi: Any, before: float, after: float, current: Any = None,
              comparison: Any = None) -> Any:
    """A KPI's result as the paper is handed it: `before` over the comparison window (the
    year ending March 2024 unless given), `after` over the current one (the year ending
    September 2025), with the change and status the engine gives them."""
    from kpi.engine import KpiResult, Measured, change_between, status_of
    from kpi.periods import Month, Window

    current = current or Window.year_ending(Month.of(2025, 9))
    comparison = comparison or Window.year_ending(Month.of(2024, 3))
    change = change_between(kpi, after, before)
    return KpiResult(kpi, status_of(kpi, change), Measured(current, after),
                     Measured(comparison, before), change)
