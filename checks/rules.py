"""Rules checked in DuckDB SQL: one query counts what was checked, one lists the failure cases.

Each query runs once over the whole snapshot, for every company at once, so the cost grows with
the rows of the snapshot and not with the number of companies. A rule yields one finding per
company and dataset:

- ``checked_sql`` returns ``company_id, dataset, checked``: how many units (rows, months,
  figures) the rule looked at for that company and dataset;
- ``cases_sql`` returns the columns of ``CASE_COLUMNS``, one row per failure case. Only the
  first ``MAX_FAILURE_CASES`` cases per company and dataset leave DuckDB, with their total.

A company and dataset with checked units and no case passes; with cases it gets the rule's
failing outcome. A snapshot company with no checked units gets ``not_evaluated`` when the rule
gives a reason (``reasons_sql`` for a reason per company, else the ``missing`` text), and no
finding otherwise.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import duckdb

from checks.identities import format_amount
from checks.schemas import context_company_ids
from checks.sql import query
from reach_dq.exceptions import ConfigError
from reach_dq.findings import MAX_FAILURE_CASES, Category, FailureCase, Finding, Outcome
from reach_dq.runner import CheckContext

log = logging.getLogger(__name__)

CASE_COLUMNS = (
    "company_id",
    "dataset",
    "account_id",
    "date",
    "basis",
    "field",
    "expected",
    "actual",
    "delta",
)
STATEMENTS = ("profit_and_loss", "balance_sheet", "cash_flow")
STATEMENT_OPERATIONS = {
    "profit_and_loss": "getProfitAndLoss",
    "balance_sheet": "getBalanceSheet",
    "cash_flow": "getCashFlow",
}
# Rows returned for a request without BudgetId, ClassId or DepartmentId: the company's actuals.
ACTUALS = "budget_id IS NULL AND class_id IS NULL AND department_id IS NULL"
MAX_TOLERANCE_PER_LINE = Decimal("0.01")



def sql_list(values: Sequence[str]) -> str:
    """Return SQL string literals for constants of this code base (never for partner data)."""
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def actuals_sql(snapshot_filter: str = "snapshot_id = $snapshot_id") -> str:
    """Return SQL for the actuals figures of the three statements, summed per key.

    Columns: snapshot_id, dataset, company_id, basis, account_id, date, amount, lines (rows
    summed). Rows without an account, date, basis or amount are left out, because the schema
    checks report them.
    """
    selects = [
        f"SELECT snapshot_id, '{name}' AS dataset, company_id, basis, account_id, date, amount "
        f"FROM {name} WHERE {snapshot_filter} AND {ACTUALS} AND account_id IS NOT NULL "
        "AND date IS NOT NULL AND basis IS NOT NULL AND amount IS NOT NULL"
        for name in STATEMENTS
    ]
    return (
        "SELECT snapshot_id, dataset, company_id, basis, account_id, date, "
        "sum(amount) AS amount, count(*) AS lines "
        f"FROM ({' UNION ALL '.join(selects)}) GROUP BY ALL"
    )


def fetched_sql(snapshot_filter: str = "snapshot_id = $snapshot_id") -> str:
    """Return SQL for the statement windows whose requests returned 2xx.

    One row per snapshot, company, dataset and basis.

    Columns: snapshot_id, company_id, dataset, basis, start_date, end_date. Only unfiltered
    requests count, so the window is the one of the company's actuals.
    """
    datasets = sql_list(STATEMENTS)
    return (
        "SELECT snapshot_id, company_id, dataset, basis, min(start_date) AS start_date, "
        "max(end_date) AS end_date FROM http_exchanges "
        f"WHERE {snapshot_filter} AND status_code BETWEEN 200 AND 299 AND {ACTUALS} "
        f"AND dataset IN ({datasets}) AND basis IS NOT NULL AND company_id IS NOT NULL "
        "GROUP BY ALL"
    )


# Per company and account: one AccountType and CashFlowCategory, or NULL where the chart's rows
# of that account disagree (the schema checks report the duplicate).
ACCOUNTS_SQL = """
SELECT
    company_id,
    account_id,
    CASE WHEN count(DISTINCT account_type) = 1 THEN min(account_type) END AS account_type,
    CASE WHEN count(DISTINCT cash_flow_category) <= 1 THEN min(cash_flow_category) END
        AS cash_flow_category,
    min(account_name) AS account_name
