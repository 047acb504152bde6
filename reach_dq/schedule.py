"""``reach-dq schedule``: serve the nightly deployment of prefect.yaml against a Prefect server.

The deployment's name, cron, time zone, tags and description come from prefect.yaml. Its
``config_path`` parameter is the absolute path of the config file given on the command line. The
serving process polls the Prefect server named by ``PREFECT_API_URL`` and runs each scheduled
or manually triggered flow run in a child process. Stopping it (Ctrl-C or SIGTERM) pauses the
deployment's schedule. Prefect's ``serve`` pauses it on a clean shutdown, and this module pauses
it once more after ``serve`` returns, because a signal that lands while Prefect handles a
finished flow run can end ``serve`` without its pause. Starting it again resumes the schedule.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

import yaml

from reach_dq.exceptions import ConfigError

log = logging.getLogger(__name__)

ENTRYPOINT = "flows/nightly.py:nightly_flow"  # the one flow this command serves
DEFAULT_DEPLOYMENT = "nightly"


@dataclasses.dataclass(frozen=True)
class DeploymentSpec:
    """The served deployment as prefect.yaml declares it."""

    name: str
    cron: str
    timezone: str
    tags: tuple[str, ...] = ()
    description: str | None = None


PREFECT_HOME = Path("data/prefect")  # Prefect's files unless PREFECT_HOME is set
EPHEMERAL_STARTUP_S = "120"  # seconds Prefect waits for its temporary server to start


def prepare_prefect_environment(home: Path) -> None:
    """Keep Prefect's files under ``home`` and its telemetry off, unless the caller chose otherwise.

    Must run before Prefect is imported, because Prefect reads these settings then. Creates
    the home folder with its parents: Prefect creates only the last level, and without the folder
    its temporary server cannot start. Raises ConfigError when the folder cannot be created.
    """
    prefect_home = Path(os.environ.setdefault("PREFECT_HOME", str(home.resolve())))
    try:
        prefect_home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the Prefect home folder {str(prefect_home)!r} (PREFECT_HOME): "
            f"{exc.strerror}; expected a folder this user can write"
        ) from exc
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # Prefect 3.9 waits 20 s by default for its temporary server to start. A busy 2-core machine
    # can take longer, and the run then fails with "Timed out while attempting to connect".
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", EPHEMERAL_STARTUP_S)


def load_deployment(prefect_file: Path, name: str = DEFAULT_DEPLOYMENT) -> DeploymentSpec:
    """Read deployment ``name`` from a prefect.yaml; raise ConfigError naming the file and key."""
    document = _read_yaml(prefect_file)
    deployments = document.get("deployments") if isinstance(document, dict) else None
    if not isinstance(deployments, list):
        raise ConfigError(f"{prefect_file}: deployments: missing or not a list")
    found = [entry for entry in deployments if isinstance(entry, dict) and entry.get("name") == name]
    if not found:
        names = [entry.get("name") for entry in deployments if isinstance(entry, dict)]
        raise ConfigError(f"{prefect_file}: no deployment named {name!r}; expected one of {names!r}")
    return _deployment_spec(prefect_file, found[0])


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the Prefect project file {str(path)!r}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc


def _deployment_spec(path: Path, entry: dict[str, Any]) -> DeploymentSpec:
    where = f"{path}: deployments[{entry['name']!r}]"
    if entry.get("entrypoint") != ENTRYPOINT:
        raise ConfigError(f"{where}.entrypoint: must be {ENTRYPOINT!r}, got {entry.get('entrypoint')!r}")
    schedules = entry.get("schedules")
    if not isinstance(schedules, list) or len(schedules) != 1 or not isinstance(schedules[0], dict):
        raise ConfigError(f"{where}.schedules: must list exactly one schedule with a cron and a timezone")
    schedule = schedules[0]
    for key in ("cron", "timezone"):
        if not isinstance(schedule.get(key), str) or not schedule[key]:
            raise ConfigError(f"{where}.schedules[0].{key}: missing or not a string")
    tags = entry.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ConfigError(f"{where}.tags: must be a list of strings, got {tags!r}")
    return DeploymentSpec(entry["name"], schedule["cron"], schedule["timezone"], tuple(tags), entry.get("description"))


def cron_schedule(spec: DeploymentSpec, prefect_file: Path) -> Any:
    """Return Prefect's CronSchedule of the deployment; an invalid cron or zone is a ConfigError."""
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    try:
        return CronSchedule(cron=spec.cron, timezone=spec.timezone)
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise ConfigError(
            f"{prefect_file}: deployments[{spec.name!r}].schedules[0]: {message} "
            f"(cron {spec.cron!r}, timezone {spec.timezone!r})"
        ) from None


def serve_nightly(*, config_path: Path, prefect_file: Path, deployment: str = DEFAULT_DEPLOYMENT) -> None:
    """Register the nightly deployment with the Prefect server and run its flow runs until stopped."""
    from prefect import serve
    from prefect.deployments.runner import EntrypointType
    from prefect.settings import get_current_settings

    from flows.nightly import nightly_flow
    from reach_dq.config import load_config

    config = load_config(config_path)  # fail now, not at 02:00, on an invalid config
    spec = load_deployment(prefect_file, deployment)
    schedule = cron_schedule(spec, prefect_file)
    if not get_current_settings().api.url:
        raise ConfigError(
            "PREFECT_API_URL is not set, so there is no Prefect server to schedule on; start one "
            "with `prefect server start --host 127.0.0.1 --port 4200` and export "
            "PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    runner_deployment = nightly_flow.to_deployment(
        spec.name,
        schedule=schedule,
        parameters={"config_path": str(config.path)},
        tags=list(spec.tags),
        description=spec.description,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    try:
        serve(runner_deployment, pause_on_shutdown=True)
    finally:
        pause_deployment(f"{nightly_flow.name}/{spec.name}")


def pause_deployment(name: str) -> None:
    """Pause the deployment ``name`` (flow/deployment) on the Prefect server; log a failure."""
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            client.pause_deployment(client.read_deployment_by_name(name).id)
    except Exception as exc:  # noqa: BLE001  # shutting down: report, never mask the exit
        log.warning("could not pause the deployment %r: %s", name, exc)
        return
    log.info("paused the deployment %r", name)
