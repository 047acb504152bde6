"""Drift checks: what changed in a partner's API since earlier complete snapshots of the same partner.

Four checks, all of category ``drift``, each ``warning`` when it finds a change:

- ``drift.schema``: per dataset, a top-level field of the response items that appeared,
  disappeared or changed JSON type since the last good snapshot. Types come from the raw bodies
  (``number`` covers integers and fractions; ``null`` is ignored when comparing types).
- ``drift.chart_of_accounts``: per company, accounts added, removed, renamed (AccountName) or
  retyped (AccountType) since the last good snapshot.
- ``drift.volume``: per company and dataset, the row count, and for statements and metric values
  the total of actual rows, outside the range of earlier runs in the same phase of the month.
- ``drift.latency``: per operation, the 95th percentile latency of this snapshot against the
  median of that percentile over earlier runs.

The last good snapshot is the newest earlier ``complete`` snapshot of the partner
(``reach_dq.history``). Without one, or without the minimum history, a check is
``not_evaluated`` with the reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import logging
import statistics
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import duckdb

from reach_dq.config import DriftSection
from reach_dq.datasets import BY_OPERATION, DATASETS
from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.history import SnapshotInfo, last_good_snapshot, previous_snapshots, snapshot_info
from reach_dq.runner import Check, CheckContext

log = logging.getLogger(__name__)

ABSENT = "absent"
PER_COMPANY = tuple(dataset.name for dataset in DATASETS if dataset.per_company)
MONEY_COLUMNS = {"profit_and_loss": "amount", "balance_sheet": "amount", "cash_flow": "amount", "non_financial_values": "value"}
BODY_BATCH = 64  # raw bodies read from DuckDB at a time


def drift_checks(settings: DriftSection | None = None) -> list[Check]:
    """Return the four drift checks with the thresholds of ``settings`` (defaults without)."""
    thresholds = settings or DriftSection()
    every_dataset = tuple(dataset.name for dataset in DATASETS)
    return [
        Check("drift.schema", Category.DRIFT, every_dataset, schema_drift),
        Check("drift.chart_of_accounts", Category.DRIFT, ("chart_of_accounts",), chart_of_accounts_drift),
        Check("drift.volume", Category.DRIFT, PER_COMPANY, functools.partial(volume_drift, settings=thresholds)),
        Check("drift.latency", Category.DRIFT, every_dataset, functools.partial(latency_drift, settings=thresholds)),
    ]


# -- schema -------------------------------------------------------------------------------------


@dataclasses.dataclass
class FieldProfile:
    """Per dataset: how many items the bodies held, and the JSON types seen per field."""

    items: dict[str, int] = dataclasses.field(default_factory=lambda: defaultdict(int))
    types: dict[str, dict[str, set[str]]] = dataclasses.field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )


def field_profile(connection: duckdb.DuckDBPyConnection, snapshot_id: str) -> FieldProfile:
    """Read the 2xx bodies of a snapshot and record each item field's JSON types per dataset."""
    profile = FieldProfile()
    for dataset, body in _bodies(connection, snapshot_id):
        for item in _items(dataset, body):
            profile.items[dataset] += 1
            for field, value in item.items():
                profile.types[dataset][field].add(json_type(value))
    return profile


