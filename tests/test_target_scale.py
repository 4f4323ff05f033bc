"""A share's target is on the share's scale: from 0 to all of its rows in its unit
(`KpiDef.share_max`), whatever way the share is written.

A share kpi did not recognise as one took a target written in percent while its figure ran
from 0 to 1, and judged it on the wrong scale, exit 0: a mean of a CASE of 0 and 1 (SQL's
AVG(CASE WHEN ... THEN 1 ELSE 0 END)) or of a bool column, 0.25 against a target of 20, "met,
consistently passes" where 25% misses 20%; a rate of such a CASE as a ratio, the same; calls
answered of calls as a ratio, 0.7995 against 80, "consistently fails" where 79.95% misses 80%
by 0.05 points. A share the expression proves is refused as kpi.toml loads
(`catalogue.target_problem`); one only its rows prove (each numerator a whole number from 0 to
its row's denominator) as they are read (`verdicts.off_share_target`), by one bound
(`catalogue.share_target_problem`). Every figure below is counted by hand."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import polars as pl
import pytest
from project_toml import fixture_months, kpi_block

from kpi.catalogue import parse_project_file
from kpi.errors import ConfigError
from kpi.expressions import zero_or_one

SCHEMA = (("outcome", pl.String), ("repeat", pl.Boolean), ("n", pl.Int64),
          ("minutes", pl.Float64))


@pytest.mark.parametrize(("text", "flag"), [
    ("CASE WHEN outcome = 'OC18' THEN 1 ELSE 0 END", True),
    ("CASE WHEN outcome = 'OC18' THEN 1 END", True),  # a blank: 0 summed, none averaged
    ("CASE outcome WHEN 'OC18' THEN 1.0 ELSE 0.0 END", True),
    ("IF(repeat, 1, 0)", True),
    ("repeat", True),
    ("NOT repeat", True),
    ("(outcome = 'OC18')", True),
    ("CAST(repeat AS INTEGER)", True),
    ("COALESCE(CASE WHEN repeat THEN 1 END, 0)", True),
    ("CASE WHEN repeat THEN 2 ELSE 0 END", False),
    ("CASE WHEN repeat THEN 1 ELSE -1 END", False),
    ("CASE WHEN repeat THEN n ELSE 0 END", False),
    ("CASE WHEN repeat THEN '1' ELSE '0' END", False),
    ("CAST(repeat AS VARCHAR)", False),
    ("n", False),
    ("minutes / 60", False),
])
def test_an_expression_is_0_or_1_on_every_row_only_where_its_text_proves_it(text, flag):
    assert zero_or_one(text, "c", SCHEMA) is flag


PROJECT = """\
[datasets.c]
date = "day"
[datasets.c.columns]
day = "date"
outcome = "str"
repeat = "bool"
minutes = "float"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "k"
title = "K"
priority = "p"
dataset = "c"
better = "lower"
{kpi}
"""

CASE = "CASE WHEN outcome = 'OC18' THEN 1 ELSE 0 END"


def _parsed(folder: Path, kpi: str):
    path = folder / "kpi.toml"
    path.write_text(PROJECT.format(kpi=kpi), encoding="utf-8")
    return parse_project_file(path).kpis[0]


@pytest.mark.parametrize(("kpi", "message"), [
    (f'kind = "mean"\nvalue = "{CASE}"\ntarget = 20',
     "must be a number from 0 to 1, found 20 (a mean of values each 0 or 1 is a share of "
     "rows; as the figure prints it, 20% is 0.2)"),
    ('kind = "mean"\nvalue = "repeat"\ntarget = 20',
     "must be a number from 0 to 1, found 20 (a mean of values each 0 or 1 is a share of "
     "rows; as the figure prints it, 20% is 0.2)"),
    (f'kind = "mean"\nvalue = "{CASE}"\nmultiplier = 100\nunit = "percent"\ntarget = 120',
     "must be a number from 0 to 100, found 120 (a mean of values each 0 or 1 is a share of "
     "rows, times its multiplier 100)"),
    (f'kind = "rate"\nnumerator = "{CASE}"\nmultiplier = 0.01\nunit = "ratio"\ntarget = 20',
     "must be a number from 0 to 1, found 20 (a share of rows, in its unit (multiplier 0.01); "
     "as the figure prints it, 20% is 0.2)"),
    (f'kind = "snapshot"\nnumerator = "{CASE}"\nmultiplier = 10\nunit = "per_1000"\n'
     'target = 1500',
     "must be a number from 0 to 1,000, found 1500 (a share of rows, in its unit "
     "(multiplier 10))"),
])
def test_a_share_its_expression_proves_takes_a_target_on_its_scale_only(tmp_path, kpi,
                                                                        message):
    with pytest.raises(ConfigError) as caught:
        _parsed(tmp_path, kpi)
    assert re.fullmatch(rf"{re.escape(str(tmp_path / 'kpi.toml'))}:\d+: KPI 'k', key "
                        rf"'target': {re.escape(message)}", caught.value.message), \
        caught.value.message


@pytest.mark.parametrize(("kpi", "share", "share_max"), [
    # A mean of minutes is no share: a target of 20 minutes stands.
    ('kind = "mean"\nvalue = "minutes"\ntarget = 20', False, None),
    # A CASE of another value than 0 and 1 counts points, not rows.
    ('kind = "mean"\nvalue = "CASE WHEN repeat THEN 2 ELSE 0 END"\ntarget = 20', False, None),
    (f'kind = "mean"\nvalue = "{CASE}"\ntarget = 0.2', True, 1.0),
    (f'kind = "mean"\nvalue = "{CASE}"\nmultiplier = 100\nunit = "percent"\ntarget = 20',
     True, 100.0),
    (f'kind = "rate"\nnumerator = "{CASE}"\ntarget = 20', True, 100.0),
    (f'kind = "rate"\nnumerator = "{CASE}"\nmultiplier = 0.01\nunit = "ratio"\n'
     'target = 0.2', True, 1.0),
    # Over a denominator the numerator may pass (its rows decide as they are read).
    (f'kind = "rate"\nnumerator = "{CASE}"\ndenominator = "repeat"\ntarget = 150', False,
     None),
])
def test_a_target_on_the_figures_scale_is_taken(tmp_path, kpi, share, share_max):
    built = _parsed(tmp_path, kpi)
    assert built.share is share
    assert built.target == float(re.findall(r"target = (\S+)", kpi)[0])
    if share:
        assert built.share_max == share_max


CALLS_PROJECT = """\
[project]
name = "Calls"
baseline = "2024-03"

