"""kpi.toml: finding the project, parsing every KPI kind, and validation messages that name the
file, line, KPI id and key at fault."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.generated import PROJECT_TOML, TINY

from kpi.catalogue import Better, Kind, Unit, find_project_file, load_project, parse_project_file
from kpi.errors import ConfigError

HEAD = """\
[project]
name = "T"

[population]
force = 1000

[datasets.crimes]
date = "day"
[datasets.crimes.columns]
day = "date"
lpa = "str"
cost = "float"

[[priorities]]
id = "p"
title = "Priority"
"""


def problems(tmp_path: Path, kpis: str) -> list[str]:
    path = tmp_path / "kpi.toml"
    path.write_text(HEAD + kpis, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        parse_project_file(path)
    return info.value.message.split("\n")


def test_every_kind_parses_with_its_defaults(tmp_path):
    path = tmp_path / "kpi.toml"
    path.write_text(PROJECT_TOML, encoding="utf-8")
    project = parse_project_file(path)
    kinds = {k.kind for k in project.kpis}
    assert kinds == set(Kind)
    assert project.kpi("outcome_rate").unit == Unit.PERCENT
    assert project.kpi("minority_share").unit == Unit.PERCENT  # a snapshot with a numerator
    assert project.kpi("officers").unit == Unit.COUNT
    assert project.kpi("stop_disproportionality").unit == Unit.RATIO
    assert project.kpi("crimes_per_1000").unit == Unit.PER_1000
    assert project.kpi("harm").unit == Unit.SCORE
    assert project.kpi("knife_crime").lag == 3
    assert project.kpi("loss").baseline == "yoy"
    assert project.kpi("median_days").baseline == "YE 2023-09"
    assert project.kpi("satisfaction").better == Better.HIGHER
    assert project.kpi("outcomes_per_crime").is_derived
    assert project.kpi("crimes").stable_band == 1.0
    assert project.populations == {"force": 2900000.0, "black": 190000.0, "white": 2000000.0}


def test_priorities_are_in_plan_order_not_file_order():
    project = parse_project_file(TINY / "kpi.toml")
    assert [p.id for p in project.priorities] == ["community", "justice"]


def test_problem_names_file_line_kpi_and_key(tmp_path):
    found = problems(tmp_path, """
[[kpis]]
id = "crimes"
title = "Crimes"
priority = "p"
kind = "count"
dataset = "crimes"
filter = "lpa = 'Dudley' AND colour = 'red'"
""")
    path = tmp_path / "kpi.toml"
    assert found == [f"{path}:24: KPI 'crimes', key 'filter': refers to 'colour', which is not "
                     "a column of dataset 'crimes'"]


@pytest.mark.parametrize(("kpi", "expected"), [
    ('kind = "tally"\ndataset = "crimes"', "key 'kind': must be one of count, sum"),
    ('kind = "sum"\ndataset = "crimes"', "key 'value': is required for a sum KPI"),
    ('kind = "count"\ndataset = "calls"', "key 'dataset': 'calls' is not a declared dataset"),
    ('kind = "count"\ndataset = "crimes"\nfilter = "cost * 2"',
     "key 'filter': must be a true/false condition"),
    ('kind = "count"\ndataset = "crimes"\nbetter = "up"',
     "key 'better': must be 'higher', 'lower' or 'neutral'"),
    ('kind = "count"\ndataset = "crimes"\nlag = -1',
     "key 'lag': must be a whole number of months"),
    ('kind = "count"\ndataset = "crimes"\nbaseline = "2024"',
     "key 'baseline': must be 'YE YYYY-MM', 'AT YYYY-MM' or 'yoy'"),
    ('kind = "percentile"\ndataset = "crimes"\nvalue = "cost"\npercentile = 100',
     "key 'percentile': must be a number from 1 and below 100, found 100"),
    # 0.9, as DuckDB's quantile_cont and Excel take the 90th, printed the 0.9th (its lowest
    # figures) under a title saying 90th: both readings named.
    ('kind = "percentile"\ndataset = "crimes"\nvalue = "cost"\npercentile = 0.9',
     "key 'percentile': is 0.9, which reads as the 0.9th percentile or, written as a fraction, "
     "the 90th: write percentile = 90 for the 90th"),
    ('kind = "per_1000"\ndataset = "crimes"\npopulation = "city"',
     "key 'population': 'city' is not in [population]"),
    ('kind = "count"\ndataset = "crimes"\nbreakdowns = ["ward"]',
     "key 'breakdowns': 'ward' is not a column of dataset 'crimes'"),
    ('kind = "count"\ndataset = "crimes"\nthreshold = 3',
     "key 'threshold': is not a key of a count KPI"),
    ('kind = "rate"\nnumerator_kpi = "x"\ndenominator_kpi = "y"',
     "key 'numerator_kpi': 'x' is not a KPI computed from a dataset"),
    ('kind = "sum"\ndataset = "crimes"\nvalue = "cost +"',
     "key 'value': is not a valid SQL expression"),
    # components read by nothing that computes: refused unless a check reconciles them
    ('kind = "count"\ndataset = "crimes"\ncomponents = ["k1"]',
     "key 'components': names the KPIs its figure is the sum of, but its figure is counted "
     "from its own rows: declare a [[checks]] with total = 'k1' and these parts"),
])
def test_bad_kpis_are_named(tmp_path, kpi, expected):
    found = problems(tmp_path, f'\n[[kpis]]\nid = "k1"\ntitle = "K"\npriority = "p"\n{kpi}\n')
    assert any(f"KPI 'k1', {expected}" in line for line in found), found


def test_all_problems_are_reported_at_once(tmp_path):
    found = problems(tmp_path, """
[[kpis]]
id = "a"
title = "A"
priority = "nowhere"
kind = "count"
dataset = "crimes"

[[kpis]]
id = "a"
title = "A again"
priority = "p"
kind = "count"
dataset = "crimes"
""")
    assert len(found) == 2
    assert "key 'priority': 'nowhere' is not a declared priority" in found[0]
    assert "key 'id': is declared twice" in found[1]


def test_in_development_kpis_need_no_data_keys(tmp_path):
    path = tmp_path / "kpi.toml"
    path.write_text(HEAD + '\n[[kpis]]\nid = "s"\ntitle = "S"\npriority = "p"\nkind = "rate"\n'
                    'status = "in_development"\n', encoding="utf-8")
    assert parse_project_file(path).kpi("s").status.value == "in_development"


def test_toml_syntax_errors_name_the_file(tmp_path):
    path = tmp_path / "kpi.toml"
    path.write_text("[project\nname = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"kpi\.toml: TOML syntax error"):
        parse_project_file(path)


def test_dataset_date_must_be_a_date_column(tmp_path):
    path = tmp_path / "kpi.toml"
    path.write_text(HEAD.replace('date = "day"', 'date = "lpa"'), encoding="utf-8")
    with pytest.raises(ConfigError, match="column 'lpa' must be of type date, datetime or month"):
        parse_project_file(path)


def test_project_is_found_from_a_subfolder(tmp_path):
    (tmp_path / "kpi.toml").write_text(HEAD, encoding="utf-8")
    deep = tmp_path / "extracts" / "2025"
    deep.mkdir(parents=True)
    path, bundled = find_project_file(cwd=deep)
    assert path == tmp_path / "kpi.toml" and not bundled
    assert load_project(cwd=deep).name == "T"


def test_explicit_project_that_does_not_exist_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no project file at"):
        find_project_file(tmp_path / "nowhere")


def test_live_rate_of_an_in_development_kpi_is_refused(tmp_path):
    found = problems(tmp_path, """
[[kpis]]
id = "crimes"
title = "Crimes"
priority = "p"
kind = "count"
dataset = "crimes"

[[kpis]]
id = "surveyed"
title = "Surveyed"
priority = "p"
kind = "count"
status = "in_development"

