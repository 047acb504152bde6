"""Sync stability: a second pull of the closed months' statements equals the first, exactly.

For each company, each statement (P&L, Balance Sheet, Cash Flow) as actuals on both bases is
requested again with the very request the fetch sent. Its rows must equal those of the fetched
body as exact decimals: same accounts, same month ends, same amounts. Every requested month is
closed, because a run ends with the month before its as-of date.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from reach_dq.datasets import BY_OPERATION
from reach_dq.fetch.client import parse_json
from reach_dq.fetch.plan import STATEMENT_OPERATIONS, PlannedRequest
from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.golive.probing import ProbeContext, describe, document

CHECK_STABILITY = "stability.closed_months"

# The last successful attempt of each unfiltered actuals statement of the fetch.
_FIRST_PULLS = """
SELECT e.operation_id, e.company_id, e.basis, e.path, r.body
FROM http_exchanges AS e JOIN raw_responses AS r USING (snapshot_id, exchange_id)
WHERE e.snapshot_id = ? AND e.probe IS NULL AND list_contains(?, e.operation_id)
  AND e.budget_id IS NULL AND e.class_id IS NULL AND e.department_id IS NULL
  AND e.status_code BETWEEN 200 AND 299
ORDER BY e.company_id, e.operation_id, e.basis
"""

Row = tuple[str, str, Decimal]  # AccountId, Date, Amount


async def probe_stability(context: ProbeContext) -> list[Finding]:
    pulls = context.connection.execute(
        _FIRST_PULLS, [context.snapshot_id, list(STATEMENT_OPERATIONS)]
    ).fetchall()
    groups: dict[tuple[str, str], list[tuple]] = {}
    for pull in pulls:
        groups.setdefault((pull[0], pull[1]), []).append(pull)
    results = await asyncio.gather(
        *(_compare(context, operation_id, company_id, group)
          for (operation_id, company_id), group in groups.items())
    )
    return list(results)


async def _compare(
    context: ProbeContext, operation_id: str, company_id: str, pulls: list[tuple]
) -> Finding:
    dataset = BY_OPERATION[operation_id].name
    cases: list[FailureCase] = []
    compared = 0
    for _, _, basis, path, body in pulls:
        request = PlannedRequest(operation_id, "GET", path, company_id=company_id, basis=basis)
        reply = await context.client.probe(request, name=CHECK_STABILITY)
        second = document(reply)
        if reply.status_code != 200 or not isinstance(second, dict):
            cases.append(FailureCase(company_id=company_id, basis=basis, field=f"GET {path}",
                                     expected="200 as in the first pull", actual=describe(reply)))
            continue
        compared += 1
        cases.extend(compare_rows(_rows(parse_json(body)), _rows(second), company_id, basis))

    label = f"{dataset} for {company_id}"
    if not pulls:
        return Finding(CHECK_STABILITY, Category.RELIABILITY, dataset, Outcome.NOT_EVALUATED,
                       f"{label}: no first pull to compare", company_id)
    if cases:
        message = (f"{label}: the second pull differs from the first in {len(cases)} "
                   f"{'case' if len(cases) == 1 else 'cases'}; first: {_describe(cases[0])}")
        return Finding(CHECK_STABILITY, Category.RELIABILITY, dataset, Outcome.FAILED, message,
                       company_id, failure_count=len(cases), failure_cases=tuple(cases))
    message = f"{label}: {compared} statements pulled twice are identical"
    return Finding(CHECK_STABILITY, Category.RELIABILITY, dataset, Outcome.PASSED, message,
                   company_id)


def compare_rows(
    first: Iterable[Row], second: Iterable[Row], company_id: str, basis: str | None
) -> list[FailureCase]:
    """Return a case per (account, date) whose amounts differ between two pulls."""
    before = _by_key(first)
    after = _by_key(second)
    cases = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        delta = (new or Decimal(0)) - (old or Decimal(0))
        cases.append(FailureCase(
            company_id=company_id, account_id=key[0], date=key[1], basis=basis, field="Amount",
            expected=_text(old), actual=_text(new), delta=format(delta, "f"),
        ))
    return cases


def _rows(body: Any) -> list[Row]:
    data = body.get("Data") if isinstance(body, dict) else None
    rows = []
    for item in data if isinstance(data, list) else []:
        if isinstance(item, dict):
            amount = item.get("Amount")
            value = Decimal(amount) if isinstance(amount, (int, Decimal)) else None
            rows.append((str(item.get("AccountId")), str(item.get("Date")), value))
    return rows


def _by_key(rows: Iterable[Row]) -> dict[tuple[str, str], Decimal | None]:
    table: dict[tuple[str, str], Decimal | None] = {}
    for account_id, date, amount in rows:
        previous = table.get((account_id, date))
        table[(account_id, date)] = amount if previous is None else previous + (amount or 0)
    return table


def _describe(case: FailureCase) -> str:
    """Describe a changed row by account and month, or a failed second request by its request."""
    if case.account_id is None:
        return f"{case.field} {case.basis}: expected {case.expected}, got {case.actual}"
    return f"{case.account_id} {case.date} {case.basis}: {case.expected} then {case.actual}"


def _text(amount: Decimal | None) -> str:
    return "missing" if amount is None else format(amount, "f")
