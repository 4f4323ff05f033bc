"""kpi init and kpi catalogue: scaffolding a project, listing and validating the catalogue."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from kpi.catalogue import Kind, parse_project_file

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def uncomment_examples(text: str) -> str:
    """The template with every commented-out example block switched on."""
    return re.sub(r"^# (\[\[kpis\]\]|[a-z_]+ = )", r"\1", text, flags=re.MULTILINE)


def test_init_writes_a_project_that_validates_as_is(cli, tmp_path):
    target = tmp_path / "north"
    result = cli(["init", target])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # messages go to stderr
    assert (target / "data").is_dir() and not any((target / "data").iterdir())
    check = cli(["catalogue", "--validate", target / "kpi.toml"])
    assert check.exit_code == 0, check.output
    assert "valid (3 datasets, 3 priorities, 4 KPIs)" in check.stderr
    assert parse_project_file(target / "kpi.toml").name == "north"


def test_init_template_has_an_example_of_every_kind_and_all_of_them_validate(cli, tmp_path):
    assert cli(["init", tmp_path]).exit_code == 0
    every = tmp_path / "every.toml"
    every.write_text(uncomment_examples((tmp_path / "kpi.toml").read_text()), encoding="utf-8")
    project = parse_project_file(every)
    assert {k.kind for k in project.kpis} == set(Kind)
    assert any(k.is_derived for k in project.kpis)
    assert any(k.status.value == "in_development" for k in project.kpis)


def test_init_refuses_to_overwrite(cli, tmp_path):
    (tmp_path / "kpi.toml").write_text("# mine\n", encoding="utf-8")
    result = cli(["init", tmp_path])
    assert result.exit_code == 2
    assert "already exists; not overwriting it" in result.stderr
    assert (tmp_path / "kpi.toml").read_text() == "# mine\n"


def test_init_escapes_the_project_name(cli, tmp_path):
    target = tmp_path / 'quote"and\\slash'
    assert cli(["init", target]).exit_code == 0
    assert parse_project_file(target / "kpi.toml").name == 'quote"and\\slash'


def test_new_project_summary_says_no_data_yet(cli, tmp_path):
    """Before any ingest there is nothing to report: a data error naming what to do."""
    assert cli(["init", tmp_path]).exit_code == 0
    result = cli(["--project", tmp_path, "summary", "--period", "2025-09", "--format", "json"])
    assert result.exit_code == 3, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Error: no KPI has data for 2025-09: nothing is stored yet (every dataset is empty)",
        "Hint: 'kpi datasets' shows the months each dataset holds: choose a --period they "
        "cover, or load extracts with 'kpi ingest DATASET FILE...'"]


@pytest.mark.parametrize("fmt", ["markdown", "docx", "html"])
def test_new_project_paper_is_refused_as_the_summary_is(cli, tmp_path, fmt):
    """A paper before any ingest was written, every KPI "without data", and exited 0: a
    scheduled export in an empty project looked like a success."""
    assert cli(["init", tmp_path / "p"]).exit_code == 0
    output = tmp_path / "out" / f"board.{fmt}"
    result = cli(["--project", tmp_path / "p", "export", fmt, "--period", "2025-09",
                  "--output", output])
    assert result.exit_code == 3, result.output
    assert result.stderr.splitlines() == [
        "Error: no KPI has data for 2025-09: nothing is stored yet (every dataset is empty)",
        "Hint: 'kpi datasets' shows the months each dataset holds: choose a --period they "
        "cover, or load extracts with 'kpi ingest DATASET FILE...'"]
    assert not output.exists()
    assert not output.with_name("board.figures.json").exists()


def test_validate_reports_every_problem_with_file_and_line(cli, tmp_path):
    bad = tmp_path / "kpi.toml"
    shutil.copy(FIXTURES / "mini" / "kpi.toml", bad)
    text = bad.read_text()
    text = text.replace('kind = "median"', 'kind = "middle"')
    text = text.replace('filter = "offence = \'knife\'"', 'filter = "ofence = \'knife\'"')
    text = text.replace('period = "2025-09"', 'period = "2025-13"\nformat = "xml"')
    bad.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    result = cli(["catalogue", "--validate", bad])
    assert result.exit_code == 3
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 4
    located = {}
    for error in errors:
        match = re.match(r"Error: (.+):(\d+): ", error)
        assert match and match.group(1) == str(bad), error
        located[int(match.group(2))] = error
    assert {lines[n - 1].strip() for n in located} == {
        'kind = "middle"', 'filter = "ofence = \'knife\'"', 'period = "2025-13"',
        'format = "xml"'}
    assert "Hint: 4 problems in the project file" in result.stderr


def test_validate_syntax_error_and_missing_file(cli, tmp_path):
    broken = tmp_path / "kpi.toml"
    broken.write_text("[project\nname = 1\n", encoding="utf-8")
    result = cli(["catalogue", "--validate", broken])
    assert result.exit_code == 3
    assert "TOML syntax error" in result.stderr and "line 1" in result.stderr
    missing = cli(["catalogue", "--validate", tmp_path / "nope.toml"])
    assert missing.exit_code == 3
    assert "nope.toml" in missing.stderr


@pytest.fixture
def mini(tmp_path) -> Path:
    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    return root


def test_catalogue_lists_kpis_in_plan_order(cli, mini):
    result = cli(["--project", mini, "catalogue", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [k["id"] for k in doc["kpis"]] == ["total_crime", "knife_crime",
                                              "positive_outcome_rate", "median_days_to_outcome",
                                              "victim_satisfaction"]
    assert [p["id"] for p in doc["priorities"]] == ["violence", "justice"]
    assert doc["kpis"][1]["priority_title"] == "Preventing and Tackling Violence"


def test_catalogue_filters(cli, mini):
    by_priority = cli(["--project", mini, "catalogue", "--priority", "justice", "-f", "csv"])
    assert by_priority.stdout.splitlines() == [
        "id,title,priority,kind,unit,better,status,dataset",
        "positive_outcome_rate,Positive outcome rate,justice,rate,percent,higher,live,crimes",
        "median_days_to_outcome,Median days to outcome,justice,median,days,lower,live,crimes",
        "victim_satisfaction,Victim satisfaction,justice,rate,percent,neutral,"
        "in_development,",
    ]
    in_dev = cli(["--project", mini, "catalogue", "--status", "in_development", "-f", "json"])
    assert [k["id"] for k in json.loads(in_dev.stdout)["kpis"]] == ["victim_satisfaction"]
    unknown = cli(["--project", mini, "catalogue", "--priority", "roads"])
    assert unknown.exit_code == 2
    assert "one of: violence, justice" in unknown.stderr
    bad_status = cli(["--project", mini, "catalogue", "--status", "dead"])
    assert bad_status.exit_code == 2


def test_catalogue_table_matches_golden(cli, mini):
    result = cli(["--project", mini, "catalogue"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (FIXTURES / "golden" / "catalogue_mini.txt").read_text("utf-8")


def test_catalogue_markdown(cli, mini):
    result = cli(["--project", mini, "catalogue", "--priority", "violence", "-f", "markdown"])
    assert result.stdout.splitlines()[:6] == [
        "# Mini force: 2 KPIs", "", "## KPIs", "",
        "| id | title | priority | kind | unit | better | status | dataset |",
        "|---|---|---|---|---|---|---|---|",
    ]
    assert result.stdout.splitlines()[6] == (
        "| total_crime | Total recorded crime | violence | count | count | lower | live | "
        "crimes |")


def _as_written_on_windows(mini: Path, sources: str, data: str | None = None) -> list[str]:
    """The mini project's kpi.toml with its `sources` line (and `data`) as a Windows user
    writes them, saved with CRLF line endings as Notepad saves it; its lines."""
    text = (FIXTURES / "mini" / "kpi.toml").read_text(encoding="utf-8")
    text = text.replace('sources = ["extracts/crimes.csv"]', f"sources = [{sources}]")
    if data is not None:
        text = text.replace('data = "data"', f"data = {data}")
    (mini / "kpi.toml").write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    return text.splitlines()


def test_a_windows_path_in_single_quotes_names_the_same_files_on_every_system(cli, mini):
    """`sources = ['extracts\\crimes.csv']`, as copied from Windows Explorer: a backslash is
    a folder separator for the paths kpi.toml names, on Linux (a cron job on a server) as on
    Windows; it was 'no files match .../extracts\\crimes.csv', exit 2, on Linux."""
    import csv

    _as_written_on_windows(mini, r"'extracts\crimes.csv'", data=r"'store\main'")
    result = cli(["--project", mini, "ingest", "crimes"])
    assert result.exit_code == 0, result.output
    with open(mini / "extracts" / "crimes.csv", newline="", encoding="utf-8") as handle:
        rows = sum(1 for _ in csv.DictReader(handle))  # the oracle: a count of the file's rows
    assert f"Loaded {rows:,} rows into 'crimes'" in result.stderr
    assert (mini / "store" / "main" / "crimes" / "_delta_log").is_dir()
    assert not any("\\" in p.name for p in mini.iterdir())


def test_a_windows_path_in_double_quotes_is_refused_with_the_backslash_rule(cli, mini):
    """In "double quotes" TOML reads a backslash as an escape: `"extracts\\crimes.csv"` is a
    syntax error, whose hint said 'strings need quotes' (they had them); `"extracts\\new.csv"`
    parses, with a line break in the path, and was 'no files match', exit 2, at ingest."""
    hint = ("Hint: in \"double quotes\" a backslash starts an escape (\\n, \\t, \\u): write a "
            "path with / (extracts/crimes.csv) or in 'single quotes'")
    lines = _as_written_on_windows(mini, r'"extracts\crimes.csv"')
    at = next(n for n, line in enumerate(lines, 1) if line.startswith("sources"))
    result = cli(["--project", mini, "ingest", "crimes"])
    assert result.exit_code == 3, result.output
    error, said = result.stderr.splitlines()
    assert error.startswith(f"Error: {mini / 'kpi.toml'}: TOML syntax error: Unescaped '\\' "
                            f"in a string (at line {at}, column ")  # the column is tomllib's
    assert said == hint
    _as_written_on_windows(mini, r'"extracts\new.csv"')
    result = cli(["--project", mini, "ingest", "crimes"])
    assert result.exit_code == 3, result.output
    error = result.stderr.splitlines()[0]
    assert error == (f"Error: {mini / 'kpi.toml'}:{at}: dataset 'crimes', key 'sources': "
                     f"'extracts?ew.csv' holds a tab or line break: {hint.removeprefix('Hint: ')}")
    assert not (mini / "data").exists()
