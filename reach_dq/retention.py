"""Retention of raw response bodies: the only part of a snapshot that the nightly job prunes.

Bodies of snapshots that started more than ``raw_body_days`` days ago are deleted. Snapshots,
HTTP exchanges (status, latency, bytes), typed rows, findings and alerts stay. Each partner's
newest complete snapshot keeps its bodies whatever its age, because the schema drift check of
the next run reads them. ``raw_body_days = 0`` keeps every body.

DuckDB reuses the freed blocks for new data; the file itself does not shrink.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import duckdb

from reach_dq.exceptions import StoreError

log = logging.getLogger(__name__)

_PRUNABLE = """
    SELECT s.snapshot_id FROM snapshots AS s
    WHERE s.started_at < ?
      AND s.snapshot_id NOT IN (
          SELECT snapshot_id FROM snapshots
          WHERE status = 'complete'
          QUALIFY row_number() OVER (
              PARTITION BY coalesce(partner, base_url) ORDER BY started_at DESC) = 1)
"""


@dataclasses.dataclass(frozen=True)
class Pruned:
    snapshots: int  # snapshots that lost their bodies in this pass
    bodies: int  # raw_responses rows deleted


def prune_raw_bodies(
    connection: duckdb.DuckDBPyConnection, *, raw_body_days: int, now: dt.datetime | None = None
) -> Pruned:
    """Delete the raw bodies older than ``raw_body_days`` days in one transaction."""
    if raw_body_days == 0:
        return Pruned(0, 0)
    if raw_body_days < 0:
        raise ValueError(f"raw_body_days must be 0 (keep all) or positive, got {raw_body_days!r}")
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=raw_body_days)
    try:
        connection.begin()
        prunable = [row[0] for row in connection.execute(_PRUNABLE, [cutoff]).fetchall()]
        deleted = _delete_bodies(connection, prunable)
        connection.commit()
    except duckdb.Error as exc:
        connection.rollback()
        raise StoreError(f"cannot prune raw bodies older than {raw_body_days} days: {exc}") from exc
    log.info("pruned %d raw bodies of %d snapshots older than %s", deleted[1], deleted[0], cutoff.isoformat())
    return Pruned(*deleted)


def _delete_bodies(connection: duckdb.DuckDBPyConnection, snapshot_ids: list[str]) -> tuple[int, int]:
    if not snapshot_ids:
        return 0, 0
    placeholders = ", ".join("?" * len(snapshot_ids))
    rows = connection.execute(
        f"DELETE FROM raw_responses WHERE snapshot_id IN ({placeholders}) RETURNING snapshot_id", snapshot_ids
    ).fetchall()
    return len({row[0] for row in rows}), len(rows)
