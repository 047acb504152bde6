from __future__ import annotations

from reach_dq.findings import Outcome
from reach_dq.golive.latency import latency_finding, percentile, retries_finding


def exchange(latency: float, *, path: str = "/companies/C001", attempt: int = 1,
             status: int | None = 200, method: str = "GET", budget_id: str | None = None) -> tuple:
    request = ("getCompany", method, path, None, budget_id, None, None, None, None, None, None)
    return ("company", method, path, attempt, status, latency, None, *request)


def test_percentile_is_nearest_rank() -> None:
    values = [float(value) for value in range(1, 101)]

    assert percentile(values, 0.95) == 95.0
    assert percentile([3.0, 1.0, 2.0], 0.95) == 3.0
    assert percentile([5.0], 0.5) == 5.0


def test_p95_over_budget_fails() -> None:
    rows = [exchange(10.0), exchange(12.0, path="/companies/C002"), exchange(2210.0, path="/companies/C003")]

    finding = latency_finding("company", rows)

    assert finding.outcome is Outcome.FAILED
    assert finding.message == (
        "company: p95 over the 2-second budget: median 12 ms, p95 2210 ms, max 2210 ms over "
        "3 requests (budget 2000 ms)"
    )
    assert [(case.field, case.actual) for case in finding.failure_cases] == [
        ("GET /companies/C003", "2210 ms")]


def test_one_slow_request_in_many_warns() -> None:
    rows = [exchange(10.0, path=f"/p{index}") for index in range(39)] + [exchange(2500.0)]

    finding = latency_finding("company", rows)

    assert finding.outcome is Outcome.WARNING
    assert finding.failure_count == 1


def test_fast_requests_pass() -> None:
    finding = latency_finding("company", [exchange(5.0), exchange(7.0)])

    assert finding.outcome is Outcome.PASSED
    assert finding.failure_cases == ()


def test_no_latency_is_not_evaluated() -> None:
    assert latency_finding("company", [exchange(None)]).outcome is Outcome.NOT_EVALUATED


def test_healed_retry_warns() -> None:
    rows = [exchange(5.0, status=503), exchange(5.0, attempt=2)]

    finding = retries_finding("company", rows)

    assert finding.outcome is Outcome.WARNING
    assert finding.message == (
        "company: 2 attempts for 1 request, 1 retried, 1 failed attempt, 0 failed requests"
    )


def test_request_failed_after_retries_fails() -> None:
    rows = [exchange(5.0, status=503), exchange(5.0, attempt=2, status=503)]

    finding = retries_finding("company", rows)

    assert finding.outcome is Outcome.FAILED
    assert [(case.field, case.actual) for case in finding.failure_cases] == [
        ("GET /companies/C001", "503")]


def test_posts_by_body_are_separate() -> None:
    path = "/companies/C001/non-financial"
    rows = [
        exchange(5.0, method="POST", path=path, status=503),
        exchange(5.0, method="POST", path=path, budget_id="BG01"),
        exchange(5.0, method="POST", path=path, budget_id="BG02", status=503),
        exchange(5.0, method="POST", path=path, budget_id="BG02", attempt=2),
    ]

    finding = retries_finding("non_financial_values", rows)

    assert finding.outcome is Outcome.FAILED
    assert finding.message == (
        "non_financial_values: 4 attempts for 3 requests, 1 retried, 2 failed attempts, "
        "1 failed request"
    )
