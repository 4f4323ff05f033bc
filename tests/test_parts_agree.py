"""The same part's figure wherever kpi prints it, and parts that add up to the whole: `kpi
compare --by`, `kpi show`'s breakdown (its JSON and `project.detail`) and `project.compare`,
each against DuckDB over the source file.

A part of a column the dataset is not loaded by (an LPA, an offence, a neighbourhood) has 0 in
a month it holds no row in: it is no load of its own (docs/json.md). `kpi compare` read such a
month as never loaded, so a part with a month of no rows had no figure there while `kpi show`
and the paper printed its count: on the bundled sample, 43 homicides in the year ending March
2024 (none in January) were "no comparison for Homicide: rows in only some months" beside
show's 43 -> 34, the report's own figures (SPEC, "a reduction of 9").
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import duckdb
import pytest

import kpi
from kpi import stats
from kpi.compare import splittable

PERIOD = "2025-09"

TOML = """
[project]
name = "Parts"
baseline = "2024-09"

[datasets.incidents]
date = "date"
[datasets.incidents.columns]
date = { type = "date", from = ["Date"] }
lpa = { type = "str", from = ["LPA"], required = false }
type = { type = "str", from = ["Type"] }
minutes = { type = "float", from = ["Minutes"] }

[[priorities]]
id = "p"
title = "Plan"

[[kpis]]
id = "incidents"
title = "Incidents"
priority = "p"
kind = "count"
dataset = "incidents"
better = "lower"
breakdowns = ["lpa"]

[[kpis]]
id = "thefts"
title = "Thefts"
priority = "p"
kind = "count"
dataset = "incidents"
filter = "type = 'theft'"
better = "lower"
breakdowns = ["lpa"]

[[kpis]]
id = "quick"
title = "Attended within 15 minutes"
priority = "p"
kind = "rate"
dataset = "incidents"
numerator = "minutes <= 15"
better = "higher"
breakdowns = ["lpa"]
"""


def _rows() -> list[tuple[str, str, str, int]]:
    """October 2023 to September 2025, by hand: Birmingham a theft (10 minutes) and an
    assault (20) every month; Coventry a theft in each month of the comparison year only;
    Dudley a theft (30) in each month of the current year only; Sandwell an assault (5) every
    other month; a theft with no LPA in each month of the current year; Walsall a theft (12)
    every month."""
    rows = []
    for i in range(24):
        year, month = 2023 + (9 + i) // 12, (9 + i) % 12 + 1
        day = f"{year}-{month:02d}"
        current = i >= 12
        rows += [(f"{day}-05", "Birmingham", "theft", 10),
                 (f"{day}-06", "Birmingham", "assault", 20),
                 (f"{day}-11", "Walsall", "theft", 12)]
        rows += [(f"{day}-08", "Dudley", "theft", 30)] if current else [
            (f"{day}-07", "Coventry", "theft", 10)]
        if i % 2 == 0:
            rows.append((f"{day}-09", "Sandwell", "assault", 5))
        if current:
            rows.append((f"{day}-10", "", "theft", 10))
    return rows


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return _loaded(tmp_path_factory.mktemp("parts"))


def _loaded(root: Path, populations: bool = False) -> Path:
    """The project in `root` (made where missing), its extract of `_rows` written and
    loaded; with `populations`, kpi.toml reads the LPAs' from pop.csv."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "kpi.toml").write_text(
        TOML + ('\n[population_by]\nlpa = "pop.csv"\n' if populations else ""),
        encoding="utf-8")
    with (root / "incidents.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Date", "LPA", "Type", "Minutes"])
        writer.writerows(_rows())
    kpi.open(root).ingest("incidents", [root / "incidents.csv"])
    return root


