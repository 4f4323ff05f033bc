"""Filters and values in kpi.toml: row-level SQL expressions, checked before Polars sees them.

A KPI's `filter`, `value`, `numerator` and `denominator` are worked out on each row from that
row's own columns; the KPI's kind does the aggregating. Polars evaluates them (`pl.sql_expr`),
but Polars also accepts SQL that is not row-level, and evaluates some of it while parsing:

- a subquery or a table function (`x IN (SELECT column_1 FROM read_csv('/etc/passwd'))`) opens
  the file as soon as the expression is parsed, and waits for ever on a named pipe;
- an aggregate (`victims > AVG(victims)`) or a window function compares each row with a figure
  over whatever rows happen to be read together, so one KPI gives a different number per
  window, breakdown and month;
- a bool column compared with text (`flag = 'Y'`), or cast to text and compared
  (`CAST(flag AS VARCHAR) = 'Y'`), is false on every row;
- a datetime (an instant read as UK time) cast to a date or time (`opened::date`), or set
  against a date (`opened >= DATE '2025-07-01'`), is taken in UTC: an hour out all summer.

So each expression is first parsed by sqlglot (which never evaluates anything) and refused if
it holds any of those; only then does Polars type it against the dataset's columns.

And Polars' SQL reads some row-level constructs otherwise than standard SQL (DuckDB,
PostgreSQL): those kpi can read as SQL does are rewritten where the expression is made
(`polars_expr`, `_standard`: ROUND, POSITION, a date part's or a length's type, UPPER, LOWER),
the rest are refused (`_check_standard`, `_check_domain`, `_check_chained`, `_check_types` for
operands of different types and date arithmetic, `_check_function`, `_check_operators`,
`_check_remainder`), and what Polars types but cannot work out is refused by working it out on
a row of blanks (`_run_on_blanks`), not left to stop `kpi summary`. docs/catalogue.md,
"Expressions read as standard SQL", lists both; tests/test_expression_hunt.py hunts the class.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any, NamedTuple

# Aggregate functions of Polars' SQL that sqlglot may read as ordinary functions.
AGGREGATES = frozenset({
    "AVG", "ARRAY_AGG", "CORR", "COUNT", "COVAR", "COVAR_POP", "COVAR_SAMP", "FIRST", "LAST",
    "MAX", "MEDIAN", "MIN", "QUANTILE_CONT", "QUANTILE_DISC", "STDDEV", "STDDEV_POP",
    "STDDEV_SAMP", "STDEV", "STDEV_SAMP", "STRING_AGG", "SUM", "VAR", "VARIANCE", "VAR_POP",
    "VAR_SAMP", "COLUMNS",
})
# A table function anywhere in the text, even where sqlglot reads a string: a second, cruder
# barrier in case the two parsers ever disagree about where a string ends.
_TABLE_FUNCTION = re.compile(r"\bread_[a-z_]*\s*\(", re.IGNORECASE)
ROW_LEVEL = "a filter or value is worked out on each row from its own columns"


@dataclass(frozen=True)
class Typed:
    """An expression that passed every check, and the Polars type it gives per row."""

    dtype: Any


class ExpressionProblem(Exception):
    """Why an expression is refused: a message that fits after "KPI 'x', key 'filter': "."""


def check(text: Any, dataset: str, columns: dict[str, str],
          schema: tuple[tuple[str, Any], ...], *, guarded_division: bool = False,
          derived: tuple[tuple[str, str], ...] = ()) -> Typed:
    """Check a row-level expression against a dataset's columns (name -> declared type, such
    as 'bool') and stored schema ((name, Polars type) pairs), before anything is evaluated.
    Raises ExpressionProblem; returns the type the expression gives. With guarded_division
    (a derived column, which filters compare and breakdowns split by), every division must be
    guarded against a zero divisor, as it must inside a comparison anywhere. `derived` gives
    the dataset's derived columns it may name, (name, expression) pairs, so what one of them
    reads (the epoch of a UK time, or of a time without a zone) is followed into it."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionProblem("must be a non-empty SQL expression")
    depth = _depth(text)
    if depth > MAX_DEPTH:
        raise ExpressionProblem(f"nests parentheses {depth} deep, more than {MAX_DEPTH}; "
                                "write it flatter (a derived column can name a part)")
    operators = len(_OPERATOR.findall(QUOTED.sub("''", text)))
    if operators > MAX_OPERATORS:
        raise ExpressionProblem(f"holds {operators:,} operators, more than {MAX_OPERATORS}; "
                                "list values with IN (...), or name parts as derived columns")
    found = _TABLE_FUNCTION.search(text)
    if found:
        raise ExpressionProblem(f"reads a table ('{found.group(0).rstrip('( ')}'): {ROW_LEVEL}, "
                                "never from files or other tables")
    _check_operators(QUOTED.sub("''", text))
    try:
        _checked_tree(text, tuple(columns.items()), dataset, schema, guarded_division, derived)
        typed = Typed(_polars_type(text, dataset, schema))
        _run_on_blanks(text, dataset, schema)
        return typed
    except RecursionError:  # deep without parentheses: NOT NOT NOT ... or a + a + a ...
        raise ExpressionProblem("is nested too deeply to read; write it flatter") from None


# How many operators an expression may hold: parsing and checking take time that grows
# faster than the expression (5,000 terms of 1+1+... took minutes); a list of values is one
# IN (...), however long.
MAX_OPERATORS = 256
# A quoted string or name of SQL text ('Dudley', "Name"; 'it''s' as two adjacent quotes).
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_OPERATOR = re.compile(r"(?i)[-+*/%<>=]+|\|\||\b(?:and|or|not)\b")


# How deeply an expression may nest parentheses: a filter needs a few levels, and the parsers
# recurse once or more per level (50 levels ran Python out of stack).
MAX_DEPTH = 20


def _depth(text: str) -> int:
    """The deepest nesting of parentheses outside quoted text."""
    depth = deepest = 0
    quote = None
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
    return deepest


@cache
def _checked_tree(text: str, columns: tuple[tuple[str, str], ...], dataset: str,
                  schema: tuple[tuple[str, Any], ...], guarded_division: bool,
                  derived: tuple[tuple[str, str], ...] = ()) -> None:
    """`_check_tree`, once per process for the same expression over the same columns: it
    parses the text with sqlglot (about 1 ms an expression), and a process that reads several
    projects (a notebook, the test suite) checks the same expressions again. A refusal is not
    kept: it is raised, and checked again if asked again."""
    _check_tree(text, dict(columns), dataset, schema, guarded_division, derived)


def _check_tree(text: str, columns: dict[str, str], dataset: str,
                schema: tuple[tuple[str, Any], ...], guarded_division: bool = False,
                derived: tuple[tuple[str, str], ...] = ()) -> None:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        trees = sqlglot.parse(text)
    except SqlglotError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExpressionProblem(f"is not a valid SQL expression ({first})") from None
    if len(trees) != 1 or trees[0] is None:
        raise ExpressionProblem("must be one SQL expression (no ';')")
    tree = trees[0]
    # Epochs are followed only where one is taken, here or in a derived column named.
    followed = derived if derived and _names_any(tree, derived) else ()
    epochs = bool(followed) or "epoch" in text.lower()
    for node in tree.walk():
        if isinstance(node, (exp.Query, exp.Subquery, exp.Table, exp.From, exp.Values)):
            raise ExpressionProblem(f"holds a subquery (SELECT ...): {ROW_LEVEL}, never from "
                                    "other rows or tables")
        if isinstance(node, exp.Window):
            raise ExpressionProblem(f"uses a window function (OVER ...): {ROW_LEVEL}; the "
                                    "KPI's kind does the aggregating")
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).upper()
            if isinstance(node, exp.AggFunc) or name in AGGREGATES:
                # sqlglot names some functions its own way (QUANTILE_CONT is PERCENTILE_CONT).
                what = (f"the aggregate {name}(...)" if name.lower() in text.lower()
                        else f"an aggregate function (read as {name})")
                raise ExpressionProblem(
                    f"uses {what}, which gives one figure over all the rows "
                    f"read, so each row would be compared with a different figure in each "
                    f"window and breakdown: {ROW_LEVEL}; the KPI's kind does the aggregating "
                    "(mean, median, sum ...)")
        sides = _compared(node)
        if sides:
            for side in sides:
                _check_division(side)
            _check_chained(node)
            _check_bool_comparison(sides, columns)
            _check_duration_comparison(sides, columns, dataset, schema)
        _check_uk_time(node, dataset, schema)
        if epochs:
            _check_clocks(node, dataset, schema, followed)
        _check_function(node)
        _check_standard(node, dataset, schema)
        _check_dialect(node, dataset, schema)
    if any(isinstance(n, exp.Cast) and n.to.is_type(exp.DataType.Type.FLOAT)
           for n in tree.walk()) and re.search(r"(?i)\bfloat\b", QUOTED.sub("''", text)):
        raise ExpressionProblem(
            "casts to FLOAT, which DuckDB makes a 4-byte float (about 7 digits: 1/3 is "
            "0.3333333) and PostgreSQL and Polars an 8-byte one: write DOUBLE for the 8-byte "
            "float, or REAL for the 4-byte one")
    _check_bool_as_text(tree, dataset, schema)
    _check_types(tree, dataset, schema)
    _check_domain(tree)
    if guarded_division:
        _check_division(tree)
    if isinstance(tree, exp.Star) or any(isinstance(n, exp.Star) for n in tree.walk()):
        raise ExpressionProblem(f"uses '*': {ROW_LEVEL}; name the columns")


def _compared(node: Any) -> list[Any]:
    """The operands of a comparison (=, <, IN, BETWEEN, LIKE ...), or [] for other nodes."""
    from sqlglot import exp

    if isinstance(node, exp.In):
        sides = [node.this, *node.expressions]
    elif isinstance(node, exp.Between):
        sides = [node.this, node.args.get("low"), node.args.get("high")]
    elif isinstance(node, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ,
                           exp.NullSafeNEQ, exp.Like, exp.ILike)):
        sides = [node.this, node.expression]
    else:
        return []
    return [side.unnest() if isinstance(side, exp.Paren) else side
            for side in sides if side is not None]


def _equated(node: Any) -> list[Any]:
    """The operands of a comparison (`_compared`), a list of `= ANY([...])` as its items
    (`lpa = ANY(['a', 'b'])` compares lpa with 'a' and 'b'): the sides `compared_text` and
    `never_given` judge literals on."""
    from sqlglot import exp

    sides = _compared(node)
    if len(sides) == 2 and isinstance(sides[1], exp.Any):
        listed = sides[1].this.unnest() if isinstance(sides[1].this, exp.Paren) \
            else sides[1].this
        sides = [sides[0], *(listed.expressions if isinstance(listed, exp.Array) else [])]
    return sides


def _check_division(node: Any) -> None:
    """A division by a column in a comparison (`minutes / victims > 1000`): on a row whose
    divisor is 0 it gives NaN or infinity, which Polars (like DuckDB) ranks above every number,
    so the row is silently counted (or, under NOT, silently not). Only a divisor that cannot be
    0 is accepted: a non-zero number, or NULLIF(divisor, 0), which leaves such a row out."""
    from sqlglot import exp

    for division in node.find_all(exp.Div):
        divisor = division.expression
        while isinstance(divisor, exp.Paren):
            divisor = divisor.this
        if isinstance(divisor, exp.Nullif):
            continue
        if isinstance(divisor, exp.Neg) and isinstance(divisor.this, exp.Literal):
            divisor = divisor.this
        if isinstance(divisor, exp.Literal) and divisor.is_number and float(divisor.this) != 0:
            continue
        raise ExpressionProblem(
            f"divides by {divisor.sql()}, which on a row where it is 0 gives NaN or infinity, "
            "and a comparison counts that row as larger than any number: write "
            f"{division.this.sql()} / NULLIF({divisor.sql()}, 0) to leave such rows out, or "
            "multiply instead (minutes > 1000 * victims)")


def _check_chained(node: Any) -> None:
    """A comparison of a comparison without parentheses (`a < b = FALSE`): PostgreSQL and
    DuckDB refuse it, Polars reads it one way of the two."""
    from sqlglot import exp

    comparisons = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ,
                   exp.NullSafeNEQ, exp.Like, exp.ILike, exp.In, exp.Between, exp.Is)
    for side in (node.this, node.args.get("expression")):
        if isinstance(side, comparisons):
            raise ExpressionProblem(
                f"compares {side.sql()} without parentheses, which SQL databases refuse: "
                f"write ({side.sql()}) if that is the comparison meant")
        # The parsers disagree on what `a IS DISTINCT FROM b = TRUE` compares, and sqlglot
        # puts in parentheses of its own: refused with or without them.
        inner = side.unnest() if isinstance(side, exp.Paren) else side
        if isinstance(inner, (exp.NullSafeEQ, exp.NullSafeNEQ)):
            raise ExpressionProblem(
                f"compares {inner.sql()}, which SQL databases read in different orders: it "
                "is TRUE or FALSE already, so use it as it is, or under NOT")


def _check_domain(node: Any) -> None:
    """A square root or logarithm (`SQRT(x) > 1`): of a negative number (or 0, for a
    logarithm) Polars gives NaN, which it ranks above every number and never takes for NULL,
    so the row is counted, where SQL stops with an error. Only a positive number written out
    is accepted; the functions rise with their argument, so the argument itself can be
    compared."""
    from sqlglot import exp

    for function in node.find_all(exp.Sqrt, exp.Ln, exp.Log):
        argument = function.expression if function.expression is not None else function.this
        while isinstance(argument, exp.Paren):
            argument = argument.this
        if isinstance(argument, exp.Literal) and argument.is_number \
                and float(argument.this) > 0:
            continue
        name = function.sql().partition("(")[0]
        shown = argument.sql()
        raise ExpressionProblem(
            f"takes {name} of {shown}, which Polars makes NaN where {shown} is negative (or "
            "0, for a logarithm), and a comparison counts NaN as larger than any number, "
            f"where SQL stops with an error: compare {shown} itself (for SQRT({shown}) > 2 "
            f"write {shown} > 4)")


def _check_bool_comparison(sides: list[Any], columns: dict[str, str]) -> None:
    """A bool column compared with a literal (`flag = 'Y'`, `flag IN (1, 0)`): Polars casts the
    literal and compares, which is silently false on every row for text such as 'Y'."""
    from sqlglot import exp

    flags = [s.name for s in sides if isinstance(s, exp.Column) and columns.get(s.name) == "bool"]
    literals = [s for s in sides if isinstance(s, exp.Literal)
                or (isinstance(s, exp.Neg) and isinstance(s.this, exp.Literal))]
    if flags and literals:
        flag, literal = flags[0], literals[0].sql()
        raise ExpressionProblem(
            f"compares the bool column '{flag}' with {literal}, which a true/false value never "
            f"equals as written: write {flag} or NOT {flag} (or {flag} = TRUE)")


