from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import duckdb

from reach_dq.findings import Category, Finding, Outcome
from reach_dq.runner import Check, CheckContext, run_checks


def context() -> CheckContext:
    day = dt.date(2025, 1, 31)
    return CheckContext(duckdb.connect(), "s1", spec=None, as_of=day, first_month=day, last_month=day)  # type: ignore[arg-type]


def broken(_: CheckContext) -> Iterable[Finding]:
    raise KeyError("AccountType")


def clean(_: CheckContext) -> Iterable[Finding]:
    yield Finding("clean", Category.FORMATTING, "company", Outcome.PASSED, "ok")


def test_check_that_raises_is_not_evaluated_per_dataset() -> None:
    findings = run_checks([Check("broken", Category.ACCURACY, ("balance_sheet", "cash_flow"), broken)], context())
    assert [(f.dataset, f.outcome) for f in findings] == [
        ("balance_sheet", Outcome.NOT_EVALUATED),
        ("cash_flow", Outcome.NOT_EVALUATED),
    ]
    assert findings[0].message == "check could not run: KeyError: 'AccountType'"


def test_other_checks_run_after_a_broken_one() -> None:
    checks = [Check("broken", Category.ACCURACY, ("balance_sheet",), broken), Check("clean", Category.FORMATTING, ("company",), clean)]
    findings = run_checks(checks, context())
    assert [f.check for f in findings] == ["broken", "clean"]
    assert findings[1].outcome is Outcome.PASSED
