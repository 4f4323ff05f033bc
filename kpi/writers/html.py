"""The HTML writer: one self-contained file a browser shows and prints to A4.

Everything the page needs is inside it: the style sheet inline, every figure as a data URI,
so the file can be mailed or put on an intranet as it is. Tables have header cells with
`scope`, every figure its alt text, and the numbered paragraphs their number as text. Nothing
depends on the clock or the machine, so the same document gives the same bytes.

Printed (CSS paged media), every page has the paper's title and protective marking at the top
and the marking and "Page N of M" at the bottom; a table's header row repeats and no row
splits across pages; no word is hyphenated or broken: an id in a table may break only after
"_" or "/", and a negative number's true minus sign stays with it.
"""

from __future__ import annotations

import base64
import re
from html import escape
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
    Section,
    Slot,
    Strong,
    Table,
    plain_text,
)
from kpi.progress import Progress, each
from kpi.writers import KEEP_WHOLE_ROWS, pages, printed, run_on, running_title

PAGE = """\
@page { size: A4; margin: 20mm 18mm;
  @top-left { content: "{title}"; font: 8.5pt Arial, "Liberation Sans", sans-serif; }
  @top-right { content: "{marking}"; font: bold 8.5pt Arial, "Liberation Sans", sans-serif; }
  @bottom-left { content: "{marking}"; font: bold 8.5pt Arial, "Liberation Sans", sans-serif; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages);
    font: 8.5pt Arial, "Liberation Sans", sans-serif; } }
"""
STYLE = """\
/* Set as the Word paper is (11 pt Arial, lines 1.15 apart, 10 pt after a paragraph, figures
   15 cm wide), a little more open on screen: lines 1.4 apart, 1 em between paragraphs and
   figures the full 17.4 cm made the sample's paper print to 20 pages, two more than Word's. */
html { font-family: Arial, "Liberation Sans", "DejaVu Sans", sans-serif; font-size: 11pt;
  line-height: 1.3; color: #000; background: #fff; }
body { max-width: 174mm; margin: 0 auto; padding: 1em 0; }
p, ul { margin: 0.6em 0; }
h1 { font-size: 20pt; margin: 0 0 0.3em; }
h2 { font-size: 14pt; margin: 1.2em 0 0.5em; break-after: avoid; page-break-after: avoid; }
p.subtitle { font-size: 13pt; font-weight: bold; margin: 0 0 0.8em; }
p.facts { margin: 0 0 1.2em; }
ul.marked { list-style: none; padding-left: 1.2em; text-indent: -1.2em; }
ul.small { font-size: 9pt; }
p.numbered { padding-left: 3.2em; text-indent: -3.2em; }
p.numbered .number { display: inline-block; min-width: 2.9em; text-indent: 0; }
table { border-collapse: collapse; width: 100%; margin: 0.6em 0 0.3em;
  font-size: 9pt; }
table.wide { font-size: 7.5pt; }
table.whole { break-inside: avoid; page-break-inside: avoid; }
th, td { border: 1px solid #777; padding: 0.25em 0.4em; vertical-align: top; }
th { background: #e6e6e6; text-align: left; }
/* No word is broken or hyphenated: each column is at least as wide as its longest word. */
body { overflow-wrap: normal; word-break: normal; hyphens: manual; }
.right { text-align: right; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
figure { margin: 1em 0; break-inside: avoid; page-break-inside: avoid; }
/* The paragraph a figure or a short table follows stays on its page, and one a list follows
   with the list's first item. */
p:has(+ figure), p:has(+ table.whole) { break-after: avoid; page-break-after: avoid;
  break-inside: avoid; page-break-inside: avoid; }
p:has(+ ul) { break-after: avoid; page-break-after: avoid; }
/* A paragraph the figure after it does not belong to: the writer set the figure after the
   paragraphs that fill the page (kpi.writers.pages). */
p.flow { break-after: auto; page-break-after: auto; break-inside: auto;
  page-break-inside: auto; }
figure img { display: block; width: 150mm; max-width: 100%; height: auto; }
figcaption, caption, p.caption { font-style: italic; font-size: 9.5pt; text-align: left;
  margin-top: 0.3em; }
caption { caption-side: bottom; }
p.marking { font-weight: bold; text-align: center; margin: 0 0 0.8em; }
/* On screen the marking heads the page; printed, every page's margin carries it. */
@media print { p.marking { display: none; } }
"""
# Tables with more columns than this are set smaller, so they fit the page.
WIDE_TABLE = 6


# An id in a table cell may break after "_" or "/" (so a long one never widens the table
# past the page), never inside a word.
_ID_BREAK = re.compile(r"(?<=[A-Za-z0-9][_/])(?=[A-Za-z0-9])")


def _head(title: str | Name) -> str:
    """A table's column heading: the paper's own as it is written, a name as `printed`."""
    return escape(title if isinstance(title, str) else printed(title), quote=False)


def inline(content, in_table: bool = False, verbatim: bool = False) -> str:
    out = []
    for item in content:
        out.append(_inline(item, in_table, verbatim))
    return "".join(out)


def _inline(item: Inline, in_table: bool = False, verbatim: bool = False) -> str:
    if isinstance(item, str | Name):
        if isinstance(item, Name):
            item = Name(item.text.replace("\r", " ").replace("\n", " "))
        # The analyst's commentary is printed as typed; a name as it is (`writers.printed`).
        text = escape((item if isinstance(item, str) else item.text) if verbatim
                      else printed(item), quote=False)
        return _ID_BREAK.sub("<wbr>", text) if in_table else text
    if isinstance(item, Strong):
        return f"<strong>{inline(item.content, in_table, verbatim)}</strong>"
    if isinstance(item, Emph):
        return f"<em>{inline(item.content, in_table, verbatim)}</em>"
    raise TypeError(f"not an inline: {item!r}")


