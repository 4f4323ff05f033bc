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


# ---------------------------------------------------------------------------------------------
# police.uk outcomes: every wording a category had, and forces that publish none


def _outcome_row(n: int, month: str, force: str, outcome: str,
                 crime_type: str = "Burglary") -> str:
    return (f"{n:064x},{month},{force},{force},-1.5,52.4,On or near X,E01000001,"
            f"Testtown 001A,{crime_type},{outcome},\n")


def _summary(cli, project: Path, period: str) -> dict[str, dict]:
    got = cli(["--project", project, "summary", "--period", period, "--format", "json"])
    assert got.exit_code == 0, got.output
    return {k["id"]: k for k in json.loads(got.stdout)["kpis"]}


def test_police_uk_outcome_share_has_no_figure_over_the_wording_of_before_2014(cli, tmp_path):
    # Months downloaded before police.uk's change of May 2014 say 'No further action at this
    # time', since split between 'Investigation complete; no suspect identified' and 'Formal
    # action is not in the public interest'. By hand: each month 20 of 50 crimes are closed with
    # no suspect (under either wording), 15 unable to prosecute, 15 a local resolution; one ASB
    # row. The year to April 2015 holds only the new wording: 240 of 600, 40.0%, and 180 of 600
    # unable to prosecute; the year to April 2014 only the old one: no figure of either share
    # (it read 0.0%, a rise to 40.0% "deteriorating, significant" where nothing changed).
    project = _police_uk(cli, tmp_path)
    months = [f"{2013 + (4 + i) // 12}-{(4 + i) % 12 + 1:02d}" for i in range(24)]
    lines, n = [], 0
    for month in months:
        closed = ("No further action at this time" if month < "2014-05"
                  else "Investigation complete; no suspect identified")
        for i in range(50):
            n += 1
            lines.append(_outcome_row(n, month, "Testshire Police", closed if i < 20 else
                                      "Unable to prosecute suspect" if i < 35 else
                                      "Local resolution"))
        lines.append(_street_row(month, "Anti-social behaviour"))
    street = project / "downloads" / "street.csv"
    street.write_text(STREET_HEADER + "".join(lines))
    assert cli(["--project", project, "ingest", "street", street]).exit_code == 0
    kpis = _summary(cli, project, "2015-04")
    for kpi_id, numerator in (("no_suspect_share", 240), ("unable_to_prosecute_share", 180)):
        kpi = kpis[kpi_id]
        assert (kpi["current"]["numerator"], kpi["current"]["denominator"]) == (numerator, 600)
        assert kpi["comparison"]["value"] is None, kpi
        assert kpi["change"]["points"] is None and kpi["status"] == "no_data"
    assert kpis["court_share"]["comparison"]["value"] == 0.0  # its wordings never changed
    # A current year of the old wording alone has no figure either (it printed 0.0%).
    alone = _summary(cli, project, "2014-04")["no_suspect_share"]
    assert alone["current"]["value"] is None and alone["current"]["denominator"] == 600


def test_police_uk_refuses_an_outcome_wording_it_does_not_know(cli, tmp_path):
    # An outcome police.uk might add or rename one day is refused, naming file, row and column,
    # where every outcome share would have counted it as none.
    project = _police_uk(cli, tmp_path)
    street = project / "downloads" / "street.csv"
    street.write_text(STREET_HEADER + _outcome_row(1, "2025-01", "X Police", "Under investigation")
                      + _outcome_row(2, "2025-01", "X Police", "Suspect vanished"))
    refused = cli(["--project", project, "ingest", "street", street])
    assert refused.exit_code == 3, refused.output
    assert "street.csv, row 3, column 'Last outcome category'" in refused.output
    assert "found 'Suspect vanished'" in refused.output


def _three_forces(cli, tmp_path: Path, without_blank_filter: bool = False) -> Path:
    # Each month of 2025: North 10 crimes (4 closed with no suspect), South 10 (6), and Ulster,
    # whose files carry no outcome (police.uk publishes none for PSNI), 10 crimes, all blank.
    project = _police_uk(cli, tmp_path)
    if without_blank_filter:  # the shares over every crime, as the preset defined them before
        toml = project / "kpi.toml"
        toml.write_text(toml.read_text().replace(" AND last_outcome IS NOT NULL", ""))
    lines, n = [], 0
    for month in _months(2025):
        for force, closed in (("North Police", 4), ("South Police", 6), ("Ulster Police", 0)):
            for i in range(10):
                n += 1
                outcome = ("" if force == "Ulster Police" else
                           "Investigation complete; no suspect identified" if i < closed
                           else "Unable to prosecute suspect")
                lines.append(_outcome_row(n, month, force, outcome))
    street = project / "downloads" / "street.csv"
    street.write_text(STREET_HEADER + "".join(lines))
    assert cli(["--project", project, "ingest", "street", street]).exit_code == 0
    return project


def _compared(cli, project: Path, kpi_id: str) -> dict:
    got = cli(["--project", project, "compare", "--period", "2025-12", "--by", "force",
               "--format", "json"])
    assert got.exit_code == 0, got.output
    return {k["id"]: k for k in json.loads(got.stdout)["kpis"]}[kpi_id]


@pytest.mark.parametrize("without_blank_filter", [False, True])
def test_police_uk_force_without_outcomes_is_never_ranked(cli, tmp_path, without_blank_filter):
    # Ulster's 0 of 120 "closed with no suspect" is no figure: it was ranked 1st at 0.0%, "differs
    # from the rest, p < 0.001". By hand: North 48 of 120, 40.0%; South 72 of 120, 60.0%. With the
    # preset's filter its crimes are in no share; over every crime (the rule of kpi compare
    # itself), it is left out as blank in the column the numerator reads. Either way, named.
    project = _three_forces(cli, tmp_path, without_blank_filter)
    compared = _compared(cli, project, "no_suspect_share")
    got = {p["name"]: (p["current"]["numerator"], p["current"]["denominator"], p["rank"])
           for p in compared["parts"]}
    assert got == {"North Police": (48, 120, 1), "South Police": (72, 120, 2)}
    assert "Ulster Police" in compared["note"], compared["note"]
    if without_blank_filter:
        assert "left out, blank on every row counted" in compared["note"]
    # The summary's pooled share: by the preset's definition, of the crimes with an outcome,
    # 120 of 240; and its quality note names the force blank on every row, where the blank
    # share of the whole dataset (a third) is under the note's threshold (a half).
    kpi = _summary(cli, project, "2025-12")["no_suspect_share"]
    expected = (120, 360) if without_blank_filter else (120, 240)
    assert (kpi["current"]["numerator"], kpi["current"]["denominator"]) == expected
    assert any("blank on every one of the 120 rows of Ulster Police (force)" in note
               for note in kpi["quality"]), kpi["quality"]
