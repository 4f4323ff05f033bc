"""`--format csv-excel` as Excel reads it: every part's name, month and other text is the text
kpi wrote, and stays so when the file is saved again as CSV; every figure is a number.

Excel opening a CSV file reads each field as what it looks like: a band "10-17" became 10-Oct,
"1/2" a date, "00123" the number 123, "1E5" 1.00E+05, "2025-09" September 2025; saved again and
read back, the parts had other names. LibreOffice Calc with its detection of special numbers
on (as Excel always reads a CSV) shows the same for "1/2", "00123" and "1E5", and is the oracle
here: each file is opened by Calc (`soffice --headless --convert-to xlsx`) and its cells read
with openpyxl, and saved again by Calc as CSV."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile_support import GOOD_HEADER, make_project  # noqa: E402

# Names a spreadsheet reads as something else, and names it keeps. ('#N/A' is refused in an
# extract, a spreadsheet's error value, so is no part's name: it is among the texts written.)
AWKWARD = ["10-17", "1/2", "2025-09", "00123", "1E5", "TRUE", "=1+2", "-5",
           "Sep 2025", "12:30", "3 1/2"]
PLAIN = ["Route -1", "Route \u22121", "Dudley", "year ending September 2025"]


def _office() -> str:
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("soffice is not installed here (.ci/run installs it with apt-get)")
    return office


def _calc(office: str, profile: Path, paths: list[Path], out: Path, to: str = "xlsx",
          locale: int = 2057) -> None:
    """Each CSV file opened by Calc, UTF-8, detecting special numbers (the 8th token), in
    British English (2057) unless told, and saved as `to` in `out`."""
    result = subprocess.run([office, "--headless", "--norestore",
                             f"-env:UserInstallation={profile.as_uri()}",
                             f"--infilter=CSV:44,34,76,1,,{locale},false,true",
                             "--convert-to", to, "--outdir", str(out), *map(str, paths)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr


def _cells(path: Path) -> list[list[object]]:
    """The first sheet's values as Calc calculated them."""
    import openpyxl

    sheet = openpyxl.load_workbook(path, data_only=True).active
    assert sheet is not None
    return [[c.value for c in row] for row in sheet.iter_rows()]


def test_excel_text_by_hand():
    """Text Excel would read otherwise is Excel's text formula; other text, figures and
    flags are as they were."""
    from kpi.render import excel_text, safe_cell

    assert excel_text("10-17") == '="10-17"'
    assert excel_text("00123") == '="00123"'
    assert excel_text("Sep 2025") == '="Sep 2025"'
    assert excel_text("=HYPERLINK(\"x\")") == '="=HYPERLINK(""x"")"'
    assert excel_text("true") == '="true"'
    assert excel_text("Route -1") == "Route -1"
    assert excel_text("year ending September 2025") == "year ending September 2025"
    assert excel_text("Dudley") == "Dudley"
    assert excel_text("") == ""
    long = "1" * 300  # a text constant holds at most 255 characters
    assert excel_text(long) == '="' + "1" * 255 + '"&"' + "1" * 45 + '"'
    assert excel_text("1" * 9000) == "1" * 9000  # past a formula's 8,192 characters
    assert [safe_cell(v, excel=True) for v in (-11, 0.5, True, None)] == [-11, 0.5, True, None]
    assert safe_cell("-5", excel=False) == "'-5"  # plain CSV as before
    # A whole number past 15 significant digits, which a spreadsheet reads cut to 15, is its
    # digits as text; one of 15 (trailing zeros are no digits lost) stays a number.
    assert [safe_cell(v, excel=True) for v in (3600000000024477, -3600000000024495,
                                               3600000000000000, 999999999999999)] == [
        '="3600000000024477"', '="-3600000000024495"', 3600000000000000, 999999999999999]
    assert safe_cell(3600000000024477) == 3600000000024477  # plain CSV is for programs


