"""The fast start: answers replayed from the cache, never stale, without importing Polars."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from inprocess import run

from kpi.store import table_version

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXTRACT = FIXTURES / "mini" / "extracts" / "crimes.csv"

# Runs the console script's entry point and reports, on stderr's last line, whether Polars
# was imported: the proof that an answer came from the cache.
PROBE = """
import sys
from kpi.entry import main
try:
    code = main(sys.argv[1:])
finally:
    sys.stderr.write("\\npolars imported: %s\\n" % ("polars" in sys.modules))
sys.exit(code)
"""


def _env(env_extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KPI_") or k == "KPI_CACHE_DIR"}
    env.update(env_extra or {})
    return env


def kpi(*args: object, env_extra: dict[str, str] | None = None) -> tuple[int, str, bool]:
    """(exit code, stdout, whether Polars was imported) of `kpi ARGS` in a fresh process."""
    env = _env(env_extra)
    # -P: the working folder (a checkout) is not put on sys.path, so the fresh process runs
    # the kpi this process imported (the installed one), whose source files the cache's key
    # includes; otherwise a checkout beside an installed kpi is another code, never replayed.
    done = subprocess.run([sys.executable, "-P", "-c", PROBE, *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=120)
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("polars imported: "), done.stderr
    return done.returncode, done.stdout, last.endswith("True")


def kpi_here(*args: object) -> tuple[int, str]:
    """(exit code, stdout) of `kpi ARGS` run in this process through the console script's
    entry, answer cache included (tests/inprocess.py): for a load, or a first answer that a
    fresh process then replays; only the replay's imports are the proof."""
    done = run(args, env=_env())
    return done.returncode, done.stdout


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cache") / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    code, _ = kpi_here("--project", root, "ingest", "crimes")
    assert code == 0
    return root


@pytest.fixture
def project(ingested, tmp_path) -> Path:
    """The mini project after `kpi ingest crimes`: ingested once, and copied for each test."""
    return shutil.copytree(ingested, tmp_path / "mini", symlinks=True)


def knife_count(payload: str) -> float:
    return next(k for k in json.loads(payload)["kpis"]
                if k["id"] == "knife_crime")["current"]["value"]


def test_repeated_question_is_answered_without_polars(project):
    args = ("--project", project, "summary", "--period", "2025-09", "--format", "json")
    first = kpi(*args)
    second = kpi(*args)
    assert first[2] is True  # computed
    assert second[2] is False  # replayed
    assert first[:2] == second[:2]
    assert knife_count(second[1]) == 95
    assert len(list((project / "data" / ".cache").glob("*.json"))) == 1


def test_exit_code_is_replayed(project):
    args = ("--project", project, "summary", "--period", "2025-09", "--fail-on",
            "any_deterioration", "-f", "csv")
    assert kpi_here(*args)[0] == 1
    code, out, imported = kpi(*args)
    assert (code, imported) == (1, False)
    assert out.startswith("id,title,priority")


def test_an_ingest_invalidates_the_cache(project, tmp_path):
    args = ("--project", project, "summary", "--period", "2025-09", "--format", "json")
    assert knife_count(kpi_here(*args)[1]) == 95
    # A revised re-extract of September 2025 without its knife crimes.
    with EXTRACT.open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["recorded"].endswith("/09/2025")]
    dropped = sum(r["offence"] == "knife" for r in rows)
    revised = tmp_path / "september.csv"
    with revised.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["offence"] != "knife")
    assert kpi_here("--project", project, "ingest", "crimes", revised)[0] == 0
    code, out, imported = kpi(*args)
    assert (code, imported) == (0, True)
    assert knife_count(out) == 95 - dropped
    assert dropped > 0


def test_an_edited_catalogue_invalidates_the_cache(project):
    args = ("--project", project, "summary", "--period", "2025-09", "--format", "json")
    assert knife_count(kpi_here(*args)[1]) == 95
    toml = project / "kpi.toml"
    toml.write_text(toml.read_text().replace("filter = \"offence = 'knife'\"",
                                             "filter = \"offence = 'knife' AND lpa = 'Dudley'\""))
    code, out, imported = kpi(*args)
    assert (code, imported) == (0, True)
    assert knife_count(out) == 41  # Dudley's share (see the LPA breakdown in test_show)


def test_environment_is_part_of_the_key(project):
    args = ("--project", project, "summary")  # the period comes from kpi.toml or KPI_PERIOD
    kpi_here(*args)
    code, out, imported = kpi(*args, env_extra={"KPI_PERIOD": "2025-06"})
    assert imported is True
    assert "period 2025-06" in out


