"""A KPI's unit reads the same in every face: each KPI of the bundled projects whose figures
are printed with the name of a unit (a `unit_label`, "working days", "million days", or the
unit `days`) is printed with that name, and no other, by every face that prints its figures
with a unit: the terminal summary, its Markdown, JSON, CSV, csv-excel and workbook, `kpi show`
(its text, JSON and workbook), `kpi compare` (its table and sentence, CSV), the board paper
(its prose, tables, exceptions, alt text and figures file), the "Figures revised since the
last paper" table, the charts' axes and bar labels, and the Python face.

The oracle is independent of kpi's rendering: the name declared is read from kpi.toml with
tomllib (the `unit_label`, else "days" for `unit = "days"`), and each face's text is searched
for a number followed by a word for days ("27 days", "27 working days", "41.4 million
days"): each must be the declared name, or its singular after a one. A hand-made project of
14 forces in working days with a peer group (`test_unit_label_sentences.PROJECT`) adds the
faces the sample has no data for: the peers chart and `kpi compare`'s peer ranking."""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from pathlib import Path

import pytest
from test_faces import excel_shown
from test_unit_label_sentences import write_project

REPO = Path(__file__).resolve().parent.parent
BUNDLED = sorted(REPO.glob("datasets/*/kpi.toml"))

# A number followed by a word for days, with the word between them where there is one (part
# of the unit's name: "27 working days").
_NAMED = re.compile(r"(?<![\w.])[\u2212+-]?\d[\d,]*(?:\.\d+)?[ \u00a0]"
                    r"((?:[^\W\d_]+[ \u00a0])?days?)\b")
_SCALE = ("thousand", "million", "billion")


def declared(item: dict) -> str:
    """The name a KPI's figures are declared in, read from kpi.toml: its `unit_label`, else
    "days" for a KPI in days; "" where none is declared."""
    label = " ".join(str(item.get("unit_label", "")).split())
    return label or ("days" if item.get("unit") == "days" else "")


def allowed(name: str) -> set[str]:
    """The declared name, and its singular after a figure of one ("1 working day"), where
    the name is a plural that does not count in a scale word."""
    words = name.split(" ")
    if words[-1].endswith("s") and not set(words) & set(_SCALE):
        return {name, " ".join([*words[:-1], words[-1][:-1]])}
    return {name}


def wrongly_named(text: str, name: str, title: str = "") -> list[str]:
    """Each figure of `text` followed by a word for days that is not the declared `name`
    (a KPI's `title`, which may say "(working days)" itself, left out)."""
    if title:
        text = text.replace(title, " ")
    ok = allowed(name)
    return [m.group(0) for m in _NAMED.finditer(text.replace("\\", ""))
            if " ".join(m.group(1).split()) not in ok]


def named(text: str, name: str) -> bool:
    """Whether a figure of `text` is followed by the declared name."""
    return any(" ".join(m.group(1).split()) in allowed(name)
               for m in _NAMED.finditer(text.replace("\\", "")))


def _named_kpis(toml: Path) -> dict[str, tuple[str, str, str]]:
    """Each KPI of a project whose figures are declared in a named unit: id -> (title, name,
    unit)."""
    data = tomllib.loads(toml.read_text(encoding="utf-8"))
    return {k["id"]: (k["title"], declared(k), k.get("unit", ""))
            for k in data.get("kpis", []) if declared(k) and not k.get("hidden")}


def test_the_oracle_reads_a_wrong_name_and_passes_the_declared_one():
    assert wrongly_named("8.8 days against 9.0 working days", "working days") == ["8.8 days"]
    assert wrongly_named("1 working day, 2 working days", "working days") == []
    assert wrongly_named("183 working days", "days") == ["183 working days"]
    assert wrongly_named("41.4 million days, down 5.7 million days", "million days") == []
    assert wrongly_named("41.4 days", "million days") == ["41.4 days"]
    assert wrongly_named("in 6 months, 30 days", "working days") == ["30 days"]
    assert named("27 working days", "working days") and not named("27 days", "working days")


# ---------------------------------------------------------------------------------------------
# Every KPI of every bundled project, by the functions every face prints through


