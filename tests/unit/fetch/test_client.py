from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from reach_dq.exceptions import TerminalFetchError, TransientFetchError
from reach_dq.fetch.client import (
    MAX_RETRY_AFTER_S,
    ReachClient,
    Reply,
    StatusError,
    open_http_client,
    parse_retry_after,
    retry_delay,
)
from reach_dq.fetch.plan import PlannedRequest, planned
from reach_dq.warehouse.warehouse import ExchangeRecord
from tests.unit.fetch.fake_partner import BASE_URL, TOKEN

Handler = Callable[[httpx.Request], Any]
COMPANY = planned("getCompany", "C001")
CLASSES = planned("listClasses", "C001")


class Harness:
    """A ReachClient over a MockTransport that records attempts and skips backoff sleeps."""

    def __init__(self, handler: Handler, *, timeout_s: float = 5.0, **options: Any) -> None:
        self.handler = handler
        self.timeout_s = timeout_s
        self.options = {"max_attempts": 3, "concurrency": 2, **options}
        self.records: list[ExchangeRecord] = []
        self.bodies: list[str | None] = []
        self.delays: list[float] = []

    def run(self, action: Callable[[ReachClient], Awaitable[Any]]) -> Any:
        return asyncio.run(self._main(action))

    async def _main(self, action: Callable[[ReachClient], Awaitable[Any]]) -> Any:
        async with open_http_client(
            BASE_URL,
            timeout_s=self.timeout_s,
            concurrency=self.options["concurrency"],
            transport=httpx.MockTransport(self.handler),
        ) as http:
            client = ReachClient(
                http,
                token=SecretStr(TOKEN),
                recorder=self._record,
                timeout_s=self.timeout_s,
                sleep=self._sleep,
                **self.options,
            )
            return await action(client)

    def _record(self, record: ExchangeRecord, body: str | None) -> None:
        self.records.append(record)
        self.bodies.append(body)

    async def _sleep(self, seconds: float) -> None:
        self.delays.append(seconds)

    def send(self, request: PlannedRequest = COMPANY, **options: Any) -> Reply:
        return self.run(lambda client: client.send(request, **options))

    def pages(self, request: PlannedRequest = CLASSES, **options: Any) -> list[list[Any]]:
        async def collect(client: ReachClient) -> list[list[Any]]:
            return [items async for items in client.pages(request, **options)]

        return self.run(collect)


def responses(*outcomes: httpx.Response | Exception) -> Handler:
    """Return a handler that returns the responses in order and raises the exceptions among them."""
    remaining: Iterator[httpx.Response | Exception] = iter(outcomes)

    def handle(request: httpx.Request) -> httpx.Response:
        outcome = next(remaining)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return handle


OK = httpx.Response(200, json={"CompanyId": "C001"})


def test_send_retries_503_then_succeeds() -> None:
    harness = Harness(responses(httpx.Response(503), OK))
    reply = harness.send()
    assert reply == Reply(exchange_id=2, status_code=200)
    assert [record.attempt for record in harness.records] == [1, 2]
    assert [record.status_code for record in harness.records] == [503, 200]
    assert [record.exchange_id for record in harness.records] == [1, 2]
    assert harness.delays == [0.5]


def test_send_does_not_retry_404() -> None:
    harness = Harness(responses(httpx.Response(404, json={"Message": "unknown company C001"})))
    with pytest.raises(StatusError) as raised:
        harness.send()
    assert str(raised.value) == (
        "GET /companies/C001 returned HTTP 404, expected 2xx: 'unknown company C001'"
    )
    assert raised.value.status_code == 404
    assert len(harness.records) == 1
    assert harness.delays == []


def test_send_honours_retry_after_on_429() -> None:
    harness = Harness(responses(httpx.Response(429, headers={"Retry-After": "3"}), OK))
    harness.send()
    assert harness.delays == [3.0]
    assert [record.status_code for record in harness.records] == [429, 200]


def test_send_caps_long_retry_after() -> None:
    harness = Harness(responses(httpx.Response(429, headers={"Retry-After": "3600"}), OK))
    harness.send()
    assert harness.delays == [MAX_RETRY_AFTER_S]


def test_send_sleeps_for_tiny_retry_after() -> None:
    """A real sleep of 10 ms: the client waits the Retry-After time, not its own backoff."""
    handler = responses(httpx.Response(429, headers={"Retry-After": "0.01"}), OK)
    records: list[ExchangeRecord] = []

    async def main() -> float:
        async with open_http_client(
            BASE_URL, timeout_s=5, concurrency=1, transport=httpx.MockTransport(handler)
        ) as http:
            client = ReachClient(
                http,
                token=SecretStr(TOKEN),
                recorder=lambda record, body: records.append(record),
                max_attempts=2,
                concurrency=1,
                timeout_s=5,
            )
            started = asyncio.get_running_loop().time()
            await client.send(COMPANY)
            return asyncio.get_running_loop().time() - started

    elapsed = asyncio.run(main())
    assert 0.01 <= elapsed < 0.4  # the default backoff would have waited 0.5 s
    assert [record.status_code for record in records] == [429, 200]


