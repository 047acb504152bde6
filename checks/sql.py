"""Run the checks' SQL with named parameters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import duckdb

_PARAMETER = re.compile(r"\$([a-z_]+)")


def query(
    connection: duckdb.DuckDBPyConnection, sql: str, values: Mapping[str, object]
) -> list[tuple[Any, ...]]:
    """Run ``sql`` with the named parameters it uses, because DuckDB rejects unused ones.

    Raises KeyError naming a parameter that ``sql`` uses and ``values`` lacks.
    """
    used = {name: values[name] for name in dict.fromkeys(_PARAMETER.findall(sql))}
    return connection.execute(sql, used).fetchall()
