"""Tokens that reach-dq obtains and renews itself, against an in-process OAuth partner."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr

from reach_dq.exceptions import ConfigError
from reach_dq.fetch.client import ReachClient, StatusError, open_http_client
from reach_dq.fetch.plan import planned
from reach_dq.fetch.tokens import (
    ClientCredentials,
    OAuthTokens,
    StaticTokens,
    TokenUnavailableError,
    token_provider,
)
from reach_dq.golive.oauth import renewal_finding
from reach_dq.findings import Outcome

BASE_URL = "http://127.0.0.1:8765"
CREDENTIALS = ClientCredentials("client-1", SecretStr("secret-1"))


class FakeOAuthPartner:
    """Authorize, token (code and refresh grants) and user-info; user-info counts token uses.

    ``reject_after`` rejects a token after that many accepted requests; ``refresh_status``
    is the status of every refresh grant response.
    """

    def __init__(self, *, expires_in: int = 3600, reject_after: int | None = None,
                 refresh_status: int = 200) -> None:
        self.expires_in = expires_in
        self.reject_after = reject_after
        self.refresh_status = refresh_status
        self.uses: dict[str, int] = {}
        self.issued = 0
        self.paths: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if request.url.path == "/oauth2/authorize":
            return httpx.Response(200, json={"code": "code-1"})
        if request.url.path == "/oauth2/token":
            return self._token(parse_qs(request.content.decode()))
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.uses:
            return httpx.Response(401, json={"Message": f"invalid token {token}"})
        self.uses[token] += 1
        if self.reject_after is not None and self.uses[token] > self.reject_after:
            return httpx.Response(401, json={"Message": f"expired token {token}"})
        return httpx.Response(200, json={"sub": "u", "name": "n", "email": "e", "Companies": []})

    def _token(self, form: dict[str, list[str]]) -> httpx.Response:
        if form.get("client_secret") != ["secret-1"]:
            return httpx.Response(401, json={"error": "invalid_client"})
        if form["grant_type"] == ["refresh_token"] and self.refresh_status != 200:
            return httpx.Response(self.refresh_status, json={
                "error": "invalid_grant", "Message": f"refresh token {form['refresh_token'][0]} spent"})
        self.issued += 1
        access = f"access-{self.issued}"
        self.uses[access] = 0
        return httpx.Response(200, json={"access_token": access, "token_type": "Bearer",
                                         "expires_in": self.expires_in,
                                         "refresh_token": f"refresh-{self.issued}"})


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run_requests(partner: FakeOAuthPartner, tokens: Any, count: int, *,
                 between: Any = None) -> tuple[list[Any], list[tuple[Any, str | None]]]:
    """Send ``count`` user-info requests one after the other; return the results and records."""
    records: list[tuple[Any, str | None]] = []

    async def main() -> list[Any]:
        transport = httpx.MockTransport(partner.handle)
        async with open_http_client(BASE_URL, timeout_s=5, concurrency=2,
                                    transport=transport) as http:
            client = ReachClient(http, token_provider=tokens, max_attempts=3, concurrency=2,
                                 timeout_s=5, recorder=lambda record, body: records.append((record, body)))
            results = []
            for _ in range(count):
                try:
                    results.append(await client.send(planned("getUserInfo"), parse=True))
                except StatusError as exc:
                    results.append(exc)
                if between is not None:
                    between()
            return results

    return asyncio.run(main()), records


def test_oauth_tokens_come_from_code_flow() -> None:
    partner = FakeOAuthPartner()

    results, records = run_requests(partner, OAuthTokens(CREDENTIALS), 1)

    assert results[0].status_code == 200
    assert partner.paths == ["/oauth2/authorize", "/oauth2/token", "/oauth2/user-info"]
    assert [(record.operation_id, body) for record, body in records[:2]] == [
        ("authorize", None), ("getToken", None)]


def test_token_calls_store_no_secret() -> None:
    partner = FakeOAuthPartner()

    _, records = run_requests(partner, OAuthTokens(CREDENTIALS), 1)

    stored = json.dumps([[str(value) for value in vars(record).values()] for record, _ in records])
    for secret in ("secret-1", "code-1", "access-1", "refresh-1"):
        assert secret not in stored


def test_expired_token_is_refreshed_once() -> None:
    partner = FakeOAuthPartner(expires_in=10)
    clock = Clock()
    tokens = OAuthTokens(CREDENTIALS, clock=clock)

    def advance() -> None:
        clock.now += 11

    results, _ = run_requests(partner, tokens, 2, between=advance)

    assert [result.status_code for result in results] == [200, 200]
    assert partner.issued == 2
    assert [(renewal.reason, renewal.succeeded) for renewal in tokens.renewals] == [("expired", True)]


def test_401_on_working_token_refreshes_and_retries() -> None:
    partner = FakeOAuthPartner(reject_after=1)
    tokens = OAuthTokens(CREDENTIALS)

    results, records = run_requests(partner, tokens, 2)

    assert [result.status_code for result in results] == [200, 200]
    assert [(renewal.reason, renewal.succeeded) for renewal in tokens.renewals] == [("rejected", True)]
    user_info = [(record.attempt, record.status_code) for record, _ in records
                 if record.operation_id == "getUserInfo"]
    assert user_info == [(1, 200), (1, 401), (2, 200)]


def test_failed_refresh_is_recorded_not_raised() -> None:
    partner = FakeOAuthPartner(reject_after=1, refresh_status=400)
    tokens = OAuthTokens(CREDENTIALS)

    results, _ = run_requests(partner, tokens, 3)

    assert results[0].status_code == 200
    assert [result.status_code for result in results[1:]] == [401, 401]
    [renewal] = tokens.renewals
    assert (renewal.reason, renewal.succeeded) == ("rejected", False)
    assert renewal.message == (
        "refresh failed: POST /oauth2/token returned HTTP 400, expected 2xx: "
        "'refresh token [token] spent'"
    )


def test_failed_refresh_becomes_failed_finding() -> None:
    partner = FakeOAuthPartner(reject_after=1, refresh_status=400)
    tokens = OAuthTokens(CREDENTIALS)
    run_requests(partner, tokens, 2)

    finding = renewal_finding(tokens.renewals)

    assert finding is not None
    assert finding.outcome is Outcome.FAILED
    assert finding.check == "oauth.token_renewal"
    assert finding.failure_count == 1


def test_new_token_rejected_at_once_is_not_refreshed() -> None:
    partner = FakeOAuthPartner(reject_after=0)
    tokens = OAuthTokens(CREDENTIALS)

    results, _ = run_requests(partner, tokens, 1)

    assert results[0].status_code == 401
    assert tokens.renewals == []
    assert partner.issued == 1


def test_static_token_is_not_renewed() -> None:
    partner = FakeOAuthPartner()
    partner.uses["static-1"] = 0
    partner.reject_after = 1

    results, _ = run_requests(partner, StaticTokens(SecretStr("static-1")), 2)

    assert [getattr(result, "status_code", None) for result in results] == [200, 401]
    assert str(results[1]) == (
        "GET /oauth2/user-info returned HTTP 401, expected 2xx: 'expired token [token]'"
    )


def test_no_token_and_no_client_is_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        token_provider(token=None, credentials=None)
    assert str(caught.value) == (
        "no access token: name one with --token-env, or give --client-id and --client-secret-env"
    )


def test_renewal_finding_is_none_without_renewals() -> None:
    assert renewal_finding([]) is None


def test_probe_reply_masks_echoed_token() -> None:
    partner = FakeOAuthPartner()
    records: list[tuple[Any, str | None]] = []

    async def main() -> Any:
        transport = httpx.MockTransport(partner.handle)
        async with open_http_client(BASE_URL, timeout_s=5, concurrency=1,
                                    transport=transport) as http:
            client = ReachClient(http, token=SecretStr("static-1"), max_attempts=1,
                                 concurrency=1, timeout_s=5,
                                 recorder=lambda record, body: records.append((record, body)))
            return await client.probe(planned("getUserInfo"), name="auth.invalid_token",
                                      token=SecretStr("echoed-secret"))

    reply = asyncio.run(main())

    assert reply.status_code == 401
    assert reply.body == '{"Message":"invalid token [token]"}'
    assert records[0][0].probe == "auth.invalid_token"


def run_probe_after_send(partner: FakeOAuthPartner, tokens: Any) -> tuple[Any, list[Any]]:
    """Send one user-info request, then one probe with the run's own token."""
    records: list[Any] = []

    async def main() -> Any:
        transport = httpx.MockTransport(partner.handle)
        async with open_http_client(BASE_URL, timeout_s=5, concurrency=1,
                                    transport=transport) as http:
            client = ReachClient(http, token_provider=tokens, max_attempts=3, concurrency=1,
                                 timeout_s=5, recorder=lambda record, body: records.append(record))
            await client.send(planned("getUserInfo"), parse=True)
            return await client.probe(planned("getUserInfo"), name="stability.closed_months")

    return asyncio.run(main()), records


