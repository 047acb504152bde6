from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from reach_dq.datasets import BASES
from reach_dq.exceptions import ConfigError
from reach_dq.partner.ledger import ADDED_RETAINED_EARNINGS, load_ledger
from reach_dq.partner.months import month_ends
from reach_dq.partner.statements import Scope, StatementRow, Statements

from .identities import Row, identity_breaks

ORGANISATION_ID = "dab0e928-c82f-4c46-83fd-36ee9674d745"


@pytest.fixture(scope="module")
def ledger_statements(xero_ledger: Path) -> Statements:
    return Statements(load_ledger(xero_ledger))


def test_ledger_counts(ledger_statements: Statements) -> None:
    books = ledger_statements.books
    assert len(books.accounts) == 71
    assert len(books.lines["ACCRUAL"]) == 4033


def test_ledger_company(ledger_statements: Statements) -> None:
    company = ledger_statements.books.company
    assert (company.company_id, company.name, company.fiscal_month_end, company.currency) == (
        ORGANISATION_ID,
        "Xero demo organisation",
        2,
        "CAD",
    )


def test_ledger_months(ledger_statements: Statements) -> None:
    books = ledger_statements.books
    assert (books.first_month, books.last_month) == (dt.date(2019, 10, 31), dt.date(2021, 3, 31))


def test_cash_basis_serves_accrual_lines(ledger_statements: Statements) -> None:
    books = ledger_statements.books
    assert books.lines["CASH"] == books.lines["ACCRUAL"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("BMO Business", ("100", "ASSET", "CASH")),
        ("Business American Express", (None, "ASSET", "CASH")),
        ("Accounts Receivable", ("610", "ASSET", "OPERATING")),
        ("Inventory", ("630", "ASSET", "OPERATING")),
        ("Computer Hardware", ("110", "ASSET", "INVESTING")),
        ("Owner A Drawings", ("880", "LIABILITY", "OPERATING")),
        ("Loan", ("900", "LIABILITY", "FINANCING")),
        ("Owner A Share Capital", ("970", "EQUITY", "FINANCING")),
        ("Retained Earnings", ("960", "EQUITY", None)),
        ("Sales", ("200", "REVENUE", None)),
        ("Cost of Goods Sold", ("310", "COST_OF_SALES", None)),
        ("Rent", ("469", "EXPENSE", None)),
    ],
)
def test_xero_type_mapping(
    ledger_statements: Statements, name: str, expected: tuple[str | None, str, str | None]
) -> None:
    account = next(a for a in ledger_statements.books.accounts if a.name == name)
    assert (account.number, account.account_type, account.cash_flow_category) == expected


def test_ledger_accounts_are_active_and_flat(ledger_statements: Statements) -> None:
    accounts = ledger_statements.books.accounts
    assert {(a.is_active, a.parent_id) for a in accounts} == {(True, None)}


def test_ledger_has_no_reference_lists(ledger_statements: Statements) -> None:
    books = ledger_statements.books
    assert (books.classes, books.departments, books.budgets, books.metrics) == ((), (), (), ())


@pytest.mark.parametrize("basis", BASES)
def test_ledger_identities_hold_every_month(ledger_statements: Statements, basis: str) -> None:
    books = ledger_statements.books
    start, end = dt.date(2019, 10, 1), dt.date(2021, 3, 31)
    scope = Scope(basis)
    chart = {a.account_id: (a.account_type, a.cash_flow_category) for a in books.accounts}

    def rows(found: list[StatementRow]) -> list[Row]:
        return [Row(r.account_id, r.date, r.amount) for r in found]

    months = list(month_ends(start, end))
    breaks = identity_breaks(
        chart,
        2,
        months,
        rows(ledger_statements.profit_and_loss(scope, start, end)),
        rows(ledger_statements.balance_sheet(scope, start, end)),
        rows(ledger_statements.cash_flow(scope, start, end)),
    )
    assert len(months) == 18
    assert breaks == []


def test_ledger_revenue_of_november_2019(ledger_statements: Statements) -> None:
    month = dt.date(2019, 11, 30)
    rows = ledger_statements.profit_and_loss(Scope("ACCRUAL"), month, month)
    types = {a.account_id: a.account_type for a in ledger_statements.books.accounts}
    revenue = sum(row.amount for row in rows if types[row.account_id] == "REVENUE")
    assert str(revenue) == "49381.37"


# A small synthetic export in the same layout, to check the loader's errors.
TABLES = {
    "xero_organization_data.csv": [
        ["organisation_id", "financial_year_end_month", "financial_year_end_day"],
        ["org-1", "6", "30"],
    ],
    "xero_account_data.csv": [
        ["account_id", "name", "code", "type", "class", "_fivetran_synced"],
        ["a-bank", "Bank", "100", "BANK", "ASSET", ""],
        ["a-sales", "Sales", "200", "REVENUE", "REVENUE", ""],
    ],
    "xero_journal_data.csv": [["journal_id", "journal_date"], ["j-1", "2024-03-05"]],
    "xero_journal_line_data.csv": [
        ["journal_line_id", "journal_id", "account_id", "net_amount"],
        ["l-1", "j-1", "a-bank", "100.5"],
        ["l-2", "j-1", "a-sales", "-100.5"],
    ],
}


