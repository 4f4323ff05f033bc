"""The workforce project of the pivot-table tests (tests/test_total_rows.py,
tests/test_pivot_layout.py): a headcount by month, LPA and role, a `sum` KPI broken down by
LPA, and the CSV files and workbooks an analyst saves from a pivot table of it."""

from __future__ import annotations

from pathlib import Path

import inprocess
import pytest

xlsxwriter = pytest.importorskip("xlsxwriter")

TOML = """\
[project]
name = "Pivot force"
baseline = "2024-12"

[datasets.workforce]
date = "month"
[datasets.workforce.columns]
month = { type = "month", from = ["Month"] }
lpa = { type = "str", from = ["LPA"] }
role = { type = "str", from = ["Role"] }
headcount = { type = "int", from = ["Headcount"] }

[[priorities]]
id = "community"
title = "Community"

[[kpis]]
id = "heads"
title = "Headcount"
priority = "community"
kind = "sum"
value = "headcount"
dataset = "workforce"
better = "higher"
breakdowns = ["lpa"]
"""

# Each LPA's and role's headcount a month: 160 in all.
PARTS = {("Birmingham", "Officer"): 100, ("Birmingham", "Staff"): 7,
         ("Coventry", "Officer"): 50, ("Coventry", "Staff"): 3}
HEADER = ("Month", "LPA", "Role", "Headcount")


def write_csv(path: Path, rows, header=HEADER) -> Path:
    path.write_text(",".join(header) + "\n"
                    + "".join(",".join(str(v) for v in row) + "\n" for row in rows))
    return path


def write_xlsx(path: Path, rows, header=HEADER) -> Path:
    """A workbook of one sheet, 'Pivot': an empty cell where a row holds ''."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Pivot")
    for line, row in enumerate([header, *rows]):
        for col, value in enumerate(row):
            if value != "":
                sheet.write(line, col, value)
    book.close()
    return path


def project(folder: Path, toml: str = TOML) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kpi.toml").write_text(toml)
    return folder


def run_kpi(folder: Path, *args: str):
    return inprocess.run(["--project", str(folder), *args])
