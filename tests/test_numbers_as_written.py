"""A number column stores the number the source wrote, or the row is refused: never a nearby
number. One rule for every reader (kpi.ingest.conform): a CSV's or a workbook's text, a Parquet
float32 (its shortest decimal, not its binary value widened), a Parquet whole number past 2**53
and an exact decimal. Checked against Python's decimal module, which states the rule on its own:
the float, printed shortest (repr), is the same decimal number as the source's text."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi import ingest
from kpi.catalogue import ColumnSpec, ColumnType, DatasetSpec
from kpi.errors import DataError
from kpi.ingest.conform import _as_written

SPEC = DatasetSpec(id="pay", date="day", columns=(
    ColumnSpec("ref", ColumnType.STR, ("Ref",)),
    ColumnSpec("day", ColumnType.DATE, ("Day",)),
    ColumnSpec("amount", ColumnType.FLOAT, ("Amount",), required=False),
    ColumnSpec("count", ColumnType.INT, ("Count",), required=False),
))

HINT = "(declare the column int or str, or round it in the source)"


def _csv(folder: Path, amounts: list[str], counts: list[str] | None = None) -> Path:
    counts = counts or ["1"] * len(amounts)
    path = folder / "pay.csv"
    lines = ["Ref,Day,Amount,Count"] + [f"R{i},2025-09-{i % 28 + 1:02d},\"{a}\",{c}"
                                         for i, (a, c) in enumerate(zip(amounts, counts,
                                                                        strict=True))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _parquet(folder: Path, amount: pa.Array) -> Path:
    path = folder / "pay.parquet"
    n = len(amount)
    pq.write_table(pa.table({"Ref": [f"R{i}" for i in range(n)],
                             "Day": pa.array([20_300] * n, pa.int32()).cast(pa.date32()),
                             "Amount": amount}), path)
    return path


def _refusal(path: Path) -> str:
    with pytest.raises(DataError) as error:
        ingest.read_extracts(SPEC, [path])
    return error.value.message


@pytest.mark.parametrize(("written", "stored"), [
    ("12345678901234567", "1.2345678901234568e+16"),   # 17 digits: the float is one more
    ("0.12345678901234567890", "0.12345678901234568"),  # 20 decimals
    ("9007199254740993", "9007199254740992.0"),          # 2**53 + 1
    ("1.00000000000000001", "1.0"),
    ("£12,345,678,901,234.567", "12345678901234.566"),   # cleaned, then compared
])
def test_csv_text_a_float_cannot_hold_is_refused_naming_row_column_and_value(tmp_path, written,
                                                                             stored):
    path = _csv(tmp_path, ["1.5", written])
    assert _refusal(path) == (
        f"{path}, row 3, column 'Amount': expected a number, found '{written}', more digits "
        f"than a number column holds: it would be stored as {stored} {HINT}")
    # --skip-bad-rows sets the row aside and keeps the other
    kept = ingest.read_extracts(SPEC, [path], skip_bad_rows=True)
    assert kept.frame["amount"].to_list() == [1.5]


@pytest.mark.parametrize("written", [
    "0.1", "12.50", "54.800000000000004", "0.30000000000000004", "12345678901234568",
    "0.10000000000000000000", "1e-7", "1.2E+16", "100000000000000000000", "-0.000",
    "1,234.56", "   7.25  ", "5e-324", "1.7976931348623157e308",
])
def test_ordinary_decimals_and_floats_written_shortest_load_as_written(tmp_path, written):
    path = _csv(tmp_path, [written])
    stored = ingest.read_extracts(SPEC, [path]).frame["amount"].to_list()
    assert stored == [float(written.replace(",", ""))]
    assert Decimal(repr(stored[0])) == Decimal(written.replace(",", "").strip())


@pytest.mark.parametrize(("written", "stored"), [
    ("1.2345e-320", repr(float("1.2345e-320"))),  # below the smallest normal float: 9.88e-321
    ("1e-400", "0.0"),                             # below every float: read as zero
])
def test_a_short_text_below_a_floats_precision_is_refused(tmp_path, written, stored):
    path = _csv(tmp_path, [written])
    assert f"found '{written}', more digits than a number column holds: it would be " \
           f"stored as {stored} " in _refusal(path)


def test_a_whole_number_column_refuses_text_read_as_a_nearby_whole_number(tmp_path):
    path = _csv(tmp_path, ["1", "1"], counts=["0.000000", "1e-400"])
    assert _refusal(path) == (
        f"{path}, row 3, column 'Count': expected a whole number, found '1e-400', more digits "
        "than a number column holds: it would be stored as 0 (write it as a whole number)")
    path = _csv(tmp_path, ["1", "1"], counts=["3", "2.00000000000000001"])
    assert _refusal(path) == (
        f"{path}, row 3, column 'Count': expected a whole number, found '2.00000000000000001', "
        "more digits than a number column holds: it would be stored as 2 (write it as a whole "
        "number)")
    # past 2**53 a whole number is still read exactly as an integer
    path = _csv(tmp_path, ["1"], counts=["12345678901234567"])
    assert ingest.read_extracts(SPEC, [path]).frame["count"].to_list() == [12345678901234567]


def test_parquet_float32_is_its_shortest_decimal_so_sums_do_not_drift(tmp_path):
    """A float32 1.1 is 1.100000023841858 widened: 250 rows each of 1.1, 0.1 and 26.48 summed
    6920.000367 where the decimals sum to 6920."""
    path = _parquet(tmp_path, pa.array([1.1, 0.1, 26.48, 3.4028235e38] * 250, pa.float32()))
    frame = ingest.read_extracts(SPEC, [path]).frame
    assert frame["amount"].dtype == pl.Float64
    assert frame["amount"].head(4).to_list() == [1.1, 0.1, 26.48, 3.4028235e38]
    small = frame.filter(pl.col("amount") < 1e30)["amount"]
    exact = sum(Decimal(repr(v)) for v in small.to_list())
    assert exact == Decimal("6920")
    assert abs(Decimal(repr(small.sum())) - exact) < Decimal("1e-9")


def test_a_negative_zero_is_stored_as_zero(tmp_path):
    """"-0" and "-0.0" (a CSV file's text, a Parquet double) are 0: stored as IEEE's -0.0,
    a median of them printed "-0.0" in `kpi compare`."""
    import math

    for path in (_csv(tmp_path, ["-0", "-0.0", "0", "-1.5"]),
                 _parquet(tmp_path, pa.array([-0.0, -0.0, 0.0, -1.5], pa.float64()))):
        amounts = ingest.read_extracts(SPEC, [path]).frame["amount"].to_list()
        assert amounts == [0.0, 0.0, 0.0, -1.5]
        assert [math.copysign(1.0, a) for a in amounts] == [1.0, 1.0, 1.0, -1.0]


def test_parquet_float16_is_its_shortest_decimal_as_a_float32_is(tmp_path):
    """A half float 1.1 is 1.099609375 widened (pandas' `.astype('float16')`): 300 rows of it
    summed 329.8828125 where the file's float32 twin gives 330. Nulls stay blank."""
    import numpy as np

    halves = np.array([1.1, 0.1, 2048, -2.5e-5] * 75, dtype=np.float16)
    path = _parquet(tmp_path, pa.array(halves, pa.float16(),
                                       mask=np.array([False, False, False, True] * 75)))
    frame = ingest.read_extracts(SPEC, [path]).frame
    assert frame["amount"].head(4).to_list() == [1.1, 0.1, 2048.0, None]
    assert sum(Decimal(repr(v)) for v in frame["amount"].drop_nulls().to_list()) == Decimal(
        "75") * (Decimal("1.1") + Decimal("0.1") + Decimal("2048"))


@pytest.mark.parametrize("kind", [pa.int64(), pa.uint64()])
def test_parquet_whole_number_past_2_53_into_a_float_column_is_refused(tmp_path, kind):
    path = _parquet(tmp_path, pa.array([5, 2**53 + 2, 2**53 + 1], kind))
    assert _refusal(path) == (
        f"{path}, row 3, column 'Amount': expected a number, found '9007199254740993', more "
        f"digits than a number column holds: it would be stored as 9007199254740992.0 {HINT}")
    # 2**53 + 2 is a float's own value: stored as written
    kept = ingest.read_extracts(SPEC, [path], skip_bad_rows=True).frame["amount"].to_list()
    assert kept == [5.0, 2.0**53 + 2]


def test_parquet_exact_decimal_past_a_floats_digits_is_refused(tmp_path):
    amounts = pa.array([Decimal("0.10"), Decimal("12345678901234567.89")], pa.decimal128(38, 2))
    path = _parquet(tmp_path, amounts)
    assert _refusal(path) == (
        f"{path}, row 2, column 'Amount': expected a number, found '12345678901234567.89', "
        "more digits than a number column holds: it would be stored as "
        f"1.2345678901234568e+16 {HINT}")


def test_excel_text_and_number_cells_alike(tmp_path):
    xlsxwriter = pytest.importorskip("xlsxwriter")
    path = tmp_path / "pay.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Extract")
    rows = [["Ref", "Day", "Amount"], ["R1", "2025-09-01", 0.1 + 0.2],
            ["R2", "2025-09-02", 12345678901234567], ["R3", "2025-09-03", "0.1"],
            ["R4", "2025-09-04", "12345678901234567"]]
    for line, row in enumerate(rows):
        for col, value in enumerate(row):
            if isinstance(value, str) and line:
                sheet.write_string(line, col, value)
            else:
                sheet.write(line, col, value)
    book.close()
    # A number cell holds the number the workbook writes for it (xlsxwriter writes 16
    # significant digits: 0.3 and 1.234567890123457E+16) and loads as that; the 17 digits
    # typed in a text cell are refused.
    message = _refusal(path)
    assert message.startswith(f"{path}, sheet 'Extract', row 5, column 'Amount': expected a "
                              "number, found '12345678901234567', more digits"), message
    kept = ingest.read_extracts(SPEC, [path], skip_bad_rows=True).frame["amount"].to_list()
    assert kept == [0.3, 12345678901234570.0, 0.1]


_DECIMALS = st.builds(
    lambda sign, whole, fraction, power: f"{sign}{whole}.{fraction}e{power}",
    st.sampled_from(["", "-"]), st.integers(0, 10**12).map(str),
    st.integers(0, 10**12).map(str), st.integers(-30, 30))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_DECIMALS, st.floats(allow_nan=False, allow_infinity=False).map(repr),
                          st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{0,25})?", fullmatch=True)),
                min_size=1, max_size=40))
def test_the_vectorised_rule_agrees_with_pythons_decimal(texts):
    """`_as_written` against the rule stated with Python's decimal module, on decimals of up to
    50 digits, every float's repr and exponents."""
    text = pl.Series(texts)
    got = _as_written(text, text.cast(pl.Float64)).to_list()
    expected = [Decimal(repr(float(t))) == Decimal(t) for t in texts]
    assert got == expected
