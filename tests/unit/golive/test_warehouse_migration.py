"""A warehouse file from before the go-live probes gains the probe column and token_renewals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from reach_dq.fetch.tokens import Renewal
from reach_dq.golive.renewals import read_renewals, write_renewals
from reach_dq.warehouse.warehouse import ExchangeRecord, Warehouse

OLD_EXCHANGES = """
CREATE TABLE http_exchanges (
    snapshot_id VARCHAR NOT NULL, exchange_id BIGINT NOT NULL, operation_id VARCHAR NOT NULL,
    dataset VARCHAR, company_id VARCHAR, method VARCHAR NOT NULL, path VARCHAR NOT NULL,
    basis VARCHAR, budget_id VARCHAR, class_id VARCHAR, department_id VARCHAR,
    page_offset INTEGER, page_limit INTEGER, start_date DATE, end_date DATE,
    attempt INTEGER NOT NULL, status_code INTEGER, content_type VARCHAR, latency_ms DOUBLE,
    bytes BIGINT, error VARCHAR, started_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (snapshot_id, exchange_id)
);
INSERT INTO http_exchanges (snapshot_id, exchange_id, operation_id, method, path, attempt, started_at)
VALUES ('old', 1, 'getUserInfo', 'GET', '/oauth2/user-info', 1, now());
"""
NOW = dt.datetime(2026, 7, 15, 12, 0, tzinfo=dt.UTC)


def test_old_warehouse_gains_probe_column(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute(OLD_EXCHANGES)

    with Warehouse.open(path) as warehouse:
        warehouse.record_exchange("new", ExchangeRecord(
            exchange_id=1, operation_id="getCompany", dataset=None, company_id="X",
            method="GET", path="/companies/X", attempt=1, started_at=NOW,
            probe="http.unknown_company"), None)
        rows = warehouse.connection.execute(
            "SELECT snapshot_id, probe FROM http_exchanges ORDER BY snapshot_id").fetchall()

    assert rows == [("new", "http.unknown_company"), ("old", None)]


def test_renewals_round_trip(tmp_path: Path) -> None:
    renewals = [Renewal("expired", True, "refreshed the access token with the refresh token", NOW),
                Renewal("rejected", False, "refresh failed: 400", NOW + dt.timedelta(seconds=1))]

    with Warehouse.open(tmp_path / "w.duckdb") as warehouse:
        write_renewals(warehouse.connection, "s1", "fetch", renewals)
        stored = read_renewals(warehouse.connection, "s1")

    assert [(r.reason, r.succeeded, r.message) for r in stored] == [
        (r.reason, r.succeeded, r.message) for r in renewals]
