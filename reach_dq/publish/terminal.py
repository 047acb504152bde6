"""The short table a run prints on the terminal."""

from __future__ import annotations

import re
from collections.abc import Sequence

from reach_dq.findings import Finding, Outcome
from reach_dq.publish.summary import count_by_category, count_outcomes

MAX_LISTED = 15


def render_summary(findings: Sequence[Finding]) -> str:
    """Return counts by category and outcome, then the failed findings (at most MAX_LISTED)."""
    outcomes = [str(outcome) for outcome in Outcome]
    lines = [f"{'category':<12} " + " ".join(f"{name:>13}" for name in outcomes)]
    for category, row in count_by_category(findings).items():
        lines.append(f"{category:<12} " + " ".join(f"{row[name]:>13}" for name in outcomes))
    totals = count_outcomes(findings)
    lines.append(f"{'total':<12} " + " ".join(f"{totals[name]:>13}" for name in outcomes))

    failed = [finding for finding in findings if finding.outcome is Outcome.FAILED]
    if failed:
        lines.append("")
        lines.append(f"failed checks ({len(failed)}):")
        for finding in failed[:MAX_LISTED]:
            line = f"  {finding.check} [{finding.dataset}]: {finding.message}"
            lines.append(line + _first_case_place(finding))
        if len(failed) > MAX_LISTED:
            lines.append(f"  ... and {len(failed) - MAX_LISTED} more (see the JSON or the data docs)")
    return "\n".join(lines)


def _first_case_place(finding: Finding) -> str:
    """Return where the first failure case is, naming only what the message does not name."""
    if not finding.failure_cases:
        return ""
    case = finding.failure_cases[0]
    places = (
        ("company", case.company_id),
        ("account", case.account_id),
        ("date", case.date),
        ("basis", case.basis),
    )
    named = [
        f"{label} {value}" for label, value in places
        if value and not _names(finding.message, value)
    ]
    if case.scope and not _names(finding.message, case.scope):
        named.append(case.scope)  # already labelled: "budget BG01"
    return f" (first case: {', '.join(named)})" if named else ""


def _names(message: str, value: str) -> bool:
    """Tell whether ``message`` names ``value`` as a whole word: company "1" is not in "16 rows"."""
    return re.search(rf"(?<![\w.-]){re.escape(value)}(?![\w.-])", message) is not None
