"""`unique` declared after the rows were stored: no load had checked them against each other,
so a ref the table held twice was counted twice, the summary 121 where kpi.toml says each ref
is one crime (120), exit 0, and a load of another month under the new declaration went ahead,
recording it as checked. A read now checks the stored rows once against a `unique` no load
checked them under, and refuses a repeated id naming it and its months (exit 3); a load
checks the rows it keeps against each other likewise; loading the month again without the
repeated row clears it. Counted by hand."""

from __future__ import annotations

import json
from pathlib import Path

import inprocess
import pytest

PROJECT = """
[project]
name = "Refs"
baseline = "2024-12"

[datasets.crimes]
date = "day"
{unique}
[datasets.crimes.columns]
day = "date"
ref = "str"

[[priorities]]
id = "p"
title = "Crime"

[[kpis]]
id = "crimes"
title = "Crimes"
priority = "p"
kind = "count"
dataset = "crimes"
better = "lower"
"""


def _csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("day,ref\n" + "".join(f"{d},{r}\n" for d, r in rows), encoding="utf-8")
    return path


def _year(repeat: bool) -> list[tuple[str, str]]:
    """Ten crimes on the first ten days of each month of 2025, and (`repeat`) January's R1-5
    twice."""
    rows = [(f"2025-{m:02d}-{d:02d}", f"R{m}-{d}") for m in range(1, 13) for d in range(1, 11)]
    return rows + ([("2025-01-05", "R1-5")] if repeat else [])


def _run(folder: Path, *args):
    return inprocess.run(["--project", folder, *args])


def _declared(folder: Path, unique: str) -> None:
    (folder / "kpi.toml").write_text(PROJECT.format(unique=unique), encoding="utf-8")


