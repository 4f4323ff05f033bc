"""The Python face kept open while things change under it, as a notebook's project is: each
question is answered from kpi.toml, the reference files it names and the store as they stand
when it is asked, from one version of each table, and with the command line's words where it
refuses (docs/python.md, "A project kept open").

Every figure here is counted by hand on the tiny fixture (tests/fixtures/tiny): from October
2024 to September 2025 its incidents are, each month, one theft in Birmingham and one fraud in
Coventry, so a year of incidents is 24, 12 in each LPA.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import inprocess
import polars as pl
import pytest
from conftest import FIXTURES

import kpi
from kpi import store
from kpi.errors import ConfigError, DataError, KpiError, UsageError

PERIOD = "2025-09"

HARM = """
[[kpis]]
id = "harm"
title = "Harm"
priority = "community"
kind = "weighted_score"
dataset = "incidents"
weights = "reference/weights.csv"
weight_key = "type"
better = "lower"
"""


def _project(tmp_path: Path) -> Path:
    """The tiny fixture with a weighted score, populations of its LPAs and its incidents
    loaded."""
    root = tmp_path / "tiny project é"
    shutil.copytree(FIXTURES / "tiny", root)
    (root / "reference").mkdir()
    (root / "reference" / "weights.csv").write_text("type,days\ntheft,10\nfraud,1\n")
    (root / "reference" / "lpas.csv").write_text(
        "lpa,population,year\nBirmingham,1000,2024\nCoventry,2000,2024\n")
    text = (root / "kpi.toml").read_text()
    text = text.replace("[[priorities]]", '[population_by]\nlpa = "reference/lpas.csv"\n\n'
                        "[[priorities]]", 1)
    (root / "kpi.toml").write_text(text + HARM)
    result = inprocess.run(["--project", root, "ingest", "incidents",
                            root / "extracts" / "incidents.csv"])
    assert result.returncode == 0, result.stderr
    return root


def _september(root: Path) -> Path:
    """A revised September 2025: seven thefts in Birmingham where two incidents were."""
    revised = root / "extracts" / "september.csv"
    revised.write_text("Date,LPA,Type,Minutes\n" + "".join(
        f"2025-09-{day:02d},Birmingham,theft,10\n" for day in range(1, 8)))
    return revised


def _with_peers(root: Path, *members: str) -> Path:
    """The project with a peer group 'cities' of LPAs."""
    toml = root / "kpi.toml"
    listed = ", ".join(f'"{m}"' for m in members)
    toml.write_text(toml.read_text().replace(
        "[[priorities]]", f'[peers.cities]\ntitle = "cities"\ncolumn = "lpa"\n'
        f'members = [{listed}]\n\n[[priorities]]', 1))
    return root


def _value(frame: pl.DataFrame, kpi_id: str, column: str = "current_value"):
    return frame.filter(pl.col("id") == kpi_id)[column].item()


def _cli_value(root: Path, kpi_id: str) -> float:
    result = inprocess.run(["--project", root, "summary", "--period", PERIOD, "--format",
                            "json"], env={"KPI_NO_CACHE": "1"})
    assert result.returncode == 0, result.stderr
    return next(k["current"]["value"] for k in json.loads(result.stdout)["kpis"]
                if k["id"] == kpi_id)


def test_an_edited_weights_file_is_read_again(tmp_path):
    """The weights file was kept by its path for the life of the process: a notebook went on
    answering 132 after the file gave theft 100 days, where `kpi summary` said 1,212."""
    root = _project(tmp_path)
    project = kpi.open(root)
    assert _value(project.summary(PERIOD), "harm") == 12 * (10 + 1)
    (root / "reference" / "weights.csv").write_text("type,days\ntheft,100\nfraud,1\n")
    assert _value(project.summary(PERIOD), "harm") == 12 * (100 + 1) == _cli_value(root, "harm")
    assert _value(kpi.open(root).summary(PERIOD), "harm") == 1212
    (root / "reference" / "weights.csv").write_text("type,days\ntheft,100\ntheft,1\n")
    with pytest.raises(ConfigError, match="row 3, column 'type': found 'theft' again"):
        project.summary(PERIOD)


def test_an_edited_population_file_is_read_again(tmp_path):
    """Likewise the populations of `[population_by]`: Coventry's rate per 1,000 stayed 6.0
    after its population was doubled."""
    root = _project(tmp_path)
    project = kpi.open(root)

    def per_1000():
        frame = project.compare(PERIOD, by="lpa", kpis=["incidents"])
        return dict(frame.select("part", "per_1000").iter_rows())

    assert per_1000() == {"Birmingham": 12.0, "Coventry": 6.0}
    (root / "reference" / "lpas.csv").write_text(
        "lpa,population,year\nBirmingham,1000,2024\nCoventry,4000,2024\n")
    assert per_1000() == {"Birmingham": 12.0, "Coventry": 3.0}


def test_a_project_opened_by_a_relative_path_stays_itself_when_the_folder_changes(
        tmp_path, monkeypatch):
    """`kpi.open(".")` kept kpi.toml by its relative path: after `%cd` to another project the
    same object answered with that project's kpi.toml and data (another's 60 crimes for its
    24), or, where the two kpi.toml were alike, with its own rows weighed by the other
    folder's weights file and divided by its populations. It is held by its absolute path:
    the weights (24 incidents, 12 thefts of 10 days and 12 frauds of 1: 132) and the rates
    per 1,000 (12 of 1,000 and 12 of 2,000) are its own wherever the notebook stands."""
    root = _project(tmp_path)
    other = tmp_path / "other"
    shutil.copytree(root, other)
    (other / "reference" / "weights.csv").write_text("type,days\ntheft,1\nfraud,1\n")
    (other / "reference" / "lpas.csv").write_text(
        "lpa,population,year\nBirmingham,10,2024\nCoventry,10,2024\n")
    monkeypatch.chdir(root)
    project = kpi.open(".")
    for folder in (root, other, tmp_path):
        monkeypatch.chdir(folder)
        assert _value(project.summary(PERIOD), "harm") == 132
        frame = project.compare(PERIOD, by="lpa", kpis=["incidents"])
        assert dict(frame.select("part", "per_1000").iter_rows()) == {
            "Birmingham": 12.0, "Coventry": 6.0}
        assert project.path == root / "kpi.toml"


def test_a_kpi_named_twice_is_compared_once(tmp_path):
    """`kpis=["incidents", "incidents"]` (and `kpi compare --kpi x --kpi x`) stopped on a
    query error naming a column twice, with a hint to check the KPI expressions."""
    project = kpi.open(_project(tmp_path))
    twice = project.compare(PERIOD, by="lpa", kpis=["incidents", "incidents"])
    once = project.compare(PERIOD, by="lpa", kpis=["incidents"])
    assert twice.equals(once) and dict(once.select("part", "current_value").iter_rows()) == {
        "Birmingham": 12, "Coventry": 12}


def test_an_edited_kpi_toml_is_read_again(tmp_path):
    """The project object held the catalogue it was opened with: a KPI's filter edited in
    kpi.toml changed `kpi summary` and not the notebook. An edit that breaks the file is the
    command line's ConfigError; mended, the project answers again."""
    root = _project(tmp_path)
    project = kpi.open(root)
    assert _value(project.summary(PERIOD), "incidents") == 24
    toml = root / "kpi.toml"
    original = toml.read_text()
    toml.write_text(original.replace('dataset = "incidents"\nbetter = "lower"\nbreakdowns',
                                     'dataset = "incidents"\nfilter = "lpa = \'Birmingham\'"\n'
                                     'better = "lower"\nbreakdowns', 1))
    assert _value(project.summary(PERIOD), "incidents") == 12 == _cli_value(root, "incidents")
    assert project.definition.kpi("incidents").filter == "lpa = 'Birmingham'"
    toml.write_text(original.replace('kind = "count"', 'kind = "tally"', 1))
    with pytest.raises(ConfigError) as refused:
        project.summary(PERIOD)
    cli = inprocess.run(["--project", root, "summary", "--period", PERIOD])
    assert cli.returncode == 3 and f"Error: {refused.value.message}" in cli.stderr
    toml.write_text(original)
    assert _value(project.summary(PERIOD), "incidents") == 24
    toml.unlink()
    with pytest.raises(ConfigError, match="cannot read the project file"):
        project.kpi_ids  # noqa: B018
    assert repr(project) == f"<kpi project 'Tiny force' at {toml}>"


