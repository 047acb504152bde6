"""Month arithmetic on month-end dates, the period unit of every statement the server serves."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def end_of_month(day: dt.date) -> dt.date:
    """Return the last day of the month that contains ``day``."""
    return month_end(day.year, day.month)


def add_months(day: dt.date, months: int) -> dt.date:
    """Return the last day of the month ``months`` months after the month of ``day``."""
    index = day.year * 12 + (day.month - 1) + months
    return month_end(index // 12, index % 12 + 1)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_ends(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    """Yield the last day of every month from the month of ``first`` to the month of ``last``."""
    current = end_of_month(first)
    while current <= last:
        yield current
        current = add_months(current, 1)


def fiscal_year_start(day: dt.date, fiscal_month_end: int) -> dt.date:
    """Return the first day of the fiscal year that contains ``day``.

    A fiscal year ends with the calendar month ``fiscal_month_end`` (12 is the calendar year), so
    it starts with the month after it.
    """
    first_month = fiscal_month_end % 12 + 1
    year = day.year if day.month >= first_month else day.year - 1
    return dt.date(year, first_month, 1)


def fiscal_year_end(day: dt.date, fiscal_month_end: int) -> dt.date:
    """Return the last day of the fiscal year that contains ``day``."""
    return add_months(fiscal_year_start(day, fiscal_month_end), 11)
