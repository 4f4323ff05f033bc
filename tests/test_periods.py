"""Months, windows, labels and comparison windows, against SPEC.md's definitions."""

from __future__ import annotations

import pytest

from kpi.errors import UsageError
from kpi.periods import Comparison, Month, Window, WindowKind, comparison_window, current_window


def m(text: str) -> Month:
    return Month.parse(text)


def span(window: Window) -> tuple[str, str]:
    return str(window.start), str(window.end)


def test_year_ending_is_twelve_whole_months_inclusive():
    window = Window.year_ending(m("2025-09"))
    assert span(window) == ("2024-10", "2025-09")
    assert len(window.months()) == 12
    assert window.label == "year ending September 2025"
    assert window.code == "YE 2025-09"


def test_financial_year_is_the_year_ending_march():
    assert span(Window.year_ending(m("2024-03"))) == ("2023-04", "2024-03")


@pytest.mark.parametrize(("month", "start"), [
    ("2025-04", "2025-04"), ("2025-09", "2025-04"), ("2025-12", "2025-04"),
    ("2026-01", "2025-04"), ("2026-03", "2025-04"),
])
def test_fytd_starts_in_april_of_the_months_financial_year(month, start):
    window = Window.fytd(m(month))
    assert span(window) == (start, month)


def test_fytd_labels_name_the_financial_year():
    current = Window.fytd(m("2025-09"))
    assert current.label == "April to September 2025 (financial year 2025/26 to date)"
    prior = current.shift(-12)
    assert prior.kind == WindowKind.FYTD_PRIOR
    assert span(prior) == ("2024-04", "2024-09")
    assert prior.label == "April to September 2024 (financial year 2024/25 to date)"
    assert Window.fytd(m("2000-01")).label == (
        "April 1999 to January 2000 (financial year 1999/00 to date)")
    assert Window.fytd(m("2025-04")).label == (
        "April 2025 (financial year 2025/26 to date)")


def test_as_at_is_one_month():
    window = Window.as_at(m("2024-04"))
    assert span(window) == ("2024-04", "2024-04")
    assert window.label == "April 2024"
    assert window.code == "AT 2024-04"


@pytest.mark.parametrize(("vs", "expected"), [
    (Comparison.BASELINE, ("2023-04", "2024-03")),
    (Comparison.YOY, ("2023-10", "2024-09")),
    (Comparison.PREVIOUS, ("2024-09", "2025-08")),
])
def test_comparison_windows_of_a_year_ending(vs, expected):
    current = current_window(m("2025-09"), snapshot=False, vs=vs)
    assert span(current) == ("2024-10", "2025-09")
    baseline = Window.year_ending(m("2024-03"))
    assert span(comparison_window(current, vs, baseline)) == expected


def test_fytd_comparison_is_the_same_months_a_year_earlier():
    current = current_window(m("2026-02"), snapshot=False, vs=Comparison.FYTD)
    assert span(current) == ("2025-04", "2026-02")
    compare = comparison_window(current, Comparison.FYTD, Window.year_ending(m("2024-03")))
    assert span(compare) == ("2024-04", "2025-02")


def test_snapshots_use_as_at_windows_whatever_the_comparison():
    for vs in Comparison:
        assert current_window(m("2025-09"), snapshot=True, vs=vs).kind == WindowKind.AT
    current = Window.as_at(m("2025-09"))
    assert span(comparison_window(current, Comparison.PREVIOUS, current)) == ("2025-08",) * 2


def test_month_arithmetic_crosses_years():
    assert str(m("2025-01") - 1) == "2024-12"
    assert str(m("2024-12") + 1) == "2025-01"
    assert m("2025-01").name == "January 2025"
    assert m("2024-12") < m("2025-01")


@pytest.mark.parametrize("text", ["2025-13", "2025-00", "2025-9", "25-09", "September", "",
                                  "2025-09-01", "2025/09"])
def test_bad_periods_are_usage_errors_naming_the_form(text):
    with pytest.raises(UsageError, match="expected a calendar month as YYYY-MM"):
        Month.parse(text)


def test_window_parse_reads_the_figures_notation():
    assert Window.parse("YE 2024-03") == Window.year_ending(m("2024-03"))
    assert Window.parse("AT 2024-04") == Window.as_at(m("2024-04"))
    with pytest.raises(UsageError):
        Window.parse("FY 2024-03")


@pytest.mark.parametrize("text", ["２０２５-０９", "٢٠٢٥-٠٩", "۲۰۲۵-۰۹", "2025-０９", "२०२५-०९"])
def test_a_month_in_other_digits_is_refused_not_read_as_2025_09(text):
    """Python's `\\d` and int() read fullwidth, Arabic-Indic and Devanagari digits: these were
    read as 2025-09. Only the digits 0-9 are a month, and the error says so."""
    for parse in (Month.parse, Month.typed):
        with pytest.raises(UsageError) as raised:
            parse(text)
        assert raised.value.message == (
            f"invalid period '{text}': expected a calendar month as YYYY-MM in the digits 0-9")
        assert raised.value.hint == "for example --period 2025-09"


@pytest.mark.parametrize("text", ["0000-01", "0001-01", "1899-12", "3000-01", "9999-12"])
def test_a_typed_month_outside_1900_to_2999_is_refused(text):
    """'0000-01' was accepted: its year ending reached back before year 1."""
    with pytest.raises(UsageError) as raised:
        Month.typed(text, what="defaults.period")
    assert raised.value.message == (
        f"invalid defaults.period '{text}': the year must be from 1900 to 2999")
    assert raised.value.hint == "a calendar month as YYYY-MM, for example --period 2025-09"
    with pytest.raises(UsageError, match="the year must be from 1900 to 2999"):
        Window.parse(f"YE {text}")


@pytest.mark.parametrize(("text", "index"), [("1900-01", 1900 * 12), ("2999-12", 2999 * 12 + 11),
                                             (" 2025-09 ", 2025 * 12 + 8)])
def test_a_typed_month_at_the_ends_of_the_range_is_read(text, index):
    assert Month.typed(text) == Month(index)


def test_a_stored_month_of_any_year_is_read_back():
    """Month.parse reads labels kpi printed (a stored month, a series point): a window before
    1900 (a year ending 1900-03's comparison) must read back, so the range is only for what a
    person types."""
    early = Window.year_ending(Month.typed("1900-03")).shift(-12)
    assert str(early.start) == "1898-04"
    assert Month.parse(str(early.start)) == early.start
