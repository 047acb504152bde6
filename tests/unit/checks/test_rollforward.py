from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest

from checks.rollforward import rollforward_checks
from reach_dq.exceptions import ConfigError
from reach_dq.findings import FailureCase, Finding, Outcome
from reach_dq.runner import run_checks
from tests.unit.checks.conftest import Books, build_books, insert_rows, month_end, net_income
from tests.unit.checks.snapshot_rows import context_for, insert_company_books, rows_of

CASH_FLOW_CHECK = "accuracy.cash_flow_by_account"
CLOSE_CHECK = "accuracy.year_end_close"

# Fifteen months: C001 (calendar year) starts a fiscal year in January 2025, C002
# (FiscalMonthEnd 6) in July 2024 and July 2025. The fetch window of both covers the whole
# fiscal year before each of those starts.
FIRST, LAST = month_end(2024, 6), month_end(2025, 8)


def company_books(company_id: str = "C001", fiscal_month_end: int = 12) -> Books:
    return build_books(company_id, fiscal_month_end=fiscal_month_end, first_month=FIRST,
                       last_month=LAST)


def run(
    connection: duckdb.DuckDBPyConnection, **options: Decimal
) -> dict[tuple[str, str | None], Finding]:
    findings = run_checks(rollforward_checks(**options), context_for(connection, FIRST, LAST))
    return {(finding.check, finding.company_id): finding for finding in findings}


def balance(books: Books, account_id: str, date: dt.date, basis: str = "ACCRUAL") -> dict:
    [row] = rows_of(books, "balance_sheet", account_id=account_id, date=date, basis=basis)
    return row