@pytest.mark.parametrize("unique, said", [
    ('unique = "ref"', "'R1-5' 2 times (in 2025-01), where unique = \"ref\""),
    ('unique = ["ref", "day"]',
     "'R1-5' with day 2025-01-05 2 times (in 2025-01), where unique = [\"ref\", \"day\"]"),
])
def test_a_repeated_id_stored_before_unique_was_declared_is_refused(tmp_path, unique, said):
    _declared(tmp_path, "")
    assert _run(tmp_path, "ingest", "crimes", _csv(tmp_path / "a.csv", _year(True))
                ).returncode == 0
    _declared(tmp_path, unique)
    out = _run(tmp_path, "summary", "--period", "2025-12")
    assert out.returncode == 3, out.stdout
    line = next(x for x in out.stderr.splitlines() if x.startswith("Error:"))
    assert line == ("Error: dataset 'crimes' was stored under another declaration than "
                    f"kpi.toml's: its stored rows hold {said}, declared since they were "
                    "loaded, allows it once")
    # a load of another month under the new declaration keeps January: refused, as it
    # would record the table as checked
    march = _csv(tmp_path / "march.csv", [(f"2025-03-{d:02d}", f"M{d}") for d in range(1, 11)])
    out = _run(tmp_path, "ingest", "crimes", march)
    assert out.returncode == 3
    assert f"Error: dataset 'crimes': its stored rows hold {said}" in out.stderr
    history = json.loads(_run(tmp_path, "history", "crimes", "--format", "json").stdout)
    assert len(history) == 1  # nothing stored
    # January loaded again without the repeated row: by hand, 12 months x 10 crimes
    january = _csv(tmp_path / "jan.csv", [r for r in _year(False) if r[0] < "2025-02"])
    out = _run(tmp_path, "ingest", "crimes", january)
    assert out.returncode == 0, out.stderr
    out = _run(tmp_path, "summary", "--period", "2025-12", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["kpis"][0]["current"]["value"] == 120


def test_rows_without_a_repeat_read_as_before(tmp_path):
    _declared(tmp_path, "")
    assert _run(tmp_path, "ingest", "crimes", _csv(tmp_path / "a.csv", _year(False))
                ).returncode == 0
    _declared(tmp_path, 'unique = "ref"')
    out = _run(tmp_path, "summary", "--period", "2025-12", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["kpis"][0]["current"]["value"] == 120


def _stored(folder: Path) -> list[tuple[str, str]]:
    """The stored rows, (day, ref) each."""
    import kpi

    rows = kpi.open(folder).scan("crimes").collect()
    return [(str(day), ref) for day, ref in rows.select("day", "ref").iter_rows()]


def _error(out) -> str:
    return next(x for x in out.stderr.splitlines() if x.startswith("Error:"))


def test_an_id_written_another_way_is_the_same_id(tmp_path):
    """`unique` compares ids by the identity rule (`kpi.text.identity_key`): '000123' and
    '123' (a re-extract a spreadsheet saved without its leading zeros), or 'cr-7' and 'CR-7',
    are one id. Compared as written, incident 000123 stored in August and re-dated into
    September as '123' loaded beside it: 4 rows where 3 incidents, exit 0."""
    _declared(tmp_path, 'unique = "ref"')
    august = _csv(tmp_path / "aug.csv", [("2025-08-30", "000123"), ("2025-08-11", "000124")])
    assert _run(tmp_path, "ingest", "crimes", august).returncode == 0
    september = _csv(tmp_path / "sep.csv", [("2025-09-01", "123"), ("2025-09-11", "125")])
    out = _run(tmp_path, "ingest", "crimes", september)
    assert out.returncode == 3, out.stdout
    assert _error(out) == (
        f"Error: {september}, row 2, column 'ref': expected each ref once (dataset 'crimes' "
        "declares 'ref' unique), found '123', which the store already holds (as '000123') in "
        "2025-08, a month this load does not replace")
    # within one load: both rows named with their spellings
    both = _csv(tmp_path / "both.csv", [("2025-10-01", "CR-7"), ("2025-10-02", "cr-7 ")])
    out = _run(tmp_path, "ingest", "crimes", both)
    assert out.returncode == 3, out.stdout
    assert _error(out) == (
        f"Error: {both}, row 3, column 'ref': expected each ref once (dataset 'crimes' "
        "declares 'ref' unique), found 'cr-7' again (at both.csv row 2 as 'CR-7', both.csv "
        "row 3 as 'cr-7')")
    # August and September loaded together, the incident once: by hand, 3 incidents
    together = _csv(tmp_path / "fixed.csv", [("2025-08-11", "000124"), ("2025-09-01", "123"),
                                             ("2025-09-11", "125")])
    assert _run(tmp_path, "ingest", "crimes", together).returncode == 0
    assert sorted(_stored(tmp_path)) == [("2025-08-11", "000124"), ("2025-09-01", "123"),
                                         ("2025-09-11", "125")]


def test_stored_spellings_of_one_id_are_a_repeat(tmp_path):
    """Rows stored before `unique` was declared, holding one id in two spellings: a repeat,
    named in both."""
    _declared(tmp_path, "")
    rows = [("2025-01-02", "007"), ("2025-02-03", "7"), ("2025-02-04", "8")]
    assert _run(tmp_path, "ingest", "crimes", _csv(tmp_path / "a.csv", rows)).returncode == 0
    _declared(tmp_path, 'unique = "ref"')
    out = _run(tmp_path, "summary", "--period", "2025-02")
    assert out.returncode == 3, out.stdout
    assert ("its stored rows hold '007' (also written '7') 2 times (in 2025-01, 2025-02)"
            in _error(out))


def test_ids_differing_otherwise_are_two(tmp_path):
    """Ids the identity rule tells apart load: '0123' and '1230', 'A1' and 'A-1', '12' and
    '1.2'; by hand, six crimes."""
    _declared(tmp_path, 'unique = "ref"')
    rows = [("2025-01-02", r) for r in ("0123", "1230", "A1", "A-1", "12", "1.2")]
    assert _run(tmp_path, "ingest", "crimes", _csv(tmp_path / "a.csv", rows)).returncode == 0
    assert sorted(_stored(tmp_path)) == sorted(rows)
