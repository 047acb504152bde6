"""Parse the raw bodies of a snapshot into one typed table per dataset.

Conversion is strict and never guesses: a value of the wrong JSON type, a date that is not a
real ``YYYY-MM-DD`` date, or a number that DECIMAL(38, 10) cannot store exactly becomes NULL.
The row's ``unstored_values`` column then keeps the value as JSON text, so a check that finds
the NULL can report what the partner sent. The whole body stays in ``raw_responses``.

Values reach DuckDB as text in a registered pandas frame and are cast in SQL
(``CAST(x AS DECIMAL(38, 10))``), so money never passes through a binary float.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import logging
import re
from collections.abc import Callable
from typing import Any

import duckdb
import pandas as pd

from reach_dq.datasets import DATASETS, Column, Dataset
from reach_dq.exceptions import StoreError
from reach_dq.warehouse.ddl import UNSTORED_COLUMN, table_columns

log = logging.getLogger(__name__)

# Field of a body that contains its items, for operations that do not send {"Data": [...]}.
ITEMS_FIELD: dict[str, str | None] = {
    "getCompany": None,  # None: the body itself is the one item
    "getUserInfo": "Companies",
}
DEFAULT_ITEMS_FIELD = "Data"

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DECIMAL_TYPE = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_FRAME = "reach_dq_typed_rows"

_EXCHANGE_SQL = (
    "SELECT e.exchange_id, e.company_id, e.basis, e.budget_id, e.class_id, e.department_id, "
    "r.body FROM http_exchanges AS e JOIN raw_responses AS r "
    "ON r.snapshot_id = e.snapshot_id AND r.exchange_id = e.exchange_id "
    "WHERE e.snapshot_id = ? AND e.operation_id = ? AND e.status_code BETWEEN 200 AND 299 "
    "ORDER BY e.exchange_id"
)


@dataclasses.dataclass(frozen=True)
class _Exchange:
    exchange_id: int
    company_id: str | None
    basis: str | None
    budget_id: str | None
    class_id: str | None
    department_id: str | None
    body: str


class _InvalidConstant(ValueError):
    """A JSON body used NaN, Infinity or -Infinity, which JSON does not allow."""


def load_typed(connection: duckdb.DuckDBPyConnection, snapshot_id: str) -> dict[str, int]:
    """Load every 2xx body of the snapshot's data operations; return rows loaded per dataset.

    The snapshot's earlier typed rows are deleted first in the same transaction, so loading
    twice never duplicates rows and a failure leaves the previous rows in place.
    """
    counts: dict[str, int] = {}
    try:
        connection.begin()
        for dataset in DATASETS:
            counts[dataset.name] = _load_dataset(connection, snapshot_id, dataset)
        connection.commit()
    except duckdb.Error as exc:
        _rollback(connection)
        message = f"cannot load the typed tables of snapshot {snapshot_id!r}: {exc}"
        raise StoreError(message) from exc
    except BaseException:
        _rollback(connection)
        raise
    return counts


def _load_dataset(connection: duckdb.DuckDBPyConnection, snapshot_id: str, dataset: Dataset) -> int:
    connection.execute(f'DELETE FROM "{dataset.name}" WHERE snapshot_id = ?', [snapshot_id])
    exchanges = _read_exchanges(connection, snapshot_id, dataset.operation_id)

    columns = table_columns(dataset)
    values: dict[str, list[Any]] = {column.name: [] for column in columns}
    values[UNSTORED_COLUMN] = []
    skipped = 0
    for exchange in exchanges:
        items = _parse_items(exchange.body, dataset.operation_id)
        if items is None:
            skipped += 1
            continue
        for item in items:
            _append_row(values, columns, snapshot_id, exchange, item)

    if skipped:
        log.warning(
            "skipped %d %s bodies that are not valid JSON (syntax error, NaN or Infinity) "
            "or lack their item list; the formatting check reports them",
            skipped,
            dataset.name,
        )
    rows = len(values[columns[0].name])
    if rows:
        _insert(connection, dataset, columns, values)
    log.info("loaded %d %s rows of snapshot %s", rows, dataset.name, snapshot_id)
    return rows


def _read_exchanges(
    connection: duckdb.DuckDBPyConnection, snapshot_id: str, operation_id: str
) -> list[_Exchange]:
    rows = connection.execute(_EXCHANGE_SQL, [snapshot_id, operation_id]).fetchall()
    return [_Exchange(*row) for row in rows]


def _parse_items(body: str, operation_id: str) -> list[dict[str, Any]] | None:
    """Return the item objects of a body, or None when the body is not usable JSON."""
    try:
        document = json.loads(body, parse_float=decimal.Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None

    field = ITEMS_FIELD.get(operation_id, DEFAULT_ITEMS_FIELD)
    if field is None:
        return [document] if isinstance(document, dict) else None
    items = document.get(field) if isinstance(document, dict) else None
    if not isinstance(items, list):
        return None
    # An item that is not an object has no fields to load; the formatting check reports it.
    return [item for item in items if isinstance(item, dict)]


def _reject_constant(name: str) -> Any:
    raise _InvalidConstant(f"{name} is not a JSON number")


def _append_row(
    values: dict[str, list[Any]],
    columns: tuple[Column, ...],
    snapshot_id: str,
    exchange: _Exchange,
    item: dict[str, Any],
) -> None:
    context = {
        "snapshot_id": snapshot_id,
        "exchange_id": str(exchange.exchange_id),
        "company_id": exchange.company_id,
        "basis": exchange.basis,
        "budget_id": exchange.budget_id,
        "class_id": exchange.class_id,
        "department_id": exchange.department_id,
    }
    unstored: dict[str, str] = {}
    for column in columns:
        if not column.field:
            values[column.name].append(context[column.name])
            continue
        sent = item.get(column.field)
        text = to_sql_text(sent, column.sql_type)
        if text is None and sent is not None:
            unstored[column.name] = json_text(sent)
        values[column.name].append(text)
    values[UNSTORED_COLUMN].append(json.dumps(unstored) if unstored else None)


def _insert(
    connection: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    columns: tuple[Column, ...],
    values: dict[str, list[Any]],
) -> None:
    frame = pd.DataFrame({name: pd.Series(column, dtype=object) for name, column in values.items()})
    names = ", ".join([f'"{column.name}"' for column in columns] + [UNSTORED_COLUMN])
    casts = ", ".join(
        [f'CAST("{column.name}" AS {column.sql_type})' for column in columns]
        + [f"CAST({UNSTORED_COLUMN} AS VARCHAR)"]
    )
    connection.register(_FRAME, frame)
    try:
        connection.execute(f'INSERT INTO "{dataset.name}" ({names}) SELECT {casts} FROM {_FRAME}')
    finally:
        connection.unregister(_FRAME)


def json_text(value: Any) -> str:
    """Return a parsed JSON value as compact JSON text, with each ``Decimal`` in its own digits."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, list):
        return "[" + ",".join(json_text(part) for part in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{json.dumps(key)}:{json_text(part)}" for key, part in value.items())
        return "{" + ",".join(pairs) + "}"
    return json.dumps(value, ensure_ascii=False)


def unstored_json(unstored_values: str | None, column: str) -> str | None:
    """Return the JSON text sent for ``column``, from a row's ``unstored_values``, or None."""
    if unstored_values is None:
        return None
    return json.loads(unstored_values).get(column)


def unstored_text(unstored_values: str | None, column: str) -> str | None:
    """Return the value sent for ``column`` as plain text: a JSON string without its quotes."""
    sent = unstored_json(unstored_values, column)
    if sent is None:
        return None
    value = json.loads(sent, parse_float=decimal.Decimal)
    return value if isinstance(value, str) else sent


def accepted_values(sql_type: str) -> str:
    """Describe the JSON values that a column of ``sql_type`` stores, for failure cases."""
    match = _DECIMAL_TYPE.fullmatch(sql_type)
    if match:
        return f"a finite JSON number that DECIMAL({match[1]}, {match[2]}) stores exactly"
    return _ACCEPTED[sql_type]


_ACCEPTED = {
    "VARCHAR": "a JSON string",
    "DATE": "a real date written YYYY-MM-DD",
    "BOOLEAN": "true or false",
    "INTEGER": "a JSON integer within 32 bits",
    "BIGINT": "a JSON integer within 64 bits",
}


def to_sql_text(value: Any, sql_type: str) -> str | None:
    """Return ``value`` as the text DuckDB casts to ``sql_type``, or None if it does not qualify.

    VARCHAR takes only a JSON string, DATE only a real date written ``YYYY-MM-DD``, DECIMAL
    only a finite JSON number that fits the type exactly, INTEGER and BIGINT only a JSON integer
    in range, BOOLEAN only true or false.
    """
    return _converter(sql_type)(value)


def _converter(sql_type: str) -> Callable[[Any], str | None]:
    if sql_type == "VARCHAR":
        return _to_varchar
    if sql_type == "DATE":
        return _to_date
    if sql_type == "BOOLEAN":
        return _to_boolean
    if sql_type == "INTEGER":
        return lambda value: _to_integer(value, _INT32)
    if sql_type == "BIGINT":
        return lambda value: _to_integer(value, _INT64)
    match = _DECIMAL_TYPE.fullmatch(sql_type)
    if match:
        precision, scale = int(match[1]), int(match[2])
        return lambda value: _to_decimal(value, precision, scale)
    raise NotImplementedError(f"typed loading has no conversion for SQL type {sql_type!r}")


def _to_varchar(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _to_date(value: Any) -> str | None:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return None  # matches the pattern but is no calendar date, such as 2024-02-30
    return value


def _to_boolean(value: Any) -> str | None:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return None


def _to_integer(value: Any, bounds: tuple[int, int]) -> str | None:
    # bool is a subclass of int in Python, but true and false are not JSON integers.
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    low, high = bounds
    return str(value) if low <= value <= high else None


def _to_decimal(value: Any, precision: int, scale: int) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = decimal.Decimal(value)
    elif isinstance(value, decimal.Decimal) and value.is_finite():
        number = value
    else:
        return None
    return _fit_decimal(number, precision, scale)


def _fit_decimal(number: decimal.Decimal, precision: int, scale: int) -> str | None:
    """Return ``number`` in plain notation if DECIMAL(precision, scale) can store it exactly.

    DuckDB would round extra decimal places and reject too many integer digits, so such a
    number becomes NULL here instead.
    """
    context = decimal.Context(prec=precision + 2, traps=[decimal.InvalidOperation])
    try:
        fitted = number.quantize(decimal.Decimal(1).scaleb(-scale), context=context)
    except decimal.InvalidOperation:
        return None  # more significant digits than the context allows
    if fitted != number or fitted.adjusted() >= precision - scale:
        return None
    return format(fitted, "f")


def _rollback(connection: duckdb.DuckDBPyConnection) -> None:
    try:
        connection.rollback()
    except duckdb.Error:
        log.debug("rollback found no open transaction", exc_info=True)

