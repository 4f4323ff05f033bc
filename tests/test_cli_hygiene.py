"""Output hygiene, exit codes and configuration, as a terminal user and a scheduler see them."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kpi.errors import UsageError
from kpi.render import RENDERERS, WORKBOOK_FORMATS, Document, Format, Section

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ESC = b"\x1b"


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    """The mini fixture project with its extract ingested (read-only for these tests)."""
    from kpi.catalogue import load_project
    from kpi.ingest import load

    root = tmp_path_factory.mktemp("hygiene") / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    load(load_project(root), "crimes")
    return root


def kpi_env(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KPI_") or k == "KPI_CACHE_DIR"}
    env.pop("NO_COLOR", None)
    env["TERM"] = "xterm-256color"  # a colour-capable terminal type, yet stdout is a pipe
    env["KPI_NO_CACHE"] = "1"
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The command line in a real process, as cron would run it."""
    return subprocess.run([sys.executable, "-m", "kpi", *map(str, args)], capture_output=True,
                          env=env or kpi_env(), timeout=120)


def run_on_terminal(*args: object, env: dict[str, str]) -> bytes:
    """The command line with stdout on a pseudo-terminal; returns what it wrote there."""
    pty = pytest.importorskip("pty")
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "kpi", *map(str, args)], stdout=follower,
                               stderr=subprocess.PIPE, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=120)
    os.close(leader)
    assert process.returncode == 0, process.stderr.read()
    return b"".join(chunks)


# ---------------------------------------------------------------------------------------------
# Colour and box drawing


@pytest.mark.parametrize("command", [["summary", "--period", "2025-09"],
                                     ["show", "total_crime", "--period", "2025-09"],
                                     ["catalogue"], ["datasets"]])
def test_no_escape_codes_or_box_drawing_when_stdout_is_a_pipe(mini, command):
    result = run("--project", mini, *command)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert ESC not in result.stdout
    assert not any(char in result.stdout.decode() for char in "─━│┃┌┐└┘")


def test_terminal_gets_colour_unless_no_color_is_set(mini):
    args = ("--project", mini, "show", "total_crime", "--period", "2025-09")
    coloured = run_on_terminal(*args, env=kpi_env(COLUMNS="120"))
    assert ESC in coloured  # the test can tell colour from none
    assert "▁".encode() in coloured or "█".encode() in coloured  # the sparkline
    plain = run_on_terminal(*args, env=kpi_env(COLUMNS="120", NO_COLOR="1"))
    assert ESC not in plain


# ---------------------------------------------------------------------------------------------
# Streams and exit codes


def test_data_on_stdout_messages_on_stderr(tmp_path):
    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    loaded = run("--project", root, "ingest", "crimes")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout == b""
    assert b"Loaded 849 rows into 'crimes'" in loaded.stderr
    quiet = run("--project", root, "--quiet", "ingest", "crimes")
    assert quiet.returncode == 0 and quiet.stdout == b"" and quiet.stderr == b""


def test_output_file(mini, tmp_path):
    target = tmp_path / "out" / "summary.json"
    result = run("--project", mini, "summary", "--period", "2025-09", "-f", "json",
                 "--output", target)
    assert result.returncode == 0
    assert result.stdout == b""
    assert json.loads(target.read_text())["period"] == "2025-09"
    assert f"Wrote {target}".encode() in result.stderr


