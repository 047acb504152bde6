"""Prefect flow for one partner, now: fetch, store, validate, probe and publish as tasks.

The flow is thin: each task calls one stage of ``reach_dq.pipeline``. Flow parameters carry no
secret (the token is named by ``RunOptions.token_env`` and read inside the fetch task), because
Prefect stores parameters in its database.
"""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from reach_dq import pipeline
from reach_dq.findings import Finding
from reach_dq.settings import RunOptions


@task(name="fetch", cache_policy=NO_CACHE)
def fetch_task(options: RunOptions) -> pipeline.FetchResult:
    return pipeline.fetch(options)


@task(name="store", cache_policy=NO_CACHE)
def store_task(options: RunOptions, snapshot_id: str) -> dict[str, int]:
    return pipeline.store(options, snapshot_id)


@task(name="validate", cache_policy=NO_CACHE)
def validate_task(options: RunOptions, snapshot_id: str) -> pipeline.Validation:
    return pipeline.validate(options, snapshot_id)


@task(name="probe", cache_policy=NO_CACHE)
def probe_task(options: RunOptions, snapshot_id: str) -> list[Finding]:
    return pipeline.probe(options, snapshot_id)


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(
    options: RunOptions,
    snapshot_id: str,
    validation: pipeline.Validation,
    probe_findings: list[Finding],
) -> pipeline.Publication:
    return pipeline.publish_golive(options, snapshot_id, validation, probe_findings)


@flow(name="reach-dq-golive", log_prints=True)
def golive_flow(options: RunOptions) -> pipeline.Publication:
    """Check one partner's API now and publish the findings.

    The flow holds the warehouse's run lock throughout, so a concurrent run fails at once.
    """
    with pipeline.run_lock(options):
        fetched = fetch_task(options)
        store_task(options, fetched.snapshot_id)
        validation = validate_task(options, fetched.snapshot_id)
        probe_findings = probe_task(options, fetched.snapshot_id)
        # quote() keeps Prefect from walking every finding and failure case to look for
        # futures in the task's inputs, work that grows with the findings (Prefect 3.9).
        # NOTE: Prefect still walks the returned Publication when the flow finishes. Returning
        # quote() would avoid that, but callers would then receive the quote, not the value.
        return publish_task(options, fetched.snapshot_id, quote(validation), quote(probe_findings))