def test_output_files_and_kpi_no_cache_bypass_the_cache(project, tmp_path):
    target = tmp_path / "out.txt"
    args = ("--project", project, "summary", "--period", "2025-09")
    kpi_here(*args)
    assert kpi(*args, "--output", target)[2] is True
    assert target.read_text().startswith("Mini force")
    assert kpi(*args, env_extra={"KPI_NO_CACHE": "1"})[2] is True
    assert kpi(*args)[2] is False


def test_errors_are_not_cached(project):
    args = ("--project", project, "show", "no_such_kpi", "--period", "2025-09")
    assert kpi_here(*args)[0] == 2
    assert kpi(*args)[2] is True


def test_table_version_reads_the_delta_log(tmp_path):
    log = tmp_path / "t" / "_delta_log"
    assert table_version(tmp_path / "t") is None
    log.mkdir(parents=True)
    for name in ("00000000000000000000.json", "00000000000000000002.json",
                 "00000000000000000002.checkpoint.parquet", "_last_checkpoint",
                 ".00000000000000000003.json.tmp"):
        (log / name).write_text("")
    assert table_version(tmp_path / "t") == 2


def test_table_version_agrees_with_deltalake(project):
    from kpi import store
    from kpi.catalogue import load_project

    loaded = load_project(project)
    assert table_version(project / "data" / "crimes") == store.current_version(loaded, "crimes")


def _extract_without_knives(tmp_path: Path) -> tuple[Path, int]:
    """The mini extract, every month, less its knife crimes; and how many were dropped."""
    with EXTRACT.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    revised = tmp_path / "no-knives.csv"
    with revised.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["offence"] != "knife")
    return revised, sum(r["offence"] == "knife" for r in rows)


def test_a_table_deleted_and_rebuilt_at_the_same_version_is_not_replayed(project, tmp_path):
    args = ("--project", project, "summary", "--period", "2025-09", "--format", "json")
    assert knife_count(kpi_here(*args)[1]) == 95
    assert table_version(project / "data" / "crimes") == 0
    shutil.rmtree(project / "data" / "crimes")
    revised, _ = _extract_without_knives(tmp_path)
    assert kpi_here("--project", project, "ingest", "crimes", revised)[0] == 0
    assert table_version(project / "data" / "crimes") == 0  # version 0 again
    code, out, imported = kpi(*args)
    assert (code, imported) == (0, True)
    assert knife_count(out) == 0


