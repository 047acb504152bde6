"""The run lock of a warehouse: one run per file, the holder named, dead runs' snapshots closed."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reach_dq.exceptions import StoreError
from reach_dq.warehouse.lock import lock_path, run_lock
from reach_dq.warehouse.warehouse import Warehouse

# Holds the run lock of the warehouse in argv[1] until its standard input closes.
HOLDER = textwrap.dedent(
    """
    import sys
    from reach_dq.warehouse.lock import run_lock
    with run_lock(sys.argv[1], command="nightly"):
        print("held", flush=True)
        sys.stdin.read()
    """
)


def begin(warehouse: Warehouse) -> str:
    return warehouse.begin_snapshot(
        base_url="http://127.0.0.1:8765", command="validate", as_of=dt.date(2026, 7, 15),
        first_month=dt.date(2026, 6, 30), last_month=dt.date(2026, 6, 30),
        spec_title="Reach API", spec_version="1.0.3",
    )


def test_lock_file_sits_beside_warehouse(tmp_path: Path) -> None:
    assert lock_path(tmp_path / "w.duckdb") == tmp_path / "w.duckdb.lock"


def test_other_process_gets_holder_pid(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(StoreError) as raised, run_lock(path, command="validate"):
            pass
    finally:
        holder.communicate("", timeout=30)
    pattern = (
        rf"warehouse '{re.escape(str(path))}' is in use by another reach-dq run \(pid {holder.pid}, "
        r"reach-dq nightly, started \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\); wait for that run to "
        r"finish, or use another warehouse file"
    )
    assert re.fullmatch(pattern, str(raised.value))


def test_lock_free_after_holder_exits(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    subprocess.run([sys.executable, "-c", HOLDER, str(path)], input="", text=True, check=True, timeout=30)
    with run_lock(path, command="validate") as closed:
        assert closed == []
    assert lock_path(path).read_text() == ""


def test_nested_use_in_one_process(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with run_lock(path, command="golive"), run_lock(path, command="golive") as inner:
        assert inner == []
        assert f"pid {os.getpid()}, reach-dq golive" in lock_path(path).read_text()


def test_memory_warehouse_needs_no_lock() -> None:
    with run_lock(":memory:", command="validate") as closed:
        assert closed == []


def test_taking_lock_closes_running_snapshots(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as warehouse:
        abandoned = begin(warehouse)
        finished = begin(warehouse)
        warehouse.finish_snapshot(finished, "complete")

    with run_lock(path, command="validate") as closed:
        assert closed == [abandoned]

    with Warehouse.open(path) as warehouse:
        assert warehouse.snapshot_status(abandoned) == "incomplete"
        assert warehouse.snapshot_status(finished) == "complete"
