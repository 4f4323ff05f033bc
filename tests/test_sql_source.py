"""Datasets read from a database: `source = { uri_env = ..., query = ... }` and
`kpi ingest DATASET --from-source`.

Against SQLite (always) and a real PostgreSQL server that the tests start in a temporary folder
(skipped, saying why, only where PostgreSQL is not installed; .ci/run installs it). Figures are
checked against the database's own count, the load's provenance against the query, and every
failure (no URI, an unknown database, a bad row, a failing query, an unreachable server, a wrong
password) against one line, exit 3, an unchanged store and no credential in any output.
"""

from __future__ import annotations

import glob
import json
import math
import os
import shutil
import socket
import sqlite3
import struct
import subprocess
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import inprocess
import pytest
from hostile_support import snapshot
from hypothesis import given, settings
from hypothesis import strategies as st
from project_toml import head, kpi_block

pytest.importorskip("adbc_driver_sqlite", reason="the sql extra is not installed")

ENV = "KPI_TEST_WAREHOUSE"


def _project_toml(source: str) -> str:
    """The incidents project, its dataset read from `source` (a line of TOML, or none)."""
    return (head("Warehouse", "2025-01", "incidents", {
                "ref": {"type": "str", "from": ["Incident Ref"]},
                "date": {"type": "date", "from": ["Date"]},
                "lpa": {"type": "str", "from": ["LPA"]},
                "victims": {"type": "int", "from": ["Victims"], "min": 0}},
            date="date", unique="ref", replace_by=[], lines=source,
            priority=("safety", "Safety"))
            + kpi_block("incidents", "Incidents recorded", "incidents", priority="safety",
                        kind="count", better="lower")
            + kpi_block("victims", "Victims", "incidents", priority="safety", kind="sum",
                        value="victims", better="lower"))


QUERY = ('SELECT ref AS "Incident Ref", day AS "Date", lpa AS "LPA", victims AS "Victims" '
         "FROM incidents ORDER BY ref")
MONTHS = [f"2024-{m}" for m in (10, 11, 12)] + [f"2025-{m:02d}" for m in range(1, 10)]
ROWS = [(f"R{n:03d}", f"{MONTHS[n % 12]}-{(n % 27) + 1:02d}",
         ("Birmingham", "Coventry", "Dudley")[n % 3], n % 4) for n in range(90)]


