"""Where the paper's pages break, estimated, so a figure that would leave the foot of a page
blank is set after the paragraphs that fill it (the Word and HTML papers).

A paragraph that introduces a figure is kept on the figure's page, so a figure too tall for
what is left of a page took its paragraph with it to the next page and left the foot of the
page blank: a quarter to 40% of a page, four times in the sample's Word paper and seven in
its HTML. Neither a word processor nor a browser floats a figure past the text that follows
it, so the writers do: the paper's blocks are set in the page as LibreOffice lays out the
Word file and as Chromium prints the HTML (`WORD`, `HTML`: Arial's widths,
`text_width`; the styles' sizes and spacing; each figure's height from its
image), and where a paragraph and its figure do not fit what is left of the page, the
paragraphs that follow the figure in its section and fit there are set before it. The
paragraph still cites its figure ("See Figure 5."), which then heads the next page.

The estimate is within a point or two of where LibreOffice and Chromium put a body paragraph
of the sample's paper (the front page within three or four lines; a figure that starts a page
puts the estimate right again), so a figure stays where it is only where it fits the page
with a line to spare (`MARGIN`), and only paragraphs that fit with that margin are set before
it.
"""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpi.document import (
    BulletList,
    Document,
    Emph,
    Figure,
    Name,
    Paragraph,
    Section,
    Slot,
    Strong,
    Table,
    plain_text,
)
from kpi.writers import KEEP_WHOLE_ROWS

# A4 less its top and bottom margins (2 cm in Word, 20 mm in the HTML's @page), in points.
PAGE = 728.5
ARIAL_LINE = 1.149  # Arial's line, ascent and descent, in em, as LibreOffice sets it


