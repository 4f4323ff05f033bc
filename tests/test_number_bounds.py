"""Every number a user writes has a range, kept in one table (kpi.catalogue.BOUNDS) that every
reader of a number checks against: kpi.toml's keys, [[charts]], a weights file and a population
file. A number outside its range is refused in one line naming the file and the key (or row and
column), with a hint; before, a negative `stable_band` or a negative weight was taken, and a
harm score came out lowered with exit 0."""

from __future__ import annotations

import math
import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi.catalogue import BOUNDS, BOUNDS_HINT, parse_project_file
from kpi.errors import ConfigError

PROJECT = """\
[population]
force = 1000000

[datasets.c]
date = "day"
[datasets.c.columns]
day = "date"
offence = "str"
n = {{ type = "int", required = false{min} }}

[[priorities]]
id = "p"
title = "P"
{order}
[[kpis]]
id = "k"
title = "K"
priority = "p"
dataset = "c"
{kpi}
{extra}"""

COUNT = 'kind = "count"'
MEAN = 'kind = "mean"\nvalue = "n"'


def _project(folder: Path, kpi: str = COUNT, *, extra: str = "", order: str = "",
             min: str = "") -> Path:
    path = folder / "kpi.toml"
    path.write_text(PROJECT.format(kpi=kpi, extra=extra, order=order, min=min), encoding="utf-8")
    return path


