"""How the printed paper reads, one clause at a time: the rules the paper tests hold the
sample's and a real force's Markdown paper to."""

from __future__ import annotations

import re
from pathlib import Path

# Matrix row heads, as the paper's matrix table prints them: the list of each row's KPIs
# leads with the row's words and its count ("... (no better direction) (2):"), in the form
# the differential oracle parses (tests/test_spc_oracle.py); it is not prose.
_MATRIX_ROW_LINE = re.compile(r"^- \*\*[^*]+ \(\d+\):\*\* ")
_CLAUSE = re.compile(r"(?<=[.;])\s+")


def prose_lines(markdown: str) -> list[str]:
    """The paper's prose: paragraphs and list items, without tables, headings, figures,
    captions or the matrix rows' lists."""
    out = []
    for line in markdown.splitlines():
        text = line.strip()
        if (not text or text[0] in "|#!*" and not text.startswith("**")
                or _MATRIX_ROW_LINE.match(text)):
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
