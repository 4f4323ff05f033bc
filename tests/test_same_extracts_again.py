"""Loading the same extracts again writes no new version unless a setting that decides what
they are stored as changed (docs/guarantees.md, "A revised extract replaces the months it
covers"; docs/own-project.md, "Next month").

The expected rows are the extract's, counted by hand; the versions are read from Delta's own
log (`hostile_support.snapshot`), not from kpi's store module."""

from __future__ import annotations

import json
from pathlib import Path

from hostile_support import snapshot

from kpi.ingest import commit

EXTRACT = ("Ref,Date,LPA,Area,Victims\n"
           "A1,2025-01-03,Dudley,North,1\n"
           "A2,2025-01-09,Walsall,North,2\n"
           "A3,2025-02-14,Dudley,South,1\n")

TOML = """\
[project]
name = "Loads again"
baseline = "2025-01"

[datasets.incidents]
date = "date"
description = "{description}"
sources = [{sources}]
published = "{published}"

[datasets.incidents.columns]
ref = {{ type = "str", from = ["Ref"] }}
date = {{ type = "date", from = ["Date"] }}
place = {{ type = "str", from = ["{place}"], label = "{label}" }}
victims = {{ type = "int", from = ["Victims"] }}

[datasets.incidents.derived]
{derived}

[[priorities]]
id = "safety"
title = "Safety"

[[kpis]]
id = "incidents"
title = "Incidents recorded"
priority = "safety"
kind = "count"
dataset = "incidents"
better = "lower"
"""

FIRST = {"description": "Incidents", "sources": '"extracts/incidents.csv"',
         "published": "monthly", "place": "LPA", "label": "local policing area",
         "derived": 'many = "victims > 1"'}


def _project(folder: Path, **settings: str) -> Path:
    (folder / "extracts").mkdir(parents=True, exist_ok=True)
    (folder / "extracts" / "incidents.csv").write_text(EXTRACT, encoding="utf-8")
    _declare(folder, **settings)
    return folder


def _declare(folder: Path, **settings: str) -> None:
    (folder / "kpi.toml").write_text(TOML.format(**{**FIRST, **settings}), encoding="utf-8")


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
    _declare(folder, sources='"extracts/incident?.csv"',
             description="Incidents recorded by the force", published="quarterly",
             label="policing area", derived='many = "victims > 2"\nsolo = "victims = 1"')
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
        patched.setattr(commit, "_spec_fingerprint", commit._declared_fingerprint)
        assert cli(["--project", folder, "ingest", "incidents"]).exit_code == 0
    again = cli(["--project", folder, "ingest", "incidents"])
    assert again.exit_code == 0 and "Nothing changed" in again.stderr, again.output
    assert _versions(cli, folder) == [0]
