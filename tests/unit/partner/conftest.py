from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from reach_dq.partner.books import Books
from reach_dq.partner.generate import generate_companies

AS_OF = dt.date(2026, 5, 10)  # books run from May 2022 to April 2026
XERO_LEDGER = (
    Path(__file__).resolve().parents[3] / ".." / "shared" / "real-data" / "xero-ledger-fivetran"
)


@pytest.fixture(scope="session")
def companies() -> tuple[Books, ...]:
    """Four generated companies, one for each fiscal month end of the cycle (12, 6, 3, 9)."""
    return generate_companies(4, seed=7, as_of=AS_OF)


@pytest.fixture(scope="session")
def xero_ledger() -> Path:
    if not XERO_LEDGER.is_dir():
        pytest.skip(f"the Xero ledger export is not present at {XERO_LEDGER}")
    return XERO_LEDGER
