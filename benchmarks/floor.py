"""The floor: kpi's uncached summary against the same 20 KPIs written by hand in Polars (twice:
as one query over the table's files, and as the leanest query, over only the files of the months
the windows read) and in DuckDB SQL, over the same stored Parquet files; values checked equal,
then timed.

Run by hand (never by the test suite); see benchmarks/README.md.

    python benchmarks/floor.py --rows 5000000 10000000 --rounds 5

For each N it builds the benchmark's national store (benchmarks/scale.py: the synthetic extract,
its kpi.toml, one `kpi ingest` of the Parquet file), then:

1. runs each of the four once and checks that every KPI's value agrees in both windows
   (relative difference under 1e-9); a disagreement stops the run, since a faster wrong answer
   is no answer;
2. runs them `--rounds` times, alternated (kpi, Polars, lean Polars, DuckDB, kpi, ...), each
   as its own process under GNU time, and prints the median wall time, CPU time and peak
   memory of each and kpi's ratio to each floor, taken within the one run, which load on a
   shared machine affects alike.

`python -c "import polars, deltalake"` is timed alongside: the fixed start-up cost every kpi
command pays.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale  # noqa: E402  (the extract, the project and the measuring are shared)

CURRENT = ("2024-10", "2025-09")   # year ending September 2025
BASELINE = ("2023-04", "2024-03")  # the plan baseline, year ending March 2024
YOY = ("2023-10", "2024-09")       # shoplifting_yoy's comparison: a year earlier

# The hand-written Polars query: the 20 KPIs in both windows, one lazy query, masks built once.
POLARS_SCRIPT = r'''
import json, sys
import polars as pl

glob, weights_path = sys.argv[1], sys.argv[2]
CUR, BASE, YOY = ("2024-10", "2025-09"), ("2023-04", "2024-03"), ("2023-10", "2024-09")
POSITIVE = ["OC1", "OC1A", "OC2", "OC2A", "OC3", "OC3A", "OC4", "OC5", "OC8", "OC9", "OC22"]
weights = pl.read_csv(weights_path)
lookup = dict(zip(weights["offence"], weights["weight"]))
month = pl.col("month")
frame = (pl.scan_parquet(glob, hive_partitioning=True)
         .filter(month.is_between(pl.lit(BASE[0]), pl.lit(CUR[1])))
         .with_columns(cur=month.is_between(*map(pl.lit, CUR)),
                       base=month.is_between(*map(pl.lit, BASE)),
                       yoy=month.is_between(*map(pl.lit, YOY))))
offence, outcome, days = pl.col("offence"), pl.col("outcome"), pl.col("days_to_outcome")
knife = pl.col("knife")

def window(w):
    m = pl.col(w)
    return [
        m.sum().alias(f"total_crime/{w}"),
        (m & (offence == "Violence with injury")).sum().alias(f"violence_with_injury/{w}"),
        (m & knife).sum().alias(f"knife_crime/{w}"),
        (m & pl.col("domestic")).sum().alias(f"domestic_abuse/{w}"),
        (m & (offence == "Robbery")).sum().alias(f"robbery/{w}"),
        (m & offence.is_in(["Burglary", "Robbery", "Vehicle offences", "Theft from the person"]))
        .sum().alias(f"neighbourhood_crime/{w}"),
        pl.col("loss_gbp").filter(m).sum().alias(f"fraud_loss/{w}"),
        (m & outcome.is_in(POSITIVE)).sum().alias(f"positive/{w}"),
        (m & outcome.is_in(["OC1", "OC1A"])).sum().alias(f"charge/{w}"),
        (m & (outcome == "OC15")).sum().alias(f"oc15/{w}"),
        (m & outcome.is_not_null()).sum().alias(f"outcomes/{w}"),
        (m & (days <= 30)).sum().alias(f"within/{w}"),
        (m & days.is_not_null()).sum().alias(f"days_n/{w}"),
        days.filter(m).sum().alias(f"days_sum/{w}"),
        days.filter(m).median().alias(f"median_days_to_outcome/{w}"),
        days.filter(m).quantile(0.9, "linear").alias(f"p90_days_to_outcome/{w}"),
        days.filter(m & knife).median().alias(f"median_knife_days/{w}"),
        offence.replace_strict(lookup, default=0.0, return_dtype=pl.Float64).filter(m).sum()
        .alias(f"harm_score/{w}"),
        (m & (pl.col("ethnicity") == "Black")).sum().alias(f"black/{w}"),
        (m & (pl.col("ethnicity") == "White")).sum().alias(f"white/{w}"),
    ]

shop = offence == "Shoplifting"
row = frame.select(*window("cur"), *window("base"),
                   (pl.col("cur") & shop).sum().alias("shop/cur"),
                   (pl.col("yoy") & shop).sum().alias("shop/yoy")).collect().row(0, named=True)
out = {}
for w in ("cur", "base"):
    g = lambda name: row[f"{name}/{w}"]
    out.update({f"{k}/{w}": g(k) for k in (
        "total_crime", "violence_with_injury", "knife_crime", "domestic_abuse", "robbery",
        "neighbourhood_crime", "fraud_loss", "median_days_to_outcome", "p90_days_to_outcome",
        "median_knife_days", "harm_score")})
    out[f"positive_outcome_rate/{w}"] = 100 * g("positive") / g("total_crime")
    out[f"charge_rate/{w}"] = 100 * g("charge") / g("total_crime")
    out[f"oc15_share/{w}"] = 100 * g("oc15") / g("outcomes")
    out[f"outcome_within_30_days/{w}"] = 100 * g("within") / g("days_n")
    out[f"mean_days_to_outcome/{w}"] = g("days_sum") / g("days_n")
    out[f"crime_per_1000/{w}"] = 1000 * g("total_crime") / 67_000_000
    out[f"victim_disproportionality/{w}"] = (g("black") / 2_400_000) / (g("white") / 55_000_000)
    out[f"knife_share/{w}"] = 100 * g("knife_crime") / g("total_crime")
out["shoplifting_yoy/cur"], out["shoplifting_yoy/base"] = row["shop/cur"], row["shop/yoy"]
print(json.dumps(out))
'''

# The leanest hand-written Polars query: the same KPIs over only the files of the months the
# windows read (listed from the table's month folders, so nothing else is even opened).
LEAN_POLARS_SCRIPT = POLARS_SCRIPT.replace(
    "frame = (pl.scan_parquet(glob, hive_partitioning=True)\n"
    "         .filter(month.is_between(pl.lit(BASE[0]), pl.lit(CUR[1])))\n",
    "import glob as globbing, os\n"
    "table = glob.split(os.sep + '**')[0]\n"
    "files = sorted(f for f in globbing.glob(os.path.join(table, 'month=*', '*.parquet'))\n"
    "               if BASE[0] <= f.split('month=')[1][:7] <= CUR[1])\n"
    "frame = (pl.scan_parquet(files, hive_partitioning=True)\n")
assert LEAN_POLARS_SCRIPT != POLARS_SCRIPT

# The same in DuckDB SQL over the same files.
DUCKDB_SCRIPT = r'''
import json, sys
import duckdb

glob, weights_path = sys.argv[1], sys.argv[2]
duckdb.execute("SET enable_progress_bar = false")  # it writes to stdout on slow queries
POSITIVE = "('OC1', 'OC1A', 'OC2', 'OC2A', 'OC3', 'OC3A', 'OC4', 'OC5', 'OC8', 'OC9', 'OC22')"
KPIS = """
  count(*) AS total_crime,
  count(*) FILTER (offence = 'Violence with injury') AS violence_with_injury,
  count(*) FILTER (knife) AS knife_crime,
  count(*) FILTER (domestic) AS domestic_abuse,
  count(*) FILTER (offence = 'Robbery') AS robbery,
  count(*) FILTER (offence IN ('Burglary', 'Robbery', 'Vehicle offences',
                               'Theft from the person')) AS neighbourhood_crime,
  sum(loss_gbp) AS fraud_loss,
  100.0 * count(*) FILTER (outcome IN {positive}) / count(*) AS positive_outcome_rate,
  100.0 * count(*) FILTER (outcome IN ('OC1', 'OC1A')) / count(*) AS charge_rate,
  100.0 * count(*) FILTER (outcome = 'OC15') / count(outcome) AS oc15_share,
  100.0 * count(*) FILTER (days_to_outcome <= 30) / count(days_to_outcome)
    AS outcome_within_30_days,
  avg(days_to_outcome) AS mean_days_to_outcome,
  median(days_to_outcome) AS median_days_to_outcome,
  quantile_cont(days_to_outcome, 0.9) AS p90_days_to_outcome,
  median(days_to_outcome) FILTER (knife) AS median_knife_days,
  1000.0 * count(*) / 67000000 AS crime_per_1000,
  sum(coalesce(h.weight, 0)) AS harm_score,
  (count(*) FILTER (ethnicity = 'Black') / 2400000.0)
    / (count(*) FILTER (ethnicity = 'White') / 55000000.0) AS victim_disproportionality,
  100.0 * count(*) FILTER (knife) / count(*) AS knife_share
