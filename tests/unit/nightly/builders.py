"""Build nightly snapshots in a real DuckDB warehouse without HTTP: bodies in, typed rows out."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from reach_dq.datasets import BY_OPERATION
from reach_dq.findings import Finding
from reach_dq.warehouse.typed import load_typed
from reach_dq.warehouse.warehouse import ExchangeRecord, Warehouse

MONTH_END = dt.date(2026, 6, 30)
Bodies = Mapping[tuple[str, str | None], Any]  # (operation_id, company_id) -> JSON body


def chart(*accounts: tuple[str, str, str]) -> dict[str, Any]:
    """Return a chart-of-accounts body with (AccountId, AccountName, AccountType) items."""
    items = [
        {"AccountId": account_id, "AccountNumber": None, "AccountName": name, "AccountType": account_type,
         "ParentAccountId": None, "IsActive": True, "CashFlowCategory": None}
        for account_id, name, account_type in accounts
    ]
    return {"Data": items, "Pagination": {"offset": 0, "limit": 1000, "total": len(items)}}


def statement(*rows: tuple[str, float]) -> dict[str, Any]:
    """Return a statement body with (AccountId, Amount) rows dated 2026-06-30."""
    return {"Data": [{"AccountId": account_id, "Date": MONTH_END.isoformat(), "Amount": amount} for account_id, amount in rows]}


def add_snapshot(
    warehouse: Warehouse,
    *,
    started_at: dt.datetime,
    bodies: Bodies,
    partner: str = "acme",
    status: str = "complete",
    latency_ms: float = 10.0,
    findings: Sequence[Finding] = (),
) -> str:
    """Store one snapshot with one 200 exchange per body, its typed rows and findings."""
    snapshot_id = warehouse.begin_snapshot(
        base_url="http://127.0.0.1:1", command="nightly", as_of=dt.date(2026, 7, 15),
        first_month=MONTH_END, last_month=MONTH_END, spec_title="Reach API", spec_version="1.0.3",
        partner=partner,
    )
    for exchange_id, ((operation_id, company_id), body) in enumerate(bodies.items(), 1):
        record = ExchangeRecord(
            exchange_id=exchange_id, operation_id=operation_id, dataset=BY_OPERATION[operation_id].name,
            company_id=company_id, method="GET", path=f"/x/{exchange_id}", attempt=1,
            started_at=started_at, status_code=200, content_type="application/json", latency_ms=latency_ms,
        )
        warehouse.record_exchange(snapshot_id, record, json.dumps(body))
    load_typed(warehouse.connection, snapshot_id)
    warehouse.write_findings(snapshot_id, findings)
    warehouse.finish_snapshot(snapshot_id, status)
    warehouse.connection.execute(
        "UPDATE snapshots SET started_at = ?, finished_at = ? WHERE snapshot_id = ?",
        [started_at, started_at + dt.timedelta(minutes=5), snapshot_id],
    )
    return snapshot_id


def night(day: int, hour: int = 2, month: int = 7) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=dt.UTC)