def test_send_gives_up_after_max_attempts() -> None:
    harness = Harness(responses(httpx.Response(503), httpx.Response(502), httpx.Response(500)))
    with pytest.raises(TransientFetchError) as raised:
        harness.send()
    assert str(raised.value) == "GET /companies/C001 returned HTTP 500"
    assert [record.attempt for record in harness.records] == [1, 2, 3]
    assert harness.delays == [0.5, 1.0]


def test_send_retries_read_timeout() -> None:
    harness = Harness(responses(httpx.ReadTimeout("read timed out"), OK))
    harness.send()
    first = harness.records[0]
    assert first.status_code is None
    assert first.error == "GET /companies/C001 timed out after 5 s"
    assert harness.bodies[0] is None
    assert harness.records[1].status_code == 200


def test_send_bounds_whole_attempt_by_timeout() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(2)
        return OK

    harness = Harness(slow, timeout_s=0.05, max_attempts=1)
    with pytest.raises(TransientFetchError) as raised:
        harness.send()
    assert str(raised.value) == "GET /companies/C001 timed out after 0.05 s"


def test_send_translates_connect_error() -> None:
    harness = Harness(responses(*[httpx.ConnectError("connection refused")] * 3))
    with pytest.raises(TransientFetchError) as raised:
        harness.send()
    assert str(raised.value) == "GET /companies/C001 failed: ConnectError: connection refused"
    assert isinstance(raised.value.__cause__, httpx.ConnectError)
    assert len(harness.records) == 3


