"""The one-streaming-query design's skeleton against the floor and `kpi ingest` (issue 20).

    python benchmarks/scale.py --generate-only 5000000 SCRATCH
    python benchmarks/partitioned_floor.py SCRATCH --rounds 3

The design named for reaching 1.5x the floor: one Polars streaming query per load, reading the
extract, conforming it with lazy expressions and writing one file per month with Polars'
partitioned sink (`sink_parquet(pl.PartitionBy(..., key=month))`). Before any conforming, its
reading and writing alone must fit in 1.5x the floor. For the CSV and the Parquet extract of a
folder that scale.py wrote, this runs alternately, each as its own process, the order reversed
every other round:

- "floor": `pl.scan_*(FILE).sink_parquet(OUT)`, one file;
- "by month": the same query with a month column (the recorded date's year and month) and a
  partitioned sink by it, the month left out of the files as kpi's month files leave it out,
  Snappy as kpi writes (the floor keeps Polars' default, zstd);
- "by month, 64K groups": the same with row groups of 65,536 rows;
- "kpi": `kpi ingest crimes FILE` into an empty store.

Prints each one's median wall and CPU time (user + system), its peak resident memory, the
files written and the CPU ratio to the floor; the rows written by month are checked equal to
the floor's. Removes what it wrote.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale  # noqa: E402

SCAN = {"csv": "scan_csv", "parquet": "scan_parquet"}
# The scale extract's column of the recorded date (scale.py writes it as its force would).
RECORDED = "Recorded Date"

BY_MONTH = """
import sys, polars as pl
scan, extract, out, groups = sys.argv[1:5]
frame = getattr(pl, scan)(extract)
date = pl.col({recorded!r})
if frame.collect_schema()[{recorded!r}] == pl.String:
    date = date.str.to_date("%d/%m/%Y", strict=False)
options = {{"row_group_size": int(groups)}} if int(groups) else {{}}
frame.with_columns(_month=date.dt.strftime("%Y-%m")).sink_parquet(
    pl.PartitionBy(out, key="_month", include_key=False), compression="snappy", mkdir=True,
    **options)
"""

FLOOR = "import sys, polars as pl; getattr(pl, sys.argv[1])(sys.argv[2]).sink_parquet(sys.argv[3])"

COUNT = ("import sys, polars as pl; from pathlib import Path; "
         "files = sorted(Path(sys.argv[1]).rglob('*.parquet')); "
         "print(len(files), sum(pl.scan_parquet(f).select(pl.len()).collect().item() "
         "for f in files))")
COUNT_STORED = ("import sys, deltalake; t = deltalake.DeltaTable(sys.argv[1]); "
                "n = t.get_add_actions(flatten=True).column('num_records').to_pylist(); "
                "print(len(n), sum(n))")


def written(target: Path, stored: bool = False) -> tuple[int, int]:
    """Files and rows under `target` (a folder of Parquet files, or a Delta table)."""
    text = subprocess.run([sys.executable, "-c", COUNT_STORED if stored else COUNT, str(target)],
                          capture_output=True, text=True, check=True).stdout.split()
    return int(text[0]), int(text[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder scale.py --generate-only wrote")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--formats", nargs="+", default=["csv", "parquet"])
    parser.add_argument("--kpi", default=shutil.which("kpi") or "kpi")
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    env = {**os.environ, "KPI_NO_CACHE": "1", "KPI_PROJECT": str(folder)}
    out = folder / "partitioned-floor"
    runs: dict[tuple[str, str], list[dict]] = {}
    files: dict[tuple[str, str], int] = {}
    for round_ in range(args.rounds):
        for fmt in args.formats:
            extract = folder / f"crimes.{fmt}"
            kinds = ["floor", "by month", "by month, 64K groups", "kpi"]
            for kind in kinds if round_ % 2 == 0 else kinds[::-1]:
                shutil.rmtree(out, ignore_errors=True)
                shutil.rmtree(folder / "data", ignore_errors=True)
                if kind == "kpi":
                    command = [args.kpi, "ingest", "crimes", str(extract)]
                elif kind == "floor":
                    out.mkdir()
                    command = [sys.executable, "-c", FLOOR, SCAN[fmt], str(extract),
                               str(out / "floor.parquet")]
                else:
                    groups = "65536" if "64K" in kind else "0"
                    command = [sys.executable, "-c", BY_MONTH.format(recorded=RECORDED),
                               SCAN[fmt], str(extract), str(out), groups]
                got = scale.run_measured(command, folder, env)
                got.pop("stdout", None)
                runs.setdefault((fmt, kind), []).append(got)
                count = (written(folder / "data" / "crimes", stored=True) if kind == "kpi"
                         else written(out))
                files[(fmt, kind)] = count[0]
                if kind == "floor":
                    files[(fmt, "rows")] = count[1]
                elif (fmt, "rows") in files and count[1] != files[(fmt, "rows")]:
                    raise SystemExit(f"{extract}: {kind} wrote {count[1]:,} rows, the floor "
                                     f"{files[(fmt, 'rows')]:,}")
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(folder / "data", ignore_errors=True)
    print("| extract | run | CPU | wall | peak RSS | files | CPU / floor |")
    print("|---|---|---|---|---|---|---|")
    for fmt in args.formats:
        floor_cpu = statistics.median(r["cpu_seconds"] for r in runs[(fmt, "floor")])
        for kind in ["floor", "by month", "by month, 64K groups", "kpi"]:
            got = runs[(fmt, kind)]
            cpu = [r["cpu_seconds"] for r in got]
            wall = [r["seconds"] for r in got]
            peak = [r["peak_mib"] for r in got]
            print(f"| {fmt} | {kind} | {', '.join(f'{c:.2f}' for c in sorted(cpu))} s "
                  f"| {min(wall):.2f}-{max(wall):.2f} s | {min(peak):,}-{max(peak):,} MiB "
                  f"| {files[(fmt, kind)]} | {statistics.median(cpu) / floor_cpu:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
