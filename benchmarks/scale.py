"""Scale benchmark: synthetic record-level crimes extracts of N rows, timed through kpi.

Run by hand (never by the test suite); see benchmarks/README.md. For each N it writes, under a
scratch folder (a temporary one unless --workdir is given):

- crimes.parquet and crimes.csv: N crimes across 43 forces and 301 LPAs, April 2023 to
  September 2025 (30 months, so the plan baseline YE 2024-03 and YE 2025-09 are both complete;
  --months 60 gives five years, October 2020 to September 2025);
- kpi.toml: 20 KPIs of mixed kinds on them, and harm-weights.csv for the weighted score;

then runs each step as its own process and records its wall time and peak resident memory
(GNU time's %M, or os.wait4 where /usr/bin/time is missing): `kpi ingest` of the CSV and
of the Parquet file (each into an empty store), `kpi summary` uncached (KPI_NO_CACHE=1),
`kpi show` of a KPI with force and LPA breakdowns, `kpi export markdown`, and the same summary
as one DuckDB SQL query over the stored table's Parquet files, for context.

    python benchmarks/scale.py --rows 1000000 5000000 10000000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

LAST_DAY = date(2025, 9, 30)
PERIOD = "2025-09"
FORCES = 43
LPAS_PER_FORCE = 7
# Offence groups, their share of crimes and a harm weight (days; an illustrative scale in the
# spirit of the Cambridge Crime Harm Index, not its published values).
OFFENCES = {
    "Violence with injury": (0.18, 365.0),
    "Violence without injury": (0.20, 30.0),
    "Stalking and harassment": (0.12, 60.0),
    "Sexual offences": (0.04, 1460.0),
    "Robbery": (0.03, 365.0),
    "Burglary": (0.06, 40.0),
    "Vehicle offences": (0.08, 10.0),
    "Theft from the person": (0.02, 20.0),
    "Shoplifting": (0.08, 2.0),
    "Other theft": (0.08, 10.0),
    "Criminal damage and arson": (0.08, 20.0),
    "Fraud": (0.03, 10.0),
}
OUTCOMES = {  # code: share of crimes with an outcome
    "OC1": 0.05, "OC1A": 0.005, "OC2": 0.01, "OC3": 0.02, "OC8": 0.02, "OC9": 0.005,
    "OC14": 0.10, "OC15": 0.15, "OC16": 0.20, "OC18": 0.25, "OC21": 0.05, "OC20": 0.03,
}
ETHNICITIES = {"White": 0.70, "Black": 0.07, "Asian": 0.15, "Mixed": 0.03, None: 0.05}
POSITIVE = "('OC1', 'OC1A', 'OC2', 'OC2A', 'OC3', 'OC3A', 'OC4', 'OC5', 'OC8', 'OC9', 'OC22')"


# ---------------------------------------------------------------------------------------------
# The synthetic extract


def _pick(rng, choices: dict, n: int):
    """n draws from `choices` (value: weight), as an array of the values."""
    import numpy as np

    values = list(choices)
    weights = np.array([w if not isinstance(w, tuple) else w[0] for w in choices.values()])
    index = rng.choice(len(values), size=n, p=weights / weights.sum())
    return index, values


# Rows generated at once: a bigger extract is written in chunks of this many rows (appended to
# the CSV, one Parquet row group each), so generating 60M rows needs no more memory than 10M.
CHUNK = 10_000_000


def first_month(months: int) -> date:
    """The first day of the first of `months` months ending with LAST_DAY's month."""
    index = LAST_DAY.year * 12 + LAST_DAY.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


