"""Read expectation suites from JSON files, one file per dataset named ``<dataset>.json``.

A suite file has the shape of a GX Core 1.x expectation suite in JSON::

    {"name": "reach_dq.<dataset>",
     "notes": "what the dataset is (optional, shown in the data docs)",
     "expectations": [{"type": "expect_...", "kwargs": {...},
                       "meta": {"category": "formatting", "notes": "..."}}]}

Each expectation is built into a GX ``Expectation`` while the file is read, so an unknown
expectation type or an invalid keyword argument is reported against the file before any data is
validated.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reach_dq.exceptions import ConfigError
from reach_dq.findings import Category

if TYPE_CHECKING:
    from great_expectations.expectations.expectation import Expectation

log = logging.getLogger(__name__)

SUITE_PREFIX = "reach_dq."
DEFAULT_CATEGORY = Category.FORMATTING

# Keyword arguments of GX 1.x expectations that name the columns of the expectation's domain.
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARG = "column_list"


@dataclasses.dataclass(frozen=True)
class Rule:
    """Facts about one expectation that reach-dq needs to report on it without GX."""

    check: str  # gx.<dataset>.<expectation type>(<columns>)
    category: Category
    columns: tuple[str, ...]  # the domain columns, in the order the kwargs name them
    row_condition: str | None  # readable text of the row condition, for messages
    condition_names: frozenset[str]  # every identifier in the row condition as written
    warning_only: bool  # GX severity "warning" or "info": a failure is reported as a warning


@dataclasses.dataclass(frozen=True)
class SuiteFile:
    """A suite file that was read and validated. ``expectations[i]`` belongs to ``rules[i]``."""

    dataset: str
    path: Path
    name: str
    notes: str | None
    rules: tuple[Rule, ...]
    expectations: tuple[Expectation, ...]

    def columns(self) -> set[str]:
        """Return every column name the suite reads.

        Every identifier in a row condition counts as a column, so the set may contain a few
        names that are not columns. Callers intersect it with the frame's columns.
        """
        names = {column for rule in self.rules for column in rule.columns}
        for rule in self.rules:
            names.update(rule.condition_names)
        return names


def suite_paths(suites_dir: Path) -> list[Path]:
    """Return the suite files in ``suites_dir``, sorted by name."""
    if not suites_dir.is_dir():
        raise ConfigError(f"expectation suites folder {str(suites_dir)!r} does not exist")
    paths = sorted(suites_dir.glob("*.json"))
    if not paths:
        raise ConfigError(f"expectation suites folder {str(suites_dir)!r} contains no *.json file")
    return paths


def load_suite(path: Path) -> SuiteFile:
    """Read and validate one suite file. The dataset is the file name without ``.json``.

    Raises ``ConfigError`` naming the file for invalid JSON, a suite name that does not match
    the file name, an empty suite, an unknown expectation type or invalid keyword arguments.
    """
    dataset = path.stem
    document = _read_json(path)
    expected_name = SUITE_PREFIX + dataset
    if document.get("name") != expected_name:
        raise ConfigError(
            f"suite file {str(path)!r}: name must be {expected_name!r}, "
            f"got {document.get('name')!r}"
        )

    notes = document.get("notes")
    if notes is not None and not isinstance(notes, str):
        raise ConfigError(f"suite file {str(path)!r}: 'notes' must be a string, got {notes!r}")

    items = document.get("expectations")
    if not isinstance(items, list) or not items:
        raise ConfigError(
            f"suite file {str(path)!r}: 'expectations' must be a non-empty list, got {items!r}"
        )

    rules: list[Rule] = []
    expectations: list[Expectation] = []
    for position, item in enumerate(items):
        expectation = _build_expectation(path, position, item)
        rules.append(_rule(path, position, dataset, item, expectation))
        expectations.append(expectation)

    log.debug("read suite %s with %d expectations from %s", expected_name, len(rules), path)
    return SuiteFile(dataset, path, expected_name, notes, tuple(rules), tuple(expectations))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"suite file {str(path)!r} cannot be read: {exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"suite file {str(path)!r} is not valid JSON: {exc}") from exc

    if not isinstance(document, dict):
        raise ConfigError(
            f"suite file {str(path)!r} must contain a JSON object, got {type(document).__name__}"
        )
    return document


def _build_expectation(path: Path, position: int, item: object) -> Expectation:
    from great_expectations.exceptions import GreatExpectationsError
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    where = f"suite file {str(path)!r}, expectation {position}"
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: must be a JSON object, got {item!r}")
    if not isinstance(item.get("kwargs"), dict):
        raise ConfigError(f"{where}: 'kwargs' must be a JSON object, got {item.get('kwargs')!r}")

    configuration = dict(item)
    meta = item.get("meta")
    if "notes" not in item and isinstance(meta, dict) and isinstance(meta.get("notes"), str):
        # GX 1.24 data docs render an expectation's top-level notes, not meta.notes.
        configuration["notes"] = meta["notes"]

    try:
        return ExpectationConfiguration(**configuration).to_domain_obj()
    except (GreatExpectationsError, TypeError, ValueError) as exc:
        # GX raises ExpectationNotFoundError for an unknown type and a pydantic ValidationError
        # (a ValueError) for invalid kwargs. An unknown top-level key is a TypeError.
        reason = " ".join(str(exc).split())
        raise ConfigError(f"{where} ({item.get('type')!r}) is invalid: {reason}") from exc


def _rule(
    path: Path, position: int, dataset: str, item: Mapping[str, Any], expectation: Expectation
) -> Rule:
    from great_expectations.expectations.metadata_types import FailureSeverity

    kwargs = item["kwargs"]
    columns = tuple(str(kwargs[key]) for key in _COLUMN_KWARGS if key in kwargs)
    columns += tuple(str(column) for column in kwargs.get(_COLUMN_LIST_KWARG) or ())
    check = f"gx.{dataset}.{item['type']}"
    if columns:
        check += f"({', '.join(columns)})"

    written_condition = json.dumps(kwargs.get("row_condition"))
    return Rule(
        check=check,
        category=_category(path, position, item),
        columns=columns,
        row_condition=_condition_text(getattr(expectation, "row_condition", None)),
        condition_names=frozenset(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", written_condition)),
        warning_only=expectation.severity != FailureSeverity.CRITICAL,
    )


def _condition_text(condition: object) -> str | None:
    """Return a GX row condition as text: a pandas query string as written, else GX's repr."""
    if condition is None:
        return None
    pass_through = getattr(condition, "pass_through_filter", None)
    return pass_through if isinstance(pass_through, str) else repr(condition)


def _category(path: Path, position: int, item: Mapping[str, Any]) -> Category:
    meta = item.get("meta") or {}
    value = meta.get("category", DEFAULT_CATEGORY.value) if isinstance(meta, dict) else None
    try:
        return Category(value)
    except ValueError:
        valid = ", ".join(category.value for category in Category)
        raise ConfigError(
            f"suite file {str(path)!r}, expectation {position}: meta.category must be one of "
            f"{valid}, got {value!r}"
        ) from None