def run(project: Path, *args: str, uri: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    env["KPI_NO_CACHE"] = "1"
    if uri is not None:
        env[ENV] = uri
    return inprocess.run(["--project", project, *args], env=env)


def write_project(folder: Path, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kpi.toml").write_text(_project_toml(source), encoding="utf-8")
    return folder


def one_error(stderr: str) -> str:
    lines = stderr.splitlines()
    assert lines and lines[0].startswith("Error: "), stderr
    assert "Traceback" not in stderr, stderr
    assert len(lines) <= 2, stderr  # the error and its hint
    return lines[0]


def summary(project: Path, uri: str | None = None) -> dict[str, float]:
    out = run(project, "summary", "--period", "2025-09", "--format", "json", uri=uri)
    assert out.returncode == 0, out.stderr
    return {k["id"]: k["current"]["value"] for k in json.loads(out.stdout)["kpis"]}


# --- SQLite --------------------------------------------------------------------------------

@pytest.fixture
def sqlite_db(tmp_path) -> Path:
    """A SQLite warehouse in a folder whose name has a space and a non-ASCII letter."""
    folder = tmp_path / "wäre house"
    folder.mkdir()
    path = folder / "warehouse.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE incidents (ref TEXT, day TEXT, lpa TEXT, victims INTEGER)")
        db.executemany("INSERT INTO incidents VALUES (?, ?, ?, ?)", ROWS)
    return path


def sqlite_uri(path: Path) -> str:
    return f"sqlite:///{path}"  # an absolute path: four slashes in all


def oracle(path: Path, sql: str) -> float:
    """The figure as SQLite itself computes it from the rows kpi should have stored."""
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchone()[0]


def test_a_query_loads_and_its_figures_equal_the_databases_own(tmp_path, sqlite_db):
    project = write_project(tmp_path / "my-project", f"source = {{ uri_env = \"{ENV}\", "
                                                     f"query = '{QUERY}' }}")
    out = run(project, "ingest", "incidents", "--from-source", uri=sqlite_uri(sqlite_db))
    assert out.returncode == 0, out.stderr
    assert "Loaded 90 rows into 'incidents' (12 month(s), 2024-10..2025-09)" in out.stderr
    got = summary(project)
    assert got["incidents"] == oracle(sqlite_db, "SELECT count(*) FROM incidents")
    assert got["victims"] == oracle(sqlite_db, "SELECT sum(victims) FROM incidents")


def test_a_query_tells_its_rows_as_they_come_and_never_the_uri(tmp_path, sqlite_db,
                                                               monkeypatch):
    """progress= (kpi.progress) on a query: its rows so far, a batch at a time (SQLite's
    driver gives these 90 rows in one), with no total (the database does not say), named by
    the dataset and never by the connection."""
    import kpi

    project = write_project(tmp_path / "p", f"source = {{ uri_env = \"{ENV}\", "
                                            f"query = '{QUERY}' }}")
    monkeypatch.setenv(ENV, sqlite_uri(sqlite_db))
    steps = []
    result = kpi.open(project).ingest("incidents", from_source=True, progress=steps.append)
    read = [s for s in steps if s.task != "store"]
    assert {(s.task, s.unit, s.total) for s in read} == {
        ("dataset 'incidents' query (kpi.toml)", "rows", None)}
    assert [s.done for s in read] == sorted(s.done for s in read) == [s.rows for s in read]
    assert read[-1].done == 90
    assert steps[-1].task == "store" and steps[-1].done == steps[-1].total == result.rows == 90
    assert str(sqlite_db) not in repr(steps) and "sqlite:" not in repr(steps)


def test_provenance_holds_the_query_and_its_hash_never_the_uri(tmp_path, sqlite_db):
    import hashlib

    project = write_project(tmp_path / "p", f"source = {{ uri_env = \"{ENV}\", "
                                            f"query = '{QUERY}' }}")
    uri = sqlite_uri(sqlite_db)
    assert run(project, "ingest", "incidents", "--from-source", uri=uri).returncode == 0
    from deltalake import DeltaTable

    table = DeltaTable(str(project / "data" / "incidents"))
    commit = (project / "data" / "incidents" / "_delta_log").glob("*.json")
    log = "".join(p.read_text() for p in commit)
    assert str(sqlite_db) not in log and "sqlite:" not in log
    history = table.history()
    loads = [json.loads(h["kpi.load"]) for h in history if "kpi.load" in h]
    source = loads[-1]["sources"][0]
    assert source["query"] == QUERY
    assert source["query_sha256"] == hashlib.sha256(QUERY.encode()).hexdigest()
    assert source["uri_env"] == ENV
    assert source["rows"] == 90


def test_reloading_an_unchanged_result_writes_nothing_and_a_revision_replaces_its_month(
        tmp_path, sqlite_db):
    project = write_project(tmp_path / "p", f"source = {{ uri_env = \"{ENV}\", "
                                            f"query = '{QUERY}' }}")
    uri = sqlite_uri(sqlite_db)
    assert run(project, "ingest", "incidents", "--from-source", uri=uri).returncode == 0
    again = run(project, "ingest", "incidents", "--from-source", uri=uri)
    assert again.returncode == 0 and "Nothing changed: version 0" in again.stderr
    with sqlite3.connect(sqlite_db) as db:  # September revised: two rows recoded, one removed
        db.execute("UPDATE incidents SET victims = victims + 5 WHERE day LIKE '2025-09-%'")
        db.execute("DELETE FROM incidents WHERE ref = (SELECT min(ref) FROM incidents "
                   "WHERE day LIKE '2025-09-%')")
    revised = run(project, "ingest", "incidents", "--from-source", uri=uri)
    assert revised.returncode == 0, revised.stderr
    got = summary(project)
    assert got["incidents"] == oracle(sqlite_db, "SELECT count(*) FROM incidents")
    assert got["victims"] == oracle(sqlite_db, "SELECT sum(victims) FROM incidents")


def test_a_query_file_is_read_from_the_project(tmp_path, sqlite_db):
    project = write_project(tmp_path / "p", f"source = {{ uri_env = \"{ENV}\", "
                                            "query_file = \"queries/incidents.sql\" }")
    (project / "queries").mkdir()
    (project / "queries" / "incidents.sql").write_text(QUERY + "\n", encoding="utf-8")
    out = run(project, "ingest", "incidents", "--from-source", uri=sqlite_uri(sqlite_db))
    assert out.returncode == 0, out.stderr
    assert summary(project)["incidents"] == 90


def test_a_bad_row_names_the_query_row_and_column_and_nothing_is_stored(tmp_path, sqlite_db):
    project = write_project(tmp_path / "p", f"source = {{ uri_env = \"{ENV}\", "
                                            f"query = '{QUERY}' }}")
    with sqlite3.connect(sqlite_db) as db:
        db.execute("UPDATE incidents SET victims = -2 WHERE ref = 'R010'")
    before = snapshot(project)
    out = run(project, "ingest", "incidents", "--from-source", uri=sqlite_uri(sqlite_db))
    assert out.returncode == 3
    line = one_error(out.stderr)
    assert "dataset 'incidents' query (kpi.toml), row 11, column 'Victims'" in line
    assert snapshot(project).same_as(before)



def test_three_slashes_name_a_file_relative_to_the_working_folder(tmp_path, sqlite_db):
    """docs/databases.md: `sqlite:///relative/file.db`, `sqlite:////absolute/file.db`. Three
    slashes and a relative path named the file at the root of the disk ('/warehouse.db'),
    refused as missing, in the error whose hint says three slashes name a relative path. Run
    from the warehouse's folder (a space and a non-ASCII letter in its name), the relative
    URI loads the rows SQLite holds; a relative name that is not there is refused naming the
    file where it was looked for."""
    project = write_project(tmp_path / "my project", f"source = {{ uri_env = \"{ENV}\", "
                                                     f"query = '{QUERY}' }}")
    env = {k: v for k, v in os.environ.items() if k != ENV}
    env |= {"KPI_NO_CACHE": "1", ENV: "sqlite:///warehouse.db"}
    out = inprocess.run(["--project", project, "ingest", "incidents", "--from-source"],
                        env=env, cwd=sqlite_db.parent)
    assert out.returncode == 0, out.stderr
    assert summary(project)["incidents"] == oracle(sqlite_db, "SELECT count(*) FROM incidents")
    env[ENV] = "sqlite:///elsewhere.db"
    missing = inprocess.run(["--project", project, "ingest", "incidents", "--from-source"],
                            env=env, cwd=sqlite_db.parent)
    assert missing.returncode == 3
    assert (f"names a SQLite file that does not exist ({sqlite_db.parent / 'elsewhere.db'})"
            in one_error(missing.stderr)), missing.stderr

@pytest.mark.parametrize(("uri", "expected"), [
    (None, f"the environment variable {ENV} is not set"),
    ("mysql://u:hunter2-pw@db/w", "names a 'mysql' database; kpi reads postgresql, sqlite"),
    ("sqlite:///no/such/file.db", "names a SQLite file that does not exist"),
])
def test_a_missing_or_unknown_database_is_one_line(tmp_path, uri, expected):
    project = write_project(tmp_path / "p", f"source = {{ uri_env = \"{ENV}\", "
                                            f"query = '{QUERY}' }}")
    out = run(project, "ingest", "incidents", "--from-source", uri=uri)
    assert out.returncode == 3
    assert expected in one_error(out.stderr)
    assert "hunter2" not in out.stderr
    assert snapshot(project).version is None


def test_a_failing_query_is_one_line_and_changes_nothing(tmp_path, sqlite_db):
    project = write_project(tmp_path / "p", f"source = {{ uri_env = \"{ENV}\", "
                                            "query = 'SELECT * FROM no_such_table' }")
    out = run(project, "ingest", "incidents", "--from-source", uri=sqlite_uri(sqlite_db))
    assert out.returncode == 3
    line = one_error(out.stderr)
    assert line.startswith("Error: dataset 'incidents' query (kpi.toml): the query failed (")
    assert "no_such_table" in line
    assert snapshot(project).version is None


@pytest.mark.parametrize(("source", "problem"), [
    ('source = { uri = "postgresql://u:pw@h/db", query = "SELECT 1" }',
     "a connection string or credential does not belong in kpi.toml"),
    ('source = { uri_env = "KPI WAREHOUSE", query = "SELECT 1" }', "must name the environment"),
    ('source = { uri_env = "X" }', "give one of query"),
    ('source = { uri_env = "X", query = "SELECT 1", query_file = "q.sql" }', "give one of query"),
    ('source = { uri_env = "X", query_file = "../q.sql" }', "a file inside the project folder"),
])
def test_the_catalogue_refuses_credentials_and_malformed_sources(tmp_path, source, problem):
    project = write_project(tmp_path / "p", source)
    out = run(project, "catalogue")
    assert out.returncode == 3
    assert problem in out.stderr
    assert "pw@" not in out.stderr.replace("postgresql://u:pw@h/db", "")


def test_files_and_from_source_together_are_refused(tmp_path, sqlite_db):
    project = write_project(tmp_path / "p", f"source = {{ uri_env = \"{ENV}\", "
                                            f"query = '{QUERY}' }}")
    (project / "x.csv").write_text("Incident Ref,Date,LPA,Victims\n")
    out = run(project, "ingest", "incidents", str(project / "x.csv"), "--from-source",
              uri=sqlite_uri(sqlite_db))
    assert out.returncode == 2
    assert "--from-source reads the dataset's query" in one_error(out.stderr)


def test_a_dataset_without_a_source_says_how_to_declare_one(tmp_path):
    project = write_project(tmp_path / "p", "")
    out = run(project, "ingest", "incidents", "--from-source")
    assert out.returncode == 2
    assert "dataset 'incidents' declares no database source" in one_error(out.stderr)


# --- PostgreSQL ----------------------------------------------------------------------------

def _postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return versions[-1] if versions else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server of its own, in a temporary folder, on a free local port: a role
    'analyst' with a password (scram-sha-256 over TCP) and a database 'warehouse'."""
    initdb, pg_ctl, psql = (_postgres_bin(n) for n in ("initdb", "pg_ctl", "psql"))
    if not (initdb and pg_ctl and psql):
        pytest.skip("PostgreSQL is not installed (Debian package 'postgresql'; .ci/run "
                    "installs it where apt-get can)")
    prefix: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="kpi-pg-"))
    if os.geteuid() == 0:  # the server refuses to run as root: run it as 'postgres'
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root, and there is no 'postgres' user to run the server")
        os.chown(folder, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = folder / "data"

    def sh(*args: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, *args], capture_output=True, text=True, check=True,
                              timeout=120, **kw)

    sh(initdb, "-D", str(data), "-U", "postgres", "--auth-local=trust",
       "--auth-host=scram-sha-256", "-E", "UTF8")
    sh(pg_ctl, "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
       f"-k {folder} -p {port} -c listen_addresses=127.0.0.1", "start")
    try:
        def sql(statement: str, database: str = "warehouse") -> str:
            return sh(psql, "-h", str(folder), "-p", str(port), "-U", "postgres", "-d",
                      database if "CREATE DATABASE" not in statement else "postgres",
                      "-v", "ON_ERROR_STOP=1", "-At", "-c", statement).stdout

        sql("CREATE DATABASE warehouse")
        sql("CREATE ROLE analyst LOGIN PASSWORD 'Pa55:w@rd/x'")
        sql("CREATE TABLE incidents (ref text, day date, lpa text, victims integer)")
        values = ", ".join(f"('{r}', '{d}', '{lpa}', {v})" for r, d, lpa, v in ROWS)
        sql(f"INSERT INTO incidents VALUES {values}")
        sql("GRANT SELECT ON incidents TO analyst")
        from urllib.parse import quote

        yield {"uri": f"postgresql://analyst:{quote('Pa55:w@rd/x', safe='')}@127.0.0.1:{port}"
                      "/warehouse",
               "password": "Pa55:w@rd/x", "port": port, "sql": sql}
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def test_postgresql_loads_typed_rows_and_equals_its_own_count(tmp_path, postgres):
    project = write_project(tmp_path / "p", f"source = {{ uri_env = \"{ENV}\", "
                                            f"query = '{QUERY}' }}")
    out = run(project, "ingest", "incidents", "--from-source", uri=postgres["uri"])
    assert out.returncode == 0, out.stderr
    got = summary(project)
    assert got["incidents"] == float(postgres["sql"]("SELECT count(*) FROM incidents"))
    assert got["victims"] == float(postgres["sql"]("SELECT sum(victims) FROM incidents"))
    # A revision in the warehouse replaces its month; the rest stay as they were.
    postgres["sql"]("UPDATE incidents SET victims = victims + 1 WHERE day >= '2025-09-01'")
    try:
        assert run(project, "ingest", "incidents", "--from-source",
                   uri=postgres["uri"]).returncode == 0
        assert summary(project)["victims"] == float(
            postgres["sql"]("SELECT sum(victims) FROM incidents"))
    finally:
        postgres["sql"]("UPDATE incidents SET victims = victims - 1 WHERE day >= '2025-09-01'")


@pytest.mark.parametrize("debug", [False, True])
def test_a_wrong_password_is_one_line_with_no_credential_anywhere(tmp_path, postgres, debug):
    project = write_project(tmp_path / "p", f"source = {{ uri_env = \"{ENV}\", "
                                            f"query = '{QUERY}' }}")
    wrong = postgres["uri"].replace("Pa55", "Wr0ng")
    args = ["--debug"] if debug else []
    out = inprocess.run([*args, "--project", project, "ingest", "incidents", "--from-source"],
                        env={**os.environ, ENV: wrong, "KPI_NO_CACHE": "1"})
    assert out.returncode == (1 if debug else 3)  # --debug re-raises, with its traceback
    everything = out.stdout + out.stderr
    for secret in ("Wr0ng", "w@rd", "w%40rd", wrong):
        assert secret not in everything
    if not debug:
        assert "cannot connect to the database" in one_error(out.stderr)
    assert snapshot(project).version is None


def test_an_unreachable_server_and_a_failing_query_change_nothing(tmp_path, postgres):
    project = write_project(tmp_path / "p", f"source = {{ uri_env = \"{ENV}\", "
                                            f"query = '{QUERY}' }}")
    assert run(project, "ingest", "incidents", "--from-source",
               uri=postgres["uri"]).returncode == 0
    before = snapshot(project)
    closed = postgres["uri"].replace(f":{postgres['port']}/", f":{_free_port()}/")
    out = run(project, "ingest", "incidents", "--from-source", uri=closed)
    assert out.returncode == 3, out.stderr
    assert "cannot connect to the database" in one_error(out.stderr)
    assert postgres["password"] not in out.stderr
    broken = write_project(tmp_path / "p", f"source = {{ uri_env = \"{ENV}\", "
                                           "query = 'SELECT nonsense FROM incidents' }")
    out = run(broken, "ingest", "incidents", "--from-source", uri=postgres["uri"])
    assert out.returncode == 3
    assert "the query failed" in one_error(out.stderr)
    assert snapshot(project).same_as(before)


# --- Warehouse types -----------------------------------------------------------------------
# Each type as a warehouse gives it, and the figure kpi prints against the database's own
# (or a refusal in one line, exit 3, nothing stored, where kpi cannot hold the value).

TYPED = """\
[project]
name = "Warehouse types"
baseline = "2025-01"

[datasets.w]
date = "day"
{extra}
source = {{ uri_env = "{env}", query = "{query}" }}

[datasets.w.columns]
ref = "str"
day = "{day}"
{columns}

[[priorities]]
id = "p"
title = "P"

[[kpis]]
id = "k"
title = "K"
priority = "p"
dataset = "w"
better = "lower"
decimals = {decimals}
{kpi}
"""


def typed_project(folder: Path, query: str, columns: str, kpi: str, *, day: str = "date",
                  extra: str = "", decimals: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kpi.toml").write_text(TYPED.format(env=ENV, query=query, columns=columns,
                                                  kpi=kpi, day=day, extra=extra,
                                                  decimals=decimals), encoding="utf-8")
    return folder


def load_and_value(project: Path, uri: str) -> tuple[subprocess.CompletedProcess, float | None]:
    """The load's outcome, and (when it loaded) the KPI's value for the year to 2025-09."""
    out = run(project, "ingest", "w", "--from-source", uri=uri)
    if out.returncode:
        return out, None
    return out, summary(project)["k"]


# A year of days, 2024-10-01 to 2025-09-30: every row in the window of --period 2025-09.
YEAR = "date '2024-10-01' + (g - 1)"


@pytest.fixture(scope="module")
def warehouse(postgres):
    """A table of warehouse types: money (NUMERIC(12,2)), a NUMERIC past a float's digits,
    BIGINT ids past 2**53, BOOLEAN, REAL, INTERVAL and both kinds of timestamp."""
    postgres["sql"](
        "CREATE TABLE typed AS SELECT 'R' || g AS ref, " + YEAR + " AS day, "
        "(CASE WHEN g % 2 = 0 THEN 0.1 ELSE 0.2 END)::numeric(12, 2) AS amount, "
        "12345678901234567.89 + g AS huge, (9007199254740992 + g % 2)::bigint AS id, "
        "g % 3 = 0 AS flag, 1.1::real AS rate, interval '1 hour' * g AS took, "
        "timestamptz '2025-09-30 23:30:00+00' - g * interval '1 day' AS at_tz, "
        "timestamp '2025-09-30 23:30:00' - g * interval '1 day' AS at_naive "
        "FROM generate_series(1, 365) AS g")
    postgres["sql"]("GRANT SELECT ON typed TO analyst")
    return postgres


def test_postgresql_money_is_summed_as_its_text_is(tmp_path, warehouse):
    """NUMERIC(12,2) (which the driver gives as its text) is read as an extract's '0.10' is,
    where it was refused as a column of an unknown type; the figure is the database's sum."""
    project = typed_project(tmp_path / "p", "SELECT ref, day, amount FROM typed",
                            'amount = "float"', 'kind = "sum"\nvalue = "amount"')
    out, value = load_and_value(project, warehouse["uri"])
    assert out.returncode == 0, out.stderr
    exact = Decimal(warehouse["sql"]("SELECT sum(amount) FROM typed").strip())
    assert exact == Decimal("54.80")
    assert value is not None and abs(Decimal(repr(value)) - exact) < Decimal("1e-12")
    shown = run(project, "summary", "--period", "2025-09", "--format", "markdown")
    assert "| K | — | 54.80 |" in shown.stdout, shown.stdout


def test_postgresql_real_is_the_number_the_database_shows(tmp_path, warehouse):
    """A REAL 1.1 is 1.100000023841858 as a float32: read as the '1.1' PostgreSQL prints, its
    year's sum is 401.5 (it was 401.500009, shown as 401.500 only by its rounding)."""
    project = typed_project(tmp_path / "p", "SELECT ref, day, rate FROM typed",
                            'rate = "float"', 'kind = "sum"\nvalue = "rate"', decimals=3)
    out, value = load_and_value(project, warehouse["uri"])
    assert out.returncode == 0, out.stderr
    exact = Decimal(warehouse["sql"]("SELECT sum(rate::numeric) FROM typed").strip())
    assert exact == Decimal("401.5")
    assert value is not None and abs(Decimal(repr(value)) - exact) < Decimal("1e-9")


@pytest.mark.parametrize(("column", "row", "shown"), [
    ("huge", 1, "12345678901234568.89"),  # NUMERIC past a float's 15 digits
    ("id", 1, "9007199254740993"),        # BIGINT past 2**53
])
def test_a_number_a_float_cannot_hold_is_refused_in_a_float_column(tmp_path, warehouse,
                                                                    column, row, shown):
    project = typed_project(tmp_path / "p", f"SELECT ref, day, {column} FROM typed ORDER BY day",
                            f'{column} = "float"', f'kind = "sum"\nvalue = "{column}"')
    before = snapshot(project)
    out, _ = load_and_value(project, warehouse["uri"])
    assert out.returncode == 3
    line = one_error(out.stderr)
    # the conformer's rule, as for a file's text (tests/test_numbers_as_written.py)
    assert f"row {row}, column '{column}': expected a number, found '{shown}', more digits " \
        "than a number column holds: it would be stored as " in line, line
    assert snapshot(project).same_as(before)
    # CAST to double precision in the query: the user accepts the nearest float.
    cast = typed_project(tmp_path / "cast", f"SELECT ref, day, {column}::float8 AS {column} "
                                            "FROM typed", f'{column} = "float"',
                         f'kind = "sum"\nvalue = "{column}"')
    out, value = load_and_value(cast, warehouse["uri"])
    assert out.returncode == 0, out.stderr
    # kpi adds a float column exactly, rounding once (docs/performance.md): math.fsum of the
    # doubles PostgreSQL prints (shortest text that reads back as the same double)
    doubles = warehouse["sql"](f"SELECT {column}::float8 FROM typed").split()
    assert value == math.fsum(map(float, doubles))


def test_bigint_ids_past_2_53_stay_apart_and_sum_exactly(tmp_path, warehouse):
    """Two BIGINT ids one apart past 2**53 are two ids (a float would make them one), and a
    whole-number column's sum is the database's to the unit."""
    only = typed_project(tmp_path / "only", "SELECT id AS ref, day FROM typed WHERE ref IN "
                                            "('R1', 'R2')", "", 'kind = "count"',
                         extra='unique = "ref"')
    out = run(only, "ingest", "w", "--from-source", uri=warehouse["uri"])
    assert out.returncode == 0, out.stderr
    assert "Loaded 2 rows" in out.stderr
    whole = typed_project(tmp_path / "whole", "SELECT ref, day, id FROM typed", 'id = "int"',
                          'kind = "sum"\nvalue = "id"', decimals=0)
    out, value = load_and_value(whole, warehouse["uri"])
    assert out.returncode == 0, out.stderr
    assert value == int(warehouse["sql"]("SELECT sum(id) FROM typed"))


def test_a_boolean_filter_is_the_databases_count_and_a_string_comparison_is_refused(
        tmp_path, warehouse):
    project = typed_project(tmp_path / "p", "SELECT ref, day, flag FROM typed",
                            'flag = "bool"', 'kind = "count"\nfilter = "flag"', decimals=0)
    out, value = load_and_value(project, warehouse["uri"])
    assert out.returncode == 0, out.stderr
    assert value == int(warehouse["sql"]("SELECT count(*) FROM typed WHERE flag"))
    for written in ("flag = 'true'", "flag = 1"):
        refused = typed_project(tmp_path / written.replace("'", "").replace(" ", ""),
                                "SELECT ref, day, flag FROM typed", 'flag = "bool"',
                                f'kind = "count"\nfilter = "{written}"')
        out = run(refused, "ingest", "w", "--from-source", uri=warehouse["uri"])
        assert out.returncode == 3
        assert "which a true/false value never equals as written" in one_error(out.stderr)


@pytest.mark.parametrize(("column", "expected"), [
    # 23:30 UTC on a summer 30th is 00:30 BST on the 1st: the first row falls in October.
    ("at_tz", "SELECT count(*) FROM typed WHERE (at_tz AT TIME ZONE 'Europe/London') "
              "< '2025-10-01' AND (at_tz AT TIME ZONE 'Europe/London') >= '2024-10-01'"),
    ("at_naive", "SELECT count(*) FROM typed WHERE at_naive < '2025-10-01' "
                 "AND at_naive >= '2024-10-01'"),
])
def test_timestamps_fall_in_the_uk_month_the_database_puts_them_in(tmp_path, warehouse,
                                                                   column, expected):
    project = typed_project(tmp_path / "p", f"SELECT ref, {column} AS day FROM typed", "",
                            'kind = "count"', day="datetime", decimals=0)
    # at_naive's first month holds only 30 September 2024's row: a month cut short, which the
    # load refuses without --allow-shrink (and no window of the year to 2025-09 reads)
    out = run(project, "ingest", "w", "--from-source", "--allow-shrink", uri=warehouse["uri"])
    assert out.returncode == 0, out.stderr
    assert summary(project)["k"] == int(warehouse["sql"](expected))


@pytest.mark.parametrize(("expression", "day"), [
    ("CASE WHEN ref = 'R5' THEN 'infinity'::date ELSE day END", "date"),
    ("CASE WHEN ref = 'R5' THEN 'infinity'::timestamptz ELSE at_tz END", "datetime"),
    ("CASE WHEN ref = 'R5' THEN '-infinity'::timestamp ELSE at_naive END", "datetime"),
])
def test_an_infinite_date_is_one_line_naming_its_row(tmp_path, warehouse, expression, day):
    """PostgreSQL's 'infinity' (a date no calendar holds) was a panic in Polars, exit 1."""
    project = typed_project(tmp_path / "p", f"SELECT ref, {expression} AS day FROM typed "
                                            "ORDER BY at_naive DESC", "", 'kind = "count"',
                            day=day)
    out, _ = load_and_value(project, warehouse["uri"])
    assert out.returncode == 3, out.stderr
    assert "row 5, column 'day': found a date outside the years 1 to 9999" in one_error(
        out.stderr)
    assert snapshot(project).version is None
    ignored = typed_project(tmp_path / "q", f"SELECT ref, day, {expression} AS other FROM "
                                            "typed", "", 'kind = "count"', decimals=0)
    out, value = load_and_value(ignored, warehouse["uri"])
    assert out.returncode == 0, out.stderr
    assert value == 365


def test_an_interval_is_refused_where_the_dataset_reads_it_and_ignored_elsewhere(
        tmp_path, warehouse):
    project = typed_project(tmp_path / "p", "SELECT ref, day, took FROM typed",
                            'took = "float"', 'kind = "sum"\nvalue = "took"')
    out, _ = load_and_value(project, warehouse["uri"])
    assert out.returncode == 3
    assert "column 'took': expected a number, found a column of type interval" in one_error(
        out.stderr)
    ignored = typed_project(tmp_path / "q", "SELECT ref, day, took FROM typed", "",
                            'kind = "count"', decimals=0)
    out, value = load_and_value(ignored, warehouse["uri"])
    assert out.returncode == 0, out.stderr
    assert "ignored 1 column(s) not in dataset 'w': took" in out.stderr
    assert value == 365


def test_postgresql_money_type_is_refused_not_read_in_pence(tmp_path, warehouse):
    """The driver gives PostgreSQL's money as whole pence: 1.10 arrived as 110, so a year of
    fees of 1.10 and 2.20 summed to 60,280 where the database says 602.80. Refused, with the
    CAST that reads it, whose sum is the database's."""
    query = "SELECT ref, day, (amount * 11)::money AS fee FROM typed"
    project = typed_project(tmp_path / "p", query, 'fee = "float"',
                            'kind = "sum"\nvalue = "fee"')
    out, _ = load_and_value(project, warehouse["uri"])
    assert out.returncode == 3
    assert "column 'fee': found a column of type money" in one_error(out.stderr)
    assert "fee::numeric AS fee" in out.stderr
    cast = typed_project(tmp_path / "q", "SELECT ref, day, ((amount * 11)::money)::numeric AS "
                                         "fee FROM typed", 'fee = "float"',
                         'kind = "sum"\nvalue = "fee"')
    out, value = load_and_value(cast, warehouse["uri"])
    assert out.returncode == 0, out.stderr
    exact = Decimal(warehouse["sql"]("SELECT sum((amount * 11)::money::numeric) FROM typed"))
    assert exact == Decimal("602.80")
    assert value is not None and abs(Decimal(repr(value)) - exact) < Decimal("1e-9")


def test_postgresql_oid_is_read_unsigned_as_the_database_shows_it(tmp_path, warehouse):
    """An oid is an unsigned 32-bit number, which the driver gives as a signed one: 3000000001
    was stored as -1294967295, so a count of ids from 3,000,000,000 was 0 where the database
    counts 365, exit 0. Read as the number it is, the count and the sum are the database's
    (by hand: 365 × 3,000,000,000 + 1 + 2 + ... + 365 = 1,095,000,066,795)."""
    query = "SELECT ref, day, (3000000000 + substr(ref, 2)::int)::oid AS id FROM typed"
    counted = typed_project(tmp_path / "c", query, 'id = "int"',
                            "kind = \"count\"\nfilter = \"id >= 3000000000\"", decimals=0)
    out, value = load_and_value(counted, warehouse["uri"])
    assert out.returncode == 0, out.stderr
    assert value == 365 == int(warehouse["sql"](
        "SELECT count(*) FROM typed WHERE (3000000000 + substr(ref, 2)::int)::oid::int8 "
        ">= 3000000000"))
    summed = typed_project(tmp_path / "s", query, 'id = "int"',
                           'kind = "sum"\nvalue = "id"', decimals=0)
    out, value = load_and_value(summed, warehouse["uri"])
    assert out.returncode == 0, out.stderr
    assert value == 1_095_000_066_795 == int(warehouse["sql"](
        "SELECT sum((3000000000 + substr(ref, 2)::int)::oid::int8) FROM typed"))


def test_postgresql_regproc_is_refused_not_read_as_its_oid(tmp_path, warehouse):
    """A regproc is printed by PostgreSQL as the function's name ('now'), and given by the
    driver as its oid (1299): refused as a type kpi does not read, with the query's cast to
    its text, as the other reg- types (which the driver gives as bytes) are."""
    project = typed_project(tmp_path / "p", "SELECT ref, day, 'now'::regproc AS fn FROM typed",
                            'fn = "str"', 'kind = "count"', decimals=0)
    out, _ = load_and_value(project, warehouse["uri"])
    assert out.returncode == 3
    assert "column 'fn': expected text, found a column of type regproc" in one_error(out.stderr)
    assert "fn::text AS fn" in out.stderr


def test_an_oid_column_from_the_driver_is_read_unsigned():
    """The driver's Arrow for an oid, without a server: int32 with PostgreSQL's type name in
    the field's metadata. Its values past 2**31 - 1 (and a NULL) read as the database's."""
    import pyarrow as pa

    from kpi.catalogue import ColumnSpec, ColumnType, DatasetSpec
    from kpi.ingest.sql_reader import Query, _as_read

    field_ = pa.field("id", pa.int32(), metadata={b"POSTGRESQL:type": b"oid"})
    values = [1, 2**31 - 1, -1294967295, -1, None]  # 1, 2147483647, 3000000001, 4294967295
    table = pa.table([pa.array(values, pa.int32())], schema=pa.schema([field_]))
    spec = DatasetSpec(id="w", date="day",
                       columns=(ColumnSpec(name="id", type=ColumnType.INT),))
    query = Query(dataset="w", text="SELECT id FROM t", uri_env="W", origin="kpi.toml",
                  label="query")
    read = _as_read(spec, query, table, 0)
    assert read.column("id").to_pylist() == [1, 2147483647, 3000000001, 4294967295, None]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_two_columns_of_one_name_are_refused_in_one_line(tmp_path, sqlite_db, postgres,
                                                         database):
    uri = sqlite_uri(sqlite_db) if database == "sqlite" else postgres["uri"]
    project = write_project(tmp_path / "p", f"source = {{ uri_env = \"{ENV}\", query = "
                                            "'SELECT ref AS \"Incident Ref\", day AS \"Date\", "
                                            "lpa AS \"LPA\", victims AS \"Victims\", "
                                            "victims * 10 AS \"Victims\" FROM incidents' }")
    out = run(project, "ingest", "incidents", "--from-source", uri=uri)
    assert out.returncode == 3
    assert "the query returns two columns named 'Victims'" in one_error(out.stderr)
    assert snapshot(project).version is None


def test_sqlite_flags_are_read_as_one_and_zero_and_a_two_is_refused(tmp_path):
    path = tmp_path / "flags.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE w (ref TEXT, day TEXT, flag INTEGER, amount REAL)")
        db.executemany("INSERT INTO w VALUES (?, date('2024-10-01', ?), ?, ?)",
                       [(f"R{g}", f"+{g} days", int(g % 3 == 0), 0.1) for g in range(365)])
    project = typed_project(tmp_path / "p", "SELECT ref, day, flag FROM w", 'flag = "bool"',
                            'kind = "count"\nfilter = "flag"', decimals=0)
    out, value = load_and_value(project, sqlite_uri(path))
    assert out.returncode == 0, out.stderr
    assert value == oracle(path, "SELECT count(*) FROM w WHERE flag = 1")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE w SET flag = 2 WHERE ref = 'R7'")
    before = snapshot(project)
    out = run(project, "ingest", "w", "--from-source", uri=sqlite_uri(path))
    assert out.returncode == 3
    assert "row 8, column 'flag': expected true/false, yes/no or 1/0, found '2'" in one_error(
        out.stderr)
    assert snapshot(project).same_as(before)


