from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from reach_dq.datasets import BASES
from reach_dq.partner.books import Books
from reach_dq.partner.months import add_months, month_ends
from reach_dq.partner.statements import Scope, StatementRow, Statements

from .identities import Row, identity_breaks


def _rows(rows: list[StatementRow]) -> list[Row]:
    return [Row(row.account_id, row.date, row.amount) for row in rows]


def _breaks(books: Books, scope: Scope) -> tuple[int, list[str]]:
    """Check both identities over every month of the books; return the months checked and breaks."""
    statements = Statements(books)
    start, end = books.first_month.replace(day=1), books.last_month
    chart = {a.account_id: (a.account_type, a.cash_flow_category) for a in books.accounts}
    months = list(month_ends(start, end))
    breaks = identity_breaks(
        chart,
        books.company.fiscal_month_end,
        months,
        _rows(statements.profit_and_loss(scope, start, end)),
        _rows(statements.balance_sheet(scope, start, end)),
        _rows(statements.cash_flow(scope, start, end)),
    )
    return len(months), breaks


@pytest.mark.parametrize("basis", BASES)
def test_identities_hold_for_every_company_and_month(
    companies: tuple[Books, ...], basis: str
) -> None:
    for books in companies:
        assert _breaks(books, Scope(basis)) == (48, [])


@pytest.mark.parametrize("class_id", ["CL01", "CL02", "CL03"])
@pytest.mark.parametrize("basis", BASES)
def test_identities_hold_under_class_filter(
    companies: tuple[Books, ...], basis: str, class_id: str
) -> None:
    for books in companies:
        assert _breaks(books, Scope(basis, class_id=class_id)) == (48, [])


@pytest.mark.parametrize("department_id", ["DP01", "DP02", "DP03"])
@pytest.mark.parametrize("basis", BASES)
def test_identities_hold_under_department_filter(
    companies: tuple[Books, ...], basis: str, department_id: str
) -> None:
    for books in companies:
        assert _breaks(books, Scope(basis, department_id=department_id)) == (48, [])


def test_class_filters_add_up_to_the_company(companies: tuple[Books, ...]) -> None:
    books = companies[0]
    statements = Statements(books)
    month = books.last_month
    rows = statements.profit_and_loss(Scope("ACCRUAL"), month, month)
    whole = {row.account_id: row.amount for row in rows}
    summed: dict[str, Decimal] = {}
    for class_id in ("CL01", "CL02", "CL03"):
        for row in statements.profit_and_loss(Scope("ACCRUAL", class_id=class_id), month, month):
            summed[row.account_id] = summed.get(row.account_id, Decimal(0)) + row.amount
    assert summed == whole


def test_rows_are_month_ends_within_range(companies: tuple[Books, ...]) -> None:
    books = companies[0]
    statements = Statements(books)
    rows = statements.profit_and_loss(Scope("ACCRUAL"), dt.date(2025, 1, 15), dt.date(2025, 3, 30))
    assert sorted({row.date for row in rows}) == [dt.date(2025, 1, 31), dt.date(2025, 2, 28)]


def test_end_date_before_month_end_excludes_month(companies: tuple[Books, ...]) -> None:
    books = companies[0]
    rows = Statements(books).balance_sheet(Scope("CASH"), dt.date(2025, 1, 1), dt.date(2025, 1, 30))
    assert rows == []


def test_months_outside_books_have_no_rows(companies: tuple[Books, ...]) -> None:
    books = companies[0]
    statements = Statements(books)
    before = (dt.date(2000, 1, 1), add_months(books.first_month, -1))
    after = (add_months(books.last_month, 1).replace(day=1), dt.date(2100, 12, 31))
    for start, end in (before, after):
        assert statements.balance_sheet(Scope("ACCRUAL"), start, end) == []


def test_rows_are_non_zero_cents(companies: tuple[Books, ...]) -> None:
    books = companies[2]
    statements = Statements(books)
    start, end = books.first_month, books.last_month
    rows = [
        *statements.profit_and_loss(Scope("CASH"), start, end),
        *statements.balance_sheet(Scope("CASH"), start, end),
        *statements.cash_flow(Scope("CASH"), start, end),
    ]
    assert [row for row in rows if row.amount == 0] == []
    assert {row.amount.as_tuple().exponent for row in rows} == {-2}


def test_cash_flow_account_categories(companies: tuple[Books, ...]) -> None:
    books = companies[0]
    categories = {a.account_id: a.cash_flow_category for a in books.accounts}
    rows = Statements(books).cash_flow(Scope("ACCRUAL"), books.first_month, books.last_month)
    assert {categories[row.account_id] for row in rows} == {"OPERATING", "INVESTING", "FINANCING"}


def test_retained_earnings_close_after_fiscal_year_end(companies: tuple[Books, ...]) -> None:
    books = companies[0]  # fiscal year = calendar year
    statements = Statements(books)
    scope = Scope("ACCRUAL")
    through_2024 = statements.profit_and_loss(scope, dt.date(2022, 1, 1), dt.date(2024, 12, 31))
    income = {"ACC4010", "ACC4020", "ACC7000"}
    net_income = sum(
        (r.amount if r.account_id in income else -r.amount for r in through_2024), Decimal(0)
    )
    balances = statements.balance_sheet(scope, dt.date(2024, 12, 1), dt.date(2025, 1, 31))
    retained = {row.date: row.amount for row in balances if row.account_id == "ACC3900"}
    assert retained[dt.date(2025, 1, 31)] == net_income
    assert retained[dt.date(2024, 12, 31)] != net_income


def test_budget_profit_and_loss_sums_planned_lines(companies: tuple[Books, ...]) -> None:
    books = companies[0]
    statements = Statements(books)
    budget = books.budgets[0]
    rows = statements.budget_profit_and_loss(budget.budget_id, budget.start_date, budget.end_date)
    planned = sum(
        (line.amount for line in books.budget_lines if line.budget_id == budget.budget_id),
        Decimal(0),
    )
    assert sum((row.amount for row in rows), Decimal(0)) == planned
    assert {row.date for row in rows} == set(month_ends(budget.start_date, budget.end_date))


def test_budget_profit_and_loss_filters_by_class(companies: tuple[Books, ...]) -> None:
    books = companies[0]
    budget = books.budgets[1]
    rows = Statements(books).budget_profit_and_loss(
        budget.budget_id, budget.start_date, budget.end_date, class_id="CL03"
    )
    assert {row.account_id for row in rows} == {"ACC4020", "ACC6000"}
