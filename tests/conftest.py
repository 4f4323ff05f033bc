"""Shared fixtures: an isolated cache for the bundled sample, and a CLI runner."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.testing
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

# A loaded machine is not a failure: no example has a deadline (a deadline is a timed
# assertion, and performance is measured by benchmarks, not tests). CI must not fail by chance
# either: there, property tests replay the same examples every run (locally they stay random,
# to keep finding new cases).
settings.register_profile("default", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")

# The bundled sample's store is built on first use; build it once per run, away from $HOME.
# Under pytest-xdist (`-n auto`, as the README runs the suite) each worker process has a cache
# folder of its own, so no test sees another worker's answers, charts or locks.
if not os.environ.get("KPI_CACHE_DIR"):
    os.environ["KPI_CACHE_DIR"] = tempfile.mkdtemp(prefix="kpi-test-cache-")
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["KPI_CACHE_DIR"] = os.path.join(os.environ["KPI_CACHE_DIR"],
                                               os.environ["PYTEST_XDIST_WORKER"])
    # xdist's workers are started with COLUMNS=80 and LINES=24, which kpi's piped output
    # honours (else 120 columns): tests running the command line would wrap where they do not
    # in one process, so the workers run in the environment the suite had.
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)
os.environ.pop("KPI_PROJECT", None)
os.environ.pop("KPI_FORMAT", None)
os.environ["NO_COLOR"] = "1"

# typer.testing's CliRunner builds the Click command from a Typer app at every invoke (about
# 11 ms for kpi's, thousands of times a run); kpi's is built once per process, as kpi.cli.main
# builds it (kpi.cli.command).
_typer_command = typer.testing._get_command


def _kpi_command(app):
    from kpi import cli

    return cli.command() if app is cli.app else _typer_command(app)


typer.testing._get_command = _kpi_command

REPO = Path(__file__).resolve().parent.parent
# Lines a test module wants in the run's summary (such as how many fuzz cases ran).
SUMMARY_LINES = pytest.StashKey[list[str]]()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for line in config.stash.get(SUMMARY_LINES, []):
        terminalreporter.write_line(line)


# Under pytest-xdist the summary is written by the controlling process: each worker hands its
# lines over when it finishes.
def pytest_sessionfinish(session):
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["kpi_summary_lines"] = session.config.stash.get(SUMMARY_LINES, [])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    lines = getattr(node, "workeroutput", {}).get("kpi_summary_lines", [])
    node.config.stash.setdefault(SUMMARY_LINES, []).extend(lines)

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# The longest modules, longest first, as measured: each module's time in a whole run under
# `--dist loadfile` (the sum of its tests' set-up, call and tear-down, `--durations=0`), which
# counts what a worker waits for (LibreOffice, Chromium, PostgreSQL) as well as its CPU.
# pytest-xdist hands each worker a whole module at a time; were these left to the end, one
# worker could still be running one while the other had nothing left, so they go first and
# the short modules fill in at the end. A module missing from the list runs after them in the
# usual order; a stale entry only costs that balance, never a test.
LONG_FIRST = (
    "test_faces.py", "test_ingest_bad_row_placement.py", "test_differential_oracle.py",
    "test_paper_formats.py", "test_one_pass.py", "test_properties.py",
    "test_hostile_ingest_fuzz.py", "test_readers_agree.py", "test_csv_parsers_agree.py",
    "test_excel_extracts.py", "test_sql_source.py", "test_hostile_atomic_loads.py",
    "test_engine_oracle.py", "test_metamorphic.py", "test_cli_hygiene.py", "test_cache.py",
    "test_hostile_os_errors.py", "test_invariants_store.py", "test_without_fcntl.py",
    "test_spc_oracle.py", "test_realdata_police_uk.py", "test_edges.py",
    "test_legacy_encodings.py", "test_pivot_layout.py", "test_hostile_inputs.py",
    "test_oracle_compare.py", "test_decimal_sums.py", "test_presets.py",
    "test_ingest_streaming.py", "test_declaration_drift.py", "test_time_zones.py",
    "test_realdata_compare.py", "test_west_midlands.py", "test_paper_standouts.py",
    "test_expression_hunt.py", "test_show.py", "test_exact_sums.py",
    "test_invariants_engine.py", "test_chart_layout.py", "test_paper.py", "test_checks.py",
    "test_read_once.py", "test_xlsx.py", "test_python_docs.py", "test_charts.py",
    "test_progress.py", "test_paper_read_again.py", "test_commentary_word.py",
    "test_hostile_hygiene.py", "test_significance_assumptions.py", "test_json_schemas.py",
    "test_hostile_history_as_of.py", "test_verdicts.py", "test_hostile_overlaps.py",
    "test_paper_as_printed.py", "test_python_face.py", "test_layers.py", "test_instants.py",
    "test_paper_police_uk.py", "test_numbers_as_written.py", "test_rate_of_kpis_windows.py",
    "test_render_plain.py", "test_quotients.py", "test_cli_coercion.py", "test_cli_errors.py",
    "test_compare.py", "test_dateparts.py", "test_rounding.py", "test_order_statistics.py",
    "test_summary_cli.py", "test_cron_script.py", "test_target_figures.py",
    "test_whole_numbers.py", "test_bundled.py", "test_hostile_catalogue.py", "test_install.py",
    "test_vacuum.py", "test_hostile_row_policy.py", "test_ingest_parsing.py",
    "test_revisions_hostile.py", "test_spc_reference.py", "test_breakdown_parts.py",
    "test_printed_numbers.py",
    "test_hostile_safe_outputs.py", "test_weights_file.py",
    # Modules of 5 to 9 s in a loaded run that had grown long outside the list (test_store.py
    # ran alone at the end, 6 s after the other worker had finished; later
    # test_ranked_columns.py and test_parts_agree.py, and test_declaration_drift.py and
    # test_pivot_layout.py placed above by their time): before the short ones.
    "test_change_beside_figures.py", "test_store.py", "test_limits_beside_target.py",
    "test_nightly_windows.py", "test_printed_together.py", "test_same_extracts_again.py",
    "test_ranked_columns.py", "test_parts_agree.py",
)


def pytest_configure(config):
    # pytest-xdist otherwise queues modules by their number of tests, which says little of
    # their length (the differential oracle is one test; test_stats.py's 62 take a second).
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection(session):
    """Under pytest-xdist every worker collects every module, and pytest rewrites each test
    module's assertions as it imports it (about 7 s of CPU for the suite's modules on this
    machine, more than the imports themselves), caching the rewritten code beside the module
    where Python may write bytecode. On a fresh checkout both workers would rewrite all of them
    at once; the second worker imports the suite's modules last first, so each rewrites about
    half and reads the other's from the cache. Only when the whole folder is collected and
    bytecode may be written; the modules and the order of the tests are the same."""
    if os.environ.get("PYTEST_XDIST_WORKER") != "gw1" or sys.dont_write_bytecode:
        return
    here = Path(__file__).resolve().parent
    if [Path(arg).resolve() for arg in session.config.args] != [here]:
        return
    import importlib

    for path in sorted(here.glob("test_*.py"), reverse=True):
        if path.stem in sys.modules:
            continue
        try:
            importlib.import_module(path.stem)
        except (Exception, pytest.skip.Exception):
            # Collection imports it again and reports what went wrong, as it would have.
            sys.modules.pop(path.stem, None)


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONG_FIRST)))



@pytest.fixture(scope="session", autouse=True)
def _sample_store_built_once(tmp_path_factory) -> None:
    """Under pytest-xdist, the bundled sample's store is built by the first worker to start
    and copied by the others into their own cache folders, where kpi would otherwise build it
    again from the same extracts on each worker's first use (about 4 s of CPU a worker).
    A copied Delta table is the table: its log names its files by relative paths. Each
    worker still has a store of its own, so no test reads or writes another's."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    import shutil

    from filelock import FileLock

    from kpi.catalogue import SAMPLE, load_project
    from kpi.ingest.commit import ensure_bundled_store

    project = load_project(SAMPLE)
    target = project.data_dir
    shared = tmp_path_factory.getbasetemp().parent / "sample-store-shared"
    shared.mkdir(exist_ok=True)
    built = shared / target.name
    with FileLock(str(shared / "store.lock")):
        if built.is_dir():
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copytree(built, target)
        else:
            ensure_bundled_store(project)
            shutil.copytree(target, shared / f".{target.name}.tmp")
            (shared / f".{target.name}.tmp").replace(built)


