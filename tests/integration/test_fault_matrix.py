"""The fault matrix: ``reach-dq validate`` against a partner that fails in one way at a time.

For every fault of the transport family the run must retry only transient errors, a bounded
number of times; report a finding that names the operation, the company and what happened;
complete the rest of the run; and exit with the code that says so. ``MATRIX`` is the expected
outcome of each fault, and docs/reliability.md must list the same faults with the same outcomes.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from reach_dq.partner.faults.transport import TRANSPORT_FAULTS
from tests.integration.conftest import REPOSITORY
from tests.integration.reliability_support import (
    SLOW_TIMEOUT_S,
    TimedRun,
    fault_run,
    findings_of,
    query,
)

pytestmark = pytest.mark.integration

TARGET = "C001"  # the company every fault of the family targets
OTHER = "C002"
MAX_RUN_SECONDS = 60  # a faulty partner must not hold a run much longer than a healthy one
PARALLEL_RUNS = 2
RELIABILITY_DOC = REPOSITORY / "docs" / "reliability.md"


@dataclass(frozen=True)
class Expected:
    """What one fault must lead to."""

    fault: str
    operation_id: str | None  # None: the fault hits every operation
    dataset: str | None
    check: str  # the finding that names what happened
    outcome: str
    message: str  # part of that finding's message
    attempts: int  # attempts of each request the fault hit
    exit_code: int
    status: str  # the snapshot's final status
    other_company_clean: bool = True


RETRIED = "reliability.retries"
FAILED = "reliability.operations"

MATRIX = (
    Expected("server-errors-burst", "getProfitAndLoss", "profit_and_loss", RETRIED, "warning",
             ": 500, then 502, then 200", 3, 0, "complete"),
    Expected("server-errors-persistent", "getProfitAndLoss", "profit_and_loss", FAILED, "failed",
             "returned HTTP 503: 'service unavailable'", 3, 1, "incomplete"),
    Expected("rate-limited", "getCashFlow", "cash_flow", RETRIED, "warning",
             ": 429, then 200", 2, 0, "complete"),
    Expected("slow-response", "listDepartments", "departments", FAILED, "failed",
             f"timed out after {SLOW_TIMEOUT_S:g} s", 3, 1, "incomplete"),
    Expected("connection-reset", "listClasses", "classes", FAILED, "failed",
             "RemoteProtocolError: peer closed connection without sending complete message body "
             "(incomplete chunked read)", 3, 1, "incomplete"),
    Expected("truncated-body", "listNonFinancialMetrics", "non_financial_metrics", FAILED, "failed",
             "RemoteProtocolError: peer closed connection without sending complete message body "
             "(received", 3, 1, "incomplete"),
    Expected("malformed-json", "listBudgets", "budgets", FAILED, "failed",
             "with a body that is not valid JSON (Content-Type 'application/json'): Expecting "
             "property name enclosed in double quotes", 1, 1, "incomplete"),
    Expected("nan-in-json", "getNonFinancialValues", "non_financial_values", FAILED, "failed",
             "not valid JSON (Content-Type 'application/json'): NaN is not a valid JSON number",
             1, 1, "incomplete"),
    Expected("html-page-200", "getCompany", "company", FAILED, "failed",
             "returned HTTP 200 with a body that is not valid JSON (Content-Type "
             "'text/html; charset=utf-8')", 1, 1, "incomplete"),
    Expected("oversized-body", "getBalanceSheet", "balance_sheet", FAILED, "failed",
             "response body exceeds 1048576 bytes; not stored", 1, 1, "incomplete"),
    Expected("pagination-repeats-page", "listChartOfAccounts", "chart_of_accounts", FAILED,
             "failed", "the page at offset 5 repeats the 5 items of the page at offset 0", 1, 1,
             "incomplete"),
    Expected("pagination-total-lies", "listChartOfAccounts", "chart_of_accounts", FAILED,
             "failed", "the pages held 20 items, more than Pagination.total 17", 1, 1,
             "incomplete"),
    Expected("pagination-endless", "listChartOfAccounts", "chart_of_accounts", FAILED, "failed",
             "Pagination.total changed from 10 on the page at offset 0 to 15 on the page at "
             "offset 5", 1, 1, "incomplete"),
    Expected("token-expires-mid-run", None, None, FAILED, "failed",
             "returned HTTP 401, expected 2xx: 'the access token has expired'", 1, 1, "incomplete",
             other_company_clean=False),
    Expected("company-404", "getCompany", "company", FAILED, "failed",
             "returned HTTP 404, expected 2xx: \"unknown CompanyId 'C001'", 1, 1, "incomplete"),
    Expected("hostile-names", "listDepartments", "departments", FAILED, "failed",
             "returned HTTP 400, expected 2xx: 'invalid request Acme", 1, 1, "incomplete"),
)
BY_FAULT = {expected.fault: expected for expected in MATRIX}


@pytest.fixture(scope="module")
def fault_runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], TimedRun]:
    """Run validate once per fault, two runs at a time; return a function that looks a run up.

    Each run is a subprocess against a server of its own, so two of them share the two cores of
    a CI machine instead of waiting for each other.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=PARALLEL_RUNS) as pool:
        list(pool.map(lambda fault: fault_run(fault, tmp_path_factory), BY_FAULT))
    return lambda fault: fault_run(fault, tmp_path_factory)


@pytest.fixture(params=[expected.fault for expected in MATRIX])
def faulty_run(request: pytest.FixtureRequest, fault_runs: Callable[[str], TimedRun]) -> tuple[Expected, TimedRun]:
    fault: str = request.param
    return BY_FAULT[fault], fault_runs(fault)


