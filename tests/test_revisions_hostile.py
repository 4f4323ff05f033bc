"""kpi export --previous misused as an analyst under deadline would: a KPI redefined between
the two papers, a previous paper of a later month, a figures file edited by hand, one of an
older kpi, a KPI removed or hidden since. A changed definition is not a revision of the data,
and the "then" figure printed is the last paper's own."""

from __future__ import annotations

import copy
import json
import shutil
import time
from datetime import UTC, datetime

import pytest
from fixtures.paper_project import load_paper_project


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A project with its data loaded, and its first paper's figures file (September 2025)."""
    from typer.testing import CliRunner

    from kpi.cli import app

    folder = tmp_path_factory.mktemp("revisions")
    load_paper_project(folder)
    out = tmp_path_factory.mktemp("last") / "first.md"
    result = CliRunner().invoke(app, ["--project", str(folder), "export", "markdown",
                                      "--period", "2025-09", "--output", str(out)])
    assert result.exit_code == 0, result.output
    return folder, json.loads((out.parent / "first.figures.json").read_text(encoding="utf-8"))


def _copy(loaded, tmp_path, edit=None):
    """The project copied, its kpi.toml edited by `edit(text) -> text`."""
    folder = tmp_path / "project"
    shutil.copytree(loaded[0], folder)
    if edit is not None:
        toml = folder / "kpi.toml"
        before = toml.read_text(encoding="utf-8")
        after = edit(before)
        assert after != before
        toml.write_text(after, encoding="utf-8")
    return folder


def _export(cli, folder, tmp_path, doc, period="2025-09"):
    previous = tmp_path / "last.figures.json"
    previous.write_text(json.dumps(doc), encoding="utf-8")
    out = tmp_path / "board.md"
    result = cli(["--project", folder, "export", "markdown", "--period", period,
                  "--output", out, "--previous", previous])
    return result, previous, out


def _appendix(out) -> str:
    text = out.read_text(encoding="utf-8")
    return text.split("Figures revised since the last paper\n")[1].split("\n## ")[0]


CRIME = 'id = "total_crime"\ntitle = "Total recorded crime"\n'


OUTCOMES = "filter = \"offence = 'violence' AND outcome IN ('OC1', 'OC2', 'OC3', 'OC8')\""


@pytest.mark.parametrize("edit, title", [
    # total_crime printed "366" last time; shown to one decimal now, it reads "366.0".
    (lambda t: t.replace(CRIME, CRIME + "decimals = 1\n"), "Total recorded crime"),
    # Positive outcomes counted without OC8 now.
    (lambda t: t.replace(OUTCOMES, OUTCOMES.replace(", 'OC8'", "")),
     "Positive outcomes for violent offences"),
])
def test_a_kpi_redefined_since_is_named_not_listed_as_revised(loaded, tmp_path, cli, edit,
                                                              title):
    """The data did not change, the definition did: that was listed as a revised figure
    (366 then, 366.0 now), telling the board the records moved."""
    folder = _copy(loaded, tmp_path, edit)
    result, _, out = _export(cli, folder, tmp_path, loaded[1])
    assert result.exit_code == 0, result.output
    appendix = _appendix(out)
    assert f"| {title} |" not in appendix
    assert ("No KPI or breakdown figure printed in the paper for September 2025 has been "
            "revised since." in appendix)
    assert ("1 KPI(s) redefined since the last paper (their filter, kind, rounding or other "
            f"definition changed), so their figures are not compared with it: {title}.") \
        in appendix


def test_a_kpi_only_retitled_is_still_compared(loaded, tmp_path, cli):
    """The wording of a KPI is not its definition: renamed, it is compared as before, and a
    figure revised by hand in its data would be listed (here: nothing moved)."""
    folder = _copy(loaded, tmp_path, lambda t: t.replace(
        CRIME, 'id = "total_crime"\ntitle = "All recorded crime"\n'))
    result, _, out = _export(cli, folder, tmp_path, loaded[1])
    assert result.exit_code == 0, result.output
    appendix = _appendix(out)
    assert "has been revised since." in appendix and "redefined" not in appendix


def test_a_figure_edited_by_hand_is_refused_not_printed_as_the_last_papers(loaded, tmp_path,
                                                                           cli):
    """A "then" figure typed over in the file (366 made 400) was printed as what the last
    paper said. Its value, kept at full precision beside it, prints as 366."""
    doc = copy.deepcopy(loaded[1])
    number = next(n for n, f in enumerate(doc["figures"], start=1)
                  if f["kpi"] == "total_crime" and f["role"] == "current")
    doc["figures"][number - 1]["shown"] = "400"
    result, previous, out = _export(cli, loaded[0], tmp_path, doc)
    assert result.exit_code == 3, result.output
    assert result.stderr.splitlines()[0] == (
        f"Error: {previous}: figure {number} (total_crime, YE 2025-09): shown as \"400\", "
        "but its value 366 prints as \"366\": the file was edited since kpi wrote it")
    assert not out.exists()


def test_a_revised_figure_is_listed_with_the_last_papers_value(loaded, tmp_path, cli):
    """The value and the figure shown both as the last paper wrote them (as if the data held
    34 more crimes then): listed, 400 then and 366 now."""
    doc = copy.deepcopy(loaded[1])
    for figure in doc["figures"]:
        if figure["kpi"] == "total_crime" and figure["role"] == "current":
            assert figure["value"] == 366
            figure.update(value=400, shown="400")
    result, _, out = _export(cli, loaded[0], tmp_path, doc)
    assert result.exit_code == 0, result.output
    assert "| Total recorded crime | year ending September 2025 | 400 | 366 |" in _appendix(out)


def test_a_previous_paper_of_a_later_month_is_refused(loaded, tmp_path, cli):
    """The September paper passed as the last paper of an August one: its figures, of
    windows August's paper never printed, were listed as "revised since"."""
    result, previous, out = _export(cli, loaded[0], tmp_path, loaded[1], period="2025-08")
    assert result.exit_code == 3, result.output
    assert result.stderr.splitlines()[0] == (
        f"Error: {previous}: the figures of the paper for September 2025, later than this "
        "paper's month (August 2025), so none was printed before it")
    assert not out.exists()


def test_kpis_removed_or_hidden_since_are_said_not_dropped(loaded, tmp_path, cli):
    folder = _copy(loaded, tmp_path, lambda t: t.replace(CRIME, CRIME + "hidden = true\n"))
    result, _, out = _export(cli, folder, tmp_path, loaded[1])
    assert result.exit_code == 0, result.output
    assert ("1 KPI(s) in the last paper but no longer reported, so not compared: Total "
            "recorded crime.") in _appendix(out)


def test_a_file_of_an_older_kpi_says_a_redefinition_cannot_be_told(loaded, tmp_path, cli):
    doc = copy.deepcopy(loaded[1])
    for figure in doc["figures"]:
        del figure["definition"]
    result, _, out = _export(cli, loaded[0], tmp_path, doc)
    assert result.exit_code == 0, result.output
    appendix = _appendix(out)
    assert "has been revised since." in appendix
    assert ("The last paper's figures file does not record the KPIs' definitions (an older "
            "kpi wrote it), so a figure of a KPI redefined since reads here as revised."
            in appendix)


@pytest.mark.parametrize("recount", [False, True])
def test_figures_deleted_by_hand_are_refused_not_left_out_of_the_appendix(loaded, tmp_path,
                                                                          cli, recount):
    """Total recorded crime's two figures deleted from the file (its "count" made to agree,
    or not): the appendix compared the figures left and said nothing of those deleted, so a
    revision of them went unreported. The file records which figures kpi wrote."""
    doc = copy.deepcopy(loaded[1])
    kept = [f for f in doc["figures"] if f["kpi"] != "total_crime"]
    # the KPIs' own figures, those quoted and the parts' of their breakdowns printed
    others = len(doc["quoted"]) + len(doc["parts"])
    assert len(doc["figures"]) - len(kept) == 2 and doc["count"] == len(doc["figures"]) + others
    doc["figures"] = kept
    if recount:
        doc["count"] = len(kept) + others
    result, previous, out = _export(cli, loaded[0], tmp_path, doc)
    assert result.exit_code == 3, result.output
    first = result.stderr.splitlines()[0]
    if recount:
        assert first == (f"Error: {previous}: the figures it lists are not the ones kpi wrote "
                         "(its \"printed\" digest): figures were deleted, added or renamed "
                         "since kpi wrote it, and the appendix of revisions would leave them "
                         "out")
    else:
        assert first == (f"Error: {previous}: it lists {len(kept) + others} figure(s), but kpi "
                         f"wrote {len(kept) + others + 2} (its \"count\"): figures were deleted "
                         "since kpi wrote it, and the appendix of revisions would leave them "
                         "out")
    assert not out.exists()


