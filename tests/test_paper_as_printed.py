"""The board paper read as a board member reads it on data kpi's own sample never holds: a
part's change ranked as printed, a KPI with a figure and no comparison, a comparison window
the data does not reach, a check whose figures are not loaded, and part names with
apostrophes and letters beyond ASCII. Each on a small project worked by hand."""

from __future__ import annotations

import re

KPI_TOML = """\
[project]
name = "{name}"
baseline = "2024-03"

[datasets.crimes]
date = "recorded"
sources = ["crimes.csv"]
[datasets.crimes.columns]
recorded = "date"
lpa = "str"
loss = "float"

[[priorities]]
id = "crime"
title = "Reducing Crime"

[[kpis]]
id = "total_crime"
title = "Total recorded crime"
priority = "crime"
kind = "count"
dataset = "crimes"
better = "lower"
breakdowns = ["lpa"]

[[kpis]]
id = "loss"
title = "Money lost"
priority = "crime"
kind = "sum"
dataset = "crimes"
value = "loss"
better = "lower"
breakdowns = ["lpa"]
"""


def _months(first: tuple[int, int], count: int) -> list[str]:
    year, month = first
    out = []
    for _ in range(count):
        out.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _project(folder, rows: list[tuple[str, str, float]], name: str = "Test force"):
    (folder / "kpi.toml").write_text(KPI_TOML.format(name=name), encoding="utf-8")
    lines = ["recorded,lpa,loss"] + [f"{month}-15,\"{lpa}\",{loss}" for month, lpa, loss in rows]
    (folder / "crimes.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _paper(cli, folder, *extra, period: str = "2025-09") -> str:
    out = folder / "paper.md"
    result = cli(["--project", folder, "ingest", "crimes", folder / "crimes.csv"])
    assert result.exit_code == 0, result.output
    result = cli(["--project", folder, "export", "markdown", "--period", period,
                  "--output", out, *extra])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def _line(text: str, title: str) -> str:
    return next(line for line in text.splitlines() if f"**{title}.**" in line)


def test_parts_on_a_small_base_are_ranked_by_their_change_as_printed(tmp_path, cli):
    """Money lost in Aston rose by 2.44 and in Brierley by 2.36, both printed +2 and listed
    as a tie in the breakdown's own order (by name), Aston first, where the changes put
    Brierley first (a smaller rise, lower being better). Two changes that differ never read
    alike in a ranking (docs/guarantees.md): they print "+2.36" and "+2.44", in the order
    they stand; equal figures as printed would still come by name."""
    rows = [(month, "Aston", 0.0) for month in _months((2023, 4), 30)]
    comparison, current = _months((2023, 4), 12), _months((2024, 10), 12)
    for lpa, now in (("Brierley", 12.36), ("Aston", 12.44)):
        rows += [(comparison[0], lpa, 10.0), (current[0], lpa, now)]
    text = _paper(cli, _project(tmp_path, rows), "--full")
    line = _line(text, "Money lost")
    assert "on a base below 50, as numbers: Brierley (+2.36), Aston (+2.44)." in line, line


CALLS = """
[datasets.calls]
date = "received"
sources = ["calls.csv"]
[datasets.calls.columns]
received = "date"
answered = "str"

[[priorities]]
id = "service"
title = "Answering the Public"

[[kpis]]
id = "calls"
title = "Calls received"
priority = "crime"
kind = "count"
dataset = "calls"
better = "neutral"

[[kpis]]
id = "calls_answered"
title = "Calls answered"
priority = "crime"
kind = "count"
dataset = "calls"
filter = "answered = 'yes'"
better = "higher"

[[kpis]]
id = "calls_unanswered"
title = "Calls not answered"
priority = "service"
kind = "count"
dataset = "calls"
filter = "answered = 'no'"
better = "lower"

[[checks]]
id = "calls_sum"
title = "Calls answered and not answered add up to calls received"
total = "calls"
parts = ["calls_answered", "calls_unanswered"]
"""


def _one_year(folder, extra: str = "", large: int = 0):
    """Crimes in every month of 2025 only (Aston 30 a month), and `extra` added to kpi.toml;
    `large` of January's with a loss of 6, the rest 1."""
    rows = [(month, "Aston", 6.0 if month == "2025-01" and n < large else 1.0)
            for month in _months((2025, 1), 12) for n in range(30)]
    _project(folder, rows)
    toml = folder / "kpi.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return folder


def test_a_figure_with_nothing_to_compare_it_with_is_not_counted_as_without_data(tmp_path,
                                                                                   cli):
    """With a year of data, nothing reaches the plan baseline: the front page said "Of the 2
    KPIs reported: 2 without data" and each section "2 without data" above two paragraphs of
    figures. And each paragraph gave the engine's note, months as codes: "no comparison can
    be made: comparison year ending March 2024 is incomplete: no data for 2023-04, 2023-05,
    2023-06 ...", which Word broke over a line at "2023-" in the printed paper, nineteen
    times over in a force's paper."""
    text = _paper(cli, _one_year(tmp_path), period="2025-12")
    assert "without data" not in text
    assert "Of the 2 KPIs reported: 2 with a figure but nothing to compare it with." in text
    assert ("2.1. This section reports 2 KPIs under the priority Reducing Crime: 2 with a "
            "figure but nothing to compare it with.") in text
    # Why is said once, in the introduction, for both; each paragraph points there.
    assert ("Each KPI is compared with the baseline: the year ending March 2024 for flows and "
            "April 2024 for snapshots, unless the KPI declares its own baseline. No comparison "
            "can be made for 2 KPIs: the data held does not cover the year ending March 2024, "
            "with no data for April 2023, May 2023, June 2023 and other months.") in text
    assert ("2.2. **Total recorded crime.** The total recorded crime was 360 in the year ending "
            "December 2025; no comparison can be made (see 1.2).") in text
    assert text.count("no data for April 2023") == 1
    assert not re.search(r"\b20\d\d-\d\d\b", text.split("## Appendix")[0])


def test_kpis_with_no_figure_point_once_to_each_paragraph_and_a_check_not_made_is_no_failure(
        tmp_path, cli):
    """Three KPIs of a dataset not loaded, two reported in paragraph 2.4 and one in 3.2:
    the exception line gave "(2.4)" after each of them, and the check adding them up was
    listed under "Checks that failed" with its KPI ids and the engine's note, though no
    figures were there to add up."""
    text = _paper(cli, _one_year(tmp_path, CALLS), period="2025-12")
    front = text.split("## 1. Introduction")[0]
    assert ("- ○ **3 KPIs have no figure** (no calls data has been loaded yet): Calls "
            "received; Calls answered; Calls not answered. See 2.4 and 3.2.") in front
    assert "Checks that failed" not in front and "calls_sum" not in front
    assert ("1 check of the data could not be made, a figure it adds up having none this "
            "month: Calls answered and not answered add up to calls received.") in front
    assert "2.4. **2 KPIs without a figure.**" in text and "3.2. **Calls not answered.**" \
        in text


def test_a_check_failed_by_its_windows_is_not_said_to_fail_to_add_up(tmp_path, cli):
    """A part one month behind its total (`lag = 1`): the check fails because the two cover
    different windows, not because a sum was worked out and missed, and the heading said only
    "parts that should add up to their total and do not". It now says the other way too."""
    folder = _one_year(tmp_path, CALLS.replace('filter = "answered = \'no\'"\n',
                                               'filter = "answered = \'no\'"\nlag = 1\n'))
    calls = ["received,answered"] + [f"{month}-10,{answer}" for month in _months((2024, 1), 24)
                                     for answer in ("yes", "yes", "no")]
    (folder / "calls.csv").write_text("\n".join(calls) + "\n", encoding="utf-8")
    assert cli(["--project", folder, "ingest", "calls", folder / "calls.csv"]).exit_code == 0
    text = _paper(cli, folder, period="2025-12")
    front = text.split("## 1. Introduction")[0]
    assert ("**Checks that failed (1)**: parts that should add up to their total and do not, "
            "or that cover other months than their total.") in front
    assert ("Calls answered and not answered add up to calls received: the total and its "
            "parts cover different windows (year ending December 2025, year ending November "
            "2025)") in front


def test_a_priority_paper_lists_only_the_checks_of_its_kpis(tmp_path, cli):
    """A paper of one priority listed every reconciliation of the project: "Reducing Crime"'s
    paper listed, as its own failure, a check adding up three KPIs of "Answering the Public"
    alone. A check is that paper's when it adds up any of the paper's KPIs."""
    toml = (CALLS.replace('priority = "crime"', 'priority = "service"')
            .replace('filter = "answered = \'no\'"\n', 'filter = "answered = \'no\'"\nlag = 1\n'))
    folder = _one_year(tmp_path, toml)
    calls = ["received,answered"] + [f"{month}-10,{answer}" for month in _months((2024, 1), 24)
                                     for answer in ("yes", "yes", "no")]
    (folder / "calls.csv").write_text("\n".join(calls) + "\n", encoding="utf-8")
    assert cli(["--project", folder, "ingest", "calls", folder / "calls.csv"]).exit_code == 0
    crime = _paper(cli, folder, "--priority", "crime", period="2025-12").split(
        "## 1. Introduction")[0]
    service = _paper(cli, folder, "--priority", "service", period="2025-12").split(
        "## 1. Introduction")[0]
    whole = _paper(cli, folder, period="2025-12").split("## 1. Introduction")[0]
    title = "Calls answered and not answered add up to calls received"
    assert "Checks that failed" not in crime and title not in crime
    assert "**Checks that failed (1)**" in service and title in service
    assert "**Checks that failed (1)**" in whole and title in whole


def test_a_stale_source_says_how_far_short_of_the_period_it_is(tmp_path, cli):
    """Crimes to December 2025 and calls to June 2025 (a source stopped months before the
    period): the exception read "the source is stale: its latest data is for year ending
    June 2025" after a figure naming that window; it says how far the data falls short."""
    folder = _one_year(tmp_path, CALLS)
    calls = ["received,answered"] + [f"{month}-10,{answer}" for month in _months((2024, 1), 18)
                                     for answer in ("yes", "yes", "no")]
    (folder / "calls.csv").write_text("\n".join(calls) + "\n", encoding="utf-8")
    assert cli(["--project", folder, "ingest", "calls", folder / "calls.csv"]).exit_code == 0
    text = _paper(cli, folder, "--vs", "previous", period="2025-12")
    line = next(x for x in text.splitlines() if x.startswith("- ○ **Calls received**"))
    assert line == ("- ○ **Calls received**: 36 in the year ending June 2025, unchanged from "
                    "36 in the year ending May 2025; the source is stale: its data ends 6 "
                    "months before December 2025. See 2.4."), line


CHARTS = """
[[charts]]
id = "lpa_compare"
type = "compare"
title = "Crime by LPA"
kpis = ["total_crime"]
by = "lpa"

[[charts]]
id = "lpa_top"
type = "top"
title = "Highest 10 LPAs"
kpis = ["total_crime"]
by = "lpa"
"""


def test_rows_with_no_part_recorded_are_never_the_highest_part_and_a_long_breakdown_is_cut(
        tmp_path, cli):
    """Fourteen LPAs (LPA 1 with 1 crime a month up to LPA 14 with 14) and 20 crimes a month
    with no LPA recorded. Read printed, the three forces' paper said "the highest figures in
    the year ending December 2025 were not recorded (2,546), ...", its chart of the highest 10
    small areas led with them ("The largest is not recorded"), and its comparison chart of
    800 small areas drew a black block. The rows with no part are no part named; a
    comparison chart draws the 12 highest parts and says so."""
    rows = [(month, f"LPA {n}" if n else "", 1.0) for month in _months((2025, 1), 12)
            for n in range(15) for _ in range(n or 20)]
    folder = _project(tmp_path, rows)
    toml = folder / "kpi.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + CHARTS, encoding="utf-8")
    text = _paper(cli, folder, "--full", period="2025-12")
    line = _line(text, "Total recorded crime")
    assert ("By LPA, the highest figures in the year ending December 2025 were LPA 14 (168), "
            "LPA 13 (156), LPA 12 (144), LPA 11 (132), LPA 10 (120).") in line, line
    assert ("*Figure 1 – Crime by LPA. The 12 highest of 14 are drawn; the highest is LPA 14 "
            "(168).*") in text
    assert "*Figure 2 – Highest 10 LPAs. The largest is LPA 14 (168).*" in text
    assert "not recorded" not in text.split("## Appendix")[0]


def test_a_comparison_chart_draws_the_highest_parts_by_name():
    import polars as pl

    from kpi import paper

    frame = pl.DataFrame({"part": [None, *(f"P{n:02d}" for n in range(14))],
                          "current": [500.0, *(float(n % 7) for n in range(14))]})
    drawn, of = paper.compare_parts(frame)
    # The 12 highest named parts (ties by name), drawn by name; 14 named in all.
    assert of == 14 and drawn["part"].to_list() == [
        "P01", "P02", "P03", "P04", "P05", "P06", "P08", "P09", "P10", "P11", "P12", "P13"]
    few = frame.head(5)
    assert paper.compare_parts(few)[0]["part"].to_list() == ["P00", "P01", "P02", "P03", None]
    assert paper.compare_parts(few)[1] is None


LONG_NAME = ("The Office of the Police and Crime Commissioner for Warwickshire, West Mercia and "
             "Staffordshire: Joint Audit, Ethics and Performance Scrutiny Committee (Regional)")


def test_a_long_title_is_cut_in_the_running_header_never_the_marking(tmp_path, cli,
                                                                     office_profile):
    """A project named in 160 characters, marked OFFICIAL-SENSITIVE: printed by Chromium, the
    title wrapped in every page's header and squeezed the marking until it broke,
    "OFFICIAL-" over "SENSITIVE"; in Word it took two lines of every header. The header
    repeats the title cut at a word, with "…", on one line beside the whole marking, in
    both formats; the title block prints it whole."""
    from test_paper_formats import _chromium_pdf, _libreoffice_pdf, _pdf_words

    rows = [(month, "Aston", 1.0) for month in _months((2023, 4), 30) for _ in range(30)]
    folder = _project(tmp_path, rows, name=LONG_NAME)
    toml = folder / "kpi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        "[datasets.crimes]", '[paper]\nmarking = "OFFICIAL-SENSITIVE"\n\n[datasets.crimes]'),
        encoding="utf-8")
    assert cli(["--project", folder, "ingest", "crimes", folder / "crimes.csv"]).exit_code == 0
    cut = "The Office of the Police and Crime Commissioner for Warwickshire, West Mercia…"
    for kind in ("html", "docx"):
        out = tmp_path / f"paper.{kind}"
        result = cli(["--project", folder, "export", kind, "--period", "2025-09",
                      "--output", out])
        assert result.exit_code == 0, result.output
        if kind == "html":
            pdf = tmp_path / "paper.pdf"
            _chromium_pdf(out, pdf, tmp_path / "p")
        else:
            pdf = _libreoffice_pdf(out, tmp_path / kind, office_profile)
        text = _pdf_words(pdf)[0]
        pages = [p for p in text.split("\f") if p.strip()]
        assert len(pages) >= 2
        for page in pages:
            first = page.strip().splitlines()[0]
            assert cut in first and first.rstrip().endswith("OFFICIAL-SENSITIVE"), (kind, first)
        assert not re.search(r"OFFICIAL-\s*$", text, flags=re.MULTILINE), kind
        assert "Scrutiny Committee (Regional)" in " ".join(pages[0].split())


