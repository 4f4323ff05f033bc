"""Text that users and their data put into kpi's outputs (titles, names of parts, the
commentary): it reads as typed in every format, the figure beside it stays beside it, and no
output makes it markup. Each test fails on the code before its fix."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from hostile_support import GOOD_HEADER, make_project
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _shown(fragment: str) -> str:
    """Rendered HTML as the text a reader sees."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _extract() -> str:
    """24 months of incidents in two LPAs: Walsall 2 a month, Dudley 1 a month."""
    lines = [GOOD_HEADER]
    for year in (2024, 2025):
        for month in range(1, 13):
            for day, lpa in ((1, "Walsall"), (2, "Walsall"), (3, "Dudley")):
                lines.append(f"X{year}{month:02d}{day},{year}-{month:02d}-{day:02d},{lpa},1,")
    return "\n".join(lines) + "\n"


@pytest.fixture
def project(tmp_path, cli):
    folder = make_project(tmp_path / "project")
    (folder / "years.csv").write_text(_extract(), encoding="utf-8")
    assert cli(["--project", folder, "ingest", "incidents", folder / "years.csv"]
               ).exit_code == 0
    return folder


# ---------------------------------------------------------------------------------------------
# Emphasis in the Markdown paper


WHITE = st.sampled_from([" ", "\u00a0", "\u2003", "\u202f", "\u3000"])


@settings(max_examples=200, deadline=None)
@given(lead=st.text(WHITE, max_size=2), trail=st.text(WHITE, max_size=2),
       body=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1,
                    max_size=12))
@example(lead="", trail="\u00a0", body="A. Analyst")
@example(lead="", trail="\u00a0", body="\\")  # "**\**": the closing mark read as escaped
@example(lead=" ", trail=" ", body="*")  # " * " needs no escape; "*" before the mark does
def test_emphasis_closes_whatever_white_space_edges_its_text(lead, trail, body):
    """The Markdown writer put a text's leading and trailing spaces outside its '**' but not a
    no-break or em space, which the commentary keeps as typed: "Author: **A. Analyst\u00a0**"
    is no emphasis in CommonMark, and the paper printed the asterisks. And it escaped the text
    before it took the spaces off, so a character escaped or not by what followed it (a
    backslash, an asterisk between spaces) met the mark unescaped."""
    from kpi.document import Emph, Name, Strong
    from kpi.writers.markdown import inline

    for wrapper, tag in ((Strong, "strong"), (Emph, "em")):
        line = "Author: " + inline((wrapper((Name(lead + body + trail),)),))
        rendered = PARSER.render(line)
        assert f"<{tag}>" in rendered, line
        assert _shown(rendered).strip() == ("Author: " + lead + body + trail).strip(), line


def test_the_papers_author_block_is_bold_with_a_no_break_space_typed(project, tmp_path, cli):
    notes = tmp_path / "notes.toml"
    notes.write_text('[paper]\nauthor = "A. Analyst\\u00a0"\njob_title = "\\u2003Lead"\n',
                     encoding="utf-8")
    paper = tmp_path / "board.md"
    result = cli(["--project", project, "export", "markdown", "--period", "2025-12",
                  "--output", paper, "--commentary", notes])
    assert result.exit_code == 0, result.output
    rendered = PARSER.render(paper.read_text(encoding="utf-8"))
    assert "<strong>A. Analyst</strong>" in rendered
    assert "<strong>Lead</strong>" in rendered
    assert "**" not in _shown(rendered)


# ---------------------------------------------------------------------------------------------
# Names of nothing


