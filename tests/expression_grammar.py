"""Random row-level SQL expressions of the kind analysts write in kpi.toml (a filter, a value,
a derived column), over a small table with a NULL in every column, and what DuckDB makes of
each on the same rows (tests/test_expression_hunt.py).

Nothing here imports kpi: the table, the grammar and the oracle are written from standard SQL,
so a reading kpi and Polars share cannot hide on both sides at once.
"""

from __future__ import annotations

import math
import random
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import duckdb
import sqlglot
from sqlglot import exp

# The table: whole numbers (i, j), fractions (x, with halves to round), texts (s, t: case,
# spaces, empty, LIKE's own characters, a regular expression's, a backslash, non-ASCII),
# dates (d) and flags (b), each NULL on some row and every pair of NULLs on some row.
COLUMNS = {"i": "int", "j": "int", "x": "float", "s": "str", "t": "str", "d": "date",
           "b": "bool"}
TEXTS = ["Abc", " abc ", "", "a_b%c", "Zoë", "b", "ABC", "straße", "x.y", "é", "a\\b",
         "ab", "%", "Ä b", "abc", "İzmir ΟΔΟΣ", "12", "007"]
ROWS = [
    dict(i=7, j=2, x=2.5, s="Abc", t="abc", d=date(2025, 3, 31), b=True),
    dict(i=-7, j=-3, x=-2.5, s=" abc ", t="ab", d=date(2024, 2, 29), b=False),
    dict(i=0, j=0, x=0.5, s="", t="", d=date(2025, 12, 31), b=True),
    dict(i=None, j=None, x=None, s=None, t=None, d=None, b=None),
    dict(i=3, j=None, x=1.5, s="a_b%c", t="%", d=date(2025, 1, 1), b=None),
    dict(i=12, j=5, x=-0.5, s="Zoë", t="zoë", d=date(2023, 7, 15), b=False),
    dict(i=-2, j=7, x=0.15, s="b", t="B", d=date(2025, 6, 1), b=True),
    dict(i=None, j=4, x=1.005, s="straße", t="STRASSE", d=None, b=False),
    dict(i=5, j=-1, x=None, s="x.y", t="xzy", d=date(2024, 10, 27), b=None),
    dict(i=1, j=1, x=-1.25, s=None, t="Ä b", d=date(2026, 1, 4), b=True),
    dict(i=-9, j=None, x=2.675, s="a\\b", t=None, d=date(2024, 12, 30), b=None),
    dict(i=10, j=3, x=1e-3, s="é", t="É", d=date(2025, 4, 5), b=False),
    dict(i=None, j=-8, x=-3.5, s="ABC", t=None, d=date(2020, 2, 29), b=True),
    dict(i=12, j=0, x=12.0, s="İzmir ΟΔΟΣ", t="12", d=date(2025, 1, 31), b=False),
    dict(i=7, j=-5, x=7.5, s="007", t="7", d=date(2027, 1, 1), b=True),
]

INT_LITERALS = ["0", "1", "2", "3", "-1", "-3", "7", "10"]
FLOAT_LITERALS = ["0.5", "2.5", "-2.5", "1.25", "0.15", "100.0", "1.1", "0.1"]
TEXT_LITERALS = ["'Abc'", "'abc'", "''", "' abc '", "'b'", "'Zoë'", "'ZOË'", "'a'", "'é'",
                 "'x.y'", "'straße'", "'%'", "'a_b%c'", "'Z'", "'É'", "'STRASSE'", "'12'",
                 "'i̇zmir'", "'izmir οδοσ'", "'7'", "NULL"]
PATTERNS = ["'a%'", "'%b%'", "'_bc'", "'%'", "''", "'A%'", "'a\\_b%'", "'%\\%%'", "'z_ë'",
            "'__'", "'%.%'", "'a\\b'", "'x_y'", "'%C'", "'É'", "'STRA%'", "'%ß%'",
            # ILIKE's folding of letters whose cases are not one for one: İ, a final Σ
            "'izmir%'", "'%οδος'", "'%οδοσ'", "'İ%'", "'%ΟΔΟΣ'"]
DATES = ["DATE '2025-01-01'", "DATE '2024-02-29'", "DATE '2025-12-31'", "DATE '2023-07-15'"]
PARTS = ["YEAR", "MONTH", "DAY", "QUARTER", "DOW", "ISODOW", "DOY", "WEEK", "ISOYEAR"]
# What an analyst adds to a date: whole units, which kpi reads as SQL does, and hours or two
# units at once, which it refuses; and a text to compare a date with.
INTERVALS = ["INTERVAL '1 day'", "INTERVAL '7 days'", "INTERVAL '1 month'",
             "INTERVAL '1 year'", "INTERVAL '2 weeks'", "INTERVAL '36 hours'",
             "INTERVAL '1 month 3 days'", "INTERVAL 7 DAY"]
