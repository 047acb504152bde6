"""``reach-dq validate`` over a real general ledger: the Xero export served by the reference server.

The export is a small Canadian business's ledger from October 2019 to March 2021: 71 accounts,
1,685 journals, 4,033 journal lines, fiscal year ending in February. The server maps it to the
Reach API and closes each fiscal year into Retained Earnings.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from reach_dq.partner.server import PartnerConfig, serve_in_background
from tests.integration.conftest import Run, run_validate

pytestmark = pytest.mark.integration

AS_OF = dt.date(2021, 4, 1)  # the 18 checked months are October 2019 to March 2021
COMPANY = "dab0e928-c82f-4c46-83fd-36ee9674d745"  # organisation_id of the export

# The export has no budgets, classes, departments or non-financial metrics, so the server lists
# none, and every check of those datasets has nothing to check. Each is not_evaluated, never a
# pass. No metric list means there is no metric id to ask for, so no non-financial values
# request is sent at all, and the contract checks of that dataset see no body.
NOT_EVALUATED = {
    ("contract.response_schema", "non_financial_values"),
    ("contract.extra_fields", "non_financial_values"),
    ("pandera.budgets", "budgets"),
    ("pandera.classes", "classes"),
    ("pandera.departments", "departments"),
    ("pandera.non_financial_metrics", "non_financial_metrics"),
    ("pandera.non_financial_values", "non_financial_values"),
    ("gx.budgets.suite", "budgets"),
    ("gx.classes.suite", "classes"),
    ("gx.departments.suite", "departments"),
    ("gx.non_financial_metrics.suite", "non_financial_metrics"),
    ("gx.non_financial_values.suite", "non_financial_values"),
}


@pytest.fixture(scope="module")
def ledger_run(tmp_path_factory: pytest.TempPathFactory, xero_ledger: Path) -> tuple[Run, Path]:
    folder = tmp_path_factory.mktemp("xero")
    config = PartnerConfig(ledger=xero_ledger, as_of=AS_OF)
    with serve_in_background(config) as server:
        run = run_validate(
            server.base_url, server.token, folder, "--as-of", AS_OF.isoformat(), "--months", "18"
        )
    return run, folder


def test_ledger_run_completes_without_failures(ledger_run: tuple[Run, Path]) -> None:
    run, _ = ledger_run
    assert run.exit_code == 0, run.stderr
    assert run.report["snapshot"]["status"] == "complete"
    assert [f for f in run.findings if f["outcome"] in ("failed", "warning")] == []


def test_ledger_not_evaluated_findings_are_the_absent_datasets(ledger_run: tuple[Run, Path]) -> None:
    run, _ = ledger_run
    not_evaluated = {(f["check"], f["dataset"]) for f in run.findings if f["outcome"] == "not_evaluated"}
    assert not_evaluated == NOT_EVALUATED


def test_ledger_identities_hold_in_every_month(ledger_run: tuple[Run, Path]) -> None:
    # The books balance: 18 months on two bases. The export carries no cash-basis figures, so
    # the server serves the accrual figures for CASH as well.
    run, _ = ledger_run
    identities = {f["check"]: f for f in run.findings if f["category"] == "accuracy"}
    assert identities["accuracy.balance_sheet_vs_net_income"]["message"] == (
        f"balance sheet of {COMPANY} equals fiscal year-to-date net income in all 36 month-bases"
    )
    assert identities["accuracy.cash_flow_vs_change_in_cash"]["message"] == (
        f"net income plus cash flow of {COMPANY} equals the change in cash in all 36 month-bases"
    )


def test_ledger_company_and_statements_stored(ledger_run: tuple[Run, Path]) -> None:
    run, folder = ledger_run
    snapshot_id = run.report["snapshot"]["snapshot_id"]
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as connection:
        company = connection.execute(
            "SELECT company_id, fiscal_month_end, currency FROM company WHERE snapshot_id = ?", [snapshot_id]
        ).fetchall()
        accounts = connection.execute(
            "SELECT count(*) FROM chart_of_accounts WHERE snapshot_id = ?", [snapshot_id]
        ).fetchone()
        revenue = connection.execute(
            """SELECT sum(p.amount) FROM profit_and_loss AS p
               JOIN chart_of_accounts AS c USING (snapshot_id, company_id, account_id)
               WHERE p.snapshot_id = ? AND p.basis = 'ACCRUAL' AND p.budget_id IS NULL
                 AND p.date = DATE '2019-11-30' AND c.account_type = 'REVENUE'""",
            [snapshot_id],
        ).fetchone()

    assert company == [(COMPANY, 2, "CAD")]
    assert accounts == (71,)
    assert str(revenue[0]) == "49381.3700000000"  # the export's own November 2019 revenue
