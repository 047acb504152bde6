"""Configure and run the reference partner server, in the foreground or in a background thread."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import secrets
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import fastapi
import httpx
import uvicorn

from reach_dq.exceptions import ConfigError
from reach_dq.partner.app import create_app
from reach_dq.partner.auth import ACCESS_TOKEN_SECONDS, TokenStore
from reach_dq.partner.books import Books
from reach_dq.partner.faults import resolve_faults
from reach_dq.partner.generate import generate_companies
from reach_dq.partner.latency import AddedLatency, check_latency_ms
from reach_dq.partner.ledger import load_ledger
from reach_dq.partner.state import PartnerState
from reach_dq.partner.statements import Statements

log = logging.getLogger(__name__)

MAX_COMPANIES = 999  # CompanyId values are C001 to C999
STARTUP_TIMEOUT_SECONDS = 10.0
SHUTDOWN_TIMEOUT_SECONDS = 10.0


@dataclasses.dataclass(frozen=True)
class PartnerConfig:
    """Settings of the partner server.

    With ``ledger`` set, the server serves that one export and ignores ``companies`` and
    ``seed``. Its books then run from the first journal to the month before ``as_of`` (or the
    last journal, if later), carrying balances forward through months with no activity.
    """

    companies: int = 3
    seed: int = 7
    ledger: Path | None = None  # a general-ledger export folder (Xero tables from Fivetran)
    token: str | None = None  # accepted access token; None -> a random one is generated
    faults: tuple[str, ...] = ()  # names from reach_dq.partner.faults.FAULTS
    as_of: dt.date | None = None  # books end with the month before; None -> today (UTC)
    client_id: str = "reach-dq-demo"
    client_secret: str = "reach-dq-demo-secret"
    # Tokens of further customers, each reading only the CompanyIds listed for it. The token
    # above and every OAuth-issued token read the companies that no customer token lists.
    customer_tokens: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    access_token_seconds: int = ACCESS_TOKEN_SECONDS  # lifetime of OAuth-issued access tokens
    latency_ms: float = 0.0  # waited before each HTTP request, as a slow network would add


@dataclasses.dataclass(frozen=True)
class RunningServer:
    base_url: str  # e.g. "http://127.0.0.1:40123"
    token: str
    company_ids: tuple[str, ...]  # the companies the token reads


def build_app(config: PartnerConfig) -> fastapi.FastAPI:
    """Build the app; raise ConfigError naming the first invalid setting."""
    latency_ms = check_latency_ms(config.latency_ms)
    app = create_app(_build_state(config))
    if latency_ms:
        # Starlette's middleware type does not cover a plain ASGI class such as AddedLatency.
        app.add_middleware(AddedLatency, latency_ms=latency_ms)  # type: ignore[arg-type]
    return app


def _build_state(config: PartnerConfig) -> PartnerState:
    faults = resolve_faults(config.faults)
    for name in ("client_id", "client_secret"):
        if not getattr(config, name):
            raise ConfigError(f"{name} must be a non-empty string")
    if config.token is not None and not config.token.strip():
        raise ConfigError("token must be a non-empty string, or None for a random one")
    token = config.token if config.token is not None else secrets.token_urlsafe(32)
    books = _load_books(config)
    companies = {
        book.company.company_id: Statements(book)
        for book in sorted(books, key=lambda book: book.company.company_id)
    }
    customers = _customer_tokens(config, token, tuple(companies))
    held = {company for scope in customers.values() for company in scope}
    main_companies = tuple(company for company in companies if company not in held)
    if not main_companies:
        raise ConfigError("customer_tokens take every company; the main token would read none")
    if config.access_token_seconds < 1:
        raise ConfigError(
            f"access_token_seconds must be at least 1, got {config.access_token_seconds!r}"
        )
    tokens = TokenStore(
        access_token=token,
        client_id=config.client_id,
        client_secret=config.client_secret,
        customer_tokens=customers,
        access_token_seconds=config.access_token_seconds,
    )
    return PartnerState(
        companies=companies, tokens=tokens, faults=faults, main_company_ids=main_companies
    )


def parse_customer_tokens(values: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Parse ``--customer-token`` values written TOKEN=C002,C003 into customer tokens."""
    customers: dict[str, tuple[str, ...]] = {}
    for value in values:
        token, separator, companies = value.partition("=")
        scope = tuple(company.strip() for company in companies.split(",") if company.strip())
        if not separator or not token or not scope:
            raise ConfigError(
                "--customer-token must be written TOKEN=COMPANY[,COMPANY...], got a value "
                f"of {len(value)} characters (not shown, it holds a token)"
            )
        customers[token] = scope
    return customers


