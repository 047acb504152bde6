"""The FastAPI application of the reference partner server.

The OAuth routes live in ``oauth``. This module contains the company routes and the error
handlers. Every error body is ``{"Message": ...}``: FastAPI's 422 validation errors are mapped
to 400, and unexpected errors to a 500 with a generic message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from reach_dq.partner import oauth, payloads
from reach_dq.partner.faults import FaultRequest, apply_faults
from reach_dq.partner.faults.golive_http import GoliveFaultMiddleware
from reach_dq.partner.transport_faults import TransportFaultMiddleware
from reach_dq.partner.jsonbody import ExactJSONResponse
from reach_dq.partner.months import add_months
from reach_dq.partner.params import (
    bad_request,
    paginate,
    parse_basis,
    parse_id,
    parse_limit,
    parse_offset,
    parse_range,
)
from reach_dq.partner.state import PartnerState, company_statements, partner_state
from reach_dq.partner.statements import Scope, StatementRow, Statements

log = logging.getLogger(__name__)

Company = Annotated[Statements, Depends(company_statements)]
State = Annotated[PartnerState, Depends(partner_state)]


def create_app(state: PartnerState) -> FastAPI:
    app = FastAPI(
        title="Reach API reference partner",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.partner = state
    # Starlette types a handler as taking any Exception, so the narrower handlers need ignores.
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _server_error)
    app.add_middleware(GoliveFaultMiddleware)  # type: ignore[arg-type]  # a plain ASGI class
    app.add_middleware(TransportFaultMiddleware, state=state)  # type: ignore[arg-type]  # as above
    app.include_router(oauth.router)
    _add_company_routes(app)
    return app


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    message = str(exc.detail)
    if message == HTTPStatus(exc.status_code).phrase:
        message = f"{message}: {request.method} {request.url.path}"
    log.info("%s %s -> %d: %s", request.method, request.url.path, exc.status_code, message)
    return ExactJSONResponse({"Message": message}, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = f"invalid request: {where} {first.get('msg', '')}".strip()
    log.info("%s %s -> 400: %s", request.method, request.url.path, message)
    return ExactJSONResponse({"Message": message}, status_code=400)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return ExactJSONResponse({"Message": "internal server error"}, status_code=500)


def _fault_request(
    state: PartnerState, statements: Statements, operation_id: str, **parameters: Any
) -> FaultRequest:
    books = statements.books
    return FaultRequest(
        operation_id=operation_id,
        books=books,
        target_company=books.company.company_id == state.target_company_id,
        target_month=add_months(books.last_month, -3),
        **parameters,
    )


def _respond(state: PartnerState, fault_request: FaultRequest, body: dict[str, Any]) -> Response:
    result = apply_faults(state.faults, fault_request, body)
    return result if isinstance(result, Response) else ExactJSONResponse(result)


def _list(
    request: Request,
    state: PartnerState,
    statements: Statements,
    operation_id: str,
    items: Sequence[dict[str, Any]],
) -> Response:
    limit = parse_limit(request.query_params.get("limit"))
    offset = parse_offset(request.query_params.get("offset"))
    page, pagination = paginate(items, offset=offset, limit=limit)
    body = {"Data": page, "Pagination": pagination}
    return _respond(state, _fault_request(state, statements, operation_id), body)


def _statement(
    request: Request,
    state: PartnerState,
    statements: Statements,
    operation_id: str,
    compute: Callable[[Scope, Any, Any], list[StatementRow]],
) -> Response:
    """Serve one statement; a budget has P&L rows only, so other statements return no rows."""
    query = request.query_params
    books = statements.books
    prefix = f"/companies/{books.company.company_id}"
    start, end = parse_range(query.get("StartDate"), query.get("EndDate"))
    basis = parse_basis(query.get("AccountingBasis"))
    budget_ids = [budget.budget_id for budget in books.budgets]
    budget_id = parse_id("BudgetId", query.get("BudgetId"), budget_ids, f"{prefix}/budgets")
    class_ids = [segment.segment_id for segment in books.classes]
    class_id = parse_id("ClassId", query.get("ClassId"), class_ids, f"{prefix}/classes")
    department_ids = [segment.segment_id for segment in books.departments]
    department_id = parse_id(
        "DepartmentId", query.get("DepartmentId"), department_ids, f"{prefix}/departments"
    )

    if budget_id is None:
        rows = compute(Scope(basis, class_id, department_id), start, end)
    elif operation_id == "getProfitAndLoss":
        rows = statements.budget_profit_and_loss(
            budget_id, start, end, class_id=class_id, department_id=department_id
        )
    else:
        rows = []
    body = {"Data": [payloads.statement_item(row) for row in rows]}
    fault_request = _fault_request(
        state,
        statements,
        operation_id,
        basis=basis,
        budget_id=budget_id,
        class_id=class_id,
        department_id=department_id,
        start_date=start,
        end_date=end,
    )
    return _respond(state, fault_request, body)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        payload = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f"the request body must be a JSON object: {exc}") from exc
    if not isinstance(payload, dict):
        raise bad_request(f"the request body must be a JSON object, got {type(payload).__name__}")
    return payload


def _metric_ids(payload: dict[str, Any], known: Sequence[str], listing: str) -> list[str]:
    """Check NonFinancialIds; an empty array is valid and selects nothing."""
    ids = payload.get("NonFinancialIds")
    if ids is None:
        raise bad_request(
            "NonFinancialIds is required; expected an array of NonFinancialId strings"
        )
    if not isinstance(ids, list) or not all(isinstance(item, str) for item in ids):
        raise bad_request(f"NonFinancialIds must be an array of strings, got {ids!r}")
    unknown = [item for item in ids if item not in known]
    if unknown:
        raise bad_request(f"unknown NonFinancialIds {unknown!r}; expected ids listed by {listing}")
    return ids


def _add_company_routes(app: FastAPI) -> None:
    prefix = "/companies/{company_id}"

    @app.get(prefix)
    def get_company(statements: Company, state: State) -> Response:
        body = payloads.company_body(statements.books.company)
        return _respond(state, _fault_request(state, statements, "getCompany"), body)

    @app.get(f"{prefix}/chart-of-accounts")
    def list_chart_of_accounts(request: Request, statements: Company, state: State) -> Response:
        items = [payloads.account_item(account) for account in statements.accounts]
        return _list(request, state, statements, "listChartOfAccounts", items)

    @app.get(f"{prefix}/budgets")
    def list_budgets(request: Request, statements: Company, state: State) -> Response:
        budgets = sorted(statements.books.budgets, key=lambda budget: budget.budget_id)
        items = [payloads.budget_item(budget) for budget in budgets]
        return _list(request, state, statements, "listBudgets", items)

    @app.get(f"{prefix}/classes")
    def list_classes(request: Request, statements: Company, state: State) -> Response:
        classes = sorted(statements.books.classes, key=lambda segment: segment.segment_id)
        items = [payloads.class_item(segment) for segment in classes]
        return _list(request, state, statements, "listClasses", items)

    @app.get(f"{prefix}/departments")
    def list_departments(request: Request, statements: Company, state: State) -> Response:
        departments = sorted(statements.books.departments, key=lambda segment: segment.segment_id)
        items = [payloads.department_item(segment) for segment in departments]
        return _list(request, state, statements, "listDepartments", items)

    @app.get(f"{prefix}/non-financial-metrics")
    def list_metrics(request: Request, statements: Company, state: State) -> Response:
        metrics = sorted(statements.books.metrics, key=lambda metric: metric.metric_id)
        items = [payloads.metric_item(metric) for metric in metrics]
        return _list(request, state, statements, "listNonFinancialMetrics", items)

    @app.post(f"{prefix}/non-financial")
    async def get_metric_values(request: Request, statements: Company, state: State) -> Response:
        books = statements.books
        listing = f"/companies/{books.company.company_id}"
        payload = await _json_object(request)
        known = [metric.metric_id for metric in books.metrics]
        ids = _metric_ids(payload, known, f"{listing}/non-financial-metrics")
        start, end = parse_range(payload.get("StartDate"), payload.get("EndDate"))
        budget_ids = [budget.budget_id for budget in books.budgets]
        budget_id = parse_id("BudgetId", payload.get("BudgetId"), budget_ids, f"{listing}/budgets")
        class_ids = [segment.segment_id for segment in books.classes]
        class_id = parse_id("ClassId", payload.get("ClassId"), class_ids, f"{listing}/classes")

        values = [
            value
            for value in books.metric_values
            if value.metric_id in ids
            and value.budget_id == budget_id
            and value.class_id == class_id
            and start <= value.date <= end
        ]
        values.sort(key=lambda value: (value.date, value.metric_id))
        body = {"Data": [payloads.metric_value_item(value) for value in values]}
        fault_request = _fault_request(
            state,
            statements,
            "getNonFinancialValues",
            budget_id=budget_id,
            class_id=class_id,
            start_date=start,
            end_date=end,
        )
        return _respond(state, fault_request, body)

    @app.get(f"{prefix}/profit-and-loss")
    def get_profit_and_loss(request: Request, statements: Company, state: State) -> Response:
        compute = statements.profit_and_loss
        return _statement(request, state, statements, "getProfitAndLoss", compute)

    @app.get(f"{prefix}/balance-sheet")
    def get_balance_sheet(request: Request, statements: Company, state: State) -> Response:
        return _statement(request, state, statements, "getBalanceSheet", statements.balance_sheet)

    @app.get(f"{prefix}/cash-flow")
    def get_cash_flow(request: Request, statements: Company, state: State) -> Response:
        return _statement(request, state, statements, "getCashFlow", statements.cash_flow)