def _oracle(root: Path, where: str) -> dict[str | None, tuple[int, int]]:
    """Each LPA's (current, comparison) rows the filter `where` selects, by DuckDB over the
    source CSV: the year ending September 2025 against the baseline's year ending September
    2024, 0 where a part has none."""
    rows = duckdb.sql(f"""
        SELECT NULLIF("LPA", '') AS lpa,
               count(*) FILTER (WHERE "Date" BETWEEN '2024-10-01' AND '2025-09-30'),
               count(*) FILTER (WHERE "Date" BETWEEN '2023-10-01' AND '2024-09-30')
        FROM read_csv('{root / "incidents.csv"}', all_varchar = true)
        WHERE {where} GROUP BY 1""").fetchall()
    return {lpa: (cur, cmp) for lpa, cur, cmp in rows}


@pytest.mark.parametrize(("kpi_id", "where"), [("incidents", "true"),
                                               ("thefts", "\"Type\" = 'theft'")])
def test_each_lpa_is_counted_alike_by_compare_show_and_the_python_face(project, cli, kpi_id,
                                                                       where):
    want = _oracle(project, where)
    # by hand: Coventry none this year, Dudley none last year, Sandwell 6 months of each
    assert want["Coventry"] == (0, 12) and want["Dudley"] == (12, 0)
    assert kpi_id == "thefts" or want["Sandwell"] == (6, 6)
    compared = cli(["--project", project, "compare", "--period", PERIOD, "--by", "lpa",
                    "--kpi", kpi_id, "--format", "json"])
    assert compared.exit_code == 0, compared.output
    [got] = json.loads(compared.stdout)["kpis"]
    by_compare = {p["name"]: (p["current"]["value"], p["comparison"]["value"])
                  for p in got["parts"]}
    # every LPA with a row the KPI counts is listed, with its figures: Coventry's 0 this
    # year (it was "left out, with no rows in the year ending September 2025"), Dudley's 0
    # last year (it was "no comparison"), Sandwell's 6 (it was "left out, holding rows in
    # only some months")
    assert by_compare == {lpa: n for lpa, n in want.items() if lpa is not None}
    assert got["note"].startswith("rows with a blank 'lpa' are not compared")
    assert "some months" not in got["note"] and "comparison for" not in got["note"]
    # the parts and the rows with no LPA add up to the force's figure, in every face
    summary = json.loads(cli(["--project", project, "summary", "--period", PERIOD,
                              "--format", "json"]).stdout)
    total = next(k for k in summary["kpis"] if k["id"] == kpi_id)
    assert (total["current"]["value"], total["comparison"]["value"]) == tuple(
        sum(n[i] for n in want.values()) for i in (0, 1))
    shown = cli(["--project", project, "show", kpi_id, "--period", PERIOD, "--format",
                 "json"])
    by_show = {p["part"]: (p["current"], p["comparison"])
               for p in json.loads(shown.stdout)["breakdowns"]["lpa"]}
    assert by_show == want
    frame = kpi.open(project).compare(PERIOD, "lpa", kpis=[kpi_id])
    assert {r["part"]: (r["current_value"], r["comparison_value"])
            for r in frame.iter_rows(named=True)} == by_compare
    # and each part's change: the same absolute change and "n/a" (no % from a base of 0)
    changes = {p["name"]: (p["change"]["absolute"], p["change"]["percent"])
               for p in got["parts"]}
    assert changes["Dudley"] == (12, None)
    assert changes["Coventry"] == (-12, -100.0)
    shown_changes = {p["part"]: (p["absolute"], p["percent"])
                     for p in json.loads(shown.stdout)["breakdowns"]["lpa"]}
    assert {n: shown_changes[n] for n in changes} == changes


def test_a_rate_of_a_part_with_no_rows_in_a_window_has_no_figure_in_either_face(project,
                                                                                 cli):
    """A rate over no rows divides by zero: Coventry this year and Dudley last year have no
    figure ("n/a"), in `kpi compare` as in `kpi show`; the others are their rows' shares."""
    compared = json.loads(cli(["--project", project, "compare", "--period", PERIOD, "--by",
                               "lpa", "--kpi", "quick", "--format", "json"]).stdout)
    parts = {p["name"]: p for p in compared["kpis"][0]["parts"]}
    figures = {n: (p["current"] and p["current"]["value"],
                   p["comparison"] and p["comparison"]["value"]) for n, p in parts.items()}
    assert figures == {"Birmingham": (50.0, 50.0), "Coventry": (None, 100.0),
                       "Dudley": (0.0, None), "Sandwell": (100.0, 100.0),
                       "Walsall": (100.0, 100.0)}
    assert parts["Coventry"]["rank"] is None  # no figure, no rank
    shown = json.loads(cli(["--project", project, "show", "quick", "--period", PERIOD,
                            "--format", "json"]).stdout)
    assert {p["part"]: (p["current"], p["comparison"])
            for p in shown["breakdowns"]["lpa"] if p["part"] is not None} == figures


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)


