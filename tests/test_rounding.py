"""Every printed figure is rounded by one rule, Excel's (docs/guarantees.md): half away from
zero on the value to 15 significant digits, as Excel's ROUND and its cells show it. Checked
against Excel's known results, against an independent statement of the rule (exact fractions,
not Decimal) with Hypothesis, through the renderers, and by reading kpi's source: no float is
formatted to fixed places, and no built-in `round` is called, anywhere but `kpi.rounding`."""

from __future__ import annotations

import ast
import math
import re
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from kpi import paper, render
from kpi.catalogue import Unit
from kpi.engine import Change
from kpi.rounding import fixed

PACKAGE = Path(__file__).resolve().parent.parent / "kpi"
RULE_MODULE = PACKAGE / "rounding.py"

# ROUND(value, places) in Excel, and what a cell formatted to that many places shows.
EXCEL = [
    (26.5, 0, "27"), (27.5, 0, "28"), (-2.5, 0, "-3"), (12.25, 1, "12.3"), (2.675, 2, "2.68"),
    (1.005, 2, "1.01"), (0.285, 2, "0.29"), (8.345, 2, "8.35"), (1.45, 1, "1.5"),
    (-0.05, 1, "-0.1"), (-0.04, 1, "0.0"), (0.05, 1, "0.1"), (0.0125, 3, "0.013"),
    (26.500000000000004, 0, "27"), (26.499999999999996, 0, "27"), (0.1 + 0.2, 1, "0.3"),
    (1234567.5, 0, "1234568"), (-1234.5, 0, "-1235"), (0.125, 2, "0.13"), (100.0, 1, "100.0"),
]


@pytest.mark.parametrize(("value", "places", "shown"), EXCEL)
def test_excel_rounds_these_so(value, places, shown):
    assert fixed(value, places) == shown


def test_grouping_and_what_has_no_figure():
    assert fixed(1234567.5, 0, grouping=True) == "1,234,568"
    assert fixed(-9999.995, 2, grouping=True) == "-10,000.00"
    assert fixed(None, 1) == fixed(math.nan, 1) == fixed(math.inf, 0) == "n/a"


