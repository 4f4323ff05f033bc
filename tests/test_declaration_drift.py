"""kpi.toml changed after a load: every read (summary, show, compare, check, export, the
Python face) answers only from rows whose values mean what kpi.toml now declares, else refuses
in one line naming the dataset and what changed (docs/guarantees.md, "A stored table and
kpi.toml drifting apart"; docs/catalogue.md, "Changing a declaration after a load").

The oracle is the extract itself, counted by DuckDB under the declaration read, never kpi."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

import kpi
from kpi.errors import DataError

# Nine incidents, January to March 2025, and an assault a month in each area before them.
# `Type` is what the force records; `Old Type` is a legacy classification of the same
# incidents (other values); `Recorded` is when each was recorded, for R2, R5 and R8 the month
# after it happened.
EXTRACT = """Ref,Date,Recorded,Area,Type,Old Type,Flag
R1,2025-01-05,2025-01-06,North,fraud,theft,yes
R2,2025-01-20,2025-02-02,North,theft,theft,no
R3,2025-01-28,2025-01-29,South,fraud,fraud,no
R4,2025-02-03,2025-02-03,South,fraud,theft,yes
R5,2025-02-14,2025-03-01,North,theft,theft,yes
R6,2025-02-27,2025-02-28,South,assault,fraud,no
R7,2025-03-02,2025-03-02,North,fraud,fraud,no
R8,2025-03-15,2025-04-02,South,theft,theft,yes
R9,2025-03-30,2025-03-30,North,fraud,theft,no
""" + "".join(f"{area[0]}{m},2024-{m:02d}-10,2024-{m:02d}-10,{area},assault,assault,no\n"
              for m in range(4, 13) for area in ("North", "South"))  # a whole year
YEAR = tuple(f"2024-{m:02d}" for m in range(4, 13)) + ("2025-01", "2025-02", "2025-03")

COLUMNS = {
    "ref": '{ type = "str", from = ["Ref"] }',
    "happened": '{ type = "date", from = ["Date"] }',
    "recorded": '{ type = "date", from = ["Recorded"] }',
    "area": '{ type = "str", from = ["Area"] }',
    "category": '{ type = "str", from = ["Type"] }',
    "flagged": '{ type = "bool", from = ["Flag"] }',
}

KPIS = {
    "fraud": ("Fraud", "category = 'fraud'"),
    "flagged": ("Flagged", "flagged"),
}


def _declare(folder: Path, *, date: str = "happened", columns: dict[str, str] | None = None,
             kpis: dict[str, tuple[str, str]] | None = None, extra: str = "") -> None:
    lines = ['[project]', 'name = "Drift"', 'baseline = "2025-03"', "",
             "[datasets.incidents]", f'date = "{date}"', 'sources = ["incidents.csv"]', extra,
             "[datasets.incidents.columns]"]
    lines += [f"{name} = {spec}" for name, spec in (columns or COLUMNS).items()]
    lines += ["", "[[priorities]]", 'id = "p"', 'title = "Safety"']
    for kpi_id, (title, where) in (kpis or KPIS).items():
        lines += ["", "[[kpis]]", f'id = "{kpi_id}"', f'title = "{title}"', 'priority = "p"',
                  'kind = "count"', 'dataset = "incidents"', f'filter = "{where}"',
                  'better = "lower"', 'breakdowns = ["area"]']
    (folder / "kpi.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _project(tmp_path: Path, cli) -> Path:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "incidents.csv").write_text(EXTRACT, encoding="utf-8")
    _declare(folder)
    loaded = cli(["--project", folder, "ingest", "incidents"])
    assert loaded.exit_code == 0, loaded.output
    return folder


def _count(folder: Path, where: str, month_of: str = "Date",
           months: tuple[str, ...] = YEAR) -> int:
    """The oracle: rows of the extract in `months` (by the column `month_of`) where `where`
    holds, the extract's own columns named as kpi.toml maps them."""
    rows = duckdb.sql(f"SELECT * FROM read_csv('{folder / 'incidents.csv'}', all_varchar=true)")
    assert rows is not None
    found = duckdb.sql(f"SELECT count(*) FROM rows WHERE strftime(CAST(\"{month_of}\" AS DATE),"
                       f" '%Y-%m') IN {months!r} AND ({where})").fetchone()
    assert found is not None
    return int(found[0])


def _figures(cli, folder: Path) -> dict[str, float]:
    done = cli(["--project", folder, "summary", "--period", "2025-03", "--format", "json"])
    assert done.exit_code == 0, done.output
    return {k["id"]: k["current"]["value"] for k in json.loads(done.stdout)["kpis"]}


def _every_read_refuses(cli, folder: Path, *said: str, remedy: str = "load every extract "
                        "again under it") -> None:
    """Each read command, and the Python face, refuses: exit 3, one error line naming the
    dataset and what changed, and the remedy."""
    for args in (["summary", "--period", "2025-03"], ["show", "fraud", "--period", "2025-03"],
                 ["compare", "--by", "area", "--period", "2025-03"],
                 ["check", "--period", "2025-03"],
                 ["export", "markdown", "--period", "2025-03", "--output",
                  folder / "board.md"]):
        done = cli(["--project", folder, *args])
        assert done.exit_code == 3, (args, done.output)
        errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1, (args, done.stderr)
        assert "dataset 'incidents' was stored under another declaration" in errors[0]
        for text in said:
            assert text in errors[0], (args, errors[0])
        assert "kpi ingest incidents" in done.stderr and "Traceback" not in done.output
        assert remedy in done.stderr.replace("\n", " "), done.stderr
    assert not (folder / "board.md").exists()
    project = kpi.open(folder)
    for read in (lambda: project.summary("2025-03"),
                 lambda: project.scan("incidents").collect()):
        with pytest.raises(DataError, match="stored under another declaration"):
            read()


