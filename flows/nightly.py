"""Prefect flow that validates every configured partner once: the job behind ``reach-dq nightly``.

``nightly_flow`` runs one ``partner_flow`` subflow per partner, one after another, then prunes
old raw bodies and writes the cross-partner trends page. Within a partner the fetch sends up
to ``concurrency`` requests at once across its companies. A fetch that fails for a reason a
retry may heal (timeout, connection error, 429, 5xx) is retried by Prefect ``fetch_retries``
times with exponential backoff. Every other failure ends that partner's subflow at once. A
partner whose subflow fails is reported, and the other partners go on.

The flow holds the warehouse's run lock (``reach_dq.warehouse.lock``) from before the first
partner until the trends page is written, not one partner at a time. Every partner writes the
same DuckDB file, and pruning and the trends page read all partners' rows. With a lock per
partner, a ``validate`` run could take the warehouse between two partners, and the next
partner would then fail and be alerted as a failed nightly run. A run that finds the lock held
fails at once with a ``StoreError`` that names the holder, before it fetches anything.

Flow parameters carry file paths and names only: tokens are read from the environment
variables the config names, and webhook URLs are read when an alert is sent, because Prefect
stores parameters in its database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed, State
from prefect.tasks import exponential_backoff

from reach_dq import pipeline
from reach_dq.alerts.dispatch import AlertSummary, run_finding, send_run_alerts
from reach_dq.config import NightlyConfig, PartnerConfig, load_config, read_secret
from reach_dq.exceptions import FetchError, ReachDQError
from reach_dq.findings import Finding
from reach_dq.retention import Pruned, prune_raw_bodies
from reach_dq.settings import RunOptions, parse_as_of
from reach_dq.warehouse.lock import run_lock

log = logging.getLogger(__name__)

TRENDS_PAGE = "index.html"


@dataclasses.dataclass(frozen=True)
class PartnerRun:
    """Outcome of one partner's subflow; ``error`` is set when it could not complete."""

    partner: str
    snapshot_id: str | None
    status: str  # complete, incomplete or failed
    outcomes: dict[str, int]
    alerts: AlertSummary | None
    docs_index: Path | None
    error: str | None = None


@dataclasses.dataclass(frozen=True)
class NightlyReport:
    run_date: dt.date
    partners: list[PartnerRun]
    pruned: Pruned
    trends_index: Path


def partner_options(config: NightlyConfig, partner: PartnerConfig, run_date: dt.date) -> RunOptions:
    """Return the run options of one partner, reading its OAuth client id when it has one.

    The client id is not a secret; the client secret stays in its environment variable until
    the fetch reads it.
    """
    docs_dir = partner_docs_dir(config, partner.name)
    client_id = None
    if partner.client_id_env is not None:
        field = f"partners[{partner.name!r}].client_id_env"
        client_id = read_secret(partner.client_id_env, field=field, config=config).get_secret_value()
    return RunOptions(
        base_url=partner.base_url,
        token_env=partner.token_env or "",
        client_id=client_id,
        client_secret_env=partner.client_secret_env,
        command="nightly",
        companies=partner.companies,
        months=partner.months,
        as_of=run_date,
        close_lag_days=partner.close_lag_days,
        warehouse=config.nightly.warehouse,
        docs_dir=docs_dir,
        json_path=docs_dir / "findings.json",
        concurrency=partner.concurrency,
        timeout_s=partner.timeout_s,
        allow_insecure_http=partner.allow_insecure_http,
        partner=partner.name,
    )


def partner_docs_dir(config: NightlyConfig, name: str) -> Path:
    return config.nightly.docs_dir / "partners" / name


def is_transient(task: object, task_run: object, state: State) -> bool:
    """Prefect retry condition: retry when the error, or an error it was raised from, may heal.

    The fetch raises a terminal error when it cannot discover the companies, chained from the
    transient error behind it (a partner that is down), and that case is worth a retry.
    """
    error = state.data
    while isinstance(error, BaseException):
        if isinstance(error, FetchError) and error.transient:
            return True
        error = error.__cause__
    return False


@task(name="fetch", cache_policy=NO_CACHE)
def fetch_task(options: RunOptions) -> pipeline.FetchResult:
    return pipeline.fetch(options)


@task(name="store", cache_policy=NO_CACHE)
def store_task(options: RunOptions, snapshot_id: str) -> dict[str, int]:
    return pipeline.store(options, snapshot_id)


