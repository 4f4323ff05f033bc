"""The command line: a thin layer over the engine, the store and the renderers.

Only this module prints and exits. Every KpiError becomes one line on stderr with a hint and a
documented exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from kpi import __version__
from kpi.errors import KpiError
from kpi.periods import Comparison
from kpi.render import Format

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 a check or threshold failed; 2 usage error; "
    "3 data or configuration error."
)

app = typer.Typer(
    name="kpi",
    help="Police and Crime Plan performance: ingest extracts, compute KPIs, draft the board "
         f"paper.\n\n{EXIT_CODES_HELP}",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class State:
    project: str | None = None
    debug: bool = False
    quiet: bool = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kpi {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    project: Annotated[str | None, typer.Option(
        "--project", "-p", envvar="KPI_PROJECT",
        help="Project folder or kpi.toml (default: found from the working directory, else "
             "the bundled West Midlands sample).")] = None,
    debug: Annotated[bool, typer.Option("--debug", envvar="KPI_DEBUG",
                                        help="Show tracebacks for errors.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q",
                                        help="Print nothing but results and errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    State.project, State.debug, State.quiet = project, debug, quiet


F = TypeVar("F", bound=Callable[..., Any])


def _stderr():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def handled(func: F) -> F:
    """Turn KpiError into one line on stderr and its exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KpiError as exc:
            if State.debug:
                raise
            lines = exc.message.split("\n")
            err = _stderr()
            for line in lines:
                err.print(f"Error: {line}", markup=False)
            if exc.hint:
                err.print(f"Hint: {exc.hint}", markup=False)
            raise typer.Exit(code=exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def note(message: str) -> None:
    if not State.quiet:
        _stderr().print(message, markup=False)


def _project():
    from kpi.catalogue import load_project

    project = load_project(State.project)
    if project.bundled:
        from kpi.ingest import ensure_bundled_store

        ensure_bundled_store(project, notify=note)
    return project


def _stdout_console():
    from rich.console import Console

    plain = not sys.stdout.isatty() or bool(os.environ.get("NO_COLOR"))
    return Console(no_color=plain, highlight=False, soft_wrap=False,
                   width=None if sys.stdout.isatty() else 120), plain


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, output)
    note(f"Wrote {output}")


PeriodOpt = Annotated[str, typer.Option("--period", help="Reporting month, YYYY-MM.",
                                        envvar="KPI_PERIOD")]
VsOpt = Annotated[Comparison, typer.Option(
    "--vs", help="Compare with the plan baseline, the same window a year earlier (yoy), the "
                 "window a month earlier (previous), or financial year to date (fytd).",
    envvar="KPI_VS", case_sensitive=False)]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.",
                                           envvar="KPI_FORMAT", case_sensitive=False)]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o",
                                                help="Write to this file instead of stdout.")]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="Compute from the data as it stood at a table version (number) or a "
                    "moment (ISO date or time).")]


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted\n")
        sys.exit(130)


# Command modules register themselves on `app`; import them last.
from kpi.cli import data_commands, summary_command  # noqa: E402,F401