def test_a_file_whose_figures_are_all_there_is_read_in_any_order(loaded, tmp_path, cli):
    """The check is of which figures were printed, not of their order or their values (a
    value edited by hand has its own check above)."""
    doc = copy.deepcopy(loaded[1])
    doc["figures"].reverse()
    result, _, out = _export(cli, loaded[0], tmp_path, doc)
    assert result.exit_code == 0, result.output
    assert "has been revised since." in _appendix(out)


def test_a_figure_near_its_target_printed_by_an_older_kpi_is_read(loaded, tmp_path):
    """A figure beside its target prints to the places that show its verdict (89.96%, where
    kpi printed 90.0% before): a figures file written by the older kpi, its figure printed to
    the KPI's own places, is last month's paper as kpi wrote it, read, not refused as edited;
    a figure typed over is still refused."""
    import kpi
    from kpi import render, revisions
    from kpi.errors import DataError

    folder = _copy(loaded, tmp_path, lambda t: t.replace(
        'id = "violence_outcome_rate"\n', 'id = "violence_outcome_rate"\ntarget = 90\n'))
    project = kpi.open(folder).definition
    k = project.known_kpi("violence_outcome_rate")
    doc = copy.deepcopy(loaded[1])
    item = next(f for f in doc["figures"] if f["kpi"] == "violence_outcome_rate")
    item["definition"] = revisions.definition(project, k)
    item["value"] = 89.96
    assert render.number(89.96, k) == "89.96%"  # as kpi prints it now, beside its target
    previous = tmp_path / "older.figures.json"
    for shown, read in (("90.0%", True), ("89.96%", True), ("91.0%", False)):
        item["shown"] = shown
        previous.write_text(json.dumps(doc), encoding="utf-8")
        if read:
            assert revisions.load(previous, project)["figures"]
        else:
            with pytest.raises(DataError, match="edited since kpi wrote it"):
                revisions.load(previous, project)


HARM = """
[[kpis]]
id = "harm"
title = "Crime harm"
priority = "violence"
kind = "weighted_score"
dataset = "crimes"
weights = "weights.csv"
weight_key = "offence"
better = "lower"
"""


@pytest.fixture(scope="module")
def weighted(loaded, tmp_path_factory):
    """The project with a crime harm score added, and its paper's figures file."""
    from typer.testing import CliRunner

    from kpi.cli import app

    folder = tmp_path_factory.mktemp("weighted") / "project"
    shutil.copytree(loaded[0], folder)
    with (folder / "kpi.toml").open("a", encoding="utf-8") as toml:
        toml.write(HARM)
    (folder / "weights.csv").write_text("offence,days\nviolence,10\nhomicide,5000\n",
                                        encoding="utf-8")
    out = tmp_path_factory.mktemp("last-weighted") / "first.md"
    result = CliRunner().invoke(app, ["--project", str(folder), "export", "markdown",
                                      "--period", "2025-09", "--output", str(out)])
    assert result.exit_code == 0, result.output
    return folder, json.loads((out.parent / "first.figures.json").read_text(encoding="utf-8"))


def _baseline_moved(folder):
    toml = folder / "kpi.toml"
    text = toml.read_text(encoding="utf-8")
    assert text.count('baseline = "2024-03"\n') == 1
    toml.write_text(text.replace('baseline = "2024-03"\n', 'baseline = "2024-06"\n'),
                    encoding="utf-8")


def _weight_edited(folder):
    (folder / "weights.csv").write_text("offence,days\nviolence,12\nhomicide,5000\n",
                                        encoding="utf-8")


@pytest.mark.parametrize("edit", [_baseline_moved, _weight_edited])
def test_a_figure_moved_by_the_project_not_the_data_is_not_listed_as_revised(
        weighted, tmp_path, cli, edit):
    """Not one table was loaded again between the two papers, so no figure can have been
    revised: every figure the appendix lists as revised is the definition's doing. With the
    project's baseline moved from March to June 2024, every comparison figure of a KPI with
    no baseline of its own read as revised to "no figure"; with a weight edited, the harm
    score's figures read as revised. Each KPI they moved is named as redefined instead."""
    import kpi

    folder = tmp_path / "project"
    shutil.copytree(weighted[0], folder)
    edit(folder)
    result, _, out = _export(cli, folder, tmp_path, weighted[1])
    assert result.exit_code == 0, result.output
    appendix = _appendix(out)
    assert "| Last paper | Now |" not in appendix, appendix
    assert ("No KPI or breakdown figure printed in the paper for September 2025 has been "
            "revised since." in appendix)
    project = kpi.open(folder).definition
    # The KPIs of the last paper the edit moved: those with no baseline of their own, or
    # the weighted one.
    # (a hidden KPI whose parts a figure draws among them: Outcomes assigned)
    printed = {f["kpi"] for f in weighted[1]["figures"] + weighted[1]["parts"]}
    moved = [k for k in project.kpis if k.id in printed and (
        k.baseline is None if edit is _baseline_moved else k.weights)]
    assert len(moved) == (len(printed) if edit is _baseline_moved else 1)
    assert f"\n\n{len(moved)} KPI(s) redefined since the last paper" in appendix
    assert "Crime harm" in appendix
    # The front page does not say that none of those figures changed: they were not compared.
    paper = out.read_text(encoding="utf-8")
    assert "figures printed last time has changed" not in paper
    assert (f"Figures revised since the last paper: 0 among the KPIs compared; {len(moved)} "
            "KPI(s) redefined or no longer reported since were not compared (Appendix ") in paper


@pytest.mark.parametrize("written", ["legacy", "earlier"])
def test_a_file_of_the_kpi_before_the_baseline_was_in_the_digest_is_not_redefined(
        weighted, tmp_path, cli, written):
    """Last month's figures file, written before the project's baseline and the weights were
    in the digest ("legacy"), or before the reading of a KPI's dataset was ("earlier": its
    every derived column, no `replace_by`), is read as before: no KPI named as redefined for
    it."""
    import kpi
    from kpi import revisions

    project = kpi.open(weighted[0]).definition
    doc = copy.deepcopy(weighted[1])
    for figure in doc["figures"] + doc["parts"]:
        now = figure["definition"]
        figure["definition"] = revisions.definition(project, project.known_kpi(figure["kpi"]),
                                                    written=written)
        assert figure["definition"] != now
    result, _, out = _export(cli, weighted[0], tmp_path, doc)
    assert result.exit_code == 0, result.output
    appendix = _appendix(out)
    assert "has been revised since." in appendix and "redefined" not in appendix


def test_a_paper_as_of_before_the_last_papers_data_is_refused_not_listed_as_revised(
        loaded, tmp_path, cli):
    """The last paper read crimes at version 1 (September reloaded with 19 of its 29 rows);
    a paper `--as-of 0` with that paper's figures as `--previous` listed "Figures revised
    since the last paper: 18" (total crime 356 then, 366 now, "records are revised after a
    paper is written"), exit 0: those are the loads made before the last paper, read going
    back in time, not revisions since it. It is refused (exit 2), nothing written, and so is
    an as-of version the other datasets never reached (their figures listed as revised to
    "no figure"); an as-of at the last paper's versions still compares."""
    import kpi

    folder = _copy(loaded, tmp_path)
    crimes = (folder / "extracts" / "crimes.csv").read_text(encoding="utf-8").splitlines()
    september = [line for line in crimes[1:] if ",2025-09-" in line]
    assert len(september) == 29
    shrunk = tmp_path / "september.csv"
    shrunk.write_text("\n".join([crimes[0], *september[:19]]) + "\n", encoding="utf-8")
    result = cli(["--project", folder, "ingest", "crimes", shrunk, "--allow-shrink"])
    assert result.exit_code == 0, result.output
    last = tmp_path / "last" / "board.md"
    assert cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                "--output", last]).exit_code == 0
    previous = last.parent / "board.figures.json"
    assert json.loads(previous.read_text(encoding="utf-8"))["versions"]["crimes"] == 1
    out = tmp_path / "then.md"
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                  "--as-of", "0", "--previous", previous, "--output", out])
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[0] == (
        "Error: --as-of 0 reads dataset 'crimes' at version 0, before version 1 that the last "
        "paper (--previous) read: their differences are loads made before that paper, not "
        "revisions since it")
    assert not out.exists()
    with pytest.raises(kpi.errors.UsageError, match=r"^as_of='0' reads dataset 'crimes'"):
        kpi.open(folder).paper("2025-09", "markdown", tmp_path / "py.md", as_of="0",
                               previous=previous)
    # A version the other datasets never reached reads none of them: their figures would
    # have been listed as revised to "no figure" (workforce's headcount 64 then).
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                  "--as-of", "1", "--previous", previous, "--output", out])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: --as-of 1 reads no version of dataset "), \
        result.output
    # As of now, every dataset at the last paper's version: nothing revised, and said so.
    time.sleep(1.1)  # a time to the second after the last load's commit
    now = datetime.now(UTC).isoformat(timespec="seconds")
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                  "--as-of", now, "--previous", previous, "--output", out])
    assert result.exit_code == 0, result.output
    assert "has been revised since" in _appendix(out)