def _versions(table: Path) -> int:
    """How many versions a table's log holds (its commit files)."""
    return len(list((table / "_delta_log").glob("*.json")))


def _relink(link: Path, target: str) -> None:
    link.unlink()
    link.symlink_to(target)


def test_a_data_link_switched_is_read_and_loaded_as_it_stands_at_each_question(tmp_path):
    """A project opened with `data -> stores/A` kept the data folder resolved when kpi.toml
    was read, whose bytes did not change when the link was switched to `stores/B`: it went on
    answering A's figures and loaded into A, where `kpi summary` and a fresh `kpi.open`
    read B. Each question now resolves the link as it stands. Counted by hand: the year to
    September 2025 holds 24 incidents; the revised September (seven where two were) makes
    it 24 - 2 + 7 = 29."""
    root = _project(tmp_path)
    stores = root / "stores"
    stores.mkdir()
    (root / "data").rename(stores / "A")
    shutil.copytree(stores / "A", stores / "B")
    (root / "data").symlink_to("stores/A")
    project = kpi.open(root)
    assert _value(project.summary(PERIOD), "incidents") == 24
    _relink(root / "data", "stores/B")
    assert project.definition.data_dir == stores.resolve() / "B"
    # loaded into the store the link leads to now, B; A keeps its one version
    assert project.ingest("incidents", _september(root)).rows == 7
    assert (_versions(stores / "A" / "incidents"), _versions(stores / "B" / "incidents")) \
        == (1, 2)
    assert _value(project.summary(PERIOD), "incidents") == 29 == _cli_value(root, "incidents")
    _relink(root / "data", "stores/A")
    assert _value(project.summary(PERIOD), "incidents") == 24 == _cli_value(root, "incidents")
    # A link switched to lead outside the project is refused as the command line refuses it.
    outside = tmp_path / "elsewhere"
    shutil.copytree(stores / "B", outside)
    _relink(root / "data", str(outside))
    with pytest.raises(ConfigError, match="outside the project folder") as refused:
        project.summary(PERIOD)
    cli = inprocess.run(["--project", root, "summary", "--period", PERIOD],
                        env={"KPI_NO_CACHE": "1"})
    assert cli.returncode == 3 and refused.value.message in cli.stderr


def test_a_project_folder_link_switched_is_read_as_it_stands_at_each_question(tmp_path):
    """A project opened through a folder link (`current -> r1`), the link then switched to
    another project whose kpi.toml is byte for byte the same (`r2`, a release folder with
    the revised September loaded): the project answered r1's 24 where `kpi summary
    --project current` answered r2's 29 (counted by hand as above)."""
    r1 = _project(tmp_path / "r1")
    r2 = shutil.copytree(r1, tmp_path / "r2" / r1.name, symlinks=True)
    loaded = inprocess.run(["--project", r2, "ingest", "incidents", _september(r2)])
    assert loaded.returncode == 0, loaded.stderr
    current = tmp_path / "current"
    current.symlink_to(r1)
    project = kpi.open(current)
    assert _value(project.summary(PERIOD), "incidents") == 24
    _relink(current, str(r2))
    assert (current / "kpi.toml").read_bytes() == (r1 / "kpi.toml").read_bytes()
    assert _value(project.summary(PERIOD), "incidents") == 29
    assert _cli_value(current, "incidents") == 29
    assert project.definition.data_dir == r2.resolve() / "data"


def test_a_load_committed_during_an_answer_leaves_each_answer_one_version(tmp_path,
                                                                          monkeypatch):
    """A load that commits while a summary is being worked out (a nightly load under an open
    notebook): the rows read for the version the answer started from were filed under the new
    version's state, so the next answer in the process reported version 1 with version 0's
    figure (24, where version 1's rows give 29). Each answer is now one version, and says
    which. (The KPIs reading the minutes are left out: with only text read, the rows are
    counted by group, and the groups kept for the next answer.)"""
    root = _project(tmp_path)
    toml = root / "kpi.toml"
    head, *kpis = toml.read_text().split("[[kpis]]")
    toml.write_text("[[kpis]]".join([head, *(k for k in kpis if "minutes" not in k)]))
    project = kpi.open(root)
    revised = _september(root)
    scan, loaded = store.scan, []

    def scan_then_load(definition, dataset_id, as_of=None):
        frame = scan(definition, dataset_id, as_of)
        if dataset_id == "incidents" and not loaded:
            loaded.append(None)  # the load's own reads run the real scan
            loaded[0] = project.ingest("incidents", [revised]).version
        return frame

    monkeypatch.setattr(store, "scan", scan_then_load)
    first = project.report(PERIOD)
    monkeypatch.setattr(store, "scan", scan)
    assert loaded == [1]
    assert first.report.versions["incidents"] == 0
    assert first.report.known_result("incidents").current.value == 24
    second = project.report(PERIOD)
    assert second.report.versions["incidents"] == 1
    # 2025-09's two incidents replaced by seven thefts: 24 - 2 + 7, and 12 - 1 + 7 thefts.
    assert second.report.known_result("incidents").current.value == 29
    assert second.report.known_result("thefts").current.value == 18
    assert _cli_value(root, "incidents") == 29
    assert project.datasets().filter(pl.col("dataset") == "incidents")["version"].item() == 1


def test_the_summary_frame_carries_the_data_quality_notes(tmp_path):
    """The JSON's `quality` (and the CSV's) was left out of `project.summary()` and the
    workbook made from it: a notebook saw a year resting on a September of seven incidents,
    where the months around it hold two, without the note saying so."""
    root = _project(tmp_path)
    project = kpi.open(root)
    project.ingest("incidents", [_september(root)])
    note = "2025-09 holds 7 rows, against a median of 2 in the months around it"
    frame = project.summary(PERIOD)
    assert frame.schema["quality"] == pl.List(pl.String)
    assert _value(frame, "incidents", "quality").to_list() == [note]
    assert _value(frame, "officers", "quality").to_list() == []
    result = inprocess.run(["--project", root, "summary", "--period", PERIOD, "--format",
                            "json"])
    assert {k["id"]: k["quality"] for k in json.loads(result.stdout)["kpis"]} == dict(
        frame.select("id", "quality").iter_rows())


def test_series_is_kpi_shows_trend_and_refuses_as_it_does(tmp_path):
    """`series` ended at the period: past the data it gave a frame of blanks where `kpi show`
    refuses (exit 3), and before the data likewise."""
    root = _project(tmp_path)
    project = kpi.open(root)
    assert project.series("incidents", PERIOD, 3).rows() == [
        ("2025-07", 2.0, 24.0), ("2025-08", 2.0, 24.0), ("2025-09", 2.0, 24.0)]
    for period in ("2027-01", "2020-01"):
        with pytest.raises(DataError) as refused:
            project.series("incidents", period, 3)
        cli = inprocess.run(["--project", root, "show", "incidents", "--period", period])
        assert cli.returncode == 3
        assert cli.stderr.splitlines()[0] == f"Error: {refused.value.message}"
    # A KPI in development has no trend: no rows, the columns of one.
    empty = project.series("satisfaction", PERIOD)
    assert empty.height == 0 and empty.columns == ["month", "value", "rolling_12"]


