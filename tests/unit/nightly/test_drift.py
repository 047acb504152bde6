"""Drift checks against earlier complete snapshots of the same partner, in a real DuckDB file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from checks.drift import allowed_range, chart_of_accounts_drift, latency_drift, month_phase, schema_drift, volume_drift
from reach_dq.config import DriftSection
from reach_dq.contract.spec import load_spec
from reach_dq.findings import Category, Outcome
from reach_dq.runner import CheckContext
from reach_dq.warehouse.warehouse import Warehouse
from tests.unit.nightly.builders import MONTH_END, add_snapshot, chart, night, statement

SETTINGS = DriftSection()
BASE_CHART = chart(("A100", "Cash", "ASSET"), ("R400", "Sales", "REVENUE"))


@pytest.fixture()
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    with Warehouse.open(tmp_path / "w.duckdb") as opened:
        yield opened


def context(warehouse: Warehouse, snapshot_id: str) -> CheckContext:
    return CheckContext(warehouse.connection, snapshot_id, load_spec(None), dt.date(2026, 7, 15), MONTH_END, MONTH_END)


def by_dataset(findings: list, dataset: str) -> list:
    return [finding for finding in findings if finding.dataset == dataset]


def test_first_snapshot_has_no_baseline(warehouse: Warehouse) -> None:
    current = add_snapshot(warehouse, started_at=night(2), bodies={("listChartOfAccounts", "C001"): BASE_CHART})

    [finding] = chart_of_accounts_drift(context(warehouse, current))
    assert finding.outcome == Outcome.NOT_EVALUATED
    assert finding.category == Category.DRIFT
    assert finding.message == "no earlier complete snapshot of partner 'acme' to compare with"


def test_incomplete_snapshot_is_no_baseline(warehouse: Warehouse) -> None:
    add_snapshot(warehouse, started_at=night(1), bodies={("listChartOfAccounts", "C001"): BASE_CHART}, status="incomplete")
    current = add_snapshot(warehouse, started_at=night(2), bodies={("listChartOfAccounts", "C001"): BASE_CHART})

    [finding] = chart_of_accounts_drift(context(warehouse, current))
    assert finding.outcome == Outcome.NOT_EVALUATED


def test_other_partner_is_no_baseline(warehouse: Warehouse) -> None:
    add_snapshot(warehouse, started_at=night(1), bodies={("listChartOfAccounts", "C001"): BASE_CHART}, partner="other")
    current = add_snapshot(warehouse, started_at=night(2), bodies={("listChartOfAccounts", "C001"): BASE_CHART})

    [finding] = chart_of_accounts_drift(context(warehouse, current))
    assert finding.outcome == Outcome.NOT_EVALUATED


def test_unchanged_schema_passes(warehouse: Warehouse) -> None:
    bodies = {("listChartOfAccounts", "C001"): BASE_CHART}
    baseline = add_snapshot(warehouse, started_at=night(1), bodies=bodies)
    current = add_snapshot(warehouse, started_at=night(2), bodies=bodies)

    [finding] = by_dataset(schema_drift(context(warehouse, current)), "chart_of_accounts")
    assert finding.outcome == Outcome.PASSED
    assert finding.message == f"chart_of_accounts: the 7 item fields are unchanged since snapshot {baseline} of 2026-07-01 02:00 UTC"


def test_field_added_and_retyped_warn(warehouse: Warehouse) -> None:
    add_snapshot(warehouse, started_at=night(1), bodies={("getProfitAndLoss", "C001"): statement(("R400", 10.5))})
    changed = {"Data": [{"AccountId": "R400", "Date": "2026-06-30", "Amount": "10.50", "Memo": "x"}]}
    current = add_snapshot(warehouse, started_at=night(2), bodies={("getProfitAndLoss", "C001"): changed})

    [finding] = by_dataset(schema_drift(context(warehouse, current)), "profit_and_loss")
    assert finding.outcome == Outcome.WARNING
    assert finding.failure_count == 2
    assert [(case.field, case.expected, case.actual) for case in finding.failure_cases] == [
        ("Amount", "number", "string"),
        ("Memo", "absent", "string"),
    ]
    assert finding.message.startswith("profit_and_loss: 2 item fields changed since snapshot ")
    assert finding.message.endswith("first 'Amount': number became string")


def test_field_removed_warns_and_null_is_no_retype(warehouse: Warehouse) -> None:
    add_snapshot(warehouse, started_at=night(1), bodies={("listChartOfAccounts", "C001"): BASE_CHART})
    body = chart(("A100", "Cash", "ASSET"))
    del body["Data"][0]["CashFlowCategory"]
    body["Data"][0]["AccountNumber"] = "1000"  # null before, a string now: not a retype
    current = add_snapshot(warehouse, started_at=night(2), bodies={("listChartOfAccounts", "C001"): body})

    [finding] = by_dataset(schema_drift(context(warehouse, current)), "chart_of_accounts")
    assert [(case.field, case.expected, case.actual) for case in finding.failure_cases] == [("CashFlowCategory", "null", "absent")]


def test_dataset_without_items_not_evaluated(warehouse: Warehouse) -> None:
    add_snapshot(warehouse, started_at=night(1), bodies={("listChartOfAccounts", "C001"): BASE_CHART})
    current = add_snapshot(warehouse, started_at=night(2), bodies={("listChartOfAccounts", "C001"): BASE_CHART})

    [finding] = by_dataset(schema_drift(context(warehouse, current)), "budgets")
    assert finding.outcome == Outcome.NOT_EVALUATED
    assert finding.message == "budgets: this snapshot has no items to compare"


def test_pruned_baseline_bodies_not_evaluated(warehouse: Warehouse) -> None:
    baseline = add_snapshot(warehouse, started_at=night(1), bodies={("listChartOfAccounts", "C001"): BASE_CHART})
    warehouse.connection.execute("DELETE FROM raw_responses WHERE snapshot_id = ?", [baseline])
    current = add_snapshot(warehouse, started_at=night(2), bodies={("listChartOfAccounts", "C001"): BASE_CHART})

    findings = schema_drift(context(warehouse, current))
    assert {finding.outcome for finding in findings} == {Outcome.NOT_EVALUATED}
    assert findings[0].message == f"the response bodies of baseline snapshot {baseline} were pruned"


def test_chart_changes_listed_per_account(warehouse: Warehouse) -> None:
    add_snapshot(warehouse, started_at=night(1), bodies={("listChartOfAccounts", "C001"): BASE_CHART})
    now = chart(("A100", "Cash at bank", "ASSET"), ("R400", "Sales", "OTHER_INCOME"), ("X900", "New", "EXPENSE"))
    current = add_snapshot(warehouse, started_at=night(2), bodies={("listChartOfAccounts", "C001"): now})

    [finding] = chart_of_accounts_drift(context(warehouse, current))
    assert finding.outcome == Outcome.WARNING
    assert finding.company_id == "C001"
    assert [(c.account_id, c.field, c.expected, c.actual) for c in finding.failure_cases] == [
        ("A100", "AccountName", "'Cash'", "'Cash at bank'"),
        ("R400", "AccountType", "'REVENUE'", "'OTHER_INCOME'"),
        ("X900", "account", "absent", "present"),
    ]
    assert "changed since snapshot" in finding.message
    assert ": 1 added, 1 renamed, 1 retyped; first 'A100' AccountName: 'Cash' became 'Cash at bank'" in finding.message


def test_removed_account_warns(warehouse: Warehouse) -> None:
    add_snapshot(warehouse, started_at=night(1), bodies={("listChartOfAccounts", "C001"): BASE_CHART})
    current = add_snapshot(warehouse, started_at=night(2), bodies={("listChartOfAccounts", "C001"): chart(("A100", "Cash", "ASSET"))})

    [finding] = chart_of_accounts_drift(context(warehouse, current))
    assert [(c.account_id, c.expected, c.actual) for c in finding.failure_cases] == [("R400", "present", "absent")]


def history(warehouse: Warehouse, days: list[int], amount: float = 100.0) -> None:
    for day in days:
        add_snapshot(warehouse, started_at=night(day), bodies={("getProfitAndLoss", "C001"): statement(("R400", amount), ("R401", 1.0))})


def volume_of(warehouse: Warehouse, current: str, dataset: str = "profit_and_loss"):
    [finding] = by_dataset(volume_drift(context(warehouse, current), settings=SETTINGS), dataset)
    return finding


def test_volume_needs_minimum_history(warehouse: Warehouse) -> None:
    history(warehouse, [10, 11, 12, 13])
    current = add_snapshot(warehouse, started_at=night(14), bodies={("getProfitAndLoss", "C001"): statement(("R400", 100.0))})

    finding = volume_of(warehouse, current)
    assert finding.outcome == Outcome.NOT_EVALUATED
    assert finding.message == "profit_and_loss of C001: 4 earlier complete runs in the mid-month phase, 5 needed before volume is judged"


def test_volume_within_range_passes(warehouse: Warehouse) -> None:
    history(warehouse, [10, 11, 12, 13, 14])
    current = add_snapshot(warehouse, started_at=night(15), bodies={("getProfitAndLoss", "C001"): statement(("R400", 110.0), ("R401", 1.0))})

    finding = volume_of(warehouse, current)
    assert finding.outcome == Outcome.PASSED
    assert finding.message == "profit_and_loss of C001: 2 rows, within the range of 5 earlier mid-month runs widened by 0.25"


def test_rows_and_total_outside_range_warn(warehouse: Warehouse) -> None:
    history(warehouse, [10, 11, 12, 13, 14])
    current = add_snapshot(warehouse, started_at=night(15), bodies={("getProfitAndLoss", "C001"): statement(("R400", 900.0))})

    finding = volume_of(warehouse, current)
    assert finding.outcome == Outcome.WARNING
    assert [(c.field, c.expected, c.actual) for c in finding.failure_cases] == [
        ("rows", "1.5..2.5", "1"),
        ("total", "75.75..126.25", "900"),
    ]


def test_dataset_that_stopped_delivering_warns(warehouse: Warehouse) -> None:
    history(warehouse, [10, 11, 12, 13, 14])
    current = add_snapshot(warehouse, started_at=night(15), bodies={("listChartOfAccounts", "C001"): BASE_CHART})

    finding = volume_of(warehouse, current)
    assert finding.outcome == Outcome.WARNING
    assert finding.failure_cases[0].actual == "0"


def test_month_start_runs_not_compared_with_mid_month(warehouse: Warehouse) -> None:
    history(warehouse, [10, 11, 12, 13, 14], amount=5000.0)
    current = add_snapshot(warehouse, started_at=night(2, month=8), bodies={("getProfitAndLoss", "C001"): statement(("R400", 1.0))})

    finding = volume_of(warehouse, current)
    assert finding.outcome == Outcome.NOT_EVALUATED
    assert "0 earlier complete runs in the month-start phase" in finding.message


def test_latency_rise_beyond_factor_warns(warehouse: Warehouse) -> None:
    for day in (10, 11, 12):
        add_snapshot(warehouse, started_at=night(day), bodies={("listChartOfAccounts", "C001"): BASE_CHART}, latency_ms=40.0)
    current = add_snapshot(warehouse, started_at=night(13), bodies={("listChartOfAccounts", "C001"): BASE_CHART}, latency_ms=900.0)

    [finding] = latency_drift(context(warehouse, current), settings=SETTINGS)
    assert finding.outcome == Outcome.WARNING
    assert finding.dataset == "chart_of_accounts"
    assert finding.message == (
        "listChartOfAccounts: p95 900 ms against a median p95 of 40 ms over 3 earlier runs, more than 2 times"
    )


def test_small_latency_rise_passes(warehouse: Warehouse) -> None:
    for day in (10, 11, 12):
        add_snapshot(warehouse, started_at=night(day), bodies={("listChartOfAccounts", "C001"): BASE_CHART}, latency_ms=40.0)
    current = add_snapshot(warehouse, started_at=night(13), bodies={("listChartOfAccounts", "C001"): BASE_CHART}, latency_ms=120.0)

    [finding] = latency_drift(context(warehouse, current), settings=SETTINGS)
    assert finding.outcome == Outcome.PASSED  # three times the median, but only 80 ms above it


def test_latency_needs_history(warehouse: Warehouse) -> None:
    current = add_snapshot(warehouse, started_at=night(13), bodies={("listChartOfAccounts", "C001"): BASE_CHART})

    [finding] = latency_drift(context(warehouse, current), settings=SETTINGS)
    assert finding.outcome == Outcome.NOT_EVALUATED
    assert finding.message == "listChartOfAccounts: 0 earlier complete runs, 3 needed before latency is judged"


def test_allowed_range_widens_by_larger_bound() -> None:
    assert allowed_range([Decimal(-10), Decimal(30)], Decimal("0.5")) == (Decimal("-25.0"), Decimal("45.0"))


def test_month_phase_boundary() -> None:
    assert month_phase(dt.datetime(2026, 7, 7, 23, 59, tzinfo=dt.UTC), month_start_days=7) == "month-start"
    assert month_phase(dt.datetime(2026, 7, 8, 0, 0, tzinfo=dt.UTC), month_start_days=7) == "mid-month"
