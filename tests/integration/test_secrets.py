"""Secrets never leave the process: a whole validate, golive and Prefect golive flow, searched.

The test holds every secret that the runs use: the access token exported for validate, the
OAuth client secret, and every access and refresh token it issues to golive, which a wrapper
captures from the token responses. Tokens expire after 20 requests, so golive renews them in
the middle of its run, and one error body echoes the token it received. Every file under the
runs' folders, every column of every warehouse table, Prefect's database and everything the
runs printed (logging at DEBUG) are then searched for every secret.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reach_dq.partner.jsonbody import ExactJSONResponse
from reach_dq.partner.server import PartnerConfig, build_app
from tests.integration.conftest import TOKEN_ENV
from tests.integration.reliability_support import AS_OF, run_environment, serve_app, validate_command

pytestmark = pytest.mark.integration

CLIENT_ID = "reach-dq-demo"
CLIENT_SECRET_ENV = "REACH_DQ_TEST_CLIENT_SECRET"
ECHO_PATH = "/companies/C002/classes"  # returns 400 with the received token in its message
# Configures logging at DEBUG before the CLI does, so the CLI's own set-up changes nothing.
DEBUG_CLI = (
    "import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr); "
    "sys.argv = ['reach-dq', *sys.argv[1:]]; from reach_dq.cli import main; main()"
)
FLOW_SCRIPT = """
import datetime as dt, logging, sys
from pathlib import Path
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
from flows.golive import golive_flow
from reach_dq.settings import RunOptions
folder = Path(sys.argv[2])
options = RunOptions(
    base_url=sys.argv[1], token_env=sys.argv[3], command="golive", months=3,
    as_of=dt.date.fromisoformat(sys.argv[4]), warehouse=folder / "warehouse.duckdb",
    docs_dir=folder / "docs", json_path=folder / "report.json",
)
golive_flow(options)
"""


class TokenCapture:
    """ASGI wrapper that keeps the tokens the server issues and echoes a token in one error."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self.issued: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == ECHO_PATH:
            token = dict(scope["headers"]).get(b"authorization", b"").decode().removeprefix("Bearer ")
            response = ExactJSONResponse({"Message": f"token {token} may not read classes"}, status_code=400)
            await response(scope, receive, send)
            return
        if scope["type"] != "http" or scope["path"] != "/oauth2/token":
            await self._app(scope, receive, send)
            return

        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    self._keep_tokens(b"".join(chunks))
            await send(message)

        await self._app(scope, receive, keep)

    def _keep_tokens(self, body: bytes) -> None:
        document = json.loads(body)
        for name in ("access_token", "refresh_token"):
            if isinstance(document.get(name), str):
                self.issued.append(document[name])


@dataclasses.dataclass(frozen=True)
class Outputs:
    secrets: dict[str, str]  # a description of each secret -> its value
    issued: int  # tokens the server issued to golive
    texts: dict[str, str]  # printed output of each run
    folders: tuple[Path, ...]
    exit_codes: dict[str, int]


def run_cli(arguments: list[str], folder: Path, environment: dict[str, str]) -> tuple[int, str]:
    folder.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        [sys.executable, "-c", DEBUG_CLI, *arguments],
        capture_output=True, text=True, env=environment, cwd=folder, timeout=300, check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr


