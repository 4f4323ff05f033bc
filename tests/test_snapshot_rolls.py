"""A snapshot (as at one month) counts every row of its month: a month holding a roll taken at
several dates counted each person once a date (a headcount of 40 where 10 are in post, exit 0).
What the rows prove is refused in one line (`kpi.engine.refuse_repeated_rolls`), and a dataset
may declare which of its rows a month's figure reads (`as_at`; docs/catalogue.md, "Snapshots").

Every expected figure is counted by hand from the rows written here."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from kpi.catalogue import parse_project_file
from kpi.errors import ConfigError

WEEKS = ("2025-09-05", "2025-09-12", "2025-09-19", "2025-09-26")

PEOPLE = """\
[project]
name = "Rolls"
baseline = "2025-03"
snapshot_baseline = "2025-08"

[datasets.staff]
date = "as_at"
{as_at}
[datasets.staff.columns]
as_at = "{date_type}"
person = "str"
role = "str"
minority = "bool"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "officers"
title = "Officer headcount"
priority = "p"
kind = "snapshot"
dataset = "staff"
filter = "role = 'officer'"
better = "higher"

[[kpis]]
id = "minority"
title = "Minority share"
priority = "p"
kind = "snapshot"
dataset = "staff"
numerator = "minority"
better = "higher"
"""

TABLE = """\
[project]
name = "Table"
baseline = "2025-03"
snapshot_baseline = "2025-08"

[datasets.workforce]
date = "date"
{as_at}
[datasets.workforce.columns]
date = "date"
role = "str"
headcount = "int"
women = "int"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "officers"
title = "Officer headcount"
priority = "p"
kind = "snapshot"
dataset = "workforce"
filter = "role = 'Police officer'"
value = "headcount"
better = "higher"

[[kpis]]
id = "women"
title = "Officers: women"
priority = "p"
kind = "snapshot"
dataset = "workforce"
filter = "role = 'Police officer'"
numerator = "women"
denominator = "headcount"
better = "higher"
"""

EVENTS = """\
[project]
name = "Events"
baseline = "2025-03"
snapshot_baseline = "2025-08"

