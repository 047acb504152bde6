from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from pydantic import SecretStr

from reach_dq.exceptions import ConfigError, StoreError, TerminalFetchError
from reach_dq.fetch.snapshot import FetchRequest, FetchSummary, run_fetch
from reach_dq.warehouse.typed import load_typed
from reach_dq.warehouse.warehouse import Warehouse
from tests.unit.fetch.fake_partner import BASE_URL, TOKEN, FakeCompany, FakePartner

MARCH = dt.date(2024, 3, 31)

# user info, company, 5 lists, 6 statements, 2 budget P&Ls, 2 metric-value posts
EXCHANGES_PER_COMPANY = 16


def fetch_request(**options: Any) -> FetchRequest:
    values: dict[str, Any] = {
        "base_url": BASE_URL,
        "token": SecretStr(TOKEN),
        "first_month": MARCH,
        "last_month": MARCH,
        **options,
    }
    return FetchRequest(**values)


def fetch(
    partner: FakePartner, warehouse: Warehouse, snapshot_id: str, **options: Any
) -> FetchSummary:
    request = fetch_request(**options)
    return run_fetch(request, warehouse, snapshot_id, transport=partner.transport())


def exchanges(warehouse: Warehouse, snapshot_id: str, where: str = "TRUE") -> list[tuple[Any, ...]]:
    sql = (
        "SELECT operation_id, company_id, basis, budget_id, start_date, status_code "
        f"FROM http_exchanges WHERE snapshot_id = ? AND {where} "
        "ORDER BY operation_id, company_id, basis, budget_id NULLS FIRST"
    )
    return warehouse.connection.execute(sql, [snapshot_id]).fetchall()


def test_fetch_counts_every_exchange(warehouse: Warehouse, snapshot_id: str) -> None:
    summary = fetch(FakePartner([FakeCompany("C001")]), warehouse, snapshot_id)
    assert summary == FetchSummary(("C001",), 1 + EXCHANGES_PER_COMPANY, 0, 0)
    assert summary.status == "complete"


def test_fetch_discovers_companies_in_user_info_order(
    warehouse: Warehouse, snapshot_id: str
) -> None:
    partner = FakePartner([FakeCompany("C002"), FakeCompany("C001")])
    summary = fetch(partner, warehouse, snapshot_id)
    assert summary.companies == ("C002", "C001")


def test_fetch_uses_named_companies_only(warehouse: Warehouse, snapshot_id: str) -> None:
    partner = FakePartner([FakeCompany("C001"), FakeCompany("C002")])
    summary = fetch(partner, warehouse, snapshot_id, companies=("C002",))
    assert summary == FetchSummary(("C002",), 1 + EXCHANGES_PER_COMPANY, 0, 0)


def test_fetch_encodes_company_ids_in_paths(warehouse: Warehouse, snapshot_id: str) -> None:
    partner = FakePartner([FakeCompany("C/2?#x"), FakeCompany("..")])
    summary = fetch(partner, warehouse, snapshot_id)
    company_segments = {
        request.url.raw_path.decode().split("/")[3]
        for request in partner.requests
        if request.url.raw_path.startswith(b"/api/companies/")
    }
    assert company_segments == {"C%2F2%3F%23x", "%2E%2E"}
    assert summary.failed_operations == 0


def test_fetch_stores_encoded_path(warehouse: Warehouse, snapshot_id: str) -> None:
    fetch(FakePartner([FakeCompany("C/2?")]), warehouse, snapshot_id)
    paths = warehouse.connection.execute(
        "SELECT path FROM http_exchanges WHERE snapshot_id = ? AND operation_id = 'getCompany'",
        [snapshot_id],
    ).fetchall()
    assert paths == [("/companies/C%2F2%3F",)]


def test_statements_start_at_fiscal_year(warehouse: Warehouse, snapshot_id: str) -> None:
    fetch(FakePartner([FakeCompany("C001", fiscal_month_end=6)]), warehouse, snapshot_id)
    starts = exchanges(warehouse, snapshot_id, "operation_id = 'getBalanceSheet'")
    assert starts == [
        ("getBalanceSheet", "C001", "ACCRUAL", None, dt.date(2023, 7, 1), 200),
        ("getBalanceSheet", "C001", "CASH", None, dt.date(2023, 7, 1), 200),
    ]


def test_failed_company_info_starts_previous_month(warehouse: Warehouse, snapshot_id: str) -> None:
    partner = FakePartner([FakeCompany("C001", fiscal_month_end=6)], failures={("C001", ""): 404})
    summary = fetch(partner, warehouse, snapshot_id)
    starts = exchanges(warehouse, snapshot_id, "operation_id = 'getCashFlow'")
    assert [row[4] for row in starts] == [dt.date(2024, 2, 1), dt.date(2024, 2, 1)]
    assert summary.failed_operations == 1


