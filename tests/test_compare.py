"""kpi compare on a small generated project, every number against DuckDB over the same CSV;
derived columns, peer groups, population references, and the significance between parts."""

from __future__ import annotations

import csv
import json
import random
import re
import statistics
from pathlib import Path

import duckdb
import inprocess
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle_support import excel_text

from kpi import stats
from kpi.catalogue import Better, parse_project_file
from kpi.compare import PartResult, _ranked

PROJECT = """
[project]
name = "Four forces"
baseline = "2024-12"

[population_by]
force = "reference/force-population.csv"

[peers.similar]
title = "similar forces"
column = "force"
members = ["Avon", "Bure", "Cam"]
focus = "Cam"

[peers.with_missing]
column = "force"
members = ["Avon", "Eden"]
focus = "Eden"

[datasets.crimes]
date = "date"
[datasets.crimes.columns]
date = { type = "date", from = ["Date"] }
force = { type = "str", from = ["Force"] }
lsoa = { type = "str", from = ["LSOA"] }
crime_type = { type = "str", from = ["Type"] }
outcome = { type = "str", from = ["Outcome"] }
[datasets.crimes.derived]
local_authority = "regexp_replace(lsoa, ' [0-9]{3}[A-Z]$', '')"
is_theft = "crime_type = 'Theft'"

[[priorities]]
id = "crime"
title = "Crime"

[[kpis]]
id = "total_crime"
title = "Total crime"
priority = "crime"
kind = "count"
dataset = "crimes"
better = "lower"
breakdowns = ["force", "local_authority"]

[[kpis]]
id = "thefts"
title = "Thefts"
priority = "crime"
kind = "count"
dataset = "crimes"
filter = "is_theft"
better = "lower"
peers = "similar"

[[kpis]]
id = "charged_share"
title = "Crimes charged"
priority = "crime"
kind = "rate"
dataset = "crimes"
numerator = "outcome = 'Charged'"
better = "higher"

[[kpis]]
id = "drugs"
title = "Drugs"
priority = "crime"
kind = "count"
dataset = "crimes"
filter = "crime_type = 'Drugs'"
better = "neutral"
"""

FORCES = {"Avon": 300_000, "Bure": 150_000, "Cam": 600_000, "Dee": 90_000}
PLACES = {"Avon": ["Avonton 001A", "Avonton 002B", "Riverside 010C"],
          "Bure": ["Bure Vale 001A"], "Cam": ["Camford 003D", "Camford 004E"],
          "Dee": ["Deeside 007F"]}
TYPES = ["Theft", "Burglary", "Drugs", "Assault"]



def _focus_row(table: str) -> str:
    """The name of the part whose row of each KPI's table in `kpi compare` is marked as the
    focus (in the column of the tests against it), its name as printed: one in every
    table."""
    from kpi.cli.compare_command import FOCUS_CELL

    rows = [line for line in table.splitlines() if line.rstrip().endswith(FOCUS_CELL)]
    names = {re.split(r"\s{2,}", row.strip())[1] for row in rows}
    assert len(names) == 1 and len(rows) == table.count("\nrank "), table
    return names.pop()