[datasets.incidents]
date = "day"
{as_at}
[datasets.incidents.columns]
day = "date"
lpa = "str"
grade = "str"
attended = "bool"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "emergencies"
title = "Emergency incidents in the month"
priority = "p"
kind = "snapshot"
dataset = "incidents"
filter = "grade = 'Emergency'"
better = "neutral"
"""


def _write(folder: Path, toml: str, name: str, header: list[str], rows: list[tuple],
           as_at: str = "", **fields: str) -> Path:
    (folder / "kpi.toml").write_text(toml.format(as_at=as_at, **fields), encoding="utf-8")
    with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return folder


def _people(folder: Path, as_at: str = "", date_type: str = "date", time: str = "") -> Path:
    """August: one roll of 10 officers (3 minority). September: the same 10 officers and a
    member of staff (minority) at each of four weekly dates; officer P9 left before the
    last, so the month's last roll holds 9 officers, 4 of 10 people minority. With `time`,
    each roll is dated with that time of day, its people a minute apart."""

    def at(day: str, i: int) -> str:
        return f"{day} {time}:{i:02d}" if time else day

    rows: list[tuple] = [(at("2025-08-29", i), f"P{i}", "officer", i < 3) for i in range(10)]
    for week in WEEKS:
        rows += [(at(week, i), f"P{i}", "officer", i < 3) for i in range(10)
                 if not (i == 9 and week == WEEKS[-1])]
        rows.append((at(week, 10), "S1", "staff", True))
    return _write(folder, PEOPLE, "staff", ["as_at", "person", "role", "minority"], rows,
                  as_at, date_type=date_type)


def _table(folder: Path, as_at: str = "") -> Path:
    """A table of role groups, as a HR system's report: August 100 officers (40 women), and
    in September the same table at each week, officers 100, 102, 104 and 106 (women 40, 41,
    42 and 43)."""
    rows: list[tuple] = [("2025-08-29", "Police officer", 100, 40),
                         ("2025-08-29", "PCSO", 20, 10)]
    for week, (count, women) in zip(WEEKS, ((100, 40), (102, 41), (104, 42), (106, 43)),
                                    strict=True):
        rows += [(week, "Police officer", count, women), (week, "PCSO", 20, 10)]
    return _write(folder, TABLE, "workforce", ["date", "role", "headcount", "women"], rows,
                  as_at)


def _events(folder: Path, as_at: str = "") -> Path:
    """Incidents, events: August 2 emergencies; September 5 emergencies on three days (two
    of them in Birmingham on the 3rd) and a priority incident."""
    rows = [("2025-08-04", "Birmingham", "Emergency", True),
            ("2025-08-20", "Coventry", "Emergency", False),
            ("2025-09-03", "Birmingham", "Emergency", True),
            ("2025-09-03", "Birmingham", "Emergency", True),
            ("2025-09-10", "Birmingham", "Emergency", True),
            ("2025-09-10", "Coventry", "Priority", True),
            ("2025-09-17", "Coventry", "Emergency", False),
            ("2025-09-17", "Birmingham", "Emergency", True)]
    return _write(folder, EVENTS, "incidents", ["day", "lpa", "grade", "attended"], rows,
                  as_at)


def _load(cli, folder: Path, dataset: str) -> None:
    result = cli(["--project", folder, "ingest", dataset, folder / f"{dataset}.csv"])
    assert result.exit_code == 0, result.output


def _figures(cli, folder: Path) -> dict[str, tuple[float, float]]:
    result = cli(["--project", folder, "summary", "--period", "2025-09", "--format", "json"])
    assert result.exit_code == 0, result.output
    return {k["id"]: (k["comparison"]["value"], k["current"]["value"])
            for k in json.loads(result.stdout)["kpis"]}


def _refused_line(result) -> str:
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    assert "Hint: " in result.output and 'as_at = "last"' in result.output
    return lines[0]


def test_a_month_of_weekly_rolls_of_people_is_refused(tmp_path, cli):
    """Ten officers listed at four dates of September read as a headcount of 39 (and the
    minority share as 16 of 43), exit 0, where the last roll holds 9 officers."""
    folder = _people(tmp_path)
    _load(cli, folder, "staff")
    for command in (["summary", "--period", "2025-09"],
                    ["show", "officers", "--period", "2025-09"],
                    ["compare", "--period", "2025-09", "--by", "role"],
                    ["export", "markdown", "--period", "2025-09", "--output",
                     tmp_path / "out.md"]):
        line = _refused_line(cli(["--project", folder, *command]))
        assert re.search(r"dataset 'staff', 2025-09, column 'as_at': the month holds a roll "
                         r"at each of 4 dates \(2025-09-05, 2025-09-12, 2025-09-19, "
                         r"2025-09-26\), each listing person 'P0', role 'officer', minority "
                         r"true once, so snapshot '\w+' would count it 4 times", line), line
        assert not (tmp_path / "out.md").exists()


def test_a_column_naming_each_roll_does_not_hide_the_rolls(tmp_path, cli):
    """The same rolls, each row carrying its roll's name ("Weekly roll 2025-09-05"), as
    many roll extracts do: read as a label telling people apart, no person was listed on two
    dates, and the four rolls counted 39 officers, exit 0. A column with one value on each
    date and another on another names the roll, not the person: refused as before."""
    toml = PEOPLE.replace('minority = "bool"\n', 'minority = "bool"\nroll = "str"\n')
    rows: list[tuple] = [("2025-08-29", f"P{i}", "officer", i < 3, "Roll 2025-08-29")
                         for i in range(10)]
    for week in WEEKS:
        rows += [(week, f"P{i}", "officer", i < 3, f"Weekly roll {week}") for i in range(10)
                 if not (i == 9 and week == WEEKS[-1])]
        rows.append((week, "S1", "staff", True, f"Weekly roll {week}"))
    folder = _write(tmp_path, toml, "staff", ["as_at", "person", "role", "minority", "roll"],
                    rows, date_type="date")
    _load(cli, folder, "staff")
    line = _refused_line(cli(["--project", folder, "summary", "--period", "2025-09"]))
    assert re.search(r"the month holds a roll at each of 4 dates \(2025-09-05, 2025-09-12, "
                     r"2025-09-19, 2025-09-26\), each listing person 'P0', role 'officer', "
                     r"minority true once, so snapshot '\w+' would count it 4 times", line), line
    # declared, the last roll is read: 9 officers
    folder = _write(tmp_path, toml, "staff", ["as_at", "person", "role", "minority", "roll"],
                    rows, as_at='as_at = "last"', date_type="date")
    assert _figures(cli, folder)["officers"] == (10, 9)


def test_a_record_key_unique_on_every_row_does_not_hide_the_rolls(tmp_path, cli):
    """The same rolls, each row carrying the extract's own record key ("20250905-0001"),
    unique on every row and declared text: read as a label telling people apart, no person
    was listed on two dates, and the four rolls counted 39 officers, exit 0. A column unique
    on every row, where the other labels already tell each day's rows apart, tells no person
    apart: refused as without it, naming the same person."""
    toml = PEOPLE.replace('person = "str"\n', 'record = "str"\nperson = "str"\n')
    header = ["as_at", "record", "person", "role", "minority"]
    rows = [(day, f"{day.replace('-', '')}-{i:04d}", person, role, minority)
            for i, (day, person, role, minority) in enumerate(_roll_rows())]
    folder = _write(tmp_path, toml, "staff", header, rows, date_type="date")
    _load(cli, folder, "staff")
    line = _refused_line(cli(["--project", folder, "summary", "--period", "2025-09"]))
    assert re.search(r"the month holds a roll at each of 4 dates \(2025-09-05, 2025-09-12, "
                     r"2025-09-19, 2025-09-26\), each listing person 'P0', role 'officer', "
                     r"minority true once, so snapshot '\w+' would count it 4 times", line), line
    # declared, the last roll is read: 9 officers
    folder = _write(tmp_path, toml, "staff", header, rows, as_at='as_at = "last"',
                    date_type="date")
    assert _figures(cli, folder)["officers"] == (10, 9)


def _roll_rows() -> list[tuple]:
    """The rows of `_people`, dated by day: August's roll of 10 officers, September's four
    weekly rolls (P9 gone by the last) each with member of staff S1."""
    rows: list[tuple] = [("2025-08-29", f"P{i}", "officer", i < 3) for i in range(10)]
    for week in WEEKS:
        rows += [(week, f"P{i}", "officer", i < 3) for i in range(10)
                 if not (i == 9 and week == WEEKS[-1])]
        rows.append((week, "S1", "staff", True))
    return rows


def test_the_month_s_last_roll_is_read_where_the_dataset_declares_it(tmp_path, cli):
    folder = _people(tmp_path, 'as_at = "last"')
    _load(cli, folder, "staff")
    # By hand: August's one roll, 10 officers and 3 of 10 minority; September's last roll
    # (the 26th), 9 officers and, with S1, 4 of 10 people minority.
    figures = _figures(cli, folder)
    assert figures["officers"] == (10, 9)
    assert figures["minority"] == (30.0, 40.0)
    # The breakdown reads the same rows: the last roll's 9 officers and 1 member of staff.
    result = cli(["--project", folder, "compare", "--period", "2025-09", "--by", "role",
                  "--kpi", "officers", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"officer"' in result.stdout and "39" not in result.stdout


def test_a_table_of_role_groups_at_each_week_is_refused_and_its_last_week_read(tmp_path,
                                                                               cli):
    folder = _table(tmp_path)
    _load(cli, folder, "workforce")
    line = _refused_line(cli(["--project", folder, "summary", "--period", "2025-09"]))
    assert ("dataset 'workforce', 2025-09, column 'date': the month holds a roll at each of "
            "4 dates (2025-09-05, 2025-09-12, 2025-09-19, 2025-09-26), each listing role "
            "'PCSO' once, so snapshot 'officers' would count it 4 times") in line
    # Declared, the last week's table: 106 officers, 43 of them women (40.6%); before, 412
    # officers (100 + 102 + 104 + 106), exit 0.
    _table(tmp_path, 'as_at = "last"')
    figures = _figures(cli, folder)
    assert figures["officers"] == (100, 106)
    assert figures["women"] == (40.0, pytest.approx(100 * 43 / 106))


def test_events_repeating_their_labels_on_a_day_are_counted_as_before(tmp_path, cli):
    """The sample's snapshot of one month's incidents: rows of events list the same labels
    twice on a day (two Birmingham emergencies on the 3rd), so no month reads as rolls."""
    folder = _events(tmp_path)
    _load(cli, folder, "incidents")
    assert _figures(cli, folder)["emergencies"] == (2, 5)


def test_events_declared_so_are_counted_where_their_days_look_like_rolls(tmp_path, cli):
    """One emergency a day in Birmingham on three days looks like a roll of one taken three
    times: refused until the dataset says its rows are events (`as_at = "month"`)."""
    rows = [("2025-08-04", "Birmingham", "Emergency", True),
            *((day, "Birmingham", "Emergency", True)
              for day in ("2025-09-03", "2025-09-10", "2025-09-17"))]
    folder = _write(tmp_path, EVENTS, "incidents", ["day", "lpa", "grade", "attended"], rows)
    _load(cli, folder, "incidents")
    line = _refused_line(cli(["--project", folder, "summary", "--period", "2025-09"]))
    assert "each listing lpa 'Birmingham', grade 'Emergency', attended true once" in line
    _write(tmp_path, EVENTS, "incidents", ["day", "lpa", "grade", "attended"], rows,
           'as_at = "month"')
    assert _figures(cli, folder)["emergencies"] == (1, 3)


def test_a_roll_a_month_dated_by_its_month_is_read_as_before(tmp_path, cli):
    """A date column of months gives every row of a month one date: one roll a month, as
    the sample's ethics training and case file quality hold; nothing to refuse."""
    rows = [("2025-08", f"P{i}", "officer", i < 3) for i in range(10)]
    rows += [("2025-09", f"P{i}", "officer", i < 3) for i in range(9)]
    folder = _write(tmp_path, PEOPLE, "staff", ["as_at", "person", "role", "minority"], rows,
                    date_type="month")
    _load(cli, folder, "staff")
    assert _figures(cli, folder)["officers"] == (10, 9)


def test_as_at_is_refused_where_it_reads_nothing(tmp_path):
    _people(tmp_path, 'as_at = "first"')
    with pytest.raises(ConfigError) as caught:
        parse_project_file(tmp_path / "kpi.toml")
    assert "key 'as_at': must be 'last'" in str(caught.value)
    _people(tmp_path, 'as_at = "last"', date_type="month")
    with pytest.raises(ConfigError) as caught:
        parse_project_file(tmp_path / "kpi.toml")
    assert ("key 'as_at': 'last' chooses the month's last date, and the dataset's date is "
            "not a column of type date or datetime") in str(caught.value)


def test_the_last_roll_is_each_part_s_where_parts_replace_one_another(tmp_path, cli):
    """Two forces' rolls, each loaded as its own part (`replace_by`), dated on different
    days: each force's last roll is read, not only the force dated last."""
    toml = PEOPLE.replace('date = "as_at"\n', 'date = "as_at"\nreplace_by = "force"\n') \
        .replace('person = "str"', 'person = "str"\nforce = "str"')
    rows = [("2025-08-29", "North", f"N{i}", "officer", False) for i in range(4)]
    rows += [("2025-08-29", "South", f"S{i}", "officer", False) for i in range(6)]
    for week in WEEKS[:2]:  # North's last roll is the 12th, South's the 26th
        rows += [(week, "North", f"N{i}", "officer", False) for i in range(5)]
    for week in WEEKS:
        rows += [(week, "South", f"S{i}", "officer", False) for i in range(7)]
    folder = _write(tmp_path, toml, "staff", ["as_at", "force", "person", "role", "minority"],
                    rows, 'as_at = "last"', date_type="date")
    _load(cli, folder, "staff")
    # By hand: August 4 + 6; September's last rolls, North 5 (the 12th) and South 7.
    assert _figures(cli, folder)["officers"] == (10, 12)


