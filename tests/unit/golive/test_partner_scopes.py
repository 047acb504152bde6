"""The reference partner's customer tokens and the go-live faults, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Iterator

import httpx
import pytest

from reach_dq.exceptions import ConfigError
from reach_dq.partner.faults import FAULTS
from reach_dq.partner.faults.golive import GOLIVE_FAULTS
from reach_dq.partner.server import PartnerConfig, RunningServer, build_app, serve_in_background

AS_OF = dt.date(2026, 7, 15)
MAIN = "main-token"
OTHER = "other-customer-token"
STATEMENT = {"StartDate": "2026-06-01", "EndDate": "2026-06-30", "AccountingBasis": "ACCRUAL"}


def serve(*faults: str) -> Iterator[tuple[RunningServer, httpx.Client]]:
    config = PartnerConfig(companies=3, as_of=AS_OF, token=MAIN, faults=faults,
                           customer_tokens={OTHER: ("C003",)})
    with serve_in_background(config) as server, httpx.Client(base_url=server.base_url) as http:
        yield server, http


@pytest.fixture(scope="module")
def healthy() -> Iterator[tuple[RunningServer, httpx.Client]]:
    yield from serve()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def listed(http: httpx.Client, token: str) -> list[str]:
    body = http.get("/oauth2/user-info", headers=bearer(token)).json()
    return [company["CompanyId"] for company in body["Companies"]]


def test_user_info_lists_each_customers_companies(healthy) -> None:
    server, http = healthy

    assert listed(http, MAIN) == ["C001", "C002"]
    assert listed(http, OTHER) == ["C003"]
    assert server.company_ids == ("C001", "C002")


def test_other_customers_company_is_404(healthy) -> None:
    _, http = healthy

    response = http.get("/companies/C003", headers=bearer(MAIN))

    assert response.status_code == 404
    assert response.json() == {
        "Message": "unknown CompanyId 'C003'; expected one listed by /oauth2/user-info"
    }


def test_customer_token_reads_own_company(healthy) -> None:
    _, http = healthy

    response = http.get("/companies/C003", headers=bearer(OTHER))

    assert response.status_code == 200
    assert response.json()["CompanyId"] == "C003"


@pytest.mark.parametrize(
    ("customers", "message"),
    [
        ({"": ("C001",)}, "a customer token must be non-empty and differ from the main token"),
        ({MAIN: ("C001",)}, "a customer token must be non-empty and differ from the main token"),
        ({OTHER: ("C009",)}, "a customer token must list served CompanyIds, got ('C009',); "
                             "expected some of C001, C002, C003"),
        ({OTHER: ("C001", "C002", "C003")},
         "customer_tokens take every company; the main token would read none"),
        ({OTHER: ("C001",), "third": ("C001",)},
         "companies ['C001'] are listed for two customer tokens"),
    ],
)
def test_invalid_customer_tokens_are_config_errors(customers, message: str) -> None:
    config = PartnerConfig(companies=3, as_of=AS_OF, token=MAIN, customer_tokens=customers)
    with pytest.raises(ConfigError) as caught:
        build_app(config)
    assert str(caught.value) == message


def test_access_token_seconds_below_one_is_config_error() -> None:
    config = dataclasses.replace(PartnerConfig(as_of=AS_OF), access_token_seconds=0)
    with pytest.raises(ConfigError) as caught:
        build_app(config)
    assert str(caught.value) == "access_token_seconds must be at least 1, got 0"


def test_golive_faults_are_registered_with_sentences() -> None:
    names = [fault.name for fault in GOLIVE_FAULTS]

    assert len(names) == 14
    assert all(FAULTS[name] is fault for name, fault in zip(names, GOLIVE_FAULTS, strict=True))
    assert [fault.name for fault in GOLIVE_FAULTS if not fault.description.endswith(".")] == []


def test_no_auth_serves_without_token() -> None:
    for _, http in serve("no-auth"):
        response = http.get("/companies/C001")
        assert response.status_code == 200
        assert response.json()["CompanyId"] == "C001"


def test_html_login_page_answers_200_html() -> None:
    for _, http in serve("html-login-page"):
        response = http.get("/oauth2/user-info", headers=bearer("wrong"))
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.text.startswith("<!DOCTYPE html>")
        assert http.get("/oauth2/user-info", headers=bearer(MAIN)).json()["Companies"]


def test_unknown_company_200_keeps_known_companies() -> None:
    for _, http in serve("unknown-company-200"):
        unknown = http.get("/companies/nope/budgets", headers=bearer(MAIN))
        assert (unknown.status_code, unknown.json()) == (200, {"Data": []})
        assert http.get("/companies/C001", headers=bearer(MAIN)).json()["CompanyId"] == "C001"


def test_bad_limit_accepted_clamps_page_parameters() -> None:
    for _, http in serve("bad-limit-accepted"):
        response = http.get("/companies/C001/classes", headers=bearer(MAIN),
                            params={"limit": "0", "offset": "-1"})
        assert response.status_code == 200
        assert response.json()["Pagination"] == {"offset": 0, "limit": 1, "total": 3}


def test_reversed_dates_accepted_swaps_the_range() -> None:
    for _, http in serve("reversed-dates-accepted"):
        query = {**STATEMENT, "StartDate": "2026-06-30", "EndDate": "2026-06-01"}
        response = http.get("/companies/C001/cash-flow", headers=bearer(MAIN), params=query)
        assert response.status_code == 200
        assert {row["Date"] for row in response.json()["Data"]} == {"2026-06-30"}


def test_empty_as_null_sends_null_data() -> None:
    for _, http in serve("empty-as-null"):
        query = {**STATEMENT, "StartDate": "1900-01-01", "EndDate": "1900-01-31"}
        response = http.get("/companies/C001/balance-sheet", headers=bearer(MAIN), params=query)
        assert response.json() == {"Data": None}


def test_pagination_duplicate_record_repeats_last_of_previous_page() -> None:
    for _, http in serve("pagination-duplicate-record"):
        first = http.get("/companies/C001/chart-of-accounts", headers=bearer(MAIN),
                         params={"offset": "0", "limit": "5"}).json()["Data"]
        second = http.get("/companies/C001/chart-of-accounts", headers=bearer(MAIN),
                          params={"offset": "5", "limit": "5"}).json()["Data"]
        assert second[0] == first[-1]
        assert len(second) == 5


def test_pagination_total_mismatch_adds_one() -> None:
    for _, http in serve("pagination-total-mismatch"):
        body = http.get("/companies/C001/chart-of-accounts", headers=bearer(MAIN)).json()
        assert body["Pagination"]["total"] == len(body["Data"]) + 1


def test_discovery_missing_field_drops_auth_methods() -> None:
    for _, http in serve("discovery-missing-field"):
        body = http.get("/auth/oauth-discovery").json()
        assert "token_endpoint_auth_methods_supported" not in body
        assert body["token_endpoint"].endswith("/oauth2/token")


def test_isolation_breach_reads_other_customers_company() -> None:
    for _, http in serve("isolation-breach"):
        assert http.get("/companies/C003", headers=bearer(MAIN)).status_code == 200
        assert listed(http, MAIN) == ["C001", "C002"]


def test_unstable_figures_change_on_repeat() -> None:
    for _, http in serve("unstable-figures"):
        path = "/companies/C001/profit-and-loss"
        first = http.get(path, headers=bearer(MAIN), params=STATEMENT).json()["Data"]
        second = http.get(path, headers=bearer(MAIN), params=STATEMENT).json()["Data"]
        cash = http.get(path, headers=bearer(MAIN),
                        params={**STATEMENT, "AccountingBasis": "CASH"}).json()["Data"]
        again = http.get(path, headers=bearer(MAIN),
                         params={**STATEMENT, "AccountingBasis": "CASH"}).json()["Data"]
        assert second[0]["Amount"] != first[0]["Amount"]
        assert second[1:] == first[1:]
        assert again == cash


def test_slow_operation_delays_target_company_only() -> None:
    for _, http in serve("slow-operation"):
        started = time.perf_counter()
        http.get("/companies/C002", headers=bearer(MAIN))
        other = time.perf_counter() - started
        started = time.perf_counter()
        http.get("/companies/C001", headers=bearer(MAIN))
        target = time.perf_counter() - started
        assert other < 1.0
        assert target >= 2.2


def test_refresh_fails_rejects_refresh_grant() -> None:
    for _, http in serve("refresh-fails"):
        code = http.get("/oauth2/authorize", params={
            "response_type": "code", "client_id": "reach-dq-demo", "redirect_uri": "http://127.0.0.1/cb",
        }).json()["code"]
        client = {"client_id": "reach-dq-demo", "client_secret": "reach-dq-demo-secret"}
        grant = http.post("/oauth2/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1/cb",
            **client,
        }).json()
        refreshed = http.post("/oauth2/token", data={
            "grant_type": "refresh_token", "refresh_token": grant["refresh_token"], **client,
        })
        assert refreshed.status_code == 400
        assert refreshed.json()["error"] == "invalid_grant"
