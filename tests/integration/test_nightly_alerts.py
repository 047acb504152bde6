"""``reach-dq nightly`` as operations run it: two partner servers, three nights, one warehouse.

The healthy partner is reached with an OAuth client id and secret, the other with a token.
Night 1 both partners are healthy. Night 2 the second partner returns its chart of accounts
1.0 s late, which only the latency drift check detects. Night 3 the fault is gone again. A
webhook receiver on 127.0.0.1 counts the alerts of each night. A fourth run validates only a
partner whose server is down, whose failure must be alerted without stopping the job.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from reach_dq.partner.server import PartnerConfig, serve_in_background
from tests.unit.nightly.receiver import Received, webhook_receiver

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AS_OF = dt.date(2026, 7, 15)  # books end in June 2026; the faults' target month is March 2026
HEALTHY_TOKEN = "nightly-healthy-token-5f2c9a7e"
CLIENT_ID = "nightly-client"
CLIENT_SECRET = "nightly-client-secret-3e8b61f0"
FAULTY_TOKEN = "nightly-faulty-token-81d0e7b3"
FAULT = "slow-chart-of-accounts"
CHECK = "drift.latency"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(folder: Path, healthy_url: str, faulty_url: str, offline_url: str) -> Path:
    path = folder / "reach-dq.toml"
    path.write_text(
        f"""
[nightly]
warehouse = "warehouse.duckdb"
docs_dir = "docs"
fetch_retries = 0

[drift]
latency_min_history = 1  # three nights give the latency check one or two earlier runs

[alerts.targets.ops]
kind = "webhook"
url_env = "REACH_DQ_TEST_WEBHOOK"

[alerts.targets.log]
kind = "log"
path = "alerts.jsonl"

[[partners]]
name = "healthy"
base_url = "{healthy_url}"
client_id_env = "REACH_DQ_TEST_CLIENT_ID"
client_secret_env = "REACH_DQ_TEST_CLIENT_SECRET"
months = 4

[[partners]]
name = "faulty"
base_url = "{faulty_url}"
token_env = "REACH_DQ_TEST_FAULTY_TOKEN"
months = 4

