"""The run lock of ``reach_dq.pipeline`` checks the options that need no partner first."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from reach_dq import pipeline
from reach_dq.exceptions import ContractError
from reach_dq.settings import RunOptions


def options_with_spec(tmp_path: Path, spec_path: Path) -> RunOptions:
    return RunOptions(
        base_url="http://127.0.0.1:9",
        token_env="REACH_DQ_UNUSED_TOKEN",
        as_of=dt.date(2026, 7, 15),
        warehouse=tmp_path / "warehouse.duckdb",
        docs_dir=tmp_path / "docs",
        spec_path=spec_path,
    )


def test_missing_spec_creates_no_warehouse(tmp_path: Path) -> None:
    missing = tmp_path / "missing-spec.yaml"

    with pytest.raises(ContractError) as raised, pipeline.run_lock(options_with_spec(tmp_path, missing)):
        pass

    assert str(raised.value) == f"OpenAPI document {str(missing)!r} not found"
    assert not (tmp_path / "warehouse.duckdb").exists()
