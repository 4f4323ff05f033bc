"""kpi export markdown: the board paper.

Numbers in the prose are checked against `kpi summary --format json` (formatted here, not by
the paper's code); LPA rankings and top neighbourhoods against DuckDB SQL over the source
extracts; the wording against the sign of each change; the Markdown structure with a CommonMark
parser; and the bundled sample's paper against a golden file (KPI_UPDATE_GOLDEN=1 rewrites it).
"""

from __future__ import annotations

import json
import math
import os
import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from fixtures.paper_project import load_paper_project
from hypothesis import example, given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from oracle_support import excel_round, excel_text
from prose_support import kpi_titles, result_of, stacked_punctuation

from kpi.catalogue import Better, Kind, KpiDef, Unit
from kpi.engine import KpiResult, Measured, Outcome
from kpi.paper import (
    NO_SIGNIFICANT_CHANGE,
    NOT_TESTED,
    NOT_TESTED_SENTENCE,
    SHARED_MONTHS_SENTENCE,
    SHOWN_STATUS_WORDS,
    STATUS_VARIANTS,
    _tally,
    change_words,
    kpi_value,
    percentile_name,
    precision_words,
    shown_status,
    status_sentence,
)
from kpi.periods import Month, Window
from kpi.render import duration_words, escape_markdown

GOLDEN = Path(__file__).parent / "golden" / "board-2025-09.md"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
PARAGRAPH = re.compile(r"^(\d+)\.(\d+)\. (.*)$")
LEAD_IN = re.compile(r"^\*\*(.+?)\*\* (.*)$")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("paper")
    return load_paper_project(folder), folder


@pytest.fixture(scope="module")
def exported(project, tmp_path_factory):
    """The paper and the summary JSON for the fixture project, September 2025."""
    from typer.testing import CliRunner

    from kpi.cli import app

    _, folder = project
    out = tmp_path_factory.mktemp("out") / "board.md"
    runner = CliRunner()
    # The full paper: every KPI's whole paragraph, whose wording these tests read.
    result = runner.invoke(app, ["--project", str(folder), "export", "markdown",
                                 "--period", "2025-09", "--output", str(out), "--full"])
    assert result.exit_code == 0, result.output
    summary = runner.invoke(app, ["--project", str(folder), "summary", "--period", "2025-09",
                                  "--format", "json"])
    assert summary.exit_code == 0, summary.output
    return out, out.read_text(encoding="utf-8"), json.loads(summary.stdout)


# ---------------------------------------------------------------------------------------------
# An independent formatter: how the summary's numbers look in prose


def _count(value: float) -> str:
    return excel_text(value, 0 if float(value).is_integer() else 1, grouping=True)


def _shown(value: float | None, unit: str) -> set[str]:
    if value is None:
        return set()
    if unit == "percent":
        return {f"{excel_text(value, 1)}%"}
    if unit == "seconds":
        return {f"{excel_text(abs(value), 0)}s"}
    if unit in ("ratio", "score", "per_1000", "number"):
        return {excel_text(value, 1, grouping=True)}
    if unit == "gbp":
        return {f"£{excel_text(value, 0, grouping=True)}"}
    return {_count(value)}


def _seconds(match: re.Match) -> str:
    hours, minutes, seconds = (int(match.group(g) or 0) for g in ("h", "m", "s"))
    return f"{hours * 3600 + minutes * 60 + seconds}s"


DURATION = re.compile(r"(?:(?P<h>\d+) hours?(?:, | and )?)?(?:(?P<m>\d+) minutes?(?: and )?)?"
                      r"(?:(?P<s>\d+) seconds?)?")
NUMBER = re.compile(r"£?\d[\d,]*(?:\.\d+)?(?:%|s\b)?")


def _numbers(text: str) -> list[str]:
    """Every number in a sentence, with durations turned into seconds and month names,
    table and figure numbers, and 'per 1,000' removed."""
    text = re.sub(rf"\b(?:{'|'.join(MONTHS)}) \d{{4}}\b", "MONTH", text)
    text = re.sub(r"\b\d{4}-\d{2}\b", "MONTH", text)
    text = re.sub(r"\b(?:Table|Figures?) \d+(?:(?:, | and )\d+)*", "REF", text)
    text = text.replace("per 1,000 population", "")
    # How old a figure is, in months before the period (tests/test_paper_read_again.py).
    text = re.sub(r"\b\d+ months? before MONTH", "AGE", text)
    text = DURATION.sub(lambda m: _seconds(m) if m.group(0).strip() else m.group(0), text)
    return [n.rstrip(",") for n in NUMBER.findall(text)]


def _expected(doc: dict) -> set[str]:
    unit = doc["unit"]
    out: set[str] = set()
    for role in ("current", "comparison"):
        window = doc[role] or {}
        out |= _shown(window.get("value"), unit)
        for key in ("numerator", "denominator"):
            if window.get(key) is not None and doc["kind"] in ("rate", "within"):
                out.add(_count(window[key]))
    change = doc["change"]
    if change["points"] is not None:
        out.add(excel_text(abs(change['points']), 1))
    if change["percent"] is not None:
        out.add(f"{excel_text(abs(change['percent']), 1)}%")
    if change["absolute"] is not None:
        out |= _shown(abs(change["absolute"]), unit)
        if unit == "ratio":
            out.add(excel_text(abs(change['absolute']), 1))
    return out


def _paragraphs(markdown: str) -> list[tuple[str, str]]:
    """(label, text) of every numbered paragraph."""
    out = []
    for line in markdown.splitlines():
        match = PARAGRAPH.match(line)
        if match:
            out.append((f"{match.group(1)}.{match.group(2)}", match.group(3)))
    return out


def _kpi_paragraphs(markdown: str, docs: list[dict]) -> dict[str, str]:
    """KPI id -> the sentences of its paragraph (lead-in removed)."""
    by_title = {escape_markdown(d["title"]) + ".": d["id"] for d in docs}
    out = {}
    for _, text in _paragraphs(markdown):
        match = LEAD_IN.match(text)
        if match and re.fullmatch(r"\d+ KPIs (?:in development|without a figure)\.",
                                  match.group(1)):
            # KPIs without a figure for one reason share a paragraph: the reason, then
            # their titles.
            listed = re.split(r"(?:yet|\)): ", match.group(2), maxsplit=1)[1]
            for title in listed.removesuffix(".").split("; "):
                out[by_title[title + "."]] = match.group(2)
        elif match:
            out[by_title[match.group(1)]] = match.group(2)
    return out


VERDICT_SENTENCE = re.compile(
    r" (?:The monthly figures show [^.]+|The level (?:fell|rose) [^.]+"
    r"|The (?:last )?\d+ months [^.]+|\d+ of the last \d+ months\b[^.]+"
    r"|Against the target of [^ ]+[^.]*|The populations? it divides by [^.]+)\."
    r"|; the (?:monthly figures show|level|latest month"
    r"|\d+ months from) [^.]+|; \d+ of the last \d+ months\b[^.]+")


def _main_sentences(text: str) -> str:
    """A KPI paragraph without its breakdown lists, figure references, the catalogue's noun
    ('A total of 4,292 Fatal 4 enforcement actions were recorded': the 4 is a name), and the
    process chart and target sentences (their numbers are a rule's run and a target), and the
    source of the populations a rate divides by ('from the 2021 Census')."""
    text = re.sub(r"^(A total of \S+) .+? (were recorded)", r"\1 \2", text)
    text = re.sub(r"^The (?:number of|total for) .+? was ", "The figure was ", text)
    text = VERDICT_SENTENCE.sub("", text)
    return re.split(r" By [\w ]+, | See Figures? | Related figures ", text)[0]


# ---------------------------------------------------------------------------------------------
# The prose follows the numbers


def _check_numbers(markdown: str, summary: dict, tabled: set[str]) -> int:
    """Every KPI paragraph's numbers are its summary figures; returns how many paragraphs
    state a current value."""
    docs = {d["id"]: d for d in summary["kpis"]}
    paragraphs = _kpi_paragraphs(markdown, summary["kpis"])
    assert set(paragraphs) == set(docs) - tabled
    checked = 0
    for kpi_id, text in paragraphs.items():
        doc = docs[kpi_id]
        found = _numbers(_main_sentences(text))
        allowed = _expected(doc)
        assert set(found) <= allowed, (kpi_id, found, allowed)
        if doc["current"] and doc["current"]["value"] is not None:
            assert _shown(doc["current"]["value"], doc["unit"]) & set(found), kpi_id
            checked += 1
    return checked


def test_every_number_in_a_kpi_paragraph_is_the_summarys(exported):
    _, markdown, summary = exported
    tabled = {"ethics_module_1", "ethics_module_2", "officers_women", "staff_women"}
    assert _check_numbers(markdown, summary, tabled) == 8


def test_wording_follows_the_sign_and_the_status(exported):
    _, markdown, summary = exported
    paragraphs = _kpi_paragraphs(markdown, summary["kpis"])
    for doc in summary["kpis"]:
        text = paragraphs.get(doc["id"])
        if text is None or doc["change"]["absolute"] is None and doc["change"]["points"] is None:
            continue
        size = doc["change"]["points"] if doc["change"]["points"] is not None \
            else doc["change"]["absolute"]
        main = _main_sentences(text)
        if excel_round(size, 1) == 0:
            assert "unchanged" in main, doc["id"]
        else:
            assert ("an increase" in main) == (size > 0), doc["id"]
            assert ("a decrease" in main) == (size < 0), doc["id"]
        assert ("The position is stable." in main) == (doc["status"] == "stable"), doc["id"]
        assert ("percentage points" in main) == (doc["unit"] == "percent"), doc["id"]
        # No noise presented as a change: the test's verdict, in words, beside the status.
        significant = doc["significance"]["significant"]
        # "within normal variation" only where the months show only normal variation too;
        # beside a special cause, "not statistically significant" (and beside a chart that
        # marks earlier months too: test_a_chart_marking_earlier_months_is_never_normal_...)
        unusual = (doc.get("variation") or {}).get("verdict") not in (None, "common_cause")
        if "within normal variation (not statistically significant)" in main:
            assert significant is False and not unusual, doc["id"]
        if significant is False and unusual:
            assert ", not statistically significant." in main, doc["id"]
        assert (", not statistically significant." in main) <= (significant is False), \
            doc["id"]
        assert ("a statistically significant change" in main) == (significant is True)
        # Improving or deteriorating said only of a significant change (issue 18): a change
        # within normal variation gets no status sentence, one never tested says so.
        worded = [w for ws in STATUS_VARIANTS.values() for w in ws if w in main]
        directed = doc["status"] in ("improving", "deteriorating")
        assert bool(worded) == (directed and significant is True), (doc["id"], worded)
        assert (NOT_TESTED_SENTENCE in main) == (directed and significant is None), doc["id"]


def test_process_chart_and_target_sentences_follow_the_verdicts(exported):
    _, markdown, summary = exported
    paragraphs = _kpi_paragraphs(markdown, summary["kpis"])
    for doc in summary["kpis"]:
        text = paragraphs.get(doc["id"])
        if text is None:
            continue
        variation = doc["variation"]
        special = variation is not None and variation["verdict"] != "common_cause"
        assert ("The monthly figures show " in text) == special, doc["id"]
        if special and variation["rule"] == "shift":
            # A run above or below the average is a change in level, with the month it began.
            assert re.search(r"The monthly figures show a change in level: the level "
                             r"(?:fell|rose) in \w+ \d{4} and has stayed", text), doc["id"]
        elif special:
            kind = {"special_cause_improvement": "a special cause of improvement (",
                    "special_cause_concern": "a special cause of concern (",
                    "special_cause_neutral_high": "an unusually high month",
                    "special_cause_neutral_low": "an unusually low month"}[variation["verdict"]]
            assert f"The monthly figures show {kind}" in text, doc["id"]
        settled = (variation is not None and not special
                   and doc["significance"]["significant"] is True)
        # Said either way: the level moved after the comparison and has held since, or, where
        # the chart has held since before the comparison ended, no step shows in the months.
        assert bool(re.search(r"The level (?:fell|rose) after the comparison period|the "
                              r"(?:rise|fall) is a difference between the two periods' figures",
                              text)) == settled, doc["id"]
        assert ("Against the target of" in text) == (doc["target"] is not None)


