"""The four stages of a run: fetch, store, validate, publish.

Each stage opens the warehouse itself and reads only what an earlier stage stored, so the
stages can run as plain calls (``reach-dq validate``) or as Prefect tasks (``flows/golive.py``).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from reach_dq.findings import Finding
from reach_dq.settings import RunOptions, check_base_url, read_token, redact_url

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class FetchResult:
    snapshot_id: str
    companies: tuple[str, ...]
    exchanges: int
    failed_exchanges: int


@dataclasses.dataclass(frozen=True)
class Validation:
    findings: list[Finding]
    gx_docs_index: Path | None


@dataclasses.dataclass(frozen=True)
class Publication:
    snapshot_id: str
    findings: list[Finding]
    docs_index: Path
    json_path: Path | None


def fetch(options: RunOptions) -> FetchResult:
    """Pull a snapshot of every operation for every company into the warehouse."""
    from reach_dq.contract.spec import load_spec
    from reach_dq.fetch.snapshot import FetchRequest, run_fetch
    from reach_dq.warehouse.warehouse import Warehouse

    base_url = check_base_url(options.base_url, allow_insecure_http=options.allow_insecure_http)
    token = read_token(options.token_env)
    spec = load_spec(options.spec_path)
    request = FetchRequest(
        base_url=base_url,
        token=token,
        first_month=options.first_month,
        last_month=options.last_month,
        companies=options.companies,
        concurrency=options.concurrency,
        timeout_s=options.timeout_s,
    )
    with Warehouse.open(options.warehouse) as warehouse:
        snapshot_id = warehouse.begin_snapshot(
            base_url=redact_url(base_url),
            command=options.command,
            as_of=options.as_of,
            first_month=options.first_month,
            last_month=options.last_month,
            spec_title=spec.title,
            spec_version=spec.version,
        )
        log.info("snapshot %s: fetching %s", snapshot_id, redact_url(base_url))
        try:
            summary = run_fetch(request, warehouse, snapshot_id)
        except BaseException:
            warehouse.finish_snapshot(snapshot_id, "failed")
            raise
    return FetchResult(
        snapshot_id, summary.companies, summary.exchanges, summary.failed_exchanges
    )


def store(options: RunOptions, snapshot_id: str) -> dict[str, int]:
    """Parse the snapshot's raw bodies into the typed dataset tables; return rows per dataset."""
    from reach_dq.warehouse.typed import load_typed
    from reach_dq.warehouse.warehouse import Warehouse

    with Warehouse.open(options.warehouse) as warehouse:
        rows = load_typed(warehouse.connection, snapshot_id)
    log.info("snapshot %s: stored %s", snapshot_id, rows)
    return rows


def validate(options: RunOptions, snapshot_id: str) -> Validation:
    """Run the contract, Pandera, identity, reliability and GX checks over one snapshot."""
    from checks.registry import warehouse_checks
    from reach_dq.contract.spec import load_spec
    from reach_dq.datasets import DATASETS
    from reach_dq.gx_suites import run_suites
    from reach_dq.runner import CheckContext, run_checks
    from reach_dq.warehouse.warehouse import Warehouse

    spec = load_spec(options.spec_path)
    with Warehouse.open(options.warehouse) as warehouse:
        context = CheckContext(
            connection=warehouse.connection,
            snapshot_id=snapshot_id,
            spec=spec,
            as_of=options.as_of,
            first_month=options.first_month,
            last_month=options.last_month,
        )
        findings = run_checks(warehouse_checks(), context)
        frames = {dataset.name: warehouse.read_dataset(snapshot_id, dataset.name) for dataset in DATASETS}

    suite_run = run_suites(frames, docs_dir=gx_docs_dir(options.docs_dir), run_name=snapshot_id)
    return Validation(findings + suite_run.findings, suite_run.docs_index)


def publish(options: RunOptions, snapshot_id: str, validation: Validation) -> Publication:
    """Store the findings, write the docs page and the JSON summary, and close the snapshot."""
    from reach_dq.publish.html_page import write_findings_page
    from reach_dq.publish.json_report import write_json_report
    from reach_dq.warehouse.warehouse import Warehouse

    with Warehouse.open(options.warehouse) as warehouse:
        warehouse.write_findings(snapshot_id, validation.findings)
        status = "complete" if _fetch_was_complete(warehouse, snapshot_id) else "incomplete"
        warehouse.finish_snapshot(snapshot_id, status)
        snapshot = _snapshot_row(warehouse, snapshot_id)

    docs_index = write_findings_page(
        options.docs_dir / "index.html",
        snapshot=snapshot,
        findings=validation.findings,
        gx_docs_index=validation.gx_docs_index,
    )
    if options.json_path is not None:
        write_json_report(options.json_path, snapshot=snapshot, findings=validation.findings)
    return Publication(snapshot_id, validation.findings, docs_index, options.json_path)


def run_all(options: RunOptions) -> Publication:
    """Run the four stages in order as plain function calls."""
    fetched = fetch(options)
    store(options, fetched.snapshot_id)
    validation = validate(options, fetched.snapshot_id)
    return publish(options, fetched.snapshot_id, validation)


def gx_docs_dir(docs_dir: Path) -> Path:
    return docs_dir / "gx"


def _fetch_was_complete(warehouse, snapshot_id: str) -> bool:  # noqa: ANN001  # Warehouse, imported lazily
    failed = warehouse.connection.execute(
        """
        SELECT count(*) FROM http_exchanges AS e
        WHERE e.snapshot_id = ? AND e.attempt = (
            SELECT max(attempt) FROM http_exchanges AS a
            WHERE a.snapshot_id = e.snapshot_id AND a.operation_id = e.operation_id
              AND a.path = e.path AND a.method = e.method)
          AND (e.status_code IS NULL OR e.status_code >= 400)
        """,
        [snapshot_id],
    ).fetchone()
    return failed is not None and failed[0] == 0


def _snapshot_row(warehouse, snapshot_id: str) -> dict[str, object]:  # noqa: ANN001  # as above
    cursor = warehouse.connection.execute("SELECT * FROM snapshots WHERE snapshot_id = ?", [snapshot_id])
    names = [column[0] for column in cursor.description]
    row = cursor.fetchone()
    return dict(zip(names, row, strict=True)) if row else {"snapshot_id": snapshot_id}
