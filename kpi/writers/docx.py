"""The Word writer: a .docx a board secretary can open, restyle and circulate.

Built with python-docx on its default template, or on an organisation's own template
(`--template house.docx`): the template's styles, page set-up, headers and footers are kept
and its body text is dropped. The paper uses Word's built-in styles (Title, Subtitle,
Heading 2, List Bullet, Caption, Table Grid), so a house template restyles it; a template
that has never used one of them gets python-docx's definition of it.

Numbered paragraphs keep their number as text ("2.4.") with a hanging indent, so the numbers
a board member quotes are the numbers in the Markdown and HTML papers. Table header rows
repeat on each page. Figures are embedded with their alt text and a caption.

The same document gives the same bytes: fixed core properties (no clock), and the zip
entries written with a fixed timestamp.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import re
import zipfile
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
    Strong,
    Table,
    plain_text,
)
from kpi.errors import ConfigError

STYLES = ("Title", "Subtitle", "Heading 1", "Heading 2", "List Bullet", "Caption", "Table Grid",
          "Normal")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# Characters XML 1.0 cannot hold (control characters from a stray extract).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
HANGING_CM = 1.25


def _text(text: str) -> str:
    return _NOT_XML.sub("", text.replace("\r", " ").replace("\n", " "))


def _runs(paragraph, content, bold: bool = False, italic: bool = False) -> None:
    for item in content:
        _run(paragraph, item, bold, italic)


def _run(paragraph, item: Inline, bold: bool, italic: bool) -> None:
    if isinstance(item, str | Name):
        run = paragraph.add_run(_text(item if isinstance(item, str) else item.text))
        if bold:
            run.bold = True
        if italic:
            run.italic = True
    elif isinstance(item, Strong):
        _runs(paragraph, item.content, True, italic)
    elif isinstance(item, Emph):
        _runs(paragraph, item.content, bold, True)
    else:
        raise TypeError(f"not an inline: {item!r}")


def _open(template: Path | None):
    import docx
    from docx.shared import Cm

    if template is None:
        doc = docx.Document()
        section = doc.sections[0]
        # python-docx's default page is US Letter; a UK board paper is A4.
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        for side in ("left_margin", "right_margin"):
            setattr(section, side, Cm(2.2))
        section.top_margin = section.bottom_margin = Cm(2.0)
        return doc
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


def _paragraph(doc, block: Paragraph) -> None:
    from docx.shared import Cm

    paragraph = doc.add_paragraph(style="Normal")
    if block.number:
        paragraph.paragraph_format.left_indent = Cm(HANGING_CM)
        paragraph.paragraph_format.first_line_indent = Cm(-HANGING_CM)
        paragraph.paragraph_format.tab_stops.add_tab_stop(Cm(HANGING_CM))
        paragraph.add_run(f"{block.number}.\t")
    _runs(paragraph, block.content)


def _table(doc, block: Table) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    table = doc.add_table(rows=1 + len(block.rows), cols=len(block.columns))
    table.style = doc.styles["Table Grid"]
    size = Pt(8 if len(block.columns) > 6 else 9)
    header = table.rows[0]
    # Repeat the header row at the top of each page the table runs onto.
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    header._tr.get_or_add_trPr().append(flag)
    for cell, column in zip(header.cells, block.columns, strict=True):
        run = cell.paragraphs[0].add_run(_text(column.title))
        run.bold = True
        run.font.size = size
    for row, values in zip(table.rows[1:], block.rows, strict=True):
        for cell, content in zip(row.cells, values, strict=True):
            paragraph = cell.paragraphs[0]
            _runs(paragraph, content)
            for run in paragraph.runs:
                run.font.size = size
    for number, column in enumerate(block.columns):
        if column.align == Align.RIGHT:
            for row in table.rows:
                row.cells[number].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if block.caption:
        _runs(doc.add_paragraph(style="Caption"), block.caption)


def _figure(doc, block: Figure, base: Path) -> None:
    from docx.shared import Cm

    width = min(_usable_width(doc), Cm(16))
    doc.add_picture(str(base / block.link), width=width)
    picture = doc.paragraphs[-1]
    picture.paragraph_format.keep_with_next = True
    for doc_pr in picture._p.iter():
        if doc_pr.tag.endswith("}docPr"):
            doc_pr.set("descr", _text(block.alt))
            doc_pr.set("name", f"Figure {block.number}")
    _runs(doc.add_paragraph(style="Caption"), block.caption)


def write(document: Document, base: Path, template: Path | None = None) -> bytes:
    """The document as .docx bytes; figure links are read relative to `base`."""
    doc = _open(template)
    _runs(doc.add_paragraph(style="Title"), document.title)
    if document.subtitle:
        _runs(doc.add_paragraph(style="Subtitle"), document.subtitle)
    for fact in document.facts:
        _runs(doc.add_paragraph(style="List Bullet"), fact)
    for section in document.sections:
        heading = doc.add_paragraph(style="Heading 1")
        _runs(heading, section.heading)
        for block in section.blocks:
            if isinstance(block, Paragraph):
                _paragraph(doc, block)
            elif isinstance(block, Table):
                _table(doc, block)
            elif isinstance(block, Figure):
                _figure(doc, block, base)
            elif isinstance(block, BulletList):
                for item in block.items:
                    _runs(doc.add_paragraph(style="List Bullet"), item)
            else:
                raise TypeError(f"not a block: {block!r}")
    _properties(doc, document)
    buffer = io.BytesIO()
    doc.save(buffer)
    return _stable_zip(buffer.getvalue())


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
