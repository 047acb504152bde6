from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest

from checks.rules import Rule, case_text, counted, describe, run_rule
from checks.sql import query
from reach_dq.findings import Category, FailureCase, Outcome
from tests.unit.checks.conftest import insert_rows, month_end
from tests.unit.checks.snapshot_rows import context_for

JULY = month_end(2024, 7)

# Every P&L row of the snapshot is checked, and each negative amount is a failure case.
NEGATIVE_AMOUNTS = Rule(
    check="test.negative_amounts",
    category=Category.ACCURACY,
    datasets=("profit_and_loss", "cash_flow"),
    checked_sql="SELECT company_id, 'profit_and_loss', count(*) FROM profit_and_loss "
                "WHERE snapshot_id = $snapshot_id GROUP BY company_id",
    cases_sql="SELECT company_id, 'profit_and_loss' AS dataset, account_id, date, basis, "
              "'Amount' AS field, 0 AS expected, amount AS actual, amount AS delta "
              "FROM profit_and_loss WHERE snapshot_id = $snapshot_id AND amount < $floor",
    unit="row",
    passed="{dataset} of {company}: no negative amount ({counted} checked)",
    failed="{dataset} of {company}: negative amounts: {failures} of {counted}; first {first}",
    missing="cannot check {company}: no {dataset} rows",
)


def pnl_rows(count: int, amount: str) -> list[dict[str, object]]:
    return [
        {"company_id": "C001", "basis": "ACCRUAL", "account_id": f"{4000 + n}", "date": JULY,
         "amount": Decimal(amount)}
        for n in range(count)
    ]


def test_cases_capped_with_their_total(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_rows(warehouse, "profit_and_loss", pnl_rows(25, "-1.50") + pnl_rows(3, "2"))

    findings = run_rule(NEGATIVE_AMOUNTS, context_for(warehouse, JULY, JULY), {"floor": 0})

    [pnl, cash_flow] = findings
    assert pnl.outcome is Outcome.FAILED
    assert pnl.failure_count == 25
    assert len(pnl.failure_cases) == 20
    assert [case.account_id for case in pnl.failure_cases[:2]] == ["4000", "4001"]
    assert pnl.message == (
        "profit_and_loss of C001: negative amounts: 25 of 28 rows; first 4000 2024-07-31 "
        "ACCRUAL: Amount -1.50, expected 0 (delta -1.50)"
    )
    assert (cash_flow.outcome, cash_flow.message) == (
        Outcome.NOT_EVALUATED, "cannot check C001: no cash_flow rows"
    )


def test_rule_without_cases_passes(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_rows(warehouse, "profit_and_loss", pnl_rows(1, "2"))

    [pnl, _] = run_rule(NEGATIVE_AMOUNTS, context_for(warehouse, JULY, JULY), {"floor": 0})

    assert (pnl.outcome, pnl.message) == (
        Outcome.PASSED, "profit_and_loss of C001: no negative amount (1 row checked)"
    )


def test_query_passes_only_the_parameters_it_uses() -> None:
    connection = duckdb.connect()
    rows = query(connection, "SELECT $first_month, $first_month", {"first_month": 1, "unused": 2})
    assert rows == [(1, 1)]


@pytest.mark.parametrize(
    ("number", "unit", "text"),
    [(1, "row", "1 row"), (2, "row", "2 rows"), (2, "month-basis", "2 month-bases"),
     (0, "account-month", "0 account-months")],
)
def test_counted_pluralises(number: int, unit: str, text: str) -> None:
    assert counted(number, unit) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("-1250.0000000000"), "-1250.00"), (Decimal("0.0050000000"), "0.005"),
     (dt.date(2024, 2, 29), "2024-02-29"), (None, None), (7, "7")],
)
def test_case_text_keeps_exact_values(value: object, text: str | None) -> None:
    assert case_text(value) == text


def test_describe_without_place_or_delta() -> None:
    case = FailureCase(company_id="C001", field="ParentClassId", expected="no cycle",
                       actual="K1 -> K1")
    assert describe(case) == "ParentClassId K1 -> K1, expected no cycle"