@task(name="validate", cache_policy=NO_CACHE)
def validate_task(options: RunOptions, snapshot_id: str, config_path: str) -> pipeline.Validation:
    """Run every check of a validate run, then the drift checks with the config's thresholds."""
    from checks.drift import drift_checks
    from reach_dq.contract.spec import load_spec
    from reach_dq.runner import CheckContext, run_checks
    from reach_dq.warehouse.warehouse import Warehouse

    validation = pipeline.validate(options, snapshot_id)
    config = load_config(config_path)
    with Warehouse.open(options.warehouse) as warehouse:
        context = CheckContext(
            connection=warehouse.connection, snapshot_id=snapshot_id, spec=load_spec(options.spec_path),
            as_of=options.as_of, first_month=options.first_month, last_month=options.last_month,
        )
        drift = run_checks(drift_checks(config.drift), context)
    return pipeline.Validation(validation.findings + drift, validation.gx_docs_index)


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(options: RunOptions, snapshot_id: str, validation: pipeline.Validation) -> pipeline.Publication:
    return pipeline.publish(options, snapshot_id, validation)


@task(name="alert", cache_policy=NO_CACHE)
def alert_task(config_path: str, partner_name: str, snapshot_id: str, findings: list[Finding]) -> AlertSummary:
    config = load_config(config_path)
    return send_run_alerts(config, config.partner(partner_name), snapshot_id=snapshot_id, findings=findings)


@task(name="prune", cache_policy=NO_CACHE)
def prune_task(config_path: str) -> Pruned:
    from reach_dq.warehouse.warehouse import Warehouse

    config = load_config(config_path)
    with Warehouse.open(config.nightly.warehouse) as warehouse:
        return prune_raw_bodies(warehouse.connection, raw_body_days=config.retention.raw_body_days)


@task(name="trends", cache_policy=NO_CACHE)
def trends_task(config_path: str) -> Path:
    from reach_dq.publish.trends import write_trends_page
    from reach_dq.status import partner_statuses
    from reach_dq.warehouse.warehouse import Warehouse

    config = load_config(config_path)
    now = dt.datetime.now(dt.UTC)
    names = [partner.name for partner in config.partners]
    links = {
        name: f"partners/{name}/index.html"
        for name in names
        if (partner_docs_dir(config, name) / "index.html").is_file()
    }
    with Warehouse.open(config.nightly.warehouse) as warehouse:
        statuses = partner_statuses(
            warehouse.connection, names, now=now, stale_after_hours=config.nightly.stale_after_hours
        )
        return write_trends_page(
            config.nightly.docs_dir / TRENDS_PAGE, warehouse.connection, statuses=statuses, now=now,
            stale_after_hours=config.nightly.stale_after_hours, links=links,
        )


@flow(name="reach-dq-partner")
def partner_flow(config_path: str, partner_name: str, run_date: dt.date) -> PartnerRun | State:
    """Fetch, store, validate, publish and alert for one partner.

    It takes the warehouse's run lock too, so that it is guarded when run on its own. Inside
    ``nightly_flow`` this process already holds the lock, and taking it again changes nothing.
    A reach-dq error, such as a missing token variable, ends the flow run in a Failed state
    whose message is the error. Prefect then logs one line, not the traceback.
    """
    config = load_config(config_path)
    with run_lock(config.nightly.warehouse, command="nightly"):
        try:
            return _run_partner(config, config_path, partner_name, run_date)
        except ReachDQError as exc:
            return Failed(message=str(exc))


def _run_partner(config: NightlyConfig, config_path: str, partner_name: str, run_date: dt.date) -> PartnerRun:
    partner = config.partner(partner_name)
    options = partner_options(config, partner, run_date)
    started = dt.datetime.now(dt.UTC)
    fetch = fetch_task.with_options(
        retries=config.nightly.fetch_retries,
        retry_delay_seconds=exponential_backoff(config.nightly.retry_delay_s),
        retry_condition_fn=is_transient,
    )
    try:
        fetched = fetch(options)
        store_task(options, fetched.snapshot_id)
        validation = validate_task(options, fetched.snapshot_id, config_path)
        publication = publish_task(options, fetched.snapshot_id, validation)
    except Exception as exc:
        snapshot_id = _close_failed_snapshot(config, partner.name, since=started)
        alert_task(config_path, partner.name, snapshot_id, [run_finding(str(exc))])
        raise

    findings = [*publication.findings, run_finding(None)]
    alerts = alert_task(config_path, partner.name, publication.snapshot_id, findings)
    return PartnerRun(
        partner.name, publication.snapshot_id, _status_of(config, publication.snapshot_id),
        _count_outcomes(publication.findings), alerts, publication.docs_index,
    )


