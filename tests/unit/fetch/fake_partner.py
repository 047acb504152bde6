"""A small in-process Reach API for httpx.MockTransport: enough to drive a whole fetch."""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import unquote

import httpx

TOKEN = "test-token-5f1c"
BASE_URL = "http://127.0.0.1:8765/api"


@dataclasses.dataclass
class FakeCompany:
    company_id: str
    fiscal_month_end: Any = 12
    accounts: tuple[str, ...] = ("A1", "A2")
    budgets: tuple[str, ...] = ("B1",)
    metrics: tuple[str, ...] = ("M1", "M2")


class FakePartner:
    """Serve user info, company info, lists, statements and metric values for fake companies.

    ``failures`` maps (company id, resource) to the status code to return instead; the resource
    is the last path segment ("" for company information). ``user_info_body`` replaces the
    generated user-info body. ``requests`` keeps every request.
    """

    def __init__(
        self,
        companies: list[FakeCompany],
        *,
        user_info_status: int = 200,
        user_info_body: dict[str, Any] | None = None,
        failures: dict[tuple[str, str], int] | None = None,
    ) -> None:
        self.companies = {company.company_id: company for company in companies}
        self.user_info_status = user_info_status
        self.user_info_body = user_info_body
        self.failures = failures or {}
        self.requests: list[httpx.Request] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return _json(401, {"Message": "missing or invalid access token"})

        segments = request.url.raw_path.split(b"?")[0].decode().split("/")[2:]
        if segments == ["oauth2", "user-info"]:
            return self._user_info()
        if len(segments) in (2, 3) and segments[0] == "companies":
            company = self.companies.get(unquote(segments[1]))
            resource = segments[2] if len(segments) == 3 else ""
            if company is None:
                return _json(404, {"Message": f"unknown company {unquote(segments[1])}"})
            status = self.failures.get((company.company_id, resource))
            if status is not None:
                return _json(status, {"Message": f"{resource or 'company'} is unavailable"})
            return self._company_resource(company, resource, request)
        return _json(404, {"Message": "no such path"})

    def _user_info(self) -> httpx.Response:
        if self.user_info_status != 200:
            return _json(self.user_info_status, {"Message": "user info is unavailable"})
        if self.user_info_body is not None:
            return _json(200, self.user_info_body)
        companies = [
            {"CompanyId": company_id, "CompanyName": f"Company {company_id}"}
            for company_id in self.companies
        ]
        body = {"sub": "u1", "name": "Test", "email": "t@example.com", "Companies": companies}
        return _json(200, body)

    def _company_resource(
        self, company: FakeCompany, resource: str, request: httpx.Request
    ) -> httpx.Response:
        if resource == "":
            return _json(
                200,
                {
                    "CompanyId": company.company_id,
                    "CompanyName": "Test company",
                    "FiscalMonthEnd": company.fiscal_month_end,
                    "Currency": "USD",
                },
            )
        if resource == "chart-of-accounts":
            return _page(request, [{"AccountId": account} for account in company.accounts])
        if resource == "budgets":
            return _page(request, [{"BudgetId": budget} for budget in company.budgets])
        if resource == "non-financial-metrics":
            return _page(request, [{"NonFinancialId": metric} for metric in company.metrics])
        if resource in ("classes", "departments"):
            return _page(request, [])
        if resource in ("profit-and-loss", "balance-sheet", "cash-flow"):
            end = request.url.params["EndDate"]
            rows = ", ".join(
                f'{{"AccountId": "{account}", "Date": "{end}", "Amount": 100.10}}'
                for account in company.accounts
            )
            return httpx.Response(200, content=f'{{"Data": [{rows}]}}'.encode())
        if resource == "non-financial":
            body = json.loads(request.content)
            rows = [
                {"NonFinancialId": metric, "Date": body["EndDate"], "Value": 3}
                for metric in body["NonFinancialIds"]
            ]
            return _json(200, {"Data": rows})
        return _json(404, {"Message": "no such path"})


def _page(request: httpx.Request, items: list[dict[str, Any]]) -> httpx.Response:
    offset = int(request.url.params["offset"])
    limit = int(request.url.params["limit"])
    data = items[offset : offset + limit]
    pagination = {"offset": offset, "limit": limit, "total": len(items)}
    return _json(200, {"Data": data, "Pagination": pagination})


def _json(status: int, document: dict[str, Any]) -> httpx.Response:
    return httpx.Response(status, json=document)
