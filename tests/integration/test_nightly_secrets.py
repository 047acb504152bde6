"""Secrets never leave a ``reach-dq nightly`` run: its alerts, logs, warehouse and docs, searched.

One partner server on 127.0.0.1 serves three partners of one nightly config:

- ``oauth`` signs in with a client id and secret. The server's tokens expire after 20 requests,
  so the run renews them with its refresh token. A wrapper keeps every access and refresh token
  the server issues;
- ``static`` uses an access token, which also expires in the middle of the run;
- ``rejected`` uses a token the server does not know, so its run fails and is alerted.

The server returns a 400 that echoes the received token on one path, and serves an
unbalanced balance sheet, so checks fail and alerts are sent. Alerts go to a webhook receiver on
127.0.0.1, whose URL carries a secret in its path, and to a log target. The run logs at DEBUG.
Every secret value is then searched for in every alert body received, the log target's file,
everything the run printed, every warehouse table, every file under the run's folder (the
data docs included) and Prefect's database.
"""

from __future__ import annotations

import dataclasses
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from reach_dq.partner.server import PartnerConfig, build_app
from tests.integration.reliability_support import AS_OF, run_environment, serve_app
from tests.integration.test_secrets import (
    DEBUG_CLI,
    TokenCapture,
    leaks_in_files,
    leaks_in_text,
    sqlite_text,
    warehouse_text,
)
from tests.unit.nightly.receiver import Received, webhook_receiver

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLIENT_ID = "reach-dq-nightly-client"
PARTNERS = ("oauth", "static", "rejected")
RUN_SECONDS = 300  # the nightly run may take this long before the test gives up


@dataclasses.dataclass(frozen=True)
class NightlyOutputs:
    secrets: dict[str, str]  # a description of each secret -> its value
    issued: int  # access and refresh tokens the server issued
    exit_code: int
    output: str  # stdout and stderr of the run, logged at DEBUG
    received: list[Received]  # requests to the webhook receiver
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

[alerts.targets.ops]
kind = "webhook"
url_env = "REACH_DQ_TEST_WEBHOOK"

[alerts.targets.log]
kind = "log"
path = "alerts.jsonl"

[[partners]]
name = "oauth"
base_url = "{base_url}"
client_id_env = "REACH_DQ_TEST_CLIENT_ID"
client_secret_env = "REACH_DQ_TEST_CLIENT_SECRET"
months = 3

[[partners]]
name = "static"
base_url = "{base_url}"
token_env = "REACH_DQ_TEST_STATIC_TOKEN"
months = 3

