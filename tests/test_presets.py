"""kpi init --preset: ready projects copied out of the package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kpi.catalogue import parse_project_file
from kpi.presets import PRESETS, preset_dir

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_a_valid_project(name):
    project = parse_project_file(preset_dir(name) / "kpi.toml")
    assert project.kpis


def test_unknown_preset_and_existing_project_are_usage_errors(cli, tmp_path):
    unknown = cli(["init", "--preset", "nope", tmp_path / "x"])
    assert unknown.exit_code == 2 and "unknown preset 'nope'" in unknown.output
    assert not (tmp_path / "x").exists()
    (tmp_path / "y").mkdir()
    (tmp_path / "y" / "kpi.toml").write_text("# mine\n")
    taken = cli(["init", "--preset", "home-office-prc", tmp_path / "y"])
    assert taken.exit_code == 2 and "already exists" in taken.output
    assert (tmp_path / "y" / "kpi.toml").read_text() == "# mine\n"


def test_west_midlands_copy_is_an_editable_project_with_the_samples_figures(cli, tmp_path,
                                                                           sample_paper):
    result = cli(["init", "--preset", "west-midlands", tmp_path / "wm"])
    assert result.exit_code == 0, result.output
    copy = tmp_path / "wm"
    assert not (copy / "generate.py").exists()
    assert (copy / "kpi.toml").read_bytes() == \
        (REPO / "datasets" / "west-midlands" / "kpi.toml").read_bytes()
    mine = json.loads(cli(["--project", copy, "summary", "--period", "2025-09",
                           "--format", "json"]).stdout)
    bundled = json.loads(sample_paper["summary"].read_text(encoding="utf-8"))
    assert mine["kpis"] == bundled["kpis"]
    assert (copy / "data" / "crimes" / "_delta_log").is_dir()
