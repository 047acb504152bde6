"""The cross-partner trends page: status table, four Altair charts, no network, no script injection."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reach_dq.findings import Category, Finding, Outcome
from reach_dq.publish.trends import build_charts, render_trends_page, trend_frames, write_trends_page
from reach_dq.status import PartnerStatus, partner_statuses
from reach_dq.warehouse.warehouse import Warehouse
from tests.unit.nightly.builders import add_snapshot, chart, night, statement

BODIES = {
    ("listChartOfAccounts", "C001"): chart(("A100", "Cash", "ASSET"), ("R400", "Sales", "REVENUE")),
    ("getProfitAndLoss", "C001"): statement(("R400", 10.0)),
}
PASSED = Finding("pandera.chart_of_accounts", Category.FORMATTING, "chart_of_accounts", Outcome.PASSED, "ok", "C001")
FAILED = Finding("accuracy.x", Category.ACCURACY, "balance_sheet", Outcome.FAILED, "off", "C001")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("trends")
    now = night(12, hour=6)
    with Warehouse.open(folder / "w.duckdb") as warehouse:
        for day in (10, 11, 12):
            add_snapshot(warehouse, partner="acme", started_at=night(day), bodies=BODIES, findings=[PASSED, FAILED] if day == 11 else [PASSED])
            add_snapshot(warehouse, partner="<b>globex</b>", started_at=night(day, hour=3), bodies=BODIES, findings=[PASSED])
        statuses = partner_statuses(warehouse.connection, ["acme", "<b>globex</b>"], now=now, stale_after_hours=26)
        path = write_trends_page(
            folder / "docs" / "index.html", warehouse.connection, statuses=statuses, now=now,
            stale_after_hours=26, links={"acme": "partners/acme/index.html"},
        )
    return path.read_text(encoding="utf-8")


def test_page_has_four_chart_containers(page: str) -> None:
    ids = re.findall(r'<div class="chart" id="([a-z0-9-]+)"', page)

    assert ids == ["pass-rate", "findings-by-category", "rows", "p95-latency"]


def test_page_embeds_vega_inline_and_loads_nothing(page: str) -> None:
    assert "vegaEmbed(" in page
    assert re.search(r"<script[^>]*\ssrc=", page) is None
    assert re.search(r"<link[^>]*\shref=", page) is None


def test_partner_names_are_escaped(page: str) -> None:
    assert "<b>globex</b>" not in page
    assert "<td>&lt;b&gt;globex&lt;/b&gt;</td>" in page
    assert "\\u003cb\\u003eglobex" in page  # in the chart data


def test_status_row_links_partner_page(page: str) -> None:
    assert '<td><a href="partners/acme/index.html">acme</a></td>' in page


def test_frames_hold_one_row_per_run(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as warehouse:
        add_snapshot(warehouse, started_at=night(10), bodies=BODIES, findings=[PASSED, FAILED])
        add_snapshot(warehouse, started_at=night(11), bodies=BODIES, findings=[PASSED])
        frames = trend_frames(warehouse.connection, ["acme"])

    assert frames["pass_rate"]["pass_rate"].tolist() == [1.0, 0.5]
    assert frames["rows"]["typed_rows"].tolist() == [3, 3]
    assert frames["categories"][["category", "findings"]].values.tolist() == [["accuracy", 1]]
    assert frames["latency"]["p95_ms"].tolist() == [10.0, 10.0]
    assert frames["pass_rate"]["run"].tolist() == ["2026-07-11T02:00:00Z", "2026-07-10T02:00:00Z"]


def test_no_runs_means_no_charts(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as warehouse:
        charts = build_charts(trend_frames(warehouse.connection, ["acme"]))
    html = render_trends_page([PartnerStatus("acme")], charts, now=night(1), stale_after_hours=26, links={})

    assert charts == {}
    assert "No finished nightly run yet, so there is nothing to chart." in html
    assert "<script" not in html
    assert '<span class="overdue">overdue</span>' in html
