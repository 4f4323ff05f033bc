"""The Python face: `kpi.open()` and the project object that the commands and notebooks share.

A notebook and `kpi summary` ask the same object the same question, so they get the same
numbers: each command of kpi/cli only parses its options, calls a method here and prints
what it returns. Methods taking strings (a period, a comparison, a version) parse them as the
command line does, and every mistake is the `KpiError` the command line turns into its exit
code. The DataFrame methods flatten the JSON documents of docs/json.md into columns.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kpi.cache import file_digest
from kpi.errors import UsageError, option
from kpi.progress import Progress

if TYPE_CHECKING:
    import polars as pl

    from kpi import catalogue
    from kpi.catalogue import KpiDef
    from kpi.checks import CheckReport, CheckResult
    from kpi.checks import Part as CheckPart
    from kpi.compare import PeerComparison
    from kpi.engine import KpiResult, Report
    from kpi.ingest import LoadResult
    from kpi.periods import Comparison, Month
    from kpi.store import AsOf
    from kpi.verdicts import Series, Verdict

# `kpi.open(SAMPLE)` opens the West Midlands sample shipped with kpi.
SAMPLE = "sample"


def open(path: str | bytes | os.PathLike[str] | os.PathLike[bytes] | None = None, *,
         notify: Callable[[str], None] | None = None) -> Project:
    """The project at `path` (a folder holding kpi.toml, or the file), found as the command
    line finds it when None (KPI_PROJECT is not read: pass it), or the bundled sample for the
    string "sample" (a folder of that name: pass Path("sample") or "./sample"). The sample's
    store is built on first use; `notify` receives the one line saying so."""
    import sys

    starting = sys.modules.get("multiprocessing")
    if starting is not None and getattr(starting.current_process(), "_inheriting", False):
        # A worker process drawing a paper's charts runs the script's main module as it
        # starts: refused at once, before the script's loads and papers run once per worker.
        # The worker says so in one write (two workers starting together interleaved their
        # tracebacks' pieces, so neither message read whole) and exits; the script's own
        # process then stops with the error naming the guard (charts._draw_all).
        refused = UsageError("kpi.open() ran in a process starting to draw a paper's charts: "
                             "Python runs the script's code again in each worker process",
                             hint='put the script\'s code under  if __name__ == "__main__":')
        try:
            os.write(2, f"kpi.errors.UsageError: {refused} (hint: {refused.hint})\n".encode())
        except OSError:
            pass  # no standard error (pythonw): the script's own error still names the guard
        raise SystemExit(1)
    from kpi.errors import asked_by

    with asked_by("python"):  # refused in the Python face's words, as its methods are
        return _open(path, notify)


def _open(path: str | bytes | os.PathLike[str] | os.PathLike[bytes] | None,
          notify: Callable[[str], None] | None) -> Project:
    from kpi.catalogue import (
        PROJECT_FILE,
        bundled_project_dir,
        find_project_file,
        load_project_file,
    )

    if isinstance(path, str) and path == SAMPLE:
        found, bundled = bundled_project_dir() / PROJECT_FILE, True
    else:
        # A str as it is (the string "sample" names the sample, a path of that name the
        # folder); bytes and other paths as a Path of their text.
        found, bundled = find_project_file(
            path if path is None or isinstance(path, str) else Path(_path_text(path, "path")))
        if bundled:
            # As the command line notes it on a terminal: a notebook kept outside its project
            # folder would otherwise answer with the sample's figures, saying nothing.
            import warnings

            warnings.warn(f"no kpi.toml in {Path.cwd()} or any folder above it: opened the "
                          "bundled West Midlands sample (kpi.open(\"sample\") asks for it; "
                          "kpi.open(FOLDER) opens your project)", UserWarning, stacklevel=4)
    # Held by its absolute path: a project opened as "." read another folder's kpi.toml,
    # data, weights and populations after the notebook changed folder (`%cd`, os.chdir), its
    # answers those of whichever folder the process stood in.
    found = found.absolute()
    digest = file_digest(found)  # before reading it: an edit meanwhile is read next time
    return opened(load_project_file(found, bundled=bundled), digest, notify=notify)


def opened(definition: catalogue.Project, digest: str | None, *,
           notify: Callable[[str], None] | None = None) -> Project:
    """The Project of a catalogue already read (`open` once it has found and read kpi.toml;
    the command line, which reads it first to decide on the sample): `digest` is the sha256
    of the bytes it was read from, taken before reading them. The bundled sample's store is
    built on first use."""
    from kpi import store

    # Built once: a built store is seen from its logs' listings, without importing the ingest.
    if definition.bundled and not all(store.exists(definition, d) for d in definition.datasets):
        from kpi.ingest import ensure_bundled_store

        ensure_bundled_store(definition, notify=notify)
    return Project(definition, digest)


def find_kpi(project: catalogue.Project, kpi_id: str) -> KpiDef:
    """The KPI with this id, or a UsageError naming the closest ids (titles count too, so
    'knife' finds knife_crime)."""
    from kpi.errors import closest, spelled

    kpi = project.kpi(_text(kpi_id, "a KPI id"))
    if kpi is not None:
        return kpi
    close = closest(kpi_id, [k.id for k in project.kpis], n=5)
    close += [k.id for k in project.kpis
              if kpi_id.lower() in k.title.lower() and k.id not in close]
    hint = ("did you mean " + " or ".join(f"'{c}'" for c in close[:5]) + "?" if close
            else spelled("'kpi catalogue' lists every KPI id",
                         "project.kpi_ids lists every KPI id"))
    raise UsageError(f"unknown KPI '{kpi_id}' in {project.path.name}", hint=hint)


F = TypeVar("F", bound=Callable[..., Any])


def _one_reading(method: F) -> F:
    """A question of the project answered from one version of each table it reads
    (`kpi.store.one_reading`), however long it takes and whatever a load commits meanwhile,
    and refused in the words of the face that asked (`kpi.errors.option`)."""
    import functools

    @functools.wraps(method)
    def answer(*args: Any, **kwargs: Any) -> Any:
        from kpi.errors import asked_by
        from kpi.store import one_reading

        # Asked from Python, unless a command asks: refusals name the arguments then.
        with asked_by("python"), one_reading():
            return method(*args, **kwargs)

    return answer  # type: ignore[return-value]


def require_priority(definition: catalogue.Project, priority: str) -> None:
    """Refuse a priority id the plan does not have, naming the nearest."""
    if definition.priority(priority) is None:
        from kpi.errors import did_you_mean

        ids = [p.id for p in definition.priorities]
        raise UsageError(f"unknown priority '{priority}'",
                         hint=did_you_mean(priority, ids, f"one of: {', '.join(ids)}"))


class PaperFormat(StrEnum):
    MARKDOWN = "markdown"
    DOCX = "docx"
    HTML = "html"


PAPER_SUFFIXES = {PaperFormat.MARKDOWN: (".md", ".markdown"), PaperFormat.DOCX: (".docx",),
                  PaperFormat.HTML: (".html", ".htm")}
_PAPER_EXAMPLES = {PaperFormat.MARKDOWN: "out/board.md", PaperFormat.DOCX: "out/board.docx",
                   PaperFormat.HTML: "out/board.html"}
_PAPER_NAMES = {PaperFormat.MARKDOWN: "a Markdown file", PaperFormat.DOCX: "a Word file",
                PaperFormat.HTML: "an HTML file"}


@dataclass(frozen=True)
class Summary:
    """What `kpi summary` prints: the engine's report, each KPI's verdicts and the plan's
    priorities (id, title) in order."""

    project: str
    report: Report
    verdicts: dict[str, Verdict]
    priorities: list[tuple[str, str]]

    @property
    def titles(self) -> dict[str, str]:
        return dict(self.priorities)

    def frame(self) -> pl.DataFrame:
        """One row per KPI: the JSON's fields as columns (`summary_row`)."""
        from kpi.engine import figure_frame

        return figure_frame([summary_row(k) for k in summary_json(self)["kpis"]],
                            _summary_schema())

    def about(self, as_of: str | None = None) -> list[tuple[str, Any]]:
        """What was asked, for the header block of a workbook."""
        return _about(self.project, self.report.period, self.report.comparison,
                      self.report.versions, as_of, [
                          ("Current window", _shared(self.report.results, "current")),
                          ("Comparison window", _shared(self.report.results, "comparison"))])


