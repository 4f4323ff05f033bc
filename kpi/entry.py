"""The `kpi` console script's front door: small, and quick to answer what it can.

It answers `kpi --version` from the package's version alone, asks the answer cache (kpi.cache,
a leaf that never imports Polars) whether this exact question was answered before from the same
inputs, and otherwise runs the command line (kpi.cli), recording the answer for next time. Only
the command that needs them imports Typer, Rich, Polars or deltalake.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from typing import Any


class _Closed:
    """Standard output when the shell closed it (`kpi summary >&-`): Python leaves None there,
    which a write would meet as a traceback. Every write is the operating system's refusal
    (EBADF), which the command line reports as one line and exit 4; a command writing to
    --output never writes here and runs as usual."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF), "standard output")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _open_streams() -> None:
    """Stand-ins for closed standard streams: output that refuses every write, and errors
    that go nowhere (the exit code still says what happened)."""
    if sys.stdout is None:
        sys.stdout = _Closed()  # type: ignore[assignment]
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115


def main(argv: list[str] | None = None) -> int | None:
    """Run `kpi` with these arguments (default: sys.argv[1:]), from the cache when possible."""
    args = list(sys.argv[1:] if argv is None else argv)
    # A reader that stops reading (`kpi summary | head -1`) ends kpi as it ends any Unix tool,
    # by SIGPIPE (status 141 in a shell), instead of Click's exit 1, which means "a check
    # failed". A load it interrupts is not committed, as with any killed load.
    if argv is None and hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    _open_streams()
    try:
        return _answer(args)
    except OSError as exc:  # writing an answer: a full disk, a closed output
        if _debug(args):
            raise
        from kpi.errors import refusal

        refused = refusal(exc)
        sys.stderr.write(f"Error: {refused.message}\nHint: {refused.hint}\n")
        return refused.exit_code


def _debug(args: list[str]) -> bool:
    """--debug or KPI_DEBUG (read as Click reads a flag's environment variable)."""
    return "--debug" in args or os.environ.get("KPI_DEBUG", "").strip().lower() in (
        "1", "true", "t", "yes", "y", "on")


def _answer(args: list[str]) -> int | None:
    """The version, a cached answer, or the command line's."""
    if args == ["--version"]:
        from kpi import __version__

        sys.stdout.write(f"kpi {__version__}\n")
        sys.stdout.flush()
        return 0
    from kpi import cache
    from kpi.argv import placed

    # `kpi summary --project X` and `kpi --project X summary` are one question, cached once.
    args = placed(args)
    plan = cache.plan(args)
    if plan is not None:
        entry = cache.read(plan)
        if entry is not None:
            sys.stdout.write(entry["stdout"])
            sys.stderr.write(entry["stderr"])
            sys.stdout.flush()
            return int(entry["code"])
    return _run(args, plan)


class _Tee:
    """A text stream that records what is written to it and passes everything through, so
    terminal detection (isatty, fileno, encoding) sees the real stream."""

    def __init__(self, stream):
        self._stream = stream
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return self._stream.write(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _run(args: list[str], plan: dict[str, Any] | None) -> int | None:
    """Run the command line; on a cacheable run, record its answer."""
    from kpi.cli import main as cli_main

    if plan is None:
        sys.argv[1:] = args
        return cli_main()
    out, err = _Tee(sys.stdout), _Tee(sys.stderr)
    sys.stdout, sys.stderr = out, err
    sys.argv[1:] = args
    try:
        code: Any = 0
        try:
            cli_main()
        except SystemExit as exc:
            code = exc.code
    finally:
        sys.stdout, sys.stderr = out._stream, err._stream
    code = 0 if code is None else code
    if isinstance(code, int) and code in (0, 1):
        from kpi import cache

        cache.store(plan, "".join(out.parts), "".join(err.parts), code)
    return code


if __name__ == "__main__":
    sys.exit(main())
