"""Every command at the edges, as a newcomer and a hostile tester drive it.

The matrix: each command and output format in each state a project can be in (a new project
with an empty store; one dataset loaded and another empty; a period past the data and one before
it; an `--as-of` version that does not exist or a date before the first load), with the project
and every output in a folder named with a space, an apostrophe and non-ASCII letters. Each cell
asserts the documented exit code (docs/guarantees.md) and, for a refusal, the one error line and
its hint, nothing on stdout and no file written: a figure printed for a period with no data and
exit 0 is the worst answer kpi could give. Then the states only a process has: an unusable
cache folder, a closed or full standard output, a reader that goes away.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from inprocess import run

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# A second dataset, never loaded, with a KPI that reads it.
INCIDENTS = """
[datasets.incidents]
description = "Incidents attended, one row per incident"
date = "opened"
sources = ["extracts/incidents.csv"]

[datasets.incidents.columns]
opened = "date"
lpa = "str"
response_seconds = "int"

[[kpis]]
id = "median_response"
title = "Median response time"
priority = "violence"
kind = "median"
dataset = "incidents"
value = "response_seconds"
unit = "seconds"
better = "lower"
"""

NO_STORE = "nothing is stored yet (every dataset is empty)"
BEFORE = "total_crime: no data on or before 2019-01"
PAST = "no data reaches 2030-01: the latest month held is 2025-09 (dataset 'crimes')"
TEXT_FORMATS = ("table", "json", "csv", "csv-excel", "markdown")


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")}
    env["KPI_CACHE_DIR"] = str(cache)
    env["NO_COLOR"] = "1"
    return env


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict[str, Path]:
    """'empty': a new project (kpi init) with nothing stored; 'one': crimes loaded, incidents
    empty; both in a folder named "Zoë's reports/ü ß"."""
    root = tmp_path_factory.mktemp("edges") / "Zoë's reports"
    cache = root.parent / "cache"
    empty = root / "ü ß new"
    made = run(["init", empty], env=_env(cache))
    assert made.returncode == 0, made.stderr
    one = root / "ü ß"
    shutil.copytree(FIXTURES / "mini", one)
    with open(one / "kpi.toml", "a", encoding="utf-8") as handle:
        handle.write(INCIDENTS)
    loaded = run(["--project", one, "ingest", "crimes"], env=_env(cache))
    assert loaded.returncode == 0, loaded.stderr
    return {"empty": empty, "one": one, "cache": cache, "out": root / "sörties ß"}


def _commands(period: str, kpi: str = "total_crime") -> list[tuple[str, list[str], str]]:
    """(cell id, arguments, what it writes: 'stdout' or the output file's suffix) for every
    command and format that takes a period."""
    cells = []
    for name, command in (("summary", ["summary"]), ("show", ["show", kpi]),
                          ("compare", ["compare", "--by", "lpa"])):
        cells += [(f"{name}-{fmt}", [*command, "--period", period, "--format", fmt], "stdout")
                  for fmt in TEXT_FORMATS]
        cells.append((f"{name}-xlsx", [*command, "--period", period, "--format", "xlsx"],
                      ".xlsx"))
    cells += [(f"check-{fmt}", ["check", "--period", period, "--format", fmt], "stdout")
              for fmt in ("table", "json", "csv")]
    cells += [(f"export-{fmt}", ["export", fmt, "--period", period], f".{suffix}")
              for fmt, suffix in (("markdown", "md"), ("docx", "docx"), ("html", "html"))]
    return cells


def _refusal(command: str, reason: str, kpi: str = "total_crime") -> str:
    """The one no-data line each command gives (kpi.errors.no_data)."""
    if command == "show":
        return f"Error: {kpi} has no data for {{period}}: {reason}"
    if command == "compare":
        return f"Error: no KPI has data by 'lpa' for {{period}}: {reason}"
    return f"Error: no KPI has data for {{period}}: {reason}"


# (state, project, period, extra arguments, expected (code, first stderr line) per command:
# a code alone is a success, or exit 1 for failed checks)
def _cases():
    cases = []
    for cell, args, writes in _commands("2025-09"):
        command = cell.split("-")[0]
        show_reason = "dataset 'crimes' has no data yet"
        reason = show_reason if command == "show" else NO_STORE
        cases.append(("a-empty-store", "empty", cell, args, writes, 3,
                      _refusal(command, reason).format(period="2025-09")))
    for cell, args, writes in _commands("2025-09"):
        # One dataset loaded: every figure is of crimes; check fails for the empty one.
        code = 1 if cell.startswith("check") else 0
        cases.append(("b-one-loaded", "one", cell, args, writes, code, None))
    for cell, args, writes in _commands("2025-09", kpi="median_response"):
        if cell.startswith("show"):
            cases.append(("b-one-loaded-empty-kpi", "one", cell, args, writes, 3,
                          _refusal("show", "dataset 'incidents' has no data yet",
                                   kpi="median_response").format(period="2025-09")))
    for fmt in TEXT_FORMATS:
        # Crimes is stored, but the one KPI asked for reads the empty dataset: its own reason.
        cases.append(("b-one-loaded-empty-kpi", "one", f"compare-kpi-{fmt}",
                      ["compare", "--by", "lpa", "--kpi", "median_response", "--period",
                       "2025-09", "--format", fmt], "stdout", 3,
                      "Error: no KPI has data by 'lpa' for 2025-09: median_response: dataset "
                      "'incidents' has no data yet"))
    for cell, args, writes in _commands("2030-01"):
        cases.append(("c-past-the-data", "one", cell, args, writes, 3, f"Error: {PAST}"))
    for cell, args, writes in _commands("2019-01"):
        command = cell.split("-")[0]
        reason = "no data on or before 2019-01" if command == "show" else BEFORE
        cases.append(("d-before-the-data", "one", cell, args, writes, 3,
                      _refusal(command, reason).format(period="2019-01")))
    for cell, args, writes in _commands("2025-09"):
        cases.append(("f-as-of-missing-version", "one", cell, [*args, "--as-of", "99"], writes,
                      3, "Error: dataset 'crimes' has no version 99 (latest is 0)"))
        cases.append(("f-as-of-before-first-load", "one", cell,
                      [*args, "--as-of", "2001-01-01"], writes, 3,
                      "Error: dataset 'crimes' did not exist at 2001-01-01 (the end of the "
                      "day, UTC; first loaded "))
    for state, project in (("a-empty-store", "empty"), ("b-one-loaded", "one")):
        for fmt in ("table", "json", "csv", "markdown"):
            cases.append((state, project, f"datasets-{fmt}", ["datasets", "--format", fmt],
                          "stdout", 0, None))
        cases.append((state, project, "catalogue", ["catalogue"], "stdout", 0, None))
        cases.append((state, project, "vacuum", ["vacuum"], None, 0, None))
    # A check of nothing passed (exit 0, no row): no [[checks]], and --no-data.
    cases.append(("b-one-loaded", "one", "check-no-data", ["check", "--period", "2025-09",
                                                           "--no-data"], "stdout", 2,
                  "Error: nothing to check in kpi.toml: it declares no [[checks]] and "
                  "--no-data leaves out the data checks"))
    for fmt in TEXT_FORMATS:
        history = ["history", "crimes", "--format", fmt]
        cases.append(("a-empty-store", "empty", f"history-{fmt}", history, "stdout", 3,
                      "Error: dataset 'crimes' has no data yet"))
        cases.append(("b-one-loaded", "one", f"history-{fmt}", history, "stdout", 0, None))
        cases.append(("b-one-loaded", "one", f"history-empty-{fmt}",
                      ["history", "incidents", "--format", fmt], "stdout", 3,
                      "Error: dataset 'incidents' has no data yet"))
    for state, project in (("a-empty-store", "empty"), ("b-one-loaded", "one")):
        cases.append((state, project, "history-xlsx",
                      ["history", "crimes", "--format", "xlsx"], ".xlsx",
                      3 if project == "empty" else 0,
                      "Error: dataset 'crimes' has no data yet" if project == "empty" else None))
        for fmt in ("json", "csv", "markdown"):
            cases.append((state, project, f"catalogue-{fmt}", ["catalogue", "--format", fmt],
                          "stdout", 0, None))
        cases.append((state, project, "datasets-xlsx", ["datasets", "--format", "xlsx"],
                      ".xlsx", 0, None))
    return cases


CASES = _cases()


@pytest.mark.parametrize(("state", "project", "cell", "args", "writes", "code", "error"),
                         CASES, ids=[f"{c[0]}:{c[2]}" for c in CASES])
def test_each_cell_has_its_documented_exit_code_and_line(places, state, project, cell, args,
                                                         writes, code, error):
    out = places["out"] / f"{state} {cell}"
    output = out.with_suffix(writes) if writes not in (None, "stdout") else None
    folder = places[project]
    result = run(["--project", folder, *args, *(["--output", output] if output else [])],
                 env=_env(places["cache"]))
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    if error is not None:
        # A refusal: one line and a hint, nothing printed and nothing written.
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 2, lines
        assert lines[0].startswith(error), lines
        assert lines[1].startswith("Hint: ") and len(lines[1]) > len("Hint: ")
        if output is not None:
            assert not output.exists()
            assert not list(output.parent.glob(f"{output.stem}*"))
        return
    assert "Error:" not in result.stderr
    if output is not None:
        assert output.is_file() and output.stat().st_size > 0
        assert result.stdout == ""
    elif writes == "stdout":
        assert result.stdout.strip()


# What kpi read by guessing: a year 0, digits other than 0-9 (read as 2025-09 by Python's
# `\d` and int()), a date after today read as the latest version. Each is refused before any
# data is read, in one line and a hint, exit 2, whatever the command.
TYPED = [
    (["--period", "0000-01"], "Error: invalid period '0000-01': the year must be from 1900 to "
                              "2999"),
    (["--period", "２０２５-０９"], "Error: invalid period '２０２５-０９': expected a calendar "
                                  "month as YYYY-MM in the digits 0-9"),
    (["--period", "٢٠٢٥-٠٩"], "Error: invalid period '٢٠٢٥-٠٩': expected a calendar month as "
                              "YYYY-MM in the digits 0-9"),
    (["--period", "2025-09", "--as-of", "٠"], "Error: invalid --as-of '٠': expected a version "
                                              "number or an ISO date or time"),
    (["--period", "2025-09", "--as-of", "2099-01-01"], "Error: invalid --as-of '2099-01-01': a "
                                                       "date after today ("),
    (["--period", "2025-09", "--as-of", "2099-01-01T00:00+14:00"],
     "Error: invalid --as-of '2099-01-01T00:00+14:00': a time after now ("),
    (["--period", "2025-09", "--as-of", "20251031"], "Error: invalid --as-of '20251031': it "
     "reads as a table version and as the date 2025-10-31"),
]


@pytest.mark.parametrize(("args", "error"), TYPED, ids=[" ".join(a) for a, _ in TYPED])
@pytest.mark.parametrize("command", [["summary"], ["show", "total_crime"],
                                     ["compare", "--by", "lpa"], ["export", "markdown"]],
                         ids=lambda c: c[0])
def test_a_month_or_date_kpi_would_have_guessed_is_refused(places, tmp_path, command, args,
                                                           error):
    output = tmp_path / "board.md"
    more = ["--output", output] if command[0] == "export" else []
    result = run(["--project", places["one"], *command, *args, *more],
                 env=_env(places["cache"]))
    assert result.returncode == 2, result.stderr
    assert result.stdout == "" and not output.exists()
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith(error), lines
    assert lines[1].startswith("Hint: ")


def test_the_check_command_refuses_a_typed_month_as_the_others_do(places):
    result = run(["--project", places["one"], "check", "--period", "０９９９-０１"],
                 env=_env(places["cache"]))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "Error: invalid period '０９９９-０１': expected a calendar month as YYYY-MM in the "
        "digits 0-9", "Hint: for example --period 2025-09"]


def test_as_of_today_is_read_and_names_no_future(places):
    """A bare date is the end of its day, UTC: today's is accepted (its end is still ahead)."""
    from datetime import UTC, datetime

    today = datetime.now(UTC).date().isoformat()
    result = run(["--project", places["one"], "summary", "--period", "2025-09", "--format",
                  "json", "--as-of", today], env=_env(places["cache"]))
    assert result.returncode == 0, result.stderr
    assert '"crimes": 0' in result.stdout


@pytest.mark.parametrize(("name", "reason", "hint"), [
    ("missing.toml", "no such file or folder", "check the path"),
    ("a folder.toml", "is a folder, where a file was expected", "name a file"),
])
def test_catalogue_validate_of_a_file_it_cannot_read_says_why_in_words(tmp_path, name, reason,
                                                                       hint):
    """It showed Python's '[Errno 2] No such file or directory: ...'."""
    target = tmp_path / name
    if name.startswith("a folder"):
        target.mkdir()
    result = run(["catalogue", "--validate", target], env=_env(tmp_path / "cache"))
    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: {target}: cannot read the project file: {reason}", f"Hint: {hint}"]


def test_the_no_data_lines_are_the_same_for_every_command(places):
    """One refusal, kpi.errors.no_data: the same hint whichever command says it."""
    hints = set()
    for args in (["summary"], ["check"], ["show", "total_crime"], ["compare", "--by", "lpa"]):
        result = run(["--project", places["one"], *args, "--period", "2019-01"],
                     env=_env(places["cache"]))
        assert result.returncode == 3, result.stderr
        hints.add(result.stderr.splitlines()[1])
    assert hints == {"Hint: 'kpi datasets' shows the months each dataset holds: choose a "
                     "--period they cover, or load extracts with 'kpi ingest DATASET FILE...'"}


def test_datasets_of_an_empty_store_lists_every_dataset_with_no_rows(places):
    """A listing of an empty store is an answer (exit 0), and says nothing is missing only of
    a dataset that holds rows."""
    result = run(["--project", places["empty"], "datasets"], env=_env(places["cache"]))
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[1:] if line.strip()]
    assert rows == [["crimes", "0", "—", "—", "—", "—"], ["incidents", "0", "—", "—", "—", "—"],
                    ["workforce", "0", "—", "—", "—", "—"]]
    one = run(["--project", places["one"], "datasets"], env=_env(places["cache"]))
    listed = {line.split()[0]: line.split() for line in one.stdout.splitlines()[1:]
              if line.strip()}
    extract = (places["one"] / "extracts" / "crimes.csv").read_text(encoding="utf-8")
    rows_in_extract = len(extract.splitlines()) - 1  # one crime a line, under the header
    assert listed["crimes"][1:5] == [f"{rows_in_extract:,}", "2023-04", "2025-09", "none"]
    assert listed["incidents"][1:] == ["0", "—", "—", "—", "—"]