@dataclass(frozen=True)
class Detail:
    """What `kpi show` prints about one KPI: its result, monthly trend, verdicts, breakdowns
    (column -> parts, each with its `rank`, listed best first as `kpi compare` lists them:
    `compare.ranked_breakdown`) and, when asked, the same months a year earlier."""

    result: KpiResult
    trend: pl.DataFrame | None
    verdict: Verdict
    breakdowns: dict[str, pl.DataFrame]
    same_months: Series | None
    # Column -> the parts of its breakdown listed but not ranked, as `kpi compare` leaves them
    # out (a force holding rows in only some months of the window), and its note saying why.
    unranked: dict[str, tuple[list[str], str | None]] = field(default_factory=dict)
    # The columns by which `kpi compare` ranks the parts per 1,000 population, where these
    # breakdowns rank them on their figures (`compare.ranks_per_1000`, compare's own answer).
    per_1000_ranked: tuple[str, ...] = ()

    @property
    def change_note(self) -> str | None:
        """Why the KPI has no change ("no comparison", "no figure", "in development"), None
        where it has one: `kpi show`'s `change.note` and Change section's `change_note`."""
        from kpi.engine import no_change

        return no_change(self.result)


@dataclass(frozen=True)
class Paper:
    """A board paper written: the paper, its figures file, and its charts: drawn into the
    folder beside a Markdown paper, embedded in a Word or HTML one (`charts_dir` None)."""

    output: Path
    figures_file: Path
    charts: int
    charts_dir: Path | None


def covers_type() -> Any:
    """The frames' `covers` (kpi.render.covers_json): each column telling parts of the data
    apart, its label, and the parts whose rows a figure adds together."""
    import polars as pl

    return pl.List(pl.Struct({"column": pl.String, "label": pl.String,
                              "parts": pl.List(pl.String)}))


# The columns of `Project.summary()`: the JSON's fields of one KPI (docs/json.md), flattened.
WINDOW_FIELDS = ("label", "start", "end", "value", "numerator", "denominator")


def _summary_schema() -> dict[str, Any]:
    import polars as pl

    from kpi.render import PROVENANCE_FIELDS

    schema: dict[str, Any] = dict.fromkeys(
        ("id", "title", "priority", "priority_title", "kind", "unit", "better", "status"),
        pl.String)
    for role in ("comparison", "current"):
        for name in WINDOW_FIELDS:
            schema[f"{role}_{name}"] = (pl.String if name in ("label", "start", "end")
                                        else pl.Float64)
    schema |= {"change_absolute": pl.Float64, "change_percent": pl.Float64,
               "change_points": pl.Float64, "note": pl.String, "quality": pl.List(pl.String),
               "significance_test": pl.String, "statistic": pl.Float64, "p_value": pl.Float64,
               "significant": pl.Boolean, "significance_reason": pl.String,
               "variation": pl.String, "variation_rule": pl.String, "target": pl.Float64,
               "target_met": pl.Boolean, "assurance": pl.String, "change_note": pl.String,
               "target_source": pl.String, "target_illustrative": pl.Boolean,
               "population_source": pl.String, "population_illustrative": pl.Boolean,
               "unit_label": pl.String, "covers": covers_type()}
    assert tuple(schema)[-6:-2] == PROVENANCE_FIELDS, \
        "the provenance fields come last but the unit's name and covers, added after them"
    return schema


def summary_row(kpi: dict[str, Any]) -> dict[str, Any]:
    """One KPI of the summary's JSON as a flat row (the columns of `Project.summary()`)."""
    from kpi.render import PROVENANCE_FIELDS

    row = {key: kpi[key] for key in ("id", "title", "priority", "priority_title", "kind",
                                     "unit", "better", "status")}
    for role in ("comparison", "current"):
        window = kpi[role] or {}
        for name in WINDOW_FIELDS:
            row[f"{role}_{name}"] = window.get(name)
    for name in ("absolute", "percent", "points"):
        row[f"change_{name}"] = kpi["change"][name]
    test = kpi.get("significance") or {}
    variation = kpi.get("variation") or {}
    row |= {"note": kpi["note"], "quality": kpi["quality"], "significance_test": test.get("test"),
            "statistic": test.get("statistic"), "p_value": test.get("p_value"),
            "significant": test.get("significant"), "significance_reason": test.get("reason"),
            "variation": variation.get("verdict"), "variation_rule": variation.get("rule"),
            "target": kpi.get("target"), "target_met": kpi.get("target_met"),
            "assurance": kpi.get("assurance"), "change_note": kpi["change"]["note"]}
    # Where the target and the populations come from, as the JSON gives them (one maker:
    # kpi.render.provenance), last so the columns before keep their places.
    row |= {key: kpi[key] for key in PROVENANCE_FIELDS}
    # The name of the unit every face prints its figures with (kpi.render.unit_name).
    row["unit_label"] = kpi["unit_label"]
    # What the figure adds together (kpi.render.covers_json), as the JSON gives it.
    row["covers"] = kpi["covers"]
    return row