# Advance widths of Arial (and Helvetica, Liberation Sans) in thousandths of an em, for the
# printable ASCII characters from space; others are taken as wide as "M" is not, 0.6 em.
_ARIAL = (
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,  # space-/
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,  # 0-?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,  # @-O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,  # P-_
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,  # `-o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584)  # p-~
# Bold is wider; and a renderer's font may differ a little from Arial's widths.
BOLD = 1.1
SLACK = 1.08
CELL_PADDING = 216  # twips: Word's default cell margins, 0.19 cm each side
SMALLEST = 7.0
_TOKEN = re.compile(r"[^\s\u200b]+")


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width of `text` in Arial at `size` points, in twips."""
    total = 0
    for char in text:
        code = ord(char)
        if char in "\u200b\u2060":
            continue
        total += _ARIAL[code - 32] if 32 <= code < 127 else 600
    return total / 1000 * size * 20 * SLACK * (BOLD if bold else 1)


# Fonts set with Arial's widths (metric-compatible with it): measured as Arial.
ARIAL_WIDTHS = frozenset({"arial", "helvetica", "liberation sans", "arimo"})
# What LibreOffice sets a font it does not have in, and as wide as Verdana, the widest of the
# common fonts of a house style; shipped with matplotlib, so it is always here to measure.
STAND_IN = "DejaVu Sans"


def measure(font: str | None) -> Callable[[str, float, bool], float]:
    """How wide text set in `font` is (as `text_width`, in twips): Arial's widths for Arial
    and the fonts that share them (and where no font is named); the font's own widths where
    it is installed here; else, at each character, the wider of Arial and DejaVu Sans, as
    wide as Verdana. A template's table text in Verdana measured in Arial broke words
    mid-word in print ("Chang/e", "Significa/nt")."""
    if font is None or font.strip().lower() in ARIAL_WIDTHS:
        return text_width
    own = _font_widths(font.strip())
    stand_in = (_font_widths(STAND_IN) or {}) if own is None else {}

    def em(code: int) -> float:
        arial = (_ARIAL[code - 32] if 32 <= code < 127 else 600) / 1000
        if own is not None:
            return own.get(code, arial)
        return max(arial, stand_in.get(code, 0.0))

    def width(text: str, size: float, bold: bool = False) -> float:
        total = sum(em(ord(char)) for char in text if char not in "\u200b\u2060")
        return total * size * 20 * SLACK * (BOLD if bold else 1)

    return width


@functools.cache
def _font_widths(family: str) -> dict[int, float] | None:
    """Each character's advance width, in em, of the font `family` where it is installed here
    (the file matplotlib's list of fonts finds for it, read with fontTools); None where it is
    not, or its file cannot be read."""
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    try:
        path = font_manager.findfont(font_manager.FontProperties(family=family),
                                     fallback_to_default=False)
        with TTFont(path, fontNumber=0, lazy=True) as file:
            head: Any = file["head"]
            advances: Any = file["hmtx"]
            return {code: advances.metrics[glyph][0] / head.unitsPerEm
                    for code, glyph in (file.getBestCmap() or {}).items()}
    except Exception:  # not installed, or a file fontTools cannot read: measured as absent
        return None


def column_widths(block: Table, usable: int, size: float,
                  typeset: Callable[[str | Name, bool], str] = (
                      lambda text, in_table: plain_text((text,))),
                  width: Callable[[str, float, bool], float] = text_width
                  ) -> tuple[float, list[int]]:
    """The font size and column widths (twips) a table is set in. Every column is at least
    as wide as its longest word, so no word is broken (at a smaller size, down to 7 pt, if
    the longest words do not fit the page at the first); the rest of the width goes, a
    fortieth at a time, to the column where it saves the most lines, so the table is as short
    as it can be: short figures stay on one line and the KPI titles get the room. Words are
    measured by `width` (the table's font, `measure`)."""
    texts = [[(typeset(c.title, True), True)] for c in block.columns]
    for row in block.rows:
        for number, content in enumerate(row):
            texts[number].append((typeset(plain_text(content), True), _is_bold(content)))
    while True:
        cells = [[[width(w, size, bold) for w in _TOKEN.findall(text)] or [0.0]
                  for text, bold in column] for column in texts]
        least = [max(max(words) for words in column) + CELL_PADDING for column in cells]
        if sum(least) <= usable or size <= SMALLEST:
            break
        size -= 0.5
    if sum(least) > usable:  # words longer than the page is wide even at 7 pt
        return size, [int(low * usable / sum(least)) for low in least]
    space = width(" ", size, False)
    widths = list(least)
    lines = [[_fitted(words, w - CELL_PADDING, space) for words in column]
             for column, w in zip(cells, widths, strict=True)]
    step = (usable - sum(least)) / 40
    for _ in range(40):
        rows = [max(column[r] for column in lines) for r in range(len(texts[0]))]
        if max(rows) == 1:
            break
        gains = []
        for n, column in enumerate(cells):
            wider = [_fitted(words, widths[n] + step - CELL_PADDING, space) for words in column]
            gains.append(sum(rows[r] - max([wider[r]] + [lines[m][r] for m in range(len(cells))
                                                         if m != n]) for r in range(len(rows))))
        # Where a step saves no line anywhere yet, it goes to the column that wraps most.
        best = max(range(len(cells)), key=lambda n: (gains[n], sum(lines[n])))
        widths[best] += step
        lines[best] = [_fitted(words, widths[best] - CELL_PADDING, space)
                       for words in cells[best]]
    # Width no line needs is shared in proportion, so the table spans the page.
    spare = usable - sum(widths)
    widths = [w + spare * w / sum(widths) for w in widths]
    return size, [int(w) for w in widths]


def _fitted(words: list[float], width: float, space: float) -> int:
    """How many lines words of these widths take, set one after another in `width`."""
    count, used = 1, 0.0
    for word in words:
        if used and used + space + word > width:
            count, used = count + 1, word
        else:
            used += (space if used else 0.0) + word
    return count


def _is_bold(content) -> bool:
    return bool(content) and all(isinstance(item, Strong) for item in content)


@dataclass(frozen=True)
class Metrics:
    """How a format sets the paper, in points (widths in twips): the column and a numbered
    paragraph's indent, a line of body text and the space after a paragraph, a heading's
    space before, line and space after, a figure's width and margins, a caption's line, a
    small list's and a table cell's line (per point of its size), an empty commentary box."""

    column: int
    hanging: int
    item: int
    body_line: float
    after: float
    heading: tuple[float, float, float]
    figure_width: float
    figure_margin: float
    figure_extra: float
    caption_size: float
    caption_line: float
    caption_gap: float
    small_line: float
    cell_line: float
    cell_padding: float
    place: tuple[float, float, float]
    # The title block: the title's size and line, the space after it; the subtitle's.
    title: tuple[float, float, float]
    subtitle: tuple[float, float, float]
    facts_after: float
    top: float  # space above the title block (the HTML body's padding)
    bold_width: float  # a bold word's width in the regular face's, as the renderer sets it


# Word (LibreOffice's layout of it): 11 pt Arial, lines 1.15 apart and 10 pt after a
# paragraph; Heading 1 14 pt with 24 pt before; figures 15 cm wide with 10 pt after, their
# captions 9 pt; the space between two paragraphs is the larger of the first's after and the
# second's before.
WORD = Metrics(
    column=9411, hanging=709, item=357, body_line=11 * ARIAL_LINE * 1.15, after=10.0,
    heading=(24.0, 14 * ARIAL_LINE * 1.15, 0.0), figure_width=425.2, figure_margin=0.0,
    figure_extra=2.0, caption_size=9, caption_line=9 * ARIAL_LINE, caption_gap=10.0,
    small_line=9 * ARIAL_LINE, cell_line=1.205, cell_padding=1.0,
    place=(0.0, 7 * ARIAL_LINE, 2.0), title=(26, 26 * ARIAL_LINE, 15.0),
    subtitle=(12, 12 * ARIAL_LINE * 1.15, 10.0), facts_after=10.0, top=0.0, bold_width=1.0)
# HTML as Chromium prints it (kpi.writers.html.STYLE): lines 1.3 apart, 0.6 em between
# paragraphs (margins collapse to the larger), h2 14 pt with 1.2 em before and 0.5 em after,
# figures 15 cm wide with 1 em margins and 9.5 pt captions, a 174 mm column.
HTML = Metrics(
    column=9865, hanging=704, item=475, body_line=11 * 1.3, after=6.6,
    heading=(16.8, 14 * 1.3, 7.0), figure_width=425.2, figure_margin=11.0, figure_extra=0.0,
    caption_size=9.5, caption_line=9.5 * 1.3, caption_gap=2.85, small_line=9 * 1.3,
    cell_line=1.3, cell_padding=5.3, place=(0.0, 0.0, 0.0), title=(20, 20 * 1.3, 6.0),
    subtitle=(13, 13 * 1.3, 10.4), facts_after=13.2, top=11.0, bold_width=1.1)
# How far the estimate may be out where it decides a figure's place, in points (a line).
MARGIN = WORD.body_line


@dataclass(frozen=True)
class Box:
    """A block as laid out: the space before it, its height, the space after it, and whether
    it may break across pages (a paragraph of text may; a figure, a caption or a table row
    kept whole may not)."""

    before: float
    height: float
    after: float
    splits: bool = False
    line: float = 0.0  # the height of one line, for a box that splits


def _words(content, bold: bool = False) -> list[tuple[str, bool]]:
    """The words of inline content, each with whether it is set in bold."""
    out: list[tuple[str, bool]] = []
    for item in content:
        if isinstance(item, str | Name):
            text = item if isinstance(item, str) else item.text
            out += [(word, bold) for word in text.split()]
        elif isinstance(item, Strong):
            out += _words(item.content, True)
        elif isinstance(item, Emph):
            out += _words(item.content, bold)
    return out


def wrapped_lines(text, width: float, size: float, bold_width: float = 1.0) -> int:
    """How many lines `text` (a string, or inline content with its bold words, each
    `bold_width` times as wide as in the regular face) takes set in Arial at `size` points in
    `width` twips, broken at spaces."""
    words = [(w, False) for w in text.split()] if isinstance(text, str) else _words(text)
    space = text_width(" ", size) / SLACK
    lines, used = 1, 0.0
    for word, bold in words:
        wide = text_width(word, size) / SLACK * (bold_width if bold else 1.0)
        if used and used + space + wide > width:
            lines, used = lines + 1, wide
        else:
            used += (space if used else 0.0) + wide
    return lines


def _paragraph(block: Paragraph, m: Metrics) -> Box:
    width = m.column - m.hanging if block.number else m.column
    return Box(m.after if m is HTML else 0.0,
               wrapped_lines(block.content, width, 11, m.bold_width) * m.body_line, m.after, True,
               m.body_line)


def image_size(path: Path) -> tuple[int, int] | None:
    """A PNG's width and height in pixels, from its header; None for anything else."""
    try:
        with path.open("rb") as handle:
            head = handle.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return (width, height) if width and height else None


def _figure(block: Figure, base: Path, m: Metrics) -> list[Box]:
    size = image_size(base / block.link)
    height = m.figure_width * size[1] / size[0] if size else m.figure_width / 2
    caption = wrapped_lines(plain_text(block.caption), m.column, m.caption_size) * m.caption_line
    if m is HTML:  # one box: the figure element, its caption inside it
        return [Box(m.figure_margin, height + m.caption_gap + caption, m.figure_margin)]
    return [Box(0.0, height + m.figure_extra, m.after), Box(0.0, caption, m.caption_gap)]


def _table(block: Table, m: Metrics) -> list[Box]:
    size, widths = column_widths(block, m.column, 8.5 if len(block.columns) > 6 else 9)
    if m is HTML:
        size = 7.5 if len(block.columns) > 6 else 9
    rows = [tuple(plain_text((c.title,)) for c in block.columns),
            *(tuple(plain_text(cell) for cell in row) for row in block.rows)]
    laid = [Box(0.0, max(wrapped_lines(text, width - CELL_PADDING, size)
                         for text, width in zip(row, widths, strict=True))
                * m.cell_line * size + m.cell_padding, 0.0) for row in rows]
    laid[0] = Box(0.6 * size if m is HTML else 0.0, laid[0].height, 0.0)
    laid[-1] = Box(0.0, laid[-1].height, m.after)
    if block.caption:
        laid.append(Box(0.0, wrapped_lines(plain_text(block.caption), m.column, m.caption_size)
                        * m.caption_line, m.after))
    return laid


def _list(block: BulletList, m: Metrics) -> list[Box]:
    if not block.items:
        return []  # a list of no lines takes no room
    size, line = (9, m.small_line) if block.small else (11, m.body_line)
    laid = [Box(0.0, wrapped_lines(item, m.column - m.item, size, m.bold_width) * line, 0.0, True,
                line)
            for item in block.items]
    laid[0] = Box(m.after if m is HTML else 0.0, laid[0].height, 0.0, True, line)
    laid[-1] = Box(laid[-1].before, laid[-1].height, m.after, True, line)
    return laid


def laid_out(block, base: Path, m: Metrics = WORD, places: bool = True) -> list[Box]:
    """The boxes a block is laid out in, in the format `m` sets it."""
    if isinstance(block, Paragraph):
        return [_paragraph(block, m)]
    if isinstance(block, Figure):
        return _figure(block, base, m)
    if isinstance(block, Table):
        return _table(block, m)
    if isinstance(block, BulletList):
        return _list(block, m)
    if isinstance(block, Slot):
        if block.paragraphs:
            return [_paragraph(p, m) for p in block.paragraphs]
        return [Box(*m.place)] if places and m is WORD else []
    raise TypeError(f"not a block: {block!r}")


class Pages:
    """The position on the page as boxes are laid out one after another: the space between
    two boxes is the larger of the first's space after and the second's before, as
    LibreOffice sets a Word file; a box that may split fills the page and runs on, one that
    may not starts the next page. `metrics`: how the format sets the paper."""

    def __init__(self, metrics: Metrics = WORD) -> None:
        self.metrics = metrics
        self.page = 1
        self.used = 0.0
        self.after = 0.0
        # (page, points used, block) after each block is laid out, oldest first.
        self.trace: list[tuple[int, float, object]] = []

    def new_page(self) -> None:
        self.page += 1
        self.used = 0.0

    def left(self) -> float:
        """The room left on the page for a box with no space before it."""
        return PAGE - self.used - (self.after if self.used else 0.0)

    def fits(self, group: list[Box]) -> bool:
        return self.height(group) <= self.left()

    def height(self, group: list[Box]) -> float:
        total, after = 0.0, None
        for box in group:
            total += (max(after, box.before) if after is not None else 0.0) + box.height
            after = box.after
        return total

    def place(self, box: Box) -> None:
        gap = max(self.after, box.before) if self.used else 0.0
        if self.used + gap + box.height <= PAGE:
            self.used += gap + box.height
        elif box.splits:
            # Whole lines fill the page, at least two of them on each side of the break
            # (widow and orphan control); with fewer, the paragraph starts the next page.
            line = box.line or box.height
            lines = int(box.height / line + 0.5)  # whole lines: the height is a multiple
            room = int((PAGE - self.used - gap) // line)
            first = min(room, lines - 2) if lines >= 4 else 0
            first = first if first >= 2 else 0
            rest = (lines - first) * line
            self.page += 1 + int(rest // PAGE)
            self.used = rest % PAGE
        else:
            self.page += 1
            self.used = box.height
        self.after = box.after

    def title(self, document: Document) -> None:
        """The title block: the title (ruled below in Word), the subtitle and the facts run
        on in one paragraph (kpi.writers.run_on)."""
        from kpi.writers import run_on

        m = self.metrics
        size, line, after = m.title
        self.used = m.top
        self.place(Box(0.0, wrapped_lines(plain_text(document.title), m.column, size) * line
                       + (4.0 if m is WORD else 0.0), after))
        if document.subtitle:
            size, line, after = m.subtitle
            self.place(Box(0.0, wrapped_lines(plain_text(document.subtitle), m.column, size) * line,
                           after))
        if document.facts:
            self.place(Box(0.0, wrapped_lines(plain_text(run_on(document.facts)), m.column, 11)
                           * m.body_line, m.facts_after, True, m.body_line))

    def heading(self, keep: list[Box]) -> None:
        """A heading, kept with the first box after it."""
        box = Box(*self.metrics.heading)
        if not self.fits([box, *keep[:1]]):
            self.new_page()
        self.place(box)


def ordered(section: Section, pages: Pages, base: Path, places: bool = True
            ) -> list[tuple[object, bool]]:
    """The section's blocks in the order the paper is set in (Word or HTML, `pages.metrics`),
    each with whether it is a paragraph not to be kept with the block after it: one whose
    figure was set after the paragraphs that follow it, and those. `pages` is where the
    section starts, and is left where it ends."""
    m = pages.metrics

    def boxes(block, base: Path, places: bool) -> list[Box]:
        return laid_out(block, base, m, places)

    blocks = list(section.blocks)
    first = boxes(blocks[0], base, places) if blocks else []
    pages.heading(first)
    out: list[tuple[object, bool]] = []
    done: set[int] = set()
    for at, block in enumerate(blocks):
        if at in done:
            continue
        laid = boxes(block, base, places)
        following = blocks[at + 1] if at + 1 < len(blocks) else None
        if isinstance(block, Paragraph) and isinstance(following, Figure) \
                and at + 1 not in done:
            figure = boxes(following, base, places)
            if pages.height([*laid, *figure]) + MARGIN > pages.left() \
                    and pages.height(laid) + MARGIN <= pages.left():
                # The paragraph stays on this page, the paragraphs after the figure that fit
                # what is left follow it, and the figure heads the next page. A figure that
                # fits by less than the estimate's margin is moved too: the estimate put the
                # sample's Figure 12 on its page with a point to spare, Chromium set it and
                # its paragraph on the next, and the page was left 62% full; moved, the
                # paragraphs after it fill the page whichever way the renderer rounds.
                for box in laid:
                    pages.place(box)
                pages.trace.append((pages.page, pages.used, block))
                out.append((block, True))
                # Past every figure the paragraph introduces: with two ("See Figures 1 and
                # 2."), the paragraphs after them stayed behind and the page was left half
                # blank.
                after = at + 2
                while after < len(blocks) and isinstance(blocks[after], Figure):
                    after += 1
                while after < len(blocks) and isinstance(blocks[after], Paragraph) \
                        and not (after + 1 < len(blocks)
                                 and isinstance(blocks[after + 1],
                                                Figure | Table | BulletList)):
                    more = boxes(blocks[after], base, places)
                    whole = pages.height(more) + MARGIN <= pages.left()
                    # One that does not fit whole fills the page and runs on, where four lines
                    # or more let two stay on each page; the figure then follows it.
                    if not whole and not (len(more) == 1 and more[0].height
                                          >= 4 * m.body_line - 0.1
                                          and 2 * m.body_line + MARGIN <= pages.left()):
                        break
                    for box in more:
                        pages.place(box)
                    pages.trace.append((pages.page, pages.used, blocks[after]))
                    # Not kept with the figure it now precedes: it does not introduce it.
                    out.append((blocks[after], True))
                    done.add(after)
                    after += 1
                    if not whole:
                        break
                continue
        if isinstance(block, Paragraph | Slot) and isinstance(following, Figure | Table):
            # Kept with the figure or the short table it introduces (kpi.writers.docx).
            group = [*laid, *_kept(following, base, m, places)]
            if not pages.fits(group) and pages.used:
                pages.new_page()
        elif isinstance(block, Table | Figure):
            group = _kept(block, base, m, places)
            if not pages.fits(group) and pages.used:
                pages.new_page()
        for box in laid:
            pages.place(box)
        pages.trace.append((pages.page, pages.used, block))
        out.append((block, False))
    return out


def _kept(block, base: Path, m: Metrics, places: bool) -> list[Box]:
    """The boxes of a block kept on one page: a figure and its caption, a table short enough
    to be kept whole, a longer table's first row."""
    laid = laid_out(block, base, m, places)
    if isinstance(block, Table) and len(block.rows) > KEEP_WHOLE_ROWS:
        return laid[:2]
    return laid
