"""Every face says what a figure adds together, where the rows a KPI counts hold several parts
of a column kpi.toml declares to tell parts of the data apart (a dataset's `replace_by`
column, a `[peers.*]` group's): the summary (terminal table, JSON, CSV, csv-excel, workbook,
Markdown), `kpi show` (text, JSON, workbook), `kpi compare` (text, JSON, CSV, workbook) and the
Python face's frames and results (`kpi.compare.kpi_covers`, one function). Three forces'
police.uk files loaded into one project gave `kpi summary` "Total recorded crime ... 212,517"
and `kpi show` and `kpi compare --by crime_type` the same, with no word of the three forces;
only the board paper said it. The parts expected are counted with Python's csv from the
extracts, and for the real files with DuckDB."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import inprocess
import pytest
from test_paper_covers import FORCES, NEIGHBOURS, PRESET_TOML, _extract

import kpi

PROJECT = """
[project]
name = "Forces together"
baseline = "2024-12"

[datasets.crimes]
date = "month"
{replace_by}
[datasets.crimes.columns]
month = {{ type = "month", from = ["Month"] }}
force = {{ type = "str", from = ["Force"], label = "force" }}
area = {{ type = "str", from = ["Area"], label = "area" }}
kind = {{ type = "str", from = ["Kind"] }}

[[priorities]]
id = "p"
title = "Crime"

[[kpis]]
id = "crime"
title = "Total crime"
priority = "p"
kind = "count"
dataset = "crimes"
filter = "kind = 'crime'"
better = "lower"
breakdowns = ["area"]

[[kpis]]
id = "asb"
title = "ASB incidents"
priority = "p"
kind = "count"
dataset = "crimes"
filter = "kind = 'asb'"
better = "lower"
"""

PERIOD = "2025-12"


def _forces(path: Path, kind: str, area: str | None = None) -> list[str | None]:
    """The forces of the rows of `kind` (of one area, with `area`) in 2025, by hand: Python's
    csv, a blank as None, named forces by name ignoring case, then None."""
    with path.open(encoding="utf-8", newline="") as f:
        found = {row["Force"] or None for row in csv.DictReader(f)
                 if row["Kind"] == kind and row["Month"].startswith("2025-")
                 and (area is None or row["Area"] == area)}
    named = sorted((p for p in found if p is not None), key=str.casefold)
    return [*named, *([None] if None in found else [])]


def _words(parts: list[str | None], label: str = "force") -> str:
    named = [p for p in parts if p is not None]
    listed = named[:5] + ([f"{len(named) - 5} more"] if len(named) > 5 else [])
    listed += [f"rows with no {label}"] if None in parts else []
    return listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]


def _cell(parts: list[str | None], label: str = "force") -> str:
    return f"{label}: " + "; ".join(p if p is not None else f"rows with no {label}"
                                    for p in parts)


def _flat(text: str) -> str:
    """Text with its lines joined (a terminal wraps a long line)."""
    return re.sub(r"\s+", " ", text)


def _project(folder: Path, extract: Path, replace_by: bool = True, peers: bool = False
             ) -> Path:
    """The project over `extract`: its forces loaded part by part (`replace_by`), or told
    apart by a peer group (`peers`; a dataset loaded part by part refuses a row of no force),
    or neither."""
    group = (f'\n[peers.forces]\ncolumn = "force"\nmembers = {json.dumps(FORCES)}\n'
             if peers else "")
    (folder / "kpi.toml").write_text(
        PROJECT.format(replace_by='replace_by = ["force"]' if replace_by else "") + group,
        encoding="utf-8")
    out = inprocess.run(["--project", folder, "ingest", "crimes", extract])
    assert out.returncode == 0, out.stderr
    return folder


def _kpi(folder: Path, *args: str) -> str:
    out = inprocess.run(["--project", folder, *args])
    assert out.returncode == 0, out.stderr
    return out.stdout


def _sheet_column(path: Path, column: str) -> dict[str, str | None]:
    """A workbook's table's `column`, by the row's first cell (its id or part)."""
    from openpyxl import load_workbook

    book = load_workbook(path)
    for sheet in book.worksheets:
        for table in sheet.tables.values():
            cells = [[c.value for c in row] for row in sheet[table.ref]]
            header = cells[0]
            if column in header:
                key = 4 if header[0] == "kpi" else 0  # compare's rows by part
                return {row[key]: row[header.index(column)] for row in cells[1:]}
    raise AssertionError(f"no table with a column {column}")


