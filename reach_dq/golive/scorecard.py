"""The go-live scorecard: each lifecycle test of a Reach integration, judged from the findings.

Every finding belongs to at most one lifecycle test: the isolation probes (checks named
``isolation.*``) to isolation, every other finding by its category:

| Lifecycle test | Findings |
|---|---|
| access and authentication | category security, except isolation |
| endpoints and formatting | category formatting |
| data accuracy | category accuracy |
| freshness | category freshness |
| reliability | category reliability |
| isolation | checks named isolation.* |

Findings of another category (drift) belong to no row. A row is ready when it has at least one
finding and none failed, not ready when any failed, and not evaluated when it has none. The
partner is ready for go-live only when every row is ready.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from typing import Any

from reach_dq.findings import Category, Finding, Outcome

ISOLATION_PREFIX = "isolation."


class LifecycleTest(enum.StrEnum):
    ACCESS = "access and authentication"
    FORMATTING = "endpoints and formatting"
    ACCURACY = "data accuracy"
    FRESHNESS = "freshness"
    RELIABILITY = "reliability"
    ISOLATION = "isolation"


class RowStatus(enum.StrEnum):
    READY = "ready"
    NOT_READY = "not ready"
    NOT_EVALUATED = "not evaluated"


BY_CATEGORY = {
    Category.SECURITY: LifecycleTest.ACCESS,
    Category.FORMATTING: LifecycleTest.FORMATTING,
    Category.ACCURACY: LifecycleTest.ACCURACY,
    Category.FRESHNESS: LifecycleTest.FRESHNESS,
    Category.RELIABILITY: LifecycleTest.RELIABILITY,
}


@dataclasses.dataclass(frozen=True)
class ScorecardRow:
    test: LifecycleTest
    status: RowStatus
    findings: int  # findings that belong to the row
    failed: tuple[Finding, ...]  # the failed ones, the evidence of a not ready row

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": str(self.test),
            "status": str(self.status),
            "findings": self.findings,
            "failed": [finding.to_dict() for finding in self.failed],
        }


def lifecycle_test(finding: Finding) -> LifecycleTest | None:
    """Return the lifecycle test a finding belongs to, or None for a category without one."""
    if finding.check.startswith(ISOLATION_PREFIX):
        return LifecycleTest.ISOLATION
    return BY_CATEGORY.get(finding.category)


def build_scorecard(findings: Sequence[Finding]) -> list[ScorecardRow]:
    """Return one row per lifecycle test, in the order of ``LifecycleTest``."""
    grouped: dict[LifecycleTest, list[Finding]] = {test: [] for test in LifecycleTest}
    for finding in findings:
        test = lifecycle_test(finding)
        if test is not None:
            grouped[test].append(finding)
    return [_row(test, members) for test, members in grouped.items()]


def is_ready(rows: Sequence[ScorecardRow]) -> bool:
    return all(row.status is RowStatus.READY for row in rows)


def render_scorecard(rows: Sequence[ScorecardRow], *, max_listed: int = 5) -> str:
    """Return the scorecard as terminal lines: each row, then the first failing findings."""
    lines = ["go-live scorecard:"]
    for row in rows:
        lines.append(f"  {row.test:<26} {row.status:<14} ({row.findings} findings)")
        for finding in row.failed[:max_listed]:
            lines.append(f"      {finding.check} [{finding.dataset}]: {finding.message}")
        if len(row.failed) > max_listed:
            lines.append(f"      ... and {len(row.failed) - max_listed} more failed findings")
    verdict = "ready for go-live" if is_ready(rows) else "not ready for go-live"
    lines.append(f"verdict: {verdict}")
    return "\n".join(lines)


def _row(test: LifecycleTest, findings: Sequence[Finding]) -> ScorecardRow:
    failed = tuple(finding for finding in findings if finding.outcome is Outcome.FAILED)
    if not findings:
        status = RowStatus.NOT_EVALUATED
    elif failed:
        status = RowStatus.NOT_READY
    else:
        status = RowStatus.READY
    return ScorecardRow(test, status, len(findings), failed)
