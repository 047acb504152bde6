"""Pruning raw bodies keeps findings, exchanges and each partner's newest complete snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest

from reach_dq.findings import Category, Finding, Outcome
from reach_dq.retention import Pruned, prune_raw_bodies
from reach_dq.warehouse.warehouse import Warehouse
from tests.unit.nightly.builders import add_snapshot, chart, night

BODIES = {("listChartOfAccounts", "C001"): chart(("A100", "Cash", "ASSET"))}
FINDING = Finding("pandera.chart_of_accounts", Category.FORMATTING, "chart_of_accounts", Outcome.PASSED, "ok", "C001")


def count(warehouse: Warehouse, table: str, snapshot_id: str) -> int:
    row = warehouse.connection.execute(f"SELECT count(*) FROM {table} WHERE snapshot_id = ?", [snapshot_id]).fetchone()
    return int(row[0])


def test_old_bodies_pruned_findings_kept(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as warehouse:
        old = add_snapshot(warehouse, started_at=night(1), bodies=BODIES, findings=[FINDING])
        newest = add_snapshot(warehouse, started_at=night(20), bodies=BODIES, findings=[FINDING])

        pruned = prune_raw_bodies(warehouse.connection, raw_body_days=10, now=night(25))

        assert pruned == Pruned(snapshots=1, bodies=1)
        assert count(warehouse, "raw_responses", old) == 0
        assert count(warehouse, "findings", old) == 1
        assert count(warehouse, "http_exchanges", old) == 1
        assert count(warehouse, "chart_of_accounts", old) == 1
        assert count(warehouse, "raw_responses", newest) == 1


def test_newest_complete_snapshot_of_each_partner_kept(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as warehouse:
        kept = add_snapshot(warehouse, started_at=night(1), bodies=BODIES)
        failed_later = add_snapshot(warehouse, started_at=night(2), bodies=BODIES, status="failed")
        other = add_snapshot(warehouse, started_at=night(1), bodies=BODIES, partner="other")

        pruned = prune_raw_bodies(warehouse.connection, raw_body_days=10, now=night(30))

        assert pruned == Pruned(snapshots=1, bodies=1)
        assert count(warehouse, "raw_responses", kept) == 1
        assert count(warehouse, "raw_responses", failed_later) == 0
        assert count(warehouse, "raw_responses", other) == 1


def test_zero_days_keeps_everything(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as warehouse:
        add_snapshot(warehouse, started_at=night(1), bodies=BODIES, status="incomplete")

        assert prune_raw_bodies(warehouse.connection, raw_body_days=0, now=night(30)) == Pruned(0, 0)


def test_negative_days_rejected(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as warehouse, pytest.raises(ValueError) as caught:
        prune_raw_bodies(warehouse.connection, raw_body_days=-1)

    assert str(caught.value) == "raw_body_days must be 0 (keep all) or positive, got -1"