def _refused(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_project_file(path)
    return caught.value


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"kpi": COUNT + "\nstable_band = -5"},
     "KPI 'k', key 'stable_band': must be a finite number, 0 or more, found -5 (a change this "
     "size or smaller either way is stable)"),
    ({"kpi": COUNT + "\nmultiplier = 0"},
     "KPI 'k', key 'multiplier': must be a finite number above 0, found 0"),
    ({"kpi": COUNT + "\nmultiplier = -1000"},
     "KPI 'k', key 'multiplier': must be a finite number above 0, found -1000"),
    ({"kpi": COUNT + "\nlag = 61"},
     "KPI 'k', key 'lag': must be a whole number of months from 0 to 60, found 61"),
    ({"kpi": COUNT + "\nlag = 2.5"},
     "KPI 'k', key 'lag': must be a whole number of months from 0 to 60, found 2.5"),
    ({"kpi": COUNT + "\nlag = inf"},
     "KPI 'k', key 'lag': must be a whole number of months from 0 to 60, found inf"),
    ({"kpi": COUNT + "\nprovisional_months = 13"},
     "KPI 'k', key 'provisional_months': must be a whole number of months from 0 to 12, "
     "found 13"),
    ({"kpi": 'kind = "percentile"\nvalue = "n"\npercentile = 100'},
     "KPI 'k', key 'percentile': must be a number from 1 and below 100, found 100"),
    ({"kpi": MEAN + "\ntarget = nan"},
     "KPI 'k', key 'target': must be a finite number, found nan (in the KPI's unit)"),
    ({"kpi": MEAN + "\ntarget = -inf"},
     "KPI 'k', key 'target': must be a finite number, found -inf (in the KPI's unit)"),
    ({"kpi": 'kind = "within"\nvalue = "n"\nthreshold = 10\ntarget = 900'},
     "KPI 'k', key 'target': must be a number from 0 to 100, found 900 (a share of rows (a "
     "within KPI, a rate or snapshot whose numerator is a condition over no denominator, or "
     "one within its denominator) is a percentage of rows)"),
    # Every kind that makes a share holds its target to the share's range, as a within does:
    # a rate of a condition over no denominator as a ratio, at most 1, took 90 and was
    # judged "consistently fails" on months of 0.95.
    ({"kpi": 'kind = "rate"\nnumerator = "n > 0"\nunit = "ratio"\nmultiplier = 0.01\n'
             'target = 90\nbetter = "higher"'},
     "KPI 'k', key 'target': must be a number from 0 to 1, found 90 (a share of rows, in its "
     "unit (multiplier 0.01); as the figure prints it, 90% is 0.9)"),
    ({"kpi": 'kind = "rate"\nnumerator = "n > 0"\ntarget = 150\nbetter = "higher"'},
     "KPI 'k', key 'target': must be a number from 0 to 100, found 150 (a share of rows (a "
     "within KPI, a rate or snapshot whose numerator is a condition over no denominator, or "
     "one within its denominator) is a percentage of rows)"),
    ({"kpi": 'kind = "snapshot"\nnumerator = "n > 0"\nunit = "ratio"\nmultiplier = 0.01\n'
             'target = 2\nbetter = "higher"'},
     "KPI 'k', key 'target': must be a number from 0 to 1, found 2 (a share of rows, in its "
     "unit (multiplier 0.01); as the figure prints it, 2% is 0.02)"),
    ({"kpi": 'kind = "rate"\nnumerator = "n"\ndenominator = "n + 1"\n'
             'numerator_within_denominator = true\nunit = "per_1000"\nmultiplier = 10\n'
             'target = 1000.5\nbetter = "higher"'},
     "KPI 'k', key 'target': must be a number from 0 to 1,000, found 1000.5 (a share of rows, "
     "in its unit (multiplier 10))"),
    ({"kpi": 'kind = "snapshot"\nnumerator = "n > 0"\ntarget = -1\nbetter = "higher"'},
     "KPI 'k', key 'target': must be a number from 0 to 100, found -1"),
    # a share as a ratio runs to 1: a target of 90 was missed in every month, all answered
    ({"kpi": 'kind = "within"\nvalue = "n"\nthreshold = 10\nunit = "ratio"\n'
             'multiplier = 0.01\ntarget = 90\nbetter = "higher"'},
     "KPI 'k', key 'target': must be a number from 0 to 1, found 90 (a share of rows, in its "
     "unit (multiplier 0.01); as the figure prints it, 90% is 0.9)"),
    ({"kpi": 'kind = "within"\nvalue = "n"\nthreshold = 10\nunit = "per_1000"\n'
             'multiplier = 10\ntarget = 1200\nbetter = "higher"'},
     "KPI 'k', key 'target': must be a number from 0 to 1,000, found 1200 (a share of rows, "
     "in its unit (multiplier 10))"),
    ({"kpi": 'kind = "within"\nvalue = "n"\nthreshold = nan'},
     "KPI 'k', key 'threshold': must be a finite number, found nan"),
    ({"extra": '[quality]\ncontext_months = 37'},
     "[quality], key 'context_months': must be a whole number of months from 0 to 36, found 37"),
    ({"extra": '[quality]\nrow_ratio = -0.1'},
     "[quality], key 'row_ratio': must be a number from 0 to 1, found -0.1"),
    ({"extra": ''.join(f'[[kpis]]\nid = "{p}"\ntitle = "{p}"\npriority = "p"\ndataset = "c"\n'
                       'kind = "count"\n' for p in ("a", "b"))
      + '[[checks]]\nid = "x"\ntotal = "k"\nparts = ["a", "b"]\ntolerance = -1'},
     "check 'x', key 'tolerance': must be a finite number, 0 or more, found -1"),
    ({"order": "order = 1.5"},
     "priority 'p', key 'order': must be a whole number, found 1.5"),
    ({"min": ", min = nan"},
     "dataset 'c', key 'columns.n.min': must be a finite number, found nan"),
    ({"min": ', min = "zero"'},
     "dataset 'c', key 'columns.n.min': must be a finite number, found 'zero'"),
])
def test_a_number_out_of_its_range_in_kpi_toml_is_refused_naming_the_key(tmp_path, kwargs,
                                                                        expected):
    error = _refused(_project(tmp_path, **kwargs))
    assert re.fullmatch(rf"{re.escape(str(tmp_path / 'kpi.toml'))}:\d+: {re.escape(expected)}"
                        r"( \(.*\))?", error.message), error.message
    assert error.hint == f"1 problem in the project file; {BOUNDS_HINT}"


