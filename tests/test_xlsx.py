"""`--format xlsx`: workbooks read back with fastexcel hold the JSON's values, in cells of the
right kind (percentages as percentage cells, counts with separators, months as dates), under
a header block with the header row frozen; and `--format csv-excel`."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile
from datetime import date, datetime
from pathlib import Path
from xml.etree import ElementTree

import fastexcel
import pytest

PERIOD = "2025-09"
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def _json(cli, args):
    result = cli([*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _workbook(cli, args, path: Path):
    result = cli([*args, "--format", "xlsx", "--output", path])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    return fastexcel.read_excel(path)


class Made:
    """The sample's answers the module's tests read, each made on first use, once for the
    module: a command's JSON, its workbook (the name a test first gave it, in one folder), and
    a KPI's Signal sheet. Several tests read the same ones (the workbooks Calc opens and saves
    are the four the tests before it check). They are the tests' to read only: a test that
    changes a workbook copies it first. The summary's JSON is conftest.py's `sample_paper`'s,
    the same command's answer made once for the run."""

    def __init__(self, folder: Path, sample_paper):
        self.folder = folder
        self.sample_paper = sample_paper
        self.docs: dict[tuple[str, ...], object] = {}
        self.books: dict[tuple[str, ...], Path] = {}
        self.signals: dict[str, tuple] = {}
        self.written: dict[str, bytes] = {}

    def json(self, cli, args):
        if tuple(args) not in self.docs:
            self.docs[tuple(args)] = json.loads(self.sample_paper["summary"].read_text(
                encoding="utf-8")) if list(args) == ["summary", "--period", PERIOD] \
                else _json(cli, args)
        return self.docs[tuple(args)]

    def workbook_path(self, cli, args, name: str) -> Path:
        if tuple(args) not in self.books:
            _workbook(cli, args, self.folder / name)
            self.books[tuple(args)] = self.folder / name
            self.written[name] = (self.folder / name).read_bytes()
        return self.books[tuple(args)]

    def check(self) -> None:
        assert {p.name: p.read_bytes() for p in self.folder.iterdir()} == self.written, \
            "a test changed a workbook the module's tests share"

    def workbook(self, cli, args, name: str):
        return fastexcel.read_excel(self.workbook_path(cli, args, name))

    def signal(self, cli, kpi: str):
        if kpi not in self.signals:
            self.signals[kpi] = _signal_sheet(cli, kpi, self)
        return self.signals[kpi]


@pytest.fixture(scope="module")
def made(tmp_path_factory, sample_paper):
    shared = Made(tmp_path_factory.mktemp("xlsx-made"), sample_paper)
    yield shared
    shared.check()


def _month(cell) -> str | None:
    """A date cell as the JSON writes a month."""
    if cell is None:
        return None
    assert isinstance(cell, (date, datetime)), cell
    assert cell.day == 1
    return cell.strftime("%Y-%m")


def _same(cell, expected, scale: float = 1.0) -> bool:
    if expected is None:
        return cell is None
    if isinstance(expected, bool) or isinstance(expected, str):
        return cell == expected
    return math.isclose(cell * scale, expected, rel_tol=1e-12, abs_tol=1e-12)


def _formats(path: Path, sheet: int = 1) -> dict[str, str]:
    """Cell reference -> number format code, from the workbook's XML."""
    with zipfile.ZipFile(path) as book:
        styles = ElementTree.fromstring(book.read("xl/styles.xml"))
        cells = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{sheet}.xml"))
    codes = {n.get("numFmtId"): n.get("formatCode")
             for n in styles.iterfind("m:numFmts/m:numFmt", NS)}
    codes |= {"0": "General", "1": "0", "3": "#,##0", "9": "0%", "10": "0.00%", "14": "m/d/yy"}
    xfs = [codes.get(x.get("numFmtId"), x.get("numFmtId"))
           for x in styles.iterfind("m:cellXfs/m:xf", NS)]
    return {c.get("r"): xfs[int(c.get("s", "0"))] for c in cells.iterfind(".//m:c", NS)}