def _with_parts(folder: Path, cli, parts: dict[str, tuple[int, int]]) -> None:
    """The hostile project broken down by LPA, loaded with `parts`: LPA -> (incidents a month
    in 2024, in 2025)."""
    toml = folder / "kpi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'dataset = "incidents"\nbetter = "lower"',
        'dataset = "incidents"\nbetter = "lower"\nbreakdowns = ["lpa"]', 1), encoding="utf-8")
    lines, n = [GOOD_HEADER], 0
    for year, at in ((2024, 0), (2025, 1)):
        for month in range(1, 13):
            for lpa, per_month in parts.items():
                for day in range(1, per_month[at] + 1):
                    n += 1
                    quoted = '"' + lpa.replace('"', '""') + '"'
                    lines.append(f"X{n},{year}-{month:02d}-{day:02d},{quoted},1,")
    (folder / "parts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli(["--project", folder, "ingest", "incidents", folder / "parts.csv"])
    assert result.exit_code == 0, result.output


def test_parts_names_and_months_read_in_calc_as_written_and_survive_a_save(tmp_path, cli,
                                                                          office_profile):
    """By hand: each part k (0, 1, ...) of AWKWARD and PLAIN has k + 1 incidents a month in
    2024 and k + 2 in 2025, so YE 2025-12 is 12 * (k + 2) and YE 2025-01 is 11 * (k + 1) +
    (k + 2). On the code before, Calc read '1/2' as 1 February 2026, '00123' as 123, '1E5'
    as 100000, 'TRUE' as a flag, '=1+2' as "'=1+2" and the months of `kpi show`'s trend as
    text only because Calc is kinder than Excel."""
    office = _office()
    names = AWKWARD + PLAIN
    folder = make_project(tmp_path / "project")
    _with_parts(folder, cli, {name: (k + 1, k + 2) for k, name in enumerate(names)})
    files = {}
    for face, args in (("show", ["show", "incidents"]), ("compare", ["compare", "--by", "lpa"])):
        files[face] = tmp_path / f"{face}.csv"
        result = cli(["--project", folder, *args, "--period", "2025-12", "--format",
                      "csv-excel", "--output", files[face]])
        assert result.exit_code == 0, result.output
    expected = {name: (12 * (k + 2), 11 * (k + 1) + k + 2) for k, name in enumerate(names)}
    for locale in (2057, 1033):
        out = tmp_path / f"calc-{locale}"
        _calc(office, office_profile, list(files.values()), out, locale=locale)
        show = _cells(out / "show.xlsx")
        header = show[0]
        parts = {row[header.index("lpa")]: (row[header.index("current")],
                                            row[header.index("comparison")])
                 for row in show[1:] if row[header.index("section")] == "By lpa"}
        assert parts == expected, (locale, parts)
        months = [row[header.index("month")] for row in show[1:]
                  if str(row[0]).startswith("Trend")]
        assert months == [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]
        compare = _cells(out / "compare.xlsx")
        header = compare[0]
        rows = [dict(zip(header, row, strict=True)) for row in compare[1:]]
        got = {(r["part"], r["current_value"], r["comparison_value"]) for r in rows
               if r["kpi"] == "incidents"}
        assert got == {(name, *figures) for name, figures in expected.items()}, locale
        assert {r["current_start"] for r in rows} == {"2025-01"}
    # Saved again as CSV by Calc (the cells' values): every name as it was.
    again = tmp_path / "again"
    _calc(office, office_profile, [files["compare"]], again, to="csv")
    text = (again / "compare.csv").read_text(encoding="utf-8-sig")
    saved = list(csv.DictReader(io.StringIO(text)))
    assert {r["part"] for r in saved} == set(names)
    assert {r["current_start"] for r in saved} == {"2025-01"}


def _shown(field: str) -> str:
    """A csv-excel field as Excel shows it, worked out here: Excel's text formula
    `="a""b"&"c"` is the text a"bc."""
    pieces = re.fullmatch(r'=("(?:[^"]|"")*")(?:&("(?:[^"]|"")*"))*', field)
    if pieces is None:
        return field
    return "".join(p[1:-1].replace('""', '"') for p in re.findall(r'"(?:[^"]|"")*"', field))


TEXTS = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=20)
NUMBERISH = st.from_regex(r"[-+=@#]?[0-9]{1,6}([-/:.eE ][0-9]{1,4}){0,2}( ?(Sep|am|E))?",
                          fullmatch=True)


@settings(max_examples=4, deadline=None)
@given(texts=st.lists(st.one_of(TEXTS, NUMBERISH), min_size=30, max_size=60))
@example(texts=AWKWARD + PLAIN + ["#N/A", '"', '="x"', "1" * 300, " 12 ", "１２３"])
def test_any_text_reads_in_calc_as_written(tmp_path_factory, office_profile, texts):
    """Any text (drawn from Unicode, and spelled as numbers, dates and formulas) in a
    csv-excel file is, opened by Calc, the text written: `excel_text` leaves as it is only
    text that Calc, detecting special numbers, keeps, and its formulas give the text."""
    from kpi.render import Document, Section, render_csv_excel

    office = _office()
    folder = tmp_path_factory.mktemp("texts")
    rows = [(n, text) for n, text in enumerate(texts)]
    path = folder / "texts.csv"
    path.write_text(render_csv_excel(Document("t", (Section("t", ("n", "text"), rows),))),
                    encoding="utf-8")
    written = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))[1:]
    assert [_shown(row[1]) for row in written] == [
        text.replace("\r", "?") for text in texts]  # as every CSV of kpi shows a control
    _calc(office, office_profile, [path], folder / "calc")
    cells = _cells(folder / "calc" / "texts.xlsx")[1:]
    # Calc reads an empty field as no cell; a text of spaces alone as it is.
    got = [None if row[1] is None else str(row[1]) for row in cells]
    want = [text or None for text in texts]
    assert len(got) == len(want)
    for text, value in zip(want, got, strict=True):
        assert value == text, (text, value)