def _check_standard(node: Any, dataset: str, schema: tuple[tuple[str, Any], ...]) -> None:
    """What Polars evaluates otherwise than standard SQL, with no one reading to rewrite it to:

    - `b IS TRUE` (IS FALSE, IS NOT TRUE, IS NOT FALSE) is never NULL in SQL, but Polars reads
      it as `b = TRUE`, NULL where b is: `b IS NOT TRUE` left out the rows whose b is blank;
    - a fraction cast to a whole number or a decimal (`CAST(x AS INT)`, `x::DECIMAL(10, 2)`):
      Polars cuts the digits off (2.5 is 2, 1.5 is 1), DuckDB rounds a half to even (1.5 is
      2), PostgreSQL rounds it away from zero (2.5 is 3);
    - SUBSTR(s, start) from a start that is negative or not written as a number: DuckDB counts
      a negative start from the end (SUBSTR('abc', -1) is 'c'), Polars and PostgreSQL from
      before the start ('abc');
    - LEFT(s, 0) and RIGHT(s, 0), which Polars reads as '' on every row, NULL or not;
    - REPLACE(s, '', x), which SQL leaves as s and Polars fills between every character, or
      REPLACE(s, t, x) of a column t that may be '';
    - a LIKE pattern with a backslash, an escape in PostgreSQL and a backslash in DuckDB."""
    from sqlglot import exp

    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Boolean):
        truth = node.expression.this is True
        negated = isinstance(node.parent, exp.Not)
        what = node.this.sql()
        shown = f"{what} IS {'NOT ' if negated else ''}{'TRUE' if truth else 'FALSE'}"
        # IS TRUE, IS NOT TRUE, IS FALSE, IS NOT FALSE, in SQL's own words
        standard = {(True, False): f"COALESCE({what}, FALSE)",
                    (True, True): f"NOT COALESCE({what}, FALSE)",
                    (False, False): f"NOT COALESCE({what}, TRUE)",
                    (False, True): f"COALESCE({what}, TRUE)"}[truth, negated]
        raise ExpressionProblem(
            f"uses {shown}, which SQL makes TRUE or FALSE on every row but Polars leaves NULL "
            f"where {what} is NULL (so those rows are never counted): write {standard}")
    if isinstance(node, exp.Cast) and (node.to.is_type(*exp.DataType.INTEGER_TYPES)
                                       or node.to.is_type(*exp.DataType.REAL_TYPES)
                                       and not node.to.is_type(*exp.DataType.FLOAT_TYPES)):
        import polars as pl

        dtype = _type_or_none(node.this, dataset, schema)
        if dtype is None:
            raise ExpressionProblem(
                f"casts {node.this.sql()} to {node.to.sql()}, and kpi cannot tell before "
                "reading the rows whether it has a fraction, which Polars cuts off and SQL "
                f"databases round: write ROUND({node.this.sql()}), FLOOR(...) or TRUNC(...)")
        if dtype.is_float() or isinstance(dtype, pl.Decimal):
            shown = node.this.sql()
            raise ExpressionProblem(
                f"casts {shown}, a number with a fraction, to {node.to.sql()}, which Polars "
                "does by cutting the fraction off (2.5 is 2) and SQL databases by rounding, "
                f"each its own way: write ROUND({shown}) (a half away from zero), "
                f"ROUND({shown}, 2), FLOOR({shown}) or TRUNC({shown}), whichever is meant")
    if isinstance(node, (exp.Like, exp.ILike)) and isinstance(node.expression, exp.Literal) \
            and "\\" in node.expression.this:
        raise ExpressionProblem(
            f"matches {node.expression.sql()}, whose backslash PostgreSQL reads as making the "
            "next % or _ an ordinary character and DuckDB (as kpi) as a backslash: to find a "
            f"% or _ as written, write STRPOS({node.this.sql()}, '_') > 0")
    if isinstance(node, (exp.Left, exp.Right)) and isinstance(node.expression, exp.Literal) \
            and node.expression.is_int and int(node.expression.this) == 0:
        raise ExpressionProblem(
            f"takes {node.sql()}, which Polars reads as '' on every row, NULL or not, where "
            "SQL keeps a NULL text NULL: leave it out, or write ''")
    if isinstance(node, exp.Replace):
        found = node.expression
        if not (isinstance(found, exp.Literal) and found.is_string and found.this):
            raise ExpressionProblem(
                f"replaces {found.sql()} in {node.this.sql()}, which must be a text written "
                "out and not empty: SQL replaces '' nowhere, Polars between every character")
    if isinstance(node, exp.Substring):
        start = node.args.get("start")
        if start is not None and not (isinstance(start, exp.Literal) and start.is_int):
            raise ExpressionProblem(
                f"takes SUBSTR from {start.sql()}, which SQL databases read differently where "
                "it is below 1 (DuckDB counts a negative start from the end, Polars and "
                "PostgreSQL from before the start): write the start as a whole number from 1, "
                f"or RIGHT({node.this.sql()}, n) for the last n characters")
        length = node.args.get("length")
        whole = length is None or _type_or_none(length, dataset, schema) is None \
            or _type_or_none(length, dataset, schema).is_integer()
        if length is not None and not whole:
            raise ExpressionProblem(
                f"takes SUBSTR for {length.sql()} characters, not a whole number, which "
                "DuckDB and PostgreSQL refuse: write the length as a whole number written out, "
                "or GREATEST(0, n) of a whole-number column n")
        if length is not None and not _whole_from_zero(length):
            shown = length.sql()
            raise ExpressionProblem(
                f"takes SUBSTR for {shown} characters, which SQL databases read differently "
                "where it is below 0 (DuckDB counts back from the start, PostgreSQL stops "
                f"with an error, Polars gives ''): write GREATEST(0, {shown}), '' where it "
                "is below 0 in each, or the length as a whole number from 0")


def _whole_from_zero(node: Any) -> bool:
    """Whether a length is a whole number from 0 written out, or GREATEST of one and anything
    (which is never below it, and SQL's GREATEST and Polars' pass over a NULL alike)."""
    from sqlglot import exp

    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Literal):
        return node.is_int and int(node.this) >= 0
    return isinstance(node, exp.Greatest) and any(
        isinstance(n, exp.Literal) and n.is_int and int(n.this) >= 0
        for n in (node.this, *node.expressions))


# A regular expression's classes that match ASCII only in DuckDB's RE2 and every Unicode
# letter, digit or space in Polars' Rust regex ('Brontë' is all \w in one, not the other; a
# no-break space is \s in one): preceded by an odd number of backslashes.
_UNICODE_CLASS = re.compile(r"(?<!\\)(?:\\\\)*\\([wWsSdDbB])")
_ASCII_CLASS = {"w": "[A-Za-z0-9_]", "W": "[^A-Za-z0-9_]", "d": "[0-9]", "D": "[^0-9]",
                "s": "[ \\t\\r\\n\\f]", "S": "[^ \\t\\r\\n\\f]",
                "b": "(^|[^A-Za-z0-9_]) or ([^A-Za-z0-9_]|$)",
                "B": "[A-Za-z0-9_][A-Za-z0-9_]"}
# Parts of a time read off its zone: the UTC store's offset in Polars (0 on every row), the
# UK's in DuckDB (3600 in summer).
_ZONE_PARTS = frozenset({"timezone", "timezone_hour", "timezone_minute", "tz", "tzh", "tzm"})
# The clock of the machine running kpi: a past period's figure would change with the day.
_NOW = frozenset({"NOW", "TODAY", "GETDATE", "CURRENT_DATE", "CURRENT_TIMESTAMP",
                  "CURRENT_TIME", "LOCALTIMESTAMP", "LOCALTIME", "SYSDATE"})


def _check_dialect(node: Any, dataset: str, schema: tuple[tuple[str, Any], ...]) -> None:
    """What reads one way in DuckDB and another in Polars (or PostgreSQL), with no one
    reading kpi could choose for the writer, so refused with what to write:

    - a word after an expression (`loss > 1_000`, `lpa = 'Dudley' knife`), which SQL reads as
      a name given to the expression and Polars drops: `loss > 1` was counted, a missing AND
      passed unseen;
    - a regular expression's \\w, \\s, \\d or \\b, ASCII in DuckDB and Unicode in Polars;
    - the zone of a datetime (DATE_PART('timezone', t)), 0 in Polars' UTC store and the UK
      offset in DuckDB; STRFTIME with %Z or %z ('BST' against 'Europe/London', '+0100'
      against '+01'); a datetime or a float made text (CAST(t AS VARCHAR), t || '',
      CONCAT), each database writing it its own way (1e-05 against 0.00001);
    - the clock of the machine (CURRENT_DATE, NOW()), by which a past period's figure would
      change with the day it is run."""
    from sqlglot import exp

    if isinstance(node, exp.Alias):
        inner, name = node.this, node.alias
        if isinstance(inner, exp.Binary) and isinstance(inner.expression, exp.Literal) \
                and not inner.expression.is_string and re.fullmatch(r"_[0-9_]*", name):
            number = inner.expression.this + name
            raise ExpressionProblem(
                f"writes the number {number}, which Polars reads as {inner.expression.this} "
                f"followed by a name, {name}: write {number.replace('_', '')}")
        raise ExpressionProblem(
            f"holds '{inner.sql()} {name}': a word after an expression, which SQL reads as a "
            f"name given to it and kpi would drop (counting {inner.sql()} alone): a missing "
            "AND or OR, or a word to quote?")
    name = (node.name if isinstance(node, exp.Anonymous)
            else node.sql_name() if isinstance(node, exp.Func) else "").upper()
    if type(node).__name__.startswith("Regexp") and isinstance(node.expression, exp.Literal):
        found = _UNICODE_CLASS.search(node.expression.this)
        if found:
            letter = found.group(1)
            raise ExpressionProblem(
                f"matches {node.expression.sql()}, whose \\{letter} DuckDB reads as ASCII "
                "only and Polars as every Unicode letter, digit or space ('Brontë', a "
                f"no-break space): write the characters meant, as {_ASCII_CLASS[letter]}")
    if isinstance(node, (exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentTime,
                         exp.Localtimestamp)) or name in _NOW:
        raise ExpressionProblem(
            f"reads the clock ({node.sql()}), so a past period's figure would change with the "
            "day it is run: write the date out, DATE '2025-01-01'")
    part = None
    if isinstance(node, exp.Extract):
        part = node.this.name
    elif name in ("DATE_PART", "DATEPART") and node.expressions \
            and isinstance(node.expressions[0], exp.Literal):
        part = node.expressions[0].this
    if part is not None and part.lower() in _ZONE_PARTS:
        raise ExpressionProblem(
            f"takes the {part} of a time, which kpi's store holds in UTC (0 on every row) "
            "and DuckDB reads in the UK's zone (3600 in summer): compare the UK hour, "
            "DATE_PART('hour', t), or the UK date, DATE(STRFTIME(t, '%Y-%m-%d'))")
    if name == "STRFTIME" and any(isinstance(a, exp.Literal) and re.search(r"%[zZ]", a.this)
                                  for a in node.expressions):
        raise ExpressionProblem(
            f"writes a time's zone with %Z or %z ({node.sql()}), which Polars writes 'BST' "
            "and '+0100' and DuckDB 'Europe/London' and '+01': leave the zone out")
    if isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.TEXT_TYPES):
        texts = [node.this]
    elif isinstance(node, (exp.DPipe, exp.Concat, exp.ConcatWs)):
        texts = [node.this, node.expression] if isinstance(node, exp.DPipe) \
            else list(node.expressions)
    else:
        return
    import polars as pl

    for operand in texts:
        if operand is None:
            continue
        dtype = _type_or_none(operand, dataset, schema)
        if isinstance(dtype, pl.Datetime):
            shown = operand.sql()
            raise ExpressionProblem(
                f"makes the datetime {shown} text, which each database writes its own way "
                "('2025-07-01 00:30:00.000000+01:00' in Polars, '2025-07-01 00:30:00+01' in "
                f"DuckDB): write STRFTIME({shown}, '%Y-%m-%d %H:%M')")
        if dtype is not None and dtype.is_float():
            shown = operand.sql()
            raise ExpressionProblem(
                f"makes the number {shown}, a float, text, which each database writes its own "
                "way (0.00001 in Polars, 1e-05 in DuckDB; nan and NaN): compare the number "
                f"itself ({shown} < 1), or ROUND({shown}, 2) as a number")


def _check_operators(unquoted: str) -> None:
    """Operators Polars' SQL cannot parse, or SQL databases read differently, named with what
    to write (`unquoted` is the text with its strings and quoted names emptied): `s ~ 'b'`
    (DuckDB matches the whole text, PostgreSQL any part of it), `i // 2` and `i DIV 2`
    (whole-number division, rounding down in one database and towards zero in another), and
    an empty IN list (`i IN ()`), which SQL databases refuse."""
    if "~" in unquoted:
        raise ExpressionProblem(
            "matches a regular expression with ~, which DuckDB reads as matching the whole "
            "text and PostgreSQL as matching any part of it: write REGEXP_LIKE(s, 'pattern') "
            "for any part, or REGEXP_LIKE(s, '^pattern$') for the whole")
    if "//" in unquoted:
        raise ExpressionProblem(_WHOLE_DIVISION)
    if re.search(r"(?i)\bin\s*\(\s*\)", unquoted):
        raise ExpressionProblem(
            "holds an empty IN list, which SQL databases refuse: list at least one value, "
            "or leave the condition out")


_WHOLE_DIVISION = ("divides with // or DIV, a whole-number division that SQL databases round "
                   "differently (down, or towards zero): write FLOOR(a / b) or TRUNC(a / b)")


# Functions Polars' SQL has not, or reads otherwise than SQL databases, with what to write
# (by sqlglot's name of the function).
_FUNCTIONS = {
    "DATEDIFF": "for the days between two dates write b - a, a duration: compare it with "
                "INTERVAL '30 days', or make it the value of a KPI in days",
    "DATE_DIFF": "for the days between two dates write b - a, a duration: compare it with "
                 "INTERVAL '30 days', or make it the value of a KPI in days",
    "MAKE_DATE": "write the date out, DATE '2025-01-01'",
    "REGEXP_MATCHES": "write REGEXP_LIKE(s, 'pattern'), which matches any part of the text",
    "REGEXP_ILIKE": "write REGEXP_LIKE(LOWER(s), 'pattern') with the pattern in small "
                    "letters",
    "BTRIM": "write TRIM(BOTH 'x' FROM s)",
    "INITCAP": "Polars capitalises after a digit ('1St') where PostgreSQL does not, and "
               "DuckDB has no INITCAP: compare UPPER(s) or LOWER(s) instead",
}


def _check_function(node: Any) -> None:
    """A function in `_FUNCTIONS`; TRIM(s, 'x') (Polars reads only TRIM(BOTH 'x' FROM s));
    LPAD and RPAD to a length that is not a whole number from 0 written out (Polars stops
    on a negative length when the rows are read, SQL gives '')."""
    from sqlglot import exp

    if isinstance(node, exp.IntDiv):  # `a DIV b` (a column may be named div)
        raise ExpressionProblem(_WHOLE_DIVISION)
    if not isinstance(node, exp.Func):
        return
    name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).upper()
    if name in _FUNCTIONS:
        shown = name if isinstance(node, exp.Anonymous) else node.sql().partition("(")[0]
        raise ExpressionProblem(f"uses {shown}(...), which Polars does not read as SQL "
                                f"databases do: {_FUNCTIONS[name]}")
    if isinstance(node, exp.Trim) and node.expression is not None \
            and node.args.get("position") is None:
        raise ExpressionProblem(
            f"takes TRIM({node.this.sql()}, {node.expression.sql()}), which Polars does not "
            f"read: write TRIM(BOTH {node.expression.sql()} FROM {node.this.sql()})")
    if isinstance(node, exp.Pad):
        length = node.expression
        if length is not None and not (isinstance(length, exp.Literal) and length.is_int):
            raise ExpressionProblem(
                f"pads {node.this.sql()} to {length.sql()} characters, which Polars stops on "
                "where it is negative and SQL makes '': write the length as a whole number "
                "from 0")


def _kind(dtype: Any) -> str | None:
    """What SQL calls the type of a Polars type, or None for NULL and other types."""
    import polars as pl

    if dtype is None or dtype == pl.Null:
        return None
    if dtype == pl.String:
        return "text"
    if dtype == pl.Boolean:
        return "true/false"
    if dtype.is_numeric():
        return "a number"
    if dtype.is_temporal():
        return "a duration" if isinstance(dtype, pl.Duration) else "a date or time"
    return None


# sqlglot's names of the units an INTERVAL added to a date may have: a date plus hours is a
# time in DuckDB and PostgreSQL, and a date again in Polars (the hours dropped).
_DATE_UNITS = frozenset({"DAY", "DAYS", "WEEK", "WEEKS", "MONTH", "MONTHS", "YEAR", "YEARS"})


