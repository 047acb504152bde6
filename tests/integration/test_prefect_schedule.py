"""The scheduled deployment against a real ``prefect server`` on 127.0.0.1.

The test starts ``prefect server start`` with its own PREFECT_HOME, serves the nightly
deployment with ``reach-dq schedule``, triggers one run through the Prefect API, waits for it to
complete, and finds the run's findings in the warehouse. Stopping ``reach-dq schedule`` must
leave the deployment paused, which is Prefect's behaviour on shutdown of ``serve``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest

from reach_dq.partner.server import PartnerConfig, serve_in_background

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPOSITORY = Path(__file__).resolve().parents[2]
TOKEN = "schedule-test-token-0a9d3c55"
DEPLOYMENT = "reach-dq-nightly/nightly"
STARTUP_TIMEOUT_S = 90.0

# Runs in a child process with PREFECT_API_URL set, so this process's Prefect settings stay as
# they are. Prints the deployment as JSON, or triggers a run and prints its final state.
CLIENT_SCRIPT = """
import asyncio, json, sys
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment

async def describe():
    async with get_client() as client:
        d = await client.read_deployment_by_name(sys.argv[2])
        return {"paused": d.paused, "parameters": d.parameters,
                "schedules": [[s.schedule.cron, s.schedule.timezone, s.active] for s in d.schedules]}

if sys.argv[1] == "describe":
    print(json.dumps(asyncio.run(describe())))
else:
    run = run_deployment(sys.argv[2], timeout=float(sys.argv[3]))
    print(json.dumps({"state": run.state.type.value, "name": run.name}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prefect_environment(home: Path, api_url: str | None) -> dict[str, str]:
    environment = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",  # seconds between the runner's checks for new runs
        "REACH_DQ_SCHEDULE_TOKEN": TOKEN,
    }
    environment.pop("PREFECT_API_URL", None)
    if api_url is not None:
        environment["PREFECT_API_URL"] = api_url
    return environment


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> None:
    """Signal the process group that the test started, then wait for it to end."""
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=prefect_environment(folder / "home", None), stdout=log, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    api_url = f"http://127.0.0.1:{port}/api"
    try:
        wait_until_healthy(api_url, process, folder / "server.log")
        yield api_url
    finally:
        stop(process)
        log.close()


def wait_until_healthy(api_url: str, process: subprocess.Popen[str], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, log_path.read_text()[-3000:]
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"prefect server did not answer within {STARTUP_TIMEOUT_S} s: {log_path.read_text()[-3000:]}")


def prefect_client(folder: Path, api_url: str, *arguments: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", CLIENT_SCRIPT, *arguments], capture_output=True, text=True,
        env=prefect_environment(folder / "client-home", api_url), timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def wait_for_deployment(folder: Path, api_url: str, schedule: subprocess.Popen[str], log_path: Path) -> dict:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        assert schedule.poll() is None, log_path.read_text()[-3000:]
        completed = subprocess.run(
            [sys.executable, "-c", CLIENT_SCRIPT, "describe", DEPLOYMENT], capture_output=True, text=True,
            env=prefect_environment(folder / "client-home", api_url), timeout=120, check=False,
        )
        if completed.returncode == 0:
            return json.loads(completed.stdout.strip().splitlines()[-1])
        time.sleep(1)
    raise AssertionError(f"the deployment was not registered: {log_path.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def scheduled_run(prefect_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("schedule")
    as_of = dt.datetime.now(dt.UTC).date()
    with serve_in_background(PartnerConfig(companies=1, as_of=as_of, token=TOKEN)) as partner:
        config = folder / "reach-dq.toml"
        config.write_text(
            '[nightly]\nwarehouse = "warehouse.duckdb"\ndocs_dir = "docs"\nfetch_retries = 0\n'
            f'[[partners]]\nname = "reference"\nbase_url = "{partner.base_url}"\n'
            'token_env = "REACH_DQ_SCHEDULE_TOKEN"\nmonths = 3\n',
            encoding="utf-8",
        )
        log_path = folder / "schedule.log"
        with log_path.open("w") as log:
            schedule = subprocess.Popen(
                [sys.executable, "-m", "reach_dq", "schedule", "--config", str(config),
                 "--prefect-file", str(REPOSITORY / "prefect.yaml")],
                env=prefect_environment(folder / "serve-home", prefect_server), cwd=folder,
                stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            )
            try:
                registered = wait_for_deployment(folder, prefect_server, schedule, log_path)
                run = prefect_client(folder, prefect_server, "run", DEPLOYMENT, "240")
            finally:
                stop(schedule, signal.SIGTERM)
        after_stop = prefect_client(folder, prefect_server, "describe", DEPLOYMENT)
    return {"folder": folder, "registered": registered, "run": run, "after_stop": after_stop,
            "log": log_path.read_text()}


def test_deployment_carries_cron_and_timezone(scheduled_run: dict) -> None:
    registered = scheduled_run["registered"]

    assert registered["schedules"] == [["0 2 * * *", "UTC", True]]
    assert registered["paused"] is False
    assert registered["parameters"] == {"config_path": str(scheduled_run["folder"] / "reach-dq.toml")}


def test_triggered_run_completes(scheduled_run: dict) -> None:
    assert scheduled_run["run"]["state"] == "COMPLETED", scheduled_run["log"][-3000:]


def test_triggered_run_stores_findings(scheduled_run: dict) -> None:
    with duckdb.connect(str(scheduled_run["folder"] / "warehouse.duckdb"), read_only=True) as connection:
        snapshots = connection.execute("SELECT partner, command, status FROM snapshots").fetchall()
        findings = connection.execute("SELECT count(*) FROM findings").fetchone()

    assert snapshots == [("reference", "nightly", "complete")]
    assert findings is not None
    assert findings[0] > 100


def test_stopping_schedule_pauses_deployment(scheduled_run: dict) -> None:
    assert scheduled_run["after_stop"]["paused"] is True