@pytest.mark.parametrize(("old", "new", "subject"), [
    ('title = "Victims"', 'title = "   "', "KPI 'victims', key 'title'"),
    ('title = "Safety"', 'title = "\\u00a0\\u200b"', "priority 'safety', key 'title'"),
    ('name = "Hostile inputs"', 'name = " \\u3000 "', "[project], key 'name'"),
    ('better = "lower"\n\n[[kpis]]', 'better = "lower"\nnoun = "\\u2003"\n\n[[kpis]]',
     "KPI 'incidents', key 'noun'"),
    ('lpa = { type = "str", from = ["LPA"] }',
     'lpa = { type = "str", from = ["LPA"], label = "  " }',
     "dataset 'incidents', column 'lpa', key 'label'"),
    ('baseline = "2025-01"', 'baseline = "2025-01"\n\n[paper]\nplan = "\\u200b"',
     "[paper], key 'plan'"),
])
def test_a_name_that_shows_nothing_is_refused_naming_its_key(project, cli, old, new, subject):
    """A KPI titled "   " was taken: every output printed its figures under no name (the
    paper's front page: "▼    : 1.45 in the year ending December 2025", `kpi summary` a row
    of figures without a KPI), exit 0. So was a noun, a label or a plan of spaces ("By   , the
    highest figures ..."). Each is refused as a missing title is, naming the key and line."""
    from hostile_support import first_error

    toml = project / "kpi.toml"
    text = toml.read_text(encoding="utf-8")
    assert old in text
    toml.write_text(text.replace(old, new, 1), encoding="utf-8")
    line = next(number for number, written in enumerate(toml.read_text().splitlines(), 1)
                if written.strip() == new.splitlines()[-1 if "[[kpis]]" not in new else 1])
    result = cli(["--project", project, "summary", "--period", "2025-12"])
    assert result.exit_code == 3, result.output
    assert first_error(result.stderr) == (
        f"Error: {toml}:{line}: {subject}: is blank (only spaces or characters that show "
        "nothing): write the words it prints, or leave the key out")


@pytest.mark.parametrize(("old", "new", "subject"), [
    ('title = "Victims"', 'title = """Mean\nvictims"""', "KPI 'victims', key 'title'"),
    ('title = "Safety"', 'title = "Safety\\r\\nfirst"', "priority 'safety', key 'title'"),
])
def test_a_name_of_two_lines_is_refused_naming_its_key(project, cli, old, new, subject):
    """A title of two lines was taken and read three ways: "Mean?victims" in `kpi show`, a
    `kpi summary` row split over two lines (and its target line), "Mean victims" in the
    paper."""
    from hostile_support import first_error

    toml = project / "kpi.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace(old, new, 1), encoding="utf-8")
    line = next(number for number, written in enumerate(toml.read_text().splitlines(), 1)
                if written.startswith(new.split("\n")[0]))
    result = cli(["--project", project, "summary", "--period", "2025-12"])
    assert result.exit_code == 3, result.output
    assert first_error(result.stderr) == (
        f"Error: {toml}:{line}: {subject}: is more than one line: a name is printed on one "
        "line (a table's row, a heading), so write it on one")


# ---------------------------------------------------------------------------------------------
# The rows with no value beside a part printing as they do


def test_the_blank_rows_name_is_never_a_parts_name():
    """By hand: the rows with no value print "not recorded" unless a part prints alike, as
    kpi's identity rule reads two names (case and spacing aside)."""
    from kpi.text import blank_name

    assert blank_name(["Dudley", None]) == "not recorded"
    assert blank_name(["Not recorded", None]) == "not recorded (blank)"
    assert blank_name(["not  recorded"]) == "not recorded (blank)"
    assert blank_name(["NOT RECORDED", "not recorded (blank)"]) == \
        "not recorded (blank) (blank)"
    assert blank_name(["—", "Dudley"], "—") == "— (blank)"
    assert blank_name([None], "—") == "—"


