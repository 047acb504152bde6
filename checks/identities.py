"""Accounting identities that every consistent set of books satisfies, checked in DuckDB SQL.

Both identities read actuals only (rows with no budget, class or department), per company,
accounting basis and month of the requested range, with DECIMAL arithmetic:

1. ``accuracy.balance_sheet_vs_net_income``: at every month end D, assets - liabilities - equity
   on the balance sheet equal the net income from the first month of the fiscal year containing
   D through D. The books close into retained earnings at each fiscal year end, so the balance
   sheet carries no account for the current year's earnings.
2. ``accuracy.cash_flow_vs_change_in_cash``: for every month M, net income of M plus the cash flow
   amounts of M equal the change in the balance of the CASH accounts from the previous month end
   to the end of M.

Net income = REVENUE + OTHER_INCOME - COST_OF_SALES - EXPENSE - OTHER_EXPENSE over profit and
loss amounts. A statement row that is missing counts as zero. A row whose account cannot be
classified (missing from the chart of accounts, without one AccountType, or of a type the
statement does not carry) is left out of the sums and counted in the message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import uuid
import weakref
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import duckdb

from checks.schemas import context_company_ids
from checks.sql import query
from reach_dq.datasets import BALANCE_SHEET_TYPES, INCOME_TYPES, PROFIT_AND_LOSS_TYPES
from reach_dq.exceptions import CheckRunError, ConfigError
from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.runner import Check, CheckContext

log = logging.getLogger(__name__)

# Amounts carry two decimals and DECIMAL sums are exact, so a consistent partner matches to the
# cent. A caller may allow up to one cent per summed statement row for partners that round each
# row. The tolerance of one (month, basis) is then this value times the rows summed there.
IDENTITY_TOLERANCE_PER_LINE = Decimal("0.00")
MAX_TOLERANCE_PER_LINE = Decimal("0.01")

_CENT = Decimal("0.01")


def _sql_list(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


_ASSETS = _sql_list(BALANCE_SHEET_TYPES[:1])
_LIABILITIES_AND_EQUITY = _sql_list(BALANCE_SHEET_TYPES[1:])
_INCOME = _sql_list(INCOME_TYPES)
_COSTS = _sql_list([kind for kind in PROFIT_AND_LOSS_TYPES if kind not in INCOME_TYPES])

# Every actuals row of the three statements, with ``signed`` set to its share of the sums.
# Balance-sheet rows add up to assets - liabilities - equity, profit-and-loss rows to net income,
# and cash-flow rows count as reported. ``signed`` is NULL when the row's account cannot be
# classified for its statement.
# The identities add up lines by company, basis and month, so they read the sums this query
# returns: one row per statement, company, basis, month and kind of account instead of one per
# account. DECIMAL sums are exact, so a sum of these sums equals the sum of the lines.
_MONTHLY_SQL = f"""
WITH accounts AS (
    SELECT
        company_id,
        account_id,
        CASE WHEN count(DISTINCT account_type) = 1 THEN min(account_type) END AS account_type,
        coalesce(bool_or(cash_flow_category = 'CASH'), false) AS is_cash
    FROM chart_of_accounts
    WHERE snapshot_id = $snapshot_id AND account_id IS NOT NULL
    GROUP BY company_id, account_id
),
statement_rows AS (
    SELECT 'balance_sheet' AS statement, company_id, basis, account_id, date, amount
    FROM balance_sheet
    WHERE snapshot_id = $snapshot_id
      AND budget_id IS NULL AND class_id IS NULL AND department_id IS NULL
    UNION ALL
    SELECT 'profit_and_loss', company_id, basis, account_id, date, amount
    FROM profit_and_loss
    WHERE snapshot_id = $snapshot_id
      AND budget_id IS NULL AND class_id IS NULL AND department_id IS NULL
    UNION ALL
    SELECT 'cash_flow', company_id, basis, account_id, date, amount
    FROM cash_flow
    WHERE snapshot_id = $snapshot_id
      AND budget_id IS NULL AND class_id IS NULL AND department_id IS NULL
),
lines AS (
    SELECT
        r.statement,
        r.company_id,
        r.basis,
        r.date,
        r.amount,
        coalesce(a.is_cash, false) AS is_cash,
        CASE
            WHEN r.statement = 'balance_sheet' AND a.account_type IN ({_ASSETS}) THEN r.amount
            WHEN r.statement = 'balance_sheet' AND a.account_type IN ({_LIABILITIES_AND_EQUITY})
                THEN -r.amount
            WHEN r.statement = 'profit_and_loss' AND a.account_type IN ({_INCOME}) THEN r.amount
            WHEN r.statement = 'profit_and_loss' AND a.account_type IN ({_COSTS}) THEN -r.amount
            WHEN r.statement = 'cash_flow' AND a.account_type IS NOT NULL THEN r.amount
        END AS signed,
        a.account_type IS NULL
            OR (r.statement = 'balance_sheet'
                AND a.account_type NOT IN ({_ASSETS}, {_LIABILITIES_AND_EQUITY}))
            OR (r.statement = 'profit_and_loss' AND a.account_type NOT IN ({_INCOME}, {_COSTS}))
            AS unclassified
    FROM statement_rows AS r
    LEFT JOIN accounts AS a ON a.company_id = r.company_id AND a.account_id = r.account_id
    WHERE r.date IS NOT NULL AND r.basis IS NOT NULL
)
SELECT
    statement, company_id, basis, date, is_cash, unclassified,
    sum(signed) AS signed_sum,
    count(signed) AS signed_count,
    sum(amount) AS amount_sum,
    count(amount) AS amount_count,
    count(*) AS row_count