@pytest.mark.parametrize("toml", BUNDLED, ids=lambda p: p.parent.name)
def test_every_bundled_kpi_prints_its_declared_unit_through_every_printer(toml):
    """Each KPI of each bundled project, figures of 0, 1 and 27.25: the summary's and the
    tables' figure (`render.number`), the prose's (`render.kpi_value`), a change, a process
    chart's statistic, the charts' axes and the workbook's number format show the name the
    catalogue declares, and no other."""
    from kpi import catalogue, charts, render
    from kpi.engine import Change
    from kpi.writers.xlsx import number_format

    project = catalogue.load_project_file(toml)
    names = _named_kpis(toml)
    checked = 0
    for kpi in project.kpis:
        title, name, _ = names.get(kpi.id, (kpi.title, "", ""))
        for value in (0.0, 1.0, 27.25):
            faces = {
                "number": render.number(value, kpi),
                "prose": render.kpi_value(value, kpi),
                "statistic": render.statistic(value, kpi, 1),
                "change": render.change_text(Change(value, 5.0, None, 0), kpi),
                "axis": charts.axis_label(kpi, width=200),
                "workbook": excel_shown(value, number_format(
                    kpi.unit.value, render.places(kpi), value=value,
                    name=render.unit_name(kpi))),
                "json": f"{value} {render.unit_name(kpi)}",
            }
            if not name:
                # No named unit: no face names one ("days" of a KPI not in days).
                assert all(wrongly_named(t, "no unit", kpi.title) == []
                           for t in faces.values()), faces
                continue
            checked += 1
            for face, text in faces.items():
                assert wrongly_named(text, name, title) == [], (kpi.id, face, text)
            # The faces that print a figure in days name it; the prose names every label.
            for face in ("number", "statistic", "workbook", "json") if kpi.unit.value == "days" \
                    else ("json",):
                assert named(faces[face], name), (kpi.id, face, faces[face])
            assert named(faces["prose"], name), (kpi.id, faces["prose"])
            assert render.unit_name(kpi) == name
            # The change names no unit: its size is the figures' ("-5 (-15.5%)").
            assert not _NAMED.search(faces["change"]), (kpi.id, faces["change"])
            assert name in charts.axis_label(kpi, width=200) or kpi.title.endswith(")"), kpi.id
    assert checked or not names


# ---------------------------------------------------------------------------------------------
# Every face of the command line, on the sample and a project of working days with peers


def _run(cli, project: str | Path, *args, env: dict | None = None) -> str:
    result = cli(["--project", project, *args], env={"COLUMNS": "250", **(env or {})})
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


def _cli():
    from typer.testing import CliRunner

    from kpi.cli import app

    runner = CliRunner()
    return lambda args, **kwargs: runner.invoke(app, [str(a) for a in args], **kwargs)


