"""The alert step of one partner's nightly run: decide, store, then deliver.

The decision and the new state are committed before anything is sent, so a crash or a rerun
after the commit never sends an alert twice. The cost: a crash between the commit and the
delivery loses those notices, which stay in the ``alerts`` table with no delivery.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from reach_dq.alerts.state import commit_alerts, decide_alerts, record_deliveries
from reach_dq.alerts.targets import deliver, redact
from reach_dq.config import NightlyConfig, PartnerConfig, known_secrets
from reach_dq.findings import Category, Finding, Outcome
from reach_dq.warehouse.warehouse import Warehouse

log = logging.getLogger(__name__)

RUN_CHECK = "nightly.run"  # the key of "the partner's run could not complete"


@dataclasses.dataclass(frozen=True)
class AlertSummary:
    problems: int
    recoveries: int
    undelivered: int  # alerts that at least one target did not receive


def run_finding(error: str | None) -> Finding:
    """Return the finding about the run itself: failed with the error, or passed."""
    if error is None:
        return Finding(RUN_CHECK, Category.RELIABILITY, "", Outcome.PASSED, "the nightly run completed")
    return Finding(RUN_CHECK, Category.RELIABILITY, "", Outcome.FAILED, f"the nightly run could not complete: {error}")


def send_run_alerts(
    config: NightlyConfig, partner: PartnerConfig, *, snapshot_id: str, findings: Sequence[Finding]
) -> AlertSummary:
    """Alert the partner's new problems and recoveries among ``findings`` to its targets."""
    secrets = known_secrets(config)
    targets = config.targets_of(partner)
    with Warehouse.open(config.nightly.warehouse) as warehouse:
        alerts = decide_alerts(warehouse.connection, partner=partner.name, snapshot_id=snapshot_id, findings=findings)
        texts = [redact(alert.text, secrets) for alert in alerts]
        ids = commit_alerts(
            warehouse.connection, partner=partner.name, snapshot_id=snapshot_id,
            findings=findings, alerts=alerts, texts=texts,
        )
        undelivered = 0
        for alert_id, alert in zip(ids, alerts, strict=True):
            deliveries = deliver(alert, targets, config=config, secrets=secrets)
            record_deliveries(warehouse.connection, snapshot_id, alert_id, [d.to_dict() for d in deliveries])
            undelivered += int(not all(delivery.delivered for delivery in deliveries))
    problems = sum(alert.kind == "problem" for alert in alerts)
    log.info("partner %s: %d new problems, %d recoveries alerted", partner.name, problems, len(alerts) - problems)
    return AlertSummary(problems, len(alerts) - problems, undelivered)
