"""Fixtures for the check tests: a DuckDB warehouse file, row inserts and hand-built books.

``build_books`` simulates a small company month by month, so both accounting identities hold to
the cent on both bases. The balance sheet closes into retained earnings at each fiscal year end,
and cash moves by net income plus the cash flow rows. The CASH basis has no receivables or
payables, and their rows are left out, which counts as zero.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from reach_dq.runner import CheckContext
from reach_dq.warehouse.ddl import create_tables

SNAPSHOT_ID = "snap-1"

Row = dict[str, Any]
Books = dict[str, list[Row]]

# (account_id, account_name, account_type, cash_flow_category)
ACCOUNTS = (
    ("1000", "Bank", "ASSET", "CASH"),
    ("1100", "Accounts receivable", "ASSET", "OPERATING"),
    ("1500", "Equipment", "ASSET", "INVESTING"),
    ("2000", "Accounts payable", "LIABILITY", "OPERATING"),
    ("2500", "Bank loan", "LIABILITY", "FINANCING"),
    ("3000", "Share capital", "EQUITY", "FINANCING"),
    ("3900", "Retained earnings", "EQUITY", None),
    ("4000", "Sales", "REVENUE", None),
    ("5000", "Cost of goods sold", "COST_OF_SALES", None),
    ("6000", "Rent", "EXPENSE", None),
    ("7000", "Interest income", "OTHER_INCOME", None),
    ("8000", "Interest expense", "OTHER_EXPENSE", None),
)
ACCOUNT_TYPE = {account_id: account_type for account_id, _, account_type, _ in ACCOUNTS}
ACCRUAL_ONLY = ("1100", "2000")  # receivables and payables are zero on the CASH basis
CASH_ACCOUNT = "1000"
RETAINED_EARNINGS = "3900"
INCOME_ACCOUNTS = ("4000", "7000")


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def add_months(day: dt.date, months: int) -> dt.date:
    """Return the last day of the month ``months`` after the month of ``day``."""
    index = day.year * 12 + day.month - 1 + months
    return month_end(index // 12, index % 12 + 1)


def fiscal_year_start(day: dt.date, fiscal_month_end: int) -> dt.date:
    """Return the last day of the first month of the fiscal year that contains ``day``."""
    if fiscal_month_end == 12:
        return month_end(day.year, 1)
    year = day.year if day.month > fiscal_month_end else day.year - 1
    return month_end(year, fiscal_month_end + 1)


def net_income(books: Books, basis: str, first: dt.date, last: dt.date) -> Decimal:
    """Sum the net income of the books' actuals from month end ``first`` through ``last``."""
    total = Decimal("0")
    for row in books["profit_and_loss"]:
        if row["basis"] != basis or not first <= row["date"] <= last:
            continue
        sign = 1 if row["account_id"] in INCOME_ACCOUNTS else -1
        total += sign * row["amount"]
    return total


def _profit_and_loss(basis: str, index: int) -> dict[str, Decimal]:
    if basis == "ACCRUAL":
        sales, cost_of_sales = Decimal("1000.15") + 25 * index, Decimal("400.40") + 10 * index
    else:
        sales, cost_of_sales = Decimal("950.05") + 20 * index, Decimal("380.20") + 8 * index
    return {
        "4000": sales,
        "5000": cost_of_sales,
        "6000": Decimal("300.00"),
        "7000": Decimal("12.34"),
        "8000": Decimal("45.67") + index,
    }


def _balance_changes(basis: str, index: int) -> dict[str, Decimal]:
    """Return each non-cash balance-sheet account's change in month ``index``."""
    changes = {
        "1500": Decimal("200.00") if index % 3 == 0 else Decimal("0.00"),
        "2500": Decimal("-100.00"),
        "3000": Decimal("1000.00") if index % 5 == 4 else Decimal("0.00"),
    }
    if basis == "ACCRUAL":
        changes["1100"] = Decimal("50.25") if index % 2 == 0 else Decimal("-30.10")
        changes["2000"] = Decimal("20.00") if index % 2 == 0 else Decimal("-12.50")
    return changes


def _opening_balances(basis: str) -> dict[str, Decimal]:
    balances = {
        "1000": Decimal("10000.00"),
        "1100": Decimal("1500.00"),
        "1500": Decimal("4000.00"),
        "2000": Decimal("800.00"),
        "2500": Decimal("5000.00"),
        "3000": Decimal("6000.00"),
    }
    if basis == "CASH":
        balances["1100"] = balances["2000"] = Decimal("0.00")
    assets = balances["1000"] + balances["1100"] + balances["1500"]
    balances["3900"] = assets - balances["2000"] - balances["2500"] - balances["3000"]
    return balances


def _statement_row(
    company_id: str, basis: str, account_id: str, date: dt.date, amount: Decimal
) -> Row:
    return {
        "company_id": company_id,
        "basis": basis,
        "account_id": account_id,
        "date": date,
        "amount": amount,
    }


def _simulate_basis(
    books: Books,
    company_id: str,
    basis: str,
    fiscal_month_end: int,
    window: tuple[dt.date, dt.date],
) -> None:
    first_emitted, last_month = window
    # Start a full fiscal year before the window, at a fiscal year start, where year-to-date
    # net income is zero and the opening balance sheet balances.
    start = add_months(fiscal_year_start(first_emitted, fiscal_month_end), -12)
    balances = _opening_balances(basis)
    year_to_date = Decimal("0")

    month, index = start, 0
    while month <= last_month:
        if month == fiscal_year_start(month, fiscal_month_end):
            balances[RETAINED_EARNINGS] += year_to_date  # close last year's earnings
            year_to_date = Decimal("0")

        activity = _profit_and_loss(basis, index)
        income = sum(activity[account] for account in INCOME_ACCOUNTS)
        month_net_income = income - sum(
            amount for account, amount in activity.items() if account not in INCOME_ACCOUNTS
        )
        year_to_date += month_net_income

        cash_flows = {}
        for account_id, change in _balance_changes(basis, index).items():
            balances[account_id] += change
            cash_flows[account_id] = -change if ACCOUNT_TYPE[account_id] == "ASSET" else change
        balances[CASH_ACCOUNT] += month_net_income + sum(cash_flows.values())

        if month >= first_emitted:
            _emit_month(books, company_id, basis, month, activity, balances, cash_flows)
        month, index = add_months(month, 1), index + 1


