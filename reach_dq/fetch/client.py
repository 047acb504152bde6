"""HTTP exchanges with a partner's Reach API: sending, retrying, recording and pagination.

httpx errors become reach-dq fetch errors here and nowhere else. Timeouts, connection errors,
429 and 500/502/503/504 are transient and retried with exponential backoff. Every other failure
is terminal and raised at once. Every attempt is handed to the recorder as soon as it completes,
so the client keeps no body after its attempt. The fetch's recorder queues the bodies for a
writer thread, up to a limit (``reach_dq.fetch.writer``). Redirects are not followed, so the
token never travels to another host.
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
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import httpx
from pydantic import SecretStr

from reach_dq import __version__
from reach_dq.exceptions import FetchError, TerminalFetchError, TransientFetchError
from reach_dq.fetch.plan import PlannedRequest
from reach_dq.fetch.tokens import StaticTokens, TokenProvider
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
MIN_REDACTED_CHARS = 8  # shortest token that is masked in stored bodies

Recorder = Callable[[ExchangeRecord, str | None], None]
Sleep = Callable[[float], Awaitable[None]]


class StatusError(TerminalFetchError):
    """A response whose status code is neither 2xx nor transient, such as 401 or 404."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class CertificateError(TerminalFetchError):
    """The partner's TLS certificate failed verification, so no request to that host can succeed."""


@dataclasses.dataclass(frozen=True)
class Reply:
    """A 2xx response; ``document`` is the parsed JSON body when parsing was requested."""

    exchange_id: int
    status_code: int
    document: Any = None


