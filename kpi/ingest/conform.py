"""The conformer: one batch of raw rows in, the dataset's typed columns out, and every row that
fails a check (type, pattern, range, control characters) set aside with its column and reason.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from kpi import dateparts
from kpi.catalogue import UK, ColumnSpec, ColumnType, DatasetSpec, polars_schema
from kpi.dateparts import SANE_YEARS
from kpi.errors import DataError, located
from kpi.ingest.common import (
    _SHOWN_AS_MARK,
    _UNSAFE,
    COLUMN,
    REASON,
    ROW,
    Numbering,
    _heading_key,
    _show,
    printable_ascii,
    without_one_text,
)
from kpi.ingest.identity import needs_normalising, normalised_text

if TYPE_CHECKING:
    from kpi.ingest.stage import _FileState



_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d")


_DATETIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M",
)


# ISO 8601 instants with a UTC offset (data.police.uk stop and search: 2023-08-31T23:20:00+00:00).
_OFFSET_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z",
                   "%Y-%m-%d %H:%M%#z")


_MONTH_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")


# A month column takes a month or a date, and a date written with its midnight (a spreadsheet's
# date cell saved as '2024-01-15 00:00:00') is that date. Any other time of day is refused: the
# column is not what it was declared, and the month of a clock time can hang on its time zone
# (23:30 UTC on 31 August is 00:30 on 1 September in the UK).
_MIDNIGHT = r"[ T]0?0:00(:00(\.0+)?)?$"
_TIME_OF_DAY = r"^\s*\S+[ T]\d{1,2}:\d{2}"
_TIMED_MONTH = (", which is a date with a time of day, and a month column takes a month or a date: "
                "declare the column as type datetime to take each row's month from its date "
                "and time")


_TRUE = ("true", "t", "yes", "y", "1")


_FALSE = ("false", "f", "no", "n", "0")


def _spellings(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple({form for word in words for form in (word, word.upper(), word.capitalize())})


# A flag as extracts usually spell it ('Y', 'yes', 'TRUE'), matched as it is: lowercasing
# every value first took seven times as long. What these miss ('tRuE') is read in full.
_TRUE_SPELT, _FALSE_SPELT = _spellings(_TRUE), _spellings(_FALSE)


# What spreadsheet software makes of '10-17', '2025-09' or a date: 'Oct-17', '17-Oct',
# 'Sept 2025', '01-Oct-2025'. Only a pattern (or a date type) can tell it from real text.
_MONTH_NAME = (r"(?i)^\s*(\d{1,2}[-/ ])?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
               r"[a-z]*\.?([-/ ]\d{1,4})?\s*$")


_DATE_SHAPE = r"^\s*(\d{4}[-/]\d{1,2}[-/]\d{1,2}|\d{1,2}[-/]\d{1,2}[-/]\d{4})([ T].*)?$"


_SPREADSHEET_NOTE = " (a month name: spreadsheet software may have converted the value)"


# A comma in a number is read as a thousands separator only where it groups thousands
# ('1,234', '£12,345.67'): a first group of 0 groups nothing, so '0,250' is no thousand.
_GROUPED = r"^-?£?[1-9]\d{0,2}(,\d{3})+(\.\d+)?$"
# A number written with a decimal comma, as a continental locale's export writes it: '2,25',
# '1.234,56', '0,250'. Never read as a number; and a file one of whose number columns writes
# one has its thousands ('1,500': 1.5 or 1,500?) refused, not guessed (`_other_readings`,
# `_decimal_commas`).
_DECIMAL_COMMA = r"^-?£?(?:\d+|\d{1,3}(?:\.\d{3})+),\d+$"
# A number a decimal comma's locale writes with a point between thousands ('1.500': 1500),
# which a decimal point reads as 1.5.
_DOTTED = r"^-?£?[1-9]\d{0,2}(\.\d{3})+$"
_DECIMAL_COMMA_NOTE = (", a decimal comma: kpi reads numbers with a decimal point, and a comma "
                       "only between thousands (1,234.5)")
_DASH_NOTE = (", a dash, which may be an accounting format's zero or a figure not available: "
              "write 0 where it means none, and leave the cell blank where it is not known")


# The label a reporting tool gives a row that sums other rows: an Excel pivot table's 'Grand
# Total' and 'Birmingham Total', SSRS's and Power BI's 'Total', 'Subtotal', 'Sub-total',
# 'Total:'. The last word of the cell is the mark, so 'Total recorded crime' and 'Teetotal' are
# text like any other.
_TOTAL_LABEL = r"(?i)(?:^|[\s\-_])(?:sub)?totals?\s*:?\s*$"


_TOTAL_ROW = ("expected a row of data, found '{}', which labels a total or subtotal row: it "
              "sums rows the extract already holds, so they would be counted twice (export the "
              "table without its subtotals and grand totals)")


# What a pivot table shows for an empty value: Excel's '(blank)', LibreOffice's '(empty)'.
# Loaded, it is a part of that name, apart from the blanks of the extracts saved otherwise.
_EMPTY_SHOWN = r"(?i)^\s*\((?:blank|empty)\)\s*$"


_EMPTY_ROW = ("expected text, found '{}', which a pivot table shows for an empty value: it "
              "would be stored as a part of that name, not as a blank (leave the cell blank, or "
              "write what it stands for, such as 'Not recorded')")


def _either(*patterns: str) -> str:
    """One regular expression matching where any of `patterns` (each case-blind, `(?i)`)
    matches: a search of one text for two patterns costs about as much as for one."""
    assert all(pattern.startswith("(?i)") for pattern in patterns)
    return "(?i)" + "|".join(f"(?:{pattern[4:]})" for pattern in patterns)


# What a tool writes in a text column for "no value": loaded, it is a part of that name, and a
# numerator of `outcome IS NOT NULL` counted it (100.0% where half the rows have no outcome).
# Only what a tool writes, never what a person might mean as a value: 'N/A' and 'n/a' are
# written by people as an answer ('not applicable'), and 'None' as one (a weapon used: None),
# so they load as text; 'Null' may be a name.
# - A database's export: SQL Server Management Studio's "Save Results As" and bcp write NULL,
#   MySQL's SELECT ... INTO OUTFILE and PostgreSQL's text COPY \N, JSON and Spark null, C's
#   printf of a null string (null), some loggers' <null>.
_DATABASE_NULL = r"(?-i:NULL|null|\\N|\(null\)|<null>)"
# - A spreadsheet's error value, where a formula has no result: saved as CSV, Excel writes the
#   error's text (a VLOOKUP that found nothing as #N/A), where the workbook itself is refused
#   (`excel_reader._refuse_error_cells`); LibreOffice writes its own as Err:502. Any case.
# Excel's in German and French too (#NV, #WERT!, #BEZUG!, #VALEUR!, ...), and Google Sheets'
# #ERROR! and #LOADING...
_ERROR_VALUE = (r"#(?:N/A(?:\s+N/A)?|NA|VALUE!|REF!|DIV/0!?|NAME\?|NUM!|NULL!|SPILL!|CALC!|"
                r"GETTING_DATA|FIELD!|BLOCKED!|CONNECT!|BUSY!|UNKNOWN!|PYTHON!|ERROR!|"
                r"LOADING\.\.\.|NV|WERT!|BEZUG!|ZAHL!|VALEUR!|NOM\?|NOMBRE!|NUL!)"
                r"|(?-i:Err:\d{3})")
# - A data frame's missing value written as text: pandas' <NA> and NaT (a frame saved after
#   astype(str)), R's NA (write.csv's default) and <NA>;
#   and the text of a number that is not one, NaN, which pandas writes for a missing number
#   as nan, R for 0/0, and a database for its NaN. As written only: 'Nan' and 'Na' may be
#   names.
_FRAME_MISSING = r"(?-i:<NA>|NA|NaT)"
_NOT_A_NUMBER = r"(?-i:-?nan|-?NaN)"
_NULL_SHOWN = (rf"(?i)^\s*(?:{_DATABASE_NULL}|{_ERROR_VALUE}|{_FRAME_MISSING}|{_NOT_A_NUMBER})"
               r"\s*$")

_NULL_ROW = ("expected text, found '{}', which {} writes for {}: it would be stored as a part "
             "of that name, not as a blank ({}, or write what it stands for, such as 'Not "
             "recorded')")
# Who writes each kind of marker, for what, and how to export the blank instead: filled in
# _NULL_ROW by `_null_row`.
_NULL_WRITERS = (
    (rf"(?i)^\s*{_DATABASE_NULL}\s*$", "a database's export", "a null value",
     "export nulls as empty fields"),
    (rf"(?i)^\s*(?:{_ERROR_VALUE})\s*$", "a spreadsheet", "a formula's error",
     "correct the cell or its formula so that it holds a value or is empty, and save the "
     "sheet as CSV again"),
    (rf"(?i)^\s*{_FRAME_MISSING}\s*$", "pandas or R", "a missing value",
     "export missing values as empty fields: pandas' to_csv without astype(str), R's "
     "write.csv with na = \"\""),
    (rf"(?i)^\s*{_NOT_A_NUMBER}\s*$", "a data frame or a database",
     "a number that is not one",
     "export missing values as empty fields: pandas' to_csv without astype(str); in a "
     "query, NULLIF(x, 'NaN')"),
)


def _null_row(shown: pl.Expr, found: pl.Expr) -> pl.Expr:
    """The message refusing a cell `_NULL_SHOWN` finds, naming the tool that writes it."""
    message = pl.lit(None, dtype=pl.String)
    for pattern, writer, meaning, remedy in reversed(_NULL_WRITERS):
        message = (pl.when(shown.str.contains(pattern))
                   .then(pl.format(_NULL_ROW, found, pl.lit(writer), pl.lit(meaning),
                                   pl.lit(remedy)))
                   .otherwise(message))
    return message


# A spreadsheet's formula giving a text, the whole cell: ="000123".
_TEXT_FORMULA = r'(?i)^\s*="[^"]*"\s*$'

_TOTAL_OR_EMPTY = _either(_TOTAL_LABEL, _EMPTY_SHOWN, _NULL_SHOWN, _TEXT_FORMULA)
_TEXT_FORMULA_ROW = ("expected text, found '{}', a spreadsheet's formula for a text (as a CSV "
                     "for Excel keeps leading zeros): it would be stored with its = and quotes, "
                     "another value than the text it shows (write the text alone)")


def source_lookup(names: list[str]) -> dict[str, list[str]]:
    """A source's column names by the form they are matched in (`_heading_key`): every name
    of each form, so two that match alike ('LPA' and 'lpa') are both found, and refused."""
    lookup: dict[str, list[str]] = {}
    for name in names:
        lookup.setdefault(_heading_key(name), []).append(name)
    return lookup


def sources_of(col: ColumnSpec, lookup: dict[str, list[str]]) -> list[str]:
    """The source columns (`source_lookup`) that mean a dataset column: its name or a name of
    its `from`, each once, in that order."""
    return list(dict.fromkeys(
        source for candidate in (col.name, *col.sources)
        for source in lookup.get(_heading_key(candidate), ())))


def _match_columns(spec: DatasetSpec, path: Path | str, names: list[str], warnings: list[str],
                   header: int | None) -> dict[str, str]:
    """Source column name for each dataset column found. `header` is the row the names are
    on (1 in a CSV file; None in Parquet, which has no header row)."""
    names = [n for n in names if n != ROW]
    lookup = source_lookup(names)
    mapping: dict[str, str] = {}
    missing = []
    for col in spec.columns:
        found = sources_of(col, lookup)
        if len(found) > 1:
            # Two columns that both mean this one may disagree: which one counts is not ours
            # to guess.
            raise DataError(located(path, f"columns '{_show(found[0])}' and '{_show(found[1])}' "
                                          f"both mean column '{col.name}' of dataset "
                                          f"'{spec.id}'", row=header, column=_show(found[1])),
                            hint="remove one of them from the extract, or its name from "
                                 f"from = [...] under [datasets.{spec.id}.columns]")
        if found:
            mapping[col.name] = found[0]
        elif col.required:
            missing.append(col)
    if missing and header == 1 and not mapping:
        refuse_header_below(spec, path)
    if missing:
        col = missing[0]
        accepted = " or ".join(f"'{n}'" for n in (col.name, *col.sources))
        found = ", ".join(f"'{_show(n)}'" for n in names[:12]) + (", ..." if len(names) > 12
                                                                     else "")
        more = f" (and {len(missing) - 1} more missing)" if len(missing) > 1 else ""
        hint = (f"map the source name with from = [...] under [datasets.{spec.id}.columns]")
        if len(names) == 1 and any(sep in names[0] for sep in ";\t|"):
            hint = "the file seems to use another delimiter; export it comma-separated"
        raise DataError(located(path, f"expected column {accepted}{more}, found {found}",
                                row=header), hint=hint)
    used = set(mapping.values())
    unknown = [n for n in names if n not in used]
    if unknown and spec.extra_columns == "error":
        raise DataError(located(path, f"expected only the columns of dataset '{spec.id}', "
                                      f"found '{_show(unknown[0])}'"
                                      + (f" and {len(unknown) - 1} more" if len(unknown) > 1
                                         else ""), row=header, column=_show(unknown[0])),
                        hint=f"dataset '{spec.id}' sets extra_columns = \"error\"; declare the "
                             "column or drop it from the extract")
    if unknown:
        warnings.append(f"{path}: ignored {len(unknown)} column(s) not in dataset "
                        f"'{spec.id}': {', '.join(_show(n) for n in unknown[:8])}"
                        + ("..." if len(unknown) > 8 else ""))
    return mapping


def refuse_header_below(spec: DatasetSpec, path: Path | str) -> None:
    """Refuse a CSV file whose header is below a report's title, run date or parameters
    (Business Objects, SSRS): its first line names none of the dataset's columns (the caller
    knows), and one of its first 30 names two or more. Called where the file is refused for
    what its first line makes of it: no column matched, or the rows ragged against it."""
    import csv
    import io

    try:
        with open(path, "rb") as file:
            head = file.read(1 << 16)
    except OSError:
        return
    wanted = {_heading_key(name) for col in spec.columns for name in (col.name, *col.sources)}
    lines = io.StringIO(head.decode("utf-8-sig", errors="replace"), newline="")
    try:
        for number, fields in enumerate(csv.reader(lines), start=1):
            if number > 30:
                return
            if number == 1 and any(_heading_key(f) in wanted for f in fields):
                return
            if number > 1 and sum(_heading_key(f) in wanted for f in fields) >= 2:
                raise DataError(located(path, "the header is not the first row: the column "
                                              f"names are on row {number}"),
                                hint="delete the title, run date or parameters above the "
                                     "header row, so the file starts at its header")
    except csv.Error:
        return


def _check_parquet_types(spec: DatasetSpec, path: Path | str, table: pl.DataFrame,
                         mapping: dict[str, str], int96: frozenset[str] = frozenset()) -> None:
    """A typed source column must hold something the declared type can be made from: a
    Parquet file whose 'date' column holds integers has the wrong schema, it is not data.

    A timestamp stored as INT96 has no one meaning: Spark, Hive and pyarrow write the UTC
    instant of a zoned time, Impala and pyarrow's naive times the wall-clock time, and the
    file says neither. Read as UK wall-clock time, a Spark table's summer nights lost an hour
    (22:30 counted at 21:30, 00:30 on 1 July in June), exit 0, where the same table written as
    TIMESTAMP_MICROS loaded right; read in a declared zone, a zoned column's instants were an
    hour out all summer (found by the readers' oracle, tests/test_readers_agree.py). A
    dataset's `time_zone` says how its sources write wall-clock times, not which of the two
    an INT96 column holds, so it is refused whatever is declared."""
    for col in spec.columns:
        source = mapping.get(col.name)
        if source is None:
            continue
        if source in int96 and col.type in _DATE_TYPES:
            raise DataError(located(path, "a timestamp stored as INT96, which Spark and Hive "
                                          "write as the UTC instant and Impala as the "
                                          "wall-clock time: the file does not say which",
                                    column=source),
                            hint="write the column as a timestamp that says which (Spark: set "
                                 "spark.sql.parquet.outputTimestampType to TIMESTAMP_MICROS; "
                                 "pyarrow: leave use_deprecated_int96_timestamps off), or "
                                 "export the extract as CSV; nothing stored was changed")
        dtype = table.schema[source]
        if dtype == pl.String or dtype == pl.Null:
            continue
        if col.type == ColumnType.STR:
            kind = table.select(source).head(0).to_arrow().schema.types[0]
            reason = without_one_text(kind)
            if reason is not None:
                # kpi's text of it (12.0, '2025-09-29 23:30:00.000000', 'true') is one
                # writer's of several: a filter beat = '12' counted 0 of 18 rows, exit 0.
                real = ("float" if dtype.is_float() else "datetime or date"
                        if isinstance(dtype, pl.Datetime) else "bool"
                        if dtype == pl.Boolean else None)
                raise DataError(located(path, f"expected text, found a column of type {dtype}, "
                                              f"whose values have no one text ({reason})",
                                        column=source),
                                hint=(f"declare the column {real} in kpi.toml, or " if real
                                      else "") + "write it in the file as text, as its source "
                                "shows it; nothing stored was changed")
        ok = {
            ColumnType.STR: (dtype.is_numeric() or dtype in (pl.Boolean, pl.Date, pl.Categorical)
                             or isinstance(dtype, pl.Datetime | pl.Enum)),
            ColumnType.INT: dtype.is_integer() or dtype.is_float(),
            ColumnType.FLOAT: dtype.is_numeric(),
            ColumnType.BOOL: dtype == pl.Boolean,
            ColumnType.DATE: dtype == pl.Date or isinstance(dtype, pl.Datetime),
            ColumnType.DATETIME: dtype == pl.Date or isinstance(dtype, pl.Datetime),
            ColumnType.MONTH: dtype == pl.Date or isinstance(dtype, pl.Datetime),
        }[col.type]
        if not ok:
            raise DataError(located(path, f"expected {_expected(col)}, found a column of "
                                          f"type {dtype}", column=source),
                            hint="the source's column types do not match the dataset; "
                                 "export it again (a query: CAST the column in it) or fix "
                                 "the column's type in kpi.toml")


def _conform(spec: DatasetSpec, path: Path, table: pl.DataFrame,
             state: _FileState) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Clean and type one batch of a source frame with its file's column mapping. Returns the
    good rows (with `month` as its first day, dateparts.month_start) and the bad rows with
    their reasons; adds to `state` what the file-wide checks
    need."""
    mapping = state.mapping
    cells = [c for c in table.columns if c != ROW]
    checked = [col for col in spec.columns if col.name in mapping]

    def plain_in(table: pl.DataFrame) -> set[str]:
        # The rows are some of those the reader looked at, so its answer holds for them.
        return {col.name for col in checked if col.type == ColumnType.STR
                and (mapping[col.name] in state.plain_text
                     or printable_ascii(table[mapping[col.name]]))}

    plain = plain_in(table)
    # What is asked of the batch's source columns is asked in one query (a small batch costs
    # about as much as the queries it runs): whether any row may be blank or a repeated header,
    # and what `_typed` asks (`_source_questions`).
    asked = _source_questions(spec, table, mapping, plain)
    probe = None
    if state.from_csv:
        # Rows of empty fields (',,,') and header rows repeated inside the file (concatenated
        # exports) are not data. A repeated header is found from one column first, as
        # comparing every column of every row would cost more than the rest of the load.
        probe = mapping.get(spec.date) or next(iter(mapping.values()), None)
        asked.update(_skipped_row_probes(probe, cells, spec))
    found = table.select(**asked).row(0, named=True) if asked else {}
    if state.from_csv:
        height = table.height
        if probe and (found.get("header") or found.get("reordered")) \
                and state.reordered is None:
            state.reordered = _reordered_header(spec, table, probe, cells,
                                                list(mapping.values()))
        if probe and (found.get("header") or found.get("reordered")):
            repeated = _repeated_headers(spec, table, probe, cells, list(mapping.values()))
            if repeated.len():
                state.repeated += repeated.len()
                state.header_rows.extend(repeated.to_list())
                table = table.filter(~pl.col(ROW).is_in(repeated.to_list()))
        if found.get("blank"):
            table = _without_blank_rows(table, cells)
        if table.height != height:  # the answers are those of the rows left
            plain = plain_in(table)
            asked = _source_questions(spec, table, mapping, plain)
            found = table.select(**asked).row(0, named=True) if asked else {}

    # What the file-wide checks ask of the typed rows is asked in the query that reads what
    # `_typed` asks of them (`questions`), each answered where it may find something.
    numeric = [col for col in _measured_numbers(spec, mapping, state.measured)
               if not state.present.get(col.name)]
    sources = table.schema
    dates = ([col for col in spec.columns if col.type in _DATE_TYPES and col.name in mapping
              and sources[mapping[col.name]] == pl.String]
             if state.month_first is None else [])
    questions = {
        **{f"present:{col.name}": _present(pl.col(f"__raw_{col.name}"),
                                           sources[mapping[col.name]] == pl.String).any()
           for col in numeric},
        **{f"month first:{col.name}": pl.col(f"__raw_{col.name}").str.contains(
            f"{_MONTH_FIRST}|{_MONTH_TWO_WAYS}" if col.type == ColumnType.MONTH
            else _MONTH_FIRST).any() for col in dates},
        **_other_readings(checked, mapping, sources, found, state)}
    typed, answers = _typed(spec, table, mapping, plain, found, questions, state.made)
    for col in checked:
        if (row := answers.get(f"other reading:{col.name}")) is not None:
            state.commas[col.name][0] = (row, typed.filter(pl.col(ROW) == row)
                                         [f"__raw_{col.name}"].str.strip_chars().item())
    state.typed += typed.height
    if typed.height:
        for col in numeric:
            state.present[col.name] = bool(answers[f"present:{col.name}"])
    if any(answers.get(f"month first:{col.name}") for col in dates):
        state.month_first = _month_first(spec, typed, mapping)

    schema = typed.schema
    flags = tuple((col.name, schema[f"__raw_{col.name}"] == pl.String, col.name in plain,
                   f"__present_{col.name}" in schema, f"__inexact_{col.name}" in schema,
                   _is_instant(schema[f"__raw_{col.name}"]))
                  for col in checked)
    # The checks depend only on the dataset, the file's columns and these flags, which most
    # batches of a file share: they are made once (building them was a fifth of a small
    # batch's cost).
    rules = state.made.get(("rules", flags))
    if rules is None:
        rules = state.made[("rules", flags)] = [
            rule for col, (_, text, is_plain, noted, inexact, instant)
            in zip(checked, flags, strict=True)
            for rule in _rules(spec, col, mapping[col.name], text, is_plain, noted, inexact,
                               instant)]
    rules = list(rules)
    # A total row's label may sit in a column the dataset does not read (a pivot's 'West
    # Total' under Division, with the LPA blank): the row is a total all the same.
    totals = _totals_unread(table, [c for c in cells if c not in set(mapping.values())])
    if totals:
        typed = typed.with_columns(column for _, flag, shown in totals for column in (flag, shown))
        rules += [(source, pl.col(flag.name), pl.format(_TOTAL_ROW, pl.col(shown.name)))
                  for source, flag, shown in totals]
    # A pivot table of two measures gives each part a row per measure, captioned in a column
    # the dataset does not read ('Sum of Headcount', 'Count of Headcount').
    measures = _measures_unread(table, [c for c in cells if c not in set(mapping.values())],
                                state.captions)
    if measures:
        typed = typed.with_columns(column for _, flag, shown in measures
                                   for column in (flag, shown))
        rules += [(source, pl.col(flag.name), pl.format(_MEASURE_ROW, pl.col(shown.name),
                                                        pl.lit(_show(state.captions[source]))))
                  for source, flag, shown in measures]
    failed = pl.any_horizontal([cond for _, cond, _ in rules]) if rules else pl.lit(False)
    kept = [ROW, *[c.name for c in spec.columns if c.name != "month"]]
    if spec.date_parts is None:
        # The good rows and whether each row failed, in one query; most batches have no
        # failing row, and then that is all. (A date part's month is made only of good rows:
        # month 13 has no first day.)
        good = typed.select(*kept, dateparts.month_start(spec), failed.alias("__failed"))
        failing = good.drop_in_place("__failed")  # in place: a `drop` is a query of its own
        if not failing.any():
            return good, _no_bad_rows(typed)
        typed = typed.with_columns(failing)
    else:
        typed = typed.with_columns(failed.alias("__failed"))
    failed_rows = typed.filter(pl.col("__failed"))
    if state.keep_bad and spec.date_parts is None:
        # The months (and parts) rejected rows are dated in, where the date reads: a month
        # only bad rows hold is not one the load replaces (commit._check_left_stale).
        state.bad_keys.append(
            failed_rows.select(dateparts.month_start(spec), *spec.replace_by).drop_nulls()
            .group_by("month", *spec.replace_by).agg(pl.len().alias("rows")))
    if any(seen[1] is None for seen in state.commas.values()):
        _decimal_commas(failed_rows, state)
    # Messages are built for the failing rows only: most loads have none. They are made one
    # chunk first: Polars (2.1) panics formatting a text column of several chunks (a CSV
    # batch's are), and only when two or more rows fail.
    bad_rows = failed_rows.rechunk().select(
        ROW, pl.coalesce([pl.when(cond).then(pl.lit(source)) for source, cond, _ in rules]
                         or [pl.lit(None, dtype=pl.String)]).alias(COLUMN),
        pl.coalesce([pl.when(cond).then(message) for _, cond, message in rules]
                    or [pl.lit(None, dtype=pl.String)]).alias(REASON))
    # The quarantine keeps every original value of a rejected row, not just the mapped ones.
    if bad_rows.height:
        originals = _as_text(table.filter(pl.col(ROW).is_in(bad_rows[ROW].to_list())), cells)
        bad = bad_rows.join(originals, on=ROW, how="left", maintain_order="left")
    else:
        bad = bad_rows
    # The month is made from the good rows only: a refused row's date part (month 13) has
    # no first day. A declared column called `month` is the partition's (polars_schema).
    good = typed.filter(~pl.col("__failed")) if bad_rows.height else typed
    good = good.select(*kept, dateparts.month_start(spec))
    return good, bad


def _no_bad_rows(typed: pl.DataFrame) -> pl.DataFrame:
    """The bad rows of a batch none of whose rows failed: none, with the columns the query
    making them gives (ROW, COLUMN, REASON)."""
    return pl.DataFrame(schema={ROW: typed.schema[ROW], COLUMN: pl.String, REASON: pl.String})


def _totals_unread(table: pl.DataFrame,
                   unread: list[str]) -> list[tuple[str, pl.Series, pl.Series]]:
    """For each text column the dataset does not read that labels a total row somewhere:
    its name, whether each row is such a total (`__total_<i>`) and the cell as a message
    shows it (`__total_shown_<i>`). An unread column may hold free text, so only a whole cell
    that is a total's label counts here: 'Total', 'Grand Total', 'Subtotal', 'Sub-total' (a
    colon after it too), or 'X Total' where X is another cell of the column (a pivot's
    subtotal of the rows labelled X). A quick search for the word first, as most have none."""
    found = []
    for i, name in enumerate(unread):
        if table.schema[name] != pl.String:
            continue
        cells = table[name]
        if not cells.str.contains_any(["total", "Total", "TOTAL"]).any():
            continue
        lower = cells.str.strip_chars().str.to_lowercase()
        prefix = lower.str.replace(r"\s+total\s*:?$", "")
        flag = (lower.str.contains(r"^(?:grand\s+|sub\s*-?\s*)?totals?\s*:?$")
                | ((prefix != lower) & prefix.is_in(lower.drop_nulls().unique().to_list())))
        if not flag.fill_null(False).any():
            continue
        found.append((name, flag.fill_null(False).alias(f"__total_{i}"),
                      cells.str.replace_all(_SHOWN_AS_MARK, "?").str.slice(0, 40)
                      .alias(f"__total_shown_{i}")))
    return found


# A pivot table's caption of a measure, as Excel writes it ('Sum of Headcount', 'Count of
# Headcount') and LibreOffice ('Sum - Headcount').
_MEASURE_CAPTION = (r"(?i)^\s*(?:(?:sum|count|average|max|min|product|count numbers|stddevp?|"
                    r"varp?)\s+of|(?:sum|count|mean|average|max|min|product|stdevp?|varp?|"
                    r"median)\s+-)\s+\S")


_MEASURE_ROW = ("expected a row of data, found '{}', a pivot table's caption of a measure, "
                "below rows of '{}': each part has a row per measure, and their figures would "
                "be added together (export one measure, or the measures as columns)")


def _measures_unread(table: pl.DataFrame, unread: list[str], first: dict[str, str]
                     ) -> list[tuple[str, pl.Series, pl.Series]]:
    """For each text column the dataset does not read that captions a pivot table's measures
    (_MEASURE_CAPTION): its name, whether each row is captioned by another measure than the
    file's first in that column (`first`, kept across the file's batches, so a file whose
    rows are all one measure loads), as `__measure_<i>`, and the cell as a message shows it
    (`__measure_shown_<i>`)."""
    found = []
    for i, name in enumerate(unread):
        if table.schema[name] != pl.String:
            continue
        cells = table[name].str.strip_chars()
        caption = cells.str.contains(_MEASURE_CAPTION).fill_null(False)
        if not caption.any():
            continue
        first.setdefault(name, cells.filter(caption)[0])
        flag = caption & (cells != first[name]).fill_null(False)
        if not flag.any():
            continue
        found.append((name, flag.alias(f"__measure_{i}"),
                      cells.str.replace_all(_SHOWN_AS_MARK, "?").str.slice(0, 40)
                      .alias(f"__measure_shown_{i}")))
    return found


# A date only a month-first reading makes (1/31/2025: a month 1 and a day 31), which no UK
# extract writes: the mark of dates written month first, as a US locale writes them, with
# slashes or with dashes (09-30-2025), each a separator kpi reads day first.
_MONTH_FIRST = (r"^\s*(?:(?:0?[1-9]|1[0-2])/(?:1[3-9]|2\d|3[01])/\d{4}"
                r"|(?:0?[1-9]|1[0-2])-(?:1[3-9]|2\d|3[01])-\d{4})(?:[ T]|\s*$)")


# In a month column, a date of two numbers up to 12 whose first is not 1 (3/1/2025): read day
# first, as kpi reads dates, it is 3 January; month first, the first of March, as a US
# spreadsheet writes the first of each month. A month column's dates are mostly the first of
# their month, where the day first reading gives every month as January: a police.uk Month
# column re-saved so loaded a year into 2025-01. Equal numbers (5/5/2025) read one way.
_MONTH_TWO_WAYS = (r"^\s*(0?[2-9]|1[0-2])/(0?[1-9]|1[0-2])/\d{4}"
                   r"(?:[ T]0?0:00(?::00(?:\.0+)?)?)?\s*$")


def _month_first(spec: DatasetSpec, typed: pl.DataFrame,
                 mapping: dict[str, str]) -> tuple[int, str, str, bool] | None:
    """The first row (ROW, source column, text, whether of a month column) of a text date
    column holding a date only a month-first reading makes, or of a month column a date that
    reads as two months (`_MONTH_TWO_WAYS`), or None. Such a column's other dates (1/2/2025)
    read day first as the wrong day and month, so the file is refused as a whole (`stage`),
    never a row of it set aside while the rest load in the wrong months."""
    for col in spec.columns:
        raw = f"__raw_{col.name}"
        if (col.type not in _DATE_TYPES or col.name not in mapping
                or typed.schema.get(raw) != pl.String):
            continue
        cell = pl.col(raw)
        two_ways = pl.lit(False)
        if col.type == ColumnType.MONTH:
            two_ways = (cell.str.contains(_MONTH_TWO_WAYS)
                        & (cell.str.extract(_MONTH_TWO_WAYS, 1).cast(pl.Int32)
                           != cell.str.extract(_MONTH_TWO_WAYS, 2).cast(pl.Int32)))
        hits = typed.filter((cell.str.contains(_MONTH_FIRST) | two_ways).fill_null(False))
        if hits.height:
            first = hits.row(0, named=True)
            return (first[ROW], mapping[col.name], first[raw],
                    not re.search(_MONTH_FIRST, first[raw]))
    return None


def _skipped_row_probes(probe: str | None, cells: list[str],
                        spec: DatasetSpec | None = None) -> dict[str, pl.Expr]:
    """Whether a batch may hold a row repeating the header (`header`: a `probe` cell holding
    its column's name, as every such row's does; `_repeated_headers`) or a row of empty
    fields (`blank`: an empty or null first cell, as every such row has;
    `_without_blank_rows`), asked with the batch's other questions: when neither may, neither
    is looked for."""
    asked = {}
    if probe:
        asked["header"] = pl.col(probe).str.contains(probe, literal=True).any()
        # a header repeated with its columns in another order holds another name where the
        # probe's is: a column's, or a name of the dataset's, matched as the conformer
        # matches names (`_reordered_header`)
        if names := [c for c in cells if c != probe] + _dataset_names(spec):
            asked["reordered"] = pl.col(probe).str.contains(_heading_pattern(names)).any()
    if cells:
        first = pl.col(cells[0]).str.len_bytes() == 0
        asked["blank"] = (first | first.is_null()).any()
    return asked


def _dataset_names(spec: DatasetSpec | None) -> list[str]:
    """The names a source's column may have to mean one of the dataset's: each column's own,
    and those of its `from`."""
    return [] if spec is None else [n for col in spec.columns for n in (col.name, *col.sources)]


def _heading_pattern(names: list[str]) -> str:
    """A pattern finding a cell that is one of `names` as `_heading_key` matches it: without
    case, the spaces around it, or the kind and number of spaces within it. A cell is searched
    as written, so each name is sought as written too, beside its key (a header written in NFD
    is repeated in NFD); the rows found are then read by `_heading_key` (`_meanings`)."""
    keys = {form for n in names for form in (_heading_key(n), " ".join(n.split()).lower())}
    keys -= {""}
    words = sorted((r"\s+".join(pl.escape_regex(w) for w in key.split(" ")) for key in keys),
                   key=len, reverse=True)
    return r"(?i)^\s*(?:" + "|".join(words) + r")\s*$" if words else r"[^\s\S]"


def _repeated_headers(spec: DatasetSpec, table: pl.DataFrame, probe: str, cells: list[str],
                      sources: list[str]) -> pl.Series:
    """The ROW of each row that repeats the header in every mapped column, each name read as
    the conformer reads a header's (`_meanings`): a second export headed 'DATE,LPA,MINUTES'
    below 'Date,LPA,Minutes', or naming the date by another of its `from`, is the header
    again. Compared as written, it was a bad row, and with --skip-bad-rows set aside as one:
    the rows below it read as one extract with the rows above, an extract and its revision
    summed (7 incidents where the revision holds 4, exit 0), where the header written alike
    is told apart (`stage._repeated_in_sections`). The rows whose `probe` cell may be a
    header's name are found first by a search."""
    candidates = table.filter(pl.col(probe).str.contains(
        _heading_pattern([*cells, *_dataset_names(spec)])))
    if not candidates.height:
        return candidates[ROW]
    read = [c for c in cells if c in sources]
    header = _meanings(spec, read)
    return pl.Series(ROW, [row[ROW] for row in candidates.select(ROW, *read).iter_rows(named=True)
                           if _meanings(spec, [(row[c] or "").strip() for c in read]) == header],
                     dtype=candidates.schema[ROW])


def _meanings(spec: DatasetSpec, names: list[str]) -> list[tuple[str, str]]:
    """What each of a header's `names` means, as the conformer reads a header's
    (`_match_columns`): the dataset's column it names, by its own name or one of its `from`,
    matched by `_heading_key`, or itself."""
    meant = {_heading_key(n): ("column", col.name)
             for col in spec.columns for n in (col.name, *col.sources)}
    return [meant.get(_heading_key(n), ("name", _heading_key(n))) for n in names]


def _reordered_header(spec: DatasetSpec, table: pl.DataFrame, probe: str, cells: list[str],
                      sources: list[str]) -> tuple[int, str] | None:
    """The first row (ROW, its text) holding the header's names in another order, or None:
    two exports joined into one file, the second written with its columns in another order
    ("N,Amount" below "Amount,N"). Read by the first header, the rows below it land in the
    wrong columns: set aside as a bad row (--skip-bad-rows), it left them loading with amounts
    counted as numbers of victims, exit 0. The file is refused as a whole (`stage`).

    Each name is read as the conformer reads a header's (`_match_columns`): as the dataset's
    column it means, by its own name or one of its `from`, matched by `_heading_key`, or as
    itself. Compared as written, a second export headed 'REF,DAY,LPA,N,SECS' below 'Ref,Day,
    LPA,Secs,N', or naming a column by another of its `from`, was no header, and its rows
    loaded with each call's seconds read as officers sent (a mean of 2.0 where 40.0)."""
    def meanings(names: list[str]) -> list[tuple[str, str]]:
        return _meanings(spec, names)

    header = meanings(cells)
    read = [i for i, c in enumerate(cells) if c in sources]
    candidates = table.filter(pl.col(probe).str.contains(
        _heading_pattern([*cells, *_dataset_names(spec)])))
    for row in candidates.iter_rows(named=True):
        written = [(row[c] or "").strip() for c in cells]
        found = meanings(written)
        if sorted(found) == sorted(header) and any(found[i] != header[i] for i in read):
            return row[ROW], ",".join(written)
    return None


def _without_blank_rows(table: pl.DataFrame, cells: list[str]) -> pl.DataFrame:
    """The rows left once those of empty fields (',,,') are dropped. Only a row whose first
    cell is empty (or null) can be blank, so only those are looked at in full: measuring every
    cell of every row took as long as the rest of the text cleaning of a column."""
    if not cells:
        return table
    first = pl.col(cells[0]).str.len_bytes() == 0
    maybe = table.filter(first | first.is_null())
    if not maybe.height:
        return table
    empty = pl.all_horizontal([pl.col(c).str.len_bytes() == 0 for c in cells])
    blank = maybe.select(ROW, empty.alias("blank"))
    if not blank["blank"].any():
        return table
    # As the whole-frame filter did: a row whose emptiness is unknown (a null) goes too.
    dropped = blank.filter(pl.col("blank").is_null() | pl.col("blank"))[ROW]
    return table.filter(~pl.col(ROW).is_in(dropped.to_list()))


def _measured_numbers(spec: DatasetSpec, mapping: dict[str, str],
                      measured: frozenset[str]) -> list[ColumnSpec]:
    return [col for col in spec.columns if col.name in mapping and col.required
            and col.name in measured and col.type in (ColumnType.INT, ColumnType.FLOAT)]


def _refuse_blank_columns(spec: DatasetSpec, path: Path | str, state: _FileState) -> None:
    """Refuse an extract whose required number column, read by a KPI, is blank on every row:
    the KPIs summing it would quietly lose the file's months. A number column no KPI reads
    may be blank throughout (police.uk files of some forces have no coordinates at all)."""
    if not state.typed:
        return
    numeric = _measured_numbers(spec, state.mapping, state.measured)
    blank = [col for col in numeric if not state.present.get(col.name)]
    if blank:
        col = blank[0]
        raise DataError(located(path, f"expected {_expected(col)}, found a blank on every one "
                                      f"of the {state.typed:,} rows", row=None,
                                column=_show(state.mapping[col.name])),
                        hint="the extract seems to have lost this column's values; export it "
                             "again (or declare the column required = false if it may be "
                             "blank)")


def _as_text(frame: pl.DataFrame, cells: list[str]) -> pl.DataFrame:
    """The row number and every cell as text, for the quarantine file. Columns that have no
    text form (lists, structs, binary from a Parquet file) are left out."""
    out = [pl.col(ROW)]
    for name, dtype in frame.schema.items():
        if name in cells and not dtype.is_nested() and dtype != pl.Binary:
            out.append(pl.col(name).cast(pl.String, strict=False))
    return frame.select(out)


def _present(raw: pl.Expr, text: bool) -> pl.Expr:
    """Whether a source cell holds a value: a typed one unless null, text unless blank."""
    return raw.is_not_null() & (raw.str.strip_chars() != "") if text else raw.is_not_null()


def _is_instant(dtype: pl.DataType) -> bool:
    """Whether a typed source column holds instants (a timestamp with a time zone)."""
    return isinstance(dtype, pl.Datetime) and dtype.time_zone is not None


def _rules(spec: DatasetSpec, col: ColumnSpec, source: str, text: bool = True,
           plain: bool = False, noted: bool = False, inexact: bool = False,
           instant: bool = False) -> list[tuple[str, pl.Expr, pl.Expr]]:
    """The checks on one column, in order: (source column, failing condition, message). The
    first failing check of a row is the reason it is rejected. `text` says whether the
    source cell (`__raw_<name>`) is text; a typed one (a Parquet number, date or flag) is
    formatted as text only in the messages of failing rows, and cannot hold a control
    character or a month name. `plain` says the column's bytes are all printable ASCII
    (common.printable_ascii), so it holds no control character either; `noted`, that _typed
    gave whether each cell is present as `__present_<name>`; `inexact`, that it gave whether
    a number is not stored as written as `__inexact_<name>`; `instant`, that the typed source
    cell is a timestamp with a time zone."""
    raw, value = pl.col(f"__raw_{col.name}"), pl.col(col.name)
    present = pl.col(f"__present_{col.name}") if noted else _present(raw, text)
    if col.type == ColumnType.STR:
        # Text is present where something is left once it is stored as the identity rule
        # stores it: a cell of characters that show nothing (a word joiner, a zero-width
        # space) is a blank, as a cell of spaces is, not text refused as unreadable.
        present = value.is_not_null()
    shown = raw if text else raw.cast(pl.String)
    found = shown.str.replace_all(_SHOWN_AS_MARK, "?").str.slice(0, 40)
    month_name = shown.str.contains(_MONTH_NAME) if text else pl.lit(False)
    is_date = col.type in (ColumnType.DATE, ColumnType.DATETIME, ColumnType.MONTH)
    rules = []
    if col.name == spec.date:
        rules.append((source, ~present, pl.lit(f"expected {_expected(col)}, found a blank")))
    if col.name == spec.unique and not spec.unique_with:
        rules.append((source, ~present, pl.lit(f"expected an id (dataset '{spec.id}' declares "
                                               f"'{col.name}' unique), found a blank")))
    elif col.name in spec.unique_columns and col.name != spec.date:
        listed = ", ".join(f"'{n}'" for n in spec.unique_columns)
        rules.append((source, ~present, pl.lit(f"expected a value (dataset '{spec.id}' "
                                               f"declares {listed} unique together), found "
                                               "a blank")))
    if col.name in spec.replace_by:
        # A row with no part of a dataset loaded part by part is no part's load: a force's
        # revision left its blank-force row beside the revised rows (the crime counted twice),
        # and a window never held such rows to its months (a September alone read as a year).
        rules.append((source, ~present, pl.lit(
            f"expected a value (dataset '{spec.id}' is loaded part by part by "
            f"'{col.name}', replace_by: a row of no part is replaced by no load), found a "
            "blank")))
    unparsed = present & value.is_null()
    if is_date:
        timed = (shown.str.contains(_TIME_OF_DAY) & ~shown.str.strip_chars().str.contains(_MIDNIGHT)
                 if col.type == ColumnType.MONTH else pl.lit(False))
        note = (pl.when(month_name).then(pl.lit(_SPREADSHEET_NOTE))
                .when(timed).then(pl.lit(_TIMED_MONTH)))
        if col.type == ColumnType.DATETIME:
            clock = _clock_change_note(shown, col.time_zone)
            note = note.when(clock.is_not_null()).then(clock)
        note = (note.when(shown.str.contains(_DATE_SHAPE))
                .then(pl.lit(", which is not a calendar date"))
                .otherwise(pl.lit("")))
        rules.append((source, unparsed,
                      pl.format("expected {}, found '{}'{}", pl.lit(_expected(col)), found, note)))
        # The parser reads a 60th second (a leap second) as the next minute, so
        # 2025-09-30T23:59:60 would be stored on 1 October: no row is counted in the next
        # month by a second that UK data never records. (A typed cell holds no such time.)
        if text:
            rules.append((source, present & raw.str.contains(r"\d:[0-5]\d:60"),
                          pl.format("expected {}, found '{}', which is not a clock time "
                                    "(second 60)", pl.lit(_expected(col)), found)))
        if col.type == ColumnType.DATE and spec.time_zone != UK:
            # A date column holds the date as written; a time of day written with it, without
            # an offset, is a time of the dataset's zone, whose UK date (and so its month) can
            # be another: 23:30 UTC on 30 June is 00:30 BST on 1 July. Stored as written it
            # would count in June, where a datetime column of the same text counts in July.
            wall = pl.coalesce(*[shown.str.strip_chars().str.strptime(pl.Datetime("us"), f,
                                                                      strict=False)
                                 for f in _DATETIME_FORMATS])
            uk_day = _zoned(wall, spec.time_zone).dt.date()
            rules.append((source, value.is_not_null() & uk_day.is_not_null()
                          & (uk_day != value),
                          pl.format("expected {}, found '{}', a time in {} whose UK date is {}: "
                                    "declare the column datetime to read it as that time, or "
                                    "write the date alone", pl.lit(_expected(col)), found,
                                    pl.lit(spec.time_zone), uk_day.cast(pl.String))))
        written = None
        if col.type == ColumnType.DATE and text:
            # A time written with its offset is an instant, stored as its UK date, which is
            # another than the date written where the writer's clock is not the UK's: 23:30
            # UTC on 31 August is 1 September. A UTC month's file then holds a row of the next
            # UK month, and the next month's file replaced it unseen (a date shows no stretch
            # of the month, `commit._check_apart`), where a datetime column refuses that load.
            # Only such an instant is stored on another date than the ISO date it starts with
            # (a time without an offset in another zone than the UK's is refused above), so
            # that date alone is read: one parse of ten characters, not of every format.
            written = (shown.str.strip_chars().str.slice(0, 10)
                       .str.strptime(pl.Date, "%Y-%m-%d", strict=False))
        elif col.type == ColumnType.DATE and instant:
            # A typed instant (a zone-aware Parquet timestamp, a database's timestamptz) is
            # written on its date in the zone it is labelled with, whatever the dataset's zone:
            # a Parquet file's label is its writer's, and a timestamptz is labelled with the
            # session's zone, the dataset's, as the database's own extract writes it
            # (sql_reader._in_session_zone). A Parquet file of a UTC month's rows,
            # timestamp[us, UTC], held 23:30 UTC on 31 August, 1 September in the UK, and the
            # next month's file replaced it unseen, as text did; read in a UTC dataset's zone,
            # a New York file's 23:30 on 30 June was stored on 1 July, lost alike, and a
            # London file's 00:30 on 1 July, its UK date, was refused.
            written = raw.dt.date()
        if written is not None:
            rules.append((source, value.is_not_null() & written.is_not_null()
                          & (written != value),
                          pl.format("expected {}, found '{}', an instant whose UK date is {}: "
                                    "declare the column datetime to read it as that instant "
                                    "(a load holding another stretch of a stored month is then "
                                    "refused), or write the UK date alone",
                                    pl.lit(_expected(col)), found, value.cast(pl.String))))
        insane = _outside_years(value, col.type)
        rules.append((source, value.is_not_null() & insane,
                      pl.format("expected a date between {} and {}, found '{}'",
                                pl.lit(SANE_YEARS[0]), pl.lit(SANE_YEARS[1]), found)))
    elif col.type in (ColumnType.INT, ColumnType.FLOAT):
        # An accounting format shows zero as a dash, and a spreadsheet saves the dash; a
        # published table writes one for a figure not available. Which it is no cell says.
        dash = shown.str.strip_chars().is_in(["-", "\u2013", "\u2014"])
        comma = (_unbracketed(shown.str.strip_chars()).str.contains(_DECIMAL_COMMA)
                 if text else pl.lit(False))
        note = (pl.when(dash).then(pl.lit(_DASH_NOTE))
                .when(comma).then(pl.lit(_DECIMAL_COMMA_NOTE)).otherwise(pl.lit("")))
        rules.append((source, unparsed,
                      pl.format("expected {}, found '{}'{}", pl.lit(_expected(col)), found,
                                note)))
    elif col.type != ColumnType.STR:
        # (Text is present where it is not null, so none of it is unparsed.)
        rules.append((source, unparsed,
                      pl.format("expected {}, found '{}'", pl.lit(_expected(col)), found)))
    if inexact:
        # A number column stores the number the source wrote, never a nearby one.
        remedy = ("declare the column int or str, or round it in the source"
                  if col.type == ColumnType.FLOAT else "write it as a whole number")
        rules.append((source, pl.col(f"__inexact_{col.name}"),
                      pl.format("expected {}, found '{}', more digits than a number column "
                                "holds: it would be stored as {} ({})", pl.lit(_expected(col)),
                                found, value.cast(pl.String), pl.lit(remedy))))
    if col.type == ColumnType.STR and text and not plain:
        rules.append((source, raw.str.contains(_UNSAFE.pattern),
                      pl.format("expected text without control characters, found '{}' (each "
                                "shown as ?)", found)))
    if col.type == ColumnType.STR:
        # A row that sums other rows is never counted as a row: a pivot table's or a report's
        # total beside its parts doubles every sum and count of them.
        # And a cell a pivot table shows for an empty value is no part of that name. Both are
        # one search (`_TOTAL_OR_EMPTY`, with the text formula below), the total's message
        # first, as the two checks were.
        # Each is looked for in the text as stored (`value`: without invisible characters,
        # in NFC), which is what a figure reads: '#N/A' and 'Grand Total' followed by a
        # zero-width space were stored as '#N/A' and 'Grand Total', unrefused.
        # A spreadsheet's formula for text, ="000123" (as a CSV for Excel keeps its zeros, and
        # kpi's own csv-excel writes), is refused too: stored as written, it was another id
        # than 000123, and a re-dated incident was counted twice.
        rules.append((source, present & value.str.contains(_TOTAL_OR_EMPTY),
                      pl.when(value.str.contains(_TOTAL_LABEL))
                      .then(pl.format(_TOTAL_ROW, found))
                      .when(value.str.contains(_NULL_SHOWN))
                      .then(_null_row(value, found))
                      .when(value.str.contains(_TEXT_FORMULA))
                      .then(pl.format(_TEXT_FORMULA_ROW, found))
                      .otherwise(pl.format(_EMPTY_ROW, found))))
    if col.min is not None:
        rules.append((source, value < col.min,
                      pl.format("expected a value of at least {}, found '{}'",
                                pl.lit(_number_text(col.min)), found)))
    if col.pattern is not None:
        note = pl.when(month_name).then(pl.lit(_SPREADSHEET_NOTE)).otherwise(pl.lit(""))
        mismatch = present & ~raw.str.strip_chars().str.contains(f"^(?:{col.pattern})$")
        rules.append((source, mismatch,
                      pl.format("expected text matching '{}', found '{}'{}",
                                pl.lit(_show(col.pattern, 60)), found, note)))
    rules += dateparts.rules(spec, col, source)
    return [(s, cond.fill_null(False), message) for s, cond, message in rules]


def _outside_years(value: pl.Expr, kind: ColumnType) -> pl.Expr:
    """Whether a parsed date or date-time falls outside SANE_YEARS, compared with the first
    instants in and past them: taking each value's year cost ten times as long."""
    first, past = (pl.lit(date(year, 1, 1)) for year in (SANE_YEARS[0], SANE_YEARS[1] + 1))
    if kind == ColumnType.DATETIME:
        first, past = (_zoned(bound.cast(pl.Datetime("us"))) for bound in (first, past))
    return (value < first) | (value >= past)


def _zoned(wall: pl.Expr, zone: str = UK) -> pl.Expr:
    """Wall-clock times (naive) of `zone` as the instants they name, read as UK time; null for
    one the zone's clocks show twice (the hour they go back, which names two instants) or never
    (the hour they go forward, which names none): which was meant is not ours to guess. In UTC
    every time names one instant."""
    instant = wall.dt.replace_time_zone(zone, ambiguous="null", non_existent="null")
    return instant if zone == UK else instant.dt.convert_time_zone(UK)


def _clock_change_note(shown: pl.Expr, zone: str = UK) -> pl.Expr:
    """Why a datetime written without an offset was refused where it is a wall-clock time of
    `zone` naming two instants or none (see `_zoned`), else null. Built for the refused rows'
    messages only."""
    text = shown.str.strip_chars()
    wall = pl.coalesce([text.str.strptime(pl.Datetime("us"), f, strict=False)
                        for f in _DATETIME_FORMATS])
    named = wall.dt.strftime("%Y-%m-%dT%H:%M:%S")
    first = wall.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
    never = wall.is_not_null() & first.is_null()
    twice = wall.is_not_null() & ~never & _zoned(wall, zone).is_null()
    if zone == UK:
        clocks, back, forward = "the UK clocks", "back an hour", "forward an hour"
    else:
        clocks, back, forward = f"the clocks of {zone}", "back", "forward"
    # Offsets to write: either side of the hour shown twice; for one skipped, the offset the
    # clocks kept until they went forward (a day before is before the change).
    second = wall.dt.replace_time_zone(zone, ambiguous="latest", non_existent="null")
    before = (wall - pl.duration(days=1)).dt.replace_time_zone(
        zone, ambiguous="earliest", non_existent="null")
    return (pl
            .when(never)
            .then(pl.format(f", a time {clocks} skipped (they go {forward} that "
                            "night), so it names no instant: write it with its offset, such "
                            "as {}{}", named, before.dt.strftime("%:z")))
            .when(twice)
            .then(pl.format(f", a time {clocks} show twice (they go {back} that "
                            "night), so it names two instants: write it with its offset, "
                            "{}{} for the first or {}{} for the second",
                            named, first.dt.strftime("%:z"), named,
                            second.dt.strftime("%:z"))))


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _expected(col: ColumnSpec) -> str:
    return {
        ColumnType.STR: "text", ColumnType.INT: "a whole number", ColumnType.FLOAT: "a number",
        ColumnType.BOOL: "true/false, yes/no or 1/0",
        ColumnType.DATE: "a date such as 2025-09-30 or 30/09/2025",
        ColumnType.DATETIME: "a date and time such as 2025-09-30 14:05 or 30/09/2025 14:05:09",
        ColumnType.MONTH: "a month such as 2025-09",
    }[col.type]


def _whole(number: pl.Expr) -> pl.Expr:
    """A float as Int64 where it is a whole number Int64 can hold exactly; else null."""
    return (pl.when(number.is_finite() & (number == number.round(0)) & (number.abs() < 2.0**53))
            .then(number.cast(pl.Int64, strict=False)))


# The longest text that cannot hold more significant digits than a float keeps as written
# (15, DBL_DIG: every decimal of 15 significant digits is read and printed back the same), and
# the smallest float of full precision: a shorter text is stored as written, unless it is
# below that float (1e-320, or 1e-400 read as 0), which no text of 5 characters or fewer is.
_SHORT_TEXT = 15
_SHORT_TINY = 5
_SMALLEST_NORMAL = 2.2250738585072014e-308


def _decimal_key(text: pl.Series) -> pl.DataFrame:
    """Decimal numbers written as text ('-0.0120', '1.2e+16') as their significant digits
    (`digits`: '12', no leading or trailing zeros) and where the decimal point falls after the
    first of them (`point`: -1 for 0.012, 17 for 1.2e16): two texts are the same number when
    both agree (the sign aside, which a float never loses). Made in steps, each column once:
    Polars evaluates a sub-expression again at each use, and one expression took ten times
    as long."""
    bare = pl.col("bare")
    return (text.to_frame("t")
            .select(bare=pl.col("t").str.strip_chars().str.replace(r"^[-+]", ""))
            .select(whole=bare.str.extract(r"^(\d*)", 1).fill_null(""),
                    fraction=bare.str.extract(r"^\d*\.(\d*)", 1).fill_null(""),
                    power=bare.str.extract(r"[eE]([-+]?\d+)$", 1)
                    .cast(pl.Int64, strict=False).fill_null(0))
            .select(pl.col("whole").str.len_chars().cast(pl.Int64).alias("before"), "power",
                    (pl.col("whole") + pl.col("fraction")).alias("all"))
            .with_columns(lead=pl.col("all").str.strip_chars_start("0"))
            .select(digits=pl.col("lead").str.strip_chars_end("0"),
                    point=pl.col("before") + pl.col("power") - (
                        pl.col("all").str.len_chars() - pl.col("lead").str.len_chars())
                    .cast(pl.Int64))
            .with_columns(point=pl.when(pl.col("digits") == "").then(0)
                          .otherwise(pl.col("point"))))


def _as_written(text: pl.Series, stored: pl.Series) -> pl.Series:
    """Whether each number stored (printed shortest, as a float prints: 0.1 is '0.1') is the
    decimal number the source's text writes. False for '12345678901234567', stored as the
    float 12345678901234568, and for '0.12345678901234567890'."""
    written, shown = _decimal_key(text), _decimal_key(stored.cast(pl.String))
    return ((written["digits"] == shown["digits"]) & (written["point"] == shown["point"])
            ).alias("as_written")


def _mark_inexact(col: ColumnSpec, typed: pl.DataFrame, text: pl.Series) -> pl.DataFrame:
    """Add `__inexact_<name>`: whether a number column's value is not the number its text
    writes. Only a text of more than 15 characters, or a longer one than 5 read as a value
    below the smallest float of full precision (zero included), can be one, so only those few
    are compared (`_as_written`), not every row."""
    value = typed[col.name]
    suspects = (pl.DataFrame({"v": value, "t": text})
                .select(_suspect(pl.col("v"), pl.col("t")).fill_null(False)).to_series()
                .arg_true())
    inexact = pl.repeat(False, typed.height, eager=True).alias(f"__inexact_{col.name}")
    if suspects.len():
        # A float written in full is most often written as it prints ('54.800000000000004'):
        # the same text is the same number, and only the others are taken apart, which costs
        # some forty times as much per value.
        pairs = pl.DataFrame({"t": text.gather(suspects), "v": value.gather(suspects)})
        other = pairs.select(pl.col("t") != pl.col("v").cast(pl.String)).to_series().arg_true()
        if other.len():
            odd = pairs[other]
            inexact = inexact.scatter(suspects.gather(other), ~_as_written(odd["t"], odd["v"]))
    return typed.with_columns(inexact)


def _suspect(value: pl.Expr, text: pl.Expr) -> pl.Expr:
    """Whether a number read from text may not be the number its text writes (`_mark_inexact`):
    its text is longer than 15 characters, or longer than 5 and it is below the smallest float
    of full precision."""
    length = text.str.len_bytes()
    return value.is_not_null() & ((length > _SHORT_TEXT) | (
        (length > _SHORT_TINY) & (value.abs() < _SMALLEST_NORMAL)))


def _inexact_typed(col: ColumnSpec, raw: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    """Whether a typed source's number (Parquet's) is not the number a float column stores: a
    whole number beyond 2**53 that no float holds (9007199254740993 would be
    9007199254740992). None where every value is stored as written (a float; a float32 is read
    as its shortest decimal)."""
    if col.type != ColumnType.FLOAT:
        return None
    if dtype.is_integer():
        back = raw.cast(pl.Float64).cast(dtype, strict=False)
        return raw.is_not_null() & (back.is_null() | (back != raw))
    return None  # an exact decimal is compared as text is (_typed, _mark_inexact)


def _source_questions(spec: DatasetSpec, table: pl.DataFrame, mapping: dict[str, str],
                      plain: set[str] | frozenset[str]) -> dict[str, pl.Expr]:
    """What `_typed` asks of a batch's source text before it cleans it, each a value of the
    whole batch: whether a text column needs normalising (not `plain`, and some value is
    not ASCII), whether a number column is formatted (`_formatted_any`), and which formats
    parse a date column's first values (`_format_hits`)."""
    sources = table.schema
    asked: dict[str, pl.Expr] = {}
    dates = []
    for col in spec.columns:
        if col.name not in mapping or sources[mapping[col.name]] != pl.String:
            continue
        source = pl.col(mapping[col.name])
        if col.type == ColumnType.STR and col.name not in plain:
            asked[f"normalise:{col.name}"] = needs_normalising(source)
        elif col.type in (ColumnType.INT, ColumnType.FLOAT):
            asked[f"formatted:{col.name}"] = _formatted_any(source)
        elif col.type in _DATE_TYPES:
            dates.append(col)
    # A batch of SAMPLE rows or fewer is its own sample: every format that parses one of its
    # values would be found, so its dates are parsed with them all, as they would be, without
    # asking. A larger batch's first values are cleaned as a date column's text is (stripped,
    # blank as null, whatever the answers), not every row for each format tried.
    if table.height > SAMPLE:
        asked.update(_format_hits(dates, {
            col.name: _clean(col, pl.col(mapping[col.name]).head(4 * SAMPLE), False)
            for col in dates}))
    return asked


def _typed(spec: DatasetSpec, table: pl.DataFrame, mapping: dict[str, str],
           plain: set[str] | frozenset[str] = frozenset(), answers: dict[str, Any] | None = None,
           questions: dict[str, pl.Expr] | None = None,
           made: dict[Any, Any] | None = None) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The row index, each dataset column in its declared type (null where a value cannot be
    parsed) and each mapped column's source text as `__raw_<name>`, for the row checks; and
    whether each text cell is present (not blank) as `__present_<name>`, where its cleaned
    text tells that (it does but where normalising may blank a text value). `plain` names the
    text columns known to be printable ASCII, which need no normalising. `answers` are those
    of `_source_questions` for these rows and `plain` (asked here when not given).
    `questions` are asked of the typed rows (each a value of the whole batch, such as an
    `any`), answered in the dict returned beside them. `made` keeps the expressions made
    for a file's batches (`_typed_plan`), by what decides them.

    A small batch costs as much as the queries it runs whatever its rows, so what is asked
    of a batch's columns (whether any is not ASCII or formatted, the date formats of its
    first values, whether any value was missed by a quicker parse or may not be stored as
    written) is asked of all of them in one query, and a step runs only where it is needed."""
    sources = table.schema
    texts = {col.name: f"__text_{col.name}" for col in spec.columns
             if col.name in mapping and sources[mapping[col.name]] == pl.String}
    if answers is None:
        asked = _source_questions(spec, table, mapping, plain)
        answers = table.select(**asked).row(0, named=True) if asked else {}
    dates = [col for col in spec.columns if col.name in texts and col.type in _DATE_TYPES]
    normalise = {col.name for col in spec.columns if answers.get(f"normalise:{col.name}")}
    formats = _formats_found(dates, answers)
    # Each text column is cleaned once, in one step, and every parse below reads the result:
    # Polars evaluates a repeated sub-expression again at each use, so a date column used to
    # strip its text once per format tried, and a number clean its text five times.
    formatted = frozenset(col.name for col in spec.columns
                          if answers.get(f"formatted:{col.name}"))
    key = ("typed", tuple(sources.items()), frozenset(normalise), formatted,
           tuple(sorted((name, None if found is None else tuple(found))
                        for name, found in formats.items())))
    # The expressions depend only on the dataset, the file's columns and these answers, which
    # most batches of a file share: they are made once (`made`, kept by the file's state).
    plan = made.get(key) if made is not None else None
    if plan is None:
        plan = _typed_plan(spec, mapping, sources, texts, normalise, formatted, formats)
        if made is not None:
            made[key] = plan
    cleaning, exprs = plan
    cleaned = table.with_columns(cleaning)
    typed = cleaned.select(exprs)
    # A whole number is read as an integer first; only what that misses ('12.0', '1e3') is
    # read as a float, rather than every value both ways. So with flags, and with dates of a
    # format the first values did not show.
    rest = [col for col in spec.columns if col.name in texts
            and (formats.get(col.name) is not None
                 or col.type in (ColumnType.INT, ColumnType.BOOL))]
    numbers = [col for col in spec.columns
               if col.name in texts and col.type in (ColumnType.INT, ColumnType.FLOAT)]

    def suspects() -> dict[str, pl.Expr]:
        return {f"inexact:{col.name}": _suspect(pl.col(col.name), pl.col(texts[col.name])).any()
                for col in numbers}

    # One query asks which columns a quicker parse missed values of, which numbers may not
    # be stored as written, and the caller's questions (of the source text, which the rest
    # of the parse leaves as it is); only where values were missed is the rest parsed and
    # the numbers asked again.
    asked = {**{f"missed:{col.name}": (pl.col(col.name).is_null()
                                       & pl.col(texts[col.name]).is_not_null()).any()
                for col in rest}, **suspects(), **(questions or {})}
    answers = typed.select(**asked).row(0, named=True) if asked else {}
    missed = [col for col in rest if answers[f"missed:{col.name}"]]
    for col in missed:
        typed = _parse_the_rest(col, typed, typed[texts[col.name]])
    if missed and numbers:
        answers.update(typed.select(**suspects()).row(0, named=True))
    for col in spec.columns:
        if answers.get(f"inexact:{col.name}"):
            typed = _mark_inexact(col, typed, typed[texts[col.name]])
        elif (col.type == ColumnType.FLOAT and col.name in mapping
              and sources[mapping[col.name]].is_decimal()):
            typed = _mark_inexact(col, typed, table[mapping[col.name]].cast(pl.String))
    return typed, answers


def _typed_plan(spec: DatasetSpec, mapping: dict[str, str], sources: pl.Schema,
                texts: dict[str, str], normalise: set[str], formatted: frozenset[str],
                formats: dict[str, list[int] | None]) -> tuple[list[pl.Expr], list[pl.Expr]]:
    """`_typed`'s expressions: the cleaning of each text column (`__text_<name>`), and the
    typed columns, source text and presence read from the cleaned frame."""
    schema = polars_schema(spec)
    cleaning = [_clean(col, pl.col(mapping[col.name]), col.name in formatted,
                       col.name in normalise).alias(texts[col.name])
                for col in spec.columns if col.name in texts]
    exprs = [pl.col(ROW)]
    for col in spec.columns:
        source = mapping.get(col.name)
        if source is None:  # an optional column this file lacks: typed nulls, so files stack
            exprs.append(pl.lit(None, dtype=schema[col.name]).alias(col.name))
            continue
        if col.name in texts:
            text = pl.col(texts[col.name])
            if col.type == ColumnType.INT:
                value = text.cast(pl.Int64, strict=False)
            elif col.type == ColumnType.BOOL:
                value = (pl.when(text.is_in(_TRUE_SPELT)).then(True)
                         .when(text.is_in(_FALSE_SPELT)).then(False))
            else:
                value = _parse(col, text, formats.get(col.name))
            if col.type == ColumnType.STR and spec.date_parts is not None \
                    and spec.date_parts.kind == "financial_quarter" \
                    and col.name == spec.date_parts.year:
                value = dateparts.financial_year_text(value)  # one spelling of a year
            if col.type != ColumnType.STR:
                exprs.append(text)  # for the parses and checks below
        else:
            value = _cast_typed(col, pl.col(source), sources[source])
            inexact = _inexact_typed(col, pl.col(source), sources[source])
            if inexact is not None:
                exprs.append(inexact.alias(f"__inexact_{col.name}"))
        exprs.append(value.alias(col.name))
        exprs.append(_raw(spec, col, pl.col(source), sources[source])
                     .alias(f"__raw_{col.name}"))
        if col.name in texts and col.name not in normalise:
            # Cleaning strips and blanks; only normalising can blank a value that is there.
            exprs.append(pl.col(texts[col.name]).is_not_null().alias(f"__present_{col.name}"))
    return cleaning, exprs


def _raw(spec: DatasetSpec, col: ColumnSpec, source: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A source cell as the row checks read it. A typed Parquet column stays typed: formatting
    every number and date as text, only to check it, was most of the cost of conforming a
    Parquet batch. Text is made where a check reads text: a pattern, a date part (dateparts),
    and categorical text (which may hold control characters).

    A typed number is read as the text of its shortest decimal, a whole one without a point
    (10, 2.35), as a CSV file and a workbook's number cell (`excel_reader._numbers_in_full`)
    give the same number: a pattern read a Parquet double or a database REAL of 10 as '10.0',
    and refused what it took from the CSV file of the same rows."""
    parts = spec.date_parts
    needs_text = (col.pattern is not None
                  or (parts is not None and col.name in (parts.year, parts.part))
                  or dtype in (pl.String, pl.Null, pl.Categorical) or isinstance(dtype, pl.Enum))
    if needs_text and dtype.is_float():
        return pl.coalesce(_whole(source).cast(pl.String), source.cast(pl.String))
    return source.cast(pl.String) if needs_text else source


_DATE_TYPES = (ColumnType.DATE, ColumnType.DATETIME, ColumnType.MONTH)


# Values of a date column tried against every format, to choose the formats the whole column
# is parsed with. Any value the chosen formats miss is tried against them all afterwards.
SAMPLE = 2000


def _formatted_any(text: pl.Expr) -> pl.Expr:
    """Whether a number column holds a thousands separator, a pound sign or a bracket anywhere
    (one quick scan: most record-level extracts have none, and removing them costs regexes on
    every row). A column of no comma has no decimal comma to set its points beside."""
    return text.str.contains_any([",", "£", "("]).any()


# A negative number as an accounting format shows it, and a spreadsheet saves it as text:
# (12), (1,234.50), (£12) and £(12) are -12, -1234.5 and -12, as Excel reads them back.
_BRACKETED = r"^(?:\((£?)\s*(\d[\d,]*(?:\.\d+)?|\.\d+)\s*\)|(£)\((\d[\d,]*(?:\.\d+)?|\.\d+)\))$"


def _clean(col: ColumnSpec, raw: pl.Expr, formatted: bool = True,
           normalise: bool = False) -> pl.Expr:
    """A text cell as it is parsed: stripped, blank as null, for text normalised (when
    `normalise`: some value is not ASCII; see kpi.ingest.identity), and for a number without
    its thousands separators or pound sign (when `formatted`: some value holds one)."""
    if normalise:
        raw = normalised_text(raw)
    text = raw.str.strip_chars().replace("", None)
    if col.type not in (ColumnType.INT, ColumnType.FLOAT) or not formatted:
        return text
    text = _unbracketed(text)
    # Rust regex has no look-ahead: drop commas only from well-formed thousands.
    grouped = text.str.contains(_GROUPED)
    number = pl.when(grouped).then(text.str.replace_all(",", "", literal=True))
    return number.otherwise(text).str.replace(r"^(-?)£", "$1")


def _unbracketed(text: pl.Expr) -> pl.Expr:
    """An accounting format's bracketed negative as a minus sign: '(1,234.50)' '-1,234.50'."""
    return text.str.replace(_BRACKETED, "-$1$2$3$4")


def _other_readings(checked: list[ColumnSpec], mapping: dict[str, str], sources: pl.Schema,
                    found: dict[str, Any], state: Any) -> dict[str, pl.Expr]:
    """For each number column of text, until its file shows one: the first row whose number
    a decimal comma's locale would read otherwise, a comma read between thousands ('1,500':
    in a batch that writes a comma) or, where bad rows are kept aside (`state.keep_bad`), a
    float's point that could be between thousands ('1.500'), as `other reading:<name>`,
    asked in `_typed`'s query of the typed rows. Set beside a decimal comma of the same
    column (`_decimal_commas`), the load is refused (kpi.ingest.stage) rather than read
    '1,500' as 1500 or '1.500' as 1.5 in a file whose '2,25' says its commas are decimal
    points. (Without kept bad rows the decimal comma's own rows refuse the load.)"""
    asked = {}
    for col in checked:
        if col.type not in (ColumnType.INT, ColumnType.FLOAT) \
                or sources[mapping[col.name]] != pl.String:
            continue
        seen = state.commas.setdefault(col.name, [None, None])
        raw, text = pl.col(f"__raw_{col.name}"), pl.col(f"__text_{col.name}")
        other = []
        if seen[0] is None and found.get(f"formatted:{col.name}"):
            # a comma the cleaning took out: thousands (literal searches, no pattern)
            other.append(raw.str.contains(",", literal=True)
                         & ~text.str.contains(",", literal=True))
        if seen[0] is None and state.keep_bad and col.type == ColumnType.FLOAT:
            other.append(text.str.contains(_DOTTED))
        if other:  # (a bad row too: '1,000.5' in a whole-number column)
            asked[f"other reading:{col.name}"] = pl.col(ROW).filter(
                pl.any_horizontal(other) & text.is_not_null()).first()
    return asked


def _decimal_commas(failed: pl.DataFrame, state: Any) -> None:
    """Each number column's first row written with a decimal comma ('2,25'), looked for among
    the batch's failing rows only (a decimal comma is never read as a number): where its file
    also holds a number another reading would change (`_other_readings`), the load is
    refused."""
    for name, seen in state.commas.items():
        column = f"__raw_{name}"
        if seen[1] is not None or failed.schema.get(column) != pl.String or not failed.height:
            continue
        text = _unbracketed(pl.col(column).str.strip_chars())
        hit = failed.select(pl.struct(pl.col(ROW), pl.col(column).str.strip_chars()).filter(
            text.str.contains(_DECIMAL_COMMA) & ~text.str.contains(_GROUPED)).first()).item()
        if hit is not None and hit[ROW] is not None:
            seen[1] = (hit[ROW], hit[column])


def _format_hits(columns: list[ColumnSpec], texts: dict[str, pl.Expr]) -> dict[str, pl.Expr]:
    """For each date column and each of its formats (_date_formats), whether the format
    parses at least one of the column's first non-blank values (`texts`: its cleaned text),
    as an expression named `format:<i>:<j>` (the column's index in `columns`, the format's),
    asked with the batch's other questions (`_formats_found` reads the answers).

    Trying all (up to 16) formats on every row of a large extract cost more than reading the
    file, and a column almost always holds one or two of them."""
    return {f"format:{i}:{j}": candidate.is_not_null().any()
            for i, col in enumerate(columns)
            for j, candidate in enumerate(_date_formats(
                col, texts[col.name].head(4 * SAMPLE).drop_nulls().head(SAMPLE)))}


def _formats_found(columns: list[ColumnSpec],
                   answers: dict[str, Any]) -> dict[str, list[int] | None]:
    """For each date column, the indexes of the formats `_format_hits` found in its first
    values; None when none were (it has no value, or its batch was not sampled), so it is
    parsed with them all."""
    found: dict[str, list[int]] = {col.name: [] for col in columns}
    for name, hit in answers.items():
        if name.startswith("format:") and hit:
            _, i, j = name.split(":")
            found[columns[int(i)].name].append(int(j))
    return {name: sorted(indexes) or None for name, indexes in found.items()}


def _parse_the_rest(col: ColumnSpec, typed: pl.DataFrame, text: pl.Series) -> pl.DataFrame:
    """Parse in full (`_parse`) the values a first, quicker parse left unparsed: a date column
    with every format, the sampled ones having missed (so a file that changes format after its
    first rows loads, and fails, exactly as if all were tried); a whole number as a float too,
    the integer reading having missed; a flag spelt otherwise than usual ('tRuE'), lowercased."""
    missed = (typed[col.name].is_null() & text.is_not_null()).arg_true()
    if not missed.len():
        return typed
    retried = (text.gather(missed).to_frame("t")
               .select(_parse(col, pl.col("t")).alias(col.name))[col.name])
    return typed.with_columns(typed[col.name].clone().scatter(missed, retried))


def _parse(col: ColumnSpec, text: pl.Expr, formats: list[int] | None = None) -> pl.Expr:
    """An expression turning cleaned text (see _clean) into the declared type; null where it
    cannot. A date column tries only `formats` (indexes into _date_formats) when given."""
    match col.type:
        case ColumnType.STR:
            return text
        case ColumnType.INT | ColumnType.FLOAT:
            as_float = text.cast(pl.Float64, strict=False)
            if col.type == ColumnType.INT:
                return pl.coalesce(text.cast(pl.Int64, strict=False), _whole(as_float))
            # A "-0" written is 0, never a signed zero, which a median or mean of it printed
            # as "-0.0" (-0.0 equals 0, so it is 0 written plainly)
            return (pl.when(as_float == 0).then(pl.lit(0.0))
                    .when(as_float.is_finite()).then(as_float))
        case ColumnType.BOOL:
            lower = text.str.to_lowercase()
            return pl.when(lower.is_in(_TRUE)).then(True).when(lower.is_in(_FALSE)).then(False)
        case ColumnType.DATE | ColumnType.DATETIME | ColumnType.MONTH:
            candidates = list(enumerate(_date_formats(col, text)))
            if formats is not None:
                candidates = [candidates[i] for i in formats]
            if col.type == ColumnType.DATETIME:
                # A wall-clock time is made an instant once, whichever format read it.
                wall = [c for i, c in candidates if i < _WALL_CLOCK]
                candidates = [(0, c) for i, c in candidates if i >= _WALL_CLOCK]
                if wall:
                    candidates.insert(0, (0, _zoned(pl.coalesce(*wall), col.time_zone)))
            return pl.coalesce(*[c for _, c in candidates]).alias(col.name)
    raise AssertionError(col.type)


def _date_formats(col: ColumnSpec, text: pl.Expr) -> list[pl.Expr]:
    """Every way a date, date-time or month column's text is read, in order of preference:
    a value takes the first that parses it."""
    match col.type:
        case ColumnType.DATE:
            datetimes = [text.str.strptime(pl.Datetime("us"), f, strict=False)
                         for f in _DATETIME_FORMATS] + _instants(text)
            dates = [text.str.strptime(pl.Date, f, strict=False) for f in _DATE_FORMATS]
            return [*dates, *[d.dt.date() for d in datetimes]]  # a UK time's UK date
        case ColumnType.DATETIME:
            # Wall-clock times of the column's zone first (the _WALL_CLOCK of them), then
            # instants.
            datetimes = [text.str.strptime(pl.Datetime("us"), f, strict=False)
                         for f in _DATETIME_FORMATS]
            dates = [text.str.strptime(pl.Date, f, strict=False).cast(pl.Datetime("us"))
                     for f in _DATE_FORMATS]
            return [*datetimes, *dates, *_instants(text)]
        case ColumnType.MONTH:
            months = [(text + "-01").str.strptime(pl.Date, "%Y-%m-%d", strict=False),
                      ("01/" + text).str.strptime(pl.Date, "%d/%m/%Y", strict=False)]
            day = text.str.replace(_MIDNIGHT, "")
            days = [day.str.strptime(pl.Date, f, strict=False).dt.month_start()
                    for f in _MONTH_FORMATS]
            return [*months, *days]
    raise AssertionError(col.type)


# How many of a datetime column's formats (_date_formats) read wall-clock time, not instants.
_WALL_CLOCK = len(_DATETIME_FORMATS) + len(_DATE_FORMATS)


def _instants(text: pl.Expr) -> list[pl.Expr]:
    """Text with a UTC offset as the instant it names, read as UK time, as _cast_typed reads
    Parquet instants: a search at 23:20 UTC on 31 August was at 00:20 BST on 1 September, and
    belongs to September (the month file it was published in)."""
    return [text.str.strptime(pl.Datetime("us", "UTC"), f, strict=False)
            .dt.convert_time_zone(UK) for f in _OFFSET_FORMATS]


def _cast_typed(col: ColumnSpec, raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Parquet columns arrive typed (checked by _check_parquet_types): cast them exactly."""
    zone = dtype.time_zone if isinstance(dtype, pl.Datetime) else None
    if zone is not None and col.type != ColumnType.DATETIME:
        # An instant's UK wall-clock time: its date and month are the UK's.
        raw = raw.dt.convert_time_zone(UK).dt.replace_time_zone(None)
    match col.type:
        case ColumnType.STR:
            return raw.cast(pl.String)
        case ColumnType.INT:
            return _whole(raw.cast(pl.Float64)) if dtype.is_float() else raw.cast(
                pl.Int64, strict=False)
        case ColumnType.FLOAT:
            # A float32 is its shortest decimal (1.1), as every tool shows it and the writer
            # most likely wrote it, not its binary value widened (1.100000023841858), which
            # would add up to another figure; an integer or exact decimal a float cannot
            # hold is refused (_inexact_typed).
            wide = raw.cast(pl.String) if dtype == pl.Float32 else raw
            as_float = wide.cast(pl.Float64, strict=False)
            # as a text number is read: -0.0 is 0 (see _parse)
            return (pl.when(as_float == 0).then(pl.lit(0.0))
                    .when(as_float.is_finite()).then(as_float))
        case ColumnType.BOOL:
            return raw.cast(pl.Boolean, strict=False)
        case ColumnType.DATE:
            return raw.cast(pl.Date)
        case ColumnType.DATETIME:
            if zone is not None:  # the instant, read as UK time
                return raw.cast(pl.Datetime("us", zone)).dt.convert_time_zone(UK)
            # A time without a zone: a wall-clock time of the zone the dataset declares.
            return _zoned(raw.cast(pl.Datetime("us")), col.time_zone)
        case ColumnType.MONTH:
            month = raw.cast(pl.Date).dt.month_start()
            if isinstance(dtype, pl.Datetime):  # only a midnight is a date (see _MIDNIGHT)
                return pl.when(raw.dt.time() == pl.time(0)).then(month)
            return month
    raise AssertionError(col.type)


# The rows of an Excel or LibreOffice Calc sheet: a table saved from a pivot table has no more.
SHEET_ROWS = 1_048_576


class PivotLayout:
    """What a file's rows say of the layout of the table they were saved from, checked once
    every batch is in (`refusal`): an aggregate table (a measured number per row, and no two
    rows of full labels with the same month and labels) saved from a pivot table or a
    report, as an analyst saves one from Excel, may hold rows that are no rows of data:

    - a label printed only on its group's first row and left blank below (a pivot table in
      outline or tabular form without 'Repeat All Item Labels'): the rows below it would be
      counted under no label. A blank is such a label's where, filled down as the pivot table
      leaves it (a blank takes the label above it while every column left of it is blank or
      the same as the row above), every row reads differently, in a column of labels that
      head groups (more than half of its labels have such a blank below them): no blank of data does
      that beside rows of the same labels, and an id blank on some records heads no groups;
    - a total or subtotal row, whatever its label: a row with blank labels, or a label that
      names no part ('Overall', 'All', 'Grand Sum', 'Gesamtergebnis') or a part's total
      ('Birmingham Sum', 'Total - Birmingham': `_part_named`), whose every measured number
      is the sum of the two or more other rows of full labels that agree with it on its
      month and its other labels, two or more of them holding a figure (not zero), in one
      run directly above or below it (`_beside`). The sum beside its parts is what makes it
      a total: a part called 'All' loads.

    Only files an analyst saves (CSV, a workbook) are read for this, and only a dataset with
    no `unique` id: an extract of records holds rows of the same month and labels, and then
    nothing is kept past the batch that shows it, nor past the rows a sheet holds
    (`SHEET_ROWS`)."""

    def __init__(self, spec: DatasetSpec, mapping: dict[str, str], source_order: list[str],
                 measured: frozenset[str]) -> None:
        place = {name: i for i, name in enumerate(source_order)}
        mapped = sorted((c for c in spec.columns if c.name in mapping),
                        key=lambda c: place.get(mapping[c.name], len(place)))
        self.mapping = mapping
        self.numbers = [c.name for c in mapped if c.name in measured
                        and c.type in (ColumnType.INT, ColumnType.FLOAT)]
        # The columns in the file's order, each carried on below a blank as a pivot table
        # leaves it; a row's key is its month and labels (a date or a time of day would make
        # every row of records a key of its own).
        self.order = [c.name for c in mapped if c.name not in self.numbers
                      and c.name != spec.unique]
        self.texts = [c.name for c in mapped if c.name in self.order
                      and c.type == ColumnType.STR]
        self.keys = ["month", *self.texts]
        self.frames: list[pl.DataFrame] = []
        self.records = spec.unique is not None or not self.numbers or not self.texts

    def add(self, good: pl.DataFrame) -> None:
        """Keep a batch's good rows while the file still reads as an aggregate table."""
        if self.records or not good.height:
            return
        self.frames.append(good.select(ROW, *dict.fromkeys([*self.keys, *self.order]),
                                       *self.numbers))
        rows = pl.concat(self.frames, how="vertical")
        self.frames = [rows]
        if rows.height > SHEET_ROWS:
            # More rows than a sheet holds: no table saved from a spreadsheet's pivot table,
            # and no more of it held (an extract of records whose labels never repeat, a
            # free-text column among them, held every row's labels to its end).
            self.records, self.frames = True, []
            return
        labelled = rows.filter(pl.all_horizontal(pl.col(t).is_not_null() for t in self.texts))
        if labelled.select(self.keys).is_duplicated().any():
            self.records, self.frames = True, []

    def refusal(self, where: str, numbering: Numbering) -> DataError | None:
        """Why the file is no table of data rows (see the class), or None."""
        if self.records or not self.frames:
            return None
        rows = pl.concat(self.frames, how="vertical").sort(ROW)
        self.frames = [rows]
        return self._below_a_label(rows, where, numbering) or self._a_blank_total(
            rows, where, numbering)

    def _below_a_label(self, rows: pl.DataFrame, where: str,
                       numbering: Numbering) -> DataError | None:
        at = pl.Series(range(rows.height), dtype=pl.Int64)
        filled: dict[str, pl.Series] = {}
        taken: dict[str, pl.Series] = {}
        labels: dict[str, int] = {}
        carried = pl.Series([False] + [True] * (rows.height - 1))
        for key in self.order:
            raw = rows[key]
            value = raw
            if key in self.texts:
                take = (raw.is_null() & carried).fill_null(False)
                origin = pl.select(pl.when(take).then(None).otherwise(at)
                                   .forward_fill()).to_series()
                value = raw.gather(origin)
                taken[key] = take & value.is_not_null()
                labels[key] = int(raw.head(rows.height - 1).is_not_null().sum())
                filled[key] = origin
            same = (raw.is_null() | (value == value.shift(1))).fill_null(False)
            carried = carried & same
            rows = rows.with_columns(value.alias(key))
        # A column of labels heads groups: more than half of its labels have a blank carried
        # below them. An id blank on some records (a crime reference on ASB rows) is no such column.
        blanks = [key for key in self.texts if taken[key].any()
                  and 2 * filled[key].filter(taken[key]).n_unique() > labels[key]]
        if not blanks or rows.select(self.keys).is_duplicated().any():
            return None
        first = min(blanks, key=lambda k: taken[k].arg_true()[0])
        index = taken[first].arg_true()[0]
        label = rows[first][index]
        numbers = numbering(pl.Series(ROW, [rows[ROW][index],
                                            rows[ROW][filled[first][index]]]))
        return DataError(
            located(where, f"expected a label, found a blank below '{_show(label)}' (row "
                           f"{numbers[1]}): a pivot table prints each label only on its "
                           "group's first row, so the rows below it would be counted under "
                           "no label", row=numbers[0], column=_show(self.mapping[first])),
            hint="repeat the labels on every row (in an Excel pivot table: Design > Report "
                 "Layout > Repeat All Item Labels), or write the value each blank stands "
                 "for (such as 'Not recorded'); nothing was loaded")

    def _a_blank_total(self, rows: pl.DataFrame, where: str,
                       numbering: Numbering) -> DataError | None:
        # Each label that names no part (_AGGREGATE_WORD, 'Overall') is read as a blank, and
        # one that names a part and a total ('Birmingham Sum') as the part; the rows so
        # labelled are no rows of full labels.
        read = rows.with_columns(pl.col(t).alias(f"__as_written_{t}") for t in self.texts)
        read = read.with_columns(_part_named(rows[t]) for t in self.texts)
        read = read.with_columns(pl.any_horizontal(
            pl.col(f"__as_written_{t}").is_not_null()
            & pl.col(t).ne_missing(pl.col(f"__as_written_{t}")) for t in self.texts)
            .alias("__named"))
        # A row of full labels as written is a part, and a total only of other rows.
        written = pl.all_horizontal(pl.col(f"__as_written_{t}").is_not_null()
                                    for t in self.texts)
        blank = pl.any_horizontal(pl.col(t).is_null() for t in self.texts)
        read = read.with_columns(written.alias("__leaf"))
        leaves = read.filter(pl.col("__leaf"))
        candidates = read.filter(blank | pl.col("__named"))
        order = {row: at for at, row in enumerate(read[ROW].to_list())}
        between = {order[row] for row in candidates[ROW].to_list()}
        if not candidates.height or leaves.height < 2:
            return None
        patterns = candidates.select(pl.concat_list(pl.col(t).is_null() for t in self.texts)
                                     .alias("__blank")).to_series().unique(maintain_order=True)
        hits = []
        for pattern in patterns.to_list():
            empty = [t for t, b in zip(self.texts, pattern, strict=True) if b]
            given = [k for k in self.keys if k not in empty]
            these = candidates.filter(pl.all_horizontal(
                pl.col(t).is_null() == (t in empty) for t in self.texts))
            parts = leaves.group_by(given).agg(
                pl.len().alias("__parts"), pl.col(ROW).sort().alias("__rows"),
                *[pl.col(n).sum().alias(f"__sum_{n}") for n in self.numbers],
                *[(pl.col(n) != 0).sum().cast(pl.Int64).alias(f"__some_{n}")
                  for n in self.numbers])
            joined = these.join(parts, on=given, how="inner", nulls_equal=True)
            # Its own figures are no part of what it sums.
            own = pl.col("__leaf").cast(pl.Int64)
            total = joined.with_columns(
                (pl.col("__parts") - own).alias("__parts"),
                *[(pl.col(f"__sum_{n}") - pl.when(pl.col("__leaf")).then(pl.col(n))
                   .otherwise(0)).alias(f"__sum_{n}") for n in self.numbers],
                *[(pl.col(f"__some_{n}") - pl.when(pl.col("__leaf") & (pl.col(n) != 0))
                   .then(1).otherwise(0)).alias(f"__some_{n}") for n in self.numbers]).filter(
                # Two or more parts of it hold a figure: a row equal to the one part that
                # holds one beside zeros is as likely a part.
                pl.any_horizontal(pl.col(f"__some_{n}") >= 2 for n in self.numbers)
                & pl.all_horizontal(pl.col(n).is_not_null() & (pl.col(n) == pl.col(f"__sum_{n}"))
                                    for n in self.numbers))
            for hit in total.sort(ROW).iter_rows(named=True):
                if _beside(hit[ROW], hit["__rows"], order, between):
                    hits.append((hit, empty))
                    break
        if not hits:
            return None
        hit, empty = min(hits, key=lambda h: h[0][ROW])
        number = self.numbers[0]
        parts_at = numbering(pl.Series(ROW, [r for r in hit["__rows"] if r != hit[ROW]],
                                       dtype=rows.schema[ROW])).to_list()
        row = numbering(pl.Series(ROW, [hit[ROW]])).item()
        listed = ", ".join(str(r) for r in parts_at[:5]) + (", ..." if len(parts_at) > 5 else "")
        label = next((t for t in self.texts if hit[f"__as_written_{t}"] is not None
                      and hit[f"__as_written_{t}"] != hit[t]), None)
        if label is not None:
            found, column = f"'{_show(hit[f'__as_written_{label}'])}', a row", label
        else:
            found = f"a row with no {_spoken([self.mapping[t] for t in empty])}"
            column = empty[0]
        return DataError(
            located(where, f"expected a row of data, found {found} whose "
                           f"{_show(self.mapping[number])} ({_number_text(hit[number])}) is "
                           f"the sum of the {hit['__parts']} rows it would cover (rows "
                           f"{listed}): a total or subtotal row, so they would be counted "
                           "twice", row=row, column=_show(self.mapping[column])),
            hint="delete the total and subtotal rows (in an Excel pivot table: Design > "
                 "Subtotals > Do Not Show Subtotals, and Grand Totals > Off for Rows and "
                 "Columns), or, if the row is data, write its label (such as 'Not "
                 "recorded'); nothing was loaded")


# The words of a total's label, as a pivot table, a report or a spreadsheet's subtotals write
# it in English and in the languages Excel and LibreOffice are most often set to: 'Overall',
# 'All LPAs', LibreOffice's 'Grand Sum', 'Birmingham Sum' and 'Total Result', German Excel's
# 'Gesamtergebnis' and 'Birmingham Ergebnis', French 'Total général', 'Grand Total 2025'.
# A label holding one is read as a total's only where the row's figures are the sum of the
# rows it would cover (PivotLayout), so a part called 'All' or 'All other theft offences'
# loads.
_AGGREGATE_WORD = (r"(?i)\b(?:grand|overall|all|sum|summe|sub-?totals?|totals?|totale|totaal|"
                   r"eindtotaal|result|ergebnis|gesamtergebnis|g[eé]n[eé]ral|general|geral|"
                   r"complessivo)\b")


def _part_named(cells: pl.Series) -> pl.Series:
    """Each text cell holding a word of a total's label (_AGGREGATE_WORD) as the part it
    names: the part where the rest of the cell is another cell of the column ('Birmingham
    Sum', 'Total - Birmingham'), else blank ('Overall', 'All LPAs', 'Grand Total 2025'); any
    other cell as it is."""
    stripped = cells.str.strip_chars()
    parts = {text.lower(): text for text in stripped.drop_nulls().unique().to_list()}
    rest = (stripped.str.replace_all(_AGGREGATE_WORD, " ")
            .str.replace_all(r"[\s\-:()\[\]]+", " ").str.strip_chars().str.to_lowercase())
    frame = pl.DataFrame({"c": cells, "r": rest,
                          "w": stripped.str.contains(_AGGREGATE_WORD).fill_null(False)})
    return frame.select(
        pl.when(~pl.col("w")).then(pl.col("c"))
        .when(pl.col("r").is_in(list(parts)))
        .then(pl.col("r").replace_strict(parts, default=None))
        .otherwise(None).alias(cells.name)).to_series()


def _beside(row: int, parts: list[int], order: dict[int, int], others: set[int]) -> bool:
    """Whether the rows a total would sum (`parts`, by ROW) sit beside it as a pivot table or
    a report places them: one run of rows directly above or below it, with nothing between
    them but other rows that may be totals (`others`, by place in the file). A row equal to
    the sum of rows scattered about the table is as likely a part."""
    at, places = order[row], sorted(order[part] for part in parts if part != row)
    if not places or places[0] < at < places[-1]:
        return False
    inside = set(places) | others
    span = (range(places[0], at) if at > places[-1] else range(at + 1, places[-1] + 1))
    return all(place in inside for place in span)


def _spoken(names: list[str]) -> str:
    shown = [_show(n) for n in names]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
