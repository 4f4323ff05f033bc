"""The board paper of a police.uk project (datasets/police-uk) on real City of London files:
it reads correctly for that data (no plan it does not have, no glossary it does not use, no
percentage on a tiny base), and a second download that revised the months lists the revised
figures against the figures file of the first paper.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from prose_support import kpi_titles, stacked_punctuation
from typer.testing import CliRunner

from kpi.render import escape_markdown

REPO = Path(__file__).resolve().parents[1]
PROJECT = REPO / "datasets" / "police-uk"
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "police-uk"
STREET = REALDATA / "city-of-london" / "street"
REVISED = REALDATA / "city-of-london" / "street-2025-other-download"

pytestmark = pytest.mark.skipif(
    not (any(STREET.glob("*-street.csv")) and any(REVISED.glob("*-street.csv"))),
    reason="the real police.uk files are not beside the checkout (../shared/realdata/police-uk)")


def _kpi(project: Path, *args) -> str:
    from kpi.cli import app

    result = CliRunner().invoke(app, ["--project", str(project), *[str(a) for a in args]])
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """The City of London paper after the first download, and after the second with
    --previous pointing at the first paper's figures."""
    project = tmp_path_factory.mktemp("city-paper")
    shutil.copy(PROJECT / "kpi.toml", project / "kpi.toml")
    out = project / "out"
    _kpi(project, "ingest", "street", *sorted(STREET.glob("*-street.csv")))
    first = out / "paper-2025-12.md"
    _kpi(project, "export", "markdown", "--period", "2025-12", "--output", first)
    full = out / "paper-2025-12-full.md"
    _kpi(project, "export", "markdown", "--period", "2025-12", "--output", full, "--full")
    before = json.loads(_kpi(project, "summary", "--period", "2025-12", "--format", "json"))
    show = json.loads(_kpi(project, "show", "under_investigation_share", "--period", "2025-12",
                           "--format", "json"))
    _kpi(project, "ingest", "street", *sorted(REVISED.glob("*-street.csv")))
    after = json.loads(_kpi(project, "summary", "--period", "2025-12", "--format", "json"))
    second = out / "paper-2025-12-again.md"
    _kpi(project, "export", "markdown", "--period", "2025-12", "--output", second,
         "--previous", out / "paper-2025-12.figures.json")
    return {"first": first.read_text(encoding="utf-8"),
            "full": full.read_text(encoding="utf-8"), "second": second.read_text(
        encoding="utf-8"), "figures": json.loads((out / "paper-2025-12.figures.json").read_text(
            encoding="utf-8")), "before": before, "after": after, "show": show,
            "full_figures": json.loads((out / "paper-2025-12-full.figures.json").read_text(
                encoding="utf-8"))}


def test_every_number_of_the_papers_is_a_recorded_figure_or_a_named_non_figure(city):
    """As the sample's papers are read (test_printed_numbers.py): every number of the
    police.uk paper and its full paper is a figure its figures file records, or of a class
    named as no figure of the data."""
    from printed_numbers import NOT_YET_RECORDED, unaccounted

    found: set[str] = set()
    for paper, figures in (("first", "figures"), ("full", "full_figures")):
        left = unaccounted(city[paper], city[figures], found=found,
                           commentary=(PROJECT / "kpi.toml").read_text(encoding="utf-8"),
                           titles=kpi_titles(PROJECT / "kpi.toml"))
        assert not left, f"{paper}: printed, not recorded: " + "; ".join(
            f"{number!r} in {line[:160]!r}" for number, line in left[:10])
    # the police.uk papers are where a test of months not final yet prints the settled
    # windows' figures
    assert "settled windows" in found
    assert found <= {name for name, _, _ in NOT_YET_RECORDED}