@dataclasses.dataclass(frozen=True)
class ProbeReply:
    """What one probe request got back: any status, or ``error`` when no response arrived."""

    exchange_id: int
    status_code: int | None
    content_type: str | None
    body: str | None
    error: str | None
    latency_ms: float


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
        token: SecretStr | None = None,
        recorder: Recorder,
        max_attempts: int,
        concurrency: int,
        timeout_s: float,
        sleep: Sleep = asyncio.sleep,
        max_body_bytes: int = MAX_BODY_BYTES,
        token_provider: TokenProvider | None = None,
        first_exchange_id: int = 1,
        backoff_s: float = BACKOFF_BASE_S,
        max_retry_after_s: float = MAX_RETRY_AFTER_S,
    ) -> None:
        """Use ``token_provider`` for tokens when given, else the static ``token``.

        ``first_exchange_id`` numbers the first exchange, so a later stage can add exchanges to
        a snapshot after those of the fetch.
        """
        self._http = http
        if token_provider is None:
            if token is None:
                raise ValueError("ReachClient needs a token or a token_provider")
            token_provider = StaticTokens(token)
        self.tokens = token_provider
        self._recorder = recorder
        self._max_attempts = max_attempts
        self._semaphore = asyncio.Semaphore(concurrency)
        self._timeout_s = timeout_s
        self._sleep = sleep
        self._max_body_bytes = max_body_bytes
        self._backoff_s = backoff_s
        self._max_retry_after_s = max_retry_after_s
        self._last_exchange_id = first_exchange_id - 1
        self.exchanges = 0
        self.failed_exchanges = 0

    async def send(
        self,
        request: PlannedRequest,
        *,
        parse: bool = False,
        page_offset: int | None = None,
        page_limit: int | None = None,
        authenticate: bool = True,
        keep_body: bool = True,
        form: Mapping[str, str] | None = None,
        probe: str | None = None,
    ) -> Reply:
        """Send ``request`` until it succeeds, fails terminally or runs out of attempts.

        With ``parse`` the body must be JSON; numbers with a fraction become ``Decimal``.
        Raises ``TransientFetchError`` after the last transient failure, ``StatusError`` for
        another non-2xx status and ``TerminalFetchError`` for any other unusable response.
        A 401 on a token that the token provider can renew is tried again with the new token.
        Without ``authenticate`` no Authorization header is sent; without ``keep_body`` the
        body is not recorded (token responses); ``form`` is sent form-urlencoded; ``probe``
        names the go-live probe that sends the request.
        """
        target = request.target(page_offset=page_offset, page_limit=page_limit)
        for attempt_number in range(1, self._max_attempts + 1):
            # Obtained before taking a slot: a token request needs a slot of its own.
            token = await self.tokens.current(self) if authenticate else None
            async with self._semaphore:
                exchange_id = self._next_exchange_id()  # numbered in the order they are sent
                attempt = await self._exchange(request, target, token=token, form=form)
            document, error = self._judge(attempt, request, target, parse)
            self._count(failed=error is not None)
            self._record(
                request, target, exchange_id, attempt_number, attempt, page_offset, page_limit,
                keep_body=keep_body, probe=probe,
            )

            if error is None:
                assert attempt.status_code is not None  # a response without error has a status
                if token is not None:
                    self.tokens.accepted(token)
                return Reply(exchange_id, attempt.status_code, document)
            if attempt_number == self._max_attempts:
                raise error
            if token is not None and _rejects_token(error) and await self.tokens.renew(self, token):
                log.info("retrying %s %s with a renewed access token", request.method, target)
                continue
            if not error.transient:
                raise error

            delay = retry_delay(
                attempt_number,
                _retry_after(attempt),
                backoff_s=self._backoff_s,
                max_retry_after_s=self._max_retry_after_s,
            )
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

    async def probe(
        self,
        request: PlannedRequest,
        *,
        name: str,
        authenticate: bool = True,
        token: SecretStr | None = None,
        page_offset: int | None = None,
        page_limit: int | None = None,
    ) -> ProbeReply:
        """Send ``request`` once as the go-live probe ``name`` and return whatever came back.

        Probes test how the partner handles wrong requests, so no status is an error here and
        nothing is retried, with one exception: a probe sent with the run's own token that gets
        a 401 is sent once more when the token provider renews the token, because that token
        expired while the probe waited for a connection. ``token`` replaces the provider's token, and without
        ``authenticate`` no Authorization header is sent. The exchange is recorded with ``name``
        in its ``probe`` column. The returned body has every known token, ``token`` included,
        replaced by ``[token]``.
        """
        target = request.target(page_offset=page_offset, page_limit=page_limit)
        own_token = token is None and authenticate
        if own_token:
            token = await self.tokens.current(self)
        exchange_id, attempt = await self._probe_once(
            request, target, token, name, page_offset, page_limit, attempt_number=1
        )
        if own_token and attempt.status_code == 401 and await self.tokens.renew(self, token):
            # The run's own token expired while the probe waited: the probe tests the partner's
            # handling of the request, not the token, so it is sent once more with the new one.
            log.info("probe %s: resending with a renewed access token", name)
            token = await self.tokens.current(self)
            exchange_id, attempt = await self._probe_once(
                request, target, token, name, page_offset, page_limit, attempt_number=2
            )
        content_type = attempt.headers.get("content-type") if attempt.headers else None
        error = str(attempt.error) if attempt.error is not None else attempt.note
        # Probe findings quote bodies, so a token that the partner echoes is masked here.
        body = self._redact(attempt.body) if attempt.body is not None else None
        if body is not None and token is not None and _redactable(token.get_secret_value()):
            body = body.replace(token.get_secret_value(), "[token]")
        return ProbeReply(exchange_id, attempt.status_code, content_type, body, error,
                          attempt.latency_ms)

    async def _probe_once(
        self,
        request: PlannedRequest,
        target: str,
        token: SecretStr | None,
        name: str,
        page_offset: int | None,
        page_limit: int | None,
        *,
        attempt_number: int,
    ) -> tuple[int, _Attempt]:
        async with self._semaphore:
            exchange_id = self._next_exchange_id()
            attempt = await self._exchange(request, target, token=token)
        self._count(failed=attempt.error is not None)
        self._record(
            request, target, exchange_id, attempt_number, attempt, page_offset, page_limit,
            probe=name,
        )
        return exchange_id, attempt

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
        ``TerminalFetchError`` for a page without a ``Data`` list, a page that repeats the
        previous page's items, a total that differs from the first page's, pages that hold
        more items than the total, or after ``max_pages`` pages.
        """
        offset = 0
        first: _Page | None = None
        previous: _Page | None = None
        for _ in range(max_pages):
            reply = await self.send(request, parse=True, page_offset=offset, page_limit=page_size)
            items, total = _page_contents(reply.document, request.method, request.target())
            page = _Page(offset, items, total)
            if first is not None and previous is not None:
                _check_next_page(request, first, previous, page)
            yield items

            first, previous = first or page, page
            offset += len(items)
            if total is not None and offset > total:
                raise TerminalFetchError(
                    f"{request.method} {request.target()}: the pages held {offset} items, more "
                    f"than Pagination.total {total}; stopped because records after them may be "
                    "missing and the total cannot tell"
                )
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

    async def _exchange(
        self,
        request: PlannedRequest,
        target: str,
        *,
        token: SecretStr | None,
        form: Mapping[str, str] | None = None,
    ) -> _Attempt:
        attempt = _Attempt(started_at=dt.datetime.now(dt.timezone.utc))
        started = time.perf_counter()
        try:
            await self._translate_errors(request, target, attempt, token=token, form=form)
        except FetchError as error:
            attempt.error = error
        attempt.latency_ms = (time.perf_counter() - started) * 1000
        return attempt

    async def _translate_errors(
        self,
        request: PlannedRequest,
        target: str,
        attempt: _Attempt,
        *,
        token: SecretStr | None,
        form: Mapping[str, str] | None,
    ) -> None:
        where = f"{request.method} {target}"
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._receive(request, target, attempt, token=token, form=form)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise TransientFetchError(f"{where} timed out after {self._timeout_s:g} s") from exc
        except httpx.TransportError as exc:
            reason = f"{type(exc).__name__}: {self._redact(str(exc))}"
            if _certificate_rejected(exc):
                raise CertificateError(
                    f"{where} failed: the partner's TLS certificate could not be verified "
                    f"({reason}); the partner must serve a certificate that a trusted CA signed, "
                    "or SSL_CERT_FILE must name the CA bundle that signed it"
                ) from exc
            raise TransientFetchError(f"{where} failed: {reason}") from exc
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {self._redact(str(exc))}"
            raise TerminalFetchError(f"{where} failed: {reason}") from exc

    async def _receive(
        self,
        request: PlannedRequest,
        target: str,
        attempt: _Attempt,
        *,
        token: SecretStr | None,
        form: Mapping[str, str] | None,
    ) -> None:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        async with self._http.stream(
            request.method,
            target,
            headers=headers,
            json=dict(request.json_body) if request.json_body is not None else None,
            data=dict(form) if form is not None else None,
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
            media = attempt.headers.get("content-type") if attempt.headers else None
            described = f"Content-Type {media!r}" if media else "no Content-Type"
            return None, TerminalFetchError(
                f"{where} returned HTTP {status} with a body that is not valid JSON "
                f"({described}): {exc}"
            )

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
        for secret in self.tokens.secrets():
            if _redactable(secret):
                text = text.replace(secret, "[token]")
        return text

    def _record(
        self,
        request: PlannedRequest,
        target: str,
        exchange_id: int,
        attempt_number: int,
        attempt: _Attempt,
        page_offset: int | None,
        page_limit: int | None,
        *,
        keep_body: bool = True,
        probe: str | None = None,
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
            probe=probe,
        )
        # A partner that echoes the token in a body must not get it into the warehouse.
        body = self._redact_body(attempt.body) if keep_body and attempt.body is not None else None
        self._recorder(record, body)

    def _redact_body(self, body: str) -> str:
        """Return ``body`` with every token of ``MIN_REDACTED_CHARS`` characters or more masked.

        A shorter token, such as the ``t`` of a test server, would replace letters of ordinary
        text and corrupt the stored body, so it is left in place.
        """
        for secret in self.tokens.secrets():
            if len(secret) >= MIN_REDACTED_CHARS:
                body = body.replace(secret, "[token]")
        return body


def _rejects_token(error: FetchError) -> bool:
    return isinstance(error, StatusError) and error.status_code == 401


def parse_json(text: str) -> Any:
    """Parse a JSON body exactly: fractions become ``Decimal``; NaN and Infinity are rejected."""
    try:
        return json.loads(text, parse_float=decimal.Decimal, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise ValueError("nesting is too deep to parse") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def retry_delay(
    attempt_number: int,
    retry_after_s: float | None,
    *,
    backoff_s: float = BACKOFF_BASE_S,
    max_retry_after_s: float = MAX_RETRY_AFTER_S,
) -> float:
    """Return seconds to wait after failed attempt ``attempt_number`` (1-based).

    A Retry-After header wins, shortened to ``max_retry_after_s``. Without one the wait is
    ``backoff_s`` doubled for each further attempt, at most ``MAX_BACKOFF_S``.
    """
    if retry_after_s is not None:
        return min(retry_after_s, max_retry_after_s)
    return min(backoff_s * 2 ** (attempt_number - 1), MAX_BACKOFF_S)


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


def _certificate_rejected(exc: BaseException) -> bool:
    """Return whether ``exc`` was caused by a failed TLS certificate verification."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