FROM lines
GROUP BY ALL"""

# Each identity query reads the rows of _MONTHLY_SQL from the table named in ``{monthly}``.
_IDENTITY_INPUTS_SQL = """
monthly AS (SELECT * FROM {monthly}),
months AS (
    SELECT CAST(last_day(month_start) AS DATE) AS month_end
    FROM generate_series(
        CAST(date_trunc('month', $first_month) AS DATE),
        CAST(date_trunc('month', $last_month) AS DATE),
        INTERVAL 1 MONTH
    ) AS series(month_start)
)"""


def _year_start_sql(month_end: str, fiscal_month_end: str) -> str:
    """Return SQL for the first day of the fiscal year that contains a month.

    The fiscal year starts in the month after FiscalMonthEnd f, so month m lies
    (m - f - 1) mod 12 months after its start. The SQL adds 12 inside the modulo, because
    DuckDB's % keeps the sign of a negative operand.
    """
    offset = f"(month({month_end}) - {fiscal_month_end} + 11) % 12"
    return f"CAST(date_trunc('month', {month_end}) - to_months({offset}) AS DATE)"


# One row per company, basis and month: ``actual`` is assets - liabilities - equity at the month
# end, ``expected`` the fiscal year-to-date net income. Only companies with one FiscalMonthEnd in
# 1..12 have rows, and ``_missing_input`` gives the reason for the others.
# NOTE: profit and loss months before the fetched window count as zero. The fetch starts the
# window at the fiscal year start, so it falls short only if that used another FiscalMonthEnd.
_BALANCE_SHEET_VS_NET_INCOME_SQL = f"""
WITH {_IDENTITY_INPUTS_SQL},
fiscal AS (
    SELECT company_id, min(fiscal_month_end) AS fiscal_month_end
    FROM company
    WHERE snapshot_id = $snapshot_id AND fiscal_month_end IS NOT NULL
    GROUP BY company_id
    HAVING count(DISTINCT fiscal_month_end) = 1 AND min(fiscal_month_end) BETWEEN 1 AND 12
),
bases AS (
    SELECT DISTINCT company_id, basis
    FROM monthly
    WHERE statement IN ('balance_sheet', 'profit_and_loss')
      AND date BETWEEN $first_month AND $last_month
),
evaluated AS (
    SELECT
        b.company_id,
        b.basis,
        m.month_end,
        {_year_start_sql("m.month_end", "f.fiscal_month_end")} AS year_start
    FROM bases AS b
    JOIN fiscal AS f ON f.company_id = b.company_id
    CROSS JOIN months AS m
),
excluded AS (
    SELECT l.company_id, sum(l.row_count) AS excluded_rows
    FROM monthly AS l
    JOIN fiscal AS f ON f.company_id = l.company_id
    WHERE l.unclassified
      AND l.date <= $last_month
      AND (
          (l.statement = 'balance_sheet' AND l.date >= $first_month)
          OR (l.statement = 'profit_and_loss'
              AND l.date >= {_year_start_sql("CAST($first_month AS DATE)", "f.fiscal_month_end")})
      )
    GROUP BY l.company_id
)
SELECT
    e.company_id,
    e.basis,
    e.month_end AS date,
    coalesce(sum(l.signed_sum) FILTER (WHERE l.statement = 'balance_sheet'), 0) AS actual,
    coalesce(sum(l.signed_sum) FILTER (WHERE l.statement = 'profit_and_loss'), 0) AS expected,
    CAST(coalesce(sum(l.signed_count), 0) AS BIGINT) AS line_count,
    CAST(coalesce(any_value(x.excluded_rows), 0) AS BIGINT) AS excluded_rows