def _check_types(tree: Any, dataset: str, schema: tuple[tuple[str, Any], ...]) -> None:
    """Operands of different types, which SQL databases each read their own way and Polars
    another, or stops on only when the rows are read:

    - text compared with a number (`code > 5`, `victims = '3'`, `s IN ('b', 1)`) or a date
      with text (`day >= '2025-01-01'`): DuckDB converts one to the other, PostgreSQL
      refuses, Polars stops or compares as text;
    - CASE, COALESCE, NULLIF, GREATEST, LEAST with text in one branch and a number in
      another: Polars makes every branch text (COALESCE(i, '1') is '7', not 7);
    - a date plus a number (`day + 1`), or plus an INTERVAL of hours or minutes, or of more
      than one unit: Polars refuses the first and drops the hours of the second, where SQL
      gives a time;
    - DATE_PART or EXTRACT of a duration (`DATE_PART('day', b - a)`), or the epoch of a date
      (`DATE_PART('epoch', day)`), which Polars stops on only when the rows are read;
    - a duration cast to a number, which Polars gives in microseconds, and a date or time cast
      to a number, which DuckDB refuses, Polars gives in microseconds (or days) since 1970 and
      Spark in seconds;
    - text cast to a date, which Polars stops on when the rows are read, or to a number,
      which it stops on at the first text that is not a number written out (and DuckDB
      rounds '10.5' to 11 where PostgreSQL stops), or to true/false, which it cannot do;
    - arithmetic on a true/false value (`b + 0`, `-b`), which DuckDB and PostgreSQL refuse
      and Polars reads as 1 or 0;
    - a date written with a time's fields (`STRFTIME(day, '%H:%M')`), which Polars stops on
      when the rows are read (a row of blanks passes)."""
    import polars as pl
    from sqlglot import exp

    def kind(node: Any) -> str | None:
        return _kind(_type_or_none(node, dataset, schema))

    for node in reversed(list(tree.walk())):  # the innermost first
        _check_bool_arithmetic(node, dataset, schema)
        if isinstance(node, exp.Anonymous) and node.name.upper() == "STRFTIME" \
                and len(node.expressions) == 2 and isinstance(node.expressions[1], exp.Literal) \
                and _TIME_FIELD.search(node.expressions[1].this) \
                and _is_date(node.expressions[0], dataset, schema):
            day, fields = node.expressions[0].sql(), node.expressions[1].this
            raise ExpressionProblem(
                f"writes the date {day} with a time's fields ('{fields}'), which Polars "
                "stops on when the rows are read, where SQL databases write its midnight: "
                f"write the date's own fields, STRFTIME({day}, '%Y-%m-%d'), and || ' 00:00' "
                "if a time is wanted")
        if isinstance(node, exp.Case):
            branches = [i.args.get("true") for i in node.args.get("ifs") or ()]
            branches.append(node.args.get("default"))
            _same_kind([b for b in branches if b is not None], kind, "gives")
            if node.this is not None:
                whens = [i.this for i in node.args.get("ifs") or ()]
                _same_kind([node.this, *whens], kind, "compares")
        elif isinstance(node, exp.If):
            _same_kind([b for b in (node.args.get("true"), node.args.get("false"))
                        if b is not None], kind, "gives")
        elif isinstance(node, (exp.Coalesce, exp.Greatest, exp.Least)):
            _same_kind([node.this, *node.expressions], kind, "gives")
        elif isinstance(node, exp.Nullif):
            _same_kind([node.this, node.expression], kind, "compares")
        elif _compared(node):
            _same_kind(_compared(node), kind, "compares")
        elif isinstance(node, (exp.Add, exp.Sub)):
            _check_date_arithmetic(node, dataset, schema)
        elif isinstance(node, exp.Mod):
            _check_remainder(node)
        elif isinstance(node, exp.Extract) or (isinstance(node, exp.Anonymous)
                                               and node.name.upper() == "DATE_PART"):
            part, argument = ((node.this, node.expression) if isinstance(node, exp.Extract)
                              else (node.expressions + [None, None])[:2])
            if argument is None:
                continue
            what = kind(argument)
            shown = argument.sql()
            if what == "a duration":
                raise ExpressionProblem(
                    f"takes a part of {shown}, a duration, which Polars cannot do: for "
                    "seconds write DATE_PART('epoch', b) - DATE_PART('epoch', a) of the "
                    "times themselves")
            if what == "a date or time" and part is not None and part.name.upper() == "EPOCH":
                if _is_date(argument, dataset, schema):
                    raise ExpressionProblem(
                        f"takes the epoch of {shown}, a date, which Polars cannot do: for the "
                        "seconds of its UK midnight write DATE_PART('epoch', "
                        f"{_uk_reading(argument, pl.Date)}) (CAST({shown} AS TIMESTAMP) "
                        "alone is its midnight in UTC, an hour out in summer)")
        elif isinstance(node, (exp.DateTrunc, exp.TimestampTrunc)) \
                and _is_date(node.this, dataset, schema):
            raise ExpressionProblem(
                f"truncates the date {node.this.sql()}, which Polars does not do: kpi reports "
                f"by month already; for its month as text write STRFTIME({node.this.sql()}, "
                "'%Y-%m')")
        elif isinstance(node, exp.Cast) and not node.to.is_type(*exp.DataType.TEMPORAL_TYPES) \
                and kind(node.this) == "a duration":
            raise ExpressionProblem(
                f"casts {node.this.sql()}, a duration, to {node.to.sql()}, which Polars gives "
                "in microseconds: for seconds write DATE_PART('epoch', b) - DATE_PART('epoch', "
                "a) of the times themselves, or compare the duration with INTERVAL '30 days'")
        elif isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.NUMERIC_TYPES) \
                and kind(node.this) == "a date or time":
            shown = node.this.sql()
            raise ExpressionProblem(
                f"casts {shown}, a date or time, to {node.to.sql()}, which DuckDB refuses and "
                "Polars gives in microseconds (days for a date) since 1970, where Spark gives "
                "seconds: "
                + ("for the days between two dates write their difference, b - a"
                   if _is_date(node.this, dataset, schema) else
                   f"for seconds write DATE_PART('epoch', {shown}), or the difference of two "
                   "times, b - a, as a duration"))
        elif isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.BOOLEAN) \
                and kind(node.this) == "text":
            raise ExpressionProblem(
                f"casts the text {node.this.sql()} to {node.to.sql()}, which Polars does not "
                "do (it stops when the rows are read): compare the text with the values "
                f"meant, {node.this.sql()} IN ('Y', 'Yes', '1'), or declare the column bool "
                "in the dataset's columns")
        elif isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.TEMPORAL_TYPES,
                                                            *exp.DataType.NUMERIC_TYPES) \
                and not isinstance(node.this, exp.Literal) and kind(node.this) == "text":
            number = node.to.is_type(*exp.DataType.NUMERIC_TYPES)
            raise ExpressionProblem(
                f"casts the text {node.this.sql()} to {node.to.sql()}, which "
                + ("stops Polars on the first row that is not a whole number written out "
                   "('10.5', 'n/a'), where DuckDB rounds '10.5' and PostgreSQL stops: declare "
                   "the column a number (type = \"int\" or \"float\")" if number else
                   "Polars does not do: declare the column a date (or datetime)")
                + " in the dataset's columns")


# A time's fields in a STRFTIME format (hours, minutes, seconds, fractions, AM/PM, or a
# time written whole), which a date has not in Polars.
_TIME_FIELD = re.compile(r"%[-_0^#]?[0-9]?[HIklMSpPfTRXcrsLz]|%\.?[0-9]f")
# The operators and functions of numbers, which SQL databases refuse a true/false value.
_ARITHMETIC = ("Add", "Sub", "Mul", "Div", "Mod", "IntDiv", "Pow", "Neg", "Abs", "Round",
               "Floor", "Ceil", "Sign")


def _check_bool_arithmetic(node: Any, dataset: str,
                           schema: tuple[tuple[str, Any], ...]) -> None:
    """Arithmetic on a true/false value (`b + 0`, `b * 1`, `-b`, `ABS(b)`): DuckDB and
    PostgreSQL refuse it, Polars reads true as 1 and false as 0, so the same file gives a
    figure in kpi and an error in SQL. Refused, with the conversion to write."""
    if type(node).__name__ not in _ARITHMETIC:
        return
    for operand in (node.this, node.args.get("expression")):
        if operand is not None and not isinstance(operand, (str, bool)) \
                and _is_bool(operand, dataset, schema):
            shown = operand.sql()
            raise ExpressionProblem(
                f"does arithmetic on the true/false value {shown}, which SQL databases refuse "
                f"and Polars reads as 1 or 0: write CASE WHEN {shown} THEN 1 ELSE 0 END for "
                "1 or 0")


def _check_remainder(node: Any) -> None:
    """A remainder (`i % j`, `MOD(i, j)`) by a divisor that may be 0: DuckDB gives NULL for a
    whole number and NaN for a fraction, PostgreSQL stops with an error, and Polars gives NULL,
    or NaN, or stops (for a decimal such as `i * 0.15`) as the types fall. As for a division
    (`_check_division`), only a non-zero number written out, or NULLIF(divisor, 0), is read."""
    from sqlglot import exp

    divisor = node.expression.unnest() if isinstance(node.expression, exp.Paren) \
        else node.expression
    if isinstance(divisor, exp.Neg) and isinstance(divisor.this, exp.Literal):
        divisor = divisor.this
    if isinstance(divisor, exp.Nullif) or (isinstance(divisor, exp.Literal) and divisor.is_number
                                           and float(divisor.this) != 0):
        return
    raise ExpressionProblem(
        f"takes a remainder by {divisor.sql()}, which where it is 0 DuckDB makes NULL or NaN "
        "and PostgreSQL an error: write "
        f"MOD({node.this.sql()}, NULLIF({node.expression.sql()}, 0)) to leave such rows out")


def _is_date(node: Any, dataset: str, schema: tuple[tuple[str, Any], ...]) -> bool:
    import polars as pl

    return _type_or_none(node, dataset, schema) == pl.Date


def _same_kind(operands: list[Any], kind: Any, verb: str) -> None:
    """Refuse operands of more than one kind of value (NULL goes with any). A duration with a
    number is the duration's microseconds in Polars: CASE WHEN b THEN day - other ELSE 0 END
    gave 7,689,600,000,000 for 89 days."""
    from sqlglot import exp

    kinds = [(operand, kind(operand)) for operand in operands]
    kinds = [(operand, k) for operand, k in kinds if k is not None]
    if len({k for _, k in kinds}) < 2:
        return
    (a, first), (b, second) = kinds[0], next(x for x in kinds if x[1] != kinds[0][1])
    pair = {first, second}
    texts = [x for x in (a, b) if isinstance(x, exp.Literal) and x.is_string]
    numbers = [x for x in (a, b) if isinstance(x, exp.Literal) and x.is_number]
    if pair == {"text", "a date or time"} and texts:
        hint = f"DATE {texts[0].sql()}"
    elif pair == {"text", "a number"} and texts:
        hint = f"{texts[0].this} without quotes, if the column is a number"
    elif pair == {"text", "a number"} and numbers:
        hint = f"'{numbers[0].sql()}' in quotes, if the column is text"
    else:
        hint = "a value of the other's type, or CAST(... AS VARCHAR) on both"
    what = "in one branch and" if verb == "gives" else "with"
    raise ExpressionProblem(
        f"{verb} {a.sql()}, {first}, {what} {b.sql()}, {second}, which SQL databases each "
        "convert their own way (or refuse) and Polars otherwise: write one type on every "
        f"side ({hint})")


def _check_date_arithmetic(node: Any, dataset: str,
                           schema: tuple[tuple[str, Any], ...]) -> None:
    """A date plus or minus a number (`day + 1`), or an INTERVAL of hours or minutes, or of
    more than one unit (`_check_types`)."""
    import polars as pl
    from sqlglot import exp

    sides = [node.this, node.expression]
    types = [_type_or_none(side, dataset, schema) for side in sides]
    kinds = [_kind(dtype) for dtype in types]
    if "a date or time" not in kinds:
        return
    _check_zoned_offset(node, sides, types, dataset, schema)
    dated = sides[kinds.index("a date or time")]
    other = sides[1 - kinds.index("a date or time")]
    if kinds[sides.index(other)] == "a number":
        sign = "+" if isinstance(node, exp.Add) else "-"
        raise ExpressionProblem(
            f"adds a number to the date {dated.sql()}, which Polars does not do: write "
            f"{dated.sql()} {sign} INTERVAL '{other.sql()} days'")
    if isinstance(other, exp.Interval):
        unit = other.args.get("unit")
        amount = other.this
        whole = (isinstance(amount, exp.Literal) and re.fullmatch(r"-?\d+", amount.this.strip())
                 and unit is not None and unit.name.upper() in _DATE_UNITS)
        if not whole and types[sides.index(dated)] == pl.Date:
            raise ExpressionProblem(
                f"adds {other.sql()} to {dated.sql()}, which Polars keeps a date (dropping "
                "hours and minutes) where SQL makes it a time: add whole days, weeks, months "
                "or years, one unit (INTERVAL '7 days')")


# The units of an INTERVAL that are not a fixed number of seconds on the UK's clock: a day
# is 23 or 25 hours at a clock change, so SQL adds them to a UK time as calendar units.
_CALENDAR_UNITS = ("DAY", "WEEK", "MONTH", "YEAR", "QUARTER", "DECADE", "CENTUR", "MILLEN")


def _check_zoned_offset(node: Any, sides: list[Any], types: list[Any], dataset: str,
                        schema: tuple[tuple[str, Any], ...]) -> None:
    """A duration added to or taken from a UK time (a datetime column) other than an
    INTERVAL written out after the + or -. SQL databases add days, weeks and months to a UK
    time as calendar units (the same clock time a day later, 23 or 25 hours across a clock
    change), and Polars does so only for `t + INTERVAL '1 day'` as written: a computed,
    multiplied or bracketed interval (`t + n * INTERVAL '1 day'`, `t + (INTERVAL '1 day')`,
    `INTERVAL '1 day' + t`), a duration column, or the difference of two times, it adds as
    24-hour blocks, an hour out across the clock change. Refused, unless the duration is made
    only of hours, minutes and seconds written out (the same in every reading)."""
    import polars as pl
    from sqlglot import exp

    zoned = [i for i, dtype in enumerate(types) if _is_uk_time(dtype)]
    if len(zoned) != 1 or not isinstance(types[1 - zoned[0]], pl.Duration):
        return
    timed, other = sides[zoned[0]], sides[1 - zoned[0]]
    if zoned[0] == 0 and isinstance(other, exp.Interval):
        return
    if _in_seconds(other, dataset, schema):
        return
    sign = "+" if isinstance(node, exp.Add) else "-"
    raise ExpressionProblem(
        f"adds {other.sql()} to the UK time {timed.sql()} as a duration, which Polars counts "
        "in 24-hour days where SQL databases add calendar days (the same clock time, 23 or 25 "
        "hours on at a clock change): write the interval out after the datetime, "
        f"{timed.sql()} {sign} INTERVAL '3 days', which kpi adds as calendar days, or count "
        f"hours, {timed.sql()} {sign} n * INTERVAL '24 hours', if 24-hour blocks are meant")


def _in_seconds(node: Any, dataset: str, schema: tuple[tuple[str, Any], ...]) -> bool:
    """Whether a duration is made only of INTERVALs of hours, minutes or seconds written out,
    and numbers: the same length of time on any day, however it is added."""
    from sqlglot import exp

    for sub in node.walk():
        if isinstance(sub, exp.Interval):
            unit = sub.args.get("unit")
            text = unit.name if unit is not None else str(sub.this.name if sub.this else "")
            if any(word.upper().startswith(_CALENDAR_UNITS)
                   for word in re.findall(r"[A-Za-z]+", text)):
                return False
        elif isinstance(sub, exp.Column):
            dtype = _type_or_none(sub, dataset, schema)
            if dtype is None or not dtype.is_numeric():
                return False
        elif not isinstance(sub, (exp.Literal, exp.Paren, exp.Neg, exp.Mul, exp.Div, exp.Add,
                                  exp.Sub, exp.Var, exp.Identifier)):
            return False
    return True


