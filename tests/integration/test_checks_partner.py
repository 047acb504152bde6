"""Run the schema and identity checks on snapshots fetched from the reference partner server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from checks.identities import identity_checks
from checks.schemas import schema_checks
from reach_dq.fetch.snapshot import FetchRequest, run_fetch
from reach_dq.findings import Finding, Outcome
from reach_dq.partner.server import PartnerConfig, serve_in_background
from reach_dq.runner import CheckContext, run_checks
from reach_dq.warehouse.typed import load_typed
from reach_dq.warehouse.warehouse import Warehouse

pytestmark = pytest.mark.integration

AS_OF = dt.date(2024, 7, 15)  # the generated books end in June 2024
FIRST_MONTH = dt.date(2024, 1, 31)
LAST_MONTH = dt.date(2024, 6, 30)
TOKEN = "checks-integration-token"


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    with Warehouse.open(tmp_path / "warehouse.duckdb") as opened:
        yield opened


def fetch_and_check(warehouse: Warehouse, *, faults: tuple[str, ...] = ()) -> list[Finding]:
    """Serve three generated companies (FiscalMonthEnd 12, 6 and 3), fetch, load and check."""
    config = PartnerConfig(companies=3, seed=7, as_of=AS_OF, token=TOKEN, faults=faults)
    with serve_in_background(config) as server:
        snapshot_id = warehouse.begin_snapshot(
            base_url=server.base_url,
            command="validate",
            as_of=AS_OF,
            first_month=FIRST_MONTH,
            last_month=LAST_MONTH,
            spec_title="Reach API 1.0.3 (reconstructed)",
            spec_version="1.0.3",
        )
        request = FetchRequest(
            base_url=server.base_url,
            token=SecretStr(server.token),
            first_month=FIRST_MONTH,
            last_month=LAST_MONTH,
        )
        run_fetch(request, warehouse, snapshot_id)

    load_typed(warehouse.connection, snapshot_id)
    context = CheckContext(
        connection=warehouse.connection,
        snapshot_id=snapshot_id,
        spec=None,  # type: ignore[arg-type]  # these checks never read the contract
        as_of=AS_OF,
        first_month=FIRST_MONTH,
        last_month=LAST_MONTH,
    )
    return run_checks(schema_checks() + identity_checks(), context)


def test_partner_books_pass_every_check(warehouse: Warehouse) -> None:
    findings = fetch_and_check(warehouse)

    not_passed = [
        (finding.check, finding.company_id, finding.message)
        for finding in findings
        if finding.outcome is not Outcome.PASSED
    ]
    assert not_passed == []
    identity_findings = [f for f in findings if f.check.startswith("accuracy.")]
    assert len(identity_findings) == 6  # two identities for each of three companies


def test_unbalanced_balance_sheet_fails_both_identities(warehouse: Warehouse) -> None:
    # The fault raises the first CASH account of C001 by 0.01 on the ACCRUAL balance sheet at
    # 2024-03-31, three months before the books' last month.
    findings = fetch_and_check(warehouse, faults=("unbalanced-balance-sheet",))

    by_key = {(f.check, f.company_id): f for f in findings}
    balance_sheet = by_key["accuracy.balance_sheet_vs_net_income", "C001"]
    cash_flow = by_key["accuracy.cash_flow_vs_change_in_cash", "C001"]
    assert [(c.date, c.basis, c.delta) for c in balance_sheet.failure_cases] == [
        ("2024-03-31", "ACCRUAL", "0.01")
    ]
    assert [(c.date, c.basis, c.delta) for c in cash_flow.failure_cases] == [
        ("2024-03-31", "ACCRUAL", "-0.01"),
        ("2024-04-30", "ACCRUAL", "0.01"),
    ]
    assert by_key["accuracy.balance_sheet_vs_net_income", "C002"].outcome is Outcome.PASSED
    assert by_key["pandera.balance_sheet", "C001"].outcome is Outcome.PASSED