FROM evaluated AS e
LEFT JOIN monthly AS l
    ON l.company_id = e.company_id
    AND l.basis = e.basis
    AND l.signed_count > 0
    AND (
        (l.statement = 'balance_sheet' AND l.date = e.month_end)
        OR (l.statement = 'profit_and_loss' AND l.date BETWEEN e.year_start AND e.month_end)
    )
LEFT JOIN excluded AS x ON x.company_id = e.company_id
GROUP BY e.company_id, e.basis, e.month_end
ORDER BY e.company_id, e.month_end, e.basis
"""

# One row per company, basis and month: ``actual`` is net income plus cash flow of the month,
# ``expected`` the change in the CASH accounts' balance since the previous month end. The CASH
# balance is the plain sum of Amounts, because CASH marks cash and cash equivalents, which are
# assets.
_CASH_FLOW_VS_CHANGE_IN_CASH_SQL = f"""
WITH {_IDENTITY_INPUTS_SQL},
bases AS (
    SELECT DISTINCT company_id, basis
    FROM monthly
    WHERE date BETWEEN $first_month AND $last_month
),
evaluated AS (
    SELECT
        b.company_id,
        b.basis,
        m.month_end,
        CAST(date_trunc('month', m.month_end) - INTERVAL 1 DAY AS DATE) AS previous_month_end
    FROM bases AS b
    CROSS JOIN months AS m
),
excluded AS (
    SELECT company_id, sum(row_count) AS excluded_rows
    FROM monthly
    WHERE unclassified
      AND date <= $last_month
      AND (
          (statement IN ('profit_and_loss', 'cash_flow') AND date >= $first_month)
          OR (statement = 'balance_sheet'
              AND date >= CAST(date_trunc('month', $first_month) - INTERVAL 1 DAY AS DATE))
      )
    GROUP BY company_id
)
SELECT
    e.company_id,
    e.basis,
    e.month_end AS date,
    coalesce(sum(l.signed_sum) FILTER (WHERE l.statement <> 'balance_sheet'), 0) AS actual,
    coalesce(
        sum(l.amount_sum) FILTER (WHERE l.statement = 'balance_sheet' AND l.date = e.month_end), 0
    )
        - coalesce(
            sum(l.amount_sum) FILTER (
                WHERE l.statement = 'balance_sheet' AND l.date = e.previous_month_end
            ),
            0
        ) AS expected,
    -- Of a profit-and-loss or cash-flow month, only the lines with a signed amount are joined.
    CAST(coalesce(sum(
        CASE WHEN l.statement = 'balance_sheet' THEN l.amount_count ELSE l.signed_count END
    ), 0) AS BIGINT) AS line_count,
    CAST(coalesce(any_value(x.excluded_rows), 0) AS BIGINT) AS excluded_rows
FROM evaluated AS e
LEFT JOIN monthly AS l
    ON l.company_id = e.company_id
    AND l.basis = e.basis
    AND (
        (l.statement IN ('profit_and_loss', 'cash_flow')
            AND l.date = e.month_end
            AND l.signed_count > 0)
        OR (l.statement = 'balance_sheet'
            AND l.is_cash
            AND NOT l.unclassified
            AND l.date IN (e.month_end, e.previous_month_end))
    )