def test_a_charts_breakdown_axis_and_alt_text_name_the_column_as_the_text_does(tmp_path, cli):
    """police.uk's LSOA names column is labelled "small area (LSOA)": the text read "By small
    area (LSOA), ..." beside a chart whose axis said "Lsoa name" and whose alt text said "by
    lsoa name"."""
    import kpi
    from kpi import board, charts, paper
    from kpi.periods import Comparison, Month

    rows = [(month, f"LPA {n}", 1.0) for month in _months((2023, 4), 30) for n in range(3)]
    folder = _project(tmp_path, rows)
    toml = folder / "kpi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'lpa = "str"', 'lpa = { type = "str", label = "policing area" }') + CHARTS,
        encoding="utf-8")
    text = _paper(cli, folder, "--full")
    assert "By policing area, " in text
    model = board.build(kpi.open(folder).definition, Month.of(2025, 9), Comparison.BASELINE,
                        full=True)
    built = paper.build_paper(model)
    drawn = {f.spec.id: charts.drawn_figure(model.figures[f.spec.id]) for f in built.figures}
    assert {i: f.axes[0].get_ylabel() for i, f in drawn.items()} == {
        "lpa_compare": "Policing area", "lpa_top": "Policing area"}
    html = tmp_path / "paper.html"
    assert cli(["--project", folder, "export", "html", "--period", "2025-09", "--output",
                html]).exit_code == 0
    alts = re.findall(r'alt="([^"]*)"', html.read_text(encoding="utf-8"))
    assert any(a.startswith("Bar chart of the largest parts by policing area: ") for a in alts)
    assert not [a for a in alts if re.search(r"(parts|windows) by lpa", a.lower())], alts


