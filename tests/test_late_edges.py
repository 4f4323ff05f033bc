"""A month new to the store that a load holds only from its middle (an export of "the last 365
days", a query over a rolling window) was stored as the whole month, and every window holding
it read short, exit 0: nothing stored told it (`kpi.ingest.commit._check_late_edges`). Where
each other month of the load holds rows from its 1st, such data would have a row on this
month's 1st too; data whose months start later (sparse) is not judged. Counted by hand."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import inprocess

PROJECT = """
[project]
name = "Days"
baseline = "2024-09"

[datasets.crimes]
date = "day"
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


def _project(folder: Path, days: list[date]) -> Path:
    folder.mkdir()
    (folder / "kpi.toml").write_text(PROJECT, encoding="utf-8")
    (folder / "crimes.csv").write_text(
        "day,ref\n" + "".join(f"{d.isoformat()},R{n}\n" for n, d in enumerate(days)),
        encoding="utf-8")
    return folder


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _ingest(folder: Path, *more: str):
    return inprocess.run(["--project", folder, "ingest", "crimes", folder / "crimes.csv",
                          *more])


def _year(folder: Path) -> int:
    import json

    out = inprocess.run(["--project", folder, "summary", "--period", "2025-09", "--format",
                         "json"])
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["kpis"][0]["current"]["value"]


def test_an_export_of_the_last_365_days_is_refused(tmp_path):
    folder = _project(tmp_path / "p", _days(date(2024, 10, 11), date(2025, 9, 30)))
    out = _ingest(folder)
    assert out.returncode == 3, out.stderr
    line = next(x for x in out.stderr.splitlines() if x.startswith("Error:"))
    assert line == (f"Error: {folder / 'crimes.csv'}: its rows of 2024-10 start on "
                    "2024-10-11, though each month after it (to 2025-09) holds rows from its "
                    "1st: a result cut within a month would be stored as the whole month, and "
                    "every window holding it read short")
    assert not (folder / "data" / "crimes").exists()  # nothing stored
    # said to be so: by hand, October 11th to September 30th, 355 days of a crime each
    assert _ingest(folder, "--allow-shrink").returncode == 0
    assert _year(folder) == 355


def test_whole_months_and_sparse_months_load(tmp_path):
    whole = _project(tmp_path / "whole", _days(date(2024, 10, 1), date(2025, 9, 30)))
    assert _ingest(whole).returncode == 0
    assert _year(whole) == 365
    # a crime on the 11th of each month: no month holds rows from its 1st, none is judged
    sparse = _project(tmp_path / "sparse",
                      [date(2024 + (9 + m) // 12, (9 + m) % 12 + 1, 11) for m in range(12)])
    out = _ingest(sparse)
    assert out.returncode == 0, out.stderr
    assert _year(sparse) == 12
