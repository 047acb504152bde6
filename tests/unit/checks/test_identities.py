from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import duckdb
import pytest

from checks.identities import IDENTITY_TOLERANCE_PER_LINE, format_amount, identity_checks
from reach_dq.exceptions import ConfigError
from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.runner import CheckContext, run_checks
from tests.unit.checks.conftest import (
    Books,
    build_books,
    insert_books,
    _statement_row,
    add_months,
    insert_rows,
    month_end,
    net_income,
)

BALANCE_SHEET_CHECK = "accuracy.balance_sheet_vs_net_income"
CASH_FLOW_CHECK = "accuracy.cash_flow_vs_change_in_cash"

# Three requested months. C002 has FiscalMonthEnd 6, so its fiscal year turns between June and
# July, and C001 keeps the calendar year.
FIRST, LAST = month_end(2024, 6), month_end(2024, 8)

ContextFactory = Callable[..., CheckContext]


def run(context: CheckContext, **options: Decimal) -> dict[tuple[str, str | None], Finding]:
    findings = run_checks(identity_checks(**options), context)
    return {(finding.check, finding.company_id): finding for finding in findings}


def two_companies() -> dict[str, Books]:
    return {
        "C001": build_books("C001", fiscal_month_end=12, first_month=FIRST, last_month=LAST),
        "C002": build_books("C002", fiscal_month_end=6, first_month=FIRST, last_month=LAST),
    }


def calendar_books() -> Books:
    return build_books("C001", fiscal_month_end=12, first_month=FIRST, last_month=LAST)


def statement_row(books: Books, table: str, account_id: str, date: dt.date, basis: str) -> dict:
    [row] = [
        row
        for row in books[table]
        if row["account_id"] == account_id and row["date"] == date and row["basis"] == basis
    ]
    return row


def shift(books: Books, account_id: str, date: dt.date, basis: str, by: str) -> None:
    """Add ``by`` to one balance-sheet Amount of the books."""
    statement_row(books, "balance_sheet", account_id, date, basis)["amount"] += Decimal(by)


def test_identity_checks_describe_both_identities() -> None:
    checks = identity_checks()
    assert [check.name for check in checks] == [BALANCE_SHEET_CHECK, CASH_FLOW_CHECK]
    assert [check.datasets for check in checks] == [("balance_sheet",), ("cash_flow",)]
    assert {check.category for check in checks} == {Category.ACCURACY}


def test_default_tolerance_is_zero() -> None:
    assert IDENTITY_TOLERANCE_PER_LINE == Decimal("0.00")


