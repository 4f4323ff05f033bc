"""The Excel reader: a workbook's sheet (.xlsx, .xlsm, .xls) through fastexcel, with the header
found below any title rows and dates as date cells, serial numbers or text.
"""

from __future__ import annotations

import os
import re
import struct
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from kpi.catalogue import ColumnType, DatasetSpec
from kpi.errors import DataError, located, option
from kpi.ingest.common import (
    Numbering,
    _first_line,
    _heading_key,
    _numbered,
    _show,
    _without_reserved,
)
from kpi.ingest.survey import _OLE2

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")


_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")


# Excel serial day numbers read as dates: 1 March 1900 (61 in the 1900 date system; Excel
# counts a 29 February 1900 that never was, so earlier numbers are a day out) to 31 December
# 2099. A number outside is left as it is, and is then refused as not a date, never turned
# into a far-off one.
_FIRST_SERIAL_DAY, _LAST_SERIAL_DAY = datetime(1900, 3, 1), datetime(2099, 12, 31)


# Day 0 of a workbook's serial day numbers: 30 December 1899 in the 1900 date system (every
# Windows Excel's), 1 January 1904 in the 1904 one (Excel for Mac's before 2011, and an option
# in both Excel and LibreOffice), where 44468 is 30 September 2025, not 29 September 2021.
DAY_ZERO_1900, DAY_ZERO_1904 = datetime(1899, 12, 30), datetime(1904, 1, 1)


def _is_excel(path: Path) -> bool:
    return path.suffix.lower() in EXCEL_SUFFIXES


class _Parts:
    """An .xlsx or .xlsm workbook's parts (its XML files), each read and decompressed once for
    every check that needs it (`day_zero`, `_check_cells`, `_percent_cells`), as an .xls
    workbook's stream is; None for a part missing or a damaged archive, whose fault fastexcel
    reports in its own words."""

    def __init__(self, raw: bytes, where: str = ""):
        import io
        import zipfile

        self.where = where  # how a refusal names the workbook and sheet

        try:
            self._book: Any = zipfile.ZipFile(io.BytesIO(raw))
        except (zipfile.BadZipFile, OSError):
            self._book = None
        self._read: dict[str, bytes | None] = {}
        self.edited: dict[str, bytes] = {}  # a sheet's XML as `sheet` edited it, by member

    def get(self, name: str) -> bytes | None:
        import zipfile

        if name not in self._read:
            try:
                self._read[name] = None if self._book is None else self._book.read(name)
            except (zipfile.BadZipFile, KeyError, OSError):
                self._read[name] = None
            text = self._read[name]
            if text is not None and not name.startswith("xl/worksheets/"):
                self._read[name] = _angle_escaped(text)
        return self._read[name]

    def sheet(self, sheet: str) -> bytes | None:
        """The XML of the sheet named `sheet`, its SpreadsheetML elements without a prefix.

        Invariant: every check of a sheet's XML reads its cells however the writer named the
        namespace. The Open XML SDK (.NET: ClosedXML, many reporting systems) writes
        `<x:c r="B3" s="1">` where Excel writes `<c r="B3" s="1">`; fastexcel reads either,
        but the searches for cells written `<c ...>` (percentages, a date cell's time in
        full) found none in such a sheet, so 50 beside 50% loaded as 50 and 0.5, exit 0.
        The prefix is taken off here, once (one pass, only over a sheet that has one), and
        each row and cell is laid out as Excel lays it out (`_as_excel_writes`)."""
        member = _sheet_member(self, sheet)
        if member is None:
            return None
        key = member + "#unprefixed"
        if key not in self._read:
            text = self.get(member)
            found = None if text is None else re.search(
                rb"<(\w+):worksheet\b[^>]*\bxmlns:\1=\"(http://schemas\.openxmlformats\.org/"
                rb"spreadsheetml/2006/main|http://purl\.oclc\.org/ooxml/spreadsheetml/main)\"",
                text[:4096])
            if text is not None and found is not None:
                prefix = re.escape(found.group(1))
                text = re.sub(rb"<(/?)" + prefix + rb":", rb"<\1", text)
                text = text.replace(b"xmlns:" + found.group(1) + b'="' + found.group(2),
                                    b'xmlns="' + found.group(2), 1)
            laid_out = None if text is None else _as_excel_writes(text, self.where)
            read = None if laid_out is None else _inline_text_only(laid_out, self.where)
            if read is not None and read is not laid_out:
                self.edited[member] = read
            self._read[key] = read
        return self._read[key]

    def for_fastexcel(self, raw: bytes, sheet: str) -> bytes:
        """The workbook as fastexcel is to read it: `raw`, or where the sheet's XML was edited
        for every reader of its cells (`_inline_text_only`), an archive of the same parts with
        the sheet's XML as edited, so fastexcel reads the cells the checks read."""
        import io
        import zipfile

        self.sheet(sheet)
        if not self.edited or self._book is None:
            return raw
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
            for name in self._book.namelist():
                book.writestr(name, self.edited.get(name) or self._book.read(name))
        return out.getvalue()


# What a sheet's rows and cells look like where Excel, LibreOffice or xlsxwriter wrote them: a
# row's reference first; a cell's reference, then its style and its type, one space apart, in
# double quotes, any other attribute after them; no space between tags, none around a value.
# Anything else in the sheet's data is what `_as_excel_writes` lays out again.
# Four searches, each starting at a literal, take a fifth of the time of one alternation.
_UNLIKE_EXCEL = tuple(re.compile(pattern) for pattern in (
    rb">\s", rb"</v>(?<=\s</v>)", rb'<row\b(?! r="\d+"(?: [\w:.-]+="[^"<>]*")*/?>)',
    rb'<c\b(?! r="[A-Z]{1,3}\d+"(?: s="\d+")?(?: t="[a-zA-Z]+")?(?: (?![rst]=)[\w:.-]+="[^"<>]*")*'
    rb'/?>)'))
# An attribute of a tag, its value in either quotes; a cell's reference (its column and row,
# a $ before either allowed); a cell's attributes after `<c` where Excel's layout has them.
_ATTRIBUTE = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CELL_REFERENCE = re.compile(rb"\$?([A-Z]{1,3})\$?([1-9]\d*)")
_EXCEL_CELL = re.compile(rb' r="([A-Z]{1,3})(\d+)"(?: s="\d+")?(?: t="[a-zA-Z]+")?'
                         rb'(?: (?![rst]=)[\w:.-]+="[^"<>]*")*\Z')


# A quoted attribute value holding a raw '>', which XML allows there ('[>=0]0%').
_RAW_ANGLE = re.compile(rb"""=\s*("[^"<]*>[^"<]*"|'[^'<]*>[^'<]*')""")


def _angle_escaped(text: bytes) -> bytes:
    """A workbook part's XML (its styles, settings, tables) with each '>' inside an attribute's
    value written '&gt;', as Excel writes it. Every search of a tag reads it up to its first
    '>': a number format written `formatCode="[>=0]0%"`, valid XML that fastexcel reads as a
    percentage, was cut there, so a column of 80% cells loaded as 0.8, exit 0, where the same
    format written `[&gt;=0]0%` is refused."""
    if _RAW_ANGLE.search(text) is None:
        return text
    return _RAW_ANGLE.sub(lambda m: b"=" + m.group(1).replace(b">", b"&gt;"), text)


def _attribute(tag: bytes, name: str) -> str | None:
    """The value of attribute `name` in an opening `tag` of the workbook's XML (its styles,
    workbook settings, tables), however it is written (either quotes, spaces about the =),
    or None."""
    found = re.search(rb"(?<![\w:.-])" + name.encode()
                      + rb"""\s*=\s*(?:"([^"]*)"|'([^']*)')""", tag)
    if found is None:
        return None
    return (found.group(1) if found.group(1) is not None else found.group(2)).decode(
        "utf-8", "replace")


def _as_excel_writes(text: bytes, where: str = "") -> bytes:
    """A sheet's XML with its rows and cells laid out as Excel lays them out (`_UNLIKE_EXCEL`),
    the one form every check of the sheet's XML reads, each by a pattern of that form: each
    row and cell with its reference (`r`, optional in Office Open XML and left out by many
    programs built on the Open XML SDK: a row the one after the row before it, a cell the
    column after the cell before it in its row, as fastexcel places them), a cell's attributes
    in Excel's order, and no spaces between tags (an indented sheet). The checks read a cell's
    place and style from its opening tag as Excel writes it, and found none in a sheet laid
    out otherwise, all valid XML that fastexcel reads alike: a header's cells written
    `<c t="inlineStr" r="A1">` put every date cell's time in the row below (a year's count
    23 where it is 24), and in an indented sheet 50% beside 10s loaded as 0.5 and
    23:59:59.999999 on 30 September moved to October, exit 0. A cell or row whose reference
    is no reference (`r="R1C1"`) cannot be placed, and is refused rather than placed by its
    neighbours. A sheet Excel, LibreOffice or xlsxwriter wrote is returned as it is, after
    four searches of its data."""
    start, end = text.find(b"<sheetData"), text.rfind(b"</sheetData>")
    if start < 0 or end < start or not any(pattern.search(text, start, end)
                                           for pattern in _UNLIKE_EXCEL):
        return text
    data = re.sub(rb">\s+<", b"><", text[start:end])
    data = re.sub(rb"\s+</v>", b"</v>", re.sub(rb"<v>\s+", b"<v>", data))
    row, column = 0, -1

    def laid_out(match: re.Match[bytes]) -> bytes:
        nonlocal row, column
        tag, attributes, close = match.group(1), match.group(2), match.group(3)
        if tag == b"c" and (excel := _EXCEL_CELL.match(attributes)) is not None:
            column = _column_index(excel.group(1).decode())  # as Excel writes it: kept
            return match.group(0)
        given = {name: double or single.replace(b'"', b"&quot;")
                 for name, double, single in _ATTRIBUTE.findall(attributes)}
        reference = given.pop(b"r", None)
        if tag == b"row":
            column = -1
            if reference is not None and not reference.strip().isdigit():
                raise _unplaced(where, f"a row whose number is '{_show(reference.decode())}'")
            row = int(reference) if reference is not None else row + 1
            reference = str(row).encode()
            first = [b"r"]
        else:
            if reference is not None:
                found = _CELL_REFERENCE.fullmatch(reference.strip())
                if found is None:
                    raise _unplaced(where, f"a cell whose reference is "
                                           f"'{_show(reference.decode())}'")
                column = _column_index(found.group(1).decode())
                reference = found.group(1) + found.group(2)
            else:
                column += 1
                reference = f"{_column_letter(column)}{row}".encode()
            first = [b"r", b"s", b"t"]
        given[b"r"] = reference
        ordered = [name for name in first if name in given] + [
            name for name in given if name not in first]
        return (b"<" + tag + b"".join(b" " + name + b'="' + given[name] + b'"'
                                      for name in ordered) + close)

    data = re.sub(rb"<(row|c)\b([^>]*?)(/?>)", laid_out, data)
    return text[:start] + data + text[end:]


# An inline text cell (t="inlineStr": its text in its <is>, not among the shared strings)
# with a <v> beside that text, before or after it, as `_Parts.sheet` lays it out.
_INLINE_WITH_V = re.compile(
    rb'<c r="([A-Z]{1,3}\d+)"(?: s="\d+")? t="inlineStr"[^>]*(?<!/)>'
    rb'((?:(?!</c>).)*?<v\b(?:(?!</c>).)*)</c>', re.S)
_V_ELEMENT = re.compile(rb"<v\b[^>]*?(?:/>|>([^<]*)</v>)")


def _inline_text_only(text: bytes, where: str = "") -> bytes:
    """A sheet's XML with each inline text cell's value its text (`<is>`) alone, the one rule
    every reader of the sheet (fastexcel and each check of its XML) reads such a cell by. Some
    writers give such a cell a <v> too, which the Office Open XML standard has no meaning for,
    and programs read differently: fastexcel reads the cell as blank where the <v> comes after
    the text, LibreOffice as blank where the <v> holds anything, openpyxl as its text. The
    checks read a header of `<c t="inlineStr"><v/><is>` as no value, counted the sheet's rows
    from the row below it and put each date cell's time in the row above (August's count 0
    where it is 1, October's 2 where it is 1, exit 0); with the <v> after the text, fastexcel
    read the cell as blank. An empty <v> holds nothing and is taken out; one holding anything
    (a second value: which one the cell holds is not ours to guess) is refused, naming the
    cell."""
    if b't="inlineStr"' not in text or _INLINE_WITH_V.search(text) is None:
        return text

    def text_only(match: re.Match[bytes]) -> bytes:
        body = match.group(2)
        for value in _V_ELEMENT.finditer(body):
            if (value.group(1) or b"").strip():
                raise _second_value(where, match.group(1).decode(), body, value.group(1))
        return text[match.start():match.start(2)] + _V_ELEMENT.sub(b"", body) + b"</c>"

    return _INLINE_WITH_V.sub(text_only, text)


