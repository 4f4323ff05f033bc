"""The HTML writer: one self-contained file a browser shows and prints to A4.

Everything the page needs is inside it: the style sheet inline, every figure as a data URI,
so the file can be mailed or put on an intranet as it is. Tables have header cells with
`scope`, every figure its alt text, and the numbered paragraphs their number as text. Nothing
depends on the clock or the machine, so the same document gives the same bytes.
"""

from __future__ import annotations

import base64
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
    Strong,
    Table,
    plain_text,
)

STYLE = """\
@page { size: A4; margin: 20mm 18mm; }
html { font-family: Arial, "Liberation Sans", "DejaVu Sans", sans-serif; font-size: 11pt;
  line-height: 1.4; color: #000; background: #fff; }
body { max-width: 174mm; margin: 0 auto; padding: 1em 0; }
h1 { font-size: 20pt; margin: 0 0 0.3em; }
h2 { font-size: 14pt; margin: 1.6em 0 0.6em; break-after: avoid; page-break-after: avoid; }
p.subtitle { font-size: 13pt; font-weight: bold; margin: 0 0 0.8em; }
ul.facts { margin: 0 0 1.2em; padding-left: 1.2em; }
p.numbered { padding-left: 3.2em; text-indent: -3.2em; }
p.numbered .number { display: inline-block; min-width: 2.9em; text-indent: 0; }
table { border-collapse: collapse; width: 100%; margin: 0.6em 0 0.3em;
  font-size: 9pt; }
table.wide { font-size: 7.5pt; }
th, td { border: 1px solid #777; padding: 0.25em 0.4em; vertical-align: top;
  overflow-wrap: anywhere; word-break: break-word; hyphens: auto; }
th { background: #e6e6e6; text-align: left; }
/* Headers keep whole words, which sets each column's narrowest width; data cells may break
   anywhere (long ids, filters), so no table is wider than the page. */
th { overflow-wrap: normal; word-break: normal; hyphens: manual; }
.right { text-align: right; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
figure { margin: 1em 0; break-inside: avoid; page-break-inside: avoid; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption, caption, p.caption { font-style: italic; font-size: 9.5pt; text-align: left;
  margin-top: 0.3em; }
caption { caption-side: bottom; }
"""
# Tables with more columns than this are set smaller, so they fit the page.
WIDE_TABLE = 6


def inline(content) -> str:
    out = []
    for item in content:
        out.append(_inline(item))
    return "".join(out)


def _inline(item: Inline) -> str:
    if isinstance(item, str):
        return escape(item, quote=False)
    if isinstance(item, Name):
        return escape(item.text, quote=False).replace("\r", " ").replace("\n", " ")
    if isinstance(item, Strong):
        return f"<strong>{inline(item.content)}</strong>"
    if isinstance(item, Emph):
        return f"<em>{inline(item.content)}</em>"
    raise TypeError(f"not an inline: {item!r}")


def _anchor(text: str) -> str:
    keep = "".join(c.lower() if c.isalnum() else "-" for c in text)
    return "-".join(p for p in keep.split("-") if p)


def _table(table: Table) -> list[str]:
    wide = " wide" if len(table.columns) > WIDE_TABLE else ""
    lines = [f'<table class="data{wide}">']
    if table.caption:
        lines.append(f"<caption>{inline(table.caption)}</caption>")
    lines.append("<thead><tr>" + "".join(
        f'<th scope="col"{_align(c.align)}>{escape(c.title, quote=False)}</th>'
        for c in table.columns) + "</tr></thead>")
    lines.append("<tbody>")
    for row in table.rows:
        cells = []
        for number, (column, cell) in enumerate(zip(table.columns, row, strict=True)):
            # The first cell names the row, so it is the row's header for a screen reader.
            tag = "th" if number == 0 else "td"
            scope = ' scope="row"' if number == 0 else ""
            cells.append(f"<{tag}{scope}{_align(column.align)}>{inline(cell)}</{tag}>")
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


def _section(section: Section, base: Path) -> list[str]:
    heading = plain_text(section.heading)
    lines = [f'<section id="{_anchor(heading)}">', f"<h2>{inline(section.heading)}</h2>"]
    for block in section.blocks:
        if isinstance(block, Paragraph):
            if block.number:
                lines.append(f'<p class="numbered" id="para-{block.number.replace(".", "-")}">'
                             f'<span class="number">{escape(block.number)}.</span> '
                             f"{inline(block.content)}</p>")
            else:
                lines.append(f"<p>{inline(block.content)}</p>")
        elif isinstance(block, Table):
            lines += _table(block)
        elif isinstance(block, Figure):
            lines += _figure(block, base)
        elif isinstance(block, BulletList):
            lines += ["<ul>", *(f"<li>{inline(i)}</li>" for i in block.items), "</ul>"]
        else:
            raise TypeError(f"not a block: {block!r}")
    lines.append("</section>")
    return lines


def write(document: Document, base: Path) -> str:
    """The document as one HTML page; figure links are read relative to `base`."""
    title = plain_text(document.title)
    head = ["<!DOCTYPE html>", '<html lang="en-GB">', "<head>", '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title, quote=False)}"
            + (f" – {escape(plain_text(document.subtitle), quote=False)}"
               if document.subtitle else "") + "</title>"]
    if document.author:
        head.append(f'<meta name="author" content="{escape(document.author, quote=True)}">')
    head += ["<style>", STYLE.rstrip("\n"), "</style>", "</head>", "<body>", "<header>",
             f"<h1>{inline(document.title)}</h1>"]
    if document.subtitle:
        head.append(f'<p class="subtitle">{inline(document.subtitle)}</p>')
    if document.facts:
        head += ['<ul class="facts">', *(f"<li>{inline(f)}</li>" for f in document.facts),
                 "</ul>"]
    head.append("</header>")
    body = ["<main>"]
    for section in document.sections:
        body += _section(section, base)
    body += ["</main>", "</body>", "</html>"]
    return "\n".join(head + body) + "\n"
