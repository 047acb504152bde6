"""``reach-dq nightly`` and ``reach-dq validate`` on one warehouse at once: the later run fails at once.

Two races, each against a partner server that keeps one late request of the first run waiting
at a gate, so the later runs certainly start while the first run holds the warehouse's lock:

- a nightly run is held; a validate run and a second nightly run on its warehouse must stop
  with exit code 3, naming the nightly run's pid, while the nightly run is still held;
- a validate run is held; a nightly run on its warehouse must stop the same way, naming the
  validate run's pid.

Each first run must then complete, and its snapshot must be the only one in the warehouse.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.integration.conftest import TOKEN_ENV
from tests.integration.reliability_support import (
    AS_OF,
    GatedServer,
    TimedRun,
    gated_server,
    run_environment,
    validate,
    validate_command,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WAIT_S = 180.0  # seconds a step may take before the test gives up, Prefect's start included
BUSY = (
    r"reach-dq: error: the run could not complete: warehouse '.*warehouse\.duckdb' is in use by "
    r"another reach-dq run \(pid {pid}, reach-dq {command}, started "
    r"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\); wait for that run to finish, or use another "
    r"warehouse file"
)


@dataclasses.dataclass(frozen=True)
class Blocked:
    """A run started while the first run was held at the gate."""

    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    holder_running: bool  # whether the first run was still held when this run ended

    @property
    def error_lines(self) -> list[str]:
        """Return the CLI's error lines, which sit among Prefect's log lines in a nightly run."""
        return [line for line in self.stderr.splitlines() if line.startswith("reach-dq: error:")]


@dataclasses.dataclass(frozen=True)
class Race:
    holder_pid: int
    holder_exit_code: int
    holder_output: str
    blocked: dict[str, Blocked]
    folder: Path

    @property
    def warehouse(self) -> Path:
        return self.folder / "warehouse.duckdb"


def write_config(folder: Path, base_url: str) -> Path:
    path = folder / "reach-dq.toml"
    path.write_text(
        f"""
[nightly]
warehouse = "warehouse.duckdb"
docs_dir = "docs"
fetch_retries = 0