def _second_value(where: str, ref: str, body: bytes, value: bytes) -> DataError:
    from xml.sax.saxutils import unescape

    def shown(part: bytes) -> str:
        return _show(unescape(part.decode("utf-8", "replace")))

    written = b"".join(re.findall(rb"<t\b[^>]*>([^<]*)</t>", body))
    return DataError(f"{where + ', ' if where else ''}cell {ref}: an inline text cell holding a "
                     f"second value ('{shown(value)}' beside its text '{shown(written)}'), "
                     "which programs read differently (as the text, or as a blank)",
                     hint="type the cell's value in again in Excel and save the workbook, or "
                          "export the sheet as CSV")


def _unplaced(where: str, what: str) -> DataError:
    return DataError(f"{where + ': ' if where else ''}the sheet's XML holds {what}, so its cells "
                     "cannot be placed for their checks (formulas, percentages, times, hidden "
                     "rows)", hint="open the workbook in Excel or LibreOffice and save it, or "
                                   "export the sheet as CSV")


def _read_excel(spec: DatasetSpec, path: Path, raw: bytes, sheet: str | None,
                warnings: list[str]) -> tuple[pl.DataFrame, str, Numbering]:
    """One sheet of a workbook as a frame of text, like a CSV file: its first non-empty row is
    the header. Returns the frame (with ROW), the sheet's name and the row numbering. A number
    cell of a date column is its serial day number's date (`_serials_as_dates`); a text cell
    of any column is its text, read as a CSV file's field is (`_TextCells`)."""
    import fastexcel

    # A file whose bytes are no workbook never reaches fastexcel (`survey.as_named`): it
    # reads an .ods too, but none of the checks below (hidden rows, merged cells,
    # percentages, formulas) reads an .ods's cells.
    if raw[:8] == _OLE2 and _ENCRYPTED in raw:
        raise DataError(located(path, "the workbook is password-protected (encrypted)"),
                        hint="save a copy without the password, or export the sheet as CSV")
    try:
        reader = fastexcel.read_excel(raw)
    except fastexcel.FastExcelError as exc:
        raise DataError(located(path, f"cannot read the workbook ({_first_line(exc)})"),
                        hint="check that it opens in Excel or LibreOffice, or export the sheet "
                             "as CSV") from None
    names = list(reader.sheet_names)
    listed = ", ".join(f"'{_show(n)}'" for n in names[:10]) + (", ..." if len(names) > 10 else "")
    if sheet is None:
        if len(names) != 1:
            raise DataError(located(path, f"the workbook has {len(names)} sheets ({listed}): "
                                          "which one holds the extract?"),
                            hint=f"name it with {option('--sheet')}, or with sheet = \"...\" under "
                                 f"[datasets.{spec.id}]")
        sheet = names[0]
    elif sheet not in names:
        raise DataError(located(path, f"the workbook has no sheet '{_show(sheet)}' (it has "
                                      f"{listed})"),
                        hint="sheet names are matched exactly, as Excel shows them on the tabs")
    where = f"{path}, sheet '{_show(sheet)}'"
    stream = parts = None
    sums: list[tuple[str, str, frozenset[str]]] = []
    if raw[:2] == b"PK":  # .xlsx, .xlsm: the cells calamine cannot show are in the XML
        parts = _Parts(raw, where)
        edited = parts.for_fastexcel(raw, sheet)
        if edited is not raw:
            try:
                reader = fastexcel.read_excel(edited)
            except fastexcel.FastExcelError as exc:
                raise DataError(located(path, f"cannot read the workbook ({_first_line(exc)})"),
                                hint="check that it opens in Excel or LibreOffice, or export "
                                     "the sheet as CSV") from None
        formulas = _check_cells(parts, sheet, where, sums)
    else:  # .xls: and in its BIFF records
        stream = _ole_stream(raw, _WORKBOOK_STREAMS)
        formulas = _check_xls_cells(stream, sheet, where)
    try:
        loaded = reader.load_sheet(sheet, header_row=None, dtypes="string")
        arrow, errors = loaded.to_arrow_with_errors()
    except fastexcel.FastExcelError as exc:
        raise DataError(f"{where}: cannot read the sheet ({_first_line(exc)})",
                        hint="check that it opens in Excel or LibreOffice, or export the sheet "
                             "as CSV") from None
    cells = pl.from_arrow(arrow)
    assert isinstance(cells, pl.DataFrame)
    if cells.height == 0 or cells.width == 0:
        raise DataError(f"{where}: the sheet is empty", hint="check the extract was written")
    # The sheet's own number of the first row fastexcel read (the header), and its first
    # column's index: every message names a cell by the sheet's row and column, not by its
    # place in the used range (a table below two empty rows had its E5 named "row 3").
    top = (_first_valued_row(parts.sheet(sheet) or b"") if parts is not None
           else _xls_first_row(stream, sheet)) or 1
    columns = loaded.available_columns()
    left = columns[0].absolute_index if columns else 0
    header = [None if v is None else str(v).strip() for v in cells.row(0)]
    # Columns with neither a name nor a value (formatting past the table's edge) are not
    # part of it; a blank name over values is a merged or forgotten header cell.
    keep = [i for i, name in enumerate(header)
            if name or cells[:, i].slice(1).drop_nulls().str.strip_chars().str.len_bytes().sum()]
    _excel_header_row(spec, where, cells, header, top)
    if parts is not None:
        _refuse_totals_rows(parts, sheet, where, _letters_read(spec, header, loaded))
    _refuse_error_cells(spec, where, header, errors, top)
    _refuse_formulas_excel_recalculates(spec, where, header, formulas, loaded)
    _refuse_summing_formulas(spec, where, header, sums, loaded)
    _refuse_retyped_cells(reader, sheet, spec, where, header, cells, top,
                          lambda columns, shows=_shows_percent:
                          _percent_cells(parts, sheet, loaded, columns, shows)
                          if parts is not None else
                          _xls_percent_cells(stream, sheet, loaded, columns, shows))
    kinds = _column_kinds(spec, header)
    typed_as_text = _TextCells(reader, sheet, [
        i for i, kind in kinds.items()
        if kind in (ColumnType.INT, ColumnType.FLOAT, ColumnType.DATE, ColumnType.DATETIME,
                    ColumnType.MONTH)], cells.columns)
    cells = _numbers_in_full(reader, sheet, spec, where, header, cells, typed_as_text)
    zero = day_zero(raw, stream, parts)
    cells = _times_in_full(parts, stream, sheet, loaded, spec, header, cells, zero)
    cells = _serials_as_dates(reader, sheet, spec, header, cells, zero, typed_as_text)
    seen: set[str] = set()
    for i in keep:
        name, letter = header[i], _column_letter(i + left)
        if not name:
            raise DataError(f"{where}, row {top}, column {letter}: a blank header cell over a "
                            "column of values (an empty or merged cell)",
                            hint="give each column of the table its own name in one header "
                                 "row; unmerge merged header cells")
        if name.lower() in seen:
            raise DataError(f"{where}, row {top}, column {letter}: column name '{_show(name)}' "
                            "appears twice in the header", hint="rename or remove one of them")
        seen.add(name.lower())
    # Every kept column has a name: a blank one was refused above.
    body = cells.slice(1).select([pl.col(cells.columns[i]).alias(str(header[i])) for i in keep])
    if body.height == 0:
        raise DataError(f"{where}: the sheet has a header but no data rows",
                        hint="check the extract was written in full")
    body, dropped = _without_reserved(path, body)
    warnings.extend(dropped)
    warnings.extend(_same_header_elsewhere(spec, reader, names, sheet, header, where))
    # Blank cells are empty fields, as in a CSV file; a row of them is skipped as there.
    table = _numbered(body.with_columns(pl.all().fill_null("")))
    return table, sheet, lambda records: records + top + 1


def _column_kinds(spec: DatasetSpec, header: list[str | None]) -> dict[int, ColumnType | None]:
    """Each header cell's column kind, by index: the dataset column it names, matched as the
    conformer matches a source's names (`_heading_key`: case, and the kind and number of
    spaces, aside), or None. Every check of a workbook's cells that finds its columns, by
    their kind or by whether the dataset reads them (`_letters_read`), reads it here: matched
    otherwise (case only), a header ' Ref ' or 'Crime  Reference' was a column the conformer
    loaded and these checks passed by, a number cell in a text column among them; and a
    header wrapped onto two lines in its cell ('Head' and 'count', Alt+Enter) left a =SUM
    total row, formulas Excel never calculated (read as 0) and a #DIV/0! (read as a blank)
    to load, the year's headcount 780 where its rows hold 720, exit 0."""
    kinds = _kinds_by_heading(spec)
    return {i: kinds.get(_heading_key(name or "")) for i, name in enumerate(header)}


def _kinds_by_heading(spec: DatasetSpec) -> dict[str, ColumnType]:
    """Each name a header may give a dataset column by (its name and `from` names), as the
    conformer matches them (`_heading_key`), with the column's kind."""
    return {_heading_key(n): col.type for col in spec.columns for n in (col.name, *col.sources)}


def day_zero(raw: bytes, stream: bytes | None = None, parts: _Parts | None = None) -> datetime:
    """Day 0 of the workbook's serial day numbers: DAY_ZERO_1904 where it uses the 1904 date
    system (an .xlsx's workbookPr date1904, read from its `parts` when given; an .xls's
    DATEMODE record, read from its workbook `stream` when given), else DAY_ZERO_1900: the day 0
    of every serial the reader converts, a date cell's (`_times_in_full`) and a serial number's
    in a date column (`_serials_as_dates`)."""
    if raw[:2] == b"PK":
        workbook = (parts or _Parts(raw)).get("xl/workbook.xml")
        if workbook is None:
            return DAY_ZERO_1900
        found = re.search(rb"<(?:\w+:)?workbookPr\b[^>]*>", workbook)
        return (DAY_ZERO_1904 if found and _attribute(found.group(0), "date1904") in ("1", "true")
                else DAY_ZERO_1900)
    if stream is None:
        stream = _ole_stream(raw, _WORKBOOK_STREAMS)
    return DAY_ZERO_1904 if _biff_1904(stream or b"") else DAY_ZERO_1900


def _biff_1904(stream: bytes) -> bool:
    """Whether an .xls workbook's globals hold DATEMODE 1 (record 0x0022), walked from the
    start of its workbook stream to the globals' EOF."""
    at = 0
    while at + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, at)
        if kind == _DATEMODE and size == 2 and at + 6 <= len(stream):
            return struct.unpack_from("<H", stream, at + 4)[0] == 1
        if kind == _EOF:
            return False
        at += 4 + size
    return False


_SHOWN_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,3})?")