def test_no_plan_wording_and_no_unused_glossary(city):
    text = city["first"]
    assert "Plan" not in text and "plan " not in text
    assert text.startswith("# data.police.uk street-level crime, outcomes and stop and search\n\n"
                           "**Performance report: December 2025**\n")
    assert "glossary" not in text.lower() and "OC1" not in text
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings[-1:] == ["Appendix 1: How to read this paper"]
    headings = re.findall(r"^## (.+)$", city["full"], flags=re.MULTILINE)
    assert headings[-2:] == ["Appendix 2: KPI definitions", "Appendix 3: Data sources"]
    # Open data is not called the force's live systems: the project says what its data is.
    assert "live systems" not in text and "police.uk open data" in text


def test_the_paper_reads_one_clause_at_a_time(city):
    """No two asides in a row and at most one colon to a clause (tests/prose_support.py), in
    a real force's paper as in the sample's."""
    titles = kpi_titles(PROJECT / "kpi.toml")
    assert stacked_punctuation(city["first"], titles) == []
    assert stacked_punctuation(city["full"], titles) == []


def test_no_percentage_on_a_tiny_base(city):
    text = city["full"].replace("\u2212", "-")
    for ranking in re.findall(r"the percentage change, best first: ([^;.]*)", text):
        for part, change in re.findall(r"([^,(]+) \(([+-]?[\d.]+)%\)", ranking):
            assert abs(float(change)) < 1000, (part, change)
    # Every part ranked by percentage has a base of 50 or more: check each against the
    # summary's figures for the whole KPI is not possible per part, so check the wording of the
    # small parts instead: they come after the ranking as numbers.
    assert "(+200.0%)" not in text
    for line in text.splitlines():
        if "on a base below 50, as numbers:" in line:
            tail = line.split("on a base below 50, as numbers:")[1].split(".")[0]
            assert "%" not in tail


def test_breakdowns_use_labels_and_a_single_force_is_not_ranked(city):
    text = city["full"]
    # The areas are named as police.uk names them, and the paper says what they are.
    assert "By small area (LSOA), " in text and "lsoa name" not in text.lower()
    assert "census small areas (lower layer super output areas, LSOAs" in text
    assert "By force, all of it is City of London Police." in text
    assert "By crime type, " in text


def test_figures_file_lists_every_printed_figure(city):
    figures = city["figures"]
    assert figures["period"] == "2025-12" and figures["comparison"] == "yoy"
    printed = {(f["kpi"], f["role"]): f for f in figures["figures"]}
    for doc in city["before"]["kpis"]:
        for role in ("current", "comparison"):
            window = doc[role]
            if window and window["value"] is not None:
                item = printed[(doc["id"], role)]
                assert item["value"] == pytest.approx(window["value"])
                assert item["versions"] == {"street": 0}


def test_revised_figures_appendix_lists_what_the_second_download_changed(city):
    before = {d["id"]: d for d in city["before"]["kpis"]}
    after = {d["id"]: d for d in city["after"]["kpis"]}
    # The appendix (the front page only counts them and names the appendix).
    appendix = city["second"].split("Figures revised since the last paper\n")[1]
    assert re.search(r"Figures revised since the last paper: \d+, listed in Appendix 2\.",
                     city["second"])
    rows = re.findall(r"^\| (.+?) \| (.+?) \| (.+?) \| (.+?) \|$", appendix, flags=re.MULTILINE)
    listed = {(title, window): (old, new) for title, window, old, new in rows[1:]}
    expected = {}
    for kpi_id, doc in before.items():
        for role in ("current", "comparison"):
            old, new = doc[role], after[kpi_id][role]
            if old is None or new is None or old["value"] is None:
                continue
            assert old["label"] == new["label"]
            shown = {"count": "{:,.0f}", "percent": "{:.1f}%"}[doc["unit"]]
            if shown.format(old["value"]) != shown.format(new["value"]):
                expected[(escape_markdown(doc["title"], cell=True),
                          old["label"])] = (shown.format(old["value"]),
                                            shown.format(new["value"]))
            # the cases and base the paragraph printed beside a proportion's current figure
            cases = [f for f in city["figures"]["figures"]
                     if f["kpi"] == kpi_id and f["role"] == role and "cases" in f]
            if cases:
                assert cases[0]["cases"] == [old["numerator"], old["denominator"]]
                then = f"{old['numerator']:,} of {old['denominator']:,}"
                now = f"{new['numerator']:,} of {new['denominator']:,}"
                if then != now:
                    expected[(escape_markdown(doc["title"], cell=True) + ", its cases and "
                              "base", old["label"])] = (then, now)
    # The other download of 2025 revises the outcomes recorded, not the crimes counted.
    assert expected, "the second download revises some 2025 figures"
    assert listed == expected


