"""The bundled sample: found without a project, and its store keyed by the sample's contents."""

from __future__ import annotations

import json
import shutil

from kpi import catalogue


def test_without_a_project_the_bundled_sample_is_used(tmp_path):
    project = catalogue.load_project(cwd=tmp_path)
    assert project.bundled
    assert project.path == catalogue.bundled_project_dir() / "kpi.toml"
    assert project.data_dir == catalogue.bundled_store_dir()
    assert len(project.priorities) == 9


def test_store_folder_follows_the_sample_contents(tmp_path, monkeypatch):
    """A regenerated or upgraded sample gets a store of its own, never a stale one."""
    copy = tmp_path / "west-midlands"
    shutil.copytree(catalogue.bundled_project_dir(), copy,
                    ignore=shutil.ignore_patterns("extracts"))
    monkeypatch.setattr(catalogue, "bundled_project_dir", lambda: copy)
    monkeypatch.setenv("KPI_CACHE_DIR", str(tmp_path / "cache"))
    first = catalogue.bundled_store_dir()
    assert first == catalogue.bundled_store_dir()  # stable
    assert first.parent == tmp_path / "cache"
    (copy / "reference" / "harm-weights.csv").write_text("key,weight\nx,1\n")
    assert catalogue.bundled_store_dir() != first


def test_a_load_into_the_bundled_sample_is_kept(cli, tmp_path, monkeypatch):
    """Ingesting into the sample before its store exists builds the store first, so the load is
    not lost when the store is built."""
    monkeypatch.setenv("KPI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KPI_NO_CACHE", "1")
    monkeypatch.chdir(tmp_path)
    revised = tmp_path / "asb-categories-2025-09.csv"
    revised.write_text("Month,ASB Category,Incidents\n01/09/2025,Nuisance,1\n"
                       "01/09/2025,Personal,2\n01/09/2025,Environmental,3\n")
    assert cli(["ingest", "asb_categories", revised]).exit_code == 0
    listed = cli(["datasets", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    versions = {d["dataset"]: d["version"] for d in json.loads(listed.stdout)}
    assert versions["asb_categories"] == 1 and versions["crimes"] == 0
    history = cli(["history", "asb_categories", "--format", "json"])
    assert [v["sources"][0]["file"] for v in json.loads(history.stdout)] == [
        "asb-categories.csv", "asb-categories-2025-09.csv"]
