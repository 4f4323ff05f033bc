"""How long `kpi catalogue --validate` takes on a catalogue of N KPIs, each with a problem.

Run by hand: `python benchmarks/validate_scale.py 2000 10000`. For each N it writes a kpi.toml
with one dataset and N count KPIs, each with a typo in its filter (a column that does not
exist), validates it in this process, and prints the time taken and the problems reported.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from kpi.catalogue import validate_project_file

HEADER = """\
[datasets.crimes]
date = "recorded"
[datasets.crimes.columns]
recorded = "date"
lpa = "str"
offence = "str"
victims = "int"

[[priorities]]
id = "p"
title = "Priority"
"""

KPI = """
[[kpis]]
id = "k{n}"
title = "KPI {n}"
priority = "p"
kind = "count"
dataset = "crimes"
filter = "ofence = 'x{n}'"
better = "lower"
"""


def catalogue(count: int) -> str:
    return HEADER + "".join(KPI.format(n=n) for n in range(count))


def main(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for count in sizes:
            path = Path(folder) / "kpi.toml"
            path.write_text(catalogue(count), encoding="utf-8")
            started = time.perf_counter()
            problems = validate_project_file(path)
            elapsed = time.perf_counter() - started
            print(f"{count:>6} KPIs: {len(problems):>6} problems in {elapsed:6.2f} s")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [2000, 10000])