def test_one_kpi_named_as_text_is_that_kpi(tmp_path):
    """`kpis="incidents"` was read as the KPIs 'i', 'n', 'c', ... and refused as 'unknown KPI
    'i''."""
    project = kpi.open(_project(tmp_path))
    assert project.compare(PERIOD, "lpa", kpis="incidents").equals(
        project.compare(PERIOD, "lpa", kpis=["incidents"]))
    assert set(project.compare(PERIOD, "lpa", kpis="incidents")["kpi"]) == {"incidents"}


def test_an_empty_list_of_kpis_is_refused_not_read_as_every_kpi(tmp_path):
    """`kpis=[]` (a notebook's filter that kept no KPI) compared every KPI, as if `kpis` had
    been left out: a frame of other KPIs' parts, returned as the answer. Refused; a generator
    of ids is read as its list."""
    project = kpi.open(_project(tmp_path))
    for empty in ([], (), iter([])):
        with pytest.raises(UsageError, match="kpis names no KPI"):
            project.compare(PERIOD, "lpa", kpis=empty)
    assert project.compare(PERIOD, "lpa", kpis=iter(["incidents"])).equals(
        project.compare(PERIOD, "lpa", kpis=["incidents"]))


def test_checks_are_kpi_checks_json():
    """`project.checks()` is `kpi check --format json`'s checks, field by field; there was no
    Python face for the reconciliations."""
    project = kpi.open("sample")
    frame = project.checks(PERIOD)
    result = inprocess.run(["--project", "sample", "check", "--period", PERIOD, "--format",
                            "json"])
    assert result.returncode == 1  # the sample fails two checks on purpose
    assert frame.to_dicts() == json.loads(result.stdout)["checks"]
    assert frame.filter(~pl.col("passed"))["id"].to_list() == ["asb_categories",
                                                               "neighbourhood_crime_types"]


def test_checks_whose_parts_are_fractional_then_whole(tmp_path):
    """A reconciliation whose parts are a fractional figure and then a whole one: the JSON
    gives the whole one as an int, and `project.checks()` raised Polars' TypeError ("found
    value of type Int64") building its list of parts, where `kpi check` answers (the
    differential oracle's sums of victims, one part with a multiplier of 25000.5, met it).
    Over the year ending September 2025 the tiny fixture holds 12 frauds, counted at half
    weight (6.0), and 12 thefts: 18 against 24 incidents, a check that fails."""
    root = _project(tmp_path)
    (root / "kpi.toml").write_text((root / "kpi.toml").read_text() + (
        '\n[[kpis]]\nid = "fraud_half"\ntitle = "Fraud at half weight"\n'
        'priority = "community"\nkind = "count"\ndataset = "incidents"\n'
        'filter = "type = \'fraud\'"\nmultiplier = 0.5\nbetter = "lower"\n'
        '\n[[checks]]\nid = "by_type"\ntitle = "Incidents by type"\n'
        'total = "incidents"\nparts = ["fraud_half", "thefts"]\n'))
    result = inprocess.run(["--project", root, "check", "--period", PERIOD, "--format",
                            "json", "--no-data"])
    assert result.returncode == 1, result.stderr
    (check,) = json.loads(result.stdout)["checks"]
    assert [(p["kpi"], p["value"]) for p in [check["total"], *check["parts"]]] == [
        ("incidents", 24), ("fraud_half", 6.0), ("thefts", 12)]
    assert (check["passed"], check["difference"]) == (False, 6)  # the total less the parts
    frame = kpi.open(root).checks(PERIOD, data=False)
    assert frame.to_dicts() == [check]
    assert [p["value"] for p in frame["parts"].to_list()[0]] == [6.0, 12.0]


def test_the_compare_frame_and_csv_carry_the_jsons_notes(tmp_path):
    """`project.compare()` and `kpi compare --format csv` dropped the KPI's `note` and the
    comparison's `notes` that the JSON gives: Birmingham, a member of the peer group that
    holds no fraud, was left out of the fraud KPI's frame without a word, and a member of a
    peer group the data holds no rows of likewise."""
    root = _with_peers(_project(tmp_path), "Birmingham", "Coventry", "Walsall")
    project = kpi.open(root)
    args = ["--project", root, "compare", "--period", PERIOD, "--by", "lpa", "--kpi",
            "fraud", "--peers", "cities"]
    frame = project.compare(PERIOD, "lpa", kpis=["fraud"], peers="cities")
    note = ("not listed, with no rows counted in the year ending September 2025 or the year "
            "ending March 2024: Birmingham")
    notes = ["the data holds no rows for Walsall of peer group 'cities'"]
    assert frame.select("part", "note", "notes").rows() == [("Coventry", note, notes)]
    assert frame.schema["notes"] == pl.List(pl.String)
    doc = json.loads(inprocess.run([*args, "--format", "json"]).stdout)
    assert (doc["kpis"][0]["note"], doc["notes"]) == (note, notes)
    rows = list(csv.DictReader(io.StringIO(inprocess.run([*args, "--format", "csv"]).stdout)))
    assert list(rows[0])[-13:] == ["vs_focus_significant", "note", "notes", "change_note",
                                   "vs_rest_tests", "vs_focus_tests", "population_source",
                                   "population_illustrative", "unit_label", "change_vs_rest_p",
                                   "change_vs_rest_significant", "change_vs_rest_tests",
                                   "covers"]
    assert [(r["part"], r["note"], r["notes"], r["change_note"]) for r in rows] == [
        ("Coventry", note, notes[0], "")]


def test_a_part_with_no_row_in_some_months_is_counted_as_show_counts_it(tmp_path):
    """A part of a column the dataset is not loaded by has 0 in a month it holds no row in,
    in `kpi compare` as in `kpi show`'s breakdown: with September revised to Birmingham's
    rows only, Coventry (rows in 11 of the 12 months) was left out of the comparison
    ("holding rows in only some months") while `kpi show` printed its 11 frauds. Hand count:
    Coventry has one fraud a month from April 2024, none in the revised September: 11; the
    baseline year (to March 2024) holds its assaults, so its comparison is 12 rows."""
    root = _project(tmp_path)
    project = kpi.open(root)
    project.ingest("incidents", [_september(root)])
    frame = project.compare(PERIOD, "lpa", kpis=["incidents"])
    got = {r["part"]: (r["current_value"], r["comparison_value"], r["change_absolute"])
           for r in frame.iter_rows(named=True)}
    assert got == {"Birmingham": (18, 24, -6), "Coventry": (11, 12, -1)}
    assert frame["note"].to_list() == [None, None]
    shown = project.detail("incidents", PERIOD).breakdowns["lpa"]
    assert {r["part"]: (r["current"], r["comparison"], r["absolute"])
            for r in shown.iter_rows(named=True)} == got


