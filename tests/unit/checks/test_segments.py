from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from checks.segments import segment_checks
from reach_dq.findings import FailureCase, Finding, Outcome
from reach_dq.runner import run_checks
from tests.unit.checks.conftest import insert_rows, month_end
from tests.unit.checks.snapshot_rows import context_for, record_exchange

WITHIN = "accuracy.segments_within_total"
UNASSIGNED = "accuracy.segments_unassigned"
JULY = month_end(2024, 7)

# Company total of July per account, and the figures of each class and department. The
# classes add up to the total; department D1 leaves the rent unassigned.
TOTALS = {"4000": "100.00", "6000": "30.00"}
CLASSES = {"K1": {"4000": "60.00", "6000": "30.00"}, "K2": {"4000": "40.00"}}
DEPARTMENTS = {"D1": {"4000": "100.00"}}


def insert_figures(
    connection: duckdb.DuckDBPyConnection,
    *,
    classes: dict[str, dict[str, str]] = CLASSES,
    departments: dict[str, dict[str, str]] = DEPARTMENTS,
    fetched_classes: tuple[str, ...] | None = None,
) -> None:
    """Insert July's P&L on both bases: the company total, then each class and department."""
    insert_rows(connection, "classes", [
        {"company_id": "C001", "class_id": class_id, "class_name": class_id,
         "parent_class_id": None, "is_active": True}
        for class_id in classes
    ])
    insert_rows(connection, "departments", [
        {"company_id": "C001", "department_id": department_id, "department_name": department_id,
         "parent_department_id": None, "is_active": True}
        for department_id in departments
    ])
    for basis in ("ACCRUAL", "CASH"):
        pnl(connection, basis, TOTALS)
        for class_id, figures in classes.items():
            if fetched_classes is None or class_id in fetched_classes:
                pnl(connection, basis, figures, class_id=class_id)
        for department_id, figures in departments.items():
            pnl(connection, basis, figures, department_id=department_id)


def pnl(
    connection: duckdb.DuckDBPyConnection, basis: str, figures: dict[str, str], **scope: str
) -> None:
    exchange = record_exchange(connection, company_id="C001", dataset="profit_and_loss",
                               basis=basis, start=JULY.replace(day=1), end=JULY, **scope)
    insert_rows(connection, "profit_and_loss", [
        {"exchange_id": exchange, "company_id": "C001", "basis": basis, "account_id": account_id,
         "date": JULY, "amount": Decimal(amount), "class_id": scope.get("class_id"),
         "department_id": scope.get("department_id")}
        for account_id, amount in figures.items()
    ])


def run(
    connection: duckdb.DuckDBPyConnection, **options: Decimal
) -> dict[tuple[str, str], Finding]:
    findings = run_checks(segment_checks(**options), context_for(connection, JULY, JULY))
    return {(finding.check, finding.dataset): finding for finding in findings}


def test_classes_adding_up_pass(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_figures(warehouse)

    findings = run(warehouse)

    assert findings[(WITHIN, "classes")].outcome is Outcome.PASSED
    assert findings[(UNASSIGNED, "classes")].outcome is Outcome.PASSED
    assert findings[(UNASSIGNED, "classes")].message == (
        "Profit and Loss of C001 is fully assigned to classes (4 account-months checked)"
    )


def test_unassigned_remainder_warns_with_size(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_figures(warehouse)

    findings = run(warehouse)

    assert findings[(WITHIN, "departments")].outcome is Outcome.PASSED
    remainder = findings[(UNASSIGNED, "departments")]
    assert remainder.outcome is Outcome.WARNING
    assert remainder.failure_cases == tuple(
        FailureCase(company_id="C001", account_id="6000", date="2024-07-31", basis=basis,
                    field="sum over departments", expected="30.00", actual="0.00",
                    delta="-30.00")
        for basis in ("ACCRUAL", "CASH")
    )


def test_classes_above_total_fail(warehouse: duckdb.DuckDBPyConnection) -> None:
    classes = {"K1": CLASSES["K1"], "K2": {"4000": "50.00"}}
    insert_figures(warehouse, classes=classes)

    findings = run(warehouse)

    within = findings[(WITHIN, "classes")]
    assert within.outcome is Outcome.FAILED
    assert within.failure_cases[0] == FailureCase(
        company_id="C001", account_id="4000", date="2024-07-31", basis="ACCRUAL",
        field="sum over classes", expected="100.00", actual="110.00", delta="10.00",
    )
    assert within.message == (
        "Profit and Loss of C001 summed over classes exceeds the company total: 2 of 4 "
        "account-months; first 4000 2024-07-31 ACCRUAL: sum over classes 110.00, expected "
        "100.00 (delta 10.00)"
    )
    assert findings[(UNASSIGNED, "classes")].outcome is Outcome.PASSED


def test_tolerance_per_row(warehouse: duckdb.DuckDBPyConnection) -> None:
    classes = {"K1": CLASSES["K1"], "K2": {"4000": "40.02"}}
    insert_figures(warehouse, classes=classes)

    # The 4000 figure sums three rows (total, K1, K2): 0.02 is within three cents.
    findings = run(warehouse, tolerance_per_line=Decimal("0.01"))

    assert findings[(WITHIN, "classes")].outcome is Outcome.PASSED


def test_class_not_fetched_not_evaluated(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_figures(warehouse, fetched_classes=("K1",))

    finding = run(warehouse)[(WITHIN, "classes")]

    assert finding.outcome is Outcome.NOT_EVALUATED
    assert finding.message == (
        "cannot check C001: the Profit and Loss of the company or of some of its 2 classes did "
        "not return 2xx on any basis"
    )


def test_company_without_classes_not_evaluated(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_figures(warehouse, classes={})

    finding = run(warehouse)[(UNASSIGNED, "classes")]

    assert finding.message == "cannot check C001: it lists no classes"


@pytest.mark.parametrize("count", [51])
def test_too_many_classes_not_evaluated(warehouse: duckdb.DuckDBPyConnection, count: int) -> None:
    insert_figures(warehouse, classes={f"K{n:02d}": {} for n in range(count)}, fetched_classes=())

    finding = run(warehouse)[(WITHIN, "classes")]

    assert finding.message == (
        "cannot check C001: it lists 51 classes, more than the 50 whose Profit and Loss the "
        "fetch requests"
    )
