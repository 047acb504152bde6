"""Faults of a partner that fails the way HTTP servers fail: transport, pagination and bodies.

Every fault here hits the target company only (the first in CompanyId order), except
``token-expires-mid-run``, which hits every authenticated request. Each fault changes exactly one
operation, so that the rest of a run shows what still works.

Faults that change a body (an HTML page, malformed JSON, NaN, an oversized body, broken pages,
hostile text) are ``apply`` functions like those of the contract family. Faults that need
counters or raw ASGI messages (errors on the first attempts, 429, slow responses, bodies cut off
mid-way, token expiry, a company that returns 404) are carried out by
``reach_dq.partner.transport_faults``, which looks these entries up by identity. Their ``apply``
leaves the body as it is.
"""

from __future__ import annotations

import itertools
from typing import Any

from starlette.responses import HTMLResponse, Response

from reach_dq.partner import payloads
from reach_dq.partner.faults.base import Body, Fault, FaultRequest
from reach_dq.partner.jsonbody import ExactJSONResponse, dumps

FAULT_PAGE_ITEMS = 5  # items per page served by the pagination faults, whatever the limit
TOTAL_SHORTFALL = 5  # how many items pagination-total-lies leaves out of Pagination.total
OVERSIZED_BODY_BYTES = 4 * 1024 * 1024  # whitespace added to the body by oversized-body
TOKEN_USES = 20  # authenticated requests a token serves under token-expires-mid-run
SLOW_RESPONSE_S = 5.0  # seconds that slow-response waits before it responds

# Hostile text: each payload adds an element named after it if a browser ever runs it.
HOSTILE_SCRIPT = (
    "<script>document.documentElement.appendChild("
    "document.createElement('reach-dq-xss-script'))</script>"
)
HOSTILE_IMAGE = (
    "<img src=x onerror=\"document.documentElement.appendChild("
    "document.createElement('reach-dq-xss-img'))\">"
)
HOSTILE_TEXT = f"Acme \"'>{HOSTILE_SCRIPT}{HOSTILE_IMAGE}"
HOSTILE_MARKERS = ("reach-dq-xss-script", "reach-dq-xss-img")

_NAN = "__reach_dq_nan__"
_INFINITY = "__reach_dq_infinity__"


def _html_page(request: FaultRequest, body: Body) -> Body | Response:
    if not request.target_company:
        return body
    page = (
        "<!DOCTYPE html><html><head><title>Maintenance</title></head>"
        "<body><h1>We'll be back soon</h1></body></html>"
    )
    return HTMLResponse(page, status_code=200)


def _malformed_json(request: FaultRequest, body: Body) -> Body | Response:
    if not request.target_company:
        return body
    text = dumps(body)
    # An unquoted key and a trailing comma: what a hand-built JSON writer gets wrong.
    broken = text.replace('"Data":', "Data:", 1)[:-1] + ",}"
    return Response(broken, media_type="application/json")


def _nan_in_json(request: FaultRequest, body: Body) -> Body | Response:
    rows: list[dict[str, Any]] = body["Data"]
    if not request.target_company or not rows:
        return body
    rows[0]["Value"] = _NAN
    rows[-1]["Value"] = _INFINITY if len(rows) > 1 else _NAN
    text = dumps(body).replace(f'"{_NAN}"', "NaN").replace(f'"{_INFINITY}"', "Infinity")
    return Response(text, media_type="application/json")


def _oversized_body(request: FaultRequest, body: Body) -> Body | Response:
    if not request.target_company:
        return body
    # Whitespace after the value keeps the body valid JSON, so only its size is wrong.
    text = dumps(body) + " " * OVERSIZED_BODY_BYTES
    return Response(text, media_type="application/json")


def _chart_items(request: FaultRequest) -> list[dict[str, Any]]:
    accounts = sorted(request.books.accounts, key=lambda account: account.account_id)
    return [payloads.account_item(account) for account in accounts]


