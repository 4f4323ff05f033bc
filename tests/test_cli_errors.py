"""Every error is one line and a hint: Click's and Typer's usage errors as much as kpi's own.

Each case is an error path a user meets; each must print exactly `Error: ...` then `Hint: ...`
on stderr, nothing on stdout, and exit with its documented code. Shared options work on either
side of the command, and unknown ids, columns and priorities name the nearest.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest
from hostile_support import make_project

from kpi.argv import placed

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    from kpi.catalogue import load_project
    from kpi.ingest import load

    root = tmp_path_factory.mktemp("errors") / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    load(load_project(root), "crimes")
    return root


CASES = [
    # (arguments after --project MINI, exit code, the error line's start, the hint's start)
    (["sumary"], 2, "Error: No such command 'sumary'", "Hint: see 'kpi --help'"),
    (["summary", "--formt", "json", "--period", "2025-09"], 2,
     "Error: No such option: --formt", "Hint: see 'kpi summary --help'"),
    (["summary", "--period", "2025-13"], 2, "Error: invalid period '2025-13'",
     "Hint: for example --period 2025-09"),
    (["summary", "--period", "2025-09", "--vs", "lastyear"], 2,
     "Error: Invalid value for '--vs'", "Hint: see 'kpi summary --help'"),
    (["summary", "--period", "2025-09", "extra"], 2,
     "Error: Got unexpected extra argument", "Hint: see 'kpi summary --help'"),
    (["show"], 2, "Error: Missing argument 'KPI_ID'", "Hint: see 'kpi show --help'"),
    (["show", "total_crime", "--period", "2025-09", "--months", "1"], 2,
     "Error: invalid --months '1': expected a whole number from 2 to 120",
     "Hint: for example --months 24"),
    (["show", "total_crim", "--period", "2025-09"], 2, "Error: unknown KPI 'total_crim'",
     "Hint: did you mean 'total_crime'?"),
    (["summary", "--period", "2025-09", "--priority", "violenc"], 2,
     "Error: unknown priority 'violenc'", "Hint: did you mean 'violence'?"),
    (["history", "crime"], 3, "Error: unknown dataset 'crime'", "Hint: did you mean 'crimes'?"),
    (["compare", "--period", "2025-09", "--by", "lpaa"], 2,
     "Error: no KPI can be compared by 'lpaa'", "Hint: did you mean 'lpa'?"),
    (["compare", "--period", "2025-09", "--by", "lpa", "--kpi", "total_crim"], 2,
     "Error: unknown KPI 'total_crim'", "Hint: did you mean 'total_crime'?"),
    (["ingest", "crimes", "nothing-*.csv"], 2, "Error: no files match 'nothing-*.csv'",
     "Hint: check the pattern against the files in"),
    (["ingest", "crimes", "missing.csv"], 3, "Error: missing.csv: no such file",
     "Hint: check the name; the working folder is"),
    (["export", "markdown", "--period", "2025-09", "--output", "board.txt"], 2,
     "Error: --output 'board.txt' should be", "Hint: "),
    # the terminal's table written into a file named for another format, exit 0
    (["summary", "--period", "2025-09", "--output", "summary.xlsx"], 2,
     "Error: --output 'summary.xlsx' names an Excel workbook, and --format table writes a "
     "table as text", "Hint: add --format xlsx"),
    (["compare", "--period", "2025-09", "--by", "lpa", "--output", "parts.json"], 2,
     "Error: --output 'parts.json' names a JSON file, and --format table writes a table as "
     "text", "Hint: add --format json"),
    (["summary", "--period", "2025-09", "--format", "json", "--output", "s.csv"], 2,
     "Error: --output 's.csv' names a CSV file, and --format json writes json",
     "Hint: add --format csv"),
    (["summary", "--period", "2025-09", "--output", "summary.docx"], 2,
     "Error: --output 'summary.docx' names a Word document, which no --format of this "
     "command writes", "Hint: write to a file ending .txt"),
    (["summary", "--period", "2025-09", "--output", "summary.markdown"], 2,
     "Error: --output 'summary.markdown' names a Markdown file", "Hint: add --format markdown"),
    (["vacuum", "--keep-days", "-1"], 2, "Error: invalid --keep-days '-1': expected a number "
     "from 0 to 36,500 in the digits 0-9", "Hint: for example --keep-days 30"),
]


@pytest.mark.parametrize("args,code,error,hint", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_each_error_is_one_line_and_a_hint(cli, mini, monkeypatch, args, code, error, hint):
    monkeypatch.chdir(mini)
    result = cli(["--project", mini, *args])
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(error), lines
    assert lines[1].startswith(hint), lines


def test_no_project_and_a_wrong_project_are_one_line_and_a_hint(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    missing = cli(["--project", tmp_path / "nowhere", "datasets"])
    assert missing.exit_code == 3
    assert missing.stderr.splitlines() == [
        f"Error: no project file at {tmp_path / 'nowhere' / 'kpi.toml'}"
        if (tmp_path / "nowhere").is_dir() else f"Error: no project file at {tmp_path / 'nowhere'}",
        "Hint: pass a folder holding kpi.toml, or run 'kpi init'"]
    (tmp_path / "sample").mkdir()
    both = cli(["--project", "sample", "datasets"])
    assert both.exit_code == 2
    assert both.stderr.splitlines()[1].startswith("Hint: write .")


def test_every_kpi_error_prints_a_hint(cli, mini):
    """A raise that names no hint gets its class's general one: never an error alone."""
    from kpi.errors import ConfigError, DataError, KpiError, UsageError

    for kind in (KpiError, UsageError, ConfigError, DataError):
        assert kind("x").general_hint
    package = Path(__file__).resolve().parent.parent / "kpi"
    raised = [node for path in package.rglob("*.py")
              for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id.endswith("Error") and node.func.id in {
                  "KpiError", "UsageError", "ConfigError", "DataError"}]
    assert len(raised) > 50  # the scan sees the raises it guards


