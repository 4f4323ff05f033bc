"""A sum of fractions is the sum of the decimals the source wrote, rounded once
(`engine._exact_sum`): £0.10 + £0.20 is 0.3, where even the floats' own exact sum is
0.30000000000000004 (one sum in eight of a few pounds and pence printed so in JSON, CSV and
the Python face). And every quotient kpi computes per row is the correctly rounded one
(`expressions.quotient`): Polars divides by a literal as a multiplication by its reciprocal,
so 7 ms read 0.006999999999999999 seconds.

The oracle is Python's `decimal` module and DuckDB's DECIMAL arithmetic, not kpi's code."""

from __future__ import annotations

import json
import math
import random
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inprocess import run

import kpi
from kpi import engine
from kpi.expressions import polars_expr
from kpi.ingest import load
from kpi.rounding import quotient


def _decimal_sum(values) -> float:
    """The oracle: each float as the decimal it prints as, added exactly, rounded once."""
    return float(sum((Decimal(repr(v)) for v in values if v is not None), Decimal(0)))


# A decimal of at most nine places below 2**22, or of at most four up to 2**39: the
# values `engine._decimal_units` reads as decimals (written with at most 15 significant
# digits, so the float prints back as the same decimal).
small = st.builds(lambda n, p: Decimal(n).scaleb(-p), st.integers(-(10**15) + 1, 10**15 - 1),
                  st.integers(9, 9)).filter(lambda d: abs(d) < 2**22)
pounds = st.builds(lambda n, p: Decimal(n).scaleb(-p), st.integers(-(10**14), 10**14),
                   st.integers(0, 4)).filter(lambda d: abs(d) < 2**39)
places = st.builds(lambda n, p: Decimal(n).scaleb(-p), st.integers(-(10**8), 10**8),
                   st.integers(0, 9))


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.none() | (small | pounds | places).map(float), min_size=1,
                       max_size=40),
       groups=st.integers(1, 3), order=st.randoms(use_true_random=False))
def test_a_sum_of_decimals_is_their_decimal_sum_rounded_once_in_any_order(values, groups,
                                                                          order):
    listed = [(i % groups, v) for i, v in enumerate(values)]
    shuffled = list(listed)
    order.shuffle(shuffled)
    for rows in (listed, shuffled):
        frame = pl.DataFrame(rows, schema={"g": pl.Int64, "x": pl.Float64}, orient="row")
        whole = frame.select(engine._exact_sum(pl.col("x"))).item()
        assert whole.hex() == _decimal_sum(values).hex(), (values, whole)
        parts = (frame.lazy().group_by("g").agg(engine._exact_sum(pl.col("x"))).sort("g")
                 .collect(engine="streaming"))
        for g, got in parts.iter_rows():
            own = [v for k, v in listed if k == g]
            assert got.hex() == _decimal_sum(own).hex(), (own, got)


def test_the_cases_that_printed_a_floats_remainder():
    cases = {(0.1, 0.2): 0.3, (0.2, 629.439, 774.8, 0.338): 1404.777,
             (-1.0, 0.99999): -1e-05, (5000000.25,) * 3: 15000000.75,
             (54.8, 54.8, 0.1): 109.7, (12345678.9, 0.1): 12345679.0}
    for values, expected in cases.items():
        got = pl.DataFrame({"x": list(values)}).select(engine._exact_sum(pl.col("x"))).item()
        assert repr(got) == repr(expected), (values, got)


def test_a_group_with_a_value_of_more_places_is_the_floats_exact_sum():
    """A third of a minute, or 1e-12, is no decimal of few places: its group is summed as
    the floats' exact sum, rounded once (as before decimals were read)."""
    for values in ([1 / 3, 0.1, 0.2], [1e-12, 0.1, 0.2], [0.1234567891, 0.2]):
        got = pl.DataFrame({"x": values}).select(engine._exact_sum(pl.col("x"))).item()
        assert got == float(sum(Fraction(v) for v in values)), values


