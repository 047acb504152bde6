"""Parse and check request parameters; every invalid value becomes a 400 with a Message.

Parameters are read as raw strings, not declared on the routes, so that FastAPI's 422 never
reaches a client and every message names the parameter, the value and what is expected.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from fastapi import HTTPException

from reach_dq.datasets import BASES

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
INTEGER_PATTERN = re.compile(r"[+-]?\d+")

T = TypeVar("T")


def bad_request(message: str) -> HTTPException:
    return HTTPException(status_code=400, detail=message)


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not INTEGER_PATTERN.fullmatch(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise bad_request(f"limit must be an integer from 1 to {MAX_LIMIT}, got {raw!r}")
    return int(raw)


def parse_offset(raw: str | None) -> int:
    if raw is None:
        return 0
    if not INTEGER_PATTERN.fullmatch(raw) or int(raw) < 0:
        raise bad_request(f"offset must be an integer of at least 0, got {raw!r}")
    return int(raw)


def parse_date(name: str, raw: Any) -> dt.date:
    if raw is None:
        raise bad_request(f"{name} is required; expected a date written YYYY-MM-DD")
    if not isinstance(raw, str) or not DATE_PATTERN.fullmatch(raw):
        raise bad_request(f"{name} must be a date written YYYY-MM-DD, got {raw!r}")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        message = f"{name} must be a valid calendar date written YYYY-MM-DD, got {raw!r}"
        raise bad_request(message) from exc


def parse_range(start_raw: Any, end_raw: Any) -> tuple[dt.date, dt.date]:
    """Parse StartDate and EndDate, both inclusive; StartDate after EndDate is invalid."""
    start = parse_date("StartDate", start_raw)
    end = parse_date("EndDate", end_raw)
    if start > end:
        raise bad_request(
            f"StartDate {start_raw!r} is after EndDate {end_raw!r}; "
            "expected StartDate on or before EndDate"
        )
    return start, end


def parse_basis(raw: str | None) -> str:
    if raw is None:
        raise bad_request("AccountingBasis is required; expected CASH or ACCRUAL")
    if raw not in BASES:
        raise bad_request(f"AccountingBasis must be CASH or ACCRUAL, got {raw!r}")
    return raw


def parse_id(name: str, raw: Any, known: Sequence[str], listing: str) -> str | None:
    """Check an optional id against the company's ids; ``listing`` is the path that lists them."""
    if raw is None:
        return None
    if not isinstance(raw, str) or raw not in known:
        raise bad_request(f"unknown {name} {raw!r}; expected an id listed by {listing}")
    return raw


def paginate(items: Sequence[T], *, offset: int, limit: int) -> tuple[list[T], dict[str, int]]:
    """Return one page of ``items`` and its Pagination object; ``total`` counts every item."""
    page = list(items[offset : offset + limit])
    return page, {"offset": offset, "limit": limit, "total": len(items)}