def test_what_the_face_hands_out_cannot_change_its_answers(tmp_path):
    """`project.definition` handed out the catalogue the project answered from: a notebook
    that set a dataset's spec aside, or a population, in the dicts it was given changed every
    later answer in its process (with `incidents` popped from `definition.datasets`, the next
    `project.summary()` raised a KeyError). Its tables now refuse assignment, and its raw
    TOML is a copy."""
    root = _with_peers(_project(tmp_path), "Birmingham", "Coventry")
    toml = root / "kpi.toml"
    project = kpi.open(root)
    before = project.summary(PERIOD)
    definition = project.definition
    for table in (definition.datasets, definition.populations, definition.peers,
                  definition.population_by, definition.defaults):
        with pytest.raises(TypeError):
            table["incidents"] = None  # type: ignore[index]
        with pytest.raises(AttributeError):
            table.pop("incidents", None)  # type: ignore[attr-defined]
    definition.raw.pop("datasets")
    definition.raw["kpis"].clear()
    assert project.definition is definition  # the same view while kpi.toml is unchanged
    assert project.summary(PERIOD).equals(before)
    assert list(project.definition.datasets) == ["incidents", "calls", "courts", "staff"]
    assert project.compare(PERIOD, "lpa", kpis="incidents", peers="cities").height == 2
    # A view is of what kpi.toml says now: an edit is seen, and the old view keeps its own.
    toml.write_text(toml.read_text().replace('members = ["Birmingham", "Coventry"]',
                                             'members = ["Coventry", "Birmingham"]'))
    assert project.definition.peers["cities"].members == ("Coventry", "Birmingham")
    assert definition.peers["cities"].members == ("Birmingham", "Coventry")


def test_refusals_name_the_arguments_of_the_face_asked(tmp_path):
    """The Python face's refusals named the command line's options: `project.summary(PERIOD,
    as_of="20251031")` said "invalid --as-of '20251031'" and hinted "write --as-of
    2025-10-31", to a notebook that has no such option. Each face now names its own: the
    command line's words are unchanged."""
    root = _project(tmp_path)
    project = kpi.open(root)
    board = tmp_path / "board.txt"
    cases = [  # the question both ways; the face's message and hint; the command line's
        (lambda: project.summary(PERIOD, as_of="20251031"),
         ["summary", "--period", PERIOD, "--as-of", "20251031"],
         "invalid as_of '20251031': it reads as a table version and as the date 2025-10-31",
         "write as_of='2025-10-31' for the end of that day; project.history(DATASET) lists "
         "the table versions",
         "invalid --as-of '20251031': it reads as a table version and as the date 2025-10-31",
         "write --as-of 2025-10-31 for the end of that day; 'kpi history' lists the table "
         "versions"),
        (lambda: project.summary("2025-13"), ["summary", "--period", "2025-13"],
         "invalid period '2025-13': expected a calendar month as YYYY-MM",
         "for example period='2025-09'",
         "invalid period '2025-13': expected a calendar month as YYYY-MM",
         "for example --period 2025-09"),
        (lambda: project.series("incidents", "2027-01"),
         ["show", "incidents", "--period", "2027-01"],
         "no data reaches 2027-01: the latest month held is 2025-09 (dataset 'incidents')",
         "choose period='2025-09' or earlier, or load the newer extracts first "
         "(project.datasets() shows what is stored)",
         "no data reaches 2027-01: the latest month held is 2025-09 (dataset 'incidents')",
         "choose --period 2025-09 or earlier, or load the newer extracts first ('kpi "
         "datasets' shows what is stored)"),
        (lambda: project.compare(PERIOD, "lpa", focus="Leeds"),
         ["compare", "--period", PERIOD, "--by", "lpa", "--focus", "Leeds"],
         "focus 'Leeds' is not a part of 'lpa' in the data compared",
         "parts found: Birmingham, Coventry",
         "--focus 'Leeds' is not a part of 'lpa' in the data compared",
         "parts found: Birmingham, Coventry"),
        (lambda: project.paper(PERIOD, "markdown", board),
         ["export", "markdown", "--period", PERIOD, "--output", board],
         f"output '{board}' should be a Markdown file ending in .md",
         "for example output='out/board.md'",
         f"--output '{board}' should be a Markdown file ending in .md",
         "for example --output out/board.md"),
    ]
    for ask, args, message, hint, cli_message, cli_hint in cases:
        with pytest.raises(KpiError) as refused:
            ask()
        assert (refused.value.message, refused.value.hint) == (message, hint)
        cli = inprocess.run(["--project", root, *args])
        assert cli.returncode == refused.value.exit_code
        assert cli.stderr.splitlines() == [f"Error: {cli_message}", f"Hint: {cli_hint}"]


def test_the_python_faces_hints_name_its_own_calls_not_commands(tmp_path):
    """The Python face's hints named command-line commands a notebook has no use for: an
    unknown KPI id, "'kpi catalogue' lists every KPI id"; a peer group none of whose members
    the data holds, "'kpi compare --by lpa' (without --peers) lists the parts"; a moment
    before the first load, "see 'kpi history DATASET' ..."; a period past the data, "('kpi
    datasets' shows what is stored)". Each now names the face's own call; the command
    line's words are unchanged."""
    root = _with_peers(_project(tmp_path), "Leeds", "York")
    project = kpi.open(root)
    cases = [  # the question both ways; the face's hint; the command line's
        (lambda: project.detail("qqqqqqq", PERIOD), ["show", "qqqqqqq", "--period", PERIOD],
         "project.kpi_ids lists every KPI id", "'kpi catalogue' lists every KPI id"),
        (lambda: project.compare(PERIOD, "lpa", peers="cities"),
         ["compare", "--period", PERIOD, "--by", "lpa", "--peers", "cities"],
         "project.compare('2025-09', 'lpa') (without peers) lists the parts the data holds; "
         "spell the members of [peers.cities] in kpi.toml as it does",
         "'kpi compare --by lpa' (without --peers) lists the parts the data holds; spell the "
         "members of [peers.cities] in kpi.toml as it does"),
        (lambda: project.summary(PERIOD, as_of="2000-01-01"),
         ["summary", "--period", PERIOD, "--as-of", "2000-01-01"],
         "see project.history(DATASET) for the versions and when they were made",
         "see 'kpi history DATASET' for the versions and when they were made"),
        (lambda: project.summary("2027-01"), ["summary", "--period", "2027-01"],
         "choose period='2025-09' or earlier, or load the newer extracts first "
         "(project.datasets() shows what is stored)",
         "choose --period 2025-09 or earlier, or load the newer extracts first ('kpi "
         "datasets' shows what is stored)"),
    ]
    for ask, args, hint, cli_hint in cases:
        with pytest.raises(KpiError) as refused:
            ask()
        assert refused.value.hint == hint
        cli = inprocess.run(["--project", root, *args])
        assert cli.returncode == refused.value.exit_code
        assert cli.stderr.splitlines()[-1] == f"Hint: {cli_hint}"


