"""Crash safety: ``reach-dq validate`` killed with SIGKILL in the middle of the fetch and of the store.

One partner server serves four runs on one warehouse, so that every snapshot belongs to the same
partner: a complete run, a run killed while a request is held at the server, a run killed while
it loads the typed tables, and a complete run after them. The killed runs must leave a warehouse
that opens, the earlier snapshot as it was, and snapshots that end ``incomplete`` and never serve
as a baseline.
"""

from __future__ import annotations

import dataclasses
import signal
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest

from reach_dq.datasets import DATASETS
from reach_dq.history import last_good_snapshot, previous_snapshots
from reach_dq.warehouse.warehouse import Warehouse
from tests.integration.reliability_support import (
    GatedServer,
    gated_server,
    run_environment,
    validate,
    validate_command,
)

pytestmark = pytest.mark.integration

STORE_STARTED = "reach_dq.warehouse.typed: loaded "  # logged inside the store transaction
WAIT_S = 120.0  # seconds a step may take before the test gives up
TABLES = ("snapshots", "http_exchanges", "raw_responses", "findings", *(d.name for d in DATASETS))


@dataclasses.dataclass(frozen=True)
class Killed:
    exit_code: int
    stderr: str


def kill_mid_fetch(server: GatedServer, folder: Path) -> Killed:
    """Start validate, wait until the gated request reaches the server, then SIGKILL it."""
    server.gate.reached.clear()
    server.gate.closed.set()
    process = subprocess.Popen(
        validate_command(server.base_url, folder, "--timeout", "60", "-v"),
        env=run_environment(server.token), cwd=folder,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert server.gate.reached.wait(WAIT_S), "the run never reached the gated request"
        process.send_signal(signal.SIGKILL)
        _, stderr = process.communicate(timeout=WAIT_S)
    finally:
        server.gate.closed.clear()
        if process.poll() is None:
            process.kill()
    return Killed(process.returncode, stderr)


def kill_mid_store(server: GatedServer, folder: Path) -> Killed:
    """Start validate and SIGKILL it as soon as it logs the first dataset loaded by the store."""
    process = subprocess.Popen(
        validate_command(server.base_url, folder, "--months", "24", "-v"),
        env=run_environment(server.token), cwd=folder,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    assert process.stderr is not None
    lines: list[str] = []
    try:
        for line in process.stderr:
            lines.append(line)
            if STORE_STARTED in line:
                process.send_signal(signal.SIGKILL)
                break
        lines.append(process.stderr.read())
        process.wait(WAIT_S)
    finally:
        if process.poll() is None:
            process.kill()
    return Killed(process.returncode, "".join(lines))


def table_counts(connection: duckdb.DuckDBPyConnection, snapshot_id: str) -> dict[str, int]:
    return {
        table: connection.execute(f"SELECT count(*) FROM {table} WHERE snapshot_id = ?", [snapshot_id]).fetchone()[0]
        for table in TABLES
    }


def read_state(warehouse: Path, snapshot_ids: list[str]) -> dict[str, Any]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        statuses = dict(connection.execute("SELECT snapshot_id, status FROM snapshots").fetchall())
        counts = {snapshot_id: table_counts(connection, snapshot_id) for snapshot_id in snapshot_ids}
        findings = {
            snapshot_id: connection.execute(
                "SELECT * FROM findings WHERE snapshot_id = ? ORDER BY finding_id", [snapshot_id]
            ).fetchall()
            for snapshot_id in snapshot_ids
        }
    return {"statuses": statuses, "counts": counts, "findings": findings}


@dataclasses.dataclass(frozen=True)
class CrashStory:
    first: str  # the complete snapshot before the kills
    mid_fetch: str
    mid_store: str
    last: str  # the complete snapshot after the kills
    killed_fetch: Killed
    killed_store: Killed
    before: dict[str, Any]  # state after the first run
    after_fetch_kill: dict[str, Any]  # state right after the first kill
    after_kills: dict[str, Any]  # state right after the second kill
    after_next_run: dict[str, Any]
    last_stderr: str
    warehouse: Path


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> CrashStory:
    folder = tmp_path_factory.mktemp("crash")
    warehouse = folder / "warehouse.duckdb"
    with gated_server() as server:
        first = validate(server.base_url, server.token, folder, "--months", "24")
        assert first.run.exit_code == 0, first.run.stderr[-3000:]
        first_id = first.run.report["snapshot"]["snapshot_id"]
        before = read_state(warehouse, [first_id])

        killed_fetch = kill_mid_fetch(server, folder)
        after_fetch_kill = read_state(warehouse, snapshot_ids(warehouse))
        killed_store = kill_mid_store(server, folder)
        ids = snapshot_ids(warehouse)
        after_kills = read_state(warehouse, ids)

        last = validate(server.base_url, server.token, folder, "--months", "24")
        assert last.run.exit_code == 0, last.run.stderr[-3000:]
        last_id = last.run.report["snapshot"]["snapshot_id"]
        after_next_run = read_state(warehouse, [*ids, last_id])

    return CrashStory(
        first_id, ids[1], ids[2], last_id, killed_fetch, killed_store, before, after_fetch_kill,
        after_kills, after_next_run, last.run.stderr, warehouse,
    )


def snapshot_ids(warehouse: Path) -> list[str]:
    """Open the warehouse as a run does, then return its snapshot ids, oldest first."""
    with Warehouse.open(warehouse) as opened:
        rows = opened.connection.execute("SELECT snapshot_id FROM snapshots ORDER BY started_at")
        return [row[0] for row in rows.fetchall()]


def test_runs_were_killed_by_sigkill(story: CrashStory) -> None:
    assert story.killed_fetch.exit_code == -signal.SIGKILL
    assert story.killed_store.exit_code == -signal.SIGKILL


def test_killed_snapshot_stays_running_until_next_run(story: CrashStory) -> None:
    assert story.after_fetch_kill["statuses"][story.mid_fetch] == "running"
    assert story.after_kills["statuses"][story.mid_store] == "running"


def test_fetch_kill_left_partial_exchanges(story: CrashStory) -> None:
    killed = story.after_kills["counts"][story.mid_fetch]
    complete = story.before["counts"][story.first]
    assert 0 < killed["http_exchanges"] < complete["http_exchanges"]
    assert killed["profit_and_loss"] == 0
    assert killed["findings"] == 0


def test_store_kill_rolled_back_typed_rows(story: CrashStory) -> None:
    killed = story.after_kills["counts"][story.mid_store]
    complete = story.before["counts"][story.first]
    assert "stored {" not in story.killed_store.stderr  # the kill came before the commit
    assert killed["http_exchanges"] == complete["http_exchanges"]
    assert killed["raw_responses"] == complete["raw_responses"]
    assert {killed[dataset.name] for dataset in DATASETS} == {0}


def test_earlier_snapshot_intact(story: CrashStory) -> None:
    for state in (story.after_fetch_kill, story.after_kills, story.after_next_run):
        assert state["statuses"][story.first] == "complete"
        assert state["counts"][story.first] == story.before["counts"][story.first]
        assert state["findings"][story.first] == story.before["findings"][story.first]


def test_next_run_marks_killed_incomplete(story: CrashStory) -> None:
    # The run killed mid-store was the next run after the one killed mid-fetch.
    assert story.after_kills["statuses"][story.mid_fetch] == "incomplete"
    assert closed_message(story.mid_fetch) in story.killed_store.stderr
    assert story.after_next_run["statuses"][story.mid_store] == "incomplete"
    assert closed_message(story.mid_store) in story.last_stderr
    assert story.after_next_run["statuses"][story.last] == "complete"


def closed_message(snapshot_id: str) -> str:
    return f"snapshot {snapshot_id} was left running by a run that stopped; marked it incomplete"


def test_killed_snapshots_never_baselines(story: CrashStory) -> None:
    with duckdb.connect(str(story.warehouse), read_only=True) as connection:
        earlier = [snapshot.snapshot_id for snapshot in previous_snapshots(connection, story.last)]
        baseline = last_good_snapshot(connection, story.last)
    assert earlier == [story.first]
    assert baseline is not None
    assert baseline.snapshot_id == story.first
