"""``make demo``: the golive flow against the reference partner server on a free loopback port."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

from reach_dq.pipeline import Publication
from reach_dq.settings import RunOptions

log = logging.getLogger(__name__)

DEMO_TOKEN_ENV = "REACH_DQ_DEMO_TOKEN"


def run_demo(*, companies: int, warehouse: Path, docs_dir: Path, json_path: Path | None) -> Publication:
    """Serve generated books for ``companies`` companies, run the golive flow, stop the server."""
    _quiet_prefect()
    from flows.golive import golive_flow
    from reach_dq.partner.server import PartnerConfig, serve_in_background

    as_of = dt.datetime.now(dt.UTC).date()
    with serve_in_background(PartnerConfig(companies=companies, as_of=as_of)) as server:
        print(f"reference partner server: {server.base_url} ({len(server.company_ids)} companies)")
        # The token reaches the flow through the environment, never as a flow parameter.
        os.environ[DEMO_TOKEN_ENV] = server.token
        options = RunOptions(
            base_url=server.base_url,
            token_env=DEMO_TOKEN_ENV,
            command="golive",
            as_of=as_of,
            warehouse=warehouse,
            docs_dir=docs_dir,
            json_path=json_path,
        )
        return golive_flow(options)


def _quiet_prefect() -> None:
    """Keep Prefect's files in data/ and its telemetry off unless the caller chose otherwise.

    These must be set before Prefect is imported, because Prefect reads its settings then.
    """
    home = Path(os.environ.setdefault("PREFECT_HOME", str(Path("data/prefect").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
