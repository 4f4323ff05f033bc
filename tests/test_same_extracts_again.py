"""Loading the same extracts again writes no new version unless a setting that decides what
they are stored as changed (docs/guarantees.md, "A revised extract replaces the months it
covers"; docs/own-project.md, "Next month").

The expected rows are the extract's, counted by hand; the versions are read from Delta's own
log (`hostile_support.snapshot`), not from kpi's store module."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hostile_support import snapshot
from project_toml import head, kpi_block

from kpi import store
from kpi.ingest import commit

EXTRACT = ("Ref,Date,LPA,Area,Victims\n"
           "A1,2025-01-03,Dudley,North,1\n"
           "A2,2025-01-09,Walsall,North,2\n"
           "A3,2025-02-14,Dudley,South,1\n")

FIRST = {"description": "Incidents", "sources": ["extracts/incidents.csv"],
         "published": "monthly", "place": "LPA", "label": "local policing area",
         "derived": {"many": "victims > 1"}}


def _toml(description: str, sources: list[str], published: str, place: str, label: str,
          derived: dict[str, str]) -> str:
    return (head("Loads again", "2025-01", "incidents", {
                "ref": {"type": "str", "from": ["Ref"]},
                "date": {"type": "date", "from": ["Date"]},
                "place": {"type": "str", "from": [place], "label": label},
                "victims": {"type": "int", "from": ["Victims"]}},
            date="date", description=description, sources=sources, published=published,
            derived=derived, priority=("safety", "Safety"))
            + kpi_block("incidents", "Incidents recorded", "incidents", priority="safety",
                        kind="count", better="lower"))


def _project(folder: Path, **settings) -> Path:
    (folder / "extracts").mkdir(parents=True, exist_ok=True)
    (folder / "extracts" / "incidents.csv").write_text(EXTRACT, encoding="utf-8")
    _declare(folder, **settings)
    return folder


def _declare(folder: Path, **settings) -> None:
    (folder / "kpi.toml").write_text(_toml(**{**FIRST, **settings}), encoding="utf-8")


def _versions(cli, folder: Path) -> list[int]:
    result = cli(["--project", folder, "history", "incidents", "--format", "json"])
    assert result.exit_code == 0, result.output
    return [v["version"] for v in json.loads(result.stdout)]


def test_settings_that_only_find_or_describe_the_extracts_make_no_new_version(tmp_path, cli):
    """Changing a dataset's `sources` (another glob naming the same file), its `description`,
    `published`, its `derived` columns and a column's `label` made the next load of the very
    same file a new table version, where the docs say loading the same file again changes
    nothing."""
    folder = _project(tmp_path / "p")
    first = cli(["--project", folder, "ingest", "incidents"])
    assert first.exit_code == 0, first.output
    stored = snapshot(folder)
    assert stored.version == 0 and stored.rows is not None
    assert sorted(stored.rows["ref"].to_list()) == ["A1", "A2", "A3"]
    _declare(folder, sources=["extracts/incident?.csv"],
             description="Incidents recorded by the force", published="quarterly",
             label="policing area", derived={"many": "victims > 2", "solo": "victims = 1"})
    again = cli(["--project", folder, "ingest", "incidents"])
    assert again.exit_code == 0, again.output
    assert "Nothing changed" in again.stderr, again.stderr
    assert _versions(cli, folder) == [0]
    assert snapshot(folder).same_as(stored)
    # The same file named on the command line is the same load too.
    named = cli(["--project", folder, "ingest", "incidents",
                 folder / "extracts" / "incidents.csv"])
    assert named.exit_code == 0 and "Nothing changed" in named.stderr, named.output
    assert _versions(cli, folder) == [0]


def test_a_setting_that_changes_the_stored_rows_makes_a_new_version(tmp_path, cli):
    """The same file read through another column (`place` from 'Area' where it was 'LPA')
    stores other values: the load goes ahead and is a new version holding them."""
    folder = _project(tmp_path / "p")
    assert cli(["--project", folder, "ingest", "incidents"]).exit_code == 0
    assert sorted(snapshot(folder).rows["place"].to_list()) == ["Dudley", "Dudley", "Walsall"]
    _declare(folder, place="Area")
    again = cli(["--project", folder, "ingest", "incidents"])
    assert again.exit_code == 0, again.output
    assert "Nothing changed" not in again.stderr
    assert _versions(cli, folder) == [0, 1]
    after = snapshot(folder)
    assert after.version == 1
    assert sorted(after.rows["place"].to_list()) == ["North", "North", "South"]


def test_a_table_an_earlier_release_loaded_is_still_recognised(tmp_path, cli, monkeypatch):
    """Earlier releases recorded the fingerprint of the whole declaration: the same extracts
    under the same kpi.toml are still seen as loaded, not stored again as a new version."""
    folder = _project(tmp_path / "p")
    with monkeypatch.context() as patched:
        patched.setattr(commit, "_spec_fingerprint", store.spec_digest)
        assert cli(["--project", folder, "ingest", "incidents"]).exit_code == 0
    again = cli(["--project", folder, "ingest", "incidents"])
    assert again.exit_code == 0 and "Nothing changed" in again.stderr, again.output
    assert _versions(cli, folder) == [0]



def test_a_table_loaded_with_unique_in_the_fingerprint_is_still_recognised(tmp_path, cli,
                                                                          monkeypatch):
    """Before `unique` was compared on its own, the fingerprint of what the rows are stored
    as held it: a table so loaded under `unique = "ref"` is still seen as holding the same
    extracts under the same kpi.toml, and their ids are checked against the kept rows."""
    folder = _project(tmp_path / "p")
    _declare_unique(folder)
    with monkeypatch.context() as patched:
        patched.setattr(commit, "_spec_fingerprint",
                        lambda spec: store.spec_digest(store.read_as(spec)))
        assert cli(["--project", folder, "ingest", "incidents"]).exit_code == 0
    stored = snapshot(folder)
    again = cli(["--project", folder, "ingest", "incidents"])
    assert again.exit_code == 0 and "Nothing changed" in again.stderr, again.output
    assert _versions(cli, folder) == [0]
    assert snapshot(folder).same_as(stored)

def _declare_unique(folder: Path) -> None:
    toml = folder / "kpi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'date = "date"\n', 'date = "date"\nunique = "ref"\n', 1), encoding="utf-8")


def _loaded_with_march(tmp_path: Path, cli, ref: str) -> tuple[Path, Path]:
    """The project loaded, then a March extract of one incident `ref` loaded beside it."""
    folder = _project(tmp_path / "p")
    march = folder / "extracts" / "march.csv"
    march.write_text(f"Ref,Date,LPA,Area,Victims\n{ref},2025-03-02,Dudley,North,3\n",
                     encoding="utf-8")
    assert cli(["--project", folder, "ingest", "incidents"]).exit_code == 0
    assert cli(["--project", folder, "ingest", "incidents", march]).exit_code == 0
    return folder, march


def test_declaring_unique_checks_the_same_extracts_without_a_new_version(tmp_path, cli):
    """Adding `unique` made the next load of the same files a version of identical rows (it
    is in the fingerprint of what the rows are stored as, so the check against the stored
    rows runs). It changes no stored value, only refuses: the same extracts are checked
    against the stored rows they keep and, passing, write nothing; an id the kept rows hold
    is refused, exit 3, as on any load, and nothing is written either."""
    folder, march = _loaded_with_march(tmp_path, cli, "A4")
    stored = snapshot(folder)
    assert stored.version == 1
    assert sorted(stored.rows["ref"].to_list()) == ["A1", "A2", "A3", "A4"]
    _declare_unique(folder)
    again = cli(["--project", folder, "ingest", "incidents", march])
    assert again.exit_code == 0, again.output
    assert "Nothing changed" in again.stderr, again.stderr
    assert _versions(cli, folder) == [0, 1]
    assert snapshot(folder).same_as(stored)
    # And again: the check runs on every load of these files, still writing nothing.
    assert "Nothing changed" in cli(["--project", folder, "ingest", "incidents",
                                     march]).stderr
    assert _versions(cli, folder) == [0, 1]


def test_declaring_unique_still_refuses_an_id_the_stored_rows_hold(tmp_path, cli):
    """March's A1 was stored before `unique` was declared, beside January's A1: the same
    March file loaded again is refused, naming the row, and the table is as it was."""
    folder, march = _loaded_with_march(tmp_path, cli, "A1")
    stored = snapshot(folder)
    _declare_unique(folder)
    again = cli(["--project", folder, "ingest", "incidents", march])
    assert again.exit_code == 3, again.output
    assert "row 2" in again.stderr and "found 'A1', which the store already holds in " \
        "2025-01" in again.stderr, again.stderr
    assert _versions(cli, folder) == [0, 1]
    assert snapshot(folder).same_as(stored)


def test_declaring_unique_where_the_rows_change_makes_a_version(tmp_path, cli):
    """A blank id is a rejected row once `unique` is declared: the same file loaded with
    --skip-bad-rows stores one row fewer, a new version (hand count: A1, A3 of A1, blank,
    A3); a revised extract is a new version as before."""
    folder = _project(tmp_path / "p")
    extract = folder / "extracts" / "incidents.csv"
    extract.write_text("Ref,Date,LPA,Area,Victims\n"
                       "A1,2025-01-03,Dudley,North,1\n"
                       ",2025-01-09,Walsall,North,2\n"
                       "A3,2025-02-14,Dudley,South,1\n", encoding="utf-8")
    assert cli(["--project", folder, "ingest", "incidents"]).exit_code == 0
    assert snapshot(folder).rows.height == 3
    _declare_unique(folder)
    again = cli(["--project", folder, "ingest", "incidents", "--skip-bad-rows"])
    assert again.exit_code == 0, again.output
    assert "Nothing changed" not in again.stderr
    assert _versions(cli, folder) == [0, 1]
    assert sorted(snapshot(folder).rows["ref"].to_list()) == ["A1", "A3"]
    extract.write_text(EXTRACT.replace("A2,", "A5,"), encoding="utf-8")
    revised = cli(["--project", folder, "ingest", "incidents"])
    assert revised.exit_code == 0, revised.output
    assert _versions(cli, folder) == [0, 1, 2]
    assert sorted(snapshot(folder).rows["ref"].to_list()) == ["A1", "A3", "A5"]


def _declare_unique_on(folder: Path, column: str | None) -> None:
    """`unique` on `column` (None: no `unique`), in place of any declared before."""
    toml = folder / "kpi.toml"
    text = re.sub(r'(?m)^unique = "\w+"\n', "", toml.read_text(encoding="utf-8"))
    if column is not None:
        text = text.replace('date = "date"\n', f'date = "date"\nunique = "{column}"\n', 1)
    toml.write_text(text, encoding="utf-8")


def test_moving_or_removing_unique_writes_no_version_of_identical_rows(tmp_path, cli):
    """Only adding `unique` was recognised: moving it to another column, or removing it,
    changed the fingerprint, and the same files loaded again were stored as a new version of
    identical rows. `unique` only refuses rows, so where the same rows are refused (here
    none) the same extracts store the same rows: each move writes nothing, and a move runs
    the new column's check against the stored rows the load keeps."""
    folder = _project(tmp_path / "p")
    _declare_unique_on(folder, "ref")
    march = folder / "extracts" / "march.csv"
    march.write_text("Ref,Date,LPA,Area,Victims\nA4,2025-03-02,Dudley,North,3\n",
                     encoding="utf-8")
    assert cli(["--project", folder, "ingest", "incidents"]).exit_code == 0
    assert cli(["--project", folder, "ingest", "incidents", march]).exit_code == 0
    stored = snapshot(folder)
    assert stored.version == 1
    assert sorted(stored.rows["ref"].to_list()) == ["A1", "A2", "A3", "A4"]
    for column in ("victims", None, "ref", "victims"):
        _declare_unique_on(folder, column)
        again = cli(["--project", folder, "ingest", "incidents", march])
        assert again.exit_code == 0, (column, again.output)
        assert "Nothing changed" in again.stderr, (column, again.stderr)
        assert _versions(cli, folder) == [0, 1]
        assert snapshot(folder).same_as(stored)
    # March's victims (3) are not held in the months it keeps; January's 1 is (A1), and
    # moved to `victims`, a March file repeating it is refused, naming the row.
    march.write_text("Ref,Date,LPA,Area,Victims\nA4,2025-03-02,Dudley,North,1\n",
                     encoding="utf-8")
    refused = cli(["--project", folder, "ingest", "incidents", march])
    assert refused.exit_code == 3, refused.output
    assert "row 2" in refused.stderr and "which the store already holds" in refused.stderr
    assert _versions(cli, folder) == [0, 1]
    assert snapshot(folder).same_as(stored)