def test_an_exception_with_nothing_to_compare_says_what_its_months_show(tmp_path, cli):
    """A year of data whose last seven months run above the first five: total crime is an
    exception for what its months show, and the front page said so, but its own paragraph
    said only "no comparison can be made"; what the process chart shows is said there too,
    as the paragraph of a KPI with a comparison says it."""
    counts = [20, 22, 19, 21, 20, 30, 31, 29, 32, 30, 31, 30]
    rows = [(month, "Aston", 1.0) for month, count in zip(_months((2025, 1), 12), counts,
                                                           strict=True) for _ in range(count)]
    text = _paper(cli, _project(tmp_path, rows), period="2025-12")
    front = text.split("## 1. Introduction")[0]
    line = _line(text, "Total recorded crime")
    assert ("- ▲ **Total recorded crime**: 315 in the year ending December 2025; a special "
            "cause of concern (two of three months close to the upper process limit). See "
            "2.2.") in front
    assert line.endswith("no comparison can be made (see 1.2). The monthly figures show a "
                         "special cause of concern (two of three months close to the upper "
                         "process limit). See Figure 1."), line


def test_a_chart_may_break_a_kpi_down_by_a_derived_column(tmp_path, cli):
    """police.uk's local authority is derived from the LSOA name, and a KPI's breakdowns
    take it, but a chart of it was refused: "'local_authority' is not a column of dataset
    'street'" (exit 3, no paper)."""
    rows = [(month, lpa, 1.0) for month in _months((2023, 4), 30)
            for lpa, n in (("Aston North", 3), ("Aston South", 2), ("Brierley", 4))
            for _ in range(n)]
    folder = _project(tmp_path, rows)
    toml = folder / "kpi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        "[[priorities]]", "[datasets.crimes.derived]\ndistrict = \"regexp_replace(lpa, "
        "' (North|South)$', '')\"\n\n[[priorities]]", 1) + CHARTS.replace(
        'by = "lpa"', 'by = "district"').replace("Crime by LPA", "Crime by district"),
        encoding="utf-8")
    text = _paper(cli, folder)
    # Aston North and South together (5 a month) against Brierley (4 a month).
    assert [x for x in text.splitlines() if x.startswith("*Figure")] == [
        "*Figure 1 – Crime by district. Highest Aston (60), lowest Brierley (48).*",
        "*Figure 2 – Highest 10 LPAs. The largest is Aston (60).*"]


