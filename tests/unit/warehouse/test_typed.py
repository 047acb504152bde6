from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

import pytest

from reach_dq.datasets import BY_OPERATION, DATASETS
from reach_dq.warehouse.typed import load_typed, to_sql_text, unstored_json, unstored_text
from reach_dq.warehouse.warehouse import ExchangeRecord, Warehouse
from tests.unit.warehouse.conftest import begin

STARTED = dt.datetime(2024, 4, 10, 8, 30, tzinfo=dt.timezone.utc)
JANUARY = dt.date(2024, 1, 31)


class Exchanges:
    """Record exchanges with sample bodies into one snapshot, numbering them from 1."""

    def __init__(self, warehouse: Warehouse, snapshot_id: str) -> None:
        self.warehouse = warehouse
        self.snapshot_id = snapshot_id
        self.count = 0

    def add(
        self,
        operation_id: str,
        body: str,
        *,
        company_id: str | None = "C001",
        status_code: int = 200,
        basis: str | None = None,
        budget_id: str | None = None,
    ) -> int:
        self.count += 1
        record = ExchangeRecord(
            exchange_id=self.count,
            operation_id=operation_id,
            dataset=BY_OPERATION[operation_id].name,
            company_id=company_id,
            method="GET",
            path="/sample",
            attempt=1,
            started_at=STARTED,
            status_code=status_code,
            basis=basis,
            budget_id=budget_id,
        )
        self.warehouse.record_exchange(self.snapshot_id, record, body)
        return self.count


@pytest.fixture
def exchanges(warehouse: Warehouse, snapshot_id: str) -> Exchanges:
    return Exchanges(warehouse, snapshot_id)


def own_rows(warehouse: Warehouse, snapshot_id: str, dataset_name: str) -> list[tuple[Any, ...]]:
    """Return the dataset's own columns (no context columns) of the snapshot, in load order."""
    dataset = next(dataset for dataset in DATASETS if dataset.name == dataset_name)
    names = ", ".join(column.name for column in dataset.columns)
    sql = f"SELECT {names} FROM {dataset.name} WHERE snapshot_id = ?"
    return warehouse.connection.execute(sql, [snapshot_id]).fetchall()


SAMPLES: list[tuple[str, str, list[tuple[Any, ...]]]] = [
    (
        "getUserInfo",
        '{"sub": "u1", "name": "Ann", "email": "ann@example.com", "Companies": '
        '[{"CompanyId": "C001", "CompanyName": "Acme"}, '
        '{"CompanyId": "C002", "CompanyName": "Beta"}]}',
        [("C001", "Acme"), ("C002", "Beta")],
    ),
    (
        "getCompany",
        '{"CompanyId": "C001", "CompanyName": "Acme", "FiscalMonthEnd": 6, "Currency": "USD"}',
        [("Acme", 6, "USD")],
    ),
    (
        "listChartOfAccounts",
        '{"Data": [{"AccountId": "1000", "AccountNumber": "1000", "AccountName": "Cash", '
        '"AccountType": "ASSET", "ParentAccountId": null, "IsActive": true, '
        '"CashFlowCategory": "CASH"}, '
        '{"AccountId": "4000", "AccountNumber": null, "AccountName": "Sales", '
        '"AccountType": "REVENUE", '
        '"ParentAccountId": null, "IsActive": false, "CashFlowCategory": null}], '
        '"Pagination": {"offset": 0, "limit": 100, "total": 2}}',
        [
            ("1000", "1000", "Cash", "ASSET", None, True, "CASH"),
            ("4000", None, "Sales", "REVENUE", None, False, None),
        ],
    ),
    (
        "listBudgets",
        '{"Data": [{"BudgetId": "B1", "BudgetName": "FY24", "StartDate": "2023-07-01", '
        '"EndDate": "2024-06-30"}], "Pagination": {"offset": 0, "limit": 100, "total": 1}}',
        [("B1", "FY24", dt.date(2023, 7, 1), dt.date(2024, 6, 30))],
    ),
    (
        "listClasses",
        '{"Data": [{"ClassId": "K1", "ClassName": "Retail", "ParentClassId": null, '
        '"IsActive": true}, '
        '{"ClassId": "K2", "ClassName": "Online", "ParentClassId": "K1", "IsActive": true}], '
        '"Pagination": {"offset": 0, "limit": 100, "total": 2}}',
        [("K1", "Retail", None, True), ("K2", "Online", "K1", True)],
    ),
    (
        "listDepartments",
        '{"Data": [{"DepartmentId": "D1", "DepartmentName": "Sales", "ParentDepartmentId": null, '
        '"IsActive": false}], "Pagination": {"offset": 0, "limit": 100, "total": 1}}',
        [("D1", "Sales", None, False)],
    ),
    (
        "listNonFinancialMetrics",
        '{"Data": [{"NonFinancialId": "M1", "Name": "Headcount", "Unit": "COUNT"}, '
        '{"NonFinancialId": "M2", "Name": "Mood", "Unit": null}], '
        '"Pagination": {"offset": 0, "limit": 100, "total": 2}}',
        [("M1", "Headcount", "COUNT"), ("M2", "Mood", None)],
    ),
    (
        "getNonFinancialValues",
        '{"Data": [{"NonFinancialId": "M1", "Date": "2024-03-31", "Value": 42}, '
        '{"NonFinancialId": "M2", "Date": "2024-03-31", "Value": 87.5}]}',
        [
            ("M1", dt.date(2024, 3, 31), Decimal("42")),
            ("M2", dt.date(2024, 3, 31), Decimal("87.5")),
        ],
    ),
    (
        "getProfitAndLoss",
        '{"Data": [{"AccountId": "4000", "Date": "2024-01-31", "Amount": 12345678901234.56}, '
        '{"AccountId": "5000", "Date": "2024-02-29", "Amount": 0.1}]}',
        [
            ("4000", dt.date(2024, 1, 31), Decimal("12345678901234.56")),
            ("5000", dt.date(2024, 2, 29), Decimal("0.1")),
        ],
    ),
    (
        "getBalanceSheet",
        '{"Data": [{"AccountId": "1000", "Date": "2024-03-31", "Amount": -0.01}]}',
        [("1000", dt.date(2024, 3, 31), Decimal("-0.01"))],
    ),
    (
        "getCashFlow",
        '{"Data": [{"AccountId": "1200", "Date": "2024-03-31", "Amount": 1E+2}]}',
        [("1200", dt.date(2024, 3, 31), Decimal("100"))],
    ),
]


