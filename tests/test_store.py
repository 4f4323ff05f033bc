"""The store: replace-by-month loads, idempotent re-loads, provenance in the commit metadata,
CSV and Parquet extracts, ISO and UK dates, and column mapping through `from`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest

from kpi import store
from kpi.catalogue import load_project
from kpi.ingest import load
from kpi.periods import Month

PROJECT = """\
[project]
name = "Store test"

[datasets.crimes]
date = "recorded"
[datasets.crimes.columns]
recorded = { type = "date", from = ["Date Recorded", "RecordedDate"] }
lpa = { type = "str", from = ["LPA Name"] }
harm = { type = "float", required = false }

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "crimes"
title = "Crimes"
priority = "p"
kind = "count"
dataset = "crimes"
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "kpi.toml").write_text(PROJECT, encoding="utf-8")
    return load_project(tmp_path)


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def stored(project) -> pl.DataFrame:
    return store.scan(project, "crimes").collect().sort("recorded", "lpa")


def per_month(project) -> dict[str, int]:
    frame = stored(project).group_by("month").len().sort("month")
    return dict(zip(frame["month"].to_list(), frame["len"].to_list(), strict=True))


def test_iso_and_uk_dates_and_mapped_columns_load(project, tmp_path):
    uk = write(tmp_path / "a.csv", "Date Recorded,LPA Name\n31/01/2025,Coventry\n"
                                   "01/02/2025,Dudley\n")
    iso = write(tmp_path / "b.csv", "RecordedDate,LPA Name,harm\n2025-03-15,Walsall,2.5\n")
    result = load(project, "crimes", [uk, iso])
    assert result.rows == 3 and result.months == ["2025-01", "2025-02", "2025-03"]
    frame = stored(project)
    assert [str(d) for d in frame["recorded"].to_list()] == [
        "2025-01-31", "2025-02-01", "2025-03-15"]
    assert frame["lpa"].to_list() == ["Coventry", "Dudley", "Walsall"]
    assert frame["harm"].to_list() == [None, None, 2.5]
    assert [str(m) for m in store.months(project, "crimes")] == ["2025-01", "2025-02", "2025-03"]


def test_parquet_extract_loads_like_the_same_csv(project, tmp_path):
    csv_path = write(tmp_path / "x.csv", "Date Recorded,LPA Name,harm\n2025-01-02,Solihull,1\n"
                                         "2025-02-03,Sandwell,2\n")
    load(project, "crimes", [csv_path])
    from_csv = stored(project)
    parquet = tmp_path / "x.parquet"
    pl.DataFrame({"Date Recorded": ["2025-01-02", "2025-02-03"],
                  "LPA Name": ["Solihull", "Sandwell"], "harm": [1.0, 2.0]}).with_columns(
        pl.col("Date Recorded").str.to_date()).write_parquet(parquet)
    load(project, "crimes", [str(parquet)])
    assert stored(project).equals(from_csv)


def test_revised_month_replaces_what_was_stored(project, tmp_path):
    first = write(tmp_path / "sep.csv", "Date Recorded,LPA Name\n" + "2025-08-01,Dudley\n" * 3
                  + "2025-09-01,Dudley\n" * 4)
    load(project, "crimes", [first])
    assert per_month(project) == {"2025-08": 3, "2025-09": 4}
    # The re-extract covers September only, revised from 4 crimes to 5: August is untouched.
    revised = write(tmp_path / "sep-revised.csv", "Date Recorded,LPA Name\n"
                    + "2025-09-01,Walsall\n" + "2025-09-02,Walsall\n" * 4)
    load(project, "crimes", [revised])
    assert per_month(project) == {"2025-08": 3, "2025-09": 5}
    assert set(stored(project).filter(pl.col("month") == "2025-09")["lpa"]) == {"Walsall"}


