"""docs/nightly.ps1, the Windows twin of docs/nightly.sh (tests/test_cron_script.py).

PowerShell cannot be installed on the machines the suite runs on (Debian has no package of it,
PyPI and npm only wrappers that download it from elsewhere), so the script is not run here, and
the docs say so. What can be checked is checked: the script parses (tree-sitter's PowerShell
grammar) and is ASCII, as Windows PowerShell 5.1 reads a script without a byte order mark in
the ANSI code page; it promises nightly.sh's exit codes and exits with no others; it runs
nightly.sh's kpi commands, argument for argument; its own lines are nightly.sh's; its Windows
command line quoting is the C runtime's (Python's `subprocess.list2cmdline`, the same rule);
and kpi, run with the arguments the script passes from a folder whose path holds spaces and
non-ASCII letters, exits as nightly.sh's tests say and writes its standard error in UTF-8, as
the script reads it."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

tree_sitter = pytest.importorskip("tree_sitter")
grammar = pytest.importorskip("tree_sitter_powershell")

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "docs" / "nightly.ps1"
SH = REPO / "docs" / "nightly.sh"
FIXTURES = REPO / "tests" / "fixtures"


def _parsed():
    source = SCRIPT.read_bytes()
    parser = tree_sitter.Parser(tree_sitter.Language(grammar.language()))
    return source, parser.parse(source).root_node


def _all(node, kind: str) -> list:
    found = [node] if node.type == kind else []
    for child in node.children:
        found += _all(child, kind)
    return found


def _text(source: bytes, node) -> str:
    return source[node.start_byte:node.end_byte].decode("ascii")


def _calls(name: str) -> list[list[str]]:
    """The arguments of each call of a command in the script, in order: a quoted string
    without its quotes, a variable as `$name`, an array's elements in place."""
    source, root = _parsed()
    calls = []
    for command in _all(root, "command"):
        if _text(source, command.child_by_field_name("command_name")) != name:
            continue
        elements = command.child_by_field_name("command_elements")
        words = []
        for node in _all(elements, "unary_expression"):
            if node.child_count != 1 or node.children[0].type not in (
                    "string_literal", "variable", "integer_literal"):
                continue
            text = _text(source, node.children[0])
            words.append(text[1:-1] if node.children[0].type == "string_literal" else text)
        calls.append(words)
    return calls


def _sh_commands() -> list[list[str]]:
    """nightly.sh's kpi commands as words, its continuation lines joined."""
    text = SH.read_text(encoding="utf-8").replace("\\\n", " ")
    return [shlex.split(line.strip().removesuffix("|| exit $?"))[1:]
            for line in text.splitlines() if line.strip().startswith("kpi ")]


def test_the_script_parses_and_is_ascii():
    source, root = _parsed()
    source.decode("ascii")  # Windows PowerShell 5.1 would read other bytes as cp1252
    assert not root.has_error
    assert _all(root, "param_block"), "its settings are parameters"


def test_it_promises_nightly_sh_s_exit_codes_and_exits_with_no_others():
    codes = {}
    for name, path in (("sh", SH), ("ps1", SCRIPT)):
        codes[name] = {m.group(1): m.group(2) for m in re.finditer(
            r"^#\s+(\d)\s\s(.+(?:\n#\s{6}.+)*)", path.read_text(encoding="utf-8"), re.M)}
    assert sorted(codes["ps1"]) == sorted(codes["sh"]) == ["0", "1", "2", "3", "4", "5"]
    for code in ("0", "1", "3", "4", "5"):  # 2 names how each finds kpi (PATH, kpi.exe)
        assert codes["ps1"][code] == codes["sh"][code], code
    # Its own refusals are 2 (a setting) and 4 (the output folder); any other exit is kpi's.
    assert sorted(int(call[0]) for call in _calls("Exit-Nightly")) == [2, 2, 2, 4]
    source, root = _parsed()
    exits = [_text(source, n) for n in _all(root, "flow_control_statement")
             if _text(source, n).startswith("exit")]
    assert [re.sub(r"\s+", " ", e) for e in exits] == [
        "exit $Code",  # Exit-Nightly's
        "exit $code",  # a load's, when it fails
        "exit (Invoke-Kpi @('summary', '--period', $Period, '--format', 'json', '--fail-on', "
        "'deteriorating', '--fail-on', 'stale', '--output', $summary))"]


def test_it_runs_nightly_sh_s_kpi_commands():
    source = SCRIPT.read_text(encoding="ascii")
    assert re.search(r'^\$summary = Join-Path \$Out "summary-\$Period\.json"$', source, re.M)
    as_sh = {"$Period": "$period", "$summary": "$out/summary-$period.json"}
    assert [[as_sh.get(w, w) for w in call] for call in _calls("Invoke-Kpi")] == _sh_commands()
    assert "$env:KPI_PROJECT = $Project" in source  # kpi finds the project as nightly.sh's does


def test_its_own_lines_are_nightly_sh_s():
    sh = SH.read_text(encoding="utf-8")
    assert 'echo "Error: cannot make the output folder $out (working folder $(pwd))" >&2' in sh
    assert 'echo "Hint: set KPI_OUT to a folder the job may write; nothing was loaded" >&2' in sh
    folder = next(call for call in _calls("Exit-Nightly") if call[0] == "4")
    assert folder[1:] == ["cannot make the output folder $Out (working folder $here)",
                          "set KPI_OUT to a folder the job may write; nothing was loaded"]
    assert "$here = (Get-Location).ProviderPath" in SCRIPT.read_text(encoding="ascii")
    assert re.search(r'Write-Lines @\("Error: \$Message", "Hint: \$Hint"\)',
                     SCRIPT.read_text(encoding="ascii"))
    missing = next(call for call in _calls("Exit-Nightly") if "PATH" in call[1])
    assert missing[1] == "kpi is not on PATH ($env:PATH)"