@pytest.mark.parametrize(
    ("operation_id", "body", "expected"), SAMPLES, ids=[sample[0] for sample in SAMPLES]
)
def test_load_typed_parses_dataset(
    warehouse: Warehouse,
    snapshot_id: str,
    exchanges: Exchanges,
    operation_id: str,
    body: str,
    expected: list[tuple[Any, ...]],
) -> None:
    exchanges.add(operation_id, body)
    load_typed(warehouse.connection, snapshot_id)
    assert own_rows(warehouse, snapshot_id, BY_OPERATION[operation_id].name) == expected


def test_load_typed_counts_rows_per_dataset(
    warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges
) -> None:
    for operation_id, body, _ in SAMPLES:
        exchanges.add(operation_id, body)
    counts = load_typed(warehouse.connection, snapshot_id)
    expected = {BY_OPERATION[operation_id].name: len(rows) for operation_id, _, rows in SAMPLES}
    assert counts == expected


def test_amounts_stay_exact_in_frames(
    warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges
) -> None:
    exchanges.add("getProfitAndLoss", SAMPLES[8][1], basis="ACCRUAL")
    load_typed(warehouse.connection, snapshot_id)
    frame = warehouse.read_dataset(snapshot_id, "profit_and_loss")
    assert list(frame["amount"]) == [Decimal("12345678901234.56"), Decimal("0.1")]
    assert [type(value) for value in frame["amount"]] == [Decimal, Decimal]
    assert list(frame["date"]) == [dt.date(2024, 1, 31), dt.date(2024, 2, 29)]
    assert str(frame["exchange_id"].dtype) == "Int64"


def test_context_comes_from_exchange(
    warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges
) -> None:
    exchange_id = exchanges.add(
        "getProfitAndLoss", SAMPLES[8][1], company_id="C/9", basis="CASH", budget_id="B1"
    )
    load_typed(warehouse.connection, snapshot_id)
    context = warehouse.connection.execute(
        "SELECT DISTINCT snapshot_id, exchange_id, company_id, basis, budget_id, class_id, "
        "department_id FROM profit_and_loss"
    ).fetchall()
    assert context == [(snapshot_id, exchange_id, "C/9", "CASH", "B1", None, None)]


