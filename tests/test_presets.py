"""kpi init --preset: ready projects copied out of the package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kpi.catalogue import parse_project_file
from kpi.presets import PRESETS, preset_dir

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_a_valid_project(name):
    project = parse_project_file(preset_dir(name) / "kpi.toml")
    assert project.kpis


def test_unknown_preset_and_existing_project_are_usage_errors(cli, tmp_path):
    unknown = cli(["init", "--preset", "nope", tmp_path / "x"])
    assert unknown.exit_code == 2 and "unknown preset 'nope'" in unknown.output
    assert not (tmp_path / "x").exists()
    (tmp_path / "y").mkdir()
    (tmp_path / "y" / "kpi.toml").write_text("# mine\n")
    taken = cli(["init", "--preset", "home-office-prc", tmp_path / "y"])
    assert taken.exit_code == 2 and "already exists" in taken.output
    assert (tmp_path / "y" / "kpi.toml").read_text() == "# mine\n"


def test_west_midlands_copy_is_an_editable_project_with_the_samples_figures(cli, tmp_path,
                                                                           sample_paper):
    result = cli(["init", "--preset", "west-midlands", tmp_path / "wm"])
    assert result.exit_code == 0, result.output
    copy = tmp_path / "wm"
    assert not (copy / "generate.py").exists()
    assert (copy / "kpi.toml").read_bytes() == \
        (REPO / "datasets" / "west-midlands" / "kpi.toml").read_bytes()
    mine = json.loads(cli(["--project", copy, "summary", "--period", "2025-09",
                           "--format", "json"]).stdout)
    bundled = json.loads(sample_paper["summary"].read_text(encoding="utf-8"))
    assert mine["kpis"] == bundled["kpis"]
    assert (copy / "data" / "crimes" / "_delta_log").is_dir()


# ---------------------------------------------------------------------------------------------
# The public-data presets know every category name their sources use; any other is refused at
# load, where a KPI filtering on the names it knew counted it as none (a year either side of a
# rename read as a rise from nothing, or a fall to it).

STREET_HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
                 "LSOA name,Crime type,Last outcome category,Context\n")
# police.uk's crime types since May 2013, and the KPI of each (written here, not read from
# the preset, so a filter there that misses one fails).
POLICE_UK_TYPES = {
    "violence_sexual": "Violence and sexual offences", "other_theft": "Other theft",
    "theft_from_person": "Theft from the person", "shoplifting": "Shoplifting",
    "burglary": "Burglary", "vehicle_crime": "Vehicle crime", "bicycle_theft": "Bicycle theft",
    "robbery": "Robbery", "criminal_damage_arson": "Criminal damage and arson",
    "public_order": "Public order", "drugs": "Drugs",
    "possession_of_weapons": "Possession of weapons", "other_crime": "Other crime",
    "asb": "Anti-social behaviour",
}


def _street_row(month: str, crime_type: str) -> str:
    return (f",{month},City of London Police,City of London Police,-0.09,51.51,On or near X,"
            f"E01000001,City of London 001A,{crime_type},,\n")


def _months(year: int) -> list[str]:
    return [f"{year}-{m:02d}" for m in range(1, 13)]


def _police_uk(cli, tmp_path: Path) -> Path:
    assert cli(["init", "--preset", "police-uk", tmp_path / "p"]).exit_code == 0
    return tmp_path / "p"


def _check(cli, project: Path, period: str, check_id: str) -> dict:
    """What `kpi check` says of one check (others fail on the datasets not loaded)."""
    checked = json.loads(cli(["--project", project, "check", "--period", period,
                              "--format", "json"]).stdout)
    return {c["id"]: c for c in checked["checks"]}[check_id]


def test_police_uk_counts_every_crime_type_by_its_own_kpi(cli, tmp_path):
    # Each month of 2024 holds one row of each type, each month of 2025 two: by hand, each
    # type 12 then 24, the crimes (every type but ASB) 13 x 12 = 156 then 312.
    project = _police_uk(cli, tmp_path)
    lines = [_street_row(month, name) * (1 if month < "2025" else 2)
             for month in _months(2024) + _months(2025) for name in POLICE_UK_TYPES.values()]
    street = project / "downloads" / "street.csv"
    street.write_text(STREET_HEADER + "".join(lines))
    loaded = cli(["--project", project, "ingest", "street", street])
    assert loaded.exit_code == 0, loaded.output
    summary = json.loads(cli(["--project", project, "summary", "--period", "2025-12",
                              "--format", "json"]).stdout)
    got = {k["id"]: (k["current"]["value"], k["comparison"]["value"]) for k in summary["kpis"]
           if k["id"] in POLICE_UK_TYPES or k["id"] == "total_crime"}
    assert got == {**{kpi_id: (24, 12) for kpi_id in POLICE_UK_TYPES},
                   "total_crime": (312, 156)}
    check = _check(cli, project, "2025-12", "crime_types_sum")
    assert check["passed"] and check["total"]["value"] == 312, check


@pytest.mark.parametrize("old", ["Violent crime", "Public disorder and weapons"])
def test_police_uk_refuses_the_crime_types_of_months_before_may_2013(cli, tmp_path, old):
    # The tester's case in small: April 2013 as police.uk wrote it, May 2013 after the rename.
    # Counted as none, 'Violent crime' made violence 0 in the year to December 2012 and a
    # significant rise after; 'Public disorder and weapons' holds Public order and Possession
    # of weapons together, which no row of it can be split into.
    project = _police_uk(cli, tmp_path)
    street = project / "downloads" / "street.csv"
    street.write_text(STREET_HEADER + _street_row("2013-04", "Burglary")
                      + _street_row("2013-04", old) + _street_row("2013-05", "Public order")
                      + _street_row("2013-05", "Violence and sexual offences"))
    refused = cli(["--project", project, "ingest", "street", street])
    assert refused.exit_code == 3
    assert "street.csv, row 3, column 'Crime type': expected text matching " in refused.output
    assert f"found '{old}'" in refused.output
    stored = json.loads(cli(["--project", project, "datasets", "--format", "json"]).stdout)
    assert [d["rows"] for d in stored] == [0, 0, 0]


def test_police_uk_refuses_a_crime_type_it_does_not_know(cli, tmp_path):
    # A type police.uk might add one day is refused too, not left out of every KPI but the
    # total (where `kpi check` alone would have said the types no longer add up).
    project = _police_uk(cli, tmp_path)
    street = project / "downloads" / "street.csv"
    street.write_text(STREET_HEADER + _street_row("2025-01", "Burglary")
                      + _street_row("2025-01", "Fraud"))
    refused = cli(["--project", project, "ingest", "street", street])
    assert refused.exit_code == 3 and "found 'Fraud'" in refused.output, refused.output


PRC_HEADER = ("Financial_Year,Financial_Quarter,Force_Name,Offence_Description,Offence_Group,"
              "Offence_Subgroup,Offence_Code,Number_of_Offences\n")
# One quarter of each year: (group, subgroup, offences) for Kent, and Action Fraud's fraud.
# 2017/18 names the subgroups as the real 2017/18 table does; 2018/19 as the Home Office's
# later tables do (Residential and Non-residential burglary, one Vehicle offences subgroup,
# Miscellaneous crimes against society, death or serious injury by driving a subgroup of its
# own where 2017/18 counts it in Violence with injury).
PRC_2017_18 = [("Theft offences", "Domestic burglary", 10),
               ("Theft offences", "Non-domestic burglary", 4),
               ("Theft offences", "Theft from a vehicle", 3),
               ("Theft offences", "Theft of a motor vehicle", 2),
               ("Theft offences", "Vehicle interference", 1),
               ("Miscellaneous crimes", "Miscellaneous crimes", 5),
               ("Violence against the person", "Violence with injury", 7),
               ("Violence against the person", "Violence with injury", 1)]
PRC_2018_19 = [("Theft offences", "Residential burglary", 11),
               ("Theft offences", "Non-residential burglary", 4),
               ("Theft offences", "Vehicle offences", 5),
               ("Miscellaneous crimes against society", "Miscellaneous crimes against society", 6),
               ("Violence against the person", "Violence with injury", 7),
               ("Violence against the person", "Death or serious injury - unlawful driving", 2)]


def _prc_rows(year: str, rows: list[tuple[str, str, int]], fraud: str) -> str:
    out = []
    for quarter in (1, 2, 3, 4):
        out += [f"{year},{quarter},Kent,x,{group},{subgroup},1,{n}\n"
                for group, subgroup, n in rows]
        out.append(f"{year},{quarter},Action Fraud,x,Fraud offences,{fraud},1,20\n")
    return "".join(out)


def _home_office(cli, tmp_path: Path) -> Path:
    assert cli(["init", "--preset", "home-office-prc", tmp_path / "h"]).exit_code == 0
    return tmp_path / "h"


def test_home_office_prc_counts_the_renamed_subgroups_of_later_tables(cli, tmp_path):
    # By hand, four quarters each: burglary (10 + 4) x 4 = 56 then (11 + 4) x 4 = 60; vehicle
    # offences (3 + 2 + 1) x 4 = 24 then 5 x 4 = 20; miscellaneous crimes 20 then 24; violence
    # with injury (7 + 1) x 4 = 32 then (7 + 2) x 4 = 36; recorded crime (excluding fraud)
    # 33 x 4 = 132 then 35 x 4 = 140. The preset knew only the 2017/18 names: burglary 56 then
    # 44, vehicle offences 24 then 0, miscellaneous crimes 20 then 0.
    project = _home_office(cli, tmp_path)
    table = project / "downloads" / "prc.csv"
    table.write_text(PRC_HEADER + _prc_rows("2017/18", PRC_2017_18, "Fraud: action fraud")
                     + _prc_rows("2018/19", PRC_2018_19, "Fraud: action fraud"))
    loaded = cli(["--project", project, "ingest", "prc", table])
    assert loaded.exit_code == 0, loaded.output
    summary = json.loads(cli(["--project", project, "summary", "--period", "2019-03",
                              "--format", "json"]).stdout)
    kpis = {k["id"]: (k["current"]["value"], k["comparison"]["value"]) for k in summary["kpis"]}
    assert {k: kpis[k] for k in ("burglary", "vehicle_offences", "miscellaneous_crimes",
                                 "violence_with_injury", "theft_offences",
                                 "violence_against_the_person", "total_recorded_crime",
                                 "fraud")} == {
        "burglary": (60, 56), "vehicle_offences": (20, 24), "miscellaneous_crimes": (24, 20),
        "violence_with_injury": (36, 32), "theft_offences": (80, 80),
        "violence_against_the_person": (36, 32), "total_recorded_crime": (140, 132),
        "fraud": (80, 80)}
    check = _check(cli, project, "2019-03", "groups_sum")
    assert check["passed"] and check["total"]["value"] == 140, check


@pytest.mark.parametrize(("column", "row", "found"), [
    ("Offence_Subgroup", "Kent,x,Theft offences,Theft from motor vehicles",
     "Theft from motor vehicles"),
    ("Offence_Group", "Kent,x,Other crimes against society,Miscellaneous crimes against society",
     "Other crimes against society"),
    # A fraud body national_fraud_body does not name would be counted as a force in recorded
    # crime (excluding fraud).
    ("Force_Name", "National Fraud Intelligence Bureau,x,Fraud offences,Fraud: action fraud",
     "National Fraud Intelligence Bureau"),
])
def test_home_office_prc_refuses_a_name_it_does_not_know(cli, tmp_path, column, row, found):
    project = _home_office(cli, tmp_path)
    table = project / "downloads" / "prc.csv"
    table.write_text(PRC_HEADER + "2018/19,1,Kent,x,Theft offences,Shoplifting,1,3\n"
                     f"2018/19,1,{row},1,2\n")
    refused = cli(["--project", project, "ingest", "prc", table])
    assert refused.exit_code == 3
    assert f"prc.csv, row 3, column '{column}'" in refused.output, refused.output
    assert f"found '{found}'" in refused.output
