"""The board paper's figures: which charts a project declares, and PNG files drawn from data
computed beforehand (`ChartData`, made by kpi.board): drawing reads no data.

Charts are declared in kpi.toml as `[[charts]]` tables, so which figures a paper has is
configuration, not code:

    [[charts]]
    id = "asb_trend"            # file name and anchor
    type = "trend"              # trend | compare | top | xmr
    title = "ASB incidents"
    kpis = ["asb_incidents"]    # trend: one or two KPIs; compare, top and xmr: one
    by = "lpa"                  # compare and top: the breakdown column
    limit = 10                  # top: how many parts (default 10)
    months = 24                 # trend: months shown (default 24)
    after = "asb_incidents"     # the paragraph the figure follows (default: the first KPI)

An `xmr` chart is the KPI's process chart (docs/statistics.md): monthly points, mean, process
limits (as steps where they were recalculated), special-cause months marked by their class, and
the target. The board paper adds one for every KPI with a special cause or a target.

Drawing uses Matplotlib's Agg backend only (no display), a fixed size and resolution, and
no timestamp or version in the PNG metadata, so the same data gives byte-identical files.
Everything is drawn in black and greys, told apart by line style, marker and hatching, so a
figure still reads when printed in greyscale.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from kpi.catalogue import BOUNDS, ID_PATTERN, TOTAL_KINDS, Kind, KpiDef, Project, Unit
from kpi.errors import ConfigError, SystemRefusal
from kpi.periods import Month
from kpi.progress import Progress, Step
from kpi.rounding import fixed

if TYPE_CHECKING:
    from kpi.stats import Xmr

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.0, 100
CHART_KEYS = frozenset({"id", "type", "title", "kpis", "by", "limit", "months", "after"})
# Series styles in the order a chart uses them: never colour alone.
LINE_STYLES = (
    {"color": "0.55", "linestyle": "-", "marker": "o", "markersize": 3.5, "linewidth": 1.0},
    {"color": "0.0", "linestyle": "--", "marker": None, "linewidth": 2.2},
    {"color": "0.3", "linestyle": ":", "marker": "s", "markersize": 3.5, "linewidth": 1.2},
    {"color": "0.15", "linestyle": "-.", "marker": None, "linewidth": 2.0},
)
BAR_STYLES = (
    {"color": "0.85", "edgecolor": "0.0", "hatch": "///"},
    {"color": "0.35", "edgecolor": "0.0", "hatch": ""},
)
UNIT_AXIS = {
    Unit.COUNT: "count", Unit.PERCENT: "%", Unit.SECONDS: "seconds", Unit.DAYS: "days",
    Unit.RATIO: "ratio", Unit.SCORE: "score", Unit.PER_1000: "per 1,000 population",
    Unit.GBP: "£", Unit.NUMBER: "value",
}


class ChartType(StrEnum):
    TREND = "trend"      # monthly (or quarterly) values and the rolling 12-month line
    COMPARE = "compare"  # current against comparison window, per part of a breakdown
    TOP = "top"          # the largest parts of a breakdown in the current window
    XMR = "xmr"          # the process chart of the monthly values (docs/statistics.md)
    PEERS = "peers"      # the KPI across its peer group (added by the paper, not declared)


DECLARED = tuple(t for t in ChartType if t != ChartType.PEERS)


@dataclass(frozen=True)
class ChartSpec:
    id: str
    type: ChartType
    title: str
    kpis: tuple[str, ...]
    by: str | None = None
    limit: int = 10
    months: int = 24
    after: str = ""

    @property
    def anchor(self) -> str:
        """The KPI whose paragraph the figure follows."""
        return self.after or self.kpis[0]


def chart_specs(project: Project) -> list[ChartSpec]:
    """The [[charts]] of a project, checked against its KPIs; every problem reported at once."""
    raw = project.raw.get("charts") or []
    problems: list[str] = []
    specs: list[ChartSpec] = []
    seen: set[str] = set()
    for number, item in enumerate(raw, start=1):
        spec = _chart_spec(project, number, item, seen, problems)
        if spec is not None:
            specs.append(spec)
    if problems:
        count = len(problems)
        raise ConfigError("\n".join(f"{project.path}: {p}" for p in problems),
                          hint=f"{count} problem{'s' if count > 1 else ''} in [[charts]]")
    return specs


def _chart_spec(project: Project, number: int, item: Any, seen: set[str],
                problems: list[str]) -> ChartSpec | None:
    if not isinstance(item, dict):
        problems.append(f"chart #{number}: must be a table")
        return None
    cid = item.get("id")
    where = f"chart '{cid}'" if isinstance(cid, str) else f"chart #{number}"
    before = len(problems)
    if not isinstance(cid, str) or not ID_PATTERN.match(cid):
        problems.append(f"{where}, key 'id': needs an id of lower case letters, digits and _")
    elif cid in seen:
        problems.append(f"{where}, key 'id': is declared twice")
    seen.add(str(cid))
    for key in sorted(set(item) - CHART_KEYS):
        known = ", ".join(sorted(CHART_KEYS))
        problems.append(f"{where}, key '{key}': unknown key (one of {known})")
    try:
        ctype = ChartType(item.get("type"))
        if ctype == ChartType.PEERS:
            raise ValueError(ctype)  # the paper adds these for KPIs with `peers = "..."`
    except ValueError:
        problems.append(f"{where}, key 'type': must be one of "
                        f"{', '.join(t.value for t in DECLARED)}")
        return None
    title = item.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(f"{where}, key 'title': is required")
    kpis = item.get("kpis")
    most = 2 if ctype == ChartType.TREND else 1
    whole = ctype in (ChartType.TREND, ChartType.XMR)  # charts of a whole KPI, no breakdown
    if (not isinstance(kpis, list) or not 1 <= len(kpis) <= most
            or not all(isinstance(k, str) for k in kpis)):
        problems.append(f"{where}, key 'kpis': a {ctype.value} chart takes "
                        + ("one or two KPI ids" if most == 2 else "one KPI id"))
        return None
    for kpi_id in kpis:
        if project.kpi(kpi_id) is None:
            problems.append(f"{where}, key 'kpis': '{kpi_id}' is not a KPI")
    by = item.get("by")
    if whole:
        if by is not None:
            problems.append(f"{where}, key 'by': a {ctype.value} chart has no breakdown")
    elif not isinstance(by, str):
        problems.append(f"{where}, key 'by': a {ctype.value} chart needs a breakdown column")
    elif (kpi := project.kpi(kpis[0])) is not None:
        if kpi.is_derived or kpi.dataset is None:
            problems.append(f"{where}, key 'kpis': '{kpi.id}' has no dataset to break down")
        elif not project.datasets[kpi.dataset].has_column(by):
            # A derived column too, as a KPI's breakdowns: police.uk's local authority is
            # cut from the LSOA name, and a chart of it was refused as no column.
            problems.append(f"{where}, key 'by': '{by}' is not a column of dataset "
                            f"'{kpi.dataset}'")
    numbers = {}
    # A trend of more than 50 years, or a ranking of more than 1,000 bars, is a mistake: drawn,
    # months = 100000000 ran out of memory. The ranges are kpi.catalogue.BOUNDS'.
    for key, default in (("limit", 10), ("months", 24)):
        value = item.get(key, default)
        if problem := BOUNDS[f"charts.{key}"].problem(value):
            problems.append(f"{where}, key '{key}': {problem}")
            value = default
        numbers[key] = int(value)
    if ctype == ChartType.TREND and (mixed := mixed_steps(project, kpis)):
        problems.append(f"{where}, key 'kpis': {mixed}")
    after = item.get("after", "")
    if after and (not isinstance(after, str) or project.kpi(after) is None):
        problems.append(f"{where}, key 'after': '{after}' is not a KPI")
    if len(problems) > before or not isinstance(title, str):
        return None
    return ChartSpec(id=str(cid), type=ctype, title=title.strip(), kpis=tuple(kpis), by=by,
                     limit=numbers["limit"], months=numbers["months"], after=after)


def mixed_steps(project: Project, kpis: Sequence[str]) -> str | None:
    """Why a trend cannot draw these KPIs together, or None: one read by quarter
    (`catalogue.reads_quarters`) and one by month. A quarter's point stands for three months and
    a month's for one, so on one axis of rows neither its places nor (for a total) its scale
    would be the other's."""
    from kpi.catalogue import reads_quarters

    known = [k for kpi_id in kpis if (k := project.kpi(kpi_id)) is not None]
    steps = {k.id: reads_quarters(project, k) for k in known}
    if len(set(steps.values())) < 2:
        return None
    by_quarter = next(k for k, q in steps.items() if q)
    by_month = next(k for k, q in steps.items() if not q)
    return (f"'{by_quarter}' is read from quarterly rows and '{by_month}' from monthly ones; "
            "a trend draws KPIs of one or the other (declare a chart for each)")


