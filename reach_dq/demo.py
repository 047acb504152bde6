"""``make demo``: the golive flow against the reference partner server on a free loopback port."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

from reach_dq.pipeline import Publication
from reach_dq.schedule import PREFECT_HOME, prepare_prefect_environment
from reach_dq.settings import RunOptions

log = logging.getLogger(__name__)

DEMO_TOKEN_ENV = "REACH_DQ_DEMO_TOKEN"


def run_demo(*, companies: int, warehouse: Path, docs_dir: Path, json_path: Path | None) -> Publication:
    """Serve generated books for ``companies`` companies, run the golive flow, stop the server."""
    prepare_prefect_environment(PREFECT_HOME)
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

