"""The kpi.toml of a test's small project, written from Python values: its head (`[project]`,
one dataset with its columns, one priority) and its KPIs, one `[[kpis]]` block each; and the
months its extract's rows fall in (`fixture_months`).

    head("Close limits", "2024-03", "m", {"day": "date", "v": "float"},
         sources=["extracts/m.csv"], priority=("p", "Limits"))
    + kpi_block("level", "Level", "m", kind="mean", value="v", better="higher")

A column is its type ("float") or its table ({"type": "str", "from": ["Ref"]}, written inline).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

__all__ = ["fixture_months", "head", "kpi_block", "value"]


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def value(v: object) -> str:
    """A TOML value: a string (basic, escaped as JSON escapes it), a flag, a number, a list
    or a table (inline)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v) + "]"
    raise TypeError(f"no TOML value for {v!r}")


def _lines(table: Mapping[str, object]) -> str:
    return "".join(f"{_key(k)} = {value(v)}\n" for k, v in table.items())


def head(name: str, baseline: str, dataset: str, columns: Mapping[str, object], *,
         date: str = "day", priority: tuple[str, str] = ("p", "P"),
         derived: Mapping[str, str] | None = None, lines: str = "",
         **settings: object) -> str:
    """`[project]`, `[datasets.DATASET]` with `date`, the `settings` in their order and any
    raw `lines`, its columns (and derived columns), and one priority (id, title)."""
    text = f"[project]\nname = {value(name)}\nbaseline = {value(baseline)}\n\n"
    text += f"[datasets.{dataset}]\ndate = {value(date)}\n" + _lines(settings)
    if lines:
        text += lines.rstrip("\n") + "\n"
    text += f"\n[datasets.{dataset}.columns]\n" + _lines(columns)
    if derived is not None:
        text += f"\n[datasets.{dataset}.derived]\n" + _lines(derived)
    return text + f'\n[[priorities]]\nid = {value(priority[0])}\ntitle = {value(priority[1])}\n'


def kpi_block(kpi_id: str, title: str, dataset: str, *, priority: str = "p",
              **keys: object) -> str:
    """One `[[kpis]]` block: id, title, priority, dataset, then `keys` in their order (None
    leaves a key out)."""
    return (f"\n[[kpis]]\nid = {value(kpi_id)}\ntitle = {value(title)}\n"
            f"priority = {value(priority)}\ndataset = {value(dataset)}\n"
            + _lines({k: v for k, v in keys.items() if v is not None}))


def fixture_months() -> list[tuple[str, bool]]:
    """The 30 months from April 2023 to September 2025 ("2023-04"), each with whether it is
    April 2024 or later: a project with a baseline of March 2024 compares the year ending
    September 2025 (all of them later) with the year ending March 2024 (none)."""
    out = []
    for m in range(30):
        year, month = 2023 + (m + 3) // 12, (m + 3) % 12 + 1
        out.append((f"{year}-{month:02d}", (year, month) >= (2024, 4)))
    return out
