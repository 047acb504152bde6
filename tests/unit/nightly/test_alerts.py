"""Alert decisions against stored state, and delivery to a real webhook receiver on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from reach_dq.alerts.dispatch import run_finding, send_run_alerts
from reach_dq.alerts.state import Alert, AlertKey, commit_alerts, decide_alerts
from reach_dq.alerts.targets import deliver, public_origin, redact
from reach_dq.config import NightlyConfig, load_config
from reach_dq.findings import Category, Finding, Outcome
from reach_dq.warehouse.warehouse import Warehouse
from tests.unit.nightly.receiver import webhook_receiver

TOKEN = "secret-token-6c1f04d2"
IDENTITY = "accuracy.cash_flow_vs_change_in_cash"


def finding(outcome: Outcome, check: str = IDENTITY, company: str | None = "C001", message: str = "m") -> Finding:
    return Finding(check, Category.ACCURACY, "cash_flow", outcome, message, company)


@pytest.fixture()
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    with Warehouse.open(tmp_path / "w.duckdb") as opened:
        yield opened


def night(warehouse: Warehouse, snapshot_id: str, findings: list[Finding]) -> list[Alert]:
    """Decide and commit the alerts of one run, as the alert step does."""
    alerts = decide_alerts(warehouse.connection, partner="acme", snapshot_id=snapshot_id, findings=findings)
    commit_alerts(
        warehouse.connection, partner="acme", snapshot_id=snapshot_id, findings=findings,
        alerts=alerts, texts=[alert.text for alert in alerts],
    )
    return alerts


def test_new_failure_alerts_once(warehouse: Warehouse) -> None:
    first = night(warehouse, "s1", [finding(Outcome.FAILED)])
    second = night(warehouse, "s2", [finding(Outcome.FAILED)])

    assert [(alert.kind, alert.key) for alert in first] == [("problem", AlertKey("acme", IDENTITY, "cash_flow", "C001"))]
    assert second == []


def test_recovery_alerts_once_and_closes(warehouse: Warehouse) -> None:
    night(warehouse, "s1", [finding(Outcome.FAILED)])
    recovered = night(warehouse, "s2", [finding(Outcome.PASSED)])
    again = night(warehouse, "s3", [finding(Outcome.PASSED)])

    assert [(alert.kind, alert.previous_outcome) for alert in recovered] == [("recovery", "failed")]
    assert again == []


def test_rerun_of_same_snapshot_sends_nothing(warehouse: Warehouse) -> None:
    night(warehouse, "s1", [finding(Outcome.WARNING)])

    assert night(warehouse, "s1", [finding(Outcome.WARNING)]) == []


def test_not_evaluated_keeps_problem_open(warehouse: Warehouse) -> None:
    night(warehouse, "s1", [finding(Outcome.FAILED)])
    down = night(warehouse, "s2", [finding(Outcome.NOT_EVALUATED)])
    still = night(warehouse, "s3", [finding(Outcome.FAILED)])

    assert down == []
    assert still == []


def test_failed_to_warning_is_same_problem(warehouse: Warehouse) -> None:
    night(warehouse, "s1", [finding(Outcome.FAILED)])

    assert night(warehouse, "s2", [finding(Outcome.WARNING)]) == []


def test_worst_finding_per_key_decides(warehouse: Warehouse) -> None:
    alerts = night(warehouse, "s1", [finding(Outcome.PASSED), finding(Outcome.FAILED, message="second")])

    assert [alert.message for alert in alerts] == ["second"]


def test_one_time_drift_closes_without_recovery(warehouse: Warehouse) -> None:
    drift = "drift.chart_of_accounts"
    opened = night(warehouse, "s1", [finding(Outcome.WARNING, check=drift)])
    closed = night(warehouse, "s2", [finding(Outcome.PASSED, check=drift)])
    reopened = night(warehouse, "s3", [finding(Outcome.WARNING, check=drift)])

    assert len(opened) == 1
    assert closed == []
    assert len(reopened) == 1


def test_alert_text_names_partner_check_and_company() -> None:
    alert = Alert("problem", AlertKey("acme", IDENTITY, "cash_flow", "C001"), "accuracy", "failed", None, "off by 0.01", "s1")

    assert alert.text == f"reach-dq acme: new failed: {IDENTITY} on cash_flow, company C001: off by 0.01"
    assert alert.payload()["reach_dq"]["company_id"] == "C001"


def test_run_failure_text_has_no_dataset() -> None:
    failed = run_finding("the partner rejected the access token (401) on GET /oauth2/user-info")
    alert = Alert("problem", AlertKey("acme", failed.check, "", ""), "reliability", "failed", None, failed.message, "")

    assert alert.text == (
        "reach-dq acme: new failed: nightly.run: the nightly run could not complete: "
        "the partner rejected the access token (401) on GET /oauth2/user-info"
    )


def test_redact_replaces_secrets_at_any_depth() -> None:
    value = {"text": f"token {TOKEN} leaked", "nested": [f"x{TOKEN}", 3]}

    assert redact(value, [TOKEN]) == {"text": "token [redacted] leaked", "nested": ["x[redacted]", 3]}


def test_public_origin_drops_path_and_query() -> None:
    assert public_origin("https://hooks.example:8443/services/T1/B2/secret?x=1") == "https://hooks.example:8443"


def write_config(tmp_path: Path, url: str) -> NightlyConfig:
    path = tmp_path / "reach-dq.toml"
    path.write_text(
        f'[nightly]\nwarehouse = "w.duckdb"\n[alerts.targets.ops]\nkind = "webhook"\nurl = "{url}"\ntimeout_s = 2\n'
        '[alerts.targets.log]\nkind = "log"\npath = "alerts.jsonl"\n'
        '[[partners]]\nname = "acme"\nbase_url = "http://127.0.0.1:1"\ntoken_env = "ACME_TEST_TOKEN"\n',
        encoding="utf-8",
    )
    return load_config(path)


def test_webhook_receives_slack_payload_without_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_TEST_TOKEN", TOKEN)
    with webhook_receiver() as receiver:
        config = write_config(tmp_path, receiver.url)
        problem = finding(Outcome.FAILED, message=f"partner echoed {TOKEN} in a body")
        summary = send_run_alerts(config, config.partners[0], snapshot_id="s1", findings=[problem])

    assert summary.problems == 1
    assert summary.undelivered == 0
    [request] = receiver.received
    assert request.path == "/hooks/T000/B000/secret-part"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json["text"] == f"reach-dq acme: new failed: {IDENTITY} on cash_flow, company C001: partner echoed [redacted] in a body"
    assert request.json["reach_dq"]["message"] == "partner echoed [redacted] in a body"
    assert TOKEN not in request.raw


def test_alert_state_and_deliveries_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_TEST_TOKEN", TOKEN)
    with webhook_receiver() as receiver:
        config = write_config(tmp_path, receiver.url)
        send_run_alerts(config, config.partners[0], snapshot_id="s1", findings=[finding(Outcome.FAILED)])
        send_run_alerts(config, config.partners[0], snapshot_id="s1", findings=[finding(Outcome.FAILED)])

    assert len(receiver.received) == 1
    with Warehouse.open(config.nightly.warehouse) as warehouse:
        rows = warehouse.connection.execute("SELECT kind, deliveries FROM alerts").fetchall()
    [(kind, deliveries)] = rows
    assert kind == "problem"
    assert json.loads(deliveries) == [
        {"target": "ops", "delivered": True, "error": None},
        {"target": "log", "delivered": True, "error": None},
    ]
    lines = (tmp_path / "alerts.jsonl").read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["reach_dq"]["check"] == IDENTITY


def test_webhook_retries_transient_status(tmp_path: Path) -> None:
    delays: list[float] = []
    with webhook_receiver(statuses=(503, 503)) as receiver:
        config = write_config(tmp_path, receiver.url)
        alert = Alert("problem", AlertKey("acme", IDENTITY, "cash_flow", ""), "accuracy", "failed", None, "m", "s1")
        [delivery, _] = deliver(alert, config.alerts.targets, config=config, secrets=[], sleep=delays.append)

    assert delivery.delivered
    assert len(receiver.received) == 3
    assert delays == [1.0, 2.0]


def test_webhook_rejection_recorded_without_retry(tmp_path: Path) -> None:
    with webhook_receiver(statuses=(404,)) as receiver:
        config = write_config(tmp_path, receiver.url)
        alert = Alert("problem", AlertKey("acme", IDENTITY, "cash_flow", ""), "accuracy", "failed", None, "m", "s1")
        [delivery, logged] = deliver(alert, config.alerts.targets, config=config, secrets=[], sleep=lambda _: None)

    assert (delivery.target, delivery.delivered, delivery.error) == ("ops", False, "HTTP 404")
    assert len(receiver.received) == 1
    assert logged.delivered


def test_unreachable_webhook_error_hides_url(tmp_path: Path) -> None:
    with webhook_receiver() as receiver:
        url = receiver.url
    config = write_config(tmp_path, url)  # the receiver has stopped: connection refused
    alert = Alert("problem", AlertKey("acme", IDENTITY, "cash_flow", ""), "accuracy", "failed", None, "m", "s1")
    [delivery, _] = deliver(alert, config.alerts.targets, config=config, secrets=[url], sleep=lambda _: None)

    assert not delivery.delivered
    assert delivery.error is not None
    assert delivery.error.startswith("ConnectError: ")
    assert "secret-part" not in delivery.error
