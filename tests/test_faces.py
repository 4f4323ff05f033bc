"""One figure in every output face: for every KPI of a summary, the value of each window, the
change, the status, the significance verdict and the target read the same in the terminal
table, the Markdown summary, the paper's figures file and the paper in Markdown and HTML (to
the KPI's decimals, rounded as Excel rounds), in JSON, CSV and the DataFrame of
`project.summary()` (the same unrounded value), and in the Excel workbook, whose cells hold the
JSON's values and whose number formats show what the text prints (LibreOffice Calc's view of
it too). So do each part of `kpi compare` (and `project.compare()`) and the windows, change and
trend of `kpi show` (and `project.series()`).

The expected text is worked out here from the JSON's unrounded values, by the rules of
docs/catalogue.md (`decimals` and its defaults) and docs/guarantees.md (Excel's rounding:
tests/oracle_support.py), not by kpi.render; the workbook's number formats are rendered by a
reading of Excel's format codes written out below, not by kpi.writers.xlsx."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from pathlib import Path
from xml.etree import ElementTree

import pytest
from oracle_support import excel_round, excel_text
from project_toml import head, kpi_block

PERIOD = "2025-09"
OTHER = {"current": "comparison", "comparison": "current"}  # the figure printed beside
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
STATUS = {"improving": "improving", "deteriorating": "deteriorating", "stable": "stable",
          "changed": "changed", "in_development": "in development", "no_data": "no data",
          "stale": "stale"}

# ---------------------------------------------------------------------------------------------
# The text a person reads, from the unrounded value


def decimals(kpi) -> int:
    """docs/catalogue.md, `decimals`: the key, else one for percentages, ratios, scores and
    rates per 1,000; none for pounds and seconds; a count or days none when the kind is whole
    (count, sum, snapshot), else one."""
    if kpi.decimals is not None:
        return kpi.decimals
    unit, kind = kpi.unit.value, kpi.kind.value
    if unit in ("gbp", "seconds"):
        return 0
    if unit in ("count", "days"):
        return 0 if kind in ("count", "sum", "snapshot") else 1
    return 1


def clock(seconds: float, places: int = 0) -> str:
    """h:mm:ss, or m:ss under an hour, of the whole seconds (or to `places` decimals)."""
    shown = excel_round(abs(seconds), places)
    total = int(shown)
    sign = "-" if seconds < 0 and shown else ""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    fraction = str(shown - total)[1:] if places else ""
    return (f"{sign}{hours}:{minutes:02d}:{secs:02d}{fraction}" if hours
            else f"{sign}{minutes}:{secs:02d}{fraction}")


def spoken(seconds: float) -> str:
    """A duration as the paper's prose says it: '1 hour, 2 minutes and 6 seconds'."""
    total = int(excel_round(abs(seconds), 0))
    parts = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in
             zip((total // 3600, total % 3600 // 60, total % 60), ("hour", "minute", "second"),
                 strict=True) if n] or ["0 seconds"]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def target_places(target: float, places: int) -> int:
    """docs/guarantees.md: a target prints to its KPI's places, or to as many as it is
    written with where that is more (89.95 -> "89.95%" beside one place)."""
    written = -Decimal(repr(target)).normalize().as_tuple().exponent
    return max(places, min(written, 15))  # type: ignore[operator]


def _side(a, b) -> int:
    return (a > b) - (a < b)


def reads_changed(current: float, comparison: float, places: int, unit: str) -> bool:
    """docs/guarantees.md: the change printed beside two figures, from the comparison to the
    current, reads as one where their difference does not print as zero at the KPI's places,
    or, for a unit whose change has a % beside it (not a percentage or a ratio), the % change
    from a comparison above zero does not at one decimal. In decimals, from the figures as
    written."""
    x, y = Decimal(repr(current)), Decimal(repr(comparison))
    if Decimal(excel_text(float(x - y), places)) != 0:
        return True
    if unit in ("percent", "ratio"):
        return False
    return y > 0 and Decimal(excel_text(float((x - y) * 100 / y), 1)) != 0


def change_places(current: float, comparison: float, places: int, at: int) -> int:
    """docs/guarantees.md: the change printed beside two figures printed to `at` places
    prints to `at` where the two print apart there, else to the KPI's places (0.4% and 0.6%
    beside "+0.2pp", never "0%" and "1%" beside "+0pp"; "0.96" and "0.91" beside "-0.05
    (-4.8%)", never "1.0" and "0.9" beside "0.0 (-4.8%)")."""
    apart = Decimal(excel_text(current, at)) != Decimal(excel_text(comparison, at))
    return at if apart else places


def agree(current: float, comparison: float, places: int, at: int) -> bool:
    """docs/guarantees.md: two figures printed to `at` places print apart exactly where the
    size of the change printed beside them (to `change_places`) does not print as zero."""
    apart = Decimal(excel_text(current, at)) != Decimal(excel_text(comparison, at))
    size = Decimal(repr(current)) - Decimal(repr(comparison))
    shown = Decimal(excel_text(float(size), change_places(current, comparison, places, at)))
    return apart == (shown != 0)


def beside(value: float, target: float | None, places: int,
           other: float | None = None, unit: str = "", role: str = "current") -> int:
    """docs/guarantees.md: a KPI's figure beside its target prints to the fewest places, from
    its own, at which it stands against the target as printed as the figure itself does
    (89.96 against 90 prints "89.96"); beside the other window's figure (`other`, the
    comparison where `value` is the current figure, its `role`), where the change printed
    beside them reads as one, at which the two as printed also stand to each other as the
    figures do (0.52 and 0.5 print "0.52" and "0.50"), where they differ within the 15
    digits Excel shows. Worked out with Decimal on the texts."""
    figures = [value] if other is None else [value, other]
    ordered = (value, other) if role == "current" else (other, value)
    two = other is not None and Decimal(format(value, ".15g")) != Decimal(format(other, ".15g"))
    pair = two and reads_changed(*ordered, places, unit)  # type: ignore[arg-type]
    parted = two  # the converse: apart only where the change's size does not print as zero
    if target is None and not pair and not parted:
        return places
    shown_target = Decimal(excel_text(target, target_places(target, places))) \
        if target is not None else None
    for extra in range(places, places + 16):
        shown = [Decimal(excel_text(v, extra)) for v in figures]
        if pair and _side(shown[0], shown[1]) != _side(value, other):
            continue
        if parted and not agree(*ordered, places, extra):  # type: ignore[arg-type]
            continue
        if shown_target is not None and any(_side(s, shown_target) != _side(v, target)
                                            for s, v in zip(shown, figures, strict=True)):
            continue
        return extra
    return beside(value, target, places) if pair else places


