"""kpi export docx and html: the same document as the Markdown paper, in Word and in a browser.

The three writers are checked against each other (same headings, same numbered paragraphs,
same table cells) and against golden files of the bundled sample; the HTML is rendered by
headless Chromium to PDF and the Word file converted to PDF by LibreOffice, and both PDFs are
read back with pdftotext. Those two tests skip, saying why, only where the programs are not
installed (.ci/run installs them with apt-get).
"""

from __future__ import annotations

import html as html_lib
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import paper_text
import pytest
from fixtures.paper_project import load_paper_project
from markdown_it import MarkdownIt
from paper_text import ascii_minus as _ascii_minus
from test_paper import without_load_dates

GOLDEN = Path(__file__).parent / "golden"
W = paper_text.W


@pytest.fixture(scope="module")
def sample(sample_paper):
    """The bundled sample's paper for September 2025 in the three formats (with the sample's
    commentary file, which is found by its name), in one folder: conftest.py's
    `sample_paper`, exported once per worker process."""
    return {fmt: sample_paper[fmt] for fmt in ("markdown", "html", "docx")}


def _docx_paragraphs(path: Path) -> list[tuple[str, str]]:
    """(style id, text) of every body paragraph of a .docx, tables' cells included."""
    from lxml import etree

    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("word/document.xml"))
    out = []
    for p in root.iter(f"{W}p"):
        style = p.find(f"{W}pPr/{W}pStyle")
        out.append((style.get(f"{W}val") if style is not None else "",
                    paper_text.docx_text(p, tab="\t")))
    return out


def _markdown_blocks(path: Path) -> tuple[list[str], list[str]]:
    """Headings and numbered paragraphs of the Markdown paper as plain text."""
    said = paper_text.of_markdown(path.read_text(encoding="utf-8"))
    return said.headings, said.numbered


def _figure_count(markdown: Path) -> int:
    return len(re.findall(r"^!\[Figure \d+ ", markdown.read_text(encoding="utf-8"),
                          flags=re.MULTILINE))


_plain = paper_text.text_of




# ---------------------------------------------------------------------------------------------
# One document, three writers


def test_three_formats_say_the_same_thing(sample):
    """Headings, numbered paragraphs and every table cell alike in the three formats, and the
    front page's bulleted lines alike in HTML and Word (paper_text: the differential oracle
    compares the papers it draws so too)."""
    markdown = paper_text.of_markdown(sample["markdown"].read_text(encoding="utf-8"))
    assert "11. Equality Implications" in markdown.headings
    assert "12. Next Steps" in markdown.headings
    assert len(markdown.numbered) > 50 and len(markdown.tables) >= 2
    html = paper_text.of_html(sample["html"].read_text(encoding="utf-8"))
    word = paper_text.of_docx(sample["docx"])
    assert len(html.bullets) >= 5
    assert paper_text.first_difference(markdown, html, ("Markdown", "HTML"),
                                       bullets=False) is None
    assert paper_text.first_difference(markdown, word, ("Markdown", "Word"),
                                       bullets=False) is None
    assert paper_text.first_difference(html, word, ("HTML", "Word")) is None


def test_commentary_is_in_every_format(sample):
    phrase = "introduction of new offences under the Online Safety Act 2023."
    assert phrase in sample["markdown"].read_text(encoding="utf-8")
    assert phrase in sample["html"].read_text(encoding="utf-8")
    assert any(phrase in t for _, t in _docx_paragraphs(sample["docx"]))
    word = _docx_paragraphs(sample["docx"])
    assert ("", "Author: Strategic Performance Team") in [
        (s if s != "Normal" else "", t) for s, t in word]


def test_html_is_self_contained_and_accessible(sample):
    page = sample["html"].read_text(encoding="utf-8")
    # Nothing fetched from elsewhere: no link, script or remote image.
    assert not re.search(r"<(?:link|script)\b", page)
    assert not re.search(r'src="(?!data:image/png;base64,)', page)
    images = re.findall(r"<img ([^>]*)>", page)
    figures = _figure_count(sample["markdown"])
    assert figures >= 8 and len(images) == figures
    for attributes in images:
        alt = re.search(r'alt="([^"]*)"', attributes)
        assert alt and len(alt.group(1)) > 20
    assert "@page { size: A4" in page
    for table in re.findall(r"<table.*?</table>", page, re.DOTALL):
        head = re.search(r"<thead>(.*?)</thead>", table, re.DOTALL).group(1)
        assert head.count('<th scope="col"') == head.count("<th")
    # The embedded figures are the PNG files beside the paper.
    folder = sample["html"].parent / "board-files"
    import base64

    embedded = [base64.b64decode(d) for d in re.findall(r"base64,([A-Za-z0-9+/=]+)", page)]
    assert embedded == [p.read_bytes() for p in sorted(
        folder.glob("figure-*.png"), key=lambda p: int(p.name.split("-")[1]))]


def test_docx_uses_word_styles_tables_and_figures(sample):
    from docx import Document

    doc = Document(str(sample["docx"]))
    styles = {p.style.name for p in doc.paragraphs}
    assert {"Title", "Subtitle", "Heading 1", "Caption", "List Bullet"} <= styles
    figures = _figure_count(sample["markdown"])
    assert len(doc.inline_shapes) == figures
    for table in doc.tables:
        header = table.rows[0]._tr
        assert header.find(f"{W}trPr/{W}tblHeader") is not None
    with zipfile.ZipFile(sample["docx"]) as archive:
        xml = archive.read("word/document.xml").decode("utf-8")
    descriptions = re.findall(r'<wp:docPr [^>]*descr="([^"]*)"', xml)
    assert len(descriptions) == figures and all(descriptions)
    props = doc.core_properties
    assert props.title.startswith("West Midlands Police and Crime Plan")
    assert props.author == "Strategic Performance Team"
    assert props.created == props.modified and props.created.year == 2000


def test_docx_is_fit_to_send(sample):
    """Columns as wide as their content needs, rows never split, header rows repeated, and
    every page headed by the title and marking and footed by the marking and page number."""
    from docx import Document
    from docx.shared import Cm

    doc = Document(str(sample["docx"]))
    usable = doc.sections[0].page_width - doc.sections[0].left_margin \
        - doc.sections[0].right_margin
    for table in doc.tables:
        tbl = table._tbl
        assert tbl.find(f"{W}tblPr/{W}tblLayout").get(f"{W}type") == "fixed"
        widths = [c.width for c in table.columns]
        assert sum(widths) <= usable + Cm(0.01)
        for row in table.rows:
            assert row._tr.find(f"{W}trPr/{W}cantSplit") is not None
    # The KPI titles get the width the short columns of figures and words do not need.
    # (The board's paper: Tables 1 and 2; the section summaries are in --full.)
    summaries = [t for t in doc.tables if t.rows[0].cells[0].text == "KPI"
                 and len(t.columns) >= 5]
    assert summaries and all(t.columns[0].width > Cm(3.2) for t in summaries)
    header = doc.sections[0].header.paragraphs[0].text
    assert header == ("West Midlands Police and Crime Plan 2025-2029 (synthetic sample)"
                      "\tOFFICIAL")
    footer = doc.sections[0].footer._element
    codes = [t.text.strip() for t in footer.iter(f"{W}instrText")]
    assert codes == ["PAGE", "NUMPAGES"]
    assert "OFFICIAL\tPage " in "".join(t.text or "\t" for t in footer.iter(f"{W}t", f"{W}tab"))
    with zipfile.ZipFile(sample["docx"]) as archive:
        xml = archive.read("word/document.xml").decode("utf-8")
    # Negative numbers: a true minus sign joined to the number, never a hyphen-minus.
    assert "(\u2212\u20608.7%)" in xml and not re.search(r"[ (]-\d", xml)


