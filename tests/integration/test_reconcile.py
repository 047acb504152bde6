"""``reach-dq validate --expected``: the API against the partner's own export, as a user runs it."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from reach_dq.partner.generate import generate_books
from reach_dq.partner.server import PartnerConfig, serve_in_background
from reach_dq.partner.statements import Scope, Statements
from tests.integration.conftest import TOKEN_ENV, Run, run_validate

pytestmark = pytest.mark.integration

AS_OF = dt.date(2026, 7, 15)
TOKEN = "reconcile-token"
CHANGED = {("ACC6100", dt.date(2026, 5, 31)): Decimal("10.00"),
           ("ACC6200", dt.date(2026, 5, 31)): Decimal("-3.21")}


def export(path: Path) -> None:
    """Write C001's April to June 2026 accrual P&L and June balance sheet, as its own system
    would export them, with two P&L figures of May changed."""
    statements = Statements(generate_books(0, seed=7, as_of=AS_OF))
    scope = Scope("ACCRUAL")
    profit_and_loss = statements.profit_and_loss(scope, dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    balance_sheet = statements.balance_sheet(scope, dt.date(2026, 6, 1), dt.date(2026, 6, 30))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["company_id", "account", "date", "basis", "amount"])
        for row in [*profit_and_loss, *balance_sheet]:
            amount = row.amount + CHANGED.get((row.account_id, row.date), Decimal(0))
            # The export uses AccountNumbers, which reach-dq resolves through the chart.
            number = row.account_id.removeprefix("ACC")
            writer.writerow(["C001", number, row.date.isoformat(), "ACCRUAL", amount])


@pytest.fixture(scope="module")
def reconciled(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("reconcile")
    expected = folder / "ledger-export.csv"
    export(expected)
    config = PartnerConfig(companies=2, as_of=AS_OF, token=TOKEN)
    with serve_in_background(config) as server:
        return run_validate(server.base_url, server.token, folder, "--as-of", AS_OF.isoformat(),
                            "--expected", str(expected))


def reconcile_findings(run: Run) -> dict[str, dict]:
    return {f["dataset"]: f for f in run.findings if f["check"] == "accuracy.expected_figures"}


def test_two_differing_accounts_listed_exactly(reconciled: Run) -> None:
    assert reconciled.exit_code == 1, reconciled.stderr
    finding = reconcile_findings(reconciled)["profit_and_loss"]
    assert finding["outcome"] == "failed"
    assert finding["company_id"] == "C001"
    cases = finding["failure_cases"]
    assert [(c["account_id"], c["date"], c["basis"], c["delta"]) for c in cases] == [
        ("ACC6100", "2026-05-31", "ACCRUAL", "-10.00"),
        ("ACC6200", "2026-05-31", "ACCRUAL", "3.21"),
    ]
    for case in finding["failure_cases"]:
        assert Decimal(case["actual"]) - Decimal(case["expected"]) == Decimal(case["delta"])


def test_matching_balance_sheet_passes(reconciled: Run) -> None:
    findings = reconcile_findings(reconciled)

    assert set(findings) == {"profit_and_loss", "balance_sheet"}
    assert findings["balance_sheet"]["outcome"] == "passed"
    assert findings["balance_sheet"]["message"] == (
        "balance_sheet of C001 matches the expected file in all 9 compared figures"
    )


def test_only_reconciliation_fails(reconciled: Run) -> None:
    failed = {f["check"] for f in reconciled.findings if f["outcome"] == "failed"}
    assert failed == {"accuracy.expected_figures"}


def test_invalid_expected_file_is_usage_error(tmp_path: Path) -> None:
    expected = tmp_path / "export.csv"
    expected.write_text("account,date,basis,amount\n4000,2026-05-30,ACCRUAL,1\n", encoding="utf-8")
    # The file is rejected before any request, so the loopback base URL is never contacted.
    command = [sys.executable, "-m", "reach_dq", "validate", "--base-url", "http://127.0.0.1:9",
               "--token-env", TOKEN_ENV, "--warehouse", str(tmp_path / "w.duckdb"),
               "--expected", str(expected)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False,
                               env={**os.environ, TOKEN_ENV: TOKEN}, cwd=tmp_path)

    assert completed.returncode == 2
    assert completed.stderr.strip() == (
        f"reach-dq: error: --expected {str(expected)!r} line 2: date must be the last day of "
        "its month, as the Reach API dates a month's figures, got '2026-05-30'"
    )
    assert not (tmp_path / "w.duckdb").exists()
