"""The analyst's commentary for a board paper: context the data cannot give, in their words.

A commentary file is TOML, one per paper (by default `commentary/YYYY-MM.toml` in the project):

    [paper]
    board = "Accountability and Governance Board"
    date = "November 2025"
    author = "A. Analyst"
    job_title = "Strategic Performance Manager"
    introduction = "..."            # added to the introduction
    equality_implications = "..."   # its own section, before the appendices
    next_steps = "..."              # likewise

    [sections.community]            # a plan priority's id: after the section's opening
    text = "..."

    [kpis.asb_incidents]            # a KPI's id: after the KPI's paragraph
    text = "..."

Text is kept verbatim; a blank line starts a new paragraph and other line breaks are spaces.
Every entry must name a priority or KPI of the project: a misspelt id is an error naming it,
never a paragraph silently left out.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from kpi.catalogue import Project
from kpi.errors import MAX_NESTING, ConfigError, UsageError, refuse_unsafe_text
from kpi.periods import Month

PAPER_KEYS = ("board", "date", "author", "job_title", "introduction", "equality_implications",
              "next_steps")
TABLES = ("paper", "sections", "kpis")


@dataclass(frozen=True)
class Commentary:
    path: Path | None = None
    kpis: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sections: dict[str, tuple[str, ...]] = field(default_factory=dict)
    introduction: tuple[str, ...] = ()
    equality_implications: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()
    board: str = ""
    date: str = ""
    author: str = ""
    job_title: str = ""

    @property
    def issued(self) -> dt.date | None:
        """The paper's date when `date` is an ISO date (2025-11-20)."""
        try:
            return dt.date.fromisoformat(self.date)
        except ValueError:
            return None


# The paragraphs a commentary file may hold in all: a board paper has a few per KPI, and a
# file of tens of thousands (30,000 took Word 56 seconds to open) is a mistake.
MAX_PARAGRAPHS = 2_000


def default_path(project: Project, month: Month) -> Path:
    return project.path.parent / "commentary" / f"{month}.toml"


def load(project: Project, month: Month, path: Path | None) -> Commentary:
    """The commentary named by --commentary, else the project's file for the month if there
    is one, else none."""
    if path is None:
        path = default_path(project, month)
        if not path.is_file():
            return Commentary()
    elif not path.is_file():
        raise UsageError(f"--commentary '{path}' is not a file",
                         hint="pass a TOML file; see docs/board-paper.md for its tables")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read ({error})",
                          hint="save the commentary as UTF-8 text") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}",
                          hint="check the quotes: multi-line text goes in triple quotes") \
            from error
    except RecursionError:
        raise ConfigError(f"{path}: nested more than {MAX_NESTING} levels deep",
                          hint="a commentary file holds tables of text = \"...\"") from None
    refuse_unsafe_text(raw, str(path))
    return parse(project, path, raw)


def parse(project: Project, path: Path, raw: dict) -> Commentary:
    problems: list[str] = []
    for key in raw:
        if key not in TABLES:
            problems.append(f"[{key}]: unknown table (one of {', '.join(TABLES)})")
    paper = _table(raw, "paper", problems)
    parts: dict[str, object] = {}
    for key, value in paper.items():
        if key not in PAPER_KEYS:
            problems.append(f"[paper] key '{key}': unknown (one of {', '.join(PAPER_KEYS)})")
        elif not isinstance(value, str):
            problems.append(f"[paper] key '{key}': must be text")
        elif key in ("introduction", "equality_implications", "next_steps"):
            parts[key] = paragraphs(value)
        else:
            parts[key] = " ".join(value.split())
    priorities = {p.id for p in project.priorities}
    kpis = {k.id for k in project.kpis if not k.hidden}
    sections = _entries(raw, "sections", priorities, "a plan priority", problems)
    notes = _entries(raw, "kpis", kpis, "a KPI", problems)
    count = sum(len(v) for v in parts.values() if isinstance(v, tuple)) + sum(
        len(v) for table in (sections, notes) for v in table.values())
    if count > MAX_PARAGRAPHS:
        problems.append(f"{count:,} paragraphs, more than a paper holds (at most "
                        f"{MAX_PARAGRAPHS:,})")
    if problems:
        raise ConfigError("\n".join(f"{path}: {p}" for p in problems),
                          hint=f"ids are those of {project.path.name}: priorities under "
                               "[sections.ID], KPIs under [kpis.ID], each with text = \"...\"")
    return Commentary(path=path, kpis=notes, sections=sections, **parts)


def _table(raw: dict, name: str, problems: list[str]) -> dict:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        problems.append(f"'{name}' must be a table ([{name}])")
        return {}
    return value


def _entries(raw: dict, name: str, known: set[str], what: str,
             problems: list[str]) -> dict[str, tuple[str, ...]]:
    out = {}
    for key, value in _table(raw, name, problems).items():
        where = f"[{name}.{key}]"
        if key not in known:
            problems.append(f"{where}: '{key}' is not {what} of the project")
            continue
        if not isinstance(value, dict) or set(value) != {"text"} \
                or not isinstance(value["text"], str):
            problems.append(f"{where}: needs exactly one key, text = \"...\"")
            continue
        text = paragraphs(value["text"])
        if text:
            out[key] = text
    return out


def paragraphs(text: str) -> tuple[str, ...]:
    """Paragraphs of a text: a blank line separates them; other line breaks are spaces."""
    return tuple(" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip())