def test_moving_unique_where_other_rows_are_refused_makes_a_version(tmp_path, cli):
    """Under --skip-bad-rows a blank id is a rejected row: `unique` on `ref` rejects the row
    with no ref, on `place` the row with no LPA. One row is rejected either way, but not the
    same one, so the stored rows differ (hand count: A1, A3 and A4 stored, then A1 and the
    ref-less row in January, A4 in February) and the load is a new version, never "Nothing
    changed"."""
    folder = _project(tmp_path / "p")
    (folder / "extracts" / "incidents.csv").write_text(
        "Ref,Date,LPA,Area,Victims\n"
        "A1,2025-01-03,Dudley,North,1\n"
        ",2025-01-09,Walsall,North,2\n"
        "A3,2025-02-14,,South,1\n"
        "A4,2025-02-20,Sandwell,South,1\n", encoding="utf-8")
    _declare_unique_on(folder, "ref")
    first = cli(["--project", folder, "ingest", "incidents", "--skip-bad-rows"])
    assert first.exit_code == 0, first.output
    assert sorted(snapshot(folder).rows["ref"].to_list()) == ["A1", "A3", "A4"]
    _declare_unique_on(folder, "place")
    moved = cli(["--project", folder, "ingest", "incidents", "--skip-bad-rows"])
    assert moved.exit_code == 0, moved.output
    assert "Nothing changed" not in moved.stderr, moved.stderr
    assert _versions(cli, folder) == [0, 1]
    after = snapshot(folder).rows
    # Each month as the new load stores it: January's A1 and the ref-less row, February's
    # A4 (its A3, with no LPA, rejected). A month whose every row the load rejects is
    # refused, not kept as stored (tests/test_hostile_overlaps.py).
    assert sorted(after["ref"].fill_null("(blank)").to_list()) == ["(blank)", "A1", "A4"]
    assert sorted(after["place"].fill_null("(blank)").to_list()) == [
        "Dudley", "Sandwell", "Walsall"]