def _with_parts(folder: Path, cli, parts: dict[str, tuple[int, int]]) -> None:
    """The hostile project broken down by LPA, its paper printing the breakdown, loaded with
    `parts`: LPA -> (incidents a month in 2024, in 2025); "" is a blank LPA."""
    toml = folder / "kpi.toml"
    text = toml.read_text(encoding="utf-8").replace(
        'dataset = "incidents"\nbetter = "lower"',
        'dataset = "incidents"\nbetter = "lower"\nbreakdowns = ["lpa"]', 1)
    toml.write_text(text + '\n[paper]\nbreakdowns = { incidents = ["lpa"] }\n',
                    encoding="utf-8")
    lines, n = [GOOD_HEADER], 0
    for year, at in ((2024, 0), (2025, 1)):
        for month in range(1, 13):
            for lpa, per_month in parts.items():
                for day in range(1, per_month[at] + 1):
                    n += 1
                    lines.append(f"X{n},{year}-{month:02d}-{day:02d},{lpa},1,")
    (folder / "parts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli(["--project", folder, "ingest", "incidents", folder / "parts.csv"])
    assert result.exit_code == 0, result.output


def test_a_part_named_as_the_blank_rows_print_is_told_from_them(tmp_path, cli):
    """An extract whose LPA is 'Not recorded' on some rows and blank on others (a pivot
    table's blanks filled so, beside blanks left): the paper listed "Not recorded (+44.0%),
    not recorded (0.0%)", and `kpi show` a part '—' beside the blank rows' '—', two parts
    under one name, exit 0. By hand, YE 2025-12 against YE 2025-01: Walsall 120 against 120;
    'Not recorded' 4 a month, then 6: 72 against 11 * 4 + 6 = 50, +44.0%; the blank rows 5
    a month throughout, 60 against 60; '—' 6 a month, then 5: 60 against 71, -15.5%."""
    folder = make_project(tmp_path / "project")
    _with_parts(folder, cli, {"Walsall": (10, 10), "Not recorded": (4, 6), "": (5, 5),
                              "—": (6, 5)})
    paper = tmp_path / "board.md"
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-12",
                  "--output", paper])
    assert result.exit_code == 0, result.output
    text = _shown(PARSER.render(paper.read_text(encoding="utf-8")))
    ranking = re.search(r"By LPA, the percentage change, best first: (.*?)\.(?: |$)", text,
                        re.MULTILINE)
    assert ranking is not None, text
    items = dict(item[:-1].rsplit(" (", 1) for item in ranking.group(1).split(", "))
    assert items == {"—": "\u221215.5%", "Walsall": "0.0%", "not recorded (blank)": "0.0%",
                     "Not recorded": "+44.0%"}, ranking.group(1)
    shown = cli(["--project", folder, "show", "incidents", "--period", "2025-12",
                 "--format", "markdown"])
    assert shown.exit_code == 0, shown.output
    rows = [line for line in shown.stdout.split("## By lpa")[1].splitlines()
            if line.startswith("| ") and not line.startswith("| rank")]
    named = {cells[1]: cells[2] for cells in (
        [c.strip() for c in line.strip("|").split("|")] for line in rows)}
    assert named == {"Walsall": "120", "Not recorded": "72", "—": "60", "— (blank)": "60"}


# ---------------------------------------------------------------------------------------------
# A chart's labels


@settings(max_examples=150, deadline=None)
@given(count=st.integers(2, 12),
       start=st.lists(st.sampled_from(["Birmingham", "Central", "and", "Ladywood", "St",
                                       "Mary's", "Neighbourhood", "Policing", "Unit"]),
                      min_size=2, max_size=8),
       end=st.lists(st.sampled_from(["Ward", "Sector", "Area", "East", "001A"]), min_size=1,
                    max_size=3))
@example(count=7, start=["Birmingham", "Central", "and", "Ladywood", "Neighbourhood",
                         "Policing", "Unit"], end=["East"])
def test_no_two_parts_share_a_charts_label(count, start, end):
    """A long name is cut in the middle on a chart's axis ("… Unit East"), so two parts whose
    names differ only there were drawn under one label, their bars told apart by nothing:
    "Birmingham Central and … Unit East" for the North and the South sector. Each part's
    label is its own, within the lines the axis gives a name."""
    from kpi import charts

    sides = ["North", "South", "West", "Upper", "Lower", "Inner", "Outer", "Old", "New",
             "Little", "Great", "Far"]
    names = [" ".join([*start, side, *end]) for side in sides[:count]]
    labels = charts.part_labels(names)
    assert len(set(labels)) == len(names), labels
    most = 2 if count <= charts.PART_TWO_LINES else 1
    for label in labels:
        lines = label.split("\n")
        assert len(lines) <= most and all(len(line) <= charts.PART_LINE for line in lines), \
            label


# ---------------------------------------------------------------------------------------------
# Right-to-left names among the paper's words


def _visual(text: str) -> str | None:
    """The text in display order, left to right, in a left-to-right paragraph, as GNU FriBidi
    (the Unicode bidirectional algorithm) lays it out; None where the library is missing."""
    import ctypes

    try:
        library = ctypes.CDLL("libfribidi.so.0")
    except OSError:
        return None
    size = len(text)
    logical = (ctypes.c_uint32 * size)(*map(ord, text))
    shown = (ctypes.c_uint32 * size)()
    direction = ctypes.c_uint32(0x110)  # FRIBIDI_PAR_LTR
    library.fribidi_log2vis(logical, size, ctypes.byref(direction), shown, None, None, None)
    return "".join(chr(c) for c in shown)