@settings(max_examples=300, deadline=None)
@given(values=st.lists(pounds.map(float), min_size=1, max_size=30))
def test_a_mean_is_the_decimal_sum_over_the_rows_rounded_once(values):
    """£10.10, £10.20 and £10.30 average 10.2 (the float 30.6 divided by 3 read
    10.200000000000001): a mean is the sum of the decimals divided by the rows, correctly
    rounded, whatever the order of the rows."""
    frame = pl.DataFrame({"x": values})
    total = frame.select(engine._exact_sum(pl.col("x"))).item()
    expected = sum(Decimal(repr(v)) for v in values)
    if len(expected.as_tuple().digits) <= 15:  # a sum a float prints as written
        assert quotient(total, len(values)) == float(Fraction(expected) / len(values))
    assert quotient(pl.DataFrame({"x": [10.1, 10.2, 10.3]}).select(
        engine._exact_sum(pl.col("x"))).item(), 3) == 10.2
    assert quotient(7, 2) == 3.5 and quotient(None, 2) is None
    assert quotient(1.5, 0) is None and math.isnan(quotient(math.nan, 2))


def test_pieces_over_months_give_the_sum_over_all_rows():
    """A window's sum from its months' pieces (`months_total`) is the one sum over all its
    rows, whether every month is decimal or one is not."""
    for months in ([[0.1, 0.2], [0.7], [26.48, 0.01]], [[0.1, 0.2], [1 / 3], [0.01]]):
        frame = pl.DataFrame({"m": [i for i, vs in enumerate(months) for _ in vs],
                              "x": [v for vs in months for v in vs]})
        pieces = engine._exact_pieces(pl.col("x"))
        got = (frame.group_by("m").agg(pl.col("x").sum(), *[
            p.alias(tag) for p, tag in zip(pieces, engine.PIECES, strict=True)]).sort("m"))
        total = engine.months_total(got["x"].to_list(),
                                    {tag: got[tag].to_list() for tag in engine.PIECES})
        whole = frame.select(engine._exact_sum(pl.col("x"))).item()
        assert total.hex() == whole.hex(), (months, total, whole)


PROJECT = """\
[project]
name = "Decimals"

[datasets.claims]
date = "day"
[datasets.claims.columns]
day = "date"
lpa = "str"
loss = "float"
ms = "int"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "loss"
title = "Loss"
priority = "p"
kind = "sum"
dataset = "claims"
value = "loss"
unit = "gbp"
decimals = 2
breakdowns = ["lpa"]

[[kpis]]
id = "mean_loss"
title = "Mean loss"
priority = "p"
kind = "mean"
dataset = "claims"
value = "loss"
unit = "gbp"
decimals = 2

[[kpis]]
id = "median_wait"
title = "Median wait in seconds"
priority = "p"
kind = "median"
dataset = "claims"
value = "ms / 1000"
unit = "seconds"
"""

MONTHS = [f"{2023 + (9 + i) // 12}-{(9 + i) % 12 + 1:02d}" for i in range(24)]  # 2023-10 on


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("decimal sums é")
    (folder / "kpi.toml").write_text(PROJECT, encoding="utf-8")
    rng = random.Random(7)
    rows = []
    for month in MONTHS:
        for i in range(rng.randint(2, 6)):
            rows.append((f"{month}-{rng.randint(1, 28):02d}", ("North", "South")[i % 2],
                         rng.choice(["0.1", "0.2", "629.439", "774.8", "0.338", "26.48", "0.01"]),
                         rng.choice([7, 14, 21, 42, 1100])))
    rng.shuffle(rows)
    with open(folder / "claims.csv", "w", encoding="utf-8") as out:
        out.write("day,lpa,loss,ms\n")
        out.writelines(",".join(map(str, r)) + "\n" for r in rows)
    load(kpi.open(folder).definition, "claims", [str(folder / "claims.csv")])
    return folder