REGEXES = ["'b'", "'^a'", "'c$'", "'[0-9]'", "'\\.'", "'a.b'", "'^$'", "'(?i)abc'", "'ë'"]
QUOTED_STAR, QUOTED_XY, QUOTED_DASH = "'*'", "'xy'", "'-'"
SEPARATORS = ["'b'", "'.'", "' '"]
CASED = ["'İ'", "'ΑΣ'", "'ΟΔΟΣ ΟΔΟΣ'", "s", "t"]
# Mixed types: a text written as a number and a number written as text.
MIXED = ["'3'", "'7'", "'2025-01-01'", "5", "1", "2.5", "TRUE", "DATE '2025-01-01'"]


class Grammar:
    """Draws expressions: `boolean`, `number` and `text`, nested up to a depth; mostly well
    typed, and some mixing types (text with a number, a date with text, a duration with a
    number) or written in a database's own dialect, which kpi must read as SQL or refuse."""

    def __init__(self, rng: random.Random, depth: int = 3) -> None:
        self.rng = rng
        self.depth = depth

    def pick(self, *options):
        return self.rng.choice(options)

    def boolean(self, depth: int | None = None) -> str:
        depth = self.depth if depth is None else depth
        r = self.rng
        if depth <= 0:
            return self.pick("b", f"i > {r.choice(INT_LITERALS)}", "s IS NULL", "x >= 1",
                             "d < DATE '2025-01-01'", "NOT b", "s = 'Abc'")
        n, t, q = (lambda: self.number(depth - 1)), (lambda: self.text(depth - 1)), \
            (lambda: self.boolean(depth - 1))
        op = self.pick("=", "<>", "<", "<=", ">", ">=")
        choice = r.randrange(27)
        if choice == 0:
            return f"{n()} {op} {n()}"
        if choice == 1:
            return f"{t()} {op} {t()}"
        if choice == 2:
            return f"d {op} {r.choice(DATES)}"
        if choice == 3:
            return f"({q()}) {self.pick('AND', 'OR')} ({q()})"
        if choice == 4:
            return f"NOT ({q()})"
        if choice == 5:
            values = r.sample(INT_LITERALS, r.randint(1, 3)) + (["NULL"] if r.random() < .4
                                                                else [])
            return f"{n()} {self.pick('IN', 'NOT IN')} ({', '.join(values)})"
        if choice == 6:
            values = r.sample(TEXT_LITERALS, r.randint(1, 3)) + (["NULL"] if r.random() < .4
                                                                 else [])
            return f"{t()} {self.pick('IN', 'NOT IN')} ({', '.join(values)})"
        if choice == 7:
            low, high = sorted(r.sample(INT_LITERALS, 2), key=int) if r.random() < .8 \
                else r.sample(INT_LITERALS, 2)
            return f"{n()} {self.pick('BETWEEN', 'NOT BETWEEN')} {low} AND {high}"
        if choice == 8:
            return f"{t()} {self.pick('LIKE', 'NOT LIKE', 'ILIKE', 'NOT ILIKE')} " \
                   f"{r.choice(PATTERNS)}"
        if choice == 9:
            return f"({self.pick(n, t, q)()}) IS {self.pick('', 'NOT ')}NULL"
        if choice == 10:
            if r.random() < .5:
                return f"({n()}) IS {self.pick('', 'NOT ')}DISTINCT FROM ({n()})"
            return f"({t()}) IS {self.pick('', 'NOT ')}DISTINCT FROM ({t()})"
        if choice == 11:
            return f"({q()}) IS {self.pick('', 'NOT ')}{self.pick('TRUE', 'FALSE')}"
        if choice == 12:
            return f"COALESCE({q()}, {self.pick('TRUE', 'FALSE')})"
        if choice == 13:
            return f"b = {self.pick('TRUE', 'FALSE')}"
        if choice == 14:
            return f"{t()} {op} {r.choice(TEXT_LITERALS)}"
        if choice == 15:
            return f"{n()} {op} {r.choice(INT_LITERALS + FLOAT_LITERALS)}"
        if choice == 16:
            return f"CASE WHEN {q()} THEN {q()} ELSE {q()} END"
        if choice == 17:
            return f"EXTRACT({r.choice(PARTS)} FROM d) {op} {r.choice(INT_LITERALS)}"
        if choice == 18:
            return f"d IS {self.pick('', 'NOT ')}DISTINCT FROM {r.choice(DATES)}"
        if choice == 19:
            return f"{n()} % {self.pick('2', '3', '-3')} = {self.pick('0', '1', '-1')}"
        if choice == 20:
            return self.pick(f"NOT {q()} = {self.pick('TRUE', 'FALSE')}", f"b = ({q()})",
                             f"({q()}) <> ({q()})")
        if choice == 21:  # mixed types: text with a number, a date with text ...
            side = self.pick("i", "x", "s", "t", "d", "b", "LENGTH(s)", "CAST(i AS VARCHAR)")
            return self.pick(f"{side} {op} {r.choice(MIXED)}",
                             f"{side} IN ({r.choice(MIXED)}, {r.choice(MIXED)})",
                             f"{side} BETWEEN {r.choice(MIXED)} AND {r.choice(MIXED)}",
                             f"{n()} IN ({r.choice(INT_LITERALS)}, {r.choice(TEXT_LITERALS)})",
                             f"{t()} IN ({r.choice(TEXT_LITERALS)}, {r.choice(INT_LITERALS)})")
        if choice == 22:  # date arithmetic
            return self.pick(f"d {self.pick('+', '-')} {r.choice(INTERVALS)} {op} "
                             f"{r.choice(DATES)}",
                             f"d {self.pick('+', '-')} {self.pick('1', '7', 'i')} {op} "
                             f"{r.choice(DATES)}",
                             f"DATE_TRUNC('{self.pick('month', 'week')}', d) {op} "
                             f"{r.choice(DATES)}",
                             f"MAKE_DATE(2025, {self.pick('1', 'j')}, 1) {op} d")
        if choice == 23:  # regular expressions
            return self.pick(f"REGEXP_LIKE({t()}, {r.choice(REGEXES)})",
                             f"{t()} {self.pick('~', '~*', '!~')} {r.choice(REGEXES)}",
                             f"REGEXP_MATCHES({t()}, {r.choice(REGEXES)})")
        if choice == 24:
            return f"{n()} {self.pick('IN', 'NOT IN')} ()"
        if choice == 25:  # branches of different types
            return self.pick("CASE WHEN b THEN i ELSE s END", "COALESCE(i, s)",
                             "COALESCE(s, 0)", "NULLIF(i, t)", "GREATEST(i, s)",
                             "COALESCE(d, s)", "CASE WHEN b THEN 1 ELSE 'no' END",
                             "CASE WHEN b THEN d - DATE '2025-01-01' ELSE 0 END") + " IS NULL"
        if choice == 26:
            return f"{self.pick('LOWER', 'UPPER')}({t()}) {op} {r.choice(TEXT_LITERALS)}"
        return q()

    def number(self, depth: int | None = None) -> str:
        depth = self.depth if depth is None else depth
        r = self.rng
        if depth <= 0:
            return self.pick("i", "j", "x", "i", r.choice(INT_LITERALS),
                             r.choice(FLOAT_LITERALS), "LENGTH(s)")
        n, t, q = (lambda: self.number(depth - 1)), (lambda: self.text(depth - 1)), \
            (lambda: self.boolean(depth - 1))
        choice = r.randrange(29)
        if choice == 0:
            return f"({n()} {self.pick('+', '-', '*')} {n()})"
        if choice == 1:
            return f"({n()} / NULLIF({n()}, 0))"
        if choice == 2:
            return f"({n()} / {self.pick('2', '4', '-3', '0.5')})"
        if choice == 3:
            return f"({n()} % {self.pick('2', '3', '-3', 'NULLIF(j, 0)')})"
        if choice == 4:
            return f"ABS({n()})"
        if choice == 5:
            return f"ROUND({n()}{self.pick('', ', 0', ', 1', ', 2')})"
        if choice == 6:
            return f"COALESCE({n()}, {n()})"
        if choice == 7:
            return f"NULLIF({n()}, {r.choice(INT_LITERALS)})"
        if choice == 8:
            tail = self.pick("", f" ELSE {n()}")
            return f"CASE WHEN {q()} THEN {n()}{tail} END"
        if choice == 9:
            return f"LENGTH({t()})"
        if choice == 10:
            if r.random() < .5:
                return f"POSITION({r.choice(TEXT_LITERALS)} IN {t()})"
            return f"STRPOS({t()}, {r.choice(TEXT_LITERALS)})"
        if choice == 11:
            return f"EXTRACT({r.choice(PARTS)} FROM d)"
        if choice == 12:
            return f"DATE_PART('{r.choice(PARTS).lower()}', d)"
        if choice == 13:
            return f"CAST({n()} AS {self.pick('INTEGER', 'BIGINT', 'DOUBLE', 'DECIMAL(10, 2)')})"
        if choice == 14:
            return f"(-{n()})"
        if choice == 15:
            return f"(LENGTH({t()}) - {self.pick('1', '4', '10')})"
        if choice == 16:
            return f"(EXTRACT({r.choice(PARTS)} FROM d) * {self.pick('20', '100', '-7')})"
        if choice == 17:
            return f"CASE WHEN {q()} THEN 1 ELSE 0 END"
        if choice == 18:
            return f"{self.pick('FLOOR', 'CEIL')}({n()})"
        if choice == 19:
            return f"{self.pick('SQRT', 'LN', 'LOG10')}({n()})"
        if choice == 20:
            return f"{self.pick('GREATEST', 'LEAST')}({n()}, {n()})"
        if choice == 21:
            return f"CASE {n()} WHEN {r.choice(INT_LITERALS)} THEN {n()} ELSE {n()} END"
        if choice == 22:  # days between dates: a duration, reported in days
            return self.pick(f"(d - {r.choice(DATES)})", f"((d - {r.choice(DATES)}) * 2)",
                             f"DATE_DIFF('day', d, {r.choice(DATES)})",
                             f"DATEDIFF('day', {r.choice(DATES)}, d)",
                             f"DATE_PART('{self.pick('day', 'epoch')}', d - {r.choice(DATES)})")
        if choice == 23:
            return self.pick("DATE_PART('epoch', d)", "EXTRACT(EPOCH FROM d)",
                             "DATE_PART('epoch', CAST(d AS TIMESTAMP))",
                             f"EXTRACT({self.pick('WEEK', 'QUARTER', 'ISOYEAR', 'DOW')} FROM d)",
                             f"DATE_PART('{self.pick('dow', 'isodow', 'week', 'quarter')}', d)")
        if choice == 24:
            return f"{self.pick('NULLIF', 'GREATEST', 'LEAST')}({n()}, " \
                   f"{self.pick('NULL', n(), r.choice(INT_LITERALS))})"
        if choice == 25:
            divisor = self.pick("0", "-3", "j", "-j", "NULLIF(j, 0)", "x", "-2.5")
            return self.pick(f"({n()} % {divisor})", f"MOD({n()}, {divisor})",
                             f"({n()} // {divisor})", f"({n()} DIV 2)")
        if choice == 26:
            return f"CAST({self.pick(t(), n(), 'COALESCE(x, i)', 'i * 1', 'SQRT(ABS(i))')} " \
                   f"AS {self.pick('INTEGER', 'BIGINT', 'DOUBLE')})"
        if choice == 27:
            pad = f"{self.pick('LPAD', 'RPAD')}({t()}, {self.pick('0', '3', '-1', 'i')}, " \
                  f"{self.pick(QUOTED_STAR, QUOTED_XY)})"
            return f"LENGTH({pad})"
        if choice == 28:
            return f"{self.pick('LENGTH', 'ASCII')}({self.pick('LOWER', 'UPPER')}({t()}))"
        return n()

    def text(self, depth: int | None = None) -> str:
        depth = self.depth if depth is None else depth
        r = self.rng
        if depth <= 0:
            return self.pick("s", "t", "s", r.choice(TEXT_LITERALS))
        t, q = (lambda: self.text(depth - 1)), (lambda: self.boolean(depth - 1))
        choice = r.randrange(22)
        if choice == 0:
            return f"{self.pick('UPPER', 'LOWER', 'TRIM', 'LTRIM', 'RTRIM')}({t()})"
        if choice == 1:
            start = self.pick("1", "2", "0", "-1", "i")
            length = self.pick("", ", 2", ", 0", ", 1")
            return f"{self.pick('SUBSTR', 'SUBSTRING')}({t()}, {start}{length})"
        if choice == 2:
            return f"({t()} || {t()})"
        if choice == 3:
            return f"REPLACE({t()}, {r.choice(TEXT_LITERALS)}, {r.choice(TEXT_LITERALS)})"
        if choice == 4:
            return f"{self.pick('LEFT', 'RIGHT')}({t()}, {self.pick('1', '2', '-1', '0')})"
        if choice == 5:
            return f"COALESCE({t()}, {r.choice(TEXT_LITERALS)})"
        if choice == 6:
            return f"NULLIF({t()}, {r.choice(TEXT_LITERALS)})"
        if choice == 7:
            return f"CASE WHEN {q()} THEN {t()} ELSE {t()} END"
        if choice == 8:
            return f"CAST({self.pick('i', 'j')} AS VARCHAR)"
        if choice == 9:
            return f"CONCAT({t()}, {t()})"
        if choice == 10:
            return f"CAST({self.pick('x', 'd', 'x / 4', 'i * 1.5')} AS VARCHAR)"
        if choice == 11:
            return self.pick(f"CONCAT({t()}, NULL, {t()})", f"({t()} || NULL)",
                             f"CONCAT_WS({self.pick(QUOTED_DASH, 'NULL')}, {t()}, {t()})")
        if choice == 12:
            return f"{self.pick('LPAD', 'RPAD')}({t()}, {self.pick('0', '2', '5', '-1', 'i')}, " \
                   f"{self.pick(QUOTED_STAR, QUOTED_XY)})"
        if choice == 13:
            return self.pick(f"REVERSE({t()})", f"INITCAP({t()})",
                             f"SPLIT_PART({t()}, {self.pick(*SEPARATORS)}, "
                             f"{self.pick('1', '2', '-1', '0')})")
        if choice == 14:
            chars = self.pick("'a'", "' a'", "'c '", "'%'", "'ab'")
            return self.pick(f"BTRIM({t()}, {chars})", f"LTRIM({t()}, {chars})",
                             f"RTRIM({t()}, {chars})", f"TRIM({t()}, {chars})",
                             f"TRIM({self.pick('BOTH', 'LEADING', 'TRAILING')} {chars} "
                             f"FROM {t()})")
        if choice == 15:
            return f"{self.pick('LOWER', 'UPPER')}({self.pick(*CASED)})"
        return t()


