"""Loads of several files: the months of a file's rows set aside count when two files are
told apart, and a file whose lines after its header hold no data is no extract."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import inprocess
import pytest

PROJECT = """\
[project]
name = "Loads"
baseline = "2025-03"
[datasets.crimes]
date = "day"
[datasets.crimes.columns]
ref = { type = "str", from = ["Ref"] }
day = { type = "date", from = ["Date"] }
victims = { type = "int", from = ["Victims"], min = 0 }
[[priorities]]
id = "p"
title = "P"
[[kpis]]
id = "crimes"
title = "Crimes"
priority = "p"
kind = "count"
dataset = "crimes"
"""


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text(PROJECT, encoding="utf-8")
    return folder


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("Ref,Date,Victims\n" + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


def test_a_revision_whose_months_rows_were_all_set_aside_is_still_a_second_file(tmp_path):
    """An original's October (4 rows) and a revision of October (5 rows, each with -1
    victims) and November, loaded together with --skip-bad-rows: the revision's October was
    set aside and the original's stored in its place, with no word that two files held
    October. The months of rows set aside count: refused as the pair is refused without
    them."""
    folder = _folder(tmp_path)
    original = _csv(folder / "oct-original.csv", [f"O{i},2025-10-0{i + 1},1" for i in range(4)])
    revised = _csv(folder / "oct-revised.csv", [f"R{i},2025-10-0{i + 1},-1" for i in range(5)]
                   + ["N1,2025-11-01,1", "N2,2025-11-02,1"])
    done = inprocess.run(["--project", folder, "ingest", "crimes", original, revised,
                          "--skip-bad-rows"])
    assert done.returncode == 3, done.stderr
    assert (f"Error: {original} and {revised} both hold rows for 2025-10: loaded together, "
            "they would be counted twice") in done.stderr
    assert not (folder / "data" / "crimes").exists() or "version" not in inprocess.run(
        ["--project", folder, "history", "crimes"]).stdout


def test_a_file_of_separators_alone_after_its_header_is_refused(tmp_path):
    """A sheet whose rows were cleared and saved as CSV keeps lines of separators (",,"):
    loaded as a part with --parts, its months were replaced by the other part's rows alone
    (10 a month read as 6), exit 0, where a file of a header alone is refused."""
    folder = _folder(tmp_path)
    north = _csv(folder / "north.csv", [f"N{i},2025-09-0{i + 1},1" for i in range(6)])
    cleared = folder / "south-cleared.csv"
    cleared.write_text("Ref,Date,Victims\n,,\n,,\n\nRef,Date,Victims\n", encoding="utf-8")
    done = inprocess.run(["--project", folder, "ingest", "crimes", north, cleared, "--parts"])
    assert done.returncode == 3, done.stderr
    assert (f"Error: {cleared}: the file has a header but no data rows (every line after it "
            "is empty or the header again)") in done.stderr


def test_sources_in_a_folder_whose_name_holds_brackets(tmp_path):
    """`sources` patterns were joined to the project's folder and matched whole, so a folder
    named "Performance [2025]" matched no file, and "proj[1]" beside "proj1" matched the other
    project's extracts. The folder's name is matched as written, the pattern as a pattern."""
    for name in ("proj1", "proj[1]", "Performance [2025]"):
        folder = tmp_path / name
        (folder / "extracts").mkdir(parents=True)
        (folder / "kpi.toml").write_text(PROJECT.replace(
            'date = "day"\n', 'date = "day"\nsources = ["extracts/crimes-*.csv"]\n'),
            encoding="utf-8")
        rows = 3 if name == "proj1" else 2
        _csv(folder / "extracts" / "crimes-2025-10.csv",
             [f"{name[:1]}{i},2025-10-0{i + 1},1" for i in range(rows)])
    for name in ("proj[1]", "Performance [2025]"):
        done = inprocess.run(["--project", tmp_path / name, "ingest", "crimes"])
        assert done.returncode == 0, done.stderr
        assert "Loaded 2 rows into 'crimes'" in done.stderr


UTC_PROJECT = """\
[project]
name = "Loads in UTC"
baseline = "2025-03"
[datasets.incidents]
date = "opened"
time_zone = "UTC"
[datasets.incidents.columns]
ref = "str"
opened = "datetime"
[[priorities]]
id = "p"
title = "P"
[[kpis]]
id = "incidents"
title = "Incidents"
priority = "p"
kind = "count"
dataset = "incidents"
"""


def _utc_file(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("ref,opened\n" + "".join(f"{r},{t}\n" for r, t in rows), encoding="utf-8")
    return path


def test_a_load_holding_another_stretch_of_a_stored_month_is_refused(tmp_path):
    """Monthly files of a system that writes UTC, one a night: August's file holds 23:30 UTC
    on 31 August, 00:30 on 1 September in the UK, stored as September's; September's file
    (from 00:30 UTC, 01:30 UK time) replaced the month and the hour was lost, 2 incidents
    where the files hold 3, exit 0. Its rows all lie after the stored row: another stretch of
    the month, not a revision of it, refused naming both; nothing stored. A revision of
    September holding the stored stretch replaces it as ever, and --allow-shrink says the
    rows outside were removed."""
    folder = tmp_path / "p é"
    folder.mkdir()
    (folder / "kpi.toml").write_text(UTC_PROJECT, encoding="utf-8")
    august = _utc_file(folder / "incidents 2025-08.csv",
                       [("A1", "2025-08-05 10:00"), ("A2", "2025-08-31 23:30")])
    september = _utc_file(folder / "incidents 2025-09.csv",
                          [("S1", "2025-09-01 00:30"), ("S2", "2025-09-15 12:00")])
    assert inprocess.run(["--project", folder, "ingest", "incidents", august]).returncode == 0
    before = inprocess.run(["--project", folder, "history", "incidents"]).stdout
    done = inprocess.run(["--project", folder, "ingest", "incidents", september])
    assert done.returncode == 3, done.stderr
    assert (f"Error: {september}: would replace 2025-09, whose 1 stored row dated 2025-09-01 "
            "00:30 would go: its rows of the month (2025-09-01 01:30 to 2025-09-15 13:00) all "
            "lie after them, so it holds another stretch of the month, not a revision of "
            "them") in " ".join(done.stderr.split())
    assert inprocess.run(["--project", folder, "history", "incidents"]).stdout == before
    # A revision of September that holds the stored hour replaces the month.
    revision = _utc_file(folder / "revision.csv", [("A2", "2025-08-31 23:30"),
                                                   ("S1", "2025-09-01 00:30")])
    done = inprocess.run(["--project", folder, "ingest", "incidents", revision])
    assert done.returncode == 0, done.stderr
    # Rows apart from the stored stretch, all after it; --allow-shrink says the
    # stored rows were really removed.
    late = _utc_file(folder / "late.csv", [("L1", "2025-09-20 08:00")])
    done = inprocess.run(["--project", folder, "ingest", "incidents", late])
    assert done.returncode == 3, done.stderr
    assert "whose 2 stored rows dated 2025-09-01 00:30 to 2025-09-01 01:30 would go" in (
        " ".join(done.stderr.split()))
    done = inprocess.run(["--project", folder, "ingest", "incidents", late, "--allow-shrink"])
    assert done.returncode == 0, done.stderr
    shown = inprocess.run(["--project", folder, "datasets", "--format", "json"]).stdout
    assert '"rows": 2' in shown.replace(" ", "") or '"rows":2' in shown.replace(" ", "")


@pytest.mark.parametrize("declared", ["date", "datetime"])
def test_utc_monthly_files_with_offsets_lose_no_row_whatever_the_type_declared(tmp_path,
                                                                              declared):
    """The same UTC monthly files, their times written with +00:00, into a `date` column: the
    row at 23:30 UTC on 31 August (00:30 BST on 1 September, zoneinfo) was stored on 1
    September, and September's file replaced the month unseen (2025-09 held 1 where the files
    hold 2, exit 0). Refused at that row in a `date` column, and at September's load in a
    `datetime` one: neither stores a month without it."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text(
        UTC_PROJECT.replace('time_zone = "UTC"\n', "").replace(
            'opened = "datetime"', f'opened = "{declared}"'), encoding="utf-8")
    late = "2025-08-31T23:30:00+00:00"
    assert datetime.fromisoformat(late).astimezone(ZoneInfo("Europe/London")).date() == \
        date(2025, 9, 1)
    august = _utc_file(folder / "incidents 2025-08.csv",
                       [("A1", "2025-08-05T10:00:00+00:00"), ("A2", late)])
    september = _utc_file(folder / "incidents 2025-09.csv",
                          [("S1", "2025-09-15T12:00:00+00:00")])
    first = inprocess.run(["--project", folder, "ingest", "incidents", august])
    if declared == "date":
        assert first.returncode == 3, first.stderr
        assert (f"Error: {august}, row 3, column 'opened': expected a date such as 2025-09-30 "
                f"or 30/09/2025, found '{late}', an instant whose UK date is 2025-09-01: "
                "declare the column datetime") in " ".join(first.stderr.split())
        return
    assert first.returncode == 0, first.stderr
    done = inprocess.run(["--project", folder, "ingest", "incidents", september])
    assert done.returncode == 3, done.stderr
    assert "so it holds another stretch of the month" in " ".join(done.stderr.split())