def test_a_table_deleted_and_rebuilt_at_the_same_version_is_read_again_in_one_process(
        project, tmp_path):
    """A notebook keeps one process: a table deleted and loaded again is at version 0 once
    more, with other rows, and must not be served from the tables this process opened."""
    import shutil

    load(project, "crimes", [write(tmp_path / "a.csv", "Date Recorded,LPA Name\n"
                                   + "2025-09-01,Dudley\n" * 3)])
    assert per_month(project) == {"2025-09": 3}
    shutil.rmtree(store.table_path(project, "crimes"))
    load(project, "crimes", [write(tmp_path / "b.csv", "Date Recorded,LPA Name\n"
                                   + "2025-09-02,Walsall\n" * 5)])
    assert store.table_version(store.table_path(project, "crimes")) == 0
    assert per_month(project) == {"2025-09": 5}
    assert set(stored(project)["lpa"]) == {"Walsall"}
    assert store.row_count(project, "crimes") == 5


def test_loading_the_same_file_twice_changes_nothing(project, tmp_path):
    path = write(tmp_path / "a.csv", "Date Recorded,LPA Name\n2025-01-01,Dudley\n"
                                     "2025-02-01,Coventry\n")
    first = load(project, "crimes", [path])
    before = stored(project)
    second = load(project, "crimes", [path])
    assert (first.version, second.version) == (0, 0)
    assert (first.unchanged, second.unchanged) == (False, True)
    assert [v.version for v in store.history(project, "crimes")] == [0]
    assert stored(project).equals(before)
    assert before.height == 2


def test_the_same_file_again_after_another_load_is_written(project, tmp_path):
    """Only a repeat of the latest load is skipped: after another extract replaced some of its
    months, loading the first again must restore them."""
    a = write(tmp_path / "a.csv", "Date Recorded,LPA Name\n2025-01-01,Dudley\n")
    b = write(tmp_path / "b.csv", "Date Recorded,LPA Name\n2025-01-05,Walsall\n"
                                  "2025-01-06,Walsall\n")
    load(project, "crimes", [a])
    load(project, "crimes", [b])
    again = load(project, "crimes", [a])
    assert (again.version, again.unchanged) == (2, False)
    assert stored(project)["lpa"].to_list() == ["Dudley"]


def test_a_changed_declaration_reloads_the_same_file(tmp_path):
    """The same bytes under a changed column declaration may load differently: not skipped."""
    (tmp_path / "kpi.toml").write_text(PROJECT, encoding="utf-8")
    path = write(tmp_path / "a.csv", "Date Recorded,LPA Name,harm\n2025-01-01,Dudley,1.5\n")
    load(load_project(tmp_path), "crimes", [path])
    changed = PROJECT.replace('harm = { type = "float", required = false }',
                              'harm = { type = "float", required = false, min = 0 }')
    (tmp_path / "kpi.toml").write_text(changed, encoding="utf-8")
    again = load(load_project(tmp_path), "crimes", [path])
    assert (again.version, again.unchanged) == (1, False)


def test_provenance_is_in_the_commit_metadata(project, tmp_path):
    text = "Date Recorded,LPA Name\n2025-01-01,Dudley\n2025-02-01,Coventry\n2025-02-09,Dudley\n"
    path = write(tmp_path / "jan-feb.csv", text)
    load(project, "crimes", [path])
    other = write(tmp_path / "mar.csv", "Date Recorded,LPA Name\n2025-03-01,Dudley\n")
    load(project, "crimes", [path, other])
    versions = store.history(project, "crimes")
    assert [v.version for v in versions] == [0, 1]
    latest = versions[-1].provenance
    assert latest["dataset"] == "crimes" and latest["operation"] == "ingest"
    assert latest["months"] == ["2025-01", "2025-02", "2025-03"]
    assert latest["rows"] == 4
    # Each source names its file, content hash and rows (further fields may be added).
    assert [{k: s[k] for k in ("file", "sha256", "rows")} for s in latest["sources"]] == [
        {"file": "jan-feb.csv", "sha256": hashlib.sha256(text.encode()).hexdigest(), "rows": 3},
        {"file": "mar.csv",
         "sha256": hashlib.sha256(b"Date Recorded,LPA Name\n2025-03-01,Dudley\n").hexdigest(),
         "rows": 1},
    ]
    assert versions[0].provenance["months"] == ["2025-01", "2025-02"]