def test_a_choice_refused_is_worded_as_kpi_words_it(places):
    """Typer's "Value error, 'bogus' is not one of ..." lost its "Value error,"."""
    result = run(["--project", places["one"], "datasets", "--format", "bogus"],
                 env=_env(places["cache"]))
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "Error: Invalid value for '--format' / '-f' (env var: 'KPI_FORMAT'): 'bogus' is not "
        "one of 'table', 'json', 'csv', 'csv-excel', 'markdown', 'xlsx'.")


def test_vacuum_of_an_empty_store_says_there_is_nothing_to_do(places):
    """It printed nothing at all and exited 0: a newcomer could not tell it had run."""
    result = run(["--project", places["empty"], "vacuum"], env=_env(places["cache"]))
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == "Nothing to vacuum: no dataset holds data yet\n"


def test_check_inside_the_data_still_reports_a_missing_month(places, tmp_path):
    """The refusal is for nothing to check; a gap inside the data is a failed check (exit 1)
    naming the month, not a refusal."""
    project = tmp_path / "gap"
    shutil.copytree(places["one"], project, ignore=shutil.ignore_patterns("data"))
    extract = project / "extracts" / "crimes.csv"
    lines = extract.read_text(encoding="utf-8").splitlines(keepends=True)
    extract.write_text("".join(line for line in lines if "/06/2025," not in line),
                       encoding="utf-8")
    assert run(["--project", project, "ingest", "crimes"],
               env=_env(places["cache"])).returncode == 0
    result = run(["--project", project, "check", "--period", "2025-09", "--format", "csv"],
                 env=_env(places["cache"]))
    assert result.returncode == 1, result.stderr
    assert "gaps_crimes" in result.stdout and "2025-06" in result.stdout