@pytest.fixture(scope="module")
def working_days(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("working-days-faces")
    _run(_cli(), folder, "ingest", "cases", write_project(folder))
    return folder


PROJECTS = {
    # name: (project as given, kpi.toml, period, comparison)
    "sample": ("sample", REPO / "datasets" / "west-midlands" / "kpi.toml", "2025-09",
               "baseline"),
    "working-days": (None, None, "2025-12", "yoy"),
}


@pytest.fixture(scope="module", params=sorted(PROJECTS))
def setup(request, working_days):
    project, toml, period, vs = PROJECTS[request.param]
    if project is None:
        project, toml = str(working_days), working_days / "kpi.toml"
    kpis = _named_kpis(toml)
    assert kpis, toml
    return project, toml, period, vs, kpis


@pytest.fixture(scope="module")
def exported(setup, tmp_path_factory):
    """The full paper in Markdown and HTML, and its figures file."""
    project, _, period, vs, _ = setup
    folder = tmp_path_factory.mktemp("paper")
    full, html = folder / "full.md", folder / "full.html"
    cli = _cli()
    _run(cli, project, "export", "markdown", "--period", period, "--vs", vs, "--full",
         "--output", full)
    _run(cli, project, "export", "html", "--period", period, "--vs", vs, "--full",
         "--output", html)
    return (full.read_text(encoding="utf-8"),
            re.findall(r'alt="([^"]*)"', html.read_text(encoding="utf-8")),
            json.loads((folder / "full.figures.json").read_text(encoding="utf-8")))


def _lines(text: str, title: str) -> list[str]:
    return [line for line in text.replace("\\", "").splitlines() if title in line]


def _each(kpis: dict, faces: dict[str, str], unit_faces: tuple[str, ...] = ()) -> list:
    """The faults of each face's text of each KPI (kpi id -> face -> text): a figure named
    in another unit than the declared one, or, in `unit_faces` (every face for a KPI in
    days), none named in it."""
    faults = []
    for (kpi_id, face), text in faces.items():
        title, name, unit = kpis[kpi_id]
        if wrong := wrongly_named(text, name, title):
            faults.append((kpi_id, face, wrong))
        elif (unit == "days" or face in unit_faces) and not named(text, name):
            faults.append((kpi_id, face, "no figure named", text[:300]))
    return faults


def test_the_summary_table_and_markdown_name_the_declared_unit(cli, setup):
    """`kpi summary` printed "6.9 days" of a KPI in working days, and its targets line
    "Complaint finalisation 5.0 days"."""
    project, _, period, vs, kpis = setup
    table = _run(cli, project, "summary", "--period", period, "--vs", vs)
    markdown = _run(cli, project, "summary", "--period", period, "--vs", vs,
                    "--format", "markdown")
    faces = {}
    for kpi_id, (title, _, _) in kpis.items():
        for face, text in (("table", table), ("markdown", markdown)):
            if lines := _lines(text, title):
                faces[(kpi_id, face)] = "\n".join(lines)
    assert faces
    assert _each(kpis, faces) == []


def test_the_summarys_machine_faces_carry_the_declared_unit(cli, setup, tmp_path):
    """JSON, CSV and csv-excel carry the name (`unit_label`), and the workbook's cells show
    the figures with it (its number formats)."""
    import openpyxl

    project, _, period, vs, kpis = setup
    document = json.loads(_run(cli, project, "summary", "--period", period, "--vs", vs,
                               "--format", "json"))
    rows = {fmt: {r["id"]: r for r in csv.DictReader(io.StringIO(_run(
        cli, project, "summary", "--period", period, "--vs", vs, "--format", fmt
    ).lstrip("\ufeff")))} for fmt in ("csv", "csv-excel")}
    book = tmp_path / "summary.xlsx"
    _run(cli, project, "summary", "--period", period, "--vs", vs, "--format", "xlsx",
         "--output", book)
    cells = list(openpyxl.load_workbook(book)["Summary"].iter_rows())
    head = next(i for i, r in enumerate(cells) if r[0].value == "id")
    columns = [c.value for c in cells[head]]
    by_id = {r[0].value: r for r in cells[head + 1:]}
    json_by_id = {k["id"]: k for k in document["kpis"]}
    faces, labels = {}, {}
    for kpi_id in kpis:
        if kpi_id not in json_by_id:
            continue
        labels[kpi_id] = (json_by_id[kpi_id].get("unit_label"),
                          *(rows[fmt][kpi_id].get("unit_label") for fmt in rows),
                          by_id[kpi_id][columns.index("unit_label")].value
                          if "unit_label" in columns else None)
        for column in ("current_value", "comparison_value"):
            cell = by_id[kpi_id][columns.index(column)]
            if cell.value is not None:
                faces[(kpi_id, f"workbook {column}")] = excel_shown(cell.value,
                                                                    cell.number_format)
    assert labels
    assert _each(kpis, faces) == []
    assert labels == {i: (kpis[i][1],) * 4 for i in labels}


def test_show_names_the_declared_unit_in_its_text_json_and_workbook(cli, setup, tmp_path):
    """`kpi show`'s windows, trend and breakdowns, and its Signal's process chart mean and
    limits ("mean 141.0 days" of a KPI in working days), in its text and its workbook."""
    project, _, period, vs, kpis = setup
    faces, labels = {}, {}
    for kpi_id in kpis:
        text = _run(cli, project, "show", kpi_id, "--period", period, "--vs", vs)
        # Its definition names the columns and filter it reads, not its figures.
        faces[(kpi_id, "text")] = text.split("\nWindows", 1)[-1]
        faces[(kpi_id, "signal")] = text.split("\nSignal", 1)[-1]
        labels[kpi_id] = json.loads(_run(cli, project, "show", kpi_id, "--period", period,
                                         "--vs", vs, "--format", "json"))["kpi"].get(
                                             "unit_label")
        book = tmp_path / f"{kpi_id}.xlsx"
        _run(cli, project, "show", kpi_id, "--period", period, "--vs", vs, "--format",
             "xlsx", "--output", book)
        faces[(kpi_id, "workbook")] = _workbook_text(book)
    assert _each(kpis, {k: v for k, v in faces.items() if k[1] != "signal"}) == []
    # The Signal's statistics name it where a process chart has them.
    assert [f for f in _each(kpis, {k: v for k, v in faces.items() if k[1] == "signal"})
            if f[2] != "no figure named"] == []
    assert labels == {i: n for i, (_, n, _) in kpis.items()}


def _workbook_text(book: Path) -> str:
    """Every figure of a workbook as its cells show it (their number formats)."""
    import openpyxl

    shown = []
    for sheet in openpyxl.load_workbook(book).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, int | float) and not isinstance(
                        cell.value, bool) and cell.number_format != "General":
                    shown.append(f"{sheet.title} {cell.coordinate}: "
                                 f"{excel_shown(cell.value, cell.number_format)}")
    return "\n".join(shown)


