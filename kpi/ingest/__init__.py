"""Reading extracts: CSV, Parquet or Excel in, a checked frame of the dataset's columns out, and
one commit into the store.

The package is laid out as the load runs:

- `survey`: one pass over a file's bytes (sha256, encoding, NUL and binary checks);
- a reader per format (`csv_reader`, `parquet_reader`, `excel_reader`), each giving batches of
  raw rows with a way to number them as the file shows them;
- `conform`: maps each batch's columns onto the dataset's names, parses every value to its
  declared type and sets aside every failing row as FILE, row N, column C: expected X, found Y;
- `stage`: drives the readers and the conformer file by file, stages the good rows as Parquet,
  and runs the checks across files (overlapping months, gaps, `unique`);
- `commit`: the checks against the stored table under the load lock, one Delta commit with its
  provenance, and the quarantine file of rejected rows.

By default one bad row rejects the file; with skip_bad_rows the good rows load and the bad ones
are returned with their reasons for a quarantine file. Nothing writes to the store before the
commit: a load that fails at any point leaves it untouched (docs/guarantees.md).

Row numbers are the line numbers a text editor shows (the header is row 1; a record spanning
lines is numbered by its first line). In a Parquet file they are record numbers from 1. In a
workbook they are sheet rows, counted from the sheet's first non-empty row (the header, row 1).

The package's names load on first use (PEP 562): a caller that needs only a leaf, such as the
engine's `kpi.ingest.identity`, imports no reader.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kpi.ingest.commit import (
        LoadResult,
        columns_read_by_kpis,
        ensure_bundled_store,
        load,
        replaced_months,
        write_quarantine,
    )
    from kpi.ingest.common import COLUMN, FILE, REASON, ROW
    from kpi.ingest.conform import SANE_YEARS
    from kpi.ingest.stage import (
        Extract,
        check_unique_stored,
        describe_key,
        expand_sources,
        read_extracts,
        source_patterns,
        stage_extracts,
    )

_HOME = {
    **dict.fromkeys(("LoadResult", "columns_read_by_kpis", "ensure_bundled_store", "load",
                     "replaced_months", "write_quarantine"), "kpi.ingest.commit"),
    **dict.fromkeys(("COLUMN", "FILE", "REASON", "ROW"), "kpi.ingest.common"),
    "SANE_YEARS": "kpi.ingest.conform",
    **dict.fromkeys(("Extract", "check_unique_stored", "describe_key", "expand_sources",
                     "read_extracts", "source_patterns", "stage_extracts"), "kpi.ingest.stage"),
}

__all__ = [
    "COLUMN", "FILE", "REASON", "ROW", "SANE_YEARS", "Extract", "LoadResult",
    "check_unique_stored", "columns_read_by_kpis", "describe_key", "ensure_bundled_store",
    "expand_sources", "load", "read_extracts", "replaced_months", "source_patterns",
    "stage_extracts", "write_quarantine",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'kpi.ingest' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