def test_a_date_a_database_holds_as_a_number_is_refused_naming_the_query(tmp_path):
    """A SQLite date kept as a Unix time (INTEGER) is not a date: one line, and a hint that
    speaks of the query, where it spoke of a Parquet file."""
    path = tmp_path / "epoch.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE w (ref TEXT, day INTEGER)")
        db.executemany("INSERT INTO w VALUES (?, ?)", [(f"R{g}", 1727740800 + 86400 * g)
                                                        for g in range(30)])
    project = typed_project(tmp_path / "p", "SELECT ref, day FROM w", "", 'kind = "count"')
    out = run(project, "ingest", "w", "--from-source", uri=sqlite_uri(path))
    assert out.returncode == 3
    assert "column 'day': expected a date" in one_error(out.stderr)
    hint = out.stderr.splitlines()[1]
    assert "CAST the column in it" in hint and "Parquet" not in hint


def test_a_sqlite_column_of_two_types_says_to_cast_it(tmp_path):
    """SQLite's driver types a column from its first rows; a later row of another type stops
    the read. One line naming the column (the driver's message counted it from 0, 'column 2',
    which a reader takes for the second, 'day'), and a hint that says what to write."""
    path = tmp_path / "mixed.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE w (ref TEXT, day TEXT, amount)")
        db.executemany("INSERT INTO w VALUES (?, '2025-09-01', ?)",
                       [(f"R{g}", 15 if g < 1500 else "n/a") for g in range(1501)])
    project = typed_project(tmp_path / "p", "SELECT ref, day, amount FROM w",
                            'amount = "float"', 'kind = "sum"\nvalue = "amount"')
    out = run(project, "ingest", "w", "--from-source", uri=sqlite_uri(path))
    assert out.returncode == 3
    assert one_error(out.stderr) == (
        "Error: dataset 'w' query (kpi.toml), column 'amount': a value of two types: SQLite's "
        "driver typed the column INT64 from its first rows, and a row after row 1,024 holds "
        "text or bytes")
    assert "COALESCE(CAST(amount AS TEXT), '') AS amount" in out.stderr.splitlines()[1]


def test_a_sqlite_column_blank_in_its_first_rows_loads_as_the_hint_says(tmp_path):
    """A REAL column NULL in the driver's first 1,024 rows is typed as whole numbers, and its
    first fraction stops the read (a CAST does not help: the driver types values); the hint's
    query reads it as text, and the sum is SQLite's."""
    path = tmp_path / "blank.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE w (ref TEXT, day TEXT, amount REAL)")
        db.executemany("INSERT INTO w VALUES (?, date('2024-10-01', ?), ?)",
                       [(f"R{g}", f"+{g % 365} days", None if g < 1100 else 0.25 * (g % 7))
                        for g in range(1500)])
    plain = typed_project(tmp_path / "p", "SELECT ref, day, amount FROM w",
                          'amount = { type = "float", required = false }',
                          'kind = "sum"\nvalue = "amount"')
    out = run(plain, "ingest", "w", "--from-source", uri=sqlite_uri(path))
    assert out.returncode == 3 and "column 'amount': a value of two types: SQLite's driver " \
        "typed the column INT64 from its first rows, and a row after row 1,024 holds a " \
        "fraction" in one_error(out.stderr)
    hinted = typed_project(tmp_path / "q", "SELECT ref, day, COALESCE(CAST(amount AS TEXT), "
                                           "'') AS amount FROM w",
                           'amount = { type = "float", required = false }',
                           'kind = "sum"\nvalue = "amount"')
    out, value = load_and_value(hinted, sqlite_uri(path))
    assert out.returncode == 0, out.stderr
    assert value == oracle(path, "SELECT sum(amount) FROM w")


def test_a_column_integer_one_night_and_text_the_next_means_the_same_values(tmp_path):
    """SQLite's ref and victims typed INTEGER one night and TEXT the next: the same ids (so a
    repeated one is still found across the two loads, `unique`) and the same figures."""
    path = tmp_path / "night.db"

    def night(kind: str, rows: list[tuple]) -> None:
        with sqlite3.connect(path) as db:
            db.execute("DROP TABLE IF EXISTS w")
            db.execute(f"CREATE TABLE w (ref {kind}, day TEXT, victims {kind})")
            db.executemany("INSERT INTO w VALUES (?, ?, ?)", rows)

    def days(month: str, first: int, kind: type) -> list[tuple]:
        return [(kind(first + g), f"{month}-{g % 28 + 1:02d}", kind(g % 4)) for g in range(40)]

    project = typed_project(tmp_path / "p", "SELECT ref, day, victims FROM w",
                            'victims = "int"', 'kind = "sum"\nvalue = "victims"',
                            extra='unique = "ref"', decimals=0)
    uri = sqlite_uri(path)
    loaded = []
    for month, first, kind in [(f"2024-{m}", 100 * m, int) for m in (10, 11, 12)] + [
            (f"2025-{m:02d}", 2000 + 100 * m, str) for m in range(1, 10)]:
        night("INTEGER" if kind is int else "TEXT", days(month, first, kind))
        out = run(project, "ingest", "w", "--from-source", uri=uri)
        assert out.returncode == 0, out.stderr
        loaded += days(month, first, int)
    assert summary(project)["k"] == sum(v for _, _, v in loaded)
    # an id stored from an INTEGER night, loaded again as TEXT in another month: refused
    night("TEXT", [("1005", "2025-10-03", "1")])
    before = snapshot(project)
    out = run(project, "ingest", "w", "--from-source", uri=uri)
    assert out.returncode == 3
    assert "1005" in one_error(out.stderr)
    assert snapshot(project).same_as(before)


