"""Guards of the fetch client against broken partners: pagination, backoff, TLS and echoed tokens."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import pytest

from reach_dq.exceptions import TerminalFetchError
from reach_dq.fetch.client import CertificateError, retry_delay
from tests.unit.fetch.fake_partner import TOKEN
from tests.unit.fetch.test_client import OK, Handler, Harness, responses


def page_server(pages: dict[int, tuple[list[int], int]]) -> Handler:
    """Serve the (items, total) of each offset in ``pages``."""

    def handle(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        items, total = pages[offset]
        body: dict[str, Any] = {"Data": items, "Pagination": {"offset": offset, "total": total}}
        return httpx.Response(200, json=body)

    return handle


def test_repeated_page_stops_pagination() -> None:
    harness = Harness(page_server({0: ([1, 2], 6), 2: ([1, 2], 6)}))
    with pytest.raises(TerminalFetchError) as raised:
        harness.pages(page_size=2)
    assert str(raised.value) == (
        "GET /companies/C001/classes: the page at offset 2 repeats the 2 items of the page at "
        "offset 0; stopped because the server ignores offset"
    )
    assert [record.page_offset for record in harness.records] == [0, 2]


def test_changing_total_stops_pagination() -> None:
    harness = Harness(page_server({0: ([1, 2], 4), 2: ([3, 4], 6)}))
    with pytest.raises(TerminalFetchError) as raised:
        harness.pages(page_size=2)
    assert str(raised.value) == (
        "GET /companies/C001/classes: Pagination.total changed from 4 on the page at offset 0 "
        "to 6 on the page at offset 2; stopped because the pages do not describe one list"
    )


def test_pages_beyond_total_fail() -> None:
    harness = Harness(page_server({0: ([1, 2, 3], 2)}))
    with pytest.raises(TerminalFetchError) as raised:
        harness.pages(page_size=5)
    assert str(raised.value) == (
        "GET /companies/C001/classes: the pages held 3 items, more than Pagination.total 2; "
        "stopped because records after them may be missing and the total cannot tell"
    )


def test_consistent_pages_still_pass() -> None:
    harness = Harness(page_server({0: ([1, 2], 3), 2: ([3], 3)}))
    assert harness.pages(page_size=2) == [[1, 2], [3]]


def test_backoff_setting_sets_delays() -> None:
    harness = Harness(responses(httpx.Response(503), httpx.Response(502), OK), backoff_s=0.01)
    harness.send()
    assert harness.delays == [0.01, 0.02]


def test_retry_after_cap_setting_applies() -> None:
    limited = httpx.Response(429, headers={"Retry-After": "120"})
    harness = Harness(responses(limited, OK), max_retry_after_s=2.5)
    harness.send()
    assert harness.delays == [2.5]


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(None, 0.2), (0.5, 0.5), (9.0, 1.0)],
)
def test_retry_delay_options(retry_after: float | None, expected: float) -> None:
    delay = retry_delay(2, retry_after, backoff_s=0.1, max_retry_after_s=1.0)
    assert delay == expected


def test_echoed_token_never_stored() -> None:
    echo = httpx.Response(200, json={"Message": f"hello {TOKEN}", "Again": TOKEN})
    harness = Harness(responses(echo))
    harness.send()
    assert harness.bodies == ['{"Message":"hello [token]","Again":"[token]"}']


def test_certificate_failure_is_not_retried() -> None:
    def reject(request: httpx.Request) -> httpx.Response:
        cause = ssl.SSLCertVerificationError("certificate verify failed: self-signed certificate")
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] self-signed") from cause

    harness = Harness(reject)
    with pytest.raises(CertificateError) as raised:
        harness.send()
    assert str(raised.value) == (
        "GET /companies/C001 failed: the partner's TLS certificate could not be verified "
        "(ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] self-signed); the partner must serve "
        "a certificate that a trusted CA signed, or SSL_CERT_FILE must name the CA bundle that "
        "signed it"
    )
    assert len(harness.records) == 1
    assert harness.delays == []
