"""No whole number wraps round: a sum of whole numbers is exact however large, and row-level
arithmetic that passes 64 bits gives DuckDB's answer or stops (exit 3) naming the KPI and key.

Polars adds 64-bit integers modulo 2**64: an `int` column holding 2**62 three times a month
summed to -55,340,232,221,128,654,848 for the year (exit 0), `i * 1000` and `ABS` of the
smallest int64 wrapped round, and `POWER(i, 2)` of 2**62 was 0. Every figure here is checked
against Python's integers and DuckDB's HUGEINT over the same CSV, through the real commands
and the Python face."""

from __future__ import annotations

import json
import random
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from pathlib import Path

import duckdb
import inprocess
import openpyxl
import polars as pl
import pytest

import kpi

PROJECT = """\
[project]
name = "Whole numbers"

[datasets.ledger]
date = "day"
[datasets.ledger.columns]
day = "date"
lpa = "str"
i = "int"

[datasets.tally]
date = "day"
[datasets.tally.columns]
day = "date"
lpa = "str"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "total"
title = "Total"
priority = "p"
kind = "sum"
dataset = "ledger"
value = "i"

[[kpis]]
id = "average"
title = "Average"
priority = "p"
kind = "mean"
dataset = "ledger"
value = "i"

[[kpis]]
id = "shifted"
title = "Shifted"
priority = "p"
kind = "sum"
dataset = "ledger"
value = "i - 1"

[[kpis]]
id = "sizes"
title = "Sizes"
priority = "p"
kind = "sum"
dataset = "ledger"
value = "ABS(i)"

[[kpis]]
id = "squared"
title = "Squared above zero"
priority = "p"
kind = "count"
dataset = "ledger"
filter = "POWER(i, 2) > 0"

[[kpis]]
id = "weighted"
title = "Weighted tally"
priority = "p"
kind = "sum"
dataset = "tally"
value = "CASE WHEN lpa = 'North' THEN 4611686018427387904 ELSE 3 END"

[[checks]]
id = "parts"
title = "Sizes are the sum of the shifted total and its rows"
total = "total"
parts = ["shifted", "squared"]
"""

# The ledger alone, without KPIs.
LEDGER = PROJECT.split("[datasets.tally]")[0] + '[[priorities]]\nid = "p"\ntitle = "P"\n\n'

# Values near 2**62 of both signs: three of them in a month pass 2**63 (the old sums wrapped),
# none so near 2**63 that `i - 1` or `ABS(i)` passes it.
NEAR = [2**62, 2**62 + 12_345, 2**62 - 1, 3 * 2**61, -(2**62), -(3 * 2**61) + 7, 5, 0]
MONTHS = [f"{2023 + (9 + k) // 12}-{(9 + k) % 12 + 1:02d}" for k in range(24)]  # 2023-10 on
CURRENT, PREVIOUS = MONTHS[12:], MONTHS[:12]


def _rows(seed: int) -> list[tuple[str, str, int]]:
    rng = random.Random(seed)
    # Every month: both parts, and three values of about 2**62 or more.
    parts = ["North", "South"]
    return [(f"{m}-{d + 10}", parts[d % 2] if d < 2 else rng.choice(parts),
             rng.choice(NEAR[:4] if d < 3 else NEAR))
            for m in MONTHS for d in range(rng.randint(3, 6))]


def _project(folder: Path, rows: list[tuple[str, str, int]]) -> Path:
    folder.mkdir(parents=True)
    (folder / "kpi.toml").write_text(PROJECT, encoding="utf-8")
    (folder / "ledger.csv").write_text(
        "day,lpa,i\n" + "".join(f"{d},{p},{i}\n" for d, p, i in rows), encoding="utf-8")
    (folder / "tally.csv").write_text(
        "day,lpa\n" + "".join(f"{d},{p}\n" for d, p, _ in rows), encoding="utf-8")
    for dataset in ("ledger", "tally"):
        loaded = inprocess.run(["--project", folder, "ingest", dataset, folder / f"{dataset}.csv"])
        assert loaded.returncode == 0, loaded.stderr
    return folder


def _duckdb(folder: Path, select: str, months: list[str], where: str = "TRUE") -> int:
    """One figure over the months' rows of the ledger, in DuckDB's HUGEINT."""
    return duckdb.sql(
        f"SELECT {select} FROM read_csv('{folder / 'ledger.csv'}', "
        "types={'day': 'DATE', 'lpa': 'VARCHAR', 'i': 'HUGEINT'}) "
        f"WHERE strftime(day, '%Y-%m') BETWEEN '{months[0]}' AND '{months[-1]}' AND {where}"
    ).fetchone()[0]


def _json(folder: Path, *args: str) -> dict:
    result = inprocess.run(["--project", folder, *args, "--period", "2025-09", "--vs", "yoy",
                            "--format", "json"])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("seed", [0, 1])