def test_matrix_covers_every_transport_fault() -> None:
    assert set(BY_FAULT) == {fault.name for fault in TRANSPORT_FAULTS}


def test_fault_run_exits_with_expected_code(faulty_run: tuple[Expected, TimedRun]) -> None:
    expected, timed = faulty_run
    assert timed.run.exit_code == expected.exit_code, timed.run.stderr[-3000:]


def test_fault_run_completes_and_publishes(faulty_run: tuple[Expected, TimedRun]) -> None:
    expected, timed = faulty_run
    report = timed.run.report
    assert report is not None, timed.run.stderr[-3000:]
    assert report["snapshot"]["status"] == expected.status
    assert (timed.folder / "docs" / "index.html").is_file()
    assert timed.seconds < MAX_RUN_SECONDS


def test_fault_finding_names_operation_and_company(faulty_run: tuple[Expected, TimedRun]) -> None:
    expected, timed = faulty_run
    matching = [
        finding for finding in findings_of(timed.run, expected.check, company_id=TARGET)
        if finding["outcome"] == expected.outcome
        and (expected.dataset is None or finding["dataset"] == expected.dataset)
    ]
    assert len(matching) >= 1, [f["message"] for f in timed.run.non_passed()]
    finding = matching[0]
    assert expected.message in finding["message"]
    assert f" for {TARGET}: " in finding["message"]
    if expected.check == FAILED and expected.operation_id is not None:
        assert f"first: {expected.operation_id}: " in finding["message"]
    assert finding["failure_cases"][0]["company_id"] == TARGET


def test_fault_retries_only_transient_errors(faulty_run: tuple[Expected, TimedRun]) -> None:
    expected, timed = faulty_run
    attempts = hit_request_attempts(timed, expected)
    assert attempts, "no request of the target company was hit by the fault"
    assert set(attempts.values()) == {expected.attempts}


def test_fault_spares_other_company(faulty_run: tuple[Expected, TimedRun]) -> None:
    expected, timed = faulty_run
    others = findings_of(timed.run, FAILED, company_id=OTHER)
    outcomes = {finding["outcome"] for finding in others}
    if expected.other_company_clean:
        assert outcomes == {"passed"}
    else:
        assert "failed" in outcomes


def test_rate_limit_waits_retry_after(fault_runs: Callable[[str], TimedRun]) -> None:
    timed = fault_runs("rate-limited")
    rows = query(
        timed.warehouse,
        "SELECT path, attempt, started_at, latency_ms FROM http_exchanges "
        "WHERE company_id = ? AND operation_id = 'getCashFlow' ORDER BY path, attempt",
        [TARGET],
    )
    first_attempts = {path: started + dt.timedelta(milliseconds=latency) for path, attempt, started, latency in rows if attempt == 1}
    waits = [(started - first_attempts[path]).total_seconds() for path, attempt, started, _ in rows if attempt == 2]
    assert len(waits) == len(first_attempts)
    assert min(waits) >= 1.0  # Retry-After: 1


def test_slow_response_bounded_by_timeout(fault_runs: Callable[[str], TimedRun]) -> None:
    timed = fault_runs("slow-response")
    latencies = [
        row[0] for row in query(
            timed.warehouse,
            "SELECT latency_ms FROM http_exchanges WHERE company_id = ? AND operation_id = ?",
            [TARGET, "listDepartments"],
        )
    ]
    assert len(latencies) == 3
    assert max(latencies) < SLOW_TIMEOUT_S * 1000 * 1.5


def test_reliability_doc_lists_matrix() -> None:
    rows = doc_matrix_rows(RELIABILITY_DOC.read_text(encoding="utf-8"))
    assert set(rows) == set(BY_FAULT)
    for fault, (finding, exit_code) in rows.items():
        expected = BY_FAULT[fault]
        assert exit_code == str(expected.exit_code), fault
        assert f"`{expected.check}`" in finding, fault
        assert expected.outcome in finding, fault


def hit_request_attempts(timed: TimedRun, expected: Expected) -> dict[str, int]:
    """Return the attempts of each request of the target company that the fault hit.

    A request counts as hit when it was retried, got no usable 2xx, or belongs to an operation
    that failed for good (every page of a list whose pagination broke).
    """
    operation = "" if expected.operation_id is None else "AND e.operation_id = ?"
    parameters: list[object] = [TARGET] if expected.operation_id is None else [TARGET, expected.operation_id]
    rows = query(
        timed.warehouse,
        f"""
        SELECT e.method || ' ' || e.path || coalesce(' ' || e.budget_id, ''), max(e.attempt),
               bool_or(e.status_code IS NULL OR e.status_code NOT BETWEEN 200 AND 299
                       OR e.error IS NOT NULL
                       OR EXISTS (SELECT 1 FROM failed_operations AS f
                                  WHERE f.snapshot_id = e.snapshot_id
                                    AND f.operation_id = e.operation_id
                                    AND f.company_id = e.company_id
                                    AND starts_with(e.path, f.path)))
        FROM http_exchanges AS e
        WHERE e.company_id = ? {operation} AND e.probe IS NULL
        GROUP BY ALL
        """,
        parameters,
    )
    return {request: attempts for request, attempts, went_wrong in rows if went_wrong or attempts > 1}


def doc_matrix_rows(text: str) -> dict[str, tuple[str, str]]:
    """Return finding and exit code of each row of the fault matrix table in the doc."""
    section = text.split("## Fault matrix", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`([a-z0-9-]+)`", cells[0]) if len(cells) == 5 else None
        if match:
            rows[match.group(1)] = (cells[3], cells[4])
    return rows