def _write(folder: Path, tables: dict[str, list[list[str]]]) -> Path:
    for name, rows in tables.items():
        with (folder / name).open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
    return folder


def test_missing_retained_earnings_is_added(tmp_path: Path) -> None:
    books = load_ledger(_write(tmp_path, TABLES))
    assert books.retained_earnings_id == ADDED_RETAINED_EARNINGS.account_id
    assert ADDED_RETAINED_EARNINGS in books.accounts


def test_amounts_get_two_decimals(tmp_path: Path) -> None:
    books = load_ledger(_write(tmp_path, TABLES))
    assert [str(line.amount) for line in books.lines["ACCRUAL"]] == ["100.50", "-100.50"]


def test_missing_folder_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist or is not a directory"):
        load_ledger(tmp_path / "absent")


def test_missing_file_is_named(tmp_path: Path) -> None:
    tables = {name: rows for name, rows in TABLES.items() if name != "xero_journal_data.csv"}
    with pytest.raises(ConfigError, match="lacks the file 'xero_journal_data.csv'"):
        load_ledger(_write(tmp_path, tables))


def test_missing_column_is_named(tmp_path: Path) -> None:
    journals = [["journal_id", "date"], ["j-1", "2024-03-05"]]
    tables = dict(TABLES, **{"xero_journal_data.csv": journals})
    with pytest.raises(ConfigError, match=r"lacks the columns \['journal_date'\]"):
        load_ledger(_write(tmp_path, tables))


def test_unknown_xero_type_names_type_and_account(tmp_path: Path) -> None:
    accounts = [*TABLES["xero_account_data.csv"], ["a-odd", "Odd", "", "MYSTERY", "", ""]]
    tables = dict(TABLES, **{"xero_account_data.csv": accounts})
    message = r"account 'Odd' \(a-odd\) has the unknown Xero type 'MYSTERY'"
    with pytest.raises(ConfigError, match=message):
        load_ledger(_write(tmp_path, tables))


def test_unbalanced_journal_is_config_error(tmp_path: Path) -> None:
    lines = [*TABLES["xero_journal_line_data.csv"], ["l-3", "j-1", "a-bank", "0.01"]]
    tables = dict(TABLES, **{"xero_journal_line_data.csv": lines})
    with pytest.raises(ConfigError, match="journal 'j-1' does not balance: its lines sum to 0.01"):
        load_ledger(_write(tmp_path, tables))


def test_three_decimal_amount_is_config_error(tmp_path: Path) -> None:
    lines = [
        TABLES["xero_journal_line_data.csv"][0],
        ["l-1", "j-1", "a-bank", "1.005"],
        ["l-2", "j-1", "a-sales", "-1.005"],
    ]
    tables = dict(TABLES, **{"xero_journal_line_data.csv": lines})
    with pytest.raises(ConfigError, match="at most two decimal places"):
        load_ledger(_write(tmp_path, tables))


def test_line_with_unknown_account_is_config_error(tmp_path: Path) -> None:
    lines = [
        TABLES["xero_journal_line_data.csv"][0],
        ["l-1", "j-1", "a-gone", "1"],
        ["l-2", "j-1", "a-sales", "-1"],
    ]
    tables = dict(TABLES, **{"xero_journal_line_data.csv": lines})
    with pytest.raises(ConfigError, match="journal line 'l-1' names the unknown account 'a-gone'"):
        load_ledger(_write(tmp_path, tables))


def test_invalid_fiscal_month_end_is_config_error(tmp_path: Path) -> None:
    organisation = [TABLES["xero_organization_data.csv"][0], ["org-1", "13", "30"]]
    tables = dict(TABLES, **{"xero_organization_data.csv": organisation})
    with pytest.raises(ConfigError, match="financial_year_end_month .* must be 1..12, got '13'"):
        load_ledger(_write(tmp_path, tables))


def test_balances_carry_forward_past_last_journal(xero_ledger: Path) -> None:
    statements = Statements(load_ledger(xero_ledger, as_of=dt.date(2026, 12, 4)))
    scope = Scope("ACCRUAL")
    chart = {a.account_id: (a.account_type, a.cash_flow_category) for a in statements.books.accounts}
    start, end = dt.date(2019, 10, 1), dt.date(2026, 11, 30)
    march_2021 = {r.account_id: r.amount for r in statements.balance_sheet(scope, start, end) if r.date == dt.date(2021, 3, 31)}
    november_2026 = {r.account_id: r.amount for r in statements.balance_sheet(scope, start, end) if r.date == dt.date(2026, 11, 30)}
    retained = statements.books.retained_earnings_id

    assert statements.books.last_month == dt.date(2026, 11, 30)
    assert statements.profit_and_loss(scope, dt.date(2021, 4, 1), end) == []
    assert {k: v for k, v in november_2026.items() if k != retained} == {k: v for k, v in march_2021.items() if k != retained}
    breaks = identity_breaks(
        chart,
        2,
        list(month_ends(start, end)),
        [Row(r.account_id, r.date, r.amount) for r in statements.profit_and_loss(scope, start, end)],
        [Row(r.account_id, r.date, r.amount) for r in statements.balance_sheet(scope, start, end)],
        [Row(r.account_id, r.date, r.amount) for r in statements.cash_flow(scope, start, end)],
    )
    assert breaks == []