def duckdb_table() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding ROWS as table `t` (`rn` the row's place)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (rn INTEGER, i BIGINT, j BIGINT, x DOUBLE, s VARCHAR, "
                "t VARCHAR, d DATE, b BOOLEAN)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [[n, *(row[c] for c in COLUMNS)] for n, row in enumerate(ROWS)])
    return con


def duckdb_rows(con: duckdb.DuckDBPyConnection, expression: str) -> list | None:
    """The expression on each row as DuckDB evaluates it, or None where DuckDB refuses it.
    PostgreSQL's REGEXP_LIKE (any part of the text matches) is DuckDB's REGEXP_MATCHES.
    Row arithmetic on the fraction x is worked in the decimals written (`in_decimals`)."""
    expression = re.sub(r"(?i)\bREGEXP_LIKE\(", "REGEXP_MATCHES(", expression)
    decimal = in_decimals(expression)
    for text in ((decimal, expression) if decimal != expression else (expression,)):
        try:
            return [r[0] for r in con.execute(
                f"SELECT ({text}) FROM t ORDER BY rn").fetchall()]
        except duckdb.Error:
            continue
    return None


_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Neg, exp.Paren)


def _answers(node: exp.Expression) -> list[exp.Expression] | None:
    """The operands whose value a function or CASE answers with, where its answer is one of
    them or a rounding of one (ABS, ROUND, COALESCE, GREATEST, LEAST, FLOOR, CEIL, NULLIF,
    CASE: of decimals, a decimal); None for any other node."""
    if isinstance(node, (exp.Abs, exp.Floor, exp.Ceil, exp.Round)):
        return [node.this]
    if isinstance(node, (exp.Coalesce, exp.Greatest, exp.Least)):
        return [node.this, *node.expressions]
    if isinstance(node, exp.Nullif):
        return [node.this]
    if isinstance(node, exp.Case):
        return [i.args["true"] for i in node.args.get("ifs", [])] + (
            [node.args["default"]] if node.args.get("default") is not None else [])
    return None


