"""kpi's answers written to a stream whose encoding is not Unicode.

On Windows, Python writes output redirected to a file or a pipe (`kpi summary > out.txt`, a
scheduled task's log) in the ANSI code page, cp1252 in the UK, which has no arrows and no
letter ŷ: `kpi summary` stopped there with a traceback and exit 1 ("a check failed"). Such a
redirected stream is now written in UTF-8 (`WINDOWS` below stands in for Windows' stream), and
a terminal or an encoding chosen with PYTHONIOENCODING keeps its encoding and gets what it
cannot encode in ASCII, with one note on standard error; every figure is the same.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_support import GOOD_HEADER, make_project

# Part names as Welsh forces write them: ô is in cp1252, ŷ is not.
PARTS = ("Ynys Môn", "Tŷ Ddewi", "Wrexham")
NOTE = "Note: this output is written in"

# Standard output and error as Python opens them on Windows for a file or a pipe: cp1252.
WINDOWS = """
import io, sys
sys.stdout = io.TextIOWrapper(sys.stdout.detach(), encoding="cp1252")
sys.stderr = io.TextIOWrapper(sys.stderr.detach(), encoding="cp1252")
from kpi.entry import main
sys.argv[0] = "kpi"
sys.exit(main())
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = make_project(tmp_path_factory.mktemp("legacy") / "Plan")
    rows = [GOOD_HEADER]
    n = 0
    for index in range(24):  # July 2023 to June 2025
        year, month = 2023 + (index + 6) // 12, (index + 6) % 12 + 1
        for p, part in enumerate(PARTS):
            # Fewer incidents in the second year than in the first: the changes are negative.
            for _ in range((6 if index < 12 else 3) + p + month % 3):
                n += 1
                rows.append(f"R{n},{year}-{month:02d}-11,{part},{1 + n % 4},18-24")
    (folder / "extract.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    loaded = _kpi(folder, "utf-8", "ingest", "incidents", "extract.csv")
    assert loaded.returncode == 0, loaded.stderr
    return folder


def _kpi(folder: Path, encoding: str, *args: str, windows: bool = False,
         raw: bool = False) -> subprocess.CompletedProcess:
    """kpi with its output in `encoding` (PYTHONIOENCODING), or as Windows redirects it."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KPI_", "PYTHONUTF8", "PYTHONIOENCODING"))}
    env.update(KPI_NO_CACHE="1", NO_COLOR="1", COLUMNS="160",
               KPI_CACHE_DIR=str(folder / "cache"))
    if not windows:
        env["PYTHONIOENCODING"] = encoding
    command = ["-c", WINDOWS] if windows else ["-m", "kpi"]
    done = subprocess.run([sys.executable, *command, *args], capture_output=True,
                          env=env, cwd=folder, timeout=600)
    if raw:
        return done
    return subprocess.CompletedProcess(done.args, done.returncode,
                                       done.stdout.decode(encoding), done.stderr.decode(encoding))


@pytest.fixture(scope="module")
def utf8(project):
    """`_kpi(project, "utf-8", *args, raw=raw)`, each command line run once for the module:
    the UTF-8 output every legacy stream's is checked against, the same bytes whichever test
    asks (the cache is off, so each run computes its answer again)."""
    runs: dict[tuple[str, ...], subprocess.CompletedProcess] = {}

    def run(*args: str, raw: bool = False) -> subprocess.CompletedProcess:
        if args not in runs:
            runs[args] = _kpi(project, "utf-8", *args, raw=True)
        done = runs[args]
        if raw:
            return done
        return subprocess.CompletedProcess(done.args, done.returncode,
                                           done.stdout.decode("utf-8"),
                                           done.stderr.decode("utf-8"))

    return run


def _figures(text: str) -> list[str]:
    """Every number printed, with its sign written as a hyphen."""
    return re.findall(r"[-+]?\d[\d,.]*%?", text.replace("\u2212", "-"))


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
@pytest.mark.parametrize("command", [
    ("summary", "--period", "2025-06", "--vs", "yoy"),
    ("show", "incidents", "--period", "2025-06", "--vs", "yoy"),
    ("compare", "--by", "lpa", "--period", "2025-06", "--vs", "yoy"),
    ("compare", "--by", "lpa", "--period", "2025-06", "--vs", "yoy", "--format", "csv"),
    ("compare", "--by", "lpa", "--period", "2025-06", "--vs", "yoy", "--format", "markdown"),
])
def test_every_figure_reaches_a_legacy_stream(project, utf8, encoding, command):
    unicode = utf8(*command)
    assert unicode.returncode == 0, unicode.stderr
    legacy = _kpi(project, encoding, *command)
    assert legacy.returncode == 0, legacy.stderr
    assert "Traceback" not in legacy.stderr
    assert _figures(legacy.stdout) == _figures(unicode.stdout)
    assert legacy.stdout.isascii() or encoding != "ascii"
    if "compare" in command:
        # A name the stream can write is kept; one it cannot loses only its accent.
        assert "Ty Ddewi" in legacy.stdout and "Tŷ Ddewi" in unicode.stdout
        assert ("Ynys Môn" if encoding == "cp1252" else "Ynys Mon") in legacy.stdout
    changed = legacy.stdout != unicode.stdout
    assert (NOTE in legacy.stderr) == changed
    assert legacy.stderr.count(NOTE) <= 1


def test_the_true_minus_sign_and_arrows_are_written_as_ascii(project, utf8):
    unicode = utf8("summary", "--period", "2025-06", "--vs", "yoy")
    legacy = _kpi(project, "cp1252", "summary", "--period", "2025-06", "--vs", "yoy")
    assert legacy.returncode == 0, legacy.stderr
    line = next(x for x in unicode.stdout.splitlines() if x.startswith("Incidents recorded"))
    assert "↓" in line
    written = next(x for x in legacy.stdout.splitlines() if x.startswith("Incidents recorded"))
    assert written == line.replace("↓", "v").replace("\u2212", "-")
    assert f"{NOTE} cp1252" in legacy.stderr


def test_quiet_keeps_the_note_back(project):
    legacy = _kpi(project, "ascii", "-q", "summary", "--period", "2025-06", "--vs", "yoy")
    assert legacy.returncode == 0, legacy.stderr
    assert "v " in legacy.stdout or "^ " in legacy.stdout
    assert legacy.stderr == ""


def test_json_is_the_same_bytes_in_any_encoding(project, utf8):
    args = ("summary", "--period", "2025-06", "--vs", "yoy", "--format", "json")
    assert _kpi(project, "ascii", *args).stdout == utf8(*args).stdout


@pytest.mark.parametrize("command", [
    ("summary", "--period", "2025-06", "--vs", "yoy"),
    ("compare", "--by", "lpa", "--period", "2025-06", "--vs", "yoy"),
    ("compare", "--by", "lpa", "--period", "2025-06", "--vs", "yoy", "--format", "csv"),
    ("summary", "--period", "2025-06", "--vs", "yoy", "--format", "csv-excel"),
    ("show", "incidents", "--period", "2025-06", "--vs", "yoy", "--format", "markdown"),
])
def test_a_redirected_windows_stream_is_written_in_utf8(project, utf8, command):
    unicode = utf8(*command, raw=True)
    assert unicode.returncode == 0, unicode.stderr
    windows = _kpi(project, "cp1252", *command, windows=True, raw=True)
    assert windows.returncode == 0, windows.stderr.decode("utf-8")
    assert windows.stdout == unicode.stdout
    assert windows.stderr == unicode.stderr == b""
    if "csv-excel" in command:
        assert windows.stdout.startswith("\ufeff".encode("utf-8"))
    if "compare" in command:
        assert "Tŷ Ddewi".encode() in windows.stdout


def test_csv_for_excel_in_a_legacy_encoding_leaves_its_byte_order_mark_out(project, utf8):
    """The byte order mark says UTF-8, which a latin-1 stream is not: it was written as "?", and
    a CSV reader's first column read "?id". The header is left as it is; the rest is the UTF-8
    output's, in latin-1."""
    args = ("summary", "--period", "2025-06", "--vs", "yoy", "--format", "csv-excel")
    legacy = _kpi(project, "latin-1", *args)
    assert legacy.returncode == 0, legacy.stderr
    assert legacy.stdout.startswith("id,")
    assert legacy.stdout == utf8(*args).stdout.removeprefix("\ufeff")


def test_an_error_on_a_redirected_windows_stream_is_one_line(project):
    done = _kpi(project, "cp1252", "show", "incidnets", "--period", "2025-06",
                windows=True, raw=True)
    assert done.returncode == 2
    lines = done.stderr.decode("utf-8").splitlines()
    assert lines[0].startswith("Error: ") and "Traceback" not in done.stderr.decode("utf-8")
