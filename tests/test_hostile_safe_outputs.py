"""Issue 5, point 5: CSV output neutralises spreadsheet formula injection, Markdown escapes
text from data, and nothing in kpi.toml or on the command line can make kpi read or write
outside the project folder."""

from __future__ import annotations

import csv
import io
import re

import pytest
from hostile_support import GOOD_HEADER, first_error, make_project
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kpi.catalogue import parse_project_file
from kpi.errors import UsageError

HOSTILE_TITLES = {
    "incidents": '=HYPERLINK("http://example.invalid","Click")',
    "victims": "@SUM(A1:A9)",
}


def _extract() -> str:
    # 3 incidents a month in 2024, 2 a month in 2025: YE 2025-12 = 24 against a baseline
    # (YE 2025-01) of 11 * 3 + 2 = 35, a change of -11.
    lines = [GOOD_HEADER]
    for year, per_month in ((2024, 3), (2025, 2)):
        for month in range(1, 13):
            for day in range(1, per_month + 1):
                lines.append(f"X{year}{month}{day},{year}-{month:02d}-{day:02d},Dudley,1,")
    return "\n".join(lines) + "\n"


@pytest.fixture
def project(tmp_path, cli):
    folder = make_project(tmp_path / "project")
    toml = folder / "kpi.toml"
    text = toml.read_text()
    for old, new in (("Incidents recorded", HOSTILE_TITLES["incidents"]),
                     ("Victims", HOSTILE_TITLES["victims"])):
        text = text.replace(f'title = "{old}"', f"title = '{new}'")  # TOML literal strings
    toml.write_text(text)
    (folder / "years.csv").write_text(_extract())
    assert cli(["--project", folder, "ingest", "incidents", folder / "years.csv"]
               ).exit_code == 0
    return folder