def _rounded_as_written(value: exp.Expression, places: exp.Expression | None) -> exp.Expression:
    """ROUND(value, places) of the decimal `value` is written as, where it is one of at most
    nine places below 2**22 (its DECIMAL(18, 9) is the same DOUBLE), as DOUBLE; DuckDB's
    ROUND of the DOUBLE elsewhere."""
    v = value.sql(dialect="duckdb")
    n = places.sql(dialect="duckdb") if places is not None else "0"
    return sqlglot.parse_one(
        f"CASE WHEN ABS({v}) < 4194304 AND CAST(CAST({v} AS DECIMAL(18, 9)) AS DOUBLE) = {v} "
        f"THEN CAST(ROUND(CAST({v} AS DECIMAL(18, 9)), {n}) AS DOUBLE) "
        f"ELSE ROUND({v}, {n}) END", read="duckdb")


def in_decimals(expression: str) -> str:
    """The expression with kpi's rule for row arithmetic (docs/catalogue.md, "Arithmetic in
    the decimals written") made explicit: each tree of + - * (and unary minus) whose operands
    are columns and numeric literals, and whose answer is a float (it holds x), is worked on
    the decimals the values were written as, and its answer is the float nearest the exact
    one; so is ROUND of such a tree, and a function or CASE whose answer is one of its
    operands or a rounding of one (`_answers`) is such an operand. Every x in ROWS is a
    decimal of at most three places, so here x in such a tree is read as DECIMAL(9, 3),
    DuckDB's decimal arithmetic is exact, and the tree is made a DOUBLE once. A tree with
    another operand (another function, a division) is DOUBLE as written, the arithmetic
    inside its operands read by the same rule; ROUND of it rounds the decimal its value is
    written as where that is of at most nine places below 2**22 (`_rounded_as_written`).
    Where DuckDB cannot hold the product in a DECIMAL (more than 38 figures) the expression
    is left DOUBLE, as kpi leaves an answer of more than 15 significant figures binary
    (`duckdb_rows`): the two differ in the last place at most, which `same` allows."""
    try:
        tree = sqlglot.parse_one(expression, read="duckdb")
    except sqlglot.errors.SqlglotError:
        return expression

    def leaves(node: exp.Expression) -> list[exp.Expression] | None:
        if isinstance(node, _ARITHMETIC):
            found: list[exp.Expression] = []
            for child in (node.this, node.args.get("expression")):
                if child is not None:
                    inner = leaves(child)
                    if inner is None:
                        return None
                    found += inner
            return found
        if isinstance(node, exp.Column) or (isinstance(node, exp.Literal) and node.is_number):
            return [node]
        if isinstance(node, exp.Null):
            return []
        answers = _answers(node)
        if answers is None:
            return None
        found = []
        for answer in answers:
            inner = leaves(answer)
            if inner is None:
                return None
            found += inner
        return found

    worked: list[exp.Expression] = []

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Neg, exp.Round)):
            operands = leaves(node)
            if operands is None and isinstance(node, exp.Round):
                worked.append(node)
                return _rounded_as_written(rewrite(node.this), node.args.get("decimals"))
            if operands is not None:
                if not any(isinstance(o, exp.Column) and o.name == "x" for o in operands):
                    return node
                decimal = node.transform(lambda n: exp.cast(n.copy(), "DECIMAL(9, 3)")
                                         if isinstance(n, exp.Column) and n.name == "x"
                                         else n)
                worked.append(node)
                return exp.cast(exp.paren(decimal, copy=False), "DOUBLE")
        for key, value in list(node.args.items()):
            if isinstance(value, exp.Expression):
                node.set(key, rewrite(value))
            elif isinstance(value, list):
                node.set(key, [rewrite(v) if isinstance(v, exp.Expression) else v
                               for v in value])
        return node

    rewritten = rewrite(tree)
    return rewritten.sql(dialect="duckdb") if worked else expression


def same(ours, theirs) -> bool:
    """One row's value the same in kpi and in DuckDB: NULL only with NULL, TRUE with TRUE,
    numbers equal (a float to 1e-12 of the larger, NaN with NaN), texts equal. A duration is
    its days (kpi reports the difference of two dates in days, SQL gives the whole days), to
    the microsecond a duration is held in (`(d - e) / 7`), and a
    date the midnight it starts with (SQL adds an interval to a date as a time)."""
    if ours is None or theirs is None:
        return ours is None and theirs is None
    if isinstance(ours, timedelta) and isinstance(theirs, int | float) \
            and not isinstance(theirs, bool):
        return abs(ours / timedelta(microseconds=1) - float(theirs) * 86_400e6) <= 1
    if type(ours) is date and type(theirs) is datetime:
        return datetime.combine(ours, datetime.min.time()) == theirs
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return isinstance(ours, bool) and isinstance(theirs, bool) and ours == theirs
    if isinstance(ours, int | float | Decimal) and isinstance(theirs, int | float | Decimal):
        a, b = float(ours), float(theirs)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)
    return type(ours) is type(theirs) and ours == theirs