def _frozen_row(path: Path, sheet: int = 1) -> int | None:
    with zipfile.ZipFile(path) as book:
        cells = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{sheet}.xml"))
    pane = cells.find(".//m:pane", NS)
    return None if pane is None or pane.get("state") != "frozen" else int(pane.get("ySplit"))


def _header_block(reader, sheet=0) -> dict[str, object]:
    """The rows above the table: label and value, up to the first blank row."""
    block = {}
    for row in reader.load_sheet(sheet, header_row=None, n_rows=20).to_polars().rows():
        if row[0] is None:
            return block
        block[row[0]] = row[1]
    raise AssertionError("no blank row under the header block")


def test_summary_workbook_holds_the_json_values(cli, made):
    args = ["summary", "--period", PERIOD]
    doc = made.json(cli, args)
    path = made.workbook_path(cli, args, "ä summary.xlsx")
    reader = fastexcel.read_excel(path)
    table = reader.load_table("summary").to_polars()
    assert table["id"].to_list() == [k["id"] for k in doc["kpis"]]
    checked = {"percent": 0, "count": 0}
    for row, kpi in zip(table.iter_rows(named=True), doc["kpis"], strict=True):
        percent = kpi["unit"] == "percent"
        for key in ("id", "title", "priority", "priority_title", "status", "unit", "note"):
            assert row[key] == kpi[key], key
        for role in ("current", "comparison"):
            window = kpi[role] or {}
            assert row[f"{role}_label"] == window.get("label")
            assert _month(row[f"{role}_start"]) == window.get("start")
            assert _month(row[f"{role}_end"]) == window.get("end")
            # A percentage is a percentage cell: 45.3% is stored as 0.453.
            assert _same(row[f"{role}_value"], window.get("value"), 100 if percent else 1)
            for part in ("numerator", "denominator"):
                assert _same(row[f"{role}_{part}"], window.get(part))
        assert _same(row["change_percent"], kpi["change"]["percent"], 100)
        assert _same(row["change_points"], kpi["change"]["points"])
        assert _same(row["change_absolute"], kpi["change"]["absolute"])
        test = kpi["significance"] or {}
        assert _same(row["p_value"], test.get("p_value"))
        assert row["significant"] == test.get("significant")
        assert row["variation"] == (kpi["variation"] or {}).get("verdict")
        assert _same(row["target"], kpi["target"], 100 if percent else 1)
        assert row["target_met"] == kpi["target_met"]
        if kpi["current"] is not None:
            checked["percent" if percent else "count"] += kpi["unit"] in ("percent", "count")
    assert checked["percent"] >= 2 and checked["count"] >= 5

    about = _header_block(reader)
    assert about["Period"] == PERIOD and about["Compared with"] == "baseline"
    assert about["Project"] == doc["project"]
    assert about["Data versions"] == ", ".join(f"{d} {v}" for d, v in doc["versions"].items())
    # The table's header row (after the block and a blank row) is frozen.
    top = len(about) + 1
    assert _frozen_row(path) == top + 1
    formats = _formats(path)
    columns = table.columns
    letter = {name: chr(ord("A") + i) if i < 26 else "A" + chr(ord("A") + i - 26)
              for i, name in enumerate(columns)}
    for offset, kpi in enumerate(doc["kpis"]):
        ref = f"{letter['current_value']}{top + 2 + offset}"
        if kpi["current"] is None:
            continue
        # The last section: how a value that shows as zero reads (tests/test_faces.py reads
        # what each shows).
        if kpi["unit"] == "percent":
            assert formats[ref].split(";")[-1] == "0.0%"
        elif kpi["unit"] == "count":
            assert formats[ref].split(";")[-1] == "#,##0"
        assert formats[f"{letter['current_start']}{top + 2 + offset}"] == "yyyy-mm"


