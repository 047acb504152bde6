"""Monthly Profit and Loss, Balance Sheet and Cash Flow rows derived from journal lines.

Sign conventions of the served rows:

- P&L: the month's activity, income and revenue positive when credited, costs and expenses
  positive when debited. Only accounts with non-zero activity get a row.
- Balance sheet: the closing balance, assets positive when debit, liabilities and equity
  positive when credit. Only accounts with a non-zero closing balance get a row.
- Cash flow: minus the month's change in the debit balance of each account whose cash flow
  category is OPERATING, INVESTING or FINANCING, so a cash inflow is positive. Only non-zero
  effects get a row.

The books close at each fiscal year end: from the first month of a fiscal year on, the balance
sheet shows the P&L of every earlier month inside the retained-earnings account. So for every
month end, assets - liabilities - equity equals the net income of the fiscal year to date, and
for every month, net income + the cash flow total equals the change in the CASH accounts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections import defaultdict
from decimal import Decimal

from reach_dq.datasets import INCOME_TYPES
from reach_dq.partner.books import CENT, Account, Books, JournalLine
from reach_dq.partner.months import end_of_month, fiscal_year_start, month_ends

CASH_FLOW_SECTIONS = ("OPERATING", "INVESTING", "FINANCING")

Monthly = dict[dt.date, dict[str, Decimal]]  # month end -> account id -> amount


@dataclasses.dataclass(frozen=True)
class StatementRow:
    account_id: str
    date: dt.date  # month end
    amount: Decimal


@dataclasses.dataclass(frozen=True)
class Scope:
    """The journal lines a statement reads: one basis, optionally one class or department."""

    basis: str
    class_id: str | None = None
    department_id: str | None = None

    def includes(self, line: JournalLine) -> bool:
        if self.class_id is not None and line.class_id != self.class_id:
            return False
        return self.department_id is None or line.department_id == self.department_id


@dataclasses.dataclass(frozen=True)
class _Ledger:
    """Monthly figures of one scope, keyed by month end then account id."""

    activity: Monthly  # debit-positive movement in the month
    closing: Monthly  # debit balance of balance-sheet accounts


class Statements:
    """Serves the three statements of one company's books; figures are computed once per scope."""

    def __init__(self, books: Books) -> None:
        self.books = books
        self.accounts = tuple(sorted(books.accounts, key=lambda account: account.account_id))
        self.months = tuple(month_ends(books.first_month, books.last_month))
        self._ledgers: dict[Scope, _Ledger] = {}
        self._lock = threading.Lock()

    def profit_and_loss(self, scope: Scope, start: dt.date, end: dt.date) -> list[StatementRow]:
        ledger = self._ledger(scope)
        rows = []
        for month in self._months_within(start, end):
            activity = ledger.activity[month]
            for account in self.accounts:
                if not account.on_balance_sheet:
                    amount = _profit_and_loss_amount(account, activity.get(account.account_id))
                    rows.append(StatementRow(account.account_id, month, amount))
        return _non_zero(rows)

    def balance_sheet(self, scope: Scope, start: dt.date, end: dt.date) -> list[StatementRow]:
        ledger = self._ledger(scope)
        rows = []
        for month in self._months_within(start, end):
            closing = ledger.closing[month]
            for account in self.accounts:
                if account.on_balance_sheet:
                    debit = closing.get(account.account_id, Decimal(0))
                    amount = debit if account.account_type == "ASSET" else -debit
                    rows.append(StatementRow(account.account_id, month, amount))
        return _non_zero(rows)

    def cash_flow(self, scope: Scope, start: dt.date, end: dt.date) -> list[StatementRow]:
        ledger = self._ledger(scope)
        rows = []
        for month in self._months_within(start, end):
            activity = ledger.activity[month]
            for account in self.accounts:
                if account.cash_flow_category in CASH_FLOW_SECTIONS:
                    debit = activity.get(account.account_id, Decimal(0))
                    rows.append(StatementRow(account.account_id, month, -debit))
        return _non_zero(rows)

    def budget_profit_and_loss(
        self,
        budget_id: str,
        start: dt.date,
        end: dt.date,
        *,
        class_id: str | None = None,
        department_id: str | None = None,
    ) -> list[StatementRow]:
        """Return the budget's planned P&L rows, summed per account and month, in the range."""
        totals: dict[tuple[dt.date, str], Decimal] = defaultdict(Decimal)
        for line in self.books.budget_lines:
            if line.budget_id != budget_id or not start <= line.date <= end:
                continue
            if class_id is not None and line.class_id != class_id:
                continue
            if department_id is not None and line.department_id != department_id:
                continue
            totals[(line.date, line.account_id)] += line.amount
        rows = [
            StatementRow(account_id, date, total) for (date, account_id), total in totals.items()
        ]
        return _non_zero(sorted(rows, key=lambda row: (row.date, row.account_id)))

    def _months_within(self, start: dt.date, end: dt.date) -> list[dt.date]:
        return [month for month in self.months if start <= month <= end]

    def _ledger(self, scope: Scope) -> _Ledger:
        with self._lock:
            ledger = self._ledgers.get(scope)
            if ledger is None:
                ledger = self._build_ledger(scope)
                self._ledgers[scope] = ledger
            return ledger

    def _build_ledger(self, scope: Scope) -> _Ledger:
        activity: Monthly = {month: defaultdict(Decimal) for month in self.months}
        for line in self.books.lines[scope.basis]:
            if scope.includes(line):
                activity[end_of_month(line.date)][line.account_id] += line.amount
        return _Ledger(activity, self._close_books(activity))

    def _close_books(self, activity: Monthly) -> Monthly:
        """Return closing debit balances, with closed fiscal years moved into retained earnings.

        A fiscal year closes at the start of the next one, so at the fiscal year end itself the
        balance sheet still carries the whole year's net income outside retained earnings.
        """
        balance_sheet_ids = [a.account_id for a in self.accounts if a.on_balance_sheet]
        profit_and_loss_ids = [a.account_id for a in self.accounts if not a.on_balance_sheet]
        fiscal_month_end = self.books.company.fiscal_month_end
        running: dict[str, Decimal] = defaultdict(Decimal)
        debits_to_date = Decimal(0)  # debit-positive P&L movement of every month so far
        closed = Decimal(0)  # the same, up to the end of the last closed fiscal year
        closing: Monthly = {}
        for index, month in enumerate(self.months):
            if index and fiscal_year_start(month, fiscal_month_end) > self.months[index - 1]:
                closed = debits_to_date
            month_activity = activity[month]
            for account_id, amount in month_activity.items():
                running[account_id] += amount
            for account_id in profit_and_loss_ids:
                debits_to_date += month_activity.get(account_id, Decimal(0))
            balances = {account_id: running[account_id] for account_id in balance_sheet_ids}
            balances[self.books.retained_earnings_id] += closed
            closing[month] = balances
        return closing


def _profit_and_loss_amount(account: Account, debit: Decimal | None) -> Decimal:
    debit = debit if debit is not None else Decimal(0)
    return -debit if account.account_type in INCOME_TYPES else debit


def _non_zero(rows: list[StatementRow]) -> list[StatementRow]:
    return [
        dataclasses.replace(row, amount=row.amount.quantize(CENT))
        for row in rows
        if row.amount != 0
    ]