def _check_bool_as_text(tree: Any, dataset: str, schema: tuple[tuple[str, Any], ...]) -> None:
    """A true/false value turned into text (`CAST(flag AS VARCHAR) = 'Y'`, `flag || ''`):
    Polars writes 'true' or 'false', never the 'Y', 'N', 'Yes' or '1' of the extract, so a
    comparison with those is silently false on every row."""
    from sqlglot import exp

    text_types = {exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR,
                  exp.DataType.Type.NVARCHAR, exp.DataType.Type.NCHAR, exp.DataType.Type.NAME}
    for node in tree.walk():
        if isinstance(node, exp.Cast) and node.to.this in text_types:
            operands = [node.this]
        elif isinstance(node, (exp.DPipe, exp.Concat, exp.ConcatWs)):
            operands = [node.this, node.args.get("expression"), *node.expressions]
        else:
            continue
        for operand in operands:
            if operand is None or not _is_bool(operand, dataset, schema):
                continue
            shown = operand.sql()
            raise ExpressionProblem(
                f"turns the true/false value {shown} into text, which Polars writes as 'true' "
                f"or 'false' (never the extract's 'Y', 'N' or 'Yes'), so a comparison with "
                f"such text counts nothing: write {shown} or NOT {shown}, or CASE WHEN {shown} "
                "THEN 'Y' ELSE 'N' END where text is needed")


def _is_bool(node: Any, dataset: str, schema: tuple[tuple[str, Any], ...]) -> bool:
    import polars as pl

    return _type_or_none(node, dataset, schema) == pl.Boolean


def _derived_of(node: Any, expressions: Mapping[str, str], followed: frozenset[str]
                ) -> tuple[Any, frozenset[str]] | None:
    """Where `node` names a derived column (`expressions`, the dataset's name -> expression)
    not yet `followed`: its expression as sqlglot reads it, and `followed` with its name;
    None for anything else. The one walk through derived columns of `zero_or_one` and
    `never_given`, each asking its own question of what a column stands for. A name with a
    table (`t.isoc`) is not the derived column: Polars reads it as the field `isoc` of a
    column `t`. A derived column names only those declared before it, so `followed` only
    stops a loop the catalogue refuses anyway; one sqlglot cannot read is not followed (the
    catalogue refuses it too), and is read as a column of the data."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    if not isinstance(node, exp.Column) or node.table or node.name not in expressions \
            or node.name in followed:
        return None
    try:
        return sqlglot.parse_one(expressions[node.name]), followed | {node.name}
    except (SqlglotError, RecursionError):
        return None


@cache
def zero_or_one(text: str, dataset: str, schema: tuple[tuple[str, Any], ...],
                derived: tuple[tuple[str, str], ...] = ()) -> bool:
    """Whether a checked expression gives every row 0, 1 or a blank, as its text alone proves:
    a true/false condition (a bool column, `outcome = 'OC18'`); a literal 0 or 1; a CASE or
    IF whose every answer is one of them (SQL's `CASE WHEN ... THEN 1 ELSE 0 END`); a derived
    column whose expression is one (`derived`, the dataset's (name, expression) pairs,
    followed as far as they go: a column `isoc = "CASE WHEN ... THEN 1 ELSE 0 END"` is typed
    a whole number, and read as one its mean of 0.25 printed "0.3%"); and any arithmetic of
    them whose every answer is 0 or 1 (`_values`: `1 - isoc`, `isoc * 1`, ROUND, ABS, a
    cast, GREATEST or LEAST of them: `1 - isoc` was read as no share, its mean of 0.75
    printed "0.8%"). Summed, such a value counts rows; averaged, or over no denominator as a
    rate's numerator, it is a share of rows, from 0 to 1. What the text does not show, the
    rows of a mean may (`kpi.engine.value_of`)."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    try:
        got = _values(sqlglot.parse_one(text), dataset, schema, dict(derived), frozenset())
    except SqlglotError:
        return False
    return got is not None and got <= {0, 1}


# The most values `_values` follows an expression's answers through (a CASE of many literals
# times another): past it, the expression is read as one of any value.
_MOST_VALUES = 64


def _values(node: Any, dataset: str, schema: tuple[tuple[str, Any], ...],
            expressions: Mapping[str, str], followed: frozenset[str]
            ) -> frozenset[Fraction] | None:
    """Every value other than a blank a part of an expression can give a row, exactly, as
    far as its text shows them (`zero_or_one`); None where it does not (a column of numbers,
    a function not followed, arithmetic on a number that is not whole, a division whose
    answer is not a whole number, which Polars and SQL databases may take apart). A condition
    gives 0 or 1; a blank none."""
    from sqlglot import exp

    def of(part: Any) -> frozenset[Fraction] | None:
        return _values(part, dataset, schema, expressions, followed)

    def each(parts: list[Any]) -> list[frozenset[Fraction]] | None:
        got = [of(p) for p in parts if p is not None]
        return None if any(g is None for g in got) else [g for g in got if g is not None]

    def bounded(got: Any) -> frozenset[Fraction] | None:
        got = frozenset(got)
        return got if len(got) <= _MOST_VALUES else None

    if (derived_tree := _derived_of(node, expressions, followed)) is not None:
        tree, through = derived_tree
        return _values(tree, dataset, schema, expressions, through)
    if isinstance(node, exp.Paren):
        return of(node.this)
    if isinstance(node, exp.Null):
        return frozenset()
    if isinstance(node, exp.Boolean):
        return frozenset({Fraction(int(node.this))})
    if isinstance(node, exp.Literal):
        if node.is_string:
            return None
        try:
            return frozenset({Fraction(node.this)})
        except (ValueError, ZeroDivisionError):
            return None
    if isinstance(node, (exp.Case, exp.If, exp.Coalesce, exp.Greatest, exp.Least)):
        if isinstance(node, exp.Case):
            answers = [b.args.get("true") for b in node.args.get("ifs", [])]
            answers.append(node.args.get("default"))
        elif isinstance(node, exp.If):
            answers = [node.args.get("true"), node.args.get("false")]
        else:
            answers = [node.this, *node.expressions]
        got = each(answers)
        if got is None:
            return None
        if isinstance(node, (exp.Greatest, exp.Least)) and got:
            # each row's answer is one of its arguments' (or a blank)
            pick = max if isinstance(node, exp.Greatest) else min
            combos: set[tuple[Fraction, ...]] = {()}
            for values in got:
                combos = {(*c, v) for c in combos for v in values}
                if len(combos) > _MOST_VALUES:
                    return None
            return bounded(pick(c) for c in combos if c)
        return bounded(v for values in got for v in values)
    if isinstance(node, exp.Nullif):
        return of(node.this)
    if isinstance(node, (exp.Cast, exp.TryCast)):
        got = of(node.this)
        if not node.to.is_type(*exp.DataType.NUMERIC_TYPES) or got is None:
            return None
        whole = node.to.is_type(*exp.DataType.INTEGER_TYPES)
        return got if not whole or all(v.denominator == 1 for v in got) else None
    if isinstance(node, (exp.Neg, exp.Abs, exp.Sign, exp.Ceil, exp.Floor, exp.Round)):
        got = of(node.this)
        if got is None or (isinstance(node, (exp.Ceil, exp.Floor))
                           and (node.args.get("decimals") or node.args.get("to"))):
            return None
        if isinstance(node, exp.Round):
            # a whole number rounds to itself, to any places; others are not followed
            return got if all(v.denominator == 1 for v in got) else None
        step = {exp.Neg: lambda v: -v, exp.Abs: abs,
                exp.Sign: lambda v: Fraction((v > 0) - (v < 0)),
                exp.Ceil: lambda v: Fraction(math.ceil(v)),
                exp.Floor: lambda v: Fraction(math.floor(v))}[type(node)]
        return bounded(step(v) for v in got)
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div)):
        left, right = of(node.this), of(node.expression)
        if left is None or right is None or len(left) * len(right) > _MOST_VALUES or any(
                v.denominator != 1 for v in left | right):
            # only whole numbers, which floats hold exactly: 0.1 * 3 / 0.3 is 1 as written
            # and 1.0000000000000002 as floats
            return None
        if isinstance(node, exp.Div):
            if 0 in right:
                return None
            got = {a / b for a in left for b in right}
            # a whole-number quotient is the same whichever division Polars makes
            return frozenset(got) if all(v.denominator == 1 for v in got) else None
        act = {exp.Add: lambda a, b: a + b, exp.Sub: lambda a, b: a - b,
               exp.Mul: lambda a, b: a * b}[type(node)]
        return bounded(act(a, b) for a in left for b in right)
    if node is not None and _is_bool(node, dataset, schema):
        return frozenset({Fraction(0), Fraction(1)})
    return None


def _type_or_none(node: Any, dataset: str, schema: tuple[tuple[str, Any], ...]) -> Any:
    """The Polars type of part of an expression, or None where it cannot be typed (the whole
    expression is typed after the checks, and reports its own problem). sqlglot writes
    some functions in its own spelling (STRPOS as STR_POSITION), which Polars does not read:
    then in DuckDB's, which it mostly does."""
    for dialect in (None, "duckdb"):
        try:
            return _polars_type(node.sql(dialect=dialect), dataset, schema)
        except ExpressionProblem:
            continue
    return None


TEMPORAL = frozenset({"date", "datetime", "month"})


def _is_uk_time(dtype: Any) -> bool:
    import polars as pl

    return isinstance(dtype, pl.Datetime) and dtype.time_zone is not None


def _check_uk_time(node: Any, dataset: str, schema: tuple[tuple[str, Any], ...]) -> None:
    """A datetime column is an instant read as UK time, and Polars reads its UK hour, day and
    month (DATE_PART, STRFTIME) but takes it in UTC where it is cast to a date or time
    (`opened::date`), or set against a date or a time without a zone: compared (`opened >=
    DATE '2025-07-01'`), subtracted (`opened - day`), or brought to one type with it by any
    function whose answer may be either (`COALESCE(closed_at, closed_on)`, CASE, IF,
    GREATEST, LEAST, NULLIF), where Polars makes the date its midnight in UTC and SQL
    databases its UK midnight: an hour out all summer, a row counted on the wrong day or
    hour. Refused wherever it appears (a derived column's expression is checked as one),
    with the UK reading to write (its UK date is DATE(STRFTIME(opened, '%Y-%m-%d')))."""
    from sqlglot import exp

    if not _holds_uk_time(node, schema):
        return
    import polars as pl

    if isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.TEMPORAL_TYPES):
        if _is_uk_time(_type_or_none(node.this, dataset, schema)):
            shown = node.this.sql()
            raise ExpressionProblem(
                f"casts the datetime {shown} to {node.to.sql()}, which Polars takes in UTC "
                "(an hour out in summer), not as the UK's clock reads it: for its UK date "
                f"write DATE(STRFTIME({shown}, '%Y-%m-%d')), for its hour DATE_PART('hour', "
                f"{shown})")
        return
    for sides, joins in _unified(node):
        types = [_type_or_none(side, dataset, schema) for side in sides]
        if not any(_is_uk_time(t) for t in types):
            continue
        timed = next(side.sql() for side, dtype in zip(sides, types, strict=True)
                     if _is_uk_time(dtype))
        for side, dtype in zip(sides, types, strict=True):
            if isinstance(node, exp.Sub) and dtype == pl.Date:
                # A difference of a datetime and a date reads two ways (the time since the
                # date's midnight, whose UK midnight Polars would not take; or the days
                # between the two dates): refused with the one kpi can compute.
                raise ExpressionProblem(
                    f"takes the date {side.sql()} and the datetime {timed} one from the "
                    "other, which reads two ways (the time since the date's midnight, which "
                    "Polars takes in UTC, an hour out in summer, or the days between the two "
                    f"dates): for the days between their UK dates write DATE(STRFTIME({timed}, "
                    f"'%Y-%m-%d')) in place of {timed}, a duration in whole days; for the "
                    f"seconds since the date's UK midnight, DATE_PART('epoch', {timed}) - "
                    f"DATE_PART('epoch', {_uk_reading(side, dtype)})")
            if not (dtype == pl.Date
                    or (isinstance(dtype, pl.Datetime) and dtype.time_zone is None)):
                continue
            if not joins:
                raise ExpressionProblem(
                    f"sets a datetime against {side.sql()}, a date or time without a zone, "
                    "which Polars takes in UTC (an hour out in summer), not as the UK's clock "
                    f"reads it: compare its UK date, DATE(STRFTIME({timed}, '%Y-%m-%d')) >= "
                    f"DATE '2025-07-01', or its UK time as text, STRFTIME({timed}, "
                    "'%Y-%m-%d %H:%M') >= '2025-07-01 08:00'")
            function = "CASE" if isinstance(node, exp.Case) \
                else node.sql_name() if isinstance(node, exp.Func) else node.key.upper()
            same = (f"UK dates on every side, DATE(STRFTIME({timed}, '%Y-%m-%d')) in place "
                    f"of {timed}" if dtype == pl.Date else
                    f"UK times as text on every side, STRFTIME({timed}, '%Y-%m-%d %H:%M') in "
                    f"place of {timed}")
            raise ExpressionProblem(
                f"gives the datetime {timed} and {side.sql()}, a date or time without a zone, "
                f"as one value ({function}), which Polars makes a time of the UTC clock (a "
                "date its midnight in UTC, an hour out in summer) and SQL databases of the "
                f"UK's: use {same}, or the seconds since 1970 of each, DATE_PART('epoch', "
                f"{timed}) and DATE_PART('epoch', {_uk_reading(side, dtype)})")


def _holds_uk_time(node: Any, schema: tuple[tuple[str, Any], ...]) -> bool:
    """Whether `node` names a column that is an instant read as UK time (declared, or a
    derived column that gives one), or makes one (AT TIME ZONE, a cast to TIMESTAMPTZ)."""
    from sqlglot import exp

    zoned = {name for name, dtype in schema if _is_uk_time(dtype)}
    return any(isinstance(n, exp.Column) and n.name in zoned
               or isinstance(n, exp.AtTimeZone)
               or isinstance(n, exp.Cast) and n.to.is_type(exp.DataType.Type.TIMESTAMPTZ)
               for n in node.walk())


def _unified(node: Any) -> list[tuple[list[Any], bool]]:
    """The groups of operands that `node` sets against each other and SQL brings to one
    type, each with whether its answer is one of them (True: COALESCE, GREATEST, LEAST, the
    answers of CASE and IF; False: the sides of a comparison, a simple CASE's operand and its
    WHENs, NULLIF's two, + and -). [] for any other node."""
    from sqlglot import exp

    groups: list[tuple[list[Any], bool]] = []
    if sides := _compared(node):
        groups.append((sides, False))
    if isinstance(node, exp.Case):
        ifs = node.args.get("ifs") or ()
        groups.append(([i.args.get("true") for i in ifs] + [node.args.get("default")], True))
        if node.this is not None:
            groups.append(([node.this, *(i.this for i in ifs)], False))
    elif isinstance(node, exp.If) and not isinstance(node.parent, exp.Case):
        groups.append(([node.args.get("true"), node.args.get("false")], True))
    elif isinstance(node, (exp.Coalesce, exp.Greatest, exp.Least)):
        groups.append(([node.this, *node.expressions], True))
    elif isinstance(node, (exp.Nullif, exp.Add, exp.Sub)):
        groups.append(([node.this, node.expression], False))
    return [([s.unnest() if isinstance(s, exp.Paren) else s for s in sides if s is not None],
             joins) for sides, joins in groups]


def _names_any(tree: Any, derived: tuple[tuple[str, str], ...]) -> bool:
    from sqlglot import exp

    names = {name for name, _ in derived}
    return any(column.name in names for column in tree.find_all(exp.Column))


# The UK's zone, whose clock a date's midnight is read by (`_check_clocks`).
UK_ZONE = "Europe/London"


