"""Each accuracy fault changes exactly the rows its description names, for the target only."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from reach_dq.partner.books import Books
from reach_dq.partner.faults import FAULTS
from reach_dq.partner.faults.accuracy import ACCURACY_FAULTS, ORPHAN_ACCOUNT_ID
from reach_dq.partner.faults.base import FaultRequest
from reach_dq.partner.months import add_months
from reach_dq.partner.payloads import company_body, statement_item
from reach_dq.partner.statements import Scope, Statements

Body = dict[str, Any]


@pytest.fixture(scope="module")
def statements(companies: tuple[Books, ...]) -> Statements:
    return Statements(companies[0])  # C001, books from May 2022 to April 2026


def target_month(statements: Statements) -> dt.date:
    return add_months(statements.books.last_month, -3)  # 31 January 2026


def body_of(statements: Statements, operation_id: str, scope: Scope) -> Body:
    compute = {
        "getProfitAndLoss": statements.profit_and_loss,
        "getBalanceSheet": statements.balance_sheet,
        "getCashFlow": statements.cash_flow,
    }[operation_id]
    rows = compute(scope, statements.books.first_month, statements.books.last_month)
    return {"Data": [statement_item(row) for row in rows]}


def apply(
    name: str,
    statements: Statements,
    operation_id: str,
    *,
    basis: str = "ACCRUAL",
    target: bool = True,
    class_id: str | None = None,
) -> tuple[Body, Body]:
    """Return the clean body and the body the fault sends for one statement request."""
    clean = body_of(statements, operation_id, Scope(basis, class_id=class_id))
    request = FaultRequest(
        operation_id=operation_id,
        books=statements.books,
        target_company=target,
        target_month=target_month(statements),
        basis=basis,
        class_id=class_id,
        start_date=statements.books.first_month.replace(day=1),
        end_date=statements.books.last_month,
    )
    return clean, FAULTS[name].apply(request, copy.deepcopy(clean))


def changed_rows(clean: Body, faulty: Body) -> tuple[list[Any], list[Any]]:
    """Return the rows only in the clean body and the rows only in the faulty body."""
    before = [row for row in clean["Data"] if row not in faulty["Data"]]
    after = [row for row in faulty["Data"] if row not in clean["Data"]]
    return before, after


def row(account_id: str, date: dt.date, amount: str) -> dict[str, Any]:
    return {"AccountId": account_id, "Date": date, "Amount": Decimal(amount)}


def test_every_accuracy_fault_is_registered() -> None:
    assert [fault.name for fault in ACCURACY_FAULTS] == [
        "unbalanced-month", "wrong-fiscal-month-end", "cash-flow-missing-account",
        "accrual-balance-on-cash-basis", "orphan-account-id", "pnl-account-on-balance-sheet",
        "missing-month", "class-total-above-company-total", "restated-closed-month",
        "stale-last-month",
    ]
    assert all(FAULTS[fault.name] is fault for fault in ACCURACY_FAULTS)


@pytest.mark.parametrize("fault", ACCURACY_FAULTS, ids=lambda fault: fault.name)
def test_other_companies_are_untouched(statements: Statements, fault: Any) -> None:
    for operation_id in fault.operation_ids:
        if operation_id == "getCompany":
            continue
        clean, faulty = apply(fault.name, statements, operation_id, target=False)
        assert faulty == clean


def test_unbalanced_month_raises_equipment(statements: Statements) -> None:
    clean, faulty = apply("unbalanced-month", statements, "getBalanceSheet", basis="CASH")

    month = target_month(statements)
    [before] = [r for r in clean["Data"] if r["AccountId"] == "ACC1500" and r["Date"] == month]
    assert changed_rows(clean, faulty) == (
        [before], [row("ACC1500", month, str(before["Amount"] + Decimal("100.00")))]
    )


def test_wrong_fiscal_month_end_moves_one_month(statements: Statements) -> None:
    request = FaultRequest("getCompany", statements.books, True, target_month(statements))
    body = company_body(statements.books.company)

    assert FAULTS["wrong-fiscal-month-end"].apply(request, dict(body))["FiscalMonthEnd"] == 1
    assert body["FiscalMonthEnd"] == 12


def test_cash_flow_missing_account_drops_receivables_row(statements: Statements) -> None:
    clean, faulty = apply("cash-flow-missing-account", statements, "getCashFlow")

    before, after = changed_rows(clean, faulty)
    assert [(r["AccountId"], r["Date"]) for r in before] == [("ACC1100", target_month(statements))]
    assert after == []


def test_accrual_balance_only_on_cash_basis(statements: Statements) -> None:
    clean, faulty = apply("accrual-balance-on-cash-basis", statements, "getBalanceSheet",
                          basis="CASH")
    accrual_clean, accrual_faulty = apply("accrual-balance-on-cash-basis", statements,
                                          "getBalanceSheet")

    added = row("ACC1100", target_month(statements), "1000.00")
    assert changed_rows(clean, faulty) == ([], [added])
    assert accrual_faulty == accrual_clean


def test_orphan_account_renames_first_row(statements: Statements) -> None:
    clean, faulty = apply("orphan-account-id", statements, "getProfitAndLoss")

    before, after = changed_rows(clean, faulty)
    assert [(r["AccountId"], r["Date"]) for r in before] == [("ACC4010", target_month(statements))]
    assert after == [{**before[0], "AccountId": ORPHAN_ACCOUNT_ID}]


def test_revenue_row_added_to_balance_sheet(statements: Statements) -> None:
    clean, faulty = apply("pnl-account-on-balance-sheet", statements, "getBalanceSheet")

    added = row("ACC4000", target_month(statements), "1000.00")
    assert changed_rows(clean, faulty) == ([], [added])


@pytest.mark.parametrize(
    ("name", "month"),
    [("missing-month", dt.date(2026, 1, 31)), ("stale-last-month", dt.date(2026, 4, 30))],
)
@pytest.mark.parametrize("operation_id", ["getProfitAndLoss", "getBalanceSheet", "getCashFlow"])
def test_month_dropped_from_every_statement(
    statements: Statements, name: str, month: dt.date, operation_id: str
) -> None:
    clean, faulty = apply(name, statements, operation_id, class_id=None)

    before, after = changed_rows(clean, faulty)
    assert {r["Date"] for r in before} == {month}
    assert len(before) == len([r for r in clean["Data"] if r["Date"] == month])
    assert after == []


def test_stale_last_month_also_drops_class_rows(statements: Statements) -> None:
    clean, faulty = apply("stale-last-month", statements, "getProfitAndLoss", class_id="CL02")

    before, _ = changed_rows(clean, faulty)
    assert {r["Date"] for r in before} == {statements.books.last_month}


def test_first_class_raised_above_company(statements: Statements) -> None:
    clean, faulty = apply("class-total-above-company-total", statements, "getProfitAndLoss",
                          class_id="CL01")
    other_clean, other_faulty = apply("class-total-above-company-total", statements,
                                      "getProfitAndLoss", class_id="CL02")

    before, after = changed_rows(clean, faulty)
    assert [(r["AccountId"], r["Date"]) for r in before] == [("ACC4010", target_month(statements))]
    assert after[0]["Amount"] - before[0]["Amount"] == Decimal("500.00")
    assert other_faulty == other_clean


def test_restated_month_changes_one_accrual_amount(statements: Statements) -> None:
    clean, faulty = apply("restated-closed-month", statements, "getProfitAndLoss")
    cash_clean, cash_faulty = apply("restated-closed-month", statements, "getProfitAndLoss",
                                    basis="CASH")

    before, after = changed_rows(clean, faulty)
    assert [(r["AccountId"], r["Date"]) for r in before] == [("ACC4010", target_month(statements))]
    assert after[0]["Amount"] - before[0]["Amount"] == Decimal("100.00")
    assert cash_faulty == cash_clean