def test_a_snapshot_over_a_denominator_of_other_rows_takes_a_target_past_100(tmp_path):
    """A snapshot's numerator over a `denominator` of other rows may pass 100% (minority staff
    per officer), as a rate may; its target was refused past 100 as a
    share of rows', so a target at a figure kpi printed could not be written (the
    differential oracle, seed 69: 150.0). A snapshot's numerator of the rows it selects is a
    share: 150 is still refused there."""
    over = 'kind = "snapshot"\nnumerator = "n > 0"\ndenominator = "offence = \'theft\'"\n'
    kpi_ = parse_project_file(_project(tmp_path, kpi=over + 'target = 150\nbetter = "higher"')
                              ).kpis[0]
    assert kpi_.target == 150
    share = 'kind = "snapshot"\nnumerator = "n > 0"\ntarget = 150\nbetter = "higher"'
    assert "key 'target': must be a number from 0 to 100, found 150" in _refused(
        _project(tmp_path, kpi=share)).message


@pytest.mark.parametrize("better", ["", 'better = "neutral"'])
def test_a_target_on_a_kpi_with_no_better_direction_is_refused(tmp_path, better):
    """Met or missed is judged from one side: a neutral KPI's target was printed beside "n/a"
    and judged by nothing, with exit 0."""
    error = _refused(_project(tmp_path, kpi=f"{MEAN}\ntarget = 5\n{better}"))
    assert re.fullmatch(rf"{re.escape(str(tmp_path / 'kpi.toml'))}:\d+: KPI 'k', key 'target': a "
                        r"target is met from one side, and this KPI's better is neutral: set "
                        r'better = "higher" or "lower", or leave the target out', error.message)
    assert parse_project_file(_project(tmp_path, kpi=f'{MEAN}\ntarget = 5\nbetter = "lower"')
                              ).kpis[0].target == 5


def test_a_population_out_of_range_is_refused(tmp_path):
    path = tmp_path / "kpi.toml"
    path.write_text(PROJECT.format(kpi=COUNT, extra="", order="", min="")
                    .replace("force = 1000000", "force = -5"), encoding="utf-8")
    assert "[population], key 'force': must be a finite number above 0, found -5 (a count per " \
           "1,000 of it is divided by it)" in _refused(path).message


def test_min_on_a_column_that_is_not_a_number_is_refused(tmp_path):
    path = _project(tmp_path)
    path.write_text(path.read_text().replace('offence = "str"',
                                             'offence = { type = "str", min = 0 }'))
    assert "dataset 'c', key 'columns.offence.min': a str column has no smallest value: min " \
           "is for int and float columns" in _refused(path).message


@pytest.mark.parametrize(("kwargs", "read"), [
    ({"kpi": COUNT + "\nstable_band = 0\nlag = 60\nprovisional_months = 12\n"
             "multiplier = 0.000001"},
     lambda k: (k.stable_band, k.lag, k.provisional_months, k.multiplier)
     == (0.0, 60, 12, 0.000001)),
    ({"kpi": COUNT + "\nlag = 3.0"}, lambda k: k.lag == 3 and isinstance(k.lag, int)),
    ({"kpi": MEAN + '\ntarget = -2.5\nbetter = "higher"'}, lambda k: k.target == -2.5),
    # a rate over a denominator not declared nested may pass 100% (a rate of a condition
    # over no denominator, `n > 1`, is a share: refused above)
    ({"kpi": 'kind = "rate"\nnumerator = "n"\ndenominator = "n > 1"\ntarget = 150\n'
             'better = "lower"'},
     lambda k: k.target == 150),
    ({"kpi": 'kind = "within"\nvalue = "n"\nthreshold = 10\ntarget = 100\nbetter = "higher"'},
     lambda k: k.target == 100),
    ({"min": ", min = -10"}, lambda k: True),
])
def test_the_ends_of_each_range_are_accepted(tmp_path, kwargs, read):
    project = parse_project_file(_project(tmp_path, **kwargs))
    assert read(project.kpi("k"))