def value_text(value: float, unit: str, places: int, target: float | None = None,
               other: float | None = None, role: str = "current", label: str = "") -> str:
    """A KPI's figure as printed; given the KPI's target, to as many more places as it takes
    to stand against it as the figure does, and beside the other window's figure (`other`)
    to as many as it takes to read apart from it (`beside`). A figure in days is named by
    the KPI's `label` where it has one ("27 working days", docs/catalogue.md)."""
    more = beside(value, target, places, other, unit, role) - places
    places += more
    if unit == "percent":
        return excel_text(value, places) + "%"
    if unit == "seconds":
        return clock(value, more)
    if unit == "ratio":
        return excel_text(value, places)
    if unit == "gbp":
        text = excel_text(value, places, grouping=True)
        return "-£" + text[1:] if text.startswith("-") else "£" + text
    text = excel_text(value, places, grouping=True)
    if unit != "days":
        return text
    # One day is singular, any other figure plural ("1 day", "1.0 days", "0 days").
    name = label or "days"
    return f"{text} {name[:-1] if text.lstrip('-') == '1' else name}"


def column_places(values: list, unit: str, places: int, target: float | None = None) -> int:
    """docs/guarantees.md: a trend's column prints to one number of places: the most any of
    its figures takes alone beside the target (`beside`), or the fewest more at which each
    month that differs from the month before (within the 15 digits Excel shows) prints
    differently from it. Worked out with Decimal on the texts."""
    own = max((beside(v, target, places, None, unit) for v in values if v is not None),
              default=places)
    pairs = [(a, b) for a, b in zip(values, values[1:], strict=False)
             if a is not None and b is not None
             and Decimal(excel_text(a, places + 15)) != Decimal(excel_text(b, places + 15))]
    return next(p for p in range(own, own + 16)
                if all(Decimal(excel_text(a, p)) != Decimal(excel_text(b, p)) for a, b in pairs))


def ranked_places(column: list, rows: list, unit: str, places: int,
                  target: float | None = None) -> int:
    """docs/guarantees.md: a table that ranks its rows by `column` prints its figures (each
    row's two of `rows`, current and comparison) to one number of places: the most any row
    takes alone (`beside`), or the fewest more at which every two figures of the column that
    differ (within the 15 digits Excel shows) print differently, while each row's two still
    stand to each other, and each to the target as printed, as they do at the places the row
    takes alone. Worked out with Decimal on the texts."""
    def sides(a, b, q: int) -> list[bool]:
        figures = [v for v in (a, b) if v is not None]
        shown = [Decimal(excel_text(v, q)) for v in figures]
        out = []
        if len(figures) == 2 and Decimal(format(a, ".15g")) != Decimal(format(b, ".15g")):
            if reads_changed(a, b, places, unit):
                out.append(_side(shown[0], shown[1]) == _side(a, b))
            out.append(agree(a, b, places, q))
        if target is not None:
            aim = Decimal(excel_text(target, target_places(target, places)))
            out += [_side(s, aim) == _side(v, target)
                    for s, v in zip(shown, figures, strict=True)]
        return out

    alone = [beside(a, target, places, b, unit) if a is not None
             else beside(b, target, places, None, unit) if b is not None else places
             for a, b in rows]
    held = [sides(a, b, q) for (a, b), q in zip(rows, alone, strict=True)]
    figures = [v for v in column if v is not None]
    differ = len({Decimal(format(v, ".15g")) for v in figures})
    start = max([places, *alone])
    return next(q for q in range(start, start + 16)
                if len({Decimal(excel_text(v, q)) for v in figures}) == differ
                and all(now or not was for (a, b), before in zip(rows, held, strict=True)
                        for now, was in zip(sides(a, b, q), before, strict=True)))


def column_text(value: float | None, unit: str, digits: int, label: str = "") -> str:
    """A figure of a trend's column as printed at its column's places (`column_places`)."""
    if value is None:
        return "n/a"
    if unit == "seconds":
        return clock(value, digits)
    return value_text(value, unit, digits, label=label)


def signed(value: float, text: str) -> str:
    """A change: '+' before a rise; a change that shows as zero has no sign."""
    if not re.search("[1-9]", text):
        return text.lstrip("-").lstrip("+")
    return text if text.startswith("-") else ("+" if value > 0 else "") + text


def change_parts(kpi_json: dict, places: int, target: float | None = None
                 ) -> tuple[str | None, str | None]:
    """The change as printed: (absolute or points, % change), None where there is none; to
    `change_places` beside its two figures (`kpi_json`'s current and comparison, printed
    `beside` each other and the `target`), in every face, a ranked table's too, whatever
    places its column prints the figures to: those its status is judged at."""
    change, unit = kpi_json["change"], kpi_json["unit"]
    now = (kpi_json.get("current") or {}).get("value")
    then = (kpi_json.get("comparison") or {}).get("value")
    if now is not None and then is not None:
        at = beside(now, target, places, then, unit)
        places, own = change_places(now, then, places, at), places
    else:
        own = places
    if change["points"] is not None:
        return signed(change["points"], excel_text(change["points"], places) + "pp"), None
    if change["absolute"] is None:
        return None, None
    size = change["absolute"]
    absolute = signed(size, clock(size, places - own) if unit == "seconds" and places > own
                      else re.sub(" days?$", "", value_text(size, unit, places)))
    if unit == "ratio":
        return absolute, None
    percent = change["percent"]
    return absolute, ("n/a" if percent is None
                      else signed(percent, excel_text(percent, 1) + "%"))


def change_text(kpi_json: dict, places: int, target: float | None = None) -> str:
    absolute, percent = change_parts(kpi_json, places, target)
    if absolute is None:
        return "n/a"
    return absolute if percent is None else f"{absolute} ({percent})"


def assert_status_reads(status: str, kpi_json: dict, places: int, target: float | None,
                        band: float, where: str) -> None:
    """docs/catalogue.md, Status, read off the faces: the size a status judges (points, else
    a ratio's change, else the % change, else the absolute change), as printed beside the two
    figures (`change_parts`), reads as a change where the status says the KPI moved, and as
    none where it says stable, unless the size is within the KPI's stable band (a policy
    band, which a change from a base of zero or below has not)."""
    if status not in ("improving", "deteriorating", "changed", "stable"):
        return
    absolute, percent = change_parts(kpi_json, places, target)
    by_size = kpi_json["unit"] in ("percent", "ratio") or percent in (None, "n/a")
    judged = absolute if by_size else percent
    assert judged is not None, where
    reads = re.search("[1-9]", judged) is not None
    change = kpi_json["change"]
    size = (change["points"] if change["points"] is not None
            else change["absolute"] if by_size else change["percent"])
    within = (kpi_json["unit"] in ("percent", "ratio") or percent not in (None, "n/a")) \
        and abs(size) <= band
    if status == "stable":
        assert not reads or within, (where, judged, status, "stable beside a change")
    else:
        assert reads, (where, judged, status, "moved beside no change")


