"""Reliability of each request of the fetch: requests that failed for good, and retries.

- ``reliability.operations``: failed when a request of the dataset and company failed for good,
  naming the operation and the reason stored in ``failed_operations``. The reason may be the
  last status after the retries, a timeout, a connection that closed mid-body, a body that is
  not JSON or is over the size cap, or pagination that repeats a page or changes its total.
  Passed when every request succeeded.
- ``reliability.retries``: a warning when a request succeeded only after retries, listing the
  statuses or errors of its attempts; passed when every request succeeded at once.

Both return one finding per dataset and company that the fetch requested (no company for
user_info). Exchanges of go-live probes (``probe`` set) are not requests of the fetch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from reach_dq.datasets import DATASETS
from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.runner import Check, CheckContext

CHECK_OPERATIONS = "reliability.operations"
CHECK_RETRIES = "reliability.retries"

_EXCHANGES_SQL = """
SELECT dataset, company_id, operation_id, method, path, page_offset, basis, budget_id,
       class_id, department_id, status_code, error
FROM http_exchanges
WHERE snapshot_id = ? AND dataset IS NOT NULL AND probe IS NULL
ORDER BY exchange_id
"""

_FAILURES_SQL = """
SELECT dataset, company_id, operation_id, method, path, error
FROM failed_operations
WHERE snapshot_id = ? AND dataset IS NOT NULL
ORDER BY failed_at, operation_id, path
"""

Group = tuple[str, str | None]  # dataset and company


@dataclasses.dataclass
class _Request:
    """The attempts of one request (one page of a list counts as one request)."""

    label: str  # method and path as sent
    outcomes: list[str] = dataclasses.field(default_factory=list)  # status or error per attempt
    succeeded: bool = False


def operation_checks() -> list[Check]:
    """Return the checks of failed and retried requests."""
    datasets = tuple(dataset.name for dataset in DATASETS)
    return [
        Check(CHECK_OPERATIONS, Category.RELIABILITY, datasets, _failed_operations),
        Check(CHECK_RETRIES, Category.RELIABILITY, datasets, _retries),
    ]


def _failed_operations(context: CheckContext) -> Iterator[Finding]:
    requested = _requests(context)
    failures: dict[Group, list[tuple[Any, ...]]] = {}
    for row in context.connection.execute(_FAILURES_SQL, [context.snapshot_id]).fetchall():
        failures.setdefault((row[0], row[1]), []).append(row)

    for group in sorted(set(requested) | set(failures), key=_group_order):
        operations = _operation_count(requested.get(group, {}))
        yield _operations_finding(group, operations, failures.get(group, []))


def _operations_finding(group: Group, operations: int, failures: list[tuple[Any, ...]]) -> Finding:
    dataset, company_id = group
    label = _label(group)
    if not failures:
        message = f"{label}: all {operations} operations succeeded"
        return Finding(
            CHECK_OPERATIONS, Category.RELIABILITY, dataset, Outcome.PASSED, message, company_id
        )

    cases = tuple(
        FailureCase(
            company_id=company_id,
            field=f"{operation_id} {method} {path}",
            expected="a usable 2xx response",
            actual=error,
        )
        for _, _, operation_id, method, path, error in failures
    )
    _, _, operation_id, _, _, error = failures[0]
    total = max(operations, len(failures))
    message = (
        f"{label}: {len(failures)} of {total} operations failed; first: {operation_id}: {error}"
    )
    return Finding(
        CHECK_OPERATIONS, Category.RELIABILITY, dataset, Outcome.FAILED, message, company_id,
        failure_count=len(failures), failure_cases=cases,
    )


def _retries(context: CheckContext) -> Iterator[Finding]:
    groups = _requests(context)
    for group in sorted(groups, key=_group_order):
        requests = groups[group]
        retried = [
            request
            for request in requests.values()
            if request.succeeded and len(request.outcomes) > 1
        ]
        yield _retries_finding(group, len(requests), retried)


def _retries_finding(group: Group, total: int, retried: list[_Request]) -> Finding:
    dataset, company_id = group
    label = _label(group)
    if not retried:
        message = f"{label}: none of {total} requests needed a retry"
        return Finding(
            CHECK_RETRIES, Category.RELIABILITY, dataset, Outcome.PASSED, message, company_id
        )

    cases = tuple(
        FailureCase(
            company_id=company_id,
            field=request.label,
            expected="2xx on the first attempt",
            actual=", then ".join(request.outcomes),
        )
        for request in retried
    )
    first = cases[0]
    message = (
        f"{label}: {len(retried)} of {total} requests succeeded only after retries; "
        f"first: {first.field}: {first.actual}"
    )
    return Finding(
        CHECK_RETRIES, Category.RELIABILITY, dataset, Outcome.WARNING, message, company_id,
        failure_count=len(retried), failure_cases=cases,
    )


def _requests(context: CheckContext) -> dict[Group, dict[tuple[Any, ...], _Request]]:
    """Return the requests of each dataset and company, keyed by what makes a request unique.

    A POST to one path differs by its body, so the statement parameters are part of the key.
    """
    groups: dict[Group, dict[tuple[Any, ...], _Request]] = {}
    rows = context.connection.execute(_EXCHANGES_SQL, [context.snapshot_id]).fetchall()
    for row in rows:
        dataset, company_id, operation_id, method, path, page_offset, *parameters = row[:-2]
        status, error = row[-2:]
        key = (operation_id, method, path, page_offset, *parameters)
        requests = groups.setdefault((dataset, company_id), {})
        request = requests.setdefault(key, _Request(f"{method} {path}"))
        request.outcomes.append(str(status) if status is not None else f"no response ({error})")
        request.succeeded = status is not None and 200 <= status < 300 and error is None
    return groups


def _operation_count(requests: dict[tuple[Any, ...], _Request]) -> int:
    """Count operations: a list counts once however many pages it took."""
    # key: operation, method, path, page offset, then the statement parameters
    operations = {
        (key[0], key[1], None if key[3] is not None else key[2], *key[4:]) for key in requests
    }
    return len(operations)


def _label(group: Group) -> str:
    dataset, company_id = group
    return dataset if company_id is None else f"{dataset} for {company_id}"


def _group_order(group: Group) -> tuple[str, str]:
    return group[0], group[1] or ""
