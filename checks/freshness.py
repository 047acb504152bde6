"""Freshness: is the data current, and do earlier snapshots show a frozen feed or restatements?

All dates are UTC dates and all times UTC times. ``--as-of`` is the date the run takes as
today. The last closed month is the month before ``as_of - close_lag_days``: with a close lag
of 0 it is the month before ``--as-of``, the last month the run fetches. The months after it,
up to the last fetched month, are the open period.

- ``freshness.last_closed_month``: each company has Profit and Loss actuals dated the last
  closed month, on each basis fetched for it. The message gives the date of the newest Profit
  and Loss actuals and its age in days. When a basis has none, the failure cases name each
  account that had a row in the month before.
- ``freshness.snapshot_age``: the hours from the start of the snapshot's fetch to the check
  time, a warning above ``MAX_SNAPSHOT_AGE_HOURS``, with the date of the newest Profit and
  Loss actuals in the snapshot.
- ``freshness.frozen_feed``: a warning for each company and open month whose actuals (every
  statement, account, basis and amount) are identical in this snapshot and the earlier
  snapshots of the same partner taken on the ``frozen_feed_runs - 1`` previous as-of dates.
  It is not evaluated when there is no open month or not enough earlier snapshots.
- ``freshness.restatements``: a warning for each figure of a closed month that differs from
  the newest earlier complete snapshot of the same partner. A month counts as closed when it
  was closed at both snapshots' as-of dates, and only months that both snapshots fetched are
  compared. A missing row counts as zero.

Earlier snapshots come from ``reach_dq.history``: complete snapshots only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from checks.rules import (
    ACTUALS,
    MONTHS_SQL,
    Rule,
    actuals_sql,
    counted,
    fetched_sql,
    not_evaluated,
    query,
    run_rule,
)
from reach_dq.exceptions import CheckRunError
from reach_dq.findings import Category, Finding, Outcome
from reach_dq.history import SnapshotInfo, last_good_snapshot, previous_snapshots, snapshot_info
from reach_dq.runner import Check, CheckContext

log = logging.getLogger(__name__)

MAX_SNAPSHOT_AGE_HOURS = 24
MAX_CLOCK_SKEW_HOURS = 0.1  # a snapshot that starts this much after the check time warns too
MIN_FROZEN_FEED_RUNS = 2
STATEMENT_DATASETS = ("profit_and_loss", "balance_sheet", "cash_flow")


def last_closed_month(as_of: dt.date, close_lag_days: int) -> dt.date:
    """Return the last day of the month before ``as_of - close_lag_days``."""
    if close_lag_days < 0:
        raise CheckRunError(f"close_lag_days must be 0 or more, got {close_lag_days!r}")
    shifted = as_of - dt.timedelta(days=close_lag_days)
    return shifted.replace(day=1) - dt.timedelta(days=1)


def _previous_month_end(month_end: dt.date) -> dt.date:
    return month_end.replace(day=1) - dt.timedelta(days=1)


# --- freshness.last_closed_month -----------------------------------------------------------

_CLOSED_BASES = f"""
WITH fetched AS ({fetched_sql()}),
actuals AS MATERIALIZED ({actuals_sql()}),
bases AS (
    SELECT company_id, basis FROM fetched
    WHERE dataset = 'profit_and_loss' AND CAST($closed AS DATE) BETWEEN start_date AND end_date
),
missing AS (
    SELECT b.company_id, b.basis FROM bases AS b
    WHERE NOT EXISTS (
        SELECT 1 FROM actuals AS a
        WHERE a.dataset = 'profit_and_loss' AND a.company_id = b.company_id
          AND a.basis = b.basis AND a.date = $closed)
)"""

LAST_CLOSED_MONTH = Rule(
    check="freshness.last_closed_month",
    category=Category.FRESHNESS,
    datasets=("profit_and_loss",),
    checked_sql=(
        f"{_CLOSED_BASES} SELECT company_id, 'profit_and_loss', count(*) FROM bases GROUP BY ALL"
    ),
    cases_sql=f"""{_CLOSED_BASES}
    SELECT m.company_id, 'profit_and_loss' AS dataset, a.account_id,
           CAST($closed AS DATE) AS date, m.basis,
           'Date' AS field,
           'a row dated ' || CAST(CAST($closed AS DATE) AS VARCHAR) || ', as on '
               || CAST(CAST($previous AS DATE) AS VARCHAR) AS expected,
           'no row' AS actual, NULL AS delta
    FROM missing AS m
    JOIN actuals AS a
        ON a.dataset = 'profit_and_loss' AND a.company_id = m.company_id
        AND a.basis = m.basis AND a.date = $previous
    UNION ALL
    SELECT m.company_id, 'profit_and_loss', NULL, CAST($closed AS DATE), m.basis, 'Date',
           'rows dated ' || CAST(CAST($closed AS DATE) AS VARCHAR), 'no rows', NULL
    FROM missing AS m
    WHERE NOT EXISTS (
        SELECT 1 FROM actuals AS a
        WHERE a.dataset = 'profit_and_loss' AND a.company_id = m.company_id
          AND a.basis = m.basis AND a.date = $previous)
    """,
    unit="basis",
    passed=(
        "Profit and Loss of {company} has actuals for the last closed month ({counted} checked)"
    ),
    failed=(
        "Profit and Loss of {company} has no actuals for the last closed month on some of "
        "{counted} (missing rows: {failures}); first {first}"
    ),
    missing=(
        "cannot check {company}: no Profit and Loss actuals request covers the last closed month"
    ),
)

# The newest month with Profit and Loss activity. Balance sheets are left out on purpose: a
# partner that stopped loading data may still serve balances carried forward to the last month.
_NEWEST_SQL = f"""
SELECT company_id, max(date) FROM profit_and_loss
WHERE snapshot_id = $snapshot_id AND {ACTUALS} AND date <= $last_month AND amount IS NOT NULL
GROUP BY company_id
"""


def _last_closed_month(context: CheckContext) -> list[Finding]:
    closed = last_closed_month(context.as_of, context.close_lag_days)
    parameters = {"closed": closed, "previous": _previous_month_end(closed)}
    findings = run_rule(LAST_CLOSED_MONTH, context, parameters)

    newest = dict(query(context.connection, _NEWEST_SQL, _base_parameters(context)))
    lag = f" with a close lag of {context.close_lag_days} days" if context.close_lag_days else ""
    dated = []
    for finding in findings:
        date = newest.get(finding.company_id)
        age = (
            f"newest Profit and Loss actuals dated {date.isoformat()}, "
            f"{counted((context.as_of - date).days, 'day')} before "
            f"as-of {context.as_of.isoformat()}"
            if date is not None
            else "no Profit and Loss actuals in the snapshot"
        )
        message = f"{finding.message} (last closed month {closed.isoformat()}{lag}; {age})"
        dated.append(dataclasses.replace(finding, message=message))
    return dated


# --- freshness.snapshot_age ----------------------------------------------------------------

SNAPSHOT_AGE = "freshness.snapshot_age"


def _snapshot_age(context: CheckContext) -> list[Finding]:
    info = snapshot_info(context.connection, context.snapshot_id)
    now = context.now or dt.datetime.now(dt.UTC)
    started = _as_utc(info.started_at)
    hours = (now - started).total_seconds() / 3600

    newest = query(
        context.connection,
        f"SELECT max(date) FROM profit_and_loss WHERE snapshot_id = $snapshot_id AND {ACTUALS} "
        "AND date <= $last_month AND amount IS NOT NULL",
        _base_parameters(context),
    )[0][0]
    data = (
        f"its newest Profit and Loss actuals are dated {newest.isoformat()}, "
        f"{counted((context.as_of - newest).days, 'day')} before as-of {context.as_of.isoformat()}"
        if newest is not None
        else "it has no Profit and Loss actuals"
    )
    message = (
        f"snapshot {context.snapshot_id} started {started.isoformat(timespec='seconds')}, "
        f"{hours:.1f} hours before the check at {now.isoformat(timespec='seconds')}; {data}"
    )
    outcome = Outcome.PASSED
    if hours > MAX_SNAPSHOT_AGE_HOURS or hours < -MAX_CLOCK_SKEW_HOURS:
        outcome = Outcome.WARNING
        message += f"; expected at most {MAX_SNAPSHOT_AGE_HOURS} hours"
    return [Finding(SNAPSHOT_AGE, Category.FRESHNESS, "user_info", outcome, message)]


def _as_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


# --- freshness.frozen_feed -----------------------------------------------------------------


def _snapshots_filter() -> str:
    return "list_contains($snapshot_ids, snapshot_id)"


_FROZEN_VERDICTS = f"""
WITH actuals AS ({actuals_sql(_snapshots_filter())}),
fetched AS ({fetched_sql(_snapshots_filter())}),
open_months AS ({MONTHS_SQL.replace("$first_month", "$open_first")}),
companies AS (
    SELECT DISTINCT company_id FROM fetched WHERE snapshot_id = $snapshot_id
),
cells AS (
    SELECT DISTINCT c.company_id, m.month_end, f.snapshot_id
    FROM companies AS c
    CROSS JOIN open_months AS m
    JOIN fetched AS f
        ON f.company_id = c.company_id AND m.month_end BETWEEN f.start_date AND f.end_date
),
signatures AS (
    SELECT
        c.company_id,
        c.month_end,
        c.snapshot_id,
        list(a.dataset || '|' || a.basis || '|' || a.account_id || '|' || CAST(a.amount AS VARCHAR)
             ORDER BY a.dataset, a.basis, a.account_id) FILTER (WHERE a.account_id IS NOT NULL)
            AS figures,
        count(a.account_id) AS rows
    FROM cells AS c
    LEFT JOIN actuals AS a
        ON a.snapshot_id = c.snapshot_id AND a.company_id = c.company_id
        AND a.date = c.month_end
    GROUP BY ALL
),
verdicts AS (
    SELECT company_id, month_end, count(DISTINCT coalesce(figures, [])) AS versions,
           max(rows) AS rows
    FROM signatures
    GROUP BY ALL
    HAVING count(DISTINCT snapshot_id) = $runs
)"""

FROZEN_FEED = Rule(
    check="freshness.frozen_feed",
    category=Category.FRESHNESS,
    datasets=("profit_and_loss",),
    checked_sql=(
        f"{_FROZEN_VERDICTS} SELECT company_id, 'profit_and_loss', count(*) FROM verdicts "
        "GROUP BY ALL"
    ),
    cases_sql=f"""{_FROZEN_VERDICTS}
    SELECT company_id, 'profit_and_loss' AS dataset, NULL AS account_id, month_end AS date,
           NULL AS basis, 'open-month actuals' AS field,
           'a change within ' || $runs || ' nightly snapshots' AS expected,
           'unchanged since the snapshot of as-of ' || CAST(CAST($oldest_as_of AS DATE) AS VARCHAR)
               || ' (' || rows || ' rows)' AS actual,
           NULL AS delta
    FROM verdicts
    WHERE versions = 1
    """,
    unit="open month",
    passed=(
        "open-month actuals of {company} changed within the last nightly snapshots "
        "({counted} checked)"
    ),
    failed="open-month actuals of {company} are frozen: {failures} of {counted}; first {first}",
    failing=Outcome.WARNING,
    missing="cannot check {company}: earlier snapshots did not fetch its open months",
)


def nightly_baselines(
    context: CheckContext, runs: int
) -> list[SnapshotInfo]:
    """Return up to ``runs - 1`` earlier complete snapshots, one per earlier as-of date.

    The newest snapshot of each as-of date stands for that night, newest night first.
    """
    current = snapshot_info(context.connection, context.snapshot_id)
    chosen: list[SnapshotInfo] = []
    for info in previous_snapshots(context.connection, context.snapshot_id):
        if info.as_of >= current.as_of or any(info.as_of == other.as_of for other in chosen):
            continue
        chosen.append(info)
        if len(chosen) == runs - 1:
            break
    return chosen


def _frozen_feed(context: CheckContext) -> list[Finding]:
    runs = context.frozen_feed_runs
    if runs < MIN_FROZEN_FEED_RUNS:
        raise CheckRunError(
            f"frozen_feed_runs must be at least {MIN_FROZEN_FEED_RUNS}, got {runs!r}"
        )
    closed = last_closed_month(context.as_of, context.close_lag_days)
    if closed >= context.last_month:
        reason = (
            f"no open month: with a close lag of {context.close_lag_days} days the last closed "
            f"month {closed.isoformat()} is the last fetched month; set a close lag in days "
            "(--close-lag-days) to watch the month that is still being closed"
        )
        return [not_evaluated(FROZEN_FEED, "profit_and_loss", None, reason)]

    baselines = nightly_baselines(context, runs)
    if len(baselines) < runs - 1:
        reason = (
            f"a frozen feed needs {runs - 1} earlier complete snapshots of this partner on "
            f"earlier as-of dates, found {len(baselines)}"
        )
        return [not_evaluated(FROZEN_FEED, "profit_and_loss", None, reason)]

    parameters = {
        "snapshot_ids": [context.snapshot_id, *(info.snapshot_id for info in baselines)],
        "open_first": closed + dt.timedelta(days=1),
        "runs": runs,
        "oldest_as_of": baselines[-1].as_of,
    }
    return run_rule(FROZEN_FEED, context, parameters)



# --- freshness.restatements ----------------------------------------------------------------

_RESTATED_FIGURES = f"""
WITH actuals AS MATERIALIZED ({actuals_sql(_snapshots_filter())}),
fetched AS ({fetched_sql(_snapshots_filter())}),
windows AS (
    SELECT c.company_id, c.dataset, c.basis,
           greatest(c.start_date, b.start_date) AS first_day,
           least(c.end_date, b.end_date, CAST($closed AS DATE)) AS last_day
    FROM fetched AS c
    JOIN fetched AS b ON b.company_id = c.company_id AND b.dataset = c.dataset AND b.basis = c.basis
    WHERE c.snapshot_id = $snapshot_id AND b.snapshot_id = $baseline_id
),
current_figures AS (SELECT * FROM actuals WHERE snapshot_id = $snapshot_id),
baseline_figures AS (SELECT * FROM actuals WHERE snapshot_id = $baseline_id),
pairs AS (
    SELECT
        coalesce(c.company_id, b.company_id) AS company_id,
        coalesce(c.dataset, b.dataset) AS dataset,
        coalesce(c.basis, b.basis) AS basis,
        coalesce(c.account_id, b.account_id) AS account_id,
        coalesce(c.date, b.date) AS date,
        coalesce(c.amount, 0) AS actual,
        coalesce(b.amount, 0) AS expected
    FROM current_figures AS c
    FULL OUTER JOIN baseline_figures AS b
        ON b.company_id = c.company_id AND b.dataset = c.dataset AND b.basis = c.basis
        AND b.account_id = c.account_id AND b.date = c.date
),
figures AS (
    SELECT p.* FROM pairs AS p
    JOIN windows AS w USING (company_id, dataset, basis)
    WHERE p.date BETWEEN w.first_day AND w.last_day
)"""

RESTATEMENTS = Rule(
    check="freshness.restatements",
    category=Category.FRESHNESS,
    datasets=STATEMENT_DATASETS,
    checked_sql=(
        f"{_RESTATED_FIGURES} SELECT company_id, dataset, count(*) FROM figures GROUP BY ALL"
    ),
    cases_sql=f"""{_RESTATED_FIGURES}
    SELECT company_id, dataset, account_id, date, basis, 'Amount' AS field,
           expected, actual, actual - expected AS delta
    FROM figures
    WHERE actual <> expected
    """,
    unit="closed-month figure",
    passed="closed months of {dataset} of {company} are unchanged ({counted} checked)",
    failed=(
        "closed months of {dataset} of {company} were restated: {failures} of {counted} "
        "(expected: the earlier snapshot, actual: this one); first {first}"
    ),
    failing=Outcome.WARNING,
    missing="cannot check {company}: no closed month of {dataset} was fetched by both snapshots",
)


def _restatements(context: CheckContext) -> list[Finding]:
    baseline = last_good_snapshot(context.connection, context.snapshot_id)
    if baseline is None:
        reason = (
            "no earlier complete snapshot of this partner in the warehouse to compare closed "
            "months with"
        )
        return [not_evaluated(RESTATEMENTS, "profit_and_loss", None, reason)]

    closed = min(
        last_closed_month(context.as_of, context.close_lag_days),
        last_closed_month(baseline.as_of, context.close_lag_days),
    )
    parameters = {
        "snapshot_ids": [context.snapshot_id, baseline.snapshot_id],
        "baseline_id": baseline.snapshot_id,
        "closed": closed,
    }
    findings = run_rule(RESTATEMENTS, context, parameters)
    suffix = (
        f" (compared with snapshot {baseline.snapshot_id} of as-of {baseline.as_of.isoformat()})"
    )
    return [dataclasses.replace(finding, message=finding.message + suffix) for finding in findings]


def _base_parameters(context: CheckContext) -> dict[str, object]:
    return {
        "snapshot_id": context.snapshot_id,
        "first_month": context.first_month,
        "last_month": context.last_month,
    }


def freshness_checks() -> list[Check]:
    """Return the freshness checks: last closed month, snapshot age, frozen feed, restatements."""
    return [
        Check(
            LAST_CLOSED_MONTH.check, Category.FRESHNESS, ("profit_and_loss",), _last_closed_month
        ),
        Check(SNAPSHOT_AGE, Category.FRESHNESS, ("user_info",), _snapshot_age),
        Check(FROZEN_FEED.check, Category.FRESHNESS, ("profit_and_loss",), _frozen_feed),
        Check(RESTATEMENTS.check, Category.FRESHNESS, STATEMENT_DATASETS, _restatements),
    ]