def test_real_data_reads_right(city):
    """The City of London paper: no month whose outcomes are not final is read as a special
    cause, and the step in ASB recording (November 2024) is a change in level, not an
    improvement."""
    text = city["first"]
    shares = ("Crimes closed with no suspect identified", "Crimes where the suspect could not "
              "be prosecuted", "Crimes still under investigation",
              "Crimes charged or sent to court")
    for title in shares:
        paragraph = next(line for line in text.splitlines() if f"**{title}.**" in line)
        assert "The figures of the last 3 months (October to December 2025) are not " \
               "final yet" in paragraph, title
    # Under investigation rose only in the months not yet final: no special cause now.
    under = next(line for line in text.splitlines()
                 if "**Crimes still under investigation.**" in line)
    assert "unusually" not in under and "special cause" not in under
    asb = next(line for line in text.splitlines()
               if "**Anti-social behaviour incidents.**" in line)
    assert "improvement" not in asb and "improving" not in asb
    assert ("the level fell in November 2024 and has stayed lower since (seven or more months "
            "in a row below the average)") in asb
    front = text.split("## 1. Introduction")[0]
    assert "Anti-social behaviour incidents" not in front.split("Special cause of improvement")[1
                                                                ].split("\n")[0]


@pytest.mark.parametrize("paper", ["first", "full"])
def test_months_not_final_are_never_read_as_a_settled_level_or_a_special_cause(city, paper):
    """Crimes still under investigation rose from 0.0% to 2.1% only because the last months'
    outcomes are not recorded yet: the paper says the 12-month figure includes those months
    and never that the level rose and has held since, nor that a month is a special cause;
    the board's paper and the technical annex alike. Every month whose outcomes are final is
    0.0% (DuckDB's count below), so the chart has no limits: the paragraph says so, with the
    months its limits would come from and `kpi show`'s reason, and the matrix files it under
    "No process chart" for that reason."""
    import duckdb

    files = str(STREET / "*-street.csv")
    # Crimes under investigation by month, of those with an outcome (the KPI's filter): none
    # in any month to September 2025, the last whose outcomes are final.
    months = duckdb.sql(
        "SELECT \"Month\", sum(CASE WHEN \"Last outcome category\" = 'Under investigation' "
        f"THEN 1 ELSE 0 END) FROM read_csv('{files}', header = true, all_varchar = true) "
        "WHERE \"Crime type\" <> 'Anti-social behaviour' AND \"Last outcome category\" "
        "IS NOT NULL GROUP BY 1 ORDER BY 1").fetchall()
    assert [m for m, _ in months] == [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]
    assert all(n == 0 for m, n in months if m <= "2025-09")
    text = city[paper]
    under = next(line for line in text.splitlines()
                 if "**Crimes still under investigation.**" in line)
    assert "2.1%" in under and "from 0.0%" in under
    assert ("not statistically significant. This KPI has no process chart: the months its "
            "limits would come from (January to December 2024) have no variation (every month "
            "the same value), so the spread of the process is not known. The figures of the "
            "last 3 months (October to December 2025) are not final yet and will change as "
            "records are updated: the 12-month figure includes them; they are left out of the "
            "test of the change") in under
    # the chart it does not have leaves nothing out, and reads no variation of the months
    assert "process chart leaves" not in under and "normal variation" not in under
    assert "stable" not in under and "special cause" not in under and "unusual" not in under
    # `kpi show`'s reason, in its words
    shown = city["show"]["signal"]["xmr"]
    assert shown["mean"] is None and shown["signals"] == []
    assert shown["note"] == ("no limits: the baseline (2024-01 to 2024-12) has no variation "
                             "(every month the same value), so the spread of the process is "
                             "not known")
    # The matrix files it under "No process chart", whose words name this reason.
    row = next(line for line in text.splitlines()
               if line.startswith("- **No process chart (cumulative, too few months, no data, "
                                  "no variation), "))
    assert "Crimes still under investigation;" in row
    # The step in ASB recording is a change in level in the annex too, never an improvement.
    asb = next(line for line in text.splitlines()
               if "**Anti-social behaviour incidents.**" in line)
    assert "improv" not in asb and "the level fell in November 2024" in asb
    assert "live systems" not in text