def _check_clocks(node: Any, dataset: str, schema: tuple[tuple[str, Any], ...],
                  derived: tuple[tuple[str, str], ...]) -> None:
    """The epoch of an instant (a datetime column, or a time given its zone with AT TIME ZONE)
    counts the seconds since 1970 in UTC; the epoch of a date or of a time without a zone
    (`CAST(day AS TIMESTAMP)`, `TIMESTAMP '2025-07-01 08:00'`) counts them as if its clock
    were UTC's, an hour more than the UK's all summer. Set one against the other (subtracted,
    added, compared, or one taken where the other is not), directly, within a side or in a
    derived column the side names, the figure is an hour out in every BST month: refused,
    with the epoch of the UK time to write (`CAST(day AS TIMESTAMP) AT TIME ZONE
    'Europe/London'`, the instant of the date's UK midnight). Epochs of one kind together are
    left alone: two dates' epochs are whole days apart."""
    from sqlglot import exp

    sides = _compared(node)
    if not sides and isinstance(node, (exp.Sub, exp.Add)):
        sides = [node.this, node.expression]
    elif not sides and isinstance(node, (exp.Greatest, exp.Least, exp.Coalesce)):
        sides = [node.this, *node.expressions]
    elif not sides and isinstance(node, exp.Case):
        sides = [i.args.get("true") for i in node.args.get("ifs") or ()]
        sides.append(node.args.get("default"))
    elif not sides and isinstance(node, exp.If):
        sides = [node.args.get("true"), node.args.get("false")]
    sides = [side for side in sides if side is not None]
    if len(sides) < 2:
        return
    clocks = [_clocks(side, dataset, schema, derived) for side in sides]
    # One side's epoch of an instant against another's of a time without a zone (a side
    # holding both is checked where they meet, inside it).
    pairs = [(i, j) for i, one in enumerate(clocks) for j, other in enumerate(clocks)
             if i != j and "instant" in one and "wall" in other]
    if not pairs:
        return
    i, j = pairs[0]
    instant, shown = sides[i].sql(), sides[j].sql()
    argument, fix = clocks[j]["wall"]
    via = ("" if shown == f"DATE_PART('epoch', {argument})"
           else f", which takes the epoch of {argument}")
    raise ExpressionProblem(
        f"sets {instant}, of an instant, against {shown}{via}, a date or time without a "
        "zone, whose epoch Polars counts from a UTC clock (an hour out in summer), not as the "
        f"UK's clock reads it: for the seconds of its UK time write DATE_PART('epoch', {fix})")


def _clocks(node: Any, dataset: str, schema: tuple[tuple[str, Any], ...],
            derived: tuple[tuple[str, str], ...], typed: bool = True) -> dict[str, Any]:
    """What the epochs read in `node` count from: 'instant' where it takes the epoch of an
    instant (or, `typed`, is one), 'wall' where of a date or time without a zone (or is one),
    the latter with (the time whose epoch is taken, its UK reading to write)."""
    import polars as pl
    from sqlglot import exp

    dtype = _type_or_none(node, dataset, schema) if typed else None
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        return {"instant": True}
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return {"wall": (node.sql(), _uk_reading(node, dtype))}
    found: dict[str, Any] = {}
    names = dict(derived)
    for sub in node.walk():
        argument = _epoch_argument(sub)
        if argument is not None:
            inner = _type_or_none(argument, dataset, schema)
            if isinstance(inner, pl.Datetime) and inner.time_zone is not None:
                found.setdefault("instant", True)
            elif inner == pl.Date or isinstance(inner, pl.Datetime):
                found.setdefault("wall", (argument.sql(), _uk_reading(argument, inner)))
        elif isinstance(sub, exp.Column) and sub.name in names:
            for key, value in _derived_clocks(sub.name, dataset, schema, derived):
                found.setdefault(key, value)
    return found


@cache
def _derived_clocks(name: str, dataset: str, schema: tuple[tuple[str, Any], ...],
                    derived: tuple[tuple[str, str], ...]) -> tuple[tuple[str, Any], ...]:
    """The epochs a derived column's expression takes (`_clocks`), which may name the derived
    columns declared before it (and only those). A derived date or time is not one: its epoch,
    where one is taken, is read by the column's type."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    names = [n for n, _ in derived]
    before = derived[:names.index(name)]
    try:
        tree = sqlglot.parse_one(dict(derived)[name])
    except SqlglotError:
        return ()
    return tuple(_clocks(tree, dataset, schema, before, typed=False).items())


def _epoch_argument(node: Any) -> Any:
    """What `DATE_PART('epoch', x)` or `EXTRACT(EPOCH FROM x)` takes the epoch of, else None."""
    from sqlglot import exp

    if isinstance(node, exp.Extract):
        part, argument = node.this, node.expression
    elif isinstance(node, exp.Anonymous) and node.name.upper() == "DATE_PART":
        part, argument = (node.expressions + [None, None])[:2]
    else:
        return None
    if part is None or argument is None or part.name.upper() != "EPOCH":
        return None
    return argument


def _uk_reading(node: Any, dtype: Any) -> str:
    """A date or time without a zone as the instant the UK's clock shows it at: a date's
    midnight, `CAST(day AS TIMESTAMP) AT TIME ZONE 'Europe/London'`."""
    import polars as pl
    from sqlglot import exp

    if dtype == pl.Date:
        return f"CAST({node.sql()} AS TIMESTAMP) AT TIME ZONE '{UK_ZONE}'"
    shown = node.sql() if isinstance(node, (exp.Column, exp.Cast, exp.Literal, exp.Func)) \
        else f"({node.sql()})"
    return f"{shown} AT TIME ZONE '{UK_ZONE}'"


def _check_duration_comparison(sides: list[Any], columns: dict[str, str], dataset: str,
                               schema: tuple[tuple[str, Any], ...]) -> None:
    """A duration compared with a number (`attended_at - created_at <= 900`): Polars compares
    the duration's microseconds with the number, a filter silently wrong on every row."""
    from sqlglot import exp

    if not any(isinstance(column, exp.Column) and columns.get(column.name) in TEMPORAL
               for side in sides for column in side.find_all(exp.Column)):
        return
    import polars as pl

    kinds = set()
    for side in sides:
        dtype = _type_or_none(side, dataset, schema)
        if dtype is None:
            continue
        kinds.add("duration" if isinstance(dtype, pl.Duration)
                  else "number" if dtype.is_numeric() else "other")
    if {"duration", "number"} <= kinds:
        raise ExpressionProblem(
            "compares a duration (the difference of two dates or times) with a number, which "
            "Polars reads as microseconds: for seconds write DATE_PART('epoch', attended_at) - "
            "DATE_PART('epoch', created_at) <= 900, or compare with INTERVAL '15 minutes'")


@cache
def _polars_type(text: str, dataset: str, schema: tuple[tuple[str, Any], ...]) -> Any:
    """The type Polars gives the expression over rows of this schema (no rows are read)."""
    import polars as pl

    try:
        expr = polars_expr(text)  # as the engine evaluates it
        return _empty(schema).select(expr.alias("x")).collect_schema()["x"]
    except pl.exceptions.ColumnNotFoundError as exc:
        missing = re.search(r'column "([^"]+)"', str(exc))
        raise ExpressionProblem(f"refers to '{missing.group(1) if missing else '?'}', which is "
                                f"not a column of dataset '{dataset}'") from None
    except ExpressionProblem:
        raise
    except Exception as exc:  # SQL syntax or type errors from Polars
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExpressionProblem(f"is not a valid SQL expression ({first})") from None


@cache
def _run_on_blanks(text: str, dataset: str, schema: tuple[tuple[str, Any], ...]) -> None:
    """Evaluate the expression once, on a row whose every column is blank: what Polars types
    but cannot work out (FLOOR of a duration, REPLACE(s, 'a', NULL), LEFT(NULL, 2)) stops it
    on every row, which the type alone does not show, and would stop `kpi summary` only."""
    import polars as pl

    try:
        _empty(schema).select(polars_expr(text).alias("x")).collect()
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExpressionProblem(f"cannot be worked out by Polars on a row of blanks ({first}): "
                                "write it with the types it has (a text function of a text, "
                                "a number's of a number)") from None


@cache
def _empty(schema: tuple[tuple[str, Any], ...]) -> Any:
    import polars as pl

    return pl.LazyFrame([[None] for _ in schema], schema=dict(schema))


@cache
def polars_expr(text: str, zoned: tuple[str, ...] = ()) -> Any:
    """A checked expression as Polars evaluates it, where `zoned` names the dataset's columns
    that are instants read as UK time (microseconds, Europe/London). Polars' `DATE_PART('epoch',
    t)` (and `EXTRACT(EPOCH FROM t)`) is `t`'s timestamp plus its sub-second field, which for
    a time with a zone Polars works out from the local time: about twice the cost of the same
    field in UTC. An epoch is the same in every zone, and the UK's offsets are whole seconds,
    so the epoch of such a column is taken of the column without its zone (`CAST(t AS
    TIMESTAMP)`: the same microseconds since 1970, UTC's wall clock): the same figure, at the
    cost it had before times were stored as instants."""
    import polars as pl

    expr = pl.sql_expr(_epoch_in_utc(text, zoned) if zoned else text)
    return correctly_divided(expr, _mark(text)) if _REWRITTEN.search(text) else expr


# What `correctly_divided` may rewrite: a division, whole-number arithmetic, or a function
# Polars reads otherwise than standard SQL (`_standard`).
_REWRITTEN = re.compile(
    r"[-+*/]|(?i:round|position|strpos|len|extract|date_?part|upper|ucase|lower|lcase|abs|pow"
    r"|ilike|trim|trunc)")

# Whole-number arithmetic beyond 64 bits (`_checked`) stops the query with Polars' error for a
# failed cast of the text OVERFLOW and the expression's number here, which `overflowed`
# reads back as the expression's text.
OVERFLOW = "kpi-overflow#"
_MARKED: dict[str, int] = {}


