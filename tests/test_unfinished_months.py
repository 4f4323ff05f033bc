"""A month loaded before it ended holds part of it: no window counts it until it is loaded
again after it ends (`kpi.store.unfinished`, `kpi.engine.Held`). Loaded on its 4th, a month
holds three days: "the year ending" it counted eleven months and three days as twelve, and a
nightly job's summary read its 92 crimes against about 920 a month as a significant
improvement with exit 0. Each project here holds rows to today, loaded now, so this month's
rows are always part of it; the figures of the months before are counted by hand."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import inprocess

from kpi.periods import Month

PROJECT = """
[project]
name = "Loaded nightly"
baseline = "2024-03"

[datasets.crimes]
date = "day"
[datasets.crimes.columns]
day = {{ type = "date", from = ["Day"] }}
ref = {{ type = "str", from = ["Ref"] }}

[datasets.asb]
date = "day"
[datasets.asb.columns]
day = {{ type = "date", from = ["Day"] }}
ref = {{ type = "str", from = ["Ref"] }}

[[priorities]]
id = "p"
title = "Crime"

[[kpis]]
id = "crime"
title = "Total crime"
priority = "p"
kind = "count"
dataset = "crimes"
better = "lower"

[[kpis]]
id = "asb"
title = "ASB incidents"
priority = "p"
kind = "count"
dataset = "asb"
better = "lower"
lag = {lag}
"""

PER_DAY = 3


def _rows(path: Path, prefix: str, first: date, last: date) -> None:
    lines, day, n = ["Day,Ref"], first, 0
    while day <= last:
        for _ in range(PER_DAY):
            n += 1
            lines.append(f"{day.isoformat()},{prefix}{n}")
        day += timedelta(days=1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _project(tmp_path: Path, lag: int = 0) -> tuple[Path, Month, date]:
    """Crimes and ASB from January 2024 to today, loaded now; this month, and today."""
    folder = tmp_path / "nightly é"
    folder.mkdir()
    (folder / "kpi.toml").write_text(PROJECT.format(lag=lag), encoding="utf-8")
    today = datetime.now(UTC).date()
    for name in ("crimes", "asb"):
        _rows(folder / f"{name}.csv", name[0].upper(), date(2024, 1, 1), today)
        out = inprocess.run(["--project", folder, "ingest", name, folder / f"{name}.csv"])
        assert out.returncode == 0, out.stderr
    return folder, Month.of(today.year, today.month), today


def _year_ending(month: Month) -> int:
    """Rows of the 12 months ending `month`, by hand: PER_DAY a day."""
    start = month - 11
    first = date(start.year, start.month, 1)
    after = month + 1
    return PER_DAY * (date(after.year, after.month, 1) - first).days


def test_a_period_of_a_month_loaded_before_it_ended_is_refused_naming_it(tmp_path):
    folder, this_month, _ = _project(tmp_path)
    out = inprocess.run(["--project", folder, "summary", "--period", str(this_month), "--vs",
                         "yoy"])
    assert out.returncode == 3, out.stdout
    first = out.stderr.splitlines()[0]
    assert first.startswith(f"Error: no data reaches {this_month} in full: dataset '")
    assert (f" holds {this_month} only in part (its rows were loaded on ") in first
    assert first.endswith(f"before the month ended); the latest whole month "
                          f"held is {this_month - 1}")
    # The month before, loaded after it ended, counts in full.
    last = this_month - 1
    done = inprocess.run(["--project", folder, "summary", "--period", str(last), "--vs", "yoy",
                          "--format", "json"])
    assert done.returncode == 0, done.stderr
    figures = {k["id"]: k for k in json.loads(done.stdout)["kpis"]}
    assert figures["crime"]["current"]["value"] == _year_ending(last)
    assert figures["crime"]["current"]["end"] == str(last)


def test_a_kpi_whose_window_would_end_in_such_a_month_is_stale_saying_why(tmp_path):
    """ASB, a month behind (`lag = 1`), reaches the period, so it is not refused; crime's
    window would end this month, loaded today: stale at the month before, its note saying
    the month's rows were loaded before it ended."""
    folder, this_month, today = _project(tmp_path, lag=1)
    out = inprocess.run(["--project", folder, "summary", "--period", str(this_month), "--vs",
                         "yoy", "--format", "json"])
    assert out.returncode == 0, out.stderr
    figures = {k["id"]: k for k in json.loads(out.stdout)["kpis"]}
    last = this_month - 1
    assert figures["asb"]["status"] != "stale"
    assert figures["asb"]["current"]["value"] == _year_ending(last)
    crime = figures["crime"]
    assert crime["status"] == "stale"
    assert crime["current"]["end"] == str(last)
    assert crime["current"]["value"] == _year_ending(last)
    assert crime["note"].startswith(f"stale: it holds {this_month} only in part (its rows "
                                    "were loaded on ")
    assert (f"before the month ended): its data ends {last}, and the "
            f"period {this_month} asks for a window ending {this_month}") in crime["note"]


