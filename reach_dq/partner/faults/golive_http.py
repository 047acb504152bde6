"""The go-live faults that act before a route runs, as one ASGI middleware.

Authentication, unknown companies and parameter checks happen in route dependencies, before a
response body exists, so these faults rewrite the request or respond to it themselves:

- ``no-auth``: a request without a valid token gets the configured token's Authorization header.
- ``html-login-page``: a request without a valid token gets 200 with an HTML login page.
- ``unknown-company-200``: a CompanyId the server does not know gets 200 ``{"Data": []}``.
- ``bad-limit-accepted``: ``limit`` is clamped to 1..1000 and ``offset`` to 0 or more.
- ``reversed-dates-accepted``: a statement's StartDate after EndDate is swapped with it.

With none of them active the middleware passes every request through unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from starlette.responses import HTMLResponse, Response

from reach_dq.partner.faults.golive import (
    BAD_LIMIT_ACCEPTED,
    HTML_LOGIN_PAGE,
    NO_AUTH,
    REVERSED_DATES_ACCEPTED,
    UNKNOWN_COMPANY_200,
)
from reach_dq.partner.jsonbody import ExactJSONResponse

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HTTP_FAULTS = (NO_AUTH, HTML_LOGIN_PAGE, UNKNOWN_COMPANY_200, BAD_LIMIT_ACCEPTED,
               REVERSED_DATES_ACCEPTED)
COMPANY_PATH = re.compile(r"/companies/([^/]+)(/[^/]*)?")
LIST_RESOURCES = ("/chart-of-accounts", "/budgets", "/classes", "/departments",
                  "/non-financial-metrics")
STATEMENT_RESOURCES = ("/profit-and-loss", "/balance-sheet", "/cash-flow")
LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
    '<form method="post" action="/login"><input name="user"><input name="password" '
    'type="password"><button>Sign in</button></form></body></html>'
)


class GoliveFaultMiddleware:
    """Apply the active HTTP-level go-live faults of the partner server."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state.partner
        active = {name for name in HTTP_FAULTS if state.fault_active(name)}
        response = _fault_response(scope, state, active) if active else None
        if response is not None:
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _fault_response(scope: Scope, state: Any, active: set[str]) -> Response | None:
    """Rewrite ``scope`` for the active faults; return the response of a fault that responds."""
    path: str = scope["path"]
    protected = path.startswith("/companies/") or path == "/oauth2/user-info"
    token = _bearer_token(scope)
    valid = token is not None and state.tokens.accepts(token)
    if protected and not valid:
        if HTML_LOGIN_PAGE in active:
            return HTMLResponse(LOGIN_PAGE, status_code=200)
        if NO_AUTH in active:
            _set_header(scope, b"authorization", f"Bearer {state.tokens.configured_token}")
            valid = True

    match = COMPANY_PATH.fullmatch(path)
    if match is None or not valid:
        return None
    if UNKNOWN_COMPANY_200 in active and unquote(match.group(1)) not in state.companies:
        return ExactJSONResponse({"Data": []})
    resource = match.group(2) or ""
    if BAD_LIMIT_ACCEPTED in active and resource in LIST_RESOURCES:
        _rewrite_query(scope, _clamp_page)
    if REVERSED_DATES_ACCEPTED in active and resource in STATEMENT_RESOURCES:
        _rewrite_query(scope, _order_dates)
    return None


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def _set_header(scope: Scope, name: bytes, value: str) -> None:
    headers = [(key, item) for key, item in scope["headers"] if key != name]
    scope["headers"] = [*headers, (name, value.encode("latin-1"))]


def _rewrite_query(scope: Scope, change: Callable[[dict[str, str]], None]) -> None:
    query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
    change(query)
    scope["query_string"] = urlencode(query).encode("latin-1")


def _clamp_page(query: dict[str, str]) -> None:
    if _is_integer(query.get("limit")):
        query["limit"] = str(min(max(int(query["limit"]), 1), 1000))
    if _is_integer(query.get("offset")):
        query["offset"] = str(max(int(query["offset"]), 0))


def _order_dates(query: dict[str, str]) -> None:
    start, end = query.get("StartDate"), query.get("EndDate")
    if start is not None and end is not None and start > end:  # YYYY-MM-DD sorts as text
        query["StartDate"], query["EndDate"] = end, start


def _is_integer(text: str | None) -> bool:
    return text is not None and re.fullmatch(r"[+-]?\d+", text) is not None
