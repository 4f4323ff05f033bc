"""Where an ingest spends its time and memory: each phase of `kpi ingest`, timed in turn.

Run by hand on an extract and project that scale.py wrote (see benchmarks/README.md):

    python benchmarks/scale.py --generate-only 5000000 /some/scratch/folder
    python benchmarks/ingest_phases.py /some/scratch/folder/kpi.toml crimes.csv

It calls the same functions `kpi ingest` calls, in the same order, into a fresh store under a
temporary folder, and prints each phase's wall time, its CPU time (the process's user and
system time: on a shared machine the figure load disturbs least) and the process's peak
resident memory after it (ru_maxrss only rises, so a phase that raises it is one that holds
more at once). Parsing and conforming alternate batch by batch, so their times are summed
over the batches. A CSV file's next batch is parsed on a second thread while the one before is
conformed (kpi.ingest.csv_reader), so "parse" is the time spent waiting for it, and the CPU
the parsing thread spends is counted in whichever phase runs beside it (mostly the conforming).
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
    from kpi.ingest import csv_reader, identity, parquet_reader, stage
    from kpi.ingest import survey as survey_mod

    project = load_project(args.project)
    path = project.path.parent / args.extract
    spec = store.dataset_spec(project, args.dataset)
    rows: list[tuple[str, float, float, int]] = []

    def peak() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def record(name: str, seconds: float, cpu_seconds: float) -> None:
        rows.append((name, seconds, cpu_seconds, peak()))

    scratch = Path(tempfile.mkdtemp(prefix="kpi-phases-"))
    try:
        staging = scratch / "staging"
        staging.mkdir()
        clock, used = time.perf_counter(), cpu()
        survey = survey_mod._survey(path)
        record("read the file in blocks: sha256, encoding, NUL", time.perf_counter() - clock,
               cpu() - used)
        sink = stage._Sink(spec, staging, tuple(identity.identity_columns(project, spec)),
                           hold=False)
        state = stage._FileState(spec=spec, path=path, index=0, sink=sink,
                                 measured=ingest.columns_read_by_kpis(project, args.dataset),
                                 keep_bad=False)
        clock, used = time.perf_counter(), cpu()
        if survey_mod._is_parquet(path, survey.head):
            state.from_csv = False
            batches, numbering = parquet_reader._parquet_batches(path, survey, state)
        else:
            batches, numbering = csv_reader._csv_batches(path, survey, staging, 0, state)
        parse = conform = parse_cpu = conform_cpu = 0.0
        while True:
            clock, used = time.perf_counter(), cpu()
            batch = next(batches, None)
            parse += time.perf_counter() - clock
            parse_cpu += cpu() - used
            if batch is None:
                break
            clock, used = time.perf_counter(), cpu()
            state.add(batch)
            conform += time.perf_counter() - clock
            conform_cpu += cpu() - used
        clock, used = time.perf_counter(), cpu()
        state.finish()
        extract = ingest.Extract(rows=state.good, rejected=pl.DataFrame(),
                                 covered=state.covered(), files=[str(path)],
                                 numberings={str(path): numbering})
        sink.finish(extract)
        conform += time.perf_counter() - clock
        conform_cpu += cpu() - used
        record("parse (Arrow's streaming CSV reader / Parquet batches)", parse, parse_cpu)
        record("map, type and check each batch, write each month's data file", conform,
               conform_cpu)
        clock, used = time.perf_counter(), cpu()
        if spec.unique:
            stage._check_unique(spec, extract)
        record("unique id check (the ids held, or their hashes staged a share at a time)",
               time.perf_counter() - clock, cpu() - used)
        clock, used = time.perf_counter(), cpu()
        target = replace(project, data_dir=scratch / "data", bundled=True)  # a scratch store
        identity.check_identity(project, spec, extract, None)
        store.replace_months(target, args.dataset, extract.data, extract.keys,
                             {"rows": extract.rows, "months": extract.months})
        record("identity check, move the data files into the table, one Delta commit",
               time.perf_counter() - clock, cpu() - used)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    total = sum(seconds for _, seconds, _, _ in rows)
    total_cpu = sum(cpu_seconds for _, _, cpu_seconds, _ in rows)
    print(f"{path.name}: {state.good:,} rows, {state.bad_count:,} rejected, "
          f"{sum(len(f) for f in extract.data.values())} data files\n")
    print("| phase | seconds | share | CPU seconds | CPU share | peak RSS after |")
    print("|---|---|---|---|---|---|")
    for name, seconds, cpu_seconds, peak_mib in rows:
        print(f"| {name} | {seconds:.2f} | {seconds / total:.0%} | {cpu_seconds:.2f} "
              f"| {cpu_seconds / total_cpu:.0%} | {peak_mib:,} MiB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
