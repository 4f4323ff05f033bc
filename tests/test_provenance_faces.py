"""Every machine face says what the paper says of where a target and a population come from.

The paper never prints a target without its source, marks an illustrative target so, and says
when a figure divides by illustrative populations. The summary's JSON, CSV and workbook,
`kpi show`'s JSON, `kpi compare`'s JSON, CSV and workbook and the Python face's DataFrames
carried the target and the rate with nothing of it: a job reading "target 90, failing" from
JSON could not tell the target was not the plan's. One maker, `kpi.render.provenance` (and
`population_fields` for `kpi compare`'s parts, whose populations are a `[population_by]`
file's), gives `target_source`, `target_illustrative`, `population_source` and
`population_illustrative` to every face.

Figures by hand: each month 9 searches, on days 1 to 9: days 1-3 of Black people, 4-9 of
White; days 1-4 in North, 5-9 in South; an item found on days 1-4. Over the year ending
September 2025: 108 searches, 36 of Black people and 72 of White, 48 in North and 60 in South,
48 with an item found (44.4%). Per 1,000 of the area's 10,800: 10.0; the ratio
(36 / 160,000) / (72 / 1,990,000) = 6.21875; North 48 per 1,000 of 2,000 = 24.0, South 60 of
4,000 = 15.0.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from kpi.catalogue import PopulationSource, load_project
from kpi.errors import ConfigError

PROJECT = """\
[project]
name = "Searches"
[population]
black = { count = 160_000, illustrative = true }
white = { count = 1_990_000, illustrative = true, source = "round figures of the area's order" }
area = { count = 10_800, source = "the 2021 Census" }
[population_by]
lpa = { file = "lpa-population.csv", source = "round figures for the test", illustrative = true }
[peers.sides]
column = "lpa"
members = ["North", "South"]
focus = "North"
[datasets.s]
date = "day"
[datasets.s.columns]
day = "date"
ethnicity = "str"
lpa = "str"
found = "str"
[[priorities]]
id = "p"
title = "Stop and search"
[[kpis]]
id = "searches_per_1000"
title = "Searches per 1,000 population"
priority = "p"
kind = "per_1000"
dataset = "s"
population = "area"
[[kpis]]
id = "disp_black"
title = "Disproportionality, Black vs White"
priority = "p"
kind = "ratio_of_rates"
dataset = "s"
numerator = "ethnicity = 'Black'"
denominator = "ethnicity = 'White'"
populations = ["black", "white"]
noun = "stopped and searched"
[[kpis]]
id = "searches"
title = "Searches"
priority = "p"
kind = "count"
dataset = "s"
better = "lower"
peers = "sides"
[[kpis]]
id = "find_plan"
title = "Find rate against the plan"
priority = "p"
kind = "rate"
dataset = "s"
numerator = "found = 'yes'"
better = "higher"
target = 50
target_source = "the plan"
[[kpis]]
id = "find_illustrative"
title = "Find rate against an illustration"
priority = "p"
kind = "rate"
dataset = "s"
numerator = "found = 'yes'"
better = "higher"
target = 40
target_source = "an illustration: none is set"
target_illustrative = true
[[kpis]]
id = "find_unsourced"
title = "Find rate against a target of no stated source"
priority = "p"
kind = "rate"
dataset = "s"
numerator = "found = 'yes'"
better = "higher"
target = 30
"""

# What every face must say of each KPI (the paper's words, as fields).
EXPECTED = {
    "searches_per_1000": (None, None, "the 2021 Census", False),
    "disp_black": (None, None, "round figures of the area's order", True),
    "searches": (None, None, None, None),
    "find_plan": ("the plan", False, None, None),
    "find_illustrative": ("an illustration: none is set", True, None, None),
    "find_unsourced": (None, False, None, None),
}
FIELDS = ("target_source", "target_illustrative", "population_source",
          "population_illustrative")
VALUES = {"searches_per_1000": 10.0, "disp_black": 6.21875, "searches": 108,
          "find_plan": 100 * 48 / 108, "find_illustrative": 100 * 48 / 108,
          "find_unsourced": 100 * 48 / 108}


def _write(folder, text: str = PROJECT) -> None:
    (folder / "kpi.toml").write_text(text, encoding="utf-8")
    months = [f"{2023 + (9 + i) // 12}-{(9 + i) % 12 + 1:02d}" for i in range(24)]
    rows = "".join(f"{m}-{d:02d},{'Black' if d <= 3 else 'White'},"
                   f"{'North' if d <= 4 else 'South'},{'yes' if d <= 4 else 'no'}\n"
                   for m in months for d in range(1, 10))
    # One more search, nothing found, in the first month: a find rate that never varied would
    # have no process limits (no spread known), and so no assurance to print beside a target.
    rows += "2023-10-10,White,South,no\n"
    (folder / "s.csv").write_text("day,ethnicity,lpa,found\n" + rows, encoding="utf-8")
    (folder / "lpa-population.csv").write_text("lpa,population,year\nNorth,2000,2025\n"
                                               "South,4000,2025\n", encoding="utf-8")


@pytest.fixture
def project(tmp_path, cli, monkeypatch):
    _write(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KPI_NO_CACHE", "1")
    loaded = cli(["ingest", "s", "s.csv"])
    assert loaded.exit_code == 0, loaded.output
    return tmp_path


def _said(row: dict) -> tuple:
    return tuple(row[f] for f in FIELDS)


def test_the_summary_json_says_where_each_target_and_population_comes_from(project, cli):
    result = cli(["summary", "--period", "2025-09", "--format", "json"])
    assert result.exit_code == 0, result.output
    kpis = {k["id"]: k for k in json.loads(result.stdout)["kpis"]}
    assert {k: v["current"]["value"] for k, v in kpis.items()} == pytest.approx(VALUES)
    assert {k: _said(v) for k, v in kpis.items()} == EXPECTED
    # The fields come last, after the verdict's, in the order docs/json.md lists them.
    assert list(kpis["find_plan"])[-8:-1] == ["target", "target_met", "assurance", *FIELDS]
    assert (kpis["find_plan"]["target"], kpis["find_plan"]["target_met"]) == (50.0, False)
    assert (kpis["find_illustrative"]["target"],
            kpis["find_illustrative"]["target_met"]) == (40.0, True)


def test_the_summary_csv_carries_them_in_its_last_columns(project, cli):
    result = cli(["summary", "--period", "2025-09", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    header = result.stdout.splitlines()[0].split(",")
    # the unit's name after them, then what each figure covers
    assert header[-7:] == ["change_note", *FIELDS, "unit_label", "covers"]
    cells = {"": None, "True": True, "False": False}
    said = {r["id"]: tuple(cells.get(r[f], r[f]) for f in FIELDS) for r in rows}
    assert said == EXPECTED


def test_the_summary_workbook_carries_them(project, cli):
    from openpyxl import load_workbook

    result = cli(["summary", "--period", "2025-09", "--format", "xlsx", "--output",
                  "summary.xlsx"])
    assert result.exit_code == 0, result.output
    sheet = load_workbook(project / "summary.xlsx")["Summary"]
    table = sheet.tables["summary"]
    cells = [[c.value for c in row] for row in sheet[table.ref]]
    header, body = cells[0], cells[1:]
    assert header[-6:] == [*FIELDS, "unit_label", "covers"]
    said = {row[header.index("id")]: tuple(row[header.index(f)] for f in FIELDS)
            for row in body}
    assert said == EXPECTED


def test_the_python_face_summary_carries_them(project):
    import polars as pl

    import kpi

    frame = kpi.open(project).summary("2025-09")
    assert frame.columns[-6:] == [*FIELDS, "unit_label", "covers"]
    assert frame.schema["target_illustrative"] == pl.Boolean
    assert frame.schema["population_illustrative"] == pl.Boolean
    said = {r["id"]: _said(r) for r in frame.iter_rows(named=True)}
    assert said == EXPECTED


@pytest.mark.parametrize("kpi_id", sorted(EXPECTED))
def test_show_json_says_what_the_summary_says(project, cli, kpi_id):
    result = cli(["show", kpi_id, "--period", "2025-09", "--format", "json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)["kpi"]
    assert _said(shown) == EXPECTED[kpi_id]
    assert shown["current"]["value"] == pytest.approx(VALUES[kpi_id])
    # Its Definition says it in the paper's words, for a KPI that divides by populations.
    assert shown["definition"].get("populations") == {
        "searches_per_1000": "from the 2021 Census",
        "disp_black": "illustrative, not published figures (round figures of the area's "
                      "order)"}.get(kpi_id)
    text = cli(["show", kpi_id, "--period", "2025-09"]).stdout
    assert ("populations" in text.split("\n\nWindows")[0]) == (kpi_id in (
        "searches_per_1000", "disp_black"))


def test_compare_says_where_its_parts_populations_come_from(project, cli):
    result = cli(["compare", "--period", "2025-09", "--by", "lpa", "--kpi", "searches",
                  "--format", "json"])
    assert result.exit_code == 0, result.output
    (searches,) = json.loads(result.stdout)["kpis"]
    parts = {p["name"]: (p["current"]["value"], p["population"], p["per_1000"])
             for p in searches["parts"]}
    assert parts == {"North": (48, 2000.0, 24.0), "South": (60, 4000.0, 15.0)}
    assert (searches["population_source"], searches["population_illustrative"]) == (
        "round figures for the test", True)
    table = cli(["compare", "--period", "2025-09", "--by", "lpa", "--kpi", "searches",
                 "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert table.stdout.splitlines()[0].split(",")[-10:] == [
        "change_note", "vs_rest_tests", "vs_focus_tests", "population_source",
        "population_illustrative", "unit_label", "change_vs_rest_p",
        "change_vs_rest_significant", "change_vs_rest_tests", "covers"]
    assert {(r["part"], r["per_1000"], r["population_source"], r["population_illustrative"])
            for r in rows} == {("North", "24.0", "round figures for the test", "True"),
                               ("South", "15.0", "round figures for the test", "True")}
    import kpi

    frame = kpi.open(project).compare("2025-09", by="lpa", kpis=["searches"])
    assert sorted(frame.select("part", "population_source",
                               "population_illustrative").rows()) == [
        ("North", "round figures for the test", True),
        ("South", "round figures for the test", True)]


def test_compare_of_parts_with_no_population_says_nothing_of_one(project, cli):
    """A rate's parts are not per 1,000 of anything: their populations' fields are null."""
    result = cli(["compare", "--period", "2025-09", "--by", "lpa", "--kpi", "find_plan",
                  "--format", "json"])
    assert result.exit_code == 0, result.output
    (rate,) = json.loads(result.stdout)["kpis"]
    assert all(p["per_1000"] is None for p in rate["parts"])
    assert (rate["population_source"], rate["population_illustrative"]) == (None, None)


def test_the_paper_says_what_the_faces_say(project, cli):
    result = cli(["export", "markdown", "--period", "2025-09", "--vs", "yoy", "--full",
                  "--output", "paper.md"])
    assert result.exit_code == 0, result.output
    text = (project / "paper.md").read_text(encoding="utf-8")
    paragraphs = {m.group(1): m.group(2) for m in re.finditer(
        r"^\d+\.\d+\. \*\*(.+?)\.\*\* (.+)$", text, re.M)}
    assert "Against the target of 50.0% (the plan)" in \
        paragraphs["Find rate against the plan"]
    assert "Against the target of 40.0% (illustrative: none is set)" in \
        paragraphs["Find rate against an illustration"]
    assert "Against the target of 30.0% (source not stated)" in \
        paragraphs["Find rate against a target of no stated source"]
    # The peers' rates per 1,000 divide by the [population_by] file's illustrative figures.
    searches = paragraphs["Searches"]
    assert "with 24.00 per 1,000 people" in searches, searches
    assert ("The populations these rates per 1,000 divide by are illustrative, not "
            "published figures (round figures for the test).") in searches, searches


def test_a_population_file_written_as_a_table_keeps_its_file_and_source(tmp_path):
    _write(tmp_path)
    project = load_project(tmp_path)
    assert project.population_by == {"lpa": "lpa-population.csv"}
    assert project.population_by_sources == {
        "lpa": PopulationSource("round figures for the test", True)}
    # Written as a file name alone, as before: no source.
    _write(tmp_path, PROJECT.replace(
        'lpa = { file = "lpa-population.csv", source = "round figures for the test", '
        'illustrative = true }', 'lpa = "lpa-population.csv"'))
    project = load_project(tmp_path)
    assert project.population_by == {"lpa": "lpa-population.csv"}
    assert project.population_by_sources == {}


def test_a_population_file_of_no_stated_source_says_so_nowhere(project, cli):
    (project / "kpi.toml").write_text(PROJECT.replace(
        'lpa = { file = "lpa-population.csv", source = "round figures for the test", '
        'illustrative = true }', 'lpa = "lpa-population.csv"'), encoding="utf-8")
    result = cli(["compare", "--period", "2025-09", "--by", "lpa", "--kpi", "searches",
                  "--format", "json"])
    assert result.exit_code == 0, result.output
    (searches,) = json.loads(result.stdout)["kpis"]
    assert sorted(p["per_1000"] for p in searches["parts"]) == [15.0, 24.0]
    assert (searches["population_source"], searches["population_illustrative"]) == (
        None, False)


@pytest.mark.parametrize(("written", "said"), [
    ('{ file = "lpa-population.csv", ilustrative = true }', "unknown key ilustrative"),
    ('{ source = "ONS" }', "has no file"),
    ('{ file = "lpa-population.csv", illustrative = "yes" }',
     "illustrative must be true or false"),
    ('{ file = "lpa-population.csv", source = 2021 }', "source must be one line of text"),
    ('{ file = "../lpa-population.csv" }', "must be a CSV file inside the project folder"),
    ('{ file = 5 }', "must be a CSV file inside the project folder"),
])
def test_a_population_file_written_wrongly_is_refused_naming_its_line(tmp_path, written,
                                                                       said):
    _write(tmp_path, PROJECT.replace(
        '{ file = "lpa-population.csv", source = "round figures for the test", '
        'illustrative = true }', written))
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    message = caught.value.message
    assert said in message and "[population_by], key 'lpa'" in message, message
    assert "kpi.toml:8:" in message, message


def test_a_population_file_written_wrongly_is_one_line_and_exit_3(tmp_path, cli,
                                                                  monkeypatch):
    _write(tmp_path, PROJECT.replace("illustrative = true }\n[peers",
                                     "ilustrative = true }\n[peers"))
    monkeypatch.chdir(tmp_path)
    result = cli(["summary", "--period", "2025-09"])
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    assert re.search(r"kpi\.toml:8: \[population_by\], key 'lpa': unknown key ilustrative: "
                     r"a population file is written as a file name or as \{ file = ",
                     result.stderr), result.stderr


def test_the_terminal_summary_and_show_print_whose_target_it_is(project, cli):
    """The words a person reads: the summary's "Targets:" line and `kpi show`'s target row
    printed "40.0%: met" of a target that is only an illustration, as if it were the plan's."""
    result = cli(["summary", "--period", "2025-09"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.stdout.split())
    assert "Find rate against the plan 50.0% (the plan): not met" in flat, flat
    assert "Find rate against an illustration 40.0% (illustrative: none is set): met" in flat
    assert ("Find rate against a target of no stated source 30.0% (source not stated): met"
            in flat)
    # The Markdown summary printed "consistently passes" and a ratio of made-up populations
    # with no word of either; it says what the terminal's does, under its table.
    markdown = cli(["summary", "--period", "2025-09", "--format", "markdown"])
    assert markdown.exit_code == 0, markdown.output
    lines = markdown.stdout.splitlines()
    assert ("Targets: Find rate against the plan 50.0% (the plan): not met, consistently "
            "fails; Find rate against an illustration 40.0% (illustrative: none is set): met, "
            "consistently passes; Find rate against a target of no stated source 30.0% (source "
            "not stated): met, consistently passes") in lines, lines
    assert ("Illustrative populations, not published figures (kpi.toml \\[population\\]): "
            "Disproportionality, Black vs White") in lines, lines
    shown = cli(["show", "find_illustrative", "--period", "2025-09"])
    assert shown.exit_code == 0, shown.output
    assert re.search(r"(?m)^target +40\.0% \(illustrative: none is set\), met in the current "
                     r"window$", shown.stdout), shown.stdout


@pytest.mark.parametrize("args", [
    ("summary", "summary", "--period", "2025-09"),
    ("show", "show", "find_illustrative", "--period", "2025-09"),
    ("show", "show", "disp_black", "--period", "2025-09"),
    ("compare", "compare", "--period", "2025-09", "--by", "lpa"),
])
def test_the_documents_validate_against_their_schemas(project, cli, args):
    jsonschema = pytest.importorskip("jsonschema")
    from importlib.resources import files

    name, *command = args
    result = cli([*command, "--format", "json"])
    assert result.exit_code == 0, result.output
    schema = json.loads((files("kpi") / "schemas" / f"{name}.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(json.loads(result.stdout))


def test_the_papers_charts_say_whose_target_they_draw(project, cli):
    """The alt text of a process chart said "target 40.0%." of an illustrative target, where
    the paragraph beside it says "(illustrative: none is set)"; the legend said "Target"."""
    import html

    from kpi.catalogue import load_project
    from kpi.charts import _target_word

    result = cli(["export", "html", "--period", "2025-09", "--vs", "yoy", "--full",
                  "--output", "paper.html"])
    assert result.exit_code == 0, result.output
    alts = [html.unescape(a) for a in re.findall(r'alt="([^"]*)"',
                                                 (project / "paper.html").read_text())]
    ends = {re.search(r"\. (Find rate [^:]+): the latest month", a).group(1):
            a.rsplit("; ", 1)[-1] for a in alts if "; target " in a}
    assert ends == {"Find rate against the plan": "target 50.0% (the plan).",
                    "Find rate against an illustration": "target 40.0% (illustrative: none "
                                                         "is set).",
                    "Find rate against a target of no stated source": "target 30.0% (source "
                                                                      "not stated)."}, ends
    loaded = load_project(project)
    assert [_target_word(loaded.known_kpi(k)) for k in ("find_plan", "find_illustrative")] == [
        "Target", "Illustrative target"]
    # The peers figure's axis (and its alt text, made from it) says its rates per 1,000 are
    # of the [population_by] file's illustrative figures, as the sentence beside it does.
    peers = [a for a in alts if a.startswith("Horizontal bar chart")]
    assert peers == ["Horizontal bar chart of Searches per 1,000 illustrative populations for "
                     "each member of the sides peer group, year ending September 2025, largest "
                     "first: North 24.00; South 15.00; group mean 19.50. The focus is "
                     "North."], peers