def test_init_says_the_next_command_as_a_shell_reads_it(tmp_path):
    """The folder "Zoë's reports/ü ß" is quoted in the command init suggests, so it can be
    pasted into a shell."""
    folder = tmp_path / "Zoë's reports" / "ü ß"
    result = run(["init", folder], env=_env(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    quoted = "'" + str(folder / "kpi.toml").replace("'", "'\"'\"'") + "'"
    assert f"check it with: kpi catalogue --validate {quoted}\n" in result.stderr
    pasted = subprocess.run(["sh", "-c", f"printf '%s' {quoted}"], capture_output=True,
                            text=True, check=True)
    assert pasted.stdout == str(folder / "kpi.toml")


@pytest.mark.parametrize("cache", ["a file", "under a file"])
def test_an_unusable_cache_folder_changes_no_answer(places, tmp_path, cache):
    """KPI_CACHE_DIR naming a file (or a folder under one) cannot hold answers: each command
    answers as it does with a working cache, twice, with nothing on stderr."""
    blocker = tmp_path / "cache-file"
    blocker.write_text("not a folder", encoding="utf-8")
    unusable = blocker if cache == "a file" else blocker / "kpi"
    for args in (["summary", "--period", "2025-09", "--format", "csv"], ["datasets"],
                 ["show", "total_crime", "--period", "2025-09", "--format", "json"]):
        good = run(["--project", places["one"], *args], env=_env(places["cache"]))
        for _ in range(2):
            bad = run(["--project", places["one"], *args], env=_env(unusable))
            assert (bad.returncode, bad.stdout, bad.stderr) == (0, good.stdout, ""), args
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def _process(args, places, cache: Path, **kwargs) -> subprocess.CompletedProcess:
    env = _env(cache)
    return subprocess.run([sys.executable, "-m", "kpi", "--project", str(places["one"]), *args],
                          env=env, stderr=subprocess.PIPE, timeout=120, **kwargs)


@pytest.mark.parametrize("args", [["summary", "--period", "2025-09"],
                                  ["summary", "--period", "2025-09", "--format", "json"],
                                  ["datasets"], ["--help"], ["--version"]],
                         ids=lambda a: " ".join(a))
def test_a_closed_stdout_is_exit_4_in_one_line(places, tmp_path, args):
    """`kpi summary >&-` met Python's None for stdout as a traceback (exit 1). Each write is
    the system's refusal: one line, exit 4; the same from the answer cache, the second time."""
    for _ in range(2):  # the second answer comes from the cache
        process = _process(args, places, tmp_path / "cache", stdout=None,
                           preexec_fn=lambda: os.close(1))
        assert process.returncode == 4, process.stderr
        assert process.stderr.decode().splitlines() == [
            "Error: standard output: is closed",
            "Hint: give --output FILE, or run the command with its output open; nothing "
            "stored was changed"]


@pytest.mark.parametrize(("args", "code"), [(["summary", "--period", "2030-01"], 3),
                                            (["summary", "--period", "2025-09"], 0)],
                         ids=["refused", "answered"])
def test_a_closed_stderr_keeps_the_exit_code(places, tmp_path, args, code):
    """With stderr closed (`2>&-`) the error line has nowhere to go, but the exit code still
    says what happened, and a refusal prints no figure."""
    process = _process(args, places, tmp_path / "cache", stdout=subprocess.PIPE,
                       preexec_fn=lambda: os.close(2))
    assert process.returncode == code
    assert bool(process.stdout) == (code == 0)


def test_a_closed_stdout_does_not_stop_a_command_writing_to_output(places, tmp_path):
    target = tmp_path / "sörtie ß.csv"
    process = _process(["summary", "--period", "2025-09", "--format", "csv", "--output",
                        str(target)], places, tmp_path / "cache", stdout=None,
                       preexec_fn=lambda: os.close(1))
    assert process.returncode == 0, process.stderr
    written = target.read_text(encoding="utf-8")
    assert written.startswith("id,title,") and "\ntotal_crime," in written


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["summary", "--period", "2025-09"], ["datasets"]],
                         ids=lambda a: " ".join(a))