# ---------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class ChartData:
    """What one chart draws: numbers only, computed beforehand (kpi.board), so drawing reads
    no data and asks nothing of the engine."""

    spec: ChartSpec
    kpis: tuple[KpiDef, ...]
    window_text: str  # the data window, named on the chart
    series: tuple[pl.DataFrame, ...] = ()  # trend: month, value, rolling_12 per KPI
    # trend: each row of the series a quarter (its month the quarter's first, its value the
    # quarter's: `catalogue.reads_quarters`), drawn and labelled as quarters
    quarterly: bool = False
    parts: pl.DataFrame | None = None      # compare / top: a frame of engine.breakdowns
    current_label: str = ""
    comparison_label: str = ""
    xmr: Xmr | None = None                 # xmr: the process chart
    target: float | None = None
    force_value: float | None = None       # compare: the KPI's value for the whole force
    # peers: parts holds part, value (per 1,000 population or the KPI's own), focus (bool)
    peer_mean: float | None = None         # peers: the group mean of the values drawn
    per_1000: bool = False                 # peers: values are per 1,000 population
    # peers: per 1,000 of [population_by] figures marked illustrative (its axis says so)
    illustrative_populations: bool = False
    group_title: str = ""                  # peers: the group's title
    # xmr of several KPIs: one process chart each, drawn side by side in one figure (the
    # board paper's exceptions, so a paper of many exceptions stays within its figures)
    panels: tuple[ChartData, ...] = ()
    # compare / top: the breakdown column as the paper names it ("small area (LSOA)"), so the
    # axis says what the text says ("Lsoa name" stood beside "By small area (LSOA), ...")
    by_label: str = ""


# ---------------------------------------------------------------------------------------------
# Drawing


def unit_axis(kpi: KpiDef) -> str:
    """A KPI's unit as an axis names it: the name its figures are printed with
    (`render.unit_name`: its `unit_label`, 'working days', or 'days'), else the unit's own
    word ('count', '%', 'per 1,000 population')."""
    from kpi.render import unit_name

    if kpi.unit == Unit.PER_1000 and kpi.kind != Kind.PER_1000 and not unit_name(kpi):
        return "per 1,000"  # of what the KPI counts: a population divides a per_1000 KPI only
    return unit_name(kpi) or UNIT_AXIS[kpi.unit]


def axis_label(kpi: KpiDef, per_month: bool = False, width: int = 38,
               per_quarter: bool = False) -> str:
    """'ASB incidents (count)': the KPI and its unit (and ', per month' for a 12-month total
    drawn month by month, ', per quarter' quarter by quarter), wrapped to fit beside an axis:
    `width` characters a line beside an upright axis, more under a level one (the bar
    charts' value axis)."""
    import textwrap

    unit = unit_axis(kpi)
    # A title that already names its unit ('... (millions of days)', '... (working days)') is
    # not given it twice; one whose brackets say something else ('Public confidence (regional
    # perception survey)', ticks of 60 and 70) is given it after a comma, where the brackets
    # alone left the axis with no unit.
    title = kpi.title.rstrip()
    named = unit.lower() in title.lower() or unit.split()[-1].lower() in title.lower()
    label = title if named else f"{title}, {unit}" if title.endswith(")") else f"{title} ({unit})"
    lines = textwrap.wrap(label, width)
    # "per month" goes on a line of its own where the last one has no room for it: added
    # after wrapping, a label ran past the top of the chart ("Crime harm score (millions of
    # days), per mont"), and wrapped with the rest it split as "per / month".
    if per_month or per_quarter:
        per = "per quarter" if per_quarter else "per month"
        lines[-1] += ","
        if len(lines[-1]) + len(per) + 1 > width:
            lines.append(per)
        else:
            lines[-1] += f" {per}"
    return "\n".join(lines)