def run_flow(base_url: str, folder: Path, environment: dict[str, str]) -> tuple[int, str]:
    folder.mkdir(parents=True, exist_ok=True)
    flow_environment = {
        **environment,
        "PREFECT_HOME": str(folder / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    flow_environment.pop("PREFECT_API_URL", None)
    completed = subprocess.run(
        [sys.executable, "-c", FLOW_SCRIPT, base_url, str(folder), TOKEN_ENV, AS_OF.isoformat()],
        capture_output=True, text=True, env=flow_environment, cwd=folder, timeout=300, check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    root = tmp_path_factory.mktemp("secrets")
    token = f"reach-dq-test-token-{secrets.token_hex(16)}"
    client_secret = f"reach-dq-test-client-secret-{secrets.token_hex(16)}"
    wrong_token = f"reach-dq-wrong-token-{secrets.token_hex(16)}"
    config = PartnerConfig(
        companies=2, as_of=AS_OF, token=token, client_secret=client_secret,
        faults=("token-expires-mid-run",),
    )
    capture = TokenCapture(build_app(config))
    environment = run_environment(token, **{CLIENT_SECRET_ENV: client_secret})
    texts: dict[str, str] = {}
    codes: dict[str, int] = {}
    with serve_app(capture) as base_url:
        folders = {name: root / name for name in ("validate", "golive", "flow", "rejected")}
        codes["validate"], texts["validate"] = run_cli(
            validate_command(base_url, folders["validate"], "-v")[3:],
            folders["validate"], environment,
        )
        golive = [
            "golive", "--base-url", base_url, "--client-id", CLIENT_ID,
            "--client-secret-env", CLIENT_SECRET_ENV, "--as-of", AS_OF.isoformat(), "--months", "3",
            "--warehouse", str(folders["golive"] / "warehouse.duckdb"),
            "--docs-dir", str(folders["golive"] / "docs"),
            "--json", str(folders["golive"] / "report.json"), "-v",
        ]
        codes["golive"], texts["golive"] = run_cli(golive, folders["golive"], environment)
        rejected_environment = {**environment, TOKEN_ENV: wrong_token}
        codes["rejected"], texts["rejected"] = run_cli(
            validate_command(base_url, folders["rejected"], "-v")[3:],
            folders["rejected"], rejected_environment,
        )
    # The Prefect flow gets a server of its own: the static token has expired on the first one.
    flow_capture = TokenCapture(build_app(dataclasses.replace(config, faults=())))
    with serve_app(flow_capture) as base_url:
        codes["flow"], texts["flow"] = run_flow(base_url, folders["flow"], environment)

    known = {"access token": token, "client secret": client_secret, "rejected token": wrong_token}
    issued = {f"issued token {index}": value for index, value in enumerate(capture.issued, 1)}
    return Outputs({**known, **issued}, len(capture.issued), texts, tuple(folders.values()), codes)


def leaks_in_text(text: str, secret_values: dict[str, str]) -> list[str]:
    return [name for name, value in secret_values.items() if value in text]


def leaks_in_files(folders: tuple[Path, ...], secret_values: dict[str, str]) -> list[str]:
    found = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                found += [f"{name} in {path}" for name, value in secret_values.items() if value.encode() in data]
    return found


def warehouse_text(path: Path) -> str:
    """Return every value of every table of a DuckDB file as text, one line per row."""
    lines = []
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = [row[0] for row in connection.execute("SHOW TABLES").fetchall()]
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"').fetchall():
                lines.append(f"{table}: " + " | ".join(str(value) for value in row))
    return "\n".join(lines)


def sqlite_text(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        return "\n".join(connection.iterdump())


def test_runs_completed(outputs: Outputs) -> None:
    assert outputs.exit_codes["validate"] == 1, outputs.texts["validate"][-3000:]
    assert outputs.exit_codes["golive"] == 1, outputs.texts["golive"][-3000:]
    assert outputs.exit_codes["flow"] == 0, outputs.texts["flow"][-3000:]
    assert outputs.exit_codes["rejected"] == 3, outputs.texts["rejected"][-3000:]


def test_golive_renewed_its_tokens(outputs: Outputs) -> None:
    # One access and one refresh token per grant: the first grant and at least one renewal.
    assert outputs.issued >= 4
    assert "renewed the access token" in outputs.texts["golive"]


def test_search_finds_planted_secret(outputs: Outputs, tmp_path: Path) -> None:
    planted = tmp_path / "planted.txt"
    planted.write_text(f"x{outputs.secrets['access token']}y")
    assert leaks_in_files((tmp_path,), outputs.secrets) == [f"access token in {planted}"]


def test_no_secret_in_printed_output(outputs: Outputs) -> None:
    for name, text in outputs.texts.items():
        assert "DEBUG" in text, name  # the runs really logged at DEBUG
        assert leaks_in_text(text, outputs.secrets) == [], name


def test_no_secret_in_any_file(outputs: Outputs) -> None:
    assert leaks_in_files(outputs.folders, outputs.secrets) == []


def test_no_secret_in_warehouse_tables(outputs: Outputs) -> None:
    warehouses = [folder / "warehouse.duckdb" for folder in outputs.folders if (folder / "warehouse.duckdb").exists()]
    assert len(warehouses) == 4
    for path in warehouses:
        text = warehouse_text(path)
        assert "http_exchanges" in text
        assert leaks_in_text(text, outputs.secrets) == [], path


def test_echoed_token_is_redacted(outputs: Outputs) -> None:
    text = warehouse_text(next(folder for folder in outputs.folders if folder.name == "validate") / "warehouse.duckdb")
    assert "token [token] may not read classes" in text


def test_no_secret_in_prefect_database(outputs: Outputs) -> None:
    database = next(folder for folder in outputs.folders if folder.name == "flow") / "prefect" / "prefect.db"
    text = sqlite_text(database)
    assert "reach-dq-golive" in text
    assert leaks_in_text(text, outputs.secrets) == []


def test_no_secret_in_reports_or_docs(outputs: Outputs) -> None:
    published = [
        path for folder in outputs.folders for path in folder.rglob("*")
        if path.suffix in (".json", ".html") and path.is_file()
    ]
    assert any(path.name == "report.json" for path in published)
    assert any(path.name == "index.html" for path in published)
    for path in published:
        assert leaks_in_text(path.read_text(encoding="utf-8", errors="replace"), outputs.secrets) == [], path