def test_docx_draft_has_one_empty_commentary_place_a_section_never_a_stack(sample):
    """The draft holds the section's place where the analyst writes, and a KPI's place only
    where its commentary is: it stacked seven or eight empty places under Tables 1 and 2, one
    per KPI, and two more at the end of the last priority."""
    from docx import Document

    doc = Document(str(sample["docx"]))
    body = list(doc.element.body)
    empty = [n for n, e in enumerate(body) if e.tag == f"{W}sdt"
             and e.find(f"{W}sdtPr/{W}showingPlcHdr") is not None]
    filled = [e.find(f"{W}sdtPr/{W}tag").get(f"{W}val") for e in body if e.tag == f"{W}sdt"
              and e.find(f"{W}sdtPr/{W}showingPlcHdr") is None]
    # The sample's commentary: the introduction, two sections, two KPIs, the last two
    # sections; no other place holds text.
    assert sorted(filled) == sorted(f"kpi-commentary:{k}" for k in (
        "paper.introduction", "sections.community_policing", "sections.neighbourhood_crime",
        "kpis.sexual_violence", "kpis.shoplifting", "paper.equality_implications",
        "paper.next_steps"))
    assert empty and all(b - a > 1 for a, b in zip(empty, empty[1:], strict=False))
    heading = None
    per_section: dict[str, int] = {}
    for n, element in enumerate(body):
        style = element.find(f"{W}pPr/{W}pStyle")
        if style is not None and style.get(f"{W}val") in ("Heading1", "Heading 1"):
            heading = "".join(t.text for t in element.iter(f"{W}t"))
        if n in empty:
            per_section[heading] = per_section.get(heading, 0) + 1
    assert set(per_section.values()) == {1}, per_section
    assert len(per_section) == 7  # the priorities without commentary of their own


@pytest.mark.parametrize("text, expected", [
    ("a change of -3 (-11.7%)", "a change of \u22123 (\u221211.7%)"),
    ("-28:50 and −1", "\u221228:50 and −1"),
    ("YE 2024-03, 2025-2029, year-on-year, 1-2, x-1, A-3, see 2.1-2.4", None),
    ("[-5] -0.5pp", "[\u22125] \u22120.5pp"),
])
def test_minus_signs_only_before_a_negative_number(text, expected):
    from kpi.writers import minus_signs

    assert minus_signs(text) == (text if expected is None else expected)


@pytest.mark.parametrize("value, message", [
    ("1", "must be text"),
    ('"' + "X" * 61 + '"', "at most 60 printable characters"),
    # A control character is refused by the one rule for text from every source.
    ('"OFFICIAL\\u0007"', "expected text without control characters"),
])
def test_a_bad_marking_is_an_error_naming_it(fixture_project, tmp_path, value, message):
    from kpi.catalogue import load_project
    from kpi.errors import ConfigError

    text = (fixture_project / "kpi.toml").read_text(encoding="utf-8")
    folder = tmp_path / "p"
    shutil.copytree(fixture_project, folder)
    changed = re.sub(r"(?m)^\[paper\]$", lambda _: f"[paper]\nmarking = {value}", text) \
        if "[paper]" in text else text + f"\n[paper]\nmarking = {value}\n"
    (folder / "kpi.toml").write_text(changed, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_project(folder / "kpi.toml")
    assert re.search(r"\[paper\], key 'marking'|key 'paper\.marking'", str(error.value))
    assert message in str(error.value)


def _normalised_html(text: str) -> str:
    # Figures are checked byte for byte by the chart tests; here they are only placeholders.
    return re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,(png)", without_load_dates(text))


def _document_xml(path: Path) -> str:
    from lxml import etree

    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("word/document.xml"))
    text = etree.tostring(root, pretty_print=True, encoding="unicode")
    return without_load_dates(text)


@pytest.mark.parametrize("fmt, golden, read", [
    ("html", "board-2025-09.html", lambda p: _normalised_html(p.read_text(encoding="utf-8"))),
    ("docx", "board-2025-09.document.xml", _document_xml),
])
def test_bundled_sample_matches_golden(sample, fmt, golden, read):
    text = read(sample[fmt])
    path = GOLDEN / golden
    if os.environ.get("KPI_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_same_data_same_bytes(sample, tmp_path, cli):
    for fmt in ("html", "docx"):
        again = tmp_path / sample[fmt].name
        result = cli(["export", fmt, "--period", "2025-09", "--output", again])
        assert result.exit_code == 0, result.output
        assert again.read_bytes() == sample[fmt].read_bytes(), fmt


def test_a_house_template_gives_its_styles(sample, tmp_path, cli):
    """A template's styles and page set-up are used and its own text is dropped; a template
    that never defined the styles the paper uses is given them."""
    import docx
    from docx.shared import Cm, RGBColor

    house = docx.Document()
    house.styles["Heading 1"].font.color.rgb = RGBColor(0x80, 0x00, 0x20)
    house.styles["Normal"].font.name = "Liberation Serif"
    house.sections[0].left_margin = Cm(3.1)
    house.add_paragraph("Letterhead text that must not reach the paper")
    # A template saved by Word may lack built-in styles it never used.
    caption = house.styles["Caption"].element
    caption.getparent().remove(caption)
    template = tmp_path / "house.docx"
    house.save(str(template))
    out = tmp_path / "board.docx"
    result = cli(["export", "docx", "--period", "2025-09", "--output", out,
                  "--template", template])
    assert result.exit_code == 0, result.output
    doc = docx.Document(str(out))
    assert doc.styles["Heading 1"].font.color.rgb == RGBColor(0x80, 0x00, 0x20)
    assert doc.styles["Normal"].font.name == "Liberation Serif"
    assert abs(doc.sections[0].left_margin - Cm(3.1)) < Cm(0.01)
    assert all("Letterhead" not in p.text for p in doc.paragraphs)
    assert any(p.style.name == "Caption" for p in doc.paragraphs)
    # A template without a header or footer gets the paper's.
    assert "Page " in doc.sections[0].footer.paragraphs[0].text

    # A house template's own header and footer are kept as they are.
    house.sections[0].header.is_linked_to_previous = False
    house.sections[0].header.paragraphs[0].text = "House header"
    house.sections[0].footer.is_linked_to_previous = False
    house.sections[0].footer.paragraphs[0].text = "House footer"
    house.save(str(template))
    result = cli(["export", "docx", "--period", "2025-09", "--output", out,
                  "--template", template])
    assert result.exit_code == 0, result.output
    doc = docx.Document(str(out))
    assert [p.text for p in doc.sections[0].header.paragraphs] == ["House header"]
    assert [p.text for p in doc.sections[0].footer.paragraphs] == ["House footer"]


@pytest.mark.parametrize("fmt, name, message", [
    ("docx", "x.md", "should be a Word file ending in .docx"),
    ("html", "x.docx", "should be an HTML file ending in .html"),
])
def test_output_must_match_the_format(tmp_path, cli, fmt, name, message):
    result = cli(["export", fmt, "--period", "2025-09", "--output", tmp_path / name])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / name).exists()


def test_a_template_that_is_not_docx_is_an_error(tmp_path, cli):
    template = tmp_path / "house.docx"
    template.write_text("not a zip", encoding="utf-8")
    result = cli(["export", "docx", "--period", "2025-09", "--output", tmp_path / "b.docx",
                  "--template", template])
    assert result.exit_code == 3
    assert f"{template}: not a Word .docx template" in result.output
    assert not (tmp_path / "b.docx").exists()


# ---------------------------------------------------------------------------------------------
# Commentary