@pytest.mark.parametrize(
    "fiscal_month_end", ["6", 13, True, None], ids=["string", "13", "bool", "null"]
)
def test_unusable_fiscal_month_end_starts_previous_month(
    warehouse: Warehouse, snapshot_id: str, fiscal_month_end: Any
) -> None:
    partner = FakePartner([FakeCompany("C001", fiscal_month_end=fiscal_month_end)])
    summary = fetch(partner, warehouse, snapshot_id)
    where = "operation_id = 'getProfitAndLoss' AND budget_id IS NULL"
    starts = exchanges(warehouse, snapshot_id, where)
    assert [row[4] for row in starts] == [dt.date(2024, 2, 1), dt.date(2024, 2, 1)]
    assert summary.failed_operations == 0


def test_budget_requests_cover_pnl_and_metrics(warehouse: Warehouse, snapshot_id: str) -> None:
    fetch(FakePartner([FakeCompany("C001", budgets=("B1",))]), warehouse, snapshot_id)
    budget_rows = exchanges(warehouse, snapshot_id, "budget_id IS NOT NULL")
    assert budget_rows == [
        ("getNonFinancialValues", "C001", None, "B1", dt.date(2024, 3, 1), 200),
        ("getProfitAndLoss", "C001", "ACCRUAL", "B1", dt.date(2024, 1, 1), 200),
        ("getProfitAndLoss", "C001", "CASH", "B1", dt.date(2024, 1, 1), 200),
    ]


def test_metric_values_posted_with_all_ids(warehouse: Warehouse, snapshot_id: str) -> None:
    partner = FakePartner([FakeCompany("C001", budgets=("B1",), metrics=("M1", "M2"))])
    fetch(partner, warehouse, snapshot_id)
    posts = [request for request in partner.requests if request.method == "POST"]
    bodies = [json.loads(request.content) for request in posts]
    assert bodies == [
        {"NonFinancialIds": ["M1", "M2"], "StartDate": "2024-03-01", "EndDate": "2024-03-31"},
        {
            "NonFinancialIds": ["M1", "M2"],
            "StartDate": "2024-03-01",
            "EndDate": "2024-03-31",
            "BudgetId": "B1",
        },
    ]


def test_no_metrics_skips_metric_values(warehouse: Warehouse, snapshot_id: str) -> None:
    summary = fetch(FakePartner([FakeCompany("C001", metrics=())]), warehouse, snapshot_id)
    assert exchanges(warehouse, snapshot_id, "operation_id = 'getNonFinancialValues'") == []
    assert summary.exchanges == 1 + EXCHANGES_PER_COMPANY - 2


def test_rejected_token_raises_terminal_error(warehouse: Warehouse, snapshot_id: str) -> None:
    partner = FakePartner([FakeCompany("C001")])
    request = fetch_request(token=SecretStr("wrong-token"))
    with pytest.raises(TerminalFetchError) as raised:
        run_fetch(request, warehouse, snapshot_id, transport=partner.transport())
    assert str(raised.value) == (
        "the partner rejected the access token (401) on GET /oauth2/user-info"
    )
    assert exchanges(warehouse, snapshot_id) == [("getUserInfo", None, None, None, None, 401)]


def test_failed_user_info_without_companies_raises(warehouse: Warehouse, snapshot_id: str) -> None:
    partner = FakePartner([FakeCompany("C001")], user_info_status=404)
    with pytest.raises(TerminalFetchError) as raised:
        fetch(partner, warehouse, snapshot_id)
    assert str(raised.value) == (
        "cannot discover the companies because user info failed: GET /oauth2/user-info returned "
        "HTTP 404, expected 2xx: 'user info is unavailable'; name the companies with --company "
        "to fetch them anyway"
    )


def test_unlisted_requested_company_is_config_error(warehouse: Warehouse, snapshot_id: str) -> None:
    partner = FakePartner([FakeCompany("C001")])
    with pytest.raises(ConfigError) as raised:
        fetch(partner, warehouse, snapshot_id, companies=("NOPE",))
    assert str(raised.value) == (
        "--company 'NOPE' is not among the companies that user info lists for this token "
        "(C001); check the id or the token"
    )


