"""Named faults that make the partner server break the contract on purpose, one at a time.

Each fault changes the response body of the operations it lists, and only when it is named in
the server configuration. Targets are deterministic: the target company is the first company in
CompanyId order, and the target month is the month end three months before the last month of
the books (books ending in April give January).

To add a fault, add one ``Fault`` entry to ``FAULTS``. Its ``apply`` function receives the
request and the response body (plain dicts and lists, amounts as ``Decimal``, dates as ``date``)
and returns the body to send. It may instead return a Starlette ``Response``, which then
replaces the whole response; HTTP-level faults (status codes, content types, delays) use that.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from starlette.responses import Response

from reach_dq.exceptions import ConfigError
from reach_dq.partner.books import CENT, Books

Body = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class FaultRequest:
    """The request a fault may react to, with the books it is served from."""

    operation_id: str
    books: Books
    target_company: bool
    target_month: dt.date
    basis: str | None = None
    budget_id: str | None = None
    class_id: str | None = None
    department_id: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None

    @property
    def filtered(self) -> bool:
        filters = (self.budget_id, self.class_id, self.department_id)
        return any(value is not None for value in filters)


FaultEffect = Callable[[FaultRequest, Body], "Body | Response"]


def _unchanged(request: FaultRequest, body: Body) -> Body:
    return body


@dataclasses.dataclass(frozen=True)
class Fault:
    name: str
    description: str  # one sentence: what the server does wrong, and where exactly
    operation_ids: tuple[str, ...] = ()  # operations whose responses the fault may change
    apply: FaultEffect = dataclasses.field(default=_unchanged, repr=False, compare=False)


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


FAULTS: dict[str, Fault] = {
    fault.name: fault
    for fault in (
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
}


def resolve_faults(names: Iterable[str]) -> tuple[Fault, ...]:
    """Return the named faults in order without repeats; raise ConfigError for an unknown name."""
    faults: list[Fault] = []
    for name in names:
        fault = FAULTS.get(name)
        if fault is None:
            valid = ", ".join(sorted(FAULTS))
            raise ConfigError(f"unknown fault {name!r}; expected one of {valid}")
        if fault not in faults:
            faults.append(fault)
    return tuple(faults)


def apply_faults(faults: Iterable[Fault], request: FaultRequest, body: Body) -> Body | Response:
    """Apply every active fault that covers the request's operation, in configuration order."""
    result: Body | Response = body
    for fault in faults:
        if request.operation_id in fault.operation_ids and not isinstance(result, Response):
            result = fault.apply(request, result)
    return result
