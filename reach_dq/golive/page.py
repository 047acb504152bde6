"""The go-live page of the data docs (``golive.html``): the scorecard and its evidence.

Everything that came from a partner (ids, messages quoting values) is HTML-escaped, and the page
carries no script and loads nothing from the network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from reach_dq.exceptions import PublishError
from reach_dq.findings import Finding
from reach_dq.golive.scorecard import ScorecardRow, is_ready

PAGE_NAME = "golive.html"
CASE_FIELDS = ("company_id", "account_id", "date", "basis", "field", "expected", "actual", "delta")
SNAPSHOT_FIELDS = ("snapshot_id", "base_url", "as_of", "first_month", "last_month", "spec_title",
                   "status")

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2330; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #c9ced8; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
/* Partner bodies and URLs have no spaces, so cells may break anywhere to fit the window. */
td { overflow-wrap: anywhere; }
th, code { overflow-wrap: normal; }
th { background: #eef1f6; }
.ready { color: #1a7f37; } .not-ready { color: #a4161a; } .not-evaluated { color: #57606a; }
"""


def write_golive_page(
    docs_dir: Path, *, snapshot: Mapping[str, Any], rows: Sequence[ScorecardRow]
) -> Path:
    path = docs_dir / PAGE_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_golive_page(snapshot, rows), encoding="utf-8")
    except OSError as exc:
        raise PublishError(f"cannot write the go-live page {str(path)!r}: {exc.strerror}") from exc
    return path


def render_golive_page(snapshot: Mapping[str, Any], rows: Sequence[ScorecardRow]) -> str:
    verdict = "ready for go-live" if is_ready(rows) else "not ready for go-live"
    verdict_class = "ready" if is_ready(rows) else "not-ready"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>reach-dq go-live scorecard</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Go-live scorecard</h1>",
        f'<p class="{verdict_class}"><strong>Verdict: {verdict}</strong></p>',
        '<p><a href="index.html">All findings of this run</a></p>',
        _snapshot_table(snapshot),
        _scorecard_table(rows),
    ]
    parts += [_evidence(row) for row in rows if row.failed]
    parts.append("</body></html>")
    return "\n".join(parts)


def _snapshot_table(snapshot: Mapping[str, Any]) -> str:
    cells = "".join(
        f"<tr><th>{name}</th><td>{escape(str(snapshot.get(name, '')))}</td></tr>"
        for name in SNAPSHOT_FIELDS
    )
    return f"<table>{cells}</table>"


def _scorecard_table(rows: Sequence[ScorecardRow]) -> str:
    body = "".join(
        f'<tr><th>{escape(str(row.test))}</th>'
        f'<td class="{str(row.status).replace(" ", "-")}">{escape(str(row.status))}</td>'
        f"<td>{row.findings}</td><td>{len(row.failed)}</td></tr>"
        for row in rows
    )
    header = "<tr><th>lifecycle test</th><th>status</th><th>findings</th><th>failed</th></tr>"
    return f"<h2>Scorecard</h2><table>{header}{body}</table>"


def _evidence(row: ScorecardRow) -> str:
    title = f"<h2>{escape(str(row.test))}: failed findings ({len(row.failed)})</h2>"
    header = "<tr><th>check</th><th>dataset</th><th>company</th><th>message</th></tr>"
    body = "".join(_finding_row(finding) for finding in row.failed)
    return f"{title}<table>{header}{body}</table>"


def _finding_row(finding: Finding) -> str:
    cells = [
        f"<code>{escape(finding.check)}</code>",
        escape(finding.dataset),
        escape(finding.company_id or ""),
        escape(finding.message) + _cases(finding),
    ]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _cases(finding: Finding) -> str:
    if not finding.failure_cases:
        return ""
    header = "".join(f"<th>{name}</th>" for name in CASE_FIELDS)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(getattr(case, name) or '')}</td>" for name in CASE_FIELDS)
        + "</tr>"
        for case in finding.failure_cases
    )
    return f"<table><tr>{header}</tr>{rows}</table>"
