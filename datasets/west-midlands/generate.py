"""Rebuild the West Midlands sample extracts, byte for byte.

    python datasets/west-midlands/generate.py [FOLDER]

writes extracts/ and reference/ into FOLDER (default: beside this script).

The data are SYNTHETIC. They are calibrated so that the toolkit, reading them, reproduces every
baseline and current figure of the November 2025 Accountability and Governance Board report
(`kpi summary --period 2025-09`); the monthly, LPA and neighbourhood splits are invented to be
plausible. They are not police records.

How the calibration works: the plan's baseline (April 2023 to March 2024) and the current year
(October 2024 to September 2025) are disjoint windows, so each window's records are constructed
to hit its targets exactly (counts by construction; medians by placing as many values above the
target as below it, with the target itself in the middle; means by adjusting values until their
sum is the target times the count). A count's months move from one window's level to the next
along an S-curve (level at each window's centre, no step at its edges) with a seasonal wave,
each window's total spread by a multinomial draw (Poisson counts given their sum) and the six
months between drawn as Poisson counts around the trend. A rate or share follows the same curve
on the log-odds scale, each month's numerator a binomial draw nudged until the window's total is
exact; a mean time the same curve on the log scale. Where the
report gives a change but no baseline, the baseline is the whole number that reproduces the
reported change. Everything is seeded from the series' name, rows are sorted on every column
and files are written with fixed settings, so two runs give identical files.
"""

from __future__ import annotations

import calendar
import zlib
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
OUT = HERE / "extracts"  # main() points this elsewhere when given a folder

LPAS = ("Birmingham", "Coventry", "Dudley", "Sandwell", "Solihull", "Walsall", "Wolverhampton")
# Share of recorded crime by LPA (roughly by population and demand).
LPA_SHARE = np.array([0.392, 0.1224, 0.0816, 0.1122, 0.0612, 0.102, 0.1286])

FIRST = date(2023, 4, 1)
N_MONTHS = 30  # April 2023 .. September 2025
BASE = range(0, 12)       # YE 2024-03: the plan baseline
CURRENT = range(18, 30)   # YE 2025-09: the report's current year
LAGGED = range(15, 27)    # YE 2025-06: knife and gun crime (a quarter behind)


# ---------------------------------------------------------------------------------------------
# Building blocks


def rng_for(name: str) -> np.random.Generator:
    """A generator seeded from a series' name, so series do not depend on generation order."""
    return np.random.default_rng(zlib.crc32(name.encode()))


