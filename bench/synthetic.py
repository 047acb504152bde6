"""Write a synthetic snapshot straight into a warehouse file, with set-based DuckDB SQL.

The snapshot looks as if ``reach-dq validate`` had fetched and stored it. It has a
``snapshots`` row, one ``http_exchanges`` row and one raw JSON body per request the fetch would
have sent, and typed dataset tables filled with the rows those bodies carry. Every statement row is generated
inside DuckDB, never in a Python loop, so ten million rows take a minute, not an hour.

The books are consistent: both accounting identities hold to the cent in every month, on both
bases, so a validate run over the snapshot does all of its work and passes. Per company:

- 60 accounts: 24 profit-and-loss accounts and 36 balance-sheet accounts. Two balance-sheet
  accounts are ``CASH``, 8 carry an ``OPERATING``, ``INVESTING`` or ``FINANCING`` category and
  so appear on the cash flow statement, the rest (retained earnings among them) carry none.
  "Accounts receivable" and "Accounts payable" hold a balance on the accrual basis only.
- ``months`` months of the three statements on both bases, starting in January 2023; the first
  month only serves as the opening balance and the fiscal year start of the checked range.
- one budget over the last 12 months (fewer when ``months`` is smaller) with its own P&L rows,
  2 classes, 2 departments and 2 non-financial metrics with monthly values.

Amounts come from DuckDB's ``hash`` of the company, account, month and basis, so the same size
always gives the same snapshot. Balances follow from the amounts: the cash account moves by net
income plus the cash flow of the month, categorized accounts by their own cash flow, retained
earnings close at each fiscal year end, and share capital balances the opening balance sheet.

NOTE: the fetch also requests the P&L of each class and each department. Those requests and
rows are left out here, so the checks of class and department figures find nothing to check,
and the statement rows stay at the size the benchmark is specified for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from pathlib import Path

from reach_dq.datasets import BY_NAME
from reach_dq.warehouse.ddl import table_columns
from reach_dq.warehouse.warehouse import Warehouse

log = logging.getLogger(__name__)

FIRST_DATA_MONTH = dt.date(2023, 1, 1)  # a fiscal year start for both FiscalMonthEnd values used
BASE_URL = "http://127.0.0.1:9"  # stored on the snapshot only; nothing connects to it
STARTED_AT = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

# (number of accounts, AccountType, CashFlowCategory, role). The role decides how the
# generator computes the account's amounts.
_ACCOUNT_GROUPS = (
    (6, "REVENUE", None, "income"),
    (1, "OTHER_INCOME", None, "income"),
    (3, "COST_OF_SALES", None, "cost"),
    (12, "EXPENSE", None, "cost"),
    (2, "OTHER_EXPENSE", None, "cost"),
    (1, "ASSET", "CASH", "cash"),
    (1, "ASSET", "CASH", "fixed"),
    (2, "ASSET", "OPERATING", "flow"),
    (2, "ASSET", "INVESTING", "flow"),
    (2, "LIABILITY", "OPERATING", "flow"),
    (2, "LIABILITY", "FINANCING", "flow"),
    (1, "EQUITY", None, "retained"),
    (1, "EQUITY", None, "capital"),
    (1, "ASSET", None, "receivable"),
    (11, "ASSET", None, "fixed"),
    (1, "LIABILITY", None, "payable"),
    (7, "LIABILITY", None, "fixed"),
    (4, "EQUITY", None, "fixed"),
)
# Names that mark the accounts existing only through accruals, whose CASH-basis balance is zero.
_ACCRUAL_NAMES = {"receivable": "Accounts receivable", "payable": "Accounts payable"}
ACCOUNTS_PER_COMPANY = sum(group[0] for group in _ACCOUNT_GROUPS)
PROFIT_AND_LOSS_ACCOUNTS = sum(g[0] for g in _ACCOUNT_GROUPS if g[3] in ("income", "cost"))
CASH_FLOW_ACCOUNTS = sum(g[0] for g in _ACCOUNT_GROUPS if g[3] == "flow")


@dataclasses.dataclass(frozen=True)
class SnapshotSize:
    """The size of a synthetic snapshot: companies and statement months per company."""

    companies: int
    months: int = 36

    def __post_init__(self) -> None:
        if self.companies < 1:
            raise ValueError(f"companies must be at least 1, got {self.companies!r}")
        if self.months < 2:
            raise ValueError(f"months must be at least 2 (an opening month and one checked), got {self.months!r}")

    @property
    def budget_months(self) -> int:
        return min(12, self.months)

    @property
    def statement_rows(self) -> int:
        """Rows of the three statement tables: actuals on both bases plus the budget P&L."""
        balance_sheet = ACCOUNTS_PER_COMPANY - PROFIT_AND_LOSS_ACCOUNTS
        per_basis_month = PROFIT_AND_LOSS_ACCOUNTS + balance_sheet + CASH_FLOW_ACCOUNTS
        actuals = per_basis_month * self.months * 2
        budget = PROFIT_AND_LOSS_ACCOUNTS * self.budget_months * 2
        return self.companies * (actuals + budget)

    @property
    def last_month(self) -> dt.date:
        return _month_end(FIRST_DATA_MONTH, self.months - 1)

    @property
    def as_of(self) -> dt.date:
        """The run date whose checked range ends with ``last_month``."""
        return self.last_month + dt.timedelta(days=1)

    @property
    def checked_months(self) -> int:
        """Months a run checks; the first data month is only their opening balance."""
        return self.months - 1


@dataclasses.dataclass(frozen=True)
class SyntheticSnapshot:
    warehouse: Path
    snapshot_id: str
    size: SnapshotSize
    statement_rows: int
    exchanges: int
    body_bytes: int
    seconds: float


def _month_end(first: dt.date, offset: int) -> dt.date:
    index = first.year * 12 + first.month - 1 + offset + 1
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, 1) - dt.timedelta(days=1)


def account_rows() -> list[tuple[int, str, str, str, str | None, str]]:
    """Return the chart of every company: order, id, name, type, category and role."""
    rows = []
    for count, account_type, category, role in _ACCOUNT_GROUPS:
        for _ in range(count):
            order = len(rows) + 1
            number = 1000 + order * 10
            default_name = f"{account_type.title().replace('_', ' ')} account {number}"
            name = _ACCRUAL_NAMES.get(role, default_name)
            rows.append((order, f"A{number}", name, account_type, category, role))
    return rows


def generate_snapshot(path: Path, size: SnapshotSize) -> SyntheticSnapshot:
    """Create (or add to) the warehouse at ``path`` and write one synthetic snapshot into it."""
    started = time.perf_counter()
    with Warehouse.open(path) as warehouse:
        snapshot_id = warehouse.begin_snapshot(
            base_url=BASE_URL,
            command="validate",
            as_of=size.as_of,
            first_month=_month_end(FIRST_DATA_MONTH, 1),
            last_month=size.last_month,
            spec_title="Reach API",
            spec_version="1.0.3",
        )
        connection = warehouse.connection
        connection.execute("SET enable_progress_bar = false")
        _create_inputs(connection, size)
        for statement in _GENERATION_STEPS:
            connection.execute(statement)
        for name, source in _TYPED_SOURCES.items():
            available = {column[0] for column in connection.execute(f"{source} LIMIT 0").description}
            connection.execute(_typed_insert(name, available), {"snapshot_id": snapshot_id})
        connection.execute(_EXCHANGES_SQL, {"snapshot_id": snapshot_id, "started_at": STARTED_AT})
        connection.execute(_BODIES_SQL, {"snapshot_id": snapshot_id})
        connection.execute(_BYTES_SQL, {"snapshot_id": snapshot_id})
        statement_rows, exchanges, body_bytes = connection.execute(
            _TOTALS_SQL, {"snapshot_id": snapshot_id}
        ).fetchone()
        connection.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    log.info("generated snapshot %s: %d statement rows in %.1f s", snapshot_id, statement_rows, seconds)
    return SyntheticSnapshot(
        Path(path), snapshot_id, size, int(statement_rows), int(exchanges), int(body_bytes), seconds
    )


def _create_inputs(connection, size: SnapshotSize) -> None:  # noqa: ANN001  # DuckDBPyConnection
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE bench_accounts (account_order INTEGER, account_id VARCHAR, "
        "account_name VARCHAR, account_type VARCHAR, cash_flow_category VARCHAR, role VARCHAR)"
    )
    connection.executemany("INSERT INTO bench_accounts VALUES (?, ?, ?, ?, ?, ?)", account_rows())
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE bench_size AS SELECT $companies::INTEGER AS companies, "
        "$months::INTEGER AS months, $budget_months::INTEGER AS budget_months, "
        "$first_month::DATE AS first_month",
        {
            "companies": size.companies,
            "months": size.months,
            "budget_months": size.budget_months,
            "first_month": FIRST_DATA_MONTH,
        },
    )


# Money from a hash: ``_cents(h, low, spread)`` is low + (h mod spread) cents, as DECIMAL(18, 2).
def _cents(hash_sql: str, low: int, spread: int) -> str:
    return f"CAST({low} + CAST(({hash_sql}) % {spread} AS DECIMAL(18, 0)) * 0.01 AS DECIMAL(18, 2))"


_INCOME = _cents("hash(c.company_index, a.account_order, m.month_index, b.basis)", 20000, 2000000)
_COST = _cents("hash(c.company_index, a.account_order, m.month_index, b.basis)", 1000, 400000)
_BUDGET_INCOME = _cents("hash('budget', c.company_index, a.account_order, m.month_index, b.basis)", 21000, 2000000)
_BUDGET_COST = _cents("hash('budget', c.company_index, a.account_order, m.month_index, b.basis)", 1100, 400000)
_FLOW = _cents("hash(c.company_index, a.account_order, m.month_index, b.basis)", -10000, 2000001)
_OPENING = _cents("hash('opening', c.company_index, a.account_order, b.basis)", 100000, 100000000)
_METRIC = _cents("hash('metric', c.company_index, n.metric_order, m.month_index, x.budget_id)", 10, 100000)

_GENERATION_STEPS = (
    """
    CREATE OR REPLACE TEMP TABLE bench_companies AS
    SELECT
        i AS company_index,
        printf('C%05d', i) AS company_id,
        printf('Synthetic Company %05d', i) AS company_name,
        CASE WHEN i % 2 = 0 THEN 12 ELSE 1 END AS fiscal_month_end,
        ['USD', 'CAD', 'EUR', 'GBP'][i % 4 + 1] AS currency
    FROM range(1, (SELECT companies FROM bench_size) + 1) AS r(i)
    """,
    """
    CREATE OR REPLACE TEMP TABLE bench_months AS
    SELECT
        m AS month_index,
        CAST(last_day(first_month + to_months(CAST(m AS INTEGER))) AS DATE) AS month_end,
        m >= months - budget_months AS in_budget
    FROM bench_size, range(0, (SELECT months FROM bench_size)) AS r(m)
    """,
    """
    CREATE OR REPLACE TEMP TABLE bench_bases AS
    SELECT * FROM (VALUES ('ACCRUAL', 0), ('CASH', 1)) AS t(basis, basis_order)
    """,
    # Profit and loss actuals, then each month's net income.
    f"""
    CREATE OR REPLACE TEMP TABLE bench_pl AS
    SELECT c.company_index, b.basis, m.month_index, a.account_order,
           CASE WHEN a.role = 'income' THEN {_INCOME} ELSE {_COST} END AS amount,
           CASE WHEN a.role = 'income' THEN 1 ELSE -1 END AS sign
    FROM bench_companies AS c, bench_bases AS b, bench_months AS m, bench_accounts AS a
    WHERE a.role IN ('income', 'cost')
    """,
    """
    CREATE OR REPLACE TEMP TABLE bench_net_income AS
    SELECT n.*,
           sum(n.net_income) OVER (
               PARTITION BY n.company_index, n.basis ORDER BY n.month_index) AS cumulative,
           sum(n.net_income) OVER (
               PARTITION BY n.company_index, n.basis, n.fiscal_year ORDER BY n.month_index)
               AS year_to_date
    FROM (
        SELECT p.company_index, p.basis, p.month_index,
               year(m.month_end) + CAST(month(m.month_end) > c.fiscal_month_end AS INTEGER)
                   AS fiscal_year,
               sum(p.sign * p.amount) AS net_income
        FROM bench_pl AS p
        JOIN bench_months AS m USING (month_index)
        JOIN bench_companies AS c USING (company_index)
        GROUP BY ALL
    ) AS n
    """,
    # Cash flow of the categorized accounts, and its running total per account.
    f"""
    CREATE OR REPLACE TEMP TABLE bench_flows AS
    SELECT c.company_index, b.basis, m.month_index, a.account_order, a.account_type,
           {_FLOW} AS flow
    FROM bench_companies AS c, bench_bases AS b, bench_months AS m, bench_accounts AS a
    WHERE a.role = 'flow'
    """,
    f"""
    CREATE OR REPLACE TEMP TABLE bench_opening AS
    SELECT c.company_index, b.basis, a.account_order, a.role,
           CASE WHEN a.account_type = 'ASSET' THEN 1 ELSE -1 END AS side,
           CASE WHEN a.role IN ('receivable', 'payable') AND b.basis = 'CASH' THEN 0
                ELSE {_OPENING} END AS opening
    FROM bench_companies AS c, bench_bases AS b, bench_accounts AS a
    WHERE a.role IN ('cash', 'fixed', 'flow', 'receivable', 'payable')
    """,
    # Balance sheet: opening balance plus the movement up to the month. Share capital makes the
    # opening assets equal liabilities plus equity; retained earnings hold the net income of the
    # closed fiscal years.
    """
    CREATE OR REPLACE TEMP TABLE bench_bs AS
    WITH flow_totals AS (
        SELECT company_index, basis, month_index, sum(flow) AS flow
        FROM bench_flows GROUP BY ALL
    ),
    cash_moves AS (
        SELECT n.company_index, n.basis, n.month_index,
               sum(n.net_income + f.flow) OVER (
                   PARTITION BY n.company_index, n.basis ORDER BY n.month_index) AS moved
        FROM bench_net_income AS n
        JOIN flow_totals AS f USING (company_index, basis, month_index)
    ),
    flow_moves AS (
        SELECT company_index, basis, month_index, account_order,
               sum(CASE WHEN account_type = 'ASSET' THEN -flow ELSE flow END) OVER (
                   PARTITION BY company_index, basis, account_order ORDER BY month_index)
                   AS moved
        FROM bench_flows
    ),
    capital AS (
        SELECT company_index, basis, sum(side * opening) AS opening
        FROM bench_opening GROUP BY ALL
    )
    SELECT o.company_index, o.basis, m.month_index, o.account_order,
           o.opening + coalesce(cm.moved, fm.moved, 0) AS amount
    FROM bench_opening AS o
    CROSS JOIN bench_months AS m
    LEFT JOIN cash_moves AS cm
        ON o.role = 'cash' AND cm.company_index = o.company_index AND cm.basis = o.basis
        AND cm.month_index = m.month_index
    LEFT JOIN flow_moves AS fm
        ON o.role = 'flow' AND fm.company_index = o.company_index AND fm.basis = o.basis
        AND fm.month_index = m.month_index AND fm.account_order = o.account_order
    UNION ALL
    SELECT n.company_index, n.basis, n.month_index, a.account_order,
           CASE WHEN a.role = 'retained' THEN n.cumulative - n.year_to_date ELSE k.opening END
    FROM bench_net_income AS n
    JOIN capital AS k USING (company_index, basis)
    CROSS JOIN bench_accounts AS a
    WHERE a.role IN ('retained', 'capital')
    """,
    f"""
    CREATE OR REPLACE TEMP TABLE bench_budget_pl AS
    SELECT c.company_index, b.basis, m.month_index, a.account_order,
           CASE WHEN a.role = 'income' THEN {_BUDGET_INCOME} ELSE {_BUDGET_COST} END AS amount
    FROM bench_companies AS c, bench_bases AS b, bench_months AS m, bench_accounts AS a
    WHERE a.role IN ('income', 'cost') AND m.in_budget
    """,
    # Every request of the snapshot, numbered as the fetch numbers them: user info first, then
    # per company its information, the five lists, the statements on both bases, the budget
    # P&L on both bases and the metric values for actuals and the budget.
    """
    CREATE OR REPLACE TEMP TABLE bench_requests AS
    WITH layout(request_order, operation_id, dataset, method, endpoint, basis, budget_id, listing) AS (
        VALUES
            (0, 'getCompany', 'company', 'GET', '', NULL, NULL, false),
            (1, 'listChartOfAccounts', 'chart_of_accounts', 'GET', '/chart-of-accounts', NULL, NULL, true),
            (2, 'listBudgets', 'budgets', 'GET', '/budgets', NULL, NULL, true),
            (3, 'listClasses', 'classes', 'GET', '/classes', NULL, NULL, true),
            (4, 'listDepartments', 'departments', 'GET', '/departments', NULL, NULL, true),
            (5, 'listNonFinancialMetrics', 'non_financial_metrics', 'GET', '/non-financial-metrics', NULL, NULL, true),
            (6, 'getProfitAndLoss', 'profit_and_loss', 'GET', '/profit-and-loss', 'ACCRUAL', NULL, false),
            (7, 'getBalanceSheet', 'balance_sheet', 'GET', '/balance-sheet', 'ACCRUAL', NULL, false),
            (8, 'getCashFlow', 'cash_flow', 'GET', '/cash-flow', 'ACCRUAL', NULL, false),
            (9, 'getProfitAndLoss', 'profit_and_loss', 'GET', '/profit-and-loss', 'CASH', NULL, false),
            (10, 'getBalanceSheet', 'balance_sheet', 'GET', '/balance-sheet', 'CASH', NULL, false),
            (11, 'getCashFlow', 'cash_flow', 'GET', '/cash-flow', 'CASH', NULL, false),
            (12, 'getProfitAndLoss', 'profit_and_loss', 'GET', '/profit-and-loss', 'ACCRUAL', 'B001', false),
            (13, 'getProfitAndLoss', 'profit_and_loss', 'GET', '/profit-and-loss', 'CASH', 'B001', false),
            (14, 'getNonFinancialValues', 'non_financial_values', 'POST', '/non-financial', NULL, NULL, false),
            (15, 'getNonFinancialValues', 'non_financial_values', 'POST', '/non-financial', NULL, 'B001', false)
    ),
    window_dates AS (
        SELECT min(month_end) AS first_end, max(month_end) AS last_end,
               CAST(date_trunc('month', min(month_end)) AS DATE) AS statement_start,
               CAST(date_trunc('month', min(month_end) FILTER (WHERE month_index = 1)) AS DATE)
                   AS metric_start
        FROM bench_months
    )
    SELECT 1 AS exchange_id, 'getUserInfo' AS operation_id, 'user_info' AS dataset,
           CAST(NULL AS VARCHAR) AS company_id, CAST(NULL AS INTEGER) AS company_index,
           'GET' AS method, '/oauth2/user-info' AS path, CAST(NULL AS VARCHAR) AS basis,
           CAST(NULL AS VARCHAR) AS budget_id, CAST(NULL AS INTEGER) AS page_offset,
           CAST(NULL AS INTEGER) AS page_limit, CAST(NULL AS DATE) AS start_date,
           CAST(NULL AS DATE) AS end_date
    UNION ALL
    SELECT
        2 + (c.company_index - 1) * 16 + l.request_order,
        l.operation_id, l.dataset, c.company_id, c.company_index, l.method,
        '/companies/' || c.company_id || l.endpoint || CASE
            WHEN l.listing THEN '?offset=0&limit=1000'
            WHEN l.basis IS NOT NULL THEN
                '?StartDate=' || strftime(w.statement_start, '%Y-%m-%d')
                || '&EndDate=' || strftime(w.last_end, '%Y-%m-%d')
                || '&AccountingBasis=' || l.basis
                || coalesce('&BudgetId=' || l.budget_id, '')
            ELSE ''
        END,
        l.basis, l.budget_id,
        CASE WHEN l.listing THEN 0 END, CASE WHEN l.listing THEN 1000 END,
        CASE
            WHEN l.basis IS NOT NULL THEN w.statement_start
            WHEN l.operation_id = 'getNonFinancialValues' THEN w.metric_start
        END,
        CASE WHEN l.basis IS NOT NULL OR l.operation_id = 'getNonFinancialValues' THEN w.last_end END
    FROM bench_companies AS c, layout AS l, window_dates AS w
    """,
    # Every statement row with the exchange whose body carries it, in body order.
    """
    CREATE OR REPLACE TEMP TABLE bench_statement_rows AS
    WITH rows AS (
        SELECT 'getProfitAndLoss' AS operation_id, company_index, basis, NULL AS budget_id,
               month_index, account_order, amount FROM bench_pl
        UNION ALL
        SELECT 'getBalanceSheet', company_index, basis, NULL, month_index, account_order, amount
        FROM bench_bs
        UNION ALL
        SELECT 'getCashFlow', company_index, basis, NULL, month_index, account_order, flow
        FROM bench_flows
        UNION ALL
        SELECT 'getProfitAndLoss', company_index, basis, 'B001', month_index, account_order, amount
        FROM bench_budget_pl
    )
    SELECT q.exchange_id, q.dataset, q.company_id, r.basis, r.budget_id, a.account_id,
           m.month_end AS date, r.amount, r.month_index, r.account_order
    FROM rows AS r
    JOIN bench_requests AS q
        ON q.company_index = r.company_index AND q.operation_id = r.operation_id
        AND q.basis = r.basis AND q.budget_id IS NOT DISTINCT FROM r.budget_id
    JOIN bench_months AS m USING (month_index)
    JOIN bench_accounts AS a USING (account_order)
    ORDER BY q.exchange_id, r.month_index, r.account_order
    """,
    f"""
    CREATE OR REPLACE TEMP TABLE bench_metric_values AS
    WITH metrics(metric_order, non_financial_id) AS (VALUES (1, 'NF01'), (2, 'NF02'))
    SELECT x.exchange_id, x.company_id, x.budget_id, n.non_financial_id, m.month_end AS date,
           {_METRIC} AS value, m.month_index, n.metric_order
    FROM bench_requests AS x
    JOIN bench_companies AS c USING (company_index)
    CROSS JOIN metrics AS n
    JOIN bench_months AS m ON m.month_index >= 1 AND (x.budget_id IS NULL OR m.in_budget)
    WHERE x.operation_id = 'getNonFinancialValues'
    ORDER BY x.exchange_id, m.month_index, n.metric_order
    """,
)

# The typed rows of each dataset in body order: a SELECT giving the dataset's own columns and
# whichever request context columns apply (exchange_id, company_id, basis, budget_id).
_TYPED_SOURCES: dict[str, str] = {
    "user_info": """
        SELECT 1 AS exchange_id, c.company_id, c.company_name FROM bench_companies AS c
        ORDER BY c.company_index
    """,
    "company": """
        SELECT q.exchange_id, q.company_id, c.company_name, c.fiscal_month_end, c.currency
        FROM bench_requests AS q JOIN bench_companies AS c USING (company_index)
        WHERE q.operation_id = 'getCompany' ORDER BY q.exchange_id
    """,
    "chart_of_accounts": """
        SELECT q.exchange_id, q.company_id, a.account_id,
               substr(a.account_id, 2) AS account_number, a.account_name, a.account_type,
               NULL AS parent_account_id, true AS is_active, a.cash_flow_category
        FROM bench_requests AS q CROSS JOIN bench_accounts AS a
        WHERE q.operation_id = 'listChartOfAccounts' ORDER BY q.exchange_id, a.account_order
    """,
    "budgets": """
        SELECT q.exchange_id, q.company_id, 'B001' AS budget_id,
               'Operating Budget' AS budget_name,
               (SELECT CAST(date_trunc('month', min(month_end)) AS DATE)
                FROM bench_months WHERE in_budget) AS start_date,
               (SELECT max(month_end) FROM bench_months) AS end_date
        FROM bench_requests AS q WHERE q.operation_id = 'listBudgets' ORDER BY q.exchange_id
    """,
    "classes": """
        SELECT q.exchange_id, q.company_id, s.id AS class_id, s.name AS class_name,
               NULL AS parent_class_id, true AS is_active
        FROM bench_requests AS q
        CROSS JOIN (VALUES (1, 'CL01', 'Products'), (2, 'CL02', 'Services')) AS s(n, id, name)
        WHERE q.operation_id = 'listClasses' ORDER BY q.exchange_id, s.n
    """,
    "departments": """
        SELECT q.exchange_id, q.company_id, s.id AS department_id, s.name AS department_name,
               NULL AS parent_department_id, true AS is_active
        FROM bench_requests AS q
        CROSS JOIN (VALUES (1, 'DP01', 'Sales'), (2, 'DP02', 'Operations')) AS s(n, id, name)
        WHERE q.operation_id = 'listDepartments' ORDER BY q.exchange_id, s.n
    """,
    "non_financial_metrics": """
        SELECT q.exchange_id, q.company_id, s.id AS non_financial_id, s.name, s.unit
        FROM bench_requests AS q
        CROSS JOIN (VALUES (1, 'NF01', 'Headcount', 'COUNT'),
                           (2, 'NF02', 'Active customers', 'COUNT')) AS s(n, id, name, unit)
        WHERE q.operation_id = 'listNonFinancialMetrics' ORDER BY q.exchange_id, s.n
    """,
    "non_financial_values": """
        SELECT exchange_id, company_id, budget_id, non_financial_id, date, value
        FROM bench_metric_values ORDER BY exchange_id, month_index, metric_order
    """,
    "profit_and_loss": """
        SELECT exchange_id, company_id, basis, budget_id, account_id, date, amount
        FROM bench_statement_rows WHERE dataset = 'profit_and_loss'
        ORDER BY exchange_id, month_index, account_order
    """,
    "balance_sheet": """
        SELECT exchange_id, company_id, basis, budget_id, account_id, date, amount
        FROM bench_statement_rows WHERE dataset = 'balance_sheet'
        ORDER BY exchange_id, month_index, account_order
    """,
    "cash_flow": """
        SELECT exchange_id, company_id, basis, budget_id, account_id, date, amount
        FROM bench_statement_rows WHERE dataset = 'cash_flow'
        ORDER BY exchange_id, month_index, account_order
    """,
}


def _typed_insert(name: str, source_columns: set[str]) -> str:
    """Return the INSERT of one typed table from its source; absent columns are NULL."""
    columns = table_columns(BY_NAME[name])
    values = []
    for column in columns:
        if column.name == "snapshot_id":
            values.append("$snapshot_id")
        elif column.name in source_columns:
            values.append(f'CAST(s."{column.name}" AS {column.sql_type})')
        else:
            values.append(f"CAST(NULL AS {column.sql_type})")
    names = ", ".join(f'"{column.name}"' for column in columns)
    return f'INSERT INTO "{name}" ({names}) SELECT {", ".join(values)} FROM ({_TYPED_SOURCES[name]}) AS s'


_EXCHANGES_SQL = """
INSERT INTO http_exchanges (snapshot_id, exchange_id, operation_id, dataset, company_id, method,
    path, basis, budget_id, class_id, department_id, page_offset, page_limit, start_date,
    end_date, attempt, status_code, content_type, latency_ms, bytes, error, started_at)
