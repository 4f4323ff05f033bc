"""Weighted scores look weights up per row: every KPI on the dataset keeps its own rows, and a
weights file that gives one key two weights is refused rather than guessed at."""

from __future__ import annotations

import pytest

from kpi import engine
from kpi.errors import ConfigError
from kpi.periods import Month

PROJECT = """\
[datasets.c]
date = "day"
[datasets.c.columns]
day = "date"
offence = "str"
[[priorities]]
id = "p"
title = "P"
[[kpis]]
id = "crimes"
title = "Crimes"
priority = "p"
kind = "count"
dataset = "c"
[[kpis]]
id = "harm"
title = "Harm"
priority = "p"
kind = "weighted_score"
dataset = "c"
weights = "weights.csv"
weight_key = "offence"
"""


def _project(folder, weights: str, names: tuple[str, str, str] = ("robbery", "burglary",
                                                                   "fraud")):
    from kpi.catalogue import load_project
    from kpi.ingest import load

    (folder / "kpi.toml").write_text(PROJECT, encoding="utf-8")
    (folder / "weights.csv").write_text(weights, encoding="utf-8")
    months = [f"{2023 + (3 + i) // 12}-{(3 + i) % 12 + 1:02d}" for i in range(30)]
    # Each month, April 2023 .. September 2025: one robbery, one burglary and one fraud.
    rows = "".join(f"{m}-0{d},{o}\n" for m in months for d, o in enumerate(names, start=1))
    (folder / "c.csv").write_text("day,offence\n" + rows, encoding="utf-8")
    project = load_project(folder)
    load(project, "c", [str(folder / "c.csv")])
    return project


def test_counts_beside_a_weighted_score_are_the_rows_themselves(tmp_path):
    # fraud has no weight (0); 'arson' has a weight and no rows.
    project = _project(tmp_path, "offence,days\nrobbery,365\nburglary,40\narson,90\n")
    report = engine.evaluate(project, Month.parse("2025-09"))
    crimes, harm = report.result("crimes"), report.result("harm")
    assert (crimes.comparison.value, crimes.current.value) == (36, 36)
    assert (harm.comparison.value, harm.current.value) == (12 * 405.0, 12 * 405.0)


def test_a_key_given_two_weights_is_refused_naming_its_row(tmp_path):
    project = _project(tmp_path, "offence,days\nrobbery,365\nburglary,40\nrobbery,1\n")
    engine._read_weights.cache_clear()
    with pytest.raises(ConfigError) as caught:
        engine.evaluate(project, Month.parse("2025-09"))
    assert caught.value.message == (f"{tmp_path / 'weights.csv'}, row 4, column 'offence': "
                                    "found 'robbery' again")
    assert caught.value.hint == "give each key one weight"


def test_the_cli_reports_a_repeated_weight_key_in_one_line(tmp_path, cli, monkeypatch):
    _project(tmp_path, "offence,days\nrobbery,365\nrobbery,365\n")
    engine._read_weights.cache_clear()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KPI_NO_CACHE", "1")
    result = cli(["summary", "--period", "2025-09"])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == (
        f"Error: {tmp_path / 'weights.csv'}, row 3, column 'offence': found 'robbery' again")


def test_a_weights_file_with_no_rows_is_refused(tmp_path, cli, monkeypatch):
    """Issue 17, break 9: a weights file with only its header weighed every row 0, and the
    harm score read 0 with exit 0."""
    _project(tmp_path, "offence,days\n")
    engine._read_weights.cache_clear()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KPI_NO_CACHE", "1")
    result = cli(["summary", "--period", "2025-09"])
    assert result.exit_code == 3 and result.stdout == ""
    assert result.stderr.splitlines()[0] == (
        f"Error: {tmp_path / 'weights.csv'}: the weights file has no rows with a key (only a "
        "header)")


@pytest.mark.parametrize(("weights", "row"), [
    ("offence,days\nrobbery,365\n,5\n", 3), ("offence,days\n,365\n  ,40\n", 2),
    ("offence,days\nrobbery,365\n\u200b,5\n", 3)])
