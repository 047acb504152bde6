"""Rows that the accuracy and freshness checks read besides the typed tables.

Those checks read ``http_exchanges`` to learn which statement requests returned 2xx, and the
freshness checks read ``snapshots``. These helpers write both for hand-built books.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any

import duckdb

from reach_dq.runner import CheckContext
from tests.unit.checks.conftest import SNAPSHOT_ID, Books, add_months, insert_rows

STATEMENT_OPERATIONS = {
    "profit_and_loss": "getProfitAndLoss",
    "balance_sheet": "getBalanceSheet",
    "cash_flow": "getCashFlow",
}
_exchange_ids = itertools.count(1000)


def record_exchange(
    connection: duckdb.DuckDBPyConnection,
    *,
    company_id: str,
    dataset: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
    basis: str | None = None,
    status: int = 200,
    snapshot_id: str = SNAPSHOT_ID,
    exchange_id: int | None = None,
    **context: str | None,
) -> int:
    """Insert one exchange of ``dataset`` and return its id."""
    operation_id = STATEMENT_OPERATIONS.get(dataset, context.pop("operation_id", None))
    number = next(_exchange_ids) if exchange_id is None else exchange_id
    connection.execute(
        "INSERT INTO http_exchanges (snapshot_id, exchange_id, operation_id, dataset, company_id, "
        "method, path, basis, budget_id, class_id, department_id, start_date, end_date, attempt, "
        "status_code, started_at) VALUES (?, ?, ?, ?, ?, 'GET', ?, ?, ?, ?, ?, ?, ?, 1, ?, now())",
        [
            snapshot_id,
            number,
            operation_id or dataset,
            dataset,
            company_id,
            f"/companies/{company_id}/{dataset}/{number}",
            basis,
            context.get("budget_id"),
            context.get("class_id"),
            context.get("department_id"),
            start,
            end,
            status,
        ],
    )
    return number


def record_statement_requests(
    connection: duckdb.DuckDBPyConnection,
    books: Books,
    *,
    last_month: dt.date,
    snapshot_id: str = SNAPSHOT_ID,
    bases: Sequence[str] = ("ACCRUAL", "CASH"),
) -> None:
    """Record a 2xx actuals request per statement and basis, from the books' first month."""
    company_id = books["company"][0]["company_id"]
    for dataset in STATEMENT_OPERATIONS:
        first = min(row["date"] for row in books[dataset])
        for basis in bases:
            record_exchange(
                connection,
                company_id=company_id,
                dataset=dataset,
                basis=basis,
                start=first.replace(day=1),
                end=last_month,
                snapshot_id=snapshot_id,
            )


def insert_company_books(
    connection: duckdb.DuckDBPyConnection,
    books: Books,
    *,
    last_month: dt.date,
    snapshot_id: str = SNAPSHOT_ID,
) -> None:
    """Insert the books' typed rows and the requests that returned them."""
    for table, rows in books.items():
        insert_rows(connection, table, rows, snapshot_id=snapshot_id)
    record_statement_requests(connection, books, last_month=last_month, snapshot_id=snapshot_id)


def insert_snapshot(
    connection: duckdb.DuckDBPyConnection,
    *,
    as_of: dt.date,
    first_month: dt.date,
    last_month: dt.date,
    snapshot_id: str = SNAPSHOT_ID,
    started_at: dt.datetime | None = None,
    status: str = "complete",
    base_url: str = "http://127.0.0.1:9",
) -> None:
    started = started_at or dt.datetime.combine(as_of, dt.time(2, 0), tzinfo=dt.UTC)
    connection.execute(
        "INSERT INTO snapshots (snapshot_id, base_url, command, as_of, first_month, last_month, "
        "spec_title, spec_version, started_at, status) "
        "VALUES (?, ?, 'validate', ?, ?, ?, 'Reach API', '1.0.3', ?, ?)",
        [snapshot_id, base_url, as_of, first_month, last_month, started, status],
    )


def context_for(
    connection: duckdb.DuckDBPyConnection,
    first_month: dt.date,
    last_month: dt.date,
    **options: Any,
) -> CheckContext:
    """Return a check context whose as-of date is in the month after ``last_month``."""
    values: dict[str, Any] = {
        "connection": connection,
        "snapshot_id": SNAPSHOT_ID,
        "spec": None,
        "as_of": add_months(last_month, 1).replace(day=15),
        "first_month": first_month,
        "last_month": last_month,
        **options,
    }
    return CheckContext(**values)


def rows_of(books: Books, table: str, **match: Any) -> list[dict[str, Any]]:
    """Return the rows of ``table`` whose columns equal every value of ``match``."""
    return [row for row in books[table] if all(row.get(k) == v for k, v in match.items())]
