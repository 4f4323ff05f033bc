"""Random row-level SQL expressions of the kind analysts write in kpi.toml (a filter, a value,
a derived column), over a small table with a NULL in every column, and what DuckDB makes of
each on the same rows (tests/test_expression_hunt.py).

Nothing here imports kpi: the table, the grammar and the oracle are written from standard SQL,
so a reading kpi and Polars share cannot hide on both sides at once.
"""

from __future__ import annotations

import math
import random
from datetime import date
from decimal import Decimal

import duckdb

# The table: whole numbers (i, j), fractions (x, with halves to round), texts (s, t: case,
# spaces, empty, LIKE's own characters, a regular expression's, a backslash, non-ASCII),
# dates (d) and flags (b), each NULL on some row and every pair of NULLs on some row.
COLUMNS = {"i": "int", "j": "int", "x": "float", "s": "str", "t": "str", "d": "date",
           "b": "bool"}
TEXTS = ["Abc", " abc ", "", "a_b%c", "Zoë", "b", "ABC", "straße", "x.y", "é", "a\\b",
         "ab", "%", "Ä b", "abc"]
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
]

INT_LITERALS = ["0", "1", "2", "3", "-1", "-3", "7", "10"]
FLOAT_LITERALS = ["0.5", "2.5", "-2.5", "1.25", "0.15", "100.0"]
TEXT_LITERALS = ["'Abc'", "'abc'", "''", "' abc '", "'b'", "'Zoë'", "'ZOË'", "'a'", "'é'",
                 "'x.y'", "'straße'", "'%'", "'a_b%c'", "'Z'", "'É'", "'STRASSE'"]
PATTERNS = ["'a%'", "'%b%'", "'_bc'", "'%'", "''", "'A%'", "'a\\_b%'", "'%\\%%'", "'z_ë'",
            "'__'", "'%.%'", "'a\\b'", "'x_y'", "'%C'", "'É'", "'STRA%'", "'%ß%'"]
DATES = ["DATE '2025-01-01'", "DATE '2024-02-29'", "DATE '2025-12-31'", "DATE '2023-07-15'"]
PARTS = ["YEAR", "MONTH", "DAY", "QUARTER", "DOW", "ISODOW", "DOY", "WEEK"]


class Grammar:
    """Draws well-typed expressions: `boolean`, `number` and `text`, nested up to a depth."""

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
        choice = r.randrange(21)
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
        return q()

    def number(self, depth: int | None = None) -> str:
        depth = self.depth if depth is None else depth
        r = self.rng
        if depth <= 0:
            return self.pick("i", "j", "x", "i", r.choice(INT_LITERALS),
                             r.choice(FLOAT_LITERALS), "LENGTH(s)")
        n, t, q = (lambda: self.number(depth - 1)), (lambda: self.text(depth - 1)), \
            (lambda: self.boolean(depth - 1))
        choice = r.randrange(22)
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
        return n()

    def text(self, depth: int | None = None) -> str:
        depth = self.depth if depth is None else depth
        r = self.rng
        if depth <= 0:
            return self.pick("s", "t", "s", r.choice(TEXT_LITERALS))
        t, q = (lambda: self.text(depth - 1)), (lambda: self.boolean(depth - 1))
        choice = r.randrange(16)
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
    """The expression on each row as DuckDB evaluates it, or None where DuckDB refuses it."""
    try:
        return [r[0] for r in con.execute(
            f"SELECT ({expression}) FROM t ORDER BY rn").fetchall()]
    except duckdb.Error:
        return None


def same(ours, theirs) -> bool:
    """One row's value the same in kpi and in DuckDB: NULL only with NULL, TRUE with TRUE,
    numbers equal (a float to 1e-12 of the larger, NaN with NaN), texts equal."""
    if ours is None or theirs is None:
        return ours is None and theirs is None
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return isinstance(ours, bool) and isinstance(theirs, bool) and ours == theirs
    if isinstance(ours, int | float | Decimal) and isinstance(theirs, int | float | Decimal):
        a, b = float(ours), float(theirs)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)
    return type(ours) is type(theirs) and ours == theirs