# --- Session settings ----------------------------------------------------------------------
# A role's or server's TimeZone, DateStyle and extra_float_digits change what a query gives
# (a timestamptz's date, a date written as text, a double written as text); kpi sets them for
# its session, so the figure is the same whatever the role's defaults.



def _with_options(uri: str, options: str | None) -> str:
    """The URI with libpq's `options`, as a role's own defaults (ALTER ROLE ... SET) give;
    None: the server's own (initdb's: UTC here)."""
    if options is None:
        return uri
    from urllib.parse import quote

    return f"{uri}?options={quote(f'-c {options}')}"


@pytest.mark.parametrize("options", [None, "TimeZone=America/New_York"])
def test_a_timestamptz_made_a_date_in_the_query_is_the_uk_date_whatever_the_role(
        tmp_path, warehouse, options):
    """`at_tz::date` is the date in the session's TimeZone: 23:30 UTC on 29 September 2025 is
    30 September in the UK, 29 September in UTC (the server's default here) and New York.
    The session's zone is the dataset's, so the year holds the rows the UK calendar puts in it
    (before, 364 of 365 under the server's UTC: the first row fell in September 2024)."""
    project = typed_project(tmp_path / "p", "SELECT ref, at_tz::date AS day FROM typed", "",
                            'kind = "count"', decimals=0)
    out, value = load_and_value(project, _with_options(warehouse["uri"], options))
    assert out.returncode == 0, out.stderr
    assert value == int(warehouse["sql"](
        "SELECT count(*) FROM typed WHERE (at_tz AT TIME ZONE 'Europe/London')::date "
        "BETWEEN '2024-10-01' AND '2025-09-30'")) == 365


@pytest.mark.parametrize("options", ["TimeZone=America/New_York"])
def test_a_naive_time_made_in_the_query_is_read_in_the_declared_zone_whatever_the_role(
        tmp_path, warehouse, options):
    """`at_tz::timestamp` is the session's wall-clock time; kpi reads it in the dataset's
    time_zone, so the session's zone is that one (declared UTC here: the instants are kept,
    and each row's UK month is the database's)."""
    project = typed_project(tmp_path / "p", "SELECT ref, at_tz::timestamp AS day FROM typed",
                            "", 'kind = "count"', day="datetime", extra='time_zone = "UTC"',
                            decimals=0)
    out, value = load_and_value(project, _with_options(warehouse["uri"], options))
    assert out.returncode == 0, out.stderr
    assert value == int(warehouse["sql"](
        "SELECT count(*) FROM typed WHERE (at_tz AT TIME ZONE 'Europe/London') "
        ">= '2024-10-01' AND (at_tz AT TIME ZONE 'Europe/London') < '2025-10-01'")) == 365


@pytest.mark.parametrize("options", ["DateStyle=SQL,MDY", "DateStyle=German"])
def test_a_date_written_as_text_in_the_query_is_the_same_date_whatever_the_role(
        tmp_path, warehouse, options):
    """`day::text` follows DateStyle: '10/03/2024' under 'SQL, MDY' (3 October, read by kpi
    as 10 March, outside the year) and '03.10.2024' under German. The first twelve days of
    each month only, so that no day above 12 gives the swap away."""
    project = typed_project(tmp_path / "p", "SELECT ref, day::text AS day FROM typed "
                                            "WHERE extract(day FROM day) <= 12", "",
                            'kind = "count"', decimals=0)
    out, value = load_and_value(project, _with_options(warehouse["uri"], options))
    assert out.returncode == 0, out.stderr
    assert value == int(warehouse["sql"](
        "SELECT count(*) FROM typed WHERE extract(day FROM day) <= 12")) == 144


@pytest.mark.parametrize("options", ["extra_float_digits=-3"])
def test_a_double_written_as_text_in_the_query_is_the_double_whatever_the_role(
        tmp_path, warehouse, options):
    """`(x / 3)::text` follows extra_float_digits: -3 writes 12 significant digits, so the
    year's sum was of other numbers than the database's doubles. kpi's sum is math.fsum of
    the doubles the database holds (sent in binary)."""
    project = typed_project(tmp_path / "p", "SELECT ref, day, ((amount::float8 * ref_n) / 3)"
                                            "::text AS share FROM (SELECT *, "
                                            "substr(ref, 2)::int AS ref_n FROM typed) AS s",
                            'share = "float"', 'kind = "sum"\nvalue = "share"', decimals=3)
    out, value = load_and_value(project, _with_options(warehouse["uri"], options))
    assert out.returncode == 0, out.stderr
    import adbc_driver_postgresql.dbapi as driver

    with driver.connect(warehouse["uri"]) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT (amount::float8 * substr(ref, 2)::int) / 3 FROM typed")
        doubles = [row[0] for row in cursor.fetchall()]
    assert value == math.fsum(doubles)


# --- More warehouse types ------------------------------------------------------------------

@pytest.fixture(scope="module")
def more_types(warehouse):
    """uuid ids, times of day, citext, jsonb and an array beside the typed table's days."""
    sql = warehouse["sql"]
    sql("CREATE EXTENSION IF NOT EXISTS citext")
    sql("CREATE TABLE more AS SELECT ref, day, "
        "md5(ref)::uuid AS id, time '08:00' + (substr(ref, 2)::int % 37) * interval '13 "
        "minutes' + (substr(ref, 2)::int % 3) * interval '0.25 seconds' AS at_time, "
        "(CASE WHEN substr(ref, 2)::int % 3 = 0 THEN 'Coventry' ELSE 'Birmingham' END)"
        "::citext AS lpa_ci, to_jsonb(CASE WHEN substr(ref, 2)::int % 3 = 0 THEN 'Coventry' "
        "ELSE 'Birmingham' END) AS lpa_json, ARRAY[substr(ref, 2)::int, 1] AS parts "
        "FROM typed")
    sql("GRANT SELECT ON more TO analyst")
    sql("CREATE TYPE lpa_name AS ENUM ('Birmingham', 'Coventry')")
    sql("CREATE DOMAIN pounds AS numeric(12, 2) CHECK (VALUE >= 0)")
    sql("CREATE TABLE plain AS SELECT ref, day, (CASE WHEN substr(ref, 2)::int % 2 = 0 THEN "
        "'ABC' ELSE 'XY' END)::char(5) AS code, (CASE WHEN substr(ref, 2)::int % 3 = 0 THEN "
        "'Coventry' ELSE 'Birmingham' END)::lpa_name AS lpa, (substr(ref, 2)::int * 0.05)"
        "::pounds AS fee, (substr(ref, 2)::int % 7)::smallint AS small, (substr(ref, 2)::int "
        "/ 8.0)::numeric AS share, ('v' || substr(ref, 2))::varchar(8) AS label FROM typed")
    sql("GRANT SELECT ON plain TO analyst")
    return warehouse


def test_uuid_ids_are_their_canonical_text(tmp_path, more_types):
    """A uuid was refused as a column of an unknown type; it is its text, lowercase and
    hyphenated as PostgreSQL writes it: 365 ids apart, and a filter naming one finds it."""
    one = more_types["sql"]("SELECT id FROM more WHERE ref = 'R7'").strip()
    assert one == one.lower() and one.count("-") == 4
    project = typed_project(tmp_path / "p", "SELECT ref, day, id FROM more", 'id = "str"',
                            f"kind = \"count\"\nfilter = \"id = '{one}'\"",
                            extra='unique = "id"', decimals=0)
    out, value = load_and_value(project, more_types["uri"])
    assert out.returncode == 0, out.stderr
    assert value == int(more_types["sql"](f"SELECT count(*) FROM more WHERE id::text = '{one}'"
                                          )) == 1
    import polars as pl

    stored = pl.read_delta(str(project / "data" / "w"))["id"].sort().to_list()
    assert stored == more_types["sql"]("SELECT id::text FROM more ORDER BY 1").split()


def test_a_time_of_day_is_its_text_and_citext_is_its_text(tmp_path, more_types):
    """A time was refused; it is the text PostgreSQL writes ('08:13:00', '08:26:00.25'), so a
    text filter on it counts what the database counts. citext is its text too."""
    project = typed_project(tmp_path / "p", "SELECT ref, day, at_time, lpa_ci FROM more",
                            'at_time = "str"\nlpa_ci = "str"',
                            "kind = \"count\"\nfilter = \"at_time >= '12:00:00' AND "
                            "lpa_ci = 'Coventry'\"", decimals=0)
    out, value = load_and_value(project, more_types["uri"])
    assert out.returncode == 0, out.stderr
    assert value == int(more_types["sql"](
        "SELECT count(*) FROM more WHERE at_time::text >= '12:00:00' "
        "AND lpa_ci::text = 'Coventry'")) > 0
    import polars as pl

    stored = pl.read_delta(str(project / "data" / "w")).sort("ref")["at_time"].to_list()
    assert stored == more_types["sql"]("SELECT at_time::text FROM more ORDER BY ref").split()


def test_a_time_of_24_00_is_its_text_never_blank(tmp_path, more_types):
    """PostgreSQL's time runs to 24:00:00 (a shift ending at midnight; '23:59:59.9999999'
    rounds up to it). Read through Polars, which holds a time only below 24:00, it was stored
    as no value: shift_end IS NULL counted 73 rows where the database holds none, exit 0. It
    is the text the database writes, as every other time is."""
    sql = more_types["sql"]
    sql("CREATE TABLE shifts AS SELECT ref, day, CASE WHEN substr(ref, 2)::int % 5 = 0 THEN "
        "time '24:00:00' WHEN substr(ref, 2)::int % 5 = 1 THEN time '23:59:59.9999999' "
        "WHEN substr(ref, 2)::int % 5 = 2 THEN time '00:00:00.000001' ELSE time '17:00:00' "
        "END AS shift_end FROM typed")
    sql("GRANT SELECT ON shifts TO analyst")
    project = typed_project(tmp_path / "p", "SELECT ref, day, shift_end FROM shifts",
                            'shift_end = "str"', "kind = \"count\"\nfilter = \"shift_end = "
                            "'24:00:00'\"", decimals=0)
    out, value = load_and_value(project, more_types["uri"])
    assert out.returncode == 0, out.stderr
    assert value == int(sql("SELECT count(*) FROM shifts WHERE shift_end::text = '24:00:00'")
                        ) == 146
    import polars as pl

    stored = pl.read_delta(str(project / "data" / "w")).sort("ref")["shift_end"].to_list()
    assert stored == sql("SELECT shift_end::text FROM shifts ORDER BY ref").split()


def test_a_time_no_database_holds_is_refused_naming_its_row():
    """A time past 24:00:00 from a driver is refused, never made blank."""
    import pyarrow as pa

    from kpi.errors import DataError
    from kpi.ingest import sql_reader

    query = sql_reader.Query("w", "SELECT", ENV, "kpi.toml", "dataset 'w' query (kpi.toml)")
    column = pa.chunked_array([pa.array([0, 86_400_000_001], pa.time64("us"))])
    with pytest.raises(DataError, match=r"row 2, column 't': found a time of day outside"):
        sql_reader._time_text(query, "t", column, True, 0)
    assert sql_reader._time_text(query, "t", column, False, 0).null_count == 2


def _server_real_text(sql, values: list[float]) -> list[str]:
    """PostgreSQL's own real::text of each value (a float4, sent as its exact decimal)."""
    listed = ", ".join(f"'{v!r}'" for v in values)
    return sql(f"SELECT x::real::text FROM unnest(ARRAY[{listed}]::text[]) WITH ORDINALITY "
               "AS t(x, n) ORDER BY n").split("\n")[:len(values)]


def _kpi_real_text(values: list[float]) -> list[str]:
    import numpy as np
    import pyarrow as pa

    from kpi.ingest import sql_reader

    column = pa.chunked_array([pa.array(np.array(values, dtype=np.float32))])
    return sql_reader._numeric_text(sql_reader._real_text(column)).to_pylist()


def test_a_real_in_a_text_column_is_the_text_the_database_writes(tmp_path, more_types):
    """A REAL read into a `str` column was stored as Arrow's text ('1000000', '0.00001'),
    where the database and its CSV export write '1e+06' and '1e-05': a filter code = '1e+06'
    counted 0 rows where the database counts 92, exit 0. It is the database's text,
    44623648 (whose shortest digits PostgreSQL's Ryu does not take halfway to the next
    float4) too."""
    sql = more_types["sql"]
    sql("CREATE TABLE reals AS SELECT ref, day, (ARRAY[1000000, 1000001, 0.00001, 8.1, "
        "44623648, 123456.7, 0.0001, -0.5])[1 + substr(ref, 2)::int % 8]::real AS code "
        "FROM typed")
    sql("GRANT SELECT ON reals TO analyst")
    project = typed_project(tmp_path / "p", "SELECT ref, day, code FROM reals",
                            'code = "str"',
                            "kind = \"count\"\nfilter = \"code = '1e+06'\"", decimals=0)
    out, value = load_and_value(project, more_types["uri"])
    assert out.returncode == 0, out.stderr
    assert value == int(sql("SELECT count(*) FROM reals WHERE code::text = '1e+06'")) > 0
    import polars as pl

    stored = pl.read_delta(str(project / "data" / "w")).sort("ref")
    assert stored["code"].to_list() == sql("SELECT code::text FROM reals ORDER BY ref").split()


def _float4(bits: int) -> float:
    """The float4 of 32 bits, as a Python float (exactly)."""
    return struct.unpack("<f", struct.pack("<I", bits))[0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=40)
       | st.lists(st.integers(0, 2**32 - 1).map(_float4).filter(math.isfinite), min_size=1,
                  max_size=40))
