"""Structure of the books: ids that exist, accounts on the right statement, sound hierarchies.

Four checks, each one SQL pass over the snapshot (see ``checks.rules``):

- ``accuracy.known_ids``: every AccountId, BudgetId, ClassId, DepartmentId, NonFinancialId and
  parent id that a row uses is listed by its list operation for the same company. A reference
  is checked only when its list has rows for the company or its request returned 2xx, so a
  failed list request (which the reliability check reports) does not turn every row into a
  failure.
- ``accuracy.statement_accounts``: the Profit and Loss carries only profit-and-loss accounts,
  the Balance Sheet only balance-sheet accounts, and the Cash Flow only balance-sheet accounts
  whose CashFlowCategory is OPERATING, INVESTING or FINANCING.
- ``accuracy.cash_flow_categories``: CashFlowCategory is set only on balance-sheet accounts, and
  each balance-sheet account is one chart entry: no two share an AccountNumber, or an
  AccountName compared without case and surrounding spaces.
- ``accuracy.hierarchies``: the parent chains of accounts, classes and departments have no
  cycles, and an account's parent belongs to the same statement.
"""

from __future__ import annotations

import dataclasses
import functools

from checks.rules import ACCOUNTS_SQL, STATEMENTS, Rule, run_rule, sql_list
from reach_dq.datasets import BALANCE_SHEET_TYPES, PROFIT_AND_LOSS_TYPES
from reach_dq.findings import Category, Finding
from reach_dq.runner import Check, CheckContext

CASH_FLOW_SECTIONS = ("OPERATING", "INVESTING", "FINANCING")

_BALANCE_SHEET = sql_list(BALANCE_SHEET_TYPES)
_PROFIT_AND_LOSS = sql_list(PROFIT_AND_LOSS_TYPES)
_SECTIONS = sql_list(CASH_FLOW_SECTIONS)


@dataclasses.dataclass(frozen=True)
class _Reference:
    dataset: str  # the table whose rows use the id
    field: str  # Reach API field of the id
    column: str
    listing: str  # the table that lists valid ids
    listing_column: str
    operation_id: str  # the list operation


def _statement_references(dataset: str) -> list[_Reference]:
    return [
        _Reference(dataset, "AccountId", "account_id", "chart_of_accounts", "account_id",
                   "listChartOfAccounts"),
        _Reference(dataset, "BudgetId", "budget_id", "budgets", "budget_id", "listBudgets"),
        _Reference(dataset, "ClassId", "class_id", "classes", "class_id", "listClasses"),
        _Reference(dataset, "DepartmentId", "department_id", "departments", "department_id",
                   "listDepartments"),
    ]


REFERENCES: tuple[_Reference, ...] = (
    *(reference for name in STATEMENTS for reference in _statement_references(name)),
    _Reference("chart_of_accounts", "ParentAccountId", "parent_account_id", "chart_of_accounts",
               "account_id", "listChartOfAccounts"),
    _Reference("classes", "ParentClassId", "parent_class_id", "classes", "class_id",
               "listClasses"),
    _Reference("departments", "ParentDepartmentId", "parent_department_id", "departments",
               "department_id", "listDepartments"),
    _Reference("non_financial_values", "NonFinancialId", "non_financial_id",
               "non_financial_metrics", "non_financial_id", "listNonFinancialMetrics"),
    _Reference("non_financial_values", "BudgetId", "budget_id", "budgets", "budget_id",
               "listBudgets"),
    _Reference("non_financial_values", "ClassId", "class_id", "classes", "class_id",
               "listClasses"),
)
_REFERRING = tuple(dict.fromkeys(reference.dataset for reference in REFERENCES))
_HAS_ACCOUNT = {*STATEMENTS, "chart_of_accounts"}
_HAS_DATE = {*STATEMENTS, "non_financial_values"}


def _row_counts(datasets: tuple[str, ...]) -> str:
    return " UNION ALL ".join(
        f"SELECT company_id, '{name}' AS dataset, count(*) AS checked FROM {name} "
        "WHERE snapshot_id = $snapshot_id GROUP BY company_id"
        for name in datasets
    )


def _unknown_id_cases(reference: _Reference) -> str:
    account = "r.account_id" if reference.dataset in _HAS_ACCOUNT else "NULL"
    date = "r.date" if reference.dataset in _HAS_DATE else "NULL"
    basis = "r.basis" if reference.dataset in STATEMENTS else "NULL"
    listing = reference.listing.replace("_", " ")
    return f"""
    SELECT r.company_id, '{reference.dataset}' AS dataset, {account} AS account_id,
           {date} AS date, {basis} AS basis, '{reference.field}' AS field,
           'an id listed by the {listing}' AS expected,
           r.{reference.column} AS actual, NULL AS delta
    FROM {reference.dataset} AS r
    WHERE r.snapshot_id = $snapshot_id AND r.{reference.column} IS NOT NULL
      AND NOT EXISTS (
          SELECT 1 FROM {reference.listing} AS l
          WHERE l.snapshot_id = r.snapshot_id AND l.company_id = r.company_id
            AND l.{reference.listing_column} = r.{reference.column})
      AND (
          EXISTS (
              SELECT 1 FROM {reference.listing} AS l
              WHERE l.snapshot_id = r.snapshot_id AND l.company_id = r.company_id)
          OR EXISTS (
              SELECT 1 FROM http_exchanges AS e
              WHERE e.snapshot_id = r.snapshot_id AND e.company_id = r.company_id
                AND e.operation_id = '{reference.operation_id}'
                AND e.status_code BETWEEN 200 AND 299))
    """