def test_export_names_each_file_it_wrote_with_its_folder(mini, tmp_path):
    target = tmp_path / "out" / "board.md"
    result = run("--project", mini, "export", "markdown", "--period", "2025-09",
                 "--output", target)
    assert result.returncode == 0, result.stderr
    figures = target.with_name("board.figures.json")
    assert figures.is_file()
    assert f"Wrote {target} and {figures}".encode() in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["summary", "--period", "2025-09", "--colour"], b"No such option: --colour"),
    (["summary", "--period", "2025-09", "--format", "xml"], b"'xml' is not one of"),
    (["summary", "--period", "2025-09", "--vs", "lastyear"], b"'lastyear' is not one of"),
    (["summary", "--period", "2025-13"], b"invalid period '2025-13'"),
    (["frobnicate"], b"No such command 'frobnicate'"),
])
def test_usage_errors_exit_2(mini, args, message):
    result = run("--project", mini, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == b""
    assert b"Traceback" not in result.stderr


def test_configuration_error_exits_3_with_one_line_and_a_hint(tmp_path):
    result = run("--project", tmp_path / "nowhere", "summary", "--period", "2025-09")
    assert result.returncode == 3
    lines = result.stderr.decode().splitlines()
    assert lines[0] == f"Error: no project file at {tmp_path / 'nowhere'}"
    assert lines[1].startswith("Hint: ")
    assert len(lines) == 2


def test_data_error_exits_3(tmp_path):
    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    bad = tmp_path / "bad.csv"
    bad.write_text("crime_ref,recorded,lpa,offence\nX1,31/02/2025,Dudley,theft\n")
    result = run("--project", root, "ingest", "crimes", bad)
    assert result.returncode == 3
    assert f"Error: {bad}, row 2, column 'recorded'".encode() in result.stderr
    assert b"Traceback" not in result.stderr


def test_debug_shows_the_traceback(mini):
    result = run("--project", mini, "--debug", "summary", "--period", "2025-13")
    assert result.returncode != 0
    assert b"Traceback (most recent call last)" in result.stderr
    assert b"kpi.errors.UsageError: invalid period '2025-13'" in result.stderr


def test_fail_on_deteriorating(cli, mini):
    """`deteriorating` fails on a significant deterioration, as the paper counts one; the
    mini's total crime rose 13.5% (p = 0.14), "no significant change" to the paper, so only
    `any_deterioration` fails on it (`deteriorating` exited 1 on it)."""
    args = ["--project", mini, "summary", "--period", "2025-09", "--format", "json"]
    noise = cli([*args, "--fail-on", "deteriorating"])
    assert noise.exit_code == 0, noise.output
    kpis = {k["id"]: k for k in json.loads(noise.stdout)["kpis"]}
    assert kpis["total_crime"]["status"] == "deteriorating"
    assert kpis["total_crime"]["significance"]["significant"] is False
    failing = cli([*args, "--fail-on", "any_deterioration"])
    assert failing.exit_code == 1
    statuses = {k["id"]: k["status"] for k in json.loads(failing.stdout)["kpis"]}
    assert statuses["total_crime"] == "deteriorating"  # the JSON is still written in full
    assert failing.stderr.strip() == \
        "1 KPI(s) with status deteriorating (not significant): total_crime"
    passing = cli(["--project", mini, "summary", "--period", "2025-09", "--priority", "justice",
                   "--fail-on", "any_deterioration"])
    assert passing.exit_code == 0, passing.output


def test_fail_on_takes_several_statuses_and_refuses_a_typo(cli, mini):
    both = cli(["--project", mini, "summary", "--period", "2025-09", "--format", "json",
                "--fail-on", "improving", "--fail-on", "any_deterioration"])
    assert both.exit_code == 1
    statuses = {k["id"]: k["status"] for k in json.loads(both.stdout)["kpis"]}
    flagged = [k for k, s in statuses.items() if s in ("improving", "deteriorating")]
    assert both.stderr.strip() == (f"{len(flagged)} KPI(s) with status "
                                   f"deteriorating (not significant)/improving: "
                                   f"{', '.join(flagged)}")
    typo = cli(["--project", mini, "summary", "--period", "2025-09", "--fail-on",
                "deteriorate"])
    assert typo.exit_code == 2  # a typo must not make a nightly job pass silently
    assert "'deteriorate' is not one of" in typo.stderr


def test_a_period_with_no_data_at_all_is_a_data_error(cli, mini):
    result = cli(["--project", mini, "summary", "--period", "2001-01", "--format", "json"])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.splitlines()[0].startswith("Error: no KPI has data for 2001-01: ")


def test_version():
    from kpi import __version__

    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.decode() == f"kpi {__version__}\n"


def test_help_documents_exit_codes_and_environment():
    text = run("--help").stdout.decode()
    for line in ("0  success", "1  a check or threshold failed", "2  usage error",
                 "3  data or configuration error", "KPI_FORMAT", "NO_COLOR", "[defaults]",
                 "--install-completion"):
        assert line in text


# ---------------------------------------------------------------------------------------------
# Configuration: command line > environment > kpi.toml [defaults] > built-in


def test_option_precedence(tmp_path, mini):
    root = tmp_path / "mini"
    shutil.copytree(mini, root)
    toml = root / "kpi.toml"
    toml.write_text(toml.read_text().replace('period = "2025-09"',
                                             'period = "2025-09"\nformat = "csv"\nvs = "yoy"'))
    base = ("--project", root, "show", "knife_crime")
    from_toml = run(*base)
    assert from_toml.stdout.startswith(b"section,field,value")  # kpi.toml: csv
    assert b"Windows,,97,comparison,year ending September 2024" in from_toml.stdout  # yoy
    from_env = run(*base, env=kpi_env(KPI_FORMAT="json", KPI_VS="previous",
                                      KPI_PERIOD="2025-08"))
    doc = json.loads(from_env.stdout)
    assert (doc["comparison"], doc["period"]) == ("previous", "2025-08")
    from_cli = run(*base, "--format", "markdown", "--vs", "baseline", "--period", "2025-06",
                   env=kpi_env(KPI_FORMAT="json", KPI_VS="previous"))
    assert from_cli.stdout.startswith(b"# Knife crime (knife_crime): period 2025-06 "
                                      b"against baseline")
    builtin = run("--project", mini, "catalogue")  # the fixture sets no format: a table
    assert builtin.stdout.startswith(b"Mini force: 5 KPIs\n")


def test_bad_defaults_in_kpi_toml_is_a_configuration_error(tmp_path):
    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    toml = root / "kpi.toml"
    toml.write_text(toml.read_text().replace('period = "2025-09"', 'colour = "always"'))
    result = run("--project", root, "catalogue")
    assert result.returncode == 3
    assert b"[defaults], key 'colour': unknown key" in result.stderr


# ---------------------------------------------------------------------------------------------
# Formats


def test_every_format_has_a_renderer():
    # Every member is text with a renderer, or a workbook written by kpi.writers.xlsx.
    assert set(RENDERERS) | WORKBOOK_FORMATS == set(Format)
    assert not set(RENDERERS) & WORKBOOK_FORMATS
    document = Document("Heading", (
        Section("Numbers", ("name", "value"), [("a", 1.25), ("=b", None)]),
        Section("More", ("name", "other"), [("c", 3)]),
    ))
    outputs = {member: member.render(document) for member in RENDERERS}
    # For Excel a name that Excel would run as a formula is its text formula, not quoted
    assert outputs[Format.CSV_EXCEL] == "\ufeff" + outputs[Format.CSV].replace(
        "'=b", '"=""=b"""')
    with pytest.raises(UsageError, match="workbook"):
        Format.XLSX.render(document)
    assert json.loads(outputs[Format.JSON]) == {
        "Numbers": [{"name": "a", "value": 1.25}, {"name": "=b", "value": None}],
        "More": [{"name": "c", "other": 3}]}
    assert outputs[Format.CSV].splitlines() == [
        "section,name,value,other", "Numbers,a,1.25,", "Numbers,'=b,,", "More,c,,3"]
    # displayed to one decimal place, half away from zero as Excel rounds (not 1.2, half to even)
    assert "| a | 1.3 |" in outputs[Format.MARKDOWN]
    assert outputs[Format.TABLE].splitlines()[:5] == ["Heading", "", "Numbers", "name  value",
                                                      "a     1.3"]


# ---------------------------------------------------------------------------------------------
# Progress


class _Stream:
    """A stderr stand-in that can claim to be a terminal."""

    def __init__(self, terminal: bool):
        self.terminal = terminal
        self.written: list[str] = []

    def isatty(self) -> bool:
        return self.terminal

    def write(self, text: str) -> int:
        self.written.append(text)
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize(("terminal", "quiet"), [(False, False), (True, True)])
def test_no_progress_indicator_off_a_terminal_or_when_quiet(monkeypatch, terminal, quiet):
    """Scheduled jobs' logs stay clean: the spinner is never even scheduled (after=0 would
    otherwise start it at once)."""
    from kpi import cli

    stream = _Stream(terminal)
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(cli.State, "quiet", quiet)
    started = []
    monkeypatch.setattr("threading.Timer", lambda *a, **k: started.append(a))
    with cli.working("Loading", after=0):
        pass
    assert started == [] and stream.written == []


def test_progress_indicator_is_scheduled_for_a_terminal(monkeypatch):
    from kpi import cli

    monkeypatch.setattr(sys, "stderr", _Stream(True))
    monkeypatch.setattr(cli.State, "quiet", False)
    scheduled = []

    class Timer:
        def __init__(self, delay, function):
            scheduled.append(delay)
            self.cancelled = False

        def start(self):
            pass

        def cancel(self):
            scheduled.append("cancelled")

    monkeypatch.setattr("threading.Timer", Timer)
    with cli.working("Loading"):
        pass
    assert scheduled == [1.0, "cancelled"]  # shown only if the work outlasts one second



@pytest.mark.parametrize("entry", [["-m", "kpi"], ["-c", "import sys; from kpi.entry import main; "
                                                   "sys.exit(main())"]])
def test_a_reader_that_stops_reading_ends_kpi_by_sigpipe_not_a_failed_check(mini, entry):
    """`kpi summary | head -1` must not exit 1, which means "a check failed": kpi ends as any
    Unix tool does when its reader has gone, by SIGPIPE, silently."""
    import signal

    gone, write_end = os.pipe()
    os.close(gone)  # the reader has already gone: every write kpi makes is refused
    process = subprocess.run([sys.executable, *entry, "--project", str(mini), "summary",
                              "--period", "2025-09", "--format", "csv"],
                             stdout=write_end, stderr=subprocess.PIPE, env=kpi_env(),
                             timeout=120)
    os.close(write_end)
    assert process.returncode == -signal.SIGPIPE, process.stderr
    assert process.stderr == b""


NO_DATA_COMMANDS = [
    (["summary"], ("table", "json", "csv", "csv-excel", "markdown")),
    (["show", "total_crime"], ("table", "json", "csv", "csv-excel", "markdown")),
    (["compare", "--by", "lpa"], ("table", "json", "csv", "csv-excel", "markdown")),
]


@pytest.mark.parametrize(("command", "fmt"), [(c, f) for c, fs in NO_DATA_COMMANDS for f in fs],
                         ids=lambda v: v if isinstance(v, str) else "-".join(v))
def test_no_data_for_the_period_is_exit_3_in_every_command_and_format(cli, mini, command, fmt):
    """`kpi show` of a KPI with no data for the period printed its definition and blanks with
    exit 0 where `kpi summary` and `kpi compare` refuse the period (exit 3): a scheduled job
    must see "no data" the same way from each."""
    result = cli(["--project", mini, *command, "--period", "2001-01", "--format", fmt])
    assert result.exit_code == 3, result.output
    assert result.stdout == ""
    error, hint = result.stderr.splitlines()
    expected = ("Error: total_crime has no data for 2001-01: no data on or before 2001-01"
                if command[0] == "show" else
                "Error: no KPI has data by 'lpa' for 2001-01: total_crime: no data on or "
                "before 2001-01" if command[0] == "compare" else
                "Error: no KPI has data for 2001-01: total_crime: no data on or before 2001-01")
    assert error == expected
    assert hint.startswith("Hint: ") and "kpi datasets" in hint


def test_no_data_is_exit_3_for_export_and_history_and_datasets_says_what_is_stored(cli, mini,
                                                                                    tmp_path):
    """The commands that would print nothing else for want of data exit 3 too, `kpi check`
    of an empty project among them (it failed, exit 1, one check per KPI and dataset, as if
    the data were wrong rather than absent); `kpi datasets` of an empty project answers its
    question (0 rows each) and exits 0."""
    paper = tmp_path / "out" / "board.md"
    export = cli(["--project", mini, "export", "markdown", "--period", "2001-01",
                  "--output", paper])
    assert export.exit_code == 3 and not paper.exists()
    assert export.stderr.splitlines()[0] == ("Error: no KPI has data for 2001-01: total_crime: "
                                             "no data on or before 2001-01")
    assert cli(["init", tmp_path / "new"]).exit_code == 0
    history = cli(["--project", tmp_path / "new", "history", "crimes", "--format", "json"])
    assert (history.exit_code, history.stdout) == (3, "")
    assert history.stderr.splitlines()[0] == "Error: dataset 'crimes' has no data yet"
    check = cli(["--project", tmp_path / "new", "check", "--period", "2025-09", "--format",
                 "json"])
    assert (check.exit_code, check.stdout) == (3, "")
    assert check.stderr.splitlines()[0] == ("Error: no KPI has data for 2025-09: nothing is "
                                            "stored yet (every dataset is empty)")
    datasets = cli(["--project", tmp_path / "new", "datasets", "--format", "json"])
    assert datasets.exit_code == 0
    assert {(d["dataset"], d["rows"]) for d in json.loads(datasets.stdout)} == {
        ("crimes", 0), ("incidents", 0), ("workforce", 0)}


def _median_figures(cli, project: Path) -> list[str]:
    """Every figure of the median KPI that `kpi summary` and `kpi show` print (Markdown),
    process-chart statistics apart."""
    summary = cli(["--project", project, "summary", "--period", "2025-09", "--format",
                   "markdown"])
    shown = cli(["--project", project, "show", "median_days_to_outcome", "--period", "2025-09",
                 "--format", "markdown"])
    assert summary.exit_code == shown.exit_code == 0, summary.output + shown.output
    row = next(line for line in summary.stdout.splitlines()
               if line.startswith("| Median days to outcome |"))
    signal = shown.stdout.split("## Signal")[0]
    return re.findall(r"-?\d[\d,]*(?:\.\d+)? days", row + signal)


def test_a_kpi_prints_every_figure_to_one_precision(cli, mini, tmp_path):
    """A median or percentile printed "36" beside "35.4" (the digits followed the value: a
    whole value lost its decimal). Each KPI has one precision: one place by default for a
    median of days, whatever the value, and its `decimals` when kpi.toml declares them."""
    figures = _median_figures(cli, mini)
    assert len(figures) > 20
    assert all(re.fullmatch(r"\d+\.\d days", f) for f in figures), figures
    declared = tmp_path / "mini"
    shutil.copytree(mini, declared)
    toml = declared / "kpi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'value = "days_to_outcome"\nunit = "days"\n',
        'value = "days_to_outcome"\nunit = "days"\ndecimals = 0\n'), encoding="utf-8")
    whole = _median_figures(cli, declared)
    assert all(re.fullmatch(r"\d+ days", f) for f in whole), whole
    # The same figures, rounded (a median of whole days is whole or a half: no double
    # rounding), a half up as Excel rounds it (34.5 days prints 35).
    assert [int(f.split()[0]) for f in whole] == [math.floor(float(f.split()[0]) + 0.5)
                                                  for f in figures]


def test_a_load_of_one_row_says_row(tmp_path):
    """`kpi ingest` counts what it loaded in words a reader would write: "Loaded 1 row", not
    "1 rows"; "Loaded 3 rows" as before."""
    import inprocess
    from conftest import FIXTURES

    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    lines = (root / "extracts" / "crimes.csv").read_text(encoding="utf-8").splitlines()
    for n in (1, 3):
        extract = root / f"first {n}.csv"
        extract.write_text("\n".join(lines[:n + 1]) + "\n", encoding="utf-8")
        done = inprocess.run(["--project", root, "ingest", "crimes", extract, "--allow-shrink"])
        assert done.returncode == 0, done.stderr
        assert f"Loaded {n} {'row' if n == 1 else 'rows'} into 'crimes'" in done.stderr