def generate(rows: int, folder: Path, seed: int = 2025, months: int = 30) -> dict[str, int]:
    """Write crimes.parquet and crimes.csv of `rows` crimes over `months` months into `folder`;
    return their sizes. Up to CHUNK rows are drawn at once (with the seed alone, so those sizes
    give the same extract as before chunking existed); more are drawn CHUNK at a time, chunk i
    seeded with (seed, i)."""
    import polars as pl
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    chunks = [(start, min(CHUNK, rows - start)) for start in range(0, rows, CHUNK)]
    writer = None
    with open(folder / "crimes.csv", "wb") as csv_out:
        for index, (start, size) in enumerate(chunks):
            chunk_seed = seed if len(chunks) == 1 else [seed, index]
            frame = _chunk(size, start, chunk_seed, first_month(months))
            arrow = frame.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(folder / "crimes.parquet", arrow.schema,
                                          compression="zstd")
            writer.write_table(arrow)
            # The CSV as a reporting tool writes it: UK dates, yes/no flags.
            frame.with_columns(
                pl.col("Recorded Date").dt.strftime("%d/%m/%Y"),
                pl.col("Knife", "Domestic").replace_strict({True: "Y", False: "N"},
                                                           return_dtype=pl.String),
            ).write_csv(csv_out, include_header=index == 0)
            del frame, arrow
    writer.close()
    return {name: (folder / name).stat().st_size for name in ("crimes.parquet", "crimes.csv")}


def _chunk(rows: int, start: int, seed, first: date):
    """`rows` crimes with references from `start`, recorded between `first` and LAST_DAY."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    days = (LAST_DAY - first).days + 1
    # Forces differ in size, as real ones do (the Met is ~20x Dyfed-Powys): Zipf-like weights.
    force_weights = 1.0 / np.arange(1, FORCES + 1) ** 0.8
    force = rng.choice(FORCES, size=rows, p=force_weights / force_weights.sum())
    lpa = rng.integers(0, LPAS_PER_FORCE, size=rows)
    offence_index, offences = _pick(rng, OFFENCES, rows)
    outcome_index, outcomes = _pick(rng, OUTCOMES, rows)
    ethnicity_index, ethnicities = _pick(rng, ETHNICITIES, rows)
    # Recent crimes have often not reached an outcome yet.
    recorded = rng.integers(0, days, size=rows)
    has_outcome = rng.random(rows) < (0.95 - 0.6 * recorded / days)
    days_to_outcome = np.minimum(rng.gamma(1.2, 40.0, size=rows).astype(np.int64),
                                 days - recorded)
    frame = pl.DataFrame({
        "Crime Reference": pl.Series(np.arange(start, start + rows, dtype=np.int64)),
        "Recorded Date": pl.Series(recorded, dtype=pl.Int32),
        "Force": pl.Series(force, dtype=pl.Int32),
        "LPA": pl.Series(lpa, dtype=pl.Int32),
        "Offence Group": pl.Series(offence_index, dtype=pl.UInt32),
        "Outcome Code": pl.Series(outcome_index, dtype=pl.UInt32),
        "Days To Outcome": pl.Series(days_to_outcome),
        "Loss GBP": pl.Series(np.round(rng.lognormal(5.0, 1.5, size=rows), 2)),
        "Knife": pl.Series(rng.random(rows) < 0.03),
        "Domestic": pl.Series(rng.random(rows) < 0.16),
        "Victim Ethnicity": pl.Series(ethnicity_index, dtype=pl.UInt32),
        "__has_outcome": pl.Series(has_outcome),
    })
    fraud_or_theft = pl.col("Offence Group").is_in(
        [i for i, o in enumerate(offences) if o in ("Fraud", "Other theft", "Shoplifting")])
    force_name = pl.format("Force {}", pl.col("Force").cast(pl.String).str.zfill(2))
    return frame.select(
        pl.format("CR{}", pl.col("Crime Reference").cast(pl.String).str.zfill(9))
        .alias("Crime Reference"),
        (pl.lit(first) + pl.duration(days=pl.col("Recorded Date"))).alias("Recorded Date"),
        force_name.alias("Force"),
        pl.format("{} LPA {}", force_name, pl.col("LPA") + 1).alias("LPA"),
        pl.col("Offence Group").replace_strict(dict(enumerate(offences)),
                                               return_dtype=pl.String),
        pl.when("__has_outcome").then(pl.col("Outcome Code").replace_strict(
            dict(enumerate(outcomes)), return_dtype=pl.String)).alias("Outcome Code"),
        pl.when("__has_outcome").then(pl.col("Days To Outcome")).alias("Days To Outcome"),
        pl.when(fraud_or_theft).then(pl.col("Loss GBP")).alias("Loss GBP"),
        "Knife", "Domestic",
        pl.col("Victim Ethnicity").replace_strict(dict(enumerate(ethnicities)),
                                                  return_dtype=pl.String),
    )


def write_project(folder: Path) -> None:
    """kpi.toml (20 KPIs on the crimes dataset) and the harm weights it names."""
    weights = "\n".join(f"{name},{weight}" for name, (_, weight) in OFFENCES.items())
    (folder / "harm-weights.csv").write_text(f"offence,weight\n{weights}\n")
    # Populations of the forces for `kpi compare` (per 1,000 and tests between forces): in
    # proportion to their sizes in the extract, 67 million in all.
    sizes = [1.0 / (n + 1) ** 0.8 for n in range(FORCES)]
    people = "\n".join(f"Force {n:02d},{round(67_000_000 * w / sum(sizes))},2024"
                        for n, w in enumerate(sizes))
    (folder / "force-population.csv").write_text(f"force,population,year\n{people}\n")
    (folder / "kpi.toml").write_text(PROJECT)


PROJECT = f"""\
# Written by benchmarks/scale.py: 20 KPIs of mixed kinds on a national crimes extract.
[project]
name = "Scale benchmark"
baseline = "2024-03"
data = "data"

