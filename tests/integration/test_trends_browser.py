"""The trends page in a real browser: headless Chromium renders every chart as SVG, offline.

Chromium is Debian's package (``/usr/bin/chromium``); ``.ci/run`` installs it when missing. The
flags keep it from contacting any host: the page itself loads nothing from the network.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from reach_dq.findings import Category, Finding, Outcome
from reach_dq.publish.trends import write_trends_page
from reach_dq.status import partner_statuses
from reach_dq.warehouse.warehouse import Warehouse
from tests.unit.nightly.builders import add_snapshot, chart, night, statement

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
VIRTUAL_TIME_MS = 10_000  # page time Chromium grants the scripts before it dumps or shoots
CHART_IDS = ["pass-rate", "findings-by-category", "rows", "p95-latency"]
BODIES = {
    ("listChartOfAccounts", "C001"): chart(("A100", "Cash", "ASSET"), ("R400", "Sales", "REVENUE")),
    ("getProfitAndLoss", "C001"): statement(("R400", 10.0), ("R401", 2.0)),
}


def findings_of(day: int) -> list[Finding]:
    passed = Finding("pandera.profit_and_loss", Category.FORMATTING, "profit_and_loss", Outcome.PASSED, "ok", "C001")
    failed = Finding("accuracy.x", Category.ACCURACY, "balance_sheet", Outcome.FAILED, "off", "C001")
    warned = Finding("drift.schema", Category.DRIFT, "budgets", Outcome.WARNING, "changed")
    return [passed, passed, failed] if day % 3 == 0 else [passed, warned] if day % 3 == 1 else [passed]


@pytest.fixture(scope="module")
def trends_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser")
    now = night(16, hour=6)
    with Warehouse.open(folder / "w.duckdb") as warehouse:
        for day in range(1, 16):
            add_snapshot(warehouse, partner="northwind", started_at=night(day), bodies=BODIES,
                         findings=findings_of(day), latency_ms=20.0 + day)
            add_snapshot(warehouse, partner="contoso", started_at=night(day, hour=3), bodies=BODIES,
                         findings=findings_of(day + 1), latency_ms=60.0 - day)
        statuses = partner_statuses(warehouse.connection, ["northwind", "contoso"], now=now, stale_after_hours=26)
        return write_trends_page(folder / "docs" / "index.html", warehouse.connection, statuses=statuses,
                                 now=now, stale_after_hours=26, links={})


def chromium(folder: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed; .ci/run installs Debian's chromium package")
    profile = folder / "chromium-profile"
    command = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_every_chart_renders_svg_marks(trends_page: Path) -> None:
    completed = chromium(trends_page.parent.parent, f"--virtual-time-budget={VIRTUAL_TIME_MS}", "--dump-dom", trends_page.as_uri())

    assert completed.returncode == 0, completed.stderr[-2000:]
    sections = chart_sections(completed.stdout)
    assert list(sections) == CHART_IDS
    for chart_id, section in sections.items():
        assert re.search(r'<svg[^>]*class="marks"', section), f"chart {chart_id} has no rendered SVG"
    for chart_id in ("pass-rate", "rows", "p95-latency"):
        assert 'class="mark-line' in sections[chart_id], f"chart {chart_id} has no line"
    assert "mark-rect" in sections["findings-by-category"]


def chart_sections(dom: str) -> dict[str, str]:
    """Return the DOM text from each chart container to the next one, by chart id."""
    starts = [(match.start(), match.group(1)) for match in re.finditer(r'<div class="chart[^"]*" id="([a-z0-9-]+)"', dom)]
    ends = [start for start, _ in starts[1:]] + [len(dom)]
    return {chart_id: dom[start:end] for (start, chart_id), end in zip(starts, ends, strict=True)}


def test_screenshot_shows_the_page(trends_page: Path) -> None:
    shot = trends_page.parent / "trends.png"
    completed = chromium(
        trends_page.parent.parent, f"--virtual-time-budget={VIRTUAL_TIME_MS}", "--window-size=1200,2000",
        f"--screenshot={shot}", trends_page.as_uri(),
    )

    assert completed.returncode == 0, completed.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1200, 2000)
    # A blank white page compresses to a few kilobytes; four charts with axes and legends do not.
    assert len(data) > 60_000