def test_every_real_is_the_text_the_database_writes(postgres, values):
    """Any float4 (drawn as a float, and as any 32 bits), against the server's own
    real::text."""
    assert _kpi_real_text(values) == _server_real_text(postgres["sql"], values)


def test_reals_halfway_and_at_the_edges_are_the_text_the_database_writes(postgres):
    """The float4s whose Arrow digits fall halfway to the next (44623648), powers of ten
    either side of where PostgreSQL turns to e+XX, whole numbers to 2**24, and the ends of
    the range, against the server's own real::text."""
    import numpy as np

    values = [44623648.0, -64311768.0, 3.4028234663852886e38, 1.401298464324817e-45,
              1.1754943508222875e-38, 16777216.0, 16777215.0, 999999.9375, 0.0001, 1e-05,
              *(float(np.float32(10.0 ** p)) for p in range(-45, 39)),
              *(float(np.float32(v)) for v in range(999_990, 1_000_010)),
              *(float(np.float32(v) / 1000) for v in range(1, 2000, 7))]
    assert _kpi_real_text(values) == _server_real_text(postgres["sql"], values)


def test_json_is_refused_where_the_dataset_reads_it_and_the_hint_reads_it(tmp_path,
                                                                         more_types):
    """jsonb's text of the string Coventry is '"Coventry"': loaded as it was, a filter
    lpa = 'Coventry' counted 0 rows of 121, exit 0. Refused in one line; the hint's query
    gives the database's count."""
    kpi = "kind = \"count\"\nfilter = \"lpa = 'Coventry'\""
    project = typed_project(tmp_path / "p", "SELECT ref, day, lpa_json AS lpa FROM more",
                            'lpa = "str"', kpi, decimals=0)
    out, _ = load_and_value(project, more_types["uri"])
    assert out.returncode == 3
    assert "column 'lpa': expected text, found a column of type jsonb" in one_error(out.stderr)
    assert "lpa #>> '{}' AS lpa" in out.stderr
    assert snapshot(project).version is None
    hinted = typed_project(tmp_path / "q", "SELECT ref, day, lpa_json #>> '{}' AS lpa FROM more",
                           'lpa = "str"', kpi, decimals=0)
    out, value = load_and_value(hinted, more_types["uri"])
    assert out.returncode == 0, out.stderr
    assert value == int(more_types["sql"](
        "SELECT count(*) FROM more WHERE lpa_json #>> '{}' = 'Coventry'")) == 121


def test_an_array_is_refused_with_the_expression_that_reads_it(tmp_path, more_types):
    project = typed_project(tmp_path / "p", "SELECT ref, day, parts FROM more",
                            'parts = "str"', 'kind = "count"', decimals=0)
    out, _ = load_and_value(project, more_types["uri"])
    assert out.returncode == 3
    assert "column 'parts': expected text, found a column of type _int4" in one_error(
        out.stderr)
    assert "array_to_string(parts, ',') AS parts" in out.stderr


@pytest.mark.parametrize(("column", "declared", "kpi", "expected"), [
    # char(5) is blank-padded ('ABC  '): stripped, a filter's 'ABC' finds it, as the database's
    # own comparison of char(n) does
    ("code", "str", "kind = \"count\"\nfilter = \"code = 'ABC'\"",
     "SELECT count(*) FROM plain WHERE code = 'ABC'"),
    ("lpa", "str", "kind = \"count\"\nfilter = \"lpa = 'Coventry'\"",
     "SELECT count(*) FROM plain WHERE lpa = 'Coventry'"),
    ("fee", "float", 'kind = "sum"\nvalue = "fee"', "SELECT sum(fee) FROM plain"),
    ("small", "int", 'kind = "sum"\nvalue = "small"', "SELECT sum(small) FROM plain"),
    ("share", "float", 'kind = "sum"\nvalue = "share"', "SELECT sum(share) FROM plain"),
    ("label", "str", "kind = \"count\"\nfilter = \"label IN ('v1', 'v10', 'v100')\"",
     "SELECT count(*) FROM plain WHERE label IN ('v1', 'v10', 'v100')"),
])
def test_text_and_number_types_a_warehouse_has_are_the_databases_figures(
        tmp_path, more_types, column, declared, kpi, expected):
    """char(n), an enum, a domain over numeric, smallint, numeric without a scale and
    varchar, each against the database's own figure (docs/databases.md's table)."""
    project = typed_project(tmp_path / "p", f"SELECT ref, day, {column} FROM plain",
                            f'{column} = "{declared}"', kpi, decimals=3)
    out, value = load_and_value(project, more_types["uri"])
    assert out.returncode == 0, out.stderr
    exact = Decimal(more_types["sql"](expected).strip())
    assert value is not None and abs(Decimal(repr(value)) - exact) < Decimal("1e-9"), (value,
                                                                                      exact)


# --- Dates and instants: every way a query gives one, against the same rows as a CSV --------

_UK_MONTH = "to_char({} AT TIME ZONE 'Europe/London', 'YYYY-MM')"


@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York"])
@pytest.mark.parametrize(("expression", "declared", "month"), [
    # an instant: its UK month, whatever the zone (the dataset's zone reads times without one)
    ("at_tz", "date", _UK_MONTH.format("at_tz")),
    ("at_tz", "datetime", _UK_MONTH.format("at_tz")),
    ("at_tz::text", "date", _UK_MONTH.format("at_tz")),
    ("at_tz::text", "datetime", _UK_MONTH.format("at_tz")),
    # made a date or a wall-clock time in the query: the dataset's zone's, as its system
    # would have written it in an extract
    ("at_tz::date", "date", "to_char((at_tz AT TIME ZONE '{zone}')::date, 'YYYY-MM')"),
    ("at_tz::date::text", "month", "to_char((at_tz AT TIME ZONE '{zone}')::date, 'YYYY-MM')"),
    ("at_tz::timestamp", "datetime", _UK_MONTH.format("at_tz")),
    ("at_naive", "datetime", _UK_MONTH.format("(at_naive AT TIME ZONE '{zone}')")),
    ("at_naive::text", "datetime", _UK_MONTH.format("(at_naive AT TIME ZONE '{zone}')")),
    ("at_naive", "date", "to_char(at_naive, 'YYYY-MM')"),
    ("day", "date", "to_char(day, 'YYYY-MM')"),
    ("day::text", "month", "to_char(day, 'YYYY-MM')"),
    ("day", "datetime", _UK_MONTH.format("(day::timestamp AT TIME ZONE '{zone}')")),
])
def test_each_row_of_a_date_or_instant_lands_in_the_month_of_the_same_rows_in_a_csv(
        tmp_path, warehouse, expression, declared, month, zone):
    """A date, timestamp or timestamptz, as it is or as its text, made a date in the query or a
    timestamptz declared a date: read from a role whose own TimeZone is Tokyo's, each row is
    stored in the month the database itself gives (an instant's UK month; a date's or a
    wall-clock time's in the dataset's zone), and in the month the same rows written as a CSV
    by the same database in the dataset's zone are stored in. A wall-clock time of another
    zone than the UK's in a `date` column, whose UK date is another than the one written, is
    refused by both (it was stored on the date written, a month the instant is not in); so is
    an instant the database writes with that zone's offset whose UK date is another than the
    date written (it was stored on its UK date, which a load of the zone's next month would
    replace unseen)."""
    extra = "" if zone == "Europe/London" else f'time_zone = "{zone}"'
    source = typed_project(tmp_path / "q", f"SELECT ref, {expression} AS day FROM typed", "",
                           'kind = "count"', day=declared, extra=extra, decimals=0)
    # (--allow-shrink: a first month holding only 30 September 2024's row is cut short)
    out = run(source, "ingest", "w", "--from-source", "--allow-shrink",
              uri=_with_options(warehouse["uri"], "TimeZone=Asia/Tokyo"))
    refused = (expression in ("at_naive", "at_tz", "at_tz::text") and declared == "date"
               and zone != "Europe/London")
    assert out.returncode == (3 if refused else 0), out.stderr
    lines = warehouse["sql"](f"SET TimeZone = '{zone}'; SELECT ref || ',' || ({expression})"
                             "::text FROM typed").split("\n")
    extract = tmp_path / "w.csv"
    extract.write_text("ref,day\n" + "\n".join(line for line in lines if "," in line) + "\n",
                       encoding="utf-8")
    from_csv = typed_project(tmp_path / "c", "SELECT 1", "", 'kind = "count"', day=declared,
                             extra=extra, decimals=0)
    csv_out = run(from_csv, "ingest", "w", str(extract))
    if refused:
        for done in (out, csv_out):
            assert done.returncode == 3, done.stdout
            assert (f"a time in {zone} whose UK date is" if expression == "at_naive"
                    else "an instant whose UK date is") in done.stderr
            assert "Traceback" not in done.stderr
        return
    assert csv_out.returncode == 0, csv_out.stderr
    import polars as pl

    def months(project: Path) -> dict[str, str]:
        return dict(pl.read_delta(str(project / "data" / "w")).select("ref", "month").rows())

    expected = dict(line.split(",") for line in warehouse["sql"](
        f"SELECT ref || ',' || {month.format(zone=zone)} FROM typed").split())
    assert months(source) == expected
    assert months(from_csv) == expected


def test_a_month_truncated_in_the_query_is_the_uk_month_or_refused_in_another_zone(
        tmp_path, warehouse):
    """`date_trunc('month', at_tz)` in a `month` column: in a UK dataset the UK month's first
    midnight, stored as the month the database gives; in a dataset of another zone that
    midnight is a time of day in the UK, refused in one line (declare the column `datetime`)."""
    expression = "date_trunc('month', at_tz)"
    source = typed_project(tmp_path / "uk", f"SELECT ref, {expression} AS day FROM typed", "",
                           'kind = "count"', day="month", decimals=0)
    # (--allow-shrink: a first month holding only 30 September 2024's row is cut short)
    out = run(source, "ingest", "w", "--from-source", "--allow-shrink",
              uri=_with_options(warehouse["uri"], "TimeZone=Asia/Tokyo"))
    assert out.returncode == 0, out.stderr
    import polars as pl

    stored = dict(pl.read_delta(str(source / "data" / "w")).select("ref", "month").rows())
    expected = dict(line.split(",") for line in warehouse["sql"](
        "SET TimeZone = 'Europe/London'; SELECT ref || ',' || "
        f"to_char({expression}, 'YYYY-MM') FROM typed").split() if "," in line)
    assert stored == expected
    other = typed_project(tmp_path / "ny", f"SELECT ref, {expression} AS day FROM typed", "",
                          'kind = "count"', day="month", extra='time_zone = "America/New_York"',
                          decimals=0)
    out = run(other, "ingest", "w", "--from-source", uri=warehouse["uri"])
    assert out.returncode == 3, out.stdout
    assert "time of day" in out.stderr and len(out.stderr.strip().splitlines()) <= 2, out.stderr
    assert "Traceback" not in out.stderr


# --- Numbers and their text: the value the database holds, or a refusal naming the column ---

@pytest.mark.parametrize(("expression", "declared", "refused"), [
    ("'NaN'::numeric", "str", "expected text, found 'NaN', which a data frame or a database "
                              "writes for a number that is not one"),
    ("'Infinity'::numeric", "str", None),
    ("'-Infinity'::real", "str", None),
    ("'NaN'::numeric", "float", "expected a number, found 'NaN'"),
    ("'-Infinity'::numeric", "float", "expected a number, found '-Infinity'"),
    ("'Infinity'::real", "float", "expected a number, found 'Infinity'"),
    ("'NaN'::numeric", "int", "expected a whole number, found 'NaN'"),
    ("'Infinity'::double precision", "float", "expected a number, found 'inf'"),
    ("123456789012345678901234567890::numeric", "str", None),
    ("123456789012345678901234567890::numeric", "int",
     "expected a whole number, found '123456789012345678901234567890'"),
    ("9223372036854775807::numeric", "int", None),
    ("1234.5::numeric::text", "float", None),
    ("(1 / 3::numeric)::text", "str", None),
    ("to_char(1234.5, 'FM9G999D00')", "float", None),
    ("12.5::money::text", "float", "expected a number, found '$12.50'"),
])
def test_a_number_is_stored_as_the_database_holds_it_or_refused_naming_its_column(
        tmp_path, warehouse, expression, declared, refused):
    """numeric NaN and the infinities (which the driver writes 'nan' and 'inf'), a numeric of 30
    digits, a numeric made text in the query, to_char's separators (lc_numeric is C in kpi's
    session) and money as text, each against the database's own text of the value, from a role
    whose extra_float_digits is -3: in a text column the database's text ('Infinity'), in a
    number column the same number, or refused in one line naming the column. NaN is no value
    in a text column either: stored as 'NaN', `x IS NOT NULL` counted it."""
    project = typed_project(tmp_path / "p", f"SELECT ref, day, {expression} AS x FROM typed "
                                            "WHERE ref = 'R1'", f'x = "{declared}"',
                            'kind = "count"', decimals=0)
    out = run(project, "ingest", "w", "--from-source",
              uri=_with_options(warehouse["uri"], "extra_float_digits=-3"))
    if refused is not None:
        assert out.returncode == 3, out.stderr
        assert f"row 1, column 'x': {refused}" in one_error(out.stderr)
        assert snapshot(project).version is None
        return
    assert out.returncode == 0, out.stderr
    import polars as pl

    stored = pl.read_delta(str(project / "data" / "w"))["x"].to_list()
    held = warehouse["sql"](f"SELECT ({expression})::text").strip()
    if declared == "str":
        assert stored == [held]
    else:
        number = Decimal(held.replace(",", ""))
        assert stored == [int(number) if declared == "int" else float(number)]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_read_stopped_mid_way_closes_its_statement_before_its_connection(
        tmp_path, sqlite_db, postgres, monkeypatch, database):
    """A load refused mid-read leaves the reader's generator suspended with more rows to come;
    when it is collected as part of a reference cycle (a refusal's traceback holds its frame),
    the driver manager's list of the connection's open cursors (weak references) is already
    empty, and closing the connection before the statement raised "Cannot close
    AdbcConnection with open AdbcStatement", printed as "Exception ignored" after kpi's error
    and hint. Every path now closes the cursor (its statement and reader) first: nothing is
    left to print, and the connection is closed."""
    import gc
    import types

    from kpi.catalogue import parse_project_file
    from kpi.ingest import sql_reader

    uri = sqlite_uri(sqlite_db) if database == "sqlite" else postgres["uri"]
    project = write_project(tmp_path / "p", f"source = {{ uri_env = \"{ENV}\", "
                                            f"query = '{QUERY}' }}")
    spec = parse_project_file(project / "kpi.toml").datasets["incidents"]
    monkeypatch.setenv(ENV, uri)
    monkeypatch.setenv("KPI_INGEST_BATCH_ROWS", "10")  # handed out at the driver's first batch
    opened: list = []
    connect = sql_reader._connect
    monkeypatch.setattr(sql_reader, "_connect",
                        lambda query: opened.append(connect(query)) or opened[-1])
    ignored: list = []
    monkeypatch.setattr("sys.unraisablehook", ignored.append)
    batches, _ = sql_reader.query_batches(spec, sql_reader.query_of(spec, project),
                                          types.SimpleNamespace(warnings=[]),  # type: ignore[arg-type]
                                          sql_reader.QueryRead())
    first = next(iter(batches))
    # The driver's first batch (all 90 rows), handed out before the reader has seen its end.
    assert first["Incident Ref"].to_list() == [r[0] for r in ROWS]
    cycle: list = [batches]
    cycle.append(cycle)
    del batches, cycle
    gc.collect()
    assert [str(u.exc_value) for u in ignored] == []
    assert len(opened) == 1 and opened[0]._closed


