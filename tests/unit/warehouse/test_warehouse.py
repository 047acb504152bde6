from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from reach_dq.datasets import DATASETS
from reach_dq.exceptions import StoreError
from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.warehouse import warehouse as warehouse_module
from reach_dq.warehouse.warehouse import ExchangeRecord, Warehouse, strip_url_secrets
from tests.unit.warehouse.conftest import begin

STARTED = dt.datetime(2024, 4, 10, 8, 30, 0, 123000, tzinfo=dt.timezone.utc)

EXCHANGE = ExchangeRecord(
    exchange_id=7,
    operation_id="getProfitAndLoss",
    dataset="profit_and_loss",
    company_id="C001",
    method="GET",
    path=(
        "/companies/C001/profit-and-loss?StartDate=2024-01-01&EndDate=2024-03-31"
        "&AccountingBasis=CASH&BudgetId=B1"
    ),
    attempt=2,
    started_at=STARTED,
    status_code=200,
    content_type="application/json",
    latency_ms=12.5,
    bytes=17,
    error=None,
    basis="CASH",
    budget_id="B1",
    class_id="K1",
    department_id="D1",
    page_offset=None,
    page_limit=None,
    start_date=dt.date(2024, 1, 1),
    end_date=dt.date(2024, 3, 31),
)

FINDINGS = [
    Finding(
        check="accuracy.balance_sheet_vs_net_income",
        category=Category.ACCURACY,
        dataset="balance_sheet",
        outcome=Outcome.FAILED,
        message="balance sheet of C001 does not equal net income",
        company_id="C001",
        failure_count=1,
        failure_cases=(
            FailureCase(
                company_id="C001",
                date="2024-03-31",
                basis="ACCRUAL",
                expected="10.00",
                actual="10.01",
                delta="0.01",
            ),
        ),
    ),
    Finding(
        "contract.extra_fields", Category.FORMATTING, "user_info", Outcome.PASSED, "no extra fields"
    ),
]


def test_open_creates_folders_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "warehouse.duckdb"
    with Warehouse.open(path) as warehouse:
        tables = {row[0] for row in warehouse.connection.execute("SHOW TABLES").fetchall()}
    expected = {"snapshots", "http_exchanges", "raw_responses", "findings"}
    expected |= {dataset.name for dataset in DATASETS}
    expected |= {"failed_operations"}
    expected |= {"token_renewals"}
    expected |= {"alert_state", "alerts"}
    assert tables == expected
    assert path.is_file()