[datasets.crimes]
date = "recorded"
[datasets.crimes.columns]
ref = "str"
recorded = "date"
outcome = "str"

[datasets.calls]
date = "month"
[datasets.calls.columns]
month = "month"
answered = "int"
calls = "int"

[[priorities]]
id = "p"
title = "P"
"""


def _calls_project(folder: Path, cli, *, answered_past: bool = False, **targets: float
                   ) -> Path:
    """Four crimes a month, one closed OC18 (25% every month), and 1,000 calls a month of
    which 800 are answered in odd months and 799 in even ones; with `answered_past`, 1,001 in
    January 2025 (a numerator past its denominator)."""
    folder.mkdir()
    with open(folder / "crimes.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["ref", "recorded", "outcome"])
        for month, _ in fixture_months():
            for i in range(4):
                out.writerow([f"{month}-{i}", f"{month}-0{i + 1}", "OC18" if i == 0 else "OC1"])
    with open(folder / "calls.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["month", "answered", "calls"])
        for month, _ in fixture_months():
            answered = 1001 if answered_past and month == "2025-01" else \
                800 if int(month[5:]) % 2 else 799
            out.writerow([month, answered, 1000])
    text = CALLS_PROJECT
    if "mean" in targets:
        text += kpi_block("mean", "OC18 share", "crimes", kind="mean", value=CASE,
                          better="lower", target=targets["mean"])
    if "rate" in targets:
        text += kpi_block("rate", "OC18 share (rate)", "crimes", kind="rate", numerator=CASE,
                          multiplier=0.01, unit="ratio", better="lower",
                          target=targets["rate"])
    if "calls" in targets:
        text += kpi_block("answered", "Calls answered", "calls", kind="rate",
                          numerator="answered", denominator="calls", multiplier=0.01,
                          unit="ratio", better="higher", target=targets["calls"])
    (folder / "kpi.toml").write_text(text, encoding="utf-8")
    for dataset in ("crimes", "calls"):
        got = cli(["--project", folder, "ingest", dataset, folder / f"{dataset}.csv"])
        assert got.exit_code == 0, got.output
    return folder


def _summary(cli, folder: Path) -> dict[str, dict]:
    got = cli(["--project", folder, "summary", "--period", "2025-09", "--format", "json"])
    assert got.exit_code == 0, got.output
    return {k["id"]: k for k in json.loads(got.stdout)["kpis"]}


def test_shares_written_as_the_figures_print_are_judged_on_them(cli, tmp_path):
    """The year to September 2025: 12 of 48 crimes closed OC18, 0.25, misses 0.2 (lower is
    better); 6 x 800 + 6 x 799 = 9,594 of 12,000 calls answered, 0.7995, misses 0.8 (higher
    is better) by 0.0005, neither far from it every month."""
    got = _summary(cli, _calls_project(tmp_path / "p", cli, mean=0.2, rate=0.2, calls=0.8))
    for kpi_id in ("mean", "rate"):
        assert (got[kpi_id]["current"]["value"], got[kpi_id]["target_met"]) == (0.25, False)
        # 0.25 every month: a process that never varied has no limits, so no assurance
        assert got[kpi_id]["assurance"] is None
    assert (got["answered"]["current"]["value"], got["answered"]["target_met"]) == (0.7995,
                                                                                    False)
    assert got["answered"]["assurance"] == "hit_and_miss"


def test_a_share_its_rows_prove_refuses_a_target_in_percent_as_it_is_read(cli, tmp_path):
    """Answered of calls is a share by its rows only (each month's answered from 0 to its
    calls): kpi.toml loads, and the summary and `kpi show` refuse its target of 80 as a ratio
    (0.7995 "will consistently be missed"), exit 3, naming the file's line."""
    folder = _calls_project(tmp_path / "p", cli, calls=80)
    toml = folder / "kpi.toml"
    line = toml.read_text(encoding="utf-8").splitlines().index("target = 80") + 1
    for args in (["summary"], ["show", "answered"]):
        got = cli(["--project", folder, *args, "--period", "2025-09"])
        assert got.exit_code == 3, got.output
        assert got.stderr.splitlines() == [
            f"Error: {toml}:{line}: KPI 'answered', key 'target': must be a number from 0 to "
            "1, found 80 (a share of rows, in its unit (multiplier 0.01); as the figure prints "
            "it, 80% is 0.8); its rows make it a share (each numerator a whole number from 0 "
            "to its row's denominator)",
            "Hint: write the target as the figure prints it, from 0 to 1"]


