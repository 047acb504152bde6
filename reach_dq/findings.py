"""Check outcomes as data: every check returns findings, never prints or raises them."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

MAX_FAILURE_CASES = 20


class Outcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    NOT_EVALUATED = "not_evaluated"


class Category(enum.StrEnum):
    FORMATTING = "formatting"
    ACCURACY = "accuracy"
    FRESHNESS = "freshness"
    RELIABILITY = "reliability"
    SECURITY = "security"
    DRIFT = "drift"


@dataclasses.dataclass(frozen=True)
class FailureCase:
    """One place where the data breaks a rule. Money and deltas are decimal strings."""

    company_id: str | None = None
    account_id: str | None = None
    date: str | None = None
    basis: str | None = None
    scope: str | None = None  # the budget, class or department requested, see request_scope
    field: str | None = None
    expected: str | None = None
    actual: str | None = None
    delta: str | None = None

    def to_dict(self) -> dict[str, str]:
        return {key: value for key, value in dataclasses.asdict(self).items() if value is not None}


@dataclasses.dataclass(frozen=True)
class Finding:
    """The outcome of one check on one dataset, optionally for one company.

    ``failure_count`` counts every failing case; ``failure_cases`` keeps at most
    ``MAX_FAILURE_CASES`` of them.
    """

    check: str
    category: Category
    dataset: str
    outcome: Outcome
    message: str
    company_id: str | None = None
    failure_count: int = 0
    failure_cases: tuple[FailureCase, ...] = ()

    def __post_init__(self) -> None:
        if len(self.failure_cases) > MAX_FAILURE_CASES:
            object.__setattr__(self, "failure_cases", self.failure_cases[:MAX_FAILURE_CASES])

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "category": str(self.category),
            "dataset": self.dataset,
            "company_id": self.company_id,
            "outcome": str(self.outcome),
            "message": self.message,
            "failure_count": self.failure_count,
            "failure_cases": [case.to_dict() for case in self.failure_cases],
        }


def count_of(number: int, noun: str) -> str:
    """Return ``number`` with ``noun`` in the singular for one and with an "s" otherwise."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def request_scope(
    budget_id: str | None, class_id: str | None, department_id: str | None
) -> str | None:
    """Return the budget, class and department a row was requested for, as ``budget BG01``.

    Return None for the company's actuals, which are requested without any of them.
    """
    named = (("budget", budget_id), ("class", class_id), ("department", department_id))
    parts = [f"{label} {value}" for label, value in named if value]
    return ", ".join(parts) or None


def outcome_for(failure_count: int, rows_checked: int, *, failing: Outcome = Outcome.FAILED) -> Outcome:
    """Return the outcome of a rule checked over ``rows_checked`` rows; zero rows is not a pass."""
    if rows_checked == 0:
        return Outcome.NOT_EVALUATED
    return failing if failure_count else Outcome.PASSED