_SMALL = """\
[project]
name = "Revisions window"
baseline = "2024-03"

[datasets.inc]
date = "date"
[datasets.inc.columns]
date = "date"
minutes = "float"

[[priorities]]
id = "p"
title = "Priority"

[[kpis]]
id = "count"
title = "Incidents"
priority = "p"
dataset = "inc"
kind = "count"
better = "lower"

[[kpis]]
id = "lagged"
title = "Incidents lagged"
priority = "p"
dataset = "inc"
kind = "count"
better = "lower"
lag = 2

[[kpis]]
id = "avg"
title = "Mean minutes"
priority = "p"
dataset = "inc"
kind = "mean"
value = "minutes"
better = "lower"
decimals = 1
"""


def _incidents(path, months: dict[str, int]) -> None:
    """`months` ('2025-08' -> n): n rows dated the 3rd of each month, n minutes each."""
    lines = ["date,minutes"]
    for month, n in months.items():
        lines += [f"{month}-03,{n}"] * n
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _months(first: tuple[int, int], last: tuple[int, int]) -> list[str]:
    (y, m), out = first, []
    while (y, m) <= last:
        out.append(f"{y}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def test_a_window_moved_by_a_month_loaded_since_is_no_revision(tmp_path, cli):
    """The last paper for September 2025 was written before September was loaded: its
    incidents' figures were of the year ending August 2025 (stale). September loaded, the
    same export with --previous listed "Incidents, year ending August 2025: 308 then, no
    figure now" (and the mean), exit 0, where no record of that year changed: the figures
    were recomputed for the windows September's paper now gets, not the windows printed. A
    month revised since is still listed, with its figures counted by hand."""
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "kpi.toml").write_text(_SMALL, encoding="utf-8")
    # 2023-01 .. 2025-08: month i (from 0) holds 10 + i % 5 rows, each of 10 + i % 5 minutes
    held = {m: 10 + i % 5 for i, m in enumerate(_months((2023, 1), (2025, 8)))}
    _incidents(tmp_path / "to-august.csv", held)
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "to-august.csv"]).exit_code == 0
    first = tmp_path / "last" / "board.md"
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                  "--output", first])
    assert result.exit_code == 0, result.output
    last = json.loads(first.with_suffix(".figures.json").read_text(encoding="utf-8"))
    windows = {(f["kpi"], f["role"]): f["window"] for f in last["figures"]}
    assert windows[("count", "current")] == "YE 2025-08"  # stale: September not loaded yet
    assert windows[("lagged", "current")] == "YE 2025-07"

    _incidents(tmp_path / "september.csv", {"2025-09": 40})
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "september.csv"]).exit_code == 0
    out = tmp_path / "board.md"
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                  "--output", out, "--previous", first.with_suffix(".figures.json")])
    assert result.exit_code == 0, result.output
    assert _appendix(out).strip() == ("No KPI or breakdown figure printed in the paper for "
                                      "September 2025 has been revised since.")
    assert "Figures revised since the last paper: 0 " in out.read_text(encoding="utf-8")

    # June 2025 revised (its 10 + 29 % 5 = 14 rows of 14 minutes now 20 rows of 14 minutes),
    # and a paper for October (whose windows moved again) compared with September's
    _incidents(tmp_path / "june.csv", {"2025-06": 14})
    text = (tmp_path / "june.csv").read_text(encoding="utf-8")
    (tmp_path / "june.csv").write_text(text + "2025-06-03,14\n" * 6, encoding="utf-8")
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "june.csv"]).exit_code == 0
    out = tmp_path / "october.md"
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-10",
                  "--output", out, "--previous", first.with_suffix(".figures.json")])
    assert result.exit_code == 0, result.output
    year = _months((2024, 9), (2025, 8))
    count_then = sum(held[m] for m in year)
    lagged_then = sum(held[m] for m in _months((2024, 8), (2025, 7)))
    mean_then = sum(held[m] ** 2 for m in year) / count_then
    mean_now = (sum(held[m] ** 2 for m in year) + 6 * 14) / (count_then + 6)
    rows = {tuple(c.strip() for c in line.strip("|").split("|"))
            for line in _appendix(out).splitlines() if line.startswith("| Incidents")
            or line.startswith("| Mean")}
    assert rows == {
        ("Incidents", "year ending August 2025", f"{count_then:,}", f"{count_then + 6:,}"),
        ("Incidents lagged", "year ending July 2025", f"{lagged_then:,}",
         f"{lagged_then + 6:,}"),
        ("Mean minutes", "year ending August 2025",
         next(f["shown"] for f in last["figures"] if f["kpi"] == "avg"
              and f["role"] == "current"), f"{mean_now:.1f}"),
    }, _appendix(out)
    assert f"{mean_then:.1f}" != f"{mean_now:.1f}"


def test_the_last_paper_of_another_project_of_the_same_name_is_refused(tmp_path, cli):
    """Two projects of one name and the same KPIs (two forces' projects made from one preset,
    or a kpi.toml copied): the first's paper given to the second as --previous was read as
    its last paper, exit 0, and every figure listed as revised (Incidents 120 then, 300
    now), though no record of the second project was revised. Its datasets are other tables,
    which the figures file now records (`origins`), so it is refused in one line, exit 3;
    the project's own last paper is read as before, after a load, a restore or a copy of the
    project folder."""
    from deltalake import DeltaTable

    folders = []
    for name, per_month in (("one", 10), ("two", 25)):
        folder = tmp_path / name
        (folder / "data").mkdir(parents=True)
        (folder / "kpi.toml").write_text(_SMALL, encoding="utf-8")
        _incidents(tmp_path / f"{name}.csv", {m: per_month for m in _months((2023, 1),
                                                                            (2025, 9))})
        assert cli(["--project", folder, "ingest", "inc", tmp_path / f"{name}.csv"]
                   ).exit_code == 0
        folders.append(folder)
    last = tmp_path / "last" / "board.md"
    assert cli(["--project", folders[0], "export", "markdown", "--period", "2025-09",
                "--output", last]).exit_code == 0
    figures = last.with_suffix(".figures.json")
    out = tmp_path / "board.md"
    result = cli(["--project", folders[1], "export", "markdown", "--period", "2025-09",
                  "--output", out, "--previous", figures])
    assert result.exit_code == 3, result.output
    assert result.stderr.splitlines()[0] == (
        f"Error: {figures}: the figures of another table of dataset 'inc' than this "
        "project's (another project's of the same name, or this one's deleted and loaded "
        "anew since): they cannot be compared with this project's data")
    assert "Traceback" not in result.output and not out.exists()

    # the project's own: loaded again, restored, and copied whole, it is still the same
    _incidents(tmp_path / "june.csv", {"2025-06": 11})
    assert cli(["--project", folders[0], "ingest", "inc", tmp_path / "june.csv"]).exit_code == 0
    DeltaTable(str(folders[0] / "data" / "inc")).restore(0)
    copied = tmp_path / "copied"
    shutil.copytree(folders[0], copied)
    for folder in (folders[0], copied):
        result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                      "--output", out, "--previous", figures])
        assert result.exit_code == 0, result.output
        assert "has been revised since." in _appendix(out)


_BY_LPA = _SMALL.replace('kind = "count"\n', 'kind = "count"\nbreakdowns = ["lpa"]\n', 1).replace(
    'minutes = "float"\n', 'minutes = "float"\nlpa = "str"\n', 1)


def _by_lpa(path, months, **parts: int) -> None:
    """`parts` LPA -> n: n rows of each of `months`, dated the 5th, of one minute."""
    lines = ["date,minutes,lpa"]
    for m in months:
        for lpa, n in parts.items():
            lines += [f"{m}-05,1,{lpa}"] * n
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _without_parts(doc: dict) -> dict:
    """A figures file as a kpi before breakdowns' parts were listed wrote it."""
    from kpi.revisions import _printed

    old = {k: v for k, v in doc.items() if k != "parts"}
    old["count"] = len(old["figures"]) + len(old["quoted"])
    old["printed"] = _printed(old["figures"] + old["quoted"])
    return old