def test_a_full_stdout_is_exit_4_in_one_line_from_the_cache_too(places, tmp_path, args):
    """Writing to a full device was one line and exit 4, but the answer cache's replay of the
    same command was a traceback."""
    for _ in range(2):  # the second answer comes from the cache
        with open("/dev/full", "w") as full:
            process = _process(args, places, tmp_path / "cache", stdout=full)
        assert process.returncode == 4, process.stderr
        assert process.stderr.decode().splitlines() == [
            "Error: no space left on the device",
            "Hint: free some space and run the command again; nothing stored was changed"]


@pytest.mark.parametrize("args", [["summary", "--period", "2025-09", "--format", "json"],
                                  ["compare", "--period", "2025-09", "--by", "lpa", "--format",
                                   "json"],
                                  ["catalogue", "--format", "json"]],
                         ids=lambda a: " ".join(a))
def test_a_reader_that_goes_away_ends_kpi_silently(places, tmp_path, args):
    """`kpi summary | head -1`: SIGPIPE, as any Unix tool, whatever the command; no traceback."""
    gone, write_end = os.pipe()
    os.close(gone)
    try:
        process = _process(args, places, tmp_path / "cache", stdout=write_end)
    finally:
        os.close(write_end)
    assert process.returncode == -signal.SIGPIPE, process.stderr
    assert process.stderr == b""


