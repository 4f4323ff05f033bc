"""The floor of the bundled sample's summary: reading the data it needs, and nothing else.

    python benchmarks/sample_floor.py --columns > columns.json   # once, with kpi installed
    python benchmarks/sample_floor.py columns.json STORE          # the floor, timed by the caller

The first form lists, for each dataset of the sample, the stored columns that the summary's
KPIs read (`kpi.engine.columns_read` of every KPI the summary evaluates, which names a derived
column by the stored columns it is derived from, and the month), with the folder of the
sample's store. The second imports Polars and deltalake and, in one `collect_all`, reads those
columns of every stored month of every dataset (the summary's windows, baseline and process
charts span all 30 months of the sample), grouped by month: a sum of each number or flag, a
comparison with a constant for each text column, the latest of each date. It computes no KPI,
so any program answering the summary from the stored data reads at least this much; it prints
the rows it read, which `benchmarks/goals.py` checks against the rows stored.
"""

from __future__ import annotations

import json
import sys


def columns() -> dict:
    """The columns of each dataset the sample's summary reads, and where its store is."""
    import kpi
    from kpi import engine, store

    project = kpi.open("sample").definition
    read: dict[str, set[str]] = {}
    for k in project.kpis:
        if k.hidden or k.status != "live":  # as `kpi summary`: every visible KPI with figures
            continue
        for measure in engine.measures_of(project, k):
            read.setdefault(measure.source, {"month"}).update(
                engine.columns_read(project, measure))
    stored = {d: set(store.scan(project, d).collect_schema().names()) for d in read}
    return {"store": str(project.data_dir),
            "rows": sum(store.row_count(project, d) for d in read),
            "columns": {d: sorted(names & stored[d]) for d, names in sorted(read.items())}}


def floor(spec: dict, root: str) -> int:
    """Every needed column of every stored month read once, grouped by month."""
    import os

    import deltalake  # noqa: F401  (the floor pays the same imports as the goal's base)
    import polars as pl

    queries = []
    for dataset, names in spec["columns"].items():
        frame = pl.scan_delta(os.path.join(root, dataset))
        schema = frame.collect_schema()
        aggs = [pl.len().alias("__rows")]
        for name in names:
            if name == "month":
                continue
            dtype = schema[name]
            if dtype.is_numeric() or dtype == pl.Boolean:
                aggs.append(pl.col(name).sum())
            elif dtype.is_temporal():
                aggs.append(pl.col(name).max())
            else:
                aggs.append((pl.col(name) == "").sum())
        queries.append(frame.select(names).group_by("month").agg(aggs))
    return sum(int(got["__rows"].sum()) for got in pl.collect_all(queries, engine="streaming"))


if __name__ == "__main__":
    if sys.argv[1:] == ["--columns"]:
        print(json.dumps(columns(), indent=1))
    else:
        with open(sys.argv[1], encoding="utf-8") as file:
            print(floor(json.load(file), sys.argv[2]))
