"""Monitor the monitor: each configured partner's last nightly run, its verdict and its age.

A partner is overdue when no run validated it within ``stale_after_hours`` (26 by default, so a
nightly job that runs a little late is not flagged). A run validated the partner when it
finished with status ``complete`` or ``incomplete``; a ``failed`` or still ``running`` run did
not.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import duckdb

from reach_dq.exceptions import StoreError

NEVER = "never run"

_LAST_RUNS = """
    SELECT partner, snapshot_id, started_at, finished_at, status FROM snapshots
    WHERE partner IN ({names})
    QUALIFY row_number() OVER (PARTITION BY partner ORDER BY started_at DESC) = 1
"""
_LAST_VALIDATED = """
    SELECT partner, max(finished_at) FROM snapshots
    WHERE partner IN ({names}) AND status IN ('complete', 'incomplete') GROUP BY partner
"""
_OUTCOMES = "SELECT outcome, count(*) FROM findings WHERE snapshot_id = ? GROUP BY outcome"


@dataclasses.dataclass(frozen=True)
class PartnerStatus:
    partner: str
    snapshot_id: str | None = None  # the last run, whatever its status
    started_at: dt.datetime | None = None
    status: str | None = None  # running, complete, incomplete or failed
    outcomes: dict[str, int] = dataclasses.field(default_factory=dict)
    last_validated_at: dt.datetime | None = None
    overdue: bool = True

    @property
    def verdict(self) -> str:
        """Return ``never run``, ``running``, ``run failed``, ``failed``, ``warning`` or ``passed``."""
        if self.status is None:
            return NEVER
        if self.status in ("running", "failed"):
            return "running" if self.status == "running" else "run failed"
        for outcome in ("failed", "warning"):
            if self.outcomes.get(outcome):
                return outcome
        return "passed"

    def age(self, now: dt.datetime) -> dt.timedelta | None:
        return None if self.started_at is None else now - self.started_at


def partner_statuses(
    connection: duckdb.DuckDBPyConnection,
    partners: Sequence[str],
    *,
    now: dt.datetime,
    stale_after_hours: float,
) -> list[PartnerStatus]:
    """Return the status of each named partner, in the order given."""
    if not partners:
        return []
    names = ", ".join("?" * len(partners))
    last_runs = {row[0]: row[1:] for row in connection.execute(_LAST_RUNS.format(names=names), list(partners)).fetchall()}
    validated = dict(connection.execute(_LAST_VALIDATED.format(names=names), list(partners)).fetchall())
    cutoff = now - dt.timedelta(hours=stale_after_hours)

    statuses = []
    for partner in partners:
        last_validated = validated.get(partner)
        overdue = last_validated is None or last_validated < cutoff
        if partner not in last_runs:
            statuses.append(PartnerStatus(partner, overdue=overdue))
            continue
        snapshot_id, started_at, _, status = last_runs[partner]
        outcomes = dict(connection.execute(_OUTCOMES, [snapshot_id]).fetchall())
        statuses.append(PartnerStatus(partner, snapshot_id, started_at, status, outcomes, last_validated, overdue))
    return statuses


def read_statuses(
    warehouse: Path, partners: Sequence[str], *, now: dt.datetime, stale_after_hours: float
) -> list[PartnerStatus]:
    """Open the warehouse read-only and return the partners' statuses; a missing file means none ran."""
    if not warehouse.exists():
        return [PartnerStatus(partner) for partner in partners]
    try:
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            return partner_statuses(connection, partners, now=now, stale_after_hours=stale_after_hours)
    except duckdb.Error as exc:
        raise StoreError(
            f"cannot read warehouse {str(warehouse)!r}: {exc}; if a nightly run is writing to it, "
            "wait for the run to finish"
        ) from exc


def format_age(age: dt.timedelta | None) -> str:
    """Return an age as ``3d 4h``, ``5h 12m`` or ``42m``; ``-`` for none."""
    if age is None:
        return "-"
    minutes = max(0, int(age.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


def render_statuses(statuses: Sequence[PartnerStatus], *, now: dt.datetime, stale_after_hours: float) -> str:
    """Return the status table printed by ``reach-dq status``."""
    header = ("partner", "last run (UTC)", "age", "status", "verdict", "failed", "warnings", "overdue")
    rows = [header]
    for status in statuses:
        started = "-" if status.started_at is None else f"{status.started_at.astimezone(dt.UTC):%Y-%m-%d %H:%M}"
        rows.append((
            status.partner,
            started,
            format_age(status.age(now)),
            status.status or "-",
            status.verdict,
            str(status.outcomes.get("failed", 0)),
            str(status.outcomes.get("warning", 0)),
            f"OVERDUE (>{stale_after_hours:g} h)" if status.overdue else "no",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows)