[population_by]
force = "force-population.csv"

[population]
resident = 67_000_000
black = 2_400_000
white = 55_000_000

[datasets.crimes]
date = "recorded"
unique = "crime_ref"

[datasets.crimes.columns]
crime_ref = {{ type = "str", from = ["Crime Reference"] }}
recorded = {{ type = "date", from = ["Recorded Date"] }}
force = {{ type = "str", from = ["Force"] }}
lpa = {{ type = "str", from = ["LPA"] }}
offence = {{ type = "str", from = ["Offence Group"] }}
outcome = {{ type = "str", from = ["Outcome Code"], required = false }}
days_to_outcome = {{ type = "int", from = ["Days To Outcome"], required = false, min = 0 }}
loss_gbp = {{ type = "float", from = ["Loss GBP"], required = false, min = 0 }}
knife = {{ type = "bool", from = ["Knife"] }}
domestic = {{ type = "bool", from = ["Domestic"] }}
ethnicity = {{ type = "str", from = ["Victim Ethnicity"], required = false }}

[[priorities]]
id = "violence"
title = "Preventing and Tackling Violence"

[[priorities]]
id = "neighbourhood"
title = "Preventing and Reducing Neighbourhood Crime"

[[priorities]]
id = "justice"
title = "Bringing Offenders to Justice"

[[priorities]]
id = "fair"
title = "An Equal and Fair Service"

[[kpis]]
id = "total_crime"
title = "Total recorded crime"
priority = "neighbourhood"
kind = "count"
dataset = "crimes"
better = "lower"
breakdowns = ["force", "lpa"]

[[kpis]]
id = "violence_with_injury"
title = "Violence with injury"
priority = "violence"
kind = "count"
dataset = "crimes"
filter = "offence = 'Violence with injury'"
better = "lower"
breakdowns = ["force"]

[[kpis]]
id = "knife_crime"
title = "Knife crime"
priority = "violence"
kind = "count"
dataset = "crimes"
filter = "knife"
better = "lower"
breakdowns = ["lpa"]

[[kpis]]
id = "domestic_abuse"
title = "Domestic abuse crimes"
priority = "violence"
kind = "count"
dataset = "crimes"
filter = "domestic"
better = "neutral"

[[kpis]]
id = "robbery"
title = "Robbery"
priority = "neighbourhood"
kind = "count"
dataset = "crimes"
filter = "offence = 'Robbery'"
better = "lower"
stable_band = 1.0

[[kpis]]
id = "neighbourhood_crime"
title = "Neighbourhood crime"
priority = "neighbourhood"
kind = "count"
dataset = "crimes"
filter = "offence IN ('Burglary', 'Robbery', 'Vehicle offences', 'Theft from the person')"
better = "lower"

