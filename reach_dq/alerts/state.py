"""Which findings deserve an alert, judged against the problems already alerted.

A problem is keyed by (partner, check, dataset, company). The table ``alert_state`` contains every
open problem of every partner:

- a key that is ``failed`` or ``warning`` now and not open yet: one ``problem`` alert, key opened;
- a key that is ``passed`` now and open: one ``recovery`` alert, key closed;
- ``not_evaluated``, or a key missing from this run: nothing changes, so a partner that is down
  for a night neither recovers nor alerts again.

``drift.schema`` and ``drift.chart_of_accounts`` report a one-time change against the previous
run, so they pass again on the next run by themselves. Their keys close silently, without a
recovery notice. Deciding and committing are separate steps, and the commit updates the state
in one transaction, so running the alert step twice for one snapshot sends nothing the second
time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Iterable, Sequence
from typing import Literal

import duckdb

from reach_dq.exceptions import StoreError
from reach_dq.findings import Finding, Outcome

log = logging.getLogger(__name__)

EVENT_CHECKS = frozenset({"drift.schema", "drift.chart_of_accounts"})
PROBLEM_OUTCOMES = (Outcome.FAILED, Outcome.WARNING)
SEVERITY = {Outcome.NOT_EVALUATED: 0, Outcome.PASSED: 1, Outcome.WARNING: 2, Outcome.FAILED: 3}
MAX_MESSAGE_CHARS = 600  # of a finding's message quoted in an alert


@dataclasses.dataclass(frozen=True, order=True)
class AlertKey:
    partner: str
    check: str
    dataset: str
    company_id: str  # "" when the finding covers no single company


@dataclasses.dataclass(frozen=True)
class Alert:
    """One notice: a new problem, or the recovery of an open one."""

    kind: Literal["problem", "recovery"]
    key: AlertKey
    category: str
    outcome: str  # this run's outcome: failed, warning or passed
    previous_outcome: str | None  # the open problem's outcome, for a recovery
    message: str  # the finding's message
    snapshot_id: str

    @property
    def text(self) -> str:
        """Return the one-line text of the notice (the ``text`` of a Slack message)."""
        where = self.key.check + (f" on {self.key.dataset}" if self.key.dataset else "")
        if self.key.company_id:
            where += f", company {self.key.company_id}"
        message = self.message if len(self.message) <= MAX_MESSAGE_CHARS else self.message[:MAX_MESSAGE_CHARS] + "..."
        if self.kind == "problem":
            return f"reach-dq {self.key.partner}: new {self.outcome}: {where}: {message}"
        return f"reach-dq {self.key.partner}: recovered ({self.previous_outcome} before): {where} passes again: {message}"

    def payload(self) -> dict[str, object]:
        """Return the JSON body of a webhook: Slack's ``text`` plus the fields for machines."""
        return {
            "text": self.text,
            "reach_dq": {
                "kind": self.kind,
                "partner": self.key.partner,
                "check": self.key.check,
                "category": self.category,
                "dataset": self.key.dataset,
                "company_id": self.key.company_id or None,
                "outcome": self.outcome,
                "previous_outcome": self.previous_outcome,
                "message": self.message,
                "snapshot_id": self.snapshot_id,
            },
        }


def key_of(partner: str, finding: Finding) -> AlertKey:
    return AlertKey(partner, finding.check, finding.dataset, finding.company_id or "")


def worst_by_key(partner: str, findings: Iterable[Finding]) -> dict[AlertKey, Finding]:
    """Return one finding per key: the most severe (failed, warning, passed, not_evaluated)."""
    worst: dict[AlertKey, Finding] = {}
    for finding in findings:
        key = key_of(partner, finding)
        if key not in worst or SEVERITY[finding.outcome] > SEVERITY[worst[key].outcome]:
            worst[key] = finding
    return worst


def open_problems(connection: duckdb.DuckDBPyConnection, partner: str) -> dict[AlertKey, str]:
    """Return the open problems of a partner with the outcome that was alerted."""
    rows = connection.execute(
        "SELECT check_name, dataset, company_id, outcome FROM alert_state WHERE partner = ?", [partner]
    ).fetchall()
    return {AlertKey(partner, check, dataset, company): outcome for check, dataset, company, outcome in rows}


