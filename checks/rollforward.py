"""Roll-forward of each balance-sheet account: its change in a month must be explained.

The two accounting identities compare whole statements, so they name the company, month and
basis that is off but not the account. These checks compare one account at a time, over the
actuals of each month of the requested range and each basis whose balance sheet was fetched:

- ``accuracy.cash_flow_by_account``: an account whose CashFlowCategory is OPERATING, INVESTING
  or FINANCING appears on the cash flow with its month's change in balance, signed as cash:
  minus the change for an ASSET, the change itself for a LIABILITY or EQUITY account.
- ``accuracy.year_end_close``: the balance-sheet accounts without CashFlowCategory (the
  retained-earnings account of the contract) change only in the first month of a fiscal year,
  and then together by the net income of the fiscal year that just ended. That sum is checked
  only when the fetched Profit and Loss covers the whole previous fiscal year.

A missing statement row counts as zero. The tolerance is zero by default and at most one cent
per summed statement row, as for the identities.
"""

from __future__ import annotations

import functools
from decimal import Decimal

from checks.rules import (
    ACCOUNTS_SQL,
    ACTUALS,
    FISCAL_SQL,
    MONTHS_SQL,
    Rule,
    fetched_sql,
    fiscal_year_start_sql,
    run_rule,
    sql_list,
    validated_tolerance,
)
from reach_dq.datasets import BALANCE_SHEET_TYPES, INCOME_TYPES, PROFIT_AND_LOSS_TYPES
from reach_dq.findings import Category, Finding
from reach_dq.runner import Check, CheckContext

ROLLFORWARD_TOLERANCE_PER_LINE = Decimal("0.00")

_BALANCE_SHEET = sql_list(BALANCE_SHEET_TYPES)
_INCOME = sql_list(INCOME_TYPES)
_COSTS = sql_list([kind for kind in PROFIT_AND_LOSS_TYPES if kind not in INCOME_TYPES])
_SECTIONS = sql_list(("OPERATING", "INVESTING", "FINANCING"))

_STATEMENT_ROWS = f"""
    SELECT company_id, basis, account_id, date, amount FROM {{table}}
    WHERE snapshot_id = $snapshot_id AND {ACTUALS} AND company_id IS NOT NULL
      AND account_id IS NOT NULL AND date IS NOT NULL AND basis IS NOT NULL
      AND amount IS NOT NULL"""

# Each balance-sheet row counts twice: as the closing balance of its month (plus) and as the
# opening balance of the next month (minus). Summed per account and month, these give the
# change in balance without a join per month.
_BALANCE_CHANGES = f"""
    SELECT company_id, basis, account_id, date AS month_end, amount AS change
    FROM ({_STATEMENT_ROWS.format(table="balance_sheet")})
    UNION ALL
    SELECT company_id, basis, account_id, CAST(last_day(date + INTERVAL 1 MONTH) AS DATE),
           -amount
    FROM ({_STATEMENT_ROWS.format(table="balance_sheet")})"""

_COMMON = f"""
accounts AS MATERIALIZED ({ACCOUNTS_SQL}),
fetched AS MATERIALIZED ({fetched_sql()}),
months AS ({MONTHS_SQL})"""

# One row per tracked account, month and basis where the account's opening balance, closing
# balance or cash flow row is not missing. ``expected`` is the change in balance as cash.
_CASH_FLOW_FIGURES = f"""
WITH {_COMMON},
tracked AS (
    SELECT company_id, account_id, account_type FROM accounts
    WHERE account_type IN ({_BALANCE_SHEET}) AND cash_flow_category IN ({_SECTIONS})
),
bases AS (
    SELECT b.company_id, b.basis FROM fetched AS b
    JOIN fetched AS f ON f.company_id = b.company_id AND f.basis = b.basis
    WHERE b.dataset = 'balance_sheet' AND f.dataset = 'cash_flow'
),
movements AS (
    SELECT company_id, basis, account_id, month_end, change, NULL AS flow
    FROM ({_BALANCE_CHANGES})
    UNION ALL
    SELECT company_id, basis, account_id, date, NULL, amount
    FROM ({_STATEMENT_ROWS.format(table="cash_flow")})
),
figures AS (
    SELECT
        m.company_id,
        m.basis,
        m.account_id,
        m.month_end,
        CASE WHEN t.account_type = 'ASSET' THEN -1 ELSE 1 END * coalesce(sum(m.change), 0)
            AS expected,
        coalesce(sum(m.flow), 0) AS actual,
        count(*) AS lines
    FROM movements AS m
    JOIN tracked AS t USING (company_id, account_id)
    JOIN bases USING (company_id, basis)
    WHERE m.month_end BETWEEN $first_month AND $last_month
    GROUP BY m.company_id, m.basis, m.account_id, m.month_end, t.account_type
)"""

