from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from checks.reliability import reliability_checks
from reach_dq.findings import Outcome
from reach_dq.runner import CheckContext, run_checks
from reach_dq.warehouse.ddl import create_tables

STARTED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def connection() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    create_tables(connection)
    return connection


def add_exchange(
    connection: duckdb.DuckDBPyConnection, exchange_id: int, path: str, attempt: int,
    status: int | None, *, method: str = "GET", budget_id: str | None = None,
) -> None:
    connection.execute(
        """INSERT INTO http_exchanges (snapshot_id, exchange_id, operation_id, dataset, company_id,
           method, path, budget_id, attempt, status_code, error, started_at)
           VALUES ('s1', ?, 'listBudgets', 'budgets', 'C001', ?, ?, ?, ?, ?, ?, ?)""",
        [exchange_id, method, path, budget_id, attempt, status,
         None if status else "ReadTimeout", STARTED],
    )


def run(connection: duckdb.DuckDBPyConnection) -> list:
    day = dt.date(2025, 1, 31)
    context = CheckContext(connection, "s1", spec=None, as_of=day, first_month=day, last_month=day)  # type: ignore[arg-type]
    return run_checks(reliability_checks(), context)


def test_retry_that_healed_passes(connection: duckdb.DuckDBPyConnection) -> None:
    add_exchange(connection, 1, "/companies/C001/budgets?offset=0&limit=1000", 1, 503)
    add_exchange(connection, 2, "/companies/C001/budgets?offset=0&limit=1000", 2, 200)
    [finding] = run(connection)
    assert finding.outcome is Outcome.PASSED
    assert finding.message == "budgets: the 1 request answered 2xx"


def test_final_failure_names_request_and_status(connection: duckdb.DuckDBPyConnection) -> None:
    add_exchange(connection, 1, "/companies/C001/budgets?offset=0&limit=1000", 1, 404)
    add_exchange(connection, 2, "/companies/C001/budgets?offset=1000&limit=1000", 1, None)
    [finding] = run(connection)
    assert finding.outcome is Outcome.FAILED
    assert finding.failure_count == 2
    assert finding.failure_cases[0].field == "GET /companies/C001/budgets?offset=0&limit=1000"
    assert finding.failure_cases[0].actual == "404"
    assert finding.failure_cases[1].actual == "no response: ReadTimeout"


def test_posts_to_one_path_are_separate(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    # The three POSTs differ only by their bodies' budget. The first failed and was not
    # retried, while the third healed on its second attempt.
    path = "/companies/C001/non-financial"
    add_exchange(connection, 1, path, 1, 500, method="POST")
    add_exchange(connection, 2, path, 1, 200, method="POST", budget_id="BG01")
    add_exchange(connection, 3, path, 1, 503, method="POST", budget_id="BG02")
    add_exchange(connection, 4, path, 2, 200, method="POST", budget_id="BG02")
    [finding] = run(connection)
    assert finding.outcome is Outcome.FAILED
    assert finding.message == (
        f"budgets: 1 of 3 requests failed after retries; first: POST {path} -> 500"
    )
