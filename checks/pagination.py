"""``contract.pagination_total``: the pages of each list hold as many items as their total states.

The contract defines ``Pagination.total`` as the number of records across all pages. A total
that is too low makes a client stop early and miss records without noticing, and one that is
too high makes it ask for pages that do not exist. The check reads the stored 2xx pages of every
list request that completed and compares the items they held with the total of the first page.

One finding per paginated dataset and company: failed when the counts differ, passed when they
agree, not_evaluated when the list failed (``reliability.operations`` reports why) or its first
page has no usable total (``contract.response_schema`` reports that).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson

from reach_dq.datasets import DATASETS
from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.runner import Check, CheckContext
from reach_dq.warehouse.requests import LAST_ATTEMPT

CHECK_NAME = "contract.pagination_total"

# The last attempt of each page of each list, with its body.
_PAGES_SQL = f"""
WITH last_attempts AS (
    SELECT exchange_id, dataset, company_id, operation_id, page_offset, status_code
    FROM http_exchanges
    WHERE snapshot_id = $snapshot_id AND page_offset IS NOT NULL AND probe IS NULL
    QUALIFY {LAST_ATTEMPT}
)
SELECT l.dataset, l.company_id, l.operation_id, l.page_offset, l.status_code, r.body
FROM last_attempts AS l
LEFT JOIN raw_responses AS r ON r.snapshot_id = $snapshot_id AND r.exchange_id = l.exchange_id
ORDER BY l.dataset, l.company_id, l.page_offset
"""

_FAILED_SQL = """
SELECT DISTINCT operation_id, company_id FROM failed_operations WHERE snapshot_id = ?
"""

Group = tuple[str, str | None]


def pagination_checks() -> list[Check]:
    """Return the check of Pagination.total against the items of the pages."""
    datasets = tuple(dataset.name for dataset in DATASETS if dataset.paginated)
    return [Check(CHECK_NAME, Category.FORMATTING, datasets, _pagination_total)]


def _pagination_total(context: CheckContext) -> Iterator[Finding]:
    failed = set(context.connection.execute(_FAILED_SQL, [context.snapshot_id]).fetchall())
    lists: dict[Group, list[tuple[Any, ...]]] = {}
    operations: dict[Group, str] = {}
    for dataset, company_id, operation_id, offset, status, body in context.connection.execute(
        _PAGES_SQL, {"snapshot_id": context.snapshot_id}
    ).fetchall():
        lists.setdefault((dataset, company_id), []).append((offset, status, body))
        operations[(dataset, company_id)] = operation_id

    for group, pages in lists.items():
        if (operations[group], group[1]) in failed:
            yield _not_evaluated(group, "the list request failed; see reliability.operations")
        else:
            yield _compare(group, pages)


def _compare(group: Group, pages: list[tuple[Any, ...]]) -> Finding:
    documents = [
        _parse(body) for _, status, body in pages if status is not None and 200 <= status < 300
    ]
    if len(documents) != len(pages) or any(document is None for document in documents):
        return _not_evaluated(group, "a page is not a JSON object with a Data list")
    total = _total(documents[0])
    if total is None:
        return _not_evaluated(group, "the first page has no usable Pagination.total")

    held = sum(len(document["Data"]) for document in documents)
    dataset, company_id = group
    label = _label(group)
    if held == total:
        message = f"{label}: {len(pages)} pages held {held} items, matching Pagination.total"
        return Finding(
            CHECK_NAME, Category.FORMATTING, dataset, Outcome.PASSED, message, company_id
        )

    message = (
        f"{label}: Pagination.total is {total} but the {len(pages)} pages held {held} items"
        + ("; the fetch stops at the stated total, so later records may never have been "
           "requested" if held > total else "; the pages ended before the stated total")
    )
    case = FailureCase(
        company_id=company_id, field="Pagination.total", expected=str(held), actual=str(total)
    )
    return Finding(
        CHECK_NAME, Category.FORMATTING, dataset, Outcome.FAILED, message, company_id,
        failure_count=1, failure_cases=(case,),
    )


def _parse(body: str | None) -> dict[str, Any] | None:
    if body is None:
        return None
    try:
        document = _load(body)
    except ValueError:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("Data"), list):
        return None
    return document


def _load(body: str) -> Any:
    """Parse a page with orjson, or with ``json`` where orjson rejects it or rounds the total.

    orjson reads strict JSON only and parses an integer beyond 64 bits as a float. ``json``
    also reads NaN and Infinity and keeps such an integer exact, so a page that either parser
    reads gives the same item count and total as before.
    """
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body, parse_float=Decimal)
    pagination = document.get("Pagination") if isinstance(document, dict) else None
    if isinstance(pagination, dict) and isinstance(pagination.get("total"), float):
        return json.loads(body, parse_float=Decimal)
    return document


def _total(document: dict[str, Any]) -> int | None:
    pagination = document.get("Pagination")
    total = pagination.get("total") if isinstance(pagination, dict) else None
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        return None
    return total


def _not_evaluated(group: Group, reason: str) -> Finding:
    dataset, company_id = group
    message = f"{_label(group)}: Pagination.total not checked: {reason}"
    return Finding(
        CHECK_NAME, Category.FORMATTING, dataset, Outcome.NOT_EVALUATED, message, company_id
    )


def _label(group: Group) -> str:
    dataset, company_id = group
    return dataset if company_id is None else f"{dataset} for {company_id}"