def test_a_blank_key_is_refused_naming_its_row(tmp_path, cli, monkeypatch, weights, row):
    """'robbery,365' and ',5' beside a year of robberies and of crimes with no offence scored
    only the robberies, exit 0: a blank cell is stored as no value, which no key matches, so
    the blank key's weight weighed nothing. It is refused, naming its row."""
    _project(tmp_path, weights, ("robbery", "", "fraud"))
    engine._read_weights.cache_clear()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KPI_NO_CACHE", "1")
    result = cli(["summary", "--period", "2025-09"])
    assert result.exit_code == 3 and result.stdout == ""
    assert result.stderr.splitlines()[0] == (
        f"Error: {tmp_path / 'weights.csv'}, row {row}, column 'offence': a blank key, whose "
        "weight would weigh no row (a blank cell of the data is stored as no value, which no "
        "key matches)")


@pytest.mark.parametrize("weights", [
    "offence,days\nRobbery,365\nBURGLARY,40\n",          # another case
    "offence,days\nrobbery\u200b,365\n\ufeffburglary,40\n",  # invisible characters
    "offence,days\nrobbery\u00a0,365\nburglary ,40\n",    # a no-break space, a space
])
def test_a_key_written_in_another_case_or_with_invisible_characters_weighs_its_rows(
        tmp_path, weights):
    # 'Robbery' weighed no row of 'robbery': 0 a month where 405, exit 0.
    project = _project(tmp_path, weights)
    engine._read_weights.cache_clear()
    harm = engine.evaluate(project, Month.parse("2025-09")).result("harm")
    assert harm.current.value == 12 * 405.0


def test_one_key_in_two_spellings_is_refused(tmp_path):
    project = _project(tmp_path, "offence,days\nrobbery,365\nburglary,40\nROBBERY,1\n")
    engine._read_weights.cache_clear()
    with pytest.raises(ConfigError) as caught:
        engine.evaluate(project, Month.parse("2025-09"))
    assert caught.value.message == (f"{tmp_path / 'weights.csv'}, row 4, column 'offence': "
                                    "found 'ROBBERY' again (as 'robbery', row 2: two keys that "
                                    "differ only in case, spacing, invisible characters, "
                                    "leading zeros or a point and zeros after a whole number "
                                    "are one)")


def test_keys_are_matched_as_the_values_they_name_whatever_the_spelling(tmp_path):
    """A Home Office code list saved through Excel (008 written 8) weighed every row of
    '008' 0, and a key written with one space weighed the rows stored with two 0, though
    the loader calls such values one (`text.identity_key`): 0.0 where the rows give 1,212
    (12 a month for a year at 100 days, 12 at 1). They match, and '8' beside '008' in one
    file is one key written twice."""
    project = _project(tmp_path, "offence,days\nViolence with injury,100\n8,1\n",
                       names=("Violence  with injury", "008", "fraud"))
    engine._read_weights.cache_clear()
    harm = engine.evaluate(project, Month.parse("2025-09")).result("harm")
    assert harm.current.value == 12 * 100 + 12 * 1
    (tmp_path / "weights.csv").write_text("offence,days\n8,1\n008,2\n", encoding="utf-8")
    engine._read_weights.cache_clear()
    with pytest.raises(ConfigError, match=r"found '008' again \(as '8', row 2"):
        engine.evaluate(project, Month.parse("2025-09"))


@pytest.mark.parametrize("weights", ["offence,days\nRobbery,365\nBurglary,40\n",
                                     "offence,days\nrobbery,365\nBURGLARY,40\n"])
def test_stored_values_in_capitals_weigh_their_rows(tmp_path, weights):
    # Keys were matched in lower case against the stored values as written: the summary's
    # harm score of 'Robbery' and 'Burglary' read 0, exit 0.
    project = _project(tmp_path, weights, ("Robbery", "Burglary", "Fraud"))
    engine._read_weights.cache_clear()
    report = engine.evaluate(project, Month.parse("2025-09"), series=24)
    harm = report.result("harm")
    assert (harm.comparison.value, harm.current.value) == (12 * 405.0, 12 * 405.0)
    monthly = report.monthly["harm"]
    # Each month's score, and its exact pieces (405 whole, no fraction; 405 as a decimal in
    # 10**-9 units), which a sum over months adds (`engine.months_part`).
    pieces = {"n": 405.0, "n" + engine.WHOLES: 405, "n" + engine.UNITS: 0,
              "n" + engine.ORDINARY: False, "n" + engine.DECIMALS: 405 * 10**9}
    assert len(monthly) == 30 and all(parts == pieces for parts in monthly.values())


