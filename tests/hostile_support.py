"""Shared by the tests/test_hostile_*.py modules: a copy of the small hostile-input project,
its good extract, and a snapshot of what the store holds (version and every row), so a test
can assert that a failed load changed nothing."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl

HOSTILE = Path(__file__).resolve().parent / "fixtures" / "hostile"
GOOD_HEADER = "Incident Ref,Date,LPA,Victims,Age range"


def make_project(folder: Path) -> Path:
    """A fresh copy of the hostile-input project (kpi.toml and good.csv) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("kpi.toml", "good.csv"):
        shutil.copy(HOSTILE / name, folder / name)
    return folder


@dataclass(frozen=True)
class Snapshot:
    """A dataset's table as stored: its version (None before the first load) and rows."""

    version: int | None
    rows: pl.DataFrame | None

    def same_as(self, other: Snapshot) -> bool:
        if self.version != other.version:
            return False
        if self.rows is None or other.rows is None:
            return self.rows is None and other.rows is None
        return self.rows.equals(other.rows)


def snapshot(folder: Path, dataset: str = "incidents") -> Snapshot:
    """Read the stored table straight from Delta (not through kpi's own store module)."""
    from deltalake import DeltaTable

    path = folder / "data" / dataset
    if not DeltaTable.is_deltatable(str(path)):
        return Snapshot(None, None)
    table = DeltaTable(str(path))
    rows = pl.from_arrow(table.to_pyarrow_table())
    return Snapshot(table.version(), rows.sort(rows.columns))


def first_error(stderr: str) -> str:
    """The error line the CLI printed (the hint, if any, is on the next line)."""
    lines = stderr.splitlines()
    assert lines and lines[0].startswith("Error: "), stderr
    return lines[0]
