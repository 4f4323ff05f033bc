"""kpi export --previous where kpi.toml changed, not the data: a setting that decides which rows
a KPI's figures read, or whether a figure is given (`replace_by`, a `[peers.*]` group,
`as_at`, `sparse`, `whole_months`, a derived column the KPI reads), redefines the KPI, which is
named and not compared; one that does not (a derived column no KPI reads) leaves it compared,
its revisions listed. And a part new to a breakdown is compared in each window printed, by the
rule of a part's figure then as now. Every figure is counted by hand from the rows written
here."""

from __future__ import annotations

import calendar
import csv
import dataclasses
from pathlib import Path

import inprocess
import pytest

CRIMES = """
[project]
name = "Crimes"
baseline = "2024-03"
data = "data"

[datasets.crimes]
date = "recorded"
unique = "ref"
[datasets.crimes.columns]
ref = "str"
recorded = "date"
force = "str"
lpa = "str"
offence = "str"
loss = { type = "float", required = false }
[datasets.crimes.derived]
burglary = "offence = 'Burglary'"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "total"
title = "Total crime"
priority = "p"
kind = "count"
dataset = "crimes"
better = "lower"
breakdowns = ["lpa"]

[[kpis]]
id = "burg"
title = "Burglary"
priority = "p"
kind = "count"
dataset = "crimes"
filter = "burglary"
better = "lower"
"""

STAFF = """
[project]
name = "Staff"
baseline = "2024-03"
data = "data"

[datasets.staff]
date = "as_at"
as_at = "last"
[datasets.staff.columns]
person = "str"
as_at = "date"
role = "str"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "headcount"
title = "Headcount"
priority = "p"
kind = "snapshot"
dataset = "staff"
better = "higher"
"""


def _months(last=(2025, 9)):
    return [(y, m) for y in (2023, 2024, 2025) for m in range(1, 13) if (y, m) <= last]


def _crimes(month_rows) -> list[dict]:
    """Each month's crimes: force A 2 a day to the 20th, force C from June 2024 one a day to
    the 10th; LPAs North, South and East in turn, every third A crime a burglary."""
    rows = []
    for y, m in month_rows:
        for day in range(1, 21):
            for i in range(2):
                n = len(rows)
                rows.append({"ref": f"A{y}{m:02d}{day:02d}{i}",
                             "recorded": f"{y}-{m:02d}-{day:02d}",
                             "force": "A", "lpa": ("North", "South", "East")[n % 3],
                             "offence": "Burglary" if n % 3 == 0 else "Theft", "loss": n % 500})
        if (y, m) >= (2024, 6):
            for day in range(1, 11):
                rows.append({"ref": f"C{y}{m:02d}{day:02d}", "recorded": f"{y}-{m:02d}-{day:02d}",
                             "force": "C", "lpa": "North", "offence": "Theft", "loss": 1})
    return rows


