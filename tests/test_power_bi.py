"""What Power BI reads of kpi, checked without Power BI (which runs only on Windows, and not
here; docs/excel-and-power-bi.md says what was and was not tried).

- The CSV for Excel as Power Query's Text/CSV connector (`Csv.Document`) reads it: a UTF-8
  byte-order mark, so the encoding is not guessed, then valid UTF-8; RFC 4180 quoting (a title
  holding a comma is one field); numbers written with a point and no separators or units,
  flags as True/False, blanks as empty fields: values that Power Query types with an English
  culture, and that equal the JSON's.
- The store as `DeltaLake.Table` reads it: plain Delta tables, reader version 1, with no
  reader features (deletion vectors, column mapping) to support.
"""

from __future__ import annotations

import csv
import io
import json
import re

PERIOD = "2025-09"
NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]\d+)?")


def test_the_csv_reads_as_power_querys_csv_connector_expects(cli, sample_paper):
    """`--format csv` (UTF-8, File origin 65001 in Power Query), whose fields are the data's
    text as it is; `--format csv-excel` writes text Excel would misread as Excel's text
    formula (`="2025-09"`), which Power Query reads as those characters, and is for Excel
    alone (docs/excel-and-power-bi.md)."""
    # `kpi summary --period 2025-09 --format json`, made once for the run (conftest.py)
    doc = json.loads(sample_paper["summary"].read_text(encoding="utf-8"))
    excel = cli(["summary", "--period", PERIOD, "--format", "csv-excel"])
    assert excel.exit_code == 0, excel.output
    assert excel.stdout_bytes.startswith(b"\xef\xbb\xbf")
    excel.stdout_bytes[3:].decode("utf-8")  # strict: valid UTF-8 throughout
    result = cli(["summary", "--period", PERIOD, "--format", "csv"])
    assert result.exit_code == 0, result.output
    raw = result.stdout_bytes
    assert not raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8")  # strict: valid UTF-8 throughout
    lines = text.split("\n")
    assert lines[-1] == "" and all(not line.endswith("\r") for line in lines)
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    assert all(len(row) == len(header) for row in body)
    assert [r[header.index("id")] for r in body] == [k["id"] for k in doc["kpis"]]
    commas = 0
    for row, kpi in zip(body, doc["kpis"], strict=True):
        cells = dict(zip(header, row, strict=True))
        assert cells["title"] == kpi["title"]
        commas += "," in kpi["title"]
        for role in ("current", "comparison"):
            window = kpi[role] or {}
            value = cells[f"{role}_value"]
            assert (float(value) if value else None) == window.get("value")
            assert value == "" or NUMBER.fullmatch(value), value
            assert (cells[f"{role}_start"] or None) == window.get("start")
        flag = cells["significant"]
        assert flag in ("True", "False", "")
        assert ({"True": True, "False": False}.get(flag)) == (kpi["significance"] or {}).get(
            "significant")
        for name in ("change_absolute", "change_percent", "change_points", "p_value", "target"):
            assert cells[name] == "" or NUMBER.fullmatch(cells[name]), (name, cells[name])
    assert commas >= 2  # titles holding a comma came back whole


def test_every_stored_table_is_one_deltalake_table_reads():
    from deltalake import DeltaTable

    import kpi
    from kpi import store

    project = kpi.open("sample")
    tables = 0
    for dataset in project.dataset_ids:
        if not store.exists(project.definition, dataset):
            continue
        protocol = DeltaTable(store.table_path(project.definition, dataset)).protocol()
        assert protocol.min_reader_version == 1, dataset
        assert not protocol.reader_features, dataset
        tables += 1
    assert tables >= 10
