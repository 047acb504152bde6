"""Pagination probes over each list of the first company.

- ``pagination.limit_1000``: ``limit=1000`` returns 200 with a Data list of at most 1000 items
  and echoes ``Pagination.limit`` 1000.
- ``pagination.pages_match_total``: paging with about a third of ``total`` per page, the rows of
  all pages add up to ``total``, no record appears on two pages, and the pages hold the same
  records as the single ``limit=1000`` page.
- ``pagination.offset_past_end``: ``offset=total`` returns 200 with ``"Data": []``.

A record is identified by the id field of its dataset (AccountId, BudgetId, ClassId,
DepartmentId, NonFinancialId): the first column of every list dataset.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections import Counter
from typing import Any

from reach_dq.datasets import Dataset
from reach_dq.fetch.client import ProbeReply
from reach_dq.fetch.plan import PlannedRequest, endpoint_path
from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.golive.probing import ProbeContext, data_datasets, describe, document, judged

CHECK_LIMIT_1000 = "pagination.limit_1000"
CHECK_PAGES = "pagination.pages_match_total"
CHECK_OFFSET_PAST_END = "pagination.offset_past_end"

MAX_LIMIT = 1000
PAGES_TARGET = 3  # pages the integrity probe aims for
MAX_PROBE_PAGES = 50  # stops a list whose pages never end


@dataclasses.dataclass(frozen=True)
class Page:
    offset: int
    items: list[Any] | None  # None: the reply had no Data list
    total: int | None
    reply: ProbeReply


async def probe_pagination(context: ProbeContext) -> list[Finding]:
    company_id = context.first_company
    if company_id is None:
        return []
    lists = [dataset for dataset in data_datasets(per_company=True) if dataset.paginated]
    results = await asyncio.gather(*(_probe_list(context, dataset, company_id) for dataset in lists))
    return [finding for group in results for finding in group]


async def _probe_list(context: ProbeContext, dataset: Dataset, company_id: str) -> list[Finding]:
    request = PlannedRequest(dataset.operation_id, "GET",
                             endpoint_path(dataset.operation_id, company_id), company_id=company_id)
    full = await _page(context, request, CHECK_LIMIT_1000, offset=0, limit=MAX_LIMIT)
    findings = [_limit_1000_finding(dataset, company_id, request, full)]
    if full.items is None or full.total is None:
        reason = f"{dataset.name}: limit=1000 gave no usable page ({describe(full.reply)})"
        findings += [
            Finding(check, Category.FORMATTING, dataset.name, Outcome.NOT_EVALUATED, reason,
                    company_id)
            for check in (CHECK_PAGES, CHECK_OFFSET_PAST_END)
        ]
        return findings

    pages = await _walk(context, request, total=full.total)
    findings.append(pages_finding(dataset, company_id, full, pages))
    past_end = await _page(context, request, CHECK_OFFSET_PAST_END, offset=full.total,
                           limit=MAX_LIMIT)
    findings.append(_past_end_finding(dataset, company_id, request, past_end))
    return findings


async def _page(
    context: ProbeContext, request: PlannedRequest, check: str, *, offset: int, limit: int
) -> Page:
    reply = await context.client.probe(request, name=check, page_offset=offset, page_limit=limit)
    body = document(reply)
    items = body.get("Data") if isinstance(body, dict) and reply.status_code == 200 else None
    pagination = body.get("Pagination") if isinstance(body, dict) else None
    total = pagination.get("total") if isinstance(pagination, dict) else None
    usable_total = isinstance(total, int) and not isinstance(total, bool) and total >= 0
    return Page(offset, items if isinstance(items, list) else None,
                total if usable_total else None, reply)


async def _walk(context: ProbeContext, request: PlannedRequest, *, total: int) -> list[Page]:
    """Page through a list with about ``total / PAGES_TARGET`` items per page, in order."""
    size = max(1, math.ceil(total / PAGES_TARGET))
    pages: list[Page] = []
    offset = 0
    while len(pages) < MAX_PROBE_PAGES:
        page = await _page(context, request, CHECK_PAGES, offset=offset, limit=size)
        pages.append(page)
        if not page.items:
            break
        offset += len(page.items)
        if offset >= total:
            break
    return pages


def pages_finding(dataset: Dataset, company_id: str, full: Page, pages: list[Page]) -> Finding:
    """Compare the pages with ``total`` and with the single ``limit=1000`` page."""
    id_field = dataset.columns[0].field
    total = full.total or 0
    if total == 0:
        message = f"{dataset.name}: the list is empty, so there are no pages to compare"
        return Finding(CHECK_PAGES, Category.FORMATTING, dataset.name, Outcome.NOT_EVALUATED,
                       message, company_id)

    cases: list[FailureCase] = []
    seen: dict[Any, int] = {}
    for page in pages:
        if page.items is None:
            cases.append(_case(company_id, page, "a page with a Data list", describe(page.reply)))
            continue
        for item in page.items:
            record = item.get(id_field) if isinstance(item, dict) else None
            if record in seen:
                cases.append(FailureCase(
                    company_id=company_id, field=f"{id_field} {record!r}",
                    expected="on one page only",
                    actual=f"on the pages at offsets {seen[record]} and {page.offset}",
                ))
            seen.setdefault(record, page.offset)

    rows = sum(len(page.items or []) for page in pages)
    if rows != total:
        cases.append(FailureCase(company_id=company_id, field="rows over all pages",
                                 expected=f"total {total}", actual=f"{rows} rows in "
                                 f"{len(pages)} pages"))
    single = Counter(item.get(id_field) for item in full.items or [] if isinstance(item, dict))
    missing = sorted(str(record) for record in single if record not in seen)
    if missing:
        cases.append(FailureCase(company_id=company_id, field=f"{id_field} values",
                                 expected="every record of the limit=1000 page",
                                 actual=f"missing from the pages: {', '.join(missing[:5])}"))
    return judged(
        CHECK_PAGES, Category.FORMATTING, dataset.name, checked=len(pages), cases=cases,
        company_id=company_id,
        passed=f"{rows} rows in {len(pages)} pages match total {total}, none repeated",
        failed=f"{rows} rows in {len(pages)} pages do not match total {total} one to one",
    )


def _limit_1000_finding(
    dataset: Dataset, company_id: str, request: PlannedRequest, page: Page
) -> Finding:
    body = document(page.reply)
    pagination = body.get("Pagination") if isinstance(body, dict) else None
    echoed = pagination.get("limit") if isinstance(pagination, dict) else None
    cases = []
    if page.items is None or len(page.items) > MAX_LIMIT or echoed != MAX_LIMIT:
        cases.append(FailureCase(company_id=company_id, field=_text(request, 0, MAX_LIMIT),
                                 expected="200 with at most 1000 items and Pagination.limit 1000",
                                 actual=describe(page.reply)))
    return judged(
        CHECK_LIMIT_1000, Category.FORMATTING, dataset.name, checked=1, cases=cases,
        company_id=company_id,
        passed=f"limit=1000 returned {len(page.items or [])} items",
        failed="limit=1000 was not answered as one page of at most 1000 items",
    )


def _past_end_finding(
    dataset: Dataset, company_id: str, request: PlannedRequest, page: Page
) -> Finding:
    cases = []
    if page.items != []:
        cases.append(FailureCase(company_id=company_id,
                                 field=_text(request, page.offset, MAX_LIMIT),
                                 expected='200 with "Data": []', actual=describe(page.reply)))
    return judged(
        CHECK_OFFSET_PAST_END, Category.FORMATTING, dataset.name, checked=1, cases=cases,
        company_id=company_id,
        passed=f'offset={page.offset} (total) returned "Data": []',
        failed=f"offset={page.offset} (total) did not return an empty page",
    )


def _case(company_id: str, page: Page, expected: str, actual: str) -> FailureCase:
    return FailureCase(company_id=company_id, field=f"page at offset {page.offset}",
                       expected=expected, actual=actual)


def _text(request: PlannedRequest, offset: int, limit: int) -> str:
    return f"GET {request.target(page_offset=offset, page_limit=limit)}"