def test_a_month_kpi_toml_types_out_of_range_or_in_other_digits_is_a_config_error(tmp_path):
    """kpi.toml's months are read by the parser --period uses (Month.typed)."""
    folder = tmp_path / "project"
    shutil.copytree(FIXTURES / "mini", folder)
    text = (folder / "kpi.toml").read_text(encoding="utf-8")
    text = text.replace('baseline = "2024-03"', 'baseline = "0000-03"', 1)
    text = text.replace('period = "2025-09"', 'period = "２０２５-０９"', 1)
    (folder / "kpi.toml").write_text(text, encoding="utf-8")
    result = run(["catalogue", "--validate", folder / "kpi.toml"], env=_env(tmp_path / "cache"))
    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    errors = result.stderr
    assert ("[project], key 'baseline': invalid project.baseline '0000-03': the year must be "
            "from 1900 to 2999") in errors
    assert ("invalid defaults.period '２０２５-０９': expected a calendar month as YYYY-MM in "
            "the digits 0-9") in errors


def _number_options() -> list[tuple[tuple[str, ...], object]]:
    """(command path, option) for every int or float option of every command."""
    import typer.main

    from kpi.cli import app

    def walk(command, path):
        for param in command.params:
            if param.type_descriptor.annotation in (int, float):
                yield path, param
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, (*path, name))

    return list(walk(typer.main.get_command(app), ()))