def test_user_info_company_id_comes_from_item(
    warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges
) -> None:
    exchanges.add("getUserInfo", SAMPLES[0][1], company_id=None)
    load_typed(warehouse.connection, snapshot_id)
    company_ids = warehouse.connection.execute("SELECT company_id FROM user_info").fetchall()
    assert company_ids == [("C001",), ("C002",)]


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            '{"AccountId": "4000", "Date": "2024-01-31", "Amount": "1234.56"}',
            ("4000", JANUARY, None),
        ),
        (
            '{"AccountId": "4000", "Date": "2024-1-31", "Amount": 5}',
            ("4000", None, Decimal("5")),
        ),
        (
            '{"AccountId": "4000", "Date": "2024-02-30", "Amount": 5}',
            ("4000", None, Decimal("5")),
        ),
        (
            '{"AccountId": "4000", "Date": 20240131, "Amount": 5}',
            ("4000", None, Decimal("5")),
        ),
        (
            '{"Date": "2024-01-31", "Amount": 5}',
            (None, JANUARY, Decimal("5")),
        ),
        (
            '{"AccountId": 4000, "Date": "2024-01-31", "Amount": true}',
            (None, JANUARY, None),
        ),
        (
            '{"AccountId": "4000", "Date": "2024-01-31", "Amount": 0.12345678901}',
            ("4000", JANUARY, None),
        ),
        (
            '{"AccountId": "4000", "Date": "2024-01-31", "Amount": 1E+40}',
            ("4000", JANUARY, None),
        ),
        (
            '{"AccountId": "4000", "Date": "2024-01-31", "Amount": null}',
            ("4000", JANUARY, None),
        ),
    ],
    ids=[
        "string-amount",
        "unpadded-date",
        "impossible-date",
        "number-date",
        "missing-account",
        "number-id-bool-amount",
        "eleven-decimals",
        "too-large",
        "null-amount",
    ],
)
def test_invalid_values_load_as_null(
    warehouse: Warehouse,
    snapshot_id: str,
    exchanges: Exchanges,
    item: str,
    expected: tuple[Any, ...],
) -> None:
    exchanges.add("getProfitAndLoss", f'{{"Data": [{item}]}}')
    load_typed(warehouse.connection, snapshot_id)
    assert own_rows(warehouse, snapshot_id, "profit_and_loss") == [expected]


def test_unstored_values_keep_sent_json(
    warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges
) -> None:
    items = [
        '{"AccountId": "4000", "Date": "2024-1-31", "Amount": "80450.25"}',
        '{"AccountId": "4000", "Date": "2024-02-29", "Amount": 1e400}',
        '{"AccountId": 4000, "Date": "2024-03-31", "Amount": {"Value": 12.50}}',
        '{"AccountId": "4000", "Date": "2024-04-30", "Amount": 0.005}',
        '{"AccountId": "4000", "Date": null, "Amount": 7}',
    ]
    exchanges.add("getProfitAndLoss", f'{{"Data": [{", ".join(items)}]}}')
    load_typed(warehouse.connection, snapshot_id)

    rows = warehouse.connection.execute(
        "SELECT account_id, date, amount, unstored_values FROM profit_and_loss "
        "WHERE snapshot_id = ? ORDER BY rowid",
        [snapshot_id],
    ).fetchall()
    assert rows == [
        ("4000", None, None, '{"date": "\\"2024-1-31\\"", "amount": "\\"80450.25\\""}'),
        ("4000", dt.date(2024, 2, 29), None, '{"amount": "1E+400"}'),
        (None, dt.date(2024, 3, 31), None, '{"account_id": "4000", "amount": "{\\"Value\\":12.50}"}'),
        ("4000", dt.date(2024, 4, 30), Decimal("0.005"), None),
        # A JSON null is a missing value, not one the warehouse failed to store.
        ("4000", None, Decimal(7), None),
    ]


def test_unstored_text_unquotes_json_strings() -> None:
    unstored = '{"date": "\\"2024-1-31\\"", "amount": "1E+400"}'
    assert unstored_json(unstored, "date") == '"2024-1-31"'
    assert unstored_text(unstored, "date") == "2024-1-31"
    assert unstored_text(unstored, "amount") == "1E+400"
    assert unstored_text(unstored, "account_id") is None
    assert unstored_text(None, "date") is None


def test_non_integer_fiscal_month_end_loads_as_null(
    warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges
) -> None:
    exchanges.add(
        "getCompany", '{"CompanyName": "Acme", "FiscalMonthEnd": 6.0, "Currency": "USD"}'
    )
    load_typed(warehouse.connection, snapshot_id)
    assert own_rows(warehouse, snapshot_id, "company") == [("Acme", None, "USD")]


