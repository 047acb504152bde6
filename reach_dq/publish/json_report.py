"""The JSON summary of a run (``--json PATH``)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reach_dq.exceptions import PublishError
from reach_dq.findings import Finding
from reach_dq.publish.summary import count_by_category, count_outcomes

SNAPSHOT_FIELDS = ("snapshot_id", "base_url", "command", "as_of", "first_month", "last_month",
                   "spec_title", "spec_version", "started_at", "finished_at", "status")


def build_report(snapshot: Mapping[str, Any], findings: Sequence[Finding]) -> dict[str, Any]:
    return {
        "snapshot": {name: _plain(snapshot.get(name)) for name in SNAPSHOT_FIELDS},
        "summary": {"outcomes": count_outcomes(findings), "categories": count_by_category(findings)},
        "findings": [finding.to_dict() for finding in findings],
    }


def write_json_report(path: Path, *, snapshot: Mapping[str, Any], findings: Sequence[Finding]) -> Path:
    """Write the report atomically: a reader never sees half a file."""
    text = json.dumps(build_report(snapshot, findings), indent=2, ensure_ascii=False)
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text + "\n", encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        raise PublishError(f"cannot write the JSON report to {str(path)!r}: {exc.strerror}") from exc
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value
