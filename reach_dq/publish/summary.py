"""Counts of findings by outcome and category, shared by every output."""

from __future__ import annotations

import collections
from collections.abc import Sequence

from reach_dq.findings import Finding, Outcome


def count_outcomes(findings: Sequence[Finding]) -> dict[str, int]:
    counts = collections.Counter(str(finding.outcome) for finding in findings)
    return {str(outcome): counts.get(str(outcome), 0) for outcome in Outcome}


def count_by_category(findings: Sequence[Finding]) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for finding in findings:
        row = table.setdefault(str(finding.category), {str(outcome): 0 for outcome in Outcome})
        row[str(finding.outcome)] += 1
    return dict(sorted(table.items()))


def has_failures(findings: Sequence[Finding]) -> bool:
    return any(finding.outcome is Outcome.FAILED for finding in findings)
