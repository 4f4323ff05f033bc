"""A format-neutral document: what the board paper says, not how it looks.

The design follows pandoc's (`Text.Pandoc.Definition`) and docutils': the paper module builds
one tree of plain frozen data (a title block, numbered sections of blocks, appendices), and
each writer in `kpi.writers` renders it to one format and knows nothing of policing or KPIs.

Inline text comes in two kinds, because a writer escapes them differently:

- a plain `str` is the paper's own words and numbers ("an increase of 0.8%"), which never
  contain markup characters;
- `Name` wraps text that came from outside the code (a KPI title from the catalogue, a part
  name from the data, an analyst's commentary), which may contain anything and is escaped in
  full wherever the format gives characters a meaning.

`Strong` and `Emph` wrap runs of either kind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Union


@dataclass(frozen=True)
class Name:
    """Text from the project or the data, shown verbatim."""

    text: str


@dataclass(frozen=True)
class Strong:
    content: tuple[Inline, ...]


@dataclass(frozen=True)
class Emph:
    content: tuple[Inline, ...]


Inline = Union[str, Name, Strong, Emph]  # noqa: UP007 - a runtime alias for a recursive union
Inlines = tuple[Inline, ...]


def inlines(*parts: Inline | Iterable[Inline | Inlines] | None) -> Inlines:
    """Flatten parts (single inlines, sequences of them, or None) into one run, merging
    neighbouring plain strings."""
    out: list[Inline] = []

    def add(part) -> None:
        if part is None or part == "":
            return
        if isinstance(part, str):
            if out and isinstance(out[-1], str):
                out[-1] = out[-1] + part
            else:
                out.append(part)
        elif isinstance(part, Name | Strong | Emph):
            out.append(part)
        else:
            for item in part:
                add(item)

    for part in parts:
        add(part)
    return tuple(out)


def plain_text(content: Iterable[Inline]) -> str:
    """The characters a reader sees, without emphasis."""
    out = []
    for item in content:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, Name):
            out.append(item.text)
        else:
            out.append(plain_text(item.content))
    return "".join(out)


class Align(StrEnum):
    LEFT = "left"
    RIGHT = "right"


@dataclass(frozen=True)
class Column:
    # A name from the project's data (a glossary's column) is a `Name`, printed as it is.
    title: str | Name
    align: Align = Align.LEFT


@dataclass(frozen=True)
class Paragraph:
    """A paragraph; `number` ("2.4") when the paper numbers it."""

    content: Inlines
    number: str = ""


@dataclass(frozen=True)
class Table:
    """A table with one header row. `number` and `caption` when the paper numbers it.
    `role` names what the table is for a writer that styles it apart ("matrix": the board's
    summary matrix, whose first column heads each row); a writer may ignore it."""

    columns: tuple[Column, ...]
    rows: tuple[tuple[Inlines, ...], ...]
    number: int | None = None
    caption: Inlines = ()
    role: str = ""


@dataclass(frozen=True)
class Figure:
    """An image with its caption. `link` is the image file relative to the document;
    `alt` describes what it shows for a reader who cannot see it."""

    number: int
    link: str
    caption: Inlines
    alt: str


@dataclass(frozen=True)
class BulletList:
    """A list. `marked`: each item starts with its own mark, a greyscale-safe symbol beside
    words ('\u25b2 **Shoplifting**: ... a special cause of concern'), so Word and HTML print
    no bullet before it: one marker to an item, never a bullet and a mark together.
    `small`: a list to look a name up in, set at a table's size (9 pt) in Word and HTML."""

    items: tuple[Inlines, ...]
    marked: bool = False
    small: bool = False


@dataclass(frozen=True)
class Slot:
    """A place for the analyst's commentary, and what they wrote there (numbered paragraphs,
    none yet when empty). `key` names the place as the commentary file does: "kpis.<id>",
    "sections.<priority id>" or "paper.<key>"; `label` says what it is about. The Word
    writer makes it a content control the analyst can type into (`kpi commentary import`
    reads it back); the other formats print its paragraphs and nothing for an empty one."""

    key: str
    label: str
    paragraphs: tuple[Paragraph, ...] = ()


Block = Union[Paragraph, Table, Figure, BulletList, Slot]  # noqa: UP007


@dataclass(frozen=True)
class Section:
    """A heading and its blocks. `label` is "1." for a numbered section, "Appendix 1:" for an
    appendix, or "" for an unnumbered one."""

    label: str
    title: Inlines
    blocks: tuple[Block, ...] = ()
    appendix: bool = False

    @property
    def heading(self) -> Inlines:
        return inlines(f"{self.label} " if self.label else "", self.title)

    @property
    def placeholder(self) -> bool:
        """Nothing but empty places for commentary: printed only in the Word draft, where
        the analyst types into them (`Document.printed`)."""
        return bool(self.blocks) and all(isinstance(b, Slot) and not b.paragraphs
                                         for b in self.blocks)


@dataclass(frozen=True)
class Document:
    """A whole paper: its title block, then sections in order (appendices last)."""

    title: Inlines
    subtitle: Inlines = ()
    facts: tuple[Inlines, ...] = ()  # the title block's list (period, comparison, scope)
    sections: tuple[Section, ...] = field(default_factory=tuple)
    # Document properties for formats that carry them (Word's core properties, HTML <meta>).
    author: str = ""
    issued: dt.date | None = None
    # The protective marking ("OFFICIAL") printed at the top and bottom of every page.
    marking: str = ""
    # The reporting month ("2025-09"): the Word paper's commentary places carry it.
    period: str = ""
    # The project's name: the Word paper's record carries it, so its commentary is imported
    # into no other project.
    project: str = ""

    def printed(self, places: bool = False) -> tuple[Section, ...]:
        """The sections a format prints: without `places` (every format but the Word draft)
        a section of empty places only is left out."""
        return tuple(s for s in self.sections if places or not s.placeholder)

    @property
    def figures(self) -> tuple[Figure, ...]:
        return tuple(b for s in self.sections for b in s.blocks if isinstance(b, Figure))