def test_earlier_versions_stay_readable(project, tmp_path):
    load(project, "crimes", [write(tmp_path / "a.csv", "Date Recorded,LPA Name\n"
                                                       "2025-01-01,Dudley\n")])
    load(project, "crimes", [write(tmp_path / "b.csv", "Date Recorded,LPA Name\n"
                                                       "2025-01-05,Dudley\n2025-01-06,Dudley\n")])
    assert store.scan(project, "crimes", store.AsOf(version=0)).collect().height == 1
    assert store.scan(project, "crimes").collect().height == 2
    assert store.months(project, "crimes") == [Month.parse("2025-01")]


def test_numbers_with_thousands_separators_and_pounds_load(project, tmp_path):
    path = write(tmp_path / "a.csv", 'Date Recorded,LPA Name,harm\n2025-01-01,Dudley,"1,234.5"\n'
                                     "2025-01-02,Dudley,£12\n2025-01-03,Dudley,\n"
                                     '2025-01-04,Dudley,"£2,000,000"\n')
    load(project, "crimes", [path])
    assert stored(project)["harm"].to_list() == [1234.5, 12.0, None, 2000000.0]


REPLACE_BY = """\
[project]
name = "Replace by force"

[datasets.crimes]
date = "recorded"
replace_by = ["force"]
[datasets.crimes.columns]
recorded = "date"
force = "str"

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "crimes"
title = "Crimes"
priority = "p"
kind = "count"
dataset = "crimes"
"""


def test_replace_by_keeps_other_forces_rows(tmp_path):
    (tmp_path / "kpi.toml").write_text(REPLACE_BY, encoding="utf-8")
    project = load_project(tmp_path)
    a = write(tmp_path / "a.csv", "recorded,force\n2025-01-05,A\n2025-01-06,A\n2025-02-01,A\n")
    quoted = write(tmp_path / "q.csv", "recorded,force\n2025-01-07,O'Brien\n")
    load(project, "crimes", [a])
    load(project, "crimes", [quoted])
    # A's revision of January only: A's February and O'Brien's January stay.
    revised = write(tmp_path / "a2.csv", "recorded,force\n2025-01-09,A\n")
    load(project, "crimes", [revised])
    frame = store.scan(project, "crimes").collect()
    got = frame.group_by("month", "force").len().sort("month", "force").rows()
    assert got == [("2025-01", "A", 1), ("2025-01", "O'Brien", 1), ("2025-02", "A", 1)]


def test_replace_by_must_name_a_text_or_integer_column(tmp_path):
    from kpi.catalogue import validate_project_file

    text = REPLACE_BY.replace('replace_by = ["force"]', 'replace_by = ["nope", "recorded"]')
    (tmp_path / "kpi.toml").write_text(text, encoding="utf-8")
    problems = validate_project_file(tmp_path / "kpi.toml")
    assert len(problems) == 2
    assert all("key 'replace_by'" in p and ":6:" in p for p in problems)


def test_row_count_comes_from_the_log_and_matches_a_scan(project, tmp_path):
    load(project, "crimes", [write(tmp_path / "a.csv", "Date Recorded,LPA Name\n2025-01-01,A\n"
                                                       "2025-01-02,B\n2025-02-01,C\n")])
    load(project, "crimes", [write(tmp_path / "b.csv", "Date Recorded,LPA Name\n2025-02-05,D\n")])
    assert store.row_count(project, "crimes") == stored(project).height == 3
    assert store.row_count(project, "crimes", store.AsOf(version=0)) == 3


STATS_PROJECT = """\
[project]
name = "Statistics"

[datasets.calls]
date = "opened"
[datasets.calls.columns]
opened = "datetime"
handled = { type = "date", required = false }
lpa = { type = "str", required = false }
answered = { type = "bool", required = false }
seconds = { type = "int", required = false }
score = { type = "float", required = false }

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "calls"
title = "Calls"
priority = "p"
kind = "count"
dataset = "calls"
"""