@flow(name="reach-dq-nightly")
def nightly_flow(config_path: str, as_of: str | None = None, partners: list[str] | None = None) -> NightlyReport:
    """Validate every configured partner (or the named ones), prune, and write the trends page.

    ``as_of`` (YYYY-MM-DD) replaces today's date in the configured time zone as the run date.
    Raises ``StoreError`` at once when another process holds the warehouse's run lock.
    """
    config = load_config(config_path)
    run_date = parse_as_of(as_of) if as_of else config.run_date()
    selected = [config.partner(name) for name in partners] if partners else list(config.partners)

    with run_lock(config.nightly.warehouse, command="nightly"):
        results = []
        for partner in selected:
            subflow = partner_flow.with_options(flow_run_name=f"{partner.name}-{run_date.isoformat()}")
            state = subflow(str(config.path), partner.name, run_date, return_state=True)
            results.append(_partner_result(partner.name, state))

        pruned = prune_task(str(config.path))
        trends_index = trends_task(str(config.path))
    return NightlyReport(run_date, results, pruned, trends_index)


def _partner_result(name: str, state: State) -> PartnerRun:
    if state.is_completed():
        result: PartnerRun = state.result()
        return result
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001  # the subflow's own error, reported per partner
        error = str(exc) or type(exc).__name__
    else:
        error = state.message or f"subflow ended in state {state.type}"
    log.error("partner %s could not be validated: %s", name, error)
    return PartnerRun(name, None, "failed", {}, None, None, error)


def _close_failed_snapshot(config: NightlyConfig, partner: str, *, since: dt.datetime) -> str:
    """Mark the subflow's snapshot ``failed`` if a later stage left it running; return its id.

    Returns an empty string when the run failed before it began a snapshot.
    """
    from reach_dq.warehouse.warehouse import Warehouse

    with Warehouse.open(config.nightly.warehouse) as warehouse:
        row = warehouse.connection.execute(
            "SELECT snapshot_id, status FROM snapshots WHERE partner = ? AND started_at >= ? "
            "ORDER BY started_at DESC LIMIT 1",
            [partner, since],
        ).fetchone()
        if row is None:
            return ""
        if row[1] == "running":
            warehouse.finish_snapshot(row[0], "failed")
    return str(row[0])


def _status_of(config: NightlyConfig, snapshot_id: str) -> str:
    from reach_dq.warehouse.warehouse import Warehouse

    with Warehouse.open(config.nightly.warehouse) as warehouse:
        return warehouse.snapshot_status(snapshot_id) or "failed"


def _count_outcomes(findings: list[Finding]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in findings:
        counts[str(finding.outcome)] = counts.get(str(finding.outcome), 0) + 1
    return counts


def render_report(report: NightlyReport) -> str:
    """Return the lines ``reach-dq nightly`` prints: one per partner, then the trends page."""
    lines = [f"nightly run of {report.run_date.isoformat()}"]
    for run in report.partners:
        if run.error is not None:
            lines.append(f"  {run.partner}: could not complete: {run.error}")
            continue
        counts = ", ".join(f"{run.outcomes.get(o, 0)} {o}" for o in ("failed", "warning", "not_evaluated", "passed"))
        alerts = run.alerts or AlertSummary(0, 0, 0)
        lines.append(
            f"  {run.partner}: snapshot {run.snapshot_id} {run.status}; {counts}; "
            f"alerts: {alerts.problems} new, {alerts.recoveries} recovered, {alerts.undelivered} undelivered"
        )
    lines.append(f"pruned raw bodies: {report.pruned.bodies} of {report.pruned.snapshots} snapshots")
    lines.append(f"trends:    {report.trends_index}")
    return "\n".join(lines)


def any_partner_failed(report: NightlyReport) -> bool:
    return any(run.error is not None for run in report.partners)


def any_check_failed(report: NightlyReport) -> bool:
    return any(run.outcomes.get("failed", 0) for run in report.partners)
