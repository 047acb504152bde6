"""Tokens of the partner server: the configured access token, and OAuth codes and tokens it issues.

The configured token never expires. Issued access tokens expire after ``ACCESS_TOKEN_SECONDS``
unless the server is configured otherwise. Authorization codes are single-use and expire after
``CODE_SECONDS``. A refresh token is single-use too, because every refresh returns a new one.

Tokens are scoped to customers. The configured token and every issued token belong to the main
customer. Each customer token (``customer_tokens``) belongs to a customer of its own and reads
only the companies listed for it.
"""

from __future__ import annotations

import dataclasses
import hmac
import secrets
import threading
import time
from collections.abc import Mapping

ACCESS_TOKEN_SECONDS = 3600
CODE_SECONDS = 600
SCOPES_SUPPORTED = ("openid", "profile", "email", "phone", "read:company")
DEFAULT_SCOPE = "openid profile email read:company"


@dataclasses.dataclass(frozen=True)
class TokenGrant:
    access_token: str
    refresh_token: str
    scope: str
    expires_in: int = ACCESS_TOKEN_SECONDS


@dataclasses.dataclass(frozen=True)
class _Code:
    redirect_uri: str
    scope: str
    expires_at: float


class TokenStore:
    """Issues and checks tokens; safe to use from the server's worker threads."""

    def __init__(
        self,
        *,
        access_token: str,
        client_id: str,
        client_secret: str,
        customer_tokens: Mapping[str, tuple[str, ...]] | None = None,
        access_token_seconds: int = ACCESS_TOKEN_SECONDS,
    ) -> None:
        self._configured = access_token
        self._client_id = client_id
        self._client_secret = client_secret
        self._customers = dict(customer_tokens or {})
        self._access_token_seconds = access_token_seconds
        self._access: dict[str, float] = {}  # token -> expiry on the monotonic clock
        self._refresh: dict[str, str] = {}  # refresh token -> scope
        self._codes: dict[str, _Code] = {}
        self._lock = threading.Lock()

    @property
    def configured_token(self) -> str:
        return self._configured

    def accepts(self, token: str) -> bool:
        """Return whether ``token`` is the configured token, a customer token or an issued one."""
        if hmac.compare_digest(token.encode(), self._configured.encode()):
            return True
        if self.customer_companies(token) is not None:
            return True
        with self._lock:
            expires_at = self._access.get(token)
        return expires_at is not None and time.monotonic() < expires_at

    def customer_companies(self, token: str) -> tuple[str, ...] | None:
        """Return the companies of a customer token; None for any other token."""
        for customer_token, companies in self._customers.items():
            if hmac.compare_digest(token.encode(), customer_token.encode()):
                return companies
        return None

    def client_matches(self, client_id: str, client_secret: str | None = None) -> bool:
        """Check the client id, and the client secret when one is given."""
        if not hmac.compare_digest(client_id.encode(), self._client_id.encode()):
            return False
        if client_secret is None:
            return True
        return hmac.compare_digest(client_secret.encode(), self._client_secret.encode())

    def issue_code(self, *, redirect_uri: str, scope: str) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(redirect_uri, scope, time.monotonic() + CODE_SECONDS)
        return code

    def exchange_code(self, code: str, *, redirect_uri: str) -> TokenGrant | None:
        """Spend an authorization code; None if it is unknown, spent, expired or for another URI."""
        with self._lock:
            issued = self._codes.pop(code, None)
        if issued is None or time.monotonic() >= issued.expires_at:
            return None
        if issued.redirect_uri != redirect_uri:
            return None
        return self._grant(issued.scope)

    def refresh(self, refresh_token: str) -> TokenGrant | None:
        """Spend a refresh token for new tokens; None when it is unknown or already spent."""
        with self._lock:
            scope = self._refresh.pop(refresh_token, None)
        return None if scope is None else self._grant(scope)

    def _grant(self, scope: str) -> TokenGrant:
        grant = TokenGrant(
            secrets.token_urlsafe(32), secrets.token_urlsafe(32), scope, self._access_token_seconds
        )
        with self._lock:
            self._access[grant.access_token] = time.monotonic() + grant.expires_in
            self._refresh[grant.refresh_token] = scope
        return grant
