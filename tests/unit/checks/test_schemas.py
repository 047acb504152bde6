from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd
import pytest

from checks.schemas import (
    SCHEMAS,
    read_check_frame,
    read_snapshot_frame,
    schema_checks,
    snapshot_company_ids,
    validate_frame,
)
from reach_dq.datasets import ACCOUNT_TYPES, BY_NAME, DATASETS
from reach_dq.exceptions import CheckRunError
from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.runner import CheckContext, run_checks
from tests.unit.checks.conftest import (
    SNAPSHOT_ID,
    build_books,
    catalog_rows,
    insert_books,
    insert_rows,
    month_end,
)

FIRST, LAST = month_end(2024, 6), month_end(2024, 8)
ISIN_ACCOUNT_TYPES = f"isin({ACCOUNT_TYPES!r})"

ContextFactory = Callable[..., CheckContext]


def run(context: CheckContext) -> dict[tuple[str, str | None], Finding]:
    findings = run_checks(schema_checks(), context)
    return {(finding.dataset, finding.company_id): finding for finding in findings}


def clean_snapshot(connection: duckdb.DuckDBPyConnection, company_id: str = "C001") -> None:
    books = build_books(company_id, fiscal_month_end=12, first_month=FIRST, last_month=LAST)
    insert_books(connection, books)
    insert_books(connection, catalog_rows(company_id, first_month=FIRST))


def chart_row(account_id: str = "1000", **changes: Any) -> dict[str, Any]:
    row = {
        "company_id": "C001",
        "account_id": account_id,
        "account_number": None,
        "account_name": "Bank",
        "account_type": "ASSET",
        "parent_account_id": None,
        "is_active": True,
        "cash_flow_category": "CASH",
    }
    return {**row, **changes}


def statement_row(**changes: Any) -> dict[str, Any]:
    row = {
        "company_id": "C001",
        "basis": "ACCRUAL",
        "account_id": "4000",
        "date": FIRST,
        "amount": Decimal("1200.50"),
    }
    return {**row, **changes}


def company_row(**changes: Any) -> dict[str, Any]:
    row = {"company_id": "C001", "company_name": "One", "fiscal_month_end": 12, "currency": "USD"}
    return {**row, **changes}


def only_finding(
    warehouse: duckdb.DuckDBPyConnection,
    make_context: ContextFactory,
    table: str,
    rows: list[dict[str, Any]],
) -> Finding:
    insert_rows(warehouse, table, rows)
    return run(make_context(FIRST, LAST))[table, "C001"]


def test_schema_checks_cover_every_dataset() -> None:
    checks = schema_checks()
    assert [check.name for check in checks] == [f"pandera.{dataset.name}" for dataset in DATASETS]
    assert [check.datasets for check in checks] == [(dataset.name,) for dataset in DATASETS]
    assert {check.category for check in checks} == {Category.FORMATTING}


