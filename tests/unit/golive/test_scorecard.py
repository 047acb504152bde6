from __future__ import annotations

from reach_dq.findings import Category, Finding, Outcome
from reach_dq.golive.scorecard import (
    LifecycleTest,
    RowStatus,
    build_scorecard,
    is_ready,
    lifecycle_test,
    render_scorecard,
)


def finding(check: str, category: Category, outcome: Outcome = Outcome.PASSED) -> Finding:
    return Finding(check, category, "company", outcome, f"{check} message")


ALL_READY = [
    finding("auth.missing_token", Category.SECURITY),
    finding("http.content_type", Category.FORMATTING),
    finding("accuracy.balance_sheet_vs_net_income", Category.ACCURACY),
    finding("freshness.last_closed_month", Category.FRESHNESS),
    finding("latency.p95_within_budget", Category.RELIABILITY),
    finding("isolation.unlisted_company", Category.SECURITY),
]


def statuses(findings: list[Finding]) -> dict[str, str]:
    return {str(row.test): str(row.status) for row in build_scorecard(findings)}


def test_isolation_checks_map_to_isolation_row() -> None:
    assert lifecycle_test(finding("isolation.cross_company", Category.SECURITY)) is LifecycleTest.ISOLATION
    assert lifecycle_test(finding("auth.invalid_token", Category.SECURITY)) is LifecycleTest.ACCESS


def test_drift_belongs_to_no_row() -> None:
    assert lifecycle_test(finding("drift.figures", Category.DRIFT)) is None


def test_every_row_ready_is_ready() -> None:
    rows = build_scorecard(ALL_READY)

    assert [row.status for row in rows] == [RowStatus.READY] * 6
    assert is_ready(rows)


def test_failed_finding_makes_its_row_not_ready() -> None:
    failed = finding("pagination.pages_match_total", Category.FORMATTING, Outcome.FAILED)

    rows = build_scorecard([*ALL_READY, failed])

    row = next(row for row in rows if row.test is LifecycleTest.FORMATTING)
    assert row.status is RowStatus.NOT_READY
    assert row.failed == (failed,)
    assert not is_ready(rows)


def test_row_without_findings_is_not_evaluated() -> None:
    without_freshness = [f for f in ALL_READY if f.category is not Category.FRESHNESS]

    assert statuses(without_freshness)["freshness"] == "not evaluated"
    assert not is_ready(build_scorecard(without_freshness))


def test_warnings_and_not_evaluated_keep_row_ready() -> None:
    extra = [finding("latency.p95_within_budget", Category.RELIABILITY, Outcome.WARNING),
             finding("stability.closed_months", Category.RELIABILITY, Outcome.NOT_EVALUATED)]

    assert statuses([*ALL_READY, *extra])["reliability"] == "ready"


def test_render_lists_failed_findings_and_verdict() -> None:
    failed = finding("auth.missing_token", Category.SECURITY, Outcome.FAILED)

    text = render_scorecard(build_scorecard([*ALL_READY, failed]))

    assert "  access and authentication  not ready      (2 findings)" in text.splitlines()
    assert "      auth.missing_token [company]: auth.missing_token message" in text.splitlines()
    assert text.splitlines()[-1] == "verdict: not ready for go-live"
