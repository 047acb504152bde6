"""The books of one company as the partner server keeps them: reference data and journal lines.

Amounts are ``Decimal`` with two decimal places. A journal line's ``amount`` is a debit when
positive and a credit when negative, and the lines of each journal sum to zero. Statements are
derived from these lines in ``statements``; nothing here is pre-aggregated.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from reach_dq.datasets import BALANCE_SHEET_TYPES

CENT = Decimal("0.01")


@dataclasses.dataclass(frozen=True)
class Company:
    company_id: str
    name: str
    fiscal_month_end: int  # calendar month 1..12 in which the fiscal year ends
    currency: str  # ISO 4217


@dataclasses.dataclass(frozen=True)
class Account:
    account_id: str
    number: str | None
    name: str
    account_type: str  # one of reach_dq.datasets.ACCOUNT_TYPES
    parent_id: str | None = None
    is_active: bool = True
    cash_flow_category: str | None = None  # CASH, OPERATING, INVESTING, FINANCING or None

    @property
    def on_balance_sheet(self) -> bool:
        return self.account_type in BALANCE_SHEET_TYPES


@dataclasses.dataclass(frozen=True)
class Segment:
    """A class or a department: both are tags on journal lines with an optional parent."""

    segment_id: str
    name: str
    parent_id: str | None = None
    is_active: bool = True


@dataclasses.dataclass(frozen=True)
class Budget:
    budget_id: str
    name: str
    start_date: dt.date  # first day of the first planned month
    end_date: dt.date  # last day of the last planned month


@dataclasses.dataclass(frozen=True)
class Metric:
    metric_id: str
    name: str
    unit: str | None


@dataclasses.dataclass(frozen=True)
class JournalLine:
    journal_id: str
    date: dt.date
    account_id: str
    amount: Decimal  # debit positive, credit negative
    class_id: str | None = None
    department_id: str | None = None


@dataclasses.dataclass(frozen=True)
class BudgetLine:
    """A planned monthly P&L amount, signed as the P&L shows it (income and costs positive)."""

    budget_id: str
    account_id: str
    date: dt.date  # month end
    amount: Decimal
    class_id: str | None = None
    department_id: str | None = None


@dataclasses.dataclass(frozen=True)
class MetricValue:
    metric_id: str
    date: dt.date  # month end
    value: Decimal
    budget_id: str | None = None  # None for actuals
    class_id: str | None = None  # None for the whole company


@dataclasses.dataclass(frozen=True)
class Books:
    """Everything the server serves for one company.

    ``lines`` maps each accounting basis (``ACCRUAL``, ``CASH``) to its journal lines.
    ``retained_earnings_id`` names the equity account into which the P&L of every closed fiscal
    year is moved. ``first_month`` and ``last_month`` are the month ends that bound the actuals.
    """

    company: Company
    accounts: tuple[Account, ...]
    classes: tuple[Segment, ...]
    departments: tuple[Segment, ...]
    budgets: tuple[Budget, ...]
    metrics: tuple[Metric, ...]
    lines: dict[str, tuple[JournalLine, ...]]
    budget_lines: tuple[BudgetLine, ...]
    metric_values: tuple[MetricValue, ...]
    retained_earnings_id: str
    first_month: dt.date
    last_month: dt.date
