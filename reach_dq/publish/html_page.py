"""The reach-dq page of the data docs: every finding of one run, linked to the GX data docs.

Everything that came from a partner (names, ids, messages quoting values) is HTML-escaped, and
the page carries no script.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from reach_dq.exceptions import PublishError
from reach_dq.findings import Finding, Outcome
from reach_dq.publish.summary import count_by_category, count_outcomes

CASE_FIELDS = (
    "company_id", "account_id", "date", "basis", "scope", "field", "expected", "actual", "delta"
)
SECTION_ORDER = (Outcome.FAILED, Outcome.WARNING, Outcome.NOT_EVALUATED, Outcome.PASSED)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2330; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #c9ced8; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
/* Partner bodies and URLs have no spaces, so cells may break anywhere to fit the window. */
td { overflow-wrap: anywhere; }
th, code { overflow-wrap: normal; }
/* Check and dataset names break after their dots and underscores only. A finding's failure
   cases wrap at spaces, and a table of them wider than the window scrolls inside its own box,
   so the page itself fits the window. */
td code, td.name { overflow-wrap: normal; }
.cases { overflow-x: auto; max-width: calc(100vw - 6rem); }
.cases table { margin: 0; }
.cases th { white-space: nowrap; }
.cases td { overflow-wrap: normal; }
/* The first five of CASE_FIELDS (company to scope) stay on one line: "budget BG01". */
.cases td:nth-child(-n+5) { white-space: nowrap; }
th { background: #eef1f6; }
.failed { color: #a4161a; } .warning { color: #9a6700; }
.not_evaluated { color: #57606a; } .passed { color: #1a7f37; }
code { font-size: 0.9em; }
"""


def write_findings_page(
    path: Path,
    *,
    snapshot: Mapping[str, Any],
    findings: Sequence[Finding],
    gx_docs_index: Path | None,
    links: Sequence[tuple[str, str]] = (),
) -> Path:
    """Write the page; ``links`` are (text, href relative to the page) of further pages."""
    pages = {}
    if gx_docs_index is not None:
        run_name = str(snapshot.get("snapshot_id", ""))
        found = suite_result_pages(gx_docs_index.parent, run_name)
        pages = {dataset: _relative_link(path, page) for dataset, page in found.items()}
    html = render_page(snapshot, findings, _relative_link(path, gx_docs_index), pages, links)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise PublishError(f"cannot write the data docs page {str(path)!r}: {exc.strerror}") from exc
    return path


def render_page(
    snapshot: Mapping[str, Any],
    findings: Sequence[Finding],
    gx_link: str | None,
    gx_pages: Mapping[str, str] | None = None,
    links: Sequence[tuple[str, str]] = (),
) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>reach-dq findings</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>reach-dq findings</h1>",
        _snapshot_table(snapshot),
        _summary_table(findings),
    ]
    parts += [f'<p><a href="{escape(href)}">{escape(text)}</a></p>' for text, href in links]
    parts.append(_suites_table(findings, gx_pages or {}))
    if gx_link:
        parts.append(
            f'<p>Great Expectations data docs: <a href="{escape(gx_link)}">index</a> '
            "(its tables and icons load from the internet; the suite pages above show their "
            "results without it, unstyled)</p>"
        )
    for outcome in SECTION_ORDER:
        parts.append(_section(outcome, [f for f in findings if f.outcome is outcome]))
    parts.append("</body></html>")
    return "\n".join(parts)


def _snapshot_table(snapshot: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{escape(str(name))}</th><td>{escape(_snapshot_value(value))}</td></tr>"
        for name, value in snapshot.items()
    )
    return f"<table>{rows}</table>"


def _snapshot_value(value: object) -> str:
    """Return a snapshot field as page text: ``-`` for none, a list as comma-separated items."""
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value)
    return str(value)


def _summary_table(findings: Sequence[Finding]) -> str:
    outcomes = [str(outcome) for outcome in Outcome]
    header = "".join(f'<th class="{name}">{name}</th>' for name in outcomes)
    body = []
    for category, row in count_by_category(findings).items():
        cells = "".join(f"<td>{row[name]}</td>" for name in outcomes)
        body.append(f"<tr><th>{escape(category)}</th>{cells}</tr>")
    totals = count_outcomes(findings)
    total_cells = "".join(f"<td>{totals[name]}</td>" for name in outcomes)
    body.append(f"<tr><th>total</th>{total_cells}</tr>")
    return f"<h2>Summary</h2><table><tr><th>category</th>{header}</tr>{''.join(body)}</table>"


