from __future__ import annotations

from pathlib import Path

from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.golive.page import render_golive_page, write_golive_page
from reach_dq.golive.scorecard import build_scorecard

HOSTILE = '<script>alert("x")</script>'


def test_page_escapes_partner_text(tmp_path: Path) -> None:
    failed = Finding("auth.missing_token", Category.SECURITY, "company", Outcome.FAILED,
                     f"company: got {HOSTILE}", HOSTILE,
                     failure_count=1, failure_cases=(FailureCase(actual=HOSTILE),))

    html = render_golive_page({"snapshot_id": "s1", "base_url": HOSTILE}, build_scorecard([failed]))

    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_page_shows_verdict_and_rows(tmp_path: Path) -> None:
    ready = Finding("http.content_type", Category.FORMATTING, "company", Outcome.PASSED, "ok")

    path = write_golive_page(tmp_path, snapshot={"snapshot_id": "s1"}, rows=build_scorecard([ready]))

    html = path.read_text()
    assert path == tmp_path / "golive.html"
    assert "<strong>Verdict: not ready for go-live</strong>" in html
    assert '<tr><th>endpoints and formatting</th><td class="ready">ready</td><td>1</td><td>0</td></tr>' in html
    assert '<a href="index.html">' in html
    assert "http://" not in html
    assert "https://" not in html


def test_page_wraps_long_partner_bodies() -> None:
    body = '{"Data":[' + '{"AccountId":"ACC8000"},' * 40 + "]}"
    failed = Finding("pagination.offset_past_end", Category.FORMATTING, "chart_of_accounts",
                     Outcome.FAILED, f"first: 200 {body}", "C001",
                     failure_count=1, failure_cases=(FailureCase(actual=body),))

    html = render_golive_page({"snapshot_id": "s1"}, build_scorecard([failed]))

    assert "td { overflow-wrap: anywhere; }" in html
    assert "th, code { overflow-wrap: normal; }" in html