def test_a_breakdown_revised_is_listed(tmp_path, cli):
    """June 2025 revised so that its 30 incidents moved between the LPAs (20 and 10 became
    5 and 25): the KPI's own figures are the same, but the LPAs' changes the last paper
    printed ("A (0.0%), B (0.0%)") now read "A (−6.3%), B (+12.5%)". The paper said "No
    figure printed in the paper for September 2025 has been revised since" and, on its
    front page, "none of the figures printed last time has changed", exit 0; then that
    breakdowns were not compared. The figures file lists each part's figures printed, and
    the appendix lists the two LPAs' revised: A 240 then (20 a month for a year), 225 now
    (less 15), B 120 then, 135 now. A file of a kpi before the parts were listed compares
    the KPIs' figures and says the breakdowns were not compared."""
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "kpi.toml").write_text(_BY_LPA, encoding="utf-8")
    _by_lpa(tmp_path / "all.csv", _months((2023, 1), (2025, 9)), A=20, B=10)
    _by_lpa(tmp_path / "june.csv", ["2025-06"], A=5, B=25)
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "all.csv"]).exit_code == 0
    last = tmp_path / "last" / "board.md"
    assert cli(["--project", folder, "export", "markdown", "--full", "--period", "2025-09",
                "--output", last]).exit_code == 0
    assert "A (0.0%), B (0.0%)" in last.read_text(encoding="utf-8")
    doc = json.loads(last.with_suffix(".figures.json").read_text(encoding="utf-8"))
    assert sorted((f["part"], f["role"], f["window"], f["shown"]) for f in doc["parts"]) == [
        ("A", "comparison", "YE 2024-03", "240"), ("A", "current", "YE 2025-09", "240"),
        ("B", "comparison", "YE 2024-03", "120"), ("B", "current", "YE 2025-09", "120")]
    assert doc["count"] == len(doc["figures"]) + len(doc["quoted"]) + 4
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "june.csv"]).exit_code == 0
    out = tmp_path / "board.md"
    result = cli(["--project", folder, "export", "markdown", "--full", "--period", "2025-09",
                  "--output", out, "--previous", last.with_suffix(".figures.json")])
    assert result.exit_code == 0, result.output
    paper = out.read_text(encoding="utf-8")
    assert "A (\u22126.3%), B (+12.5%)" in paper  # 20 * 11 + 5 = 225 of 240; 10 * 11 + 25 of 120
    assert "No figure printed" not in paper and "none of the" not in paper
    appendix = _appendix(out)
    assert [line for line in appendix.splitlines() if line.startswith("| Incidents")] == [
        "| Incidents, by LPA: A | year ending September 2025 | 240 | 225 |",
        "| Incidents, by LPA: B | year ending September 2025 | 120 | 135 |"], appendix
    assert "not compared" not in appendix
    assert "Figures revised since the last paper: 2, listed in Appendix " in paper

    # the last paper's file as an older kpi wrote it: no parts, said
    result, _, out = _export(cli, folder, tmp_path, _without_parts(doc))
    assert result.exit_code == 0, result.output
    paper = out.read_text(encoding="utf-8")
    assert _appendix(out).strip() == (
        "No KPI figure printed in the paper for September 2025 has been revised since. The "
        "last paper's figures file does not list the figures of its KPIs' breakdowns (an "
        "older kpi wrote it), so those (each LPA's, each crime type's) are not compared, and "
        "may have been revised too.")
    assert ("Figures revised since the last paper: 0 (none of the KPI figures printed last "
            "time has changed; their breakdowns are not compared).") in paper


def test_parts_revised_appearing_and_vanishing_are_listed_as_duckdb_counts_them(tmp_path,
                                                                                cli):
    """A part's figures revised, a part the revised month brings (C, where the last paper
    ranked every LPA) and one it takes away (D, whose rows were all in June 2025): each is
    listed, its figures then and now counted by DuckDB over the rows of each load, every
    other part's figure unchanged and not listed."""
    import duckdb

    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "kpi.toml").write_text(_BY_LPA, encoding="utf-8")
    _by_lpa(tmp_path / "all.csv", _months((2023, 1), (2025, 9)), A=20, B=10, E=7)
    _by_lpa(tmp_path / "d.csv", ["2025-06"], A=20, B=10, E=7, D=4)
    _by_lpa(tmp_path / "june.csv", ["2025-06"], A=17, B=10, E=7, C=3)
    for name in ("all.csv", "d.csv"):
        assert cli(["--project", folder, "ingest", "inc", tmp_path / name]).exit_code == 0
    last = tmp_path / "last" / "board.md"
    assert cli(["--project", folder, "export", "markdown", "--full", "--period", "2025-09",
                "--output", last]).exit_code == 0
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "june.csv"]).exit_code == 0
    out = tmp_path / "board.md"
    result = cli(["--project", folder, "export", "markdown", "--full", "--period", "2025-09",
                  "--output", out, "--previous", last.with_suffix(".figures.json")])
    assert result.exit_code == 0, result.output

    def counts(*files) -> dict[str, int]:
        union = " UNION ALL ".join(
            f"SELECT * FROM read_csv('{tmp_path / f}', header = true, "
            "columns = {'date': 'DATE', 'minutes': 'DOUBLE', 'lpa': 'VARCHAR'})"
            for f in files)
        rows = duckdb.sql(f"SELECT lpa, count(*) FROM ({union}) WHERE date >= DATE "
                          "'2024-10-01' AND date < DATE '2025-10-01' GROUP BY lpa").fetchall()
        return dict(rows)

    june = "strftime(date, '%Y-%m') <> '2025-06'"
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{tmp_path / 'all.csv'}', header = true) WHERE "
               f"{june}) TO '{tmp_path / 'rest.csv'}' (HEADER)")
    then, now = counts("rest.csv", "d.csv"), counts("rest.csv", "june.csv")
    assert then["D"] == 4 and "C" not in then and now["C"] == 3 and "D" not in now
    expected = {(f"Incidents, by LPA: {lpa}", "year ending September 2025",
                 f"{then[lpa]:,}" if lpa in then else "no figure",
                 f"{now[lpa]:,}" if lpa in now else "no figure")
                for lpa in then.keys() | now.keys() if then.get(lpa) != now.get(lpa)}
    assert len(expected) == 3  # A, C and D
    rows = {tuple(c.strip() for c in line.strip("|").split("|"))
            for line in _appendix(out).splitlines() if line.startswith("| Incidents, by")}
    assert rows == expected, _appendix(out)


def test_a_part_figure_deleted_or_edited_by_hand_is_refused(tmp_path, cli):
    """A part's figure deleted from the file, its count made to agree, or its figure typed
    over: refused as a KPI's own figure is (exit 3), where its revision would go unreported
    or the appendix print what the last paper never said."""
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "kpi.toml").write_text(_BY_LPA, encoding="utf-8")
    _by_lpa(tmp_path / "all.csv", _months((2023, 1), (2025, 9)), A=20, B=10)
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "all.csv"]).exit_code == 0
    last = tmp_path / "last" / "board.md"
    assert cli(["--project", folder, "export", "markdown", "--full", "--period", "2025-09",
                "--output", last]).exit_code == 0
    doc = json.loads(last.with_suffix(".figures.json").read_text(encoding="utf-8"))
    deleted = copy.deepcopy(doc)
    deleted["parts"] = deleted["parts"][1:]
    deleted["count"] -= 1
    result, _, out = _export(cli, folder, tmp_path, deleted)
    assert result.exit_code == 3, result.output
    assert "figures were deleted, added or renamed since kpi wrote it" in result.stderr
    assert not out.exists()
    edited = copy.deepcopy(doc)
    edited["parts"][0]["shown"] = "300"
    result, previous, out = _export(cli, folder, tmp_path, edited)
    assert result.exit_code == 3, result.output
    part = edited["parts"][0]
    assert result.stderr.splitlines()[0] == (
        f"Error: {previous}: part figure 1 (count, lpa \"{part['part']}\", {part['window']}): "
        f"shown as \"300\", but its value {part['value']!r} prints as "
        f"\"{doc['parts'][0]['shown']}\": the file was edited since kpi wrote it")
    broken = copy.deepcopy(doc)
    broken["parts"][0]["windows"] = ["YE 2025-13", None]
    result, previous, out = _export(cli, folder, tmp_path, broken)
    assert result.exit_code == 3 and "part figure 1 its windows" in result.stderr, result.output