def suite_result_pages(gx_root: Path, run_name: str) -> dict[str, Path]:
    """Return the GX validation result page of each suite of one run, keyed by dataset.

    GX writes them as ``validations/<suite path>/<run name>/<run time>/<file>.html``, and a suite
    named ``reach_dq.<dataset>`` becomes the path ``reach_dq/<dataset>``.
    """
    pages: dict[str, Path] = {}
    if not run_name:
        return pages
    for page in sorted((gx_root / "validations" / "reach_dq").glob(f"*/{run_name}/*/*.html")):
        pages[page.parents[2].name] = page
    return pages


def _suites_table(findings: Sequence[Finding], pages: Mapping[str, str]) -> str:
    counts: dict[str, dict[str, int]] = {}
    for finding in findings:
        if finding.check.startswith("gx."):
            row = counts.setdefault(finding.dataset, {str(outcome): 0 for outcome in Outcome})
            row[str(finding.outcome)] += 1
    if not counts:
        return "<h2>Great Expectations suites</h2><p>No suite ran.</p>"

    outcomes = [str(outcome) for outcome in Outcome]
    header = "".join(f'<th class="{name}">{name}</th>' for name in outcomes)
    rows = []
    for dataset in sorted(counts):
        cells = "".join(f"<td>{counts[dataset][name]}</td>" for name in outcomes)
        link = pages.get(dataset)
        result = f'<a href="{escape(link)}">result page</a>' if link else "no result page (no rows)"
        rows.append(f"<tr><th>reach_dq.{escape(dataset)}</th>{cells}<td>{result}</td></tr>")
    return (
        "<h2>Great Expectations suites</h2>"
        f"<table><tr><th>suite</th>{header}<th>validation result</th></tr>{''.join(rows)}</table>"
    )


def _section(outcome: Outcome, findings: Sequence[Finding]) -> str:
    title = f'<h2 class="{outcome}">{outcome.value.replace("_", " ")} ({len(findings)})</h2>'
    if not findings:
        return title
    rows = "".join(_finding_row(finding) for finding in findings)
    table = (
        "<table><tr><th>check</th><th>category</th><th>dataset</th><th>company</th>"
        f"<th>message</th><th>failures</th></tr>{rows}</table>"
    )
    if outcome is Outcome.PASSED:
        return f"{title}<details><summary>show passed checks</summary>{table}</details>"
    return title + table


def _finding_row(finding: Finding) -> str:
    cells = [
        f'<td class="name"><code>{_breakable(finding.check)}</code></td>',
        f'<td class="name">{escape(str(finding.category))}</td>',
        f'<td class="name">{_breakable(finding.dataset)}</td>',
        f"<td>{escape(finding.company_id or '')}</td>",
        f"<td>{escape(finding.message)}</td>",
        f"<td>{finding.failure_count}</td>",
    ]
    row = "<tr>" + "".join(cells) + "</tr>"
    if not finding.failure_cases:
        return row
    # The cases take a row of their own across every column, so they do not narrow the others.
    return row + f'<tr><td colspan="{len(cells)}">{_cases_table(finding)}</td></tr>'


def _breakable(name: str) -> str:
    """Escape a check or dataset name and let it break after each dot and underscore."""
    return re.sub(r"([._])", r"\1<wbr>", escape(name))


def _cases_table(finding: Finding) -> str:
    header = "".join(f"<th>{name}</th>" for name in CASE_FIELDS)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(getattr(case, name) or '')}</td>" for name in CASE_FIELDS) + "</tr>"
        for case in finding.failure_cases
    )
    shown = len(finding.failure_cases)
    note = f"showing {shown} of {finding.failure_count} cases" if finding.failure_count > shown else ""
    return f'<div class="cases"><table><tr>{header}</tr>{rows}</table></div>{note}'


def _relative_link(page: Path, target: Path | None) -> str | None:
    if target is None:
        return None
    return Path(os.path.relpath(target.resolve(), page.parent.resolve())).as_posix()
