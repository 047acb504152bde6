"""Access tokens for a run: a static token, or tokens reach-dq obtains with a client id and secret.

``StaticTokens`` sends one token that the user exported. ``OAuthTokens`` gets its own tokens from
the partner's OAuth endpoints, which the Reach API puts beside the data on the same base URL:
``GET /oauth2/authorize`` returns a 200 JSON body with a code (the Reach API works without an
interactive login), and ``POST /oauth2/token`` exchanges the code, with ``client_id`` and
``client_secret`` in the form body (``client_secret_post``), for an access and a refresh token.

When the access token expires during a run (its ``expires_in`` has passed, or the partner answers
401 to a token that worked before), the provider refreshes it once with the refresh token and the
run goes on. A refresh that fails is recorded as a ``Renewal`` and the run continues with the
token it has, so the failure becomes a finding instead of a crash.

The provider sends its token requests through the ``ReachClient`` of the run, so they are
recorded like every other exchange, but never with their bodies, which carry tokens.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from reach_dq.exceptions import ConfigError, FetchError, TerminalFetchError
from reach_dq.fetch.plan import PlannedRequest
from reach_dq.settings import RunOptions, read_client_secret, read_token

if TYPE_CHECKING:
    from reach_dq.fetch.client import ReachClient

log = logging.getLogger(__name__)

AUTHORIZE_PATH = "/oauth2/authorize"
TOKEN_PATH = "/oauth2/token"
# Sent as redirect_uri only. reach-dq never opens it, because the authorize endpoint returns JSON.
REDIRECT_URI = "http://127.0.0.1/reach-dq/callback"
SCOPE = "openid profile email read:company"
RENEWAL_REASONS = ("expired", "rejected")


@dataclasses.dataclass(frozen=True)
class ClientCredentials:
    """An OAuth client of the partner; the secret is a ``SecretStr`` so it never prints."""

    client_id: str
    client_secret: SecretStr

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ConfigError("the OAuth client id must be a non-empty string")
        if not self.client_secret.get_secret_value():
            raise ConfigError(f"the client secret of client {self.client_id!r} must not be empty")


@dataclasses.dataclass(frozen=True)
class Renewal:
    """One attempt to refresh the access token during a run."""

    reason: str  # "expired": expires_in passed; "rejected": a 401 on a token that had worked
    succeeded: bool
    message: str
    at: dt.datetime


@dataclasses.dataclass(frozen=True)
class TokenGrant:
    """The useful fields of a token response."""

    access_token: SecretStr
    refresh_token: SecretStr | None
    expires_in: int | None


class StaticTokens:
    """One token for the whole run, exported by the user; it cannot be renewed."""

    def __init__(self, token: SecretStr) -> None:
        if not token.get_secret_value():
            raise ConfigError("the access token must not be empty")
        self._token = token
        self.renewals: list[Renewal] = []

    async def current(self, client: ReachClient) -> SecretStr:
        return self._token

    async def renew(self, client: ReachClient, rejected: SecretStr) -> bool:
        """Return False: a static token has no refresh token."""
        return False

    def accepted(self, token: SecretStr) -> None:
        """Note that the partner accepted ``token``; a static token needs no bookkeeping."""

    def secrets(self) -> tuple[str, ...]:
        return (self._token.get_secret_value(),)


class TokenUnavailableError(TerminalFetchError):
    """No access token could be obtained with the client credentials: no request can be sent."""


class OAuthTokens:
    """Tokens obtained with a client id and secret, refreshed once when they expire.

    Safe for the concurrent requests of one event loop: a lock makes the first request obtain
    the token and lets only one request refresh it.
    """

    def __init__(
        self,
        credentials: ClientCredentials,
        *,
        clock: Callable[[], float] = time.monotonic,
        probe: str | None = None,
    ) -> None:
        """``probe`` marks the token requests as those of a go-live probe."""
        self.credentials = credentials
        self.probe = probe
        self.renewals: list[Renewal] = []
        self._clock = clock
        self._lock = asyncio.Lock()
        self._access: SecretStr | None = None
        self._refresh: SecretStr | None = None
        self._expires_at: float | None = None
        self._proven = False  # the partner accepted the current access token at least once
        self._refresh_failed = False
        self._spent: set[str] = set()  # every token issued in this run, for redaction
        self._unavailable: TokenUnavailableError | None = None  # the first failure to obtain

    async def current(self, client: ReachClient) -> SecretStr:
        """Return the access token, obtaining it first or refreshing it once it has expired.

        When the first attempt to obtain a token fails, every later call raises the same
        ``TokenUnavailableError`` at once instead of asking the partner again.
        """
        async with self._lock:
            if self._unavailable is not None:
                raise self._unavailable
            if self._access is None:
                try:
                    self._store(await self.obtain(client))
                except TokenUnavailableError as exc:
                    self._unavailable = exc
                    raise
            elif self._expired() and not self._refresh_failed:
                await self._renew(client, reason="expired")
            assert self._access is not None  # set by _store, or kept after a failed refresh
            return self._access

    async def renew(self, client: ReachClient, rejected: SecretStr) -> bool:
        """Handle a 401 on ``rejected``; return True when a request should try again.

        Another request may have refreshed the token already, which is enough. Otherwise the
        token is refreshed once, and only if the partner had accepted it before: a new token
        that is rejected at once will not be saved by a refresh.
        """
        async with self._lock:
            if self._access is None:
                return False
            if rejected.get_secret_value() != self._access.get_secret_value():
                return True
            if not self._proven or self._refresh_failed:
                return False
            return await self._renew(client, reason="rejected")

    def accepted(self, token: SecretStr) -> None:
        if self._access is not None and token.get_secret_value() == self._access.get_secret_value():
            self._proven = True

    def secrets(self) -> tuple[str, ...]:
        return (self.credentials.client_secret.get_secret_value(), *sorted(self._spent))

    async def obtain(self, client: ReachClient) -> TokenGrant:
        """Get a new token pair through the authorization code flow.

        Raises ``TokenUnavailableError`` naming the client and the step that failed.
        """
        client_id = self.credentials.client_id
        authorize = PlannedRequest(
            operation_id="authorize",
            method="GET",
            path=AUTHORIZE_PATH,
            params=(
                ("response_type", "code"),
                ("client_id", client_id),
                ("redirect_uri", REDIRECT_URI),
                ("scope", SCOPE),
            ),
        )
        try:
            reply = await client.send(
                authorize, parse=True, authenticate=False, keep_body=False, probe=self.probe
            )
        except FetchError as exc:
            raise TokenUnavailableError(
                f"cannot obtain an access token for client {client_id!r}: {exc}"
            ) from exc
        code = reply.document.get("code") if isinstance(reply.document, dict) else None
        if not isinstance(code, str) or not code:
            raise TokenUnavailableError(
                f"cannot obtain an access token for client {client_id!r}: GET {AUTHORIZE_PATH} "
                "returned no 'code' string"
            )
        self._spent.add(code)
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        try:
            return await self.request_tokens(client, form)
        except FetchError as exc:
            raise TokenUnavailableError(
                f"cannot obtain an access token for client {client_id!r}: {exc}"
            ) from exc

    async def refresh(self, client: ReachClient, refresh_token: SecretStr) -> TokenGrant:
        """Spend ``refresh_token`` for a new token pair; raises ``FetchError`` on failure."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token.get_secret_value()}
        return await self.request_tokens(client, form)

    async def request_tokens(self, client: ReachClient, form: dict[str, str]) -> TokenGrant:
        """POST ``form`` plus the client credentials to the token endpoint and read the grant."""
        credentials = {
            "client_id": self.credentials.client_id,
            "client_secret": self.credentials.client_secret.get_secret_value(),
        }
        request = PlannedRequest(operation_id="getToken", method="POST", path=TOKEN_PATH)
        reply = await client.send(
            request,
            parse=True,
            authenticate=False,
            keep_body=False,
            form={**form, **credentials},
            probe=self.probe,
        )
        grant = read_grant(reply.document)
        self._spent.add(grant.access_token.get_secret_value())
        if grant.refresh_token is not None:
            self._spent.add(grant.refresh_token.get_secret_value())
        return grant

    async def _renew(self, client: ReachClient, *, reason: str) -> bool:
        if self._refresh is None:
            self._record(reason, False, "the token response carried no refresh_token")
            return False
        try:
            grant = await self.refresh(client, self._refresh)
        except FetchError as exc:
            self._record(reason, False, f"refresh failed: {exc}")
            return False
        self._store(grant)
        self._record(reason, True, "refreshed the access token with the refresh token")
        return True

    def _store(self, grant: TokenGrant) -> None:
        self._access = grant.access_token
        self._refresh = grant.refresh_token or self._refresh
        self._proven = False
        self._refresh_failed = False
        self._expires_at = None
        if grant.expires_in is not None:
            self._expires_at = self._clock() + grant.expires_in

    def _expired(self) -> bool:
        return self._expires_at is not None and self._clock() >= self._expires_at

    def _record(self, reason: str, succeeded: bool, message: str) -> None:
        if not succeeded:
            self._refresh_failed = True
            log.warning("could not renew the access token (%s): %s", reason, message)
        else:
            log.info("renewed the access token (%s)", reason)
        self.renewals.append(Renewal(reason, succeeded, message, dt.datetime.now(dt.UTC)))


