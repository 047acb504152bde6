"""Earlier snapshots of the same partner: the baselines for freshness and drift checks.

Only snapshots whose status is ``complete`` serve as baselines. A snapshot that is still
``running``, or ended ``incomplete`` or ``failed`` (a crash, a killed process, failed requests),
is never compared against.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb

from reach_dq.exceptions import StoreError


@dataclasses.dataclass(frozen=True)
class SnapshotInfo:
    snapshot_id: str
    base_url: str
    partner: str | None
    command: str
    as_of: dt.date
    first_month: dt.date
    last_month: dt.date
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str


_COLUMNS = ", ".join(field.name for field in dataclasses.fields(SnapshotInfo))


def snapshot_info(connection: duckdb.DuckDBPyConnection, snapshot_id: str) -> SnapshotInfo:
    row = connection.execute(
        f"SELECT {_COLUMNS} FROM snapshots WHERE snapshot_id = ?", [snapshot_id]
    ).fetchone()
    if row is None:
        raise StoreError(f"snapshot {snapshot_id!r} is not in the warehouse")
    return SnapshotInfo(*row)


def previous_snapshots(
    connection: duckdb.DuckDBPyConnection, snapshot_id: str, *, limit: int | None = None
) -> list[SnapshotInfo]:
    """Return the complete snapshots of the same partner that started earlier, newest first.

    The same partner means the same ``partner`` name when the snapshot has one (nightly runs),
    otherwise the same base URL.
    """
    current = snapshot_info(connection, snapshot_id)
    if current.partner is not None:
        same_partner, key = "partner = ?", current.partner
    else:
        same_partner, key = "partner IS NULL AND base_url = ?", current.base_url
    query = (
        f"SELECT {_COLUMNS} FROM snapshots "
        f"WHERE status = 'complete' AND {same_partner} AND started_at < ? AND snapshot_id <> ? "
        "ORDER BY started_at DESC"
    )
    parameters: list[object] = [key, current.started_at, snapshot_id]
    if limit is not None:
        query += " LIMIT ?"
        parameters.append(limit)
    return [SnapshotInfo(*row) for row in connection.execute(query, parameters).fetchall()]


def last_good_snapshot(
    connection: duckdb.DuckDBPyConnection, snapshot_id: str
) -> SnapshotInfo | None:
    """Return the newest earlier complete snapshot of the same partner, or None."""
    found = previous_snapshots(connection, snapshot_id, limit=1)
    return found[0] if found else None
