"""Deliver alerts: a Slack-compatible webhook (HTTP POST of JSON) or the log.

Every text and payload passes through ``redact`` first, which replaces each known secret value
(partner tokens, client secrets, webhook URLs) with ``[redacted]``. A webhook URL carries its
own secret in the path, so logs and delivery errors name only its scheme, host and port. For
the same reason a webhook is posted through ``httpx.HTTPTransport`` directly, not through an
``httpx.Client``: the client logs every request's full URL at INFO on the ``httpx`` logger
(httpx 0.29), which ``reach-dq -v`` prints.
A delivery that fails is logged and recorded, and the other targets and alerts go on.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from reach_dq.alerts.state import Alert
from reach_dq.config import AlertTarget, NightlyConfig, webhook_url
from reach_dq.exceptions import ConfigError

log = logging.getLogger(__name__)

REDACTED = "[redacted]"
WEBHOOK_ATTEMPTS = 3
WEBHOOK_BACKOFF_S = 1.0  # before the second attempt; doubles for the third
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "reach-dq-alerts"


@dataclasses.dataclass(frozen=True)
class Delivery:
    target: str
    delivered: bool
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def redact(value: Any, secrets: Sequence[str]) -> Any:
    """Return ``value`` with every secret replaced in each string it holds, at any depth."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {key: redact(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item, secrets) for item in value]
    return value


def deliver(
    alert: Alert,
    targets: dict[str, AlertTarget],
    *,
    config: NightlyConfig,
    secrets: Sequence[str],
    sleep: Callable[[float], None] = time.sleep,
) -> list[Delivery]:
    """Send one alert to each target; return one delivery result per target."""
    payload = redact(alert.payload(), secrets)
    results = []
    for name, target in targets.items():
        if target.kind == "log":
            results.append(_log(name, target, payload))
        else:
            results.append(_webhook(name, target, payload, config=config, secrets=secrets, sleep=sleep))
    return results


def _log(name: str, target: AlertTarget, payload: dict[str, Any]) -> Delivery:
    log.warning("alert: %s", payload["text"])
    if target.path is None:
        return Delivery(name, True)
    try:
        target.path.parent.mkdir(parents=True, exist_ok=True)
        with target.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(payload, sort_keys=True) + "\n")
    except OSError as exc:
        log.error("alert target %s: cannot append to %s: %s", name, target.path, exc.strerror)
        return Delivery(name, False, f"cannot append to {str(target.path)!r}: {exc.strerror}")
    return Delivery(name, True)


def _webhook(
    name: str,
    target: AlertTarget,
    payload: dict[str, Any],
    *,
    config: NightlyConfig,
    secrets: Sequence[str],
    sleep: Callable[[float], None],
) -> Delivery:
    try:
        url = webhook_url(target, name=name, config=config).get_secret_value()
    except ConfigError as exc:
        log.error("alert target %s: %s", name, exc)
        return Delivery(name, False, str(exc))

    where = public_origin(url)
    error = "not sent"
    with httpx.HTTPTransport() as transport:
        for attempt in range(1, WEBHOOK_ATTEMPTS + 1):
            error, transient = _post(transport, url, payload, secrets, timeout_s=target.timeout_s)
            if error is None:
                log.info("alert target %s: delivered to %s", name, where)
                return Delivery(name, True)
            log.warning("alert target %s: attempt %d of %d to %s failed: %s", name, attempt, WEBHOOK_ATTEMPTS, where, error)
            if not transient or attempt == WEBHOOK_ATTEMPTS:
                break
            sleep(WEBHOOK_BACKOFF_S * 2 ** (attempt - 1))
    log.error("alert target %s: could not deliver to %s: %s", name, where, error)
    return Delivery(name, False, error)


def _post(
    transport: httpx.HTTPTransport, url: str, payload: dict[str, Any], secrets: Sequence[str], *, timeout_s: float
) -> tuple[str | None, bool]:
    """POST once without following redirects; return (error or None, whether a retry may help)."""
    request = httpx.Request(
        "POST", url, json=payload, headers={"User-Agent": USER_AGENT},
        extensions={"timeout": httpx.Timeout(timeout_s).as_dict()},
    )
    try:
        response = transport.handle_request(request)
        try:
            response.read()
        finally:
            response.close()
    except httpx.TransportError as exc:
        return redact(f"{type(exc).__name__}: {exc}", [*secrets, url]), True
    if 200 <= response.status_code < 300:
        return None, False
    return f"HTTP {response.status_code}", response.status_code in TRANSIENT_STATUSES


def public_origin(url: str) -> str:
    """Return scheme, host and port of a URL; its path may hold a webhook secret."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return f"{parts.scheme}://{netloc}"