def test_the_revised_figures_appendix_claims_no_live_systems(city):
    """What the data is (live systems or open data) is the project's to say ([paper]
    data_note): the appendix of figures revised since the last paper says only that records
    are revised."""
    text = city["second"]
    assert "Figures revised since the last paper" in text
    assert "live systems" not in text and "records are revised after a paper is written" in text


def test_a_part_that_stands_out_is_a_place_never_the_rows_with_no_location(city):
    """Crimes with no LSOA recorded fell by a third: a recording matter, so they stay in the
    rest of a breakdown but are never the part that stands out."""
    sentences = [s for line in (city["first"] + city["full"]).splitlines()
                 for s in line.split(". ") if " stand out from " in s or " stands out from " in s]
    assert sentences, "the City of London paper has parts that stand out"
    assert not [s for s in sentences if "not recorded (" in s.split(" out from ")[0]]


def test_a_dataset_not_loaded_is_named_in_words_not_by_its_id(city):
    """Only street files are loaded: the stop and search KPIs have no figure, and the board
    reads why in words, once in the exceptions for all six, never the dataset's id."""
    text = city["first"]
    assert "stop_search" not in text and "dataset '" not in text
    assert "6 KPIs have no figure** (no stop search data has been loaded yet)" in text
    # Said once in the section too, for the six, not once a KPI.
    section = text.split("## 5. Stop and search\n")[1].split("\n## ")[0]
    assert section.count("no stop search data has been loaded yet") == 1
    assert ("5.2. **6 KPIs without a figure.** No figure can be reported for them (no stop "
            "search data has been loaded yet): Stop and searches; Stop and searches ending in "
            "arrest; Stop and searches ending in no further action; Stop and searches of "
            "children aged 10-17; Stop and search disproportionality, Black vs White; Stop and "
            "search disproportionality, Asian vs White.") in section
    assert "See 5.2." in text.split("## 1. Introduction")[0]


