"""Publish a golive run: the findings, the scorecard page and the JSON with the scorecard."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from reach_dq.exceptions import PublishError
from reach_dq.findings import Finding
from reach_dq.golive.page import PAGE_NAME, write_golive_page
from reach_dq.golive.scorecard import ScorecardRow, build_scorecard, is_ready
from reach_dq.publish.json_report import build_report
from reach_dq.settings import RunOptions
from reach_dq.warehouse.warehouse import Warehouse

log = logging.getLogger(__name__)


def publish_scorecard(
    options: RunOptions, snapshot_id: str, validation: Any, probe_findings: list[Finding]
) -> Any:
    """Publish as ``pipeline.publish`` does, plus ``golive.html`` and the scorecard in the JSON.

    ``validation`` is a ``pipeline.Validation``; the return value a ``pipeline.Publication``.
    """
    from reach_dq import pipeline

    combined = pipeline.Validation(validation.findings + probe_findings, validation.gx_docs_index)
    without_json = options.model_copy(update={"json_path": None})
    publication = pipeline.publish(without_json, snapshot_id, combined,
                                   links=(("Go-live scorecard", PAGE_NAME),))
    rows = build_scorecard(combined.findings)
    with Warehouse.open(options.warehouse) as warehouse:
        snapshot = _snapshot(warehouse, snapshot_id)
    write_golive_page(options.docs_dir, snapshot=snapshot, rows=rows)
    if options.json_path is not None:
        write_golive_json(options.json_path, snapshot=snapshot, findings=combined.findings,
                          rows=rows)
    log.info("snapshot %s: go-live verdict %s", snapshot_id,
             "ready" if is_ready(rows) else "not ready")
    return pipeline.Publication(snapshot_id, combined.findings, publication.docs_index,
                                options.json_path)


def scorecard_report(rows: Sequence[ScorecardRow]) -> dict[str, Any]:
    return {"ready": is_ready(rows), "rows": [row.to_dict() for row in rows]}


def write_golive_json(
    path: Any, *, snapshot: dict[str, Any], findings: Sequence[Finding],
    rows: Sequence[ScorecardRow],
) -> None:
    """Write the JSON report with a ``scorecard`` key, atomically."""
    report = {**build_report(snapshot, findings), "scorecard": scorecard_report(rows)}
    text = json.dumps(report, indent=2, ensure_ascii=False)
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text + "\n", encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        raise PublishError(f"cannot write the JSON report to {str(path)!r}: {exc.strerror}") from exc


def _snapshot(warehouse: Warehouse, snapshot_id: str) -> dict[str, Any]:
    cursor = warehouse.connection.execute("SELECT * FROM snapshots WHERE snapshot_id = ?",
                                          [snapshot_id])
    names = [column[0] for column in cursor.description]
    row = cursor.fetchone()
    return dict(zip(names, row, strict=True)) if row else {"snapshot_id": snapshot_id}
