"""A year of nightly loads: 400 re-loads of revised months into one dataset, then `kpi vacuum`.

Run by hand (never by the test suite); see benchmarks/README.md.

    python benchmarks/nightly.py --rows 200000 --loads 400

Builds the scale benchmark's project (benchmarks/scale.py) with ROWS crimes over 30 months and
loads them. Then, each "night", it re-loads the two latest months as a revised extract (one
crime fewer each night, so every load is a real change and a new Delta commit with new files),
through the same `ingest.load` that `kpi ingest` calls. At chosen nights it measures, each as
its own process: the uncached `kpi summary` (median of three, wall and CPU seconds) beside
`python -c "import polars, deltalake"` run alternately with it (so the ratio between the two
holds whatever else the machine is doing), `kpi history`, and the store's data files, their size
and the Delta log's files. After the last night it runs `kpi vacuum --keep-days 0` and measures
again.

With --vacuum-every N the scheduled job also runs `kpi vacuum --keep-days 0` (the same
`maintenance.vacuum`) after every Nth load, as docs/performance.md recommends: the store then
stays the size of its latest version.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale  # noqa: E402


def store_size(table: Path) -> dict[str, int]:
    files = [p for p in table.rglob("*") if p.is_file()]
    data = [p for p in files if "_delta_log" not in p.parts and p.suffix == ".parquet"]
    log = [p for p in files if "_delta_log" in p.parts]
    return {"data_files": len(data), "data_mib": round(sum(p.stat().st_size for p in data)
                                                       / 2**20, 1),
            "log_files": len(log), "log_mib": round(sum(p.stat().st_size for p in log)
                                                     / 2**20, 1)}


def timed(cmds: list[list[str]], cwd: Path, env: dict[str, str],
          rounds: int = 3) -> list[tuple[float, float]]:
    """Median wall and CPU seconds of each command, the commands run alternately."""
    walls: list[list[float]] = [[] for _ in cmds]
    cpus: list[list[float]] = [[] for _ in cmds]
    for _ in range(rounds):
        for index, cmd in enumerate(cmds):
            got = scale.run_measured(cmd, cwd, env)
            walls[index].append(got["seconds"])
            cpus[index].append(got["cpu_seconds"])
    return [(statistics.median(w), statistics.median(c)) for w, c in zip(walls, cpus,
                                                                           strict=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--loads", type=int, default=400)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--vacuum-every", type=int, default=0, metavar="N",
                        help="run kpi vacuum --keep-days 0 after every Nth load (default: never)")
    args = parser.parse_args(argv)
    import polars as pl

    from kpi.catalogue import load_project
    from kpi.ingest import load
    from kpi.maintenance import vacuum

    kpi = shutil.which("kpi") or sys.exit("kpi is not on PATH: install the package first")
    own = args.workdir is None
    folder = Path(tempfile.mkdtemp(prefix="kpi-nightly-")) if own else args.workdir
    env = {**os.environ, "KPI_NO_CACHE": "1", "NO_COLOR": "1", "COLUMNS": "160"}
    env.pop("KPI_PROJECT", None)
    table = folder / "data" / "crimes"
    lines = ["| after | data files | data MiB | log files | log MiB | `kpi summary` wall, CPU | "
             "import, CPU | summary / import, CPU | `kpi history` |",
             "|---|---|---|---|---|---|---|---|---|"]

    def measure(label: str) -> None:
        size = store_size(table)
        (wall, cpu), (_, floor) = timed([[kpi, "summary", "--period", scale.PERIOD],
                                         [sys.executable, "-c", "import polars, deltalake"]],
                                        folder, env)
        [(history, _)] = timed([[kpi, "history", "crimes"]], folder, env, rounds=1)
        lines.append(f"| {label} | {size['data_files']:,} | {size['data_mib']:,} | "
                     f"{size['log_files']:,} | {size['log_mib']:,} | {wall:.2f} s, {cpu:.2f} s "
                     f"| {floor:.2f} s | {cpu / floor:.1f} | {history:.2f} s |")
        print(lines[-1], file=sys.stderr, flush=True)

    try:
        subprocess.run([sys.executable, scale.__file__, "--generate-only", str(args.rows),
                        str(folder)], check=True)
        os.chdir(folder)
        project = load_project(folder / "kpi.toml")
        load(project, "crimes", [str(folder / "crimes.parquet")])
        crimes = pl.read_parquet(folder / "crimes.parquet")
        recent = crimes.filter(pl.col("Recorded Date") >= pl.date(2025, 8, 1))
        measure("first load")
        checkpoints = {1, 100, 200, args.loads}
        for night in range(1, args.loads + 1):
            revised = folder / "revised.parquet"
            recent.slice(night).write_parquet(revised)  # one crime fewer each night
            load(project, "crimes", [str(revised)])
            if args.vacuum_every and night % args.vacuum_every == 0:
                vacuum(project, "crimes", keep_days=0)
            if night in checkpoints:
                measure(f"{night} nightly loads")
        start = time.perf_counter()
        subprocess.run([kpi, "vacuum", "--keep-days", "0"], cwd=folder, env=env, check=True)
        print(f"kpi vacuum: {time.perf_counter() - start:.1f} s", file=sys.stderr)
        measure("`kpi vacuum --keep-days 0`")
    finally:
        if own:
            shutil.rmtree(folder, ignore_errors=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
