"""The Word writer: a .docx a board secretary can open, restyle and circulate.

Built with python-docx on its default template, or on an organisation's own template
(`--template house.docx`): the template's styles, page set-up, headers and footers are kept
and its body text is dropped. The paper uses Word's built-in styles (Title, Subtitle,
Heading 2, List Bullet, Caption, Table Grid), so a house template restyles it; a template
that has never used one of them gets python-docx's definition of it. A style the paper
sets its paragraphs in has the template's list numbering switched off, but the bulleted
list's (`_unnumbered`): the only numbers printed are the paper's own.

Numbered paragraphs keep their number as text ("2.4.") with a hanging indent, so the numbers
a board member quotes are the numbers in the Markdown and HTML papers. Figures are embedded
with their alt text and a caption.

Set to be sent as it is: each table's columns are as wide as their content needs (measured
in the table's font, Arial or a template's, `pages.measure`; no column narrower than its
longest word, so no word or id is broken mid-word), header rows repeat on each page and no
row splits across pages; a negative number has a true minus sign joined to it; every page
has a header (the paper's title and protective marking) and a footer (the marking and "Page
N of M"). A template with a header or footer of its own keeps them.

Each place for the analyst's commentary is a Word content control (a rich-text `w:sdt`
tagged `kpi-commentary:<key>`, an empty one saying in plain words that no commentary was given,
so a printed draft shows no placeholder), and a custom XML part
records the paper's month, its places and a hash of each paragraph outside them (hashes, so
a sentence deleted before sending does not travel on in the file). `read_commentary` reads
back what was typed in the places and finds text typed anywhere else (`kpi commentary
import`).

The same document gives the same bytes: fixed core properties (no clock), and the zip
entries written with a fixed timestamp.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kpi.document import (
    Align,
    BulletList,
    Document,
    Emph,
    Figure,
    Inline,
    Name,
    Paragraph,
    Slot,
    Strong,
    Table,
    plain_text,
)
from kpi.errors import ConfigError
from kpi.progress import Progress, each
from kpi.writers import (
    KEEP_WHOLE_ROWS,
    MINUS,
    pages,
    printed,
    run_on,
    running_title,
)
from kpi.writers.pages import BOLD, CELL_PADDING, SLACK, SMALLEST, text_width

__all__ = ["BOLD", "CELL_PADDING", "SLACK", "SMALLEST", "column_widths", "text_width"]

STYLES = ("Title", "Subtitle", "Heading 1", "Heading 2", "List Bullet", "Caption", "Table Grid",
          "Normal")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# Characters XML 1.0 cannot hold (control characters from a stray extract).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
HANGING_CM = 1.25
# A list to look a name up in is set at a table's size.
SMALL_PT = 9
FONT = "Arial"
# Word joins a character to the next with WORD JOINER; after a minus sign it keeps Word from
# ever breaking the line between the sign and its number.
JOINED_MINUS = MINUS + "\u2060"
# In a table cell an id may break after "_" or "/", never inside a word (ZERO WIDTH SPACE).
_ID_BREAK = re.compile(r"(?<=[A-Za-z0-9][_/])(?=[A-Za-z0-9])")
ZWSP = "\u200b"
TAG_PREFIX = "kpi-commentary:"
# What an empty place said before its words were plain; still read back as empty.
PLACEHOLDER = "[commentary]"
PLACE_STYLE = "Commentary box"
RECORD_NS = "urn:kpi-paper:commentary:1"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W = "{" + W_NS + "}"
# The number the paper gives a paragraph ("2.4." and a tab): not part of the commentary.
_NUMBER = re.compile(r"^\d+(?:\.\d+)+\.\t")


def _text(text: str) -> str:
    return _NOT_XML.sub("", text.replace("\r", " ").replace("\n", " "))


def _typeset(text: str | Name, in_table: bool = False) -> str:
    """Text as the Word paper sets it (`writers.printed`): the paper's own words with each
    minus sign joined to its number; a name as it is."""
    text = _text(printed(text)) if isinstance(text, Name) else \
        _text(printed(text)).replace(MINUS, JOINED_MINUS)
    return _ID_BREAK.sub(ZWSP, text) if in_table else text


def _runs(paragraph, content, bold: bool = False, italic: bool = False, *,
          verbatim: bool = False, in_table: bool = False) -> None:
    for item in content:
        _run(paragraph, item, bold, italic, verbatim, in_table)


def _run(paragraph, item: Inline, bold: bool, italic: bool, verbatim: bool,
         in_table: bool) -> None:
    if isinstance(item, str | Name):
        # The analyst's commentary is kept as typed, so importing it back gives it unchanged.
        run = paragraph.add_run(_text(item if isinstance(item, str) else item.text) if verbatim
                                else _typeset(item, in_table))
        if bold:
            run.bold = True
        if italic:
            run.italic = True
    elif isinstance(item, Strong):
        _runs(paragraph, item.content, True, italic, verbatim=verbatim, in_table=in_table)
    elif isinstance(item, Emph):
        _runs(paragraph, item.content, bold, True, verbatim=verbatim, in_table=in_table)
    else:
        raise TypeError(f"not an inline: {item!r}")


def _open(template: Path | None):
    import docx
    from docx.oxml.ns import qn
    from docx.shared import Cm
    from docx.styles.style import ParagraphStyle

    if template is None:
        doc = docx.Document()
        section = doc.sections[0]
        # python-docx's default page is US Letter; a UK board paper is A4.
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        for side in ("left_margin", "right_margin"):
            setattr(section, side, Cm(2.2))
        section.top_margin = section.bottom_margin = Cm(2.0)
        # Arial (Liberation Sans where it is missing has the same widths), the font the
        # table columns are measured in and the usual one of a UK public body's papers.
        for name in ("Normal", "Title", "Subtitle", "Heading 1", "Caption"):
            style = doc.styles[name]
            assert isinstance(style, ParagraphStyle), f"Word's '{name}' is a paragraph style"
            style.font.name = FONT
            fonts = style.element.rPr.rFonts
            for attribute in ("w:eastAsia", "w:cs"):
                fonts.set(qn(attribute), FONT)
        return doc
    if _compound_file(template):
        raise ConfigError(f"{template}: {_SAVE_AS_DOCX}",
                          hint="pass a .docx file saved from Word or LibreOffice")
    try:
        doc = docx.Document(str(template))
    except Exception as error:  # python-docx raises several kinds for a file that is not .docx
        raise ConfigError(f"{template}: not a Word .docx template ({error})",
                          hint="pass a .docx file saved from Word or LibreOffice") from error
    body = doc.element.body
    # Keep the template's page set-up (the last sectPr) and drop its text.
    for child in list(body):
        if not child.tag.endswith("}sectPr"):
            body.remove(child)
    _ensure_styles(doc)
    return doc


def _ensure_styles(doc) -> None:
    """Give a template the built-in styles the paper uses that it has never defined."""
    import docx

    default = None
    names = {s.name for s in doc.styles}
    for name in STYLES:
        if name in names:
            continue
        default = default or docx.Document()
        doc.styles.element.append(copy.deepcopy(default.styles[name].element))


def _usable_width(doc):
    section = doc.sections[-1]
    return section.page_width - section.left_margin - section.right_margin


def _marked(doc):
    """A paragraph of a list whose items carry their own mark: indented as a bulleted item
    is, the mark hanging where the bullet would be, and no bullet."""
    from docx.shared import Cm

    paragraph = _add(doc, "List Bullet")
    # numId 0 switches off the style's numbering (the bullet) for this paragraph only.
    paragraph_properties = paragraph._p.get_or_add_pPr()
    numbering = paragraph_properties.get_or_add_numPr()
    numbering.get_or_add_numId().val = 0
    paragraph.paragraph_format.left_indent = Cm(0.63)
    paragraph.paragraph_format.first_line_indent = Cm(-0.63)
    return paragraph


def _add(doc, style: str):
    """`doc.add_paragraph(style=style)`, the same XML, with the style's id looked up once per
    document: python-docx searches every style for the name and for the default on each
    call, which took half the writer's time."""
    from docx.enum.style import WD_STYLE_TYPE

    ids = doc.__dict__.setdefault("_kpi_style_ids", {})
    if style not in ids:
        ids[style] = doc.part.get_style_id(style, WD_STYLE_TYPE.PARAGRAPH)
    paragraph = doc.add_paragraph()
    paragraph._p.style = ids[style]
    return paragraph