def _window_sql(expression: str, first: str, last: str, lpa: str | None = None) -> str:
    where = f"strftime(day::DATE, '%Y-%m') BETWEEN '{first}' AND '{last}'"
    if lpa:
        where += f" AND lpa = '{lpa}'"
    return f"SELECT {expression} FROM claims WHERE {where}"


def test_the_summary_json_prints_the_decimal_sum_duckdb_gives(project):
    """`kpi summary --format json`: each window's sum and mean of pounds and pence, and the
    median of a whole number of milliseconds divided by 1000, are the figures DuckDB's
    DECIMAL arithmetic gives, to the bit."""
    done = run(["summary", "--period", "2025-09", "--vs", "yoy", "--format", "json"],
               cwd=project)
    assert done.returncode == 0, done.stderr
    got = {k["id"]: k for k in json.loads(done.stdout)["kpis"]}
    db = duckdb.connect()
    db.execute(f"""CREATE TABLE claims AS SELECT day, lpa, loss::DECIMAL(18, 3) AS loss,
                   ms::INTEGER AS ms FROM read_csv('{project / "claims.csv"}',
                   all_varchar = true)""")
    for side, (first, last) in (("current", ("2024-10", "2025-09")),
                                ("comparison", ("2023-10", "2024-09"))):
        total, count, median = db.execute(_window_sql(
            "sum(loss), count(loss), median(ms::DECIMAL(18, 3) / 1000)", first, last)
        ).fetchone()
        assert got["loss"][side]["value"] == float(total), (side, got["loss"][side])
        # A mean is the decimal sum divided by the rows, rounded once.
        assert got["mean_loss"][side]["value"] == float(Fraction(total) / count), side
        assert got["median_wait"][side]["value"] == float(median), (side, median)
        # Written as the decimal it is: no float's remainder in the JSON text.
        text = repr(got["loss"][side]["value"])
        assert len(text.partition(".")[2]) <= 3, text


def test_compare_and_the_python_face_give_the_same_decimal_sums(project):
    """`kpi compare --by lpa` (the breakdown's query, not the summary's) gives each part the
    decimal sum DuckDB gives."""
    done = run(["compare", "--period", "2025-09", "--by", "lpa", "--vs", "yoy", "--format",
                "json"], cwd=project)
    assert done.returncode == 0, done.stderr
    db = duckdb.connect()
    db.execute(f"""CREATE TABLE claims AS SELECT day, lpa, loss::DECIMAL(18, 3) AS loss
                   FROM read_csv('{project / "claims.csv"}', all_varchar = true)""")
    parts = [p for k in json.loads(done.stdout)["kpis"] if k["id"] == "loss"
             for p in k["parts"]]
    assert {p["name"] for p in parts} == {"North", "South"}
    for part in parts:
        (total,) = db.execute(_window_sql("sum(loss)", "2024-10", "2025-09",
                                          part["name"])).fetchone()
        assert part["current"]["value"] == float(total), part
    frame = kpi.open(project).summary("2025-09", "yoy")
    mine = frame.filter(pl.col("id") == "loss")["current_value"].item()
    assert mine == float(db.execute(_window_sql("sum(loss)", "2024-10", "2025-09"))
                         .fetchone()[0])


def test_a_quotient_is_correctly_rounded_on_every_path():
    """`ms / 1000` and a column divided by a column that holds one value (a small table's):
    each row's quotient is IEEE division's, in a plain query, a grouped one and the
    streaming engine (7 ms read 0.006999999999999999 s; 0.01 / 3 read 0.003333333333333333
    in a grouped query, 0.0033333333333333335 in another)."""
    values = list(range(0, 200_000, 7))
    frame = pl.DataFrame({"g": ["x"] * len(values), "ms": values, "three": [3] * len(values),
                          "loss": [v / 100 for v in values]})
    for text, expected in (("ms / 1000", [v / 1000 for v in values]),
                           ("loss / three", [v / 100 / 3 for v in values])):
        expr = polars_expr(text).alias("v")
        for engine_name in ("in-memory", "streaming"):
            plain = frame.lazy().select(expr).collect(engine=engine_name)["v"].to_list()
            grouped = (frame.lazy().group_by("g").agg(expr).collect(engine=engine_name)
                       ["v"][0].to_list())
            assert plain == expected and grouped == expected, (text, engine_name)
    two = pl.DataFrame({"g": ["x", "x"], "loss": [0.02, 0.01], "minutes": [3, 3]})
    got = two.lazy().group_by("g").agg(polars_expr("loss / minutes")).collect(
        engine="streaming")["loss"][0].to_list()
    assert got == [0.02 / 3, 0.01 / 3]