def test_every_hint_a_notebook_meets_names_the_python_faces_calls(tmp_path):
    """Hints raised outside kpi.api still named commands: `kpi.open()` of a folder without
    kpi.toml hinted "run 'kpi init'"; a table whose declaration changed since its load,
    "(kpi ingest incidents ...; 'kpi history incidents' lists those stored)"; a table an
    earlier kpi stored as wall-clock times, "run 'kpi upgrade incidents' ... (kpi ingest
    incidents ...)", also where a notebook collects `project.scan()` after the call; a
    damaged table, "(kpi history lists each file's sha256)"; a paper's `previous` file that
    is not one, "--previous '...' is not a file". Each is spelled for the face that raised it
    (`kpi.errors.spelled`); the command line's words are unchanged."""
    from test_instants import PROJECT, _plain_rows, old_store

    empty = tmp_path / "empty"
    empty.mkdir()
    root = _project(tmp_path)
    old = tmp_path / "old"
    old.mkdir()
    (old / "kpi.toml").write_text(PROJECT.format(source="") + (
        '\n[[kpis]]\nid = "d"\ntitle = "D"\npriority = "p"\ndataset = "incidents"\n'
        'kind = "sum"\nvalue = "closed - opened"\nunit = "seconds"\nbetter = "lower"\n'),
        encoding="utf-8")
    old_store(old, _plain_rows())
    upgrade = ("{} to store its times as instants in place (each read in the dataset's "
               "time_zone, the UK's by default), or move the table's folder (incidents in the "
               "data folder) aside and load its extracts again ({}): kpi now stores each "
               "time's instant")
    wall_clock = (upgrade.format("run 'kpi upgrade incidents' in a terminal (no call of the "
                                 "Python face does it)",
                                 "project.ingest('incidents', [FILE, ...])"),
                  upgrade.format("run 'kpi upgrade incidents'", "kpi ingest incidents ..."))
    drift = ("restore the dataset's columns in kpi.toml, or move the table's folder "
             "(incidents in the data folder) aside and load every extract again ({}; {} lists "
             "those stored)")
    cases = [  # where the command line asks, how it asks; the face's hint; the command line's
        (lambda: kpi.open(empty), empty, ["summary", "--period", PERIOD],
         "pass kpi.open() a folder holding kpi.toml, or make one with 'kpi init' in a "
         "terminal (no call of the Python face does it)",
         "pass a folder holding kpi.toml, or run 'kpi init'"),
        (lambda: kpi.open(old).summary("2025-10"), old, ["summary", "--period", "2025-10"],
         *wall_clock),
        (lambda: kpi.open(old).scan("incidents").select(pl.col("closed").dt.hour()).collect(),
         None, None, wall_clock[0], None),
        (lambda: kpi.open(root).paper(PERIOD, "markdown", tmp_path / "board.md",
                                      previous=tmp_path / "none.json"),
         root, ["export", "markdown", "--period", PERIOD, "--output", tmp_path / "board.md",
                "--previous", tmp_path / "none.json"],
         "pass the .figures.json written beside the last paper",
         "pass the .figures.json written beside the last paper"),
    ]
    # A column declared since the load, which the table does not hold.
    toml = root / "kpi.toml"
    moved = toml.read_text().replace('lpa = { type = "str", from = ["LPA"] }',
                                     'lpa = { type = "str", from = ["LPA"] }\n'
                                     'officer = { type = "str", required = false }')
    changed = tmp_path / "changed"
    shutil.copytree(root, changed)
    (changed / "kpi.toml").write_text(moved)
    cases.append((lambda: kpi.open(changed).summary(PERIOD), changed,
                  ["summary", "--period", PERIOD],
                  drift.format("project.ingest('incidents', [FILE, ...])",
                               "project.history('incidents')"),
                  drift.format("kpi ingest incidents ...", "'kpi history incidents'")))
    for ask, folder, args, hint, cli_hint in cases:
        with pytest.raises(KpiError) as refused:
            ask()
        assert refused.value.hint == hint
        if folder is not None:
            cli = inprocess.run(["--project", folder, *args])
            assert cli.returncode == refused.value.exit_code, cli.stderr
            assert cli.stderr.splitlines()[-1] == f"Hint: {cli_hint}"
    with pytest.raises(UsageError) as refused:
        kpi.open(root).paper(PERIOD, "markdown", tmp_path / "board.md",
                             previous=tmp_path / "none.json")
    assert refused.value.message == f"previous '{tmp_path / 'none.json'}' is not a file"
    # A damaged commit file: the history of the dataset named as the face lists it.
    log = root / "data" / "incidents" / "_delta_log"
    newest = max(log.glob("*.json"))
    newest.write_text(newest.read_text()[:40])
    with pytest.raises(KpiError) as refused:
        kpi.open(root).summary(PERIOD)
    assert "(project.history('incidents') lists each file's sha256)" in str(refused.value.hint)
    cli = inprocess.run(["--project", root, "summary", "--period", PERIOD])
    assert "(kpi history incidents lists each file's sha256)" in cli.stderr


def test_numpy_integers_are_whole_numbers_to_the_face(tmp_path):
    """`months` and `as_of` took a Python int only: a number read from a frame (a NumPy
    integer) was refused as "months should be a whole number of at least 1, not
    np.int64(3)", and an `as_of` version read as text, then refused. Both are whole numbers
    now, as `True` still is not."""
    import numpy as np

    root = _project(tmp_path)
    project = kpi.open(root)
    assert project.series("incidents", PERIOD, np.int64(3)).equals(
        project.series("incidents", PERIOD, 3))
    assert project.detail("incidents", PERIOD, months=np.int32(3)).trend is not None
    assert project.summary(PERIOD, as_of=np.int64(0)).equals(project.summary(PERIOD, as_of=0))
    with pytest.raises(UsageError, match="months should be a whole number"):
        project.series("incidents", PERIOD, np.int64(0))
    with pytest.raises(UsageError, match="months should be a whole number"):
        project.series("incidents", PERIOD, True)


def test_history_is_kpi_historys_json(tmp_path):
    """There was no Python face for `kpi history`: a notebook read the Delta log, or parsed
    the command's JSON. `project.history()` is one row per version with every field of the
    JSON, the months a load replaced and the time zones included; a dataset never loaded is
    the command line's refusal."""
    root = _project(tmp_path)
    project = kpi.open(root)
    revised = _september(root)
    project.ingest("incidents", [revised])
    frame = project.history("incidents")
    doc = json.loads(inprocess.run(["--project", root, "history", "incidents", "--format",
                                    "json"]).stdout)
    assert frame["version"].to_list() == [0, 1]
    # The fixture's 72 incidents, April 2023 to September 2025; the revision is one month.
    assert frame["rows"].to_list() == [72, 7]
    every = [f"{y}-{m:02d}" for y in (2023, 2024, 2025) for m in range(1, 13)][3:33]
    assert frame["months"].to_list() == [every, ["2025-09"]]
    last = frame["sources"][-1].to_list()
    assert last == [{"file": "september.csv", "sha256": hashlib.sha256(
        revised.read_bytes()).hexdigest(), "bytes": revised.stat().st_size, "rows": 7,
        "rejected": 0, "sheet": None, "query": None, "query_file": None,
        "query_sha256": None, "uri_env": None}]
    # September 2025 held two incidents (the fixture's hand count), then the revision's seven.
    assert frame["replaced"].to_list() == [[], [{"key": "2025-09", "before": 2, "after": 7}]]
    assert frame["time_zones"].to_list() == [None, None]  # the incidents have dates, no times
    # Field by field, the command's JSON (without its schema_version) and the frame agree.
    assert frame.columns == [k for k in doc[0] if k != "schema_version"]
    assert frame.to_dicts() == [{k: v for k, v in version.items() if k != "schema_version"}
                                for version in doc]
    assert frame.schema["time"] == pl.String and frame.schema["rows"] == pl.Int64
    with pytest.raises(DataError) as refused:
        project.history("calls")
    cli = inprocess.run(["--project", root, "history", "calls"])
    assert cli.returncode == 3 and cli.stderr.splitlines()[0] == f"Error: {refused.value}"