NUMBER_OPTIONS = _number_options()
# Forms int() or float(), or Typer's conversion, read as a number and kpi does not: other
# digits, a sign, an underscore, an exponent, hexadecimal, nan, inf, nothing.
NOT_TYPED_NUMBERS = ["１２", "١٢", "+12", "-1", "1_2", "1e1", "0x1f", "nan", "inf", "", "12."]


def test_the_number_options_are_the_ones_expected():
    """The walk finds the options (a test of every option that found none would pass)."""
    assert sorted((p, o.opts[0]) for p, o in NUMBER_OPTIONS) == [
        (("show",), "--months"), (("vacuum",), "--keep-days")]


@pytest.mark.parametrize(("path", "option"), NUMBER_OPTIONS,
                         ids=lambda x: " ".join(x) if isinstance(x, tuple) else x.opts[0])
def test_every_number_option_reads_ascii_digits_only(places, path, option):
    """One rule for every typed number, as for a typed month (kpi.periods.typed_number): a
    number in other digits or any form but ASCII digits (a decimal point where a fraction is
    allowed) is exit 2 with one line and a hint, before any work."""
    name, low, high = option.opts[0], option.type_descriptor.parameter_info.min, \
        option.type_descriptor.parameter_info.max
    whole = option.type_descriptor.annotation is int
    kind = "a whole number" if whole else "a number"
    hint = f"Hint: for example {name} {option.default:g}"
    wrong = [*NOT_TYPED_NUMBERS, *(["12.0"] if whole else [])]
    for value in wrong:
        result = run(["--project", places["one"], *path, name, value], env=_env(places["cache"]))
        assert result.returncode == 2, (value, result.stderr)
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            f"Error: invalid {name} '{value}': expected {kind} from {low:,} to {high:,} in "
            "the digits 0-9", hint], value
    for value in [str(high + 1), *([str(low - 1)] if low >= 1 else [])]:
        result = run(["--project", places["one"], *path, name, value], env=_env(places["cache"]))
        assert result.returncode == 2 and result.stderr.splitlines() == [
            f"Error: invalid {name} '{value}': expected {kind} from {low:,} to {high:,}",
            hint], (value, result.stderr)


