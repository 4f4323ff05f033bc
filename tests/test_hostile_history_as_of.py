"""Issue 5, point 4: every load is a table version with its provenance, `kpi history` lists
them, and `--as-of VERSION|DATE` reproduces figures exactly as they stood then."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from deltalake import DeltaTable
from hostile_support import GOOD_HEADER, first_error, make_project, snapshot

from kpi.store import TABLE_CONFIGURATION


def _extract(months: list[str], per_month, prefix: str) -> str:
    """An extract with per_month(month) incidents in each month, one victim each."""
    lines = [GOOD_HEADER]
    for month in months:
        for day in range(1, per_month(month) + 1):
            lines.append(f"{prefix}{month}-{day},{month}-{day:02d},Dudley,1,18-24")
    return "\n".join(lines) + "\n"


MONTHS = [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]
REVISED = [f"2025-{m:02d}" for m in range(7, 13)]


@pytest.fixture
def project(tmp_path, cli):
    folder = make_project(tmp_path / "project")
    # First load: 2 incidents a month in 2024, 3 a month in 2025.
    (folder / "first.csv").write_text(
        _extract(MONTHS, lambda m: 2 if m < "2025" else 3, "A"))
    # A revised re-extract of July..December 2025: 5 a month (live data changed).
    (folder / "revised.csv").write_text(_extract(REVISED, lambda m: 5, "R"))
    assert cli(["--project", folder, "ingest", "incidents", folder / "first.csv"]
               ).exit_code == 0
    return folder


def _summary(cli, folder, *extra) -> dict:
    result = cli(["--project", folder, "summary", "--period", "2025-12", "--format", "json",
                  *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _current(document: dict, kpi_id: str) -> float:
    return next(k for k in document["kpis"] if k["id"] == kpi_id)["current"]["value"]


def test_as_of_version_reproduces_the_earlier_figures_exactly(project, cli):
    before = _summary(cli, project)
    # Hand-computed: YE 2025-12 holds 12 months of 3 incidents; the baseline YE 2025-01 holds
    # 11 months of 2 and one of 3.
    assert _current(before, "incidents") == 36
    assert next(k for k in before["kpis"] if k["id"] == "incidents")["comparison"]["value"] == 25
    assert before["versions"] == {"incidents": 0}

    assert cli(["--project", project, "ingest", "incidents", project / "revised.csv"]
               ).exit_code == 0
    after = _summary(cli, project)
    assert _current(after, "incidents") == 6 * 3 + 6 * 5
    assert after["versions"] == {"incidents": 1}

    assert _summary(cli, project, "--as-of", "0") == before
    assert _summary(cli, project, "--as-of", "1") == after


def test_as_of_a_moment_picks_the_version_current_then(project, cli):
    before = _summary(cli, project)
    first_commit = DeltaTable(str(project / "data" / "incidents")).history()[-1]["timestamp"]
    moment = datetime.fromtimestamp(first_commit / 1000).astimezone()
    cli(["--project", project, "ingest", "incidents", project / "revised.csv"])
    later = moment + timedelta(milliseconds=1)
    assert DeltaTable(str(project / "data" / "incidents")).history()[0]["timestamp"] > (
        later.timestamp() * 1000), "the two loads must be apart for this test"
    assert _summary(cli, project, "--as-of", later.isoformat()) == before
    # A bare date means the end of that day (UTC): by then the revision was loaded.
    today = datetime.now(UTC).date().isoformat()
    assert _summary(cli, project, "--as-of", today)["versions"] == {"incidents": 1}


def test_as_of_before_the_first_load_or_past_the_last_version(project, cli):
    """A point in history no stored dataset can give is a data error (exit 3), not a report
    of empty KPIs."""
    for value, message in (
            ("2000-01-01", "Error: dataset 'incidents' did not exist at 2000-01-01 (the end of "
                           "the day, UTC; first loaded "),
            ("2000-01-01T18:00+01:00", "Error: dataset 'incidents' did not exist at "
                                       "2000-01-01T18:00+01:00 (first loaded "),
            ("7", "Error: dataset 'incidents' has no version 7 (latest is 0)")):
        result = cli(["--project", project, "summary", "--period", "2025-12", "--format",
                      "json", "--as-of", value])
        assert result.exit_code == 3, result.output
        assert result.stdout == ""
        assert first_error(result.stderr).startswith(message)
        assert "Traceback" not in result.output


@pytest.mark.parametrize("value", ["yesterday", "v1", "-1", "2025-13-01"])
def test_malformed_as_of_is_a_usage_error(project, cli, value):
    result = cli(["--project", project, "summary", "--period", "2025-12", "--as-of", value])
    assert result.exit_code == 2
    assert first_error(result.stderr) == (
        f"Error: invalid --as-of '{value}': expected a version number or an ISO date or time "
        "such as 2025-10-31 or 2025-10-31T18:00")


def test_each_versions_time_given_back_as_as_of_reads_that_version(project, cli):
    """`kpi history`'s time was cut to the second, before the commit it names (made later in
    that second): given back as `--as-of` it read the version before, 36 incidents in 2025
    where that version holds 48 (6 months of 3, 6 of 5), exit 0. Written to the millisecond,
    as Delta's log holds it, each time reads its own version."""
    cli(["--project", project, "ingest", "incidents", project / "revised.csv"])
    result = cli(["--project", project, "history", "incidents", "--format", "json"])
    times = [v["time"] for v in json.loads(result.stdout)]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", t) for t in times)
    for version, time in enumerate(times):
        got = _summary(cli, project, "--as-of", time)
        assert got["versions"] == {"incidents": version}
        # 12 months of 3 in 2025; revised, July to December 5 each: 6 * 3 + 6 * 5
        assert _current(got, "incidents") == (36, 48)[version]
    # The table's time too (cut to the minute, it read the version before): in UTC to the
    # millisecond, as --as-of takes it.
    table = cli(["--project", project, "history", "incidents"]).stdout
    shown = re.findall(r"^version (\d+)  (\S+)  ", table, flags=re.MULTILINE)
    assert [(int(v), t) for v, t in shown] == [
        (v, t.removesuffix("+00:00") + "Z") for v, t in enumerate(times)]
    for version, time in shown:
        assert _summary(cli, project, "--as-of", time)["versions"] == {
            "incidents": int(version)}