def test_compare_names_the_declared_unit_in_its_table_sentence_and_rows(cli, setup,
                                                                         tmp_path):
    """`kpi compare` of each breakdown and of the peer group (the table, its mean and median
    and the sentence beside the focus), its workbook's cells, and its CSV and JSON's
    `unit_label`."""
    project, toml, period, vs, kpis = setup
    data = tomllib.loads(Path(toml).read_text(encoding="utf-8"))
    breakdowns = {k["id"]: k.get("breakdowns", []) for k in data["kpis"]}
    peers = {k["id"]: k.get("peers") for k in data["kpis"]}
    faces, labels = {}, {}
    for kpi_id in kpis:
        group = data.get("peers", {}).get(peers.get(kpi_id) or "", {})
        asks = [["--by", by] for by in breakdowns.get(kpi_id, [])[:1]]
        if group:
            # Ranked within its peer group, beside the focus: the table and the sentence.
            asks.append(["--by", group["column"], "--peers", peers[kpi_id], "--focus",
                         group["focus"]])
        for ask in asks:
            common = ["compare", "--kpi", kpi_id, *ask, "--period", period, "--vs", vs]
            faces[(kpi_id, " ".join(ask))] = _run(cli, project, *common)
            book = tmp_path / "compare.xlsx"
            _run(cli, project, *common, "--format", "xlsx", "--output", book)
            faces[(kpi_id, " ".join(ask) + " workbook")] = _workbook_text(book)
            rows = list(csv.DictReader(io.StringIO(_run(cli, project, *common, "--format",
                                                        "csv"))))
            document = json.loads(_run(cli, project, *common, "--format", "json"))
            labels[(kpi_id, " ".join(ask))] = (
                {r.get("unit_label") for r in rows}, [k.get("unit_label")
                                                     for k in document["kpis"]])
    assert faces
    assert _each(kpis, faces) == []
    assert labels == {k: ({kpis[k[0]][1]}, [kpis[k[0]][1]]) for k in labels}


def test_the_papers_prose_tables_alt_text_and_figures_file_name_the_declared_unit(
        setup, exported):
    project, _, _, _, kpis = setup
    text, alts, figures = exported
    faces = {}
    for kpi_id, (title, _, _) in kpis.items():
        faces[(kpi_id, "prose and tables")] = "\n".join(_lines(text, title))
        faces[(kpi_id, "alt text")] = "\n".join(a for a in alts if title in a)
        faces[(kpi_id, "figures file")] = "\n".join(
            f["shown"] for f in figures["figures"] if f["kpi"] == kpi_id)
    faces = {k: v for k, v in faces.items() if v}
    assert _each(kpis, faces, unit_faces=("prose and tables",)) == []
    # The whole paper: no figure named in a word for days but one of the declared names.
    names = set().union(*(allowed(n) for _, n, _ in kpis.values()))
    stray = [m.group(0) for m in _NAMED.finditer(text.replace("\\", ""))
             if " ".join(m.group(1).split()) not in names]
    assert stray == []