@pytest.mark.parametrize(("path", "option"), NUMBER_OPTIONS,
                         ids=lambda x: " ".join(x) if isinstance(x, tuple) else x.opts[0])
def test_a_number_option_in_ascii_digits_is_read_as_written(path, option):
    import typer.main
    from typer._click import Context

    from kpi.cli import app

    info = option.type_descriptor.parameter_info
    ctx = Context(typer.main.get_command(app))
    runtime = option.get_runtime_param()
    whole = option.type_descriptor.annotation is int
    for text, number in [(str(info.min), info.min), (str(info.max), info.max),
                         (f"0{info.min + 1}", info.min + 1),
                         *([] if whole else [("2.5", 2.5)])]:
        got = runtime.coerce(text, param=option, ctx=ctx)
        assert got == number and type(got) is (int if whole else float), (text, got)


@pytest.mark.parametrize(("text", "version"), [
    ("20251031", None), ("20240229", None), ("19000101", None), ("29991231", None),
    ("20250229", 20250229), ("20251301", 20251301), ("18991231", 18991231),
    ("30000101", 30000101), ("2025103", 2025103), ("020251031", 20251031), ("3", 3),
])
def test_eight_digits_that_are_also_a_date_are_refused_as_ambiguous(text, version):
    """--as-of 20251031 is version 20,251,031 or 31 October 2025 (ISO 8601's basic form):
    refused with the dated form as the hint; a number no date reads as is a version."""
    from kpi.errors import UsageError
    from kpi.store import AsOf

    if version is None:
        with pytest.raises(UsageError) as refused:
            AsOf.parse(text)
        day = f"{text[:4]}-{text[4:6]}-{text[6:]}"
        assert refused.value.message == (f"invalid --as-of '{text}': it reads as a table "
                                         f"version and as the date {day}")
        assert refused.value.hint == (f"write --as-of {day} for the end of that day; 'kpi "
                                      "history' lists the table versions")
    else:
        assert AsOf.parse(text) == AsOf(version=version)


def test_the_check_command_and_the_python_api_read_as_of_as_the_others_do(places):
    """kpi check refuses the ambiguous --as-of as every command does; the Python API's number
    (an int, not text) is a version."""
    import kpi

    result = run(["--project", places["one"], "check", "--period", "2025-09", "--as-of",
                  "20251031"], env=_env(places["cache"]))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[0] == ("Error: invalid --as-of '20251031': it reads as "
                                             "a table version and as the date 2025-10-31")
    from kpi.errors import DataError

    with pytest.raises(DataError, match="has no version 20251031"):
        kpi.open(places["one"]).summary("2025-09", as_of=20251031)