class Project:
    """A kpi project: its catalogue (`definition`), its store, and the questions kpi answers.

    Periods are 'YYYY-MM' (or a kpi.periods.Month), comparisons 'baseline', 'yoy', 'previous'
    or 'fytd', and `as_of` a table version (int) or an ISO date or time."""

    def __init__(self, definition: catalogue.Project, digest: str | None = None):
        self._definition = definition
        # The sha256 of the kpi.toml bytes `definition` was read from (see `_catalogue`).
        self._digest = digest if digest is not None else file_digest(definition.path)
        # The project file every link followed, as `definition` was read (see `_moved`).
        self._resolved = definition.path.resolve()
        # The catalogue handed out by `definition`, and the one it was made from.
        self._handed: tuple[catalogue.Project, catalogue.Project] | None = None

    def _catalogue(self) -> catalogue.Project:
        """The parsed catalogue as kpi.toml stands now, which every question reads: read
        again whenever the file's bytes have changed since it was last read, as each command
        reads it, so a notebook's project never answers from a catalogue edited since it was
        opened (an edit that breaks the file is the ConfigError `kpi summary` would give);
        and whenever a link has since led it to another project folder or data folder
        (`_moved`), so a question reads, and a load writes, the store `kpi summary` would
        read at that moment."""
        digest = file_digest(self._definition.path)
        resolved = self._definition.path.resolve()
        if digest is None or digest != self._digest or self._moved(resolved):
            from kpi.catalogue import load_project_file

            self._definition = load_project_file(self._definition.path,
                                                 bundled=self._definition.bundled)
            self._digest, self._resolved = digest, resolved
        return self._definition

    def _moved(self, resolved: Path) -> bool:
        """Whether the project file (`resolved`, every link followed now) or the data folder
        kpi.toml names, resolved now by the rule every command resolves it by
        (`kpi.catalogue.data_dir_of`), is another than the catalogue held was read with. A
        `data` link switched to another store, or a link to the project folder switched to
        another project (`current -> r1` made `current -> r2`, its kpi.toml byte for byte
        the same), left a notebook's project reading, and loading into, the store it led to
        when opened: 120 crimes in September where `kpi summary` and a fresh `kpi.open` read
        60. Read again, the catalogue refuses a link leading outside the project, as every
        command does. Two realpaths a question. The bundled sample's store is kpi's own
        folder, named by the sample's files, which no link leads to."""
        from kpi.catalogue import data_dir_of

        held = self._definition
        return not held.bundled and (
            resolved != self._resolved
            or data_dir_of(held.path, held.raw, False) != held.data_dir)

    @property
    def definition(self) -> catalogue.Project:
        """The parsed catalogue (`kpi.catalogue.Project`) as kpi.toml stands now (see
        `_catalogue`), read-only (`kpi.catalogue.read_only`): its tables of datasets,
        populations, peer groups and defaults refuse assignment, and its raw TOML is a copy,
        so nothing done to what is handed out changes a later answer."""
        current = self._catalogue()
        if self._handed is None or self._handed[0] is not current:
            from kpi.catalogue import read_only

            self._handed = (current, read_only(current))
        return self._handed[1]

    def __repr__(self) -> str:
        # As last read: printing the project never raises, whatever kpi.toml holds now.
        return f"<kpi project {self._definition.name!r} at {self._definition.path}>"

    @property
    def name(self) -> str:
        return self._catalogue().name

    @property
    def path(self) -> Path:
        """The project file, kpi.toml."""
        return self._catalogue().path

    @property
    def kpi_ids(self) -> list[str]:
        """Every KPI's id, in catalogue order (hidden ones too)."""
        return [k.id for k in self._catalogue().kpis]

    @property
    def dataset_ids(self) -> list[str]:
        return list(self._catalogue().datasets)

    # -- finding things ----------------------------------------------------------------------

    def kpi(self, kpi_id: str) -> KpiDef:
        """The KPI with this id, or a UsageError naming the closest ids (titles count too, so
        'knife' finds knife_crime)."""
        return find_kpi(self._catalogue(), kpi_id)

    # -- summary -------------------------------------------------------------------------------

    @_one_reading
    def report(self, period: str | Month, vs: str | Comparison | None = None, *,
               priority: str | None = None, as_of: str | int | AsOf | None = None) -> Summary:
        """Every visible KPI (of one priority) for a period against its comparison, with the
        verdicts: what `kpi summary` prints. A period no live KPI has data for is a
        DataError."""
        from kpi import engine, verdicts
        from kpi.compare import with_covers

        project = self._catalogue()
        month, comparison, cutoff = _month(period), _comparison(vs, project), _as_of(as_of)
        if priority:
            require_priority(project, _text(priority, "priority", optional=True))
        kpis = [k for k in project.kpis
                if not k.hidden and (not priority or k.priority == priority)]
        # The verdicts' monthly values are read in the same pass as the windows.
        report = engine.evaluate(project, month, comparison, kpis, as_of=cutoff,
                                 series=verdicts.SERIES_MONTHS)
        _require_some_data(project, report, month)
        # What each figure adds together, which every face of the summary says.
        report = with_covers(project, report, cutoff)
        return Summary(project.name, report, verdicts.verdicts(project, report, as_of=cutoff),
                       [(p.id, p.title) for p in project.priorities])

    @_one_reading
    def summary(self, period: str | Month, vs: str | Comparison | None = None,
                as_of: str | int | AsOf | None = None, *,
                priority: str | None = None) -> pl.DataFrame:
        """One row per KPI: the fields of `kpi summary --format json` as columns (windows and
        changes flattened: current_value, comparison_value, change_percent, ...)."""
        return self.report(period, vs, priority=priority, as_of=as_of).frame()

    # -- compare -------------------------------------------------------------------------------

    @_one_reading
    def comparison(self, period: str | Month, by: str, vs: str | Comparison | None = None, *,
                   kpis: Sequence[str] | None = None, peers: str | None = None,
                   focus: str | None = None,
                   as_of: str | int | AsOf | None = None) -> PeerComparison:
        """Every part of column `by` side by side for each KPI split by it: what
        `kpi compare` prints (`require_parts` says when there is nothing to print)."""
        from kpi import compare as comparing

        project = self._catalogue()
        month, comparison, cutoff = _month(period), _comparison(vs, project), _as_of(as_of)
        if isinstance(kpis, str):
            kpis = [kpis]  # one KPI, not a sequence of its characters
        if kpis is not None:
            kpis = list(kpis)  # once: a generator is read here, and only here
            if not kpis:
                # A list that names no KPI (a notebook's filter that kept none) is not the
                # option left out: it compared every KPI, as if all had been asked for.
                raise UsageError("kpis names no KPI",
                                 hint="name at least one KPI id, or leave kpis out (None) for "
                                      "every KPI")
        chosen = [find_kpi(project, kpi_id) for kpi_id in kpis] if kpis is not None else None
        return comparing.compare(project, month, _text(by, "by"), comparison, chosen,
                                 peers=_text(peers, "peers", optional=True),
                                 focus=_text(focus, "focus", optional=True), as_of=cutoff)

    @_one_reading
    def compare(self, period: str | Month, by: str, vs: str | Comparison | None = None, *,
                kpis: Sequence[str] | None = None, peers: str | None = None,
                focus: str | None = None, as_of: str | int | AsOf | None = None
                ) -> pl.DataFrame:
        """One row per KPI and part: the columns of `kpi compare --format csv`."""
        result = self.comparison(period, by, vs, kpis=kpis, peers=peers, focus=focus,
                                 as_of=as_of)
        require_parts(self._catalogue(), result)
        return comparison_frame(result)

    # -- one KPI -------------------------------------------------------------------------------

    @_one_reading
    def detail(self, kpi_id: str, period: str | Month, vs: str | Comparison | None = None, *,
               months: int = 24, as_of: str | int | AsOf | None = None,
               seasonal: bool = False) -> Detail:
        """One KPI in depth: what `kpi show` prints. `months` is the trend's length only: the
        verdict is the one `report` gives the KPI at the period (`verdicts.verdicts`). A live
        KPI with no data on or before the period is a DataError, as a period no KPI has data
        for is to `report` (a window with a gap is shown: its trend shows the gap)."""
        from kpi import engine, verdicts
        from kpi.compare import with_covers

        project = self._catalogue()
        month, comparison, cutoff = _month(period), _comparison(vs, project), _as_of(as_of)
        months = _months(months)
        kpi = find_kpi(project, kpi_id)
        # The monthly components of the trend, the verdict's series, the seasonal months and
        # a provisional KPI's test without its last months are read in the same pass as the
        # windows (at least the summary's `verdicts.SERIES_MONTHS`, whatever `months` is).
        report, end, trend = _trend(project, kpi, month, comparison, months, cutoff,
                                    verdicts.SERIES_MONTHS)
        # What the figure adds together, as the summary says it (compare.with_covers).
        report = with_covers(project, report, cutoff)
        result = report.results[0]
        # The summary's verdict, by the summary's own code: `months` chooses only how many of
        # the trend's months are shown, never the months the limits and signals come from.
        verdict = verdicts.verdicts(project, report, as_of=cutoff)[kpi.id]
        same_months = None
        if seasonal and end is not None:
            known = report.monthly if result.current is not None else None
            if known is None:  # no current window: the months were not read with it
                known = verdicts.monthly_parts(project, [kpi], {kpi.id: end},
                                               verdicts.SERIES_MONTHS, cutoff)
            same_months = verdicts.monthly_values(project, [kpi], {kpi.id: end},
                                                  verdicts.SERIES_MONTHS, cutoff,
                                                  parts=known)[kpi.id]
        parts: dict[str, pl.DataFrame] = {}
        unranked: dict[str, tuple[list[str], str | None]] = {}
        per_1000: tuple[str, ...] = ()
        if result.current is not None and not kpi.is_derived:
            window = result.comparison.window if result.comparison else None
            # The streaming breakdowns the paper uses: a median per part is read off count
            # tables, so a national store's rows are never all held at once.
            found = engine.breakdowns(project, [(kpi, column, result.current.window, window)
                                                for column in kpi.breakdowns], cutoff)
            from kpi.compare import left_out, ranked_breakdown, ranks_per_1000

            # Each part ranked and listed as `kpi compare` ranks and lists it, a part it
            # leaves out (a force's half year beside others' whole ones) listed unranked.
            for column in kpi.breakdowns:
                frame = found[(kpi.id, column, result.current.window, window)]
                out, why = left_out(project, kpi, column, frame, month, comparison, cutoff)
                parts[column] = ranked_breakdown(frame, kpi.better, out)
                if out:
                    unranked[column] = (out, why)
            per_1000 = tuple(c for c in kpi.breakdowns
                             if ranks_per_1000(project, kpi, c, month, comparison, cutoff))
        return Detail(result, trend, verdict, parts, same_months, unranked, per_1000)

    @_one_reading
    def series(self, kpi_id: str, period: str | Month, months: int = 24,
               as_of: str | int | AsOf | None = None, *,
               vs: str | Comparison | None = None) -> pl.DataFrame:
        """A KPI's monthly values (columns: month, value, rolling_12): the trend `kpi show
        --vs VS` draws for `period`, `months` long, ending where the KPI's current window
        ends (the period less the KPI's lag), or where its data does when that window is
        incomplete; a KPI with no data on or before the period is a DataError, as in
        `detail`. A KPI in development has no trend: no rows. `vs` matters only where the
        windows differ: a financial year to date can be whole where the year ending the same
        month is not, and the trend then ends with the year to date."""
        import polars as pl

        project = self._catalogue()
        kpi = find_kpi(project, kpi_id)
        _, _, trend = _trend(project, kpi, _month(period), _comparison(vs, project),
                             _months(months), _as_of(as_of))
        if trend is None:
            return pl.DataFrame(schema={"month": pl.String, "value": pl.Float64,
                                        "rolling_12": pl.Float64})
        return trend

    # -- checks --------------------------------------------------------------------------------

    @_one_reading
    def check_report(self, period: str | Month, as_of: str | int | AsOf | None = None, *,
                     data: bool = True, vs: str | Comparison | None = None) -> CheckReport:
        """The catalogue's reconciliations and (with `data`) the data checks for a period,
        against the comparison `vs` (None: kpi.toml's `[defaults] vs`, else the baseline, as
        `report` compares): what `kpi check` runs. A failed check is a result, not an error;
        a period with nothing to check is the DataError `kpi check` exits 3 with."""
        from kpi.checks import run_checks

        project = self._catalogue()
        return run_checks(project, _month(period), _as_of(as_of), data=data,
                          vs=_comparison(vs, project))

    def checks(self, period: str | Month, as_of: str | int | AsOf | None = None, *,
               data: bool = True, vs: str | Comparison | None = None) -> pl.DataFrame:
        """One row per check, the fields of `kpi check --format json`'s checks as columns:
        id, title, kind, passed, message, total (a struct of the total's kpi, title, value and
        window), parts (a list of such structs), difference, and comparison (a struct of the
        comparison window's total, parts, difference and passed, or null)."""
        import polars as pl

        from kpi.engine import figure_column, figure_frame

        rows = [check_json(r) for r in self.check_report(period, as_of, data=data,
                                                          vs=vs).results]
        figures = [f for row in rows
                   for then in [row["comparison"] or {"total": None, "parts": []}]
                   for f in (row["total"], *row["parts"], then["total"], *then["parts"])
                   if f is not None]
        # A figure's value is a float column, as any figure is (`figure_frame`): the JSON
        # gives a whole one as an int (a count, or a sum of 32.0 minutes), which Polars
        # refuses in a list of structs beside a float ("found value of type Int64"); a whole
        # number past 2**53 keeps every digit.
        kind, values = figure_column("value", [f["value"] for f in figures])
        for figure_, value in zip(figures, values, strict=True):
            figure_["value"] = None if value is None else \
                float(value) if kind == pl.Float64 else value
        # The comparison window's difference is a figure too, typed by the same rule (it was
        # a float, and 9007199254740997 read 9007199254740996 where the JSON gives every
        # digit).
        thens = [row["comparison"] for row in rows if row["comparison"] is not None]
        apart, differences = figure_column("difference", [t["difference"] for t in thens])
        for then, value in zip(thens, differences, strict=True):
            then["difference"] = None if value is None else \
                float(value) if apart == pl.Float64 else value
        figure = pl.Struct({"kpi": pl.String, "title": pl.String, "value": kind,
                            "window": pl.String})
        return figure_frame(rows, {
            "id": pl.String, "title": pl.String, "kind": pl.String, "passed": pl.Boolean,
            "message": pl.String, "total": figure, "parts": pl.List(figure),
            "difference": pl.Float64,
            "comparison": pl.Struct({"total": figure, "parts": pl.List(figure),
                                     "difference": apart, "passed": pl.Boolean})})

    # -- the store -----------------------------------------------------------------------------

    @_one_reading
    def scan(self, dataset: str, as_of: str | int | AsOf | None = None) -> pl.LazyFrame:
        """The dataset's stored rows (now, or as of a version or moment), as a LazyFrame,
        with its derived columns after the stored ones, worked out as every KPI reads them
        (`catalogue.derive`): a KPI's `filter = "is_theft"` can be counted from it."""
        from kpi import store
        from kpi.catalogue import derive
        from kpi.engine import telling_apart

        project = self._catalogue()
        spec = store.dataset_spec(project, _text(dataset, "dataset"))
        if not store.exists(project, dataset):
            from kpi.errors import never_loaded

            raise never_loaded(dataset)
        return derive(store.scan(project, dataset, _as_of(as_of)), spec,
                      telling_apart(project, spec))

    @_one_reading
    def stored(self) -> list[dict[str, Any]]:
        """Each dataset: rows, first and last month, missing months and table version (what
        `kpi datasets --format json` prints); for a dataset loaded part by part
        (`replace_by`), `parts_missing`: each part's months never loaded (null for any
        other); `declaration_changed`: for a table stored under another declaration than
        kpi.toml's (whose every figure is refused), what changed, with its rows and version
        and no months; null for any other; `held_in_part`: the months it holds only in part,
        which no window counts (`engine.held_in_part`): each `month`, with `loaded` (ISO
        UTC), when its earliest file was written where its rows were loaded before the month
        ended, or `starts` and `ends` (ISO days), where its rows start after its first day or
        end before its last in a dataset whose other months run whole (`store.cut_short`),
        null where not so, and `part` ("force 'C'"), where only that part's rows run short
        in a dataset loaded part by part, else null; empty for none; `declared_whole`: the
        months kpi.toml declares whole as stored (`whole_months`) whose rows start late or end
        early, counted as their rows hold them: each `month`, `starts`, `ends` and `part` as
        above; empty for none; `rolls`: the months
        holding rolls taken at two or more dates and how the dataset's `as_at` reads them
        (`engine.rolls_held`): each `month`, its `dates` (how many days), its `last` day
        (ISO), `read`, "last" (`as_at = "last"` reads the last date's rows of each part),
        "thin" (`as_at = "last"`, refused: a last date holds under half the rows of an
        earlier one), "untold" (`as_at = "last"`, refused: a part missing from a later roll it
        shares is not proven gone from it) or "refused" (no `as_at`: a snapshot's figure
        reading the month is refused), and `read_days`, the days read (ISO; each part's
        last), empty for none."""
        from kpi import engine, store
        from kpi.periods import gaps

        project = self._catalogue()
        rows = []
        for spec in project.datasets.values():
            row: dict[str, Any] = {"dataset": spec.id, "rows": 0, "first": None, "last": None,
                                   "missing": [], "version": None, "parts_missing": None,
                                   "declaration_changed": None, "held_in_part": [],
                                   "declared_whole": [], "rolls": []}
            if store.exists(project, spec.id):
                try:
                    months = store.months(project, spec.id)
                    count = store.row_count(project, spec.id)
                except store.DeclarationChanged as exc:
                    # Listed with its rows and version, its months left out (they may be
                    # another date column's), and why every figure of it is refused.
                    row.update(rows=store.stored_row_count(project, spec.id),
                               version=store.current_version(project, spec.id),
                               declaration_changed=exc.reason)
                    rows.append(row)
                    continue
                row.update(rows=count, version=store.current_version(project, spec.id))
                # Listed as held, yet no window counts it: said, with when it was loaded.
                row["held_in_part"] = [
                    {"month": str(m), "loaded": why.loaded and why.loaded.isoformat(
                        timespec="seconds"),
                     "starts": why.start and why.start.isoformat(),
                     "ends": why.end and why.end.isoformat(), "part": why.part}
                    for m, why in sorted(engine.held_in_part(project, spec.id).items())]
                # Counted on kpi.toml's word (`whole_months`), beside what the rows show.
                row["declared_whole"] = [
                    {"month": str(m), "starts": why.start and why.start.isoformat(),
                     "ends": why.end and why.end.isoformat(), "part": why.part}
                    for m, why in sorted(engine.declared_whole(project, spec.id).items())]
                if months:
                    row.update(first=str(months[0]), last=str(months[-1]),
                               missing=[str(m) for m in gaps(months)])
                    # Rolls taken at several dates of a month, and how `as_at` reads them:
                    # said before a snapshot's figure is refused.
                    row["rolls"] = engine.rolls_held(project, spec.id)
            if spec.replace_by:
                # A month one part holds is no proof that every part's extract was loaded.
                row["parts_missing"] = [
                    {"part": label, "missing": [str(m) for m in missing]}
                    for label, missing in (engine.part_gaps(project, spec.id)
                                           if store.exists(project, spec.id) else [])]
            rows.append(row)
        return rows

    @_one_reading
    def datasets(self) -> pl.DataFrame:
        """`stored()` as a DataFrame, one row per dataset."""
        import polars as pl

        return pl.DataFrame(self.stored(), schema={
            "dataset": pl.String, "rows": pl.Int64, "first": pl.String, "last": pl.String,
            "missing": pl.List(pl.String), "version": pl.Int64,
            "parts_missing": pl.List(pl.Struct({"part": pl.String,
                                                "missing": pl.List(pl.String)})),
            "declaration_changed": pl.String,
            "held_in_part": pl.List(pl.Struct({"month": pl.String, "loaded": pl.String,
                                               "starts": pl.String, "ends": pl.String,
                                               "part": pl.String})),
            "declared_whole": pl.List(pl.Struct({"month": pl.String, "starts": pl.String,
                                                 "ends": pl.String, "part": pl.String})),
            "rolls": pl.List(pl.Struct({"month": pl.String, "dates": pl.Int64,
                                        "last": pl.String, "read": pl.String,
                                        "read_days": pl.List(pl.String)}))},
            orient="row")

    @_one_reading
    def history(self, dataset: str) -> pl.DataFrame:
        """One row per version of the dataset's table, oldest first: every field of `kpi
        history DATASET --format json` as a column: version, time (ISO text, UTC), operation,
        rows, rejected, months (a list), sources (a list of structs of each source's fields,
        null where one does not apply), replaced (a list of structs of each month, or month and
        part, the load replaced: key, before, after), quarantine, and time_zones (a list of
        structs of column and zone, each datetime column's zone its times without an offset
        were read in; null where the version records none). A dataset never loaded is the
        DataError `kpi history` exits 3 with."""
        import polars as pl

        source = pl.Struct({"file": pl.String, "sha256": pl.String, "bytes": pl.Int64,
                            "rows": pl.Int64, "rejected": pl.Int64, "sheet": pl.String,
                            "query": pl.String, "query_file": pl.String,
                            "query_sha256": pl.String, "uri_env": pl.String})
        replaced = pl.Struct({"key": pl.String, "before": pl.Int64, "after": pl.Int64})
        zone = pl.Struct({"column": pl.String, "zone": pl.String})
        rows = [entry | {"time_zones": None if entry["time_zones"] is None else [
                    {"column": column, "zone": name}
                    for column, name in entry["time_zones"].items()]}
                for entry in history_json(self._catalogue(), _text(dataset, "dataset"))]
        schema = {"version": pl.Int64, "time": pl.String,
                  "operation": pl.String, "rows": pl.Int64, "rejected": pl.Int64,
                  "months": pl.List(pl.String), "sources": pl.List(source),
                  "replaced": pl.List(replaced), "quarantine": pl.String,
                  "time_zones": pl.List(zone)}
        assert not rows or list(rows[0]) == list(schema), "history_json and its columns agree"
        return pl.DataFrame(rows, schema=schema, orient="row")

    def ingest(self, dataset: str,
               files: Iterable[str | bytes | os.PathLike[str] | os.PathLike[bytes]] | str | bytes
               | os.PathLike[str] | os.PathLike[bytes] | None = None, *,
               skip_bad_rows: bool = False,
               quarantine: str | bytes | os.PathLike[str] | os.PathLike[bytes] | None = None,
               parts: bool = False, allow_shrink: bool = False, sheet: str | None = None,
               from_source: bool = False, progress: Progress | None = None) -> LoadResult:
        """Load extracts (paths or globs, as str, bytes or path objects, a bytes path decoded
        as the command line's arguments are: one, or any iterable of them; left out (None),
        the dataset's sources), or with `from_source` the rows of the dataset's database
        query, into a dataset, replacing the months they cover, atomically: `kpi ingest`.
        `progress`, a callable, is given a `kpi.progress.Step` as each file's bytes and rows
        are read and the rows written."""
        from kpi.errors import asked_by
        from kpi.ingest import load
        from kpi.store import reading_now

        # Its refusals name this method's arguments (`parts=True`), the command's its options.
        with asked_by("python"), reading_now():
            return load(self._catalogue(), _text(dataset, "dataset"), _files(files),
                        skip_bad_rows=skip_bad_rows,
                        quarantine=(Path(_path_text(quarantine, "quarantine"))
                                    if quarantine is not None else None),
                        parts=parts, allow_shrink=allow_shrink, sheet=sheet,
                        from_source=from_source, progress=progress)

    # -- the board paper -----------------------------------------------------------------------

    @_one_reading
    def paper(self, period: str | Month, fmt: str | PaperFormat,
              output: str | bytes | os.PathLike[str] | os.PathLike[bytes],
              vs: str | Comparison | None = None, *,
              priority: str | None = None, as_of: str | int | AsOf | None = None,
              commentary: str | bytes | os.PathLike[str] | os.PathLike[bytes] | None = None,
              previous: str | bytes | os.PathLike[str] | os.PathLike[bytes] | None = None,
              template: str | bytes | os.PathLike[str] | os.PathLike[bytes] | None = None,
              final: bool = False,
              full: bool = False, progress: Progress | None = None) -> Paper:
        """Write the board paper (markdown, docx or html) to `output`, its charts in a folder
        beside it and its figures file: `kpi export FORMAT`. A Word paper has [commentary]
        places to type in (`kpi commentary import` reads them back) unless `final`. `full`
        writes the complete paper (`--full`) instead of the board's. `progress`, a callable,
        is given a `kpi.progress.Step` as the KPIs are computed, each chart is drawn and
        each section written."""
        try:
            form = PaperFormat(str(fmt).lower())
        except ValueError:
            raise UsageError(f"unknown paper format '{fmt}'",
                             hint="one of: " + ", ".join(f.value for f in PaperFormat)) from None
        def path(value: Any, argument: str) -> Path | None:
            return None if value is None else Path(_path_text(value, argument))

        project = self._catalogue()
        return _write_paper(project, form, _month(period),
                           Path(_path_text(output, "output")), _comparison(vs, project),
                           priority=priority, as_of=as_of,
                           commentary=path(commentary, "commentary"),
                           previous=path(previous, "previous"),
                           template=path(template, "template"),
                           final=final, full=full, progress=progress)