[[partners]]
name = "rejected"
base_url = "{base_url}"
token_env = "REACH_DQ_TEST_REJECTED_TOKEN"
months = 3
""",
        encoding="utf-8",
    )
    return path


def run_nightly(config: Path, folder: Path, environment: dict[str, str]) -> tuple[int, str]:
    arguments = ["nightly", "--config", str(config), "--as-of", AS_OF.isoformat(), "-v"]
    completed = subprocess.run(
        [sys.executable, "-c", DEBUG_CLI, *arguments],
        capture_output=True, text=True, env=environment, cwd=folder, timeout=RUN_SECONDS, check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> NightlyOutputs:
    folder = tmp_path_factory.mktemp("nightly-secrets")
    known = {
        "static token": f"reach-dq-static-token-{secrets.token_hex(24)}",
        "client secret": f"reach-dq-client-secret-{secrets.token_hex(24)}",
        "rejected token": f"reach-dq-rejected-token-{secrets.token_hex(24)}",
        "webhook secret": f"webhook-{secrets.token_hex(24)}",
    }
    server_config = PartnerConfig(
        companies=2, as_of=AS_OF, token=known["static token"], client_id=CLIENT_ID,
        client_secret=known["client secret"], faults=("token-expires-mid-run", "unbalanced-balance-sheet"),
    )
    capture = TokenCapture(build_app(server_config))
    with webhook_receiver(path=f"/hooks/T000/B000/{known['webhook secret']}") as receiver, serve_app(capture) as base_url:
        config = write_config(folder, base_url)
        environment = run_environment(
            "not-used-by-nightly",
            REACH_DQ_TEST_CLIENT_ID=CLIENT_ID,
            REACH_DQ_TEST_CLIENT_SECRET=known["client secret"],
            REACH_DQ_TEST_STATIC_TOKEN=known["static token"],
            REACH_DQ_TEST_REJECTED_TOKEN=known["rejected token"],
            REACH_DQ_TEST_WEBHOOK=receiver.url,
            PREFECT_HOME=str(folder / "prefect"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DO_NOT_TRACK="1",
            # Prefect also stores these loggers' records in its database, which is searched too.
            PREFECT_LOGGING_EXTRA_LOGGERS="reach_dq,httpx,httpcore",
        )
        environment.pop("PREFECT_API_URL", None)
        exit_code, output = run_nightly(config, folder, environment)
        received = list(receiver.received)

    issued = {f"issued token {index}": value for index, value in enumerate(capture.issued, 1)}
    return NightlyOutputs({**known, **issued}, len(capture.issued), exit_code, output, received, folder)


def alert_payloads(outputs: NightlyOutputs) -> list[dict[str, object]]:
    return [entry.json["reach_dq"] for entry in outputs.received]


def test_nightly_run_finished(outputs: NightlyOutputs) -> None:
    # Exit code 3: the rejected partner's run could not complete.
    assert outputs.exit_code == 3, outputs.output[-3000:]
    assert "  rejected: could not complete: " in outputs.output
    # The partner's reach-dq error ends its subflow in a Failed state with a one-line message,
    # where Prefect would log the flow's traceback for a raised error.
    assert "Encountered exception during execution" not in outputs.output


def test_oauth_partner_renewed_tokens(outputs: NightlyOutputs) -> None:
    # One access and one refresh token per grant: the first grant and at least one renewal.
    assert outputs.issued >= 4


def test_every_partner_alerted(outputs: NightlyOutputs) -> None:
    partners = {payload["partner"] for payload in alert_payloads(outputs)}
    assert partners == set(PARTNERS)


def test_rejected_partner_alerted_as_failed_run(outputs: NightlyOutputs) -> None:
    checks = [payload["check"] for payload in alert_payloads(outputs) if payload["partner"] == "rejected"]
    assert checks == ["nightly.run"]


def test_log_target_wrote_every_alert(outputs: NightlyOutputs) -> None:
    lines = (outputs.folder / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(outputs.received)
    assert outputs.output.count("WARNING:reach_dq.alerts.targets:alert: ") == len(outputs.received)


def test_run_logged_at_debug(outputs: NightlyOutputs) -> None:
    assert "DEBUG:httpcore." in outputs.output
    assert "DEBUG:reach_dq." in outputs.output
    assert "INFO:httpx:HTTP Request: " in outputs.output


def test_search_finds_planted_secret(outputs: NightlyOutputs, tmp_path: Path) -> None:
    planted = tmp_path / "planted.txt"
    planted.write_text(f"x{outputs.secrets['issued token 1']}y")
    assert leaks_in_files((tmp_path,), outputs.secrets) == [f"issued token 1 in {planted}"]


def test_no_secret_in_alert_bodies(outputs: NightlyOutputs) -> None:
    assert outputs.received != []
    for entry in outputs.received:
        body = entry.body.decode("utf-8", errors="replace")
        assert leaks_in_text(body, outputs.secrets) == [], body


def test_no_secret_in_alert_headers(outputs: NightlyOutputs) -> None:
    for entry in outputs.received:
        headers = "\n".join(f"{name}: {value}" for name, value in entry.headers.items())
        assert leaks_in_text(headers, outputs.secrets) == [], headers


def test_no_secret_in_log_target(outputs: NightlyOutputs) -> None:
    text = (outputs.folder / "alerts.jsonl").read_text(encoding="utf-8")
    assert leaks_in_text(text, outputs.secrets) == []


def test_no_secret_in_printed_output(outputs: NightlyOutputs) -> None:
    assert leaks_in_text(outputs.output, outputs.secrets) == []


def test_no_secret_in_warehouse_tables(outputs: NightlyOutputs) -> None:
    text = warehouse_text(outputs.warehouse)
    assert "http_exchanges" in text
    assert "alerts: " in text
    assert leaks_in_text(text, outputs.secrets) == []


def test_echoed_tokens_are_redacted(outputs: NightlyOutputs) -> None:
    text = warehouse_text(outputs.warehouse)
    assert text.count("token [token] may not read classes") >= 2  # the oauth and static partners


def test_no_secret_in_any_file(outputs: NightlyOutputs) -> None:
    assert (outputs.folder / "docs" / "index.html").is_file()
    assert (outputs.folder / "docs" / "partners" / "static" / "findings.json").is_file()
    assert leaks_in_files((outputs.folder,), outputs.secrets) == []


def test_no_secret_in_prefect_database(outputs: NightlyOutputs) -> None:
    text = sqlite_text(outputs.folder / "prefect" / "prefect.db")
    assert "reach-dq-nightly" in text
    assert "reach_dq.alerts.targets" in text  # the run's own log records were stored there too
    assert leaks_in_text(text, outputs.secrets) == []
