"""Every sum of a KPI's fractions is the one exact sum (`engine._exact_sum`): `kpi compare`
(and any direct query through `engine.components_of`) gives a part the same figure, to the
bit, as `kpi summary`, whatever order the rows were loaded in. Polars' plain float sum adds in
row order: 0.01 + 26.48 + 0.01 is 26.500000000000004 that way, 26.5 exactly."""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest

import kpi
from kpi.ingest import load

PROJECT = """\
[project]
name = "Sums"

[datasets.claims]
date = "day"
[datasets.claims.columns]
day = "date"
lpa = "str"
loss = "float"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "loss"
title = "Loss"
priority = "p"
kind = "sum"
dataset = "claims"
value = "loss"
unit = "gbp"
decimals = 2

[[kpis]]
id = "mean_loss"
title = "Mean loss"
priority = "p"
kind = "mean"
dataset = "claims"
value = "loss"
unit = "gbp"
decimals = 2
"""

# Pence that plain float addition sums differently in different orders.
LOSSES = [0.01, 26.48, 0.01, 0.1, 0.2, 0.3, 1e-3, 7.07, 0.7, 3.3, 2.2, 1.1, 0.07]


def _project(folder: Path, losses: list[float]):
    folder.mkdir(parents=True)
    (folder / "kpi.toml").write_text(PROJECT, encoding="utf-8")
    months = [f"{2023 + (9 + i) // 12}-{(9 + i) % 12 + 1:02d}" for i in range(24)]  # 2023-10 on
    frame = pl.DataFrame({"day": [f"{m}-15" for m in months for _ in losses],
                          "lpa": ["North"] * (len(months) * len(losses)),
                          "loss": [v for _ in months for v in losses]})
    frame.write_csv(folder / "claims.csv")
    project = kpi.open(folder)
    load(project.definition, "claims", [str(folder / "claims.csv")])
    return kpi.open(folder)


def _figures(project) -> dict[str, tuple[float, float]]:
    """(summary, compare) current value of each KPI, North being the one part."""
    summary = project.summary("2025-09", "yoy")
    compared = project.compare("2025-09", "lpa", "yoy")
    out = {}
    for kpi_id in ("loss", "mean_loss"):
        mine = summary.filter(pl.col("id") == kpi_id)["current_value"].item()
        part = compared.filter((pl.col("kpi") == kpi_id) & (pl.col("part") == "North"))
        out[kpi_id] = (mine, part["current_value"].item())
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_compare_gives_the_summary_figure_to_the_bit_in_any_row_order(tmp_path, seed):
    losses = LOSSES[:]
    random.Random(seed).shuffle(losses)
    orders = {"given": [0.01, 26.48, 0.01, *LOSSES[3:]], "shuffled": losses,
              "reversed": [*reversed(LOSSES[3:]), 0.01, 26.48, 0.01]}
    seen = {}
    for name, values in orders.items():
        figures = _figures(_project(tmp_path / name, values))
        for kpi_id, (summary, compared) in figures.items():
            assert summary.hex() == compared.hex(), (name, kpi_id, summary, compared)
            seen.setdefault(kpi_id, set()).add(summary.hex())
    assert all(len(bits) == 1 for bits in seen.values()), seen


@pytest.mark.parametrize("seed", [0, 1])
def test_a_trends_rolling_year_is_the_summarys_window_to_the_bit_in_any_row_order(tmp_path,
                                                                                  seed):
    """`Project.series` (the trend of `kpi show` and of the paper's charts): each rolling
    12-month point is the year's rows summed exactly, the same bits whatever order the rows
    were loaded in, and at the period it is the summary's figure for that year to the bit
    (the months' totals added as floats, 0.1 + 0.2 + ..., were not)."""
    losses = LOSSES[:]
    random.Random(seed).shuffle(losses)
    orders = {"given": LOSSES, "shuffled": losses, "reversed": LOSSES[::-1]}
    seen: dict[str, set[tuple[str, ...]]] = {}
    for name, values in orders.items():
        project = _project(tmp_path / name, values)
        for kpi_id in ("loss", "mean_loss"):
            series = project.series(kpi_id, "2025-09", months=12)
            rolling = series["rolling_12"].to_list()
            if kpi_id == "loss":
                summary = project.summary("2025-09", "yoy")
                mine = summary.filter(pl.col("id") == kpi_id)["current_value"].item()
                assert rolling[-1].hex() == mine.hex(), (name, rolling[-1], mine)
                # The year's 13 x 12 rows, summed exactly.
                assert rolling[-1] == float(sum(Fraction(v) for v in values) * 12)
            seen.setdefault(kpi_id, set()).add(tuple(
                "none" if v is None else v.hex() for v in [*rolling, *series["value"]]))
    assert all(len(bits) == 1 for bits in seen.values()), seen


