"""Pandera schemas of the typed tables, and one formatting check per dataset.

Each schema describes the rows of one dataset as ``read_snapshot_frame`` returns them: the request
context columns ``snapshot_id``, ``company_id`` (and ``basis`` for statements) followed by the
dataset's own columns. The rules come from the Reach API contract. Required fields are non-null
and ids are non-empty strings. Enum columns contain one of their values, and the dates of
statements and metric values are month ends. Each record is unique within its snapshot and
company.

A check reads the columns its schema needs for the whole snapshot in one query, validates them
once with ``lazy=True`` and then splits the failure cases by company, so it returns one finding
per company. Bad data becomes failure cases, not an exception. Only a table that cannot be read
or validated raises, and the runner then records the check as not_evaluated.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import logging
import math
from collections.abc import Iterable
from typing import Any

import duckdb
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from checks import schema_rules as rules
from reach_dq.datasets import (
    ACCOUNT_TYPES,
    BASES,
    CASH_FLOW_CATEGORIES,
    DATASETS,
    MONEY,
    Column,
    Dataset,
)
from reach_dq.exceptions import CheckRunError
from reach_dq.findings import (
    Category,
    FailureCase,
    Finding,
    Outcome,
    count_of,
    request_scope,
)
from reach_dq.runner import Check, CheckContext
from reach_dq.warehouse.ddl import UNSTORED_COLUMN, scope_columns, table_columns
from reach_dq.warehouse.typed import accepted_values, unstored_json, unstored_text

log = logging.getLogger(__name__)

# Pandas dtypes that typed-table columns are coerced to. DuckDB returns different dtypes for one
# column depending on its content, for example int32 for an empty INTEGER column and Int32 for a
# filled one, or object for an all-NULL VARCHAR column and str for a filled one. So every schema
# column coerces.
_PANDAS_DTYPES = {
    "VARCHAR": str,
    "INTEGER": "Int64",
    "BIGINT": "Int64",
    "BOOLEAN": "boolean",
    "DATE": "datetime64[us]",
}

# Text columns that must not be empty strings when present. These are every id and the names
# that the contract marks non-empty.
_NON_EMPTY_TEXT = frozenset(
    {
        "company_id",
        "account_id",
        "parent_account_id",
        "budget_id",
        "class_id",
        "parent_class_id",
        "department_id",
        "parent_department_id",
        "non_financial_id",
        "company_name",
        "account_name",
        "budget_name",
    }
)

# Record key of each dataset within one snapshot and company. The first column is the id that a
# duplicate's failure case reports. Statement rows and metric values also carry the request
# context, because one company is fetched once per basis and scenario.
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "user_info": ("company_id",),
    "chart_of_accounts": ("account_id",),
    "budgets": ("budget_id",),
    "classes": ("class_id",),
    "departments": ("department_id",),
    "non_financial_metrics": ("non_financial_id",),
    "non_financial_values": (
        "non_financial_id",
        "date",
        "budget_id",
        "class_id",
        "department_id",
    ),
    "profit_and_loss": ("account_id", "date", "basis", "budget_id", "class_id", "department_id"),
    "balance_sheet": ("account_id", "date", "basis", "budget_id", "class_id", "department_id"),
    "cash_flow": ("account_id", "date", "basis", "budget_id", "class_id", "department_id"),
}

_UNIQUENESS = "multiple_fields_uniqueness"  # the name Pandera gives the DataFrameSchema unique rule
_START_NOT_AFTER_END = "start_date_not_after_end_date"


def _column_checks(name: str) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if name in _NON_EMPTY_TEXT:
        checks.append(pa.Check.str_length(min_value=1))
    if name == "account_type":
        checks.append(pa.Check.isin(ACCOUNT_TYPES))
    if name == "cash_flow_category":
        checks.append(pa.Check.isin(CASH_FLOW_CATEGORIES))
    if name == "fiscal_month_end":
        checks.append(pa.Check.in_range(1, 12))
    if name == "currency":
        checks.append(pa.Check(rules.is_currency_code, error="str_fullmatch('[A-Z]{3}')"))
    if name == "basis":
        checks.append(pa.Check.isin(BASES))
    return checks


def _money_column(column: Column, *, money_values: bool) -> pa.Column:
    # dtype=None plus a check instead of Pandera's Decimal dtype (pandera 0.35). The bare
    # pa.Decimal means Decimal(28, 0), so it rejects every amount with cents and its coercion
    # rounds to whole units. With an explicit precision, Pandera counts digits on the string
    # form, so a minus sign or exponent notation miscounts. DECIMAL(38, 10) in the warehouse
    # already bounds precision and scale, so the schema only requires finite Decimal values.
    checks = []
    if money_values:
        checks.append(pa.Check(rules.is_finite_decimal, error="finite decimal.Decimal"))
    return pa.Column(None, checks, nullable=not column.required, name=column.name)


def _schema_column(column: Column, *, month_end: bool, money_values: bool) -> pa.Column:
    if column.sql_type == MONEY:
        return _money_column(column, money_values=money_values)

    checks = _column_checks(column.name)
    if month_end:
        checks.append(pa.Check(rules.is_month_end, error="last day of its month"))
    return pa.Column(
        _PANDAS_DTYPES[column.sql_type],
        checks,
        nullable=not column.required,
        coerce=True,
        name=column.name,
    )


def _context_columns(dataset: Dataset) -> list[Column]:
    own = {column.name for column in dataset.columns}
    context = [Column("snapshot_id", "", "VARCHAR")]
    if "company_id" not in own:
        context.append(Column("company_id", "", "VARCHAR"))
    if dataset.statement:
        context.append(Column("basis", "", "VARCHAR"))
    return context


def build_schema(dataset: Dataset, *, money_values: bool = True) -> pa.DataFrameSchema:
    """Build the Pandera schema of one dataset's typed-table rows.

    With ``money_values=False`` a money column is only checked for nulls, for frames whose money
    columns carry null markers instead of amounts (see ``read_check_frame``).
    """
    month_end_dates = dataset.statement or dataset.name == "non_financial_values"
    columns = [
        _schema_column(
            column,
            month_end=month_end_dates and column.name == "date",
            money_values=money_values,
        )
        for column in (*_context_columns(dataset), *dataset.columns)
    ]

    frame_checks = []
    if dataset.name == "budgets":
        frame_checks.append(pa.Check(rules.start_not_after_end, name=_START_NOT_AFTER_END))

    key = ROW_KEYS.get(dataset.name)
    unique = list(dict.fromkeys(("snapshot_id", "company_id", *key))) if key else None
    return pa.DataFrameSchema(
        {column.name: column for column in columns},
        checks=frame_checks,
        unique=unique,
        report_duplicates="exclude_first",
        name=dataset.name,
    )


_COLUMN_TYPES: dict[str, dict[str, str]] = {
    dataset.name: {column.name: column.sql_type for column in table_columns(dataset)}
    for dataset in DATASETS
}

SCHEMAS: dict[str, pa.DataFrameSchema] = {
    dataset.name: build_schema(dataset) for dataset in DATASETS
}

# The schemas that the checks apply to frames from ``read_check_frame``.
_CHECK_SCHEMAS: dict[str, pa.DataFrameSchema] = {
    dataset.name: build_schema(dataset, money_values=False) for dataset in DATASETS
}


def schema_checks() -> list[Check]:
    """Return the check ``pandera.<dataset>`` of every dataset, in the order of DATASETS."""
    return [
        Check(
            f"pandera.{dataset.name}",
            Category.FORMATTING,
            (dataset.name,),
            functools.partial(_run_schema_check, dataset),
        )
        for dataset in DATASETS
    ]


def context_company_ids(context: CheckContext) -> list[str]:
    """Return ``snapshot_company_ids`` of a check context, queried once per context.

    NOTE: a caller that adds companies to the snapshot between the checks of one context gets
    the companies as of the first check that read them.
    """
    if "company_ids" not in context.memo:
        context.memo["company_ids"] = snapshot_company_ids(
            context.connection, context.snapshot_id
        )
    return list(context.memo["company_ids"])


def snapshot_company_ids(connection: duckdb.DuckDBPyConnection, snapshot_id: str) -> list[str]:
    """Return the companies of a snapshot, sorted.

    A run limited with ``--company`` covers exactly the requested companies. Otherwise a company
    belongs to the snapshot when the user-info response lists it or when any typed table
    contains a row of it, so a listed company whose requests all failed is still reported.
    """
    requested = connection.execute(
        "SELECT requested_companies FROM snapshots WHERE snapshot_id = ?", [snapshot_id]
    ).fetchone()
    if requested is not None and requested[0] is not None:
        return sorted(requested[0])
    sources = ["SELECT company_id FROM user_info WHERE snapshot_id = $snapshot_id"]
    sources += [
        f"SELECT company_id FROM {dataset.name} WHERE snapshot_id = $snapshot_id"
        for dataset in DATASETS
        if dataset.per_company
    ]
    query = (
        f"SELECT company_id FROM ({' UNION '.join(sources)}) "
        "WHERE company_id IS NOT NULL AND company_id <> '' ORDER BY company_id"
    )
    rows = connection.execute(query, {"snapshot_id": snapshot_id}).fetchall()
    return [row[0] for row in rows]


def read_snapshot_frame(
    connection: duckdb.DuckDBPyConnection, dataset: Dataset, snapshot_id: str
) -> pd.DataFrame:
    """Read one dataset's rows of a snapshot into pandas, money columns as ``decimal.Decimal``.

    DuckDB's ``.df()`` turns DECIMAL into float64, so money columns are read as text and parsed
    back into exact decimals. Rows keep their load order, so the first copy of a duplicate is the
    one loaded first.
    """
    money = [column.name for column in dataset.columns if column.sql_type == MONEY]
    as_text = ", ".join(f"CAST({name} AS VARCHAR) AS {name}" for name in money)
    selection = f"* REPLACE ({as_text})" if money else "*"
    query = (
        f"SELECT {selection} FROM {dataset.name} WHERE snapshot_id = ? ORDER BY exchange_id, rowid"
    )
    frame = connection.execute(query, [snapshot_id]).df()

    for name in money:
        decimals = [None if pd.isna(text) else decimal.Decimal(text) for text in frame[name]]
        frame[name] = pd.Series(decimals, index=frame.index, dtype=object)
    return frame


def read_check_frame(
    connection: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    snapshot_id: str,
    *,
    suspects_only: bool = False,
) -> pd.DataFrame:
    """Read the columns that the dataset's schema checks, with money columns as null markers.

    The frame contains the schema's columns and the record key, in table order, then
    ``unstored_values``, sorted like ``read_snapshot_frame``. Each money column contains
    ``True`` where the warehouse has an amount and ``<NA>`` where it has none, so no amount is
    read or converted. DuckDB's DECIMAL(38, 10) rejects NaN and infinity, so every stored amount
    passes the schema's finite-decimal check, and for warehouse rows that check reduces to the
    null check kept here.

    With ``suspects_only`` the frame holds only the rows that the schema may reject, as
    ``checks.suspect_rows`` selects them, or every row when the schema has a rule that module
    cannot write in SQL.
    """
    from checks.suspect_rows import suspect_query

    schema = _CHECK_SCHEMAS[dataset.name]
    needed = set(schema.columns) | set(ROW_KEYS.get(dataset.name, ()))
    columns = [column for column in table_columns(dataset) if column.name in needed]
    selections = [
        f"({column.name} IS NOT NULL OR NULL) AS {column.name}"
        if column.sql_type == MONEY else column.name
        for column in columns
    ]
    selections.append(UNSTORED_COLUMN)
    suspects = None
    if suspects_only:
        suspects = suspect_query(schema, {column.name: column.sql_type for column in columns})
    if suspects is not None:
        query = suspects.sql(dataset.name, selections)
    else:
        query = (
            f"SELECT {', '.join(selections)} FROM {dataset.name} "
            "WHERE snapshot_id = $1 ORDER BY exchange_id, rowid"
        )
    return connection.execute(query, [snapshot_id]).df()


def _rows_by_company(
    connection: duckdb.DuckDBPyConnection, dataset: Dataset, snapshot_id: str
) -> dict[str | None, int]:
    """Return the number of rows of each company in the snapshot; None counts rows without one."""
    if not dataset.per_company:
        (rows,) = connection.execute(
            f"SELECT count(*) FROM {dataset.name} WHERE snapshot_id = ?", [snapshot_id]
        ).fetchone()
        return {None: rows} if rows else {}
    counts = connection.execute(
        f"SELECT company_id, count(*) FROM {dataset.name} WHERE snapshot_id = ? GROUP BY ALL",
        [snapshot_id],
    ).fetchall()
    return dict(counts)


def _run_schema_check(dataset: Dataset, context: CheckContext) -> list[Finding]:
    rows_by_company = _rows_by_company(context.connection, dataset, context.snapshot_id)
    frame = read_check_frame(context.connection, dataset, context.snapshot_id, suspects_only=True)
    cases = _validate(_CHECK_SCHEMAS[dataset.name], dataset, frame)
    log.debug("pandera.%s: %d rows, %d of them validated, %d failure cases", dataset.name,
              sum(rows_by_company.values()), len(frame), len(cases))

    if not dataset.per_company:
        return [_finding(dataset, None, sum(rows_by_company.values()), cases)]

    # One pass over the cases, so the cost does not grow with companies times rows.
    cases_by_company: dict[str | None, list[FailureCase]] = {}
    for case in cases:
        cases_by_company.setdefault(case.company_id, []).append(case)

    listed = context_company_ids(context)
    present = [key for key in rows_by_company if key is not None]
    companies: list[str | None] = sorted({*listed, *present})
    if None in rows_by_company:
        companies.append(None)  # rows without a company_id get a finding of their own
    if not companies:
        return [_not_evaluated(dataset, None, f"no company in snapshot {context.snapshot_id}")]

    return [
        _finding(
            dataset,
            company_id,
            rows_by_company.get(company_id, 0),
            cases_by_company.get(company_id, ()),
        )
        for company_id in companies
    ]


def validate_frame(dataset: Dataset, frame: pd.DataFrame) -> list[FailureCase]:
    """Validate a frame with the dataset's schema and return every failure case, in row order.

    Raises CheckRunError when a failure is not tied to a row (a missing column, for example),
    because then the frame is not a typed table of this dataset.
    """
    return _validate(SCHEMAS[dataset.name], dataset, frame)


def _validate(
    schema: pa.DataFrameSchema, dataset: Dataset, frame: pd.DataFrame
) -> list[FailureCase]:
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        return _failure_cases(dataset, frame, exc.failure_cases)
    return []


def _failure_cases(
    dataset: Dataset, frame: pd.DataFrame, failures: pd.DataFrame
) -> list[FailureCase]:
    without_row = failures[failures["index"].isna()]
    if not without_row.empty:
        first = without_row.iloc[0]
        raise CheckRunError(
            f"{dataset.name} rows do not have the typed-table shape: "
            f"{first['check']} failed for {first['failure_case']!r}"
        )

    column_order = {name: position for position, name in enumerate(frame.columns)}
    ordered = failures.assign(
        row_position=frame.index.get_indexer(failures["index"]),
        column_position=failures["column"].map(column_order),
    ).sort_values(["row_position", "column_position", "check"], kind="stable")

    cases: list[FailureCase] = []
    seen_frame_rules: set[tuple[str, int]] = set()
    uncoercible: set[tuple[str, int]] = set()
    for failure in ordered.itertuples(index=False):
        row = frame.iloc[failure.row_position]
        check = str(failure.check)
        cell = (failure.column, failure.row_position)
        if failure.schema_context != "DataFrameSchema":
            # A value that cannot be coerced also fails the dtype check; report it once.
            if check.startswith("coerce_dtype("):
                uncoercible.add(cell)
            elif check.startswith("dtype(") and cell in uncoercible:
                continue
            cases.append(_row_case(dataset, row, failure.column, check, failure.failure_case))
            continue

        # Pandera reports a frame-level failure once for each column of the row, so keep one.
        if (check, failure.row_position) in seen_frame_rules:
            continue
        seen_frame_rules.add((check, failure.row_position))
        cases.append(_frame_rule_case(dataset, row, check))
    return cases


def _frame_rule_case(dataset: Dataset, row: pd.Series, check: str) -> FailureCase:
    if check == _UNIQUENESS:
        key = ROW_KEYS[dataset.name]
        expected = f"unique per snapshot_id, company_id, {', '.join(key)}"
        return _row_case(dataset, row, key[0], expected, row[key[0]])
    if check == _START_NOT_AFTER_END:
        expected = f"on or before end_date {_text(row['end_date'])}"
        return _row_case(dataset, row, "start_date", expected, row["start_date"])
    raise CheckRunError(f"{dataset.name}: no failure-case layout for frame rule {check!r}")


def _row_case(
    dataset: Dataset, row: pd.Series, field: str, expected: str, actual: Any
) -> FailureCase:
    sent = _unstored_value(row, field) if _is_null(actual) else None
    if sent is not None:
        # The partner sent a value that the warehouse could not store, so the column is NULL.
        # Report the value as sent, and what the column stores.
        actual = sent
        expected = accepted_values(_COLUMN_TYPES[dataset.name][field])
    return FailureCase(
        company_id=_place_text(row, "company_id"),
        account_id=_place_text(row, "account_id"),
        date=_place_text(row, "date"),
        basis=_place_text(row, "basis") if dataset.statement else None,
        scope=_scope(dataset, row),
        field=field,
        expected=expected,
        actual=_text(actual),
    )


def _unstored_value(row: pd.Series, field: str) -> str | None:
    """Return the JSON text the partner sent for ``field`` when it could not be stored."""
    unstored = row.get(UNSTORED_COLUMN)
    return None if _is_null(unstored) else unstored_json(unstored, field)


def _scope(dataset: Dataset, row: pd.Series) -> str | None:
    columns = scope_columns(dataset)
    if columns is None:
        return None
    return request_scope(*(_optional_text(row.get(name)) for name in columns))


def _place_text(row: pd.Series, column: str) -> str | None:
    """Return a column that places a case, or the value sent for it when it was not stored."""
    value = row.get(column)
    if not _is_null(value):
        return _text(value)
    unstored = row.get(UNSTORED_COLUMN)
    return None if _is_null(unstored) else unstored_text(unstored, column)


def _is_null(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _text(value: Any) -> str:
    """Render a cell as failure-case text, with dates in ISO form and nulls as ``null``."""
    if _is_null(value):
        return "null"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal) and value.is_finite():
        return format(value, "f")
    return str(value)


def _optional_text(value: Any) -> str | None:
    return None if _is_null(value) else _text(value)


def _finding(
    dataset: Dataset, company_id: str | None, rows: int, cases: Iterable[FailureCase]
) -> Finding:
    cases = tuple(cases)
    owner = f" of {company_id}" if company_id else ""
    if rows == 0:
        return _not_evaluated(dataset, company_id, f"no {dataset.name} rows{owner} in the snapshot")

    checked = f"{count_of(rows, 'row')}{owner}"
    if not cases:
        message = f"{dataset.name}: no schema failures in {checked}"
        return Finding(
            f"pandera.{dataset.name}",
            Category.FORMATTING,
            dataset.name,
            Outcome.PASSED,
            message,
            company_id,
        )

    first = cases[0]
    actual_text = first.actual
    if actual_text != "null" and not _is_json_string(actual_text):
        actual_text = repr(actual_text)  # a value sent as a JSON string is quoted already
    message = (
        f"{dataset.name}: {count_of(len(cases), 'schema failure')} in {checked}; "
        f"first: {first.field} {actual_text}, expected {first.expected}"
    )
    return Finding(
        f"pandera.{dataset.name}",
        Category.FORMATTING,
        dataset.name,
        Outcome.FAILED,
        message,
        company_id,
        failure_count=len(cases),
        failure_cases=cases,
    )


def _is_json_string(text: str) -> bool:
    return len(text) >= 2 and text.startswith('"') and text.endswith('"')


def _not_evaluated(dataset: Dataset, company_id: str | None, reason: str) -> Finding:
    return Finding(
        f"pandera.{dataset.name}",
        Category.FORMATTING,
        dataset.name,
        Outcome.NOT_EVALUATED,
        reason,
        company_id,
    )


__all__ = [
    "ROW_KEYS",
    "SCHEMAS",
    "build_schema",
    "read_check_frame",
    "read_snapshot_frame",
    "schema_checks",
    "snapshot_company_ids",
    "validate_frame",
]