@pytest.fixture(params=[False, True], ids=["forces", "and-rows-of-no-force"])
def seven(request, tmp_path):
    """Seven forces' crimes and one force's ASB alone (Zeta), loaded part by part; and with
    crimes of no force, told apart by a peer group (loaded part by part, a row of no force is
    refused)."""
    extract = tmp_path / "crimes.csv"
    _extract(extract, FORCES, ["Zeta"], blank=request.param)
    return _project(tmp_path, extract, replace_by=not request.param,
                    peers=request.param), extract


def test_every_face_of_the_summary_says_which_forces_each_figure_adds(seven):
    folder, extract = seven
    crime, asb = _forces(extract, "crime"), _forces(extract, "asb")
    assert len(crime) >= 7 and asb == ["Zeta"]
    want = {"crime": crime, "asb": asb}
    doc = json.loads(_kpi(folder, "summary", "--period", PERIOD, "--format", "json"))
    assert {k["id"]: k["covers"] for k in doc["kpis"]} == {
        kpi_id: [{"column": "force", "label": "force", "parts": parts}]
        for kpi_id, parts in want.items()}
    for fmt in ("csv", "csv-excel"):
        text = _kpi(folder, "summary", "--period", PERIOD, "--format", fmt).lstrip("\ufeff")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert {r["id"]: r["covers"] for r in rows} == {k: _cell(p) for k, p in want.items()}
        assert list(rows[0])[-1] == "covers"
    _kpi(folder, "summary", "--period", PERIOD, "--format", "xlsx", "--output",
         folder / "s.xlsx")
    assert _sheet_column(folder / "s.xlsx", "covers") == {k: _cell(p) for k, p in want.items()}
    frame = kpi.open(folder).summary(PERIOD)
    assert {r["id"]: r["covers"] for r in frame.iter_rows(named=True)} == {
        kpi_id: [{"column": "force", "label": "force", "parts": parts}]
        for kpi_id, parts in want.items()}
    # The line: only the KPI whose figure adds several forces (the ASB is Zeta's alone).
    line = (f"By force, the figure of Total crime is that of every part the data holds "
            f"together ({_words(crime)}), not of any one of them alone.")
    table = _flat(_kpi(folder, "summary", "--period", PERIOD))
    markdown = _flat(_kpi(folder, "summary", "--period", PERIOD, "--format", "markdown"))
    for text in (table, markdown):
        assert text.count("By force,") == 1 and line in text
        assert "Zeta" not in text


def test_show_says_which_forces_its_figure_adds(seven):
    folder, extract = seven
    crime = _forces(extract, "crime")
    doc = json.loads(_kpi(folder, "show", "crime", "--period", PERIOD, "--format", "json"))
    assert doc["kpi"]["covers"] == [{"column": "force", "label": "force", "parts": crime}]
    text = _flat(_kpi(folder, "show", "crime", "--period", PERIOD))
    assert (f"Covers By force, the figure of Total crime is that of every part the data holds "
            f"together ({_words(crime)}), not of any one of them alone.") in text
    detail = kpi.open(folder).detail("crime", PERIOD)
    assert [(c.column, c.label, list(c.parts)) for c in detail.result.covers] == [
        ("force", "force", crime)]
    # Zeta's ASB alone: the field says so, and no line.
    asb = json.loads(_kpi(folder, "show", "asb", "--period", PERIOD, "--format", "json"))
    assert asb["kpi"]["covers"] == [{"column": "force", "label": "force", "parts": ["Zeta"]}]
    assert "By force" not in _kpi(folder, "show", "asb", "--period", PERIOD)


