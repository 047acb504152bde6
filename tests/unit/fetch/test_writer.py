"""The snapshot writer thread and the batch insert it writes with."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from reach_dq.exceptions import StoreError
from reach_dq.fetch.snapshot import FetchRequest, run_fetch
from reach_dq.fetch.writer import SnapshotWriter
from reach_dq.warehouse.warehouse import BATCH_ROWS, ExchangeRecord, FailedOperation, Warehouse
from tests.unit.fetch.fake_partner import BASE_URL, TOKEN, FakeCompany, FakePartner

STARTED = dt.datetime(2024, 4, 10, 8, 30, tzinfo=dt.timezone.utc)
WAIT_S = 5.0  # seconds a thread may take before the test gives up

FAILURE = FailedOperation(
    operation_id="listBudgets",
    dataset="budgets",
    company_id="C001",
    method="GET",
    path="/companies/C001/budgets",
    error="GET /companies/C001/budgets returned HTTP 404, expected 2xx",
)


def exchange(exchange_id: int, **changes: Any) -> ExchangeRecord:
    record = ExchangeRecord(
        exchange_id=exchange_id,
        operation_id="getCompany",
        dataset="company",
        company_id="C001",
        method="GET",
        path="/companies/C001",
        attempt=1,
        started_at=STARTED,
        status_code=200,
        start_date=dt.date(2024, 1, 1),
    )
    return dataclasses.replace(record, **changes)


def stored(warehouse: Warehouse, snapshot_id: str) -> list[tuple[Any, ...]]:
    sql = (
        "SELECT e.exchange_id, e.status_code, r.body FROM http_exchanges AS e "
        "LEFT JOIN raw_responses AS r USING (snapshot_id, exchange_id) "
        "WHERE e.snapshot_id = ? ORDER BY e.exchange_id"
    )
    return warehouse.connection.execute(sql, [snapshot_id]).fetchall()


def count(warehouse: Warehouse, table: str) -> int:
    return warehouse.connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture
def held_writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Make every batch write wait until the returned event is set."""
    release = threading.Event()
    original = Warehouse.record_batch

    def held(self: Warehouse, *args: Any, **kwargs: Any) -> None:
        assert release.wait(WAIT_S), "the test never released the writes"
        original(self, *args, **kwargs)

    monkeypatch.setattr(Warehouse, "record_batch", held)
    yield release
    release.set()


def test_writer_stores_exchanges_and_bodies(warehouse: Warehouse, snapshot_id: str) -> None:
    with SnapshotWriter(warehouse, snapshot_id) as writer:
        writer.record_exchange(exchange(1), '{"CompanyId": "C001"}')
        writer.record_exchange(exchange(2, status_code=None, error="timed out"), None)
    assert stored(warehouse, snapshot_id) == [(1, 200, '{"CompanyId": "C001"}'), (2, None, None)]


def test_writer_keeps_every_exchange_field(warehouse: Warehouse, snapshot_id: str) -> None:
    record = exchange(7, basis="CASH", budget_id="B1", page_offset=0, page_limit=1000,
                      end_date=dt.date(2024, 3, 31), latency_ms=12.5, bytes=17)
    with SnapshotWriter(warehouse, snapshot_id) as writer:
        writer.record_exchange(record, "{}")
    columns = [field.name for field in dataclasses.fields(ExchangeRecord)]
    row = warehouse.connection.execute(
        f"SELECT {', '.join(columns)} FROM http_exchanges WHERE snapshot_id = ?", [snapshot_id]
    ).fetchone()
    assert ExchangeRecord(*row) == record


def test_writer_stores_failed_operation(warehouse: Warehouse, snapshot_id: str) -> None:
    before = dt.datetime.now(dt.timezone.utc)
    with SnapshotWriter(warehouse, snapshot_id) as writer:
        writer.record_failed_operation(FAILURE)
    rows = warehouse.connection.execute(
        "SELECT operation_id, path, error, failed_at FROM failed_operations WHERE snapshot_id = ?",
        [snapshot_id],
    ).fetchall()
    assert [row[:3] for row in rows] == [(FAILURE.operation_id, FAILURE.path, FAILURE.error)]
    assert rows[0][3] >= before


def test_writer_batches_queued_records(
    warehouse: Warehouse, snapshot_id: str, held_writes: threading.Event
) -> None:
    writer = SnapshotWriter(warehouse, snapshot_id, max_batch_records=3)
    with writer:
        for exchange_id in range(1, 8):
            writer.record_exchange(exchange(exchange_id), "{}")
        held_writes.set()
    # Writes wait until all seven are queued, so whatever the first batch took, three batches
    # of at most three records hold them.
    assert writer.batches == 3
    assert writer.records == 7
    assert [row[0] for row in stored(warehouse, snapshot_id)] == list(range(1, 8))


