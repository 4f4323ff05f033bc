"""Shared fixtures: an isolated cache for the bundled sample, and a CLI runner."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

# The bundled sample's store is built on first use; build it once per run, away from $HOME.
if not os.environ.get("KPI_CACHE_DIR"):
    os.environ["KPI_CACHE_DIR"] = tempfile.mkdtemp(prefix="kpi-test-cache-")
os.environ.pop("KPI_PROJECT", None)
os.environ.pop("KPI_FORMAT", None)
os.environ["NO_COLOR"] = "1"

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def cli():
    """Run the CLI in-process: cli(["summary", "--period", "2025-09"]) -> result."""
    from kpi.cli import app

    runner = CliRunner()

    def run(args: list[str], **kwargs):
        return runner.invoke(app, [str(a) for a in args], **kwargs)

    return run