def test_compare_by_another_column_says_which_forces_each_part_adds(seven):
    """By area, each area's crimes are of every force with rows in it; by force, each part is
    one force, and nothing is said."""
    folder, extract = seven
    by_area = {a: _forces(extract, "crime", a) for a in ("North", "South")}
    assert by_area["North"] != by_area["South"] or None not in by_area["North"]
    args = ("compare", "--period", PERIOD, "--by", "area", "--kpi", "crime")
    doc = json.loads(_kpi(folder, *args, "--format", "json"))
    assert {p["name"]: p["covers"] for p in doc["kpis"][0]["parts"]} == {
        a: [{"column": "force", "label": "force", "parts": parts}]
        for a, parts in by_area.items()}
    rows = list(csv.DictReader(io.StringIO(_kpi(folder, *args, "--format", "csv"))))
    assert {r["part"]: r["covers"] for r in rows} == {a: _cell(p) for a, p in by_area.items()}
    _kpi(folder, *args, "--format", "xlsx", "--output", folder / "c.xlsx")
    assert _sheet_column(folder / "c.xlsx", "covers") == {
        a: _cell(p) for a, p in by_area.items()}
    frame = kpi.open(folder).compare(PERIOD, "area", kpis=["crime"])
    assert {r["part"]: [c["parts"] for c in r["covers"]]
            for r in frame.iter_rows(named=True)} == {a: [p] for a, p in by_area.items()}
    text = _flat(_kpi(folder, *args))
    if by_area["North"] == by_area["South"]:
        assert (f"Total crime: by force, each figure is that of every part the data holds "
                f"together ({_words(by_area['North'])}), not of any one of them alone.") in text
    else:
        # the parts in the table's order, each with its forces
        pieces = [f"{a} ({_words(p)})" for a, p in by_area.items()]
        assert any(f"Total crime: by force, the figures of {one} and {other} are each that "
                   "of several parts the data holds together, not of any one of them alone."
                   in text for one, other in (pieces, pieces[::-1]))
    forces = json.loads(_kpi(folder, "compare", "--period", PERIOD, "--by", "force", "--kpi",
                             "crime", "--format", "json"))
    assert all(p["covers"] == [] for p in forces["kpis"][0]["parts"])
    assert "By force" not in _kpi(folder, "compare", "--period", PERIOD, "--by", "force",
                                  "--kpi", "crime")


def test_one_force_is_named_in_the_field_and_no_line_is_printed(tmp_path):
    extract = tmp_path / "crimes.csv"
    _extract(extract, ["Avon"], ["Avon"])
    folder = _project(tmp_path, extract)
    doc = json.loads(_kpi(folder, "summary", "--period", PERIOD, "--format", "json"))
    assert [k["covers"] for k in doc["kpis"]] == [
        [{"column": "force", "label": "force", "parts": ["Avon"]}]] * 2
    for fmt in ("table", "markdown"):
        assert "By force" not in _kpi(folder, "summary", "--period", PERIOD, "--format", fmt)


def test_a_column_only_labelled_force_is_no_declaration(tmp_path):
    """Without `replace_by` or a peer group, a column labelled "force" is wording: no face
    says what it holds (docs/catalogue.md says which columns do)."""
    extract = tmp_path / "crimes.csv"
    _extract(extract, FORCES[:3], [])
    folder = _project(tmp_path, extract, replace_by=False)
    doc = json.loads(_kpi(folder, "summary", "--period", PERIOD, "--format", "json"))
    assert doc["kpis"][0]["covers"] == []
    assert "By force" not in _kpi(folder, "summary", "--period", PERIOD)


def test_the_samples_one_force_is_its_figures_whole_and_no_line(tmp_path):
    """The bundled sample's force is a literal (`force = "'West Midlands'"`): its one part,
    read with no scan, and nothing printed."""
    from kpi.catalogue import SAMPLE, load_project
    from kpi.ingest import ensure_bundled_store
    from kpi.render import covers_lines

    ensure_bundled_store(load_project(SAMPLE))
    project = kpi.open(SAMPLE)
    frame = project.summary("2025-09")
    figured = frame.filter(frame["current_value"].is_not_null())
    assert {tuple(c["parts"]) for cs in figured["covers"].to_list() for c in cs} == {
        ("West Midlands",)}
    assert covers_lines(project.report("2025-09").report.results) == []


@pytest.mark.skipif(not any(NEIGHBOURS.glob("*-street.csv")),
                    reason="the real police.uk files are not beside the checkout")
