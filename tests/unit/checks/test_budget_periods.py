from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb

from checks.budget_periods import budget_period_checks
from reach_dq.findings import FailureCase, Finding, Outcome
from reach_dq.runner import run_checks
from tests.unit.checks.conftest import insert_rows, month_end
from tests.unit.checks.snapshot_rows import context_for

FIRST, LAST = month_end(2024, 1), month_end(2024, 12)
BUDGET = {"company_id": "C001", "budget_id": "B1", "budget_name": "Plan 2024",
          "start_date": dt.date(2024, 3, 1), "end_date": dt.date(2024, 8, 31)}


def budget_row(date: dt.date, **changes: object) -> dict[str, object]:
    row = {"company_id": "C001", "basis": "ACCRUAL", "budget_id": "B1", "account_id": "4000",
           "date": date, "amount": Decimal("900.00")}
    return {**row, **changes}


def run(connection: duckdb.DuckDBPyConnection) -> Finding:
    [finding] = run_checks(budget_period_checks(), context_for(connection, FIRST, LAST))
    return finding


def test_rows_inside_period_pass(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_rows(warehouse, "budgets", [BUDGET])
    insert_rows(warehouse, "profit_and_loss", [budget_row(month_end(2024, m)) for m in (3, 8)])

    finding = run(warehouse)

    assert finding.outcome is Outcome.PASSED
    assert finding.message == (
        "budget figures of C001 fall inside their budget's period (2 budget rows checked)"
    )


def test_rows_outside_period_fail(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_rows(warehouse, "budgets", [BUDGET])
    insert_rows(warehouse, "profit_and_loss", [budget_row(month_end(2024, 2)),
                                               budget_row(month_end(2024, 5))])
    insert_rows(warehouse, "non_financial_values", [
        {"company_id": "C001", "budget_id": "B1", "non_financial_id": "M1",
         "date": month_end(2024, 9), "value": Decimal("4")},
    ])

    finding = run(warehouse)

    expected = "inside the period of budget B1, 2024-03-01 to 2024-08-31"
    assert finding.outcome is Outcome.FAILED
    assert finding.failure_cases == (
        FailureCase(company_id="C001", account_id="4000", date="2024-02-29", basis="ACCRUAL",
                    field="Date", expected=expected, actual="2024-02-29"),
        FailureCase(company_id="C001", date="2024-09-30", field="Date of M1",
                    expected=expected, actual="2024-09-30"),
    )


def test_month_overlapping_period_edge_passes(warehouse: duckdb.DuckDBPyConnection) -> None:
    # A budget ending mid-month still plans that month, whose figures are dated its last day.
    insert_rows(warehouse, "budgets", [{**BUDGET, "end_date": dt.date(2024, 8, 15)}])
    insert_rows(warehouse, "profit_and_loss", [budget_row(month_end(2024, 8))])

    assert run(warehouse).outcome is Outcome.PASSED


def test_no_budget_rows_not_evaluated(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_rows(warehouse, "budgets", [BUDGET])

    finding = run(warehouse)

    assert finding.outcome is Outcome.NOT_EVALUATED
    assert finding.message == (
        "cannot check C001: the snapshot has no budget rows of a listed budget"
    )
