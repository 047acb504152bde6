"""Each fault, served over HTTP, changes exactly what its description states and nothing else."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from reach_dq.exceptions import ConfigError
from reach_dq.partner.faults import FAULTS, resolve_faults
from reach_dq.partner.server import PartnerConfig, RunningServer, serve_in_background

from .conftest import AS_OF

TOKEN = "fault-test-token"
WHOLE_BOOKS = {"StartDate": "2022-05-01", "EndDate": "2026-04-30"}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, RunningServer]]:
    """One clean server and one server per fault, all with the same books."""
    names = ["clean", *FAULTS]
    with contextlib.ExitStack() as stack:
        running = {}
        for name in names:
            faults = () if name == "clean" else (name,)
            config = PartnerConfig(companies=2, token=TOKEN, as_of=AS_OF, faults=faults)
            running[name] = stack.enter_context(serve_in_background(config))
        yield running


def _get(server: RunningServer, path: str, params: dict[str, Any]) -> tuple[str, Any]:
    response = httpx.get(
        server.base_url + path, params=params, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200
    return response.text, json.loads(response.text, parse_float=Decimal)


Rows = list[dict[str, Any]]


def _differences(clean: Rows, faulty: Rows) -> list[tuple[int, Any, Any]]:
    """Return (index, clean row, faulty row) for every row that differs; lengths must match."""
    pairs = enumerate(zip(clean, faulty, strict=True))
    return [(index, a, b) for index, (a, b) in pairs if a != b]


def test_registry_lists_the_four_contract_faults() -> None:
    contract = {"amount-as-string", "date-not-zero-padded", "missing-required-field",
                "unbalanced-balance-sheet"}
    assert contract <= set(FAULTS)


def test_fault_names_match_keys_and_descriptions_are_sentences() -> None:
    assert [fault.name for fault in FAULTS.values()] == list(FAULTS)
    assert [name for name, fault in FAULTS.items() if not fault.description.endswith(".")] == []


def test_unknown_fault_lists_valid_names() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_faults(["slow-responses"])
    assert str(caught.value) == (
        f"unknown fault 'slow-responses'; expected one of {', '.join(sorted(FAULTS))}"
    )


def test_repeated_fault_is_applied_once() -> None:
    assert resolve_faults(["amount-as-string", "amount-as-string"]) == (FAULTS["amount-as-string"],)


def test_unbalanced_balance_sheet_raises_first_cash_account(
    servers: dict[str, RunningServer],
) -> None:
    path = "/companies/C001/balance-sheet"
    params = {**WHOLE_BOOKS, "AccountingBasis": "ACCRUAL"}
    _, clean = _get(servers["clean"], path, params)
    _, faulty = _get(servers["unbalanced-balance-sheet"], path, params)
    differences = _differences(clean["Data"], faulty["Data"])
    assert [(a["AccountId"], a["Date"]) for _, a, _ in differences] == [("ACC1000", "2026-01-31")]
    assert [b["Amount"] - a["Amount"] for _, a, b in differences] == [Decimal("0.01")]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/companies/C001/balance-sheet", {**WHOLE_BOOKS, "AccountingBasis": "CASH"}),
        (
            "/companies/C001/balance-sheet",
            {**WHOLE_BOOKS, "AccountingBasis": "ACCRUAL", "ClassId": "CL01"},
        ),
        ("/companies/C002/balance-sheet", {**WHOLE_BOOKS, "AccountingBasis": "ACCRUAL"}),
        ("/companies/C001/cash-flow", {**WHOLE_BOOKS, "AccountingBasis": "ACCRUAL"}),
    ],
)
def test_unbalanced_balance_sheet_leaves_other_responses(
    servers: dict[str, RunningServer], path: str, params: dict[str, str]
) -> None:
    faulty_text, _ = _get(servers["unbalanced-balance-sheet"], path, params)
    assert faulty_text == _get(servers["clean"], path, params)[0]


@pytest.mark.parametrize(
    ("start", "expected"),
    [("2025-10-01", "2026-1-31"), ("2026-02-01", "2026-2-28")],
)
def test_unpadded_date_on_first_early_row(
    servers: dict[str, RunningServer], start: str, expected: str
) -> None:
    path = "/companies/C001/profit-and-loss"
    params = {"StartDate": start, "EndDate": "2026-04-30", "AccountingBasis": "ACCRUAL"}
    _, clean = _get(servers["clean"], path, params)
    _, faulty = _get(servers["date-not-zero-padded"], path, params)
    differences = _differences(clean["Data"], faulty["Data"])
    first_early = next(i for i, row in enumerate(clean["Data"]) if int(row["Date"][5:7]) < 10)
    assert [index for index, _, _ in differences] == [first_early]
    assert differences[0][2] == {**differences[0][1], "Date": expected}


def test_amount_as_string_changes_first_row_only(servers: dict[str, RunningServer]) -> None:
    path = "/companies/C001/profit-and-loss"
    params = {**WHOLE_BOOKS, "AccountingBasis": "CASH"}
    _, clean = _get(servers["clean"], path, params)
    text, faulty = _get(servers["amount-as-string"], path, params)
    differences = _differences(clean["Data"], faulty["Data"])
    first = clean["Data"][0]
    assert differences == [(0, first, {**first, "Amount": format(first["Amount"], "f")})]
    assert text.count('"Amount":"') == 1


def test_missing_required_field_drops_first_account_name(servers: dict[str, RunningServer]) -> None:
    path = "/companies/C001/chart-of-accounts"
    _, clean = _get(servers["clean"], path, {})
    _, faulty = _get(servers["missing-required-field"], path, {})
    differences = _differences(clean["Data"], faulty["Data"])
    first = dict(clean["Data"][0])
    del first["AccountName"]
    assert differences == [(0, clean["Data"][0], first)]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/companies/C001/chart-of-accounts", {"offset": "1"}),
        ("/companies/C002/chart-of-accounts", {}),
    ],
)
def test_missing_required_field_leaves_other_pages(
    servers: dict[str, RunningServer], path: str, params: dict[str, str]
) -> None:
    faulty_text, _ = _get(servers["missing-required-field"], path, params)
    assert faulty_text == _get(servers["clean"], path, params)[0]


@pytest.mark.parametrize("fault", ["date-not-zero-padded", "amount-as-string"])
def test_profit_and_loss_faults_spare_other_companies(
    servers: dict[str, RunningServer], fault: str
) -> None:
    path = "/companies/C002/profit-and-loss"
    params = {**WHOLE_BOOKS, "AccountingBasis": "ACCRUAL"}
    assert _get(servers[fault], path, params)[0] == _get(servers["clean"], path, params)[0]