def test_a_column_read_from_another_source_column_is_refused_until_loaded_again(tmp_path,
                                                                                 cli):
    """`category` pointed at 'Old Type': the stored values are the 'Type' column's, so the
    store counted 5 frauds where the extract read under kpi.toml holds 3 (exit 0 before)."""
    folder = _project(tmp_path, cli)
    assert _figures(cli, folder)["fraud"] == _count(folder, "\"Type\" = 'fraud'") == 5
    _declare(folder, columns={**COLUMNS, "category": '{ type = "str", from = ["Old Type"] }'})
    _every_read_refuses(cli, folder, "column 'category' was read from source column 'Type'")
    # The remedy the hint gives: every extract loaded again under kpi.toml replaces every
    # stored month, and the figures are the extract's under the new declaration.
    again = cli(["--project", folder, "ingest", "incidents"])
    assert again.exit_code == 0, again.output
    assert _figures(cli, folder)["fraud"] == _count(folder, "\"Old Type\" = 'fraud'") == 3


def test_a_date_column_changed_is_refused_until_loaded_again(tmp_path, cli):
    """`date` moved from when an incident happened to when it was recorded puts R8 (flagged,
    recorded in April) out of the year to March: 3 flagged incidents, where the store, its
    rows in the months they happened, said 4 (exit 0 before)."""
    folder = _project(tmp_path, cli)
    _declare(folder, date="recorded")
    _every_read_refuses(cli, folder, "placed in months by column 'happened'",
                        "now places them by column 'recorded'")
    assert cli(["--project", folder, "ingest", "incidents"]).exit_code == 0
    want = _count(folder, "\"Type\" = 'fraud'", month_of="Recorded")
    assert _figures(cli, folder)["fraud"] == want == 5
    assert _figures(cli, folder)["flagged"] == _count(folder, "\"Flag\" = 'yes'",
                                                      month_of="Recorded") == 3


def test_a_type_changed_is_refused(tmp_path, cli):
    """`flagged` declared str with the KPI's filter `flagged = 'yes'`: the stored booleans
    never equal 'yes', and the store answered 0 where the extract holds 4 (exit 0 before)."""
    folder = _project(tmp_path, cli)
    _declare(folder, columns={**COLUMNS, "flagged": '{ type = "str", from = ["Flag"] }'},
             kpis={**KPIS, "flagged": ("Flagged", "flagged = 'yes'")})
    _every_read_refuses(cli, folder, "column 'flagged' was stored as bool and kpi.toml now "
                        "declares it str", remedy="aside and load every extract again")
    assert _count(folder, "\"Flag\" = 'yes'") == 4


def test_a_column_declared_but_not_stored_is_refused(tmp_path, cli):
    """A column added (or renamed) after the load holds no stored value."""
    folder = _project(tmp_path, cli)
    _declare(folder, columns={**COLUMNS, "legacy": '{ type = "str", from = ["Old Type"] }'})
    _every_read_refuses(cli, folder, "column 'legacy' is declared in kpi.toml but not stored",
                        remedy="aside and load every extract again")


def test_a_load_under_a_changed_declaration_keeps_no_row_of_the_old(tmp_path, cli):
    """One month loaded again after `from` changed would leave January and February meaning
    'Type' beside March meaning 'Old Type', and the next read (the latest load's declaration
    now kpi.toml's) would add them up: the load is refused, nothing written."""
    folder = _project(tmp_path, cli)
    march = tmp_path / "march.csv"
    lines = EXTRACT.splitlines()
    march.write_text("\n".join([lines[0], *(r for r in lines if ",2025-03-" in r[:14])]) + "\n",
                     encoding="utf-8")
    _declare(folder, columns={**COLUMNS, "category": '{ type = "str", from = ["Old Type"] }'})
    done = cli(["--project", folder, "ingest", "incidents", march])
    assert done.exit_code == 3, done.output
    assert "would keep the month 2024-04 stored under it" in done.stderr
    assert "nothing was written" in done.stderr
    history = cli(["--project", folder, "history", "incidents", "--format", "json"])
    assert [v["version"] for v in json.loads(history.stdout)] == [0]


def test_an_earlier_version_read_under_a_changed_declaration_is_refused(tmp_path, cli):
    """--as-of reads a version's rows under today's kpi.toml: version 0 was loaded with
    `category` from 'Type', so after the reload under 'Old Type' it is refused, while the
    latest answers."""
    folder = _project(tmp_path, cli)
    _declare(folder, columns={**COLUMNS, "category": '{ type = "str", from = ["Old Type"] }'})
    assert cli(["--project", folder, "ingest", "incidents"]).exit_code == 0
    done = cli(["--project", folder, "summary", "--period", "2025-03", "--as-of", "0"])
    assert done.exit_code == 3 and "column 'category' was read from" in done.stderr
    assert _figures(cli, folder)["fraud"] == 3


