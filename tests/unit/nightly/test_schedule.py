"""The nightly deployment as prefect.yaml declares it, and the errors naming the file and key."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from reach_dq.exceptions import ConfigError
from reach_dq.schedule import cron_schedule, load_deployment, prepare_prefect_environment

REPOSITORY = Path(__file__).resolve().parents[3]

VALID = """
deployments:
  - name: nightly
    entrypoint: flows/nightly.py:nightly_flow
    schedules:
      - cron: "30 1 * * *"
        timezone: "Europe/Berlin"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prefect.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, name: str = "nightly") -> str:
    with pytest.raises(ConfigError) as caught:
        load_deployment(path, name)
    return str(caught.value)


def test_repository_deployment_runs_at_two_utc() -> None:
    spec = load_deployment(REPOSITORY / "prefect.yaml")

    assert (spec.name, spec.cron, spec.timezone) == ("nightly", "0 2 * * *", "UTC")
    assert spec.tags == ("reach-dq", "nightly")
    schedule = cron_schedule(spec, REPOSITORY / "prefect.yaml")
    assert (schedule.cron, schedule.timezone) == ("0 2 * * *", "UTC")


def test_other_cron_and_zone_are_read(tmp_path: Path) -> None:
    spec = load_deployment(write(tmp_path, VALID))

    assert (spec.cron, spec.timezone) == ("30 1 * * *", "Europe/Berlin")


def test_unknown_deployment_named(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)

    assert error_of(path, "weekly") == f"{path}: no deployment named 'weekly'; expected one of ['nightly']"


def test_other_entrypoint_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("flows/nightly.py:nightly_flow", "flows/golive.py:golive_flow"))

    assert error_of(path) == (
        f"{path}: deployments['nightly'].entrypoint: must be 'flows/nightly.py:nightly_flow', "
        "got 'flows/golive.py:golive_flow'"
    )


def test_schedule_without_timezone_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace('        timezone: "Europe/Berlin"\n', ""))

    assert error_of(path) == f"{path}: deployments['nightly'].schedules[0].timezone: missing or not a string"


def test_invalid_yaml_named(tmp_path: Path) -> None:
    path = write(tmp_path, "deployments: [\n")

    assert error_of(path).startswith(f"{path}: invalid YAML: ")


def test_invalid_cron_named(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    spec = dataclasses.replace(load_deployment(path), cron="61 2 * * *")

    with pytest.raises(ConfigError) as caught:
        cron_schedule(spec, path)
    assert str(caught.value) == (
        f"{path}: deployments['nightly'].schedules[0]: Invalid cron string: \"61 2 * * *\" "
        "(cron '61 2 * * *', timezone 'Europe/Berlin')"
    )


PREFECT_VARIABLES = (
    "PREFECT_HOME",
    "PREFECT_SERVER_ANALYTICS_ENABLED",
    "DO_NOT_TRACK",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
)


def unset_prefect_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PREFECT_VARIABLES:
        monkeypatch.setenv(name, "")  # recorded, so the variable is restored after the test
        monkeypatch.delenv(name)


def test_prefect_environment_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unset_prefect_variables(monkeypatch)
    prepare_prefect_environment(tmp_path / "prefect")
    assert os.environ["PREFECT_HOME"] == str((tmp_path / "prefect").resolve())
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert os.environ["DO_NOT_TRACK"] == "1"
    assert os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "120"


def test_prefect_environment_keeps_user_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unset_prefect_variables(monkeypatch)
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "45")
    prepare_prefect_environment(tmp_path / "prefect")
    assert os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "45"


def test_prefect_home_created_with_parents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Prefect creates only the last level of its home, so a run from a folder without data/
    # could not start Prefect's temporary server.
    unset_prefect_variables(monkeypatch)
    home = tmp_path / "data" / "prefect"
    prepare_prefect_environment(home)
    assert home.is_dir()


def test_uncreatable_prefect_home_names_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unset_prefect_variables(monkeypatch)
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        prepare_prefect_environment(blocker / "prefect")
    assert str(blocker / "prefect") in str(caught.value)
    assert "PREFECT_HOME" in str(caught.value)
    assert blocker.read_text(encoding="utf-8") == "a file where the folder should be"
