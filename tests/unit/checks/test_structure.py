from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from checks.structure import structure_checks
from reach_dq.findings import FailureCase, Finding, Outcome
from reach_dq.runner import run_checks
from tests.unit.checks.conftest import build_books, catalog_rows, insert_rows, month_end
from tests.unit.checks.snapshot_rows import context_for, insert_company_books, record_exchange

FIRST, LAST = month_end(2024, 6), month_end(2024, 8)
JULY = month_end(2024, 7)


@pytest.fixture
def books(warehouse: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """C001's consistent books and valid lists, in the warehouse."""
    insert_company_books(
        warehouse,
        build_books("C001", fiscal_month_end=12, first_month=FIRST, last_month=LAST),
        last_month=LAST,
    )
    for table, rows in catalog_rows("C001", first_month=FIRST).items():
        insert_rows(warehouse, table, rows)
    return warehouse


def run(connection: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], Finding]:
    findings = run_checks(structure_checks(), context_for(connection, FIRST, LAST))
    return {(finding.check, finding.dataset): finding for finding in findings}


def pnl_row(account_id: str, **changes: object) -> dict[str, object]:
    row = {"company_id": "C001", "basis": "ACCRUAL", "account_id": account_id, "date": JULY,
           "amount": Decimal("10.00")}
    return {**row, **changes}


def account(account_id: str, account_type: str, **changes: object) -> dict[str, object]:
    row = {"company_id": "C001", "account_id": account_id, "account_number": account_id,
           "account_name": f"Account {account_id}", "account_type": account_type,
           "parent_account_id": None, "is_active": True, "cash_flow_category": None}
    return {**row, **changes}


def test_consistent_books_pass_every_structure_check(books: duckdb.DuckDBPyConnection) -> None:
    findings = run(books)

    assert {finding.outcome for finding in findings.values()} == {Outcome.PASSED}
    assert set(findings) == {
        ("accuracy.known_ids", "profit_and_loss"),
        ("accuracy.known_ids", "balance_sheet"),
        ("accuracy.known_ids", "cash_flow"),
        ("accuracy.known_ids", "chart_of_accounts"),
        ("accuracy.known_ids", "classes"),
        ("accuracy.known_ids", "departments"),
        ("accuracy.known_ids", "non_financial_values"),
        ("accuracy.statement_accounts", "profit_and_loss"),
        ("accuracy.statement_accounts", "balance_sheet"),
        ("accuracy.statement_accounts", "cash_flow"),
        ("accuracy.cash_flow_categories", "chart_of_accounts"),
        ("accuracy.hierarchies", "chart_of_accounts"),
        ("accuracy.hierarchies", "classes"),
        ("accuracy.hierarchies", "departments"),
    }
    assert findings[("accuracy.known_ids", "chart_of_accounts")].message == (
        "chart_of_accounts of C001: every id used is listed (12 rows checked)"
    )


def test_unknown_account_on_profit_and_loss_fails(books: duckdb.DuckDBPyConnection) -> None:
    insert_rows(books, "profit_and_loss", [pnl_row("9999")])

    finding = run(books)[("accuracy.known_ids", "profit_and_loss")]

    assert finding.outcome is Outcome.FAILED
    assert finding.failure_cases == (
        FailureCase(company_id="C001", account_id="9999", date="2024-07-31", basis="ACCRUAL",
                    field="AccountId", expected="an id listed by the chart of accounts",
                    actual="9999"),
    )
    assert finding.message == (
        "profit_and_loss of C001: ids not listed: 1 in 81 rows; first 9999 2024-07-31 ACCRUAL: "
        "AccountId 9999, expected an id listed by the chart of accounts"
    )


def test_unknown_parent_class_and_metric_fail(books: duckdb.DuckDBPyConnection) -> None:
    insert_rows(books, "classes", [{"company_id": "C001", "class_id": "K9", "class_name": "Orphan",
                                    "parent_class_id": "K404", "is_active": True}])
    insert_rows(books, "non_financial_values", [{"company_id": "C001", "non_financial_id": "M404",
                                                 "date": JULY, "value": Decimal("1")}])

    findings = run(books)

    [class_case] = findings[("accuracy.known_ids", "classes")].failure_cases
    assert (class_case.field, class_case.actual) == ("ParentClassId", "K404")
    assert class_case.expected == "an id listed by the classes"
    [metric_case] = findings[("accuracy.known_ids", "non_financial_values")].failure_cases
    assert (metric_case.field, metric_case.actual, metric_case.date) == (
        "NonFinancialId", "M404", "2024-07-31"
    )


def test_unknown_ids_unchecked_when_list_failed(warehouse: duckdb.DuckDBPyConnection) -> None:
    # No chart rows and no 2xx chart response: the list request failed, which the reliability
    # check reports, so the P&L rows are not all reported as unknown.
    insert_rows(warehouse, "profit_and_loss", [pnl_row("4000")])
    record_exchange(warehouse, company_id="C001", dataset="chart_of_accounts",
                    operation_id="listChartOfAccounts", status=500)

    finding = run(warehouse)[("accuracy.known_ids", "profit_and_loss")]

    assert finding.outcome is Outcome.PASSED