# --- Text as the database writes it ------------------------------------------------------

@pytest.mark.parametrize(("expression", "filtered"), [
    ("(substr(ref, 2)::int % 20)::float8", "12"),          # a double: 12, not 12.0
    ("(substr(ref, 2)::int % 20)::float8 / 4e8", "7.5e-09"),  # 7.5e-09, not 7.5e-9
    ("at_naive", "2025-09-29 23:30:00"),                    # not '... 23:30:00.000000'
    ("at_tz", "2025-09-30 00:30:00+01"),                    # the instant as the session writes it
])
def test_a_double_or_a_time_in_a_text_column_is_refused_and_its_cast_is_the_databases_text(
        tmp_path, warehouse, expression, filtered):
    """A double or a time read into a `str` column was stored as kpi writes it ('12.0',
    '7.5e-9', '2025-09-29 23:30:00.000000'), not as the database does, so a filter
    beat = '12' counted 0 rows where the database counts 18, exit 0 (and a part loaded from
    the database's CSV was another part). Refused in one line naming the column; the CAST its
    hint gives stores the database's text, and the filter counts the database's rows."""
    kpi = f"kind = \"count\"\nfilter = \"x = '{filtered}'\""
    project = typed_project(tmp_path / "p", f"SELECT ref, day, {expression} AS x FROM typed",
                            'x = "str"', kpi, decimals=0)
    out, _ = load_and_value(project, warehouse["uri"])
    assert out.returncode == 3, out.stderr
    assert "column 'x': expected text, found a column of type" in one_error(out.stderr)
    assert "CAST(x AS TEXT) AS x" in out.stderr
    assert snapshot(project).version is None
    cast = typed_project(tmp_path / "cast", f"SELECT ref, day, CAST({expression} AS TEXT) AS x "
                                            "FROM typed", 'x = "str"', kpi, decimals=0)
    out, value = load_and_value(cast, warehouse["uri"])
    assert out.returncode == 0, out.stderr
    # the database's own count, in a session of the dataset's zone as kpi's is
    expected = int(warehouse["sql"](f"SET TimeZone = 'Europe/London'; SELECT count(*) FROM "
                                    f"typed WHERE CAST({expression} AS TEXT) = '{filtered}'"
                                    ).split()[-1])
    assert value == expected > 0


def test_a_sqlite_real_in_a_text_column_is_refused_and_its_cast_is_sqlites_text(tmp_path):
    path = tmp_path / "w.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE w (ref TEXT, day TEXT, beat REAL)")
        db.executemany("INSERT INTO w VALUES (?, ?, ?)",
                       [(f"R{n}", f"2025-09-{n % 28 + 1:02d}", n % 20) for n in range(100)])
    kpi = "kind = \"count\"\nfilter = \"beat = '12.0'\""
    project = typed_project(tmp_path / "p", "SELECT ref, day, beat FROM w", 'beat = "str"', kpi,
                            decimals=0)
    out = run(project, "ingest", "w", "--from-source", uri=sqlite_uri(path))
    assert out.returncode == 3, out.stderr
    assert "column 'beat': expected text, found a column of type double" in one_error(
        out.stderr)
    cast = typed_project(tmp_path / "cast", "SELECT ref, day, CAST(beat AS TEXT) AS beat FROM w",
                         'beat = "str"', kpi, decimals=0)
    assert run(cast, "ingest", "w", "--from-source", uri=sqlite_uri(path)).returncode == 0
    import polars as pl

    stored = pl.read_delta(str(cast / "data" / "w")).sort("ref")["beat"].to_list()
    assert stored == [row[0] for row in sqlite3.connect(path).execute(
        "SELECT CAST(beat AS TEXT) FROM w ORDER BY ref")]


@pytest.fixture(scope="module")
def legacy(postgres):
    """A SQL_ASCII database, which keeps the bytes it is given as they are: Windows-1252's
    'Café' (0xe9) in every third row of a year."""
    sql = postgres["sql"]
    sql("CREATE DATABASE legacy ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' "
        "TEMPLATE template0")
    sql("CREATE TABLE places AS SELECT 'R' || g AS ref, " + YEAR + " AS day, CASE WHEN g % 3 = 0 "
        "THEN E'Caf\\xe9' WHEN g % 3 = 1 THEN 'Abbey' ELSE 'Zoo' END AS lpa "
        "FROM generate_series(1, 365) AS g", "legacy")
    sql("GRANT SELECT ON places TO analyst", "legacy")
    return {**postgres, "uri": postgres["uri"].replace("/warehouse", "/legacy")}


def test_text_that_is_not_utf8_is_refused_naming_its_row_and_its_hint_reads_it(tmp_path,
                                                                               legacy):
    """A SQL_ASCII database hands on Windows-1252 bytes as they are: stored, they loaded
    (exit 0) and left the table unreadable ('parquet: String data contained invalid UTF-8'
    on every later summary, exit 3; a traceback, exit 1, where the value was the column's
    largest). Refused in one line naming the row; a column the dataset ignores loads blank;
    the hint's conversion counts the database's rows."""
    kpi = "kind = \"count\"\nfilter = \"lpa = 'Café'\""
    project = typed_project(tmp_path / "p", "SELECT ref, day, lpa FROM places ORDER BY day",
                            'lpa = "str"', kpi, decimals=0)
    out, _ = load_and_value(project, legacy["uri"])
    assert out.returncode == 3, out.stderr
    line = one_error(out.stderr)
    assert "row 3, column 'lpa': found text that is not UTF-8 ('Caf\\xe9', byte 0xe9)" in line
    assert snapshot(project).version is None
    ignored = typed_project(tmp_path / "q", "SELECT ref, day, lpa FROM places", "",
                            'kind = "count"', decimals=0)
    out, value = load_and_value(ignored, legacy["uri"])
    assert out.returncode == 0, out.stderr
    assert value == 365
    hinted = typed_project(tmp_path / "r", "SELECT ref, day, convert_from(convert(lpa::bytea, "
                                           "'WIN1252', 'UTF8'), 'UTF8') AS lpa FROM places",
                           'lpa = "str"', kpi, decimals=0)
    out, value = load_and_value(hinted, legacy["uri"])
    assert out.returncode == 0, out.stderr
    assert value == int(legacy["sql"]("SELECT count(*) FROM places WHERE lpa = E'Caf\\xe9'",
                                      "legacy")) == 121


def test_sqlite_text_that_is_not_utf8_is_refused_naming_its_row(tmp_path):
    path = tmp_path / "w.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE w (ref TEXT, day TEXT, lpa TEXT)")
        db.executemany("INSERT INTO w VALUES (?, ?, ?)",
                       [(f"R{n}", f"2025-09-{n % 28 + 1:02d}", "Zoo") for n in range(10)])
        db.execute("UPDATE w SET lpa = CAST(X'436166E9' AS TEXT) WHERE ref = 'R4'")
    project = typed_project(tmp_path / "p", "SELECT ref, day, lpa FROM w ORDER BY ref",
                            'lpa = "str"', 'kind = "count"', decimals=0)
    out = run(project, "ingest", "w", "--from-source", uri=sqlite_uri(path))
    assert out.returncode == 3, out.stderr
    assert "row 5, column 'lpa': found text that is not UTF-8" in one_error(out.stderr)
    assert snapshot(project).version is None


# --- A result cut short within a month ----------------------------------------------------

def _a_year_of_days(tmp_path, request, database: str) -> str:
    """The URI of a database whose table `typed` holds a row a day, `ref` and `day`, for the 365
    days from 1 October 2024: a SQLite file made here, or the PostgreSQL warehouse's (YEAR)."""
    if database != "sqlite":
        return request.getfixturevalue("warehouse")["uri"]
    path = tmp_path / "w.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE typed (ref TEXT, day TEXT)")
        db.executemany("INSERT INTO typed VALUES (?, ?)", [
            (f"R{n}", (date(2024, 10, 1) + timedelta(days=n)).isoformat()) for n in range(365)])
    return sqlite_uri(path)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_result_cut_short_within_its_first_month_is_refused(tmp_path, request, database):
    """A nightly query over a rolling window (`day >= current_date - 365`) holds its first
    month only from that day. Loaded over the stored whole month, it replaced October's 31
    rows with 21: the year ending September 2025 read 355 where the database holds 365, exit
    0 (one day fewer each night, until the month fell below half). Refused in one line naming
    the month, the days and the rows that would go; nothing stored changes. A result bounded
    by whole months loads, and so does the cut one with --allow-shrink; the year is then
    given no figure, as October held from its 11th, a row a day, is held only in part
    (`store.cut_short`)."""
    uri = _a_year_of_days(tmp_path, request, database)
    cut_from, whole_from = (("'2024-10-11'", "'2024-11-01'") if database == "sqlite" else
                            ("date '2024-10-11'", "date '2024-11-01'"))
    every = typed_project(tmp_path / "p", "SELECT ref, day FROM typed", "", 'kind = "count"',
                          decimals=0)
    out, value = load_and_value(every, uri)
    assert out.returncode == 0, out.stderr
    assert value == 365
    before = snapshot(every)
    toml = every / "kpi.toml"
    whole = toml.read_text(encoding="utf-8")
    toml.write_text(whole.replace("FROM typed", f"FROM typed WHERE day >= {cut_from}"),
                    encoding="utf-8")
    out = run(every, "ingest", "w", "--from-source", uri=uri)
    assert out.returncode == 3, out.stderr
    assert one_error(out.stderr) == (
        "Error: dataset 'w' query (kpi.toml): would replace 2024-10 (31 rows stored) with 21: "
        "its rows of 2024-10 start on 2024-10-11, and the 10 stored row(s) dated before then "
        "(from 2024-10-01) would go")
    assert "date_trunc('month', current_date) - interval '12 months'" in out.stderr
    assert snapshot(every).same_as(before)
    assert summary(every)["k"] == 365
    # bounded by whole months: October is not in the result, and is kept as stored
    toml.write_text(whole.replace("FROM typed", f"FROM typed WHERE day >= {whole_from}"),
                    encoding="utf-8")
    out = run(every, "ingest", "w", "--from-source", uri=uri)
    assert out.returncode == 0, out.stderr
    assert summary(every)["k"] == 365
    # the rows really gone: --allow-shrink says so
    toml.write_text(whole.replace("FROM typed", f"FROM typed WHERE day >= {cut_from}"),
                    encoding="utf-8")
    out = run(every, "ingest", "w", "--from-source", "--allow-shrink", uri=uri)
    assert out.returncode == 0, out.stderr
    assert "replaced 2024-10: 31 -> 21 rows" in out.stderr
    done = run(every, "summary", "--period", "2025-09", "--format", "json", uri=uri)
    assert done.returncode == 3, done.stdout  # 355, exit 0, before
    assert one_error(done.stderr) == (
        "Error: no KPI has data for 2025-09: k: year ending September 2025 is incomplete: it "
        "holds 2024-10 only in part (its rows start on 11 October 2024, where its other months "
        "run from their first day to their last)")


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
@pytest.mark.parametrize("stored", [False, True])
def test_a_result_whose_last_month_is_cut_is_refused_whatever_the_store_holds(
        tmp_path, request, database, stored):
    """A query to a time within a month (run at 00:30 on 1 October, or bounded by a UTC
    midnight) holds that month's first hours: here the year to 30 September 2025, a row a day,
    and 1 October's row. Loaded into a store holding the year, October was noted as held in
    part; loaded into an empty store it was stored the same, and so was any result a store
    could not yet show cut, where a stored October was refused. One rule now, whatever the
    store holds: the load is refused, naming the month and the day its rows end, and nothing
    stored changes; --allow-shrink loads it, October held in part (its missing 30 days would
    hold 30 rows at the year's rate of one a day, counted by hand)."""
    uri = _a_year_of_days(tmp_path, request, database)
    october = "'2025-10-01'" if database == "sqlite" else "date '2025-10-01'"
    project = typed_project(tmp_path / "p", "SELECT ref, day FROM typed", "", 'kind = "count"',
                            decimals=0)
    toml = project / "kpi.toml"
    whole = toml.read_text(encoding="utf-8")
    if stored:
        out, value = load_and_value(project, uri)
        assert out.returncode == 0, out.stderr
        assert value == 365
    before = snapshot(project)
    toml.write_text(whole.replace("FROM typed", f"FROM typed UNION ALL SELECT 'X1', {october}"),
                    encoding="utf-8")
    out = run(project, "ingest", "w", "--from-source", uri=uri)
    assert out.returncode == 3, out.stderr
    assert one_error(out.stderr) == (
        "Error: dataset 'w' query (kpi.toml): its rows end on 1 October 2025, where the other "
        "months it would hold run from their first day to their last: 2025-10 would be held "
        "only in part")
    assert "date_trunc('month', current_date) - interval '12 months'" in out.stderr
    assert snapshot(project).same_as(before) if stored else snapshot(project).version is None
    out = run(project, "ingest", "w", "--from-source", "--allow-shrink", uri=uri)
    assert out.returncode == 0, out.stderr
    assert "Note: 'w' holds 2025-10 only in part (its rows end on 1 October 2025" in out.stderr
    assert summary(project)["k"] == 365
    done = run(project, "summary", "--period", "2025-10", "--format", "json")
    assert done.returncode == 3, done.stdout
    assert "holds 2025-10 only in part (its rows end on 1 October 2025" in one_error(done.stderr)