COMMENTARY = '''\
[paper]
author = "A. N. Analyst <analysis@example.org>"
job_title = "Performance *Lead* & Co"
introduction = """
First paragraph with | pipes, *stars*, [brackets](x) and <b>tags</b> & ampersands.

Second paragraph of the introduction."""
next_steps = "The board is asked to note the report."

[sections.violence]
text = "Violence context."

[kpis.total_crime]
text = "Crime context: 100% verbatim."
'''


@pytest.fixture(scope="module")
def fixture_project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("commentary")
    load_paper_project(folder)
    return folder


def test_commentary_is_verbatim_in_every_format(fixture_project, tmp_path, cli):
    notes = tmp_path / "notes.toml"
    notes.write_text(COMMENTARY, encoding="utf-8")
    paths = {}
    for fmt, suffix in (("markdown", "md"), ("html", "html"), ("docx", "docx")):
        paths[fmt] = tmp_path / f"board.{suffix}"
        result = cli(["--project", fixture_project, "export", fmt, "--period", "2025-09",
                      "--output", paths[fmt], "--commentary", notes])
        assert result.exit_code == 0, result.output
    first = "First paragraph with | pipes, *stars*, [brackets](x) and <b>tags</b> & ampersands."
    headings, paragraphs = _markdown_blocks(paths["markdown"])
    # The analyst's introduction is on the front page, the summary for the board, before the
    # numbered sections.
    text = _plain(MarkdownIt("commonmark").enable("table").render(
        paths["markdown"].read_text(encoding="utf-8")))
    front = text.split("Summary for the board")[1].split("1. Introduction")[0]
    assert first in front and "Second paragraph of the introduction." in front
    assert paragraphs[0].startswith("1.1. This paper reports")
    assert "3.2. Violence context." in paragraphs
    assert "2.3. Crime context: 100% verbatim." in paragraphs
    assert headings[-3:-2] == ["5. Next Steps"]  # no equality implications: no section 5 of it
    assert "Equality Implications" not in " ".join(headings)
    page = paths["html"].read_text(encoding="utf-8")
    assert html_lib.escape(first, quote=False) in page
    assert "<b>" not in page
    word = [t for _, t in _docx_paragraphs(paths["docx"])]
    assert first in word
    assert "Job title: Performance *Lead* & Co" in word


def test_only_a_markdown_paper_has_a_figures_folder(fixture_project, tmp_path, cli):
    """`kpi export html` and `docx` embed their figures, yet wrote the PNGs beside the paper
    too, and left an earlier export's figures there, read as the paper's. Now only Markdown,
    which links them, has the folder; a Markdown paper's own folder of the same name is kept
    for it, and files the user keeps there stay."""
    import base64

    out = tmp_path / "out"
    (out / "board-files").mkdir(parents=True)
    (out / "board-files" / "figure-1-stale.png").write_bytes(b"an earlier export's figure")
    (out / "board-files" / "notes.txt").write_text("mine", encoding="utf-8")

    def export(fmt: str, suffix: str):
        result = cli(["--project", fixture_project, "export", fmt, "--period", "2025-09",
                      "--output", out / f"board.{suffix}"])
        assert result.exit_code == 0, result.output
        return result

    html = export("html", "html")
    assert sorted(p.name for p in (out / "board-files").iterdir()) == ["notes.txt"]
    page = (out / "board.html").read_text(encoding="utf-8")
    embedded = re.findall(r"base64,([A-Za-z0-9+/=]+)", page)
    assert len(embedded) > 0
    assert html.stderr.splitlines()[-1] == \
        f"Embedded {len(embedded)} chart(s) in {out / 'board.html'}"
    export("markdown", "md")
    drawn = {p.name: p.read_bytes() for p in (out / "board-files").glob("figure-*.png")}
    linked = re.findall(r"\]\(board-files/([^)]+)\)",
                        (out / "board.md").read_text(encoding="utf-8"))
    assert sorted(linked) == sorted(drawn) and len(drawn) == len(embedded)
    assert sorted(base64.b64decode(e) for e in embedded) == sorted(drawn.values())
    export("docx", "docx")  # board.md beside it still links board-files/: kept for it
    assert {p.name: p.read_bytes() for p in (out / "board-files").glob("figure-*.png")} == drawn
    with zipfile.ZipFile(out / "board.docx") as word:
        assert len([n for n in word.namelist() if n.startswith("word/media/")]) == len(drawn)
    (out / "board.md").unlink()
    docx = export("docx", "docx")
    assert sorted(p.name for p in (out / "board-files").iterdir()) == ["notes.txt"]
    assert docx.stderr.splitlines()[-1] == \
        f"Embedded {len(drawn)} chart(s) in {out / 'board.docx'}"


def test_default_commentary_is_found_by_month(fixture_project, tmp_path, cli):
    folder = fixture_project / "commentary"
    folder.mkdir(exist_ok=True)
    (folder / "2025-09.toml").write_text('[paper]\nnext_steps = "Note it."\n',
                                         encoding="utf-8")
    try:
        for period, present in (("2025-09", True), ("2025-08", False)):
            out = tmp_path / f"{period}.md"
            result = cli(["--project", fixture_project, "export", "markdown", "--period",
                          period, "--output", out])
            assert result.exit_code == 0, result.output
            assert ("## 5. Next Steps" in out.read_text(encoding="utf-8")) == present
    finally:
        shutil.rmtree(folder)


@pytest.mark.parametrize("text, message", [
    ('[kpis.no_such_kpi]\ntext = "x"\n', "[kpis.no_such_kpi]: 'no_such_kpi' is not a KPI"),
    ('[sections.nowhere]\ntext = "x"\n', "[sections.nowhere]: 'nowhere' is not a plan priority"),
    ('[paper]\nauthr = "x"\n', "[paper] key 'authr': unknown"),
    ('[kpis.total_crime]\ntxt = "x"\n', "needs exactly one key, text"),
    ('[paper\n', "not valid TOML"),
])
def test_a_bad_commentary_is_an_error_naming_it(fixture_project, tmp_path, cli, text,
                                                message):
    notes = tmp_path / "notes.toml"
    notes.write_text(text, encoding="utf-8")
    out = tmp_path / "board.md"
    result = cli(["--project", fixture_project, "export", "markdown", "--period", "2025-09",
                  "--output", out, "--commentary", notes])
    assert result.exit_code == 3, result.output
    assert f"Error: {notes}" in result.output
    assert message in result.output
    assert not out.exists()


def test_a_missing_commentary_file_is_a_usage_error(fixture_project, tmp_path, cli):
    result = cli(["--project", fixture_project, "export", "markdown", "--period", "2025-09",
                  "--output", tmp_path / "b.md", "--commentary", tmp_path / "nope.toml"])
    assert result.exit_code == 2
    assert "--commentary" in result.output and "is not a file" in result.output


def test_another_months_commentary_file_is_refused(fixture_project, tmp_path, cli):
    """`--commentary commentary/2025-08.toml` for September's paper printed August's text
    beside September's figures, exit 0 (`kpi commentary import` refuses the mirror case, a
    paper's commentary written under another month's name). A file named for the paper's own
    month, or named otherwise, is read."""
    text = '[paper]\nintroduction = "Burglary fell after the summer operation."\n'
    august = tmp_path / "2025-08.toml"
    august.write_text(text, encoding="utf-8")
    out = tmp_path / "board.md"
    result = cli(["--project", fixture_project, "export", "markdown", "--period", "2025-09",
                  "--output", out, "--commentary", august])
    assert result.exit_code == 2, result.output
    assert (f"Error: --commentary '{august}' is named for another month (2025-08) than the "
            "paper's (2025-09)") in result.output
    assert "copy that file to 2025-09.toml" in result.output
    assert not out.exists()
    for name in ("2025-09.toml", "notes.toml"):
        notes = tmp_path / name
        notes.write_text(text, encoding="utf-8")
        result = cli(["--project", fixture_project, "export", "markdown", "--period",
                      "2025-09", "--output", out, "--commentary", notes])
        assert result.exit_code == 0, result.output
        assert "Burglary fell after the summer operation." in out.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Rendered by a real browser and a real word processor