def test_failed_user_info_with_named_companies_continues(
    warehouse: Warehouse, snapshot_id: str
) -> None:
    partner = FakePartner([FakeCompany("C001")], user_info_status=404)
    summary = fetch(partner, warehouse, snapshot_id, companies=("C001",))
    assert summary == FetchSummary(("C001",), 1 + EXCHANGES_PER_COMPANY, 1, 1)


def test_user_info_without_companies_list_raises(warehouse: Warehouse, snapshot_id: str) -> None:
    partner = FakePartner([], user_info_body={"sub": "u1"})
    with pytest.raises(TerminalFetchError) as raised:
        fetch(partner, warehouse, snapshot_id)
    assert str(raised.value) == (
        "GET /oauth2/user-info returned no 'Companies' list, so the companies cannot be "
        "discovered; name the companies explicitly"
    )


def test_failed_operation_does_not_stop_others(warehouse: Warehouse, snapshot_id: str) -> None:
    partner = FakePartner(
        [FakeCompany("C001"), FakeCompany("C002")], failures={("C001", "balance-sheet"): 404}
    )
    summary = fetch(partner, warehouse, snapshot_id)
    assert summary == FetchSummary(("C001", "C002"), 1 + 2 * EXCHANGES_PER_COMPANY, 2, 2)
    assert summary.status == "incomplete"


def test_progress_ends_with_every_operation_done(warehouse: Warehouse, snapshot_id: str) -> None:
    calls: list[tuple[int, int]] = []
    partner = FakePartner([FakeCompany("C001")])
    run_fetch(
        fetch_request(),
        warehouse,
        snapshot_id,
        transport=partner.transport(),
        progress=lambda done, planned: calls.append((done, planned)),
    )
    assert calls[-1] == (17, 17)
    assert all(done <= planned for done, planned in calls)


def test_fetch_requires_existing_snapshot(warehouse: Warehouse) -> None:
    with pytest.raises(StoreError) as raised:
        fetch(FakePartner([]), warehouse, "missing")
    assert str(raised.value) == "snapshot 'missing' does not exist; begin it before fetching"


def test_fetched_snapshot_loads_typed_rows(warehouse: Warehouse, snapshot_id: str) -> None:
    fetch(FakePartner([FakeCompany("C001", accounts=("A1", "A2", "A3"))]), warehouse, snapshot_id)
    counts = load_typed(warehouse.connection, snapshot_id)
    assert counts == {
        "user_info": 1,
        "company": 1,
        "chart_of_accounts": 3,
        "budgets": 1,
        "classes": 0,
        "departments": 0,
        "non_financial_metrics": 2,
        "non_financial_values": 4,
        "profit_and_loss": 12,
        "balance_sheet": 6,
        "cash_flow": 6,
    }


def test_token_never_reaches_warehouse(warehouse: Warehouse, snapshot_id: str) -> None:
    partner = FakePartner([FakeCompany("C001")], failures={("C001", "budgets"): 404})
    fetch(partner, warehouse, snapshot_id)
    leaks = [
        table
        for table in ("snapshots", "http_exchanges", "raw_responses")
        if TOKEN in repr(warehouse.connection.execute(f"SELECT * FROM {table}").fetchall())
    ]
    assert leaks == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"base_url": "ftp://127.0.0.1/"},
            "base_url must be an http or https URL with a host, got 'ftp://127.0.0.1/'",
        ),
        (
            {"base_url": "http://user:secret@127.0.0.1/api?key=secret"},
            "base_url must not carry user info, a query or a fragment (got 'http://127.0.0.1/api' "
            "plus those parts, not shown); send credentials as the token",
        ),
        ({"token": SecretStr("")}, "token must not be empty"),
        (
            {"first_month": dt.date(2024, 3, 15)},
            "first_month must be the last day of a month, got '2024-03-15'",
        ),
        (
            {"first_month": dt.date(2024, 4, 30)},
            "first_month '2024-04-30' is after last_month '2024-03-31'",
        ),
        ({"companies": ("C001", "")}, "company ids must be non-empty strings, got ('C001', '')"),
        ({"concurrency": 0}, "concurrency must be at least 1, got 0"),
        ({"page_size": 1001}, "page_size must be 1..1000, got 1001"),
        ({"timeout_s": 0.0}, "timeout_s must be a positive number of seconds, got 0.0"),
        ({"max_attempts": 0}, "max_attempts must be at least 1, got 0"),
    ],
    ids=[
        "scheme",
        "credentials",
        "empty-token",
        "mid-month",
        "reversed-months",
        "empty-company",
        "concurrency",
        "page-size",
        "timeout",
        "attempts",
    ],
)
def test_fetch_request_rejects_invalid_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        fetch_request(**options)
    assert str(raised.value) == message