def test_compare_workbook_holds_the_json_values(cli, made):
    args = ["compare", "--period", PERIOD, "--by", "lpa"]
    doc = made.json(cli, args)
    reader = made.workbook(cli, args, "compare ü.xlsx")
    table = reader.load_table("compare").to_polars()
    expected = [(k, p) for k in doc["kpis"] for p in k["parts"]]
    assert table.height == len(expected) > 10
    for row, (kpi, part) in zip(table.iter_rows(named=True), expected, strict=True):
        percent = kpi["unit"] == "percent"
        assert (row["kpi"], row["part"], row["status"]) == (kpi["id"], part["name"],
                                                             part["status"])
        assert row["rank"] == part["rank"]
        for role in ("current", "comparison"):
            window = part[role] or {}
            assert _same(row[f"{role}_value"], window.get("value"), 100 if percent else 1)
            assert _month(row[f"{role}_start"]) == window.get("start")
        assert _same(row["change_percent"], part["change"]["percent"], 100)
        assert _same(row["per_1000"], part["per_1000"])
        assert _same(row["group_median"], kpi["median"], 100 if percent else 1)
    about = _header_block(reader)
    assert about["By"] == "lpa" and about["Period"] == PERIOD


def test_show_workbook_has_a_sheet_per_section(cli, made):
    args = ["show", "knife_crime", "--period", PERIOD]
    doc = made.json(cli, args)
    reader = made.workbook(cli, args, "show.xlsx")
    assert reader.sheet_names[:3] == ["Definition", "Windows", "Change"]
    trend = reader.load_table("trend").to_polars()
    assert [_month(m) for m in trend["month"]] == [t["month"] for t in doc["trend"]]
    assert all(_same(v, t["value"]) for v, t in zip(trend["value"], doc["trend"], strict=True))
    windows = reader.load_table("windows").to_polars()
    assert _same(windows["value"][0], doc["kpi"]["current"]["value"])
    assert _header_block(reader)["Unit"] == doc["kpi"]["unit"]


def test_datasets_workbook_holds_the_json_values(cli, made):
    doc = made.json(cli, ["datasets"])
    reader = made.workbook(cli, ["datasets"], "datasets.xlsx")
    table = reader.load_table("datasets").to_polars()
    for row, dataset in zip(table.iter_rows(named=True), doc, strict=True):
        assert row["dataset"] == dataset["dataset"]
        assert row["rows"] == dataset["rows"]
        assert _month(row["first"]) == dataset["first"]
        assert _month(row["last"]) == dataset["last"]
        assert (row["missing"] or "") == " ".join(dataset["missing"])
        assert row["version"] == dataset["version"]


@pytest.mark.parametrize("args", [
    ["summary", "--period", PERIOD, "--format", "xlsx"],
    ["datasets", "--format", "xlsx"],
    ["compare", "--period", PERIOD, "--by", "lpa", "--format", "xlsx"],
    ["show", "knife_crime", "--period", PERIOD, "--format", "xlsx", "--output", "out.csv"],
])
def test_xlsx_needs_an_output_workbook(cli, args):
    result = cli(args)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("Error: ")
    assert lines[1].startswith("Hint: ") and ".xlsx" in lines[1]
    assert result.stdout == ""


def test_csv_excel_is_the_csv_after_a_byte_order_mark(cli):
    """The same fields, after a byte-order mark; each text field Excel would read as a date
    or number (a month, `2025-09`) is Excel's text formula of it (`="2025-09"`)."""
    for args in (["summary", "--period", PERIOD], ["datasets"],
                 ["show", "knife_crime", "--period", PERIOD]):
        plain = cli([*args, "--format", "csv"])
        excel = cli([*args, "--format", "csv-excel"])
        assert plain.exit_code == excel.exit_code == 0
        assert not plain.stdout.startswith("\ufeff")
        assert excel.stdout.startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(plain.stdout)))
        shown = list(csv.reader(io.StringIO(excel.stdout[1:])))
        assert len(rows) == len(shown) and '="' in excel.stdout
        for row, excel_row in zip(rows, shown, strict=True):
            assert [_excel_shows(field) for field in excel_row] == [
                field[1:] if field.startswith("'") and excel.startswith('="') else field
                for field, excel in zip(row, excel_row, strict=True)], row
        months = [f for row in shown for f in row if re.fullmatch(r'="\d{4}-\d{2}"', f)]
        assert months or args == ["datasets"], args


