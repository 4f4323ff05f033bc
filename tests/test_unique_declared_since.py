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