def test_rolls_dated_with_a_time_of_day_are_rolls_of_that_day(tmp_path, cli):
    """A roll's datetimes differ by the minute it was written at: its rolls are its days
    (the UK day of each time), and the month's last roll is the last day's rows."""
    folder = _people(tmp_path, date_type="datetime", time="23:30")
    _load(cli, folder, "staff")
    line = _refused_line(cli(["--project", folder, "summary", "--period", "2025-09"]))
    assert "the month holds a roll at each of 4 dates (2025-09-05, 2025-09-12," in line
    _people(tmp_path, 'as_at = "last"', date_type="datetime", time="23:30")
    assert _figures(cli, folder) == {"officers": (10, 9), "minority": (30.0, 40.0)}


def test_the_python_face_refuses_and_reads_as_the_command_line_does(tmp_path, cli):
    import polars as pl

    import kpi
    from kpi.errors import DataError

    folder = _people(tmp_path)
    _load(cli, folder, "staff")
    with pytest.raises(DataError, match=r"dataset 'staff', 2025-09, column 'as_at'"):
        kpi.open(folder / "kpi.toml").summary("2025-09")
    _people(tmp_path, 'as_at = "last"')
    project = kpi.open(folder / "kpi.toml")
    rows = project.scan("staff").filter(pl.col("month") == "2025-09").collect()
    # By hand: the last roll, 9 officers and S1, all dated the 26th.
    assert rows.height == 10 and set(rows["as_at"].cast(pl.String)) == {"2025-09-26"}
    frame = project.summary("2025-09")
    assert frame.filter(pl.col("id") == "officers")["current_value"].to_list() == [9]


def test_declaring_as_at_redefines_the_kpis_of_the_dataset(tmp_path):
    """`as_at` moves the figures with no row loaded again: it is in each KPI's definition
    digest, so the paper's appendix names them redefined rather than list revised
    figures."""
    from kpi.revisions import definition

    digests = []
    for as_at in ("", 'as_at = "last"', 'as_at = "month"'):
        project = parse_project_file(_people(tmp_path, as_at) / "kpi.toml")
        digests.append(definition(project, project.kpi("officers")))
    assert len(set(digests)) == 3
    # A peer group's column moves which rows "last" reads (each force's last date), and
    # reading every row, which months hold each of its parts (a window missing one has no
    # figure): a group added redefines the KPIs, and leaves one of a `sparse` dataset read at
    # every row, whose parts are held to no months, as it was.
    for as_at, moved in (('as_at = "last"', True), ('as_at = "month"', True),
                         ('as_at = "month"\nsparse = true', False)):
        project = parse_project_file(_people(tmp_path, as_at) / "kpi.toml")
        before = definition(project, project.kpi("officers"))
        toml = (tmp_path / "kpi.toml").read_text(encoding="utf-8")
        (tmp_path / "kpi.toml").write_text(
            toml + '\n[peers.roles]\ncolumn = "role"\nmembers = ["officer", "staff"]\n',
            encoding="utf-8")
        project = parse_project_file(tmp_path / "kpi.toml")
        assert (definition(project, project.kpi("officers")) != before) is moved


def test_weekly_figures_with_no_label_are_refused_as_rolls(tmp_path, cli):
    """A file of case file quality figures, one row a week and no text column (as the
    sample's monthly one): September's four weeks summed 400 files assessed where the last
    week's figure is 100."""
    toml = """\
[project]
name = "Weeks"
baseline = "2025-03"
snapshot_baseline = "2025-08"

[datasets.quality]
date = "week"
{as_at}
[datasets.quality.columns]
week = "date"
assessed = "int"
compliant = "int"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "files"
title = "Files assessed"
priority = "p"
kind = "snapshot"
dataset = "quality"
value = "assessed"
better = "neutral"
"""
    rows = [("2025-08-29", 100, 70), *((week, 100, n) for week, n in zip(
        WEEKS, (70, 75, 75, 80), strict=True))]
    folder = _write(tmp_path, toml, "quality", ["week", "assessed", "compliant"], rows)
    _load(cli, folder, "quality")
    line = _refused_line(cli(["--project", folder, "summary", "--period", "2025-09"]))
    assert line.endswith("2025-09-26), one row at each, and no text or true/false column to "
                         "tell rows apart, so snapshot 'files' would count it 4 times"), line
    _write(tmp_path, toml, "quality", ["week", "assessed", "compliant"], rows,
           'as_at = "last"')
    assert _figures(cli, folder)["files"] == (100, 100)


CRIMES = """\
[project]
name = "Parts"
baseline = "2025-03"

[datasets.crimes]
date = "day"
{as_at}
[datasets.crimes.columns]
day = "date"
ref = "str"
lpa = "str"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "crimes"
title = "Crimes"
priority = "p"
kind = "count"
dataset = "crimes"
better = "lower"
"""


def test_a_row_given_in_two_parts_of_one_month_is_found_only_by_unique(tmp_path, cli):
    """Two files of one extract (`--parts`) both holding crime C2: with `unique = "ref"` the
    load is refused naming both rows; without it nothing proves C2 one crime (two crimes may
    share every other value), and September counts 4 crimes where the files hold 3
    (docs/guarantees.md, "One extract per month")."""
    (tmp_path / "a.csv").write_text("day,ref,lpa\n2025-09-01,C1,A\n2025-09-02,C2,B\n",
                                    encoding="utf-8")
    (tmp_path / "b.csv").write_text("day,ref,lpa\n2025-09-02,C2,B\n2025-09-03,C3,A\n",
                                    encoding="utf-8")
    load = ["--project", tmp_path, "ingest", "crimes", tmp_path / "a.csv", tmp_path / "b.csv",
            "--parts"]
    (tmp_path / "kpi.toml").write_text(CRIMES.format(as_at='unique = "ref"'), encoding="utf-8")
    result = cli(load)
    assert result.exit_code == 3, result.output
    assert "found 'C2' again (at a.csv row 3, b.csv row 2)" in result.output
    (tmp_path / "kpi.toml").write_text(CRIMES.format(as_at=""), encoding="utf-8")
    assert cli(load).exit_code == 0
    result = cli(["--project", tmp_path, "show", "crimes", "--period", "2025-09", "--format",
                  "json"])
    assert result.exit_code == 0, result.output
    trend = json.loads(result.stdout)["trend"]
    assert [row["value"] for row in trend if row["month"] == "2025-09"] == [4]


def _roll(day: str, people: range, time: str = "") -> list[tuple]:
    """One roll: officers P0.. (the first three minority), each listed once at `day`."""
    return [(f"{day} {time}" if time else day, f"P{i}", "officer", i < 3) for i in people]


