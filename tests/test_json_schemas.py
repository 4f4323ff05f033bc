"""Every JSON output carries schema_version and validates against the JSON Schema that ships
for it in the package (kpi/schemas/*.json, listed in docs/json.md)."""

from __future__ import annotations

import json
import shutil
from importlib.resources import files
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema")

FIXTURES = Path(__file__).resolve().parent / "fixtures"
OUTPUTS = {
    "summary": ["summary", "--period", "2025-09"],
    "show": ["show", "total_crime", "--period", "2025-09"],
    "compare": ["compare", "--period", "2025-09", "--by", "lpa"],
    "check": ["check", "--period", "2025-09"],
    "catalogue": ["catalogue"],
    "datasets": ["datasets"],
    "history": ["history", "crimes"],
}
SAMPLE = {
    "summary": ["summary", "--period", "2025-09"],
    "show": ["show", "asb_incidents", "--period", "2025-09", "--seasonal"],
    "compare": ["compare", "--period", "2025-09", "--by", "force", "--peers", "most_similar"],
    "check": ["check", "--period", "2025-09"],
    "catalogue": ["catalogue"],
    "datasets": ["datasets"],
    "history": ["history", "crimes"],
}


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    from kpi.catalogue import load_project
    from kpi.ingest import load

    root = tmp_path_factory.mktemp("schemas") / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    load(load_project(root), "crimes")
    return root


def _schema(name: str) -> dict:
    return json.loads((files("kpi") / "schemas" / f"{name}.json").read_text(encoding="utf-8"))


def test_every_schema_is_a_valid_schema_and_documented():
    docs = (Path(__file__).resolve().parent.parent / "docs" / "json.md").read_text()
    shipped = sorted(p.name.removesuffix(".json")
                     for p in (files("kpi") / "schemas").iterdir() if p.name.endswith(".json"))
    assert shipped == sorted(OUTPUTS)
    for name in shipped:
        jsonschema.Draft202012Validator.check_schema(_schema(name))
        assert f"`kpi/schemas/{name}.json`" in docs


def _validate(name: str, text: str) -> object:
    document = json.loads(text)
    jsonschema.Draft202012Validator(_schema(name)).validate(document)
    records = document if isinstance(document, list) else [document]
    assert records and all(r["schema_version"] == 1 for r in records)
    return document


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_outputs_of_a_small_project_validate(cli, mini, name):
    result = cli(["--project", mini, *OUTPUTS[name], "--format", "json"])
    assert result.exit_code in (0, 1), result.output  # check exits 1 when a check fails
    _validate(name, result.stdout)


@pytest.mark.parametrize("name", sorted(SAMPLE))
def test_outputs_of_the_sample_validate(cli, name):
    result = cli(["--project", "sample", *SAMPLE[name], "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    _validate(name, result.stdout)


def test_a_schema_refuses_an_output_of_another_shape(cli, mini):
    result = cli(["--project", mini, "summary", "--period", "2025-09", "--format", "json"])
    document = json.loads(result.stdout)
    del document["kpis"][0]["status"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(_schema("summary")).validate(document)
    document = json.loads(result.stdout)
    document["schema_version"] = 2
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(_schema("summary")).validate(document)


def test_the_history_of_commits_kpi_did_not_make_validates(cli, tmp_path):
    """A table restored (DeltaTable.restore, as docs/guarantees.md describes), vacuumed, and
    written by another tool: `kpi history` lists those versions with `rows`, `rejected` and
    `quarantine` null (kpi loaded nothing), and the document still validates."""
    from deltalake import DeltaTable, write_deltalake

    from kpi.catalogue import load_project
    from kpi.ingest import load

    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    load(load_project(root), "crimes")
    table = DeltaTable(str(root / "data" / "crimes"))
    # another tool appends no rows (a commit of its own), then the table is rolled back
    write_deltalake(table, table.to_pyarrow_table().slice(0, 0), mode="append")
    DeltaTable(str(root / "data" / "crimes")).restore(0)
    assert cli(["--project", root, "vacuum", "crimes", "--keep-days", "0"]).exit_code == 0
    history = _validate("history", cli(["--project", root, "history", "crimes",
                                        "--format", "json"]).stdout)
    assert isinstance(history, list)
    operations = [(v["operation"].upper(), v["rejected"]) for v in history]
    assert operations[0] == ("INGEST", 0), operations
    assert ("WRITE", None) in operations and ("RESTORE", None) in operations, operations
    restored = next(v for v in history if v["operation"].upper() == "RESTORE")
    assert restored["quarantine"] is None and restored["sources"] == []


def test_the_datasets_of_a_new_project_validate(cli, tmp_path):
    """Nothing loaded yet: each dataset's `first`, `last` and `version` are null."""
    assert cli(["init", tmp_path / "new"]).exit_code == 0
    listed = _validate("datasets", cli(["--project", tmp_path / "new", "datasets",
                                        "--format", "json"]).stdout)
    assert isinstance(listed, list) and listed
    assert all((d["rows"], d["first"], d["last"], d["version"]) == (0, None, None, None)
               for d in listed)
