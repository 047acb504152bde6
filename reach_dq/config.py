"""The nightly configuration file (TOML): partners, alert targets, drift thresholds, retention.

The file is read through pydantic-settings' TOML source and validated by the models below. Every
error becomes a ``ConfigError`` that names the file and the field, e.g.
``reach-dq.toml: partners[1].base_url: ...``. Secrets never sit in the file: a partner names the
environment variable that contains its token, and a webhook target may name the variable that
contains its URL. Relative paths in the file are resolved against the file's folder, so a
scheduled run finds the same warehouse whatever its working directory.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
import urllib.parse
import zoneinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings import TomlConfigSettingsSource

from reach_dq.exceptions import ConfigError
from reach_dq.settings import is_loopback

PARTNER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # also a folder name and an alert key
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_ERRORS_SHOWN = 5


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _env_name(value: str | None) -> str | None:
    if value is not None and not ENV_NAME.fullmatch(value):
        raise ValueError(f"must be an environment variable name such as REACH_TOKEN, got {value!r}")
    return value


class PartnerConfig(_Section):
    """One partner API that the nightly job validates."""

    name: str
    base_url: str
    token_env: str | None = None
    client_id_env: str | None = None
    client_secret_env: str | None = None
    companies: tuple[str, ...] | None = None  # None: every company that user-info lists
    months: int = Field(default=24, ge=1, le=120)
    close_lag_days: int = Field(default=0, ge=0, le=60)  # days after a month end before it counts as closed
    alerts: tuple[str, ...] | None = None  # names of alert targets; None: every target
    allow_insecure_http: bool = False
    concurrency: int = Field(default=8, ge=1, le=64)
    timeout_s: float = Field(default=30.0, gt=0, le=600)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not PARTNER_NAME.fullmatch(value):
            raise ValueError(
                "must be 1 to 63 lower-case letters, digits, '-' or '_', starting with a letter "
                f"or digit, got {value!r}"
            )
        return value

    @field_validator("token_env", "client_id_env", "client_secret_env")
    @classmethod
    def _check_env_name(cls, value: str | None) -> str | None:
        return _env_name(value)

    @field_validator("companies")
    @classmethod
    def _check_companies(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and (not value or not all(value)):
            raise ValueError(f"must list at least one non-empty company id, got {list(value)!r}")
        return value

    @model_validator(mode="after")
    def _check_url_and_credentials(self) -> PartnerConfig:
        _check_partner_url(self.base_url, allow_insecure_http=self.allow_insecure_http)
        client = (self.client_id_env, self.client_secret_env)
        if self.token_env is None and None in client:
            raise ValueError(
                "set token_env, or both client_id_env and client_secret_env, so the run can "
                "obtain an access token"
            )
        if self.token_env is not None and client != (None, None):
            raise ValueError("set either token_env or client_id_env/client_secret_env, not both")
        return self


class NightlySection(_Section):
    """Result locations of the nightly job, its run date and its retry and overdue limits."""

    warehouse: Path = Path("data/nightly/warehouse.duckdb")
    docs_dir: Path = Path("data/nightly/docs")
    timezone: str = "UTC"  # the run date of a nightly run is today in this zone
    stale_after_hours: float = Field(default=26.0, gt=0, le=24 * 31)
    fetch_retries: int = Field(default=2, ge=0, le=10)  # Prefect retries of a transient fetch failure
    retry_delay_s: float = Field(default=30.0, ge=0, le=3600)  # first retry; doubles for each further one

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"must be an IANA time zone such as UTC or Europe/Berlin, got {value!r}") from None
        return value


class RetentionSection(_Section):
    """How long raw response bodies stay; 0 keeps them forever."""

    raw_body_days: int = Field(default=30, ge=0, le=36500)


class DriftSection(_Section):
    """Thresholds of the drift checks (see ``checks/drift.py``)."""

    min_history: int = Field(default=5, ge=1, le=100)  # earlier complete runs before volume is judged
    history_runs: int = Field(default=30, ge=1, le=365)  # newest earlier runs that form the range
    volume_margin: float = Field(default=0.25, ge=0, le=10)  # range widened by this share of its size
    month_start_days: int = Field(default=7, ge=0, le=27)  # days 1..N of a month form their own phase
    latency_factor: float = Field(default=2.0, gt=1, le=100)
    latency_min_increase_ms: float = Field(default=500.0, ge=0)
    latency_history: int = Field(default=7, ge=1, le=100)
    latency_min_history: int = Field(default=3, ge=1, le=100)


class AlertTarget(_Section):
    """A place alerts go: a Slack-compatible webhook, or the log (and optionally a JSON-lines file)."""

    kind: Literal["webhook", "log"]
    url: str | None = None  # webhook only; prefer url_env because webhook URLs embed a secret
    url_env: str | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    path: Path | None = None  # log only: also append one JSON object per alert to this file

    @field_validator("url_env")
    @classmethod
    def _check_env_name(cls, value: str | None) -> str | None:
        return _env_name(value)

    @model_validator(mode="after")
    def _check_kind_fields(self) -> AlertTarget:
        if self.kind == "webhook":
            if (self.url is None) == (self.url_env is None):
                raise ValueError("a webhook target needs exactly one of url and url_env")
            if self.url is not None:
                _check_webhook_url(self.url)
            if self.path is not None:
                raise ValueError("path applies to log targets only")
        elif self.url is not None or self.url_env is not None:
            raise ValueError("url and url_env apply to webhook targets only")
        return self


class AlertsSection(_Section):
    targets: dict[str, AlertTarget] = {}


class NightlyConfig(BaseSettings):
    """The whole configuration file. ``path`` is the file it came from."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    path: Path = Path("reach-dq.toml")
    nightly: NightlySection = NightlySection()
    retention: RetentionSection = RetentionSection()
    drift: DriftSection = DriftSection()
    alerts: AlertsSection = AlertsSection()
    partners: tuple[PartnerConfig, ...]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only the file decides: an environment variable never changes a partner silently.
        return (init_settings,)

    @field_validator("partners")
    @classmethod
    def _check_partners(cls, value: tuple[PartnerConfig, ...]) -> tuple[PartnerConfig, ...]:
        if not value:
            raise ValueError("list at least one [[partners]] table")
        return value

    @model_validator(mode="after")
    def _check_references(self) -> NightlyConfig:
        names = [partner.name for partner in self.partners]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"partner names must be unique, got {', '.join(map(repr, duplicates))} twice")
        for partner in self.partners:
            unknown = [name for name in partner.alerts or () if name not in self.alerts.targets]
            if unknown:
                known = ", ".join(sorted(self.alerts.targets)) or "none defined"
                raise ValueError(
                    f"partner {partner.name!r} names unknown alert targets {unknown!r}; "
                    f"expected names under [alerts.targets] ({known})"
                )
        return self

    @property
    def folder(self) -> Path:
        return self.path.parent

    def partner(self, name: str) -> PartnerConfig:
        for partner in self.partners:
            if partner.name == name:
                return partner
        raise ConfigError(
            f"{self.path}: no partner named {name!r}; expected one of "
            f"{', '.join(p.name for p in self.partners)}"
        )

    def targets_of(self, partner: PartnerConfig) -> dict[str, AlertTarget]:
        """Return the alert targets of a partner by name: those it lists, or every target."""
        names = partner.alerts if partner.alerts is not None else tuple(self.alerts.targets)
        return {name: self.alerts.targets[name] for name in names}

    def run_date(self, now: dt.datetime | None = None) -> dt.date:
        """Return today's date in the configured time zone."""
        moment = now or dt.datetime.now(dt.UTC)
        return moment.astimezone(zoneinfo.ZoneInfo(self.nightly.timezone)).date()