def _csv(path: Path, rows: list[tuple], header: tuple = ("as_at", "person", "role",
                                                         "minority")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_one_roll_loaded_twice_on_its_date_is_refused_where_its_id_is_unique_at_each_date(
        tmp_path, cli):
    """September's roll of 10 officers given twice on the 30th: five of them in a second
    file of one extract (`--parts`), or all listed twice in one file. Nothing in the rows
    tells it from events listing their labels twice on a day: the headcount read 15 and 20,
    exit 0. A dataset of rolls declares its id unique at each date (`unique = ["person",
    "as_at"]`): the load is refused naming the second row, and every month's roll, listing
    the same people, still loads."""
    folder = _write(tmp_path, PEOPLE, "staff", ["as_at", "person", "role", "minority"],
                    _roll("2025-08-29", range(10)), date_type="date")
    _load(cli, folder, "staff")
    september = _csv(tmp_path / "september.csv", _roll("2025-09-30", range(10)))
    again = _csv(tmp_path / "again.csv", _roll("2025-09-30", range(5, 10)))
    twice = _csv(tmp_path / "twice.csv", _roll("2025-09-30", range(10)) * 2)
    parts = ["--project", folder, "ingest", "staff", september, again, "--parts"]
    # What the rows cannot tell (docs/catalogue.md): by hand, 10 officers, read as 15 and 20.
    for load, read in ((parts, 15), (["--project", folder, "ingest", "staff", twice], 20)):
        assert cli(load).exit_code == 0
        assert _figures(cli, folder)["officers"] == (10, read)

    declared = 'unique = ["person", "as_at"]'
    _write(tmp_path, PEOPLE, "staff", ["as_at", "person", "role", "minority"],
           _roll("2025-08-29", range(10)), declared, date_type="date")
    # September's roll stored twice breaks the declaration: a read, and a load keeping it
    # (August's roll again), are refused naming it (tests/test_unique_declared_since.py)
    said = ("its stored rows hold 'P0' with as_at 2025-09-30 2 times (in 2025-09), where "
            'unique = ["person", "as_at"], declared since they were loaded, allows it once')
    for command in (["summary", "--period", "2025-09"],
                    ["ingest", "staff", folder / "staff.csv"]):
        result = cli(["--project", folder, *command])
        assert result.exit_code == 3 and said in result.output, result.output
    # September's roll given once replaces it; August's roll loads beside it
    assert cli(["--project", folder, "ingest", "staff", september]).exit_code == 0
    _load(cli, folder, "staff")  # August's roll, its people listed once at its date
    for load, person, second in (
            (parts, "P5", "again.csv row 2"),
            (["--project", folder, "ingest", "staff", twice], "P0", "twice.csv row 12")):
        result = cli(load)
        assert result.exit_code == 3, result.output
        assert "Traceback" not in result.output
        assert (f"expected each person once at each as_at (dataset 'staff' declares "
                f"[\"person\", \"as_at\"]), found '{person}' with as_at 2025-09-30 again") in \
            result.output, result.output
        assert second in result.output
        assert 'drop unique = ["person", "as_at"]' in result.output
    # The roll given once: September loads beside August's roll of the same people.
    assert cli(["--project", folder, "ingest", "staff", september]).exit_code == 0
    assert _figures(cli, folder)["officers"] == (10, 10)


@pytest.mark.parametrize("date_type", ["date", "datetime"])
def test_a_roll_unique_at_each_date_is_checked_against_the_stored_parts_a_load_keeps(
        tmp_path, cli, date_type):
    """Two forces' rolls loaded part by part (`replace_by`): South's file also listing
    North's officer N0 at the 30th is refused against the stored North rows (the same person
    at the same date), a datetime compared as its UK day (read as UK time, stored in
    UTC)."""
    toml = PEOPLE.replace('date = "as_at"\n', 'date = "as_at"\nreplace_by = "force"\n') \
        .replace('person = "str"', 'person = "str"\nforce = "str"')
    header = ("as_at", "force", "person", "role", "minority")
    time = " 09:15" if date_type == "datetime" else ""
    north = [(f"2025-09-30{time}", "North", f"N{i}", "officer", False) for i in range(4)]
    south = [(f"2025-09-30{time}", "South", f"S{i}", "officer", False) for i in range(6)]
    (tmp_path / "kpi.toml").write_text(toml.format(as_at='unique = ["person", "as_at"]',
                                                   date_type=date_type), encoding="utf-8")
    load = ["--project", tmp_path, "ingest", "staff"]
    assert cli([*load, _csv(tmp_path / "north.csv", north, header)]).exit_code == 0
    moved = [(f"2025-09-30{time}", "South", "N0", "officer", False)]
    result = cli([*load, _csv(tmp_path / "south.csv", south + moved, header)])
    assert result.exit_code == 3, result.output
    assert ("found 'N0' with as_at 2025-09-30, which the store already holds in 2025-09 of "
            "force 'North', rows this load does not replace") in result.output
    assert "south.csv, row 8, column 'person'" in result.output, result.output
    # North's roll again (its part replaced) and South's once: both load.
    assert cli([*load, _csv(tmp_path / "south.csv", south, header)]).exit_code == 0
    assert cli([*load, tmp_path / "north.csv"]).exit_code == 0


def test_one_roll_run_twice_on_a_day_is_refused_where_its_id_is_unique_at_each_date(
        tmp_path, cli):
    """September's roll of 10 officers run at 08:00 and again at 17:00 on the 30th, the date
    column of datetimes, `unique = ["person", "as_at"]`: compared by the instant, each row
    passed, and `as_at = "last"` read the whole last day, 20 officers where 10 are in post,
    "+100%", exit 0. A roll is taken at a day (`as_at = "last"` reads the last one): the load
    is refused naming the second listing, and a roll a day (the 29th and the 30th) loads,
    read as the 30th's 10."""
    declared = 'as_at = "last"\nunique = ["person", "as_at"]'
    folder = _write(tmp_path, PEOPLE, "staff", ["as_at", "person", "role", "minority"],
                    _roll("2025-08-29", range(10), "09:00"), declared, date_type="datetime")
    _load(cli, folder, "staff")
    twice = _csv(tmp_path / "twice.csv", _roll("2025-09-30", range(10), "08:00")
                 + _roll("2025-09-30", range(10), "17:00"))
    result = cli(["--project", folder, "ingest", "staff", twice])
    assert result.exit_code == 3, result.output
    assert ("twice.csv, row 12, column 'person': expected each person once at each as_at "
            "(dataset 'staff' declares [\"person\", \"as_at\"]), found 'P0' with as_at "
            "2025-09-30 again (at twice.csv row 2, twice.csv row 12)") in result.output, \
        result.output
    daily = _csv(tmp_path / "daily.csv", _roll("2025-09-29", range(10), "17:00")
                 + _roll("2025-09-30", range(10), "08:00"))
    assert cli(["--project", folder, "ingest", "staff", daily]).exit_code == 0
    assert _figures(cli, folder)["officers"] == (10, 10)


def test_unique_is_a_column_or_a_list_of_columns(tmp_path):
    for given, said in (('unique = ["person", "nobody"]', "'nobody' is not one of its columns"),
                        ('unique = ["person", "person"]', "names a column twice"),
                        ("unique = []", "must be a column's name, or a list of columns' names"),
                        ("unique = 3", "must be a column's name, or a list of columns' names")):
        _people(tmp_path, given)
        with pytest.raises(ConfigError) as caught:
            parse_project_file(tmp_path / "kpi.toml")
        assert f"key 'unique': {said}" in str(caught.value), str(caught.value)
    _people(tmp_path, 'unique = ["person", "as_at"]')
    spec = parse_project_file(tmp_path / "kpi.toml").datasets["staff"]
    assert (spec.unique, spec.unique_with) == ("person", ("as_at",))


def test_the_listings_say_which_months_hold_rolls_at_several_dates_and_how_they_are_read(
        tmp_path, cli):
    """`kpi datasets` (each format), `project.datasets()` and `kpi show` say which stored
    months hold rolls taken at several dates and how `as_at` reads them, before a summary
    refuses them. By hand: August holds one roll (the 29th), September four (the 5th to the
    26th)."""
    import polars as pl

    import kpi

    folder = _people(tmp_path)
    _load(cli, folder, "staff")
    held = [{"month": "2025-09", "dates": 4, "last": "2025-09-26", "read": "refused",
             "read_days": []}]
    listing = ["--project", folder, "datasets"]
    result = cli([*listing, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["rolls"] == held
    result = cli(listing)
    assert result.exit_code == 0, result.output
    assert "2025-09: rolls at 4 dates, refused (no as_at)" in result.stdout
    # Said before a summary refuses, with the as_at to write.
    assert ("Note: dataset 'staff' holds rolls taken at several dates in 2025-09: a "
            "snapshot's figure reading such a month is refused") in result.output
    assert 'Hint: write as_at = "last" in [datasets.staff]' in result.output
    frame = kpi.open(folder / "kpi.toml").datasets()
    assert frame["rolls"].to_list() == [held]

    _people(tmp_path, 'as_at = "last"')
    held = [{**held[0], "read": "last", "read_days": ["2025-09-26"]}]
    result = cli([*listing, "--format", "json"])
    assert json.loads(result.stdout)[0]["rolls"] == held
    result = cli(listing)
    assert "2025-09: 4 dates, the last read (2025-09-26)" in result.stdout
    assert "Note:" not in result.output
    result = cli([*listing, "--format", "csv"])
    assert result.stdout.splitlines()[0].endswith(",held_in_part,declared_whole,rolls")
    assert result.stdout.splitlines()[1].endswith(',"2025-09: 4 dates, the last read '
                                                  '(2025-09-26)"')
    frame = kpi.open(folder / "kpi.toml").datasets()
    assert frame.select(pl.col("rolls").list.first().struct.field("last")).item() == \
        "2025-09-26"
    result = cli(["--project", folder, "show", "officers", "--period", "2025-09", "--format",
                  "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["kpi"]["definition"]["as_at"] == (
        'each month\'s last date (as_at = "last"): 2025-09 holds rolls at 4 dates, '
        "2025-09-26 read")


def test_events_and_rolls_taken_once_a_month_list_no_rolls(tmp_path, cli):
    """Events on several days of a month (the sample's incidents) and rows declared events
    (`as_at = "month"`) list none: no figure refuses them, and every row is read."""
    for as_at in ("", 'as_at = "month"'):
        folder = _events(tmp_path, as_at)
        _load(cli, folder, "incidents")
        result = cli(["--project", folder, "datasets", "--format", "json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)[0]["rolls"] == []
        assert "Rolls at several dates" not in cli(["--project", folder, "datasets"]).stdout


FORCES = """\
[project]
name = "Forces"
baseline = "2025-03"
snapshot_baseline = "2025-08"

[datasets.staff]
date = "as_at"
as_at = "last"
{replace_by}
[datasets.staff.columns]
as_at = "date"
person = "str"
{force}
{derived}
[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "officers"
title = "Officers"
priority = "p"
kind = "snapshot"
dataset = "staff"
better = "higher"
{peers}"""

PEER_GROUP = """
[peers.forces]
column = "force"
members = ["A", "B"]
focus = "A"
"""

FRIDAYS = {"2025-08": ("2025-08-01", "2025-08-08", "2025-08-15", "2025-08-22", "2025-08-29"),
           "2025-09": ("2025-09-05", "2025-09-12", "2025-09-19", "2025-09-26")}
THURSDAYS = {"2025-08": ("2025-08-07", "2025-08-14", "2025-08-21", "2025-08-28"),
             "2025-09": ("2025-09-04", "2025-09-11", "2025-09-18", "2025-09-25")}


def _forces(folder: Path, declared: str) -> Path:
    """One national extract loaded whole: force A's 10 officers rolled every Friday (A9 left
    before the last roll of September, the 26th), force B's 5 every Thursday (B5 and B6
    joined from 11 September). The force is told apart as `declared` says: "peers" (a
    `[peers.*]` group's column), "derived" (the same, derived from the person's id) or
    "replace_by"."""
    rows: list[tuple] = []
    for month in ("2025-08", "2025-09"):
        rows += [(day, f"A{i}", "A") for day in FRIDAYS[month] for i in range(10)
                 if not (i == 9 and day == "2025-09-26")]
        rows += [(day, f"B{i}", "B") for day in THURSDAYS[month] for i in range(7)
                 if i < 5 or day >= "2025-09-11"]
    fields = {"replace_by": "", "force": 'force = "str"', "derived": "", "peers": PEER_GROUP}
    if declared == "replace_by":
        fields.update(replace_by='replace_by = ["force"]', peers="")
    elif declared == "derived":
        fields.update(force="", derived='[datasets.staff.derived]\nforce = "SUBSTR(person, 1, 1)"')
        rows = [row[:2] for row in rows]
    header = ["as_at", "person", "force"][:len(rows[0])]
    return _write(folder, FORCES, "staff", header, rows, **fields)


def _each_force_s_last_roll(csv_path: Path) -> dict[str, int]:
    """The oracle: each force's last roll of each month, counted by DuckDB from the file."""
    import duckdb

    query = f"""
        WITH rows AS (SELECT CAST(as_at AS DATE) AS day, person, substr(person, 1, 1) AS force
                      FROM read_csv('{csv_path}', all_varchar = true))
        SELECT strftime(day, '%Y-%m') AS month, count(*) FROM rows r
        WHERE day = (SELECT max(day) FROM rows t WHERE t.force = r.force
                     AND date_trunc('month', t.day) = date_trunc('month', r.day))
        GROUP BY 1 ORDER BY 1"""
    return dict(duckdb.connect().execute(query).fetchall())


@pytest.mark.parametrize("declared", ["peers", "derived", "replace_by"])
def test_the_last_roll_is_each_force_s_however_the_force_column_is_declared(
        tmp_path, cli, declared):
    """A `[peers.*]` group's column tells parts apart as `replace_by` does: each force's last
    roll of the month is read, not only the force dated last. Taken across the month, force
    B's Thursday roll was dropped wherever A's Friday roll was later: 10 and 9 officers where
    15 and 16 are in post, and `kpi compare --by force` said the data held no rows for B."""
    folder = _forces(tmp_path, declared)
    _load(cli, folder, "staff")
    # By hand: August A 10 (the 29th) + B 5 (the 28th); September A 9 (the 26th, A9 gone)
    # + B 7 (the 25th, B5 and B6 joined).
    assert _each_force_s_last_roll(folder / "staff.csv") == {"2025-08": 15, "2025-09": 16}
    assert _figures(cli, folder)["officers"] == (15, 16)
    if declared != "replace_by":
        result = cli(["--project", folder, "compare", "--period", "2025-09", "--by", "force",
                      "--peers", "forces", "--format", "json"])
        assert result.exit_code == 0, result.output
        assert "no rows for B" not in result.output
        parts = {p["name"]: (p["comparison"]["value"], p["current"]["value"])
                 for p in json.loads(result.stdout)["kpis"][0]["parts"]}
        assert parts == {"A": (10, 9), "B": (5, 7)}, parts
    # The listings say each force's last date read.
    result = cli(["--project", folder, "datasets", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["rolls"] == [
        {"month": "2025-08", "dates": 9, "last": "2025-08-29", "read": "last",
         "read_days": ["2025-08-28", "2025-08-29"]},
        {"month": "2025-09", "dates": 8, "last": "2025-09-26", "read": "last",
         "read_days": ["2025-09-25", "2025-09-26"]}]
    assert "2025-09: 8 dates, each part's last read (2025-09-25, 2025-09-26)" in \
        cli(["--project", folder, "datasets", "--format", "csv"]).stdout
    import kpi

    scanned = kpi.open(folder / "kpi.toml").scan("staff").collect()
    assert scanned.group_by("month").len().sort("month").rows() == [("2025-08", 15),
                                                                     ("2025-09", 16)]


ROLES = """\
[project]
name = "Roles"
baseline = "2025-03"
snapshot_baseline = "2025-08"

[datasets.staff]
date = "as_at"
{as_at}
[datasets.staff.columns]
as_at = "date"
person = "str"
role = "str"
{peers}
[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "officers"
title = "Officer headcount"
priority = "p"
kind = "snapshot"
dataset = "staff"
filter = "role = 'officer'"
better = "higher"

[[kpis]]
id = "workforce"
title = "Workforce headcount"
priority = "p"
kind = "snapshot"
dataset = "staff"
better = "higher"
"""


def _roles(folder: Path, as_at: str = "", peers: str = "") -> Path:
    """Two rolls loaded together, nothing but the role telling them apart: 20 officers
    rolled every Friday, 8 police staff on the month's last working day. In August 2025 both
    fall on Friday the 29th; in September the staff's is Tuesday the 30th, after the
    officers' last Friday, the 26th."""
    rows = [(day, f"O{i}", "officer") for month in ("2025-08", "2025-09")
            for day in FRIDAYS[month] for i in range(20)]
    rows += [(day, f"S{i}", "staff") for day in ("2025-08-29", "2025-09-30") for i in range(8)]
    return _write(folder, ROLES, "staff", ["as_at", "person", "role"], rows, as_at,
                  peers=peers)


def test_a_later_roll_of_other_people_is_refused_not_read_as_the_month_s_roll(tmp_path, cli):
    """Read as its one last date, September was the staff roll alone: a workforce of 8 where
    28 are in post (20 officers, 8 staff), and officers 0, against August's 28 and 20 (both
    rolls on the 29th), exit 0. kpi cannot tell the rolls apart, so it refuses the month:
    its last date holds under half the rows of an earlier one (8 of 20)."""
    folder = _roles(tmp_path)
    _load(cli, folder, "staff")
    summary = ["--project", folder, "summary", "--period", "2025-09"]
    # No as_at: refused as rolls, and the hint no longer sends the reader to as_at = "last".
    result = cli(summary)
    line = _refused_line(result)
    assert "dataset 'staff', 2025-08, column 'as_at': the month holds a roll at each of" in line
    assert ('Hint: as_at = "last" would not do (2025-09: the month\'s last date, 2025-09-30, '
            "holds 8 rows, under half the 20 of 2025-09-26): name a column telling the rolls "
            "apart (role, force) in replace_by of [datasets.staff]") in result.output
    # as_at = "last": refused, naming the month, the dates and their rows.
    _roles(tmp_path, 'as_at = "last"')
    for args in (summary, ["--project", folder, "show", "workforce", "--period", "2025-09"],
                 ["--project", folder, "compare", "--period", "2025-09", "--by", "role"]):
        result = cli(args)
        assert _refused_line(result) == (
            "Error: dataset 'staff', 2025-09, column 'as_at': the month's last date, "
            "2025-09-30, holds 8 rows, under half the 20 of 2025-09-26, so as_at = \"last\" "
            "would read only the later of two rolls"), result.output
        assert ("Hint: name a column telling the rolls apart (role, force) in replace_by of "
                "[datasets.staff], so each roll's own last date is read, or load each roll as "
                "a dataset of its own") in result.output
    import kpi
    from kpi.errors import DataError

    with pytest.raises(DataError, match="2025-09-30, holds 8 rows"):
        kpi.open(folder / "kpi.toml").summary("2025-09")
    listed = cli(["--project", folder, "datasets", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)[0]["rolls"] == [
        {"month": "2025-08", "dates": 5, "last": "2025-08-29", "read": "last",
         "read_days": ["2025-08-29"]},
        {"month": "2025-09", "dates": 5, "last": "2025-09-30", "read": "thin",
         "read_days": []}]
    assert "Note: dataset 'staff' holds in 2025-09 a last date listing under half" in \
        listed.output
    # The role told apart (replace_by, or a peer group's column): each roll's own last date.
    # By hand: August 20 officers and 28 people; September the same.
    for told in ('as_at = "last"\nreplace_by = ["role"]', 'as_at = "last"'):
        peers = "" if "replace_by" in told else (
            '[peers.roles]\ncolumn = "role"\nmembers = ["officer", "staff"]\n')
        _roles(tmp_path, told, peers)
        assert _figures(cli, folder) == {"officers": (20, 20), "workforce": (28, 28)}


@pytest.mark.parametrize(("left", "read"), [(5, 5), (6, None)])
def test_a_last_roll_is_read_down_to_half_of_an_earlier_one(tmp_path, cli, left, read):
    """The line is kpi's for a month replaced by fewer rows, half: ten officers, `left` of
    whom left before September's last weekly roll. Five of ten are read (5); four of ten are
    refused, as two rolls of other people would be."""
    rows: list[tuple] = [("2025-08-29", f"P{i}", "officer", False) for i in range(10)]
    for week in WEEKS:
        rows += [(week, f"P{i}", "officer", False) for i in range(10)
                 if week != WEEKS[-1] or i >= left]
    folder = _write(tmp_path, PEOPLE, "staff", ["as_at", "person", "role", "minority"], rows,
                    'as_at = "last"', date_type="date")
    _load(cli, folder, "staff")
    if read is not None:
        assert _figures(cli, folder)["officers"] == (10, read)
        return
    line = _refused_line(cli(["--project", folder, "summary", "--period", "2025-09"]))
    assert "the month's last date, 2025-09-26, holds 4 rows, under half the 10 of " \
        "2025-09-19" in line


LPAS = """\
[project]
name = "LPAs"
baseline = "2025-03"
snapshot_baseline = "2025-08"

[datasets.staff]
date = "as_at"
as_at = "last"
{replace_by}
[datasets.staff.columns]
as_at = "date"
person = "str"
lpa = "str"

[datasets.calls]
date = "day"
[datasets.calls.columns]
day = "date"
lpa = "str"

[peers.lpas]
column = "lpa"
members = ["A", "B", "C"]

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "officers"
title = "Officers"
priority = "p"
kind = "snapshot"
dataset = "staff"
better = "higher"
"""


def _lpas(folder: Path, september: str, replace_by: str = "") -> Path:
    """One force's roll of 10 officers, its LPA a `[peers.*]` group's column (the group meant
    for the calls): August one roll (the 29th), LPA A P6 to P9, B P3 to P5, C P0 to P2. In
    September a roll every Friday, C's three on it to the 19th, then, as `september` says,
    "moved" to A for the last roll (the 26th), "left" before it, or "fortnightly": C's own
    roll on the 5th and 19th only, every Friday for the others."""
    def lpa(i: int) -> str:
        return "A" if i >= 6 else "B" if i >= 3 else "C"

    rows: list[tuple] = [("2025-08-29", f"P{i}", lpa(i)) for i in range(10)]
    for week in WEEKS:
        for i in range(10):
            if lpa(i) != "C" or week <= "2025-09-19" and (
                    september != "fortnightly" or week in ("2025-09-05", "2025-09-19")):
                rows.append((week, f"P{i}", lpa(i)))
            elif september == "moved":
                rows.append((week, f"P{i}", "A"))
    return _write(folder, LPAS, "staff", ["as_at", "person", "lpa"], rows,
                  replace_by=replace_by)


def test_a_part_missing_from_the_last_roll_it_shares_reads_none(tmp_path, cli):
    """The LPAs of one force's weekly roll are rolled together: an LPA whose people are all
    on the month's last roll under another LPA has no one on it. Read at each LPA's own last
    date, C's three officers were counted at the 19th beside the 26th's roll: 13 where the
    roll of the 26th holds 10 (C's three moved to A), exit 0. Read as the 26th, as the same
    rows without the peer group."""
    import duckdb

    folder = _lpas(tmp_path, "moved")
    _load(cli, folder, "staff")
    # By hand: August's roll 10; September's last roll (the 26th) 10, C's three under A,
    # counted again by DuckDB from the file.
    counted = duckdb.connect().execute(
        f"SELECT count(*) FROM read_csv('{folder / 'staff.csv'}', all_varchar = true) "
        "WHERE as_at = '2025-09-26'").fetchone()
    assert counted == (10,)
    assert _figures(cli, folder)["officers"] == (10, 10)
    result = cli(["--project", folder, "compare", "--period", "2025-09", "--by", "lpa",
                  "--format", "json"])
    assert result.exit_code == 0, result.output
    assert {p["name"]: (p["comparison"]["value"], p["current"]["value"])
            for p in json.loads(result.stdout)["kpis"][0]["parts"]} == {"A": (4, 7),
                                                                        "B": (3, 3)}
    listed = cli(["--project", folder, "datasets", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    staff = next(d for d in json.loads(listed.stdout) if d["dataset"] == "staff")
    assert staff["rolls"] == [{"month": "2025-09", "dates": 4, "last": "2025-09-26",
                               "read": "last", "read_days": ["2025-09-26"]}]


def test_a_part_off_a_shared_roll_it_is_not_proven_on_is_refused(tmp_path, cli):
    """LPA C on the 5th and the 19th only, the others every Friday: its rows cannot tell a
    fortnightly roll of its own (3 officers in post) from a place on the others' weekly roll
    its people left (none). Refused, naming the part, the month and the dates; declared in
    `replace_by`, each LPA is rolled on its own and its own last date read: 10."""
    folder = _lpas(tmp_path, "fortnightly")
    _load(cli, folder, "staff")
    result = cli(["--project", folder, "summary", "--period", "2025-09"])
    assert _refused_line(result) == (
        "Error: dataset 'staff', 2025-09 (lpa 'C'), column 'as_at': its last date, "
        "2025-09-19, is a roll of other parts whose last is 2025-09-26, and it holds none on "
        "their roll of 2025-09-12, so as_at = \"last\" cannot tell its people gone from a "
        "roll of its own"), result.output
    assert "name its column in replace_by of [datasets.staff]" in result.output
    (tmp_path / "own").mkdir()
    folder = _lpas(tmp_path / "own", "fortnightly", 'replace_by = ["lpa"]')
    _load(cli, folder, "staff")
    assert _figures(cli, folder)["officers"] == (10, 10)


NATIONAL = {"A": 4, "B": 3, "C": 2}


def _national(folder: Path, declared: str = "peers", whole: bool = False,
              numbered: bool = False) -> Path:
    """One national extract of three forces' rolls, loaded whole: A's 4 officers, B's 3 and
    C's 2, every Friday (August the 29th only), none joining or leaving. The file of
    September's last roll, the 26th, lacks force B's rows unless `whole`. The force is told
    apart as `declared` says ("peers", a `[peers.*]` group's column, or "replace_by"); each
    person's id is the force and a number (A0), or with `numbered` the number alone, each
    force numbering its own people from 1."""
    rows: list[tuple] = []
    for day in ("2025-08-29", *FRIDAYS["2025-09"]):
        rows += [(day, str(i + 1) if numbered else f"{force}{i}", force)
                 for force, officers in NATIONAL.items() for i in range(officers)
                 if whole or not (force == "B" and day == "2025-09-26")]
    fields = {"replace_by": "", "force": 'force = "str"', "derived": "",
              "peers": '\n[peers.forces]\ncolumn = "force"\nmembers = ["A", "B", "C"]\n'}
    if declared == "replace_by":
        fields.update(replace_by='replace_by = ["force"]', peers="")
    return _write(folder, FORCES, "staff", ["as_at", "person", "force"], rows, **fields)


def test_a_force_missing_from_the_last_file_of_a_national_extract_is_refused(tmp_path, cli):
    """Forces told apart by a `[peers.*]` group's column are rolled together, so a force
    whose last date is another's earlier roll was read as gone from the later one: where the
    file of September's last roll (the 26th) lacked force B, its 3 officers read 0, a
    headcount of 6 where 9 are in post and "deteriorating" from August's 9, exit 0, in every
    face. Its people are on no part of that roll, so nothing tells them gone from the file
    missing them: every figure reading the month is refused, naming the part. The same rows
    with the force in `replace_by` read each force's own last roll, 9; and the whole file
    reads 9 as a peer group."""
    folder = _national(tmp_path)
    _load(cli, folder, "staff")
    line = ("Error: dataset 'staff', 2025-09 (force 'B'), column 'as_at': its last date, "
            "2025-09-19, is a roll of other parts whose last is 2025-09-26, and 3 of its 3 "
            "rows there are not found on their roll of 2025-09-26 (person 'B0' first), so "
            "as_at = \"last\" cannot tell its people gone from its rows missing from that roll")
    hint = ("Hint: if the file of the month's last roll is missing the part, load it again "
            "whole; where people are known by an id of numbers, declare it with the date, "
            "unique = [\"<id>\", \"as_at\"], so they are found on the later roll by it; where "
            "each part is rolled on its own days (a force of a national extract), name its "
            "column in replace_by of [datasets.staff]")
    for args in (["summary", "--period", "2025-09"],
                 ["compare", "--period", "2025-09", "--by", "force", "--peers", "forces"],
                 ["show", "officers", "--period", "2025-09"],
                 ["export", "markdown", "--period", "2025-09", "--output",
                  tmp_path / "board.md"]):
        result = cli(["--project", folder, *args])
        assert _refused_line(result) == line, (args, result.output)
        assert hint in result.output
    assert not (tmp_path / "board.md").exists()
    import kpi
    from kpi.errors import DataError

    with pytest.raises(DataError, match=r"2025-09 \(force 'B'\).*3 of its 3 rows there"):
        kpi.open(folder / "kpi.toml").summary("2025-09")
    # The listings say the month is refused before a summary does, not that the 26th is read.
    listed = cli(["--project", folder, "datasets", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)[0]["rolls"] == [
        {"month": "2025-09", "dates": 4, "last": "2025-09-26", "read": "untold",
         "read_days": []}]
    assert "Note: dataset 'staff' holds in 2025-09 a part missing from a later roll it " \
        "shares" in listed.output
    assert hint in listed.output  # the refusal's own hint
    assert "2025-09: rolls at 4 dates, refused (a part missing from a later roll it shares)" \
        in cli(["--project", folder, "datasets", "--format", "csv"]).stdout
    # By hand: each force's own last roll, August A 4 + B 3 + C 2 on the 29th; September
    # A 4 and C 2 on the 26th, B 3 on the 19th: 9 and 9, counted again by DuckDB.
    assert _each_force_s_last_roll(folder / "staff.csv") == {"2025-08": 9, "2025-09": 9}
    for declared, whole in (("replace_by", False), ("peers", True)):
        (tmp_path / declared).mkdir(exist_ok=True)
        own = _national(tmp_path / declared, declared, whole)
        _load(cli, own, "staff")
        assert _figures(cli, own)["officers"] == (9, 9)
        result = cli(["--project", own, "compare", "--period", "2025-09", "--by", "force",
                      "--format", "json"])
        assert result.exit_code == 0, result.output
        assert {p["name"]: (p["comparison"]["value"], p["current"]["value"])
                for p in json.loads(result.stdout)["kpis"][0]["parts"]} == {
                    "A": (4, 4), "B": (3, 3), "C": (2, 2)}


def test_a_part_s_people_are_found_on_a_later_roll_only_by_an_id_of_one_row(tmp_path, cli):
    """A part missing from a later roll it shares reads none only where each of its people is
    on that roll in another part (LPA C's officers moved to A, read above). Ids a force
    numbers its own people by ('1', '2', '3' in A and in B) are on the later roll in A
    whether or not B's people are, so they prove nothing: B's 3 officers absent from the
    26th's file read 0 were they taken as moved. Refused, as are LPA C's three officers
    gone from the force's last roll (its people left, or the file lost them: 7 where 10 are
    in post, were they read as left)."""
    folder = _national(tmp_path, numbered=True)
    _load(cli, folder, "staff")
    assert _refused_line(cli(["--project", folder, "summary", "--period", "2025-09"])) == (
        "Error: dataset 'staff', 2025-09 (force 'B'), column 'as_at': its last date, "
        "2025-09-19, is a roll of other parts whose last is 2025-09-26, and 3 of its 3 rows "
        "there are not found on their roll of 2025-09-26 (person '1' first), so as_at = "
        "\"last\" cannot tell its people gone from its rows missing from that roll")
    (tmp_path / "lpas").mkdir()
    folder = _lpas(tmp_path / "lpas", "left")
    _load(cli, folder, "staff")
    assert "2025-09 (lpa 'C'), column 'as_at': its last date, 2025-09-19, is a roll of other " \
        "parts whose last is 2025-09-26, and 3 of its 3 rows there are not found on their " \
        "roll of 2025-09-26 (person 'P0' first)" in _refused_line(
            cli(["--project", folder, "compare", "--period", "2025-09", "--by", "lpa"]))


def _with_station(folder: Path, part: str, person: str = "str", unique: str = "") -> Path:
    """The rows `_lpas` or `_national` wrote, each with the station of its part (`part`,
    'lpa' or 'force'): "C Lane", which moves with an officer moved from LPA C to A, as a
    roll's other columns do. The person's id declared of type `person`, and `unique` as
    given."""
    toml = (folder / "kpi.toml").read_text(encoding="utf-8")
    toml = toml.replace('person = "str"\n', f'person = "{person}"\nstation = "str"\n')
    if unique:
        toml = toml.replace('as_at = "last"\n', f'as_at = "last"\nunique = {unique}\n')
    (folder / "kpi.toml").write_text(toml, encoding="utf-8")
    with (folder / "staff.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with (folder / "staff.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*rows[0], "station"])
        writer.writerows([*(row[c].lstrip("P") if c == "person" and person == "int"
                            else row[c] for c in row), f"{row[part]} Lane"] for row in rows)
    return folder


def test_a_part_s_people_are_found_on_a_later_roll_by_their_id_whatever_moves_with_them(
        tmp_path, cli):
    """LPA C's three officers moved to A for the roll of the 26th, each row with its LPA's
    station: matched by all their labels (person and station), none was found on the 26th
    (their station moved with them) and the month was refused, where the same rows without
    the station read 10. A person id each of whose values is one row on each of the two
    dates finds them: 10, by hand and DuckDB. A force missing from the last file, ids each
    force numbers from 1 and LPA C's officers who left are refused as before."""
    import duckdb

    folder = _with_station(_lpas(tmp_path, "moved"), "lpa")
    _load(cli, folder, "staff")
    counted = duckdb.connect().execute(
        f"SELECT count(*), count(DISTINCT person) FROM read_csv('{folder / 'staff.csv'}', "
        "all_varchar = true) WHERE as_at = '2025-09-26'").fetchone()
    assert counted == (10, 10)
    assert _figures(cli, folder)["officers"] == (10, 10)
    result = cli(["--project", folder, "compare", "--period", "2025-09", "--by", "lpa",
                  "--format", "json"])
    assert result.exit_code == 0, result.output
    assert {p["name"]: (p["comparison"]["value"], p["current"]["value"])
            for p in json.loads(result.stdout)["kpis"][0]["parts"]} == {"A": (4, 7),
                                                                        "B": (3, 3)}
    refused = {"national": "(force 'B'), column 'as_at': its last date, 2025-09-19, is a "
               "roll of other parts whose last is 2025-09-26, and 3 of its 3 rows there are "
               "not found on their roll of 2025-09-26 (person 'B0', station 'B Lane' first)",
               "numbered": "(force 'B'), column 'as_at': its last date, 2025-09-19, is a roll "
               "of other parts whose last is 2025-09-26, and 3 of its 3 rows there are not "
               "found on their roll of 2025-09-26 (person '1', station 'B Lane' first)",
               "left": "(lpa 'C'), column 'as_at': its last date, 2025-09-19, is a roll of "
               "other parts whose last is 2025-09-26, and 3 of its 3 rows there are not found "
               "on their roll of 2025-09-26 (person 'P0', station 'C Lane' first)"}
    for case, said in refused.items():
        (tmp_path / case).mkdir()
        written = (_lpas(tmp_path / case, "left") if case == "left"
                   else _national(tmp_path / case, numbered=case == "numbered"))
        folder = _with_station(written, "lpa" if case == "left" else "force")
        _load(cli, folder, "staff")
        line = _refused_line(cli(["--project", folder, "summary", "--period", "2025-09"]))
        assert said in line, (case, line)


def test_a_declared_id_of_a_roll_finds_a_part_s_people_whatever_its_type(tmp_path, cli):
    """The person's id a number (`int`, no label): the station alone, which moves with the
    officers, found none of LPA C's three on the roll of the 26th, and the month is refused.
    Declared `unique = ["person", "as_at"]` (one row a person at each date), the id finds
    them, and the roll of the 26th reads 10 as it holds."""
    folder = _with_station(_lpas(tmp_path, "moved"), "lpa", person="int")
    _load(cli, folder, "staff")
    assert "3 of its 3 rows there are not found on their roll of 2025-09-26 (station " \
        "'C Lane' first)" in _refused_line(
            cli(["--project", folder, "summary", "--period", "2025-09"]))
    (tmp_path / "declared").mkdir()
    folder = _with_station(_lpas(tmp_path / "declared", "moved"), "lpa", person="int",
                           unique='["person", "as_at"]')
    _load(cli, folder, "staff")
    assert _figures(cli, folder)["officers"] == (10, 10)


def test_roll_names_two_a_day_do_not_hide_the_rolls(tmp_path, cli):
    """Each row naming its roll, two rolls a day ("Officer roll 2025-09-05", "Staff roll
    2025-09-05"): no day held one value of the name, so it was read as a label telling
    people apart, no person was listed on two dates, and four weekly rolls of 9 or 10
    officers counted 39, exit 0. Its values each fall on one day: it names the roll, and the
    month is refused as without it."""
    toml = PEOPLE.replace('minority = "bool"\n', 'minority = "bool"\nroll = "str"\n')
    rows = [(*row, f"{'Officer' if row[2] == 'officer' else 'Staff'} roll {row[0]}")
            for row in _roll_rows()]
    folder = _write(tmp_path, toml, "staff", ["as_at", "person", "role", "minority", "roll"],
                    rows, date_type="date")
    _load(cli, folder, "staff")
    line = _refused_line(cli(["--project", folder, "summary", "--period", "2025-09"]))
    assert re.search(r"the month holds a roll at each of 4 dates \(2025-09-05, 2025-09-12, "
                     r"2025-09-19, 2025-09-26\), each listing person 'P0', role 'officer', "
                     r"minority true once, so snapshot '\w+' would count it 4 times", line), line
    # declared, the last roll is read: 9 officers
    folder = _write(tmp_path, toml, "staff", ["as_at", "person", "role", "minority", "roll"],
                    rows, as_at='as_at = "last"', date_type="date")
    assert _figures(cli, folder)["officers"] == (10, 9)


def test_a_return_a_date_naming_itself_is_refused_as_without_the_name(tmp_path, cli):
    """One row a week (an establishment return of 1,000.5 officers' FTE), each naming its
    return ("Weekly return 05/09/2025"): read as a label, each week was another return, and
    September's four summed 4,002 where each return holds 1,000.5, exit 0, where without the
    name they were refused. Refused as without it."""
    toml = """\
[project]
name = "Returns"
baseline = "2025-03"
snapshot_baseline = "2025-08"

[datasets.returns]
date = "day"
{as_at}
[datasets.returns.columns]
day = "date"
report = "str"
fte = "float"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "fte"
title = "Officer FTE"
priority = "p"
kind = "snapshot"
dataset = "returns"
value = "fte"
better = "higher"
"""
    rows = [(day, f"Weekly return {day[8:]}/{day[5:7]}/{day[:4]}", 1000.5)
            for day in ("2025-08-29", *WEEKS)]
    folder = _write(tmp_path, toml, "returns", ["day", "report", "fte"], rows)
    _load(cli, folder, "returns")
    line = _refused_line(cli(["--project", folder, "summary", "--period", "2025-09"]))
    assert "the month holds a roll at each of 4 dates (2025-09-05, 2025-09-12, 2025-09-19, " \
        "2025-09-26), one row at each, and no text or true/false column to tell rows apart" \
        in line, line
    _write(tmp_path, toml, "returns", ["day", "report", "fte"], rows, 'as_at = "last"')
    assert _figures(cli, folder)["fte"] == (1000.5, 1000.5)


def test_a_record_key_declared_unique_does_not_hide_the_rolls(tmp_path, cli):
    """The extract's record key, different on every row, declared `unique` (a guard against
    a row loaded twice): kept as a label telling people apart, no person was listed on two
    dates, and four weekly rolls counted 39 officers, exit 0, where without `unique` they
    were refused. A key unique on every row tells no person apart, declared or not."""
    toml = PEOPLE.replace('person = "str"\n', 'record = "str"\nperson = "str"\n')
    header = ["as_at", "record", "person", "role", "minority"]
    rows = [(day, f"R{i:06d}", person, role, minority)
            for i, (day, person, role, minority) in enumerate(_roll_rows())]
    folder = _write(tmp_path, toml, "staff", header, rows, 'unique = ["record"]',
                    date_type="date")
    _load(cli, folder, "staff")
    line = _refused_line(cli(["--project", folder, "summary", "--period", "2025-09"]))
    assert re.search(r"the month holds a roll at each of 4 dates \(2025-09-05, 2025-09-12, "
                     r"2025-09-19, 2025-09-26\), each listing person 'P0', role 'officer', "
                     r"minority true once, so snapshot '\w+' would count it 4 times", line), line
    folder = _write(tmp_path, toml, "staff", header, rows,
                    'as_at = "last"\nunique = ["record"]', date_type="date")
    assert _figures(cli, folder)["officers"] == (10, 9)
