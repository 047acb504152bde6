"""The datasets of a snapshot: which operation serves each, and how its fields map to columns.

This module is the one mapping between Reach API field names and warehouse columns. Accuracy
checks read warehouse columns only, so an official field name that differs from the bundled
contract is a one-line change in ``Column.field`` below.
"""

from __future__ import annotations

import dataclasses

MONEY = "DECIMAL(38, 10)"  # wide enough to keep a third decimal place so checks can see it


@dataclasses.dataclass(frozen=True)
class Column:
    name: str  # warehouse column
    field: str  # field of a response item in the Reach API
    sql_type: str  # DuckDB type
    required: bool = True


@dataclasses.dataclass(frozen=True)
class Dataset:
    name: str  # also the name of the typed table in the warehouse
    operation_id: str  # operationId in the OpenAPI document
    columns: tuple[Column, ...]
    paginated: bool = False
    per_company: bool = True
    statement: bool = False


def _id(name: str, field: str, *, required: bool = True) -> Column:
    return Column(name, field, "VARCHAR", required)


STATEMENT_COLUMNS = (
    _id("account_id", "AccountId"),
    Column("date", "Date", "DATE"),
    Column("amount", "Amount", MONEY),
)

DATASETS: tuple[Dataset, ...] = (
    Dataset(
        "user_info",
        "getUserInfo",
        (_id("company_id", "CompanyId"), _id("company_name", "CompanyName")),
        per_company=False,
    ),
    Dataset(
        "company",
        "getCompany",
        (
            _id("company_name", "CompanyName"),
            Column("fiscal_month_end", "FiscalMonthEnd", "INTEGER"),
            _id("currency", "Currency"),
        ),
    ),
    Dataset(
        "chart_of_accounts",
        "listChartOfAccounts",
        (
            _id("account_id", "AccountId"),
            _id("account_number", "AccountNumber", required=False),
            _id("account_name", "AccountName"),
            _id("account_type", "AccountType"),
            _id("parent_account_id", "ParentAccountId", required=False),
            Column("is_active", "IsActive", "BOOLEAN"),
            _id("cash_flow_category", "CashFlowCategory", required=False),
        ),
        paginated=True,
    ),
    Dataset(
        "budgets",
        "listBudgets",
        (
            _id("budget_id", "BudgetId"),
            _id("budget_name", "BudgetName"),
            Column("start_date", "StartDate", "DATE"),
            Column("end_date", "EndDate", "DATE"),
        ),
        paginated=True,
    ),
    Dataset(
        "classes",
        "listClasses",
        (
            _id("class_id", "ClassId"),
            _id("class_name", "ClassName"),
            _id("parent_class_id", "ParentClassId", required=False),
            Column("is_active", "IsActive", "BOOLEAN"),
        ),
        paginated=True,
    ),
    Dataset(
        "departments",
        "listDepartments",
        (
            _id("department_id", "DepartmentId"),
            _id("department_name", "DepartmentName"),
            _id("parent_department_id", "ParentDepartmentId", required=False),
            Column("is_active", "IsActive", "BOOLEAN"),
        ),
        paginated=True,
    ),
    Dataset(
        "non_financial_metrics",
        "listNonFinancialMetrics",
        (
            _id("non_financial_id", "NonFinancialId"),
            _id("name", "Name"),
            _id("unit", "Unit", required=False),
        ),
        paginated=True,
    ),
    Dataset(
        "non_financial_values",
        "getNonFinancialValues",
        (
            _id("non_financial_id", "NonFinancialId"),
            Column("date", "Date", "DATE"),
            Column("value", "Value", MONEY),
        ),
    ),
    Dataset("profit_and_loss", "getProfitAndLoss", STATEMENT_COLUMNS, statement=True),
    Dataset("balance_sheet", "getBalanceSheet", STATEMENT_COLUMNS, statement=True),
    Dataset("cash_flow", "getCashFlow", STATEMENT_COLUMNS, statement=True),
)

BY_NAME = {dataset.name: dataset for dataset in DATASETS}
BY_OPERATION = {dataset.operation_id: dataset for dataset in DATASETS}

# Request context stored beside every typed row. Statements and metric values are fetched once
# per basis and scenario, so these columns say which request a row answers.
CONTEXT_COLUMNS = (
    Column("snapshot_id", "", "VARCHAR"),
    Column("exchange_id", "", "BIGINT"),
    Column("company_id", "", "VARCHAR"),
    Column("basis", "", "VARCHAR", required=False),
    Column("budget_id", "", "VARCHAR", required=False),
    Column("class_id", "", "VARCHAR", required=False),
    Column("department_id", "", "VARCHAR", required=False),
)

ACCOUNT_TYPES = (
    "ASSET",
    "LIABILITY",
    "EQUITY",
    "REVENUE",
    "COST_OF_SALES",
    "EXPENSE",
    "OTHER_INCOME",
    "OTHER_EXPENSE",
)
BALANCE_SHEET_TYPES = ("ASSET", "LIABILITY", "EQUITY")
PROFIT_AND_LOSS_TYPES = ("REVENUE", "COST_OF_SALES", "EXPENSE", "OTHER_INCOME", "OTHER_EXPENSE")
INCOME_TYPES = ("REVENUE", "OTHER_INCOME")  # added to net income; the other P&L types subtract
CASH_FLOW_CATEGORIES = ("CASH", "OPERATING", "INVESTING", "FINANCING")
BASES = ("ACCRUAL", "CASH")