def test_a_rate_its_rows_do_not_prove_a_share_takes_a_target_past_its_scale(cli, tmp_path):
    """With 1,001 of 1,000 calls answered in January 2025 the rate is no share (it may pass
    1), so a target of 1.5 stands: 9,594 - 800 + 1,001 = 9,795 of 12,000, 0.81625."""
    got = _summary(cli, _calls_project(tmp_path / "p", cli, answered_past=True, calls=1.5))
    assert (got["answered"]["current"]["value"], got["answered"]["target_met"]) == (0.81625,
                                                                                    False)


DERIVED = (("isoc", CASE), ("isoc2", "COALESCE(isoc, 0)"),
           ("points", "CASE WHEN outcome = 'OC18' THEN 2 ELSE 0 END"))


@pytest.mark.parametrize(("text", "flag"), [
    ("isoc", True),  # typed a whole number (Int64), 0 or 1 by its CASE
    ("isoc2", True),  # through one derived column to another
    ("CASE WHEN repeat THEN isoc ELSE 0 END", True),
    ("points", False),
    ("isoc * 2", False),
    # arithmetic whose every answer is 0 or 1: `1 - isoc` was read as no share, and its mean
    # of 0.75 printed "0.8%"
    ("1 - isoc", True),
    ("1 - CASE WHEN outcome = 'OC18' THEN 1 ELSE 0 END", True),
    ("isoc * 1", True),
    ("isoc / 1", True),
    ("1.0 - isoc2", True),
    ("ROUND(isoc)", True),
    ("ABS(isoc)", True),
    ("CAST(1 - isoc AS DOUBLE)", True),
    ("GREATEST(isoc, 0)", True),
    ("LEAST(isoc, repeat)", True),
    ("isoc * (1 - isoc2)", True),
    ("ABS(isoc - isoc2)", True),
    ("CASE WHEN repeat THEN 1 - isoc ELSE isoc END", True),
    ("-isoc", False),
    ("isoc - 1", False),
    ("isoc + isoc2", False),
    ("isoc / 2", False),  # 0.5, or 0 in whole numbers: not followed
    ("points / 2", True),  # 2 or 0 halved: 1 or 0 in any division
    ("points / 4", False),
    ("GREATEST(isoc, n)", False),
    ("ROUND(isoc * 0.5)", False),
    ("0.1 * 3 / 0.3 * isoc", False),  # 1 as written, 1.0000000000000002 as floats
    ("1 - points", False),
])
def test_a_derived_column_is_0_or_1_where_its_expression_is(text, flag):
    schema = (*SCHEMA, ("isoc", pl.Int64), ("isoc2", pl.Int64), ("points", pl.Int64))
    assert zero_or_one(text, "c", schema, DERIVED) is flag


