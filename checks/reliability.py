"""Reliability of the fetch itself: requests that never got a usable response."""

from __future__ import annotations

from collections.abc import Iterator

from reach_dq.datasets import DATASETS
from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.runner import Check, CheckContext
from reach_dq.warehouse.requests import LAST_ATTEMPT

CHECK_NAME = "reliability.http_status"

# The last attempt of each request: earlier attempts that a retry healed are not failures.
FINAL_ATTEMPTS = f"""
SELECT dataset, company_id, method, path, status_code, error
FROM http_exchanges
WHERE snapshot_id = ? AND dataset IS NOT NULL
QUALIFY {LAST_ATTEMPT}
ORDER BY dataset, company_id, path, exchange_id
"""


def reliability_checks() -> list[Check]:
    return [Check(CHECK_NAME, Category.RELIABILITY, tuple(d.name for d in DATASETS), _http_status)]


def _http_status(context: CheckContext) -> Iterator[Finding]:
    rows = context.connection.execute(FINAL_ATTEMPTS, [context.snapshot_id]).fetchall()
    groups: dict[tuple[str, str | None], list[tuple]] = {}
    for row in rows:
        groups.setdefault((row[0], row[1]), []).append(row)

    for (dataset, company_id), requests in groups.items():
        failures = [row for row in requests if row[4] is None or row[4] >= 400]
        yield _finding(dataset, company_id, len(requests), failures)


def _finding(dataset: str, company_id: str | None, total: int, failures: list[tuple]) -> Finding:
    cases = tuple(
        FailureCase(
            company_id=company_id,
            field=f"{method} {path}",
            expected="2xx",
            actual=str(status) if status is not None else f"no response: {error}",
        )
        for _, _, method, path, status, error in failures
    )
    if not failures:
        answered = "the 1 request" if total == 1 else f"all {total} requests"
        message = f"{dataset}: {answered} answered 2xx"
        return Finding(CHECK_NAME, Category.RELIABILITY, dataset, Outcome.PASSED, message, company_id)

    first = cases[0]
    message = (
        f"{dataset}: {len(failures)} of {total} requests failed after retries; "
        f"first: {first.field} -> {first.actual}"
    )
    return Finding(
        CHECK_NAME, Category.RELIABILITY, dataset, Outcome.FAILED, message, company_id,
        failure_count=len(failures), failure_cases=cases,
    )