def test_a_duration_in_seconds_is_its_milliseconds_divided_correctly(tmp_path):
    """A duration KPI (the difference of two datetimes) in seconds: 7 ms is 0.007 s."""
    from kpi.catalogue import Unit
    from kpi.engine import _value

    class Duration:
        id, value, unit, value_is_duration, zoned = "d", "b - a", Unit.SECONDS, True, ()

    from datetime import datetime, timedelta
    start = datetime(2025, 1, 1)
    gaps = [timedelta(milliseconds=ms) for ms in range(0, 100_000, 7)]
    frame = pl.DataFrame({"a": [start] * len(gaps), "b": [start + g for g in gaps]})
    got = frame.select(_value(Duration())).to_series().to_list()  # type: ignore[arg-type]
    assert got == [g / timedelta(seconds=1) for g in gaps]
    assert got[1] == 0.007


def test_engine_and_expressions_write_no_bare_division_by_a_literal():
    """Every per-row division kpi writes goes through `quotient`: none of kpi's query
    modules divides an expression by a literal with Polars' `/` (which rounds as a
    multiplication by the reciprocal)."""
    import ast

    root = Path(engine.__file__).parent
    for name in ("engine.py", "expressions.py", "dateparts.py"):
        tree = ast.parse((root / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
                left = ast.unparse(node.left)
                assert not (left.startswith(("pl.", "value.", "row.")) or ".dt." in left
                            or "pl.col" in left), f"{name}:{node.lineno}: {ast.unparse(node)}"


# Row arithmetic (`expressions._in_decimals`): + - * of float columns and decimal literals is
# worked on the decimals written, and the answer is the float nearest the exact decimal,
# where each column value is read (nine places below 2**22 in a sum, four below 2**39 as a
# factor) and the whole numbers of the working stay below 2**53; else the binary answer.
short = st.builds(lambda n, p: Decimal(n).scaleb(-p), st.integers(-(10**11), 10**11),
                  st.integers(0, 4)).filter(lambda d: abs(d) < 2**23)
literals = st.sampled_from(["1.2", "0.5", "60", "-1.1", "0.05", "100"])


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(short, short), min_size=1, max_size=20), literal=literals)
def test_row_arithmetic_gives_the_float_nearest_the_exact_decimal(rows, literal):
    frame = pl.DataFrame([(float(a), float(b)) for a, b in rows], schema={"a": pl.Float64,
                         "b": pl.Float64}, orient="row")
    exact = Decimal(literal)
    places = max(0, -exact.normalize().as_tuple().exponent)
    digits, shift = abs(exact) * 10**places, 10**places  # 1.2 is 12 tenths, 60 is 60

    def summed(v: Decimal) -> Decimal | None:  # a column in a sum, in 10**-9 units
        return abs(v) * 10**9 if abs(v) < 2**22 else None

    def factor(v: Decimal) -> Decimal:  # a column as a factor, in 10**-4 units
        return abs(v) * 10**4

    def both(a: Decimal, b: Decimal) -> Decimal | None:
        return None if summed(a) is None or summed(b) is None else summed(a) + summed(b)

    # text: (its answer from operands and the literal, kpi's bound on the whole numbers of
    # its working, None where a value is not read)
    cases = {
        "a - b": (lambda a, b, k: a - b, both),
        "a + b": (lambda a, b, k: a + b, both),
        "a * b": (lambda a, b, k: a * b, lambda a, b: factor(a) * factor(b)),
        "-a": (lambda a, b, k: -a, lambda a, b: summed(a)),
        f"a * {literal}": (lambda a, b, k: a * k, lambda a, b: factor(a) * digits),
        f"(a - b) * {literal} + a": (
            lambda a, b, k: (a - b) * k + a,
            lambda a, b: None if both(a, b) is None else
            both(a, b) * digits + summed(a) * shift),
    }
    for text, (work, size) in cases.items():
        got = frame.select(polars_expr(text).alias("v"))["v"].to_list()
        for value, (a, b) in zip(got, rows, strict=True):
            whole = size(a, b)
            if whole is not None and whole < 2**53:  # the nearest float (a zero of either sign)
                want = float(work(a, b, exact))
                assert value == want and (want == 0 or value.hex() == want.hex()), \
                    (text, a, b, value, want)
            else:  # the binary answer
                want = work(float(a), float(b), float(exact))
                assert value == want, (text, a, b, value, want)