def expected_status(kpi, kpi_json: dict, places: int) -> str:
    """docs/catalogue.md, Status, from the unrounded values: a % change exists only from a base
    above zero; the size judged is the points, else (a ratio) the absolute change, else the %
    change, else the absolute change with no band; stable within the band or when the size
    prints as zero (a % to one decimal, the rest to the places it prints to beside the two
    figures, `change_places`: 0.4% against 0.6% at no decimals is "+0.2pp", a rise), else its
    sign and the better direction decide."""
    before = (kpi_json["comparison"] or {}).get("value")
    after = (kpi_json["current"] or {}).get("value")
    if before is None or after is None or kpi_json["status"] in (
            "no_data", "stale", "in_development"):
        return kpi_json["status"]
    unit, band = kpi_json["unit"], kpi.stable_band
    percent = (after - before) / before * 100 if before > 0 else None
    assert kpi_json["change"]["percent"] == (
        None if unit in ("percent", "ratio") or percent is None else pytest.approx(percent))
    shown = change_places(after, before, places,
                          beside(after, kpi.target, places, before, unit))
    if unit in ("percent", "ratio"):
        size, digits = after - before, shown
    elif percent is not None:
        size, digits = percent, 1
    else:
        size, digits, band = after - before, shown, -1.0
    if abs(size) <= band or excel_round(size, digits) == 0:
        return "stable"
    if kpi.better.value == "neutral":
        return "changed"
    return "improving" if (size > 0) == (kpi.better.value == "higher") else "deteriorating"


def verdict_word(kpi_json: dict) -> str:
    test = kpi_json.get("significance") or {}
    return {True: "yes", False: "no", None: "–"}[test.get("significant")]


# ---------------------------------------------------------------------------------------------
# Excel's number formats, read independently: the codes kpi writes are sections split by ';',
# each with an optional condition ([>=0.05], [<=-0.05]); quoted text, '+', '-' and '£' are
# literal; '#,##0.00' is a number with thousands separated to two places; '%' multiplies by
# 100. Excel picks the section whose condition holds (the last when none does) and, when the
# format has more than one section, shows the magnitude: a minus comes only from a literal
# (with one section, a minus leads the text).
# The number shown is the cell's value to 15 significant digits, rounded half away from zero.

_SECTION = re.compile(r"^(?:\[(>=|<=|>|<|=)(-?[0-9.]+)\])?(.*)$")


def _holds(op: str, limit: float, value: float) -> bool:
    return {">=": value >= limit, "<=": value <= limit, ">": value > limit,
            "<": value < limit, "=": value == limit}[op]


def excel_shown(value: float, code: str) -> str:
    sections = [_SECTION.match(s).groups() for s in code.split(";")]  # type: ignore[union-attr]
    if len(sections) == 1:
        chosen = sections[0][2]
    elif any(op for op, _, _ in sections):
        chosen = next((body for op, limit, body in sections[:2]
                       if op and _holds(op, float(limit), value)), sections[-1][2])
    else:  # positive; negative; zero
        chosen = sections[0 if value > 0 else 1 if value < 0 else min(2, len(sections) - 1)][2]
    number, out, i = abs(value), [], 0
    while i < len(chosen):
        char = chosen[i]
        if char == '"':
            end = chosen.index('"', i + 1)
            out.append(chosen[i + 1:end])
            i = end + 1
        elif char in "#0":
            match = re.match(r"(#,##)?0(?:\.(0+))?", chosen[i:])
            assert match, chosen
            grouping, places = match.group(1) is not None, len(match.group(2) or "")
            digits = Context(prec=15, rounding=ROUND_HALF_EVEN).plus(Decimal(number))
            if "%" in chosen:
                digits = digits.scaleb(2)
            shown = digits.quantize(Decimal(10) ** -places, rounding=ROUND_HALF_UP,
                                    context=Context(prec=1000))
            shown = abs(shown) if shown == 0 else shown
            out.append(format(shown, f"{',' if grouping else ''}.{places}f"))
            if len(sections) == 1 and value < 0 and shown != 0:
                out.insert(0, "-")  # one section: the minus leads
            i += match.end()
        else:
            out.append(char)
            i += 1
    return "".join(out)


@pytest.mark.parametrize(("value", "code", "shown"), [
    (26.5, "0", "27"), (12.25, "0.0", "12.3"), (1234.5, "#,##0", "1,235"),
    (0.2655, "0.0%", "26.6%"), (-5.0, "+0.0;-0.0;0.0", "-5.0"), (0.0, "+0;-0;0", "0"),
    (-0.04, "[>=0.05]+0.0;[<=-0.05]-0.0;0.0", "0.0"),
    (-0.05, "[>=0.05]+0.0;[<=-0.05]-0.0;0.0", "-0.1"),
    (3.0, '[>=0.5]+#,##0" s";[<=-0.5]-#,##0" s";#,##0" s"', "+3 s"),
    (-2.5, '"£"#,##0.00', "-£2.50"),
])
def test_the_format_reading_shows_what_excel_shows(value, code, shown):
    assert excel_shown(value, code) == shown


# ---------------------------------------------------------------------------------------------
# Reading the faces


def _run(cli, project, args: list, output: Path | None = None) -> str:
    full = ["--project", project, *args] + (["--output", output] if output else [])
    result = cli(full)
    assert result.exit_code == 0, result.output
    return output.read_text(encoding="utf-8") if output and output.suffix not in (
        ".xlsx", ".docx") else result.stdout


def workbook_cells(path: Path, first: str = "id", sheet_name: str | None = None
                   ) -> tuple[list[str], list[dict[str, tuple[object, str]]]]:
    """The table's header and, per row, column -> (value, number format), read from the XML
    of the first sheet, or the one named (the header row is the one starting with `first`)."""
    with zipfile.ZipFile(path) as book:
        styles = ElementTree.fromstring(book.read("xl/styles.xml"))
        names = [x.get("name") for x in ElementTree.fromstring(
            book.read("xl/workbook.xml")).iterfind("m:sheets/m:sheet", NS)]
        number = 1 if sheet_name is None else names.index(sheet_name) + 1
        sheet = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{number}.xml"))
        strings = [("".join(t.text or "" for t in si.iterfind(".//m:t", NS)))
                   for si in ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
                   .iterfind("m:si", NS)]
    codes = {n.get("numFmtId"): n.get("formatCode")
             for n in styles.iterfind("m:numFmts/m:numFmt", NS)} | {"0": "General"}
    xfs = [codes.get(x.get("numFmtId"), x.get("numFmtId"))
           for x in styles.iterfind("m:cellXfs/m:xf", NS)]
    rows = []
    for row in sheet.iterfind(".//m:sheetData/m:row", NS):
        cells = {}
        for c in row.iterfind("m:c", NS):
            column = re.match(r"[A-Z]+", c.get("r")).group()  # type: ignore[union-attr]
            v = c.find("m:v", NS)
            inline = c.find("m:is/m:t", NS)
            if c.get("t") == "s" and v is not None:
                value: object = strings[int(v.text)]  # type: ignore[arg-type]
            elif c.get("t") == "inlineStr" and inline is not None:
                value = inline.text
            elif c.get("t") == "b" and v is not None:
                value = v.text == "1"
            elif c.get("t") == "str" and v is not None:  # a formula's text
                value = v.text or ""
            elif v is not None:
                value = float(v.text)  # type: ignore[arg-type]
            else:
                value = None
            cells[column] = (value, xfs[int(c.get("s", "0"))])
        rows.append(cells)
    start = next(i for i, r in enumerate(rows) if r.get("A", (None,))[0] == first)
    letters = list(rows[start])
    header = [str(rows[start][x][0]) for x in letters]
    table = [{name: row.get(x, (None, "General")) for name, x in zip(header, letters,
                                                                      strict=True)}
             for row in rows[start + 1:]]
    return header, table