def test_sentences_in_the_reports_register(exported):
    _, markdown, _ = exported
    # A count without a catalogue noun still has a noun phrase: its title.
    assert ("2.2. **Total recorded crime.** The total recorded crime was 366 in the year ending "
            "September 2025, a decrease of 16.4% from the baseline of 438 in the year ending "
            "March 2024, a statistically significant change. This is an improvement. The monthly "
            "figures show a special cause of improvement (an unusually low month, below the "
            "lower process limit).") in markdown
    # A change that may be noise: said so, and never called an improvement; nor "within
    # normal variation" beside a chart that marks earlier months, which are said instead.
    assert ("a decrease of 3 from the baseline of 21 in the year ending March 2024, not "
            "statistically significant. The 12 months from October 2024 show only normal "
            "variation.") in markdown
    assert "By direction alone" not in markdown
    # A small base: the absolute change, not a percentage.
    # A count without a noun: its title heads the paragraph and says what is counted ("The
    # total for knife | gun crime was 18" read as no board paper would put it).
    assert ("**Knife | gun \\*crime\\* \\[test\\].** A total of 18 was recorded in the year "
            "ending September 2025, a decrease of 3 from the baseline of 21 in the year ending "
            "March 2024") in markdown
    assert "The total for" not in markdown
    # Durations in minutes and seconds; a snapshot "as of"; rates with their counts.
    assert ("The median was 12 minutes and 15 seconds in the year ending September 2025, a "
            "decrease of 1 minute and 45 seconds (12.5%) from the baseline of 14 minutes in "
            "the year ending March 2024.") in markdown
    assert "As of September 2025 the figure was 64, an increase of 6.7% from the baseline " \
           "of 60 in April 2024." in markdown
    assert "The rate was 51.9% (68 of 131) in the year ending September 2025, an increase " \
           "of 7.6 percentage points" in markdown
    assert "3.6. **Victim satisfaction.** This KPI is in development" in markdown
    # The dataset not loaded is named in words, not by its id (#18: no ids in the body).
    assert ("3.7. **Crown Court charge to completion (days).** No figure can be reported: "
            "no courts data has been loaded yet.") in markdown


def test_section_introductions_count_statuses_from_the_summary(exported):
    _, markdown, summary = exported
    intros = {label: text for label, text in _paragraphs(markdown) if label.endswith(".1")
              and not label.startswith("1.")}
    assert list(intros) == ["2.1", "3.1", "4.1"]

    def bucket(doc: dict) -> str:
        # Improving or deteriorating only where the change is significant (issue 18).
        significant = (doc["significance"] or {}).get("significant")
        if doc["status"] in ("in_development", "no_data", "stale"):
            return {"in_development": "in development", "no_data": "without data",
                    "stale": "stale (data ending before the period)"}[doc["status"]]
        if significant is None:
            return "not tested for significance"
        if not significant:
            # Not "within normal variation", the words of the matrix's row of KPIs whose
            # monthly figures show only normal variation, a different count.
            return "with no significant change"
        return {"improving": "significantly improving",
                "deteriorating": "significantly deteriorating",
                "stable": "stable"}.get(doc["status"],
                                        "significantly changed (no better direction)")

    for label, priority in zip(intros, ("community", "violence", "fair"), strict=True):
        docs = [d for d in summary["kpis"] if d["priority"] == priority]
        assert f"This section reports {len(docs)} KPIs" in intros[label]
        counts: dict[str, int] = {}
        for doc in docs:
            counts[bucket(doc)] = counts.get(bucket(doc), 0) + 1
        for word, count in counts.items():
            assert f"{count} {word}" in intros[label], (label, word)
        assert sum(int(n) for n in re.findall(r"(\d+) (?:significantly|stable|with no|not "
                                              r"tested|in development|without|stale)",
                                              intros[label])) == len(docs)


def test_sections_follow_the_plan_order(exported):
    _, markdown, _ = exported
    headings = re.findall(r"^## (.+)$", markdown, flags=re.MULTILINE)
    assert headings == ["Summary for the board", "1. Introduction",
                        "2. Rebuilding Community Policing",
                        "3. Preventing and Tackling Violence",
                        "4. An Equal and Fair West Midlands",
                        "Appendix 1: How to read this paper",
                        "Appendix 2: Outcome codes glossary", "Appendix 3: KPI definitions",
                        "Appendix 4: Data sources"]


# ---------------------------------------------------------------------------------------------
# Breakdowns, against DuckDB over the source extract


@pytest.fixture(scope="module")
def crimes(project):
    _, folder = project
    con = duckdb.connect()
    con.execute(f"CREATE TABLE crimes AS SELECT * FROM read_csv_auto('{folder}/extracts/"
                "crimes.csv', all_varchar=true)")
    return con


def _minus(text: str) -> str:
    """A signed number as the paper's document holds it: a true minus sign (U+2212), which
    the writers join to its number."""
    return text.replace("-", "\u2212")


def test_lpa_ranking_equals_sql(exported, crimes):
    _, markdown, _ = exported
    rows = crimes.execute("""
        SELECT lpa,
               count(*) FILTER (WHERE recorded BETWEEN '2024-10-01' AND '2025-09-30') AS cur,
               count(*) FILTER (WHERE recorded BETWEEN '2023-04-01' AND '2024-03-31') AS base
        FROM crimes GROUP BY lpa""").fetchall()
    changes = sorted(((round((cur - base) / base * 100, 1), lpa) for lpa, cur, base in rows))
    expected = ", ".join(f"{lpa} ({_minus(f'{change:+.1f}%')})" for change, lpa in changes)
    assert f"By LPA, the percentage change, best first: {expected}." in markdown


def test_top_neighbourhoods_equal_sql(exported, crimes):
    """The five highest neighbourhoods, and every one tied with the fifth (SQL's RANK() at
    most 5; tests/test_top_parts.py holds a tie there)."""
    _, markdown, _ = exported
    rows = crimes.execute("""
        SELECT neighbourhood, n FROM (
            SELECT neighbourhood, count(*) AS n, rank() OVER (ORDER BY count(*) DESC) AS r
            FROM crimes WHERE recorded BETWEEN '2024-10-01' AND '2025-09-30'
            GROUP BY neighbourhood)
        WHERE r <= 5 ORDER BY n DESC, neighbourhood""").fetchall()
    listed = ", ".join(f"{name} ({n})" for name, n in rows)
    assert (f"By neighbourhood, the highest figures in the year ending September 2025 were "
            f"{listed}.") in markdown


def test_rate_ranking_is_best_first_for_higher_is_better(exported, crimes):
    _, markdown, _ = exported
    rows = crimes.execute("""
        SELECT lpa,
          avg(CASE WHEN outcome IN ('OC1','OC2','OC3','OC8') THEN 1.0 ELSE 0 END)
            FILTER (WHERE recorded BETWEEN '2024-10-01' AND '2025-09-30') * 100 AS cur,
          avg(CASE WHEN outcome IN ('OC1','OC2','OC3','OC8') THEN 1.0 ELSE 0 END)
            FILTER (WHERE recorded BETWEEN '2023-04-01' AND '2024-03-31') * 100 AS base
        FROM crimes WHERE offence = 'violence' GROUP BY lpa""").fetchall()
    changes = sorted(((-round(cur - base, 1), lpa) for lpa, cur, base in rows))
    expected = ", ".join(f"{lpa} ({_minus(f'{-change:+.1f}pp')})" for change, lpa in changes)
    assert f"By LPA, the change in percentage points, best first: {expected}." in markdown


# ---------------------------------------------------------------------------------------------
# Tables, figures, escaping


def test_tables_from_the_catalogue_key(exported, project):
    _, markdown, summary = exported
    docs = {d["id"]: d for d in summary["kpis"]}
    assert "*Table 1 – Ethics training completion, September 2025*" in markdown
    assert "*Table 2 – Workforce representation, September 2025*" in markdown
    for kpi_id in ("ethics_module_1", "ethics_module_2", "officers_women", "staff_women"):
        doc = docs[kpi_id]
        points = _minus(f"{doc['change']['points']:+.1f}pp")
        row = (f"| {escape_markdown(doc['title'])} | {doc['comparison']['value']:.1f}% | "
               f"{doc['current']['value']:.1f}% | {points} |")
        assert row in markdown, row


def test_every_linked_chart_exists_and_is_a_png(exported):
    from PIL import Image

    out, markdown, _ = exported
    links = re.findall(r"!\[Figure (\d+) – [^\]]+\]\(([^)]+)\)", markdown)
    # Five declared in [[charts]], and a process chart for each KPI with a special cause.
    assert [n for n, _ in links] == ["1", "2", "3", "4", "5", "6", "7", "8"]
    assert [Path(link).name for _, link in links if "xmr" in link] == [
        "figure-2-xmr_total_crime.png", "figure-3-xmr_homicides.png",
        "figure-6-xmr_violence_outcome_rate.png"]
    for _, link in links:
        path = out.parent / link
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as image:
            image.verify()
    referenced = re.findall(r"See (Figures? [\d, and]+)\.", markdown)
    # Positive outcomes for violence cites Figure 4, which charts it and follows the rate's
    # paragraph after it (figures are numbered before any paragraph is written).
    assert referenced == ["Figures 1 and 2", "Figure 3", "Figure 4", "Figures 4, 5 and 6",
                          "Figure 7", "Figure 8"]
    assert sorted(p.name for p in (out.parent / "board-files").iterdir()) == sorted(
        Path(link).name for _, link in links)


def test_markdown_from_data_cannot_break_tables(exported):
    _, markdown, _ = exported
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    assert "<strong>Knife | gun *crime* [test].</strong>" in html
    # Paragraph numbers such as 2.4. stay text: CommonMark must not read them as lists.
    assert "<ol" not in html
    assert "<p>2.2. <strong>Total recorded crime.</strong>" in html
    definitions = html.split("Appendix 3: KPI definitions")[1]
    rows = re.findall(r"<tr>(.*?)</tr>", definitions, flags=re.DOTALL)
    knife = next(r for r in rows if "knife_crime" in r)
    assert knife.count("<td>") == 7
    assert "<td>Knife | gun *crime* [test]</td>" in knife
    # Every table row of every table has as many cells as its header.
    for table in re.findall(r"<table>(.*?)</table>", html, flags=re.DOTALL):
        width = len(re.findall(r"<th[ >]", table))
        for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.DOTALL)[1:]:
            assert len(re.findall(r"<td[ >]", row)) == width


def test_same_data_same_bytes(project, exported, tmp_path, cli, monkeypatch):
    out, markdown, _ = exported
    _, folder = project
    monkeypatch.setenv("KPI_NO_CACHE", "1")  # every chart drawn again, not copied
    again = tmp_path / "board.md"
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                  "--output", again, "--full"])
    assert result.exit_code == 0, result.output
    assert again.read_bytes() == out.read_bytes()
    for png in (out.parent / "board-files").iterdir():
        assert (tmp_path / "board-files" / png.name).read_bytes() == png.read_bytes()


def test_a_re_export_reuses_charts_drawn_from_the_same_data(tmp_path, cli, monkeypatch):
    """Charts are kept in the project's cache folder, keyed by everything they draw: a
    re-export copies them (the file the cache holds is the one the paper gets), other data
    draws anew, and KPI_NO_CACHE draws every chart."""
    from kpi.cache import CACHE_FOLDER

    monkeypatch.delenv("KPI_NO_CACHE", raising=False)
    folder = tmp_path / "p"
    load_paper_project(folder)
    export = ["--project", folder, "export", "markdown", "--period", "2025-09", "--output"]
    assert cli([*export, tmp_path / "one" / "board.md"]).exit_code == 0
    drawn = sorted((tmp_path / "one" / "board-files").iterdir())
    cache = folder / "data" / CACHE_FOLDER / "charts"
    entries = {p.read_bytes(): p for p in cache.glob("*.png")}
    assert len(drawn) > 1 and {p.read_bytes() for p in drawn} == set(entries)
    # Mark one cached chart: a re-export must take it from the cache, not draw it.
    marked = entries[drawn[0].read_bytes()]
    marked.write_bytes(drawn[0].read_bytes() + b"cached")
    assert cli([*export, tmp_path / "two" / "board.md"]).exit_code == 0
    again = tmp_path / "two" / "board-files" / drawn[0].name
    assert again.read_bytes() == drawn[0].read_bytes() + b"cached"
    monkeypatch.setenv("KPI_NO_CACHE", "1")
    assert cli([*export, tmp_path / "three" / "board.md"]).exit_code == 0
    fresh = tmp_path / "three" / "board-files" / drawn[0].name
    assert fresh.read_bytes() == drawn[0].read_bytes()
    # Another month draws other charts, each kept under a key of its own.
    monkeypatch.delenv("KPI_NO_CACHE")
    before = len(list(cache.glob("*.png")))
    assert cli([*export[:-3], "--period", "2025-08", "--output",
                tmp_path / "four" / "board.md"]).exit_code == 0
    assert len(list(cache.glob("*.png"))) > before


def test_a_chart_is_keyed_by_what_it_draws_not_where_a_target_is_written(tmp_path):
    """A KPI read from kpi.toml keeps the file and line of its target for messages
    (`KpiDef.target_at`); a chart's cache key was made from every field, so a line added
    above the KPI drew its charts again. Fields that are not part of a value are left out;
    the target itself is not."""
    from dataclasses import replace

    from kpi.catalogue import parse_project_file
    from kpi.charts import _canonical

    toml = tmp_path / "kpi.toml"
    toml.write_text("""[project]
name = "Keys"
[datasets.m]
sources = ["m.csv"]
date = "month"
columns.month = "month"
columns.answered = { type = "int", min = 0 }
[[priorities]]
id = "p"
title = "P"
[[kpis]]
id = "answered"
title = "Answered"
priority = "p"
kind = "mean"
dataset = "m"
value = "answered"
better = "higher"
target = 90
""", encoding="utf-8")
    kpi = parse_project_file(toml).kpis[0]
    assert kpi.target_at == f"{toml}:19"
    toml.write_text("# A comment moves the target a line down.\n" + toml.read_text(
        encoding="utf-8"), encoding="utf-8")
    moved = parse_project_file(toml).kpis[0]
    assert moved.target_at == f"{toml}:20"
    assert _canonical(moved) == _canonical(kpi)
    assert _canonical(replace(kpi, target=91.0)) != _canonical(kpi)


