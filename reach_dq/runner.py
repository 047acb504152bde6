"""Run checks over one snapshot and collect their findings.

A check is a function from a ``CheckContext`` to findings. A check that raises is not a crash:
the runner records a ``not_evaluated`` finding with the reason for each dataset the check covers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from reach_dq.findings import Category, Finding, Outcome

if TYPE_CHECKING:
    from pathlib import Path

    import duckdb

    from reach_dq.contract.spec import Spec

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class CheckContext:
    """What a check may read: the warehouse, the snapshot it checks, the contract and the dates."""

    connection: duckdb.DuckDBPyConnection
    snapshot_id: str
    spec: Spec
    as_of: dt.date
    first_month: dt.date  # last day of the first requested month
    last_month: dt.date  # last day of the last requested month
    expected_path: Path | None = None  # the partner's own figures to reconcile (--expected)
    close_lag_days: int = 0  # days after a month end before that month counts as closed
    accrual_accounts: tuple[str, ...] | None = None  # None: receivables and payables by name
    frozen_feed_runs: int = 3  # nightly snapshots with unchanged open months that warn
    now: dt.datetime | None = None  # the check time in UTC; None: the current time
    # Values that several checks read alike, such as the snapshot's companies, stored by the
    # first check that reads them. Each context, ``dataclasses.replace`` copies included, has
    # its own.
    memo: dict[str, Any] = dataclasses.field(
        default_factory=dict, init=False, compare=False, repr=False
    )


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    category: Category
    datasets: tuple[str, ...]
    run: Callable[[CheckContext], Iterable[Finding]]


def run_checks(checks: Sequence[Check], context: CheckContext) -> list[Finding]:
    findings: list[Finding] = []
    for check in checks:
        findings.extend(_run_one(check, context))
    return findings


def _run_one(check: Check, context: CheckContext) -> list[Finding]:
    try:
        findings = list(check.run(context))
    except Exception as exc:  # noqa: BLE001  # any failure of a check becomes not_evaluated
        log.warning("check %s could not run: %s", check.name, exc, exc_info=True)
        reason = f"check could not run: {type(exc).__name__}: {exc}"
        return [
            Finding(check.name, check.category, dataset, Outcome.NOT_EVALUATED, reason)
            for dataset in check.datasets
        ]
    log.info("check %s: %d findings", check.name, len(findings))
    return findings
