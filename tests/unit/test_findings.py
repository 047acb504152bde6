from __future__ import annotations

from reach_dq.datasets import BY_NAME
from reach_dq.findings import (
    MAX_FAILURE_CASES,
    Category,
    FailureCase,
    Finding,
    Outcome,
    outcome_for,
    request_scope,
)
from reach_dq.warehouse.ddl import scope_columns


def test_failure_cases_capped_but_count_kept() -> None:
    cases = tuple(FailureCase(company_id="C001", date=f"2025-01-{day:02d}") for day in range(1, 31))
    finding = Finding("c", Category.ACCURACY, "balance_sheet", Outcome.FAILED, "m", failure_count=30, failure_cases=cases)
    assert len(finding.failure_cases) == MAX_FAILURE_CASES
    assert finding.to_dict()["failure_count"] == 30


def test_failure_case_dict_omits_absent_keys() -> None:
    case = FailureCase(company_id="C001", delta="0.01")
    assert case.to_dict() == {"company_id": "C001", "delta": "0.01"}


def test_zero_rows_is_not_evaluated() -> None:
    assert outcome_for(0, 0) is Outcome.NOT_EVALUATED


def test_failures_fail_and_clean_rows_pass() -> None:
    assert outcome_for(2, 10) is Outcome.FAILED
    assert outcome_for(0, 10) is Outcome.PASSED
    assert outcome_for(1, 10, failing=Outcome.WARNING) is Outcome.WARNING


def test_request_scope_names_each_parameter() -> None:
    assert request_scope(None, None, None) is None
    assert request_scope("BG01", None, None) == "budget BG01"
    assert request_scope(None, "CL01", "DP02") == "class CL01, department DP02"


def test_scope_columns_only_for_request_context() -> None:
    assert scope_columns(BY_NAME["profit_and_loss"]) == ("budget_id", "class_id", "department_id")
    assert scope_columns(BY_NAME["non_financial_values"]) == (
        "budget_id", "class_id", "department_id"
    )
    assert scope_columns(BY_NAME["budgets"]) is None  # there budget_id is the record's id