def test_a_whole_number_written_as_a_float_is_read_as_a_whole_number(tmp_path):
    project = parse_project_file(_project(tmp_path, extra="[quality]\ncontext_months = 6.0",
                                          order="order = 2.0"))
    assert project.quality.context_months == 6 and isinstance(project.quality.context_months,
                                                              int)
    assert project.priorities[0].order == 2 and isinstance(project.priorities[0].order, int)


def test_a_chart_number_out_of_range_is_refused_by_the_same_table(tmp_path):
    from kpi.charts import chart_specs

    path = _project(tmp_path, extra='[[charts]]\nid = "t"\ntype = "trend"\ntitle = "T"\n'
                                    'kpis = ["k"]\nmonths = 1.5\n')
    with pytest.raises(ConfigError) as caught:
        chart_specs(parse_project_file(path))
    assert caught.value.message == (f"{path}: chart 't', key 'months': must be a whole number "
                                    "from 2 to 600, found 1.5")


# ---------------------------------------------------------------------------------------------
# Files a project names: weights and populations

HARM = """\
[datasets.c]
date = "day"
[datasets.c.columns]
day = "date"
offence = "str"
[[priorities]]
id = "p"
title = "P"
[[kpis]]
id = "harm"
title = "Harm"
priority = "p"
kind = "weighted_score"
dataset = "c"
weights = "weights.csv"
weight_key = "offence"
"""


@pytest.fixture
def harm(tmp_path, monkeypatch):
    """A loaded project of one robbery and one burglary a month, April 2023 to September
    2025; the test writes its weights file."""
    from kpi.catalogue import load_project
    from kpi.ingest import load

    (tmp_path / "kpi.toml").write_text(HARM, encoding="utf-8")
    (tmp_path / "weights.csv").write_text("offence,days\nrobbery,1\n", encoding="utf-8")
    months = [f"{2023 + (3 + i) // 12}-{(3 + i) % 12 + 1:02d}" for i in range(30)]
    rows = "".join(f"{m}-01,robbery\n{m}-02,burglary\n" for m in months)
    (tmp_path / "c.csv").write_text("day,offence\n" + rows, encoding="utf-8")
    load(load_project(tmp_path), "c", [str(tmp_path / "c.csv")])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KPI_NO_CACHE", "1")
    return tmp_path


def test_a_negative_weight_is_refused_naming_its_row_not_a_lowered_score(harm, cli):
    from kpi import engine

    (harm / "weights.csv").write_text("offence,days\nrobbery,365\nburglary,-40\n")
    engine._read_weights.cache_clear()
    result = cli(["summary", "--period", "2025-09", "--format", "json"])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: {harm / 'weights.csv'}, row 3, column 'days': expected a weight that is a "
        "finite number, 0 or more, found '-40'",
        "Hint: a negative weight would lower the score for every row of its key; "
        f"{BOUNDS_HINT}"]