def test_writer_gathers_records_between_commits(warehouse: Warehouse, snapshot_id: str) -> None:
    writer = SnapshotWriter(warehouse, snapshot_id, min_commit_interval_s=2.0)
    with writer:
        writer.record_exchange(exchange(1), "{}")
        deadline = time.monotonic() + WAIT_S
        while writer.records < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        for exchange_id in range(2, 6):
            writer.record_exchange(exchange(exchange_id), "{}")
        time.sleep(0.2)
        written_before_close = count(warehouse, "http_exchanges")
    assert written_before_close == 1  # the first record went at once, the others wait
    assert writer.batches == 2
    assert count(warehouse, "http_exchanges") == 5


def test_full_queue_makes_record_wait(
    warehouse: Warehouse, snapshot_id: str, held_writes: threading.Event
) -> None:
    writer = SnapshotWriter(warehouse, snapshot_id, max_pending_chars=10)
    with writer:
        writer.record_exchange(exchange(1), "12345678")
        second = threading.Thread(target=writer.record_exchange, args=(exchange(2), "abcdefgh"))
        second.start()
        second.join(0.3)
        waited = second.is_alive()
        held_writes.set()
        second.join(WAIT_S)
        assert not second.is_alive()
    assert waited is True
    assert [row[2] for row in stored(warehouse, snapshot_id)] == ["12345678", "abcdefgh"]


def test_body_over_limit_is_queued_alone(warehouse: Warehouse, snapshot_id: str) -> None:
    with SnapshotWriter(warehouse, snapshot_id, max_pending_chars=4) as writer:
        writer.record_exchange(exchange(1), "a body longer than the limit")
    assert stored(warehouse, snapshot_id) == [(1, 200, "a body longer than the limit")]


def test_failed_write_raises_on_close(warehouse: Warehouse, snapshot_id: str) -> None:
    warehouse.connection.execute(
        "INSERT INTO raw_responses VALUES (?, 1, 'an earlier body')", [snapshot_id]
    )
    writer = SnapshotWriter(warehouse, snapshot_id)
    with pytest.raises(StoreError) as raised, writer:
        writer.record_exchange(exchange(1), "a second body")
    assert str(raised.value).startswith(
        f"cannot record 1 exchanges and 0 failed operations of snapshot {snapshot_id!r} in "
        f"warehouse {warehouse.path!r}: Constraint Error: Duplicate key"
    )
    assert count(warehouse, "http_exchanges") == 0


def test_failed_write_raises_on_next_record(warehouse: Warehouse, snapshot_id: str) -> None:
    warehouse.connection.execute(
        "INSERT INTO raw_responses VALUES (?, 1, 'an earlier body')", [snapshot_id]
    )
    writer = SnapshotWriter(warehouse, snapshot_id)
    with pytest.raises(StoreError), writer:
        writer.record_exchange(exchange(1), "a second body")
        writer._thread.join(WAIT_S)  # the thread stops after the failed write
        with pytest.raises(StoreError) as raised:
            writer.record_exchange(exchange(2), "{}")
        assert "Duplicate key" in str(raised.value)


def test_error_in_block_still_writes_queue(warehouse: Warehouse, snapshot_id: str) -> None:
    with pytest.raises(RuntimeError, match="^stopped$"):
        with SnapshotWriter(warehouse, snapshot_id) as writer:
            writer.record_exchange(exchange(1), "{}")
            raise RuntimeError("stopped")
    assert stored(warehouse, snapshot_id) == [(1, 200, "{}")]


def test_closed_writer_rejects_records(warehouse: Warehouse, snapshot_id: str) -> None:
    with SnapshotWriter(warehouse, snapshot_id) as writer:
        pass
    with pytest.raises(StoreError) as raised:
        writer.record_exchange(exchange(1), "{}")
    assert str(raised.value) == (
        f"cannot record to snapshot {snapshot_id!r}: its writer is closed"
    )


def test_record_batch_splits_large_batches(warehouse: Warehouse, snapshot_id: str) -> None:
    records = [(exchange(exchange_id), f"body {exchange_id}") for exchange_id in range(1, 251)]
    warehouse.record_batch(snapshot_id, records, [(FAILURE, STARTED)])
    assert BATCH_ROWS < 250
    assert count(warehouse, "http_exchanges") == 250
    assert count(warehouse, "raw_responses") == 250
    assert count(warehouse, "failed_operations") == 1


def test_record_batch_is_atomic(warehouse: Warehouse, snapshot_id: str) -> None:
    records = [(exchange(1), "{}"), (exchange(1), "{}")]
    with pytest.raises(StoreError):
        warehouse.record_batch(snapshot_id, records, [(FAILURE, STARTED)])
    assert count(warehouse, "http_exchanges") == 0
    assert count(warehouse, "failed_operations") == 0


def test_fetch_raises_when_writes_fail(warehouse: Warehouse, snapshot_id: str) -> None:
    warehouse.connection.execute(
        "INSERT INTO raw_responses VALUES (?, 1, 'an earlier body')", [snapshot_id]
    )
    request = FetchRequest(base_url=BASE_URL, token=SecretStr(TOKEN),
                           first_month=dt.date(2024, 3, 31), last_month=dt.date(2024, 3, 31))
    partner = FakePartner([FakeCompany("C001")])
    with pytest.raises(StoreError) as raised:
        run_fetch(request, warehouse, snapshot_id, transport=partner.transport())
    assert "Duplicate key" in str(raised.value)