[[kpis]]
id = "fraud_loss"
title = "Money lost to theft and fraud"
priority = "neighbourhood"
kind = "sum"
dataset = "crimes"
value = "loss_gbp"
unit = "gbp"
better = "lower"

[[kpis]]
id = "positive_outcome_rate"
title = "Positive outcome rate"
priority = "justice"
kind = "rate"
dataset = "crimes"
numerator = "outcome IN {POSITIVE}"
better = "higher"
breakdowns = ["force"]

[[kpis]]
id = "charge_rate"
title = "Charge or summons rate"
priority = "justice"
kind = "rate"
dataset = "crimes"
numerator = "outcome IN ('OC1', 'OC1A')"
better = "higher"

[[kpis]]
id = "oc15_share"
title = "Outcome 15 share of outcomes"
priority = "justice"
kind = "rate"
dataset = "crimes"
filter = "outcome IS NOT NULL"
numerator = "outcome = 'OC15'"
better = "lower"

[[kpis]]
id = "outcome_within_30_days"
title = "Outcomes within 30 days"
priority = "justice"
kind = "within"
dataset = "crimes"
filter = "days_to_outcome IS NOT NULL"
value = "days_to_outcome"
threshold = 30
better = "higher"

[[kpis]]
id = "mean_days_to_outcome"
title = "Average days to outcome"
priority = "justice"
kind = "mean"
dataset = "crimes"
value = "days_to_outcome"
unit = "days"
better = "lower"

[[kpis]]
id = "median_days_to_outcome"
title = "Median days to outcome"
priority = "justice"
kind = "median"
dataset = "crimes"
value = "days_to_outcome"
unit = "days"
better = "lower"
breakdowns = ["force"]

[[kpis]]
id = "p90_days_to_outcome"
title = "90th percentile days to outcome"
priority = "justice"
kind = "percentile"
percentile = 90
dataset = "crimes"
value = "days_to_outcome"
unit = "days"
better = "lower"

[[kpis]]
id = "median_knife_days"
title = "Median days to outcome, knife crime"
priority = "violence"
kind = "median"
dataset = "crimes"
filter = "knife"
value = "days_to_outcome"
unit = "days"
better = "lower"

[[kpis]]
id = "crime_per_1000"
title = "Crime per 1,000 population"
priority = "neighbourhood"
kind = "per_1000"
dataset = "crimes"
population = "resident"
better = "lower"

[[kpis]]
id = "harm_score"
title = "Crime harm score"
priority = "violence"
kind = "weighted_score"
dataset = "crimes"
weights = "harm-weights.csv"
weight_key = "offence"
better = "lower"
breakdowns = ["force"]

[[kpis]]
id = "victim_disproportionality"
title = "Victimisation disproportionality (Black vs White)"
priority = "fair"
kind = "ratio_of_rates"
dataset = "crimes"
numerator = "ethnicity = 'Black'"
denominator = "ethnicity = 'White'"
populations = ["black", "white"]
better = "lower"

[[kpis]]
id = "knife_share"
title = "Knife crime as a share of all crime"
priority = "violence"
kind = "rate"
numerator_kpi = "knife_crime"
denominator_kpi = "total_crime"
better = "lower"

[[kpis]]
id = "shoplifting_yoy"
title = "Shoplifting (year on year)"
priority = "neighbourhood"
kind = "count"
dataset = "crimes"
filter = "offence = 'Shoplifting'"
baseline = "yoy"
better = "lower"

[[charts]]
id = "crime_trend"
type = "trend"
title = "Recorded crime: twenty-four month trend"
kpis = ["total_crime"]