def _excel_shows(field: str) -> str:
    """A field of `--format csv-excel` as Excel shows it: its text formula `="a""b"&"c"` as
    the text a"bc."""
    if re.fullmatch(r'=("(?:[^"]|"")*")(?:&("(?:[^"]|"")*"))*', field) is None:
        return field
    return "".join(p[1:-1].replace('""', '"') for p in re.findall(r'"(?:[^"]|"")*"', field))


def test_text_stays_text(tmp_path):
    """A formula, a link or a number-like string from the data is written as text."""
    from kpi.writers import xlsx

    frame = xlsx.frame_of(("name", "value"), [("=HYPERLINK(\"http://x\")", 1.5),
                                              ("http://example.org", None), ("0012", 3)])
    path = tmp_path / "text.xlsx"
    xlsx.write(path, [("About", "=1+1")], [xlsx.Sheet("Odd: [names]?", frame, "odd")])
    reader = fastexcel.read_excel(path)
    assert reader.sheet_names == ["Odd- -names--"]
    table = reader.load_table("odd").to_polars()
    assert table["name"].to_list() == ["=HYPERLINK(\"http://x\")", "http://example.org", "0012"]
    assert _header_block(reader)["About"] == "=1+1"
    with zipfile.ZipFile(path) as book:
        assert not re.search(rb"<f>", book.read("xl/worksheets/sheet1.xml"))


def _calc() -> str:
    """LibreOffice's program, when its spreadsheet (Calc) is installed; else skip."""
    import shutil
    import sys

    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("soffice is not installed here (.ci/run installs it with apt-get)")
    program = Path(office).resolve().parent
    if sys.platform.startswith("linux") and not any(program.glob("libsclo*")):
        pytest.skip("LibreOffice Calc is not installed here (.ci/run installs "
                    "libreoffice-calc-nogui)")
    return office


def _unescaped(code: str | None) -> str | None:
    """A number format with its backslash escapes resolved (Calc writes `yyyy\\-mm` for
    `yyyy-mm`: the same format)."""
    return None if code is None else re.sub(r"\\(.)", r"\1", code)