def _paragraph(doc, block: Paragraph, verbatim: bool = False):
    from docx.shared import Cm

    paragraph = _add(doc, "Normal")
    if block.number:
        paragraph.paragraph_format.left_indent = Cm(HANGING_CM)
        paragraph.paragraph_format.first_line_indent = Cm(-HANGING_CM)
        paragraph.paragraph_format.tab_stops.add_tab_stop(Cm(HANGING_CM))
        paragraph.add_run(f"{block.number}.\t")
    _runs(paragraph, block.content, verbatim=verbatim)
    return paragraph


def placeholder(key: str) -> str:
    """What an empty place for commentary reads, on screen and printed: plain words a board
    member can read ('No analyst commentary was given for this section.'), never a bracketed
    marker; the analyst clicks it and types over it."""
    if key == "paper.introduction":
        return "No introduction was given by the analyst."
    return ("No analyst commentary was given for this KPI." if key.startswith("kpis.")
            else "No analyst commentary was given for this section.")


def _empty_place(key: str, text: str) -> bool:
    """Whether a place's text is what an empty place reads (now, or before: '[commentary]')."""
    return text in (PLACEHOLDER, placeholder(key))


def _slot(doc, block: Slot, number: int):
    """A rich-text content control around the commentary's paragraphs, or around one
    placeholder paragraph when there is none yet."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    sdt = OxmlElement("w:sdt")
    props = OxmlElement("w:sdtPr")
    for name, value in (("w:alias", _text(f"Commentary: {block.label}")),
                        ("w:tag", TAG_PREFIX + block.key), ("w:id", str(number))):
        element = OxmlElement(name)
        element.set(qn("w:val"), value)
        props.append(element)
    if not block.paragraphs:
        props.append(OxmlElement("w:showingPlcHdr"))
    sdt.append(props)
    content = OxmlElement("w:sdtContent")
    sdt.append(content)
    if block.paragraphs:
        paragraphs = [_paragraph(doc, p, verbatim=True) for p in block.paragraphs]
    else:
        paragraph = _add(doc, _place_style(doc))
        # An empty place takes as little of the page as a line can: a draft with a place
        # after every KPI should not run pages longer than the paper it becomes.
        paragraph.paragraph_format.space_before = Pt(0)
        paragraph.paragraph_format.space_after = Pt(2)
        paragraph.paragraph_format.line_spacing = 1.0
        run = paragraph.add_run(placeholder(block.key))
        run.font.size = Pt(7)
        run.font.color.rgb = RGBColor(0x59, 0x59, 0x59)
        paragraphs = [paragraph]
    paragraphs[0]._p.addprevious(sdt)
    for paragraph in paragraphs:
        content.append(paragraph._p)
    return paragraphs[-1]


def _place_style(doc) -> str:
    """The paragraph style of an empty commentary place, small and grey, added on first use.
    The run says so too, for Word, but LibreOffice draws a run inside a content control in
    the paragraph's style alone (the places then took two pages of the sample's paper)."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Pt, RGBColor

    # Looked for once per document, as _add looks up style ids.
    if not doc.__dict__.get("_kpi_place_style"):
        if PLACE_STYLE not in {s.name for s in doc.styles}:
            style = doc.styles.add_style(PLACE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
            style.base_style = doc.styles["Normal"]
            style.font.size = Pt(7)
            style.font.color.rgb = RGBColor(0x59, 0x59, 0x59)
        doc.__dict__["_kpi_place_style"] = True
    return PLACE_STYLE


def _table(doc, block: Table) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt, Twips

    table = doc.add_table(rows=1 + len(block.rows), cols=len(block.columns))
    table.style = doc.styles["Table Grid"]
    usable = int(_usable_width(doc) / 635)  # EMU to twips
    size, widths = column_widths(block, usable, 8.5 if len(block.columns) > 6 else 9,
                                 _table_font(doc))
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Twips(width)
    for number, row in enumerate(table.rows):
        properties = row._tr.get_or_add_trPr()
        # A row is never split across pages; the header row repeats on each page the table
        # runs onto (cantSplit before tblHeader, as the schema orders them).
        properties.append(OxmlElement("w:cantSplit"))
        if number == 0:
            flag = OxmlElement("w:tblHeader")
            flag.set(qn("w:val"), "true")
            properties.append(flag)
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = Twips(width)
    for cell, column in zip(table.rows[0].cells, block.columns, strict=True):
        run = cell.paragraphs[0].add_run(_typeset(column.title, in_table=True))
        run.bold = True
        run.font.size = Pt(size)
    for row, values in zip(table.rows[1:], block.rows, strict=True):
        for cell, content in zip(row.cells, values, strict=True):
            paragraph = cell.paragraphs[0]
            _runs(paragraph, content, in_table=True)
            for run in paragraph.runs:
                run.font.size = Pt(size)
    for number, column in enumerate(block.columns):
        if column.align == Align.RIGHT:
            for row in table.rows:
                row.cells[number].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if len(block.rows) <= KEEP_WHOLE_ROWS:
        # A table short enough for one page is printed on one, with its caption: each row
        # is kept with the next, the last with the caption (Table 1 of the sample's paper
        # printed five rows on one page and two on the next).
        for row in table.rows if block.caption else table.rows[:-1]:
            for cell in row.cells:
                cell.paragraphs[0].paragraph_format.keep_with_next = True
    if block.caption:
        _runs(_add(doc, "Caption"), block.caption)


def column_widths(block: Table, usable: int, size: float,
                  font: str | None = FONT) -> tuple[float, list[int]]:
    """The font size and column widths (twips) a table is set in (`pages.column_widths`,
    its cells' text as Word sets it, measured in `font`: `pages.measure`)."""
    return pages.column_widths(block, usable, size, _typeset, pages.measure(font))


def _table_font(doc) -> str | None:
    """The font a table's text is set in: the paper's own (Arial), or a template's, which its
    Normal style gives (the cells' paragraphs' style), else its Table Grid style, else its
    default for the document; a theme's font ("minorHAnsi") looked up in its theme. None
    where none is named. Looked up once per document."""
    from docx.enum.style import WD_STYLE_TYPE

    found = doc.__dict__.get("_kpi_table_font", "")
    if found != "":
        return found
    styles = {s.get(f"{_W}styleId"): s for s in doc.styles.element.iter(f"{_W}style")}
    default = next((key for key, s in styles.items() if s.get(f"{_W}type") == "paragraph"
                    and s.get(f"{_W}default") in ("1", "true", "on")), None)
    found = None
    for key in (default, doc.part.get_style_id("Table Grid", WD_STYLE_TYPE.TABLE)):
        seen = set()
        while found is None and key in styles and key not in seen:
            seen.add(key)
            fonts = styles[key].find(f"{_W}rPr/{_W}rFonts")
            found = _font_named(doc, fonts) if fonts is not None else None
            based = styles[key].find(f"{_W}basedOn")
            key = based.get(f"{_W}val") if based is not None else None
    if found is None:
        fonts = doc.styles.element.find(f"{_W}docDefaults/{_W}rPrDefault/{_W}rPr/{_W}rFonts")
        found = _font_named(doc, fonts) if fonts is not None else None
    doc.__dict__["_kpi_table_font"] = found
    return found


def _font_named(doc, fonts) -> str | None:
    """The font a w:rFonts sets Latin text in: its theme font where it names one (which
    Word takes first), else its own."""
    import lxml.etree as etree
    from docx.opc.constants import RELATIONSHIP_TYPE

    theme = fonts.get(f"{_W}asciiTheme") or fonts.get(f"{_W}hAnsiTheme")
    if theme:
        which = "majorFont" if theme.startswith("major") else "minorFont"
        for relation in doc.part.rels.values():
            if relation.reltype == RELATIONSHIP_TYPE.THEME and not relation.is_external:
                drawing = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
                latin = etree.fromstring(relation.target_part.blob).find(
                    f".//{drawing}fontScheme/{drawing}{which}/{drawing}latin")
                if latin is not None and latin.get("typeface"):
                    return latin.get("typeface")
    return fonts.get(f"{_W}ascii") or fonts.get(f"{_W}hAnsi") or None


def _figure(doc, block: Figure, base: Path) -> None:
    from docx.shared import Cm

    width = min(_usable_width(doc), Cm(15))
    doc.add_picture(str(base / block.link), width=width)
    picture = doc.paragraphs[-1]
    picture.paragraph_format.keep_with_next = True
    for doc_pr in picture._p.iter():
        if doc_pr.tag.endswith("}docPr"):
            doc_pr.set("descr", _text(block.alt))
            doc_pr.set("name", f"Figure {block.number}")
    _runs(_add(doc, "Caption"), block.caption)


def write(document: Document, base: Path, template: Path | None = None,
          places: bool = True, progress: Progress | None = None) -> bytes:
    """The document as .docx bytes; figure links are read relative to `base`. Without
    `places` the commentary is plain paragraphs and an empty place is left out: a paper to
    send, not to write in."""
    from docx.shared import Pt

    doc = _open(template)
    written = _page_furniture(doc, document)
    _runs(_add(doc, "Title"), document.title)
    if document.subtitle:
        _runs(_add(doc, "Subtitle"), document.subtitle)
    if document.facts:
        # One paragraph, the facts run on: seven bulleted lines pushed the front page's
        # matrix list off the second page.
        _runs(_add(doc, "Normal"), run_on(document.facts))
    slots = 0
    # Where the pages break, estimated, so a figure that would leave the foot of a page blank
    # is set after the paragraphs that fill it (kpi.writers.pages).
    layout = pages.Pages()
    if template is None:
        layout.title(document)
    for section in each(document.printed(places), "sections", progress):
        heading = _add(doc, "Heading 1")
        # Every heading is kept with the paragraph after it, set on the heading itself: a
        # house template's Heading 1 that does not keep with the next left a section's
        # heading alone at the foot of a page.
        heading.paragraph_format.keep_with_next = True
        _runs(heading, section.heading)
        if template is None:
            order = pages.ordered(section, layout, base, places)
        else:  # a template's page and styles are its own: the paper's order as it is
            order = [(block, False) for block in section.blocks]
        blocks = [block for block, _ in order]
        for at, (block, deferred) in enumerate(order):
            if isinstance(block, Paragraph):
                paragraph = _paragraph(doc, block)
                # The paragraph a figure or a short table follows is kept on its page: a
                # chart printed a page after the paragraph that cites it, the foot of the
                # page before left blank.
                if not deferred and _introduces(blocks[at + 1:]):
                    paragraph.paragraph_format.keep_with_next = True
            elif isinstance(block, Table):
                _table(doc, block)
            elif isinstance(block, Figure):
                _figure(doc, block, base)
            elif isinstance(block, BulletList):
                for item in block.items:
                    paragraph = _marked(doc) if block.marked else _add(doc, "List Bullet")
                    _runs(paragraph, item)
                    if block.small:
                        paragraph.paragraph_format.line_spacing = 1.0
                        for run in paragraph.runs:
                            run.font.size = Pt(SMALL_PT)
            elif isinstance(block, Slot) and places:
                slots += 1
                last = _slot(doc, block, slots)
                if block.paragraphs and _introduces(blocks[at + 1:]):
                    last.paragraph_format.keep_with_next = True
            elif isinstance(block, Slot):
                for number, text in enumerate(block.paragraphs, start=1):
                    paragraph = _paragraph(doc, text, verbatim=True)
                    if number == len(block.paragraphs) and _introduces(blocks[at + 1:]):
                        paragraph.paragraph_format.keep_with_next = True
            else:
                raise TypeError(f"not a block: {block!r}")
    _unnumbered(doc, [doc.element.body, *written])
    _properties(doc, document)
    if places:
        _record(doc, document)
    buffer = io.BytesIO()
    doc.save(buffer)
    return _stable_zip(buffer.getvalue())


def _unnumbered(doc, parts) -> None:
    """Each paragraph style the paper's paragraphs in `parts` are set in, but the bulleted
    list's, with a template's list numbering switched off (numId 0, which `_marked` sets on
    one paragraph): every number the paper prints is in its text. A house template whose
    Heading 1 and 2 are tied to a numbered list printed each section with two numbers, the
    template's ahead of the paper's ("3 2. Priority one"), and a board member quoting
    "section 3" from the front page's "See 3.6" turned to the wrong one. Set on the style, so
    a paragraph typed into the paper later in that style is not numbered either."""
    from docx.enum.style import WD_STYLE_TYPE

    styles = {s.get(f"{_W}styleId"): s for s in doc.styles.element.iter(f"{_W}style")
              if s.get(f"{_W}type") == "paragraph"}
    default = next((key for key, s in styles.items()
                    if s.get(f"{_W}default") in ("1", "true", "on")), None)
    # A bulleted item's bullet is its style's numbering.
    bullet = doc.part.get_style_id("List Bullet", WD_STYLE_TYPE.PARAGRAPH)
    used = set()
    for part in parts:
        for paragraph in part.iter(f"{_W}p"):
            if paragraph.find(f"{_W}pPr/{_W}numPr/{_W}numId") is not None:
                continue  # numbered, or not, by the paragraph itself
            style = paragraph.find(f"{_W}pPr/{_W}pStyle")
            key = style.get(f"{_W}val") if style is not None else None
            # A style the template does not define is read as its default one.
            used.add(key if key in styles else default)
    for key in sorted(used - {bullet, None}):
        if _numbering(styles, key) not in (None, "0"):
            numbering = styles[key].get_or_add_pPr().get_or_add_numPr()
            numbering.get_or_add_numId().val = 0


def _numbering(styles: dict, key: str | None) -> str | None:
    """The list a paragraph style numbers its paragraphs by (its numId, "0" for none), its
    own or the one of the style it is based on; None when no style in the line says."""
    seen = set()
    while key in styles and key not in seen:
        seen.add(key)
        style = styles[key]
        number = style.find(f"{_W}pPr/{_W}numPr/{_W}numId")
        if number is not None:
            return number.get(f"{_W}val")
        based = style.find(f"{_W}basedOn")
        key = based.get(f"{_W}val") if based is not None else None
    return None


def _introduces(following) -> bool:
    """Whether the next block is a figure, a table short enough to be kept whole or a list,
    which the block before it introduces and is kept with (a list's first item)."""
    return bool(following) and (isinstance(following[0], Figure | BulletList) or (
        isinstance(following[0], Table) and following[0].number is not None
        and len(following[0].rows) <= KEEP_WHOLE_ROWS))


def _record(doc, document: Document) -> None:
    """The custom XML part `read_commentary` compares an edited paper with."""
    import lxml.etree as etree
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    root = etree.Element(f"{{{RECORD_NS}}}paper", nsmap={None: RECORD_NS})
    root.set("period", document.period)
    root.set("project", document.project)
    body = doc.element.body
    for sdt in body.iter(f"{_W}sdt"):
        tag = sdt.find(f"{_W}sdtPr/{_W}tag")
        if tag is not None and tag.get(f"{_W}val", "").startswith(TAG_PREFIX):
            etree.SubElement(root, f"{{{RECORD_NS}}}place").set(
                "key", tag.get(f"{_W}val")[len(TAG_PREFIX):])
    for paragraph in _outside(body):
        text = _paragraph_text(paragraph)
        if text:
            etree.SubElement(root, f"{{{RECORD_NS}}}p").set("hash", _hash(text))
    blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    name = doc.part.package.next_partname("/customXml/item%d.xml")
    part = Part(PackURI(name), "application/xml", blob, doc.part.package)
    doc.part.relate_to(part, RELATIONSHIP_TYPE.CUSTOM_XML)


def _outside(body):
    """The body's paragraphs (table cells' included) that are in no content control."""
    for paragraph in body.iter(f"{_W}p"):
        if not any(a.tag == f"{_W}sdt" for a in paragraph.iterancestors()):
            yield paragraph


# Tracked changes whose text a reader of the paper with every change accepted does not see.
_NOT_READ = (f"{_W}del", f"{_W}moveFrom")


def _paragraph_text(paragraph) -> str:
    """A paragraph's text as a reader sees it with every tracked change accepted: runs joined,
    tabs kept, spaces collapsed. Text deleted or moved away (w:del, w:moveFrom, whose runs
    keep their w:t) is not read, so a tracked move is not read twice."""
    out = []
    changed = next(paragraph.iter(*_NOT_READ), None) is not None
    for node in paragraph.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}noBreakHyphen"):
        if changed and any(a.tag in _NOT_READ for a in node.iterancestors()):
            continue
        if node.tag == f"{_W}t":
            out.append(node.text or "")
        elif node.tag == f"{_W}tab" and node.getparent().tag == f"{_W}r":
            out.append("\t")
        elif node.tag == f"{_W}br":
            out.append("\n")
        elif node.tag == f"{_W}noBreakHyphen":
            out.append("-")
    text = "".join(out).replace("\u200b", "").replace("\u2060", "")
    return re.sub(r"[ \u00a0]*\n[ \u00a0]*", "\n", re.sub(" +", " ", text)).strip()


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class WordCommentary:
    """What an edited Word paper holds for its commentary.

    `places`: each commentary place found (its key) and the paragraphs typed in it, none when
    it is empty. `recorded`: the places the paper was written with, and `period` its month,
    from kpi's record in the file (None when a program dropped the record). `outside`: text
    found outside the places that the paper did not have, each with where it is. `tagless`:
    content controls that have lost their tags (as LibreOffice's do), so their place cannot
    be told."""

    places: dict[str, tuple[str, ...]]
    recorded: tuple[str, ...] | None
    period: str | None
    outside: tuple[str, ...]
    duplicated: tuple[str, ...]
    tagless: int
    # Boxes holding more than paragraphs of text (a table, tracked changes, another box),
    # each with what it holds: their text cannot be read as the analyst's commentary.
    unreadable: tuple[tuple[str, str], ...] = ()
    # The project's name the paper was written for (None in a paper of an older kpi).
    project: str | None = None
    # Boxes holding tracked changes, read as if every change were accepted.
    tracked: tuple[str, ...] = ()


