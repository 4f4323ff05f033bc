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
def test_outputs_of_the_sample_validate(cli, sample_paper, name):
    if name == "summary":  # this command's answer, made once for the run (conftest.py)
        _validate(name, sample_paper["summary"].read_text(encoding="utf-8"))
        return
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


# Keys an object may leave out, each documented (docs/json.md): the `kpi show` Definition
# section's keys that do not apply to a KPI, and `same_months_a_year_earlier` without --seasonal.
OPTIONAL = {
    ("show", "properties/kpi/properties/definition"): {
        "what is counted", "filter", "value", "numerator", "denominator", "baseline",
        "lag (months)", "breakdowns", "notes", "populations", "as_at"},
    ("show", ""): {"same_months_a_year_earlier"},
}


def _objects(schema: object, path: str = ""):
    """Every (path, subschema) of a schema that describes an object by its properties."""
    if isinstance(schema, dict):
        if "properties" in schema:
            yield path, schema
        for key, value in schema.items():
            if key in ("if", "then"):
                continue  # a condition refines an object described elsewhere
            yield from _objects(value, f"{path}/{key}".lstrip("/"))
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            yield from _objects(value, f"{path}/{i}".lstrip("/"))


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_every_object_is_closed_and_requires_its_fields(name):
    """A consumer can rely on every field a schema lists: each object with known keys refuses
    any other (additionalProperties false), and requires each key but those documented as
    left out where they do not apply."""
    objects = list(_objects(_schema(name)))
    assert objects
    for path, schema in objects:
        assert schema.get("additionalProperties") is False, (name, path)
        optional = OPTIONAL.get((name, path), set())
        assert set(schema["required"]) == set(schema["properties"]) - optional, (name, path)


def _shapes(document: object, path: tuple = ()):
    """The first non-null occurrence of each place in a document (list items as '*'), with
    the route to it: where each mutation below is tried."""
    seen: dict[tuple, tuple] = {}

    def walk(node: object, shape: tuple, route: tuple) -> None:
        if node is not None and shape not in seen:
            seen[shape] = route
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*shape, key), (*route, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, (*shape, "*"), (*route, i))

    walk(document, path, ())
    return seen


# Objects whose keys are data (dataset ids, breakdown columns, datetime columns), not fields.
MAPS = {"versions", "breakdowns", "time_zones"}


def _mutations(document: object):
    """(what, mutated copy) for each place: an unknown key added to each object of fields,
    each key removed, each value given a JSON type it never has there."""
    import copy

    def at(doc: object, route: tuple) -> object:
        for step in route:
            doc = doc[step]  # type: ignore[index]
        return doc

    for shape, route in _shapes(document).items():
        node = at(document, route)
        if isinstance(node, dict) and not (shape and shape[-1] in MAPS):
            added = copy.deepcopy(document)
            at(added, route)["unexpected_field"] = 1  # type: ignore[index]
            yield f"{shape} + unexpected_field", added
        if route:
            parent_shape = shape[:-1]
            if not (parent_shape and parent_shape[-1] in MAPS) and \
                    route[-1] not in OPTIONAL.get(("show", "properties/kpi/properties/definition"),
                                                  set()) | {"same_months_a_year_earlier"} \
                    and isinstance(route[-1], str):
                removed = copy.deepcopy(document)
                del at(removed, route[:-1])[route[-1]]  # type: ignore[union-attr]
                yield f"{shape} removed", removed
            retyped = copy.deepcopy(document)
            # an object where a value is; a string where an object or a list is
            at(retyped, route[:-1])[route[-1]] = (  # type: ignore[index]
                "retyped" if isinstance(node, (dict, list)) else {"retyped": True})
            yield f"{shape} retyped", retyped


MUTATED = {
    "summary": ["summary", "--period", "2025-09"],
    "show": ["show", "total_crime", "--period", "2025-09"],
    "compare": ["compare", "--period", "2025-09", "--by", "lpa", "--focus", "Birmingham"],
    "check": ["check", "--period", "2025-09"],
    "catalogue": ["catalogue"],
    "datasets": ["datasets"],
    "history": ["history", "crimes"],
}