def test_sums_of_whole_numbers_are_exact_however_large(tmp_path, seed):
    rows = _rows(seed)
    folder = _project(tmp_path / "p", rows)

    def exact(months: list[str], lpa: str | None = None, f=lambda i: i) -> int:
        return sum(f(i) for d, p, i in rows if d[:7] in months and lpa in (None, p))

    n = {w: sum(d[:7] in w for d, _, _ in rows) for w in (tuple(CURRENT), tuple(PREVIOUS))}
    expected = {}
    for months in (CURRENT, PREVIOUS):
        total = exact(months)
        assert total == _duckdb(tmp_path / "p", "SUM(i)", months)
        assert exact(months, f=lambda i: i - 1) == _duckdb(tmp_path / "p", "SUM(i - 1)", months)
        assert exact(months, f=abs) == _duckdb(tmp_path / "p", "SUM(ABS(i))", months)
        squared = _duckdb(tmp_path / "p", "COUNT(*)", months, "POWER(i, 2) > 0")
        assert squared == sum(d[:7] in months and i != 0 for d, _, i in rows)
        tally = sum(2**62 if p == "North" else 3 for d, p, _ in rows if d[:7] in months)
        expected[months[0]] = {
            "total": total, "average": float(Fraction(total, n[tuple(months)])),
            "shifted": exact(months, f=lambda i: i - 1), "sizes": exact(months, f=abs),
            "squared": squared, "weighted": tally}
    assert abs(expected[CURRENT[0]]["total"]) > 2**63  # the class: beyond 64 bits

    summary = _json(folder, "summary")
    for k in summary["kpis"]:
        assert k["current"]["value"] == expected[CURRENT[0]][k["id"]], k["id"]
        assert k["comparison"]["value"] == expected[PREVIOUS[0]][k["id"]], k["id"]
        if k["id"] != "average":
            assert k["change"]["absolute"] == expected[CURRENT[0]][k["id"]] \
                - expected[PREVIOUS[0]][k["id"]], k["id"]

    shown = _json(folder, "show", "total")
    for point in shown["trend"]:  # a trend's whole numbers: the exact sum
        assert point["value"] == exact([point["month"]]), point["month"]
    assert shown["trend"][-1]["rolling_12"] == expected[CURRENT[0]]["total"]

    compared = _json(folder, "compare", "--by", "lpa")
    for k in compared["kpis"]:
        if k["id"] in ("total", "sizes"):
            f = abs if k["id"] == "sizes" else (lambda i: i)
            for part in k["parts"]:
                assert part["current"]["value"] == exact(CURRENT, part["name"], f), part["name"]

    project = kpi.open(folder)
    face = project.summary("2025-09", "yoy")
    for kpi_id, figures in expected[CURRENT[0]].items():
        got = face.filter(pl.col("id") == kpi_id)["current_value"].item()
        if kpi_id == "average":  # the mean's float, as its JSON writes it (a float)
            assert float(got) == figures
            written = next(k["current"]["value"] for k in summary["kpis"] if k["id"] == kpi_id)
            figures = Decimal(repr(written)) if isinstance(written, float) else written
        assert got == figures, kpi_id  # a whole number exactly
    series = project.series("total", "2025-09")
    assert series["rolling_12"][-1] == expected[CURRENT[0]]["total"]
    parts = project.compare("2025-09", "lpa", "yoy").filter(pl.col("kpi") == "total")
    for name, value in parts.select("part", "current_value").iter_rows():
        assert value == exact(CURRENT, name), name


def test_a_reconciliation_of_large_sums_prints_the_exact_figures(tmp_path):
    rows = [(f"{m}-1{d}", "North", 2**62) for m in MONTHS for d in range(3)]
    folder = _project(tmp_path / "p", rows)
    result = inprocess.run(["--project", folder, "check", "--period", "2025-09",
                            "--format", "json"])
    assert result.returncode in (0, 1), result.stderr
    check = next(c for c in json.loads(result.stdout)["checks"] if c["id"] == "parts")
    total, shifted, squared = 36 * 2**62, 36 * (2**62 - 1), 36
    assert check["difference"] == total - (shifted + squared)


OVERFLOWING = [
    # (value or filter key, expression, the value in the rows)
    ("value", "i * 1000", 2**62),
    ("value", "i + i", 2**62),
    ("value", "ABS(i)", -(2**63)),
    ("value", "-i", -(2**63)),
    ("filter", "i + 1 > 0", 2**63 - 1),
]