def _files(files: Any) -> list[str] | None:
    """The files `Project.ingest` is given, as `kpi ingest`'s arguments: None (left out) is
    the dataset's sources; one path is one file, not a sequence of its characters (or
    bytes); any other iterable (a list, a tuple, a generator, a NumPy array or a Polars
    Series of paths) is read once, each item a path. An empty one, the glob of tonight's
    extracts that matched nothing, is refused as `kpi ingest` refuses a glob matching
    nothing (exit 2): taken for None, it loaded every declared source again and undid the
    corrections loaded since (September's 124 crimes read 120 again). A NumPy array's or a
    Series' own truth value was a raw ValueError or TypeError."""
    if files is None:
        return None
    if isinstance(files, (str, bytes, os.PathLike)):
        files = [files]
    try:
        items = iter(files)
    except TypeError:
        items = iter([files])  # refused as the path it is not, naming the argument
    named = [_path_text(f, "files") for f in items]
    if not named:
        raise UsageError("files names no file (a glob that matched nothing gives an empty "
                         "list)",
                         hint="name at least one file, or leave files out (None) to load the "
                              "dataset's sources")
    return named


def _path_text(path: Any, argument: str) -> str:
    """A path argument as text: a str, bytes or os.PathLike decoded as os.fsdecode does (the
    file system's encoding, with surrogateescape), which is how the command line's own
    arguments reach `kpi ingest`, so a bytes path loads what the same name typed there
    loads; anything else is refused naming the argument."""
    try:
        return os.fsdecode(path)
    except TypeError:
        raise UsageError(f"{argument} should be a path (str, bytes or os.PathLike) or a list of "
                         f"them, not {type(path).__name__} {path!r}"[:200]) from None