@pytest.mark.parametrize("args", [
    ["summary", "--project", "{mini}", "--period", "2025-09", "--format", "json"],
    ["--format", "json", "--project", "{mini}", "summary", "--period", "2025-09"],
    ["--period", "2025-09", "summary", "--format", "json", "--project", "{mini}"],
    ["summary", "--period", "2025-09", "-f", "json", "-p", "{mini}", "--quiet"],
])
def test_shared_options_before_or_after_the_command(cli, mini, args):
    result = cli([a.format(mini=mini) for a in args])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["period"] == "2025-09"


def test_debug_after_the_command_shows_the_traceback(cli, mini):
    result = cli(["summary", "--period", "2025-13", "--project", mini, "--debug"])
    assert result.exit_code != 0
    assert result.exception is not None and "2025-13" in str(result.exception)


def test_placed_moves_each_option_once_and_leaves_values_alone():
    assert placed(["summary", "--project", "X", "--period", "2025-09"]) == [
        "--project", "X", "summary", "--period", "2025-09"]
    assert placed(["--format", "csv", "show", "k", "-f", "json"]) == ["show", "k", "-f", "json"]
    assert placed(["export", "docx", "-p", "X", "--", "-q"]) == [
        "-p", "X", "export", "docx", "--", "-q"]
    assert placed(["--help"]) == ["--help"]
    line = ["--period=2025-09", "--debug", "history", "crimes", "--quiet"]
    assert placed(placed(line)) == placed(line) == [
        "--debug", "--quiet", "history", "crimes", "--period=2025-09"]


def test_compare_by_ignores_case(cli, mini):
    lower = cli(["--project", mini, "compare", "--period", "2025-09", "--by", "lpa", "-f", "csv"])
    upper = cli(["--project", mini, "compare", "--period", "2025-09", "--by", "LPA", "-f", "csv"])
    assert lower.exit_code == upper.exit_code == 0, upper.output
    assert upper.stdout == lower.stdout


