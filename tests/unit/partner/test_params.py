from __future__ import annotations

import datetime as dt

import pytest
from fastapi import HTTPException

from reach_dq.partner.params import (
    paginate,
    parse_basis,
    parse_date,
    parse_id,
    parse_limit,
    parse_offset,
    parse_range,
)

ITEMS = list(range(250))


def test_first_page_uses_defaults() -> None:
    page, pagination = paginate(ITEMS, offset=parse_offset(None), limit=parse_limit(None))
    assert page == list(range(100))
    assert pagination == {"offset": 0, "limit": 100, "total": 250}


def test_last_page_holds_total_minus_offset() -> None:
    page, pagination = paginate(ITEMS, offset=200, limit=100)
    assert len(page) == 50
    assert pagination == {"offset": 200, "limit": 100, "total": 250}


def test_offset_past_end_gives_empty_page() -> None:
    page, pagination = paginate(ITEMS, offset=900, limit=10)
    assert page == []
    assert pagination["total"] == 250


def test_pages_reproduce_the_list() -> None:
    pages = [paginate(ITEMS, offset=offset, limit=7)[0] for offset in range(0, 250, 7)]
    assert [item for page in pages for item in page] == ITEMS


def _message(call: object, *args: object) -> str:
    with pytest.raises(HTTPException) as caught:
        call(*args)  # type: ignore[operator]  # each parser takes its own arguments
    assert caught.value.status_code == 400
    return str(caught.value.detail)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0", "limit must be an integer from 1 to 1000, got '0'"),
        ("1001", "limit must be an integer from 1 to 1000, got '1001'"),
        ("ten", "limit must be an integer from 1 to 1000, got 'ten'"),
        ("1.5", "limit must be an integer from 1 to 1000, got '1.5'"),
    ],
)
def test_invalid_limit(raw: str, message: str) -> None:
    assert _message(parse_limit, raw) == message


@pytest.mark.parametrize("raw", ["1", "1000"])
def test_limit_bounds_are_valid(raw: str) -> None:
    assert parse_limit(raw) == int(raw)


@pytest.mark.parametrize("raw", ["-1", "x"])
def test_invalid_offset(raw: str) -> None:
    assert _message(parse_offset, raw) == f"offset must be an integer of at least 0, got {raw!r}"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "StartDate is required; expected a date written YYYY-MM-DD"),
        ("2025-1-01", "StartDate must be a date written YYYY-MM-DD, got '2025-1-01'"),
        ("20250101", "StartDate must be a date written YYYY-MM-DD, got '20250101'"),
        (20250101, "StartDate must be a date written YYYY-MM-DD, got 20250101"),
        (
            "2025-02-30",
            "StartDate must be a valid calendar date written YYYY-MM-DD, got '2025-02-30'",
        ),
    ],
)
def test_invalid_date(raw: object, message: str) -> None:
    assert _message(parse_date, "StartDate", raw) == message


def test_start_after_end_is_invalid() -> None:
    assert _message(parse_range, "2025-02-01", "2025-01-31") == (
        "StartDate '2025-02-01' is after EndDate '2025-01-31'; "
        "expected StartDate on or before EndDate"
    )


def test_single_day_range_is_valid() -> None:
    assert parse_range("2025-01-31", "2025-01-31") == (dt.date(2025, 1, 31), dt.date(2025, 1, 31))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "AccountingBasis is required; expected CASH or ACCRUAL"),
        ("cash", "AccountingBasis must be CASH or ACCRUAL, got 'cash'"),
    ],
)
def test_invalid_basis(raw: str | None, message: str) -> None:
    assert _message(parse_basis, raw) == message


def test_unknown_id_names_the_listing() -> None:
    message = _message(parse_id, "ClassId", "CL99", ["CL01"], "/companies/C001/classes")
    assert message == "unknown ClassId 'CL99'; expected an id listed by /companies/C001/classes"


def test_absent_id_is_none() -> None:
    assert parse_id("ClassId", None, ["CL01"], "/companies/C001/classes") is None