# The first bytes of a Word 97-2003 document (.doc), or any file of Microsoft's compound format.
_COMPOUND_FILE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SAVE_AS_DOCX = ("a Word 97-2003 document (.doc), whatever its name says, not a .docx: open it in "
                 "Word and save it as a Word Document (.docx)")


def _compound_file(path: Path) -> bool:
    """Whether a file is in Microsoft's older compound format (a .doc), which python-docx and
    the zip reader meet only as a 'bad zip'."""
    try:
        with open(path, "rb") as file:
            return file.read(len(_COMPOUND_FILE)) == _COMPOUND_FILE
    except OSError:
        return False


def read_commentary(path: Path) -> WordCommentary:
    """The commentary typed into a Word paper kpi wrote; raises ValueError for a file that is
    not a Word document."""
    import lxml.etree as etree

    if _compound_file(path):
        raise ValueError(_SAVE_AS_DOCX)
    try:
        with zipfile.ZipFile(path) as archive:
            body = etree.fromstring(archive.read("word/document.xml")).find(f"{_W}body")
            record = None
            for name in archive.namelist():
                if re.fullmatch(r"customXml/item\d+\.xml", name):
                    root = etree.fromstring(archive.read(name))
                    if root.tag == f"{{{RECORD_NS}}}paper":
                        record = root
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError) as error:
        raise ValueError(f"not a Word .docx file ({error})") from error
    if body is None:
        raise ValueError("not a Word .docx file (no document body)")
    places: dict[str, tuple[str, ...]] = {}
    duplicated, tagless = [], 0
    unreadable: list[tuple[str, str]] = []
    tracked: list[str] = []
    for sdt in body.iter(f"{_W}sdt"):
        tag = sdt.find(f"{_W}sdtPr/{_W}tag")
        key = tag.get(f"{_W}val", "") if tag is not None else ""
        if not key.startswith(TAG_PREFIX):
            tagless += tag is None
            continue
        key = key[len(TAG_PREFIX):]
        if key in places:
            duplicated.append(key)
        content = sdt.find(f"{_W}sdtContent")
        held = _not_text(content) if content is not None else ""
        if held:
            unreadable.append((key, held))
        if content is not None and next(content.iter(*_TRACKED), None) is not None:
            tracked.append(key)
        texts = []
        # Judged by its text, not Word's placeholder flag, which a program editing the file
        # may leave set over typed text.
        if content is not None:
            paragraphs = list(content.iter(f"{_W}p")) or [content]
            for paragraph in paragraphs:
                text = _NUMBER.sub("", _paragraph_text(paragraph)).strip()
                if text and not _empty_place(key, text):
                    texts.append(text)
        places[key] = places.get(key, ()) + tuple(texts)
    recorded = period = project = None
    outside: list[str] = []
    if record is not None:
        period = record.get("period") or None
        project = record.get("project")
        recorded = tuple(e.get("key", "") for e in record.iter(f"{{{RECORD_NS}}}place"))
        hashes = [e.get("hash", "") for e in record.iter(f"{{{RECORD_NS}}}p")]
        outside = _typed_outside(body, hashes)
    return WordCommentary(places, recorded, period, tuple(outside), tuple(duplicated), tagless,
                          tuple(unreadable), project, tuple(dict.fromkeys(tracked)))