def test_summary_csv_neutralises_formulas_and_keeps_numbers(project, cli):
    result = cli(["--project", project, "summary", "--period", "2025-12", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert rows["incidents"]["title"] == "'" + HOSTILE_TITLES["incidents"]
    assert rows["victims"]["title"] == "'" + HOSTILE_TITLES["victims"]
    # A negative change is a number, not a formula: it is left alone.
    assert float(rows["incidents"]["change_absolute"]) == -11
    assert float(rows["incidents"]["current_value"]) == 24
    # No cell anywhere starts with a formula character unless it is a plain number.
    for row in csv.reader(io.StringIO(result.stdout)):
        for cell in row:
            assert not re.match(r"[=+@\t\r]", cell) and (
                not cell.startswith("-") or re.fullmatch(r"-[\d.e+-]+", cell)), cell


def test_summary_markdown_escapes_text_from_the_catalogue(project, cli):
    toml = project / "kpi.toml"
    toml.write_text(toml.read_text().replace('title = "Safety"',
                                             'title = "Safety | *all* <b>areas</b>"'))
    result = cli(["--project", project, "summary", "--period", "2025-12", "--format",
                  "markdown"])
    assert result.exit_code == 0, result.output
    # A heading: '|' ends no cell there; '*' and a tag's '<' are markup; '>' is not.
    assert r"## Safety | \*all\* \<b>areas\</b>" in result.stdout
    assert not re.search(r"(?<!\\)<b>", result.stdout)
    # Neither '=' nor '(' is markup in a table cell.
    assert r'| =HYPERLINK("http://example.invalid","Click") |' in result.stdout


def test_history_csv_neutralises_file_names(project, cli):
    hostile = project / "=cmd.csv"
    hostile.write_text(GOOD_HEADER + "\nZ1,2026-01-01,Dudley,1,\n")
    assert cli(["--project", project, "ingest", "incidents", hostile]).exit_code == 0
    result = cli(["--project", project, "history", "incidents", "--format", "csv"])
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[-1][5] == "'=cmd.csv"


@pytest.mark.parametrize(("needle", "replacement", "message"), [
    ('name = "Hostile inputs"', 'name = "Hostile inputs"\ndata = "../outside"',
     "[project], key 'data': '../outside' leaves the project folder"),
    ('name = "Hostile inputs"', 'name = "Hostile inputs"\ndata = "/srv/kpi-outside"',
     "[project], key 'data': '/srv/kpi-outside' leaves the project folder"),
    ('extra_columns = "error"', 'extra_columns = "error"\nsources = ["extracts/../../x.csv"]',
     "dataset 'strict', key 'sources': 'extracts/../../x.csv' leaves the project folder"),
    ('better = "lower"\n\n[[kpis]]',
     'better = "lower"\n\n[[kpis]]\nid = "harm"\ntitle = "Harm"\npriority = "safety"\n'
     'kind = "weighted_score"\ndataset = "incidents"\nweights = "../weights.csv"\n'
     'weight_key = "lpa"\n\n[[kpis]]',
     "KPI 'harm', key 'weights': '../weights.csv' leaves the project folder"),
    # a '..' that comes back inside is refused as written, not as leaving the folder
    ('extra_columns = "error"', 'extra_columns = "error"\nsources = ["./x/../extracts/y.csv"]',
     "dataset 'strict', key 'sources': './x/../extracts/y.csv' holds a '..' step, which kpi "
     "refuses even where the path stays in the project folder: write it without one"),
])
def test_paths_leaving_the_project_folder_are_refused(tmp_path, cli, needle, replacement,
                                                      message):
    folder = make_project(tmp_path / "project")
    toml = folder / "kpi.toml"
    text = toml.read_text()
    assert needle in text
    toml.write_text(text.replace(needle, replacement, 1))
    key_line = replacement.splitlines()[-2 if replacement.endswith("[[kpis]]") else -1]
    line = toml.read_text().splitlines().index(key_line) + 1
    if "weights" in message:
        line = toml.read_text().splitlines().index('weights = "../weights.csv"') + 1
    result = cli(["--project", folder, "ingest", "incidents", folder / "good.csv"])
    assert result.exit_code == 3
    assert first_error(result.stderr) == f"Error: {toml}:{line}: {message}"
    assert not (tmp_path / "outside").exists()
    assert not (folder / "data").exists()


@pytest.mark.parametrize("name", ["../incidents", "..", "incidents/../../x", "/etc"])
def test_dataset_names_cannot_be_paths(tmp_path, cli, name):
    folder = make_project(tmp_path / "project")
    for command in (["ingest", name, folder / "good.csv"], ["history", name]):
        result = cli(["--project", folder, *command])
        assert result.exit_code == 3
        assert first_error(result.stderr) == (
            f"Error: unknown dataset '{name}' (declared: incidents, strict)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]


def test_store_refuses_a_dataset_id_that_is_a_path(tmp_path):
    from kpi import store

    project = parse_project_file(make_project(tmp_path / "project") / "kpi.toml")
    with pytest.raises(UsageError, match=r"invalid dataset name '\.\./x'"):
        store.table_path(project, "../x")


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                    max_size=24).map(str.strip).filter(bool))
@example(text=">)")  # a quote marker before ")" was taken for an ordered list's "1)"
@example(text="7) x")
@example(text="---")  # a thematic break: the text was lost to a rule
@example(text="-- -")
@example(text="==")  # under a paragraph's line, a heading's underline
@example(text="x<+@s>")  # an e-mail autolink
@example(text="Safety #")  # a heading's closing sequence: "## Safety #" read "Safety"
@example(text="###")
def test_escaped_markdown_reads_back_as_the_text_in_every_place(text):
    """One escaper, escaping only where Markdown would misread: whatever the text, a table
    cell, a line's start (alone, or under a paragraph's line), running text and a heading
    (`kpi summary`'s priorities, the paper's sections) each render back to exactly that
    text."""
    import html

    from markdown_it import MarkdownIt

    from kpi.render import escape_markdown

    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])

    def shown(fragment: str) -> str:
        return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()

    cell = parser.render(f"| a |\n|---|\n| {escape_markdown(text, cell=True)} |\n")
    assert "<tbody>" in cell and shown(cell.split("<tbody>")[1]) == text
    assert shown(parser.render(escape_markdown(text, start=True))) == text
    assert shown(parser.render("Said:\n" + escape_markdown(text, start=True))) == \
        "Said:\n" + text
    assert shown(parser.render("Said: " + escape_markdown(text))) == "Said: " + text
    assert shown(parser.render("## 2. " + escape_markdown(text))) == "2. " + text
    assert shown(parser.render("## " + escape_markdown(text, start=True))) == text


def test_history_lists_file_names_with_spaces_apart(project, cli, tmp_path):
    """A load of several files lists each name whole, joined by " | " (a name may hold
    spaces or "; "; no Windows name holds "|") in CSV, the workbook and Markdown."""
    from openpyxl import load_workbook

    names = ["Jan extract v2.csv", "Feb; re-run.csv"]
    for month, name in zip((1, 2), names, strict=True):
        (project / name).write_text(GOOD_HEADER + f"\nS{month},2026-0{month}-01,Dudley,1,\n")
    assert cli(["--project", project, "ingest", "incidents",
                *(project / n for n in names)]).exit_code == 0
    result = cli(["--project", project, "history", "incidents", "--format", "csv"])
    last = list(csv.DictReader(io.StringIO(result.stdout)))[-1]
    assert sorted(last["sources"].split(" | ")) == sorted(names)
    assert [len(h) for h in last["sha256"].split(" | ")] == [64, 64]
    book = tmp_path / "history.xlsx"
    assert cli(["--project", project, "history", "incidents", "--format", "xlsx",
                "--output", book]).exit_code == 0
    sheet = load_workbook(book).worksheets[0]
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert any(sorted(c.split(" | ")) == sorted(names) for c in cells)
    result = cli(["--project", project, "history", "incidents", "--format", "markdown"])
    assert any(r"Jan extract v2.csv \| Feb; re-run.csv" in line
               or r"Feb; re-run.csv \| Jan extract v2.csv" in line
               for line in result.stdout.splitlines())