[[partners]]
name = "gated"
base_url = "{base_url}"
token_env = "{TOKEN_ENV}"
months = 3
timeout_s = 60
""",
        encoding="utf-8",
    )
    return path


def nightly_environment(folder: Path, token: str) -> dict[str, str]:
    environment = {
        **run_environment(token),
        "PREFECT_HOME": str(folder / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    environment.pop("PREFECT_API_URL", None)
    return environment


def nightly_command(config: Path) -> list[str]:
    return [sys.executable, "-m", "reach_dq", "nightly", "--config", str(config), "--as-of", AS_OF.isoformat()]


def run_blocked(command: list[str], folder: Path, environment: dict[str, str], holder: subprocess.Popen[str]) -> Blocked:
    started = time.monotonic()
    completed = subprocess.run(
        command, capture_output=True, text=True, env=environment, cwd=folder, timeout=WAIT_S, check=False
    )
    seconds = time.monotonic() - started
    return Blocked(completed.returncode, completed.stdout, completed.stderr, seconds, holder.poll() is None)


def blocked_validate(server: GatedServer, folder: Path, holder: subprocess.Popen[str]) -> Blocked:
    timed: TimedRun = validate(server.base_url, server.token, folder)
    return Blocked(timed.run.exit_code, timed.run.stdout, timed.run.stderr, timed.seconds, holder.poll() is None)


def finish(holder: subprocess.Popen[str], server: GatedServer) -> tuple[int, str]:
    server.gate.closed.clear()
    stdout, stderr = holder.communicate(timeout=WAIT_S)
    return holder.returncode, stdout + stderr


@pytest.fixture(scope="module")
def nightly_holds(tmp_path_factory: pytest.TempPathFactory) -> Race:
    folder = tmp_path_factory.mktemp("nightly-holds")
    with gated_server() as server:
        config = write_config(folder, server.base_url)
        environment = nightly_environment(folder, server.token)
        server.gate.closed.set()
        holder = subprocess.Popen(
            nightly_command(config), env=environment, cwd=folder,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert server.gate.reached.wait(WAIT_S), "the nightly run never reached the gate"
            blocked = {
                "validate": blocked_validate(server, folder, holder),
                "nightly": run_blocked(nightly_command(config), folder, environment, holder),
            }
        finally:
            exit_code, output = finish(holder, server)
    return Race(holder.pid, exit_code, output, blocked, folder)


@pytest.fixture(scope="module")
def validate_holds(tmp_path_factory: pytest.TempPathFactory) -> Race:
    folder = tmp_path_factory.mktemp("validate-holds")
    with gated_server() as server:
        config = write_config(folder, server.base_url)
        server.gate.closed.set()
        holder = subprocess.Popen(
            validate_command(server.base_url, folder, "--timeout", "60"),
            env=run_environment(server.token), cwd=folder,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert server.gate.reached.wait(WAIT_S), "the validate run never reached the gate"
            environment = nightly_environment(folder, server.token)
            blocked = {"nightly": run_blocked(nightly_command(config), folder, environment, holder)}
        finally:
            exit_code, output = finish(holder, server)
    return Race(holder.pid, exit_code, output, blocked, folder)


def snapshots(warehouse: Path) -> list[tuple[str, str | None, str]]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute("SELECT command, partner, status FROM snapshots").fetchall()


def test_validate_during_nightly_fails(nightly_holds: Race) -> None:
    blocked = nightly_holds.blocked["validate"]
    assert blocked.exit_code == 3, blocked.stderr[-3000:]
    assert blocked.holder_running


def test_validate_names_nightly_holder(nightly_holds: Race) -> None:
    message = nightly_holds.blocked["validate"].stderr.strip()
    pattern = BUSY.format(pid=nightly_holds.holder_pid, command="nightly")
    assert re.fullmatch(pattern, message), message


def test_validate_during_nightly_writes_no_report(nightly_holds: Race) -> None:
    assert not (nightly_holds.folder / "report.json").exists()


def test_second_nightly_fails(nightly_holds: Race) -> None:
    blocked = nightly_holds.blocked["nightly"]
    assert blocked.exit_code == 3, blocked.stderr[-3000:]
    assert blocked.holder_running


def test_second_nightly_names_holder(nightly_holds: Race) -> None:
    blocked = nightly_holds.blocked["nightly"]
    pattern = BUSY.format(pid=nightly_holds.holder_pid, command="nightly")
    assert len(blocked.error_lines) == 1, blocked.stderr[-3000:]
    assert re.fullmatch(pattern, blocked.error_lines[0]), blocked.stderr[-3000:]


def test_second_nightly_prints_no_report(nightly_holds: Race) -> None:
    assert nightly_holds.blocked["nightly"].stdout == ""


def test_held_nightly_completes(nightly_holds: Race) -> None:
    assert nightly_holds.holder_exit_code == 0, nightly_holds.holder_output[-3000:]


def test_warehouse_keeps_only_nightly_snapshot(nightly_holds: Race) -> None:
    assert snapshots(nightly_holds.warehouse) == [("nightly", "gated", "complete")]


def test_nightly_during_validate_fails(validate_holds: Race) -> None:
    blocked = validate_holds.blocked["nightly"]
    assert blocked.exit_code == 3, blocked.stderr[-3000:]
    assert blocked.holder_running


def test_nightly_names_validate_holder(validate_holds: Race) -> None:
    blocked = validate_holds.blocked["nightly"]
    pattern = BUSY.format(pid=validate_holds.holder_pid, command="validate")
    assert len(blocked.error_lines) == 1, blocked.stderr[-3000:]
    assert re.fullmatch(pattern, blocked.error_lines[0]), blocked.stderr[-3000:]


def test_held_validate_completes(validate_holds: Race) -> None:
    assert validate_holds.holder_exit_code == 0, validate_holds.holder_output[-3000:]


def test_warehouse_keeps_only_validate_snapshot(validate_holds: Race) -> None:
    assert snapshots(validate_holds.warehouse) == [("validate", None, "complete")]


def test_lock_released_after_runs(validate_holds: Race) -> None:
    lock_file = validate_holds.warehouse.with_name("warehouse.duckdb.lock")
    assert lock_file.read_text() == ""