SELECT $snapshot_id, exchange_id, operation_id, dataset, company_id, method, path, basis,
    budget_id, NULL, NULL, page_offset, page_limit, start_date, end_date, 1, 200,
    'application/json', 1.0, NULL, NULL, $started_at
FROM bench_requests ORDER BY exchange_id
"""

# JSON text of the generated values. Every generated id and name is plain ASCII without quotes
# or backslashes, so strings need no escaping.
def _text(sql: str) -> str:
    return f"'\"' || {sql} || '\"'"


def _nullable(sql: str) -> str:
    return f"coalesce({_text(sql)}, 'null')"


def _date(sql: str) -> str:
    return _text(f"strftime({sql}, '%Y-%m-%d')")


def _json_object(fields: list[tuple[str, str]]) -> str:
    """Return SQL that writes a JSON object from (field name, SQL of its JSON text) pairs."""
    parts = []
    for position, (name, value_sql) in enumerate(fields):
        opening = "{" if position == 0 else ","
        parts.append(f"'{opening}\"{name}\":' || {value_sql}")
    return " || ".join(parts) + " || '}'"


def _items(item_sql: str, order: str) -> str:
    """Return SQL that joins the items of a group into the text of a JSON array's elements."""
    return f"coalesce(string_agg({item_sql}, ',' ORDER BY {order}), '')"


