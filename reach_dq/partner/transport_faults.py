"""ASGI middleware that carries out the HTTP-level faults of ``faults/transport.py``.

These faults need what a route cannot do: count the attempts of one request, respond before
routing, wait before responding, or cut a response off in the middle of its body. The middleware
runs on the server's event loop, so its counters need no lock. Counters live as long as the
server, so every test server starts from zero.

Cutting a body off makes uvicorn log "ASGI callable returned without completing response"
and close the connection; the client then sees the connection end before the body does.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import hashlib
import logging
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reach_dq.partner.faults.base import Fault
from reach_dq.partner.faults.transport import (
    COMPANY_404,
    CONNECTION_RESET,
    HTTP_FAULTS,
    RATE_LIMITED,
    SERVER_ERRORS_BURST,
    SERVER_ERRORS_PERSISTENT,
    SLOW_RESPONSE,
    SLOW_RESPONSE_S,
    TOKEN_EXPIRES_MID_RUN,
    TOKEN_USES,
    TRUNCATED_BODY,
)
from reach_dq.partner.jsonbody import ExactJSONResponse
from reach_dq.partner.state import PartnerState

log = logging.getLogger(__name__)

# Operation of each path below /companies/{CompanyId}; "" is company information itself.
OPERATIONS = {
    "": "getCompany",
    "chart-of-accounts": "listChartOfAccounts",
    "budgets": "listBudgets",
    "classes": "listClasses",
    "departments": "listDepartments",
    "non-financial-metrics": "listNonFinancialMetrics",
    "non-financial": "getNonFinancialValues",
    "profit-and-loss": "getProfitAndLoss",
    "balance-sheet": "getBalanceSheet",
    "cash-flow": "getCashFlow",
}
AUTHENTICATED_PREFIXES = ("/companies/", "/oauth2/user-info")
BURST_STATUSES = (500, 502)  # of the first attempts under server-errors-burst
FILTERS = frozenset({"BudgetId", "ClassId", "DepartmentId"})


@dataclasses.dataclass(frozen=True)
class _Request:
    """The parts of a request that the middleware reads before routing."""

    method: str
    path: str
    query: str
    company_id: str | None
    operation_id: str | None
    token: str | None

    @classmethod
    def from_scope(cls, scope: Scope) -> _Request:
        path: str = scope["path"]
        company_id, operation_id = _company_operation(path)
        return cls(
            method=scope["method"],
            path=path,
            query=scope.get("query_string", b"").decode("latin-1"),
            company_id=company_id,
            operation_id=operation_id,
            token=_bearer_token(scope),
        )

    @property
    def authenticated(self) -> bool:
        return self.path.startswith(AUTHENTICATED_PREFIXES)

    @property
    def has_budget(self) -> bool:
        return "BudgetId" in parse_qs(self.query)

    @property
    def filtered(self) -> bool:
        """Whether the query names a budget, class or department."""
        return bool(FILTERS & parse_qs(self.query).keys())


class TransportFaultMiddleware:
    """Carry out the active HTTP-level faults; pass every other request to the app."""

    def __init__(self, app: ASGIApp, *, state: PartnerState) -> None:
        self._app = app
        self._faults = tuple(fault for fault in HTTP_FAULTS if fault in state.faults)
        self._target_company = next(iter(state.companies), None)
        self._attempts: collections.Counter[tuple[str, str, str]] = collections.Counter()
        self._token_uses: collections.Counter[str] = collections.Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._faults:
            await self._app(scope, receive, send)
            return

        request = _Request.from_scope(scope)
        for fault in self._faults:
            if self._applies(fault, request):
                log.info("fault %s: %s %s", fault.name, request.method, request.path)
                await self._carry_out(fault, request, scope, receive, send)
                return
        await self._app(scope, receive, send)

    def _applies(self, fault: Fault, request: _Request) -> bool:
        """Return whether ``fault`` changes this request; counts the request's attempts."""
        if fault is TOKEN_EXPIRES_MID_RUN:
            return self._token_expired(request)
        if request.company_id is None or request.company_id != self._target_company:
            return False
        if fault is COMPANY_404:
            return True
        if request.operation_id not in fault.operation_ids:
            return False
        if fault is SERVER_ERRORS_BURST:
            return not request.filtered and self._attempt(request) <= len(BURST_STATUSES)
        if fault is SERVER_ERRORS_PERSISTENT:
            return request.has_budget
        if fault is RATE_LIMITED:
            return self._attempt(request) == 1
        return True

    def _attempt(self, request: _Request) -> int:
        """Count this attempt of the request and return its number, starting at 1."""
        key = _key(request)
        self._attempts[key] += 1
        return self._attempts[key]

    def _token_expired(self, request: _Request) -> bool:
        if not request.authenticated or request.token is None:
            return False
        # Counted by digest, so the middleware keeps no token.
        digest = hashlib.sha256(request.token.encode()).hexdigest()
        self._token_uses[digest] += 1
        return self._token_uses[digest] > TOKEN_USES

    async def _carry_out(
        self, fault: Fault, request: _Request, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if fault is SLOW_RESPONSE:
            await asyncio.sleep(SLOW_RESPONSE_S)
            await self._app(scope, receive, send)
        elif fault is CONNECTION_RESET:
            await self._cut_off(scope, receive, send, keep_length=False)
        elif fault is TRUNCATED_BODY:
            await self._cut_off(scope, receive, send, keep_length=True)
        else:
            response = _error_response(fault, request, self._attempts[_key(request)])
            await response(scope, receive, send)

    async def _cut_off(
        self, scope: Scope, receive: Receive, send: Send, *, keep_length: bool
    ) -> None:
        """Send the app's status, headers and the first half of its body, then stop.

        Without ``keep_length`` the Content-Length header is dropped, so the body goes out
        chunked and ends in the middle of a chunk stream.
        """
        start, body = await _capture(self._app, scope, receive)
        if not keep_length:
            headers = [
                (name, value) for name, value in start["headers"] if name.lower() != b"content-length"
            ]
            start = {**start, "headers": headers}
        await send(start)
        half = body[: len(body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})


def _key(request: _Request) -> tuple[str, str, str]:
    return request.method, request.path, request.query


def _error_response(fault: Fault, request: _Request, attempt: int) -> ExactJSONResponse:
    """Return the error response of ``fault``; ``attempt`` numbers counted requests from 1."""
    if fault is TOKEN_EXPIRES_MID_RUN:
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        body = {"Message": "the access token has expired"}
        return ExactJSONResponse(body, status_code=401, headers=headers)
    if fault is COMPANY_404:
        message = (
            f"unknown CompanyId {request.company_id!r}; expected one listed by /oauth2/user-info"
        )
        return ExactJSONResponse({"Message": message}, status_code=404)
    if fault is RATE_LIMITED:
        headers = {"Retry-After": "1"}
        return ExactJSONResponse({"Message": "too many requests"}, status_code=429, headers=headers)
    if fault is SERVER_ERRORS_PERSISTENT:
        return ExactJSONResponse({"Message": "service unavailable"}, status_code=503)
    status = BURST_STATUSES[attempt - 1]
    return ExactJSONResponse({"Message": "upstream error"}, status_code=status)


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[Message, bytes]:
    """Run ``app`` and return its response start message and its whole body."""
    start: Message = {}
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    return start, b"".join(chunks)


def _company_operation(path: str) -> tuple[str | None, str | None]:
    """Return the CompanyId and operation of a /companies/{CompanyId}[/...] path, or Nones."""
    parts = path.split("/")
    if len(parts) < 3 or parts[1] != "companies" or not parts[2]:
        return None, None
    suffix = parts[3] if len(parts) == 4 else ""
    if len(parts) > 4:
        return parts[2], None
    return parts[2], OPERATIONS.get(suffix)


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return None
            return token.strip()
    return None