def _emit_month(
    books: Books,
    company_id: str,
    basis: str,
    month: dt.date,
    activity: Mapping[str, Decimal],
    balances: Mapping[str, Decimal],
    cash_flows: Mapping[str, Decimal],
) -> None:
    for account_id, amount in activity.items():
        row = _statement_row(company_id, basis, account_id, month, amount)
        books["profit_and_loss"].append(row)
    for account_id, amount in balances.items():
        if basis == "CASH" and account_id in ACCRUAL_ONLY:
            continue
        books["balance_sheet"].append(_statement_row(company_id, basis, account_id, month, amount))
    for account_id, amount in cash_flows.items():
        books["cash_flow"].append(_statement_row(company_id, basis, account_id, month, amount))


def build_books(
    company_id: str, *, fiscal_month_end: int, first_month: dt.date, last_month: dt.date
) -> Books:
    """Build consistent actuals of one company for a requested range of month ends.

    Statement rows start where a fetch window starts: at the earlier of the fiscal year start
    of ``first_month`` and the month before it.
    """
    year_start = fiscal_year_start(first_month, fiscal_month_end)
    first_emitted = min(year_start, add_months(first_month, -1))
    books: Books = {
        "company": [
            {
                "company_id": company_id,
                "company_name": f"Company {company_id}",
                "fiscal_month_end": fiscal_month_end,
                "currency": "USD",
            }
        ],
        "chart_of_accounts": [
            {
                "company_id": company_id,
                "account_id": account_id,
                "account_number": account_id,
                "account_name": name,
                "account_type": account_type,
                "parent_account_id": None,
                "is_active": True,
                "cash_flow_category": category,
            }
            for account_id, name, account_type, category in ACCOUNTS
        ],
        "profit_and_loss": [],
        "balance_sheet": [],
        "cash_flow": [],
    }
    for basis in ("ACCRUAL", "CASH"):
        _simulate_basis(books, company_id, basis, fiscal_month_end, (first_emitted, last_month))
    return books


def catalog_rows(company_id: str, *, first_month: dt.date) -> Books:
    """Return valid rows of the datasets that are not statements, company or chart of accounts."""
    return {
        "user_info": [{"company_id": company_id, "company_name": f"Company {company_id}"}],
        "budgets": [
            {
                "company_id": company_id,
                "budget_id": "B1",
                "budget_name": "Plan",
                "start_date": dt.date(first_month.year, 1, 1),
                "end_date": dt.date(first_month.year, 12, 31),
            }
        ],
        "classes": [
            {"company_id": company_id, "class_id": "K1", "class_name": "Retail",
             "parent_class_id": None, "is_active": True},
            {"company_id": company_id, "class_id": "K2", "class_name": "Online",
             "parent_class_id": "K1", "is_active": False},
        ],
        "departments": [
            {"company_id": company_id, "department_id": "D1", "department_name": "Sales",
             "parent_department_id": None, "is_active": True},
        ],
        "non_financial_metrics": [
            {"company_id": company_id, "non_financial_id": "M1", "name": "Headcount",
             "unit": "COUNT"},
            {"company_id": company_id, "non_financial_id": "M2", "name": "Stores",
             "unit": None},
        ],
        "non_financial_values": [
            {"company_id": company_id, "non_financial_id": "M1", "date": first_month,
             "value": Decimal("12")},
            {"company_id": company_id, "non_financial_id": "M2", "date": first_month,
             "value": Decimal("3.5")},
        ],
    }


def insert_rows(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    snapshot_id: str = SNAPSHOT_ID,
) -> None:
    """Insert rows into a typed table, filling snapshot_id and exchange_id when a row lacks them.

    Rows keep their order, which is the load order that duplicate detection relies on.
    """
    filled = [{"snapshot_id": snapshot_id, "exchange_id": 1, **row} for row in rows]
    for names, group in itertools.groupby(filled, key=lambda row: tuple(row)):
        values = [list(row.values()) for row in group]
        one_row = "(" + ", ".join("?" for _ in names) + ")"
        connection.execute(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES {', '.join([one_row] * len(values))}",
            [value for row in values for value in row],
        )


def insert_books(connection: duckdb.DuckDBPyConnection, books: Books) -> None:
    for table, rows in books.items():
        insert_rows(connection, table, rows)


@pytest.fixture
def warehouse(tmp_path: Any) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open a DuckDB file with every warehouse table created."""
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    create_tables(connection)
    yield connection
    connection.close()


@pytest.fixture
def make_context(warehouse: duckdb.DuckDBPyConnection) -> Callable[..., CheckContext]:
    def make(
        first_month: dt.date, last_month: dt.date, *, snapshot_id: str = SNAPSHOT_ID
    ) -> CheckContext:
        return CheckContext(
            connection=warehouse,
            snapshot_id=snapshot_id,
            spec=None,  # type: ignore[arg-type]  # these checks never read the contract
            as_of=add_months(last_month, 1),
            first_month=first_month,
            last_month=last_month,
        )

    return make