def test_title_block_names_the_period_and_data_versions(exported, project):
    from kpi import store

    out, markdown, _ = exported
    proj, _ = project
    head = markdown.split("## Summary for the board")[0]
    assert head.startswith("# Paper test force\n\n**Police and Crime Plan performance: "
                           "September 2025**\n")
    # When the data was loaded, as a date; the table versions are in an appendix.
    loaded = {}
    for dataset in ("crimes", "incidents", "training", "workforce"):
        version = store.current_version(proj, dataset)
        made = store.history(proj, dataset)[-1]
        assert made.version == version
        day = made.timestamp.date()
        loaded[dataset] = f"{day.day} {day:%B %Y}"
        assert f"| {dataset} | {version} | {loaded[dataset]} |" in markdown.split(
            "Appendix 4: Data sources")[1]
    days = sorted(set(loaded.values()))
    assert (f"- Data: as loaded on {days[0]}\n" in head if len(days) == 1
            else f"- Data: as loaded between {days[0]} and {days[-1]}\n" in head)
    assert "version 0" not in head
    assert "- Compared with: the plan baseline\n" in head


# ---------------------------------------------------------------------------------------------
# Options and errors


def test_priority_keeps_the_plan_numbering(project, tmp_path, cli):
    _, folder = project
    out = tmp_path / "violence.md"
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                  "--priority", "violence", "--output", out, "--full"])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    headings = re.findall(r"^## (\d+\..+)$", text, flags=re.MULTILINE)
    assert headings == ["1. Introduction", "3. Preventing and Tackling Violence"]
    assert "- Scope: the priority Preventing and Tackling Violence" in text
    assert "Total recorded crime" not in text
    # Its figures only: violence outcomes, top outcome codes, response trend, LPA compliance,
    # and the process charts of its KPIs with a special cause.
    assert sorted(p.name for p in (tmp_path / "violence-files").iterdir()) == [
        "figure-1-xmr_homicides.png", "figure-2-violence_outcomes.png",
        "figure-3-top_outcomes.png", "figure-4-xmr_violence_outcome_rate.png",
        "figure-5-response_trend.png", "figure-6-emergency_lpa.png"]


def test_a_rerun_removes_figures_the_paper_no_longer_links(project, tmp_path, cli):
    _, folder = project
    out = tmp_path / "board.md"
    for priority in ([], ["--priority", "community"]):
        result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                      "--output", out, "--full", *priority])
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "board-files").iterdir()) == [
        "figure-1-crime_trend.png", "figure-2-xmr_total_crime.png"]


def test_a_figure_of_a_hidden_kpi_ends_its_section(tmp_path, cli):
    from fixtures.paper_project import load_paper_project

    project = load_paper_project(tmp_path)
    text = project.path.read_text(encoding="utf-8")
    anchored = 'by = "outcome"\nafter = "violence_outcome_rate"\n'
    assert anchored in text
    project.path.write_text(text.replace(anchored, 'by = "outcome"\n'), encoding="utf-8")
    out = tmp_path / "out" / "board.md"
    result = cli(["--project", tmp_path, "export", "markdown", "--period", "2025-09",
                  "--output", out, "--full"])
    assert result.exit_code == 0, result.output
    section = out.read_text(encoding="utf-8").split("## 3. ")[1].split("## 4. ")[0]
    # The caption says what the figure finds, as a board member reads it in print.
    assert re.search(r"\*Figure 8 – Highest 10 outcome codes\. The largest is [^*]+ "
                     r"\([\d,]+\)\.\*$", section.rstrip())
    assert (out.parent / "board-files" / "figure-8-top_outcomes.png").is_file()


def test_a_breakdowns_one_part_of_a_total_of_0_is_not_said_to_hold_it(tmp_path, cli):
    """A count of rare crimes went from 12 (all in S) to 0: the paper said "By LPA, all of it
    is S." of nothing. By hand: S holds the 12 rare rows of the year ending March 2024 and
    none after; N holds the 30 common rows a year of each window. Where it was is said of the
    window that held it; a total the one part holds now (common: N, 12 against 12) is still
    all of it there."""
    rows = ["d,lpa,kind"]
    for i in range(30):
        year, month = 2023 + (3 + i) // 12, (3 + i) % 12 + 1
        rows.append(f"{year}-{month:02d}-01,N,common")
        if i < 12:
            rows.append(f"{year}-{month:02d}-02,S,rare")
    (tmp_path / "ev.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "kpi.toml").write_text(
        '[project]\nname = "Seven"\nbaseline = "2024-03"\n[datasets.ev]\ndate = "d"\n'
        '[datasets.ev.columns]\nd = "date"\nlpa = "str"\nkind = "str"\n'
        '[[priorities]]\nid = "p"\ntitle = "P"\n'
        + "".join(f'[[kpis]]\nid = "{k}"\ntitle = "{k.title()} count"\npriority = "p"\n'
                  f'kind = "count"\ndataset = "ev"\nfilter = "kind = \'{k}\'"\n'
                  'better = "lower"\nbreakdowns = ["lpa"]\n' for k in ("rare", "common")),
        encoding="utf-8")
    assert cli(["--project", tmp_path, "ingest", "ev", tmp_path / "ev.csv"]).exit_code == 0
    out = tmp_path / "paper.md"
    result = cli(["--project", tmp_path, "export", "markdown", "--period", "2025-09",
                  "--output", out, "--full"])
    assert result.exit_code == 0, result.output
    paragraphs = {k: next(line for line in out.read_text(encoding="utf-8").splitlines()
                          if f"**{k} count.**" in line) for k in ("Rare", "Common")}
    assert "A total of 0 was recorded in the year ending September 2025, a decrease of 12 " \
        "from the baseline of 12" in paragraphs["Rare"]
    assert "all of it is" not in paragraphs["Rare"]
    assert "By LPA, all of it was S in the year ending March 2024." in paragraphs["Rare"]
    assert "A total of 12 was recorded" in paragraphs["Common"]
    assert "By LPA, all of it is N." in paragraphs["Common"]


def test_year_on_year_wording(project, tmp_path, cli):
    _, folder = project
    out = tmp_path / "yoy.md"
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                  "--vs", "yoy", "--output", out, "--full"])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "the baseline of" not in text
    assert "- Compared with: the same window a year earlier" in text
    assert "in the year ending September 2024." in text
    assert "As of September 2025 the figure was 64" in text and "in September 2024" not in text


def test_as_of_names_the_point_in_the_title_block(project, exported, tmp_path, cli):
    _, markdown, _ = exported
    _, folder = project
    out = tmp_path / "board.md"
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                  "--as-of", "0", "--output", out, "--full"])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert re.search(r"^- Data: as loaded on .+ \(data as at table version 0\)$", text,
                     flags=re.MULTILINE)
    # Every table is at version 0, so the body is the same paper.
    assert text.split("## 1. Introduction")[1] == markdown.split("## 1. Introduction")[1]


@pytest.mark.parametrize("args, code, message", [
    (["--period", "2025-13", "--output", "x.md"], 2, "invalid period '2025-13'"),
    (["--period", "2025-09", "--output", "x.txt"], 2, "should be a Markdown file"),
    (["--period", "2025-09", "--output", "x.md", "--priority", "nope"], 2,
     "unknown priority 'nope'"),
])
def test_usage_errors(project, tmp_path, cli, args, code, message):
    _, folder = project
    result = cli(["--project", folder, "export", "markdown", *args])
    assert result.exit_code == code
    assert message in result.output
    assert not (tmp_path / "x.md").exists()


def test_output_is_required(project, cli):
    _, folder = project
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09"])
    assert result.exit_code == 2
    assert "--output" in result.output


def test_a_bad_chart_declaration_is_a_config_error(tmp_path, cli):
    from fixtures.paper_project import write_paper_project

    path = write_paper_project(tmp_path)
    path.write_text(path.read_text(encoding="utf-8")
                    + '\n[[charts]]\nid = "broken"\ntype = "pie"\ntitle = "x"\nkpis = ["x"]\n',
                    encoding="utf-8")
    result = cli(["--project", tmp_path, "export", "markdown", "--period", "2025-09",
                  "--output", tmp_path / "b.md"])
    assert result.exit_code == 3
    assert f"Error: {path}: chart 'broken', key 'type': must be one of trend, compare, top" \
        in result.output
    assert not (tmp_path / "b.md").exists()


# ---------------------------------------------------------------------------------------------
# Words for numbers


@pytest.mark.parametrize("seconds, words", [
    (749, "12 minutes and 29 seconds"), (4157, "1 hour, 9 minutes and 17 seconds"),
    (23, "23 seconds"), (120, "2 minutes"), (3600, "1 hour"), (0.4, "0 seconds"),
    (61, "1 minute and 1 second"), (3601, "1 hour and 1 second"),
])
def test_duration_words(seconds, words):
    assert duration_words(seconds) == words


def _result(unit: Unit, before: float, after: float, kind: Kind = Kind.COUNT) -> KpiResult:
    return result_of(KpiDef(id="k", title="K", priority="p", kind=kind, unit=unit,
                            better=Better.LOWER, dataset="d"), before, after)


def test_change_words_examples():
    assert change_words(_result(Unit.COUNT, 26405, 26613)) == "an increase of 0.8%"
    assert change_words(_result(Unit.COUNT, 43, 34)) == "a decrease of 9"
    assert change_words(_result(Unit.PERCENT, 6.7, 13.5, Kind.RATE)) == \
        "an increase of 6.8 percentage points"
    assert change_words(_result(Unit.SECONDS, 749, 625, Kind.MEDIAN)) == \
        "a decrease of 2 minutes and 4 seconds (16.6%)"
    assert change_words(_result(Unit.COUNT, 0, 12)) == "an increase of 12"
    assert change_words(_result(Unit.COUNT, 104, 104)) == "unchanged"
    assert change_words(_result(Unit.PERCENT, 99.93, 99.9, Kind.RATE)) == \
        "unchanged to one decimal place"
    assert change_words(_result(Unit.SECONDS, 749.2, 749.4, Kind.MEDIAN)) == \
        "unchanged at the precision shown"
    assert change_words(_result(Unit.RATIO, 2.7, 2.8, Kind.RATIO_OF_RATES)) == \
        "an increase of 0.1"
    # 1.93 to 1.90 per 1,000, printed apart: the size to their places, never "0.0" (1.2% is
    # the change the status judges)
    assert change_words(_result(Unit.PER_1000, 2311 / 1200, 2283 / 1200, Kind.PER_1000)) == \
        "a decrease of 0.02 per 1,000 population (1.2%)"


@given(st.sampled_from([Unit.COUNT, Unit.PER_1000, Unit.SECONDS, Unit.GBP, Unit.DAYS,
                        Unit.SCORE, Unit.NUMBER, Unit.PERCENT, Unit.RATIO]),
       st.floats(-1e4, 1e4, allow_nan=False), st.floats(-1e4, 1e4, allow_nan=False))
def test_unchanged_words_only_beside_a_stable_status(unit, before, after):
    kind = {Unit.PERCENT: Kind.RATE, Unit.RATIO: Kind.RATIO_OF_RATES,
            Unit.PER_1000: Kind.PER_1000}.get(unit, Kind.SUM)
    result = _result(unit, before, after, kind)
    if change_words(result).startswith("unchanged"):
        assert result.status == "stable", (change_words(result), result.change)


@given(st.integers(0, 10**6), st.integers(0, 10**6))
@example(80, 3)  # a decrease of 96.25%: 96.3% as Excel rounds, not Python's 96.2%
def test_change_words_follow_the_sign(before, after):
    words = change_words(_result(Unit.COUNT, before, after))
    if after == before:
        assert words == "unchanged"
    else:
        assert words.startswith("an increase of " if after > before else "a decrease of ")
        number = words.split(" of ")[1]
        if before < 50 or before == 0:
            assert number == f"{abs(after - before):,}"
        elif excel_round(abs(after - before) / before * 100, 1) == 0:
            assert number == f"{abs(after - before):,}"
        else:
            assert number == f"{excel_text(abs(after - before) / before * 100, 1)}%"


