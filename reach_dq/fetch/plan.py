"""Request planning for a snapshot: the Reach API paths and the statement and metric windows.

Everything here is pure: it builds request descriptions and sends nothing.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from reach_dq.datasets import BASES, BY_OPERATION


@dataclasses.dataclass(frozen=True)
class Endpoint:
    operation_id: str
    method: str
    path: str  # template; {company_id} is replaced by the path-encoded company id


ENDPOINTS: dict[str, Endpoint] = {
    endpoint.operation_id: endpoint
    for endpoint in (
        Endpoint("getUserInfo", "GET", "/oauth2/user-info"),
        Endpoint("getCompany", "GET", "/companies/{company_id}"),
        Endpoint("listChartOfAccounts", "GET", "/companies/{company_id}/chart-of-accounts"),
        Endpoint("listBudgets", "GET", "/companies/{company_id}/budgets"),
        Endpoint("listClasses", "GET", "/companies/{company_id}/classes"),
        Endpoint("listDepartments", "GET", "/companies/{company_id}/departments"),
        Endpoint("listNonFinancialMetrics", "GET", "/companies/{company_id}/non-financial-metrics"),
        Endpoint("getNonFinancialValues", "POST", "/companies/{company_id}/non-financial"),
        Endpoint("getProfitAndLoss", "GET", "/companies/{company_id}/profit-and-loss"),
        Endpoint("getBalanceSheet", "GET", "/companies/{company_id}/balance-sheet"),
        Endpoint("getCashFlow", "GET", "/companies/{company_id}/cash-flow"),
    )
}

LIST_OPERATIONS = (
    "listChartOfAccounts",
    "listBudgets",
    "listClasses",
    "listDepartments",
    "listNonFinancialMetrics",
)
STATEMENT_OPERATIONS = ("getProfitAndLoss", "getBalanceSheet", "getCashFlow")
BUDGET_STATEMENT_OPERATIONS = ("getProfitAndLoss",)  # budgets plan P&L only
# Classes and departments per company whose Profit and Loss is fetched (per basis). A company
# with more of one kind gets none of that kind, and the segment checks say so.
MAX_SEGMENT_FILTERS = 50


@dataclasses.dataclass(frozen=True)
class PlannedRequest:
    """One request of the snapshot, before pagination, with the context stored beside its rows."""

    operation_id: str
    method: str
    path: str  # encoded path without query
    params: tuple[tuple[str, str], ...] = ()
    json_body: Mapping[str, Any] | None = None
    company_id: str | None = None
    basis: str | None = None
    budget_id: str | None = None
    class_id: str | None = None
    department_id: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None

    @property
    def dataset(self) -> str | None:
        dataset = BY_OPERATION.get(self.operation_id)
        return None if dataset is None else dataset.name

    def target(self, *, page_offset: int | None = None, page_limit: int | None = None) -> str:
        """Return the path and query string to send, relative to the partner's base URL."""
        params = list(self.params)
        if page_offset is not None:
            params.append(("offset", str(page_offset)))
        if page_limit is not None:
            params.append(("limit", str(page_limit)))
        if not params:
            return self.path
        return f"{self.path}?{httpx.QueryParams(params)}"


def encode_segment(value: str) -> str:
    """Percent-encode ``value`` as one path segment that cannot change the request target.

    ``quote`` leaves dots alone, and HTTP clients remove the dot segments "." and "..", so an
    id made only of dots has its dots encoded as well.
    """
    encoded = quote(value, safe="")
    if encoded in (".", ".."):
        return encoded.replace(".", "%2E")
    return encoded


def endpoint_path(operation_id: str, company_id: str | None = None) -> str:
    path = ENDPOINTS[operation_id].path
    if "{company_id}" not in path:
        return path
    if not company_id:
        raise ValueError(f"{operation_id} needs a non-empty company id, got {company_id!r}")
    return path.replace("{company_id}", encode_segment(company_id))


def planned(operation_id: str, company_id: str | None = None, **context: Any) -> PlannedRequest:
    endpoint = ENDPOINTS[operation_id]
    return PlannedRequest(
        operation_id=operation_id,
        method=endpoint.method,
        path=endpoint_path(operation_id, company_id),
        company_id=company_id,
        **context,
    )