FOLLOWED = (("isoc", CASE), ("isoc2", "isoc"), ("up", "UPPER(outcome)"), ("up2", "up"),
            ("unread", "CASE WHEN THEN"), ("loop", "loop"))


@pytest.mark.parametrize(("flag", "compared", "followed"), [
    ("isoc", "up = 'Dudley'", True),
    ("isoc2", "up2 = 'Dudley'", True),  # through one derived column to another
    # Polars reads `t.isoc` as the field isoc of a column t, not the derived column: one walk
    # followed it to UPPER(outcome) and refused 'Dudley', the other did not
    ("t.isoc", "t.up = 'Dudley'", False),
    ("unread", "unread = 'Dudley'", False),  # an expression sqlglot cannot read
    ("loop", "loop = 'Dudley'", False),  # itself: followed once, then read as a column
])
def test_zero_or_one_and_never_given_follow_the_same_derived_columns(flag, compared,
                                                                      followed):
    """What a derived column stands for is found by one walk (`expressions._derived_of`):
    `zero_or_one` proves a share through it where `never_given` proves a literal no row can
    equal through it, and neither where the other does not."""
    from kpi.expressions import never_given

    schema = (*SCHEMA, ("isoc", pl.Int64), ("isoc2", pl.Int64), ("up", pl.String),
              ("up2", pl.String), ("unread", pl.Int64), ("loop", pl.Int64))
    assert zero_or_one(flag, "c", schema, FOLLOWED) is followed
    assert bool(never_given(compared, FOLLOWED)) is followed
    if followed:
        assert never_given(compared, FOLLOWED)[0][1:] == ("Dudley", "DUDLEY")


ZERO_ONE_PROJECT = """\
[project]
name = "T"
[datasets.c]
date = "day"
[datasets.c.columns]
day = "date"
outcome = "str"
[datasets.c.derived]
isoc = "CASE WHEN outcome = 'OC18' THEN 1 ELSE 0 END"
isoc2 = "COALESCE(isoc, 0)"
[[priorities]]
id = "p"
title = "P"
[[kpis]]
id = "oc18"
title = "OC18"
priority = "p"
dataset = "c"
better = "lower"
{kpi}
"""

MEAN_TEXT = "a mean of values each 0 or 1 is a share from 0 to 1 times its multiplier"
RATE_TEXT = ("a {} of a numerator each 0 or 1 over no denominator is a share from 0 to 100 "
             "times its multiplier")