""".format(positive=POSITIVE)
SQL = f"""
WITH w AS (
  SELECT *, CASE WHEN month BETWEEN '2024-10' AND '2025-09' THEN 'cur'
                 WHEN month BETWEEN '2023-04' AND '2024-03' THEN 'base' END AS win
  FROM read_parquet('{glob}', hive_partitioning = true)
  WHERE month BETWEEN '2023-04' AND '2025-09'
), h AS (SELECT offence AS weight_key, weight FROM read_csv('{weights_path}'))
SELECT win, {KPIS}, count(*) FILTER (offence = 'Shoplifting') AS shop
FROM w LEFT JOIN h ON w.offence = h.weight_key
WHERE win IS NOT NULL
GROUP BY win
"""
YOY = f"""
SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true)
WHERE month BETWEEN '2023-10' AND '2024-09' AND offence = 'Shoplifting'
"""
result = duckdb.sql(SQL)
names = result.columns
out = {}
for values in result.fetchall():
    row = dict(zip(names, values))
    w = row.pop("win")
    out.update({f"{k}/{w}": (float(v) if v is not None else None) for k, v in row.items()
                if k != "shop"})
    if w == "cur":
        out["shoplifting_yoy/cur"] = row["shop"]
out["shoplifting_yoy/base"] = duckdb.sql(YOY).fetchall()[0][0]
print(json.dumps(out))
'''


def kpi_values(stdout: str) -> dict[str, float | None]:
    """`kpi summary --format json` as {kpi/window: value}."""
    doc = json.loads(stdout)
    out = {}
    for item in doc["kpis"]:
        out[f"{item['id']}/cur"] = (item["current"] or {}).get("value")
        out[f"{item['id']}/base"] = (item["comparison"] or {}).get("value")
    return out


def disagreements(a: dict, b: dict) -> list[str]:
    wrong = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if x is None or y is None:
            if x is not y:
                wrong.append(f"{key}: {x} vs {y}")
        elif not math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=1e-9):
            wrong.append(f"{key}: {x} vs {y}")
    return wrong


def build(rows: int, folder: Path, kpi: str, months: int = 30) -> None:
    """The benchmark's store of `rows` crimes over `months` months in `folder` (kept if it is
    already there)."""
    if (folder / "data" / "crimes" / "_delta_log").is_dir():
        return
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, scale.__file__, "--generate-only", str(rows), str(folder),
                    "--months", str(months)], check=True)
    subprocess.run([kpi, "ingest", "crimes", "crimes.parquet"], cwd=folder, check=True,
                   stdout=subprocess.DEVNULL)
    for name in ("crimes.csv", "crimes.parquet"):
        (folder / name).unlink(missing_ok=True)


def measure(rows: int, folder: Path, kpi: str, rounds: int) -> dict:
    glob = str(folder / "data" / "crimes" / "**" / "*.parquet")
    weights = str(folder / "harm-weights.csv")
    if len(list((folder / "data" / "crimes" / "_delta_log").glob("*.json"))) != 1:
        raise SystemExit(f"{folder}: the store must hold one load, so every Parquet file "
                         "under it is live")
    env = {**os.environ, "KPI_NO_CACHE": "1", "NO_COLOR": "1", "COLUMNS": "160"}
    env.pop("KPI_PROJECT", None)
    cases = {
        "kpi summary": [kpi, "summary", "--period", scale.PERIOD, "--format", "json"],
        "hand-written Polars": [sys.executable, "-c", POLARS_SCRIPT, glob, weights],
        "lean Polars": [sys.executable, "-c", LEAN_POLARS_SCRIPT, glob, weights],
        "DuckDB SQL": [sys.executable, "-c", DUCKDB_SCRIPT, glob, weights],
        "import polars, deltalake": [sys.executable, "-c", "import polars, deltalake"],
    }
    got = {name: scale.run_measured(cmd, folder, env)["stdout"]
           for name, cmd in cases.items() if name != "import polars, deltalake"}
    values = {"kpi summary": kpi_values(got["kpi summary"]),
              "hand-written Polars": json.loads(got["hand-written Polars"].splitlines()[-1]),
              "lean Polars": json.loads(got["lean Polars"].splitlines()[-1]),
              "DuckDB SQL": json.loads(got["DuckDB SQL"].splitlines()[-1])}
    for other in ("hand-written Polars", "lean Polars", "DuckDB SQL"):
        wrong = disagreements(values["kpi summary"], values[other])
        if wrong:
            raise SystemExit(f"{rows:,} rows: kpi and {other} disagree on "
                             f"{len(wrong)} values: " + "; ".join(wrong[:5]))
    print(f"  {rows:>10,}: all four agree on {len(values['kpi summary'])} values",
          file=sys.stderr, flush=True)
    runs: dict[str, list[dict]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, cmd in cases.items():
            got = scale.run_measured(cmd, folder, env)
            got.pop("stdout")
            runs[name].append(got)
    result = {"rows": rows, "values": len(values["kpi summary"]), "cases": {}}
    for name, items in runs.items():
        result["cases"][name] = {
            "seconds": statistics.median(i["seconds"] for i in items),
            "cpu_seconds": statistics.median(i["cpu_seconds"] for i in items),
            "peak_mib": statistics.median(i["peak_mib"] for i in items),
            "all_seconds": [i["seconds"] for i in items],
            "all_cpu_seconds": [i["cpu_seconds"] for i in items],
        }
        print(f"  {rows:>10,} {name:<26} {result['cases'][name]['seconds']:>7.2f} s "
              f"{result['cases'][name]['cpu_seconds']:>7.2f} s CPU "
              f"{result['cases'][name]['peak_mib']:>7.0f} MiB", file=sys.stderr, flush=True)
    return result


def table(results: list[dict]) -> str:
    """Medians: wall time, CPU time (user + system, which a shared machine's load disturbs
    less) and peak memory of each, and kpi's ratios to the two floors."""
    lines = ["| rows | kpi summary | hand-written Polars | lean Polars | DuckDB SQL "
             "| kpi / Polars | kpi / lean Polars | kpi / DuckDB | CPU kpi / Polars "
             "| CPU kpi / lean Polars | CPU kpi / DuckDB | memory kpi / DuckDB "
             "| `import polars, deltalake` |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        c = r["cases"]
        k, p, d = c["kpi summary"], c["hand-written Polars"], c["DuckDB SQL"]
        lean = c["lean Polars"]

        def cell(x: dict) -> str:
            return f"{x['seconds']:.2f} s ({x['cpu_seconds']:.2f} s CPU), {x['peak_mib']:,.0f} MiB"

        lines.append(
            f"| {r['rows'] / 1e6:g}M | {cell(k)} | {cell(p)} | {cell(lean)} | {cell(d)} "
            f"| {k['seconds'] / p['seconds']:.2f} | {k['seconds'] / lean['seconds']:.2f} "
            f"| {k['seconds'] / d['seconds']:.2f} "
            f"| {k['cpu_seconds'] / p['cpu_seconds']:.2f} "
            f"| {k['cpu_seconds'] / lean['cpu_seconds']:.2f} "
            f"| {k['cpu_seconds'] / d['cpu_seconds']:.2f} "
            f"| {k['peak_mib'] / d['peak_mib']:.2f} "
            f"| {c['import polars, deltalake']['seconds']:.2f} s |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="folder for the stores (kept and reused when given; default: a "
                             "new temporary folder, removed afterwards)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--months", type=int, default=30,
                        help="months of crimes in a store it builds (scale.py --months; 60 for "
                             "the five-year national store)")
    args = parser.parse_args(argv)
    kpi = shutil.which("kpi") or sys.exit("kpi is not on PATH: install the package first")
    own = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="kpi-floor-")) if own else args.workdir
    results = []
    try:
        for rows in args.rows:
            folder = workdir / f"n{rows}"
            build(rows, folder, kpi, args.months)
            results.append(measure(rows, folder, kpi, args.rounds))
    finally:
        if own:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