def test_a_right_to_left_name_keeps_its_figure_beside_it_in_every_format(tmp_path, cli):
    """An Arabic LPA name took the figures after it into its right-to-left run: "By LPA, the
    percentage change, best first: بلدة (-15.5%), Walsall (0.0%), مدينة (+44.0%)" displayed
    with "(%15.5-)", the sign and parentheses turned, and the two parts' figures on the wrong
    sides of their names. Each name holding right-to-left letters is set between
    left-to-right marks in the Markdown, HTML and Word papers. By hand, YE 2025-12 against YE
    2025-01: 'بلدة' 60 against 71, -15.5%; Walsall 120 against 120; 'مدينة' 72 against 50,
    +44.0%."""
    folder = make_project(tmp_path / "project")
    _with_parts(folder, cli, {"Walsall": (10, 10), "مدينة": (4, 6), "بلدة": (6, 5)})
    paths = {fmt: tmp_path / f"board.{fmt}" for fmt in ("markdown", "html", "docx")}
    for fmt, path in paths.items():
        result = cli(["--project", folder, "export", fmt, "--period", "2025-12", "--output",
                      path])
        assert result.exit_code == 0, result.output
    import docx

    texts = {"markdown": _shown(PARSER.render(paths["markdown"].read_text(encoding="utf-8"))),
             "html": _shown(paths["html"].read_text(encoding="utf-8")),
             "docx": "\n".join(p.text for p in docx.Document(str(paths["docx"])).paragraphs)}
    lrm = "\u200e"
    expected = (f"By LPA, the percentage change, best first: {lrm}بلدة{lrm} (-15.5%), Walsall "
                f"(0.0%), {lrm}مدينة{lrm} (+44.0%).")
    for fmt, text in texts.items():
        assert expected in text.replace("\u2212", "-").replace("\u2060", ""), (fmt, text)
    shown = _visual(expected)
    if shown is not None:  # each figure reads as printed, left to right, in its order
        assert re.findall(r"\([^()]*\)", shown) == ["(-15.5%)", "(0.0%)", "(+44.0%)"], shown


# ---------------------------------------------------------------------------------------------
# Text of several lines in a table's cell


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_notes_of_two_lines_read_as_typed_in_kpi_show(project, cli, fmt):
    """A KPI's notes (free text, which kpi.toml may write over several lines) printed
    "first line?second line" in `kpi show`: the line break was shown as a control
    character. A cell shows it as a space (`render.one_line`), as the paper does."""
    toml = project / "kpi.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('title = "Victims"',
                                 'title = "Victims"\nnotes = """first line\nsecond line"""', 1),
                    encoding="utf-8")
    result = cli(["--project", project, "show", "victims", "--period", "2025-12", "--format",
                  fmt])
    assert result.exit_code == 0, result.output
    assert "first line second line" in result.stdout
    assert "?" not in result.stdout.split("notes", 1)[1].splitlines()[0]


# ---------------------------------------------------------------------------------------------
# Names that differ only in a dash or a minus sign


DASHED = {"Walsall": (10, 10), "Route -1": (12, 14), "Route \u22121": (6, 5),
          "Route \u20131": (5, 5)}


