from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal

from reach_dq.datasets import ACCOUNT_TYPES, BASES, PROFIT_AND_LOSS_TYPES
from reach_dq.partner.books import Books
from reach_dq.partner.generate import generate_books, generate_companies
from reach_dq.partner.months import end_of_month
from reach_dq.partner.statements import Scope, Statements

from .conftest import AS_OF


def test_every_journal_balances(companies: tuple[Books, ...]) -> None:
    unbalanced = []
    for books in companies:
        for basis in BASES:
            totals: dict[str, Decimal] = defaultdict(Decimal)
            for line in books.lines[basis]:
                totals[line.journal_id] += line.amount
            company_id = books.company.company_id
            unbalanced += [(company_id, basis, j) for j, total in totals.items() if total != 0]
    assert unbalanced == []


def test_every_amount_has_two_decimals(companies: tuple[Books, ...]) -> None:
    exponents = {
        line.amount.as_tuple().exponent
        for books in companies
        for basis in BASES
        for line in books.lines[basis]
    }
    assert exponents == {-2}


def test_lines_of_a_journal_share_tags(companies: tuple[Books, ...]) -> None:
    tags: dict[str, set[tuple[str | None, str | None]]] = defaultdict(set)
    for line in companies[0].lines["ACCRUAL"]:
        tags[line.journal_id].add((line.class_id, line.department_id))
    assert {journal_id for journal_id, found in tags.items() if len(found) != 1} == set()


def test_profit_and_loss_lines_are_tagged(companies: tuple[Books, ...]) -> None:
    books = companies[0]
    types = {account.account_id: account.account_type for account in books.accounts}
    untagged = [
        line
        for basis in BASES
        for line in books.lines[basis]
        if types[line.account_id] in PROFIT_AND_LOSS_TYPES
        and (line.class_id is None or line.department_id is None)
    ]
    assert untagged == []


def test_books_span_48_months_before_as_of(companies: tuple[Books, ...]) -> None:
    books = companies[0]
    months = {end_of_month(line.date) for line in books.lines["ACCRUAL"]}
    assert (books.first_month, books.last_month, len(months)) == (
        dt.date(2022, 5, 31),
        dt.date(2026, 4, 30),
        48,
    )


def test_chart_covers_every_account_type(companies: tuple[Books, ...]) -> None:
    assert {account.account_type for account in companies[0].accounts} == set(ACCOUNT_TYPES)


def test_chart_has_hierarchy_and_one_inactive_account(companies: tuple[Books, ...]) -> None:
    accounts = {account.account_id: account for account in companies[0].accounts}
    children = {account_id for account_id, account in accounts.items() if account.parent_id}
    assert children == {"ACC1510", "ACC4010", "ACC4020"}
    assert [a.account_id for a in accounts.values() if not a.is_active] == ["ACC4900"]


def test_parents_belong_to_the_same_statement(companies: tuple[Books, ...]) -> None:
    accounts = {account.account_id: account for account in companies[0].accounts}
    mixed = [
        account.account_id
        for account in accounts.values()
        if account.parent_id
        and accounts[account.parent_id].on_balance_sheet != account.on_balance_sheet
    ]
    assert mixed == []


def test_retained_earnings_has_no_lines_or_category(companies: tuple[Books, ...]) -> None:
    books = companies[0]
    retained = next(a for a in books.accounts if a.account_id == books.retained_earnings_id)
    posted = [
        line for b in BASES for line in books.lines[b] if line.account_id == retained.account_id
    ]
    assert retained.cash_flow_category is None
    assert posted == []


def test_cash_basis_skips_accrual_accounts(companies: tuple[Books, ...]) -> None:
    accrual_only = {"ACC1100", "ACC1200", "ACC2000"}  # receivables, prepaid insurance, payables
    touched = {
        line.account_id
        for books in companies
        for line in books.lines["CASH"]
        if line.account_id in accrual_only
    }
    assert touched == set()


