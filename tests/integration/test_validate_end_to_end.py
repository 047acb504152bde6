"""``reach-dq validate`` as a user runs it: a real process, real HTTP on 127.0.0.1, a real DuckDB file."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from reach_dq.partner.server import PartnerConfig, serve_in_background
from tests.integration.conftest import Run, run_validate

pytestmark = pytest.mark.integration

AS_OF = dt.date(2026, 7, 15)  # last checked month June 2026; the faults' target month is March 2026
DATASETS = {
    "user_info", "company", "chart_of_accounts", "budgets", "classes", "departments",
    "non_financial_metrics", "non_financial_values", "profit_and_loss", "balance_sheet", "cash_flow",
}


def validate_generated(tmp_path: Path, *faults: str) -> Run:
    config = PartnerConfig(companies=3, as_of=AS_OF, faults=faults)
    with serve_in_background(config) as server:
        return run_validate(server.base_url, server.token, tmp_path, "--as-of", AS_OF.isoformat())


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path]:
    folder = tmp_path_factory.mktemp("healthy")
    return validate_generated(folder), folder


@pytest.fixture(scope="module")
def unbalanced(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return validate_generated(tmp_path_factory.mktemp("unbalanced"), "unbalanced-balance-sheet")


@pytest.fixture(scope="module")
def misformatted(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return validate_generated(
        tmp_path_factory.mktemp("misformatted"),
        "date-not-zero-padded", "amount-as-string", "missing-required-field",
    )


def failed(run: Run) -> list[dict]:
    return [finding for finding in run.findings if finding["outcome"] == "failed"]


def test_healthy_partner_passes_every_check(healthy: tuple[Run, Path]) -> None:
    run, tmp_path = healthy

    assert run.exit_code == 0, run.stderr
    # The two cross-snapshot freshness checks have nothing to compare in a first run: with a
    # close lag of 0 days no fetched month is open, and the warehouse has no earlier snapshot.
    assert [(f["check"], f["outcome"]) for f in run.non_passed()] == [
        ("freshness.frozen_feed", "not_evaluated"),
        ("freshness.restatements", "not_evaluated"),
    ]
    assert {finding["dataset"] for finding in run.findings} == DATASETS
    categories = {finding["category"] for finding in run.findings}
    assert categories == {"formatting", "accuracy", "freshness", "reliability"}
    assert "data docs: " in run.stdout
    assert (tmp_path / "docs" / "index.html").is_file()
    assert (tmp_path / "docs" / "gx" / "index.html").is_file()


def test_docs_index_links_every_suite_result(healthy: tuple[Run, Path]) -> None:
    _, tmp_path = healthy
    index = tmp_path / "docs" / "index.html"
    links = re.findall(r'<a href="(gx/validations/[^"]+)">result page</a>', index.read_text())
    assert len(links) == len(DATASETS)
    for link in links:
        assert (index.parent / link).is_file(), link


def test_healthy_run_stores_snapshot_and_typed_tables(healthy: tuple[Run, Path]) -> None:
    run, tmp_path = healthy
    snapshot_id = run.report["snapshot"]["snapshot_id"]

    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as connection:
        status = connection.execute("SELECT status FROM snapshots WHERE snapshot_id = ?", [snapshot_id]).fetchone()
        assert status == ("complete",)
        amount_type = connection.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'profit_and_loss' AND column_name = 'amount'"
        ).fetchone()
        assert amount_type == ("DECIMAL(38,10)",)
        companies = connection.execute(
            "SELECT count(DISTINCT company_id) FROM balance_sheet WHERE snapshot_id = ?", [snapshot_id]
        ).fetchone()
        assert companies == (3,)
        findings = connection.execute("SELECT count(*) FROM findings WHERE snapshot_id = ?", [snapshot_id]).fetchone()
        assert findings == (len(run.findings),)


def test_balance_sheet_off_by_one_cent_fails_identity(unbalanced: Run) -> None:
    run = unbalanced

    assert run.exit_code == 1
    [identity] = [f for f in failed(run) if f["check"] == "accuracy.balance_sheet_vs_net_income"]
    assert identity["company_id"] == "C001"
    assert identity["failure_count"] == 1
    [case] = identity["failure_cases"]
    assert case["company_id"] == "C001"
    assert case["date"] == "2026-03-31"
    assert case["basis"] == "ACCRUAL"
    assert case["delta"] == "0.01"
    assert Decimal(case["actual"]) - Decimal(case["expected"]) == Decimal("0.01")


def test_cent_on_cash_also_breaks_change_in_cash_twice(unbalanced: Run) -> None:
    # One extra cent on the March cash balance raises March's change in cash and lowers April's.
    run = unbalanced

    [identity] = [f for f in failed(run) if f["check"] == "accuracy.cash_flow_vs_change_in_cash"]
    cases = [(case["date"], case["basis"], case["delta"]) for case in identity["failure_cases"]]
    assert cases == [("2026-03-31", "ACCRUAL", "-0.01"), ("2026-04-30", "ACCRUAL", "0.01")]
    assert {f["check"] for f in failed(run)} == {
        "accuracy.balance_sheet_vs_net_income", "accuracy.cash_flow_vs_change_in_cash"
    }


def test_contract_breaks_name_dataset_field_and_value(misformatted: Run) -> None:
    run = misformatted

    assert run.exit_code == 1
    contract = {f["dataset"]: f for f in failed(run) if f["check"] == "contract.response_schema"}
    assert set(contract) == {"profit_and_loss", "chart_of_accounts"}

    chart_case = contract["chart_of_accounts"]["failure_cases"][0]
    assert (chart_case["field"], chart_case["expected"]) == ("AccountName", "required")
    assert contract["chart_of_accounts"]["company_id"] == "C001"

    pnl_cases = contract["profit_and_loss"]["failure_cases"]
    dates = [case for case in pnl_cases if case["field"] == "Date"]
    amounts = [case for case in pnl_cases if case["field"] == "Amount"]
    # C001 closes its fiscal year in December, so its P&L is fetched from January 2024.
    assert dates[0]["expected"] == "format date (YYYY-MM-DD)"
    assert dates[0]["actual"] == '"2024-1-31"'
    assert dates[0]["company_id"] == "C001"
    assert amounts[0]["expected"] == "type number"
    assert re.fullmatch(r'"\d+\.\d{2}"', amounts[0]["actual"])


def test_schema_failures_show_unstored_values(misformatted: Run) -> None:
    # "2024-1-31" is no YYYY-MM-DD date and "75538.08" is no JSON number, so the warehouse keeps
    # NULL in their columns. The Pandera and GX failures show the values the partner sent.
    [pandera] = [f for f in failed(misformatted) if f["check"] == "pandera.profit_and_loss"]
    cases = {}
    for case in pandera["failure_cases"]:
        cases.setdefault(case["field"], case)  # the first case of each field
    assert cases["date"]["actual"] == '"2024-1-31"'
    assert cases["date"]["date"] == "2024-1-31"  # the case is placed by the date as sent
    assert cases["date"]["expected"] == "a real date written YYYY-MM-DD"
    assert re.fullmatch(r'"\d+\.\d{2}"', cases["amount"]["actual"])
    assert cases["amount"]["expected"] == (
        "a finite JSON number that DECIMAL(38, 10) stores exactly"
    )
    assert 'first: date "2024-1-31", expected a real date' in pandera["message"]

    # Each case names the budget, class or department its row was requested for.
    scopes = {case.get("scope") for case in pandera["failure_cases"]}
    assert {None, "budget BG01", "class CL01"} <= scopes

    gx_checks = {
        "gx.profit_and_loss.expect_column_values_to_not_be_null(date)": r'"20\d\d-\d-\d\d"',
        "gx.profit_and_loss.expect_column_values_to_not_be_null(amount)": r'"\d+\.\d{2}"',
    }
    for check, sent in gx_checks.items():
        [finding] = [f for f in failed(misformatted) if f["check"] == check]
        for case in finding["failure_cases"]:
            assert re.fullmatch(sent + r" \(sent, not stored\)", case["actual"]), case
            assert re.fullmatch(r"20\d\d-\d\d?-\d\d", case["date"]), case