SHARE = """
[[kpis]]
id = "large_loss_share"
title = "Crimes with a large loss"
priority = "crime"
kind = "rate"
dataset = "crimes"
numerator = "loss > 5"
better = "lower"
provisional_months = 3
"""


def test_months_not_final_name_no_process_chart_or_test_the_kpi_does_not_have(tmp_path, cli):
    """A share whose last 11 months are not final, over a year of data: its paragraph said
    "the process chart leaves them out, and so does any test of the change", of a KPI with
    no comparison and too few settled months for a process chart (one, the matrix's row "No
    process chart"). With its last 3 not final, its 9 months before them give trial limits
    (docs/statistics.md), and the chart it has leaves them out."""
    folder = _one_year(tmp_path, SHARE.replace("provisional_months = 3",
                                               "provisional_months = 11"))
    text = _paper(cli, folder, period="2025-12")
    line = _line(text, "Crimes with a large loss")
    assert line.endswith("The figures of the last 11 months (February to December 2025) are "
                         "not final yet and will change as records are updated: the 12-month "
                         "figure includes them."), line
    rows = next(x for x in text.splitlines() if x.startswith("- **No process chart"))
    assert "Crimes with a large loss" in rows
    (tmp_path / "three").mkdir()
    # (one large loss in January: a share of 0.0% every month has no process limits)
    charted = _line(_paper(cli, _one_year(tmp_path / "three", SHARE, large=1),
                           period="2025-12"), "Crimes with a large loss")
    assert charted.endswith("The figures of the last 3 months (October to December 2025) are "
                            "not final yet and will change as records are updated: the "
                            "12-month figure includes them; the process chart leaves them "
                            "out."), charted