def test_a_missing_period_names_every_way_to_give_it(cli, tmp_path):
    project = make_project(tmp_path / "p")  # no [defaults] period
    result = cli(["--project", project, "summary"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: Missing option '--period' (env var: 'KPI_PERIOD').",
        "Hint: give the reporting month, e.g. --period 2025-09 (or set KPI_PERIOD, or period "
        "in kpi.toml [defaults]); see 'kpi summary --help'"]


@pytest.mark.parametrize("line, message", [
    ('period = "2025-9"', "[defaults], key 'period': invalid defaults.period '2025-9': expected "
                          "a calendar month as YYYY-MM"),
    ('vs = "yearly"', "[defaults], key 'vs': must be one of baseline, yoy, previous, fytd"),
])
def test_a_default_the_option_would_refuse_names_its_line_in_kpi_toml(cli, tmp_path, line,
                                                                       message):
    """[defaults] are option defaults, read before the catalogue: "period = '2025-9'" was
    refused as the option ("Error: invalid period '2025-9'", exit 2), with no word of the
    kpi.toml that gave it. The catalogue refuses it, naming the file, line and key (exit 3)."""
    project = make_project(tmp_path / "p")
    toml = project / "kpi.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(f"[defaults]\n{line}\n\n" + text, encoding="utf-8")
    result = cli(["--project", project, "summary"])
    assert result.exit_code == 3, result.output
    assert result.stderr.splitlines() == [f"Error: {toml}:2: {message}",
                                          "Hint: 1 problem in the project file"]


def test_ingest_names_a_folder_given_as_an_extract(cli, tmp_path):
    project = make_project(tmp_path / "p")
    (project / "extracts").mkdir()
    result = cli(["--project", project, "ingest", "incidents", project / "extracts"])
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        f"Error: {project / 'extracts'}: is a folder, not an extract",
        f"Hint: name the files in it, for example {project / 'extracts' / '*.csv'}"]


def test_an_error_prints_a_name_as_written_never_as_an_emoji(cli, tmp_path, mini):
    """Rich reads ":a:" in text as an emoji code: an extract named "x:a:.csv" was named
    "x🅰.csv" in the error line, and a table's header ":a:" printed as the emoji. Every console
    kpi prints through takes text as written."""
    project = make_project(tmp_path / "p")
    missing = project / "x:a:.csv"
    result = cli(["--project", project, "ingest", "incidents", missing])
    assert result.exit_code == 3
    assert result.stderr.splitlines()[0] == f"Error: {missing}: no such file"
    result = cli(["--project", mini, "show", ":cl:", "--period", "2025-09"])
    assert ":cl:" in result.stderr and "\U0001f191" not in result.stderr


@pytest.mark.parametrize("words,expected", [
    ("kpi show tot", ["total_crime"]),
    ("kpi compare --kpi knife", ["knife_crime"]),
    ("kpi history cr", ["crimes"]),
    ("kpi summary --priority ", ["violence", "justice"]),
])
def test_completion_of_kpi_dataset_and_priority_ids(mini, words, expected):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")
           or k == "KPI_CACHE_DIR"}
    env.update(_KPI_COMPLETE="complete_bash", COMP_WORDS=words,
               COMP_CWORD=str(len(words.split()) - (0 if words.endswith(" ") else 1)))
    shim = "import sys; from kpi.entry import main; sys.argv[0] = 'kpi'; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", shim], cwd=mini, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == expected


def _commands(command, path=("kpi",)):
    yield " ".join(path), command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_every_command_help_has_examples_of_itself():
    import typer

    from kpi.cli import app

    found = dict(_commands(typer.main.get_command(app)))
    assert {"kpi", "kpi summary", "kpi export docx", "kpi ingest"} <= set(found)
    for path, command in found.items():
        help_text = command.help or ""
        assert "Examples:" in help_text, path
        shown = help_text.split("Examples:", 1)[1]
        assert f"{path} " in shown or path == "kpi", (path, shown)


def test_a_project_folder_named_in_another_encoding_is_refused_in_one_line(cli, mini,
                                                                           tmp_path):
    """A folder named in Latin-1 on Linux ('proj\\xe9'): `kpi ingest` read the extract, then
    Parquet's writer stopped on the name with a traceback (exit 5). Refused before any work,
    naming the path and what to do (exit 3)."""
    import os

    if os.name == "nt":
        pytest.skip("Windows names files in UTF-16: every name is text")
    folder = tmp_path / os.fsdecode(b"proj\xe9")
    try:
        shutil.copytree(mini, folder, ignore=shutil.ignore_patterns("data"))
    except (OSError, UnicodeError):
        pytest.skip("this file system names files in UTF-8 only")
    result = cli(["--project", folder, "ingest", "crimes"])
    assert result.exit_code == 3, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == (f"Error: the project's path {tmp_path}/proj\\xe9 is not UTF-8 "
                        "text, which the store's files cannot be named under")
    assert lines[1].startswith("Hint: rename the folder")
    assert not (folder / "data").exists()