# The fields of each source of a version in `kpi history --format json`: a file read (bytes,
# and the sheet of a workbook) or a database source's query (query, query_file, query_sha256,
# uri_env; sha256 of the rows it returned); null where one does not apply.
SOURCE_FIELDS = ("file", "sha256", "bytes", "rows", "rejected", "sheet", "query", "query_file",
                 "query_sha256", "uri_env")


def history_json(project: catalogue.Project, dataset: str) -> list[dict[str, Any]]:
    """Every version of a dataset's table, oldest first, as `kpi history --format json` gives
    it (docs/json.md), and the rows of `Project.history()`."""
    from kpi import store

    store.dataset_spec(project, dataset)
    return [{
        # To the millisecond, as Delta's log holds it: given back as `--as-of`, a time cut
        # to the second was before its own commit and read the version before it.
        "version": v.version, "time": v.timestamp.isoformat(timespec="milliseconds"),
        "operation": v.provenance.get("operation", v.operation.lower()), "rows": v.rows,
        "rejected": v.provenance.get("rejected"), "months": v.months,
        "sources": [{key: _named(value) if key in ("file", "query_file") else value
                     for key, value in ({k: s.get(k) for k in SOURCE_FIELDS} | s).items()}
                    for s in v.sources],
        "replaced": v.provenance.get("replaced", []),
        "quarantine": _named(v.provenance.get("quarantine")),
        # The zone each datetime column's times without an offset were read in, where the
        # dataset has such columns (loads since time_zone, and upgrades); null otherwise.
        "time_zones": v.provenance.get("time_zones"),
    } for v in store.history(project, dataset)]


