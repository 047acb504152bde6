"""Translate a Pandera schema into a DuckDB query of the rows that it may reject.

Pandera validates pandas frames, and turning ten million warehouse rows into a frame costs far
more than checking them. Most rows are clean, so a schema check first queries DuckDB for the rows
that could break a rule and gives Pandera only those. Pandera still decides every failure case.

The query may select a clean row (that only costs time), but it never leaves out a row that
Pandera would reject. Each rule becomes one condition:

- ``nullable=False``: the value is NULL.
- a DATE column: the date lies outside years 1 to 9999. Pandas timestamps in microseconds cover
  far more, so this only errs on the safe side.
- ``str_length``: the length in code points, as Python counts them, is out of range.
- ``isin``: the value is not in the allowed set. ``in_range``: the value is outside the bounds.
- the month-end, currency-code and start-before-end rules of ``checks.schema_rules``, known by
  the function that Pandera runs.
- ``unique``: the hash of the row's key occurs more than once in the snapshot. DuckDB's
  ``hash`` gives equal NULLs equal hashes, as pandas counts them equal, and a collision only
  selects clean rows too. Every copy is selected, so Pandera can still tell which copy came first.

Pandera skips null values in these checks, and a condition that is NULL selects nothing either.
Any other rule, column type or schema option gives no query, and the caller then validates
every row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import pandera.pandas as pa

from checks import schema_rules as rules


@dataclasses.dataclass(frozen=True)
class SuspectQuery:
    """The suspect rows of one typed table: a row condition and a key that must be unique."""

    condition: str  # a boolean SQL expression over the table's columns
    key: tuple[str, ...]  # columns whose repeated values make a row suspect; empty for none

    def sql(self, table: str, selections: Sequence[str]) -> str:
        """Return the query of ``selections`` over the suspect rows, in load order.

        Its one parameter is the snapshot id. The table is aliased ``t``.
        """
        terms = [self.condition]
        if self.key:
            key = f"hash({', '.join(f't.{_quote(name)}' for name in self.key)})"
            terms.append(
                f"{key} IN (SELECT {key} AS key_hash FROM {_quote(table)} AS t "
                "WHERE t.snapshot_id = $1 GROUP BY key_hash HAVING count(*) > 1)"
            )
        return (
            f"SELECT {', '.join(selections)} FROM {_quote(table)} AS t "
            f"WHERE t.snapshot_id = $1 AND ({' OR '.join(terms)}) "
            "ORDER BY t.exchange_id, t.rowid"
        )


def suspect_query(schema: pa.DataFrameSchema, sql_types: dict[str, str]) -> SuspectQuery | None:
    """Return the query of the rows ``schema`` may reject, or None when a rule has no SQL here.

    ``sql_types`` maps each column of the schema to its DuckDB type in the typed table.
    """
    if schema.report_duplicates != "exclude_first" or schema.unique_column_names:
        return None
    terms: list[str] = []
    for name, column in schema.columns.items():
        column_terms = _column_terms(name, column, sql_types.get(name))
        if column_terms is None:
            return None
        terms.extend(column_terms)
    for check in schema.checks:
        if check._check_fn is not rules.start_not_after_end:  # noqa: SLF001  # the rule's function
            return None
        terms.append('t."start_date" > t."end_date"')
    condition = " OR ".join(f"coalesce({term}, false)" for term in terms) or "false"
    return SuspectQuery(condition, tuple(schema.unique or ()))


def _column_terms(name: str, column: pa.Column, sql_type: str | None) -> list[str] | None:
    if sql_type is None or column.regex:
        return None
    quoted = f"t.{_quote(name)}"
    terms = [] if column.nullable else [f"{quoted} IS NULL"]
    if sql_type == "DATE":
        terms.append(f"NOT ({quoted} BETWEEN DATE '0001-01-01' AND DATE '9999-12-31')")
    for check in column.checks:
        term = _value_term(check, quoted)
        if term is None:
            return None
        terms.append(term)
    return terms


def _value_term(check: pa.Check, quoted: str) -> str | None:
    if not check.ignore_na or check.element_wise or check.groupby is not None:
        return None
    custom = _CUSTOM_TERMS.get(check._check_fn)  # noqa: SLF001  # the rule's function
    if custom is not None:
        return custom(quoted)
    builtin = _BUILTIN_TERMS.get(check.name)
    return None if builtin is None else builtin(quoted, check.statistics)


def _str_length(quoted: str, bounds: dict[str, Any]) -> str | None:
    limits = [(bounds.get("exact_value"), "<>"), (bounds.get("min_value"), "<"),
              (bounds.get("max_value"), ">")]
    terms = [f"length({quoted}) {operator} {int(limit)}"
             for limit, operator in limits if limit is not None]
    return " OR ".join(terms) or None


def _isin(quoted: str, statistics: dict[str, Any]) -> str | None:
    allowed = list(statistics["allowed_values"])
    if not allowed or not all(isinstance(value, str) for value in allowed):
        return None
    return f"{quoted} NOT IN ({', '.join(_literal(value) for value in allowed)})"


def _in_range(quoted: str, bounds: dict[str, Any]) -> str | None:
    low, high = bounds["min_value"], bounds["max_value"]
    if not all(type(value) is int for value in (low, high)):
        return None
    below = "<" if bounds["include_min"] else "<="
    above = ">" if bounds["include_max"] else ">="
    return f"{quoted} {below} {low} OR {quoted} {above} {high}"


_BUILTIN_TERMS: dict[str, Callable[[str, dict[str, Any]], str | None]] = {
    "str_length": _str_length,
    "isin": _isin,
    "in_range": _in_range,
}

_CUSTOM_TERMS: dict[Callable[..., Any], Callable[[str], str]] = {
    rules.is_month_end: lambda quoted: f"{quoted} <> last_day({quoted})",
    # Python's fullmatch of [A-Z]{3}: exactly three ASCII capitals and nothing after them.
    rules.is_currency_code: lambda quoted: f"NOT regexp_full_match({quoted}, '[A-Z]{{3}}')",
}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