def json_type(value: Any) -> str:
    """Return the JSON type name of a parsed value; integers and fractions are both ``number``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _bodies(connection: duckdb.DuckDBPyConnection, snapshot_id: str) -> Iterator[tuple[str, str]]:
    cursor = connection.cursor()
    try:
        cursor.execute(
            "SELECT e.dataset, r.body FROM raw_responses AS r "
            "JOIN http_exchanges AS e USING (snapshot_id, exchange_id) "
            "WHERE r.snapshot_id = ? AND e.dataset IS NOT NULL AND e.probe IS NULL "
            "AND e.status_code BETWEEN 200 AND 299 ORDER BY r.exchange_id",
            [snapshot_id],
        )
        while rows := cursor.fetchmany(BODY_BATCH):
            yield from rows
    finally:
        cursor.close()


def _items(dataset: str, body: str) -> list[dict[str, Any]]:
    try:
        document = json.loads(body, parse_float=Decimal)
    except ValueError:
        return []  # the formatting check reports an unparsable body
    if dataset == "company":
        found: Any = [document]
    elif dataset == "user_info":
        found = document.get("Companies") if isinstance(document, dict) else None
    else:
        found = document.get("Data") if isinstance(document, dict) else None
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


def _has_bodies(connection: duckdb.DuckDBPyConnection, snapshot_id: str) -> bool:
    row = connection.execute(
        "SELECT count(*) FROM raw_responses WHERE snapshot_id = ?", [snapshot_id]
    ).fetchone()
    return bool(row and row[0])


def schema_drift(context: CheckContext) -> list[Finding]:
    baseline = last_good_snapshot(context.connection, context.snapshot_id)
    every_dataset = [dataset.name for dataset in DATASETS]
    if baseline is None:
        return _not_evaluated("drift.schema", every_dataset, _no_baseline(context))
    if not _has_bodies(context.connection, baseline.snapshot_id):
        reason = f"the response bodies of baseline snapshot {baseline.snapshot_id} were pruned"
        return _not_evaluated("drift.schema", every_dataset, reason)

    before = field_profile(context.connection, baseline.snapshot_id)
    now = field_profile(context.connection, context.snapshot_id)
    return [_compare_schema(dataset, before, now, baseline) for dataset in every_dataset]


def _compare_schema(dataset: str, before: FieldProfile, now: FieldProfile, baseline: SnapshotInfo) -> Finding:
    check, since = "drift.schema", _since(baseline)
    if not before.items[dataset] or not now.items[dataset]:
        side = "this snapshot" if not now.items[dataset] else f"baseline snapshot {baseline.snapshot_id}"
        return _finding(check, dataset, Outcome.NOT_EVALUATED, f"{dataset}: {side} has no items to compare")

    cases = []
    old_fields, new_fields = before.types[dataset], now.types[dataset]
    for field in sorted(set(old_fields) | set(new_fields)):
        old = _type_text(old_fields.get(field))
        new = _type_text(new_fields.get(field))
        comparable = ABSENT in (old, new) or ("null" not in (old, new))
        if old != new and comparable:
            cases.append(FailureCase(field=field, expected=old, actual=new))
    if not cases:
        count = len(new_fields)
        return _finding(check, dataset, Outcome.PASSED, f"{dataset}: the {count} item fields are unchanged {since}")
    first = cases[0]
    message = (
        f"{dataset}: {len(cases)} item fields changed {since}; first {first.field!r}: "
        f"{first.expected} became {first.actual}"
    )
    return _finding(check, dataset, Outcome.WARNING, message, cases=cases)


def _type_text(types: set[str] | None) -> str:
    """Return the sorted non-null types joined by '|', 'null' if only null, or 'absent'."""
    if types is None:
        return ABSENT
    concrete = sorted(types - {"null"})
    return "|".join(concrete) if concrete else "null"


# -- chart of accounts --------------------------------------------------------------------------

Account = tuple[str | None, str | None]  # (account_name, account_type)


def _accounts(connection: duckdb.DuckDBPyConnection, snapshot_id: str) -> dict[str, dict[str, Account]]:
    rows = connection.execute(
        "SELECT company_id, account_id, first(account_name ORDER BY exchange_id), "
        "first(account_type ORDER BY exchange_id) FROM chart_of_accounts "
        "WHERE snapshot_id = ? AND account_id IS NOT NULL GROUP BY company_id, account_id",
        [snapshot_id],
    ).fetchall()
    accounts: dict[str, dict[str, Account]] = defaultdict(dict)
    for company_id, account_id, name, account_type in rows:
        accounts[company_id][account_id] = (name, account_type)
    return accounts


def chart_of_accounts_drift(context: CheckContext) -> list[Finding]:
    baseline = last_good_snapshot(context.connection, context.snapshot_id)
    if baseline is None:
        return _not_evaluated("drift.chart_of_accounts", ["chart_of_accounts"], _no_baseline(context))
    before = _accounts(context.connection, baseline.snapshot_id)
    now = _accounts(context.connection, context.snapshot_id)
    if not now:
        return _not_evaluated("drift.chart_of_accounts", ["chart_of_accounts"], "this snapshot has no chart of accounts rows")
    return [_compare_accounts(company, before.get(company), now[company], baseline) for company in sorted(now)]


def _compare_accounts(
    company_id: str, before: dict[str, Account] | None, now: dict[str, Account], baseline: SnapshotInfo
) -> Finding:
    check, dataset, since = "drift.chart_of_accounts", "chart_of_accounts", _since(baseline)
    if before is None:
        message = f"chart of accounts of {company_id}: baseline snapshot {baseline.snapshot_id} has no rows for this company"
        return _finding(check, dataset, Outcome.NOT_EVALUATED, message, company_id=company_id)

    cases = []
    for account_id in sorted(set(before) | set(now)):
        cases += _account_changes(company_id, account_id, before.get(account_id), now.get(account_id))
    if not cases:
        message = f"chart of accounts of {company_id}: the {len(now)} accounts are unchanged {since}"
        return _finding(check, dataset, Outcome.PASSED, message, company_id=company_id)

    kinds = defaultdict(int)
    for case in cases:
        kinds[_change_kind(case)] += 1
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    first = cases[0]
    message = (
        f"chart of accounts of {company_id} changed {since}: {summary}; first {first.account_id!r} "
        f"{first.field}: {first.expected} became {first.actual}"
    )
    return _finding(check, dataset, Outcome.WARNING, message, company_id=company_id, cases=cases)


def _account_changes(company_id: str, account_id: str, old: Account | None, new: Account | None) -> list[FailureCase]:
    case = functools.partial(FailureCase, company_id=company_id, account_id=account_id)
    if old is None or new is None:
        return [case(field="account", expected="absent" if old is None else "present", actual="present" if old is None else "absent")]
    changes = []
    for field, before, after in (("AccountName", old[0], new[0]), ("AccountType", old[1], new[1])):
        if before != after:
            changes.append(case(field=field, expected=repr(before), actual=repr(after)))
    return changes


def _change_kind(case: FailureCase) -> str:
    if case.field == "account":
        return "added" if case.expected == "absent" else "removed"
    return "renamed" if case.field == "AccountName" else "retyped"


# -- volume -------------------------------------------------------------------------------------


def month_phase(started_at: dt.datetime, *, month_start_days: int) -> str:
    """Return ``month-start`` for runs on days 1..N of a month (UTC), otherwise ``mid-month``.

    Partners post closing entries for the previous month in its first days, so rows and totals
    of those runs are compared only with each other.
    """
    day = started_at.astimezone(dt.UTC).day
    return "month-start" if day <= month_start_days else "mid-month"


Volume = tuple[int, Decimal | None]  # rows, total of actual rows (None without a money column)


def _volumes(connection: duckdb.DuckDBPyConnection, snapshot_ids: list[str]) -> dict[tuple[str, str, str], Volume]:
    """Return rows and totals keyed by (snapshot_id, dataset, company_id)."""
    volumes: dict[tuple[str, str, str], Volume] = {}
    placeholders = ", ".join("?" * len(snapshot_ids))
    for dataset in PER_COMPANY:
        money = MONEY_COLUMNS.get(dataset)
        total = (
            f"sum(CASE WHEN budget_id IS NULL AND class_id IS NULL AND department_id IS NULL THEN {money} END)"
            if money
            else "NULL"
        )
        rows = connection.execute(
            f'SELECT snapshot_id, company_id, count(*), {total} FROM "{dataset}" '
            f"WHERE snapshot_id IN ({placeholders}) AND company_id IS NOT NULL GROUP BY ALL",
            snapshot_ids,
        ).fetchall()
        for snapshot_id, company_id, count, amount in rows:
            volumes[(snapshot_id, dataset, company_id)] = (int(count), amount)
    return volumes


def volume_drift(context: CheckContext, *, settings: DriftSection) -> list[Finding]:
    current = _current_info(context)
    phase = month_phase(current.started_at, month_start_days=settings.month_start_days)
    earlier = previous_snapshots(context.connection, context.snapshot_id, limit=settings.history_runs)
    history = [s for s in earlier if month_phase(s.started_at, month_start_days=settings.month_start_days) == phase]

    volumes = _volumes(context.connection, [context.snapshot_id, *(s.snapshot_id for s in history)])
    companies = sorted({company for (sid, _, company) in volumes if sid == context.snapshot_id})
    if not companies:
        return _not_evaluated("drift.volume", list(PER_COMPANY), "this snapshot has no typed rows of any company")
    findings = []
    for dataset in PER_COMPANY:
        for company_id in companies:
            past = [volumes[key] for s in history if (key := (s.snapshot_id, dataset, company_id)) in volumes]
            now = volumes.get((context.snapshot_id, dataset, company_id), (0, None))
            findings.append(_judge_volume(dataset, company_id, now, past, phase, settings))
    return findings


def _judge_volume(
    dataset: str, company_id: str, now: Volume, past: list[Volume], phase: str, settings: DriftSection
) -> Finding:
    check = "drift.volume"
    if len(past) < settings.min_history:
        message = (
            f"{dataset} of {company_id}: {len(past)} earlier complete runs in the {phase} phase, "
            f"{settings.min_history} needed before volume is judged"
        )
        return _finding(check, dataset, Outcome.NOT_EVALUATED, message, company_id=company_id)

    margin = Decimal(str(settings.volume_margin))
    cases = []
    low, high = allowed_range([Decimal(rows) for rows, _ in past], margin)
    if not low <= now[0] <= high:
        cases.append(FailureCase(company_id=company_id, field="rows", expected=f"{_plain(low)}..{_plain(high)}", actual=str(now[0])))
    totals = [total for _, total in past if total is not None]
    if now[1] is not None and len(totals) >= settings.min_history:
        low_total, high_total = allowed_range(totals, margin)
        if not low_total <= now[1] <= high_total:
            cases.append(FailureCase(company_id=company_id, field="total", expected=f"{_plain(low_total)}..{_plain(high_total)}", actual=_plain(now[1])))

    seen = f"the range of {len(past)} earlier {phase} runs widened by {settings.volume_margin:g}"
    if not cases:
        message = f"{dataset} of {company_id}: {now[0]} rows, within {seen}"
        return _finding(check, dataset, Outcome.PASSED, message, company_id=company_id)
    first = cases[0]
    message = f"{dataset} of {company_id}: {first.field} {first.actual} is outside {first.expected}, {seen}"
    return _finding(check, dataset, Outcome.WARNING, message, company_id=company_id, cases=cases)


def allowed_range(values: list[Decimal], margin: Decimal) -> tuple[Decimal, Decimal]:
    """Return [min, max] of ``values`` widened on both sides by ``margin`` times the larger |bound|."""
    low, high = min(values), max(values)
    spread = margin * max(abs(low), abs(high))
    return low - spread, high + spread


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


# -- latency ------------------------------------------------------------------------------------


def _p95_by_operation(connection: duckdb.DuckDBPyConnection, snapshot_ids: list[str]) -> dict[tuple[str, str], float]:
    placeholders = ", ".join("?" * len(snapshot_ids))
    rows = connection.execute(
        "SELECT snapshot_id, operation_id, quantile_cont(latency_ms, 0.95) FROM http_exchanges "
        f"WHERE snapshot_id IN ({placeholders}) AND latency_ms IS NOT NULL AND probe IS NULL "
        "GROUP BY ALL",
        snapshot_ids,
    ).fetchall()
    return {(snapshot_id, operation): float(p95) for snapshot_id, operation, p95 in rows}


def latency_drift(context: CheckContext, *, settings: DriftSection) -> list[Finding]:
    history = previous_snapshots(context.connection, context.snapshot_id, limit=settings.latency_history)
    p95 = _p95_by_operation(context.connection, [context.snapshot_id, *(s.snapshot_id for s in history)])
    operations = sorted(operation for snapshot_id, operation in p95 if snapshot_id == context.snapshot_id)
    findings = []
    for operation in operations:
        past = [p95[key] for s in history if (key := (s.snapshot_id, operation)) in p95]
        findings.append(_judge_latency(operation, p95[(context.snapshot_id, operation)], past, settings))
    return findings


def _judge_latency(operation: str, now: float, past: list[float], settings: DriftSection) -> Finding:
    check = "drift.latency"
    dataset = BY_OPERATION[operation].name if operation in BY_OPERATION else operation
    if len(past) < settings.latency_min_history:
        message = (
            f"{operation}: {len(past)} earlier complete runs, {settings.latency_min_history} "
            "needed before latency is judged"
        )
        return _finding(check, dataset, Outcome.NOT_EVALUATED, message)

    baseline = statistics.median(past)
    rose = now > settings.latency_factor * baseline and now - baseline >= settings.latency_min_increase_ms
    figures = f"p95 {now:.0f} ms against a median p95 of {baseline:.0f} ms over {len(past)} earlier runs"
    if not rose:
        return _finding(check, dataset, Outcome.PASSED, f"{operation}: {figures}")
    limit = f"at most {settings.latency_factor:g} times the median or {settings.latency_min_increase_ms:g} ms above it"
    case = FailureCase(field=operation, expected=limit, actual=f"{now:.0f} ms")
    return _finding(check, dataset, Outcome.WARNING, f"{operation}: {figures}, more than {settings.latency_factor:g} times", cases=[case])


# -- shared helpers -----------------------------------------------------------------------------


def _current_info(context: CheckContext) -> SnapshotInfo:
    return snapshot_info(context.connection, context.snapshot_id)


def _no_baseline(context: CheckContext) -> str:
    current = _current_info(context)
    who = f"partner {current.partner!r}" if current.partner else f"base URL {current.base_url}"
    return f"no earlier complete snapshot of {who} to compare with"


def _since(baseline: SnapshotInfo) -> str:
    return f"since snapshot {baseline.snapshot_id} of {baseline.started_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def _finding(
    check: str,
    dataset: str,
    outcome: Outcome,
    message: str,
    *,
    company_id: str | None = None,
    cases: list[FailureCase] | None = None,
) -> Finding:
    cases = cases or []
    return Finding(check, Category.DRIFT, dataset, outcome, message, company_id, len(cases), tuple(cases))


def _not_evaluated(check: str, datasets: list[str] | tuple[str, ...], reason: str) -> list[Finding]:
    return [_finding(check, dataset, Outcome.NOT_EVALUATED, reason) for dataset in datasets]
