"""Alerts of the nightly job: one notice when a problem appears, one when it recovers.

``state`` decides which findings are new problems or recoveries against what the warehouse
already alerted, ``targets`` delivers them to a Slack-compatible webhook or the log.
"""

from __future__ import annotations

from reach_dq.alerts.state import Alert, AlertKey, commit_alerts, decide_alerts, record_deliveries
from reach_dq.alerts.targets import Delivery, deliver, redact

__all__ = [
    "Alert",
    "AlertKey",
    "Delivery",
    "commit_alerts",
    "decide_alerts",
    "deliver",
    "record_deliveries",
    "redact",
]
