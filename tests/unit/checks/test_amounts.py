from __future__ import annotations

from decimal import Decimal

import duckdb

from checks.amounts import amount_checks
from reach_dq.findings import FailureCase, Finding, Outcome
from reach_dq.runner import run_checks
from tests.unit.checks.conftest import insert_rows, month_end
from tests.unit.checks.snapshot_rows import context_for

JULY = month_end(2024, 7)


def run(connection: duckdb.DuckDBPyConnection) -> dict[str, Finding]:
    findings = run_checks(amount_checks(), context_for(connection, JULY, JULY))
    return {finding.dataset: finding for finding in findings}


def statement_row(amount: str) -> dict[str, object]:
    return {"company_id": "C001", "basis": "ACCRUAL", "account_id": "4000", "date": JULY,
            "amount": Decimal(amount)}


def test_two_decimals_pass(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_rows(warehouse, "profit_and_loss", [statement_row("10.50"), statement_row("-3")])

    finding = run(warehouse)["profit_and_loss"]

    assert finding.outcome is Outcome.PASSED
    assert finding.message == (
        "profit_and_loss of C001: every amount has at most two decimal places "
        "(2 amounts checked)"
    )


def test_third_decimal_warns(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_rows(warehouse, "cash_flow", [statement_row("10.50"), statement_row("0.005")])

    finding = run(warehouse)["cash_flow"]

    assert finding.outcome is Outcome.WARNING
    assert finding.failure_cases == (
        FailureCase(company_id="C001", account_id="4000", date="2024-07-31", basis="ACCRUAL",
                    field="Amount", expected="at most 2 decimal places", actual="0.005"),
    )


def test_currency_metric_checked_and_percent_not(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_rows(warehouse, "non_financial_metrics", [
        {"company_id": "C001", "non_financial_id": "M1", "name": "ARR", "unit": "CURRENCY"},
        {"company_id": "C001", "non_financial_id": "M2", "name": "Churn", "unit": "PERCENT"},
    ])
    insert_rows(warehouse, "non_financial_values", [
        {"company_id": "C001", "non_financial_id": "M1", "date": JULY, "value": Decimal("1.234")},
        {"company_id": "C001", "non_financial_id": "M2", "date": JULY, "value": Decimal("2.345")},
    ])

    finding = run(warehouse)["non_financial_values"]

    assert finding.outcome is Outcome.WARNING
    assert [(case.field, case.actual) for case in finding.failure_cases] == [
        ("Value of M1", "1.234")
    ]
    assert finding.message == (
        "non_financial_values of C001: amounts with more than two decimal places: 1 of 1 "
        "amount; first 2024-07-31: Value of M1 1.234, expected at most 2 decimal places"
    )
