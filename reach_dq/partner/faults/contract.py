"""Faults in response bodies: contract breaks and books that do not add up."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from reach_dq.partner.books import CENT
from reach_dq.partner.faults.base import Body, Fault, FaultRequest


def _unbalance_balance_sheet(request: FaultRequest, body: Body) -> Body:
    if not request.target_company or request.basis != "ACCRUAL" or request.filtered:
        return body
    target = request.target_month
    if request.start_date is None or request.end_date is None:
        return body
    if not request.start_date <= target <= request.end_date:
        return body
    accounts = request.books.accounts
    cash_ids = sorted(a.account_id for a in accounts if a.cash_flow_category == "CASH")
    if not cash_ids:
        return body
    rows: list[dict[str, Any]] = body["Data"]
    for row in rows:
        if row["AccountId"] == cash_ids[0] and row["Date"] == target:
            row["Amount"] = row["Amount"] + CENT
            return body
    # The account has a zero balance that month, so the fault adds its row with 0.01.
    rows.append({"AccountId": cash_ids[0], "Date": target, "Amount": CENT})
    rows.sort(key=lambda row: (row["Date"], row["AccountId"]))
    return body


def _drop_zero_padding(request: FaultRequest, body: Body) -> Body:
    if not request.target_company:
        return body
    for row in body["Data"]:
        date: dt.date = row["Date"]
        if date.month < 10:
            row["Date"] = f"{date.year:04d}-{date.month}-{date.day:02d}"
            return body
    return body


def _amount_as_string(request: FaultRequest, body: Body) -> Body:
    if request.target_company and body["Data"]:
        first = body["Data"][0]
        amount: Decimal = first["Amount"]
        first["Amount"] = format(amount, "f")
    return body


def _drop_account_name(request: FaultRequest, body: Body) -> Body:
    if not request.target_company or not request.books.accounts:
        return body
    first_id = min(account.account_id for account in request.books.accounts)
    for item in body["Data"]:
        if item["AccountId"] == first_id:
            del item["AccountName"]
    return body


CONTRACT_FAULTS: tuple[Fault, ...] = (
    Fault(
        "unbalanced-balance-sheet",
        "The unfiltered ACCRUAL balance sheet of the target company reports the first CASH "
        "account (in AccountId order) 0.01 higher at the target month end, adding that row "
        "if the balance is zero.",
        ("getBalanceSheet",),
        _unbalance_balance_sheet,
    ),
    Fault(
        "date-not-zero-padded",
        "Every P&L response of the target company writes the Date of its first row dated "
        "January to September without zero padding (2025-01-31 becomes 2025-1-31).",
        ("getProfitAndLoss",),
        _drop_zero_padding,
    ),
    Fault(
        "amount-as-string",
        "Every P&L response of the target company sends the Amount of its first row as a "
        'JSON string ("1234.56") instead of a number.',
        ("getProfitAndLoss",),
        _amount_as_string,
    ),
    Fault(
        "missing-required-field",
        "The chart of accounts of the target company omits AccountName from its first "
        "account in AccountId order, which is the first item of the page at offset 0.",
        ("listChartOfAccounts",),
        _drop_account_name,
    ),
)