def test_a_result_cut_within_its_first_day_is_refused_by_the_instant(tmp_path, warehouse):
    """A query bounded by a UTC month start (`created >= '2024-06-01 00:00+00'`, 01:00 UK
    time) cuts June's first UK hour. Compared by days, the result started on June's first day
    as the stored month did, and replaced its 360 rows with 359: the year ending May 2025 read
    4,379 where the warehouse holds 4,380, exit 0. Compared as instants, the load is refused
    naming the times; nothing stored changes, and the year is the database's count."""
    sql = warehouse["sql"]
    sql("CREATE TABLE every_two AS SELECT 'R' || lpad(g::text, 6, '0') AS ref, "
        "timestamptz '2024-04-01 00:30 Europe/London' + g * interval '2 hours' AS day "
        "FROM generate_series(0, 6575) AS g")
    sql("GRANT SELECT ON every_two TO analyst")
    project = typed_project(tmp_path / "p", "SELECT ref, day FROM every_two ORDER BY ref", "",
                            'kind = "count"', day="datetime", decimals=0)
    out = run(project, "ingest", "w", "--from-source", uri=warehouse["uri"])
    assert out.returncode == 0, out.stderr
    year = ("SELECT count(*) FROM every_two WHERE day >= timestamptz '2024-06-01 00:00 "
            "Europe/London' AND day < timestamptz '2025-06-01 00:00 Europe/London'")

    def figure() -> float:
        got = run(project, "summary", "--period", "2025-05", "--format", "json")
        assert got.returncode == 0, got.stderr
        return json.loads(got.stdout)["kpis"][0]["current"]["value"]

    assert figure() == int(sql(year)) == 4380
    before = snapshot(project)
    toml = project / "kpi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        "FROM every_two", "FROM every_two WHERE day >= '2024-06-01 00:00+00'"), encoding="utf-8")
    out = run(project, "ingest", "w", "--from-source", uri=warehouse["uri"])
    assert out.returncode == 3, out.stderr
    assert one_error(out.stderr) == (
        "Error: dataset 'w' query (kpi.toml): would replace 2024-06 (360 rows stored) with 359: "
        "its rows of 2024-06 start at 2024-06-01 02:30, and the 1 stored row(s) dated before "
        "then (from 2024-06-01 00:30) would go")
    assert snapshot(project).same_as(before)
    assert figure() == 4380


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
@pytest.mark.parametrize("ending", [";\n", ";\n\n", " ;  ;\r\n", "\n-- the year's rows", " -- all",
                                    "; -- the year's rows\n", ";\n/* the year; all of it */\n"])
def test_a_query_file_ending_as_sql_files_do_runs_as_the_databases_client_runs_it(
        tmp_path, request, database, ending):
    """A .sql file ends with ';' and a line break, or a comment: PostgreSQL's driver runs the
    query inside COPY (...) TO STDOUT, where the ';' was a syntax error ("the query failed
    ... syntax error at or near ';'", whose hint sent the user to psql, which runs it) and a
    last `-- comment` commented out the closing bracket. The text is recorded as written."""
    uri = _a_year_of_days(tmp_path, request, database)
    project = typed_project(tmp_path / "p", "", "", 'kind = "count"', decimals=0)
    toml = project / "kpi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('query = ""',
                                                             'query_file = "w.sql"'),
                    encoding="utf-8")
    text = "SELECT ref, day\nFROM typed" + ending
    (project / "w.sql").write_text(text, encoding="utf-8", newline="")
    out, value = load_and_value(project, uri)
    assert out.returncode == 0, out.stderr
    assert value == 365
    assert snapshot(project, "w").version == 0
    history = run(project, "history", "w", "--format", "json")
    # as the file's text reads (a Windows line break read as a line break)
    assert json.loads(history.stdout)[0]["sources"][0]["query"] == text.replace("\r\n", "\n")


@pytest.mark.parametrize("text", [
    "SELECT ref, day FROM old; SELECT ref, day FROM typed",
    "PRAGMA case_sensitive_like = ON;\nSELECT ref, day FROM typed;\n",
    "ATTACH 'other.db' AS other;\nSELECT ref, day FROM typed",
    "SELECT ref, day FROM typed WHERE ref <> 'a;b';\nSELECT 1 -- the rest\n",
])
def test_a_query_of_two_statements_is_refused_naming_its_file(tmp_path, request, text):
    """SQLite's driver ran the first statement of a query file alone: `SELECT ... FROM old;
    SELECT ... FROM typed` loaded old's 5 rows where the file's last SELECT gives 365 (exit 0),
    and a leading PRAGMA or ATTACH ran alone and 'returned no rows'. Which statement gives the
    rows is not kpi's to guess: one line naming the file, exit 3, nothing stored. A ';' inside
    a string or a comment ends no statement."""
    uri = _a_year_of_days(tmp_path, request, "sqlite")
    with sqlite3.connect(uri[len("sqlite:///"):]) as db:
        db.execute("CREATE TABLE old AS SELECT ref, day FROM typed LIMIT 5")
    project = typed_project(tmp_path / "p", "", "", 'kind = "count"', decimals=0)
    toml = project / "kpi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('query = ""',
                                                             'query_file = "w.sql"'),
                    encoding="utf-8")
    (project / "w.sql").write_text(text, encoding="utf-8")
    out = run(project, "ingest", "w", "--from-source", uri=uri)
    assert out.returncode == 3, out.stderr
    assert one_error(out.stderr).startswith(
        "Error: dataset 'w' query (w.sql): holds 2 SQL statements (")
    assert "kpi runs one, the SELECT that gives the dataset's rows" in out.stderr
    assert snapshot(project, "w").version is None


# --- SQLite's values of several types in one column ----------------------------------------

BIG = 2**53 + 1  # 9007199254740993, which no float holds


def _mixed(tmp_path, values: list) -> str:
    """A SQLite file whose column x (no declared type: each value keeps its own) holds
    `values`, a row a day from 1 October 2024."""
    path = tmp_path / "mixed.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE w (ref TEXT, day TEXT, x)")
        db.executemany("INSERT INTO w VALUES (?, ?, ?)", [
            (f"R{n:03d}", (date(2024, 10, 1) + timedelta(days=n)).isoformat(), value)
            for n, value in enumerate(values)])
    return sqlite_uri(path)


@pytest.mark.parametrize("values, declared, types", [
    # text first: the driver types the column as text and writes a real to 7 digits
    (["7", 1234.5678, 2.25], "float", "(real, text)"),
    # a whole number, then a real and text: 9007199254740993 was stored as 9007199000000000
    ([BIG, 2.5, "7"], "float", "(integer, real, text)"),
    # reals first: a whole number past 2**53 became the nearest float, 9007199254740992
    ([2.5, BIG, 3], "float", "(integer, real)"),
    ([2.5] * 1100 + [BIG], "float", "(integer, real)"),
    (["abc", 2.5], "str", "(real, text)"),
])
def test_a_sqlite_column_whose_values_the_driver_would_alter_is_refused(tmp_path, values,
                                                                        declared, types):
    """SQLite types each value, its driver each column (from its first rows), converting the
    rest: a real among text was stored to 7 digits (1234.5678 as 1234.568: the sum 1243.818
    where SQLite's is 1243.8178; 2.5 as the text '2.500000e+00') and a whole number past 2**53
    among reals as its nearest float, each with exit 0. Refused in one line naming the column
    and SQLite's types of its values, nothing stored; the hint's query stores SQLite's text."""
    uri = _mixed(tmp_path, values)
    kpi = 'kind = "sum"\nvalue = "x"' if declared == "float" else 'kind = "count"'
    project = typed_project(tmp_path / "p", "SELECT ref, day, x FROM w", f'x = "{declared}"',
                            kpi, decimals=3)
    out = run(project, "ingest", "w", "--from-source", uri=uri)
    assert out.returncode == 3, out.stderr
    assert one_error(out.stderr) == (
        f"Error: dataset 'w' query (kpi.toml), column 'x': SQLite holds values of "
        f"{types.count(',') + 1} types in it {types}, which its driver reads as one: "
        + ("a real among text would be stored to 7 digits (1234.5678 as 1234.568)"
           if "text" in types else "1 whole number(s) past 2^53 among reals would be stored "
           "as the nearest float (9007199254740993 as 9007199254740992)"))
    hint = "COALESCE(CAST(x AS TEXT), '') AS x"
    assert hint in out.stderr.splitlines()[1]
    assert snapshot(project, "w").version is None
    hinted = typed_project(tmp_path / "q", f"SELECT ref, day, {hint} FROM w",
                           f'x = "{declared}"', kpi, decimals=3)
    out = run(hinted, "ingest", "w", "--from-source", uri=uri)
    import polars as pl

    held = [str(v) for v in values]  # SQLite's text of each (CAST(x AS TEXT))
    if BIG in values and declared == "float":  # a float cannot hold it: refused, by its row
        assert out.returncode == 3
        assert f"column 'x': expected a number, found '{BIG}'" in one_error(out.stderr)
        return
    assert out.returncode == 0, out.stderr
    stored = pl.read_delta(str(hinted / "data" / "w")).sort("ref")["x"].to_list()
    assert stored == ([float(v) for v in held] if declared == "float" else held)


@pytest.mark.parametrize("values, declared", [
    ([BIG, "abc", 3], "str"),  # whole numbers among text: their digits
    ([3, 2.5, 2**53], "float"),  # whole numbers within 2**53 among reals: their value
    ([5.0, 7, None], "int"),  # a real that is a whole number, in an int column
])
def test_a_sqlite_column_of_types_the_driver_reads_exactly_loads_as_sqlite_holds_it(
        tmp_path, values, declared):
    uri = _mixed(tmp_path, values)
    project = typed_project(tmp_path / "p", "SELECT ref, day, x FROM w",
                            f'x = {{ type = "{declared}", required = false }}',
                            'kind = "count"', decimals=0)
    out = run(project, "ingest", "w", "--from-source", uri=uri)
    assert out.returncode == 0, out.stderr
    import polars as pl

    stored = pl.read_delta(str(project / "data" / "w")).sort("ref")["x"].to_list()
    with sqlite3.connect(uri[len("sqlite:///"):]) as db:
        held = [v for (v,) in db.execute("SELECT x FROM w ORDER BY ref")]
    convert = {"str": lambda v: str(v), "float": float, "int": int}[declared]
    assert stored == [None if v is None else convert(v) for v in held]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_sqlalchemy_url_naming_its_python_driver_reads_the_same_database(tmp_path, request,
                                                                            database):
    """SQLAlchemy's URLs name a Python driver after the scheme (`sqlite+pysqlite:///file.db`,
    `postgresql+psycopg2://...`), as an analyst's notebook writes them: SQLite's driver was
    given the whole URI as a file name ("failed to allocate memory"), PostgreSQL's could not
    parse it. The same database is read, the password kept out of every message."""
    uri = _a_year_of_days(tmp_path, request, database)
    scheme, rest = uri.split(":", 1)
    named = f"{scheme}+{'pysqlite' if database == 'sqlite' else 'psycopg2'}:{rest}"
    project = typed_project(tmp_path / "p", "SELECT ref, day FROM typed", "", 'kind = "count"',
                            decimals=0)
    out, value = load_and_value(project, named)
    assert out.returncode == 0, out.stderr
    assert value == 365


def test_a_sqlite_file_is_opened_read_only(tmp_path, request):
    """kpi reads the warehouse and never writes it: a query of `DELETE ... RETURNING` gave its
    rows as a SELECT would, and committed would have deleted them. SQLite is opened read-only
    (`mode=ro`), so it refuses the write: one line, exit 3 or 4 as a failed query is, nothing
    stored, and the table (counted by Python's sqlite3) as it was."""
    uri = _a_year_of_days(tmp_path, request, "sqlite")
    path = uri[len("sqlite:///"):]
    with sqlite3.connect(path) as db:
        before = db.execute("SELECT count(*) FROM typed").fetchone()[0]
    project = typed_project(tmp_path / "p", "DELETE FROM typed RETURNING ref, day", "",
                            'kind = "count"', decimals=0)
    out = run(project, "ingest", "w", "--from-source", uri=uri)
    assert out.returncode != 0, out.stdout
    assert "readonly database" in one_error(out.stderr), out.stderr
    assert snapshot(project, "w").version is None
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM typed").fetchone()[0] == before == 365


@pytest.mark.parametrize("params", ["?mode=ro", "?mode=ro&uri=true", "?uri=true"])
def test_a_sqlite_uri_asking_to_read_only_reads_the_file(tmp_path, request, params):
    """`sqlite:///file.db?mode=ro`, as SQLAlchemy and SQLite's own URIs ask for read-only
    access, was looked for as a file named with its parameters and refused as one that does
    not exist. kpi opens the file read-only anyway: the same 365 rows are read."""
    uri = _a_year_of_days(tmp_path, request, "sqlite")
    project = typed_project(tmp_path / "p", "SELECT ref, day FROM typed", "", 'kind = "count"',
                            decimals=0)
    out, value = load_and_value(project, uri + params)
    assert out.returncode == 0, out.stderr
    assert value == 365