# What a commentary box may hold besides paragraphs of text, by what a reader would call it:
# its text would be read twice (a tracked move), as accepted though it is not (a tracked
# insertion or deletion), under the wrong box (another box inside it), cell by cell (a table)
# or not at all (a picture, a footnote).
_NOT_TEXT = {"sdt": "another content control", "tbl": "a table", "drawing": "a picture",
             "pict": "a picture", "object": "an embedded object",
             "footnoteReference": "a footnote", "endnoteReference": "an endnote"}
# Tracked changes are read as accepted (`_paragraph_text`), and the import says which boxes
# held them.
_TRACKED = tuple(f"{_W}{tag}" for tag in ("ins", "del", "moveFrom", "moveTo"))


def _not_text(content) -> str:
    """What a box's content holds that is not paragraphs of text ("a table, a picture"), or
    ""."""
    found = []
    for node in content.iter(*(f"{_W}{tag}" for tag in _NOT_TEXT)):
        what = _NOT_TEXT[node.tag[len(_W):]]
        if what not in found:
            found.append(what)
    return ", ".join(found)


def _typed_outside(body, hashes: list[str]) -> list[str]:
    """Paragraphs outside the places that the paper as written did not have, each named by
    the numbered paragraph or heading it is in or follows."""
    found = []
    where = "the title block"
    for paragraph in _outside(body):
        text = _paragraph_text(paragraph)
        if not text:
            continue
        number = _NUMBER.match(text)
        style = paragraph.find(f"{_W}pPr/{_W}pStyle")
        if number:
            label = f"paragraph {number.group(0)[:-2]}"
        elif style is not None and style.get(f"{_W}val", "").startswith("Heading"):
            label = f"heading '{text}'"
        else:
            label = None
        found.append((text, label or where, label is not None))
        if label:
            where = label
    edited = [_hash(text) for text, _, _ in found]
    matcher = difflib.SequenceMatcher(None, hashes, edited, autojunk=False)
    out = []
    for kind, _, _, start, end in matcher.get_opcodes():
        if kind in ("replace", "insert"):
            for text, label, own in found[start:end]:
                # Long paragraphs are shown by both ends, where typing usually lands.
                shown = text if len(text) <= 200 else f"{text[:60]} … {text[-120:]}"
                shown = shown.replace("\t", " ").replace("\n", " ")
                place = f"in {label}" if own or label == where == "the title block" \
                    else f"after {label}"
                out.append(f"{place}: \"{shown}\"")
    return out


