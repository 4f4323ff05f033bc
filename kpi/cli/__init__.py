"""The command line: a thin layer over the engine, the store and the renderers.

Only this module prints and exits. Every KpiError becomes one line on stderr with a hint and a
documented exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, wraps
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
import typer.core
import typer.main

from kpi import __version__
from kpi.cli import coercion
from kpi.errors import KpiError, visible
from kpi.periods import Comparison, whole_number
from kpi.progress import Progress, Step
from kpi.render import WORKBOOK_FORMATS, Document, Format

coercion.install()  # option values without pydantic where Typer's conversion cannot fail

EXIT_CODES_HELP = """\b
Exit codes:
  0  success
  1  a check or threshold failed (kpi check; kpi summary --fail-on deteriorating)
  2  usage error (unknown option or command, bad value such as --period 2025-13)
  3  data or configuration error (missing, stale or malformed extract or kpi.toml;
     no data for the period: an empty store, a period before or past the data)
  4  the operating system refused a read or write (permissions, read-only or full
     disk, a folder where a file was expected, a closed output); nothing stored was
     changed
  A reader that stops reading (kpi summary | head -1) ends kpi silently, by SIGPIPE."""

OUTPUT_HELP = (
    "Results go to stdout (or --output FILE); messages, warnings and errors go to stderr, "
    "errors as one line with a hint (--debug shows the traceback). Colour and box drawing "
    "only when stdout is a terminal and NO_COLOR is unset."
)

CONFIG_HELP = (
    "Option defaults come from, in order of precedence: the command line; the environment "
    "(KPI_PROJECT, KPI_FORMAT, KPI_PERIOD, KPI_VS, KPI_DEBUG, KPI_QUIET); the project's "
    "kpi.toml [defaults] table (format, vs, period); built-in defaults."
)

class KpiGroup(typer.core.TyperGroup):
    """The `kpi` command: shared options on either side of the command (kpi.argv), and every
    usage error Click or Typer finds as one line and a hint, like every other error."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        from kpi.argv import placed

        return super().parse_args(ctx, placed(args))

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        exceptions = _click_exceptions()
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except getattr(exceptions, "NoArgsIsHelpError", ()) as exc:  # plain `kpi`: its help
            exc.show()
            sys.exit(exc.exit_code)
        except exceptions.UsageError as exc:
            _usage_error(exc)
            sys.exit(exc.exit_code)
        except exceptions.ClickException as exc:
            err = _stderr()
            err.print(f"Error: {visible(' '.join(exc.format_message().split()))}",
                      markup=False)
            err.print("Hint: see 'kpi --help'", markup=False)
            sys.exit(exc.exit_code)
        except typer.Abort:
            sys.stderr.write("Aborted\n")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _click_exceptions():
    """Click's exceptions, from the copy of Click that Typer carries."""
    from typer._click import exceptions

    return exceptions


def _usage_error(exc) -> None:
    """Click's usage error (four lines: usage, a pointer to --help, a blank, the error) as
    kpi's one line and a hint."""
    import difflib

    exceptions = _click_exceptions()
    ctx = exc.ctx
    path = ctx.command_path if ctx is not None else "kpi"
    # Typer words a choice it refuses "Value error, 'x' is not one of ...": the words of a
    # validation library, not of kpi.
    message = " ".join(exc.format_message().split()).replace(": Value error, ", ": ")
    hint = f"see '{path} --help'"
    if getattr(exc, "kpi_hint", None):  # kpi's own words (a number refused: kpi.cli.coercion)
        hint = exc.kpi_hint
    elif isinstance(exc, exceptions.MissingParameter) and exc.param is not None:
        name = exc.param.opts[0] if exc.param.opts else exc.param.name
        envvar = getattr(exc.param, "envvar", None)
        if name == "--period":
            hint = ("give the reporting month, e.g. --period 2025-09 (or set KPI_PERIOD, or "
                    f"period in kpi.toml [defaults]); {hint}")
        elif envvar:
            hint = f"give {name} (or set {envvar}); {hint}"
    elif message.startswith("No such command") and ctx is not None and "Did you mean" not in \
            message and hasattr(ctx.command, "commands"):
        wrong = message.split("'")[1] if message.count("'") >= 2 else ""
        close = difflib.get_close_matches(wrong, list(ctx.command.commands), n=3)
        if close:
            message += f" Did you mean '{close[0]}'?"
        hint = f"the commands are listed by '{path} --help'"
    err = _stderr()
    err.print(f"Error: {visible(message)}", markup=False)
    err.print(f"Hint: {visible(hint)}", markup=False)


