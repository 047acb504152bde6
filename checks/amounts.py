"""Money amounts have at most two decimal places.

``accuracy.amount_decimals`` warns for each statement Amount, and each non-financial Value of
a metric whose Unit is CURRENCY, that has a third decimal place or more. It is a warning and not
a failure because the books still add up; a report that shows cents will round such a figure.

Finite values need no check here: JSON has no NaN or Infinity, the loader stores a body that
uses them as NULL, and the formatting and schema checks report that. The warehouse keeps ten
decimal places, so an amount with more becomes NULL as well and is reported the same way.
"""

from __future__ import annotations

from checks.rules import STATEMENTS, Rule, run_rule
from reach_dq.findings import Category, Finding, Outcome
from reach_dq.runner import Check, CheckContext

CHECK = "accuracy.amount_decimals"
MONEY_DECIMALS = 2

_DATASETS = (*STATEMENTS, "non_financial_values")


def _money_rows(dataset: str) -> str:
    if dataset in STATEMENTS:
        return f"""
        SELECT company_id, '{dataset}' AS dataset, account_id, date, basis,
               'Amount' AS field, amount AS value
        FROM {dataset}
        WHERE snapshot_id = $snapshot_id AND amount IS NOT NULL"""
    return """
        SELECT v.company_id, 'non_financial_values', NULL, v.date, NULL,
               'Value of ' || v.non_financial_id, v.value
        FROM non_financial_values AS v
        JOIN non_financial_metrics AS m
            ON m.snapshot_id = v.snapshot_id AND m.company_id = v.company_id
            AND m.non_financial_id = v.non_financial_id
        WHERE v.snapshot_id = $snapshot_id AND v.value IS NOT NULL AND m.unit = 'CURRENCY'"""


_MONEY = "WITH money AS (" + " UNION ALL ".join(_money_rows(name) for name in _DATASETS) + ")"

AMOUNT_DECIMALS = Rule(
    check=CHECK,
    category=Category.ACCURACY,
    datasets=_DATASETS,
    checked_sql=f"{_MONEY} SELECT company_id, dataset, count(*) FROM money GROUP BY ALL",
    cases_sql=f"""{_MONEY}
    SELECT company_id, dataset, account_id, date, basis, field,
           'at most {MONEY_DECIMALS} decimal places' AS expected, value AS actual, NULL AS delta
    FROM money
    WHERE value <> round(value, {MONEY_DECIMALS})
    """,
    unit="amount",
    passed=(
        "{dataset} of {company}: every amount has at most two decimal places ({counted} checked)"
    ),
    failed=(
        "{dataset} of {company}: amounts with more than two decimal places: {failures} of "
        "{counted}; first {first}"
    ),
    failing=Outcome.WARNING,
)


def amount_checks() -> list[Check]:
    """Return the check that money amounts have at most two decimal places."""
    return [Check(CHECK, Category.ACCURACY, _DATASETS, _run)]


def _run(context: CheckContext) -> list[Finding]:
    return run_rule(AMOUNT_DECIMALS, context)