def test_no_finding_rests_on_months_whose_outcomes_are_not_final(city):
    """The outcome shares' last 3 months (October to December 2025) are not final: the
    12-month figure includes them, but the test of the change compares the two windows
    without their last 3 months (January to September 2025 against January to September
    2024), and no part of a breakdown is tested. The counts are worked out again by DuckDB
    from the files, and the z-test by hand."""
    import math

    import duckdb

    files = str(STREET / "*-street.csv")

    def counts(category: str) -> list[tuple[str, int, int]]:
        return duckdb.sql(
            "SELECT substr(\"Month\", 1, 4), sum(CASE WHEN \"Last outcome category\" = "
            f"'{category}' THEN 1 ELSE 0 END), count(*) "
            f"FROM read_csv('{files}', header = true, all_varchar = true) "
            "WHERE \"Crime type\" <> 'Anti-social behaviour' AND substr(\"Month\", 6, 2) "
            "<= '09' GROUP BY 1 ORDER BY 1").fetchall()

    # January to September of each year: no suspect identified, and unable to prosecute.
    assert counts("Investigation complete; no suspect identified") == [
        ("2024", 3641, 7155), ("2025", 3102, 6444)]
    assert counts("Unable to prosecute suspect") == [("2024", 1046, 7155), ("2025", 1205, 6444)]
    docs = {d["id"]: d for d in city["before"]["kpis"]}
    for kpi_id, (x1, n1, x2, n2) in (("no_suspect_share", (3102, 6444, 3641, 7155)),
                                      ("unable_to_prosecute_share", (1205, 6444, 1046, 7155))):
        pooled = (x1 + x2) / (n1 + n2)
        z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        test = docs[kpi_id]["significance"]
        assert test["test"] == "two_proportion_z"
        assert test["statistic"] == pytest.approx(z, rel=1e-12)
        assert test["p_value"] == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), rel=1e-9)
    # z = -3.20 and +6.39: both still significant without the months not final.
    text = city["first"]
    lines = {title: next(x for x in text.splitlines() if f"**{title}.**" in x) for title in (
        "Crimes closed with no suspect identified",
        "Crimes where the suspect could not be prosecuted", "Crimes still under investigation")}
    assert ("the process chart leaves them out, and so does the test of the change, which "
            "compares 48.1% in January to September 2025 with 50.9% in January to September "
            "2024.") in lines["Crimes closed with no suspect identified"]
    assert ("compares 18.7% in January to September 2025 with 14.6% in January to September "
            "2024.") in lines["Crimes where the suspect could not be prosecuted"]
    # Still under investigation: 2.1% against 0.0% only because of the months not final;
    # without them both years are 0.0%, so no significant change is claimed, and with no
    # process chart (every month final is 0.0%) none says the months vary normally.
    under = lines["Crimes still under investigation"]
    assert ": not statistically significant. This KPI has no process chart: " in under
    assert "normal variation" not in under and "a statistically significant" not in under
    assert ("they are left out of the test of the change, which compares 0.0% in January to "
            "September 2025 with 0.0% in January to September 2024.") in under
    # No part of an outcome share is tested for standing out, and the method says why.
    outcomes = text.split("## 4. Outcomes\n")[1].split("\n## ")[0]
    assert "stand out" not in outcomes and "stands out" not in outcomes
    assert ("the significance test compares the two windows without their last 3 months, the "
            "process chart leaves those months out, and no part of its breakdowns is tested "
            "for standing out.") in text


def test_a_breakdown_of_months_not_final_says_it_includes_them(city):
    """The technical annex ranks each outcome share's crime types over the year ending
    December 2025, whose last 3 months are not final: "Other crime (10.2%)" still under
    investigation is only those months. Every such ranking says the months are in it, and
    no breakdown of a KPI whose months are all final says so."""
    text = city["full"]
    outcomes = text.split("## 4. Outcomes\n")[1].split("\n## ")[0]
    rankings = re.findall(r"By crime type, [^:]*?(?: were |: )", outcomes)
    assert len(rankings) == 4, rankings
    assert all("(including its last 3 months, not final yet)" in r for r in rankings)
    under = next(line for line in outcomes.splitlines()
                 if "**Crimes still under investigation.**" in line)
    assert ("By crime type, the highest figures in the year ending December 2025 (including its "
            "last 3 months, not final yet) were Other crime (10.2%)") in under
    crime = text.split("## 2. ")[1].split("\n## ")[0]
    assert "By small area (LSOA)" in crime and "not final yet" not in crime



def test_a_settled_change_names_the_window_it_moved_from(city):
    """Compared with the same window a year earlier, "the level fell after the comparison"
    named no time a board member could place: the sentence names the window."""
    text = city["first"]
    assert "after the comparison," not in text and "after the comparison and" not in text
    assert "the level fell after the year ending December 2024" in text


def test_the_matrix_has_no_row_of_kpis_in_development_and_a_count_reads_without_a_noun(city):
    """Read printed, the City of London paper's matrix ended in a row "In development" of
    dashes and 0, a project with no KPI in development (issue 18: a KPI in development gets a
    sentence, not a row); and a count with no `noun` read "The total for burglary was 459".
    The title heading the paragraph says what is counted."""
    text = city["first"]
    assert "In development" not in text and "in development" not in text.split("## 1.")[0]
    matrix = [line for line in text.splitlines() if line.startswith("| ")]
    assert matrix[-1].startswith("| No process chart"), matrix
    assert ("2.7. **Burglary.** A total of 459 was recorded in the year ending December 2025, "
            "an increase of 37.8% from 333 in the year ending December 2024, a statistically "
            "significant deterioration.") in text
    assert "The total for" not in text and "The total for" not in city["full"]
