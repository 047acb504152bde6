from __future__ import annotations

import datetime as dt

import pytest

from reach_dq.partner.months import (
    add_months,
    end_of_month,
    fiscal_year_end,
    fiscal_year_start,
    month_ends,
)


def test_end_of_month_handles_leap_february() -> None:
    assert end_of_month(dt.date(2024, 2, 3)) == dt.date(2024, 2, 29)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 5, 10), -1, dt.date(2026, 4, 30)),
        (dt.date(2026, 1, 31), -1, dt.date(2025, 12, 31)),
        (dt.date(2025, 11, 30), 3, dt.date(2026, 2, 28)),
        (dt.date(2026, 4, 30), -47, dt.date(2022, 5, 31)),
    ],
)
def test_add_months_returns_month_end(day: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(day, months) == expected


def test_month_ends_covers_both_ends() -> None:
    months = list(month_ends(dt.date(2025, 11, 15), dt.date(2026, 2, 28)))
    assert months == [
        dt.date(2025, 11, 30),
        dt.date(2025, 12, 31),
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),
    ]


@pytest.mark.parametrize(
    ("day", "fiscal_month_end", "expected"),
    [
        (dt.date(2026, 4, 30), 12, dt.date(2026, 1, 1)),
        (dt.date(2026, 4, 30), 6, dt.date(2025, 7, 1)),
        (dt.date(2026, 4, 30), 3, dt.date(2026, 4, 1)),
        (dt.date(2026, 3, 31), 3, dt.date(2025, 4, 1)),
        (dt.date(2021, 2, 28), 2, dt.date(2020, 3, 1)),
    ],
)
def test_fiscal_year_start(day: dt.date, fiscal_month_end: int, expected: dt.date) -> None:
    assert fiscal_year_start(day, fiscal_month_end) == expected


def test_fiscal_year_end() -> None:
    assert fiscal_year_end(dt.date(2026, 4, 30), 9) == dt.date(2026, 9, 30)