@given(st.floats(0, 100), st.floats(0, 100))
@example(90.6875, 90.640625)  # printed 90.7% and 90.6%: "a decrease of 0.05 percentage points"
@example(20.0, 20.04)  # both printed 20.0%: "unchanged to one decimal place"
@example(10.125, 10.0625)  # both printed 10.1%, the change 0.1 points: "10.13%" and "10.06%"
@example(54.9375, 54.7875)  # a decrease of 0.15 points as written: "0.2"
@example(77.32783826232263, 77.27783826232263)  # both 77.3%, 0.05 apart: "77.33%", "77.28%"
def test_rate_change_is_in_points(before, after):
    words = change_words(_result(Unit.PERCENT, before, after, Kind.RATE))
    # the difference of the figures as written, rounded once (docs/guarantees.md): 54.7875%
    # less 54.9375% is 0.15 points, "0.2", where the floats' difference -0.149999999999998
    # would read "0.1"
    points = Decimal(repr(after)) - Decimal(repr(before))
    if points == 0:
        assert words == "unchanged"
        return
    # The rule of two figures side by side (docs/guarantees.md), written out again: the
    # figures print to the fewest places, from the KPI's one, at which they print apart
    # exactly where the change does not print as zero (the change to the figures' places
    # where they print apart there, else to the KPI's one), and, where the change reads as one
    # at one place, in the order the figures stand in. 90.6875% and 90.640625% (90.7% and
    # 90.6% beside a change of 0.0) print "90.69%" and "90.64%" beside "a decrease of 0.05
    # percentage points"; 10.125% and 10.0625% (both 10.1% beside 0.1) "10.13%" and "10.06%"
    # beside 0.06; 86.25% and 86.2499999998% (86.3% and 86.2% beside 0.0) both "86.25%",
    # unchanged to one place.
    pair = excel_round(points, 1) != 0
    for at in range(1, 17):
        shown = excel_round(before, at), excel_round(after, at)
        if pair and (shown[1] > shown[0]) != (after > before) or pair and (
                shown[0] == shown[1]):
            continue
        digits = at if shown[0] != shown[1] else 1
        if (shown[0] != shown[1]) == (excel_round(points, digits) != 0):
            break
    if excel_round(points, digits) == 0:
        assert words == "unchanged to one decimal place"
    else:
        assert words == (f"{'an increase' if points > 0 else 'a decrease'} of "
                         f"{excel_text(abs(points), digits)} percentage points")


def test_every_change_carries_its_unit():
    """Issue 18 (the paper read as a board reads it): "102.6 per 1,000 population, down 9.8
    (8.7%) from 112.4" gave the change no unit. Every change the prose prints comes through
    one formatter (kpi_value) and names its unit: %, percentage points, or the KPI's own."""
    per_1000 = change_words(_result(Unit.PER_1000, 112.4, 102.6, Kind.PER_1000))
    assert per_1000 == "a decrease of 9.8 per 1,000 population (8.7%)"
    assert kpi_value(112.4, _result(Unit.PER_1000, 1, 1, Kind.PER_1000).kpi) == \
        "112.4 per 1,000 population"
    ratio = _result(Unit.RATIO, 2.9, 2.8, Kind.RATIO_OF_RATES)
    assert kpi_value(2.9, ratio.kpi) == "2.9 times"
    for unit, kind, unit_words in (
            (Unit.PERCENT, Kind.RATE, " percentage points"), (Unit.DAYS, Kind.MEAN, " days"),
            (Unit.SECONDS, Kind.MEDIAN, " seconds"), (Unit.GBP, Kind.SUM, "\u00a3"),
            (Unit.PER_1000, Kind.PER_1000, " per 1,000 population"),
            (Unit.COUNT, Kind.COUNT, "%")):
        words = change_words(_result(unit, 40.0, 60.0, kind) if unit != Unit.COUNT
                             else _result(unit, 400, 600, kind))
        assert unit_words in words, (unit, words)


def test_a_change_is_shown_to_the_kpis_own_precision():
    """A KPI's `decimals` (render.places) decide its changes' places as they do its values':
    a percentage to whole numbers says 'up 7 percentage points', and a change that rounds to
    nothing says to what it rounds."""
    # Rebuilt for the other KPI with its change and status (result_of, as the engine makes
    # them): the old change, made at one decimal, cannot be kept beside it (engine.underived).
    whole = _result(Unit.PERCENT, 6.7, 13.5, Kind.RATE)
    whole = result_of(_replace(whole.kpi, decimals=0), 6.7, 13.5)
    assert change_words(whole) == "an increase of 7 percentage points"
    flat = _result(Unit.PERCENT, 50.2, 50.4, Kind.RATE)
    flat = result_of(_replace(flat.kpi, decimals=0), 50.2, 50.4)
    assert change_words(flat) == "unchanged to whole numbers"
    assert change_words(_result(Unit.PERCENT, 99.93, 99.9, Kind.RATE)) == \
        "unchanged to one decimal place"
    assert precision_words(2) == "to 2 decimal places"


def _replace(kpi: KpiDef, **changes) -> KpiDef:
    import dataclasses

    return dataclasses.replace(kpi, **changes)


@pytest.mark.parametrize("percentile, words", [
    (90, "the 90th percentile"), (1, "the 1st percentile"), (2, "the 2nd percentile"),
    (3, "the 3rd percentile"), (11, "the 11th percentile"), (12.0, "the 12th percentile"),
    (2.5, "the 2.5th percentile"), (99.9, "the 99.9th percentile"),
    (0.00001, "the 0.00001th percentile"), (50, "the 50th percentile"),
])
def test_a_percentile_is_named_in_words(percentile, words):
    """A percentile that is not whole ('2.5th') was printed as an ordinal of a rank with
    `:g`, which gives '1e-05th' for a small one: the name is of the percentile, whole or not."""
    assert percentile_name(percentile) == words


def test_a_stale_kpi_that_is_deteriorating_is_listed_for_both():
    """Issue 18: an exception is listed with every reason it is one. A stale KPI's status is
    "stale" whatever its change, so its significant deterioration went unlisted."""
    from kpi import verdicts as judge
    from kpi.engine import status_of

    worse = _result(Unit.COUNT, 100, 125)
    stale = KpiResult(worse.kpi, Outcome.STALE,
                      Measured(Window.year_ending(Month.of(2025, 6)), 125),
                      Measured(Window.year_ending(Month.of(2024, 3)), 100), worse.change)
    assert status_of(worse.kpi, worse.change) == Outcome.DETERIORATING
    asked = Month.of(2025, 9)
    assert judge.exceptions(stale, _verdict(True), asked) == (judge.STALE, judge.DETERIORATION)
    assert judge.exceptions(stale, _verdict(False), asked) == (judge.STALE,)
    assert judge.exceptions(worse, _verdict(True), Month.of(2025, 9)) == (judge.DETERIORATION,)
    # Marked by its most serious reason, by which it is ranked (`paper.seriousness`), not by
    # the stale source listed first: a deterioration's triangle, not "no figure or stale data".
    from kpi.paper import exception_mark, seriousness

    both = judge.exceptions(stale, _verdict(True), asked)
    assert exception_mark(both) == "\u25b2" == exception_mark((judge.DETERIORATION,))
    assert exception_mark((judge.STALE,)) == "\u25cb"
    assert seriousness(both) < seriousness((judge.DETERIORATION,)) < seriousness((judge.STALE,))
    # Its own paragraph and its figure's caption say what the front page says: it read "a
    # statistically significant change" there, where the front page read "deterioration".
    from kpi.document import plain_text
    from kpi.paper import change_worth, kpi_sentences
    from kpi.periods import Comparison

    assert change_worth(stale, _verdict(True)) == "a statistically significant deterioration"
    said = plain_text(kpi_sentences(stale, Comparison.BASELINE, 0, _verdict(True),
                                    concise=True))
    assert "a statistically significant deterioration" in said, said
    assert "a statistically significant change" not in said


@pytest.mark.parametrize("better", [Better.LOWER, Better.HIGHER, Better.NEUTRAL])
@pytest.mark.parametrize(("before", "after"), [(100, 125), (100, 80), (100, 100)])
@pytest.mark.parametrize("stale", [False, True])
@pytest.mark.parametrize("significant", [True, False, None])
def test_the_front_page_and_a_kpis_paragraph_judge_its_change_by_one_rule(
        better, before, after, stale, significant):
    """The front page lists a significant deterioration (`verdicts.exceptions`) where, and
    only where, the KPI's paragraph and caption call its change one (`paper.change_worth`),
    and they call it an improvement only where it is a significant one: both ask
    `verdicts.change_status`, worked out here by hand from the rise or fall and the better
    direction. Judged apart, a stale KPI's significant rise was a deterioration on the front
    page and "a statistically significant change" in its paragraph."""
    from kpi import verdicts as judge
    from kpi.paper import change_worth

    kpi = KpiDef(id="k", title="K", priority="p", kind=Kind.COUNT, unit=Unit.COUNT,
                 better=better, dataset="d")
    result = result_of(kpi, before, after)
    if stale:  # its window ends in September 2025, before the December asked
        result = KpiResult(kpi, Outcome.STALE, result.current, result.comparison,
                           result.change)
    asked = Month.of(2025, 12 if stale else 9)
    worse = {Better.LOWER: after > before, Better.HIGHER: after < before}.get(better, False)
    better_now = {Better.LOWER: after < before, Better.HIGHER: after > before}.get(better,
                                                                                  False)
    listed = judge.exceptions(result, _verdict(significant), asked)
    worth = change_worth(result, _verdict(significant))
    assert (judge.STALE in listed) == stale
    assert (judge.DETERIORATION in listed) == bool(significant and worse), listed
    assert (worth == "a statistically significant deterioration") == bool(significant and worse)
    assert (worth == "a statistically significant improvement") == bool(significant
                                                                       and better_now)
    assert (worth == "a statistically significant change") == bool(
        significant and not worse and not better_now)


def test_the_method_says_the_precision_the_paper_prints(project, tmp_path, cli):
    """Appendix 1 said "Percentages are shown to one decimal place" when a KPI's `decimals`
    printed it to another: the method text is built from the KPIs printed."""
    _, folder = project
    changed = tmp_path / "project"
    import shutil

    shutil.copytree(folder, changed, ignore=shutil.ignore_patterns("out", "*-files"))
    toml = (changed / "kpi.toml").read_text(encoding="utf-8")
    toml = toml.replace('id = "violence_outcome_rate"\n',
                        'id = "violence_outcome_rate"\ndecimals = 2\n', 1)
    (changed / "kpi.toml").write_text(toml, encoding="utf-8")
    out = tmp_path / "paper.md"
    result = cli(["--project", changed, "export", "markdown", "--period", "2025-09",
                  "--output", out])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    method = text[text.index("## Appendix 1"):]
    assert "Percentages are shown to one decimal place" not in method
    rate = re.search(r"\*\*Violence positive outcome rate\.\*\* ([^\n]*)", text)
    assert rate and re.search(r"\d\.\d\d%", rate[1]), rate
    assert re.search(r"percentages to one decimal place \(to 2 decimal places for "
                     r"Violence positive outcome rate\)", method), method[:800]


def test_front_page_exceptions_name_their_windows(sample):
    """Each exception line on the front page, read on its own, names the window of its
    figure and the figure its change is from."""
    _, text, _ = sample
    front = text[:text.index("## 1. Introduction")]
    block = front[front.index("**Exceptions"):front.index("**Checks that failed")]
    lines = [line for line in block.splitlines() if line.startswith("- ")]
    assert len(lines) == 12
    months = "|".join(MONTHS)
    window = rf"in (?:the year ending )?(?:{months}) \d{{4}}"
    for line in lines:
        assert re.search(rf"\*\*: [^;]+ {window}, an? (?:increase|decrease) of [^;]+ from "
                         r"[^;]+;", line), line
    # The comparison is the one the title block states ("Compared with: the plan baseline"),
    # its window named in the introduction; a figure of another window names it.
    assert ("- \u25b2 **Sexual offences**: 11,762 in the year ending September 2025, an "
            "increase of 9.5% from 10,739; ") in lines[0]
    assert ("**Third-party report positive outcome rate**: 72.0% in the year ending July "
            "2025, a decrease of 9.0 percentage points from 81.0%; ") in lines[1]
    assert "- Compared with: the plan baseline" in front


def _chart_verdict(values: list[float | None]):
    from kpi import stats
    from kpi.stats import Significance
    from kpi.verdicts import Verdict

    months = [str(Month.of(2023, 10) + n) for n in range(len(values))]
    chart = stats.xmr(months, values, Better.LOWER)
    return Verdict(Significance("poisson_exact", None, None, True, ""), chart,
                   stats.variation(chart), None, None, None)


def test_normal_variation_is_said_only_of_months_the_chart_does_not_mark():
    """Read printed, paragraph 5.8 said Business crime "has been stable at its new level
    since: the last 24 months show only normal variation" beside its chart in Figure 2, which
    marks June and July 2025 with triangles. What the months show is said of the months
    the chart leaves unmarked (paper.common_cause_words, the one wording)."""
    from kpi.paper import common_cause_words, settled_sentence

    steady = [100.0, 102, 98, 101, 99, 100, 103, 97, 100, 101, 99, 100] * 2
    calm = _chart_verdict(steady)
    assert not calm.chart.signals and calm.variation.verdict == "common_cause"
    assert common_cause_words(calm) == "the last 24 months show only normal variation"
    # Two unusual months near the end, the latest back within the limits.
    recent = _chart_verdict(steady[:21] + [130.0, 131.0, 100.0])
    assert recent.variation.verdict == "common_cause"
    assert [p.month for p in recent.chart.signals] == ["2025-07", "2025-08"]
    assert common_cause_words(recent) == common_cause_words(recent, brief=True) == (
        "2 of the last 24 months, from July to August 2025, were unusual, though not the "
        "latest")
    worse = _result(Unit.COUNT, 90, 100)
    # Two unusual months are no move of the level (`test_no_sentence_says_the_level_moved_
    # where_the_months_show_none`): the sentence names them.
    assert settled_sentence(worse, recent) == (
        "2 of the last 24 months, from July to August 2025, were unusual, though not the "
        "latest: the rise is a difference between the two periods' figures, not a step the "
        "monthly figures show.")
    # Unusual months further back: the months have held since the month after the last.
    early = _chart_verdict(steady[:13] + [130.0, 131.0] + steady[:9])
    assert common_cause_words(early) == (
        "the 9 months from January 2025 show only normal variation")
    assert settled_sentence(worse, early) == (
        "2 of the last 24 months, from November to December 2024, were unusual, though not "
        "the latest: the rise is a difference between the two periods' figures, not a step "
        "the monthly figures show.")
    # A chart that marks no month has held since its first. Its 24 months from October 2023
    # start inside the comparison window (the year ending March 2024), so they show no move
    # after it: "the level rose after the comparison period and has been stable at its new
    # level since: the last 24 months show only normal variation" was said of them, as it
    # was not of a chart held since December 2023 (the test below).
    assert settled_sentence(worse, calm) == (
        "The last 24 months show only normal variation, across the end of the comparison "
        "period: the rise is a difference between the two periods' figures, not a step the "
        "monthly figures show.")
    # Against the year ending September 2023, before the chart's first month, the level did
    # move after the comparison, and the chart has held at it since.
    earlier = result_of(worse.kpi, 90, 100, comparison=Window.year_ending(Month.of(2023, 9)))
    assert settled_sentence(earlier, calm) == (
        "The level rose after the comparison period and has been stable at its new level "
        "since: the last 24 months show only normal variation.")


