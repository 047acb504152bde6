"""Accuracy and freshness verdicts on companies whose fetch failed in part.

The accuracy and freshness checks compare datasets with each other: the balance sheet with the
profit and loss, the statements with the chart of accounts, the last closed month with the
months served. A request that failed for good is a row of ``failed_operations``. When one of a
company's requests failed, one side of such a comparison is missing or cut short. A failed
verdict would then blame the data for what the fetch lost: a chart of accounts that never
arrived makes every statement account look unknown.

So a failed or warning verdict of those categories, for a company with a failed request,
becomes ``not_evaluated``. The reason names the failed operations and keeps the check's own
message. The reliability findings report what went wrong with each request.

Verdicts that passed stay passed: they held on the data that did arrive.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reach_dq.findings import Category, Finding, Outcome

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

JUDGED_ON_WHOLE_DATA = frozenset({Category.ACCURACY, Category.FRESHNESS})
_DOWNGRADED = frozenset({Outcome.FAILED, Outcome.WARNING})

_FAILED_OPERATIONS_SQL = """
SELECT company_id, list(DISTINCT operation_id ORDER BY operation_id)
FROM failed_operations
WHERE snapshot_id = ? AND company_id IS NOT NULL
GROUP BY company_id
"""


def failed_operations_by_company(
    connection: duckdb.DuckDBPyConnection, snapshot_id: str
) -> dict[str, list[str]]:
    """Return, per company, the operations of the snapshot that failed for good."""
    rows = connection.execute(_FAILED_OPERATIONS_SQL, [snapshot_id]).fetchall()
    return {company_id: list(operations) for company_id, operations in rows}


def set_aside_partial_companies(
    findings: Sequence[Finding], failed: dict[str, list[str]]
) -> list[Finding]:
    """Return ``findings`` with each verdict that a failed fetch leaves unfounded made not_evaluated."""
    if not failed:
        return list(findings)
    result = [_set_aside(finding, failed) for finding in findings]
    changed = sum(new is not old for new, old in zip(result, findings, strict=True))
    log.debug("set aside %d verdicts of %d companies with failed requests", changed, len(failed))
    return result


def _set_aside(finding: Finding, failed: dict[str, list[str]]) -> Finding:
    operations = failed.get(finding.company_id or "")
    if (
        not operations
        or finding.category not in JUDGED_ON_WHOLE_DATA
        or finding.outcome not in _DOWNGRADED
    ):
        return finding
    reason = (
        f"not judged: requests of {finding.company_id} failed for good ({', '.join(operations)}), "
        "so the data to compare is incomplete; "
        f"on what arrived the check said: {finding.message}"
    )
    return dataclasses.replace(
        finding, outcome=Outcome.NOT_EVALUATED, message=reason, failure_count=0, failure_cases=()
    )