def test_a_breakdown_by_a_column_the_dataset_no_longer_has_is_said_not_compared(tmp_path, cli):
    """The last paper broke a KPI down by a column its dataset no longer declares (a derived
    column taken out of kpi.toml): its parts cannot be worked out again, which is a change of
    the project, not of the data. Named as not compared, never a refusal of the paper nor a
    list of parts revised to "no figure"."""
    from kpi.revisions import _printed

    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "kpi.toml").write_text(_BY_LPA, encoding="utf-8")
    _by_lpa(tmp_path / "all.csv", _months((2023, 1), (2025, 9)), A=20, B=10)
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "all.csv"]).exit_code == 0
    last = tmp_path / "last" / "board.md"
    assert cli(["--project", folder, "export", "markdown", "--full", "--period", "2025-09",
                "--output", last]).exit_code == 0
    doc = json.loads(last.with_suffix(".figures.json").read_text(encoding="utf-8"))
    for part in doc["parts"]:
        part.update(by="area", by_label="area")
    doc["printed"] = _printed(doc["figures"] + doc["quoted"], doc["parts"])
    result, _, out = _export(cli, folder, tmp_path, doc)
    assert result.exit_code == 0, result.output
    appendix = _appendix(out)
    assert "1 KPI(s) in the last paper but no longer reported, so not compared: Incidents by " \
           "area." in appendix, appendix
    assert "| Incidents" not in appendix


def test_a_revised_figure_now_prints_to_the_places_the_last_paper_printed_it_to():
    """The last paper printed a figure beside its other window's to more places than its
    KPI's own ("5.04%" beside "4.96%"); revised, the figure now printed to its own places read
    "5.04%" then and "4.9%" now, a precision the board cannot compare. It prints "4.90%" now:
    to the places at which the last paper's value prints as it printed it. A figure the last
    paper printed to its own places keeps them."""
    from dataclasses import replace

    from kpi.catalogue import Better, Kind, KpiDef, Unit
    from kpi.revisions import _as_printed

    def kpi(unit: Unit, kind: Kind) -> KpiDef:
        return KpiDef(id="k", title="K", priority="p", kind=kind, unit=unit,
                      better=Better.LOWER, dataset="d")

    share = kpi(Unit.PERCENT, Kind.RATE)
    assert _as_printed(4.9, 5.04, "5.04%", share) == "4.90%"
    assert _as_printed(4.9, 5.04, "5.0%", share) == "4.9%"
    assert _as_printed(4.9012, 5.0401, "5.040%", share) == "4.901%"
    rate = kpi(Unit.PER_1000, Kind.PER_1000)
    assert _as_printed(0.44, 0.48, "0.48", rate) == "0.44"
    assert _as_printed(0.44, 0.48, "0.5", rate) == "0.4"
    wait = kpi(Unit.SECONDS, Kind.MEDIAN)
    assert _as_printed(598.0, 600.4, "10:00.4", wait) == "9:58.0"
    assert _as_printed(598.0, 600.4, "10:00", wait) == "9:58"
    # Beside a target of 90%: the figure now takes the places it needs to stand against the
    # target, more than the last paper's two ("89.996%", never "90.00%"), and a figure the
    # last paper printed to its target's places is no figure printed beside its twin.
    met = replace(share, target=90.0)
    assert _as_printed(89.996, 89.87, "89.87%", met) == "89.996%"
    assert _as_printed(89.91, 89.96, "89.96%", met) == "89.9%"


def test_a_revised_pair_printed_apart_is_listed_to_the_places_it_was_printed_to(
        loaded, tmp_path, cli):
    """As if the last paper's violence outcome rate had been 51.93% against 51.87% (printed
    so, to two places, to read apart, where each prints "51.9%" alone). The comparison is
    revised, to 44.274...%, and listed to the places the last paper printed it to: "51.87%"
    then and "44.27%" now, where "44.3%" read to another precision than the figure beside
    it. The current figure, 51.908...% now, prints "51.9%" alone as 51.93% did: no revision
    (revisions are compared at the KPI's own places)."""
    doc = copy.deepcopy(loaded[1])
    for figure in doc["figures"]:
        if figure["kpi"] == "violence_outcome_rate":
            value, shown = {"current": (51.93, "51.93%"),
                            "comparison": (51.87, "51.87%")}[figure["role"]]
            figure.update(value=value, shown=shown)
    result, _, out = _export(cli, loaded[0], tmp_path, doc)
    assert result.exit_code == 0, result.output
    appendix = _appendix(out)
    assert "year ending September 2025" not in appendix, appendix
    assert ("| Violence positive outcome rate | year ending March 2024 | 51.87% | 44.27% |"
            in appendix), appendix


_QUOTING = """\
[project]
name = "Quoted revisions"
baseline = "2024-03"

[datasets.inc]
date = "date"
[datasets.inc.columns]
date = "date"
kind = "str"

[[priorities]]
id = "p"
title = "Priority"

[[kpis]]
id = "all"
title = "Incidents"
priority = "p"
dataset = "inc"
kind = "count"
better = "lower"
quotes = ["fraud"]

[[kpis]]
id = "fraud"
title = "Fraud incidents"
priority = "p"
dataset = "inc"
kind = "count"
filter = "kind = 'fraud'"
hidden = true
"""


def test_a_quoted_figure_revised_is_listed(tmp_path, cli):
    """A paragraph quotes a hidden KPI's figure ("Related figures ...: Fraud incidents 120"):
    June 2025 revised so that 5 of its 10 fraud incidents are recoded as other incidents, the
    quoting KPI's own figures unchanged. The paper said "No KPI figure printed in the paper
    for September 2025 has been revised since", exit 0: the figures file held each KPI's own
    figures only, never those quoted. A quoted figure is listed in the file (`quoted`) and
    compared as any other: 120 then, 115 now (10 a month for a year, less 5)."""
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "kpi.toml").write_text(_QUOTING, encoding="utf-8")

    def write(path, months, fraud, other):
        lines = ["date,kind"]
        for m in months:
            lines += [f"{m}-05,fraud"] * fraud + [f"{m}-05,other"] * other
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    write(tmp_path / "all.csv", _months((2023, 1), (2025, 9)), 10, 20)
    write(tmp_path / "june.csv", ["2025-06"], 5, 25)
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "all.csv"]).exit_code == 0
    last = tmp_path / "last" / "board.md"
    assert cli(["--project", folder, "export", "markdown", "--full", "--period", "2025-09",
                "--output", last]).exit_code == 0
    first = " ".join(last.read_text(encoding="utf-8").split())
    assert "Fraud incidents 120" in first
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "june.csv"]).exit_code == 0
    out = tmp_path / "board.md"
    result = cli(["--project", folder, "export", "markdown", "--full", "--period", "2025-09",
                  "--output", out, "--previous", last.with_suffix(".figures.json")])
    assert result.exit_code == 0, result.output
    assert "Fraud incidents 115" in " ".join(out.read_text(encoding="utf-8").split())
    appendix = _appendix(out)
    assert "| Fraud incidents | year ending September 2025 | 120 | 115 |" in appendix
    assert "has been revised since" not in appendix
    # the quoting KPI's own figure (360 a year) did not move, and is not listed
    assert "| Incidents |" not in appendix
    doc = json.loads(last.with_suffix(".figures.json").read_text(encoding="utf-8"))
    assert [(f["kpi"], f["role"], f["window"], f["shown"]) for f in doc["quoted"]] == [
        ("fraud", "quoted", "YE 2025-09", "120")]


def test_quoted_figures_deleted_by_hand_are_refused(tmp_path, cli):
    """A quoted figure deleted from the file is refused as a KPI's own figure is: its
    revision would go unreported."""
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "kpi.toml").write_text(_QUOTING, encoding="utf-8")
    lines = ["date,kind"] + [f"{m}-05,fraud" for m in _months((2023, 1), (2025, 9))]
    (tmp_path / "all.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "all.csv"]).exit_code == 0
    last = tmp_path / "last" / "board.md"
    assert cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                "--output", last]).exit_code == 0
    doc = json.loads(last.with_suffix(".figures.json").read_text(encoding="utf-8"))
    assert len(doc["quoted"]) == 1
    doc["quoted"] = []
    result, previous, out = _export(cli, folder, tmp_path, doc)
    assert result.exit_code == 3, result.output
    assert "figures were deleted since kpi wrote it" in result.stderr.splitlines()[0]
    assert not out.exists()