def _times_in_full(parts: _Parts | None, stream: bytes | None, sheet: str, loaded,
                   spec: DatasetSpec, header: list[str | None], cells: pl.DataFrame,
                   zero: datetime) -> pl.DataFrame:
    """`cells` with each date cell of a `datetime`, `date` or `month` column written to the
    microsecond its serial day number holds, in an .xlsx or .xlsm sheet (the serial as its XML
    writes it, `_xml_serials`) and in an .xls one (the float its BIFF record holds,
    `_xls_serials`) alike. fastexcel (calamine) gives a date cell's time to the millisecond:
    03:04:05.123456 was stored as 03:04:05.123 and 23:59:59.999999 on the last day of a month
    as midnight of the next, in the next month, exit 0, where the CSV and Parquet of the same
    rows stored the time written; in a `date` column, such a cell (a period's end as pandas
    gives it, shown 30/09/2025 by a date format) was the next day, in the next month, and in a
    `month` column the next month, where a time of day is refused. An .xls workbook's cells
    were left so after an .xlsx's were read in full: 30 September 23:59:59.999999 was counted
    in October, exit 0.

    Each serial is read by `_serial_microseconds` (the one reading of a serial, which never
    rounds into the next day) and written by `_serial_texts`, as a number cell's serial is
    (`_serials_as_dates`); a cell whose text from calamine is that moment keeps it. Only date
    cells are read here (a number or text cell keeps its text, read as an extract's is)."""
    wanted = sorted(i for i, kind in _column_kinds(spec, header).items()
                    if kind in (ColumnType.DATETIME, ColumnType.DATE, ColumnType.MONTH))
    columns = loaded.available_columns()
    if not wanted or not columns:
        return cells
    left = columns[0].absolute_index
    absolute = {i + left: i for i in wanted}
    held = (_xml_serials(parts.sheet(sheet), absolute) if parts is not None
            else _xls_serials(stream, sheet, absolute))
    floor = 61 * _DAY_MICROSECONDS if zero == DAY_ZERO_1900 else 0  # 29 February 1900
    replaced = []
    for index in wanted:
        rows = [(at, micros) for at, column, micros in held
                if column == index and micros is not None and micros >= floor]
        if not rows:
            continue
        name = cells.columns[index]
        shown = pl.col("shown").str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us",
                                               strict=False)
        differing = (pl.DataFrame(rows, schema={"at": pl.Int64, "micro": pl.Int64},
                                  orient="row")
                     .join(cells.select(pl.col(name).alias("shown")).with_row_index("at")
                           .with_columns(pl.col("at").cast(pl.Int64)), on="at")
                     # only a date cell: a serial shown as a number is read as one
                     .filter(pl.col("at") > 0, pl.col("shown").str.contains(
                         _SHOWN_TIME.pattern.join("^$")))
                     .filter((shown - pl.lit(zero)).dt.total_microseconds() != pl.col("micro")))
        if differing.height:
            values = cells[name].to_list()
            for at, text in zip(differing["at"].to_list(),
                                _serial_texts(zero, differing["micro"].to_list()), strict=True):
                values[at] = text
            replaced.append(pl.Series(name, values, dtype=pl.String))
    return cells.with_columns(replaced) if replaced else cells


def _xml_serials(text: bytes | None, wanted: dict[int, int]
                 ) -> list[tuple[int, int, int | None]]:
    """The number cells of an .xlsx or .xlsm sheet's XML (`text`) in the columns `wanted`
    (the sheet's column index: the table's), as (row, column, microseconds) counted as
    fastexcel counts the sheet: from its first row holding a value, and the table's columns."""
    first = None if text is None else _first_valued_row(text)
    if text is None or first is None:
        return []
    letters = {_column_letter(column).encode(): index for column, index in wanted.items()}
    # A number cell has no t, or t="n". `_Parts.sheet` lays every cell out as Excel writes it,
    # its attributes r, s, t, and no prefix (a pattern starting with its literal is searched
    # four times as fast).
    found = re.findall(rb'<c r="(' + b"|".join(letters) + rb')(\d+)"([^>/]*)>' + _FORMULA_XML
                       + rb'<v>([^<]*)<', text)
    return [(int(row) - first, letters[column], _serial_microseconds(value))
            for column, row, attributes, value in found
            if b' t="' not in attributes or b' t="n"' in attributes]


def _xls_serials(stream: bytes | None, sheet: str, wanted: dict[int, int]
                 ) -> list[tuple[int, int, int | None]]:
    """_xml_serials for an .xls workbook: the number each cell of the columns `wanted` holds
    (a NUMBER, RK or MULRK record, or a FORMULA's number), the float as the BIFF record holds
    it, read by `_serial_microseconds` from its shortest text (which is that float exactly)."""
    start = None if stream is None else _biff_sheet_offset(stream, sheet)
    if stream is None or start is None:
        return []
    cells = _xls_number_cells(stream, start)
    top = next(cells, None)
    if top is None:
        return []
    return [(row - top, wanted[column], _serial_microseconds(repr(value).encode()))
            for row, column, _, value in cells if column in wanted]


