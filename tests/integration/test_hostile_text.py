"""Hostile text from a partner never runs in the data docs: checked in headless Chromium.

The ``hostile-names`` fault puts ``<script>`` and ``<img onerror>`` payloads into the company
name, the currency, an account's name and type, and an error message. Each payload adds an
element named ``reach-dq-xss-...`` to the page if a browser runs it. Every HTML page of the docs
folder that contains a payload is opened in Chromium, and its DOM after loading must contain no
such element. Chromium runs with every outside host unresolvable and a dead proxy, so the CDN
assets that the GX pages reference are never fetched.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from reach_dq.partner.faults.transport import HOSTILE_MARKERS, HOSTILE_TEXT
from tests.integration.reliability_support import TimedRun, fault_run

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Nothing may leave the machine: no host name resolves, and every request goes to a
    # closed port on 127.0.0.1.
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)
RAN = tuple(f"<{marker}" for marker in HOSTILE_MARKERS)  # what an executed payload adds
SHOWN = "&lt;script&gt;document.documentElement.appendChild("  # the payload shown as text

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")


def dump_dom(page: Path, profile: Path) -> str:
    """Load ``page`` in headless Chromium and return its DOM after the scripts have run."""
    assert CHROMIUM is not None
    completed = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> TimedRun:
    return fault_run("hostile-names", tmp_path_factory)


@pytest.fixture(scope="module")
def pages_with_payload(hostile: TimedRun) -> list[Path]:
    docs = hostile.folder / "docs"
    return sorted(
        page for page in docs.rglob("*.html")
        if any(marker in page.read_text(encoding="utf-8", errors="replace") for marker in HOSTILE_MARKERS)
    )


def test_payload_reaches_findings_unchanged(hostile: TimedRun) -> None:
    messages = " ".join(finding["message"] for finding in hostile.run.findings)
    assert "<script>document.documentElement.appendChild(" in messages
    case_values = [case.get("actual", "") for finding in hostile.run.findings for case in finding["failure_cases"]]
    assert any(HOSTILE_TEXT in value for value in case_values)


def test_payload_reaches_docs_pages(hostile: TimedRun, pages_with_payload: list[Path]) -> None:
    docs = hostile.folder / "docs"
    names = {page.name for page in pages_with_payload}
    assert docs / "index.html" in pages_with_payload
    assert "reach_dq-company.html" in names
    assert "reach_dq-chart_of_accounts.html" in names


@needs_chromium
def test_detector_sees_raw_payload(tmp_path: Path) -> None:
    page = tmp_path / "raw.html"
    page.write_text(f"<!DOCTYPE html><html><body><p>{HOSTILE_TEXT}</p></body></html>", encoding="utf-8")
    dom = dump_dom(page, tmp_path / "profile")
    for ran in RAN:
        assert ran in dom


@needs_chromium
def test_no_payload_runs_in_docs(pages_with_payload: list[Path], tmp_path: Path) -> None:
    for index, page in enumerate(pages_with_payload):
        dom = dump_dom(page, tmp_path / f"profile-{index}")
        assert [ran for ran in RAN if ran in dom] == [], page
        assert SHOWN in dom, page