[[partners]]
name = "offline"
base_url = "{offline_url}"
token_env = "REACH_DQ_TEST_FAULTY_TOKEN"
months = 4
""",
        encoding="utf-8",
    )
    return path


def reach_dq(folder: Path, webhook_url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "REACH_DQ_TEST_CLIENT_ID": CLIENT_ID,
        "REACH_DQ_TEST_CLIENT_SECRET": CLIENT_SECRET,
        "REACH_DQ_TEST_FAULTY_TOKEN": FAULTY_TOKEN,
        "REACH_DQ_TEST_WEBHOOK": webhook_url,
        "PREFECT_HOME": str(folder / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    environment.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "reach_dq", *arguments]
    return subprocess.run(command, capture_output=True, text=True, env=environment, cwd=folder, timeout=300, check=False)


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[subprocess.CompletedProcess[str], list[Received]]]]:
    folder = tmp_path_factory.mktemp("nightly")
    port, offline_port = free_port(), free_port()
    results = []
    with webhook_receiver() as receiver, serve_in_background(
        PartnerConfig(companies=1, as_of=AS_OF, token=HEALTHY_TOKEN, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    ) as healthy:
        config = write_config(folder, healthy.base_url, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{offline_port}")
        nightly = ["nightly", "--config", str(config), "--as-of", AS_OF.isoformat()]
        for faults in ((), (FAULT,), ()):
            faulty = PartnerConfig(companies=1, as_of=AS_OF, token=FAULTY_TOKEN, faults=faults)
            with serve_in_background(faulty, port=port):
                before = len(receiver.received)
                completed = reach_dq(folder, receiver.url, *nightly, "--partner", "healthy", "--partner", "faulty")
                results.append((completed, receiver.received[before:]))
        before = len(receiver.received)
        offline = reach_dq(folder, receiver.url, *nightly, "--partner", "offline")
        results.append((offline, receiver.received[before:]))
        status = reach_dq(folder, receiver.url, "status", "--config", str(config))
    return folder, [*results, (status, [])]


def test_first_night_of_healthy_partners_sends_nothing(nights) -> None:
    _, results = nights
    completed, received = results[0]

    assert completed.returncode == 0, completed.stderr[-3000:]
    assert [entry.json["text"] for entry in received] == []


def test_new_fault_sends_one_alert_naming_it(nights) -> None:
    _, results = nights
    completed, received = results[1]

    assert completed.returncode == 0, completed.stderr[-3000:]  # a warning fails no check
    assert len(received) == 1, [entry.json["text"] for entry in received]
    alert = received[0].json
    assert alert["reach_dq"]["kind"] == "problem"
    assert alert["reach_dq"]["partner"] == "faulty"
    assert alert["reach_dq"]["check"] == CHECK
    assert alert["reach_dq"]["dataset"] == "chart_of_accounts"
    assert alert["reach_dq"]["outcome"] == "warning"
    assert alert["text"].startswith(f"reach-dq faulty: new warning: {CHECK} on chart_of_accounts: listChartOfAccounts: p95 ")


def test_fault_removed_sends_one_recovery(nights) -> None:
    _, results = nights
    completed, received = results[2]

    assert completed.returncode == 0, completed.stderr[-3000:]
    assert len(received) == 1, [entry.json["text"] for entry in received]
    alert = received[0].json
    assert alert["reach_dq"]["kind"] == "recovery"
    assert alert["reach_dq"]["check"] == CHECK
    assert alert["reach_dq"]["previous_outcome"] == "warning"
    assert alert["text"].startswith(f"reach-dq faulty: recovered (warning before): {CHECK} on chart_of_accounts passes again")


def test_alerts_carry_no_token(nights) -> None:
    folder, results = nights
    received = [entry for _, entries in results for entry in entries]

    assert len(received) == 3
    for entry in received:
        assert HEALTHY_TOKEN not in entry.raw
        assert FAULTY_TOKEN not in entry.raw
        assert CLIENT_SECRET not in entry.raw
    log_file = (folder / "alerts.jsonl").read_text()
    assert log_file.count("\n") == 3
    assert FAULTY_TOKEN not in log_file


def test_history_keeps_every_night(nights) -> None:
    folder, _ = nights

    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as connection:
        snapshots = connection.execute(
            "SELECT partner, count(*), count(*) FILTER (status = 'complete') FROM snapshots GROUP BY partner ORDER BY partner"
        ).fetchall()
        alerts = connection.execute("SELECT partner, kind, check_name FROM alerts ORDER BY created_at").fetchall()
        open_problems = connection.execute("SELECT count(*) FROM alert_state").fetchone()
        findings = connection.execute("SELECT count(DISTINCT snapshot_id) FROM findings").fetchone()
        token_requests = connection.execute(
            "SELECT s.partner, count(*) FROM http_exchanges AS e JOIN snapshots AS s USING (snapshot_id) "
            "WHERE e.operation_id = 'getToken' AND e.status_code = 200 GROUP BY s.partner"
        ).fetchall()

    assert snapshots == [("faulty", 3, 3), ("healthy", 3, 3), ("offline", 1, 0)]
    assert alerts == [("faulty", "problem", CHECK), ("faulty", "recovery", CHECK), ("offline", "problem", "nightly.run")]
    assert open_problems == (1,)
    assert findings == (6,)
    assert token_requests == [("healthy", 3)]  # one OAuth token per night for the client-credential partner


def test_trends_page_and_partner_pages_written(nights) -> None:
    folder, results = nights
    completed, _ = results[2]

    assert f"trends:    {folder / 'docs' / 'index.html'}" in completed.stdout
    page = (folder / "docs" / "index.html").read_text()
    assert 'href="partners/faulty/index.html"' in page
    assert page.count('class="chart"') == 4
    assert (folder / "docs" / "partners" / "healthy" / "findings.json").is_file()


def test_unreachable_partner_alerted_as_failed_run(nights) -> None:
    _, results = nights
    completed, received = results[3]

    assert completed.returncode == 3, completed.stderr[-3000:]
    assert "  offline: could not complete: " in completed.stdout
    assert len(received) == 1, [entry.json["text"] for entry in received]
    alert = received[0].json
    assert (alert["reach_dq"]["kind"], alert["reach_dq"]["check"]) == ("problem", "nightly.run")
    assert alert["text"].startswith("reach-dq offline: new failed: nightly.run: the nightly run could not complete: ")


def test_status_flags_partner_never_validated(nights) -> None:
    _, results = nights
    status, _ = results[4]

    assert status.returncode == 1, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0].split() == ["partner", "last", "run", "(UTC)", "age", "status", "verdict", "failed", "warnings", "overdue"]
    assert [line.split()[0] for line in lines[1:]] == ["healthy", "faulty", "offline"]
    assert [line.split()[-1] for line in lines[1:3]] == ["no", "no"]
    assert lines[3].split()[4:7] == ["failed", "run", "failed"]
    assert lines[3].endswith("OVERDUE (>26 h)")