def _xls_number_cells(stream: bytes, start: int) -> Iterator[Any]:
    """The value cells of an .xls sheet whose records start at `start`: first the row of its
    first cell holding a value (as fastexcel counts the sheet's rows from it), then each cell
    holding a number (a NUMBER, RK or MULRK record, or a FORMULA whose result is a number) as
    (row, column, its XF, the float the record holds). The one walk of a sheet's cells for
    its serials (`_xls_serials`) and its percentage cells (`_xls_percent_cells`)."""
    pair = struct.Struct("<HH").unpack_from
    top: int | None = None
    at = start
    while at + 4 <= len(stream):
        kind, size = pair(stream, at)
        body = stream[at + 4:at + 4 + size]
        at += 4 + size
        if kind == _EOF:
            break
        if kind not in _VALUE_CELLS or len(body) < 6:
            continue
        row, column = pair(body)
        if top is None:
            top = row  # the first row holding a value (cells come row by row)
            yield top
        if kind == _MULRK:  # a run of RK cells: (XF, value) each, six bytes
            for i in range((len(body) - 6) // 6):
                yield (row, column + i, struct.unpack_from("<H", body, 4 + 6 * i)[0],
                       _rk(body, 6 + 6 * i))
        elif kind == _NUMBER and len(body) >= 14:
            yield row, column, pair(body, 4)[0], struct.unpack_from("<d", body, 6)[0]
        elif kind == _RK and len(body) >= 10:
            yield row, column, pair(body, 4)[0], _rk(body, 6)
        elif kind == _FORMULA and len(body) >= 14 and body[12:14] != b"\xff\xff":
            # a formula's result is a number unless its last two bytes of eight are FFFF
            yield row, column, pair(body, 4)[0], struct.unpack_from("<d", body, 6)[0]


def _rk(body: bytes, at: int) -> float:
    """The number of an RK value (BIFF8's compact number) at `at` in a record's `body`: a
    signed 30-bit integer or a float's top 30 bits, either divided by 100 where its lowest
    bit says so."""
    value = struct.unpack_from("<i", body, at)[0]
    number = float(value >> 2) if value & 2 else struct.unpack(
        "<d", struct.pack("<Q", (value & 0xFFFFFFFC) << 32))[0]
    return number / 100 if value & 1 else number


_DAY_MICROSECONDS = 86_400_000_000


def _serial_microseconds(value: bytes) -> int | None:
    """A serial day number as the XML writes it ('45659.12783564815'), or as the shortest text
    of the float an .xls cell holds, in microseconds: the time a writer gave it. Worked out
    exactly (integers; a fraction for an exponent), rounded to the nearest microsecond, unless
    a whole millisecond (so a whole second too) a few microseconds from that is a time a
    writer would have written as this text (`_written_as`): then that. A serial holds a time
    only to some 0.6 microseconds (a float near 45,000 days), and a writer of 16 significant
    digits (xlsxwriter, so pandas' `to_excel`) to 0.9: 00:15:00 was written
    '45901.01041666666' and read as 00:14:59.999999, 00:30:00 as 00:30:00.000001, so a call
    created at 00:15 and attended at 00:30 took 15 minutes and 2 microseconds, not "within 15
    minutes" where the CSV of the same rows was (64 of a day's 1,440 whole minutes; a rate of
    100% read as 75%, exit 0). None if it is no number, or none a date can be.

    Invariant: the serial's day is its whole part, whatever its time is rounded to; a serial
    below midnight is never read as midnight of the next day (and so never moved into the
    next month). Every serial the reader turns into a moment, a date cell's or a number
    cell's, in an .xlsx or an .xls workbook, is read here; fastexcel's own reading rounds to
    the millisecond, and read so, 23:59:59.999999 on 30 September in an .xls workbook was
    midnight, in October, exit 0."""
    whole, point, fraction = value.partition(b".")
    if whole.isdigit() and (not point or fraction.isdigit()):
        scale, days = 10 ** len(fraction), int(whole)
        nearest = (days * _DAY_MICROSECONDS
                   + (2 * int(fraction or b"0") * _DAY_MICROSECONDS + scale) // (2 * scale))
    else:
        from decimal import Decimal, InvalidOperation
        from fractions import Fraction

        try:
            written = Decimal(value.decode("ascii"))
        except (InvalidOperation, UnicodeDecodeError):
            return None
        if not written.is_finite() or written < 0 or written.adjusted() > 7:
            return None
        exact = Fraction(written)
        days = int(exact)
        nearest = int(exact * _DAY_MICROSECONDS * 2 + 1) // 2
    if days >= 10_000_000:  # no date's serial (31 December 9999 is 2,958,465)
        return None
    # Within a few microseconds: a writer of 15 significant digits holds some 8.6 of them.
    # Whole milliseconds are 1,000 apart, so one at most is that near.
    rounder = (nearest + 500) // 1000 * 1000
    if rounder != nearest and abs(rounder - nearest) <= 6 and _written_as(rounder, value):
        nearest = rounder
    return min(nearest, (days + 1) * _DAY_MICROSECONDS - 1)


def _written_as(micros: int, value: bytes) -> bool:
    """Whether a writer of 15, 16 or 17 significant digits (as many as `value` shows, or
    more) writes the serial day number of this time, held as the float nearest it, as
    `value`."""
    from decimal import Decimal
    from fractions import Fraction

    if micros < 0:
        return False
    serial = float(Fraction(micros, _DAY_MICROSECONDS))  # the nearest float
    written = Decimal(value.decode("ascii"))
    shown = len(written.normalize().as_tuple().digits)
    return any(Decimal(f"{serial:.{digits}g}") == written for digits in (15, 16, 17)
               if digits >= shown)


# How fastexcel names the error a cell holds, and how Excel shows it.
_ERRORS = {"Div0": "#DIV/0!", "NA": "#N/A", "Value": "#VALUE!", "Ref": "#REF!",
           "Name": "#NAME?", "Num": "#NUM!", "Null": "#NULL!", "GettingData": "#GETTING_DATA"}


def _refuse_error_cells(spec: DatasetSpec, where: str, header: list[str | None],
                        errors, top: int = 1) -> None:
    """Refuse the first cell below the header, in a column the dataset reads, that holds an
    error (#N/A, #DIV/0!, #VALUE!: a formula's result or a value pasted), which calamine
    gives as a blank: a count of #DIV/0! was a row not measured. Errors elsewhere (a lookup's
    #N/A in a helper column) are not read, as the column is not."""
    read = _column_kinds(spec, header)
    found = []
    for error in getattr(errors, "errors", None) or []:
        row, column = error.position
        kind = re.search(r"Error\((\w+)\)", error.detail)
        name = header[column] if column < len(header) else None
        if kind and row > 0 and name and read.get(column) is not None:
            found.append((row, column, _ERRORS.get(kind.group(1), kind.group(1)), name))
    if found:
        row, _, shown, name = min(found)
        raise DataError(f"{where}, row {row + top}, column '{_show(name)}': an error ({shown}), "
                        "which reads as a blank",
                        hint="correct the cell (or its formula) so that it holds a value or "
                             "is empty, and save (saved as CSV, the error is written as its "
                             "text, #N/A, and refused alike)")


def _refuse_retyped_cells(reader, sheet: str, spec: DatasetSpec, where: str,
                          header: list[str | None], cells: pl.DataFrame, top: int,
                          percent_in: Callable[..., set[tuple[int, int]]]) -> None:
    """Invariant: a workbook's cell is read as what it holds only where that is what its
    column declares. Excel changes what is typed into a cell not formatted as Text: `00123`
    becomes the number 123, `1-2` the date 2 January, `50%` the number 0.5. So:

    - a `str` column's cells must hold text: a number or date (or time) cell in one is
      refused, as its text is not what was typed (a reference's leading zeros are gone, and
      the CSV of the same extract would hold '00123' where the workbook gives '123');
    - an `int` or `float` column's number cells must not be shown as percentages
      (`percent_in(columns)`: the (row, column) of such cells of those columns, in `cells`'
      numbering), as a CSV file's '80%' is refused: among numbers shown otherwise it mixes
      0.5 with 50; in a column of percentages it holds 0.8 where the sheet shows 80%. Loaded
      as held, such a column was 0.7 in a `mean` in percent ("0.7%, target 60%: not met"
      where every month was 70%), and beside another file of the same load typed as numbers
      (80) its mean fell from 70 to 0.7, "-99%", exit 0. Which the analyst meant no cell
      says: the column is refused whole, in each file of a load alike (a load of workbooks
      never holds 0.8 from one and 80 from another); nor shown divided by 1,000 or a million
      (`_shows_scaled`: `#,##0,` shows 1234567 as 1,235, which the CSV saved of it holds).

    The first such cell (by row, then column) is refused in one line. Only the columns the
    dataset reads as `str` are read again, with their kinds inferred over every row (fastexcel,
    strict), and those holding another kind than text once more as datetimes to find the
    cell. The percentage cells are searched only in the number columns read, or in a text
    column once a number cell is found in it."""
    import fastexcel

    kinds = _column_kinds(spec, header)
    found: list[tuple[int, int, str, str]] = []
    numbers = {i for i, kind in kinds.items() if kind in (ColumnType.INT, ColumnType.FLOAT)}
    # a percentage style on a cell holding nothing shows nothing
    percent = {(r, c) for r, c in (percent_in(numbers) if numbers else set())
               if 0 < r < cells.height and (cells[r, c] or "").strip()}
    mixing = _numeric_mixing_percent(cells, percent)
    # a number format dividing what it shows by 1,000 (`#,##0,`): the CSV saved of the sheet
    # holds what it shows, the cell what was typed
    scaled = {(r, c) for r, c in (percent_in(numbers, _shows_scaled) if numbers else set())
              if 0 < r < cells.height and (cells[r, c] or "").strip()}
    for column in sorted({c for _, c in scaled} - {c for _, c in percent}):
        row = min(r for r, c in scaled if c == column)
        found.append((row, column, f"a number ({_show(cells[row, column])}) whose format "
                                   "shows it divided by 1,000 or a million (a comma after its "
                                   "last digit, as in '#,##0,'): loaded, it would be the number "
                                   "held where the sheet and the CSV saved of it show the "
                                   "number divided", _SCALED_HINT))
    for column in sorted({c for _, c in percent}):
        row = min(r for r, c in percent if c == column)
        percentage, held = _as_percent(cells, row, column), _show(cells[row, column])
        shown = f"a percentage (Excel shows {percentage}, the cell holds {held}) in a number column"
        found.append((row, column, f"{shown} whose other cells are not percentages (50 beside "
                                   "0.5 for 50%)" if column in mixing else
                      f"{shown}: loaded, it would be {held} where the sheet shows {percentage} "
                      f"(the CSV Excel saves of it holds '{percentage}', refused too)",
                      _PERCENT_HINT))
    found += _dates_read_month_first(cells, {i for i, kind in kinds.items()
                                             if kind in (ColumnType.DATE, ColumnType.DATETIME,
                                                         ColumnType.MONTH)}, top)
    text = {i for i, kind in kinds.items() if kind == ColumnType.STR}
    if text:
        try:
            read = reader.load_sheet(sheet, header_row=None, schema_sample_rows=None,
                                     dtype_coercion="strict",
                                     use_columns=lambda c: c.index in text)
            mixed = {c.index for c in read.selected_columns if c.dtype != "string"}
        except fastexcel.UnsupportedColumnTypeCombinationError:
            mixed = text
        if mixed:
            found += _retyped_in_text(reader, sheet, cells, mixed, percent_in)
    if found:
        row, column, what, hint = min(found)
        raise DataError(f"{where}, row {row + top}, column '{_show(header[column] or '')}': "
                        f"{what}", hint=hint)


# A date written with its day and month as numbers, day first or month first (30/04/2025,
# 13.01.2025 10:00): its first two numbers.
_NUMBERED_DATE = re.compile(r"\s*(\d{1,2})[/.-](\d{1,2})[/.-](?:\d{2}|\d{4})(?:[ T].*)?")
_MONTH_FIRST_HINT = ("open the CSV file in a UK locale, or with the date column as Text, and "
                     "save the workbook again (or load the CSV file itself); or type each date "
                     "again as a date")


# A date cell as fastexcel shows it: a serial cell "2025-03-09 00:00:00", an ISO 8601 cell
# (`t="d"`, which the standard allows and openpyxl writes) "2025-03-09T00:00:00"; one form,
# and one rule, for both.
_SHOWN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?")


def _dates_read_month_first(cells: pl.DataFrame, columns: set[int], top: int = 1
                            ) -> list[tuple[int, int, str, str]]:
    """The first text cell of each date column (indices in `cells`) that shows the column was
    read month first. A spreadsheet that reads a CSV file's dates month first (Excel or
    LibreOffice Calc in a US locale) makes a date cell of each it can (03/04/2025, 3 April,
    becomes 4 March) and leaves as text each it cannot (30/04/2025), which kpi reads day
    first, as written: the date cells' rows land months from the text cells'. Its mark, in one
    column: date cells, every one on a day from 1 to 12 (the month it was written with);
    dates typed as text day first, each with a day after the 12th; and none typed as text
    that a month-first reading would have taken (01/09/2025). Which date cells were typed as
    dates and which were read month first no cell says, so the column is refused."""
    found = []
    for column in sorted(columns):
        values = cells[:, column].to_list()
        dated = [r for r, v in enumerate(values) if r and v is not None
                 and _SHOWN_DATE.fullmatch(v)]
        if not dated or any(int(values[r][8:10]) > 12 for r in dated):
            continue
        typed = [(r, match) for r, v in enumerate(values) if r and v is not None
                 and (match := _NUMBERED_DATE.fullmatch(v))]
        if not typed or any(int(match.group(1)) <= 12 or int(match.group(2)) > 12
                            for _, match in typed):
            continue
        held = str(values[dated[0]])[:19].replace("T", " ").removesuffix(" 00:00:00")
        row = typed[0][0]
        found.append((row, column,
                      f"a date typed as text day first ({_show(values[row])}) in a column of "
                      f"date cells (row {dated[0] + top} holds {_show(held)}): a spreadsheet that "
                      "read the dates month first makes 03/04/2025 the date 4 March and leaves "
                      "30/04/2025 as text, so the date cells cannot be trusted",
                      _MONTH_FIRST_HINT))
    return found


class _TextCells:
    """Invariant: a text cell is read as its text, as the CSV file of the same extract would
    hold it, whatever its column's kind; only a number cell is read as the number (or, in a
    date column, the serial day number) it holds. Read as strings, a text cell '45930' and a
    number cell 45930 look alike, so the readers that turn a number cell's value into text
    (`_numbers_in_full`, `_serials_as_dates`) ask here which of their cells are text cells:
    read as true/false values, every text cell of a sheet is an error ('got String'), which no
    number, date or true/false cell is. The sheet's number and date columns the dataset reads
    (`columns`) are read so once, when a reader first asks, and not at all if none does."""

    def __init__(self, reader, sheet: str, columns: list[int], names: list[str]):
        self._reader, self._sheet, self._columns = reader, sheet, columns
        self._names = [names[i] for i in columns]
        self._rows: dict[int, set[int]] | None = None

    def rows(self, column: int) -> set[int]:
        """The rows of `column`'s text cells (indices in the sheet's cells, the header's row 0
        among them), `column` one of those the reader was made with."""
        if self._rows is None:
            _, errors = self._reader.load_sheet(
                self._sheet, header_row=None, use_columns=self._names,
                dtypes=dict.fromkeys(self._names, "boolean")).to_arrow_with_errors()
            self._rows = {i: set() for i in self._columns}
            for error in getattr(errors, "errors", None) or []:
                row, at = error.position
                if at in self._rows and "got 'String(" in error.detail:
                    self._rows[at].add(row)
        return self._rows[column]


def _numbers_in_full(reader, sheet: str, spec: DatasetSpec, where: str,
                     header: list[str | None], cells: pl.DataFrame,
                     typed_as_text: _TextCells) -> pl.DataFrame:
    """`cells` with each number cell of a column the dataset reads as `int` or `float` written
    as its float's shortest decimal (as Python's repr and every other reader write it; a
    whole number below 2**53 without a point). fastexcel writes a number cell as text to nine
    decimal places: 1/3 was stored as 0.333333333, pi as 3.141592654, 0.00000348929 as
    0.000003489 and 4e-10 as 0, each with exit 0, where the CSV and Parquet of the same rows
    stored the float itself.

    The column is read again as floats: where that float is not the number its text writes,
    the text was rounded, and the float is written in full. A text cell ('12.50',
    '9007199254740993') keeps its text (`_TextCells`) and is checked as a CSV file's is, as
    does a number cell that nine places write exactly. In an `int` column, a number cell past
    2**53 is written as its float, which is refused there: a cell holds a float, and past
    2**53 not every whole number.

    .xlsx, .xlsm and .xls alike: fastexcel reads each."""
    kinds = _column_kinds(spec, header)
    numbers = sorted(i for i, kind in kinds.items() if kind in (ColumnType.INT, ColumnType.FLOAT))
    if not numbers:
        return cells
    floats = _as_floats(reader, sheet, [cells.columns[i] for i in numbers])
    if floats.num_rows != cells.height:  # the same sheet read twice: never seen to differ
        raise DataError(f"{where}: the sheet read {floats.num_rows} rows as numbers and "
                        f"{cells.height} as text", hint="save the workbook again in Excel or "
                        "LibreOffice, or export the sheet as CSV")
    replaced = []
    for position, index in enumerate(numbers):
        value = pl.from_arrow(floats.column(position))
        assert isinstance(value, pl.Series)
        value = value.cast(pl.Float64)
        name = cells.columns[index]
        written = cells[name].str.strip_chars().cast(pl.Float64, strict=False)
        rounded = value.is_not_null() & written.is_not_null() & (written != value)
        if kinds[index] == ColumnType.INT:
            # A cell's number is a float: past 2**53 it need not be the whole number written
            # (9007199254740993 is held as 9007199254740992), so it is written as the float
            # it is, which an int column refuses naming its row.
            rounded = rounded | (value.is_not_null() & (value.abs() >= 2.0**53))
        rounded = rounded.fill_null(False)
        if not rounded.any():
            continue
        text_rows = typed_as_text.rows(index)
        if text_rows:
            rounded = rounded & ~pl.Series(range(cells.height)).is_in(sorted(text_rows))
            if not rounded.any():
                continue
        whole = (value == value.round(0)) & (value.abs() < 2.0**53)
        text = pl.select(pl.when(whole).then(value.cast(pl.Int64, strict=False)
                                             .cast(pl.String))
                         .otherwise(value.cast(pl.String))).to_series()
        replaced.append(pl.when(pl.lit(rounded)).then(pl.lit(text)).otherwise(pl.col(name))
                        .alias(name))
    return cells.with_columns(replaced) if replaced else cells


_TEXT_HINT = ("format the column as Text in Excel and type the values again (or save the "
              "extract's system's CSV export as it is), or declare the column's type in "
              "kpi.toml if it is not text")
_PERCENT_HINT = ("kpi reads no percentage cell in a number column, as it reads no '80%' in a "
                 "CSV file: format the column as Number (it then shows the fractions its "
                 "cells hold, 0.8, which load as shown), or type the percentages as the numbers "
                 "meant (80) in cells formatted as Number, and save")


_SCALED_HINT = ("kpi reads the number a cell holds: format the column as Number without the "
                "comma after its last digit (it then shows the numbers its cells hold, which "
                "load as shown), or type the numbers in the unit meant")


def _retyped_in_text(reader, sheet: str, cells: pl.DataFrame, columns: set[int],
                     percent_in: Callable[[set[int]], set[tuple[int, int]]]
                     ) -> list[tuple[int, int, str, str]]:
    """The first number, date, time or true/false cell below the header of each of `columns`
    (indices in `cells`), as (row, column, what it holds, hint). Read as datetimes, a text
    cell is an error however it reads ('00123', '2025-01-02'), a number or date cell a value:
    its text in `cells` tells which. A true/false cell is an error too, which says so: typed
    TRUE, true or True, a cell holds the logical value, read as 'true' where the CSV of the
    same extract holds 'TRUE' (a filter `flag = 'TRUE'` counted none of its rows)."""
    names = {cells.columns[i]: i for i in columns}
    try:
        with _stderr_parked():
            moments, errors = reader.load_sheet(
                sheet, header_row=None, use_columns=lambda c: c.index in columns,
                dtypes=dict.fromkeys(names, "datetime")).to_arrow_with_errors()
    except BaseException as exc:
        # fastexcel (calamine) panics reading as a date a number no date can be (-1e300):
        # such a cell is a number cell in a text column, named by its text.
        if type(exc).__name__ != "PanicException":
            raise
        return _undated(cells, columns)
    found = []
    logical: dict[int, int] = {}
    for error in getattr(errors, "errors", None) or []:
        row, column = error.position
        if row and column in columns and "got 'Bool(" in error.detail:
            logical[column] = min(row, logical[column]) if column in logical else row
    for column, row in logical.items():
        shown = "TRUE" if str(cells[row, column]).lower() == "true" else "FALSE"
        found.append((row, column, f"a true/false cell ({shown}; text such as true or True "
                                   "typed into a cell is kept as the logical value TRUE) in a "
                                   "text column", _TEXT_HINT))
    for name, values in zip(moments.column_names, moments.columns, strict=True):
        column = names[name]
        row = next((r for r, v in enumerate(values.to_pylist()) if r and v is not None), None)
        if row is None:
            continue
        held = str(cells[row, column])
        if re.fullmatch(r"-?\d+(\.\d*)?([eE][-+]?\d+)?", held) is None:
            what = (f"a date or time cell ({_show(held.removesuffix(' 00:00:00'))}; text such "
                    "as 1-2 typed into a cell is kept as the date 2 January)")
        elif (row, column) in percent_in({column}):
            what = (f"a percentage cell (Excel shows {_as_percent(cells, row, column)}, the "
                    f"cell holds {_show(held)})")
        else:
            what = (f"a number cell ({_show(held)}; a reference typed as 00123 is kept as the "
                    "number 123)")
        found.append((row, column, f"{what} in a text column", _TEXT_HINT))
    return found


# The largest serial number Excel shows as a date (31 December 9999).
_LAST_SERIAL = 2958465


def _undated(cells: pl.DataFrame, columns: set[int]) -> list[tuple[int, int, str, str]]:
    """The first cell of `columns` whose text is a number no date can be (beyond Excel's
    dates either way), as `_retyped_in_text` reports a number cell."""
    for column in sorted(columns):
        for row, held in enumerate(cells[:, column].to_list()):
            if not row or held is None:
                continue
            try:
                number = float(held)
            except ValueError:
                continue
            if not -_LAST_SERIAL <= number <= _LAST_SERIAL:
                what = (f"a number cell ({_show(held)}; a reference typed as 00123 is kept as "
                        "the number 123)")
                return [(row, column, f"{what} in a text column", _TEXT_HINT)]
    raise DataError("a cell of a text column holds a number no date can be, and it could not "
                    "be found by its text", hint=_TEXT_HINT)


@contextmanager
def _stderr_parked() -> Iterator[None]:
    """The process's standard error sent to the null device for the block: a Rust library's
    panic writes its message and backtrace there before Python sees the panic."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _numeric_mixing_percent(cells: pl.DataFrame, percent: set[tuple[int, int]]) -> list[int]:
    """The columns (indices in `cells`) of `percent`'s cells holding a percentage cell beside a
    number shown otherwise: a value that is not blank and not a percentage cell."""
    mixing = []
    for column in sorted({c for _, c in percent}):
        shown = {r for r, c in percent if c == column}
        values = cells[:, column].to_list()
        if any(v is not None and v.strip() and r not in shown
               for r, v in enumerate(values) if r):
            mixing.append(column)
    return mixing


def _as_percent(cells: pl.DataFrame, row: int, column: int) -> str:
    value = float(cells[row, column])
    return f"{value * 100:.15g}%"


# Excel's built-in number formats that show a percentage: 0% and 0.00%.
_PERCENT_FORMATS = frozenset({9, 10})


# A cell holding a value, as `_Parts.sheet` lays a sheet out (`_as_excel_writes`): its row, its
# attributes after the reference, what holds the value (v or is), and whether that is empty. A
# formula before it is written with its text or alone (`<f t="shared" si="0"/>`, a cell of a
# formula shared with the cells of its range).
_FORMULA_XML = rb'(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)?'
_CELL_VALUE = re.compile(rb'<c r="[A-Z]+(\d+)"([^>/]*)>' + _FORMULA_XML + rb'<(v|is)>(<?)')


def _first_valued_row(text: bytes) -> int | None:
    """The sheet's first row holding a value as fastexcel (calamine) counts it, the origin
    of its rows' numbering for every reader of the sheet's XML: an inline string, or a <v>
    holding something, or an empty one of a formula's text (t="str", the empty text it gave).
    An empty <v></v> of a number (a null, as some writers write one) holds nothing, and
    fastexcel skips its row: counted from it, every date cell's time was written into the row
    below it (each row the date of the one above, months moved, exit 0)."""
    for cell in _CELL_VALUE.finditer(text):
        if cell.group(3) == b"is" or not cell.group(4) or b't="str"' in cell.group(2):
            return int(cell.group(1))
    return None


def _percent_cells(parts: _Parts, sheet: str, loaded, wanted: set[int],
                   shows: Callable[[bytes], bool]) -> set[tuple[int, int]]:
    """The number cells of an .xlsx or .xlsm sheet's `wanted` columns shown as percentages
    (their style's number format has a % outside quotes: `shows` is `_shows_percent`), or
    shown otherwise than they hold as `shows` says (`_shows_scaled`), as (row, column) counted as
    fastexcel counts the sheet `loaded`: from its first row holding a value and its first
    column. fastexcel gives a cell's value, never its format; the sheet's XML is searched only
    when the workbook has a style showing percentages, and then only for the cells of those
    styles in those columns."""
    styles = parts.get("xl/styles.xml")
    if styles is None:
        return set()
    shown = set(_PERCENT_FORMATS) if shows is _shows_percent else set()
    for attributes in re.findall(rb"<(?:\w+:)?numFmt\b([^>]*)>", styles):
        # its two attributes in either order
        number, code = _attribute(attributes, "numFmtId"), _attribute(attributes, "formatCode")
        if (number and number.strip().isdigit() and code
                and shows(code.replace("&quot;", '"').replace("&apos;", "'").encode())):
            shown.add(int(number))
    xfs = re.search(rb"<(?:\w+:)?cellXfs\b.*?</(?:\w+:)?cellXfs>", styles, re.S)
    if xfs is None:
        return set()
    # Every <xf> is a style, numbered in order; numFmtId is optional, 0 (General) left out,
    # as the Open XML SDK (.NET) writes a CellFormat without NumberFormatId. Only those
    # writing it counted, every style after such a one was taken for the one after it: a
    # percentage cell's was not found, and 0.5 shown 50% beside 50 loaded, exit 0.
    formats = [int(n) if (n := (_attribute(attributes, "numFmtId") or "").strip()).isdigit()
               else 0 for attributes in re.findall(rb"<(?:\w+:)?xf\b([^>]*)>", xfs.group(0))]
    styled = [str(i).encode() for i, n in enumerate(formats) if n in shown]
    if not styled:
        return set()
    text = parts.sheet(sheet)
    if text is None:
        return set()
    # The first row holding a value (cells come row by row), and the first column fastexcel
    # read: the origin of its numbering.
    first = _first_valued_row(text)
    columns = loaded.available_columns()
    if first is None or not columns:
        return set()
    top, left = first - 1, columns[0].absolute_index
    names = b"|".join(_column_letter(i + left).encode() for i in sorted(wanted))
    # `_Parts.sheet` lays every cell out as Excel writes it, its attributes r, s, t (a number
    # cell's none, or "n"), any other after them, and no prefix (a pattern starting with its
    # literal is searched four times as fast).
    cells = re.findall(rb'<c r="(' + names + rb')(\d+)" s="(?:' + b"|".join(styled)
                       + rb')"(?: t="n")?(?: (?![rst]=)[\w:.-]+="[^"]*")*>', text)
    return {(int(row) - 1 - top, _column_index(letters.decode()) - left)
            for letters, row in cells}


def _shows_percent(code: bytes) -> bool:
    """Whether a number format's code shows its number as a percentage: a % outside quotes
    and not escaped (Excel then shows the number times 100)."""
    return b"%" in re.sub(rb'".*?"|\\.', b"", code)


def _shows_scaled(code: bytes) -> bool:
    """Whether a number format's code shows its number divided by 1,000 (or a million): a
    comma after the last digit placeholder of a section, outside quotes, escapes and
    brackets (`#,##0,` shows 1234567 as 1,235; `0.0,,"m"` as 1.2m). A comma between digit
    placeholders (`#,##0`) only separates thousands."""
    plain = re.sub(rb'".*?"|\\.|_.|\*.|\[[^\]]*\]', b"", code)
    return any(re.search(rb"[0#?.],+(?!.*[0#?])", section) for section in plain.split(b";"))


# BIFF8 records read by _xls_percent_cells: a number format's code (FORMAT), a cell style's
# number format (XF, numbered in the order they come), and the cells holding a number.
_FORMAT, _XF, _NUMBER, _RK, _MULRK, _FORMULA = 0x041E, 0x00E0, 0x0203, 0x027E, 0x00BD, 0x0006
_SHRFMLA = 0x04BC  # a shared formula's expression (`_check_xls_cells`)


def _xls_percent_cells(stream: bytes | None, sheet: str, loaded, wanted: set[int],
                       shows: Callable[[bytes], bool]) -> set[tuple[int, int]]:
    """_percent_cells for an .xls workbook, from the BIFF8 records of its workbook `stream`
    (`_ole_stream`): its number cells (NUMBER, RK, MULRK and a FORMULA whose result is a
    number) of `wanted` columns whose XF's number format shows a percentage (built-in 9 and 10,
    or a FORMAT whose code has a %), as (row, column) counted as fastexcel counts the sheet
    `loaded`: from its first row holding a value and its first column."""
    start = None if stream is None else _biff_sheet_offset(stream, sheet)
    columns = loaded.available_columns()
    if stream is None or start is None or not columns or not wanted:
        return set()
    pair = struct.Struct("<HH").unpack_from
    shown, styles = set(_PERCENT_FORMATS) if shows is _shows_percent else set(), []
    at = 0
    while at + 4 <= len(stream):  # the globals: number formats and cell styles
        kind, size = pair(stream, at)
        body = stream[at + 4:at + 4 + size]
        at += 4 + size
        if kind == _EOF:
            break
        if kind == _XF and len(body) >= 4:
            styles.append(pair(body)[1])
        elif kind == _FORMAT and len(body) >= 5:
            number, length = pair(body)
            wide = body[4] & 1
            code = body[5:5 + length * (2 if wide else 1)].decode(
                "utf-16-le" if wide else "latin-1", "replace")
            if shows(code.encode("utf-8")):
                shown.add(number)
    percent = {i for i, number in enumerate(styles) if number in shown}
    if not percent:
        return set()
    left = columns[0].absolute_index
    absolute = {i + left for i in wanted}
    cells = _xls_number_cells(stream, start)
    top = next(cells, None)
    if top is None:
        return set()
    return {(row - top, column - left) for row, column, style, _ in cells
            if column in absolute and style in percent}


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def _same_header_elsewhere(spec: DatasetSpec, reader, names: list[str], sheet: str,
                           header: list[str | None], where: str) -> list[str]:
    """A warning for each other sheet whose first row names every column of the sheet read
    that the dataset reads (matched as the conformer matches a source's names,
    `_column_kinds`: case and spaces aside, in any order, among other columns): an extract
    split over sheets (a sheet holds at most 1,048,576 rows, and an analyst pastes a second
    extract on a sheet of its own), whose other rows this load does not read. Matched as the
    very same header, a second sheet of a month with its columns in another order, `ref`
    for `Ref` or one column more was left out with nothing said, exit 0."""
    import fastexcel

    wanted = {_heading_key(name or "") for i, name in enumerate(header)
              if _column_kinds(spec, header)[i] is not None}
    if not wanted:
        return []
    found = []
    for other in names:
        if other == sheet:
            continue
        try:
            first = reader.load_sheet(other, header_row=None, n_rows=1,
                                      dtypes="string").to_polars()
        except fastexcel.FastExcelError:
            continue
        if first.height and wanted <= {_heading_key(str(v)) for v in first.row(0)
                                       if v is not None}:
            found.append(other)
    if not found:
        return []
    listed = ", ".join(f"'{_show(n)}'" for n in found[:5]) + (", ..." if len(found) > 5 else "")
    return [f"{where}: sheet(s) {listed} begin with a header naming the same columns, and "
            "their rows are not read (to load an extract split over sheets, save its rows as "
            "one CSV file)"]


def _excel_header_row(spec: DatasetSpec, where: str, cells: pl.DataFrame,
                      header: list[str | None], top: int = 1) -> None:
    """Refuse a sheet whose header is below a title or notes: the first non-empty row names
    none of the dataset's columns, and a later one names some."""
    if any(kind is not None for kind in _column_kinds(spec, header).values()):
        return
    wanted = _kinds_by_heading(spec)
    for number, row in enumerate(cells.slice(1, 30).iter_rows(), start=top + 1):
        if sum(1 for v in row if v is not None and _heading_key(str(v)) in wanted) >= 2:
            raise DataError(f"{where}: the header is not the first row: the column names are "
                            f"on row {number} of the sheet",
                            hint="delete the title or notes above the header row, so the "
                                 "table starts at its header")


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _serials_as_dates(reader, sheet: str, spec: DatasetSpec, header: list[str | None],
                      cells: pl.DataFrame, zero: datetime, typed_as_text: _TextCells
                      ) -> pl.DataFrame:
    """`cells` with each number cell below the header of a date, datetime or month column
    (an Excel serial day number: a date cell formatted as a number, or typed in as one) as
    the date or date-time it stands for, counted from the workbook's day 0 (`day_zero`). A
    text cell keeps its text (`_TextCells`): '45930' typed as text is read as the CSV file's
    field '45930' is, and refused there, not taken for 30 September 2025.

    The serial is read as a date cell's is (`_serial_microseconds`, the one reading of a
    serial for both), from the float the cell holds (fastexcel's text of it has nine decimal
    places): to the microsecond a writer gave it. Rounded to the millisecond and cut to the
    second, 23:59:59.999999 on 30 September (45930.99999999999, as a General cell holds a
    period's end) was midnight, in October, and 12:00:00.600 was 12:00:00, exit 0, where the
    same serial as a date cell, and the CSV of the same rows, held the time written."""
    dated = {i: kind for i, kind in _column_kinds(spec, header).items()
             if kind in (ColumnType.DATE, ColumnType.DATETIME, ColumnType.MONTH)}
    low, high = ((_FIRST_SERIAL_DAY - zero).days, (_LAST_SERIAL_DAY - zero).days)
    below_header = pl.int_range(pl.len()) > 0
    found = {}
    for index, kind in dated.items():
        text = pl.col(cells.columns[index]).str.strip_chars()
        serial = text.cast(pl.Float64, strict=False)
        is_serial = (below_header & text.str.contains(r"^\d+(\.\d+)?$")
                     & serial.is_between(max(low, 0), high)).fill_null(False)
        rows = cells.select(is_serial.arg_true()).to_series()
        if rows.len():
            numbers = sorted(set(rows.to_list()) - typed_as_text.rows(index))
            if numbers:
                found[index] = (kind, numbers)
    if not found:
        return cells
    columns = sorted(found)
    floats = _as_floats(reader, sheet, [cells.columns[i] for i in columns])
    replaced = []
    for position, index in enumerate(columns):
        kind, numbers = found[index]
        held = floats.column(position).to_pylist()
        values = cells[:, index].to_list()
        read = [(row, micros) for row in numbers if row < len(held) and held[row] is not None
                and (micros := _serial_microseconds(repr(float(held[row])).encode()))
                is not None]
        for (row, _), text in zip(read, _serial_texts(zero, [micros for _, micros in read],
                                                      kind == ColumnType.MONTH), strict=True):
            values[row] = text
        replaced.append(pl.Series(cells.columns[index], values, dtype=pl.String))
    return cells.with_columns(replaced)


def _as_floats(reader, sheet: str, names: list[str]):
    """The sheet's columns `names` (as fastexcel names them, in the sheet's cells) read as
    floats, an Arrow table of them in that order. By name: fastexcel takes a column's number
    in `use_columns` as its place in the sheet, not in the table, so in a table starting in
    column B the number columns' floats were those of the columns left of them, and a cell of
    0.333 stored as 45900 (the date beside it), exit 0."""
    return reader.load_sheet(sheet, header_row=None, use_columns=names,
                             dtypes=dict.fromkeys(names, "float")).to_arrow_with_errors()[0]


def _serial_texts(zero: datetime, micros: list[int], month: bool = False) -> list[str]:
    """The moments `micros` microseconds after the workbook's day 0, each as an extract writes
    it (to the microsecond where it has any), in one pass. A month column takes a date: a
    serial holding a time of day keeps it, and is refused as its date cell is (45930.979,
    23:30 on 30 September, which a zone may put in October), where cut to its day it was
    counted in September."""
    micro = pl.col("micro")
    moment = pl.lit(zero) + pl.duration(microseconds=micro)
    text = (pl.when(micro % _DAY_MICROSECONDS == 0 if month else pl.lit(False))
            .then(moment.dt.strftime("%Y-%m-%d"))
            .when(micro % 1_000_000 == 0).then(moment.dt.strftime("%Y-%m-%d %H:%M:%S"))
            .otherwise(moment.dt.strftime("%Y-%m-%d %H:%M:%S.%6f")))
    return pl.DataFrame({"micro": micros}, schema={"micro": pl.Int64}).select(
        text).to_series().to_list()


def _check_cells(parts: _Parts, sheet: str, where: str,
                 sums: list[tuple[str, str, frozenset[str]]] | None = None) -> list[str]:
    """Refuse what a workbook's cell values do not show (Office Open XML workbooks only):

    - a formula with no saved value, or whose saved value was never calculated (the
      workbook asks to be recalculated when opened, as workbooks written by a program such
      as openpyxl or xlsxwriter do, or Excel calculating by hand saved it without
      calculating, calcMode="manual" with calcOnSave="0"): read, it is a blank, a 0 or a
      figure from before the last edit, never its result;
    - a merged cell in the data area (below the header row): only its first cell holds
      the value, so an LPA merged over four rows is one Birmingham and three blanks;
    - a hidden row of values in the data area (hidden by hand or filtered out): kpi reads
      every row, and whether the analyst meant the rows they hid is not ours to guess (empty
      rows hidden below a table hide nothing).

    Added to `sums`: each cell below the header row (`C6`, with its formula) whose formula
    aggregates cells of its own column below the header (`_sums_its_column`: `=SUM(C2:C5)`,
    `=SUBTOTAL(9,C2:C5)`, `=SUMIFS(...)`, `=AVERAGE(C2:C5)`): a total row, whatever its label
    says (`_refuse_summing_formulas`).

    Returned: the cells (`B7`) below the header row holding a formula whose saved value no
    Excel calculated (the workbook's calcPr has no calcId: LibreOffice's, or another
    program's), which Excel calculates again when it opens the workbook
    (`_refuse_formulas_excel_recalculates`); none where Excel calculated the workbook.

    The sheet is scanned first for the markers (`<f`, `<mergeCell`, a hidden row) and parsed
    only when one is there, so a plain extract costs one pass over its XML."""
    import io
    import re
    from xml.etree import ElementTree

    text, workbook = parts.sheet(sheet), parts.get("xl/workbook.xml")
    if text is None or workbook is None:
        return []  # fastexcel reports a damaged workbook in its own words
    settings = re.search(rb"<(?:\w+:)?calcPr\b[^>]*>", workbook)
    calc = b"" if settings is None else settings.group(0)
    on_load = _attribute(calc, "fullCalcOnLoad") in ("1", "true")
    by_hand = (_attribute(calc, "calcMode") == "manual"
               and _attribute(calc, "calcOnSave") in ("0", "false"))
    recalculated = on_load or by_hand
    by_excel = re.match(r"\s*[1-9]", _attribute(calc, "calcId") or "") is not None
    # One regex of the markers took five times as long as this one and three plain searches.
    if not (re.search(rb"<(\w+:)?(f|mergeCell)[\s>/]", text)
            or any(marker in text for marker in (b' hidden="1"', b' hidden="true"'))):
        return []
    formulas: list[str] = []
    hint = ("open the workbook in Excel or LibreOffice and save it, so every formula has its "
            "value, or export the sheet as CSV")
    header_row = valued = None
    # A shared formula's text, by its si, as its first cell (the top left of its range) holds
    # it, with that cell; the cells below the header whose shared formula came before its text
    # (no writer's order, judged once the sheet is read), with the header row.
    shared: dict[str, tuple[str, str]] = {}
    waiting: dict[str, int | None] = {}
    try:
        for _, element in ElementTree.iterparse(io.BytesIO(text)):
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "c":
                ref = element.get("r", "")
                formula = value = None
                for child in element:
                    name = child.tag.rsplit("}", 1)[-1]
                    if name == "f":
                        formula = child
                    elif name == "is" or (name == "v" and (child.text
                                                           or element.get("t") == "str")):
                        # An empty <v/> (openpyxl's) is no value; of a formula whose result
                        # is text (t="str"), it is the empty text it gave (=IF(C2>5,"High",
                        # ""), as Excel and LibreOffice save it: refused as never calculated).
                        value = child
                written = "" if formula is None else _shared_formula(
                    formula, ref, shared, waiting)
                constant = formula is not None and _LOGICAL.match(written)
                if formula is not None and (value is None or recalculated and not constant):
                    why = ("has no saved value" if value is None else
                           "has a saved value the workbook never calculated (it asks to be "
                           "recalculated when opened)" if on_load else
                           "has a saved value the workbook may not have calculated (Excel "
                           "calculates it by hand, and saved it without calculating)")
                    raise DataError(f"{where}, cell {ref}: a formula "
                                    f"(={_show(written)}) that {why}", hint=hint)
                row = _row_of(ref)
                if (formula is not None and sums is not None and header_row is not None
                        and row is not None and row > header_row):
                    if ref in waiting:
                        waiting[ref] = header_row
                    else:
                        _add_summing(sums, ref, row, written, header_row, sheet)
                if formula is not None and not constant and not by_excel and (
                        header_row is not None and row is not None and row > header_row):
                    formulas.append(ref)
                if value is not None and row is not None:
                    valued = row  # the row the cells being read are in holds a value
                    if header_row is None:
                        header_row = row
                element.clear()
            elif tag == "row" and element.get("hidden") in ("1", "true"):
                # a hidden row of values below the header (an empty one hides nothing)
                number = _row_of(f"A{element.get('r', '')}")
                if header_row is not None and number is not None and header_row < number == valued:
                    raise _hidden_row(where, number)
            elif tag == "mergeCell":
                cells = element.get("ref", "")
                last = _row_of(cells.rpartition(":")[2])
                if header_row is not None and last is not None and last > header_row:
                    raise _merged(where, cells)
    except ElementTree.ParseError as exc:
        raise _unreadable(where, "the sheet's XML", exc) from None
    for ref, below in waiting.items():
        row = _row_of(ref)
        if sums is not None and below is not None and row is not None:
            _add_summing(sums, ref, row, _shared_formula(None, ref, shared, {}), below, sheet)
    return formulas


def _shared_formula(formula, ref: str, shared: dict[str, tuple[str, str]],
                    waiting: dict[str, int | None]) -> str:
    """The text of the formula in cell `ref` (its <f> element `formula`, or None once the sheet
    is read). Excel saves a formula filled across or down (a total row's =SUM(C2:C4) typed in C
    and filled into D) as one shared formula: its text in the first cell (`t="shared"`, an `si`
    and the `ref` of its cells), and in each other cell only its `si`, meaning that text moved
    as far as the cell is from the first (`_moved`). Read as written, each such cell had no
    formula to judge, and a total row's every column but the first loaded as one more row
    (1,680 staff where the rows hold 840), exit 0. A cell whose shared formula comes before its
    text is kept in `waiting` and judged once the sheet is read."""
    if formula is None or formula.get("t") != "shared":
        return "" if formula is None else formula.text or ""
    number = formula.get("si", "")
    if formula.text:
        shared.setdefault(number, (ref, formula.text))
        return formula.text
    if number not in shared:
        waiting.setdefault(ref, None)
        return ""
    first, text = shared[number]
    return _moved(text, first, ref)


# A cell's reference in a formula, each part relative unless after a $ (not part of a name, a
# function's, LOG10(, or a table's, T1[).
_MOVABLE = re.compile(r"(?<![A-Za-z0-9_.$'\]])(\$?)([A-Z]{1,3})(\$?)(\d+)(?![\w(\[])")


def _moved(formula: str, origin: str, to: str) -> str:
    """`formula`, written in cell `origin`, as Excel reads it in cell `to`: each relative part
    of a reference moved as far as `to` is from `origin` (=SUM(C2:C4) in C5 is =SUM(D2:D4) in
    D5, =SUM(C$2:C5) in C6 is =SUM(C$2:C6) in C7). Text in quotes is no reference."""
    start, end = _CELL_REFERENCE.fullmatch(origin.encode()), _CELL_REFERENCE.fullmatch(
        to.encode())
    if start is None or end is None:
        return formula
    across = _column_index(end.group(1).decode()) - _column_index(start.group(1).decode())
    down = int(end.group(2)) - int(start.group(2))

    def move(match: re.Match[str]) -> str:
        fixed_column, letters, fixed_row, number = match.groups()
        column = _column_index(letters) + (0 if fixed_column else across)
        row = int(number) + (0 if fixed_row else down)
        if column < 0 or row < 1:
            return "#REF!"
        return f"{fixed_column}{_column_letter(column)}{fixed_row}{row}"

    pieces = re.split(f"({_TEXT_LITERAL.pattern})", formula)
    return "".join(piece if index % 2 else _MOVABLE.sub(move, piece)
                   for index, piece in enumerate(pieces))


def _add_summing(sums: list[tuple[str, str, frozenset[str]]], ref: str, row: int, formula: str,
                 header_row: int, sheet: str) -> None:
    """Add to `sums` cell `ref`'s `formula` where it aggregates other rows of its own column:
    by a range of its column (`_sums_its_column`), with no names; or by a table's column named
    (`_table_columns`: =SUM(Table1[Staff]), =SUBTOTAL(109,Table1[Staff])), with the names,
    judged against the cell's column's header where the header is known
    (`_refuse_summing_formulas`)."""
    if _sums_its_column(ref, row, formula, header_row, sheet):
        sums.append((ref, formula, frozenset()))
    elif _SUMMING.search(formula) and (named := _table_columns(formula)):
        sums.append((ref, formula, named))


# A table's structured reference (Table1[Staff], Table1[[#Data],[Staff]], [@Staff]): what is in
# its brackets, one level of brackets within them, a ' escaping the character after it.
_STRUCTURED = re.compile(r"\[((?:[^\[\]']|'.|\[(?:[^\[\]']|'.)*\])*)\]")


def _table_columns(formula: str) -> frozenset[str]:
    """The header keys (`_heading_key`) of the table columns `formula`'s structured
    references take whole (`Table1[Staff]`, `Table1[[#Data],[Staff]]`, `Table1[[#All],
    [Staff]]`, both ends of `Table1[[Officers]:[Staff]]`); not those of one row (`[@Staff]`,
    `Table1[[#This Row],[Staff]]`), nor the table's totals (`Table1[#Totals]`)."""
    named = set()
    for match in _STRUCTURED.finditer(_TEXT_LITERAL.sub('""', formula)):
        body = match.group(1)
        if body.startswith("@") or "#this row" in body.lower():
            continue
        items = re.findall(r"\[((?:[^\[\]']|'.)*)\]", body) if "[" in body else [body]
        named |= {_heading_key(re.sub(r"'(.)", r"\1", item)) for item in items
                  if item.strip() and not item.startswith("#")}
    return frozenset(named)


def _unreadable(where: str, part: str, exc: Exception) -> DataError:
    """A part of the workbook its checks cannot read: refused, as what the checks look for
    may be in it. fastexcel reads past what XML forbids (a raw control character in a text
    cell, as a naive exporter writes text pasted from Word); xml.etree does not, and the
    check that gave up on the sheet let every later one go unread: 71 formulas never
    calculated loaded as 0, exit 0."""
    return DataError(f"{where}: {part} cannot be read ({_first_line(exc)}; a control "
                     "character in a cell's text is one cause), so its cells cannot be checked "
                     "(formulas, hidden rows, merged cells, totals)",
                     hint="open the workbook in Excel (letting it repair the file) and save "
                          "it, or export the sheet as CSV")


def _refuse_totals_rows(parts: _Parts, sheet: str, where: str, read: dict[str, str]) -> None:
    """Invariant: a row the workbook itself names a total is never read as a row of data. An
    Excel table's (Insert > Table) Total Row is named so in its table part (`totalsRowCount`,
    the last rows of the table's `ref`): refused where it holds a value in a column the
    dataset reads (`read`, letters to headers), whatever the value (a SUBTOTAL over the
    column by its name, `[Headcount]`, which no range of cells shows, a label, or figures
    typed over it) and whatever the row's labels. Read, a totals row whose month was given
    and labels blank loaded as one more row of data, and its month's sum held the table's
    whole total again, exit 0. A table beside the extract, of columns the dataset does not
    read, leaves the extract's rows alone. Tables are read from the sheet's own relationships,
    and its XML only where one has a totals row (a plain extract costs nothing more)."""
    import posixpath
    from xml.etree import ElementTree

    member = _sheet_member(parts, sheet)
    if member is None or not read:
        return
    folder, name = posixpath.split(member)
    related = parts.get(posixpath.join(folder, "_rels", name + ".rels"))
    if related is None or b"/table" not in related:
        return
    try:
        rels = ElementTree.fromstring(related)
    except ElementTree.ParseError as exc:
        raise _unreadable(where, "the XML listing the sheet's tables", exc) from None
    for rel in rels:
        if not rel.get("Type", "").endswith("/table"):
            continue
        target = rel.get("Target", "")
        table = parts.get(target.lstrip("/") if target.startswith("/") else
                          posixpath.normpath(posixpath.join(folder, target)))
        found = None if table is None else re.search(rb"<(?:\w+:)?table\b[^>]*>", table)
        if found is None:
            continue
        opening = found.group(0)
        count = re.fullmatch(r"\s*(\d+)\s*", _attribute(opening, "totalsRowCount") or "")
        span = re.fullmatch(r"\s*\$?([A-Z]+)\$?\d+:\$?([A-Z]+)\$?(\d+)\s*",
                            _attribute(opening, "ref") or "")
        label = _attribute(opening, "displayName") or _attribute(opening, "name")
        if count is None or span is None or int(count.group(1)) < 1:
            continue
        left, right = _column_index(span.group(1)), _column_index(span.group(2))
        text = parts.sheet(sheet) or b""
        last = int(span.group(3))
        for number in range(last - int(count.group(1)) + 1, last + 1):
            row = re.search(rb'<(?:\w+:)?row\b[^>]*?\br="' + str(number).encode()
                            + rb'"[^>]*?(?:/>|>(.*?)</(?:\w+:)?row>)', text, re.S)
            cells = re.findall(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]+)\d+"[^>]*?(?:/>|>(.*?)'
                               rb'</(?:\w+:)?c>)', (row.group(1) or b"") if row else b"", re.S)
            for letters, inner in cells:
                column = letters.decode()
                if (column in read and left <= _column_index(column) <= right
                        and re.search(rb"<(?:\w+:)?(?:v>[^<]|is>)", inner)):
                    table_name = label or "?"
                    raise DataError(
                        f"{where}, row {number}, column '{_show(read[column])}': the totals "
                        f"row of table '{_show(table_name)}' (its Total Row): it sums or counts "
                        "the table's rows, so they would be counted twice",
                        hint="turn the table's Total Row off (Table Design > Total Row) and "
                             "save, or export the table's rows as CSV")