def _fourteen_lpas(tmp_path, folder, cli) -> None:
    """14 LPAs, more than a ranking lists: A's incidents 10 a month to March 2024 and 40 a
    month from October 2024 (its change stands out), each of B to N's 20 a month."""
    (folder / "data").mkdir(parents=True)
    (folder / "kpi.toml").write_text(_BY_LPA, encoding="utf-8")
    others = {chr(c): 20 for c in range(ord("B"), ord("N") + 1)}
    _by_lpa(tmp_path / "before.csv", _months((2023, 1), (2024, 9)), A=10, **others)
    _by_lpa(tmp_path / "after.csv", _months((2024, 10), (2025, 9)), A=40, **others)
    for name in ("before.csv", "after.csv"):
        assert cli(["--project", folder, "ingest", "inc", tmp_path / name]).exit_code == 0


def test_the_parts_a_standout_sentence_pools_are_compared(tmp_path, cli):
    """The brief paper's "By LPA, A (+300.0%) stands out from the other 13 (0.0%)" printed a
    figure of the 13 LPAs pooled that the figures file did not hold: June 2025 loaded again
    with 30 more of B's moved the 13 to +1.0% (3,150 against 3,120: 13 × 240 + 30 and
    13 × 240), and the appendix listed the force's figure alone, none of the parts whose
    pooled change the sentence printed. Each of them is recorded now, so B's is listed."""
    folder = tmp_path / "project"
    _fourteen_lpas(tmp_path, folder, cli)
    last = tmp_path / "last" / "board.md"
    assert cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                "--output", last]).exit_code == 0
    assert "By LPA, A (+300.0%) stands out from the other 13 (0.0%)" in last.read_text(
        encoding="utf-8")
    doc = json.loads(last.with_suffix(".figures.json").read_text(encoding="utf-8"))
    assert sorted({f["part"] for f in doc["parts"]}) == [chr(c) for c in range(ord("A"),
                                                                               ord("N") + 1)]
    others = {chr(c): 20 for c in range(ord("C"), ord("N") + 1)}
    _by_lpa(tmp_path / "june.csv", ["2025-06"], A=40, B=50, **others)
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "june.csv"]).exit_code == 0
    out = tmp_path / "board.md"
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                  "--output", out, "--previous", last.with_suffix(".figures.json")])
    assert result.exit_code == 0, result.output
    assert "stands out from the other 13 (+1.0%)" in out.read_text(encoding="utf-8")
    assert "| Incidents, by LPA: B | year ending September 2025 | 240 | 270 |" in _appendix(out)


def test_the_parts_counted_at_a_lists_last_place_are_compared(tmp_path, cli):
    """"... S (540) and 13 parts joint 5th (240 each)" printed one figure of 13 LPAs the file
    did not hold: B's June loaded again with 10 more moved it to 250 (20 × 11 + 30), and
    nothing was listed of it. Each part counted there is recorded now."""
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "kpi.toml").write_text(_BY_LPA, encoding="utf-8")
    # four LPAs with more each month, then B to N tied at the fifth place; no change
    # anywhere, so none stands out and, of 17 LPAs, the full paper lists the highest
    tops = {"P": 60, "Q": 55, "R": 50, "S": 45}
    others = {chr(c): 20 for c in range(ord("B"), ord("N") + 1)}
    _by_lpa(tmp_path / "all.csv", _months((2023, 1), (2025, 9)), **tops, **others)
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "all.csv"]).exit_code == 0
    last = tmp_path / "last" / "board.md"
    assert cli(["--project", folder, "export", "markdown", "--full", "--period",
                "2025-09",
                "--output", last]).exit_code == 0
    assert "and 13 parts joint 5th (240 each)" in last.read_text(encoding="utf-8")
    doc = json.loads(last.with_suffix(".figures.json").read_text(encoding="utf-8"))
    assert {f["part"] for f in doc["parts"]} >= set(others)
    _by_lpa(tmp_path / "june.csv", ["2025-06"], **tops, **{**others, "B": 30})
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "june.csv"]).exit_code == 0
    out = tmp_path / "board.md"
    result = cli(["--project", folder, "export", "markdown", "--full", "--period",
                "2025-09",
                  "--output", out, "--previous", last.with_suffix(".figures.json")])
    assert result.exit_code == 0, result.output
    assert "| Incidents, by LPA: B | year ending September 2025 | 240 | 250 |" in _appendix(out)


_PEERS = """\
[project]
name = "Peer revisions"
baseline = "2024-03"

[peers.similar]
title = "similar forces"
column = "force"
members = ["Avon", "Bure", "Cam"]
focus = "Cam"

[datasets.inc]
date = "date"
[datasets.inc.columns]
date = "date"
force = "str"

[[priorities]]
id = "p"
title = "Priority"

[[kpis]]
id = "count"
title = "Incidents"
priority = "p"
dataset = "inc"
kind = "count"
better = "lower"
peers = "similar"
"""


def test_a_peer_forces_figure_revised_is_listed(tmp_path, cli):
    """The peer sentence ranks Cam's figure against the group's median, and the peers figure
    draws each force's: Avon's June 2025 loaded again with 150 more (165) moved Avon from
    180 (15 a month for a year) to 330 and the median printed from 240 (Bure's) to 330
    (Avon's), "with 360 against a group median of 240" to "... of 330", and the appendix
    listed the KPI's own figure (the three forces' rows together) and nothing of Avon's or
    of the median. Each member's figure is recorded now, as a part of the KPI by force."""
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "kpi.toml").write_text(_PEERS, encoding="utf-8")

    def rows(path, months, **forces: int) -> None:
        lines = ["date,force"]
        for m in months:
            for force, n in forces.items():
                lines += [f"{m}-05,{force}"] * n
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    rows(tmp_path / "all.csv", _months((2023, 1), (2025, 9)), Avon=15, Bure=20, Cam=30)
    rows(tmp_path / "june.csv", ["2025-06"], Avon=165, Bure=20, Cam=30)
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "all.csv"]).exit_code == 0
    last = tmp_path / "last" / "board.md"
    assert cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                "--output", last]).exit_code == 0
    assert "with 360 against a group median of 240" in last.read_text(encoding="utf-8")
    doc = json.loads(last.with_suffix(".figures.json").read_text(encoding="utf-8"))
    assert sorted((f["part"], f["by"], f["shown"]) for f in doc["parts"]) == [
        ("Avon", "force", "180"), ("Bure", "force", "240"), ("Cam", "force", "360")]
    # and every number of the paper is recorded or no figure (test_printed_numbers.py)
    from printed_numbers import unaccounted

    assert unaccounted(last.read_text(encoding="utf-8"), doc,
                       commentary=_PEERS, titles=["Incidents"]) == []
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "june.csv"]).exit_code == 0
    out = tmp_path / "board.md"
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                  "--output", out, "--previous", last.with_suffix(".figures.json")])
    assert result.exit_code == 0, result.output
    assert "with 360 against a group median of 330" in out.read_text(encoding="utf-8")
    assert [line for line in _appendix(out).splitlines()
            if line.startswith("| Incidents, by")] == [
        "| Incidents, by force: Avon | year ending September 2025 | 180 | 330 |"]


def test_a_part_a_ranking_prints_as_n_a_records_no_figure(tmp_path, cli):
    """A ranking of changes prints "C (n/a)" of a part with no figure in the comparison
    window (no incidents there, so no average time): the paper prints no figure of it, yet
    the file recorded its current one, and a revision of C's rows was listed as a revised
    figure of a paper that never printed one. A, whose change it prints, is recorded in
    both windows."""
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    toml = _BY_LPA + ('\n[[kpis]]\nid = "minutes"\ntitle = "Average minutes"\npriority = "p"\n'
                      'dataset = "inc"\nkind = "mean"\nvalue = "minutes"\nbetter = "lower"\n'
                      'breakdowns = ["lpa"]\n')
    (folder / "kpi.toml").write_text(toml, encoding="utf-8")
    _by_lpa(tmp_path / "all.csv", _months((2023, 1), (2025, 9)), A=20, B=10)
    _by_lpa(tmp_path / "c.csv", _months((2024, 10), (2025, 9)), C=3)
    (tmp_path / "both.csv").write_text(
        (tmp_path / "all.csv").read_text(encoding="utf-8")
        + (tmp_path / "c.csv").read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8")
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "both.csv"]).exit_code == 0
    last = tmp_path / "last" / "board.md"
    assert cli(["--project", folder, "export", "markdown", "--full", "--period", "2025-09",
                "--output", last]).exit_code == 0
    assert "C (n/a)" in last.read_text(encoding="utf-8")
    doc = json.loads(last.with_suffix(".figures.json").read_text(encoding="utf-8"))
    minutes = {(f["part"], f["role"]) for f in doc["parts"] if f["kpi"] == "minutes"}
    assert minutes == {("A", "current"), ("A", "comparison"), ("B", "current"),
                       ("B", "comparison")}