CASH_FLOW_BY_ACCOUNT = Rule(
    check="accuracy.cash_flow_by_account",
    category=Category.ACCURACY,
    datasets=("cash_flow",),
    figures_sql=f"{_CASH_FLOW_FIGURES} SELECT * FROM figures",
    checked_sql="SELECT company_id, 'cash_flow', count(*) FROM {figures} GROUP BY company_id",
    cases_sql="""
    SELECT company_id, 'cash_flow' AS dataset, account_id, month_end AS date, basis,
           'Amount' AS field, expected, actual, actual - expected AS delta
    FROM {figures}
    WHERE abs(actual - expected) > $tolerance * lines
    """,
    unit="account-month",
    passed=(
        "cash flow of {company} shows the change in balance of every account "
        "({counted} checked)"
    ),
    failed=(
        "cash flow of {company} does not show the change in balance: {failures} of "
        "{counted}; first {first}"
    ),
    missing=(
        "cannot check {company}: no balance sheet and cash flow actuals of an account with an "
        "OPERATING, INVESTING or FINANCING CashFlowCategory in the requested range"
    ),
)

# Per evaluated month and basis of a company with a fiscal year: the first day of its fiscal
# year and the first month of its fetched Profit and Loss.
_CLOSE_FIGURES = f"""
WITH {_COMMON},
fiscal AS ({FISCAL_SQL}),
closing_accounts AS (
    SELECT company_id, account_id, account_type FROM accounts
    WHERE account_type IN ({_BALANCE_SHEET}) AND cash_flow_category IS NULL
),
evaluated AS MATERIALIZED (
    SELECT
        b.company_id,
        b.basis,
        m.month_end,
        {fiscal_year_start_sql("m.month_end", "f.fiscal_month_end")} AS year_start,
        p.start_date AS profit_and_loss_start
    FROM fetched AS b
    JOIN fiscal AS f ON f.company_id = b.company_id
    CROSS JOIN months AS m
    LEFT JOIN fetched AS p
        ON p.company_id = b.company_id AND p.basis = b.basis AND p.dataset = 'profit_and_loss'
    WHERE b.dataset = 'balance_sheet'
),
-- Summed per account and month before the join with the evaluated months, which then joins
-- one row per account-month instead of two.
changes AS MATERIALIZED (
    SELECT
        c.company_id,
        c.basis,
        c.month_end,
        e.year_start,
        c.account_id,
        CASE WHEN c.account_type = 'ASSET' THEN -1 ELSE 1 END * c.change AS change,
        c.lines
    FROM (
        SELECT m.company_id, m.basis, m.account_id, a.account_type, m.month_end,
               sum(m.change) AS change, count(*) AS lines
        FROM ({_BALANCE_CHANGES}) AS m
        JOIN closing_accounts AS a USING (company_id, account_id)
        WHERE m.month_end BETWEEN $first_month AND $last_month
        GROUP BY ALL
    ) AS c
    JOIN evaluated AS e USING (company_id, basis, month_end)
),
monthly_net_income AS (
    SELECT p.company_id, p.basis, p.date,
           sum(CASE WHEN a.account_type IN ({_INCOME}) THEN p.amount ELSE -p.amount END)
               AS net_income
    FROM ({_STATEMENT_ROWS.format(table="profit_and_loss")}) AS p
    JOIN accounts AS a USING (company_id, account_id)
    WHERE a.account_type IN ({_INCOME}, {_COSTS})
    GROUP BY ALL
),
single_closing_account AS (
    SELECT company_id, CASE WHEN count(*) = 1 THEN min(account_id) END AS account_id
    FROM closing_accounts GROUP BY company_id
),
-- The change of all closing accounts together in each first month of a fiscal year.
year_start_changes AS (
    SELECT company_id, basis, month_end, sum(change) AS change, sum(lines) AS lines
    FROM changes
    WHERE date_trunc('month', month_end) = year_start
    GROUP BY ALL
),
closes AS (
    SELECT
        e.company_id,
        e.basis,
        e.month_end,
        s.account_id,
        c.change,
        c.lines,
        (SELECT sum(n.net_income) FROM monthly_net_income AS n
         WHERE n.company_id = e.company_id AND n.basis = e.basis
           AND n.date BETWEEN CAST(e.month_end - INTERVAL 12 MONTH AS DATE) AND e.month_end
           AND n.date < e.year_start) AS net_income
    FROM evaluated AS e
    LEFT JOIN single_closing_account AS s ON s.company_id = e.company_id
    LEFT JOIN year_start_changes AS c
        ON c.company_id = e.company_id AND c.basis = e.basis AND c.month_end = e.month_end
    WHERE date_trunc('month', e.month_end) = e.year_start
      AND e.profit_and_loss_start <= CAST(e.year_start - INTERVAL 12 MONTH AS DATE)
)"""

