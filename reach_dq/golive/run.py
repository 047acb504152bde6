"""The probe stage of ``reach-dq golive``: every go-live probe against one fetched snapshot.

The stage reads the companies and the exchanges that the fetch stored. It sends its probe
requests through a ``ReachClient`` of its own, at most ``PROBE_CONCURRENCY`` at once, and
records each in ``http_exchanges`` with the probe's name in the ``probe`` column. It returns findings and
never raises for what a partner answers; it raises only when it cannot run at all, for example
when the OAuth client gets no token.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging

from reach_dq.contract.spec import load_spec
from reach_dq.fetch.client import ReachClient, open_http_client
from reach_dq.fetch.tokens import ClientCredentials, OAuthTokens, client_credentials, token_provider
from reach_dq.findings import Finding
from reach_dq.golive.auth import probe_access
from reach_dq.golive.http_behaviour import check_content_types, probe_http_behaviour
from reach_dq.golive.isolation import probe_isolation
from reach_dq.golive.latency import check_latency_and_retries
from reach_dq.golive.oauth import probe_oauth, renewal_finding
from reach_dq.golive.pagination import probe_pagination
from reach_dq.golive.probing import LabelledToken, ProbeContext
from reach_dq.golive.renewals import read_renewals, write_renewals
from reach_dq.golive.stability import probe_stability
from reach_dq.settings import RunOptions, check_base_url, read_token
from reach_dq.warehouse.warehouse import Warehouse

log = logging.getLogger(__name__)

PROBE_CONCURRENCY = 4  # probe requests in flight at once; probes are few and must not crowd

_COMPANIES = """
SELECT company_id FROM http_exchanges
WHERE snapshot_id = ? AND probe IS NULL AND company_id IS NOT NULL
GROUP BY company_id ORDER BY min(exchange_id)
"""
_NEXT_EXCHANGE_ID = "SELECT coalesce(max(exchange_id), 0) + 1 FROM http_exchanges WHERE snapshot_id = ?"


def run_probes(options: RunOptions, snapshot_id: str) -> list[Finding]:
    """Probe the partner of ``options`` and return the findings; the snapshot must be fetched."""
    base_url = check_base_url(options.base_url, allow_insecure_http=options.allow_insecure_http)
    credentials = client_credentials(options)
    static = [
        LabelledToken(f"--token-env {name}", read_token(name))
        for name in (options.token_env, *options.extra_token_envs)
        if name
    ]
    with Warehouse.open(options.warehouse) as warehouse:
        connection = warehouse.connection
        companies = tuple(row[0] for row in connection.execute(_COMPANIES, [snapshot_id]).fetchall())
        first_id = connection.execute(_NEXT_EXCHANGE_ID, [snapshot_id]).fetchone()[0]
        recorder = functools.partial(warehouse.record_exchange, snapshot_id)
        provider = token_provider(token=static[0].token if static else None,
                                  credentials=credentials)
        context = ProbeContext(
            client=None,  # type: ignore[arg-type]  # set once the HTTP client is open
            spec=load_spec(options.spec_path),
            connection=connection,
            snapshot_id=snapshot_id,
            base_url=base_url,
            companies=companies,
            last_month=options.last_month,
            credentials=credentials,
        )
        http = open_http_client(base_url, timeout_s=options.timeout_s,
                                concurrency=PROBE_CONCURRENCY)
        client = ReachClient(http, token_provider=provider, recorder=recorder,
                             max_attempts=options.max_attempts, concurrency=PROBE_CONCURRENCY,
                             timeout_s=options.timeout_s, first_exchange_id=first_id)
        context.client = client
        findings = asyncio.run(_probe_all(context, static, credentials, http))

        findings += check_content_types(context)
        findings += check_latency_and_retries(context)
        write_renewals(connection, snapshot_id, "probe", provider.renewals)
        renewed = renewal_finding(read_renewals(connection, snapshot_id))
        if renewed is not None:
            findings.append(renewed)
    log.info("snapshot %s: %d probe findings from %d probe requests", snapshot_id,
             len(findings), client.exchanges)
    return findings


async def _probe_all(
    context: ProbeContext,
    static: list[LabelledToken],
    credentials: ClientCredentials | None,
    http,  # noqa: ANN001  # httpx.AsyncClient, closed here inside the event loop
) -> list[Finding]:
    async with http:
        tokens = list(static)
        if isinstance(context.client.tokens, OAuthTokens) and credentials is not None:
            token = await context.client.tokens.current(context.client)
            tokens.append(LabelledToken(f"--client-id {credentials.client_id}", token))
        context.tokens = tuple(tokens)
        groups = await asyncio.gather(
            probe_access(context),
            probe_http_behaviour(context),
            probe_pagination(context),
            probe_oauth(context),
            probe_isolation(context),
            probe_stability(context),
        )
    return list(itertools.chain.from_iterable(groups))