def month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def month_start(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(index: int) -> dt.date:
    year, month = index // 12, index % 12 + 1
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def is_month_end(day: dt.date) -> bool:
    return day == month_end(month_index(day))


def fiscal_year_start(day: dt.date, fiscal_month_end: int) -> dt.date:
    """Return the first day of the fiscal year containing ``day``.

    The fiscal year starts the month after ``fiscal_month_end`` (1..12); 12 means January.
    """
    months_into_year = (day.month - 1 - fiscal_month_end % 12) % 12
    return month_start(month_index(day) - months_into_year)


def statement_start(first_month: dt.date, fiscal_month_end: int | None) -> dt.date:
    """Return the first day of the statement window for a requested range starting ``first_month``.

    Identity checks need the fiscal year-to-date P&L of every requested month and the balance
    at the month end before it, so the window starts at the earlier of the fiscal year start
    and the month before ``first_month``. Without a usable fiscal month end only the previous
    month is added.
    """
    previous_month = month_start(month_index(first_month) - 1)
    if fiscal_month_end is None:
        return previous_month
    return min(fiscal_year_start(first_month, fiscal_month_end), previous_month)


def statement_requests(
    company_id: str,
    *,
    start: dt.date,
    end: dt.date,
    budget_ids: Sequence[str] = (),
) -> list[PlannedRequest]:
    """Plan each statement on both bases, then the P&L of each budget on both bases."""
    requests = [
        _statement(operation_id, company_id, basis, start, end)
        for basis in BASES
        for operation_id in STATEMENT_OPERATIONS
    ]
    requests += [
        _statement(operation_id, company_id, basis, start, end, budget_id=budget_id)
        for budget_id in budget_ids
        for basis in BASES
        for operation_id in BUDGET_STATEMENT_OPERATIONS
    ]
    return requests


def segment_requests(
    company_id: str,
    *,
    first_month: dt.date,
    last_month: dt.date,
    class_ids: Sequence[str] = (),
    department_ids: Sequence[str] = (),
) -> list[PlannedRequest]:
    """Plan the actuals P&L of each class and each department on both bases.

    The window is the requested range only. A kind with more than ``MAX_SEGMENT_FILTERS`` ids
    gets no request, so one company adds at most 4 * MAX_SEGMENT_FILTERS requests.
    """
    start = month_start(month_index(first_month))
    requests: list[PlannedRequest] = []
    if len(class_ids) <= MAX_SEGMENT_FILTERS:
        requests += [
            _statement("getProfitAndLoss", company_id, basis, start, last_month, class_id=value)
            for value in class_ids
            for basis in BASES
        ]
    if len(department_ids) <= MAX_SEGMENT_FILTERS:
        requests += [
            _statement(
                "getProfitAndLoss", company_id, basis, start, last_month, department_id=value
            )
            for value in department_ids
            for basis in BASES
        ]
    return requests


def _statement(
    operation_id: str,
    company_id: str,
    basis: str,
    start: dt.date,
    end: dt.date,
    *,
    budget_id: str | None = None,
    class_id: str | None = None,
    department_id: str | None = None,
) -> PlannedRequest:
    params = [
        ("StartDate", start.isoformat()),
        ("EndDate", end.isoformat()),
        ("AccountingBasis", basis),
    ]
    if budget_id is not None:
        params.append(("BudgetId", budget_id))
    if class_id is not None:
        params.append(("ClassId", class_id))
    if department_id is not None:
        params.append(("DepartmentId", department_id))
    return planned(
        operation_id,
        company_id,
        params=tuple(params),
        basis=basis,
        budget_id=budget_id,
        class_id=class_id,
        department_id=department_id,
        start_date=start,
        end_date=end,
    )


def metric_value_requests(
    company_id: str,
    *,
    metric_ids: Sequence[str],
    first_month: dt.date,
    last_month: dt.date,
    budget_ids: Sequence[str] = (),
) -> list[PlannedRequest]:
    """Plan one metric-value request for actuals and one per budget; none without metrics."""
    if not metric_ids:
        return []
    start = month_start(month_index(first_month))
    return [
        _metric_values(company_id, metric_ids, start, last_month, budget_id)
        for budget_id in (None, *budget_ids)
    ]


def _metric_values(
    company_id: str,
    metric_ids: Sequence[str],
    start: dt.date,
    end: dt.date,
    budget_id: str | None,
) -> PlannedRequest:
    body: dict[str, Any] = {
        "NonFinancialIds": list(metric_ids),
        "StartDate": start.isoformat(),
        "EndDate": end.isoformat(),
    }
    if budget_id is not None:
        body["BudgetId"] = budget_id
    return planned(
        "getNonFinancialValues",
        company_id,
        json_body=body,
        budget_id=budget_id,
        start_date=start,
        end_date=end,
    )