@pytest.mark.parametrize("weight", ["inf", "nan", "1e400", "two"])
def test_a_weight_that_is_not_a_finite_number_is_refused_naming_its_row(tmp_path, weight):
    # 'inf' and 'nan' read as floats: the score had no figure, blamed on "a division by zero".
    project = _project(tmp_path, f"offence,days\nrobbery,365\nburglary,{weight}\n")
    engine._read_weights.cache_clear()
    with pytest.raises(ConfigError) as caught:
        engine.evaluate(project, Month.parse("2025-09"))
    assert caught.value.message == (f"{tmp_path / 'weights.csv'}, row 3, column 'days': "
                                    "expected a weight that is a finite number, 0 or more, "
                                    f"found '{weight}'")


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig", "utf-16"])
def test_a_weights_file_saved_by_excel_weighs_the_rows_its_keys_name(tmp_path, encoding):
    # Excel's "CSV (Comma delimited)" on a UK machine writes Windows-1252: the en dash of
    # "Assault – ABH" is byte 0x96. Extracts are read by that rule; the weights file was
    # refused ("invalid utf-8 sequence"). By hand: each month one row of each offence, so
    # 12 months weigh 12 * (365 + 40).
    names = ("Assault \u2013 ABH", "Burglary \u2013 residential", "Fraud")
    project = _project(tmp_path, "", names)
    (tmp_path / "weights.csv").write_bytes(
        f"offence,days\n{names[0]},365\n{names[1]},40\n".encode(encoding))
    engine._read_weights.cache_clear()
    harm = engine.evaluate(project, Month.parse("2025-09")).result("harm")
    assert (harm.comparison.value, harm.current.value) == (12 * 405.0, 12 * 405.0)


@pytest.mark.parametrize(("content", "message"), [
    (b"offence,days\nrob\x81ery,365\n",
     "byte 0x81 at offset 16 is not UTF-8 or Windows-1252 text"),
    (b"PK\x03\x04\x14\x00\x06\x00offence,days\n",
     "binary data (a control character, 0x03, at offset 2), not CSV text"),
    # Offsets count the file's bytes, its byte-order mark included.
    (b"\xef\xbb\xbfoffence,days\nrob\x96ery,365\n",
     "byte 0x96 at offset 19 is not UTF-8 text"),
    ("\ufeffoffence,days\nrob\x01ery,365\n".encode("utf-16-le"),
     "binary data (a control character, 0x01, at offset 34), not CSV text"),
])
def test_a_weights_file_that_is_not_text_is_refused_naming_the_byte(tmp_path, content,
                                                                     message):
    project = _project(tmp_path, "offence,days\nrobbery,365\n")
    (tmp_path / "weights.csv").write_bytes(content)
    engine._read_weights.cache_clear()
    with pytest.raises(ConfigError) as caught:
        engine.evaluate(project, Month.parse("2025-09"))
    assert caught.value.message == (f"{tmp_path / 'weights.csv'}: cannot read the weights "
                                    f"file: {message}")
    assert caught.value.hint == "save it as CSV UTF-8 (in Excel: Save As, CSV UTF-8)"


def test_a_population_file_saved_by_excel_reads_its_names(tmp_path):
    # The same rule for every reference file kpi.toml names (`kpi.text.reference_text`): the
    # populations `kpi compare` ranks per 1,000 on, and the paper's glossaries.
    from kpi.compare import read_populations

    path = tmp_path / "population.csv"
    path.write_bytes("area,population,year\nYnys M\u00f4n,69000,2024\n".encode("cp1252"))
    assert path.read_bytes().count(b"\xf4") == 1  # one byte, as Excel writes it
    read_populations.cache_clear()
    assert read_populations(path, "area").rows() == [("ynys m\u00f4n", 69000.0, 2024)]
