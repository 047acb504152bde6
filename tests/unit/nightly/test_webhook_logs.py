"""A webhook delivery logs no part of the webhook URL's path, at any level, httpx's loggers included."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import pytest

from reach_dq.alerts.state import Alert, AlertKey
from reach_dq.alerts.targets import USER_AGENT, deliver, public_origin
from reach_dq.config import NightlyConfig, load_config
from tests.unit.nightly.receiver import webhook_receiver

CHECK = "accuracy.balance_sheet_balances"


def write_config(tmp_path: Path, url: str) -> NightlyConfig:
    path = tmp_path / "reach-dq.toml"
    path.write_text(
        f'[nightly]\nwarehouse = "w.duckdb"\n[alerts.targets.ops]\nkind = "webhook"\nurl = "{url}"\ntimeout_s = 2\n'
        '[[partners]]\nname = "acme"\nbase_url = "http://127.0.0.1:1"\ntoken_env = "ACME_TEST_TOKEN"\n',
        encoding="utf-8",
    )
    return load_config(path)


def problem_alert() -> Alert:
    return Alert("problem", AlertKey("acme", CHECK, "balance_sheet", "C001"), "accuracy", "failed", None, "m", "s1")


def test_delivery_logs_no_url_path(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path_secret = f"hook-{secrets.token_hex(16)}"
    caplog.set_level(logging.DEBUG)
    with webhook_receiver(path=f"/services/T000/{path_secret}") as receiver:
        config = write_config(tmp_path, receiver.url)
        [delivery] = deliver(problem_alert(), config.alerts.targets, config=config, secrets=[], sleep=lambda _: None)

    assert delivery.delivered
    assert len(receiver.received) == 1
    assert any(record.name.startswith("httpcore") for record in caplog.records)  # DEBUG was captured
    assert f"alert target ops: delivered to {public_origin(receiver.url)}" in caplog.messages
    assert [message for message in caplog.messages if path_secret in message] == []


def test_failed_delivery_logs_no_url_path(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path_secret = f"hook-{secrets.token_hex(16)}"
    caplog.set_level(logging.DEBUG)
    with webhook_receiver(statuses=(500, 500, 500), path=f"/services/T000/{path_secret}") as receiver:
        config = write_config(tmp_path, receiver.url)
        [delivery] = deliver(problem_alert(), config.alerts.targets, config=config, secrets=[], sleep=lambda _: None)

    assert (delivery.delivered, delivery.error) == (False, "HTTP 500")
    assert len(receiver.received) == 3
    assert [message for message in caplog.messages if path_secret in message] == []


def test_delivery_sends_json_and_user_agent(tmp_path: Path) -> None:
    with webhook_receiver() as receiver:
        config = write_config(tmp_path, receiver.url)
        deliver(problem_alert(), config.alerts.targets, config=config, secrets=[], sleep=lambda _: None)

    [request] = receiver.received
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.headers["Content-Type"] == "application/json"
    assert request.json["reach_dq"]["check"] == CHECK


def test_redirect_is_not_followed(tmp_path: Path) -> None:
    with webhook_receiver(statuses=(302,)) as receiver:
        config = write_config(tmp_path, receiver.url)
        [delivery] = deliver(problem_alert(), config.alerts.targets, config=config, secrets=[], sleep=lambda _: None)

    assert (delivery.delivered, delivery.error) == (False, "HTTP 302")
    assert len(receiver.received) == 1
