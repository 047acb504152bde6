"""HTTP exchanges with a partner's Reach API: sending, retrying, recording and pagination.

httpx errors become reach-dq fetch errors here and nowhere else. Timeouts, connection errors,
429 and 500/502/503/504 are transient and retried with exponential backoff. Every other failure
is terminal and raised at once. Every attempt is handed to the recorder as soon as it completes,
so bodies never accumulate in memory. Redirects are not followed, so the token never travels to
another host.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import decimal
import email.utils
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from pydantic import SecretStr

from reach_dq import __version__
from reach_dq.exceptions import FetchError, TerminalFetchError, TransientFetchError
from reach_dq.fetch.plan import PlannedRequest
from reach_dq.warehouse.warehouse import ExchangeRecord

log = logging.getLogger(__name__)

USER_AGENT = f"reach-dq/{__version__}"
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE_S = 0.5  # delay before the second attempt; doubles for each further attempt
MAX_BACKOFF_S = 8.0
MAX_RETRY_AFTER_S = 30.0  # a longer Retry-After is shortened to this
MAX_PAGES = 10_000  # guards against a server whose pagination never ends
MAX_BODY_BYTES = 256 * 1024 * 1024
MAX_MESSAGE_CHARS = 200  # of a partner's error message quoted in our own

Recorder = Callable[[ExchangeRecord, str | None], None]
Sleep = Callable[[float], Awaitable[None]]


class StatusError(TerminalFetchError):
    """A response whose status code is neither 2xx nor transient, such as 401 or 404."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclasses.dataclass(frozen=True)
class Reply:
    """A 2xx response; ``document`` is the parsed JSON body when parsing was requested."""

    exchange_id: int
    status_code: int
    document: Any = None


@dataclasses.dataclass
class _Attempt:
    started_at: dt.datetime
    latency_ms: float = 0.0
    status_code: int | None = None
    headers: httpx.Headers | None = None
    content: bytes | None = None
    body: str | None = None
    note: str | None = None  # problem with a received body, stored in the error column
    error: FetchError | None = None


