"""Run settings: flags first, then REACH_DQ_* environment variables, then defaults.

This is the one module that reads the environment. The access token is read from the variable
the user names (``--token-env``) and kept as a ``SecretStr`` so it never prints.
"""

from __future__ import annotations

import calendar
import datetime as dt
import ipaddress
import os
import re
import urllib.parse
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from reach_dq.exceptions import ConfigError

LOOPBACK_NAMES = ("localhost",)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# Limits of the fetch, shared by the environment defaults and the run options.
Attempts = Annotated[int, Field(ge=1, le=10)]
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
ByteCount = Annotated[int, Field(ge=1)]
PageSize = Annotated[int, Field(ge=1, le=1000)]
PageCount = Annotated[int, Field(ge=1)]
# Freshness: days after a month end before it counts as closed, and nightly runs of a frozen feed.
CloseLagDays = Annotated[int, Field(ge=0, le=366)]
FrozenFeedRuns = Annotated[int, Field(ge=2, le=60)]


class Defaults(BaseSettings):
    """Defaults that an environment variable may override, e.g. ``REACH_DQ_WAREHOUSE``."""

    model_config = SettingsConfigDict(env_prefix="REACH_DQ_")

    warehouse: Path = Path("data/warehouse.duckdb")
    docs_dir: Path = Path("data/docs")
    months: Annotated[int, Field(ge=1, le=120)] = 24
    concurrency: int = 8
    timeout_s: float = 30.0
    max_attempts: Attempts = 3
    backoff_s: Seconds = 0.5
    max_retry_after_s: Seconds = 30.0
    max_body_bytes: ByteCount = 256 * 1024 * 1024
    page_size: PageSize = 1000
    max_pages: PageCount = 10_000
    close_lag_days: CloseLagDays = 0
    frozen_feed_runs: FrozenFeedRuns = 3


class RunOptions(BaseModel):
    """Everything one validate or golive run needs, except the secret itself.

    The token is named by ``token_env`` and read when the fetch starts, so options can be logged
    and passed to Prefect as flow parameters without carrying a secret.
    """

    model_config = ConfigDict(frozen=True)

    base_url: str
    token_env: str
    command: str = "validate"
    companies: tuple[str, ...] | None = None
    months: int = 24
    as_of: dt.date
    warehouse: Path
    docs_dir: Path
    json_path: Path | None = None
    spec_path: Path | None = None
    concurrency: int = 8
    timeout_s: float = 30.0
    allow_insecure_http: bool = False
    max_attempts: Attempts = 3  # per request, retries included
    backoff_s: Seconds = 0.5  # wait before the first retry; doubles for each further retry
    max_retry_after_s: Seconds = 30.0  # a longer Retry-After header is shortened to this
    max_body_bytes: ByteCount = 256 * 1024 * 1024  # a larger response body is not stored
    page_size: PageSize = 1000  # limit sent to list operations
    max_pages: PageCount = 10_000  # pages of one list before the fetch gives up on it
    partner: str | None = None  # the partner's name in a nightly config; stored on the snapshot
    expected_path: Path | None = None  # the partner's own figures to reconcile (--expected)
    close_lag_days: CloseLagDays = 0  # the last closed month is the one before as_of minus this
    accrual_accounts: tuple[str, ...] | None = None  # None: receivables and payables by name
    frozen_feed_runs: FrozenFeedRuns = 3  # nightly snapshots with unchanged open months
    # golive only: more customers' tokens (repeated --token-env) and an OAuth client whose
    # secret is read from the environment variable client_secret_env.
    extra_token_envs: tuple[str, ...] = ()
    client_id: str | None = None
    client_secret_env: str | None = None

    @property
    def last_month(self) -> dt.date:
        """Last day of the month before ``as_of``: the last closed month."""
        return self.as_of.replace(day=1) - dt.timedelta(days=1)

    @property
    def first_month(self) -> dt.date:
        return add_months(self.last_month, -(self.months - 1))


def add_months(month_end: dt.date, months: int) -> dt.date:
    """Return the last day of the month ``months`` away from the month of ``month_end``."""
    index = month_end.year * 12 + month_end.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def read_token(variable: str) -> SecretStr:
    """Read the access token from the environment variable the user named."""
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(
            f"environment variable {variable!r} (named by --token-env, or by token_env in a "
            "nightly config) is not set or empty; export the partner's access token in it"
        )
    return SecretStr(value)


def read_client_secret(variable: str) -> SecretStr:
    """Read an OAuth client secret from the environment variable the user named."""
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(
            f"environment variable {variable!r} (named by --client-secret-env, or by "
            "client_secret_env in a nightly config) is not set or empty; export the OAuth client "
            "secret in it"
        )
    return SecretStr(value)


def check_base_url(base_url: str, *, allow_insecure_http: bool) -> str:
    """Return the base URL without a trailing slash, or raise ConfigError saying what is wrong.

    Plain ``http`` is accepted only for a loopback host unless ``allow_insecure_http`` is set,
    because the token travels in every request.
    """
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"--base-url must be an http(s) URL with a host, such as https://HOST/PATH, got {base_url!r}"
        )
    extras = [
        name
        for name, present in (
            ("credentials", parts.username or parts.password),
            ("a query", parts.query),
            ("a fragment", parts.fragment),
        )
        if present
    ]
    if extras:
        raise ConfigError(
            f"--base-url carries {' and '.join(extras)}; pass only scheme, host, port and path, "
            f"such as {redact_url(base_url)!r}, and the token through --token-env"
        )
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(parts.hostname):
        raise ConfigError(
            f"--base-url {base_url!r} uses plain http to a non-loopback host; use https, "
            "or pass --allow-insecure-http if you accept sending the token unencrypted"
        )
    return base_url.rstrip("/")


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redact_url(url: str) -> str:
    """Return ``url`` with user info, query and fragment removed."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def parse_as_of(text: str | None) -> dt.date:
    if text is None:
        return dt.datetime.now(dt.UTC).date()
    if not _ISO_DATE.fullmatch(text):
        raise ConfigError(f"--as-of must be a date written YYYY-MM-DD, got {text!r}")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"--as-of {text!r} is not a calendar date: {exc}") from None
