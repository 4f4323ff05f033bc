"""What a board paper says, read out of each of its three formats alike: its headings, numbered
paragraphs, bulleted lines and table cells as plain text (`PaperText`), so the Markdown, HTML
and Word papers of one export can be compared figure for figure (tests/test_paper_formats.py on
the sample, the differential oracle on the papers it draws: a figure right in the Markdown that
the oracle checks, and wrong in the Word file a board prints, would pass unseen).

Typography is not a difference in what is said: the printed formats' true minus sign (U+2212),
Word's invisible joins and breaks (U+2060, U+200B) and no-break spaces read as the Markdown
writes them, and runs of white space as one space.
"""

from __future__ import annotations

import html as html_lib
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# The Word draft's words in the place of a section's commentary none was given for.
DRAFT_PLACE = "No analyst commentary was given for this section."


@dataclass
class PaperText:
    headings: list[str] = field(default_factory=list)
    numbered: list[str] = field(default_factory=list)  # "3.6. Sexual offences rose ..."
    bullets: list[str] = field(default_factory=list)
    tables: list[list[list[str]]] = field(default_factory=list)  # table, row, cell


def ascii_minus(text: str) -> str:
    """Text as the Markdown paper has it (see the module's note)."""
    return text.replace("\u2212", "-").replace("\u2060", "").replace("\u200b", "")


def text_of(fragment: str) -> str:
    """An HTML fragment's text, its marks read as the Markdown writes them, its spacing kept."""
    return ascii_minus(html_lib.unescape(re.sub(r"<[^>]+>", "", fragment)))


def plain(fragment: str) -> str:
    """An HTML fragment's text, typography read as the Markdown writes it."""
    return re.sub(r"\s+", " ", text_of(fragment).replace("\xa0", " ")).strip()


def _html_tables(page: str) -> list[list[list[str]]]:
    return [[[plain(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)]
             for row in re.findall(r"<tr.*?</tr>", table, re.DOTALL)]
            for table in re.findall(r"<table.*?</table>", page, re.DOTALL)]


def of_markdown(text: str) -> PaperText:
    """The Markdown paper's headings, numbered paragraphs and tables (its bulleted lines
    include the title block's, which the other formats lay out as a title page: not read)."""
    from markdown_it import MarkdownIt

    page = MarkdownIt("commonmark").enable("table").render(text)
    return PaperText(
        headings=[plain(h) for h in re.findall(r"<h2>(.*?)</h2>", page, re.DOTALL)],
        numbered=[plain(p) for p in re.findall(r"<p>(\d+\.\d+\. .*?)</p>", page, re.DOTALL)],
        tables=_html_tables(page))


def of_html(page: str) -> PaperText:
    return PaperText(
        headings=[plain(h) for h in re.findall(r"<h2>(.*?)</h2>", page, re.DOTALL)],
        numbered=[plain(p) for p in re.findall(r'<p class="numbered[^"]*"[^>]*>(.*?)</p>',
                                               page, re.DOTALL)],
        bullets=[plain(li) for li in re.findall(r"<li[^>]*>(.*?)</li>", page, re.DOTALL)],
        tables=_html_tables(page))


def docx_text(node, tab: str = " ") -> str:
    """A Word paragraph's (or cell's) text: its runs' text, a tab in a run (the number's) as
    `tab`; tab stops in the paragraph's properties are not text."""
    return "".join(tab if part.tag == f"{W}tab" else (part.text or "")
                   for part in node.iter(f"{W}t", f"{W}tab")
                   if part.getparent().tag == f"{W}r")


def of_docx(path: Path) -> PaperText:
    from lxml import etree

    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("word/document.xml"))
    body = root.find(f"{W}body")
    paragraphs: list[tuple[str, str]] = []  # (style id, text) outside tables, in order
    for p in body.iter(f"{W}p"):
        if any(a.tag == f"{W}tbl" for a in p.iterancestors()):
            continue  # a table's cell: read with its table
        style = p.find(f"{W}pPr/{W}pStyle")
        text = re.sub(r"\s+", " ", ascii_minus(docx_text(p)).replace("\xa0", " ")).strip()
        paragraphs.append((style.get(f"{W}val") if style is not None else "", text))
    out = PaperText()
    for at, (kind, text) in enumerate(paragraphs):
        if kind == "Heading1":
            # A section holding nothing but the place for an analyst's commentary (the Word
            # draft keeps "Equality Implications" and "Next Steps" for one, which the other
            # formats leave out) is the draft's, not something the paper says.
            section = []
            for later in paragraphs[at + 1:]:
                if later[0] == "Heading1":
                    break
                section.append(later)
            if section and all(t in ("", DRAFT_PLACE) for _, t in section):
                continue
            out.headings.append(text)
        elif kind.startswith("ListBullet"):
            out.bullets.append(text)
        elif kind in ("", "Normal") and re.match(r"\d+\.\d+\. ", text):
            out.numbered.append(text)
    for table in body.iter(f"{W}tbl"):
        out.tables.append([[re.sub(r"\s+", " ", ascii_minus(
            "".join(docx_text(p) for p in cell.iter(f"{W}p"))).replace("\xa0", " ")).strip()
            for cell in row.iter(f"{W}tc")] for row in table.iter(f"{W}tr")])
    return out


def first_difference(a: PaperText, b: PaperText, names: tuple[str, str],
                     bullets: bool = True) -> str | None:
    """Where two formats' papers first say something else, in words, or None."""
    parts = ["headings", "numbered", "tables"] + (["bullets"] if bullets else [])
    for part in parts:
        x, y = getattr(a, part), getattr(b, part)
        if x == y:
            continue
        for i, (one, other) in enumerate(zip(x, y, strict=False)):
            if one != other:
                return (f"{part} {i + 1}: the {names[0]} paper says {one!r}, the {names[1]} "
                        f"paper {other!r}")
        return f"{part}: the {names[0]} paper has {len(x)}, the {names[1]} paper {len(y)}"
    return None