def test_workbooks_opened_and_saved_by_libreoffice_calc(cli, tmp_path, office_profile, made):
    """Each workbook, opened and saved again by LibreOffice Calc, reads back with the same
    sheets, tables, header blocks, column types and number formats, and the same values:
    text, whole numbers, dates and flags exactly, fractions to the 15 significant digits
    Calc keeps (as Excel does)."""
    import subprocess

    office = _calc()
    books = {"ä summary.xlsx": ["summary", "--period", PERIOD],
             "compare ü.xlsx": ["compare", "--period", PERIOD, "--by", "lpa"],
             "show.xlsx": ["show", "knife_crime", "--period", PERIOD],
             "datasets.xlsx": ["datasets"]}
    ours_paths = {name: made.workbook_path(cli, args, name) for name, args in books.items()}
    saved = tmp_path / "saved by calc"
    result = subprocess.run([office, "--headless", "--norestore",
                             f"-env:UserInstallation={office_profile.as_uri()}",
                             "--convert-to", "xlsx", "--outdir", str(saved),
                             *[str(ours_paths[name]) for name in books]],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    for name in books:
        mine = ours_paths[name]
        assert (saved / mine.name).is_file(), mine.name
        ours, theirs = fastexcel.read_excel(mine), fastexcel.read_excel(saved / mine.name)
        assert theirs.sheet_names == ours.sheet_names
        assert theirs.table_names() == ours.table_names() != []
        assert _header_block(theirs) == _header_block(ours)
        for table in ours.table_names():
            before = ours.load_table(table).to_polars()
            after = theirs.load_table(table).to_polars()
            assert after.schema == before.schema, table
            for column in before.columns:
                for a, b in zip(before[column].to_list(), after[column].to_list(), strict=True):
                    if isinstance(a, float) and not isinstance(a, bool):
                        assert math.isclose(a, b, rel_tol=1e-14, abs_tol=1e-300), (column, a, b)
                    else:
                        assert a == b, (table, column, a, b)
        for sheet in range(1, len(ours.sheet_names) + 1):
            formats = {ref: _unescaped(code) for ref, code in _formats(mine,
                                                                       sheet).items()}
            kept = {ref: _unescaped(code) for ref, code in _formats(saved / mine.name,
                                                                    sheet).items()}
            assert {ref: kept.get(ref) for ref in formats} == formats, (name, sheet)


# The Signal sheet of `kpi show`: a count, a percentage with a target, a duration, pounds.
SIGNAL_KPIS = ("knife_crime", "calls_999_sla_10s", "emergency_median_response_s",
               "fraud_losses")
# Its rows of figures: the field, and where the JSON (`signal.xmr`, `kpi`) holds the number.
SIGNAL_FIGURES = {"mean": "mean", "lower process limit": "lower_limit",
                  "upper process limit": "upper_limit", "lower 2-sigma line": "lower_2sigma",
                  "upper 2-sigma line": "upper_2sigma"}


def _signal_sheet(cli, kpi: str, made: Made):
    """The show JSON, the `kpi show` text's Signal lines (field -> value), the Signal
    sheet's table rows as openpyxl reads them: (field, value cell, unit, text), and the
    workbook (made.signal gives them, made once for the module)."""
    import openpyxl

    args = ["show", kpi, "--period", PERIOD]
    doc = made.json(cli, args)
    text = cli(args)
    assert text.exit_code == 0, text.output
    lines = text.stdout.split("\nSignal\n", 1)[1].split("\n\n", 1)[0].splitlines()
    printed = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in lines)
    path = made.workbook_path(cli, args, f"{kpi}.xlsx")
    sheet = openpyxl.load_workbook(path)["Signal"]
    rows = list(sheet.iter_rows())
    start = next(i for i, row in enumerate(rows) if row[0].value == "field")
    assert [c.value for c in rows[start]] == ["field", "value", "unit", "text"]
    return doc, printed, [(r[0].value, r[1], r[2].value, r[3].value)
                          for r in rows[start + 1:]], path


@pytest.mark.parametrize("kpi", SIGNAL_KPIS)
def test_the_signal_sheet_holds_numbers_with_number_formats(cli, made, kpi):
    """The Signal sheet held every figure as text ('97.6%', '96.9% to 98.3%'): an analyst
    could not compute on them. Each figure is now a number cell (a percentage its fraction)
    whose number format shows what `kpi show` prints (excel_shown, test_faces' reading of a
    format code; a duration in whole seconds), equal to the JSON's figure; the words stay
    text, as printed."""
    from test_faces import excel_shown

    doc, printed, rows, _ = made.signal(cli, kpi)
    unit, xmr, signal = doc["kpi"]["unit"], doc["signal"]["xmr"], doc["signal"]
    scale = 100 if unit == "percent" else 1
    figures = {field: xmr[key] for field, key in SIGNAL_FIGURES.items()}
    expected_fields = []
    for field, shown in printed.items():
        if field in ("process limits", "2-sigma lines"):
            low, high = shown.split(" to ")
            name = "process limit" if field == "process limits" else "2-sigma line"
            expected_fields += [(f"lower {name}", low), (f"upper {name}", high)]
        else:
            expected_fields.append((field, shown))
    assert [(r[0], r[3]) for r in rows] == [
        (field, shown) for field, shown in expected_fields], "the rows and their text"
    numbers = 0
    for field, cell, cell_unit, shown in rows:
        if field in figures or (field == "target" and doc["kpi"]["target"] is not None):
            aim = figures[field] if field in figures else doc["kpi"]["target"]
            assert isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool)
            assert math.isclose(cell.value * scale, aim, rel_tol=1e-12), (field, cell.value)
            assert cell_unit == unit
            figure = shown.split(" (")[0]  # the target's "(met in the current window)"
            if unit == "seconds":  # whole seconds where the text prints m:ss
                assert excel_shown(cell.value, cell.number_format) == f"{round(aim):,} s"
            else:
                assert excel_shown(cell.value, cell.number_format) == figure, field
            numbers += 1
        elif field == "p value" and signal["p_value"] is not None:
            assert math.isclose(cell.value, signal["p_value"], rel_tol=1e-12, abs_tol=1e-300)
            assert cell_unit == "p"
            assert excel_shown(cell.value, cell.number_format) == printed["p value"]
            numbers += 1
        else:
            assert cell.value is None and cell_unit is None and isinstance(shown, str), field
    assert numbers >= 5