def test_a_weight_of_zero_is_accepted_and_weighs_nothing(harm, cli):
    import json

    from kpi import engine

    (harm / "weights.csv").write_text("offence,days\nrobbery,365\nburglary,0\n")
    engine._read_weights.cache_clear()
    result = cli(["summary", "--period", "2025-09", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    harm_kpi = next(k for k in json.loads(result.stdout)["kpis"] if k["id"] == "harm")
    assert harm_kpi["current"]["value"] == 12 * 365.0


@pytest.mark.parametrize(("row", "column", "expected"), [
    ("Avon,-300000,2024", "population", "a population that is a finite number above 0, "
                                        "found '-300000'"),
    ("Avon,0,2024", "population", "a population that is a finite number above 0, found '0'"),
    ("Avon,inf,2024", "population", "a population that is a finite number above 0, found 'inf'"),
    ("Avon,300000,1850", "year", "a year from 1900 to 2100, found '1850'"),
])
def test_a_population_file_out_of_range_is_refused(tmp_path, row, column, expected):
    from kpi.compare import read_populations

    path = tmp_path / "population.csv"
    path.write_text(f"force,population,year\nBure,100,2024\n{row}\n", encoding="utf-8")
    read_populations.cache_clear()
    with pytest.raises(ConfigError) as caught:
        read_populations(path, "force")
    assert caught.value.message == f"{path}, row 3, column '{column}': expected {expected}"
    assert caught.value.hint == BOUNDS_HINT


# ---------------------------------------------------------------------------------------------
# One table, read the same way everywhere, and documented


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(BOUNDS)),
       value=st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
                       st.sampled_from([0, 1, 2, 12, 36, 60, 100, 600, 1000, 1900, 2100, 0.5,
                                        -0.0, 1e-9, 99.999])))
def test_a_key_and_a_file_column_agree_on_every_number(name, value):
    """kpi.toml values are checked by Bound.accepts, file columns by Bound.outside (Polars):
    the two readings of one range agree, and each agrees with the range as the docs give it."""
    bound = BOUNDS[name]
    in_file = not pl.select(bound.outside(pl.lit(float(value), dtype=pl.Float64))).item()
    assert bound.accepts(value) == in_file
    if bound.accepts(value):
        assert math.isfinite(value)
        assert bound.low is None or value >= bound.low
        assert bound.high is None or value <= bound.high


def test_docs_list_every_range_of_the_table():
    """docs/catalogue.md#number-ranges has one row per entry of BOUNDS, saying its range."""
    docs = (Path(__file__).resolve().parent.parent / "docs" / "catalogue.md").read_text("utf-8")
    section = docs.split("## Number ranges", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1]
    assert set(rows) == set(BOUNDS)
    for name, bound in BOUNDS.items():
        assert rows[name] == bound.text(), name


@pytest.mark.parametrize("days", ["inf", "1e300", "nan", "-1"])
def test_a_vacuum_keeping_days_past_the_logs_retention_is_a_usage_error(tmp_path, cli, days):
    """`kpi vacuum --keep-days inf` was a traceback (OverflowError); the range ends at the
    100 years the tables keep their log, and a number is written in the digits 0-9
    (kpi.periods.typed_number)."""
    _project(tmp_path)
    result = cli(["--project", tmp_path, "vacuum", "--keep-days", days])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: invalid --keep-days '{days}': expected a number from 0 to 36,500 in the "
        "digits 0-9",
        "Hint: for example --keep-days 30"]
    assert "Traceback" not in result.output


def test_a_negative_zero_is_written_as_zero_in_json():
    """A float column's `-0` summed or averaged is -0.0, which every face printed as 0 but the
    JSON as -0.0: one figure, two spellings."""
    import json

    from kpi import render
    from kpi.catalogue import Unit

    assert [json.dumps(render.json_number(-0.0, unit)) for unit in
            (Unit.GBP, Unit.PERCENT, Unit.SECONDS, Unit.COUNT)] == ["0.0", "0.0", "0.0", "0"]
    assert json.dumps(render.json_number(-0.5, Unit.GBP)) == "-0.5"


@pytest.mark.parametrize("kind", ["float", "bool", "date"])
def test_a_weights_key_column_must_hold_text_or_whole_numbers(tmp_path, kind):
    """A weights file's keys are text: a float column's 1 read as '1.0', a flag read from
    'yes' as 'true', a date written 05/03/2025 as '2025-03-05', so every row of the score
    weighed 0 (1,200.0 where the rows give 1,320; 0.0 where they give 132), exit 0."""
    path = _project(tmp_path, kpi='kind = "weighted_score"\nweights = "w.csv"\n'
                                  'weight_key = "band"\nbetter = "lower"')
    path.write_text(path.read_text().replace('offence = "str"',
                                             f'offence = "str"\nband = "{kind}"'))
    assert _refused(path).message.endswith(
        f"KPI 'k', key 'weight_key': column 'band' is of type {kind}, and a weights file's "
        "keys name text or whole numbers: key the weights by a str or int column")


