"""The Reach API JSON shapes of the books: one function per response item.

Amounts stay ``Decimal`` and dates stay ``date`` here; ``jsonbody`` writes them out exactly.
"""

from __future__ import annotations

from typing import Any

from reach_dq.partner.books import Account, Budget, Company, Metric, MetricValue, Segment
from reach_dq.partner.statements import StatementRow

Item = dict[str, Any]


def company_body(company: Company) -> Item:
    return {
        "CompanyId": company.company_id,
        "CompanyName": company.name,
        "FiscalMonthEnd": company.fiscal_month_end,
        "Currency": company.currency,
    }


def account_item(account: Account) -> Item:
    return {
        "AccountId": account.account_id,
        "AccountNumber": account.number,
        "AccountName": account.name,
        "AccountType": account.account_type,
        "ParentAccountId": account.parent_id,
        "IsActive": account.is_active,
        "CashFlowCategory": account.cash_flow_category,
    }


def budget_item(budget: Budget) -> Item:
    return {
        "BudgetId": budget.budget_id,
        "BudgetName": budget.name,
        "StartDate": budget.start_date,
        "EndDate": budget.end_date,
    }


def class_item(segment: Segment) -> Item:
    return {
        "ClassId": segment.segment_id,
        "ClassName": segment.name,
        "ParentClassId": segment.parent_id,
        "IsActive": segment.is_active,
    }


def department_item(segment: Segment) -> Item:
    return {
        "DepartmentId": segment.segment_id,
        "DepartmentName": segment.name,
        "ParentDepartmentId": segment.parent_id,
        "IsActive": segment.is_active,
    }


def metric_item(metric: Metric) -> Item:
    return {"NonFinancialId": metric.metric_id, "Name": metric.name, "Unit": metric.unit}


def statement_item(row: StatementRow) -> Item:
    return {"AccountId": row.account_id, "Date": row.date, "Amount": row.amount}


def metric_value_item(value: MetricValue) -> Item:
    return {"NonFinancialId": value.metric_id, "Date": value.date, "Value": value.value}