[[kpis]]
id = "share"
title = "Share"
priority = "p"
kind = "rate"
numerator_kpi = "surveyed"
denominator_kpi = "crimes"
""")
    assert found == [f"{tmp_path / 'kpi.toml'}:37: KPI 'share', key 'numerator_kpi': "
                     "'surveyed' is in development, so a live KPI cannot use it"]


def test_the_examples_in_docs_catalogue_md_are_valid(tmp_path):
    """docs/catalogue.md's [project], [population], dataset and KPI examples, together with the
    generated test project's datasets and priorities, make a valid kpi.toml with every kind."""
    import re

    doc = (Path(__file__).resolve().parent.parent / "docs" / "catalogue.md").read_text(
        encoding="utf-8")
    blocks = [body for lang, body in re.findall(r"```(\w*)\n(.*?)```", doc, re.S)
              if lang == "toml"]
    project, population, sourced, dataset = blocks[0], blocks[1], blocks[2], blocks[3]
    kpis = next(b for b in blocks if b.count("[[kpis]]") > 10)
    generated = PROJECT_TOML[PROJECT_TOML.index("[datasets.crimes]"):
                             PROJECT_TOML.index("[[kpis]]")]
    path = tmp_path / "kpi.toml"
    # The populations as numbers, and as tables with their sources: the same figures.
    for written in (population, sourced):
        path.write_text("\n".join([project, written, dataset, generated, kpis]),
                        encoding="utf-8")
        parsed = parse_project_file(path)
        assert {k.kind for k in parsed.kpis} == set(Kind)
        assert parsed.datasets["incidents"].column("date").sources == ("Date", "Incident Date")
        assert parsed.baseline_end == parsed.snapshot_baseline - 1
        assert parsed.populations == {"force": 2_919_600, "black": 160_000, "white": 1_987_000}
    assert parsed.population_sources["black"].illustrative


def test_a_kpi_toml_saved_as_windows_1252_names_the_line_and_column(tmp_path):
    """Notepad's "ANSI" save writes £ as the one byte 0xA3, which UTF-8 does not read: the
    error names the line and column, as every other fault of the file is named (it said
    'byte 153', a count no editor shows)."""
    text = HEAD + '\n[[kpis]]\nid = "loss"\ntitle = "Value lost (£)"\npriority = "p"\n'
    path = tmp_path / "kpi.toml"
    path.write_bytes(text.replace("\n", "\r\n").encode("cp1252"))
    with pytest.raises(ConfigError) as info:
        parse_project_file(path)
    # Line 20 is `title = "Value lost (£)"`; the £ is its 22nd character.
    assert text.splitlines()[19] == 'title = "Value lost (£)"'
    assert info.value.message == (f"{path}:20: cannot read the project file: not UTF-8 text "
                                  "(byte 0xA3, column 22)")
    assert info.value.hint == "save kpi.toml as UTF-8 (in Notepad: Save as, Encoding UTF-8)"