@pytest.mark.parametrize("p", [0.0, 1e-300, 0.0004999, 0.0009996, 0.001, 0.0015, 0.0135,
                               0.0499, 0.05, 0.36865378163667545, 0.9995, 1.0])
def test_a_p_value_cell_shows_what_the_text_prints(p):
    """A p value showed four places in the workbook ("0.0139") where every text face prints
    three, or "<0.001" (`stats.p_text`). Its format now shows the same text, the cell keeping
    the exact number: 0.0499 to four places, as "0.050" beside "significant" would read as
    not below 0.05 (`stats.p_shown`)."""
    from test_faces import excel_shown

    from kpi.stats import p_text
    from kpi.writers import xlsx

    assert excel_shown(p, xlsx.number_format("p", 0, value=p)) == p_text(p)
    assert excel_shown(p, xlsx.p_format(p)) == p_text(p)


def test_the_summary_p_values_as_openpyxl_and_calc_read_them(cli, tmp_path, office_profile,
                                                             made):
    """Every p value of the summary's workbook is a number cell equal to the JSON's p value,
    shown as the summary prints it: to three places or "<0.001" (0.014, not 0.0139, for a
    p of 0.01386), read back by openpyxl through the format, and by LibreOffice Calc
    converting the sheet to CSV with cells as shown."""
    import csv
    import subprocess

    import openpyxl
    from test_faces import excel_shown

    from kpi.stats import p_text

    args = ["summary", "--period", PERIOD]
    doc = made.json(cli, args)
    _workbook(cli, args, tmp_path / "summary.xlsx")
    expected = {k["id"]: (k["significance"] or {}).get("p_value") for k in doc["kpis"]}
    tested = {kid: p for kid, p in expected.items() if p is not None}
    # Both sides of 0.001, and a p whose fourth place the text leaves out.
    assert min(tested.values()) < 0.001 < max(tested.values())
    assert any(p_text(p) != f"{p:.4f}".rstrip("0") for p in tested.values() if p >= 0.001)
    sheet = openpyxl.load_workbook(tmp_path / "summary.xlsx")["Summary"]
    rows = list(sheet.iter_rows())
    start = next(i for i, row in enumerate(rows) if row[0].value == "id")
    header = [c.value for c in rows[start]]
    at = header.index("p_value")
    seen = 0
    for row in rows[start + 1:]:
        p = expected[row[0].value]
        cell = row[at]
        if p is None:
            assert cell.value is None
            continue
        assert isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool)
        assert math.isclose(cell.value, p, rel_tol=1e-12, abs_tol=1e-300)
        assert excel_shown(cell.value, cell.number_format) == p_text(p), (row[0].value, p)
        seen += 1
    assert seen == len(tested)
    office = _calc()
    result = subprocess.run([office, "--headless", "--norestore",
                             f"-env:UserInstallation={office_profile.as_uri()}",
                             "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,1033,"
                             "false,true,true,false,false,1", "--outdir",
                             str(tmp_path / "calc"), str(tmp_path / "summary.xlsx")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    written = sorted((tmp_path / "calc").glob("*.csv"))
    assert len(written) == 1, written
    lines = written[0].read_text(encoding="utf-8").splitlines()
    shown = {r["id"]: r["p_value"] for r in csv.DictReader(lines[next(
        i for i, x in enumerate(lines) if x.startswith("id,")):])}
    assert shown == {kid: "" if p is None else p_text(p) for kid, p in expected.items()}


def test_the_signal_sheet_as_libreoffice_calc_shows_it(cli, tmp_path, made, office_profile):
    """Calc, converting the Signal sheet to CSV with cells as shown, prints each figure as
    `kpi show` does, and computes on them (a formula added beside them: the width of the
    process limits, which text cells would make #VALUE!)."""
    import csv
    import subprocess

    import openpyxl

    office = _calc()
    doc, printed, _, shared = made.signal(cli, "calls_999_sla_10s")
    book = openpyxl.load_workbook(shared)
    index = book.sheetnames.index("Signal") + 1
    sheet = book["Signal"]
    at = {row[0].value: row[0].row for row in sheet.iter_rows()}
    sheet.cell(at["mean"], 5).value = (f"=ROUND((B{at['upper process limit']}"
                                       f"-B{at['lower process limit']})*100,6)")
    book.save(tmp_path / "s.xlsx")
    # Comma-separated, quoted, UTF-8 (76), US English (1033), cells as shown (9th token),
    # the Signal sheet only (12th).
    result = subprocess.run([office, "--headless", "--norestore",
                             f"-env:UserInstallation={office_profile.as_uri()}",
                             "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,1033,"
                             f"false,true,true,false,false,{index}", "--outdir",
                             str(tmp_path / "calc"), str(tmp_path / "s.xlsx")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    written = sorted((tmp_path / "calc").glob("*.csv"))
    assert len(written) == 1, written
    lines = written[0].read_text(encoding="utf-8").splitlines()
    rows = {r["field"]: r for r in csv.DictReader(lines[next(
        i for i, x in enumerate(lines) if x.startswith("field,")):])}
    low, high = printed["process limits"].split(" to ")
    assert (rows["mean"]["value"], rows["lower process limit"]["value"],
            rows["upper process limit"]["value"]) == (printed["mean"], low, high)
    assert rows["target"]["value"] == printed["target"].split(" (")[0] == "90.0%"
    assert rows["test"]["value"] == "" and rows["test"]["text"] == printed["test"]
    width = doc["signal"]["xmr"]["upper_limit"] - doc["signal"]["xmr"]["lower_limit"]
    computed = next(v for k, v in rows["mean"].items() if k not in ("field", "value", "unit",
                                                                      "text"))
    assert math.isclose(float(computed), round(width, 6), abs_tol=1e-6), computed


def test_a_durations_change_cell_prints_to_its_pairs_places(tmp_path):
    """Means of 19.535 and 19.2572 seconds print "0:19.5" and "0:19.3" beside a change of
    "-0:00.3" in the text (docs/guarantees.md, "Two figures printed side by side"); the
    workbook showed "19.5 s" and "19.3 s" beside a change cell formatted to whole seconds,
    "0 s": two figures apart beside a change that reads as none. The change cell takes the
    places stored on the change (`Change.places`, from kpi.rounding.change_places) in seconds
    as in every other unit, as `kpi summary` gives them; a duration whose figures print alike
    stays whole."""
    from openpyxl import load_workbook

    from kpi.catalogue import Better, Kind, KpiDef, Unit
    from kpi.engine import change_between
    from kpi.writers import xlsx

    kpi = KpiDef(id="k", title="K", priority="p", kind=Kind.MEAN, unit=Unit.SECONDS,
                 better=Better.LOWER, dataset="d", value="v", value_is_duration=True)
    pairs = [(19.535, 19.2572), (100.21, 100.2)]
    changes = [change_between(kpi, now, then) for now, then in pairs]
    assert [c.places for c in changes if c is not None] == [1, 0]
    columns = ("id", "unit", "comparison_value", "current_value", "change_absolute")
    frame = xlsx.frame_of(columns, [("k", "seconds", 19.2572, 19.535, 0.2778),
                                    ("w", "seconds", 100.2, 100.21, 0.01)])
    path = tmp_path / "durations.xlsx"
    xlsx.write(path, [("About", "durations")],
               [xlsx.Sheet("Summary", frame, "summary", places={"k": 0, "w": 0},
                           row_column_places={"change_absolute": [
                               c.places if c is not None else None for c in changes]})])
    rows = list(load_workbook(path).worksheets[0].iter_rows(values_only=False))
    top = next(i for i, r in enumerate(rows) if r[0].value == "id")
    header = [c.value for c in rows[top]]
    cells = [dict(zip(header, r, strict=False)) for r in rows[top + 1:top + 3]]

    def places(code: str) -> int:
        found = re.search(r"0\.(0+)", code.rpartition(";")[2])
        return len(found.group(1)) if found else 0

    # apart at one place ("19.3 s", "19.5 s") beside "+0.3 s", as the text's "+0:00.3"
    assert [places(cells[0][c].number_format)
            for c in ("comparison_value", "current_value", "change_absolute")] == [1, 1, 1]
    assert cells[0]["change_absolute"].number_format.endswith('#,##0.0" s"')
    # alike at whole seconds ("100 s") beside "+0 s (+0.0%)"
    assert [places(cells[1][c].number_format)
            for c in ("comparison_value", "current_value", "change_absolute")] == [0, 0, 0]


def test_a_sheet_without_kpi_places_reads_the_catalogues_table(tmp_path, monkeypatch):
    """A sheet whose figures have a unit but no KPI's places (a sheet built by hand, or by a
    command that gives none) shows them to the unit's places of a whole kind from the one
    table every face reads (`kpi.catalogue.UNIT_PLACES`), never a table of its own: the
    workbook kept one (`UNIT_PLACES` in kpi.writers.xlsx) that would not follow a change to
    the catalogue's. Read back through the cell's number format (tests/test_faces.py's
    reading of Excel's codes), once with the table as it is and once with every unit given
    places the writer's own table never held."""
    from test_faces import excel_shown, workbook_cells

    from kpi import catalogue
    from kpi.catalogue import Unit
    from kpi.writers import xlsx

    units = [u for u in Unit if u != Unit.PERCENT]  # a percentage cell is scaled
    frame = xlsx.frame_of(("unit", "value"), [(u.value, 1234.5678) for u in units])

    def shown(name: str) -> list[str]:
        path = tmp_path / name
        xlsx.write(path, [("About", "units")], [xlsx.Sheet("Units", frame, "units")])
        _, cells = workbook_cells(path, "unit")
        return [excel_shown(*r["value"]).replace(",", "") for r in cells]

    def expected() -> list[str]:  # a duration's own places are none whatever its unit's
        return [f"{1234.5678:.{catalogue.unit_own_places(u, catalogue.UNIT_PLACES[u][0])}f}"
                for u in units]

    assert [s.split(" ")[0].lstrip("£") for s in shown("as-is.xlsx")] == expected()
    for number, unit in enumerate(units):
        monkeypatch.setitem(catalogue.UNIT_PLACES, unit, (number % 4, 1))
    assert [s.split(" ")[0].lstrip("£") for s in shown("moved.xlsx")] == expected()


def test_a_count_that_is_not_whole_shows_its_place(tmp_path):
    """A mean's numerator is the sum of its values: 12 months of 0.1 are 1.2, which `kpi
    show` prints "1.2" (a count not whole, to one place, as render.number prints it). The
    numerator columns' format "#,##0" showed it as 1 in Excel and Calc; a whole count keeps
    the column's format."""
    from openpyxl import load_workbook

    from kpi import render
    from kpi.catalogue import Unit
    from kpi.writers import xlsx

    frame = xlsx.frame_of(("id", "current_numerator", "current_denominator"),
                          [("k", 12 * 0.1, 12.0), ("w", 30.0, 12.0)])
    path = tmp_path / "numerators.xlsx"
    xlsx.write(path, [("About", "numerators")], [xlsx.Sheet("Summary", frame, "summary")])
    rows = list(load_workbook(path).worksheets[0].iter_rows(values_only=False))
    top = next(i for i, r in enumerate(rows) if r[0].value == "id")
    mean, whole = rows[top + 1][1], rows[top + 2][1]
    assert render.number(mean.value, Unit.COUNT) == "1.2"
    assert mean.number_format.rpartition(";")[2] == "#,##0.0"
    assert whole.value == 30 and whole.number_format == "#,##0"
    assert rows[top + 1][2].number_format == "#,##0"