# A label under a level axis has the chart's width: "Emergency incidents attended within 15
# minutes (%)" on one line, where the 38 characters of an upright axis split it.
LEVEL_AXIS = 80


# Fixed fonts and sizes: the output must not depend on a user's matplotlibrc.
STYLE: dict[Any, Any] = {
    "font.family": "DejaVu Sans", "font.size": 9, "axes.titlesize": 11,
    "axes.grid": True, "grid.color": "0.88", "grid.linewidth": 0.6,
    "path.simplify": False,
    # Text from data is text: a '$' in a title or a part name is not TeX math.
    "text.parse_math": False,
    # The title sits just above the axes, where Matplotlib would put it anyway (no chart
    # has tick labels on top); left to itself, Matplotlib measures every tick label of
    # the axes at each draw to check, a tenth of a chart's drawing time.
    "axes.titley": 1.0
}
# What a worker process drawing charts needs, imported once in the process it forks from.
DRAWING_MODULES = ("kpi.charts", "matplotlib.figure", "matplotlib.backends.backend_agg",
                   "matplotlib.ticker", "matplotlib.patches", "PIL.Image",
                   "PIL.PngImagePlugin")
# Drawing in worker processes pays for itself from about this many charts (each takes about
# 0.1 s of CPU; starting the workers and importing Matplotlib in them about 0.6 s).
POOL_FROM = 12
MAX_WORKERS = 4


def write_pngs(jobs: Sequence[tuple[ChartData, Path]], workers: int | None = 1,
               cache: Path | None = None, progress: Progress | None = None) -> None:
    """Draw charts into PNG files, here or in `workers` worker processes (None: as many as
    pay, see `chart_workers`). Each chart is drawn by `png_bytes` whichever process draws
    it, so the bytes are the same, and every file is written by this process. Worker
    processes start from the caller's main module, so a script asking for them needs the
    `if __name__ == "__main__":` guard; kpi's command line has it. With a `cache` folder, a
    chart drawn before from the same data, by the same code and libraries, is copied from
    there instead of drawn again. `progress` is told each chart written (kpi.progress)."""
    keys: dict[Path, str] = {}
    total, written = len(jobs), 0

    def wrote() -> None:
        nonlocal written
        written += 1
        if progress is not None:
            progress(Step("charts", "charts", written, total))

    if cache is not None:
        missing = []
        for data, path in jobs:
            keys[path] = chart_key(data)
            if _from_cache(cache / f"{keys[path]}.png", path):
                wrote()
            else:
                missing.append((data, path))
        jobs = missing
    _draw_all(jobs, chart_workers(len(jobs)) if workers is None else workers, wrote)
    if cache is not None and jobs:
        _to_cache(cache, [(keys[path], path) for _, path in jobs])


def chart_key(data: ChartData) -> str:
    """What a chart's bytes depend on, hashed: everything it draws (its declaration, KPIs,
    windows, series, parts, process chart, target), kpi's code and drawing style, and the
    versions of Matplotlib (its fonts come with it) and Pillow."""
    import hashlib

    digest = hashlib.sha256(_drawing_fingerprint().encode("utf-8"))
    digest.update(_canonical(data).encode("utf-8"))
    return digest.hexdigest()


@functools.cache
def _drawing_fingerprint() -> str:
    """kpi's version and code (every source file's size and time, as the answer cache
    takes them: labels are formatted by kpi.render, months named by kpi.periods), the style,
    and the versions of the drawing libraries, without importing them."""
    from importlib.metadata import version

    from kpi import __version__
    from kpi.catalogue import code_fingerprint

    return repr((__version__, code_fingerprint(), sorted(STYLE.items()),
                 version("matplotlib"), version("pillow")))


def _canonical(value: Any) -> str:
    """A value as text that is the same in every process for the same value (frames as their
    schema and rows; floats by repr, which is exact). A dataclass's fields that are not part
    of its value (`compare=False`: where in kpi.toml a KPI's target is written) are left out,
    so moving a line of the file draws no chart again."""
    import dataclasses

    if isinstance(value, pl.DataFrame):
        return repr((list(value.schema.items()), value.rows()))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return f"{type(value).__name__}(" + ", ".join(
            f"{f.name}={_canonical(getattr(value, f.name))}"
            for f in dataclasses.fields(value) if f.compare) + ")"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_canonical(v) for v in value) + ")"
    return repr(value)


# Drawn charts kept in the cache folder: a paper of the sample draws about 70.
CACHE_CHARTS = 1000


def _from_cache(entry: Path, path: Path) -> bool:
    """Copy a cached chart into place; False when there is none (or it cannot be read)."""
    try:
        content = entry.read_bytes()
    except OSError:
        return False
    _write_file(path, content)
    return True


def _to_cache(cache: Path, drawn: list[tuple[str, Path]]) -> None:
    """Keep newly drawn charts, the newest CACHE_CHARTS in all. A folder that cannot be
    written (a read-only data folder) just caches nothing."""
    import os

    try:
        cache.mkdir(parents=True, exist_ok=True)
        for key, path in drawn:
            tmp = cache / f".{key}.{os.getpid()}.tmp"
            tmp.write_bytes(path.read_bytes())
            tmp.replace(cache / f"{key}.png")
        entries = sorted(cache.glob("*.png"), key=lambda p: p.stat().st_mtime)
        for stale in entries[:-CACHE_CHARTS]:
            stale.unlink(missing_ok=True)
    except OSError:
        return