def test_each_refusal_of_ingest_names_the_arguments_of_the_face_asked(tmp_path):
    """`project.ingest(...)`'s refusals named the command line's options: "load the rest with
    --skip-bad-rows", "pass --parts", "pass --allow-shrink", "--from-source reads the
    dataset's query", "name it with --sheet", "--quarantine '...' is a folder" and "kpi ingest
    incidents FILE...", to a notebook that has none of them. Each refusal of a load, from each
    face: the same message and exit code, the face's own words for what to pass; nothing is
    stored by either."""
    import xlsxwriter

    root = _project(tmp_path)
    project = kpi.open(root)
    extracts = root / "extracts"
    bad = extracts / "bad.csv"
    bad.write_text("Date,LPA,Type,Minutes\n2025-09-01,Birmingham,theft,ten\n")
    again = extracts / "september-again.csv"  # another extract of September: six thefts
    again.write_text(_september(root).read_text().rsplit("2025-09-07", 1)[0])
    project.ingest("incidents", [extracts / "september.csv"])  # September: 7 rows stored
    one = extracts / "one.csv"
    one.write_text("Date,LPA,Type,Minutes\n2025-09-01,Birmingham,theft,10\n")
    book = extracts / "two-sheets.xlsx"
    workbook = xlsxwriter.Workbook(str(book))
    for name in ("Notes", "Data"):
        sheet = workbook.add_worksheet(name)
        sheet.write_row(0, 0, ["Date", "LPA", "Type", "Minutes"])
    workbook.close()
    folder = tmp_path / "rejects"
    folder.mkdir()
    toml = root / "kpi.toml"
    cases = [  # the question both ways; the face's message and hint; the command line's
        (dict(files=[bad]), [bad],
         None, "fix the rows named, or load the rest with skip_bad_rows=True",
         None, "fix the rows named, or load the rest with --skip-bad-rows"),
        (dict(files=[extracts / "september.csv", again]), [extracts / "september.csv", again],
         None, "load only the newest extract (it replaces the months it covers), or pass "
               "parts=True if the files are parts of one extract",
         None, "load only the newest extract (it replaces the months it covers), or pass "
               "--parts if the files are parts of one extract"),
        (dict(files=[one]), [one],
         None, "an extract replaces every month it holds rows for: remove rows dated in months "
               "it does not cover, or pass allow_shrink=True if the month really has fewer "
               "rows now",
         None, "an extract replaces every month it holds rows for: remove rows dated in months "
               "it does not cover, or pass --allow-shrink if the month really has fewer rows "
               "now"),
        (dict(files=[one], from_source=True), [one, "--from-source"],
         "from_source reads the dataset's query: name no files with it",
         "project.ingest('incidents', from_source=True)",
         "--from-source reads the dataset's query: name no files with it",
         "kpi ingest incidents --from-source"),
        (dict(), [],
         "no files given, and dataset 'incidents' declares no sources",
         "project.ingest('incidents', [FILE, ...])",
         "no files given, and dataset 'incidents' declares no sources",
         "kpi ingest incidents FILE..."),
        (dict(from_source=True), ["--from-source"],
         "dataset 'incidents' declares no database source",
         "add source = { uri_env = \"KPI_WAREHOUSE_URI\", query = \"SELECT ...\" } to "
         "[datasets.incidents] in kpi.toml, or name extract files: "
         "project.ingest('incidents', [FILE, ...])",
         "dataset 'incidents' declares no database source",
         "add source = { uri_env = \"KPI_WAREHOUSE_URI\", query = \"SELECT ...\" } to "
         "[datasets.incidents] in kpi.toml, or name extract files: kpi ingest incidents "
         "FILE..."),
        (dict(files=[book]), [book],
         None, "name it with sheet, or with sheet = \"...\" under [datasets.incidents]",
         None, "name it with --sheet, or with sheet = \"...\" under [datasets.incidents]"),
        (dict(files=[bad], skip_bad_rows=True, quarantine=folder),
         [bad, "--skip-bad-rows", "--quarantine", folder],
         f"quarantine '{folder}' is a folder; it should name a file",
         f"for example quarantine='{folder / 'out.txt'}'",
         f"--quarantine '{folder}' is a folder; it should name a file",
         f"for example --quarantine {folder / 'out.txt'}"),
        (dict(files=[bad], skip_bad_rows=True, quarantine=toml),
         [bad, "--skip-bad-rows", "--quarantine", toml],
         f"quarantine '{toml}' is the project file; writing there would destroy it",
         "choose another file for quarantine",
         f"--quarantine '{toml}' is the project file; writing there would destroy it",
         "choose another file for --quarantine"),
    ]
    stored = project.history("incidents").height
    for asked, args, message, hint, cli_message, cli_hint in cases:
        with pytest.raises(KpiError) as refused:
            project.ingest("incidents", **asked)
        if message is not None:
            assert refused.value.message == message
        assert refused.value.hint == hint, asked
        cli = inprocess.run(["--project", root, "ingest", "incidents", *args])
        assert cli.returncode == refused.value.exit_code, (args, cli.stderr)
        assert cli.stderr.splitlines() == [
            f"Error: {cli_message or refused.value.message}", f"Hint: {cli_hint}"], args
        assert project.history("incidents").height == stored
    # The command line's own words for a refusal that names no option are the face's too.
    assert "--" not in "".join(str(c[2]) + c[3] for c in cases)


def test_a_period_with_no_data_hints_the_faces_own_way_to_see_and_load_it(tmp_path):
    """A period with nothing to show (errors.no_data) hinted "'kpi datasets' shows the months
    ... 'kpi ingest DATASET FILE...'" to the Python face too, which has project.datasets() and
    project.ingest(...). Each face now gets the same message and exit code, and its own words:
    the command line's unchanged."""
    root = tmp_path / "new"
    assert inprocess.run(["init", root]).returncode == 0
    project = kpi.open(root)
    empty = "2025-09: nothing is stored yet (every dataset is empty)"
    message = f"no KPI has data for {empty}"
    for ask, said in ((lambda: project.summary("2025-09"), message),
                      (lambda: project.compare("2025-09", "lpa"),
                       f"no KPI has data by 'lpa' for {empty}"),
                      (lambda: project.checks("2025-09"), message)):
        with pytest.raises(DataError) as refused:
            ask()
        assert (refused.value.message, refused.value.hint) == (
            said, "project.datasets() shows the months each dataset holds: choose a period "
            "they cover, or load extracts with project.ingest('DATASET', [FILE, ...])")
    cli = inprocess.run(["--project", root, "summary", "--period", "2025-09"])
    assert cli.returncode == refused.value.exit_code == 3
    assert cli.stderr.splitlines() == [
        f"Error: {message}", "Hint: 'kpi datasets' shows the months each dataset holds: choose "
        "a --period they cover, or load extracts with 'kpi ingest DATASET FILE...'"]


def test_a_dataset_never_loaded_is_refused_with_the_faces_own_way_to_load_it(tmp_path):
    """Reading a dataset never loaded hinted "load an extract with 'kpi ingest crimes FILE'"
    to the Python face too, which loads with `project.ingest(...)`. One refusal
    (errors.never_loaded) for every reader of a dataset with no table: each face gets the same
    message and exit code, and its own way to load it."""
    root = tmp_path / "new"
    assert inprocess.run(["init", root]).returncode == 0
    project = kpi.open(root)
    message = "dataset 'crimes' has no data yet"
    for ask in (lambda: project.history("crimes"), lambda: project.scan("crimes")):
        with pytest.raises(DataError) as refused:
            ask()
        assert (refused.value.message, refused.value.hint) == (
            message, "load extracts with project.ingest('crimes', [FILE, ...])")
    cli = inprocess.run(["--project", root, "history", "crimes"])
    assert cli.returncode == refused.value.exit_code == 3
    assert cli.stderr.splitlines() == [
        f"Error: {message}", "Hint: load extracts with 'kpi ingest crimes FILE...'"]


