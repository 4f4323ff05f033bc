"""Excel workbooks (`--format xlsx`): a table per sheet, written by xlsxwriter through Polars.

Each sheet opens with a header block (what was asked: project, period, comparison, windows,
data versions), then one Excel table whose header row is frozen. Cells hold full-precision
numbers, formatted by what the column holds (`ROLES`): a percentage is a percentage cell
(45.3% is stored as 0.453, so sums and charts in Excel work), counts have thousands
separators, months are date cells (the first day of the month, shown yyyy-mm). Where a column
holds values in each KPI's own unit (a summary's current_value), each cell takes the format of
its row's unit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpi.catalogue import UNIT_PLACES, Unit, prints_percent_change, unit_own_places
from kpi.errors import visible
from kpi.rounding import Beside, places_apart

if TYPE_CHECKING:
    import polars as pl

# Column name -> what it holds. "unit": the value's own unit (the row's `unit` column, or the
# sheet's); "change": an absolute change in that unit (points for a percentage).
# Columns whose figures are printed side by side in a row, each with the other.
PAIRED = {"current": "comparison", "comparison": "current",
          "current_value": "comparison_value", "comparison_value": "current_value",
          "value": "a_year_earlier", "a_year_earlier": "value"}
# The columns of `PAIRED` that hold the comparison of the pair: the change printed beside the
# two is from it (kpi.rounding.Beside).
COMPARISONS = frozenset({"comparison", "comparison_value", "a_year_earlier"})
ROLES: dict[str, str] = {
    **dict.fromkeys(("value", "current", "comparison", "rolling_12", "a_year_earlier",
                     "current_value", "comparison_value", "group_mean", "group_median",
                     "target"), "unit"),
    "change_absolute": "change",
    "change_percent": "percent",
    "change_points": "points",
    **dict.fromkeys(("numerator", "denominator", "current_numerator", "current_denominator",
                     "comparison_numerator", "comparison_denominator", "rows", "population",
                     "rejected"), "count"),
    **dict.fromkeys(("month", "start", "end", "first", "last", "current_start", "current_end",
                     "comparison_start", "comparison_end"), "month"),
    **dict.fromkeys(("p_value", "vs_rest_p", "vs_focus_p", "change_vs_rest_p"), "p"),
    "per_1000": "rate",
    **dict.fromkeys(("rank", "version", "vs_rest_tests", "vs_focus_tests",
                     "change_vs_rest_tests"), "whole"),
}

# Excel number formats of the columns not in a KPI's unit. A percentage unit's values are
# divided by 100 into percentage cells. A p value stays the exact number (an analyst can test
# it against another level) shown as the text faces print it (`stats.p_text`): three places,
# and "<0.001" below 0.001.
FORMATS = {
    "count": "#,##0", "whole": "0", "p": '[<0.001]"<0.001";0.000', "rate": "#,##0.00",
    "month": "yyyy-mm",
}
SCALED = {"percent"}  # units whose values are stored divided by 100
# A frame's column of each row's decimals, where its rows hold different figures (a key/value
# sheet: `kpi show`'s Signal): the row's value shows to them, and the column is not written.
ROW_PLACES = "_places"


def number_format(unit: str | None, places: int, role: str = "unit",
                  value: float | None = None, name: str | None = None) -> str:
    """The Excel number format that shows a value as kpi's text prints it (kpi.render.number,
    change_text): `places` decimals (the KPI's `render.places`, via `kpi_places`), Excel
    rounding as kpi.rounding does, the unit's words and signs. `role` is "unit" (a value or
    target), "change" (an absolute change: signed, points for a percentage, days without the
    word) or "percent" (a % change, to one decimal). A value that prints as zero has no sign
    (0.04 -> "0.0", not "+0.0"): the first two sections hold the values that print as non-zero,
    by condition, and the last the rest (`_signed`). Seconds stay
    seconds, shown whole ("124 s" where the text prints "2:04"), or to the places the text
    gives them (a figure beside its target, a change beside two figures printed apart): a
    duration cell would be a fraction of a day, and Excel shows no negative duration. Days
    are named as the text names them (render.unit_word): "1 day" where the cell's `value`
    prints as 1, else "days", or the KPI's own `name` for them (`render.unit_name`: its
    `unit_label`, "working days")."""
    digits = "0" if places <= 0 else "0." + "0" * places
    plus = role != "unit"
    if role == "percent":
        return _signed(digits + "%", places + 2, plus)
    match unit:
        case "p":  # a p value, as the text prints it (stats.p_text): judged alone
            return p_format(value)
        case "percent" if role == "change":
            return _signed(f'{digits}"pp"', places, plus)
        case "percent":
            return _signed(digits + "%", places + 2, plus)
        case "ratio":
            return _signed(digits, places, plus)
        case "gbp":
            return _signed(f'"£"#,##{digits}', places, plus)
        case "seconds" if places > 0:
            # beside its target (places_beside), or a change beside two figures printed
            # apart at more places (change_places): "-0.3 s" where the text prints
            # "-0:00.3", never "0 s" between "19.5 s" and "19.3 s"
            return _signed(f'#,##{digits}" s"', places, plus)
        case "seconds":
            return _signed('#,##0" s"', 0, plus)
        case "days" if role != "change":
            from kpi.render import unit_word
            from kpi.rounding import fixed

            plural = name or "days"
            word = plural if value is None else unit_word(fixed(value, places), plural)
            return _signed(f'#,##{digits}" {word}"', places, plus)
        case _:
            return _signed(f"#,##{digits}", places, plus)


# The column of each p-value column's number of tests judged together (Bonferroni's
# correction): its cells show as the text prints them against 0.05 divided by it.
P_TESTS = {"vs_rest_p": "vs_rest_tests", "vs_focus_p": "vs_focus_tests",
           "change_vs_rest_p": "change_vs_rest_tests"}


def p_format(value: float | None, tests: int | None = 1) -> str:
    """The Excel number format that shows a p-value as the text prints it (`stats.p_text`):
    to as many places as it takes to read on its side of the level it is judged at, 0.05
    divided by `tests`, so a cell never shows 0.007 beside `significant` FALSE where the text
    says "no (p=0.0075)" under "p<0.05/7", nor 0.050 beside TRUE where it says 0.0496; and
    "<0.001" (or "<0.0001" against 0.05/60) below the floor the text says so of."""
    from kpi.rounding import fixed
    from kpi.stats import p_shown

    if value is None:
        return FORMATS["p"]
    floor, places = p_shown(value, tests or 1)
    digits = "0." + "0" * places
    if floor is None:
        return digits
    below = fixed(floor, places)
    return f'[<{below}]"<{below}";{digits}'


def _signed(body: str, places: int, plus: bool) -> str:
    """Three sections: what prints above zero (with '+' for a change), below zero ('-'), and
    zero. A value rounds away from zero from half a unit of its last place. A section after
    the first shows the magnitude, so the second's '-' is its own: LibreOffice Calc shows the
    codes so (tests/test_faces.py converts a workbook), as Excel shows its up and down arrow
    formats ([>0]▲0%;[<0]▼0%;0%). Only a negative value that prints as zero reaches the last
    section, where Excel may print "-0.0" as it does for such a value in any format."""
    half = format(5 * 10 ** -(places + 1), f".{places + 1}f")
    return f"[>={half}]{'+' if plus else ''}{body};[<=-{half}]-{body};{body}"


def kpi_places(kpis: Iterable[Any]) -> dict[str, int]:
    """Each KPI's decimal places (`render.places`, the one precision of its printed figures),
    by id: what `Sheet.places` takes."""
    from kpi.render import places

    return {kpi.id: places(kpi) for kpi in kpis}


def percent_cell(value: float) -> float:
    """A percentage as the fraction a percentage cell holds: its 15 significant digits (what
    Excel keeps and shows) divided by 100 in decimal, so the cell shows the digits kpi prints
    (26.55 -> 0.2655, shown 26.6%; a binary division could end a digit lower)."""
    return float(Decimal(format(value, ".15g")).scaleb(-2))


_MONTH = re.compile(r"^\d{4}-\d{2}$")


@dataclass(frozen=True)
class Sheet:
    """One worksheet: a name (at most 31 characters), its table, the table's name, and the
    unit of its values when the frame has no `unit` column."""

    name: str
    frame: pl.DataFrame
    table: str
    unit: str | None = None
    title: str | None = None  # a longer title, shown above the table
    # Decimal places of the values in a KPI's unit: by KPI id (the row's `id` or `kpi`
    # column: `kpi_places`), or one for the sheet; else the unit's own.
    places: Mapping[str, int] | int | None = None
    # The targets of the sheet's KPIs by id, or of its one KPI, where its rows have no
    # `target` column: a value in a KPI's unit takes as many more places as it needs to
    # stand against its target as printed as it does (`places_beside`).
    target: Mapping[str, float | None] | float | None = None
    # The figure printed beside each row's value of a column, where not in the same row
    # (`PAIRED`): a `render.Section`'s partners.
    beside: Mapping[str, Sequence[Any]] | None = None
    # The places every figure of a column prints to, where the text prints them to one
    # (a trend's months: `render.Section.places`).
    column_places: Mapping[str, int] | None = None
    # The places of each row's figure of a column, where the sheet holds several tables each
    # printed to its own places (`kpi compare`'s KPIs: the column its parts are ranked by,
    # `compare_command.columns_places`), and of each row's change, to the places stored on
    # it (`Change.places`, those its status is judged at: the summary's, `kpi compare`'s
    # parts', `kpi show`'s breakdowns' and same months', `render.Section.row_places`). None
    # in a row keeps the rules above; a change given no places takes its KPI's own: the
    # workbook works out no change's places itself.
    row_column_places: Mapping[str, Sequence[int | None]] | None = None
    # The name of the unit its values are printed with (`render.unit_name`: a KPI's
    # `unit_label`, "working days"), where the frame has no `unit_label` column: a sheet of
    # one KPI's figures.
    unit_label: str | None = None


def write(path: Path, about: Sequence[tuple[str, Any]], sheets: Sequence[Sheet]) -> None:
    """Write the workbook to `path` (replacing it whole: written beside it, then renamed)."""
    import os
    import tempfile

    from xlsxwriter import Workbook

    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".xlsx", dir=path.parent)
    os.close(handle)
    try:
        # Text from the data stays text: never a formula, a link or a number.
        book = Workbook(tmp, {"strings_to_formulas": False, "strings_to_urls": False,
                              "strings_to_numbers": False, "remove_timezone": True})
        label = book.add_format({"bold": True})
        formats: dict[str, Any] = {}

        def cell_format(code: str):
            if code not in formats:
                formats[code] = book.add_format({"num_format": code})
            return formats[code]

        for sheet in sheets:
            _write_sheet(book, sheet, about, label, cell_format)
        book.close()
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_sheet(book, sheet: Sheet, about: Sequence[tuple[str, Any]], label,
                 cell_format) -> None:
    import polars as pl

    worksheet = book.add_worksheet(sheet_name(sheet.name))
    if sheet.title is not None:
        about = [*about, ("Table", sheet.title)]
    for row, (key, value) in enumerate(about):
        worksheet.write_string(row, 0, key, label)
        if value is not None:
            worksheet.write(row, 1, visible(str(value)) if isinstance(value, str) else value)
    top = len(about) + 1  # a blank row between the header block and the table
    frame = _dated(sheet.frame)
    row_places = None
    if ROW_PLACES in frame.columns:
        row_places = frame[ROW_PLACES].to_list()
        frame = frame.drop(ROW_PLACES)
    column_formats: dict[Any, Any] = {name: FORMATS[ROLES[name]] for name in frame.columns
                                      if ROLES.get(name) in FORMATS}
    frame.write_excel(workbook=book, worksheet=worksheet, position=(top, 0),
                      table_name=sheet.table, table_style="Table Style Light 9",
                      column_formats=column_formats or None, autofit=True,
                      dtype_formats={pl.Date: FORMATS["month"]}, float_precision=6)
    worksheet.freeze_panes(top + 1, 0)
    # Columns in each row's own unit: every cell rewritten with its unit's format at its KPI's
    # decimals (and a percentage as a fraction), as one column format cannot follow the row.
    units = (frame["unit"].to_list() if "unit" in frame.columns
             else [sheet.unit] * frame.height)
    # Each row's name for its unit, as its text prints it (`render.unit_name`).
    names = (frame["unit_label"].to_list() if "unit_label" in frame.columns
             else [sheet.unit_label] * frame.height)
    key = next((c for c in ("id", "kpi") if c in frame.columns), None)
    ids = frame[key].to_list() if key else [None] * frame.height
    # Each row's target: a figure beside it shows as many more places as it takes to
    # differ from it, as the text does (kpi.rounding.places_beside).
    targets = (frame["target"].to_list() if "target" in frame.columns
               and frame.schema["target"] in (pl.Float64, pl.Int64)
               else [sheet.target.get(str(kpi)) if isinstance(sheet.target, Mapping)
                     else sheet.target for kpi in ids])
    for index, name in enumerate(frame.columns):
        role = ROLES.get(name)
        if role == "p" and frame.schema[name] == pl.Float64:
            # Each p-value to the places the text prints it at, against the level its test
            # is judged at (0.05 divided by its row's number of tests).
            tests = (frame[P_TESTS[name]].to_list() if P_TESTS.get(name) in frame.columns
                     else [1] * frame.height)
            for offset, (value, among) in enumerate(zip(frame[name].to_list(), tests,
                                                        strict=True)):
                if value is not None:
                    worksheet.write_number(top + 1 + offset, index, value,
                                           cell_format(p_format(value, among)))
            continue
        if role == "count" and frame.schema[name] == pl.Float64:
            # A count that is not whole (a mean's numerator: the sum of its values, 1.2) to
            # the one place the text prints it to (render.number in Unit.COUNT): under the
            # column's "#,##0" it showed 1.
            for offset, value in enumerate(frame[name].to_list()):
                if value is not None and math.isfinite(value) and not value.is_integer():
                    worksheet.write_number(top + 1 + offset, index, value,
                                           cell_format(number_format(None, 1)))
            continue
        ranked = (sheet.row_column_places or {}).get(name)
        if role == "rate" and ranked is not None:
            # A rate per 1,000 to the places its column prints to, from its format's two.
            for offset, (value, places) in enumerate(zip(frame[name].to_list(), ranked,
                                                         strict=True)):
                if value is not None and places is not None:
                    worksheet.write_number(top + 1 + offset, index, value,
                                           cell_format(number_format(None, places)))
            continue
        if role not in ("unit", "change", "points", "percent") \
                or frame.schema[name] not in (pl.Float64, pl.Int64):
            continue
        # The figure printed beside this one in its row (a current window's beside its
        # comparison's): the two show as many places as it takes to read apart, as the text
        # does (kpi.rounding.places_apart).
        partner = PAIRED.get(name)
        others = (list(sheet.beside[name]) if sheet.beside and name in sheet.beside
                  else frame[partner].to_list() if partner in frame.columns
                  and frame.schema[partner] in (pl.Float64, pl.Int64)
                  else [None] * frame.height)
        for offset, (value, unit, kpi, target, other, called) in enumerate(zip(
                frame[name].to_list(), units, ids, targets, others, names, strict=True)):
            if value is None:
                continue
            places = _places(sheet.places, kpi, unit)
            if row_places is not None and row_places[offset] is not None:
                places = row_places[offset]  # the row's own, as its text prints it
            elif sheet.column_places and name in sheet.column_places:
                places = sheet.column_places[name]  # the column's one, as its text prints it
            elif ranked is not None and (own := ranked[offset]) is not None:
                # its table's column's one, or a change's own (`Change.places`: beside its
                # row's two figures, those its status is judged at), as its text prints it
                places = own
            elif role == "unit":
                # A duration's own places are none (whole seconds), as the text prints it.
                # `other` says which of the two it is (a window's row, `render.Section`'s
                # `beside`), or is the partner column's figure, whose name says it.
                if not isinstance(other, Beside):
                    other = Beside(other, name not in COMPARISONS)
                current, comparison = other.pair(value)
                places = places_apart(current, comparison, target,
                                      unit_own_places(unit, places),
                                      prints_percent_change(unit))
            if role == "percent":
                code, cell = number_format(unit, 1, "percent"), percent_cell(value)
            elif role == "points":
                code, cell = number_format("percent", places, "change"), value
            else:
                code = number_format(unit, places, role, value, called)
                cell = percent_cell(value) if role == "unit" and unit in SCALED else value
            worksheet.write_number(top + 1 + offset, index, cell, cell_format(code))


def _places(places: Mapping[str, int] | int | None, kpi: Any, unit: str | None) -> int:
    """A figure's places: its KPI's (`Sheet.places`), else, where no KPI says (a sheet of one
    unit, no `kpi` or `id` column), its unit's of a whole kind from the one table every face
    reads (`kpi.catalogue.UNIT_PLACES`; a unit kpi does not name reads as a number)."""
    if isinstance(places, int):
        return places
    if places is not None and kpi in places:
        return places[kpi]
    return UNIT_PLACES[_UNITS.get(unit or "", Unit.NUMBER)][0]


_UNITS = {u.value: u for u in Unit}  # a unit by its name, for `_places`, made once


def _dated(frame: pl.DataFrame) -> pl.DataFrame:
    """Month columns ('2025-09') as dates (2025-09-01), so Excel sorts and filters them as
    dates; a column holding anything else is left as text."""
    import polars as pl

    # A cell holds a double, as Excel keeps 15 significant digits: a column of whole numbers
    # past 2**53 (Int128) or of figures beside them (Decimal, kpi.engine.figure_frame) is
    # written as the floats nearest them, formatted by its rows' units as any figure is.
    out = frame.with_columns(pl.col(pl.Int128, pl.Decimal).cast(pl.Float64))
    # NaN and infinity are no number a reader can use; JSON has null for them too.
    out = out.with_columns(pl.col(pl.Float64).fill_nan(None))
    out = out.with_columns(pl.when(pl.col(pl.Float64).is_infinite()).then(None)
                           .otherwise(pl.col(pl.Float64)).name.keep())
    for name in out.columns:
        if ROLES.get(name) != "month" or out.schema[name] != pl.String:
            continue
        values = frame[name].drop_nulls()
        if values.len() and values.str.contains(_MONTH.pattern).all():
            out = out.with_columns((pl.col(name) + "-01").str.to_date("%Y-%m-%d"))
    return out


_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")


def sheet_name(title: str) -> str:
    """A worksheet name Excel accepts: no []:*?/\\ and at most 31 characters."""
    name = _SHEET_UNSAFE.sub("-", visible(title)).strip("'") or "Sheet"
    return name[:31]


def table_name(title: str, taken: set[str]) -> str:
    """An Excel table name from a title: letters, digits and underscores, starting with a
    letter, unlike a cell reference (A1, R1C1), and unique in the workbook."""
    base = re.sub(r"[^A-Za-z0-9]+", "_", title).strip("_").lower() or "table"
    if not base[0].isalpha() or re.fullmatch(r"[a-z]{1,3}\d+|r\d*c\d*|[rc]", base):
        base = f"t_{base}"
    name, n = base[:200], 2
    while name in taken:
        name, n = f"{base[:190]}_{n}", n + 1
    taken.add(name)
    return name


def frame_of(columns: Sequence[str], rows: Sequence[Sequence[Any]],
             text: Callable[[str, Any], str] | None = None) -> pl.DataFrame:
    """A DataFrame of a document's section: a column of numbers stays numeric (whole numbers
    as integers), of booleans boolean, and any other as text: a figure among words as the
    text prints it (`text`, the section's: "11:49", not 709.0), else as str()."""
    import polars as pl

    data: dict[str, pl.Series] = {}
    for index, name in enumerate(columns):
        values = [row[index] for row in rows]
        known = [v for v in values if v is not None]
        if known and all(isinstance(v, bool) for v in known):
            data[name] = pl.Series(name, values, dtype=pl.Boolean)
        elif known and all(isinstance(v, int) and not isinstance(v, bool) for v in known):
            data[name] = pl.Series(name, values, dtype=pl.Int64)
        elif known and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           for v in known):
            data[name] = pl.Series(name, [None if v is None else float(v) for v in values],
                                   dtype=pl.Float64)
        else:
            data[name] = pl.Series(name, [
                None if v is None else v if isinstance(v, str) or text is None
                else text(name, v) for v in values], dtype=pl.String)
    return pl.DataFrame(list(data.values()))


def document_sheets(document: Any, unit: str | None = None,
                    places: int | None = None, target: float | None = None,
                    unit_label: str | None = None) -> list[Sheet]:
    """A sheet per section of a render.Document (named after its title), its cells the
    section's raw values; `places`: the decimals of its values in `unit` (one KPI's),
    `target` that KPI's target, and `unit_label` the name its figures are printed with
    (`render.unit_name`: "working days")."""
    taken: set[str] = set()
    names: set[str] = set()
    sheets = []
    for section in document.sections:
        section = section.workbook or section
        short = section.title.split(":")[0]
        name, n = sheet_name(short), 2
        while name.lower() in names:
            name, n = f"{sheet_name(short)[:28]} {n}", n + 1
        names.add(name.lower())
        beside = {c: partners for c in section.columns
                  if (partners := section.partners(c)) is not None}
        sheets.append(Sheet(name, frame_of(section.columns, section.rows, section.text),
                            table_name(short, taken), unit,
                            section.title if section.title != short else None, places,
                            target, beside, section.places or None,
                            section.row_places or None, unit_label or None))
    return sheets
