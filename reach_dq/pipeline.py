"""The four stages of a run: fetch, store, validate, publish; golive adds probe before publish.

Each stage opens the warehouse itself and reads only what an earlier stage stored, so the
stages can run as plain calls (``reach-dq validate``) or as Prefect tasks (``flows/golive.py``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from reach_dq.findings import Finding
from reach_dq.runner import Check, CheckContext, run_checks
from reach_dq.settings import RunOptions, check_base_url, redact_url

if TYPE_CHECKING:
    import duckdb

    from reach_dq.gx_suites import SuiteRun

log = logging.getLogger(__name__)

SECOND_THREAD = "bodies-and-suites"  # the name prefix of validate's second thread


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
    from reach_dq.fetch.tokens import provider_for
    from reach_dq.golive.renewals import write_renewals
    from reach_dq.warehouse.warehouse import Warehouse

    base_url = check_base_url(options.base_url, allow_insecure_http=options.allow_insecure_http)
    token_provider = provider_for(options)
    spec = load_spec(options.spec_path)
    request = FetchRequest(
        base_url=base_url,
        token=SecretStr(""),  # the token provider sends the tokens
        token_provider=token_provider,
        first_month=options.first_month,
        last_month=options.last_month,
        companies=options.companies,
        concurrency=options.concurrency,
        timeout_s=options.timeout_s,
        max_attempts=options.max_attempts,
        backoff_s=options.backoff_s,
        max_retry_after_s=options.max_retry_after_s,
        max_body_bytes=options.max_body_bytes,
        page_size=options.page_size,
        max_pages=options.max_pages,
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
            partner=options.partner,
        )
        if options.companies is not None:
            warehouse.connection.execute(
                "UPDATE snapshots SET requested_companies = ? WHERE snapshot_id = ?",
                [list(options.companies), snapshot_id],
            )
        log.info("snapshot %s: fetching %s", snapshot_id, redact_url(base_url))
        try:
            summary = run_fetch(request, warehouse, snapshot_id)
        except BaseException:
            warehouse.finish_snapshot(snapshot_id, "failed")
            raise
        finally:
            write_renewals(warehouse.connection, snapshot_id, "fetch", token_provider.renewals)
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
    """Run the contract, Pandera, identity, reliability and GX checks over one snapshot.

    The work runs in two threads. The main one runs the checks that query DuckDB, which
    releases Python's global interpreter lock while a query runs. A second thread, on a cursor
    of its own, runs the work that is mostly Python: the contract checks, which parse the
    bodies, then reads the GX frames and runs the GX suites. The findings come out in the order
    of a sequential run: the checks in registry order, then the suites.
    """
    from checks.partial_fetch import failed_operations_by_company, set_aside_partial_companies
    from checks.registry import warehouse_checks
    from reach_dq.contract.spec import load_spec
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
            expected_path=options.expected_path,
            close_lag_days=options.close_lag_days,
            accrual_accounts=options.accrual_accounts,
            frozen_feed_runs=options.frozen_feed_runs,
        )
        with warehouse.connection.cursor() as second_connection:
            second_context = dataclasses.replace(context, connection=second_connection)
            findings, suite_run = _run_in_two_threads(
                warehouse_checks(), context, second_context,
                lambda: _run_suites(options, second_connection, snapshot_id),
            )
        findings = set_aside_partial_companies(
            findings, failed_operations_by_company(warehouse.connection, snapshot_id)
        )
    return Validation(findings + suite_run.findings, suite_run.docs_index)


def _run_suites(
    options: RunOptions, connection: duckdb.DuckDBPyConnection, snapshot_id: str
) -> SuiteRun:
    """Read the frames the GX suites need, run the suites and write their data docs."""
    from reach_dq.gx.frames import read_suite_frames
    from reach_dq.gx_suites import run_suites

    frames = read_suite_frames(connection, snapshot_id)
    return run_suites(frames, docs_dir=gx_docs_dir(options.docs_dir), run_name=snapshot_id)


# The checks that parse raw bodies in Python, and so run in the second thread.
_BODY_CHECKS = frozenset(
    {"contract.response_schema", "contract.extra_fields", "contract.pagination_total"}
)


def _run_in_two_threads(
    checks: Sequence[Check],
    context: CheckContext,
    second_context: CheckContext,
    run_suites: Callable[[], SuiteRun],
) -> tuple[list[Finding], SuiteRun]:
    """Run the body checks, then ``run_suites``, in a second thread, and the other checks here.

    Return the findings of all checks in the order of ``checks``, and what ``run_suites``
    returned. An exception of ``run_suites`` is raised after the checks of this thread end.
    """

    def second_thread() -> tuple[dict[str, list[Finding]], SuiteRun]:
        found = {check.name: run_checks([check], second_context)
                 for check in checks if check.name in _BODY_CHECKS}
        return found, run_suites()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=SECOND_THREAD) as pool:
        second = pool.submit(second_thread)
        found = {check.name: run_checks([check], context)
                 for check in checks if check.name not in _BODY_CHECKS}
    body_findings, suite_run = second.result()
    found.update(body_findings)
    return [finding for check in checks for finding in found[check.name]], suite_run


def publish(
    options: RunOptions,
    snapshot_id: str,
    validation: Validation,
    *,
    links: Sequence[tuple[str, str]] = (),
) -> Publication:
    """Store the findings, write the docs page and the JSON summary, and close the snapshot.

    ``links`` are further pages of the data docs to link from its index: (text, href).
    """
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
        links=links,
    )
    if options.json_path is not None:
        write_json_report(options.json_path, snapshot=snapshot, findings=validation.findings)
    return Publication(snapshot_id, validation.findings, docs_index, options.json_path)


def run_all(options: RunOptions) -> Publication:
    """Run the four stages in order as plain function calls, holding the warehouse's run lock."""
    with run_lock(options):
        fetched = fetch(options)
        store(options, fetched.snapshot_id)
        validation = validate(options, fetched.snapshot_id)
        return publish(options, fetched.snapshot_id, validation)


