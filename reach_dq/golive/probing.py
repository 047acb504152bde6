"""Helpers of every probe module: the probe context, valid requests per operation, findings."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from reach_dq.datasets import DATASETS, Dataset
from reach_dq.fetch.client import ProbeReply, ReachClient, parse_json
from reach_dq.fetch.plan import PlannedRequest, endpoint_path
from reach_dq.findings import Category, FailureCase, Finding, Outcome

if TYPE_CHECKING:
    import duckdb

    from reach_dq.contract.spec import Spec
    from reach_dq.fetch.tokens import ClientCredentials

JSON_MEDIA_TYPE = "application/json"
REJECTED_STATUSES = (401, 403)  # statuses the Reach API allows for a missing or invalid token
REFUSED_STATUSES = (401, 403, 404)  # statuses allowed for a company the token may not read
MAX_EXCERPT_CHARS = 120


@dataclasses.dataclass(frozen=True)
class LabelledToken:
    """A token with the label that names it in findings: its flag, never its value."""

    label: str
    token: SecretStr


@dataclasses.dataclass
class ProbeContext:
    """State shared by the probes of one run: the client, the contract and the fetched snapshot."""

    client: ReachClient
    spec: Spec
    connection: duckdb.DuckDBPyConnection
    snapshot_id: str
    base_url: str
    companies: tuple[str, ...]  # the companies the fetch read, in the order it found them
    last_month: dt.date  # last day of the last requested month
    tokens: tuple[LabelledToken, ...] = ()  # every token given, for the isolation probes
    credentials: ClientCredentials | None = None

    @property
    def first_company(self) -> str | None:
        return self.companies[0] if self.companies else None


def data_datasets(*, per_company: bool | None = None) -> tuple[Dataset, ...]:
    """Return the datasets of the snapshot, optionally only those read per company or not."""
    if per_company is None:
        return DATASETS
    return tuple(dataset for dataset in DATASETS if dataset.per_company is per_company)


def valid_request(
    dataset: Dataset,
    company_id: str | None,
    *,
    start: dt.date,
    end: dt.date,
    metric_ids: Sequence[str] = (),
) -> PlannedRequest:
    """Return a request for ``dataset`` that the contract accepts, with ``start``..``end`` dates."""
    operation_id = dataset.operation_id
    path = endpoint_path(operation_id, company_id)
    if dataset.statement:
        params = (
            ("StartDate", start.isoformat()),
            ("EndDate", end.isoformat()),
            ("AccountingBasis", "ACCRUAL"),
        )
        return PlannedRequest(operation_id, "GET", path, params=params, company_id=company_id,
                              basis="ACCRUAL", start_date=start, end_date=end)
    if operation_id == "getNonFinancialValues":
        body = {"NonFinancialIds": list(metric_ids), "StartDate": start.isoformat(),
                "EndDate": end.isoformat()}
        return PlannedRequest(operation_id, "POST", path, json_body=body, company_id=company_id,
                              start_date=start, end_date=end)
    return PlannedRequest(operation_id, "GET", path, company_id=company_id)


def month_range(month_end: dt.date) -> tuple[dt.date, dt.date]:
    """Return the first and last day of the month ending ``month_end``."""
    return month_end.replace(day=1), month_end


def is_json(content_type: str | None) -> bool:
    return media_type(content_type) == JSON_MEDIA_TYPE


def media_type(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    return content_type.split(";")[0].strip().lower()


def document(reply: ProbeReply) -> Any:
    """Return the parsed JSON body of a reply, or None when it has none or it is not JSON."""
    if reply.body is None:
        return None
    try:
        return parse_json(reply.body)
    except ValueError:
        return None


def describe(reply: ProbeReply) -> str:
    """Return what a reply was in a few words: its status, content type and a body excerpt."""
    if reply.status_code is None:
        return f"no response: {reply.error}"
    text = f"{reply.status_code} {media_type(reply.content_type) or 'without content type'}"
    if reply.body:
        excerpt = " ".join(reply.body.split())[:MAX_EXCERPT_CHARS]
        text += f": {excerpt}"
    return text


def carries_data(reply: ProbeReply) -> bool:
    """Return whether a 2xx body contains data: a non-empty Data list or another JSON object."""
    body = document(reply)
    if isinstance(body, dict):
        data = body.get("Data")
        if isinstance(data, list):
            return bool(data)
        return bool(body) and "Message" not in body
    return isinstance(body, list) and bool(body)


def is_html(reply: ProbeReply) -> bool:
    if media_type(reply.content_type) == "text/html":
        return True
    return bool(reply.body) and reply.body.lstrip()[:15].lower().startswith(("<!doctype", "<html"))


def request_text(request: PlannedRequest, **page: int) -> str:
    return f"{request.method} {request.target(page_offset=page.get('offset'), page_limit=page.get('limit'))}"


def judged(
    check: str,
    category: Category,
    dataset: str,
    *,
    checked: int,
    cases: Sequence[FailureCase],
    passed: str,
    failed: str,
    company_id: str | None = None,
    failing: Outcome = Outcome.FAILED,
) -> Finding:
    """Return a finding over ``checked`` probes: ``failed`` (with the first case) or ``passed``.

    Nothing checked is not_evaluated, never a pass.
    """
    if checked == 0:
        outcome = Outcome.NOT_EVALUATED
        message = f"{dataset}: nothing to probe"
    elif cases:
        outcome = failing
        first = cases[0]
        message = f"{dataset}: {failed}; first: {first.field} -> {first.actual}"
    else:
        outcome = Outcome.PASSED
        message = f"{dataset}: {passed}"
    return Finding(check, category, dataset, outcome, message, company_id,
                   failure_count=len(cases) if outcome is failing else 0,
                   failure_cases=tuple(cases) if outcome is failing else ())