FROM chart_of_accounts
WHERE snapshot_id = $snapshot_id AND account_id IS NOT NULL AND company_id IS NOT NULL
GROUP BY company_id, account_id
"""

# The month ends from $first_month through $last_month.
MONTHS_SQL = """
SELECT CAST(last_day(month_start) AS DATE) AS month_end
FROM generate_series(
    CAST(date_trunc('month', CAST($first_month AS DATE)) AS DATE),
    CAST(date_trunc('month', CAST($last_month AS DATE)) AS DATE),
    INTERVAL 1 MONTH
) AS series(month_start)
"""


def previous_month_end_sql(month_end: str) -> str:
    return f"CAST(date_trunc('month', {month_end}) - INTERVAL 1 DAY AS DATE)"


def validated_tolerance(value: object) -> Decimal:
    """Return a per-line tolerance, or raise ConfigError unless it is a Decimal 0.00..0.01."""
    if (
        not isinstance(value, Decimal)
        or not value.is_finite()
        or not Decimal(0) <= value <= MAX_TOLERANCE_PER_LINE
    ):
        raise ConfigError(
            f"tolerance_per_line must be a Decimal from 0.00 to {MAX_TOLERANCE_PER_LINE}, "
            f"got {value!r}"
        )
    return value


@dataclasses.dataclass(frozen=True)
class Rule:
    """A check written as two SQL queries, with the texts of its findings.

    The texts are ``str.format`` templates with the keys ``company``, ``dataset``, ``counted``
    (such as "24 rows"), ``failures`` (the number of cases) and ``first`` (the first case).
    """

    check: str
    category: Category
    datasets: tuple[str, ...]
    checked_sql: str
    cases_sql: str
    unit: str  # singular noun for what ``checked`` counts
    passed: str
    failed: str
    failing: Outcome = Outcome.FAILED
    failing_by_dataset: Mapping[str, Outcome] = dataclasses.field(default_factory=dict)
    missing: str | None = None  # not_evaluated text for a company without checked units
    # Optional SQL returning company_id, dataset, reason: a more precise not_evaluated text.
    reasons_sql: str | None = None
    # Optional SQL whose rows the other queries read as the table ``{figures}``. It runs once
    # per check, where a common table expression would run again for each query.
    figures_sql: str | None = None


def run_rule(
    rule: Rule, context: CheckContext, parameters: Mapping[str, object] | None = None
) -> list[Finding]:
    """Run both queries of ``rule`` over the snapshot and return its findings.

    ``parameters`` adds to ``snapshot_id``, ``first_month`` and ``last_month``.
    """
    values: dict[str, object] = {
        "snapshot_id": context.snapshot_id,
        "first_month": context.first_month,
        "last_month": context.last_month,
        **(parameters or {}),
    }
    with _figures_table(context.connection, rule.figures_sql, values) as with_figures:
        checked = {
            (company_id, dataset): int(count)
            for company_id, dataset, count in query(
                context.connection, with_figures(rule.checked_sql), values
            )
            if company_id is not None and count
        }
        cases = _capped_cases(context.connection, with_figures(rule.cases_sql), values)
        reasons: dict[tuple[str, str], str] = {}
        if rule.reasons_sql is not None:
            reasons = {
                (company_id, dataset): reason
                for company_id, dataset, reason in query(
                    context.connection, with_figures(rule.reasons_sql), values
                )
            }
    log.debug(
        "%s: %d company-datasets checked, %d with cases", rule.check, len(checked), len(cases)
    )

    findings = []
    companies = context_company_ids(context)
    for company_id in sorted({*companies, *(key[0] for key in checked)}):
        for dataset in rule.datasets:
            key = (company_id, dataset)
            if key in checked:
                total, company_cases = cases.get(key, (0, []))
                findings.append(_finding(rule, key, checked[key], total, company_cases))
            elif key in reasons:
                findings.append(not_evaluated(rule, dataset, company_id, reasons[key]))
            elif rule.missing is not None:
                reason = rule.missing.format(company=company_id, dataset=dataset)
                findings.append(not_evaluated(rule, dataset, company_id, reason))
    return findings


@contextlib.contextmanager
def _figures_table(
    connection: duckdb.DuckDBPyConnection, figures_sql: str | None, values: Mapping[str, object]
) -> Iterator[Callable[[str], str]]:
    """Store the rows of ``figures_sql`` in a temporary table for the duration of the block.

    Yield a function that points a query's ``{figures}`` at that table. The table belongs to
    this connection only and is dropped on leaving the block.
    """
    if figures_sql is None:
        yield lambda sql: sql
        return
    table = f"rule_figures_{uuid.uuid4().hex}"
    query(connection, f"CREATE TEMPORARY TABLE {table} AS {figures_sql}", values)
    try:
        yield lambda sql: sql.replace("{figures}", table)
    finally:
        connection.execute(f"DROP TABLE IF EXISTS temp.{table}")


def _capped_cases(
    connection: duckdb.DuckDBPyConnection, cases_sql: str, values: Mapping[str, object]
) -> dict[tuple[str, str], tuple[int, list[FailureCase]]]:
    columns = ", ".join(CASE_COLUMNS)
    order = "date NULLS FIRST, basis NULLS FIRST, account_id NULLS FIRST, field, actual"
    sql = f"""
    SELECT {columns}, count(*) OVER (PARTITION BY company_id, dataset) AS total
    FROM ({cases_sql}) AS cases
    WHERE company_id IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY company_id, dataset ORDER BY {order})
        <= {MAX_FAILURE_CASES}
    ORDER BY company_id, dataset, {order}
    """
    result: dict[tuple[str, str], tuple[int, list[FailureCase]]] = {}
    for row in query(connection, sql, values):
        case = dict(zip(CASE_COLUMNS, row[:-1], strict=True))
        key = (case.pop("company_id"), case.pop("dataset"))
        total, cases = result.setdefault(key, (int(row[-1]), []))
        cases.append(FailureCase(company_id=key[0], **{k: case_text(v) for k, v in case.items()}))
    return result


def case_text(value: object) -> str | None:
    """Render a case value: amounts as exact decimals, dates in ISO form, None as None."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def describe(case: FailureCase) -> str:
    """Return one line naming where a case is and what differs, for a finding's message."""
    where = " ".join(part for part in (case.account_id, case.date, case.basis) if part)
    served = f"{case.field} {case.actual}" if case.field else str(case.actual)
    text = f"{served}, expected {case.expected}"
    if where:
        text = f"{where}: {text}"
    return f"{text} (delta {case.delta})" if case.delta is not None else text