def test_non_2xx_bodies_are_not_loaded(
    warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges
) -> None:
    exchanges.add("getProfitAndLoss", SAMPLES[8][1], status_code=503)
    counts = load_typed(warehouse.connection, snapshot_id)
    assert counts["profit_and_loss"] == 0


def test_unusable_bodies_are_skipped_and_logged(
    warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges, caplog: pytest.LogCaptureFixture
) -> None:
    exchanges.add("getBalanceSheet", '{"Data": [{"AccountId": "1000", "Amount": NaN}]}')
    exchanges.add("getBalanceSheet", '{"Data": [')
    exchanges.add("getBalanceSheet", '{"Data": null}')
    exchanges.add("getBalanceSheet", SAMPLES[9][1])
    with caplog.at_level(logging.WARNING, logger="reach_dq.warehouse.typed"):
        counts = load_typed(warehouse.connection, snapshot_id)
    assert counts["balance_sheet"] == 1
    assert caplog.messages == [
        "skipped 3 balance_sheet bodies that are not valid JSON (syntax error, NaN or Infinity) "
        "or lack their item list; the formatting check reports them"
    ]


def test_non_object_items_are_skipped(
    warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges
) -> None:
    exchanges.add("getCashFlow", '{"Data": [1, "x", null, {"AccountId": "1200"}]}')
    load_typed(warehouse.connection, snapshot_id)
    assert own_rows(warehouse, snapshot_id, "cash_flow") == [("1200", None, None)]


def test_reload_does_not_duplicate(
    warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges
) -> None:
    for operation_id, body, _ in SAMPLES:
        exchanges.add(operation_id, body)
    first = load_typed(warehouse.connection, snapshot_id)
    second = load_typed(warehouse.connection, snapshot_id)
    stored = warehouse.connection.execute("SELECT count(*) FROM profit_and_loss").fetchone()
    assert second == first
    assert stored == (2,)


def test_reload_keeps_other_snapshots(
    warehouse: Warehouse, snapshot_id: str, exchanges: Exchanges
) -> None:
    exchanges.add("getProfitAndLoss", SAMPLES[8][1])
    other = begin(warehouse)
    Exchanges(warehouse, other).add("getProfitAndLoss", SAMPLES[8][1])
    load_typed(warehouse.connection, snapshot_id)
    load_typed(warehouse.connection, other)
    load_typed(warehouse.connection, snapshot_id)
    per_snapshot = warehouse.connection.execute(
        "SELECT snapshot_id = ?, count(*) FROM profit_and_loss GROUP BY 1 ORDER BY 1", [snapshot_id]
    ).fetchall()
    assert per_snapshot == [(False, 2), (True, 2)]


@pytest.mark.parametrize(
    ("value", "sql_type", "expected"),
    [
        ("x", "VARCHAR", "x"),
        (1, "VARCHAR", None),
        ("2024-02-29", "DATE", "2024-02-29"),
        ("2023-02-29", "DATE", None),
        ("2024-01-31\n", "DATE", None),
        ("\uff12\uff10\uff12\uff14-01-31", "DATE", None),  # full-width digits
        (Decimal("12345678901234.56"), "DECIMAL(38, 10)", "12345678901234.5600000000"),
        (Decimal("1.50000000000000"), "DECIMAL(38, 10)", "1.5000000000"),
        (Decimal("NaN"), "DECIMAL(38, 10)", None),
        (1.5, "DECIMAL(38, 10)", None),
        (10**27, "DECIMAL(38, 10)", "1" + "0" * 27 + ".0000000000"),
        (10**28, "DECIMAL(38, 10)", None),
        (True, "DECIMAL(38, 10)", None),
        (12, "INTEGER", "12"),
        (2**31, "INTEGER", None),
        (False, "INTEGER", None),
        (Decimal("12.0"), "INTEGER", None),
        (True, "BOOLEAN", "true"),
        (1, "BOOLEAN", None),
    ],
)
def test_to_sql_text(value: Any, sql_type: str, expected: str | None) -> None:
    assert to_sql_text(value, sql_type) == expected


def test_to_sql_text_rejects_unknown_type() -> None:
    with pytest.raises(NotImplementedError) as raised:
        to_sql_text("x", "BLOB")
    assert str(raised.value) == "typed loading has no conversion for SQL type 'BLOB'"
