"""GX frames read from the warehouse: only the suite's columns, exact money, dates as dates."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas
import pytest

from reach_dq.findings import FailureCase
from reach_dq.gx.context import _suite_data
from reach_dq.gx import frames as gx_frames
from reach_dq.gx.frames import read_suite_frames
from reach_dq.gx_suites import run_suites
from reach_dq.warehouse.ddl import create_tables
from tests.unit.checks.conftest import SNAPSHOT_ID, insert_rows

JAN = dt.date(2024, 1, 31)
FEB = dt.date(2024, 2, 29)


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    create_tables(connection)
    yield connection
    connection.close()


def statement_row(**changes: Any) -> dict[str, Any]:
    row = {
        "company_id": "C1",
        "basis": "ACCRUAL",
        "account_id": "4000",
        "date": JAN,
        "amount": Decimal("1200.50"),
    }
    return {**row, **changes}


def write_suite(suites_dir: Path, dataset: str, expectations: list[dict[str, Any]]) -> None:
    suites_dir.mkdir(exist_ok=True)
    document = {"name": f"reach_dq.{dataset}", "expectations": expectations}
    (suites_dir / f"{dataset}.json").write_text(json.dumps(document), encoding="utf-8")


def expectation(type_: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": type_, "kwargs": kwargs, "meta": {"category": "formatting"}}


def test_frame_contains_suite_columns(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_rows(warehouse, "balance_sheet", [statement_row()])

    frame = read_suite_frames(warehouse, SNAPSHOT_ID)["balance_sheet"]

    assert list(frame.columns) == [
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


def test_every_shipped_suite_gets_frame(warehouse: duckdb.DuckDBPyConnection) -> None:
    frames = read_suite_frames(warehouse, SNAPSHOT_ID)

    assert len(frames) == 11
    assert {len(frame) for frame in frames.values()} == {0}


def test_null_checked_money_is_marker(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = [statement_row(), statement_row(account_id="5000", amount=None)]
    insert_rows(warehouse, "profit_and_loss", rows)

    frame = read_suite_frames(warehouse, SNAPSHOT_ID)["profit_and_loss"]

    assert str(frame["amount"].dtype) == "boolean"
    assert frame["amount"].tolist() == [True, pandas.NA]


def test_value_checked_money_is_exact(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    suites = tmp_path / "suites"
    bounds = expectation("expect_column_values_to_be_between", column="amount", max_value=100)
    write_suite(suites, "profit_and_loss", [bounds])
    amounts = [Decimal("100.00"), Decimal("100.01"), None]
    rows = [statement_row(account_id=str(4000 + i), amount=a) for i, a in enumerate(amounts)]
    insert_rows(warehouse, "profit_and_loss", rows)

    frames = read_suite_frames(warehouse, SNAPSHOT_ID, suites_dir=suites)
    run = run_suites(frames, docs_dir=tmp_path / "docs", run_name="r1", suites_dir=suites)

    assert frames["profit_and_loss"]["amount"].tolist() == amounts
    assert run.findings[0].failure_cases == (
        FailureCase(
            company_id="C1",
            account_id="4001",
            date="2024-01-31",
            basis="ACCRUAL",
            field="amount",
            actual="100.0100000000",
        ),
    )


def test_dates_render_as_iso_dates(warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    suites = tmp_path / "suites"
    unique = expectation(
        "expect_compound_columns_to_be_unique", column_list=["company_id", "account_id", "date"]
    )
    write_suite(suites, "cash_flow", [unique])
    insert_rows(warehouse, "cash_flow", [statement_row(), statement_row(), statement_row(date=FEB)])

    frames = read_suite_frames(warehouse, SNAPSHOT_ID, suites_dir=suites)
    run = run_suites(frames, docs_dir=tmp_path / "docs", run_name="r1", suites_dir=suites)

    assert frames["cash_flow"]["date"].tolist() == [JAN, JAN, FEB]
    assert [case.date for case in run.findings[0].failure_cases] == ["2024-01-31", "2024-01-31"]
    assert [case.actual for case in run.findings[0].failure_cases] == [
        "4000, 2024-01-31",
        "4000, 2024-01-31",
    ]


def test_rows_keep_load_order(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = [
        statement_row(exchange_id=2, account_id="5000"),
        statement_row(exchange_id=1, account_id="4000"),
    ]
    insert_rows(warehouse, "balance_sheet", rows)

    frame = read_suite_frames(warehouse, SNAPSHOT_ID)["balance_sheet"]

    assert frame["account_id"].tolist() == ["5000", "4000"]


def test_other_snapshots_are_left_out(warehouse: duckdb.DuckDBPyConnection) -> None:
    insert_rows(warehouse, "balance_sheet", [statement_row()])
    insert_rows(warehouse, "balance_sheet", [statement_row()], snapshot_id="snap-0")

    frame = read_suite_frames(warehouse, SNAPSHOT_ID)["balance_sheet"]

    assert len(frame) == 1


def test_column_dtypes_match_warehouse_types(warehouse: duckdb.DuckDBPyConnection) -> None:
    company = {"company_id": "C1", "company_name": "Acme", "fiscal_month_end": 12}
    insert_rows(warehouse, "company", [{**company, "currency": "USD"}])
    chart = {
        "company_id": "C1",
        "account_id": "1000",
        "account_name": "Cash",
        "account_type": "ASSET",
        "is_active": True,
        "cash_flow_category": None,
    }
    insert_rows(warehouse, "chart_of_accounts", [chart])

    frames = read_suite_frames(warehouse, SNAPSHOT_ID)

    assert str(frames["company"]["fiscal_month_end"].dtype) == "Int64"
    assert str(frames["chart_of_accounts"]["is_active"].dtype) == "boolean"
    # Lengths are read from account_name, and a row condition names account_type, so both stay
    # text. Only null and set expectations read cash_flow_category, so it is a category.
    assert str(frames["chart_of_accounts"]["account_name"].dtype) == "str"
    assert str(frames["chart_of_accounts"]["account_type"].dtype) == "str"
    assert str(frames["chart_of_accounts"]["cash_flow_category"].dtype) == "category"


def test_unreadable_suite_gets_no_frame(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    suites = tmp_path / "suites"
    not_null = expectation("expect_column_values_to_not_be_null", column="class_id")
    write_suite(suites, "classes", [not_null])
    (suites / "budgets.json").write_text("{not json", encoding="utf-8")
    write_suite(suites, "ledger", [expectation("expect_column_values_to_not_be_null", column="x")])

    frames = read_suite_frames(warehouse, SNAPSHOT_ID, suites_dir=suites)

    assert list(frames) == ["classes"]


def test_suite_data_reuses_matching_frame() -> None:
    frame = pandas.DataFrame({"company_id": ["C1"], "account_id": ["4000"]})

    assert _suite_data(frame, ["company_id", "account_id"]) is frame


def test_suite_data_selects_columns() -> None:
    frame = pandas.DataFrame({"company_id": ["C1"], "extra": [1]}, index=[7])

    data = _suite_data(frame, ["company_id"])

    assert list(data.columns) == ["company_id"]
    assert data.index.tolist() == [0]


def test_category_frames_give_the_same_findings(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = [
        statement_row(),
        statement_row(),  # a duplicate
        statement_row(account_id=None),
        statement_row(basis="cash"),
        statement_row(date=None, account_id="5000"),
        statement_row(date=FEB, budget_id="B1"),
        statement_row(date=FEB, budget_id="B1"),  # a duplicate in a budget scenario
        statement_row(company_id="C2", amount=None),
    ]
    for table in ("profit_and_loss", "balance_sheet", "cash_flow"):
        insert_rows(warehouse, table, broken)
    chart = {"company_id": "C1", "account_name": "Sales", "is_active": True}
    insert_rows(warehouse, "chart_of_accounts", [
        {**chart, "account_id": "4000", "account_type": "REVENUE", "cash_flow_category": "CASH"},
        {**chart, "account_id": "4000", "account_type": "ASSET", "cash_flow_category": "cash"},
        {**chart, "account_id": "", "account_type": "ASSET", "cash_flow_category": None},
    ])

    frames = read_suite_frames(warehouse, SNAPSHOT_ID)
    assert str(frames["balance_sheet"]["date"].dtype) == "category"
    monkeypatch.setattr(gx_frames, "_category_columns", lambda suites: set())
    plain = read_suite_frames(warehouse, SNAPSHOT_ID)
    assert str(plain["balance_sheet"]["date"].dtype) == "object"
    assert str(plain["balance_sheet"]["account_id"].dtype) == "str"

    with_categories = run_suites(frames, docs_dir=tmp_path / "a", run_name="r1").findings
    without = run_suites(plain, docs_dir=tmp_path / "b", run_name="r1").findings
    assert sum(finding.failure_count for finding in without) >= 12
    assert with_categories == without


def test_many_distinct_values_stay_text(
    warehouse: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert_rows(warehouse, "balance_sheet", [statement_row(), statement_row(account_id="5000")])
    monkeypatch.setattr(gx_frames, "MAX_CATEGORIES", 1)

    frame = read_suite_frames(warehouse, SNAPSHOT_ID)["balance_sheet"]

    assert str(frame["account_id"].dtype) == "str"
    assert frame["account_id"].tolist() == ["4000", "5000"]
    assert str(frame["company_id"].dtype) == "category"