def test_a_data_folder_copied_from_another_project_is_not_replayed(project, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(FIXTURES / "mini", other)
    revised, _ = _extract_without_knives(tmp_path)
    assert kpi_here("--project", other, "ingest", "crimes", revised)[0] == 0
    args = ("--project", project, "summary", "--period", "2025-09", "--format", "json")
    assert knife_count(kpi_here(*args)[1]) == 95
    assert kpi(*args)[2] is False  # cached
    # The other project's table replaces this one's, at the same version; the cache stays.
    shutil.rmtree(project / "data" / "crimes")
    shutil.copytree(other / "data" / "crimes", project / "data" / "crimes")
    assert table_version(project / "data" / "crimes") == 0
    code, out, imported = kpi(*args)
    assert (code, imported) == (0, True)
    assert knife_count(out) == 0


WEIGHTED = """\
[datasets.c]
date = "day"
[datasets.c.columns]
day = "date"
offence = "str"
[[priorities]]
id = "p"
title = "P"
[[kpis]]
id = "harm"
title = "Harm"
priority = "p"
kind = "weighted_score"
dataset = "c"
weights = "reference/weights.csv"
weight_key = "offence"
"""


@pytest.mark.parametrize("named", ["reference/weights.csv", "reference\\weights.csv"])
def test_a_weights_file_replaced_by_one_of_the_same_size_and_time_is_not_replayed(tmp_path,
                                                                                  named):
    """Also where kpi.toml names it with a backslash, as copied from Windows (a folder
    separator on every system): the key read 'reference\\weights.csv' as a file's name, no
    file on Linux, and an edited weights file was answered from the cache, exit 0."""
    root = tmp_path / "weighted"
    (root / "reference").mkdir(parents=True)
    (root / "kpi.toml").write_text(WEIGHTED.replace('"reference/weights.csv"', f"'{named}'"),
                                   encoding="utf-8")
    weights = root / "reference" / "weights.csv"
    weights.write_text("offence,days\nrobbery,365\nburglary,40\n", encoding="utf-8")
    months = [f"{2023 + (3 + i) // 12}-{(3 + i) % 12 + 1:02d}" for i in range(30)]
    rows = "".join(f"{m}-0{d},{o}\n" for m in months for d, o in ((1, "robbery"), (2, "burglary")))
    (root / "c.csv").write_text("day,offence\n" + rows, encoding="utf-8")
    assert kpi_here("--project", root, "ingest", "c", root / "c.csv")[0] == 0
    args = ("--project", root, "summary", "--period", "2025-09", "--format", "json")

    def harm(out: str) -> float:
        return json.loads(out)["kpis"][0]["current"]["value"]

    assert harm(kpi_here(*args)[1]) == 12 * 405
    before = weights.stat()
    weights.write_text("offence,days\nrobbery,300\nburglary,99\n", encoding="utf-8")
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (weights.stat().st_size, weights.stat().st_mtime_ns) == (before.st_size,
                                                                     before.st_mtime_ns)
    code, out, imported = kpi(*args)
    assert (code, imported) == (0, True)
    assert harm(out) == 12 * 399


def test_a_project_reached_through_a_moved_link_is_not_answered_with_anothers_figures(
        project, tmp_path):
    """Project B shares A's kpi.toml (a link to it) and holds its own data; `cur` links to A,
    then to B. The key took the data folder beside the link's target (A's), so B's summary
    through `cur` was answered with A's figures, exit 0. By hand: B holds every row but the
    knife crimes of A, so its knife crime count is 0."""
    b = tmp_path / "B"
    b.mkdir()
    (b / "kpi.toml").symlink_to(project / "kpi.toml")
    extract, _ = _extract_without_knives(tmp_path)
    assert kpi_here("--project", b, "ingest", "crimes", extract)[0] == 0
    cur = tmp_path / "cur"
    cur.symlink_to(project)
    args = ("--project", cur, "summary", "--period", "2025-09", "--format", "json")
    assert knife_count(kpi_here(*args)[1]) == 95
    assert kpi(*args)[2] is False  # replayed: the link unchanged
    cur.unlink()
    cur.symlink_to(b)
    code, out, imported = kpi(*args)
    assert (code, imported) == (0, True)
    assert knife_count(out) == 0


def test_a_data_folder_named_with_a_backslash_is_the_one_answers_are_kept_in(tmp_path):
    """`data = 'store\\kpi'` (copied from Windows) is the folder store/kpi, to the catalogue
    and the key alike: the key took it as one folder of that name, none on Linux, so the data
    folder it named was never the project's and no answer was ever kept."""
    root = shutil.copytree(FIXTURES / "mini", tmp_path / "mini é")
    toml = root / "kpi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('data = "data"',
                                                             "data = 'store\\kpi'"),
                    encoding="utf-8")
    assert kpi_here("--project", root, "ingest", "crimes")[0] == 0
    args = ("--project", root, "summary", "--period", "2025-09", "--format", "json")
    assert knife_count(kpi_here(*args)[1]) == 95
    code, out, imported = kpi(*args)
    assert (code, imported) == (0, False) and knife_count(out) == 95
    assert len(list((root / "store" / "kpi" / ".cache").glob("*.json"))) == 1


def test_an_entry_kpi_did_not_write_is_asked_again(project):
    """An answer whose exit code is no whole number was replayed, then a traceback
    (`int(None)`), exit 1: an entry of any other shape is a miss."""
    args = ("--project", project, "summary", "--period", "2025-09", "--format", "json")
    assert knife_count(kpi_here(*args)[1]) == 95
    (entry,) = (project / "data" / ".cache").glob("*.json")
    stored = json.loads(entry.read_text(encoding="utf-8"))
    entry.write_text(json.dumps({**stored, "code": None}), encoding="utf-8")
    code, out, imported = kpi(*args)
    assert (code, imported) == (0, True) and knife_count(out) == 95


# Loads the project in a fresh process and says whether sqlglot (the expression checker) ran.
CATALOGUE_PROBE = """
import sys
from kpi.catalogue import load_project
from kpi.errors import ConfigError
try:
    project = load_project(sys.argv[1])
    print(len(project.kpis), project.kpi("total_crime").title)
except ConfigError as exc:
    print("error:", exc.message.splitlines()[0])
print("sqlglot imported:", "sqlglot" in sys.modules)
"""


def load_in_process(root: Path, cache: Path) -> list[str]:
    env = {**os.environ, "KPI_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, "-c", CATALOGUE_PROBE, str(root)],
                          capture_output=True, text=True, env=env, timeout=120, check=True)
    return done.stdout.strip().splitlines()