def test_names_differing_only_in_a_dash_stay_apart_in_every_face(tmp_path, cli):
    """Three parts whose names differ only in a hyphen-minus, a minus sign and an en dash
    ("Route -1", "Route \u22121", "Route \u20131"). The HTML and Word papers set a true minus
    sign in every negative number of their text, names too, so "Route -1" printed as
    "Route \u22121", another part's name: the ranking read "Route \u22121 (\u221215.5%), Route
    \u20131 (0.0%), Walsall (0.0%), Route \u22121 (+15.1%)" and the chart's caption named
    "Route \u22121" the highest, exit 0. A name is now printed as it is
    (`kpi.writers.printed`). By hand, YE 2025-12 against YE 2025-01: 'Route -1' 14 a month
    in 2025, 12 in 2024: 168 against 11 * 12 + 14 = 146, +15.1%; 'Route \u22121' 60
    against 11 * 6 + 5 = 71, -15.5%; 'Route \u20131' 60 against 60; Walsall 120 against
    120."""
    folder = make_project(tmp_path / "project")
    toml = folder / "kpi.toml"
    # the project's title, in the page header too, as written
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'name = "Hostile inputs"', 'name = "Route -1 review"', 1) + (
        '\n[[charts]]\nid = "by_lpa"\ntype = "compare"\ntitle = "By LPA"\n'
        'kpis = ["incidents"]\nby = "lpa"\n'), encoding="utf-8")
    _with_parts(folder, cli, DASHED)
    paths = {fmt: tmp_path / f"board.{fmt}" for fmt in ("markdown", "html", "docx")}
    for fmt, path in paths.items():
        result = cli(["--project", folder, "export", fmt, "--period", "2025-12", "--output",
                      path])
        assert result.exit_code == 0, result.output
    import docx

    texts = {"markdown": _shown(PARSER.render(paths["markdown"].read_text(encoding="utf-8"))),
             "html": _shown(paths["html"].read_text(encoding="utf-8")),
             "docx": "\n".join(p.text for p in docx.Document(str(paths["docx"])).paragraphs)}
    for fmt, text in texts.items():
        text = text.replace("\u2060", "")  # the Word paper joins a minus to its number
        ranking = re.search(r"By LPA, the percentage change, best first: (.*?)\.(?: |$)", text,
                            re.MULTILINE)
        assert ranking is not None, (fmt, text)
        items = dict(item[:-1].rsplit(" (", 1) for item in ranking.group(1).split(", "))
        assert items == {"Route \u22121": "\u221215.5%", "Route \u20131": "0.0%",
                         "Walsall": "0.0%", "Route -1": "+15.1%"}, (fmt, ranking.group(1))
        assert "Figure 1 \u2013 By LPA. Highest Route -1 (168), lowest 60 (2 parts)" in text, \
            (fmt, text)
    assert '@top-left { content: "Route -1 review' in paths["html"].read_text(encoding="utf-8")
    header = docx.Document(str(paths["docx"])).sections[0].header.paragraphs[0].text
    assert header.startswith("Route -1 review"), header
    shown = cli(["--project", folder, "show", "incidents", "--period", "2025-12",
                 "--format", "json"])
    assert shown.exit_code == 0, shown.output
    import json

    got = {(r["part"], r["current"], r["comparison"])
           for r in json.loads(shown.stdout)["breakdowns"]["lpa"]}
    assert got == {("Walsall", 120, 120), ("Route -1", 168, 146), ("Route \u22121", 60, 71),
                   ("Route \u20131", 60, 60)}
    compared = cli(["--project", folder, "compare", "--by", "lpa", "--period", "2025-12",
                    "--format", "xlsx", "--output", tmp_path / "compare.xlsx"])
    assert compared.exit_code == 0, compared.output
    import fastexcel

    table = fastexcel.read_excel(tmp_path / "compare.xlsx").load_table("compare").to_polars()
    figures = {(r["part"], r["current_value"], r["comparison_value"])
               for r in table.filter(table["kpi"] == "incidents").iter_rows(named=True)}
    assert figures == {("Walsall", 120, 120), ("Route -1", 168, 146),
                       ("Route \u22121", 60, 71), ("Route \u20131", 60, 60)}


def test_a_charts_labels_tell_apart_names_that_print_alike():
    """On a chart's axis (DejaVu Sans) an en dash and a minus sign are drawn alike: the bars
    of "Route \u20131" and "Route \u22121" read as one part's. Each is followed by the names
    of the characters in which it differs from the other."""
    from kpi.charts import part_labels
    from kpi.text import told_apart

    assert told_apart(list(DASHED)) == [
        "Walsall", "Route -1 (hyphen-minus)", "Route \u22121 (minus sign)",
        "Route \u20131 (en dash)"]
    assert told_apart(["O'Brien", "O\u2019Brien", "Dudley"]) == [
        "O'Brien (apostrophe)", "O\u2019Brien (right single quotation mark)", "Dudley"]
    assert told_apart(["A-B", "A-B"]) == ["A-B", "A-B"]  # one name twice is one part's
    labels = part_labels(list(DASHED))
    assert len({label.translate(str.maketrans("\u2212\u2013", "--")) for label in labels}) == 4


NAME_CHARACTERS = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"))


@settings(max_examples=300, deadline=None)
@given(name=st.text(st.one_of(NAME_CHARACTERS, st.sampled_from(
    "-\u2212\u2013\u2060 0123456789()%")), min_size=1, max_size=16))
