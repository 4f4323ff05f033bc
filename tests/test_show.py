"""kpi show: one KPI's definition, windows, trend and breakdowns, checked against DuckDB."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from kpi.render import sparkline

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOLDEN = FIXTURES / "golden"
EXTRACT = FIXTURES / "mini" / "extracts" / "crimes.csv"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The mini fixture project, copied and its extract ingested."""
    from kpi.catalogue import load_project
    from kpi.ingest import load

    root = tmp_path_factory.mktemp("show") / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    load(load_project(root), "crimes")
    return root


def sql(query: str) -> list[tuple]:
    """Run SQL over the fixture extract (table `crimes`, `recorded` as a DATE)."""
    con = duckdb.connect()
    con.execute(f"""CREATE TABLE crimes AS SELECT * REPLACE (
                      strptime(recorded, '%d/%m/%Y')::DATE AS recorded)
                    FROM read_csv('{EXTRACT}', all_varchar = true)""")
    return con.execute(query).fetchall()


def count_between(start: str, end: str, where: str = "TRUE") -> int:
    return sql(f"SELECT count(*) FROM crimes WHERE recorded BETWEEN '{start}' AND '{end}' "
               f"AND {where}")[0][0]


def run_json(cli, project: Path, *args: str) -> dict:
    result = cli(["--project", project, "show", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_windows_and_change_match_sql(cli, project):
    doc = run_json(cli, project, "total_crime", "--period", "2025-09")
    current = count_between("2024-10-01", "2025-09-30")
    baseline = count_between("2023-04-01", "2024-03-31")
    kpi = doc["kpi"]
    assert kpi["current"]["value"] == current == 361
    assert kpi["comparison"]["value"] == baseline == 321
    assert kpi["current"]["label"] == "year ending September 2025"
    assert kpi["change"]["absolute"] == current - baseline
    assert kpi["change"]["percent"] == pytest.approx((current - baseline) / baseline * 100)
    assert kpi["status"] == "deteriorating"  # better = lower, and crime rose
    assert kpi["definition"]["dataset"] == "crimes"
    assert kpi["definition"]["better"] == "lower"


def test_yoy_comparison_and_filter(cli, project):
    doc = run_json(cli, project, "knife_crime", "--period", "2025-09", "--vs", "yoy")
    knife = "offence = 'knife'"
    assert doc["kpi"]["current"]["value"] == count_between("2024-10-01", "2025-09-30", knife)
    assert doc["kpi"]["comparison"]["value"] == count_between("2023-10-01", "2024-09-30", knife)
    assert doc["kpi"]["definition"]["filter"] == knife


def test_trend_is_24_monthly_values(cli, project):
    doc = run_json(cli, project, "total_crime", "--period", "2025-09")
    expected = dict(sql("SELECT strftime(recorded, '%Y-%m'), count(*) FROM crimes "
                        "GROUP BY 1"))
    trend = doc["trend"]
    assert [t["month"] for t in trend][0] == "2023-10"
    assert [t["month"] for t in trend][-1] == "2025-09"
    assert len(trend) == 24
    assert {t["month"]: t["value"] for t in trend} == {m: expected[m] for m in expected
                                                      if "2023-10" <= m <= "2025-09"}
    # The rolling 12-month value at the period's month is the current window's value.
    assert trend[-1]["rolling_12"] == doc["kpi"]["current"]["value"]


def test_breakdown_ranked_with_each_parts_change(cli, project):
    doc = run_json(cli, project, "total_crime", "--period", "2025-09")
    rows = sql("""SELECT lpa,
                         count(*) FILTER (recorded BETWEEN '2024-10-01' AND '2025-09-30'),
                         count(*) FILTER (recorded BETWEEN '2023-04-01' AND '2024-03-31')
                  FROM crimes GROUP BY lpa ORDER BY 2, lpa""")
    # Best first: total crime is better lower (`kpi compare`'s order, compare.part_ranks).
    parts = doc["breakdowns"]["lpa"]
    assert [(p["part"], p["current"], p["comparison"]) for p in parts] == rows
    for part, (_, now, then) in zip(parts, rows, strict=True):
        assert part["absolute"] == now - then
        assert part["percent"] == pytest.approx((now - then) / then * 100)
    # Parts sum to the force total.
    assert sum(p["current"] for p in parts) == doc["kpi"]["current"]["value"]
    assert set(doc["breakdowns"]) == {"lpa", "offence"}


def test_breakdown_ranks_equal_figures_alike(cli, project):
    """The breakdown's rank column numbered parts 1, 2, 3 by position: Birmingham and
    Coventry, 101 crimes each, read "2" and "3", as if one had more. Equal figures share a
    rank, as SQL's RANK() gives them."""
    rows = sql("""SELECT lpa, n, rank() OVER (ORDER BY n) FROM (
                    SELECT lpa, count(*) AS n FROM crimes
                    WHERE recorded BETWEEN '2024-10-01' AND '2025-09-30' GROUP BY lpa)
                  ORDER BY n, lpa""")
    assert [r[2] for r in rows] == [1, 1, 3]  # the fixture holds a tie
    result = cli(["--project", project, "show", "total_crime", "--period", "2025-09",
                  "--format", "csv"])
    assert result.exit_code == 0, result.output
    parts = [r for r in csv.DictReader(io.StringIO(result.stdout)) if r["section"] == "By lpa"]
    assert [(p["lpa"], int(float(p["current"])), int(p["rank"])) for p in parts] == rows
    table = cli(["--project", project, "show", "total_crime", "--period", "2025-09"]).stdout
    assert re.search(r"^1 +Birmingham +101 .*\n1 +Coventry +101 ", table, re.M)


def test_a_part_has_one_rank_in_show_and_compare(cli, project):
    """`kpi show` numbered a breakdown largest first whatever the KPI, while `kpi compare`
    ranks by the KPI's better direction: of total crime (better lower), Dudley's 159 crimes,
    the most, were "1" in `kpi show` and "3" in `kpi compare`. A part's rank is one rank,
    SQL's RANK() over the figures in the better direction, in the table, CSV and JSON of
    both, and both list the parts in its order."""
    want = {lpa: rank for lpa, _, rank in sql(
        """SELECT lpa, n, rank() OVER (ORDER BY n) FROM (
             SELECT lpa, count(*) AS n FROM crimes
             WHERE recorded BETWEEN '2024-10-01' AND '2025-09-30' GROUP BY lpa)""")}
    assert want["Dudley"] == 3
    shown = run_json(cli, project, "total_crime", "--period", "2025-09")
    show_ranks = [(p["part"], p["rank"]) for p in shown["breakdowns"]["lpa"]]
    compared = cli(["--project", project, "compare", "--period", "2025-09", "--by", "lpa",
                    "--kpi", "total_crime", "--format", "json"])
    assert compared.exit_code == 0, compared.output
    compare_ranks = [(p["name"], p["rank"])
                     for p in json.loads(compared.stdout)["kpis"][0]["parts"]]
    import kpi

    frame = kpi.open(project).detail("total_crime", "2025-09").breakdowns["lpa"]
    python_ranks = list(zip(frame["part"], frame["rank"], strict=True))
    assert show_ranks == compare_ranks == python_ranks == sorted(
        want.items(), key=lambda kv: (kv[1], kv[0]))
    table = cli(["--project", project, "show", "total_crime", "--period", "2025-09"]).stdout
    assert re.search(r"^3 +Dudley +159 ", table, re.M), table


def test_ranks_and_order_do_not_depend_on_the_extracts_row_order(cli, project, tmp_path):
    """The mini extract loaded with its rows shuffled gives every breakdown's parts the same
    ranks in the same order, in `kpi show` and `kpi compare` alike."""
    import random

    from kpi.catalogue import load_project
    from kpi.ingest import load

    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root, ignore=shutil.ignore_patterns("data"))
    lines = EXTRACT.read_text(encoding="utf-8").splitlines()
    body = lines[1:]
    random.Random(7).shuffle(body)
    (root / "extracts" / "crimes.csv").write_text("\n".join([lines[0], *body]) + "\n",
                                                  encoding="utf-8")
    load(load_project(root), "crimes")

    def ranks(folder: Path, kpi_id: str) -> tuple:
        shown = run_json(cli, folder, kpi_id, "--period", "2025-09")
        compared = cli(["--project", folder, "compare", "--period", "2025-09", "--by", "lpa",
                        "--kpi", kpi_id, "--format", "json"])
        assert compared.exit_code == 0, compared.output
        return ({column: [(p["part"], p["rank"]) for p in parts]
                 for column, parts in shown["breakdowns"].items()},
                [(p["name"], p["rank"]) for p in json.loads(compared.stdout)["kpis"][0]["parts"]])

    for kpi_id in ("total_crime", "knife_crime"):
        assert ranks(root, kpi_id) == ranks(project, kpi_id), kpi_id


def test_the_csv_gives_counts_as_the_json_does(cli, project):
    """A count's trend and breakdown figures in the CSV are whole numbers, as in the JSON
    and the summary's CSV ("101", not "101.0"), each equal to DuckDB's count."""
    result = cli(["--project", project, "show", "total_crime", "--period", "2025-09",
                  "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    trend = [r for r in rows if r["section"].startswith("Trend")]
    parts = [r for r in rows if r["section"] == "By lpa"]
    assert trend and parts
    for row in trend:
        first = f"{row['month']}-01"
        last = sql(f"SELECT CAST(last_day(DATE '{first}') AS VARCHAR)")[0][0]
        if row["value"]:
            assert row["value"] == str(count_between(first, last)), row
    for row in parts:
        want = count_between("2024-10-01", "2025-09-30", f"lpa = '{row['lpa']}'")
        assert row["current"] == str(want), row
    shown = run_json(cli, project, "total_crime", "--period", "2025-09")
    assert [r["value"] for r in trend] == [
        "" if t["value"] is None else str(t["value"]) for t in shown["trend"]]


def test_the_csvs_signal_rows_hold_each_figure_as_a_number(cli, project):
    """The CSV's Signal section held the p value as the table's text ("<0.001") and both
    process limits in one cell ("9:02 to 11:10"): a scheduled job read them back rounded, as
    text. Each figure is a number in `value`, each limit a row of its own, beside its `text`,
    the same as the JSON's."""
    result = cli(["--project", project, "show", "total_crime", "--period", "2025-09",
                  "--format", "csv"])
    rows = {r["field"]: r for r in csv.DictReader(io.StringIO(result.stdout))
            if r["section"] == "Signal"}
    shown = run_json(cli, project, "total_crime", "--period", "2025-09")["signal"]
    assert float(rows["p value"]["value"]) == shown["p_value"]
    for field, key in (("mean", "mean"), ("lower process limit", "lower_limit"),
                       ("upper process limit", "upper_limit"),
                       ("lower 2-sigma line", "lower_2sigma"),
                       ("upper 2-sigma line", "upper_2sigma")):
        assert float(rows[field]["value"]) == shown["xmr"][key], field
        assert rows[field]["text"] and rows[field]["unit"] == "count"
    assert "process limits" not in rows
    assert rows["variation"]["value"] == "" and rows["variation"]["text"]


def test_windows_sharing_months_are_not_tested_as_two_samples(cli, project):
    """`--vs previous` compares the year ending September 2025 with the year ending August:
    11 months are in both, so the change is September 2025's count less September 2024's
    (DuckDB), and no test of the two years as independent samples says whether it is chance.
    The summary, `kpi show` and the paper's Signal say "not tested" and why."""
    doc = run_json(cli, project, "total_crime", "--period", "2025-09", "--vs", "previous")
    kpi = doc["kpi"]
    assert kpi["current"]["value"] == count_between("2024-10-01", "2025-09-30")
    assert kpi["comparison"]["value"] == count_between("2024-09-01", "2025-08-31")
    assert kpi["change"]["absolute"] == (count_between("2025-09-01", "2025-09-30")
                                         - count_between("2024-09-01", "2024-09-30"))
    test = kpi["significance"]
    assert test["test"] is None and test["p_value"] is None
    assert test["reason"].startswith("the two windows share 11 months, 2024-10 to 2025-08")
    summary = cli(["--project", project, "summary", "--period", "2025-09", "--vs", "previous",
                   "--format", "json"])
    got = {k["id"]: k["significance"] for k in json.loads(summary.stdout)["kpis"]}
    assert got["total_crime"] == test
    yoy = run_json(cli, project, "total_crime", "--period", "2025-09", "--vs", "yoy")
    assert yoy["kpi"]["significance"]["test"] == "poisson_exact"


def test_rate_reports_points_and_counts(cli, project):
    doc = run_json(cli, project, "positive_outcome_rate", "--period", "2025-09")
    positive, total = sql("""SELECT count(*) FILTER (outcome IN ('OC1', 'OC2')), count(*)
                             FROM crimes WHERE recorded BETWEEN '2024-10-01'
                             AND '2025-09-30'""")[0]
    current = doc["kpi"]["current"]
    assert (current["numerator"], current["denominator"]) == (positive, total)
    assert current["value"] == pytest.approx(positive / total * 100)
    change = doc["kpi"]["change"]
    assert change["percent"] is None
    assert change["points"] == pytest.approx(current["value"]
                                             - doc["kpi"]["comparison"]["value"])


def test_table_output_matches_golden(cli, project):
    """Plain text (not a terminal): no colour, no box drawing, trend as a list of months."""
    result = cli(["--project", project, "show", "total_crime", "--period", "2025-09"])
    assert result.exit_code == 0, result.output
    _matches_golden(result.stdout, "show_total_crime.txt")


def test_markdown_output_matches_golden(cli, project):
    result = cli(["--project", project, "show", "positive_outcome_rate", "--period", "2025-09",
                  "--format", "markdown"])
    assert result.exit_code == 0, result.output
    _matches_golden(result.stdout, "show_positive_outcome_rate.md")


def _matches_golden(text: str, name: str) -> None:
    """The output against its golden file (KPI_UPDATE_GOLDEN=1 rewrites it: read the diff)."""
    if os.environ.get("KPI_UPDATE_GOLDEN"):
        (GOLDEN / name).write_text(text, encoding="utf-8")
    assert text == (GOLDEN / name).read_text(encoding="utf-8")


def test_csv_output_is_one_table_with_a_section_column(cli, project):
    result = cli(["--project", project, "show", "knife_crime", "--period", "2025-09",
                  "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    sections = {r["section"] for r in rows}
    assert {"Definition", "Windows", "Change", "By lpa"} <= sections
    lpa = [r for r in rows if r["section"] == "By lpa"]
    assert [r["lpa"] for r in lpa] == ["Birmingham", "Coventry", "Dudley"]  # best first
    change = next(r for r in rows if r["section"] == "Change")
    assert float(change["change_absolute"]) == -12  # a number, not a quoted formula


def test_in_development_kpi(cli, project):
    doc = run_json(cli, project, "victim_satisfaction", "--period", "2025-09")
    assert doc["kpi"]["status"] == "in_development"
    assert doc["trend"] == [] and doc["breakdowns"] == {}


def test_unknown_id_is_a_usage_error_with_suggestions(cli, project):
    result = cli(["--project", project, "show", "knife_crim", "--period", "2025-09"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "unknown KPI 'knife_crim'" in result.stderr
    assert "did you mean 'knife_crime'?" in result.stderr


def test_unknown_id_matches_titles_too(cli, project):
    result = cli(["--project", project, "show", "outcome", "--period", "2025-09"])
    assert result.exit_code == 2
    assert "positive_outcome_rate" in result.stderr
    assert "median_days_to_outcome" in result.stderr


def test_period_default_from_kpi_toml(cli, project):
    """The fixture's kpi.toml sets [defaults] period = 2025-09."""
    doc = json.loads(cli(["--project", project, "show", "total_crime", "--format",
                          "json"]).stdout)
    assert doc["period"] == "2025-09"


def test_period_default_reaches_commands_inside_groups(cli, project, tmp_path):
    """[defaults] period also applies to `kpi export markdown`, a command inside a group."""
    out = tmp_path / "paper" / "board.md"
    result = cli(["--project", project, "export", "markdown", "--output", out])
    assert result.exit_code == 0, result.output
    assert "September 2025" in out.read_text(encoding="utf-8").split("\n\n")[1]


def test_sparkline_scales_between_min_and_max():
    # Eight levels, min at the lowest and max at the highest: 7 -> level 3.5 -> 4 (▅),
    # 3.5 -> level 1.75 -> 2 (▃).
    assert sparkline([0, 7, 14, None, 3.5]) == "▁▅█ ▃"
    assert sparkline([5, 5]) == "▄▄"
    assert sparkline([None]) == " "


def test_as_of_shows_the_figures_as_they_were_stored(cli, tmp_path):
    from kpi.catalogue import load_project
    from kpi.ingest import load

    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    load(load_project(root), "crimes")
    september = [line for line in EXTRACT.read_text().splitlines()[1:]
                 if "/09/2025," in line and ",knife," not in line]
    revised = tmp_path / "september.csv"
    revised.write_text(EXTRACT.read_text().splitlines()[0] + "\n" + "\n".join(september) + "\n")
    load(load_project(root), "crimes", [str(revised)])
    knife_in_september = count_between("2025-09-01", "2025-09-30", "offence = 'knife'")
    now = run_json(cli, root, "knife_crime", "--period", "2025-09")
    then = run_json(cli, root, "knife_crime", "--period", "2025-09", "--as-of", "0")
    assert then["kpi"]["current"]["value"] == 95
    assert now["kpi"]["current"]["value"] == 95 - knife_in_september
    assert now["trend"][-1]["value"] == 0 and then["trend"][-1]["value"] == knife_in_september


def test_trend_still_shown_when_the_window_is_incomplete(cli, tmp_path):
    """A month missing from the data: the KPI is no_data, and the trend shows the gap."""
    from kpi.catalogue import load_project
    from kpi.ingest import load

    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    lines = EXTRACT.read_text(encoding="utf-8").splitlines(keepends=True)
    gappy = root / "extracts" / "crimes.csv"
    gappy.write_text("".join(line for line in lines if "/06/2025," not in line),
                     encoding="utf-8")
    load(load_project(root), "crimes")
    doc = run_json(cli, root, "total_crime", "--period", "2025-09")
    assert doc["kpi"]["status"] == "no_data"
    assert doc["kpi"]["note"].startswith("year ending September 2025 is incomplete")
    months = [row["month"] for row in doc["trend"]]
    assert len(months) == 24 and months[-1] == "2025-09"
    values = {row["month"]: row["value"] for row in doc["trend"]}
    assert values["2025-06"] is None
    assert values["2025-05"] == count_between("2025-05-01", "2025-05-31")
    # No verdict on the months held, as the summary's verdicts give none to a KPI without a
    # current window (`kpi show` judged the months to 2025-09 where they give none).
    from kpi import engine, verdicts
    from kpi.periods import Comparison, Month

    project = load_project(root)
    report = engine.evaluate(project, Month.parse("2025-09"), Comparison.BASELINE,
                             [project.known_kpi("total_crime")])
    assert verdicts.verdicts(project, report)["total_crime"].variation is None
    assert doc["kpi"]["variation"] is None
    assert doc["signal"]["xmr"]["mean"] is None and doc["signal"]["xmr"]["signals"] == []
    assert doc["signal"]["xmr"]["note"] == (
        "no process chart: the current window has no figure (see the note), so no month is "
        "judged, as in kpi summary")


def test_a_kpi_without_a_change_says_why_in_the_change_section(cli, tmp_path):
    """The Change section printed "n/a" in each change cell whatever the reason there was no
    change, where the summary says why. It now says it in the summary's words
    (engine.no_change) in a last column `change_note`, in the table, Markdown, the CSV and the
    workbook, as JSON's `kpi.change.note` and `project.detail(...).change_note` do; the
    change's own cells are empty. A hand count of the tiny project: 101 calls has no figure
    (June 2025 missing), fraud attended within 15 minutes a figure but no comparison (0 / 0 in
    the baseline year), victim satisfaction is in development; incidents has a change."""
    import fastexcel
    from fixtures.generated import tiny_project

    import kpi as kpi_module

    tiny = tiny_project(tmp_path / "tiny")
    project = kpi_module.open(tiny.root)
    want = {"calls": "no figure", "fraud_quick": "no comparison",
            "satisfaction": "in development", "incidents": None}

    def show(kpi_id: str, *args: str) -> str:
        result = cli(["--project", tiny.root, "show", kpi_id, "--period", "2025-09", *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    for kpi_id, why in want.items():
        assert json.loads(show(kpi_id, "--format", "json"))["kpi"]["change"]["note"] == why
        assert project.detail(kpi_id, "2025-09").change_note == why
        rows = [r for r in csv.DictReader(io.StringIO(show(kpi_id, "--format", "csv")))
                if r["section"] == "Change"]
        assert [r["change_note"] for r in rows] == [why or ""], kpi_id
        table = show(kpi_id).split("\nChange\n", 1)[1].split("\n\n", 1)[0].splitlines()
        assert table[0].split() == [*(["change_points"] if kpi_id in ("fraud_quick",
                                                                      "satisfaction")
                                      else ["change_absolute", "change_percent"]),
                                    "status", "note", "change_note"], kpi_id
        markdown = show(kpi_id, "--format", "markdown").split("## Change\n", 1)[1]
        cells = [c.strip() for c in markdown.strip().splitlines()[2].strip("|").split("|")]
        plain = re.split(r" {2,}", table[1])
        if why is None:
            assert plain == ["-12", "-33.3%", "improving", "—", "—"], plain
            assert cells[:2] == ["-12", "-33.3%"] and cells[-1] == "—", cells
        else:
            changes = 2 if kpi_id == "calls" else 1
            for shown in (plain, cells):
                assert shown[:changes] == ["—"] * changes and shown[-1] == why, shown
                assert "n/a" not in shown, shown
        book = tmp_path / f"{kpi_id}.xlsx"
        show(kpi_id, "--format", "xlsx", "--output", str(book))
        change = fastexcel.read_excel(book).load_table("change").to_polars()
        assert change["change_note"].to_list() == [why], kpi_id


def test_show_and_summary_say_not_tested_alike(cli, tmp_path):
    """`kpi show`'s `signal.test` was the string "not_tested" where the summary's
    `significance.test` is null for the same KPI: both are null now (docs/json.md: "`test`
    null is what says a KPI was not tested"), and the same test's name where there is one."""
    from fixtures.generated import tiny_project

    tiny = tiny_project(tmp_path / "tiny")
    summary = cli(["--project", tiny.root, "summary", "--period", "2025-09", "--format",
                   "json"])
    assert summary.exit_code == 0, summary.output
    tested = {}
    for kpi in json.loads(summary.stdout)["kpis"]:
        result = cli(["--project", tiny.root, "show", kpi["id"], "--period", "2025-09",
                      "--format", "json"])
        assert result.exit_code == 0, result.output
        signal = json.loads(result.stdout)["signal"]
        expected = (kpi["significance"] or {"test": None})["test"]
        assert signal["test"] == expected, (kpi["id"], signal["test"], expected)
        if expected is None:
            assert signal["p_value"] is None and signal["note"], kpi["id"]
        tested[kpi["id"]] = expected
    # Both kinds of KPI are here: tested and not.
    assert None in tested.values() and {"poisson_exact", "two_proportion_z"} & set(
        tested.values())


def test_a_cumulative_kpi_has_its_months_and_no_chart_saying_why(cli, tmp_path):
    """A KPI declared `cumulative = true` (docs/statistics.md, "Cumulative KPIs get no
    chart"): its trend lists its monthly values, counted again here, and its Signal section
    has no limits and says it is cumulative. It said "no monthly values" beside the months
    it lists."""
    from kpi.catalogue import load_project
    from kpi.ingest import load

    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    toml = root / "kpi.toml"
    text = toml.read_text(encoding="utf-8")
    # (a snapshot: a count adds its months, and is refused the key; the rows are events, each
    # counted in its month, which `as_at = "month"` says: read as rolls, the crimes of one
    # place and offence on four dates would be one entity listed four times, and refused)
    toml.write_text(text.replace('id = "total_crime"\n', 'id = "total_crime"\ncumulative = true\n',
                                 1).replace('kind = "count"\ndataset = "crimes"\nbetter = "lower"\n'
                                            'breakdowns = ["lpa", "offence"]',
                                            'kind = "snapshot"\ndataset = "crimes"\n'
                                            'better = "lower"\nbreakdowns = ["lpa", "offence"]',
                                            1).replace('date = "recorded"\n',
                                                       'date = "recorded"\nas_at = "month"\n', 1),
                    encoding="utf-8")
    load(load_project(root), "crimes")
    doc = run_json(cli, root, "total_crime", "--period", "2025-09")
    values = {row["month"]: row["value"] for row in doc["trend"]}
    assert values["2025-05"] == count_between("2025-05-01", "2025-05-31") > 0
    xmr = doc["signal"]["xmr"]
    assert xmr["mean"] is None and xmr["upper_limit"] is None and xmr["signals"] == []
    assert xmr["note"] == ("no process chart: the KPI is cumulative (a running total), so its "
                           "months are not independent values of a process")
    assert doc["kpi"]["variation"] is None and doc["kpi"]["assurance"] is None
    plain = cli(["--project", root, "show", "total_crime", "--period", "2025-09"])
    assert plain.exit_code == 0, plain.output
    line = next(x for x in plain.stdout.splitlines() if "process chart" in x)
    assert "cumulative (a running total)" in line and "no monthly values" not in line


SAMPLE_CRIMES = (Path(__file__).resolve().parents[1] / "datasets" / "west-midlands" / "extracts"
                 / "crimes.parquet")


def _knife_chart_by_sql(first: str, last: str) -> tuple[float, float, float]:
    """The process chart of knife crime months `first` to `last` in the sample, by DuckDB:
    the mean of its first 12 monthly counts and the limits on their screened moving ranges
    (docs/statistics.md)."""
    counts = [n for _, n in duckdb.connect().execute(
        f"""SELECT strftime("Recorded Date", '%Y-%m') AS month, count(*) FROM '{SAMPLE_CRIMES}'
            WHERE "Knife Flag" AND strftime("Recorded Date", '%Y-%m') BETWEEN ? AND ?
            GROUP BY 1 ORDER BY 1""", [first, last]).fetchall()]
    base = counts[:12]
    mean = sum(base) / 12
    ranges = [abs(b - a) for a, b in zip(base[:-1], base[1:], strict=True)]
    kept = [r for r in ranges if r < 3.267 * sum(ranges) / len(ranges)]
    spread = 2.66 * sum(kept) / len(kept)
    return mean, mean - spread, mean + spread


def test_show_gives_the_summarys_verdict_whatever_months_it_shows(cli):
    """`kpi show --months N` judged the KPI on the N months it showed, so the sample's knife
    crime read "common cause" (mean 359.1, the last 12 months) with --months 12 where
    `kpi summary` for the same period read "special cause improvement" (mean 427.25, its 24
    months): two verdicts for one KPI at one period. The chart is now the summary's (its 24
    months, 2023-07 to 2025-06, mean and limits by DuckDB), `--months` chooses only the months
    the trend shows, and the table says which months the chart reads where they differ."""
    summary = cli(["--project", "sample", "summary", "--period", "2025-09", "--format",
                   "json"])
    assert summary.exit_code == 0, summary.output
    want = next(k for k in json.loads(summary.stdout)["kpis"] if k["id"] == "knife_crime")
    mean, lower, upper = _knife_chart_by_sql("2023-07", "2025-06")
    assert mean == want["variation"]["mean"] == 427.25
    assert want["variation"]["lower"] == pytest.approx(lower, abs=1e-9)
    assert want["variation"]["upper"] == pytest.approx(upper, abs=1e-9)
    assert want["variation"]["verdict"] == "special_cause_improvement"
    for months in (2, 12, 24, 36, 120):
        doc = run_json(cli, "sample", "knife_crime", "--period", "2025-09", "--months",
                       str(months))
        assert len(doc["trend"]) == months and doc["trend"][-1]["month"] == "2025-06"
        assert doc["kpi"]["variation"] == want["variation"], months
        xmr = doc["signal"]["xmr"]
        assert xmr["months"] == ["2023-07", "2025-06"], months
        assert (xmr["mean"], xmr["lower_limit"], xmr["upper_limit"]) == (
            want["variation"]["mean"], want["variation"]["lower"], want["variation"]["upper"])
        assert xmr["signals"][-1] == {"month": "2025-06", "value": 405, "rule": "shift",
                                      "signal": "improvement"}
    table = cli(["--project", "sample", "show", "knife_crime", "--period", "2025-09",
                 "--months", "12"])
    assert ("chart months      2023-07 to 2025-06 (24 months, as kpi summary reads them); "
            "the trend shows the last 12 months of them") in table.stdout
    assert "variation         special cause: improvement" in table.stdout
    longer = cli(["--project", "sample", "show", "knife_crime", "--period", "2025-09",
                  "--months", "36"])
    assert ("the trend shows 36 months, 2022-07 to 2025-06") in longer.stdout
    default = cli(["--project", "sample", "show", "knife_crime", "--period", "2025-09"])
    assert "chart months" not in default.stdout  # the trend shows the chart's months


@pytest.mark.parametrize("period, vs", [("2025-09", "baseline"), ("2025-03", "yoy")])
def test_every_kpi_has_one_verdict_in_the_summary_and_in_detail(period, vs):
    """Every KPI of the sample (rebased charts, cumulative KPIs, quarterly-lagged sources,
    provisional months), at two periods: `Project.detail` at any `months` gives the verdict
    of `Project.report`, the one `kpi summary` and the paper print, field for field."""
    import kpi

    project = kpi.open("sample")
    summary = project.report(period, vs)
    assert any(v.variation is not None for v in summary.verdicts.values())
    for result in summary.report.results:
        for months in (2, 36):
            got = project.detail(result.kpi.id, period, vs, months=months).verdict
            assert got == summary.verdicts[result.kpi.id], (result.kpi.id, months)


def test_breakdown_leaves_a_part_year_force_unranked(tmp_path, cli):
    """A force that stopped supplying after March holds 6 of the window's 12 months: `kpi
    compare` leaves it out, and `kpi show` lists its figure (60, its rows counted by hand)
    unranked after the forces holding every month, with a note saying why, where it was
    ranked 1st, the lowest, on half a year."""
    import datetime as dt

    folder = tmp_path / "part year"
    (folder / "extracts").mkdir(parents=True)
    (folder / "kpi.toml").write_text(
        '[project]\nname = "Part year"\nbaseline = "2024-09"\n\n'
        '[[priorities]]\nid = "p"\ntitle = "Safety"\n\n'
        '[datasets.crimes]\nsources = ["extracts/*.csv"]\ndate = "date"\n'
        '[datasets.crimes.columns]\ndate = "date"\nforce = "str"\n\n'
        '[peers.region]\ncolumn = "force"\nmembers = ["A", "B", "C"]\n\n'
        '[[kpis]]\nid = "crimes"\ntitle = "Crimes"\npriority = "p"\nkind = "count"\n'
        'dataset = "crimes"\nbetter = "lower"\nbreakdowns = ["force"]\n')
    rows = ["date,force"]
    for year, month in [(2023, m) for m in range(10, 13)] + [
            (y, m) for y in (2024, 2025) for m in range(1, 13)]:
        day = dt.date(year, month, 1)
        if day > dt.date(2025, 9, 1):
            continue
        for force, n in (("A", 10), ("B", 12), ("C", 11)):
            if not (force == "A" and day > dt.date(2025, 3, 1)):
                rows += [f"{day},{force}"] * n
    (folder / "extracts" / "all.csv").write_text("\n".join(rows) + "\n")
    assert cli(["--project", folder, "ingest", "crimes",
                folder / "extracts" / "all.csv"]).exit_code == 0
    result = cli(["--project", folder, "show", "crimes", "--period", "2025-09",
                  "--format", "json"])
    assert result.exit_code == 0, result.output
    parts = json.loads(result.stdout)["breakdowns"]["force"]
    assert [(p["part"], p["current"], p["rank"]) for p in parts] == [
        ("C", 132, 1), ("B", 144, 2), ("A", 60, None)]
    assert ("Note: by force, A listed but not ranked, as kpi compare leaves it out: left out, "
            "holding rows in only some months of the year ending September 2025: A (6 of 12 "
            "months)") in " ".join(result.stderr.split())
    from kpi import api

    detail = api.open(folder).detail("crimes", "2025-09")
    assert detail.unranked["force"][0] == ["A"]
    assert detail.breakdowns["force"]["rank"].to_list() == [1, 2, None]


def test_a_breakdown_named_as_a_column_of_the_table_keeps_both(tmp_path, cli):
    """A breakdown by `rank` (an officer's) or `unit` (a team): its part column took the
    name of the table's rank column, or of a row's unit, so the CSV and the workbook lost the
    ranks, or read each part's name as its cells' unit (a count of 96 shown "96%"), exit 0.
    Headed "rank (part)" and "unit (part)", each column keeps its own."""
    from openpyxl import load_workbook

    folder = tmp_path / "staff"
    folder.mkdir()
    (folder / "kpi.toml").write_text(
        '[project]\nname = "Staff"\nbaseline = "2024-09"\n[datasets.s]\ndate = "day"\n'
        '[datasets.s.columns]\nday = "date"\nrank = "str"\nunit = "str"\n[[priorities]]\n'
        'id = "p"\ntitle = "P"\n[[kpis]]\nid = "staff"\ntitle = "Staff"\npriority = "p"\n'
        'kind = "count"\ndataset = "s"\nbetter = "higher"\nbreakdowns = ["rank", "unit"]\n',
        encoding="utf-8")
    rows = ["day,rank,unit"]
    for y, m in [(2023, n) for n in range(10, 13)] + [(y, n) for y in (2024, 2025)
                                                      for n in range(1, 13)]:
        if (y, m) <= (2025, 9):
            rows += [f"{y}-{m:02d}-02,PC,percent"] * 2 + [f"{y}-{m:02d}-03,Sgt,CID"]
    (folder / "s.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert cli(["--project", folder, "ingest", "s", folder / "s.csv"]).exit_code == 0
    done = cli(["--project", folder, "show", "staff", "--period", "2025-09", "--format", "csv"])
    assert done.exit_code == 0, done.output
    table = list(csv.DictReader(io.StringIO(done.stdout)))
    by_rank = [(r["rank"], r["rank (part)"], r["current"]) for r in table
               if r["section"] == "By rank"]
    assert by_rank == [("1", "PC", "24"), ("2", "Sgt", "12")]
    book = tmp_path / "show.xlsx"
    assert cli(["--project", folder, "show", "staff", "--period", "2025-09", "--format",
                "xlsx", "--output", book]).exit_code == 0
    sheet = next(ws for ws in load_workbook(book).worksheets if ws.title.startswith("By unit"))
    cells = [list(row) for row in sheet.iter_rows()]
    at = next(i for i, row in enumerate(cells) if row[0].value == "rank")
    assert [c.value for c in cells[at][:3]] == ["rank", "unit (part)", "current"]
    assert (cells[at + 1][1].value, cells[at + 1][2].value) == ("percent", 24)
    assert "%" not in cells[at + 1][2].number_format