def test_a_load_holding_stretches_either_side_of_a_stored_one_is_refused(tmp_path):
    """The second week of September stored; the first and the third loaded together with
    --parts (a weekly job's missed weeks filled in): they replaced the month, the second
    week's rows gone, 5 incidents where the files hold 8, exit 0. Rows either side of the
    stored stretch and none within it are another stretch of the month too; a load holding a
    row within it replaces the month as a revision."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text(UTC_PROJECT, encoding="utf-8")
    week = {n: _utc_file(folder / f"week {n}.csv",
                         [(f"W{n}-{i}", f"2025-09-{7 * (n - 1) + 2 + i:02d} 10:00")
                          for i in range(3)]) for n in (1, 2, 3)}
    assert inprocess.run(["--project", folder, "ingest", "incidents", week[2]]).returncode == 0
    done = inprocess.run(["--project", folder, "ingest", "incidents", week[1], week[3],
                          "--parts"])
    assert done.returncode == 3, done.stderr
    assert ("would replace 2025-09, whose 3 stored rows dated 2025-09-09 11:00 to 2025-09-11 "
            "11:00 would go: its rows of the month (2025-09-02 11:00 to 2025-09-18 11:00) all "
            "lie either side of them") in " ".join(done.stderr.split())
    within = _utc_file(folder / "revision.csv", [("W1-0", "2025-09-02 10:00"),
                                                 ("W2-1", "2025-09-10 10:00"),
                                                 ("W3-2", "2025-09-18 10:00")])
    done = inprocess.run(["--project", folder, "ingest", "incidents", within])
    assert done.returncode == 0, done.stderr