def test_its_command_line_quoting_is_the_c_runtime_s():
    """ConvertTo-Argument's two rules, applied as written (.NET and Python read these two
    patterns alike), give the command line Python's list2cmdline makes for the same arguments:
    the rule Windows programs, kpi.exe's Python among them, split a command line by. Paths
    cannot hold a quote on Windows, so none is drawn."""
    source = SCRIPT.read_text(encoding="ascii")
    plain = re.search(r"-notmatch '([^']+)'", source).group(1)
    pattern, replacement = re.search(r"-replace '([^']+)', '([^']+)'", source).groups()
    replacement = re.sub(r"\$(\d)", r"\\g<\1>", replacement)

    def quoted(text: str) -> str:
        if text and not re.search(plain, text):
            return text
        return '"' + re.sub(pattern, replacement, text) + '"'

    for arguments in (["--output", r"D:\Zoë Smith\kpi out\summary-2025-09.json"],
                      ["--output", "C:\\KPI data\\", "x"], ["--period", "2025-09", ""],
                      ["ingest", "crimes"], [r"C:\a b\\", r"C:\plain\path\\"],
                      ["tab\there", "Łódź"]):
        assert " ".join(quoted(a) for a in arguments) == subprocess.list2cmdline(arguments)


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "Zoë Smith" / "kpi project"
    shutil.copytree(FIXTURES / "mini", root)
    return root


def _as_the_script_runs(project: Path, out: Path) -> list[subprocess.CompletedProcess]:
    """Each kpi command of the script, with the arguments it passes and the environment it
    sets (KPI_PROJECT), stopping at the first load that fails, as it does."""
    kpi = shutil.which("kpi", path=str(Path(sys.executable).parent))
    assert kpi is not None
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KPI_") or k == "KPI_CACHE_DIR"}
    env["KPI_PROJECT"] = str(project)
    values = {"$dataset": "crimes", "$Period": "2025-09",
              "$summary": str(out / "summary-2025-09.json")}
    out.mkdir(parents=True, exist_ok=True)
    done = []
    for call in _calls("Invoke-Kpi"):
        ran = subprocess.run([kpi, *[values.get(w, w) for w in call]], capture_output=True,
                             env=env, timeout=180)
        done.append(ran)
        if call[1] == "ingest" and ran.returncode != 0:
            break
    return done


def test_kpi_as_the_script_runs_it_from_a_folder_with_spaces_and_accents(project, tmp_path):
    # 120 more burglaries in September 2025: total crime rises beyond chance, as in
    # nightly.sh's test (the mini's own rise is not significant and exits 0)
    with (project / "extracts" / "crimes.csv").open("a", encoding="utf-8", newline="") as f:
        f.writelines(f"X{n:05d},15/09/2025,Birmingham,burglary,OC1,5\r\n" for n in range(120))
    out = tmp_path / "Zoë Smith" / "kpi out"
    load, summary = _as_the_script_runs(project, out)
    assert load.returncode == 0, load.stderr
    assert (load.stdout, load.stderr) == (b"", b"")  # --quiet: a good load says nothing
    assert summary.returncode == 1, summary.stderr  # significantly deteriorating
    assert summary.stdout == b""
    assert summary.stderr.decode("utf-8").splitlines()[-1] == (
        "1 KPI(s) with status deteriorating: total_crime")
    written = json.loads((out / "summary-2025-09.json").read_text(encoding="utf-8"))
    assert [k["id"] for k in written["kpis"] if k["status"] == "deteriorating"] == [
        "total_crime"]


def test_a_malformed_extract_stops_the_job_at_its_load_with_exit_3(project, tmp_path):
    extract = project / "extracts" / "crimes.csv"
    extract.write_text(extract.read_text() + "C99999,31/02/2025,Dudley,theft,,\n")
    out = tmp_path / "out"
    (load,) = _as_the_script_runs(project, out)
    assert load.returncode == 3
    error = load.stderr.decode("utf-8")  # as the script reads it: UTF-8, the path's letters kept
    assert "row 851, column 'recorded'" in error and "Zoë Smith" in error, error
    assert list(out.iterdir()) == []
    assert not (project / "data" / "crimes").exists()


def test_the_guide_s_schtasks_line_fits_and_names_the_script_s_parameters():
    """Task Scheduler keeps at most 261 characters of /TR; every parameter the line passes is
    one the script declares, and it names the script and a kpi.exe."""
    guide = (REPO / "docs" / "guide.md").read_text(encoding="utf-8")
    line = next(x for x in guide.splitlines() if x.startswith("schtasks /Create"))
    run = re.search(r'/TR "((?:[^"\\]|\\.)*)"$', line).group(1)
    assert len(run) <= 261, len(run)
    words = run.replace('\\"', '"')
    assert "-File C:\\kpi\\docs\\nightly.ps1" in words and "Scripts\\kpi.exe" in words
    source, root = _parsed()
    declared = {_text(source, v).lstrip("$").lower()
                for p in _all(root, "script_parameter") for v in p.children
                if v.type == "variable"}
    passed = set(re.findall(r" -([A-Z][a-z]+) ", words.split("nightly.ps1", 1)[1]))
    assert passed == {"Project", "Kpi", "Out", "Log"}
    assert {p.lower() for p in passed} <= declared
