"""The differential oracle's model: random small projects, the rows their loads should leave,
and every KPI figure worked out again in DuckDB over those rows (tests/test_differential_oracle.py).

Nothing here imports kpi: windows, completeness and values are written out from docs/catalogue.md
and SPEC.md, so a bug in kpi's own periods, store or engine cannot hide on both sides at once.

Months are whole numbers (year * 12 + month - 1) in the model and `YYYY-MM` text in kpi's output.
"""

from __future__ import annotations

import calendar
import json
import math
import os
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from pathlib import Path

import duckdb

# Classes of issue 17 the generator can avoid, by name (see docs/guarantees.md, "The
# differential oracle"). KPI_ORACLE_AVOID overrides the default: "" hunts every class.
CLASSES = {
    "restore": "a reload after a DeltaTable.restore (issue 17 class 1)",
    "case": "a replace_by or part value differing only in case (class 2)",
    "part_gaps": "a part missing months inside a window (classes 3 and 4)",
    "kind_baseline": "a baseline of the wrong kind (class 5)",
    "month_column": "a declared column named month (class 6)",
    "brackets": "an extract file name holding brackets (class 8)",
    "empty_weights": "a weights file with a header and no rows (class 9)",
    "quarter_trend": "kpi show's monthly values of quarterly data (class 10)",
    "invisible": "a key value with an invisible character or another Unicode form (class 12)",
    "impossible_dates": "a leap second or an impossible financial year (class 13)",
    "other_previous": "--previous given another project's figures file (class 11)",
    "stale": "a period past the data (the Period invariant)",
    "odd_paths": "a project folder holding a space, non-ASCII, '#', '%' or '%20' (Paths)",
    "unique": "a ref repeated in a load, or held by a stored month the load keeps, of a "
              "dataset declaring unique = \"ref\"",
    "formats": "an extract as Parquet (row groups of a few rows, some columns typed) or as an "
               "Excel workbook, not CSV",
    "dst": "a duration (the difference of two datetimes) across a change of the UK clocks "
           "(tests/test_engine_oracle.py's durations)",
    "published": "a dataset published for whole quarters or years (published = ...), whose "
                 "window ends at the last month a publication runs to",
    "database": "an extract's rows in a SQLite database, read by the dataset's source query "
                "(kpi ingest --from-source): SQLite's types, columns in another order",
    "time_zone": "a dataset of times declaring time_zone = \"UTC\" or \"America/New_York\": "
                 "its times without an offset read in that zone (a row's month the UK month "
                 "of its instant), a time that zone's clocks show twice or never refused",
    "retyped": "a workbook of incidents whose last ref is a number cell (a reference Excel "
               "turned into a number when it was typed), which kpi must refuse naming it",
    "presentation": "the keys that never move a figure (draw_presentation): a noun, a "
                    "unit_label, a target's source, populations' sources, a column's label "
                    "and pattern, a column no dataset declares, a query_file, KPIs in "
                    "development",
    "apart_from_zero": "a comparison figure of zero or below and a current figure within the "
                       "KPI's last place of it: the change printed beside them reads as none "
                       "(no % change from such a base), and kpi printed the two apart (0.00 "
                       "and 0.01, as the % change the other way, never printed, would read); "
                       "avoided, the paper's 'unchanged at the precision shown' is not "
                       "checked there",
}
# The environment variable the drawn projects' `source` names, and their query.
WAREHOUSE_ENV = "KPI_ORACLE_WAREHOUSE"
WAREHOUSE_QUERY = "SELECT * FROM extract ORDER BY rowid"
# The classes still open on main: CI must stay green while they are fixed. Remove a name as
# its fix lands (the oracle then holds the fix).
DEFAULT_AVOID = ""


def avoided() -> frozenset[str]:
    text = os.environ.get("KPI_ORACLE_AVOID", DEFAULT_AVOID)
    names = frozenset(n.strip() for n in text.split(",") if n.strip())
    unknown = names - CLASSES.keys()
    if unknown:
        raise ValueError(f"KPI_ORACLE_AVOID: unknown class {sorted(unknown)}; known: "
                         f"{sorted(CLASSES)}")
    return names


# The JSON faces kpi publishes a schema of (docs/json.md), by command: every document the
# oracle parses is validated against its schema, read from the checkout (not through kpi).
SCHEMAS = Path(__file__).resolve().parent.parent / "kpi" / "schemas"
JSON_FACES = ("summary", "show", "compare", "check", "catalogue", "datasets", "history")
_validators: dict[str, object] = {}


def schema_errors(command: str, document: object) -> list[str]:
    """Where `document`, what `kpi COMMAND --format json` printed, breaks its published
    schema: each error's path and message (none when it validates)."""
    import json

    import jsonschema

    validator = _validators.get(command)
    if validator is None:
        schema = json.loads((SCHEMAS / f"{command}.json").read_text(encoding="utf-8"))
        validator = _validators[command] = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}"
            for e in validator.iter_errors(document)]  # type: ignore[attr-defined]


def month(year: int, mon: int) -> int:
    return year * 12 + mon - 1


def text(m: int) -> str:
    return f"{m // 12}-{m % 12 + 1:02d}"


def parse(s: str) -> int:
    year, mon = s.split("-")
    return month(int(year), int(mon))


def window_months(code: str) -> tuple[int, int]:
    """The first and last month of a window as the paper's figures file writes it:
    "2024-04..2025-03", "YE 2025-09" (twelve months) or "AT 2025-09" (one)."""
    if ".." in code:
        first, last = code.split("..")
        return parse(first), parse(last)
    kind, _, at = code.partition(" ")
    return (parse(at) - 11, parse(at)) if kind == "YE" else (parse(at), parse(at))


MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")


