"""kpi on real data.police.uk files nobody here wrote (datasets/police-uk/kpi.toml).

The files live outside the repository, in ../shared/realdata/police-uk/ (SOURCE.md there gives
their provenance, licence and quirks). Every figure kpi reports is checked against an oracle
that reads the same CSV files without kpi: DuckDB SQL for the street files, Python's csv module
and zoneinfo for stop and search (whose concatenated files repeat their header and whose UTC
timestamps must be put into UK months).
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
PROJECT = REPO / "datasets" / "police-uk"
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "police-uk"
STREET = REALDATA / "city-of-london" / "street"
REVISED = REALDATA / "city-of-london" / "street-2025-other-download"
SAS = REALDATA / "west-midlands" / "stop-and-search"
OUTCOMES = REALDATA / "west-midlands" / "outcomes" / "2013-06-west-midlands-outcomes.csv"

realdata = pytest.mark.skipif(
    not (STREET.is_dir() and SAS.is_dir()),
    reason="the real police.uk files are not beside the checkout (../shared/realdata/police-uk)")

ASB = "Anti-social behaviour"
# The KPI of each police.uk crime type, written here rather than read from kpi.toml so that a
# wrong filter there fails a test.
CRIME_TYPES = {
    "violence_sexual": "Violence and sexual offences",
    "other_theft": "Other theft",
    "theft_from_person": "Theft from the person",
    "shoplifting": "Shoplifting",
    "burglary": "Burglary",
    "vehicle_crime": "Vehicle crime",
    "bicycle_theft": "Bicycle theft",
    "robbery": "Robbery",
    "criminal_damage_arson": "Criminal damage and arson",
    "public_order": "Public order",
    "drugs": "Drugs",
    "possession_of_weapons": "Possession of weapons",
    "other_crime": "Other crime",
}
OUTCOME_SHARES = {
    "no_suspect_share": ["Investigation complete; no suspect identified"],
    "unable_to_prosecute_share": ["Unable to prosecute suspect"],
    "under_investigation_share": ["Under investigation"],
    "court_share": ["Awaiting court outcome", "Court result unavailable",
                    "Suspect charged as part of another case", "Defendant sent to Crown Court",
                    "Court case unable to proceed", "Defendant found not guilty",
                    "Offender sent to prison", "Offender given suspended prison sentence",
                    "Offender given community sentence", "Offender fined",
                    "Offender given conditional discharge", "Offender given absolute discharge",
                    "Offender ordered to pay compensation", "Offender deprived of property",
                    "Offender sentenced as part of another case",
                    "Offender otherwise dealt with"],
}
YE_2025 = ("2025-01", "2025-12")
YE_2024 = ("2024-01", "2024-12")


# ---------------------------------------------------------------------------------------------
# Running kpi


def _kpi(project: Path, *args: str) -> str:
    from kpi.cli import app

    result = CliRunner().invoke(app, ["--project", str(project), *[str(a) for a in args]])
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


def _json(project: Path, *args: str):
    return json.loads(_kpi(project, *args, "--format", "json"))


def _by_id(summary: dict) -> dict[str, dict]:
    return {k["id"]: k for k in summary["kpis"]}


def _new_project(tmp_path_factory, name: str) -> Path:
    """A copy of datasets/police-uk, so the store lands in a temporary folder."""
    folder = tmp_path_factory.mktemp(name)
    shutil.copy(PROJECT / "kpi.toml", folder / "kpi.toml")
    return folder


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Oracles


class Street:
    """The street files in DuckDB, every column as text (blank fields are NULL)."""

    def __init__(self, paths: list[Path]):
        files = ", ".join(f"'{p}'" for p in paths)
        self.con = duckdb.connect()
        self.con.execute("CREATE TABLE street AS SELECT * FROM read_csv("
                         f"[{files}], header = true, all_varchar = true)")

    def scalar(self, sql: str, *params) -> int:
        return self.con.execute(sql, list(params)).fetchone()[0]

    def count(self, window: tuple[str, str], condition: str = "TRUE", *params) -> int:
        return self.scalar(f'SELECT count(*) FROM street WHERE "Month" BETWEEN ? AND ? '
                           f"AND ({condition})", *window, *params)

    def crimes(self, window: tuple[str, str]) -> int:
        return self.count(window, '"Crime type" <> ?', ASB)

    def with_outcome(self, window: tuple[str, str], categories: list[str]) -> int:
        marks = ", ".join("?" for _ in categories)
        return self.count(window, f'"Crime type" <> ? AND "Last outcome category" IN ({marks})',
                          ASB, *categories)

    def by(self, column: str, window: tuple[str, str]) -> dict[str | None, int]:
        rows = self.con.execute(f'SELECT "{column}", count(*) FROM street WHERE "Month" '
                                f'BETWEEN ? AND ? AND "Crime type" <> ? GROUP BY 1',
                                [*window, ASB]).fetchall()
        return dict(rows)


def _london_month(stamp: str) -> str:
    return datetime.fromisoformat(stamp).astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m")


def _searches(path: Path) -> list[dict[str, str]]:
    """A stop and search CSV as dicts, without the header rows repeated inside concatenated
    files, each with its UK month ('month') and its UTC month ('utc_month')."""
    with path.open(newline="", encoding="ascii") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [dict(zip(header, record, strict=True)) for record in reader
                if record != header and any(record)]
    for row in rows:
        row["month"] = _london_month(row["Date"])
        row["utc_month"] = row["Date"][:7]
    return rows


def _months_between(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


# ---------------------------------------------------------------------------------------------
# City of London: 24 months of street files, then a second download of 2025


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """A project with the 24 City of London street files loaded, and what kpi reported."""
    project = _new_project(tmp_path_factory, "city")
    files = sorted(STREET.glob("*-street.csv"))
    assert len(files) == 24
    _kpi(project, "ingest", "street", *files)
    return {
        "project": project, "files": files,
        "summary": _json(project, "summary", "--period", "2025-12", "--vs", "yoy"),
        "show": _json(project, "show", "total_crime", "--period", "2025-12", "--vs", "yoy"),
        "datasets": _json(project, "datasets"),
        "oracle": Street(files),
    }


@pytest.fixture(scope="module")
def revised(city):
    """The same project after the other download of 2025 was loaded over it."""
    project = city["project"]
    files = sorted(REVISED.glob("*-street.csv"))
    assert len(files) == 12
    _kpi(project, "ingest", "street", *files)
    return {
        "files": files,
        "summary": _json(project, "summary", "--period", "2025-12", "--vs", "yoy"),
        "before": _json(project, "summary", "--period", "2025-12", "--vs", "yoy",
                        "--as-of", "0"),
        "datasets": _json(project, "datasets"),
        "history": _json(project, "history", "street"),
        "oracle": Street([f for f in city["files"] if f.name.startswith("2024-")] + files),
    }


def _check_counts(summary: dict, oracle: Street) -> None:
    kpis = _by_id(summary)
    expected = {kpi_id: (oracle.count(YE_2025, '"Crime type" = ?', name),
                         oracle.count(YE_2024, '"Crime type" = ?', name))
                for kpi_id, name in CRIME_TYPES.items()}
    expected["total_crime"] = (oracle.crimes(YE_2025), oracle.crimes(YE_2024))
    expected["asb"] = (oracle.count(YE_2025, '"Crime type" = ?', ASB),
                       oracle.count(YE_2024, '"Crime type" = ?', ASB))
    got = {kpi_id: (kpis[kpi_id]["current"]["value"], kpis[kpi_id]["comparison"]["value"])
           for kpi_id in expected}
    assert got == expected
    for kpi_id, (current, previous) in expected.items():
        assert kpis[kpi_id]["change"]["absolute"] == current - previous
        assert kpis[kpi_id]["change"]["percent"] == pytest.approx(
            (current - previous) / previous * 100)


def _check_shares(summary: dict, oracle: Street) -> None:
    kpis = _by_id(summary)
    for kpi_id, categories in OUTCOME_SHARES.items():
        for key, window in (("current", YE_2025), ("comparison", YE_2024)):
            measured = kpis[kpi_id][key]
            numerator, denominator = oracle.with_outcome(window, categories), oracle.crimes(window)
            assert (kpi_id, key, measured["numerator"], measured["denominator"]) == (
                kpi_id, key, numerator, denominator)
            assert measured["value"] == pytest.approx(100 * numerator / denominator)
        assert kpis[kpi_id]["change"]["points"] == pytest.approx(
            kpis[kpi_id]["current"]["value"] - kpis[kpi_id]["comparison"]["value"])


@realdata
def test_city_of_london_24_months_load_every_row(city):
    oracle = city["oracle"]
    street = next(d for d in city["datasets"] if d["dataset"] == "street")
    assert street["rows"] == oracle.scalar("SELECT count(*) FROM street") == 18_867
    assert (street["first"], street["last"], street["missing"]) == ("2024-01", "2025-12", [])
    # Quirks 2 and 3: Crime ID is blank exactly on the ASB rows and repeats on others, and
    # the dataset declares no unique key, so every such row loaded.
    assert oracle.scalar('SELECT count(*) FROM street WHERE "Crime ID" IS NULL') == oracle.scalar(
        'SELECT count(*) FROM street WHERE "Crime type" = ?', ASB) > 0
    assert oracle.scalar('SELECT count(*) - count(DISTINCT "Crime ID") FROM street '
                         'WHERE "Crime ID" IS NOT NULL') > 0
    # The catalogue has a KPI for every crime type the files use.
    types = {row[0] for row in oracle.con.execute('SELECT DISTINCT "Crime type" FROM street')
             .fetchall()}
    assert types == {*CRIME_TYPES.values(), ASB}


@realdata
def test_city_of_london_summary_counts_equal_oracle(city):
    _check_counts(city["summary"], city["oracle"])
    kpis = _by_id(city["summary"])
    assert kpis["total_crime"]["current"]["label"] == "year ending December 2025"
    assert kpis["total_crime"]["comparison"]["label"] == "year ending December 2024"
    # The crime types are a partition of total crime, in the data as in the catalogue.
    assert sum(kpis[k]["current"]["value"] for k in CRIME_TYPES) == (
        kpis["total_crime"]["current"]["value"])


@realdata
def test_city_of_london_outcome_shares_equal_oracle(city):
    _check_shares(city["summary"], city["oracle"])


@realdata
def test_breakdowns_by_lsoa_and_crime_type_equal_oracle(city):
    oracle, breakdowns = city["oracle"], city["show"]["breakdowns"]
    for column, source in (("lsoa_name", "LSOA name"), ("crime_type", "Crime type")):
        got = {p["part"]: (p["current"], p["comparison"]) for p in breakdowns[column]}
        current, previous = oracle.by(source, YE_2025), oracle.by(source, YE_2024)
        # Every part the KPI counts (a crime, not ASB, in either window) and no other; one
        # with no crimes in one of the windows shows 0 there.
        parts = set(current) | set(previous)
        assert ASB not in parts
        assert got == {part: (current.get(part, 0), previous.get(part, 0)) for part in parts}
    # Quirk 4: 'No Location' rows have no LSOA; they are one part of the breakdown, not lost.
    no_location = oracle.count(YE_2025, '"Location" = ? AND "Crime type" <> ?', "No Location",
                               ASB)
    blank = next(p for p in breakdowns["lsoa_name"] if p["part"] is None)
    assert blank["current"] == no_location > 0
    assert oracle.count(YE_2025, '"LSOA name" IS NULL AND "Location" <> ?', "No Location") == 0


@realdata
def test_revised_download_replaces_months_without_double_counting(city, revised):
    oracle = revised["oracle"]
    street = next(d for d in revised["datasets"] if d["dataset"] == "street")
    # The second download has as many rows per month; loading it must not add them again.
    assert street["rows"] == oracle.scalar("SELECT count(*) FROM street") == 18_867
    assert (street["first"], street["last"], street["missing"]) == ("2024-01", "2025-12", [])
    _check_counts(revised["summary"], oracle)
    _check_shares(revised["summary"], oracle)


@realdata
def test_revised_download_moves_outcome_shares_as_the_oracle_says(city, revised):
    before, after = _by_id(revised["before"]), _by_id(revised["summary"])
    old, new = city["oracle"], revised["oracle"]
    moved = 0
    for kpi_id, categories in OUTCOME_SHARES.items():
        expected = (old.with_outcome(YE_2025, categories), new.with_outcome(YE_2025, categories))
        assert (before[kpi_id]["current"]["numerator"],
                after[kpi_id]["current"]["numerator"]) == expected
        # 2024 was not in the second download: its window is unchanged.
        assert before[kpi_id]["comparison"] == after[kpi_id]["comparison"]
        moved += expected[0] != expected[1]
    assert moved == len(OUTCOME_SHARES)
    # Quirk 8 at its plainest: every 'Under investigation' of 2025 was resolved by the time
    # of the second download.
    assert after["under_investigation_share"]["current"]["numerator"] == 0
    assert before["under_investigation_share"]["current"]["numerator"] == old.with_outcome(
        YE_2025, ["Under investigation"]) > 0
    # --as-of 0 is the data as first loaded, figure for figure.
    assert revised["before"]["kpis"] == city["summary"]["kpis"]


@realdata
def test_history_shows_both_downloads_with_their_files(city, revised):
    versions = revised["history"]
    assert [v["version"] for v in versions] == [0, 1]
    first, second = versions
    assert first["months"] == _months_between("2024-01", "2025-12")
    assert second["months"] == _months_between("2025-01", "2025-12")
    assert first["rows"] == 18_867
    assert second["rows"] == revised["oracle"].count(YE_2025)
    assert [(s["file"], s["sha256"]) for s in first["sources"]] == [
        (f.name, _sha256(f)) for f in city["files"]]
    assert [(s["file"], s["sha256"]) for s in second["sources"]] == [
        (f.name, _sha256(f)) for f in revised["files"]]
    # Same names, different bytes: the history tells the two downloads apart.
    assert {s["sha256"] for s in second["sources"]}.isdisjoint(
        s["sha256"] for s in first["sources"])


def _strict(name: str, document: object) -> None:
    """A document validates against the schema kpi ships for it (closed objects, required
    fields, enums and bounds: kpi/schemas, docs/json.md)."""
    from importlib.resources import files

    import jsonschema

    schema = json.loads((files("kpi") / "schemas" / f"{name}.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(document)


@realdata
def test_every_json_output_of_real_files_validates_against_its_schema(city, revised, wmp):
    """Real police.uk street files loaded twice (a second download replacing 2025) and West
    Midlands stop and search (whose searches' times record their zone): every command's JSON,
    for every comparison and every KPI, validates against its strict schema."""
    from kpi.cli import app

    street, searches = city["project"], wmp["project"]
    for vs in ("baseline", "yoy", "previous", "fytd"):
        _strict("summary", _json(street, "summary", "--period", "2025-12", "--vs", vs))
    _strict("summary", wmp["summary_2018"])
    catalogue = _json(street, "catalogue")
    _strict("catalogue", catalogue)
    shown = 0
    for kpi in catalogue["kpis"]:
        project, period = ((street, "2025-12") if kpi["dataset"] == "street"
                           else (searches, "2018-09"))
        if kpi["dataset"] in ("street", "stop_search"):
            _strict("show", _json(project, "show", kpi["id"], "--period", period))
            shown += 1
    assert shown == 25
    _strict("show", _json(street, "show", "total_crime", "--period", "2025-12", "--seasonal"))
    for by in ("lsoa_name", "crime_type", "falls_within"):
        _strict("compare", _json(street, "compare", "--period", "2025-12", "--by", by))
    for project, period in ((street, "2025-12"), (searches, "2018-09")):
        result = CliRunner().invoke(app, [
            "--project", str(project), "check", "--period", period, "--format", "json"])
        assert result.exit_code in (0, 1), result.output
        _strict("check", json.loads(result.stdout))
        _strict("datasets", _json(project, "datasets"))
    history = revised["history"]
    _strict("history", history)
    assert history[1]["replaced"][0] == {"key": "2025-01 (falls_within 'City of London Police')",
                                        "before": 629, "after": 629}
    assert [v["time_zones"] for v in history] == [None, None]
    searched = _json(searches, "history", "stop_search")
    _strict("history", searched)
    assert {v["time_zones"]["date"] for v in searched} == {"Europe/London"}


@realdata
def test_three_forces_loaded_together_break_down_by_force(tmp_path_factory):
    """An all-forces download: 36 files, three forces per month, in one load."""
    files = sorted((REALDATA / "neighbours-2025" / "street").glob("2025-*-street.csv"))
    assert len(files) == 36
    project = _new_project(tmp_path_factory, "neighbours")
    _kpi(project, "ingest", "street", *files)
    shown = _json(project, "show", "total_crime", "--period", "2025-12", "--vs", "yoy")
    oracle = Street(files)
    assert shown["kpi"]["current"]["value"] == oracle.crimes(YE_2025) > 200_000
    # No 2024 data: the current year stands, the comparison is named as incomplete.
    assert shown["kpi"]["comparison"] is None
    assert shown["kpi"]["note"].startswith("comparison year ending December 2024 is incomplete")
    got = {p["part"]: p["current"] for p in shown["breakdowns"]["force"]}
    assert got == oracle.by("Falls within", YE_2025)
    assert len(got) == 3


@realdata
def test_forces_loaded_one_by_one_keep_each_other(tmp_path_factory):
    """replace_by = ["falls_within"]: each force's load replaces only its own months, so loading
    three forces in turn gives what one load of all three gives."""
    files = sorted((REALDATA / "neighbours-2025" / "street").glob("2025-*-street.csv"))
    project = _new_project(tmp_path_factory, "one-by-one")
    forces = sorted({f.name[len("2025-01-"):-len("-street.csv")] for f in files})
    assert len(forces) == 3
    for force in forces:
        _kpi(project, "ingest", "street", *[f for f in files if f"-{force}-" in f.name])
    shown = _json(project, "show", "total_crime", "--period", "2025-12", "--vs", "yoy")
    oracle = Street(files)
    assert shown["kpi"]["current"]["value"] == oracle.crimes(YE_2025)
    got = {p["part"]: p["current"] for p in shown["breakdowns"]["force"]}
    assert got == oracle.by("Falls within", YE_2025)
    # Reloading one force's month replaces that force's rows only.
    _kpi(project, "ingest", "street", files[0])
    again = _json(project, "show", "total_crime", "--period", "2025-12", "--vs", "yoy")
    assert again["kpi"]["current"]["value"] == oracle.crimes(YE_2025)


# ---------------------------------------------------------------------------------------------
# West Midlands stop and search: concatenated and spreadsheet-damaged files, and originals


def _sas_oracle(sources: list[Path]) -> dict[str, list[dict[str, str]]]:
    """UK month -> searches, loading the files in order with each file's months replacing
    what earlier files gave for them (what an ingest of each file in turn must leave)."""
    months: dict[str, list[dict[str, str]]] = {}
    for path in sources:
        loaded: dict[str, list[dict[str, str]]] = {}
        for row in _searches(path):
            loaded.setdefault(row["month"], []).append(row)
        months.update(loaded)
    return months


def _window(months: dict[str, list[dict[str, str]]], first: str, last: str):
    span = _months_between(first, last)
    assert all(m in months for m in span), f"oracle lacks months of {first}..{last}"
    return [row for m in span for row in months[m]]


def _populations() -> dict[str, float]:
    """The preset's populations as written, a number or a table's `count` (the groups are
    marked illustrative)."""
    written = tomllib.loads((PROJECT / "kpi.toml").read_text())["population"]
    return {name: value["count"] if isinstance(value, dict) else value
            for name, value in written.items()}


def _check_stop_search(summary: dict, rows_now: list, rows_then: list) -> None:
    kpis = _by_id(summary)
    population = _populations()

    def count(rows, test):
        return sum(1 for r in rows if test(r))

    for key, rows in (("current", rows_now), ("comparison", rows_then)):
        assert kpis["stop_searches"][key]["value"] == len(rows)
        arrests = count(rows, lambda r: r["Outcome"] in ("Arrest", "Suspect arrested"))
        rate = kpis["stop_search_arrest_rate"][key]
        assert (rate["numerator"], rate["denominator"]) == (arrests, len(rows))
        assert rate["value"] == pytest.approx(100 * arrests / len(rows))
        children = count(rows, lambda r: r["Age range"] in ("10-17", "Oct-17", "17-Oct"))
        assert kpis["stop_search_children"][key]["value"] == children
        # Self-defined ethnicity, grouped by the first word of its category, as the Home
        # Office groups it ('Black or Black British - African (B2)' is Black).
        white = count(rows, lambda r: _self_defined(r, "White"))
        for group, name in (("black", "Black"), ("asian", "Asian")):
            searched = count(rows, lambda r, n=name: _self_defined(r, n))
            ratio = kpis[f"stop_search_disp_{group}"][key]
            assert (ratio["numerator"], ratio["denominator"]) == (searched, white)
            assert ratio["value"] == pytest.approx(
                (searched / population[group]) / (white / population["white"]))


def _self_defined(row: dict, group: str) -> bool:
    return (row["Self-defined ethnicity"] or "").startswith(group)


def _ratio(rows: list, column: str, group: str, test) -> float:
    population = _populations()
    searched = sum(1 for r in rows if test(r[column] or "", group))
    white = sum(1 for r in rows if test(r[column] or "", "White"))
    return (searched / population[group.lower()]) / (white / population["white"])


@realdata
def test_disproportionality_reads_self_defined_ethnicity_as_the_home_office_does(wmp):
    # Officer-defined ethnicity is blank on 74.5% of the 2017-18 rows: by it, the preset's
    # ratio counted 22 Black and 108 White searches of the year's 14,000. It reads the
    # person's self-defined ethnicity now, as the Home Office does.
    now = _window(wmp["oracle"], "2017-10", "2018-09")
    blank = sum(1 for r in now if not r["Officer-defined ethnicity"]) / len(now)
    assert blank > 0.7
    own = _ratio(now, "Self-defined ethnicity", "Black", str.startswith)
    officer = _ratio(now, "Officer-defined ethnicity", "Black", str.__eq__)
    kpi = _by_id(wmp["summary_2018"])["stop_search_disp_black"]["current"]
    assert kpi["value"] == pytest.approx(own) and abs(own - officer) > 1
    assert (kpi["numerator"], kpi["denominator"]) == (
        sum(1 for r in now if _self_defined(r, "Black")),
        sum(1 for r in now if _self_defined(r, "White")))
    assert kpi["numerator"] > 20 * sum(1 for r in now if r["Officer-defined ethnicity"] == "Black")


@pytest.fixture(scope="module")
def wmp(tmp_path_factory):
    project = _new_project(tmp_path_factory, "wmp")
    concat = SAS / "WMPstopandsearchJun16Jun17.csv"
    resaved = SAS / "stopandsearch201718.csv"
    originals = [SAS / f"{m}-west-midlands-stop-and-search.csv"
                 for m in ("2016-06", "2017-06", "2017-09")]
    steps = {}
    _kpi(project, "ingest", "stop_search", concat)
    steps["concat"] = _json(project, "datasets")
    _kpi(project, "ingest", "stop_search", resaved)
    steps["resaved"] = _json(project, "datasets")
    _kpi(project, "ingest", "stop_search", *originals)
    steps["originals"] = _json(project, "datasets")
    return {
        "project": project, "steps": steps,
        "oracle": _sas_oracle([concat, resaved, *originals]),
        "concat": _sas_oracle([concat]), "resaved": _sas_oracle([resaved]),
        "trend": _json(project, "show", "stop_searches", "--period", "2018-09", "--vs",
                       "previous", "--months", "28")["trend"],
        "summary_2017": _json(project, "summary", "--period", "2017-06", "--vs", "previous"),
        "summary_2018": _json(project, "summary", "--period", "2018-09", "--vs", "previous"),
    }


def _stop_search_row(datasets: list[dict]) -> dict:
    return next(d for d in datasets if d["dataset"] == "stop_search")


@realdata
def test_concatenated_file_with_repeated_headers_loads(wmp):
    loaded = _stop_search_row(wmp["steps"]["concat"])
    months = wmp["concat"]
    assert sorted(months) == _months_between("2016-06", "2017-05")
    assert loaded["rows"] == sum(len(r) for r in months.values())
    assert (loaded["first"], loaded["last"], loaded["missing"]) == ("2016-06", "2017-05", [])
    header_repeats = (SAS / "WMPstopandsearchJun16Jun17.csv").read_text().count("\nType,Date,")
    assert header_repeats == 11  # the quirk is really there


@realdata
def test_spreadsheet_resaved_file_with_reordered_columns_loads(wmp):
    after = _stop_search_row(wmp["steps"]["resaved"])
    months = wmp["resaved"]
    # In UTC the file starts on 30 September 2017 at 23:03; in UK time that is 1 October.
    assert sorted(months) == _months_between("2017-10", "2018-09")
    assert sorted({r["utc_month"] for rows in months.values() for r in rows})[0] == "2017-09"
    assert after["rows"] == sum(len(r) for r in wmp["concat"].values()) + sum(
        len(r) for r in months.values())
    assert (after["first"], after["last"]) == ("2016-06", "2018-09")
    assert after["missing"] == _months_between("2017-06", "2017-09")


@realdata
def test_originals_replace_overlapping_months_and_keep_searches_in_uk_months(wmp):
    final, oracle = _stop_search_row(wmp["steps"]["originals"]), wmp["oracle"]
    assert final["rows"] == sum(len(r) for r in oracle.values())
    assert final["missing"] == ["2017-07", "2017-08"]
    trend = {p["month"]: p["value"] for p in wmp["trend"]}
    assert {m: trend[m] for m in oracle} == {m: float(len(r)) for m, r in oracle.items()}
    assert trend["2017-07"] is None and trend["2017-08"] is None
    # The 2016-06 original is the concatenation's first chunk: replaced, not added.
    assert len(oracle["2016-06"]) == len(wmp["concat"]["2016-06"])
    # Quirk 9: the 2017-06 file has searches stamped in May (UTC). Taking months from the
    # UTC date would make its load replace all of May with those few rows.
    june = _searches(SAS / "2017-06-west-midlands-stop-and-search.csv")
    assert sum(r["utc_month"] == "2017-05" for r in june) == 6
    assert {r["month"] for r in june} == {"2017-06"}
    assert trend["2017-05"] == len(wmp["concat"]["2017-05"]) > 100


@realdata
def test_stop_search_summary_equals_oracle(wmp):
    oracle = wmp["oracle"]
    _check_stop_search(wmp["summary_2017"], _window(oracle, "2016-07", "2017-06"),
                       _window(oracle, "2016-06", "2017-05"))
    now = _window(oracle, "2017-10", "2018-09")
    _check_stop_search(wmp["summary_2018"], now, _window(oracle, "2017-09", "2018-08"))
    # The spreadsheet turned '10-17' into 'Oct-17' on every row in its window.
    assert sum(r["Age range"] == "Oct-17" for r in now) > 0
    assert sum(r["Age range"] == "10-17" for r in now) == 0


@realdata
def test_recent_originals_load_into_their_own_months(tmp_path_factory):
    project = _new_project(tmp_path_factory, "wmp-recent")
    files = sorted(SAS.glob("202[34]-*-west-midlands-stop-and-search.csv"))
    assert len(files) == 13
    _kpi(project, "ingest", "stop_search", *files)
    oracle = _sas_oracle(files)
    for path in files:  # every search is in the UK month of the file that published it
        assert {r["month"] for r in _searches(path)} == {path.name[:7]}
    assert sorted(oracle) == _months_between("2023-09", "2024-09")
    loaded = _stop_search_row(_json(project, "datasets"))
    assert (loaded["first"], loaded["last"], loaded["missing"]) == ("2023-09", "2024-09", [])
    assert loaded["rows"] == sum(len(r) for r in oracle.values())
    summary = _json(project, "summary", "--period", "2024-09", "--vs", "previous")
    _check_stop_search(summary, _window(oracle, "2023-10", "2024-09"),
                       _window(oracle, "2023-09", "2024-08"))
    kpis = _by_id(summary)
    # Age range is blank on every row of 2023-11, so that month counts no children: the KPI
    # says so (it said nothing before), with the shares counted here from the files.
    november = oracle["2023-11"]
    assert all(not r["Age range"] for r in november)
    others = sorted(sum(1 for r in rows if not r["Age range"]) / len(rows)
                    for month, rows in oracle.items() if month != "2023-11")
    usual = (others[5] + others[6]) / 2  # the median of the other 12 months
    assert kpis["stop_search_children"]["quality"] == [
        f"column 'age_range' is blank on 100.0% of the rows of 2023-11 (a median of "
        f"{usual:.1%} in the months around it)"]
    assert kpis["stop_searches"]["quality"] == []
    # 13 months held: the process chart reads the months there are (before, it read 24 and
    # gave no verdict, the first 11 having no value).
    for kpi in (k for k in kpis.values() if k["priority"] == "stop_search"):
        assert kpi["variation"] is not None, kpi["id"]
        assert kpi["variation"]["baseline"] == ["2023-09", "2024-08"]


@realdata
def test_outcomes_file_with_repeated_crime_ids_loads(tmp_path_factory):
    if not OUTCOMES.is_file():
        pytest.skip(f"{OUTCOMES.name} is not in the real data folder")
    project = _new_project(tmp_path_factory, "outcomes")
    _kpi(project, "ingest", "outcomes", OUTCOMES)
    con = duckdb.connect()
    table = f"read_csv('{OUTCOMES}', header = true, all_varchar = true)"
    rows, repeats = con.execute(f'SELECT count(*), count("Crime ID") - count(DISTINCT '
                                f'"Crime ID") FROM {table}').fetchone()
    assert repeats > 0
    loaded = next(d for d in _json(project, "datasets") if d["dataset"] == "outcomes")
    assert (loaded["rows"], loaded["first"], loaded["last"]) == (rows, "2013-06", "2013-06")


def test_utc_offsets_are_stored_as_uk_time(tmp_path_factory):
    """Without the real files: a police.uk-shaped stop and search file whose instants carry
    a UTC offset. Each search counts in its UK month, as police.uk publishes it."""
    project = _new_project(tmp_path_factory, "offsets")
    header = ("Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,"
              "Gender,Age range,Self-defined ethnicity,Officer-defined ethnicity,Legislation,"
              "Object of search,Outcome,Outcome linked to object of search,"
              "Removal of more than just outer clothing")
    stamps = {  # instant -> its UK wall-clock time
        "2023-08-31T23:20:00+00:00": "2023-09-01 00:20",  # BST
        "2023-09-30T22:59:00+00:00": "2023-09-30 23:59",
        "2023-10-31T23:30:00+00:00": "2023-10-31 23:30",  # GMT again
        "2023-11-01T00:10:00+01:00": "2023-10-31 23:10",  # another offset
        "2023-12-01T00:05:00Z": "2023-12-01 00:05",
    }
    lines = [header] + [f"Person search,{stamp},,,,,Male,18-24,,White,,Controlled drugs,"
                        "Arrest,,False" for stamp in stamps]
    extract = project / "offsets.csv"
    extract.write_text("\r\n".join(lines) + "\r\n")
    _kpi(project, "ingest", "stop_search", extract)
    loaded = _stop_search_row(_json(project, "datasets"))
    assert (loaded["rows"], loaded["first"], loaded["last"], loaded["missing"]) == (
        5, "2023-09", "2023-12", ["2023-11"])
    # The table as stored, read with Delta Lake directly rather than through kpi.
    from deltalake import DeltaTable

    stored = DeltaTable(str(project / "data" / "stop_search")).to_pyarrow_table().to_pylist()
    # Each time is stored as its instant (Delta's timestamp, in UTC), its month the UK's.
    assert sorted((r["date"].astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%d %H:%M"),
                   r["month"]) for r in stored) == sorted(
        (clock, clock[:7]) for clock in stamps.values())


# ---------------------------------------------------------------------------------------------
# Outcome wordings over the years, and a force that publishes no outcomes


def _outcome_pattern() -> str:
    spec = tomllib.loads((PROJECT / "kpi.toml").read_text(encoding="utf-8"))
    return spec["datasets"]["street"]["columns"]["last_outcome"]["pattern"]


@realdata
def test_every_outcome_wording_of_the_real_files_is_in_the_pattern():
    """Every distinct 'Last outcome category' of every real street file (2013 to 2025), as
    DuckDB reads them, matches the preset's pattern: none is refused, and the old wordings
    ('No further action at this time') are among them."""
    import re

    files = sorted(REALDATA.rglob("*-street.csv"))
    assert len(files) > 70
    oracle = Street(files)
    wordings = [r[0] for r in oracle.con.execute(
        'SELECT DISTINCT "Last outcome category" FROM street WHERE "Last outcome category" '
        "IS NOT NULL").fetchall()]
    assert "No further action at this time" in wordings and len(wordings) >= 29
    pattern = re.compile(_outcome_pattern())
    assert [w for w in wordings if not pattern.fullmatch(w)] == []


@realdata
def test_files_of_2013_give_no_share_closed_with_no_suspect(tmp_path_factory):
    """The 2013-06 street files of Staffordshire, Warwickshire and West Mercia, downloaded in
    2013, close 4,560 crimes as 'No further action at this time': no share of them is 'no
    suspect identified' (the share read 0.0%), while the court share counts its wordings."""
    files = sorted((REALDATA / "neighbours-2013-06").glob("*-street.csv"))
    project = _new_project(tmp_path_factory, "old-wording")
    _kpi(project, "ingest", "street", *files)
    oracle = Street(files)
    window = ("2013-06", "2013-06")
    old = oracle.with_outcome(window, ["No further action at this time"])
    assert old == 4560
    def month(kpi_id: str) -> float | None:
        trend = _json(project, "show", kpi_id, "--period", "2013-06")["trend"]
        return {t["month"]: t["value"] for t in trend}["2013-06"]

    assert month("no_suspect_share") is None
    assert month("unable_to_prosecute_share") is None
    court = oracle.with_outcome(window, OUTCOME_SHARES["court_share"])
    assert court > 0
    assert month("court_share") == pytest.approx(100 * court / oracle.crimes(window), abs=1e-9)


@realdata
def test_force_without_outcomes_is_left_out_and_named(tmp_path_factory):
    """Warwickshire's 2025 files with every outcome blanked, as PSNI's are: it was ranked 1st
    at 0.0% "closed with no suspect" and the pooled share was 20.9% (44,387 of 212,517). Now
    the two other forces alone are ranked, each at its DuckDB share, the pooled share is over
    the crimes with an outcome, and the summary's quality note names the force."""
    source = sorted((REALDATA / "neighbours-2025" / "street").glob("2025-*-street.csv"))
    folder = tmp_path_factory.mktemp("no-outcomes-files")
    files = []
    for path in source:
        rows = list(csv.reader(path.open(newline="", encoding="utf-8")))
        if "-warwickshire-" in path.name:
            for row in rows[1:]:
                row[2] = row[3] = "Police Service of Northern Ireland"
                row[10] = ""
            path = folder / path.name.replace("warwickshire", "northern-ireland")
        else:
            path = folder / path.name
        with path.open("w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows(rows)
        files.append(path)
    project = _new_project(tmp_path_factory, "no-outcomes")
    _kpi(project, "ingest", "street", *files)
    # DuckDB reads the files as police.uk wrote them: Warwickshire's rows are PSNI's, with
    # no outcome, in kpi's store.
    oracle = Street(source)
    closed = '"Last outcome category" = \'Investigation complete; no suspect identified\''
    shares = {force: (oracle.count(YE_2025, f'"Falls within" = ? AND {closed}', force),
                      oracle.count(YE_2025, '"Falls within" = ? AND "Crime type" <> ? AND '
                                   '"Last outcome category" IS NOT NULL', force, ASB))
              for force in ("Staffordshire Police", "West Mercia Police")}
    compared = {k["id"]: k for k in _json(project, "compare", "--period", "2025-12", "--by",
                                          "force")["kpis"]}["no_suspect_share"]
    got = {p["name"]: (p["current"]["numerator"], p["current"]["denominator"])
           for p in compared["parts"]}
    assert got == shares
    assert "Police Service of Northern Ireland" in compared["note"]
    kpi = _by_id(_json(project, "summary", "--period", "2025-12"))["no_suspect_share"]
    pooled = tuple(sum(got) for got in zip(*shares.values(), strict=True))
    assert (kpi["current"]["numerator"], kpi["current"]["denominator"]) == pooled
    assert pooled == (44387, 172297)
    psni = oracle.count(YE_2025, '"Falls within" = ?', "Warwickshire Police")
    assert any(f"blank on every one of the {psni:,} rows of Police Service of Northern Ireland"
               in note for note in kpi["quality"]), kpi["quality"]