# A formula that is a logical constant: LibreOffice Calc saves every true/false cell so, as
# `TRUE()` or `FALSE()` in an .xlsx (Excel's own `=TRUE`, `=FALSE` too) and as the token of
# the constant in an .xls. Its value is itself whoever calculates it, so it is a cell of its
# value, not a formula Excel would calculate again: read as one, every workbook Calc saved
# with a true/false column the dataset reads was refused ("a formula whose saved value Excel
# did not calculate"), exit 3.
_LOGICAL = re.compile(r"\s*(?:TRUE|FALSE)\s*(?:\(\s*\))?\s*\Z", re.IGNORECASE)


def _xls_logical(body: bytes, at: int = 20) -> bool:
    """Whether an .xls FORMULA record's `body` is a logical constant (`_LOGICAL`): its parsed
    expression (after 20 bytes of cell, value and flags, and its length) one ptgBool, as Calc
    writes it, or a call of TRUE() or FALSE() (ptgFunc, any class, functions 34 and 35). With
    `at` 8, whether a SHRFMLA record's shared expression is one."""
    if len(body) < at + 2:
        return False
    size = struct.unpack_from("<H", body, at)[0]
    tokens = body[at + 2:at + 2 + size]
    return ((size == 2 and len(tokens) == 2 and tokens[0] == 0x1D)
            or (size == 3 and len(tokens) == 3 and tokens[0] in (0x21, 0x41, 0x61)
                and tokens[1:] in (b"\x22\x00", b"\x23\x00")))


