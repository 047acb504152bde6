"""The floor of the validate stage: one DuckDB query over the snapshot's typed tables.

The query computes, in one statement, what the row-scanning checks compute over the three
statement tables, where nearly every row of a snapshot is:

- the GX expectations of the statement suites: account_id, date and amount not null, basis in
  ACCRUAL or CASH, the row key (company, basis, budget, class, department, account, date) unique;
- the Pandera rules on the same rows: non-empty company and account ids, dates on month ends;
- the chart of accounts rules that the identities rely on: a known AccountType, a known
  CashFlowCategory, no category on profit-and-loss accounts, one row per account;
- both accounting identities per company, basis and checked month, in DECIMAL arithmetic.

It is a floor, not a replacement: it skips the JSON-schema check of raw bodies, the failure
cases and messages, and the identities here assume every month of the range has rows (the real
check counts a missing month as zero and says why a company could not be checked).
"""

from __future__ import annotations

import datetime as dt
import resource
import time
from pathlib import Path
from typing import Any

import duckdb

FLOOR_SQL = """
WITH statement_rows AS (
    SELECT 'balance_sheet' AS statement, company_id, basis, budget_id, class_id, department_id,
           account_id, date, amount
    FROM balance_sheet WHERE snapshot_id = $snapshot_id
    UNION ALL
    SELECT 'profit_and_loss', company_id, basis, budget_id, class_id, department_id,
           account_id, date, amount
    FROM profit_and_loss WHERE snapshot_id = $snapshot_id
    UNION ALL
    SELECT 'cash_flow', company_id, basis, budget_id, class_id, department_id,
           account_id, date, amount
    FROM cash_flow WHERE snapshot_id = $snapshot_id
),
accounts AS (
    SELECT company_id, account_id, count(*) AS copies,
           any_value(account_type) AS account_type,
           bool_or(cash_flow_category = 'CASH') AS is_cash,
           count(*) FILTER (
               WHERE account_type IS NULL OR account_type NOT IN ('ASSET', 'LIABILITY', 'EQUITY',
                   'REVENUE', 'COST_OF_SALES', 'EXPENSE', 'OTHER_INCOME', 'OTHER_EXPENSE')
                  OR (cash_flow_category IS NOT NULL
                      AND cash_flow_category NOT IN
                          ('CASH', 'OPERATING', 'INVESTING', 'FINANCING'))
                  OR (cash_flow_category IS NOT NULL
                      AND account_type NOT IN ('ASSET', 'LIABILITY', 'EQUITY'))
           ) AS invalid
    FROM chart_of_accounts WHERE snapshot_id = $snapshot_id
    GROUP BY company_id, account_id
),
keyed AS (
    SELECT statement, company_id, basis, budget_id, class_id, department_id, account_id, date,
           count(*) AS copies,
           count(*) FILTER (WHERE account_id IS NULL OR date IS NULL OR amount IS NULL) AS nulls,
           count(*) FILTER (WHERE basis IS NULL OR basis NOT IN ('ACCRUAL', 'CASH')) AS bad_basis,
           count(*) FILTER (WHERE company_id IS NULL OR company_id = '' OR account_id = '')
               AS empty_ids,
           count(*) FILTER (WHERE date <> last_day(date)) AS not_month_end
    FROM statement_rows
    GROUP BY ALL
),
monthly AS (
    SELECT r.company_id, r.basis, r.date,
           coalesce(sum(CASE
               WHEN r.statement = 'balance_sheet' AND a.account_type = 'ASSET' THEN r.amount
               WHEN r.statement = 'balance_sheet' AND a.account_type IN ('LIABILITY', 'EQUITY')
                   THEN -r.amount END), 0) AS balance,
           coalesce(sum(CASE
               WHEN r.statement = 'profit_and_loss' AND a.account_type IN ('REVENUE', 'OTHER_INCOME')
                   THEN r.amount
               WHEN r.statement = 'profit_and_loss'
                    AND a.account_type IN ('COST_OF_SALES', 'EXPENSE', 'OTHER_EXPENSE')
                   THEN -r.amount END), 0) AS net_income,
           coalesce(sum(r.amount) FILTER (WHERE r.statement = 'cash_flow'), 0) AS cash_flow,
           coalesce(sum(r.amount) FILTER (WHERE r.statement = 'balance_sheet' AND a.is_cash), 0)
               AS cash
    FROM statement_rows AS r
    LEFT JOIN accounts AS a USING (company_id, account_id)
    WHERE r.budget_id IS NULL AND r.class_id IS NULL AND r.department_id IS NULL
    GROUP BY ALL
),
identities AS (
    SELECT m.company_id, m.basis, m.date, m.balance,
           m.net_income + m.cash_flow AS cash_effect,
           sum(m.net_income) OVER (
               PARTITION BY m.company_id, m.basis,
                   year(m.date) + CAST(month(m.date) > c.fiscal_month_end AS INTEGER)
               ORDER BY m.date) AS year_to_date,
           m.cash - lag(m.cash) OVER (PARTITION BY m.company_id, m.basis ORDER BY m.date)
               AS cash_change
    FROM monthly AS m
    JOIN company AS c ON c.snapshot_id = $snapshot_id AND c.company_id = m.company_id
)
SELECT
    (SELECT sum(copies) FROM keyed) AS statement_rows,
    (SELECT sum(nulls) FROM keyed) AS null_values,
    (SELECT sum(bad_basis) FROM keyed) AS invalid_basis,
    (SELECT sum(empty_ids) FROM keyed) AS empty_ids,
    (SELECT sum(not_month_end) FROM keyed) AS dates_not_month_end,
    (SELECT coalesce(sum(copies - 1), 0) FROM keyed WHERE copies > 1) AS duplicate_rows,
    (SELECT coalesce(sum(invalid), 0) + coalesce(sum(copies - 1), 0) FROM accounts)
        AS invalid_accounts,
    (SELECT count(*) FROM identities WHERE date BETWEEN $first_month AND $last_month)
        AS month_bases,
    (SELECT count(*) FROM identities
     WHERE date BETWEEN $first_month AND $last_month AND balance <> year_to_date)
        AS balance_sheet_failures,
    (SELECT count(*) FROM identities
     WHERE date BETWEEN $first_month AND $last_month AND cash_effect <> cash_change)
        AS cash_flow_failures
"""


def run_floor(
    warehouse: Path, snapshot_id: str, *, first_month: dt.date, last_month: dt.date
) -> dict[str, Any]:
    """Run the floor query on a warehouse file. Return its counts, seconds and CPU seconds."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        connection.execute("SET enable_progress_bar = false")
        started, cpu_started = time.perf_counter(), process_cpu_seconds()
        cursor = connection.execute(
            FLOOR_SQL,
            {"snapshot_id": snapshot_id, "first_month": first_month, "last_month": last_month},
        )
        row = cursor.fetchone()
        seconds = time.perf_counter() - started
        cpu_seconds = process_cpu_seconds() - cpu_started
        names = [column[0] for column in cursor.description]
    assert row is not None  # an aggregate query returns one row
    counts = {name: int(value or 0) for name, value in zip(names, row, strict=True)}
    return {**counts, "query_seconds": seconds, "cpu_seconds": cpu_seconds}


def process_cpu_seconds() -> float:
    """Return the user and system CPU time of this process so far, all its threads counted."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