def test_row_arithmetic_on_the_values_that_printed_a_binary_remainder():
    """16.1 - 1.1 minutes was 15.000000000000002, over 15; 0.10 + 0.20 was
    0.30000000000000004; 81.18 * 1.2 was 97.41600000000001. Now the decimals, and a
    comparison compares them; a value of no few places (a third) keeps the binary answer,
    and whole numbers, decimals and dates keep their types."""
    frame = pl.DataFrame({"arrive": [16.1, 0.10, 81.18, 1 / 3], "dispatch": [1.1, 0.2, 1.0, 0.1],
                          "n": [3, 4, 5, 6]})

    def column(text: str) -> list:
        return frame.select(polars_expr(text).alias("v"))["v"].to_list()

    assert column("arrive - dispatch") == [15.0, -0.1, 80.18, 1 / 3 - 0.1]
    assert column("arrive + dispatch") == [17.2, 0.3, 82.18, 1 / 3 + 0.1]
    assert column("arrive * 1.2") == [19.32, 0.12, 97.416, 1 / 3 * 1.2]
    assert column("arrive - dispatch > 15") == [False, False, True, False]
    assert column("(arrive - dispatch) * 60") == [900.0, -6.0, 4810.8, (1 / 3 - 0.1) * 60]
    assert column("n * 2 - 1") == [5, 7, 9, 11]
    assert frame.select(polars_expr("n * 1.5").alias("v"))["v"].dtype == pl.Decimal(38, 1)
    assert column("ABS(dispatch - arrive)") == [15.0, 0.1, 80.18, abs(0.1 - 1 / 3)]


def test_a_function_or_case_of_decimals_is_a_decimal_operand():
    """ABS(a) + b of 0.1 and 0.2 was 0.30000000000000004, ROUND(arrive, 1) - dispatch of 16.14
    and 1.1 was 15.000000000000002 (over a threshold of 15), COALESCE(overtime, 0) + basic
    likewise: a function or CASE whose answer is one of its operands, or a rounding of one,
    is read as a column's decimal is. A division is not (its quotient is binary)."""
    frame = pl.DataFrame({"a": [0.1, 16.14, None, 1 / 3], "b": [0.2, 1.1, 0.2, 0.1],
                          "o": [None, 0.2, 0.1, 0.2]})

    def column(text: str) -> list:
        return frame.select(polars_expr(text).alias("v"))["v"].to_list()

    assert column("ABS(a) + b") == [0.3, 17.24, None, 1 / 3 + 0.1]
    assert column("ROUND(a, 1) - b") == [-0.1, 15.0, None, 0.2]
    assert column("ROUND(a, 1) - b > 15") == [False, False, None, False]
    assert column("COALESCE(o, 0) + a") == [0.1, 16.34, None, 1 / 3 + 0.2]
    assert column("COALESCE(o, 0.1) + b") == [0.3, 1.3, 0.3, 0.3]
    assert column("GREATEST(a, b) + o") == [None, 16.34, 0.3, 1 / 3 + 0.2]
    assert column("CASE WHEN a > 1 THEN a ELSE b END + o") == [None, 16.34, 0.3, 0.3]
    assert column("NULLIF(b, 0) + b") == [0.4, 2.2, 0.4, 0.2]
    assert column("a / 2 - b")[:2] == [0.1 / 2 - 0.2, 16.14 / 2 - 1.1]


