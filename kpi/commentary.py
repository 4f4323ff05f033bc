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
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpi.catalogue import Project
from kpi.errors import MAX_NESTING, ConfigError, UsageError, option, refuse_unsafe_text
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


# A commentary file named for its month, as `default_path` names it: 2025-09.toml.
_MONTH_FILE = re.compile(r"(\d{4}-\d{2})\.toml")


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
        raise UsageError(f"{option('--commentary')} '{path}' is not a file",
                         hint="pass a TOML file; see docs/board-paper.md for its tables")
    else:
        # Another month's file (commentary/2025-08.toml for September's paper): its text, on
        # other figures, printed as this month's. As `import_word` refuses writing a paper's
        # commentary under another month's name, the paper refuses reading it.
        named = _MONTH_FILE.fullmatch(path.name)
        if named and named.group(1) != str(month):
            raise UsageError(f"{option('--commentary')} '{path}' is named for another month "
                             f"({named.group(1)}) than the paper's ({month})",
                             hint=f"this paper's commentary file is {month}.toml; to start it "
                                  f"from {path.name}, copy that file to {month}.toml and edit it")
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
    parts: dict[str, Any] = {}
    for key, value in paper.items():
        if key not in PAPER_KEYS:
            problems.append(f"[paper] key '{key}': unknown (one of {', '.join(PAPER_KEYS)})")
        elif not isinstance(value, str):
            problems.append(f"[paper] key '{key}': must be text")
        elif key in ("introduction", "equality_implications", "next_steps"):
            parts[key] = paragraphs(value)
        else:
            parts[key] = one_line(value)
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


# The white space of the file's layout (indents, line breaks, tabs), made one space: never a
# space the analyst typed as part of the text (U+00A0 in "£150 million", U+202F in "10 %",
# U+3000), which str.split() took for layout and printed as an ordinary space.
_LAYOUT = re.compile(r"[ \t\r\n\u2028\u2029]+")


def one_line(text: str) -> str:
    """A text's layout white space made single spaces, trimmed; every other character kept."""
    return _LAYOUT.sub(" ", text).strip(" ")


def paragraphs(text: str) -> tuple[str, ...]:
    """Paragraphs of a text: a blank line separates them; other line breaks are spaces."""
    return tuple(one_line(p) for p in re.split(r"\n\s*\n", text) if p.strip())


# ---------------------------------------------------------------------------------------------
# Commentary typed into the Word paper


@dataclass(frozen=True)
class Imported:
    """The commentary read back from a Word paper: the TOML text to write, where, and what
    the reader must be told."""

    path: Path
    text: str
    month: Month
    changed: tuple[str, ...]  # the places whose commentary differs from the file's
    outside: tuple[str, ...]  # text typed outside the places, with where it is
    notes: tuple[str, ...]  # anything else kept or left as it was, said in a line each


PLACE_TABLES = {"paper": "paper", "sections": "sections", "kpis": "kpis"}
TEXT_KEYS = ("introduction", "equality_implications", "next_steps")