def test_history_lists_every_load_with_its_provenance(project, cli):
    cli(["--project", project, "ingest", "incidents", project / "revised.csv"])
    result = cli(["--project", project, "history", "incidents", "--format", "json"])
    assert result.exit_code == 0, result.output
    versions = json.loads(result.stdout)
    for entry in versions:
        entry["time"] = datetime.fromisoformat(entry.pop("time"))
    assert versions[0]["time"] <= versions[1]["time"]
    sha = {name: hashlib.sha256((project / name).read_bytes()).hexdigest()
           for name in ("first.csv", "revised.csv")}
    size = {name: (project / name).stat().st_size for name in sha}
    # A file read: no sheet (not a workbook), no query (not a database); the incidents'
    # dates have no times, so no zone was read.
    no_query = dict.fromkeys(("sheet", "query", "query_file", "query_sha256", "uri_env"))
    assert [{k: v for k, v in e.items() if k != "time"} for e in versions] == [
        {"schema_version": 1, "version": 0, "operation": "ingest", "rows": 60, "rejected": 0,
         "months": MONTHS,
         "sources": [{"file": "first.csv", "sha256": sha["first.csv"],
                      "bytes": size["first.csv"], "rows": 60, "rejected": 0, **no_query}],
         "replaced": [], "quarantine": None, "time_zones": None},
        {"schema_version": 1, "version": 1, "operation": "ingest", "rows": 30, "rejected": 0,
         "months": REVISED,
         "sources": [{"file": "revised.csv", "sha256": sha["revised.csv"],
                      "bytes": size["revised.csv"], "rows": 30, "rejected": 0, **no_query}],
         # Each month of 2025 held 3 incidents; the revision holds 5.
         "replaced": [{"key": m, "before": 3, "after": 5} for m in REVISED],
         "quarantine": None, "time_zones": None},
    ]

    result = cli(["--project", project, "history", "incidents", "--format", "csv"])
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["version", "time", "operation", "rows", "months", "sources", "sha256",
                       "replaced", "rejected", "quarantine"]
    replaced = " ".join(f"{m} 3->5" for m in REVISED)
    assert [r[:1] + r[2:] for r in rows[1:]] == [
        ["0", "ingest", "60", "2024-01..2025-12", "first.csv", sha["first.csv"], "", "0", ""],
        ["1", "ingest", "30", "2025-07..2025-12", "revised.csv", sha["revised.csv"], replaced,
         "0", ""],
    ]

    # The workbook and the CSV for Excel hold each hash and month replaced in full, as the
    # CSV does: they kept 12 of the 64 digits and "(+3 more)", which no auditor can check a
    # file against.
    from openpyxl import load_workbook

    book = project / "history.xlsx"
    assert cli(["--project", project, "history", "incidents", "--format", "xlsx", "--output",
                book]).exit_code == 0
    sheet = list(load_workbook(book).worksheets[0].iter_rows(values_only=True))
    top = next(i for i, r in enumerate(sheet) if r[0] == "version")
    header = list(sheet[top])
    assert [(r[header.index("sha256")], r[header.index("replaced")] or "")
            for r in sheet[top + 1:top + 3]] == [(sha["first.csv"], ""),
                                                 (sha["revised.csv"], replaced)]
    result = cli(["--project", project, "history", "incidents", "--format", "csv-excel"])
    excel = list(csv.reader(io.StringIO(result.stdout.removeprefix("\ufeff"))))
    # (a cell Excel would read as a date is written as its text, ="...")
    assert [[re.sub(r'^="(.*)"$', r"\1", c) for c in r[6:8]] for r in excel[1:]] == [
        [sha["first.csv"], ""], [sha["revised.csv"], replaced]]

    result = cli(["--project", project, "history", "incidents"])
    lines = result.stdout.splitlines()
    assert lines[0] == "History of 'incidents' (2 versions)"
    # A block per version; on a terminal, the first three months replaced and a count of the
    # rest.
    assert lines[5].split()[:2] + lines[5].split()[3:] == [
        "version", "1", "ingest", "30", "rows", "2025-07..2025-12"]
    assert lines[6:] == [f"  revised.csv (sha256 {sha['revised.csv'][:12]})",
                         "  replaced 2025-07 3->5 2025-08 3->5 2025-09 3->5 (+3 more)"]


