"""Reconcile the API's figures with the partner's own export (``--expected FILE``).

``accuracy.expected_figures`` compares each figure of the file (see ``checks.expected_file``)
with the actuals the API served for the same company, account, month end and basis. That is
the month's activity on the Profit and Loss or Cash Flow, and the closing balance on the
Balance Sheet. A missing API row counts as zero. The comparison is exact, with zero
tolerance, because both sides are exact decimals. A figure is compared only when the snapshot
fetched that statement and basis for a window containing its month, and the message counts the
others.

Findings, per company: one per statement with the compared figures, listing each differing
account and month with both values (``expected`` from the file, ``actual`` from the API,
``delta`` = actual - expected). A failed ``chart_of_accounts`` finding lists the file rows that
name an account the chart does not list, or an AccountNumber that several accounts share.
Without ``--expected`` the check returns no finding.
"""

from __future__ import annotations

import dataclasses
import logging

import duckdb
import pandas as pd

from checks.expected_file import ExpectedFigure, read_expected_file
from checks.rules import (
    ACCOUNTS_SQL,
    CASE_COLUMNS,
    actuals_sql,
    case_text,
    counted,
    describe,
    fetched_sql,
    query,
    sql_list,
)
from checks.schemas import context_company_ids
from reach_dq.datasets import BALANCE_SHEET_TYPES, PROFIT_AND_LOSS_TYPES
from reach_dq.exceptions import CheckRunError
from reach_dq.findings import MAX_FAILURE_CASES, Category, FailureCase, Finding, Outcome
from reach_dq.runner import Check, CheckContext

log = logging.getLogger(__name__)

CHECK = "accuracy.expected_figures"
DATASETS = ("profit_and_loss", "balance_sheet", "cash_flow", "chart_of_accounts")

_FRAME = "reach_dq_expected_figures"

# One row per figure of the file: the account it resolves to, the statement it is compared
# with, and ``status``: unmatched, ambiguous, skipped (outside the fetched windows) or
# compared.
_CLASSIFIED = f"""
WITH expected AS (
    SELECT CAST(line AS BIGINT) AS line, CAST(company_id AS VARCHAR) AS company_id,
           CAST(account AS VARCHAR) AS account, CAST(date AS DATE) AS date,
           CAST(basis AS VARCHAR) AS basis, CAST(amount AS DECIMAL(38, 10)) AS amount,
           CAST(statement AS VARCHAR) AS statement
    FROM {_FRAME}
),
accounts AS ({ACCOUNTS_SQL}),
numbers AS (
    SELECT company_id, account_number, count(DISTINCT account_id) AS matches,
           min(account_id) AS account_id
    FROM chart_of_accounts
    WHERE snapshot_id = $snapshot_id AND account_number IS NOT NULL AND account_id IS NOT NULL
    GROUP BY ALL
),
actuals AS ({actuals_sql()}),
fetched AS ({fetched_sql()}),
resolved AS (
    SELECT
        e.*,
        coalesce(by_id.account_id, by_number.account_id) AS account_id,
        CASE WHEN by_id.account_id IS NOT NULL THEN 1 ELSE coalesce(by_number.matches, 0) END
            AS matches,
        coalesce(
            e.statement,
            CASE
                WHEN a.account_type IN ({sql_list(BALANCE_SHEET_TYPES)}) THEN 'balance_sheet'
                WHEN a.account_type IN ({sql_list(PROFIT_AND_LOSS_TYPES)}) THEN 'profit_and_loss'
            END
        ) AS dataset
    FROM expected AS e
    LEFT JOIN accounts AS by_id ON by_id.company_id = e.company_id AND by_id.account_id = e.account
    LEFT JOIN numbers AS by_number
        ON by_id.account_id IS NULL AND by_number.company_id = e.company_id
        AND by_number.account_number = e.account
    LEFT JOIN accounts AS a
        ON a.company_id = e.company_id
        AND a.account_id = coalesce(by_id.account_id, by_number.account_id)
),
classified AS (
    SELECT
        r.line, r.company_id, r.account, r.account_id, r.date, r.basis, r.amount,
        coalesce(s.amount, 0) AS served,
        CASE WHEN r.matches = 1 AND r.dataset IS NOT NULL THEN r.dataset
             ELSE 'chart_of_accounts' END AS dataset,
        CASE
            WHEN r.matches = 0 THEN 'unmatched'
            WHEN r.matches > 1 OR r.dataset IS NULL THEN 'ambiguous'
            WHEN EXISTS (
                SELECT 1 FROM fetched AS f
                WHERE f.company_id = r.company_id AND f.dataset = r.dataset
                  AND f.basis = r.basis AND r.date BETWEEN f.start_date AND f.end_date)
                THEN 'compared'
            ELSE 'skipped'
        END AS status
    FROM resolved AS r
    LEFT JOIN actuals AS s
        ON s.dataset = r.dataset AND s.company_id = r.company_id AND s.basis = r.basis
        AND s.account_id = r.account_id AND s.date = r.date AND r.matches = 1
)"""