def probe(options: RunOptions, snapshot_id: str) -> list[Finding]:
    """Send the go-live probes to the partner of a fetched snapshot; return their findings."""
    from reach_dq.golive.run import run_probes

    return run_probes(options, snapshot_id)


def publish_golive(
    options: RunOptions, snapshot_id: str, validation: Validation, probe_findings: list[Finding]
) -> Publication:
    """Publish the findings of validate and of the probes, and the go-live scorecard."""
    from reach_dq.golive.publish import publish_scorecard

    return publish_scorecard(options, snapshot_id, validation, probe_findings)


def run_golive(options: RunOptions) -> Publication:
    """Run fetch, store, validate, probe and publish as plain calls, holding the run lock."""
    with run_lock(options):
        fetched = fetch(options)
        store(options, fetched.snapshot_id)
        validation = validate(options, fetched.snapshot_id)
        probe_findings = probe(options, fetched.snapshot_id)
        return publish_golive(options, fetched.snapshot_id, validation, probe_findings)


def run_lock(options: RunOptions):  # noqa: ANN201  # a context manager, imported lazily
    """Return the context manager that holds the run lock of the options' warehouse.

    A second run on the same warehouse raises ``StoreError`` at once, naming the process that
    holds it; snapshots left ``running`` by a dead run are marked ``incomplete`` on entry.
    The base URL and a ``--spec`` file are checked first, so an invalid one creates no
    warehouse file.
    """
    from reach_dq.contract.spec import load_spec
    from reach_dq.warehouse.lock import run_lock as warehouse_run_lock

    check_base_url(options.base_url, allow_insecure_http=options.allow_insecure_http)
    if options.spec_path is not None:
        load_spec(options.spec_path)
    return warehouse_run_lock(options.warehouse, command=options.command)


def gx_docs_dir(docs_dir: Path) -> Path:
    return docs_dir / "gx"


def _fetch_was_complete(warehouse, snapshot_id: str) -> bool:  # noqa: ANN001  # Warehouse, imported lazily
    from reach_dq.warehouse.requests import LAST_ATTEMPT

    failed = warehouse.connection.execute(
        f"""
        SELECT count(*) FROM (
            SELECT status_code FROM http_exchanges
            WHERE snapshot_id = ? AND probe IS NULL
            QUALIFY {LAST_ATTEMPT}
        )
        WHERE status_code IS NULL OR status_code >= 400
        """,
        [snapshot_id],
    ).fetchone()
    # A failed operation may have ended on a 2xx: an unusable body or broken pagination.
    failed_operations = warehouse.connection.execute(
        "SELECT count(*) FROM failed_operations WHERE snapshot_id = ?", [snapshot_id]
    ).fetchone()
    return failed is not None and failed[0] == 0 and failed_operations == (0,)


def _snapshot_row(warehouse, snapshot_id: str) -> dict[str, object]:  # noqa: ANN001  # as above
    cursor = warehouse.connection.execute("SELECT * FROM snapshots WHERE snapshot_id = ?", [snapshot_id])
    names = [column[0] for column in cursor.description]
    row = cursor.fetchone()
    return dict(zip(names, row, strict=True)) if row else {"snapshot_id": snapshot_id}