def test_the_parts_a_comparison_chart_says_it_leaves_out_are_recorded(tmp_path, cli):
    """A comparison chart of 28 LPAs draws the 11 highest and says of the 14 tied at 12th
    "14 parts joint 12th (240 each) are not drawn": their one figure is printed, and each of
    theirs is recorded, as the bars' and the lowest its alt text names (Zc, 36) are; the two
    LPAs between are in no sentence, no bar and no caption."""
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    chart = ('\n[[charts]]\nid = "by_lpa"\ntype = "compare"\ntitle = "Incidents by LPA"\n'
             'kpis = ["count"]\nby = "lpa"\n')
    (folder / "kpi.toml").write_text(_BY_LPA + chart, encoding="utf-8")
    high = {chr(ord("A") + n): 40 - n for n in range(11)}
    tied = {chr(ord("L") + n): 20 for n in range(14)}
    low = {"Za": 5, "Zb": 4, "Zc": 3}
    _by_lpa(tmp_path / "all.csv", _months((2023, 1), (2025, 9)), **high, **tied, **low)
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "all.csv"]).exit_code == 0
    last = tmp_path / "last" / "board.md"
    assert cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                "--output", last]).exit_code == 0
    doc = json.loads(last.with_suffix(".figures.json").read_text(encoding="utf-8"))
    current = {f["part"]: f["shown"] for f in doc["parts"] if f["role"] == "current"}
    assert current == {**{k: f"{12 * v:,}" for k, v in high.items()},
                       **dict.fromkeys(tied, "240"), "Zc": "36"}


def test_a_proportions_cases_revised_are_listed_where_its_figure_reads_the_same(tmp_path,
                                                                              cli):
    """"50.0% (120 of 240)" printed of a proportion of incidents over a minute; June 2025
    loaded again with 20 more incidents, 10 of them over a minute, reads "50.0% (130 of
    260)": the figure printed reads the same and the cases beside it do not, and nothing was
    listed. The figures file records the cases and base beside the figure (`cases`), and
    the appendix lists them: 120 of 240 then (10 of 20 a month for a year), 130 of 260 now."""
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    toml = _SMALL + ('\n[[kpis]]\nid = "long"\ntitle = "Incidents over a minute"\n'
                     'priority = "p"\ndataset = "inc"\nkind = "rate"\nbetter = "lower"\n'
                     'numerator = "minutes > 1"\n')
    (folder / "kpi.toml").write_text(toml, encoding="utf-8")

    def rows(path, months, short: int, long: int) -> None:
        lines = ["date,minutes"]
        for m in months:
            lines += [f"{m}-05,1"] * short + [f"{m}-05,2"] * long
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    rows(tmp_path / "all.csv", _months((2023, 1), (2025, 9)), 10, 10)
    rows(tmp_path / "june.csv", ["2025-06"], 20, 20)
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "all.csv"]).exit_code == 0
    last = tmp_path / "last" / "board.md"
    assert cli(["--project", folder, "export", "markdown", "--full", "--period", "2025-09",
                "--output", last]).exit_code == 0
    assert "50.0% (120 of 240)" in last.read_text(encoding="utf-8")
    doc = json.loads(last.with_suffix(".figures.json").read_text(encoding="utf-8"))
    assert [(f["cases"], f["cases_shown"]) for f in doc["figures"] if "cases" in f] == [
        ([120, 240], "120 of 240")]
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "june.csv"]).exit_code == 0
    out = tmp_path / "board.md"
    result = cli(["--project", folder, "export", "markdown", "--full", "--period", "2025-09",
                  "--output", out, "--previous", last.with_suffix(".figures.json")])
    assert result.exit_code == 0, result.output
    assert "50.0% (130 of 260)" in out.read_text(encoding="utf-8")
    rows_listed = [line for line in _appendix(out).splitlines()
                   if line.startswith("| Incidents over")]
    assert rows_listed == ["| Incidents over a minute, its cases and base | year ending "
                           "September 2025 | 120 of 240 | 130 of 260 |"], _appendix(out)

    # typed over by hand, the cases are refused as a figure typed over is
    edited = copy.deepcopy(doc)
    next(f for f in edited["figures"] if "cases" in f)["cases_shown"] = "121 of 240"
    result, previous, _ = _export(cli, folder, tmp_path, edited)
    assert result.exit_code == 3, result.output
    assert "its cases shown as \"121 of 240\", but they print as \"120 of 240\"" in \
        result.stderr


_POUNDS = _SMALL.replace('minutes = "float"\n', 'minutes = "float"\nlpa = "str"\n', 1) + """
[[kpis]]
id = "losses"
title = "Losses"
priority = "p"
dataset = "inc"
kind = "sum"
value = "minutes"
unit = "gbp"
better = "lower"
breakdowns = ["lpa"]
"""


def test_millions_of_pounds_are_compared_as_the_paper_printed_them(tmp_path, cli):
    """The paper prints an amount of a million pounds or more as "£2.4m", in its prose and
    tables; the revisions compared it to the pound, so £100 added to June 2025 was listed as
    "£2,400,000 then, £2,400,100 now" beside a paper whose every face read "£2.4m" both
    times. What did move is its change from the baseline year, "unchanged" then and "an
    increase of £100 (0.0%)" now, which is listed. A revision of the figure the board would
    see is listed as it saw it: £60,000 more in June reads "£2.4m" then and "£2.5m" now
    (2,460,000 over the year), and LPA A's "£1.2m" then, "£1.3m" now (1,260,000)."""
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "kpi.toml").write_text(_POUNDS, encoding="utf-8")

    def write(path, months, a):
        lines = ["date,minutes,lpa"]
        for m in months:
            lines += [f"{m}-05,{a},A", f"{m}-05,100000,B"]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    write(tmp_path / "all.csv", _months((2023, 1), (2025, 9)), 100000)
    assert cli(["--project", folder, "ingest", "inc", tmp_path / "all.csv"]).exit_code == 0
    last = tmp_path / "last" / "board.md"
    assert cli(["--project", folder, "export", "markdown", "--full", "--period", "2025-09",
                "--output", last]).exit_code == 0
    assert "£2.4m" in last.read_text(encoding="utf-8")
    previous = last.with_suffix(".figures.json")
    # £100 more: LPA A's change ranked "A (0.0%)" then and "A (+0.01%)" now (`_ranking`
    # widens the places where two changes would print alike), both its figures "£1.2m".
    for amount, listed in ((100100, [
            "| Losses, its change from the year ending March 2024 | year ending September "
            "2025 | £0 (0.0%) | +£100 (0.0%) |",
            "| Losses, by LPA: A, its change from the year ending March 2024 | year ending "
            "September 2025 | £0 (0.0%) | +£100 (0.0%) |"]), (160000, [
            "| Losses | year ending September 2025 | £2.4m | £2.5m |",
            "| Losses, by LPA: A | year ending September 2025 | £1.2m | £1.3m |"])):
        write(tmp_path / "june.csv", ["2025-06"], amount)
        assert cli(["--project", folder, "ingest", "inc", tmp_path / "june.csv"]).exit_code == 0
        out = tmp_path / "board.md"
        result = cli(["--project", folder, "export", "markdown", "--full", "--period",
                      "2025-09", "--output", out, "--previous", previous])
        assert result.exit_code == 0, result.output
        assert [line for line in _appendix(out).splitlines()
                if line.startswith("| Losses")] == listed, _appendix(out)


_DAYS = """\
[project]
name = "Revised changes"
baseline = "2024-03"

[datasets.cases]
date = "date"
[datasets.cases.columns]
date = "date"
days = "float"

[[priorities]]
id = "p"
title = "Priority"

[[kpis]]
id = "charge"
title = "Days to charge"
priority = "p"
dataset = "cases"
kind = "mean"
value = "days"
unit = "days"
better = "lower"
"""