def test_history_is_readable_at_80_columns_and_short_lines_when_piped(project, cli):
    for columns in ("80", "40"):
        result = cli(["--project", project, "history", "incidents"], env={"COLUMNS": columns})
        assert result.exit_code == 0
        assert max(len(line) for line in result.stdout.splitlines()) <= int(columns)
        assert "60 rows  2024-01..2025-12" in result.stdout.replace("\n  ", "  ")


def test_history_of_a_dataset_with_no_data(project, cli):
    result = cli(["--project", project, "history", "strict"])
    assert result.exit_code == 3
    assert first_error(result.stderr) == "Error: dataset 'strict' has no data yet"


def test_every_version_is_kept_and_a_version_can_be_restored(project, cli):
    table = DeltaTable(str(project / "data" / "incidents"))
    # Delta would otherwise drop log entries older than 30 days at a checkpoint, and with
    # them the versions a board paper was computed from.
    assert {k: table.metadata().configuration.get(k) for k in TABLE_CONFIGURATION} == (
        TABLE_CONFIGURATION)
    before = _summary(cli, project)
    first = snapshot(project)
    cli(["--project", project, "ingest", "incidents", project / "revised.csv"])
    # The recovery recipe of docs/guarantees.md: restore version 0 as a new version.
    DeltaTable(str(project / "data" / "incidents")).restore(0)
    restored = snapshot(project)
    assert restored.version == 2 and restored.rows.equals(first.rows)
    assert {**_summary(cli, project), "versions": {"incidents": 0}} == before


def test_a_reload_after_a_restore_compares_with_the_restored_state(project, cli):
    """Issue 17, break 1: after `restore(0)` the latest kpi load (version 1, the revision) no
    longer describes the table; reloading the revision must store it again, not answer
    'Nothing changed' and leave the restored figures in place."""
    cli(["--project", project, "ingest", "incidents", project / "revised.csv"])
    revised = _current(_summary(cli, project), "incidents")
    DeltaTable(str(project / "data" / "incidents")).restore(0)
    assert _current(_summary(cli, project), "incidents") == 36
    result = cli(["--project", project, "ingest", "incidents", project / "revised.csv"])
    assert result.exit_code == 0, result.output
    assert "Nothing changed" not in result.stderr
    # Hand-computed: January to June 2025 hold 3 incidents each, July to December 5 each.
    assert revised == 6 * 3 + 6 * 5
    assert _current(_summary(cli, project), "incidents") == revised
    assert snapshot(project).version == 3
    # Now the latest commit is that load again: a second reload changes nothing.
    again = cli(["--project", project, "ingest", "incidents", project / "revised.csv"])
    assert "Nothing changed" in again.stderr and snapshot(project).version == 3


def test_history_lists_a_vacuum_and_a_restore_without_rows(project, cli):
    """`kpi history` as text raised a TypeError on any commit that is not a load (a vacuum's,
    a restore's: they count no rows), so after `kpi vacuum` it failed every time."""
    cli(["--project", project, "ingest", "incidents", project / "revised.csv"])
    DeltaTable(str(project / "data" / "incidents")).restore(0)
    assert cli(["--project", project, "vacuum", "--keep-days", "0"]).exit_code == 0
    result = cli(["--project", project, "history", "incidents"])
    assert result.exit_code == 0, result.output
    heads = [line.split("  ", 2)[2] for line in result.stdout.splitlines()
             if line.startswith("version ")]
    assert [h.split("  ")[0] for h in heads] == ["ingest", "ingest", "restore", "vacuum start",
                                                 "vacuum end"]


@pytest.mark.parametrize("week", ["2025-W49", "2025W49", "2025-w49"])
def test_an_iso_week_is_refused_as_reading_two_ways(project, cli, week):
    """Python reads an ISO week as its Monday: `--as-of 2026-W49` gave the end of that Monday,
    leaving out the loads of the rest of the week, where a week's figures "as of" it read as
    of its end. Refused, naming the day to write; a week's day (2025-W49-7) is a date."""
    result = cli(["--project", project, "summary", "--period", "2025-12", "--as-of", week])
    assert result.exit_code == 2
    assert f"Error: invalid --as-of '{week}': it names a week, which reads as its Monday or " \
           "as its end" in result.output
    dated = cli(["--project", project, "summary", "--period", "2025-12", "--format", "json",
                 "--as-of", "2099-W01-7"])
    assert dated.exit_code == 2 and "a date after today" in dated.output
