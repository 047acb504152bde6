"""Helpers of the reliability tests: validate runs with small limits, and warehouse reads."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from reach_dq.partner.server import PartnerConfig, build_app, serve_in_background
from tests.integration.conftest import TOKEN_ENV, Run

AS_OF = dt.date(2026, 7, 15)
GATED_PATH = "/companies/C003/cash-flow"  # requested late in a fetch, after most others
TIMEOUT_S = 10.0  # --timeout of the runs here: no healthy request takes that long, even on a busy machine
SLOW_TIMEOUT_S = 1.0  # --timeout of the run against slow-response, so each attempt costs a second
MAX_BODY_BYTES = 1024 * 1024  # below the 4 MiB of the oversized-body fault

# Small limits, set the way a user sets them: REACH_DQ_* environment variables.
SMALL_LIMITS = {
    "REACH_DQ_BACKOFF_S": "0.05",
    "REACH_DQ_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
}


@dataclass(frozen=True)
class TimedRun:
    run: Run
    seconds: float
    folder: Path

    @property
    def warehouse(self) -> Path:
        return self.folder / "warehouse.duckdb"


def validate_command(base_url: str, folder: Path, *extra: str) -> list[str]:
    """Return the command line of a validate run that keeps everything under ``folder``."""
    return [
        sys.executable, "-m", "reach_dq", "validate",
        "--base-url", base_url,
        "--token-env", TOKEN_ENV,
        "--warehouse", str(folder / "warehouse.duckdb"),
        "--docs-dir", str(folder / "docs"),
        "--json", str(folder / "report.json"),
        "--as-of", AS_OF.isoformat(),
        "--months", "3",
        "--timeout", f"{TIMEOUT_S:g}",
        *extra,
    ]


def run_environment(token: str, **overrides: str) -> dict[str, str]:
    return {**os.environ, TOKEN_ENV: token, **SMALL_LIMITS, **overrides}


def validate(base_url: str, token: str, folder: Path, *extra: str, **environment: str) -> TimedRun:
    """Run ``python -m reach_dq validate`` in a subprocess and read its JSON report."""
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    completed = subprocess.run(
        validate_command(base_url, folder, *extra),
        capture_output=True, text=True, env=run_environment(token, **environment), cwd=folder,
        timeout=300, check=False,
    )
    seconds = time.monotonic() - started
    report_path = folder / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    run = Run(completed.returncode, completed.stdout, completed.stderr, report)
    return TimedRun(run, seconds, folder)


def query(warehouse: Path, sql: str, parameters: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql, parameters or []).fetchall()


def findings_of(run: Run, check: str, *, company_id: str | None = None) -> list[dict[str, Any]]:
    return [
        finding for finding in run.findings
        if finding["check"] == check and (company_id is None or finding["company_id"] == company_id)
    ]


# Runs against a partner with one fault, shared by every test module of the session.
_fault_runs: dict[str, TimedRun] = {}


def fault_run(fault: str, tmp_path_factory: pytest.TempPathFactory) -> TimedRun:
    """Run validate once per session against two generated companies with ``fault`` on."""
    if fault not in _fault_runs:
        config = PartnerConfig(companies=2, as_of=AS_OF, faults=(fault,))
        with serve_in_background(config) as server:
            folder = tmp_path_factory.mktemp(fault)
            timeout = SLOW_TIMEOUT_S if fault == "slow-response" else TIMEOUT_S
            _fault_runs[fault] = validate(
                server.base_url, server.token, folder, "-v", "--timeout", f"{timeout:g}"
            )
    return _fault_runs[fault]


class Gate:
    """ASGI wrapper that holds requests for one path while it is closed."""

    def __init__(self, app: ASGIApp, path: str) -> None:
        self._app = app
        self._path = path
        self.closed = threading.Event()
        self.reached = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self._path and self.closed.is_set():
            self.reached.set()
            while self.closed.is_set():
                await asyncio.sleep(0.02)
        await self._app(scope, receive, send)


@dataclasses.dataclass(frozen=True)
class GatedServer:
    base_url: str
    token: str
    gate: Gate


@contextlib.contextmanager
def gated_server(token: str = "reliability-test-token") -> Iterator[GatedServer]:
    """Serve three generated companies on 127.0.0.1 behind a ``Gate``."""
    gate = Gate(build_app(PartnerConfig(companies=3, as_of=AS_OF, token=token)), GATED_PATH)
    try:
        with serve_app(gate) as base_url:
            yield GatedServer(base_url, token, gate)
    finally:
        gate.closed.clear()


@contextlib.contextmanager
def serve_app(app: ASGIApp, **ssl_options: str) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free port of 127.0.0.1; yield its base URL.

    ``ssl_options`` (``ssl_certfile``, ``ssl_keyfile``) make it an https server.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", **ssl_options)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    scheme = "https" if ssl_options else "http"
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start within 10 s")
            time.sleep(0.02)
        yield f"{scheme}://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
