from __future__ import annotations

import pytest

from reach_dq.partner import auth
from reach_dq.partner.auth import ACCESS_TOKEN_SECONDS, TokenStore


@pytest.fixture()
def store() -> TokenStore:
    return TokenStore(access_token="configured", client_id="client", client_secret="secret")


def test_configured_token_is_accepted(store: TokenStore) -> None:
    assert store.accepts("configured")


def test_other_token_is_rejected(store: TokenStore) -> None:
    assert not store.accepts("configured-but-longer")


def test_client_check(store: TokenStore) -> None:
    assert store.client_matches("client", "secret")
    assert not store.client_matches("client", "wrong")
    assert not store.client_matches("other")


def test_code_exchange_issues_accepted_token(store: TokenStore) -> None:
    code = store.issue_code(redirect_uri="http://127.0.0.1/cb", scope="openid")
    grant = store.exchange_code(code, redirect_uri="http://127.0.0.1/cb")
    assert grant is not None
    assert (grant.scope, grant.expires_in) == ("openid", 3600)
    assert store.accepts(grant.access_token)


def test_code_is_single_use(store: TokenStore) -> None:
    code = store.issue_code(redirect_uri="http://127.0.0.1/cb", scope="openid")
    store.exchange_code(code, redirect_uri="http://127.0.0.1/cb")
    assert store.exchange_code(code, redirect_uri="http://127.0.0.1/cb") is None


def test_code_for_other_redirect_uri_is_rejected(store: TokenStore) -> None:
    code = store.issue_code(redirect_uri="http://127.0.0.1/cb", scope="openid")
    assert store.exchange_code(code, redirect_uri="http://127.0.0.1/other") is None


def test_refresh_rotates_refresh_token(store: TokenStore) -> None:
    code = store.issue_code(redirect_uri="http://127.0.0.1/cb", scope="read:company")
    first = store.exchange_code(code, redirect_uri="http://127.0.0.1/cb")
    assert first is not None
    second = store.refresh(first.refresh_token)
    assert second is not None
    assert second.scope == "read:company"
    assert store.refresh(first.refresh_token) is None
    assert store.accepts(second.access_token)


def test_issued_token_expires(store: TokenStore, monkeypatch: pytest.MonkeyPatch) -> None:
    code = store.issue_code(redirect_uri="http://127.0.0.1/cb", scope="openid")
    grant = store.exchange_code(code, redirect_uri="http://127.0.0.1/cb")
    assert grant is not None
    now = auth.time.monotonic()
    monkeypatch.setattr(auth.time, "monotonic", lambda: now + ACCESS_TOKEN_SECONDS + 1)
    assert not store.accepts(grant.access_token)
    assert store.accepts("configured")
