"""Accuracy and freshness verdicts on a company whose fetch failed in part become not_evaluated."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from checks.partial_fetch import failed_operations_by_company, set_aside_partial_companies
from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.warehouse.warehouse import FailedOperation, Warehouse

SNAPSHOT = "s1"


def _failure(operation_id: str, company_id: str | None) -> FailedOperation:
    return FailedOperation(
        operation_id=operation_id,
        dataset="chart_of_accounts",
        company_id=company_id,
        method="GET",
        path=f"/companies/{company_id}/chart-of-accounts",
        error="HTTP 503 after 3 attempts",
    )


@pytest.fixture()
def warehouse() -> Iterator[Warehouse]:
    with Warehouse.open(":memory:") as opened:
        yield opened


def _unknown_account(company_id: str) -> Finding:
    return Finding(
        "accuracy.known_ids",
        Category.ACCURACY,
        "balance_sheet",
        Outcome.FAILED,
        f"{company_id} uses 36 account ids that its chart of accounts does not list",
        company_id,
        failure_count=36,
        failure_cases=(FailureCase(company_id=company_id, account_id="ACC1000"),),
    )


def test_failed_operations_grouped_by_company(warehouse: Warehouse) -> None:
    warehouse.record_failed_operation(SNAPSHOT, _failure("listChartOfAccounts", "C001"))
    warehouse.record_failed_operation(SNAPSHOT, _failure("getBalanceSheet", "C001"))
    warehouse.record_failed_operation(SNAPSHOT, _failure("getUserInfo", None))
    warehouse.record_failed_operation("s0", _failure("getCashFlow", "C002"))

    failed = failed_operations_by_company(warehouse.connection, SNAPSHOT)

    assert failed == {"C001": ["getBalanceSheet", "listChartOfAccounts"]}


def test_failed_accuracy_verdict_becomes_not_evaluated() -> None:
    [finding] = set_aside_partial_companies(
        [_unknown_account("C001")], {"C001": ["listChartOfAccounts"]}
    )

    assert finding.outcome is Outcome.NOT_EVALUATED


def test_set_aside_reason_names_operations_and_keeps_message() -> None:
    [finding] = set_aside_partial_companies(
        [_unknown_account("C001")], {"C001": ["getBalanceSheet", "listChartOfAccounts"]}
    )

    assert finding.message == (
        "not judged: requests of C001 failed for good (getBalanceSheet, listChartOfAccounts), "
        "so the data to compare is incomplete; on what arrived the check said: "
        "C001 uses 36 account ids that its chart of accounts does not list"
    )


def test_set_aside_verdict_drops_failure_cases() -> None:
    [finding] = set_aside_partial_companies(
        [_unknown_account("C001")], {"C001": ["listChartOfAccounts"]}
    )

    assert (finding.failure_count, finding.failure_cases) == (0, ())


def test_other_company_keeps_failed_verdict() -> None:
    original = _unknown_account("C002")

    [finding] = set_aside_partial_companies([original], {"C001": ["listChartOfAccounts"]})

    assert finding is original


def test_passed_verdict_stays_passed() -> None:
    original = Finding(
        "freshness.last_closed_month", Category.FRESHNESS, "profit_and_loss", Outcome.PASSED,
        "C001 has actuals for 2026-10-31", "C001",
    )

    [finding] = set_aside_partial_companies([original], {"C001": ["getBalanceSheet"]})

    assert finding is original


@pytest.mark.parametrize("category", [Category.FORMATTING, Category.RELIABILITY, Category.SECURITY])
def test_verdicts_on_what_arrived_stay_failed(category: Category) -> None:
    original = Finding(
        "contract.response_schema", category, "balance_sheet", Outcome.FAILED,
        "a body of C001 breaks its schema", "C001",
    )

    [finding] = set_aside_partial_companies([original], {"C001": ["getBalanceSheet"]})

    assert finding is original


def test_warning_freshness_verdict_becomes_not_evaluated() -> None:
    original = Finding(
        "freshness.restatements", Category.FRESHNESS, "profit_and_loss", Outcome.WARNING,
        "C001 restated 2026-08-31", "C001",
    )

    [finding] = set_aside_partial_companies([original], {"C001": ["getProfitAndLoss"]})

    assert finding.outcome is Outcome.NOT_EVALUATED