def test_another_sheet_of_the_same_workbook_is_another_load(tmp_path, cli):
    """A workbook's "Revised" sheet loaded with `--sheet` after its "Original" one read
    "Nothing changed" (the same bytes, months and counts), and the original rows stayed:
    24 burglaries where the revised sheet holds none, exit 0. What a load read is the
    workbook's bytes and the sheet; by hand, the revised sheet stores its two rows as
    thefts."""
    import openpyxl

    folder = _project(tmp_path / "p é")
    book = openpyxl.Workbook()
    original = book.active
    original.title = "Original"
    revised = book.create_sheet("Revised")
    for sheet, place in ((original, "Dudley"), (revised, "Walsall")):
        sheet.append(["Ref", "Date", "LPA", "Area", "Victims"])
        sheet.append(["A1", "2025-01-03", place, "North", 1])
        sheet.append(["A2", "2025-01-09", place, "North", 2])
    book.save(folder / "extracts" / "book.xlsx")
    for name in ("Original", "Revised"):
        done = cli(["--project", folder, "ingest", "incidents",
                    str(folder / "extracts" / "book.xlsx"), "--sheet", name])
        assert done.exit_code == 0, done.output
        assert "Nothing changed" not in done.stderr, done.stderr
        assert sorted(snapshot(folder).rows["place"].to_list()) == [
            {"Original": "Dudley", "Revised": "Walsall"}[name]] * 2
    assert _versions(cli, folder) == [0, 1]
    again = cli(["--project", folder, "ingest", "incidents",
                 str(folder / "extracts" / "book.xlsx"), "--sheet", "Revised"])
    assert again.exit_code == 0 and "Nothing changed" in again.stderr, again.output