def test_send_does_not_follow_redirects() -> None:
    seen: list[str] = []

    def redirect(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://127.0.0.2/steal"})

    harness = Harness(redirect)
    with pytest.raises(StatusError) as raised:
        harness.send()
    assert str(raised.value) == "GET /companies/C001 returned HTTP 302, expected 2xx"
    assert seen == [f"{BASE_URL}/companies/C001"]


def test_send_sets_headers() -> None:
    seen: list[httpx.Request] = []

    def capture(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return OK

    Harness(capture).send()
    headers = seen[0].headers
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["user-agent"] == "reach-dq/0.1.0"
    assert headers["accept"] == "application/json"


def test_send_redacts_echoed_token() -> None:
    echo = httpx.Response(403, json={"Message": f"token {TOKEN} is not allowed"})
    harness = Harness(responses(echo))
    with pytest.raises(StatusError) as raised:
        harness.send()
    assert str(raised.value) == (
        "GET /companies/C001 returned HTTP 403, expected 2xx: 'token [token] is not allowed'"
    )


def test_records_carry_no_token() -> None:
    harness = Harness(responses(httpx.Response(503), OK))
    harness.send()
    assert not [record for record in harness.records if TOKEN in repr(record)]


def test_send_parses_decimals() -> None:
    harness = Harness(responses(httpx.Response(200, content=b'{"Amount": 0.1, "Count": 3}')))
    reply = harness.send(parse=True)
    assert reply.document == {"Amount": Decimal("0.1"), "Count": 3}


def test_send_rejects_invalid_json_when_parsing() -> None:
    harness = Harness(responses(httpx.Response(200, content=b'{"Data": [')))
    with pytest.raises(TerminalFetchError) as raised:
        harness.send(parse=True)
    message = "response body is not valid JSON: Expecting value: line 1 column 11 (char 10)"
    assert str(raised.value) == (
        "GET /companies/C001 returned HTTP 200 with a body that is not valid JSON "
        "(no Content-Type): Expecting value: line 1 column 11 (char 10)"
    )
    assert harness.records[0].error == message
    assert harness.bodies == ['{"Data": [']


def test_send_rejects_nan_when_parsing() -> None:
    harness = Harness(responses(httpx.Response(200, content=b'{"Amount": NaN}')))
    with pytest.raises(TerminalFetchError) as raised:
        harness.send(parse=True)
    assert str(raised.value) == (
        "GET /companies/C001 returned HTTP 200 with a body that is not valid JSON "
        "(no Content-Type): NaN is not a valid JSON number"
    )


def test_send_stores_invalid_utf8_with_note() -> None:
    harness = Harness(responses(httpx.Response(200, content=b'{"Name": "\xff"}')))
    harness.send()
    assert harness.bodies == ['{"Name": "\ufffd"}']
    assert harness.records[0].error == (
        "response body is not valid UTF-8 (invalid start byte at byte 10)"
    )


def test_send_rejects_oversized_body() -> None:
    harness = Harness(responses(httpx.Response(200, content=b"x" * 11)), max_body_bytes=10)
    with pytest.raises(TerminalFetchError) as raised:
        harness.send()
    assert str(raised.value) == (
        "GET /companies/C001 failed: response body exceeds 10 bytes; not stored"
    )
    assert harness.bodies == [None]
    assert harness.records[0].status_code == 200


def test_send_records_exchange_fields() -> None:
    harness = Harness(responses(httpx.Response(200, json={"Data": []})))
    harness.send(CLASSES, page_offset=0, page_limit=50)
    record = harness.records[0]
    assert record.operation_id == "listClasses"
    assert record.dataset == "classes"
    assert record.company_id == "C001"
    assert record.method == "GET"
    assert record.path == "/companies/C001/classes?offset=0&limit=50"
    assert record.page_offset == 0
    assert record.page_limit == 50
    assert record.content_type == "application/json"
    assert record.bytes == len(b'{"Data":[]}')
    assert record.error is None
    assert record.started_at.tzinfo == dt.timezone.utc


def test_concurrency_bounds_attempts_in_flight() -> None:
    in_flight = 0
    peak = 0

    async def count(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return OK

    async def send_six(client: ReachClient) -> list[Reply]:
        return await asyncio.gather(*(client.send(COMPANY) for _ in range(6)))

    Harness(count, concurrency=2).run(send_six)
    assert peak == 2


def paged(items: list[int], *, total: int | None = None) -> Handler:
    """Serve ``items`` in pages, claiming ``total`` (default: the true count)."""

    def handle(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        limit = int(request.url.params["limit"])
        body: dict[str, Any] = {"Data": items[offset : offset + limit]}
        claimed = total if total is not None else len(items)
        body["Pagination"] = {"offset": offset, "limit": limit, "total": claimed}
        return httpx.Response(200, json=body)

    return handle


def test_pages_follow_total_across_three_pages() -> None:
    harness = Harness(paged(list(range(7))))
    pages = harness.pages(page_size=3)
    assert pages == [[0, 1, 2], [3, 4, 5], [6]]
    assert [record.page_offset for record in harness.records] == [0, 3, 6]


def test_pages_stop_when_offset_reaches_total() -> None:
    harness = Harness(paged(list(range(6))))
    harness.pages(page_size=3)
    assert [record.page_offset for record in harness.records] == [0, 3]


def test_pages_stop_on_empty_page() -> None:
    harness = Harness(paged(list(range(4)), total=10))
    pages = harness.pages(page_size=3)
    assert pages == [[0, 1, 2], [3], []]


def test_pages_without_total_stop_on_short_page() -> None:
    def no_total(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        return httpx.Response(200, json={"Data": list(range(5))[offset : offset + 3]})

    pages = Harness(no_total).pages(page_size=3)
    assert pages == [[0, 1, 2], [3, 4]]


def test_endless_pagination_stops_at_page_cap() -> None:
    def endless(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        return httpx.Response(200, json={"Data": [offset], "Pagination": {"total": 10**9}})

    harness = Harness(endless)
    with pytest.raises(TerminalFetchError) as raised:
        harness.pages(page_size=1, max_pages=5)
    assert str(raised.value) == (
        "GET /companies/C001/classes still had more pages after 5 pages (5 items); "
        "stopped because the server's pagination does not end"
    )
    assert len(harness.records) == 5


def test_page_without_data_list_fails() -> None:
    harness = Harness(responses(httpx.Response(200, json={"Data": None})))
    with pytest.raises(TerminalFetchError) as raised:
        harness.pages(page_size=3)
    assert str(raised.value) == "GET /companies/C001/classes returned a page without a 'Data' list"


@pytest.mark.parametrize(
    ("attempt", "retry_after", "expected"),
    [
        (1, None, 0.5),
        (2, None, 1.0),
        (3, None, 2.0),
        (10, None, 8.0),
        (1, 0.0, 0.0),
        (1, 99.0, 30.0),
    ],
)
def test_retry_delay(attempt: int, retry_after: float | None, expected: float) -> None:
    assert retry_delay(attempt, retry_after) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        ("0", 0.0),
        ("0.25", 0.25),
        ("-1", None),
        ("nan", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    now = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
    header = email.utils.format_datetime(now + dt.timedelta(seconds=10), usegmt=True)
    assert parse_retry_after(header, now=now) == 10.0
