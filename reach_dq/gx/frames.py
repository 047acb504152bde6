"""Read the pandas frames that the GX suites validate, one query per dataset.

Each frame contains only the columns that the dataset's suites read, plus the index columns
that failure cases report, in table order and in load order. Column dtypes:

- VARCHAR is pandas ``str``, INTEGER and BIGINT ``Int64``, BOOLEAN ``boolean``.
- DATE columns contain ``datetime.date`` objects, as ``Warehouse.read_dataset`` returns them.
  With ``datetime64`` GX would report the dates of failing rows as midnight timestamps, in the
  data docs too. The conversion took about 0.2 s of CPU for a million dates on a 2-core Xeon.
- Money (DECIMAL) is exact: ``decimal.Decimal`` objects when any expectation reads its values.
  A money column that only null expectations read contains ``True`` where the warehouse has an
  amount and ``<NA>`` where it has none. Those expectations see the same nulls, and no amount is
  read or rounded.
"""

from __future__ import annotations

import decimal
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from reach_dq.datasets import BY_NAME, MONEY, Column, Dataset
from reach_dq.exceptions import ConfigError, StoreError
from reach_dq.gx.context import INDEX_COLUMNS
from reach_dq.gx.suite_files import SuiteFile, load_suite, suite_paths
from reach_dq.warehouse.ddl import table_columns

if TYPE_CHECKING:
    import duckdb
    import pandas

log = logging.getLogger(__name__)

# Expectations that read only whether a value is null, never the value itself.
NULL_ONLY_EXPECTATIONS = frozenset(
    {"expect_column_values_to_not_be_null", "expect_column_values_to_be_null"}
)

_PANDAS_DTYPES = {"VARCHAR": "str", "INTEGER": "Int64", "BIGINT": "Int64", "BOOLEAN": "boolean"}

_to_decimal = np.frompyfunc(decimal.Decimal, 1, 1)


def read_suite_frames(
    connection: duckdb.DuckDBPyConnection,
    snapshot_id: str,
    *,
    suites_dir: Path | None = None,
) -> dict[str, pandas.DataFrame]:
    """Read one frame per dataset that a suite file in ``suites_dir`` names.

    A suite file that cannot be read is skipped here: ``run_suites`` reports it. Raises
    ``ConfigError`` for a suites folder without suites and ``StoreError`` when a table cannot
    be read.
    """
    from reach_dq.gx_suites import default_suites_dir

    suites = _readable_suites(suite_paths(suites_dir or default_suites_dir()))
    frames: dict[str, pandas.DataFrame] = {}
    for name, dataset_suites in _group_by_dataset(suites).items():
        dataset = BY_NAME.get(name)
        if dataset is None:
            continue  # no table of that name: run_suites reports the suite's missing frame
        frames[name] = read_frame(connection, dataset, snapshot_id, dataset_suites)
    return frames


def read_frame(
    connection: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    snapshot_id: str,
    suites: Iterable[SuiteFile],
) -> pandas.DataFrame:
    """Read the rows of one dataset of a snapshot with the columns that ``suites`` read."""
    import duckdb

    suites = list(suites)
    needed = set(INDEX_COLUMNS).union(*(suite.columns() for suite in suites))
    value_columns = _value_read_columns(suites)
    # INDEX_COLUMNS contains company_id, which every typed table has, so no frame is empty of
    # columns and each frame counts the dataset's rows.
    columns = [column for column in table_columns(dataset) if column.name in needed]
    selections = [_selection(column, read_value=column.name in value_columns) for column in columns]
    # Without ORDER BY, DuckDB returns rows in insertion order (preserve_insertion_order is on
    # by default), which keeps each response's items in the order the partner sent them.
    query = f'SELECT {", ".join(selections)} FROM "{dataset.name}" WHERE snapshot_id = ?'
    try:
        frame = connection.execute(query, [snapshot_id]).df()
    except duckdb.Error as exc:
        raise StoreError(
            f"cannot read dataset {dataset.name!r} of snapshot {snapshot_id!r}: {exc}"
        ) from exc

    for column in columns:
        _set_dtype(frame, column, read_value=column.name in value_columns)
    log.debug("read %d rows of %s for GX: %s", len(frame), dataset.name, list(frame.columns))
    return frame


def _readable_suites(paths: Iterable[Path]) -> list[SuiteFile]:
    suites = []
    for path in paths:
        try:
            suites.append(load_suite(path))
        except ConfigError:
            log.debug("suite file %s skipped while reading frames", path, exc_info=True)
    return suites


def _group_by_dataset(suites: Iterable[SuiteFile]) -> dict[str, list[SuiteFile]]:
    groups: dict[str, list[SuiteFile]] = {}
    for suite in suites:
        groups.setdefault(suite.dataset, []).append(suite)
    return groups


def _value_read_columns(suites: Iterable[SuiteFile]) -> set[str]:
    """Return the columns whose values some expectation, row condition or case report reads."""
    names = set(INDEX_COLUMNS)
    for suite in suites:
        for rule, expectation in zip(suite.rules, suite.expectations):
            names.update(rule.condition_names)
            if expectation.expectation_type not in NULL_ONLY_EXPECTATIONS:
                names.update(rule.columns)
    return names


def _selection(column: Column, *, read_value: bool) -> str:
    name = f'"{column.name}"'
    if column.sql_type != MONEY:
        return name
    if read_value:
        # DuckDB's DataFrame export turns DECIMAL into float64, so the exact text is read
        # and parsed into decimal.Decimal.
        return f"CAST({name} AS VARCHAR) AS {name}"
    return f"({name} IS NOT NULL OR NULL) AS {name}"


def _set_dtype(frame: pandas.DataFrame, column: Column, *, read_value: bool) -> None:
    import pandas

    series = frame[column.name]
    if column.sql_type == MONEY and read_value:
        frame[column.name] = _objects(series, lambda texts: _to_decimal(texts.to_numpy(object)))
    elif column.sql_type == MONEY:
        frame[column.name] = series.astype("boolean")  # DuckDB gives bool when none is null
    elif column.sql_type == "DATE":
        frame[column.name] = _objects(series, lambda dates: pandas.to_datetime(dates).dt.date)
    elif series.dtype != _PANDAS_DTYPES[column.sql_type]:
        frame[column.name] = series.astype(_PANDAS_DTYPES[column.sql_type])


def _objects(
    series: pandas.Series, convert: Callable[[pandas.Series], Any]
) -> pandas.Series:
    """Return ``series`` as objects: ``convert`` applied to its non-null values, None for nulls."""
    import pandas

    present = series.notna().to_numpy()
    values = np.full(len(series), None, dtype=object)
    values[present] = np.asarray(convert(series[present]), dtype=object)
    return pandas.Series(values, index=series.index, dtype=object)