app = typer.Typer(
    cls=KpiGroup,
    name="kpi",
    help="Police and Crime Plan performance: ingest extracts, compute KPIs, draft the board "
         f"paper.\n\n{OUTPUT_HELP}\n\n{CONFIG_HELP}\n\n{EXIT_CODES_HELP}\n\n"
         "Examples:\n\n\b\n  kpi summary --period 2025-09\n"
         "  kpi --project sample show knife_crime --period 2025-09\n"
         "  kpi ingest crimes extracts/crimes-2025-10.csv\n"
         "  kpi export docx --period 2025-09 --output out/board.docx",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class State:
    project: str | None = None
    loaded: Any = None  # the project's definition once a command has opened it
    debug: bool = False
    quiet: bool = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kpi {__version__}")
        raise typer.Exit()


# Keys of kpi.toml's [defaults] table: option defaults for every command that has the option.
# Precedence (Click's): command line > environment variable > kpi.toml [defaults] > built-in.
DEFAULT_KEYS = ("format", "vs", "period")


def _project_defaults(explicit: str | None) -> dict[str, str]:
    """[defaults] of the project a command will use, read without validating the catalogue
    (that happens when the command loads it). A project that cannot be found or read has none;
    the command itself then reports why."""
    import tomllib

    from kpi.catalogue import find_project_file

    try:
        path, _ = find_project_file(explicit)
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (KpiError, OSError, UnicodeDecodeError, RecursionError, tomllib.TOMLDecodeError):
        return {}
    defaults = raw.get("defaults")
    if not isinstance(defaults, dict):
        return {}
    found = {key: defaults[key] for key in DEFAULT_KEYS if key in defaults}
    from kpi.catalogue import default_problem, load_project_file

    if any(default_problem(key, value) is not None for key, value in found.items()):
        # A value the option would refuse as typed ("invalid period '2025-9'", with no word
        # of kpi.toml): the catalogue refuses it instead, naming the file, the line and the
        # key, as it does every other fault of the file (`catalogue._build_defaults`).
        load_project_file(path)
    return {key: str(value) for key, value in found.items()}


@app.callback()
def root(
    ctx: typer.Context,
    project: Annotated[str | None, typer.Option(
        "--project", "-p", envvar="KPI_PROJECT",
        help="Project folder or kpi.toml (default: found from the working directory and "
             "its parents). 'sample' is the bundled West Midlands sample, which outside a "
             "project is otherwise used only on a terminal, with a note.")] = None,
    debug: Annotated[bool, typer.Option("--debug", envvar="KPI_DEBUG",
                                        help="Show tracebacks for errors.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", envvar="KPI_QUIET",
                                        help="Print nothing but results and errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    from typer.core import TyperGroup

    State.project, State.debug, State.quiet = project, debug, quiet
    State.loaded = None
    try:
        defaults = _project_defaults(project)
    except KpiError as exc:  # a [defaults] value the catalogue refuses, naming its line
        if State.debug:
            raise
        refused(exc)
    if defaults and isinstance(ctx.command, TyperGroup):
        ctx.default_map = _with_defaults(ctx.command, dict(ctx.default_map or {}), defaults)


def _with_defaults(group, default_map: dict[str, Any], defaults: dict[str, str]) -> dict:
    """Click's default map with kpi.toml [defaults] for every command, also inside groups such
    as `kpi export markdown` (an option a command lacks is simply not used)."""
    for name, command in group.commands.items():
        inherited = default_map.get(name, {})
        if hasattr(command, "commands"):
            default_map[name] = _with_defaults(command, dict(inherited), defaults)
        else:
            default_map[name] = {**defaults, **inherited}
    return default_map


F = TypeVar("F", bound=Callable[..., Any])


def examples(*lines: str) -> Callable[[F], F]:
    """An Examples section at the end of a command's --help, each line kept as written."""

    def add(func: F) -> F:
        import inspect

        body = "\n".join(f"  {line}" for line in lines)
        func.__doc__ = f"{inspect.cleandoc(func.__doc__ or '')}\n\nExamples:\n\n\b\n{body}"
        return func

    return add


def _stderr():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def handled(func: F) -> F:
    """Turn KpiError, and an operating-system refusal (OSError), into one line on stderr and
    its exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from kpi.errors import command_line, refusal

        try:
            try:
                with command_line():  # refusals name the options
                    return func(*args, **kwargs)
            except OSError as exc:  # from the operating system: one line, exit 4
                if State.debug:
                    raise
                raise refusal(exc) from exc
        except KpiError as exc:
            if State.debug:
                raise
            refused(exc)

    return wrapper  # type: ignore[return-value]


def refused(exc: KpiError) -> NoReturn:
    """A refusal as every command gives it: each line of its message after "Error: ", one
    hint, and its exit code."""
    err = _stderr()
    for line in exc.message.split("\n"):
        err.print(f"Error: {visible(line)}", markup=False)
    err.print(f"Hint: {visible(exc.hint or exc.general_hint)}", markup=False)
    raise typer.Exit(code=exc.exit_code) from None


def note(message: str) -> None:
    if not State.quiet:
        _stderr().print("\n".join(visible(line) for line in message.split("\n")), markup=False)


def open_project(output: Path | None = None, writes: str | None = None):
    """The project the command works on (kpi.api.Project, what kpi.open() returns); with
    `output`, its --output checked against it (check_output_file) before any work.

    Outside any project the bundled sample is used only when asked for (--project sample,
    KPI_PROJECT=sample), or on a terminal with a note, so a scheduled job started in the wrong
    folder never reports the sample's figures; `writes` names a command that would change the
    store, which the sample refuses. Both are decided before the sample's store is built."""
    from kpi import api
    from kpi.cache import file_digest
    from kpi.catalogue import find_project_file, load_project_file

    # kpi.toml read once (kpi.api.open would find and read it again): its digest taken
    # before reading it, as api.open takes it, so an edit meanwhile is read next time.
    found, bundled = find_project_file(State.project)
    digest = file_digest(found)
    definition = load_project_file(found, bundled=bundled)
    asked_for_sample(definition, writes)
    project = api.opened(definition, digest, notify=note)
    State.loaded = project.definition
    check_output_file(output)
    return project


def _project(output: Path | None = None, writes: str | None = None):
    return open_project(output, writes).definition


def asked_for_sample(project, writes: str | None = None) -> None:
    """Refuse, or note on a terminal, the bundled sample used without being asked for."""
    from kpi.catalogue import SAMPLE

    if project.bundled and writes:
        from kpi.errors import UsageError

        raise UsageError(f"kpi {writes} does not change the bundled sample",
                         hint="start a project of your own: 'kpi init FOLDER', or 'kpi init "
                              "--preset west-midlands FOLDER' for a copy of the sample")
    if project.bundled and State.project != SAMPLE:
        if not sys.stderr.isatty():
            from kpi.errors import ConfigError

            raise ConfigError(f"no kpi.toml in {Path.cwd()} or any folder above it",
                              hint="run kpi in a project folder, or pass --project FOLDER "
                                   "(--project sample for the bundled sample)")
        note(f"Using the bundled West Midlands sample: no kpi.toml in {Path.cwd()} or above "
             "(--project sample says so; 'kpi init' starts a project)")


def _completion(kind: str) -> Callable[..., list[str]]:
    """Shell completion of the project's ids of one kind (kpis, datasets, priorities), read
    from the project the command line names; nothing when it cannot be read."""

    def complete(ctx: typer.Context, incomplete: str) -> list[str]:
        from kpi.catalogue import load_project

        explicit = ctx.find_root().params.get("project") or os.environ.get("KPI_PROJECT")
        try:
            project = load_project(explicit)
        except Exception:  # completion must never print an error into the user's shell
            return []
        ids = (project.datasets if kind == "datasets"
               else [k.id for k in project.kpis if not k.hidden] if kind == "kpis"
               else [p.id for p in project.priorities])
        return [i for i in ids if i.startswith(incomplete)]

    return complete


complete_kpis = _completion("kpis")
complete_datasets = _completion("datasets")
complete_priorities = _completion("priorities")


def plain_output(output: Path | None = None) -> bool:
    """True when output must be plain text: no colour and no box drawing (a file, a pipe, or
    NO_COLOR set, whatever its value, as no-color.org asks)."""
    return output is not None or not sys.stdout.isatty() or "NO_COLOR" in os.environ


@contextmanager
def stdout_console(output: Path | None = None) -> Iterator[tuple[Any, bool]]:
    """A Rich console for what a command prints as tables, and whether it is plain. On a
    terminal it writes there; plain output (a pipe, --output, NO_COLOR) is laid out first and
    written with no spaces at the ends of its lines, which Rich pads every cell's last column
    with, to stdout or --output."""
    import io
    import shutil

    from rich.console import Console

    plain = plain_output(output)
    if not plain:
        yield Console(highlight=False, soft_wrap=False, emoji=False), False
        return
    # Piped output and files are 120 columns wide unless COLUMNS says otherwise; NO_COLOR on
    # a terminal keeps the terminal's width.
    columns = os.environ.get("COLUMNS", "").strip()
    width = (120 if output is not None else whole_number(columns)
             or (shutil.get_terminal_size().columns if sys.stdout.isatty() else 120))
    buffer = io.StringIO()
    yield Console(file=buffer, no_color=True, highlight=False, soft_wrap=False, emoji=False,
                  force_terminal=False, width=width), True
    _emit("\n".join(line.rstrip() for line in buffer.getvalue().split("\n")), output)


def emit_document(document: Document, format: Format, output: Path | None,
                  about: list[tuple[str, Any]] | None = None, unit: str | None = None,
                  places: int | None = None, target: float | None = None,
                  unit_label: str | None = None) -> None:
    """Render a result in the chosen format to stdout or --output. A workbook has a sheet per
    section, under a header block (`about`, default the heading); `unit` is the unit of the
    sections' values, `places` their decimals (one KPI's `render.places`), `target` its
    target, `unit_label` the name its figures are printed with (`render.unit_name`)."""
    if format in WORKBOOK_FORMATS:
        from kpi.writers import xlsx

        emit_workbook(about or [("kpi", document.heading)],
                      xlsx.document_sheets(document, unit, places, target, unit_label),
                      output)
        return
    _emit(format.render(document, plain_output(output)), output)


# The formats a file's ending names: --output FILE.json with no --format wrote the terminal's
# table into it (an .xlsx of text no spreadsheet opens), exit 0.
_FORMATS_OF_SUFFIX = {".json": (Format.JSON,), ".csv": (Format.CSV, Format.CSV_EXCEL),
                      ".md": (Format.MARKDOWN,), ".markdown": (Format.MARKDOWN,),
                      ".xlsx": (Format.XLSX,), ".xlsm": (Format.XLSX,), ".xls": (Format.XLSX,)}
# Endings of files no --format writes: the terminal's table was written into them.
_WRITTEN_BY_NONE = {".docx": "a Word document", ".html": "a web page", ".htm": "a web page",
                    ".pdf": "a PDF", ".tsv": "a tab-separated file",
                    ".parquet": "a Parquet file", ".gz": "a compressed file",
                    ".zip": "a compressed file"}


def check_format_output(format: Format, output: Path | None) -> None:
    """Refuse, before any work, --format xlsx without an --output FILE.xlsx to write, and an
    --output whose ending names another format than the one written (FILE.xlsx, FILE.json,
    FILE.csv or FILE.md of the terminal's table) or one no format writes (FILE.docx)."""
    from kpi.errors import UsageError

    if output is not None and format not in WORKBOOK_FORMATS \
            and (none := _WRITTEN_BY_NONE.get(output.suffix.lower())):
        raise UsageError(f"--output '{output}' names {none}, which no --format of this "
                         "command writes",
                         hint="write to a file ending .txt, .md, .csv, .json or .xlsx with the "
                              "--format it names; 'kpi export' writes the paper as Word or "
                              "HTML")
    named = _FORMATS_OF_SUFFIX.get(output.suffix.lower()) if output is not None else None
    if named is not None and format not in named and format not in WORKBOOK_FORMATS:
        kinds = {Format.JSON: "a JSON file", Format.CSV: "a CSV file",
                 Format.MARKDOWN: "a Markdown file", Format.XLSX: "an Excel workbook"}
        written = "a table as text" if format == Format.TABLE else format.value
        raise UsageError(f"--output '{output}' names {kinds[named[0]]}, and --format "
                         f"{format.value} writes {written}",
                         hint=f"add --format {named[0].value}, or write to a file of another "
                              "ending")
    if format not in WORKBOOK_FORMATS:
        return
    if output is None:
        raise UsageError(f"--format {format.value} writes a workbook file, which needs "
                         "--output", hint=f"add --output FILE.{format.value}")
    check_output_file(output)
    if output.suffix.lower() != f".{format.value}":
        raise UsageError(f"--output '{output}' should be an Excel workbook ending in "
                         f".{format.value}",
                         hint=f"for example --output {output.with_suffix('.' + format.value)}")


def emit_workbook(about: list[tuple[str, Any]], sheets: list[Any], output: Path | None) -> None:
    """Write an Excel workbook (kpi.writers.xlsx) to --output, which must be given."""
    from kpi.writers import xlsx

    check_format_output(Format.XLSX, output)
    assert output is not None  # check_format_output refused it otherwise
    # Through a link to its target, as a shell's redirection would write.
    output = output.resolve() if output.is_symlink() else output
    output.parent.mkdir(parents=True, exist_ok=True)
    xlsx.write(output, about, sheets)
    note(f"Wrote {output}")


@contextmanager
def working(message: str, after: float = 1.0) -> Iterator[None]:
    """A spinner on stderr for work that takes longer than `after` seconds; nothing when
    stderr is not a terminal (a scheduled job's log stays clean) or with --quiet."""
    if State.quiet or not sys.stderr.isatty():
        yield
        return
    import threading

    from rich.status import Status

    status = Status(message, console=_stderr())
    timer = threading.Timer(after, status.start)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        status.stop()


# How the bars name each task of kpi.progress; an extract is named by its file name.
_TASKS = {"store": "Storing", "figures": "Computing", "charts": "Drawing",
          "sections": "Writing"}


@contextmanager
def progress_bars() -> Iterator[Progress | None]:
    """Bars on stderr for the steps of a load or an export (kpi.progress): an extract's bytes
    and rows, the rows stored, the KPIs computed, the charts drawn, the sections written.
    None, and nothing drawn, when stderr is not a terminal (a scheduled job's log, a pipe)
    or with --quiet; the bars are gone when the work is done."""
    if State.quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.filesize import decimal
    from rich.progress import BarColumn, TaskID, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bars

    bars = Bars(TextColumn("{task.description}", markup=False), BarColumn(bar_width=20),
                TextColumn("{task.fields[amount]}", markup=False), TimeElapsedColumn(),
                console=_stderr(), transient=True)
    tasks: dict[str, TaskID] = {}

    def show(step: Step) -> None:
        if step.unit == "bytes":
            amount = f"{decimal(step.done)} of {decimal(step.total or 0)}, {step.rows:,} rows"
        elif step.total is None:
            amount = f"{step.done:,} {step.unit}"
        else:
            amount = f"{step.done:,} of {step.total:,} {step.unit}"
        if step.task not in tasks:
            name = Path(step.task).name if step.unit == "bytes" else step.task
            described = visible(_TASKS.get(step.task, name) if step.unit != "bytes" else name)
            if len(described) > 32:
                described = described[:31] + "…"
            tasks[step.task] = bars.add_task(described, total=step.total, amount=amount)
        bars.update(tasks[step.task], completed=step.done, total=step.total, amount=amount)

    with bars:
        yield show


def check_output_file(output: Path | None, option: str = "--output",
                      inputs: tuple[Path, ...] = ()) -> None:
    """Refuse, before any work, an output path that names a folder, or (when the project is
    known) lies in its data folder or on its project file or an input: kpi.outputs.check_target
    is the rule."""
    from kpi.outputs import check_target

    check_target(output, option, State.loaded, inputs)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    check_output_file(output)
    if output.exists() and not output.is_file():
        # A device, a named pipe, /dev/stdout: write into it, never replace it with a file.
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(output)) from exc
        return
    # Through a link to its target, as a shell's redirection would write.
    output = output.resolve() if output.is_symlink() else output
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, output)
    note(f"Wrote {output}")


PeriodOpt = Annotated[str, typer.Option("--period", help="Reporting month, YYYY-MM.",
                                        envvar="KPI_PERIOD")]
VsOpt = Annotated[Comparison, typer.Option(
    "--vs", help="Compare with the plan baseline, the same window a year earlier (yoy), the "
                 "window a month earlier (previous; a quarter earlier for quarterly data), or "
                 "financial year to date (fytd).",
    envvar="KPI_VS", case_sensitive=False)]
FormatOpt = Annotated[Format, typer.Option(
    "--format", "-f", help="Output format: table (to read), json or csv (for programs), "
                           "markdown (for documents), xlsx (an Excel workbook: needs "
                           "--output), csv-excel (CSV for Excel to open: a UTF-8 byte-order "
                           "mark, so Excel reads £ and accents, and text Excel would read as "
                           "a date or number, such as 10-17 or 00123, as its text formula "
                           "=\"10-17\").",
    envvar="KPI_FORMAT", case_sensitive=False)]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o",
                                                help="Write to this file instead of stdout.")]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="Compute from the data as it stood at a table version (number) or a "
                    "moment (an ISO date or time such as 2025-10-31; 20251031, both a "
                    "version and a date, is refused).")]