@pytest.mark.parametrize(("value", "places", "rounded"), [
    (1.005, 2, 1.01), (2.675, 2, 2.68), (-1.005, 2, -1.01), (0.125, 2, 0.13), (0.125, 1, 0.1),
    (1.15, 1, 1.2), (2.5, 0, 3.0), (-2.5, 0, -3.0), (123456.7851, 3, 123456.785),
    (1 / 3, 2, 0.33), (1.0005, 12, 1.0005)])
def test_round_rounds_the_decimal_written_half_away_from_zero(value, places, rounded):
    """ROUND(1.005, 2) is 1.01, as Excel and a DECIMAL column make it: Polars rounded the
    float nearest 1.005 (1.00499999999999989...) to 1.0."""
    frame = pl.DataFrame({"x": [value]})
    assert frame.select(polars_expr(f"ROUND(x, {places})").alias("v"))["v"][0] == rounded


def test_trunc_cuts_the_decimal_written_and_is_a_decimal_operand():
    """TRUNC(arrive, 1) - dispatch of 16.14 and 1.1 was 15.000000000000002, so `> 15` counted
    a call on the threshold as late (24 a year where DuckDB on DECIMAL counts 12); TRUNC(1.13,
    2) cut the float nearest 1.13 (1.12999...) to 1.12."""
    frame = pl.DataFrame({"a": [1.13, 16.14, -1.13, None, 1 / 3], "d": [1.1, 1.1, 0.0, 1.0, 0.0]})

    def column(text: str) -> list:
        return frame.select(polars_expr(text).alias("v"))["v"].to_list()

    assert column("TRUNC(a, 2)") == [1.13, 16.14, -1.13, None, 0.33]
    assert column("TRUNC(a, 1) - d") == [0.0, 15.0, -1.1, None, 0.3]
    assert column("TRUNC(a, 1) - d > 15") == [False, False, False, None, False]
    assert column("TRUNC(a)") == [1.0, 16.0, -1.0, None, 0.0]


@pytest.mark.parametrize("function", ["ROUND", "TRUNC"])
@settings(max_examples=200, deadline=None)
@given(value=short, places=st.integers(0, 5))
def test_round_or_trunc_of_a_decimal_is_duckdbs_of_the_decimal(function, value, places):
    """ROUND (a half away from zero) and TRUNC (towards zero) of a float are those of the
    decimal it was written as, as DuckDB rounds and cuts a DECIMAL."""
    frame = pl.DataFrame({"x": [float(value)]})
    ours = frame.select(polars_expr(f"{function}(x, {places})").alias("v"))["v"][0]
    theirs = duckdb.sql(f"SELECT CAST({function}(CAST('{value}' AS DECIMAL(38, 9)), {places}) "
                        "AS DOUBLE)").fetchone()[0]
    assert ours == theirs, (function, value, places, ours, theirs)


