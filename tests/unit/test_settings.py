from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from reach_dq.exceptions import ConfigError
from reach_dq.settings import RunOptions, add_months, check_base_url, parse_as_of, read_token, redact_url


def options(**overrides: object) -> RunOptions:
    values: dict[str, object] = {
        "base_url": "http://127.0.0.1:8765",
        "token_env": "T",
        "as_of": dt.date(2026, 12, 4),
        "warehouse": Path("w.duckdb"),
        "docs_dir": Path("docs"),
    }
    values.update(overrides)
    return RunOptions(**values)


def test_month_range_ends_before_as_of() -> None:
    run = options(months=24)
    assert run.last_month == dt.date(2026, 11, 30)
    assert run.first_month == dt.date(2024, 12, 31)


def test_month_range_of_one_month() -> None:
    run = options(months=1, as_of=dt.date(2024, 3, 1))
    assert run.first_month == dt.date(2024, 2, 29)
    assert run.last_month == dt.date(2024, 2, 29)


@pytest.mark.parametrize(
    ("month_end", "months", "expected"),
    [
        (dt.date(2025, 1, 31), 1, dt.date(2025, 2, 28)),
        (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
        (dt.date(2025, 1, 31), -1, dt.date(2024, 12, 31)),
        (dt.date(2025, 12, 31), 12, dt.date(2026, 12, 31)),
    ],
    ids=["into-february", "leap-february", "back-over-new-year", "one-year"],
)
def test_add_months(month_end: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(month_end, months) == expected


def test_plain_http_to_remote_host_rejected() -> None:
    with pytest.raises(ConfigError) as error:
        check_base_url("http://api.partner.example", allow_insecure_http=False)
    assert str(error.value) == (
        "--base-url 'http://api.partner.example' uses plain http to a non-loopback host; use "
        "https, or pass --allow-insecure-http if you accept sending the token unencrypted"
    )


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765/", "http://localhost:1", "http://[::1]:8080"])
def test_plain_http_to_loopback_accepted(url: str) -> None:
    assert check_base_url(url, allow_insecure_http=False) == url.rstrip("/")


def test_plain_http_allowed_by_flag() -> None:
    assert check_base_url("http://api.partner.example", allow_insecure_http=True) == "http://api.partner.example"


def test_base_url_with_credentials_rejected_without_echoing_them() -> None:
    with pytest.raises(ConfigError) as error:
        check_base_url("https://user:s3cret@api.partner.example/v1", allow_insecure_http=False)
    assert "s3cret" not in str(error.value)
    assert "'https://api.partner.example/v1'" in str(error.value)


def test_base_url_must_be_http() -> None:
    with pytest.raises(ConfigError, match=r"got 'ftp://x'"):
        check_base_url("ftp://x", allow_insecure_http=False)


def test_redact_url_keeps_scheme_host_port_path() -> None:
    assert redact_url("https://u:p@h.example:8443/base?token=abc#frag") == "https://h.example:8443/base"


def test_read_token_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REACH_DQ_TEST_TOKEN", raising=False)
    with pytest.raises(ConfigError) as error:
        read_token("REACH_DQ_TEST_TOKEN")
    assert str(error.value) == (
        "environment variable 'REACH_DQ_TEST_TOKEN' (named by --token-env, or by token_env in a "
        "nightly config) is not set or empty; export the partner's access token in it"
    )


def test_read_token_hides_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REACH_DQ_TEST_TOKEN", "tok-123")
    token = read_token("REACH_DQ_TEST_TOKEN")
    assert token.get_secret_value() == "tok-123"
    assert "tok-123" not in repr(token)


def test_parse_as_of_rejects_other_formats() -> None:
    with pytest.raises(ConfigError) as error:
        parse_as_of("04/12/2026")
    assert str(error.value) == "--as-of must be a date written YYYY-MM-DD, got '04/12/2026'"


def test_parse_as_of_names_impossible_date() -> None:
    with pytest.raises(ConfigError) as error:
        parse_as_of("2026-02-30")
    assert str(error.value) == (
        "--as-of '2026-02-30' is not a calendar date: day is out of range for month"
    )
