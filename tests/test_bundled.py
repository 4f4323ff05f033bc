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
                    ignore=shutil.ignore_patterns("extracts", "data"))
    monkeypatch.setattr(catalogue, "bundled_project_dir", lambda: copy)
    monkeypatch.setenv("KPI_CACHE_DIR", str(tmp_path / "cache"))
    first = catalogue.bundled_store_dir()
    assert first == catalogue.bundled_store_dir()  # stable
    assert first.parent == tmp_path / "cache"
    (copy / "reference" / "harm-weights.csv").write_text("key,weight\nx,1\n")
    assert catalogue.bundled_store_dir() != first


def test_nothing_writes_into_the_bundled_sample(cli, tmp_path, monkeypatch):
    """`kpi ingest` (and vacuum) outside a project, or with --project sample, is refused
    with a hint: the sample is kpi's, not a place to load a force's extracts."""
    monkeypatch.setenv("KPI_NO_CACHE", "1")
    monkeypatch.chdir(tmp_path)
    revised = tmp_path / "asb-categories-2025-09.csv"
    revised.write_text("Month,ASB Category,Incidents\n01/09/2025,Nuisance,1\n")
    for args in (["ingest", "asb_categories", revised], ["vacuum"]):
        result = cli(["--project", "sample", *args])
        assert result.exit_code == 2
        assert result.stderr.splitlines() == [
            f"Error: kpi {args[0]} does not change the bundled sample",
            "Hint: start a project of your own: 'kpi init FOLDER', or 'kpi init --preset "
            "west-midlands FOLDER' for a copy of the sample"]
    listed = cli(["--project", "sample", "datasets", "--format", "json"])
    assert {d["version"] for d in json.loads(listed.stdout)} == {0}


def _run(cwd, *args, env=None):
    """`python -m kpi ARGS` in `cwd`, as a process would answer it, run in this one
    (tests/inprocess.py): what is checked is the answer, not the process."""
    import os

    import inprocess

    base = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")
            or k == "KPI_CACHE_DIR"}
    return inprocess.run(args, cwd=cwd, env={**base, "KPI_NO_CACHE": "1", **(env or {})})


def test_outside_a_project_the_sample_is_used_only_when_asked(tmp_path):
    """A scheduled job started in the wrong folder fails; asked by name it gets the sample."""
    refused = _run(tmp_path, "summary", "--period", "2025-09", "--format", "json")
    assert refused.returncode == 3 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        f"Error: no kpi.toml in {tmp_path} or any folder above it",
        "Hint: run kpi in a project folder, or pass --project FOLDER (--project sample for "
        "the bundled sample)"]
    by_option = _run(tmp_path, "summary", "--period", "2025-09", "--format", "json",
                     "--project", "sample")
    by_env = _run(tmp_path, "summary", "--period", "2025-09", "--format", "json",
                  env={"KPI_PROJECT": "sample"})
    assert by_option.returncode == by_env.returncode == 0, by_option.stderr
    assert json.loads(by_option.stdout) == json.loads(by_env.stdout)
    assert json.loads(by_option.stdout)["period"] == "2025-09"
    assert "Using the bundled" not in by_option.stderr


def test_on_a_terminal_the_sample_is_used_with_a_note(tmp_path):
    import os
    import subprocess
    import sys

    pty = __import__("pytest").importorskip("pty")
    leader, follower = pty.openpty()
    base = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")
            or k == "KPI_CACHE_DIR"}
    process = subprocess.Popen([sys.executable, "-m", "kpi", "catalogue", "--format", "json"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=follower,
                               env={**base, "KPI_NO_CACHE": "1"})
    os.close(follower)
    out, _ = process.communicate(timeout=300)
    note = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        note += chunk
    os.close(leader)
    assert process.returncode == 0
    assert json.loads(out)["project"].startswith("West Midlands")
    assert note.decode().replace("\r\n", " ").split() == (
        f"Using the bundled West Midlands sample: no kpi.toml in {tmp_path} or above "
        "(--project sample says so; 'kpi init' starts a project)").split()


def test_sample_names_the_bundled_sample_unless_a_folder_has_that_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert catalogue.find_project_file("sample")[1] is True
    (tmp_path / "sample").mkdir()
    with __import__("pytest").raises(catalogue.UsageError) as caught:
        catalogue.find_project_file("sample")
    assert "names both the bundled sample" in caught.value.message