@pytest.mark.parametrize("name", sorted(MUTATED))
def test_a_field_added_removed_or_retyped_without_the_schema_fails(cli, mini, name):
    """Drift is caught: the output of a small project validates, and each copy of it with one
    field added, removed or of another JSON type does not, at every place of the document."""
    result = cli(["--project", mini, *MUTATED[name], "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    document = _validate(name, result.stdout)
    validator = jsonschema.Draft202012Validator(_schema(name))
    tried = 0
    for what, mutated in _mutations(document):
        tried += 1
        assert not validator.is_valid(mutated), f"{name}: {what} still validates"
    assert tried > 10, tried


def test_values_outside_their_set_or_sign_fail(cli, mini):
    """Enums and bounds: a status, test, verdict or comparison kpi never prints, a negative or
    fractional count of rows, a negative count and a p-value above 1 are refused (a count's
    value may be a fraction: its KPI's `multiplier` may be one)."""
    summary = json.loads(cli(["--project", mini, "summary", "--period", "2025-09",
                              "--format", "json"]).stdout)
    validator = jsonschema.Draft202012Validator(_schema("summary"))
    assert validator.is_valid(summary)
    counted = next(k for k in summary["kpis"] if k["kind"] == "count" and k["current"])
    tested = next(k for k in summary["kpis"] if k["significance"]["test"])
    varied = next(k for k in summary["kpis"] if k["variation"])

    def refused(mutate) -> None:
        document = json.loads(json.dumps(summary))
        mutate(document)
        assert not validator.is_valid(document)

    def kpi(document: dict, wanted: dict) -> dict:
        return next(k for k in document["kpis"] if k["id"] == wanted["id"])

    refused(lambda d: kpi(d, counted).update(status="worse"))
    refused(lambda d: d.update(comparison="last_year"))
    refused(lambda d: kpi(d, tested)["significance"].update(test="t_test"))
    refused(lambda d: kpi(d, tested)["significance"].update(p_value=1.5))
    refused(lambda d: kpi(d, varied)["variation"].update(verdict="special_cause"))
    refused(lambda d: kpi(d, varied)["variation"].update(points=2.5))
    refused(lambda d: kpi(d, counted)["current"].update(value=-1))
    refused(lambda d: kpi(d, counted)["current"].update(start="2025-13"))
    refused(lambda d: d["versions"].update(crimes=-1))

    datasets = json.loads(cli(["--project", mini, "datasets", "--format", "json"]).stdout)
    validator = jsonschema.Draft202012Validator(_schema("datasets"))
    assert validator.is_valid(datasets)
    for field, value in (("rows", -1), ("rows", 1.5), ("version", 0.5)):
        document = json.loads(json.dumps(datasets))
        document[0][field] = value
        assert not validator.is_valid(document), (field, value)
    history = json.loads(cli(["--project", mini, "history", "crimes", "--format", "json"]).stdout)
    validator = jsonschema.Draft202012Validator(_schema("history"))
    assert validator.is_valid(history)
    for field, value in (("version", -1), ("rejected", 0.5), ("rows", -3)):
        document = json.loads(json.dumps(history))
        document[0][field] = value
        assert not validator.is_valid(document), (field, value)


def _mini_with(cli, root, kpi: str):
    """The mini project copied to `root` with one more KPI (its TOML lines), crimes loaded."""
    shutil.copytree(FIXTURES / "mini", root)
    with (root / "kpi.toml").open("a") as handle:
        handle.write("\n[[kpis]]\n" + kpi)
    assert cli(["--project", root, "ingest", "crimes"]).exit_code == 0
    return root


def test_a_mean_in_unit_count_keeps_its_fraction_and_validates(cli, tmp_path):
    """docs/json.md said every value of a KPI in unit `count` is whole; a mean of a count
    column is not. Its value is the DuckDB mean of the window's rows, fraction kept, in the
    summary and in `kpi show`, and both validate: only a KPI of kind `count` is whole always."""
    import duckdb

    root = _mini_with(cli, tmp_path / "mini",
                      'id = "mean_days"\ntitle = "Mean days to outcome"\npriority = "justice"\n'
                      'kind = "mean"\ndataset = "crimes"\nvalue = "days_to_outcome"\n'
                      'unit = "count"\nbetter = "lower"\n')
    (mean,) = duckdb.sql(
        f"SELECT avg(days_to_outcome::DOUBLE) FROM read_csv('{root / 'extracts' / 'crimes.csv'}',"
        " all_varchar = true) WHERE strptime(recorded, '%d/%m/%Y') "
        "BETWEEN '2024-10-01' AND '2025-09-30' AND days_to_outcome <> ''").fetchone()
    assert not float(mean).is_integer()
    summary = _validate("summary", cli(["--project", root, "summary", "--period", "2025-09",
                                        "--format", "json"]).stdout)
    kpi = next(k for k in summary["kpis"] if k["id"] == "mean_days")  # type: ignore[index]
    assert (kpi["unit"], kpi["kind"]) == ("count", "mean")
    assert isinstance(kpi["current"]["value"], float)
    assert kpi["current"]["value"] == pytest.approx(mean, rel=1e-12)
    show = _validate("show", cli(["--project", root, "show", "mean_days", "--period",
                                  "2025-09", "--format", "json"]).stdout)
    assert show["kpi"]["current"]["value"] == kpi["current"]["value"]  # type: ignore[index]
    # The whole months of a fractional mean are no integers either: their fractions stay.
    assert any(isinstance(t["value"], float) for t in show["trend"])  # type: ignore[index]


def test_the_schemas_refuse_the_words_no_output_says(cli, mini):
    """`kpi show`'s `signal.test` is null where no test applies, as the summary's
    `significance.test` (the string "not_tested" is refused); a part of `kpi compare` says why
    it has no change in `change.note`, in the summary's words (required, and a part is never
    "in development")."""
    show = _validate("show", cli(["--project", mini, "show", "total_crime", "--period",
                                  "2025-09", "--format", "json"]).stdout)
    validator = jsonschema.Draft202012Validator(_schema("show"))
    document = json.loads(json.dumps(show))
    document["signal"]["test"] = "not_tested"
    assert not validator.is_valid(document)
    compare = _validate("compare", cli(["--project", mini, "compare", "--period", "2025-09",
                                        "--by", "lpa", "--format", "json"]).stdout)
    validator = jsonschema.Draft202012Validator(_schema("compare"))
    for note, valid in (("no comparison", True), ("no figure", True),
                        ("in development", False), ("n/a", False)):
        document = json.loads(json.dumps(compare))
        document["kpis"][0]["parts"][0]["change"]["note"] = note
        assert validator.is_valid(document) == valid, note
    document = json.loads(json.dumps(compare))
    del document["kpis"][0]["parts"][0]["change"]["note"]
    assert not validator.is_valid(document)


def test_the_docs_say_how_to_read_strict_schemas():
    """docs/json.md said "fields may be added in a later version" after the schemas became
    strict, which refuse a field they do not name: a consumer validating against its own copy
    would fail on the first field added. It now says to validate against the schema shipped
    with the installed kpi, and that a field added is listed in CHANGELOG.md."""
    docs = (Path(__file__).resolve().parent.parent / "docs" / "json.md").read_text()
    opening = " ".join(docs.split("## Versions and schemas", 1)[0].split())
    assert "may be added" not in opening
    assert "a field added is a change too: it is listed in CHANGELOG.md" in opening
    assert "validate what it reads against the schema shipped with the installed kpi" \
        in opening and "`kpi/schemas/`" in opening


def test_a_count_times_a_fractional_multiplier_validates(cli, tmp_path):
    """A KPI of kind `count` with `multiplier = 0.5` gives half its rows, a fraction: the
    schemas said a count is always whole, so `kpi summary` and `kpi show` printed JSON their
    own schemas refuse (found by the differential oracle). Its value is half DuckDB's count of
    the window's rows, and both documents validate."""
    import duckdb

    root = _mini_with(cli, tmp_path / "mini é",
                      'id = "half"\ntitle = "Half of all crimes"\npriority = "violence"\n'
                      'kind = "count"\ndataset = "crimes"\nmultiplier = 0.5\nbetter = "lower"\n')
    (rows,) = duckdb.sql(
        f"SELECT count(*) FROM read_csv('{root / 'extracts' / 'crimes.csv'}', all_varchar = "
        "true) WHERE strptime(recorded, '%d/%m/%Y') BETWEEN '2024-10-01' AND '2025-09-30'"
    ).fetchone()
    assert rows % 2 == 1  # the fixture's year holds an odd number of crimes: half is a fraction
    summary = _validate("summary", cli(["--project", root, "summary", "--period", "2025-09",
                                        "--format", "json"]).stdout)
    half = next(k for k in summary["kpis"] if k["id"] == "half")  # type: ignore[index]
    assert half["current"]["value"] == rows / 2
    show = _validate("show", cli(["--project", root, "show", "half", "--period", "2025-09",
                                  "--format", "json"]).stdout)
    assert show["kpi"]["current"]["value"] == rows / 2  # type: ignore[index]


def test_the_catalogue_gives_each_kpis_target_and_its_provenance(cli, sample_paper):
    """`kpi catalogue --format json` carries each KPI's `target`, `target_source`,
    `target_illustrative`, `population_source` and `population_illustrative`, read against
    the sample's kpi.toml itself (tomllib) and, for the KPIs the summary reports, the
    summary's JSON for the same KPI, field for field (it carried none of them)."""
    import tomllib

    from kpi.catalogue import bundled_project_dir

    result = cli(["--project", "sample", "catalogue", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = _validate("catalogue", result.stdout)
    assert isinstance(document, dict)
    kpis = {k["id"]: k for k in document["kpis"]}
    emergency = kpis["emergency_15min_compliance"]
    assert emergency["target"] == 80 and emergency["target_illustrative"] is True
    assert emergency["target_source"] == ("an illustration: forces set their own local "
                                          "response standard")
    declared = tomllib.loads((bundled_project_dir() / "kpi.toml").read_text(encoding="utf-8"))
    aimed = 0
    for written in declared["kpis"]:
        got = kpis[written["id"]]
        target = written.get("target")
        assert got["target"] == target, written["id"]
        if target is None:
            assert got["target_source"] is None and got["target_illustrative"] is None
            continue
        aimed += 1
        assert got["target_source"] == (written.get("target_source") or None), written["id"]
        assert got["target_illustrative"] is written.get("target_illustrative", False)
        if written["kind"] not in ("per_1000", "ratio_of_rates"):
            assert got["population_source"] is got["population_illustrative"] is None
    assert aimed > 1
    summary = json.loads(sample_paper["summary"].read_text(encoding="utf-8"))
    fields = ("target", "target_source", "target_illustrative", "population_source",
              "population_illustrative")
    reported = summary["kpis"]
    assert any(k["population_source"] is not None for k in reported)
    for kpi in reported:
        assert {f: kpis[kpi["id"]][f] for f in fields} == {f: kpi[f] for f in fields}, \
            kpi["id"]