TokenProvider = StaticTokens | OAuthTokens


def read_grant(document: Any) -> TokenGrant:
    """Return the tokens of a token response; raise ``TerminalFetchError`` without access_token."""
    body = document if isinstance(document, dict) else {}
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise TerminalFetchError(f"POST {TOKEN_PATH} returned no 'access_token' string")
    refresh = body.get("refresh_token")
    expires_in = body.get("expires_in")
    usable_expiry = isinstance(expires_in, int) and not isinstance(expires_in, bool)
    return TokenGrant(
        access_token=SecretStr(access),
        refresh_token=SecretStr(refresh) if isinstance(refresh, str) and refresh else None,
        expires_in=expires_in if usable_expiry and expires_in >= 0 else None,
    )


def token_provider(
    *, token: SecretStr | None, credentials: ClientCredentials | None
) -> TokenProvider:
    """Return OAuth tokens when client credentials are given, else the static token."""
    if credentials is not None:
        return OAuthTokens(credentials)
    if token is None:
        raise ConfigError(
            "no access token: name one with --token-env, or give --client-id and "
            "--client-secret-env"
        )
    return StaticTokens(token)


def client_credentials(options: RunOptions) -> ClientCredentials | None:
    """Return the OAuth client of the run options, reading its secret; None without one."""
    if options.client_id is None and options.client_secret_env is None:
        return None
    if not options.client_id or not options.client_secret_env:
        raise ConfigError("--client-id and --client-secret-env must be given together")
    return ClientCredentials(options.client_id, read_client_secret(options.client_secret_env))


def provider_for(options: RunOptions) -> TokenProvider:
    """Return the token provider of a run: the OAuth client if given, else ``--token-env``."""
    credentials = client_credentials(options)
    token = read_token(options.token_env) if options.token_env else None
    return token_provider(token=token, credentials=credentials)
