"""kpi commentary import: the commentary typed into the Word paper goes back into the
commentary file, so the next export carries it.

A paper is exported from a small project, edited as an analyst would in Word (here with
python-docx: typing into the [commentary] places, adding a paragraph, clearing one, and
typing where they should not), imported, and exported again. The same paper opened and saved
by LibreOffice is imported too: LibreOffice 7 drops the content controls' tags, which the
import detects and says in one line.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
import zipfile

import pytest
from fixtures.paper_project import load_paper_project

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
NOTES = '''\
# The month's notes.
[paper]
author = "A. Analyst"
introduction = "Introduction as written."

[sections.violence]
text = "Violence context."

[kpis.total_crime]
text = """
Crime context, first paragraph.

Second paragraph."""
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wordcommentary")
    load_paper_project(folder)
    (folder / "commentary").mkdir()
    (folder / "commentary" / "2025-09.toml").write_text(NOTES, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def paper(project, tmp_path_factory):
    from typer.testing import CliRunner

    from kpi.cli import app

    out = tmp_path_factory.mktemp("paper") / "board.docx"
    result = CliRunner().invoke(app, ["--project", str(project), "export", "docx", "--period",
                                      "2025-09", "--output", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _places(doc) -> dict:
    return {s.find(f"{W}sdtPr/{W}tag").get(f"{W}val"): s
            for s in doc.element.body.iter(f"{W}sdt")}


def test_every_place_is_a_tagged_content_control(paper):
    import docx

    places = _places(docx.Document(str(paper)))
    keys = {k.removeprefix("kpi-commentary:") for k in places}
    assert {"paper.introduction", "paper.equality_implications", "paper.next_steps",
            "sections.violence", "kpis.total_crime"} <= keys
    # An empty place reads "[commentary]"; a full one holds the commentary's numbered paragraphs.
    empty = places["kpi-commentary:paper.next_steps"]
    assert "".join(t.text for t in empty.iter(f"{W}t")) == "[commentary]"
    crime = [("".join(t.text for t in p.iter(f"{W}t")))
             for p in places["kpi-commentary:kpis.total_crime"].iter(f"{W}p")]
    assert [t.split(".", 2)[-1] for t in crime] == ["Crime context, first paragraph.",
                                                    "Second paragraph."]


def _edit_as_an_analyst(paper, edited):
    """Type into places, add a paragraph to one, clear another, and type where the paper's
    own text is."""
    import copy

    import docx

    doc = docx.Document(str(paper))
    places = _places(doc)

    def paragraphs(key):
        return list(places[f"kpi-commentary:{key}"].iter(f"{W}p"))

    def set_text(p, text):
        runs = list(p.iter(f"{W}r"))
        for run in runs[1:]:
            run.getparent().remove(run)
        for child in list(runs[0]):
            if child.tag != f"{W}rPr":
                runs[0].remove(child)
        t = runs[0].makeelement(f"{W}t", {})
        t.text = text
        runs[0].append(t)

    set_text(paragraphs("paper.next_steps")[0], "The board is asked to note this: *all* of it.")
    first = paragraphs("sections.violence")[0]
    added = copy.deepcopy(first)
    first.addnext(added)
    set_text(added, 'A second paragraph, with "quotes", a \\ backslash and £.')
    for p in paragraphs("kpis.total_crime")[1:]:
        p.getparent().remove(p)
    set_text(paragraphs("kpis.total_crime")[0], "[commentary]")
    # Typed outside: a new paragraph after a KPI's paragraph, and a figure changed in one.
    body = [p for p in doc.paragraphs if p.text.startswith("2.1.\t")][0]
    stray = copy.deepcopy(body._p)
    body._p.addnext(stray)
    set_text(stray, "A note typed between the paragraphs.")
    numbered = [p for p in doc.paragraphs if p.text.startswith("1.2.\t")][0]
    numbered.runs[-1].text = numbered.runs[-1].text + " (Figures checked by hand.)"
    doc.save(str(edited))


def test_typed_in_word_then_imported_then_exported(project, paper, tmp_path, cli):
    edited = tmp_path / "edited board.docx"
    _edit_as_an_analyst(paper, edited)
    target = project / "commentary" / "2025-09.toml"
    before = target.read_text(encoding="utf-8")
    try:
        result = cli(["--project", project, "commentary", "import", edited])
        # Text typed outside the places is reported with its paragraph, and the exit code is 1.
        assert result.exit_code == 1, result.output
        assert "2 paragraph(s) typed or changed outside the commentary places" in result.output
        assert 'after paragraph 2.1: "A note typed between the paragraphs."' in result.output
        assert "in paragraph 1.2: " in result.output and "(Figures checked by hand.)" in \
            result.output
        assert "comments (# lines)" in result.output
        written = tomllib.loads(target.read_text(encoding="utf-8"))
        assert written["paper"] == {
            "author": "A. Analyst",  # no place for it in the paper: kept
            "introduction": "Introduction as written.",
            "next_steps": "The board is asked to note this: *all* of it."}
        assert written["sections"]["violence"]["text"] == (
            'Violence context.\n\nA second paragraph, with "quotes", a \\ backslash and £.')
        assert "total_crime" not in written.get("kpis", {})  # cleared: removed
        assert "A note typed" not in target.read_text(encoding="utf-8")
        # The next export carries it.
        out = tmp_path / "again.md"
        result = cli(["--project", project, "export", "markdown", "--period", "2025-09",
                      "--output", out])
        assert result.exit_code == 0, result.output
        text = out.read_text(encoding="utf-8")
        assert "The board is asked to note this: \\*all\\* of it." in text
        assert "a \\\\ backslash and £." in text
        assert "Crime context" not in text
    finally:
        target.write_text(before, encoding="utf-8")


def test_an_unedited_paper_imports_to_the_same_commentary(project, paper, tmp_path, cli):
    from kpi.catalogue import load_project
    from kpi.commentary import load
    from kpi.periods import Month

    out = tmp_path / "same.toml"
    result = cli(["--project", project, "commentary", "import", paper, "--output", out])
    assert result.exit_code == 0, result.output
    assert "no place changed" in result.output
    loaded = load_project(project / "kpi.toml")
    month = Month.parse("2025-09")
    again, original = load(loaded, month, out), load(loaded, month, None)
    assert (again.kpis, again.sections, again.introduction, again.next_steps, again.author) == (
        original.kpis, original.sections, original.introduction, original.next_steps,
        original.author)


def test_a_document_kpi_did_not_write_is_refused(project, tmp_path, cli):
    import docx

    other = tmp_path / "letter.docx"
    document = docx.Document()
    document.add_paragraph("Dear board,")
    document.save(str(other))
    result = cli(["--project", project, "commentary", "import", other, "--output",
                  tmp_path / "c.toml"])
    assert result.exit_code == 3, result.output
    assert "no commentary places: not a paper written by kpi export docx" in result.output
    assert not (tmp_path / "c.toml").exists()
    (tmp_path / "x.docx").write_text("not a zip", encoding="utf-8")
    result = cli(["--project", project, "commentary", "import", tmp_path / "x.docx"])
    assert result.exit_code == 3 and "not a Word .docx file" in result.output


def test_saved_by_libreoffice(project, paper, tmp_path, cli):
    """LibreOffice keeps a content control's title but drops its tag (7.x), so which place a
    control was cannot be told: the import says so in one line and writes nothing. Should a
    LibreOffice keep the tags, the commentary must come back whole."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("soffice is not installed here (.ci/run installs it with apt-get)")
    folder = tmp_path / "lo"
    folder.mkdir()
    result = subprocess.run([office, "--headless", "--norestore",
                             f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
                             "--convert-to", "docx", "--outdir", str(folder), str(paper)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    saved = folder / paper.name
    with zipfile.ZipFile(saved) as archive:
        tags = archive.read("word/document.xml").count(b"kpi-commentary:")
    out = tmp_path / "c.toml"
    result = cli(["--project", project, "commentary", "import", saved, "--output", out])
    if tags == 0:
        assert result.exit_code == 3, result.output
        assert "none of the paper's" in result.output
        assert "drops Word's content controls (LibreOffice does)" in result.output
        assert not out.exists()
    else:
        assert result.exit_code == 0, result.output
        written = tomllib.loads(out.read_text(encoding="utf-8"))
        assert written["kpis"]["total_crime"]["text"] == (
            "Crime context, first paragraph.\n\nSecond paragraph.")


def test_a_final_paper_has_the_commentary_but_no_places(project, tmp_path, cli):
    import docx

    out = tmp_path / "final.docx"
    result = cli(["--project", project, "export", "docx", "--period", "2025-09", "--output",
                  out, "--final"])
    assert result.exit_code == 0, result.output
    doc = docx.Document(str(out))
    assert not list(doc.element.body.iter(f"{W}sdt"))
    texts = [p.text for p in doc.paragraphs]
    assert not [t for t in texts if "[commentary]" in t]
    assert any(t.endswith("\tCrime context, first paragraph.") for t in texts)
    with zipfile.ZipFile(out) as archive:
        assert not [n for n in archive.namelist()
                    if n.startswith("customXml/") and b"urn:kpi-paper" in archive.read(n)]
    result = cli(["--project", project, "commentary", "import", out, "--output",
                  tmp_path / "c.toml"])
    assert result.exit_code == 3 and "no commentary places" in result.output