def test_consistent_books_pass(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    for books in two_companies().values():
        insert_books(warehouse, books)

    findings = run(make_context(FIRST, LAST))

    assert sorted(findings) == [
        (BALANCE_SHEET_CHECK, "C001"),
        (BALANCE_SHEET_CHECK, "C002"),
        (CASH_FLOW_CHECK, "C001"),
        (CASH_FLOW_CHECK, "C002"),
    ]
    assert findings[BALANCE_SHEET_CHECK, "C002"].outcome is Outcome.PASSED
    assert findings[BALANCE_SHEET_CHECK, "C002"].message == (
        "balance sheet of C002 equals fiscal year-to-date net income in all 6 month-bases"
    )
    assert findings[BALANCE_SHEET_CHECK, "C001"].outcome is Outcome.PASSED
    assert findings[CASH_FLOW_CHECK, "C001"].outcome is Outcome.PASSED
    assert findings[CASH_FLOW_CHECK, "C002"].outcome is Outcome.PASSED
    assert findings[CASH_FLOW_CHECK, "C002"].message == (
        "net income plus cash flow of C002 equals the change in cash in all 6 month-bases"
    )


def test_calendar_year_turn_passes(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    first, last = month_end(2023, 11), month_end(2024, 2)
    books = build_books("C001", fiscal_month_end=12, first_month=first, last_month=last)
    insert_books(warehouse, books)

    findings = run(make_context(first, last))

    assert findings[BALANCE_SHEET_CHECK, "C001"].message == (
        "balance sheet of C001 equals fiscal year-to-date net income in all 8 month-bases"
    )
    assert findings[CASH_FLOW_CHECK, "C001"].outcome is Outcome.PASSED


def test_one_cent_off_fails_identity(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    companies = two_companies()
    july = month_end(2024, 7)
    shift(companies["C002"], "1100", july, "ACCRUAL", "0.01")
    for books in companies.values():
        insert_books(warehouse, books)

    findings = run(make_context(FIRST, LAST))

    finding = findings[BALANCE_SHEET_CHECK, "C002"]
    expected = net_income(companies["C002"], "ACCRUAL", july, july)  # July opens the fiscal year
    assert finding.outcome is Outcome.FAILED
    assert finding.failure_count == 1
    assert finding.failure_cases == (
        FailureCase(
            company_id="C002",
            date="2024-07-31",
            basis="ACCRUAL",
            expected=format_amount(expected),
            actual=format_amount(expected + Decimal("0.01")),
            delta="0.01",
        ),
    )
    assert finding.message == (
        "balance sheet of C002 does not equal fiscal year-to-date net income in 1 of 6 "
        "month-bases; first 2024-07-31 ACCRUAL: delta 0.01"
    )
    assert findings[BALANCE_SHEET_CHECK, "C001"].outcome is Outcome.PASSED
    assert findings[CASH_FLOW_CHECK, "C002"].outcome is Outcome.PASSED  # receivables are not cash


def test_cent_tolerance_accepts_one_cent(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    books = build_books("C002", fiscal_month_end=6, first_month=FIRST, last_month=LAST)
    shift(books, "1100", month_end(2024, 7), "ACCRUAL", "0.01")
    insert_books(warehouse, books)

    findings = run(make_context(FIRST, LAST), tolerance_per_line=Decimal("0.01"))

    finding = findings[BALANCE_SHEET_CHECK, "C002"]
    assert finding.outcome is Outcome.PASSED
    assert finding.message == (
        "balance sheet of C002 equals fiscal year-to-date net income in all 6 month-bases "
        "(tolerance 0.01 per summed row)"
    )


def test_cases_ordered_by_date_basis(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    books = calendar_books()
    shift(books, "1500", month_end(2024, 8), "ACCRUAL", "-1250")
    shift(books, "1500", month_end(2024, 8), "CASH", "0.5")
    shift(books, "2500", month_end(2024, 6), "CASH", "2")
    insert_books(warehouse, books)

    finding = run(make_context(FIRST, LAST))[BALANCE_SHEET_CHECK, "C001"]

    cases = [(case.date, case.basis, case.delta) for case in finding.failure_cases]
    assert cases == [
        ("2024-06-30", "CASH", "-2.00"),
        ("2024-08-31", "ACCRUAL", "-1250.00"),
        ("2024-08-31", "CASH", "0.50"),
    ]
    assert finding.failure_count == 3
    assert finding.message == (
        "balance sheet of C001 does not equal fiscal year-to-date net income in 3 of 6 "
        "month-bases; first 2024-06-30 CASH: delta -2.00"
    )


def test_wrong_fiscal_month_end_fails_identity(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    # The books close their year in June, but the company row claims a calendar year, so every
    # year-to-date sum starts in January instead of July.
    books = build_books("C002", fiscal_month_end=6, first_month=FIRST, last_month=LAST)
    books["company"][0]["fiscal_month_end"] = 12
    insert_books(warehouse, books)

    finding = run(make_context(FIRST, LAST))[BALANCE_SHEET_CHECK, "C002"]

    july = month_end(2024, 7)
    january_to_june = net_income(books, "ACCRUAL", month_end(2024, 1), FIRST)
    july_to_december = net_income(books, "ACCRUAL", month_end(2023, 7), month_end(2023, 12))
    cases = {(case.date, case.basis): case for case in finding.failure_cases}
    assert finding.outcome is Outcome.FAILED
    assert finding.failure_count == 6
    assert cases["2024-06-30", "ACCRUAL"].delta == format_amount(july_to_december)
    assert cases["2024-07-31", "ACCRUAL"].delta == format_amount(-january_to_june)
    july_net_income = net_income(books, "ACCRUAL", july, july)
    assert cases["2024-07-31", "ACCRUAL"].actual == format_amount(july_net_income)


def test_missing_cash_flow_row_fails_identity(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    books = calendar_books()
    august = month_end(2024, 8)
    books["cash_flow"].remove(statement_row(books, "cash_flow", "2500", august, "CASH"))  # -100.00
    insert_books(warehouse, books)

    findings = run(make_context(FIRST, LAST))

    finding = findings[CASH_FLOW_CHECK, "C001"]
    cash = {
        row["date"]: row["amount"]
        for row in books["balance_sheet"]
        if row["account_id"] == "1000" and row["basis"] == "CASH"
    }
    change_in_cash = cash[august] - cash[month_end(2024, 7)]
    assert finding.outcome is Outcome.FAILED
    assert finding.failure_cases == (
        FailureCase(
            company_id="C001",
            date="2024-08-31",
            basis="CASH",
            expected=format_amount(change_in_cash),
            actual=format_amount(change_in_cash + 100),
            delta="100.00",
        ),
    )
    assert finding.message == (
        "net income plus cash flow of C001 does not equal the change in cash in 1 of 6 "
        "month-bases; first 2024-08-31 CASH: delta 100.00"
    )
    assert findings[BALANCE_SHEET_CHECK, "C001"].outcome is Outcome.PASSED


def test_cash_change_uses_previous_month_end(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    # The month before the range is read for the opening cash balance and nothing else.
    books = calendar_books()
    shift(books, "1000", month_end(2024, 5), "ACCRUAL", "7")
    insert_books(warehouse, books)

    findings = run(make_context(FIRST, LAST))

    cash_flow = findings[CASH_FLOW_CHECK, "C001"]
    assert [(case.date, case.basis, case.delta) for case in cash_flow.failure_cases] == [
        ("2024-06-30", "ACCRUAL", "7.00")
    ]
    assert findings[BALANCE_SHEET_CHECK, "C001"].outcome is Outcome.PASSED


def test_months_outside_range_skipped(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    books = calendar_books()
    shift(books, "1100", month_end(2024, 3), "ACCRUAL", "9")
    insert_books(warehouse, books)

    findings = run(make_context(FIRST, LAST))

    assert findings[BALANCE_SHEET_CHECK, "C001"].outcome is Outcome.PASSED
    assert findings[CASH_FLOW_CHECK, "C001"].outcome is Outcome.PASSED


def test_budget_and_class_rows_are_ignored(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    insert_books(warehouse, calendar_books())
    scenario = {"company_id": "C001", "basis": "ACCRUAL", "account_id": "4000", "date": LAST}
    budget = {**scenario, "budget_id": "B1", "amount": Decimal("99")}
    by_class = {**scenario, "class_id": "K1", "amount": Decimal("5")}
    insert_rows(warehouse, "profit_and_loss", [budget, by_class])
    by_department = {**scenario, "department_id": "D1", "amount": Decimal("3")}
    insert_rows(warehouse, "cash_flow", [by_department])

    findings = run(make_context(FIRST, LAST))

    assert findings[BALANCE_SHEET_CHECK, "C001"].outcome is Outcome.PASSED
    assert findings[CASH_FLOW_CHECK, "C001"].outcome is Outcome.PASSED


def test_unknown_account_rows_excluded(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    insert_books(warehouse, calendar_books())
    orphan = {"company_id": "C001", "basis": "CASH", "account_id": "9999", "amount": Decimal("5")}
    insert_rows(warehouse, "balance_sheet", [{**orphan, "date": FIRST}, {**orphan, "date": LAST}])
    insert_rows(warehouse, "profit_and_loss", [{**orphan, "account_id": "1000", "date": LAST}])

    findings = run(make_context(FIRST, LAST))

    finding = findings[BALANCE_SHEET_CHECK, "C001"]
    assert finding.outcome is Outcome.PASSED
    assert finding.message == (
        "balance sheet of C001 equals fiscal year-to-date net income in all 6 month-bases; "
        "excluded 3 statement rows whose account is missing from the chart of accounts "
        "or has no AccountType of that statement"
    )
    assert findings[CASH_FLOW_CHECK, "C001"].outcome is Outcome.PASSED


def test_empty_snapshot_not_evaluated(make_context: ContextFactory) -> None:
    findings = run(make_context(FIRST, LAST))

    assert sorted(findings) == [(BALANCE_SHEET_CHECK, None), (CASH_FLOW_CHECK, None)]
    assert findings[BALANCE_SHEET_CHECK, None].outcome is Outcome.NOT_EVALUATED
    assert findings[BALANCE_SHEET_CHECK, None].message == "no company in snapshot snap-1"
    assert findings[CASH_FLOW_CHECK, None].outcome is Outcome.NOT_EVALUATED


def test_company_without_rows_not_evaluated(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    insert_rows(warehouse, "user_info", [{"company_id": "C001", "company_name": "One"}])

    findings = run(make_context(FIRST, LAST))

    assert findings[BALANCE_SHEET_CHECK, "C001"].outcome is Outcome.NOT_EVALUATED
    assert findings[BALANCE_SHEET_CHECK, "C001"].message == (
        "cannot check C001: the snapshot has no company information row"
    )
    assert findings[CASH_FLOW_CHECK, "C001"].outcome is Outcome.NOT_EVALUATED
    assert findings[CASH_FLOW_CHECK, "C001"].message == (
        "cannot check C001: the snapshot has no chart of accounts rows"
    )


def test_empty_statements_not_evaluated(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    books = calendar_books()
    reference = {table: books[table] for table in ("company", "chart_of_accounts")}
    insert_books(warehouse, reference)

    findings = run(make_context(FIRST, LAST))

    assert findings[BALANCE_SHEET_CHECK, "C001"].outcome is Outcome.NOT_EVALUATED
    assert findings[BALANCE_SHEET_CHECK, "C001"].message == (
        "cannot check C001: no balance_sheet actuals rows from 2024-06-30 to 2024-08-31"
    )
    assert findings[CASH_FLOW_CHECK, "C001"].message == (
        "cannot check C001: no balance_sheet actuals rows from 2024-06-30 to 2024-08-31"
    )


def test_empty_cash_flow_fails_when_cash_moved(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    # An omitted cash flow row counts as zero, so a cash flow statement with no rows at all
    # cannot explain a change in cash.
    books = calendar_books()
    books["cash_flow"] = []
    insert_books(warehouse, books)

    findings = run(make_context(FIRST, LAST))

    assert findings[CASH_FLOW_CHECK, "C001"].outcome is Outcome.FAILED
    assert findings[BALANCE_SHEET_CHECK, "C001"].outcome is Outcome.PASSED


def test_dormant_company_with_only_balances_passes(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    # No P&L and no cash flow rows, and the same balanced sheet every month: both identities
    # hold with zero net income, so the company is checked, not skipped.
    books = calendar_books()
    balances = {"1000": Decimal("700.00"), "2500": Decimal("200.00"), "3000": Decimal("500.00")}
    books["balance_sheet"] = [
        _statement_row("C001", basis, account_id, month, amount)
        for basis in ("ACCRUAL", "CASH")
        for month in (add_months(FIRST, -1), FIRST, add_months(FIRST, 1), LAST)
        for account_id, amount in balances.items()
    ]
    books["profit_and_loss"] = []
    books["cash_flow"] = []
    insert_books(warehouse, books)

    findings = run(make_context(FIRST, LAST))

    assert findings[BALANCE_SHEET_CHECK, "C001"].outcome is Outcome.PASSED
    assert findings[CASH_FLOW_CHECK, "C001"].outcome is Outcome.PASSED


@pytest.mark.parametrize(
    ("fiscal_month_ends", "reason"),
    [
        ([None], "FiscalMonthEnd is missing"),
        ([13], "FiscalMonthEnd 13 is not a month 1..12"),
        ([6, 12], "company rows disagree on FiscalMonthEnd: [6, 12]"),
    ],
    ids=["missing", "out-of-range", "conflicting"],
)
def test_unusable_fiscal_month_end_not_evaluated(
    warehouse: duckdb.DuckDBPyConnection,
    make_context: ContextFactory,
    fiscal_month_ends: list[int | None],
    reason: str,
) -> None:
    books = calendar_books()
    books["company"] = [
        {**books["company"][0], "fiscal_month_end": value} for value in fiscal_month_ends
    ]
    insert_books(warehouse, books)

    findings = run(make_context(FIRST, LAST))

    assert findings[BALANCE_SHEET_CHECK, "C001"].outcome is Outcome.NOT_EVALUATED
    assert findings[BALANCE_SHEET_CHECK, "C001"].message == f"cannot check C001: {reason}"
    assert findings[CASH_FLOW_CHECK, "C001"].outcome is Outcome.PASSED  # reads no fiscal year


def test_reversed_range_not_evaluated(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    insert_books(warehouse, calendar_books())

    findings = run(make_context(LAST, FIRST))

    assert findings[BALANCE_SHEET_CHECK, None].outcome is Outcome.NOT_EVALUATED
    assert findings[BALANCE_SHEET_CHECK, None].message == (
        "check could not run: CheckRunError: first_month '2024-08-31' is after "
        "last_month '2024-06-30'"
    )


@pytest.mark.parametrize(
    "tolerance",
    [Decimal("0.011"), Decimal("0.02"), Decimal("-0.01"), Decimal("NaN"), 0.01],
    ids=["just-above", "two-cents", "negative", "nan", "float"],
)
def test_invalid_tolerance_rejected(tolerance: object) -> None:
    with pytest.raises(ConfigError) as error:
        identity_checks(tolerance_per_line=tolerance)  # type: ignore[arg-type]
    assert str(error.value) == (
        f"tolerance_per_line must be a Decimal from 0.00 to 0.01, got {tolerance!r}"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0.0100000000", "0.01"),
        ("-1250.0000000000", "-1250.00"),
        ("0E-10", "0.00"),
        ("-0.0000000000", "0.00"),
        ("0.0050000000", "0.005"),
        ("1E+3", "1000.00"),
    ],
)
def test_format_amount(value: str, text: str) -> None:
    assert format_amount(Decimal(value)) == text