def month_start(pos: int, first: date = FIRST) -> date:
    """The first day of the month `pos` months after `first`."""
    index = first.year * 12 + first.month - 1 + pos
    return date(index // 12, index % 12 + 1, 1)


def alloc(total: int, weights) -> np.ndarray:
    """Split a whole number in proportion to weights (largest remainder; ties by position)."""
    w = np.clip(np.asarray(weights, dtype=float), 0, None)
    if total == 0:
        return np.zeros(len(w), dtype=np.int64)
    if w.sum() == 0:
        w = np.ones(len(w))
    exact = w / w.sum() * total
    base = np.floor(exact).astype(np.int64)
    order = np.lexsort((np.arange(len(w)), -(exact - base)))
    base[order[: total - int(base.sum())]] += 1
    return base


def shape(name: str, n: int = N_MONTHS, first: date = FIRST, amplitude: float = 0.08,
          peak: int = 7, noise: float = 0.04) -> np.ndarray:
    """Monthly profile: a seasonal wave peaking in `peak`, times a little noise."""
    calendar_months = np.array([month_start(p, first).month for p in range(n)])
    days = np.array([calendar.monthrange(month_start(p, first).year,
                                         month_start(p, first).month)[1] for p in range(n)])
    wave = 1 + amplitude * np.cos(2 * np.pi * (calendar_months - peak) / 12)
    return wave * days / 30.4 * np.exp(rng_for(name).normal(0, noise, n))


def monthly(name: str, targets: dict[range, int], n: int = N_MONTHS, first: date = FIRST,
            **kwargs) -> np.ndarray:
    """Monthly counts whose sums over each target window are exact, around a smooth trend.

    The expected level moves from each window's average to the next along an S-curve on the
    log scale (see trend: no step between windows, and settled by the latest month), times the
    seasonal profile.
    Within a target window the total is spread by a multinomial draw, which is exactly how
    Poisson counts fall given their sum; other months are Poisson draws around the trend."""
    profile = shape(name, n, first, **kwargs)
    rng = rng_for(name + "/poisson")
    windows = sorted(targets.items(), key=lambda item: item[0].start)
    centres = np.array([np.mean(window) for window, _ in windows])
    levels = np.array([total / profile[np.array(window)].sum() for window, total in windows])
    months = np.arange(n)
    if len(windows) == 1:
        level = np.full(n, levels[0])
    elif (levels > 0).all():
        # From one window's level to the next along trend's S-curve, on the log scale.
        level = np.exp(trend({window: float(np.log(value))
                              for (window, _), value in zip(windows, levels, strict=True)}, n))
    else:
        level = np.interp(months, centres, levels)
    expected = level * profile
    counts = np.zeros(n, dtype=np.int64)
    covered = np.zeros(n, dtype=bool)
    for window, total in windows:
        idx = np.array(window)
        weights = expected[idx]
        counts[idx] = (rng.multinomial(int(total), weights / weights.sum()) if weights.sum() > 0
                       else alloc(int(total), np.ones(len(idx))))
        covered[idx] = True
    free = ~covered
    counts[free] = rng.poisson(expected[free])
    return counts


def interp(targets: dict[range, float], n: int = N_MONTHS) -> np.ndarray:
    """A monthly parameter held at each window's value inside it, with a straight line from
    the end of one window to the start of the next (for medians, which must stay exact)."""
    points = sorted((m, value) for window, value in targets.items()
                    for m in (window.start, window.stop - 1))
    return np.interp(np.arange(n), [p[0] for p in points], [p[1] for p in points])


def trend(targets: dict[range, float], n: int = N_MONTHS, rate: bool = False) -> np.ndarray:
    """A monthly parameter (a rate, a mean, a share) that moves smoothly from each window's
    value at the window's centre to the next one's, along an S-curve (smoothstep) that is
    level at the centres and steepest between them, and level beyond the first and last
    centres: no step at a window's edge, and a change that has settled by the latest month,
    as a real one would. A rate moves on the log-odds scale."""
    windows = sorted(targets.items(), key=lambda item: item[0].start)
    centres = np.array([np.mean(window) for window, _ in windows])
    values = np.array([value for _, value in windows], dtype=float)
    if rate:
        values = np.log(values / (1 - values))
    months = np.arange(n)
    out = np.full(n, values[0])
    for i in range(len(windows) - 1):
        x = np.clip((months - centres[i]) / (centres[i + 1] - centres[i]), 0, 1)
        out = out + (values[i + 1] - values[i]) * x * x * (3 - 2 * x)
    return 1 / (1 + np.exp(-out)) if rate else out


def binomial(name: str, trials: np.ndarray, p: np.ndarray, spread: float = 0.08) -> np.ndarray:
    """Monthly successes out of `trials` around the rates `p`. Each month's rate wanders a
    little on the log-odds scale (`spread`: real monthly rates vary more than sampling alone,
    as staffing and demand change); successes are a binomial draw at that rate."""
    rng = rng_for(name)
    p = np.clip(p, 1e-9, 1 - 1e-9)
    wandered = 1 / (1 + np.exp(-(np.log(p / (1 - p)) + rng.normal(0, spread, len(p)))))
    return rng.binomial(np.asarray(trials, dtype=np.int64), wandered)


def binomial_total(name: str, total: int, trials: np.ndarray, p: np.ndarray,
                   spread: float = 0.08) -> np.ndarray:
    """Monthly successes as `binomial` draws, nudged within their bounds (0 to trials) until
    they add up to a window's exact total."""
    trials = np.asarray(trials, dtype=np.int64)
    draws = binomial(name, trials, p, spread)
    return adjust_sum(rng_for(name + "/total"), draws, np.zeros(len(trials), np.int64), trials,
                      int(total))


def wobble(name: str, n: int, amplitude: float, noise: float = 0.005) -> np.ndarray:
    """Factors around 1 for spreading a window's total over its months: a steady trend from
    1 - amplitude to 1 + amplitude, with a little noise, so monthly rates are not flat."""
    return 1 + amplitude * np.linspace(-1, 1, n) + rng_for(name).normal(0, noise, n)


def shifts(name: str, counts: np.ndarray, amplitude: float) -> np.ndarray:
    """Per-month imbalances (values below a window's median minus those above, halved) that
    sum to zero over the window, so the pooled median stays exact while monthly ones move."""
    out = np.round(counts * amplitude * (wobble(name, len(counts), 1.0, 0.2) - 1) / 2)
    out = out.astype(np.int64)
    out[int(np.argmax(counts))] -= int(out.sum())
    return out


def split_signed(total: int, weights) -> np.ndarray:
    """Split a positive or negative whole number in proportion to weights."""
    return np.sign(total) * alloc(abs(int(total)), weights)


def days_in(pos: int, first: date = FIRST) -> int:
    """The number of days in month `pos`."""
    start = month_start(pos, first)
    return calendar.monthrange(start.year, start.month)[1]


def dates_for(rng: np.random.Generator, pos: int, count: int, first: date = FIRST) -> np.ndarray:
    """`count` random days within month `pos`."""
    start = np.datetime64(month_start(pos, first), "D")
    return start + rng.integers(0, days_in(pos, first), count).astype("timedelta64[D]")


def count_for(percent: float, n: int) -> int:
    """The whole number of n that is `percent` per cent, checked to show as `percent`."""
    count = int(round(percent / 100 * n))
    assert round(100 * count / n, 1) == round(percent, 1), (percent, n, count)
    return count


def representable(percent: float, n: int) -> bool:
    """Whether some whole number out of n shows as `percent` to one decimal place."""
    return round(100 * round(percent / 100 * n) / n, 1) == round(percent, 1)


def baseline_for(current: int, change: float) -> int:
    """The whole-number baseline from which `current` is a change of `change` per cent."""
    base = int(round(current / (1 + change / 100)))
    for candidate in sorted(range(base - 3, base + 4), key=lambda b: abs(b - base)):
        if round((current / candidate - 1) * 100, 1) == change:
            return candidate
    raise AssertionError((current, change))


def adjust_sum(rng: np.random.Generator, values: np.ndarray, low: np.ndarray, high: np.ndarray,
               target: int) -> np.ndarray:
    """Move integer values within their bounds until they sum to target."""
    values = values.astype(np.int64).copy()
    for _ in range(4):
        delta = int(target - values.sum())
        if delta == 0:
            return values
        room = (high - values) if delta > 0 else (values - low)
        total_room = int(room.sum())
        assert total_room >= abs(delta), "cannot reach the target sum within the bounds"
        step = np.floor(room * abs(delta) / total_room).astype(np.int64)
        values += np.sign(delta) * step
        rest = abs(int(target - values.sum()))
        room = (high - values) if delta > 0 else (values - low)
        candidates = rng.permutation(np.flatnonzero(room > 0))[:rest]
        values[candidates] += np.sign(delta)
    assert values.sum() == target
    return values


def write_parquet(frame: pl.DataFrame, name: str) -> None:
    """A Parquet extract, rows sorted on every column and written with fixed settings."""
    frame = frame.sort(frame.columns, maintain_order=True)
    frame.write_parquet(OUT / name, compression="zstd", compression_level=9, statistics=True,
                        row_group_size=1_000_000)


def write_csv(frame: pl.DataFrame, name: str, *, bom: bool = False) -> None:
    """A CSV sheet; with `bom`, UTF-8 with a byte-order mark, as spreadsheets save it."""
    (OUT / name).write_text(frame.write_csv(), encoding="utf-8-sig" if bom else "utf-8")


def months_column(counts_by_key: dict[tuple, np.ndarray], keys: tuple[str, ...],
                  value: str, date_name: str, uk: bool = False, first: date = FIRST,
                  n: int = N_MONTHS) -> pl.DataFrame:
    """A monthly aggregate sheet: one row per month and key, with its count."""
    rows = []
    for key, counts in counts_by_key.items():
        for pos in range(n):
            start = month_start(pos, first)
            stamp = start.strftime("%d/%m/%Y") if uk else start.isoformat()
            rows.append((stamp, *key, int(counts[pos])))
    return pl.DataFrame(rows, schema=[date_name, *keys, value], orient="row")


# ---------------------------------------------------------------------------------------------
# Recorded crime (record level)

HARM_WEIGHTS = {  # days of imprisonment, Cambridge Crime Harm Index style starting points
    "Homicide": 5475, "Violence with injury": 365, "Violence without injury": 60,
    "Stalking and harassment": 60, "Rape": 1825, "Other sexual offences": 365,
    "Robbery of personal property": 730, "Robbery of business property": 730,
    "Residential burglary": 365, "Business burglary": 60, "Vehicle offences": 10,
    "Theft from the person": 20, "Shoplifting": 2, "Other theft": 5, "Criminal damage": 10,
    "Public order offences": 20, "Drug offences": 0, "Possession of weapons": 0,
    "Miscellaneous crimes against society": 30,
}
FLAGS = ("domestic", "vawg", "knife", "firearm", "youth_victim", "emergency_worker",
         "business_worker", "business")

TOTAL = (328_153, 299_579)
LPA_CHANGE = {"Wolverhampton": -14.6, "Coventry": -13.3, "Walsall": -9.0, "Sandwell": -8.7,
              "Solihull": -7.9, "Dudley": -6.8, "Birmingham": -5.8}
SHOPLIFTING_GROWTH = {"Birmingham": 30.0, "Coventry": 36.0, "Dudley": 27.0, "Sandwell": 33.0,
                      "Solihull": 24.0, "Walsall": 51.5, "Wolverhampton": 38.0}


def lpa_totals() -> tuple[np.ndarray, np.ndarray]:
    """Total crime by LPA in each window: the report's per-LPA changes, summing exactly."""
    change = np.array([LPA_CHANGE[lpa] for lpa in LPAS]) / 100
    share = LPA_SHARE / LPA_SHARE.sum()
    # Move share between Birmingham and Wolverhampton until the force-wide change is exact.
    target = TOTAL[1] / TOTAL[0] - 1
    bham, wolv = LPAS.index("Birmingham"), LPAS.index("Wolverhampton")
    x = (target - share @ change) / (change[wolv] - change[bham])
    share[bham] -= x
    share[wolv] += x
    base = alloc(TOTAL[0], share)
    current = np.round(base * (1 + change)).astype(np.int64)
    current[bham] += TOTAL[1] - current.sum()
    for i, lpa in enumerate(LPAS):
        assert round((current[i] / base[i] - 1) * 100, 1) == LPA_CHANGE[lpa], lpa
    return base, current


class Crimes:
    """Leaves (offence and flags) with counts per LPA per window, then months, then records."""

    def __init__(self) -> None:
        self.base_lpa, self.cur_lpa = lpa_totals()
        self.trend = self.cur_lpa / self.base_lpa  # each leaf's LPA split follows LPA trends
        self.leaves: list[tuple[str, dict[str, bool], np.ndarray]] = []  # monthly per LPA

    def split(self, total: int, current: bool, name: str = "") -> np.ndarray:
        """A window total split over LPAs (the current year following the LPA trends). A named
        leaf leans a little towards some LPAs, differently in each window, so an offence's
        change by LPA is not the total's; the residual leaves keep each LPA's total exact."""
        weights = LPA_SHARE * (self.trend if current else 1)
        if name:
            weights = weights * np.exp(rng_for(f"lpa-lean/{name}/{current}").normal(0, 0.06,
                                                                                   len(LPAS)))
        return alloc(total, weights)

    def add(self, offence: str, base: int | np.ndarray, cur: int | np.ndarray, **flags) -> None:
        """A leaf with baseline and current totals (whole or already split by LPA)."""
        name = offence + "".join(sorted(k for k, v in flags.items() if v))
        base_lpa = base if isinstance(base, np.ndarray) else self.split(base, False, name)
        cur_lpa = cur if isinstance(cur, np.ndarray) else self.split(cur, True, name)
        months = np.stack([monthly(f"crime/{name}/{lpa}", {BASE: int(base_lpa[i]),
                                                           CURRENT: int(cur_lpa[i])})
                           for i, lpa in enumerate(LPAS)])
        self.leaves.append((offence, flags, months))

    def add_lagged(self, offence: str, base: int, lagged: int, **flags) -> None:
        """A leaf whose targets are the baseline and YE 2025-06 (knife and gun crime)."""
        name = offence + "".join(sorted(k for k, v in flags.items() if v))
        base_lpa, lag_lpa = self.split(base, False, name), self.split(lagged, True, name)
        months = np.stack([monthly(f"crime/{name}/{lpa}", {BASE: int(base_lpa[i]),
                                                           LAGGED: int(lag_lpa[i])})
                           for i, lpa in enumerate(LPAS)])
        self.leaves.append((offence, flags, months))

    def sums(self, where) -> tuple[np.ndarray, np.ndarray]:
        """Per-LPA counts of the leaves matching `where(offence, flags)`, in each window."""
        base = np.zeros(len(LPAS), dtype=np.int64)
        cur = np.zeros(len(LPAS), dtype=np.int64)
        for offence, flags, months in self.leaves:
            if where(offence, flags):
                base += months[:, BASE.start:BASE.stop].sum(axis=1)
                cur += months[:, CURRENT.start:CURRENT.stop].sum(axis=1)
        return base, cur

    def total(self, where) -> tuple[int, int]:
        """Force-wide counts of the matching leaves in each window."""
        base, cur = self.sums(where)
        return int(base.sum()), int(cur.sum())

    def harm(self) -> tuple[int, int]:
        """The harm score (days) of every leaf so far, in each window."""
        base = cur = 0
        for offence, _, months in self.leaves:
            base += HARM_WEIGHTS[offence] * int(months[:, BASE.start:BASE.stop].sum())
            cur += HARM_WEIGHTS[offence] * int(months[:, CURRENT.start:CURRENT.stop].sum())
        return base, cur

    def frame(self) -> pl.DataFrame:
        """One row per crime, with the source system's column names."""
        columns: dict[str, list[np.ndarray]] = {c: [] for c in ("date", "lpa", "offence",
                                                                 *FLAGS)}
        for offence, flags, months in self.leaves:
            name = offence + "".join(sorted(k for k, v in flags.items() if v))
            rng = rng_for(f"crime-days/{name}")
            for i in range(len(LPAS)):
                for pos in range(N_MONTHS):
                    count = int(months[i, pos])
                    if not count:
                        continue
                    columns["date"].append(dates_for(rng, pos, count))
                    columns["lpa"].append(np.full(count, i, dtype=np.int8))
                    columns["offence"].append(np.full(count, list(HARM_WEIGHTS).index(offence),
                                                      dtype=np.int8))
                    for flag in FLAGS:
                        columns[flag].append(np.full(count, bool(flags.get(flag))))
        data = {k: np.concatenate(v) for k, v in columns.items()}
        return pl.DataFrame({
            "Recorded Date": data["date"],
            "LPA": pl.Series(np.array(LPAS)[data["lpa"]]),
            "HO Offence Group": pl.Series(np.array(list(HARM_WEIGHTS))[data["offence"]]),
            "Domestic Abuse Flag": data["domestic"], "VAWG Flag": data["vawg"],
            "Knife Flag": data["knife"], "Firearm Flag": data["firearm"],
            "Victim Under 25": data["youth_victim"],
            "Emergency Worker Victim": data["emergency_worker"],
            "Business Worker Victim": data["business_worker"],
            "Business Crime Flag": data["business"],
        })


def build_crimes() -> dict[str, int]:
    """crimes.parquet; returns the denominators the outcome rates need."""
    c = Crimes()
    V = (130_000, 120_000)  # violence against the person: 14,157 positive outcomes at 11.8%
    # Knife and gun crime first: their windows are the baseline and YE 2025-06.
    for offence, share in (("Violence with injury", 0.5), ("Robbery of personal property", 0.3),
                           ("Violence without injury", 0.2)):
        c.add_lagged(offence, round(5268 * share), round(4309 * share), knife=True)
    for offence, share in (("Violence with injury", 0.4), ("Violence without injury", 0.35),
                           ("Robbery of personal property", 0.25)):
        c.add_lagged(offence, round(576 * share), round(434 * share), firearm=True)
    # Homicide, domestic abuse, serious youth violence, workers.
    c.add("Homicide", 7, 4, domestic=True)
    c.add("Homicide", 36, 30)
    dv_injury = (baseline_for(11_036, -11.7), 11_036)
    c.add("Violence with injury", round(dv_injury[0] * 0.75), round(dv_injury[1] * 0.75),
          domestic=True, vawg=True)
    c.add("Violence with injury", dv_injury[0] - round(dv_injury[0] * 0.75),
          dv_injury[1] - round(dv_injury[1] * 0.75), domestic=True)
    c.add("Violence with injury", baseline_for(6_148, -16.8), 6_148, youth_victim=True)
    c.add("Violence with injury", 900, 870, emergency_worker=True)
    c.add("Violence without injury", 3_034 - 900, 2_934 - 870, emergency_worker=True)
    workers = baseline_for(469, -10.8)
    c.add("Violence with injury", 160, 140, business_worker=True)
    c.add("Violence without injury", workers - 160, 469 - 140, business_worker=True)
    c.add("Stalking and harassment", 12_000, 9_000, domestic=True, vawg=True)
    c.add("Violence without injury", 14_000, 10_500, domestic=True, vawg=True)
    # Sexual offences: rape stable, other sexual offences +17.8%, together 10,739 -> 11,762.
    rape = 4_992
    other_sexual = (10_739 - rape, 11_762 - rape)
    assert round((other_sexual[1] / other_sexual[0] - 1) * 100, 1) == 17.8
    c.add("Rape", 1_747, 1_747, domestic=True, vawg=True)
    c.add("Rape", 2_746, 2_746, vawg=True)
    c.add("Rape", rape - 4_493, rape - 4_493)
    c.add("Other sexual offences", 4_885, 5_755, vawg=True)
    c.add("Other sexual offences", other_sexual[0] - 4_885, other_sexual[1] - 5_755)
    c.add("Criminal damage", 6_000, 7_500, domestic=True)
    # Domestic abuse: the rest is non-VAWG violence without injury.
    domestic = (baseline_for(53_405, -4.9), 53_405)
    have = c.total(lambda o, f: f.get("domestic"))
    c.add("Violence without injury", domestic[0] - have[0], domestic[1] - have[1],
          domestic=True)
    # VAWG: the rest is non-domestic stalking and harassment.
    have = c.total(lambda o, f: f.get("vawg"))
    c.add("Stalking and harassment", 61_978 - have[0], 50_734 - have[1], vawg=True)
    # Neighbourhood crime types (baselines from the reported changes) and business crime.
    robbery = c.total(lambda o, f: o == "Robbery of personal property")
    c.add("Robbery of personal property", 7_425 - robbery[0], 4_982 - robbery[1])
    assert round((4_982 / 7_425 - 1) * 100, 1) == -32.9
    c.add("Residential burglary", baseline_for(10_502, -25.1), 10_502)
    c.add("Vehicle offences", baseline_for(27_109, -20.3), 27_109)
    c.add("Theft from the person", baseline_for(2_592, -26.7), 2_592)
    shop_base = c.split(baseline_for(32_450, 33.4), False)
    growth = np.array([SHOPLIFTING_GROWTH[lpa] for lpa in LPAS]) / 100
    shop_cur = np.round(shop_base * (1 + growth)).astype(np.int64)
    walsall = LPAS.index("Walsall")
    others = [i for i in range(len(LPAS)) if i != walsall]
    shop_cur[others] += alloc(32_450 - int(shop_cur.sum()), shop_base[others]) if \
        32_450 >= shop_cur.sum() else -alloc(int(shop_cur.sum()) - 32_450, shop_base[others])
    assert round((shop_cur[walsall] / shop_base[walsall] - 1) * 100, 1) == 51.5
    c.add("Shoplifting", shop_base, shop_cur, business=True)
    c.add("Robbery of business property", 1_200, 1_100, business=True)
    c.add("Business burglary", 6_000, 5_500, business=True)
    have = c.total(lambda o, f: f.get("business"))
    c.add("Other theft", 53_886 - have[0], 56_258 - have[1], business=True)
    c.add("Drug offences", 9_000, 9_500)
    c.add("Possession of weapons", 3_500, 3_400)
    c.add("Miscellaneous crimes against society", 5_000, 4_800)
    c.add("Criminal damage", 20_000, 17_000)
    # The rest of violence: split between with and without injury so that the harm score
    # lands on the report's 47.1m and 41.4m (the current year chosen to show -12.0%).
    have = c.total(lambda o, f: o in VIOLENCE)
    rest = (V[0] - have[0], V[1] - have[1])
    free_base = c.base_lpa - c.sums(lambda o, f: True)[0]
    free_cur = c.cur_lpa - c.sums(lambda o, f: True)[1]
    rest_base_lpa, rest_cur_lpa = c.split(rest[0], False), c.split(rest[1], True)
    other_base = free_base - rest_base_lpa
    other_cur = free_cur - rest_cur_lpa
    assert (other_base > 0).all() and (other_cur > 0).all()
    harm_target = (47_100_000, 41_437_000)
    harm_now = c.harm()
    low, high = HARM_WEIGHTS["Violence without injury"], HARM_WEIGHTS["Violence with injury"]
    splits = []
    for k, (lpa_rest, lpa_other) in enumerate(((rest_base_lpa, other_base),
                                               (rest_cur_lpa, other_cur))):
        theft = np.round(lpa_other * 0.55).astype(np.int64)
        order = lpa_other - theft
        fixed = harm_now[k] + HARM_WEIGHTS["Other theft"] * int(theft.sum()) \
            + HARM_WEIGHTS["Public order offences"] * int(order.sum())
        total = int(lpa_rest.sum())
        injury = int(round((harm_target[k] - fixed - low * total) / (high - low)))
        assert 0 < injury < total, ("harm calibration out of range", k, injury, total)
        injury_lpa = alloc(injury, lpa_rest)
        splits.append((injury_lpa, lpa_rest - injury_lpa, theft, order))
    c.add("Violence with injury", splits[0][0], splits[1][0])
    c.add("Violence without injury", splits[0][1], splits[1][1])
    c.add("Other theft", splits[0][2], splits[1][2])
    c.add("Public order offences", splits[0][3], splits[1][3])
    assert c.total(lambda o, f: True) == TOTAL
    harm = c.harm()
    assert round(harm[0] / 1e6, 1) == 47.1 and round(harm[1] / 1e6, 1) == 41.4, harm
    assert round((harm[1] / harm[0] - 1) * 100, 1) == -12.0, harm
    write_parquet(c.frame(), "crimes.parquet")
    violence = c.total(lambda o, f: o in VIOLENCE)
    return {"violence_base": violence[0], "violence_cur": violence[1],
            "shoplifting_base": int(shop_base.sum())}


VIOLENCE = ("Homicide", "Violence with injury", "Violence without injury",
            "Stalking and harassment")


def write_harm_weights(folder: Path) -> None:
    """reference/harm-weights.csv: offence group and weight in days."""
    frame = pl.DataFrame({"offence": list(HARM_WEIGHTS),
                          "weight_days": [float(v) for v in HARM_WEIGHTS.values()]})
    (folder / "reference").mkdir(parents=True, exist_ok=True)
    (folder / "reference" / "harm-weights.csv").write_text(frame.write_csv(), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Crime outcomes (record level)

POSITIVE_CODES = ("OC1", "OC1A", "OC2", "OC2A", "OC3", "OC3A", "OC4", "OC5", "OC8", "OC9",
                  "OC22")
OUT_OF_COURT = {"OC2": 0.05, "OC2A": 0.01, "OC3": 0.25, "OC3A": 0.04, "OC8": 0.55, "OC22": 0.10}
CHARGE = {"OC1": 0.85, "OC1A": 0.08, "OC4": 0.04, "OC5": 0.005, "OC9": 0.025}
OTHER_NEGATIVE = {"OC10": 0.02, "OC11": 0.005, "OC12": 0.005, "OC13": 0.005, "OC14": 0.12,
                  "OC17": 0.01, "OC18": 0.72, "OC20": 0.08, "OC21": 0.035}
GROUPS = {"Violence against the person": 0.35, "Sexual offences": 0.04, "Shoplifting": 0.06,
          "Other theft": 0.15, "Vehicle offences": 0.10, "Burglary": 0.06, "Robbery": 0.03,
          "Criminal damage": 0.12, "Public order offences": 0.07, "Drug offences": 0.01,
          "Possession of weapons": 0.01}
POSITIVE_OTHER_GROUPS = {"Drug offences": 0.35, "Possession of weapons": 0.08,
                         "Other theft": 0.15, "Public order offences": 0.15,
                         "Criminal damage": 0.07, "Burglary": 0.05, "Robbery": 0.05,
                         "Vehicle offences": 0.04, "Sexual offences": 0.06}


def build_outcomes(crime: dict[str, int]) -> None:
    """outcomes.parquet: positive outcomes, out-of-court resolutions and the OC15 and OC16
    shares of all outcomes, exact in both windows."""
    total = (320_000, 290_000)  # outcomes assigned in each window
    positive = (25_848, 44_613)
    violence_pos = (count_for(6.2, crime["violence_base"]), 14_157)
    assert round(100 * 14_157 / crime["violence_cur"], 1) == 11.8
    shoplifting_pos = (count_for(13.9, crime["shoplifting_base"]), 8_480)
    vawg_pos = (count_for(6.7, 61_978), count_for(13.5, 50_734))
    sexual_vawg = (600, 900)
    violence_vawg = (vawg_pos[0] - sexual_vawg[0], vawg_pos[1] - sexual_vawg[1])
    leaves: dict[tuple[str, bool], tuple[int, int]] = {
        ("Violence against the person", True): violence_vawg,
        ("Violence against the person", False): (violence_pos[0] - violence_vawg[0],
                                                 violence_pos[1] - violence_vawg[1]),
        ("Sexual offences", True): sexual_vawg,
        ("Shoplifting", False): shoplifting_pos,
    }
    rest = tuple(positive[k] - sum(v[k] for v in leaves.values()) for k in range(2))
    split = [alloc(rest[k], list(POSITIVE_OTHER_GROUPS.values())) for k in range(2)]
    for i, group in enumerate(POSITIVE_OTHER_GROUPS):
        leaves[(group, False)] = (int(split[0][i]), int(split[1][i]))
    out_of_court = (8_721, 14_051)
    cells: dict[tuple[str, bool, str], list[int]] = {}
    keys = list(leaves)
    for k in range(2):
        occ = alloc(out_of_court[k], [leaves[key][k] for key in keys])
        for key, n_occ in zip(keys, occ, strict=True):
            for codes, n in ((OUT_OF_COURT, int(n_occ)), (CHARGE, leaves[key][k] - int(n_occ))):
                for code, n_code in zip(codes, alloc(n, list(codes.values())), strict=True):
                    cells.setdefault((*key, code), [0, 0])[k] += int(n_code)
    oc15 = (count_for(11.9, total[0]), count_for(15.5, total[1]))
    oc16 = (count_for(27.8, total[0]), count_for(26.9, total[1]))
    negative = tuple(total[k] - positive[k] - oc15[k] - oc16[k] for k in range(2))
    other = [alloc(negative[k], list(OTHER_NEGATIVE.values())) for k in range(2)]
    amounts = {"OC15": oc15, "OC16": oc16}
    amounts.update({code: (int(other[0][i]), int(other[1][i]))
                    for i, code in enumerate(OTHER_NEGATIVE)})
    groups = list(GROUPS)
    vawg_share = {"Violence against the person": 0.3, "Sexual offences": 0.85}
    for code, pair in amounts.items():
        for k in range(2):
            per_group = alloc(pair[k], list(GROUPS.values()))
            for group, n in zip(groups, per_group, strict=True):
                n_vawg = int(round(int(n) * vawg_share.get(group, 0)))
                cells.setdefault((group, True, code), [0, 0])[k] += n_vawg
                cells.setdefault((group, False, code), [0, 0])[k] += int(n) - n_vawg
    columns: dict[str, list[np.ndarray]] = {"date": [], "lpa": [], "group": [], "vawg": [],
                                            "code": []}
    code_names = sorted({cell[2] for cell in cells})
    for cell in sorted(cells):
        base, cur = cells[cell]
        name = f"outcome/{cell[0]}/{cell[1]}/{cell[2]}"
        months = monthly(name, {BASE: base, CURRENT: cur}, amplitude=0.04)
        rng = rng_for(name + "/rows")
        for pos in range(N_MONTHS):
            count = int(months[pos])
            if not count:
                continue
            columns["date"].append(dates_for(rng, pos, count))
            columns["lpa"].append(rng.choice(len(LPAS), count, p=LPA_SHARE / LPA_SHARE.sum()))
            columns["group"].append(np.full(count, groups.index(cell[0]), dtype=np.int8))
            columns["vawg"].append(np.full(count, cell[1]))
            columns["code"].append(np.full(count, code_names.index(cell[2]), dtype=np.int8))
    data = {k: np.concatenate(v) for k, v in columns.items()}
    frame = pl.DataFrame({
        "outcome_date": data["date"],
        "lpa": pl.Series(np.array(LPAS)[data["lpa"]]),
        "offence_group": pl.Series(np.array(groups)[data["group"]]),
        "vawg": data["vawg"],
        "outcome_code": pl.Series(np.array(code_names)[data["code"]]),
    })
    write_parquet(frame, "outcomes.parquet")


# ---------------------------------------------------------------------------------------------
# Anti-social behaviour: incident records by neighbourhood, and the category return

TOP_NEIGHBOURHOODS = {  # para 2.6, year ending September 2025
    ("Coventry", "St Michael's"): 958, ("Birmingham", "Birmingham City Centre"): 685,
    ("Walsall", "St Matthew's"): 436, ("Birmingham", "Aston"): 421,
    ("Birmingham", "Lozells and East Handsworth"): 369,
}
NEIGHBOURHOODS = {
    "Birmingham": (
        "Acocks Green", "Alum Rock", "Balsall Heath West", "Bartley Green", "Billesley",
        "Bordesley Green", "Bournville and Cotteridge", "Brandwood and King's Heath",
        "Bromford and Hodge Hill", "Castle Vale", "Edgbaston", "Erdington",
        "Frankley Great Park", "Garretts Green", "Gravelly Hill", "Hall Green North",
        "Handsworth Wood", "Harborne", "Heartlands", "Highter's Heath", "Holyhead",
        "King's Norton North", "Kingstanding", "Ladywood", "Longbridge and West Heath",
        "Moseley", "Nechells", "Northfield", "Perry Barr", "Quinton", "Shard End",
        "Small Heath", "Soho and Jewellery Quarter", "Sparkbrook and Balsall Heath East",
        "Sparkhill", "Stechford and Yardley North", "Stockland Green", "Sutton Vesey",
        "Tyseley and Hay Mills", "Ward End", "Weoley and Selly Oak", "Yardley East"),
    "Coventry": (
        "Foleshill", "Radford", "Henley", "Longford", "Lower Stoke", "Upper Stoke", "Earlsdon",
        "Whoberley", "Wainbody", "Westwood", "Woodlands", "Bablake", "Holbrook", "Sherbourne",
        "Cheylesmore", "Binley and Willenhall", "Wyken"),
    "Dudley": (
        "Brierley Hill", "Castle and Priory", "St James's", "St Thomas's",
        "Netherton, Woodside and St Andrews", "Quarry Bank and Dudley Wood",
        "Kingswinford North and Wall Heath", "Halesowen North", "Halesowen South",
        "Lye and Stourbridge North", "Stourbridge East", "Sedgley", "Coseley East",
        "Upper Gornal and Woodsetton", "Gornal"),
    "Sandwell": (
        "West Bromwich Central", "Greets Green and Lyng", "Soho and Victoria", "Smethwick",
        "St Pauls", "Oldbury", "Langley", "Tipton Green", "Great Bridge", "Princes End",
        "Wednesbury South", "Wednesbury North", "Friar Park", "Hateley Heath", "Rowley",
        "Blackheath", "Cradley Heath and Old Hill", "Old Warley"),
    "Solihull": (
        "Chelmsley Wood", "Smith's Wood", "Kingshurst and Fordbridge", "Elmdon", "Lyndon",
        "Olton", "Shirley West", "Shirley East", "Blythe", "Knowle",
        "Dorridge and Hockley Heath", "Silhill", "St Alphege", "Castle Bromwich",
        "Bickenhill", "Meriden"),
    "Walsall": (
        "Birchills Leamore", "Blakenall", "Bloxwich East", "Bloxwich West", "Pleck", "Palfrey",
        "Paddock", "Darlaston South", "Bentley and Darlaston North", "Willenhall South",
        "Willenhall North", "Short Heath", "Brownhills", "Aldridge Central and South",
        "Pelsall", "Rushall-Shelfield", "Streetly"),
    "Wolverhampton": (
        "St Peter's", "Park", "Heath Town", "East Park", "Bushbury South and Low Hill",
        "Bushbury North", "Blakenhall", "Ettingshall", "Graiseley", "Bilston East",
        "Bilston North", "Spring Vale", "Wednesfield North", "Wednesfield South",
        "Fallings Park", "Oxley", "Tettenhall Regis", "Tettenhall Wightwick", "Penn",
        "Merry Hill"),
}
ASB = (26_405, 26_613)
ASB_CATEGORIES = {"Nuisance": 19_480, "Personal": 4_785, "Environmental": 2_583}


def build_asb() -> None:
    """asb-incidents.parquet (by neighbourhood, para 2.6's five on top) and the category
    return asb-categories.csv."""
    rng = rng_for("asb/neighbourhoods")
    others = [(lpa, n) for lpa in LPAS for n in NEIGHBOURHOODS[lpa]]
    weights = np.exp(rng.normal(0, 0.45, len(others)))
    rest = ASB[1] - sum(TOP_NEIGHBOURHOODS.values())
    current = alloc(rest, weights)
    cap = 340  # below the fifth-highest neighbourhood (369)
    for _ in range(20):
        over = current > cap
        if not over.any():
            break
        excess = int((current[over] - cap).sum())
        current[over] = cap
        current += alloc(excess, weights * ~over)
    assert current.max() < 369 and current.sum() == rest
    keys = list(TOP_NEIGHBOURHOODS) + others
    cur = np.concatenate([list(TOP_NEIGHBOURHOODS.values()), current])
    base = alloc(ASB[0], cur * np.exp(rng.normal(0, 0.08, len(cur))))
    columns: dict[str, list] = {"date": [], "key": []}
    for k, (lpa, name) in enumerate(keys):
        series = f"asb/{lpa}/{name}"
        months = monthly(series, {BASE: int(base[k]), CURRENT: int(cur[k])}, amplitude=0.15,
                         noise=0.08)
        day_rng = rng_for(series + "/rows")
        for pos in range(N_MONTHS):
            columns["date"].append(dates_for(day_rng, pos, int(months[pos])))
            columns["key"].append(np.full(int(months[pos]), k, dtype=np.int16))
    data = {k: np.concatenate(v) for k, v in columns.items()}
    frame = pl.DataFrame({
        "Incident Date": data["date"],
        "LPA": pl.Series([keys[k][0] for k in range(len(keys))])[data["key"]],
        "Neighbourhood": pl.Series([keys[k][1] for k in range(len(keys))])[data["key"]],
    })
    write_parquet(frame, "asb-incidents.parquet")
    # The category return comes from a separate ASB system and carries the report's category
    # figures, which sum to 26,848 rather than the 26,613 incidents (see docs).
    counts = {}
    base_split = alloc(ASB[0], list(ASB_CATEGORIES.values()))
    for i, (category, cur_n) in enumerate(ASB_CATEGORIES.items()):
        counts[(category,)] = monthly(f"asb-category/{category}",
                                      {BASE: int(base_split[i]), CURRENT: cur_n},
                                      amplitude=0.15)
    sheet = months_column(counts, ("ASB Category",), "Incidents", "Month", uk=True)
    write_csv(sheet, "asb-categories.csv")


# ---------------------------------------------------------------------------------------------
# Command and control: emergency and priority incidents with response times (record level)

INCIDENTS = {
    # grade: (all, attended, within, median seconds) for baseline and current; threshold
    "Emergency": dict(all=(baseline_for(185_824, 4.2), 185_824), attended=(171_507, 185_425),
                      within=(58.7, 74.8), median=(749, 625), threshold=900, low=60,
                      high=3_600),
    "Priority": dict(all=(baseline_for(118_183, 33.7), 118_183), attended=(78_892, 106_273),
                     within=(41.1, 64.0), median=(4_157, 2_427), threshold=3_600, low=300,
                     high=14_400),
}
LPA_RESPONSE = np.array([0.97, 1.03, 1.02, 1.0, 1.04, 1.01, 1.02])  # relative compliance
BIRMINGHAM_SEPTEMBER = 71.0
# Demand drifts between LPAs (% change in share over the 30 months), and each LPA's responses
# run a little faster or slower than the force's (the share of its attended incidents moved
# from above the median to below it), so LPAs differ in change and in median as real areas do.
LPA_DEMAND_DRIFT = {"Emergency": np.array([-0.02, 0.05, -0.04, 0.03, 0.06, -0.05, 0.01]),
                    "Priority": np.array([0.03, -0.04, 0.05, -0.02, -0.06, 0.04, 0.00])}
LPA_MEDIAN_BIAS = np.array([-0.015, 0.02, 0.01, -0.01, 0.02, 0.0, 0.005])


def lpa_shares(grade: str, pos: int) -> np.ndarray:
    """LPA shares of a grade's incidents in month `pos`, drifting steadily."""
    share = LPA_SHARE / LPA_SHARE.sum() * (1 + LPA_DEMAND_DRIFT[grade] * (pos / (N_MONTHS - 1)
                                                                           - 0.5))
    return share / share.sum()


def median_bias(att: np.ndarray) -> np.ndarray:
    """Per-LPA imbalances below the median that sum to zero over the force, so each LPA's
    median differs while the pooled one stays exact."""
    out = np.round(att * LPA_MEDIAN_BIAS).astype(np.int64)
    out[0] -= int(out.sum())
    return out


def between(rng: np.random.Generator, low: int, high: int, size: int) -> np.ndarray:
    """`size` whole numbers in [low, high)."""
    if size <= 0:
        return np.zeros(0, dtype=np.int64)
    return rng.integers(low, max(high, low + 1), size)


def cell_values(rng: np.random.Generator, n: int, within: int, median: int, threshold: int,
                low: int, high: int, shift: int = 0) -> np.ndarray:
    """n durations with `within` at or under the threshold, `median` itself once or twice,
    and `shift` more values below the median than half the rest (and as many fewer above).
    When a window's shifts sum to zero, its pooled median is exactly `median`."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    k = 1 if n % 2 else 2
    k = min(k, n)
    half = (n - k) // 2
    shift = max(-half, min(half, shift))
    below, above = half + shift, half - shift
    if median <= threshold:
        assert within >= below + k, "within-threshold count too small for the median"
        parts = [between(rng, low, median, below), np.full(k, median),
                 between(rng, median + 1, threshold + 1, within - below - k),
                 between(rng, threshold + 1, high, n - within)]
    else:
        assert within <= below, "within-threshold count too large for the median"
        parts = [between(rng, low, threshold + 1, within),
                 between(rng, threshold + 1, median, below - within), np.full(k, median),
                 between(rng, median + 1, high, above)]
    return np.concatenate(parts)


def build_incidents() -> None:
    """incidents.parquet: counts, attendance, compliance and median response times exact in
    both windows; Birmingham at 71.0% in September 2025."""
    columns: dict[str, list[np.ndarray]] = {"date": [], "lpa": [], "grade": [], "att": [],
                                            "secs": []}
    for g, (grade, spec) in enumerate(INCIDENTS.items()):
        n_all = monthly(f"incidents/{grade}", {BASE: spec["all"][0], CURRENT: spec["all"][1]},
                        amplitude=0.06)
        within_total = [count_for(spec["within"][k], spec["attended"][k]) for k in range(2)]
        attend_rate = trend({BASE: spec["attended"][0] / spec["all"][0],
                             CURRENT: spec["attended"][1] / spec["all"][1]}, rate=True)
        within_rate = trend({BASE: spec["within"][0] / 100, CURRENT: spec["within"][1] / 100},
                            rate=True)
        median = np.round(interp({BASE: spec["median"][0], CURRENT: spec["median"][1]}))
        attended = binomial(f"incidents/{grade}/attended", n_all, attend_rate)
        within = binomial(f"incidents/{grade}/within", attended, within_rate)
        shift = np.zeros(N_MONTHS, dtype=np.int64)
        for k, window in enumerate((BASE, CURRENT)):
            idx = np.array(window)
            attended[idx] = binomial_total(f"incidents/{grade}/attended/{k}",
                                           spec["attended"][k], n_all[idx], attend_rate[idx])
            within[idx] = binomial_total(f"incidents/{grade}/{k}", within_total[k],
                                         attended[idx], within_rate[idx])
            shift[idx] = shifts(f"incidents/{grade}/median/{k}", attended[idx], 0.04)
        between_windows = set(range(N_MONTHS)) - set(BASE) - set(CURRENT)
        rng = rng_for(f"incidents/{grade}/rows")
        for pos in range(N_MONTHS):
            all_l = alloc(int(n_all[pos]), lpa_shares(grade, pos))
            att_l = alloc(int(attended[pos]), all_l)
            if grade == "Emergency" and pos == N_MONTHS - 1:
                bham = count_for(BIRMINGHAM_SEPTEMBER, int(att_l[0]))
                within_l = np.concatenate([[bham], alloc(int(within[pos]) - bham,
                                                         att_l[1:] * LPA_RESPONSE[1:])])
            else:
                within_l = alloc(int(within[pos]), att_l * LPA_RESPONSE)
            within_l = np.minimum(within_l, att_l)
            shift_l = split_signed(int(shift[pos]), att_l) + median_bias(att_l)
            if pos in between_windows:  # keep each cell feasible for the interpolated median
                half = (att_l - 1) // 2
                if median[pos] <= spec["threshold"]:
                    within_l = np.minimum(np.maximum(within_l, half + shift_l + 2), att_l)
                else:
                    within_l = np.minimum(within_l, half + shift_l - 1)
            for i in range(len(LPAS)):
                values = cell_values(rng, int(att_l[i]), int(within_l[i]), int(median[pos]),
                                     spec["threshold"], spec["low"], spec["high"],
                                     int(shift_l[i]))
                missed = int(all_l[i] - att_l[i])
                count = int(all_l[i])
                columns["date"].append(dates_for(rng, pos, count))
                columns["lpa"].append(np.full(count, i, dtype=np.int8))
                columns["grade"].append(np.full(count, g, dtype=np.int8))
                columns["att"].append(np.concatenate([np.ones(len(values), bool),
                                                      np.zeros(missed, bool)]))
                columns["secs"].append(np.concatenate([values, np.full(missed, -1)]))
    data = {k: np.concatenate(v) for k, v in columns.items()}
    frame = pl.DataFrame({
        "incident_date": data["date"],
        "lpa": pl.Series(np.array(LPAS)[data["lpa"]]),
        "grade": pl.Series(np.array(list(INCIDENTS))[data["grade"]]),
        "attended": data["att"],
        "response_seconds": pl.Series(data["secs"], dtype=pl.Int32),
    }).with_columns(pl.when(pl.col("response_seconds") >= 0).then(pl.col("response_seconds"))
                    .alias("response_seconds"))
    write_parquet(frame, "incidents.parquet")


# ---------------------------------------------------------------------------------------------
# Contact centre: 999 and 101 calls with answer times (record level)

CALLS = {
    "999": dict(n=(810_868, 721_453), answered=(99.9, 99.9), within=(92.9, 97.6),
                mean=(5, 2), abandoned=(651, 68), threshold=10, cap=120),
    "101": dict(n=(655_829, 807_116), answered=(87.1, 97.2), within=(75.5, 96.8),
                mean=(134, 23), abandoned=(36_091, 3_232), threshold=180, cap=1_800),
}


def build_calls() -> None:
    """calls.parquet: 999 and 101 calls, answered shares, service levels, mean answer times
    and abandoned calls exact in both windows."""
    columns: dict[str, list[np.ndarray]] = {"date": [], "line": [], "answered": [], "wait": []}
    for s, (line, spec) in enumerate(CALLS.items()):
        thr, cap = spec["threshold"], spec["cap"]
        n = monthly(f"calls/{line}", {BASE: spec["n"][0], CURRENT: spec["n"][1]},
                    amplitude=0.07)
        answered_total = [count_for(spec["answered"][k], spec["n"][k]) for k in range(2)]
        within_total = [count_for(spec["within"][k], answered_total[k]) for k in range(2)]
        answer_rate = trend({BASE: answered_total[0] / spec["n"][0],
                             CURRENT: answered_total[1] / spec["n"][1]}, rate=True)
        within_rate = trend({BASE: spec["within"][0] / 100, CURRENT: spec["within"][1] / 100},
                            rate=True)
        abandon_rate = trend({BASE: spec["abandoned"][0] / (spec["n"][0] - answered_total[0]),
                              CURRENT: spec["abandoned"][1] / (spec["n"][1] - answered_total[1])},
                             rate=True)
        mean = np.exp(trend({BASE: np.log(spec["mean"][0]), CURRENT: np.log(spec["mean"][1])}))
        answered = binomial(f"calls/{line}/answered", n, answer_rate)
        within = binomial(f"calls/{line}/within", answered, within_rate)
        abandoned = binomial(f"calls/{line}/abandoned", n - answered, abandon_rate)
        total_wait = np.round(mean * answered).astype(np.int64)
        for k, window in enumerate((BASE, CURRENT)):
            idx = np.array(window)
            tag = f"calls/{line}/{k}"
            answered[idx] = binomial_total(tag + "/answered", answered_total[k], n[idx],
                                           answer_rate[idx])
            within[idx] = binomial_total(tag + "/within", within_total[k], answered[idx],
                                         within_rate[idx])
            abandoned[idx] = binomial_total(tag + "/abandoned", spec["abandoned"][k],
                                            n[idx] - answered[idx], abandon_rate[idx])
            # Waits add up over calls, so a month's total wait varies like a sum of waits:
            # around its answered calls times the trend, with a few per cent of noise.
            total_wait[idx] = alloc(spec["mean"][k] * answered_total[k],
                                    answered[idx] * mean[idx]
                                    * np.exp(rng_for(tag + "/wait").normal(0, 0.04, 12)))
        rng = rng_for(f"calls/{line}/rows")
        for pos in range(N_MONTHS):
            a, w, m = int(answered[pos]), int(within[pos]), float(mean[pos])
            over = a - w
            over_mean = thr + 1 + (m * 1.5 + 8)
            within_mean = max(0.3, (m * a - over_mean * over) / max(w, 1))
            values = np.concatenate([
                np.minimum(np.floor(rng.exponential(within_mean + 0.5, w)), thr),
                np.minimum(thr + 1 + np.floor(rng.exponential(over_mean - thr, over)), cap)])
            lows = np.concatenate([np.zeros(w), np.full(over, thr + 1)]).astype(np.int64)
            highs = np.concatenate([np.full(w, thr), np.full(over, cap)]).astype(np.int64)
            values = adjust_sum(rng, values, lows, highs, int(total_wait[pos]))
            unanswered = int(n[pos]) - a
            ab = int(abandoned[pos])
            gone = np.concatenate([
                np.minimum(thr + 1 + np.floor(rng.exponential(thr, ab)), cap),
                rng.integers(0, thr + 1, unanswered - ab)])
            count = int(n[pos])
            columns["date"].append(dates_for(rng, pos, count))
            columns["line"].append(np.full(count, s, dtype=np.int8))
            columns["answered"].append(np.concatenate([np.ones(a, bool),
                                                       np.zeros(unanswered, bool)]))
            columns["wait"].append(np.concatenate([values, gone]).astype(np.int32))
    data = {k: np.concatenate(v) for k, v in columns.items()}
    frame = pl.DataFrame({
        "CallDate": data["date"],
        "Service": pl.Series(np.array(list(CALLS))[data["line"]]),
        "Answered": data["answered"],
        "WaitSeconds": pl.Series(data["wait"], dtype=pl.Int32),
    })
    write_parquet(frame, "calls.parquet")


# ---------------------------------------------------------------------------------------------
# Monthly aggregate sheets


def simple_sheet(name: str, file: str, key_name: str, series: dict[str, tuple[int, int]],
                 value: str = "Count", date_name: str = "Month", uk: bool = False,
                 windows: tuple[range, range] = (BASE, CURRENT), n: int = N_MONTHS,
                 first: date = FIRST, thousands: bool = False, **kwargs) -> None:
    """A monthly sheet of counts by one key, exact in both windows."""
    counts = {(key,): monthly(f"{name}/{key}", {windows[0]: b, windows[1]: c}, n=n, first=first,
                              **kwargs)
              for key, (b, c) in series.items()}
    sheet = months_column(counts, (key_name,), value, date_name, uk=uk, first=first, n=n)
    if thousands:
        sheet = sheet.with_columns(pl.col(value).map_elements(lambda v: f"{v:,}",
                                                              return_dtype=pl.String))
    write_csv(sheet, file)


def build_sheets() -> None:
    """The monthly aggregate sheets (CSV)."""
    simple_sheet("roads", "road-casualties.csv", "Severity",
                 {"Fatal": (57, 54), "Serious": (baseline_for(1_016, -10.2), 1_016)},
                 value="Casualties", uk=True, noise=0.1)
    simple_sheet("roads-policing", "roads-policing.csv", "Activity",
                 {"Fatal 4 enforcement": (3_488, 4_292),
                  "Drink or drug driving arrest": (2_936, 2_843),
                  "Vehicle seized": (11_854, 13_782),
                  "Street racing report": (baseline_for(2_918, -27.9), 2_918)},
                 thousands=True)
    simple_sheet("transport", "safer-travel.csv", "Mode",
                 {"Bus": (baseline_for(4_057, -3.8), 4_057),
                  "Train": (baseline_for(2_905, 13.0), 2_905),
                  "Metro": (baseline_for(132, 15.8), 132)}, value="Offences", noise=0.08)
    simple_sheet("civil-orders", "civil-orders.csv", "Order Type",
                 {"Civil orders and interventions": (6_248, 7_534)}, value="Orders", uk=True)
    # Third-party (dashcam) reports lag two months: the file ends in July 2025.
    third = {"Reports": (baseline_for(21_672, 176.4), 21_672)}
    third["Positive outcomes"] = (count_for(81.0, third["Reports"][0]), count_for(72.0, 21_672))
    counts = {}
    for key, (b, c) in third.items():
        counts[key] = monthly(f"third-party/{key}", {BASE: b, range(16, 28): c}, n=28)
    rows = [(month_start(p).isoformat()[:7], int(counts["Reports"][p]),
             int(counts["Positive outcomes"][p])) for p in range(28)]
    write_csv(pl.DataFrame(rows, schema=["month", "submissions", "positive_outcomes"],
                           orient="row"), "third-party-reports.csv")
    # Action Fraud: reports (83% fraud, 17% cyber) and losses.
    fraud = {}
    for k, total in enumerate((15_877, 17_206)):
        fraud[k] = alloc(total, [0.83, 0.17])
    rows = []
    for i, kind in enumerate(("Fraud", "Cyber crime")):
        reports = monthly(f"fraud/{kind}", {BASE: int(fraud[0][i]), CURRENT: int(fraud[1][i])})
        losses = monthly(f"fraud-losses/{kind}", {BASE: int(68_400_000 * (0.9 if i == 0
                                                                         else 0.1)),
                                                  CURRENT: int(82_200_000 * (0.9 if i == 0
                                                                             else 0.1))},
                         noise=0.25)
        for p in range(N_MONTHS):
            rows.append((month_start(p).isoformat(), kind, int(reports[p]), f"£{losses[p]:,}"))
    write_csv(pl.DataFrame(rows, schema=["Period", "Report Type", "Reports", "Reported Loss"],
                           orient="row"), "action-fraud.csv")
    # Neighbourhood crime as the force dashboard counts it, by LPA (para 5.2).
    reduction = {"Birmingham": None, "Coventry": 36.3, "Dudley": 22.0, "Sandwell": 23.0,
                 "Solihull": 24.2, "Walsall": 29.3, "Wolverhampton": 23.5}
    base_total, cur_total = 59_141, 45_184
    base = alloc(base_total, LPA_SHARE)
    cur = np.array([0 if reduction[lpa] is None else round(base[i] * (1 - reduction[lpa] / 100))
                    for i, lpa in enumerate(LPAS)])
    cur[0] = cur_total - cur[1:].sum()
    for i, lpa in enumerate(LPAS):
        if reduction[lpa] is not None:
            assert round((1 - cur[i] / base[i]) * 100, 1) == reduction[lpa]
    assert round((cur_total / base_total - 1) * 100, 1) == -23.6
    counts = {(lpa,): monthly(f"neighbourhood-crime/{lpa}", {BASE: int(base[i]),
                                                            CURRENT: int(cur[i])})
              for i, lpa in enumerate(LPAS)}
    write_csv(months_column(counts, ("LPA",), "Crimes", "Month"), "neighbourhood-crime.csv")
    build_stop_search()
    build_workforce()
    build_audits()
    build_justice()


ETHNIC_POPULATION = {"White": 1_987_000, "Asian": 524_000, "Black": 160_000,
                     "Mixed": 98_000, "Other": 52_000}


def ratio_counts(white: int, ratios: dict[str, float]) -> dict[str, int]:
    """Counts by ethnicity giving each group's disproportionality ratio against White."""
    out = {"White": white}
    for group, ratio in ratios.items():
        n = round(ratio * white * ETHNIC_POPULATION[group] / ETHNIC_POPULATION["White"])
        shown = (n / ETHNIC_POPULATION[group]) / (white / ETHNIC_POPULATION["White"])
        assert round(shown, 1) == ratio, (group, ratio, shown)
        out[group] = n
    return out


def build_stop_search() -> None:
    """stop-search.csv and use-of-force.csv, with the report's disproportionality ratios."""
    windows = {}
    for k, (white, asian, black) in enumerate(((11_800, 1.8, 2.9), (12_600, 1.8, 2.8))):
        searches = ratio_counts(white, {"Asian": asian, "Black": black})
        searches["Mixed"] = round(white * 0.05)
        searches["Other"] = round(white * 0.03)
        windows[k] = searches
    finds = {"Knife": (baseline_for(930, 4.6), 930), "Firearm": (102, 104)}
    rows = {}
    for group in ETHNIC_POPULATION:
        for k in range(2):
            total = windows[k][group]
            rows.setdefault(group, {})[k] = total
    cells: dict[tuple[str, str], list[int]] = {}
    groups = list(ETHNIC_POPULATION)
    for k in range(2):
        remaining = {g: rows[g][k] for g in groups}
        for find, amounts in finds.items():
            split = alloc(amounts[k], [rows[g][k] for g in groups])
            for g, n in zip(groups, split, strict=True):
                cells.setdefault((g, find), []).append(int(n))
                remaining[g] -= int(n)
        for g in groups:
            drugs = round(remaining[g] * 0.22)
            cells.setdefault((g, "Controlled drugs"), []).append(drugs)
            cells.setdefault((g, "Nothing found"), []).append(remaining[g] - drugs)
    counts = {key: monthly(f"stop-search/{key[0]}/{key[1]}", {BASE: v[0], CURRENT: v[1]},
                           noise=0.1)
              for key, v in cells.items()}
    sheet = months_column(counts, ("Self Defined Ethnicity", "Object Found"), "Searches",
                          "Month", uk=True)
    write_csv(sheet, "stop-search.csv")
    force = {}
    for k, (white, asian, black) in enumerate(((9_400, 0.7, 1.8), (9_900, 0.7, 1.7))):
        counts_k = ratio_counts(white, {"Asian": asian, "Black": black})
        counts_k["Mixed"] = round(white * 0.06)
        counts_k["Other"] = round(white * 0.03)
        force[k] = counts_k
    counts = {(g,): monthly(f"use-of-force/{g}", {BASE: force[0][g], CURRENT: force[1][g]},
                            noise=0.1) for g in groups}
    write_csv(months_column(counts, ("Ethnicity",), "Incidents", "Month"), "use-of-force.csv")


WORKFORCE = {  # role: (headcount base, current, women %, minoritised %) at April 2024, Sep 2025
    "Police officer": ((8_102, 8_124), (36.2, 37.0), (14.1, 15.0)),
    "PCSO": ((310, 317), (49.4, 46.4), (13.6, 17.4)),
    "Special constable": ((330, 298), (18.8, 18.8), (30.2, 29.7)),
    "Police staff": ((4_050, 4_190), (61.4, 60.9), (18.5, 21.4)),
}
SNAP = {12: 0, 29: 1}  # month positions of AT 2024-04 and AT 2025-09


def snapshot_series(name: str, values: tuple[float, float], noise: float) -> np.ndarray:
    """A monthly snapshot value: exact at April 2024 and September 2025, moving smoothly
    between them (see trend), with a little noise."""
    out = trend({range(12, 13): values[0], range(29, 30): values[1]})
    out = out + rng_for(name).normal(0, noise, N_MONTHS)
    for pos, k in SNAP.items():
        out[pos] = values[k]
    return out


def build_workforce() -> None:
    """workforce.csv (Table 2 and headcounts) and ethics-training.csv (Table 1)."""
    rows = []
    for role, (heads, women, minoritised) in WORKFORCE.items():
        head = np.round(snapshot_series(f"heads/{role}", heads, np.sqrt(heads[0])))
        draw = rng_for(f"workforce/{role}")
        w = snapshot_series(f"women/{role}", women, 0.1)
        m = snapshot_series(f"minoritised/{role}", minoritised, 0.1)
        for p in range(N_MONTHS):
            n = int(head[p])
            last = month_start(p).replace(day=days_in(p))
            # Between the two dates a share moves as joiners and leavers turn over: binomial.
            n_w = count_for(w[p], n) if p in SNAP else int(draw.binomial(n, w[p] / 100))
            # Representation is of those who stated an ethnicity (a few per cent do not).
            declared = n - max(1, round(n * 0.025))
            if p in SNAP:  # the stated share closest to the report's figure
                declared = min(range(declared - 8, declared + 1), key=lambda d: (
                    abs(100 * round(m[p] / 100 * d) / d - m[p]), -d))
            n_m = (count_for(m[p], declared) if p in SNAP
                   else int(draw.binomial(declared, m[p] / 100)))
            rows.append((last.strftime("%d/%m/%Y"), role, f"{n:,}", n_w, f"{declared:,}", n_m))
    write_csv(pl.DataFrame(rows, schema=["Snapshot Date", "Role Group", "Headcount", "Female",
                                         "Ethnicity Stated", "Racially Minoritised"],
                           orient="row"), "workforce.csv", bom=True)
    modules = {1: ("Ethical Policing", 96.0, 99.0), 2: ("Ethical Decision Making", 94.0, 99.0),
               3: ("Code of Practice", 94.0, 99.0), 4: ("Ethical Grey Areas", 63.0, 84.0),
               5: ("Guidance and Misconduct Allegations", 53.0, 89.0),
               6: ("Continuous Improvement", 50.0, 87.0), 7: ("Knowledge Check", 49.0, 87.0)}
    rows = []
    eligible = np.round(snapshot_series("ethics/eligible", (12_480, 12_631), 8))
    for number, (title, base, cur) in modules.items():
        rate = snapshot_series(f"ethics/{number}", (base, cur), 0.3)
        rate = np.minimum(rate, 99.6)
        draw = rng_for(f"ethics/{number}/done")
        for p in range(N_MONTHS):
            n = int(eligible[p])
            done = count_for(rate[p], n) if p in SNAP else int(draw.binomial(n, rate[p] / 100))
            rows.append((month_start(p).isoformat()[:7], f"Module {number}: {title}", n, done))
    write_csv(pl.DataFrame(rows, schema=["month", "module", "eligible", "completed"],
                           orient="row"), "ethics-training.csv")


def build_audits() -> None:
    """cdi-audits.csv: crime data integrity audits by category."""
    rows = []
    for category, (base, cur), volume in (("Violence", (92.0, 84.6), 1_800),
                                          ("Sexual offences", (95.2, 91.5), 1_000),
                                          ("Other", (94.1, 92.5), 2_600)):
        audited = monthly(f"cdi/{category}", {BASE: volume, CURRENT: volume},
                          amplitude=0.0, noise=0.12)
        rate = trend({BASE: base / 100, CURRENT: cur / 100}, rate=True)
        compliant = binomial(f"cdi/{category}", audited, rate)
        for k, window in enumerate((BASE, CURRENT)):
            idx = np.array(window)
            compliant[idx] = binomial_total(f"cdi/{category}/{k}",
                                            count_for((base, cur)[k], volume), audited[idx],
                                            rate[idx])
        for p in range(N_MONTHS):
            rows.append((month_start(p).strftime("%d/%m/%Y"), category, int(audited[p]),
                         int(compliant[p])))
    write_csv(pl.DataFrame(rows, schema=["Audit Month", "Crime Category", "Records Audited",
                                         "Records Compliant"], orient="row"), "cdi-audits.csv")


def build_justice() -> None:
    """crown-court.csv, complaints.csv, cps-case-quality.csv and drug-treatment.csv."""
    # Crown Court: completed cases, charge to completion in days; data end March 2025.
    rows = []
    first_year = range(0, 12)
    second_year = range(12, 24)
    cases = monthly("crown-court", {first_year: 3_100, second_year: 3_250}, n=24,
                    amplitude=0.05, noise=0.08)
    median = interp({first_year: 220, second_year: 183}, n=24)
    shift = np.concatenate([shifts(f"crown-court/{k}", cases[np.array(w)], 0.06)
                            for k, w in enumerate((first_year, second_year))])
    rng = rng_for("crown-court/rows")
    for p in range(24):
        values = cell_values(rng, int(cases[p]), int(cases[p]), int(round(median[p])), 900, 20,
                             900, int(shift[p]))
        for v, d in zip(values, dates_for(rng, p, len(values)), strict=True):
            rows.append((str(d), int(v)))
    frame = pl.DataFrame(rows, schema=["completion_date", "charge_to_completion_days"],
                         orient="row").sort(["completion_date", "charge_to_completion_days"])
    write_csv(frame, "crown-court.csv")
    # Complaints finalised, with working days to finalise (means 29 -> 27, 126 -> 183).
    rows = []
    for schedule, (base, cur), volume in (("Non-Schedule 3", (29, 27), 1_900),
                                          ("Schedule 3", (126, 183), 260)):
        n = monthly(f"complaints/{schedule}", {BASE: volume, CURRENT: volume}, noise=0.1)
        mean = np.exp(trend({BASE: np.log(base), CURRENT: np.log(cur)}))
        # A month's mean of n gamma(4) durations has a relative spread of 1 / sqrt(4 n).
        noise = rng_for(f"complaints/{schedule}/means").normal(0, 1, N_MONTHS) / np.sqrt(4 * n)
        sums = np.round(mean * n * np.exp(noise)).astype(np.int64)
        for window, target in ((BASE, base), (CURRENT, cur)):
            idx = np.array(window)
            sums[idx] = alloc(target * int(n[idx].sum()), (mean * n * np.exp(noise))[idx])
        rng = rng_for(f"complaints/{schedule}/rows")
        for p in range(N_MONTHS):
            count = int(n[p])
            values = np.maximum(1, np.round(rng.gamma(4, mean[p] / 4, count)))
            values = adjust_sum(rng, values, np.ones(count, np.int64),
                                np.full(count, 10 * int(mean[p]), np.int64), int(sums[p]))
            for v, d in zip(values, dates_for(rng, p, count), strict=True):
                rows.append((d.item(), schedule, int(v)))
    frame = pl.DataFrame(rows, schema=["Date Finalised", "Complaint Type",
                                       "Working Days To Finalise"], orient="row")
    frame = frame.sort(frame.columns).with_columns(
        pl.col("Date Finalised").dt.strftime("%d/%m/%Y"))
    write_csv(frame, "complaints.csv")
    # CPS case file quality: a monthly snapshot; data end August 2025 (a month behind).
    rows = []
    rate = trend({range(12, 13): 59.5, range(28, 29): 68.9}, n=29)
    draw = rng_for("cps")
    assessed = monthly("cps/assessed", {range(0, 29): 29 * 420}, n=29, noise=0.1)
    for p in range(29):
        n = int(assessed[p])
        value = 59.5 if p == 12 else 68.9 if p == 28 else rate[p]
        while p in (12, 28) and not representable(value, n):
            n += 1
        good = count_for(value, n) if p in (12, 28) else int(draw.binomial(n, value / 100))
        rows.append((month_start(p).isoformat()[:7], n, good))
    write_csv(pl.DataFrame(rows, schema=["month", "files_assessed", "files_meeting_standard"],
                           orient="row"), "cps-case-quality.csv")
    # Drug and alcohol treatment entries: annual data, April 2022 to March 2024.
    first = date(2022, 4, 1)
    entries = monthly("drug-treatment", {range(0, 12): baseline_for(9_390, 14.2),
                                         range(12, 24): 9_390}, n=24, first=first,
                      amplitude=0.03)
    rows = [(month_start(p, first).strftime("%d/%m/%Y"), int(entries[p])) for p in range(24)]
    write_csv(pl.DataFrame(rows, schema=["Month", "People Entering Treatment"], orient="row"),
              "drug-treatment.csv")


def main(folder: Path = HERE) -> None:
    """Write every extract and reference file into `folder`."""
    global OUT
    OUT = folder / "extracts"
    OUT.mkdir(parents=True, exist_ok=True)
    write_harm_weights(folder)
    crime = build_crimes()
    build_outcomes(crime)
    build_asb()
    build_incidents()
    build_calls()
    build_sheets()


if __name__ == "__main__":
    import sys

    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
