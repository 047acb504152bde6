"""Turn GX expectation results into reach-dq findings, one finding per expectation."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reach_dq.datasets import BY_NAME
from reach_dq.findings import (
    MAX_FAILURE_CASES,
    Category,
    FailureCase,
    Finding,
    Outcome,
    request_scope,
)
from reach_dq.warehouse.ddl import UNSTORED_COLUMN, scope_columns
from reach_dq.warehouse.typed import unstored_json, unstored_text

if TYPE_CHECKING:
    from pathlib import Path

    from great_expectations.core import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )

    from reach_dq.gx.suite_files import Rule, SuiteFile

log = logging.getLogger(__name__)

def suite_findings(
    suite_file: SuiteFile, validation: ExpectationSuiteValidationResult
) -> list[Finding]:
    """Return one finding per expectation of the suite, in the order of the suite file.

    GX lists results in its own order, so each result is matched to its expectation by the id
    that GX gave the expectation when the suite was added to the context.
    """
    results = {result.expectation_config.id: result for result in validation.results}
    findings: list[Finding] = []
    for rule, expectation in zip(suite_file.rules, suite_file.expectations):
        result = results.get(expectation.id)
        if result is None:
            log.warning("GX returned no result for %s", rule.check)
            findings.append(_not_evaluated(suite_file.dataset, rule, "GX returned no result"))
        else:
            findings.append(_finding(suite_file.dataset, rule, result))
    return findings


def not_evaluated_findings(suite_file: SuiteFile, reason: str) -> list[Finding]:
    """Return a not_evaluated finding with ``reason`` for every expectation of the suite."""
    return [_not_evaluated(suite_file.dataset, rule, reason) for rule in suite_file.rules]


def empty_suite_finding(suite_file: SuiteFile) -> Finding:
    """Return the one not_evaluated finding of a suite whose dataset has zero rows."""
    count = len(suite_file.rules)
    message = f"0 rows: nothing to check, so none of the suite's {count} expectations ran"
    dataset = suite_file.dataset
    return Finding(f"gx.{dataset}.suite", Category.FORMATTING, dataset, Outcome.NOT_EVALUATED, message)


def invalid_suite_finding(path: Path, message: str) -> Finding:
    """Return the not_evaluated finding of a suite file that could not be read."""
    dataset = path.stem
    return Finding(
        f"gx.{dataset}.suite",
        Category.FORMATTING,
        dataset,
        Outcome.NOT_EVALUATED,
        message,
    )


def _not_evaluated(dataset: str, rule: Rule, reason: str) -> Finding:
    return Finding(rule.check, rule.category, dataset, Outcome.NOT_EVALUATED, reason)


def _finding(dataset: str, rule: Rule, result: ExpectationValidationResult) -> Finding:
    error = _exception_message(result.exception_info)
    if error is not None:
        return _not_evaluated(dataset, rule, f"expectation could not run: {error}")

    details: Mapping[str, Any] = result.result or {}
    if "unexpected_count" in details:
        return _row_finding(dataset, rule, result, details)
    return _observed_finding(dataset, rule, result, details)


def _row_finding(
    dataset: str, rule: Rule, result: ExpectationValidationResult, details: Mapping[str, Any]
) -> Finding:
    """Return the finding of an expectation that checks values row by row."""
    unexpected = int(details["unexpected_count"])
    checked = int(details.get("element_count") or 0)  # rows matching the row condition, if any
    scope = f" where {rule.row_condition}" if rule.row_condition else ""
    if checked == 0:
        return _not_evaluated(dataset, rule, f"0 rows{scope}: nothing to check")

    percent = 100 * unexpected / checked
    message = f"{unexpected} of {checked} rows{scope} unexpected ({percent:.2f}%)"
    mostly = result.expectation_config.kwargs.get("mostly")
    if mostly is not None and mostly < 1:
        message += f", mostly={mostly}"
    return Finding(
        rule.check,
        rule.category,
        dataset,
        _outcome(rule, success=bool(result.success)),
        message,
        failure_count=unexpected,
        failure_cases=_failure_cases(dataset, rule, details),
    )


def _observed_finding(
    dataset: str, rule: Rule, result: ExpectationValidationResult, details: Mapping[str, Any]
) -> Finding:
    """Return the finding of an expectation on a whole column or table (an observed value)."""
    observed = _text(details.get("observed_value"))
    success = bool(result.success)
    case = FailureCase(field=", ".join(rule.columns) or None, actual=observed)
    cases = () if success else (case,)
    return Finding(
        rule.check,
        rule.category,
        dataset,
        _outcome(rule, success=success),
        f"observed value {observed}",
        failure_count=0 if success else 1,
        failure_cases=cases,
    )


def _outcome(rule: Rule, *, success: bool) -> Outcome:
    if success:
        return Outcome.PASSED
    return Outcome.WARNING if rule.warning_only else Outcome.FAILED


def _exception_message(info: Mapping[str, Any] | None) -> str | None:
    """Return the message of an error GX caught while computing the result, if any.

    GX 1.24.1 reports an error either as one ``{"raised_exception": ...}`` mapping or, for an
    error in a metric, as a mapping from metric ids to such mappings.
    """
    if not info:
        return None
    if "raised_exception" in info:
        return _one_line(info.get("exception_message")) if info["raised_exception"] else None
    for entry in info.values():
        if isinstance(entry, Mapping) and entry.get("raised_exception", True):
            return _one_line(entry.get("exception_message"))
    return None


def _one_line(message: object) -> str:
    return " ".join(str(message or "unknown error").split())


def _failure_cases(
    dataset: str, rule: Rule, details: Mapping[str, Any]
) -> tuple[FailureCase, ...]:
    rows = details.get("partial_unexpected_index_list") or []
    if rows and all(isinstance(row, Mapping) for row in rows):
        scope = _scope_columns(dataset)
        return tuple(_case_from_row(rule, row, scope) for row in rows[:MAX_FAILURE_CASES])

    # Without index columns GX lists row numbers only, so the cases carry the values alone.
    values = details.get("partial_unexpected_list") or []
    return tuple(_case_from_value(rule, value) for value in values[:MAX_FAILURE_CASES])


def _scope_columns(dataset: str) -> tuple[str, str, str] | None:
    known = BY_NAME.get(dataset)
    return None if known is None else scope_columns(known)


def _case_from_row(
    rule: Rule, row: Mapping[str, Any], scope: tuple[str, str, str] | None = None
) -> FailureCase:
    """Build a case from one unexpected row: its domain columns and index columns by name.

    ``scope`` names the row's request-parameter columns, when the dataset has them.
    """
    fields = _value_columns(rule)
    return FailureCase(
        company_id=_optional_text(row, "company_id"),
        account_id=_optional_text(row, "account_id"),
        date=_optional_text(row, "date"),
        basis=_optional_text(row, "basis"),
        scope=request_scope(*(_optional_text(row, name) for name in scope)) if scope else None,
        field=", ".join(fields) or None,
        actual=", ".join(_cell_text(row, column) for column in fields) or None,
    )


def _cell_text(row: Mapping[str, Any], column: str) -> str:
    """Render one cell; a NULL that stands for a value the warehouse could not store shows it."""
    value = row.get(column)
    if not _is_missing(value):
        return _text(value)
    unstored = row.get(UNSTORED_COLUMN)
    sent = None if _is_missing(unstored) else unstored_json(unstored, column)
    return "null" if sent is None else f"{sent} (sent, not stored)"


def _case_from_value(rule: Rule, value: Any) -> FailureCase:
    if isinstance(value, Mapping):
        return _case_from_row(rule, value)
    parts: Sequence[Any] = value if isinstance(value, tuple) else (value,)
    return FailureCase(
        field=", ".join(rule.columns) or None,
        actual=", ".join(_text(part) for part in parts),
    )


def _value_columns(rule: Rule) -> tuple[str, ...]:
    """Return the domain columns that a failure case reports, leaving out company_id."""
    columns = tuple(column for column in rule.columns if column != "company_id")
    return columns or rule.columns


def _optional_text(row: Mapping[str, Any], column: str) -> str | None:
    """Return a column that places a case, or the value sent for it when it was not stored."""
    value = row.get(column)
    if not _is_missing(value):
        return _text(value)
    unstored = row.get(UNSTORED_COLUMN)
    return None if _is_missing(unstored) else unstored_text(unstored, column)


def _text(value: Any) -> str:
    """Render a value from a frame as text: decimals exactly, dates as YYYY-MM-DD, nulls as null."""
    if _is_missing(value):
        return "null"
    if isinstance(value, dt.date):  # datetime.datetime and pandas.Timestamp too
        return value.isoformat()
    return str(value)


def _is_missing(value: Any) -> bool:
    import pandas

    return value is None or (pandas.api.types.is_scalar(value) and bool(pandas.isna(value)))
