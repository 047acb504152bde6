"""``reach-dq golive`` as a user runs it: a real process against the reference server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from reach_dq.contract.spec import DEFAULT_SPEC_PATH
from reach_dq.partner.server import PartnerConfig, serve_in_background
from tests.integration.conftest import run_validate

pytestmark = pytest.mark.integration

AS_OF = dt.date(2026, 7, 15)
ROWS = ["access and authentication", "endpoints and formatting", "data accuracy", "freshness",
        "reliability", "isolation"]
TOKEN = "golive-cli-token"
OTHER_TOKEN = "golive-other-customer"


def run_golive(base_url: str, tmp_path: Path, environment: dict[str, str], *options: str) -> tuple[
        subprocess.CompletedProcess[str], dict[str, Any] | None]:
    report_path = tmp_path / "report.json"
    command = [
        sys.executable, "-m", "reach_dq", "golive", "--base-url", base_url,
        "--as-of", AS_OF.isoformat(), "--months", "2",
        "--warehouse", str(tmp_path / "warehouse.duckdb"), "--docs-dir", str(tmp_path / "docs"),
        "--json", str(report_path), *options,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300,
                               env={**os.environ, **environment}, check=False)
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return completed, report


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {row["test"]: row["status"] for row in report["scorecard"]["rows"]}


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("golive-healthy")
    with serve_in_background(PartnerConfig(companies=2, as_of=AS_OF, token=TOKEN)) as server:
        completed, report = run_golive(server.base_url, folder, {"GOLIVE_T": TOKEN},
                                       "--token-env", "GOLIVE_T")
    return completed, report, folder


def test_healthy_partner_is_ready_and_exits_0(healthy) -> None:
    completed, report, _ = healthy

    assert completed.returncode == 0, completed.stderr[-3000:]
    assert statuses(report) == dict.fromkeys(ROWS, "ready")
    assert report["scorecard"]["ready"] is True
    assert "verdict: ready for go-live" in completed.stdout
    assert report["snapshot"]["command"] == "golive"


def test_golive_page_is_linked_from_index(healthy) -> None:
    _, _, folder = healthy

    index = (folder / "docs" / "index.html").read_text()
    page = (folder / "docs" / "golive.html").read_text()
    assert '<a href="golive.html">Go-live scorecard</a>' in index
    assert "<strong>Verdict: ready for go-live</strong>" in page


def test_probes_are_recorded_without_token(healthy) -> None:
    _, report, folder = healthy
    snapshot_id = report["snapshot"]["snapshot_id"]

    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as connection:
        probes = dict(connection.execute(
            "SELECT probe, count(*) FROM http_exchanges WHERE snapshot_id = ? AND probe IS NOT NULL "
            "GROUP BY probe", [snapshot_id]).fetchall())
        status = connection.execute("SELECT status FROM snapshots WHERE snapshot_id = ?",
                                    [snapshot_id]).fetchone()
        stored = connection.execute(
            "SELECT string_agg(e::VARCHAR, ' ') FROM http_exchanges AS e").fetchone()[0]
        bodies = connection.execute("SELECT string_agg(body, ' ') FROM raw_responses").fetchone()[0]
    assert probes["auth.missing_token"] == 11
    assert probes["http.unknown_company"] == 10
    assert probes["stability.closed_months"] == 12  # 2 companies, 3 statements, 2 bases
    assert status == ("complete",)
    assert TOKEN not in stored
    assert TOKEN not in bodies
    assert TOKEN not in (folder / "report.json").read_text()


def test_faults_exit_1_naming_evidence(tmp_path: Path) -> None:
    config = PartnerConfig(companies=2, as_of=AS_OF, token=TOKEN,
                           faults=("no-auth", "isolation-breach"),
                           customer_tokens={OTHER_TOKEN: ("C002",)})
    with serve_in_background(config) as server:
        completed, report = run_golive(server.base_url, tmp_path,
                                       {"GOLIVE_T": TOKEN, "GOLIVE_T2": OTHER_TOKEN},
                                       "--token-env", "GOLIVE_T", "--token-env", "GOLIVE_T2")

    assert completed.returncode == 1, completed.stderr[-3000:]
    rows = statuses(report)
    assert rows["access and authentication"] == "not ready"
    assert rows["isolation"] == "not ready"
    assert rows["endpoints and formatting"] == "ready"
    assert "auth.missing_token [company]: company: a request without a token was not rejected" \
        in completed.stdout
    assert ("isolation.cross_company [company]: --token-env GOLIVE_T reading C002 of "
            "--token-env GOLIVE_T2: GET /companies/C002 -> 200") in completed.stdout
    assert TOKEN not in completed.stdout + completed.stderr


def test_client_credentials_get_own_tokens(tmp_path: Path) -> None:
    config = PartnerConfig(companies=2, as_of=AS_OF, faults=("refresh-fails",))
    with serve_in_background(config) as server:
        completed, report = run_golive(server.base_url, tmp_path,
                                       {"GOLIVE_SECRET": "reach-dq-demo-secret"},
                                       "--client-id", "reach-dq-demo",
                                       "--client-secret-env", "GOLIVE_SECRET")

    assert completed.returncode == 1, completed.stderr[-3000:]
    oauth = {f["check"]: f["outcome"] for f in report["findings"] if f["check"].startswith("oauth.")}
    assert oauth == {"oauth.discovery": "passed", "oauth.endpoints": "passed",
                     "oauth.token_grant": "passed", "oauth.refresh": "failed"}
    assert statuses(report)["access and authentication"] == "not ready"
    assert "reach-dq-demo-secret" not in json.dumps(report)


def test_golive_without_credentials_is_usage_error(tmp_path: Path) -> None:
    completed, report = run_golive("http://127.0.0.1:9", tmp_path, {})

    assert completed.returncode == 2
    assert completed.stderr == (
        "reach-dq: error: give --token-env, or --client-id with --client-secret-env\n"
    )
    assert report is None


def test_spec_renamed_field_is_finding(tmp_path: Path) -> None:
    document = yaml.safe_load(DEFAULT_SPEC_PATH.read_text())
    company = document["components"]["schemas"]["Company"]
    company["properties"]["CompanyTitle"] = company["properties"].pop("CompanyName")
    company["required"] = ["CompanyTitle" if name == "CompanyName" else name
                           for name in company["required"]]
    spec = tmp_path / "renamed.yaml"
    spec.write_text(yaml.safe_dump(document, sort_keys=False))

    with serve_in_background(PartnerConfig(companies=1, as_of=AS_OF)) as server:
        run = run_validate(server.base_url, server.token, tmp_path, "--as-of", AS_OF.isoformat(),
                           "--months", "2", "--spec", str(spec))

    assert run.exit_code == 1
    company_findings = {f["check"]: f for f in run.findings
                        if f["dataset"] == "company" and f["check"].startswith("contract.")}
    schema = company_findings["contract.response_schema"]
    assert schema["outcome"] == "failed"
    assert schema["failure_cases"][0]["field"] == "CompanyTitle"
    extra = company_findings["contract.extra_fields"]
    assert extra["outcome"] == "warning"
    assert "CompanyName" in extra["message"]