@pytest.mark.parametrize("change", [
    "a source column's new name added to from",
    "a stored column no KPI reads removed",
    "a KPI added and a title changed",
    "a derived column, unique, replace_by, published and time_zone",
])
def test_what_leaves_every_stored_value_meaning_the_same_still_answers(tmp_path, cli,
                                                                       change):
    """Changes that leave every stored value meaning what it meant are not refused, and the
    figures are the extract's."""
    folder = _project(tmp_path, cli)
    kpis, columns, extra = dict(KPIS), dict(COLUMNS), ""
    if change.startswith("a source"):
        columns["category"] = '{ type = "str", from = ["Type", "Crime type"] }'
    elif change.startswith("a stored"):
        del columns["recorded"]
    elif change.startswith("a KPI"):
        kpis["fraud"] = ("Fraud recorded", "category = 'fraud'")
        kpis["north"] = ("North", "area = 'North'")
    else:
        extra = ('unique = "ref"\nreplace_by = ["area"]\npublished = "quarterly"\n'
                 'time_zone = "UTC"\n[datasets.incidents.derived]\nis_fraud = "category = '
                 "'fraud'\"")
        kpis["fraud"] = ("Fraud", "is_fraud")
    _declare(folder, columns=columns, kpis=kpis, extra=extra)
    figures = _figures(cli, folder)
    assert figures["fraud"] == _count(folder, "\"Type\" = 'fraud'") == 5
    assert figures["flagged"] == _count(folder, "\"Flag\" = 'yes'") == 4
    if "north" in figures:
        assert figures["north"] == _count(folder, "\"Area\" = 'North'") == 5 + 9
    assert kpi.open(folder).scan("incidents").collect().height == 27


def test_a_restored_version_is_read_under_the_declaration_it_was_loaded_under(tmp_path, cli):
    """After the reload under 'Old Type', a `DeltaTable.restore` to version 0 brings back the
    rows read from 'Type': the latest load's declaration is no longer the rows', and the
    restore is followed to the version it restored."""
    from deltalake import DeltaTable

    folder = _project(tmp_path, cli)
    _declare(folder, columns={**COLUMNS, "category": '{ type = "str", from = ["Old Type"] }'})
    assert cli(["--project", folder, "ingest", "incidents"]).exit_code == 0
    assert _figures(cli, folder)["fraud"] == 3
    DeltaTable(str(folder / "data" / "incidents")).restore(0)
    done = cli(["--project", folder, "summary", "--period", "2025-03"])
    assert done.exit_code == 3 and "column 'category' was read from source column 'Type'" \
        in done.stderr, done.output


def test_a_part_loaded_under_a_changed_declaration_keeps_no_part_of_the_old(tmp_path, cli):
    """With `replace_by = ["area"]`, North's extract loaded again after `from` changed would
    keep South's rows of the same months read from 'Type': refused, nothing written."""
    folder = _project(tmp_path, cli)
    _declare(folder, extra='replace_by = ["area"]')
    north = tmp_path / "north.csv"
    lines = EXTRACT.splitlines()
    north.write_text("\n".join([lines[0], *(r for r in lines if ",North," in r)]) + "\n",
                     encoding="utf-8")
    _declare(folder, extra='replace_by = ["area"]',
             columns={**COLUMNS, "category": '{ type = "str", from = ["Old Type"] }'})
    done = cli(["--project", folder, "ingest", "incidents", north])
    assert done.exit_code == 3, done.output
    assert "would keep the rows of other area values in month 2024-04" in done.stderr
    history = cli(["--project", folder, "history", "incidents", "--format", "json"])
    assert [v["version"] for v in json.loads(history.stdout)] == [0]
    # Both parts' extract (the whole file) replaces every stored row, and is read as declared.
    assert cli(["--project", folder, "ingest", "incidents"]).exit_code == 0
    assert _figures(cli, folder)["fraud"] == _count(folder, "\"Old Type\" = 'fraud'") == 3


def test_a_table_an_earlier_kpi_loaded_has_its_columns_checked(tmp_path, cli, monkeypatch):
    """A load by an earlier kpi recorded no declaration: its columns' names and types are
    still checked against kpi.toml's (a `bool` declared `str`: refused)."""
    folder = _loaded_by_an_earlier_kpi(tmp_path, cli, monkeypatch)
    assert _figures(cli, folder)["flagged"] == 4
    _declare(folder, columns={**COLUMNS, "flagged": '{ type = "str", from = ["Flag"] }'},
             kpis={**KPIS, "flagged": ("Flagged", "flagged = 'yes'")})
    done = cli(["--project", folder, "summary", "--period", "2025-03"])
    assert done.exit_code == 3, done.output
    assert "column 'flagged' is stored as boolean and kpi.toml now declares it string" \
        in done.stderr