def test_open_keeps_existing_snapshots(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with Warehouse.open(path) as warehouse:
        snapshot_id = begin(warehouse)
    with Warehouse.open(path) as warehouse:
        assert warehouse.snapshot_status(snapshot_id) == "running"


def test_open_migrates_older_typed_tables(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    old_table = (
        "CREATE TABLE cash_flow (snapshot_id VARCHAR, exchange_id BIGINT, company_id VARCHAR, "
        "basis VARCHAR, budget_id VARCHAR, class_id VARCHAR, department_id VARCHAR, "
        "account_id VARCHAR, date DATE, amount DECIMAL(38, 10))"
    )
    with duckdb.connect(str(path)) as connection:
        connection.execute(old_table)
        connection.execute(
            "INSERT INTO cash_flow VALUES ('old', 1, 'C001', 'CASH', NULL, NULL, NULL, "
            "'1000', DATE '2024-01-31', 12.50)"
        )

    with Warehouse.open(path) as warehouse:
        rows = warehouse.connection.execute(
            "SELECT snapshot_id, amount, unstored_values FROM cash_flow"
        ).fetchall()
    assert rows == [("old", Decimal("12.50"), None)]


def test_open_rejects_file_that_is_not_duckdb(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database" * 1000)
    with pytest.raises(StoreError) as raised:
        Warehouse.open(path)
    assert str(raised.value) == (
        f"cannot open warehouse {str(path)!r}: IO Error: The file \"{path}\" exists, "
        "but it is not a valid DuckDB database file!"
    )


def test_open_names_process_holding_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warehouse_module, "LOCK_WAIT_S", 0.5)
    path = tmp_path / "warehouse.duckdb"
    Warehouse.open(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
            "print('ready', flush=True); sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "ready\n"
        with pytest.raises(StoreError) as raised:
            Warehouse.open(path)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
    message = str(raised.value)
    assert message.startswith(
        f"cannot open warehouse {str(path)!r}: another process holds it open; wait for that "
        "process to finish or use another warehouse path (IO Error: Could not set lock on file"
    )
    assert f"(PID {holder.pid})" in message


def test_open_waits_for_brief_reader(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    Warehouse.open(path).close()
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print('ready', flush=True); time.sleep(1); c.close()",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None
        assert reader.stdout.readline() == "ready\n"
        with Warehouse.open(path) as warehouse:
            assert warehouse.snapshot_status("none") is None
    finally:
        reader.wait(timeout=10)


def test_open_in_memory() -> None:
    with Warehouse.open(":memory:") as warehouse:
        assert warehouse.snapshot_status("none") is None


def test_begin_snapshot_stores_running_snapshot(warehouse: Warehouse, snapshot_id: str) -> None:
    row = warehouse.connection.execute(
        "SELECT base_url, partner, command, as_of, first_month, last_month, spec_title, "
        "spec_version, status, finished_at FROM snapshots WHERE snapshot_id = ?",
        [snapshot_id],
    ).fetchone()
    assert row == (
        "http://127.0.0.1:8765/api",
        "acme",
        "validate",
        dt.date(2024, 4, 10),
        dt.date(2024, 1, 31),
        dt.date(2024, 3, 31),
        "Reach API 1.0.3 (reconstructed)",
        "1.0.3",
        "running",
        None,
    )


def test_begin_snapshot_returns_uuid_hex(snapshot_id: str) -> None:
    assert len(snapshot_id) == 32
    assert int(snapshot_id, 16) >= 0


def test_begin_snapshot_strips_url_secrets(warehouse: Warehouse) -> None:
    snapshot_id = begin(warehouse, "https://user:s3cret@127.0.0.1:8443/reach/v1?api_key=s3cret#top")
    stored = warehouse.connection.execute(
        "SELECT base_url FROM snapshots WHERE snapshot_id = ?", [snapshot_id]
    ).fetchone()
    assert stored == ("https://127.0.0.1:8443/reach/v1",)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://token@127.0.0.1/api/", "http://127.0.0.1/api/"),
        ("http://a:b@[::1]:9000/p?q=1", "http://[::1]:9000/p"),
        ("http://127.0.0.1/p#frag", "http://127.0.0.1/p"),
    ],
)
def test_strip_url_secrets(url: str, expected: str) -> None:
    assert strip_url_secrets(url) == expected


def test_finish_snapshot_sets_status_and_time(warehouse: Warehouse, snapshot_id: str) -> None:
    warehouse.finish_snapshot(snapshot_id, "incomplete")
    status, finished_at = warehouse.connection.execute(
        "SELECT status, finished_at FROM snapshots WHERE snapshot_id = ?", [snapshot_id]
    ).fetchone()
    assert status == "incomplete"
    assert finished_at is not None


def test_finish_snapshot_rejects_unknown_status(warehouse: Warehouse, snapshot_id: str) -> None:
    with pytest.raises(StoreError) as raised:
        warehouse.finish_snapshot(snapshot_id, "done")
    assert str(raised.value) == (
        "snapshot status must be one of complete, incomplete, failed, got 'done'"
    )


def test_finish_unknown_snapshot_fails(warehouse: Warehouse) -> None:
    with pytest.raises(StoreError) as raised:
        warehouse.finish_snapshot("missing", "complete")
    assert str(raised.value) == "cannot finish snapshot 'missing': no such snapshot"


def test_record_exchange_round_trip(warehouse: Warehouse, snapshot_id: str) -> None:
    warehouse.record_exchange(snapshot_id, EXCHANGE, '{"Data": []}')
    columns = [field.name for field in dataclasses.fields(ExchangeRecord)]
    row = warehouse.connection.execute(
        f"SELECT {', '.join(columns)} FROM http_exchanges WHERE snapshot_id = ?", [snapshot_id]
    ).fetchone()
    assert ExchangeRecord(*row) == EXCHANGE
    body = warehouse.connection.execute(
        "SELECT exchange_id, body FROM raw_responses WHERE snapshot_id = ?", [snapshot_id]
    ).fetchall()
    assert body == [(7, '{"Data": []}')]


def test_record_exchange_without_body(warehouse: Warehouse, snapshot_id: str) -> None:
    failed = dataclasses.replace(EXCHANGE, status_code=None, error="GET /x timed out after 30 s")
    warehouse.record_exchange(snapshot_id, failed, None)
    bodies = warehouse.connection.execute("SELECT count(*) FROM raw_responses").fetchone()
    assert bodies == (0,)


def test_record_exchange_is_atomic(warehouse: Warehouse, snapshot_id: str) -> None:
    warehouse.connection.execute(
        "INSERT INTO raw_responses VALUES (?, 7, 'an earlier body')", [snapshot_id]
    )
    with pytest.raises(StoreError) as raised:
        warehouse.record_exchange(snapshot_id, EXCHANGE, "a second body")
    assert str(raised.value).startswith(
        f"cannot record exchange 7 of snapshot {snapshot_id!r} in warehouse "
        f"{warehouse.path!r}: Constraint Error: Duplicate key"
    )
    exchanges = warehouse.connection.execute("SELECT count(*) FROM http_exchanges").fetchone()
    assert exchanges == (0,)


def test_findings_round_trip(warehouse: Warehouse, snapshot_id: str) -> None:
    warehouse.write_findings(snapshot_id, FINDINGS)
    assert warehouse.read_findings(snapshot_id) == FINDINGS


def test_write_findings_replaces_previous(warehouse: Warehouse, snapshot_id: str) -> None:
    warehouse.write_findings(snapshot_id, FINDINGS)
    warehouse.write_findings(snapshot_id, FINDINGS[1:])
    assert warehouse.read_findings(snapshot_id) == FINDINGS[1:]


def test_write_findings_keeps_other_snapshots(warehouse: Warehouse, snapshot_id: str) -> None:
    other = begin(warehouse)
    warehouse.write_findings(other, FINDINGS)
    warehouse.write_findings(snapshot_id, [])
    assert warehouse.read_findings(other) == FINDINGS


def test_failed_findings_write_keeps_earlier_findings(
    warehouse: Warehouse, snapshot_id: str
) -> None:
    warehouse.write_findings(snapshot_id, FINDINGS)
    broken = dataclasses.replace(FINDINGS[1], message=None)  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        warehouse.write_findings(snapshot_id, [FINDINGS[0], broken])
    assert warehouse.read_findings(snapshot_id) == FINDINGS


def test_read_dataset_rejects_unknown_name(warehouse: Warehouse, snapshot_id: str) -> None:
    with pytest.raises(StoreError) as raised:
        warehouse.read_dataset(snapshot_id, "ledger")
    assert str(raised.value).startswith(
        "unknown dataset 'ledger'; expected one of user_info, company, "
    )


def test_read_dataset_of_empty_snapshot(warehouse: Warehouse, snapshot_id: str) -> None:
    frame = warehouse.read_dataset(snapshot_id, "budgets")
    assert list(frame.columns) == [
        "snapshot_id",
        "exchange_id",
        "company_id",
        "basis",
        "class_id",
        "department_id",
        "budget_id",
        "budget_name",
        "start_date",
        "end_date",
    ]
    assert len(frame) == 0
