"""``reach-dq validate`` over a real general ledger: the Xero export served by the reference server.

The export is a small Canadian business's ledger from October 2019 to March 2021: 71 accounts,
1,685 journals, 4,033 journal lines, fiscal year ending in February. The server maps it to the
Reach API and closes each fiscal year into Retained Earnings.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
from collections import defaultdict
from decimal import Decimal
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
    # The class and department totals need classes and departments, the budget periods need
    # budget rows.
    ("accuracy.segments_within_total", "classes"),
    ("accuracy.segments_within_total", "departments"),
    ("accuracy.segments_unassigned", "classes"),
    ("accuracy.segments_unassigned", "departments"),
    ("accuracy.budget_periods", "budgets"),
    # With a close lag of 0 days the last fetched month is closed, so no month is open, and the
    # run's warehouse contains no earlier snapshot to find a restatement in.
    ("freshness.frozen_feed", "profit_and_loss"),
    ("freshness.restatements", "profit_and_loss"),
}
AR, AP = "b0860737-6dae-4403-8bc7-bfaa8a61a141", "2279e376-30cc-40d0-8715-21ae95286fb3"
# Xero account types of the profit and loss: income is credited, so its activity is minus the
# sum of net_amount (positive = debit); costs are debited.
INCOME_TYPES = {"REVENUE", "SALES", "OTHERINCOME"}
COST_TYPES = {"DIRECTCOSTS", "EXPENSE", "OVERHEADS", "DEPRECIATN"}


def write_journal_export(ledger: Path, path: Path) -> int:
    """Write the monthly P&L of every account, summed from the raw journal lines, as an
    --expected file keyed by account code; return the number of figures."""
    with (ledger / "xero_account_data.csv").open(encoding="utf-8-sig", newline="") as handle:
        accounts = {row["account_id"]: row for row in csv.DictReader(handle)}
    with (ledger / "xero_journal_data.csv").open(encoding="utf-8-sig", newline="") as handle:
        dates = {row["journal_id"]: dt.date.fromisoformat(row["journal_date"])
                 for row in csv.DictReader(handle)}
    totals: dict[tuple[str, dt.date], Decimal] = defaultdict(Decimal)
    with (ledger / "xero_journal_line_data.csv").open(encoding="utf-8-sig", newline="") as handle:
        for line in csv.DictReader(handle):
            account = accounts[line["account_id"]]
            if account["type"] not in INCOME_TYPES | COST_TYPES:
                continue
            day = dates[line["journal_id"]]
            month_end = day.replace(day=calendar.monthrange(day.year, day.month)[1])
            sign = -1 if account["type"] in INCOME_TYPES else 1
            key = (account["code"] or line["account_id"], month_end)
            totals[key] += sign * Decimal(line["net_amount"])

    figures = [(key, amount) for key, amount in sorted(totals.items()) if amount != 0]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["account", "date", "basis", "amount"])
        for (account, month_end), amount in figures:
            writer.writerow([account, month_end.isoformat(), "ACCRUAL", amount])
    return len(figures)


@pytest.fixture(scope="module")
def ledger_run(tmp_path_factory: pytest.TempPathFactory, xero_ledger: Path) -> tuple[Run, Path]:
    # The run also reconciles the API with the P&L summed straight from the export's journal
    # lines: the partner's own accounting system, read without the server's code.
    folder = tmp_path_factory.mktemp("xero")
    write_journal_export(xero_ledger, folder / "journal-export.csv")
    config = PartnerConfig(ledger=xero_ledger, as_of=AS_OF)
    with serve_in_background(config) as server:
        run = run_validate(
            server.base_url, server.token, folder, "--as-of", AS_OF.isoformat(), "--months", "18",
            "--expected", str(folder / "journal-export.csv"),
        )
    return run, folder


def test_ledger_matches_its_own_journal_lines(
    ledger_run: tuple[Run, Path], xero_ledger: Path, tmp_path: Path
) -> None:
    run, _ = ledger_run
    figures = write_journal_export(xero_ledger, tmp_path / "export.csv")
    [finding] = [f for f in run.findings if f["check"] == "accuracy.expected_figures"]
    assert finding["outcome"] == "passed"
    assert finding["message"] == (
        f"profit_and_loss of {COMPANY} matches the expected file in all {figures} compared "
        "figures"
    )


def test_ledger_run_fails_only_on_the_cash_basis(ledger_run: tuple[Run, Path]) -> None:
    # The export has no cash-basis figures, so the server serves the accrual figures for CASH
    # too, and its receivables and payables carry balances on the cash basis: a failure. Its
    # first month, October 2019, has only balance-sheet journals, so that month has no Profit
    # and Loss rows: a warning. Everything else holds.
    run, _ = ledger_run
    assert run.exit_code == 1, run.stderr
    assert run.report["snapshot"]["status"] == "complete"
    problems = [(f["check"], f["dataset"], f["outcome"]) for f in run.findings
                if f["outcome"] in ("failed", "warning")]
    assert problems == [
        ("accuracy.months_present", "profit_and_loss", "warning"),
        ("accuracy.cash_basis_accruals", "balance_sheet", "failed"),
    ]


def test_ledger_receivables_and_payables_on_cash_basis(ledger_run: tuple[Run, Path]) -> None:
    # Accounts Receivable (610) and Accounts Payable (800) match the name rule. Both are zero
    # only in October 2019, before the first invoice and the first bill.
    run, _ = ledger_run
    [finding] = [f for f in run.findings if f["check"] == "accuracy.cash_basis_accruals"]
    assert finding["failure_count"] == 34
    assert {case["account_id"] for case in finding["failure_cases"]} == {AR, AP}
    assert finding["failure_cases"][:2] == [
        {"company_id": COMPANY, "account_id": AP, "date": "2019-11-30", "basis": "CASH",
         "field": "Amount", "expected": "0.00", "actual": "1241.19", "delta": "1241.19"},
        {"company_id": COMPANY, "account_id": AR, "date": "2019-11-30", "basis": "CASH",
         "field": "Amount", "expected": "0.00", "actual": "49381.37", "delta": "49381.37"},
    ]


def test_ledger_first_month_has_no_profit_and_loss(ledger_run: tuple[Run, Path]) -> None:
    run, _ = ledger_run
    [finding] = [f for f in run.findings
                 if f["check"] == "accuracy.months_present" and f["dataset"] == "profit_and_loss"]
    assert [(case["date"], case["basis"]) for case in finding["failure_cases"]] == [
        ("2019-10-31", "ACCRUAL"), ("2019-10-31", "CASH")
    ]


def test_ledger_is_fresh_as_of_april_2021(ledger_run: tuple[Run, Path]) -> None:
    # The last journal is dated 17 March 2021, so March is the newest month with activity.
    run, _ = ledger_run
    [finding] = [f for f in run.findings if f["check"] == "freshness.last_closed_month"]
    assert finding["outcome"] == "passed"
    assert finding["message"] == (
        f"Profit and Loss of {COMPANY} has actuals for the last closed month (2 bases checked) "
        "(last closed month 2021-03-31; newest Profit and Loss actuals dated 2021-03-31, 1 day "
        "before as-of 2021-04-01)"
    )


def test_ledger_is_stale_three_months_later(
    tmp_path: Path, xero_ledger: Path
) -> None:
    # As of July 2021 the server still serves the balances, carried forward, but no activity
    # after March: the last closed month, June, has no Profit and Loss rows.
    as_of = dt.date(2021, 7, 1)
    with serve_in_background(PartnerConfig(ledger=xero_ledger, as_of=as_of)) as server:
        run = run_validate(
            server.base_url, server.token, tmp_path, "--as-of", as_of.isoformat(), "--months", "18"
        )

    assert run.exit_code == 1, run.stderr
    [finding] = [f for f in run.findings if f["check"] == "freshness.last_closed_month"]
    assert finding["outcome"] == "failed"
    assert [(case["date"], case["basis"], case["actual"]) for case in finding["failure_cases"]] == [
        ("2021-06-30", "ACCRUAL", "no rows"), ("2021-06-30", "CASH", "no rows")
    ]
    assert finding["message"].endswith(
        "(last closed month 2021-06-30; newest Profit and Loss actuals dated 2021-03-31, "
        "92 days before as-of 2021-07-01)"
    )


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