KNOWN_IDS = Rule(
    check="accuracy.known_ids",
    category=Category.ACCURACY,
    datasets=_REFERRING,
    checked_sql=_row_counts(_REFERRING),
    cases_sql=" UNION ALL ".join(_unknown_id_cases(reference) for reference in REFERENCES),
    unit="row",
    passed="{dataset} of {company}: every id used is listed ({counted} checked)",
    failed="{dataset} of {company}: ids not listed: {failures} in {counted}; first {first}",
)


def _misplaced_account_cases(dataset: str) -> str:
    if dataset == "profit_and_loss":
        condition = f"a.account_type NOT IN ({_PROFIT_AND_LOSS})"
        expected = "a profit and loss type"
    else:
        condition, expected = f"a.account_type NOT IN ({_BALANCE_SHEET})", "a balance sheet type"
    rows = f"""
    FROM {dataset} AS r
    JOIN accounts AS a ON a.company_id = r.company_id AND a.account_id = r.account_id
    WHERE r.snapshot_id = $snapshot_id"""
    cases = f"""
    SELECT r.company_id, '{dataset}' AS dataset, r.account_id, r.date, r.basis,
           'AccountType' AS field, '{expected}' AS expected, a.account_type AS actual,
           NULL AS delta
    {rows} AND {condition}"""
    if dataset != "cash_flow":
        return cases
    return f"""{cases}
    UNION ALL
    SELECT r.company_id, 'cash_flow', r.account_id, r.date, r.basis, 'CashFlowCategory',
           'OPERATING, INVESTING or FINANCING', coalesce(a.cash_flow_category, 'null'), NULL
    {rows} AND a.account_type IN ({_BALANCE_SHEET})
      AND coalesce(a.cash_flow_category, '') NOT IN ({_SECTIONS})"""


STATEMENT_ACCOUNTS = Rule(
    check="accuracy.statement_accounts",
    category=Category.ACCURACY,
    datasets=STATEMENTS,
    checked_sql=_row_counts(STATEMENTS),
    cases_sql=(
        f"WITH accounts AS ({ACCOUNTS_SQL}) "
        + " UNION ALL ".join(_misplaced_account_cases(name) for name in STATEMENTS)
    ),
    unit="row",
    passed=(
        "{dataset} of {company}: every row carries an account of that statement "
        "({counted} checked)"
    ),
    failed=(
        "{dataset} of {company}: rows with an account of another statement: {failures} of "
        "{counted}; first {first}"
    ),
)

_CASH_FLOW_CATEGORY_CASES = f"""
WITH balance_sheet_accounts AS (
    SELECT
        company_id,
        account_id,
        account_name,
        account_number,
        first_value(account_id) OVER (
            PARTITION BY company_id, lower(trim(account_name)) ORDER BY account_id
        ) AS first_by_name,
        first_value(account_id) OVER (
            PARTITION BY company_id, account_number ORDER BY account_id
        ) AS first_by_number
    FROM chart_of_accounts
    WHERE snapshot_id = $snapshot_id AND account_type IN ({_BALANCE_SHEET})
      AND account_id IS NOT NULL
)
SELECT company_id, 'chart_of_accounts' AS dataset, account_id, NULL AS date, NULL AS basis,
       'CashFlowCategory' AS field, 'null on a ' || account_type || ' account' AS expected,
       cash_flow_category AS actual, NULL AS delta
FROM chart_of_accounts
WHERE snapshot_id = $snapshot_id AND cash_flow_category IS NOT NULL
  AND account_type IN ({_PROFIT_AND_LOSS})
UNION ALL
SELECT company_id, 'chart_of_accounts', account_id, NULL, NULL, 'AccountName',
       'one chart entry per balance-sheet account, but ' || first_by_name || ' has this name',
       account_name, NULL
FROM balance_sheet_accounts
WHERE account_name IS NOT NULL AND account_id <> first_by_name
UNION ALL
SELECT company_id, 'chart_of_accounts', account_id, NULL, NULL, 'AccountNumber',
       'one chart entry per balance-sheet account, but ' || first_by_number
           || ' has this number',
       account_number, NULL
FROM balance_sheet_accounts
WHERE account_number IS NOT NULL AND account_id <> first_by_number
"""

CASH_FLOW_CATEGORIES = Rule(
    check="accuracy.cash_flow_categories",
    category=Category.ACCURACY,
    datasets=("chart_of_accounts",),
    checked_sql=_row_counts(("chart_of_accounts",)),
    cases_sql=_CASH_FLOW_CATEGORY_CASES,
    unit="account",
    passed=(
        "chart of accounts of {company}: CashFlowCategory only on balance-sheet accounts and "
        "one entry per balance-sheet account ({counted} checked)"
    ),
    failed=(
        "chart of accounts of {company}: misplaced CashFlowCategory or second entry: "
        "{failures} in {counted}; first {first}"
    ),
)