@pytest.mark.parametrize(("key", "expression", "value"), OVERFLOWING)
def test_row_arithmetic_beyond_64_bits_stops_naming_the_kpi_and_key(tmp_path, key, expression,
                                                                      value):
    # DuckDB stops on the same rows, where Polars wraps round (or, for the filter, which its
    # optimizer reads as i > -1, gives the true answer, never the wrapped one).
    try:
        got = duckdb.sql(f"SELECT {expression} FROM (SELECT ({value})::BIGINT AS i)").fetchone()
    except duckdb.OutOfRangeException:
        got = None
    assert got == ((True,) if key == "filter" else None)
    folder = tmp_path / "p"
    folder.mkdir()
    kind = 'kind = "sum"\nvalue' if key == "value" else 'kind = "count"\nfilter'
    (folder / "kpi.toml").write_text(
        LEDGER
        + f'[[kpis]]\nid = "big"\ntitle = "Big"\npriority = "p"\ndataset = "ledger"\n'
        f'{kind} = "{expression}"\n', encoding="utf-8")
    (folder / "ledger.csv").write_text(
        "day,lpa,i\n" + "".join(f"{m}-15,North,{value}\n" for m in MONTHS), encoding="utf-8")
    loaded = inprocess.run(["--project", folder, "ingest", "ledger", folder / "ledger.csv"])
    assert loaded.returncode == 0, loaded.stderr
    for command in (["summary"], ["show", "big"], ["compare", "--by", "lpa"]):
        result = inprocess.run(["--project", folder, *command, "--period", "2025-09"])
        assert result.returncode == 3, (command, result.stdout)
        first = result.stderr.splitlines()[0]
        assert first.startswith(f"Error: KPI 'big', key '{key}': {expression} gives a whole "
                                "number beyond 64 bits"), first
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_derived_column_beyond_64_bits_is_named(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text(
        LEDGER
        .replace('i = "int"\n', 'i = "int"\n[datasets.ledger.derived]\nbig = "i * 4"\n')
        + '[[kpis]]\nid = "big"\ntitle = "Big"\npriority = "p"\ndataset = "ledger"\n'
        'kind = "sum"\nvalue = "big"\n', encoding="utf-8")
    (folder / "ledger.csv").write_text(
        "day,lpa,i\n" + "".join(f"{m}-15,North,{2**62}\n" for m in MONTHS), encoding="utf-8")
    assert inprocess.run(["--project", folder, "ingest", "ledger",
                          folder / "ledger.csv"]).returncode == 0
    result = inprocess.run(["--project", folder, "summary", "--period", "2025-09"])
    assert result.returncode == 3
    assert result.stderr.startswith("Error: dataset 'ledger', key 'derived.big': i * 4 gives a "
                                    "whole number beyond 64 bits"), result.stderr


def _columns_project(folder: Path, width: int, rows: list[list[int]], kpis: str) -> Path:
    """A dataset of `width` whole-number columns c00, c01, ..., each row's values on the 15th
    of a month of MONTHS in turn, and the KPIs given."""
    names = [f"c{k:02d}" for k in range(width)]
    folder.mkdir()
    (folder / "kpi.toml").write_text(
        LEDGER.replace('i = "int"\n', "".join(f'{n} = "int"\n' for n in names)) + kpis,
        encoding="utf-8")
    (folder / "ledger.csv").write_text(
        "day,lpa," + ",".join(names) + "\n"
        + "".join(f"{MONTHS[k % len(MONTHS)]}-15,North," + ",".join(map(str, row)) + "\n"
                  for k, row in enumerate(rows)), encoding="utf-8")
    loaded = inprocess.run(["--project", folder, "ingest", "ledger", folder / "ledger.csv"])
    assert loaded.returncode == 0, loaded.stderr
    return folder


def test_a_sum_of_forty_whole_number_columns_is_exact(tmp_path):
    """A value adding up forty `int` columns (a total of category columns) gives DuckDB's sum,
    and stops, naming it, where an intermediate sum passes 64 bits as DuckDB stops. Each step
    was checked against its operands' checked answers, copying the steps below it three times
    a level: `a + b + ... + j` of ten columns was refused when the file loaded ("is not a
    valid SQL expression (could not deserialize input into an expression)") after 7 s."""
    width = 40
    names = [f"c{k:02d}" for k in range(width)]
    rng = random.Random(7)
    # Values up to 2**57 of both signs: forty of them stay within 64 bits however they fall.
    rows = [[rng.choice([rng.randint(-(2**57), 2**57), rng.randint(-9, 9)]) for _ in names]
            for _ in range(2 * len(MONTHS))]
    total = " + ".join(names)
    folder = _columns_project(
        tmp_path / "p", width, rows,
        f'[[kpis]]\nid = "total"\ntitle = "Total"\npriority = "p"\ndataset = "ledger"\n'
        f'kind = "sum"\nvalue = "{total}"\n'
        f'[[kpis]]\nid = "above"\ntitle = "Above"\npriority = "p"\ndataset = "ledger"\n'
        f'kind = "count"\nfilter = "{total} > 0"\n')
    types = ", ".join(f"'{n}': 'BIGINT'" for n in names)
    table = (f"read_csv('{folder / 'ledger.csv'}', types={{'day': 'DATE', {types}}}) "
             f"WHERE strftime(day, '%Y-%m') BETWEEN '{CURRENT[0]}' AND '{CURRENT[-1]}'")
    expected = duckdb.sql(f"SELECT SUM(({total})::HUGEINT) FROM {table}").fetchone()[0]
    above = duckdb.sql(f"SELECT COUNT(*) FROM {table} AND {total} > 0").fetchone()[0]
    assert expected == sum(sum(row) for k, row in enumerate(rows)
                           if MONTHS[k % len(MONTHS)] in CURRENT)
    figures = {k["id"]: k for k in _json(folder, "summary")["kpis"]}
    assert figures["total"]["current"]["value"] == expected
    assert figures["above"]["current"]["value"] == above

    # The first two columns pass 2**63 together and the third brings the sum back: DuckDB
    # stops, and so does kpi, naming the KPI, key and expression.
    wrapping = [[2**62, 2**62, -(2**62)] + [0] * (width - 3)]
    with pytest.raises(duckdb.OutOfRangeException):
        values = zip(wrapping[0], names, strict=True)
        duckdb.sql(f"SELECT {total} FROM (SELECT "
                   + ", ".join(f"{v}::BIGINT AS {n}" for v, n in values) + ")").fetchone()
    folder = _columns_project(
        tmp_path / "q", width, wrapping * len(MONTHS),
        f'[[kpis]]\nid = "total"\ntitle = "Total"\npriority = "p"\ndataset = "ledger"\n'
        f'kind = "sum"\nvalue = "{total}"\n')
    result = inprocess.run(["--project", folder, "summary", "--period", "2025-09"])
    assert result.returncode == 3, result.stdout
    assert result.stderr.startswith(f"Error: KPI 'total', key 'value': {total} gives a whole "
                                    "number beyond 64 bits"), result.stderr


def test_a_long_sum_mixing_floats_is_worked_in_decimals(tmp_path):
    """The decimal rewrite reaches through a long sum: 16.1 - 1.1 beside thirty-eight whole
    columns of 0 is 15.0, not the binary 15.000000000000002."""
    from kpi.expressions import polars_expr

    names = [f"c{k:02d}" for k in range(38)]
    frame = pl.DataFrame({**{n: [0, 2] for n in names}, "x": [16.1, 0.1], "y": [1.1, -0.2]})
    got = frame.select(polars_expr(" + ".join(names) + " + x - y").alias("v"))["v"].to_list()
    assert got == [15.0, 76.3]
    assert 16.1 - 1.1 != 15.0


def test_a_sum_too_deep_for_polars_is_refused_saying_so(tmp_path):
    """A sum of so many columns that Polars cannot read the expression back is refused when
    the file loads saying it is too deep, not that it is no SQL expression."""
    names = [f"c{k:02d}" for k in range(70)]
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text(
        LEDGER.replace('i = "int"\n', "".join(f'{n} = "int"\n' for n in names))
        + f'[[kpis]]\nid = "total"\ntitle = "Total"\npriority = "p"\ndataset = "ledger"\n'
        f'kind = "sum"\nvalue = "{" + ".join(names)}"\n', encoding="utf-8")
    (folder / "ledger.csv").write_text(
        "day,lpa," + ",".join(names) + "\n2025-09-15,North," + ",".join(["1"] * len(names))
        + "\n", encoding="utf-8")
    result = inprocess.run(["--project", folder, "ingest", "ledger", folder / "ledger.csv"])
    assert result.returncode == 3
    assert ("KPI 'total', key 'value': is nested too deeply to read; write it flatter (a "
            "derived column can name a part)") in result.stderr.splitlines()[0], result.stderr


# Whole numbers past 2**53 (and 10**15, where 15 significant digits no longer reach the units),
# where a float no longer holds every whole number.
PAST_FLOATS = [2**53 + 1, 2**53 + 3, 2**53 - 1, 10**15 + 7, 3 * 2**53 + 1, 5]


def _markdown(folder: Path, *args: str) -> str:
    result = inprocess.run(["--project", folder, *args, "--period", "2025-09", "--vs", "yoy",
                            "--format", "markdown"])
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sums_and_means_past_2_53_print_their_exact_figures(tmp_path, seed):
    """A sum of whole numbers is exact however large, and so is the figure printed: DuckDB's
    HUGEINT sum, the change between two, a mean that is a whole number, and `kpi compare`'s
    parts, each every digit. 15 significant digits printed 9007199254740993 as
    9,007,199,254,740,990 (a total no rows summed to), and a whole mean went through a
    float first (9007199254740993 twice as 9,007,199,254,740,992), exit 0. A mean that is
    no whole number is a float, printed to 15 significant digits as any float is."""
    rng = random.Random(seed)
    rows = [(f"{m}-{d + 10}", "North" if d % 2 else "South", rng.choice(PAST_FLOATS))
            for m in MONTHS for d in range(rng.randint(2, 4))]
    folder = _project(tmp_path / "p", rows)
    total, total_before = (_duckdb(folder, "SUM(i)", m) for m in (CURRENT, PREVIOUS))
    summary = _markdown(folder, "summary")
    assert f"| Total | {total_before:,} | {total:,} | {total - total_before:+,} (" in summary
    shown = _markdown(folder, "show", "average")
    assert f"| {total:,} |" in shown  # the current window's numerator
    compared = _markdown(folder, "compare", "--by", "lpa")
    for lpa in ("North", "South"):
        now, before = (_duckdb(folder, "SUM(i)", m, f"lpa = '{lpa}'") for m in (CURRENT,
                                                                                 PREVIOUS))
        assert f"| {lpa} | {before:,} | {now:,} | {now - before:+,} (" in compared, lpa
    exact = {k["id"]: k["current"]["value"] for k in _json(folder, "summary")["kpis"]}
    assert exact["total"] == total
    # Every row 2**53 + 1: the mean is that whole number, in every window.
    same = _project(tmp_path / "same", [(d, p, 2**53 + 1) for d, p, _ in rows])
    mean = _duckdb(same, "SUM(i) // COUNT(*)", CURRENT)
    assert mean == 2**53 + 1 and _duckdb(same, "SUM(i) % COUNT(*)", CURRENT) == 0
    assert f"| Average | {mean:,}.0 | {mean:,}.0 | 0.0 (0.0%) |" in _markdown(same, "summary")
    assert {k["id"]: k["current"]["value"]
            for k in _json(same, "summary")["kpis"]}["average"] == 2**53 + 1


def test_every_face_of_a_trend_and_a_frame_gives_the_whole_number_past_2_53(tmp_path):
    """A month of 2**53 and 1 sums to 9007199254740993, and the summary printed its year
    exactly, but `kpi show`'s trend (text, Markdown, JSON, CSV) and the Python face's frames
    (`series`, `summary`, `compare`'s group mean, `detail`'s trend, `checks`' figures)
    carried the sums as floats: 9,007,199,254,740,990 a month and 108,086,391,056,892,000 a
    year in the text, 9007199254740992 in JSON, 1.0808639105689192e+17 in CSV, figures no
    rows sum to, exit 0. Each is now DuckDB's HUGEINT sum, every digit."""
    rows = [(f"{m}-1{d}", "North" if d else "South", 2**53 if d else 1)
            for m in MONTHS for d in range(2)]
    folder = _project(tmp_path / "p", rows)
    month = _duckdb(folder, "SUM(i)", ["2025-09"])
    year = _duckdb(folder, "SUM(i)", CURRENT)
    assert (month, year) == (2**53 + 1, 12 * (2**53 + 1))
    text = inprocess.run(["--project", folder, "show", "total", "--period", "2025-09",
                          "--vs", "yoy"])
    assert text.returncode == 0, text.stderr
    assert f"2025-09  {month:,}  {year:,}" in text.stdout
    assert f"| 2025-09 | {month:,} | {year:,} |" in _markdown(folder, "show", "total")
    assert _json(folder, "show", "total")["trend"][-1] == {
        "month": "2025-09", "value": month, "rolling_12": year}
    csv = inprocess.run(["--project", folder, "show", "total", "--period", "2025-09",
                         "--vs", "yoy", "--format", "csv"])
    assert csv.returncode == 0, csv.stderr
    assert csv.stdout.splitlines()[-1].startswith("Signal")  # the trend's rows come before
    assert f",{month},,,,,,,,,,,2025-09,{year}" in csv.stdout
    project = kpi.open(folder)
    series = project.series("total", "2025-09", months=2)
    assert series.rows()[-1] == ("2025-09", month, year)
    assert project.detail("total", "2025-09", vs="yoy").trend.rows()[-1] == (
        "2025-09", month, year)
    face = project.summary("2025-09", "yoy")
    assert face.filter(pl.col("id") == "total")["current_value"].item() == year
    assert face.filter(pl.col("id") == "average")["current_value"].item() == Decimal(
        repr(float(Fraction(year, 24))))  # a mean that is no whole number: its float
    # A workbook's cell is a double, formatted by its unit as any figure's (the Int128 column
    # is written as the float nearest each figure, as Excel holds 15 digits).
    book = tmp_path / "summary.xlsx"
    assert inprocess.run(["--project", folder, "summary", "--period", "2025-09", "--vs", "yoy",
                          "--format", "xlsx", "--output", book]).returncode == 0
    sheet = openpyxl.load_workbook(book).active
    cells = [row for row in sheet.iter_rows() if row[0].value == "total"][0]
    figures = [c for c in cells if isinstance(c.value, float) and abs(c.value - year) < 1e3]
    assert len(figures) == 2  # the two windows, to the 16 digits a workbook writes
    assert all(c.number_format.endswith("#,##0") for c in figures)
    checked = project.checks("2025-09").filter(pl.col("id") == "parts")
    assert checked["total"].struct.field("value").item() == year
    parts = project.compare("2025-09", "lpa", "yoy", kpis=["total"])
    assert parts["group_mean"].to_list() == [year // 2, year // 2]
    assert parts["current_value"].to_list() == [12 * 2**53, 12]


def test_a_breakdown_of_a_whole_mean_past_2_53_beside_a_fraction_prints_every_digit(tmp_path):
    """North's mean is 9007199254740993 (every row that), South's 1.5: one column holds both,
    a Decimal in the frame, and `kpi show`'s breakdown wrote North's as the text
    "9007199254740993.0" in JSON and printed "9,007,199,254,740,990.0" beside `kpi compare`'s
    "9,007,199,254,740,993.0", exit 0. Each face now gives the figure `kpi compare` gives."""
    folder = tmp_path / "p"
    folder.mkdir()
    text = PROJECT.replace('kind = "mean"\ndataset = "ledger"\nvalue = "i"\n',
                           'kind = "mean"\ndataset = "ledger"\nvalue = "i"\n'
                           'breakdowns = ["lpa"]\n')
    assert text != PROJECT
    (folder / "kpi.toml").write_text(text, encoding="utf-8")
    rows = [(f"{m}-1{d}", "North" if d == 0 else "South", 2**53 + 1 if d == 0 else d)
            for m in MONTHS for d in range(3)]
    (folder / "ledger.csv").write_text(
        "day,lpa,i\n" + "".join(f"{d},{p},{i}\n" for d, p, i in rows), encoding="utf-8")
    (folder / "tally.csv").write_text("day,lpa\n", encoding="utf-8")
    assert inprocess.run(["--project", folder, "ingest", "ledger",
                          folder / "ledger.csv"]).returncode == 0
    north = _duckdb(folder, "SUM(i) // COUNT(*)", CURRENT, "lpa = 'North'")
    assert north == 2**53 + 1
    parts = {p["part"]: p["current"] for p in _json(folder, "show", "average")["breakdowns"]["lpa"]}
    assert parts == {"North": north, "South": 1.5}
    assert f"| North | {north:,}.0 | {north:,}.0 |" in _markdown(folder, "show", "average")
    assert f"| North | {north:,}.0 | {north:,}.0 |" in _markdown(folder, "compare", "--by", "lpa")


def test_a_mean_whose_float_is_whole_is_not_written_as_a_whole_number(tmp_path):
    """Rows of 2**52 + 1 and 2**52 + 2 each month: the mean is 4503599627370497.5, whose
    nearest float is 4503599627370498.0. The summary's JSON and CSV wrote it as the integer
    4503599627370498, and `kpi show`'s trend (text, JSON) likewise ("4,503,599,627,370,498.0",
    a figure no rows average to, beside the Windows section's "4,503,599,627,370,500.0"),
    exit 0: a whole float of a mean was taken for a whole number. It is the float it is,
    printed to the 15 significant digits of the exact mean (DuckDB's), as the summary prints
    it; a sum, whose figures are whole, is still every digit."""
    rows = [(f"{m}-1{d}", "North" if d else "South", 2**52 + 1 + d)
            for m in MONTHS for d in range(2)]
    folder = _project(tmp_path / "p", rows)
    count = _duckdb(folder, "COUNT(*)", CURRENT)
    exact = Fraction(_duckdb(folder, "SUM(i)", CURRENT), count)
    assert exact == Fraction(2 * 2**52 + 3, 2) and count == 24
    nearest = float(exact)  # 4503599627370498.0: whole, and not the mean
    assert nearest.is_integer() and nearest != exact
    # Excel's 15 significant digits of the exact mean, to the KPI's one decimal.
    fifteen = Context(prec=15, rounding=ROUND_HALF_UP).create_decimal(
        Decimal(exact.numerator) / exact.denominator)
    shown = f"{fifteen:,.1f}"
    assert shown == "4,503,599,627,370,500.0"
    summary = {k["id"]: k for k in _json(folder, "summary")["kpis"]}
    value = summary["average"]["current"]["value"]
    assert isinstance(value, float) and value == nearest
    assert summary["total"]["current"]["value"] == _duckdb(folder, "SUM(i)", CURRENT)
    table = inprocess.run(["--project", folder, "summary", "--period", "2025-09", "--vs",
                           "yoy", "--format", "csv"])
    assert table.returncode == 0, table.stderr
    cells = {row.split(",")[0]: row.split(",") for row in table.stdout.splitlines()}
    assert cells["average"][14] == repr(nearest)  # current_value: "4503599627370498.0"
    show = _json(folder, "show", "average")
    assert show["trend"][-1] == {"month": "2025-09", "value": nearest, "rolling_12": nearest}
    assert all(isinstance(row["value"], float) for row in show["trend"])
    text = inprocess.run(["--project", folder, "show", "average", "--period", "2025-09",
                          "--vs", "yoy"])
    assert text.returncode == 0, text.stderr
    assert f"2025-09  {shown}  {shown}" in text.stdout
    assert "4,503,599,627,370,498" not in text.stdout
    assert f"| Average | {shown} | {shown} |" in _markdown(folder, "summary")


CHECKED = """\
[project]
name = "Checked"
baseline = "2024-09"

[datasets.m]
date = "day"
[datasets.m.columns]
day = "date"
lpa = "str"
n = "int"

[[priorities]]
id = "p"
title = "P"
""" + "".join(f"""
[[kpis]]
id = "{kpi_id}"
title = "{kpi_id.title()}"
priority = "p"
kind = "sum"
dataset = "m"
value = "n"
{where}
""" for kpi_id, where in (("total", ""), ("north", "filter = \"lpa == 'North'\""),
                          ("again", "filter = \"lpa == 'North'\""))) + """
[[checks]]
id = "parts"
title = "North twice makes the total"
total = "total"
parts = ["north", "again"]
"""


def test_a_checks_comparison_difference_past_2_53_keeps_every_digit(tmp_path):
    """A reconciliation failing by 9007199254740997 in both windows: `kpi check`'s JSON gives
    every digit of both differences, and `project.checks()` gave the current window's as an
    Int128 but the comparison window's as the float 9007199254740996.0 (a figure the rows do
    not make), as the comparison's difference was made a float whatever it held. Both are
    now typed as every figure of the Python face is (`engine.figure_column`): DuckDB's."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text(CHECKED, encoding="utf-8")
    rows = [(f"{m}-16", "South", 750599937895084) for m in MONTHS]
    rows += [(f"{m}-15", "North", 1) for m in MONTHS if m not in ("2025-09", "2024-09")]
    (folder / "m.csv").write_text("day,lpa,n\n" + "".join(f"{d},{p},{n}\n" for d, p, n in rows),
                                  encoding="utf-8")
    loaded = inprocess.run(["--project", folder, "ingest", "m", folder / "m.csv"])
    assert loaded.returncode == 0, loaded.stderr

    def difference(months: list[str]) -> int:
        return duckdb.sql(
            f"SELECT SUM(n) - 2 * SUM(n) FILTER (WHERE lpa = 'North') FROM read_csv("
            f"'{folder / 'm.csv'}', types={{'day': 'DATE', 'lpa': 'VARCHAR', 'n': 'HUGEINT'}}) "
            f"WHERE strftime(day, '%Y-%m') BETWEEN '{months[0]}' AND '{months[-1]}'"
        ).fetchone()[0]

    now, then = difference(CURRENT), difference(PREVIOUS)
    assert now == then == 9007199254740997 and float(then) != then
    result = inprocess.run(["--project", folder, "check", "--period", "2025-09",
                            "--format", "json"])
    assert result.returncode == 1, result.stderr  # the check fails, as the rows make it
    checked = json.loads(result.stdout)
    parts = next(c for c in checked["checks"] if c["id"] == "parts")
    assert (parts["difference"], parts["comparison"]["difference"]) == (now, then)
    frame = kpi.open(folder).checks("2025-09").filter(pl.col("id") == "parts")
    assert frame["difference"].item() == now
    assert frame["comparison"].struct.field("difference").item() == then


def test_a_trends_mean_past_2_53_beside_whole_months_is_not_written_as_a_whole_number(
        tmp_path):
    """A mean KPI whose months alternate: one row of 2**60 + 1 (the mean that whole number),
    then rows of 2**60 + 1 and 2**60 + 2 (the mean 1152921504606846977.5, whose float is
    1.152921504606847e+18). The trend's column holds a whole number past 2**53, so it is a
    Decimal column, and each float in it its repr's decimal, 1152921504606847000: `kpi show`
    wrote that as the integer 1152921504606847000 and printed "1,152,921,504,606,847,000.0",
    digits no rows average to, as if exact, exit 0. A float is written as the float, printed
    to the 15 significant digits of DuckDB's exact mean; a whole month every digit."""
    rows = [(f"{m}-1{d}", "North" if d else "South", 2**60 + 1 + d)
            for k, m in enumerate(MONTHS) for d in range(1 + k % 2)]
    folder = _project(tmp_path / "p", rows)
    shown = _json(folder, "show", "average")
    text = inprocess.run(["--project", folder, "show", "average", "--period", "2025-09",
                          "--vs", "yoy"])
    assert text.returncode == 0, text.stderr
    for month in ("2025-08", "2025-09"):
        count, total = _duckdb(folder, "COUNT(*)", [month]), _duckdb(folder, "SUM(i)", [month])
        exact = Fraction(total, count)
        point = next(p for p in shown["trend"] if p["month"] == month)
        line = next(x for x in text.stdout.splitlines() if x.startswith(month + "  "))
        if exact.denominator == 1:  # one row: its value, every digit
            assert point["value"] == exact == 2**60 + 1 and isinstance(point["value"], int)
            assert line.split()[1] == f"{int(exact):,}.0"
        else:
            assert exact == Fraction(2**61 + 3, 2)
            assert isinstance(point["value"], float) and point["value"] == float(exact)
            fifteen = Context(prec=15, rounding=ROUND_HALF_UP).create_decimal(
                Decimal(exact.numerator) / exact.denominator)
            assert line.split()[1] == f"{fifteen:,.1f}" == "1,152,921,504,606,850,000.0"


def test_a_process_charts_signal_past_2_53_is_never_written_as_a_whole_number_no_rows_sum_to(
        tmp_path):
    """A sum whose months are 2**53 and 1 (9007199254740993), but one of 2**53, 2**53 and 1
    (18014398509481985): that month is far outside the chart's limits, a signal. The chart
    reads its months as floats, and `kpi show --format json` wrote each signal's float past
    2**53 as an integer, 18014398509481984 where the month's rows sum to 18014398509481985
    (as its `trend` and the Python face's `series` give it), a whole number no rows sum to,
    exit 0. A signal's value is an integer only where it is the month's sum, DuckDB's
    HUGEINT, every digit; else the float the chart read."""
    spike = MONTHS[-3]
    rows = [(f"{m}-1{d}", "North" if d else "South", 1 if d == 2 else 2**53)
            for m in MONTHS for d in range(3 if m == spike else 1)]
    # 1 and 3 in turn (the floats 2**53 and 2**53 + 4): months that never varied would give
    # the chart no limits, and so no signal
    small = {m: 1 + 2 * (i % 2) for i, m in enumerate(MONTHS)}
    rows += [(f"{m}-20", "South", small[m]) for m in MONTHS if m != spike]
    folder = _project(tmp_path / "p", rows)
    signals = _json(folder, "show", "total")["signal"]["xmr"]["signals"]
    series = dict(kpi.open(folder).series("total", "2025-09", months=24)
                  .select("month", "value").rows())
    assert spike in {s["month"] for s in signals}
    for signal in signals:
        exact = _duckdb(folder, "SUM(i)", [signal["month"]])
        assert exact == (2**54 + 1 if signal["month"] == spike else 2**53 + small[signal["month"]])
        assert series[signal["month"]] == exact  # the Python face's month, every digit
        assert signal["value"] == float(exact)
        assert not isinstance(signal["value"], int), signal  # no float holds it whole


ORDERED = LEDGER + """\
[[kpis]]
id = "middle"
title = "Middle"
priority = "p"
kind = "median"
dataset = "ledger"
value = "i"
decimals = 0

[[kpis]]
id = "high"
title = "High"
priority = "p"
kind = "percentile"
percentile = 90
dataset = "ledger"
value = "i"
decimals = 0
"""


def _quantile(values: list[int], q: Fraction) -> Fraction:
    """Linear interpolation at (n - 1) × q, as DuckDB's quantile_cont defines it, exactly."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    below = position.numerator // position.denominator
    if below == position:
        return Fraction(ordered[below])
    return ordered[below] + (ordered[below + 1] - ordered[below]) * (position - below)


def test_a_median_and_percentile_past_2_53_rank_the_whole_numbers_as_written(tmp_path):
    """A median or percentile of an int column past 2**53 was worked in floats: every row
    9007199254740993 had a median of 9007199254740992, printed 9,007,199,254,740,990 beside a
    mean of 9,007,199,254,740,993. The whole numbers are ranked as they are, and a figure
    between two whose halfway is whole is that whole number (2**53 + 1 and 2**53 + 3 give
    2**53 + 2), in the summary, `kpi compare` and the text, checked against Python's
    Fractions. North holds 2**53 + 1 and 2**53 + 3 every month; South 2**53 + 1."""
    rows = []
    for month in MONTHS:
        rows.append((f"{month}-10", "North", 2**53 + 1))
        rows.append((f"{month}-11", "North", 2**53 + 3))
        rows.append((f"{month}-12", "South", 2**53 + 1))
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text(ORDERED, encoding="utf-8")
    (folder / "ledger.csv").write_text(
        "day,lpa,i\n" + "".join(f"{d},{p},{i}\n" for d, p, i in rows), encoding="utf-8")
    loaded = inprocess.run(["--project", folder, "ingest", "ledger", folder / "ledger.csv"])
    assert loaded.returncode == 0, loaded.stderr

    def exact(part: str | None, q: Fraction) -> Fraction:
        return _quantile([i for d, p, i in rows if d[:7] in CURRENT
                          and part in (None, p)], q)

    # 36 values of the year, 24 of them 2**53 + 1: the 18th and 19th are 2**53 + 1, the 32nd
    # and 33rd 2**53 + 3.
    assert exact(None, Fraction(1, 2)) == 2**53 + 1
    assert exact(None, Fraction(9, 10)) == 2**53 + 3
    # North's 24: the 12th and 13th are 2**53 + 1 and 2**53 + 3, halfway 2**53 + 2.
    assert exact("North", Fraction(1, 2)) == 2**53 + 2
    summary = {k["id"]: k["current"]["value"] for k in _json(folder, "summary")["kpis"]}
    assert summary == {"middle": 2**53 + 1, "high": 2**53 + 3}
    compared = _json(folder, "compare", "--by", "lpa")
    for k in compared["kpis"]:
        q = Fraction(1, 2) if k["id"] == "middle" else Fraction(9, 10)
        assert {p["name"]: p["current"]["value"] for p in k["parts"]} == {
            "North": exact("North", q), "South": exact("South", q)}, k["id"]
    text = inprocess.run(["--project", folder, "summary", "--period", "2025-09"]).stdout
    assert "9,007,199,254,740,993" in text and "9,007,199,254,740,995" in text
    assert "9,007,199,254,740,990" not in text
