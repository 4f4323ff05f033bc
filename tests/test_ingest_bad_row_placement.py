"""Every row check of the ingest, with its bad rows in every place a batch can hold them.

Two bad rows of a CSV batch's second chunk, none in its first, were a Polars panic (exit 1 and
a traceback): `pl.format` over a text column whose first chunk is empty. So the refusal of a
bad row is checked here as a matrix, not a case: for every check the conformer and the
`unique` check make (docs/guarantees.md, "Every bad input"), every reader (a plain CSV file,
read by Polars' parser; a quoted one, read by Arrow's; Parquet; Excel) and every placement of
the bad rows (in a batch's first chunk, in a later chunk only, in several chunks and batches,
the last row alone, and rows drawn from a seed), `kpi ingest` must exit 3 with one error line
naming the file, the FIRST bad row in file order and its column, and a hint; no traceback; and
the store as it was (its version and rows).

The Parquet and Excel readers give each batch as one chunk, so "several chunks" is not drawn
for them (it is drawn for any reader whose batches have several): there it would put the bad
rows at the start of later batches, earlier batches clean, which "last row" (a bad row in the
last batch alone) already holds, as "first chunk" holds bad rows inside the first batch. 39
of the 277 loads, about 14% of the file's CPU.

Batches are 7 rows (KPI_INGEST_BATCH_ROWS) and the CSV readers' block 256 bytes
(`survey.BLOCK`, read by both parsers), so a batch is made of several chunks, as a batch of a
large file is. The test records each batch's chunks as the conformer receives them and checks
that the placements meant to sit in a later chunk do.

CI runs the fixed placements and `KPI_PLACEMENT_DRAWS` drawn ones per check and
reader (none in CI); a longer hunt by hand:

    KPI_PLACEMENT_DRAWS=30 KPI_PLACEMENT_SEED=7 pytest tests/test_ingest_bad_row_placement.py -s
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from inprocess import run

from kpi.ingest import csv_reader, stage, survey
from kpi.ingest.common import ROW

ROWS = 21
BATCH = 7
BLOCK = 256
DRAWS = int(os.environ.get("KPI_PLACEMENT_DRAWS", "0"))
SEED = int(os.environ.get("KPI_PLACEMENT_SEED", "2026"))

PROJECT = """
[project]
name = "Placement"
data = "data"

[defaults]
period = "2025-03"

[datasets.rows]
description = "Rows of every checked type"
date = "recorded"
unique = "ref"
sources = ["extracts/base.csv"]

[datasets.rows.columns]
ref = "str"
recorded = "date"
lpa = "str"
victims = { type = "int", min = 0 }
share = { type = "float", required = false }
flag = { type = "bool", required = false }
seen = { type = "datetime", required = false }
opened = { type = "month", required = false }
age = { type = "str", required = false, pattern = "under 10|\\\\d{1,2}-\\\\d{1,2}|over \\\\d{2}" }

[datasets.quarters]
description = "Rows of a published table: a financial year and quarter"
date = { financial_year = "financial_year", quarter = "quarter" }
sources = ["extracts/quarters.csv"]

[datasets.quarters.columns]
financial_year = "str"
quarter = "int"
force = "str"
note = { type = "str", required = false }

[[priorities]]
id = "all"
title = "All"