def _page(item_sql: str) -> str:
    """Return SQL that writes one list page holding every row of the group."""
    return (
        "'{\"Data\":[' || " + _items(item_sql, "rowid") + " || "
        "'],\"Pagination\":{\"offset\":0,\"limit\":1000,\"total\":' || count(*) || '}}'"
    )


_USER_COMPANY = _json_object([("CompanyId", _text("company_id")), ("CompanyName", _text("company_name"))])
_COMPANY = _json_object([
    ("CompanyId", _text("company_id")),
    ("CompanyName", _text("company_name")),
    ("FiscalMonthEnd", "fiscal_month_end"),
    ("Currency", _text("currency")),
])
_ACCOUNT = _json_object([
    ("AccountId", _text("account_id")),
    ("AccountNumber", _nullable("account_number")),
    ("AccountName", _text("account_name")),
    ("AccountType", _text("account_type")),
    ("ParentAccountId", _nullable("parent_account_id")),
    ("IsActive", "is_active"),
    ("CashFlowCategory", _nullable("cash_flow_category")),
])
_BUDGET = _json_object([
    ("BudgetId", _text("budget_id")),
    ("BudgetName", _text("budget_name")),
    ("StartDate", _date("start_date")),
    ("EndDate", _date("end_date")),
])
_CLASS = _json_object([
    ("ClassId", _text("class_id")),
    ("ClassName", _text("class_name")),
    ("ParentClassId", _nullable("parent_class_id")),
    ("IsActive", "is_active"),
])
_DEPARTMENT = _json_object([
    ("DepartmentId", _text("department_id")),
    ("DepartmentName", _text("department_name")),
    ("ParentDepartmentId", _nullable("parent_department_id")),
    ("IsActive", "is_active"),
])
_METRIC = _json_object([("NonFinancialId", _text("non_financial_id")), ("Name", _text("name")), ("Unit", _nullable("unit"))])
_METRIC_VALUE = _json_object([
    ("NonFinancialId", _text("v.non_financial_id")),
    ("Date", _date("v.date")),
    ("Value", "CAST(v.value AS VARCHAR)"),
])
_STATEMENT_ROW = _json_object([
    ("AccountId", _text("account_id")),
    ("Date", _date("date")),
    ("Amount", "CAST(amount AS VARCHAR)"),
])
_USER_INFO_OPENING = '\'{"sub":"bench-user","name":"Bench User","email":"bench@example.invalid","Companies":[\''
_DATA_OPENING = "'{\"Data\":['"
_DATA_CLOSING = "']}'"

