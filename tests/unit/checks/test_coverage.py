from __future__ import annotations

from decimal import Decimal

import duckdb

from checks.coverage import coverage_checks
from reach_dq.findings import FailureCase, Finding, Outcome
from reach_dq.runner import run_checks
from tests.unit.checks.conftest import Books, build_books, insert_rows, month_end
from tests.unit.checks.snapshot_rows import (
    context_for,
    insert_company_books,
    record_exchange,
    record_statement_requests,
)

MONTHS_CHECK = "accuracy.months_present"
DATES_CHECK = "accuracy.dates_in_range"
FIRST, LAST = month_end(2024, 6), month_end(2024, 8)
JULY = month_end(2024, 7)


def company_books() -> Books:
    return build_books("C001", fiscal_month_end=12, first_month=FIRST, last_month=LAST)


def run(connection: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], Finding]:
    findings = run_checks(coverage_checks(), context_for(connection, FIRST, LAST))
    return {(finding.check, finding.dataset): finding for finding in findings}


def without_month(books: Books, table: str, month: object) -> Books:
    books[table] = [row for row in books[table] if row["date"] != month]
    return books


def test_every_month_present_passes(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_company_books(warehouse, company_books(), last_month=LAST)

    findings = run(warehouse)

    assert {key: f.outcome for key, f in findings.items() if key[0] == MONTHS_CHECK} == {
        (MONTHS_CHECK, "profit_and_loss"): Outcome.PASSED,
        (MONTHS_CHECK, "balance_sheet"): Outcome.PASSED,
        (MONTHS_CHECK, "cash_flow"): Outcome.PASSED,
    }
    assert findings[(MONTHS_CHECK, "balance_sheet")].message == (
        "balance_sheet of C001 has actuals rows in every month of the requested range "
        "(6 month-bases checked)"
    )


def test_balance_sheet_month_missing_fails(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_company_books(warehouse, without_month(company_books(), "balance_sheet", JULY),
                         last_month=LAST)

    finding = run(warehouse)[(MONTHS_CHECK, "balance_sheet")]

    assert finding.outcome is Outcome.FAILED
    assert finding.failure_cases == (
        FailureCase(company_id="C001", date="2024-07-31", basis="ACCRUAL", field="Date",
                    expected="rows dated 2024-07-31", actual="no rows"),
        FailureCase(company_id="C001", date="2024-07-31", basis="CASH", field="Date",
                    expected="rows dated 2024-07-31", actual="no rows"),
    )
    assert finding.message == (
        "balance_sheet of C001: month-bases without actuals rows: 2 of 6 month-bases; first "
        "2024-07-31 ACCRUAL: Date no rows, expected rows dated 2024-07-31"
    )


def test_profit_and_loss_month_missing_warns(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_company_books(warehouse, without_month(company_books(), "profit_and_loss", LAST),
                         last_month=LAST)

    finding = run(warehouse)[(MONTHS_CHECK, "profit_and_loss")]

    assert finding.outcome is Outcome.WARNING
    assert finding.failure_count == 2


def test_only_fetched_bases_are_expected(warehouse: duckdb.DuckDBPyConnection) -> None:
    books = company_books()
    for table in ("profit_and_loss", "balance_sheet", "cash_flow"):
        books[table] = [row for row in books[table] if row["basis"] == "ACCRUAL"]
        insert_rows(warehouse, table, books[table])
    record_statement_requests(warehouse, books, last_month=LAST, bases=("ACCRUAL",))

    finding = run(warehouse)[(MONTHS_CHECK, "balance_sheet")]

    assert finding.outcome is Outcome.PASSED
    assert finding.message.endswith("(3 month-bases checked)")


def test_no_request_not_evaluated(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_rows(warehouse, "company", company_books()["company"])

    finding = run(warehouse)[(MONTHS_CHECK, "cash_flow")]

    assert finding.outcome is Outcome.NOT_EVALUATED
    assert finding.message == "cannot check C001: no cash_flow actuals request returned 2xx"


def test_row_after_end_date_fails(warehouse: duckdb.DuckDBPyConnection) -> None:
    exchange = record_exchange(warehouse, company_id="C001", dataset="profit_and_loss",
                               basis="CASH", start=FIRST.replace(day=1), end=JULY)
    insert_rows(warehouse, "profit_and_loss", [
        {"exchange_id": exchange, "company_id": "C001", "basis": "CASH", "account_id": "4000",
         "date": date, "amount": Decimal("1.00")}
        for date in (FIRST, JULY, LAST)
    ])

    finding = run(warehouse)[(DATES_CHECK, "profit_and_loss")]

    assert finding.outcome is Outcome.FAILED
    assert finding.failure_cases == (
        FailureCase(company_id="C001", account_id="4000", date="2024-08-31", basis="CASH",
                    field="Date",
                    expected="from 2024-06-01 to 2024-07-31, the StartDate and EndDate of its "
                             "request",
                    actual="2024-08-31"),
    )
    assert finding.message.startswith(
        "profit_and_loss of C001: rows dated outside their request's range: 1 of 3 rows; first"
    )


def test_metric_value_before_start_fails(warehouse: duckdb.DuckDBPyConnection) -> None:
    exchange = record_exchange(warehouse, company_id="C001", dataset="non_financial_values",
                               operation_id="getNonFinancialValues", start=JULY.replace(day=1),
                               end=LAST)
    insert_rows(warehouse, "non_financial_values", [
        {"exchange_id": exchange, "company_id": "C001", "non_financial_id": "M1", "date": FIRST,
         "value": Decimal("3")},
    ])

    [case] = run(warehouse)[(DATES_CHECK, "non_financial_values")].failure_cases

    assert (case.field, case.actual, case.account_id) == ("Date of M1", "2024-06-30", None)