def _named(name: Any) -> Any:
    """A file name as the history shows it: a name that is not UTF-8 (a byte the file system
    gave, held as Python holds such a name, a lone surrogate) with that byte written
    `\\xe9`, so the JSON is UTF-8 and a DataFrame can hold it (Polars refused the name with a
    UnicodeEncodeError, and the JSON carried the raw byte); any other name as it is."""
    if not isinstance(name, str):
        return name
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def summary_json(summary: Summary) -> dict[str, Any]:
    """The document of `kpi summary --format json` (docs/json.md), as Python values."""
    import json

    from kpi import render

    return json.loads(render.report_json(summary.report, summary.project, summary.titles,
                                         summary.verdicts))


def comparison_frame(result: PeerComparison) -> pl.DataFrame:
    """One row per KPI and part: the columns of `kpi compare --format csv`."""
    from kpi.compare import ROW_COLUMNS, comparison_rows
    from kpi.engine import figure_frame

    return figure_frame(comparison_rows(result), _compare_schema(ROW_COLUMNS))


def comparison_about(project: str, result: PeerComparison,
                     as_of: str | None = None) -> list[tuple[str, Any]]:
    """What was asked of `kpi compare`, for the header block of a workbook."""
    windows = [k.current.label for k in result.kpis if k.current is not None]
    before = [k.comparison.label for k in result.kpis if k.comparison is not None]
    return _about(project, result.period, result.vs, result.versions, as_of, [
        ("By", result.by), ("Focus", result.focus),
        ("Peer group", result.peers.title if result.peers else None),
        ("Current window", _most(windows)), ("Comparison window", _most(before))])


