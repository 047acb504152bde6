"""``reliability.operations``, ``reliability.retries`` and ``contract.pagination_total`` on stored exchanges."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from checks.operations import operation_checks
from checks.pagination import pagination_checks
from reach_dq.findings import Finding
from reach_dq.runner import CheckContext, run_checks
from reach_dq.warehouse.warehouse import ExchangeRecord, FailedOperation, Warehouse

STARTED = dt.datetime(2026, 7, 15, 2, 0, tzinfo=dt.timezone.utc)
CLASSES = "/companies/C001/classes"


@pytest.fixture
def warehouse() -> Iterator[Warehouse]:
    with Warehouse.open(":memory:") as opened:
        yield opened


@pytest.fixture
def snapshot_id(warehouse: Warehouse) -> str:
    return warehouse.begin_snapshot(
        base_url="http://127.0.0.1:8765", command="validate", as_of=dt.date(2026, 7, 15),
        first_month=dt.date(2026, 6, 30), last_month=dt.date(2026, 6, 30),
        spec_title="Reach API", spec_version="1.0.3",
    )


class Exchanges:
    """Records exchanges of one snapshot with increasing ids."""

    def __init__(self, warehouse: Warehouse, snapshot_id: str) -> None:
        self.warehouse = warehouse
        self.snapshot_id = snapshot_id
        self.next_id = 1

    def add(self, operation_id: str, dataset: str, path: str, *, status: int | None = 200,
            attempt: int = 1, body: Any = None, page_offset: int | None = None,
            error: str | None = None, probe: str | None = None) -> None:
        record = ExchangeRecord(
            exchange_id=self.next_id, operation_id=operation_id, dataset=dataset,
            company_id="C001", method="GET", path=path, attempt=attempt, started_at=STARTED,
            status_code=status, error=error, page_offset=page_offset,
            page_limit=None if page_offset is None else 2, probe=probe,
        )
        self.next_id += 1
        self.warehouse.record_exchange(self.snapshot_id, record, None if body is None else json.dumps(body))


@pytest.fixture
def exchanges(warehouse: Warehouse, snapshot_id: str) -> Exchanges:
    return Exchanges(warehouse, snapshot_id)


def check(warehouse: Warehouse, snapshot_id: str, checks: list[Any]) -> dict[tuple[str, str], Finding]:
    context = CheckContext(
        connection=warehouse.connection, snapshot_id=snapshot_id, spec=None,  # type: ignore[arg-type]  # unused
        as_of=dt.date(2026, 7, 15), first_month=dt.date(2026, 6, 30), last_month=dt.date(2026, 6, 30),
    )
    return {(finding.check, finding.dataset): finding for finding in run_checks(checks, context)}


def page(items: list[int], total: int) -> dict[str, Any]:
    return {"Data": items, "Pagination": {"total": total}}


def test_failed_operation_names_reason(warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges) -> None:
    exchanges.add("getCompany", "company", "/companies/C001", status=404, body={"Message": "gone"})
    failure = FailedOperation("getCompany", "company", "C001", "GET", "/companies/C001",
                              "GET /companies/C001 returned HTTP 404, expected 2xx: 'gone'")
    warehouse.record_failed_operation(snapshot_id, failure)

    finding = check(warehouse, snapshot_id, operation_checks())[("reliability.operations", "company")]
    assert finding.outcome == "failed"
    assert finding.message == (
        "company for C001: 1 of 1 operations failed; first: getCompany: GET /companies/C001 "
        "returned HTTP 404, expected 2xx: 'gone'"
    )
    assert finding.failure_cases[0].field == "getCompany GET /companies/C001"


def test_list_pages_count_as_one_operation(warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges) -> None:
    exchanges.add("listClasses", "classes", f"{CLASSES}?offset=0&limit=2", body=page([1, 2], 3), page_offset=0)
    exchanges.add("listClasses", "classes", f"{CLASSES}?offset=2&limit=2", body=page([3], 3), page_offset=2)

    finding = check(warehouse, snapshot_id, operation_checks())[("reliability.operations", "classes")]
    assert finding.outcome == "passed"
    assert finding.message == "classes for C001: all 1 operations succeeded"


def test_retried_request_warns_with_outcomes(warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges) -> None:
    exchanges.add("getCompany", "company", "/companies/C001", status=None, error="timed out after 1 s")
    exchanges.add("getCompany", "company", "/companies/C001", status=503, attempt=2, body={})
    exchanges.add("getCompany", "company", "/companies/C001", attempt=3, body={})

    finding = check(warehouse, snapshot_id, operation_checks())[("reliability.retries", "company")]
    assert finding.outcome == "warning"
    assert finding.failure_cases[0].actual == "no response (timed out after 1 s), then 503, then 200"


def test_probe_exchanges_are_not_requests(warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges) -> None:
    exchanges.add("getCompany", "company", "/companies/C001", body={})
    exchanges.add("getCompany", "company", "/companies/C001", status=401, attempt=2, probe="no-token")

    findings = check(warehouse, snapshot_id, operation_checks())
    assert findings[("reliability.retries", "company")].outcome == "passed"


def test_total_above_items_fails(warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges) -> None:
    exchanges.add("listClasses", "classes", f"{CLASSES}?offset=0&limit=2", body=page([1, 2], 4), page_offset=0)
    exchanges.add("listClasses", "classes", f"{CLASSES}?offset=2&limit=2", body=page([], 4), page_offset=2)

    finding = check(warehouse, snapshot_id, pagination_checks())[("contract.pagination_total", "classes")]
    assert finding.outcome == "failed"
    assert finding.message == (
        "classes for C001: Pagination.total is 4 but the 2 pages held 2 items; the pages ended "
        "before the stated total"
    )
    assert (finding.failure_cases[0].expected, finding.failure_cases[0].actual) == ("2", "4")


def test_matching_total_passes(warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges) -> None:
    exchanges.add("listClasses", "classes", f"{CLASSES}?offset=0&limit=2", body=page([1, 2], 3), page_offset=0)
    exchanges.add("listClasses", "classes", f"{CLASSES}?offset=2&limit=2", body=page([3], 3), page_offset=2)

    finding = check(warehouse, snapshot_id, pagination_checks())[("contract.pagination_total", "classes")]
    assert finding.outcome == "passed"


def test_failed_list_not_evaluated(warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges) -> None:
    exchanges.add("listClasses", "classes", f"{CLASSES}?offset=0&limit=2", body=page([1, 2], 3), page_offset=0)
    failure = FailedOperation("listClasses", "classes", "C001", "GET", CLASSES, "pagination broke")
    warehouse.record_failed_operation(snapshot_id, failure)

    finding = check(warehouse, snapshot_id, pagination_checks())[("contract.pagination_total", "classes")]
    assert finding.outcome == "not_evaluated"
    assert finding.message == (
        "classes for C001: Pagination.total not checked: the list request failed; see "
        "reliability.operations"
    )


def test_total_beyond_64_bits_stays_exact(
    warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges
) -> None:
    total = 2**70 + 1  # orjson would read it as a float and round it
    exchanges.add("listClasses", "classes", f"{CLASSES}?offset=0&limit=2", body=page([1, 2], total), page_offset=0)

    finding = check(warehouse, snapshot_id, pagination_checks())[("contract.pagination_total", "classes")]
    assert finding.outcome == "failed"
    assert finding.failure_cases[0].actual == str(total)


def test_page_with_nan_still_counted(
    warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges
) -> None:
    # json.dumps writes NaN, which orjson rejects; the page is still read as before.
    exchanges.add("listClasses", "classes", f"{CLASSES}?offset=0&limit=2", body=page([1, float("nan")], 2), page_offset=0)

    finding = check(warehouse, snapshot_id, pagination_checks())[("contract.pagination_total", "classes")]
    assert finding.outcome == "passed"
