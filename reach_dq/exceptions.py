"""Errors raised by reach-dq, one family per pipeline stage.

    ReachDQError
    ├── ConfigError            invalid settings, flags or files; the message names the field and its source
    ├── ContractError          the OpenAPI document cannot be loaded or lacks an operation
    ├── FetchError             an HTTP exchange with the partner failed
    │   ├── TransientFetchError    timeouts, connection errors, 429 and 5xx: a retry may help
    │   └── TerminalFetchError     anything else (401, 404, invalid body): a retry cannot help
    ├── StoreError             the DuckDB warehouse cannot be opened, read or written
    ├── CheckRunError          a check could not run; the runner records it as not_evaluated
    └── PublishError           findings, data docs or the JSON summary could not be written

Third-party errors are translated at one boundary per stage (httpx in the fetch client, duckdb
in the warehouse) and chained with ``raise ... from exc``. No message carries a token or secret.
"""

from __future__ import annotations


class ReachDQError(Exception):
    """Root of every error that reach-dq raises on purpose."""


class ConfigError(ReachDQError):
    """Invalid configuration: a flag, an environment variable or a config file value."""


class ContractError(ReachDQError):
    """The OpenAPI document cannot be loaded or does not describe an operation the tool needs."""


class FetchError(ReachDQError):
    """An HTTP exchange with the partner API failed."""

    transient: bool = False


class TransientFetchError(FetchError):
    """A failure that may heal on retry: timeout, connection error, 429 or 5xx."""

    transient = True


class TerminalFetchError(FetchError):
    """A failure that a retry cannot heal: 4xx other than 429, or an unusable body."""


class StoreError(ReachDQError):
    """The DuckDB warehouse cannot be opened, read or written."""


class CheckRunError(ReachDQError):
    """A check could not run, so its outcome is not_evaluated."""


class PublishError(ReachDQError):
    """Findings, data docs or the JSON summary could not be written."""