def test_the_police_uk_preset_with_three_forces_says_which_in_every_face(tmp_path):
    """The reproduction: West Mercia and its two neighbours' 2025 street files in one
    police.uk project. DuckDB's forces of the rows each KPI selects (its filter over the 2025
    files), against each KPI's `covers` in the summary's JSON, and the line under its table:
    212,517 crimes of three forces, never read as one force's."""
    import duckdb

    files = sorted(NEIGHBOURS.glob("*-street.csv"))
    (tmp_path / "kpi.toml").write_text(PRESET_TOML.read_text(encoding="utf-8"),
                                       encoding="utf-8")
    out = inprocess.run(["--project", tmp_path, "ingest", "street", *files])
    assert out.returncode == 0, out.stderr
    definition = kpi.open(tmp_path).definition
    con = duckdb.connect()
    con.execute("CREATE TABLE street AS SELECT \"Falls within\" AS falls_within, "
                "\"Crime type\" AS crime_type, \"Last outcome category\" AS last_outcome "
                f"FROM read_csv_auto({[str(f) for f in files]}, all_varchar = true)")
    doc = json.loads(_kpi(tmp_path, "summary", "--period", PERIOD, "--format", "json"))
    checked = 0
    for got in doc["kpis"]:
        k = definition.kpi(got["id"])
        assert k is not None
        if got["current"] is None or got["current"]["value"] is None:
            assert got["covers"] == []
            continue
        measures = [definition.kpi(m) for m in k.ratio_of] if k.is_derived else [k]
        if any(m is None or m.dataset != "street" for m in measures):
            continue
        forces: set[str] = set()
        for m in measures:
            assert m is not None
            where = f"WHERE {m.filter}" if m.filter else ""
            forces |= {f for f, in con.execute(
                f"SELECT DISTINCT falls_within FROM street {where}").fetchall()}
        assert got["covers"] == [{"column": "falls_within", "label": "force",
                                  "parts": sorted(forces, key=str.casefold)}], got["id"]
        checked += 1
    assert checked >= 15
    total = next(k for k in doc["kpis"] if k["id"] == "total_crime")
    assert total["current"]["value"] == 212517
    line = ("By force, each figure is that of every part the data holds together "
            "(Staffordshire Police, Warwickshire Police and West Mercia Police), not of any "
            "one of them alone.")
    assert line in _flat(_kpi(tmp_path, "summary", "--period", PERIOD))
    assert line in _flat(_kpi(tmp_path, "summary", "--period", PERIOD, "--format", "markdown"))


TWO_DATASETS = """
[project]
name = "Labelled once"
baseline = "2024-12"

[datasets.crimes]
date = "month"
replace_by = ["force"]
[datasets.crimes.columns]
month = { type = "month", from = ["Month"] }
force = { type = "str", from = ["Force"], label = "police force" }

[datasets.asb]
date = "month"
replace_by = ["force"]
[datasets.asb.columns]
month = { type = "month", from = ["Month"] }
force = { type = "str", from = ["Force"] }

[[priorities]]
id = "p"
title = "Crime"

[[kpis]]
id = "asb"
title = "ASB incidents"
priority = "p"
kind = "count"
dataset = "asb"
better = "lower"
"""


def test_a_column_labelled_in_one_dataset_is_said_so_of_another(tmp_path):
    """Found by the differential oracle (seed 2932): `force` labelled "police force" in one
    dataset, not in the other, whose KPI's rows hold two forces: the paper said "By force,
    each figure is ..." beside its lists headed "By police force". Every face names the
    column by the label it is declared with in any dataset holding it."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "kpi.toml").write_text(TWO_DATASETS, encoding="utf-8")
    months = [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]
    rows = "Month,Force\n" + "".join(f"{m},{f}\n" for m in months for f in ("A", "B"))
    (tmp_path / "asb.csv").write_text(rows, encoding="utf-8")
    done = inprocess.run(["--project", folder, "ingest", "asb", tmp_path / "asb.csv"])
    assert done.returncode == 0, done.stderr
    done = inprocess.run(["--project", folder, "summary", "--period", PERIOD,
                          "--format", "markdown"])
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stdout.split())
    assert ("By police force, the figure of ASB incidents is that of every part the data holds "
            "together (A and B), not of any one of them alone.") in said, said
    covers = json.loads(inprocess.run(["--project", folder, "summary", "--period", PERIOD,
                                       "--format", "json"]).stdout)["kpis"][0]["covers"]
    assert [(c["column"], c["label"], c["parts"]) for c in covers] == [
        ("force", "police force", ["A", "B"])]