@cache
def command():
    """`app` as the Click command Typer builds from it, built once per process. Typer builds
    it again at every call of the app (about 11 ms for kpi's commands), which a process that
    runs many command lines in turn pays each time: the test suite's in-process runs, or a
    notebook running kpi's command line. With pretty exceptions off, calling it is calling
    the app."""
    return typer.main.get_command(app)


# The exit code of a failure of kpi's own (docs/guarantees.md): never 1, which says a check or
# threshold failed, so a scheduled job cannot read kpi's crash as its data's verdict.
EXIT_BUG = 5


def main() -> None:
    try:
        command()()
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted\n")
        sys.exit(130)
    except OSError:
        raise  # a closed output, a full disk: `kpi.entry.main` refuses it, exit 4
    except Exception:
        if State.debug:
            raise  # --debug: Python's own traceback, as asked
        import traceback

        traceback.print_exc()
        sys.stderr.write("Error: kpi stopped on a fault of its own (above), not of its input "
                         "(a load it stopped is not committed)\nHint: please report it with "
                         "the command and the lines above\n")
        sys.exit(EXIT_BUG)


# Command modules register themselves on `app`; import them last.
from kpi.cli import data_commands, summary_command, show_command, project_commands, export_command, check_command  # noqa: E402,F401,I001,E501
from kpi.cli import compare_command, commentary_command  # noqa: E402,F401