@example(name="Route -1")
@example(name="-5 Ward")
@example(name="Route \u22121")
def test_any_name_is_printed_as_it_is_in_html_and_word(name):
    """Whatever its characters, a name (`Name`) is printed by the HTML and Word writers as it
    is, between left-to-right marks where it holds right-to-left letters, never with its
    hyphen-minus made a minus sign or its minus joined to what follows."""
    import docx

    from kpi.document import Name
    from kpi.writers import isolated
    from kpi.writers.docx import _NOT_XML, _runs
    from kpi.writers.html import inline

    want = _NOT_XML.sub("", isolated(name))
    assert html.unescape(inline((Name(name),))) == isolated(name)
    paragraph = docx.Document().add_paragraph()
    _runs(paragraph, (Name(name),))
    assert paragraph.text == want
    # and the paper's own words still set a negative number's minus
    assert html.unescape(inline(("fell by -5",))) == "fell by \u22125"


# ---------------------------------------------------------------------------------------------
# The focus's mark and a part named like it


def test_a_part_named_like_the_focus_mark_is_told_from_the_focus(tmp_path, cli):
    """`kpi compare --focus Avon` printed the focus as "Avon (focus)", and so printed a part
    of the data named "Avon (focus)": two rows under one name, the focus's figures read
    against either (exit 0); the paper's peers figure said "Avon (focus) 120; Avon (focus)
    72" in its alt text. The focus is now marked in the column of the tests against it
    ("the focus"), and named in a sentence of the alt text of its own; a name is printed as
    it is. By hand, YE 2025-12 against YE 2025-01: Avon 120 against 120; 'Avon (focus)' 6 a
    month in 2025, 4 in 2024: 72 against 11 * 4 + 6 = 50; Bure 60 against 11 * 6 + 5 = 71."""
    folder = make_project(tmp_path / "project")
    toml = folder / "kpi.toml"
    _with_parts(folder, cli, {"Avon": (10, 10), "Avon (focus)": (4, 6), "Bure": (6, 5)})
    for fmt in ("table", "markdown"):
        result = cli(["--project", folder, "compare", "--by", "lpa", "--period", "2025-12",
                      "--focus", "Avon", "--kpi", "incidents", "--format", fmt])
        assert result.exit_code == 0, result.output
        lines = [line.strip().strip("|") for line in result.stdout.splitlines()]
        header = next(line for line in lines if line.lstrip().startswith("rank"))
        split = (lambda line: [c.strip() for c in line.split("|")]) if fmt == "markdown" \
            else (lambda line: re.split(r"\s{2,}", line.strip()))
        columns = split(header)
        rows = [dict(zip(columns, split(line), strict=True)) for line in lines
                if re.match(r"\s*[0-9—]+\s*(\||\s)", line)]
        got = {r["lpa"]: (r["comparison"], r["current"], r["differs from Avon"]) for r in rows}
        assert len(rows) == 3 and got == {"Avon": ("120", "120", "the focus"),
                                          "Avon (focus)": ("50", "72", "—"),
                                          "Bure": ("71", "60", "—")}, (fmt, result.stdout)
    text = toml.read_text(encoding="utf-8").replace(
        'breakdowns = ["lpa"]', 'breakdowns = ["lpa"]\npeers = "near"', 1)
    toml.write_text(text + '\n[peers.near]\ntitle = "neighbours"\ncolumn = "lpa"\n'
                    'members = ["Avon", "Avon (focus)", "Bure"]\nfocus = "Avon"\n',
                    encoding="utf-8")
    paper = tmp_path / "board.html"
    result = cli(["--project", folder, "export", "html", "--period", "2025-12", "--output",
                  paper])
    assert result.exit_code == 0, result.output
    alts = [html.unescape(a) for a in re.findall(r'alt="(Horizontal bar chart[^"]*)"',
                                                 paper.read_text(encoding="utf-8"))]
    assert len(alts) == 1 and alts[0].endswith(
        "largest first: Avon 120; Avon (focus) 72; Bure 60; group mean 84. The focus is "
        "Avon."), alts


# ---------------------------------------------------------------------------------------------
# Every name from the project, as written, wherever the paper joins it into a sentence


