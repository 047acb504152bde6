from __future__ import annotations

from decimal import Decimal

from reach_dq.findings import FailureCase
from reach_dq.golive.stability import _describe, compare_rows


def test_identical_pulls_have_no_cases() -> None:
    rows = [("ACC1", "2026-01-31", Decimal("10.00"))]

    assert compare_rows(rows, list(rows), "C001", "ACCRUAL") == []


def test_trailing_zero_is_not_a_difference() -> None:
    assert compare_rows([("A", "2026-01-31", Decimal("10.0"))], [("A", "2026-01-31", Decimal("10.00"))],
                        "C001", "CASH") == []


def test_changed_amount_is_a_case_with_delta() -> None:
    first = [("ACC1", "2026-01-31", Decimal("105272.24"))]
    second = [("ACC1", "2026-01-31", Decimal("105272.25"))]

    [case] = compare_rows(first, second, "C001", "ACCRUAL")

    assert (case.account_id, case.date, case.basis) == ("ACC1", "2026-01-31", "ACCRUAL")
    assert (case.expected, case.actual, case.delta) == ("105272.24", "105272.25", "0.01")


def test_row_missing_from_second_pull_is_a_case() -> None:
    [case] = compare_rows([("ACC1", "2026-01-31", Decimal("5"))], [], "C001", "CASH")

    assert (case.expected, case.actual, case.delta) == ("5", "missing", "-5")


def test_changed_row_described_by_account() -> None:
    case = FailureCase(company_id="C001", account_id="ACC1", date="2026-01-31", basis="ACCRUAL",
                       expected="10.00", actual="10.01", delta="0.01")

    assert _describe(case) == "ACC1 2026-01-31 ACCRUAL: 10.00 then 10.01"


def test_failed_second_request_described_by_request() -> None:
    case = FailureCase(company_id="C001", basis="CASH", field="GET /companies/C001/cash-flow",
                       expected="200 as in the first pull", actual="401 application/json")

    assert _describe(case) == (
        "GET /companies/C001/cash-flow CASH: expected 200 as in the first pull, "
        "got 401 application/json"
    )