@pytest.mark.parametrize("keys, key, message", [
    ('value = "n"\nnumerator = "n > 0"', "value",
     "a snapshot with a numerator is a percentage of the rows it counts, so value is not "
     "read: leave it out (kpi gives no share of a value, such as FTE, at one date)"),
    ('denominator = "offence = \'theft\'"', "denominator",
     "is read only with a numerator (a percentage snapshot); a snapshot without one counts "
     "every row its filter selects: choose them with filter"),
])
def test_a_snapshot_key_it_would_not_read_is_refused(tmp_path, keys, key, message):
    """A snapshot took `value` beside `numerator`, and `denominator` without one, and read
    neither: "minority share of FTE" printed a share of heads (14.3% for 7.7%), "officer
    headcount" with a denominator of officers counted every row (14 for 10), exit 0."""
    error = _refused(_project(tmp_path, kpi=f'kind = "snapshot"\n{keys}'))
    assert error.message.endswith(f"KPI 'k', key '{key}': {message}")


@pytest.mark.parametrize(("kind", "keys", "verb"), [
    ("count", "", "adds"), ("sum", '\nvalue = "n"', "adds"),
    ("mean", '\nvalue = "n"', "combines"), ("rate", '\nnumerator = "n > 5"', "combines"),
    ("within", '\nvalue = "n"\nthreshold = 5', "combines"),
])
def test_a_kpi_combining_its_months_is_refused_cumulative(tmp_path, kind, keys, verb):
    """`cumulative = true` on a count of a column of running totals (10, 20, ..., 300 trained
    to date): the count added the twelve totals, "2,940 trained to date, up 276.9%, a
    statistically significant improvement", exit 0, where 300 had been reached; a rate or a
    mean of them averaged the twelve (54.2% trained where 300 of 300 were, "stable" where it
    rose from 91.7% to 100%). A running total is a snapshot's figure at its month."""
    error = _refused(_project(tmp_path, kpi=f'kind = "{kind}"{keys}\ncumulative = true'))
    assert error.message.endswith(
        f"KPI 'k', key 'cumulative': a {kind} {verb} the months of its window, so its figure "
        "is no running total: a running total (trained to date) is read at its month by "
        'kind = "snapshot" (with value = its column, or a numerator and denominator for a '
        "share); leave cumulative out")


def test_a_rate_of_two_kpis_is_refused_cumulative(tmp_path):
    """A rate of two hidden sums of running totals, `cumulative = true`, averaged the year's
    twelve totals (54.2% trained where 300 of 300 were, exit 0); its parts are totals over
    the window, never snapshots."""
    parts = "\n".join(f'[[kpis]]\nid = "{i}"\ntitle = "{i}"\npriority = "p"\n'
                      f'dataset = "c"\nkind = "sum"\nvalue = "n"\nhidden = true\n'
                      for i in ("done", "elig"))
    rate = 'kind = "rate"\nnumerator_kpi = "done"\ndenominator_kpi = "elig"\ncumulative = true'
    error = _refused(_project(tmp_path, kpi=rate, extra=parts))
    assert "KPI 'k', key 'cumulative': a rate of two KPIs combines the months of its window, " \
        "so its figure is no running total" in error.message


def test_a_snapshot_may_be_cumulative(tmp_path):
    assert parse_project_file(_project(
        tmp_path, kpi='kind = "snapshot"\nvalue = "n"\ncumulative = true')).kpis[0].cumulative