@dataclasses.dataclass(frozen=True)
class _Page:
    offset: int
    items: list[Any]
    total: int | None


def _check_next_page(request: PlannedRequest, first: _Page, previous: _Page, page: _Page) -> None:
    """Raise ``TerminalFetchError`` when ``page`` shows that the server's pagination is broken.

    A page with the same items as the page before means the server ignores ``offset``, so
    following it would only fetch the same items again. A total that changes between pages
    means the list cannot be read consistently, and a total that keeps growing never ends.
    """
    where = f"{request.method} {request.target()}"
    if page.items and page.items == previous.items:
        raise TerminalFetchError(
            f"{where}: the page at offset {page.offset} repeats the {len(page.items)} items of "
            f"the page at offset {previous.offset}; stopped because the server ignores offset"
        )
    if first.total is not None and page.total != first.total:
        raise TerminalFetchError(
            f"{where}: Pagination.total changed from {first.total} on the page at offset "
            f"{first.offset} to {page.total!r} on the page at offset {page.offset}; stopped "
            "because the pages do not describe one list"
        )


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


# NOTE: a secret shorter than this is not replaced in stored text, because replacing every
# occurrence of one or two characters would corrupt the bodies (a token "t" would rewrite
# "Data"). Real access tokens are far longer.
MIN_REDACTED_SECRET_CHARS = 8


def _redactable(secret: str) -> bool:
    return len(secret) >= MIN_REDACTED_SECRET_CHARS