[[kpis]]
id = "total"
title = "Total rows"
priority = "all"
kind = "count"
dataset = "rows"
better = "lower"
"""

def _good(i: int, dataset: str = "rows") -> dict[str, str]:
    """Row i of a good extract: January to March 2025 (rows), or the quarters of 2019/20 to
    2024/25 (quarters); every line of a similar length."""
    if dataset == "quarters":
        return {"financial_year": f"{2019 + i // 4}/{(20 + i // 4) % 100:02d}",
                "quarter": str(1 + i % 4), "force": ("West Midlands", "Staffordshire")[i % 2],
                "note": f"published table {i:04d} of all offences recorded"}
    month = 1 + i % 3
    return {"ref": f"R{i:04d}", "recorded": f"2025-{month:02d}-{10 + i % 18:02d}",
            "lpa": ("North", "South", "East")[i % 3], "victims": str(i % 4),
            "share": f"0.{i % 10}", "flag": ("yes", "no")[i % 2],
            "seen": f"2025-{month:02d}-05 1{i % 10}:30", "opened": f"2025-{month:02d}",
            "age": ("18-24", "under 10", "over 65")[i % 3]}


READERS = ("csv", "quoted", "parquet", "xlsx")


@dataclass(frozen=True)
class Rule:
    """A check, the column its bad value sits in, the value and what the message says."""

    name: str
    column: str
    value: str
    says: str
    readers: tuple[str, ...] = READERS
    dataset: str = "rows"


RULES = [
    Rule("required date", "recorded", "", "expected a date such as 2025-09-30 or 30/09/2025, "
                                          "found a blank"),
    Rule("required id", "ref", "", "expected an id (dataset 'rows' declares 'ref' unique), "
                                   "found a blank"),
    Rule("whole number", "victims", "two", "expected a whole number, found 'two'"),
    Rule("number", "share", "half", "expected a number, found 'half'"),
    Rule("flag", "flag", "perhaps", "expected true/false, yes/no or 1/0, found 'perhaps'"),
    Rule("calendar date", "recorded", "2025-02-30", "found '2025-02-30', which is not a "
                                                    "calendar date"),
    Rule("date and time", "seen", "2025-01-05 25:61", "expected a date and time such as "),
    Rule("second 60", "seen", "2025-01-31 23:59:60", "which is not a clock time (second 60)"),
    Rule("years", "recorded", "0001-01-15", "expected a date between 1990 and "),
    Rule("month", "opened", "2025-13", "expected a month such as 2025-09, found '2025-13'"),
    Rule("month with a time", "opened", "2025-02-15 13:45", "which is a date with a time of "
                                                            "day"),
    Rule("month name", "recorded", "Sept 2025", "found 'Sept 2025' (a month name: "
                                                "spreadsheet software"),
    Rule("pattern", "age", "Oct-17", "expected text matching "),
    Rule("range", "victims", "-3", "expected a value of at least 0, found '-3'"),
    # A worksheet's XML cannot hold an escape character: the CSV and Parquet readers only.
    Rule("control character", "lpa", "\x1b[2JFAKE", "expected text without control "
                                                     "characters, found '?[2JFAKE'",
         ("csv", "quoted", "parquet")),
    Rule("unique", "ref", "", "expected each ref once (dataset 'rows' declares 'ref' unique), "
                              "found 'R0000' again"),
    # A month made from date parts: a financial year and a quarter 1 to 4.
    Rule("financial year", "financial_year", "2017-2019", "expected a financial year such as "
                                                          "2017/18", dataset="quarters"),
    Rule("financial year out of the years", "financial_year", "1066/67",
         "expected a financial year such as 2017/18, from 1990/91 to ", dataset="quarters"),
    Rule("quarter", "quarter", "5", "expected a quarter 1 to 4, found '5'", dataset="quarters"),
    Rule("blank quarter", "quarter", "", "expected a quarter 1 to 4, found a blank",
         dataset="quarters"),
]

DATASETS = ("rows", "quarters")


def _write(rows: list[dict[str, str]], path: Path, reader: str) -> None:
    frame = pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String))
    if reader == "csv":
        frame.write_csv(path, quote_style="never")
    elif reader == "quoted":  # a quote character anywhere sends the file to Arrow's reader
        frame.write_csv(path, quote_style="always")
    elif reader == "parquet":
        frame.write_parquet(path)
    else:
        frame.write_excel(path)


def _suffix(reader: str) -> str:
    return {"csv": "csv", "quoted": "csv", "parquet": "parquet", "xlsx": "xlsx"}[reader]


def _bad_rows(rule: Rule, places: list[int]) -> tuple[list[dict[str, str]], int]:
    """The extract's rows with the rule broken at `places`, and the first bad row's index in
    file order. A repeated id is bad where it repeats: each place holds row 0's id, so the
    first bad row is the first place after row 0."""
    rows = [_good(i, rule.dataset) for i in range(ROWS)]
    for place in places:
        rows[place][rule.column] = "R0000" if rule.name == "unique" else rule.value
    first = min(p for p in places if p > 0) if rule.name == "unique" else min(places)
    return rows, first


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The project, loaded once with a good extract of every reader's kind: each case's bad
    load is refused, so every case starts from the same store (and checks that it does)."""
    folder = tmp_path_factory.mktemp("placement")
    (folder / "extracts").mkdir()
    (folder / "kpi.toml").write_text(PROJECT, encoding="utf-8")
    for dataset in DATASETS:
        _write([_good(i, dataset) for i in range(ROWS)], folder / "extracts" /
               ("base.csv" if dataset == "rows" else f"{dataset}.csv"), "csv")
        result = run(["--project", folder, "ingest", dataset], env=_env(folder))
        assert result.returncode == 0, result.stderr
    return folder


def _env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")}
    env["KPI_CACHE_DIR"] = str(folder / "cache")
    env["KPI_INGEST_BATCH_ROWS"] = str(BATCH)
    env["NO_COLOR"] = "1"
    return env


def _store(folder: Path) -> list[tuple[int, int]]:
    """Each dataset's table version and rows (counted from the files of that version, as
    reading them whole would count them, after each of the 277 refused loads)."""
    from deltalake import DeltaTable

    tables = [DeltaTable(str(folder / "data" / dataset)) for dataset in DATASETS]
    return [(table.version(), table.to_pyarrow_dataset().count_rows()) for table in tables]