@pytest.mark.parametrize("vs", ["baseline", "yoy"])
def test_every_part_of_the_sample_reads_the_same_in_show_and_compare(vs):
    """Every breakdown of the bundled sample that `kpi compare` can split: each part's
    current and comparison figures and change are the same in `project.detail` (what `kpi
    show` prints) and `project.compare`. Homicide's comparison was null in compare alone."""
    project = kpi.open("sample")
    catalogue = project.definition
    checked = 0
    for k in catalogue.kpis:
        if not k.breakdowns or k.hidden:
            continue
        detail = project.detail(k.id, PERIOD, vs)
        for column, frame in detail.breakdowns.items():
            if splittable(catalogue, k, column):
                continue
            rows = project.compare(PERIOD, column, vs, kpis=[k.id])
            compared = {r["part"]: r for r in rows.iter_rows(named=True)}
            for part in frame.iter_rows(named=True):
                if part["part"] is None:  # not compared (the note says so)
                    continue
                got = compared[part["part"]]
                pairs = [(part["current"], got["current_value"]),
                         (part["comparison"], got["comparison_value"]),
                         (part["absolute"], got["change_absolute"]),
                         (part["percent"], got["change_percent"]),
                         (part["points"], got["change_points"])]
                assert all(_same(a, b) for a, b in pairs), (k.id, column, part["part"], pairs)
                checked += 1
    assert checked > 300


def test_the_samples_homicides_are_the_reports_43_and_34_in_compare():
    """DuckDB over the sample's crimes extract: 43 homicides in the year ending March 2024
    (none in January 2024) and 34 in the year ending September 2025; `kpi compare --by
    offence` said "no comparison for Homicide: rows in only some months"."""
    crimes = (Path(__file__).resolve().parents[1] / "datasets" / "west-midlands" / "extracts"
              / "crimes.parquet")
    counts = [duckdb.sql(f"""SELECT count(*) FROM '{crimes}' WHERE "HO Offence Group" =
                             'Homicide' AND "Recorded Date" BETWEEN '{a}' AND '{b}'""")
              .fetchone()[0]
              for a, b in (("2024-10-01", "2025-09-30"), ("2023-04-01", "2024-03-31"))]
    assert counts == [34, 43]
    frame = kpi.open("sample").compare(PERIOD, "offence", kpis=["total_recorded_crime"])
    [homicide] = frame.filter(frame["part"] == "Homicide").iter_rows(named=True)
    assert [homicide["current_value"], homicide["comparison_value"],
            homicide["change_absolute"]] == [*counts, -9]
    assert "Homicide" not in (homicide["note"] or "") and homicide["status"] == "improving"


def test_the_rows_with_no_lpa_take_no_rank_from_the_lpas(project, cli):
    """`kpi show`'s breakdown ranked the rows with no LPA as a part: 12 of them tied with
    Dudley and Walsall at "2", so Sandwell read "5" and Coventry "6" of five LPAs. Listed,
    unranked, they leave the LPAs ranked among themselves, as `kpi compare` leaves them out."""
    result = cli(["--project", project, "show", "incidents", "--period", PERIOD, "--format",
                  "csv"])
    assert result.exit_code == 0, result.output
    parts = [(r["rank"], r["lpa"], r["current"])
             for r in csv.DictReader(io.StringIO(result.stdout)) if r["section"] == "By lpa"]
    # Better lower: ranked best first as `kpi compare` ranks them; the rows with no LPA last.
    assert parts == [("1", "Coventry", "0"), ("2", "Sandwell", "6"), ("3", "Dudley", "12"),
                     ("3", "Walsall", "12"), ("5", "Birmingham", "24"), ("", "", "12")]