def test_the_declared_types_are_the_types_a_load_writes(tmp_path):
    """Every read checks the table's Delta types against kpi.toml's (`store.declared_types`,
    worked out without PyArrow, which a read never imports: by PyArrow's route the check cost
    the bundled sample's summary 0.3 s). They are the types a load writes (`stored_schema`,
    through PyArrow and deltalake), for a column of every type, and for a date column named
    month, stored as the partition."""
    from deltalake import Schema

    from kpi import store
    from kpi.catalogue import ColumnType, load_project

    every = {f"c_{t.value}": f'{{ type = "{t.value}", from = ["C {t.value}"] }}'
             for t in ColumnType}
    for date, columns in (("c_date", {**every, "area": '{ type = "str" }'}),
                          ("month", {"month": '{ type = "month", from = ["Month"] }',
                                     "area": '{ type = "str" }'})):
        _declare(tmp_path, date=date, columns=columns, kpis={"all": ("All", "TRUE")})
        spec = load_project(tmp_path).datasets["incidents"]
        written = [(f["name"], f["type"]) for f in json.loads(
            Schema.from_arrow(store.stored_schema(spec)).to_json())["fields"]]
        assert store.declared_types(spec) == written
    assert dict(store.declared_types(load_project(tmp_path).datasets["incidents"])) == {
        "month": "string", "area": "string"}
    _declare(tmp_path, date="c_date", columns={**every, "area": '{ type = "str" }'},
             kpis={"all": ("All", "TRUE")})
    assert dict(store.declared_types(load_project(tmp_path).datasets["incidents"])) == {
        **{f"c_{t.value}": {"str": "string", "int": "long", "float": "double",
                            "bool": "boolean", "date": "date", "datetime": "timestamp",
                            "month": "date"}[t.value] for t in ColumnType},
        "area": "string", "month": "string"}


def _with_other_dataset(folder: Path) -> None:
    """kpi.toml as `_declare` wrote it, with a second dataset, `calls`, read from the same
    extract, a KPI of it, and a reconciliation of the incidents' KPIs."""
    text = (folder / "kpi.toml").read_text(encoding="utf-8")
    other = ("[datasets.calls]\ndate = \"happened\"\nsources = [\"incidents.csv\"]\n"
             "[datasets.calls.columns]\n" + "".join(f"{n} = {COLUMNS[n]}\n" for n in (
                 "ref", "happened", "area", "category")) + "\n")
    text = text.replace("[[priorities]]", other + "[[priorities]]", 1)
    text += ("\n[[kpis]]\nid = \"calls_fraud\"\ntitle = \"Calls about fraud\"\npriority = \"p\"\n"
             "kind = \"count\"\ndataset = \"calls\"\nfilter = \"category = 'fraud'\"\n"
             "better = \"lower\"\n\n[[checks]]\nid = \"flags\"\ntitle = \"Flagged within fraud\"\n"
             "total = \"fraud\"\nparts = [\"flagged\", \"calls_fraud\"]\n")
    (folder / "kpi.toml").write_text(text, encoding="utf-8")