def _draw_all(jobs: Sequence[tuple[ChartData, Path]], workers: int,
              wrote: Callable[[], None]) -> None:
    if workers <= 1:
        for data, path in jobs:
            write_png(data, path)
            wrote()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # A forkserver (spawn where there is none) starts clean workers: forking this process
    # would copy Polars' thread pool in an unknown state.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() \
        else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(list(DRAWING_MODULES))
    from concurrent.futures.process import BrokenProcessPool

    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            # Workers only draw; this process writes every file, so a worker outliving a
            # killed export writes nothing, and a write error (a full disk) is raised here.
            drawn = pool.map(png_bytes, [d for d, _ in jobs],
                             chunksize=max(1, len(jobs) // (workers * 4)))
            for (_, path), content in zip(jobs, drawn, strict=True):
                _write_file(path, content)
                wrote()
    except BrokenProcessPool:
        raise SystemRefusal("a process drawing the paper's charts stopped before it was done "
                            "(out of memory, killed, or started by a script whose code is not "
                            'under  if __name__ == "__main__":)',
                            hint="set KPI_CHART_WORKERS=1 to draw the charts in this process; "
                                 'in a script, put its code under  if __name__ == "__main__":'
                            ) from None


def chart_workers(charts: int) -> int:
    """How many processes draw `charts` charts: one per core this process may use, at most
    MAX_WORKERS and one per POOL_FROM charts; 1 (no workers) below POOL_FROM or on one core.
    KPI_CHART_WORKERS sets the number (1: draw in this process)."""
    import os

    wanted = os.environ.get("KPI_CHART_WORKERS", "").strip()
    if wanted:
        from kpi.periods import whole_number

        if (whole_number(wanted) or 0) < 1:  # ASCII digits, as every typed number
            from kpi.errors import UsageError

            raise UsageError(f"KPI_CHART_WORKERS must be a whole number of processes, at "
                             f"least 1; found '{wanted[:40]}'",
                             hint="unset it to draw with one process per core")
        return int(wanted)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    if charts < POOL_FROM:
        return 1
    return max(1, min(cores, MAX_WORKERS, charts // POOL_FROM))


def write_png(data: ChartData, path: Path) -> None:
    """Draw a chart into a PNG file, byte-stable for the same data."""
    _write_file(path, png_bytes(data))


def _write_file(path: Path, content: bytes) -> None:
    """Write a file whole: a reader sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    tmp.replace(path)


def png_bytes(data: ChartData) -> bytes:
    """A chart drawn as PNG bytes, the same for the same data."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = drawn_figure(data).canvas
    assert isinstance(canvas, FigureCanvasAgg)
    # The pixels of the one draw saved as an 8-bit greyscale PNG with fast compression.
    # `savefig` lays the figure out and draws it twice, and compresses four RGBA channels
    # where one grey channel holds the same picture (every colour here is a grey): this
    # halves the time per chart and the file size, and the bytes are as stable as before.
    # A memoryview is a buffer PIL reads without a copy; its stubs name only bytes.
    image = Image.frombuffer("RGBA", canvas.get_width_height(),
                             canvas.buffer_rgba(),  # pyright: ignore[reportArgumentType]
                             "raw", "RGBA", 0, 1)
    out = io.BytesIO()
    image.convert("L").save(out, format="png", compress_level=1, dpi=(DPI, DPI))
    return out.getvalue()


def drawn_figure(data: ChartData):
    """A chart's Matplotlib figure, laid out (`_place`) and drawn once on an Agg canvas."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with rc_context(STYLE):
        if data.panels:
            figure = _draw_panels(data)
        else:
            figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
            FigureCanvasAgg(figure)
            axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))  # placed by _place
            DRAW[data.spec.type](figure, axes, data)
            axes.set_axisbelow(True)
            title = axes.set_title(f"{data.spec.title}\n{_capital(data.window_text)}",
                                   loc="left")
            # A trend of two units has a twin axes, on the right, sharing the months.
            twin = figure.axes[1] if len(figure.axes) > 1 else None
            _place(figure, [Cell(axes, title, twin)])
        figure.canvas.draw()
    return figure


# The layout: figures are of a fixed size, so kpi places each axes itself (`_place`) from
# what it holds, measured once before the one draw: the widest tick label beside an axis,
# the tallest under it, the axis labels, the title and the legend. Matplotlib's constrained
# layout measured every axis, tick label, title and legend twice per draw, a third of the
# drawing time (docs/performance.md). Lengths are in pixels at DPI.
EDGE = 6         # white left at each edge of the figure
GAP = 6          # between a legend, or a panel's title, and what is above it
PANEL_GAP = 16   # between two panels side by side
MIN_AXES = (0.5, 1 / 3)  # the least share of its cell's width and height an axes keeps


@dataclass(frozen=True)
class Cell:
    """One axes to place: its title's text and, for a trend of two units, its twin axes."""

    axes: Any
    title: Any
    twin: Any = None


def _pixels(points: float) -> float:
    return points * DPI / 72


def _fixed_ticks(axis) -> None:
    """Fix an axis' ticks at those its locator draws inside the view: Matplotlib asks the
    locator again at every draw and makes a tick, two lines and two texts, for each value
    it gives, outside the view too, to throw them away."""
    from matplotlib.ticker import FixedLocator

    if isinstance(axis.get_major_locator(), FixedLocator) or not axis.get_visible():
        return
    low, high = sorted(axis.get_view_interval())
    slack = (high - low) * 1e-9
    axis.set_major_locator(FixedLocator(
        [v for v in axis.get_majorticklocs() if low - slack <= v <= high + slack]))


class _Measures:
    """What `_place` measures, each once: tick labels (once the axis' ticks are fixed),
    axis labels, titles."""

    def __init__(self, renderer) -> None:
        from matplotlib import rcParams

        self.renderer = renderer
        self.ticks: dict[int, tuple[float, float, bool]] = {}
        # Each tick's mark and its gap to the label.
        self.tick = _pixels(rcParams["xtick.major.size"] + rcParams["xtick.major.pad"])
        self.titlepad = _pixels(rcParams["axes.titlepad"])

    def tick_labels(self, axis) -> tuple[float, float, bool]:
        """The width of the widest tick label of an axis and the height of the tallest, as
        drawn (turned labels by their turned box), and whether they are turned; nothing
        while the axis' ticks are not fixed."""
        from matplotlib.ticker import FixedLocator

        if not isinstance(axis.get_major_locator(), FixedLocator):
            return 0.0, 0.0, False
        if id(axis) not in self.ticks:
            labels = [t for t in axis.get_ticklabels() if t.get_text()]
            boxes = [t.get_window_extent(self.renderer) for t in labels]
            self.ticks[id(axis)] = (max((b.width for b in boxes), default=0.0),
                                    max((b.height for b in boxes), default=0.0),
                                    any(t.get_rotation() for t in labels))
        return self.ticks[id(axis)]

    def beside(self, axis) -> float:
        """Room beside an upright axis: tick marks, tick labels and the axis label."""
        widest = self.tick_labels(axis)[0]
        label = self.size(axis.label)[0]
        return widest + self.tick + (label + _pixels(axis.labelpad) if label else 0.0)

    def size(self, text) -> tuple[float, float]:
        if not text.get_text():
            return 0.0, 0.0
        box = text.get_window_extent(self.renderer)
        return box.width, box.height

    def margins(self, cell: Cell) -> tuple[float, float, float, float]:
        """Room left, right, below and above an axes for its labels, in pixels."""
        axes = cell.axes
        widest, tallest, turned = self.tick_labels(axes.xaxis)
        # A level label is centred on its tick: half of it may stand past the axes' end.
        right = self.beside(cell.twin.yaxis) if cell.twin is not None else \
            (0.0 if turned else widest / 2)
        xlabel = self.size(axes.xaxis.label)[1]
        below = tallest + self.tick + (xlabel + _pixels(axes.xaxis.labelpad) if xlabel else 0.0)
        return (self.beside(axes.yaxis), right, below,
                self.size(cell.title)[1] + self.titlepad)


def _place(figure, cells: Sequence[Cell], columns: int = 1) -> None:
    """Place each axes of a figure in a grid of `columns`, the legend (if any) centred at the
    foot, each axes' labels beside its tick labels; every cell takes the largest margins of
    all, so panels line up. Twice: first without the ticks a locator chooses, which depend
    on the axes' size; then, those ticks fixed for that size, with them."""
    measures = _Measures(figure.canvas.get_renderer())
    foot = sum(legend.get_window_extent(measures.renderer).height + GAP
               for legend in figure.legends)
    width, height = figure.bbox.width, figure.bbox.height
    rows = -(-len(cells) // columns)
    for final in (False, True):
        if final:
            for cell in cells:
                for axes in (cell.axes, cell.twin):
                    if axes is not None:
                        _fixed_ticks(axes.xaxis)
                        _fixed_ticks(axes.yaxis)
        margins = [measures.margins(cell) for cell in cells]
        left, right, below, above = (max(m[i] for m in margins) for i in range(4))
        if columns > 1:
            right += PANEL_GAP
        cell_w = (width - 2 * EDGE) / columns
        pitch = (height - 2 * EDGE - foot) / rows
        cell_h = pitch - (GAP if rows > 1 else 0)  # a gap above a row's title
        # Labels too long for the figure (a part named in 150 characters) are cut at its
        # edge rather than the axes squeezed to nothing: the axes keep half their cell's
        # width and a third of its height, and the labels beside and above give way.
        left = max(0.0, min(left, cell_w * (1 - MIN_AXES[0]) - right))
        right = min(right, cell_w * (1 - MIN_AXES[0]))
        above = max(0.0, min(above, cell_h * (1 - MIN_AXES[1]) - below))
        below = min(below, cell_h * (1 - MIN_AXES[1]))
        w, h = cell_w - left - right, cell_h - below - above
        for number, cell in enumerate(cells):
            row, column = divmod(number, columns)
            x0 = EDGE + column * cell_w + left
            y0 = EDGE + foot + (rows - 1 - row) * pitch + below
            box = (x0 / width, y0 / height, w / width, h / height)
            for axes in (cell.axes, cell.twin):
                if axes is not None:
                    axes.set_position(box)
            if final:
                _label_places(cell, measures, w, h)


def _label_places(cell: Cell, measures: _Measures, w: float, h: float) -> None:
    """Each axis label just beyond its tick labels, so Matplotlib need not measure them
    again at the draw to find its place."""
    yaxis, xaxis = cell.axes.yaxis, cell.axes.xaxis
    widest = measures.tick_labels(yaxis)[0]
    yaxis.set_label_coords(-(widest + measures.tick + _pixels(yaxis.labelpad)) / w, 0.5)
    if cell.twin is not None:
        twin = cell.twin.yaxis
        widest = measures.tick_labels(twin)[0]
        twin.set_label_coords(1 + (widest + measures.tick + _pixels(twin.labelpad)) / w, 0.5)
    tallest = measures.tick_labels(xaxis)[1]
    xaxis.set_label_coords(0.5, -(tallest + measures.tick + _pixels(xaxis.labelpad)) / h)


def _legend(figure, handles=None, ncol: int = 2) -> None:
    """The figure's legend, centred at its foot (`_place` leaves room for it)."""
    kwargs = {} if handles is None else {"handles": handles}
    figure.legend(**kwargs, loc="lower center", bbox_to_anchor=(0.5, EDGE / figure.bbox.height),
                  borderaxespad=0, ncol=ncol, fontsize=8, frameon=False)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _month_labels(months: list[str]) -> list[str]:
    """'Oct 23' style tick labels."""
    out = []
    for text in months:
        month = Month.parse(text)
        out.append(f"{month.name[:3]} {month.year % 100:02d}")
    return out


def _quarter_labels(months: list[str]) -> list[str]:
    """'Oct–Dec 23' style tick labels, a quarter's by its first month."""
    out = []
    for text in months:
        first = Month.parse(text)
        out.append(f"{first.name[:3]}\u2013{(first + 2).name[:3]} {first.year % 100:02d}")
    return out


def _draw_trend(figure, axes, data: ChartData) -> None:
    """Each KPI's points and its 12-month line, in one unit: a total kind's 12-month total
    as the average month (or, drawn by quarter, the average quarter) of its year, beside the
    months' (or quarters') own totals. A quarter's total was drawn as a month's, "Charges:
    monthly" at 330 on an axis "per month" beside a 12-month average of 110."""
    handles = []
    rows, per_year = ("quarterly", 4) if data.quarterly else ("monthly", 12)
    twin = None
    two_axes = len(data.kpis) == 2 and data.kpis[1].unit != data.kpis[0].unit
    for number, (kpi, frame) in enumerate(zip(data.kpis, data.series, strict=True)):
        # A second KPI in another unit gets its own axis, on the right; the legend says which
        # axis each series is read against.
        target = axes
        side = ("left axis", "right axis")[number] if two_axes else ""
        if number == 1 and two_axes:
            twin = target = axes.twinx()
            twin.grid(False)
        x = list(range(frame.height))
        points = LINE_STYLES[2 * number]
        rolling = LINE_STYLES[2 * number + 1]
        suffix = f" ({side})" if side else ""
        handles += target.plot(x, _values(frame["value"]),
                               label=f"{kpi.title}: {rows}{suffix}", **points)
        total = kpi.kind in TOTAL_KINDS
        if frame["rolling_12"].is_not_null().any():
            # A 12-month total of a count is twelve times its months (four times its
            # quarters); shown as their average it sits on the same scale as the points.
            rolled = frame["rolling_12"] / per_year if total else frame["rolling_12"]
            label = ("12-month average per quarter" if data.quarterly else "12-month average") \
                if total else "rolling 12 months"
            handles += target.plot(x, _values(rolled), label=f"{kpi.title}: {label}{suffix}",
                                   **rolling)
        # A total kind's text figure is a 12-month total; the chart is per month (or per
        # quarter), and says so.
        target.set_ylabel(axis_label(kpi, per_month=total and not data.quarterly,
                                     per_quarter=total and data.quarterly))
        _thousands(target.yaxis, kpi)
    if data.target is not None and data.kpis[0].kind not in TOTAL_KINDS:
        goal = _bar_text(data.target, data.kpis[0])
        handles.append(axes.axhline(data.target, color="0.0", linestyle=(0, (1, 1.5)),
                                    linewidth=1.2,
                                    label=f"{_target_word(data.kpis[0])}: {goal}"))
    months = data.series[0]["month"].to_list()
    # A tick a quarter apart for months, a year apart for quarters, where there are many.
    step = (4 if data.quarterly else 3) if len(months) > 12 else 1
    ticks = _quarter_labels(months) if data.quarterly else _month_labels(months)
    axes.set_xticks(range(0, len(months), step))
    axes.set_xticklabels(ticks[::step], rotation=45, ha="right")
    axes.set_xlabel("Quarter" if data.quarterly else "Month")
    _legend(figure, handles, ncol=1 if two_axes else 2)


def _values(column: pl.Series) -> list[float]:
    # Gaps stay gaps: a missing month is NaN, which Matplotlib leaves undrawn.
    return [float("nan") if v is None else v for v in column.to_list()]


def _parts_of(data: ChartData) -> pl.DataFrame:
    assert data.parts is not None, f"a {data.spec.type.value} chart draws parts"
    return data.parts


# A part's name as an axis prints it: PART_LINE characters a line, on two lines where the
# chart has room (PART_TWO_LINES parts at most) and one where it has not, a longer name cut
# in the middle at words, "…" between its start and its last words, which tell parts apart
# ("Stratford-upon-Avon St Mary's … Area 001A"; cut at its end, three areas read alike).
# The paper's sentences name every part in full. A name of 150 characters ran past the
# figure's edge, cut off mid-letter.
PART_LINE = 40
PART_TWO_LINES = 6
PART_TAIL = 14  # the most characters of a cut name's last words kept after the "…"


def part_labels(names: Sequence[str]) -> list[str]:
    """Each part's name as a chart's axis prints it, whole where it fits (`PART_LINE`). Two
    names cut alike ("Birmingham Central and … Unit East" for the North and the South ward of
    one long name: their bars read as one part's twice) are cut again from the first word in
    which they differ ("… North Ward Central … Area 001A"), so no two parts share a label.
    Names that differ only in characters that print alike are told apart by naming those
    characters (`kpi.text.told_apart`: "Route \u20131 (en dash)", "Route \u22121 (minus
    sign)")."""
    from kpi.text import told_apart

    names = told_apart(names)
    most = 2 if len(names) <= PART_TWO_LINES else 1
    out = [_cut(name, most) for name in names]
    alike: dict[str, set[str]] = {}
    for name, label in zip(names, out, strict=True):
        alike.setdefault(label, set()).add(name)
    again: dict[str, str] = {}
    for group in alike.values():
        if len(group) < 2:
            continue
        split = [name.split() for name in group]
        shared = 0
        while all(len(words) > shared + 1 and words[shared] == split[0][shared]
                  for words in split):
            shared += 1
        for name, words in zip(group, split, strict=True):
            again[name] = _cut(" ".join(words[shared:]), most, "\u2026 ") if shared else name
    return [again.get(name, label) for name, label in zip(names, out, strict=True)]


def _cut(name: str, most: int, lead: str = "") -> str:
    """A name (after `lead`) on at most `most` lines of `PART_LINE` characters: whole where it
    fits, else its start, "…" and its last words."""
    import textwrap

    lines = textwrap.wrap(lead + name, PART_LINE) or [lead + name]
    if len(lines) > most:
        words = name.split()
        tail = words.pop() if words else ""
        while words and len(words[-1]) + 1 + len(tail) <= PART_TAIL:
            tail = f"{words.pop()} {tail}"
        tail = tail[-PART_TAIL:]
        room = most * PART_LINE - len(tail) - 3
        text = " ".join(lines[:most])
        while len(text) > room or len(textwrap.wrap(f"{text} \u2026 {tail}",
                                                     PART_LINE)) > most:
            text = text.rsplit(" ", 1)[0] if " " in text else text[:-1]
        lines = textwrap.wrap(f"{text.rstrip(' ,;:-')} \u2026 {tail}", PART_LINE)
    return "\n".join(lines)


def _part_names(frame: pl.DataFrame) -> list[str]:
    from kpi.text import blank_name

    parts = frame["part"].to_list()
    blank = blank_name(parts)
    return part_labels([blank if p is None else str(p) for p in parts])


def _draw_compare(figure, axes, data: ChartData) -> None:
    """Each part's value in the two windows as a pair of horizontal bars, the parts named on
    the axis in the order given (first at the top) and each bar labelled with its value at
    its end: no label is turned or shrunk to fit, so the chart reads when printed. The
    force's value and the target are vertical lines."""
    kpi = data.kpis[0]
    frame = _parts_of(data)
    names = _part_names(frame)
    y = list(range(len(names)))
    height = 0.4
    pairs = []
    if data.comparison_label:
        pairs.append((_values(frame["comparison"]), -height / 2,
                      _capital(data.comparison_label), BAR_STYLES[0]))
    pairs.append((_values(frame["current"]), height / 2 if data.comparison_label else 0.0,
                  _capital(data.current_label), BAR_STYLES[1]))
    size = 8 if len(names) <= 10 else 6.5
    for values, offset, label, style in pairs:
        bars = axes.barh([i + offset for i in y], values, height, label=label, **style)
        # On a white ground, so a force or target line crossing a label does not strike it.
        axes.bar_label(bars, labels=[_bar_text(v, kpi) for v in values], padding=2,
                       fontsize=size, bbox={"facecolor": "white", "edgecolor": "none",
                                            "pad": 0.6})
    if data.force_value is not None:
        axes.axvline(data.force_value, color="0.0", linestyle="--", linewidth=1.2,
                     label=f"Force, {data.current_label}: {_bar_text(data.force_value, kpi)}")
    if data.target is not None:
        axes.axvline(data.target, color="0.0", linestyle=(0, (1, 1.5)), linewidth=1.2,
                     label=f"{_target_word(kpi)}: {_bar_text(data.target, kpi)}")
    axes.set_yticks(y)
    axes.set_yticklabels(names)
    axes.grid(False, axis="y")  # a line through each bar's middle says nothing
    axes.invert_yaxis()  # the first part at the top, as the table and the text list them
    axes.set_ylabel(_by_label(data))
    axes.set_xlabel(axis_label(kpi, width=LEVEL_AXIS))
    _thousands(axes.xaxis, kpi)
    drawn = [v for values, *_ in pairs for v in values if v is not None and math.isfinite(v)]
    drawn += [v for v in (data.force_value, data.target) if v is not None]
    if kpi.unit == Unit.PERCENT and all(0 <= v <= 100 for v in drawn):
        axes.set_xlim(0, 112)  # room right of 100% for the value labels
    else:
        # A rate of two KPIs in percent may pass 100% (offences per 100 calls): its bars
        # and lines are drawn whole, never cut at 112.
        axes.margins(x=0.14)
    _legend(figure, ncol=2)


def _draw_top(figure, axes, data: ChartData) -> None:
    kpi = data.kpis[0]
    frame = _parts_of(data)
    names = _part_names(frame)[::-1]  # largest at the top
    values = _values(frame["current"])[::-1]
    bars = axes.barh(range(len(names)), values, **BAR_STYLES[0])
    # Largest at the top: two bars that differ never read alike (render.ranked_digits).
    digits = _ranked(values, kpi)
    axes.bar_label(bars, labels=[_bar_text(v, kpi, digits) for v in values], padding=3,
                   fontsize=8)
    axes.set_yticks(range(len(names)))
    axes.set_yticklabels(names)
    axes.grid(False, axis="y")  # a line through each bar's middle says nothing
    axes.set_ylabel(_by_label(data))
    axes.set_xlabel(axis_label(kpi, width=LEVEL_AXIS))
    _thousands(axes.xaxis, kpi)
    axes.margins(x=0.12)


def peer_axis_label(data: ChartData) -> str:
    """The value axis of a peers chart says whether it is per 1,000 population, and of
    illustrative populations where the [population_by] file is marked so (as the paper's
    sentence beside it says)."""
    import textwrap

    kpi = data.kpis[0]
    if data.per_1000:
        whom = "illustrative populations" if data.illustrative_populations else "population"
        return "\n".join(textwrap.wrap(f"{kpi.title} per 1,000 {whom}", LEVEL_AXIS))
    return axis_label(kpi, width=LEVEL_AXIS)


def _draw_peers(figure, axes, data: ChartData) -> None:
    """One horizontal bar per member, largest at the top, each labelled with its value; the
    focus part dark and solid, the others light and hatched; the group mean a dashed line."""
    from matplotlib.patches import Patch

    kpi = data.kpis[0]
    frame = _parts_of(data)
    names = frame["part"].to_list()[::-1]
    values = frame["value"].to_list()[::-1]
    focus = frame["focus"].to_list()[::-1]
    y = list(range(len(names)))
    bars = axes.barh(y, values, height=0.6, **BAR_STYLES[0])
    for bar, mine in zip(bars, focus, strict=True):
        if mine:
            bar.set_facecolor(BAR_STYLES[1]["color"])
            bar.set_hatch(BAR_STYLES[1]["hatch"])

    text = peer_text(data)
    axes.bar_label(bars, labels=[text(v) for v in values], padding=3, fontsize=8)
    axes.set_yticks(y)
    axes.set_yticklabels(part_labels(names))
    axes.grid(False, axis="y")  # a line through each bar's middle says nothing
    axes.set_ylabel(_by_label(data))
    axes.set_xlabel(peer_axis_label(data))
    if not data.per_1000:
        _thousands(axes.xaxis, kpi)
    axes.margins(x=0.15)
    handles = []
    if any(focus):
        me = names[focus.index(True)]
        handles.append(Patch(facecolor=BAR_STYLES[1]["color"], edgecolor="0.0", label=me))
    handles.append(Patch(facecolor=BAR_STYLES[0]["color"], edgecolor="0.0",
                         hatch=BAR_STYLES[0]["hatch"], label="Peers"))
    if data.peer_mean is not None:
        handles.append(axes.axvline(data.peer_mean, color="0.0", linestyle="--", linewidth=1.2,
                                    label=f"Group mean: {text(data.peer_mean)}"))
    _legend(figure, handles, ncol=3)


def peer_text(data: ChartData, words: bool = False) -> Callable[[float], str]:
    """How a peers chart's bars (and its group mean) are labelled, and its alt text gives
    them: per 1,000 from two places, else as the KPI's figures, to as many places as it
    takes for two bars that differ never to read alike, largest first as they are drawn
    (kpi.rounding.places_ranked, render.ranked_digits). In `words` (the alt text, prose),
    a KPI's figures as the paper's prose prints them (render.kpi_value: its `unit_label`)."""
    from kpi.rounding import places_ranked

    kpi = data.kpis[0]
    assert data.parts is not None, "a peers figure has parts"
    values = data.parts["value"].to_list()
    rates, digits = places_ranked(values, 2), _ranked(values, kpi)

    def text(value: float) -> str:
        if data.per_1000:
            return fixed(value, rates, grouping=True)
        if words and value is not None and value == value:
            from kpi.render import kpi_value

            return kpi_value(value, kpi, digits=digits)
        return _bar_text(value, kpi, digits)

    return text


def _thousands(axis, kpi: KpiDef) -> None:
    """Counts on an axis read as the paper writes them: 26,613, not 26613."""
    if kpi.unit == Unit.COUNT:
        from matplotlib.ticker import FuncFormatter

        axis.set_major_formatter(FuncFormatter(lambda x, _: fixed(x, 0, grouping=True)))


def _target_word(kpi: KpiDef) -> str:
    """A target line's name in a chart's legend: 'Illustrative target' for a target that is
    only an illustration (`target_illustrative`), never read as the plan's from the chart
    alone; 'Target' otherwise (its source is in the paragraph beside the chart)."""
    return "Illustrative target" if kpi.target_illustrative else "Target"


def _bar_text(value: float, kpi: KpiDef, digits: int | None = None) -> str:
    from kpi.render import number

    if value is None or value != value:  # a part with no value has no label
        return ""
    return number(value, kpi, digits=digits)


def _ranked(values: list, kpi: KpiDef) -> int | None:
    """The places of a chart's bars ranked by their values (render.ranked_digits)."""
    from kpi.render import ranked_digits

    return ranked_digits(values, kpi)


def _by_label(data: ChartData) -> str:
    """The breakdown axis' label: the column as the paper names it, capitalised."""
    return _capital(data.by_label) if data.by_label else _column_title(data.spec.by)


def _column_title(column: str | None) -> str:
    """'lpa' -> 'LPA', 'outcome_code' -> 'Outcome code'."""
    text = str(column or "")
    if len(text) <= 3:
        return text.upper()
    return text.replace("_", " ").capitalize()


# Process charts side by side in one figure: columns, and the height of a row of them.
PANEL_COLUMNS, PANEL_ROW_IN = 2, 1.8


def _draw_panels(data: ChartData):
    """Several KPIs' process charts in one figure, two to a row, with one legend."""
    import textwrap

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = -(-len(data.panels) // PANEL_COLUMNS)
    figure = Figure(figsize=(WIDTH_IN, PANEL_ROW_IN * rows + 0.6), dpi=DPI)
    FigureCanvasAgg(figure)
    handles: dict[str, Any] = {}
    cells = []
    for panel in data.panels:
        axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))  # placed by _place
        for handle in _draw_xmr(figure, axes, panel, legend=False, compact=True):
            handles.setdefault(handle.get_label(), handle)
        axes.set_axisbelow(True)
        title = axes.set_title("\n".join(textwrap.wrap(panel.kpis[0].title, 44)),
                               loc="left", fontsize=9)
        cells.append(Cell(axes, title))
    _legend(figure, list(handles.values()), ncol=3)
    _place(figure, cells, columns=PANEL_COLUMNS)
    return figure


def _draw_xmr(figure, axes, data: ChartData, legend: bool = True, compact: bool = False):
    """Points, mean, process limits (stepped where recalculated), special causes by class, and
    the target; black and greys only, told apart by line style and marker shape. Returns the
    legend's handles; `compact` (a panel) labels fewer months and leaves the axis unnamed."""
    kpi = data.kpis[0]
    chart = data.xmr
    assert chart is not None, "an xmr chart draws its process chart"
    x = list(range(len(chart.points)))
    values = [float("nan") if p.value is None else p.value for p in chart.points]
    nan = float("nan")
    mean = [nan if p.mean is None else p.mean for p in chart.points]
    lower = [nan if p.lower is None else p.lower for p in chart.points]
    upper = [nan if p.upper is None else p.upper for p in chart.points]
    handles = axes.plot(x, values, label="Monthly value", **LINE_STYLES[0])
    handles += axes.step(x, mean, where="mid", color="0.0", linewidth=1.4, label="Mean")
    handles += axes.step(x, upper, where="mid", color="0.25", linestyle="--", linewidth=1.1,
                         label="Process limits" + (" (trial)" if chart.trial else ""))
    axes.step(x, lower, where="mid", color="0.25", linestyle="--", linewidth=1.1)
    for signal, marker, label in (("improvement", "s", "Special cause: improvement"),
                                  ("concern", "^", "Special cause: concern"),
                                  ("high", "D", "Special cause: unusually high"),
                                  ("low", "d", "Special cause: unusually low")):
        marked = [(i, p.value) for i, p in enumerate(chart.points) if p.signal == signal]
        if marked:
            handles += axes.plot([i for i, _ in marked], [v for _, v in marked], linestyle="",
                                 marker=marker, markersize=7, color="0.0",
                                 markerfacecolor="0.0" if signal in ("improvement", "concern")
                                 else "white", label=label)
    if data.target is not None:
        handles.append(axes.axhline(data.target, color="0.0", linestyle=":", linewidth=1.6,
                                    label=_target_word(kpi) if compact else
                                    f"{_target_word(kpi)} ({_bar_text(data.target, kpi)})"))
    months = [p.month for p in chart.points]
    step = (6 if compact else 3) if len(months) > 12 else 1
    axes.set_xticks(range(0, len(months), step))
    axes.set_xticklabels(_month_labels(months)[::step], rotation=45 if not compact else 0,
                         ha="right" if not compact else "center")
    if not compact:
        axes.set_xlabel("Month")
        axes.set_ylabel(axis_label(kpi))
    else:
        axes.set_ylabel(unit_axis(kpi))
    _thousands(axes.yaxis, kpi)
    if legend:
        _legend(figure, handles, ncol=3)
    return handles


DRAW = {ChartType.TREND: _draw_trend, ChartType.COMPARE: _draw_compare,
        ChartType.TOP: _draw_top, ChartType.XMR: _draw_xmr, ChartType.PEERS: _draw_peers}
