"""The Prefect golive flow behind ``make demo``: a real Prefect run against the reference server."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_demo_runs_golive_flow_and_publishes_docs(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    environment.pop("PREFECT_API_URL", None)
    command = [
        sys.executable, "-m", "reach_dq", "demo", "--companies", "2",
        "--warehouse", str(tmp_path / "w.duckdb"),
        "--docs-dir", str(tmp_path / "docs"),
        "--json", str(tmp_path / "demo.json"),
    ]
    completed = subprocess.run(
        command, capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=300, check=False
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
    assert f"data docs: {tmp_path / 'docs' / 'index.html'}" in completed.stdout
    assert (tmp_path / "docs" / "gx" / "index.html").is_file()
    report = json.loads((tmp_path / "demo.json").read_text())
    assert report["snapshot"]["command"] == "golive"
    assert report["summary"]["outcomes"]["failed"] == 0
    # A first run in a fresh warehouse has no earlier snapshot and, with a close lag of 0 days,
    # no open month, so the two cross-snapshot freshness checks are not evaluated.
    not_passed = [(f["check"], f["outcome"]) for f in report["findings"] if f["outcome"] != "passed"]
    assert not_passed == [
        ("freshness.frozen_feed", "not_evaluated"),
        ("freshness.restatements", "not_evaluated"),
    ]
    assert prefect_runs(tmp_path / "prefect" / "prefect.db") == (
        [("reach-dq-golive", "COMPLETED")],
        [("fetch", "COMPLETED"), ("store", "COMPLETED"), ("validate", "COMPLETED"), ("probe", "COMPLETED"),
         ("publish", "COMPLETED")],
    )


def prefect_runs(database: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Read the flow and task runs that Prefect's temporary server recorded in its SQLite file."""
    with sqlite3.connect(database) as connection:
        flows = connection.execute(
            "SELECT flow.name, flow_run.state_type FROM flow_run JOIN flow ON flow.id = flow_run.flow_id"
        ).fetchall()
        tasks = connection.execute(
            "SELECT name, state_type FROM task_run ORDER BY start_time"
        ).fetchall()
    return flows, [(name.rsplit("-", 1)[0], state) for name, state in tasks]
