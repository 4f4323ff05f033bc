"""Another engine reads the store: DuckDB's Delta extension scans a table kpi wrote and
counts what kpi counts. The test extra pins DuckDB with the matching release of the extension
(`duckdb-extension-delta`, published per DuckDB version), so it runs with the README's test
command; with another DuckDB and no matching extension it is skipped, saying which to install."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb")

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _delta_connection():
    """A DuckDB connection with the delta extension loaded, or None."""
    connection = duckdb.connect()
    spec = importlib.util.find_spec("duckdb_extension_delta")
    if spec is not None and spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations)))
        binary = folder / "extensions" / f"v{duckdb.__version__}" / "delta.duckdb_extension"
        if binary.exists():
            connection.execute(f"LOAD '{binary}'")
            return connection
    try:
        connection.execute("LOAD delta")  # installed by DuckDB itself (INSTALL delta)
    except duckdb.Error:
        return None
    return connection


def test_duckdb_delta_extension_reads_kpis_table(tmp_path):
    connection = _delta_connection()
    if connection is None:
        pytest.skip(f"DuckDB's delta extension is not installed for DuckDB "
                    f"{duckdb.__version__} (pip install "
                    f"duckdb-extension-delta=={duckdb.__version__})")
    from kpi import store
    from kpi.catalogue import load_project
    from kpi.ingest import load

    root = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    project = load_project(root / "kpi.toml")
    load(project, "crimes", None)
    table = root / "data" / "crimes"
    rows = connection.execute(f"SELECT count(*) FROM delta_scan('{table}')").fetchall()[0][0]
    assert rows == store.row_count(project, "crimes") == 849
    by_month = dict(connection.execute(
        f"SELECT month, count(*) FROM delta_scan('{table}') GROUP BY month").fetchall())
    stored = store.scan(project, "crimes").group_by("month").len().collect()
    assert by_month == dict(stored.iter_rows())