@pytest.fixture(scope="session")
def office_profile(tmp_path_factory) -> Path:
    """One LibreOffice user profile for every conversion a worker process runs (pass it as
    `-env:UserInstallation=`): a fresh profile is written out on LibreOffice's first start,
    about 0.5 s of waiting a conversion on a quiet machine and 1.5 to 2 s on a busy one, and
    nothing a conversion does changes how the next one reads, saves or prints. The tests of a
    worker run one after another, so no two conversions share it at once.
    (`test_excel_extracts.py` keeps its own, one of them set to recalculate on load.)"""
    return tmp_path_factory.mktemp("libreoffice-profile")


class SamplePaper:
    """The bundled sample's board paper for September 2025, each format exported on first
    use into one folder, as a user would (`kpi export markdown|html|docx --period 2025-09
    --output board.*`: board.md and its figures folder board-files/, board.html, board.docx,
    and their figures file board.figures.json), and the summary's JSON for the same period
    (`kpi summary --period 2025-09 --format json`, "summary"): `paper["docx"]` is the path
    of the Word paper. Under pytest-xdist each format is made by one worker and copied by the
    others (`shared`). They are the tests' to read only: before each export, and when the
    worker finishes, the folder's files and bytes are checked against those last written,
    so a test that changed them (what the next test reads) fails."""

    SUFFIXES = {"markdown": "md", "html": "html", "docx": "docx", "summary": "json"}

    def __init__(self, folder: Path, shared: Path | None = None):
        self.folder = folder
        self.shared = shared
        self.made: dict[str, Path] = {}
        self.written = self.contents()

    def contents(self) -> dict[str, str]:
        import hashlib

        return {str(p.relative_to(self.folder)): hashlib.sha256(p.read_bytes()).hexdigest()
                if p.is_file() else "folder" for p in sorted(self.folder.rglob("*"))}

    def check(self) -> None:
        assert self.contents() == self.written, \
            f"a test changed the sample's shared paper in {self.folder}"

    def __getitem__(self, name: str) -> Path:
        if name not in self.made:
            self.check()
            if self.shared is None:
                self.made[name] = self._make(name)
            else:
                self.made[name] = self._made_once(name)
            self.written = self.contents()
        return self.made[name]

    def _make(self, name: str) -> Path:
        from kpi.cli import app

        runner = CliRunner()
        if name == "summary":
            path = self.folder / "summary.json"
            result = runner.invoke(app, ["--project", "sample", "summary", "--period",
                                         "2025-09", "--format", "json"])
            assert result.exit_code == 0, result.output
            path.write_text(result.stdout, encoding="utf-8")
        else:
            path = self.folder / f"board.{self.SUFFIXES[name]}"
            result = runner.invoke(app, ["--project", "sample", "export", name,
                                         "--period", "2025-09", "--output", str(path)])
            assert result.exit_code == 0, result.output
        return path

    def _stats(self) -> dict[str, tuple[int, int]]:
        return {str(p.relative_to(self.folder)): (p.stat().st_mtime_ns, p.stat().st_size)
                for p in self.folder.rglob("*") if p.is_file()}

    def _made_once(self, name: str) -> Path:
        """Under pytest-xdist: the first worker to ask for a format makes it, as `_make`
        does, and leaves the files it wrote in the run's shared folder; every other worker
        copies them into its own folder. Each worker's bundled sample is built from the same
        extracts, and the paper is byte for byte the same from either
        (test_paper_formats.py's test_same_data_same_bytes exports again and compares)."""
        import json
        import shutil

        from filelock import FileLock

        manifest = self.shared / f"{name}.files.json"
        with FileLock(str(self.shared / f"{name}.lock")):
            if manifest.exists():
                for rel in json.loads(manifest.read_text(encoding="utf-8")):
                    (self.folder / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(self.shared / name / rel, self.folder / rel)
                return self.folder / ("summary.json" if name == "summary"
                                      else f"board.{self.SUFFIXES[name]}")
            before = self._stats()
            path = self._make(name)
            after = self._stats()
            # What the export wrote, and the figures file every format writes beside it.
            wrote = sorted(rel for rel, stat in after.items()
                           if before.get(rel) != stat or rel == "board.figures.json")
            for rel in wrote:
                (self.shared / name / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(self.folder / rel, self.shared / name / rel)
            manifest.with_suffix(".tmp").write_text(json.dumps(wrote), encoding="utf-8")
            manifest.with_suffix(".tmp").replace(manifest)
            return path


@pytest.fixture(scope="session")
def sample_paper(tmp_path_factory) -> Iterator[SamplePaper]:
    """The sample's paper and summary (`SamplePaper`), made once per run for every module
    that reads them: exporting the paper takes a few seconds of CPU a format, and nothing a
    reader does changes it. Each worker process reads its own copy; under pytest-xdist the
    first worker to ask for a format exports it and the others copy its files (the run's
    folder shared by the workers is the parent of each worker's base temporary folder)."""
    shared = None
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent / "sample-paper-shared"
        shared.mkdir(exist_ok=True)
    paper = SamplePaper(tmp_path_factory.mktemp("sample-paper"), shared)
    yield paper
    paper.check()


@pytest.fixture
def cli():
    """Run the CLI in-process: cli(["summary", "--period", "2025-09"]) -> result."""
    from kpi.catalogue import find_project_file
    from kpi.cli import app

    runner = CliRunner()

    def run(args: list[str], **kwargs):
        args = [str(a) for a in args]
        # Outside a project kpi uses the bundled sample only when asked (a CliRunner is no
        # terminal): a test that names no project and runs outside one asks for it, as a
        # user would with --project sample.
        explicit = (kwargs.get("env") or {}).get("KPI_PROJECT") or os.environ.get("KPI_PROJECT")
        if not explicit and not {"--project", "-p"} & {a.partition("=")[0] for a in args} \
                and find_project_file(None)[1]:
            args = ["--project", "sample", *args]
        return runner.invoke(app, args, **kwargs)

    return run