def _write(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _kpi(folder: Path, *args) -> str:
    out = inprocess.run(["--project", folder, *args])
    assert out.returncode == 0, out.stderr
    return out.stdout


def _paper(folder: Path, name: str, period: str, previous: Path | None = None) -> str:
    out = folder / f"{name}.md"
    _kpi(folder, "export", "markdown", "--full", "--period", period, "--output", out,
         *(["--previous", previous] if previous is not None else []))
    return out.read_text(encoding="utf-8")


def _appendix(paper: str) -> tuple[list[tuple[str, ...]], str]:
    """The rows of the appendix of revisions, and its text."""
    text = paper.split("Figures revised since the last paper\n")[1].split("\n## ")[0]
    rows = [tuple(cell.strip() for cell in line.strip("|").split("|"))
            for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    return rows[1:], text


def _in(rows: list[dict], start: str, end: str, **match) -> int:
    """Rows recorded from month `start` to month `end` (YYYY-MM), matching `match`."""
    return sum(1 for r in rows if start <= r["recorded"][:7] <= end
               and all(r[k] == v for k, v in match.items()))


# --- The digest covers every setting that decides what a figure reads, and no other


def _project(tmp_path: Path, text: str):
    from kpi.catalogue import load_project_file

    (tmp_path / "kpi.toml").write_text(text, encoding="utf-8")
    return load_project_file(tmp_path / "kpi.toml")


def test_every_setting_of_a_dataset_is_read_or_not_by_the_digest():
    """A setting kpi adds to a dataset's declaration, or to the project, is put on one side:
    one that decides what a figure reads, left out of the digest, made figures read as revised
    where the definition moved them."""
    from kpi import revisions
    from kpi.catalogue import DatasetSpec, Project

    fields = {f.name for f in dataclasses.fields(DatasetSpec)}
    assert revisions.DATASET_READ | revisions.DATASET_UNREAD == fields
    assert not revisions.DATASET_READ & revisions.DATASET_UNREAD
    fields = {f.name for f in dataclasses.fields(Project)}
    assert revisions.PROJECT_READ | revisions.PROJECT_UNREAD == fields
    assert not revisions.PROJECT_READ & revisions.PROJECT_UNREAD


def test_each_setting_read_redefines_the_kpis_reading_it(tmp_path):
    """Changed with no row loaded again, each setting `reading` names moves the KPI's digest
    (so it is named redefined, not compared), and each other setting of the dataset leaves it
    as it was. A derived column moves the digest of the KPI whose filter reads it (Burglary),
    not of the one that reads none (Total crime)."""
    from kpi import revisions
    from kpi.catalogue import DateParts, DerivedColumn, PeerGroup
    from kpi.periods import Month

    project = _project(tmp_path, CRIMES)
    total, burg = project.known_kpi("total"), project.known_kpi("burg")
    spec = project.datasets["crimes"]

    def digests(dataset=spec, **changed):
        moved = dataclasses.replace(project, datasets={"crimes": dataset}, **changed)
        return (revisions.definition(moved, total), revisions.definition(moved, burg))

    before = digests()
    edits = {
        "date": dataclasses.replace(spec, date="ref"),
        "date_parts": dataclasses.replace(spec, date_parts=DateParts("month", "recorded", "lpa")),
        "as_at": dataclasses.replace(spec, as_at="month"),
        "replace_by": dataclasses.replace(spec, replace_by=("force",)),
        "sparse": dataclasses.replace(spec, sparse=True),
        "whole_months": dataclasses.replace(spec, whole_months=frozenset({Month.typed("2024-10")})),
    }
    assert set(edits) == revisions.DATASET_READ - {"derived"}
    for name, dataset in edits.items():
        now = digests(dataset)
        assert now[0] != before[0] and now[1] != before[1], name
    # a derived column: the KPI reading it redefined, the other not
    reread = dataclasses.replace(spec, derived=(DerivedColumn("burglary", "offence = 'Theft'"),))
    assert digests(reread)[0] == before[0] and digests(reread)[1] != before[1]
    # one no KPI reads: neither
    added = dataclasses.replace(spec, derived=(*spec.derived,
                                               DerivedColumn("big_loss", "loss > 400")))
    assert digests(added) == before
    # a [peers.*] group over a column the dataset has tells its parts apart: both; one over
    # a column it has not, neither
    peers = {"g": PeerGroup("g", "force", ("A", "C"))}
    assert all(a != b for a, b in zip(digests(peers=peers), before, strict=True))
    assert digests(peers={"g": PeerGroup("g", "region", ("X",))}) == before
    # the settings left out: where extracts are found, their wording, what only refuses
    unread = {"description": "Crimes", "sources": ("crimes/*.csv",), "published": "quarterly",
              "extra_columns": "error", "sheet": "Data", "unique": None,
              "time_zone": "Europe/Paris"}
    assert set(unread) <= revisions.DATASET_UNREAD
    for name, value in unread.items():
        assert digests(dataclasses.replace(spec, **{name: value})) == before, name


def test_a_breakdowns_column_derived_otherwise_moves_its_parts_digest_alone(tmp_path):
    """A part's figure's digest holds the derivation of its breakdown's column; the KPI's own
    figures' does not (a breakdown added is wording, not a redefinition)."""
    from kpi import revisions
    from kpi.catalogue import DerivedColumn

    project = _project(tmp_path, CRIMES)
    total = project.known_kpi("total")
    spec = project.datasets["crimes"]
    area = dataclasses.replace(spec, derived=(*spec.derived, DerivedColumn("area", "lpa")))
    moved = dataclasses.replace(spec, derived=(*spec.derived,
                                               DerivedColumn("area", "UPPER(lpa)")))

    def digest(dataset, by=None):
        return revisions.definition(dataclasses.replace(project, datasets={"crimes": dataset}),
                                    total, by=by)

    assert digest(area) == digest(moved) == digest(spec)
    assert digest(area, "area") != digest(moved, "area")
    assert digest(area, "lpa") == digest(moved, "lpa")


# --- End to end: the figures printed, then and now


def _staff_rows(path: Path) -> Path:
    """Each month of 2024 and 2025 to September: 10 officers rolled 3 days before the month's
    end, 12 + (month mod 3) staff on its last day."""
    rows = []
    for y, m in _months():
        if y < 2024:
            continue
        last = calendar.monthrange(y, m)[1]
        rows += [{"person": f"O{i}", "as_at": f"{y}-{m:02d}-{last - 3:02d}", "role": "officer"}
                 for i in range(10)]
        rows += [{"person": f"S{i}", "as_at": f"{y}-{m:02d}-{last:02d}", "role": "staff"}
                 for i in range(12 + m % 3)]
    return _write(path, rows)


def test_replace_by_declared_with_no_load_redefines_not_revises(tmp_path):
    """`replace_by = ["role"]` added to a roll read at its last date, no row loaded again: the
    headcount now reads each role's last roll, 10 officers + 12 staff = 22 in September 2025,
    where the last paper printed the last day's 12 staff. That was listed as revised
    (12 -> 22, and 13 -> 23 for April 2024); it is the definition's doing, named as such."""
    (tmp_path / "kpi.toml").write_text(STAFF, encoding="utf-8")
    _kpi(tmp_path, "ingest", "staff", _staff_rows(tmp_path / "roll.csv"))
    _paper(tmp_path, "a", "2025-09")
    text = (tmp_path / "kpi.toml").read_text(encoding="utf-8")
    (tmp_path / "kpi.toml").write_text(
        text.replace('as_at = "last"\n', 'as_at = "last"\nreplace_by = ["role"]\n'),
        encoding="utf-8")
    paper = _paper(tmp_path, "b", "2025-09", tmp_path / "a.figures.json")
    rows, text = _appendix(paper)
    assert rows == []
    assert ("1 KPI(s) redefined since the last paper (their filter, kind, rounding or other "
            "definition changed), so their figures are not compared with it: Headcount.") in text
    # the figure did move, by the definition: 10 + 12 + 9 mod 3 = 22
    assert "Headcount" in (summary := _kpi(tmp_path, "summary", "--period", "2025-09"))
    assert " 22 " in summary


def _crimes_project(folder: Path, text: str = CRIMES) -> list[dict]:
    (folder / "kpi.toml").write_text(text, encoding="utf-8")
    rows = _crimes(_months())
    _kpi(folder, "ingest", "crimes", _write(folder / "crimes.csv", rows))
    return rows


def test_a_peer_group_declared_with_no_load_redefines_not_revises(tmp_path):
    """A `[peers.g]` group over force added, no row loaded again: force C supplies from June
    2024 only, so the year ending March 2024 now lacks a part and has no figure. That was
    listed as revised (672 -> no figure, here 480 -> no figure); the KPIs are redefined."""
    rows = _crimes_project(tmp_path)
    first = _paper(tmp_path, "a", "2025-09")
    # by hand: A's 40 a month, 12 months
    assert _in(rows, "2023-04", "2024-03") == 480
    assert "baseline of 480" in first
    with (tmp_path / "kpi.toml").open("a", encoding="utf-8") as f:
        f.write('\n[peers.g]\ncolumn = "force"\nmembers = ["A", "C"]\n')
    rows, text = _appendix(_paper(tmp_path, "b", "2025-09", tmp_path / "a.figures.json"))
    assert rows == []
    assert "2 KPI(s) redefined since the last paper" in text
    assert "Total crime and Burglary." in text


def test_a_derived_column_no_kpi_reads_hides_no_revision(tmp_path):
    """June 2023 loaded again with 2 more crimes (one a burglary), and a derived column added
    that no KPI reads: both KPIs were named redefined, and their revisions not listed. Now
    the revisions are listed, counted by hand, and nothing is named redefined."""
    rows = _crimes_project(tmp_path)
    _paper(tmp_path, "a", "2025-08")
    june = [r for r in rows if r["recorded"].startswith("2023-06")]
    late = [{"ref": "X1", "recorded": "2023-06-05", "force": "A", "lpa": "North",
             "offence": "Theft", "loss": 10},
            {"ref": "X2", "recorded": "2023-06-06", "force": "A", "lpa": "North",
             "offence": "Burglary", "loss": 10}]
    _kpi(tmp_path, "ingest", "crimes", _write(tmp_path / "june.csv", june + late))
    text = (tmp_path / "kpi.toml").read_text(encoding="utf-8")
    (tmp_path / "kpi.toml").write_text(
        text.replace('burglary = "offence', 'big_loss = "loss > 400"\nburglary = "offence'),
        encoding="utf-8")
    rows_now = [r for r in rows if not r["recorded"].startswith("2023-06")] + june + late
    found, text = _appendix(_paper(tmp_path, "b", "2025-08", tmp_path / "a.figures.json"))
    then_total, now_total = _in(rows, "2023-04", "2024-03"), _in(rows_now, "2023-04", "2024-03")
    then_burg = _in(rows, "2023-04", "2024-03", offence="Burglary")
    now_burg = _in(rows_now, "2023-04", "2024-03", offence="Burglary")
    north_then = _in(rows, "2023-04", "2024-03", lpa="North")
    north_now = _in(rows_now, "2023-04", "2024-03", lpa="North")
    assert (now_total - then_total, now_burg - then_burg, north_now - north_then) == (2, 1, 2)
    assert found == [
        ("Total crime", "year ending March 2024", f"{then_total:,}", f"{now_total:,}"),
        ("Burglary", "year ending March 2024", f"{then_burg:,}", f"{now_burg:,}"),
        ("Total crime, by LPA: North", "year ending March 2024", f"{north_then:,}",
         f"{north_now:,}")]
    assert "redefined" not in text


def test_a_part_new_to_a_breakdown_is_compared_in_each_window(tmp_path):
    """A June 2023 crime re-recorded under a new LPA, West: West has one crime in the year
    ending March 2024 now, none then, and none in the year ending August 2025 then or now.
    The appendix listed West's August 2025 figure ("no figure" -> 0: a count of no rows, then
    and now) and missed March 2024's; now March 2024's alone is listed, beside the LPA it
    left."""
    rows = _crimes_project(tmp_path)
    first = _paper(tmp_path, "a", "2025-08")
    assert "West" not in first
    june = [r for r in rows if r["recorded"].startswith("2023-06")]
    moved = next(r for r in june if r["lpa"] == "East")
    june = [{**r, "lpa": "West"} if r is moved else r for r in june]
    _kpi(tmp_path, "ingest", "crimes", _write(tmp_path / "june.csv", june))
    rows_now = [r for r in rows if not r["recorded"].startswith("2023-06")] + june
    found, _ = _appendix(_paper(tmp_path, "b", "2025-08", tmp_path / "a.figures.json"))
    counts = {(lpa, when): _in(r, *span, lpa=lpa)
              for lpa in ("East", "West")
              for when, r in (("then", rows), ("now", rows_now))
              for span in [("2023-04", "2024-03")]}
    assert counts[("West", "then")] == 0 and counts[("West", "now")] == 1
    assert _in(rows, "2024-09", "2025-08", lpa="West") == 0
    assert _in(rows_now, "2024-09", "2025-08", lpa="West") == 0
    assert found == [
        ("Total crime, by LPA: East", "year ending March 2024", f"{counts[('East', 'then')]:,}",
         f"{counts[('East', 'now')]:,}"),
        ("Total crime, by LPA: West", "year ending March 2024", "no figure", "1")]


@pytest.mark.parametrize("edit", ["replace_by", "whole_months"])
def test_other_settings_read_with_no_load_redefine_not_revise(tmp_path, edit):
    """`replace_by` or `whole_months` declared with no row loaded again: whatever they move,
    the KPIs reading the dataset are named redefined, and no figure is listed as revised."""
    _crimes_project(tmp_path)
    _paper(tmp_path, "a", "2025-09")
    line = {"replace_by": 'replace_by = ["force"]\n',
            "whole_months": 'whole_months = ["2024-10"]\n'}[edit]
    text = (tmp_path / "kpi.toml").read_text(encoding="utf-8")
    (tmp_path / "kpi.toml").write_text(text.replace('unique = "ref"\n', f'unique = "ref"\n{line}'),
                                       encoding="utf-8")
    found, text = _appendix(_paper(tmp_path, "b", "2025-09", tmp_path / "a.figures.json"))
    assert found == []
    assert "2 KPI(s) redefined since the last paper" in text


def test_a_breakdowns_column_derived_otherwise_is_named_its_kpi_still_compared(tmp_path):
    """The breakdown's column `area` derived otherwise (East's crimes now counted under North),
    no row loaded again: its parts' figures moved by the definition, and are not listed as
    revised; the breakdown is named redefined, and its KPI's own figures, which no
    derivation moved, are compared (none revised)."""
    text = CRIMES.replace('breakdowns = ["lpa"]', 'breakdowns = ["area"]').replace(
        'burglary = "offence', 'area = "lpa"\nburglary = "offence')
    rows = _crimes_project(tmp_path, text)
    first = _paper(tmp_path, "a", "2025-09")
    # by hand, the year ending September 2025: A's 40 a month, a third each LPA; C's 10 North
    east = _in(rows, "2024-10", "2025-09", lpa="East")
    assert east == 160 and "East" in first
    toml = tmp_path / "kpi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'area = "lpa"', "area = \"CASE WHEN lpa = 'East' THEN 'North' ELSE lpa END\""),
        encoding="utf-8")
    found, text = _appendix(_paper(tmp_path, "b", "2025-09", tmp_path / "a.figures.json"))
    assert found == []
    assert ("1 KPI(s) redefined since the last paper (their filter, kind, rounding or other "
            "definition changed), so their figures are not compared with it: Total crime by "
            "area.") in text
