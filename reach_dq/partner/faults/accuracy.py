"""Faults in the books' figures: each breaks one accuracy or freshness rule at a known place.

Targets follow ``base.py``: the first company in CompanyId order and the month end three months
before the last month of the books. "First account of a kind" means the first in AccountId
order. Amounts change by round sums (100.00, 500.00, 1000.00) so that a finding's delta shows
which fault caused it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from reach_dq.partner.books import Account, Books
from reach_dq.partner.faults.base import Body, Fault, FaultRequest

ORPHAN_ACCOUNT_ID = "UNLISTED-ACCOUNT"
STATEMENTS = ("getProfitAndLoss", "getBalanceSheet", "getCashFlow")

Row = dict[str, Any]


def _first_account(books: Books, matches: Callable[[Account], bool]) -> str | None:
    ids = sorted(account.account_id for account in books.accounts if matches(account))
    return ids[0] if ids else None


def _rows(body: Body) -> list[Row]:
    rows: list[Row] = body["Data"]
    return rows


def _add_to_row(body: Body, account_id: str, date: dt.date, amount: Decimal) -> None:
    """Add ``amount`` to the row of an account and date, inserting the row if it is missing."""
    rows = _rows(body)
    for row in rows:
        if row["AccountId"] == account_id and row["Date"] == date:
            row["Amount"] = row["Amount"] + amount
            return
    rows.append({"AccountId": account_id, "Date": date, "Amount": amount})
    rows.sort(key=lambda row: (row["Date"], row["AccountId"]))


def _first_row_dated(body: Body, date: dt.date) -> Row | None:
    return next((row for row in _rows(body) if row["Date"] == date), None)


def _actuals_of_target(request: FaultRequest) -> bool:
    return request.target_company and not request.filtered


def _unbalance_month(request: FaultRequest, body: Body) -> Body:
    account_id = _first_account(request.books, lambda a: a.cash_flow_category == "INVESTING")
    if _actuals_of_target(request) and account_id is not None:
        _add_to_row(body, account_id, request.target_month, Decimal("100.00"))
    return body


def _shift_fiscal_month_end(request: FaultRequest, body: Body) -> Body:
    if request.target_company:
        body["FiscalMonthEnd"] = body["FiscalMonthEnd"] % 12 + 1
    return body


def _drop_cash_flow_account(request: FaultRequest, body: Body) -> Body:
    account_id = _first_account(request.books, lambda a: a.cash_flow_category == "OPERATING")
    if _actuals_of_target(request) and account_id is not None:
        body["Data"] = [
            row
            for row in _rows(body)
            if not (row["AccountId"] == account_id and row["Date"] == request.target_month)
        ]
    return body


def _is_receivable(account: Account) -> bool:
    return account.on_balance_sheet and "receivable" in account.name.casefold()


def _accrue_on_cash_basis(request: FaultRequest, body: Body) -> Body:
    account_id = _first_account(request.books, _is_receivable)
    if _actuals_of_target(request) and request.basis == "CASH" and account_id is not None:
        _add_to_row(body, account_id, request.target_month, Decimal("1000.00"))
    return body


def _orphan_account(request: FaultRequest, body: Body) -> Body:
    row = _first_row_dated(body, request.target_month)
    if _actuals_of_target(request) and row is not None:
        row["AccountId"] = ORPHAN_ACCOUNT_ID
    return body


def _revenue_on_balance_sheet(request: FaultRequest, body: Body) -> Body:
    account_id = _first_account(request.books, lambda a: a.account_type == "REVENUE")
    if _actuals_of_target(request) and account_id is not None:
        _add_to_row(body, account_id, request.target_month, Decimal("1000.00"))
    return body


def _drop_month(month: Callable[[FaultRequest], dt.date]) -> Callable[[FaultRequest, Body], Body]:
    def drop(request: FaultRequest, body: Body) -> Body:
        if request.target_company and request.budget_id is None:
            dropped = month(request)
            body["Data"] = [row for row in _rows(body) if row["Date"] != dropped]
        return body

    return drop


def _inflate_first_class(request: FaultRequest, body: Body) -> Body:
    first_class = min((segment.segment_id for segment in request.books.classes), default=None)
    if (
        not request.target_company
        or request.class_id is None
        or request.class_id != first_class
        or request.budget_id is not None
    ):
        return body
    row = _first_row_dated(body, request.target_month)
    if row is not None:
        row["Amount"] = row["Amount"] + Decimal("500.00")
    return body


def _restate_closed_month(request: FaultRequest, body: Body) -> Body:
    row = _first_row_dated(body, request.target_month)
    if _actuals_of_target(request) and request.basis == "ACCRUAL" and row is not None:
        row["Amount"] = row["Amount"] + Decimal("100.00")
    return body


ACCURACY_FAULTS: tuple[Fault, ...] = (
    Fault(
        "unbalanced-month",
        "The unfiltered balance sheet of the target company, on both bases, reports the first "
        "INVESTING account 100.00 higher at the target month end (adding that row if the "
        "balance is zero); the cash flow and the P&L stay as they are.",
        ("getBalanceSheet",),
        _unbalance_month,
    ),
    Fault(
        "wrong-fiscal-month-end",
        "Company information of the target company reports FiscalMonthEnd one month later "
        "than the month its books close in (12 becomes 1), so the statements are fetched and "
        "checked against the wrong fiscal year.",
        ("getCompany",),
        _shift_fiscal_month_end,
    ),
    Fault(
        "cash-flow-missing-account",
        "The unfiltered cash flow of the target company, on both bases, leaves out the row of "
        "the first OPERATING account dated the target month.",
        ("getCashFlow",),
        _drop_cash_flow_account,
    ),
    Fault(
        "accrual-balance-on-cash-basis",
        "The unfiltered CASH-basis balance sheet of the target company reports the first "
        "balance-sheet account whose AccountName contains 'receivable' 1000.00 higher at the "
        "target month end (adding that row if the balance is zero).",
        ("getBalanceSheet",),
        _accrue_on_cash_basis,
    ),
    Fault(
        "orphan-account-id",
        "The unfiltered P&L of the target company, on both bases, reports its first row dated "
        f"the target month under the AccountId {ORPHAN_ACCOUNT_ID!r}, which the chart of "
        "accounts does not list.",
        ("getProfitAndLoss",),
        _orphan_account,
    ),
    Fault(
        "pnl-account-on-balance-sheet",
        "The unfiltered balance sheet of the target company, on both bases, adds a row of "
        "1000.00 for the first REVENUE account at the target month end.",
        ("getBalanceSheet",),
        _revenue_on_balance_sheet,
    ),
    Fault(
        "missing-month",
        "Every P&L, balance sheet and cash flow response of the target company that has no "
        "BudgetId, with or without a ClassId or DepartmentId, leaves out the rows dated the "
        "target month.",
        STATEMENTS,
        _drop_month(lambda request: request.target_month),
    ),
    Fault(
        "class-total-above-company-total",
        "The P&L of the target company filtered by its first ClassId, on both bases, reports "
        "its first row dated the target month 500.00 higher, so the classes add up to more "
        "than the company.",
        ("getProfitAndLoss",),
        _inflate_first_class,
    ),
    Fault(
        "restated-closed-month",
        "The unfiltered ACCRUAL P&L of the target company reports its first row dated the "
        "target month 100.00 higher, with no matching balance sheet change: an edit of a "
        "closed month that a second run on the same warehouse reports as a restatement.",
        ("getProfitAndLoss",),
        _restate_closed_month,
    ),
    Fault(
        "stale-last-month",
        "Every P&L, balance sheet and cash flow response of the target company that has no "
        "BudgetId, with or without a ClassId or DepartmentId, leaves out the rows dated the "
        "last month of the books, as if that month had not been loaded yet.",
        STATEMENTS,
        _drop_month(lambda request: request.books.last_month),
    ),
)