def _write_rows(path: Path, seed: int = 7) -> None:
    rng = random.Random(seed)
    rows = []
    for year in (2024, 2025):
        for month in range(1, 13):
            for force, population in FORCES.items():
                for _ in range(population // 20_000 + rng.randrange(0, 6)):
                    rows.append({
                        "Date": f"{year}-{month:02d}-{rng.randrange(1, 28):02d}",
                        "Force": force, "LSOA": rng.choice(PLACES[force]),
                        "Type": rng.choice(TYPES),
                        "Outcome": rng.choice(["Charged", "No suspect", "No suspect"]),
                    })
    rng.shuffle(rows)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _written(folder: Path, toml: str = PROJECT, population: str = "") -> Path:
    """A compare project in `folder`: its kpi.toml, the forces' populations (and the
    `population` rows after them) and the crimes extract, not yet loaded."""
    (folder / "kpi.toml").write_text(toml)
    (folder / "reference").mkdir()
    (folder / "reference" / "force-population.csv").write_text(
        "force,population,year\n" + "".join(f"{f},{p},2024\n" for f, p in FORCES.items())
        + population)
    _write_rows(folder / "crimes.csv")
    return folder


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    # a later year than any window: never used
    folder = _written(tmp_path_factory.mktemp("compare"), population="Avon,1,2030\n")
    _kpi(folder, "ingest", "crimes", folder / "crimes.csv")
    return folder


def _kpi(project: Path, *args, code: int = 0) -> str:
    from typer.testing import CliRunner

    from kpi.cli import app

    result = CliRunner().invoke(app, ["--project", str(project), *[str(a) for a in args]])
    assert result.exit_code == code, result.output
    return result.stdout


def _compare(project: Path, *args) -> dict:
    return json.loads(_kpi(project, "compare", "--format", "json", *args))


@pytest.fixture(scope="module")
def oracle(project):
    con = duckdb.connect()
    con.execute(f"CREATE TABLE crimes AS SELECT * FROM read_csv('{project / 'crimes.csv'}', "
                "header = true, all_varchar = true)")
    return con


def _counts(con, condition: str, start: str, end: str, by: str = "Force") -> dict[str, int]:
    return dict(con.execute(
        f"SELECT {by}, count(*) FROM crimes WHERE Date >= '{start}-01' AND Date <= '{end}-31' "
        f"AND ({condition}) GROUP BY 1").fetchall())


def _loaded_with_asb(folder: Path, rows: str) -> dict[str, int]:
    """The crimes extract and an ASB extract of `rows` (Date,Force lines) loaded; DuckDB's
    count of ASB incidents by force in 2025, the oracle."""
    (folder / "asb.csv").write_text("Date,Force\n" + rows, encoding="utf-8")
    _kpi(folder, "ingest", "crimes", folder / "crimes.csv")
    _kpi(folder, "ingest", "asb", folder / "asb.csv")
    return dict(duckdb.connect().execute(
        f"SELECT Force, count(*) FROM read_csv('{folder / 'asb.csv'}', header = true, "
        "all_varchar = true) WHERE Date >= '2025-01-01' AND Date <= '2025-12-31' "
        "GROUP BY 1").fetchall())


def _ranks(con, values: dict[str, float], higher_is_better: bool) -> dict[str, int]:
    """Competition ranks by DuckDB's rank(), independently of kpi."""
    con.execute("CREATE OR REPLACE TEMP TABLE v (part VARCHAR, value DOUBLE)")
    con.executemany("INSERT INTO v VALUES (?, ?)", list(values.items()))
    order = "DESC" if higher_is_better else "ASC"
    return dict(con.execute(f"SELECT part, rank() OVER (ORDER BY value {order}) FROM v")
                .fetchall())


def test_counts_rates_ranks_and_group_centre_match_duckdb(project, oracle):
    got = _compare(project, "--period", "2025-12", "--by", "force", "--vs", "yoy")
    assert got["period"] == "2025-12" and got["by"] == "force" and got["comparison"] == "yoy"
    kpis = {k["id"]: k for k in got["kpis"]}
    assert set(kpis) == {"total_crime", "thefts", "charged_share", "drugs"}

    total = kpis["total_crime"]
    current = _counts(oracle, "TRUE", "2025-01", "2025-12")
    previous = _counts(oracle, "TRUE", "2024-01", "2024-12")
    parts = {p["name"]: p for p in total["parts"]}
    assert {n: p["current"]["value"] for n, p in parts.items()} == current
    assert {n: p["comparison"]["value"] for n, p in parts.items()} == previous
    for name, part in parts.items():
        assert part["change"]["absolute"] == current[name] - previous[name]
        assert part["per_1000"] == pytest.approx(current[name] / FORCES[name] * 1000)
        assert part["population"] == FORCES[name]
    # Counts with a population are ranked per 1,000 (lower is better), not on size.
    assert total["ranked_on"] == "per_1000"
    per_1000 = {n: current[n] / FORCES[n] * 1000 for n in current}
    assert {n: p["rank"] for n, p in parts.items()} == _ranks(oracle, per_1000, False)
    assert [p["rank"] for p in total["parts"]] == sorted(p["rank"] for p in total["parts"])
    assert total["mean"] == pytest.approx(statistics.fmean(current.values()))
    assert total["median"] == pytest.approx(statistics.median(current.values()))
    assert total["mean_per_1000"] == pytest.approx(statistics.fmean(per_1000.values()))

    thefts = {p["name"]: p["current"]["value"] for p in kpis["thefts"]["parts"]}
    assert thefts == _counts(oracle, "Type = 'Theft'", "2025-01", "2025-12")

    share = {p["name"]: p for p in kpis["charged_share"]["parts"]}
    charged = _counts(oracle, "Outcome = 'Charged'", "2025-01", "2025-12")
    for name, part in share.items():
        assert part["current"]["numerator"] == charged[name]
        assert part["current"]["denominator"] == current[name]
        assert part["current"]["value"] == pytest.approx(100 * charged[name] / current[name])
        assert part["per_1000"] is None  # a share is not a count per population
    assert kpis["charged_share"]["ranked_on"] == "value"
    assert ({n: p["rank"] for n, p in share.items()}
            == _ranks(oracle, {n: p["current"]["value"] for n, p in share.items()}, True))
    # A KPI with no better direction is not ranked.
    assert kpis["drugs"]["ranked_on"] is None
    assert all(p["rank"] is None for p in kpis["drugs"]["parts"])


def test_significance_between_parts_uses_the_summary_tests(project, oracle):
    got = _compare(project, "--period", "2025-12", "--by", "force", "--focus", "Cam")
    kpis = {k["id"]: k for k in got["kpis"]}
    current = _counts(oracle, "TRUE", "2025-01", "2025-12")
    charged = _counts(oracle, "Outcome = 'Charged'", "2025-01", "2025-12")
    for part in kpis["total_crime"]["parts"]:
        name = part["name"]
        rest = [f for f in FORCES if f != name]
        expected = stats.poisson_test(current[name], FORCES[name],
                                      sum(current[f] for f in rest), sum(FORCES[f] for f in rest))
        assert part["vs_rest"]["p_value"] == pytest.approx(expected.p_value)
        # judged at 5% divided among the parts tested, every force here (docs/statistics.md)
        assert expected.p_value is not None
        assert part["vs_rest"]["significant"] == (expected.p_value < 0.05 / len(FORCES))
        if name == "Cam":
            assert part["focus"] is True and part["vs_focus"] is None
        else:
            versus = stats.poisson_test(current[name], FORCES[name], current["Cam"],
                                        FORCES["Cam"])
            assert part["vs_focus"]["p_value"] == pytest.approx(versus.p_value)
    for part in kpis["charged_share"]["parts"]:
        name = part["name"]
        rest = [f for f in FORCES if f != name]
        expected = stats.proportion_test(charged[name], current[name],
                                         sum(charged[f] for f in rest),
                                         sum(current[f] for f in rest))
        assert part["vs_rest"]["test"] == stats.TWO_PROPORTIONS
        assert part["vs_rest"]["p_value"] == pytest.approx(expected.p_value)


def test_peer_group_restricts_and_ranks_within_it(project, oracle):
    got = _compare(project, "--period", "2025-12", "--by", "force", "--peers", "similar",
                   "--kpi", "thefts")
    assert got["peers"]["members"] == ["Avon", "Bure", "Cam"]
    parts = got["kpis"][0]["parts"]
    thefts = _counts(oracle, "Type = 'Theft'", "2025-01", "2025-12")
    per_1000 = {f: thefts[f] / FORCES[f] * 1000 for f in ("Avon", "Bure", "Cam")}
    assert {p["name"]: p["rank"] for p in parts} == _ranks(oracle, per_1000, False)
    # The focus joins the group it is compared with.
    with_dee = _compare(project, "--period", "2025-12", "--by", "force", "--peers", "similar",
                        "--kpi", "thefts", "--focus", "Dee")
    assert {p["name"] for p in with_dee["kpis"][0]["parts"]} == {"Avon", "Bure", "Cam", "Dee"}


def test_derived_column_is_a_breakdown_and_a_comparison(project, oracle):
    got = _compare(project, "--period", "2025-12", "--by", "local_authority",
                   "--kpi", "total_crime")
    expected = _counts(oracle, "TRUE", "2025-01", "2025-12",
                       by="regexp_replace(LSOA, ' [0-9]{3}[A-Z]$', '')")
    assert {p["name"]: p["current"]["value"] for p in got["kpis"][0]["parts"]} == expected
    assert set(expected) == {"Avonton", "Riverside", "Bure Vale", "Camford", "Deeside"}
    # No population reference for this column: ranked on the values, counts not tested.
    assert got["kpis"][0]["ranked_on"] == "value"
    assert got["kpis"][0]["parts"][0]["vs_rest"]["test"] is None


def test_a_part_not_tested_has_test_null_as_the_summary_and_show(project):
    """`vs_rest` and `vs_focus` said `test: "not_tested"` where the summary's
    `significance.test` and `kpi show`'s `signal.test` are null, so a consumer filtering on
    `test` needed two rules. Where no test applies (no population reference for a count) both
    are null now, every figure null with them, the note saying why; where a test applies it is
    named, as before. The document validates against compare.json, which refuses the string."""
    from importlib.resources import files

    import jsonschema

    schema = json.loads((files("kpi") / "schemas" / "compare.json").read_text(encoding="utf-8"))
    untested = _compare(project, "--period", "2025-12", "--by", "local_authority",
                        "--kpi", "total_crime", "--focus", "Camford")
    jsonschema.validate(untested, schema)
    parts = untested["kpis"][0]["parts"]
    assert len(parts) == 5
    for part in parts:
        tests = [part["vs_rest"]] + ([part["vs_focus"]] if part["name"] != "Camford" else [])
        assert part["name"] != "Camford" or part["vs_focus"] is None
        for test in tests:
            assert (test["test"], test["statistic"], test["p_value"], test["significant"]) \
                == (None, None, None, None), (part["name"], test)
            assert "population" in test["note"], test["note"]
    tested = _compare(project, "--period", "2025-12", "--by", "force", "--kpi", "total_crime")
    jsonschema.validate(tested, schema)
    assert {p["vs_rest"]["test"] for p in tested["kpis"][0]["parts"]} == {stats.POISSON_EXACT}
    untested["kpis"][0]["parts"][0]["vs_rest"]["test"] = "not_tested"
    assert not jsonschema.Draft202012Validator(schema).is_valid(untested)


def test_table_csv_and_markdown(project):
    table = _kpi(project, "compare", "--period", "2025-12", "--by", "force", "--focus", "Avon",
                 "--kpi", "total_crime")
    assert _focus_row(table) == "Avon" and "per 1,000" in table and "ranked per 1,000" in table
    rows = list(csv.DictReader(_kpi(project, "compare", "--period", "2025-12", "--by", "force",
                                    "--format", "csv").splitlines()))
    assert len(rows) == 4 * 4 and {r["kpi"] for r in rows} == {"total_crime", "thefts",
                                                                 "charged_share", "drugs"}
    markdown = _kpi(project, "compare", "--period", "2025-12", "--by", "force",
                    "--format", "markdown", "--kpi", "thefts")
    assert markdown.startswith("# Four forces: by force") and "| rank | force |" in markdown


@pytest.mark.parametrize("args, message", [
    (["--by", "nothing"], "no KPI can be compared by 'nothing'"),
    (["--by", "force", "--peers", "nope"], "unknown peer group 'nope'"),
    (["--by", "lsoa", "--peers", "similar"], "peer group 'similar' is a group of 'force'"),
    (["--by", "force", "--focus", "Nowhere"], "--focus 'Nowhere' is not a part of 'force'"),
    (["--by", "force", "--kpi", "missing"], "unknown KPI 'missing'"),
    (["--by", "date", "--kpi", "total_crime"], "KPI 'total_crime' cannot be compared by "
     "'date': 'date' is a date column, and parts are categories"),
    # It said "did you mean 'date'?", the very name given.
    (["--by", "date"], "no KPI can be compared by 'date': 'date' is a date column, and parts "
     "are categories"),
])
def test_usage_errors_exit_2_with_one_line(project, args, message):
    result = inprocess.run(["--project", project, "compare", "--period", "2025-12", *args])
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert "did you mean 'date'" not in result.stderr


def test_bad_population_file_is_a_data_error_naming_row_and_column(project, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    (copy / "reference" / "force-population.csv").write_text(
        "force,population,year\nAvon,300000,2024\nBure,lots,2024\n")
    result = inprocess.run(["--project", copy, "compare", "--period", "2025-12", "--by", "force"])
    assert result.returncode == 3
    assert "force-population.csv, row 3, column 'population': expected a population that is a " \
        "finite number above 0, found 'lots'" in result.stderr
    (copy / "reference" / "force-population.csv").write_text(
        "force,population,year\nAvon,300000,2024\nAvon,310000,2024\n")
    again = inprocess.run(["--project", copy, "compare", "--period", "2025-12", "--by", "force"])
    assert again.returncode == 3 and "row 3, column 'force': found 'Avon' for 2024 again" \
        in again.stderr


def test_a_population_file_names_parts_as_the_store_does_whatever_its_case(project, tmp_path,
                                                                          oracle):
    """'AVON', 'bure\u200b' and 'dee' are the populations of the stored Avon, Bure and Dee, as
    a weights file's keys are: they were "no population for Avon, Bure, Dee: ranked on the
    values"."""
    import shutil

    from kpi.compare import read_populations

    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    (copy / "reference" / "force-population.csv").write_text(
        "force,population,year\n" + "".join(
            f"{written},{FORCES[name]},2024\n"
            for name, written in (("Avon", "AVON"), ("Bure", "bure\u200b"), ("Cam", " Cam"),
                                  ("Dee", "dee"))),
        encoding="utf-8")
    read_populations.cache_clear()
    total = next(k for k in _compare(copy, "--period", "2025-12", "--by", "force")["kpis"]
                 if k["id"] == "total_crime")
    current = _counts(oracle, "TRUE", "2025-01", "2025-12")
    assert total["ranked_on"] == "per_1000" and total["note"] is None
    assert {p["name"]: p["per_1000"] for p in total["parts"]} == pytest.approx(
        {n: current[n] / FORCES[n] * 1000 for n in current})
    (copy / "reference" / "force-population.csv").write_text(
        "force,population,year\nAvon,300000,2024\nAVON,310000,2024\n", encoding="utf-8")
    read_populations.cache_clear()
    refused = inprocess.run(["--project", copy, "compare", "--period", "2025-12", "--by", "force"])
    assert refused.returncode == 3
    assert "row 3, column 'force': found 'AVON' for 2024 again (parts ignore case, " \
        in refused.stderr


def test_a_population_file_is_read_by_its_columns_names_in_any_order(project, tmp_path, oracle):
    """Read by position, 'force,year,population' took each year as the population and each
    population as the year: with populations of 1,950 to 2,010 (a neighbourhood's, inside the
    years' range) nothing was refused, and every force was "per 1,000 of 2,024 people", exit
    0; names kpi did not know ('area,people,est') were read as the order they stood in. Each
    column is now bound by its name alone, in any order and case, and a column naming none of
    them is not read (a source, a trailing comma's blank column); a heading that names one
    twice or leaves one out is refused on row 1 naming the file and the column, with the
    names kpi reads."""
    import shutil

    from kpi.compare import read_populations

    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    people = {"Avon": 1950, "Bure": 2000, "Cam": 2010, "Dee": 1990}
    current = _counts(oracle, "TRUE", "2025-01", "2025-12")
    population = copy / "reference" / "force-population.csv"

    def written(heading: str) -> None:
        cells = {"force": "{name}", "part": "{name}", "population": "{n}", "year": "2024",
                 "source": "ONS mid-2024", "": ""}
        row = ",".join(cells.get(h.strip().lower(), "{n}") for h in heading.split(","))
        population.write_text(heading + "\n" + "".join(
            row.format(name=name, n=n) + "\n" for name, n in people.items()),
            encoding="utf-8")
        read_populations.cache_clear()

    # a column naming none of the three is not read: a file's source, the blank column of
    # the trailing comma Excel writes (both refused at row 1 by the rule before)
    for heading in ("force,year,population", "year,force,population", "Population,Year,PART",
                    " force , population , year ", "force,population,year,source",
                    "force,population,year,", "source,year,force,population"):
        written(heading)
        total = next(k for k in _compare(copy, "--period", "2025-12", "--by", "force")["kpis"]
                     if k["id"] == "total_crime")
        assert {p["name"]: p["population"] for p in total["parts"]} == people, heading
        assert {p["name"]: p["per_1000"] for p in total["parts"]} == pytest.approx(
            {n: current[n] / people[n] * 1000 for n in current}), heading
    hint = "Hint: name the columns force (or part), population and year, in any order"
    for heading, message in (
            ("force,period,residents", "row 1: no column 'population' or 'year' (kpi does "
             "not read 'period', 'residents')"),
            ("area,people,est", "row 1: no column 'force' or 'population' or 'year' (kpi does "
             "not read 'area', 'people', 'est')"),
            ("force,population,year,Year", "row 1, column 'Year': names the year again, after "
             "column 'year'"),
            ("force,population,year,population", "row 1, column 'population': names the "
             "population again, after column 'population'"),
            ("part,population,force,year", "row 1, column 'force': names the part again, "
             "after column 'part'"),
            ("force,population", "row 1: no column 'year'")):
        written(heading)
        refused = inprocess.run(["--project", copy, "compare", "--period", "2025-12",
                                 "--by", "force"])
        assert refused.returncode == 3, refused.stderr
        assert refused.stderr.splitlines() == [f"Error: {population}, {message}", hint], heading


def test_a_population_file_in_another_order_gives_the_rate_counted_by_hand(tmp_path):
    """By hand: in the year ending June 2025 Avon has 18 crimes (one a month and six more in
    January to June 2025) and Bure 12 (one a month); 1,990 and 2,010 people. 'force,year,
    residents' read by position gave 18 / 2,024 = 8.9 per 1,000 and 5.9, exit 0; by name,
    'year,population,force' gives 18 / 1,990 = 9.05 and 12 / 2,010 = 5.97."""
    folder = tmp_path / "p"
    (folder / "reference").mkdir(parents=True)
    (folder / "kpi.toml").write_text(
        '[project]\nname = "Two"\nbaseline = "2024-12"\n[population_by]\n'
        'force = "reference/pop.csv"\n[datasets.crimes]\ndate = "date"\n'
        '[datasets.crimes.columns]\ndate = { type = "date", from = ["Date"] }\n'
        'force = { type = "str", from = ["Force"] }\n[[priorities]]\nid = "c"\n'
        'title = "C"\n[[kpis]]\nid = "crime"\ntitle = "Crime"\npriority = "c"\n'
        'kind = "count"\ndataset = "crimes"\nbetter = "lower"\n', encoding="utf-8")
    months = [f"2024-{m:02d}" for m in range(7, 13)] + [f"2025-{m:02d}" for m in range(1, 7)]
    rows = [f"{m}-10,{force}" for m in months for force in ("Avon", "Bure")]
    rows += [f"{m}-12,Avon" for m in months[6:]]
    (folder / "crimes.csv").write_text("Date,Force\n" + "\n".join(rows) + "\n")
    _kpi(folder, "ingest", "crimes", folder / "crimes.csv")
    (folder / "reference" / "pop.csv").write_text(
        "year,population,force\n2024,1990,Avon\n2024,2010,Bure\n", encoding="utf-8")
    (crime,) = _compare(folder, "--period", "2025-06", "--by", "force")["kpis"]
    assert {p["name"]: (p["current"]["value"], p["population"], p["per_1000"])
            for p in crime["parts"]} == {"Avon": (18, 1990, pytest.approx(18 / 1990 * 1000)),
                                         "Bure": (12, 2010, pytest.approx(12 / 2010 * 1000))}
    # a fourth column, the source, and the blank one of a trailing comma are not read (they
    # were refused at row 1 where 'force,population,year' was read)
    for text in ("force,population,year,source\nAvon,1990,2024,ONS\nBure,2010,2024,ONS\n",
                 "force,population,year,\nAvon,1990,2024,\nBure,2010,2024,\n"):
        (folder / "reference" / "pop.csv").write_text(text, encoding="utf-8")
        (crime,) = _compare(folder, "--period", "2025-06", "--by", "force")["kpis"]
        assert {p["name"]: (p["population"], p["per_1000"]) for p in crime["parts"]} == {
            "Avon": (1990, pytest.approx(18 / 1990 * 1000)),
            "Bure": (2010, pytest.approx(12 / 2010 * 1000))}, text
    (folder / "reference" / "pop.csv").write_text(
        "force,year,residents\nAvon,2024,1990\nBure,2024,2010\n", encoding="utf-8")
    refused = inprocess.run(["--project", folder, "compare", "--period", "2025-06",
                             "--by", "force"])
    assert refused.returncode == 3 and refused.stdout == ""
    assert refused.stderr.splitlines()[0] == (
        f"Error: {folder / 'reference' / 'pop.csv'}, row 1: no column 'population' (kpi does "
        "not read 'residents')")


@pytest.mark.parametrize("expression, message", [
    ("count(force)", "uses the aggregate COUNT(...)"),
    ("sum(1) over ()", "uses a window function (OVER ...)"),
    ("force IN (SELECT force FROM crimes)", "holds a subquery (SELECT ...)"),
    ("force IN (SELECT column_1 FROM read_csv('x.csv'))", "reads a table ('read_csv')"),
    ("upper(nowhere)", "refers to 'nowhere'"),
])
def test_derived_columns_must_be_row_level(tmp_path, expression, message):
    text = PROJECT.replace("is_theft = \"crime_type = 'Theft'\"",
                           f"is_theft = \"{expression}\"")
    path = tmp_path / "kpi.toml"
    path.write_text(text)
    with pytest.raises(Exception) as caught:
        parse_project_file(path)
    assert "derived.is_theft" in str(caught.value) and message in str(caught.value)


def test_peer_groups_are_validated(tmp_path):
    text = PROJECT.replace('column = "force"\nmembers = ["Avon", "Bure", "Cam"]',
                           'column = "region"\nmembers = ["Avon"]')
    path = tmp_path / "kpi.toml"
    path.write_text(text)
    with pytest.raises(Exception) as caught:
        parse_project_file(path)
    assert "peer group 'similar', key 'column': 'region' is not a column" in str(caught.value)


@given(st.lists(st.integers(0, 5), min_size=1, max_size=12), st.booleans())
def test_ranks_are_competition_ranks(values, higher):
    """Rank = 1 + the number of parts strictly better; equal values share a rank. Each part
    has a current figure and no comparison, so no change: no data, as the engine judges it
    (a judged status beside no change is refused where a part is built)."""
    from kpi.engine import Measured, Outcome
    from kpi.periods import Window

    window = Window.parse("YE 2025-12")
    parts = [PartResult(f"p{i}", Measured(window, float(v)), None, None, Outcome.NO_DATA,
                        None) for i, v in enumerate(values)]
    ranked = _ranked(parts, Better.HIGHER if higher else Better.LOWER, "value")
    for part in ranked:
        value = part.current.value
        better = sum(1 for v in values if (v > value if higher else v < value))
        assert part.rank == better + 1
    assert [p.rank for p in ranked] == sorted(p.rank for p in ranked)


def _documented_fields(heading: str) -> set[str]:
    """Backticked names in the first column of a table under `heading` in docs/json.md."""
    import re

    text = (Path(__file__).resolve().parents[1] / "docs" / "json.md").read_text()
    section = text.split(f"### {heading}\n", 1)[1].split("\n### ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for cell in rows for name in re.findall(r"`([a-z_0-9]+)`", cell)}


def test_json_shape_is_the_documented_one(project):
    got = _compare(project, "--period", "2025-12", "--by", "force", "--focus", "Avon",
                   "--peers", "similar")
    assert set(got) == _documented_fields("Top level (compare)")
    kpi = got["kpis"][0]
    assert set(kpi) == _documented_fields("Each KPI (compare)")
    part = kpi["parts"][0]
    assert set(part) == _documented_fields("Each part")
    assert set(part["current"]) == {"value", "start", "end", "numerator", "denominator"}
    assert set(part["vs_rest"]) == {"test", "statistic", "p_value", "significant", "note",
                                    "tests"}
    header = _kpi(project, "compare", "--period", "2025-12", "--by", "force",
                  "--format", "csv").splitlines()[0]
    docs = (Path(__file__).resolve().parents[1] / "docs" / "json.md").read_text()
    listed = docs.split("### CSV (compare)", 1)[1].split(":", 1)[1].split(".\n")[0]
    assert header.split(",") == [c.strip(" `\n") for c in listed.split(",")]


def test_board_paper_compares_with_peers_when_the_data_holds_them(project, oracle, tmp_path):
    from kpi.compare import peer_sentence
    from kpi.periods import Comparison, Month

    paper = tmp_path / "paper.md"
    _kpi(project, "export", "markdown", "--period", "2025-12", "--vs", "yoy",
         "--output", paper)
    text = paper.read_text().replace("\\(", "(").replace("\\)", ")")  # Markdown escapes
    thefts = _counts(oracle, "Type = 'Theft'", "2025-01", "2025-12")
    per_1000 = {f: thefts[f] / FORCES[f] * 1000 for f in ("Avon", "Bure", "Cam")}
    rank = _ranks(oracle, per_1000, False)["Cam"]
    ordinal = {1: "1st", 2: "2nd", 3: "3rd"}[rank]
    assert (f"Compared with peers (similar forces: Avon, Bure), Cam ranked {ordinal} of 3 in "
            f"the year ending December 2025, where 1st is the lowest, with "
            f"{excel_text(per_1000['Cam'], 2, True)} per 1,000 people against a group median of "
            f"{excel_text(statistics.median(per_1000.values()), 2, True)}") in text
    assert text.count("Compared with peers") == 1  # only the KPI that declares it
    # A group the data does not hold in full gets no sentence.
    loaded = parse_project_file(project / "kpi.toml")
    kpi = loaded.kpi("thefts")
    from dataclasses import replace as changed

    assert peer_sentence(loaded, changed(kpi, peers="with_missing"), Month.parse("2025-12"),
                         Comparison.YOY) is None
    assert peer_sentence(loaded, kpi, Month.parse("2025-12"), Comparison.YOY).startswith(
        "Compared with peers")


def test_before_a_peer_sentence_the_paper_says_whose_rows_the_kpis_figure_adds(project, oracle,
                                                                             tmp_path):
    """The KPI's own figure adds up the thefts of every force the data holds, Dee outside the
    group among them; the peer sentence after it ranks Cam's figure alone. Read together, the
    first read as Cam's. The paper says whose rows the figure is, from the data (DuckDB)."""
    paper = tmp_path / "paper.md"
    _kpi(project, "export", "markdown", "--period", "2025-12", "--vs", "yoy",
         "--output", paper)
    text = paper.read_text().replace("\\(", "(").replace("\\)", ")")
    thefts = _counts(oracle, "Type = 'Theft'", "2025-01", "2025-12")
    assert sorted(thefts) == ["Avon", "Bure", "Cam", "Dee"]
    paragraph = next(line for line in text.splitlines() if "**Thefts.**" in line)
    total = f"{sum(thefts.values()):,}"
    assert f" {total} " in paragraph.split("Compared with peers")[0]  # the KPI's figure
    assert (f"By force, the figure of {total} is that of every part the data holds together "
            "(Avon, Bure, Cam and Dee), not of Cam alone. Compared with peers (similar forces: "
            "Avon, Bure), Cam ranked") in paragraph


def test_whose_rows_a_figure_adds_names_the_rows_with_no_part(tmp_path):
    """Rows with no force are in the KPI's figure too: said after the forces named, and a
    figure of the focus's rows alone gets no such sentence (there is nothing to tell apart)."""
    from kpi.compare import whole_parts
    from kpi.periods import Month, Window

    folder = _written(tmp_path)
    rows = (folder / "crimes.csv").read_text().splitlines()
    blank = rows[1].split(",")
    blank[rows[0].split(",").index("Force")] = ""
    blank[rows[0].split(",").index("Date")] = "2025-06-15"
    blank[rows[0].split(",").index("Type")] = "Theft"
    (folder / "crimes.csv").write_text("\n".join([*rows, ",".join(blank)]) + "\n")
    _kpi(folder, "ingest", "crimes", folder / "crimes.csv")
    loaded = parse_project_file(folder / "kpi.toml")
    year = Window.year_ending(Month.parse("2025-12"))
    got = whole_parts(loaded, loaded.kpi("total_crime"), year, "force", None)
    assert got == ("Avon", "Bure", "Cam", "Dee", None)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{folder / 'crimes.csv'}', "
                "header = true, all_varchar = true)")
    held = {r[0] for r in con.execute("SELECT DISTINCT Force FROM t WHERE Date >= '2025-01-01' "
                                      "AND Date <= '2025-12-31'").fetchall()}
    assert set(got) == held  # DuckDB reads the blank force as NULL
    paper = folder / "paper.md"
    _kpi(folder, "export", "markdown", "--period", "2025-12", "--vs", "yoy", "--output", paper)
    assert ("(Avon, Bure, Cam, Dee and rows with no force), not of Cam alone. Compared with peers"
            in paper.read_text())


def test_the_peer_sentence_says_its_test_leaves_out_months_not_final(project, oracle):
    """A KPI with provisional months: the rank and median are of the whole window, the test
    of the focus against the rest is over the window without its last months (as `kpi
    compare` tests it), and the sentence says so beside the p-value, which is DuckDB's counts'
    over those months."""
    from dataclasses import replace as changed

    from kpi.compare import peer_sentence
    from kpi.periods import Comparison, Month

    loaded = parse_project_file(project / "kpi.toml")
    kpi = loaded.kpi("thefts")
    thefts = _counts(oracle, "Type = 'Theft'", "2025-01", "2025-10")
    rest = ["Avon", "Bure"]
    expected = stats.poisson_test(thefts["Cam"], FORCES["Cam"], sum(thefts[f] for f in rest),
                                  sum(FORCES[f] for f in rest))
    assert expected.p_value is not None
    shown = ("< 0.001" if expected.p_value < 0.001
             else f"= {excel_text(expected.p_value, 3)}")
    text = peer_sentence(loaded, changed(kpi, provisional_months=2), Month.parse("2025-12"),
                         Comparison.YOY)
    # Each force with 50 thefts and its rest with 50 is tested against the rest, the tests
    # judged at 0.05/m (stats.parts_judged, docs/statistics.md): here Cam alone.
    every = sum(thefts[f] for f in ("Cam", *rest))
    m = sum(1 for f in ("Cam", *rest) if thefts[f] >= 50 and every - thefts[f] >= 50)
    judged = f", judged against 0.05/{m} for the {m} parts tested" if m > 1 else ""
    assert text is not None and text.endswith(
        f" (p {shown}{judged}; tested without the window's last 2 months, not final yet).")
    # Without provisional months, no such words.
    plain = peer_sentence(loaded, kpi, Month.parse("2025-12"), Comparison.YOY)
    assert plain is not None and "not final" not in plain


def test_parts_add_up_to_the_summary(project):
    """Every row has a force, so the parts of a count add up to the summary's total, and the
    parts of a rate's numerator and denominator to the summary's."""
    compared = {k["id"]: k for k in _compare(project, "--period", "2025-12", "--by", "force",
                                             "--vs", "yoy")["kpis"]}
    summary = {k["id"]: k for k in json.loads(_kpi(project, "summary", "--period", "2025-12",
                                                   "--vs", "yoy", "--format", "json"))["kpis"]}
    for kpi_id in ("total_crime", "thefts", "drugs"):
        for window in ("current", "comparison"):
            assert sum(p[window]["value"] for p in compared[kpi_id]["parts"]) == \
                summary[kpi_id][window]["value"]
    for field in ("numerator", "denominator"):
        assert sum(p["current"][field] for p in compared["charged_share"]["parts"]) == \
            summary["charged_share"]["current"][field]


def test_a_peer_group_the_data_holds_in_part_is_named_not_hidden(project):
    """Eden (the group's focus) has no rows: the comparison runs for Avon and says so."""
    result = inprocess.run(["--project", project, "compare", "--period", "2025-12", "--by", "force",
                            "--peers", "with_missing", "--kpi", "thefts", "--format", "json"])
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert [p["name"] for p in got["kpis"][0]["parts"]] == ["Avon"]
    assert got["focus"] is None
    assert "the data holds no rows for Eden of peer group 'with_missing'" in got["notes"]
    assert "Note: the data holds no rows for Eden, the focus of peer group" in result.stderr


def _peer_paper(project_file: Path, charts=(), peers=None):
    """The board paper for 2025-12 against the year before, built in process."""
    from dataclasses import replace as changed

    from kpi import board, engine, paper
    from kpi.periods import Comparison, Month

    loaded = parse_project_file(project_file)
    if peers is not None:
        loaded = changed(loaded, peers={**loaded.peers, **peers})
    report = engine.evaluate(loaded, Month.parse("2025-12"), Comparison.YOY)
    model = board.model(loaded, report, charts=charts)
    return model, report, paper.build_paper(model)


def test_board_paper_peer_figure_draws_what_kpi_compare_says(project, oracle):
    """The figure's numbers are kpi compare's JSON for the same KPI and group (per 1,000
    population, as the project has a population reference for forces), and DuckDB's."""
    from kpi import board, charts
    from kpi.document import plain_text

    model, report, built = _peer_paper(project / "kpi.toml")
    [planned] = built.figures
    assert planned.spec.type == charts.ChartType.PEERS and planned.spec.kpis == ("thefts",)
    data = model.figures[planned.spec.id]
    # The figure the paper draws is the one its chart's data gives when asked alone.
    alone = board.chart_data(model.project, planned.spec, report)
    assert alone is not None and alone.parts.equals(data.parts)
    assert (alone.peer_mean, alone.per_1000) == (data.peer_mean, data.per_1000)
    drawn = {p: v for p, v, _ in data.parts.iter_rows()}
    assert data.per_1000 and data.parts.filter("focus")["part"].to_list() == ["Cam"]

    got = _compare(project, "--period", "2025-12", "--by", "force", "--vs", "yoy",
                   "--kpi", "thefts", "--peers", "similar")["kpis"][0]
    assert drawn == {p["name"]: p["per_1000"] for p in got["parts"]}
    assert data.peer_mean == got["mean_per_1000"]
    thefts = _counts(oracle, "Type = 'Theft'", "2025-01", "2025-12")
    expected = {f: thefts[f] / FORCES[f] * 1000 for f in ("Avon", "Bure", "Cam")}
    assert drawn == pytest.approx(expected)
    assert data.peer_mean == pytest.approx(statistics.fmean(expected.values()))
    # Largest at the top of the chart: the frame runs from the largest value down.
    assert data.parts["value"].to_list() == sorted(expected.values(), reverse=True)

    [figure] = built.document.figures
    assert plain_text(figure.caption) == \
        "Figure 1 – Thefts compared with peers (year ending December 2025)"
    ordered = sorted(expected.items(), key=lambda kv: -kv[1])
    bars = "; ".join(f"{f} {excel_text(v, 2, True)}" for f, v in ordered)
    assert figure.alt == (
        "Horizontal bar chart of Thefts per 1,000 population for each member of the similar "
        f"forces peer group, year ending December 2025, largest first: {bars}; group mean "
        f"{excel_text(statistics.fmean(expected.values()), 2, True)}. The focus is Cam.")
    assert charts.peer_axis_label(data) == "Thefts per 1,000 population"


def test_peer_figure_numbered_in_paper_order_and_absent_without_every_member(project):
    from kpi.catalogue import PeerGroup
    from kpi.charts import ChartSpec, ChartType
    from kpi.document import Paragraph, plain_text

    declared = (ChartSpec("crime_trend", ChartType.TREND, "Total crime", ("total_crime",)),
                ChartSpec("thefts_top", ChartType.TOP, "Thefts by force", ("thefts",),
                          by="force"),
                ChartSpec("charged_top", ChartType.TOP, "Charged", ("charged_share",),
                          by="force"))
    _, _, built = _peer_paper(project / "kpi.toml", charts=declared)
    captions = [plain_text(f.caption) for f in built.document.figures]
    # A declared chart anchored on the KPI comes before its peers figure; each caption but
    # the peers figure's (which names its window) says what the figure finds.
    assert captions == [
        "Figure 1 – Total crime. Total crime up 1.1% from 808: not tested for significance.",
        "Figure 2 – Thefts by force. The largest is Cam (102).",
        "Figure 3 – Thefts compared with peers (year ending December 2025)",
        "Figure 4 – Charged. The largest is Bure (36.1%)."]
    assert [f.link for f in built.figures][2] == "board-files/figure-3-peers_thefts.png"
    thefts = next(plain_text(b.content) for s in built.document.sections for b in s.blocks
                  if isinstance(b, Paragraph) and "Thefts." in plain_text(b.content))
    assert thefts.endswith("See Figures 2 and 3.")

    # One member the data does not hold: no figure and no sentence, not part of the group.
    partial = PeerGroup("similar", "force", ("Avon", "Bure", "Eden"), "similar forces", "Cam")
    _, _, built = _peer_paper(project / "kpi.toml", peers={"similar": partial})
    assert built.figures == () and built.document.figures == ()
    text = " ".join(plain_text(b.content) for s in built.document.sections for b in s.blocks
                    if isinstance(b, Paragraph))
    assert "compared with peers" not in text.lower() and "Figure" not in text


def test_peer_figure_in_every_format_and_byte_stable(project, tmp_path):
    import docx

    outputs = {}
    for fmt, name in (("markdown", "paper.md"), ("html", "paper.html"),
                      ("docx", "paper.docx"), ("markdown", "again.md")):
        _kpi(project, "export", fmt, "--period", "2025-12", "--vs", "yoy",
             "--output", tmp_path / name)
        outputs[name] = tmp_path / name
    caption = "Figure 1 – Thefts compared with peers (year ending December 2025)"
    markdown = outputs["paper.md"].read_text().replace("\\(", "(").replace("\\)", ")")
    assert f"](paper-files/figure-1-peers_thefts.png)\\\n*{caption}*" in markdown
    html = outputs["paper.html"].read_text()
    assert f"<figcaption>{caption}</figcaption>" in html
    assert 'alt="Horizontal bar chart of Thefts per 1,000 population' in html
    document = docx.Document(str(outputs["paper.docx"]))
    assert [p.text for p in document.paragraphs if p.style.name == "Caption"
            and p.text.startswith("Figure")] == [caption]
    assert len(document.inline_shapes) == 1
    # The same data draws the same bytes, whichever paper the figure belongs to.
    first = (tmp_path / "paper-files" / "figure-1-peers_thefts.png").read_bytes()
    assert first == (tmp_path / "again-files" / "figure-1-peers_thefts.png").read_bytes()
    from PIL import Image

    with Image.open(tmp_path / "paper-files" / "figure-1-peers_thefts.png") as image:
        assert image.mode == "L"  # 8-bit greyscale, as every chart


def test_a_peer_group_on_a_constant_column_is_answered_from_the_catalogue(monkeypatch):
    """The sample's `force` is the literal 'West Midlands': its store holds one force, so the
    peer comparison is None without reading the store, as the comparison itself says."""
    from dataclasses import replace as changed

    import kpi
    from kpi import compare
    from kpi.periods import Comparison, Month

    sample = kpi.open("sample").definition
    crime = sample.kpi("total_recorded_crime")
    group = sample.peers[crime.peers]
    month = Month.parse("2025-09")
    full = compare.compare(sample, month, group.column, Comparison.BASELINE, [crime],
                           peers=group.id, focus=group.focus)
    assert [p.name for p in full.kpis[0].parts] == ["West Midlands"]
    assert full.notes == ("the data holds no rows for Greater Manchester, Merseyside, West "
                          "Yorkshire of peer group 'most_similar'",)
    # A group of the one force the column holds is still compared from the store.
    alone = changed(sample, peers={group.id: changed(group, members=("West Midlands",))})
    held = compare.peer_result(alone, crime, month, Comparison.BASELINE)
    assert held is not None and [p.name for p in held.parts] == ["West Midlands"]

    def no_read(*args, **kwargs):
        raise AssertionError("the store was read")

    monkeypatch.setattr(compare, "compare", no_read)
    assert compare.peer_result(sample, crime, month, Comparison.BASELINE) is None
    assert compare.peer_sentence(sample, crime, month, Comparison.BASELINE) is None


def test_a_peer_group_no_member_of_which_is_in_the_data_is_refused_saying_so(project,
                                                                             tmp_path):
    """`--peers` with a group none of whose members the data holds refused with a KPI's own
    note ("no KPI has data by 'force' for 2025-12: total_crime: no rows", or a note on the
    comparison) and a hint to load extracts: the data was there, the group's names were not
    in it. One line says so, exit 3; a period with no data is refused as before."""
    import shutil

    folder = tmp_path / "elsewhere"
    shutil.copytree(project, folder)
    (folder / "kpi.toml").write_text(PROJECT.replace(
        "[peers.with_missing]",
        '[peers.elsewhere]\ncolumn = "force"\nmembers = ["Eden", "Fal"]\n\n[peers.with_missing]'))
    for more in ([], ["--kpi", "thefts"], ["--format", "json"]):
        result = inprocess.run(["--project", folder, "compare", "--period", "2025-12", "--by",
                                "force", "--peers", "elsewhere", *more])
        assert result.returncode == 3, result.stderr
        lines = result.stderr.splitlines()
        assert lines[0] == ("Error: no member of peer group 'elsewhere' (Eden, Fal) has rows "
                            "by 'force' in the months compared for 2025-12"), result.stderr
        assert lines[1].startswith("Hint: 'kpi compare --by force' (without --peers) lists the "
                                   "parts the data holds"), result.stderr
        assert len(lines) == 2 and not result.stdout, result.stderr
    # a member of the group given as the focus is compared; a period before the data is
    # refused for having no data
    with_focus = inprocess.run(["--project", folder, "compare", "--period", "2025-12", "--by",
                                "force", "--peers", "elsewhere", "--focus", "Avon"])
    assert with_focus.returncode == 0 and _focus_row(with_focus.stdout) == "Avon", \
        with_focus.stderr
    early = inprocess.run(["--project", folder, "compare", "--period", "2019-12", "--by",
                           "force", "--peers", "elsewhere"])
    assert early.returncode == 3 and "no KPI has data by 'force' for 2019-12" in early.stderr


def test_a_kpi_with_no_parts_says_why_in_every_form(tmp_path):
    """A KPI compared with no parts (its filter selects no row of any force) had its note in
    the JSON only, and none at all when nothing was left out: the CSV, the workbook and
    `Project.compare()` had no row for it. It now has one row, its part and figures empty and
    its note saying why, in the CSV, the workbook and the DataFrame, as the table and the
    JSON say it."""
    import polars as pl

    import kpi

    folder = tmp_path / "arson"
    folder.mkdir()
    _written(folder, PROJECT + """
[[kpis]]
id = "arson"
title = "Arson"
priority = "crime"
kind = "count"
dataset = "crimes"
filter = "crime_type = 'Arson'"
better = "lower"
""")
    _kpi(folder, "ingest", "crimes", folder / "crimes.csv")
    why = "no rows counted in the year ending December 2025 or the year ending December 2024"
    asked = ["compare", "--period", "2025-12", "--by", "force"]

    arson = next(k for k in _compare(folder, *asked[1:])["kpis"] if k["id"] == "arson")
    assert (arson["parts"], arson["note"]) == ([], why)
    assert f"Arson, YE 2025-12 vs YE 2024-12\nnote\n{why}\n" in _kpi(folder, *asked)

    rows = list(csv.DictReader(_kpi(folder, *asked, "--format", "csv").splitlines()))
    assert len(rows) == 4 * 4 + 1  # four KPIs of four forces, and arson's row
    [row] = [r for r in rows if r["kpi"] == "arson"]
    assert row["note"] == why and row["title"] == "Arson" and row["better"] == "lower"
    assert all(row[c] == "" for c in ("part", "focus", "rank", "current_value",
                                       "comparison_value", "status", "change_absolute"))

    book = tmp_path / "compare.xlsx"
    _kpi(folder, *asked, "--format", "xlsx", "--output", book)
    import fastexcel

    table = fastexcel.read_excel(book).load_table("compare").to_polars()
    found = table.filter(pl.col("kpi") == "arson")
    assert found.height == 1 and found["note"].to_list() == [why]
    assert found["part"].to_list() == [None] and found["current_value"].to_list() == [None]

    frame = kpi.open(folder).compare("2025-12", "force")
    found = frame.filter(pl.col("kpi") == "arson")
    assert found.height == 1 and found["note"].to_list() == [why]
    assert found["part"].to_list() == [None] and found["current_value"].to_list() == [None]


def test_a_part_without_a_change_says_why_in_every_form(tmp_path):
    """A part with no change printed "n/a" in its change cell and had no word of why in the
    JSON, the CSV, the workbook or `Project.compare()`, where the summary says it. Each now
    says it in the summary's words (engine.no_change): a force whose rows begin in 2025
    ("Eden": two burglaries a month; a part of a peer group's column with no rows in the
    whole year compared is no part of that year, docs/json.md) has no comparison for a count
    or a share, and no figure for a share of thefts, which it has none of (0 / 0); every other
    part has a change and no words."""
    import fastexcel
    import jsonschema
    import polars as pl

    import kpi

    folder = tmp_path / "eden"
    folder.mkdir()
    _written(folder, PROJECT + """
[[kpis]]
id = "thefts_charged"
title = "Thefts charged"
priority = "crime"
kind = "rate"
dataset = "crimes"
numerator = "outcome = 'Charged' and crime_type = 'Theft'"
denominator = "crime_type = 'Theft'"
better = "higher"
""")
    with (folder / "crimes.csv").open("a") as handle:
        for month in range(1, 13):
            for day in (3, 17):
                handle.write(f"2025-{month:02d}-{day:02d},Eden,Eden 001A,Burglary,Charged\n")
    _kpi(folder, "ingest", "crimes", folder / "crimes.csv")
    asked = ["compare", "--period", "2025-12", "--by", "force"]

    def expected(kpi_id: str, part: str) -> str | None:
        if part != "Eden":
            return None
        return {"thefts_charged": "no figure", "charged_share": "no comparison",
                "total_crime": "no comparison"}.get(kpi_id)

    doc = _compare(folder, *asked[1:])
    schema = json.loads((Path(__file__).resolve().parents[1] / "kpi" / "schemas"
                         / "compare.json").read_text())
    jsonschema.validate(doc, schema)
    said = {(k["id"], p["name"]): p["change"]["note"] for k in doc["kpis"] for p in k["parts"]}
    # Eden is listed for each KPI whose filter selects its rows: not thefts, not drugs.
    assert {key for key in said if key[1] == "Eden"} == {
        ("total_crime", "Eden"), ("charged_share", "Eden"), ("thefts_charged", "Eden")}
    assert len(said) == 5 * 4 + 3
    assert said == {key: expected(*key) for key in said}
    for k in doc["kpis"]:
        for p in k["parts"]:
            has_change = any(p["change"][f] is not None for f in ("absolute", "percent",
                                                                  "points"))
            assert has_change == (p["change"]["note"] is None), (k["id"], p)

    rows = list(csv.DictReader(_kpi(folder, *asked, "--format", "csv").splitlines()))
    assert {(r["kpi"], r["part"]): r["change_note"] for r in rows} == {
        key: expected(*key) or "" for key in said}
    book = tmp_path / "compare.xlsx"
    _kpi(folder, *asked, "--format", "xlsx", "--output", book)
    table = fastexcel.read_excel(book).load_table("compare").to_polars()
    assert dict(zip(zip(table["kpi"], table["part"], strict=True), table["change_note"],
                    strict=True)) == {key: expected(*key) for key in said}
    frame = kpi.open(folder).compare("2025-12", "force")
    assert frame.schema["change_note"] == pl.String
    assert dict(zip(zip(frame["kpi"], frame["part"], strict=True), frame["change_note"],
                    strict=True)) == {key: expected(*key) for key in said}

    # The table: Eden's change cell says why; no change cell says "n/a".
    text = _kpi(folder, *asked)
    for block in text.split("\n\n")[1:]:
        title, header, *lines = block.splitlines()
        kpi_id = next(k["id"] for k in doc["kpis"] if title.startswith(k["title"] + ","))
        columns = re.split(r" {2,}", header)
        for line in lines:
            cells = dict(zip(columns, re.split(r" {2,}", line), strict=False))
            words = expected(kpi_id, cells["force"])
            if words is not None:
                assert cells["change"] == words, (kpi_id, cells)
            assert cells["change"] != "n/a", (kpi_id, cells)


def test_parts_with_no_population_are_named_in_order_of_name_every_run(tmp_path):
    """The note naming the parts with no population listed them in the order the group-by met
    them, which differs from one run to the next (the differential oracle, seed 142: `kpi
    compare` and the Python face asking the same question read "no population for West
    Midlands Police, Kent Police" and "... Kent Police, West Midlands Police"), and cut them
    at five with nothing said of the rest. Named as every other note of parts is: in order of
    name, up to five, then how many more."""
    folder = tmp_path / "seven"
    toml = (PROJECT.split("[peers.similar]")[0] + PROJECT.split("focus = \"Eden\"\n")[1]
            ).replace('peers = "similar"\n', "")
    folder.mkdir()
    _written(folder, toml=toml)
    # seven forces met in no order of name; only Zed (no rows) has a population
    (folder / "reference" / "force-population.csv").write_text(
        "force,population,year\nZed,100000,2024\n", encoding="utf-8")
    lines = ["Date,Force,LSOA,Type,Outcome"]
    for month in ["2024-12", *(f"2025-{m:02d}" for m in range(1, 13))]:
        for force in ["Gwent", "Eden", "Avon", "Fife", "Cam", "Dee", "Bure"]:
            lines.append(f"{month}-03,{force},X 001A,Theft,Charged")
    (folder / "crimes.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _kpi(folder, "ingest", "crimes", folder / "crimes.csv")
    for _ in range(3):
        total = next(k for k in _compare(folder, "--period", "2025-12", "--by", "force",
                                         "--vs", "previous")["kpis"]
                     if k["id"] == "total_crime")
        assert total["ranked_on"] == "value"
        assert total["note"].endswith("no population for Avon, Bure, Cam, Dee, Eden and 2 "
                                      "more: ranked on the values"), total["note"]


def test_competition_ranks_tie_equal_figures_only():
    """One ranking of parts (`kpi compare`, `kpi show`'s breakdowns): equal figures share a
    rank, the next skips; whole numbers are compared exactly (two counts of 13 digits a unit
    apart tied when every value was cut to 12 significant figures); float noise still ties;
    no figure, no rank."""
    from kpi.compare import competition_ranks

    assert competition_ranks([5, 3, 3, 1, None], highest_first=True) == [1, 2, 2, 4, None]
    assert competition_ranks([5, 3, 3, 1], highest_first=False) == [4, 2, 2, 1]
    assert competition_ranks([1_000_000_000_001, 1_000_000_000_000],
                             highest_first=True) == [1, 2]
    assert competition_ranks([0.1 + 0.2, 0.3, float("nan")], highest_first=True) == [1, 1, None]


def test_figures_that_print_apart_never_share_a_rank():
    """Ranks tie exactly where figures are one as printed (15 significant digits, as Excel
    holds them and `places_ranked` prints a ranked column): sums of 1,234,567,890,123.45 and
    1,234,567,890,123.46 printed apart and were both ranked 1st, every value cut to 12
    significant figures."""
    from kpi.compare import competition_ranks
    from kpi.rounding import places_ranked, rounded

    values = [1_234_567_890_123.45, 1_234_567_890_123.46]
    at = places_ranked(values, 0)
    assert rounded(values[0], at) != rounded(values[1], at)  # they print apart
    assert competition_ranks(values, highest_first=True) == [2, 1]
    assert competition_ranks([26.499999999999996, 26.5], highest_first=True) == [1, 1]


@given(st.lists(st.one_of(st.none(), st.integers(0, 4), st.sampled_from([0.1 + 0.2, 0.3, 2.5])),
                min_size=1, max_size=10),
       st.sampled_from(list(Better)), st.randoms(use_true_random=False))
def test_a_parts_rank_and_place_do_not_depend_on_the_order_parts_come_in(values, better, rnd):
    """`part_ranks` and `rank_order`, the one ranking of `kpi compare` and `kpi show`: each
    part's rank is 1 + the parts strictly better by the KPI's direction (an oracle on
    Fractions of the figures as printed), none with no better direction or no figure, and
    the same part gets the same rank and the same place among the others whatever the order
    the parts come in (shuffled), ties kept in name order."""
    from fractions import Fraction

    from kpi.compare import part_ranks, rank_order

    names = [f"p{i}" for i in range(len(values))]

    def oracle(value: float | None) -> int | None:
        if value is None or better == Better.NEUTRAL:
            return None
        mine = Fraction(repr(round(value, 12)))
        ahead = [v for v in values if v is not None
                 and (Fraction(repr(round(v, 12))) > mine if better == Better.HIGHER
                      else Fraction(repr(round(v, 12))) < mine)]
        return 1 + len(ahead)

    def listed(pairs: list[tuple[str, float | None]]) -> list[tuple[str, int | None]]:
        pairs = sorted(pairs)  # by name, as each face sorts its parts first
        ranks = part_ranks([v for _, v in pairs], better)
        return [(pairs[i][0], ranks[i]) for i in rank_order(ranks, [v for _, v in pairs])]

    first = listed(list(zip(names, values, strict=True)))
    assert dict(first) == {n: oracle(v) for n, v in zip(names, values, strict=True)}
    shuffled = list(zip(names, values, strict=True))
    rnd.shuffle(shuffled)
    assert listed(shuffled) == first
    ranked = [r for _, r in first if r is not None]
    assert ranked == sorted(ranked)


def _respelled(folder: Path, members: str, focus: str, kpi_peers: bool = True) -> Path:
    """The compare project with the group 'similar' spelled otherwise than the data."""
    toml = PROJECT.replace('members = ["Avon", "Bure", "Cam"]\nfocus = "Cam"',
                           f"members = {members}\nfocus = {focus}")
    if not kpi_peers:  # neither a peer KPI nor a breakdown makes a load check 'force'
        toml = toml.replace('peers = "similar"\n', "").replace(
            'breakdowns = ["force", "local_authority"]', 'breakdowns = ["local_authority"]')
    folder.mkdir()
    return _written(folder, toml=toml)


def test_peer_members_and_focus_name_the_data_parts_as_population_files_do(tmp_path, oracle):
    """Members 'BURE' and 'cam ' and focus 'CAM' name the stored Bure and Cam, as a population
    file's parts do: 'BURE' read "the data holds no rows for BURE of peer group 'similar'" and
    the group was ranked as Avon and Cam (a median of two, exit 0); 'CAM' as the focus was
    refused by the catalogue, 'not one of its members'."""
    folder = _respelled(tmp_path / "respelled", '["Avon", "BURE", "cam "]', '"CAM"')
    _kpi(folder, "ingest", "crimes", folder / "crimes.csv")
    result = inprocess.run(["--project", folder, "compare", "--period", "2025-12", "--by",
                            "force", "--peers", "similar", "--kpi", "thefts", "--format",
                            "json"])
    assert result.returncode == 0 and "no rows" not in result.stderr, result.stderr
    got = json.loads(result.stdout)
    assert got["notes"] == [] and got["focus"] == "Cam"
    assert got["peers"]["members"] == ["Avon", "Bure", "Cam"]  # as the data spells them
    parts = got["kpis"][0]["parts"]
    thefts = _counts(oracle, "Type = 'Theft'", "2025-01", "2025-12")
    per_1000 = {f: thefts[f] / FORCES[f] * 1000 for f in ("Avon", "Bure", "Cam")}
    assert {p["name"]: p["rank"] for p in parts} == _ranks(oracle, per_1000, False)
    assert got["kpis"][0]["median_per_1000"] == pytest.approx(
        statistics.median(per_1000.values()))
    table = _kpi(folder, "compare", "--period", "2025-12", "--by", "force", "--peers",
                 "similar", "--kpi", "thefts")
    assert _focus_row(table) == "Cam" and "Bure " in table and "BURE" not in table
    # the board paper's sentence names them as the data does too
    from kpi.catalogue import load_project
    from kpi.compare import peer_sentence
    from kpi.periods import Comparison, Month

    loaded = load_project(folder)
    kpi = next(k for k in loaded.kpis if k.id == "thefts")
    sentence = peer_sentence(loaded, kpi, Month.parse("2025-12"), Comparison.YOY)
    assert sentence is not None and sentence.startswith(
        "Compared with peers (similar forces: Avon, Bure), Cam ranked "), sentence


def test_a_peer_member_naming_two_parts_of_the_data_is_refused(tmp_path):
    """Where the data holds 'Bure' and 'BURE' (no load checked 'force'), the member 'Bure'
    names both: refused, naming kpi.toml, the group and both spellings, not one of them
    ranked as the member and the other left out. Two members naming one part are refused
    with the project file."""
    folder = _respelled(tmp_path / "twice", '["Avon", "Bure", "Cam"]', '"Cam"',
                        kpi_peers=False)
    with (folder / "crimes.csv").open("a") as handle:
        handle.write("2025-06-03,BURE,Bure Vale 001A,Theft,Charged\n")
    _kpi(folder, "ingest", "crimes", folder / "crimes.csv")
    result = inprocess.run(["--project", folder, "compare", "--period", "2025-12", "--by",
                            "force", "--peers", "similar"])
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[0] == (
        "Error: kpi.toml, [peers.similar]: 'Bure' names both 'BURE' and 'Bure' of 'force' in "
        "dataset 'crimes', which differ only in case, spacing, invisible characters, leading "
        "zeros or a point and zeros after a whole number"), result.stderr
    assert "Traceback" not in result.stderr

    path = tmp_path / "kpi.toml"
    path.write_text(PROJECT.replace('members = ["Avon", "Bure", "Cam"]',
                                    'members = ["Avon", "Bure", "BURE"]'))
    with pytest.raises(Exception) as caught:
        parse_project_file(path)
    assert ("peer group 'similar', key 'members': names a member twice ('Bure' and 'BURE' "
            "differ only in case, spacing, invisible characters, leading zeros or "
            "a point and zeros after a whole number)"
            ) in str(caught.value)


def test_the_per_1000_centre_says_it_is_of_the_parts_with_a_population(tmp_path, oracle):
    """Dee has no population: the table's title read "per 1,000 mean X, median Y" of Avon,
    Bure and Cam beside a note that the parts are ranked on the values (all four); it says
    over how many parts it is. With every population it says nothing more."""
    folder = tmp_path / "no-dee"
    folder.mkdir()
    _written(folder)
    (folder / "reference" / "force-population.csv").write_text(
        "force,population,year\n" + "".join(f"{f},{p},2024\n" for f, p in FORCES.items()
                                            if f != "Dee"))
    _kpi(folder, "ingest", "crimes", folder / "crimes.csv")
    table = _kpi(folder, "compare", "--period", "2025-12", "--by", "force", "--kpi",
                 "total_crime")
    current = _counts(oracle, "TRUE", "2025-01", "2025-12")
    rates = [current[f] / FORCES[f] * 1000 for f in ("Avon", "Bure", "Cam")]
    title = next(line for line in table.splitlines() if line.startswith("Total crime"))
    assert title.endswith(
        f"per 1,000 mean {statistics.mean(rates):,.2f}, median {statistics.median(rates):,.2f}"
        " (of the 3 parts with a population); ranked on the values)"), title
    whole = _kpi(folder, "compare", "--period", "2025-12",
                 "--by", "force", "--kpi", "thefts", "--peers", "similar")
    assert "parts with a population" not in whole


def test_a_population_file_names_a_part_as_the_data_check_calls_it_one(project, oracle,
                                                                        tmp_path):
    """A population file's parts are matched by the rule the data's check of two spellings
    is (kpi.text.identity_key): 'Bure  Vale' (two spaces) and the full-width 'Ｃａｍｆｏｒｄ'
    are the populations of the stored Bure Vale and Camford, which a load would refuse beside
    them as two spellings of one part. They were "no population for Bure Vale, Camford:
    ranked on the values", every part ranked on its count. Written twice, by that rule, is
    refused naming the row and column."""
    import shutil

    from kpi.compare import read_populations

    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    toml = (copy / "kpi.toml").read_text().replace(
        'force = "reference/force-population.csv"\n',
        'force = "reference/force-population.csv"\n'
        'local_authority = "reference/la-population.csv"\n')
    (copy / "kpi.toml").write_text(toml, encoding="utf-8")
    people = {"Avonton": 200_000, "Riverside": 100_000, "Bure Vale": 150_000,
              "Camford": 600_000, "Deeside": 90_000}
    written = {"Bure Vale": "Bure  Vale", "Camford": "\uff23\uff41\uff4d\uff46\uff4f\uff52\uff44",
               "Deeside": "DEESIDE\u00a0"}
    la = copy / "reference" / "la-population.csv"
    la.write_text("local_authority,population,year\n" + "".join(
        f"{written.get(n, n)},{p},2024\n" for n, p in people.items()), encoding="utf-8")
    read_populations.cache_clear()
    got = _compare(copy, "--period", "2025-12", "--by", "local_authority", "--kpi",
                   "total_crime")["kpis"][0]
    current = _counts(oracle, "TRUE", "2025-01", "2025-12",
                      by="regexp_replace(LSOA, ' [0-9]{3}[A-Z]$', '')")
    assert got["note"] is None and got["ranked_on"] == "per_1000"
    per_1000 = {n: current[n] / people[n] * 1000 for n in current}
    assert {p["name"]: p["population"] for p in got["parts"]} == people
    assert {p["name"]: p["per_1000"] for p in got["parts"]} == pytest.approx(per_1000)
    assert {p["name"]: p["rank"] for p in got["parts"]} == _ranks(oracle, per_1000, False)

    la.write_text("local_authority,population,year\nBure Vale,150000,2024\n"
                  "bure  vale,150000,2024\n", encoding="utf-8")
    read_populations.cache_clear()
    refused = inprocess.run(["--project", copy, "compare", "--period", "2025-12", "--by",
                             "local_authority"])
    assert refused.returncode == 3, refused.stderr
    assert refused.stderr.splitlines()[0].endswith(
        "la-population.csv, row 3, column 'local_authority': found 'bure  vale' for 2024 "
        "again (parts ignore case, spacing and Unicode form)"), refused.stderr
    # a name of invisible characters only names no part: refused as a blank one is
    la.write_text("local_authority,population,year\nBure Vale,150000,2024\n"
                  "\u200b\u00a0,1000,2024\n", encoding="utf-8")
    read_populations.cache_clear()
    blank = inprocess.run(["--project", copy, "compare", "--period", "2025-12", "--by",
                           "local_authority"])
    assert blank.returncode == 3 and blank.stderr.splitlines()[0].endswith(
        "la-population.csv, row 3, column 'local_authority': expected a name"), blank.stderr


ASB = """
[datasets.asb]
date = "date"
[datasets.asb.columns]
date = { type = "date", from = ["Date"] }
force = { type = "str", from = ["Force"] }

[[kpis]]
id = "asb"
title = "ASB"
priority = "crime"
kind = "count"
dataset = "asb"
better = "lower"
"""


def test_the_focus_is_each_datasets_own_spelling_of_the_part(tmp_path, oracle):
    """Dataset asb spells Cam 'CAM'. The focus Cam (of peer group 'similar', or `--focus
    cam`) is that part in asb's KPI too: it was the focus of the crimes KPI only, and
    asb's parts were never tested against it ("differs from Cam" blank, `vs_focus` null, with
    exit 0); `--focus cam` was refused as "not a part of 'force'" while the hint listed
    Cam."""
    folder = tmp_path / "asb"
    folder.mkdir()
    _written(folder, toml=PROJECT + ASB)
    asb = {"Avon": 50, "Bure": 31, "CAM": 70, "Dee": 12}
    counted = _loaded_with_asb(folder, "".join(
        f"2025-{m:02d}-05,{force}\n" for force, n in asb.items() for m in range(1, 13)
        for _ in range(n // 12 + (1 if m <= n % 12 else 0))))
    assert counted == asb
    people = {**FORCES, "CAM": FORCES["Cam"]}
    thefts = _counts(oracle, "Type = 'Theft'", "2025-01", "2025-12")
    for args, written in ((("--peers", "similar"), "Cam"), (("--focus", "cam"), "cam")):
        got = _compare(folder, "--period", "2025-12", "--by", "force", "--vs", "previous",
                       "--kpi", "asb", "--kpi", "thefts", *args)
        assert got["focus"] == written  # spelled two ways by the data: as it is written
        kpis = {k["id"]: {p["name"]: p for p in k["parts"]} for k in got["kpis"]}
        for kpi, focus, figures in (("asb", "CAM", counted), ("thefts", "Cam", thefts)):
            parts = kpis[kpi]
            assert [n for n, p in parts.items() if p["focus"]] == [focus]
            assert parts[focus]["vs_focus"] is None
            for name, part in parts.items():
                if name == focus:
                    continue
                expected = stats.poisson_test(figures[name], people[name], figures[focus],
                                              people[focus])
                # a part or a focus of fewer than 50 events is not tested (stats.MIN_CASES)
                if min(figures[name], figures[focus]) < stats.MIN_CASES:
                    assert part["vs_focus"]["p_value"] is None, (kpi, name)
                    continue
                assert part["vs_focus"]["p_value"] == pytest.approx(expected.p_value), kpi
        table = _kpi(folder, "compare", "--period", "2025-12", "--by", "force", "--vs",
                     "previous", "--kpi", "asb", *args)
        assert _focus_row(table) == "CAM"
    # one dataset spells it one way: the focus is named as it does
    assert _compare(folder, "--period", "2025-12", "--by", "force", "--kpi", "thefts",
                    "--focus", "cam")["focus"] == "Cam"


def test_a_peer_member_the_kpi_counts_nothing_of_is_named_not_dropped(tmp_path):
    """The focus Cam holds rows in every month but no theft in either year: the thefts table
    of peer group 'similar' listed Avon and Bure alone, Avon "1st", under "differs from Cam"
    with no word of Cam, exit 0. The KPI's note names it (in the JSON, and on stderr beside
    the table); the parts listed are still DuckDB's counts."""
    folder = tmp_path / "no-cam-thefts"
    folder.mkdir()
    _written(folder)
    rows = (folder / "crimes.csv").read_text().splitlines()
    (folder / "crimes.csv").write_text("\n".join(
        [rows[0], *(r.replace(",Theft,", ",Burglary,") if ",Cam," in r else r
                    for r in rows[1:])]) + "\n")
    _kpi(folder, "ingest", "crimes", folder / "crimes.csv")
    con = duckdb.connect()
    con.execute(f"CREATE TABLE crimes AS SELECT * FROM read_csv('{folder / 'crimes.csv'}', "
                "header = true, all_varchar = true)")
    thefts = _counts(con, "Type = 'Theft'", "2025-01", "2025-12")
    assert "Cam" not in thefts and _counts(con, "TRUE", "2025-01", "2025-12")["Cam"] > 0
    got = _compare(folder, "--period", "2025-12", "--by", "force", "--peers", "similar",
                   "--kpi", "thefts")["kpis"][0]
    assert {p["name"]: p["current"]["value"] for p in got["parts"]} == {
        f: thefts[f] for f in ("Avon", "Bure")}
    assert got["note"] == ("not listed, with no rows counted in the year ending December 2025 "
                           "or the year ending December 2024: Cam")
    result = inprocess.run(["--project", folder, "compare", "--period", "2025-12", "--by",
                            "force", "--peers", "similar", "--kpi", "thefts"])
    assert result.returncode == 0 and "thefts: not listed, with no rows counted" in \
        result.stderr
    # Without a group or a focus, a part counted nowhere is not listed, as docs/json.md says,
    # and named too: the forces' mean and median are of the others (DuckDB's counts).
    plain = _compare(folder, "--period", "2025-12", "--by", "force", "--kpi", "thefts")
    got = plain["kpis"][0]
    assert got["note"] == ("not listed, with no rows counted in the year ending December 2025 "
                           "or the year ending December 2024: Cam")
    assert {p["name"]: p["current"]["value"] for p in got["parts"]} == thefts
    assert got["median"] == sorted(thefts.values())[1] and len(thefts) == 3
    # By a column its filter reads (is_theft, a derived column of crime_type), a part it
    # counts none of is not its business: no note names the burglaries, drugs or assaults.
    by_type = _compare(folder, "--period", "2025-12", "--by", "crime_type", "--kpi",
                       "thefts")["kpis"][0]
    assert [p["name"] for p in by_type["parts"]] == ["Theft"] and by_type["note"] is None


def test_the_peer_sentence_says_a_shared_rank_is_shared(tmp_path):
    """Avon and Cam have 0.12 thefts per 1,000 each (36 of 300,000 and 72 of 600,000), Bure
    0.08: competition ranks 1, 2, 2. The sentence read "Cam ranked 2nd of 3", as if Cam
    alone were second; it says "joint 2nd" and with whom, as the ranks (DuckDB's rank())
    say."""
    from kpi.catalogue import load_project
    from kpi.compare import peer_sentence
    from kpi.periods import Comparison, Month

    folder = tmp_path / "tie"
    folder.mkdir()
    _written(folder)
    monthly = {"Avon": 3, "Bure": 1, "Cam": 6, "Dee": 2}
    (folder / "crimes.csv").write_text("Date,Force,LSOA,Type,Outcome\n" + "".join(
        f"{year}-{month:02d}-04,{force},X 001A,Theft,Charged\n"
        for year in (2024, 2025) for month in range(1, 13)
        for force, n in monthly.items() for _ in range(n)))
    _kpi(folder, "ingest", "crimes", folder / "crimes.csv")
    con = duckdb.connect()
    con.execute(f"CREATE TABLE crimes AS SELECT * FROM read_csv('{folder / 'crimes.csv'}', "
                "header = true, all_varchar = true)")
    thefts = _counts(con, "Type = 'Theft'", "2025-01", "2025-12")
    ranks = _ranks(con, {f: thefts[f] / FORCES[f] * 1000 for f in ("Avon", "Bure", "Cam")},
                   False)
    assert ranks == {"Bure": 1, "Avon": 2, "Cam": 2}
    loaded = load_project(folder)
    kpi = next(k for k in loaded.kpis if k.id == "thefts")
    sentence = peer_sentence(loaded, kpi, Month.parse("2025-12"), Comparison.YOY)
    assert sentence is not None and sentence.startswith(
        "Compared with peers (similar forces: Avon, Bure), Cam ranked joint 2nd (with Avon) "
        "of 3 in the year ending December 2025, where 1st is the lowest, with 0.12 per 1,000 "
        "people against a group median of 0.12"), sentence


def test_a_peer_member_one_dataset_lacks_is_named_in_its_kpis_note(tmp_path):
    """Dataset asb holds no row of Bure, a member of peer group 'similar' the crimes dataset
    holds: asb's table ranked Avon and Cam as the group (a median of two), with no word of
    Bure, exit 0, since the comparison's note names only members no dataset holds. The KPI's
    note names it; the KPIs of crimes list it."""
    folder = tmp_path / "asb-no-bure"
    folder.mkdir()
    _written(folder, toml=PROJECT + ASB)
    asb = {"Avon": 24, "Cam": 36, "Dee": 12}
    counted = _loaded_with_asb(folder, "".join(
        f"{year}-{m:02d}-05,{force}\n" for year in (2024, 2025) for force, n in asb.items()
        for m in range(1, 13) for _ in range(n // 12)))
    got = _compare(folder, "--period", "2025-12", "--by", "force", "--peers", "similar",
                   "--kpi", "asb", "--kpi", "thefts")
    assert got["notes"] == []  # crimes holds every member
    kpis = {k["id"]: k for k in got["kpis"]}
    assert {p["name"]: p["current"]["value"] for p in kpis["asb"]["parts"]} == {
        f: counted[f] for f in ("Avon", "Cam")}
    assert kpis["asb"]["note"] == ("not listed, with no rows in dataset 'asb' in the year "
                                   "ending December 2025 or the year ending December 2024: "
                                   "Bure")
    assert {p["name"] for p in kpis["thefts"]["parts"]} == {"Avon", "Bure", "Cam"}
    assert kpis["thefts"]["note"] is None


def test_no_part_with_a_population_for_the_window_is_said(tmp_path, cli):
    """[population_by] is declared, and its file holds populations only for 2026, after the
    year ending September 2025: no part has one. The parts were ranked on their counts
    (Small, 24, 1st; per 1,000 it is 0.24 against Big's 0.12) with no note, where one part
    without a population was said; and each part's test told the analyst to declare the
    [population_by] that is declared."""
    rows = ["ref,date,force"]
    for year, month in [(y, m) for y in (2023, 2024) for m in range(1, 13)] + [
            (2025, m) for m in range(1, 10)]:
        rows += [f"R{year}{month}{f}{i},{year}-{month:02d}-05,{f}"
                 for f, k in (("Big", 9), ("Small", 2)) for i in range(k)]
    (tmp_path / "crimes.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "pop.csv").write_text("force,population,year\nBig,900000,2026\n"
                                      "Small,100000,2026\n")
    (tmp_path / "kpi.toml").write_text(
        '[project]\nname = "R3"\nbaseline = "2024-09"\n[population_by]\nforce = "pop.csv"\n'
        '[datasets.crimes]\ndate = "date"\n[datasets.crimes.columns]\nref = "str"\n'
        'date = "date"\nforce = "str"\n[[priorities]]\nid = "p"\ntitle = "P"\n[[kpis]]\n'
        'id = "crimes"\ntitle = "Crimes"\npriority = "p"\nkind = "count"\n'
        'dataset = "crimes"\nbetter = "lower"\n')
    assert cli(["--project", tmp_path, "ingest", "crimes", tmp_path / "crimes.csv"]
               ).exit_code == 0
    result = cli(["--project", tmp_path, "compare", "--period", "2025-09", "--by", "force",
                  "--format", "json"])
    assert result.exit_code == 0, result.output
    crimes = json.loads(result.stdout)["kpis"][0]
    assert crimes["note"] == "no population for Big, Small: ranked on the values"
    assert crimes["ranked_on"] == "value"
    assert all("[population_by] file" in p["vs_rest"]["note"] for p in crimes["parts"])


def test_a_part_whose_total_is_below_zero_is_no_count_of_events_to_test(tmp_path, cli):
    """An aggregate extract netting cancellations: Cam's year totals -60. Avon and Bure have
    the same rate (120 in 100,000 each), but Avon against the rest pooled (Bure's 120 and
    Cam's -60: 60 in 200,000) read as differing, p < 0.001. A negative total is no count of
    events: no part whose rest holds it is tested, as the change of such a part is not."""
    rows = ["month,force,n"]
    for year, month in [(y, m) for y in (2023, 2024) for m in range(1, 13)] + [
            (2025, m) for m in range(1, 10)]:
        rows += [f"{year}-{month:02d},{f},{n}" for f, n in (("Avon", 10), ("Bure", 10),
                                                             ("Cam", -5))]
    (tmp_path / "counts.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "pop.csv").write_text("force,population,year\nAvon,100000,2024\n"
                                      "Bure,100000,2024\nCam,100000,2024\n")
    (tmp_path / "kpi.toml").write_text(
        '[project]\nname = "N"\nbaseline = "2024-09"\n[population_by]\nforce = "pop.csv"\n'
        '[datasets.counts]\ndate = "month"\n[datasets.counts.columns]\nmonth = "month"\n'
        'force = "str"\nn = "int"\n[[priorities]]\nid = "p"\ntitle = "P"\n[[kpis]]\n'
        'id = "net"\ntitle = "Net crimes"\npriority = "p"\nkind = "count"\nvalue = "n"\n'
        'dataset = "counts"\nbetter = "lower"\n')
    assert cli(["--project", tmp_path, "ingest", "counts", tmp_path / "counts.csv"]
               ).exit_code == 0
    result = cli(["--project", tmp_path, "compare", "--period", "2025-09", "--by", "force",
                  "--format", "json"])
    assert result.exit_code == 0, result.output
    parts = {p["name"]: p for p in json.loads(result.stdout)["kpis"][0]["parts"]}
    assert {n: p["current"]["value"] for n, p in parts.items()} == {
        "Avon": 120, "Bure": 120, "Cam": -60}
    for name in ("Avon", "Bure", "Cam"):
        assert parts[name]["vs_rest"]["significant"] is None, (name, parts[name]["vs_rest"])
    for name in ("Avon", "Bure"):
        assert parts[name]["vs_rest"]["note"] == "the values are not whole counts of events"


SHAPES = """
[project]
name = "Shapes"

[datasets.calls]
date = "opened"
[datasets.calls.columns]
opened = "datetime"
closed = "datetime"
force = "str"
offence = "str"
outcome = "str"
victims = "int"
[datasets.calls.derived]
is_theft = "offence = 'Theft'"
hours = "(DATE_PART('epoch', closed) - DATE_PART('epoch', opened)) / 3600"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "drugs"
title = "Drugs"
priority = "p"
kind = "count"
dataset = "calls"
filter = "offence = 'Drugs'"
better = "lower"
breakdowns = ["force"]

[[kpis]]
id = "charged"
title = "Charged per victim"
priority = "p"
kind = "rate"
dataset = "calls"
filter = "is_theft"
numerator = "CASE WHEN outcome = 'Charged' THEN victims ELSE 0 END"
denominator = "victims"
better = "higher"

[[kpis]]
id = "open_for"
title = "Seconds open"
priority = "p"
kind = "mean"
dataset = "calls"
value = "DATE_PART('epoch', closed) - DATE_PART('epoch', opened)"
unit = "seconds"
better = "lower"

[[kpis]]
id = "quick"
title = "Closed within a day"
priority = "p"
kind = "within"
dataset = "calls"
value = "hours"
threshold = 24
better = "higher"

[[kpis]]
id = "harm"
title = "Harm"
priority = "p"
kind = "weighted_score"
dataset = "calls"
weights = "weights.csv"
weight_key = "offence"
better = "lower"
breakdowns = ["force"]

[[kpis]]
id = "per_drug"
title = "Charged per drugs call"
priority = "p"
kind = "rate"
numerator_kpi = "charged"
denominator_kpi = "drugs"
better = "higher"
"""


@pytest.mark.parametrize(("kpi_id", "measured", "read", "without_breakdowns", "named"), [
    ("drugs", [], ["offence", "force"], ["offence"], ["offence"]),
    # (Polars names a CASE's answer before its condition; `is_theft` is read of offence)
    ("charged", ["victims", "outcome"], ["offence", "victims", "outcome"],
     ["offence", "victims", "outcome"], ["is_theft", "victims", "outcome"]),
    # the epochs of instants read as UK time, which `kpi.zoned` rewrites (`polars_expr`):
    # the same columns whichever reading names them
    ("open_for", ["closed", "opened"], ["closed", "opened"], ["closed", "opened"],
     ["closed", "opened"]),
    # `hours` is derived of closed and opened: its figure is made of them
    ("quick", ["closed", "opened"], ["closed", "opened"], ["closed", "opened"], ["hours"]),
    ("harm", [], ["offence", "force"], ["offence"], ["offence"]),
    ("per_drug", [], ["offence", "victims", "outcome", "force"],
     ["offence", "victims", "outcome"], ["is_theft", "victims", "outcome", "offence"]),
])
def test_the_columns_a_figure_is_made_of_are_of_those_it_reads(tmp_path, kpi_id, measured,
                                                               read, without_breakdowns, named):
    """`kpi compare`'s columns a part blank in has no figure (a numerator's and a value's) and
    the columns every figure reads (whose blanks the quality notes count) are one reading of
    the KPI's expressions (`engine.expression_columns`), the stored columns a derived column
    is derived from, by hand for each shape of KPI: its filter picks rows and its denominator
    is the base, so neither is measured; a weight key is never blank (refused as it is
    loaded); a breakdown splits rows. A figures file's definition names the derived columns
    themselves (`engine.columns_named`)."""
    from kpi import engine
    from kpi.compare import reads_column

    (tmp_path / "kpi.toml").write_text(SHAPES)
    (tmp_path / "weights.csv").write_text("offence,weight\nTheft,10\nDrugs,5\n")
    project = parse_project_file(tmp_path / "kpi.toml")
    kpi = project.kpi(kpi_id)
    assert engine.measured_columns(kpi, project.datasets.get(kpi.dataset or "")) == measured
    assert engine.columns_read(project, kpi) == read
    assert engine.columns_read(project, kpi, breakdowns=False) == without_breakdowns
    assert engine.columns_named(project, kpi, breakdowns=False) == named
    assert set(measured) <= set(read)
    if kpi.dataset is None:
        return  # a rate of two KPIs is not compared by parts (`splittable`)
    # whether the KPI picks its rows by a column compared: through its derived columns, to
    # the stored ones (`hours` is read of opened and closed); a breakdown picks no rows
    stored = {"hours": {"opened", "closed"}, "is_theft": {"offence"}}
    reached = {c for name in named for c in stored.get(name, {name})}
    assert reached == set(without_breakdowns)
    for column in ("opened", "closed", "force", "offence", "outcome", "victims", "hours",
                   "is_theft"):
        assert reads_column(project, kpi, column) == bool(stored.get(column, {column})
                                                           & reached), column


def _whole_counts_project(folder: Path) -> Path:
    """Two LPAs over 30 months from April 2023: S one row a month; N two a month to March
    2024, three after, and one more (extra = 'y') in September 2025. By hand, year ending
    September 2025 against the year ending March 2024: every row, N 37 against 24 and S 12
    against 12 (mean and median 24.5); rows with extra = 'n', N 36 (mean and median 24).
    Populations: N 20,000, S 10,000."""
    rows = ["d,lpa,extra"]
    for i in range(30):
        year, month = 2023 + (3 + i) // 12, (3 + i) % 12 + 1
        rows += [f"{year}-{month:02d}-01,S,n"] + [f"{year}-{month:02d}-02,N,n"] * (
            2 if i < 12 else 3) + ([f"{year}-{month:02d}-03,N,y"] if i == 29 else [])
    (folder / "ev.csv").write_text("\n".join(rows) + "\n")
    (folder / "pop.csv").write_text("lpa,population,year\nN,20000,2023\nS,10000,2023\n")
    (folder / "kpi.toml").write_text(
        '[project]\nname = "Whole"\nbaseline = "2024-03"\n[population_by]\nlpa = "pop.csv"\n'
        '[datasets.ev]\ndate = "d"\n[datasets.ev.columns]\nd = "date"\nlpa = "str"\n'
        'extra = "str"\n[[priorities]]\nid = "p"\ntitle = "P"\n'
        '[[kpis]]\nid = "all"\ntitle = "All"\npriority = "p"\nkind = "count"\n'
        'dataset = "ev"\nbetter = "lower"\nbreakdowns = ["lpa"]\n'
        '[[kpis]]\nid = "evened"\ntitle = "Evened"\npriority = "p"\nkind = "count"\n'
        'dataset = "ev"\nfilter = "extra = \'n\'"\nbetter = "lower"\nbreakdowns = ["lpa"]\n')
    return folder


def test_whole_counts_are_whole_in_compares_json_csv_and_frame_as_in_the_summary(tmp_path,
                                                                                 cli):
    """`kpi compare --format json` and `csv` wrote a whole count as a float (`30.0`, `mean
    45.0`) where the summary and `kpi show` write `30`. Every figure of a part now goes
    through the summary's own functions (kpi.render.window_json, change_json; the mean and
    median average_json): by hand, N 37 against 24, `37` and `13`, never `37.0`; a mean that
    is no whole number keeps its fraction (24.5), one that is whole is `24`."""
    import kpi

    project = _whole_counts_project(tmp_path)
    assert cli(["--project", project, "ingest", "ev", project / "ev.csv"]).exit_code == 0
    period = ["--period", "2025-09"]

    def run(*args) -> str:
        result = cli(["--project", project, *args, *period])
        assert result.exit_code == 0, result.output
        return result.stdout

    hand = {"all": {"N": (37, 24), "S": (12, 12)}, "evened": {"N": (36, 24), "S": (12, 12)}}
    centre = {"all": 24.5, "evened": 24}
    compared = {k["id"]: k for k in json.loads(
        run("compare", "--by", "lpa", "--format", "json"))["kpis"]}
    summary = {k["id"]: k for k in json.loads(run("summary", "--format", "json"))["kpis"]}
    for kpi_id, parts in hand.items():
        got = compared[kpi_id]
        for name in ("mean", "median"):
            assert got[name] == centre[kpi_id]
            assert type(got[name]) is type(centre[kpi_id]), (kpi_id, name, got[name])
        by_part = {p["name"]: p for p in got["parts"]}
        for name, (now, then) in parts.items():
            part = by_part[name]
            written = (part["current"]["value"], part["comparison"]["value"],
                       part["change"]["absolute"], part["population"])
            assert written == (now, then, now - then, {"N": 20000, "S": 10000}[name])
            assert all(type(v) is int for v in written), (kpi_id, name, written)
        # the summary writes its total as the parts add it, an integer too
        total = summary[kpi_id]["current"]["value"]
        assert total == sum(now for now, _ in parts.values()) and type(total) is int
        shown = json.loads(run("show", kpi_id, "--format", "json"))["breakdowns"]["lpa"]
        assert {r["part"]: (r["current"], r["comparison"], r["absolute"]) for r in shown} \
            == {n: (p["current"]["value"], p["comparison"]["value"],
                    p["change"]["absolute"]) for n, p in by_part.items()}
        assert all(type(r["current"]) is int for r in shown)

    rows = list(csv.DictReader(run("compare", "--by", "lpa", "--format", "csv").splitlines()))
    cells = {(r["kpi"], r["part"]): (r["current_value"], r["comparison_value"],
                                     r["change_absolute"], r["population"], r["group_mean"],
                                     r["group_median"]) for r in rows}
    assert cells == {
        ("all", "N"): ("37", "24", "13", "20000", "24.5", "24.5"),
        ("all", "S"): ("12", "12", "0", "10000", "24.5", "24.5"),
        ("evened", "N"): ("36", "24", "12", "20000", "24", "24"),
        ("evened", "S"): ("12", "12", "0", "10000", "24", "24")}

    # The Python face: each figure column of a type the summary's frame gives its own.
    opened = kpi.open(project)
    frame = opened.compare("2025-09", by="lpa")
    summary_frame = opened.summary("2025-09")
    for column in ("current_value", "comparison_value", "change_absolute"):
        assert frame[column].dtype == summary_frame[column].dtype
    keys = zip(frame["kpi"], frame["part"], strict=True)
    assert dict(zip(keys, frame["current_value"], strict=True)) == {
        (k, n): now for k, parts in hand.items() for n, (now, _) in parts.items()}


@pytest.mark.parametrize(("kpis", "message", "hint"), [
    ("", "no KPI can be compared by 'lpa': kpi.toml declares no KPI",
     "declare one ([[kpis]]) of a dataset holding 'lpa'"),
    ("hidden = true\n", "no KPI can be compared by 'lpa': every KPI is hidden (hidden = true "
     "in kpi.toml)", "name one to compare it: --kpi cnt"),
    ('status = "in_development"\n', "no KPI can be compared by 'lpa': KPI 'cnt': it is in "
     "development", 'only live KPIs are compared (status = "live" in kpi.toml)'),
    ('dataset = "other"\n', "no KPI can be compared by 'lpa': no KPI shown reads a dataset "
     "holding it", "'lpa' is a column of 'ev': declare a KPI of it, or compare by a column of "
     "a dataset a KPI reads"),
])
def test_a_column_no_kpi_can_be_compared_by_is_refused_saying_why(tmp_path, kpis, message,
                                                                   hint):
    """`kpi compare --by lpa`, 'lpa' a column of a dataset but no KPI shown one that can be
    compared by it, said "Hint: did you mean 'lpa'?", the word it refused. It now says why
    none can be, and what would let one be."""
    toml = ('[project]\nname = "Z"\nbaseline = "2024-03"\n[datasets.ev]\ndate = "d"\n'
            '[datasets.ev.columns]\nd = "date"\nlpa = "str"\n[datasets.other]\ndate = "d"\n'
            '[datasets.other.columns]\nd = "date"\nzone = "str"\n'
            '[[priorities]]\nid = "p"\ntitle = "P"\n')
    if kpis:
        dataset = "" if "dataset" in kpis else 'dataset = "ev"\n'
        toml += ('[[kpis]]\nid = "cnt"\ntitle = "Count"\npriority = "p"\nkind = "count"\n'
                 f'better = "lower"\n{dataset}{kpis}')
    (tmp_path / "kpi.toml").write_text(toml)
    result = inprocess.run(["--project", tmp_path, "compare", "--period", "2025-09", "--by",
                            "lpa"])
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"Error: {message}", f"Hint: {hint}"]