HARM = """\
[project]
name = "Harm"

[datasets.crimes]
date = "day"
[datasets.crimes.columns]
day = "date"
lpa = "str"
offence = "str"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "harm"
title = "Harm"
priority = "p"
kind = "weighted_score"
dataset = "crimes"
weights = "weights.csv"
weight_key = "offence"
breakdowns = ["lpa"]
decimals = 2
"""

# Weights in fractions, and each offence's rows in a month: the products summed with
# `math.fsum`, and the months' totals so summed, give the year 784.3199999999999, where the
# year's rows' weights sum exactly to 784.32.
WEIGHTS = {"theft": 0.1, "damage": 0.2, "robbery": 26.48, "fraud": 0.7, "burglary": 3.3}
ROWS = {"theft": 3, "damage": 10, "robbery": 2, "fraud": 5, "burglary": 2}


def _harm(folder: Path, offences: list[str]):
    folder.mkdir(parents=True)
    (folder / "kpi.toml").write_text(HARM, encoding="utf-8")
    (folder / "weights.csv").write_text(
        "offence,weight\n" + "".join(f"{k},{v!r}\n" for k, v in WEIGHTS.items()),
        encoding="utf-8")
    months = [f"{2023 + (9 + i) // 12}-{(9 + i) % 12 + 1:02d}" for i in range(24)]  # 2023-10 on
    frame = pl.DataFrame({"day": [f"{m}-15" for m in months for _ in offences],
                          "lpa": ["North"] * (len(months) * len(offences)),
                          "offence": [o for _ in months for o in offences]})
    frame.write_csv(folder / "crimes.csv")
    project = kpi.open(folder)
    load(project.definition, "crimes", [str(folder / "crimes.csv")])
    return kpi.open(folder)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_weighted_scores_every_sum_is_the_exact_sum_of_its_rows_weights(tmp_path, seed):
    """A weighted score (the sample's crime harm score) in the summary's window, `kpi
    compare`, its breakdown's part and its trend's rolling year: each the bits
    one exact sum of the year's rows' weights gives, in any order of rows (its months' scores
    were `math.fsum`s of weight x rows, and the rolling year added them as floats)."""
    offences = [o for o, n in ROWS.items() for _ in range(n)]
    shuffled = offences[:]
    random.Random(seed).shuffle(shuffled)
    orders = {"given": offences, "shuffled": shuffled, "reversed": offences[::-1]}
    # The year's rows, their weights summed exactly (12 months of each month's rows).
    exact = float(sum(Fraction(WEIGHTS[o]) * n for o, n in ROWS.items()) * 12)
    seen = set()
    for name, values in orders.items():
        project = _harm(tmp_path / name, values)
        summary = project.summary("2025-09", "yoy")
        mine = summary.filter(pl.col("id") == "harm")["current_value"].item()
        compared = project.compare("2025-09", "lpa", "yoy")
        part = compared.filter((pl.col("kpi") == "harm") & (pl.col("part") == "North"))
        detail = project.detail("harm", "2025-09", "yoy", months=12)
        broken = detail.breakdowns["lpa"].filter(pl.col("part") == "North")["current"].item()
        rolling = project.series("harm", "2025-09", months=12)["rolling_12"].to_list()
        figures = {"summary": mine, "compare": part["current_value"].item(),
                   "breakdown": broken, "rolling year": rolling[-1]}
        for face, value in figures.items():
            assert value.hex() == exact.hex(), (name, face, value, exact)
        seen.add(tuple(v.hex() for v in rolling))
    assert len(seen) == 1, seen