def _anchor(text: str) -> str:
    keep = "".join(c.lower() if c.isalnum() else "-" for c in text)
    return "-".join(p for p in keep.split("-") if p)


def _table(table: Table) -> list[str]:
    wide = " wide" if len(table.columns) > WIDE_TABLE else ""
    # A table short enough for one page is printed on one (Table 2 of the sample's paper
    # printed four rows on one page and four on the next).
    whole = " whole" if len(table.rows) <= KEEP_WHOLE_ROWS else ""
    lines = [f'<table class="data{wide}{whole}">']
    if table.caption:
        lines.append(f"<caption>{inline(table.caption)}</caption>")
    lines.append("<thead><tr>" + "".join(
        f'<th scope="col"{_align(c.align)}>{_head(c.title)}</th>'
        for c in table.columns) + "</tr></thead>")
    lines.append("<tbody>")
    for row in table.rows:
        cells = []
        for number, (column, cell) in enumerate(zip(table.columns, row, strict=True)):
            # The first cell names the row, so it is the row's header for a screen reader.
            tag = "th" if number == 0 else "td"
            scope = ' scope="row"' if number == 0 else ""
            cells.append(f"<{tag}{scope}{_align(column.align)}>{inline(cell, True)}</{tag}>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines += ["</tbody>", "</table>"]
    return lines


def _align(align: Align) -> str:
    return ' class="right"' if align == Align.RIGHT else ""


def _figure(figure: Figure, base: Path) -> list[str]:
    data = base64.b64encode((base / figure.link).read_bytes()).decode("ascii")
    alt = escape(figure.alt, quote=True)
    return [f'<figure id="figure-{figure.number}">',
            f'<img src="data:image/png;base64,{data}" alt="{alt}">',
            f"<figcaption>{inline(figure.caption)}</figcaption>", "</figure>"]


def _paragraph(block: Paragraph, verbatim: bool = False, flow: bool = False) -> str:
    """A paragraph; `flow`: one the figure after it does not belong to (kpi.writers.pages
    set the figure after it), so it is not kept with the figure."""
    if block.number:
        classes = "numbered flow" if flow else "numbered"
        return (f'<p class="{classes}" id="para-{block.number.replace(".", "-")}">'
                f'<span class="number">{escape(block.number)}.</span> '
                f"{inline(block.content, verbatim=verbatim)}</p>")
    opening = '<p class="flow">' if flow else "<p>"
    return f"{opening}{inline(block.content, verbatim=verbatim)}</p>"


def _section(section: Section, base: Path, layout: pages.Pages) -> list[str]:
    heading = plain_text(section.heading)
    lines = [f'<section id="{_anchor(heading)}">', f"<h2>{inline(section.heading)}</h2>"]
    # A figure that would leave the foot of a page blank is set after the paragraphs that
    # fill it, as in Word (kpi.writers.pages, with Chromium's measures).
    for block, flow in pages.ordered(section, layout, base, places=False):
        if isinstance(block, Paragraph):
            lines.append(_paragraph(block, flow=flow))
        elif isinstance(block, Slot):
            lines += [_paragraph(p, verbatim=True) for p in block.paragraphs]
        elif isinstance(block, Table):
            lines += _table(block)
        elif isinstance(block, Figure):
            lines += _figure(block, base)
        elif isinstance(block, BulletList):
            classes = " ".join(c for c, on in (("marked", block.marked),
                                               ("small", block.small)) if on)
            lines += [f'<ul class="{classes}">' if classes else "<ul>",
                      *(f"<li>{inline(i)}</li>" for i in block.items), "</ul>"]
        else:
            raise TypeError(f"not a block: {block!r}")
    lines.append("</section>")
    return lines


def _css_string(text: str) -> str:
    """Text inside a CSS string in a <style> element: quotes and backslashes escaped, and
    nothing that could close the element."""
    out = []
    for char in text:
        if char in '"\\<>&' or not char.isprintable():
            out.append(f"\\{ord(char):x} ")
        else:
            out.append(char)
    return "".join(out)


def write(document: Document, base: Path, progress: Progress | None = None) -> str:
    """The document as one HTML page; figure links are read relative to `base`."""
    title = plain_text(document.title)
    head = ["<!DOCTYPE html>", '<html lang="en-GB">', "<head>", '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title, quote=False)}"
            + (f" – {escape(plain_text(document.subtitle), quote=False)}"
               if document.subtitle else "") + "</title>"]
    if document.author:
        head.append(f'<meta name="author" content="{escape(document.author, quote=True)}">')
    page = PAGE.replace("{title}", _css_string(printed(Name(running_title(document))))).replace(
        "{marking}", _css_string(document.marking))
    head += ["<style>", page + STYLE.rstrip("\n"), "</style>", "</head>", "<body>", "<header>"]
    if document.marking:
        head.append(f'<p class="marking">{escape(document.marking, quote=False)}</p>')
    head.append(f"<h1>{inline(document.title)}</h1>")
    if document.subtitle:
        head.append(f'<p class="subtitle">{inline(document.subtitle)}</p>')
    if document.facts:
        head.append(f'<p class="facts">{inline(run_on(document.facts))}</p>')
    head.append("</header>")
    body = ["<main>"]
    layout = pages.Pages(pages.HTML)
    layout.title(document)
    for section in each(document.printed(), "sections", progress):
        body += _section(section, base, layout)
    body += ["</main>", "</body>", "</html>"]
    return "\n".join(head + body) + "\n"
