"""Writers: one module per format, each turning a `kpi.document.Document` into bytes.

A writer knows its format and nothing of the domain; the paper decides what is said. The
typography every printed format shares is here.
"""

from __future__ import annotations

import re
import unicodedata

from kpi.document import Document, Inlines, Name, plain_text

MINUS = "\u2212"
# A hyphen-minus that starts a number ("-11.7%", "(-3", "-28:50"), not one inside a word, a
# date ("2024-03") or a range: it becomes a true minus sign, which line breaking keeps with its
# number (Unicode class PR before a digit).
_NEGATIVE = re.compile(r"(?<![\w.,:/)\]])-(?=\d)")


def minus_signs(text: str) -> str:
    """The text with every negative number's hyphen-minus made a true minus sign."""
    return _NEGATIVE.sub(MINUS, text)


# LEFT-TO-RIGHT MARK: strong left-to-right, invisible, understood by Word, browsers and
# LibreOffice alike.
LRM = "\u200e"


def isolated(text: str) -> str:
    """A name from the project or the data, as a printed paper sets it among its own words: one
    holding right-to-left letters (Arabic, Hebrew) between left-to-right marks. Without them
    the bidirectional algorithm joins the figures after the name to its right-to-left run:
    "By LPA, مدينة (+12.5%), بلدة (-3.0%), Dudley (0.0%)" displayed as "By LPA,
    (%3.0-) بلدة ,(%12.5+) مدينة, Dudley (0.0%)", the signs and parentheses turned and the two
    parts' figures read against each other's names. The Markdown, HTML and Word writers each
    set every `Name` through here; other text is left as it is."""
    if any(unicodedata.bidirectional(char) in ("R", "AL") for char in text):
        return f"{LRM}{text}{LRM}"
    return text


def printed(item: str | Name) -> str:
    """An inline's text as every printed paper (HTML, Word) sets it: the paper's own words
    with each negative number's hyphen-minus a true minus sign (`minus_signs`); a name from
    the project or the data exactly as it is, but `isolated`. The minus was set in names
    too, so a part "Route -1" printed as "Route \u22121", which is another part's name: the
    paper listed "Route \u22121 (\u221215.5%), ..., Route \u22121 (+44.0%)", two parts under
    one name, exit 0."""
    if isinstance(item, Name):
        return isolated(item.text)
    return minus_signs(item)


# A table of at most this many rows is printed on one page, with its caption (Word and HTML):
# a longer one may run on, its header row repeated.
KEEP_WHOLE_ROWS = 15


# A running title longer than this would wrap in a page header at 8.5 pt beside the marking.
RUNNING_TITLE = 80


def running_title(document: Document) -> str:
    """The title a page header repeats: title and subtitle when they fit on the line; a title
    longer than the line cut at a word, with "…" (the title block prints it whole). A title of
    150 characters wrapped in the header, and in the HTML squeezed the marking beside it
    until it broke over two lines ("OFFICIAL-" / "SENSITIVE")."""
    title = plain_text(document.title)
    both = f"{title} – {plain_text(document.subtitle)}" if document.subtitle else title
    if len(both) <= RUNNING_TITLE:
        return both
    if len(title) <= RUNNING_TITLE:
        return title
    cut = title[:RUNNING_TITLE].rsplit(" ", 1)[0] if " " in title[:RUNNING_TITLE] \
        else title[:RUNNING_TITLE - 1]
    return cut.rstrip(" ,;:–-(") + "…"


def run_on(facts: tuple[Inlines, ...]) -> Inlines:
    """The title block's facts as one run-on line for Word and HTML ('Board: ...; Date:
    ...; Data: as loaded on ...'), so the front page keeps its matrix and exceptions on the
    first two pages; Markdown lists them one a line."""
    out: list = []
    for n, fact in enumerate(facts):
        out += ["; "] if n else []
        out += list(fact)
    return (*out, ".") if out else ()