def test_cash_basis_balance_sheet_has_no_receivable_rows(companies: tuple[Books, ...]) -> None:
    books = companies[1]
    rows = Statements(books).balance_sheet(Scope("CASH"), books.first_month, books.last_month)
    assert {row.account_id for row in rows} & {"ACC1100", "ACC1200", "ACC2000"} == set()


def test_accrual_basis_has_receivables(companies: tuple[Books, ...]) -> None:
    books = companies[1]
    rows = Statements(books).balance_sheet(Scope("ACCRUAL"), books.last_month, books.last_month)
    assert {"ACC1100", "ACC2000"} <= {row.account_id for row in rows}


def test_same_seed_gives_same_books() -> None:
    assert generate_books(1, seed=11, as_of=AS_OF) == generate_books(1, seed=11, as_of=AS_OF)


def test_different_seed_gives_different_books() -> None:
    first = generate_books(0, seed=11, as_of=AS_OF)
    second = generate_books(0, seed=12, as_of=AS_OF)
    assert first.lines["ACCRUAL"] != second.lines["ACCRUAL"]


def test_companies_differ(companies: tuple[Books, ...]) -> None:
    headers = [books.company for books in companies]
    assert [c.company_id for c in headers] == ["C001", "C002", "C003", "C004"]
    assert len({c.name for c in headers}) == 4
    assert [c.fiscal_month_end for c in headers] == [12, 6, 3, 9]
    assert [c.currency for c in headers] == ["USD", "CAD", "EUR", "GBP"]


def test_company_names_stay_unique_past_the_name_list() -> None:
    names = [books.company.name for books in generate_companies(12, seed=1, as_of=AS_OF)]
    assert len(set(names)) == 12


def test_budgets_cover_fiscal_year_and_forecast(companies: tuple[Books, ...]) -> None:
    budgets = companies[1].budgets  # fiscal year ends in June
    assert [(b.budget_id, b.name, b.start_date, b.end_date) for b in budgets] == [
        ("BG01", "FY2026 Operating Budget", dt.date(2025, 7, 1), dt.date(2026, 6, 30)),
        ("BG02", "Conservative Forecast", dt.date(2026, 4, 1), dt.date(2027, 3, 31)),
    ]


def test_budget_lines_fall_inside_budget_period(companies: tuple[Books, ...]) -> None:
    outside = [
        line
        for books in companies
        for budget in books.budgets
        for line in books.budget_lines
        if line.budget_id == budget.budget_id
        and not budget.start_date <= line.date <= budget.end_date
    ]
    assert outside == []


def test_every_budget_month_is_planned(companies: tuple[Books, ...]) -> None:
    books = companies[0]
    months = Counter(line.budget_id for line in books.budget_lines if line.account_id == "ACC4010")
    assert months == {"BG01": 12, "BG02": 12}


def test_budget_lines_are_profit_and_loss_accounts(companies: tuple[Books, ...]) -> None:
    books = companies[0]
    types = {account.account_id: account.account_type for account in books.accounts}
    assert {types[line.account_id] for line in books.budget_lines} <= set(PROFIT_AND_LOSS_TYPES)


def test_metric_values_cover_actuals_and_budgets(companies: tuple[Books, ...]) -> None:
    books = companies[0]
    company_level = Counter(
        (value.budget_id, value.metric_id)
        for value in books.metric_values
        if value.class_id is None
    )
    assert company_level == {
        (budget_id, metric_id): 48 if budget_id is None else 12
        for budget_id in (None, "BG01", "BG02")
        for metric_id in ("NF01", "NF02", "NF03")
    }


def test_company_headcount_sums_class_headcounts(companies: tuple[Books, ...]) -> None:
    books = companies[0]
    totals: dict[tuple[dt.date, str | None], Decimal] = defaultdict(Decimal)
    for value in books.metric_values:
        if value.metric_id == "NF01" and value.budget_id is None:
            key = "company" if value.class_id is None else "classes"
            totals[(value.date, key)] += value.value
    mismatched = [
        month
        for (month, key), total in totals.items()
        if key == "company" and total != totals[(month, "classes")]
    ]
    assert mismatched == []
