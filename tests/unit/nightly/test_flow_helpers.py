"""Pieces of the nightly flow that need no Prefect run: options per partner and the retry rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from prefect.states import Failed

from flows.nightly import is_transient, partner_options
from reach_dq.config import load_config
from reach_dq.exceptions import ConfigError, StoreError, TerminalFetchError, TransientFetchError


def config_with_lag(tmp_path: Path, lag: int):
    path = tmp_path / "reach-dq.toml"
    path.write_text(
        f'[[partners]]\nname = "acme"\nbase_url = "http://127.0.0.1:1"\ntoken_env = "T"\n'
        f'months = 3\nclose_lag_days = {lag}\ncompanies = ["C001"]\n',
        encoding="utf-8",
    )
    return load_config(path)


def test_options_carry_run_date_and_close_lag(tmp_path: Path) -> None:
    config = config_with_lag(tmp_path, 5)
    options = partner_options(config, config.partners[0], dt.date(2026, 7, 3))

    assert options.as_of == dt.date(2026, 7, 3)
    assert options.close_lag_days == 5
    assert options.last_month == dt.date(2026, 6, 30)
    assert options.first_month == dt.date(2026, 4, 30)
    assert (options.partner, options.command, options.companies) == ("acme", "nightly", ("C001",))
    assert options.docs_dir == tmp_path / "data" / "nightly" / "docs" / "partners" / "acme"


def test_client_credentials_reach_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "reach-dq.toml"
    path.write_text(
        '[[partners]]\nname = "acme"\nbase_url = "http://127.0.0.1:1"\n'
        'client_id_env = "ACME_CLIENT_ID"\nclient_secret_env = "ACME_CLIENT_SECRET"\n',
        encoding="utf-8",
    )
    config = load_config(path)
    monkeypatch.setenv("ACME_CLIENT_ID", "reach-dq-demo")
    options = partner_options(config, config.partners[0], dt.date(2026, 7, 3))

    assert (options.token_env, options.client_id, options.client_secret_env) == ("", "reach-dq-demo", "ACME_CLIENT_SECRET")


def test_missing_client_id_variable_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "reach-dq.toml"
    path.write_text(
        '[[partners]]\nname = "acme"\nbase_url = "http://127.0.0.1:1"\n'
        'client_id_env = "ACME_CLIENT_ID"\nclient_secret_env = "ACME_CLIENT_SECRET"\n',
        encoding="utf-8",
    )
    config = load_config(path)
    monkeypatch.delenv("ACME_CLIENT_ID", raising=False)

    with pytest.raises(ConfigError) as caught:
        partner_options(config, config.partners[0], dt.date(2026, 7, 3))
    assert str(caught.value) == f"{path}: partners['acme'].client_id_env: environment variable 'ACME_CLIENT_ID' is not set or empty"


def test_transient_fetch_failure_is_retried() -> None:
    assert is_transient(None, None, Failed(data=TransientFetchError("GET /x timed out after 30 s")))


def test_terminal_failure_with_transient_cause_is_retried() -> None:
    try:
        try:
            raise TransientFetchError("connection refused")
        except TransientFetchError as cause:
            raise TerminalFetchError("cannot discover the companies because user info failed") from cause
    except TerminalFetchError as error:
        assert is_transient(None, None, Failed(data=error))


def test_rejected_token_is_not_retried() -> None:
    assert not is_transient(None, None, Failed(data=TerminalFetchError("the partner rejected the access token (401)")))


def test_store_error_is_not_retried() -> None:
    assert not is_transient(None, None, Failed(data=StoreError("cannot open warehouse")))
