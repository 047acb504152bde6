"""Create the warehouse tables: the fixed ones in schema.sql and one typed table per dataset."""

from __future__ import annotations

from importlib import resources

import duckdb

from reach_dq.datasets import CONTEXT_COLUMNS, DATASETS, Column, Dataset


def table_columns(dataset: Dataset) -> tuple[Column, ...]:
    """Return the context columns then the dataset's own, a dataset column winning a name clash."""
    own = {column.name for column in dataset.columns}
    context = tuple(column for column in CONTEXT_COLUMNS if column.name not in own)
    return context + dataset.columns


def typed_table_sql(dataset: Dataset) -> str:
    columns = ",\n    ".join(f"{column.name} {column.sql_type}" for column in table_columns(dataset))
    return f"CREATE TABLE IF NOT EXISTS {dataset.name} (\n    {columns}\n)"


def create_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create every warehouse table that does not exist yet; existing data is left as it is."""
    schema = resources.files("reach_dq.warehouse").joinpath("schema.sql").read_text("utf-8")
    connection.execute(schema)
    for dataset in DATASETS:
        connection.execute(typed_table_sql(dataset))
