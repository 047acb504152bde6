"""Fetch a snapshot of a partner's Reach API into the warehouse.

Order of work: user info (which companies the token may read), then every company at once.
Per company: company information first (its FiscalMonthEnd sets the statement window), then
every page of the five lists, then the statements on both bases, the budget P&Ls, the
non-financial metric values and the P&L of each class and department on both bases. A failed operation is logged and counted, and the rest go on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from reach_dq.exceptions import ConfigError, FetchError, StoreError, TerminalFetchError
from reach_dq.fetch.client import (
    BACKOFF_BASE_S,
    MAX_BODY_BYTES,
    MAX_PAGES,
    MAX_RETRY_AFTER_S,
    CertificateError,
    ReachClient,
    StatusError,
    open_http_client,
)
from reach_dq.fetch.plan import (
    LIST_OPERATIONS,
    PlannedRequest,
    is_month_end,
    metric_value_requests,
    segment_requests,
    planned,
    statement_requests,
    statement_start,
)
from reach_dq.fetch.tokens import TokenProvider, TokenUnavailableError
from reach_dq.fetch.writer import SnapshotWriter
from reach_dq.warehouse.warehouse import FailedOperation, Warehouse, strip_url_secrets

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 1000  # the Reach API rejects a larger limit
REJECTED_TOKEN_STATUSES = (401, 403)

# The item field whose values later requests need, per list operation.
ID_FIELDS = {
    "listBudgets": "BudgetId",
    "listClasses": "ClassId",
    "listDepartments": "DepartmentId",
    "listNonFinancialMetrics": "NonFinancialId",
}

Progress = Callable[[int, int], None]
FailureRecorder = Callable[[PlannedRequest, str], None]  # the request and why it failed


@dataclasses.dataclass(frozen=True)
class FetchRequest:
    """Fetch settings: the partner, the token, the requested months and the client limits.

    ``first_month`` and ``last_month`` are the last days of the first and last requested months.
    """

    base_url: str
    token: SecretStr
    first_month: dt.date
    last_month: dt.date
    companies: tuple[str, ...] | None = None  # None: every company that user info lists
    concurrency: int = 8
    page_size: int = 1000
    timeout_s: float = 30.0  # per attempt, including reading the body
    max_attempts: int = 3
    # Replaces ``token`` when set, e.g. tokens obtained with a client id and secret.
    token_provider: TokenProvider | None = None
    max_body_bytes: int = MAX_BODY_BYTES  # a larger body is not stored and fails its request
    backoff_s: float = BACKOFF_BASE_S  # wait before the first retry; doubles for each further one
    max_retry_after_s: float = MAX_RETRY_AFTER_S  # a longer Retry-After is shortened to this
    max_pages: int = MAX_PAGES  # pages of one list before its pagination counts as endless

    def __post_init__(self) -> None:
        _check_base_url(self.base_url)
        if not self.token.get_secret_value() and self.token_provider is None:
            raise ConfigError("token must not be empty")
        _check_months(self.first_month, self.last_month)
        if self.companies is not None and not all(self.companies):
            raise ConfigError(f"company ids must be non-empty strings, got {self.companies!r}")
        if self.concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {self.concurrency!r}")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ConfigError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {self.page_size!r}")
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise ConfigError(
                f"timeout_s must be a positive number of seconds, got {self.timeout_s!r}"
            )
        if self.max_attempts < 1:
            raise ConfigError(f"max_attempts must be at least 1, got {self.max_attempts!r}")
        _check_limits(self)


@dataclasses.dataclass(frozen=True)
class FetchSummary:
    """Counts of one fetch. ``exchanges`` counts attempts, retries included."""

    companies: tuple[str, ...]
    exchanges: int
    failed_exchanges: int  # attempts without a usable response
    failed_operations: int  # requests (all pages, all attempts) that did not succeed

    @property
    def status(self) -> str:
        """Return the snapshot status this fetch earns: complete or incomplete."""
        return "incomplete" if self.failed_operations else "complete"


async def fetch_snapshot(
    request: FetchRequest,
    warehouse: Warehouse,
    snapshot_id: str,
    *,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    max_pages: int | None = None,  # None: request.max_pages
) -> FetchSummary:
    """Fetch every operation for every company and record each attempt in the warehouse.

    ``progress(done, planned)`` is called as operations finish. ``planned`` grows while the
    fetch discovers companies, budgets and metrics. The snapshot must exist (see
    ``Warehouse.begin_snapshot``), and its final status is left to the caller.

    A ``SnapshotWriter`` thread writes the exchanges in batches while requests go on. Every
    record is written before this function returns or raises, so the caller may then use the
    warehouse's connection again.

    Raises ``TerminalFetchError`` when the partner rejects the token on user info, or when the
    companies must be discovered and user info fails. Raises ``StoreError`` when the snapshot
    does not exist or recording an exchange fails.
    """
    if warehouse.snapshot_status(snapshot_id) is None:
        raise StoreError(f"snapshot {snapshot_id!r} does not exist; begin it before fetching")

    log.info("fetching snapshot %s from %s", snapshot_id, strip_url_secrets(request.base_url))
    with SnapshotWriter(warehouse, snapshot_id) as writer:
        client, run, companies = await _fetch_all(request, writer, progress, transport, max_pages)

    summary = FetchSummary(
        companies, client.exchanges, client.failed_exchanges, run.failed_operations
    )
    log.info(
        "fetched snapshot %s: %d companies, %d exchanges (%d failed), %d failed operations",
        snapshot_id,
        len(companies),
        summary.exchanges,
        summary.failed_exchanges,
        summary.failed_operations,
    )
    return summary


async def _fetch_all(
    request: FetchRequest,
    writer: SnapshotWriter,
    progress: Progress | None,
    transport: httpx.AsyncBaseTransport | None,
    max_pages: int | None,
) -> tuple[ReachClient, _SnapshotRun, tuple[str, ...]]:
    """Fetch user info, then every company; return the client, the run and the companies."""
    async with open_http_client(
        request.base_url,
        timeout_s=request.timeout_s,
        concurrency=request.concurrency,
        transport=transport,
    ) as http:
        client = ReachClient(
            http,
            token=request.token,
            token_provider=request.token_provider,
            recorder=writer.record_exchange,
            max_attempts=request.max_attempts,
            concurrency=request.concurrency,
            timeout_s=request.timeout_s,
            max_body_bytes=request.max_body_bytes,
            backoff_s=request.backoff_s,
            max_retry_after_s=request.max_retry_after_s,
        )
        run = _SnapshotRun(
            client,
            request,
            progress=progress,
            max_pages=max_pages or request.max_pages,
            on_failure=_failure_recorder(writer),
        )
        companies = await run.discover_companies()
        await _run_all(run.fetch_company(company_id) for company_id in companies)
    return client, run, companies


def _failure_recorder(writer: SnapshotWriter) -> FailureRecorder:
    """Return a callback that queues each failed request for ``failed_operations``."""

    def record(request: PlannedRequest, error: str) -> None:
        failure = FailedOperation(
            operation_id=request.operation_id,
            dataset=request.dataset,
            company_id=request.company_id,
            method=request.method,
            path=request.target(),
            error=error,
        )
        writer.record_failed_operation(failure)

    return record


def run_fetch(
    request: FetchRequest,
    warehouse: Warehouse,
    snapshot_id: str,
    **options: Any,
) -> FetchSummary:
    """Run ``fetch_snapshot`` in a new event loop; ``options`` are its keyword options."""
    return asyncio.run(fetch_snapshot(request, warehouse, snapshot_id, **options))


class _SnapshotRun:
    """The state of one fetch: the client, the request and the operation counters."""

    def __init__(
        self,
        client: ReachClient,
        request: FetchRequest,
        *,
        progress: Progress | None,
        max_pages: int,
        on_failure: FailureRecorder | None = None,
    ) -> None:
        self._client = client
        self._request = request
        self._progress = progress
        self._max_pages = max_pages
        self._on_failure = on_failure
        self._planned = 0
        self._done = 0
        self.failed_operations = 0

    async def discover_companies(self) -> tuple[str, ...]:
        """Fetch user info and return the companies to fetch: the requested ones, or its list."""
        request = planned("getUserInfo")
        self._plan(1)
        try:
            reply = await self._client.send(request, parse=True)
        except (CertificateError, TokenUnavailableError) as exc:
            self._fail(request, exc)
            raise  # every later request would fail the same way
        except StatusError as exc:
            if exc.status_code in REJECTED_TOKEN_STATUSES:
                raise TerminalFetchError(
                    f"the partner rejected the access token ({exc.status_code}) "
                    "on GET /oauth2/user-info"
                ) from exc
            return self._companies_without_user_info(request, exc)
        except FetchError as exc:
            return self._companies_without_user_info(request, exc)

        self._finish()
        if self._request.companies is not None:
            _check_requested(self._request.companies, reply.document)
            return self._request.companies
        return companies_from_user_info(reply.document)

    def _companies_without_user_info(
        self, request: PlannedRequest, exc: FetchError
    ) -> tuple[str, ...]:
        self._fail(request, exc)
        if self._request.companies is None:
            advice = "" if exc.transient else "; name the companies with --company to fetch them anyway"
            raise TerminalFetchError(
                f"cannot discover the companies because user info failed: {exc}{advice}"
            ) from exc
        return self._request.companies

    async def fetch_company(self, company_id: str) -> None:
        fiscal_month_end = await self._fiscal_month_end(company_id)
        ids = await _run_all(
            self._list(operation_id, company_id, ID_FIELDS.get(operation_id))
            for operation_id in LIST_OPERATIONS
        )
        listed = dict(zip(LIST_OPERATIONS, ids, strict=True))
        budget_ids = listed["listBudgets"]

        start = statement_start(self._request.first_month, fiscal_month_end)
        requests = statement_requests(
            company_id, start=start, end=self._request.last_month, budget_ids=budget_ids
        )
        requests += metric_value_requests(
            company_id,
            metric_ids=listed["listNonFinancialMetrics"],
            first_month=self._request.first_month,
            last_month=self._request.last_month,
            budget_ids=budget_ids,
        )
        requests += segment_requests(
            company_id,
            first_month=self._request.first_month,
            last_month=self._request.last_month,
            class_ids=listed["listClasses"],
            department_ids=listed["listDepartments"],
        )
        self._plan(len(requests))
        await _run_all(self._single(request) for request in requests)

    async def _fiscal_month_end(self, company_id: str) -> int | None:
        """Fetch company information and return its FiscalMonthEnd, or None if unusable."""
        request = planned("getCompany", company_id)
        self._plan(1)
        try:
            reply = await self._client.send(request, parse=True)
        except FetchError as exc:
            self._fail(request, exc)
            return None
        self._finish()

        document = reply.document
        value = document.get("FiscalMonthEnd") if isinstance(document, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 12:
            return value
        log.warning(
            "company %s has no usable FiscalMonthEnd (got %r); statements start one month "
            "before the first requested month",
            company_id,
            value,
        )
        return None

    async def _list(self, operation_id: str, company_id: str, id_field: str | None) -> list[str]:
        """Fetch every page of a list; return the ids in ``id_field`` of the items that arrived."""
        request = planned(operation_id, company_id)
        self._plan(1)
        ids: list[str] = []
        try:
            async for items in self._client.pages(
                request, page_size=self._request.page_size, max_pages=self._max_pages
            ):
                if id_field is not None:
                    ids.extend(_string_values(items, id_field))
        except FetchError as exc:
            self._fail(request, exc)
        else:
            self._finish()
        return list(dict.fromkeys(ids))

    async def _single(self, request: PlannedRequest) -> None:
        try:
            # Parsed only to fail the operation on a body that is not JSON (NaN included).
            await self._client.send(request, parse=True)
        except FetchError as exc:
            self._fail(request, exc)
        else:
            self._finish()

    def _plan(self, count: int) -> None:
        self._planned += count
        self._report_progress()

    def _finish(self) -> None:
        self._done += 1
        self._report_progress()

    def _fail(self, request: PlannedRequest, exc: FetchError) -> None:
        log.warning("%s failed for company %s: %s", request.operation_id, request.company_id, exc)
        self.failed_operations += 1
        if self._on_failure is not None:
            self._on_failure(request, str(exc))
        self._finish()

    def _report_progress(self) -> None:
        if self._progress is not None:
            self._progress(self._done, self._planned)


def _check_requested(requested: tuple[str, ...], document: Any) -> None:
    """Raise ConfigError for a requested company that a readable user-info list does not name.

    A user-info body without a usable list cannot contradict the request, so it passes.
    """
    try:
        listed = companies_from_user_info(document)
    except FetchError:
        return
    unknown = [company_id for company_id in requested if company_id not in listed]
    if unknown:
        raise ConfigError(
            f"--company {unknown[0]!r} is not among the companies that user info lists for this "
            f"token ({', '.join(listed) or 'none'}); check the id or the token"
        )


def companies_from_user_info(document: Any) -> tuple[str, ...]:
    """Return the distinct non-empty CompanyId strings of a user-info body, in order."""
    companies = document.get("Companies") if isinstance(document, dict) else None
    if not isinstance(companies, list):
        raise TerminalFetchError(
            "GET /oauth2/user-info returned no 'Companies' list, so the companies cannot be "
            "discovered; name the companies explicitly"
        )
    ids = _string_values(companies, "CompanyId")
    skipped = len(companies) - len(ids)
    if skipped:
        log.warning(
            "user info lists %d companies without a usable CompanyId; skipped them", skipped
        )
    return tuple(dict.fromkeys(ids))


def _string_values(items: Sequence[Any], field: str) -> list[str]:
    values = (item.get(field) for item in items if isinstance(item, dict))
    return [value for value in values if isinstance(value, str) and value]


async def _run_all(coroutines: Iterable[Awaitable[Any]]) -> list[Any]:
    """Await the coroutines concurrently; if one raises, cancel the others and re-raise."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _check_base_url(base_url: str) -> None:
    parts = urlsplit(base_url)
    redacted_url = strip_url_secrets(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"base_url must be an http or https URL with a host, got {redacted_url!r}"
        )
    if "@" in parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"base_url must not carry user info, a query or a fragment (got {redacted_url!r} plus "
            "those parts, not shown); send credentials as the token"
        )


def _check_limits(request: FetchRequest) -> None:
    if request.max_body_bytes < 1:
        raise ConfigError(f"max_body_bytes must be at least 1, got {request.max_body_bytes!r}")
    if request.max_pages < 1:
        raise ConfigError(f"max_pages must be at least 1, got {request.max_pages!r}")
    for name in ("backoff_s", "max_retry_after_s"):
        value = getattr(request, name)
        if not (math.isfinite(value) and value >= 0):
            raise ConfigError(f"{name} must be a number of seconds >= 0, got {value!r}")


def _check_months(first_month: dt.date, last_month: dt.date) -> None:
    for name, value in (("first_month", first_month), ("last_month", last_month)):
        if not is_month_end(value):
            raise ConfigError(f"{name} must be the last day of a month, got {value.isoformat()!r}")
    if first_month > last_month:
        raise ConfigError(
            f"first_month {first_month.isoformat()!r} is after "
            f"last_month {last_month.isoformat()!r}"
        )