def _alternating(months: int, level: float = 100.0) -> list[float]:
    """98 and 102 in turn about `level` (mean 100, every moving range 4: limits 89.36 to
    110.64 about 100)."""
    return [level + (2.0 if n % 2 else -2.0) for n in range(months)]


def test_no_sentence_says_the_level_moved_where_the_months_show_none():
    """By hand, charts of the 24 months from October 2023 against the year ending March 2024:
    months of 98 and 102 in turn with December 2024 to February 2025 at 136 (beyond the upper
    limit of 110.64) read "The level rose after the comparison period and has been stable
    since March 2025", though March to September 2025 average 702 / 7 = 100.3, the level of
    the months before; two months of 160 in June and July 2025 read "The level rose after the
    comparison period, and 2 of the last 24 months ... were unusual"; a fall in October 2023,
    inside the baseline year, with one month of 160 in January 2025, read "the level fell
    after the baseline and has been stable since February 2025". The 12-month change gave the
    move, and the last marked month its date. A level is said to have moved only where the
    chart shows it (`paper._level_step`): a shift its rules mark after the comparison, a
    recalculation of its limits, or a chart wholly after the comparison."""
    from kpi.document import plain_text
    from kpi.paper import (
        _shift_start,
        brief_sentences,
        common_cause_words,
        level_moved,
        settled_sentence,
    )
    from kpi.periods import Comparison

    bump = _alternating(24)
    bump[14:17] = [136.0] * 3  # December 2024 to February 2025
    bumped = _chart_verdict(bump)
    assert [p.month for p in bumped.chart.signals] == ["2024-12", "2025-01", "2025-02"]
    assert {p.rule for p in bumped.chart.signals} == {"limits"}
    assert bumped.variation.verdict == "common_cause"
    assert round(sum(bump[17:]) / 7, 1) == 100.3 and sum(bump[:6]) / 6 == 100.0
    rise = _result(Unit.COUNT, 1200, 1310)
    assert level_moved(rise, bumped) == ""
    assert settled_sentence(rise, bumped) == (
        "3 of the last 24 months, from December 2024 to February 2025, were unusual, though "
        "not the latest: the rise is a difference between the two periods' figures, not a "
        "step the monthly figures show.")
    brief = plain_text(brief_sentences(rise, Comparison.BASELINE, 0, bumped))
    assert "level rose" not in brief and "stable since" not in brief
    assert brief.endswith("; 3 of the last 24 months, from December 2024 to February 2025, "
                          "were unusual, though not the latest.")
    recent = _alternating(24)
    recent[20:22] = [160.0, 160.0]  # June and July 2025
    late = _chart_verdict(recent)
    assert level_moved(rise, late) == ""
    assert settled_sentence(rise, late).startswith(
        "2 of the last 24 months, from June to July 2025, were unusual, though not the "
        "latest: the rise is")
    spiky = _alternating(24)
    spiky[15] = 160.0  # January 2025
    fall = _result(Unit.COUNT, 1380, 1258)
    spiked = _chart_verdict(spiky)
    assert level_moved(fall, spiked) == ""
    assert settled_sentence(fall, spiked) == (
        "1 of the last 24 months, January 2025, was unusual, though not the latest: the fall "
        "is a difference between the two periods' figures, not a step the monthly figures "
        "show.")
    brief = plain_text(brief_sentences(fall, Comparison.BASELINE, 0, spiked))
    assert "level fell" not in brief and "stable since" not in brief
    # A shift the chart's rules mark after the comparison, the way the change went: 105 and
    # 107 from October 2024 to May 2025 (with September 2024's 102, nine months above the
    # mean of 100, within the limits), then back to 98 and 102. The level did rise, and the
    # months marked are named.
    shifted = _alternating(12) + [105.0, 107.0] * 4 + _alternating(4)
    moved = _chart_verdict(shifted)
    assert {p.rule for p in moved.chart.signals} == {"shift"}
    marked = [p.month for p in moved.chart.signals]
    assert (len(marked), marked[0], marked[-1]) == (9, "2024-09", "2025-05")
    assert moved.variation.verdict == "common_cause"
    assert level_moved(rise, moved) == "rose"
    assert settled_sentence(rise, moved) == (
        "The level rose after the comparison period, and 9 of the last 24 months, from "
        "September 2024 to May 2025, were unusual, though not the latest.")
    # The same shift against a fall is no move the chart shows.
    assert level_moved(fall, moved) == ""
    # A shift the other way that the comparison's months were in, the months since out of it:
    # 94 and 96 from October 2023 to April 2024, then 98 and 102 (May 2024's 98 the last of
    # eight months below the mean), the limits from May 2024 to April 2025 (mean 100). The
    # level rose after the year ending March 2024.
    from kpi import stats
    from kpi.stats import Significance
    from kpi.verdicts import Verdict

    months = [str(Month.of(2023, 10) + n) for n in range(24)]
    chart = stats.xmr(months, [94.0, 96.0] * 3 + [94.0] + _alternating(17), Better.LOWER,
                      baseline=("2024-05", "2025-04"))
    left = Verdict(Significance("poisson_exact", None, None, True, ""), chart,
                   stats.variation(chart), None, None, None)
    assert {(p.rule, p.high) for p in chart.signals} == {("shift", False)}
    assert [p.month for p in chart.signals] == months[:8]
    assert left.variation.verdict == "common_cause"
    assert level_moved(_result(Unit.COUNT, 1150, 1200), left) == "rose"
    assert settled_sentence(_result(Unit.COUNT, 1150, 1200), left) == (
        "The level rose after the comparison period, and 8 of the last 24 months, from "
        "October 2023 to May 2024, were unusual, though not the latest.")
    assert level_moved(fall, left) == ""
    # A missing month breaks a run (`stats.xmr`): the shift starts where the chart marks it.
    gap = _chart_verdict(_alternating(12) + [105.0] * 3 + [None] + [105.0] * 8)
    assert gap.variation.rule == "shift" and gap.chart.signals[0].month == "2025-02"
    assert _shift_start(gap.chart, True) == "2025-02"
    # and "the last 24 months" of a chart missing one of them are 23 of them.
    holed = _chart_verdict(_alternating(15) + [None] + _alternating(8))
    assert holed.variation.verdict == "common_cause" and not holed.chart.signals
    assert common_cause_words(holed) == (
        "23 of the last 24 months show only normal variation (January 2025 has no figure)")
    # Counted from the month after an unusual one, the months held name the one missing.
    marked = _alternating(12) + [130.0] + _alternating(5) + [None] + _alternating(5)
    holed = _chart_verdict(marked)
    assert [p.month for p in holed.chart.signals] == ["2024-10"]
    assert common_cause_words(holed) == (
        "the 11 months from November 2024 show only normal variation (April 2025 has no "
        "figure)")


def _rebased_verdict(values: list[float], rebase: str, significant: bool = True):
    from kpi import stats
    from kpi.stats import Significance
    from kpi.verdicts import Verdict

    months = [str(Month.of(2023, 10) + n) for n in range(len(values))]
    chart = stats.xmr(months, values, Better.LOWER, rebase=[rebase])
    return Verdict(Significance("poisson_exact", None, None, significant, ""), chart,
                   stats.variation(chart), None, None, None)


def test_no_sentence_says_the_level_held_across_a_recalculation_of_the_limits():
    """By hand: 16 months of 10 and 12 from October 2023, then 30 and 32 from February 2025,
    where `spc_rebase` recalculates the limits: no month is marked (each segment against its
    own limits, the second's trial from its 8 months). Against the year ending March 2024 the
    paper read "The last 24 months show only normal variation, across the end of the
    comparison period: the rise is a difference between the two periods' figures, not a step
    the monthly figures show": the recalculation is a step the chart shows, and the months held
    are counted from it (8, February to September 2025), naming it."""
    from kpi.paper import (
        _settled_since,
        common_cause_words,
        level_moved,
        normal_variation,
        settled_sentence,
        significance_clause,
    )

    values = [10.0, 12.0] * 8 + [30.0, 32.0] * 4
    step = _rebased_verdict(values, "2025-02")
    assert not step.chart.signals and step.variation.verdict == "common_cause"
    assert [s.start for s in step.chart.segments] == ["2023-10", "2025-02"]
    assert _settled_since(step) == (Month.of(2025, 2), 8)
    worse = _result(Unit.COUNT, 132, 292)
    assert level_moved(worse, step) == "rose"
    assert common_cause_words(step) == common_cause_words(step, brief=True) == (
        "the 8 months from February 2025, when the process limits were recalculated, show "
        "only normal variation")
    assert settled_sentence(worse, step) == (
        "The level rose after the comparison period and has been stable since February 2025: "
        "the 8 months from February 2025, when the process limits were recalculated, show "
        "only normal variation.")
    # A chart with a step is not "within normal variation", whatever the test says.
    assert not normal_variation(step)
    calm = _rebased_verdict(values, "2025-02", significant=False)
    assert significance_clause(calm) == ", not statistically significant"
    # A recalculation inside the comparison window (February 2024, the year ending March
    # 2024): the months from it show no step across the comparison's end, and say so,
    # counted from the recalculation (20 months), not from the chart's first.
    early = _rebased_verdict([10.0, 12.0] * 2 + [30.0, 32.0] * 10, "2024-02")
    assert _settled_since(early) == (Month.of(2024, 2), 20)
    assert settled_sentence(worse, early) == (
        "The 20 months from February 2024, when the process limits were recalculated, show "
        "only normal variation, across the end of the comparison period: the rise is a "
        "difference between the two periods' figures, not a step the monthly figures show.")
    # A recalculation 3 months back: too recent for the level to be said to have held.
    recent = _rebased_verdict([10.0, 12.0] * 10 + [11.0, 30.0, 32.0, 30.0], "2025-07")
    assert _settled_since(recent) is None
    assert settled_sentence(worse, recent) == (
        "The level rose after the comparison period, and the 3 months from July 2025, when "
        "the process limits were recalculated, show only normal variation.")
    # Months marked after the recalculation: the run starts after them, and "the last 24
    # months" they are counted among names the recalculation.
    marked = _rebased_verdict([10.0, 12.0] * 3 + [30.0, 32.0] * 6
                              + [31.0, 30.0, 60.0, 32.0, 30.0, 31.0], "2024-04")
    assert [p.month for p in marked.chart.signals] == ["2025-06"]
    assert common_cause_words(marked) == (
        "1 of the last 24 months, June 2025, was unusual, though not the latest (the process "
        "limits were recalculated in April 2024)")


def test_the_paper_names_no_command_line_option(sample):
    """Read as a board member reads it, Appendix 1 sent the reader to "the technical annex
    (--full)": a command-line option is the analyst's word, not the board's."""
    _, text, _ = sample
    assert not re.search(r"(?<![\w-])--[a-z]", text), re.search(r".{60}--[a-z].{20}", text)
    assert "the technical annex, the full paper, has them all" in text


def test_outcome_statuses_have_words():
    from kpi.paper import STATUS_COUNT_WORDS, STATUS_SENTENCES

    statuses = {v for k, v in vars(Outcome).items() if k.isupper()}
    assert {s for s, _ in STATUS_COUNT_WORDS} == statuses
    assert set(STATUS_SENTENCES) == {Outcome.IMPROVING, Outcome.DETERIORATING, Outcome.STABLE,
                                     Outcome.CHANGED, Outcome.STALE}


def test_status_sentences_vary_within_a_section(exported):
    from kpi.paper import STATUS_VARIANTS

    _, markdown, _ = exported
    for status, words in STATUS_VARIANTS.items():
        assert len(set(words)) == len(words) > 1, status
    # Each section takes the wordings in turn, over its significant improvements: its first
    # says the first wording (this project has one a section).
    sections = re.split(r"^## \d+\. ", markdown, flags=re.MULTILINE)[1:]
    turns = [[w for w in STATUS_VARIANTS[Outcome.IMPROVING] if w in section]
             for section in sections]
    assert [said for said in turns if said] == [[STATUS_VARIANTS[Outcome.IMPROVING][0]]] * 2
    verdict = _verdict(True)
    assert [status_sentence(_result(Unit.COUNT, 100, 80), verdict, n) for n in range(4)] == \
        [*STATUS_VARIANTS[Outcome.IMPROVING], STATUS_VARIANTS[Outcome.IMPROVING][0]]


