"""The cross-partner index of the nightly data docs: current status and trend charts.

The page shows one row per configured partner (last run, verdict, age, overdue flag, link to
the run's findings page) and four Altair charts over the nightly runs: pass rate, failed and
warning findings by category, typed rows, and p95 latency. The Vega, Vega-Lite and vega-embed
JavaScript is embedded inline (from ``vl-convert-python``), so the page loads nothing from the
network. Charts render as SVG. Partner-supplied text reaches the page only HTML-escaped, and
chart data is JSON with ``<``, ``>`` and ``&`` escaped, so no value can close the script.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from reach_dq.datasets import DATASETS
from reach_dq.exceptions import PublishError
from reach_dq.status import PartnerStatus, format_age

log = logging.getLogger(__name__)

MAX_RUNS = 400  # newest nightly runs charted across all partners
CHART_WIDTH = 640
CHART_HEIGHT = 180
EMBED_OPTIONS = {"renderer": "svg", "actions": False}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2330; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #c9ced8; padding: 0.25rem 0.5rem; text-align: left; }
th { background: #eef1f6; }
.failed, .run-failed, .overdue { color: #a4161a; font-weight: 600; } .warning { color: #9a6700; }
.passed { color: #1a7f37; } .never-run, .running { color: #57606a; }
.chart { margin: 0 0 2rem; } .empty { color: #57606a; font-style: italic; }
"""

_RUNS = f"""
    SELECT snapshot_id, partner, started_at, status FROM snapshots
    WHERE partner IN ({{names}}) AND status <> 'running'
    ORDER BY started_at DESC LIMIT {MAX_RUNS}
"""
_OUTCOMES = """
    SELECT snapshot_id, category, outcome, count(*) AS findings FROM findings
    WHERE snapshot_id IN (SELECT snapshot_id FROM runs) GROUP BY ALL
"""
_LATENCY = """
    SELECT snapshot_id, quantile_cont(latency_ms, 0.95) AS p95_ms FROM http_exchanges
    WHERE snapshot_id IN (SELECT snapshot_id FROM runs) AND latency_ms IS NOT NULL AND probe IS NULL
    GROUP BY snapshot_id
"""