_BODIES_SQL = f"""
INSERT INTO raw_responses (snapshot_id, exchange_id, body)
SELECT $snapshot_id, exchange_id, body FROM (
    SELECT 1 AS exchange_id,
        {_USER_INFO_OPENING} || {_items(_USER_COMPANY, "company_index")} || {_DATA_CLOSING} AS body
    FROM bench_companies
    UNION ALL
    SELECT exchange_id, {_COMPANY} FROM company WHERE snapshot_id = $snapshot_id
    UNION ALL
    SELECT exchange_id, {_page(_ACCOUNT)}
    FROM chart_of_accounts WHERE snapshot_id = $snapshot_id GROUP BY exchange_id
    UNION ALL
    SELECT exchange_id, {_page(_BUDGET)}
    FROM budgets WHERE snapshot_id = $snapshot_id GROUP BY exchange_id
    UNION ALL
    SELECT exchange_id, {_page(_CLASS)}
    FROM classes WHERE snapshot_id = $snapshot_id GROUP BY exchange_id
    UNION ALL
    SELECT exchange_id, {_page(_DEPARTMENT)}
    FROM departments WHERE snapshot_id = $snapshot_id GROUP BY exchange_id
    UNION ALL
    SELECT exchange_id, {_page(_METRIC)}
    FROM non_financial_metrics WHERE snapshot_id = $snapshot_id GROUP BY exchange_id
    UNION ALL
    SELECT q.exchange_id,
        {_DATA_OPENING} || {_items(_METRIC_VALUE, "v.month_index, v.metric_order")} || {_DATA_CLOSING}
    FROM bench_requests AS q
    LEFT JOIN bench_metric_values AS v USING (exchange_id)
    WHERE q.operation_id = 'getNonFinancialValues'
    GROUP BY q.exchange_id
    UNION ALL
    SELECT exchange_id,
        {_DATA_OPENING} || {_items(_STATEMENT_ROW, "month_index, account_order")} || {_DATA_CLOSING}
    FROM bench_statement_rows GROUP BY exchange_id
) ORDER BY exchange_id
"""

_BYTES_SQL = """
UPDATE http_exchanges AS e SET bytes = strlen(r.body)
FROM raw_responses AS r
WHERE e.snapshot_id = $snapshot_id AND r.snapshot_id = e.snapshot_id
  AND r.exchange_id = e.exchange_id
"""

_TOTALS_SQL = """
SELECT
    (SELECT count(*) FROM profit_and_loss WHERE snapshot_id = $snapshot_id)
        + (SELECT count(*) FROM balance_sheet WHERE snapshot_id = $snapshot_id)
        + (SELECT count(*) FROM cash_flow WHERE snapshot_id = $snapshot_id),
    (SELECT count(*) FROM http_exchanges WHERE snapshot_id = $snapshot_id),
    (SELECT sum(strlen(body)) FROM raw_responses WHERE snapshot_id = $snapshot_id)
"""
