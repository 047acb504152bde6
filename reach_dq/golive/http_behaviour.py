"""HTTP behaviour probes: content type, status codes of wrong requests, and empty results.

- ``http.content_type``: every 2xx response of the fetch is ``application/json`` (read from the
  stored exchanges, so it covers every request of the run, with no extra request).
- ``http.unknown_company``: each company operation with an unknown CompanyId gets 404.
- ``http.invalid_page_parameters``: each list of the first company returns 400 for ``limit=0``,
  ``limit=1001`` and ``offset=-1``.
- ``http.reversed_date_range``: the statements and the non-financial values return 400 when
  StartDate is after EndDate.
- ``http.empty_result``: the same operations over January 1900, a month without data, return
  200 with ``"Data": []``, never null and never 404.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

from reach_dq.datasets import BY_OPERATION, Dataset
from reach_dq.fetch.plan import PlannedRequest
from reach_dq.findings import Category, FailureCase, Finding
from reach_dq.golive.probing import (
    ProbeContext,
    data_datasets,
    describe,
    document,
    is_json,
    judged,
    media_type,
    month_range,
    request_text,
    valid_request,
)

CHECK_CONTENT_TYPE = "http.content_type"
CHECK_UNKNOWN_COMPANY = "http.unknown_company"
CHECK_PAGE_PARAMETERS = "http.invalid_page_parameters"
CHECK_REVERSED_DATES = "http.reversed_date_range"
CHECK_EMPTY_RESULT = "http.empty_result"

UNKNOWN_COMPANY_ID = "reach-dq-unknown-company"
INVALID_PAGE_PARAMETERS = (("limit", "0"), ("limit", "1001"), ("offset", "-1"))
EMPTY_MONTH = (dt.date(1900, 1, 1), dt.date(1900, 1, 31))  # before any partner's books
DATE_RANGE_OPERATIONS = ("getProfitAndLoss", "getBalanceSheet", "getCashFlow",
                         "getNonFinancialValues")

_SUCCESS_CONTENT_TYPES = """
SELECT dataset, company_id, method, path, content_type
FROM http_exchanges
WHERE snapshot_id = ? AND probe IS NULL AND dataset IS NOT NULL
  AND status_code BETWEEN 200 AND 299
