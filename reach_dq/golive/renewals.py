"""Store and read the access-token renewals of a run (table ``token_renewals``)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from reach_dq.fetch.tokens import Renewal

_INSERT = (
    "INSERT INTO token_renewals (snapshot_id, stage, renewal_id, reason, succeeded, message, "
    "renewed_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_SELECT = (
    "SELECT reason, succeeded, message, renewed_at FROM token_renewals "
    "WHERE snapshot_id = ? ORDER BY renewed_at, stage, renewal_id"
)


def write_renewals(
    connection: duckdb.DuckDBPyConnection, snapshot_id: str, stage: str,
    renewals: Sequence[Renewal],
) -> None:
    """Store the renewals of one stage (fetch or probe); messages never carry a token."""
    rows = [
        [snapshot_id, stage, index, renewal.reason, renewal.succeeded, renewal.message, renewal.at]
        for index, renewal in enumerate(renewals, 1)
    ]
    if rows:
        connection.executemany(_INSERT, rows)


def read_renewals(connection: duckdb.DuckDBPyConnection, snapshot_id: str) -> list[Renewal]:
    rows = connection.execute(_SELECT, [snapshot_id]).fetchall()
    return [Renewal(reason, succeeded, message, at) for reason, succeeded, message, at in rows]