_COUNTS_SQL = f"""{_CLASSIFIED}
SELECT company_id, dataset, count(*) FILTER (WHERE status = 'compared') AS compared,
       count(*) FILTER (WHERE status = 'skipped') AS skipped,
       count(*) FILTER (WHERE status IN ('unmatched', 'ambiguous')) AS unresolved
FROM classified GROUP BY ALL ORDER BY ALL
"""

# Case rows: differing figures carry their amounts, unresolved accounts a text. Amounts stay
# DECIMAL here and are formatted in Python, so both kinds keep their exact form.
_CASE_FIELDS = (*CASE_COLUMNS, "expected_text", "actual_text")
_CASES_SQL = f"""{_CLASSIFIED},
cases AS (
    SELECT company_id, dataset, account_id, date, basis, 'Amount' AS field,
           amount AS expected, served AS actual, served - amount AS delta,
           NULL AS expected_text, NULL AS actual_text, line
    FROM classified WHERE status = 'compared' AND served <> amount
    UNION ALL
    SELECT company_id, dataset, account, date, basis, 'account', NULL, NULL, NULL,
           CASE status WHEN 'unmatched'
                THEN 'an AccountId or AccountNumber listed by the chart of accounts'
                ELSE 'one account with a single AccountType' END,
           account || ' (line ' || line || ' of the expected file)', line
    FROM classified WHERE status IN ('unmatched', 'ambiguous')
)
SELECT {", ".join(_CASE_FIELDS)}, count(*) OVER (PARTITION BY company_id, dataset) AS total
FROM cases
QUALIFY row_number() OVER (PARTITION BY company_id, dataset ORDER BY date, basis, line)
    <= {MAX_FAILURE_CASES}
ORDER BY company_id, dataset, date, basis, line
"""


@dataclasses.dataclass(frozen=True)
class _Counts:
    compared: int
    skipped: int
    unresolved: int


def reconcile_checks() -> list[Check]:
    """Return the check that compares the API with the file named by ``--expected``."""
    return [Check(CHECK, Category.ACCURACY, DATASETS, _reconcile)]


def _reconcile(context: CheckContext) -> list[Finding]:
    if context.expected_path is None:
        return []
    figures = read_expected_file(context.expected_path)
    companies = context_company_ids(context)
    frame = _frame(figures, companies)

    known = set(companies)
    findings = [
        Finding(CHECK, Category.ACCURACY, "company", Outcome.NOT_EVALUATED,
                f"company {company_id!r} of the expected file is not in the snapshot",
                company_id)
        for company_id in sorted(set(frame["company_id"]) - known)
    ]
    counts, cases = _compare(context, frame[frame["company_id"].isin(known)])
    for key in sorted(counts):
        findings.append(_finding(key, counts[key], *cases.get(key, (0, []))))
    return findings