def decide_alerts(
    connection: duckdb.DuckDBPyConnection, *, partner: str, snapshot_id: str, findings: Sequence[Finding]
) -> list[Alert]:
    """Return the problem and recovery alerts this run's findings call for, in key order."""
    opened = open_problems(connection, partner)
    alerts = []
    for key, finding in sorted(worst_by_key(partner, findings).items()):
        was = opened.get(key)
        if finding.outcome in PROBLEM_OUTCOMES and was is None:
            alerts.append(_alert("problem", key, finding, None, snapshot_id))
        elif finding.outcome == Outcome.PASSED and was is not None and key.check not in EVENT_CHECKS:
            alerts.append(_alert("recovery", key, finding, was, snapshot_id))
    return alerts


def _alert(kind: Literal["problem", "recovery"], key: AlertKey, finding: Finding, was: str | None, snapshot_id: str) -> Alert:
    return Alert(kind, key, str(finding.category), str(finding.outcome), was, finding.message, snapshot_id)


def commit_alerts(
    connection: duckdb.DuckDBPyConnection,
    *,
    partner: str,
    snapshot_id: str,
    findings: Sequence[Finding],
    alerts: Sequence[Alert],
    texts: Sequence[str],
    now: dt.datetime | None = None,
) -> list[int]:
    """Update the open problems from this run's findings and store the alerts, in one transaction.

    ``texts`` are the alert texts as sent (secrets removed), one per alert. Returns the alert
    ids, numbered from 1 after the snapshot's earlier alerts.
    """
    moment = now or dt.datetime.now(dt.UTC)
    worst = worst_by_key(partner, findings)
    try:
        connection.begin()
        _update_state(connection, partner, snapshot_id, worst, moment)
        ids = _insert_alerts(connection, snapshot_id, alerts, texts, moment)
        connection.commit()
    except duckdb.Error as exc:
        connection.rollback()
        raise StoreError(f"cannot store the alerts of snapshot {snapshot_id!r}: {exc}") from exc
    log.info("partner %s: %d alerts decided for snapshot %s", partner, len(alerts), snapshot_id)
    return ids


def _update_state(
    connection: duckdb.DuckDBPyConnection, partner: str, snapshot_id: str, worst: dict[AlertKey, Finding], moment: dt.datetime
) -> None:
    for key, finding in worst.items():
        where = [key.partner, key.check, key.dataset, key.company_id]
        if finding.outcome in PROBLEM_OUTCOMES:
            connection.execute(
                "INSERT INTO alert_state (partner, check_name, dataset, company_id, outcome, snapshot_id, since) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET outcome = excluded.outcome",
                [*where, str(finding.outcome), snapshot_id, moment],
            )
        elif finding.outcome == Outcome.PASSED:
            connection.execute(
                "DELETE FROM alert_state WHERE partner = ? AND check_name = ? AND dataset = ? AND company_id = ?",
                where,
            )


def _insert_alerts(
    connection: duckdb.DuckDBPyConnection, snapshot_id: str, alerts: Sequence[Alert], texts: Sequence[str], moment: dt.datetime
) -> list[int]:
    row = connection.execute("SELECT coalesce(max(alert_id), 0) FROM alerts WHERE snapshot_id = ?", [snapshot_id]).fetchone()
    first = int(row[0]) + 1 if row else 1
    ids = list(range(first, first + len(alerts)))
    for alert_id, alert, text in zip(ids, alerts, texts, strict=True):
        connection.execute(
            "INSERT INTO alerts (snapshot_id, alert_id, partner, kind, check_name, dataset, company_id, "
            "outcome, text, created_at, deliveries) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]')",
            [snapshot_id, alert_id, alert.key.partner, alert.kind, alert.key.check, alert.key.dataset,
             alert.key.company_id, alert.outcome, text, moment],
        )
    return ids


def record_deliveries(
    connection: duckdb.DuckDBPyConnection, snapshot_id: str, alert_id: int, deliveries: Sequence[dict[str, object]]
) -> None:
    """Store the delivery results of one alert, one entry per target."""
    try:
        connection.execute(
            "UPDATE alerts SET deliveries = ?::JSON WHERE snapshot_id = ? AND alert_id = ?",
            [json.dumps(list(deliveries)), snapshot_id, alert_id],
        )
    except duckdb.Error as exc:
        raise StoreError(f"cannot store the deliveries of alert {alert_id} of snapshot {snapshot_id!r}: {exc}") from exc