def _page_furniture(doc, document: Document) -> list:
    """Header: the paper's title, and its marking at the right; footer: the marking, and
    "Page N of M" at the right. A template's own header or footer is kept. Returns the
    headers' and footers' elements the paper wrote."""
    from docx.enum.text import WD_TAB_ALIGNMENT

    written = []
    title = running_title(document)
    for section in doc.sections:
        right = section.page_width - section.left_margin - section.right_margin
        for part, left, fields in ((section.header, title, False),
                                   (section.footer, document.marking, True)):
            if _has_content(part):
                continue
            part.is_linked_to_previous = False
            written.append(part._element)
            paragraph = part.paragraphs[0]
            stops = paragraph.paragraph_format.tab_stops
            # The style's own stops (a centre one mid-page) would catch the tab first.
            style = paragraph.style
            while style is not None:
                for stop in style.paragraph_format.tab_stops:
                    stops.add_tab_stop(stop.position, WD_TAB_ALIGNMENT.CLEAR)
                style = style.base_style
            stops.add_tab_stop(right, WD_TAB_ALIGNMENT.RIGHT)
            # The project's title and marking, as written (`writers.printed`).
            _small(paragraph.add_run(_typeset(Name(left))), bold=fields)
            paragraph.add_run("\t")
            if fields:
                for text in ("Page ", "PAGE", " of ", "NUMPAGES"):
                    if text.isupper():
                        _field(paragraph, text)
                    else:
                        _small(paragraph.add_run(text))
            else:
                _small(paragraph.add_run(_text(document.marking)), bold=True)
    return written


