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


def _open_streams(quiet: bool = False) -> None:
    """Stand-ins for closed standard streams: output that refuses every write, and errors
    that go nowhere (the exit code still says what happened). And streams whose encoding is
    not Unicode:

    - redirected to a file or a pipe (on Windows, Python writes those in the ANSI code page,
      cp1252 in the UK, which has no minus sign or arrows, nor many names' letters), they are
      written in UTF-8, as Python 3.15 will by default (PEP 686): every name as it is stored,
      and the byte order mark of `--format csv-excel` true of its bytes;
    - a terminal, or an encoding chosen with PYTHONIOENCODING, keeps its encoding and gets
      what it cannot encode in ASCII (`_ASCII`), with one note on standard error."""
    if sys.stdout is None:
        sys.stdout = _Closed()  # type: ignore[assignment]
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    import codecs

    legacy = []
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None)
        reconfigure = getattr(stream, "reconfigure", None)
        if not encoding or reconfigure is None:
            continue
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            continue
        if name.startswith("utf"):
            continue
        try:
            terminal = stream.isatty()
        except (OSError, ValueError):
            terminal = False
        if terminal or os.environ.get("PYTHONIOENCODING"):
            reconfigure(errors=_IN_ASCII)
            legacy.append(name)
        else:
            reconfigure(encoding="utf-8")
    if legacy:
        codecs.register_error(_IN_ASCII, _in_ascii_for(sys.stderr, legacy[0], quiet))


# What a stream that cannot encode them gets for the characters kpi itself prints: a true minus
# sign and dashes as a hyphen, arrows and triangles as ^ and v, a sparkline's eight blocks as an
# ASCII ramp. Any other character (a part's name: "Ŵ") loses its accents ("W") or becomes "?".
_IN_ASCII = "kpi-in-ascii"
_ASCII = {"\u2212": "-", "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u2192": "->",
          "\u2191": "^", "\u2193": "v", "\u25b2": "^", "\u25bc": "v", "\u00a3": "GBP ",
          "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2018": "'", "\u2019": "'",
          "\u201c": '"', "\u201d": '"', "\u00d7": "x", "\u2264": "<=", "\u2265": ">=",
          # the byte order mark of --format csv-excel says UTF-8, which such a stream is not:
          # left out, not "?" (a CSV reader's first column was "?id")
          "\ufeff": "",
          **dict(zip("\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588", "_.:-=+*#", strict=True))}


def _in_ascii_for(stderr, encoding: str, quiet: bool):
    """The codec error handler of a legacy stream: each character the stream cannot encode in
    ASCII, and once per run a note on standard error (written past the answer cache's record,
    which keeps the answer itself) saying so and how to have UTF-8."""
    import unicodedata

    told: list[bool] = []

    def handler(exc: UnicodeError) -> tuple[str, int]:
        if not isinstance(exc, UnicodeEncodeError):
            raise exc
        out = []
        for char in exc.object[exc.start:exc.end]:
            plain = _ASCII.get(char)
            if plain is None:
                plain = "".join(c for c in unicodedata.normalize("NFKD", char)
                                if not unicodedata.combining(c))
                plain = plain if plain.isascii() and plain.isprintable() and plain else "?"
            out.append(plain)
        if not told and not quiet:
            told.append(True)
            stream = getattr(stderr, "_stream", stderr)
            try:
                stream.write(f"Note: this output is written in {encoding}, which lacks some "
                             "characters kpi prints; they are written in ASCII (a minus sign "
                             "as -, arrows as ^ and v, a letter without its accent). For "
                             "UTF-8, set PYTHONIOENCODING=utf-8 or use --output FILE.\n")
            except (OSError, ValueError):
                pass
        return "".join(out), exc.end

    return handler


def main(argv: list[str] | None = None) -> int | None:
    """Run `kpi` with these arguments (default: sys.argv[1:]), from the cache when possible."""
    args = list(sys.argv[1:] if argv is None else argv)
    # A reader that stops reading (`kpi summary | head -1`) ends kpi as it ends any Unix tool,
    # by SIGPIPE (status 141 in a shell), instead of Click's exit 1, which means "a check
    # failed". A load it interrupts is not committed, as with any killed load.
    if argv is None and hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    _open_streams(quiet=_quiet(args))
    try:
        return _answer(args)
    except OSError as exc:  # writing an answer: a full disk, a closed output
        if _debug(args):
            raise
        from kpi.errors import refusal

        refused = refusal(exc)
        sys.stderr.write(f"Error: {refused.message}\nHint: {refused.hint}\n")
        return refused.exit_code


def _quiet(args: list[str]) -> bool:
    """-q, --quiet or KPI_QUIET."""
    return _flag(args, ("-q", "--quiet"), "KPI_QUIET")


def _debug(args: list[str]) -> bool:
    """--debug or KPI_DEBUG."""
    return _flag(args, ("--debug",), "KPI_DEBUG")


def _flag(args: list[str], options: tuple[str, ...], variable: str) -> bool:
    """A flag given on the command line or in its environment variable, read as Click reads
    a flag's environment variable."""
    return any(option in args for option in options) or os.environ.get(
        variable, "").strip().lower() in ("1", "true", "t", "yes", "y", "on")


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