WITHIN = """\
[project]
name = "Within"
baseline = "2024-03"
data = "data"

[datasets.inc]
date = "opened"
unique = "ref"
[datasets.inc.columns]
ref = "str"
opened = "date"
dispatch_min = "float"
arrive_min = "float"
basic = "float"
overtime = "float"

[[priorities]]
id = "p"
title = "Response"

[[kpis]]
id = "within_15"
title = "Attended within 15 minutes of dispatch"
priority = "p"
kind = "within"
dataset = "inc"
value = "arrive_min - dispatch_min"
threshold = 15
better = "higher"

[[kpis]]
id = "late"
title = "Attended more than 15 minutes after dispatch"
priority = "p"
kind = "count"
dataset = "inc"
filter = "arrive_min - dispatch_min > 15"
better = "lower"

[[kpis]]
id = "pay"
title = "Total pay"
priority = "p"
kind = "sum"
dataset = "inc"
value = "basic + overtime"
unit = "gbp"

[[kpis]]
id = "basic"
title = "Basic pay"
priority = "p"
kind = "sum"
dataset = "inc"
value = "basic"
unit = "gbp"

[[kpis]]
id = "overtime"
title = "Overtime pay"
priority = "p"
kind = "sum"
dataset = "inc"
value = "overtime"
unit = "gbp"

[[checks]]
id = "pay_parts"
title = "Basic and overtime make total pay"
total = "pay"
parts = ["basic", "overtime"]
"""


def test_a_within_share_a_count_and_a_check_read_row_arithmetic_as_written(tmp_path):
    """Four incidents a month, the same travel times (15.0, 15.0, 11.5, 17.5 minutes) in
    both years, only the clock readings differ (16.1 - 1.1 from the baseline on): kpi
    printed "75.0% -> 25.0%, -50pp, deteriorating" and 12 -> 36 late. DuckDB, reading the
    minutes as DECIMAL(9,1), counts 36 within and 12 late in each year. And £0.10 + £0.20 a
    month summed to 3.6000000000000005, failing the check against the parts' 1.2 and 2.4."""
    (tmp_path / "kpi.toml").write_text(WITHIN, encoding="utf-8")
    rows = ["ref,opened,dispatch_min,arrive_min,basic,overtime"]
    for i in range(30):  # 2023-04 .. 2025-09
        year, month = 2023 + (3 + i) // 12, (3 + i) % 12 + 1
        times = ([("1.1", "16.1"), ("2.1", "17.1"), ("0.5", "12.0"), ("3.0", "20.5")]
                 if i >= 18 else
                 [("1.0", "16.0"), ("2.0", "17.0"), ("0.5", "12.0"), ("3.0", "20.5")])
        for k, (dispatch, arrive) in enumerate(times):
            pay = "0.10,0.20" if k == 0 else "0,0"
            rows.append(f"{i}-{k},{year}-{month:02d}-{10 + k:02d},{dispatch},{arrive},{pay}")
    (tmp_path / "inc.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert run(["--project", tmp_path, "ingest", "inc", tmp_path / "inc.csv"]).returncode == 0
    con = duckdb.connect()
    counted = con.execute(
        "SELECT count(*) FILTER (WHERE arrive_min - dispatch_min <= 15), "
        "count(*) FILTER (WHERE arrive_min - dispatch_min > 15) FROM read_csv(?, columns="
        "{'ref': 'VARCHAR', 'opened': 'DATE', 'dispatch_min': 'DECIMAL(9,1)', "
        "'arrive_min': 'DECIMAL(9,1)', 'basic': 'DECIMAL(9,2)', 'overtime': 'DECIMAL(9,2)'},"
        " header=true) WHERE opened >= DATE '2024-10-01'", [str(tmp_path / "inc.csv")]
    ).fetchone()
    assert counted == (36, 12)
    result = run(["--project", tmp_path, "summary", "--period", "2025-09", "--format",
                  "json"])
    assert result.returncode == 0, result.stderr
    kpis = {k["id"]: k for k in json.loads(result.stdout)["kpis"]}
    assert kpis["within_15"]["current"]["value"] == 75.0
    assert kpis["within_15"]["comparison"]["value"] == 75.0
    assert kpis["late"]["current"]["value"] == 12
    assert kpis["late"]["comparison"]["value"] == 12
    assert kpis["pay"]["current"]["value"] == 3.6
    checked = run(["--project", tmp_path, "check", "--period", "2025-09", "--format", "json"])
    assert checked.returncode == 0, checked.stdout
    assert json.loads(checked.stdout)["checks"][0]["difference"] == 0.0