def test_clean_snapshot_passes(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    clean_snapshot(warehouse)

    findings = run(make_context(FIRST, LAST))

    assert len(findings) == len(DATASETS)
    assert {finding.outcome for finding in findings.values()} == {Outcome.PASSED}
    assert findings["chart_of_accounts", "C001"].message == (
        "chart_of_accounts: no schema failures in 12 rows of C001"
    )
    assert findings["user_info", None].message == "user_info: no schema failures in 1 row"


def test_null_amount_fails(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    rows = [statement_row(), statement_row(account_id="5000", amount=None)]

    finding = only_finding(warehouse, make_context, "profit_and_loss", rows)

    assert finding.outcome is Outcome.FAILED
    assert finding.failure_count == 1
    assert finding.failure_cases == (
        FailureCase(
            company_id="C001",
            account_id="5000",
            date="2024-06-30",
            basis="ACCRUAL",
            field="amount",
            expected="not_nullable",
            actual="null",
        ),
    )
    assert finding.message == (
        "profit_and_loss: 1 schema failure in 2 rows of C001; "
        "first: amount null, expected not_nullable"
    )


def test_unstored_amount_shows_value_sent(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    unstored = '{"amount": "\\"80450.25\\""}'
    rows = [
        statement_row(),
        statement_row(account_id="5000", amount=None, unstored_values=unstored),
    ]

    finding = only_finding(warehouse, make_context, "profit_and_loss", rows)

    expected = "a finite JSON number that DECIMAL(38, 10) stores exactly"
    [case] = finding.failure_cases
    assert (case.field, case.actual, case.expected) == ("amount", '"80450.25"', expected)
    assert finding.message.endswith(f'first: amount "80450.25", expected {expected}')


def test_invalid_account_type_fails(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    rows = [chart_row(), chart_row("4000", account_type="INCOME", cash_flow_category=None)]

    finding = only_finding(warehouse, make_context, "chart_of_accounts", rows)

    assert finding.failure_cases == (
        FailureCase(
            company_id="C001",
            account_id="4000",
            field="account_type",
            expected=ISIN_ACCOUNT_TYPES,
            actual="INCOME",
        ),
    )


def test_duplicate_account_id_fails(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    rows = [chart_row(), chart_row("1100"), chart_row(account_name="Bank again")]

    finding = only_finding(warehouse, make_context, "chart_of_accounts", rows)

    assert finding.failure_count == 1
    assert finding.failure_cases == (
        FailureCase(
            company_id="C001",
            account_id="1000",
            field="account_id",
            expected="unique per snapshot_id, company_id, account_id",
            actual="1000",
        ),
    )


def test_account_id_unique_per_company(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    insert_rows(warehouse, "chart_of_accounts", [chart_row(), chart_row(company_id="C002")])

    findings = run(make_context(FIRST, LAST))

    assert findings["chart_of_accounts", "C001"].outcome is Outcome.PASSED
    assert findings["chart_of_accounts", "C002"].outcome is Outcome.PASSED


def test_duplicate_statement_row_fails(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    rows = [statement_row(), statement_row(basis="CASH"), statement_row(amount=Decimal("1"))]

    finding = only_finding(warehouse, make_context, "profit_and_loss", rows)

    assert finding.failure_cases == (
        FailureCase(
            company_id="C001",
            account_id="4000",
            date="2024-06-30",
            basis="ACCRUAL",
            field="account_id",
            expected=(
                "unique per snapshot_id, company_id, account_id, date, basis, budget_id, "
                "class_id, department_id"
            ),
            actual="4000",
        ),
    )


def test_statement_row_per_scenario_passes(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    rows = [statement_row(), statement_row(budget_id="B1"), statement_row(class_id="K1")]

    finding = only_finding(warehouse, make_context, "profit_and_loss", rows)

    assert finding.outcome is Outcome.PASSED


def test_non_month_end_date_fails(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    rows = [statement_row(date=dt.date(2024, 2, 28))]  # 2024 is a leap year

    finding = only_finding(warehouse, make_context, "balance_sheet", rows)

    assert finding.failure_cases == (
        FailureCase(
            company_id="C001",
            account_id="4000",
            date="2024-02-28",
            basis="ACCRUAL",
            field="date",
            expected="last day of its month",
            actual="2024-02-28",
        ),
    )


def test_metric_date_not_month_end_fails(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    row = {
        "company_id": "C001",
        "non_financial_id": "M1",
        "date": dt.date(2024, 6, 1),
        "value": Decimal("3"),
    }

    finding = only_finding(warehouse, make_context, "non_financial_values", [row])

    assert finding.failure_cases == (
        FailureCase(
            company_id="C001",
            date="2024-06-01",
            field="date",
            expected="last day of its month",
            actual="2024-06-01",
        ),
    )


@pytest.mark.parametrize("currency", ["usd", "US", "USDX", "USD\n", "U5D"])
def test_malformed_currency_fails(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory, currency: str
) -> None:
    finding = only_finding(warehouse, make_context, "company", [company_row(currency=currency)])

    assert finding.failure_cases == (
        FailureCase(
            company_id="C001",
            field="currency",
            expected="str_fullmatch('[A-Z]{3}')",
            actual=currency,
        ),
    )


@pytest.mark.parametrize("fiscal_month_end", [0, 13])
def test_fiscal_month_end_out_of_range_fails(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory, fiscal_month_end: int
) -> None:
    rows = [company_row(fiscal_month_end=fiscal_month_end)]

    finding = only_finding(warehouse, make_context, "company", rows)

    assert finding.failure_cases == (
        FailureCase(
            company_id="C001",
            field="fiscal_month_end",
            expected="in_range(1, 12)",
            actual=str(fiscal_month_end),
        ),
    )


def test_empty_id_fails(warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory) -> None:
    row = {"company_id": "C001", "class_id": "", "class_name": "Retail", "is_active": True}

    finding = only_finding(warehouse, make_context, "classes", [row])

    assert finding.failure_cases == (
        FailureCase(company_id="C001", field="class_id", expected="str_length(1, None)", actual=""),
    )


def test_invalid_cash_flow_category_fails(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    rows = [chart_row(cash_flow_category="cash"), chart_row("1100", cash_flow_category=None)]

    finding = only_finding(warehouse, make_context, "chart_of_accounts", rows)

    assert finding.failure_cases == (
        FailureCase(
            company_id="C001",
            account_id="1000",
            field="cash_flow_category",
            expected="isin(('CASH', 'OPERATING', 'INVESTING', 'FINANCING'))",
            actual="cash",
        ),
    )


def test_budget_start_after_end_fails(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    budget = {"company_id": "C001", "budget_id": "B1", "budget_name": "Plan"}
    new_year = dt.date(2024, 1, 1)
    rows = [
        {**budget, "start_date": dt.date(2024, 12, 31), "end_date": new_year},
        {**budget, "budget_id": "B2", "start_date": new_year, "end_date": new_year},
    ]

    finding = only_finding(warehouse, make_context, "budgets", rows)

    assert finding.failure_cases == (
        FailureCase(
            company_id="C001",
            field="start_date",
            expected="on or before end_date 2024-01-01",
            actual="2024-12-31",
        ),
    )


def test_all_null_optional_columns_pass(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    rows = [chart_row(cash_flow_category=None), chart_row("1100", cash_flow_category=None)]

    finding = only_finding(warehouse, make_context, "chart_of_accounts", rows)

    assert finding.outcome is Outcome.PASSED


def test_all_null_required_column_fails(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    rows = [chart_row(account_name=None), chart_row("1100", account_name=None)]

    finding = only_finding(warehouse, make_context, "chart_of_accounts", rows)

    assert [(case.account_id, case.field, case.actual) for case in finding.failure_cases] == [
        ("1000", "account_name", "null"),
        ("1100", "account_name", "null"),
    ]


def test_all_none_object_columns_pass() -> None:
    frame = pd.DataFrame(
        {
            "snapshot_id": [SNAPSHOT_ID],
            "company_id": ["C001"],
            "non_financial_id": ["M1"],
            "name": ["Headcount"],
            "unit": pd.Series([None], dtype=object),
        }
    )

    assert validate_frame(BY_NAME["non_financial_metrics"], frame) == []


@pytest.mark.parametrize("dataset", [dataset.name for dataset in DATASETS])
def test_empty_table_validates(warehouse: duckdb.DuckDBPyConnection, dataset: str) -> None:
    frame = read_snapshot_frame(warehouse, BY_NAME[dataset], SNAPSHOT_ID)

    assert validate_frame(BY_NAME[dataset], frame) == []


def test_decimal_money_passes() -> None:
    amounts = [Decimal("1200.50"), Decimal("-0.01"), Decimal("12345678901234567890.12")]
    frame = pd.DataFrame(
        {
            "snapshot_id": [SNAPSHOT_ID] * 3,
            "company_id": ["C001"] * 3,
            "basis": ["ACCRUAL"] * 3,
            "account_id": ["4000", "5000", "6000"],
            "date": pd.to_datetime([FIRST] * 3),
            "amount": pd.Series(amounts, dtype=object),
        }
    )

    validated = SCHEMAS["profit_and_loss"].validate(frame, lazy=True)

    assert validated["amount"].tolist() == amounts
    assert {type(value) for value in validated["amount"]} == {Decimal}


@pytest.mark.parametrize(
    ("amount", "expected", "actual"),
    [
        (1200.5, "finite decimal.Decimal", "1200.5"),
        ("1200.50", "finite decimal.Decimal", "1200.50"),
        (Decimal("Infinity"), "finite decimal.Decimal", "Infinity"),
        (Decimal("NaN"), "not_nullable", "NaN"),  # pandas counts a Decimal NaN as missing
    ],
    ids=["float", "string", "infinity", "nan"],
)
def test_non_decimal_money_fails(amount: object, expected: str, actual: str) -> None:
    frame = pd.DataFrame(
        {
            "snapshot_id": [SNAPSHOT_ID],
            "company_id": ["C001"],
            "basis": ["CASH"],
            "account_id": ["4000"],
            "date": pd.to_datetime([FIRST]),
            "amount": pd.Series([amount], dtype=object),
        }
    )

    cases = validate_frame(BY_NAME["cash_flow"], frame)

    assert cases == [
        FailureCase(
            company_id="C001",
            account_id="4000",
            date="2024-06-30",
            basis="CASH",
            field="amount",
            expected=expected,
            actual=actual,
        )
    ]


def test_uncoercible_value_reported_once() -> None:
    frame = pd.DataFrame(
        {
            "snapshot_id": [SNAPSHOT_ID, SNAPSHOT_ID],
            "company_id": ["C001", "C001"],
            "class_id": ["K1", "K2"],
            "class_name": ["Retail", "Online"],
            "parent_class_id": [None, None],
            "is_active": [True, "maybe"],
        },
        index=["first", "second"],  # failure cases follow rows under any unique index
    )

    cases = validate_frame(BY_NAME["classes"], frame)

    assert cases == [
        FailureCase(
            company_id="C001", field="is_active", expected="coerce_dtype('boolean')", actual="maybe"
        )
    ]


def test_read_snapshot_frame_keeps_decimals(warehouse: duckdb.DuckDBPyConnection) -> None:
    amounts = [Decimal("0.10"), Decimal("-98765432109876543.21"), Decimal("0.005"), None]
    rows = [
        statement_row(date=month_end(2024, month), amount=amount)
        for month, amount in enumerate(amounts, start=1)
    ]
    insert_rows(warehouse, "balance_sheet", rows)

    frame = read_snapshot_frame(warehouse, BY_NAME["balance_sheet"], SNAPSHOT_ID)

    assert frame["amount"].tolist() == amounts
    assert [type(value) for value in frame["amount"]] == [Decimal, Decimal, Decimal, type(None)]


def test_missing_column_raises() -> None:
    frame = pd.DataFrame({"snapshot_id": [SNAPSHOT_ID], "company_id": ["C001"]})

    with pytest.raises(CheckRunError) as error:
        validate_frame(BY_NAME["classes"], frame)

    assert str(error.value) == (
        "classes rows do not have the typed-table shape: column_in_dataframe failed for 'class_id'"
    )


def test_empty_snapshot_not_evaluated(make_context: ContextFactory) -> None:
    findings = run(make_context(FIRST, LAST))

    assert len(findings) == len(DATASETS)
    assert {finding.outcome for finding in findings.values()} == {Outcome.NOT_EVALUATED}
    assert findings["user_info", None].message == "no user_info rows in the snapshot"
    assert findings["budgets", None].message == "no company in snapshot snap-1"


def test_company_without_rows_not_evaluated(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    clean_snapshot(warehouse)
    insert_rows(warehouse, "user_info", [{"company_id": "C002", "company_name": "Two"}])

    findings = run(make_context(FIRST, LAST))

    assert findings["budgets", "C002"].outcome is Outcome.NOT_EVALUATED
    assert findings["budgets", "C002"].message == "no budgets rows of C002 in the snapshot"
    assert findings["budgets", "C001"].outcome is Outcome.PASSED


def test_user_info_case_names_listed_company(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    rows = [
        {"company_id": "C001", "company_name": ""},
        {"company_id": "C002", "company_name": "Two"},
    ]
    insert_rows(warehouse, "user_info", rows)

    finding = run(make_context(FIRST, LAST))["user_info", None]

    assert finding.failure_cases == (
        FailureCase(
            company_id="C001", field="company_name", expected="str_length(1, None)", actual=""
        ),
    )


def test_other_snapshots_are_ignored(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    insert_rows(warehouse, "company", [company_row()])
    insert_rows(warehouse, "company", [company_row(currency="usd")], snapshot_id="snap-0")

    findings = run(make_context(FIRST, LAST))

    assert findings["company", "C001"].outcome is Outcome.PASSED


def test_snapshot_company_ids_merge_sources(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_rows(warehouse, "user_info", [{"company_id": "C003", "company_name": "Three"}])
    insert_rows(warehouse, "company", [company_row(), company_row(company_id="C002")])
    insert_rows(warehouse, "cash_flow", [statement_row(company_id="C004")], snapshot_id="snap-0")

    assert snapshot_company_ids(warehouse, SNAPSHOT_ID) == ["C001", "C002", "C003"]


def test_check_frame_reads_schema_columns(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_rows(warehouse, "balance_sheet", [statement_row()])

    frame = read_check_frame(warehouse, BY_NAME["balance_sheet"], SNAPSHOT_ID)

    assert list(frame.columns) == [
        "snapshot_id",
        "company_id",
        "basis",
        "budget_id",
        "class_id",
        "department_id",
        "account_id",
        "date",
        "amount",
        "unstored_values",
    ]


def test_check_frame_marks_amounts_without_values(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = [
        statement_row(amount=Decimal("-98765432109876543.21")),
        statement_row(account_id="5000", amount=None),
    ]
    insert_rows(warehouse, "balance_sheet", rows)

    frame = read_check_frame(warehouse, BY_NAME["balance_sheet"], SNAPSHOT_ID)

    assert str(frame["amount"].dtype) == "boolean"
    assert frame["amount"].tolist() == [True, pd.NA]


def test_check_frame_sorts_by_exchange(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = [
        statement_row(exchange_id=2, account_id="5000"),
        statement_row(exchange_id=1, account_id="4000"),
    ]
    insert_rows(warehouse, "cash_flow", rows)

    frame = read_check_frame(warehouse, BY_NAME["cash_flow"], SNAPSHOT_ID)

    assert frame["account_id"].tolist() == ["4000", "5000"]


def test_check_schema_keeps_decimal_check() -> None:
    frame = pd.DataFrame(
        {
            "snapshot_id": [SNAPSHOT_ID],
            "company_id": ["C001"],
            "basis": ["CASH"],
            "account_id": ["4000"],
            "date": pd.to_datetime([FIRST]),
            "amount": pd.Series([1200.5], dtype=object),
        }
    )

    cases = validate_frame(BY_NAME["cash_flow"], frame)

    assert [case.expected for case in cases] == ["finite decimal.Decimal"]


def test_failure_cases_split_by_company(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    rows = [
        statement_row(),
        statement_row(company_id="C002", basis="accrual"),
        statement_row(company_id="C002", account_id="5000", amount=None),
        statement_row(company_id="C003", account_id="5000"),
    ]
    insert_rows(warehouse, "profit_and_loss", rows)

    findings = run(make_context(FIRST, LAST))

    assert findings["profit_and_loss", "C001"].outcome is Outcome.PASSED
    assert findings["profit_and_loss", "C001"].message == (
        "profit_and_loss: no schema failures in 1 row of C001"
    )
    second = findings["profit_and_loss", "C002"]
    assert [(case.field, case.actual) for case in second.failure_cases] == [
        ("basis", "accrual"),
        ("amount", "null"),
    ]
    assert findings["profit_and_loss", "C002"].message == (
        "profit_and_loss: 2 schema failures in 2 rows of C002; "
        "first: basis 'accrual', expected isin(('ACCRUAL', 'CASH'))"
    )
    assert findings["profit_and_loss", "C003"].outcome is Outcome.PASSED


def test_rows_without_company_get_own_finding(
    warehouse: duckdb.DuckDBPyConnection, make_context: ContextFactory
) -> None:
    insert_rows(warehouse, "balance_sheet", [statement_row(), statement_row(company_id=None)])

    finding = run(make_context(FIRST, LAST))["balance_sheet", None]

    assert finding.outcome is Outcome.FAILED
    assert finding.message == (
        "balance_sheet: 1 schema failure in 1 row; first: company_id null, expected not_nullable"
    )