def _about(project: str, period: Month, vs: Comparison, versions: dict[str, int],
           as_of: str | None, more: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    from kpi import __version__

    rows: list[tuple[str, Any]] = [("Project", project), ("Period", str(period)),
                                   ("Compared with", vs.value), *more,
                                   ("Data versions", ", ".join(
                                       f"{d} {v}" for d, v in sorted(versions.items())))]
    if as_of:
        rows.append(("As of", as_of))
    rows.append(("Made by", f"kpi {__version__}"))
    return rows


def _most(labels: list[str]) -> str | None:
    """The label most rows share, said to be so when some rows have their own."""
    if not labels:
        return None
    common = max(dict.fromkeys(labels), key=labels.count)
    return common if labels.count(common) == len(labels) else \
        f"{common} (most rows; each row gives its own)"


def _shared(results: Sequence[KpiResult], role: str) -> str | None:
    return _most([getattr(r, role).window.label for r in results
                  if getattr(r, role) is not None])


def _compare_schema(columns: Sequence[str]) -> dict[str, Any]:
    import polars as pl

    types = {"focus": pl.Boolean, "rank": pl.Int64, "vs_rest_significant": pl.Boolean,
             "vs_focus_significant": pl.Boolean, "vs_rest_tests": pl.Int64,
             "vs_focus_tests": pl.Int64, "population_illustrative": pl.Boolean,
             "change_vs_rest_significant": pl.Boolean, "change_vs_rest_tests": pl.Int64}
    text = {"kpi", "title", "unit", "unit_label", "better", "part", "ranked_on",
            "comparison_start", "comparison_end", "current_start", "current_end", "status",
            "note", "change_note", "population_source"}
    types["notes"] = pl.List(pl.String)
    types["covers"] = covers_type()
    return {c: types.get(c, pl.String if c in text else pl.Float64) for c in columns}


def require_parts(project: catalogue.Project, result: PeerComparison) -> None:
    """A comparison in which no KPI has any part is a data error, not empty tables: with
    `--peers`, where no member of the group (nor the focus) holds rows in the months read, the
    refusal says so (a KPI's note, "rows with a blank 'lpa' are not compared", would not be
    why); else why no KPI has data."""
    from kpi.checks import no_data_for
    from kpi.errors import DataError, spelled

    if any(k.parts for k in result.kpis):
        return
    group = result.peers
    # compare.compare names every member the months read hold no rows of in one note, and
    # keeps the focus only where the data holds it.
    if group is not None and result.focus is None and (
            f"the data holds no rows for {', '.join(group.members)} of peer group "
            f"'{group.id}'") in result.notes:
        raise DataError(
            f"no member of peer group '{group.id}' ({', '.join(group.members)}) has rows by "
            f"'{result.by}' in the months compared for {result.period}",
            hint=spelled(f"'kpi compare --by {result.by}' (without --peers)",
                         f"project.compare('{result.period}', {result.by!r}) (without peers)")
            + f" lists the parts the data holds; spell the members of [peers.{group.id}] in "
              "kpi.toml as it does")
    raise no_data_for(project, result.period, [(k.kpi, k.note) for k in result.kpis],
                      by=result.by)


def _trend(project: catalogue.Project, kpi: KpiDef, month: Month, comparison: Comparison,
           months: int, cutoff: AsOf | None, span: int = 0
           ) -> tuple[Report, Month | None, pl.DataFrame | None]:
    """The KPI's report for the period (its monthly components over at least `span` months
    read in the same pass), where its trend ends, and the trend of `months` months: the one
    `kpi show` draws and `Project.series` returns, so the two cannot differ. It ends where the
    current window does; when that window is incomplete, at the latest month the data holds,
    so the gap itself is visible. A live KPI with no data on or before the period is a
    DataError."""
    from kpi import engine
    from kpi.catalogue import Status

    # A rolling year reads 11 months before the trend's first point (a rate of two KPIs
    # divides their rolling years, read over the same months).
    span = max(months + 11, span)
    report = engine.evaluate(project, month, comparison, [kpi], as_of=cutoff, series=span)
    result = report.results[0]
    end = (result.current.window.end if result.current is not None
           else engine.latest_month(project, kpi, month, cutoff)
           if kpi.status == Status.LIVE else None)
    if kpi.status == Status.LIVE and end is None:
        _require_data(result, month)
    if end is None:
        return report, None, None
    return report, end, engine.monthly_series_all(project, [(kpi, end, months)], cutoff,
                                                  report=report)[(kpi.id, end, months)]


def check_json(result: CheckResult) -> dict[str, Any]:
    """One check as `kpi check --format json` gives it (docs/json.md), and a row of
    `Project.checks()`."""
    def figure(part: CheckPart | None) -> dict[str, Any] | None:
        if part is None:
            return None
        return {"kpi": part.kpi, "title": part.title, "value": part.value,
                "window": part.window}

    then = result.comparison
    return {"id": result.id, "title": result.title, "kind": result.kind,
            "passed": result.passed, "message": result.message, "total": figure(result.total),
            "parts": [figure(part) for part in result.parts], "difference": result.difference,
            "comparison": None if then is None else {
                "total": figure(then.total), "parts": [figure(part) for part in then.parts],
                "difference": then.difference, "passed": then.passed}}


def _require_data(result: KpiResult, month: Month) -> None:
    """A live KPI with no month of data on or before the period is a data error (exit 3), as
    `kpi summary` refuses a period no KPI has data for: a definition and blanks are no
    answer."""
    from kpi.engine import Outcome
    from kpi.errors import no_data

    if result.status == Outcome.NO_DATA and result.current is None:
        raise no_data(month, result.note or "no rows", kpi=result.kpi.id)


def _require_some_data(project: catalogue.Project, report: Report, month: Month) -> None:
    """A period for which no live KPI has data is a data error, not a table of blanks
    (kpi.checks.require_some_data, which `kpi check` shares)."""
    from kpi.checks import require_some_data

    require_some_data(project, report, month)


def _text(value: Any, argument: str, *, optional: bool = False) -> Any:
    """A text argument as given (None only where it may be left out), or a UsageError naming
    it: a KPI id, dataset, `by`, `peers`, `focus` or `priority` given as a number, a list or
    None was an AttributeError or a Polars TypeError from deep inside ('int' object has no
    attribute 'lower')."""
    if not isinstance(value, str) and not (optional and value is None):
        raise UsageError(f"{argument} should be text (a str), not {value!r}")
    return value


def _month(period: str | Month) -> Month:
    from kpi.periods import Month

    return period if isinstance(period, Month) else Month.typed(period)


def _comparison(vs: str | Comparison | None, project: catalogue.Project) -> Comparison:
    """The comparison asked for; None (not given) is the project's kpi.toml `[defaults] vs`,
    else the baseline, as `--vs` left out is on the command line: `project.summary(PERIOD)`
    of a project read year on year was compared with the baseline where `kpi summary
    --period PERIOD` compared it with the year before."""
    from kpi.periods import Comparison

    if vs is None:
        vs = project.defaults.get("vs", Comparison.BASELINE.value)
    try:
        return Comparison(str(vs).lower())
    except ValueError:
        raise UsageError(f"invalid comparison '{vs}'",
                         hint="one of: " + ", ".join(c.value for c in Comparison)) from None


def _months(months: object) -> int:
    """A trend's number of months (`detail`, `series`): a whole number of at least 1 and at
    most `kpi show --months`' most (`periods.TREND_MAX_MONTHS`), given as a number
    (`months=-3` gave a trend of five months, `months="12"` a TypeError, `months=10**20` ran
    on), a NumPy integer too (a frame's cell)."""
    from kpi.periods import TREND_MAX_MONTHS

    if not _whole(months) or not 1 <= int(months) <= TREND_MAX_MONTHS:  # type: ignore[call-overload]
        raise UsageError(f"months should be a whole number of at least 1 and at most "
                         f"{TREND_MAX_MONTHS}, not {months!r}")
    return int(months)  # type: ignore[call-overload]


def _whole(value: object) -> bool:
    """A whole number given as a number: an int or a NumPy integer (numbers.Integral), never a
    bool."""
    import numbers

    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _as_of(as_of: str | int | AsOf | None) -> AsOf | None:
    from kpi.store import AsOf

    if as_of is None or isinstance(as_of, AsOf):
        return as_of
    if isinstance(as_of, bool):
        raise UsageError(f"invalid as_of {as_of!r}: a version number or an ISO date or time")
    if _whole(as_of) and int(as_of) >= 0:  # a number, not text: a version, never a date
        return AsOf(version=int(as_of), text=str(int(as_of)))
    return AsOf.parse(str(as_of))


def _write_paper(project: catalogue.Project, fmt: PaperFormat, month: Month, output: Path,
                 vs: Comparison, *, priority: str | None, as_of: str | int | AsOf | None,
                 commentary: Path | None, previous: Path | None,
                 template: Path | None, final: bool = False, full: bool = False,
                 progress: Progress | None = None) -> Paper:
    from kpi import board, charts, paper, revisions
    from kpi import commentary as commentaries
    from kpi.cache import CACHE_FOLDER
    from kpi.maintenance import record_published
    from kpi.outputs import check_target, staged

    cutoff = _as_of(as_of)
    as_of_text = None if as_of is None else str(as_of)
    output = check_paper_output(fmt, output, template)
    files_dir = f"{output.stem}-files"
    # The paper, its figures file and its figures folder: none may land in the data folder or
    # on a file the project or this export reads (kpi.outputs.check_target).
    reads = tuple(p for p in (commentary, previous, template) if p is not None)
    named = option("--output")
    check_target(output, named, project, reads)
    check_target(revisions.figures_path(output), f"the figures file of {named}", project, reads)
    check_target(output.parent / files_dir, f"the figures folder of {named}", project, reads,
                 folder=True)
    if priority:
        require_priority(project, _text(priority, "priority", optional=True))
    notes = commentaries.load(project, month, commentary)
    last = revisions.load(previous, project, month) if previous is not None else None
    # Every figure the paper prints or draws, computed once; the document and the charts are
    # drawn from it and read no data.
    model = board.build(project, month, vs, priority=priority, as_of=cutoff, last=last,
                        full=full, progress=progress)
    report = model.report
    _require_some_data(project, report, month)  # as `kpi summary`: no paper of blanks, exit 0
    built = paper.build_paper(model, files_dir=files_dir, as_of_text=as_of_text,
                              commentary=notes)
    output.parent.mkdir(parents=True, exist_ok=True)
    # The paper and its figures are written to a staging folder and moved into place together
    # (kpi.outputs), so a reader never sees one paper's text with another's figures.
    with staged(output, files_dir) as staging:
        # The paper plans only figures with data: a KeyError here is a bug, not a mistake.
        jobs = [(model.figures[figure.spec.id], staging / figure.link)
                for figure in built.figures]
        # Charts drawn before from the same data are reused (the cache folder, beside the
        # answers kpi.cache keeps); KPI_NO_CACHE draws every one.
        cache = None if os.environ.get("KPI_NO_CACHE") else \
            project.data_dir / CACHE_FOLDER / "charts"
        charts.write_pngs(jobs, workers=None, cache=cache, progress=progress)
        content: bytes
        if fmt == PaperFormat.MARKDOWN:
            from kpi.writers import markdown as markdown_writer

            content = markdown_writer.write(built.document, progress).encode("utf-8")
        elif fmt == PaperFormat.HTML:
            from kpi.writers import html as html_writer

            content = html_writer.write(built.document, staging, progress).encode("utf-8")
        else:
            from kpi.writers import docx as docx_writer

            content = docx_writer.write(built.document, staging, template, places=not final,
                                        progress=progress)
        if fmt != PaperFormat.MARKDOWN:
            _drop_embedded(staging / files_dir, output)
        (staging / output.name).write_bytes(content)
    figures_file = revisions.figures_path(output)
    _write_atomic(figures_file, revisions.dumps(project, report, priority, as_of_text,
                                                built.quoted, built.parts, built.cases))
    # The versions a paper read are kept readable by 'kpi vacuum', so its --as-of reproduces it.
    record_published(project, report.versions, paper=str(output), period=str(month))
    return Paper(output, figures_file, len(built.figures),
                 output.parent / files_dir if fmt == PaperFormat.MARKDOWN else None)


def _drop_embedded(drawn: Path, output: Path) -> None:
    """A Word or HTML paper embeds its figures, so the PNGs drawn for it are not left beside
    it, and an earlier export's figures folder goes with the publish (kpi.outputs; files the
    user keeps there stay). The figures of a Markdown paper of the same name beside it (board.md
    links board-files/ too) are kept for it."""
    import shutil

    from kpi.outputs import FIGURE

    shutil.rmtree(drawn, ignore_errors=True)
    kept = output.parent / drawn.name
    markdown = [output.with_suffix(s) for s in PAPER_SUFFIXES[PaperFormat.MARKDOWN]]
    if kept.is_dir() and any(p.is_file() for p in markdown):
        drawn.mkdir()
        for entry in sorted(kept.iterdir()):
            if FIGURE.match(entry.name) and entry.is_file():
                shutil.copy2(entry, drawn / entry.name, follow_symlinks=False)


def check_paper_output(fmt: PaperFormat, output: Path, template: Path | None = None) -> Path:
    """Refuse, before any work, a paper's output or template that cannot be right; returns
    the path to write (a link's target: a paper is written through a link)."""
    named = option("--output")
    if output.is_dir():
        raise UsageError(f"{named} '{output}' is a folder; it should name a file",
                         hint=f"for example {option('--output', output / 'out.txt')}")
    if output.suffix.lower() not in PAPER_SUFFIXES[fmt]:
        raise UsageError(f"{named} '{output}' should be {_PAPER_NAMES[fmt]} ending in "
                         f"{PAPER_SUFFIXES[fmt][0]}",
                         hint=f"for example {option('--output', _PAPER_EXAMPLES[fmt])}")
    if template is not None and not template.is_file():
        raise UsageError(f"{option('--template')} '{template}' is not a file",
                         hint="pass a Word .docx file whose styles the paper should use")
    output = output.resolve() if output.is_symlink() else output
    files_dir = output.parent / f"{output.stem}-files"
    if files_dir.exists() and not files_dir.is_dir():
        raise UsageError(f"{files_dir} is a file, where the paper's figures folder goes; not "
                         "touching it", hint=f"move it, or choose another {named} name")
    return output


def _write_atomic(path: Path, content: bytes) -> None:
    """Write a file by an atomic rename from a temporary file of its own, so two exports
    racing each leave a whole file. Under the folder's lock, as the paper is staged
    (`kpi.outputs.staged`): the temporary file a killed run left is cleared first, as the
    paper's staging folder is, where it stayed beside the paper for good."""
    import tempfile

    from kpi.locks import folder_locked
    from kpi.outputs import glob_escape

    with folder_locked(path.parent):
        for leftover in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
            leftover.unlink(missing_ok=True)  # from a run that was killed
        handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(content)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
