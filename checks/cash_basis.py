"""On the CASH basis, receivable and payable balances are zero.

Receivables and payables exist only through accruals: cash-basis books record revenue and costs
when the cash moves. The contract marks no account as a receivable or payable, so the check
chooses them by one documented rule:

- by default, the balance-sheet accounts whose AccountName contains "account receivable",
  "accounts receivable", "account payable", "accounts payable", "trade receivable",
  "trade payable", "trade debtor" or "trade creditor", compared without case. Tax, wage and
  other payables are left out on purpose, because cash-basis books keep those liabilities;
- with ``accrual_accounts`` (``--accrual-account``), exactly the named AccountIds instead.

``accuracy.cash_basis_accruals`` then reads the unfiltered CASH-basis balance sheet of every
month of the requested range and reports each such account with a balance other than zero.
"""

from __future__ import annotations

from checks.rules import (
    ACCOUNTS_SQL,
    MONTHS_SQL,
    Rule,
    actuals_sql,
    fetched_sql,
    run_rule,
    sql_list,
)
from reach_dq.datasets import BALANCE_SHEET_TYPES
from reach_dq.findings import Category, Finding
from reach_dq.runner import Check, CheckContext

CHECK = "accuracy.cash_basis_accruals"
ACCRUAL_NAME_PATTERN = "accounts? (receivable|payable)|trade (receivable|payable|debtor|creditor)"
NAME_RULE = (
    "balance-sheet accounts whose AccountName contains accounts receivable, accounts payable, "
    "trade receivable, trade payable, trade debtor or trade creditor"
)
NAMED_RULE = "the accounts named by --accrual-account"

_BALANCE_SHEET = sql_list(BALANCE_SHEET_TYPES)


def _figures(selection: str) -> str:
    return f"""
    WITH accounts AS ({ACCOUNTS_SQL}),
    actuals AS ({actuals_sql()}),
    fetched AS ({fetched_sql()}),
    months AS ({MONTHS_SQL}),
    accrual_only AS (
        SELECT company_id, account_id FROM accounts
        WHERE account_type IN ({_BALANCE_SHEET}) AND {selection}
    ),
    cash_months AS (
        SELECT f.company_id, m.month_end FROM fetched AS f CROSS JOIN months AS m
        WHERE f.dataset = 'balance_sheet' AND f.basis = 'CASH'
    )"""


def _rule(selection: str, description: str) -> Rule:
    figures = _figures(selection)
    return Rule(
        check=CHECK,
        category=Category.ACCURACY,
        datasets=("balance_sheet",),
        checked_sql=f"""{figures}
        SELECT a.company_id, 'balance_sheet', count(*)
        FROM accrual_only AS a JOIN cash_months AS m USING (company_id)
        GROUP BY a.company_id""",
        cases_sql=f"""{figures}
        SELECT b.company_id, 'balance_sheet' AS dataset, b.account_id, b.date, b.basis,
               'Amount' AS field, CAST(0 AS DECIMAL(38, 10)) AS expected, b.amount AS actual,
               b.amount AS delta
        FROM actuals AS b
        JOIN accrual_only AS a USING (company_id, account_id)
        JOIN cash_months AS m ON m.company_id = b.company_id AND m.month_end = b.date
        WHERE b.dataset = 'balance_sheet' AND b.basis = 'CASH' AND b.amount <> 0""",
        unit="account-month",
        passed=(
            "CASH-basis balances of the receivable and payable accounts of {company} are zero "
            f"({{counted}} checked; {description})"
        ),
        failed=(
            "CASH-basis balances of the receivable and payable accounts of {company} are not "
            f"zero: {{failures}} of {{counted}} ({description}); first {{first}}"
        ),
        missing=(
            "cannot check {company}: it has no receivable or payable account "
            f"({description}), or no CASH-basis balance sheet request returned 2xx"
        ),
    )


BY_NAME = _rule(f"regexp_matches(lower(account_name), '{ACCRUAL_NAME_PATTERN}')", NAME_RULE)
BY_ID = _rule("list_contains($accrual_accounts, account_id)", NAMED_RULE)


def cash_basis_checks() -> list[Check]:
    """Return the check that receivable and payable balances are zero on the CASH basis."""
    return [Check(CHECK, Category.ACCURACY, ("balance_sheet",), _run)]


def _run(context: CheckContext) -> list[Finding]:
    if context.accrual_accounts:
        parameters = {"accrual_accounts": list(context.accrual_accounts)}
        return run_rule(BY_ID, context, parameters)
    return run_rule(BY_NAME, context)

