"""Faults for testing the nightly job's drift checks."""

from __future__ import annotations

import time

from reach_dq.partner.faults.base import Body, Fault, FaultRequest

SLOWDOWN_SECONDS = 1.0  # well under the 2-second latency budget of the go-live checks


def _slow_down(request: FaultRequest, body: Body) -> Body:
    if request.target_company:
        time.sleep(SLOWDOWN_SECONDS)  # the route runs in a worker thread, so only it waits
    return body


MONITORING_FAULTS: tuple[Fault, ...] = (
    Fault(
        "slow-chart-of-accounts",
        f"Every chart-of-accounts page of the target company answers {SLOWDOWN_SECONDS} s late: "
        "under the 2-second latency budget, so only a comparison with earlier runs shows it.",
        ("listChartOfAccounts",),
        _slow_down,
    ),
)