ORDER BY dataset, company_id NULLS FIRST, exchange_id
"""
_METRIC_IDS = """
SELECT DISTINCT non_financial_id FROM non_financial_metrics
WHERE snapshot_id = ? AND company_id = ? ORDER BY non_financial_id
"""


def check_content_types(context: ProbeContext) -> list[Finding]:
    """Return one finding per dataset and company on the content type of its 2xx responses."""
    rows = context.connection.execute(_SUCCESS_CONTENT_TYPES, [context.snapshot_id]).fetchall()
    groups: dict[tuple[str, str | None], list[tuple[str, str | None]]] = {}
    for dataset, company_id, method, path, content_type in rows:
        groups.setdefault((dataset, company_id), []).append((f"{method} {path}", content_type))

    findings = []
    for (dataset, company_id), exchanges in groups.items():
        cases = [
            FailureCase(company_id=company_id, field=request, expected="application/json",
                        actual=repr(content_type))
            for request, content_type in exchanges
            if not is_json(content_type)
        ]
        findings.append(
            judged(
                CHECK_CONTENT_TYPE, Category.FORMATTING, dataset,
                checked=len(exchanges), cases=cases, company_id=company_id,
                passed=f"all {len(exchanges)} 2xx responses are application/json",
                failed=f"{len(cases)} of {len(exchanges)} 2xx responses are not application/json",
            )
        )
    return findings


async def probe_http_behaviour(context: ProbeContext) -> list[Finding]:
    """Run the status-code and empty-result probes concurrently."""
    probes = [_unknown_company(context, dataset) for dataset in data_datasets(per_company=True)]
    if context.first_company is not None:
        probes += [
            _page_parameters(context, dataset)
            for dataset in data_datasets(per_company=True)
            if dataset.paginated
        ]
        probes += [_date_ranges(context, BY_OPERATION[op]) for op in DATE_RANGE_OPERATIONS]
    results = await asyncio.gather(*probes)
    return [finding for group in results for finding in group]


async def _unknown_company(context: ProbeContext, dataset: Dataset) -> list[Finding]:
    start, end = month_range(context.last_month)
    request = valid_request(dataset, UNKNOWN_COMPANY_ID, start=start, end=end)
    reply = await context.client.probe(request, name=CHECK_UNKNOWN_COMPANY)
    cases = []
    if reply.status_code != 404 or not is_json(reply.content_type):
        cases.append(FailureCase(company_id=UNKNOWN_COMPANY_ID, field=request_text(request),
                                 expected="404 with a JSON body", actual=describe(reply)))
    return [
        judged(
            CHECK_UNKNOWN_COMPANY, Category.FORMATTING, dataset.name, checked=1, cases=cases,
            passed=f"an unknown CompanyId got {reply.status_code}",
            failed="an unknown CompanyId did not get 404",
        )
    ]


async def _page_parameters(context: ProbeContext, dataset: Dataset) -> list[Finding]:
    company_id = context.first_company
    base = valid_request(dataset, company_id, start=EMPTY_MONTH[0], end=EMPTY_MONTH[1])
    requests = [
        PlannedRequest(base.operation_id, base.method, base.path, params=(parameter,),
                       company_id=company_id)
        for parameter in INVALID_PAGE_PARAMETERS
    ]
    cases = await _expect_400(context, CHECK_PAGE_PARAMETERS, requests, company_id)
    return [
        judged(
            CHECK_PAGE_PARAMETERS, Category.FORMATTING, dataset.name,
            checked=len(requests), cases=cases, company_id=company_id,
            passed="limit=0, limit=1001 and offset=-1 each got 400",
            failed=f"{len(cases)} of {len(requests)} invalid page parameters did not get 400",
        )
    ]


async def _date_ranges(context: ProbeContext, dataset: Dataset) -> list[Finding]:
    company_id = context.first_company
    metric_ids = _metric_ids(context, company_id)
    start, end = month_range(context.last_month)
    reversed_request = valid_request(dataset, company_id, start=end, end=start,
                                     metric_ids=metric_ids)
    cases = await _expect_400(context, CHECK_REVERSED_DATES, [reversed_request], company_id)
    reversed_finding = judged(
        CHECK_REVERSED_DATES, Category.FORMATTING, dataset.name, checked=1, cases=cases,
        company_id=company_id,
        passed="StartDate after EndDate got 400",
        failed="StartDate after EndDate did not get 400",
    )

    empty_request = valid_request(dataset, company_id, start=EMPTY_MONTH[0], end=EMPTY_MONTH[1],
                                  metric_ids=metric_ids)
    reply = await context.client.probe(empty_request, name=CHECK_EMPTY_RESULT)
    body = document(reply)
    empty = reply.status_code == 200 and isinstance(body, dict) and body.get("Data") == []
    empty_cases = []
    if not empty or not is_json(reply.content_type):
        empty_cases.append(FailureCase(company_id=company_id, field=request_text(empty_request),
                                       expected='200 with "Data": []', actual=describe(reply)))
    empty_finding = judged(
        CHECK_EMPTY_RESULT, Category.FORMATTING, dataset.name, checked=1, cases=empty_cases,
        company_id=company_id,
        passed='a month without data got 200 with "Data": []',
        failed='a month without data did not get 200 with "Data": []',
    )
    return [reversed_finding, empty_finding]


async def _expect_400(
    context: ProbeContext, check: str, requests: Sequence[PlannedRequest], company_id: str | None
) -> list[FailureCase]:
    replies = await asyncio.gather(
        *(context.client.probe(request, name=check) for request in requests)
    )
    return [
        FailureCase(company_id=company_id, field=request_text(request),
                    expected="400 with a JSON body", actual=describe(reply))
        for request, reply in zip(requests, replies, strict=True)
        if reply.status_code != 400 or media_type(reply.content_type) != "application/json"
    ]


def _metric_ids(context: ProbeContext, company_id: str | None) -> list[str]:
    rows = context.connection.execute(_METRIC_IDS, [context.snapshot_id, company_id]).fetchall()
    return [row[0] for row in rows]