def _page_window(body: Body) -> tuple[int, int]:
    pagination: dict[str, int] = body["Pagination"]
    return pagination["offset"], min(pagination["limit"], FAULT_PAGE_ITEMS)


def _repeated_page(request: FaultRequest, body: Body) -> Body:
    if not request.target_company:
        return body
    items = _chart_items(request)
    offset, size = _page_window(body)
    pagination = {"offset": offset, "limit": body["Pagination"]["limit"], "total": len(items)}
    return {"Data": items[:size], "Pagination": pagination}


def _total_lies(request: FaultRequest, body: Body) -> Body:
    if not request.target_company:
        return body
    items = _chart_items(request)
    offset, size = _page_window(body)
    total = max(len(items) - TOTAL_SHORTFALL, 0)
    pagination = {"offset": offset, "limit": body["Pagination"]["limit"], "total": total}
    return {"Data": items[offset : offset + size], "Pagination": pagination}


def _endless(request: FaultRequest, body: Body) -> Body:
    if not request.target_company:
        return body
    items = _chart_items(request)
    offset, size = _page_window(body)
    page = [_endless_item(items, position) for position in range(offset, offset + size)]
    # The total always promises one more page than the client has asked for.
    limit = body["Pagination"]["limit"]
    pagination = {"offset": offset, "limit": limit, "total": offset + 2 * size}
    return {"Data": page, "Pagination": pagination}


def _endless_item(items: list[dict[str, Any]], position: int) -> dict[str, Any]:
    """Return the item at ``position`` of the chart repeated forever, with a new id per round."""
    lap, index = divmod(position, len(items))
    item = dict(items[index])
    if lap:
        item["AccountId"] = f"{item['AccountId']}-{lap}"
    return item


def _hostile_company(request: FaultRequest, body: Body) -> Body:
    if request.target_company:
        body["CompanyName"] = HOSTILE_TEXT
        body["Currency"] = HOSTILE_TEXT
    return body


def _hostile_accounts(request: FaultRequest, body: Body) -> Body:
    if request.target_company and body["Data"] and body["Pagination"]["offset"] == 0:
        first = body["Data"][0]
        first["AccountName"] = HOSTILE_TEXT
        first["AccountType"] = HOSTILE_TEXT
    return body


def _hostile_error(request: FaultRequest, body: Body) -> Body | Response:
    if not request.target_company:
        return body
    return ExactJSONResponse({"Message": f"invalid request {HOSTILE_TEXT}"}, status_code=400)


def _hostile(request: FaultRequest, body: Body) -> Body | Response:
    if request.operation_id == "getCompany":
        return _hostile_company(request, body)
    if request.operation_id == "listChartOfAccounts":
        return _hostile_accounts(request, body)
    return _hostile_error(request, body)


def _unchanged(request: FaultRequest, body: Body) -> Body:
    return body


SERVER_ERRORS_BURST = Fault(
    "server-errors-burst",
    "The P&L requests of the target company without BudgetId, ClassId or DepartmentId respond "
    "with 500 on their first attempt and 502 on their second, and normally from the third on.",
    ("getProfitAndLoss",),
    _unchanged,
)
SERVER_ERRORS_PERSISTENT = Fault(
    "server-errors-persistent",
    "Every budget P&L request (with BudgetId) of the target company responds with 503 on every "
    "attempt.",
    ("getProfitAndLoss",),
    _unchanged,
)
RATE_LIMITED = Fault(
    "rate-limited",
    "The cash flow requests of the target company respond with 429 and Retry-After: 1 on their "
    "first attempt and normally from the second on.",
    ("getCashFlow",),
    _unchanged,
)
SLOW_RESPONSE = Fault(
    "slow-response",
    f"The departments list of the target company responds only after {SLOW_RESPONSE_S:g} s.",
    ("listDepartments",),
    _unchanged,
)
CONNECTION_RESET = Fault(
    "connection-reset",
    "The classes list of the target company sends its status, its headers and half of its "
    "chunked body, then closes the connection.",
    ("listClasses",),
    _unchanged,
)
TRUNCATED_BODY = Fault(
    "truncated-body",
    "The non-financial metric list of the target company announces the full Content-Length, "
    "sends half of the body, then closes the connection.",
    ("listNonFinancialMetrics",),
    _unchanged,
)
TOKEN_EXPIRES_MID_RUN = Fault(
    "token-expires-mid-run",
    f"Every access token, the configured one included, is accepted for {TOKEN_USES} "
    "authenticated requests; later requests with it get 401 'the access token has expired'.",
    (),
    _unchanged,
)
COMPANY_404 = Fault(
    "company-404",
    "User info lists the target company, but every request under /companies/{CompanyId} of "
    "that company returns 404.",
    (),
    _unchanged,
)