def _xls_shared(body: bytes) -> tuple[int, int] | None:
    """The cell (row, column) of the shared formula an .xls FORMULA record's `body` uses
    (its expression one ptgExp), or None. Calc saves equal true/false cells one above the
    other as one shared formula: a SHRFMLA record after the first holding the constant."""
    if len(body) < 27 or struct.unpack_from("<H", body, 20)[0] != 5 or body[22] != 0x01:
        return None
    return struct.unpack_from("<HH", body, 23)


# A function that aggregates the cells it is given: a total (SUM, SUMIF, SUMIFS, SUMPRODUCT,
# SUBTOTAL, AGGREGATE, PRODUCT), a count, an average, a median, a minimum or a maximum (an
# `_xlfn.` prefix, as the XML writes Excel 2019's MAXIFS, is before a word boundary).
_SUMMING = re.compile(r"\b(?:SUM(?:IFS?|PRODUCT)?|SUBTOTAL|AGGREGATE|PRODUCT|COUNT(?:A|IFS?)?"
                      r"|AVERAGE(?:A|IFS?)?|MEDIAN|MIN(?:A|IFS)?|MAX(?:A|IFS)?)\s*\(",
                      re.IGNORECASE)
# A cell or range of the same sheet: not one of another sheet ('Data'!C2), nor part of a name.
_REFERENCE = re.compile(r"(?<![A-Za-z0-9_.!$':])\$?([A-Z]{1,3})\$?(\d+)"
                        r"(?::\$?([A-Z]{1,3})\$?(\d+))?")