def counted(number: int, unit: str) -> str:
    """Return "1 row", "2 rows", "2 month-bases": the number and the unit, in plural when due."""
    if number == 1:
        return f"{number} {unit}"
    plural = unit[:-2] + "es" if unit.endswith("is") else unit + "s"
    return f"{number} {plural}"


def _finding(
    rule: Rule,
    key: tuple[str, str],
    checked: int,
    total: int,
    cases: list[FailureCase],
) -> Finding:
    company_id, dataset = key
    texts = {
        "company": company_id,
        "dataset": dataset,
        "counted": counted(checked, rule.unit),
        "failures": total,
        "first": describe(cases[0]) if cases else "",
    }
    if not cases:
        message = rule.passed.format(**texts)
        return Finding(rule.check, rule.category, dataset, Outcome.PASSED, message, company_id)
    outcome = rule.failing_by_dataset.get(dataset, rule.failing)
    return Finding(
        rule.check,
        rule.category,
        dataset,
        outcome,
        rule.failed.format(**texts),
        company_id,
        failure_count=total,
        failure_cases=tuple(cases),
    )


def not_evaluated(rule: Rule, dataset: str, company_id: str | None, reason: str) -> Finding:
    return Finding(rule.check, rule.category, dataset, Outcome.NOT_EVALUATED, reason, company_id)


def fiscal_year_start_sql(month_end: str, fiscal_month_end: str) -> str:
    """Return SQL for the first day of the fiscal year that contains a month.

    The fiscal year starts in the month after FiscalMonthEnd f, so month m lies
    (m - f - 1) mod 12 months after its start. The SQL adds 12 inside the modulo, because
    DuckDB's % keeps the sign of a negative operand.
    """
    offset = f"(month({month_end}) - {fiscal_month_end} + 11) % 12"
    return f"CAST(date_trunc('month', {month_end}) - to_months({offset}) AS DATE)"


# Per company: its one FiscalMonthEnd, when the company rows agree on a value in 1..12.
FISCAL_SQL = """
SELECT company_id, min(fiscal_month_end) AS fiscal_month_end
FROM company
WHERE snapshot_id = $snapshot_id AND fiscal_month_end IS NOT NULL
GROUP BY company_id
HAVING count(DISTINCT fiscal_month_end) = 1 AND min(fiscal_month_end) BETWEEN 1 AND 12
"""