def _frame(figures: list[ExpectedFigure], companies: list[str]) -> pd.DataFrame:
    """Return the figures as text columns, each with its company resolved."""
    if any(figure.company_id is None for figure in figures) and len(companies) != 1:
        raise CheckRunError(
            f"the expected file has rows without company_id and the snapshot has "
            f"{len(companies)} companies; add a company_id column"
        )
    default = companies[0] if len(companies) == 1 else None
    columns = {
        "line": [figure.line for figure in figures],
        "company_id": [figure.company_id or default for figure in figures],
        "account": [figure.account for figure in figures],
        "date": [figure.date.isoformat() for figure in figures],
        "basis": [figure.basis for figure in figures],
        "amount": [format(figure.amount, "f") for figure in figures],
        "statement": [figure.statement for figure in figures],
    }
    return pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in columns.items()})


def _compare(
    context: CheckContext, frame: pd.DataFrame
) -> tuple[dict[tuple[str, str], _Counts], dict[tuple[str, str], tuple[int, list[FailureCase]]]]:
    connection: duckdb.DuckDBPyConnection = context.connection
    values = {"snapshot_id": context.snapshot_id}
    connection.register(_FRAME, frame)
    try:
        count_rows = query(connection, _COUNTS_SQL, values)
        case_rows = query(connection, _CASES_SQL, values)
    finally:
        connection.unregister(_FRAME)

    counts = {(row[0], row[1]): _Counts(*row[2:]) for row in count_rows}
    cases: dict[tuple[str, str], tuple[int, list[FailureCase]]] = {}
    for row in case_rows:
        case = dict(zip(_CASE_FIELDS, row[:-1], strict=True))
        key = (case.pop("company_id"), case.pop("dataset"))
        expected_text, actual_text = case.pop("expected_text"), case.pop("actual_text")
        values = {name: case_text(value) for name, value in case.items()}
        values["expected"] = values["expected"] or expected_text
        values["actual"] = values["actual"] or actual_text
        total, listed = cases.setdefault(key, (int(row[-1]), []))
        listed.append(FailureCase(company_id=key[0], **values))
    log.debug("%s: %d company-datasets compared", CHECK, len(counts))
    return counts, cases


def _finding(
    key: tuple[str, str], counts: _Counts, total: int, cases: list[FailureCase]
) -> Finding:
    company_id, dataset = key
    if dataset == "chart_of_accounts":
        message = (
            f"expected file names {counted(counts.unresolved, 'account')} of {company_id} "
            f"that the chart of accounts does not resolve; first {describe(cases[0])}"
        )
        return _make(dataset, company_id, Outcome.FAILED, message, total, cases)

    skipped = ""
    if counts.skipped:
        skipped = (
            f"; {counted(counts.skipped, 'figure')} outside the fetched months or bases "
            "were not compared"
        )
    if counts.compared == 0:
        message = f"no expected {dataset} figure of {company_id} could be compared{skipped}"
        return _make(dataset, company_id, Outcome.NOT_EVALUATED, message)

    compared = counted(counts.compared, "compared figure")
    if not cases:
        message = f"{dataset} of {company_id} matches the expected file in all {compared}{skipped}"
        return _make(dataset, company_id, Outcome.PASSED, message)
    message = (
        f"{dataset} of {company_id} differs from the expected file in {total} of {compared}"
        f"{skipped}; first {describe(cases[0])}"
    )
    return _make(dataset, company_id, Outcome.FAILED, message, total, cases)


def _make(
    dataset: str,
    company_id: str,
    outcome: Outcome,
    message: str,
    total: int = 0,
    cases: list[FailureCase] | None = None,
) -> Finding:
    return Finding(
        CHECK,
        Category.ACCURACY,
        dataset,
        outcome,
        message,
        company_id,
        failure_count=total,
        failure_cases=tuple(cases or ()),
    )