def load_config(path: Path | str) -> NightlyConfig:
    """Read and validate the TOML file at ``path``; relative paths in it become absolute."""
    file = Path(path).resolve()
    if not file.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist or is not a file")
    try:
        data = TomlConfigSettingsSource(NightlyConfig, toml_file=file)()
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {str(file)!r}: {exc}") from exc
    if "path" in data:
        raise ConfigError(f"{file}: path: unknown key; the file's own location is used")

    try:
        config = NightlyConfig(**data, path=file)
    except ValidationError as exc:
        raise ConfigError(f"{file}: {describe_errors(exc)}") from None
    return _resolve_paths(config)


def describe_errors(exc: ValidationError) -> str:
    """Return the first validation errors as ``field: message (got value)``, joined by '; '."""
    described = [_describe(error) for error in exc.errors()[:MAX_ERRORS_SHOWN]]
    more = exc.error_count() - len(described)
    if more > 0:
        described.append(f"and {more} more")
    return "; ".join(described)


def _describe(error: Any) -> str:
    field = _field_path(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    prefix = f"{field}: " if field else ""
    # Only scalar inputs are echoed: a whole table could hold a URL with credentials.
    value = error.get("input")
    if error["type"] in ("missing", "value_error") or not isinstance(value, str | int | float | bool):
        return f"{prefix}{message}"
    return f"{prefix}{message} (got {value!r})"


def _field_path(location: tuple[Any, ...]) -> str:
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text:
            text += f".{part}"
        else:
            text = str(part)
    return text


def _resolve_paths(config: NightlyConfig) -> NightlyConfig:
    def absolute(path: Path) -> Path:
        return path if path.is_absolute() else (config.folder / path).resolve()

    nightly = config.nightly.model_copy(
        update={"warehouse": absolute(config.nightly.warehouse), "docs_dir": absolute(config.nightly.docs_dir)}
    )
    targets = {
        name: target.model_copy(update={"path": absolute(target.path)}) if target.path else target
        for name, target in config.alerts.targets.items()
    }
    return config.model_copy(update={"nightly": nightly, "alerts": AlertsSection(targets=targets)})


def _check_partner_url(base_url: str, *, allow_insecure_http: bool) -> None:
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must be an http(s) URL with a host, such as https://HOST/PATH, got {base_url!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("base_url must not carry credentials, a query or a fragment; name a token_env instead")
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(parts.hostname):
        raise ValueError(
            f"base_url {base_url!r} uses plain http to a non-loopback host; use https, or set "
            "allow_insecure_http = true if you accept sending the token unencrypted"
        )


def _check_webhook_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("url must be an http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError("url must use https unless it points at a loopback address")


def read_secret(variable: str, *, field: str, config: NightlyConfig) -> SecretStr:
    """Read a secret from the environment variable that the config names in ``field``."""
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(
            f"{config.path}: {field}: environment variable {variable!r} is not set or empty"
        )
    return SecretStr(value)


def webhook_url(target: AlertTarget, *, name: str, config: NightlyConfig) -> SecretStr:
    """Return the webhook URL of a target, read from its ``url_env`` variable when it names one."""
    if target.url_env is None:
        assert target.url is not None  # a webhook target has exactly one of url and url_env
        return SecretStr(target.url)
    secret = read_secret(target.url_env, field=f"alerts.targets.{name}.url_env", config=config)
    try:
        _check_webhook_url(secret.get_secret_value())
    except ValueError as exc:
        raise ConfigError(f"{config.path}: alerts.targets.{name}.url_env: {exc}") from None
    return secret


def known_secrets(config: NightlyConfig) -> tuple[str, ...]:
    """Return every secret value the config names that is set: tokens and webhook URLs.

    Alerts replace these values wherever they occur, so a secret that a partner echoed into a
    message never leaves the machine.
    """
    variables = [partner.token_env for partner in config.partners]
    variables += [p.client_secret_env for p in config.partners]
    variables += [target.url_env for target in config.alerts.targets.values()]
    values = [os.environ.get(name) for name in variables if name]
    values += [target.url for target in config.alerts.targets.values() if target.url]
    return tuple(sorted({value for value in values if value}, key=len, reverse=True))


__all__ = [
    "AlertTarget",
    "DriftSection",
    "NightlyConfig",
    "PartnerConfig",
    "load_config",
    "read_secret",
    "webhook_url",
]
