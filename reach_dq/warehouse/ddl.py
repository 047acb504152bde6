"""Create the warehouse tables: the fixed ones in schema.sql and one typed table per dataset."""

from __future__ import annotations

from importlib import resources

import duckdb

from reach_dq.datasets import CONTEXT_COLUMNS, DATASETS, Column, Dataset

# Last column of each typed table. It is NULL, or a JSON object that maps each column whose
# value the warehouse could not store (so the column is NULL) to the value as sent, in JSON
# text: {"amount": "\"80450.25\""} for an amount sent as a string.
UNSTORED_COLUMN = "unstored_values"
UNSTORED = Column(UNSTORED_COLUMN, "", "VARCHAR", required=False)


def table_columns(dataset: Dataset) -> tuple[Column, ...]:
    """Return the context columns then the dataset's own, a dataset column winning a name clash."""
    own = {column.name for column in dataset.columns}
    context = tuple(column for column in CONTEXT_COLUMNS if column.name not in own)
    return context + dataset.columns


def scope_columns(dataset: Dataset) -> tuple[str, str, str] | None:
    """Return the budget, class and department columns that contain a row's request parameters.

    Return None when the dataset has its own column of one of those names, as budgets, classes
    and departments do. There the column is the record's id, not a request parameter.
    """
    own = {column.name for column in dataset.columns}
    names = ("budget_id", "class_id", "department_id")
    return None if own.intersection(names) else names


def typed_table_sql(dataset: Dataset) -> str:
    columns = ",\n    ".join(
        f"{column.name} {column.sql_type}" for column in (*table_columns(dataset), UNSTORED)
    )
    return f"CREATE TABLE IF NOT EXISTS {dataset.name} (\n    {columns}\n)"


def create_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create every warehouse table that does not exist yet; existing data is left as it is.

    A typed table from a warehouse file written before ``UNSTORED_COLUMN`` existed gains it.
    """
    schema = resources.files("reach_dq.warehouse").joinpath("schema.sql").read_text("utf-8")
    connection.execute(schema)
    for dataset in DATASETS:
        connection.execute(typed_table_sql(dataset))
        connection.execute(
            f"ALTER TABLE {dataset.name} ADD COLUMN IF NOT EXISTS {UNSTORED_COLUMN} VARCHAR"
        )
