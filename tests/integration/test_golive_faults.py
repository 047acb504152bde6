"""Each go-live fault of the reference server is caught by its probe and only its scorecard row.

The probes run in-process (fetch, store and probe stages, without the Great Expectations
suites of validate) against a real server on 127.0.0.1, so every fault costs about a second.
The command-line runs are in test_golive_end_to_end.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from reach_dq import pipeline
from reach_dq.findings import Finding, Outcome
from reach_dq.golive.scorecard import RowStatus, build_scorecard
from reach_dq.partner.server import PartnerConfig, serve_in_background
from reach_dq.settings import RunOptions

pytestmark = pytest.mark.integration

AS_OF = dt.date(2026, 7, 15)
OTHER_TOKEN = "other-customer-token"
CLIENT_SECRET = "reach-dq-demo-secret"  # the reference server's default demo client

# fault -> (scorecard row, failing check, text of the evidence in the finding's message)
FAULT_ROWS = {
    "no-auth": ("access and authentication", "auth.missing_token",
                "-> 200 application/json"),
    "html-login-page": ("access and authentication", "auth.missing_token", "-> 200 text/html"),
    "discovery-missing-field": ("access and authentication", "oauth.discovery",
                                "the document lacks token_endpoint_auth_methods_supported"),
    "refresh-fails": ("access and authentication", "oauth.refresh",
                      "the refresh_token grant failed"),
    "wrong-content-type": ("endpoints and formatting", "http.content_type",
                           "'text/plain; charset=utf-8'"),
    "unknown-company-200": ("endpoints and formatting", "http.unknown_company",
                            '-> 200 application/json: {"Data":[]}'),
    "bad-limit-accepted": ("endpoints and formatting", "http.invalid_page_parameters",
                           "?limit=0 -> 200"),
    "reversed-dates-accepted": ("endpoints and formatting", "http.reversed_date_range",
                                "StartDate=2026-06-30&EndDate=2026-06-01"),
    "empty-as-null": ("endpoints and formatting", "http.empty_result", '{"Data":null}'),
    "pagination-total-mismatch": ("endpoints and formatting", "pagination.pages_match_total",
                                  "do not match total 23"),
    "pagination-duplicate-record": ("endpoints and formatting", "pagination.pages_match_total",
                                    "first: AccountId 'ACC2500' -> on the pages at offsets 0 and 8"),
    "slow-operation": ("reliability", "latency.p95_within_budget", "p95 over the 2-second budget"),
    "unstable-figures": ("reliability", "stability.closed_months",
                         "the second pull differs from the first"),
    "isolation-breach": ("isolation", "isolation.cross_company", "a breach of isolation"),
}


def probe_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *faults: str, mode: str = "token"
) -> list[Finding]:
    """Run fetch, store and probe against a fresh server; ``mode`` picks the credentials.

    token: one --token-env; two-tokens: a second customer's token too; client: an OAuth client.
    """
    config = PartnerConfig(companies=2, as_of=AS_OF, faults=faults,
                           customer_tokens={OTHER_TOKEN: ("C002",)})
    with serve_in_background(config) as server:
        monkeypatch.setenv("GOLIVE_T", server.token)
        monkeypatch.setenv("GOLIVE_T2", OTHER_TOKEN)
        monkeypatch.setenv("GOLIVE_SECRET", CLIENT_SECRET)
        credentials = {
            "token": {"token_env": "GOLIVE_T"},
            "two-tokens": {"token_env": "GOLIVE_T", "extra_token_envs": ("GOLIVE_T2",)},
            "client": {"token_env": "", "client_id": "reach-dq-demo",
                       "client_secret_env": "GOLIVE_SECRET"},
        }[mode]
        options = RunOptions(base_url=server.base_url, command="golive", as_of=AS_OF, months=2,
                             warehouse=tmp_path / "w.duckdb", docs_dir=tmp_path / "docs",
                             **credentials)
        fetched = pipeline.fetch(options)
        pipeline.store(options, fetched.snapshot_id)
        return pipeline.probe(options, fetched.snapshot_id)


def not_ready(findings: list[Finding]) -> dict[str, list[Finding]]:
    return {str(row.test): list(row.failed) for row in build_scorecard(findings)
            if row.status is RowStatus.NOT_READY}


@pytest.mark.parametrize("mode", ["token", "two-tokens", "client"])
def test_healthy_server_fails_no_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       mode: str) -> None:
    findings = probe_findings(tmp_path, monkeypatch, mode=mode)

    assert [f.message for f in findings if f.outcome is Outcome.FAILED] == []
    rows = {str(row.test): row.status for row in build_scorecard(findings)}
    assert rows["access and authentication"] is RowStatus.READY
    assert rows["isolation"] is RowStatus.READY


@pytest.mark.parametrize("fault", sorted(FAULT_ROWS))
def test_fault_makes_only_its_row_not_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    row, check, evidence = FAULT_ROWS[fault]
    mode = {"isolation-breach": "two-tokens", "refresh-fails": "client"}.get(fault, "token")

    findings = probe_findings(tmp_path, monkeypatch, fault, mode=mode)

    failing = not_ready(findings)
    assert list(failing) == [row]
    assert check in {finding.check for finding in failing[row]}
    messages = [finding.message for finding in failing[row] if finding.check == check]
    assert any(evidence in message for message in messages), messages


def test_isolation_breach_needs_second_token(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # With one token reach-dq cannot know another customer's CompanyIds, so it only checks an
    # unlisted CompanyId, which a server that ignores token scopes still refuses with 404.
    findings = probe_findings(tmp_path, monkeypatch, "isolation-breach")

    isolation = [f for f in findings if f.check == "isolation.unlisted_company"]
    assert [f.outcome for f in isolation] == [Outcome.PASSED, Outcome.PASSED]
    assert not_ready(findings) == {}
