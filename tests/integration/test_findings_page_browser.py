"""The findings page in headless Chromium: a wide table of failure cases fits the window.

A script added to the written page writes the document's scroll width into the DOM, which
``--dump-dom`` returns. A page wider than the window would scroll sideways as a whole.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.publish.html_page import write_findings_page
from tests.integration.test_trends_browser import chromium

pytestmark = pytest.mark.integration

SNAPSHOT = {"snapshot_id": "abc", "base_url": "http://127.0.0.1:1", "status": "complete"}
MEASURE = (
    "<script>document.body.setAttribute("
    "'data-scroll-width', document.documentElement.scrollWidth)</script></body>"
)


def wide_finding() -> Finding:
    case = FailureCase(
        company_id="C001", account_id="ACC40100001", date="2024-01-31", basis="ACCRUAL",
        field="Data[12].Amount", expected="a finite JSON number that DECIMAL(38, 10) stores exactly",
        actual='"80450.25" (sent, not stored)', delta="-123456789.0123456789",
    )
    return Finding(
        "gx.profit_and_loss.expect_column_values_to_not_be_null(amount)", Category.FORMATTING,
        "profit_and_loss", Outcome.FAILED, "18 of 5473 rows unexpected (0.33%)",
        company_id="C001", failure_count=18, failure_cases=(case, case, case),
    )


def scroll_width(tmp_path: Path, window_width: int) -> int:
    page = write_findings_page(
        tmp_path / "index.html", snapshot=SNAPSHOT, findings=[wide_finding()], gx_docs_index=None
    )
    page.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE), encoding="utf-8")
    completed = chromium(tmp_path, f"--window-size={window_width},900", "--dump-dom", page.as_uri())
    found = re.search(r'data-scroll-width="(\d+)"', completed.stdout)
    assert found, completed.stderr[-2000:]
    return int(found[1])


def test_failure_cases_fit_1280_px_window(tmp_path: Path) -> None:
    assert scroll_width(tmp_path, 1280) <= 1280
