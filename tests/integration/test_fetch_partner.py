"""Fetch whole snapshots from the reference partner server over 127.0.0.1 and load them."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from reach_dq.exceptions import TerminalFetchError
from reach_dq.fetch.snapshot import FetchRequest, FetchSummary, run_fetch
from reach_dq.partner.server import PartnerConfig, RunningServer, serve_in_background
from reach_dq.warehouse.typed import load_typed
from reach_dq.warehouse.warehouse import Warehouse

pytestmark = pytest.mark.integration

AS_OF = dt.date(2024, 7, 15)
FIRST_MONTH = dt.date(2024, 4, 30)
LAST_MONTH = dt.date(2024, 6, 30)
PAGE_SIZE = 7  # small, so every list of the generated books spans several pages
LISTS = {
    "chart_of_accounts": "chart-of-accounts",
    "budgets": "budgets",
    "classes": "classes",
    "departments": "departments",
    "non_financial_metrics": "non-financial-metrics",
}
BODY_COUNTED = ("non_financial_values", "profit_and_loss", "balance_sheet", "cash_flow")


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    config = PartnerConfig(companies=2, seed=7, as_of=AS_OF, token="integration-token")
    with serve_in_background(config) as running:
        yield running


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    with Warehouse.open(tmp_path / "warehouse.duckdb") as opened:
        yield opened


def begin(warehouse: Warehouse, server: RunningServer) -> str:
    return warehouse.begin_snapshot(
        base_url=server.base_url,
        command="validate",
        as_of=AS_OF,
        first_month=FIRST_MONTH,
        last_month=LAST_MONTH,
        spec_title="Reach API 1.0.3 (reconstructed)",
        spec_version="1.0.3",
    )


def fetch(
    warehouse: Warehouse, server: RunningServer, snapshot_id: str, token: str
) -> FetchSummary:
    request = FetchRequest(
        base_url=server.base_url,
        token=SecretStr(token),
        first_month=FIRST_MONTH,
        last_month=LAST_MONTH,
        page_size=PAGE_SIZE,
    )
    return run_fetch(request, warehouse, snapshot_id)


def list_totals(server: RunningServer) -> dict[str, list[int]]:
    """Return ``Pagination.total`` of every list for every company, asked for directly."""
    headers = {"Authorization": f"Bearer {server.token}"}
    totals: dict[str, list[int]] = {name: [] for name in LISTS}
    with httpx.Client(base_url=server.base_url, headers=headers) as client:
        for company_id in server.company_ids:
            for name, resource in LISTS.items():
                response = client.get(f"/companies/{company_id}/{resource}", params={"limit": 1})
                totals[name].append(response.json()["Pagination"]["total"])
    return totals


def items_in_bodies(warehouse: Warehouse, snapshot_id: str, dataset: str) -> int:
    bodies = warehouse.connection.execute(
        "SELECT r.body FROM raw_responses AS r JOIN http_exchanges AS e USING (snapshot_id, "
        "exchange_id) WHERE r.snapshot_id = ? AND e.dataset = ? AND e.status_code = 200",
        [snapshot_id, dataset],
    ).fetchall()
    return sum(len(json.loads(body)["Data"]) for (body,) in bodies)


def test_fetch_from_partner_completes(warehouse: Warehouse, server: RunningServer) -> None:
    snapshot_id = begin(warehouse, server)
    summary = fetch(warehouse, server, snapshot_id, server.token)
    assert summary.companies == server.company_ids
    assert summary.failed_exchanges == 0
    assert summary.failed_operations == 0


def test_fetch_from_partner_follows_every_page(warehouse: Warehouse, server: RunningServer) -> None:
    snapshot_id = begin(warehouse, server)
    fetch(warehouse, server, snapshot_id, server.token)
    pages = dict(
        warehouse.connection.execute(
            "SELECT dataset, count(*) FROM http_exchanges WHERE snapshot_id = ? "
            "AND page_limit IS NOT NULL GROUP BY dataset",
            [snapshot_id],
        ).fetchall()
    )
    expected = {
        name: sum(max(1, math.ceil(total / PAGE_SIZE)) for total in totals)
        for name, totals in list_totals(server).items()
    }
    assert pages == expected


def test_partner_snapshot_loads_every_row(warehouse: Warehouse, server: RunningServer) -> None:
    snapshot_id = begin(warehouse, server)
    fetch(warehouse, server, snapshot_id, server.token)
    counts = load_typed(warehouse.connection, snapshot_id)

    expected = {"user_info": 2, "company": 2}
    expected |= {name: sum(totals) for name, totals in list_totals(server).items()}
    expected |= {name: items_in_bodies(warehouse, snapshot_id, name) for name in BODY_COUNTED}
    assert counts == expected
    assert counts["budgets"] == 4  # two budgets per generated company
    assert counts["profit_and_loss"] > 0


def test_partner_amount_as_string_loads_as_null(warehouse: Warehouse) -> None:
    config = PartnerConfig(
        companies=1, seed=7, as_of=AS_OF, token="t", faults=("amount-as-string",)
    )
    with serve_in_background(config) as faulty:
        snapshot_id = begin(warehouse, faulty)
        fetch(warehouse, faulty, snapshot_id, faulty.token)
    load_typed(warehouse.connection, snapshot_id)

    bodies = warehouse.connection.execute(
        "SELECT body FROM raw_responses JOIN http_exchanges USING (snapshot_id, exchange_id) "
        "WHERE snapshot_id = ? AND dataset = 'profit_and_loss'",
        [snapshot_id],
    ).fetchall()
    string_amounts = sum(
        isinstance(item["Amount"], str) for (body,) in bodies for item in json.loads(body)["Data"]
    )
    nulls = warehouse.connection.execute(
        "SELECT count(*) FROM profit_and_loss WHERE snapshot_id = ? AND amount IS NULL",
        [snapshot_id],
    ).fetchone()
    assert string_amounts > 0
    assert nulls == (string_amounts,)


def test_partner_rejects_wrong_token(warehouse: Warehouse, server: RunningServer) -> None:
    snapshot_id = begin(warehouse, server)
    with pytest.raises(TerminalFetchError) as raised:
        fetch(warehouse, server, snapshot_id, "not-the-token")
    assert str(raised.value) == (
        "the partner rejected the access token (401) on GET /oauth2/user-info"
    )