def value_roots(expr: Any) -> list[str]:
    """The columns a Polars expression reads the values of, in the order met: every column
    it names but one named only as the operand of `IS NULL` or `IS NOT NULL`, which reads
    whether it is blank, not what it holds (a crime reference read as `ref IS NOT NULL`
    needs no check that its values are spelt one way)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        function = node.get("Function")
        if isinstance(function, dict) and function.get("function") in _NULL_TESTS \
                and all(isinstance(i, dict) and set(i) == {"Column"}
                        for i in function.get("input", ())):
            return
        if set(node) == {"Column"} and isinstance(node["Column"], str):
            if node["Column"] not in found:
                found.append(node["Column"])
            return
        for value in node.values():
            walk(value)

    walk(json.loads(expr.meta.serialize(format="json")))
    return found


_NULL_TESTS = ({"Boolean": "IsNull"}, {"Boolean": "IsNotNull"})


def _mark(text: str) -> str:
    return f"{OVERFLOW}{_MARKED.setdefault(text, len(_MARKED))}"


def overflowed(message: str) -> str | None:
    """The expression whose whole-number arithmetic passed 64 bits, where `message` is the
    error that stopped the query (`_checked`); None for any other error."""
    found = re.search(re.escape(OVERFLOW) + r"(\d+)", message)
    if found is None:
        return None
    number = int(found.group(1))
    return next((text for text, n in _MARKED.items() if n == number), None)


def quotient(dividend: Any, divisor: Any) -> Any:
    """`dividend / divisor`, correctly rounded. Polars (2.1) divides a column by a literal,
    or by a column it holds as one repeated value (a small table's constant column), as a
    multiplication by the reciprocal: 7 ms in seconds was 0.006999999999999999, 0.01 / 3
    was 0.003333333333333333 in one query and 0.0033333333333333335 in another. Adding the
    dividend's null flag (0 on every row that has a quotient) makes the divisor a column of
    the dividend's rows, which Polars divides element by element, as IEEE division rounds;
    a null dividend has no quotient either way."""
    return dividend / _divisor(dividend, divisor)


def _divisor(dividend: Any, divisor: Any) -> Any:
    import polars as pl

    return divisor + dividend.is_null().cast(pl.Float64)


def correctly_divided(expr: Any, mark: str = OVERFLOW) -> Any:
    """The expression with each of its divisions made a `quotient` (the SQL reader's `a / b`,
    and Polars' own true division), and each function Polars reads otherwise than standard
    SQL read as standard SQL reads it (`_standard`), by way of the expression's serialized
    tree: the same expression otherwise, and the same types (a number divided by a number is
    a float either way)."""
    import polars as pl

    tree = _divided(json.loads(expr.meta.serialize(format="json")), mark)
    if _nesting(tree) > _READABLE:
        raise ExpressionProblem("is nested too deeply to read; write it flatter (a derived "
                                "column can name a part)")
    return pl.Expr.deserialize(io.StringIO(json.dumps(tree)), format="json")


# How deeply Polars reads a serialized expression back (serde_json's limit): a sum written
# out takes two levels a term, so 63 columns read and 64 did not, refused as "could not
# deserialize input into an expression", which names nothing the author wrote.
_READABLE = 127


def _nesting(node: Any) -> int:
    """How deeply a serialized tree nests, each object and list a level."""
    if isinstance(node, dict):
        return 1 + max((_nesting(value) for value in node.values()), default=0)
    if isinstance(node, list):
        return 1 + max((_nesting(item) for item in node), default=0)
    return 0


def _divided(node: Any, mark: str = OVERFLOW, within: bool = False) -> Any:
    """The node rewritten (see `correctly_divided`); `within` says that it is inside + - *
    arithmetic which `_in_decimals` works out whole."""
    if isinstance(node, list):
        return [_divided(item, mark, within) for item in node]
    if not isinstance(node, dict):
        return node
    if _wrapping(node) is not None:
        return _checked(node, mark, within)
    node = {key: _divided(value, mark, within) for key, value in node.items()}
    return _divided_node(node, mark)


def _divided_node(node: dict[str, Any], mark: str) -> Any:
    function = node.get("Function")
    if isinstance(function, dict) and function.get("function") == {"Pow": "Generic"} \
            and len(function.get("input", ())) == 2:
        # POWER made a float, as DuckDB's POWER is: Polars raised whole numbers to whole
        # powers in 64 bits, wrapping (POWER(2^62, 2) was 0).
        base, exponent = function["input"]
        return {"Function": {**function, "input": [
            _put(_template("float"), {_ARG: base}), exponent]}}
    if (isinstance(function, dict) and function.get("function") == {"Sql": {"Binary": "Div"}}
            and len(function.get("input", ())) == 2):
        dividend, divisor = function["input"]
        return {"Function": {**function, "input": [dividend, _guarded(dividend, divisor)]}}
    binary = node.get("BinaryExpr")
    if isinstance(binary, dict) and binary.get("op") == "TrueDivide":
        return {"BinaryExpr": {**binary, "right": _guarded(binary["left"], binary["right"])}}
    return _standard(node)


# Row arithmetic worked in the decimals the source wrote. A float column holds each value as
# the float nearest the decimal written (16.1, 1.1), and + - * of those floats is binary:
# 16.1 - 1.1 was 15.000000000000002, over a threshold of 15 minutes it is on; 0.10 + 0.20
# was 0.30000000000000004; 81.18 * 1.2 was 97.41600000000001. So each tree of + - * (unary
# minus is 0 - x) whose operands are columns and numeric literals is worked out, where its
# answer is a float, on the operands' decimals: each column value a decimal of at most nine
# places below 2**22 (four places below 2**39 as a factor of a product), the test the sums
# make (`engine._decimal_units`), each literal the decimal written; the whole numbers of
# those decimals added, subtracted and multiplied exactly (each, and a bound on every step,
# below 2**53), and the answer the float nearest the exact decimal, one correctly rounded
# division by its power of ten. A row with any other operand (a third, a value too large or
# of more places), or whose whole numbers would reach 2**53 (an answer of 16 significant
# figures or more, a product of many columns), keeps the binary answer. A tree with an
# operand of another kind (a function, a division, CASE) is left binary whole; arithmetic
# inside such an operand is worked out on its own.
_SUMS = frozenset({"Plus", "Minus"})
_EXACT_INTEGERS = 2.0**53
_POWERS = 22  # 10**22 is the largest power of ten a float holds exactly
# The places a column's value is read to, below a size (engine.DECIMAL_LIMITS): nine in a
# sum, four as a factor of a product.
DECIMAL_LIMITS = ((9, 2.0**22), (4, 2.0**39))


def _arithmetic(node: Any) -> tuple[str, Any, Any] | None:
    """(operator, left, right) of a serialized + - * node (Plus, Minus, Multiply or Mul, a
    BinaryExpr or Polars' SQL binary function); None for any other node."""
    if not isinstance(node, dict):
        return None
    binary = node.get("BinaryExpr")
    if isinstance(binary, dict) and binary.get("op") in _WRAPPING and _find(node) is None:
        return binary["op"], binary["left"], binary["right"]
    function = node.get("Function")
    if not isinstance(function, dict):
        return None
    kind, inputs = function.get("function"), function.get("input", ())
    if isinstance(kind, dict) and isinstance(kind.get("Sql"), dict) \
            and kind["Sql"].get("Binary") in _WRAPPING and len(inputs) == 2:
        return kind["Sql"]["Binary"], inputs[0], inputs[1]
    return None


def _literal_decimal(node: Any) -> tuple[int, int] | None:
    """A numeric literal as (digits, places): 1.2 is (12, 1), 60 is (60, 0); None otherwise."""
    from decimal import Decimal, InvalidOperation

    literal = node.get("Literal") if isinstance(node, dict) else None
    if not isinstance(literal, dict):
        return None
    dyn, scalar = literal.get("Dyn"), literal.get("Scalar")
    if isinstance(dyn, dict) and isinstance(dyn.get("Int"), int):
        return dyn["Int"], 0
    if isinstance(scalar, dict) and isinstance(scalar.get("Decimal"), list) \
            and len(scalar["Decimal"]) == 3 and all(isinstance(v, int) for v in scalar["Decimal"]):
        digits, _, places = scalar["Decimal"]
        return digits, places
    if isinstance(dyn, dict) and isinstance(dyn.get("Float"), float):
        try:
            written = Decimal(repr(dyn["Float"]))
        except InvalidOperation:
            return None
        if not written.is_finite():
            return None
        sign, figures, exponent = written.as_tuple()
        assert isinstance(exponent, int)
        digits = int("".join(map(str, figures))) * (-1 if sign else 1)
        return (digits * 10**exponent, 0) if exponent >= 0 else (digits, -exponent)
    return None


class _Exact(NamedTuple):
    """A tree's value in decimals on a row: the whole number `m` (held in a float) times
    10**-places; `bound` is at least every whole number met on the way to it, so all are
    exact while it is below 2**53."""

    m: Any
    bound: Any
    places: int


def _in_decimals(node: Any, mark: str) -> Any | None:
    """The serialized tree of `node`'s + - * worked in decimals (see the note above), the
    binary answer (placeholder _ARG) kept where it is not a float or a row cannot be worked
    so; None where an operand is neither a column, a numeric literal nor `_decimal_shaped`
    (whose answer, read standard with `mark` for its own arithmetic, is taken as a column's
    value is). Each operand and
    step is in the tree a fixed number of times, so it grows as the expression does."""
    import polars as pl

    tests: list[Any] = []
    operands: dict[str, Any] = {}

    def leaf(operand: Any, factor: bool) -> _Exact | None:
        literal = _literal_decimal(operand)
        if literal is not None:
            digits, places = literal
            while places > 0 and digits % 10 == 0:
                digits, places = digits // 10, places - 1
            return _Exact(pl.lit(float(digits)), pl.lit(abs(float(digits))), places)
        if isinstance(operand, dict) and set(operand) == {"Column"}:
            value = pl.col(operand["Column"])
        elif _decimal_shaped(operand):
            # A function or CASE whose answer is one of its operands' decimals or a
            # rounding of one (ABS, ROUND, TRUNC, COALESCE, GREATEST, LEAST, FLOOR, CEIL,
            # NULLIF):
            # its answer, read standard (`_divided`), is taken as a column's value is.
            name = f"{_OPERAND}{len(operands)}"
            operands[name] = _divided(operand, mark)
            value = pl.col(name)
        else:
            return None
        # A factor is read to fewer places, so that a product of two columns stays below
        # 2**53: 41.80 * 1.25 is 418,000 * 12,500 hundred-millionths.
        places, below = DECIMAL_LIMITS[1] if factor else DECIMAL_LIMITS[0]
        units, works = _decimal_units(value, places, below)
        tests.append(works)
        return _Exact(units, units.abs(), places)

    def terms(operand: Any, sign: float, signed: list[tuple[float, _Exact]]) -> bool:
        """Collect the terms of a tree of + and - into `signed`, each with its sign."""
        parts = _arithmetic(operand)
        if parts is not None and parts[0] in _SUMS:
            op, left, right = parts
            return terms(left, sign, signed) \
                and terms(right, -sign if op == "Minus" else sign, signed)
        term = build(operand, False)
        if term is None:
            return False
        signed.append((sign, term))
        return True

    def build(operand: Any, factor: bool) -> _Exact | None:
        parts = _arithmetic(operand)
        if parts is None:
            return leaf(operand, factor)
        op, left, right = parts
        if op not in _SUMS:
            a, b = build(left, True), build(right, True)
            if a is None or b is None:
                return None
            return _Exact(a.m * b.m, a.bound * b.bound, a.places + b.places)
        # A sum's terms are added in a balanced tree, not as written: every whole number on
        # the way is exact (each below the bound), so the answer is the same, and the tree is
        # as deep as the log of its length (a chain of forty columns written out was too
        # deep for Polars to read back).
        signed: list[tuple[float, _Exact]] = []
        if not terms(operand, 1.0, signed):
            return None
        places = max(term.places for _, term in signed)
        if places > _POWERS:
            return None
        shifted = [(sign, term, 10.0**(places - term.places)) for sign, term in signed]
        return _Exact(_balanced([t.m * pl.lit(sign * shift) for sign, t, shift in shifted]),
                      _balanced([t.bound * pl.lit(shift) for _, t, shift in shifted]), places)

    exact = build(node, False)
    if exact is None or not tests or exact.places > _POWERS:
        return None
    works = pl.all_horizontal(tests) & (exact.bound < _EXACT_INTEGERS)
    decimal = quotient(exact.m, pl.lit(10.0**exact.places))
    # The answer's type read from the tree as written (_SUB), the same type as the binary
    # answer's and a smaller tree than it (`_checked` adds the checks of its steps).
    expr = _where_float(pl.col(_SUB), works, decimal, pl.col(_ARG))
    return _put(json.loads(expr.meta.serialize(format="json")), {_SUB: node, **operands})


# The functions whose answer is one of their operands, or a rounding of one, so that of
# decimals it is a decimal (`_decimal_shaped`).
_DECIMAL_FUNCTIONS = frozenset({"Abs", "Coalesce", "MaxHorizontal", "MinHorizontal", "Floor",
                                "Ceil"})
_OPERAND = "\0operand"


def _decimal_shaped(node: Any) -> bool:
    """Whether a serialized node's answer is a decimal of its columns' and literals'
    decimals: a column, a number or NULL written out, + - * of such, or ABS, ROUND, COALESCE,
    GREATEST, LEAST, FLOOR, CEIL, TRUNC, CASE or NULLIF of such (a CASE's conditions are not its
    answer). A division, a cast, POWER or any other function is not."""
    if not isinstance(node, dict):
        return False
    if set(node) == {"Column"} or _is_null(node) or _literal_decimal(node) is not None:
        return True
    parts = _arithmetic(node)
    if parts is not None:
        return _decimal_shaped(parts[1]) and _decimal_shaped(parts[2])
    ternary = node.get("Ternary")
    if isinstance(ternary, dict):
        return _decimal_shaped(ternary.get("truthy")) and _decimal_shaped(ternary.get("falsy"))
    function = node.get("Function")
    if not isinstance(function, dict):
        return False
    kind, inputs = function.get("function"), function.get("input", ())
    rounding = isinstance(kind, dict) and (
        "Round" in kind or "Truncate" in kind
        or (isinstance(kind.get("Sql"), dict) and "Round" in kind["Sql"]))
    return bool(inputs) and (rounding or (isinstance(kind, str) and kind in _DECIMAL_FUNCTIONS)) \
        and all(_decimal_shaped(part) for part in inputs)


def _in_places(arg: Any, decimals: int, binary: Any, half: bool) -> Any:
    """`arg` rounded (`half`: a half away from zero) or cut (towards zero) to `decimals`
    places as the decimal it was written as, where it is a float of at most nine places below
    2**22 (`_decimal_units`); `binary` (the rounding of the float as held) elsewhere."""
    import polars as pl

    places = DECIMAL_LIMITS[0][0]
    if decimals >= places:
        return binary
    units, works = _decimal_units(arg, *DECIMAL_LIMITS[0])
    whole = units.cast(pl.Int64, strict=False)
    step = 10**(places - decimals)
    kept = ((whole.abs() + (step // 2 if half else 0)) // step) * whole.sign()
    return _where_float(arg, works, quotient(kept.cast(pl.Float64), pl.lit(10.0**decimals)),
                        binary)


def _where_float(typed: Any, works: Any, decimal: Any, binary: Any) -> Any:
    """`decimal` where `typed`'s type is a float and `works` holds, as that type; `binary`
    elsewhere. Both branches are worked out on every row, so where the type is not a float
    (a literal's Decimal(1, 1), a whole number) the one not taken is 0, which every type
    holds: 1.0, which Decimal(1, 1) does not, stopped ROUND(0.5)."""
    import polars as pl
    import polars.selectors as cs

    kind = pl.dtype_of(typed)
    is_float = kind.matches(cs.float())
    taken = pl.when(is_float).then(decimal).otherwise(pl.lit(0.0)).cast(kind, strict=False)
    return pl.when(is_float & works).then(taken).otherwise(binary)


def _decimal_units(operand: Any, places: int, below: float) -> tuple[Any, Any]:
    """(units, works): a number's value in units of 10**-places (a whole number held in a
    float), and whether on the row it is a decimal of at most `places` places below `below`,
    so that the float nearest `units` 10**-places is the value itself."""
    import polars as pl

    value = operand.cast(pl.Float64, strict=False)
    whole = pl.when(value < 0).then(value.ceil()).otherwise(value.floor())
    units = whole * 10.0**places + ((value - whole) * 10.0**places).round()
    return units, (value.abs() < below) & (quotient(units, pl.lit(10.0**places)) == value)


def _balanced(parts: list[Any]) -> Any:
    """The sum of the expressions, added in a balanced tree."""
    if len(parts) == 1:
        return parts[0]
    middle = len(parts) // 2
    return _balanced(parts[:middle]) + _balanced(parts[middle:])


# Polars' SQL functions whose whole-number answer is a narrow type (Int8 for a month or a day,
# UInt32 for a length) that arithmetic wraps around in: EXTRACT(MONTH FROM d) * 20 was -16 in
# December, LENGTH(s) - 4 was 4,294,967,295 for 'abc'. Standard SQL gives a BIGINT.
_NARROW = frozenset({
    ("TemporalExpr", name) for name in (
        "Millennium", "Century", "Year", "IsoYear", "Quarter", "Month", "Week", "WeekDay",
        "Day", "OrdinalDay", "Hour", "Minute", "Second", "Millisecond", "Microsecond",
        "Nanosecond")} | {("StringExpr", "LenChars"), ("StringExpr", "LenBytes")})


def _standard(node: dict[str, Any]) -> Any:
    """A node of a serialized expression read as standard SQL (and DuckDB) reads it, where
    Polars' SQL reads it otherwise and gives another figure on the same rows:

    - ROUND rounds a half away from zero (ROUND(2.5) is 3, ROUND(-0.25, 1) is -0.3), where
      Polars rounds it to even (2); ROUND and TRUNC of a float round or cut the decimal it was
      written as (ROUND(1.005, 2) is 1.01, TRUNC(1.13, 2) is 1.13);
    - POSITION(sub IN s) and STRPOS(s, sub) count characters of the text as written (Polars
      read `sub` as a regular expression, so '.' was found at 1 in 'abc', counted bytes, so
      'x' was at 5 in 'Zoëx', and gave 0 for a NULL text where SQL gives NULL);
    - a part of a date (EXTRACT, DATE_PART) or a length is a 64-bit whole number (`_NARROW`);
    - UPPER('straße') is 'STRAẞE', one letter for one, as DuckDB writes it (Polars wrote
      'STRASSE', a letter longer, equal to no text DuckDB compares it with);
    - LOWER('İ') is 'i' and LOWER('ΑΣ') is 'ασ', one letter for one whatever follows, as
      DuckDB writes them (Polars wrote 'i̇', two letters, and a word's last Σ as 'ς');
    - a UK time plus or minus an INTERVAL of days or months (Polars' `offset_by`) whose clock
      time the spring change skips is the time that far past the change, as DuckDB and
      PostgreSQL read it (`_offset_template`).
    """
    function = node.get("Function")
    if not isinstance(function, dict):
        return node
    kind = function.get("function")
    inputs = function.get("input", ())
    if isinstance(kind, dict) and isinstance(kind.get("Sql"), dict) and "Round" in kind["Sql"]:
        decimals = kind["Sql"]["Round"].get("decimals", 0)
        if len(inputs) == 1 and isinstance(decimals, int) and decimals >= 0:
            return _put(_template("round", decimals), {_ARG: inputs[0]})
    if isinstance(kind, dict) and isinstance(kind.get("Truncate"), dict) and len(inputs) == 1:
        decimals = kind["Truncate"].get("decimals", 0)
        if isinstance(decimals, int) and decimals >= 0:
            return _put(_template("trunc", decimals), {_ARG: inputs[0], _SUB: node})
    if kind == "FillNull" and len(inputs) == 2:
        found = _find(inputs[0])
        if found is not None:
            text, sub = found
            return _put(_template("position"), {_ARG: text, _SUB: sub})
    if kind in _TRIMS and len(inputs) == 2 and _is_null(inputs[1]):
        # TRIM(s), LTRIM(s), RTRIM(s): DuckDB takes off the spaces of Unicode's space
        # separators (a no-break space, an em space), never a tab or a line break, which
        # Polars took off too (a tab left by SPLIT_PART matched where DuckDB's did not).
        return {"Function": {**function, "input": [
            inputs[0], {"Literal": {"Scalar": {"String": SPACE_SEPARATORS}}}]}}
    if kind == {"StringExpr": "Uppercase"} and len(inputs) == 1:
        return _put(_template("upper"), {_ARG: inputs[0]})
    if kind == {"StringExpr": "Lowercase"} and len(inputs) == 1:
        return _put(_template("lower"), {_ARG: inputs[0]})
    if isinstance(kind, dict) and isinstance(kind.get("StringExpr"), dict) \
            and "Contains" in kind["StringExpr"] and len(inputs) == 2 \
            and (pattern := _literal_text(inputs[1])) is not None \
            and pattern.startswith(("(?is)", "(?i)")):
        # ILIKE, which Polars reads as a regular expression matched without case, folded its
        # own way: 'İbrahim' did not match 'ibrahim%', 'ΟΔΟΣ' matched 'οδος', where DuckDB
        # (and kpi's LOWER) read both as LOWER(text) LIKE LOWER(pattern). So it is read.
        flags, _, body = pattern.partition(")")
        lowered = _lowered(body)
        return {"Function": {**function, "input": [
            _put(_template("lower"), {_ARG: inputs[0]}),
            {"Literal": {"Scalar": {"String": flags.replace("i", "") + ")" + lowered}}}]}}
    if kind == {"TemporalExpr": "OffsetBy"} and len(inputs) == 2 \
            and (by := _literal_text(inputs[1])) is not None \
            and (offset := _offset_template(by)) is not None:
        return _put(offset, {_ARG: inputs[0], _SUB: node})
    if isinstance(kind, dict) and len(kind) == 1:
        ((family, name),) = kind.items()
        if isinstance(name, str) and (family, name) in _NARROW:
            return _put(_template("wide"), {_ARG: node})
    return node


# The characters TRIM, LTRIM and RTRIM take off where none are named: Unicode's space
# separators (category Zs), as DuckDB takes them.
SPACE_SEPARATORS = ("\u0020\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
                    "\u2008\u2009\u200a\u202f\u205f\u3000")
_TRIMS = ({"StringExpr": "StripChars"}, {"StringExpr": "StripCharsStart"},
          {"StringExpr": "StripCharsEnd"})


def _is_null(node: Any) -> bool:
    """Whether a serialized node is the NULL literal."""
    return isinstance(node, dict) and node.get("Literal") == {"Scalar": {"Null": "Null"}}


def _literal_text(node: Any) -> str | None:
    """The text of a serialized string literal, or None."""
    if not isinstance(node, dict):
        return None
    scalar = node.get("Literal", {}).get("Scalar") if isinstance(node.get("Literal"),
                                                                  dict) else None
    text = scalar.get("String") if isinstance(scalar, dict) else None
    return text if isinstance(text, str) else None


def _lowered(text: str) -> str:
    """A text as kpi's LOWER writes it (`_template("lower")`), by the same Polars calls."""
    import polars as pl

    lowered = (pl.Series([text]).str.replace_all("İ", "i", literal=True)
               .str.replace_all("Σ", "σ", literal=True).str.to_lowercase())
    return str(lowered[0])


# Polars' whole-number operators, which wrap round modulo 2**64 (Rust's wrapping arithmetic):
# `i + 1` of the largest 64-bit integer was the smallest, ABS of the smallest was itself.
_WRAPPING = frozenset({"Plus", "Minus", "Multiply", "Mul"})


def _wrapping(node: Any) -> list[Any] | None:
    """The operands of a serialized node of whole-number arithmetic that wraps round in Polars
    (+, -, *, unary minus, which Polars reads as 0 - x, and ABS); None for any other node."""
    binary = node.get("BinaryExpr") if isinstance(node, dict) else None
    if isinstance(binary, dict) and binary.get("op") in _WRAPPING and _find(node) is None:
        return [binary["left"], binary["right"]]
    function = node.get("Function") if isinstance(node, dict) else None
    if not isinstance(function, dict):
        return None
    kind, inputs = function.get("function"), function.get("input", ())
    if (kind == "Abs" and len(inputs) == 1) or (
            isinstance(kind, dict) and isinstance(kind.get("Sql"), dict)
            and kind["Sql"].get("Binary") in _WRAPPING and len(inputs) == 2):
        return list(inputs)
    return None


def _with_operands(node: dict[str, Any], operands: list[Any]) -> Any:
    """A `_wrapping` node with other operands."""
    if "BinaryExpr" in node:
        left, right = operands
        return {"BinaryExpr": {**node["BinaryExpr"], "left": left, "right": right}}
    return {"Function": {**node["Function"], "input": operands}}


def _checked(node: dict[str, Any], mark: str, within: bool = False,
             exact: Any | None = None) -> Any:
    """A tree of whole-number arithmetic (+, -, *, unary minus, ABS: `_wrapping` nodes, its
    other operands rewritten as `_divided`) made to stop the query where any node's 64-bit
    answer wraps round, as DuckDB stops with an error. Each node is checked where its type is
    a whole number (Polars decides that from the schema, before any row is read, so a sum of
    fractions, dates or text is untouched): its answer against its value worked out in 128
    bits, the tree's operands as 128-bit integers and each node's operation on its operands'
    128-bit values, which cannot wrap while its operands are within 64 bits (where one is not,
    the node below stops the query already); they differ exactly where the answer wrapped at
    that node or below it. The checks are put together at the tree's top (one stop for any of
    them), so each node is in the tree a fixed number of times per node above it: a chain of
    additions grows, and is worked out, as the square of its length (forty columns, some
    0.6 MB and 820 additions a row). Each node was once
    checked against its operands' checked answers, which copied every node below it three
    times per level, so that `a + b + ... + j` of ten columns was some 90 MB that Polars could
    not read, refused when the file loaded. `within` and `exact` are as `_divided`'s: a
    subtree worked in decimals (`_in_decimals`) is checked on its own, under its rewrite."""
    if exact is None and not within and _arithmetic(node) is not None:
        exact = _in_decimals(node, mark)
    inner = within or exact is not None
    checks: list[Any] = []

    def walk(part: Any, top: bool) -> tuple[Any, Any]:
        """The part's rewritten 64-bit answer and its 128-bit value."""
        operands = _wrapping(part)
        if operands is None:
            answer = _divided(part, mark, inner)
            return answer, _put(_template("wide128"), {_ARG: answer})
        if not top and not inner and _arithmetic(part) is not None:
            own = _in_decimals(part, mark)
            if own is not None:
                answer = _checked(part, mark, inner, own)
                return answer, _put(_template("wide128"), {_ARG: answer})
        parts = [walk(operand, False) for operand in operands]
        answer = _with_operands(part, [p[0] for p in parts])
        wide = _with_operands(part, [p[1] for p in parts])
        checks.append(_put(_template("wrapped"), {_ARG: answer, _SUB: wide}))
        return answer, wide

    answer, _ = walk(node, True)
    wrapped = checks[0] if len(checks) == 1 else {"Function": {
        "input": checks, "function": {"Boolean": "AnyHorizontal"}}}
    checked = _put(_template("checked", mark=mark), {_ARG: answer, _SUB: wrapped})
    return checked if exact is None else _put(exact, {_ARG: checked})


def _find(node: Any) -> tuple[Any, Any] | None:
    """(text, sub) of Polars' reading of POSITION(sub IN s): `find(s, sub) + 1`."""
    binary = node.get("BinaryExpr") if isinstance(node, dict) else None
    if not isinstance(binary, dict) or binary.get("op") != "Plus":
        return None
    left = binary.get("left")
    function = left.get("Function") if isinstance(left, dict) else None
    if not isinstance(function, dict):
        return None
    kind = function.get("function")
    if (isinstance(kind, dict) and isinstance(kind.get("StringExpr"), dict)
            and "Find" in kind["StringExpr"] and len(function.get("input", ())) == 2):
        text, sub = function["input"]
        return text, sub
    return None


_ARG, _SUB = "\0arg", "\0sub"
# The units of Polars' offsets (`offset_by`, as its SQL writes an INTERVAL): whole months
# (y, q, mo), whole days on the clock (w, d), and microseconds (the rest).
_OFFSET_UNITS = {"y": (12, 0, 0), "q": (3, 0, 0), "mo": (1, 0, 0), "w": (0, 7, 0),
                 "d": (0, 1, 0), "h": (0, 0, 3_600_000_000), "m": (0, 0, 60_000_000),
                 "s": (0, 0, 1_000_000), "ms": (0, 0, 1_000), "us": (0, 0, 1)}
_OFFSET_PART = r"(\d+)(mo|ms|us|[yqwdhms])"


@cache
def _offset_template(by: str) -> Any | None:
    """Polars' `offset_by(by)` (placeholder _SUB, of _ARG) as DuckDB reads an INTERVAL added
    to a UK time: the months on the UK's clock, then the days, then the hours and less as
    elapsed time (taken off, the hours and less first). Where the clock time a month or day
    lands on is one the spring change skips (01:30 on 30 March 2025, a day after 01:30 on
    the 29th), it is read that far past the change (02:30 BST), as DuckDB and PostgreSQL
    read it; Polars gave 00:30 GMT, an hour early. Where it is one the autumn change
    repeats, it is read by the UK offset the time had after a whole number of days (01:30
    BST a day after 01:30 BST), and as GMT after months, as DuckDB reads it (PostgreSQL
    reads GMT after either). A date or a time without a zone keeps Polars' offset. None for
    an offset of any other form (left as it is)."""
    import polars as pl
    import polars.selectors as cs

    found = re.fullmatch(rf"(-?)((?:{_OFFSET_PART})+)", by)
    if found is None:
        return None
    sign = -1 if found.group(1) else 1
    months = days = micros = 0
    for amount, unit in re.findall(_OFFSET_PART, found.group(2)):
        m, d, u = _OFFSET_UNITS[unit]
        months, days, micros = months + m * int(amount), days + d * int(amount), \
            micros + u * int(amount)
    arg, polars_own = pl.col(_ARG), pl.col(_SUB)
    moved = arg.cast(pl.Datetime("us", UK_ZONE), strict=False)
    steps: list[Callable[[Any], Any]] = [
        lambda at: _on_uk_clock(at, f"{sign * months}mo", keep=False) if months else at,
        lambda at: _on_uk_clock(at, f"{sign * days}d", keep=True) if days else at,
        lambda at: at + pl.duration(microseconds=sign * micros) if micros else at]
    for step in steps if sign > 0 else steps[2:] + steps[:2]:
        moved = step(moved)
    zoned = pl.dtype_of(arg).matches(cs.datetime(time_zone=UK_ZONE))
    expr = pl.when(zoned).then(moved.cast(pl.dtype_of(polars_own), strict=False)) \
        .otherwise(polars_own)
    return json.loads(expr.meta.serialize(format="json"))


def _on_uk_clock(instant: Any, step: str, keep: bool) -> Any:
    """A UK time moved by whole days or months (`step`, as `offset_by` writes them) on the
    UK's clock: a clock time the spring change skips is read an hour on (the clock changes by
    an hour); one the autumn change repeats by the time's own offset (`keep`, BST where it was
    BST) or as GMT, the later of the two."""
    import polars as pl

    clock = instant.dt.replace_time_zone(None).dt.offset_by(step)
    later = pl.lit("latest")
    ambiguous = (pl.when(instant.dt.dst_offset() > pl.duration(hours=0))
                 .then(pl.lit("earliest")).otherwise(later) if keep else later)
    placed = clock.dt.replace_time_zone(UK_ZONE, ambiguous=ambiguous, non_existent="null")
    hour = pl.duration(hours=1)
    skipped = (clock - hour).dt.replace_time_zone(UK_ZONE, ambiguous="earliest",
                                                  non_existent="null") + hour
    return pl.coalesce(placed, skipped)


@cache
def _template(name: str, decimals: int = 0, mark: str = OVERFLOW) -> Any:
    """The serialized tree of a standard reading, over placeholder columns (`_put`)."""
    import polars as pl
    import polars.selectors as cs

    arg, sub = pl.col(_ARG), pl.col(_SUB)
    if name == "wrapped":
        # arg is a node's 64-bit answer, sub its value in 128 bits.
        expr = pl.dtype_of(arg).matches(cs.integer()) & (sub != arg.cast(pl.Int128,
                                                                          strict=False))
    elif name == "checked":
        # arg is the answer, sub whether any of its nodes wrapped round: where it did on a
        # row, the strict cast of the text `mark` to a number fails and stops the query.
        stop = pl.when(sub).then(pl.lit(mark)).cast(pl.Int8, strict=True)
        expr = pl.when(stop.is_null()).then(arg)
    elif name == "wide128":
        expr = arg.cast(pl.Int128, strict=False)
    elif name == "float":
        expr = arg.cast(pl.Float64)
    elif name == "round":
        # A float is rounded as the decimal it was written as (ROUND(1.005, 2) is 1.01, as
        # Excel and a warehouse's DECIMAL make it), where that decimal is of at most nine
        # places below 2**22 (`_decimal_units`); binary rounding of the float nearest it
        # gave 1.0 (1.00499999...). Any other value, and a whole number, is rounded as held.
        expr = _in_places(arg, decimals, arg.round(decimals, mode="half_away_from_zero"),
                          half=True)
    elif name == "trunc":
        # TRUNC(x, n) likewise cuts the decimal written (TRUNC(1.13, 2) is 1.13; the float
        # nearest 1.13, 1.12999999..., was cut to 1.12); `sub` is Polars' own truncation.
        expr = _in_places(arg, decimals, sub, half=False)
    elif name == "position":
        expr = (pl.when(arg.is_null() | sub.is_null()).then(None)
                .when(sub == "").then(1)
                .when(arg.str.contains(sub, literal=True))
                .then(arg.str.split(sub).list.first().str.len_chars().cast(pl.Int64) + 1)
                .otherwise(0).cast(pl.Int64))
    elif name == "upper":
        expr = arg.str.replace_all("ß", "ẞ", literal=True).str.to_uppercase()
    elif name == "lower":
        expr = (arg.str.replace_all("İ", "i", literal=True)
                .str.replace_all("Σ", "σ", literal=True).str.to_lowercase())
    else:
        expr = arg.cast(pl.Int64)
    return json.loads(expr.meta.serialize(format="json"))


def _put(template: Any, parts: dict[str, Any]) -> Any:
    """The template with each placeholder column replaced by its serialized part."""
    if isinstance(template, dict):
        if len(template) == 1 and template.get("Column") in parts:
            return parts[template["Column"]]
        return {key: _put(value, parts) for key, value in template.items()}
    if isinstance(template, list):
        return [_put(item, parts) for item in template]
    return template


def _guarded(dividend: Any, divisor: Any) -> Any:
    """The serialized tree of `quotient`'s divisor for these serialized operands."""
    def put(node: Any) -> Any:
        if node == {"Column": _DIVIDEND}:
            return dividend
        if node == {"Column": _DIVISOR}:
            return divisor
        if isinstance(node, list):
            return [put(item) for item in node]
        if isinstance(node, dict):
            return {key: put(value) for key, value in node.items()}
        return node

    return put(_divisor_template())


_DIVIDEND, _DIVISOR = "\0dividend", "\0divisor"


@cache
def _divisor_template() -> Any:
    import polars as pl

    divisor = _divisor(pl.col(_DIVIDEND), pl.col(_DIVISOR))
    return json.loads(divisor.meta.serialize(format="json"))


def _epoch_in_utc(text: str, zoned: tuple[str, ...]) -> str:
    """The text with each epoch of a column named in `zoned` taken of it without its zone;
    quoted text (a string or a quoted name) is passed over whole, so nothing in it is read."""
    def rewrite(found: re.Match[str]) -> str:
        group = "column" if found.group("column") is not None else "column2"
        name = found.group(group)
        if name is None or name.strip('"') not in zoned:
            return found.group(0)
        start, end = (at - found.start() for at in found.span(group))
        whole = found.group(0)
        return f"{whole[:start]}CAST({name} AS TIMESTAMP){whole[end:]}"

    return _EPOCH.sub(rewrite, text)


_NAME = r'(?:"[^"]+"|[A-Za-z_][A-Za-z0-9_]*)'
# A quoted string or name (passed over whole), or an epoch of one column, in either spelling.
_EPOCH = re.compile(
    r"'(?:[^']|'')*'|\"[^\"]*\""
    rf"|\bDATE_PART\s*\(\s*'epoch'\s*,\s*(?P<column>{_NAME})\s*\)"
    rf"|\bEXTRACT\s*\(\s*EPOCH\s+FROM\s+(?P<column2>{_NAME})\s*\)",
    re.IGNORECASE)


@cache
def compared_text(text: str) -> tuple[tuple[str, str, bool], ...]:
    """Each (column, text literal, whether the comparison holds where they are equal) an
    expression compares for equality: `lpa = 'Dudley'`, `'Dudley' = lpa`, `lpa IN ('Dudley',
    'Walsall')`, `lpa IS NOT DISTINCT FROM 'Dudley'` (True); `lpa <> 'Dudley'`, `lpa NOT IN
    (...)`, `lpa IS DISTINCT FROM 'Dudley'` (False); in the order written; () for text sqlglot
    cannot read (the checks name the fault). The literals a stored cell must be able to equal,
    as kpi.toml writes them (`kpi.catalogue` refuses one no cell can equal, `kpi.engine` one
    that names a stored value in another spelling)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        tree = sqlglot.parse_one(text)
    except (SqlglotError, RecursionError):
        return ()
    found: list[tuple[str, str, bool]] = []
    for node in tree.walk():
        if isinstance(node, exp.Case) and node.this is not None:
            # CASE lpa WHEN 'Walsall ' THEN ...: each WHEN compares the column for equality
            # (it counted 0 where `lpa = 'Walsall '` is refused).
            column = answer_column(node.this)
            if column is not None:
                found += [(column, literal, True) for w in node.args.get("ifs") or []
                          if (literal := _sql_literal_text(w.this)) is not None]
            continue
        if isinstance(node, exp.Nullif):
            # NULLIF(lpa, 'Walsall ') is lpa where it is not 'Walsall ': a comparison, which
            # leaves '' every stored value, as `<>` does.
            column, literal = answer_column(node.this), _sql_literal_text(node.expression)
            if column is not None and literal is not None:
                found.append((column, literal, False))
            continue
        if not isinstance(node, (exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.NullSafeNEQ, exp.In)):
            continue
        sides = _equated(node)
        columns = [c for s in sides if (c := answer_column(s)) is not None]
        if len(columns) != 1:
            continue
        holds = not (isinstance(node, (exp.NEQ, exp.NullSafeNEQ))
                     or (isinstance(node, exp.In) and isinstance(node.parent, exp.Not)))
        found += [(columns[0], literal, holds) for s in sides
                  if (literal := _sql_literal_text(s)) is not None]
    return tuple(found)


# The properties a text's case or spacing can have that a change of it keeps
# (`never_given`): no lower-case letter (after UPPER), no upper-case letter (after LOWER), no
# space first (after TRIM or LTRIM), no space last (after TRIM or RTRIM).
_NO_LOWER, _NO_UPPER, _NO_LEADING, _NO_TRAILING = "upper", "lower", "ltrim", "rtrim"
_CASES: frozenset[str] = frozenset((_NO_LOWER, _NO_UPPER))


def _one_case(case: Callable[[str], str], literal: str) -> str:
    """The literal in one case; only a character whose other case is one character (the
    German sharp s upper-cases to two, which the databases read apart) is changed."""
    return "".join(case(c) if len(case(c)) == 1 else c for c in literal)


def _as_kept(kept: frozenset[str], literal: str) -> str:
    """The literal as a text holding `kept` could be it (the literal itself where it can)."""
    if _NO_LOWER in kept:
        literal = _one_case(str.upper, literal)
    if _NO_UPPER in kept:
        literal = _one_case(str.lower, literal)
    if _NO_LEADING in kept:
        literal = literal.lstrip(" ")
    if _NO_TRAILING in kept:
        literal = literal.rstrip(" ")
    return literal


@cache
def never_given(text: str, derived: tuple[tuple[str, str], ...] = ()
                ) -> tuple[tuple[str, str, str], ...]:
    """Each (a text kept in one case or trimmed as written, a literal compared with it or a
    pattern matched with it, the literal as that text could be it) where the text can never
    be the literal: `UPPER(lpa) = 'Dudley'` (UPPER leaves no letter with an upper case),
    `LOWER(outcome) IN ('Charged')`, `TRIM(lpa) = 'Dudley '` (TRIM leaves no space before or
    after; LTRIM before, RTRIM after), in the order written; () for text sqlglot cannot read.
    What a change gives is carried through what keeps it (`kept`): LEFT, RIGHT and SUBSTRING
    of it, REPLACE, CONCAT and || with literals that keep it too, COALESCE, IF and CASE whose
    every answer keeps it (a literal answer, 'none', is given as written, so only a literal
    other than it is judged, by equality), and a derived column (`derived`, (name,
    expression) pairs) of it.
    It is judged in =, <>, IN, ANY, IS [NOT] DISTINCT FROM, NULLIF, a simple CASE's WHEN,
    LIKE, STARTS_WITH, ENDS_WITH, CONTAINS, STRPOS and REGEXP_LIKE (by case alone, and only a
    pattern with no class, escape or flag, whose letters are letters). Such a comparison
    holds on no row (counted 0, exit 0), or, as `<>`, on every row: `kpi.catalogue` refuses
    it."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    expressions = dict(derived)

    def literal_kept(literal: str) -> frozenset[str]:
        return frozenset(k for k in (_NO_LOWER, _NO_UPPER, _NO_LEADING, _NO_TRAILING)
                         if _as_kept(frozenset((k,)), literal) == literal)

    def kept(node: Any, stand_ins: list[str], seen: frozenset[str] = frozenset()
             ) -> frozenset[str]:
        """What the text `node` gives always holds; a literal's own; nothing for a column. A
        literal answer of COALESCE, IF or CASE ('Unknown') is put in `stand_ins` instead: it
        is given as written."""
        while isinstance(node, exp.Paren):
            node = node.this
        if (literal := _sql_literal_text(node)) is not None:
            return literal_kept(literal)
        if (derived_tree := _derived_of(node, expressions, seen)) is not None:
            tree, followed = derived_tree
            return kept(tree, stand_ins, followed)
        if isinstance(node, exp.Column):
            return frozenset()
        if isinstance(node, (exp.Upper, exp.Lower, exp.Trim)):
            # the change is made of a stand-in too, so none is left
            inner = kept(node.this, [], seen)
            if isinstance(node, exp.Upper):
                return inner - _CASES | {_NO_LOWER}
            if isinstance(node, exp.Lower):
                return inner - _CASES | {_NO_UPPER}
            if node.args.get("expression") is not None:  # TRIM('x' FROM lpa): not spaces
                return inner & _CASES
            position = str(node.args.get("position") or "BOTH").upper()
            trims = {"BOTH": {_NO_LEADING, _NO_TRAILING}, "LEADING": {_NO_LEADING},
                     "TRAILING": {_NO_TRAILING}}
            return inner | trims.get(position, set())
        if isinstance(node, (exp.Left, exp.Right, exp.Substring, exp.Replace, exp.DPipe,
                             exp.Concat)):
            # a part of a text, or texts joined: a stand-in in it is given changed, so
            # nothing is judged of it
            parts, inner = _text_parts(node), []
            held = _all_keep([kept(p, inner, seen) for p in parts])
            return frozenset() if inner else held - _cut(node)
        if isinstance(node, exp.Coalesce):
            answers = [node.this, *node.expressions]
        elif isinstance(node, exp.If):
            answers = [node.args.get("true"), node.args.get("false")]
        elif isinstance(node, exp.Case):
            answers = [w.args.get("true") for w in node.args.get("ifs") or []] + [
                node.args.get("default")]
        else:
            return frozenset()
        answers = [a for a in answers if a is not None and not isinstance(a, exp.Null)]
        stand_ins += [t for a in answers if (t := _sql_literal_text(a)) is not None]
        return _all_keep([kept(a, stand_ins, seen) for a in answers
                          if _sql_literal_text(a) is None])

    def compared(node: Any) -> list[tuple[Any, Any, frozenset[str]]]:
        """Each (text, literal, what of the text the literal is held to) `node` compares:
        the whole text for equality and LIKE, its start or end for STARTS_WITH and
        ENDS_WITH, its case alone for a part of it (CONTAINS, STRPOS, REGEXP_LIKE)."""
        whole = frozenset((_NO_LOWER, _NO_UPPER, _NO_LEADING, _NO_TRAILING))
        if isinstance(node, exp.Case) and node.this is not None:
            return [(node.this, w.this, whole) for w in node.args.get("ifs") or []]
        if isinstance(node, exp.Nullif):
            return [(node.this, node.expression, whole)]
        if isinstance(node, exp.StartsWith):
            return [(node.this, node.expression, whole - {_NO_TRAILING})]
        if isinstance(node, exp.EndsWith):
            return [(node.this, node.expression, whole - {_NO_LEADING})]
        if isinstance(node, exp.Contains):
            return [(node.this, node.expression, _CASES)]
        if isinstance(node, exp.StrPosition):
            return [(node.this, node.args.get("substr"), _CASES)]
        if isinstance(node, exp.RegexpLike):
            pattern = _sql_literal_text(node.expression)
            plain = pattern is not None and not any(c in pattern for c in ("\\", "[", "(?"))
            return [(node.this, node.expression, _CASES)] if plain else []
        if not isinstance(node, (exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.NullSafeNEQ, exp.In,
                                 exp.Like)):
            return []
        sides = _equated(node)
        texts = [s for s in sides if _sql_literal_text(s) is None]
        return [(texts[0], s, whole) for s in sides if len(texts) == 1 and s is not texts[0]]

    try:
        tree = sqlglot.parse_one(text)
    except (SqlglotError, RecursionError):
        return ()
    found: list[tuple[str, str, str]] = []
    for node in tree.walk():
        # a pattern or a part of the text may match a stand-in: only equality is judged there
        exact = not isinstance(node, (exp.Like, exp.StartsWith, exp.EndsWith, exp.Contains,
                                      exp.StrPosition, exp.RegexpLike))
        for changed, side, judged in compared(node):
            literal, stand_ins = _sql_literal_text(side), []
            if literal is None or not (holds := kept(changed, stand_ins) & judged):
                continue
            if stand_ins and (not exact or literal in stand_ins):
                continue
            if (could := _as_kept(holds, literal)) != literal:
                found.append((changed.sql(), literal, could))
    return tuple(found)


def _all_keep(kepts: list[frozenset[str]]) -> frozenset[str]:
    """What every one of several texts keeps (nothing for none)."""
    return frozenset.intersection(*kepts) if kepts else frozenset()


def _text_parts(node: Any) -> list[Any]:
    """The texts a part of a text, or texts joined, are made of: LEFT, RIGHT and SUBSTRING
    of their text, REPLACE of its text and replacement, CONCAT and || of their parts."""
    from sqlglot import exp

    if isinstance(node, exp.Replace):
        return [p for p in (node.this, node.args.get("replacement")) if p is not None]
    if isinstance(node, exp.DPipe):
        return [node.this, node.expression]
    if isinstance(node, exp.Concat):
        return list(node.expressions)
    return [node.this]


def _cut(node: Any) -> frozenset[str]:
    """What of the texts' spacing `_text_parts`' node may not keep: a part may end, or
    begin, where the text held a space, and a text joined or replaced may hold one there."""
    from sqlglot import exp

    start = node.args.get("start") if isinstance(node, exp.Substring) else None
    if isinstance(node, exp.Left) or (start is not None and start.sql() == "1"):
        return frozenset((_NO_TRAILING,))
    if isinstance(node, exp.Right):
        return frozenset((_NO_LEADING,))
    return frozenset((_NO_LEADING, _NO_TRAILING))


@cache
def like_patterns(text: str) -> tuple[tuple[str, str, str], ...]:
    """Each (column, pattern, test) an expression matches in a way that tells case apart,
    as the `LIKE` pattern it is, the column as `answer_column` reads it, in the order
    written: `LIKE` and `NOT LIKE` (test ''), and the tests of a part of the text, as
    written (test): `STRPOS(c, 'x')` and `POSITION('x' IN c)` compared with anything and
    `CONTAINS(c, 'x')` ('%x%'), `STARTS_WITH(c, 'x')` ('x%'), `ENDS_WITH(c, 'x')` ('%x'),
    `LEFT(c, n)` or `SUBSTRING(c, 1, n)` compared with a literal of n characters ('lit%') and
    `RIGHT(c, n)` ('%lit'), a '%', '_' or backslash of such a literal escaped by a backslash
    (`like_regex`); () for text sqlglot cannot read (the checks name the fault). `kpi.engine`
    refuses a pattern that a stored value of its column matches only in another case
    (`refuse_case_patterns`): `STRPOS(offence, 'burglary') > 0` counted 'Residential
    burglary' and not 'Burglary - business'."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    def escaped(literal: str) -> str:
        return re.sub(r"([\\%_])", r"\\\1", literal)

    def part(node: Any, literal: str) -> tuple[Any, str] | None:
        """The text and pattern of a part of a text compared with a literal, or None."""
        while isinstance(node, exp.Paren):
            node = node.this
        size = node.args.get("length") if isinstance(node, exp.Substring) else \
            node.expression if isinstance(node, (exp.Left, exp.Right)) else None
        if size is None or size.sql() != str(len(literal)):
            return None
        if isinstance(node, exp.Substring) and (
                (start := node.args.get("start")) is None or start.sql() != "1"):
            return None
        ends = isinstance(node, exp.Right)
        return node.this, f"%{escaped(literal)}" if ends else f"{escaped(literal)}%"

    def tests(node: Any) -> list[tuple[Any, str | None]]:
        """Each (text, pattern) `node` matches; a pattern None where it is no literal."""
        if isinstance(node, exp.Like):
            return [(node.this, _sql_literal_text(node.expression))]
        if isinstance(node, (exp.StrPosition, exp.Contains, exp.StartsWith, exp.EndsWith)):
            key = "substr" if isinstance(node, exp.StrPosition) else "expression"
            literal = _sql_literal_text(node.args.get(key))
            if literal is None:
                return []
            start = "" if isinstance(node, exp.StartsWith) else "%"
            end = "" if isinstance(node, exp.EndsWith) else "%"
            return [(node.this, f"{start}{escaped(literal)}{end}")]
        if not isinstance(node, (exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.NullSafeNEQ, exp.In)):
            return []
        sides = _compared(node)
        literals = [t for s in sides if (t := _sql_literal_text(s)) is not None]
        return [found for s in sides for t in literals if (found := part(s, t)) is not None]

    try:
        tree = sqlglot.parse_one(text)
    except (SqlglotError, RecursionError):
        return ()
    return tuple(
        (column, pattern, "" if isinstance(node, exp.Like) else node.sql(dialect="duckdb"))
        for node in tree.walk() for matched, pattern in tests(node)
        if pattern is not None and (column := answer_column(matched)) is not None)


def like_regex(pattern: str) -> re.Pattern[str]:
    """A `LIKE` pattern as a regular expression matching the whole text: `%` any run of
    characters, `_` any one, a character after a backslash itself (`like_patterns` writes
    one before a '%', '_' or backslash of a test's literal; a backslash in a pattern of
    kpi.toml is refused where it is read), everything else itself."""
    return re.compile("".join(
        ".*" if c == "%" else "." if c == "_" else re.escape(c[-1])
        for c in re.findall(r"\\.|.", pattern, re.DOTALL)), re.DOTALL)


def answer_column(node: Any) -> str | None:
    """The one column a text expression's answer is, where it is a column's value or a
    literal's (`COALESCE(lpa, 'Unknown')`, `IF(lpa IS NULL, 'none', lpa)`, `CASE WHEN ... THEN
    lpa END`, `GREATEST`, `LEAST`, `NULLIF(lpa, ...)`, in brackets): a literal compared with it
    is compared with that column's stored cells (`compared_text`); None for anything else."""
    from sqlglot import exp

    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Column):
        return node.name
    if isinstance(node, (exp.Coalesce, exp.Greatest, exp.Least)):
        answers = [node.this, *node.expressions]
    elif isinstance(node, exp.If):
        answers = [node.args.get("true"), node.args.get("false")]
    elif isinstance(node, exp.Case):
        answers = [w.args.get("true") for w in node.args.get("ifs") or []] + [
            node.args.get("default")]
    elif isinstance(node, exp.Nullif):
        answers = [node.this]
    else:
        return None
    columns = {answer_column(a) for a in answers
               if a is not None and _sql_literal_text(a) is None and not isinstance(a, exp.Null)}
    return columns.pop() if len(columns) == 1 and None not in columns else None


def text_source(text: str) -> str | None:
    """The one column an expression of kpi.toml (a derived column's) answers with, as
    `answer_column` reads it: `area = "lpa"` is lpa; None where sqlglot cannot read it."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    try:
        return answer_column(sqlglot.parse_one(text))
    except (SqlglotError, RecursionError):
        return None


def _sql_literal_text(node: Any) -> str | None:
    """A text literal's text, in brackets or cast (`CAST('a' AS VARCHAR)`); None otherwise."""
    from sqlglot import exp

    while isinstance(node, (exp.Paren, exp.Cast)):
        node = node.this
    return node.this if isinstance(node, exp.Literal) and node.is_string else None