[[charts]]
id = "outcomes_by_force"
type = "compare"
title = "Positive outcome rate by force"
kpis = ["positive_outcome_rate"]
by = "force"
"""


# ---------------------------------------------------------------------------------------------
# The DuckDB baseline: the summary's figures for the numeric KPIs as one SQL query


DUCKDB_SUMMARY = """
WITH w AS (
  SELECT *, CASE WHEN month BETWEEN '2024-10' AND '2025-09' THEN 'cur'
                 WHEN month BETWEEN '2023-04' AND '2024-03' THEN 'base' END AS win
  FROM read_parquet('{glob}', hive_partitioning = true)
), h AS (SELECT offence AS weight_key, weight FROM read_csv('{weights}'))
SELECT win,
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
    / (count(*) FILTER (ethnicity = 'White') / 55000000.0) AS victim_disproportionality
FROM w LEFT JOIN h ON w.offence = h.weight_key
WHERE win IS NOT NULL
GROUP BY win ORDER BY win
"""

DUCKDB_SCRIPT = """
import duckdb, sys
rows = duckdb.sql(sys.argv[1]).fetchall()
print(rows)
"""


# ---------------------------------------------------------------------------------------------
# Running and measuring


TIME = "/usr/bin/time"  # GNU time: %e wall s, %U user s, %S system s, %M peak RSS KiB


def run_measured(cmd: list[str], cwd: Path, env: dict[str, str]) -> dict[str, float]:
    """Run one command as its own process: wall time (s), CPU time (s), peak RSS (MiB).

    Measured by GNU time where it exists, else by os.wait4. Either way the command must not be
    forked from a big process: Linux carries the forking process's peak RSS into the child's
    ru_maxrss across exec, which is why the extracts are generated in a separate process.

    It writes and reads bytecode as an installed package does, whatever the shell says
    (PYTHONDONTWRITEBYTECODE dropped): with it set, an editable checkout compiles every kpi
    module edited since its bytecode was written on every run, 0.1 to 0.2 s of kpi's fixed cost
    that no floor pays (the sample's summary 1.44 to 1.52 s with it, 1.24 to 1.29 s without).
    The first run of each command writes it; the rounds measured after read it."""
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "time"
        wrapped = ([TIME, "-f", "%e %U %S %M", "-o", str(report), *cmd]
                   if Path(TIME).exists() else cmd)
        with open(Path(scratch) / "out", "w+b") as out, open(Path(scratch) / "err", "w+b") as err:
            start = time.perf_counter()
            process = subprocess.Popen(wrapped, cwd=cwd, env=env, stdout=out, stderr=err)
            _, status, usage = os.wait4(process.pid, 0)
            elapsed = time.perf_counter() - start
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                err.seek(0)
                raise RuntimeError(f"{[c[:60] for c in cmd[:3]]} exited {code}: "
                                   f"{err.read().decode(errors='replace').strip()[-2000:]}")
            out.seek(0)
            stdout = out.read().decode(errors="replace")
        if report.exists():
            wall, user, system, peak_kib = report.read_text().split()[-4:]
            return {"seconds": float(wall), "cpu_seconds": round(float(user) + float(system), 2),
                    "peak_mib": round(int(peak_kib) / 1024), "stdout": stdout}
        return {"seconds": round(elapsed, 2), "peak_mib": round(usage.ru_maxrss / 1024),
                "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2), "stdout": stdout}


STEPS = ("ingest csv", "ingest parquet", "summary (uncached)", "compare --by force",
         "show total_crime", "export markdown", "duckdb summary (baseline)",
         "python + polars import")


def bench(rows: int, workdir: Path, kpi: str, steps_wanted: tuple[str, ...] = STEPS,
          months: int = 30) -> dict:
    """Generate an extract of `rows` crimes and measure every step on it (or those wanted;
    the Parquet ingest always runs, as the other steps read its store)."""
    folder = workdir / f"n{rows}"
    if folder.exists():
        shutil.rmtree(folder)
    started = time.perf_counter()
    # In a child process, so this one stays small (see run_measured).
    subprocess.run([sys.executable, __file__, "--generate-only", str(rows), str(folder),
                    "--months", str(months)], check=True)
    sizes = {name: (folder / name).stat().st_size for name in ("crimes.parquet", "crimes.csv")}
    result = {"rows": rows, "months": months,
              "generate_seconds": round(time.perf_counter() - started, 1),
              "csv_mib": round(sizes["crimes.csv"] / 2**20),
              "parquet_mib": round(sizes["crimes.parquet"] / 2**20), "steps": {}}
    env = {**os.environ, "KPI_NO_CACHE": "1", "NO_COLOR": "1", "COLUMNS": "160"}
    env.pop("KPI_PROJECT", None)
    steps = result["steps"]

    def step(name: str, cmd: list[str]) -> None:
        if name not in steps_wanted and name != "ingest parquet":
            return
        got = run_measured(cmd, folder, env)
        got.pop("stdout")
        steps[name] = got
        print(f"  {rows:>10,} {name:<28} {got['seconds']:>8.2f} s {got['peak_mib']:>7} MiB",
              file=sys.stderr, flush=True)

    step("ingest csv", [kpi, "ingest", "crimes", "crimes.csv"])
    shutil.rmtree(folder / "data", ignore_errors=True)
    step("ingest parquet", [kpi, "ingest", "crimes", "crimes.parquet"])
    step("summary (uncached)", [kpi, "summary", "--period", PERIOD])
    # JSON, as a scheduled job reads it: drawing 17 Rich tables of 43 rows costs more than
    # computing them (docs/performance.md).
    step("compare --by force", [kpi, "compare", "--period", PERIOD, "--by", "force",
                                "--format", "json"])
    step("show total_crime", [kpi, "show", "total_crime", "--period", PERIOD])
    step("export markdown", [kpi, "export", "markdown", "--period", PERIOD,
                             "--output", "paper/board.md"])
    sql = DUCKDB_SUMMARY.format(glob=folder / "data" / "crimes" / "**" / "*.parquet",
                                weights=folder / "harm-weights.csv", positive=POSITIVE)
    step("duckdb summary (baseline)", [sys.executable, "-c", DUCKDB_SCRIPT, sql])
    step("python + polars import", [sys.executable, "-c", "import polars, deltalake"])
    # The extracts are the big files; the store is kept only until the next size is run.
    shutil.rmtree(folder)
    return result


def main(argv: list[str] | None = None) -> int:
    """Measure each N given; print a Markdown table and write the raw figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000,
                                                                10_000_000])
    parser.add_argument("--workdir", type=Path, default=None,
                        help="scratch folder for the extracts and store (default: a new "
                             "temporary folder, removed afterwards)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS),
                        metavar="STEP", help=f"only these steps (default: all of {STEPS})")
    parser.add_argument("--months", type=int, default=30,
                        help="months of crimes, ending September 2025 (default 30; at least "
                             "30, so both windows of the summary are complete)")
    parser.add_argument("--generate-only", nargs=2, metavar=("ROWS", "FOLDER"),
                        help="only write the extracts and kpi.toml of ROWS crimes into FOLDER")
    args = parser.parse_args(argv)
    if args.months < 30:
        parser.error("--months must be at least 30: the summary compares YE 2025-09 with the "
                     "plan baseline YE 2024-03")
    if args.generate_only:
        rows, folder = int(args.generate_only[0]), Path(args.generate_only[1])
        generate(rows, folder, months=args.months)
        write_project(folder)
        return 0
    kpi = shutil.which("kpi") or sys.exit("kpi is not on PATH: install the package first")
    own = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="kpi-scale-")) if own else args.workdir
    try:
        results = [bench(rows, workdir, kpi, tuple(args.steps), args.months)
                   for rows in args.rows]
    finally:
        if own:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    return 0


def table(results: list[dict]) -> str:
    """The figures as a Markdown table: one row per step, time and peak memory per N."""
    header = "| step | " + " | ".join(f"{r['rows'] / 1e6:g}M rows" for r in results) + " |"
    lines = [header, "|---|" + "---|" * len(results)]
    lines.append("| CSV / Parquet size | " + " | ".join(
        f"{r['csv_mib']:,} / {r['parquet_mib']:,} MiB" for r in results) + " |")
    for name in results[0]["steps"]:
        cells = [f"{r['steps'][name]['seconds']:.1f} s, {r['steps'][name]['peak_mib']:,} MiB"
                 for r in results]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
