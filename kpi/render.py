"""Turning engine results into text: numbers in the report's style, JSON, CSV and Rich tables.

Rounding happens only here, at display; JSON and CSV carry full precision.
"""

from __future__ import annotations

import csv
import io
import json
import math
from enum import StrEnum
from typing import Any

from kpi.catalogue import Unit
from kpi.engine import Change, KpiResult, Measured, Outcome, Report


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


STATUS_STYLE = {
    Outcome.IMPROVING: "green",
    Outcome.DETERIORATING: "red",
    Outcome.STABLE: "",
    Outcome.CHANGED: "yellow",
    Outcome.IN_DEVELOPMENT: "dim",
    Outcome.NO_DATA: "dim",
}
STATUS_WORDS = {
    Outcome.IMPROVING: "improving", Outcome.DETERIORATING: "deteriorating",
    Outcome.STABLE: "stable", Outcome.CHANGED: "changed",
    Outcome.IN_DEVELOPMENT: "in development", Outcome.NO_DATA: "no data",
}


# ---------------------------------------------------------------------------------------------
# Numbers


def duration(seconds: float) -> str:
    """h:mm:ss, or m:ss under an hour."""
    total = int(round(abs(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    sign = "-" if seconds < 0 and total else ""
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{secs:02d}"
    return f"{sign}{minutes}:{secs:02d}"


def number(value: float | None, unit: Unit) -> str:
    """A value as the report shows it."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    match unit:
        case Unit.PERCENT:
            return f"{value:.1f}%"
        case Unit.SECONDS:
            return duration(value)
        case Unit.DAYS:
            return f"{value:,.0f} days" if float(value).is_integer() else f"{value:,.1f} days"
        case Unit.RATIO:
            return f"{value:.1f}"
        case Unit.GBP:
            return f"£{value:,.0f}"
        case Unit.COUNT:
            return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
        case _:
            return f"{value:,.1f}"


def signed(value: float, text: str) -> str:
    return ("+" if value > 0 else "") + text if not text.startswith("-") else text


def change_text(change: Change | None, unit: Unit) -> str:
    """'+208 (+0.8%)', '+6.8pp', '-2:04 (-16.6%)', '+12 (n/a)' for a zero base."""
    if change is None:
        return "n/a"
    if change.points is not None:
        return signed(change.points, f"{change.points:.1f}pp")
    if unit == Unit.RATIO:
        return signed(change.absolute, f"{change.absolute:.1f}")
    absolute = signed(change.absolute, number(change.absolute, unit).replace(" days", ""))
    percent = "n/a" if change.percent is None else signed(change.percent,
                                                          f"{change.percent:.1f}%")
    return f"{absolute} ({percent})"


def arrow(change: Change | None) -> str:
    if change is None:
        return " "
    size = next((v for v in (change.points, change.absolute) if v is not None), 0.0)
    if round(size, 1) == 0:
        return "→"
    return "↑" if size > 0 else "↓"


# ---------------------------------------------------------------------------------------------
# Structured outputs


def _window_json(measured: Measured | None) -> dict[str, Any] | None:
    if measured is None:
        return None
    return {"label": measured.window.label, "start": str(measured.window.start),
            "end": str(measured.window.end), "value": _plain(measured.value),
            "numerator": _plain(measured.numerator), "denominator": _plain(measured.denominator)}


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def result_json(result: KpiResult, priorities: dict[str, str]) -> dict[str, Any]:
    kpi = result.kpi
    change = result.change
    return {
        "id": kpi.id, "title": kpi.title, "priority": kpi.priority,
        "priority_title": priorities.get(kpi.priority, ""), "kind": kpi.kind.value,
        "unit": kpi.unit.value, "better": kpi.better.value, "status": result.status,
        "current": _window_json(result.current), "comparison": _window_json(result.comparison),
        "change": {"absolute": _plain(change.absolute) if change else None,
                   "percent": _plain(change.percent) if change else None,
                   "points": _plain(change.points) if change else None},
        "note": result.note,
    }


def report_json(report: Report, project_name: str, priorities: dict[str, str]) -> str:
    document = {
        "project": project_name,
        "period": str(report.period),
        "comparison": report.comparison.value,
        "versions": dict(sorted(report.versions.items())),
        "kpis": [result_json(r, priorities) for r in report.results],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


CSV_FIELDS = [
    "id", "title", "priority", "kind", "unit", "better", "status",
    "comparison_label", "comparison_start", "comparison_end", "comparison_value",
    "current_label", "current_start", "current_end", "current_value",
    "change_absolute", "change_percent", "change_points", "note",
]


def safe_cell(value: Any) -> Any:
    """Neutralise spreadsheet formula injection: text starting =, +, -, @ gets a quote.
    Numbers are left alone, so a negative change stays a number."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def report_csv(report: Report, priorities: dict[str, str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for result in report.results:
        doc = result_json(result, priorities)
        row = {k: doc[k] for k in ("id", "title", "priority", "kind", "unit", "better",
                                   "status", "note")}
        for role in ("comparison", "current"):
            for key in ("label", "start", "end", "value"):
                row[f"{role}_{key}"] = (doc[role] or {}).get(key)
        for key in ("absolute", "percent", "points"):
            row[f"change_{key}"] = doc["change"][key]
        writer.writerow({k: safe_cell(v) for k, v in row.items()})
    return out.getvalue()


def escape_markdown(text: str) -> str:
    """Text from data made safe inside Markdown prose and table cells."""
    out = []
    for char in str(text):
        if char in "\\`*_{}[]<>()#+!|~":
            out.append("\\" + char)
        elif char in "\r\n":
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def report_markdown_table(report: Report, priorities: list[tuple[str, str]]) -> str:
    lines = []
    for priority_id, title in priorities:
        results = [r for r in report.results if r.kpi.priority == priority_id]
        if not results:
            continue
        lines += [f"## {escape_markdown(title)}", "",
                  "| KPI | Comparison | Current | Change | Status |",
                  "|---|---|---|---|---|"]
        for r in results:
            lines.append("| " + " | ".join([
                escape_markdown(r.kpi.title), escape_markdown(_cell(r.comparison, r)),
                escape_markdown(_cell(r.current, r)),
                escape_markdown(change_text(r.change, r.kpi.unit) if r.change else "n/a"),
                STATUS_WORDS[r.status]]) + " |")
        lines.append("")
    return "\n".join(lines)


def _cell(measured: Measured | None, result: KpiResult) -> str:
    if measured is None:
        return "—"
    return f"{measured.window.code}: {number(measured.value, result.kpi.unit)}"


# ---------------------------------------------------------------------------------------------
# Rich tables


def report_tables(report: Report, priorities: list[tuple[str, str]], *, box: bool = True):
    """One Rich table per priority, in plan order."""
    from rich import box as boxes
    from rich.table import Table
    from rich.text import Text

    tables = []
    for priority_id, title in priorities:
        results = [r for r in report.results if r.kpi.priority == priority_id]
        if not results:
            continue
        table = Table(title=title, title_justify="left", box=boxes.SIMPLE_HEAD if box else None,
                      show_edge=False, pad_edge=False, expand=False)
        table.add_column("KPI", overflow="fold", min_width=20)
        table.add_column("Comparison", justify="right")
        table.add_column("Current", justify="right")
        table.add_column("Change", justify="right")
        table.add_column("Status")
        for r in results:
            style = STATUS_STYLE[r.status]
            status = Text(f"{arrow(r.change)} {STATUS_WORDS[r.status]}", style=style)
            table.add_row(r.kpi.title, _cell(r.comparison, r), _cell(r.current, r),
                          change_text(r.change, r.kpi.unit) if r.change else "n/a", status)
        tables.append(table)
    return tables
