"""The suspect-row query selects every row that Pandera rejects, on clean and broken snapshots.

Each case mutates a clean two-company snapshot at random: it sets cells of the schema's columns
to values that break or keep a rule, and copies rows to make duplicates. Pandera then validates
the whole table and the suspect rows alone, and both must give the same failure cases.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import duckdb
import pytest

from checks.schemas import _CHECK_SCHEMAS, _validate, read_check_frame
from checks.suspect_rows import suspect_query
from reach_dq.datasets import BY_NAME, DATASETS, MONEY
from reach_dq.warehouse.ddl import table_columns
from tests.unit.checks.conftest import SNAPSHOT_ID, build_books, catalog_rows, insert_books
from tests.unit.checks.conftest import month_end

FIRST, LAST = month_end(2024, 1), month_end(2024, 6)

# Values that break a rule or sit just inside one, by DuckDB type.
_VALUES: dict[str, list[Any]] = {
    "VARCHAR": [None, "", "x", "usd", "USD", "US", "USDX", "ASSET", "asset", "ACCRUAL", "CASH",
                "OPERATING", "Ü", "EUR", "C001", "4000", "O'Neil"],
    "DATE": [None, dt.date(2024, 2, 29), dt.date(2024, 2, 28), dt.date(2023, 2, 28),
             dt.date(2024, 3, 15), dt.date(2024, 12, 31), dt.date(2024, 1, 1)],
    "INTEGER": [None, -1, 0, 1, 6, 12, 13],
    "BIGINT": [None, 0, 1, 13],
    "BOOLEAN": [None, True, False],
    MONEY: [None, "0", "12.5"],
}


@pytest.fixture
def snapshot(warehouse: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    for company_id in ("C001", "C002"):
        books = build_books(company_id, fiscal_month_end=12, first_month=FIRST, last_month=LAST)
        insert_books(warehouse, books)
        insert_books(warehouse, catalog_rows(company_id, first_month=FIRST))
    return warehouse


def _mutate(connection: duckdb.DuckDBPyConnection, table: str, rng: random.Random) -> None:
    schema_columns = set(_CHECK_SCHEMAS[table].columns) - {"snapshot_id"}
    columns = [column for column in table_columns(BY_NAME[table]) if column.name in schema_columns]
    rowids = [row[0] for row in connection.execute(f"SELECT rowid FROM {table}").fetchall()]
    for _ in range(rng.randint(1, 4)):
        rowid = rng.choice(rowids)
        if rng.random() < 0.3:
            copy = f"INSERT INTO {table} SELECT * FROM {table} WHERE rowid = ?"
            connection.execute(copy, [rowid])
            continue
        column = rng.choice(columns)
        value = rng.choice(_VALUES[column.sql_type])
        connection.execute(
            f'UPDATE {table} SET "{column.name}" = ? WHERE rowid = ?', [value, rowid]
        )


def _cases(connection: duckdb.DuckDBPyConnection, table: str, *, suspects_only: bool) -> list:
    dataset = BY_NAME[table]
    frame = read_check_frame(connection, dataset, SNAPSHOT_ID, suspects_only=suspects_only)
    return _validate(_CHECK_SCHEMAS[table], dataset, frame)


@pytest.mark.parametrize("table", [dataset.name for dataset in DATASETS])
def test_schema_has_suspect_query(table: str) -> None:
    dataset = BY_NAME[table]
    types = {column.name: column.sql_type for column in table_columns(dataset)}
    assert suspect_query(_CHECK_SCHEMAS[table], types) is not None


@pytest.mark.parametrize("table", [dataset.name for dataset in DATASETS])
def test_clean_snapshot_has_no_suspects(snapshot: duckdb.DuckDBPyConnection, table: str) -> None:
    frame = read_check_frame(snapshot, BY_NAME[table], SNAPSHOT_ID, suspects_only=True)
    everything = read_check_frame(snapshot, BY_NAME[table], SNAPSHOT_ID)
    assert len(everything) > 0
    assert len(frame) == 0


@pytest.mark.parametrize("seed", range(12))
def test_suspects_match_full_validation(
    snapshot: duckdb.DuckDBPyConnection, seed: int
) -> None:
    rng = random.Random(seed)
    broken = 0
    for dataset in DATASETS:
        _mutate(snapshot, dataset.name, rng)
        expected = _cases(snapshot, dataset.name, suspects_only=False)
        assert _cases(snapshot, dataset.name, suspects_only=True) == expected, dataset.name
        broken += bool(expected)
    assert broken > 0  # the mutations did break rules, so the comparison covered failures


def test_null_keys_count_as_equal(snapshot: duckdb.DuckDBPyConnection) -> None:
    # Statement keys contain NULL budget, class and department ids, so two such rows are duplicates.
    snapshot.execute(
        "INSERT INTO balance_sheet SELECT * FROM balance_sheet "
        "WHERE rowid = (SELECT min(rowid) FROM balance_sheet)"
    )
    cases = _cases(snapshot, "balance_sheet", suspects_only=True)
    assert [case.expected for case in cases] == [
        "unique per snapshot_id, company_id, account_id, date, basis, budget_id, class_id, "
        "department_id"
    ]
    assert cases == _cases(snapshot, "balance_sheet", suspects_only=False)
