"""``reach-dq status``: last run, verdict and age per partner, and the overdue flag."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from reach_dq.findings import Category, Finding, Outcome
from reach_dq.status import format_age, partner_statuses, read_statuses, render_statuses
from reach_dq.warehouse.warehouse import Warehouse
from tests.unit.nightly.builders import add_snapshot, chart, night

BODIES = {("listChartOfAccounts", "C001"): chart(("A100", "Cash", "ASSET"))}
FAILED = Finding("accuracy.x", Category.ACCURACY, "balance_sheet", Outcome.FAILED, "off", "C001")
WARNING = Finding("contract.extra_fields", Category.FORMATTING, "budgets", Outcome.WARNING, "extra", "C001")


def test_status_of_validated_failed_and_unknown_partners(tmp_path: Path) -> None:
    now = night(10, hour=12)
    with Warehouse.open(tmp_path / "w.duckdb") as warehouse:
        add_snapshot(warehouse, partner="fresh", started_at=night(10), bodies=BODIES, findings=[FAILED, WARNING])
        add_snapshot(warehouse, partner="stale", started_at=night(8), bodies=BODIES, findings=[WARNING])
        add_snapshot(warehouse, partner="broken", started_at=night(9, hour=23), bodies=BODIES, status="complete")
        add_snapshot(warehouse, partner="broken", started_at=night(10), bodies=BODIES, status="failed")
        statuses = partner_statuses(warehouse.connection, ["fresh", "stale", "broken", "new"], now=now, stale_after_hours=26)

    assert [(s.partner, s.verdict, s.overdue) for s in statuses] == [
        ("fresh", "failed", False),
        ("stale", "warning", True),
        ("broken", "run failed", False),
        ("new", "never run", True),
    ]
    assert statuses[0].outcomes == {"failed": 1, "warning": 1}
    assert statuses[1].age(now) == dt.timedelta(days=2, hours=10)


def test_missing_warehouse_means_never_run(tmp_path: Path) -> None:
    statuses = read_statuses(tmp_path / "absent.duckdb", ["acme"], now=night(1), stale_after_hours=26)

    assert [(s.partner, s.verdict, s.overdue) for s in statuses] == [("acme", "never run", True)]


def test_rendered_table_flags_overdue(tmp_path: Path) -> None:
    now = night(10, hour=12)
    with Warehouse.open(tmp_path / "w.duckdb") as warehouse:
        add_snapshot(warehouse, partner="fresh", started_at=night(10), bodies=BODIES)
        statuses = partner_statuses(warehouse.connection, ["fresh", "new"], now=now, stale_after_hours=26)

    lines = render_statuses(statuses, now=now, stale_after_hours=26).splitlines()
    assert lines[0].split() == ["partner", "last", "run", "(UTC)", "age", "status", "verdict", "failed", "warnings", "overdue"]
    assert lines[1].split() == ["fresh", "2026-07-10", "02:00", "10h", "0m", "complete", "passed", "0", "0", "no"]
    assert lines[2].split() == ["new", "-", "-", "-", "never", "run", "0", "0", "OVERDUE", "(>26", "h)"]


def test_format_age_units() -> None:
    assert format_age(dt.timedelta(minutes=42)) == "42m"
    assert format_age(dt.timedelta(hours=5, minutes=12)) == "5h 12m"
    assert format_age(dt.timedelta(days=3, hours=4, minutes=9)) == "3d 4h"
    assert format_age(None) == "-"