YEARLY = """\
[project]
name = "Published by the year"
baseline = "2024-03"
data = "data"

[datasets.inc]
date = "day"
published = "calendar_year"
[datasets.inc.columns]
day = "date"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "incidents"
title = "Incidents"
priority = "p"
kind = "count"
dataset = "inc"
better = "lower"
"""


def test_series_is_kpi_shows_trend_for_each_comparison(tmp_path):
    """`project.series(..., vs=)` is the trend `kpi show --vs` draws. A source published for
    whole calendar years, holding March 2023 to October 2024, asked for October 2024 runs to
    December 2023: the year ending then is incomplete (no January or February), so the trend
    ends where the data does, October 2024; the financial year to date, April to December
    2023, is whole, so `--vs fytd`'s trend ends with it. `series` took no comparison and gave
    the first trend for both (found by the differential oracle: the face and `kpi show --vs
    fytd` disagreed)."""
    (tmp_path / "kpi.toml").write_text(YEARLY, encoding="utf-8")
    days, counts = [], {}
    for i in range(20):  # 2023-03 to 2024-10, 2 to 4 rows a month
        month = f"{2023 + (2 + i) // 12}-{(2 + i) % 12 + 1:02d}"
        counts[month] = 2 + i % 3
        days += [f"{month}-{d:02d}" for d in range(1, counts[month] + 1)]
    (tmp_path / "inc.csv").write_text("day\n" + "\n".join(days) + "\n", encoding="utf-8")
    assert inprocess.run(["--project", tmp_path, "ingest", "inc", tmp_path / "inc.csv"]
                         ).returncode == 0
    project = kpi.open(tmp_path)
    ends = {"baseline": "2024-10", "yoy": "2024-10", "previous": "2024-10",
            "fytd": "2023-12"}
    for vs, end in ends.items():
        shown = inprocess.run(["--project", tmp_path, "show", "incidents", "--period",
                               "2024-10", "--vs", vs, "--months", "4", "--format", "json"])
        assert shown.returncode == 0, shown.stderr
        trend = [(t["month"], t["value"]) for t in json.loads(shown.stdout)["trend"]]
        got = project.series("incidents", "2024-10", 4, vs=vs)
        assert list(zip(got["month"], got["value"], strict=True)) == trend, vs
        assert trend[-1][0] == end, vs
        assert [v for _, v in trend] == [counts[m] for m, _ in trend], vs
    assert project.series("incidents", "2024-10", 4)["month"][-1] == "2024-10"


def test_open_outside_a_project_warns_that_it_opened_the_sample(tmp_path, monkeypatch):
    """A notebook kept outside its project folder: `kpi.open()` opens the bundled sample, as
    documented, and now says so with a UserWarning naming the folder searched (the command
    line notes it on a terminal); it said nothing, and every figure after was the sample's.
    Asking by name, or opening a project, warns of nothing."""
    import warnings

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    monkeypatch.chdir(notebooks)
    with pytest.warns(UserWarning) as caught:
        project = kpi.open()
    assert project.definition.bundled
    assert [str(w.message) for w in caught] == [
        f"no kpi.toml in {notebooks} or any folder above it: opened the bundled West Midlands "
        "sample (kpi.open(\"sample\") asks for it; kpi.open(FOLDER) opens your project)"]
    assert caught[0].filename == __file__  # the notebook's own line, not kpi's
    root = tmp_path / "force"
    shutil.copytree(FIXTURES / "tiny", root)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kpi.open("sample").definition.bundled
        assert not kpi.open(root).definition.bundled
        monkeypatch.chdir(root)
        assert kpi.open().definition.path == root / "kpi.toml"


def test_ingest_takes_bytes_paths_as_the_command_line_takes_its_arguments(tmp_path):
    """`project.ingest("incidents", b"...")` crashed with a TypeError traceback (bytes read
    as a sequence of ints). A bytes path, alone, in a list or as the quarantine folder, is
    decoded as os.fsdecode does, as the command line's own arguments are, so a name that is
    no UTF-8 (b"\\xff") loads there as it does from `kpi ingest`: the revision's seven rows
    (counted by hand). Anything else that is no path is kpi's UsageError naming the argument."""
    import os

    root = _project(tmp_path)
    project = kpi.open(root)
    revised = _september(root)
    named = revised.with_name(os.fsdecode(b"sept\xffember.csv"))
    shutil.copyfile(revised, named)
    loaded = project.ingest("incidents", os.fsencode(named),
                            quarantine=os.fsencode(root / "quarantine"))
    assert loaded.rows == 7
    assert project.ingest("incidents", [os.fsencode(revised)]).rows == 7
    with pytest.raises(UsageError, match=r"^files should be a path \(str, bytes or "
                                         r"os.PathLike\) or a list of them, not int 3$"):
        project.ingest("incidents", [3])  # type: ignore[list-item]


def test_ingest_refuses_an_empty_list_of_files_as_the_command_line_an_empty_glob(tmp_path):
    """`project.ingest("incidents", [])`, the list of a glob that matched no file, was taken
    for files left out and loaded the dataset's sources again: the revised September (the
    year 24 - 2 + 7 = 29, counted by hand) read 24 again, undoing the correction, where
    `kpi ingest incidents GLOB` refuses a glob matching nothing (exit 2). An empty
    collection of any kind is now the UsageError and nothing is written; None still means
    the sources. A NumPy array or a Polars Series of paths (a frame's column) raised
    NumPy's or Polars' own ValueError or TypeError; any iterable of paths now loads."""
    import numpy as np

    root = _project(tmp_path)
    (root / "kpi.toml").write_text((root / "kpi.toml").read_text().replace(
        '[datasets.incidents]\n', '[datasets.incidents]\nsources = ["extracts/incidents.csv"]\n',
        1))
    project = kpi.open(root)
    revised = _september(root)
    assert project.ingest("incidents", [revised]).rows == 7
    assert _value(project.summary(PERIOD), "incidents") == 29
    table = root / "data" / "incidents"
    for empty in ([], (), np.array([], dtype=str), pl.Series([], dtype=pl.String),
                  (p for p in [])):
        with pytest.raises(UsageError, match=r"^files names no file") as refused:
            project.ingest("incidents", empty)
        assert "leave files out (None)" in (refused.value.hint or "")
    assert _versions(table) == 2
    assert _value(project.summary(PERIOD), "incidents") == 29 == _cli_value(root, "incidents")
    cli = inprocess.run(["--project", root, "ingest", "incidents",
                         str(root / "incoming" / "*.csv")])
    assert cli.returncode == 2 and "no files match" in cli.stderr
    # Any iterable of paths is the files named: the same revision again writes nothing.
    for named in (np.array([str(revised)]), pl.Series([str(revised)]), (p for p in [revised])):
        again = project.ingest("incidents", named)
        assert (again.rows, again.unchanged) == (7, True)
    assert _versions(table) == 2
    # Left out, the sources: every month again (12 of three incidents to March 2024 and 18 of
    # two since), September's two where the revision's seven were.
    assert project.ingest("incidents", allow_shrink=True).rows == 12 * 3 + 18 * 2
    assert _value(project.summary(PERIOD), "incidents") == 24 == _cli_value(root, "incidents")