def _verdict(significant: bool | None):
    from kpi.stats import Significance
    from kpi.verdicts import Verdict

    test = Significance("poisson_exact" if significant is not None else "not_tested",
                        None, None, significant, "")
    return Verdict(test, None, None, None, None, None)


def test_a_change_is_improving_or_deteriorating_only_where_it_is_significant():
    """Issue 18: one function (`shown_status`) gives the status of the tables, the sentences
    and the tallies; a change not significant or never tested is called neither."""
    better, worse = _result(Unit.COUNT, 100, 80), _result(Unit.COUNT, 100, 125)
    level = _result(Unit.COUNT, 100, 100)
    assert (better.status, worse.status, level.status) == (
        Outcome.IMPROVING, Outcome.DETERIORATING, Outcome.STABLE)
    shown = {(r.status, s): shown_status(r, _verdict(s))
             for r in (better, worse, level) for s in (True, False, None)}
    assert shown == {
        (Outcome.IMPROVING, True): "improving", (Outcome.IMPROVING, False): NO_SIGNIFICANT_CHANGE,
        (Outcome.IMPROVING, None): NOT_TESTED,
        (Outcome.DETERIORATING, True): "deteriorating",
        (Outcome.DETERIORATING, False): NO_SIGNIFICANT_CHANGE,
        (Outcome.DETERIORATING, None): NOT_TESTED,
        (Outcome.STABLE, True): "stable", (Outcome.STABLE, False): NO_SIGNIFICANT_CHANGE,
        (Outcome.STABLE, None): NOT_TESTED}
    assert shown_status(worse, None) == NOT_TESTED
    assert [SHOWN_STATUS_WORDS[shown[(Outcome.DETERIORATING, s)]] for s in (True, False, None)] \
        == ["deteriorating", "no significant change", "not tested"]
    assert status_sentence(worse, _verdict(True)) == "This is a deterioration."
    assert status_sentence(worse, _verdict(False)) == ""
    assert status_sentence(worse, _verdict(None)) == NOT_TESTED_SENTENCE
    # Between windows sharing months a test applies to a count but is not made: the sentence
    # says why, not that none applies (the year ending September against that ending August).
    from kpi.periods import Month, Window

    overlapping = result_of(worse.kpi, 100, 125, Window.year_ending(Month.of(2025, 9)),
                            Window.year_ending(Month.of(2025, 8)))
    assert status_sentence(overlapping, _verdict(None)) == SHARED_MONTHS_SENTENCE
    assert "applies" not in SHARED_MONTHS_SENTENCE
    assert status_sentence(level, _verdict(False)) == "The position is stable."
    assert _tally([better, worse, level], {}) == ["3 not tested for significance"]


# ---------------------------------------------------------------------------------------------
# The bundled sample


@pytest.fixture(scope="module")
def sample(sample_paper):
    """The bundled sample's paper for September 2025, and its summary JSON (conftest.py's
    `sample_paper`, exported once per worker process)."""
    out = sample_paper["markdown"]
    return out, out.read_text(encoding="utf-8"), json.loads(
        sample_paper["summary"].read_text(encoding="utf-8"))


LOAD_DATE = re.compile(rf"\b\d{{1,2}} (?:{'|'.join(MONTHS)}) \d{{4}}\b")


def without_load_dates(text: str) -> str:
    """The paper with the dates its data was loaded (when this machine built the sample's
    store) replaced: the only words that differ between two machines."""
    return LOAD_DATE.sub("(load date)", text)


def test_a_caption_says_what_its_figure_shows_in_its_paragraphs_words(sample):
    """A board member reading print sees the caption, not the alt text: every figure's caption
    says what it finds, for each KPI charted in the words of that KPI's paragraph (never
    contradicting it), and a comparison figure the part that stands out, as its paragraph
    says it."""
    _, text, _ = sample
    captions = re.findall(r"^\*Figure (\d+) – (.+)\*$", text, re.MULTILINE)
    assert len(captions) == 12
    # A KPI's paragraph, or the paragraph of its table, which says why it is an exception.
    paragraphs = {m.group(1): m.group(0) for m in re.finditer(
        r"^\d+\.\d+\. \*\*(.+?)\.\*\* .*$", text, re.MULTILINE)}
    paragraphs |= {m.group(1): m.group(0) for m in re.finditer(
        r"^\d+\.\d+\. .*\*\*(.+?)\*\* is an exception .*$", text, re.MULTILINE)}
    checked = 0
    for _, caption in captions:
        title, _, finding = caption.partition(". ")
        assert finding.endswith("."), caption
        for item in finding.rstrip(".").split("; "):
            name, dash, words = item.partition(" \u2013 ")
            if not dash:
                continue
            assert name in paragraphs, (name, caption)
            # A caption may leave out what its paragraph adds in brackets (which limit an
            # unusual month passed).
            assert words.rstrip(")").lower() in paragraphs[name].lower(), (words, name)
            checked += 1
    assert checked == 20
    by_number = dict(captions)
    assert by_number["1"] == ("West Midlands ASB incidents: twenty-four month trend. ASB "
                              "incidents up 0.8% from 26,405: not statistically significant.")
    assert by_number["6"].endswith(". By LPA, Birmingham (72.5%) stands out from the other 6 "
                                   "(76.2% together): a difference unlikely to be chance.")
    assert "By LPA, Birmingham (72.5%) stands out from the other 6 (76.2% together): a " \
        "difference unlikely to be chance." in paragraphs["Emergency incidents attended within "
                                                         "15 minutes"]
    # The exceptions' process charts are drawn a section's at a time where there is room.
    assert by_number["2"].startswith("Process charts of the exceptions (1 of 4). Sexual "
                                     "offences \u2013 the level rose in March 2025 and has "
                                     "stayed higher since; ")


def test_kpis_in_development_get_a_sentence_below_the_matrix_not_a_row(sample):
    """A KPI in development has no variation and no assurance: the matrix gave it a row of
    dashes (and, in a project with none, a row of dashes and 0). The sentence below the
    matrix names each KPI the summary has in development, the matrix counts the others."""
    _, text, summary = sample
    developing = [k["title"] for k in summary["kpis"] if k["status"] == "in_development"]
    assert len(developing) == 7
    front = text.split("## 1.")[0]
    matrix = [line for line in front.splitlines() if line.startswith("| ")]
    assert matrix[-1].startswith("| No process chart") and "In development" not in front
    assert sum(int(line.strip("|").split("|")[-1]) for line in matrix[1:]) == 100 - 7
    assert ("The table leaves out the 7 KPIs in development (no data yet): see 6.2, 7.22, 8.8 "
            "and 9.9.") in front.splitlines()
    sections = {label: text.split(f"\n{label}. ", 1)[1].split("\n", 1)[0]
                for label in ("6.2", "7.22", "8.8", "9.9")}
    assert all(any(t in s for s in sections.values()) for t in developing), sections
    assert ("*KPIs by the variation in their monthly figures and whether they will meet their "
            "target*") in front


def test_one_kpi_in_development_is_named_below_the_matrix(exported):
    _, markdown, summary = exported
    developing = [k["title"] for k in summary["kpis"] if k["status"] == "in_development"]
    assert developing == ["Victim satisfaction"]
    assert ("The table leaves out Victim satisfaction, in development (no data yet): see "
            "3.6.") in markdown.splitlines()
    assert "3.6. **Victim satisfaction.** This KPI is in development" in markdown


def test_bundled_sample_paper_matches_golden(sample):
    _, text, _ = sample
    text = without_load_dates(text)
    if os.environ.get("KPI_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_the_sample_paper_reads_one_clause_at_a_time(sample):
    """No two asides in a row (') (') and at most one colon to a clause, KPI names read as
    one word: '**PCSOs: women** is an exception: a change in level: the level fell ...' made
    a board member untangle three colons (tests/prose_support.py states the rule)."""
    from kpi.catalogue import bundled_project_dir

    _, text, _ = sample
    titles = kpi_titles(bundled_project_dir() / "kpi.toml", bundled=True)
    assert stacked_punctuation(text, titles) == []
    # the rule finds what it is for
    assert stacked_punctuation("X is an exception: a change in level: it fell.", []) != []
    assert stacked_punctuation("Crime harm (days) (target met).", []) != []
    assert stacked_punctuation("**A: b** is an exception \u2013 a change: it fell.",
                               ["A: b"]) == []


def test_an_aside_after_a_name_in_brackets_is_not_stacked():
    from kpi import paper

    assert paper._aside("Crime harm score (millions of days)", "target consistently met") == (
        ", target consistently met")
    assert paper._aside("Homicides", "target consistently met") == (
        " (target consistently met)")


def test_bundled_sample_paper_reads_as_commonmark_without_stray_marks(sample):
    """Rendered as CommonMark, every bold and italic of the sample's paper closes: the rows
    of the matrix once printed "**▲ Special cause of concern (6): **Sexual offences", the
    closing marks after a space being no closing marks."""
    _, text, _ = sample
    html = MarkdownIt("commonmark").enable("table").render(text)
    shown = re.sub(r"<[^>]+>", "", html)
    assert "**" not in shown and not re.search(r"(^|\s)\*\S|\S\*(\s|$)", shown)
    assert "<strong>▲ Special cause of concern, 6:</strong> Sexual offences;" in html


def test_bundled_sample_names_the_lpas_whose_compliance_stands_out(sample):
    """The report's Figure 4 is about Birmingham's emergency compliance, below the other
    LPAs'. The board's paper finds it by the proportion test (stats.share_standouts): each
    LPA's share attended within 15 minutes in the year, worked out again by DuckDB from the
    extract, against the other LPAs' pooled."""
    import duckdb

    _, text, _ = sample
    extract = Path(__file__).resolve().parents[1] / "datasets" / "west-midlands" / \
        "extracts" / "incidents.parquet"
    parts = {lpa: (x, n) for lpa, x, n in duckdb.sql(
        "SELECT lpa, sum(CASE WHEN response_seconds <= 900 THEN 1 ELSE 0 END), "
        f"count(response_seconds) FROM '{extract}' WHERE grade = 'Emergency' AND attended "
        "AND incident_date BETWEEN '2024-10-01' AND '2025-09-30' GROUP BY lpa").fetchall()}
    assert parts["Birmingham"] == (52430, 72269)

    def share(names):
        return 100 * sum(parts[n][0] for n in names) / sum(parts[n][1] for n in names)

    # Birmingham against the other six: far beyond 0.05 / 7.
    others = [n for n in parts if n != "Birmingham"]
    x, n = parts["Birmingham"]
    rest_x, rest_n = sum(parts[o][0] for o in others), sum(parts[o][1] for o in others)
    pooled = (x + rest_x) / (n + rest_n)
    z = (x / n - rest_x / rest_n) / math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / rest_n))
    assert math.erfc(abs(z) / math.sqrt(2)) < 0.05 / 7
    # Sandwell and Solihull also differ from the rest beyond chance, but by 1.8 and 1.2
    # percentage points: below the paper's floor of 2 ([paper] standout_points), no finding.
    for name in ("Sandwell", "Solihull"):
        left = [o for o in others if o != name]
        gap = abs(share([name]) - share(left))
        assert 1 < gap < 2, (name, gap)
    line = next(x for x in text.splitlines()
                if "**Emergency incidents attended within 15 minutes.**" in x)
    assert (f"By LPA, Birmingham ({share(['Birmingham']):.1f}%) stands out from the other 6 "
            f"({share(others):.1f}% together): a difference unlikely to be chance.") in line
    assert "Birmingham (72.5%)" in line and "(76.2% together)" in line


def test_bundled_sample_has_every_priority_and_figure(sample):
    from PIL import Image

    out, text, summary = sample
    headings = re.findall(r"^## (\d+)\. ", text, flags=re.MULTILINE)
    # Sections 11 and 12 are the commentary's equality implications and next steps.
    assert headings == [str(n) for n in range(1, 13)]
    assert text.index("## Summary for the board") < text.index("## 1. Introduction")
    links = re.findall(r"!\[Figure \d+ – [^\]]+\]\(([^)]+)\)", text)
    # The board's paper: the report's eight figures and the exceptions' process charts,
    # several to a figure, at most twelve in all.
    assert len(links) <= 12
    for declared in ("asb_trend", "calls_999_service_level", "calls_101_service_level",
                     "emergency_15min_lpa", "priority_1h_lpa", "positive_outcomes_trend",
                     "top_outcome_codes", "harm_and_crime_rate"):
        assert any(link.endswith(f"-{declared}.png") for link in links), declared
    panels = [link for link in links if "-xmr_exceptions_" in link]
    assert panels and len(links) == 8 + len(panels)
    # No section summary tables in the board's paper: the front page's matrix holds them.
    assert text.count("| KPI | Current") == 0
    assert "| Variation in the monthly figures |" in text
    for link in links:
        with Image.open(out.parent / link) as image:
            assert image.format == "PNG"
            image.verify()
    assert "*Table 1 – Ethics training completion rates, September 2025*" in text
    assert "*Table 2 – Workforce representation rates, September 2025*" in text


