from __future__ import annotations

from decimal import Decimal

from reach_dq.golive.stability import compare_rows


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
