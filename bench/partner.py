"""The reference partner server in a process of its own, on a free port of 127.0.0.1.

The server runs apart from the measured step, so its CPU time and memory never mix into the
step's figures. It competes with the step for the machine's cores, as a partner's server would
not; the ingestion figures therefore include that contention.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.measure import REPOSITORY, BenchmarkError, child_environment

HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 180.0  # generating the books of a few hundred companies takes seconds
STOP_TIMEOUT_S = 10.0


@dataclasses.dataclass(frozen=True)
class PartnerProcess:
    base_url: str
    token: str
    startup_s: float  # from starting the process to its first response


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def partner_server(
    *, companies: int, as_of: dt.date, latency_ms: float, workdir: Path, label: str
) -> Iterator[PartnerProcess]:
    """Start ``reach-dq partner-server`` with generated books; stop it on exit."""
    port = free_port()
    token = secrets.token_urlsafe(24)
    command = [
        sys.executable, "-m", "reach_dq", "partner-server",
        "--host", HOST, "--port", str(port), "--companies", str(companies),
        "--as-of", as_of.isoformat(), "--token", token, "--latency-ms", str(latency_ms),
    ]
    workdir.mkdir(parents=True, exist_ok=True)
    with (workdir / f"{label}.out").open("wb") as out, (workdir / f"{label}.err").open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=REPOSITORY,
            env=child_environment(),
        )
        try:
            base_url = f"http://{HOST}:{port}"
            _wait_until_answering(base_url, process)
            yield PartnerProcess(base_url, token, time.perf_counter() - started)
        finally:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_answering(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    with httpx.Client(base_url=base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BenchmarkError(
                    f"the partner server for {base_url} exited with {process.returncode} "
                    "during start-up; see its stderr file in the benchmark's work folder"
                )
            try:
                client.get("/auth/oauth-discovery")
                return
            except httpx.TransportError:
                time.sleep(0.1)
    raise BenchmarkError(
        f"the partner server at {base_url} did not respond within {STARTUP_TIMEOUT_S:g} s; "
        "see its stderr file in the benchmark's work folder"
    )
