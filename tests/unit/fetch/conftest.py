from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from reach_dq.warehouse.warehouse import Warehouse


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    with Warehouse.open(tmp_path / "warehouse.duckdb") as opened:
        yield opened


@pytest.fixture
def snapshot_id(warehouse: Warehouse) -> str:
    return warehouse.begin_snapshot(
        base_url="http://127.0.0.1:8765/api",
        command="validate",
        as_of=dt.date(2024, 4, 10),
        first_month=dt.date(2024, 3, 31),
        last_month=dt.date(2024, 3, 31),
        spec_title="Reach API 1.0.3 (reconstructed)",
        spec_version="1.0.3",
    )