@pytest.fixture
def chunks(monkeypatch) -> list[list[tuple[int, int]]]:
    """Small CSV blocks, and each batch's chunks as the conformer receives them: for each
    batch, the first and last record index of each non-empty chunk of its cells."""
    monkeypatch.setattr(survey, "BLOCK", BLOCK)
    monkeypatch.setattr(csv_reader, "BLOCK", BLOCK)
    seen: list[list[tuple[int, int]]] = []
    conform = stage._conform

    def spy(spec, path, table, state):
        rows = table[ROW].to_list()
        layout, start = [], 0
        for chunk in table[table.columns[-1]].get_chunks():
            if chunk.len():
                layout.append((rows[start], rows[start + chunk.len() - 1]))
            start += chunk.len()
        seen.append(layout)
        return conform(spec, path, table, state)

    monkeypatch.setattr(stage, "_conform", spy)
    return seen


def _layout(folder: Path, reader: str, dataset: str,
            chunks: list) -> list[list[tuple[int, int]]]:
    """The batches' chunks of a good extract of `reader`'s kind (read, not stored)."""
    path = folder / f"layout.{_suffix(reader)}"
    _write([_good(i, dataset) for i in range(ROWS)], path, reader)
    from kpi import ingest
    from kpi.catalogue import parse_project_file

    chunks.clear()
    spec = parse_project_file(folder / "kpi.toml").datasets[dataset]
    ingest.read_extracts(spec, [path])
    path.unlink()
    return [list(batch) for batch in chunks]


def _placements(layout: list[list[tuple[int, int]]], rng: random.Random,
                draws: int) -> dict[str, list[int]]:
    """Where the bad rows go: two in a batch's first chunk; two at the start of a later chunk
    of a batch of several (none in its first: the panic's case) where the reader makes one;
    one in each of three chunks of different batches where batches have several chunks (see
    the module's docstring); the last row alone; and `draws` sets drawn from `rng`."""
    places = {"first chunk": [1, 2]}
    later = [chunk for batch in layout for chunk in batch[1:] if chunk[1] > chunk[0]]
    if later:
        start = later[len(later) // 2][0]
        places["later chunk"] = [start, start + 1]
    if any(len(batch) > 1 for batch in layout):
        spread = [batch[-1][0] for batch in layout[1:]]
        places["several chunks"] = [spread[0], spread[len(spread) // 2], spread[-1]]
    places["last row"] = [ROWS - 1]
    for draw in range(draws):
        places[f"drawn {draw}"] = sorted(rng.sample(range(ROWS), rng.randint(1, 5)))
    return places


@pytest.mark.parametrize("reader", READERS)
def test_every_check_names_the_first_bad_row_wherever_the_bad_rows_sit(project, chunks,
                                                                        monkeypatch, reader):
    monkeypatch.setenv("KPI_INGEST_BATCH_ROWS", str(BATCH))
    rng = random.Random(f"{SEED}-{reader}")
    placements = {}
    for dataset in DATASETS:
        layout = _layout(project, reader, dataset, chunks)
        if reader in ("csv", "quoted"):
            # The premise: batches of several chunks, as a large file's.
            assert any(len(batch) > 1 for batch in layout), (dataset, layout)
        placements[dataset] = _placements(layout, rng, DRAWS)
        if reader in ("csv", "quoted"):
            assert {"later chunk", "several chunks"} <= placements[dataset].keys(), (
                dataset, layout)
        else:  # one chunk a batch (the module's docstring)
            assert all(len(batch) == 1 for batch in layout), (dataset, layout)
    before = _store(project)
    ran = expected = 0
    for rule in RULES:
        if reader not in rule.readers:
            continue
        places = placements[rule.dataset]
        expected += len(places)
        for where, at in places.items():
            if rule.name == "unique" and not [p for p in at if p > 0]:
                at = [*at, ROWS - 1] if at != [ROWS - 1] else [ROWS - 2, ROWS - 1]
            rows, first = _bad_rows(rule, at)
            path = project / "extracts" / f"bad.{_suffix(reader)}"
            _write(rows, path, reader)
            chunks.clear()
            result = run(["--project", project, "ingest", rule.dataset, path],
                         env=_env(project))
            case = f"{reader}, {rule.name}, {where} {at}: {result.stderr}"
            assert result.returncode == 3, case
            assert "Traceback" not in result.stderr, case
            assert not result.stdout, case
            lines = result.stderr.splitlines()
            assert len(lines) == 2 and lines[1].startswith("Hint: "), case
            row = first + (1 if reader == "parquet" else 2)  # a header is row 1
            named = f"{path}, sheet 'Sheet1'" if reader == "xlsx" else path
            assert lines[0].startswith(f"Error: {named}, row {row}, column '{rule.column}': "
                                       ), case
            assert rule.says in lines[0], case
            if where == "later chunk" and rule.name != "unique":
                # Every bad row sat in a later chunk of a batch of several.
                assert any(any(lo <= p <= hi for lo, hi in batch[1:]) for p in at
                           for batch in chunks if len(batch) > 1), (case, chunks)
            assert _store(project) == before, case
            path.unlink()
            ran += 1
    assert ran == expected
    print(f"{reader}: {ran} bad extracts refused as they should be "
          f"({len(placements['rows'])} placements)")