YEAR_END_CLOSE = Rule(
    check="accuracy.year_end_close",
    category=Category.ACCURACY,
    datasets=("balance_sheet",),
    checked_sql=(
        f"{_CLOSE_FIGURES} SELECT company_id, 'balance_sheet', count(*) FROM evaluated "
        "GROUP BY company_id"
    ),
    cases_sql=f"""{_CLOSE_FIGURES}
    SELECT company_id, 'balance_sheet' AS dataset, account_id, month_end AS date, basis,
           'change in balance outside the first month of a fiscal year' AS field,
           CAST(0 AS DECIMAL(38, 10)) AS expected, change AS actual, change AS delta
    FROM changes
    WHERE date_trunc('month', month_end) <> year_start AND abs(change) > $tolerance * lines
    UNION ALL
    SELECT company_id, 'balance_sheet', account_id, month_end, basis,
           'year-end close: change in balance by the net income of the previous fiscal year',
           coalesce(net_income, 0), coalesce(change, 0),
           coalesce(change, 0) - coalesce(net_income, 0)
    FROM closes
    WHERE abs(coalesce(change, 0) - coalesce(net_income, 0)) > $tolerance * coalesce(lines, 0)
    """,
    unit="month-basis",
    passed=(
        "balance-sheet accounts of {company} without CashFlowCategory change only by the "
        "year-end close ({counted} checked)"
    ),
    failed=(
        "balance-sheet accounts of {company} without CashFlowCategory change outside the "
        "year-end close: {failures} cases in {counted}; first {first}"
    ),
    missing=(
        "cannot check {company}: it needs one FiscalMonthEnd from 1 to 12 and balance sheet "
        "actuals in the requested range"
    ),
)


def rollforward_checks(
    *, tolerance_per_line: Decimal = ROLLFORWARD_TOLERANCE_PER_LINE
) -> list[Check]:
    """Return both roll-forward checks, comparing within ``tolerance_per_line`` per summed row.

    Raises ConfigError unless ``tolerance_per_line`` is a Decimal from 0.00 to 0.01.
    """
    tolerance = validated_tolerance(tolerance_per_line)
    return [
        Check(rule.check, rule.category, rule.datasets, functools.partial(_run, rule, tolerance))
        for rule in (CASH_FLOW_BY_ACCOUNT, YEAR_END_CLOSE)
    ]


def _run(rule: Rule, tolerance: Decimal, context: CheckContext) -> list[Finding]:
    return run_rule(rule, context, {"tolerance": tolerance})
