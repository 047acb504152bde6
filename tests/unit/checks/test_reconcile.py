from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from checks.reconcile import reconcile_checks
from reach_dq.findings import FailureCase, Finding, Outcome
from reach_dq.runner import run_checks
from tests.unit.checks.conftest import Books, build_books, insert_rows, month_end
from tests.unit.checks.snapshot_rows import context_for, insert_company_books, rows_of

CHECK = "accuracy.expected_figures"
FIRST, LAST = month_end(2024, 6), month_end(2024, 8)
JULY = month_end(2024, 7)
HEADER = "company_id,account,date,basis,amount,statement\n"


@pytest.fixture
def books(warehouse: duckdb.DuckDBPyConnection) -> Books:
    company_books = build_books("C001", fiscal_month_end=12, first_month=FIRST, last_month=LAST)
    insert_company_books(warehouse, company_books, last_month=LAST)
    return company_books


def export(books: Books, table: str, date: object = JULY, basis: str = "ACCRUAL") -> list[str]:
    """Return CSV lines of the served figures, as the partner's own system would export them."""
    return [
        f"C001,{row['account_id']},{row['date'].isoformat()},{basis},{row['amount']},"
        for row in rows_of(books, table, date=date, basis=basis)
    ]


def run(
    connection: duckdb.DuckDBPyConnection, path: Path | None
) -> dict[tuple[str | None, str], Finding]:
    context = context_for(connection, FIRST, LAST, expected_path=path)
    return {(f.company_id, f.dataset): f for f in run_checks(reconcile_checks(), context)}


def write(tmp_path: Path, lines: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "expected.csv"
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_matching_figures_pass(
    warehouse: duckdb.DuckDBPyConnection, books: Books, tmp_path: Path
) -> None:
    path = write(tmp_path, export(books, "profit_and_loss") + export(books, "balance_sheet"))

    findings = run(warehouse, path)

    assert {key: f.outcome for key, f in findings.items()} == {
        ("C001", "profit_and_loss"): Outcome.PASSED,
        ("C001", "balance_sheet"): Outcome.PASSED,
    }
    assert findings[("C001", "profit_and_loss")].message == (
        "profit_and_loss of C001 matches the expected file in all 5 compared figures"
    )


def test_two_differing_accounts_listed_with_both_values(
    warehouse: duckdb.DuckDBPyConnection, books: Books, tmp_path: Path
) -> None:
    lines = export(books, "profit_and_loss")
    changed = []
    for line in lines:
        company, account, date, basis, amount, statement = line.split(",")
        if account in ("4000", "8000"):
            line = f"{company},{account},{date},{basis},{Decimal(amount) + Decimal('1.50')},"
        changed.append(line)
    path = write(tmp_path, changed)

    finding = run(warehouse, path)[("C001", "profit_and_loss")]

    sales = rows_of(books, "profit_and_loss", account_id="4000", date=JULY, basis="ACCRUAL")[0]
    interest = rows_of(books, "profit_and_loss", account_id="8000", date=JULY, basis="ACCRUAL")[0]
    assert finding.outcome is Outcome.FAILED
    assert finding.failure_cases == (
        FailureCase(company_id="C001", account_id="4000", date="2024-07-31", basis="ACCRUAL",
                    field="Amount", expected=f"{sales['amount'] + Decimal('1.50'):.2f}",
                    actual=f"{sales['amount']:.2f}", delta="-1.50"),
        FailureCase(company_id="C001", account_id="8000", date="2024-07-31", basis="ACCRUAL",
                    field="Amount", expected=f"{interest['amount'] + Decimal('1.50'):.2f}",
                    actual=f"{interest['amount']:.2f}", delta="-1.50"),
    )
    assert finding.message.startswith(
        "profit_and_loss of C001 differs from the expected file in 2 of 5 compared figures; "
        "first 4000 2024-07-31 ACCRUAL: Amount "
    )


def test_account_number_and_missing_row(
    warehouse: duckdb.DuckDBPyConnection, books: Books, tmp_path: Path
) -> None:
    warehouse.execute(
        "UPDATE chart_of_accounts SET account_number = 'AR-1' WHERE account_id = '1100'"
    )
    # The CASH balance sheet has no receivables row, which counts as zero.
    path = write(tmp_path, ["C001,AR-1,2024-07-31,CASH,0.00,", "C001,AR-1,2024-08-31,CASH,5,"])

    finding = run(warehouse, path)[("C001", "balance_sheet")]

    assert finding.failure_cases == (
        FailureCase(company_id="C001", account_id="1100", date="2024-08-31", basis="CASH",
                    field="Amount", expected="5.00", actual="0.00", delta="-5.00"),
    )


def test_unknown_account_fails_on_chart(
    warehouse: duckdb.DuckDBPyConnection, books: Books, tmp_path: Path
) -> None:
    path = write(tmp_path, ["C001,9999,2024-07-31,CASH,1,"])

    finding = run(warehouse, path)[("C001", "chart_of_accounts")]

    assert finding.outcome is Outcome.FAILED
    assert finding.failure_cases == (
        FailureCase(company_id="C001", account_id="9999", date="2024-07-31", basis="CASH",
                    field="account",
                    expected="an AccountId or AccountNumber listed by the chart of accounts",
                    actual="9999 (line 2 of the expected file)"),
    )


def test_figures_outside_fetched_months_not_compared(
    warehouse: duckdb.DuckDBPyConnection, books: Books, tmp_path: Path
) -> None:
    path = write(tmp_path, [*export(books, "profit_and_loss"), "C001,4000,2023-01-31,CASH,1,"])

    findings = run(warehouse, path)

    assert findings[("C001", "profit_and_loss")].message == (
        "profit_and_loss of C001 matches the expected file in all 5 compared figures; 1 figure "
        "outside the fetched months or bases were not compared"
    )


def test_cash_flow_statement_column(
    warehouse: duckdb.DuckDBPyConnection, books: Books, tmp_path: Path
) -> None:
    [row] = rows_of(books, "cash_flow", account_id="2500", date=JULY, basis="CASH")
    path = write(tmp_path, [f"C001,2500,2024-07-31,CASH,{row['amount']},cash_flow"])

    finding = run(warehouse, path)[("C001", "cash_flow")]

    assert finding.outcome is Outcome.PASSED


def test_rows_without_company_need_single_company(
    warehouse: duckdb.DuckDBPyConnection, books: Books, tmp_path: Path
) -> None:
    insert_rows(warehouse, "user_info", [{"company_id": "C002", "company_name": "Other"}])
    path = write(tmp_path, ["4000,2024-07-31,CASH,1"], header="account,date,basis,amount\n")

    findings = run(warehouse, path)

    assert {f.outcome for f in findings.values()} == {Outcome.NOT_EVALUATED}
    assert findings[(None, "profit_and_loss")].message == (
        "check could not run: CheckRunError: the expected file has rows without company_id "
        "and the snapshot has 2 companies; add a company_id column"
    )


def test_company_not_in_snapshot_not_evaluated(
    warehouse: duckdb.DuckDBPyConnection, books: Books, tmp_path: Path
) -> None:
    path = write(tmp_path, ["C404,4000,2024-07-31,CASH,1,"])

    finding = run(warehouse, path)[("C404", "company")]

    assert finding.outcome is Outcome.NOT_EVALUATED
    assert finding.message == "company 'C404' of the expected file is not in the snapshot"


def test_without_expected_file_no_finding(
    warehouse: duckdb.DuckDBPyConnection, books: Books
) -> None:
    assert run(warehouse, None) == {}