def test_one_month_not_final_is_the_last_month(tmp_path, cli):
    """"The figures of the last 1 months (December 2025)" read as a slip."""
    folder = _one_year(tmp_path, SHARE.replace("provisional_months = 3",
                                               "provisional_months = 1"))
    line = _line(_paper(cli, folder, period="2025-12"), "Crimes with a large loss")
    assert ("The figures of the last month (December 2025) are not final yet and will change "
            "as records are updated: the 12-month figure includes them") in line, line


def test_the_full_papers_section_of_kpis_without_a_figure_has_no_table_of_blanks(tmp_path,
                                                                                 cli):
    """The technical annex of a project whose calls are not loaded: the section of calls
    printed a summary table whose every row read "no data | n/a | not tested | no chart | no
    target" above the paragraph saying why none has a figure. A section with a figure keeps
    its table."""
    text = _paper(cli, _one_year(tmp_path, CALLS.replace('priority = "crime"',
                                                         'priority = "service"')),
                  "--full", period="2025-12")
    crime = text.split("## 2. Reducing Crime\n")[1].split("\n## ")[0]
    service = text.split("## 3. Answering the Public\n")[1].split("\n## ")[0]
    assert "*Summary – Reducing Crime*" in crime
    assert "Summary –" not in service and "| no data |" not in service
    assert ("3.2. **3 KPIs without a figure.** No figure can be reported for them (no calls "
            "data has been loaded yet): Calls received; Calls answered; Calls not "
            "answered.") in service