def test_probe_on_expired_token_resent() -> None:
    partner = FakeOAuthPartner(reject_after=1)
    tokens = OAuthTokens(CREDENTIALS)

    reply, records = run_probe_after_send(partner, tokens)

    assert reply.status_code == 200
    probes = [(record.attempt, record.status_code) for record in records if record.probe]
    assert probes == [(1, 401), (2, 200)]


def test_probe_with_static_token_not_resent() -> None:
    partner = FakeOAuthPartner(reject_after=1)
    partner.uses["static-1"] = 0

    reply, records = run_probe_after_send(partner, StaticTokens(SecretStr("static-1")))

    assert reply.status_code == 401
    probes = [(record.attempt, record.status_code) for record in records if record.probe]
    assert probes == [(1, 401)]


def test_wrong_client_secret_asked_once() -> None:
    partner = FakeOAuthPartner()
    tokens = OAuthTokens(ClientCredentials("client-1", SecretStr("wrong-secret")))

    async def main() -> list[Exception]:
        transport = httpx.MockTransport(partner.handle)
        async with open_http_client(BASE_URL, timeout_s=5, concurrency=1,
                                    transport=transport) as http:
            client = ReachClient(http, token_provider=tokens, max_attempts=3, concurrency=1,
                                 timeout_s=5, recorder=lambda record, body: None)
            errors: list[Exception] = []
            for _ in range(2):
                with pytest.raises(TokenUnavailableError) as caught:
                    await client.send(planned("getUserInfo"), parse=True)
                errors.append(caught.value)
            return errors

    first, second = asyncio.run(main())

    assert partner.paths == ["/oauth2/authorize", "/oauth2/token"]
    assert second is first
    assert str(first) == (
        "cannot obtain an access token for client 'client-1': POST /oauth2/token returned "
        "HTTP 401, expected 2xx"
    )
