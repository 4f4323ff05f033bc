"""`kpi ingest` against the floor: plain Polars reading the same file and writing Parquet.

    python benchmarks/scale.py --generate-only 5000000 SCRATCH
    python benchmarks/ingest_floor.py SCRATCH --rounds 3

For the CSV and the Parquet extract of a folder that scale.py wrote, runs alternately, each
as its own process: `kpi ingest crimes FILE` into an empty store, and the floor,
`pl.scan_csv(FILE).sink_parquet(OUT)` (or `scan_parquet`). Prints the median wall time and
peak resident memory of each (GNU time's maximum RSS when /usr/bin/time is there, else the
kernel's figure from os.wait4) and the ratios kpi / floor. Removes what it wrote.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GNU_TIME = Path("/usr/bin/time")


def run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak MiB of one process, writing and reading bytecode as an installed
    package does (see `scale.run_measured`)."""
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        if GNU_TIME.exists():
            command = [str(GNU_TIME), "-f", "%M", "-o", report.name, *command]
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        error = process.stderr.read().decode() if process.stderr else ""
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{error}")
        text = Path(report.name).read_text().strip().splitlines()
        kib = int(text[-1]) if GNU_TIME.exists() and text else usage.ru_maxrss
    return seconds, kib / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder scale.py --generate-only wrote")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--formats", nargs="+", default=["csv", "parquet"])
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    env = {**os.environ, "KPI_NO_CACHE": "1", "KPI_PROJECT": str(folder)}
    scan = {"csv": "scan_csv", "parquet": "scan_parquet"}
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for fmt in args.formats:
            extract = folder / f"crimes.{fmt}"
            shutil.rmtree(folder / "data", ignore_errors=True)
            results.setdefault((fmt, "kpi"), []).append(
                run(["kpi", "ingest", "crimes", str(extract)], folder, env))
            shutil.rmtree(folder / "data", ignore_errors=True)
            out = folder / "floor.parquet"
            code = (f"import polars as pl; pl.{scan[fmt]}({str(extract)!r})"
                    f".sink_parquet({str(out)!r})")
            results.setdefault((fmt, "floor"), []).append(
                run([sys.executable, "-c", code], folder, env))
            out.unlink(missing_ok=True)
    print("| extract | kpi ingest | floor (Polars scan → sink_parquet) | time kpi / floor |")
    print("|---|---|---|---|")
    for fmt in args.formats:
        kpi = results[(fmt, "kpi")]
        floor = results[(fmt, "floor")]
        k_time, k_mem = statistics.median(t for t, _ in kpi), max(m for _, m in kpi)
        f_time, f_mem = statistics.median(t for t, _ in floor), max(m for _, m in floor)
        print(f"| {fmt} | {k_time:.1f} s, {k_mem:,.0f} MiB | {f_time:.1f} s, {f_mem:,.0f} MiB "
              f"| {k_time / f_time:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