def _renamed_paper_project(folder: Path) -> list[str]:
    """The paper tests' project (`fixtures.paper_project`) with every KPI, priority, table,
    chart and glossary title, the project's name and every LPA and neighbourhood ending in
    " -9", which reads as a negative number; returns the names as renamed. One count is
    printed to a decimal, so the appendix names it among the KPIs printed to other places."""
    import csv

    from fixtures.paper_project import write_paper_project

    toml = write_paper_project(folder)
    names: list[str] = []

    def renamed(match: re.Match) -> str:
        names.append(match.group(2) + " -9")
        return f'{match.group(1)}"{names[-1]}"'

    text = re.sub(r'^((?:title|name|table) = )"([^"]*)"', renamed,
                  toml.read_text(encoding="utf-8"), flags=re.MULTILINE)
    text = text.replace("filter = \"offence = 'homicide'\"\n",
                        "filter = \"offence = 'homicide'\"\ndecimals = 1\n", 1)
    toml.write_text(text, encoding="utf-8")
    for path in (folder / "extracts").glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as file:
            rows = list(csv.reader(file))
        for column in ("lpa", "neighbourhood"):
            if column in rows[0]:
                at = rows[0].index(column)
                for row in rows[1:]:
                    names.append(row[at] + " -9")
                    row[at] = names[-1]
        with path.open("w", encoding="utf-8", newline="") as file:
            csv.writer(file).writerows(rows)
    return sorted(set(names))


def _plain_strings(document):
    """Every plain string (not a `Name`) of a paper's document: the text the HTML and Word
    writers set a true minus sign in."""
    from kpi.document import BulletList, Emph, Figure, Name, Paragraph, Slot, Strong, Table

    def walk(content):
        for item in content:
            if isinstance(item, str):
                yield item
            elif isinstance(item, Strong | Emph):
                yield from walk(item.content)
            else:
                assert isinstance(item, Name), item

    yield from walk((*document.title, *document.subtitle,
                     *(i for fact in document.facts for i in fact)))
    for section in document.sections:
        yield from walk(section.title)
        for block in section.blocks:
            if isinstance(block, Paragraph):
                yield from walk(block.content)
            elif isinstance(block, Table):
                yield from walk(c.title for c in block.columns)
                yield from walk(i for row in block.rows for cell in row for i in cell)
                yield from walk(block.caption or ())
            elif isinstance(block, BulletList):
                yield from walk(i for item in block.items for i in item)
            elif isinstance(block, Figure):
                yield from walk(block.caption)
            elif isinstance(block, Slot):
                yield from walk(i for p in block.paragraphs for i in p.content)


RANKED_TOML = """\
[project]
name = "Minus force -9"
baseline = "2024-09"

[population_by]
lpa = "ref/pop.csv"

[peers.near]
column = "lpa"
members = ["Route -9", "Zone -9", "North -9", "South -9"]

[datasets.crimes]
date = "recorded"
[datasets.crimes.columns]
recorded = "date"
lpa = "str"
offence = "str"
loss = "float"

[[priorities]]
id = "p1"
title = "Tier priorities -9"

[[kpis]]
id = "total"
title = "Crime on Route -9"
priority = "p1"
kind = "count"
dataset = "crimes"
better = "lower"
breakdowns = ["lpa", "offence"]

[[kpis]]
id = "share"
title = "Share theft -9"
priority = "p1"
kind = "rate"
dataset = "crimes"
numerator = "offence = 'Theft -9'"
better = "lower"
breakdowns = ["lpa", "offence"]

[[kpis]]
id = "loss"
title = "Money lost -9"
priority = "p1"
kind = "sum"
dataset = "crimes"
value = "loss"
unit = "gbp"
better = "lower"
breakdowns = ["lpa"]
"""


def _ranked_project(folder: Path) -> list[str]:
    """Six LPAs and three offences, every name (and every title) ending in " -9", whose
    theft shares by LPA are close enough that their ranking is printed to more places, which
    the appendix says naming the KPI; returns the names. Seeded: the same rows each time."""
    import csv
    import random

    folder.mkdir(parents=True)
    (folder / "ref").mkdir()
    (folder / "kpi.toml").write_text(RANKED_TOML, encoding="utf-8")
    rng = random.Random(7)
    lpas = {"Route -9": 30, "Zone -9": 12, "North -9": 20, "South -9": 25, "East -9": 8,
            "West -9": 15}
    offences = ["Theft -9", "Assault -9", "Damage -9"]
    with (folder / "c.csv").open("w", encoding="utf-8", newline="") as file:
        out = csv.writer(file)
        out.writerow(["recorded", "lpa", "offence", "loss"])
        for m in range(24):
            year, month = 2023 + (9 + m) // 12, (9 + m) % 12 + 1
            for lpa, base in lpas.items():
                trend = 3 if lpa == "Route -9" else -1 if lpa == "Zone -9" else 0
                for k in range(max(base + m * trend + rng.randint(-2, 2), 1)):
                    offence = offences[k % 2] if lpa == "Route -9" else offences[(k + m) % 3]
                    out.writerow([f"{year}-{month:02d}-{1 + k % 28:02d}", lpa, offence,
                                  round(rng.uniform(-50, 500), 2)])
    with (folder / "ref" / "pop.csv").open("w", encoding="utf-8", newline="") as file:
        out = csv.writer(file)
        out.writerow(["lpa", "population", "year"])
        out.writerows([lpa, 5000 + 1000 * n, 2024] for n, lpa in enumerate(lpas))
    titles = re.findall(r'^(?:title|name) = "([^"]*)"', RANKED_TOML, re.MULTILINE)
    return sorted({*titles, *lpas, *offences})