def import_word(project: Project, docx: Path, output: Path | None = None) -> Imported:
    """The commentary file a Word paper's commentary places give, merged into `output` (by
    default the month's commentary file; a new `output` starts from the month's file):
    entries the paper has no place for are kept as they were, and a place left empty removes
    its entry."""
    from kpi.errors import DataError
    from kpi.writers.docx import read_commentary

    if not docx.is_file():
        raise UsageError(f"'{docx}' is not a file", hint="pass the Word paper you edited (.docx)")
    try:
        word = read_commentary(docx)
    except ValueError as error:
        raise DataError(f"{docx}: {error}",
                        hint="pass a .docx written by kpi export docx and saved by Word") \
            from error
    hint = ("type the commentary in Word (or another editor that keeps Word's content "
            "controls), or write it in the commentary file; see docs/board-paper.md")
    if not word.places:
        if word.recorded:
            raise DataError(f"{docx}: none of the paper's {len(word.recorded)} commentary "
                            "boxes is left: the file was saved by a program that drops Word's "
                            "content controls (LibreOffice does), or they were deleted", hint=hint)
        raise DataError(f"{docx}: no commentary boxes: not a paper written by kpi export docx",
                        hint="export the paper with kpi export docx and type in its "
                             "commentary boxes")
    if word.duplicated:
        keys = ", ".join(sorted(set(word.duplicated)))
        raise DataError(f"{docx}: the commentary box for {keys} is in the paper more than "
                        "once (a copied content control?)",
                        hint="keep one of them and type the commentary there")
    if word.period is None:
        raise DataError(f"{docx}: kpi's record of the paper is gone, so its month and the text "
                        "outside the commentary boxes cannot be checked",
                        hint="import a paper saved by Word; the record travels with the file")
    if word.project is not None and word.project != project.name:
        raise DataError(f"{docx}: a paper of project {json.dumps(word.project)}, not of this "
                        f"project ({json.dumps(project.name)}), so its boxes are not this "
                        "project's KPIs", hint="import it with --project naming its own "
                                               "kpi.toml, or pass this project's paper")
    if word.unreadable:
        key, held = word.unreadable[0]
        more = f" (and {len(word.unreadable) - 1} more box(es))" if len(word.unreadable) > 1 \
            else ""
        raise DataError(f"{docx}: the commentary box for {key} holds {held}{more}, which "
                        "cannot be imported as its text", hint=(
                            "keep only paragraphs of text in the commentary boxes (a table or "
                            "picture goes in the paper after export); then import again"))
    month = Month.typed(word.period)
    named = _MONTH_FILE.fullmatch(output.name) if output is not None else None
    if output is not None and named and named.group(1) != str(month):
        # The paper's commentary written as another month's: printed under that month's
        # figures next export.
        raise UsageError(f"{docx}: a paper for {month.name}, but --output '{output}' is named "
                         f"for another month ({named.group(1)})",
                         hint=f"this paper's commentary file is {month}.toml; to start "
                              "another month's commentary from it, copy that file")
    path = output or default_path(project, month)
    # Merged into the file written, or when that is new, into the month's own file.
    base = path if path.is_file() else default_path(project, month)
    old = _existing(base)
    raw = {name: dict(old.get(name, {})) for name in TABLES}
    changed, problems, gone = [], [], []
    known = {"sections": {p.id for p in project.priorities},
             "kpis": {k.id for k in project.kpis if not k.hidden}}
    for key, texts in word.places.items():
        table, _, name = key.partition(".")
        if table not in PLACE_TABLES or not name or (table == "paper" and name not in TEXT_KEYS):
            problems.append(f"unknown commentary box '{key}'")
            continue
        text = "\n\n".join(texts)
        if table in known and name not in known[table]:
            # The box's KPI or priority was renamed, removed or hidden since the paper was
            # written: its text belongs to no entry this project has, so it is not guessed.
            if text:
                gone.append(key)
            continue
        before = raw[table].get(name)
        before_text = before if table == "paper" else (
            before.get("text") if isinstance(before, dict) else None)
        if paragraphs(before_text or "") != paragraphs(text):
            changed.append(key)
        if not text:
            raw[table].pop(name, None)
        elif table == "paper":
            raw[table][name] = text
        else:
            raw[table][name] = {"text": text}
    if problems:
        raise DataError(f"{docx}: " + "; ".join(problems),
                        hint="import a paper written by kpi export docx for this project")
    if gone:
        raise DataError(f"{docx}: the commentary box for {', '.join(gone)} holds text but is for "
                        f"no KPI or priority of {project.path.name} (renamed, removed or "
                        "hidden since the paper was written)",
                        hint="write its text into the commentary file under the new id "
                             "([kpis.ID] or [sections.ID]), or delete the box's text in the "
                             "paper; then import again")
    notes = []
    missing = sorted(set(word.recorded or ()) - set(word.places))
    if missing:
        notes.append(f"{len(missing)} commentary box(es) deleted from the paper, their "
                     f"commentary kept as it was: {', '.join(missing)}")
    if word.project is None:
        notes.append("the paper does not record its project (an older kpi wrote it): its "
                     f"boxes were taken as {project.name}'s")
    if word.tracked:
        notes.append(f"{len(word.tracked)} box(es) hold tracked changes, read as if every "
                     f"change were accepted: {', '.join(word.tracked)}")
    if word.tagless:
        notes.append(f"{word.tagless} content control(s) without a tag were left alone")
    if base.is_file() and any(line.lstrip().startswith("#") and line.strip() != HEADER
                              for line in base.read_text(encoding="utf-8-sig").splitlines()):
        notes.append(f"the comments (# lines) of {base} are not kept")
    parse(project, path, {k: v for k, v in raw.items() if v})  # the file written must load
    return Imported(path=path, text=dumps(project, raw), month=month, changed=tuple(changed),
                    outside=word.outside, notes=tuple(notes))


def _existing(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read to merge into ({error})",
                          hint="fix or move the file, then import again") from error


# The first line of every commentary file kpi writes; the one comment an import does not
# warn of losing, as it writes it again.
HEADER = "# The analyst's commentary, imported from the Word paper by kpi commentary import."


def dumps(project: Project, raw: dict) -> str:
    """A commentary file as TOML: [paper] first, then sections in plan order and KPIs in
    catalogue order; long text wrapped at spaces in triple quotes, as a person writes it."""
    lines = [HEADER, ""]
    paper = raw.get("paper", {})
    if paper:
        lines.append("[paper]")
        for key in PAPER_KEYS:
            if key in paper:
                lines.append(f"{key} = {_toml_string(paper[key])}")
        lines.append("")
    orders = {"sections": [p.id for p in project.priorities],
              "kpis": [k.id for k in project.kpis]}
    for table in ("sections", "kpis"):
        entries = raw.get(table, {})
        for name in sorted(entries, key=lambda n: (orders[table].index(n)
                                                   if n in orders[table] else len(orders[table]),
                                                   n)):
            lines += [f"[{table}.{name}]", f"text = {_toml_string(entries[name]['text'])}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _toml_string(text: str) -> str:
    import textwrap

    def escape(part: str) -> str:
        out = []
        for char in part:
            if char in '"\\':
                out.append("\\" + char)
            elif (ord(char) < 32 and char != "\t") or ord(char) == 127:
                out.append(f"\\u{ord(char):04x}")
            else:
                out.append(char)
        return "".join(out)

    parts = [escape(p) for p in paragraphs(text)] if "\n" in text or len(text) > 70 else []
    if not parts:
        return f'"{escape(text)}"'
    wrapped = ["\n".join(textwrap.wrap(p, 96, break_long_words=False, break_on_hyphens=False))
               for p in parts]
    return '"""\n' + "\n\n".join(wrapped) + '"""'