def test_unknown_ids_checked_for_empty_list(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    insert_rows(warehouse, "profit_and_loss", [pnl_row("4000")])
    record_exchange(warehouse, company_id="C001", dataset="chart_of_accounts",
                    operation_id="listChartOfAccounts", status=200)

    finding = run(warehouse)[("accuracy.known_ids", "profit_and_loss")]

    assert finding.outcome is Outcome.FAILED
    assert finding.failure_count == 1


def test_revenue_on_balance_sheet_fails(books: duckdb.DuckDBPyConnection) -> None:
    insert_rows(books, "balance_sheet", [pnl_row("4000", amount=Decimal("1000.00"))])

    finding = run(books)[("accuracy.statement_accounts", "balance_sheet")]

    assert finding.outcome is Outcome.FAILED
    assert finding.failure_cases == (
        FailureCase(company_id="C001", account_id="4000", date="2024-07-31", basis="ACCRUAL",
                    field="AccountType", expected="a balance sheet type", actual="REVENUE"),
    )


def test_asset_on_profit_and_loss_fails(books: duckdb.DuckDBPyConnection) -> None:
    insert_rows(books, "profit_and_loss", [pnl_row("1500")])

    [case] = run(books)[("accuracy.statement_accounts", "profit_and_loss")].failure_cases

    assert (case.account_id, case.expected, case.actual) == (
        "1500", "a profit and loss type", "ASSET"
    )


def test_cash_account_on_cash_flow_fails(books: duckdb.DuckDBPyConnection) -> None:
    insert_rows(books, "cash_flow", [pnl_row("1000"), pnl_row("3900"), pnl_row("6000")])

    cases = run(books)[("accuracy.statement_accounts", "cash_flow")].failure_cases

    assert [(case.account_id, case.field, case.actual) for case in cases] == [
        ("1000", "CashFlowCategory", "CASH"),
        ("3900", "CashFlowCategory", "null"),
        ("6000", "AccountType", "EXPENSE"),
    ]


def test_cash_flow_category_on_expense_fails(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_rows(warehouse, "chart_of_accounts", [account("6000", "EXPENSE",
                                                         cash_flow_category="OPERATING")])

    finding = run(warehouse)[("accuracy.cash_flow_categories", "chart_of_accounts")]

    assert finding.failure_cases == (
        FailureCase(company_id="C001", account_id="6000", field="CashFlowCategory",
                    expected="null on a EXPENSE account", actual="OPERATING"),
    )


def test_second_chart_entry_of_balance_sheet_account_fails(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    insert_rows(warehouse, "chart_of_accounts", [
        account("1100", "ASSET", account_name="Accounts receivable",
                cash_flow_category="OPERATING"),
        account("1100-CF", "ASSET", account_name=" accounts RECEIVABLE",
                account_number="1100", cash_flow_category="OPERATING"),
        account("6000", "EXPENSE", account_name="Rent"),
        account("6001", "EXPENSE", account_name="Rent"),
    ])

    cases = run(warehouse)[("accuracy.cash_flow_categories", "chart_of_accounts")].failure_cases

    assert [(case.account_id, case.field, case.actual, case.expected) for case in cases] == [
        ("1100-CF", "AccountName", " accounts RECEIVABLE",
         "one chart entry per balance-sheet account, but 1100 has this name"),
        ("1100-CF", "AccountNumber", "1100",
         "one chart entry per balance-sheet account, but 1100 has this number"),
    ]


def test_account_cycle_is_reported_for_each_member(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_rows(warehouse, "chart_of_accounts", [
        account("4000", "REVENUE", parent_account_id="4010"),
        account("4010", "REVENUE", parent_account_id="4000"),
        account("4020", "REVENUE", parent_account_id="4010"),  # leads into the cycle, not on it
    ])

    finding = run(warehouse)[("accuracy.hierarchies", "chart_of_accounts")]

    assert [(case.account_id, case.actual) for case in finding.failure_cases] == [
        ("4000", "4000 -> 4010 -> 4000"),
        ("4010", "4010 -> 4000 -> 4010"),
    ]
    assert finding.failure_cases[0].expected == "a parent chain without cycles"


def test_class_cycle_names_the_path(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_rows(warehouse, "classes", [
        {"company_id": "C001", "class_id": "K1", "class_name": "A", "parent_class_id": "K3",
         "is_active": True},
        {"company_id": "C001", "class_id": "K2", "class_name": "B", "parent_class_id": "K1",
         "is_active": True},
        {"company_id": "C001", "class_id": "K3", "class_name": "C", "parent_class_id": "K2",
         "is_active": True},
    ])

    finding = run(warehouse)[("accuracy.hierarchies", "classes")]

    assert [case.actual for case in finding.failure_cases] == [
        "K1 -> K3 -> K2 -> K1", "K2 -> K1 -> K3 -> K2", "K3 -> K2 -> K1 -> K3"
    ]
    assert {case.field for case in finding.failure_cases} == {"ParentClassId"}


def test_parent_on_other_statement_fails(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_rows(warehouse, "chart_of_accounts", [
        account("1500", "ASSET"),
        account("6400", "EXPENSE", parent_account_id="1500"),
    ])

    finding = run(warehouse)[("accuracy.hierarchies", "chart_of_accounts")]

    assert finding.failure_cases == (
        FailureCase(company_id="C001", account_id="6400", field="ParentAccountId",
                    expected="a profit-and-loss account", actual="1500 (ASSET)"),
    )


def test_second_company_is_checked_separately(books: duckdb.DuckDBPyConnection) -> None:
    other = build_books("C002", fiscal_month_end=6, first_month=FIRST, last_month=LAST)
    insert_company_books(books, other, last_month=LAST)
    insert_rows(books, "profit_and_loss", [pnl_row("X", company_id="C002")])

    findings = run_checks(structure_checks(), context_for(books, FIRST, LAST))
    known = {f.company_id: f.outcome for f in findings
             if (f.check, f.dataset) == ("accuracy.known_ids", "profit_and_loss")}

    assert known == {"C001": Outcome.PASSED, "C002": Outcome.FAILED}