def test_validated_catalogue_is_reused_until_the_file_changes(tmp_path):
    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    cache = tmp_path / "user cache é"
    first = load_in_process(root, cache)
    assert first[1] == "sqlglot imported: True"
    again = load_in_process(root, cache)
    assert again == [first[0], "sqlglot imported: False"]
    # Any edit of the file is checked again: a bad expression is reported, never hidden.
    toml = root / "kpi.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('title = "Total recorded crime"',
                                 'title = "Total recorded crime"\nfilter = "offence = "',
                                 1), encoding="utf-8")
    broken = load_in_process(root, cache)
    assert broken[0].startswith("error:") and "filter" in broken[0], broken
    assert load_in_process(root, cache)[0] == broken[0]  # an invalid file is never cached
    toml.write_text(text.replace('"Total recorded crime"', '"All recorded crime"', 1),
                    encoding="utf-8")
    renamed = load_in_process(root, cache)
    assert renamed == [f"{first[0].split()[0]} All recorded crime", "sqlglot imported: True"]


def test_data_folder_made_a_link_outside_is_refused_with_a_cached_catalogue(tmp_path):
    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    cache = tmp_path / "cache"
    assert load_in_process(root, cache)[1] == "sqlglot imported: True"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "data").symlink_to(outside, target_is_directory=True)
    refused = load_in_process(root, cache)
    assert refused[0].startswith("error:") and "outside the project" in refused[0], refused


# Opens the bundled sample as `kpi summary --project sample` does (its store taken as built).
SAMPLE_PROBE = """
import sys
import kpi
from kpi import store
store.exists = lambda project, dataset: True
project = kpi.open("sample")
print(len(project.definition.kpis), "sqlglot imported:", "sqlglot" in sys.modules)
"""


def test_the_bundled_sample_is_opened_from_the_catalogue_cache(tmp_path):
    """The sample's catalogue is checked once, then read from the cache like any project's:
    opening it used to parse it again, importing sqlglot in every first answer."""
    env = {**os.environ, "KPI_CACHE_DIR": str(tmp_path / "cache")}

    def probe() -> str:
        return subprocess.run([sys.executable, "-c", SAMPLE_PROBE], capture_output=True,
                              text=True, env=env, cwd=tmp_path, timeout=120,
                              check=True).stdout.strip()

    first = probe()
    assert first.endswith("sqlglot imported: True")
    assert probe() == first.replace("True", "False")


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="file owners and modes are POSIX")
def test_a_catalogue_entry_others_could_have_written_is_not_read(tmp_path):
    """Reading a cached catalogue unpickles it, which can run code: an entry in a folder
    others may write to is ignored, and the file is checked again."""
    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    cache = tmp_path / "cache"
    assert load_in_process(root, cache)[1] == "sqlglot imported: True"
    assert load_in_process(root, cache)[1] == "sqlglot imported: False"
    (cache / "catalogues").chmod(0o777)
    assert load_in_process(root, cache)[1] == "sqlglot imported: True"


def _package(site: Path, name: str, *versions: str) -> None:
    (site / name).mkdir(parents=True)
    (site / name / "__init__.py").write_text("", encoding="utf-8")
    for version in versions:
        info = site / f"{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
                                       encoding="utf-8")


def test_the_catalogue_key_reads_each_librarys_installed_version(tmp_path, monkeypatch):
    """A validated catalogue is kept per version of Polars and sqlglot: each read from its
    `.dist-info` folder's name, as `importlib.metadata` reads it from the folder's METADATA,
    and read by the metadata where the folder's name cannot say (two versions' folders)."""
    from importlib.metadata import version

    from kpi.catalogue import _library_versions, installed_version

    assert _library_versions() == {"polars": version("polars"), "sqlglot": version("sqlglot")}
    site = tmp_path / "site é"
    _package(site, "kpi_probe_one", "1.2.3")
    _package(site, "kpi_probe_two", "2.0", "2.1")
    _package(site, "kpi_probe_none")
    # A package whose name begins another's: its folder is not taken for the other's.
    _package(site, "kpi_probe_one_extra", "9.9")
    monkeypatch.syspath_prepend(str(site))
    assert installed_version("kpi_probe_one") == "1.2.3" == version("kpi_probe_one")
    assert installed_version("kpi_probe_two") == version("kpi_probe_two")
    assert installed_version("kpi_probe_two") in {"2.0", "2.1"}
    assert installed_version("kpi_probe_none") is None
    assert installed_version("kpi_probe_absent") is None