def _extract_with(folder: Path, suffix: str, kind: str, values: list[str]) -> Path:
    """The mini project in `folder`, its crimes extract as `suffix` with its `recorded` column
    of type `kind` ('date' or 'month') and a row for each of `values` after its 849 rows."""
    import polars as pl

    shutil.copytree(FIXTURES / "mini", folder)
    toml = (folder / "kpi.toml").read_text(encoding="utf-8")
    (folder / "kpi.toml").write_text(
        toml.replace("extracts/crimes.csv", f"extracts/crimes.{suffix}")
        .replace('recorded = "date"', f'recorded = "{kind}"'), encoding="utf-8")
    rows = pl.read_csv(FIXTURES / "mini" / "extracts" / "crimes.csv", infer_schema_length=0)
    day = pl.col("recorded").str.strptime(pl.Date, "%d/%m/%Y")
    rows = rows.with_columns(day.dt.strftime("%Y-%m") if kind == "month" else day)
    extra = rows.head(len(values)).with_columns(
        crime_ref=pl.Series([f"X{i}" for i in range(len(values))]),
        recorded=pl.Series(values).cast(rows.schema["recorded"]) if kind == "month"
        else pl.Series(values).str.strptime(pl.Date, "%Y-%m-%d"))
    rows = pl.concat([rows, extra])
    (folder / "extracts" / "crimes.csv").unlink()
    path = folder / "extracts" / f"crimes.{suffix}"
    if suffix == "csv":
        rows.write_csv(path)
    elif suffix == "parquet":
        rows.write_parquet(path)
    else:
        rows.write_excel(path)
    return path


@pytest.mark.parametrize(("suffix", "kind", "values"), [
    ("csv", "date", ["0001-01-15", "9999-12-31"]),
    ("csv", "month", ["0001-01", "9999-12"]),
    ("parquet", "date", ["0001-01-01", "9999-12-31"]),
    ("parquet", "month", ["0001-01", "9999-12"]),
    ("xlsx", "date", ["1900-01-01", "9999-12-31"]),
], ids=lambda x: x if isinstance(x, str) else "-".join(x))
def test_a_month_out_of_the_years_never_reaches_the_store(tmp_path, suffix, kind, values):
    """Months are stored only from extracts, and an extract's date or month outside 1990 to
    next year (kpi.dateparts.SANE_YEARS) is refused at ingest naming file, row and column, in
    every format: none reaches a figure. Two bad rows after a CSV batch's first chunk were a
    Polars panic, exit 1 with a traceback."""
    path = _extract_with(tmp_path / "p", suffix, kind, values)
    result = run(["--project", tmp_path / "p", "ingest", "crimes"], env=_env(tmp_path / "c"))
    assert result.returncode == 3, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2, lines
    row = 850 if suffix == "parquet" else 851  # a CSV's and a sheet's header is row 1
    named = f"{path}, sheet 'Sheet1'" if suffix == "xlsx" else path  # a workbook's, its sheet
    assert lines[0].startswith(f"Error: {named}, row {row}, column 'recorded': expected a date "
                               "between 1990 and "), lines
    assert lines[0].endswith(f"(2 bad rows in all; first at rows {row}, {row + 1})"), lines
    assert not (tmp_path / "p" / "data" / "crimes").exists()


@pytest.mark.parametrize("months", ["１２", "12", 12.0, True, 0, -3, 121, 10**6, 10**20])
def test_the_python_api_reads_a_trends_months_as_series_does(months):
    """project.detail(months=...) is checked as project.series(months=...) is: -3 gave a
    trend of five months, and text a TypeError. At most 120, as `kpi show --months` (one
    bound, `periods.TREND_MAX_MONTHS`): 121 gave a trend the command line refuses, 10**6 was
    refused as "invalid period '-81308-03'", a period never given, and 10**20 ran on."""
    import kpi
    from kpi.errors import UsageError

    project = kpi.open("sample")
    for call in (lambda: project.detail("knife_crime", "2025-09", months=months),
                 lambda: project.series("knife_crime", "2025-09", months)):
        with pytest.raises(UsageError, match="months should be a whole number of at least 1"):
            call()