LEFT JOIN excluded AS x ON x.company_id = e.company_id
GROUP BY e.company_id, e.basis, e.month_end
ORDER BY e.company_id, e.month_end, e.basis
"""


@dataclasses.dataclass(frozen=True)
class _Identity:
    name: str
    dataset: str
    statements: tuple[str, ...]  # the statement tables the identity reads
    needs_fiscal_year: bool
    sql: str
    passed_text: str  # "{company}" is replaced by the company id
    failed_text: str


_BALANCE_SHEET_VS_NET_INCOME = _Identity(
    name="accuracy.balance_sheet_vs_net_income",
    dataset="balance_sheet",
    statements=("balance_sheet", "profit_and_loss"),
    needs_fiscal_year=True,
    sql=_BALANCE_SHEET_VS_NET_INCOME_SQL,
    passed_text="balance sheet of {company} equals fiscal year-to-date net income",
    failed_text="balance sheet of {company} does not equal fiscal year-to-date net income",
)

_CASH_FLOW_VS_CHANGE_IN_CASH = _Identity(
    name="accuracy.cash_flow_vs_change_in_cash",
    dataset="cash_flow",
    statements=("profit_and_loss", "cash_flow", "balance_sheet"),
    needs_fiscal_year=False,
    sql=_CASH_FLOW_VS_CHANGE_IN_CASH_SQL,
    passed_text="net income plus cash flow of {company} equals the change in cash",
    failed_text="net income plus cash flow of {company} does not equal the change in cash",
)


@dataclasses.dataclass(frozen=True)
class _MonthBasis:
    date: dt.date
    basis: str
    actual: Decimal
    expected: Decimal
    line_count: int


@dataclasses.dataclass(frozen=True)
class _CompanyInputs:
    company_rows: int = 0
    fiscal_month_ends: tuple[int, ...] = ()
    chart_rows: int = 0
    statement_rows: dict[str, int] = dataclasses.field(default_factory=dict)


def identity_checks(*, tolerance_per_line: Decimal = IDENTITY_TOLERANCE_PER_LINE) -> list[Check]:
    """Return both identity checks, comparing within ``tolerance_per_line`` per summed row.

    Raises ConfigError unless ``tolerance_per_line`` is a Decimal from 0.00 to 0.01.
    """
    tolerance = _validated_tolerance(tolerance_per_line)
    identities = (_BALANCE_SHEET_VS_NET_INCOME, _CASH_FLOW_VS_CHANGE_IN_CASH)
    monthly = _SharedMonthly(tuple(identity.name for identity in identities))
    return [
        Check(
            identity.name,
            Category.ACCURACY,
            (identity.dataset,),
            functools.partial(_run_identity, identity, tolerance, monthly),
        )
        for identity in identities
    ]


class _SharedMonthly:
    """The monthly sums of _MONTHLY_SQL, computed once for all identities of one check context.

    The first identity to run stores them in a temporary table of the context's connection and
    leaves it to the others. The last one drops it. A context is held weakly, so a finished run
    frees its connection, and a connection's temporary tables end with it.
    NOTE: a caller that changes the snapshot between the identities of one context gets the
    later identities' findings as of the first.
    """

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self._context: weakref.ref[CheckContext] | None = None
        self._table = ""
        self._waiting: set[str] = set()  # identities that have not read the table yet

    @contextlib.contextmanager
    def table(self, context: CheckContext, name: str) -> Iterator[str]:
        """Yield the name of the table of monthly sums for the identity ``name``."""
        same_context = self._context is not None and self._context() is context
        if not (same_context and name in self._waiting):
            self._drop()
            self._create(context)
        self._waiting.discard(name)
        try:
            yield self._table
        finally:
            if not self._waiting:
                self._drop()

    def _create(self, context: CheckContext) -> None:
        table = f"identity_monthly_{uuid.uuid4().hex}"
        context.connection.execute(
            f"CREATE TEMPORARY TABLE {table} AS {_MONTHLY_SQL}",
            {"snapshot_id": context.snapshot_id},
        )
        self._context, self._table, self._waiting = weakref.ref(context), table, set(self.names)

    def _drop(self) -> None:
        context = self._context() if self._context is not None else None
        self._context, self._waiting = None, set()
        if context is None:
            return
        try:
            context.connection.execute(f"DROP TABLE IF EXISTS temp.{self._table}")
        except duckdb.Error as exc:  # the connection is closed, so its tables are gone
            log.debug("temporary table %s not dropped: %s", self._table, exc)


def _validated_tolerance(value: object) -> Decimal:
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


def format_amount(value: Decimal) -> str:
    """Format a decimal as plain text with two decimals, or more when needed to stay exact.

    ``Decimal("-1250.0000000000")`` gives ``"-1250.00"``, ``Decimal("0.0050000000")`` ``"0.005"``.
    """
    if value.is_zero():
        value = abs(value)
    cents = value.quantize(_CENT)
    if cents == value:
        return format(cents, "f")
    return format(value.normalize(), "f")


def _run_identity(
    identity: _Identity, tolerance: Decimal, monthly: _SharedMonthly, context: CheckContext
) -> list[Finding]:
    if context.first_month > context.last_month:
        raise CheckRunError(
            f"first_month {context.first_month.isoformat()!r} is after "
            f"last_month {context.last_month.isoformat()!r}"
        )

    companies = context_company_ids(context)
    if not companies:
        reason = f"no company in snapshot {context.snapshot_id}"
        return [_finding(identity, None, Outcome.NOT_EVALUATED, reason)]

    inputs = _company_inputs(context, identity.statements)
    with monthly.table(context, identity.name) as monthly_table:
        results, excluded = _month_bases(identity, context, monthly_table)
    log.debug(
        "%s: %d companies, %d month-bases",
        identity.name,
        len(companies),
        sum(len(items) for items in results.values()),
    )

    findings = []
    for company_id in companies:
        company_inputs = inputs.get(company_id, _CompanyInputs())
        reason = _missing_input(identity, company_id, company_inputs, context)
        if reason is None and not results.get(company_id):
            reason = f"cannot check {company_id}: no statement rows carry an accounting basis"
        if reason is not None:
            findings.append(_finding(identity, company_id, Outcome.NOT_EVALUATED, reason))
            continue
        findings.append(
            _evaluate(identity, company_id, results[company_id], excluded[company_id], tolerance)
        )
    return findings


def _company_inputs(
    context: CheckContext, statements: Sequence[str]
) -> dict[str, _CompanyInputs]:
    connection = context.connection
    parameters = {"snapshot_id": context.snapshot_id}
    company = _per_company(
        connection,
        "SELECT company_id, count(*), list(DISTINCT fiscal_month_end ORDER BY fiscal_month_end) "
        "FILTER (WHERE fiscal_month_end IS NOT NULL) "
        "FROM company WHERE snapshot_id = $snapshot_id GROUP BY company_id",
        parameters,
    )
    chart = _per_company(
        connection,
        "SELECT company_id, count(*) FROM chart_of_accounts "
        "WHERE snapshot_id = $snapshot_id GROUP BY company_id",
        parameters,
    )
    in_range = {**parameters, "first_month": context.first_month, "last_month": context.last_month}
    statement_counts = {
        statement: _per_company(
            connection,
            f"SELECT company_id, count(*) FROM {statement} "
            "WHERE snapshot_id = $snapshot_id AND date BETWEEN $first_month AND $last_month "
            "AND budget_id IS NULL AND class_id IS NULL AND department_id IS NULL "
            "GROUP BY company_id",
            in_range,
        )
        for statement in statements
    }

    companies = set(company) | set(chart)
    for counts in statement_counts.values():
        companies |= set(counts)
    return {
        company_id: _CompanyInputs(
            company_rows=company[company_id][0] if company_id in company else 0,
            fiscal_month_ends=tuple(company[company_id][1] or ()) if company_id in company else (),
            chart_rows=chart[company_id][0] if company_id in chart else 0,
            statement_rows={
                name: counts[company_id][0] if company_id in counts else 0
                for name, counts in statement_counts.items()
            },
        )
        for company_id in companies
    }


def _per_company(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: dict[str, object]
) -> dict[str, tuple[Any, ...]]:
    return {row[0]: row[1:] for row in connection.execute(sql, parameters).fetchall()}


def _missing_input(
    identity: _Identity, company_id: str, inputs: _CompanyInputs, context: CheckContext
) -> str | None:
    """Return why the identity cannot be checked for a company, or None when it can."""
    prefix = f"cannot check {company_id}:"
    if identity.needs_fiscal_year:
        if inputs.company_rows == 0:
            return f"{prefix} the snapshot has no company information row"
        fiscal = inputs.fiscal_month_ends
        if not fiscal:
            return f"{prefix} FiscalMonthEnd is missing"
        if len(fiscal) > 1:
            return f"{prefix} company rows disagree on FiscalMonthEnd: {list(fiscal)!r}"
        if not 1 <= fiscal[0] <= 12:
            return f"{prefix} FiscalMonthEnd {fiscal[0]!r} is not a month 1..12"
    if inputs.chart_rows == 0:
        return f"{prefix} the snapshot has no chart of accounts rows"

    # Only the balance sheet must have rows: the contract counts an omitted P&L or cash flow row
    # as zero, so a company with no activity in the range is still checked.
    if inputs.statement_rows.get("balance_sheet", 0) == 0:
        return (
            f"{prefix} no balance_sheet actuals rows from "
            f"{context.first_month.isoformat()} to {context.last_month.isoformat()}"
        )
    return None


def _month_bases(
    identity: _Identity, context: CheckContext, monthly_table: str
) -> tuple[dict[str, list[_MonthBasis]], dict[str, int]]:
    parameters = {
        "snapshot_id": context.snapshot_id,
        "first_month": context.first_month,
        "last_month": context.last_month,
    }
    rows = query(context.connection, identity.sql.replace("{monthly}", monthly_table), parameters)

    results: dict[str, list[_MonthBasis]] = {}
    excluded: dict[str, int] = {}
    for company_id, basis, date, actual, expected, line_count, excluded_rows in rows:
        results.setdefault(company_id, []).append(
            _MonthBasis(date, basis, actual, expected, line_count)
        )
        excluded[company_id] = excluded_rows
    return results, excluded


def _evaluate(
    identity: _Identity,
    company_id: str,
    month_bases: list[_MonthBasis],
    excluded_rows: int,
    tolerance: Decimal,
) -> Finding:
    failing = [
        item
        for item in month_bases
        if abs(item.actual - item.expected) > tolerance * item.line_count
    ]
    cases = tuple(_failure_case(company_id, item) for item in failing)
    total = len(month_bases)

    if failing:
        first = cases[0]
        message = (
            f"{identity.failed_text.format(company=company_id)} in {len(failing)} of {total} "
            f"month-bases; first {first.date} {first.basis}: delta {first.delta}"
        )
    else:
        message = f"{identity.passed_text.format(company=company_id)} in all {total} month-bases"
    if tolerance:
        message += f" (tolerance {tolerance} per summed row)"
    if excluded_rows:
        rows = "1 statement row" if excluded_rows == 1 else f"{excluded_rows} statement rows"
        message += (
            f"; excluded {rows} whose account is missing from the chart of accounts "
            "or has no AccountType of that statement"
        )

    outcome = Outcome.FAILED if failing else Outcome.PASSED
    return _finding(identity, company_id, outcome, message, cases)


def _failure_case(company_id: str, item: _MonthBasis) -> FailureCase:
    return FailureCase(
        company_id=company_id,
        date=item.date.isoformat(),
        basis=item.basis,
        expected=format_amount(item.expected),
        actual=format_amount(item.actual),
        delta=format_amount(item.actual - item.expected),
    )


def _finding(
    identity: _Identity,
    company_id: str | None,
    outcome: Outcome,
    message: str,
    cases: tuple[FailureCase, ...] = (),
) -> Finding:
    return Finding(
        identity.name,
        Category.ACCURACY,
        identity.dataset,
        outcome,
        message,
        company_id,
        failure_count=len(cases),
        failure_cases=cases,
    )


__all__ = [
    "IDENTITY_TOLERANCE_PER_LINE",
    "MAX_TOLERANCE_PER_LINE",
    "format_amount",
    "identity_checks",
]