_TEXT_LITERAL = re.compile(r'"(?:[^"]|"")*"')


def _sums_its_column(ref: str, row: int, formula: str, header_row: int,
                     sheet: str = "") -> bool:
    """Whether `formula`, in cell `ref` on `row` of `sheet`, aggregates other cells of its own
    column below the header row (`_SUMMING`): the formula of a total row (=SUM(C2:C5),
    =SUBTOTAL(9,C2:C5), a month's force-wide row =SUMIFS(C$2:C73,A$2:A73,"2025-09"), an
    average row =AVERAGE(C2:C5); =C2+C3 is not looked for). A range naming the formula's
    own sheet (=SUM(Extract!C2:C5), as Excel writes a range picked after visiting another
    sheet) is a range of its column too: read as another sheet's, such a total, and SUMIFS,
    SUMPRODUCT and AVERAGE rows, loaded as one more part (a year's headcount 780 where its
    rows hold 720), exit 0. Text in quotes ("C5") is no reference."""
    if not _SUMMING.search(formula):
        return False
    formula = _TEXT_LITERAL.sub('""', formula)
    if sheet:
        quoted = "'" + sheet.replace("'", "''") + "'"  # as a name with spaces is written
        own = f"{re.escape(quoted)}|{re.escape(sheet)}"
        formula = re.sub(rf"(?<![\w.'\]])(?:{own})!", "", formula, flags=re.IGNORECASE)
    column = ref.rstrip("0123456789").lstrip("$")
    for match in _REFERENCE.finditer(formula):
        first, top, last, bottom = match.groups()
        if first != column or (last is not None and last != column):
            continue
        low, high = sorted((int(top), int(bottom or top)))
        if high > header_row and not low == high == row:
            return True
    return False


