"""`python -m kpi ARGS` run inside the test's own process, answering as `subprocess.run(...,
capture_output=True, text=True)` would: the same exit code, stdout and stderr.

A real process costs its start-up (Python, then Polars, deltalake and the rest imported again)
for every command a test runs; most tests only check what a command prints, its exit code and
what it stored, which do not depend on the process. This runs the console script's own entry
(`kpi.entry.main`, answer cache included) with the environment, working folder, arguments and
standard streams the process would have had, and gives back what the process would have shown:

- the exit status as the interpreter makes it (`sys.exit(None)` is 0, `sys.exit("text")`
  prints the text and is 1), and an exception that escapes as the interpreter's traceback on
  stderr and status 1, so "no traceback" is still checked;
- warnings printed on stderr under Python's default filters, each once per command, as a fresh
  process shows them (not recorded by pytest);
- what native code writes straight to file descriptors 1 and 2 (Delta's Rust threads), after
  what Python wrote;
- stdout and stderr as pipes encode them (UTF-8; stderr with backslash escapes) and decoded as
  `text=True` decodes them, with the universal-newline translation.

Tests about what only a process has keep a real one: signals, locks held by another process,
a reader that goes away (SIGPIPE), a terminal, the installed console script, a module missing
from the interpreter.
"""

from __future__ import annotations

import importlib.machinery
import io
import os
import subprocess
import sys
import tempfile
import traceback
import types
import warnings
from collections.abc import Mapping
from pathlib import Path

import kpi

MAIN = str(Path(kpi.__file__).with_name("__main__.py"))

# The filters of an interpreter started without -W or PYTHONWARNINGS.
DEFAULT_FILTERS = (
    ("default", DeprecationWarning, "__main__"),
    ("ignore", DeprecationWarning, None),
    ("ignore", PendingDeprecationWarning, None),
    ("ignore", ImportWarning, None),
    ("ignore", ResourceWarning, None),
)


def _decoded(data: bytes) -> str:
    # What subprocess.run(..., text=True) does with what it read.
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def _show_warning(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


class _FdCapture:
    """File descriptor `fd` pointed at a temporary file while the command runs."""

    def __init__(self, fd: int):
        self.fd = fd
        self.file = tempfile.TemporaryFile()
        self.saved = os.dup(fd)
        os.dup2(self.file.fileno(), fd)

    def stop(self) -> bytes:
        os.dup2(self.saved, self.fd)
        os.close(self.saved)
        self.file.seek(0)
        data = self.file.read()
        self.file.close()
        return data


def _main_module() -> types.ModuleType:
    # `__main__` as `python -m kpi` has it: Click names the program from it ("python -m kpi"
    # in usage lines and hints), and a chart worker process skips it, as it skips any
    # package's __main__.
    module = types.ModuleType("__main__")
    module.__package__ = "kpi"
    module.__spec__ = importlib.machinery.ModuleSpec("kpi.__main__", None)
    return module


def run(args, *, cwd: str | Path | None = None, env: Mapping[str, str] | None = None,
        input: str | None = None) -> subprocess.CompletedProcess:
    """`subprocess.run([sys.executable, "-m", "kpi", *args], cwd=cwd, env=env, input=input,
    capture_output=True, text=True)`, in this process."""
    from kpi.entry import main

    args = [str(a) for a in args]
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_argv = sys.argv
    saved_main = sys.modules["__main__"]
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="backslashreplace",
                           write_through=True)
    for stream in saved_streams[1:]:
        stream.flush()
    fds = [_FdCapture(1), _FdCapture(2)]
    try:
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        if cwd is not None:
            os.chdir(cwd)
        sys.argv = [MAIN, *args]
        sys.modules["__main__"] = _main_module()
        sys.stdin = io.StringIO(input or "")
        sys.stdout, sys.stderr = out, err
        with warnings.catch_warnings():
            warnings.resetwarnings()
            for action, category, module in reversed(DEFAULT_FILTERS):
                if module is None:
                    warnings.simplefilter(action, category)
                else:
                    warnings.filterwarnings(action, category=category, module=module)
            warnings.showwarning = _show_warning
            try:
                code = main(args)
            except SystemExit as exc:
                code = exc.code
            except BaseException:
                traceback.print_exc(file=err)
                code = 1
        if code is None:
            code = 0
        elif not isinstance(code, int):
            err.write(f"{code}\n")
            code = 1
        out.flush()
        err.flush()
    finally:
        native_err = fds.pop().stop()
        native_out = fds.pop().stop()
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        sys.argv = saved_argv
        sys.modules["__main__"] = saved_main
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(
        [sys.executable, "-m", "kpi", *args], code,
        _decoded(out_bytes.getvalue() + native_out), _decoded(err_bytes.getvalue() + native_err))
