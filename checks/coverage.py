"""Coverage of the requested range: every month is present and no row falls outside its request.

- ``accuracy.months_present``: each month end of the requested range has actuals rows, for
  each statement and basis whose unfiltered request returned 2xx. A balance sheet without rows
  for a month is a failure, because balances carry forward and a company with any balance has
  rows every month. A Profit and Loss or Cash Flow month without rows is a warning: the
  contract lets a month without activity have no rows, but a whole month without any activity
  is rare enough to look at.
- ``accuracy.dates_in_range``: every statement row and non-financial value is dated inside the
  StartDate..EndDate of the request that returned it.

That each date is a month end is checked by the Pandera schemas (``pandera.<dataset>``).
"""

from __future__ import annotations

import functools

from checks.rules import ACTUALS, MONTHS_SQL, STATEMENTS, Rule, fetched_sql, run_rule
from reach_dq.findings import Category, Finding, Outcome
from reach_dq.runner import Check, CheckContext

_PRESENT = " UNION ALL ".join(
    f"SELECT DISTINCT company_id, '{name}' AS dataset, basis, date FROM {name} "
    f"WHERE snapshot_id = $snapshot_id AND {ACTUALS} AND date BETWEEN $first_month AND $last_month"
    for name in STATEMENTS
)
_EXPECTED_MONTHS = f"""
WITH fetched AS ({fetched_sql()}),
present AS ({_PRESENT}),
months AS ({MONTHS_SQL}),
expected_months AS (
    SELECT f.company_id, f.dataset, f.basis, m.month_end
    FROM fetched AS f CROSS JOIN months AS m
)"""

MONTHS_PRESENT = Rule(
    check="accuracy.months_present",
    category=Category.ACCURACY,
    datasets=STATEMENTS,
    checked_sql=(
        f"{_EXPECTED_MONTHS} SELECT company_id, dataset, count(*) FROM expected_months "
        "GROUP BY company_id, dataset"
    ),
    cases_sql=f"""{_EXPECTED_MONTHS}
    SELECT e.company_id, e.dataset, NULL AS account_id, e.month_end AS date, e.basis,
           'Date' AS field, 'rows dated ' || CAST(e.month_end AS VARCHAR) AS expected,
           'no rows' AS actual, NULL AS delta
    FROM expected_months AS e
    WHERE NOT EXISTS (
        SELECT 1 FROM present AS a
        WHERE a.company_id = e.company_id AND a.dataset = e.dataset AND a.basis = e.basis
          AND a.date = e.month_end)
    """,
    unit="month-basis",
    passed=(
        "{dataset} of {company} has actuals rows in every month of the requested range "
        "({counted} checked)"
    ),
    failed=(
        "{dataset} of {company}: month-bases without actuals rows: {failures} of {counted}; "
        "first {first}"
    ),
    failing_by_dataset={"profit_and_loss": Outcome.WARNING, "cash_flow": Outcome.WARNING},
    missing="cannot check {company}: no {dataset} actuals request returned 2xx",
)

_DATED = (*STATEMENTS, "non_financial_values")


def _rows_with_request(dataset: str) -> str:
    return f"""
    FROM {dataset} AS r
    JOIN http_exchanges AS e ON e.snapshot_id = r.snapshot_id AND e.exchange_id = r.exchange_id
    WHERE r.snapshot_id = $snapshot_id AND r.date IS NOT NULL AND e.start_date IS NOT NULL
      AND e.end_date IS NOT NULL"""


def _out_of_range_cases(dataset: str) -> str:
    statement = dataset in STATEMENTS
    account = "r.account_id" if statement else "NULL"
    basis = "r.basis" if statement else "NULL"
    field = "'Date'" if statement else "'Date of ' || coalesce(r.non_financial_id, 'null')"
    return f"""
    SELECT r.company_id, '{dataset}' AS dataset, {account} AS account_id, r.date, {basis} AS basis,
           {field} AS field,
           'from ' || CAST(e.start_date AS VARCHAR) || ' to ' || CAST(e.end_date AS VARCHAR)
               || ', the StartDate and EndDate of its request' AS expected,
           CAST(r.date AS VARCHAR) AS actual, NULL AS delta
    {_rows_with_request(dataset)} AND (r.date < e.start_date OR r.date > e.end_date)"""


DATES_IN_RANGE = Rule(
    check="accuracy.dates_in_range",
    category=Category.ACCURACY,
    datasets=_DATED,
    checked_sql=" UNION ALL ".join(
        f"SELECT r.company_id, '{name}', count(*) {_rows_with_request(name)} GROUP BY r.company_id"
        for name in _DATED
    ),
    cases_sql=" UNION ALL ".join(_out_of_range_cases(name) for name in _DATED),
    unit="row",
    passed=(
        "{dataset} of {company}: every row is dated inside its request's range "
        "({counted} checked)"
    ),
    failed=(
        "{dataset} of {company}: rows dated outside their request's range: {failures} of "
        "{counted}; first {first}"
    ),
)


def coverage_checks() -> list[Check]:
    """Return the checks that every requested month is present and no date is out of range."""
    return [
        Check(rule.check, rule.category, rule.datasets, functools.partial(_run, rule))
        for rule in (MONTHS_PRESENT, DATES_IN_RANGE)
    ]


def _run(rule: Rule, context: CheckContext) -> list[Finding]:
    return run_rule(rule, context)