def test_consistent_books_pass_both_checks(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_company_books(warehouse, company_books(), last_month=LAST)
    insert_company_books(warehouse, company_books("C002", 6), last_month=LAST)

    findings = run(warehouse)

    assert {key: f.outcome for key, f in findings.items()} == {
        (CASH_FLOW_CHECK, "C001"): Outcome.PASSED,
        (CLOSE_CHECK, "C001"): Outcome.PASSED,
        (CASH_FLOW_CHECK, "C002"): Outcome.PASSED,
        (CLOSE_CHECK, "C002"): Outcome.PASSED,
    }
    assert findings[(CLOSE_CHECK, "C001")].message == (
        "balance-sheet accounts of C001 without CashFlowCategory change only by the year-end "
        "close (30 month-bases checked)"
    )


def test_balance_without_cash_flow_names_account(warehouse: duckdb.DuckDBPyConnection) -> None:
    books = company_books()
    balance(books, "1500", month_end(2024, 9))["amount"] += Decimal("5.00")
    insert_company_books(warehouse, books, last_month=LAST)

    finding = run(warehouse)[(CASH_FLOW_CHECK, "C001")]

    assert finding.outcome is Outcome.FAILED
    assert finding.failure_cases == (
        FailureCase(company_id="C001", account_id="1500", date="2024-09-30", basis="ACCRUAL",
                    field="Amount", expected="-5.00", actual="0.00", delta="5.00"),
        FailureCase(company_id="C001", account_id="1500", date="2024-10-31", basis="ACCRUAL",
                    field="Amount", expected="-195.00", actual="-200.00", delta="-5.00"),
    )
    assert finding.message.startswith(
        "cash flow of C001 does not show the change in balance: 2 of "
    )


def test_missing_cash_flow_row_fails(warehouse: duckdb.DuckDBPyConnection) -> None:
    books = company_books()
    [row] = rows_of(books, "cash_flow", account_id="2500", date=month_end(2025, 3), basis="CASH")
    books["cash_flow"].remove(row)
    insert_company_books(warehouse, books, last_month=LAST)

    [case] = run(warehouse)[(CASH_FLOW_CHECK, "C001")].failure_cases

    assert (case.account_id, case.date, case.basis) == ("2500", "2025-03-31", "CASH")
    assert (case.expected, case.actual, case.delta) == ("-100.00", "0.00", "100.00")


def test_liability_change_is_signed_as_inflow(warehouse: duckdb.DuckDBPyConnection) -> None:
    books = company_books()
    balance(books, "2500", month_end(2024, 7))["amount"] += Decimal("30.00")
    insert_company_books(warehouse, books, last_month=LAST)

    cases = run(warehouse)[(CASH_FLOW_CHECK, "C001")].failure_cases

    assert [(case.date, case.expected, case.actual) for case in cases] == [
        ("2024-07-31", "-70.00", "-100.00"),
        ("2024-08-31", "-130.00", "-100.00"),
    ]


def test_tolerance_accepts_a_cent_per_row(warehouse: duckdb.DuckDBPyConnection) -> None:
    books = company_books()
    balance(books, "1500", month_end(2024, 9))["amount"] += Decimal("0.01")
    insert_company_books(warehouse, books, last_month=LAST)

    strict = run(warehouse)[(CASH_FLOW_CHECK, "C001")]
    lenient = run(warehouse, tolerance_per_line=Decimal("0.01"))[(CASH_FLOW_CHECK, "C001")]

    assert strict.outcome is Outcome.FAILED
    assert lenient.outcome is Outcome.PASSED


@pytest.mark.parametrize("tolerance", [Decimal("0.02"), Decimal("-0.01"), 0.01])
def test_invalid_tolerance_raises(tolerance: object) -> None:
    with pytest.raises(ConfigError) as raised:
        rollforward_checks(tolerance_per_line=tolerance)  # type: ignore[arg-type]
    assert str(raised.value) == (
        f"tolerance_per_line must be a Decimal from 0.00 to 0.01, got {tolerance!r}"
    )


def test_wrong_fiscal_month_end_shows_close_in_wrong_month(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    books = company_books()
    books["company"][0]["fiscal_month_end"] = 1  # the books close in December
    insert_company_books(warehouse, books, last_month=LAST)

    finding = run(warehouse)[(CLOSE_CHECK, "C001")]

    accrual_year = net_income(books, "ACCRUAL", month_end(2024, 1), month_end(2024, 12))
    accrual_cases = [case for case in finding.failure_cases if case.basis == "ACCRUAL"]
    assert [(case.account_id, case.date, case.field) for case in accrual_cases] == [
        ("3900", "2025-01-31", "change in balance outside the first month of a fiscal year"),
        ("3900", "2025-02-28",
         "year-end close: change in balance by the net income of the previous fiscal year"),
    ]
    assert accrual_cases[0].actual == f"{accrual_year:.2f}"
    assert accrual_cases[0].expected == "0.00"
    assert accrual_cases[1].actual == "0.00"


def test_close_by_wrong_amount_fails(warehouse: duckdb.DuckDBPyConnection) -> None:
    books = company_books()
    for row in rows_of(books, "balance_sheet", account_id="3900", basis="CASH"):
        if row["date"] >= month_end(2025, 1):
            row["amount"] += Decimal("7.00")
    insert_company_books(warehouse, books, last_month=LAST)

    [case] = run(warehouse)[(CLOSE_CHECK, "C001")].failure_cases

    year = net_income(books, "CASH", month_end(2024, 1), month_end(2024, 12))
    assert (case.account_id, case.date, case.basis) == ("3900", "2025-01-31", "CASH")
    assert (case.expected, case.actual, case.delta) == (
        f"{year:.2f}", f"{year + Decimal('7.00'):.2f}", "7.00"
    )


def test_close_not_compared_without_previous_year(warehouse: duckdb.DuckDBPyConnection) -> None:
    # Requested from January 2025, the fetch starts in December 2024, so the net income of
    # fiscal 2024 is unknown and the January close amount cannot be compared.
    first = month_end(2025, 1)
    books = build_books("C001", fiscal_month_end=12, first_month=first, last_month=LAST)
    for row in rows_of(books, "balance_sheet", account_id="3900"):
        if row["date"] >= first:
            row["amount"] += Decimal("7.00")
    insert_company_books(warehouse, books, last_month=LAST)

    findings = run_checks(rollforward_checks(), context_for(warehouse, first, LAST))
    [close] = [finding for finding in findings if finding.check == CLOSE_CHECK]

    assert close.outcome is Outcome.PASSED


def test_company_without_fiscal_month_end_not_evaluated(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    books = company_books()
    books["company"][0]["fiscal_month_end"] = None
    insert_company_books(warehouse, books, last_month=LAST)

    finding = run(warehouse)[(CLOSE_CHECK, "C001")]

    assert finding.outcome is Outcome.NOT_EVALUATED
    assert finding.message == (
        "cannot check C001: it needs one FiscalMonthEnd from 1 to 12 and balance sheet actuals "
        "in the requested range"
    )


def test_rows_without_requests_not_evaluated(warehouse: duckdb.DuckDBPyConnection) -> None:
    for table, rows in company_books().items():
        insert_rows(warehouse, table, rows)

    findings = run(warehouse)

    assert {key: f.outcome for key, f in findings.items()} == {
        (CASH_FLOW_CHECK, "C001"): Outcome.NOT_EVALUATED,
        (CLOSE_CHECK, "C001"): Outcome.NOT_EVALUATED,
    }
