"""The reference partner server over real HTTP on 127.0.0.1: shapes, errors, pagination, OAuth."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from reach_dq.partner.server import PartnerConfig, RunningServer, serve_in_background
from tests.unit.partner.identities import identity_breaks, month_end_dates, rows_from_json

pytestmark = pytest.mark.integration

TOKEN = "integration-token"
AS_OF = dt.date(2026, 5, 10)  # books from May 2022 to April 2026
CLIENT = {"client_id": "reach-dq-demo", "client_secret": "reach-dq-demo-secret"}
REDIRECT_URI = "http://127.0.0.1:9/callback"
REPOSITORY = Path(__file__).resolve().parents[2]
XERO_LEDGER = REPOSITORY / ".." / "shared" / "real-data" / "xero-ledger-fivetran"
NULLABLE_STR = (str, type(None))
RANGE = {"StartDate": "2025-11-01", "EndDate": "2026-01-31"}


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with serve_in_background(PartnerConfig(companies=2, token=TOKEN, as_of=AS_OF)) as running:
        yield running


@pytest.fixture()
def client(server: RunningServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=server.base_url, headers=headers) as http:
        yield http


def _json(response: httpx.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def test_running_server_describes_itself(server: RunningServer) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")
    assert (server.token, server.company_ids) == (TOKEN, ("C001", "C002"))


def test_discovery_points_at_this_server(server: RunningServer) -> None:
    response = httpx.get(f"{server.base_url}/auth/oauth-discovery")
    assert response.status_code == 200
    assert _json(response) == {
        "issuer": server.base_url,
        "authorization_endpoint": f"{server.base_url}/oauth2/authorize",
        "token_endpoint": f"{server.base_url}/oauth2/token",
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "response_types_supported": ["code"],
        "scopes_supported": ["openid", "profile", "email", "phone", "read:company"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
    }


def test_user_info_lists_every_company(client: httpx.Client) -> None:
    response = client.get("/oauth2/user-info")
    assert response.status_code == 200
    assert _json(response) == {
        "sub": "reach-dq-demo-user",
        "name": "Reach demo user",
        "email": "demo-user@example.com",
        "Companies": [
            {"CompanyId": "C001", "CompanyName": "Northwind Outdoor Supply"},
            {"CompanyId": "C002", "CompanyName": "Maple Ridge Analytics"},
        ],
    }


def test_company_information(client: httpx.Client) -> None:
    response = client.get("/companies/C002")
    assert response.status_code == 200
    assert _json(response) == {
        "CompanyId": "C002",
        "CompanyName": "Maple Ridge Analytics",
        "FiscalMonthEnd": 6,
        "Currency": "CAD",
    }


LIST_FIELDS = {
    "chart-of-accounts": {
        "AccountId": str,
        "AccountNumber": NULLABLE_STR,
        "AccountName": str,
        "AccountType": str,
        "ParentAccountId": NULLABLE_STR,
        "IsActive": bool,
        "CashFlowCategory": NULLABLE_STR,
    },
    "budgets": {"BudgetId": str, "BudgetName": str, "StartDate": str, "EndDate": str},
    "classes": {"ClassId": str, "ClassName": str, "ParentClassId": NULLABLE_STR, "IsActive": bool},
    "departments": {
        "DepartmentId": str,
        "DepartmentName": str,
        "ParentDepartmentId": NULLABLE_STR,
        "IsActive": bool,
    },
    "non-financial-metrics": {"NonFinancialId": str, "Name": str, "Unit": NULLABLE_STR},
}
LIST_TOTALS = {
    "chart-of-accounts": 22,
    "budgets": 2,
    "classes": 3,
    "departments": 3,
    "non-financial-metrics": 3,
}


@pytest.mark.parametrize("operation", sorted(LIST_FIELDS))
def test_list_operation_shape(client: httpx.Client, operation: str) -> None:
    response = client.get(f"/companies/C001/{operation}")
    body = _json(response)
    fields = LIST_FIELDS[operation]
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert list(body) == ["Data", "Pagination"]
    assert body["Pagination"] == {"offset": 0, "limit": 100, "total": LIST_TOTALS[operation]}
    assert [item for item in body["Data"] if list(item) != list(fields)] == []
    wrong_types = [
        (item, name)
        for item in body["Data"]
        for name, expected in fields.items()
        if not isinstance(item[name], expected)
    ]
    assert wrong_types == []


@pytest.mark.parametrize("statement", ["profit-and-loss", "balance-sheet", "cash-flow"])
@pytest.mark.parametrize("basis", ["ACCRUAL", "CASH"])
def test_statement_shape(client: httpx.Client, statement: str, basis: str) -> None:
    params = {**RANGE, "AccountingBasis": basis}
    response = client.get(f"/companies/C001/{statement}", params=params)
    body = _json(response)
    assert response.status_code == 200
    assert list(body) == ["Data"]
    assert body["Data"] != []
    assert {tuple(row) for row in body["Data"]} == {("AccountId", "Date", "Amount")}
    assert {row["Date"] for row in body["Data"]} == {"2025-11-30", "2025-12-31", "2026-01-31"}


def test_amounts_are_numbers_with_two_decimals(client: httpx.Client) -> None:
    params = {"StartDate": "2022-05-01", "EndDate": "2026-04-30", "AccountingBasis": "ACCRUAL"}
    rows = _json(client.get("/companies/C001/balance-sheet", params=params))["Data"]
    assert {type(row["Amount"]) for row in rows} == {Decimal}
    assert {row["Amount"].as_tuple().exponent for row in rows} == {-2}


def test_budget_profit_and_loss_rows_inside_budget(client: httpx.Client) -> None:
    params = {
        "StartDate": "2025-01-01",
        "EndDate": "2027-12-31",
        "AccountingBasis": "ACCRUAL",
        "BudgetId": "BG02",
    }
    rows = _json(client.get("/companies/C001/profit-and-loss", params=params))["Data"]
    assert min(row["Date"] for row in rows) == "2026-04-30"
    assert max(row["Date"] for row in rows) == "2027-03-31"


@pytest.mark.parametrize("statement", ["balance-sheet", "cash-flow"])
def test_budget_has_no_balance_sheet_or_cash_flow(client: httpx.Client, statement: str) -> None:
    params = {**RANGE, "AccountingBasis": "ACCRUAL", "BudgetId": "BG01"}
    response = client.get(f"/companies/C001/{statement}", params=params)
    assert response.status_code == 200
    assert _json(response) == {"Data": []}


def test_months_outside_books_give_empty_data(client: httpx.Client) -> None:
    params = {"StartDate": "2010-01-01", "EndDate": "2010-12-31", "AccountingBasis": "CASH"}
    response = client.get("/companies/C001/profit-and-loss", params=params)
    assert response.status_code == 200
    assert _json(response) == {"Data": []}


def test_non_financial_values(client: httpx.Client) -> None:
    body = {"NonFinancialIds": ["NF01", "NF03"], "StartDate": "2026-03-01", "EndDate": "2026-04-30"}
    response = client.post("/companies/C001/non-financial", json=body)
    rows = _json(response)["Data"]
    assert response.status_code == 200
    assert [(row["NonFinancialId"], row["Date"]) for row in rows] == [
        ("NF01", "2026-03-31"),
        ("NF03", "2026-03-31"),
        ("NF01", "2026-04-30"),
        ("NF03", "2026-04-30"),
    ]
    assert {type(row["Value"]) for row in rows} <= {int, Decimal}


def test_non_financial_values_by_class_and_budget(client: httpx.Client) -> None:
    body = {
        "NonFinancialIds": ["NF02"],
        "StartDate": "2026-01-01",
        "EndDate": "2027-12-31",
        "BudgetId": "BG02",
        "ClassId": "CL02",
    }
    rows = _json(client.post("/companies/C001/non-financial", json=body))["Data"]
    assert len(rows) == 12


def test_empty_metric_list_gives_empty_data(client: httpx.Client) -> None:
    body = {"NonFinancialIds": [], "StartDate": "2026-01-01", "EndDate": "2026-01-31"}
    assert _json(client.post("/companies/C001/non-financial", json=body)) == {"Data": []}


@pytest.mark.parametrize(
    "path", ["/oauth2/user-info", "/companies/C001", "/companies/C001/chart-of-accounts"]
)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}"])
def test_unauthorized_request_gets_401(
    server: RunningServer, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(server.base_url + path, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert list(_json(response)) == ["Message"]


def test_unknown_company_without_token_gets_401(server: RunningServer) -> None:
    assert httpx.get(f"{server.base_url}/companies/C999").status_code == 401


def test_unknown_company_gets_404(client: httpx.Client) -> None:
    params = {**RANGE, "AccountingBasis": "CASH"}
    response = client.get("/companies/C999/balance-sheet", params=params)
    assert response.status_code == 404
    assert _json(response) == {
        "Message": "unknown CompanyId 'C999'; expected one listed by /oauth2/user-info"
    }


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("chart-of-accounts", {"limit": "0"}, "limit must be an integer from 1 to 1000, got '0'"),
        (
            "chart-of-accounts",
            {"limit": "1001"},
            "limit must be an integer from 1 to 1000, got '1001'",
        ),
        ("budgets", {"limit": "many"}, "limit must be an integer from 1 to 1000, got 'many'"),
        ("classes", {"offset": "-1"}, "offset must be an integer of at least 0, got '-1'"),
        (
            "profit-and-loss",
            {"StartDate": "2026-02-01", "EndDate": "2026-01-31", "AccountingBasis": "CASH"},
            "StartDate '2026-02-01' is after EndDate '2026-01-31'; "
            "expected StartDate on or before EndDate",
        ),
        (
            "balance-sheet",
            {**RANGE, "AccountingBasis": "MODIFIED"},
            "AccountingBasis must be CASH or ACCRUAL, got 'MODIFIED'",
        ),
        ("cash-flow", RANGE, "AccountingBasis is required; expected CASH or ACCRUAL"),
        (
            "cash-flow",
            {"StartDate": "2026-1-1", "EndDate": "2026-01-31", "AccountingBasis": "CASH"},
            "StartDate must be a date written YYYY-MM-DD, got '2026-1-1'",
        ),
        (
            "profit-and-loss",
            {"EndDate": "2026-01-31", "AccountingBasis": "CASH"},
            "StartDate is required; expected a date written YYYY-MM-DD",
        ),
        (
            "profit-and-loss",
            {**RANGE, "AccountingBasis": "CASH", "BudgetId": "BG99"},
            "unknown BudgetId 'BG99'; expected an id listed by /companies/C001/budgets",
        ),
        (
            "balance-sheet",
            {**RANGE, "AccountingBasis": "CASH", "ClassId": "CL99"},
            "unknown ClassId 'CL99'; expected an id listed by /companies/C001/classes",
        ),
        (
            "cash-flow",
            {**RANGE, "AccountingBasis": "CASH", "DepartmentId": "DP99"},
            "unknown DepartmentId 'DP99'; expected an id listed by /companies/C001/departments",
        ),
    ],
)
def test_invalid_parameter_gets_400(
    client: httpx.Client, path: str, params: dict[str, str], message: str
) -> None:
    response = client.get(f"/companies/C001/{path}", params=params)
    assert response.status_code == 400
    assert _json(response) == {"Message": message}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            {
                "NonFinancialIds": ["NF01", "NF77"],
                "StartDate": "2026-01-01",
                "EndDate": "2026-01-31",
            },
            "unknown NonFinancialIds ['NF77']; "
            "expected ids listed by /companies/C001/non-financial-metrics",
        ),
        (
            {"StartDate": "2026-01-01", "EndDate": "2026-01-31"},
            "NonFinancialIds is required; expected an array of NonFinancialId strings",
        ),
        (
            {"NonFinancialIds": ["NF01"], "StartDate": "2026-01-01"},
            "EndDate is required; expected a date written YYYY-MM-DD",
        ),
        (["NF01"], "the request body must be a JSON object, got list"),
    ],
)
def test_invalid_metric_request_gets_400(client: httpx.Client, content: Any, message: str) -> None:
    response = client.post("/companies/C001/non-financial", json=content)
    assert response.status_code == 400
    assert _json(response) == {"Message": message}


def test_malformed_json_body_gets_400(client: httpx.Client) -> None:
    response = client.post(
        "/companies/C001/non-financial", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert _json(response)["Message"].startswith("the request body must be a JSON object: ")


def test_unknown_path_gets_json_404(client: httpx.Client) -> None:
    response = client.get("/companies/C001/journal")
    assert response.status_code == 404
    assert _json(response) == {"Message": "Not Found: GET /companies/C001/journal"}


@pytest.mark.parametrize("limit", [1, 5, 7, 22, 1000])
def test_pages_reproduce_chart_of_accounts(client: httpx.Client, limit: int) -> None:
    full = _json(client.get("/companies/C001/chart-of-accounts"))["Data"]
    collected: list[dict[str, Any]] = []
    totals = set()
    offset = 0
    while True:
        params = {"offset": offset, "limit": limit}
        body = _json(client.get("/companies/C001/chart-of-accounts", params=params))
        totals.add(body["Pagination"]["total"])
        if not body["Data"]:
            break
        collected.extend(body["Data"])
        offset += limit
    assert collected == full
    assert totals == {22}


def test_offset_past_end_gives_empty_page(client: httpx.Client) -> None:
    body = _json(client.get("/companies/C001/classes", params={"offset": 50}))
    assert body == {"Data": [], "Pagination": {"offset": 50, "limit": 100, "total": 3}}


def _authorize(http: httpx.Client, **extra: str) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": CLIENT["client_id"],
        "redirect_uri": REDIRECT_URI,
    }
    return http.get("/oauth2/authorize", params={**params, **extra})


def test_authorization_code_flow_yields_working_token(server: RunningServer) -> None:
    with httpx.Client(base_url=server.base_url) as http:
        authorized = _authorize(http, state="eyJ4IjoxfQ%3D%3D", scope="openid read:company")
        assert authorized.status_code == 200
        assert authorized.json()["state"] == "eyJ4IjoxfQ%3D%3D"
        code = authorized.json()["code"]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        issued = http.post("/oauth2/token", data={**form, **CLIENT})
        tokens = issued.json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        used = http.get("/companies/C001", headers=headers)
    assert issued.status_code == 200
    assert sorted(tokens) == ["access_token", "expires_in", "refresh_token", "scope", "token_type"]
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["scope"] == "openid read:company"
    assert issued.headers["cache-control"] == "no-store"
    assert used.status_code == 200


def test_refresh_flow_yields_working_token(server: RunningServer) -> None:
    with httpx.Client(base_url=server.base_url) as http:
        code = _authorize(http).json()["code"]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        first = http.post("/oauth2/token", data={**form, **CLIENT}).json()
        refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
        refreshed = http.post("/oauth2/token", data={**refresh, **CLIENT})
        assert refreshed.status_code == 200
        token = refreshed.json()["access_token"]
        assert token != first["access_token"]
        used = http.get("/oauth2/user-info", headers={"Authorization": f"Bearer {token}"})
        assert used.status_code == 200


def test_spent_refresh_token_is_invalid_grant(server: RunningServer) -> None:
    with httpx.Client(base_url=server.base_url) as http:
        code = _authorize(http).json()["code"]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        refresh_token = http.post("/oauth2/token", data={**form, **CLIENT}).json()["refresh_token"]
        refresh = {"grant_type": "refresh_token", "refresh_token": refresh_token, **CLIENT}
        http.post("/oauth2/token", data=refresh)
        again = http.post("/oauth2/token", data=refresh)
        assert again.status_code == 400
        assert again.json()["error"] == "invalid_grant"


def test_unknown_code_is_invalid_grant(server: RunningServer) -> None:
    form = {"grant_type": "authorization_code", "code": "made-up", "redirect_uri": REDIRECT_URI}
    response = httpx.post(f"{server.base_url}/oauth2/token", data={**form, **CLIENT})
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "the authorization code is unknown, spent or expired, or redirect_uri "
        "differs from the authorization request",
        "Message": "the authorization code is unknown, spent or expired, or redirect_uri "
        "differs from the authorization request",
    }


def test_wrong_client_secret_gets_401(server: RunningServer) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": "x", **CLIENT, "client_secret": "wrong"}
    response = httpx.post(f"{server.base_url}/oauth2/token", data=form)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_unsupported_grant_type_gets_400(server: RunningServer) -> None:
    form = {"grant_type": "password", **CLIENT}
    response = httpx.post(f"{server.base_url}/oauth2/token", data=form)
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"client_id": "someone-else"}, "invalid_request"),
        ({"redirect_uri": ""}, "invalid_request"),
        ({"scope": "openid admin"}, "invalid_scope"),
    ],
)
def test_invalid_authorize_request_gets_400(
    server: RunningServer, extra: dict[str, str], error: str
) -> None:
    with httpx.Client(base_url=server.base_url) as http:
        response = _authorize(http, **extra)
    assert response.status_code == 400
    assert response.json()["error"] == error


@pytest.fixture(scope="module")
def ledger_server() -> Iterator[RunningServer]:
    if not XERO_LEDGER.is_dir():
        pytest.skip(f"the Xero ledger export is not present at {XERO_LEDGER}")
    with serve_in_background(PartnerConfig(ledger=XERO_LEDGER, token=TOKEN)) as running:
        yield running


@pytest.mark.parametrize("basis", ["ACCRUAL", "CASH"])
def test_ledger_identities_hold_over_http(ledger_server: RunningServer, basis: str) -> None:
    company_id = ledger_server.company_ids[0]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    params = {"StartDate": "2019-10-01", "EndDate": "2021-03-31", "AccountingBasis": basis}
    prefix = f"/companies/{company_id}"
    with httpx.Client(base_url=ledger_server.base_url, headers=headers) as http:
        company = _json(http.get(prefix))
        accounts = _json(http.get(f"{prefix}/chart-of-accounts", params={"limit": 1000}))["Data"]
        statements = {
            name: rows_from_json(_json(http.get(f"{prefix}/{name}", params=params))["Data"])
            for name in ("profit-and-loss", "balance-sheet", "cash-flow")
        }
    chart = {a["AccountId"]: (a["AccountType"], a["CashFlowCategory"]) for a in accounts}
    month_ends = month_end_dates(dt.date(2019, 10, 1), dt.date(2021, 3, 31))
    breaks = identity_breaks(
        chart,
        company["FiscalMonthEnd"],
        month_ends,
        statements["profit-and-loss"],
        statements["balance-sheet"],
        statements["cash-flow"],
    )
    assert len(month_ends) == 18
    assert breaks == []


@pytest.mark.parametrize(
    "operation", ["classes", "departments", "budgets", "non-financial-metrics"]
)
def test_ledger_reference_lists_are_empty(ledger_server: RunningServer, operation: str) -> None:
    company_id = ledger_server.company_ids[0]
    response = httpx.get(
        f"{ledger_server.base_url}/companies/{company_id}/{operation}",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert _json(response) == {"Data": [], "Pagination": {"offset": 0, "limit": 100, "total": 0}}
