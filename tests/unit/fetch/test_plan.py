from __future__ import annotations

import datetime as dt

import pytest

from reach_dq.datasets import DATASETS
from reach_dq.fetch.plan import (
    ENDPOINTS,
    encode_segment,
    endpoint_path,
    fiscal_year_start,
    is_month_end,
    metric_value_requests,
    planned,
    statement_requests,
    statement_start,
)


def test_every_dataset_operation_has_an_endpoint() -> None:
    operation_ids = [dataset.operation_id for dataset in DATASETS]
    missing = [operation_id for operation_id in operation_ids if operation_id not in ENDPOINTS]
    assert missing == []


@pytest.mark.parametrize(
    ("company_id", "expected"),
    [
        ("C001", "C001"),
        ("a/b", "a%2Fb"),
        ("a?b", "a%3Fb"),
        ("a#b", "a%23b"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("...", "..."),
        ("%2E%2E", "%252E%252E"),
        ("é x", "%C3%A9%20x"),
    ],
    ids=[
        "plain", "slash", "question", "hash", "dot-dot", "dot", "three-dots", "percent", "unicode"
    ],
)
def test_encode_segment_keeps_target(company_id: str, expected: str) -> None:
    assert encode_segment(company_id) == expected


def test_endpoint_path_encodes_company() -> None:
    assert endpoint_path("listBudgets", "../x?y") == "/companies/..%2Fx%3Fy/budgets"


def test_endpoint_path_rejects_empty_company() -> None:
    with pytest.raises(ValueError) as raised:
        endpoint_path("getCompany", "")
    assert str(raised.value) == "getCompany needs a non-empty company id, got ''"


def test_target_appends_paging_after_query() -> None:
    request = planned("listClasses", "C001", params=(("x", "a&b"),))
    assert request.target(page_offset=2000, page_limit=1000) == (
        "/companies/C001/classes?x=a%26b&offset=2000&limit=1000"
    )


@pytest.mark.parametrize(
    ("day", "fiscal_month_end", "expected"),
    [
        (dt.date(2024, 3, 31), 12, dt.date(2024, 1, 1)),
        (dt.date(2024, 3, 31), 6, dt.date(2023, 7, 1)),
        (dt.date(2024, 7, 31), 6, dt.date(2024, 7, 1)),
        (dt.date(2024, 6, 30), 6, dt.date(2023, 7, 1)),
        (dt.date(2024, 2, 29), 2, dt.date(2023, 3, 1)),
        (dt.date(2024, 1, 31), 12, dt.date(2024, 1, 1)),
    ],
)
def test_fiscal_year_start(day: dt.date, fiscal_month_end: int, expected: dt.date) -> None:
    assert fiscal_year_start(day, fiscal_month_end) == expected


@pytest.mark.parametrize(
    ("first_month", "fiscal_month_end", "expected"),
    [
        (dt.date(2024, 3, 31), 12, dt.date(2024, 1, 1)),  # fiscal year start is earlier
        (dt.date(2024, 1, 31), 12, dt.date(2023, 12, 1)),  # previous month is earlier
        (dt.date(2024, 3, 31), 6, dt.date(2023, 7, 1)),
        (dt.date(2024, 3, 31), None, dt.date(2024, 2, 1)),
        (dt.date(2024, 1, 31), None, dt.date(2023, 12, 1)),
    ],
)
def test_statement_start(
    first_month: dt.date, fiscal_month_end: int | None, expected: dt.date
) -> None:
    assert statement_start(first_month, fiscal_month_end) == expected


def test_is_month_end() -> None:
    assert is_month_end(dt.date(2024, 2, 29))
    assert not is_month_end(dt.date(2024, 2, 28))


def test_statement_requests_cover_bases_and_budgets() -> None:
    requests = statement_requests(
        "C001", start=dt.date(2024, 1, 1), end=dt.date(2024, 3, 31), budget_ids=["B1"]
    )
    targets = [request.target() for request in requests]
    query = "StartDate=2024-01-01&EndDate=2024-03-31&AccountingBasis"
    assert targets == [
        f"/companies/C001/profit-and-loss?{query}=ACCRUAL",
        f"/companies/C001/balance-sheet?{query}=ACCRUAL",
        f"/companies/C001/cash-flow?{query}=ACCRUAL",
        f"/companies/C001/profit-and-loss?{query}=CASH",
        f"/companies/C001/balance-sheet?{query}=CASH",
        f"/companies/C001/cash-flow?{query}=CASH",
        f"/companies/C001/profit-and-loss?{query}=ACCRUAL&BudgetId=B1",
        f"/companies/C001/profit-and-loss?{query}=CASH&BudgetId=B1",
    ]


def test_statement_requests_carry_context() -> None:
    request = statement_requests(
        "C001", start=dt.date(2024, 1, 1), end=dt.date(2024, 3, 31), budget_ids=["B1"]
    )[-1]
    assert request.basis == "CASH"
    assert request.budget_id == "B1"
    assert request.start_date == dt.date(2024, 1, 1)
    assert request.end_date == dt.date(2024, 3, 31)


def test_metric_value_requests_post_all_metrics() -> None:
    requests = metric_value_requests(
        "C001",
        metric_ids=["M1", "M2"],
        first_month=dt.date(2024, 2, 29),
        last_month=dt.date(2024, 3, 31),
        budget_ids=["B1"],
    )
    bodies = [request.json_body for request in requests]
    assert bodies == [
        {"NonFinancialIds": ["M1", "M2"], "StartDate": "2024-02-01", "EndDate": "2024-03-31"},
        {
            "NonFinancialIds": ["M1", "M2"],
            "StartDate": "2024-02-01",
            "EndDate": "2024-03-31",
            "BudgetId": "B1",
        },
    ]


def test_metric_value_requests_empty_without_metrics() -> None:
    requests = metric_value_requests(
        "C001", metric_ids=[], first_month=dt.date(2024, 2, 29), last_month=dt.date(2024, 3, 31)
    )
    assert requests == []
