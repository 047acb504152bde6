"""Latency, errors and retries of the fetch, per dataset, from the stored exchanges.

The developer checklist of the Reach API expects responses in about 1-2 seconds, so the budget
is 2 seconds per request. ``latency.p95_within_budget`` fails when the 95th percentile of a
dataset's request latencies exceeds it and warns when only the maximum does. The percentile is
the nearest-rank one: the value at rank ceil(0.95 n) of n sorted latencies, so with 20 requests
or fewer it is the maximum. Latency is measured by reach-dq from sending the request to reading
the whole body, so it includes the network between reach-dq and the partner.

``reliability.errors_and_retries`` counts attempts, retries and failed attempts: a warning when
retries healed every failure, failed when a request still failed after its last attempt.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from reach_dq.findings import Category, FailureCase, Finding, Outcome, count_of
from reach_dq.golive.probing import ProbeContext
from reach_dq.warehouse.requests import REQUEST_KEY

CHECK_LATENCY = "latency.p95_within_budget"
CHECK_RETRIES = "reliability.errors_and_retries"
BUDGET_MS = 2000.0

_FETCH_EXCHANGES = f"""
SELECT dataset, method, path, attempt, status_code, latency_ms, error, {REQUEST_KEY}
FROM http_exchanges
WHERE snapshot_id = ? AND probe IS NULL AND dataset IS NOT NULL
ORDER BY dataset, exchange_id
"""


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile of non-empty ``values`` (``fraction`` in 0..1)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def check_latency_and_retries(context: ProbeContext) -> list[Finding]:
    rows = context.connection.execute(_FETCH_EXCHANGES, [context.snapshot_id]).fetchall()
    groups: dict[str, list[tuple]] = {}
    for row in rows:
        groups.setdefault(row[0], []).append(row)
    findings = [latency_finding(dataset, exchanges) for dataset, exchanges in groups.items()]
    findings += [retries_finding(dataset, exchanges) for dataset, exchanges in groups.items()]
    return findings


def latency_finding(dataset: str, exchanges: Sequence[tuple]) -> Finding:
    timed = [(row[5], f"{row[1]} {row[2]}") for row in exchanges if row[5] is not None]
    if not timed:
        message = f"{dataset}: no request has a measured latency"
        return Finding(CHECK_LATENCY, Category.RELIABILITY, dataset, Outcome.NOT_EVALUATED, message)

    latencies = [latency for latency, _ in timed]
    median, p95, slowest = statistics.median(latencies), percentile(latencies, 0.95), max(latencies)
    figures = (f"median {median:.0f} ms, p95 {p95:.0f} ms, max {slowest:.0f} ms over "
               f"{len(latencies)} requests (budget {BUDGET_MS:.0f} ms)")
    slow = sorted((item for item in timed if item[0] > BUDGET_MS), reverse=True)
    cases = tuple(
        FailureCase(field=request, expected=f"<= {BUDGET_MS:.0f} ms", actual=f"{latency:.0f} ms")
        for latency, request in slow
    )
    if p95 > BUDGET_MS:
        outcome, verdict = Outcome.FAILED, "p95 over the 2-second budget"
    elif slow:
        outcome, verdict = Outcome.WARNING, "some requests over the 2-second budget"
    else:
        outcome, verdict, cases = Outcome.PASSED, "within the 2-second budget", ()
    return Finding(CHECK_LATENCY, Category.RELIABILITY, dataset, outcome,
                   f"{dataset}: {verdict}: {figures}", failure_count=len(cases),
                   failure_cases=cases)


def retries_finding(dataset: str, exchanges: Sequence[tuple]) -> Finding:
    final: dict[tuple, tuple] = {}  # the last attempt of each request
    for row in exchanges:
        key = tuple(row[7:])  # the columns of REQUEST_KEY
        if key not in final or row[3] > final[key][3]:
            final[key] = row
    failed_attempts = [row for row in exchanges if _failed(row)]
    retried = sum(1 for row in final.values() if row[3] > 1)
    unhealed = [row for row in final.values() if _failed(row)]
    figures = (f"{count_of(len(exchanges), 'attempt')} for {count_of(len(final), 'request')}, "
               f"{retried} retried, {count_of(len(failed_attempts), 'failed attempt')}, "
               f"{count_of(len(unhealed), 'failed request')}")
    cases = tuple(
        FailureCase(field=f"{row[1]} {row[2]}", expected="2xx",
                    actual=str(row[4]) if row[4] is not None else f"no response: {row[6]}")
        for row in (unhealed or failed_attempts)
    )
    if unhealed:
        outcome = Outcome.FAILED
    elif failed_attempts:
        outcome = Outcome.WARNING
    else:
        outcome, cases = Outcome.PASSED, ()
    return Finding(CHECK_RETRIES, Category.RELIABILITY, dataset, outcome,
                   f"{dataset}: {figures}", failure_count=len(cases), failure_cases=cases)


def _failed(row: tuple) -> bool:
    status = row[4]
    return status is None or status >= 400
