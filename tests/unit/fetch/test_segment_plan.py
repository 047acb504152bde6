from __future__ import annotations

import datetime as dt

from reach_dq.fetch.plan import MAX_SEGMENT_FILTERS, segment_requests

MARCH, JUNE = dt.date(2024, 3, 31), dt.date(2024, 6, 30)


def test_each_class_and_department_on_both_bases() -> None:
    requests = segment_requests("C001", first_month=MARCH, last_month=JUNE,
                                class_ids=["K1"], department_ids=["D1"])

    assert [(r.class_id, r.department_id, r.basis) for r in requests] == [
        ("K1", None, "ACCRUAL"), ("K1", None, "CASH"),
        (None, "D1", "ACCRUAL"), (None, "D1", "CASH"),
    ]
    assert requests[0].target() == (
        "/companies/C001/profit-and-loss?StartDate=2024-03-01&EndDate=2024-06-30"
        "&AccountingBasis=ACCRUAL&ClassId=K1"
    )
    assert {(r.operation_id, r.start_date, r.end_date, r.budget_id) for r in requests} == {
        ("getProfitAndLoss", dt.date(2024, 3, 1), JUNE, None)
    }


def test_kind_above_limit_gets_no_request() -> None:
    classes = [f"K{n}" for n in range(MAX_SEGMENT_FILTERS + 1)]
    departments = [f"D{n}" for n in range(MAX_SEGMENT_FILTERS)]

    requests = segment_requests("C001", first_month=MARCH, last_month=JUNE,
                                class_ids=classes, department_ids=departments)

    assert {r.class_id for r in requests} == {None}
    assert len(requests) == 2 * MAX_SEGMENT_FILTERS


def test_no_segments_no_requests() -> None:
    assert segment_requests("C001", first_month=MARCH, last_month=JUNE) == []