def test_a_kpi_with_no_comparison_reads_no_comparison_in_the_significance_column(tmp_path,
                                                                                  cli):
    """With a year of data, nothing reaches the plan baseline: the full paper's summary
    table said "not tested" in the Significant column, as if a change had been found and no
    test applied to it. There is no change to test: "no comparison", the words the section
    tallies use. The Change column said "n/a"; it says why there is none in the same words
    (engine.no_change), as the summary's table, CSV, workbook and JSON do."""
    text = _paper(cli, _one_year(tmp_path), "--full", period="2025-12")
    body = text.split("## Appendix")[0]
    rows = [line for line in body.splitlines() if line.startswith("| Total recorded crime |")
            or line.startswith("| Money lost |")]
    # (30 a month every month: no process limits, so no chart verdict)
    assert rows == ["| Total recorded crime | 360 | no comparison | no comparison | no chart | "
                    "no target |",
                    "| Money lost | 360 | no comparison | no comparison | no chart | "
                    "no target |"]


def _charted(tmp_path, cli, parts: dict[str, int]) -> list[str]:
    """The figure captions of a paper of 30 months in which each part of `parts` records
    its number of crimes a month, with the comparison and top charts of CHARTS."""
    rows = [(month, lpa, 1.0) for month in _months((2023, 4), 30)
            for lpa, n in parts.items() for _ in range(n)]
    tmp_path.mkdir(exist_ok=True)
    folder = _project(tmp_path, rows)
    toml = folder / "kpi.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + CHARTS, encoding="utf-8")
    text = _paper(cli, folder)
    return [line for line in text.splitlines() if line.startswith("*Figure")]


