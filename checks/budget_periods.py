"""Budget figures fall inside the budget's period.

``accuracy.budget_periods`` reads every budget Profit and Loss row and every budget
non-financial value of the snapshot, and fails each one whose month does not overlap the
StartDate..EndDate that the budget list gives for that BudgetId. A budget listed twice with
different periods counts as the span of both; the schema checks report the duplicate.
"""

from __future__ import annotations

from checks.rules import Rule, run_rule
from reach_dq.findings import Category, Finding
from reach_dq.runner import Check, CheckContext

CHECK = "accuracy.budget_periods"

_BUDGET_ROWS = """
WITH periods AS (
    SELECT company_id, budget_id, min(start_date) AS start_date, max(end_date) AS end_date
    FROM budgets
    WHERE snapshot_id = $snapshot_id AND budget_id IS NOT NULL
      AND start_date IS NOT NULL AND end_date IS NOT NULL
    GROUP BY ALL
),
budget_rows AS (
    SELECT company_id, budget_id, account_id, date, basis, 'Date' AS field
    FROM profit_and_loss
    WHERE snapshot_id = $snapshot_id AND budget_id IS NOT NULL AND date IS NOT NULL
    UNION ALL
    SELECT company_id, budget_id, NULL, date, NULL, 'Date of ' || coalesce(non_financial_id, 'null')
    FROM non_financial_values
    WHERE snapshot_id = $snapshot_id AND budget_id IS NOT NULL AND date IS NOT NULL
),
checked AS (
    SELECT r.*, p.start_date, p.end_date
    FROM budget_rows AS r
    JOIN periods AS p USING (company_id, budget_id)
)"""

BUDGET_PERIODS = Rule(
    check=CHECK,
    category=Category.ACCURACY,
    datasets=("budgets",),
    checked_sql=f"{_BUDGET_ROWS} SELECT company_id, 'budgets', count(*) FROM checked GROUP BY ALL",
    cases_sql=f"""{_BUDGET_ROWS}
    SELECT company_id, 'budgets' AS dataset, account_id, date, basis, field,
           'inside the period of budget ' || budget_id || ', '
               || CAST(start_date AS VARCHAR) || ' to ' || CAST(end_date AS VARCHAR) AS expected,
           CAST(date AS VARCHAR) AS actual, NULL AS delta
    FROM checked
    WHERE date < start_date OR CAST(date_trunc('month', date) AS DATE) > end_date
    """,
    unit="budget row",
    passed="budget figures of {company} fall inside their budget's period ({counted} checked)",
    failed=(
        "budget figures of {company} outside their budget's period: {failures} of {counted}; "
        "first {first}"
    ),
    missing="cannot check {company}: the snapshot has no budget rows of a listed budget",
)


def budget_period_checks() -> list[Check]:
    """Return the check that budget rows fall inside their budget's period."""
    return [Check(CHECK, Category.ACCURACY, ("budgets",), _run)]


def _run(context: CheckContext) -> list[Finding]:
    return run_rule(BUDGET_PERIODS, context)