def _has_content(part) -> bool:
    if part.is_linked_to_previous:
        return False
    element = part._element
    return any(t.text and t.text.strip() for t in element.iter(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t")) or any(
        e.tag.endswith(("}fldSimple", "}instrText", "}drawing")) for e in element.iter())


def _small(run, bold: bool = False) -> None:
    from docx.shared import Pt

    run.font.size = Pt(8.5)
    if bold:
        run.bold = True


def _field(paragraph, instruction: str) -> None:
    """A field Word and LibreOffice compute when they lay the page out ("1" until then)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    for kind, text in (("begin", None), (None, f" {instruction} "), ("separate", None),
                       (None, "1"), ("end", None)):
        run = paragraph.add_run()
        _small(run)
        if kind:
            mark = OxmlElement("w:fldChar")
            mark.set(qn("w:fldCharType"), kind)
            run._r.append(mark)
        elif text == "1":
            run.text = text
        else:
            code = OxmlElement("w:instrText")
            code.set(qn("xml:space"), "preserve")
            code.text = text
            run._r.append(code)


def _properties(doc, document: Document) -> None:
    props = doc.core_properties
    props.title = _text(plain_text(document.title))
    props.subject = _text(plain_text(document.subtitle))
    props.author = _text(document.author)
    props.last_modified_by = _text(document.author)
    props.comments = ""
    props.keywords = ""
    props.category = ""
    props.revision = 1
    when = document.issued or dt.date(2000, 1, 1)
    stamp = dt.datetime(when.year, when.month, when.day, tzinfo=dt.UTC)
    props.created = stamp
    props.modified = stamp
    props.last_printed = stamp


def _stable_zip(data: bytes) -> bytes:
    """The same parts in the same order with a fixed timestamp, so equal documents give
    equal files."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()