def _program(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(f"{' or '.join(names)} is not installed here (.ci/run installs it with apt-get)")


def _chromium_pdf(html: Path, pdf: Path, profile: Path) -> None:
    """`html` printed to `pdf` by headless Chromium, with a profile folder of its own."""
    chromium = _program("chromium", "chromium-browser", "google-chrome")
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                    "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
                    html.as_uri()], check=True, capture_output=True, timeout=240)


def _libreoffice_pdf(docx: Path, folder: Path, profile: Path) -> Path:
    """`docx` converted to PDF by headless LibreOffice into `folder`, with the LibreOffice
    profile `profile` (conftest.py's `office_profile`)."""
    return _libreoffice_pdfs([docx], folder, profile)[0]


def _libreoffice_pdfs(docxs: list[Path], folder: Path, profile: Path) -> list[Path]:
    """Each of `docxs` converted to PDF as `_libreoffice_pdf` converts it, in one start of
    LibreOffice (each document opened and printed on its own)."""
    office = _program("soffice", "libreoffice")
    result = subprocess.run([office, "--headless", "--norestore",
                             f"-env:UserInstallation={profile.as_uri()}",
                             "--convert-to", "pdf", "--outdir", str(folder),
                             *map(str, docxs)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    pdfs = [folder / f"{docx.stem}.pdf" for docx in docxs]
    for pdf in pdfs:
        assert pdf.is_file(), result.stdout + result.stderr
    return pdfs


def _pdf_words(pdf: Path) -> tuple[str, list[tuple[float, float, float]], float, str]:
    """The PDF's text, each word's (xMin, xMax, page width), the page width and the words'
    boxes as pdftotext -bbox gives them."""
    pdftotext = _program("pdftotext")
    text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    bbox = subprocess.run([pdftotext, "-bbox", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    width = float(re.search(r'<page width="([\d.]+)"', bbox).group(1))
    words = [(float(a), float(b), width) for a, b in
             re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"', bbox)]
    return text, words, width, bbox


def _check_pdf(pdf: Path, markdown: Path, vocabulary: set[str], most_pages: int) -> None:
    text, words, width, bbox = _pdf_words(pdf)
    _check_typography(text, vocabulary)
    # "Page N of M" sits at the right of the footer, not where a style's centre tab puts it.
    found = re.findall(r'<word xMin="([\d.]+)"[^>]*>Page</word>\s*<word[^>]*>\d+</word>\s*'
                       r'<word[^>]*>of</word>', bbox)
    assert found and all(float(x) > 0.6 * width for x in found), found[:3]
    flat = " ".join(text.split())
    headings, _ = _markdown_blocks(markdown)
    for heading in headings:
        assert " ".join(heading.split()) in flat, heading
    # No table (or anything else) runs past the page: every word lies inside it.
    assert words and all(0 <= left and right <= width for left, right, _ in words)
    # The widest tables have their last column on the page: the front page's matrix of
    # counts and Table 2's variation.
    flat_text = " ".join(re.sub(r"\s+", " ", text).split())
    assert "All" in flat_text.split("KPIs by the variation in their monthly figures")[0]
    assert "Change Variation" in flat_text
    # The board's paper is one a board tables: at most 20 A4 pages as printed (#18), and
    # no more than the sample's paper needs (Word 19 pages, HTML 19: naming the unusual
    # months where no level moved, not "the level fell after", took HTML from 18).
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) <= most_pages, f"{len(pages)} pages"
    # A short table is printed on one page with its caption: read printed, Table 1 ran five
    # rows on one page and two on the next (Word), Table 2 four and four (HTML).
    for caption, first, last in (
            ("Table 1 \u2013", "Ethics Module 1 (Ethical Policing)", "Ethics Module 7 (Knowledge"),
            ("Table 2 \u2013", "Police officers: women", "Police staff: racially")):
        on = [n for n, page in enumerate(pages) if caption in page]
        assert len(on) == 1, caption
        page = pages[on[0]]
        assert first in page and last in page and "KPI" in page, (caption, page[:300])
    # The first two pages hold the matrix, every exception and the matrix rows' KPIs by name
    # (the last row's last KPI ran onto page 3 in Word), and a front-page line has one
    # marker: the shape, never a bullet beside it ("\u2022 \u25b2").
    front = " ".join(" ".join(pages[:2]).split())
    md = markdown.read_text(encoding="utf-8")
    exceptions = re.findall(r"^- [\u25b2\u25bc\u25bd\u25cb] \*\*(.+?)\*\*", md, re.MULTILINE)
    assert exceptions and all(name in front for name in exceptions), exceptions
    last_row = [line for line in md.splitlines()
                if line.startswith("- **No process chart (cumulative, ")]
    assert last_row and last_row[0].rstrip(".").rsplit("; ", 1)[-1] in front
    assert not re.search(r"\u2022\s*[\u25b2\u25bc\u25bd\u25cb\u25a0\u25c6]", text)


# Characters that join or split words without showing: Word's word joiner after a minus sign,
# and the zero-width space that lets an id in a table break after "_" or "/".
_INVISIBLE = dict.fromkeys(map(ord, "\u2060\u200b\u00ad"))
_BREAK_AFTER = "-_/\u2212"


def _vocabulary(texts) -> set[str]:
    """The words a paper's text holds, and the parts a line may end or start with where a
    word may break: after a hyphen, or after "_" or "/" in an id."""
    words = set()
    for text in texts:
        for word in text.translate(_INVISIBLE).split():
            cuts = [0, *(m.end() for m in re.finditer(f"[{_BREAK_AFTER}](?=.)", word)),
                    len(word)]
            words.update(word[a:b] for a in cuts for b in cuts if a < b)
    return words


def _docx_words(path: Path) -> set[str]:
    from lxml import etree

    texts = [t for _, t in _docx_paragraphs(path)]
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if re.match(r"word/(header|footer)\d*\.xml$", name):
                root = etree.fromstring(archive.read(name))
                texts += [t.text or "" for t in root.iter(f"{W}t")]
    # Word's bullet is a Symbol-font character that PDF text gives as a private-use one.
    return _vocabulary(texts) | {str(n) for n in range(1, 200)} | {"\uf0b7"}


def _html_words(path: Path) -> set[str]:
    page = path.read_text(encoding="utf-8")
    style = re.search(r"<style>(.*?)</style>", page, re.DOTALL).group(1)
    running = re.findall(r'content: "([^"]*)"', style)
    body = re.sub(r"<style>.*?</style>|<head>.*?</head>", " ", page, flags=re.DOTALL)
    body = html_lib.unescape(re.sub(r"<wbr>", "", re.sub(r"<(?!wbr)[^>]+>", " ", body)))
    return _vocabulary([body, *running, "Page of"]) | {str(n) for n in range(1, 200)}


def _check_typography(text: str, vocabulary: set[str]) -> None:
    """As printed: no word broken mid-word, no minus sign parted from its number, and a
    page number (and the protective marking) on every page."""
    pages = text.split("\f")
    if not pages[-1].strip():
        pages = pages[:-1]
    total = len(pages)
    for number, page in enumerate(pages, start=1):
        assert re.search(rf"Page {number} of {total}\b", page), f"no page number on page {number}"
        assert page.count("OFFICIAL") >= 2, f"no marking top and bottom of page {number}"
    tokens = text.translate(_INVISIBLE).split()
    # Every printed word is a word of the paper, or a part of one split where it may break.
    # pdftotext may run two table cells together when the gap between them is narrow.
    broken = sorted({t for t in tokens if t not in vocabulary and not any(
        t[:i] in vocabulary and t[i:] in vocabulary for i in range(1, len(t)))})
    assert not broken, f"words broken or run together in print: {broken[:20]}"
    # A minus sign never ends a line or stands apart from its number, and every negative
    # number has a true minus sign.
    assert not [t for t in tokens if re.fullmatch(r"[(\[]?[\u2212-]", t)]
    lines = text.translate(_INVISIBLE).splitlines()
    assert not [line for line in lines if re.search(r"(^|[\s(])\u2212$", line.rstrip())]
    assert not re.search(r"(^|[\s(])-\d", text), "a hyphen-minus where a minus sign belongs"
    assert "\u2212" in text


def test_html_paper_prints_to_a4_in_chromium(sample, tmp_path):
    pdf = tmp_path / "board.pdf"
    _chromium_pdf(sample["html"], pdf, tmp_path / "p")
    info = subprocess.run([_program("pdfinfo"), str(pdf)], check=True, capture_output=True,
                          text=True).stdout
    assert re.search(r"Page size:\s+59[45]\.\d+ x 841\.\d+ pts \(A4\)", info), info
    _check_pdf(pdf, sample["markdown"], _html_words(sample["html"]), 19)
    _check_fills(pdf)
    # Tables are measured as laid out: none is wider than the text column.
    probe = tmp_path / "probe.html"
    page = sample["html"].read_text(encoding="utf-8")
    probe.write_text(page.replace("</body>", """<script>
const body = document.body.getBoundingClientRect();
const wide = [...document.querySelectorAll('table')].filter(
  t => t.getBoundingClientRect().right > body.right + 1).length;
document.body.setAttribute('data-wide-tables', String(wide));
document.body.setAttribute('data-tables', String(document.querySelectorAll('table').length));
</script></body>"""), encoding="utf-8")
    chromium = _program("chromium", "chromium-browser", "google-chrome")
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                          "--disable-background-networking", "--disable-component-update",
                          "--disable-sync", "--no-first-run",
                          f"--user-data-dir={tmp_path / 'q'}", "--window-size=794,1123",
                          "--dump-dom", probe.as_uri()],
                         check=True, capture_output=True, text=True, timeout=240).stdout
    assert 'data-wide-tables="0"' in dom
    assert int(re.search(r'data-tables="(\d+)"', dom).group(1)) >= 4


@pytest.fixture(scope="module")
def crowded(tmp_path_factory) -> Path:
    """The crowded sample with 14 more exceptions (`_crowded_sample`), its Word paper
    exported beside it as crowded.docx, for `word_printed` to print; only
    test_a_front_page_with_more_exceptions_still_fits_two_pages[14] exports from it."""
    from typer.testing import CliRunner

    from kpi.cli import app

    def cli(args, **kwargs):
        return CliRunner().invoke(app, [str(a) for a in args], **kwargs)

    folder = tmp_path_factory.mktemp("crowded")
    project = _crowded_sample(folder, 14, cli)
    result = cli(["--project", project, "export", "docx", "--period", "2025-09", "--output",
                  folder / "crowded.docx"])
    assert result.exit_code == 0, result.output
    return project


@pytest.fixture(scope="module")
def word_printed(sample, crowded, tmp_path_factory, office_profile) -> dict[str, Path]:
    """The module's Word papers converted to PDF by LibreOffice in one start (each document
    opened and printed on its own, as `_libreoffice_pdfs` does; a start costs about a second
    of CPU): the sample's ("sample"), the crowded sample's ("crowded"), the headings
    paper without a template and with a house template whose Heading 1 does not keep with
    the next paragraph ("plain", "house"), and the sample's paper with a house template
    whose styles are numbered, and that template ("numbered", "numbered-template",
    `_numbered_papers`), and with a template whose text is in Verdana ("verdana",
    `_verdana_paper`). Each test reads its PDF."""
    folder = tmp_path_factory.mktemp("word-printed")
    papers = {"sample": folder / "sample.docx", "crowded": crowded.parent / "crowded.docx"}
    shutil.copyfile(sample["docx"], papers["sample"])
    papers |= _headings_papers(folder)
    papers |= _numbered_papers(folder)
    papers["verdana"] = _verdana_paper(folder)
    return dict(zip(papers, _libreoffice_pdfs(list(papers.values()), folder / "pdf",
                                              office_profile), strict=True))


def test_docx_paper_converts_to_pdf_in_libreoffice(sample, word_printed):
    pdf = word_printed["sample"]
    _check_pdf(pdf, sample["markdown"], _docx_words(sample["docx"]), 19)
    _check_fills(pdf)


def _check_fills(pdf: Path) -> None:
    """No page but the last is left with its foot blank: a figure too tall for what was left
    of a page took its paragraph to the next one, and pages printed 57% to 77% full (four in
    Word, seven in HTML); the paragraphs after it now fill the page (kpi.writers.pages)."""
    _, _, _, bbox = _pdf_words(pdf)
    fills = _page_fills(bbox)
    assert all(fill >= 0.7 for fill in fills[:-1]), [round(f, 2) for f in fills]


def _page_fills(bbox: str) -> list[float]:
    """How far down each page's text reaches, as a share of the A4 page's text area between
    Word's 2 cm margins (the header and footer outside it left out)."""
    fills = []
    for page in bbox.split("<page ")[1:]:
        height = float(re.search(r'height="([\d.]+)"', page).group(1))
        top, bottom = 2.0 / 29.7 * height, (1 - 2.0 / 29.7) * height
        ends = [float(y) for y in re.findall(r'yMax="([\d.]+)"', page)]
        body = [y for y in ends if top < y <= bottom]
        fills.append((max(body) - top) / (bottom - top) if body else 0.0)
    return fills


# The sample's percentages whose better direction is higher, none an exception: given an
# illustrative target of 99%, each becomes one (its target will be missed).
RAISED = ("vawg_outcome_rate", "violence_outcome_rate", "shoplifting_outcome_rate",
          "cps_case_quality", "calls_101_answered_pct", "priority_1h_compliance",
          "positive_outcome_rate", "officers_women", "officers_minoritised",
          "pcsos_minoritised", "specials_women", "specials_minoritised", "staff_women",
          "staff_minoritised")


def _crowded_sample(folder: Path, targets: int, cli) -> Path:
    """A copy of the sample (its store copied, not rebuilt) where `targets` more KPIs have a
    target they will consistently miss: more exceptions than the sample's 12."""
    from kpi import catalogue

    assert cli(["--project", "sample", "datasets"]).exit_code == 0  # the store is built
    project = folder / "crowded"
    shutil.copytree(catalogue.bundled_project_dir(), project,
                    ignore=shutil.ignore_patterns("extracts", "__pycache__", "data"))
    shutil.copytree(catalogue.bundled_store_dir(), project / "data")
    toml = project / "kpi.toml"
    text = toml.read_text(encoding="utf-8")
    for kpi_id in RAISED[:targets]:
        line = f'id = "{kpi_id}"\n'
        assert text.count(line) == 1, kpi_id
        text = text.replace(line, line + 'target = 99\ntarget_source = "an '
                            'illustration: none is set"\ntarget_illustrative = true\n')
    toml.write_text(text, encoding="utf-8")
    return project


def _front_page_holds(pdf: Path, markdown: Path) -> None:
    """Pages 1 and 2 hold the whole front page but the analyst's introduction: the matrix,
    every exception it lists (or the count of those it does not, and where they are) and the
    matrix rows' KPIs by name (or where they are)."""
    text = _pdf_words(pdf)[0]
    pages = [" ".join(p.split()) for p in text.split("\f")]
    front = " ".join(pages[:2])
    md = markdown.read_text(encoding="utf-8")
    summary = _plain(MarkdownIt("commonmark").enable("table").render(
        md.split("## Summary for the board")[1].split("## 1. Introduction")[0]))
    listed = re.findall(r"^- [\u25b2\u25bc\u25bd\u25cb] \*\*(.+?)\*\*",
                        md.split("## 1. Introduction")[0], re.MULTILINE)
    assert listed and all(_ascii_minus(n) in _ascii_minus(front) for n in listed), listed
    assert "KPIs by the variation in their monthly figures" in front
    assert "The table leaves out the 7 KPIs in development" in front
    # The front page's last block before the introduction: the last matrix row's last KPI,
    # or the sentence saying where the rows are listed.
    ending = " ".join(summary.split("Performance is measured")[0].split())[-60:]
    assert ending.split(" ", 1)[1] in _ascii_minus(front), ending


@pytest.mark.parametrize("targets", [6, 14])
def test_a_front_page_with_more_exceptions_still_fits_two_pages(tmp_path, cli, targets,
                                                                request):
    """With 18 exceptions (the sample has 12) the matrix rows' names ran onto page 3 in Word;
    with 26 the exceptions did too. The front page keeps to two pages: the rows' names go to
    an appendix, then the exceptions beyond what fits are counted, with where they are."""
    # With 18 the paper's Markdown is the test; with 26 its Word (`crowded`, printed with the
    # module's other Word papers, `word_printed`) and HTML are printed too.
    project = _crowded_sample(tmp_path, targets, cli) if targets == 6 \
        else request.getfixturevalue("crowded")
    paths = {}
    formats = (("markdown", "md"), ("html", "html"))
    for fmt, suffix in formats[:1] if targets == 6 else formats:
        paths[fmt] = tmp_path / f"board.{suffix}"
        result = cli(["--project", project, "export", fmt, "--period", "2025-09", "--output",
                      paths[fmt]])
        assert result.exit_code == 0, result.output
    md = paths["markdown"].read_text(encoding="utf-8")
    count = int(re.search(r"\*\*Exceptions \((\d+)\)\*\*", md).group(1))
    assert count == 12 + targets
    front, after = md.split("## 1. Introduction")
    rows = re.search(r"The KPIs in each row of the table above are listed by name in "
                     r"(Appendix \d+)\.", front)
    assert rows and f"## {rows.group(1)}: The KPIs in each row of the summary matrix" in after
    shown = re.findall(r"^- [\u25b2\u25bc\u25bd\u25cb] \*\*", front, re.MULTILINE)
    more = re.search(r"(\d+) more exceptions?, (?:none|no) more serious than those above, "
                     r"(?:are|is) listed in (Appendix \d+)", front)
    if more:
        # Every exception is listed once: on the front page or in the appendix it names.
        assert int(more.group(1)) + len(shown) == count
        rest = after.split(f"## {more.group(2)}: The rest of the exceptions")[1]
        assert len(re.findall(r"^- [\u25b2\u25bc\u25bd\u25cb] \*\*", rest,
                              re.MULTILINE)) == int(more.group(1))
    else:
        assert len(shown) == count
    assert more if targets == 14 else not more
    # The failed checks give the exceptions their room: listed on the front page while every
    # exception fits there, in an appendix (the front page saying which) once they do not.
    checks = re.search(r"\*\*Checks that failed \(2\)\*\*: parts that should add up to "
                       r"their total and do not(, listed in (Appendix \d+))?\. ", front)
    assert checks and bool(checks.group(1)) == bool(more)
    if more:
        held = after.split(f"## {checks.group(2)}: The checks that failed")[1].split("\n## ")[0]
        assert "**Checks that failed (2)**" in held
        assert re.findall(r"^- (.+?): parts sum to", held, re.MULTILINE) == [
            "ASB categories sum to ASB incidents",
            "Neighbourhood crime types sum to neighbourhood crime"]
    if targets == 6:
        return  # printed, the fuller front page is the test
    _front_page_holds(request.getfixturevalue("word_printed")["crowded"], paths["markdown"])
    pdf = tmp_path / "board-html.pdf"
    _chromium_pdf(paths["html"], pdf, tmp_path / "p")
    _front_page_holds(pdf, paths["markdown"])


# ---------------------------------------------------------------------------------------------
# Figures printed, and revised since


def test_previous_paper_with_nothing_revised_says_so(fixture_project, tmp_path, cli):
    first = tmp_path / "first.md"
    result = cli(["--project", fixture_project, "export", "markdown", "--period", "2025-09",
                  "--output", first])
    assert result.exit_code == 0, result.output
    figures = tmp_path / "first.figures.json"
    import json

    doc = json.loads(figures.read_text(encoding="utf-8"))
    assert doc["format"] == "kpi-paper-figures/1" and doc["period"] == "2025-09"
    crime = {(f["role"], f["window"]): f["shown"] for f in doc["figures"]
             if f["kpi"] == "total_crime"}
    assert crime == {("current", "YE 2025-09"): "366", ("comparison", "YE 2024-03"): "438"}
    second = tmp_path / "second.md"
    result = cli(["--project", fixture_project, "export", "markdown", "--period", "2025-09",
                  "--output", second, "--previous", figures])
    assert result.exit_code == 0, result.output
    text = second.read_text(encoding="utf-8")
    assert ("## Appendix 3: Figures revised since the last paper\n\nNo KPI or breakdown "
            "figure printed in the paper for September 2025 has been revised since.\n") in text
    # A figure printed differently last time is listed with both values.
    doc["figures"] = [dict(f, value=400, shown="400") if f["kpi"] == "total_crime" and
                      f["role"] == "current" else f for f in doc["figures"]]
    figures.write_text(json.dumps(doc), encoding="utf-8")
    result = cli(["--project", fixture_project, "export", "markdown", "--period", "2025-09",
                  "--output", second, "--previous", figures])
    assert result.exit_code == 0, result.output
    assert ("| Total recorded crime | year ending September 2025 | 400 | 366 |"
            in second.read_text(encoding="utf-8"))


@pytest.mark.parametrize("content, code, message", [
    (None, 2, "is not a file"),
    ("{not json", 3, "not a figures file"),
    ('{"format": "other"}', 3, "not a figures file"),
])
def test_a_bad_previous_file_is_an_error(fixture_project, tmp_path, cli, content, code,
                                         message):
    previous = tmp_path / "last.figures.json"
    if content is not None:
        previous.write_text(content, encoding="utf-8")
    out = tmp_path / "board.md"
    result = cli(["--project", fixture_project, "export", "markdown", "--period", "2025-09",
                  "--output", out, "--previous", previous])
    assert result.exit_code == code, result.output
    assert message in result.output
    assert not out.exists()


@pytest.fixture(scope="module")
def last_figures(fixture_project, tmp_path_factory):
    """The figures file of a first paper of the fixture project, as JSON."""
    import json

    from typer.testing import CliRunner

    from kpi.cli import app

    out = tmp_path_factory.mktemp("last") / "first.md"
    result = CliRunner().invoke(app, ["--project", str(fixture_project), "export", "markdown",
                                      "--period", "2025-09", "--output", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((out.parent / "first.figures.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("change, message", [
    # Issue 17, break 11: another project's file was read as this paper's revisions.
    (lambda d: d.update(project="Another Force Plan"),
     "the figures of project \"Another Force Plan\", not of this project"),
    # Break 11: a file naming none of this project's KPIs said "No figure has been revised".
    (lambda d: [f.update(kpi="renamed_" + f["kpi"]) for f in d["figures"]],
     "figure(s) is of a KPI of kpi.toml, so no revision could be found"),
    # A month 13 was blamed on the command line (exit 2).
    (lambda d: d.update(period="2025-13"), "its \"period\" or \"comparison\" is not one a "
                                           "paper writes (found \"2025-13\""),
    # A TypeError traceback.
    (lambda d: d["figures"][0].update(kpi=["x"]),
     "figure 1 lacks its kpi, window or shown value as text"),
    # A window written otherwise matched no figure recomputed, and read as "not revised".
    (lambda d: d["figures"][0].update(window=d["figures"][0]["window"].lower()),
     "figure 1: window \"ye 2025-09\" is not one a paper writes"),
    (lambda d: d["figures"][0].update(window="YE 2025-9"),
     "figure 1: window \"YE 2025-9\" is not one a paper writes"),
    # Printed in the appendix of revisions: the same control-character policy as data.
    (lambda d: d["figures"][0].update(shown="\x1b[2J400"),
     "key 'figures[0].shown': expected text without control characters, found '?[2J400'"),
    (lambda d: d.update(nested=[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]),
     "nested more than 16 levels deep"),
])
def test_a_previous_file_that_is_not_this_projects_last_paper_is_refused(
        fixture_project, last_figures, tmp_path, cli, change, message):
    import copy
    import json

    doc = copy.deepcopy(last_figures)
    change(doc)
    previous = tmp_path / "last.figures.json"
    previous.write_text(json.dumps(doc), encoding="utf-8")
    out = tmp_path / "board.md"
    result = cli(["--project", fixture_project, "export", "markdown", "--period", "2025-09",
                  "--output", out, "--previous", previous])
    assert result.exit_code == 3, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"Error: {previous}: ") and message in lines[0], lines[0]
    assert len(lines) == 2 and lines[1].startswith("Hint: ")
    assert not out.exists()


def test_a_figure_the_data_no_longer_gives_is_a_revision_not_unchanged(
        fixture_project, last_figures, tmp_path, cli):
    """A figure of a KPI still shown whose window the data no longer gives (here the last
    paper's year ending March 2015, whose months the data no longer holds) was skipped, so
    the paper said "No figure ... has been revised since". It is listed, now "no figure".
    (A window of months still held, which no window at September 2025 is, is recomputed for
    its own months: test_revisions_hostile.py.)"""
    import copy
    import json

    doc = copy.deepcopy(last_figures)
    figure = doc["figures"][0]
    figure.update(window="YE 2015-03", window_label="year ending March 2015")
    previous = tmp_path / "last.figures.json"
    previous.write_text(json.dumps(doc), encoding="utf-8")
    out = tmp_path / "board.md"
    result = cli(["--project", fixture_project, "export", "markdown", "--period", "2025-09",
                  "--output", out, "--previous", previous])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "has been revised since" not in text
    assert f"| year ending March 2015 | {figure['shown']} | no figure |" in text


def test_a_figures_file_nested_past_what_json_can_read_is_one_line(fixture_project, tmp_path,
                                                                   cli):
    previous = tmp_path / "last.figures.json"
    previous.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    result = cli(["--project", fixture_project, "export", "markdown", "--period", "2025-09",
                  "--output", tmp_path / "board.md", "--previous", previous])
    assert result.exit_code == 3 and "Traceback" not in result.output


def _headings_paper(count: int = 48):
    """A paper of `count` sections whose lengths differ, so that read on, page after page,
    some heading falls at each height of a page, the foot too: each section a numbered
    paragraph of 8 to 97 words and a second of up to 50."""
    from kpi.document import Document, Paragraph, Section

    words = "the figure rose in the year and fell again after the baseline month".split()
    sections = []
    for k in range(count):
        text = " ".join(words[i % len(words)] for i in range(8 + 13 * k % 90))
        sections.append(Section(f"{k + 1}.", (f"Heading number {k + 1}",), (
            Paragraph((text,), number=f"{k + 1}.1"),
            Paragraph(("Then " + " ".join(text.split()[:(k * 7) % 50]),),
                      number=f"{k + 1}.2"))))
    return Document(title=("Headings",), sections=tuple(sections), marking="OFFICIAL")


def _pages_ending_with_a_heading(pdf: Path) -> list[tuple[int, str]]:
    """The pages whose last line of text, above the footer, is a section heading."""
    text, _, _, _ = _pdf_words(pdf)
    found = []
    for number, page in enumerate(text.split("\f"), start=1):
        lines = [line.strip() for line in page.splitlines() if line.strip()
                 and not re.fullmatch(r"(OFFICIAL\s*)?(Page \d+ of \d+)?", line.strip())]
        if lines and re.fullmatch(r"\d+\. Heading number \d+", lines[-1]):
            found.append((number, lines[-1]))
    return found


def _headings_papers(folder: Path) -> dict[str, Path]:
    """The headings paper in Word, without a template ("plain") and with a house template
    whose Heading 1 does not keep with the next paragraph ("house"), written into `folder`."""
    import docx

    from kpi.writers import docx as word

    template = docx.Document()
    heading = template.styles["Heading 1"]
    heading.paragraph_format.keep_with_next = None  # the style's w:keepNext removed
    assert heading.element.pPr.find(f"{W}keepNext") is None
    template.save(str(folder / "house.docx"))
    document = _headings_paper()
    papers = {"plain": folder / "plain.docx", "house": folder / "house-paper.docx"}
    for name, house in (("plain", None), ("house", folder / "house.docx")):
        papers[name].write_bytes(word.write(document, folder, template=house, places=False))
    return papers


def test_no_page_ends_with_a_heading_in_word_even_with_a_template_whose_heading_does_not(
        word_printed):
    """A house template's Heading 1 that does not keep with the next paragraph (Word's own
    does; one saved from another word processor may not) left a section's heading alone at
    the foot of a page, its paragraphs on the next. Each heading keeps with the next
    paragraph itself, whatever the style says; read through LibreOffice, no page ends with
    a heading, with the template or without (`_headings_papers`, printed with the module's
    other Word papers)."""
    for name in ("plain", "house"):
        pdf = word_printed[name]
        text = _pdf_words(pdf)[0]
        assert text.count("\f") >= 5 and "Heading number 48" in text
        assert _pages_ending_with_a_heading(pdf) == [], name


def _numbered_template(path: Path) -> None:
    """A house template whose paragraph styles are tied to numbered lists, as many
    organisations' are (Word's Multilevel List "1 Heading 1 / 1.1 Heading 2"): Heading 1 and
    2 numbered "§1" and "§1.1", Normal (and so every style based on it, Header and Footer
    among them) "¶1", "¶2", ..., Title, Subtitle and Caption each by a list of its own ("†1",
    "‡1", "¤1"); List Bullet keeps its bullet. Its own text, which the paper drops, is a
    paragraph in each of those styles."""
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls, qn

    house = docx.Document()
    numbering = house.part.numbering_part.element
    levels = {90: ("§%1", "§%1.%2"), 91: ("¶%1",), 92: ("†%1",), 93: ("‡%1",), 94: ("¤%1",)}
    for number, texts in levels.items():
        lvls = "".join(
            f'<w:lvl w:ilvl="{level}"><w:start w:val="1"/><w:numFmt w:val="decimal"/>'
            f'<w:lvlText w:val="{text}"/><w:lvlJc w:val="left"/></w:lvl>'
            for level, text in enumerate(texts))
        first = numbering.find(qn("w:num"))  # every abstractNum comes before the nums
        abstract = parse_xml(f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{number}">'
                             f'<w:multiLevelType w:val="multilevel"/>{lvls}</w:abstractNum>')
        if first is not None:
            first.addprevious(abstract)
        else:
            numbering.append(abstract)
        numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="{number}">'
                                   f'<w:abstractNumId w:val="{number}"/></w:num>'))
    for name, number, level in (("Heading 1", 90, 0), ("Heading 2", 90, 1), ("Normal", 91, 0),
                                ("Title", 92, 0), ("Subtitle", 93, 0), ("Caption", 94, 0)):
        numbered = house.styles[name].element.get_or_add_pPr().get_or_add_numPr()
        numbered.get_or_add_ilvl().val = level
        numbered.get_or_add_numId().val = number
        house.add_paragraph(f"House {name.lower()}", style=name)
    house.add_paragraph("House bullet", style="List Bullet")
    house.save(str(path))


def _numbered_papers(folder: Path) -> dict[str, Path]:
    """The sample's Word paper exported with `_numbered_template` ("numbered"), and the
    template itself ("numbered-template"), written into `folder`."""
    from typer.testing import CliRunner

    from kpi.cli import app

    template = folder / "numbered-template.docx"
    _numbered_template(template)
    paper = folder / "numbered.docx"
    result = CliRunner().invoke(app, ["--project", "sample", "export", "docx", "--period",
                                      "2025-09", "--output", str(paper), "--template",
                                      str(template)])
    assert result.exit_code == 0, result.output
    return {"numbered": paper, "numbered-template": template}


def test_a_template_whose_styles_are_numbered_adds_no_number_to_the_paper(sample,
                                                                           word_printed):
    """A house template whose Heading 1 and 2 are tied to a numbered list printed each of the
    paper's sections with two numbers, the template's ahead of the paper's ("3 2. Priority
    one"), so "section 3" quoted from the front page's "See 3.6" was another section. The
    paper switches the numbering off on every style it sets its paragraphs in (headings,
    body, title, captions, table text, header and footer) but the bulleted list's: read
    through LibreOffice, the template numbers its own paragraphs and none of the paper's."""
    own = _pdf_words(word_printed["numbered-template"])[0]
    printed = [" ".join(line.split()) for line in own.splitlines()]
    for line in ("§1 House heading 1", "§1.1 House heading 2", "¶1 House normal",
                 "†1 House title", "‡1 House subtitle", "¤1 House caption"):
        assert line in printed, own
    text = _pdf_words(word_printed["numbered"])[0]
    markdown = sample["markdown"].read_text(encoding="utf-8")
    for mark in "§¶†‡¤":
        assert mark not in markdown and mark not in text, mark
    # The paper's own numbers are printed as the Markdown's, each section's heading at the
    # start of its line, and its bullets still bulleted.
    lines = [line.strip() for line in text.splitlines()]
    headings = re.findall(r"^## (\d+\. .+)$", markdown, re.MULTILINE)
    assert len(headings) >= 5
    for heading in headings:
        assert any(line.startswith(heading[:25]) for line in lines), heading
    bullet = "\uf0b7"  # Word's bullet, a Symbol font character, as pdftotext reads it
    with zipfile.ZipFile(word_printed["numbered"].parent.parent / "numbered.docx") as archive:
        body = archive.read("word/document.xml").decode()
    # A bulleted item: List Bullet, and no numbering of its own (a marked item's switches the
    # bullet off).
    bulleted = len(re.findall(r'<w:pPr><w:pStyle w:val="ListBullet"/>(?!<w:numPr>)', body))
    assert bullet in own and bulleted >= 2 and text.count(bullet) == bulleted


def _verdana_paper(folder: Path) -> Path:
    """The sample's Word paper exported with a template whose Normal style is Verdana, a font
    wider than Arial (not installed here: LibreOffice sets it in DejaVu Sans)."""
    import docx
    from docx.oxml.ns import qn
    from typer.testing import CliRunner

    from kpi.cli import app

    house = docx.Document()
    style = house.styles["Normal"]
    style.font.name = "Verdana"
    for attribute in ("w:eastAsia", "w:cs"):
        style.element.rPr.rFonts.set(qn(attribute), "Verdana")
    template = folder / "verdana.docx"
    house.save(str(template))
    paper = folder / "verdana-paper.docx"
    result = CliRunner().invoke(app, ["--project", "sample", "export", "docx", "--period",
                                      "2025-09", "--output", str(paper), "--template",
                                      str(template)])
    assert result.exit_code == 0, result.output
    return paper


def test_a_template_in_a_wider_font_breaks_no_word_in_its_tables(word_printed):
    """Table columns were measured in Arial whatever the template's font: with a template in
    Verdana the sample's tables printed "Chang/e" and "Significa/nt", broken mid-word. They
    are measured in the template's font where it is installed, else at each character in
    the wider of Arial and DejaVu Sans (`pages.measure`): read through LibreOffice, every
    printed word is one of the paper's."""
    from kpi.writers.docx import _open, _table_font

    assert _table_font(_open(word_printed["verdana"].parent.parent / "verdana.docx")) \
        == "Verdana"
    text = _pdf_words(word_printed["verdana"])[0]
    assert re.search(r"Baseline +Current +Change +Variation", text)
    _check_typography(text, _docx_words(word_printed["verdana"].parent.parent
                                        / "verdana-paper.docx"))


def test_no_page_ends_with_a_heading_in_the_browser(tmp_path):
    """The HTML paper printed by Chromium: a section's heading is kept with the paragraph
    after it (`break-after: avoid`), so no page ends with a heading."""
    from kpi.writers import html

    path = tmp_path / "headings.html"
    path.write_text(html.write(_headings_paper(), tmp_path), encoding="utf-8")
    pdf = tmp_path / "headings.pdf"
    _chromium_pdf(path, pdf, tmp_path / "p")
    text = _pdf_words(pdf)[0]
    assert text.count("\f") >= 5 and "Heading number 48" in text
    assert _pages_ending_with_a_heading(pdf) == []


def test_a_front_page_with_room_for_no_exception_lists_them_all_in_an_appendix(
        tmp_path, cli, monkeypatch):
    """A front page crowded by the checks and the data-quality notes had room for not one
    exception: the paper made an empty list of them, which the Markdown printed as nothing
    and the HTML and Word page estimates met as a list of no lines (IndexError, a traceback,
    exit 1; the differential oracle's seed 8016, which exports its papers in three formats).
    None is listed on the front page then, and the sentence says where all of them are; the
    three formats say it alike."""
    import kpi.paper

    monkeypatch.setattr(kpi.paper, "FRONT_PAGE_LINES", 20.0)  # room for the matrix alone
    paths = {}
    for fmt, suffix in (("markdown", "md"), ("html", "html"), ("docx", "docx")):
        paths[fmt] = tmp_path / f"board.{suffix}"
        result = cli(["--project", "sample", "export", fmt, "--period", "2025-09", "--output",
                      paths[fmt]])
        assert result.exit_code == 0, result.output
    md = paths["markdown"].read_text(encoding="utf-8")
    count = int(re.search(r"\*\*Exceptions \((\d+)\)\*\*", md).group(1))
    front, after = md.split("## 1. Introduction")
    assert not re.findall(r"^- [\u25b2\u25bc\u25bd\u25cb] \*\*", front, re.MULTILINE)
    where = re.search(rf"The {count} exceptions, in order of seriousness, are listed in "
                      r"(Appendix \d+), each with the paragraph that reports it\.", front)
    assert where, front[-1500:]
    listed = after.split(f"## {where.group(1)}: The exceptions")[1]
    assert len(re.findall(r"^- [\u25b2\u25bc\u25bd\u25cb] \*\*", listed, re.MULTILINE)) == count
    said = paper_text.of_markdown(md)
    html = paper_text.of_html(paths["html"].read_text(encoding="utf-8"))
    word = paper_text.of_docx(paths["docx"])
    assert paper_text.first_difference(said, html, ("Markdown", "HTML"), bullets=False) is None
    assert paper_text.first_difference(html, word, ("HTML", "Word")) is None