def test_the_listings_name_a_drifted_dataset_beside_the_others(tmp_path, cli):
    """`kpi datasets` and `kpi check` list every dataset: the one stored under another
    declaration is named with what changed (its rows and version, no months), the others
    answered as before. `kpi datasets` refused the whole listing (exit 3), so it could not
    show what to load again; `kpi check` refused every check for one dataset's drift."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "incidents.csv").write_text(EXTRACT, encoding="utf-8")
    _declare(folder)
    _with_other_dataset(folder)
    for dataset in ("incidents", "calls"):
        assert cli(["--project", folder, "ingest", dataset]).exit_code == 0
    _declare(folder, columns={**COLUMNS, "category": '{ type = "str", from = ["Old Type"] }'})
    _with_other_dataset(folder)
    changed = "column 'category' was read from source column 'Type'"
    rows = _count(folder, "TRUE", months=tuple(f"{y}-{m:02d}" for y in (2024, 2025)
                                               for m in range(1, 13)))
    assert rows == 27

    done = cli(["--project", folder, "datasets", "--format", "json"])
    assert done.exit_code == 0, done.output
    import jsonschema

    schema = json.loads((Path(kpi.__file__).parent / "schemas" / "datasets.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(json.loads(done.stdout))
    listed = {r["dataset"]: r for r in json.loads(done.stdout)}
    assert listed["calls"]["rows"] == rows and listed["calls"]["declaration_changed"] is None
    assert (listed["calls"]["first"], listed["calls"]["last"]) == ("2024-04", "2025-03")
    drifted = listed["incidents"]
    assert changed in drifted["declaration_changed"]
    assert (drifted["rows"], drifted["version"], drifted["first"], drifted["missing"]) == (
        rows, 0, None, [])
    assert "Warning: dataset 'incidents' was stored under another declaration" in done.stderr
    assert "kpi ingest incidents" in done.stderr and "Traceback" not in done.output
    for format in ("table", "csv", "markdown"):
        shown = cli(["--project", folder, "datasets", "--format", format])
        assert shown.exit_code == 0, shown.output
        assert "calls" in shown.stdout and "incidents" in shown.stdout
    frame = kpi.open(folder).datasets()
    assert frame.filter(frame["declaration_changed"].is_null())["dataset"].to_list() == [
        "calls"]

    done = cli(["--project", folder, "check", "--period", "2025-03", "--format", "json"])
    assert done.exit_code == 1, done.output
    check_schema = json.loads((Path(kpi.__file__).parent / "schemas" / "check.json").read_text())
    jsonschema.Draft202012Validator(check_schema).validate(json.loads(done.stdout))
    checks = {c["id"]: c for c in json.loads(done.stdout)["checks"]}
    refused = "dataset 'incidents' was stored under another declaration"
    for failed in ("flags", "coverage_fraud", "coverage_flagged", "gaps_incidents"):
        assert not checks[failed]["passed"] and refused in checks[failed]["message"], failed
        assert changed in checks[failed]["message"]
    # No figure of the drifted dataset, and the other dataset's KPI checked.
    assert checks["flags"]["total"] is None and checks["flags"]["parts"] == []
    assert checks["coverage"]["passed"] and "1 live KPIs computed" in checks["coverage"]["message"]
    assert "coverage_calls_fraud" not in checks and "gaps_calls" not in checks
    # A summary still refuses: it prints no figure of the drifted dataset, and does not
    # leave its KPIs out.
    done = cli(["--project", folder, "summary", "--period", "2025-03", "--format", "json"])
    assert done.exit_code == 3 and refused in done.stderr and done.stdout == ""


def _loaded_by_an_earlier_kpi(tmp_path: Path, cli, monkeypatch) -> Path:
    """The project loaded as a kpi before definitions were recorded loaded it: the load's
    provenance holds the fingerprint of the declaration it read (`spec`), no `definition`."""
    from kpi import store

    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "incidents.csv").write_text(EXTRACT, encoding="utf-8")
    _declare(folder)
    with monkeypatch.context() as patched:
        patched.setattr(store, "DEFINITION_KEY", "not-recorded")
        assert cli(["--project", folder, "ingest", "incidents"]).exit_code == 0
    assert store.stored_definition(folder / "data" / "incidents", 0) is None
    return folder


def test_a_table_an_earlier_kpi_loaded_is_refused_where_its_declaration_has_changed(
        tmp_path, cli, monkeypatch):
    """An earlier kpi's load recorded no definition, so a `from` or `date` changed since
    cannot be compared: the store answered 5 frauds, exit 0, saying nothing, where the extract
    read under kpi.toml holds 3. The fingerprint it recorded of the declaration it read tells
    that kpi.toml's is another, which cannot be told from a harmless change: every read
    refuses it as a changed declaration is refused (exit 3, the remedy in the hint), the
    listings name it beside the others, a load that would keep some of its rows is refused
    with nothing written, and a load of every extract records the declaration."""
    folder = _loaded_by_an_earlier_kpi(tmp_path, cli, monkeypatch)
    said = ("dataset 'incidents' was stored under another declaration than kpi.toml's: it was "
            "loaded by an earlier kpi, which recorded no declaration")
    for date, columns in (("happened", {**COLUMNS,
                                        "category": '{ type = "str", from = ["Old Type"] }'}),
                          ("recorded", COLUMNS)):
        _declare(folder, date=date, columns=columns)
        for args in (["summary", "--period", "2025-03"],
                     ["show", "fraud", "--period", "2025-03", "--format", "json"]):
            done = cli(["--project", folder, *args])
            assert done.exit_code == 3 and said in done.stderr, (args, done.output)
            assert done.stdout == "" and "kpi ingest incidents" in done.stderr
            assert "Traceback" not in done.output
        done = cli(["--project", folder, "datasets", "--format", "json"])
        assert done.exit_code == 0, done.output
        assert "loaded by an earlier kpi" in json.loads(done.stdout)[0]["declaration_changed"]
        done = cli(["--project", folder, "check", "--period", "2025-03"])
        assert done.exit_code == 3 and said in done.output, done.output
        with pytest.raises(DataError, match="loaded by an earlier kpi"):
            kpi.open(folder).summary("2025-03")
    _declare(folder, columns={**COLUMNS, "category": '{ type = "str", from = ["Old Type"] }'})
    march = tmp_path / "march.csv"
    lines = EXTRACT.splitlines()
    march.write_text("\n".join([lines[0], *(r for r in lines if ",2025-03-" in r[:14])]) + "\n",
                     encoding="utf-8")
    history = cli(["--project", folder, "history", "incidents", "--format", "json"]).stdout
    done = cli(["--project", folder, "ingest", "incidents", march])
    assert done.exit_code == 3 and said in done.stderr and "nothing was written" in \
        done.stderr, done.output
    assert cli(["--project", folder, "history", "incidents", "--format", "json"]).stdout \
        == history
    assert cli(["--project", folder, "ingest", "incidents"]).exit_code == 0
    done = cli(["--project", folder, "summary", "--period", "2025-03", "--format", "json"])
    assert done.exit_code == 0 and done.stderr == "", done.output
    assert {k["id"]: k["current"]["value"] for k in json.loads(done.stdout)["kpis"]}[
        "fraud"] == _count(folder, "\"Old Type\" = 'fraud'") == 3


@pytest.mark.parametrize("change", ["none", "a KPI, a label and a derived column"])
def test_a_table_an_earlier_kpi_loaded_answers_under_the_declaration_it_read(
        tmp_path, cli, monkeypatch, change):
    """Under the declaration it was loaded under (its fingerprint the same), an earlier kpi's
    table answers, with no note: every stored value means what it meant."""
    folder = _loaded_by_an_earlier_kpi(tmp_path, cli, monkeypatch)
    if change != "none":
        _declare(folder, columns={**COLUMNS, "area": '{ type = "str", from = ["Area"], '
                                                     'label = "Policing area" }'},
                 kpis={**KPIS, "north": ("North", "area = 'North'")},
                 extra='[datasets.incidents.derived]\nis_fraud = "category = \'fraud\'"')
    done = cli(["--project", folder, "summary", "--period", "2025-03", "--format", "json"])
    assert done.exit_code == 0 and done.stderr == "", done.output
    figures = {k["id"]: k["current"]["value"] for k in json.loads(done.stdout)["kpis"]}
    assert figures["fraud"] == _count(folder, "\"Type\" = 'fraud'") == 5
    assert figures["flagged"] == _count(folder, "\"Flag\" = 'yes'") == 4


def test_a_read_of_the_latest_version_hashes_its_commit_file_once(tmp_path, cli, monkeypatch):
    """Each read checks the version it reads, keyed by its commit file's sha256: for the
    latest version that is the hash the answer already took of it (`store.table_state`), not
    one more per read (66 reads of the sample's summary hashed 87 commit files again); an
    earlier version read with --as-of is hashed for itself, and checked for itself."""
    from kpi import store

    folder = _project(tmp_path, cli)
    hashed: list[int] = []
    digest = store._commit_digest
    monkeypatch.setattr(store, "_commit_digest",
                        lambda path, version: hashed.append(version) or digest(path, version))
    project = kpi.open(folder)
    assert project.summary("2025-03").height == len(KPIS)
    assert hashed == []
    _declare(folder, columns={**COLUMNS, "category": '{ type = "str", from = ["Old Type"] }'})
    assert cli(["--project", folder, "ingest", "incidents"]).exit_code == 0
    with pytest.raises(DataError, match="column 'category' was read from source column 'Type'"):
        kpi.open(folder).summary("2025-03", as_of=0)
    assert set(hashed) == {0}


def test_a_read_checks_the_version_it_reads_while_another_process_loads(tmp_path, cli):
    """A reader and a loader in two processes: while one answer is being worked out, another
    process loads every extract again under a changed kpi.toml. Each read of that answer
    reads the version it began with and checks it against the declaration it was read
    under, not the version committed since; the next answer reads the new version under the
    kpi.toml it reads then. And --as-of reads an earlier version under its own load's
    declaration while the latest is refused."""
    import os
    import subprocess
    import sys

    from kpi import store

    folder = _project(tmp_path, cli)
    project = kpi.open(folder)
    catalogue = project._catalogue()
    before = _count(folder, "\"Type\" = 'fraud'")
    with store.one_reading():
        first = store.scan(catalogue, "incidents").filter(category="fraud").collect().height
        _declare(folder, columns={**COLUMNS,
                                  "category": '{ type = "str", from = ["Old Type"] }'})
        loaded = subprocess.run([sys.executable, "-m", "kpi", "--project", str(folder),
                                 "ingest", "incidents"], capture_output=True, text=True,
                                env={**os.environ, "KPI_NO_CACHE": "1"}, check=False)
        assert loaded.returncode == 0, loaded.stderr
        assert store.table_version(folder / "data" / "incidents") == 1
        again = store.scan(catalogue, "incidents").filter(category="fraud").collect().height
        assert first == again == before == 5
        assert store.row_count(catalogue, "incidents") == 27
    with pytest.raises(DataError, match="column 'category' was read from source column 'Old"):
        store.scan(catalogue, "incidents")  # the new version, under the old declaration
    assert project.summary("2025-03").filter(id="fraud")["current_value"].item() == \
        _count(folder, "\"Old Type\" = 'fraud'") == 3
    # Back to 'Type': version 0 answers under it, the latest (read from 'Old Type') refuses.
    _declare(folder)
    old = cli(["--project", folder, "summary", "--period", "2025-03", "--as-of", "0",
               "--format", "json"])
    assert old.exit_code == 0, old.output
    assert {k["id"]: k["current"]["value"] for k in json.loads(old.stdout)["kpis"]}[
        "fraud"] == before
    done = cli(["--project", folder, "summary", "--period", "2025-03"])
    assert done.exit_code == 3 and "from source column 'Old Type'" in done.stderr


def _with_amounts(folder: Path, kind: str, amounts: list[int] | None = None) -> None:
    """The extract with a whole-number `Amount` on each row (the row's place times 7, or
    `amounts`), declared `kind`, and a sum and a mean of it beside the counts."""
    lines = EXTRACT.splitlines()
    values = amounts or [7 * i for i in range(1, len(lines))]
    (folder / "incidents.csv").write_text(
        "\n".join([lines[0] + ",Amount", *(f"{r},{v}" for r, v in zip(lines[1:], values,
                                                                      strict=False))]) + "\n",
        encoding="utf-8")
    _declare(folder, columns={**COLUMNS, "amount": f'{{ type = "{kind}", from = ["Amount"] }}'})
    with (folder / "kpi.toml").open("a", encoding="utf-8") as toml:
        for kpi_id, how in (("amount", "sum"), ("mean_amount", "mean")):
            toml.write(f'\n[[kpis]]\nid = "{kpi_id}"\ntitle = "{kpi_id}"\npriority = "p"\n'
                       f'kind = "{how}"\ndataset = "incidents"\nvalue = "amount"\n'
                       'better = "lower"\nbreakdowns = ["area"]\n')


def test_an_int_column_declared_float_answers_as_a_fresh_load_of_floats(tmp_path, cli):
    """An int column declared float afterwards holds nothing a float does not hold exactly
    (every value within 2**53): it was refused as a changed type, though every figure read
    from it as floats is the figure of the extract loaded afresh as floats. Each face now
    answers, and prints what a fresh load prints (the column is read as floats, so kpi
    compare's sums print 651.0, not 651); a load into the table is still refused until it
    is loaded again (one type a column)."""
    stored, fresh = tmp_path / "stored", tmp_path / "fresh"
    for folder, kind in ((stored, "int"), (fresh, "float")):
        folder.mkdir()
        _with_amounts(folder, kind)
        assert cli(["--project", folder, "ingest", "incidents"]).exit_code == 0
    _with_amounts(stored, "float")
    for args in (["summary", "--period", "2025-03", "--format", "json"],
                 ["show", "amount", "--period", "2025-03", "--format", "json"],
                 ["show", "mean_amount", "--period", "2025-03", "--format", "json"],
                 ["compare", "--by", "area", "--period", "2025-03", "--format", "json"],
                 ["check", "--period", "2025-03", "--format", "json"]):
        read, want = (cli(["--project", folder, *args]) for folder in (stored, fresh))
        assert read.exit_code == want.exit_code == 0, (args, read.output)
        assert read.stdout.replace(str(stored), "") == want.stdout.replace(str(fresh), ""), args
    figures = _figures(cli, stored)
    rows = duckdb.sql(f"SELECT * FROM read_csv('{stored / 'incidents.csv'}')")
    assert rows is not None
    total = duckdb.sql(f"SELECT sum(Amount), avg(Amount) FROM rows WHERE strftime(Date, "
                       f"'%Y-%m') IN {YEAR!r}").fetchone()
    assert total is not None
    assert (figures["amount"], figures["mean_amount"]) == (total[0], total[1]) == (2646, 98.0)
    assert kpi.open(stored).scan("incidents").collect_schema()["amount"] == \
        kpi.open(fresh).scan("incidents").collect_schema()["amount"]
    done = cli(["--project", stored, "ingest", "incidents"])
    assert done.exit_code == 3 and "no longer match the stored table" in done.stderr


@pytest.mark.parametrize(("stored", "declared", "amounts", "said"), [
    ("float", "int", None, "column 'amount' was stored as float and kpi.toml now declares "
                           "it int"),
    ("int", "float", [2**53 + 1] + [1] * 26, "holds 9007199254740993, past 2**53"),
])
def test_a_type_change_that_does_not_read_every_value_as_it_was_is_refused(
        tmp_path, cli, stored, declared, amounts, said):
    """A narrowing (float to int) or an int past 2**53 declared float (9007199254740993 would
    read 9007199254740992) is refused, as any other type change is
    (`test_a_type_changed_is_refused`)."""
    folder = tmp_path / "p"
    folder.mkdir()
    _with_amounts(folder, stored, amounts)
    assert cli(["--project", folder, "ingest", "incidents"]).exit_code == 0
    _with_amounts(folder, declared, amounts)
    _every_read_refuses(cli, folder, said, remedy="aside and load every extract again")


def test_the_samples_store_an_earlier_kpi_built_answers_saying_nothing(tmp_path, cli,
                                                                         monkeypatch):
    """The bundled sample's store is built for the kpi.toml it holds (its folder's name is
    the fingerprint of the sample's files, kpi.toml among them), so a store an earlier kpi
    built, recording no declaration and another fingerprint of it, holds what kpi.toml
    declares: it answers without the warning an earlier kpi's table of a project gets, whose
    remedy (load every extract again) the sample refuses."""
    from kpi import store
    from kpi.ingest import commit

    monkeypatch.setenv("KPI_CACHE_DIR", str(tmp_path / "cache"))
    with monkeypatch.context() as patched:
        patched.setattr(store, "DEFINITION_KEY", "not-recorded")
        patched.setattr(commit, "_spec_fingerprint", lambda spec: "0" * 16)
        built = cli(["--project", "sample", "datasets"])
        assert built.exit_code == 0, built.output
    crimes = store.table_path(kpi.open("sample")._catalogue(), "crimes")
    assert crimes.is_relative_to(tmp_path / "cache")
    assert store.stored_definition(crimes, 0) is None
    done = cli(["--project", "sample", "summary", "--period", "2025-09", "--format", "json"])
    assert done.exit_code == 0 and "Warning" not in done.stderr, done.stderr


# The fingerprint (`spec` in a load's provenance) four earlier kpis recorded for one dataset's
# declaration (`EARLIER_DATASET` below), each by loading it with that commit's kpi: before
# loads recorded their `definition`, and before a dataset had `time_zone` (5251b11),
# `published` (e57a319), or a database `source` and a column `label` (6a1dbf1).
EARLIER_KPI_FINGERPRINTS = {"b03bec1": "e1c1b647ff720e89", "5251b11": "5665a0460760e486",
                            "e57a319": "a21ba3b23f8a2b8f", "6a1dbf1": "a67dcec1941dd5d0"}
EARLIER_DATASET = """[project]
name = "D"
baseline = "2025-03"

[datasets.alpha]
date = "happened"
sources = ["a.csv"]
[datasets.alpha.columns]
ref = { type = "str", from = ["Ref"] }
happened = { type = "date", from = ["Date"] }
category = { type = "str", from = ["Type"] }
n = { type = "int", from = ["N"] }

[[priorities]]
id = "p"
title = "S"

[[kpis]]
id = "afraud"
title = "A fraud"
priority = "p"
kind = "count"
dataset = "alpha"
filter = "category = 'fraud'"
better = "lower"
"""


def test_the_fingerprints_earlier_kpis_recorded_are_recognised(tmp_path):
    """A table an earlier kpi loaded is recognised as read under kpi.toml's declaration by
    the fingerprint that kpi recorded, though each wrote it from the declaration as it then
    stood (without the settings added since): it answered with a warning that its date or
    `from` might have changed under the very kpi.toml it was loaded under. A changed `from`
    matches none of them."""
    from kpi import store
    from kpi.catalogue import load_project

    (tmp_path / "kpi.toml").write_text(EARLIER_DATASET, encoding="utf-8")
    known = store.declaration_fingerprints(load_project(tmp_path).datasets["alpha"])
    assert {c: f for c, f in EARLIER_KPI_FINGERPRINTS.items() if f not in known} == {}
    (tmp_path / "kpi.toml").write_text(EARLIER_DATASET.replace('from = ["Type"]',
                                                               'from = ["Old Type"]'),
                                       encoding="utf-8")
    changed = store.declaration_fingerprints(load_project(tmp_path).datasets["alpha"])
    assert not changed & set(EARLIER_KPI_FINGERPRINTS.values())


# A peer group of the areas, the fraud count declaring it, and a share whose target reads two
# ways (0.5: 0.5% or 50%), which `kpi catalogue --validate` judges on the stored figures.
PEERS_AND_SHARE = """
[peers.areas]
title = "the areas"
column = "area"
members = ["North", "South"]
focus = "North"

[[kpis]]
id = "fraud_share"
title = "Fraud share"
priority = "p"
kind = "rate"
dataset = "incidents"
numerator = "category = 'fraud'"
better = "lower"
target = 0.5
"""


def test_a_drifted_declaration_is_refused_where_a_read_once_took_it_for_no_data(tmp_path,
                                                                               cli):
    """Three reads caught every DataError and went on as if the data held nothing: the month
    `kpi show` draws a trend to (engine.latest_month), the paper's "Compared with peers"
    (compare.peer_result) and `kpi catalogue --validate`'s judging of a target on the stored
    figures (verdicts.stored_targets, which warned "no figures are held" and exited 0). Each
    caught a table stored under another declaration too, refused only because another read
    happened to refuse it first (or, for the validation, not at all). Each now takes only
    the error it means (store.NotAtPoint: no version at an --as-of point)."""
    from kpi import compare, engine, store, verdicts
    from kpi.catalogue import load_project
    from kpi.periods import Comparison, Month

    folder = _project(tmp_path, cli)
    _declare(folder, columns={**COLUMNS, "category": '{ type = "str", from = ["Old Type"] }'})
    toml = folder / "kpi.toml"
    text = toml.read_text(encoding="utf-8").replace(
        "filter = \"category = 'fraud'\"", "filter = \"category = 'fraud'\"\npeers = \"areas\"", 1)
    toml.write_text(text + PEERS_AND_SHARE, encoding="utf-8")
    project = load_project(folder)
    fraud = next(k for k in project.kpis if k.id == "fraud")
    assert fraud.peers == "areas"
    march = Month.parse("2025-03")
    refused = "dataset 'incidents' was stored under another declaration"
    with pytest.raises(store.DeclarationChanged, match=refused):
        engine.latest_month(project, fraud, march)
    with pytest.raises(store.DeclarationChanged, match=refused):
        compare.peer_result(project, fraud, march, Comparison.BASELINE)
    with pytest.raises(store.DeclarationChanged, match=refused):
        verdicts.stored_targets(project)
    done = cli(["catalogue", "--validate", toml])
    assert done.exit_code == 3, done.output
    assert refused in done.stderr and "Traceback" not in done.output
    _every_read_refuses(cli, folder, "column 'category' was read from source column 'Type'")


def test_a_dataset_with_no_version_at_the_point_asked_is_still_no_data_there(tmp_path, cli):
    """What the three reads above meant to take: a dataset with no version at an --as-of
    point (store.NotAtPoint) has no month to draw a trend to."""
    from kpi import engine, store
    from kpi.catalogue import load_project
    from kpi.periods import Month
    from kpi.store import AsOf

    folder = _project(tmp_path, cli)
    project = load_project(folder)
    fraud = next(k for k in project.kpis if k.id == "fraud")
    with pytest.raises(store.NotAtPoint, match="has no version 7"):
        store.months(project, "incidents", AsOf(version=7))
    assert engine.latest_month(project, fraud, Month.parse("2025-03"), AsOf(version=7)) is None
    assert engine.latest_month(project, fraud, Month.parse("2025-03")) == Month.parse("2025-03")
