from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from reach_dq.exceptions import StoreError
from reach_dq.history import last_good_snapshot, previous_snapshots
from reach_dq.warehouse.warehouse import Warehouse

DAY = dt.date(2026, 7, 15)


def begin(warehouse: Warehouse, base_url: str, status: str, partner: str | None = None) -> str:
    snapshot_id = warehouse.begin_snapshot(
        base_url=base_url, command="validate", as_of=DAY, first_month=dt.date(2026, 6, 30),
        last_month=dt.date(2026, 6, 30), spec_title="t", spec_version="1", partner=partner,
    )
    if status != "running":
        warehouse.finish_snapshot(snapshot_id, status)
    return snapshot_id


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    with Warehouse.open(tmp_path / "w.duckdb") as opened:
        yield opened


def test_only_complete_snapshots_are_baselines(warehouse: Warehouse) -> None:
    good = begin(warehouse, "http://127.0.0.1:1", "complete")
    begin(warehouse, "http://127.0.0.1:1", "incomplete")
    begin(warehouse, "http://127.0.0.1:1", "failed")
    begin(warehouse, "http://127.0.0.1:1", "running")
    current = begin(warehouse, "http://127.0.0.1:1", "running")

    assert [s.snapshot_id for s in previous_snapshots(warehouse.connection, current)] == [good]


def test_newest_first_and_same_base_url_only(warehouse: Warehouse) -> None:
    older = begin(warehouse, "http://127.0.0.1:1", "complete")
    begin(warehouse, "http://127.0.0.1:2", "complete")
    newer = begin(warehouse, "http://127.0.0.1:1", "complete")
    current = begin(warehouse, "http://127.0.0.1:1", "running")

    assert [s.snapshot_id for s in previous_snapshots(warehouse.connection, current)] == [newer, older]
    assert last_good_snapshot(warehouse.connection, current).snapshot_id == newer


def test_partner_name_wins_over_base_url(warehouse: Warehouse) -> None:
    moved = begin(warehouse, "http://127.0.0.1:1", "complete", partner="acme")
    current = begin(warehouse, "http://127.0.0.1:9", "running", partner="acme")

    assert last_good_snapshot(warehouse.connection, current).snapshot_id == moved


def test_first_snapshot_has_no_baseline(warehouse: Warehouse) -> None:
    current = begin(warehouse, "http://127.0.0.1:1", "running")
    assert last_good_snapshot(warehouse.connection, current) is None


def test_unknown_snapshot_is_store_error(warehouse: Warehouse) -> None:
    with pytest.raises(StoreError, match="snapshot 'nope' is not in the warehouse"):
        previous_snapshots(warehouse.connection, "nope")