# Faults that reach_dq.partner.transport_faults carries out, in the order it checks them.
HTTP_FAULTS = (
    TOKEN_EXPIRES_MID_RUN,
    COMPANY_404,
    SERVER_ERRORS_BURST,
    SERVER_ERRORS_PERSISTENT,
    RATE_LIMITED,
    SLOW_RESPONSE,
    CONNECTION_RESET,
    TRUNCATED_BODY,
)

BODY_FAULTS = (
    Fault(
        "html-page-200",
        "Company information of the target company responds to an authenticated request with 200 "
        "and an HTML maintenance page.",
        ("getCompany",),
        _html_page,
    ),
    Fault(
        "malformed-json",
        "The budgets list of the target company responds with 200 and a JSON body that has an "
        "unquoted key and a trailing comma.",
        ("listBudgets",),
        _malformed_json,
    ),
    Fault(
        "nan-in-json",
        "Non-financial values of the target company carry NaN as the first Value and Infinity "
        "as the last.",
        ("getNonFinancialValues",),
        _nan_in_json,
    ),
    Fault(
        "oversized-body",
        f"Balance sheets of the target company are valid JSON padded with "
        f"{OVERSIZED_BODY_BYTES // (1024 * 1024)} MiB of whitespace, larger than a "
        "REACH_DQ_MAX_BODY_BYTES below that.",
        ("getBalanceSheet",),
        _oversized_body,
    ),
    Fault(
        "pagination-repeats-page",
        f"The chart of accounts of the target company serves {FAULT_PAGE_ITEMS} items per page "
        "and ignores offset: every page repeats the first page, with the true total.",
        ("listChartOfAccounts",),
        _repeated_page,
    ),
    Fault(
        "pagination-total-lies",
        f"The chart of accounts of the target company serves {FAULT_PAGE_ITEMS} items per page "
        f"and states a Pagination.total {TOTAL_SHORTFALL} lower than the true count.",
        ("listChartOfAccounts",),
        _total_lies,
    ),
    Fault(
        "pagination-endless",
        f"The chart of accounts of the target company serves {FAULT_PAGE_ITEMS} items per page "
        "without end: Pagination.total is always one page beyond the page asked for, and the "
        "accounts repeat with new AccountIds.",
        ("listChartOfAccounts",),
        _endless,
    ),
    Fault(
        "hostile-names",
        "The target company's CompanyName and Currency, and the AccountName and AccountType of "
        "its first account, are HTML with a <script> element and an <img onerror> handler; its "
        "departments list returns 400 with the same HTML in Message.",
        ("getCompany", "listChartOfAccounts", "listDepartments"),
        _hostile,
    ),
)

TRANSPORT_FAULTS: tuple[Fault, ...] = tuple(itertools.chain(HTTP_FAULTS, BODY_FAULTS))

__all__ = ["BODY_FAULTS", "HOSTILE_MARKERS", "HOSTILE_TEXT", "HTTP_FAULTS", "TRANSPORT_FAULTS"]
