"""Where an ingest spends its time and memory: each phase of `kpi ingest`, timed in turn.

Run by hand on an extract and project that scale.py wrote (see benchmarks/README.md):

    python benchmarks/scale.py --generate-only 5000000 /some/scratch/folder
    python benchmarks/ingest_phases.py /some/scratch/folder/kpi.toml crimes.csv

It calls the same functions `kpi ingest` calls, in the same order, into a fresh store under a
temporary folder, and prints each phase's wall time and the process's peak resident memory
after it (ru_maxrss only rises, so a phase that raises it is one that holds more at once).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Time each phase of loading one extract; print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="the kpi.toml to load with")
    parser.add_argument("extract", help="the extract, relative to the project's folder")
    parser.add_argument("--dataset", default="crimes")
    args = parser.parse_args(argv)

    import polars as pl

    from kpi import ingest, store
    from kpi.catalogue import load_project

    project = load_project(args.project)
    path = project.path.parent / args.extract
    spec = store.dataset_spec(project, args.dataset)
    rows: list[tuple[str, float, int]] = []
    clock = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        rows.append((name, now - clock, peak))
        clock = now

    raw = ingest._read_bytes(path)
    phase("read the file into memory")
    ingest.hashlib.sha256(raw).hexdigest()
    phase("sha256 of the file")
    table, _, _ = ingest._read_table(path, raw)
    phase("parse (Arrow CSV reader / Parquet reader)")
    good, bad, _ = ingest._conform(spec, path, table, [],
                                   from_csv=not ingest._is_parquet(path, raw))
    phase("map, type and check every value (_conform)")
    frame = good.with_columns(pl.lit(str(path)).alias(ingest.FILE))
    ingest._check_unique(spec, frame, {}, {})
    phase("unique id check")
    frame = frame.drop(ingest.ROW, ingest.FILE)
    months = sorted(frame["month"].unique().to_list())
    phase("months covered")
    scratch = Path(tempfile.mkdtemp(prefix="kpi-phases-"))
    try:
        staging = replace(project, data_dir=scratch)
        store.replace_months(staging, args.dataset, frame,
                             {"rows": frame.height, "months": months})
        phase("write the Delta table (replace_months)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    total = sum(seconds for _, seconds, _ in rows)
    print(f"{path.name}: {frame.height:,} rows, {len(bad):,} rejected\n")
    print("| phase | seconds | share | peak RSS after |")
    print("|---|---|---|---|")
    for name, seconds, peak in rows:
        print(f"| {name} | {seconds:.2f} | {seconds / total:.0%} | {peak:,} MiB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