def test_the_docs_table_of_default_places_is_the_codes():
    """docs/catalogue.md#decimal-places prints each unit's default places, for a whole kind
    and any other (unit `number` had none there): the table is `UNIT_PLACES`, row for row, and
    `places` reads it for a KPI without `decimals`."""
    from kpi.catalogue import UNIT_PLACES, WHOLE_KINDS, KpiDef, places

    docs = (Path(__file__).resolve().parent.parent / "docs" / "catalogue.md").read_text("utf-8")
    section = docs.split("### Decimal places\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = (int(cells[1]), int(cells[2]))
    assert rows == {unit.value: UNIT_PLACES[unit] for unit in Unit}
    for unit in Unit:
        for kind in Kind:
            kpi = KpiDef("k", "K", "p", kind, unit, Better.NEUTRAL, dataset="d")
            assert places(kpi) == rows[unit.value][0 if kind in WHOLE_KINDS else 1]
            assert places(KpiDef("k", "K", "p", kind, unit, Better.NEUTRAL, dataset="d",
                                 decimals=2)) == 2


_SECONDS_KPI = """
[[kpis]]
id = "wait"
title = "Wait"
priority = "p"
kind = "mean"
dataset = "crimes"
value = "cost"
unit = "seconds"
"""


@pytest.mark.parametrize("decimals", [1, 2, 3])
def test_decimals_on_a_kpi_in_seconds_is_refused_naming_the_line(tmp_path, decimals):
    """A duration prints whole seconds (m:ss) wherever it is printed, so `decimals = 2` on a
    KPI in seconds was read and left unprinted, with nothing said: it is refused when the file
    loads, in one line naming the file's line, the KPI and the key."""
    found = problems(tmp_path, _SECONDS_KPI + f"decimals = {decimals}\n")
    line = (HEAD + _SECONDS_KPI).count("\n") + 1
    assert found == [f"{tmp_path / 'kpi.toml'}:{line}: KPI 'wait', key 'decimals': is "
                     f"{decimals}, but a KPI in seconds prints whole seconds (m:ss or h:mm:ss), "
                     "more only where a figure must read apart from its target: leave decimals "
                     "out"]


def test_decimals_of_none_on_seconds_and_any_on_days_are_read(tmp_path):
    """`decimals = 0` on a KPI in seconds says what it prints; days print their decimals."""
    path = tmp_path / "kpi.toml"
    path.write_text(HEAD + _SECONDS_KPI + "decimals = 0\n"
                    + _SECONDS_KPI.replace('"wait"', '"age"').replace('"seconds"', '"days"')
                    + "decimals = 2\n", encoding="utf-8")
    project = parse_project_file(path)
    assert (project.kpi("wait").decimals, project.kpi("age").decimals) == (0, 2)


def test_validate_refuses_decimals_on_seconds_in_one_line(tmp_path, cli):
    path = tmp_path / "kpi.toml"
    path.write_text(HEAD + _SECONDS_KPI + "decimals = 1\n", encoding="utf-8")
    got = cli(["catalogue", "--validate", path])
    assert got.exit_code == 3, got.output
    assert got.stderr.splitlines()[0].startswith(f"Error: {path}:")
    assert "key 'decimals': is 1, but a KPI in seconds" in got.stderr
    assert "Traceback" not in got.output


# Every section of kpi.toml written in the wrong shape, with the line it starts on. A KPI
# written `[kpis.total]` (a table) for `[[kpis]]` was read as no KPI at all: `kpi summary`
# printed an empty table with exit 0, and so did a priority or a check written so.
WRONG_SHAPES = [
    ("[kpis.total]\ntitle = \"Total\"\npriority = \"p\"\nkind = \"count\"\ndataset = \"crimes\"\n",
     "[[kpis]]: must be an array of tables: each KPI is its own [[kpis]] table, with its id as a "
     "key: write [[kpis]] and id = \"total\" where [kpis.total] is written"),
    ("[kpis]\n", "[[kpis]]: must be an array of tables: each KPI is its own [[kpis]] table "
                 "(an array of tables)"),
    ("[checks.sum]\ntotal = \"a\"\nparts = [\"b\"]\n",
     "[[checks]]: must be an array of tables: each check is its own [[checks]] table, with its "
     "id as a key: write [[checks]] and id = \"sum\" where [checks.sum] is written"),
    ("[charts.f1]\ntitle = \"T\"\n",
     "[[charts]]: must be an array of tables: each chart is its own [[charts]] table, with its "
     "id as a key: write [[charts]] and id = \"f1\" where [charts.f1] is written"),
    ("paper = \"OFFICIAL\"\n", "[paper]: must be a table"),
    ("defaults = [\"2025-09\"]\n", "[defaults]: must be a table"),
    ("quality = 5\n", "[quality]: must be a table"),
    ("peers = [\"a\", \"b\"]\n", "[peers]: must be a table of peer groups, each [peers.NAME]"),
    ("population_by = \"lpa.csv\"\n",
     "[population_by]: must be a table of column = \"file.csv\""),
]


@pytest.mark.parametrize(("written", "expected"), WRONG_SHAPES,
                         ids=[w.split("\n")[0][:24] for w, _ in WRONG_SHAPES])
def test_a_section_of_the_wrong_shape_is_refused_naming_its_line(tmp_path, written, expected):
    # Top-level keys go before the first table of the head; tables after it.
    text = (written + HEAD) if not written.startswith("[") else (HEAD + "\n" + written)
    path = tmp_path / "kpi.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        parse_project_file(path)
    line = 1 if not written.startswith("[") else HEAD.count("\n") + 2
    assert info.value.message.split("\n") == [f"{path}:{line}: {expected}"]


@pytest.mark.parametrize("section", ["priorities", "datasets", "population", "project"])
def test_a_priority_dataset_population_or_project_of_the_wrong_shape_is_refused(tmp_path,
                                                                              section):
    wrong = {"priorities": "[priorities.p]\ntitle = \"P\"\n",
             "datasets": "[[datasets]]\nid = \"crimes\"\n",
             "population": "population = 1000\n", "project": "project = \"T\"\n"}[section]
    head = HEAD
    for existing in ("[population]\nforce = 1000\n", "[project]\nname = \"T\"\n",
                     "[[priorities]]\nid = \"p\"\ntitle = \"Priority\"\n"):
        if section in existing:
            head = head.replace(existing, "")
    if section == "datasets":
        head = head[:head.index("[datasets.crimes]")] + "[[priorities]]\nid = \"p\"\n"
    path = tmp_path / "kpi.toml"
    path.write_text((wrong + head) if not wrong.startswith("[") else (head + wrong),
                    encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        parse_project_file(path)
    shape = "an array of tables" if section == "priorities" else "a table"
    assert any(f"[{section}]" in line and f"must be {shape}" in line
               for line in info.value.message.split("\n")), info.value.message


def test_kpis_written_as_a_table_are_refused_by_the_summary_not_an_empty_table(tmp_path, cli):
    (tmp_path / "kpi.toml").write_text(HEAD + "\n[kpis.total]\ntitle = \"Total\"\n"
                                       "priority = \"p\"\nkind = \"count\"\n"
                                       "dataset = \"crimes\"\n", encoding="utf-8")
    result = cli(["summary", "--period", "2025-09", "--project", tmp_path])
    assert result.exit_code == 3
    assert "[[kpis]]: must be an array of tables" in result.output
    assert "Traceback" not in result.output


def test_check_of_a_project_with_no_kpi_and_no_check_says_so_not_no_data(tmp_path, cli):
    # It blamed --no-data, which was not given.
    (tmp_path / "kpi.toml").write_text(HEAD, encoding="utf-8")
    result = cli(["check", "--period", "2025-09", "--project", tmp_path])
    assert result.exit_code == 2
    assert ("nothing to check in kpi.toml: it declares no [[checks]] and no live KPI "
            "([[kpis]]) for the data checks") in result.output
    assert "--no-data" not in result.output


# Tables whose keys are names the project chooses (a population, a dataset, a column, a derived
# column, a peer group, a column of [population_by]): a key added there is a new item, judged
# as one. Tables refused whole on any key they do not hold, without naming it: a glossary item
# ("needs title and file") and a date written as a table of columns.
NAME_TABLES = {("population",), ("datasets",), ("datasets", "*", "columns"),
               ("datasets", "*", "derived"), ("peers",), ("population_by",)}
WHOLE_TABLES = {("paper", "glossary", "#"), ("datasets", "*", "date")}
PROJECTS = [Path("datasets/west-midlands"), Path("datasets/police-uk"),
            Path("datasets/home-office-prc"), Path("tests/fixtures/hostile"),
            Path("tests/fixtures/tiny"), Path("tests/fixtures/mini")]


def _tables(node: object, where: tuple = ()):
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _tables(value, (*where, key))
    elif isinstance(node, list):
        for number, value in enumerate(node):
            yield from _tables(value, (*where, number))


def _shape(where: tuple) -> tuple:
    """("datasets", "crimes", "columns") -> ("datasets", "*", "columns"); list items -> "#"."""
    return tuple("#" if isinstance(step, int) else "*" if n and where[n - 1] in (
        "datasets", "columns", "derived", "peers", "population", "population_by") else step
        for n, step in enumerate(where))


def _kind_of(raw: dict, where: tuple) -> str | None:
    """A KPI's kind, for a table inside `[[kpis]]`; None elsewhere."""
    if len(where) >= 2 and where[0] == "kpis":
        return str(raw["kpis"][where[1]].get("kind"))
    return None


def _load_as(path: Path, raw: dict, monkeypatch) -> None:
    import copy
    import tomllib

    from kpi import catalogue, charts, paper

    monkeypatch.setattr(catalogue.tomllib, "loads", lambda text: copy.deepcopy(raw))
    project = catalogue.parse_project_file(path)
    paper.paper_config(project)
    charts.chart_specs(project)
    monkeypatch.setattr(catalogue.tomllib, "loads", tomllib.loads)


@pytest.mark.parametrize("folder", PROJECTS, ids=[str(p) for p in PROJECTS])
def test_a_key_kpi_does_not_read_is_refused_in_every_table_of_kpi_toml(folder, monkeypatch):
    """The invariant behind `baselne = "2023-03"` in [project] (the plan's default baseline
    used, exit 0), `requried = false` on a column, `colour` on a priority or a check: every
    table of every bundled project and fixture, given a key kpi does not read, is refused, by
    a message naming the key. A new section or item that forgets its known keys fails here."""
    import copy
    import tomllib

    root = Path(__file__).resolve().parent.parent
    path = root / folder / "kpi.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    _load_as(path, raw, monkeypatch)  # as written, it loads
    accepted, tried = [], set()
    for where, _ in list(_tables(raw)):
        # One table of each shape (the first KPI, the first column of a dataset, ...): each is
        # judged by the one check of its shape. A KPI's keys depend on its kind: one of each.
        kind = _kind_of(raw, where)
        if _shape(where) in NAME_TABLES or (_shape(where), kind) in tried:
            continue
        tried.add((_shape(where), kind))
        bad = copy.deepcopy(raw)
        node = bad
        for step in where:
            node = node[step]
        node["zz_unread"] = 1
        try:
            _load_as(path, bad, monkeypatch)
        except ConfigError as refused:
            if _shape(where) not in WHOLE_TABLES and "zz_unread" not in refused.message:
                accepted.append((where, refused.message))
        else:
            accepted.append((where, "loaded"))
    assert accepted == []


@pytest.mark.parametrize(("written", "expected"), [
    # "false" as text was true: the column was required, and the KPI hidden from every face.
    ('[datasets.extra]\ndate = "day"\n[datasets.extra.columns]\nday = "date"\n'
     'note = { type = "str", required = "false" }\n',
     "dataset 'extra', key 'columns.note.required': must be true or false"),
    ('[[kpis]]\nid = "k1"\ntitle = "K"\npriority = "p"\nkind = "count"\ndataset = "crimes"\n'
     'hidden = "false"\n', "KPI 'k1', key 'hidden': must be true or false"),
    ('[datasets.extra]\ndate = "day"\n[datasets.extra.columns]\nday = "date"\n'
     'note = { type = "str", requried = false }\n',
     "dataset 'extra', key 'columns.note.requried': unknown key (known: from, label, min, "
     "pattern, required, time_zone, type)"),
])
def test_a_flag_written_as_text_or_a_misspelt_column_key_is_refused(tmp_path, written, expected):
    found = problems(tmp_path, "\n" + written)
    assert any(expected in line for line in found), found


def test_a_misspelt_project_baseline_is_refused_not_the_default_used(tmp_path):
    # The plan's default baseline (the year ending March 2024) was used, exit 0.
    path = tmp_path / "kpi.toml"
    path.write_text(HEAD.replace('name = "T"\n', 'name = "T"\nbaselne = "2023-03"\n'),
                    encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        parse_project_file(path)
    assert info.value.message == (f"{path}:3: [project], key 'baselne': unknown key (known: "
                                  "baseline, data, name, snapshot_baseline)")


KPI_HEAD = '\n[[kpis]]\nid = "k1"\ntitle = "K"\n'


@pytest.mark.parametrize(("written", "expected"), [
    # Each stopped kpi with a traceback ("unhashable type: 'list'") ...
    ('priority = ["p"]\nkind = "count"\ndataset = "crimes"\n',
     "KPI 'k1', key 'priority': must be text (in quotes), found a list"),
    ('priority = "p"\nkind = "count"\ndataset = ["crimes"]\n',
     "KPI 'k1', key 'dataset': must be text (in quotes), found a list"),
    ('priority = "p"\nkind = "per_1000"\ndataset = "crimes"\npopulation = ["force"]\n',
     "KPI 'k1', key 'population': must be text (in quotes), found a list"),
    # ... or printed as Python writes it: "1" and "['Crimes']".
    ('priority = "p"\nkind = "count"\ndataset = "crimes"\ndescription = 1\n',
     "KPI 'k1', key 'description': must be text (in quotes), found a number"),
    ('priority = "p"\nkind = "count"\ndataset = "crimes"\nnotes = true\n',
     "KPI 'k1', key 'notes': must be text (in quotes), found true or false"),
    ('priority = "p"\nkind = "count"\ndataset = "crimes"\ntable = ["T"]\n',
     "KPI 'k1', key 'table': must be text (in quotes), found a list"),
])
def test_a_text_key_holding_a_number_flag_or_list_is_refused_once(tmp_path, written, expected):
    found = problems(tmp_path, KPI_HEAD + written)
    assert found == [next(line for line in found if expected in line)], found


def test_a_text_key_of_a_dataset_check_or_project_is_refused_once(tmp_path):
    path = tmp_path / "kpi.toml"
    path.write_text(HEAD.replace('name = "T"', 'name = ["T"]').replace(
        'date = "day"', 'date = "day"\nunique = [["lpa"]]\ndescription = 2') + KPI_HEAD
        + 'priority = "p"\nkind = "count"\ndataset = "crimes"\n'
        '[[kpis]]\nid = "k2"\ntitle = "K2"\npriority = "p"\nkind = "count"\n'
        'dataset = "crimes"\n[[checks]]\nid = "c"\ntotal = ["k1"]\nparts = ["k1", "k2"]\n',
        encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        parse_project_file(path)
    assert sorted(line.split(": ", 1)[1] for line in info.value.message.split("\n")) == [
        "[project], key 'name': must be text (in quotes), found a list",
        "check 'c', key 'total': must be text (in quotes), found a list",
        "dataset 'crimes', key 'description': must be text (in quotes), found a number",
        "dataset 'crimes', key 'unique': must be a column's name, or a list of columns' names "
        "(each in quotes)"]


TWO_KPIS = (KPI_HEAD + 'priority = "p"\nkind = "count"\ndataset = "crimes"\n'
            '[[kpis]]\nid = "k2"\ntitle = "K2"\npriority = "p"\nkind = "count"\n'
            'dataset = "crimes"\n[[kpis]]\nid = "k3"\ntitle = "K3"\npriority = "p"\n'
            'kind = "count"\ndataset = "crimes"\n')


@pytest.mark.parametrize(("head", "kpis", "expected"), [
    # Read letter by letter, as `parts = "ab"` reconciled KPIs 'a' and 'b', exit 0.
    (HEAD, TWO_KPIS + '[[checks]]\nid = "c"\ntitle = "C"\ntotal = "k1"\nparts = "k2"\n',
     ":40: check 'c', key 'parts': must be a list of KPI ids in square brackets (parts = "
     '["asb_nuisance", "asb_personal"]), found the text "k2"'),
    (HEAD, TWO_KPIS + '[[checks]]\nid = "c"\ntitle = "C"\ntotal = "k1"\nparts = 2\n',
     ":40: check 'c', key 'parts': must be a list of KPI ids in square brackets (parts = "
     '["asb_nuisance", "asb_personal"]), found a number'),
    (HEAD, TWO_KPIS + '[[checks]]\nid = "c"\ntitle = "C"\ntotal = "k1"\n'
     'parts = ["k2", 3]\n',
     ":40: check 'c', key 'parts': must be a list of KPI ids, each in quotes, found a number "
     "in it"),
    (HEAD, TWO_KPIS.replace('dataset = "crimes"\n', 'dataset = "crimes"\ncomponents = "k2"\n',
                            1),
     ":24: KPI 'k1', key 'components': must be a list of KPI ids in square brackets "
     '(components = ["burglary", "robbery"]), found the text "k2"'),
    # 'l', 'p' and 'a' were each "not a column of dataset 'crimes'".
    (HEAD, TWO_KPIS.replace('dataset = "crimes"\n', 'dataset = "crimes"\nbreakdowns = "lpa"\n',
                            1),
     ":24: KPI 'k1', key 'breakdowns': must be a list of columns' names in square brackets "
     '(breakdowns = ["lpa"]), found the text "lpa"'),
    (HEAD, TWO_KPIS.replace('dataset = "crimes"\n', 'dataset = "crimes"\nquotes = "k2"\n', 1),
     ":24: KPI 'k1', key 'quotes': must be a list of KPI ids in square brackets (quotes = "
     '["victims_satisfied"]), found the text "k2"'),
    # The files 'c', 'r', 'i', 'm', 'e', 's', '.', 'c', 's', 'v' were its sources.
    (HEAD.replace('date = "day"', 'date = "day"\nsources = "crimes.csv"'), TWO_KPIS,
     ":9: dataset 'crimes', key 'sources': must be a list of paths in square brackets "
     '(sources = ["extracts/crimes-*.csv"]), found the text "crimes.csv"'),
    # A number stopped kpi with a traceback ("'int' object is not iterable").
    (HEAD.replace('date = "day"', 'date = "day"\nreplace_by = 3'), TWO_KPIS,
     ":9: dataset 'crimes', key 'replace_by': must be a name or a list of columns' names "
     "(each in quotes), found a number"),
    (HEAD.replace('lpa = "str"', 'lpa = { type = "str", from = 3 }'), TWO_KPIS,
     ":11: dataset 'crimes', key 'columns.lpa.from': must be a name or a list of columns' "
     "names (each in quotes), found a number"),
])
def test_text_or_a_number_where_a_list_of_names_belongs_is_refused_once(tmp_path, head, kpis,
                                                                       expected):
    """A list of names written as text was read letter by letter: `parts = "ab"` reconciled
    KPIs 'a' and 'b', exit 0. It is refused when kpi.toml loads, one line naming the key with
    the list it wants; a number there was a traceback."""
    path = tmp_path / "kpi.toml"
    path.write_text(head + kpis, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        parse_project_file(path)
    assert info.value.message == f"{path}{expected}"
    assert info.value.hint == "1 problem in the project file"


def test_one_name_as_text_is_taken_where_a_name_or_a_list_belongs(tmp_path):
    path = tmp_path / "kpi.toml"
    path.write_text(HEAD.replace('date = "day"', 'date = "day"\nreplace_by = "lpa"').replace(
        'lpa = "str"', 'lpa = { type = "str", from = "LPA Name" }') + TWO_KPIS,
        encoding="utf-8")
    spec = parse_project_file(path).datasets["crimes"]
    assert spec.replace_by == ("lpa",)
    assert next(c for c in spec.columns if c.name == "lpa").sources == ("LPA Name",)


def test_a_list_where_an_id_belongs_is_one_line_not_a_traceback(tmp_path, cli):
    (tmp_path / "kpi.toml").write_text(HEAD + KPI_HEAD + 'priority = ["p"]\nkind = "count"\n'
                                       'dataset = "crimes"\n', encoding="utf-8")
    result = cli(["summary", "--period", "2025-09", "--project", tmp_path])
    assert result.exit_code == 3
    assert "key 'priority': must be text (in quotes), found a list" in result.output
    assert "Traceback" not in result.output and "unhashable" not in result.output


def _leaves(node: object, where: tuple = ()):
    """Each value of kpi.toml that is not a table, with its place; a list of values whole."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*where, key))
    elif isinstance(node, list) and any(isinstance(v, (dict, list)) for v in node):
        for number, value in enumerate(node):
            yield from _leaves(value, (*where, number))
    else:
        yield where, node


# Values kpi reads in two forms on purpose: one source name or a list of them, one column to
# replace by or a list, one unique column or a list.
TWO_FORMS = {("datasets", "*", "columns", "*", "from"), ("datasets", "*", "replace_by"),
             ("datasets", "*", "unique")}


@pytest.mark.parametrize("folder", [Path("datasets/west-midlands"), Path("datasets/police-uk"),
                                    Path("tests/fixtures/hostile")], ids=str)
def test_a_value_of_the_wrong_type_anywhere_in_kpi_toml_is_refused_not_read(folder, monkeypatch):
    """Each value of the bundled projects given the wrong type (a text as a number, a flag or
    a list; a number or flag as text; a list as one text) is refused by a ConfigError: never
    read as something else (`description = 1` printed "1", `name = ["T"]` printed "['T']",
    `hidden = "false"` hid the KPI) and never a traceback (`priority = ["p"]`). One of each
    place and type is tried."""
    import copy
    import tomllib

    path = Path(__file__).resolve().parent.parent / folder / "kpi.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    tried, read = set(), []
    for where, value in list(_leaves(raw)):
        if isinstance(value, bool):
            wrongs: list[object] = [str(value).lower()]
        elif isinstance(value, (int, float)):
            wrongs = [str(value), True]
        elif isinstance(value, str):
            wrongs = [1, True, [value]]
        elif isinstance(value, list) and value:
            wrongs = [",".join(map(str, value))]
        else:
            continue
        for wrong in wrongs:
            key = (_shape(where), type(wrong).__name__)
            if key in tried or (_shape(where) in TWO_FORMS and isinstance(wrong, (str, list))):
                continue
            tried.add(key)
            bad = copy.deepcopy(raw)
            node = bad
            for step in where[:-1]:
                node = node[step]
            node[where[-1]] = wrong
            try:
                _load_as(path, bad, monkeypatch)
            except ConfigError:
                continue
            read.append((where, wrong))
    assert read == []


def test_a_project_with_no_kpi_to_report_is_refused_not_an_empty_summary_or_paper(tmp_path, cli):
    # The summary printed an empty table, and the paper "Of the 0 KPIs reported" beside "No
    # KPI is an exception this month", each with exit 0.
    (tmp_path / "kpi.toml").write_text(HEAD, encoding="utf-8")
    for args in (["summary"], ["summary", "--format", "json"],
                 ["export", "markdown", "--output", tmp_path / "board.md"]):
        result = cli([*args, "--period", "2025-09", "--project", tmp_path])
        assert result.exit_code == 3, result.output
        assert "Error: kpi.toml: no KPI to report: it declares none" in result.output
        assert result.stdout == ""
    assert not (tmp_path / "board.md").exists()


def test_a_priority_whose_kpis_are_all_hidden_is_refused(tmp_path, cli):
    (tmp_path / "kpi.toml").write_text(
        HEAD + '[[priorities]]\nid = "q"\ntitle = "Other"\n' + KPI_HEAD
        + 'priority = "p"\nkind = "count"\ndataset = "crimes"\nhidden = true\n'
        + '[[kpis]]\nid = "k2"\ntitle = "K2"\npriority = "q"\nkind = "count"\n'
        'dataset = "crimes"\n', encoding="utf-8")
    result = cli(["summary", "--period", "2025-09", "--priority", "p", "--project", tmp_path])
    assert result.exit_code == 3
    assert ("Error: kpi.toml: no KPI to report: every KPI of the priority asked for is hidden"
            in result.output)


@pytest.mark.parametrize("kind, extra, unit, shown", [
    ("rate", 'numerator = "cost > 10"', "percent", "45.0%"),
    ("sum", 'value = "cost"\nunit = "gbp"', "gbp", "£82.2m"),
    ("mean", 'value = "cost"\nunit = "seconds"', "seconds", "m:ss"),
])
def test_a_unit_label_after_a_figure_of_its_own_sign_is_refused(tmp_path, kind, extra, unit,
                                                                shown):
    """Every face names the unit after a figure by `unit_label` (kpi.render.unit_name): after
    a percentage, an amount in pounds or a duration it read "45.0% working days" (the prose)
    or named an axis of m:ss in working days. Refused naming the key and the unit's own sign;
    a KPI in days or a count takes one."""
    found = problems(tmp_path, f'\n[[kpis]]\nid = "k"\ntitle = "K"\npriority = "p"\n'
                               f'kind = "{kind}"\ndataset = "crimes"\n{extra}\n'
                               'unit_label = "working days"\n')
    assert len(found) == 1 and found[0].endswith(": leave unit_label out"), found
    assert (f"KPI 'k', key 'unit_label': names the unit after a figure, but a KPI in {unit} "
            f"prints its own ({shown}") in found[0]
    for fine, label in (('kind = "count"', "officers"),
                        ('kind = "mean"\nvalue = "cost"\nunit = "days"', "working days")):
        path = tmp_path / "kpi.toml"
        path.write_text(HEAD + f'\n[[kpis]]\nid = "k"\ntitle = "K"\npriority = "p"\n{fine}\n'
                        f'dataset = "crimes"\nunit_label = "{label}"\n', encoding="utf-8")
        assert parse_project_file(path).kpi("k").unit_label == label


@pytest.mark.parametrize("kind, extra, label, message", [
    ("mean", 'value = "cost"\nunit = "days"', "minutes",
     "names minutes, but this KPI's figures are in days, and a label scales nothing (3.0 days "
     "would print \"3.0 minutes\"): name days (\"working days\") or leave unit_label out, or "
     "give the value in minutes with unit = \"number\""),
    ("mean", 'value = "cost"\nunit = "days"', "working hours",
     "names hours, but this KPI's figures are in days"),
    ("mean", 'value = "cost"\nunit = "days"', "shifts",
     "names no unit, but every face prints it in place of \"days\" after this KPI's figures, "
     "which are in days: name days (\"working days\") or leave unit_label out"),
    ("count", "", "hours",
     "names hours, but this KPI's figures are a number of rows, and a label scales nothing "
     "(24 rows would print \"24 hours\"): name what is counted (\"officers\") or leave "
     "unit_label out, or give the value in hours with unit = \"number\""),
    ("count", "", "per 1,000 residents", "names per 1,000, but this KPI's figures are a number "
     "of rows"),
    ("per_1000", 'population = "force"', "percent",
     "names percent, but this KPI's figures are per 1,000, and a label scales nothing (3.0 per "
     "1,000 would print \"3.0 percent\"): name per 1,000 (\"per 1,000 residents\") or leave "
     "unit_label out"),
    ("per_1000", 'population = "force"', "per 10,000 population",
     "names per 10,000, but this KPI's figures are per 1,000"),
    ("per_1000", 'population = "force"', "%", "names percent, but"),
    ("ratio_of_rates", 'numerator = "lpa = \'A\'"\ndenominator = "lpa = \'B\'"\n'
     'populations = ["force", "force"]', "per cent", "names percent, but this KPI's figures "
     "are a ratio, and a label scales nothing (a ratio of 3.0 would print \"3.0 per cent\")"),
])
def test_a_unit_label_naming_another_unit_than_the_figures_is_refused(tmp_path, kind, extra,
                                                                     label, message):
    """A label scales nothing: every face prints it after the figure in place of its unit's
    own name, so a mean of days labelled "minutes" read "3.0 minutes" for 3 days, exit 0.
    Refused, naming the key and the unit the figures are in."""
    found = problems(tmp_path, f'\n[[kpis]]\nid = "k"\ntitle = "K"\npriority = "p"\n'
                               f'kind = "{kind}"\ndataset = "crimes"\n{extra}\n'
                               f'unit_label = "{label}"\n')
    assert len(found) == 1 and f"KPI 'k', key 'unit_label': {message}" in found[0], found


@pytest.mark.parametrize("kind, extra, label", [
    ("mean", 'value = "cost"\nunit = "days"', "calendar days"),
    ("mean", 'value = "cost"\nunit = "days"', "days per case"),
    ("per_1000", 'population = "force"', "per 1,000 residents per year"),
    ("per_1000", 'population = "force"', "per thousand people"),
    ("count", "", "officers"),
    ("sum", 'value = "cost"', "hours"),
    ("mean", 'value = "cost"\nunit = "number"', "minutes"),
    ("weighted_score", 'weights = "w.csv"\nweight_key = "lpa"\nmultiplier = 0.000001',
     "million days"),
    ("count", 'unit = "number"\nmultiplier = 10', "per 10,000 population"),
])
def test_a_unit_label_of_the_figures_unit_or_of_a_unit_kpi_does_not_know_is_kept(
        tmp_path, kind, extra, label):
    """Where kpi works the unit out (days, per 1,000) a label naming it is kept; where it does
    not (a sum or mean of a value, a number, a score), the label is what says the unit."""
    (tmp_path / "w.csv").write_text("lpa,weight\nA,2\n", encoding="utf-8")
    path = tmp_path / "kpi.toml"
    path.write_text(HEAD + f'\n[[kpis]]\nid = "k"\ntitle = "K"\npriority = "p"\n'
                    f'kind = "{kind}"\ndataset = "crimes"\n{extra}\nunit_label = "{label}"\n',
                    encoding="utf-8")
    assert parse_project_file(path).kpi("k").unit_label == label


# A dataset of cases with two dates, whose difference kpi works out in days (or seconds).
CASES = HEAD.replace('cost = "float"', 'cost = "float"\nopened = "date"\nclosed = "date"\n'
                     'outcome = "str"')


def _labelled(tmp_path: Path, kind: str, extra: str, label: str | None):
    """The KPI 'k' of `kind` on the cases, with `extra` keys and `unit_label` (none if None):
    the KPI parsed, or the problems refusing it."""
    path = tmp_path / "kpi.toml"
    path.write_text(CASES + f'\n[[kpis]]\nid = "k"\ntitle = "K"\npriority = "p"\n'
                    f'kind = "{kind}"\ndataset = "crimes"\n{extra}\n'
                    + (f'unit_label = "{label}"\n' if label is not None else ""),
                    encoding="utf-8")
    try:
        return parse_project_file(path).kpi("k")
    except ConfigError as refused:
        return refused.message.split("\n")


DAYS = 'value = "closed - opened"\nunit = "days"'


@pytest.mark.parametrize("kind, extra, label", [
    # a time or a percentage after the head says who or which rows are counted, not the
    # unit (each refused by the rule before, which read any time word anywhere as the unit)
    ("count", "", "HR referrals"),
    ("count", "", "same-day visits"),
    ("count", "", "victims aged 18 years and over"),
    ("count", "", "incidents within 24 hours"),
    ("count", "", "crimes (rolling 12 months)"),
    ("count", "", "crimes (year to date)"),
    ("count", "", "crimes (up 5% on last year)"),
    ("mean", DAYS, "days (12-month average)"),
    ("mean", DAYS, "days to charge (12 months)"),
    ("mean", DAYS, "average number of days to charge"),
    ("per_1000", 'population = "force"', "per 1,000 population (12 months to March)"),
    ("per_1000", 'population = "force"', "rate per 1,000 (rolling 12 months)"),
    ("per_1000", 'population = "force"', "per 1k population"),
    # a count of a condition counts rows, named by what is counted
    ("count", "value = \"outcome = 'Charged'\"", "crimes charged"),
    # a rate per 1,000 times 10 is one per 10,000, whatever its unit
    ("per_1000", 'population = "force"\nunit = "number"\nmultiplier = 10',
     "per 10,000 population"),
    # a duration in days times 24 is in hours, times 1,440 in minutes; another multiplier
    # gives a unit kpi cannot name, which the label says
    ("mean", DAYS + "\nmultiplier = 24", "hours"),
    ("mean", DAYS + "\nmultiplier = 1440", "minutes to close"),
    ("mean", DAYS + "\nmultiplier = 0.0328767", "years"),
    # a value that is no duration is given in days by its multiplier (hours / 24)
    ("mean", 'value = "cost"\nunit = "days"\nmultiplier = 0.041666667', "days"),
    # rows times a multiplier are in a unit kpi does not know: a monthly mean of them
    ("count", 'unit = "number"\nmultiplier = 0.083333333', "crimes per month"),
])
def test_a_unit_label_names_its_unit_in_its_head(tmp_path, kind, extra, label):
    """A label's unit is named by its head, the words before a qualifier (a bracket, 'within',
    'aged', 'to', 'of' ...); a time, a percentage or a rate in the qualifier says who or which
    window is counted. Keyed on the kind, which fixes what the figure is."""
    kpi = _labelled(tmp_path, kind, extra, label)
    assert not isinstance(kpi, list), kpi
    assert kpi.unit_label == label


@pytest.mark.parametrize("kind, extra, label, key, message", [
    # rows counted through a condition as value are rows, as through a filter: 6 of 24 crimes
    # charged printed "6 % of crimes charged"
    ("count", "value = \"outcome = 'Charged'\"", "% of crimes charged", "unit_label",
     "names percent, but this KPI's figures are a number of rows, and a label scales nothing "
     "(24 rows would print \"24 % of crimes charged\")"),
    ("sum", "value = \"outcome = 'Charged'\"", "hours", "unit_label",
     "names hours, but this KPI's figures are a number of rows"),
    # 6 crimes charged in 12 months printed "6 crimes charged per month" (0.5 a month)
    ("count", "", "crimes charged per month", "unit_label",
     "names a rate per month, but this KPI's figures are a number of rows, all those of its "
     "window (12 months, or the year to date), and a label scales nothing (24 rows would "
     "print \"24 crimes charged per month\"): name what is counted (\"officers\") or leave "
     "unit_label out"),
    ("count", "", "incidents per day", "unit_label", "names a rate per day, but"),
    ("count", "", "monthly crimes", "unit_label", "names a rate per month, but"),
    ("count", "", "24 hrs", "unit_label", "names hours, but"),
    # a rate per 1,000 of 9.0 in unit number printed "9.0 per 10,000 population" (90), and in
    # unit count "9.0 crimes"
    ("per_1000", 'population = "force"\nunit = "number"', "per 10,000 population",
     "unit_label", "names per 10,000, but this KPI's figures are per 1,000, and a label "
     "scales nothing (3.0 per 1,000 would print \"3.0 per 10,000 population\")"),
    ("per_1000", 'population = "force"\nunit = "count"', "crimes", "unit_label",
     "names no unit, but this KPI's figures are per 1,000, and every face prints the label "
     "after them: name per 1,000 (\"per 1,000 residents\") or leave unit_label out"),
    ("per_1000", 'population = "force"\nunit = "number"\nmultiplier = 10', "per 1,000",
     "unit_label", "names per 1,000, but this KPI's figures are per 10,000"),
    # a mean of 3 days times 24 printed "72.0 working days", and with no label "72.0 days"
    ("mean", DAYS + "\nmultiplier = 24", "working days", "unit_label",
     "names days, but this KPI's figures are in hours (days x 24), and a label scales "
     "nothing (3.0 hours would print \"3.0 working days\"): name hours (\"hours\") or leave "
     "unit_label out"),
    ("mean", DAYS + "\nmultiplier = 24", "shifts", "unit_label",
     "names no unit, but this KPI's figures are in hours (days x 24), and every face prints "
     "the label after them: name hours (\"hours\") or leave unit_label out"),
    ("mean", DAYS + "\nmultiplier = 24", None, "multiplier",
     "is 24, so this KPI's figures (a duration kpi works out in days) are in hours, days x "
     "24, which every face would name \"days\" with no unit_label: give unit_label = "
     "\"hours\", or leave the multiplier out"),
    ("mean", DAYS + "\nmultiplier = 3", None, "multiplier",
     "are in days x 3, a unit kpi cannot name, which every face would name \"days\""),
    # a duration in seconds divided by 60 is in minutes, which m:ss would print as seconds
    ('mean', 'value = "closed - opened"\nunit = "seconds"\nmultiplier = 0.016666667', None,
     "multiplier", "are in minutes, seconds x 0.0166667, which a KPI in seconds prints as "
     "m:ss: give unit = \"number\" and unit_label = \"minutes\""),
])
def test_a_unit_label_naming_what_the_kind_makes_another_unit_is_refused(
        tmp_path, kind, extra, label, key, message):
    """The kind fixes what a figure is (rows counted, through a filter or a condition summed;
    a rate per 1,000 times its multiplier), and a duration kpi works out in days, times a
    multiplier, is in the time it makes: a label naming another unit, a rate per a time on
    rows of 12 months, or none where the figure would be named "days", is refused."""
    found = _labelled(tmp_path, kind, extra, label)
    assert isinstance(found, list) and len(found) == 1, found
    assert f"KPI 'k', key '{key}': " in found[0] and message in found[0], found



MONTH_FROM_TOML = """\
[project]
name = "Blank"
baseline = "2024-03"

[datasets.crimes]
date = DATE
[datasets.crimes.columns]
COLUMNS
x = "str"

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


@pytest.mark.parametrize(("date", "columns", "column", "line"), [
    ('"recorded"', 'recorded = { type = "date", required = false }', "recorded", 8),
    ('{ financial_year = "fy", quarter = "q" }',
     'fy = "str"\nq = { type = "int", required = false }', "q", 9),
])
def test_a_column_each_rows_month_is_read_from_may_not_be_left_out(tmp_path, cli, date,
                                                                    columns, column, line):
    """A date column (or a year or quarter column of `date = { ... }`) declared `required =
    false` was taken, and an extract without it stopped `kpi ingest` with a traceback
    ("'NoneType' object has no attribute 'strftime'"): its rows have no month. It is refused
    when kpi.toml loads, naming the key and line (exit 3), so no load reaches it."""
    root = tmp_path / "month from"
    root.mkdir()
    (root / "kpi.toml").write_text(MONTH_FROM_TOML.replace("DATE", date)
                                   .replace("COLUMNS", columns), encoding="utf-8")
    (root / "d.csv").write_text("x\na\n", encoding="utf-8")
    for command in (["catalogue"], ["ingest", "crimes", root / "d.csv"]):
        result = cli(["--project", root, *command])
        assert result.exit_code == 3, result.output
        assert "Traceback" not in result.output
        assert (f"kpi.toml:{line}: dataset 'crimes', key 'columns.{column}.required': must be "
                "true: each row's month is read from this column, so an extract cannot leave "
                "it out") in result.output


@pytest.mark.parametrize(("parts", "expected"), [
    ('["k2", "k2", "k3"]', "check 'c', key 'parts': names 'k2' twice: each part is added once"),
    ('["k1", "k2"]', "check 'c', key 'parts': names the total 'k1' as one of its parts"),
])
def test_a_check_adds_each_part_once_and_never_its_total(tmp_path, parts, expected):
    """`parts = ["a", "a", "b"]`, a copy-paste slip for part c, passed "48 + 48 + 24 = 120"
    with c never reconciled, exit 0: a part named twice, or the total named as a part, is
    refused naming it."""
    kpis = "".join(f'\n[[kpis]]\nid = "{k}"\ntitle = "{k}"\npriority = "p"\nkind = "count"\n'
                   'dataset = "crimes"\n' for k in ("k1", "k2", "k3"))
    found = problems(tmp_path, kpis + f'\n[[checks]]\nid = "c"\ntotal = "k1"\nparts = {parts}\n')
    assert [line.split(": ", 1)[1] for line in found] == [expected], found


@pytest.mark.parametrize(("numerator", "denominator", "within"), [
    ("offence = 'Violence with injury' AND lpa = 'A'", "offence = 'Violence  with injury'",
     False),
    ("offence = 'Violence  with injury'  AND  lpa = 'A'", "offence  =  'Violence  with injury'",
     True),
    ("(lpa = 'A')  AND x = 'b  c'", "lpa = 'A'", True),
    ("lpa = 'a' AND x = 1", "lpa = 'A'", False),
])
def test_a_filter_narrows_another_only_as_written_inside_its_quotes(numerator, denominator,
                                                                   within):
    """Whether a rate's numerator KPI counts only rows its denominator counts is proven from
    the filters' text: spacing between words is not the filter's, but spacing inside a quoted
    string is. Two systems writing 'Violence  with injury' and 'Violence with injury' select
    no row in common, yet the numerator was "proven" nested (two proportions, z = 2.40,
    significant, where the Poisson test per denominator gives p = 0.063)."""
    from kpi.catalogue import _narrower

    assert _narrower(numerator, denominator) is within


@pytest.mark.parametrize(("key", "written", "expected"), [
    # copied from an extract's cell (a web page or Excel gives the no-break space): stored
    # trimmed, so no cell is 'Dudley ' and the KPI counted 0 where Dudley has every row
    ("filter", "lpa IN ('Dudley\\u00a0', 'Walsall')",
     "compares lpa with 'Dudley ', which no stored lpa is: cells are stored without spaces "
     "before and after, so write 'Dudley'"),
    ("filter", "'Walsall ' = lpa", "compares lpa with 'Walsall ', which no stored lpa is"),
    ("filter", "lpa NOT IN (' Dudley')", "compares lpa with ' Dudley', which no stored lpa"),
    # a blank cell is stored as no value: `= ''` counted 0.0% where half the rows are blank
    ("numerator", "lpa = ''",
     "compares lpa with '', which no stored lpa is: a blank cell is stored as no value, so "
     "write lpa IS NULL (or lpa IS NOT NULL) for the rows without one"),
    ("numerator", "lpa IS NOT DISTINCT FROM '  '", "compares lpa with '  ', which no stored"),
    # a value it would leave out, but no cell is 'Walsall ': every Walsall row was counted
    ("numerator", "lpa <> 'Walsall '", "compares lpa with 'Walsall ', which no stored lpa is"),
    # a simple CASE compares its subject with each WHEN: it counted 0 where the searched CASE,
    # `CASE WHEN lpa = 'Walsall ' ...`, was refused
    ("filter", "CASE lpa WHEN 'Walsall ' THEN TRUE ELSE FALSE END",
     "compares lpa with 'Walsall ', which no stored lpa is"),
    ("numerator", "CASE lpa WHEN 'Dudley' THEN FALSE WHEN '' THEN TRUE ELSE FALSE END",
     "compares lpa with '', which no stored lpa is"),
    # the column behind a function or CASE whose answer is its value, a literal cast, ANY and
    # NULLIF: each counted 0 (NULLIF every row) where `lpa = 'Walsall '` is refused
    ("filter", "COALESCE(lpa, 'Unknown') = 'Walsall '", "compares lpa with 'Walsall '"),
    ("filter", "IF(lpa IS NULL, 'none', lpa) = 'Walsall '", "compares lpa with 'Walsall '"),
    ("filter", "CASE WHEN lpa IS NULL THEN 'none' ELSE lpa END IN ('Walsall ')",
     "compares lpa with 'Walsall '"),
    ("filter", "lpa = ANY(['Walsall '])", "compares lpa with 'Walsall '"),
    ("filter", "lpa = CAST('Walsall ' AS VARCHAR)", "compares lpa with 'Walsall '"),
    ("filter", "NULLIF(lpa, 'Walsall ') IS NOT NULL", "compares lpa with 'Walsall '"),
    # a literal the change of a text can never give: 0 rows (as <>, every row), exit 0
    ("filter", "UPPER(lpa) = 'Dudley'",
     "compares UPPER(lpa) with 'Dudley', which UPPER(lpa) never matches, so write 'DUDLEY'"),
    ("numerator", "LOWER(lpa) IN ('walsall', 'Dudley')",
     "compares LOWER(lpa) with 'Dudley', which LOWER(lpa) never matches, so write 'dudley'"),
    ("numerator", "LOWER(lpa) <> 'Walsall'", "compares LOWER(lpa) with 'Walsall', which"),
    ("filter", "TRIM(lpa) = ' Dudley'",
     "compares TRIM(lpa) with ' Dudley', which TRIM(lpa) never matches, so write 'Dudley'"),
    ("filter", "RTRIM(lpa) IS NOT DISTINCT FROM 'Dudley '",
     "compares RTRIM(lpa) with 'Dudley ', which RTRIM(lpa) never matches, so write 'Dudley'"),
    ("filter", "UPPER(lpa) LIKE 'Dud%'",
     "compares UPPER(lpa) with 'Dud%', which UPPER(lpa) never matches, so write 'DUD%'"),
    # what the change keeps, carried through what keeps it and judged in every comparison:
    # each counted 0 (DuckDB agrees: `test_a_kept_case_wrapped_holds_on_no_row_in_duckdb`)
    ("filter", "REGEXP_LIKE(UPPER(lpa), 'dud')",
     "compares UPPER(lpa) with 'dud', which UPPER(lpa) never matches, so write 'DUD'"),
    ("filter", "LEFT(UPPER(lpa), 3) = 'Dud'", "compares LEFT(UPPER(lpa), 3) with 'Dud', which"),
    ("filter", "UPPER(lpa) || '' = 'Dudley'", "compares UPPER(lpa) || '' with 'Dudley', which"),
    ("filter", "CONCAT(UPPER(lpa), '') = 'Dudley'",
     "compares CONCAT(UPPER(lpa), '') with 'Dudley', which"),
    ("filter", "REPLACE(UPPER(lpa), '-', ' ') = 'Dudley'",
     "compares REPLACE(UPPER(lpa), '-', ' ') with 'Dudley', which"),
    ("filter", "CASE UPPER(lpa) WHEN 'Dudley' THEN TRUE ELSE FALSE END",
     "compares UPPER(lpa) with 'Dudley', which UPPER(lpa) never matches, so write 'DUDLEY'"),
    ("filter", "UPPER(lpa) = ANY(['Dudley'])", "compares UPPER(lpa) with 'Dudley', which"),
    ("filter", "COALESCE(UPPER(lpa), 'none') = 'Dudley'",
     "compares COALESCE(UPPER(lpa), 'none') with 'Dudley', which"),
    ("filter", "STARTS_WITH(UPPER(lpa), 'Du')", "compares UPPER(lpa) with 'Du', which"),
    ("filter", "STARTS_WITH(TRIM(lpa), ' Du')", "compares TRIM(lpa) with ' Du', which"),
    ("filter", "NULLIF(LOWER(lpa), 'Dudley') IS NULL", "compares LOWER(lpa) with 'Dudley',"),
])
def test_a_text_literal_no_stored_cell_can_equal_is_refused_naming_the_line(tmp_path, key,
                                                                           written, expected):
    found = problems(tmp_path, f'\n[[kpis]]\nid = "k1"\ntitle = "K"\npriority = "p"\n'
                               f'kind = "rate"\ndataset = "crimes"\n{key} = "{written}"\n')
    path = tmp_path / "kpi.toml"
    assert any(line.startswith(f"{path}:24: KPI 'k1', key '{key}': {expected}")
               for line in found), found


@pytest.mark.parametrize("written", [
    "UPPER(lpa) = 'DUDLEY'", "LOWER(lpa) IN ('dudley', 'walsall 2')", "LTRIM(lpa) = 'Dudley '",
    "RTRIM(lpa) = ' Dudley'", "TRIM(BOTH 'x' FROM lpa) = ' Dudley'", "UPPER(lpa) LIKE 'DUD%'",
    "UPPER(lpa) = 'STRASSE ß'", "LOWER(lpa) ILIKE 'Dud%'",
    # a literal the text, changed and then kept so, can give; a stand-in given as written
    "LEFT(UPPER(lpa), 3) = 'DUD'", "UPPER(lpa) || 'x' = 'DUDLEYx'",
    "REPLACE(UPPER(lpa), 'A', 'a') = 'DUDLEY'", "COALESCE(UPPER(lpa), 'none') = 'none'",
    "COALESCE(UPPER(lpa), 'none') LIKE 'no%'", "LEFT(COALESCE(UPPER(lpa), 'Unknown'), 3) = 'Unk'",
    "STARTS_WITH(TRIM(lpa), 'Du ')", "LEFT(TRIM(lpa), 2) = 'D '",
    "REGEXP_LIKE(UPPER(lpa), '^[DW]')", "REGEXP_LIKE(UPPER(lpa), 'DUD')"])
def test_a_literal_the_change_of_a_text_can_give_is_read(tmp_path, written):
    """A literal UPPER, LOWER or TRIM can give (a letter with no case, a space where the
    change leaves one, a letter whose other case is two letters), through what keeps the
    change or not, is read as written; a regular expression with a class or flag is not
    judged."""
    path = tmp_path / "kpi.toml"
    path.write_text(HEAD + f'\n[[kpis]]\nid = "k1"\ntitle = "K"\npriority = "p"\n'
                           f'kind = "count"\ndataset = "crimes"\nfilter = "{written}"\n'
                           'better = "lower"\n', encoding="utf-8")
    assert parse_project_file(path).kpis[0].filter == written


@pytest.mark.parametrize("written", ["up = 'Dudley'", "up LIKE '%dud%'",
                                     "LEFT(up, 3) IN ('Dud')"])
def test_a_literal_a_derived_columns_change_can_never_give_is_refused(tmp_path, written):
    """`up = "UPPER(lpa)"` then `up = 'Dudley'` counted 0, exit 0, where `UPPER(lpa) =
    'Dudley'` is refused: a derived column is judged by its expression."""
    path = tmp_path / "kpi.toml"
    path.write_text(HEAD.replace("cost = \"float\"\n", "cost = \"float\"\n[datasets.crimes"
                                 ".derived]\nup = \"UPPER(lpa)\"\n") + (
        f'\n[[kpis]]\nid = "k1"\ntitle = "K"\npriority = "p"\nkind = "count"\n'
        f'dataset = "crimes"\nfilter = "{written}"\n'), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        parse_project_file(path)
    assert "which up never matches" in info.value.message or "which LEFT(up, 3) never matches" \
        in info.value.message, info.value.message


def test_a_kept_case_wrapped_holds_on_no_row_in_duckdb():
    """The refused comparisons above, by DuckDB over 'Dudley' and 'dudley-north': each holds
    on no row, where the literal they are told to write holds on the Dudley rows."""
    duckdb = pytest.importorskip("duckdb")
    rows = "(VALUES ('Dudley'), ('dudley-north'), (' Walsall')) AS t(lpa)"

    def count(where: str) -> int:
        return duckdb.sql(f"SELECT COUNT(*) FROM {rows} WHERE {where}").fetchone()[0]

    for refused, written, right in [
            ("REGEXP_MATCHES(UPPER(lpa), 'dud')", "'DUD'", 2),
            ("LEFT(UPPER(lpa), 3) = 'Dud'", "'DUD'", 2),
            ("UPPER(lpa) || '' = 'Dudley'", "'DUDLEY'", 1),
            ("REPLACE(UPPER(lpa), '-', ' ') = 'Dudley North'", "'DUDLEY NORTH'", 1),
            ("COALESCE(UPPER(lpa), 'none') = 'Dudley'", "'DUDLEY'", 1),
            ("STARTS_WITH(UPPER(lpa), 'Du')", "'DU'", 2),
            ("STARTS_WITH(TRIM(lpa), ' Wa')", "'Wa'", 1)]:
        literal = refused.split("'")[-2]
        assert count(refused) == 0, refused
        assert count(refused.replace(f"'{literal}'", written)) == right, refused


def test_a_derived_column_comparing_text_no_cell_can_equal_is_refused(tmp_path):
    path = tmp_path / "kpi.toml"
    path.write_text(HEAD.replace("cost = \"float\"\n", "cost = \"float\"\n[datasets.crimes"
                                 ".derived]\nwalsall = \"lpa = 'Walsall '\"\n"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        parse_project_file(path)
    assert "key 'derived.walsall': compares lpa with 'Walsall ', which no stored lpa is" \
        in info.value.message


@pytest.mark.parametrize("area", ["lpa", "COALESCE(lpa, 'Unknown')"])
def test_a_literal_compared_with_a_derived_column_of_a_columns_value_is_held_to_its_cells(
        tmp_path, area):
    """`area = "lpa"` (a column renamed, as `force = "falls_within"` is): `area = 'Walsall '`
    counted 0 where `lpa = 'Walsall '` is refused; it is compared with lpa's stored cells."""
    path = tmp_path / "kpi.toml"
    path.write_text(HEAD.replace("cost = \"float\"\n", "cost = \"float\"\n[datasets.crimes"
                                 f".derived]\narea = \"{area}\"\n") + (
        '\n[[kpis]]\nid = "k1"\ntitle = "K"\npriority = "p"\nkind = "count"\n'
        "dataset = \"crimes\"\nfilter = \"area IN ('Walsall ', 'Sandwell')\"\n"),
        encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        parse_project_file(path)
    assert "compares area with 'Walsall ', which no stored area is" in info.value.message


def test_text_a_stored_cell_can_equal_and_edge_spaces_not_compared_with_a_column_are_read(
        tmp_path):
    """Only a literal compared for equality with a stored text column is held to the stored
    form: a pattern or a column's text made longer is read as written; and `lpa <> ''` (NOT
    IN, IS DISTINCT FROM) is every stored lpa, as meant ("not blank")."""
    path = tmp_path / "kpi.toml"
    path.write_text(HEAD + """
[[kpis]]
id = "k1"
title = "K"
priority = "p"
kind = "rate"
dataset = "crimes"
filter = "lpa IN ('Dudley', 'Walsall') OR lpa LIKE 'West %' OR CONCAT(lpa, ' ') = 'Dudley '"
numerator = "lpa <> '' AND lpa NOT IN ('') AND lpa IS DISTINCT FROM ' '"
""", encoding="utf-8")
    project = parse_project_file(path)
    assert project.kpis[0].filter == (
        "lpa IN ('Dudley', 'Walsall') OR lpa LIKE 'West %' OR CONCAT(lpa, ' ') = 'Dudley '")


@pytest.mark.parametrize(("scene", "deployed", "refused"), [
    ("seconds", "days", True), ("days", "seconds", True), ("seconds", "seconds", False),
    ("days", "days", False)])
def test_a_rate_of_two_durations_in_different_units_is_refused(tmp_path, scene, deployed,
                                                                refused):
    """12 hours on scene in seconds over 24 hours deployed in days read 4,320,000.0%, 86,400
    times the 50.0% they are, exit 0: a rate of two KPIs divides their figures as printed."""
    path = tmp_path / "kpi.toml"
    path.write_text(
        '[project]\nname = "T"\n[datasets.d]\ndate = "deployed"\n[datasets.d.columns]\n'
        'deployed = "datetime"\narrived = "datetime"\ncleared = "datetime"\n'
        '[[priorities]]\nid = "p"\ntitle = "P"\n'
        '[[kpis]]\nid = "scene"\ntitle = "S"\npriority = "p"\nkind = "sum"\ndataset = "d"\n'
        f'value = "cleared - arrived"\nunit = "{scene}"\nbetter = "neutral"\n'
        '[[kpis]]\nid = "out"\ntitle = "O"\npriority = "p"\nkind = "sum"\ndataset = "d"\n'
        f'value = "cleared - deployed"\nunit = "{deployed}"\nbetter = "neutral"\n'
        '[[kpis]]\nid = "share"\ntitle = "Share"\npriority = "p"\nkind = "rate"\n'
        'numerator_kpi = "scene"\ndenominator_kpi = "out"\nbetter = "neutral"\n',
        encoding="utf-8")
    if not refused:
        assert parse_project_file(path).kpi("share").ratio_of == ("scene", "out")
        return
    with pytest.raises(ConfigError) as info:
        parse_project_file(path)
    assert info.value.message == (
        f"{path}:36: KPI 'share', key 'denominator_kpi': 'scene' is in {scene} and 'out' in "
        f"{deployed}, and a rate of two KPIs divides their figures as printed: give both the "
        "same unit")
