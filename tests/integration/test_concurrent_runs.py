"""Two ``reach-dq validate`` runs on one warehouse at once: the second fails at once, naming the first.

The first run is held in the middle of its fetch by a gate at the partner server, so the second
run certainly starts while the first holds the warehouse.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

import duckdb
import pytest

from reach_dq.partner.server import PartnerConfig, serve_in_background
from tests.integration.reliability_support import (
    AS_OF,
    TimedRun,
    gated_server,
    run_environment,
    validate,
    validate_command,
)

pytestmark = pytest.mark.integration

WAIT_S = 120.0  # seconds a step may take before the test gives up
FAIL_FAST_S = 15.0  # the second run must stop well before the first one could finish


@dataclasses.dataclass(frozen=True)
class Race:
    first_pid: int
    first_exit_code: int
    second: TimedRun
    elsewhere: TimedRun  # a run on another warehouse while the first one was held
    warehouse: Path


@pytest.fixture(scope="module")
def race(tmp_path_factory: pytest.TempPathFactory) -> Race:
    folder = tmp_path_factory.mktemp("race")
    with gated_server() as server:
        server.gate.closed.set()
        first = subprocess.Popen(
            validate_command(server.base_url, folder, "--timeout", "60"),  # it waits at the gate
            env=run_environment(server.token), cwd=folder,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert server.gate.reached.wait(WAIT_S), "the first run never reached the gate"
            second = validate(server.base_url, server.token, folder)
            with serve_in_background(PartnerConfig(companies=1, as_of=AS_OF)) as other:
                elsewhere = validate(other.base_url, other.token, folder / "elsewhere")
        finally:
            server.gate.closed.clear()
        _, stderr = first.communicate(timeout=WAIT_S)
    assert first.returncode in (0, 1), stderr[-3000:]
    return Race(first.pid, first.returncode, second, elsewhere, folder / "warehouse.duckdb")


def test_second_run_fails_at_once(race: Race) -> None:
    assert race.second.run.exit_code == 3
    assert race.second.seconds < FAIL_FAST_S


def test_second_run_names_holder_pid(race: Race) -> None:
    message = race.second.run.stderr.strip()
    pattern = (
        rf"reach-dq: error: the run could not complete: warehouse '.*warehouse\.duckdb' is in use "
        rf"by another reach-dq run \(pid {race.first_pid}, reach-dq validate, started "
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\); wait for that run to finish, or use another "
        r"warehouse file"
    )
    assert re.fullmatch(pattern, message), message


def test_second_run_writes_nothing(race: Race) -> None:
    assert race.second.run.report is None
    with duckdb.connect(str(race.warehouse), read_only=True) as connection:
        snapshots = connection.execute("SELECT command, status FROM snapshots").fetchall()
    assert snapshots == [("validate", "complete")]


def test_first_run_completes(race: Race) -> None:
    assert race.first_exit_code == 0


def test_other_warehouse_runs_meanwhile(race: Race) -> None:
    assert race.elsewhere.run.exit_code == 0, race.elsewhere.run.stderr[-3000:]
    assert race.elsewhere.run.report["snapshot"]["status"] == "complete"
