"""Faults that go-live readiness finds: HTTP behaviour, pagination, OAuth, isolation, latency.

Faults that change a response body act through their ``apply`` function like every other fault.
The others act before a route runs, so their entries only name and describe them. Their code
sits where the behaviour lives: ``golive_http.py`` is a middleware for the authentication,
status and parameter faults, ``reach_dq.partner.oauth`` handles refresh and
``reach_dq.partner.state`` the customer scope of a token.

``unstable-figures`` remembers earlier requests: it keeps a counter per server in ``_SEEN``,
keyed by the books object that the server holds for the target company.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any

from starlette.responses import Response

from reach_dq.partner import payloads
from reach_dq.partner.books import CENT, Books
from reach_dq.partner.faults.base import Body, Fault, FaultRequest
from reach_dq.partner.jsonbody import dumps

NO_AUTH = "no-auth"
HTML_LOGIN_PAGE = "html-login-page"
UNKNOWN_COMPANY_200 = "unknown-company-200"
BAD_LIMIT_ACCEPTED = "bad-limit-accepted"
REVERSED_DATES_ACCEPTED = "reversed-dates-accepted"
REFRESH_FAILS = "refresh-fails"
ISOLATION_BREACH = "isolation-breach"
DISCOVERY_MISSING_FIELD = "discovery-missing-field"

SLOW_SECONDS = 2.2  # just over the 2-second latency budget, so the fault keeps tests short
DISCOVERY_FIELD_DROPPED = "token_endpoint_auth_methods_supported"
STATEMENT_OPERATIONS = ("getProfitAndLoss", "getBalanceSheet", "getCashFlow")

_SEEN: dict[int, tuple[weakref.ref[Books], dict[Any, int]]] = {}
_SEEN_LOCK = threading.Lock()


def _times_seen(books: Books, key: Any) -> int:
    """Count a request for ``key`` on these books; return how often it came before."""
    with _SEEN_LOCK:
        entry = _SEEN.get(id(books))
        if entry is None or entry[0]() is not books:  # a new server reusing a freed id
            entry = (weakref.ref(books), {})
            _SEEN[id(books)] = entry
        counts = entry[1]
        seen = counts.get(key, 0)
        counts[key] = seen + 1
        return seen


def _text_plain(request: FaultRequest, body: Body) -> Body | Response:
    if not request.target_company:
        return body
    return Response(dumps(body), media_type="text/plain")


def _empty_as_null(request: FaultRequest, body: Body) -> Body:
    if body.get("Data") == []:
        body["Data"] = None
    return body


def _total_plus_one(request: FaultRequest, body: Body) -> Body:
    if request.target_company:
        body["Pagination"]["total"] += 1
    return body


def _repeat_previous_record(request: FaultRequest, body: Body) -> Body:
    """Start every page after the first with the last record of the page before it."""
    pagination = body["Pagination"]
    offset, limit = pagination["offset"], pagination["limit"]
    if not request.target_company or offset == 0:
        return body
    accounts = sorted(request.books.accounts, key=lambda account: account.account_id)
    items = [payloads.account_item(account) for account in accounts]
    body["Data"] = items[offset - 1 : offset - 1 + limit]
    return body


def _slow(request: FaultRequest, body: Body) -> Body:
    if request.target_company:
        time.sleep(SLOW_SECONDS)  # the route runs in a worker thread, so only it waits
    return body


def _drift_on_repeat(request: FaultRequest, body: Body) -> Body:
    """Add 0.01 to the first amount of every repeat of the same unfiltered ACCRUAL P&L."""
    if not request.target_company or request.basis != "ACCRUAL" or request.filtered:
        return body
    key = (request.operation_id, request.start_date, request.end_date)
    if _times_seen(request.books, key) and body["Data"]:
        body["Data"][0]["Amount"] += CENT
    return body


def _drop_discovery_field(request: FaultRequest, body: Body) -> Body:
    body.pop(DISCOVERY_FIELD_DROPPED, None)
    return body


GOLIVE_FAULTS: tuple[Fault, ...] = (
    Fault(
        NO_AUTH,
        "Every /companies/... and /oauth2/user-info request without a valid token is served as "
        "if it carried the configured token.",
    ),
    Fault(
        HTML_LOGIN_PAGE,
        "Every /companies/... and /oauth2/user-info request without a valid token gets 200 "
        "with an HTML login page instead of 401.",
    ),
    Fault(
        "wrong-content-type",
        "The departments list of the target company is sent as text/plain instead of "
        "application/json (the body is unchanged JSON).",
        ("listDepartments",),
        _text_plain,
    ),
    Fault(
        UNKNOWN_COMPANY_200,
        'A request for a CompanyId that the server does not know gets 200 {"Data": []} '
        "instead of 404.",
    ),
    Fault(
        BAD_LIMIT_ACCEPTED,
        "The lists clamp limit to 1..1000 and offset to 0 or more instead of answering 400.",
    ),
    Fault(
        REVERSED_DATES_ACCEPTED,
        "The three statements swap a StartDate that is after EndDate instead of answering 400.",
    ),
    Fault(
        "empty-as-null",
        'Statements and non-financial values send "Data": null instead of "Data": [] when '
        "no row matches.",
        (*STATEMENT_OPERATIONS, "getNonFinancialValues"),
        _empty_as_null,
    ),
    Fault(
        "pagination-total-mismatch",
        "The chart of accounts of the target company reports a Pagination.total one higher "
        "than the number of accounts.",
        ("listChartOfAccounts",),
        _total_plus_one,
    ),
    Fault(
        "pagination-duplicate-record",
        "Every page of the target company's chart of accounts after the first starts with the "
        "last account of the page before it, so one account appears twice and the last one "
        "never.",
        ("listChartOfAccounts",),
        _repeat_previous_record,
    ),
    Fault(
        DISCOVERY_MISSING_FIELD,
        f"The OAuth discovery document omits {DISCOVERY_FIELD_DROPPED}.",
        ("getOAuthDiscovery",),
        _drop_discovery_field,
    ),
    Fault(
        REFRESH_FAILS,
        "The token endpoint answers every refresh_token grant with 400 invalid_grant.",
    ),
    Fault(
        ISOLATION_BREACH,
        "Any accepted token reads every company, although user-info lists only the "
        "companies of the token's customer.",
    ),
    Fault(
        "slow-operation",
        f"Company information of the target company takes {SLOW_SECONDS} s, over the "
        "2-second latency budget.",
        ("getCompany",),
        _slow,
    ),
    Fault(
        "unstable-figures",
        "Every repeat of the same unfiltered ACCRUAL P&L request of the target company adds "
        "0.01 to the first amount, so a second pull differs from the first.",
        ("getProfitAndLoss",),
        _drift_on_repeat,
    ),
)