def _customer_tokens(
    config: PartnerConfig, main_token: str, company_ids: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    """Check the customer tokens: non-empty, distinct, over known companies held only once."""
    customers: dict[str, tuple[str, ...]] = {}
    held: set[str] = set()
    for customer_token, scope in config.customer_tokens.items():
        if not customer_token.strip() or customer_token == main_token:
            raise ConfigError("a customer token must be non-empty and differ from the main token")
        unknown = [company for company in scope if company not in company_ids]
        if not scope or unknown:
            raise ConfigError(
                f"a customer token must list served CompanyIds, got {tuple(scope)!r}; "
                f"expected some of {', '.join(company_ids)}"
            )
        shared = held.intersection(scope)
        if shared:
            raise ConfigError(f"companies {sorted(shared)!r} are listed for two customer tokens")
        held.update(scope)
        customers[customer_token] = tuple(scope)
    return customers


def _load_books(config: PartnerConfig) -> tuple[Books, ...]:
    as_of = config.as_of or dt.datetime.now(dt.UTC).date()
    if config.ledger is not None:
        return (load_ledger(Path(config.ledger), as_of=as_of),)
    if not 1 <= config.companies <= MAX_COMPANIES:
        raise ConfigError(f"companies must be 1..{MAX_COMPANIES}, got {config.companies!r}")
    return generate_companies(config.companies, seed=config.seed, as_of=as_of)


def _describe(app: fastapi.FastAPI, base_url: str) -> RunningServer:
    state: PartnerState = app.state.partner
    token = state.tokens.configured_token
    return RunningServer(base_url, token, state.readable_companies(token))


def _base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def run(config: PartnerConfig, *, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve until interrupted, after printing the base URL, the token, companies and faults.

    Printing the token is intended: this is the partner's own demo server and its demo token.
    """
    app = build_app(config)
    sock = _bind(host, port)  # before the banner, so a taken port gets a clear error
    try:
        server = _describe(app, _base_url(host, sock.getsockname()[1]))
        faults = ", ".join(config.faults) or "none"
        print(
            f"Reach partner server at {server.base_url} token={server.token} "
            f"companies={','.join(server.company_ids)} faults={faults}",
            flush=True,
        )
        uvicorn.Server(uvicorn.Config(app, log_level="info")).run(sockets=[sock])
    finally:
        sock.close()


def _bind(host: str, port: int) -> socket.socket:
    """Return a TCP socket bound to ``host`` and ``port``; raise ConfigError when that fails."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # asyncio (3.11) sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP. With proto 0,
    # each keep-alive response waited about 40 ms here for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host!r} port {port}: {exc.strerror or exc}; stop the process "
            "that uses the port or pass another --port (0 picks a free one)"
        ) from exc
    return sock


@contextlib.contextmanager
def serve_in_background(
    config: PartnerConfig, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[RunningServer]:
    """Serve in a daemon thread on a socket bound beforehand (port 0 picks a free port).

    Yields once the server responds to HTTP, then stops the server and joins the thread on exit.
    """
    app = build_app(config)
    sock = _bind(host, port)
    try:
        base_url = _base_url(host, sock.getsockname()[1])
        server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        )
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="reach-partner", daemon=True
        )
        thread.start()
        try:
            _wait_until_responding(base_url, thread)
            log.info("partner server started at %s", base_url)
            yield _describe(app, base_url)
        finally:
            server.should_exit = True
            thread.join(SHUTDOWN_TIMEOUT_SECONDS)
            log.info("partner server at %s stopped", base_url)
    finally:
        sock.close()


def _wait_until_responding(base_url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    with httpx.Client(base_url=base_url, timeout=1.0) as client:
        while time.monotonic() < deadline:
            if not thread.is_alive():
                raise RuntimeError(f"the partner server at {base_url} exited during startup")
            try:
                client.get("/auth/oauth-discovery")
                return
            except httpx.TransportError:
                time.sleep(0.02)
    raise TimeoutError(
        f"the partner server at {base_url} did not respond within {STARTUP_TIMEOUT_SECONDS} s"
    )
