"""Each accuracy fault of the partner server, caught by ``reach-dq validate`` run as a user runs it.

Two generated companies; the faults target C001 and the month three months before the last
month of the books. With as-of 15 July 2026 the books end in June 2026, the target month is
March 2026, and the 24 checked months run from July 2024 to June 2026.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from reach_dq.partner.server import PartnerConfig, serve_in_background
from tests.integration.conftest import Run, run_validate

pytestmark = pytest.mark.integration

AS_OF = dt.date(2026, 7, 15)
TARGET_MONTH = "2026-03-31"
TOKEN = "accuracy-faults-token"


@dataclasses.dataclass(frozen=True)
class Expected:
    """The finding a fault must produce: its check, outcome and one failure case."""

    fault: str
    check: str
    dataset: str
    account_id: str
    date: str
    basis: str
    outcome: str = "failed"


EXPECTED = (
    Expected("unbalanced-month", "accuracy.cash_flow_by_account", "cash_flow", "ACC1500",
             TARGET_MONTH, "ACCRUAL"),
    # C001 closes its books in December. With FiscalMonthEnd 1 reported, the close shows in
    # January, which is then not the first month of a fiscal year.
    Expected("wrong-fiscal-month-end", "accuracy.year_end_close", "balance_sheet", "ACC3900",
             "2025-01-31", "ACCRUAL"),
    Expected("cash-flow-missing-account", "accuracy.cash_flow_by_account", "cash_flow",
             "ACC1100", TARGET_MONTH, "ACCRUAL"),
    Expected("accrual-balance-on-cash-basis", "accuracy.cash_basis_accruals", "balance_sheet",
             "ACC1100", TARGET_MONTH, "CASH"),
    Expected("orphan-account-id", "accuracy.known_ids", "profit_and_loss", "UNLISTED-ACCOUNT",
             TARGET_MONTH, "ACCRUAL"),
    Expected("pnl-account-on-balance-sheet", "accuracy.statement_accounts", "balance_sheet",
             "ACC4000", TARGET_MONTH, "ACCRUAL"),
    Expected("missing-month", "accuracy.cash_flow_by_account", "cash_flow", "ACC1100",
             TARGET_MONTH, "ACCRUAL"),
    Expected("class-total-above-company-total", "accuracy.segments_within_total", "classes",
             "ACC4010", TARGET_MONTH, "ACCRUAL"),
    Expected("stale-last-month", "freshness.last_closed_month", "profit_and_loss", "ACC4010",
             "2026-06-30", "ACCRUAL"),
)


def serve_and_validate(folder: Path, *faults: str, port: int = 0) -> tuple[Run, int]:
    config = PartnerConfig(companies=2, as_of=AS_OF, token=TOKEN, faults=faults)
    with serve_in_background(config, port=port) as server:
        run = run_validate(server.base_url, server.token, folder, "--as-of", AS_OF.isoformat())
        return run, urlsplit(server.base_url).port or 0


@pytest.fixture(scope="module")
def fault_runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[Run, Path]]:
    """Run validate once per fault against a server with only that fault, and keep the run."""
    runs: dict[str, tuple[Run, Path]] = {}

    def validate(fault: str) -> tuple[Run, Path]:
        if fault not in runs:
            folder = tmp_path_factory.mktemp(fault)
            runs[fault] = serve_and_validate(folder, fault)[0], folder
        return runs[fault]

    return validate


@pytest.fixture
def validate_fault(fault_runs: Callable[[str], tuple[Run, Path]]) -> Callable[[str], Run]:
    return lambda fault: fault_runs(fault)[0]


def findings_of(run: Run, check: str, company_id: str) -> list[dict]:
    return [f for f in run.findings if f["check"] == check and f["company_id"] == company_id]


@pytest.mark.parametrize("expected", EXPECTED, ids=lambda expected: expected.fault)
def test_fault_named_by_company_account_and_month(
    validate_fault: Callable[[str], Run], expected: Expected
) -> None:
    run = validate_fault(expected.fault)

    assert run.exit_code == 1, run.stderr
    [finding] = [f for f in findings_of(run, expected.check, "C001")
                 if f["dataset"] == expected.dataset]
    assert finding["outcome"] == expected.outcome
    places = {(c["company_id"], c.get("account_id"), c["date"], c.get("basis"))
              for c in finding["failure_cases"]}
    assert ("C001", expected.account_id, expected.date, expected.basis) in places


@pytest.mark.parametrize("expected", EXPECTED, ids=lambda expected: expected.fault)
def test_fault_leaves_other_company_clean(
    validate_fault: Callable[[str], Run], expected: Expected
) -> None:
    run = validate_fault(expected.fault)

    problems = [(f["check"], f["dataset"]) for f in run.findings
                if f["company_id"] == "C002" and f["outcome"] in ("failed", "warning")]
    assert problems == []


def test_unbalanced_month_cases(
    validate_fault: Callable[[str], Run],
) -> None:
    run = validate_fault("unbalanced-month")

    [finding] = findings_of(run, "accuracy.cash_flow_by_account", "C001")
    cases = [(c["date"], c["basis"], c["expected"], c["actual"], c["delta"])
             for c in finding["failure_cases"]]
    assert cases == [
        ("2026-03-31", "ACCRUAL", "-100.00", "0.00", "100.00"),
        ("2026-03-31", "CASH", "-100.00", "0.00", "100.00"),
        ("2026-04-30", "ACCRUAL", "100.00", "0.00", "-100.00"),
        ("2026-04-30", "CASH", "100.00", "0.00", "-100.00"),
    ]


def test_missing_month_fails_balance_sheet_coverage(validate_fault: Callable[[str], Run]) -> None:
    run = validate_fault("missing-month")

    coverage = {f["dataset"]: f for f in findings_of(run, "accuracy.months_present", "C001")}
    assert {name: f["outcome"] for name, f in coverage.items()} == {
        "profit_and_loss": "warning", "balance_sheet": "failed", "cash_flow": "warning"
    }
    assert [(c["date"], c["basis"]) for c in coverage["balance_sheet"]["failure_cases"]] == [
        (TARGET_MONTH, "ACCRUAL"), (TARGET_MONTH, "CASH")
    ]


def test_capped_cases_counted_in_docs(
    fault_runs: Callable[[str], tuple[Run, Path]],
) -> None:
    # Without March, every tracked account's change is off in March and in April: more cases
    # than a finding keeps.
    run, folder = fault_runs("missing-month")

    [finding] = findings_of(run, "accuracy.cash_flow_by_account", "C001")
    assert finding["failure_count"] == 21
    assert len(finding["failure_cases"]) == 20
    page = (folder / "docs" / "index.html").read_text(encoding="utf-8")
    assert "showing 20 of 21 cases" in page


def test_restated_closed_month_reported_on_second_run(tmp_path: Path) -> None:
    # Same partner means the same base URL, so the faulty server takes the healthy one's port.
    healthy, port = serve_and_validate(tmp_path)
    restated, _ = serve_and_validate(tmp_path, "restated-closed-month", port=port)

    assert healthy.exit_code == 0, healthy.stderr
    assert restated.exit_code == 1, restated.stderr
    [warning] = [f for f in findings_of(restated, "freshness.restatements", "C001")
                 if f["dataset"] == "profit_and_loss"]
    assert warning["outcome"] == "warning"
    assert warning["failure_cases"] == [{
        "company_id": "C001", "account_id": "ACC4010", "date": TARGET_MONTH, "basis": "ACCRUAL",
        "field": "Amount", "expected": "111355.57", "actual": "111455.57", "delta": "100.00",
    }]
    identity = findings_of(restated, "accuracy.balance_sheet_vs_net_income", "C001")
    assert [f["outcome"] for f in identity] == ["failed"]
    others = findings_of(restated, "freshness.restatements", "C002")
    assert {f["outcome"] for f in others} == {"passed"}