def _refuse_summing_formulas(spec: DatasetSpec, where: str, header: list[str | None],
                             sums: list[tuple[str, str, frozenset[str]]], loaded) -> None:
    """Refuse the first of `sums` (`_check_cells`: a formula aggregating other rows of its
    own column, `_sums_its_column`) in a column the dataset reads: the row is a total (or a
    count, an average) of rows the sheet holds, so read as a row it counts them twice,
    whatever label its other cells have (a blank LPA reads as not recorded)."""
    if not sums:
        return
    read = _letters_read(spec, header, loaded)
    for ref, formula, named in sums:
        letter = ref.rstrip("0123456789").lstrip("$")
        if letter in read and (not named or _heading_key(read[letter]) in named):
            raise DataError(f"{where}, row {_row_of(ref)}, column '{_show(read[letter])}' "
                            f"(cell {ref}): a formula (={_show(formula)}) that aggregates "
                            "other rows of its column (a sum, count, average, minimum or "
                            "maximum): the row sums up rows the sheet already holds, so they "
                            "would be counted twice",
                            hint="delete the total rows (or export the table without its "
                                 "subtotals and grand totals), and load the rows they sum")


def _letters_read(spec: DatasetSpec, header: list[str | None], loaded) -> dict[str, str]:
    """The letters of the sheet's columns the dataset reads, each with its header: the
    columns `_column_kinds` finds, as the conformer finds them."""
    columns = loaded.available_columns()
    left = columns[0].absolute_index if columns else 0
    return {_column_letter(i + left): str(header[i])
            for i, kind in _column_kinds(spec, header).items() if kind is not None}


def _refuse_formulas_excel_recalculates(spec: DatasetSpec, where: str,
                                        header: list[str | None], formulas: list[str],
                                        loaded) -> None:
    """Refuse the first of `formulas` (`_check_cells`, `_check_xls_cells`: cells whose saved
    value no Excel calculated) in a column the dataset reads. Excel calculates such a workbook
    again when it opens it, and shows what its formulas give; the saved value is what the
    program that saved it last held, which need not be that: a workbook written with formulas
    and passed through LibreOffice without recalculating (its default for a workbook it did
    not write) keeps `=10+25` as 0. A formula in a column the dataset does not read is not
    read either."""
    if not formulas:
        return
    read = _letters_read(spec, header, loaded)
    for ref in formulas:
        if ref.rstrip("0123456789").lstrip("$") in read:
            raise DataError(f"{where}, cell {ref}: a formula whose saved value Excel did not "
                            "calculate (the workbook was last saved by another program, and "
                            "Excel calculates it again when opening it)",
                            hint="open the workbook in Excel and save it, or replace the "
                                 "column's formulas by their values (Paste Special, values "
                                 "only), or export the sheet as CSV")


def _hidden_row(where: str, number: int) -> DataError:
    return DataError(f"{where}, row {number}: a hidden row in the data area (hidden, or "
                     "filtered out), which kpi would read as any other",
                     hint="unhide the rows (clear any filter), delete those that are not part "
                          "of the extract, and save")


def _merged(where: str, cells: str) -> DataError:
    return DataError(f"{where}, cells {cells}: merged cells in the data area (only the first "
                     "holds the value; the others read as blanks)",
                     hint="unmerge the cells and fill each with its value, or export the sheet "
                          "as CSV")


# BIFF8 (.xls) records read by _check_xls_cells: the cells that hold a value (a string, a
# number, a true/false or error value, a formula), a row's, merged cells, a sheet's name and
# place, the date system, and the end of the globals or a sheet.
_ROW, _MERGEDCELLS, _BOUNDSHEET, _DATEMODE, _EOF = (0x0208, 0x00E5, 0x0085, 0x0022, 0x000A)
_VALUE_CELLS = frozenset({0x00FD, 0x0203, 0x027E, 0x00BD, 0x0204, 0x00D6, 0x0205, 0x0006})
_READ_RECORDS = frozenset({_ROW, _MERGEDCELLS, _EOF})
_WORKBOOK_STREAMS = ("Workbook", "Book")  # BIFF8's name, and BIFF5's


def _check_xls_cells(stream: bytes | None, sheet: str, where: str) -> list[str]:
    """_check_cells for an .xls workbook, from the BIFF8 records of its workbook stream
    (`_ole_stream`): merged cells and a hidden row of values below the header row (the first
    row holding a value), which calamine reads as blanks or as any other row (its formulas always
    hold a value). A workbook whose records cannot be found is left to fastexcel.

    Returned, as _check_cells returns them: the cells below the header row holding a formula,
    where no Excel since Excel 97 saved the workbook (its BOF's verLastXLSaved is 0, as
    LibreOffice writes it), so that Excel calculates them again when it opens it."""
    start = None if stream is None else _biff_sheet_offset(stream, sheet)
    if stream is None or start is None:
        return []
    # The globals' BOF: verLastXLSaved, bits 8 to 11 of its fourth 32-bit word.
    by_excel = len(stream) >= 20 and (struct.unpack_from("<I", stream, 16)[0] >> 8) & 0xF > 0
    formula_cells: list[tuple[int, int]] = []
    # the cells of a shared formula, by the cell its expression is kept with, and those cells
    # whose shared expression is a logical constant (SHRFMLA: after rwFirst, rwLast, colFirst,
    # colLast, a reserved byte and cUse, the expression's length and tokens)
    shared: dict[tuple[int, int], list[tuple[int, int]]] = {}
    logical: set[tuple[int, int]] = set()
    first_value: int | None = None
    hidden: set[int] = set()
    valued_hidden: set[int] = set()
    merged: list[tuple[int, int, int, int]] = []
    # Most records are cells of values, of which only the first's row is wanted (a sheet's
    # cells come row by row): the loop reads a record's body only where it needs it.
    pair = struct.Struct("<HH").unpack_from
    read, cells = _READ_RECORDS, _VALUE_CELLS
    at, end = start, len(stream)
    while at + 4 <= end:
        kind, size = pair(stream, at)
        at += 4 + size
        if kind not in read:
            if (kind == _FORMULA and not by_excel and size >= 4 and at <= end
                    and not _xls_logical(stream[at - size:at])):
                if (anchor := _xls_shared(stream[at - size:at])) is not None:
                    shared.setdefault(anchor, []).append(pair(stream, at - size))
                else:
                    formula_cells.append(pair(stream, at - size))
            if kind == _SHRFMLA and not by_excel and size >= 6 and at <= end \
                    and _xls_logical(stream[at - size:at], 8):
                first_row, _, first_column = struct.unpack_from("<HHB", stream, at - size)
                logical.add((first_row, first_column))
            if (first_value is None or hidden) and kind in cells and size >= 4 and at <= end:
                row = pair(stream, at - size)[0]
                if first_value is None:
                    first_value = row
                if row in hidden:  # a hidden row of values (an empty one hides nothing)
                    valued_hidden.add(row)
            continue
        if kind == _EOF:
            break
        body = stream[at - size:at]
        if kind == _ROW:
            if len(body) >= 16 and body[12] & 0x20:
                hidden.add(pair(body)[0])
        else:
            count = pair(body)[0] if len(body) >= 4 else 0
            merged += [struct.unpack_from("<HHHH", body, 2 + 8 * i) for i in range(count)
                       if 2 + 8 * i + 8 <= len(body)]
    formula_cells += [cell for anchor, cells in shared.items() if anchor not in logical
                      for cell in cells]
    if first_value is None:
        return []
    for top, bottom, left, right in sorted(merged):
        if bottom > first_value:
            raise _merged(where, f"{_column_letter(left)}{top + 1}:"
                                 f"{_column_letter(right)}{bottom + 1}")
    below = [row for row in valued_hidden if row > first_value]
    if below:
        raise _hidden_row(where, min(below) + 1)
    return [f"{_column_letter(column)}{row + 1}" for row, column in sorted(formula_cells)
            if row > first_value]


def _xls_first_row(stream: bytes | None, sheet: str) -> int | None:
    """The sheet's own number of an .xls sheet's first row holding a value (cells come row by
    row), where fastexcel's numbering of its rows starts; None if it cannot be found."""
    start = None if stream is None else _biff_sheet_offset(stream, sheet)
    if stream is None or start is None:
        return None
    at = start
    while at + 8 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, at)
        if kind == _EOF:
            return None
        if kind in _VALUE_CELLS and size >= 4:
            return struct.unpack_from("<H", stream, at + 4)[0] + 1
        at += 4 + size
    return None


def _biff_sheet_offset(stream: bytes, sheet: str) -> int | None:
    """Where in the workbook stream the sheet named `sheet` begins (its BOUNDSHEET record's
    offset), from the globals' records."""
    at = 0
    while at + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, at)
        body = stream[at + 4:at + 4 + size]
        at += 4 + size
        size = len(body)
        if kind == _EOF:
            return None
        if kind == _BOUNDSHEET and size >= 8:
            length, wide = body[6], body[7] & 1
            raw_name = body[8:8 + length * (2 if wide else 1)]
            name = raw_name.decode("utf-16-le" if wide else "latin-1", "replace")
            if name == sheet:
                return struct.unpack_from("<I", body)[0]
    return None


def _ole_stream(raw: bytes, names: tuple[str, ...]) -> bytes | None:
    """The first stream of an OLE2 compound file (an .xls workbook's container) named one of
    `names`, or None where the file is not one or the stream cannot be read."""
    if raw[:8] != _OLE2 or len(raw) < 512:
        return None
    try:
        shift, mini_shift = struct.unpack_from("<HH", raw, 30)
        if shift not in (9, 12) or mini_shift != 6:  # the only sizes the format allows
            return None
        size = 1 << shift
        fat_count, directory_start = struct.unpack_from("<II", raw, 44)
        mini_cutoff, mini_fat_start = struct.unpack_from("<II", raw, 56)
        difat_next, difat_count = struct.unpack_from("<II", raw, 68)
        difat = list(struct.unpack_from("<109I", raw, 76))
        for _ in range(min(difat_count, len(raw) // size)):  # a cycle ends with the file
            if difat_next >= 0xFFFFFFFA:
                break
            entries = struct.unpack_from(f"<{size // 4}I", raw, (difat_next + 1) * size)
            difat += entries[:-1]
            difat_next = entries[-1]
        fat: list[int] = []
        for sector in difat[:fat_count]:
            fat += struct.unpack_from(f"<{size // 4}I", raw, (sector + 1) * size)

        def chain(first: int, table: list[int]) -> list[int]:
            sectors: list[int] = []
            while first < 0xFFFFFFFA and len(sectors) <= len(table):
                sectors.append(first)
                first = table[first]
            return sectors

        def read(first: int) -> bytes:
            return b"".join(raw[(s + 1) * size:(s + 2) * size] for s in chain(first, fat))

        directory = read(directory_start)
        entries = [directory[i:i + 128] for i in range(0, len(directory) - 127, 128)]
        root_start = struct.unpack_from("<I", entries[0], 116)[0]
        for entry in entries:
            length = struct.unpack_from("<H", entry, 64)[0]
            name = entry[:max(length - 2, 0)].decode("utf-16-le", "replace")
            if entry[66] != 2 or name not in names:
                continue
            start, stream_size = struct.unpack_from("<II", entry, 116)
            if stream_size >= mini_cutoff:
                return read(start)[:stream_size]
            mini = read(root_start)
            mini_fat_bytes = read(mini_fat_start)
            mini_fat = list(struct.unpack_from(f"<{len(mini_fat_bytes) // 4}I",
                                               mini_fat_bytes))
            unit = 1 << mini_shift
            return b"".join(mini[s * unit:(s + 1) * unit]
                            for s in chain(start, mini_fat))[:stream_size]
    except (struct.error, IndexError):
        return None
    return None


def _row_of(ref: str) -> int | None:
    import re

    match = re.match(r"^\$?[A-Za-z]+\$?(\d+)$", ref)
    return int(match.group(1)) if match else None


def _sheet_member(parts: _Parts, sheet: str) -> str | None:
    """The path inside the workbook of the sheet named `sheet`."""
    import posixpath
    from xml.etree import ElementTree

    listed, related = parts.get("xl/workbook.xml"), parts.get("xl/_rels/workbook.xml.rels")
    if listed is None or related is None:
        return None
    workbook = ElementTree.fromstring(listed)
    rels = ElementTree.fromstring(related)
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    for element in workbook.iter():
        if element.tag.rsplit("}", 1)[-1] == "sheet" and element.get("name") == sheet:
            rid = next((v for k, v in element.attrib.items() if k.rsplit("}", 1)[-1] == "id"),
                       None)
            target = targets.get(rid)
            if not target:
                return None
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join("xl", target))
    return None