def test_a_change_revised_where_both_its_figures_read_the_same_is_listed(tmp_path, cli):
    """Ten cases a month, 8.0 days each in the baseline year (to March 2024) and 8.8 after,
    one September 2025 case typed 13.6: the year's mean 8.84 days prints "8.8 days", "an
    increase of 0.8 days (10.5%)". The case corrected to 8.8, the mean is 8.80, still "8.8
    days", and the change printed beside it 10.0%; the paper said no figure printed had been
    revised, exit 0. The change is listed, as both papers print it."""
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "kpi.toml").write_text(_DAYS, encoding="utf-8")

    def write(path, months, september):
        lines = ["date,days"]
        for m in months:
            days = "8.0" if m <= "2024-03" else "8.8"
            lines += [f"{m}-05,{days}"] * (9 if m == "2025-09" else 10)
            if m == "2025-09":
                lines.append(f"{m}-06,{september}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    write(tmp_path / "all.csv", _months((2023, 4), (2025, 9)), "13.6")
    write(tmp_path / "september.csv", ["2025-09"], "8.8")
    assert cli(["--project", folder, "ingest", "cases", tmp_path / "all.csv"]).exit_code == 0
    last = tmp_path / "last" / "board.md"
    assert cli(["--project", folder, "export", "markdown", "--period", "2025-09",
                "--output", last]).exit_code == 0
    assert "8.8 days" in last.read_text(encoding="utf-8")
    assert cli(["--project", folder, "ingest", "cases", tmp_path / "september.csv"]
               ).exit_code == 0
    out = tmp_path / "board.md"
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-09", "--output",
                  out, "--previous", last.with_suffix(".figures.json")])
    assert result.exit_code == 0, result.output
    # (8.8 * 114 + 13.6) / 120 = 8.84, +0.84 of 8.0 = +10.5%; 8.8 now, +10.0%
    assert [line for line in _appendix(out).splitlines() if line.startswith("| Days")] == [
        "| Days to charge, its change from the year ending March 2024 | year ending "
        "September 2025 | +0.8 (+10.5%) | +0.8 (+10.0%) |"]
    assert "Figures revised since the last paper: 1, listed in Appendix " in out.read_text(
        encoding="utf-8")


def test_the_blank_rows_revision_is_listed_beside_a_part_named_none(tmp_path):
    """A weapon column holding 'Knife', 'None' (no weapon used) and blanks (not recorded):
    the blank rows and the part 'None' were one key, so when two of June's blank rows were
    recorded as Knife, the appendix listed Knife's 72 to 74 and not the blank rows' 48 to
    46, counted by hand (4 a month for 12 months, less the 2 recorded)."""
    import csv

    import inprocess

    folder = tmp_path / "p"
    (folder / "x").mkdir(parents=True)
    (folder / "kpi.toml").write_text(
        '[project]\nname = "None part"\nbaseline = "2024-03"\n[datasets.crimes]\n'
        'date = "recorded"\n[datasets.crimes.columns]\nrecorded = "date"\n'
        'weapon = { type = "str", required = false }\n[[priorities]]\nid = "crime"\n'
        'title = "Crime"\n[[kpis]]\nid = "crimes"\ntitle = "Total recorded crime"\n'
        'priority = "crime"\nkind = "count"\ndataset = "crimes"\nbetter = "lower"\n'
        'breakdowns = ["weapon"]\n[paper]\nbreakdowns = { crimes = ["weapon"] }\n',
        encoding="utf-8")
    rows = [["recorded", "weapon"]]
    for y, m in [(2023, n) for n in range(4, 13)] + [(2024, n) for n in range(1, 13)] + [
            (2025, n) for n in range(1, 9)]:
        for weapon, n in (("Knife", 6), ("None", 5 if (y, m) >= (2024, 9) else 6), ("", 4)):
            rows += [[f"{y}-{m:02d}-{i + 1:02d}", weapon] for i in range(n)]
    with open(folder / "x" / "crimes.csv", "w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
    june = [rows[0]] + [r for r in rows[1:] if r[0].startswith("2025-06")]
    moved = 0
    for r in june[1:]:
        if r[1] == "" and moved < 2:
            r[1], moved = "Knife", moved + 1
    with open(folder / "june.csv", "w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(june)

    def kpi(*args):
        done = inprocess.run(["--project", folder, *args])
        assert done.returncode == 0, done.stderr
        return done

    kpi("ingest", "crimes", folder / "x" / "crimes.csv")
    kpi("export", "markdown", "--period", "2025-08", "--output", folder / "last.md")
    kpi("ingest", "crimes", folder / "june.csv")
    kpi("export", "markdown", "--period", "2025-08", "--output", folder / "now.md",
        "--previous", folder / "last.figures.json")
    paper = (folder / "now.md").read_text(encoding="utf-8")
    assert "Figures revised since the last paper: 2" in paper
    assert ("| Total recorded crime, by weapon: not recorded | year ending August 2025 | 48 "
            "| 46 |") in paper
    assert "| Total recorded crime, by weapon: Knife | year ending August 2025 | 72 | 74 |" \
        in paper


_PART_CHANGE = """\
[project]
name = "Part change"
baseline = "2024-03"

[datasets.calls]
date = "received"
[datasets.calls.columns]
received = "date"
lpa = "str"
answer_seconds = { type = "float", min = 0 }

[[priorities]]
id = "service"
title = "Service"

[[kpis]]
id = "answer_mean"
title = "Average answer time"
priority = "service"
kind = "mean"
dataset = "calls"
value = "answer_seconds"
unit = "seconds"
better = "lower"
breakdowns = ["lpa"]

[paper]
breakdowns = { answer_mean = ["lpa"] }
"""


def test_a_parts_change_revised_where_both_its_figures_read_the_same_is_listed(tmp_path,
                                                                              cli):
    """West's calls answered in 9 and 11 seconds a month in the baseline year (to March
    2024), 10 and 12 after: its mean 0:10 then 0:11, "+10.0%". June 2025's two West calls
    revised to 13 and 15: the year's mean 11.25 s still prints "0:11", its change +12.5%
    (11.25 / 10), and the paper's ranking printed "West (+12.5%)" where the last printed
    "West (+10.0%)"; --previous listed the KPI's change and not the part's, exit 0. A part's
    change is listed as a KPI's is, where neither of its figures reads differently."""
    folder = tmp_path / "project é"
    (folder / "data").mkdir(parents=True)
    (folder / "kpi.toml").write_text(_PART_CHANGE, encoding="utf-8")

    def write(path, months, june=(10, 12)):
        lines = ["received,lpa,answer_seconds"]
        for m in months:
            west = (9, 11) if m <= "2024-08" else june if m == "2025-06" else (10, 12)
            lines += [f"{m}-03,North,9", f"{m}-04,North,11", f"{m}-05,West,{west[0]}",
                      f"{m}-06,West,{west[1]}"]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    write(tmp_path / "all.csv", _months((2023, 4), (2025, 8)))
    write(tmp_path / "june.csv", ["2025-06"], june=(13, 15))
    assert cli(["--project", folder, "ingest", "calls", tmp_path / "all.csv"]).exit_code == 0
    last = tmp_path / "last" / "board.md"
    assert cli(["--project", folder, "export", "markdown", "--period", "2025-08",
                "--output", last]).exit_code == 0
    assert "West (+10.0%)" in last.read_text(encoding="utf-8")
    assert cli(["--project", folder, "ingest", "calls", tmp_path / "june.csv"]).exit_code == 0
    out = tmp_path / "board.md"
    result = cli(["--project", folder, "export", "markdown", "--period", "2025-08", "--output",
                  out, "--previous", last.with_suffix(".figures.json")])
    assert result.exit_code == 0, result.output
    assert "West (+12.5%)" in out.read_text(encoding="utf-8")
    # the force: (10 + 11) / 2 = 10.5 of 10 then +5.0%; (10.5 * 11 + 11.75) / 12 = 10.604...
    # of 10.0, +6.3%
    assert [line for line in _appendix(out).splitlines() if line.startswith("| Average")] == [
        "| Average answer time, its change from the year ending March 2024 | year ending "
        "August 2025 | +0:01 (+5.0%) | +0:01 (+6.3%) |",
        "| Average answer time, by LPA: West, its change from the year ending March 2024 | "
        "year ending August 2025 | +0:01 (+10.0%) | +0:01 (+12.5%) |"]


def test_what_kpi_works_out_from_a_rates_two_kpis_does_not_redefine_it():
    """A rate of two KPIs carries what kpi works out from them (`rate_test`,
    `within_on_trust`, `counted_parts`: whether both count rows, so its limits stop at 0),
    which their own definitions in the digest already decide: a kpi that works out one more
    of them does not read every such rate of the last paper as redefined (the bundled
    sample's outcome rates among them)."""
    from dataclasses import replace

    from kpi import revisions
    from kpi.catalogue import find_project_file, load_project

    path, _ = find_project_file("sample")
    project = load_project(path.parent if path.name.endswith(".toml") else path)
    counted = [k for k in project.kpis if k.counted_parts]
    assert counted
    for kpi in counted:
        assert revisions.definition(project, kpi) == revisions.definition(
            project, replace(kpi, counted_parts=False))