def test_bundled_sample_tables_give_a_column_a_board_can_use(sample):
    """Tables 1 and 2 read "not tested" in every row: snapshots are never tested (two counts
    of the same people are not independent samples). Table 1 (running totals, no process
    chart either) has no last column; Table 2's says what each KPI's monthly figures show,
    as `kpi summary` gives its variation, and the exception it holds is said in words."""
    _, text, summary = sample
    docs = {d["title"]: d for d in summary["kpis"]}
    assert "not tested |" not in text

    def table(number: int) -> list[list[str]]:
        lines = text.split(f"*Table {number} – ")[0].rstrip().splitlines()
        rows = []
        for line in reversed(lines):
            if not line.startswith("|"):
                break
            rows.insert(0, [c.strip().replace("\\", "") for c in line.strip("|").split("|")])
        return rows

    ethics = table(1)
    assert ethics[0] == ["KPI", "Baseline (April 2024)", "Current (September 2025)", "Change"]
    assert len(ethics) == 2 + 7
    workforce = table(2)
    assert workforce[0][-1] == "Variation" and len(workforce) == 2 + 8
    words = {"common_cause": "normal variation", "special_cause_concern": "\u25b2 concern",
             "special_cause_improvement": "\u25a0 improvement"}
    for row in workforce[2:]:
        doc = docs[row[0]]
        assert doc["significance"]["significant"] is None
        assert row[-1] == words[doc["variation"]["verdict"]], row
    assert [r[0] for r in workforce[2:] if r[-1].startswith("\u25b2")] == ["PCSOs: women"]
    assert ("**PCSOs: women** is an exception \u2013 a change in level: the level fell in "
            "November 2024 and has stayed lower since (seven or more months in a row below the "
            "average).") in text
    assert "Table 1 sets out ethics training completion rates in September 2025" in text


def test_bundled_sample_numbers_are_the_summarys(sample):
    _, text, summary = sample
    tabled = {d["id"] for d in summary["kpis"]
              if d["id"].startswith("ethics_module_") or d["id"].startswith(
                  ("officers_", "pcsos_", "specials_", "staff_"))}
    assert len(tabled) == 15
    assert _check_numbers(text, summary, tabled) > 60
    # The report's sentences, in the board's one sentence for a KPI in normal variation and
    # in full for an exception.
    # Its chart marks twelve earlier months: which, never "within normal variation".
    assert ("2.5. **ASB incidents.** 26,613, up 0.8% from 26,405: not statistically "
            "significant; 12 of the last 24 months, from January 2024 to July 2025, were "
            "unusual, though not the latest.") in text
    # Its chart marks months as late as June 2025: the level is not called stable.
    assert ("299,579, down 8.7% from 328,153: a statistically significant improvement; the "
            "level fell after the baseline, and 11 of the last 24 months, from February 2024 "
            "to June 2025, were unusual, though not the latest.") in text
    assert "**Homicides.** 34, down 9 from 43: within normal variation." in text
    assert ("10 minutes and 25 seconds, down 2 minutes and 4 seconds (16.6%) from 12 minutes "
            "and 29 seconds: not tested") in text


def test_a_section_says_why_kpis_have_no_figure_once(sample):
    """KPIs of a section without a figure for one reason share one paragraph: the sample's
    section 6 said "This KPI is in development: ..." three times in a row."""
    _, text, _ = sample
    assert ("6.2. **3 KPIs in development.** They are defined in the Police and Crime Plan, "
            "but there is no data for them yet: Compliance with the Victims' Code of Practice; "
            "Victim satisfaction with WMP; Satisfaction with commissioned support "
            "services.\n\n## 7.") in text
    assert ("7.22. **2 KPIs in development.** They are defined in the Police and Crime Plan, "
            "but there is no data for them yet: Investigations grading (HMICFRS PEEL); "
            "Public confidence (regional perception survey).") in text
    # No section says the same thing of two KPIs.
    sections: dict[str, list[str]] = {}
    for label, body in _paragraphs(text):
        match = LEAD_IN.match(body)
        if match:
            sections.setdefault(label.split(".")[0], []).append(match.group(2))
    for number, bodies in sections.items():
        assert len(bodies) == len(set(bodies)), number
    # The front page points the KPIs of one paragraph to it once.
    assert "(5.2); " not in text


def test_an_unusual_month_of_a_kpi_with_no_better_direction_is_said_once(sample):
    # "the months show an unusually high month" said "month" twice.
    _, text, _ = sample
    assert "the months show an unusually" not in text
    assert ("7.7. **101 calls received.** 807,116, up 23.1% from 655,829: a statistically "
            "significant change; the latest month is unusually high.") in text


def test_bundled_sample_prints_every_report_figure_and_the_quoted_ones(sample):
    """Every figure of the November 2025 report (tests/data/report-2025-11-figures.csv) is in
    the board's paper as the paper rounds it, and so are the figures the report quotes from
    other returns: the ASB categories, the fraud and cyber shares and losses, the ethics
    headcount and Birmingham's September 15-minute compliance."""
    import csv

    _, text, summary = sample
    docs = {d["id"]: d for d in summary["kpis"]}
    rows = list(csv.DictReader((Path(__file__).parent / "data"
                                / "report-2025-11-figures.csv").open(encoding="utf-8")))
    assert len(rows) == 92
    for row in rows:
        doc = docs[row["id"]]
        shown = {_count(doc["current"]["value"])} if row["unit"] in ("count",) else \
            _shown(doc["current"]["value"], doc["unit"])
        if row["unit"] == "seconds":
            total = int(round(doc["current"]["value"]))
            minutes, seconds = divmod(total, 60)
            hours, minutes = divmod(minutes, 60)
            shown = {w for w in (f"{minutes} minutes", f"{hours} hour")}
        if row["unit"] == "days":
            shown = {f"{round(doc['current']['value']):,}"}
        assert any(s in text for s in shown), (row["id"], shown)
    for quoted in ("nuisance 19,480", "personal 4,785", "environmental 2,583",
                   "reports 83.0%", "reports 17.0%", "losses £82.2m",
                   "ethics training 12,631",
                   "Related figures in September 2025: Birmingham emergency incidents "
                   "attended within 15 minutes 71.0%"):
        assert quoted in text, quoted


# ---------------------------------------------------------------------------------------------
# Escaping, as a property: no title can break the paper's Markdown


def _paper_for_title(title: str) -> str:
    from kpi.board import model
    from kpi.catalogue import Priority, Project, Status
    from kpi.engine import Report
    from kpi.paper import build_paper
    from kpi.periods import Comparison

    kpi = KpiDef(id="k", title=title, priority="p", kind=Kind.RATE, unit=Unit.PERCENT,
                 better=Better.HIGHER, status=Status.IN_DEVELOPMENT)
    project = Project(path=Path("kpi.toml"), name="Force", data_dir=Path("data"),
                      baseline_end=Month.of(2024, 3), snapshot_baseline=Month.of(2024, 4),
                      populations={}, datasets={}, priorities=(Priority("p", "Priority", 1),),
                      kpis=(kpi,))
    report = Report(Month.of(2025, 9), Comparison.BASELINE,
                    (KpiResult(kpi, Outcome.IN_DEVELOPMENT, None, None, None, None),), {})
    return build_paper(model(project, report, full=True)).markdown


# Titles as a catalogue holds them: any printable text, single spaces, no edge spaces.
TITLES = st.text(st.characters(codec="utf-8", exclude_categories=("C", "Z"),
                               include_characters=" "), min_size=1, max_size=40).map(
    lambda t: " ".join(t.split())).filter(bool)


@given(TITLES)
@example("Knife | gun *crime* [test]")
@example("Fraud &amp; cyber &copy; <b>x</b> `code` 1. #2 ![i](x)")
@example("_a_ __b__ ~~c~~ \\ \\| -- 1) x")
def test_any_title_stays_one_table_cell_and_plain_text(title):
    import html as html_lib

    html = MarkdownIt("commonmark").enable("table").render(_paper_for_title(title))
    definitions = html.split("Appendix 2: KPI definitions")[1].split("Appendix 3")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", definitions, flags=re.DOTALL)
    assert len(rows) == 2
    cells = re.findall(r"<td>(.*?)</td>", rows[1], flags=re.DOTALL)
    assert len(cells) == 7
    # The title comes back as the same text: no emphasis, link, code or entity was made of it.
    # (Left-to-right marks set a right-to-left title among the paper's words, writers.isolated;
    # kpi.toml refuses them, so every one here is the writer's.)
    assert html_lib.unescape(cells[0]).replace("\u200e", "") == title
    lead = re.search(r"<p>2\.2\. <strong>(.*?)</strong>", html, flags=re.DOTALL)
    ending = "" if title.endswith((".", "!", "?")) else "."
    assert html_lib.unescape(lead.group(1)).replace("\u200e", "") == title + ending


def test_exception_charts_are_grouped_by_section_then_the_smallest_neighbours_merged():
    """A figure of the exceptions' process charts holds one section's; over the room left,
    the two neighbouring figures with the fewest charts become one, the earlier on a tie."""
    from kpi.paper import exception_groups

    # The sample's twelve, by section: 1, 2, 2, 2, 1 and 4, with room for four figures.
    charted = [("a", "s3"), ("b", "s4"), ("c", "s4"), ("d", "s5"), ("e", "s5"), ("f", "s7"),
               ("g", "s7"), ("h", "s8"), ("i", "s9"), ("j", "s9"), ("k", "s9"), ("l", "s9")]
    assert exception_groups(charted, 4) == [["a", "b", "c"], ["d", "e"], ["f", "g", "h"],
                                            ["i", "j", "k", "l"]]
    assert exception_groups(charted, 6) == [["a"], ["b", "c"], ["d", "e"], ["f", "g"], ["h"],
                                            ["i", "j", "k", "l"]]
    assert exception_groups(charted, 0) == [[k for k, _ in charted]]
    assert exception_groups([], 4) == []


def test_the_full_paper_charts_what_its_documentation_says_it_charts(exported):
    """`--full` draws a process chart of each KPI whose latest month is a special cause or
    which has a target, and of no other (`board.process_charts`). Its help, the README and
    docs/board-paper.md said "every KPI's ... process chart": an analyst's own project with
    every KPI in normal variation got a full paper without a chart, exit 0."""
    from typer.testing import CliRunner

    from kpi.cli import app

    out, markdown, summary = exported
    # The fixture's [[charts]] declare no xmr chart, which would take a KPI's place.
    expected = {k["id"] for k in summary["kpis"] if k["variation"] is not None
                and (k["variation"]["verdict"] != "common_cause" or k["target"] is not None)}
    charted = set(re.findall(r"\(board-files/figure-\d+-xmr_(\w+)\.png\)", markdown))
    assert charted == expected and charted
    # Some KPIs with a process chart and no special cause or target are drawn in none.
    assert {k["id"] for k in summary["kpis"] if k["variation"] is not None} - charted
    rule = "process chart of each KPI whose latest month is a special cause or which has a target"
    docs = Path(__file__).resolve().parent.parent
    board_paper = " ".join((docs / "docs" / "board-paper.md").read_text(encoding="utf-8").split())
    help_text = " ".join(CliRunner().invoke(app, ["export", "markdown", "--help"],
                                            env={"COLUMNS": "200"}).output.split())
    readme = " ".join((docs / "README.md").read_text(encoding="utf-8").split())
    assert board_paper.count(rule) == 2 and rule in help_text.replace("│", "")
    assert ("`--full` gives every KPI's paragraph and breakdowns, and the process chart of "
            "each with a special cause or a target") in readme
    for text in (board_paper, readme, help_text):
        assert "every KPI's chart" not in text and "breakdowns and process chart" not in text


def test_a_paper_against_windows_that_share_months_says_why_nothing_is_tested(project,
                                                                               tmp_path, cli):
    """Against the window ending a month earlier every change read "not tested", and the
    method text listed only kinds that are not tested (averages, medians, snapshots): it now
    says how many KPIs are compared with a window sharing months with their own, and why no
    change of theirs is tested. The count is the summary's, worked out from its windows."""
    _, folder = project
    summary = cli(["--project", folder, "summary", "--period", "2025-09", "--vs", "previous",
                   "--format", "json"])
    assert summary.exit_code == 0, summary.output

    def overlap(k: dict) -> bool:
        now, then = k.get("current"), k.get("comparison")
        return bool(now and then and then["end"] >= now["start"] and now["end"] >= then["start"])

    kpis = json.loads(summary.stdout)["kpis"]
    shared = sum(overlap(k) for k in kpis)
    assert shared > 1
    assert all(k["significance"]["test"] is None for k in kpis if overlap(k))
    out = tmp_path / "previous.md"
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09", "--vs",
                  "previous", "--output", out])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert (f"{shared} KPIs are compared with a window that shares months with their own (the "
            "window ending a month earlier, or a baseline year ending inside the current one), "
            "so no change of theirs is tested for significance: the two windows are not "
            "independent samples, and the change is the difference of the months they do not "
            "share.") in text
    baseline = tmp_path / "baseline.md"
    assert cli(["--project", folder, "export", "markdown", "--period", "2025-09", "--output",
                baseline]).exit_code == 0
    assert "shares months" not in baseline.read_text(encoding="utf-8")