def markdown_rows(text: str) -> dict[str, list[str]]:
    """The Markdown summary's rows by KPI title: the cells after the title, unescaped."""
    rows = {}
    for line in text.splitlines():
        if not line.startswith("| ") or line.startswith("| KPI |"):
            continue
        cells = [re.sub(r"\\(.)", r"\1", c.strip()) for c in line.strip("|").split(" | ")]
        rows[cells[0]] = cells[1:]
    return rows


def _without_window(cell: str) -> str:
    """'YE 2024-03: 26,405' -> '26,405' (a value in another window than its column's)."""
    return re.sub(r"^[A-Z]{2} [0-9-]+(?:\.\.[0-9-]+)?: ", "", cell)


# ---------------------------------------------------------------------------------------------
# The comparison


def _number(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def check_every_face(cli, project_arg, definition, python_project, tmp_path: Path,
                     exported=None) -> int:
    """Every figure of every KPI, compared across the faces; the number of KPIs with a value.
    `exported`: the paper's path by format ("markdown", "html", "docx") and the summary's
    JSON ("summary"), made as below by `kpi export FORMAT --period PERIOD` and `kpi summary
    --period PERIOD --format json` (the sample's: conftest.py's `sample_paper`); else they
    are made here."""
    doc = json.loads(_run(cli, project_arg, ["summary", "--period", PERIOD, "--format", "json"])
                     if exported is None else exported["summary"].read_text(encoding="utf-8"))
    table_text = _run(cli, project_arg, ["summary", "--period", PERIOD], tmp_path / "s.txt")
    markdown = markdown_rows(_run(cli, project_arg, ["summary", "--period", PERIOD,
                                                     "--format", "markdown"]))
    csv_rows = list(csv.DictReader(io.StringIO(_run(
        cli, project_arg, ["summary", "--period", PERIOD, "--format", "csv"]))))
    _run(cli, project_arg, ["summary", "--period", PERIOD, "--format", "xlsx"],
         tmp_path / "s.xlsx")
    _, cells = workbook_cells(tmp_path / "s.xlsx")
    frame = python_project.summary(PERIOD)
    if exported is None:
        exported = {"markdown": tmp_path / "paper.md", "html": tmp_path / "paper.html",
                    "docx": tmp_path / "paper.docx"}
        for fmt, path in exported.items():
            _run(cli, project_arg, ["export", fmt, "--period", PERIOD], path)
    # The figures file, one for the three formats (each export writes the same).
    figures = {(f["kpi"], f["role"]): f for f in json.loads(
        exported["markdown"].with_suffix(".figures.json").read_text(encoding="utf-8"))[
            "figures"]}
    # The paper, in Markdown, HTML and Word, prints every figure of its figures file as the
    # file says it is shown (HTML and Word with a typographic minus, Word's held to its number
    # by a word joiner).
    papers = {"paper.md": re.sub(r"\\(.)", r"\1",
                                 exported["markdown"].read_text(encoding="utf-8"))}
    papers["paper.html"] = exported["html"].read_text(encoding="utf-8")
    with zipfile.ZipFile(exported["docx"]) as book:
        body = ElementTree.fromstring(book.read("word/document.xml"))
    word = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    papers["paper.docx"] = "\n".join("".join(t.text or "" for t in p.iter(f"{word}t"))
                                      for p in body.iter(f"{word}p"))
    papers = {name: text.replace("\u2060", "").replace("\u2212", "-")
              for name, text in papers.items()}
    for figure in figures.values():
        for name, text in papers.items():
            if figure["unit"] == "seconds":  # the paper's prose says a duration in words
                assert figure["shown"] == clock(figure["value"]), figure
                assert spoken(figure["value"]) in text, (figure, name)
            else:  # days may be named by the KPI's `unit_label` ("27 working days")
                assert re.sub(" days?$", "", figure["shown"]) in text, (figure, name)
    kpis = {k.id: k for k in definition.kpis}

    assert [k["id"] for k in doc["kpis"]] == [r["id"] for r in csv_rows] \
        == frame["id"].to_list() == [r["id"][0] for r in cells]
    measured = 0
    for kpi_json, csv_row, frame_row, xlsx_row in zip(
            doc["kpis"], csv_rows, frame.iter_rows(named=True), cells, strict=True):
        kpi = kpis[kpi_json["id"]]
        places, unit, title = decimals(kpi), kpi_json["unit"], kpi_json["title"]
        where = f"{kpi.id} ({unit}, {places} places)"
        machine = {"comparison_value": (kpi_json["comparison"] or {}).get("value"),
                   "current_value": (kpi_json["current"] or {}).get("value"),
                   "change_absolute": kpi_json["change"]["absolute"],
                   "change_percent": kpi_json["change"]["percent"],
                   "change_points": kpi_json["change"]["points"],
                   "target": kpi_json.get("target")}
        # The machine faces: one unrounded value, one status, one verdict.
        for name, value in machine.items():
            assert _number(csv_row[name]) == value, (where, name, "csv")
            assert frame_row[name] == value, (where, name, "DataFrame")
        assert frame_row["target_met"] == kpi_json.get("target_met"), where
        assert xlsx_row["target_met"][0] == kpi_json.get("target_met"), where
        assert csv_row["status"] == frame_row["status"] == kpi_json["status"] \
            == xlsx_row["status"][0], where
        assert kpi_json["status"] == expected_status(kpi, kpi_json, places), where
        significant = (kpi_json.get("significance") or {}).get("significant")
        assert frame_row["significant"] == significant, where
        assert csv_row["significant"] == ("" if significant is None else str(significant)), \
            where
        assert xlsx_row["significant"][0] == significant, where

        # The human faces: the text of the unrounded value.
        shown = {role: "—" if machine[f"{role}_value"] is None
                 else value_text(machine[f"{role}_value"], unit, places, kpi.target,
                                 machine[f"{OTHER[role]}_value"], role, kpi.unit_label)
                 for role in ("comparison", "current")}
        # Where there is no change, why, stated again: in development, no current figure, or
        # a figure with no comparison; the same words in every face.
        why = (None if any(kpi_json["change"][k] is not None
                           for k in ("absolute", "percent", "points"))
               else "in development" if kpi_json["status"] == "in_development"
               else "no figure" if machine["current_value"] is None else "no comparison")
        assert kpi_json["change"]["note"] == frame_row["change_note"] == why, where
        assert csv_row["change_note"] == (why or ""), where
        assert xlsx_row["change_note"][0] == why, where
        change = change_text(kpi_json, places, kpi.target) if why is None else why
        row = markdown[title]
        assert [_without_window(row[0]), _without_window(row[1]), row[2], row[3], row[4]] \
            == [shown["comparison"], shown["current"], change, STATUS[kpi_json["status"]],
                verdict_word(kpi_json)], (where, "markdown")
        line = (rf"(?m)^{re.escape(title.split()[0])}.*? {re.escape(shown['comparison'])}"
                rf"(?: \*)? +{re.escape(shown['current'])}(?: \*)? +{re.escape(change)} +"
                rf"(?:\S )?{re.escape(STATUS[kpi_json['status']])} +"
                rf"{re.escape(verdict_word(kpi_json))}( |$)")
        assert re.search(line, table_text), (where, "table", line)
        # No status says a KPI moved beside a change that prints as zero, nor "stable"
        # beside one that prints as a change, outside its stable band.
        assert_status_reads(kpi_json["status"], kpi_json, places, kpi.target,
                            kpi.stable_band, where)
        if kpi_json.get("target") is not None:
            # With whose target it is, as the JSON's fields say (and the paper prints it).
            whose = (" (illustrative" if kpi_json["target_illustrative"]
                     else f" ({kpi_json['target_source']})" if kpi_json["target_source"]
                     else " (source not stated)")
            aim = value_text(kpi_json["target"], unit, places, kpi.target,
                             label=kpi.unit_label)
            assert f"{title} {aim}{whose}" in table_text.replace("\n", " "), (where, "target")
        for role in ("current", "comparison"):
            figure = figures.get((kpi.id, role))
            if figure is not None and machine[f"{role}_value"] is not None:
                assert figure["value"] == machine[f"{role}_value"], (where, role, "paper")
                assert figure["shown"] == shown[role], (where, role, "paper")

        # The workbook: the JSON's value (a percentage as a fraction), shown as the text is.
        scale = 100 if unit == "percent" else 1
        absolute, percent = change_parts(kpi_json, places, kpi.target)
        expected_text = {"comparison_value": shown["comparison"],
                         "current_value": shown["current"],
                         "change_absolute": absolute if kpi_json["change"]["points"] is None
                         else None,
                         "change_points": absolute if kpi_json["change"]["points"] is not None
                         else None,
                         "change_percent": percent,
                         "target": None if machine["target"] is None
                         else value_text(machine["target"], unit, places, kpi.target,
                                         label=kpi.unit_label)}
        for name, value in machine.items():
            cell, code = xlsx_row[name]
            if value is None:
                assert cell is None, (where, name, "xlsx")
                continue
            stored = value / (100 if name == "change_percent" else
                              scale if name in ("comparison_value", "current_value", "target")
                              else 1)
            assert cell == pytest.approx(stored, rel=1e-14, abs=1e-300), (where, name, "xlsx")
            text = excel_shown(cell, code)  # type: ignore[arg-type]
            if unit == "seconds" and name != "change_percent":
                # A duration's cell is in seconds ("124 s"); the text prints "2:04": the same
                # whole seconds.
                assert text == signed(value, excel_text(value, 0, grouping=True)) + " s" \
                    if name == "change_absolute" else \
                    text == excel_text(value, 0, grouping=True) + " s", (where, name, text)
                continue
            assert text == expected_text[name], (where, name, code, text)
        measured += machine["current_value"] is not None
    return measured


def plain_sections(text: str) -> list[tuple[str, list[dict[str, str]]]]:
    """A plain `--format table` document's sections: title and rows (header -> cell), columns
    two or more spaces apart."""
    sections, blocks = [], text.split("\n\n")[1:]
    for block in blocks:
        lines = [x for x in block.splitlines() if x.strip()]
        if len(lines) < 2:
            continue
        header = re.split(r" {2,}", lines[1])
        sections.append((lines[0], [dict(zip(header, re.split(r" {2,}", x), strict=False))
                                    for x in lines[2:]]))
    return sections


def check_compare_faces(cli, project_arg, definition, python_project, tmp_path: Path,
                        by: str) -> int:
    """`kpi compare`: each part's values, change, status and rate per 1,000 in the text, JSON,
    CSV, `project.compare()` and the workbook; the number of parts with a value."""
    args = ["compare", "--period", PERIOD, "--by", by]
    doc = json.loads(_run(cli, project_arg, [*args, "--format", "json"]))
    text = plain_sections(_run(cli, project_arg, args, tmp_path / "c.txt"))
    csv_rows = list(csv.DictReader(io.StringIO(_run(cli, project_arg,
                                                    [*args, "--format", "csv"]))))
    frame = python_project.compare(PERIOD, by)
    _run(cli, project_arg, [*args, "--format", "xlsx"], tmp_path / "c.xlsx")
    _, cells = workbook_cells(tmp_path / "c.xlsx", "kpi")
    kpis = {k.id: k for k in definition.kpis}
    parts = [(k, p) for k in doc["kpis"] for p in k["parts"]]
    # A KPI with no parts has one row in the CSV, the DataFrame and the workbook, its part
    # empty and its note (why it has none) the JSON's; the rows of parts follow the JSON's.
    bare = {k["id"]: k["note"] for k in doc["kpis"] if not k["parts"]}
    assert all(bare.values())
    assert {r["kpi"]: r["note"] for r in csv_rows if r["part"] == ""} == bare
    assert {r["kpi"]: r["note"] for r in frame.iter_rows(named=True)
            if r["part"] is None} == bare
    assert {r["kpi"][0]: r["note"][0] for r in cells if r["part"][0] is None} == bare
    csv_rows = [r for r in csv_rows if r["part"] != ""]
    frame = frame.filter(frame["part"].is_not_null())
    cells = [r for r in cells if r["part"][0] is not None]
    assert [(k["id"], p["name"]) for k, p in parts] == [(r["kpi"], r["part"]) for r in csv_rows] \
        == list(zip(frame["kpi"], frame["part"], strict=True)) \
        == [(r["kpi"][0], r["part"][0]) for r in cells]
    sections = iter(text)
    shown_rows: dict[tuple[str, str], dict[str, str]] = {}
    for k in doc["kpis"]:
        title, rows = next(sections)
        assert title.startswith(k["title"]), (title, k["title"])
        for row in rows:
            if by in row:
                shown_rows[(k["id"], row[by])] = row
    # Each KPI's table ranks its parts by their value (or per 1,000): its figures to one
    # number of places, at which two parts that differ never print alike (`ranked_places`).
    column_digits, rate_digits = {}, {}
    for k in doc["kpis"]:
        kpi = kpis[k["id"]]
        rows = [((p["current"] or {}).get("value"), (p["comparison"] or {}).get("value"))
                for p in k["parts"]]
        by_rate = k["ranked_on"] == "per_1000"
        column_digits[k["id"]] = ranked_places([] if by_rate else [r[0] for r in rows], rows,
                                               k["unit"], decimals(kpi), kpi.target)
        rates = [p["per_1000"] for p in k["parts"] if p["per_1000"] is not None]
        differ = len({Decimal(format(v, ".15g")) for v in rates}) if by_rate else 0
        rate_digits[k["id"]] = next(q for q in range(2, 18) if not by_rate or len(
            {Decimal(excel_text(v, q)) for v in rates}) == differ)
    measured = 0
    for (k, part), csv_row, frame_row, xlsx_row in zip(parts, csv_rows,
                                                        frame.iter_rows(named=True), cells,
                                                        strict=True):
        kpi = kpis[k["id"]]
        places, unit = decimals(kpi), k["unit"]
        where = f"{kpi.id} {part['name']} ({unit}, {places} places)"
        machine = {"comparison_value": (part["comparison"] or {}).get("value"),
                   "current_value": (part["current"] or {}).get("value"),
                   "change_absolute": (part["change"] or {}).get("absolute"),
                   "change_percent": (part["change"] or {}).get("percent"),
                   "change_points": (part["change"] or {}).get("points"),
                   "per_1000": part["per_1000"]}
        for name, value in machine.items():
            assert _number(csv_row[name]) == value, (where, name, "csv")
            assert frame_row[name] == value, (where, name, "DataFrame")
        assert csv_row["status"] == frame_row["status"] == part["status"] \
            == xlsx_row["status"][0], where
        row = shown_rows[(k["id"], part["name"])]
        as_summary = {"unit": unit, "change": part["change"] or {
            "absolute": None, "percent": None, "points": None},
            "current": part["current"], "comparison": part["comparison"]}
        # Where a part has no change, why, stated again in the summary's words (a part is
        # never in development): no current figure, or a figure with no comparison.
        why = (None if any(part["change"][k] is not None
                           for k in ("absolute", "percent", "points"))
               else "no figure" if machine["current_value"] is None else "no comparison")
        assert part["change"]["note"] == frame_row["change_note"] == why, where
        assert csv_row["change_note"] == (why or ""), where
        assert xlsx_row["change_note"][0] == why, where
        digits = column_digits[k["id"]]
        expected = {"comparison": column_text(machine["comparison_value"], unit, digits,
                                              kpi.unit_label),
                    "current": column_text(machine["current_value"], unit, digits,
                                           kpi.unit_label),
                    # The change to the places its status is judged at, its own two
                    # figures' (the summary's), whatever the column's: "0.0pp" beside
                    # "stable", never "+0.0002pp" (docs/guarantees.md).
                    "change": why or change_text(as_summary, places, kpi.target),
                    "status": STATUS.get(part["status"], part["status"])}
        if "per 1,000" in row:
            expected["per 1,000"] = ("n/a" if part["per_1000"] is None else excel_text(
                part["per_1000"], rate_digits[k["id"]], grouping=True))
        assert {c: row[c] for c in expected} == expected, (where, "table")
        assert_status_reads(part["status"], as_summary, places, kpi.target, kpi.stable_band,
                            where)
        absolute, percent = (change_parts(as_summary, places, kpi.target)
                             if part["change"]
                             else (None, None))
        shown = {"comparison_value": expected["comparison"], "current_value":
                 expected["current"], "change_percent": percent,
                 "change_points" if machine["change_points"] is not None
                 else "change_absolute": absolute, "per_1000": expected.get("per 1,000")}
        for name, value in machine.items():
            cell, code = xlsx_row[name]
            if value is None:
                assert cell is None, (where, name, "xlsx")
                continue
            scale = 100 if name == "change_percent" or (
                unit == "percent" and name.endswith("_value")) else 1
            assert cell == pytest.approx(value / scale, rel=1e-14), (where, name, "xlsx")
            if unit == "seconds" and name not in ("change_percent", "per_1000"):
                continue  # whole seconds in the workbook (the summary's test reads them)
            assert excel_shown(cell, code) == shown[name], (where, name, code)  # type: ignore[arg-type]
        measured += machine["current_value"] is not None
    return measured


def check_show_faces(cli, project_arg, definition, python_project, tmp_path: Path,
                     kpi_id: str) -> None:
    """`kpi show`: the windows' values, the change and the monthly trend in the text, JSON,
    `project.series()` and the workbook."""
    args = ["show", kpi_id, "--period", PERIOD]
    doc = json.loads(_run(cli, project_arg, [*args, "--format", "json"]))
    sections = dict(plain_sections(_run(cli, project_arg, args, tmp_path / "k.txt")))
    _run(cli, project_arg, [*args, "--format", "xlsx"], tmp_path / "k.xlsx")
    kpi_json = doc["kpi"]
    kpi = next(k for k in definition.kpis if k.id == kpi_id)
    places, unit = decimals(kpi), kpi_json["unit"]
    seconds = unit == "seconds"

    def text(value):
        return "n/a" if value is None else value_text(value, unit, places, kpi.target,
                                                      label=kpi.unit_label)

    def in_book(cell, code, value, shown, scale=1):
        if value is None:
            assert cell is None, (kpi_id, shown)
            return
        assert cell == pytest.approx(value / scale, rel=1e-14), (kpi_id, shown)
        if not seconds or scale == 100:
            assert excel_shown(cell, code) == shown, (kpi_id, code, shown)  # type: ignore[arg-type]

    scale = 100 if unit == "percent" else 1
    _, windows = workbook_cells(tmp_path / "k.xlsx", "window", "Windows")
    for row in sections["Windows"]:
        value = kpi_json[row["window"]]["value"]
        other = (kpi_json.get(OTHER[row["window"]]) or {}).get("value")
        assert row["value"] == ("n/a" if value is None else value_text(
            value, unit, places, kpi.target, other, row["window"], kpi.unit_label)), (kpi_id,
                                                                                      row)
        cell = next(c for c in windows if c["window"][0] == row["window"])
        in_book(*cell["value"], value, row["value"], scale)
    absolute, percent = change_parts(kpi_json, places, kpi.target)
    assert_status_reads(kpi_json["status"], kpi_json, places, kpi.target, kpi.stable_band,
                        f"show {kpi_id}")
    (change_row,) = sections["Change"]
    points = kpi_json["change"]["points"] is not None
    name = "change_points" if points else "change_absolute"
    # No change: its cells are empty and change_note says why, as the JSON's change.note.
    why = kpi_json["change"]["note"]
    assert change_row["change_note"] == (why or "—"), (kpi_id, change_row)
    assert change_row[name] == (absolute or "—"), (kpi_id, change_row)
    if "change_percent" in change_row:
        assert change_row["change_percent"] == (
            "—" if why else percent or "n/a"), (kpi_id, change_row)
    _, (change_cells,) = workbook_cells(tmp_path / "k.xlsx", name, "Change")
    assert change_cells["change_note"][0] == why, kpi_id
    in_book(*change_cells[name], kpi_json["change"]["absolute" if not points else "points"],
            absolute)
    if "change_percent" in change_cells:
        in_book(*change_cells["change_percent"], kpi_json["change"]["percent"], percent, 100)
    trend_title = next(t for t in sections if t.startswith("Trend"))
    # Asked of the same period, the trend ends where the current window does (a lagged KPI's
    # before the period) in both faces: `series` ended at the period, so a lagged KPI's
    # months after its window, which `kpi show` leaves out, were given as its trend.
    series = python_project.series(kpi_id, PERIOD, len(doc["trend"]))
    _, trend_cells = workbook_cells(tmp_path / "k.xlsx", "month", "Trend")
    assert [r["month"] for r in sections[trend_title]] == [t["month"] for t in doc["trend"]]
    assert [m.partition("..")[0] for m in series["month"]] == \
        [t["month"].partition("..")[0] for t in doc["trend"]]
    assert series["value"].to_list() == [t["value"] for t in doc["trend"]]
    assert series["rolling_12"].to_list() == [t["rolling_12"] for t in doc["trend"]]
    detail = python_project.detail(kpi_id, PERIOD)
    assert detail.trend["value"].to_list() == series["value"].to_list()
    assert detail.result.current is None or detail.result.current.value == \
        kpi_json["current"]["value"]
    digits = {column: column_places([m[column] for m in doc["trend"]], unit,
                                    0 if seconds else places, kpi.target)
              for column in ("value", "rolling_12")}
    for row, month, cells in zip(sections[trend_title], doc["trend"], trend_cells,
                                 strict=True):
        for column in ("value", "rolling_12"):
            assert row[column] == column_text(month[column], unit, digits[column],
                                              kpi.unit_label), (
                kpi_id, row)
            in_book(*cells[column], month[column], row[column], scale)


# ---------------------------------------------------------------------------------------------
# The projects

AWKWARD_TOML = head("Awkward figures", "2024-03", "m", {
    "day": "date", **{column: "float" for column in "abcdefghij"},
    "hit": "bool", "hit2": "bool", "lpa": "str"}, sources=["extracts/m.csv"],
    priority=("p", "Edges"))

# id, title, kind and keys, unit, decimals, better: the values (before April 2024, after)
# are the extract's, identical in every month of each.
AWKWARD_KPIS = [
    ("half", "Half", dict(kind="mean", value="a"), "number", 0, "higher"),  # 20 -> 26.5
    ("quarter", "Quarter days", dict(kind="mean", value="b"), "days", None, "lower"),
    ("tiny", "Tiny score", dict(kind="mean", value="c"), "score", 3, "higher"),
    ("money", "Money", dict(kind="mean", value="d"), "gbp", 2, "higher"),
    ("wait", "Wait", dict(kind="mean", value="e"), "seconds", None, "lower"),
    ("ratio", "Ratio", dict(kind="mean", value="f"), "ratio", 2, "neutral"),
    ("share", "Share", dict(kind="rate", numerator="hit", target=12.5), None, 0, "higher"),
    ("share2", "Share two", dict(kind="rate", numerator="hit2"), None, 2, "higher"),
    ("share3", "Share three", dict(kind="rate", numerator="hit"), None, 3, "higher"),
    ("none", "None", dict(kind="count", filter="a < 0"), None, None, "lower"),
    ("sum_tiny", "Sum tiny", dict(kind="sum", value="c"), None, 1, "higher"),
    ("sum_money", "Sum money", dict(kind="sum", value="d"), "gbp", None, "higher"),
    # A negative base has no % change: the status follows the sign of the change (-2 to -1
    # read "-50.0%", deteriorating where higher is better).
    ("owed", "Owed", dict(kind="mean", value="g"), "gbp", None, "higher"),  # -2 -> -1
    ("owed_low", "Owed low", dict(kind="mean", value="g"), None, None, "lower"),
    # A rise from zero that prints as zero is stable (0 to 0.3 printed "0 (n/a)" beside
    # "deteriorating").
    ("from_zero", "From zero", dict(kind="mean", value="h"), None, 0, "lower"),
    # A rate per 1,000 below 1 whose change reads (-4.0%, improving) where both figures print
    # "0.5" to its one decimal: they print "0.50" and "0.48" (kpi.rounding.places_apart).
    ("small_rate", "Small rate", dict(kind="mean", value="i"), "per_1000", None, "lower"),
    # Whole percentages that print apart only to one decimal: "0.4%" and "0.6%" beside
    # "+0.2pp", a rise (it read "stable", judged at no decimals).
    ("tenths", "Tenths", dict(kind="mean", value="j"), "percent", 0, "higher"),
]
BEFORE = {"a": 20, "b": 12.25, "c": -0.0005, "d": 1234.565, "e": 123.5, "f": 1.005, "g": -2.0,
          "h": 0.0, "i": 0.5, "j": 0.4}
AFTER = {"a": 26.5, "b": 12.0, "c": 0.0, "d": 1000.005, "e": 3725.5, "f": 1.0049, "g": -1.0,
         "h": 0.3, "i": 0.48, "j": 0.6}


def awkward_project(root: Path) -> Path:
    """Halves at the rounding edge (26.5, 12.25, 1.005, 1234.565), negatives, zero, decimals
    0 to 3, a duration, pounds, percentages and a target."""
    (root / "extracts").mkdir(parents=True)
    blocks = [AWKWARD_TOML]
    for kpi_id, title, keys, unit, places, better in AWKWARD_KPIS:
        blocks.append(kpi_block(kpi_id, title, "m", **keys, better=better, unit=unit,
                                decimals=places))
    (root / "kpi.toml").write_text("\n".join(blocks), encoding="utf-8")
    lines = ["day,a,b,c,d,e,f,g,h,i,j,hit,hit2,lpa"]
    for year, month in [(2023 + (m + 3) // 12, (m + 3) % 12 + 1) for m in range(30)]:
        values = BEFORE if (year, month) < (2024, 4) else AFTER
        for i in range(8):
            hits = 3 if (year, month) < (2024, 4) else 1
            lines.append(f"{year}-{month:02d}-15,"
                         + ",".join(str(values[c]) for c in "abcdefghij")
                         + f",{i < hits},{i < 1},{'North' if i < 4 else 'South'}")
    (root / "extracts" / "m.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def awkward(tmp_path_factory) -> Path:
    """The awkward project, loaded once for the module's two tests of it, which only read it
    (their outputs go to each test's own folder)."""
    from typer.testing import CliRunner

    from kpi.cli import app

    root = awkward_project(tmp_path_factory.mktemp("faces") / "awkward")
    result = CliRunner().invoke(app, ["--project", str(root), "ingest", "m"])
    assert result.exit_code == 0, result.output
    return root


def test_every_face_shows_one_figure_on_awkward_values(cli, tmp_path, awkward):
    import kpi

    root = awkward
    project = kpi.open(root)
    measured = check_every_face(cli, root, project.definition, project, tmp_path)
    assert measured == len(AWKWARD_KPIS)
    for kpi_id, *_ in AWKWARD_KPIS:
        check_show_faces(cli, root, project.definition, project, tmp_path, kpi_id)
    # Two parts of each KPI but "none", whose filter selects no row and so no part.
    assert check_compare_faces(cli, root, project.definition, project, tmp_path, "lpa") \
        == 2 * (len(AWKWARD_KPIS) - 1)


def test_the_workbook_in_libreoffice_shows_the_summarys_text(cli, tmp_path, awkward,
                                                             office_profile):
    """The summary workbook converted by LibreOffice Calc to CSV, cells as shown: each value,
    change and target reads as the summary prints it; a duration's in whole seconds, the
    seconds of the text's h:mm:ss, rounded alike (3725.5 s, "1:02:06" in the text, is "3,726 s";
    its change "+3,602 s", the text's "+1:00:02")."""
    import shutil
    import subprocess

    import kpi

    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("soffice is not installed here (.ci/run installs it with apt-get)")
    root = awkward
    doc = json.loads(_run(cli, root, ["summary", "--period", PERIOD, "--format", "json"]))
    _run(cli, root, ["summary", "--period", PERIOD, "--format", "xlsx"], tmp_path / "s.xlsx")
    # Comma-separated, quoted, UTF-8 (76), cells as shown (the 9th token), US English (1033).
    result = subprocess.run([office, "--headless", "--norestore",
                             f"-env:UserInstallation={office_profile.as_uri()}",
                             "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,1033,"
                             "false,true,true", "--outdir", str(tmp_path / "calc"),
                             str(tmp_path / "s.xlsx")], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "calc" / "s.csv").read_text(encoding="utf-8").splitlines()
    rows = list(csv.DictReader(lines[next(i for i, x in enumerate(lines)
                                          if x.startswith("id,")):]))
    definition = kpi.open(root).definition
    assert [r["id"] for r in rows] == [k["id"] for k in doc["kpis"]]
    for row, kpi_json in zip(rows, doc["kpis"], strict=True):
        places, unit = decimals(definition.kpi(kpi_json["id"])), kpi_json["unit"]
        label = definition.kpi(kpi_json["id"]).unit_label
        absolute, percent = change_parts(kpi_json, places, kpi_json["target"])
        target = kpi_json["target"]
        expected = {f"{role}_value": value_text(kpi_json[role]["value"], unit, places, target,
                                                kpi_json[OTHER[role]]["value"], role, label)
                    for role in ("comparison", "current")}
        # No % change (a zero base) prints "n/a" and is a blank cell, as JSON's null.
        expected |= {"change_percent": "" if percent in (None, "n/a") else percent,
                     "change_points" if kpi_json["change"]["points"] is not None
                     else "change_absolute": absolute or "",
                     "target": "" if kpi_json["target"] is None
                     else value_text(kpi_json["target"], unit, places, target, label=label)}
        if unit == "seconds":  # whole seconds in the workbook where the text prints h:mm:ss
            whole = {f"{role}_value": kpi_json[role]["value"]
                     for role in ("comparison", "current")}
            whole |= {"change_absolute": kpi_json["change"]["absolute"],
                      "target": kpi_json["target"]}
            expected |= {name: "" if value is None else signed(
                value if name == "change_absolute" else 0,
                excel_text(value, 0, grouping=True)) + " s" for name, value in whole.items()}
        assert {k: row[k] for k in expected} == expected, kpi_json["id"]


def test_every_face_shows_one_figure_on_the_sample(cli, tmp_path, sample_paper):
    import kpi

    project = kpi.open("sample")
    assert check_every_face(cli, "sample", project.definition, project, tmp_path,
                            sample_paper) > 80
    assert check_compare_faces(cli, "sample", project.definition, project, tmp_path,
                               "lpa") > 50
    # A KPI of each unit.
    for kpi_id in ("knife_crime", "vawg_outcome_rate", "emergency_median_response_s",
                   "complaints_sch3_days", "stop_search_disp_black", "harm_score",
                   "crime_per_1000"):
        check_show_faces(cli, "sample", project.definition, project, tmp_path, kpi_id)


def test_a_csv_opened_in_calc_reads_each_figure_and_month_as_written(cli, tmp_path,
                                                                    office_profile):
    """Each `--format csv-excel` file (summary, show of a duration, a percentage and a count,
    compare, datasets, check) opened by LibreOffice Calc with its detection of dates, times and
    other special numbers on, as Excel always reads a CSV: every figure is a number cell
    holding the figure written, never a date or a time; every month (`2025-09`) and every
    other word stays the text written; a flag is a boolean. A window's label that is a month
    alone ("April 2024", a snapshot's) was read as a date, the first of that month: it is
    written, as every text Excel would read otherwise, as Excel's text formula
    (`="April 2024"`), which Calc reads as the text (docs/excel-and-power-bi.md). A figure
    written as text was read otherwise: a duration's process-chart mean, "11:49" (11 minutes
    49 seconds), was read as the time of day 11:49."""
    import shutil
    import subprocess

    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("soffice is not installed here (.ci/run installs it with apt-get)")
    commands = {
        "summary": ["summary", "--period", PERIOD],
        "duration": ["show", "emergency_median_response_s", "--period", PERIOD],
        "percent": ["show", "vawg_outcome_rate", "--period", PERIOD],
        "count": ["show", "knife_crime", "--period", PERIOD],
        "compare": ["compare", "--by", "lpa", "--period", PERIOD],
        "datasets": ["datasets"],
    }
    files = []
    for name, args in commands.items():
        path = tmp_path / f"{name}.csv"
        result = cli(["--project", "sample", *args, "--format", "csv-excel", "--output", path])
        assert result.exit_code == 0, result.output
        files.append(path)
    check = cli(["--project", "sample", "check", "--period", PERIOD, "--format", "csv-excel",
                 "--output", tmp_path / "check.csv"])
    assert check.exit_code in (0, 1), check.output
    files.append(tmp_path / "check.csv")
    # UTF-8 (76), comma-separated, detecting special numbers (the 8th token), US English.
    result = subprocess.run([office, "--headless", "--norestore",
                             f"-env:UserInstallation={office_profile.as_uri()}",
                             "--infilter=CSV:44,34,76,1,,1033,false,true",
                             "--convert-to", "xlsx", "--outdir", str(tmp_path / "calc"),
                             *map(str, files)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    checked = {"number": 0, "month": 0, "text": 0, "formula": 0}
    for path in files:
        written = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        header, cells = workbook_cells(tmp_path / "calc" / f"{path.stem}.xlsx", written[0][0])
        assert header == written[0], path.name
        assert len(cells) == len(written) - 1, path.name
        for line, row in zip(written[1:], cells, strict=True):
            for column, text in zip(header, line, strict=True):
                value, code = row[column]
                where = (path.name, column, text, value, code)
                if text == "":
                    assert value is None, where
                elif re.fullmatch(r"-?[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?", text):
                    assert isinstance(value, float) and value == pytest.approx(
                        float(text), rel=1e-14, abs=0), where
                    assert not re.search("[dmyhs]", code.replace("General", "")
                                         .replace("E", "")), where  # no date or time
                    checked["number"] += 1
                elif text in ("True", "False"):
                    assert value == (text == "True"), where
                else:
                    shown = re.fullmatch(r'="((?:[^"]|"")*)"', text)
                    if shown is not None:
                        text = shown.group(1).replace('""', '"')
                        checked["formula"] += 1
                    assert value == text, where
                    checked["month" if re.fullmatch("[0-9]{4}-[0-9]{2}", text)
                            else "text"] += 1
    assert min(checked.values()) > 100, checked