def _printed_as_written(folder: Path, tmp_path: Path, cli, names: list[str], full: bool,
                        wanted: list[str]) -> None:
    """No plain string of the paper of September 2025 holds one of `names` (each ending in
    " -9"), and each face (Markdown, HTML and Word) prints them as written, never "\u22129",
    and says each of `wanted`."""
    import docx

    import kpi
    from kpi import board, paper
    from kpi.periods import Comparison, Month

    model = board.build(kpi.open(folder).definition, Month.of(2025, 9), Comparison.BASELINE,
                        full=full)
    document = paper.build_paper(model).document
    holding = {(name, text) for text in _plain_strings(document) for name in names
               if name in text}
    assert holding == set(), sorted(holding)[:5]
    paths = {fmt: tmp_path / f"board.{fmt}" for fmt in ("markdown", "html", "docx")}
    for fmt, path in paths.items():
        result = cli(["--project", folder, "export", fmt, "--period", "2025-09", "--output",
                      path, *(["--full"] if full else [])])
        assert result.exit_code == 0, result.output
    word = docx.Document(str(paths["docx"]))
    texts = {"markdown": _shown(PARSER.render(paths["markdown"].read_text(encoding="utf-8"))),
             "html": _shown(paths["html"].read_text(encoding="utf-8")),
             "docx": "\n".join([p.text for p in word.paragraphs] + [
                 p.text for t in word.tables for c in t._cells for p in c.paragraphs])}
    for fmt, text in texts.items():
        text = re.sub("[\u2060\u200b\u200e]", "", text)
        for name in names:
            assert name.replace(" -9", " \u22129") not in text, (fmt, name)
        printed = [name for name in names if name in text]
        assert len(printed) >= len(names) // 2, (fmt, printed)
        for said in wanted:
            assert said in text, (fmt, said)


@pytest.mark.parametrize("full", [False, True])
def test_every_name_from_the_project_is_printed_as_written_in_every_face(tmp_path, cli, full):
    """A KPI title holding " -2" ("Share -2 theft") printed with a true minus sign in
    Appendix 1 of the HTML and Word papers ("Parts are listed so for Share \u22122 theft."),
    as written everywhere else: the sentence joined the KPIs' titles into plain text, which
    the writers set minus signs in; so did the appendix's list of KPIs printed to other
    places, and a glossary's title (its appendix's heading) and column headings were plain
    text too. Every name from the project travels as a `Name` (`writers.printed`): with
    every title, part and the project's name ending in " -9", no plain string of the paper
    holds one, and every face prints each as written, never "\u22129"."""
    folder = tmp_path / "project"
    names = _renamed_paper_project(folder)
    for dataset in ("crimes", "incidents", "workforce", "training"):
        result = cli(["--project", folder, "ingest", dataset, "-q"])
        assert result.exit_code == 0, result.output
    _printed_as_written(folder, tmp_path, cli, names, full, [
        "counts to whole numbers (to one decimal place for Homicides -9)",
        "Appendix 2: Outcome codes glossary -9"])


def test_a_ranked_kpis_title_is_printed_as_written_in_the_appendix(tmp_path, cli):
    """The sentence naming the KPIs whose parts are ranked to more places ("Parts are listed
    so for Share theft -9.") prints the title as written in every face
    (`_printed_as_written`)."""
    folder = tmp_path / "project"
    names = _ranked_project(folder)
    result = cli(["--project", folder, "ingest", "crimes", folder / "c.csv", "-q"])
    assert result.exit_code == 0, result.output
    _printed_as_written(folder, tmp_path, cli, names, True,
                        ["Parts are listed so for Share theft -9."])