def trend_frames(connection: duckdb.DuckDBPyConnection, partners: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Return the four chart tables, one row per run (and category), newest runs first."""
    names = ", ".join("?" * len(partners))
    runs = connection.execute(_RUNS.format(names=names), list(partners)).df() if partners else pd.DataFrame()
    if runs.empty:
        return {}
    connection.register("runs", runs[["snapshot_id"]])
    try:
        outcomes = connection.execute(_OUTCOMES).df()
        latency = connection.execute(_LATENCY).df()
        rows = connection.execute(_rows_sql()).df()
    finally:
        connection.unregister("runs")

    runs["run"] = pd.to_datetime(runs["started_at"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    base = runs[["snapshot_id", "partner", "run"]]
    return {
        "pass_rate": _pass_rate(base, outcomes),
        "categories": _categories(base, outcomes),
        "rows": base.merge(rows, on="snapshot_id", how="inner"),
        "latency": base.merge(latency, on="snapshot_id", how="inner"),
    }


def _rows_sql() -> str:
    counts = " UNION ALL ".join(
        f'SELECT snapshot_id, count(*) AS n FROM "{dataset.name}" '
        "WHERE snapshot_id IN (SELECT snapshot_id FROM runs) GROUP BY snapshot_id"
        for dataset in DATASETS
    )
    return f"SELECT snapshot_id, sum(n)::BIGINT AS typed_rows FROM ({counts}) GROUP BY snapshot_id"


def _pass_rate(base: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    judged = outcomes[outcomes["outcome"].isin(["passed", "failed", "warning"])]
    totals = judged.groupby("snapshot_id")["findings"].sum().rename("judged")
    passed = judged[judged["outcome"] == "passed"].groupby("snapshot_id")["findings"].sum().rename("passed")
    rates = pd.concat([totals, passed], axis=1).fillna(0).reset_index()
    rates["pass_rate"] = rates["passed"] / rates["judged"]
    return base.merge(rates[["snapshot_id", "pass_rate"]], on="snapshot_id", how="inner")


def _categories(base: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    problems = outcomes[outcomes["outcome"].isin(["failed", "warning"])]
    grouped = problems.groupby(["snapshot_id", "category"])["findings"].sum().reset_index()
    return base.merge(grouped, on="snapshot_id", how="inner")


def build_charts(frames: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    """Return the Vega-Lite specifications of the charts that have data, by chart id."""
    import altair as alt

    x = alt.X("run:T", title="run (UTC)", axis=alt.Axis(format="%Y-%m-%d %H:%M", labelAngle=-30))
    partner = alt.Color("partner:N", title="partner")
    size = {"width": CHART_WIDTH, "height": CHART_HEIGHT}
    charts: dict[str, Any] = {}
    if _has_rows(frames, "pass_rate"):
        charts["pass-rate"] = alt.Chart(frames["pass_rate"], title="Pass rate (passed of passed, warning and failed)").mark_line(point=True).encode(
            x, alt.Y("pass_rate:Q", title="pass rate", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])), partner,
            tooltip=["partner", "run:T", alt.Tooltip("pass_rate:Q", format=".1%")],
        ).properties(**size)
    if _has_rows(frames, "categories"):
        charts["findings-by-category"] = alt.Chart(frames["categories"], title="Failed and warning findings by category").mark_bar().encode(
            x, alt.Y("sum(findings):Q", title="findings"), alt.Color("category:N", title="category"),
            alt.Row("partner:N", title=None), tooltip=["partner", "run:T", "category", "findings"],
        ).properties(width=CHART_WIDTH, height=CHART_HEIGHT // 2)
    if _has_rows(frames, "rows"):
        charts["rows"] = alt.Chart(frames["rows"], title="Typed rows per run").mark_line(point=True).encode(
            x, alt.Y("typed_rows:Q", title="rows"), partner, tooltip=["partner", "run:T", "typed_rows"],
        ).properties(**size)
    if _has_rows(frames, "latency"):
        charts["p95-latency"] = alt.Chart(frames["latency"], title="p95 latency of all requests per run").mark_line(point=True).encode(
            x, alt.Y("p95_ms:Q", title="p95 latency (ms)"), partner,
            tooltip=["partner", "run:T", alt.Tooltip("p95_ms:Q", format=".0f")],
        ).properties(**size)
    return {chart_id: chart.to_dict() for chart_id, chart in charts.items()}


def _has_rows(frames: Mapping[str, pd.DataFrame], name: str) -> bool:
    frame = frames.get(name)
    return frame is not None and not frame.empty


@functools.cache
def vega_javascript() -> str:
    """Return the vega-embed bundle (Vega and Vega-Lite included) that matches Altair's schema."""
    import vl_convert
    from altair.utils._importers import vl_version_for_vl_convert

    return vl_convert.javascript_bundle(vl_version=vl_version_for_vl_convert())


def render_trends_page(
    statuses: Sequence[PartnerStatus],
    charts: Mapping[str, dict[str, Any]],
    *,
    now: dt.datetime,
    stale_after_hours: float,
    links: Mapping[str, str],
) -> str:
    """Return the whole HTML page; ``links`` maps a partner to its findings page, relative."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>reach-dq nightly</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>reach-dq nightly</h1>",
        f"<p>Generated {now.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC. A partner is overdue when no run "
        f"validated it in the last {stale_after_hours:g} hours.</p>",
        _status_table(statuses, now=now, links=links),
        "<h2>Trends</h2>",
    ]
    if not charts:
        parts.append('<p class="empty">No finished nightly run yet, so there is nothing to chart.</p>')
    parts += [f'<div class="chart" id="{chart_id}" data-chart="{chart_id}"></div>' for chart_id in charts]
    if charts:
        parts.append(f'<script type="text/javascript">{_script_safe(vega_javascript())}</script>')
        parts.append(f'<script type="text/javascript">{_embed_calls(charts)}</script>')
    parts.append("</body></html>")
    return "\n".join(parts)


def _status_table(statuses: Sequence[PartnerStatus], *, now: dt.datetime, links: Mapping[str, str]) -> str:
    rows = ["<table><tr><th>partner</th><th>last run (UTC)</th><th>age</th><th>status</th><th>verdict</th>"
            "<th>failed</th><th>warnings</th><th>overdue</th></tr>"]
    for status in statuses:
        name = escape(status.partner)
        if status.partner in links:
            name = f'<a href="{escape(links[status.partner], quote=True)}">{name}</a>'
        started = "-" if status.started_at is None else f"{status.started_at.astimezone(dt.UTC):%Y-%m-%d %H:%M}"
        verdict_class = status.verdict.replace(" ", "-")
        overdue = '<span class="overdue">overdue</span>' if status.overdue else "no"
        rows.append(
            f"<tr><td>{name}</td><td>{started}</td><td>{format_age(status.age(now))}</td>"
            f"<td>{escape(status.status or '-')}</td><td class=\"{verdict_class}\">{escape(status.verdict)}</td>"
            f"<td>{status.outcomes.get('failed', 0)}</td><td>{status.outcomes.get('warning', 0)}</td><td>{overdue}</td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


def _embed_calls(charts: Mapping[str, dict[str, Any]]) -> str:
    specs = _json_for_script(dict(charts))
    options = _json_for_script(EMBED_OPTIONS)
    return (
        f"const reachDqCharts = {specs};\n"
        "for (const [id, spec] of Object.entries(reachDqCharts)) {\n"
        f"  vegaEmbed('#' + id, spec, {options}).catch(console.error);\n"
        "}"
    )


def _json_for_script(value: object) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _script_safe(javascript: str) -> str:
    # The bundle is trusted, but a literal "</script" inside it would end the element early.
    return javascript.replace("</script", "<\\/script")


def write_trends_page(
    path: Path,
    connection: duckdb.DuckDBPyConnection,
    *,
    statuses: Sequence[PartnerStatus],
    now: dt.datetime,
    stale_after_hours: float,
    links: Mapping[str, str],
) -> Path:
    """Build the charts from the warehouse and write the index page to ``path``."""
    frames = trend_frames(connection, [status.partner for status in statuses])
    charts = build_charts(frames)
    html = render_trends_page(statuses, charts, now=now, stale_after_hours=stale_after_hours, links=links)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise PublishError(f"cannot write the trends page {str(path)!r}: {exc.strerror}") from exc
    log.info("wrote the trends page %s with %d charts", path, len(charts))
    return path
