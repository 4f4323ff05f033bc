"""Hostile cases found by trying kpi as a user would, each once a wrong figure with exit 0 or
a traceback: run as `python -m kpi` would run them (tests/inprocess.py), figures worked out by
hand on tiny extracts."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import inprocess
import pytest

WEIGHTED = """\
[datasets.c]
date = "day"
[datasets.c.columns]
day = "date"
band = "int"
offence = "str"
[[priorities]]
id = "p"
title = "P"
[[kpis]]
id = "by_band"
title = "Harm by band"
priority = "p"
kind = "weighted_score"
dataset = "c"
weights = "bands.csv"
weight_key = "band"
[[kpis]]
id = "by_offence"
title = "Harm by offence"
priority = "p"
kind = "weighted_score"
dataset = "c"
weights = "offences.csv"
weight_key = "offence"
"""


def _kpi(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KPI_NO_CACHE": "1", "NO_COLOR": "1"}
    return inprocess.run(args, cwd=folder, env=env)


def _weighted_project(folder: Path, bands: str, offences: str) -> Path:
    (folder / "kpi.toml").write_text(WEIGHTED, encoding="utf-8")
    (folder / "bands.csv").write_text(bands, encoding="utf-8")
    (folder / "offences.csv").write_text(offences, encoding="utf-8")
    months = [f"{2023 + (3 + i) // 12}-{(3 + i) % 12 + 1:02d}" for i in range(30)]
    # Each month, April 2023 .. September 2025: a robbery in band 1 and a burglary in band 2.
    rows = "".join(f"{m}-01,1,robbery\n{m}-02,2,burglary\n" for m in months)
    (folder / "c.csv").write_text("day,band,offence\n" + rows, encoding="utf-8")
    loaded = _kpi(folder, "ingest", "c", "c.csv")
    assert loaded.returncode == 0, loaded.stderr
    return folder


def test_weight_keys_of_an_int_column_match_as_numbers_and_text_keys_are_trimmed(tmp_path):
    # "01" is band 1 and " burglary " is burglary: both used to weigh 0, a score of 0 or a
    # third of the truth, with exit 0.
    _weighted_project(tmp_path, "band,weight\n01,10\n2.0,100\n",
                      "offence,weight\n robbery,5\nburglary ,7\n")
    result = _kpi(tmp_path, "summary", "--period", "2025-09", "--format", "json")
    assert result.returncode == 0, result.stderr
    got = {k["id"]: k["current"]["value"] for k in json.loads(result.stdout)["kpis"]}
    assert got == {"by_band": 12 * (10 + 100), "by_offence": 12 * (5 + 7)}


def test_two_weights_for_one_number_written_two_ways_are_refused(tmp_path):
    _weighted_project(tmp_path, "band,weight\n1,10\n01,20\n", "offence,weight\nrobbery,5\n")
    result = _kpi(tmp_path, "summary", "--period", "2025-09")
    assert result.returncode == 3
    assert result.stderr.splitlines()[0] == (
        f"Error: {tmp_path / 'bands.csv'}, row 3, column 'band': found '1' again")
    assert "Traceback" not in result.stderr


def test_a_weight_key_that_is_not_a_whole_number_for_an_int_column_is_refused(tmp_path):
    _weighted_project(tmp_path, "band,weight\n1,10\nband two,20\n",
                      "offence,weight\nrobbery,5\n")
    result = _kpi(tmp_path, "summary", "--period", "2025-09")
    assert result.returncode == 3
    assert result.stderr.splitlines()[0] == (
        f"Error: {tmp_path / 'bands.csv'}, row 3, column 'band': expected a whole number, "
        "as column 'band' of dataset 'c' holds")


@pytest.mark.parametrize(("offences", "expected"), [
    # saved from a lookup sheet without its heading row: robbery's weight was the heading
    ("robbery,5\nburglary,7\n", "Error: {path}, row 1: the first row ('robbery', '5') reads "
                                 "as a key and its weight, not the columns' names"),
    # a row of more fields than the heading: one line naming the row, not Polars' three
    ("offence,weight\nrobbery,5\nburglary,7,x\n", "Error: {path}, row 3: 3 fields where the "
                                                  "heading has 2"),
    # a quote never closed: one line naming the row, not Polars' parser state
    ('offence,weight\nrobbery,5\n"burglary,7\n', "Error: {path}, row 3: cannot read the "
                                                 "weights file (unexpected end of data"),
    # a weight for each year: the second column was read, 2023's weights for a 2025 score,
    # and the third set aside without a word
    ("offence,weight_2023,weight_2024\nrobbery,5,6\nburglary,7,8\n",
     "Error: {path}: a weights file has two columns, the key and the weight ('offence', "
     "'weight_2023'); it also holds 'weight_2024', which would be set aside"),
    ("offence,year,weight\nrobbery,2024,5\n",
     "Error: {path}: a weights file has two columns, the key and the weight ('offence', "
     "'year'); it also holds 'weight', which would be set aside"),
])
def test_a_weights_file_without_its_heading_row_is_refused(tmp_path, offences, expected):
    """A weights file with no heading row took its first key and weight as the columns'
    names, so that key's rows weighed 0: a harm score of 12 × 7 where its rows give
    12 × (5 + 7), exit 0. Refused, naming the row; and a file Polars cannot read is one line."""
    _weighted_project(tmp_path, "band,weight\n1,10\n2,100\n", offences)
    result = _kpi(tmp_path, "summary", "--period", "2025-09")
    assert result.returncode == 3, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(expected.format(path=tmp_path / "offences.csv")), first
    assert "Traceback" not in result.stderr and result.stderr.count("Error") == 1


ALIASES = """\
[datasets.c]
date = "day"
[datasets.c.columns]
day = { type = "date", from = ["Date"] }
lpa = { type = "str", from = ["LPA", "Area"] }
[[priorities]]
id = "p"
title = "P"
[[kpis]]
id = "coventry"
title = "Coventry"
priority = "p"
kind = "count"
dataset = "c"
filter = "lpa = 'Coventry'"
"""


def test_two_source_columns_meaning_one_column_are_refused(tmp_path):
    # Both 'LPA' and 'Area' are names of column lpa: taking the first one found silently
    # decided which of two disagreeing columns the figures count.
    (tmp_path / "kpi.toml").write_text(ALIASES, encoding="utf-8")
    (tmp_path / "c.csv").write_text("Date,LPA,Area\n2025-09-01,Birmingham,Coventry\n",
                                    encoding="utf-8")
    result = _kpi(tmp_path, "ingest", "c", "c.csv")
    assert result.returncode == 3
    assert result.stderr.splitlines()[0] == (
        "Error: c.csv, row 1, column 'Area': columns 'LPA' and 'Area' both mean column "
        "'lpa' of dataset 'c'")
    assert not (tmp_path / "data" / "c").exists()


def test_a_revised_extract_missing_a_month_inside_its_span_says_the_month_is_kept(tmp_path):
    # A revision of July..September without August replaces July and September only: the
    # stored August stays, and the load now says so instead of passing over it in silence.
    (tmp_path / "kpi.toml").write_text(ALIASES, encoding="utf-8")
    (tmp_path / "c.csv").write_text(
        "Date,LPA\n2025-07-01,Coventry\n2025-08-01,Coventry\n2025-09-01,Coventry\n",
        encoding="utf-8")
    assert _kpi(tmp_path, "ingest", "c", "c.csv").returncode == 0
    (tmp_path / "rev.csv").write_text("Date,LPA\n2025-07-01,Coventry\n2025-09-01,Coventry\n",
                                      encoding="utf-8")
    result = _kpi(tmp_path, "ingest", "c", "rev.csv")
    assert result.returncode == 0, result.stderr
    assert ("Warning: rev.csv: no rows for 2025-08, between its first and last month; "
            "any rows stored for 2025-08 are kept") in result.stderr.splitlines()


DIVIDED = """\
[datasets.c]
date = "day"
[datasets.c.columns]
day = "date"
minutes = "float"
victims = "int"
{derived}
[[priorities]]
id = "p"
title = "P"
[[kpis]]
id = "long"
title = "Long per victim"
priority = "p"
kind = "count"
dataset = "c"
filter = "{condition}"
"""


def _divided_project(folder: Path, condition: str,
                     derived: str = "") -> subprocess.CompletedProcess:
    (folder / "kpi.toml").write_text(DIVIDED.format(condition=condition, derived=derived),
                                     encoding="utf-8")
    months = [f"{2023 + (3 + i) // 12}-{(3 + i) % 12 + 1:02d}" for i in range(30)]
    # Each month: a row with no victims (0 / 0 is NaN), one of 5 minutes for one victim, and
    # one of 3,000 minutes for one victim: only the last is over 1,000 minutes per victim.
    rows = "".join(f"{m}-01,0,0\n{m}-02,5,1\n{m}-03,3000,1\n" for m in months)
    (folder / "c.csv").write_text("day,minutes,victims\n" + rows, encoding="utf-8")
    return _kpi(folder, "ingest", "c", "c.csv")


def test_a_division_by_a_column_inside_a_filter_is_refused_not_counted_as_nan(tmp_path):
    # 0 / 0 is NaN, which Polars ranks above every number: the filter counted the row with no
    # victims as "over 1,000 per victim", 24 where the truth is 12, with exit 0.
    result = _divided_project(tmp_path, "minutes / victims > 1000")
    assert result.returncode == 3, result.stderr
    first = result.stderr.splitlines()[0]
    assert "'long'" in first and "'filter'" in first and "divides by victims" in first
    assert "minutes / NULLIF(victims, 0)" in first
    assert "Traceback" not in result.stderr


def test_a_derived_column_dividing_by_a_column_is_refused(tmp_path):
    result = _divided_project(tmp_path, "per_victim > 1000",
                              '[datasets.c.derived]\nper_victim = "minutes / victims"')
    assert result.returncode == 3, result.stderr
    assert "derived.per_victim" in result.stderr and "NULLIF(victims, 0)" in result.stderr


def test_a_guarded_division_leaves_the_rows_with_a_zero_divisor_out(tmp_path):
    for condition, derived in [("minutes / NULLIF(victims, 0) > 1000", ""),
                               ("per_victim > 1000", '[datasets.c.derived]\n'
                                                     'per_victim = "minutes / NULLIF(victims, 0)"'),
                               ("NOT (minutes / NULLIF(victims, 0) <= 1000)", "")]:
        loaded = _divided_project(tmp_path, condition, derived)
        assert loaded.returncode == 0, loaded.stderr
        result = _kpi(tmp_path, "summary", "--period", "2025-09", "--format", "json")
        assert result.returncode == 0, result.stderr
        (kpi,) = json.loads(result.stdout)["kpis"]
        assert kpi["current"]["value"] == 12, condition  # one row a month, worked by hand


@pytest.mark.parametrize(("text", "expected"), [
    ('part,population,year\n"Alpha,1000000,2023\n',
     "{path}, row 2: cannot read the population file (unexpected end of data: a quote not "
     "closed?)"),
    ("part,population,year\nAlpha,1000000,2023,x\n",
     "{path}, row 2: 4 fields where the heading has 3"),
])
def test_a_population_file_that_is_not_csv_is_one_line_naming_the_row(tmp_path, text,
                                                                       expected):
    """A quote never closed, or a row of more fields than the heading, printed Polars'
    parser state over many lines; one line names the row, as a weights file's does."""
    from kpi.compare import read_populations
    from kpi.errors import ConfigError

    path = tmp_path / "populations.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        read_populations(path, "part")
    assert refused.value.message == expected.format(path=path)
    assert "\n" not in refused.value.message
