"""The Markdown writer: CommonMark with GitHub tables, readable as plain text.

Paragraph numbers ("2.4.") stay text: a number followed by a full stop and a space opens an
ordered list only at the start of a line when the number has no inner dot, and every paper
number has one. Figures are an image followed by an italic caption, the image line ending in a
backslash line break so GitHub keeps the caption under it and pandoc does not turn a lone image
into a captioned figure of its own (which would repeat the caption).
"""

from __future__ import annotations

from urllib.parse import quote

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
)
from kpi.progress import Progress, each
from kpi.render import escape_markdown
from kpi.writers import isolated


def inline(content: tuple[Inline, ...] | list[Inline], *, cell: bool = False,
           start: bool = False, verbatim: bool = False) -> str:
    """Inline content as Markdown, its text escaped where Markdown would misread it
    (`render.escape_markdown`): in a table `cell`, or at the `start` of a line. Names are
    set among the paper's words (`writers.isolated`), but not the `verbatim` commentary."""
    out = []
    for i, item in enumerate(content):
        opens = start and i == 0
        if isinstance(item, str | Name):
            text = escape_markdown(_text(item), cell=cell, start=opens)
            # Marks added after escaping, which shows every mark in the text as '?'.
            out.append(text if isinstance(item, str) or verbatim else isolated(text))
        elif isinstance(item, Strong):
            out.append(delimited("**", item.content, cell=cell))
        elif isinstance(item, Emph):
            out.append(delimited("*", item.content, cell=cell))
        else:
            raise TypeError(f"not an inline: {item!r}")
    return "".join(out)


def _text(item: str | Name) -> str:
    return item if isinstance(item, str) else item.text


def _like(item: str | Name, text: str) -> str | Name:
    """`text` of the kind `item` is: a name stays a name (`isolated` where it is set)."""
    return text if isinstance(item, str) or text == "" else Name(text)


def delimited(mark: str, content: tuple[Inline, ...] | list[Inline], *,
              cell: bool = False) -> str:
    """Emphasis around inline content, with its leading and trailing white space outside the
    marks: CommonMark does not close "**Concern (6): **" (a closing mark after a space is no
    closing mark), so the reader saw the asterisks. Any white space: a no-break or em space
    typed in the commentary is kept ("Author: **A. Analyst\u00a0**" printed its asterisks).
    The white space is taken off before the text is escaped, so the escaper sees the text's
    true ends, where the mark follows: "\\" before a no-break space needs no escape, before
    the mark it does ("**\\**" read as an escaped asterisk). Every emphasis the writer prints
    comes through here."""
    items = list(content)
    lead = trail = ""
    if items and isinstance(items[0], str | Name):
        text = _text(items[0])
        lead, items[0] = text[:len(text) - len(text.lstrip())], _like(items[0], text.lstrip())
    if items and isinstance(items[-1], str | Name):
        text = _text(items[-1])
        items[-1], trail = _like(items[-1], text.rstrip()), text[len(text.rstrip()):]
    body = inline([item for item in items if item != ""], cell=cell)
    lead, trail = escape_markdown(lead, cell=cell), escape_markdown(trail, cell=cell)
    return f"{lead}{mark}{body}{mark}{trail}" if body else lead + trail


def _table(table: Table) -> list[str]:
    lines = ["| " + " | ".join(inline((c.title,), cell=True)
                               for c in table.columns) + " |",
             "|" + "|".join("--:" if c.align == Align.RIGHT else "---"
                            for c in table.columns) + "|"]
    for row in table.rows:
        lines.append("| " + " | ".join(inline(cell, cell=True) for cell in row) + " |")
    lines.append("")
    if table.caption:
        lines += [delimited("*", table.caption), ""]
    return lines


def _figure(figure: Figure) -> list[str]:
    return [f"![{inline(figure.caption)}]({quote(figure.link)})\\",
            delimited("*", figure.caption), ""]


def _paragraph(block: Paragraph, verbatim: bool = False) -> str:
    """A paragraph, after its number when the paper numbers it (an unnumbered one, such as
    the introduction on the front page, has no stray '. ')."""
    return (f"{block.number}. " if block.number else "") + inline(
        block.content, start=not block.number, verbatim=verbatim)


def write(document: Document, progress: Progress | None = None) -> str:
    """The document as Markdown text, ending in one newline."""
    marking = [delimited("**", (document.marking,)), ""] if document.marking else []
    lines = [*marking, f"# {inline(document.title)}", ""]
    if document.subtitle:
        lines += [delimited("**", document.subtitle), ""]
    if document.facts:
        lines += [f"- {inline(fact, start=True)}" for fact in document.facts]
        lines.append("")
    for section in each(document.printed(), "sections", progress):
        lines += [f"## {inline(section.heading)}", ""]
        for block in section.blocks:
            if isinstance(block, Paragraph):
                lines += [_paragraph(block), ""]
            elif isinstance(block, Table):
                lines += _table(block)
            elif isinstance(block, Figure):
                lines += _figure(block)
            elif isinstance(block, Slot):  # the commentary; an empty place prints nothing
                for paragraph in block.paragraphs:
                    lines += [_paragraph(paragraph, verbatim=True), ""]
            elif isinstance(block, BulletList):
                lines += [f"- {inline(item, start=True)}" for item in block.items]
                lines.append("")
            else:
                raise TypeError(f"not a block: {block!r}")
    lines = [*lines, *marking] if marking else lines
    return "\n".join(lines).rstrip("\n") + "\n"
