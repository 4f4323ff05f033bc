"""Months made from separate columns, as published tables give them.

A dataset may declare its month as a financial year and quarter (the Home Office's police
recorded crime tables: "2017/18", quarter 1 = April to June 2017), a calendar year and quarter,
or a year and a month number. Each row is stored in the month partition its period starts in;
a quarterly row stands for three months, so the months a quarterly dataset holds are its
quarters' months, and a window that would cut a quarter is refused rather than half counted.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import polars as pl

from kpi.catalogue import UK, ColumnSpec, DatasetSpec
from kpi.periods import Month, Window

if TYPE_CHECKING:
    from kpi.catalogue import Project


def _first_year(text: pl.Expr) -> pl.Expr:
    return text.str.slice(0, 4).cast(pl.Int64, strict=False)


# The years a date may fall in, as for every date an extract holds: police data begins well
# after 1990, and a year past the next is a typing error ('2071/72', '1899/00'). The year is
# the UK's, as every date is, not the machine's zone's (one set to Sydney's or New York's
# clock reads another year for some hours around New Year).
SANE_YEARS = (1990, datetime.now(ZoneInfo(UK)).year + 1)


def _financial_year_ok(text: pl.Expr) -> pl.Expr:
    """'2017/18', '2017-18' or '2017/2018': four digits, then the next year's last two (or
    all four) digits, starting in SANE_YEARS."""
    shaped = text.str.contains(r"^\d{4}[/-](\d{2}|\d{4})$")
    digits = text.str.extract(r"[/-](\d{2,4})$")
    second = digits.cast(pl.Int64, strict=False)
    first = _first_year(text)
    follows = pl.when(digits.str.len_chars() == 4).then(second == first + 1) \
        .otherwise(second == (first + 1) % 100)
    return shaped & follows & first.is_between(*SANE_YEARS)


def financial_year_text(text: pl.Expr) -> pl.Expr:
    """A financial year in one spelling, '2017/18', where it is one written as kpi reads it
    ('2017-18', '2017/2018', spaces around it); anything else as it is, for the rules to
    refuse. '2023/24' and '2023/2024' were one quarter to the months but two values to
    `unique`, `kpi compare` and a filter: a quarter given twice in one file was summed."""
    clean = text.str.strip_chars()
    first = _first_year(clean)
    return (pl.when(_financial_year_ok(clean))
            .then(pl.format("{}/{}", first.cast(pl.String),
                            ((first + 1) % 100).cast(pl.String).str.zfill(2)))
            .otherwise(text))


def month_start(spec: DatasetSpec) -> pl.Expr:
    """The first day of the month of each typed row of the dataset, as a Date named `month`:
    the row's `month` partition, written YYYY-MM (`MONTH_TEXT`). Rows are grouped by the date
    and each month's text made once (see `ingest.stage._Sink.add`)."""
    parts = spec.date_parts
    if parts is None:
        # The UK date's month: a datetime is an instant read as UK time, and casting it to a
        # date would take its date in UTC (00:30 BST on 1 July is 30 June there).
        return pl.col(spec.date).dt.date().dt.month_start().alias("month")
    year, part = pl.col(parts.year), pl.col(parts.part).cast(pl.Int64)
    if parts.kind == "financial_quarter":
        # Quarter 1 starts in April of the year's first calendar year; quarter 4 in January.
        index = _first_year(year) * 12 + 3 + (part - 1) * 3  # months since year 0, from 0
        start_year, start_month = index // 12, index % 12 + 1
    elif parts.kind == "quarter":
        start_year, start_month = year, (part - 1) * 3 + 1
    else:
        start_year, start_month = year, part
    return pl.date(start_year, start_month, 1).alias("month")


# The `month` partition's text (YYYY-MM) from `month_start`'s date.
MONTH_TEXT = pl.col("month").dt.strftime("%Y-%m").alias("month")


def rules(spec: DatasetSpec, col: ColumnSpec, source: str) -> list[tuple[str, pl.Expr, pl.Expr]]:
    """Ingest checks on a date part column: (source column, failing condition, message)."""
    parts = spec.date_parts
    if parts is None or col.name not in (parts.year, parts.part):
        return []
    raw, value = pl.col(f"__raw_{col.name}"), pl.col(col.name)
    present = raw.is_not_null() & (raw.str.strip_chars() != "")
    found = raw.str.replace_all(r"[\x00-\x1f\x7f]", "?").str.slice(0, 40)
    out: list[tuple[str, pl.Expr, pl.Expr]] = []
    if col.name == parts.part:
        what = "a month number 1 to 12" if parts.kind == "month" else "a quarter 1 to 4"
        top = 12 if parts.kind == "month" else 4
        out.append((source, ~present, pl.lit(f"expected {what}, found a blank")))
        out.append((source, present & value.is_not_null() & ~value.is_between(1, top),
                    pl.format("expected {}, found '{}'", pl.lit(what), found)))
    elif parts.kind == "financial_quarter":
        low, high = SANE_YEARS
        out.append((source, present & ~_financial_year_ok(value.cast(pl.String).str
                                                           .strip_chars()).fill_null(False),
                    pl.format("expected a financial year such as 2017/18, from "
                              f"{low}/{(low + 1) % 100:02d} to {high}/{(high + 1) % 100:02d}, "
                              "found '{}'", found)))
    else:
        out.append((source, present & value.is_not_null() & ~value.is_between(*SANE_YEARS),
                    pl.format("expected a year from {} to {}, found '{}'",
                              pl.lit(SANE_YEARS[0]), pl.lit(SANE_YEARS[1]), found)))
    return out


def covered(spec: DatasetSpec, months: list[Month]) -> list[Month]:
    """The months a dataset's stored month partitions stand for: each quarter's three months
    for a quarterly dataset."""
    if spec.months_per_row == 1:
        return months
    return sorted({m + i for m in months for i in range(spec.months_per_row)})


def quarter_cut(project: Project, dataset_ids: list[str], window: Window | None) -> str | None:
    """Why a window cannot be computed from quarterly rows (it starts or ends inside a
    quarter, which would count part of it), or None."""
    if window is None:
        return None
    for dataset_id in dataset_ids:
        spec = project.datasets.get(dataset_id)
        if spec is None or spec.months_per_row == 1:
            continue
        if window.start.month % 3 != 1 or window.end.month % 3 != 0:
            # No period is at fault: a current window ends at a whole quarter (target_month)
            # and `--vs previous` steps back one (engine.row_step), so what cuts a quarter
            # is a KPI's baseline or `[project] baseline` (it said "choose a period ending
            # in March, June, September or December" of the period 2018-06).
            return (f"{window.label} cuts a quarter: dataset '{dataset_id}' holds one row per "
                    "quarter, which cannot be split into months (a window of whole quarters "
                    "starts in January, April, July or October and ends in March, June, "
                    "September or December: give the baseline so)")
    return None