def test_history_shows_a_file_name_that_is_not_utf8_with_its_byte_escaped(tmp_path):
    """A file whose name is not UTF-8 (b"sept\\xe9mber.csv", which Linux allows) loads, and
    its name is held as Python holds such a name, with a lone surrogate. `project.history()`
    then crashed with a UnicodeEncodeError traceback (Polars holds UTF-8 only), and `kpi
    history --format json` wrote the raw byte, a JSON document no UTF-8 reader could parse.
    Every face now names the file with that byte written as \\xe9, the table included."""
    import os

    root = _project(tmp_path)
    project = kpi.open(root)
    revised = _september(root)
    named = revised.with_name(os.fsdecode(b"sept\xe9mber.csv"))
    shutil.copyfile(revised, named)
    assert project.ingest("incidents", os.fsencode(named)).rows == 7
    frame = project.history("incidents")
    assert frame["sources"][-1][0]["file"] == "sept\\xe9mber.csv"
    done = subprocess.run([sys.executable, "-m", "kpi", "--project", str(root), "history",
                           "incidents", "--format", "json"], capture_output=True, check=True)
    doc = json.loads(done.stdout.decode("utf-8"))  # strict: the document is UTF-8
    assert doc[-1]["sources"][0]["file"] == "sept\\xe9mber.csv"
    table = inprocess.run(["--project", root, "history", "incidents"]).stdout
    assert "sept\\xe9mber.csv" in table


def test_open_and_paper_take_bytes_paths_as_ingest_does(tmp_path):
    """`kpi.open(b"...")` and `project.paper(..., output=b"...")` stopped with a TypeError
    traceback where `project.ingest` takes a bytes path: each path argument of the Python
    face is now decoded as os.fsdecode does. A bytes b"sample" is a folder of that name, as
    Path("sample") is, never the bundled sample; a path of another type is kpi's UsageError."""
    import os

    root = _project(tmp_path)
    project = kpi.open(os.fsencode(root))
    assert project.definition.path == root / "kpi.toml"
    assert kpi.open(root).summary(PERIOD).equals(project.summary(PERIOD))
    out = root / "out" / "board.md"
    written = project.paper(PERIOD, "markdown", os.fsencode(out))
    assert written.output == out and out.read_text(encoding="utf-8").startswith("# ")
    with pytest.raises(ConfigError):
        kpi.open(b"sample")  # no folder named sample here: not the bundled sample
    with pytest.raises(UsageError, match=r"^output should be a path"):
        project.paper(PERIOD, "markdown", 3)  # type: ignore[arg-type]


def test_a_question_without_vs_takes_the_projects_default_comparison(tmp_path):
    """kpi.toml's `[defaults] vs = "yoy"` (as the police.uk and Home Office projects set it):
    `kpi summary --period 2025-09` compares incidents with the year ending September 2024,
    30 by hand (October 2023 to March 2024 three a month, April to September 2024 two), but
    `project.summary("2025-09")` compared them with the baseline's 36, so a notebook asking
    the command's question got another change, status and test, without a word. Every
    method's `vs` left out is now the project's default, as `--vs` left out is; given, it
    wins, as on the command line."""
    root = tmp_path / "yoy"
    shutil.copytree(FIXTURES / "tiny", root)
    toml = root / "kpi.toml"
    toml.write_text(toml.read_text().replace("[[priorities]]", '[defaults]\nvs = "yoy"\n\n'
                                             "[[priorities]]", 1))
    loaded = inprocess.run(["--project", root, "ingest", "incidents",
                            root / "extracts" / "incidents.csv"])
    assert loaded.returncode == 0, loaded.stderr
    project = kpi.open(root)
    result = inprocess.run(["--project", root, "summary", "--period", PERIOD, "--format",
                            "json"])
    assert result.returncode == 0, result.stderr
    cli = next(k for k in json.loads(result.stdout)["kpis"] if k["id"] == "incidents")
    assert json.loads(result.stdout)["comparison"] == "yoy"
    summary = project.summary(PERIOD)
    assert _value(summary, "incidents", "comparison_value") == cli["comparison"]["value"] == 30
    assert _value(summary, "incidents", "comparison_label") == "year ending September 2024"
    assert _value(summary, "incidents", "status") == cli["status"]
    assert _value(summary, "incidents", "p_value") == cli["significance"]["p_value"]
    assert _value(project.summary(PERIOD, "baseline"), "incidents", "comparison_value") == 36
    compared = project.compare(PERIOD, "lpa", kpis="incidents")
    assert set(compared["comparison_start"]) == {"2023-10"}
    detail = project.detail("incidents", PERIOD)
    assert detail.result.comparison is not None
    assert detail.result.comparison.value == 30


def test_scan_carries_the_derived_columns_every_kpi_reads(tmp_path):
    """`project.scan` gave the stored columns only: a KPI counting `filter = "quick"`, a
    derived column, could not be counted again from it (Polars' ColumnNotFoundError deep in
    `.collect()`), and docs/python.md did not say so. The scan now carries the derived
    columns after the stored ones, as every KPI reads them (`catalogue.derive`), as of any
    version too. Counted by hand: a year of the tiny fixture has 12 thefts of 10 minutes (quick)
    and 12 frauds of 20."""
    root = _project(tmp_path)
    toml = root / "kpi.toml"
    toml.write_text(toml.read_text().replace("[datasets.calls]", (
        '[datasets.incidents.derived]\nquick = "minutes <= 15"\ncity = "upper(lpa)"\n\n'
        "[datasets.calls]"), 1) + (
        '\n[[kpis]]\nid = "quick"\ntitle = "Quick"\npriority = "community"\nkind = "count"\n'
        'dataset = "incidents"\nfilter = "quick"\nbetter = "higher"\n'))
    project = kpi.open(root)
    stored = store.scan(project.definition, "incidents").collect_schema().names()
    for as_of in (None, 0):
        scan = project.scan("incidents", as_of=as_of)
        assert scan.collect_schema().names() == [*stored, "quick", "city"]
        year = scan.filter(pl.col("month").is_between(pl.lit("2024-10"), pl.lit("2025-09")))
        counted = year.group_by("quick", "city").agg(pl.len()).sort("city").collect().rows()
        assert counted == [(True, "BIRMINGHAM", 12), (False, "COVENTRY", 12)]
    assert _value(project.summary(PERIOD), "quick") == 12 == _cli_value(root, "quick")


def test_a_text_argument_given_as_anything_else_is_refused_naming_it(tmp_path):
    """A KPI id, dataset, `by`, `peers`, `focus` or `priority` that is not text (a number, a
    list, None: a frame's cell, a notebook's slip) was an AttributeError ('int' object has no
    attribute 'lower') or a Polars TypeError from deep inside, a traceback and no kpi error.
    Each is the UsageError of one rule (`api._text`), naming the argument and what it got."""
    project = kpi.open(_project(tmp_path))
    asks = {
        "a KPI id": [lambda: project.series(None, PERIOD), lambda: project.detail(3, PERIOD),
                     lambda: project.kpi(["incidents"]),
                     lambda: project.compare(PERIOD, "lpa", kpis=[3])],
        "dataset": [lambda: project.scan(3), lambda: project.history(None),
                    lambda: project.ingest(["incidents"], [])],
        "by": [lambda: project.compare(PERIOD, 3)],
        "peers": [lambda: project.compare(PERIOD, "lpa", peers=3)],
        "focus": [lambda: project.compare(PERIOD, "lpa", focus=3)],
        "priority": [lambda: project.summary(PERIOD, priority=["community"]),
                     lambda: project.paper(PERIOD, "markdown", tmp_path / "p.md", priority=1)],
    }
    for argument, calls in asks.items():
        for ask in calls:
            with pytest.raises(UsageError) as refused:
                ask()
            assert refused.value.message.startswith(f"{argument} should be text (a str), not ")
            assert refused.value.exit_code == 2
    # Text, or None where an argument may be left out, is read as before.
    assert project.compare(PERIOD, "lpa", peers=None, focus=None).equals(
        project.compare(PERIOD, "lpa"))
    assert project.summary(PERIOD, priority=None).height == len(project.summary(PERIOD))
