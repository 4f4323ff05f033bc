"""Months, windows and comparisons, exactly as SPEC.md defines them, and how a month or a
number typed by a person is read.

A month is held as an integer index (year * 12 + month - 1) so that window arithmetic is plain
integer arithmetic; `Month` wraps it with parsing and labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from kpi.errors import UsageError, option

MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)
# ASCII digits only: Python's `\d` and int() also read fullwidth and Arabic-Indic digits, and a
# month typed with them is not the 'YYYY-MM' the documents, file names and JSON print.
_PERIOD = re.compile(r"^([0-9]{4})-([0-9]{2})$")
# The years a month may be in (docs/guarantees.md): any other four digits are a slip of the
# keyboard ('0225', '3025'), and a window's arithmetic reaches years before it (a year ending,
# last year's, a 24-month trend), which before year 1 have no calendar to print.
FIRST_YEAR, LAST_YEAR = 1900, 2999
# The most months a trend shows (`kpi show --months`, `project.series` and `project.detail`'s
# `months`): ten years. Asked for a million, the Python face's trend reached back past the
# first year and was refused naming a period never given ('-81308-03'), and for 10**20 ran on.
TREND_MAX_MONTHS = 120
# A typed number, as a typed month: ASCII digits only (int() and float() also read '１２', '+12',
# '1_2', ' 12', '1e3', 'nan'), and a decimal point only where the number may have a fraction.
_WHOLE = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def typed_number(text: str, *, what: str, low: float | None = None,
                 high: float | None = None, whole: bool = True,
                 hint: str | None = None) -> int | float:
    """A number a person typed (a command-line option, an environment variable): ASCII digits,
    with a decimal point and more digits only when not `whole`, from `low` to `high` (either
    may be None); anything else is a usage error naming the form and the range. Every typed
    number is read here."""
    shown = text.strip()
    number: int | float | None = whole_number(shown)
    if not whole and _DECIMAL.fullmatch(shown):
        number = float(shown)
    if number is None or (low is not None and number < low) or \
            (high is not None and number > high):
        kind = "a whole number" if whole else "a number"
        if low is not None and high is not None:
            kind += f" from {_plain(low)} to {_plain(high)}"
        elif low is not None:
            kind += f" of at least {_plain(low)}"
        elif high is not None:
            kind += f" of at most {_plain(high)}"
        raise UsageError(f"invalid {what} '{text}': expected {kind}"
                         + (" in the digits 0-9" if number is None else ""),
                         hint=hint or f"for example {what} {_plain(low or 0)}")
    return number


def whole_number(text: str) -> int | None:
    """The whole number `text` is in ASCII digits (surrounding space aside), or None: the test
    of `typed_number`, for a reader with its own words (an environment variable's)."""
    shown = text.strip()
    return int(shown) if _WHOLE.fullmatch(shown) else None


def _plain(number: float) -> str:
    """30 for 30.0, 36,500 for 36500, 0.5 as it is."""
    return f"{int(number):,}" if number == int(number) else f"{number:,}"


@dataclass(frozen=True, order=True)
class Month:
    index: int

    @classmethod
    def of(cls, year: int, month: int) -> Month:
        return cls(year * 12 + month - 1)

    @classmethod
    def typed(cls, text: str, *, what: str = "period") -> Month:
        """A month a person typed (an option, kpi.toml, a file kpi reads back): 'YYYY-MM' in
        ASCII digits, in a year from FIRST_YEAR to LAST_YEAR; anything else is a usage error
        naming the expected form. Every month typed by a user is read here."""
        month = cls.parse(text, what=what)
        if not FIRST_YEAR <= month.year <= LAST_YEAR:
            raise UsageError(
                f"invalid {what} '{text}': the year must be from {FIRST_YEAR} to {LAST_YEAR}",
                hint=f"a calendar month as YYYY-MM, for example {option('--period', '2025-09')}",
            )
        return month

    @classmethod
    def parse(cls, text: str, *, what: str = "period") -> Month:
        """Parse 'YYYY-MM' in ASCII digits, any year (a label kpi printed, such as a stored
        month's); anything else is a usage error naming the expected form."""
        match = _PERIOD.match(text.strip()) if isinstance(text, str) else None
        if not match or not 1 <= int(match.group(2)) <= 12:
            other = isinstance(text, str) and any(c.isdigit() and not c.isascii() for c in text)
            raise UsageError(
                f"invalid {what} '{text}': expected a calendar month as YYYY-MM"
                + (" in the digits 0-9" if other else ""),
                hint=f"for example {option('--period', '2025-09')}",
            )
        return cls.of(int(match.group(1)), int(match.group(2)))

    @property
    def year(self) -> int:
        return self.index // 12

    @property
    def month(self) -> int:
        return self.index % 12 + 1

    def __add__(self, months: int) -> Month:
        return Month(self.index + months)

    def __sub__(self, months: int) -> Month:
        return Month(self.index - months)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def name(self) -> str:
        """'September 2025'."""
        return f"{MONTH_NAMES[self.month - 1]} {self.year}"

    @property
    def financial_year_start(self) -> Month:
        """April of the financial year (April to March) this month falls in."""
        year = self.year if self.month >= 4 else self.year - 1
        return Month.of(year, 4)


def gaps(months: list[Month]) -> list[Month]:
    """The months missing between the first and last of a sorted list of months."""
    if not months:
        return []
    present = set(months)
    return [Month(i) for i in range(months[0].index, months[-1].index + 1)
            if Month(i) not in present]


def first_months(months: list, most: int = 3) -> str:
    """Months (or their text) as a one-line message lists them: the first `most`, then " ..."
    where there are more ("no data for 2025-06, 2025-07, 2025-08 ...")."""
    return ", ".join(str(m) for m in months[:most]) + (" ..." if len(months) > most else "")


class WindowKind(StrEnum):
    YE = "YE"      # year ending: 12 whole months ending with the month
    AT = "AT"      # as at: a snapshot at the end of the month
    FYTD = "FYTD"  # financial year to date: April of the month's financial year to the month
    FYTD_PRIOR = "FYTD_PRIOR"  # the same months of the previous financial year


@dataclass(frozen=True)
class Window:
    kind: WindowKind
    start: Month
    end: Month

    @classmethod
    def year_ending(cls, end: Month) -> Window:
        return cls(WindowKind.YE, end - 11, end)

    @classmethod
    def as_at(cls, month: Month) -> Window:
        return cls(WindowKind.AT, month, month)

    @classmethod
    def fytd(cls, end: Month) -> Window:
        return cls(WindowKind.FYTD, end.financial_year_start, end)

    @classmethod
    def parse(cls, text: str) -> Window:
        """Parse 'YE 2024-03' or 'AT 2024-04' (the figures file's notation)."""
        kind, _, month = text.strip().partition(" ")
        if kind not in ("YE", "AT"):
            raise UsageError(f"invalid window '{text}': expected 'YE YYYY-MM' or 'AT YYYY-MM'")
        end = Month.typed(month, what="window month")
        return cls.year_ending(end) if kind == "YE" else cls.as_at(end)

    @classmethod
    def from_code(cls, code: str, *, prior: bool = False) -> Window:
        """The window `code` writes ('YE 2025-09', 'AT 2025-09', '2025-04..2025-09'), as a
        figures file records it; a financial year's months are the same months a year earlier
        where `prior` (a comparison window), which only their wording tells apart."""
        first, dots, last = code.partition("..")
        if dots:
            start = Month.typed(first, what="window month")
            end = Month.typed(last, what="window month")
            return cls(WindowKind.FYTD_PRIOR if prior else WindowKind.FYTD, start, end)
        return cls.parse(code)

    def shift(self, months: int) -> Window:
        prior = self.kind == WindowKind.FYTD and months == -12
        kind = WindowKind.FYTD_PRIOR if prior else self.kind
        return Window(kind, self.start + months, self.end + months)

    def months(self) -> list[Month]:
        return [Month(i) for i in range(self.start.index, self.end.index + 1)]

    def shared(self, other: Window) -> list[Month]:
        """The months this window and `other` both hold (none for windows apart)."""
        first, last = max(self.start, other.start), min(self.end, other.end)
        return [Month(i) for i in range(first.index, last.index + 1)]

    @property
    def code(self) -> str:
        """Short form used in tables and CSV: 'YE 2025-09', 'AT 2025-09', 'FYTD 2025-09'."""
        if self.kind in (WindowKind.FYTD, WindowKind.FYTD_PRIOR):
            return f"{self.start}..{self.end}"
        return f"{self.kind.value} {self.end}"

    @property
    def label(self) -> str:
        """The report's wording: 'year ending September 2025', 'September 2025'."""
        if self.kind == WindowKind.YE:
            return f"year ending {self.end.name}"
        if self.kind == WindowKind.AT:
            return self.end.name
        fy = self.start.year
        # "April to September 2025"; "April 2024 to February 2025" across a new year; "April
        # 2025" alone in the first month of the year.
        if self.start == self.end:
            span = self.end.name
        elif self.start.year != self.end.year:
            span = f"{self.start.name} to {self.end.name}"
        else:
            span = f"{MONTH_NAMES[self.start.month - 1]} to {self.end.name}"
        return f"{span} (financial year {fy}/{(fy + 1) % 100:02d} to date)"


class Comparison(StrEnum):
    BASELINE = "baseline"
    YOY = "yoy"
    PREVIOUS = "previous"
    FYTD = "fytd"


def comparison_window(current: Window, vs: Comparison, baseline: Window,
                      step: int = 1) -> Window:
    """The window a current window is compared with. `step` is the months one row of the
    data stands for: `previous` is the window one row earlier, a quarter for quarterly data
    (a month earlier would cut a quarter, so there would be no comparison at all)."""
    if vs == Comparison.BASELINE:
        return baseline
    if vs == Comparison.PREVIOUS:
        return current.shift(-step)
    return current.shift(-12)  # yoy, and fytd against the same months a year earlier


def current_window(end: Month, *, snapshot: bool, vs: Comparison) -> Window:
    """The window a KPI reports for a period, once its end month is known."""
    if snapshot:
        return Window.as_at(end)
    if vs == Comparison.FYTD:
        return Window.fytd(end)
    return Window.year_ending(end)


def day_words(day) -> str:
    """'6 December 2026': a day as the paper and the notes write it."""
    return f"{day.day} {day.strftime('%B')} {day.year}"