def test_rates_per_1000_of_populations_of_different_years_are_said(tmp_path, cli):
    """Each part's population is its latest on or before the year the window ends
    (docs/peers.md): a file giving Birmingham and Dudley 2025 and the others 2024 only ranked
    per 1,000 of different years' populations side by side without a word. The note says
    whose are older; a file of one year for all says nothing."""
    root = _loaded(tmp_path / "p", populations=True)
    (root / "pop.csv").write_text(
        "lpa,population,year\nBirmingham,1000000,2023\nBirmingham,1200000,2025\n"
        "Coventry,300000,2024\nDudley,300000,2024\nDudley,330000,2025\nSandwell,300000,2024\n"
        "Walsall,250000,2024\n", encoding="utf-8")
    args = ["--project", root, "compare", "--period", PERIOD, "--by", "lpa", "--kpi",
            "incidents", "--format", "json"]
    [got] = json.loads(cli(args).stdout)["kpis"]
    # by hand: Birmingham 24 of 1,200,000 (2025), Walsall 12 of 250,000 (2024)
    parts = {p["name"]: p for p in got["parts"]}
    assert (parts["Birmingham"]["population"], parts["Walsall"]["population"]) == (1_200_000,
                                                                                  250_000)
    assert parts["Walsall"]["per_1000"] == pytest.approx(12 * 1000 / 250_000)
    assert got["note"].endswith(
        "; per 1,000 of populations of 2025, except Coventry (2024), Sandwell (2024), "
        "Walsall (2024), whose latest population in the file is older")
    (root / "pop.csv").write_text(
        "lpa,population,year\nBirmingham,1200000,2025\nCoventry,300000,2025\n"
        "Dudley,330000,2025\nSandwell,300000,2025\nWalsall,250000,2025\n", encoding="utf-8")
    [got] = json.loads(cli(args).stdout)["kpis"]
    assert "populations of" not in got["note"]


def test_each_parts_test_against_the_rest_pooled_once_is_its_test_against_the_others(
        tmp_path):
    """Every part is pooled once and each part's rest is that pool less the part
    (`compare._Pool`), where the rest was summed again for each part (a comparison of 6,000
    parts summed 18 million values): each part's test is the one against the list of the
    other parts, for a count per population and a rate."""
    from kpi.catalogue import load_project
    from kpi.compare import _cases, _pool, compare, difference
    from kpi.periods import Month

    root = _loaded(tmp_path / "p", populations=True)
    (root / "pop.csv").write_text(
        "lpa,population,year\nBirmingham,1000000,2025\nDudley,300000,2025\n"
        "Sandwell,300000,2025\nWalsall,250000,2025\n", encoding="utf-8")
    project = load_project(root)
    result = compare(project, Month.parse(PERIOD), "lpa")
    tested = 0
    for compared in result.kpis:
        k = compared.kpi
        others = {part.name: [p for p in compared.parts if p.name != part.name]
                  for part in compared.parts}
        alone = {part.name: difference(k, part, others[part.name], "the other parts together")
                 for part in compared.parts}
        # judged among the parts tested, on the floor of cases (stats.parts_judged,
        # docs/statistics.md)
        judged = stats.parts_judged([(alone[part.name], _cases(k, alone[part.name], part),
                                      _cases(k, alone[part.name], _pool(others[part.name])))
                                     for part in compared.parts])
        every = _pool(compared.parts)
        for part, expected in zip(compared.parts, judged, strict=True):
            assert part.vs_rest == expected, part.name
            pooled = every.without(part)
            assert pooled is not None  # whole populations: taken apart exactly
            assert difference(k, part, pooled, "the other parts together") == alone[part.name]
            tested += alone[part.name].p_value is not None
    # the parts tested: each with a population (Coventry has none in the file)
    assert tested >= 4