def window_label(code: str) -> str:
    """A window as the paper's prose names it (docs/board-paper.md), from the figures file's
    code: "YE 2025-09" the year ending September 2025; "AT 2025-09" September 2025; a
    financial year to date "April to September 2025 (financial year 2025/26 to date)",
    "April 2025 to February 2026 (...)" across a new year, "April 2025 (...)" in its first
    month."""
    first, last = window_months(code)

    def name(m: int) -> str:
        return f"{MONTH_NAMES[m % 12]} {m // 12}"

    if code.startswith("YE "):
        return f"year ending {name(last)}"
    if code.startswith("AT "):
        return name(last)
    span = (name(last) if first == last else f"{name(first)} to {name(last)}"
            if first // 12 != last // 12 else f"{MONTH_NAMES[first % 12]} to {name(last)}")
    fy = fy_start(first) // 12
    return f"{span} (financial year {fy}/{(fy + 1) % 100:02d} to date)"


def fy_start(m: int) -> int:
    """April of the financial year holding month m."""
    return m - (m % 12 - 3) % 12


FIRST = month(2023, 1)    # the months record-level extracts are drawn from
LAST = month(2025, 12)
Q_FIRST = month(2022, 4)  # quarters are drawn from April 2022 ..
Q_LAST = month(2025, 10)  # .. the quarter starting October 2025
BASELINE = month(2024, 3)           # [project] baseline: YE 2024-03
SNAPSHOT_BASELINE = month(2024, 4)  # its default snapshot baseline: AT 2024-04
POPULATION = {"resident": 250_000, "black": 12_000, "white": 180_000}
FORCES = ["Kent Police", "Essex Police", "West Midlands Police"]
LPAS = ["Birmingham", "Dudley", "Coventry"]
OFFENCES = ["theft", "burglary", "assault", "fraud"]
WEIGHTS = {"theft": 10, "burglary": 365, "assault": 180}
ROLES = ["officer", "staff"]
# The peer group's title, and a force no extract holds (a member the data has no rows for)
PEER_TITLE = "similar forces"
NO_ROWS_FORCE = "Surrey Police"
# The population file of the forces a project may name (`[population_by] force`)
POPULATION_FILE = "reference/force populations.csv"
# A population file's headings, each column bound by its name in any order and case: the
# part's is `part` or the column's own name (`force`).
POPULATION_HEADINGS = (("Force", "Population", "Year"), ("year", "force", "population"),
                       (" PART ", "POPULATION", "Year"), ("population", "Year", "Force"))
# The outcome codes glossary a project's paper may print (draw_reference_files): a header
# and rows, with characters Windows-1252 encodes beyond Latin-1 (an en dash, curly quotes)
# and commas a CSV file quotes
GLOSSARY_FILE = "reference/outcome codes.csv"
GLOSSARY_TITLE = "Outcome codes"
GLOSSARY_ROWS = (("Outcome code", "Description \u2013 Home Office counting rules"),
                 ("OC1", "Charge or summons"),
                 ("OC2", "Caution \u2013 youth (including conditional caution)"),
                 ("OC8", "Community resolution, \u201crestorative justice\u201d"),
                 ("OC14", "Evidential difficulties: victim doesn\u2019t support action"),
                 ("OC18", "Investigation complete \u2013 no suspect identified"),
                 ("OC22", "Diversionary activity \u2013 \u201cPathfinder\u201d, costs in \u00a3"))

# Spellings of a stored value that name the same thing: kpi must refuse them, or read them as
# that value (so no figure changes); never keep them side by side.
CASE_VARIANTS = (str.lower, str.upper, lambda s: s[0] + s[1:].swapcase())
INVISIBLE_VARIANTS = (lambda s: s + "\u200b", lambda s: s[:2] + "\u200d" + s[2:],
                      lambda s: "\ufeff" + s, lambda s: s.replace(" ", "\u00a0"),
                      lambda s: unicodedata.normalize("NFD", s))


@dataclass
class Kpi:
    id: str
    kind: str
    dataset: str
    filter: str | None = None
    value: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    threshold: float | None = None
    percentile: float | None = None
    lag: int = 0
    baseline: str | None = None
    better: str = "lower"
    stable_band: float = 0.0
    parts: tuple[str, str] | None = None  # numerator_kpi, denominator_kpi
    breakdowns: tuple[str, ...] = ()
    provisional_months: int = 0  # drawn by draw_provisional only
    # of a rate of two KPIs: the provisional_months kpi.toml writes on it, where its parts'
    # make more of its months not final (`provisional_months`, the most of the three)
    written_provisional: int | None = None
    # drawn by draw_variants only: the other forms of a kind (a count's or per 1,000's
    # `value`, a rate's or snapshot's `denominator`), a `multiplier` and `decimals`
    multiplier: float = 1.0
    decimals: int | None = None
    variant: bool = False
    # a rate's `numerator_within_denominator`, written out (drawn by draw_variants only)
    within: bool | None = None
    # `hidden` (kept out of tables and paragraphs) and `quotes` (the KPIs whose figures the
    # paper quotes in this KPI's paragraph): drawn by draw_variants only
    hidden: bool = False
    quotes: tuple[str, ...] = ()
    # drawn by the process-chart oracle only (tests/test_spc_oracle.py): the months the
    # limits come from (first, last) and the months they are recalculated from
    spc_baseline: tuple[str, str] | None = None
    spc_rebase: tuple[str, ...] = ()
    # how its dataset is published (drawn by draw_published only; see `runs_to`)
    published: str = "monthly"
    # a `target` in the KPI's unit (drawn by draw_targets only)
    target: float | None = None
    # a `unit` written out (drawn by draw_units only): None is the kind's default
    written_unit: str | None = None
    # `cumulative = true`, a running total or snapshot of progress with no process chart and
    # no verdict on variation (drawn by draw_cumulative only)
    cumulative: bool = False
    # `peers = "g"`, the project's peer group (drawn by draw_peers only)
    peers: str | None = None
    # words that never move a figure (drawn by draw_presentation only): what a count counts,
    # how the paper names the unit, and where a target comes from (or that it is only an
    # illustration)
    noun: str = ""
    unit_label: str = ""
    target_source: str = ""
    target_illustrative: bool = False
    # `status = "in_development"`: defined in the plan, no figure (draw_presentation only;
    # such a KPI is kept in ProjectSpec.developing, never in ProjectSpec.kpis)
    developing: bool = False


    @property
    def snapshot(self) -> bool:
        return self.kind == "snapshot"

    @property
    def unit(self) -> str:
        """The KPI's unit where one is written out, else its kind's default ("other": a
        count's, a sum's, an average's, a rate per 1,000's or a score's, which print alike)."""
        if self.written_unit is not None:
            return self.written_unit
        if self.kind in ("rate", "within") or (self.snapshot and self.numerator):
            return "percent"
        if self.kind == "ratio_of_rates":
            return "ratio"
        return "other"


@dataclass
class Reconciliation:
    """A `[[checks]]` table: the parts' values over the period's window sum to the total's."""

    id: str
    total: str
    parts: tuple[str, ...]
    tolerance: float = 0.0


@dataclass
class ProjectSpec:
    """What the generator drew: the project file, and which defect (if any) it must refuse."""

    replace_by: bool
    datetime_dates: bool
    quarter_form: str          # "fy" (financial_year, quarter) or "year" (year, quarter)
    kpis: list[Kpi]
    defect: str | None = None  # kind_baseline, month_column or empty_weights: kpi must refuse
    unique: bool = False       # inc declares unique = "ref"
    checks: list[Reconciliation] = field(default_factory=list)  # drawn by draw_checks only
    # [datasets.inc.derived] (drawn by draw_variants only): name -> SQL expression
    derived: dict[str, str] = field(default_factory=dict)
    # the weights file's keys in another case (`Theft`, `BURGLARY`), which weigh the rows of
    # `theft` and `burglary` (docs/guarantees.md, Identity): drawn by draw_variants only
    weights_case: str | None = None
    # each dataset's `published` where written out (drawn by draw_published only)
    published: dict[str, str] = field(default_factory=dict)
    # every dataset declares a database `source` (WAREHOUSE_ENV, WAREHOUSE_QUERY), which some
    # loads read instead of an extract file (the machine's `database`)
    warehouse: bool = False
    # the incidents' declared `time_zone` (drawn by draw_time_zone only; datetime dates only)
    time_zone: str | None = None
    # how the staff extracts give a row's month: "as_at", one `month` column (`2024-03`), or
    # "year_month", a year and a month number in two columns headed `Year` and `Month`, `date
    # = { year = "yr", month = "mon" }` (drawn by draw_staff_date only); `month_padded`
    # writes the month number with a leading zero (`03`), as some published tables do
    staff_date: str = "as_at"
    month_padded: bool = False
    # kpi.toml's `[defaults] vs` (drawn by draw_default_vs only): the comparison a command
    # (and a Python method) left without one reads
    default_vs: str | None = None
    # a peer group of forces, `[peers.g]` (drawn by draw_peers only): its members and focus
    peer_members: tuple[str, ...] = ()
    peer_focus: str | None = None
    # the quarterly rows declared `sparse = true` (drawn by draw_peers, with a group): a
    # force's quarter without rows had none, so no comparison is left out by its rows' shape
    sparse_q: bool = False
    # a step change in the volume of incidents and staff (drawn by draw_step only): the month
    # it steps at, and whether the months from it hold more rows ("up") or fewer ("down")
    step: tuple[int, str] | None = None
    # the reference file's rule (docs/guarantees.md, "Reference files"), drawn by
    # draw_reference_files only: offences stored under names of characters Windows-1252
    # encodes ("assault \u2013 ABH", "burglary \u2013 r\u00e9sidence", "burglary \u00a31k+"), the
    # model's offence -> its stored text, and the encoding the weights file is written in
    # (Windows-1252 as Excel's "CSV (Comma delimited)" writes it, UTF-8 with or without a
    # byte-order mark, UTF-16 with one)
    offence_names: dict[str, str] = field(default_factory=dict)
    weights_encoding: str = "utf-8"
    # draw_reference_files only: a force stored under a name beyond ASCII (FORCES's "Essex
    # Police" as "Dyfed\u2013Powys Police"), and a population file of the forces,
    # `[population_by] force` (docs/catalogue.md): each force's populations by year, keyed
    # by the stored name and written in the file as `population_names` spells it (another
    # case now and then), in `population_encoding`
    force_names: dict[str, str] = field(default_factory=dict)
    populations: dict[str, dict[int, int]] = field(default_factory=dict)
    population_names: dict[str, str] = field(default_factory=dict)
    population_encoding: str = "utf-8"
    # the board's paper prints each KPI's breakdowns (`[paper] breakdowns`): their parts'
    # figures are in its figures file, compared by a later paper's --previous (the
    # differential oracle's)
    paper_breakdowns: bool = False
    # draw_reference_files only: the encoding of an outcome codes glossary the paper prints as
    # an appendix (`[[paper.glossary]]`, GLOSSARY_ROWS); None: no glossary
    glossary_encoding: str | None = None
    # draw_presentation only: KPIs `status = "in_development"` (kept apart from `kpis`, whose
    # figures every check reads), the `[population]` entries written as a table with their
    # `source` and `illustrative`, the incidents' columns' `label` and `pattern`, an extract
    # column no dataset declares (its header; every incidents extract holds it) and whether
    # `extra_columns = "ignore"` is written out, and a database source read from a
    # `query_file` rather than an inline `query`
    developing: list[Kpi] = field(default_factory=list)
    population_sources: dict[str, tuple[str, bool]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    patterns: dict[str, str] = field(default_factory=dict)
    extra_column: str | None = None
    extra_written: bool = False
    query_file: bool = False
    # how the query file ends (QUERY_ENDINGS), and the `[population_by] force` file written as
    # a table with its `source` and `illustrative` (draw_presentation; None: its path alone)
    query_ending: str = "\n"
    population_by_source: tuple[str, bool] | None = None

    @property
    def offences(self) -> list[str]:
        """The offences as the extracts store them."""
        return [self.offence_names.get(o, o) for o in OFFENCES]

    @property
    def forces(self) -> list[str]:
        """The forces as the extracts store them (FORCES, one now and then renamed)."""
        return [self.force_names.get(f, f) for f in FORCES]

    def population(self, force: str, year: int) -> int | None:
        """A force's population from the population file: the latest year's on or before
        `year` (docs/catalogue.md), None where the file gives none (or there is no file)."""
        years = [y for y in self.populations.get(force, {}) if y <= year]
        return self.populations[force][max(years)] if years else None

    def toml(self) -> str:
        date_col = "at" if self.datetime_dates else "day"

        def published(dataset: str) -> list[str]:
            query = (f'query_file = "{QUERY_FILE}"' if self.query_file
                     else f'query = "{WAREHOUSE_QUERY}"')
            source = ([f'source = {{ uri_env = "{WAREHOUSE_ENV}", {query} }}']
                      if self.warehouse else [])
            return ([f'published = "{self.published[dataset]}"'] if dataset in self.published
                    else []) + source

        lines = [
            '[project]', 'name = "Oracle"', 'baseline = "2024-03"', '',
            *(['[defaults]', f'vs = "{self.default_vs}"', ''] if self.default_vs else []),
            '[population]', *(self._population_line(k, v) for k, v in POPULATION.items()), '',
            *(['[population_by]', self._population_by_line(), ''] if self.populations
              else []),
            '[datasets.inc]', f'date = "{date_col}"', *published("inc"),
            *(['replace_by = ["force"]'] if self.replace_by else []),
            *(['unique = "ref"'] if self.unique else []),
            *([f'time_zone = "{self.time_zone}"'] if self.time_zone else []),
            *(['extra_columns = "ignore"'] if self.extra_written else []),
            '[datasets.inc.columns]', self._column("ref", 'type = "str"'),
            f'{date_col} = {{ type = "{"datetime" if self.datetime_dates else "date"}", '
            f'from = ["{"When" if self.datetime_dates else "Day"}"] }}',
            self._column("force", 'type = "str", from = ["Force"]'),
            self._column("lpa", 'type = "str", from = ["LPA"]'),
            self._column("offence", 'type = "str"'),
            self._column("minutes", 'type = "float", required = false'),
            self._column("victims", 'type = "int", min = 0'),
            *(['month = "str"'] if self.defect == "month_column" else []), '',
            *(['[datasets.inc.derived]'] if self.derived else []),
            *(f'{name} = "{expression}"' for name, expression in self.derived.items()), '',
            '[datasets.staff]', *(
                ['date = "as_at"', *published("staff"), '[datasets.staff.columns]',
                 'as_at = "month"'] if self.staff_date == "as_at" else
                ['date = { year = "yr", month = "mon" }', *published("staff"),
                 '[datasets.staff.columns]', 'yr = { type = "int", from = ["Year"] }',
                 'mon = { type = "int", from = ["Month"] }']),
            'role = "str"', 'minority = "bool"', '',
            '[datasets.q]',
            ('date = { financial_year = "fy", quarter = "qtr" }' if self.quarter_form == "fy"
             else 'date = { year = "yr", quarter = "qtr" }'), *published("q"),
            *(['sparse = true'] if self.sparse_q else []),
            '[datasets.q.columns]',
            ('fy = "str"' if self.quarter_form == "fy" else 'yr = "int"'),
            'qtr = "int"', 'force = "str"', 'n = { type = "int", min = 0 }', '',
            *(['[paper]', 'breakdowns = { ' + ', '.join(
                f'{k.id} = [' + ', '.join(f'"{b}"' for b in k.breakdowns) + ']'
                for k in self.kpis if k.breakdowns and not k.parts) + ' }', '']
              if self.paper_breakdowns and any(k.breakdowns and not k.parts
                                               for k in self.kpis) else []),
            '[[priorities]]', 'id = "p"', 'title = "Plan"', '',
        ]
        for k in self.kpis:
            lines += ['[[kpis]]', f'id = "{k.id}"', f'title = "KPI {k.id}"', 'priority = "p"',
                      f'kind = "{k.kind}"', f'better = "{k.better}"']
            if k.parts:
                lines += [f'numerator_kpi = "{k.parts[0]}"', f'denominator_kpi = "{k.parts[1]}"']
            else:
                lines.append(f'dataset = "{k.dataset}"')
            for key in ("filter", "value", "numerator", "denominator", "baseline"):
                if getattr(k, key) is not None:
                    lines.append(f'{key} = "{getattr(k, key)}"')
            if k.threshold is not None:
                lines.append(f"threshold = {k.threshold}")
            if k.percentile is not None:
                lines.append(f"percentile = {k.percentile}")
            if k.lag:
                lines.append(f"lag = {k.lag}")
            if k.stable_band:
                lines.append(f"stable_band = {k.stable_band}")
            if k.kind == "per_1000":
                lines.append('population = "resident"')
            if k.kind == "ratio_of_rates":
                lines.append('populations = ["black", "white"]')
            if k.kind == "weighted_score":
                lines += ['weights = "weights.csv"', 'weight_key = "offence"']
            written = (k.written_provisional if k.written_provisional is not None
                       else k.provisional_months)
            if written:
                lines.append(f"provisional_months = {written}")
            if k.within is not None:
                lines.append(f"numerator_within_denominator = {str(k.within).lower()}")
            if k.hidden:
                lines.append("hidden = true")
            if k.quotes:
                lines.append("quotes = [" + ", ".join(f'"{q}"' for q in k.quotes) + "]")
            if k.multiplier != 1.0:
                lines.append(f"multiplier = {k.multiplier}")
            if k.decimals is not None:
                lines.append(f"decimals = {k.decimals}")
            if k.target is not None:
                lines.append(f"target = {k.target}")
            if k.written_unit is not None:
                lines.append(f'unit = "{k.written_unit}"')
            if k.breakdowns:
                lines.append("breakdowns = [" + ", ".join(f'"{b}"' for b in k.breakdowns) + "]")
            if k.spc_baseline:
                lines.append(f'spc_baseline = ["{k.spc_baseline[0]}", "{k.spc_baseline[1]}"]')
            if k.spc_rebase:
                lines.append("spc_rebase = [" + ", ".join(f'"{m}"' for m in k.spc_rebase) + "]")
            if k.cumulative:
                lines.append("cumulative = true")
            if k.peers:
                lines.append(f'peers = "{k.peers}"')
            lines += _words_lines(k)
            lines.append("")
        for k in self.developing:
            # defined in the plan, no data yet: a dataset and kind now and then named already
            lines += ['[[kpis]]', f'id = "{k.id}"', f'title = "KPI {k.id}"', 'priority = "p"',
                      'status = "in_development"', f'better = "{k.better}"',
                      f'kind = "{k.kind}"', *([f'dataset = "{k.dataset}"'] if k.dataset else []),
                      *([f"target = {k.target}"] if k.target is not None else []),
                      *_words_lines(k), '']
        if self.peer_members:
            lines += ['[peers.g]', f'title = "{PEER_TITLE}"', 'column = "force"',
                      "members = [" + ", ".join(f'"{m}"' for m in self.peer_members) + "]",
                      *([f'focus = "{self.peer_focus}"'] if self.peer_focus else []), '']
        for c in self.checks:
            lines += ['[[checks]]', f'id = "{c.id}"', f'title = "Check {c.id}"',
                      f'total = "{c.total}"',
                      "parts = [" + ", ".join(f'"{p}"' for p in c.parts) + "]",
                      f"tolerance = {c.tolerance}", ""]
        if self.glossary_encoding:
            lines += ['[[paper.glossary]]', f'title = "{GLOSSARY_TITLE}"',
                      f'file = "{GLOSSARY_FILE}"', '']
        return "\n".join(lines)

    def _population_line(self, name: str, count: int) -> str:
        """A `[population]` entry: a number, or a table with its source (draw_presentation)."""
        if name not in self.population_sources:
            return f"{name} = {count}"
        source, illustrative = self.population_sources[name]
        return (f"{name} = {{ count = {count}"
                + (f', source = "{source}"' if source else "")
                + (", illustrative = true" if illustrative else "") + " }")

    def _population_by_line(self) -> str:
        """`[population_by]`'s force file: its path, or a table of it and where its figures
        come from (draw_presentation)."""
        if self.population_by_source is None:
            return f'force = "{POPULATION_FILE}"'
        source, illustrative = self.population_by_source
        return (f'force = {{ file = "{POPULATION_FILE}"'
                + (f', source = "{source}"' if source else "")
                + f", illustrative = {'true' if illustrative else 'false'} }}")

    def _column(self, name: str, keys: str) -> str:
        """An incidents column's declaration, with its drawn `pattern` and `label`."""
        if name in self.patterns:
            keys += ", pattern = " + _toml_string(self.patterns[name])
        if name in self.labels:
            keys += f', label = "{self.labels[name]}"'
        return f"{name} = {{ {keys} }}"

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "kpi.toml").write_text(self.toml(), encoding="utf-8")
        if self.warehouse and self.query_file:
            query = folder / QUERY_FILE
            query.parent.mkdir(exist_ok=True)
            # as an analyst keeps a query: a comment, and the text over lines
            query.write_text("-- the extract, as the warehouse holds it\nSELECT *\n"
                             "FROM extract\nORDER BY rowid" + self.query_ending,
                             encoding="utf-8")
        weights = "offence,weight\n"
        if self.defect != "empty_weights":
            case = {None: str, "title": str.title, "upper": str.upper}[self.weights_case]
            weights += "".join(f"{case(self.offence_names.get(k, k))},{v}\n"
                               for k, v in WEIGHTS.items())
        (folder / "weights.csv").write_bytes(weights.encode(self.weights_encoding))
        if self.populations:
            # columns bound by their names (POPULATION_HEADINGS), in an order and case taken
            # from the populations drawn, so no draw of any other file moves; a population
            # now and then with a thousands comma
            heading = POPULATION_HEADINGS[sum(sum(years.values()) for years in
                                              self.populations.values())
                                          % len(POPULATION_HEADINGS)]
            lines = [",".join(heading)]
            for force, years in self.populations.items():
                for year, people in years.items():
                    shown = f'"{people:,}"' if people % 7 == 0 else str(people)
                    cells = {"part": self.population_names.get(force, force),
                             "population": shown, "year": str(year)}
                    lines.append(",".join(cells[name.strip().lower().replace("force", "part")]
                                          for name in heading))
            path = folder / POPULATION_FILE
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(("\r\n".join(lines) + "\r\n").encode(self.population_encoding))
        if self.glossary_encoding:
            import csv
            import io

            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\r\n").writerows(GLOSSARY_ROWS)
            path = folder / GLOSSARY_FILE
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(buffer.getvalue().encode(self.glossary_encoding))


QUERY_FILE = "queries/the extract.sql"
# How a query file's one statement ends, as .sql files do: a `;`, a comment after it or before
# it, a `;` inside a comment (docs/databases.md)
QUERY_ENDINGS = ("\n", ";\n", ";\n-- the end; of the extract\n", "\n-- as loaded\n",
                 " /* rows; all */ ;\n\n")


def _toml_string(value: str) -> str:
    """A TOML literal string where it can be one (a regex's backslashes as written), else a
    basic string with its escapes."""
    if "'" not in value and "\n" not in value:
        return f"'{value}'"
    return json.dumps(value)


def _words_lines(k: Kpi) -> list[str]:
    """A KPI's words that never move a figure (draw_presentation)."""
    return ([f'noun = "{k.noun}"'] if k.noun else []) \
        + ([f'unit_label = "{k.unit_label}"'] if k.unit_label else []) \
        + ([f'target_source = "{k.target_source}"'] if k.target_source else []) \
        + (["target_illustrative = true"] if k.target_illustrative else [])


INC_FILTERS = [None, "offence = 'theft'", "lpa = 'Birmingham'", "victims >= 1",
               "force = 'Kent Police'", "lpa IN ('Birmingham', 'Dudley') AND victims >= 1"]


def draw_project(rnd: random.Random, avoid: frozenset[str]) -> ProjectSpec:
    """A random project: a subset of every kind, with filters, lags and baselines."""
    def flow_baseline() -> str | None:
        return rnd.choice([None, None, "yoy", f"YE {text(month(2023, rnd.randint(6, 12)))}",
                           "YE 2024-12"])

    kpis: list[Kpi] = []
    makers = {
        "count": lambda i: Kpi(i, "count", "inc", filter=rnd.choice(INC_FILTERS),
                               breakdowns=("lpa",)),
        "sum": lambda i: Kpi(i, "sum", "inc", value="victims", filter=rnd.choice(INC_FILTERS)),
        "rate": lambda i: Kpi(i, "rate", "inc", numerator="offence = 'theft'",
                              filter=rnd.choice(INC_FILTERS), better="higher"),
        "within": lambda i: Kpi(i, "within", "inc", value="minutes",
                                threshold=rnd.choice([10, 15.5, 30]), better="higher"),
        "mean": lambda i: Kpi(i, "mean", "inc", value="minutes", filter=rnd.choice(INC_FILTERS)),
        "median": lambda i: Kpi(i, "median", "inc", value="minutes"),
        "percentile": lambda i: Kpi(i, "percentile", "inc", value="minutes",
                                    percentile=rnd.choice([25, 90])),
        "per_1000": lambda i: Kpi(i, "per_1000", "inc", filter=rnd.choice(INC_FILTERS)),
        "ratio_of_rates": lambda i: Kpi(i, "ratio_of_rates", "inc",
                                        numerator="lpa = 'Birmingham'",
                                        denominator="lpa = 'Dudley'"),
        "weighted_score": lambda i: Kpi(i, "weighted_score", "inc"),
        "snapshot": lambda i: Kpi(i, "snapshot", "staff", filter="role = 'officer'",
                                  better="higher"),
        "snapshot_pct": lambda i: Kpi(i, "snapshot", "staff", numerator="minority"),
        "qsum": lambda i: Kpi(i, "sum", "q", value="n"),
        "qcount": lambda i: Kpi(i, "count", "q"),
    }
    names = rnd.sample(sorted(makers), rnd.randint(3, 7))
    if not {"qsum", "qcount"} & set(names) and rnd.random() < 0.5:
        names.append(rnd.choice(["qsum", "qcount"]))  # quarterly data in most projects
    for n, name in enumerate(names):
        k = makers[name](f"k{n}_{name}")
        k.lag = rnd.choice([0, 0, 0, 1, 2])
        k.better = rnd.choice([k.better, "higher", "lower", "neutral"])
        k.stable_band = rnd.choice([0.0, 0.0, 1.0])
        if k.dataset == "q":
            k.baseline = rnd.choice([None, "yoy", "YE 2023-12", "YE 2023-06"])
            k.lag = rnd.choice([0, 3])
        elif k.snapshot:
            k.baseline = rnd.choice([None, "yoy", f"AT {text(month(2023, rnd.randint(3, 12)))}"])
        else:
            k.baseline = flow_baseline()
        kpis.append(k)
    if rnd.random() < 0.3:
        a = next((k for k in kpis if k.dataset == "inc" and k.kind == "count"), None)
        if a is None:
            a = Kpi("k_num", "count", "inc", filter="offence = 'theft'")
            kpis.append(a)
        b = Kpi("k_den", "count", "inc", filter=None)
        kpis += [b, Kpi("k_rate2", "rate", "inc", parts=(a.id, b.id), lag=a.lag,
                        better="higher")]
        b.lag = a.lag  # a rate of two KPIs of one lag: the window is theirs
    defects = [d for d in ("kind_baseline", "month_column", "empty_weights") if d not in avoid]
    defect = rnd.choice(defects) if defects and rnd.random() < 0.12 else None
    if defect == "kind_baseline":
        k = rnd.choice(kpis)
        k.baseline = "YE 2024-06" if k.snapshot else rnd.choice(["AT 2024-04", "AT 2023-12"])
    elif defect == "month_column":
        kpis.append(Kpi("k_month", "count", "inc", filter="month = 'Jan'"))
    elif defect == "empty_weights" and not any(k.kind == "weighted_score" for k in kpis):
        kpis.append(Kpi("k_harm", "weighted_score", "inc"))
    return ProjectSpec(replace_by=rnd.random() < 0.7, datetime_dates=rnd.random() < 0.4,
                       quarter_form=rnd.choice(["fy", "year"]), kpis=kpis, defect=defect,
                       unique="unique" not in avoid and rnd.random() < 0.5)


# ---------------------------------------------------------------------------------------------
# Rows: what the extracts hold, and what the store should hold


@dataclass
class Model:
    """The rows the loads should have left, per dataset, and each version's rows."""

    spec: ProjectSpec
    rows: dict[str, list[dict]] = field(default_factory=lambda: {"inc": [], "staff": [], "q": []})
    versions: dict[str, dict[int, list[dict]]] = field(
        default_factory=lambda: {"inc": {}, "staff": {}, "q": {}})
    # a value's canonical spelling, per column: a variant kpi accepted reads as the canonical
    canonical: dict[str, str] = field(default_factory=dict)

    def kept(self, dataset: str, new: list[dict]) -> list[dict]:
        """The stored rows a load keeps: those of the months (or month and force pairs) it
        does not hold."""
        if dataset == "inc" and self.spec.replace_by:
            keys = {(r["month"], r["force"]) for r in new}
            return [r for r in self.rows[dataset] if (r["month"], r["force"]) not in keys]
        months = {r["month"] for r in new}
        return [r for r in self.rows[dataset] if r["month"] not in months]

    def apply(self, dataset: str, new: list[dict]) -> None:
        """A load: replace what it holds, keep the rest."""
        self.rows[dataset] = self.kept(dataset, new) + [dict(r) for r in new]

    def held(self, dataset: str, part: str | None = None) -> set[int]:
        """Months a dataset (or one force of it) holds; a quarter holds its three months."""
        out: set[int] = set()
        for r in self.rows[dataset]:
            if part is not None and r.get("force") != part:
                continue
            out.update(range(r["month"], r["month"] + 3) if dataset == "q" else (r["month"],))
        return out

    def parts(self, dataset: str) -> list[str | None]:
        if dataset == "inc" and self.spec.replace_by:
            return sorted({r["force"] for r in self.rows["inc"]})
        return [None]


DECIMAL_MINUTES = (0.1, 0.2, 2.35, 10.1, 15.5, 26.48)


def inc_rows(rnd: random.Random, months: list[int], force: str, counter: list[int],
             lpas: list[str] | None = None,
             step: tuple[int, str] | None = None,
             offences: list[str] | None = None) -> list[dict]:
    """A force's incidents in `months`; `offences` (ProjectSpec.offences, OFFENCES by
    default) as the extracts store them."""
    out = []
    for m in months:
        # now and then a month whose minutes went blank on every row (a data-quality note)
        blank = rnd.random() < 0.04
        for _ in range(rnd.randint(1, 4) + stepped(step, m)):
            counter[0] += 1
            out.append({
                "ref": f"R{counter[0]}", "month": m, "day": rnd.randint(1, 28),
                "force": force, "lpa": rnd.choice(lpas or LPAS),
                "offence": rnd.choice(offences or OFFENCES),
                # whole minutes, and now and then pounds-and-pence-like decimals whose float
                # sums print a remainder (0.1 + 0.2), which kpi must add as decimals
                "minutes": rnd.choice([None, *range(0, 41, 3), *DECIMAL_MINUTES])
                if rnd.random() < 0.9 and not blank else None,
                "victims": rnd.randint(0, 3),
                "decl_month": rnd.choice(["Jan", "Feb", "Mar"]),
            })
    return out


def staff_rows(rnd: random.Random, months: list[int],
               step: tuple[int, str] | None = None) -> list[dict]:
    return [{"month": m, "role": rnd.choice(ROLES), "minority": rnd.random() < 0.3}
            for m in months for _ in range(rnd.randint(2, 6) + stepped(step, m))]


STEP_ROWS = 5  # the rows a step change adds to each force's month on its high side


def stepped(step: tuple[int, str] | None, m: int) -> int:
    """The rows a project's step change (`draw_step`) adds to a month of one force's
    extract: STEP_ROWS on the high side of the step (from its month when it steps up,
    before it when it steps down), none on the other or without a step."""
    if step is None or (m >= step[0]) != (step[1] == "up"):
        return 0
    return STEP_ROWS


def draw_step(rnd: random.Random, spec: ProjectSpec) -> None:
    """Now and then (half the projects) a step change in the volume of incidents and
    staff (`stepped`): from a month of 2024, each force's months hold STEP_ROWS more rows
    than before, or fewer. The volumes of 1 to 4 rows a month drew no special cause but by
    chance: with a step, a count, a sum, a rate per 1,000, a score or a snapshot charted at a
    period after it reads a shift or a month outside its limits, in the front page's row of
    concern, improvement or unusually high or low as its better direction has it; and
    averages, shares and percentiles read over more rows a month have limits narrow enough
    that a target lies outside them (consistently met or missed)."""
    if rnd.random() < 0.5:
        spec.step = (rnd.randint(month(2024, 2), month(2024, 8)), rnd.choice(["up", "down"]))


# What a weights file of offences may be written in (draw_reference_files): Windows-1252
# most, the encoding only the rule's last step reads (byte 0x96 an en dash, not U+0096).
WEIGHTS_ENCODINGS = ("utf-8", "cp1252", "cp1252", "utf-8-sig", "utf-16")


def draw_reference_files(rnd: random.Random, spec: ProjectSpec) -> None:
    """The reference file's rule (`kpi.text.reference_text`): the weights file is written in
    Windows-1252, UTF-8 with a byte-order mark or UTF-16 with one, or plain UTF-8; and every
    project whose file is in Windows-1252, half the others, store assaults and burglaries
    under names of characters Windows-1252 encodes (an en dash, an e acute, a pound sign),
    so the weights file's keys must read as the extracts' stored text. A key decoded by
    another rule (Latin-1's U+0096 for an en dash) weighs its rows 0 where DuckDB's join
    weighs them. The filters naming an offence (draw_checks's parts) name it as stored."""
    spec.weights_encoding = rnd.choice(WEIGHTS_ENCODINGS)
    # (a file of ASCII alone is the same bytes in Windows-1252 and UTF-8: one written in
    # Windows-1252 always holds an en dash, byte 0x96)
    if spec.weights_encoding == "cp1252" or rnd.random() < 0.5:
        spec.offence_names = {
            "assault": rnd.choice(["assault \u2013 ABH", "Assault \u2013 ABH"]),
            "burglary": rnd.choice(["burglary \u2013 r\u00e9sidence", "burglary \u00a31k+"])}
    for k in spec.kpis:
        for attr in ("filter", "numerator", "denominator"):
            sql = getattr(k, attr)
            for old, new in spec.offence_names.items():
                if sql:
                    sql = sql.replace(f"offence = '{old}'", f"offence = '{new}'")
            setattr(k, attr, sql)
    draw_populations(rnd, spec)
    if rnd.random() < 0.5:  # an outcome codes glossary the paper prints
        spec.glossary_encoding = rnd.choice(WEIGHTS_ENCODINGS)


# Names beyond ASCII a force is stored under (draw_populations): each holds an en dash, byte
# 0x96 in Windows-1252 and U+0096 in Latin-1
FORCE_NAMES = ("Dyfed\u2013Powys Police", "Heddlu Gwent \u2013 Gwent Police")


def draw_populations(rnd: random.Random, spec: ProjectSpec) -> None:
    """The reference file's rule on a population file (drawn by draw_reference_files after
    its own draws): in every project loaded force by force, `[population_by] force` names a
    file of each force's population by year, written in a drawn encoding other than the
    weights file's; the project stores "Essex Police" under a name with an en dash
    (FORCE_NAMES; its peer group names it so too), which the file names too, so a population
    read by another rule is no force's and `kpi compare --by force`'s populations, per 1,000
    and ranks go wrong. A force is written now and then in another case (a part ignores it),
    now and then left out or given its first year only from 2024 (no population for a window
    ending in 2023: ranked on the values), and the file names a force the data never holds."""
    if not spec.replace_by:
        return
    # another encoding than the weights file's: each file is decoded on its own
    spec.population_encoding = rnd.choice([e for e in WEIGHTS_ENCODINGS
                                           if e != spec.weights_encoding])
    spec.force_names = {"Essex Police": rnd.choice(FORCE_NAMES)}
    spec.peer_members = tuple(spec.force_names.get(m, m) for m in spec.peer_members)
    if spec.peer_focus:
        spec.peer_focus = spec.force_names.get(spec.peer_focus, spec.peer_focus)
    # A count, sum or harm score whose paper compares it with a peer group's focus would
    # be compared per 1,000 people, which the oracle does not model: the file then gives the
    # focus no population, so those KPIs are ranked on their values (docs/peers.md)
    unpeopled = spec.peer_focus if spec.peer_focus and any(
        k.peers and k.kind in ("count", "sum", "weighted_score") for k in spec.kpis) else None
    for force in [*spec.forces, NO_ROWS_FORCE]:
        if force == unpeopled or (rnd.random() < 0.1
                                  and force != spec.force_names["Essex Police"]):
            continue  # no population for this force
        first = rnd.choice([2022, 2023, 2023, 2024])
        spec.populations[force] = {y: rnd.randint(800, 3000) * 1000 + rnd.randint(0, 999)
                                   for y in range(first, rnd.choice([2024, 2025]) + 1)}
        spec.population_names[force] = rnd.choice([force, force, force.upper(),
                                                   force.lower()])


def q_rows(rnd: random.Random, quarters: list[int], force: str, *,
           varied: bool = False) -> list[dict]:
    """A quarterly extract: one row a quarter, or (`varied`) one to three, now and then a
    quarter of nine, so a quarter's rows stand out from the quarters around it (a data-quality
    note) as a month's do. A varied extract's `n` is now and then 2**62 (written as a CSV
    file: a workbook's whole number past 2**53 is refused): a few such rows sum beyond 64 bits,
    which Polars' own sum wrapped round to a figure of the wrong sign."""
    def many() -> int:
        return (9 if rnd.random() < 0.1 else rnd.randint(1, 3)) if varied else 1

    def n() -> int:
        drawn = rnd.randint(0, 20)
        return 2**62 if varied and rnd.random() < 0.05 else drawn

    return [{"month": m, "force": force, "n": n()} for m in quarters for _ in range(many())]


def write_csv(path: Path, dataset: str, rows: list[dict], spec: ProjectSpec, *,
              spelled: dict[str, str] | None = None, leap_second: bool = False,
              bad_year: str | None = None) -> None:
    """An extract as a user gets it; `spelled` writes some values in another spelling."""
    spelled = spelled or {}

    def sp(v: str) -> str:
        return spelled.get(v, v)

    lines = []
    if dataset == "inc":
        date_head = "When" if spec.datetime_dates else "Day"
        head = ["ref", date_head, "Force", "LPA", "offence", "minutes", "victims"]
        if spec.defect == "month_column":
            head.append("month")
        if spec.extra_column:
            head.append(spec.extra_column)
        lines.append(",".join(head))
        for i, r in enumerate(rows):
            y, mo = r["month"] // 12, r["month"] % 12 + 1
            if spec.datetime_dates:
                when = wall_text(r, spec.time_zone)
                if leap_second and i == len(rows) - 1:
                    when = f"{y}-{mo:02d}-{r['day']:02d}T23:59:60"
            else:
                when = (f"{r['day']:02d}/{mo:02d}/{y}" if r["day"] % 2
                        else f"{y}-{mo:02d}-{r['day']:02d}")
            cells = [r["ref"], when, sp(r["force"]), sp(r["lpa"]), r["offence"],
                     "" if r["minutes"] is None else str(r["minutes"]), str(r["victims"])]
            if spec.defect == "month_column":
                cells.append(r["decl_month"])
            if spec.extra_column:
                cells.append(EXTRA_VALUES[sum(map(ord, r["ref"])) % len(EXTRA_VALUES)])
            lines.append(",".join(f'"{c}"' if "," in c else c for c in cells))
    elif dataset == "staff":
        flag = {True: "yes", False: "no"}
        if spec.staff_date == "as_at":
            lines.append("as_at,role,minority")
            lines += [f"{text(r['month'])},{r['role']},{flag[r['minority']]}" for r in rows]
        else:
            # a published table's year and month number (`draw_staff_date`)
            lines.append("Year,Month,role,minority")
            width = 2 if spec.month_padded else 1
            lines += [f"{r['month'] // 12},{r['month'] % 12 + 1:0{width}d},{r['role']},"
                      f"{flag[r['minority']]}" for r in rows]
    else:
        lines.append("fy,qtr,force,n" if spec.quarter_form == "fy" else "yr,qtr,force,n")
        for r in rows:
            m = r["month"]
            if spec.quarter_form == "fy":
                start = fy_start(m) // 12
                period = bad_year or f"{start}/{(start + 1) % 100:02d}"
                quarter = (m - fy_start(m)) // 3 + 1
            else:
                period, quarter = str(m // 12), m % 12 // 3 + 1
            lines.append(f"{period},{quarter},{sp(r['force'])},{r['n']}")
    data = "\n".join(lines) + "\n"
    if path.suffix == ".csv":
        path.write_text(data, encoding="utf-8")
    elif path.suffix == ".db":
        write_sqlite(path, data, random.Random(data))
    else:
        _write_other_format(path, data, len(rows))


# The zones a dataset of times may declare (draw_time_zone), besides the UK's by default.
ZONES = ("UTC", "America/New_York")
UK = "Europe/London"


def draw_time_zone(rnd: random.Random, spec: ProjectSpec) -> None:
    """Half the projects whose incidents are dated by a time declare a `time_zone`."""
    if spec.datetime_dates and rnd.random() < 0.5:
        spec.time_zone = rnd.choice(ZONES)


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def zone_trouble(wall: datetime, zone: str) -> str | None:
    """Whether the clocks of `zone` show the time `wall` (naive) twice or never: zoneinfo's
    answer, worked out without kpi."""
    z = _zone(zone)
    first, second = wall.replace(tzinfo=z, fold=0), wall.replace(tzinfo=z, fold=1)
    if first.utcoffset() == second.utcoffset():
        return None
    back = first.astimezone(UTC).astimezone(z).replace(tzinfo=None)
    return "twice" if back == wall else "never"


def wall_text(r: dict, zone: str | None) -> str:
    """An incident's date and time as its extract writes it, without an offset: in the UK's
    time by default, a time of day drawn from its day. In a declared `zone`, a third of the
    rows (by their ref) are the first minutes of their UK month, written as that zone's clocks
    show that instant (for New York, and for UTC in British Summer Time, the last evening of
    the month before); the rest are their day's time as by default, read in the zone (earlier
    that day where the instant would be the next UK month's, later where the zone's clocks
    show it twice or never: those are zone_probe's). The row's month stays the UK month of
    its instant (checked here, with zoneinfo, so the model's months are the instants')."""
    if r.get("wall"):
        return r["wall"]  # a probe's (zone_probe)
    y, mo = r["month"] // 12, r["month"] % 12 + 1
    plain = datetime(y, mo, r["day"], (r["day"] * 5) % 24, 15)
    if zone is None:
        return plain.isoformat()
    coin = random.Random(f"{r['ref']}|{r['month']}|{r['day']}|{zone}")
    if coin.random() < 1 / 3:
        instant = datetime(y, mo, 1, 0, coin.randint(0, 59), tzinfo=_zone(UK))
        wall = instant.astimezone(_zone(zone)).replace(tzinfo=None)
    else:
        wall = plain
        if zone_trouble(wall, zone):
            wall += timedelta(hours=3)  # clear of the change, the same day
        elif _uk_month(wall, zone) != (y, mo):
            # the evening of February's last day in New York is March's in the UK: earlier
            # that day, so the row stays in the month it was drawn for
            wall -= timedelta(hours=6)
    assert not zone_trouble(wall, zone) and _uk_month(wall, zone) == (y, mo), (r, zone, wall)
    return wall.isoformat()


def _uk_month(wall: datetime, zone: str) -> tuple[int, int]:
    """The UK year and month of the instant `zone`'s clocks show as `wall`."""
    instant = wall.replace(tzinfo=_zone(zone)).astimezone(_zone(UK))
    return instant.year, instant.month


# Times New York's clocks show twice (the first Sunday of November 2023, 01:00 to 02:00) or
# never (the second Sunday of March 2024, 02:00 to 03:00), each with its month
ZONE_TROUBLE = {"America/New_York": ((datetime(2023, 11, 5, 1, 30), "twice"),
                                     (datetime(2024, 3, 10, 2, 30), "never"))}


def zone_probe(rows: list[dict], zone: str, n: int) -> tuple[dict, str, str] | None:
    """One more incident for a load of `rows`, at a time `zone`'s clocks show twice or never
    (zone_trouble agreeing), with the wall text a file writes: (row, wall, "twice" or
    "never"); None for a zone whose clocks never change (UTC) or a load of no rows."""
    if zone not in ZONE_TROUBLE or not rows:
        return None
    wall, trouble = ZONE_TROUBLE[zone][n % 2]
    assert zone_trouble(wall, zone) == trouble
    row = dict(rows[0], ref=f"R{900_000 + n}", month=month(wall.year, wall.month), day=wall.day,
               wall=wall.isoformat())
    return row, wall.isoformat(), trouble


# SQLite's declared type of each column of the drawn extracts that a warehouse would type
# draw_presentation: the header of an extract column no dataset declares (kpi's own `__row`,
# and `month`, the name of kpi's own column, among them), and what it holds: text, numbers
# (number cells in a workbook, numbers in a database column of no type), a date, a dash, a
# blank, a formula's text, a total's word inside other text (a cell that is only a total's
# label, `Total` or `Grand Total`, is refused in any column: docs/catalogue.md)
EXTRA_NAMES = ("Notes", "Officer notes", "__row", "month", "MONTH", "Total")
EXTRA_VALUES = ("see log", "", "12", "2025-01-03", "Total of 3 calls", "-", "3.5", "n/a",
                "=SUM(A1:A2)", "0", "(none)")
SQLITE_TYPES = {**dict.fromkeys(EXTRA_NAMES, ""), "minutes": "REAL", "victims": "INTEGER",
                "n": "INTEGER", "qtr": "INTEGER",
                "yr": "INTEGER", "minority": "INTEGER", "Year": "INTEGER", "Month": "INTEGER"}


def write_sqlite(path: Path, data: str, rnd: random.Random) -> str:
    """The extract `data` (CSV text) as table `extract` of a new SQLite database `path`, the
    same rows and values as a warehouse types them: whole numbers INTEGER, `minutes` REAL
    (now and then of no type: its whole numbers INTEGER and fractions REAL), flags INTEGER 1
    and 0, dates and text TEXT, a blank NULL; now and then (a quarter of the
    extracts) every column TEXT, as an export of text, a blank NULL or (half of those) '';
    the columns in an order drawn from `rnd`. Returns the table's declaration."""
    import csv
    import io
    import sqlite3

    head, *body = list(csv.reader(io.StringIO(data)))
    typed = rnd.random() < 0.75
    kinds = [SQLITE_TYPES.get(name, "TEXT") if typed else "TEXT" for name in head]
    if typed and "minutes" in head and random.Random("untyped minutes" + data).random() < 0.3:
        # now and then of no declared type: a whole number INTEGER, a fraction REAL, one
        # column of two types, which the driver reads as one (a Random of its own: the
        # sequences drawn are those of before)
        kinds[head.index("minutes")] = ""
    order = list(range(len(head)))
    rnd.shuffle(order)
    blank = "" if not typed and rnd.random() < 0.5 else None  # an export of text: '' or NULL

    def value(cell: str, kind: str) -> object:
        if cell == "":
            return blank
        if kind == "INTEGER":
            flag = {"yes": 1, "no": 0}.get(cell)
            if flag is not None:
                return flag
            return int(cell) if re.fullmatch(r"-?\d+", cell) else cell
        if kind == "REAL":
            try:
                return float(cell)
            except ValueError:
                return cell
        if kind == "":  # a column of no type (an extra one): each value as it reads
            if re.fullmatch(r"-?\d+", cell):
                return int(cell)
            if re.fullmatch(r"-?\d+\.\d+", cell):
                return float(cell)
        return cell

    declared = ", ".join(f'"{head[i]}" {kinds[i]}'.rstrip() for i in order)
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE extract ({declared})")
        db.executemany(f"INSERT INTO extract VALUES ({', '.join('?' * len(order))})",
                       [[value(row[i], kinds[i]) for i in order] for row in body])
    db.close()
    return f"CREATE TABLE extract ({declared}), {len(body)} rows"


# the columns a Parquet extract may hold as integers, and an Excel workbook as number cells
NUMBER_COLUMNS = ("minutes", "victims", "n", "qtr", "yr", "Year", "Month")


def _write_other_format(path: Path, data: str, n_rows: int) -> None:
    """The extract `data` (CSV text) as the Parquet file or Excel workbook `path` names, the
    same rows and values. Parquet: small row groups (so a load spans several row groups and
    batches), and half the time the number columns typed (minutes Float64, the others Int64).
    Excel: numbers in those columns as number cells, everything else as text cells;
    half the workbooks in the 1904 date system (Excel for Mac's), and three in four (drawn
    apart) with each date of `Day` between 1990 and 2099 as a serial day number of that system,
    a number cell (as a date cell formatted as a number gives it)."""
    import io

    import polars as pl

    frame = pl.read_csv(io.StringIO(data), infer_schema=False)
    if path.suffix == ".parquet":
        if n_rows % 2:
            # minutes, which hold decimals, as a float column (as a Parquet extract holds
            # pounds and pence); the others as integers
            frame = frame.with_columns(
                pl.col(c).cast(pl.Float64 if c == "minutes" else pl.Int64)
                for c in frame.columns if c in NUMBER_COLUMNS)
        # row groups of one row, two rows or a third of the rows: a batch of a few rows
        # (KPI_INGEST_BATCH_ROWS) then spans a run of several groups, or a group several batches
        frame.write_parquet(path, row_group_size=(1, 2, max(1, n_rows // 3))[n_rows % 3])
        return
    import xlsxwriter

    rnd = random.Random(data)
    system_1904, serials = rnd.random() < 0.5, rnd.random() < 0.75
    zero = datetime(1904, 1, 1) if system_1904 else datetime(1899, 12, 30)
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False,
                                           "strings_to_formulas": False,
                                           "strings_to_urls": False,
                                           "date_1904": system_1904})
    sheet = book.add_worksheet("Extract")
    sheet.write_row(0, 0, frame.columns)
    for line, row in enumerate(frame.iter_rows(), start=1):
        for col, (name, value) in enumerate(zip(frame.columns, row, strict=True)):
            if value is None:
                continue
            day = _plain_day(value) if serials and name == "Day" else None
            if day is not None:
                sheet.write_number(line, col, (day - zero).days)
            elif name in NUMBER_COLUMNS and value.lstrip("-").isdigit():
                sheet.write_number(line, col, int(value))
            elif name == "minutes" and re.fullmatch(r"-?\d+\.\d+", value):
                sheet.write_number(line, col, float(value))  # a decimal as a number cell
            elif name in EXTRA_NAMES and re.fullmatch(r"-?\d+(?:\.\d+)?", value):
                sheet.write_number(line, col, float(value))  # an extra column's number
            else:
                sheet.write_string(line, col, value)
    book.close()


def retyped_probe(path: Path, out: Path, n_rows: int) -> str | None:
    """A copy at `out` of the incidents workbook `path` (as `_write_other_format` writes it:
    the ref in column A, a text cell) whose last row's ref is a number cell holding the ref's
    digits, as Excel keeps `00123` typed into a cell not formatted as Text; returns the
    sheet row it is on, or None where that cell is not a text cell."""
    import zipfile

    with zipfile.ZipFile(path) as book:
        members = {name: book.read(name) for name in book.namelist()}
        strings = re.findall(rb"<si><t[^>]*>([^<]*)</t></si>", members["xl/sharedStrings.xml"])
    sheet = "xl/worksheets/sheet1.xml"
    row = n_rows + 1
    cell = re.search(rb'<c r="A%d"( s="\d+")? t="s"><v>(\d+)</v></c>' % row, members[sheet])
    if cell is None:
        return None
    digits = re.sub(rb"\D", b"", strings[int(cell.group(2))]) or b"0"
    members[sheet] = members[sheet].replace(
        cell.group(0), b'<c r="A%d"><v>%s</v></c>' % (row, digits))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in members.items():
            book.writestr(name, data)
    return f"row {row}, column 'ref'"


def _plain_day(text: str) -> datetime | None:
    """The day a `Day` cell's text names (30/09/2025 or 2025-09-30), between 1990 and 2099;
    None for any other text (a defect the load must refuse stays as written)."""
    for form in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            day = datetime.strptime(text, form)
        except ValueError:
            continue
        return day if 1990 <= day.year <= 2099 else None
    return None


# ---------------------------------------------------------------------------------------------
# The oracle: windows, completeness and values, written out again


def windows(k: Kpi, period: int, vs: str, held: set[int]) -> tuple[int | None, tuple | None,
                                                                    tuple | None]:
    """(end, current window, comparison window), each window (first month, last month); end is
    the latest month held on or before period - lag (None when there is none), and for a
    dataset published for whole quarters or years, on or before the last month a publication
    runs to (`runs_to`)."""
    target = runs_to(period - k.lag, k.published)
    ends = [m for m in held if m <= target]
    if not ends:
        return None, None, None
    end = max(ends)
    if k.snapshot:
        current = (end, end)
    elif vs == "fytd":
        current = (fy_start(end), end)
    else:
        current = (end - 11, end)
    if vs == "baseline":
        if k.baseline == "yoy":
            comparison = (current[0] - 12, current[1] - 12)
        elif k.baseline:
            kind, _, at = k.baseline.partition(" ")
            b = parse(at)
            comparison = (b - 11, b) if kind == "YE" else (b, b)
        elif k.snapshot:
            comparison = (SNAPSHOT_BASELINE, SNAPSHOT_BASELINE)
        else:
            comparison = (BASELINE - 11, BASELINE)
    elif vs == "previous":
        # the window one row earlier: a quarter for quarterly data (the month before would
        # cut a quarter); the oracle's rates of two KPIs read the monthly dataset only
        step = 3 if k.dataset == "q" else 1
        comparison = (current[0] - step, current[1] - step)
    else:
        comparison = (current[0] - 12, current[1] - 12)
    if comparison[1] > current[1]:
        return end, current, None  # a baseline after the current window: no comparison
    return end, current, comparison


def window_options(k: Kpi, period: int, vs: str, held: set[int], quarterly: bool) -> list:
    """The windows kpi may report: those of `windows`, and for quarterly data whose window
    would cut a quarter, the windows ending at the last whole quarter before it."""
    options = [windows(k, period, vs, held)]
    end, current, _ = options[0]
    if quarterly and current is not None and cuts_quarter(current):
        whole = [m for m in held if m <= end and m % 3 == 2]
        if whole:
            _, cur, cmp_ = windows(k, max(whole) + k.lag, vs, held)
            options.append((max(whole), cur, cmp_))
    return options


def asked(k: Kpi, period: int, quarterly: bool) -> int:
    """The month a period asks a KPI's data to reach: the period less the lag, and for quarterly
    data the end of the last whole quarter on or before it (a window never cuts a quarter, so
    November asks for the quarter to September, as September does); for a dataset published
    for whole quarters or years, the last month a publication runs to on or before it."""
    target = period - k.lag
    if k.published != "monthly":
        return runs_to(target, k.published)  # each publication ends with a quarter
    return target - (target - 2) % 3 if quarterly else target


# The months of the year each publication of a source runs to, as docs/catalogue.md ("Lags and
# latest available data") describes `published`.
PUBLICATION_ENDS = {
    "monthly": tuple(calendar.month_abbr[1:]),
    "quarterly": ("Mar", "Jun", "Sep", "Dec"),
    "financial_year": ("Mar",),
    "calendar_year": ("Dec",),
}


def runs_to(m: int, published: str) -> int:
    """The last month on or before m that a publication runs to, counted back month by month."""
    while calendar.month_abbr[m % 12 + 1] not in PUBLICATION_ENDS[published]:
        m -= 1
    return m


def is_stale(k: Kpi, period: int, held: set[int], quarterly: bool) -> bool:
    """Whether a KPI is stale: its window ends before the month the period asks of it
    (`asked`), whether the data it holds ends before that month (a late source) or misses it
    while holding later ones, before or after the period (a gap: a quarter in progress held,
    or the months a later period asks for loaded before the one this period asks for)."""
    month = asked(k, period, quarterly)
    return any(m <= month for m in held) and month not in held


def cuts_quarter(window: tuple[int, int]) -> bool:
    return window[0] % 3 != 0 or window[1] % 3 != 2


class Oracle:
    """DuckDB over the model's rows."""

    def __init__(self, model: Model):
        self.model = model
        self._state: str | None = None
        self.db = duckdb.connect()
        self.db.execute("CREATE TABLE inc (month INT, force VARCHAR, lpa VARCHAR, "
                        "offence VARCHAR, minutes DOUBLE, victims INT, decl_month VARCHAR)")
        self.db.execute("CREATE TABLE staff (month INT, role VARCHAR, minority BOOLEAN)")
        self.db.execute("CREATE TABLE q (month INT, force VARCHAR, n BIGINT)")
        self.db.execute("CREATE TABLE weights (offence VARCHAR, weight DOUBLE)")
        if model.spec.defect != "empty_weights":
            names = model.spec.offence_names
            self.db.executemany("INSERT INTO weights VALUES (?, ?)",
                                [(names.get(k, k), w) for k, w in WEIGHTS.items()])

    @property
    def state(self) -> str | None:
        """The rows DuckDB holds, as the last refresh found them: the same object until a
        refresh loads other rows, so a figure read under it holds while it is."""
        return self._state

    def refresh(self) -> None:
        """Load the model's rows into DuckDB, when they changed since the last refresh."""
        import pyarrow as pa

        state = repr(self.model.rows)
        if state == self._state:
            return
        self._state = state
        columns = {"inc": ["month", "force", "lpa", "offence", "minutes", "victims",
                           "decl_month"],
                   "staff": ["month", "role", "minority"], "q": ["month", "force", "n"]}
        for table, names in columns.items():
            self.db.execute(f"DELETE FROM {table}")
            rows = self.model.rows[table]
            if rows:
                frame = pa.table({n: [r[n] for r in rows] for n in names})  # noqa: F841
                self.db.execute(f"INSERT INTO {table} SELECT {', '.join(names)} FROM frame")

    def _one(self, sql: str, where: str, args: list) -> float | None:
        got = self.db.execute(sql.replace("{w}", where), args).fetchone()[0]
        # a sum of whole numbers (DuckDB's HUGEINT) stays exact
        return None if got is None else got if isinstance(got, int) else float(got)

    def _selected(self, k: Kpi, window: tuple[int, int], forces: list[str] | None = None,
                  part: tuple[str, str] | None = None) -> tuple[Kpi, str, list]:
        """The WHERE clause (and its arguments) of the rows a KPI selects over a window, of
        `forces` only (None: every force) or of one part of a column; the KPI with any
        derived column written out, as the clause is."""
        where = "month BETWEEN ? AND ?"
        args: list = [window[0], window[1]]
        if forces is not None:
            where += " AND force IN (" + ", ".join("?" * len(forces)) + ")"
            args += forces
        if part is not None and part[1] is None:  # the rows with no value in the column
            where += f" AND {part[0]} IS NULL"
        elif part is not None:
            where += f" AND CAST({part[0]} AS VARCHAR) = ?"
            args.append(part[1])
        if k.filter:
            where += f" AND ({k.filter.replace('month =', 'decl_month =')})"
        if self.model.spec.derived and k.dataset == "inc":
            k = derived_out(k, self.model.spec.derived)
            where = derived_text(where, self.model.spec.derived)
        return k, where, args

    def forces_selected(self, k: Kpi, window: tuple[int, int],
                        part: tuple[str, str] | None = None) -> list[str | None]:
        """The forces (None: rows with no force) of the rows a KPI of the incidents selects
        over a window (of one part of a column only, with `part`), by name: whose rows its
        figure for the window adds together."""
        k, where, args = self._selected(k, window, part=part)
        found = [r[0] for r in self.db.execute(
            f"SELECT DISTINCT force FROM {k.dataset} WHERE {where}", args).fetchall()]
        return sorted((f for f in found if f is not None), key=str.casefold) + \
            ([None] if None in found else [])

    def value(self, k: Kpi, window: tuple[int, int], forces: list[str] | None = None,
              part: tuple[str, str] | None = None) -> float | None:
        """The KPI over a window, over the rows of `forces` only (None: every row), or of one
        part of a column (`part` = (column, value); a value of None: the rows with none)."""
        if k.parts:
            kpis = {x.id: x for x in self.model.spec.kpis}
            num = self.value(kpis[k.parts[0]], window, forces, part)
            den = self.value(kpis[k.parts[1]], window, forces, part)
            if not den or num is None:
                return None
            return quotient_of(num, den, 100 * written(k.multiplier),
                               exact=all(_whole_or_exact(x) for x in (num, den)))
        if forces is not None and not forces:
            return None
        k, where, args = self._selected(k, window, forces, part)
        if k.dataset == "inc" and k.value == "minutes" and k.kind in ("sum", "mean"):
            return self._decimal(k, where, args)
        if k.kind in ("median", "percentile") and not k.snapshot:
            return self._order_statistic(k, where, args)
        table = k.dataset
        # a count's (or per 1,000's) `value`: a condition counts its true rows, a number sums
        counted = ("count(*)" if k.value is None else
                   f"coalesce(sum(CASE WHEN {k.value} THEN 1 ELSE 0 END), 0)"
                   if any(op in k.value for op in "<>=") else f"coalesce(sum({k.value}), 0)")
        # a rate's (or a snapshot's) `denominator`: the selected rows it holds, else every one
        den = "count(*)" if k.denominator is None or k.kind == "ratio_of_rates" \
            else f"count(*) FILTER ({k.denominator})"
        sql = {
            "count": f"SELECT {counted} FROM {table} WHERE {{w}}",
            "sum": f"SELECT coalesce(sum({k.value}), 0) FROM {table} WHERE {{w}}",
            "rate": f"SELECT 100.0 * {numerator_sum(k)} / nullif({den}, 0) "
                    f"FROM {table} WHERE {{w}}",
            "within": f"SELECT 100.0 * count(*) FILTER ({k.value} <= {k.threshold}) / "
                      f"nullif(count({k.value}), 0) FROM {table} WHERE {{w}}",
            "mean": f"SELECT avg({k.value}) FROM {table} WHERE {{w}}",
            "median": f"SELECT median({k.value}) FROM {table} WHERE {{w}}",
            "percentile": f"SELECT quantile_cont({k.value}, {(k.percentile or 0) / 100}) "
                          f"FROM {table} WHERE {{w}}",
            "per_1000": f"SELECT {counted} / {POPULATION['resident']} * 1000 FROM {table} "
                        "WHERE {w}",
            "ratio_of_rates": (f"SELECT (count(*) FILTER ({k.numerator}) / {POPULATION['black']})"
                               f" / nullif(count(*) FILTER ({k.denominator}) / "
                               f"{POPULATION['white']}, 0) FROM {table} WHERE {{w}}"),
            "weighted_score": "SELECT coalesce(sum(coalesce(w.weight, 0)), 0) FROM inc "
                              "LEFT JOIN weights w USING (offence) WHERE {w}",
        }
        # docs/guarantees.md: a rate, share, per 1,000 or ratio of rates is its numerator
        # times its scale (100, 1,000, the multiplier) over its denominator, rounded once;
        # the counts are read from DuckDB and divided here exactly, then compared to the bit.
        ratios = {
            "rate": (numerator_sum(k), den, 100),
            "within": (f"count(*) FILTER ({k.value} <= {k.threshold})", f"count({k.value})",
                       100),
            "per_1000": (counted, "1", Fraction(1000, POPULATION["resident"])),
            "ratio_of_rates": (f"count(*) FILTER ({k.numerator})",
                               f"count(*) FILTER ({k.denominator})",
                               Fraction(POPULATION["white"], POPULATION["black"])),
        }
        if k.snapshot and k.numerator:
            ratios["snapshot"] = (f"count(*) FILTER ({k.numerator})", den, 100)
        kind = "snapshot" if k.snapshot else k.kind
        if kind in ratios:
            num_sql, den_sql, scale = ratios[kind]
            num, den_got = self.db.execute(
                f"SELECT {num_sql}, {den_sql} FROM {'staff' if k.snapshot else table} "
                f"WHERE {where}", args).fetchone()
            if num is None or not den_got:
                return None
            return quotient_of(num, den_got, scale * written(k.multiplier), exact=True)
        if k.snapshot:
            query = "SELECT count(*) FROM staff WHERE {w}"
        else:
            query = sql[k.kind]
        got = self._one(query, where, args)
        return got if got is None or k.multiplier == 1.0 else got * k.multiplier

    def selects(self, k: Kpi, windows_: Sequence[tuple[int, int] | None], lpa: str) -> bool:
        """Whether a KPI's filter selects a row of an LPA in any of the windows (a rate of two
        KPIs: either KPI's): `kpi compare` lists no part its KPI selects no row of."""
        if k.parts:
            kpis = {x.id: x for x in self.model.spec.kpis}
            return any(self.selects(kpis[i], windows_, lpa) for i in k.parts)
        spans = [w for w in windows_ if w is not None]
        if not spans:
            return False
        where = "(" + " OR ".join("month BETWEEN ? AND ?" for _ in spans) + ") AND lpa = ?"
        args: list = [m for w in spans for m in w] + [lpa]
        if k.filter:
            where += f" AND ({k.filter.replace('month =', 'decl_month =')})"
        if self.model.spec.derived and k.dataset == "inc":
            where = derived_text(where, self.model.spec.derived)
        got = self.db.execute(f"SELECT count(*) FROM {k.dataset} WHERE {where}",
                              args).fetchone()
        return bool(got and got[0])

    def _decimal(self, k: Kpi, where: str, args: list) -> Exact | None:
        """A sum or mean of the minutes as docs/guarantees.md states it: the decimals'
        sum (DuckDB's DECIMAL arithmetic) rounded once, a mean that sum over the rows
        rounded once, then the multiplier; compared to the bit (`same`)."""
        total, rows = self.db.execute(
            f"SELECT sum(minutes::DECIMAL(18, 2))::VARCHAR, count(minutes) FROM inc "
            f"WHERE {where}", args).fetchone()
        if k.kind == "mean" and not rows:
            return None
        exact = Fraction(total or 0) / (rows if k.kind == "mean" else 1)
        return Exact(float(exact * written(k.multiplier)))

    def _order_statistic(self, k: Kpi, where: str, args: list) -> Exact | None:
        """A median or percentile as docs/catalogue.md defines it (DuckDB's `quantile_cont`:
        linear interpolation at the position (n - 1) x q) worked out exactly on the values as
        written with q as written, times the multiplier, rounded once (docs/guarantees.md);
        compared to the bit."""
        (values,) = self.db.execute(
            f"SELECT list({k.value}) FILTER ({k.value} IS NOT NULL) FROM {k.dataset} "
            f"WHERE {where}", args).fetchone()
        if not values:
            return None
        ordered = sorted(written(v) for v in values)
        q = Fraction(1, 2) if k.kind == "median" else written(k.percentile or 0) / 100
        position = (len(ordered) - 1) * q
        below = position.numerator // position.denominator
        stat = ordered[below] if position == below else (
            ordered[below] + (ordered[below + 1] - ordered[below]) * (position - below))
        return Exact(float(stat * written(k.multiplier)))

    def dataset_of(self, k: Kpi) -> str:
        if k.parts:
            kpis = {x.id: x for x in self.model.spec.kpis}
            return kpis[k.parts[0]].dataset
        return k.dataset

    def accepted(self, k: Kpi, window: tuple[int, int]) -> tuple[set, bool]:
        """The values kpi may print for a KPI over a window (None: no figure), and whether a
        figure other than the whole window's needs a note (a part left out)."""
        dataset = self.dataset_of(k)
        if dataset == "q" and cuts_quarter(window):
            return {None}, False
        months = set(range(window[0], window[1] + 1))
        model = self.model
        if not months <= model.held(dataset):
            # a month no part holds: the window is incomplete (a part may be left out only
            # when the rest are whole)
            full = [p for p in model.parts(dataset) if p is not None
                    and months <= model.held(dataset, p)]
            if full:
                return {None, self.value(k, window, full)}, True
            return {None}, False
        whole = self.value(k, window)
        if model.parts(dataset) == [None]:
            return {whole}, False
        full, partial, absent = [], [], []
        for p in model.parts(dataset):
            got = months & model.held(dataset, p)
            (full if got == months else partial if got else absent).append(p)
        if partial:
            options = {None}
            if full:
                options.add(self.value(k, window, full))
            return options, True
        return ({whole, None} if absent else {whole}), False

    def part_gaps(self, k: Kpi, current: tuple[int, int],
                  comparison: tuple[int, int] | None) -> tuple[bool, bool] | None:
        """For a dataset loaded part by part (replace_by), whether kpi has no figure for the
        current window and for the comparison window, as docs/guarantees.md says of parts
        loaded over different months: every part holding a row in either window compared (any
        row, whatever the KPI's filter) must hold every month of a window, or that window has
        no figure (never summed over fewer parts than its months claim); no current figure, no
        comparison either. A part with no row in either window is no part of the windows
        unless it holds the month before one (a month never loaded for it). None for a
        dataset loaded whole (Oracle.accepted models it)."""
        dataset = self.dataset_of(k)
        model = self.model
        parts = [p for p in model.parts(dataset) if p is not None]
        if not parts:
            return None
        cur = set(range(current[0], current[1] + 1))
        cmp_ = set() if comparison is None else set(range(comparison[0], comparison[1] + 1))
        named = [p for p in parts if model.held(dataset, p) & (cur | cmp_)]
        # ... and a part holding the month before a window is due in it (engine.due_parts)
        def due(window: set[int]) -> list:
            return [p for p in parts if window and min(window) - 1 in model.held(dataset, p)]
        cur_gap = any(not cur <= model.held(dataset, p) for p in [*named, *due(cur)]) or \
            not cur <= model.held(dataset)
        cmp_gap = cur_gap or (comparison is not None and (
            any(not cmp_ <= model.held(dataset, p) for p in [*named, *due(cmp_)])
            or not cmp_ <= model.held(dataset)))
        return cur_gap, cmp_gap

    def told_gap(self, k: Kpi, current: tuple[int, int] | None,
                 comparison: tuple[int, int] | None, force: str | None = None) -> str | None:
        """docs/peers.md, "Like with like": where a peer group's column (force) tells apart the
        parts of a dataset not loaded by it (the quarterly rows, loaded whole by quarter), a
        force holding rows in one of the two windows compared and none in the other, or rows
        in every month of one and not of the other, leaves the comparison out, the current
        figure standing; and so does a force holding rows in either window that held rows in
        every month of 12 in a row before a month of one of them it holds none in
        (`stopped`: it stopped, whether or not either window is whole for it), or whose
        first month, after the dataset's first, falls after the first month of one of them,
        with rows in every month from it to the last month of both (`begun`: it started).
        The first such force (by name), or None. Whether a force holds a
        month is read from every row of the dataset, whatever the KPI's filter (the quarterly
        KPIs have none). With `force`, of that force alone (its own comparison, by force)."""
        spec = self.model.spec
        if current is None or comparison is None or not spec.peer_members or spec.sparse_q:
            return None  # declared sparse: a force's quarter without rows had none
        kpis = {x.id: x for x in spec.kpis}
        measures = [kpis[p] for p in k.parts] if k.parts else [k]
        cur = set(range(current[0], current[1] + 1))
        cmp_ = set(range(comparison[0], comparison[1] + 1))
        for m in measures:
            if m.dataset != "q":  # the incidents' forces are its loads (replace_by)
                continue
            forces = {r["force"] for r in self.model.rows["q"]} - {None}
            # the first month any force holds rows in (engine.first_held)
            first = min(m for f in forces for m in self.model.held("q", f)) if forces else 0
            last = max(cur | cmp_)
            for one in sorted(forces if force is None else forces & {force}):
                held = self.model.held("q", one)
                if (bool(held & cur), cur <= held) != (bool(held & cmp_), cmp_ <= held) or (
                        held & (cur | cmp_) and (stopped(held, cur) or stopped(held, cmp_))):
                    return one
                start = begun(held, first, last)
                if start is not None and (min(cur) < start or min(cmp_) < start):
                    return one
        return None

    def told_partial(self, k: Kpi, span: range) -> set[int]:
        """The months of a series (`span`) with no value by the rule of `told_gap`: the span
        cut into years back from its last month, every month of a year whose forces holding
        rows (of the quarterly rows, with a peer group of forces), and those of them holding
        rows in its every month, are not those of the last year; and the months of the last
        year a force holding rows in only some of them, and in every month of an earlier year,
        holds none in, having held every month of 12 in a row before them (`stopped`); and
        every month of the span before a force's first where it started within the span
        (`begun`); the years before held to the forces of the last year's other months
        (engine.partial_months)."""
        spec = self.model.spec
        if not spec.peer_members or spec.sparse_q or self.dataset_of(k) != "q" or not span:
            return set()
        forces = sorted({r["force"] for r in self.model.rows["q"]} - {None})
        held = {f: self.model.held("q", f) for f in forces}
        years, last = [], max(span)
        while last >= min(span):
            years.append({m for m in span if last - 11 <= m <= last})
            last -= 12
        def shape(year: set[int]) -> dict[str, bool]:
            return {f: year <= held[f] for f in forces if held[f] & year}

        # a force with rows in some months of the last year that held rows in every month of
        # 12 in a row before a month of it holds none in (shown or not): those months
        cut = {m for f, whole in shape(years[0]).items() if not whole
               for m in years[0] - held[f] if stopped(held[f], {m})}
        # a force with no rows before its first month (after the dataset's) and rows in every
        # month from it to the span's last: the months of the span before it
        first = min((m for f in forces for m in held[f]), default=0)
        for f in forces:
            start = begun(held[f], first, max(span))
            cut |= {m for m in span if start is not None and m < start}
        kept = shape(years[0] - cut)
        return cut | {m for year in years[1:] if shape(year - cut) != kept for m in year}

    def part_accepted(self, k: Kpi, window: tuple[int, int], force: str) -> set:
        """One force's figure in kpi compare: its value when it holds every month of the
        window, else no figure (never 0 for months it never loaded), where the dataset is
        loaded by force (`replace_by`); of a dataset that is not (the quarterly one), its
        value over its rows where the dataset holds every month of the window, a quarter it
        holds no row in counting 0 (docs/json.md, as `kpi show`'s breakdown counts it)."""
        months = set(range(window[0], window[1] + 1))
        dataset = self.dataset_of(k)
        if dataset == "q" and cuts_quarter(window):
            return {None}
        loads = dataset == "inc" and self.model.spec.replace_by
        if not months <= self.model.held(dataset, force if loads else None):
            return {None}
        return {self.value(k, window, [force])}


def stopped(held: set[int], months: set[int]) -> bool:
    """Whether a force holding rows in the months `held` holds none in a month of `months`
    after holding rows in every month of 12 in a row before it (docs/peers.md: a force that
    stopped supplying, not sparse data), counted month by month."""
    return bool(held) and any(any(all(first + step in held for step in range(12))
                                  for first in range(min(held), m - 11))
                              for m in months - held)


def begun(held: set[int], first: int, last: int) -> int | None:
    """The month a force holding rows in the months `held` started in: its first, where that
    is after the `first` month any force holds rows in and it holds rows in every month from
    it to `last` (docs/peers.md: a force that started supplying, not sparse data); or None."""
    if not held or not first < min(held) <= last:
        return None
    return min(held) if all(m in held for m in range(min(held), last + 1)) else None


class Exact(float):
    """A figure the oracle knows to the bit (a sum or mean of decimals, a rate of counts):
    `same` compares it exactly. Arithmetic on it gives a plain float again."""


def written(value: float) -> Fraction:
    """A number as the decimal it prints as (a multiplier of 0.1 is 1/10)."""
    if isinstance(value, int):  # a whole number is itself, beyond 2**53 too
        return Fraction(value)
    return Fraction(repr(float(value)))


def stands_for(value: float) -> Fraction:
    """The number a printed figure stands for: the fraction of fewest digits below its line
    whose nearest float the figure is (`Fraction.limit_denominator`'s idea, to the half-ulp
    about the float). A decimal as printed is itself (0.35 is 7/20) and a quotient of counts
    is the quotient (24.324324324324323 is 900/37), recovered from the JSON alone, not from
    kpi: a change is the exact difference of the numbers its two figures stand for, rounded
    once (docs/guarantees.md), so 31/48 − 7/12 of 100 is 6.25 points, not the floats'
    6.249999999999994. A figure no fraction below `QUOTIENT_DENOMINATORS` is nearest to (a
    median of values an expression divided in floats, `minutes / 7`, times 60) is its decimal,
    as written. The oracle's projects' quotients have denominators far below it."""
    if isinstance(value, int):
        return Fraction(value)
    x = float(value)
    if x == 0 or not math.isfinite(x):
        return Fraction(x)
    if x < 0:
        return -stands_for(-x)
    lo = (Fraction(math.nextafter(x, 0.0)) + Fraction(x)) / 2
    hi = (Fraction(x) + Fraction(math.nextafter(x, math.inf))) / 2
    simplest = _simplest_between(lo, hi)
    # A decimal as short (a float past 2**53, where whole numbers fill the interval, is the
    # whole number its digits write, 115294456303693910000000) is the figure as written.
    shortest = written(x)
    if shortest.denominator <= simplest.denominator:
        return shortest
    return simplest if simplest.denominator < QUOTIENT_DENOMINATORS else shortest


QUOTIENT_DENOMINATORS = 10**7


def _simplest_between(lo: Fraction, hi: Fraction) -> Fraction:
    """The fraction of smallest denominator in [lo, hi], 0 < lo < hi (continued fractions)."""
    whole = math.floor(lo)
    if whole == lo:
        return Fraction(whole)
    if whole + 1 <= hi:
        return Fraction(whole + 1)
    return whole + 1 / _simplest_between(1 / (hi - whole), 1 / (lo - whole))


def exact_figure(exact: Fraction) -> float:
    """docs/guarantees.md, "Every printed figure": a figure made of others (a difference, a
    quotient) is the nearest float, or, a whole number from 10**15, that int itself."""
    if exact.denominator == 1 and abs(exact) >= 10**15:
        return int(exact)
    return float(exact)


def _whole_or_exact(value: float) -> bool:
    return isinstance(value, Exact) or float(value).is_integer()


def quotient_of(num: float, den: float, scale: Fraction | int, *, exact: bool) -> float:
    """num × scale / den of the figures as written, rounded once (docs/guarantees.md, "No
    silent wrong figure"): Exact where both figures are known to the bit."""
    got = float(written(num) * Fraction(scale) / written(den))
    return Exact(got) if exact else got


def same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, Exact) or isinstance(b, Exact):
        return float(a) == float(b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def member(v: float | None, options: set) -> bool:
    return any(same(v, o) for o in options)


def excel_round(value: float, places: int) -> Decimal:
    """docs/guarantees.md's rounding rule, written out again (not kpi.rounding): Excel's ROUND
    and cell display, which take the number to 15 significant digits and round that half away
    from zero. Here the float's exact binary value is taken to 15 significant digits by
    Decimal's own arithmetic, then quantized half up (Decimal's ROUND_HALF_UP is away from
    zero); a zero has no sign. A whole number held as an int from 10**15, where 15
    significant digits no longer reach the units, is taken as it is."""
    exact = Decimal(value)
    fifteen = (exact if isinstance(value, int) and abs(value) >= 10**15
               else Context(prec=15, rounding=ROUND_HALF_EVEN).plus(exact))
    result = fifteen.quantize(Decimal(10) ** -places, rounding=ROUND_HALF_UP,
                              context=Context(prec=1000))
    return abs(result) if result == 0 else result


def excel_text(value: float, places: int, grouping: bool = False) -> str:
    """A value as the report prints it to `places` decimals (thousands with commas with
    `grouping`)."""
    return format(excel_round(value, places), f"{',' if grouping else ''}.{places}f")


WHOLE_KINDS = ("count", "sum", "snapshot")


def printed_places(k: Kpi) -> int:
    """docs/catalogue.md, `decimals`: the KPI's own where it has one (draw_variants), else its
    unit's: one for percentages, ratios, scores and rates per 1,000; none for pounds and
    durations (to the second); for a count or days none when the kind is whole (`count`,
    `sum`, `snapshot`) and one for the rest. A KPI of its kind's default unit ("other") prints
    as a count does (a rate per 1,000 and a score, never whole kinds, to one)."""
    if k.decimals is not None:
        return k.decimals
    if k.unit in ("gbp", "seconds"):
        return 0
    if k.unit in ("count", "days", "other"):
        return 0 if k.kind in WHOLE_KINDS else 1
    return 1


def clock_text(seconds: float, places: int) -> str:
    """docs/catalogue.md: a duration in seconds shown as m:ss, or h:mm:ss from an hour, to the
    second, or to `places` decimals of a second where it needs them ("10:00.4"); rounded as
    Excel rounds (`excel_round`), a minus before it where it prints as more than zero."""
    magnitude = excel_round(abs(seconds), places)
    whole = int(magnitude)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    fraction = format(magnitude - whole, f".{places}f")[1:] if places > 0 else ""
    body = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return ("-" if seconds < 0 and magnitude != 0 else "") + body + fraction


def unit_text(k: Kpi, value: float, places: int, named: bool = True) -> str:
    """A figure as the text prints it in the KPI's unit (docs/catalogue.md, docs/guarantees.md
    "One figure in every output", docs/excel-and-power-bi.md, whose number formats show what
    the text prints): a percentage with its sign and no thousands separator (`0.0%`); pounds
    with the sign before the pound sign (`£#,##0`, "-£5"); a duration as a clock
    (`clock_text`); days with the unit's name (`named`), its `unit_label` where it has one
    ("8 working days"), singular only after a number printed as one ("1 day", "0 days",
    "1.0 days"); anything else with thousands separated by commas."""
    if k.unit == "seconds":
        return clock_text(value, places)
    if k.unit == "percent":
        return excel_text(value, places) + "%"
    shown = excel_text(value, places, grouping=True)
    if k.unit == "gbp":
        return "-£" + shown[1:] if shown.startswith("-") else "£" + shown
    if k.unit == "days" and named:
        return labelled(shown, k.unit_label or "days")
    return shown


def spoken_duration(seconds: float, places: int = 0) -> str:
    """A duration as the paper's prose says it, to the second (docs/board-paper.md): '1 hour,
    22 minutes and 5 seconds', '13 minutes and 53 seconds', '1 second', '0 seconds', a part of
    0 left out; 'minus' before a negative one. Where the figure takes `places` more (beside
    the other window's figure or its target, docs/guarantees.md), its seconds to those
    places ('15.4 seconds'), none where they round to a whole second ('1 minute')."""
    magnitude = excel_round(abs(seconds), places)
    whole = int(magnitude)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    fraction = magnitude - whole
    said = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in
            ((hours, "hour"), (minutes, "minute")) if n]
    if secs or fraction:
        said.append(f"{secs}{str(fraction)[1:] if fraction else ''} "
                    f"second{'' if secs == 1 and not fraction else 's'}")
    words = ("0 seconds" if not said else said[0] if len(said) == 1
             else ", ".join(said[:-1]) + " and " + said[-1])
    return f"minus {words}" if seconds < 0 and said else words


def prose_text(k: Kpi, value: float, places: int = 0) -> str:
    """A figure as the paper's prose says it, on its own (no target, nothing beside it):
    a duration in words (`spoken_duration`, its seconds to `places`, the places a figure
    takes beside the other window's); pounds of a million or more in millions to one
    place ("£82.2m", "-£1,234.5m"); a rate per 1,000 followed by "per 1,000 population" (the
    kind) or "per 1,000" (the unit, on another kind); anything else as its unit prints it
    (`unit_text`)."""
    if k.unit == "seconds":
        return spoken_duration(value, places)
    if k.unit == "gbp" and abs(value) >= 1_000_000:
        millions = format(excel_round(float(written(value) / 1_000_000), 1), ",.1f")
        return ("-£" + millions[1:] if millions.startswith("-") else "£" + millions) + "m"
    if k.unit_label:
        # the KPI's own name of its unit in place of its unit's ("8 working days", "1 officer")
        return labelled(unit_text(k, value, printed_places(k), named=False), k.unit_label)
    shown = unit_text(k, value, printed_places(k))
    if k.kind == "per_1000" or k.unit == "per_1000":
        shown += " per 1,000 population" if k.kind == "per_1000" else " per 1,000"
    return shown


def prose_beside(k: Kpi, value: float, places: int) -> str:
    """A figure as the paper's prose says it beside another at `places` (the peer
    sentence's focus and group median, docs/board-paper.md): as `prose_text` says it, but
    to those places, pounds in full (no "£82.2m", which could print two figures alike)."""
    if k.unit == "seconds":
        return spoken_duration(value, places)
    if k.unit_label:
        return labelled(unit_text(k, value, places, named=False), k.unit_label)
    shown = unit_text(k, value, places)
    if k.kind == "per_1000" or k.unit == "per_1000":
        shown += " per 1,000 population" if k.kind == "per_1000" else " per 1,000"
    return shown


def labelled(shown: str, label: str) -> str:
    """A number printed with a `unit_label` (docs/catalogue.md): the label as written, its
    last word without its "s" only after a number printed as one ("1 working day"), and never
    a scale ("1 million days") nor what a rate is per ("1 per 1,000 residents")."""
    words = label.split(" ")
    one = shown.lstrip("+-\u2212") == "1" and words[-1].endswith("s") and not (
        {"thousand", "million", "billion", "per"} & set(words))
    return f"{shown} {' '.join([*words[:-1], words[-1][:-1]]) if one else label}"


def labelled_figure(shown: str, label: str) -> str:
    """A figure as the figures file wrote it (`shown`: "1,039 working days", a KPI in days
    named by its label since every face names the unit alike; "12" for a count) said in prose
    with its `unit_label`: the unit's name taken off whichever way it was written, the label
    put back once."""
    words = label.split(" ")
    singular = " ".join([*words[:-1], words[-1][:-1]]) if words[-1].endswith("s") else label
    names = sorted({label, singular, "days", "day"}, key=len, reverse=True)
    bare = re.sub(" (?:" + "|".join(map(re.escape, names)) + ")$", "", shown)
    return labelled(bare, label)


def target_words(k: Kpi) -> str:
    """What the paper prints after a target (docs/catalogue.md, `target_source` and
    `target_illustrative`): "(illustrative: ...)" or "(illustrative)" for one the force sets
    itself, its source in brackets, else "(source not stated)"."""
    if k.target_illustrative:
        source = k.target_source
        for lead in ("an illustration: ", "illustrative: ", "an illustration; "):
            if source.lower().startswith(lead):
                source = source[len(lead):]
        return f"(illustrative: {source})" if source else "(illustrative)"
    return f"({k.target_source})" if k.target_source else "(source not stated)"


def provenance_expected(spec: ProjectSpec, k: Kpi) -> dict:
    """The summary's fields of where a KPI's target and populations come from
    (docs/json.md): the target's source (null where none is written, or there is no target)
    and whether it is illustrative (null without a target); for a KPI dividing by
    `[population]` figures, their sources as written, each once, joined by "and" (null where
    none is written), and whether any is illustrative; both null for any other kind."""
    aimed = k.target is not None
    names = {"per_1000": ["resident"], "ratio_of_rates": ["black", "white"]}.get(k.kind)
    known = [spec.population_sources[n] for n in names or () if n in spec.population_sources]
    sources = " and ".join(dict.fromkeys(s for s, _ in known if s))
    return {"target_source": (k.target_source or None) if aimed else None,
            "target_illustrative": k.target_illustrative if aimed else None,
            "population_source": (sources or None) if names else None,
            "population_illustrative": any(i for _, i in known) if names else None}


def population_words(spec: ProjectSpec, k: Kpi) -> str:
    """The sentence a paragraph of a KPI dividing by `[population]` figures says of their
    source (docs/catalogue.md): that they are illustrative where any is, else where they come
    from; "" where none of them is written as a table with a source or `illustrative`."""
    names = {"per_1000": ["resident"], "ratio_of_rates": ["black", "white"]}.get(k.kind, [])
    known = [spec.population_sources[n] for n in names if n in spec.population_sources]
    if not known or not any(source or illustrative for source, illustrative in known):
        return ""
    sources = " and ".join(dict.fromkeys(s for s, _ in known if s))
    subject = ("The populations it divides by are" if k.kind == "ratio_of_rates"
               else "The population it divides by is")
    if any(illustrative for _, illustrative in known):
        return f"{subject} illustrative, not published figures" + (
            f" ({sources})" if sources else "") + "."
    return f"{subject} from {sources}."


def printed_figure(k: Kpi, value: float, other: float | None, role: str) -> str:
    """A window's figure (of the window `role`, "current" or "comparison") as the summary's
    Markdown table and the paper's figures file print it: in its unit (`unit_text`), to the
    places it takes beside the other window's figure `other` and its target
    (`side_by_side_places`)."""
    return unit_text(k, value, side_by_side_places(k, value, other, role))


def printed_change(k: Kpi, comparison: float, current: float) -> str:
    """A change as the summary prints it beside two figures (docs/catalogue.md, Status;
    docs/excel-and-power-bi.md, "changes are signed"): the difference of the figures as
    written, rounded once, to the KPI's places, or the figures' where they print apart while
    it reads as none at the KPI's (`change_places`; never read against the target): in points
    ("+1.2pp") for a percent, bare for a ratio; else in the unit (pounds "-£5", a clock
    "-2:04", days without their name "+3") followed by the % change to one place from a base
    above zero ("(+0.8%)", "(n/a)"). A change that prints as zero has no sign."""
    diff = exact_figure(stands_for(current) - stands_for(comparison))
    places = change_places(k, comparison, current)

    def signed(size: float, shown: str) -> str:
        if not any(c in "123456789" for c in shown):
            return shown
        return ("+" if size > 0 else "-") + shown

    if k.unit == "percent":
        return signed(diff, excel_text(abs(diff), places) + "pp")
    if k.unit == "ratio":
        return signed(diff, excel_text(abs(diff), places))
    size = unit_text(k, abs(diff), places, named=False)
    percent = percent_change(current, comparison)
    pct = "n/a" if percent is None else signed(percent, excel_text(abs(percent), 1) + "%")
    return f"{signed(diff, size)} ({pct})"


def status_reads(k: Kpi, status: str, change: str, comparison: float,
                 current: float) -> str | None:
    """docs/catalogue.md, Status, read off a face: why the `status` a face prints beside the
    `change` it prints ("+0.2pp", "+3 (+0.0%)", "-1 (n/a)") contradicts it, or None. The size
    the status judges is the points or (a ratio) the change, else the % change, else (none
    from the base) the change; as printed, it reads as a change (a digit 1 to 9) where the
    status says the KPI moved, and as none where it says stable, unless the size is within
    the KPI's stable band (a policy band, which a change with no % has not)."""
    if status not in ("improving", "deteriorating", "changed", "stable"):
        return None
    size_text, _, percent_text = change.partition(" (")
    percent_text = percent_text.rstrip(")")
    by_size = k.unit in ("percent", "ratio") or percent_text in ("", "n/a")
    judged = size_text if by_size else percent_text
    reads = any(c in "123456789" for c in judged)
    percent = percent_change(current, comparison)
    size = float(stands_for(current) - stands_for(comparison)) if by_size else percent
    assert size is not None
    within = (k.unit in ("percent", "ratio") or percent is not None) \
        and abs(size) <= k.stable_band
    if status == "stable" and reads and not within:
        return f"'stable' beside a change that prints as one, {change!r}"
    if status != "stable" and not reads:
        return f"{status!r} beside a change that prints as none, {change!r}"
    return None


def target_met(k: Kpi, value: float | None) -> bool | None:
    """docs/statistics.md, "Targets and assurance": the current figure, unrounded, passes at
    or above the target when higher is better, at or below when lower is; nothing without a
    figure, a target, or a better direction (neutral)."""
    if value is None or k.target is None or k.better == "neutral":
        return None
    return value >= k.target if k.better == "higher" else value <= k.target


def shown_places(k: Kpi, value: float) -> int:
    """docs/catalogue.md, `decimals`: the KPI's places (`printed_places`), or, for a KPI with
    a target, as many more as it takes for the figure as printed to stand against the target
    as printed (to those places, or as written where it has more: 89.95 prints "89.95") as
    the figure itself stands against the target: 89.96% against 90% prints "89.96%"; a figure
    equal to a target written 75.75757575757575 prints as that target does."""
    places = printed_places(k)
    if k.target is None:
        return places
    written_places = len(repr(float(k.target)).partition(".")[2].rstrip("0"))
    target = excel_round(k.target, max(places, written_places))
    side = (value > k.target) - (value < k.target)
    for more in range(places, places + 16):
        shown = excel_round(value, more)
        if (shown > target) - (shown < target) == side:
            return more
    return places


def _stands(k: Kpi, value: float, at: int) -> bool:
    """Whether `value` printed to `at` places stands against the KPI's target as printed
    (`shown_places`' rule) as the value itself does; True without a target."""
    if k.target is None:
        return True
    written_places = len(repr(float(k.target)).partition(".")[2].rstrip("0"))
    target = excel_round(k.target, max(printed_places(k), written_places))
    shown = excel_round(value, at)
    return (shown > target) - (shown < target) == (value > k.target) - (value < k.target)


def side_by_side_places(k: Kpi, value: float, other: float | None, role: str,
                        percent: bool = True) -> int:
    """docs/guarantees.md, "Two figures printed side by side read apart where their change
    reads": a window's figure (of the window `role`) printed beside the other window's takes
    the places both print to. Each stands against the target as printed as it does
    (`shown_places`); where the change printed beside them reads as one (the difference not
    zero at the KPI's places, or, where a % change is printed: not for a percent or a ratio,
    the % change from the comparison to the current not zero at one decimal; none from a
    comparison of zero or below), the two as printed also stand to each other as the figures
    do. The fewest places doing both, or (figures apart only past Excel's digits) the
    target's rule. `percent` False: no % change is printed beside them (the paper's peer
    sentence, a focus's figure beside the group's median), so only the difference reads."""
    places = printed_places(k)
    if other is None:
        return shown_places(k, value)
    figures = (value, other)
    current, comparison = figures if role == "current" else figures[::-1]
    diff = float(written(value) - written(other))
    change = percent_change(current, comparison) if percent else None
    changed = value != other and (excel_round(abs(diff), places) != 0 or (
        k.unit not in ("percent", "ratio") and change is not None
        and excel_round(abs(change), 1) != 0))
    least = max(shown_places(k, v) for v in figures)
    for more in range(least, places + 16):
        a, b = (excel_round(v, more) for v in figures)
        # Each still stands against the target at the places of the pair: more places are
        # not always as right (0.451 against a target of 0.45 prints "0.5%" above it at one
        # place and "0.45%", on it, at two, the places 0.45 beside it takes).
        if not all(_stands(k, v, more) for v in figures):
            continue
        if changed and (a > b) - (a < b) != (value > other) - (value < other):
            continue
        # The converse: the two print apart only where the change's size, printed to their
        # places where they print apart (`change_places`), does not print as zero.
        if value != other and (a != b) != (excel_round(abs(diff), more if a != b else places)
                                           != 0):
            continue
        return more
    return shown_places(k, value)


def change_places(k: Kpi, comparison: float, current: float) -> int:
    """docs/guarantees.md: the places a change prints to beside its two figures: those the
    two take (`side_by_side_places`) where they print apart there, else the KPI's
    (`printed_places`): 0.4% against 0.6% at no decimals "0.4%", "0.6%" and "+0.2pp"; 0.96
    against 0.914 per 1,000 "0.96", "0.91" and "-0.05 (-4.8%)"."""
    places = printed_places(k)
    if current == comparison:
        return places
    at = side_by_side_places(k, current, comparison, "current")
    return at if excel_round(current, at) != excel_round(comparison, at) else places


def percent_change(current: float, comparison: float) -> float | None:
    """docs/catalogue.md, Status: a % change exists only from a base above zero; it is the
    exact change of the two figures as printed over the base, rounded once
    (docs/guarantees.md), so it is compared to the bit."""
    if not comparison > 0:
        return None
    return Exact(float((stands_for(current) - stands_for(comparison)) * 100
                       / stands_for(comparison)))


def status_of(k: Kpi, current: float, comparison: float) -> str:
    """docs/catalogue.md, Status, written out again: the size is the points or (a ratio) the
    absolute change, else the % change, else (no %: a base of zero or below) the absolute
    change with no band. Stable within the band or when the size prints as zero, and no
    other: a % to one decimal, points or an absolute change to the places it prints to beside
    the two figures (`change_places`: 0.4% against 0.6% at no decimals prints "+0.2pp", a
    rise); else the sign decides. The difference is that of the figures as written, rounded
    once (docs/guarantees.md): 0.85 against 0.8 is 0.05, "+0.1pp", where the floats'
    0.04999999999999993 printed "0.0"."""
    diff = stands_for(current) - stands_for(comparison)
    percent = percent_change(current, comparison)
    shown = change_places(k, comparison, current)
    if k.unit == "percent" or k.unit == "ratio":
        size, places, band = diff, shown, k.stable_band
    elif percent is not None:
        size, places, band = percent, 1, k.stable_band
    else:
        size, places, band = diff, shown, -1.0
    if abs(size) <= band or excel_round(float(size), places) == 0:
        return "stable"
    if k.better == "neutral":
        return "changed"
    return "improving" if (size > 0) == (k.better == "higher") else "deteriorating"


# ---------------------------------------------------------------------------------------------
# Significance verdicts, worked independently: the counts from DuckDB, the tests from scipy
# and from SPEC's "Signal or noise" (two Poisson counts; two proportions), not from kpi.stats.

ALPHA = 0.05
# Kinds SPEC's tests apply to: counts (two Poisson counts) and rates of cases (two
# proportions). Every other kind says why it is not tested.
TESTED_KINDS = ("count", "rate", "within")


def is_tested(k: Kpi) -> bool:
    """Whether SPEC's tests apply to a KPI's kind and form: a count (its rows, a condition's
    true rows or a whole-number column's total) without a `multiplier`, a rate, a within
    share; never a snapshot (docs/statistics.md, "Not tested"). A count is tested in unit
    `count` only (its kind's default, "other" here): docs/statistics.md's table of tests. A
    rate or share is tested whatever unit and multiplier it is printed in."""
    return not k.snapshot and k.kind in TESTED_KINDS \
        and (k.kind != "count" or (k.unit in ("other", "count") and k.multiplier == 1.0))


def significance_counts(oracle: Oracle, k: Kpi, window: tuple[int, int],
                        forces: list[str] | None = None) -> tuple[int, int] | None:
    """A tested KPI's counts over a window, from DuckDB: (events, 0) for a count (its rows,
    the rows where its `value` condition holds, or its whole-number `value` column's total),
    (cases in the numerator, cases) for a rate (of two counts too; with a `denominator`, the
    denominator's total over the rows) or a within-threshold share; None for other kinds.
    Over the rows of `forces` only where given (a part of `kpi compare --by force`)."""
    if not is_tested(k):
        return None
    if k.parts:  # a rate of two counts of incidents, the first's rows among the second's
        kpis = {x.id: x for x in oracle.model.spec.kpis}
        # (the two counts' own units decide only whether each is tested alone)
        num, den = (significance_counts(oracle, replace(kpis[i], written_unit=None), window,
                                        forces)
                    for i in k.parts)
        assert num is not None and den is not None
        return num[0], den[0]
    if oracle.model.spec.derived and k.dataset == "inc":
        k = derived_out(k, oracle.model.spec.derived)
    where = "month BETWEEN ? AND ?"
    if k.filter:
        where += f" AND ({k.filter.replace('month =', 'decl_month =')})"
    args: list = [window[0], window[1]]
    if forces is not None:
        where += " AND force IN (" + ", ".join("?" * len(forces)) + ")"
        args += forces
    if k.kind == "count":
        events = ("count(*)" if k.value is None else
                  f"count(*) FILTER ({k.value})" if any(op in k.value for op in "<>=")
                  else f"coalesce(sum({k.value}), 0)")
        sql = f"SELECT {events}, 0 FROM {k.dataset} WHERE {where}"
    elif k.kind == "rate":
        cases = ("count(*)" if k.denominator is None
                 else f"coalesce(sum(CAST(({k.denominator}) AS DOUBLE)), 0)")
        sql = f"SELECT {numerator_sum(k)}, {cases} FROM {k.dataset} WHERE {where}"
    else:
        sql = (f"SELECT count(*) FILTER ({k.value} <= {k.threshold}), count({k.value}) "
               f"FROM {k.dataset} WHERE {where}")
    got = oracle.db.execute(sql, args).fetchone()
    return int(got[0]), int(got[1])


def numerator_sum(k: Kpi) -> str:
    """A rate's numerator summed over the rows in SQL: a condition counts its rows, a number
    adds up (a blank adds nothing)."""
    return f"coalesce(sum(CAST(({k.numerator}) AS DOUBLE)), 0)"


def rows_not_nested(oracle: Oracle, k: Kpi, windows: list[tuple[int, int]],
                    forces: list[str] | None = None, kinds: tuple[str, ...] = ("rate",)
                    ) -> tuple[int, int]:
    """A rate (of `kinds`) of one dataset's rows, from DuckDB over the windows (and the rows
    of `forces` only, where given): the rows that are not a whole number of cases out of a
    whole number (a numerator, a blank read as 0, that is not a whole number from 0 to the
    row's denominator, 1 without one, or a denominator that is not a whole number), and those
    whose numerator is not a whole number of at least 0; (0, 0) for other KPIs."""
    if k.kind not in kinds or k.parts or k.numerator is None:
        return 0, 0
    if oracle.model.spec.derived and k.dataset == "inc":
        k = derived_out(k, oracle.model.spec.derived)
    num = f"coalesce(CAST(({k.numerator}) AS DOUBLE), 0)"
    den = f"coalesce(CAST(({k.denominator}) AS DOUBLE), 0)" if k.denominator else "1"
    counted = f"(isfinite({num}) AND floor({num}) = {num} AND {num} >= 0)"
    cases = f"(isfinite({den}) AND floor({den}) = {den})"
    where = " OR ".join("month BETWEEN ? AND ?" for _ in windows)
    if k.filter:
        where = f"({where}) AND ({k.filter.replace('month =', 'decl_month =')})"
    if forces is not None:
        where = f"({where}) AND force IN (" + ", ".join("?" * len(forces)) + ")"
    got = oracle.db.execute(
        f"SELECT count(*) FILTER (NOT ({counted} AND {cases} AND {num} <= {den})), "
        f"count(*) FILTER (NOT {counted}) FROM {k.dataset} WHERE {where}",
        [*(m for w in windows for m in w), *(forces or [])]).fetchone()
    return int(got[0]), int(got[1])


def _narrows(num: str | None, den: str | None) -> bool:
    """Whether a numerator KPI's filter is its denominator's (or the denominator has none)
    followed by `AND` more conditions with no `OR` (docs/statistics.md, "A rate of two
    KPIs")."""
    if den is None:
        return True
    if num is None or not num.startswith(den + " AND "):
        return False
    return " OR " not in num.upper() and " OR " not in den.upper()


def _rows_counted(x: Kpi) -> bool:
    return x.kind == "count" and x.value is None and x.multiplier == 1.0


def proven_within(oracle: Oracle, k: Kpi) -> bool:
    """Whether kpi can prove a rate of two KPIs nested from the catalogue alone: both count
    rows (no `value` or `multiplier`) of one dataset at one lag, the numerator's filter
    narrowing the denominator's."""
    kpis = {x.id: x for x in oracle.model.spec.kpis}
    num, den = (kpis[i] for i in k.parts or ())
    return (_rows_counted(num) and _rows_counted(den) and num.dataset == den.dataset
            and num.lag == den.lag and _narrows(num.filter, den.filter))


# units whose limits stop at 0 (docs/statistics.md, "Limits stop where the value cannot go")
NON_NEGATIVE_UNITS = frozenset({"count", "percent", "per_1000", "seconds", "days", "gbp",
                                "score"})


def chart_floor(oracle: Oracle, k: Kpi, unit: str,
                windows: Sequence[tuple[int, int]] = ()) -> float | None:
    """Where a KPI's process limits stop below (docs/statistics.md, "Limits stop where the
    value cannot go"): at 0 in a unit that cannot be negative, and at 0 whatever its unit
    where the figure cannot be negative by what it is: rows counted (a count, snapshot or
    per_1000 without a value; a harm score, whose weights are 0 or more), a count of a value
    whose rows are each a whole number of at least 0 (every value the generator gives a count
    is), a share, a rate of two KPIs each counting rows, and a rate or ratio of rates of one
    dataset's rows none of whose rows in the summary's `windows` (current and comparison) has
    a numerator or denominator below 0 (`rows_negative`). Else none: a mean, median or sum of
    minutes in another unit."""
    def counts_rows(x: Kpi) -> bool:
        return x.kind == "weighted_score" or (
            x.kind in ("count", "snapshot", "per_1000") and x.value is None
            and x.numerator is None)

    if unit in NON_NEGATIVE_UNITS or counts_rows(k) or k.kind in ("count", "within"):
        return 0.0
    if k.parts:
        kpis = {x.id: x for x in oracle.model.spec.kpis}
        return 0.0 if all(counts_rows(kpis[i]) for i in k.parts) else None
    if k.kind in ("rate", "snapshot", "ratio_of_rates") and k.numerator is not None:
        return 0.0 if windows and rows_negative(oracle, k, list(windows)) == 0 else None
    return None


def rows_negative(oracle: Oracle, k: Kpi, windows: list[tuple[int, int]]) -> int:
    """A rate or ratio of rates of one dataset's rows, from DuckDB over the windows: the rows
    whose numerator or denominator (a blank read as 0) is below 0; 0 for other KPIs."""
    if k.kind not in ("rate", "snapshot", "ratio_of_rates") or k.parts or k.numerator is None:
        return 0
    if oracle.model.spec.derived and k.dataset == "inc":
        k = derived_out(k, oracle.model.spec.derived)
    num = f"coalesce(CAST(({k.numerator}) AS DOUBLE), 0)"
    den = f"coalesce(CAST(({k.denominator}) AS DOUBLE), 0)" if k.denominator else "1"
    where = " OR ".join("month BETWEEN ? AND ?" for _ in windows)
    if k.filter:
        where = f"({where}) AND ({k.filter.replace('month =', 'decl_month =')})"
    got = oracle.db.execute(
        f"SELECT count(*) FILTER (NOT ({num} >= 0 AND {den} >= 0)) FROM {k.dataset} "
        f"WHERE {where}", [m for w in windows for m in w]).fetchone()
    return int(got[0])


def chart_ceiling(oracle: Oracle, k: Kpi, unit: str,
                  windows: Sequence[tuple[int, int]] = ()) -> float | None:
    """Where a KPI's process limits stop above (docs/statistics.md, "Limits stop where the
    value cannot go"): at 100 for a share, a percentage that cannot pass 100% (unscaled): a
    within share; a rate or snapshot of one dataset's rows whose numerator is a condition
    (every numerator the generator draws is one) over no denominator, unless declared not
    nested; one over a denominator whose rows in the summary's `windows` (current and
    comparison) each hold a numerator from 0 to the denominator, unless declared not nested,
    as the test of two proportions is given; a rate of two KPIs declared or proven nested;
    one of one dataset's rows declared nested. Else none: a rate of two KPIs not nested (240%
    in a month) can pass 100."""
    if unit != "percent" or k.multiplier != 1.0:
        return None
    if k.kind == "within" or k.within is True:
        return 100.0
    if k.parts:
        return 100.0 if k.within is None and proven_within(oracle, k) else None
    if k.kind not in ("rate", "snapshot") or k.numerator is None or k.within is False:
        return None
    if k.denominator is None:
        return 100.0
    nested = bool(windows) and rows_not_nested(oracle, k, list(windows),
                                               kinds=("rate", "snapshot"))[0] == 0
    return 100.0 if nested else None


def rate_test_expected(oracle: Oracle, k: Kpi, not_nested: tuple[int, int] = (0, 0)
                       ) -> str | None:
    """The test docs/statistics.md ("Which test a rate gets", "A rate of two KPIs") gives a
    percentage of cases, stated again from the catalogue's words: "proportions", "per
    denominator" (two Poisson counts, the denominators their exposures) or None (not tested).
    A within share is nested by construction. A rate of two KPIs is two proportions where
    `numerator_within_denominator = true` or kpi proves it (both `count`s of rows of one
    dataset at one lag, the numerator's filter narrowing the denominator's); else per
    denominator where the numerator is a `count` of rows and the denominator a count or sum.
    A rate of one dataset's rows is two proportions where no row is outside (`not_nested`)
    and the key is not false; not tested where the key is true and a row contradicts it;
    per denominator where every numerator is a count."""
    if k.kind == "within":
        return "proportions"
    if k.parts:
        kpis = {x.id: x for x in oracle.model.spec.kpis}
        num, den = (kpis[i] for i in k.parts)
        if k.within or (k.within is None and proven_within(oracle, k)):
            return "proportions"
        return "per denominator" if _rows_counted(num) and den.kind in ("count", "sum") \
            else None
    outside, uncounted = not_nested
    if not outside and k.within is not False:
        return "proportions"
    if k.within:
        return None
    return "per denominator" if not uncounted else None


def expected_significance(k: Kpi, current: tuple[int, int], comparison: tuple[int, int],
                          months: tuple[int, int], not_nested: tuple[int, int] = (0, 0),
                          test: str | None = "rows") -> tuple[float, bool] | None:
    """The p-value and verdict SPEC's test gives (None where no test applies): a count's
    events n1 over t1 months against n2 over t2, conditioned on n1 + n2 (n1 is
    Binomial(n1 + n2, t1 / (t1 + t2)) when the rates are equal; two-sided, twice the smaller
    tail, by scipy.stats.binom); a rate's x1 of n1 against x2 of n2, the pooled two-proportion
    z-test (scipy.stats.norm). A rate of one dataset's rows is two proportions only where no
    row of the two windows has a numerator outside 0 to its denominator (`not_nested`, from
    `rows_not_nested`: rows outside, rows whose numerator is not a count); else, where every
    numerator is a count, x1 events per n1 against x2 per n2, the counts' test with the
    denominators as exposures; else none. `test` ("proportions", "per denominator" or None,
    from `rate_test_expected`) decides a rate's test instead, where given; two proportions
    need each numerator from 0 to its denominator."""
    from scipy import stats as sp

    def poisson(n1: int, t1: float, n2: int, t2: float) -> tuple[float, bool]:
        n = n1 + n2
        if n == 0:
            return 1.0, False
        p = t1 / (t1 + t2)
        tails = (float(sp.binom.cdf(n1, n, p)), float(sp.binom.sf(n1 - 1, n, p)))
        p_value = min(1.0, 2 * min(tails))
        return p_value, p_value < ALPHA

    if k.kind == "count":
        return poisson(current[0], months[0], comparison[0], months[1])
    (x1, n1), (x2, n2) = current, comparison
    if n1 == 0 or n2 == 0:
        return None
    if test == "rows":  # the rule for a rate of one dataset's rows, undeclared
        outside, uncounted = not_nested
        test = ("proportions" if not outside else
                "per denominator" if not uncounted else None)
    if test is None:
        return None
    if test == "per denominator":
        return poisson(x1, n1, x2, n2)
    if not (0 <= x1 <= n1 and 0 <= x2 <= n2):
        return None  # "the numerator is not a part of the denominator"
    pooled = (x1 + x2) / (n1 + n2)
    spread = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if spread == 0:
        return 1.0, False
    z = (x1 / n1 - x2 / n2) / spread ** 0.5
    p_value = float(2 * sp.norm.sf(abs(z)))
    return p_value, p_value < ALPHA


# docs/statistics.md, "One part against the others": no part is tested against others with
# fewer than 50 cases (a rate's denominator) or events (a count's) on either side.
PART_FLOOR = 50


def part_floor_met(k: Kpi, one: tuple[int, int], other: tuple[int, int]) -> bool:
    """Whether a part's counts (`significance_counts`: a count's events, a rate's cases in
    its denominator) and the other side's meet the floor of a test of parts."""
    index = 0 if k.kind == "count" else 1
    return min(one[index], other[index]) >= PART_FLOOR


DERIVED = {"serious": "victims >= 2",
           "place": "CASE WHEN lpa = 'Birmingham' THEN 'city' ELSE 'shire' END"}
DERIVED_FILTERS = ["serious", "place = 'city'", "NOT serious AND place = 'shire'"]


def derived_text(sql: str, derived: dict[str, str]) -> str:
    """An expression with each derived column's name written out as its expression."""
    for name, expression in derived.items():
        sql = re.sub(rf"\b{name}\b", f"({expression})", sql)
    return sql


def derived_out(k: Kpi, derived: dict[str, str]) -> Kpi:
    """A KPI whose expressions name no derived column (each written out)."""
    from dataclasses import replace

    return replace(k, **{key: derived_text(getattr(k, key), derived)
                         for key in ("filter", "value", "numerator", "denominator")
                         if getattr(k, key) is not None})


def draw_variants(rnd: random.Random, spec: ProjectSpec) -> None:
    """Now and then KPIs of the other forms docs/catalogue.md allows (a count of a condition's
    true rows or of a number column's total, a rate over a `denominator` condition, a
    snapshot's share of a denominator's rows, a per 1,000 of a column's total), some with a
    `multiplier`; derived columns (`[datasets.inc.derived]`) in filters and values; and
    `decimals` on some KPIs. Their significance is worked out as every KPI's is
    (`significance_counts`, `expected_significance`)."""
    def narrow(i: str, kind: str) -> Kpi:
        k = Kpi(i, kind, "inc", filter="lpa = 'Dudley' AND victims >= 3", better="higher")
        if kind == "rate":
            k.numerator = "offence = 'theft'"
        else:
            k.value = "minutes"
            k.threshold = 15.5 if kind == "within" else None
        return k

    makers = [
        lambda i: Kpi(i, "count", "inc", value=rnd.choice(["victims >= 2", "victims"]),
                      filter=rnd.choice(INC_FILTERS)),
        lambda i: Kpi(i, "rate", "inc", numerator="offence = 'theft'",
                      denominator=rnd.choice(["victims >= 1", "lpa = 'Birmingham'"]),
                      better="higher"),
        lambda i: Kpi(i, "snapshot", "staff", numerator="minority",
                      denominator="role = 'officer'"),
        lambda i: Kpi(i, "per_1000", "inc", value="victims", filter=rnd.choice(INC_FILTERS)),
        lambda i: Kpi(i, "sum", "inc", value="victims", multiplier=rnd.choice([0.5, 1000])),
        lambda i: Kpi(i, "mean", "inc", value="minutes", multiplier=rnd.choice([0.5, 60])),
        # a median of values of many digits times a multiplier: rounded once, not twice
        lambda i: Kpi(i, "median", "inc", value="minutes / 7",
                      multiplier=rnd.choice([0.1, 60, 100])),
        # a filter so narrow that many months select no row: a month (or a window) with a
        # zero denominator has no value, never 0
        lambda i: narrow(i, rnd.choice(["rate", "mean", "within", "median"])),
    ]
    if rnd.random() < 0.4:
        spec.derived = dict(DERIVED)
        makers.append(lambda i: Kpi(i, rnd.choice(["count", "per_1000"]), "inc",
                                    filter=rnd.choice(DERIVED_FILTERS)))
        makers.append(lambda i: Kpi(i, "count", "inc", value="serious",
                                    filter=rnd.choice(DERIVED_FILTERS + [None])))
        for k in spec.kpis:  # a breakdown by a derived column (kpi show, the paper)
            if k.breakdowns == ("lpa",) and rnd.random() < 0.5:
                k.breakdowns = ("lpa", rnd.choice(sorted(DERIVED)))
    for n in range(rnd.choice([0, 0, 1, 2, 3])):
        k = rnd.choice(makers)(f"v{n}")
        k.variant, k.lag = True, rnd.choice([0, 0, 1])
        # (a per_1000 in its unit takes no multiplier: "per 1,000" would name it unscaled)
        if k.kind == "count" and rnd.random() < 0.3:
            k.multiplier = rnd.choice([0.5, 1000])
        k.id += "_" + k.kind
        spec.kpis.append(k)
    # `numerator_within_denominator` written out (docs/catalogue.md): on a rate of one
    # dataset's rows, true or false; on a rate of two KPIs kpi can prove nested, true (false
    # is refused there); and now and then a rate of two KPIs kpi cannot prove nested (victims'
    # incidents per theft), without the key, or declared either way
    for k in spec.kpis:
        if k.kind == "rate" and rnd.random() < 0.3:
            k.within = True if k.parts else rnd.choice([True, False])
    spec.weights_case = rnd.choice([None, None, "title", "upper"])
    if rnd.random() < 0.3:
        # a hidden KPI (and now and then a shown one) whose figure another KPI's paragraph
        # quotes (docs/board-paper.md, "Quoted figures")
        hidden = Kpi("h_quoted", rnd.choice(["count", "sum"]), "inc",
                     filter=rnd.choice(INC_FILTERS), lag=rnd.choice([0, 0, 1]), hidden=True)
        if hidden.kind == "sum":
            hidden.value = "victims"
        quoting = rnd.choice([k for k in spec.kpis if not k.parts])
        others = [k.id for k in spec.kpis if k is not quoting and k.kind in ("count", "sum")
                  and not k.parts and k.multiplier == 1.0]
        quoting.quotes = (hidden.id,) + tuple(
            rnd.sample(others, 1 if others and rnd.random() < 0.3 else 0))
        spec.kpis.append(hidden)
    if rnd.random() < 0.25:
        lag = rnd.choice([0, 1])
        # the numerator now and then hidden: a rate of two KPIs may read one kept out of
        # the tables (docs/catalogue.md, `hidden`)
        num = Kpi("w_num", "count", "inc", filter="victims >= 2", lag=lag,
                  hidden=rnd.random() < 0.5)
        den = Kpi("w_den", "count", "inc", filter="offence = 'theft'", lag=lag)
        spec.kpis += [num, den, Kpi("w_rate", "rate", "inc", parts=(num.id, den.id), lag=lag,
                                    better="higher",
                                    within=rnd.choice([None, True, False]), variant=True)]
    for k in spec.kpis:
        if not k.parts and rnd.random() < 0.2:
            k.decimals = rnd.randint(0, 3)


def draw_staff_date(rnd: random.Random, spec: ProjectSpec) -> None:
    """In a third of the projects the staff extracts give a row's month as a published table
    does, a year and a month number in two columns (docs/catalogue.md, "Months from separate
    columns"), headed `Year` and `Month` (a declared column may not be called `month`: the
    header names the column `mon` through `from`), the month now and then written `03`:
    every snapshot, revision and reload of staff then reads its months from the two columns,
    in a CSV file, a workbook's number cells, a Parquet file's typed or text columns or a
    database's INTEGER or TEXT ones."""
    if rnd.random() < 1 / 3:
        spec.staff_date, spec.month_padded = "year_month", rnd.random() < 0.5


def draw_published(rnd: random.Random, spec: ProjectSpec) -> None:
    """Now and then a dataset published for whole quarters or years (`published`, written out
    as "monthly" now and then too), its KPIs' lags moved on together by a few months (rates of
    two KPIs and a reconciliation's parts keep the lags they had against each other)."""
    for dataset in ("inc", "staff", "q"):
        if rnd.random() >= 0.3:
            continue
        kind = rnd.choice(["quarterly", "financial_year", "financial_year", "calendar_year",
                           "monthly"])
        spec.published[dataset] = kind
        extra = rnd.choice([0, 0, 1, 3])
        for k in spec.kpis:
            if k.dataset == dataset:
                k.published, k.lag = kind, k.lag + extra


TARGETS = {"percent": [0, 12.5, 50, 66.7, 90, 100], "ratio": [0.5, 1, 1.25],
           "other": [5, 17.5, 20, 30, 45.25], "seconds": [15.5, 600, 3600],
           "gbp": [-20, 5, 17.5, 30]}


def draw_targets(rnd: random.Random, spec: ProjectSpec, chance: float = 0.35) -> None:
    """Now and then (`chance`) a `target` (docs/statistics.md) on a KPI of a kind that takes
    one: a rate, a `within`, an average, a median, a percentile, a ratio or a percentage
    snapshot (a count, a sum, a rate per 1,000 or a score is refused one, and so is a rate of
    a total over a level, or of a level over a total), with a better
    direction (a neutral KPI is refused one), in its unit: a share 0 to 100."""
    by_id = {k.id: k for k in spec.kpis}
    totals = ("count", "sum", "per_1000", "weighted_score")
    for k in spec.kpis:
        takes = k.kind in ("rate", "within", "mean", "median", "percentile", "ratio_of_rates") \
            or (k.kind == "snapshot" and k.numerator is not None)
        if k.parts is not None and len({by_id[p].kind in totals for p in k.parts
                                         if p in by_id}) > 1:
            takes = False  # a total over a level: its year and its months of two scales
        if takes and k.better != "neutral" and rnd.random() < chance:
            k.target = rnd.choice(TARGETS.get(k.unit, TARGETS["other"])) * (
                1 if k.unit in ("percent", "ratio") else k.multiplier)


# The units docs/catalogue.md lets each kind's value be written in (`unit`): a share (a rate,
# a `within`, a snapshot with a numerator, without a multiplier) in percent only; rows counted
# (a count or snapshot without a value, a rate per 1,000) and a ratio of rates never in
# percent, seconds, days or pounds; a kind that reads a value in the unit of that value, any.
# (`number` is left out: the catalogue gives no places for it; and `ratio` but on a ratio of
# rates, whose kind, not unit, the catalogue's Status gives an absolute change.)
ROWS_UNITS = ("count", "score", "per_1000")
# (pounds twice: a fall in pounds prints "-£5", which few figures of few KPIs would show)
VALUE_UNITS = ("percent", "gbp", "gbp", "seconds", "days", "count", "score", "per_1000")


def draw_units(rnd: random.Random, spec: ProjectSpec) -> None:
    """Now and then a `unit` written out on a KPI, one its kind accepts (`ROWS_UNITS`,
    `VALUE_UNITS`; a share's `percent` written out): the unit decides how each figure prints
    (`unit_text`), its places (`printed_places`) and what its change is (`status_of`). Not on a
    KPI another's paragraph quotes (its words are checked as a count's), nor on a duration's
    `decimals` (a clock prints to the second)."""
    quoted = {q for k in spec.kpis for q in k.quotes}
    for k in spec.kpis:
        if k.id in quoted or k.kind == "ratio_of_rates" or rnd.random() >= 0.4:
            continue
        share = k.kind in ("rate", "within") or (k.snapshot and k.numerator is not None)
        rows = (k.kind in ("count", "snapshot") and k.value is None and not share) \
            or k.kind in ("per_1000", "weighted_score")
        if share:
            if k.multiplier != 1.0:
                continue
            k.written_unit = "percent"
        else:
            # a multiplier on rows counted: never in per_1000, whose words it would belie
            k.written_unit = rnd.choice(
                (ROWS_UNITS if k.multiplier == 1.0 else ("count", "score")) if rows
                else VALUE_UNITS)
        if k.written_unit == "seconds":
            k.decimals = None
        if k.kind == "sum" and k.multiplier == 1.0 and k.written_unit in ("gbp", "seconds") \
                and rnd.random() < 0.5:
            # millions of pounds and durations of hours, which the paper's paragraphs say in
            # words ("£1.2m", "2 hours, 3 minutes and 4 seconds": `prose_text`)
            k.multiplier = 25_000.5 if k.written_unit == "gbp" else 60


def draw_quoted_units(rnd: random.Random, spec: ProjectSpec) -> None:
    """Now and then a `unit` written out on a KPI another's paragraph quotes (a count or a
    sum; `draw_units` leaves them alone), so the quoted figure is said in its unit's words
    (`prose_text`): a percentage, pounds (a hidden sum scaled by a `multiplier` now and then
    into millions, "£1.2m"), a duration in words, days, a rate per 1,000 "per 1,000
    population". Where no KPI quotes another, now and then one (a count or sum with no unit
    written out) is quoted by another's paragraph, so the quoted words are read often."""
    candidates = [k for k in spec.kpis if k.kind in ("count", "sum") and not k.parts
                  and not k.hidden and k.multiplier == 1.0 and k.written_unit is None]
    quoting = [k for k in spec.kpis if not k.parts and not k.hidden]
    if not any(k.quotes for k in spec.kpis) and candidates and rnd.random() < 0.6:
        quoted_kpi = rnd.choice(candidates)
        others = [k for k in quoting if k is not quoted_kpi]
        if others:
            rnd.choice(others).quotes = (quoted_kpi.id,)
    quoted = {q for k in spec.kpis for q in k.quotes}
    for k in spec.kpis:
        if k.id not in quoted or rnd.random() >= 0.8:
            continue
        k.written_unit = rnd.choice(ROWS_UNITS if k.kind == "count" and k.value is None
                                    else VALUE_UNITS)
        if k.written_unit == "seconds":
            k.decimals = None
        if k.hidden and k.kind == "sum" and k.written_unit in ("gbp", "seconds"):
            # millions of pounds, and durations of hours
            k.multiplier = rnd.choice([1.0, 1000, 25_000.5] if k.written_unit == "gbp"
                                      else [1.0, 60])


def draw_cumulative(rnd: random.Random, spec: ProjectSpec) -> None:
    """Now and then `cumulative = true` on a KPI (docs/catalogue.md; a snapshot of progress
    most often): its figures are as any KPI's, and it has no process chart, so no `variation`
    and no `assurance` in the summary or `kpi show`, no `xmr` in `kpi show`, and no figure of
    its monthly values in the paper."""
    for k in spec.kpis:
        # (every other kind combines its months: refused a cumulative key)
        if k.snapshot and rnd.random() < 0.5:
            k.cumulative = True


def draw_peers(rnd: random.Random, spec: ProjectSpec) -> None:
    """Now and then (a project loaded force by force) a peer group of forces, `[peers.g]`
    (docs/peers.md): two of the three forces (now and then all three), now and then one the
    data never holds, the quarterly rows now and then declared `sparse`
    (`NO_ROWS_FORCE`), a focus among them or none; a KPI or two of the
    incidents declaring it (`peers = "g"`) for the paper's "Compared with peers", and with a
    focus every percentage of the incidents (one added where there is none), whose sentence
    tests the focus against the rest of the group."""
    if not spec.replace_by or rnd.random() >= 0.8:
        return
    spec.sparse_q = rnd.random() < 0.3
    # most often a force left out (--peers lists the group only); now and then all three,
    # whose median is not their mean
    members = rnd.sample(FORCES, 3 if rnd.random() < 0.3 else 2)
    if rnd.random() < 0.2:
        members.append(NO_ROWS_FORCE)
    spec.peer_members = tuple(members)
    # the group's focus is one of its members (kpi.toml refuses another), most often one
    spec.peer_focus = rnd.choice([None, *members[:2], *members[:2]])
    for k in spec.kpis:
        if k.dataset == "inc" and not k.parts and not k.hidden and rnd.random() < 0.6:
            k.peers = "g"
    if spec.peer_focus is None:
        return
    # With a focus, a percentage (a rate or a within share) declares the group with a better
    # direction, so the peer sentence's test of the focus against the rest of the group
    # (_check_peer_significance) is read: one is added where the project has none. Drawn
    # where the project drew one only now and then, CI's run read no such test.
    shares = [k for k in spec.kpis if k.kind in ("rate", "within") and k.dataset == "inc"
              and not k.parts and not k.hidden]
    if not shares:
        # (published as the dataset is: draw_published put each KPI of it so)
        shares = [Kpi("k_peer_rate", "rate", "inc", numerator="offence = 'theft'",
                      filter=rnd.choice([None, "lpa = 'Birmingham'"]),
                      published=spec.published.get("inc", "monthly"))]
        spec.kpis.append(shares[0])
    for k in shares:
        k.peers = "g"
        if k.better == "neutral":
            k.better = rnd.choice(["higher", "lower"])


def draw_checks(rnd: random.Random, spec: ProjectSpec) -> None:
    """Now and then a reconciliation (`[[checks]]`, docs/catalogue.md): a count of the
    incidents or a sum of their victims or minutes (decimals whose float sums are a bit off
    the decimals' own, as pounds and pence are), and its parts by offence, all four (they sum
    to the total) or three (they fall short unless the fourth is 0), within a tolerance of 0
    or 2; now and then one part of another lag, so over another window. In three projects
    of four: a reconciliation's comparison window is checked only where kpi check is drawn
    on a project holding one, and its baseline year is loaded whole."""
    if rnd.random() < 0.25:
        return
    kind, lag = rnd.choice(["count", "sum"]), rnd.choice([0, 0, 1])
    base = rnd.choice([None, "lpa = 'Birmingham'", "victims >= 1"])
    # (minutes or victims from the draws above, so a seed draws the rest of its project as
    # it did before minutes were drawn)
    value = None if kind == "count" else "minutes" if lag == 0 else "victims"

    def make(kpi_id: str, offence: str | None) -> Kpi:
        terms = [t for t in (base, offence and f"offence = '{offence}'") if t]
        return Kpi(kpi_id, kind, "inc", filter=" AND ".join(terms) or None, value=value,
                   lag=lag)

    total = make("r_total", None)
    parts = [make(f"r_{o}", o) for o in (OFFENCES if rnd.random() < 0.6 else OFFENCES[:3])]
    if rnd.random() < 0.2:
        parts[-1].lag = lag + 1
    spec.kpis += [total, *parts]
    spec.checks.append(Reconciliation("r_offences", total.id, tuple(p.id for p in parts),
                                      rnd.choice([0.0, 0.0, 2.0])))


def draw_provisional(rnd: random.Random, spec: ProjectSpec) -> None:
    """Give some monthly KPIs of the incidents (a rate of two KPIs too) `provisional_months`:
    their change is tested without their last months (SPEC, "Signal or noise";
    docs/statistics.md)."""
    for k in spec.kpis:
        if k.dataset == "inc" and not k.parts and rnd.random() < 0.3:
            k.provisional_months = rnd.randint(1, 4)
    # and now and then a rate of two KPIs (a Random of its own, so the draws above are those of
    # before): not tested in the summary or `kpi compare`, as it cannot be summed again
    # without its last months (docs/statistics.md)
    own = random.Random("provisional rates of two KPIs" + str(rnd.getstate()))
    for k in spec.kpis:
        if k.parts and own.random() < 0.3:
            k.provisional_months = own.randint(1, 4)
    # A rate's months are not final where its parts' are not (docs/statistics.md): the most
    # of its own and its numerator's and denominator's, whatever kpi.toml writes on it.
    by_id = {k.id: k for k in spec.kpis}
    for k in spec.kpis:
        if k.parts:
            k.written_provisional = k.provisional_months
            k.provisional_months = max(k.provisional_months, *(
                by_id[p].provisional_months for p in k.parts if p in by_id))


def draw_default_vs(rnd: random.Random, spec: ProjectSpec) -> None:
    """Now and then kpi.toml's `[defaults] vs` (docs/guide.md): a command given the same
    comparison as `--vs` may leave it out, and the Python face asked the same question is
    given none (`face_disagreement`): both must read the default."""
    if rnd.random() < 0.3:
        spec.default_vs = rnd.choice(["yoy", "previous", "fytd", "baseline"])


def settled(k: Kpi, window: tuple[int, int]) -> tuple[int, int] | None:
    """A window without a KPI's provisional months (its last `provisional_months`), or None
    where none are left."""
    end = window[1] - k.provisional_months
    return (window[0], end) if end >= window[0] else None


def as_of_text(moment: datetime, rnd: random.Random) -> str:
    """A moment as `--as-of` takes it (docs/guarantees.md): UTC without a zone, with 'Z', or
    the same moment in another zone."""
    form = rnd.choice(["naive", "z", "zone"])
    if form == "zone":
        zone = timezone(timedelta(hours=rnd.choice([-5, 1, 2, 10])))
        return moment.astimezone(zone).isoformat()
    plain = moment.astimezone(UTC).replace(tzinfo=None).isoformat()
    return plain + ("Z" if form == "z" else "")


# ---------------------------------------------------------------------------------------------
# kpi check's data-quality notes, written out again from docs/guarantees.md ("Data quality")

QUALITY = {"blank_jump": 0.25, "mostly_blank": 0.5, "row_ratio": 0.5, "context_months": 6}


def _middle(values: list[float]) -> float:
    """The median: the middle value, or the mean of the middle two."""
    ordered = sorted(values)
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2


def quality_expected(oracle: Oracle, k: Kpi, window: tuple[int, int], label: str) -> set[str]:
    """The notes kpi must give on the rows behind a KPI's current window, from DuckDB's count
    of each month's rows and blank minutes over the window and the `context_months` before
    it (the months holding rows): a month whose rows are under `row_ratio` times the other
    months' median or over its inverse; where the KPI reads `minutes` (the one column the
    model leaves blank), a month blank on `blank_jump` more of its rows than the other
    months' median share, and a window blank on `mostly_blank` of its rows or more."""
    kpis = {x.id: x for x in oracle.model.spec.kpis}
    parts = [kpis[p] for p in k.parts] if k.parts else [k]
    reads_minutes = any("minutes" in (text_ or "") for p in parts
                        for text_ in (p.filter, p.value, p.numerator, p.denominator))
    dataset = oracle.dataset_of(k)
    blank = "count(*) FILTER (minutes IS NULL)" if dataset == "inc" else "0"
    got = oracle.db.execute(
        f"SELECT month, count(*), {blank} FROM {dataset} WHERE month BETWEEN ? AND ? "
        "GROUP BY month ORDER BY month",
        [window[0] - QUALITY["context_months"], window[1]]).fetchall()
    rows = {m: n for m, n, _ in got}
    blanks = {m: b for m, _, b in got}
    inside = [m for m in range(window[0], window[1] + 1) if m in rows]
    notes = set()
    if reads_minutes and inside:
        # shares and thresholds exactly: 7 of 20 against 2 of 20 is a jump of 0.25
        share = {m: Fraction(blanks[m], rows[m]) for m in rows}
        for m in inside:
            rest = [s for other, s in share.items() if other != m]
            if rest and share[m] - _middle(rest) >= written(QUALITY["blank_jump"]):
                notes.add(f"column 'minutes' is blank on {excel_text(float(share[m] * 100), 1)}% "
                          f"of the rows of {text(m)} (a median of "
                          f"{excel_text(float(_middle(rest) * 100), 1)}% in the months around "
                          "it)")
        total, empty = sum(rows[m] for m in inside), sum(blanks[m] for m in inside)
        if total and Fraction(empty, total) >= written(QUALITY["mostly_blank"]):
            notes.add(f"column 'minutes' is blank on {excel_text(float(empty / total * 100), 1)}% "
                      f"of the rows in {label}")
    # a quarterly dataset's row is its quarter's (stored at its first month): named by its
    # months, among the quarters around it
    named = (lambda m: f"{text(m)}..{text(m + 2)}") if dataset == "q" else text
    around = "quarters" if dataset == "q" else "months"
    for m in inside:
        rest = [n for other, n in rows.items() if other != m]
        if not rest:
            continue
        usual = Fraction(_middle(rest))  # of whole numbers: a whole or a half, exactly
        ratio = written(QUALITY["row_ratio"])
        if rows[m] < ratio * usual or rows[m] * ratio > usual:
            notes.add(f"{named(m)} holds {rows[m]:,} row{'' if rows[m] == 1 else 's'}, "
                      f"against a median of {excel_text(float(usual), 0, grouping=True)} in the "
                      f"{around} around it")
    return notes


# ---------------------------------------------------------------------------------------------
# The Python face asked what the command line was asked

# The commands whose JSON the Python face is compared with, and how it is asked.
FACE_QUESTIONS = ("summary", "show", "compare", "check", "datasets", "history")


def beyond_a_decimal(error: str, stdout: str) -> bool:
    """Whether the Python face's refusal is the documented one of a frame's figure column
    (docs/guarantees.md, "No whole number wraps round"): the command line's JSON holds a whole
    number past 2**53 and a fraction whose digits, added to its digits, pass the 38 a Decimal
    column holds. Worked out over every number of the JSON, not one column's."""
    if "a whole number past 2**53 that no float holds, beside figures no Decimal column " \
            "holds with it exactly" not in error:
        return False
    numbers: list = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, (int, Decimal)) and not isinstance(node, bool):
            numbers.append(node)

    walk(json.loads(stdout, parse_float=Decimal))
    whole = [abs(n) for n in numbers if isinstance(n, int) and abs(n) > 2 ** 53]
    places = [-n.as_tuple().exponent for n in numbers
              if isinstance(n, Decimal) and n.is_finite() and n.as_tuple().exponent < 0]
    return bool(whole and places) and len(str(max(whole))) + max(places) > 38


def face_disagreement(face, args: tuple[str, ...], result) -> str | None:
    """Where the Python face (a `kpi.api.Project`) disagrees with the command line's answer
    (`result`, a CliRunner result of `kpi ARGS --format json`) to the same question: every
    figure and word of `project.summary()` against the JSON's, `project.series()` against
    `kpi show`'s trend, `project.compare()` against `kpi compare`'s parts and notes,
    `project.checks()` against `kpi check`'s, `project.datasets()` against `kpi datasets` and
    `project.history()` against `kpi history`;
    or a refusal not in the command line's words (exit 2 or 3, `Error: MESSAGE`, its options
    named as the face's arguments: `invalid as_of '...'`). None where they agree. The JSON is
    flattened here, not by kpi.api."""
    from kpi.errors import KpiError

    options: dict[str, str] = {}
    positional: list[str] = []
    rest = list(map(str, args[1:]))
    while rest:
        word = rest.pop(0)
        if word.startswith("--"):
            options[word] = rest.pop(0)
        else:
            positional.append(word)
    # no --vs: the project's [defaults] vs, else the baseline, as the command line reads it
    period, vs, as_of = options.get("--period"), options.get("--vs"), \
        options.get("--as-of")
    try:
        if args[0] == "summary":
            got = face.summary(period, vs, as_of)
        elif args[0] == "show":
            got = face.series(positional[0], period, int(options.get("--months", "24")), as_of,
                              vs=vs)
        elif args[0] == "compare":
            got = face.compare(period, options["--by"], vs, peers=options.get("--peers"),
                               focus=options.get("--focus"), as_of=as_of)
        elif args[0] == "check":
            got = face.checks(period, as_of, vs=vs)
        elif args[0] == "history":
            got = face.history(positional[0])
        else:
            got = face.datasets()
    except KpiError as error:
        said = (result.stderr or "").splitlines()[:1]
        # The command line's words with its options named as the Python face's arguments.
        for flag, argument in FACE_ARGUMENTS.items():
            said = [line.replace(flag, argument) for line in said]
        if result.exit_code in (0, 1) and beyond_a_decimal(str(error), result.stdout):
            return None  # documented (docs/guarantees.md): no frame column holds them exactly
        if result.exit_code in (0, 1):  # kpi check exits 1 where a check failed
            return f"the Python face refused ({error}) what the command line answered"
        if said != [f"Error: {error}"]:
            return f"the Python face refused with {str(error)!r}, the command line {said!r}"
        return None
    if result.exit_code not in (0, 1):
        return f"the Python face answered what the command line refused (exit " \
               f"{result.exit_code}: {(result.stderr or '').strip()[:200]})"
    doc = json.loads(result.stdout)
    want: list[tuple] = []
    if args[0] == "summary":
        have = [tuple(row[c] for c in SUMMARY_FIELDS) for row in got.iter_rows(named=True)]
        for k in doc["kpis"]:
            cur, cmp_ = k["current"] or {}, k["comparison"] or {}
            test, variation = k.get("significance") or {}, k.get("variation") or {}
            want.append((k["id"], k["status"], k["note"], k["quality"],
                         *(w.get(f) for w in (cur, cmp_) for f in WINDOW_KEYS),
                         k["change"]["absolute"], k["change"]["percent"], k["change"]["points"],
                         test.get("test"), test.get("p_value"), test.get("significant"),
                         variation.get("verdict"), k.get("target"), k.get("target_met"),
                         k.get("assurance"), k["change"].get("note")))
    elif args[0] == "show":
        have = [(m, v, r) for m, v, r in got.iter_rows()]
        want = [(point["month"].partition("..")[0], point["value"], point.get("rolling_12"))
                for point in doc["trend"]]
        if all(point.get("rolling_12") is None for point in doc["trend"]):
            have = [(m, v, None) for m, v, _ in have]  # a kind with no rolling year
    elif args[0] == "compare":
        have = [tuple(row[c] for c in COMPARE_FIELDS) for row in got.iter_rows(named=True)]
        for k in doc["kpis"]:
            if not k["parts"]:  # one row, empty but for its note: why it has no parts
                want.append((k["id"], *[None] * (len(COMPARE_FIELDS) - 4), k["note"],
                             doc["notes"], None))
            for part in k["parts"]:
                cur, cmp_ = part["current"] or {}, part["comparison"] or {}
                want.append((k["id"], part["name"], part["rank"], part["status"],
                             cur.get("start"), cur.get("end"), cur.get("value"),
                             cmp_.get("start"), cmp_.get("end"), cmp_.get("value"),
                             part["change"]["absolute"], part["change"]["percent"],
                             part["change"]["points"], part["per_1000"], k["note"],
                             doc["notes"], part["change"]["note"]))
    elif args[0] == "check":
        def figure(part: dict | None) -> tuple | None:
            return part and (part["kpi"], part["title"], part["value"], part["window"])

        have = [(r["id"], r["kind"], r["passed"], r["message"], figure(r["total"]),
                 [figure(p) for p in r["parts"]], r["difference"])
                for r in got.iter_rows(named=True)]
        want = [(c["id"], c["kind"], c["passed"], c["message"], figure(c["total"]),
                 [figure(p) for p in c["parts"]], c["difference"]) for c in doc["checks"]]
    elif args[0] == "history":
        have = [tuple(r.values()) for r in got.iter_rows(named=True)]
        # Every field of the JSON; its time_zones (column -> zone) as a list of structs.
        want = [(v["version"], v["time"], v["operation"], v["rows"], v["rejected"],
                 v["months"], v["sources"], v["replaced"], v["quarantine"],
                 None if v["time_zones"] is None else [
                     {"column": c, "zone": z} for c, z in v["time_zones"].items()])
                for v in doc]
    else:
        have = [(r["dataset"], r["rows"], r["first"], r["last"], r["missing"], r["version"],
                 r["parts_missing"]) for r in got.iter_rows(named=True)]
        want = [(d["dataset"], d["rows"], d["first"], d["last"], d["missing"], d["version"],
                 d.get("parts_missing")) for d in doc]
    if len(have) != len(want):
        return f"the Python face gave {len(have)} rows, the JSON {len(want)}"
    names = FACE_FIELDS[args[0]]
    for mine, theirs in zip(have, want, strict=True):
        differ = [f"{name} {a!r} against the JSON's {b!r}"
                  for name, a, b in zip(names, mine, theirs, strict=True)
                  if not _face_same(a, b)]
        if differ:
            # the row named by its first field (the KPI, month, check, version or dataset)
            return f"the Python face's row {theirs[0]!r} gives " + "; ".join(differ)
    return None


WINDOW_KEYS = ("start", "end", "value", "numerator", "denominator")
# What the Python face calls the options the command line's refusals name.
FACE_ARGUMENTS = {"--as-of": "as_of", "--period": "period", "--focus": "focus", "--by": "by"}
SUMMARY_FIELDS = ("id", "status", "note", "quality",
                  *(f"{role}_{f}" for role in ("current", "comparison") for f in WINDOW_KEYS),
                  "change_absolute", "change_percent", "change_points", "significance_test",
                  "p_value", "significant", "variation", "target", "target_met", "assurance",
                  "change_note")
COMPARE_FIELDS = ("kpi", "part", "rank", "status", "current_start", "current_end",
                  "current_value", "comparison_start", "comparison_end", "comparison_value",
                  "change_absolute", "change_percent", "change_points", "per_1000", "note",
                  "notes", "change_note")
# Each face's fields, in the order face_disagreement compares them, to name the one that differs.
FACE_FIELDS = {"summary": SUMMARY_FIELDS, "compare": COMPARE_FIELDS,
               "show": ("month", "value", "rolling_12"),
               "check": ("id", "kind", "passed", "message", "total", "parts", "difference"),
               "history": ("version", "time", "operation", "rows", "rejected", "months",
                           "sources", "replaced", "quarantine", "time_zones"),
               "datasets": ("dataset", "rows", "first", "last", "missing", "version",
                            "parts_missing")}


def _face_same(mine, theirs) -> bool:
    """One field: equal as the JSON reads it (a count 5 is 5.0 in a frame's float column;
    a NaN is no figure in JSON, so a frame's NaN where the JSON has null differs). A whole
    number beyond 2**53 is exact in JSON and in its frame's column (`Int128`, or beside
    floats a `Decimal`, each float as the decimal its repr writes)."""
    if isinstance(mine, Decimal) and isinstance(theirs, float):
        return mine == Decimal(repr(theirs))
    if isinstance(mine, float) and math.isnan(mine):
        return False
    if isinstance(theirs, bool) or isinstance(mine, bool):
        return mine is theirs
    if isinstance(mine, float) and isinstance(theirs, int):
        return mine == float(theirs)
    return mine == theirs


# draw_presentation: words and declarations that never move a figure
NOUNS = ("incidents", "thefts recorded", "999 calls")
RATIO_NOUNS = ("stopped and searched", "arrested")
UNIT_LABELS = ("working days", "million days", "officers")
# A rate per 1,000's labels name it; rows counted are named by what is counted (`labels_for`).
PER_1000_LABELS = ("per 1,000 residents", "per 1,000 population", "per 1,000 people")
ROWS_LABELS = ("officers", "incidents", "people")


def labels_for(k: Kpi) -> tuple[str, str, str]:
    """The `unit_label`s a KPI not in days may be drawn with (docs/catalogue.md): a label
    names no other unit than the figure is in, so a rate per 1,000's names it (a `per_1000`
    KPI's in any unit), rows counted (a count or snapshot without a value, or of a condition,
    with no multiplier) are named by what is counted, and a figure whose unit kpi does not
    know (a score, a sum or mean of a `value`) takes any. As many of each, so the draws after
    it are those of before."""
    unit = k.written_unit or {"per_1000": "per_1000", "weighted_score": "score"}.get(
        k.kind, "count")
    if unit == "per_1000" or k.kind == "per_1000":
        return PER_1000_LABELS
    condition = k.value is not None and re.search(
        r"[<>=]", DERIVED.get(k.value, k.value)) is not None
    if k.kind in ("count", "snapshot") and (k.value is None or condition) \
            and k.numerator is None and k.multiplier == 1.0:
        return ROWS_LABELS
    return UNIT_LABELS


TARGET_SOURCES = ("the national 999 standard (Home Office)", "an illustration: forces set "
                  "their own", "the plan, para 2.4")
POPULATION_SOURCES = ("ONS Census 2021, table TS021", "round figures of the area's order", "")
COLUMN_LABELS = {"lpa": ("local policing area", "LPA", "Local Policing Area", "area"),
                 "force": ("police force", "force area"),
                 "offence": ("offence type", "Home Office offence")}
# patterns per column, each kept only where it matches every value the project's extracts
# may hold in full (`pattern_universe`), by Python's own `re.fullmatch`: kpi's dialect is
# Rust's, and each is written in what both read alike
PATTERNS = {
    "ref": (r"R[0-9]+", r"R\d+", r"[A-Z]\d*", r"R[1-9][0-9]*", r"(?i)r\d+", r"R\d{1,6}",
            r"R|R\d+", r"[RS]\d+"),
    "lpa": (r"Birmingham|Dudley|Coventry", r"[A-Z][a-z]+", r"\w+", r"(?i)[a-z]+",
            r"Birm.*|Dud.*|Cov.*", r"[A-Z]\w{4,}"),
    "offence": (r".+", r"[^,]+", r"\S(?:.*\S)?", r"[a-z].*", r"\w+(?: .+)?",
                r"(?:theft|burglary|assault|fraud)(?: .*)?"),
    "force": (r".+ Police", r"[A-Z].*Police", r"[\w \u2013-]+", r"\w+(?:[ \u2013]\w+)*"),
    "victims": (r"\d+", r"[0-3]", r"[0-9]{1,2}"),
    # (no trailing zero: a typed number's text is its shortest decimal, 10 and not 10.0)
    "minutes": (r"\d+(?:\.\d+)?", r"[0-9.]+", r"\d+(?:\.\d*[1-9])?"),
}
# what a pattern probe writes in place of a drawn value (`pattern_candidates`)
CANDIDATE_EDITS = (
    lambda v: v.lower(), lambda v: v.upper(), lambda v: " " + v + "  ", lambda v: v + "x",
    lambda v: "x" + v, lambda v: v[:-1], lambda v: v + v, lambda v: v + " ",
    lambda v: v.replace("1", "\u0661"), lambda v: v + "\u00a0", lambda v: v[:1] + "-" + v[1:],
    lambda v: v[0] + v[1:].swapcase(), lambda v: v + "9", lambda v: v.replace(" ", "  "),
)


def pattern_universe(spec: ProjectSpec, column: str) -> list[str]:
    """The values (as text) the project's extracts may hold in an incidents column."""
    return {"ref": ["R1", "R9", "R10", "R123456"], "lpa": list(LPAS),
            "offence": spec.offences, "force": spec.forces,
            "victims": ["0", "1", "2", "3"],
            "minutes": [str(m) for m in (*range(0, 41, 3), *DECIMAL_MINUTES)]}[column]


def model_refuses(pattern: str, value: str) -> bool:
    """The model's own reading of `pattern` (docs/catalogue.md: "a regular expression every
    non-blank value must match in full"): Python's `re.fullmatch` of the value without its
    surrounding spaces; a blank is never matched against it."""
    value = value.strip()
    return bool(value) and re.fullmatch(pattern, value) is None


def draw_presentation(rnd: random.Random, spec: ProjectSpec) -> None:
    """Now and then each of the catalogue's keys that never move a figure (docs/catalogue.md):
    a count's `noun` (a ratio of rates' too), a `unit_label`, a target's `target_source` and
    `target_illustrative`, `[population]` entries written as tables with a `source` and
    `illustrative`, a column's `label` and `pattern` (one every value drawn matches: the
    figures are those without it), an extract column no dataset declares (with
    `extra_columns = "ignore"` written out, or left to the default), a database source read
    from a `query_file` (ending as a .sql file may, QUERY_ENDINGS), a KPI or two `status =
    "in_development"` (kept apart in `spec.developing`), and the `[population_by]` file
    written as a table with its `source` and `illustrative`. After draw_targets (a target's
    source needs the target) and draw_reference_files (the population file)."""
    for k in spec.kpis:
        if k.kind == "count" and k.dataset == "inc" and k.value is None and not k.parts \
                and rnd.random() < 0.4:
            k.noun = rnd.choice(NOUNS)
        elif k.kind == "ratio_of_rates" and rnd.random() < 0.5:
            k.noun = rnd.choice(RATIO_NOUNS)
        if k.unit in ("other", "count", "score", "days", "per_1000") and k.kind not in (
                "rate", "within", "ratio_of_rates") and rnd.random() < 0.25:
            # (days are only ever working days: "million days" of a figure in days would
            # name another unit than the figure's)
            k.unit_label = "working days" if k.unit == "days" else rnd.choice(labels_for(k))
        if k.target is not None and rnd.random() < 0.6:
            k.target_source = rnd.choice(TARGET_SOURCES + ("",))
            k.target_illustrative = rnd.random() < 0.4 or not k.target_source
    if rnd.random() < 0.5:
        for name in rnd.sample(sorted(POPULATION), rnd.randint(1, len(POPULATION))):
            spec.population_sources[name] = (rnd.choice(POPULATION_SOURCES), rnd.random() < 0.5)
    for column, labels in COLUMN_LABELS.items():
        if rnd.random() < 0.35:
            spec.labels[column] = rnd.choice(labels)
    for column, patterns in PATTERNS.items():
        fits = [p for p in patterns if not any(model_refuses(p, v)
                                               for v in pattern_universe(spec, column))]
        if fits and rnd.random() < 0.35:
            # minutes' last, with no trailing zero, half the time: the one that reads a
            # typed number's text (10, not 10.0)
            spec.patterns[column] = fits[-1] if column == "minutes" and rnd.random() < 0.5 \
                else rnd.choice(fits)
    if spec.defect != "month_column" and rnd.random() < 0.35:
        spec.extra_column = rnd.choice(EXTRA_NAMES)
        spec.extra_written = rnd.random() < 0.5
    spec.query_file = rnd.random() < 0.65
    for n in range(rnd.choice([0, 0, 1, 2])):
        k = Kpi(f"d{n}_dev", rnd.choice(["count", "rate", "mean"]), rnd.choice(["inc", ""]),
                better=rnd.choice(["higher", "lower"]), developing=True)
        if k.kind != "count":
            k.dataset = ""
        if k.kind != "count" and rnd.random() < 0.4:  # a count takes no target
            k.target = rnd.choice([50, 90])
            if rnd.random() < 0.5:
                k.target_source = rnd.choice(TARGET_SOURCES)
        if k.kind == "count" and rnd.random() < 0.5:
            k.noun = rnd.choice(NOUNS)
        spec.developing.append(k)
        quoting = [q for q in spec.kpis if not q.parts and not q.hidden]
        if quoting and rnd.random() < 0.4:  # a paragraph quoting it: it has no figure to give
            rnd.choice(quoting).quotes += (k.id,)
    # drawn after the rest, so that what was drawn before is drawn as it was: how the query
    # file ends, and the population file of the forces written with where its figures come
    # from (`kpi compare --by force`'s population_source and population_illustrative)
    spec.query_ending = rnd.choice(QUERY_ENDINGS)
    if spec.populations and rnd.random() < 0.6:
        spec.population_by_source = (rnd.choice(POPULATION_SOURCES), rnd.random() < 0.5)
