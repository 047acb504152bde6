"""The nightly TOML config: valid files load, and every error names the file and the field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from reach_dq.config import known_secrets, load_config, webhook_url
from reach_dq.exceptions import ConfigError

REPOSITORY = Path(__file__).resolve().parents[3]

PARTNER = """
[[partners]]
name = "acme"
base_url = "http://127.0.0.1:8765"
token_env = "ACME_TOKEN"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reach-dq.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value)


def test_example_config_loads_two_loopback_partners() -> None:
    config = load_config(REPOSITORY / "reach-dq.example.toml")

    assert [partner.name for partner in config.partners] == ["northwind", "contoso"]
    assert [partner.base_url for partner in config.partners] == ["http://127.0.0.1:8765", "http://127.0.0.1:8766"]
    assert config.nightly.warehouse == REPOSITORY / "data" / "nightly" / "warehouse.duckdb"
    assert config.alerts.targets["ops-webhook"].url_env == "REACH_DQ_WEBHOOK_URL"
    assert config.partners[1].companies == ("C001", "C002")


def test_defaults_apply_to_minimal_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, PARTNER))

    assert config.nightly.timezone == "UTC"
    assert config.nightly.stale_after_hours == 26.0
    assert config.retention.raw_body_days == 30
    assert config.drift.min_history == 5
    assert config.partners[0].months == 24
    assert config.partners[0].close_lag_days == 0
    assert config.nightly.docs_dir == tmp_path / "data" / "nightly" / "docs"


def test_relative_paths_resolve_against_file_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    config = load_config(write(tmp_path, '[nightly]\nwarehouse = "w/x.duckdb"\n[alerts.targets.log]\nkind = "log"\npath = "a.jsonl"\n' + PARTNER))

    assert config.nightly.warehouse == tmp_path / "w" / "x.duckdb"
    assert config.alerts.targets["log"].path == tmp_path / "a.jsonl"


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.toml")

    assert str(caught.value) == f"config file {str(tmp_path / 'absent.toml')!r} does not exist or is not a file"


def test_invalid_toml_names_file_and_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[nightly]\nwarehouse = \n")

    assert message.startswith(f"{tmp_path / 'reach-dq.toml'}: invalid TOML: ")
    assert "line 2" in message


def test_field_errors_name_partner_index_and_field(tmp_path: Path) -> None:
    text = PARTNER + '[[partners]]\nname = "Bad Name"\nbase_url = "http://127.0.0.1:1"\ntoken_env = "1X"\nmonths = 0\n'
    message = error_of(tmp_path, text)

    assert message.startswith(f"{tmp_path / 'reach-dq.toml'}: partners[1].name: must be 1 to 63 lower-case letters")
    assert "partners[1].token_env: must be an environment variable name such as REACH_TOKEN, got '1X'" in message
    assert "partners[1].months: Input should be greater than or equal to 1 (got 0)" in message


def test_plain_http_to_remote_host_rejected(tmp_path: Path) -> None:
    message = error_of(tmp_path, PARTNER.replace("http://127.0.0.1:8765", "http://partner.example"))

    assert "partners[0]: base_url 'http://partner.example' uses plain http to a non-loopback host" in message


def test_credentials_in_base_url_rejected_without_echo(tmp_path: Path) -> None:
    message = error_of(tmp_path, PARTNER.replace("http://127.0.0.1:8765", "https://user:hunter2@partner.example"))

    assert "base_url must not carry credentials, a query or a fragment" in message
    assert "hunter2" not in message


def test_partner_needs_a_token_source(tmp_path: Path) -> None:
    message = error_of(tmp_path, PARTNER.replace('token_env = "ACME_TOKEN"', ""))

    assert message.endswith(
        "partners[0]: set token_env, or both client_id_env and client_secret_env, so the run can obtain an access token"
    )


def test_unknown_key_rejected(tmp_path: Path) -> None:
    message = error_of(tmp_path, PARTNER + 'colour = "blue"\n')

    assert message == f"{tmp_path / 'reach-dq.toml'}: partners[0].colour: Extra inputs are not permitted (got 'blue')"


def test_duplicate_partner_names_rejected(tmp_path: Path) -> None:
    message = error_of(tmp_path, PARTNER + PARTNER)

    assert message == f"{tmp_path / 'reach-dq.toml'}: partner names must be unique, got 'acme' twice"


def test_unknown_alert_target_rejected(tmp_path: Path) -> None:
    message = error_of(tmp_path, PARTNER + 'alerts = ["pager"]\n')

    assert message.endswith("partner 'acme' names unknown alert targets ['pager']; expected names under [alerts.targets] (none defined)")


def test_webhook_needs_exactly_one_url_source(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[alerts.targets.ops]\nkind = "webhook"\n' + PARTNER)

    assert message.endswith("alerts.targets.ops: a webhook target needs exactly one of url and url_env")


def test_invalid_timezone_rejected(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[nightly]\ntimezone = "Mars/Base"\n' + PARTNER)

    assert message.endswith("nightly.timezone: must be an IANA time zone such as UTC or Europe/Berlin, got 'Mars/Base'")


def test_empty_partner_list_rejected(tmp_path: Path) -> None:
    message = error_of(tmp_path, "partners = []\n")

    assert message == f"{tmp_path / 'reach-dq.toml'}: partners: list at least one [[partners]] table"


def test_run_date_uses_configured_timezone(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[nightly]\ntimezone = "Pacific/Auckland"\n' + PARTNER))

    late_utc = dt.datetime(2026, 7, 14, 20, 0, tzinfo=dt.UTC)  # 08:00 on 15 July in Auckland
    assert config.run_date(late_utc) == dt.date(2026, 7, 15)


def test_webhook_url_read_from_named_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(write(tmp_path, '[alerts.targets.ops]\nkind = "webhook"\nurl_env = "HOOK_URL"\n' + PARTNER))
    target = config.alerts.targets["ops"]

    monkeypatch.delenv("HOOK_URL", raising=False)
    with pytest.raises(ConfigError) as caught:
        webhook_url(target, name="ops", config=config)
    assert str(caught.value) == f"{config.path}: alerts.targets.ops.url_env: environment variable 'HOOK_URL' is not set or empty"

    monkeypatch.setenv("HOOK_URL", "https://hooks.example/T1/B2/xyz")
    assert webhook_url(target, name="ops", config=config).get_secret_value() == "https://hooks.example/T1/B2/xyz"


def test_known_secrets_collects_set_tokens_and_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(write(tmp_path, '[alerts.targets.ops]\nkind = "webhook"\nurl_env = "HOOK_URL"\n' + PARTNER))
    monkeypatch.setenv("ACME_TOKEN", "token-123456")
    monkeypatch.setenv("HOOK_URL", "https://hooks.example/T1/B2/xyz")

    assert known_secrets(config) == ("https://hooks.example/T1/B2/xyz", "token-123456")
