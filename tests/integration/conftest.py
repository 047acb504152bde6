"""Helpers for tests that run reach-dq as a user does: a real process against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
SHARED = REPOSITORY.parent / "shared"
XERO_LEDGER = SHARED / "real-data" / "xero-ledger-fivetran"
TOKEN_ENV = "REACH_DQ_TEST_TOKEN"


@dataclass(frozen=True)
class Run:
    exit_code: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None

    @property
    def findings(self) -> list[dict[str, Any]]:
        assert self.report is not None, self.stderr
        return self.report["findings"]

    def non_passed(self) -> list[dict[str, Any]]:
        return [finding for finding in self.findings if finding["outcome"] != "passed"]


def run_validate(base_url: str, token: str, tmp_path: Path, *extra: str) -> Run:
    """Run ``python -m reach_dq validate`` in a subprocess and read its JSON report."""
    report_path = tmp_path / "report.json"
    command = [
        sys.executable, "-m", "reach_dq", "validate",
        "--base-url", base_url,
        "--token-env", TOKEN_ENV,
        "--warehouse", str(tmp_path / "warehouse.duckdb"),
        "--docs-dir", str(tmp_path / "docs"),
        "--json", str(report_path),
        *extra,
    ]
    environment = {**os.environ, TOKEN_ENV: token}
    completed = subprocess.run(
        command, capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=300, check=False
    )
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return Run(completed.returncode, completed.stdout, completed.stderr, report)


@pytest.fixture(scope="session")
def xero_ledger() -> Path:
    if not XERO_LEDGER.is_dir():
        pytest.skip(f"the sample Xero ledger is not at {XERO_LEDGER}")
    return XERO_LEDGER
