"""Added network latency for the reference partner server, for benchmarks of the fetch.

``AddedLatency`` is a pure ASGI middleware that waits a fixed time before it passes each HTTP
request on. The wait is an ``asyncio.sleep``, so it holds no worker thread and requests in
flight wait side by side, as they would behind a slow network.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from reach_dq.exceptions import ConfigError

MAX_LATENCY_MS = 60_000.0


def check_latency_ms(latency_ms: float) -> float:
    """Return ``latency_ms`` if it is a finite number from 0 to MAX_LATENCY_MS, else raise."""
    if isinstance(latency_ms, bool) or not isinstance(latency_ms, (int, float)):
        raise ConfigError(f"latency_ms must be a number of milliseconds, got {latency_ms!r}")
    if not (math.isfinite(latency_ms) and 0 <= latency_ms <= MAX_LATENCY_MS):
        raise ConfigError(
            f"latency_ms must be 0..{MAX_LATENCY_MS:g} milliseconds, got {latency_ms!r}"
        )
    return float(latency_ms)


class AddedLatency:
    """Wait ``latency_ms`` milliseconds before handling each HTTP request."""

    def __init__(self, app: Any, *, latency_ms: float) -> None:
        self.app = app
        self.seconds = check_latency_ms(latency_ms) / 1000

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.seconds:
            await asyncio.sleep(self.seconds)
        await self.app(scope, receive, send)