@dataclasses.dataclass(frozen=True)
class _Hierarchy:
    dataset: str
    id_column: str
    parent_column: str
    field: str


HIERARCHIES = (
    _Hierarchy("chart_of_accounts", "account_id", "parent_account_id", "ParentAccountId"),
    _Hierarchy("classes", "class_id", "parent_class_id", "ParentClassId"),
    _Hierarchy("departments", "department_id", "parent_department_id", "ParentDepartmentId"),
)


def _cycle_cases(hierarchy: _Hierarchy) -> str:
    """Return SQL for each node that lies on a cycle of parent links, with the cycle's path.

    Every node walks up its parent chain and stops at a node it has already passed. A node lies
    on a cycle exactly when its walk comes back to itself. The walk never revisits a node, so it
    ends after at most as many steps as the company has nodes.
    """
    account = "w.start" if hierarchy.dataset == "chart_of_accounts" else "NULL"
    return f"""
    SELECT w.company_id, '{hierarchy.dataset}' AS dataset, {account} AS account_id,
           NULL AS date, NULL AS basis, '{hierarchy.field}' AS field,
           'a parent chain without cycles' AS expected,
           array_to_string(list_append(w.path, w.current), ' -> ') AS actual, NULL AS delta
    FROM walk_{hierarchy.dataset} AS w
    WHERE w.current = w.start
    """


def _walk_sql(hierarchy: _Hierarchy) -> str:
    return f"""
    nodes_{hierarchy.dataset} AS (
        SELECT DISTINCT company_id, {hierarchy.id_column} AS id, {hierarchy.parent_column} AS parent
        FROM {hierarchy.dataset}
        WHERE snapshot_id = $snapshot_id AND {hierarchy.id_column} IS NOT NULL
    ),
    walk_{hierarchy.dataset} AS (
        SELECT company_id, id AS start, parent AS current, [id] AS path
        FROM nodes_{hierarchy.dataset}
        WHERE parent IS NOT NULL
        UNION ALL
        SELECT w.company_id, w.start, n.parent, list_append(w.path, w.current)
        FROM walk_{hierarchy.dataset} AS w
        JOIN nodes_{hierarchy.dataset} AS n ON n.company_id = w.company_id AND n.id = w.current
        WHERE n.parent IS NOT NULL AND NOT list_contains(w.path, w.current)
    )"""


_PARENT_STATEMENT_CASES = f"""
SELECT c.company_id, 'chart_of_accounts', c.account_id, NULL, NULL, 'ParentAccountId',
       CASE WHEN c.account_type IN ({_BALANCE_SHEET}) THEN 'a balance-sheet account'
            ELSE 'a profit-and-loss account' END,
       c.parent_account_id || ' (' || p.account_type || ')', NULL
FROM chart_of_accounts AS c
JOIN accounts AS p ON p.company_id = c.company_id AND p.account_id = c.parent_account_id
WHERE c.snapshot_id = $snapshot_id
  AND c.account_type IN ({_BALANCE_SHEET}, {_PROFIT_AND_LOSS})
  AND p.account_type IN ({_BALANCE_SHEET}, {_PROFIT_AND_LOSS})
  AND (c.account_type IN ({_BALANCE_SHEET})) <> (p.account_type IN ({_BALANCE_SHEET}))
"""

_DATASETS_WITH_PARENTS = tuple(hierarchy.dataset for hierarchy in HIERARCHIES)

HIERARCHY_RULE = Rule(
    check="accuracy.hierarchies",
    category=Category.ACCURACY,
    datasets=_DATASETS_WITH_PARENTS,
    checked_sql=_row_counts(_DATASETS_WITH_PARENTS),
    cases_sql=(
        "WITH RECURSIVE "
        + ",".join(_walk_sql(hierarchy) for hierarchy in HIERARCHIES)
        + f", accounts AS ({ACCOUNTS_SQL}) "
        + " UNION ALL ".join(_cycle_cases(hierarchy) for hierarchy in HIERARCHIES)
        + " UNION ALL "
        + _PARENT_STATEMENT_CASES
    ),
    unit="item",
    passed=(
        "{dataset} of {company}: the hierarchy has no cycle and stays in one statement "
        "({counted} checked)"
    ),
    failed="{dataset} of {company}: hierarchy problems: {failures} in {counted}; first {first}",
)

RULES = (KNOWN_IDS, STATEMENT_ACCOUNTS, CASH_FLOW_CATEGORIES, HIERARCHY_RULE)


def structure_checks() -> list[Check]:
    """Return the checks of ids, statement membership, cash flow categories and hierarchies."""
    return [
        Check(rule.check, rule.category, rule.datasets, functools.partial(_run, rule))
        for rule in RULES
    ]


def _run(rule: Rule, context: CheckContext) -> list[Finding]:
    return run_rule(rule, context)