def test_a_caption_says_parts_are_equal_never_one_part_highest_and_lowest(tmp_path, cli):
    """Three LPAs of 3 crimes a month each: the caption read "Highest Aston (36), lowest
    Aston (36)" and the top chart's "The largest is Aston (36)", one part named the highest
    and the lowest of three equal ones."""
    assert _charted(tmp_path, cli, {"Aston": 3, "Brierley": 3, "Coleshill": 3}) == [
        "*Figure 1 – Crime by LPA. All 3 parts are equal (36 each).*",
        "*Figure 2 – Highest 10 LPAs. All 3 parts are equal (36 each).*"]


def test_a_caption_of_one_part_and_of_a_shared_highest_names_no_one_part_the_highest(
        tmp_path, cli):
    """One LPA: "Highest Aston (36), lowest Aston (36)". Two LPAs sharing the highest
    figure above a third: "Highest Aston (36)" and "The largest is Aston (36)", Brierley's
    36 as large; two sharing the lowest: "lowest Brierley (12)", Coleshill's as low."""
    assert _charted(tmp_path / "one", cli, {"Aston": 3}) == [
        "*Figure 1 – Crime by LPA. Only Aston (36).*",
        "*Figure 2 – Highest 10 LPAs. Only Aston (36).*"]
    assert _charted(tmp_path / "shared", cli, {"Aston": 3, "Brierley": 3, "Coleshill": 1}) == [
        "*Figure 1 – Crime by LPA. Highest 36 (2 parts), lowest Coleshill (12).*",
        "*Figure 2 – Highest 10 LPAs. The largest, 36, is shared by 2 parts.*"]
    assert _charted(tmp_path / "low", cli, {"Aston": 3, "Brierley": 1, "Coleshill": 1}) == [
        "*Figure 1 – Crime by LPA. Highest Aston (36), lowest 12 (2 parts).*",
        "*Figure 2 – Highest 10 LPAs. The largest is Aston (36).*"]


SHARES = """
[[kpis]]
id = "lost_share"
title = "Share with a loss"
priority = "crime"
kind = "rate"
dataset = "crimes"
numerator = "loss > 0"
better = "lower"
decimals = 2
breakdowns = ["lpa"]

[[kpis]]
id = "lost_share_whole"
title = "Whole share with a loss"
priority = "crime"
kind = "rate"
dataset = "crimes"
numerator = "loss > 0"
better = "lower"
decimals = 0
breakdowns = ["lpa"]
"""


def test_a_ranking_prints_points_to_the_kpis_decimals(tmp_path, cli):
    """North's share went from 1 in 3 (33.333...%) to 1 in 4 (25%), -8.333...pp; South's from
    1 in 2 to 3 in 8, -12.5pp. The ranking printed them to one decimal (-8.3pp, -12.5pp) where
    the rest of the paper prints the KPI's decimals: -8.33pp and -12.50pp with two, -8pp and
    -13pp with none."""
    rows = []
    for month in _months((2023, 4), 30):
        after = month >= "2024-10"
        for lpa, (hits, of) in (("North", (1, 4) if after else (1, 3)),
                                ("South", (3, 8) if after else (1, 2))):
            rows += [(month, lpa, 1.0 if i < hits else 0.0) for i in range(of)]
    folder = _project(tmp_path, rows)
    with open(folder / "kpi.toml", "a", encoding="utf-8") as toml:
        toml.write(SHARES)
    text = _paper(cli, folder, "--full").replace("\\", "")
    assert ("By LPA, the change in percentage points, best first: South (\u221212.50pp), "
            "North (\u22128.33pp).") in _line(text, "Share with a loss")
    assert ("By LPA, the change in percentage points, best first: South (\u221213pp), "
            "North (\u22128pp).") in _line(text, "Whole share with a loss")