@pytest.mark.parametrize("params", ["?mode=rw", "?immutable=1"])
def test_a_sqlite_uri_asking_for_more_than_reading_is_refused(tmp_path, request, params):
    """A parameter that would open the file otherwise than read-only (`mode=rw`), or trust it
    not to change while it is read (`immutable=1`), is refused naming it: exit 3, nothing
    stored."""
    uri = _a_year_of_days(tmp_path, request, "sqlite")
    project = typed_project(tmp_path / "p", "SELECT ref, day FROM typed", "", 'kind = "count"',
                            decimals=0)
    out = run(project, "ingest", "w", "--from-source", uri=uri + params)
    assert out.returncode == 3, out.stderr
    line = one_error(out.stderr)
    assert params[1:] in line and "read-only" in line, line
    assert snapshot(project, "w").version is None


# --- What a query makes in the session, or on the machine, is read in the zone it was made in --

# One call a month at noon UTC on the 15th, January 2023 to December 2025, and three just after
# midnight BST on 1 October 2025 (23:10 to 23:50 UTC on 30 September): the year to September
# 2025 holds 12 of them in the UK's months, where 30 September's wall clock in UTC makes 15.
_CALLS = ([(f"C{i}", f"{2023 + i // 12}-{i % 12 + 1:02d}-15 12:00:00") for i in range(36)]
          + [("C100", "2025-09-30 23:10:00"), ("C101", "2025-09-30 23:30:00"),
             ("C102", "2025-09-30 23:50:00")])


def _uk_year_to_september(times_utc: list[str]) -> int:
    """The rows whose UTC time falls in October 2024 to September 2025 in the UK, by hand."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    uk = ZoneInfo("Europe/London")
    start, end = datetime(2024, 10, 1, tzinfo=uk), datetime(2025, 10, 1, tzinfo=uk)
    return sum(start <= datetime.fromisoformat(t).replace(tzinfo=UTC) < end
               for t in times_utc)


@pytest.fixture(scope="module")
def calls(postgres):
    values = ", ".join(f"('{ref}', timestamptz '{at}+00')" for ref, at in _CALLS)
    postgres["sql"](f"CREATE TABLE calls (ref text, booked_at timestamptz); "
                    f"INSERT INTO calls VALUES {values}")
    postgres["sql"]("GRANT SELECT ON calls TO analyst")
    return postgres


def _calls_project(folder: Path, expression: str) -> Path:
    """A dataset of the system's UTC times whose `day` column declares UK time of its own."""
    project = typed_project(folder, f"SELECT ref, {expression} AS day FROM calls", "",
                            'kind = "count"', day="datetime", extra='time_zone = "UTC"',
                            decimals=0)
    toml = project / "kpi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'day = "datetime"', 'day = { type = "datetime", time_zone = "Europe/London" }'),
        encoding="utf-8")
    return project


@pytest.mark.parametrize("expression", ["to_char(booked_at, 'YYYY-MM-DD HH24:MI')",
                                        "booked_at::timestamp", "booked_at::date"])
def test_a_wall_clock_time_made_in_the_session_is_refused_in_a_column_of_another_zone(
        tmp_path, calls, expression):
    """The session's TimeZone is the dataset's (UTC), and a time the query makes without an
    offset is that zone's wall clock; the column reads it in its own zone (the UK's), so the
    three calls after midnight BST on 1 October were stored on 30 September: the year's 15
    where the database holds 12, exit 0. Refused in one line naming the column, with the
    instant to give instead."""
    project = _calls_project(tmp_path / "p", expression)
    out, _ = load_and_value(project, calls["uri"])
    assert out.returncode == 3, out.stderr
    line = one_error(out.stderr)
    assert "column 'day': a time without an offset" in line, line
    assert "its own time_zone (Europe/London)" in line and "the dataset's (UTC)" in line, line
    assert "day::timestamp AT TIME ZONE 'Europe/London' AS day" in out.stderr
    assert snapshot(project, "w").version is None


@pytest.mark.parametrize("expression", [
    "booked_at",  # the instant itself
    # a UK wall-clock time held as written, made the instant as the hint says
    "(booked_at AT TIME ZONE 'Europe/London')::timestamp AT TIME ZONE 'Europe/London'"])
def test_an_instant_in_a_column_of_another_zone_than_the_session_counts_its_uk_months(
        tmp_path, calls, expression):
    project = _calls_project(tmp_path / "p", expression)
    out, value = load_and_value(project, calls["uri"])
    assert out.returncode == 0, out.stderr
    expected = int(calls["sql"]("SET TimeZone = 'Europe/London'; SELECT count(*) FROM calls "
                                "WHERE booked_at >= '2024-10-01' AND booked_at < '2025-10-01'"
                                ).split()[-1])
    assert value == expected == _uk_year_to_september([at for _, at in _CALLS]) == 12


def _calls_db(path: Path) -> str:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE calls (ref TEXT, created_utc TEXT)")
        db.executemany("INSERT INTO calls VALUES (?, ?)", _CALLS)
    return sqlite_uri(path)


def _run_in_zone(project: Path, zone: str, uri: str, *args: str) -> subprocess.CompletedProcess:
    """kpi in a process of its own whose TZ is `zone`: SQLite's 'localtime' reads the
    process's zone, set when it starts."""
    import sys

    env = {k: v for k, v in os.environ.items() if k != ENV}
    env.update({"KPI_NO_CACHE": "1", ENV: uri, "TZ": zone})
    return subprocess.run([sys.executable, "-m", "kpi", "--project", str(project), *args],
                          cwd=project, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("modifier", ["localtime", "UTC"])
def test_a_sqlite_query_asking_for_the_machines_time_zone_is_refused(tmp_path, modifier):
    """`datetime(created_utc, 'localtime')` is the time in the zone of the process running
    the query, kpi's: the year's calls were 15 under TZ=UTC or America/New_York and 12 under
    Europe/London, each exit 0. Refused under every zone, in one line naming the modifier;
    the stored UTC text read in a declared UTC gives the UK months' 12 under every zone."""
    uri = _calls_db(tmp_path / "w.db")
    project = typed_project(tmp_path / "p", f"SELECT ref, datetime(created_utc, '{modifier}') "
                                            "AS day FROM calls", "", 'kind = "count"',
                            day="datetime", decimals=0)
    plain = typed_project(tmp_path / "plain", "SELECT ref, created_utc AS day FROM calls", "",
                          'kind = "count"', day="datetime", extra='time_zone = "UTC"',
                          decimals=0)
    for zone in ("UTC", "Europe/London"):
        out = _run_in_zone(project, zone, uri, "ingest", "w", "--from-source")
        assert out.returncode == 3, out.stderr
        line = one_error(out.stderr)
        assert f"names SQLite's '{modifier.lower()}' modifier" in line, line
        assert snapshot(project, "w").version is None
        shutil.rmtree(plain / "data", ignore_errors=True)
        assert _run_in_zone(plain, zone, uri, "ingest", "w", "--from-source").returncode == 0
        shown = _run_in_zone(plain, zone, uri, "summary", "--period", "2025-09",
                             "--format", "json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["kpis"][0]["current"]["value"] == \
            _uk_year_to_september([at for _, at in _CALLS]) == 12


@pytest.mark.parametrize(("text", "refused"), [
    ("SELECT datetime(at, 'localtime') FROM t", "localtime"),
    ("SELECT datetime(at, ' LocalTime ') FROM t", "localtime"),
    ("SELECT strftime('%Y-%m', at, 'utc') FROM t", "utc"),
    ("SELECT at FROM t -- not 'localtime'", None),
    ('SELECT "localtime", at FROM t', None),
    ("SELECT datetime(at) AS at, 'UTC time' AS note FROM t", None),
])
def test_only_a_string_naming_a_local_time_modifier_is_refused(text, refused):
    from kpi.errors import ConfigError
    from kpi.ingest import sql_reader

    query = sql_reader.Query("w", text, ENV, "kpi.toml", "dataset 'w' query (kpi.toml)")
    if refused is None:
        sql_reader._without_local_time(query)
        return
    with pytest.raises(ConfigError, match=f"names SQLite's '{refused}' modifier"):
        sql_reader._without_local_time(query)


# --- Bytes and booleans in a text column ------------------------------------------------------

@pytest.fixture(scope="module")
def bytes_table(warehouse):
    warehouse["sql"]("CREATE TABLE bin AS SELECT ref, day, (CASE WHEN flag THEN 'Coventry' "
                     "ELSE 'Dudley' END)::bytea AS lpa FROM typed")
    warehouse["sql"]("GRANT SELECT ON bin TO analyst")
    return warehouse


@pytest.mark.parametrize("options", [None, "bytea_output=escape"])
def test_bytea_is_read_as_the_text_it_holds_and_its_hex_text_is_refused(
        tmp_path, bytes_table, options):
    """A bytea holding text: kpi's hint was `lpa::text AS lpa`, whose text is the bytes' hex
    ('\\x436f76656e747279') under the default bytea_output, so a filter lpa = 'Coventry'
    counted 0 rows where the database holds 121, exit 0 (and under a role's
    bytea_output = escape, 121). The session's bytea_output is kpi's, hex; text that is all
    a bytea's hex is refused, and the hint's convert_from counts the database's rows."""
    uri = _with_options(bytes_table["uri"], options)
    kpi = "kind = \"count\"\nfilter = \"lpa = 'Coventry'\""
    raw = typed_project(tmp_path / "raw", "SELECT ref, day, lpa FROM bin", 'lpa = "str"', kpi,
                        decimals=0)
    out, _ = load_and_value(raw, uri)
    assert out.returncode == 3, out.stderr
    assert "column 'lpa': expected text, found a column of type bytea" in one_error(out.stderr)
    assert "convert_from(lpa, 'UTF8') AS lpa" in out.stderr
    cast = typed_project(tmp_path / "cast", "SELECT ref, day, lpa::text AS lpa FROM bin",
                         'lpa = "str"', kpi, decimals=0)
    out, _ = load_and_value(cast, uri)
    assert out.returncode == 3, out.stderr
    line = one_error(out.stderr)
    assert "row 1, column 'lpa': found bytes written as hex ('\\x" in line, line
    assert "convert_from(lpa, 'UTF8') AS lpa" in out.stderr
    assert snapshot(cast, "w").version is None
    text = typed_project(tmp_path / "text", "SELECT ref, day, convert_from(lpa, 'UTF8') AS lpa "
                                            "FROM bin", 'lpa = "str"', kpi, decimals=0)
    out, value = load_and_value(text, uri)
    assert out.returncode == 0, out.stderr
    expected = int(bytes_table["sql"]("SELECT count(*) FROM bin WHERE convert_from(lpa, "
                                      "'UTF8') = 'Coventry'"))
    assert value == expected == 121
    # One value written as bytes' hex among text is text, and loads as written.
    mixed = typed_project(tmp_path / "mixed", "SELECT ref, day, CASE WHEN ref = 'R1' THEN "
                                              "lpa::text ELSE convert_from(lpa, 'UTF8') END "
                                              "AS lpa FROM bin", 'lpa = "str"', kpi,
                          decimals=0)
    out, value = load_and_value(mixed, uri)
    assert out.returncode == 0, out.stderr
    assert value == expected


def test_a_sqlite_blob_of_text_is_refused_with_sqlites_cast(tmp_path):
    path = tmp_path / "w.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE w (ref TEXT, day TEXT, lpa BLOB)")
        db.executemany("INSERT INTO w VALUES (?, ?, ?)",
                       [(f"R{n}", str(date(2024, 10, 1) + timedelta(days=n)),
                         ("Coventry" if n % 3 == 0 else "Dudley").encode()) for n in range(365)])
    kpi = "kind = \"count\"\nfilter = \"lpa = 'Coventry'\""
    raw = typed_project(tmp_path / "raw", "SELECT ref, day, lpa FROM w", 'lpa = "str"', kpi,
                        decimals=0)
    out = run(raw, "ingest", "w", "--from-source", uri=sqlite_uri(path))
    assert out.returncode == 3, out.stderr
    assert "column 'lpa': expected text, found a column of type binary" in one_error(out.stderr)
    assert "CAST(lpa AS TEXT) AS lpa" in out.stderr
    cast = typed_project(tmp_path / "cast", "SELECT ref, day, CAST(lpa AS TEXT) AS lpa FROM w",
                         'lpa = "str"', kpi, decimals=0)
    out, value = load_and_value(cast, sqlite_uri(path))
    assert out.returncode == 0, out.stderr
    assert value == oracle(path, "SELECT count(*) FROM w WHERE CAST(lpa AS TEXT) = "
                                 "'Coventry'") == 122


def test_a_boolean_in_a_text_column_is_refused_and_its_case_counts_the_databases_rows(
        tmp_path, warehouse):
    """A boolean in a `str` column was stored as 'true' (boolean::text) where psql and
    COPY ... CSV write 't', so a filter flag = 't' counted 0 rows where the database counts
    121, exit 0. A boolean has no one text, from a database as from a Parquet file: refused,
    with the hint to declare it bool or write the text wanted, whose filter counts the
    database's rows."""
    kpi = "kind = \"count\"\nfilter = \"flag = 't'\""
    project = typed_project(tmp_path / "p", "SELECT ref, day, flag FROM typed", 'flag = "str"',
                            kpi, decimals=0)
    out, _ = load_and_value(project, warehouse["uri"])
    assert out.returncode == 3, out.stderr
    assert "column 'flag': expected text, found a column of type bool" in one_error(out.stderr)
    assert "declare the column bool" in out.stderr
    assert snapshot(project, "w").version is None
    case = typed_project(tmp_path / "case", "SELECT ref, day, CASE WHEN flag THEN 't' WHEN NOT "
                                            "flag THEN 'f' END AS flag FROM typed",
                         'flag = "str"', kpi, decimals=0)
    out, value = load_and_value(case, warehouse["uri"])
    assert out.returncode == 0, out.stderr
    assert value == int(warehouse["sql"]("SELECT count(*) FROM typed WHERE flag = 't'")) == 121
