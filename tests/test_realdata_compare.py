"""Forces side by side from the real public files, starting from a plain install of kpi in an
empty folder: `kpi init --preset`, `kpi ingest`, `kpi compare`, every figure checked against
DuckDB over the same files.

kpi is built as a wheel and installed (not editable) into a temporary folder, so the presets
are read from the package as a user gets it; where no wheel can be built (no build backend at
hand) the checkout's kpi runs instead, and the test about the wheel skips. The real files live
in ../shared/realdata/police-uk/ beside the repository; the tests skip when it is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "police-uk"
NEIGHBOURS = REALDATA / "neighbours-2025" / "street"
CITY = REALDATA / "city-of-london" / "street"
PRC = REALDATA / "home-office" / "prc-pfa-201718_new.csv"

realdata = pytest.mark.skipif(
    not (NEIGHBOURS.is_dir() and CITY.is_dir() and PRC.is_file()),
    reason="the real police.uk files are not beside the checkout (../shared/realdata/police-uk)")

ASB = "Anti-social behaviour"
# Written here rather than read from the preset, so a wrong filter there fails a test.
CRIME_TYPES = {
    "violence_sexual": "Violence and sexual offences", "other_theft": "Other theft",
    "theft_from_person": "Theft from the person", "shoplifting": "Shoplifting",
    "burglary": "Burglary", "vehicle_crime": "Vehicle crime", "bicycle_theft": "Bicycle theft",
    "robbery": "Robbery", "criminal_damage_arson": "Criminal damage and arson",
    "public_order": "Public order", "drugs": "Drugs",
    "possession_of_weapons": "Possession of weapons", "other_crime": "Other crime",
}
OUTCOMES = {
    "no_suspect_share": ["Investigation complete; no suspect identified"],
    "unable_to_prosecute_share": ["Unable to prosecute suspect"],
    "under_investigation_share": ["Under investigation"],
}
NATIONAL_FRAUD = ("Action Fraud", "CIFAS", "UK Finance", "Financial Fraud Action UK")


@pytest.fixture(scope="module")
def install(tmp_path_factory) -> dict[str, str]:
    """The environment that runs kpi from a wheel installed into a temporary folder (or, when
    no wheel can be built here, from the checkout)."""
    folder = tmp_path_factory.mktemp("install")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(folder / "wheel"), str(REPO)], capture_output=True, text=True)
    wheels = sorted((folder / "wheel").glob("kpi-*.whl")) if built.returncode == 0 else []
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("KPI_PROJECT", None)
    if wheels:
        subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                        str(folder / "site"), str(wheels[0])], check=True, capture_output=True)
        env["PYTHONPATH"] = str(folder / "site")
    return {"env": env, "wheel": str(wheels[0]) if wheels else ""}


def _kpi(install, cwd: Path, *args, code: int = 0) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "kpi", *[str(a) for a in args]], cwd=cwd,
                            env=install["env"], capture_output=True, text=True)
    assert result.returncode == code, result.stderr
    return result


def test_the_wheel_ships_every_preset(install):
    if not install["wheel"]:
        pytest.skip("no wheel could be built here (no build backend)")
    names = set(zipfile.ZipFile(install["wheel"]).namelist())
    for path in ("kpi/_presets/police-uk/kpi.toml", "kpi/_presets/home-office-prc/kpi.toml",
                 "kpi/_bundled/west-midlands/kpi.toml",
                 "kpi/_bundled/west-midlands/extracts/crimes.parquet"):
        assert path in names
    assert not any(n.endswith("generate.py") and "_presets" in n for n in names)


def test_presets_are_listed_and_copied_from_the_installed_package(install, tmp_path):
    listed = _kpi(install, tmp_path, "init", "--list-presets").stdout
    assert [line.split()[0] for line in listed.splitlines()] == [
        "police-uk", "home-office-prc", "west-midlands"]
    _kpi(install, tmp_path, "init", "--preset", "police-uk", "demo")
    assert (tmp_path / "demo" / "kpi.toml").read_bytes() == \
        (REPO / "datasets" / "police-uk" / "kpi.toml").read_bytes()
    assert (tmp_path / "demo" / "downloads").is_dir() and (tmp_path / "demo" / "data").is_dir()
    again = _kpi(install, tmp_path, "init", "--preset", "police-uk", "demo", code=2)
    assert "already exists" in again.stderr


# ---------------------------------------------------------------------------------------------
# police.uk: four forces' 2025 street files


@pytest.fixture(scope="module")
def four_forces(install, tmp_path_factory):
    folder = tmp_path_factory.mktemp("empty")
    _kpi(install, folder, "init", "--preset", "police-uk", "demo")
    demo = folder / "demo"
    files = sorted(NEIGHBOURS.glob("2025-*-street.csv")) + sorted(CITY.glob("2025-*-street.csv"))
    assert len(files) == 48
    _kpi(install, demo, "ingest", "street", *files)
    got = json.loads(_kpi(install, demo, "compare", "--period", "2025-12", "--by", "force",
                          "--format", "json").stdout)
    con = duckdb.connect()
    listed = ", ".join(f"'{f}'" for f in files)
    # The dialect is given, not sniffed: sniffing one Warwickshire file, DuckDB takes the
    # quoted LSOA name "Bournemouth, Christchurch and Poole 036E" for two fields.
    con.execute(f"CREATE TABLE street AS SELECT * FROM read_csv([{listed}], header = true, "
                "all_varchar = true, delim = ',', quote = '\"', escape = '\"')")
    return {"compare": got, "oracle": con, "demo": demo}


def _by_force(con, condition: str = "TRUE", *params) -> dict[str, int]:
    return dict(con.execute(f'SELECT "Falls within", count(*) FROM street WHERE ({condition}) '
                            "GROUP BY 1", list(params)).fetchall())


def _rank(con, values: dict[str, float], higher_is_better: bool) -> dict[str, int]:
    con.execute("CREATE OR REPLACE TEMP TABLE v (part VARCHAR, value DOUBLE)")
    con.executemany("INSERT INTO v VALUES (?, ?)", list(values.items()))
    order = "DESC" if higher_is_better else "ASC"
    return dict(con.execute(f"SELECT part, rank() OVER (ORDER BY value {order}) FROM v")
                .fetchall())


@realdata
def test_four_forces_counts_and_ranks_match_duckdb(four_forces):
    got, con = four_forces["compare"], four_forces["oracle"]
    kpis = {k["id"]: k for k in got["kpis"]}
    forces = {"City of London Police", "Staffordshire Police", "Warwickshire Police",
              "West Mercia Police"}
    expected = {"total_crime": _by_force(con, '"Crime type" <> ?', ASB),
                "asb": _by_force(con, '"Crime type" = ?', ASB)}
    for kpi_id, crime_type in CRIME_TYPES.items():
        expected[kpi_id] = _by_force(con, '"Crime type" = ?', crime_type)
    for kpi_id, counts in expected.items():
        parts = {p["name"]: p for p in kpis[kpi_id]["parts"]}
        assert set(parts) == forces, kpi_id
        assert {n: p["current"]["value"] for n, p in parts.items()} == counts, kpi_id
        assert all((p["current"]["start"], p["current"]["end"]) == ("2025-01", "2025-12")
                   for p in parts.values())
        # No 2024 files for three of the forces: no comparison, said so.
        assert all(p["comparison"] is None for p in parts.values())
        if kpis[kpi_id]["better"] == "lower":
            assert ({n: p["rank"] for n, p in parts.items()}
                    == _rank(con, {n: float(v) for n, v in counts.items()}, False)), kpi_id
    assert sum(expected["total_crime"].values()) > 260_000 - sum(expected["asb"].values())
    assert kpis["total_crime"]["note"].startswith("comparison year ending December 2024")


@realdata
def test_four_forces_outcome_shares_match_duckdb(four_forces):
    got, con = four_forces["compare"], four_forces["oracle"]
    kpis = {k["id"]: k for k in got["kpis"]}
    crimes = _by_force(con, '"Crime type" <> ?', ASB)
    for kpi_id, categories in OUTCOMES.items():
        marks = ", ".join("?" for _ in categories)
        numerators = _by_force(con, f'"Crime type" <> ? AND "Last outcome category" IN ({marks})',
                               ASB, *categories)
        for part in kpis[kpi_id]["parts"]:
            name = part["name"]
            assert part["current"]["numerator"] == numerators.get(name, 0), (kpi_id, name)
            assert part["current"]["denominator"] == crimes[name]
            assert part["current"]["value"] == pytest.approx(
                100 * numerators.get(name, 0) / crimes[name])
            # Each force against the other three pooled: the summary's two-proportion z-test.
            assert part["vs_rest"]["test"] == "two_proportion_z"
    assert len(kpis["no_suspect_share"]["parts"]) == 4


@realdata
def test_local_authority_is_derived_from_the_lsoa_name(install, four_forces):
    demo, con = four_forces["demo"], four_forces["oracle"]
    got = json.loads(_kpi(install, demo, "compare", "--period", "2025-12", "--by",
                          "local_authority", "--kpi", "total_crime", "--format", "json").stdout)
    parts = {p["name"]: p["current"]["value"] for p in got["kpis"][0]["parts"]}
    # A local authority is no load of its own: one with rows in only some months of the year
    # (a neighbouring authority a few crimes near a border fall in) has its rows' count, a
    # month it holds none of counting 0, as `kpi show`'s breakdown counts it.
    la = "regexp_replace(\"LSOA name\", ' [0-9]{3}[A-Z]$', '')"
    expected = dict(con.execute(
        f"""SELECT {la}, count(*) FROM street
           WHERE "Crime type" <> ? AND "LSOA name" IS NOT NULL GROUP BY 1""", [ASB]).fetchall())
    assert parts == expected
    assert "only some months" not in (got["kpis"][0]["note"] or "")
    assert parts["Birmingham"] > 0 and "Birmingham 016C" not in parts


# ---------------------------------------------------------------------------------------------
# Home Office police recorded crime by police force area, 2017/18


@pytest.fixture(scope="module")
def prc(install, tmp_path_factory):
    folder = tmp_path_factory.mktemp("empty-prc")
    _kpi(install, folder, "init", "--preset", "home-office-prc", "national")
    national = folder / "national"
    loaded = _kpi(install, national, "ingest", "prc", PRC)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE prc AS SELECT * FROM read_csv('{PRC}', header = true, "
                "delim = ',', quote = '\"', escape = '\"')")
    return {"project": national, "oracle": con, "loaded": loaded}


@realdata
def test_home_office_file_loads_with_its_extra_columns(prc):
    assert "Loaded 23,068 rows into 'prc' (4 quarter(s), 2017-04..2018-03)" in prc["loaded"].stderr
    assert "ignored 1 column(s) not in dataset 'prc': (unnamed column 1)" in prc["loaded"].stderr


@realdata
def test_every_force_ranked_for_2017_18_against_a_duckdb_sum(install, prc):
    con = prc["oracle"]
    got = json.loads(_kpi(install, prc["project"], "compare", "--period", "2018-03", "--by",
                          "force", "--kpi", "total_recorded_crime", "--kpi", "fraud",
                          "--format", "json").stdout)
    total, fraud = got["kpis"]
    marks = ", ".join("?" for _ in NATIONAL_FRAUD)
    expected = dict(con.execute(
        f"""SELECT Force_Name, sum(Number_of_Offences) FROM prc
            WHERE Financial_Year = '2017/18' AND Force_Name NOT IN ({marks}) GROUP BY 1""",
        list(NATIONAL_FRAUD)).fetchall())
    assert len(expected) == 44  # 43 territorial forces and British Transport Police
    parts = {p["name"]: p for p in total["parts"]}
    assert {n: p["current"]["value"] for n, p in parts.items()} == expected
    assert all((p["current"]["start"], p["current"]["end"]) == ("2017-04", "2018-03")
               for p in parts.values())
    ranks = {n: p["rank"] for n, p in parts.items()}
    assert ranks == _rank(con, {n: float(v) for n, v in expected.items()}, False)
    assert sorted(ranks.values()) == list(range(1, 45))
    assert ranks["Metropolitan Police"] == 44
    fraud_parts = {p["name"]: p["current"]["value"] for p in fraud["parts"]}
    # Financial Fraud Action UK became UK Finance during the year: `force` is no column the
    # dataset is loaded by, so each has the offences recorded under its name in the year, a
    # quarter it holds no row in counting none, as `kpi show`'s breakdown counts them.
    assert fraud_parts == dict(con.execute(
        f"SELECT Force_Name, sum(Number_of_Offences) FROM prc WHERE Force_Name IN ({marks}) "
        "AND Financial_Year = '2017/18' GROUP BY 1", list(NATIONAL_FRAUD)).fetchall())
    assert set(fraud_parts) == {"Action Fraud", "CIFAS", "Financial Fraud Action UK",
                                "UK Finance"}


@realdata
def test_home_office_groups_add_up_and_quarters_are_not_cut(install, prc):
    # The file holds one financial year and the preset reads year on year ([defaults] vs):
    # `kpi check` checks the windows `kpi summary` compares, so the year before is missing, as
    # the summary says; against the baseline (the same year) every check passes.
    yoy = _kpi(install, prc["project"], "check", "--period", "2018-03", code=1)
    assert "coverage_total_recorded_crime" in yoy.stdout
    assert "year ending March 2017 is incomplete" in yoy.stdout, yoy.stdout
    checked = _kpi(install, prc["project"], "check", "--period", "2018-03", "--vs", "baseline")
    assert "groups_sum" in checked.stdout and "0 failed" in checked.stdout
    # A period inside a quarter asks for the last whole quarter: February asks for the year to
    # December 2017, which the file (financial year 2017/18) does not hold in full; May asks
    # for the year to March 2018, as March does.
    refused = _kpi(install, prc["project"], "compare", "--period", "2018-02", "--by", "force",
                   code=3)
    assert "year ending December 2017 is incomplete" in refused.stderr
    may, march = (json.loads(_kpi(install, prc["project"], "compare", "--period", period,
                                  "--by", "force", "--kpi", "total_recorded_crime",
                                  "--format", "json").stdout)["kpis"][0]["parts"]
                  for period in ("2018-05", "2018-03"))
    assert may == march and may[0]["current"]["end"] == "2018-03"