def open_http_client(
    base_url: str,
    *,
    timeout_s: float,
    concurrency: int,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """Return an httpx client for the partner's base URL with reach-dq's headers and limits."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        timeout=httpx.Timeout(timeout_s),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        follow_redirects=False,
        transport=transport,
    )


class ReachClient:
    """Send planned requests with retries and record every attempt.

    At most ``concurrency`` attempts are in flight at once; backoff sleeps hold no slot.
    ``timeout_s`` bounds each whole attempt, including reading the body.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token: SecretStr,
        recorder: Recorder,
        max_attempts: int,
        concurrency: int,
        timeout_s: float,
        sleep: Sleep = asyncio.sleep,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._http = http
        self._token = token
        self._recorder = recorder
        self._max_attempts = max_attempts
        self._semaphore = asyncio.Semaphore(concurrency)
        self._timeout_s = timeout_s
        self._sleep = sleep
        self._max_body_bytes = max_body_bytes
        self._last_exchange_id = 0
        self.exchanges = 0
        self.failed_exchanges = 0

    async def send(
        self,
        request: PlannedRequest,
        *,
        parse: bool = False,
        page_offset: int | None = None,
        page_limit: int | None = None,
    ) -> Reply:
        """Send ``request`` until it succeeds, fails terminally or runs out of attempts.

        With ``parse`` the body must be JSON; numbers with a fraction become ``Decimal``.
        Raises ``TransientFetchError`` after the last transient failure, ``StatusError`` for
        another non-2xx status and ``TerminalFetchError`` for any other unusable response.
        """
        target = request.target(page_offset=page_offset, page_limit=page_limit)
        for attempt_number in range(1, self._max_attempts + 1):
            async with self._semaphore:
                exchange_id = self._next_exchange_id()  # numbered in the order they are sent
                attempt = await self._exchange(request, target)
            document, error = self._judge(attempt, request, target, parse)
            self._count(failed=error is not None)
            self._record(
                request, target, exchange_id, attempt_number, attempt, page_offset, page_limit
            )

            if error is None:
                assert attempt.status_code is not None  # a response without error has a status
                return Reply(exchange_id, attempt.status_code, document)
            if not error.transient or attempt_number == self._max_attempts:
                raise error

            delay = retry_delay(attempt_number, _retry_after(attempt))
            log.warning(
                "retrying %s %s in %.1f s (attempt %d of %d failed: %s)",
                request.method,
                target,
                delay,
                attempt_number,
                self._max_attempts,
                error,
            )
            await self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def pages(
        self,
        request: PlannedRequest,
        *,
        page_size: int,
        max_pages: int = MAX_PAGES,
    ) -> AsyncIterator[list[Any]]:
        """Yield the ``Data`` items of each page of a paginated list.

        Stops when the next offset reaches ``Pagination.total`` or a page is empty. Without a
        usable total it stops after a page shorter than ``page_size``. Raises
        ``TerminalFetchError`` for a page without a ``Data`` list or after ``max_pages`` pages.
        """
        offset = 0
        for _ in range(max_pages):
            reply = await self.send(request, parse=True, page_offset=offset, page_limit=page_size)
            items, total = _page_contents(reply.document, request.method, request.target())
            yield items

            offset += len(items)
            if not items or (total is not None and offset >= total):
                return
            if total is None and len(items) < page_size:
                return
        raise TerminalFetchError(
            f"{request.method} {request.target()} still had more pages after {max_pages} pages "
            f"({offset} items); stopped because the server's pagination does not end"
        )

    def _count(self, *, failed: bool) -> None:
        self.exchanges += 1
        self.failed_exchanges += int(failed)

    def _next_exchange_id(self) -> int:
        self._last_exchange_id += 1
        return self._last_exchange_id

    async def _exchange(self, request: PlannedRequest, target: str) -> _Attempt:
        attempt = _Attempt(started_at=dt.datetime.now(dt.timezone.utc))
        started = time.perf_counter()
        try:
            await self._translate_errors(request, target, attempt)
        except FetchError as error:
            attempt.error = error
        attempt.latency_ms = (time.perf_counter() - started) * 1000
        return attempt

    async def _translate_errors(
        self, request: PlannedRequest, target: str, attempt: _Attempt
    ) -> None:
        where = f"{request.method} {target}"
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._receive(request, target, attempt)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise TransientFetchError(f"{where} timed out after {self._timeout_s:g} s") from exc
        except httpx.TransportError as exc:
            reason = f"{type(exc).__name__}: {self._redact(str(exc))}"
            raise TransientFetchError(f"{where} failed: {reason}") from exc
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {self._redact(str(exc))}"
            raise TerminalFetchError(f"{where} failed: {reason}") from exc

    async def _receive(self, request: PlannedRequest, target: str, attempt: _Attempt) -> None:
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        async with self._http.stream(
            request.method,
            target,
            headers=headers,
            json=dict(request.json_body) if request.json_body is not None else None,
        ) as response:
            attempt.status_code = response.status_code
            attempt.headers = response.headers
            attempt.content = await self._read_body(response)
        if attempt.content is None:
            attempt.note = f"response body exceeds {self._max_body_bytes} bytes; not stored"
            return
        try:
            attempt.body = attempt.content.decode("utf-8")
        except UnicodeDecodeError as exc:
            attempt.body = attempt.content.decode("utf-8", errors="replace")
            attempt.note = f"response body is not valid UTF-8 ({exc.reason} at byte {exc.start})"

    async def _read_body(self, response: httpx.Response) -> bytes | None:
        """Return the decoded body, or None once it grows past ``max_body_bytes``."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_body_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def _judge(
        self, attempt: _Attempt, request: PlannedRequest, target: str, parse: bool
    ) -> tuple[Any, FetchError | None]:
        """Return the parsed document (if requested) and the failure of this attempt, if any."""
        if attempt.error is not None:
            return None, attempt.error
        status = attempt.status_code
        assert status is not None  # set whenever no transport error occurred
        where = f"{request.method} {target}"
        if status in TRANSIENT_STATUSES:
            message = f"{where} returned HTTP {status}{self._quote(attempt)}"
            return None, TransientFetchError(message)
        if not 200 <= status < 300:
            message = f"{where} returned HTTP {status}, expected 2xx{self._quote(attempt)}"
            return None, StatusError(message, status_code=status)
        if attempt.body is None:
            return None, TerminalFetchError(f"{where} failed: {attempt.note}")
        if not parse:
            return None, None

        try:
            return parse_json(attempt.body), None
        except ValueError as exc:
            attempt.note = f"response body is not valid JSON: {exc}"
            return None, TerminalFetchError(f"{where} returned a {attempt.note}")

    def _quote(self, attempt: _Attempt) -> str:
        """Return ": <Message>" from a JSON error body, or an empty string without one."""
        try:
            document = parse_json(attempt.body or "")
        except ValueError:
            return ""
        message = document.get("Message") if isinstance(document, dict) else None
        if not isinstance(message, str):
            return ""
        return f": {self._redact(message)[:MAX_MESSAGE_CHARS]!r}"

    def _redact(self, text: str) -> str:
        secret = self._token.get_secret_value()
        return text.replace(secret, "[token]") if secret else text

    def _record(
        self,
        request: PlannedRequest,
        target: str,
        exchange_id: int,
        attempt_number: int,
        attempt: _Attempt,
        page_offset: int | None,
        page_limit: int | None,
    ) -> None:
        status = attempt.status_code
        error = str(attempt.error) if attempt.error is not None else attempt.note
        outcome = status if status is not None else type(attempt.error).__name__
        log.info("%s %s -> %s in %.0f ms", request.method, target, outcome, attempt.latency_ms)

        record = ExchangeRecord(
            exchange_id=exchange_id,
            operation_id=request.operation_id,
            dataset=request.dataset,
            company_id=request.company_id,
            method=request.method,
            path=target,
            attempt=attempt_number,
            started_at=attempt.started_at,
            status_code=status,
            content_type=attempt.headers.get("content-type") if attempt.headers else None,
            latency_ms=round(attempt.latency_ms, 3),
            bytes=len(attempt.content) if attempt.content is not None else None,
            error=error,
            basis=request.basis,
            budget_id=request.budget_id,
            class_id=request.class_id,
            department_id=request.department_id,
            page_offset=page_offset,
            page_limit=page_limit,
            start_date=request.start_date,
            end_date=request.end_date,
        )
        self._recorder(record, attempt.body)


def parse_json(text: str) -> Any:
    """Parse a JSON body exactly: fractions become ``Decimal``; NaN and Infinity are rejected."""
    try:
        return json.loads(text, parse_float=decimal.Decimal, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise ValueError("nesting is too deep to parse") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def retry_delay(attempt_number: int, retry_after_s: float | None) -> float:
    """Return seconds to wait after failed attempt ``attempt_number`` (1-based)."""
    if retry_after_s is not None:
        return min(retry_after_s, MAX_RETRY_AFTER_S)
    return min(BACKOFF_BASE_S * 2 ** (attempt_number - 1), MAX_BACKOFF_S)


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Return the delay a Retry-After header requests, in seconds; None if absent or invalid.

    Accepts both forms that HTTP defines, delay-seconds and an HTTP date, and tolerates a
    fraction of a second.
    """
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        return _seconds_until(value, now or dt.datetime.now(dt.timezone.utc))
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _seconds_until(http_date: str, now: dt.datetime) -> float | None:
    try:
        moment = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (moment - now).total_seconds())


def _retry_after(attempt: _Attempt) -> float | None:
    if attempt.headers is None:
        return None
    return parse_retry_after(attempt.headers.get("retry-after"))


def _page_contents(document: Any, method: str, target: str) -> tuple[list[Any], int | None]:
    """Return a page's items and its usable ``Pagination.total`` (None when absent or invalid)."""
    items = document.get("Data") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise TerminalFetchError(f"{method} {target} returned a page without a 'Data' list")
    pagination = document.get("Pagination")
    total = pagination.get("total") if isinstance(pagination, dict) else None
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        return items, None
    return items, total

