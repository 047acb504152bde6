"""Check the two accounting identities on statement rows, independently of the server's code.

1. For every month end D: assets - liabilities - equity = net income from the first month of
   the fiscal year containing D through D.
2. For every month M: net income of M + the cash flow total of M = the change in the CASH
   accounts from the previous month end to the end of M (zero before the first month).
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal

INCOME = ("REVENUE", "OTHER_INCOME")
COSTS = ("COST_OF_SALES", "EXPENSE", "OTHER_EXPENSE")


@dataclasses.dataclass(frozen=True)
class Row:
    account_id: str
    date: dt.date
    amount: Decimal


def rows_from_json(items: Iterable[Mapping[str, object]]) -> list[Row]:
    return [
        Row(
            str(item["AccountId"]),
            dt.date.fromisoformat(str(item["Date"])),
            Decimal(str(item["Amount"])),
        )
        for item in items
    ]


def month_end_dates(first: dt.date, last: dt.date) -> list[dt.date]:
    """Return the last day of every month from the month of ``first`` to that of ``last``."""
    dates = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        dates.append(dt.date(year, month, calendar.monthrange(year, month)[1]))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return dates


def _fiscal_year_start(day: dt.date, fiscal_month_end: int) -> dt.date:
    first_month = fiscal_month_end % 12 + 1
    year = day.year if day.month >= first_month else day.year - 1
    return dt.date(year, first_month, 1)


def identity_breaks(
    chart: Mapping[str, tuple[str, str | None]],
    fiscal_month_end: int,
    months: list[dt.date],
    profit_and_loss: Iterable[Row],
    balance_sheet: Iterable[Row],
    cash_flow: Iterable[Row],
) -> list[str]:
    """Return one line per broken identity; ``chart`` maps AccountId to (type, category)."""
    net_income: dict[dt.date, Decimal] = defaultdict(Decimal)
    for row in profit_and_loss:
        account_type = chart[row.account_id][0]
        if account_type in INCOME:
            net_income[row.date] += row.amount
        elif account_type in COSTS:
            net_income[row.date] -= row.amount
        else:
            raise AssertionError(f"P&L row for balance-sheet account {row.account_id}")
    equity_gap: dict[dt.date, Decimal] = defaultdict(Decimal)
    cash: dict[dt.date, Decimal] = defaultdict(Decimal)
    for row in balance_sheet:
        account_type, category = chart[row.account_id]
        equity_gap[row.date] += row.amount if account_type == "ASSET" else -row.amount
        if category == "CASH":
            cash[row.date] += row.amount
    cash_flow_total: dict[dt.date, Decimal] = defaultdict(Decimal)
    for row in cash_flow:
        cash_flow_total[row.date] += row.amount

    breaks = []
    previous_cash = Decimal(0)
    for month in months:
        year_start = _fiscal_year_start(month, fiscal_month_end)
        year_to_date = sum((net_income[m] for m in months if year_start <= m <= month), Decimal(0))
        if equity_gap[month] != year_to_date:
            breaks.append(f"{month}: A-L-E {equity_gap[month]} != YTD net income {year_to_date}")
        change = cash[month] - previous_cash
        if net_income[month] + cash_flow_total[month] != change:
            breaks.append(
                f"{month}: net income {net_income[month]} + cash flow {cash_flow_total[month]} "
                f"!= cash change {change}"
            )
        previous_cash = cash[month]
    return breaks
