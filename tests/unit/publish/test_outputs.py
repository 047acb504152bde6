from __future__ import annotations

import json
from pathlib import Path

from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.publish.html_page import write_findings_page
from reach_dq.publish.json_report import write_json_report
from reach_dq.publish.terminal import render_summary

SNAPSHOT = {"snapshot_id": "abc", "base_url": "http://127.0.0.1:1", "status": "complete"}

FAILED = Finding(
    "accuracy.balance_sheet_vs_net_income",
    Category.ACCURACY,
    "balance_sheet",
    Outcome.FAILED,
    "balance sheet of C001 is off",
    company_id="C001",
    failure_count=1,
    failure_cases=(FailureCase(company_id="C001", date="2025-03-31", basis="ACCRUAL", expected="10.00", actual="10.01", delta="0.01"),),
)
PASSED = Finding("pandera.company", Category.FORMATTING, "company", Outcome.PASSED, "ok", company_id="C001")


def test_json_report_has_findings_and_counts(tmp_path: Path) -> None:
    path = write_json_report(tmp_path / "out" / "r.json", snapshot=SNAPSHOT, findings=[FAILED, PASSED])
    report = json.loads(path.read_text())
    assert report["summary"]["outcomes"] == {"passed": 1, "failed": 1, "warning": 0, "not_evaluated": 0}
    assert report["findings"][0]["failure_cases"] == [
        {"company_id": "C001", "date": "2025-03-31", "basis": "ACCRUAL", "expected": "10.00", "actual": "10.01", "delta": "0.01"}
    ]
    assert report["snapshot"]["snapshot_id"] == "abc"


def test_json_report_leaves_no_partial_file(tmp_path: Path) -> None:
    write_json_report(tmp_path / "r.json", snapshot=SNAPSHOT, findings=[PASSED])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_html_page_escapes_partner_text(tmp_path: Path) -> None:
    hostile = Finding(
        "contract.response_schema", Category.FORMATTING, "chart_of_accounts", Outcome.FAILED,
        "value <script>alert(1)</script>", company_id="<img src=x onerror=alert(2)>", failure_count=1,
        failure_cases=(FailureCase(actual="<b>bold</b>"),),
    )
    page = write_findings_page(tmp_path / "index.html", snapshot=SNAPSHOT, findings=[hostile], gx_docs_index=None)
    html = page.read_text()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_html_page_snapshot_without_partner(tmp_path: Path) -> None:
    snapshot = {**SNAPSHOT, "partner": None, "requested_companies": ["C001", "C002"]}
    page = write_findings_page(tmp_path / "index.html", snapshot=snapshot, findings=[PASSED], gx_docs_index=None)
    html = page.read_text()
    assert "<tr><th>partner</th><td>-</td></tr>" in html
    assert "<tr><th>requested_companies</th><td>C001, C002</td></tr>" in html


def test_html_page_links_gx_docs_relatively(tmp_path: Path) -> None:
    gx_index = tmp_path / "gx" / "index.html"
    page = write_findings_page(tmp_path / "index.html", snapshot=SNAPSHOT, findings=[PASSED], gx_docs_index=gx_index)
    assert "<a href=\"gx/index.html\">index</a>" in page.read_text()


def test_terminal_summary_lists_failed_checks() -> None:
    text = render_summary([FAILED, PASSED])
    lines = text.splitlines()
    assert lines[1].split() == ["accuracy", "0", "1", "0", "0"]
    assert lines[2].split() == ["formatting", "1", "0", "0", "0"]
    assert (
        "  accuracy.balance_sheet_vs_net_income [balance_sheet]: balance sheet of C001 is off"
        " (first case: date 2025-03-31, basis ACCRUAL)"
    ) in lines


def test_terminal_summary_names_first_case_place() -> None:
    gx_failure = Finding(
        "gx.profit_and_loss.expect_column_values_to_not_be_null(amount)", Category.FORMATTING,
        "profit_and_loss", Outcome.FAILED, "18 of 5473 rows unexpected (0.33%)", failure_count=18,
        failure_cases=(FailureCase(company_id="C001", account_id="ACC4010", basis="CASH",
                                   scope="budget BG01", field="amount",
                                   actual='"90185.59" (sent, not stored)'),),
    )
    without_cases = Finding(
        "freshness.snapshot_age", Category.FRESHNESS, "user_info", Outcome.FAILED,
        "snapshot is 3 days old",
    )

    lines = render_summary([gx_failure, without_cases]).splitlines()

    assert lines[-2].endswith(
        "(first case: company C001, account ACC4010, basis CASH, budget BG01)"
    )
    assert lines[-1] == "  freshness.snapshot_age [user_info]: snapshot is 3 days old"


def test_html_page_lists_gx_suites_with_result_pages(tmp_path: Path) -> None:
    gx_root = tmp_path / "gx"
    result = gx_root / "validations" / "reach_dq" / "company" / "abc" / "20260101T000000Z" / "reach_dq-company.html"
    result.parent.mkdir(parents=True)
    result.write_text("<html></html>")
    (gx_root / "index.html").write_text("<html></html>")
    suite_findings = [
        Finding("gx.company.expect_column_values_to_not_be_null(company_name)", Category.FORMATTING, "company", Outcome.PASSED, "ok"),
        Finding("gx.company.expect_column_values_to_match_regex(currency)", Category.FORMATTING, "company", Outcome.FAILED, "1 of 3 rows unexpected"),
        Finding("gx.budgets.suite", Category.FORMATTING, "budgets", Outcome.NOT_EVALUATED, "0 rows"),
    ]

    page = write_findings_page(tmp_path / "index.html", snapshot=SNAPSHOT, findings=suite_findings, gx_docs_index=gx_root / "index.html")
    html = page.read_text()

    assert (
        "<tr><th>reach_dq.company</th><td>1</td><td>1</td><td>0</td><td>0</td>"
        '<td><a href="gx/validations/reach_dq/company/abc/20260101T000000Z/reach_dq-company.html">result page</a></td></tr>'
    ) in html
    assert "<tr><th>reach_dq.budgets</th><td>0</td><td>0</td><td>0</td><td>1</td><td>no result page (no rows)</td></tr>" in html


def test_first_case_place_matches_whole_values() -> None:
    # Company "1" and account "400" appear inside "16" and "4000" of the message, not as values.
    finding = Finding(
        "gx.profit_and_loss.expect_column_values_to_not_be_null(amount)", Category.FORMATTING,
        "profit_and_loss", Outcome.FAILED, "16 of 4000 rows unexpected (0.40%)", failure_count=16,
        failure_cases=(FailureCase(company_id="1", account_id="400", basis="CASH"),),
    )

    [line] = [line for line in render_summary([finding]).splitlines() if "gx." in line]

    assert line.endswith("(first case: company 1, account 400, basis CASH)")