def test_the_charts_axes_and_labels_name_the_declared_unit(setup):
    """Every chart of the paper drawing a KPI in a named unit: its axes, its bars' and
    lines' labels and its legend. The peers chart's axis said "(days)" of a KPI in working
    days."""
    import kpi as kpi_package
    from kpi import board, charts, paper
    from kpi.periods import Comparison, Month

    project, _, period, vs, kpis = setup
    model = board.build(kpi_package.open(project).definition, Month.typed(period),
                        Comparison(vs), full=True)
    faces = {}
    for item in paper.build_paper(model).figures:
        data = model.figures[item.spec.id]
        ids = {k.id for k in data.kpis} | {p.kpis[0].id for p in data.panels or ()}
        for kpi_id in ids & set(kpis):
            figure = charts.drawn_figure(data)
            labels = [t for axes in figure.axes for t in (
                axes.get_xlabel(), axes.get_ylabel(), *(c.get_text() for c in axes.texts))]
            labels += [t.get_text() for legend in figure.legends for t in legend.get_texts()]
            faces[(kpi_id, f"chart {item.spec.id}")] = "\n".join(labels)
            axis = " ".join(a.get_xlabel() + " " + a.get_ylabel() for a in figure.axes)
            title, name, _ = kpis[kpi_id]
            assert name in " ".join(axis.replace(title, "").split()) or title.endswith(")"), (
                item.spec.id, axis)
    if project != "sample":
        assert any("peers" in face for _, face in faces), faces
    assert [f for f in _each(kpis, faces) if f[2] != "no figure named"] == []


@pytest.mark.parametrize("style", ["as an earlier kpi wrote it", "as kpi writes it"])
def test_the_figures_revised_since_the_last_paper_name_the_declared_unit(cli, setup,
                                                                          exported, style,
                                                                          tmp_path):
    """The last paper's figures file with each KPI's current figure raised by two days, its
    text written as a kpi before every face named the unit by its label wrote it ("8.8
    days"), and as kpi writes it now: the appendix printed the text the file held, "8.8
    days" of a KPI in working days."""
    project, _, period, vs, kpis = setup
    last = json.loads(json.dumps(exported[2]))
    changed = {}
    for item in last["figures"]:
        kpi_id = item["kpi"]
        if kpi_id in kpis and kpis[kpi_id][2] == "days" and item["role"] == "current":
            item["value"] = round(item["value"]) + 2.0
            digits = len(item["shown"].split(" ")[0].partition(".")[2])
            word = "days" if style.startswith("as an earlier") else kpis[kpi_id][1]
            item["shown"] = f"{item['value']:,.{digits}f} {word}"
            changed[kpi_id] = item["shown"]
    assert changed
    previous = tmp_path / "last.figures.json"
    previous.write_text(json.dumps(last), encoding="utf-8")
    again = tmp_path / "again.md"
    _run(cli, project, "export", "markdown", "--period", period, "--vs", vs, "--previous",
         previous, "--output", again)
    appendix = again.read_text(encoding="utf-8").split(
        "Figures revised since the last paper", 2)[-1]
    faces = {(kpi_id, "revisions"): "\n".join(_lines(appendix, kpis[kpi_id][0]))
             for kpi_id in changed}
    assert all(faces.values()), appendix
    assert _each(kpis, faces) == []


def test_the_python_face_carries_the_declared_unit(setup):
    import kpi as kpi_package

    project, _, period, vs, kpis = setup
    frame = kpi_package.open(project).summary(period, vs)
    assert "unit_label" in frame.columns
    labels = dict(zip(frame["id"].to_list(), frame["unit_label"].to_list(), strict=True))
    assert {i: labels[i] for i in kpis if i in labels} == {
        i: n for i, (_, n, _) in kpis.items() if i in labels}
