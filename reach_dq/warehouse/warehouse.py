"""The DuckDB warehouse of reach-dq: snapshots, HTTP exchanges, raw bodies, typed rows, findings.

Every write runs in one transaction, so a crash in the middle of a write leaves earlier
snapshots as they were. Values always travel as DuckDB parameters, never inside SQL text.
duckdb errors become ``StoreError`` here and nowhere else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import duckdb
import pandas as pd

from reach_dq.datasets import BY_NAME
from reach_dq.exceptions import StoreError
from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.warehouse.ddl import create_tables, table_columns

log = logging.getLogger(__name__)

MEMORY = ":memory:"
# DuckDB lets one process write a file, or several read it. A reader such as ``reach-dq status``
# keeps the file open for about a second, so opening it waits up to LOCK_WAIT_S before it fails.
LOCK_WAIT_S = 10.0
LOCK_RETRY_S = 0.25
SNAPSHOT_STATUSES = ("running", "complete", "incomplete", "failed")
FINISHED_STATUSES = ("complete", "incomplete", "failed")

_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True)
class ExchangeRecord:
    """One attempt of one HTTP request: a row of ``http_exchanges``.

    ``path`` is the path and query string relative to the partner's base URL. The token is sent
    only in the Authorization header, so it never appears here.
    """

    exchange_id: int
    operation_id: str
    dataset: str | None
    company_id: str | None
    method: str
    path: str
    attempt: int
    started_at: dt.datetime
    status_code: int | None = None  # None when no response arrived
    content_type: str | None = None
    latency_ms: float | None = None
    bytes: int | None = None
    error: str | None = None  # transport error or invalid body
    basis: str | None = None
    budget_id: str | None = None
    class_id: str | None = None
    department_id: str | None = None
    page_offset: int | None = None
    page_limit: int | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    probe: str | None = None  # the go-live probe that sent the request; None for the fetch


_EXCHANGE_COLUMNS = (
    "exchange_id",
    "operation_id",
    "dataset",
    "company_id",
    "method",
    "path",
    "basis",
    "budget_id",
    "class_id",
    "department_id",
    "page_offset",
    "page_limit",
    "start_date",
    "end_date",
    "attempt",
    "status_code",
    "content_type",
    "latency_ms",
    "bytes",
    "error",
    "started_at",
    "probe",
)
_INSERT_EXCHANGE = (
    f"INSERT INTO http_exchanges (snapshot_id, {', '.join(_EXCHANGE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * (len(_EXCHANGE_COLUMNS) + 1))})"
)


# Table and columns of the multi-row inserts of ``Warehouse.record_batch``.
_EXCHANGE_TABLE = f"INSERT INTO http_exchanges (snapshot_id, {', '.join(_EXCHANGE_COLUMNS)})"
_BODY_TABLE = "INSERT INTO raw_responses (snapshot_id, exchange_id, body)"
_FAILURE_TABLE = (
    "INSERT INTO failed_operations (snapshot_id, operation_id, dataset, company_id, method, "
    "path, error, failed_at)"
)
BATCH_ROWS = 100  # rows per INSERT statement: 2,300 parameters for http_exchanges


@dataclasses.dataclass(frozen=True)
class FailedOperation:
    """One request of the fetch that failed for good: a row of ``failed_operations``."""

    operation_id: str
    dataset: str | None
    company_id: str | None
    method: str
    path: str  # path and query string without offset and limit
    error: str  # the reason, free of tokens


_INSERT_FINDING = (
    "INSERT INTO findings (snapshot_id, finding_id, check_name, category, dataset, company_id, "
    "outcome, message, failure_count, failure_cases) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?::JSON)"
)
_SELECT_FINDINGS = (
    "SELECT check_name, category, dataset, company_id, outcome, message, failure_count, "
    "failure_cases FROM findings WHERE snapshot_id = ? ORDER BY finding_id"
)


def strip_url_secrets(url: str) -> str:
    """Return ``url`` with its user info, query and fragment removed: scheme, host, port, path."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Warehouse:
    """A DuckDB file holding any number of snapshots, with the tables of ``ddl.create_tables``.

    One process at a time may open a warehouse file: DuckDB locks it for writing.
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: str) -> None:
        self.connection = connection
        self.path = path

    @classmethod
    def open(cls, path: Path | str) -> Warehouse:
        """Open or create the warehouse at ``path`` (``":memory:"`` for a throwaway one).

        Creates missing parent folders and missing tables; existing data is kept.
        """
        target = str(path)
        if target != MEMORY:
            _create_parent(Path(target))
        connection = _connect(target)
        try:
            create_tables(connection)
        except duckdb.Error as exc:
            connection.close()
            raise StoreError(f"cannot create the tables of warehouse {target!r}: {exc}") from exc
        log.info("opened warehouse %s", target)
        return cls(connection, target)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def begin_snapshot(
        self,
        *,
        base_url: str,
        command: str,
        as_of: dt.date,
        first_month: dt.date,
        last_month: dt.date,
        spec_title: str,
        spec_version: str,
        partner: str | None = None,
    ) -> str:
        """Insert a new snapshot with status ``running`` and return its id (32 hex digits).

        The stored base URL keeps scheme, host, port and path only, so credentials in the URL's
        user info or query never reach the warehouse.
        """
        snapshot_id = uuid.uuid4().hex
        row = (
            snapshot_id,
            strip_url_secrets(base_url),
            partner,
            command,
            as_of,
            first_month,
            last_month,
            spec_title,
            spec_version,
            _now(),
            "running",
        )
        sql = (
            "INSERT INTO snapshots (snapshot_id, base_url, partner, command, as_of, first_month, "
            "last_month, spec_title, spec_version, started_at, status) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self._transaction(
            f"begin snapshot {snapshot_id!r}", lambda: self.connection.execute(sql, row)
        )
        log.info("began snapshot %s (%s, %s)", snapshot_id, command, partner or "no partner name")
        return snapshot_id

    def snapshot_status(self, snapshot_id: str) -> str | None:
        """Return the status of a snapshot, or None when the warehouse has no such snapshot."""
        row = self._fetchone(
            f"read snapshot {snapshot_id!r}",
            "SELECT status FROM snapshots WHERE snapshot_id = ?",
            [snapshot_id],
        )
        return None if row is None else str(row[0])

    def record_exchange(self, snapshot_id: str, exchange: ExchangeRecord, body: str | None) -> None:
        """Store one HTTP attempt and, when a response arrived, its body, in one transaction."""
        values = [snapshot_id, *(getattr(exchange, name) for name in _EXCHANGE_COLUMNS)]

        def write() -> None:
            self.connection.execute(_INSERT_EXCHANGE, values)
            if body is not None:
                self.connection.execute(
                    "INSERT INTO raw_responses (snapshot_id, exchange_id, body) VALUES (?, ?, ?)",
                    [snapshot_id, exchange.exchange_id, body],
                )

        action = f"record exchange {exchange.exchange_id} of snapshot {snapshot_id!r}"
        self._transaction(action, write)

    def record_batch(
        self,
        snapshot_id: str,
        exchanges: Sequence[tuple[ExchangeRecord, str | None]],
        failures: Sequence[tuple[FailedOperation, dt.datetime]] = (),
    ) -> None:
        """Store many HTTP attempts with their bodies, and failed operations, in one transaction.

        ``exchanges`` pairs each attempt with its body (None when no body is kept), and
        ``failures`` pairs each failed operation with the time it failed. Rows go in as
        multi-row ``INSERT ... VALUES`` statements of at most ``BATCH_ROWS`` rows, because
        DuckDB's ``executemany`` runs one statement per row.
        """
        exchange_rows = [
            [snapshot_id, *(getattr(exchange, name) for name in _EXCHANGE_COLUMNS)]
            for exchange, _ in exchanges
        ]
        body_rows = [
            [snapshot_id, exchange.exchange_id, body]
            for exchange, body in exchanges
            if body is not None
        ]
        failure_rows = [
            [snapshot_id, *dataclasses.astuple(failure), failed_at] for failure, failed_at in failures
        ]

        def write() -> None:
            self._insert_rows(_EXCHANGE_TABLE, exchange_rows)
            self._insert_rows(_BODY_TABLE, body_rows)
            self._insert_rows(_FAILURE_TABLE, failure_rows)

        action = (
            f"record {len(exchange_rows)} exchanges and {len(failure_rows)} failed operations "
            f"of snapshot {snapshot_id!r}"
        )
        self._transaction(action, write)

    def _insert_rows(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        for start in range(0, len(rows), BATCH_ROWS):
            chunk = rows[start : start + BATCH_ROWS]
            placeholders = "(" + ", ".join("?" * len(chunk[0])) + ")"
            parameters = [value for row in chunk for value in row]
            self.connection.execute(
                f"{table} VALUES {', '.join([placeholders] * len(chunk))}", parameters
            )

    def finish_snapshot(self, snapshot_id: str, status: str) -> None:
        """Set the final status (complete, incomplete or failed) and the finish time."""
        if status not in FINISHED_STATUSES:
            raise StoreError(
                f"snapshot status must be one of {', '.join(FINISHED_STATUSES)}, got {status!r}"
            )

        def write() -> None:
            updated = self.connection.execute(
                "UPDATE snapshots SET status = ?, finished_at = ? WHERE snapshot_id = ? "
                "RETURNING snapshot_id",
                [status, _now(), snapshot_id],
            ).fetchall()
            if not updated:
                raise StoreError(f"cannot finish snapshot {snapshot_id!r}: no such snapshot")

        self._transaction(f"finish snapshot {snapshot_id!r}", write)
        log.info("finished snapshot %s: %s", snapshot_id, status)

    def record_failed_operation(self, snapshot_id: str, failure: FailedOperation) -> None:
        """Store one request of the fetch that failed for good, with the reason."""
        row = [snapshot_id, *dataclasses.astuple(failure), _now()]
        sql = (
            "INSERT INTO failed_operations (snapshot_id, operation_id, dataset, company_id, "
            "method, path, error, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )
        action = f"record a failed {failure.operation_id} of snapshot {snapshot_id!r}"
        self._transaction(action, lambda: self.connection.execute(sql, row))

    def close_abandoned_snapshots(self) -> list[str]:
        """Mark every ``running`` snapshot ``incomplete``; return their ids, oldest first.

        Call it only while holding the warehouse's run lock (``reach_dq.warehouse.lock``): no
        other run is active then, so a snapshot still ``running`` belongs to a run that died.
        """
        closed: list[str] = []

        def write() -> None:
            rows = self.connection.execute(
                "UPDATE snapshots SET status = 'incomplete', finished_at = ? "
                "WHERE status = 'running' RETURNING snapshot_id, started_at",
                [_now()],
            ).fetchall()
            closed.extend(snapshot_id for snapshot_id, _ in sorted(rows, key=lambda row: row[1]))

        self._transaction("close abandoned snapshots", write)
        for snapshot_id in closed:
            log.warning(
                "snapshot %s was left running by a run that stopped; marked it incomplete",
                snapshot_id,
            )
        return closed

    def write_findings(self, snapshot_id: str, findings: Sequence[Finding]) -> None:
        """Replace every finding of the snapshot with ``findings``, numbered from 1 in order."""
        rows = [
            _finding_row(snapshot_id, index, finding) for index, finding in enumerate(findings, 1)
        ]

        def write() -> None:
            self.connection.execute("DELETE FROM findings WHERE snapshot_id = ?", [snapshot_id])
            if rows:
                self.connection.executemany(_INSERT_FINDING, rows)

        self._transaction(f"write findings of snapshot {snapshot_id!r}", write)
        log.info("stored %d findings of snapshot %s", len(rows), snapshot_id)

    def read_findings(self, snapshot_id: str) -> list[Finding]:
        """Return the findings of a snapshot in the order they were written."""
        rows = self._fetchall(
            f"read findings of snapshot {snapshot_id!r}", _SELECT_FINDINGS, [snapshot_id]
        )
        return [_finding_from_row(row) for row in rows]

    def read_dataset(self, snapshot_id: str, name: str) -> pd.DataFrame:
        """Return the typed rows of one dataset of a snapshot, in load order.

        Money columns hold ``decimal.Decimal`` and date columns ``datetime.date`` (object dtype),
        because ``DuckDBPyRelation.df()`` would turn DECIMAL into float64. Other columns use
        pandas' nullable dtypes.
        """
        dataset = BY_NAME.get(name)
        if dataset is None:
            raise StoreError(f"unknown dataset {name!r}; expected one of {', '.join(BY_NAME)}")

        columns = table_columns(dataset)
        names = ", ".join(f'"{column.name}"' for column in columns)
        # Without ORDER BY, DuckDB returns rows in insertion order (preserve_insertion_order is
        # on by default), which keeps each response's items in the order the partner sent them.
        sql = f'SELECT {names} FROM "{dataset.name}" WHERE snapshot_id = ?'
        action = f"read dataset {name!r} of snapshot {snapshot_id!r}"
        rows = self._fetchall(action, sql, [snapshot_id])

        data = {
            column.name: pd.Series([row[i] for row in rows], dtype=_pandas_dtype(column.sql_type))
            for i, column in enumerate(columns)
        }
        return pd.DataFrame(data)

    def _transaction(self, action: str, write: Callable[[], object]) -> None:
        try:
            self.connection.begin()
            write()
            self.connection.commit()
        except (duckdb.Error, StoreError) as exc:
            self._rollback()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"cannot {action} in warehouse {self.path!r}: {exc}") from exc

    def _rollback(self) -> None:
        try:
            self.connection.rollback()
        except duckdb.Error:
            log.debug("rollback found no open transaction", exc_info=True)

    def _fetchall(self, action: str, sql: str, parameters: list[Any]) -> list[tuple[Any, ...]]:
        return self._query(action, lambda: self.connection.execute(sql, parameters).fetchall())

    def _fetchone(self, action: str, sql: str, parameters: list[Any]) -> tuple[Any, ...] | None:
        return self._query(action, lambda: self.connection.execute(sql, parameters).fetchone())

    def _query(self, action: str, read: Callable[[], _T]) -> _T:
        try:
            return read()
        except duckdb.Error as exc:
            raise StoreError(f"cannot {action} in warehouse {self.path!r}: {exc}") from exc


def _create_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the folder of warehouse {str(path)!r}: {exc}") from exc


def _connect(target: str) -> duckdb.DuckDBPyConnection:
    """Open ``target``, retrying for up to ``LOCK_WAIT_S`` while another process has it open."""
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            return duckdb.connect(target)
        except duckdb.Error as exc:
            if "Could not set lock" not in str(exc) or time.monotonic() >= deadline:
                raise StoreError(_open_failure_message(target, exc)) from exc
            log.info("warehouse %s is open in another process; retrying in %s s", target, LOCK_RETRY_S)
        time.sleep(LOCK_RETRY_S)


def _open_failure_message(path: str, exc: duckdb.Error) -> str:
    if "Could not set lock" in str(exc):
        return (
            f"cannot open warehouse {path!r}: another process holds it open; "
            f"wait for that process to finish or use another warehouse path ({exc})"
        )
    return f"cannot open warehouse {path!r}: {exc}"


def _pandas_dtype(sql_type: str) -> str:
    if sql_type in ("INTEGER", "BIGINT"):
        return "Int64"
    if sql_type == "BOOLEAN":
        return "boolean"
    if sql_type == "VARCHAR":
        return "str"
    return "object"  # DECIMAL and DATE keep their exact Python values


def _finding_row(snapshot_id: str, finding_id: int, finding: Finding) -> list[Any]:
    cases = json.dumps([case.to_dict() for case in finding.failure_cases])
    return [
        snapshot_id,
        finding_id,
        finding.check,
        str(finding.category),
        finding.dataset,
        finding.company_id,
        str(finding.outcome),
        finding.message,
        finding.failure_count,
        cases,
    ]


def _finding_from_row(row: tuple[Any, ...]) -> Finding:
    check, category, dataset, company_id, outcome, message, failure_count, cases = row
    return Finding(
        check=check,
        category=Category(category),
        dataset=dataset,
        outcome=Outcome(outcome),
        message=message,
        company_id=company_id,
        failure_count=int(failure_count),
        failure_cases=tuple(FailureCase(**case) for case in json.loads(cases)),
    )
