"""The bundled sample: found without a project, and its store keyed by the sample's contents."""

from __future__ import annotations

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