@pytest.mark.parametrize(("kpi", "key", "message"), [
    # A quarter of the rows 1: a mean is 0.25 times its multiplier, a rate 25 times its.
    (f'kind = "mean"\nvalue = "{CASE}"\nunit = "percent"', "unit",
     f"is percent with multiplier 1, but {MEAN_TEXT}, which would print a quarter of the "
     "rows, 25%, as 0.25%: write multiplier = 100, or kind = \"rate\" with the condition as "
     "its numerator"),
    ('kind = "mean"\nvalue = "outcome = \'OC18\'"\nunit = "percent"', "unit",
     f"is percent with multiplier 1, but {MEAN_TEXT}, which would print a quarter of the "
     "rows, 25%, as 0.25%: write multiplier = 100, or kind = \"rate\" with the condition as "
     "its numerator"),
    ('kind = "mean"\nvalue = "isoc"\nunit = "percent"', "unit",
     f"is percent with multiplier 1, but {MEAN_TEXT}, which would print a quarter of the "
     "rows, 25%, as 0.25%: write multiplier = 100, or kind = \"rate\" with the condition as "
     "its numerator"),
    # arithmetic whose every answer is 0 or 1 (`1 - isoc`: a mean of 0.75 printed "0.8%")
    *((f'kind = "mean"\nvalue = "{value}"\nunit = "percent"', "unit",
       f"is percent with multiplier 1, but {MEAN_TEXT}, which would print a quarter of the "
       "rows, 25%, as 0.25%: write multiplier = 100, or kind = \"rate\" with the condition "
       "as its numerator")
      for value in ("1 - isoc", f"1 - {CASE}", "isoc * 1", "ROUND(isoc)", "ABS(isoc)",
                    "GREATEST(isoc, 0)")),
    (f'kind = "mean"\nvalue = "{CASE}"\nunit = "percent"\nmultiplier = 10', "multiplier",
     f"is percent with multiplier 10, but {MEAN_TEXT}, which would print a quarter of the "
     "rows, 25%, as 2.5%: write multiplier = 100, or kind = \"rate\" with the condition as "
     "its numerator"),
    (f'kind = "mean"\nvalue = "{CASE}"\nunit = "per_1000"', "unit",
     f"is per_1000 with multiplier 1, but {MEAN_TEXT}, which would print a quarter of the "
     "rows, 250 per 1,000, as 0.25 per 1,000: write multiplier = 1000"),
    ('kind = "mean"\nvalue = "isoc2"\nunit = "ratio"\nmultiplier = 100', "multiplier",
     f"is ratio with multiplier 100, but {MEAN_TEXT}, which would print a quarter of the "
     "rows, 0.25, as 25: write multiplier = 1 (or leave it out)"),
    (f'kind = "rate"\nnumerator = "{CASE}"\nunit = "percent"\nmultiplier = 10', "multiplier",
     f"is percent with multiplier 10, but {RATE_TEXT.format('rate')}, which would print a "
     "quarter of the rows, 25%, as 250%: write multiplier = 1 (or leave it out)"),
    ('kind = "rate"\nnumerator = "isoc"\nunit = "percent"\nmultiplier = 10', "multiplier",
     f"is percent with multiplier 10, but {RATE_TEXT.format('rate')}, which would print a "
     "quarter of the rows, 25%, as 250%: write multiplier = 1 (or leave it out)"),
    ('kind = "snapshot"\nnumerator = "isoc"\nmultiplier = 10', "multiplier",
     f"is percent with multiplier 10, but {RATE_TEXT.format('snapshot')}, which would print "
     "a quarter of the rows, 25%, as 250%: write multiplier = 1 (or leave it out)"),
    (f'kind = "median"\nvalue = "{CASE}"\nunit = "percent"\nmultiplier = 100', "kind",
     "a median of values each 0 or 1 is 0 or 1 itself (or between, where the rows split at "
     "it), not the share of rows that are 1 (a quarter of rows 1 has a median of 0): write "
     "kind = \"mean\" for that share with multiplier = 100"),
    ('kind = "percentile"\nvalue = "isoc"\npercentile = 90', "kind",
     "a percentile of values each 0 or 1 is 0 or 1 itself (or between, where the rows split "
     "at it), not the share of rows that are 1 (a quarter of rows 1 has a median of 0): write "
     "kind = \"mean\" for that share"),
    ('kind = "mean"\nvalue = "isoc"\ntarget = 20', "target",
     "must be a number from 0 to 1, found 20 (a mean of values each 0 or 1 is a share of "
     "rows; as the figure prints it, 20% is 0.2)"),
])
def test_a_figure_of_zeros_and_ones_is_printed_at_its_units_scale(tmp_path, kpi, key,
                                                                   message):
    """A mean is not multiplied by 100, so a mean of 0s and 1s (a share of 25%) printed
    "0.3%" in percent with no multiplier, "2.5%" with multiplier 10, and "0.3" per 1,000
    where it is 250; the same through a derived column, typed a whole number, with a target
    of 20 on its 0.25 "met, consistently passes". A rate of such a numerator in percent with
    multiplier 10 printed 250%. A median or percentile of them is 0 or 1, no share. Each is
    refused as kpi.toml loads, naming the KPI, the key and what to write."""
    path = tmp_path / "kpi.toml"
    path.write_text(ZERO_ONE_PROJECT.format(kpi=kpi), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        parse_project_file(path)
    assert re.fullmatch(rf"{re.escape(str(path))}:\d+: KPI 'oc18', key '{key}': "
                        rf"{re.escape(message)}", caught.value.message), caught.value.message


@pytest.mark.parametrize(("kpi", "share_max"), [
    (f'kind = "mean"\nvalue = "{CASE}"\nunit = "percent"\nmultiplier = 100', 100.0),
    ('kind = "mean"\nvalue = "isoc2"\nunit = "per_1000"\nmultiplier = 1000', 1000.0),
    ('kind = "mean"\nvalue = "isoc"\nunit = "ratio"', 1.0),
    ('kind = "mean"\nvalue = "isoc"\nunit = "number"\nmultiplier = 10', 10.0),
    ('kind = "rate"\nnumerator = "isoc"', 100.0),
    ('kind = "rate"\nnumerator = "isoc"\nunit = "per_1000"\nmultiplier = 10', 1000.0),
])
def test_a_figure_of_zeros_and_ones_at_its_units_scale_is_taken(tmp_path, kpi, share_max):
    path = tmp_path / "kpi.toml"
    path.write_text(ZERO_ONE_PROJECT.format(kpi=kpi), encoding="utf-8")
    built = parse_project_file(path).kpi("oc18")
    assert (built.share, built.share_max) == (True, share_max)


def test_a_mean_of_a_derived_column_of_zeros_and_ones_prints_its_share(cli, tmp_path):
    """One crime of four closed OC18 in every month: the year to September 2025 holds 12 of
    48, 25.0% as a mean of the derived 0/1 column with multiplier 100, which misses a target
    of 20 (lower is better). Without the multiplier it printed 0.3%, exit 0: now refused."""
    with open(tmp_path / "c.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["day", "outcome"])
        for month, _ in fixture_months():
            for i in range(4):
                out.writerow([f"{month}-0{i + 1}", "OC18" if i == 0 else "OC1"])
    (tmp_path / "kpi.toml").write_text(ZERO_ONE_PROJECT.format(
        kpi='kind = "mean"\nvalue = "isoc"\nunit = "percent"\nmultiplier = 100\ntarget = 20'),
        encoding="utf-8")
    got = cli(["--project", tmp_path, "ingest", "c", tmp_path / "c.csv"])
    assert got.exit_code == 0, got.output
    kpi = _summary(cli, tmp_path)["oc18"]
    assert (kpi["current"]["value"], kpi["target_met"]) == (25.0, False)
    (tmp_path / "kpi.toml").write_text(ZERO_ONE_PROJECT.format(
        kpi='kind = "mean"\nvalue = "isoc"\nunit = "percent"'),
        encoding="utf-8")
    got = cli(["--project", tmp_path, "summary", "--period", "2025-09"])
    assert got.exit_code == ConfigError.exit_code, got.output
    assert "KPI 'oc18', key 'unit': is percent with multiplier 1, but a mean of values each 0 " \
        "or 1 is a share" in got.stderr


def _crimes(folder: Path) -> None:
    """One crime of four closed OC18 in every month, each row with `closed` (1 where OC18,
    else 0), `visits` (2 where OC18, else 0, 1 and 1: not a flag) and `none` (0 on every
    row)."""
    with open(folder / "c.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["day", "outcome", "closed", "visits", "none"])
        for month, _ in fixture_months():
            for i in range(4):
                out.writerow([f"{month}-0{i + 1}", "OC18" if i == 0 else "OC1",
                              1 if i == 0 else 0, (2, 0, 1, 1)[i], 0])


def _by_hand(folder: Path, value: str) -> float:
    """The mean of a value over the year to September 2025, by DuckDB from the file."""
    import duckdb

    return duckdb.connect().execute(
        f"SELECT AVG({value}) FROM read_csv('{folder / 'c.csv'}', all_varchar = false) "
        "WHERE day BETWEEN DATE '2024-10-01' AND DATE '2025-09-30'").fetchone()[0]


INT_COLUMNS = 'outcome = "str"\nclosed = "int"\nvisits = "int"\nnone = "int"\n'


@pytest.mark.parametrize(("value", "share"), [
    ("1 - isoc", 0.75), (f"1 - {CASE}", 0.75), ("isoc * 1", 0.25), ("ROUND(isoc)", 0.25),
    ("ABS(isoc)", 0.25), ("LEAST(1 - isoc, 1)", 0.75)])
def test_a_mean_of_arithmetic_of_zeros_and_ones_prints_its_share(cli, tmp_path, value,
                                                                  share):
    """36 of the year's 48 crimes are not OC18: `1 - isoc` averaged 0.75, printed "0.8%" in
    percent with no multiplier, exit 0 (refused now, above); with multiplier 100 it prints
    75.0, and `isoc * 1`, ROUND and ABS of it 25.0, as counted by hand and DuckDB."""
    _crimes(tmp_path)
    assert _by_hand(tmp_path, value.replace("isoc", f"({CASE})")) == share
    (tmp_path / "kpi.toml").write_text(ZERO_ONE_PROJECT.replace(
        'outcome = "str"\n', INT_COLUMNS).format(
        kpi=f'kind = "mean"\nvalue = "{value}"\nunit = "percent"\nmultiplier = 100'),
        encoding="utf-8")
    got = cli(["--project", tmp_path, "ingest", "c", tmp_path / "c.csv"])
    assert got.exit_code == 0, got.output
    assert _summary(cli, tmp_path)["oc18"]["current"]["value"] == share * 100


def test_a_mean_its_rows_prove_zeros_and_ones_is_refused_off_its_units_scale(cli,
                                                                             tmp_path):
    """A column of 0s and 1s declared `int` (`closed`, 1 on one crime of four) shows no
    share in its text: its mean in percent with no multiplier printed "0.3%" where 25% of the
    year's 48 crimes were closed, exit 0. Its rows are each 0 or 1, so every face reading it
    refuses it as kpi.toml refuses a mean its expression proves one, in the same words (exit
    3); with multiplier 100 it prints 25.0. A column not each 0 or 1 (`visits`, 0 to 2: a
    mean of 1.0) and one of 0s alone (a mean of 0 at any scale) are read."""
    import kpi
    from kpi.catalogue import Kind, Unit, zero_one_scale_problem

    _crimes(tmp_path)
    assert (_by_hand(tmp_path, "closed"), _by_hand(tmp_path, "visits"),
            _by_hand(tmp_path, "none")) == (0.25, 1.0, 0.0)

    def project(value: str, more: str = "") -> None:
        (tmp_path / "kpi.toml").write_text(ZERO_ONE_PROJECT.replace(
            'outcome = "str"\n', INT_COLUMNS).format(
            kpi=f'kind = "mean"\nvalue = "{value}"\nunit = "percent"{more}'),
            encoding="utf-8")

    project("closed")
    got = cli(["--project", tmp_path, "ingest", "c", tmp_path / "c.csv"])
    assert got.exit_code == 0, got.output
    why = zero_one_scale_problem(Kind.MEAN, Unit.PERCENT, 1)
    at = (tmp_path / "kpi.toml").read_text(encoding="utf-8").splitlines().index(
        'unit = "percent"') + 1
    # the year to September 2025 and the year before, 48 crimes each
    line = (f"Error: {tmp_path / 'kpi.toml'}:{at}: KPI 'oc18', key 'unit': {why}; each of "
            "the 96 rows it read is 0 or 1, which its expression does not show")
    for args in (["summary", "--period", "2025-09"], ["show", "oc18", "--period", "2025-09"],
                 ["check", "--period", "2025-09"],
                 ["compare", "--period", "2025-09", "--by", "outcome"],
                 ["export", "markdown", "--period", "2025-09", "--output",
                  tmp_path / "paper.md"]):
        got = cli(["--project", tmp_path, *args])
        assert got.exit_code == ConfigError.exit_code, (args, got.output)
        assert "Traceback" not in got.output
        assert [x for x in got.output.splitlines() if x.startswith("Error:")] == [line], args
        assert "Hint: 1 problem in the project file" in got.output
    assert not (tmp_path / "paper.md").exists()
    with pytest.raises(ConfigError, match="each of the 96 rows it read is 0 or 1"):
        kpi.open(tmp_path / "kpi.toml").summary("2025-09")
    project("closed", "\nmultiplier = 100")
    assert _summary(cli, tmp_path)["oc18"]["current"]["value"] == 25.0
    project("visits")
    assert _summary(cli, tmp_path)["oc18"]["current"]["value"] == 1.0
    project("none")
    assert _summary(cli, tmp_path)["oc18"]["current"]["value"] == 0.0
