"""Figures that rest on declared inputs or doubted rows say so where they are printed.

- A [population] figure may carry its source and be marked illustrative. A ratio or rate per
  1,000 that divides by an illustrative population is said to in the paper and listed under
  `kpi summary`: the police.uk preset's disproportionality printed "The ratio was 4.7 times"
  for real West Midlands searches over made-up populations, with nothing in the paper to say so.
- The paper gives the data-quality notes `kpi summary` and `kpi check` give: on the real West
  Midlands stop and search files, every row of November 2023 has no age range, the year's
  count of children searched is short by that month, and the paper printed it as sound.

Figures by hand: each month 3 searches of Black people and 6 of White people, all aged 10-17
but in March 2025, whose rows have no age. Over the year ending September 2025: 36 and 72
searches, 108 in all; the ratio (36 / 160,000) / (72 / 1,990,000) = 6.21875, printed 6.2;
108 per 1,000 of 10,800 = 10.0; 12 x 9 - 9 = 99 children.
"""

from __future__ import annotations

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
[datasets.s]
date = "day"
[datasets.s.columns]
day = "date"
ethnicity = "str"
age = "str"
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
id = "children"
title = "Searches of children"
priority = "p"
kind = "count"
dataset = "s"
filter = "age = '10-17'"
"""


def _write(folder, text: str = PROJECT):
    (folder / "kpi.toml").write_text(text, encoding="utf-8")
    months = [f"{2023 + (9 + i) // 12}-{(9 + i) % 12 + 1:02d}" for i in range(24)]
    rows = "".join(f"{m}-{d:02d},{who},{'' if m == '2025-03' else '10-17'}\n"
                   for m in months for d, who in enumerate(["Black"] * 3 + ["White"] * 6, 1))
    (folder / "s.csv").write_text("day,ethnicity,age\n" + rows, encoding="utf-8")


@pytest.fixture
def project(tmp_path, cli, monkeypatch):
    _write(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KPI_NO_CACHE", "1")
    loaded = cli(["ingest", "s", "s.csv"])
    assert loaded.exit_code == 0, loaded.output
    return tmp_path


def test_a_population_written_as_a_table_keeps_its_count_and_source(tmp_path):
    _write(tmp_path)
    project = load_project(tmp_path)
    assert project.populations == {"black": 160_000.0, "white": 1_990_000.0, "area": 10_800.0}
    assert project.population_sources == {
        "black": PopulationSource("", True),
        "white": PopulationSource("round figures of the area's order", True),
        "area": PopulationSource("the 2021 Census", False)}
    ratio, rate, count = (project.known_kpi(k) for k in ("disp_black", "searches_per_1000",
                                                           "children"))
    assert (ratio.population_illustrative, ratio.population_source) == (
        True, "round figures of the area's order")
    assert (rate.population_illustrative, rate.population_source) == (False, "the 2021 Census")
    assert (count.population_illustrative, count.population_source) == (False, "")


@pytest.mark.parametrize(("written", "said"), [
    ("black = { count = 160_000, ilustrative = true }", "unknown key ilustrative"),
    ("black = { source = \"ONS\" }", "has no count"),
    ("black = { count = 160_000, illustrative = \"yes\" }", "illustrative must be true or false"),
    ("black = { count = 160_000, source = 2021 }", "source must be one line of text"),
    ("black = { count = -5 }", "black"),
])
def test_a_population_written_wrongly_is_refused_naming_its_line(tmp_path, written, said):
    _write(tmp_path, PROJECT.replace("black = { count = 160_000, illustrative = true }",
                                     written))
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    message = caught.value.message
    assert said in message and "[population]" in message, message
    assert "kpi.toml:4" in message, message


def test_the_summary_lists_the_figures_of_illustrative_populations(project, cli):
    result = cli(["summary", "--period", "2025-09"])
    assert result.exit_code == 0, result.output
    listed = result.stdout.split("Illustrative populations, not published figures (kpi.toml "
                                 "[population]):\n", 1)[1].splitlines()[0]
    assert listed.strip() == "Disproportionality, Black vs White"
    table = cli(["summary", "--period", "2025-09", "--format", "json"])
    figures = {k["id"]: k["current"]["value"] for k in json.loads(table.stdout)["kpis"]}
    assert figures == {"searches_per_1000": pytest.approx(10.0),
                       "disp_black": pytest.approx(6.21875), "children": 99}


def test_the_paper_says_what_its_populations_are_and_which_rows_it_doubts(project, cli):
    result = cli(["export", "markdown", "--period", "2025-09", "--output", "paper.md"])
    assert result.exit_code == 0, result.output
    text = (project / "paper.md").read_text(encoding="utf-8")
    paragraphs = {m.group(1): m.group(2) for m in re.finditer(
        r"^\d+\.\d+\. \*\*(.+?)\.\*\* (.+)$", text, re.M)}
    ratio = paragraphs["Disproportionality, Black vs White"]
    assert ratio.startswith("Black people were 6.2 times as likely as White people to be "
                            "stopped and searched"), ratio
    assert ratio.endswith(" The populations it divides by are illustrative, not published "
                          "figures (round figures of the area's order)."), ratio
    rate = paragraphs["Searches per 1,000 population"]
    assert rate.startswith("The rate was 10.0 per 1,000 population"), rate
    assert rate.endswith(" The population it divides by is from the 2021 Census."), rate
    children = paragraphs["Searches of children"]
    note = ("the age column is blank on 100.0% of the rows of March 2025 (a median of 0.0% "
            "in the months around it)")
    assert children.startswith("A total of 99 was recorded"), children
    assert children.endswith(f" Data quality: {note}."), children
    assert "Data quality" not in paragraphs["Searches per 1,000 population"]
    # The front page names it too, with its paragraph, as `kpi check` fails on it.
    front = text.split("## 1. ", 1)[0]
    number = re.search(r"^(\d+\.\d+)\. \*\*Searches of children", text, re.M).group(1)
    assert "**Data-quality notes (1)**" in front
    assert f"- Searches of children: {note}. See {number}." in front
    checked = cli(["check", "--period", "2025-09"])
    assert "quality_children" in checked.stdout


def test_quality_notes_name_months_and_columns_in_words():
    from kpi.paper import quality_words

    assert quality_words("column 'age_range' is blank on 100.0% of the rows of 2023-11 (a "
                         "median of 23.2% in the months around it)") == (
        "the age range column is blank on 100.0% of the rows of November 2023 (a median of "
        "23.2% in the months around it)")
    assert quality_words("2025-04..2025-06 holds 3 rows, against a median of 90 in the "
                         "quarters around it") == (
        "April 2025 to June 2025 holds 3 rows, against a median of 90 in the quarters "
        "around it")
    # A number that is no month is left as it is.
    assert quality_words("2025-13 holds 2,024-10 rows") == "2025-13 holds 2,024-10 rows"