def test_vacuum_leaves_such_a_month_as_it_was_loaded(tmp_path):
    """`kpi vacuum` compacts a month held in several files into one, written now: a month
    loaded before it ended would then read as loaded after. It is left as written."""
    from kpi import store
    from kpi.catalogue import parse_project_file

    folder, this_month, today = _project(tmp_path)
    # This month in two parts, each its own file (`--parts`), so vacuum would compact it.
    csv = (folder / "crimes.csv").read_text(encoding="utf-8").splitlines()
    mine = [line for line in csv[1:] if line.startswith(str(this_month))]
    half = len(mine) // 2 or 1
    (folder / "a.csv").write_text("\n".join([csv[0], *mine[:half]]) + "\n", encoding="utf-8")
    (folder / "b.csv").write_text("\n".join([csv[0], *mine[half:]]) + "\n", encoding="utf-8")
    if len(mine) < 2:
        return  # the first of the month: one day's rows, loaded once above
    out = inprocess.run(["--project", folder, "ingest", "crimes", folder / "a.csv",
                         folder / "b.csv", "--parts"])
    assert out.returncode == 0, out.stderr
    project = parse_project_file(folder / "kpi.toml")
    assert set(store.unfinished(project, "crimes")) == {this_month}
    out = inprocess.run(["--project", folder, "vacuum", "crimes", "--keep-days", "0"])
    assert out.returncode == 0, out.stderr
    assert set(store.unfinished(project, "crimes")) == {this_month}
    refused = inprocess.run(["--project", folder, "summary", "--period", str(this_month)])
    assert refused.returncode == 3
    assert "before the month ended" in refused.stderr


def test_datasets_and_check_say_which_months_are_held_in_part(tmp_path):
    """`kpi datasets` listed this month as held (its `last`) with no mark, in every face, and
    `kpi check` said nothing of it: each now names it, and when it was loaded. The months the
    oracle expects are those of the CSVs' rows read with Python's csv, this one the latest."""
    import csv
    from zoneinfo import ZoneInfo

    from jsonschema import validate

    folder, this_month, today = _project(tmp_path)
    with (folder / "crimes.csv").open(encoding="utf-8", newline="") as f:
        held = sorted({row["Day"][:7] for row in csv.DictReader(f)})
    assert held[-1] == str(this_month)
    out = inprocess.run(["--project", folder, "datasets", "--format", "json"])
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    schema = json.loads((Path(__file__).parents[1] / "kpi" / "schemas" / "datasets.json")
                        .read_text(encoding="utf-8"))
    validate(shown, schema)
    for row in shown:
        assert row["last"] == held[-1]
        assert [h["month"] for h in row["held_in_part"]] == [str(this_month)]
        loaded = datetime.fromisoformat(row["held_in_part"][0]["loaded"])
        assert abs((datetime.now(UTC) - loaded).total_seconds()) < 600
    uk = loaded.astimezone(ZoneInfo("Europe/London"))  # the day kpi names, worked out here
    day = f"{uk.day} {uk:%B} {uk.year}"
    said = f"{this_month} (loaded {day}, before it ended)"
    table = inprocess.run(["--project", folder, "datasets"])
    assert table.returncode == 0, table.stderr
    assert "Held in part" in table.stdout
    assert table.stdout.count(str(this_month)) >= 4, table.stdout  # last and in part, twice
    assert "before it ended" in table.stdout
    text = inprocess.run(["--project", folder, "datasets", "--format", "csv"])
    rows = list(csv.DictReader(text.stdout.splitlines()))
    assert [r["held_in_part"] for r in rows] == [said, said]
    markdown = inprocess.run(["--project", folder, "datasets", "--format", "markdown"])
    assert markdown.stdout.splitlines()[0].endswith("| held_in_part | declared_whole | rolls |")
    assert said in markdown.stdout
    import kpi

    frame = kpi.open(folder).datasets()
    assert frame["held_in_part"].to_list() == [row["held_in_part"] for row in shown]
    # kpi check of the month before (whole, so it passes) says the month after is in part.
    check = inprocess.run(["--project", folder, "check", "--period", str(this_month - 1),
                           "--vs", "yoy", "--format", "json"])
    assert check.returncode == 0, check.stdout + check.stderr
    results = {r["id"]: r for r in json.loads(check.stdout)["checks"]}
    for name in ("crimes", "asb"):
        partly = results[f"in_part_{name}"]
        assert partly["passed"]
        assert partly["message"] == (
            f"dataset '{name}' holds {this_month} only in part (its rows were loaded on "
            f"{day}, before the month ended): no window counts it until it is loaded again "
            "after it ends")


def test_a_month_loaded_again_after_it_ended_is_not_held_in_part(tmp_path):
    """The field names only months loaded before they ended: last month, loaded today, none."""
    folder, this_month, _ = _project(tmp_path)
    out = inprocess.run(["--project", folder, "datasets", "--format", "json"])
    assert all(str(this_month - 1) not in json.dumps(r["held_in_part"])
               for r in json.loads(out.stdout))
    table = inprocess.run(["--project", folder, "datasets"])
    assert f"{this_month - 1} (loaded" not in table.stdout
