from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from checks.cash_basis import cash_basis_checks
from reach_dq.findings import FailureCase, Finding, Outcome
from reach_dq.runner import run_checks
from tests.unit.checks.conftest import Books, build_books, insert_rows, month_end
from tests.unit.checks.snapshot_rows import (
    context_for,
    insert_company_books,
    record_statement_requests,
)

FIRST, LAST = month_end(2024, 6), month_end(2024, 8)
JULY = month_end(2024, 7)
NAME_RULE = (
    "balance-sheet accounts whose AccountName contains accounts receivable, accounts payable, "
    "trade receivable, trade payable, trade debtor or trade creditor"
)


def company_books() -> Books:
    return build_books("C001", fiscal_month_end=12, first_month=FIRST, last_month=LAST)


def run(connection: duckdb.DuckDBPyConnection, **options: object) -> Finding:
    [finding] = run_checks(cash_basis_checks(), context_for(connection, FIRST, LAST, **options))
    return finding


def cash_balance(account_id: str, amount: str) -> dict[str, object]:
    return {"company_id": "C001", "basis": "CASH", "account_id": account_id, "date": JULY,
            "amount": Decimal(amount)}


def test_cash_basis_without_accruals_passes(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_company_books(warehouse, company_books(), last_month=LAST)

    finding = run(warehouse)

    assert finding.outcome is Outcome.PASSED
    assert finding.message == (
        "CASH-basis balances of the receivable and payable accounts of C001 are zero "
        f"(6 account-months checked; {NAME_RULE})"
    )


def test_receivable_balance_on_cash_basis_fails(warehouse: duckdb.DuckDBPyConnection) -> None:
    books = company_books()
    books["balance_sheet"].append(cash_balance("1100", "1500.00"))
    insert_company_books(warehouse, books, last_month=LAST)

    finding = run(warehouse)

    assert finding.outcome is Outcome.FAILED
    assert finding.failure_cases == (
        FailureCase(company_id="C001", account_id="1100", date="2024-07-31", basis="CASH",
                    field="Amount", expected="0.00", actual="1500.00", delta="1500.00"),
    )
    assert finding.message == (
        "CASH-basis balances of the receivable and payable accounts of C001 are not zero: 1 "
        f"of 6 account-months ({NAME_RULE}); first 1100 2024-07-31 CASH: Amount 1500.00, "
        "expected 0.00 (delta 1500.00)"
    )


@pytest.mark.parametrize(
    ("name", "chosen"),
    [
        ("Trade Debtors", True),
        ("Accounts Payable (A/P)", True),
        ("Income Tax Payable", False),
        ("Wages payable", False),
    ],
)
def test_name_rule_chooses_accounts(
    warehouse: duckdb.DuckDBPyConnection, name: str, chosen: bool
) -> None:
    books = company_books()
    books["chart_of_accounts"].append({
        "company_id": "C001", "account_id": "2100", "account_number": "2100",
        "account_name": name, "account_type": "LIABILITY", "parent_account_id": None,
        "is_active": True, "cash_flow_category": "OPERATING",
    })
    books["balance_sheet"].append(cash_balance("2100", "80.00"))
    insert_company_books(warehouse, books, last_month=LAST)

    finding = run(warehouse)

    assert finding.outcome is (Outcome.FAILED if chosen else Outcome.PASSED)


def test_named_accounts_replace_name_rule(warehouse: duckdb.DuckDBPyConnection) -> None:
    books = company_books()
    books["balance_sheet"].append(cash_balance("1100", "1500.00"))
    insert_company_books(warehouse, books, last_month=LAST)

    finding = run(warehouse, accrual_accounts=("2500",))

    assert finding.outcome is Outcome.FAILED
    assert {case.account_id for case in finding.failure_cases} == {"2500"}
    assert "(the accounts named by --accrual-account)" in finding.message


def test_no_cash_balance_sheet_request_not_evaluated(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    books = company_books()
    for table, rows in books.items():
        insert_rows(warehouse, table, rows)
    record_statement_requests(warehouse, books, last_month=LAST, bases=("ACCRUAL",))

    finding = run(warehouse)

    assert finding.outcome is Outcome.NOT_EVALUATED


def test_company_without_receivables_not_evaluated(warehouse: duckdb.DuckDBPyConnection) -> None:
    books = company_books()
    books["chart_of_accounts"] = [
        row for row in books["chart_of_accounts"] if row["account_id"] not in ("1100", "2000")
    ]
    insert_company_books(warehouse, books, last_month=LAST)
    insert_rows(warehouse, "user_info", [{"company_id": "C001", "company_name": "C"}])

    finding = run(warehouse)

    assert finding.outcome is Outcome.NOT_EVALUATED
    assert finding.message == (
        f"cannot check C001: it has no receivable or payable account ({NAME_RULE}), or no "
        "CASH-basis balance sheet request returned 2xx"
    )