def excel(value: float, places: int) -> str:
    """The rule stated with exact fractions: the float's exact value to 15 significant digits
    (ties to even, as the binary value is never a tie in practice), then half away from zero
    to `places` decimals; a zero has no sign."""
    exact = Fraction(value)
    if exact == 0:
        return f"{0:.{places}f}"
    magnitude = abs(exact)
    exponent = len(str(magnitude.numerator // magnitude.denominator)) - 1 if magnitude >= 1 \
        else -len(str(magnitude.denominator // magnitude.numerator))
    while Fraction(10) ** exponent > magnitude:
        exponent -= 1
    while Fraction(10) ** (exponent + 1) <= magnitude:
        exponent += 1
    scale = Fraction(10) ** (14 - exponent)
    digits = round(magnitude * scale)  # a Fraction rounds half to even
    fifteen = Fraction(digits) / scale
    whole = math.floor(fifteen * 10**places + Fraction(1, 2))  # half away from zero (|x|)
    sign = "-" if exact < 0 and whole else ""
    text = str(whole).rjust(places + 1, "0")
    return sign + (f"{text[:-places]}.{text[-places:]}" if places else text)


finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)
halves = st.tuples(st.integers(-10**9, 10**9), st.integers(0, 3)).map(
    lambda t: (t[0] * 10 + 5) / 10 ** (t[1] + 1))  # values that end in a 5: ties in decimal


@given(st.one_of(finite, halves), st.integers(0, 3))
@example(-0.05, 1)
@example(26.499999999999996, 0)
@example(2.675, 2)
@example(-0.0, 2)
def test_fixed_is_the_rule(value, places):
    assert fixed(value, places) == excel(value, places)


@given(st.one_of(finite, halves), st.integers(0, 3))
def test_grouping_only_adds_commas(value, places):
    assert fixed(value, places, grouping=True).replace(",", "") == fixed(value, places)


def test_renderers_print_by_the_rule():
    assert render.number(26.5, Unit.GBP) == "£27"
    assert render.number(12.25, Unit.PERCENT) == "12.3%"
    assert render.number(2.675, Unit.RATIO) == "2.7"
    assert render.number(1234.5, Unit.COUNT) == "1,234.5"
    assert render.duration(90.5) == "1:31"
    # Fractions of a second in fixed point: "0:00E-7" was a Decimal's own text.
    assert render.duration(1.6666666666666668e-07, 8) == "0:00.00000017"
    assert render.duration(0.0, 8) == "0:00.00000000"
    assert render.duration(3725.25, 2) == "1:02:05.25"
    assert render.change_text(Change(absolute=None, percent=None, points=-0.05, places=1),
                              Unit.PERCENT) == "-0.1pp"
    assert render.change_text(Change(absolute=None, percent=None, points=0.05, places=1),
                              Unit.PERCENT) == "+0.1pp"
    # a change that shows as zero has no sign (render.signed)
    assert render.change_text(Change(absolute=None, percent=None, points=-0.04, places=1),
                              Unit.PERCENT) == "0.0pp"
    assert render.change_text(Change(absolute=-0.4, percent=-12.25, points=None, places=1),
                              Unit.COUNT) == "-0.4 (-12.3%)"
    assert render.signed(-0.04, fixed(-0.04, 1)) == "0.0"
    assert render.duration_words(0.5) == "1 second"
    assert paper.value_words(82_250_000.0, Unit.GBP) == "£82.3m"


# A format spec with a precision of fixed places, a percentage or an exponent: Python's own
# rounding, half to even on the binary value.
FIXED_SPEC = re.compile(r"\.(\d+|\{[^}]*\})[fF%eE]")
PERCENT_FORMAT = re.compile(r"%[-+ #0]*\d*\.\d+[fFeE]")
# A str.format field ("{:.1f}", "{x:,.0f}", "{0:.{1}f}"): no spaces, unlike a CSS block.
TEMPLATE = re.compile(r"\{[\w.\[\]]*:[^{}\s]*" + FIXED_SPEC.pattern + r"[^{}\s]*\}")


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            spec = "".join(v.value if isinstance(v, ast.Constant) else "{}"
                           for v in getattr(node.format_spec, "values", []))
            if FIXED_SPEC.search(spec):
                found.append(f"{where}: f-string spec ':{spec}'")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # str.format templates ("{:.1f}") and %-formatting ("%.2f")
            if TEMPLATE.search(node.value) or PERCENT_FORMAT.search(node.value):
                found.append(f"{where}: format template {node.value!r}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            spec = node.args[1] if node.func.id == "format" and len(node.args) > 1 else None
            if node.func.id == "round" or (isinstance(spec, ast.Constant)
                                           and FIXED_SPEC.search(str(spec.value))):
                found.append(f"{where}: {node.func.id}(...)")
    return sorted(found, key=lambda o: int(o.split(":")[1]))


def test_no_float_is_rounded_for_print_but_by_the_one_rule():
    offences = [o for path in sorted(PACKAGE.rglob("*.py")) if path != RULE_MODULE
                for o in _offences(path)]
    assert not offences, ("print figures with kpi.rounding.fixed (render.fixed), which rounds "
                          "as Excel does:\n" + "\n".join(offences))


def test_the_source_check_finds_each_way_of_rounding(tmp_path):
    """The check above can fail: each way Python rounds a float for print is caught."""
    sample = tmp_path / "kpi" / "sample.py"
    sample.parent.mkdir()
    sample.write_text('a = f"{v:,.1f}"\nb = f"{v:.{d}f}%"\nc = "{:.1f}pp".format(v)\n'
                      'd = "%.2f" % v\ne = round(v, 1)\nf = format(v, ".0f")\ng = f"{v:.0%}"\n'
                      'ok = f"{n:,} rows {v:g}", format(v, ",g"), "p { margin: 0.6em 0; }"\n',
                      encoding="utf-8")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "kpi"
    try:
        found = _offences(sample)
    finally:
        PACKAGE = saved
    assert [line.split(":")[1] for line in found] == ["1", "2", "3", "4", "5", "6", "7"], found