def _unusual_month_project(root: Path) -> Path:
    """Every month from April 2023 95 or 105 calls in turn, and 140 in September 2025: the
    year ending September 2025 holds 1,245 calls, the baseline year 1,200 (a change of 3.8%,
    z = 0.91 on the two counts, not significant), while September 2025 lies above the upper
    process limit (100 + 2.66 x 10 = 126.6, from the first 12 months charted). Two KPIs count
    the calls, one better higher (a special cause of improvement: one sentence) and one
    better lower (of concern: an exception, its full paragraph)."""
    from project_toml import fixture_months, head, kpi_block

    (root / "extracts").mkdir(parents=True)
    (root / "kpi.toml").write_text(
        head("Unusual month", "2024-03", "m", {"day": "date"}, sources=["extracts/m.csv"],
             priority=("p", "Calls"))
        + kpi_block("wanted", "Wanted calls", "m", kind="count", better="higher")
        + kpi_block("unwanted", "Unwanted calls", "m", kind="count", better="lower"),
        encoding="utf-8")
    lines = ["day"]
    for n, (month, _) in enumerate(fixture_months()):
        lines += [f"{month}-15"] * (140 if month == "2025-09" else 95 if n % 2 else 105)
    (root / "extracts" / "m.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_a_change_not_significant_beside_a_special_cause_is_not_normal_variation(cli,
                                                                                 tmp_path):
    """By hand (`_unusual_month_project`): a change tested and found not significant, of a KPI
    whose latest month is a special cause, read "within normal variation; the months show a
    special cause of improvement" in its sentence and "within normal variation (not
    statistically significant). The monthly figures show a special cause of concern" in an
    exception's paragraph, while the front page's matrix put both KPIs in a special-cause row.
    The paper calls a KPI's change "within normal variation" only where its months show only
    normal variation; here it says the change is not statistically significant."""
    root = _unusual_month_project(tmp_path / "unusual")
    assert cli(["--project", root, "ingest", "m"]).exit_code == 0
    summary = cli(["--project", root, "summary", "--period", "2025-09", "--format", "json"])
    assert summary.exit_code == 0, summary.output
    kpis = {k["id"]: k for k in json.loads(summary.stdout)["kpis"]}
    for kpi_id, variation in (("wanted", "special_cause_improvement"),
                              ("unwanted", "special_cause_concern")):
        got = kpis[kpi_id]
        assert (got["comparison"]["value"], got["current"]["value"]) == (1200, 1245)
        assert got["significance"]["significant"] is False
        assert got["variation"]["verdict"] == variation
    out = tmp_path / "paper.md"
    result = cli(["--project", root, "export", "markdown", "--period", "2025-09", "--output",
                  out])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "- **▲ Special cause of concern, 1:** Unwanted calls." in text
    assert "- **■ Special cause of improvement, 1:** Wanted calls." in text
    assert ("**Wanted calls.** 1,245, up 3.8% from 1,200: not statistically significant; the "
            "months show a special cause of improvement (an unusually high month).") in text
    assert ("an increase of 3.8% from the baseline of 1,200 in the year ending March 2024, not "
            "statistically significant. The monthly figures show a special cause of concern "
            "(an unusually high month, above the upper process limit).") in text
    paragraphs = [line for line in text.splitlines() if line.startswith("2.")]
    assert len(paragraphs) == 3 and not any("normal variation" in p for p in paragraphs)


def _held_level_project(root: Path) -> Path:
    """Every month from April 2023 a total of 900 or 1,100 thefts in turn, and 2,150 in
    November 2023: the year ending September 2025 holds 12,000, the baseline year (to March
    2024) and the year before the current one (to September 2024) 13,050 each, a fall of
    8.0% (z = 6.6, significant). The process chart of October 2023 to September 2025 takes
    its limits from its first 12 months (mean 1,087.5, mR 390.9, upper limit 2,127.3):
    November 2023 lies above it, and the 22 months from December 2023 show only normal
    variation, across both comparison windows."""
    from project_toml import fixture_months, head, kpi_block

    (root / "extracts").mkdir(parents=True)
    (root / "kpi.toml").write_text(
        head("Held level", "2024-03", "m", {"day": "date", "n": "int"},
             sources=["extracts/m.csv"], priority=("p", "Crime"))
        + kpi_block("thefts", "Thefts", "m", kind="count", value="n", better="lower"),
        encoding="utf-8")
    lines = ["day,n"]
    for n, (month, _) in enumerate(fixture_months()):
        lines.append(f"{month}-15,{2150 if month == '2023-11' else 1100 if n % 2 else 900}")
    (root / "extracts" / "m.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.mark.parametrize(("vs", "before"), [("baseline", "the baseline of 13,050 in the year "
                                                          "ending March 2024"),
                                            ("yoy", "13,050 in the year ending September 2024")])
def test_a_level_held_since_before_the_comparison_ended_is_not_said_to_have_moved_after_it(
        cli, tmp_path, vs, before):
    """By hand (`_held_level_project`): a significant fall whose process chart has shown only
    normal variation since December 2023, a month inside the comparison window, read "the
    level fell after the year ending September 2024 and has been stable since December 2023"
    (against the baseline, "after the baseline"), and the full paragraph "The level fell after
    the comparison period and has been stable since December 2023": the chart shows no move
    across the comparison's end. The paper says what the chart shows, the months since
    December 2023 in normal variation, and no move of the level after the comparison."""
    root = _held_level_project(tmp_path / "held")
    assert cli(["--project", root, "ingest", "m"]).exit_code == 0
    summary = cli(["--project", root, "summary", "--period", "2025-09", "--vs", vs, "--format",
                   "json"])
    assert summary.exit_code == 0, summary.output
    got, = json.loads(summary.stdout)["kpis"]
    assert (got["comparison"]["value"], got["current"]["value"]) == (13050, 12000)
    assert got["significance"]["significant"] is True
    assert got["variation"]["verdict"] == "common_cause"
    texts = {}
    for name, more in (("brief", []), ("full", ["--full"])):
        out = tmp_path / f"{vs}-{name}.md"
        result = cli(["--project", root, "export", "markdown", "--period", "2025-09", "--vs", vs,
                      "--output", out, *more])
        assert result.exit_code == 0, result.output
        found = re.search(r"^2\.2\. \*\*Thefts\.\*\* (.*)$", out.read_text(encoding="utf-8"),
                          re.MULTILINE)
        assert found is not None
        texts[name] = found.group(1)
    assert texts["brief"] == ("12,000, down 8.0% from 13,050: a statistically significant "
                              "improvement; the 22 months from December 2023 show only normal "
                              "variation.")
    assert texts["full"] == (f"A total of 12,000 was recorded in the year ending September "
                             f"2025, a decrease of 8.0% from {before}, a statistically "
                             "significant change. This is an improvement. The 22 months from "
                             "December 2023 show only normal variation, across the end of the "
                             "comparison period: the fall is a difference between the two "
                             "periods' figures, not a step the monthly figures show.")


def test_months_not_final_are_said_to_be_in_the_figure_the_paragraph_gives(cli, tmp_path):
    """By hand: a count of 100 a month from April 2023, its last 3 months not final yet
    (`provisional_months = 3`). Against the same months of the previous financial year in
    September 2025 the figure is April to September 2025's, 600, six months; the paragraph
    said "the 12-month figure includes them" of it, and Appendix 1 "its 12-month figure
    includes them". They now name the figure the paper gives; a year's figure is still "the
    12-month figure"."""
    from project_toml import fixture_months, head, kpi_block

    root = tmp_path / "settling"
    (root / "extracts").mkdir(parents=True)
    (root / "kpi.toml").write_text(
        head("Settling", "2024-03", "m", {"day": "date", "n": "int"},
             sources=["extracts/m.csv"], priority=("p", "Outcomes"))
        + kpi_block("closed", "Closed", "m", kind="count", value="n", better="higher",
                    provisional_months=3), encoding="utf-8")
    (root / "extracts" / "m.csv").write_text(
        "day,n\n" + "".join(f"{month}-15,100\n" for month, _ in fixture_months()),
        encoding="utf-8")
    assert cli(["--project", root, "ingest", "m"]).exit_code == 0
    said = {}
    for vs in ("fytd", "baseline"):
        out = tmp_path / f"{vs}.md"
        result = cli(["--project", root, "export", "markdown", "--period", "2025-09", "--vs", vs,
                      "--output", out, "--full"])
        assert result.exit_code == 0, result.output
        said[vs] = " ".join(out.read_text(encoding="utf-8").split())
        current, = (f for f in json.loads(out.with_suffix(".figures.json").read_text(
            encoding="utf-8"))["figures"] if f["role"] == "current")
        assert (current["window_label"], current["value"]) == (
            ("April to September 2025 (financial year 2025/26 to date)", 600) if vs == "fytd"
            else ("year ending September 2025", 1200))
    months = ("The figures of the last 3 months (July to September 2025) are not final yet and "
              "will change as records are updated: ")
    assert months + "the figure for April to September 2025 includes them;" in said["fytd"]
    assert months + "the 12-month figure includes them;" in said["baseline"]
    assert "12-month figure" not in said["fytd"]
    for text in said.values():
        assert ("Where a KPI's last 3 months are not final yet (outcomes still being recorded), "
                "its figure includes them, but no finding rests on them") in text


@pytest.mark.parametrize(("vs", "change"), [("fytd", "the change over the financial year to "
                                                     "date"),
                                            ("baseline", "the 12-month change")])
def test_a_special_cause_against_the_change_names_the_change_by_its_windows(cli, tmp_path, vs,
                                                                            change):
    """By hand: answered calls, better higher, 95 and 105 a month in turn from April 2023, 90
    a month from April to August 2025 and 140 in September 2025, above the upper process
    limit (100 + 2.66 x 10). April to September 2025 holds 590 against 600 a year earlier,
    and the year ending September 2025 1,190 against the baseline year's 1,200: a fall, while
    the latest month is a special cause of improvement. Against the same months of the
    previous financial year the paragraph said "against the direction of the 12-month change"
    of two six-month windows; it names the change it reports."""
    from project_toml import fixture_months, head, kpi_block

    root = tmp_path / "against"
    (root / "extracts").mkdir(parents=True)
    (root / "kpi.toml").write_text(
        head("Against", "2024-03", "m", {"day": "date", "n": "int"},
             sources=["extracts/m.csv"], priority=("p", "Calls"))
        + kpi_block("answered", "Answered calls", "m", kind="count", value="n",
                    better="higher"), encoding="utf-8")
    lines = ["day,n"]
    for n, (month, _) in enumerate(fixture_months()):
        value = 140 if month == "2025-09" else 90 if "2025-04" <= month <= "2025-08" \
            else 95 if n % 2 else 105
        lines.append(f"{month}-15,{value}")
    (root / "extracts" / "m.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli(["--project", root, "ingest", "m"]).exit_code == 0
    out = tmp_path / "paper.md"
    result = cli(["--project", root, "export", "markdown", "--period", "2025-09", "--vs", vs,
                  "--output", out, "--full"])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    figures = {f["role"]: f["value"] for f in json.loads(out.with_suffix(
        ".figures.json").read_text(encoding="utf-8"))["figures"]}
    assert figures == ({"current": 590, "comparison": 600} if vs == "fytd"
                       else {"current": 1190, "comparison": 1200})
    assert ("The monthly figures show a special cause of improvement (an unusually high month, "
            f"above the upper process limit), against the direction of {change}: the most "
            "recent months do not follow it.") in text
    assert vs != "fytd" or "12-month" not in text.split("## Appendix")[0]


@pytest.mark.parametrize(("lag", "caption"), [(2, "*Table 1 – Shares*"),
                                              (0, "*Table 1 – Shares, September 2025*")])
def test_a_tables_caption_names_only_the_window_its_rows_share(cli, tmp_path, lag, caption):
    """By hand: two snapshots in one table, 30 of 100 and 40 of 100 every month, the second
    with a `lag` of 2. Its row is of July 2025 and says so ("40.0% (July 2025)"), and the
    sentence names no month; the caption read "Shares, September 2025" all the same. It
    names the window only where every row shares it."""
    from project_toml import fixture_months, head, kpi_block

    root = tmp_path / "shares"
    (root / "extracts").mkdir(parents=True)
    (root / "kpi.toml").write_text(
        head("Shares", "2024-03", "m", {"day": "date", "a": "int", "b": "int", "n": "int"},
             sources=["extracts/m.csv"], priority=("p", "People"))
        + kpi_block("first", "First share", "m", kind="snapshot", numerator="a",
                    denominator="n", better="higher", table="Shares")
        + kpi_block("second", "Second share", "m", kind="snapshot", numerator="b",
                    denominator="n", better="higher", table="Shares", lag=lag or None),
        encoding="utf-8")
    (root / "extracts" / "m.csv").write_text(
        "day,a,b,n\n" + "".join(f"{month}-15,30,40,100\n" for month, _ in fixture_months()),
        encoding="utf-8")
    assert cli(["--project", root, "ingest", "m"]).exit_code == 0
    out = tmp_path / "paper.md"
    result = cli(["--project", root, "export", "markdown", "--period", "2025-09", "--output",
                  out])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert caption in text.splitlines()
    assert ("| Second share | 40.0% | 40.0% (July 2025) |" if lag
            else "| Second share | 40.0% | 40.0% |") in text