@pytest.mark.parametrize("groups", ["one", "one a row"])
def test_every_add_action_carries_each_columns_bounds_and_nulls(tmp_path, monkeypatch, groups):
    """DuckDB, Spark and Trino skip a data file by the minimum, maximum and null count its
    add action records: each must be the true figure of the file's rows (a text maximum
    longer than Delta keeps is left out, and its minimum is a prefix). The bounds are read
    from the Parquet writer's statistics of each row group: with a row group a row, each
    file's bounds are those of all its groups, and a group of nulls bounds nothing."""
    from deltalake import DeltaTable

    if groups == "one a row":
        monkeypatch.setenv("KPI_INGEST_BATCH_ROWS", "1")
        monkeypatch.setattr(store, "ROW_GROUP", 1)
    (tmp_path / "kpi.toml").write_text(STATS_PROJECT, encoding="utf-8")
    project = load_project(tmp_path)
    long_text = " ".join(["Wolverhampton"] * 4)
    extract = write(tmp_path / "calls.csv", (
        "opened,handled,lpa,answered,seconds,score\n"
        "2025-01-31 23:59:59,2025-02-01,Coventry,Y,30,1.5\n"
        "2025-01-02 08:00:00,,Dudley,N,,-2.25\n"
        "2025-01-15 12:30:00,2025-01-15,,,7,\n"
        f"2025-02-03 00:00:01,2025-02-28,{long_text},Y,-4,0\n"
        "2025-02-10 10:10:10,2025-02-11,Aston,Y,12,3\n"))
    load(project, "calls", [extract])
    actions = pl.DataFrame(DeltaTable(str(tmp_path / "data" / "calls"))
                           .get_add_actions(flatten=True))
    assert actions.height == 2
    if groups == "one a row":
        import pyarrow.parquet as pq

        assert sorted(pq.ParquetFile(tmp_path / "data" / "calls" / path).metadata.num_row_groups
                      for path in actions["path"].to_list()) == [2, 3]
    rows = store.scan(project, "calls").collect()
    columns = ["opened", "handled", "lpa", "answered", "seconds", "score"]
    for action in actions.iter_rows(named=True):
        month = rows.filter(pl.col("month") == action["partition.month"])
        assert action["num_records"] == month.height
        for name in columns:
            values = month[name]
            assert action[f"null_count.{name}"] == values.null_count(), name
            low, high = values.min(), values.max()
            if name == "lpa" and high == long_text:
                assert action[f"min.{name}"] == low[:32]
                assert action.get(f"max.{name}") is None
                continue
            assert action[f"min.{name}"] == low, (name, action["partition.month"])
            assert action[f"max.{name}"] == high, (name, action["partition.month"])


def test_a_text_too_long_for_the_parquet_statistics_leaves_its_columns_bounds_out(tmp_path):
    """The bounds are the Parquet writer's, which records none for a row group holding a value
    of more than 4,096 bytes: that file's add action then gives the column no bounds (never a
    wrong one), and the other columns' and files' bounds as before."""
    from deltalake import DeltaTable

    (tmp_path / "kpi.toml").write_text(STATS_PROJECT, encoding="utf-8")
    project = load_project(tmp_path)
    essay = "Coventry " * 500  # 4,500 bytes
    extract = write(tmp_path / "calls.csv", (
        "opened,handled,lpa,answered,seconds,score\n"
        f"2025-01-31 23:59:59,2025-02-01,{essay},Y,30,1.5\n"
        "2025-01-02 08:00:00,,Dudley,N,,-2.25\n"
        "2025-02-10 10:10:10,2025-02-11,Aston,Y,12,3\n"))
    load(project, "calls", [extract])
    actions = {a["partition.month"]: a for a in pl.DataFrame(
        DeltaTable(str(tmp_path / "data" / "calls")).get_add_actions(flatten=True)
    ).iter_rows(named=True)}
    january, february = actions["2025-01"], actions["2025-02"]
    assert january.get("min.lpa") is None and january.get("max.lpa") is None
    assert january["null_count.lpa"] == 0
    assert (january["min.seconds"], january["max.seconds"]) == (30, 30)
    assert (january["min.score"], january["max.score"]) == (-2.25, 1.5)
    assert (february["min.lpa"], february["max.lpa"]) == ("Aston", "Aston")
