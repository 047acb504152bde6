"""The benchmark harness: a smoke run at tiny sizes, and the pieces it is built from.

The smoke run executes every benchmark as ``make bench`` does, each step in its own process, so
it takes one to two minutes, mostly Prefect's temporary server and the imports of GX. One
module-scoped run serves every test that reads its figures.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from bench.floor import run_floor
from bench.measure import REPOSITORY, run_command
from bench.synthetic import SnapshotSize, generate_snapshot
from reach_dq.datasets import DATASETS
from reach_dq.exceptions import ConfigError
from reach_dq.partner.latency import check_latency_ms
from reach_dq.partner.server import PartnerConfig, serve_in_background
from reach_dq.settings import add_months
from reach_dq.warehouse.typed import load_typed

SUMMARY_FIGURES = (
    "validate_full_s", "validate_full_linear_s", "validate_full_fitted_s",
    "validate_growth_exponent", "validate_full_rss_mib", "stock_full_s", "floor_full_s",
    "validate_vs_floor", "stock_vs_validate", "same_size_validate_vs_floor",
    "same_size_stock_vs_validate", "ingestion_ideal_s", "ingestion_efficiency",
    "ingestion_rss_mib", "prefect_overhead_s", "prefect_overhead_share",
    "prefect_process_overhead_s", "prefect_process_overhead_share", "help_s",
)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    folder = tmp_path_factory.mktemp("bench")
    page = folder / "benchmarks.md"
    command = [sys.executable, "-m", "bench", "--smoke", "--output", str(page),
               "--workdir", str(folder / "work")]
    completed = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True,
                               timeout=400, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads((folder / "work" / "results.json").read_text())
    return results, page.read_text()


def _snapshot(tmp_path: Path, companies: int = 2, months: int = 3) -> tuple[Path, str, SnapshotSize]:
    size = SnapshotSize(companies, months)
    path = tmp_path / "synthetic.duckdb"
    return path, generate_snapshot(path, size).snapshot_id, size


def _floor(path: Path, snapshot_id: str, size: SnapshotSize) -> dict[str, Any]:
    first_month = add_months(size.last_month, -(size.checked_months - 1))
    return run_floor(path, snapshot_id, first_month=first_month, last_month=size.last_month)


# --- the smoke run -----------------------------------------------------------------------


def test_smoke_run_produces_every_figure(smoke: tuple[dict[str, Any], str]) -> None:
    results, _ = smoke
    summary = results["summary"]
    for name in SUMMARY_FIGURES:
        assert math.isfinite(summary[name]), name
    assert summary["ingestion_rss_mib"] > 0
    assert summary["help_s"] > 0


def test_smoke_run_stops_full_validate_at_cap(smoke: tuple[dict[str, Any], str]) -> None:
    results, page = smoke
    attempt = results["validation"]["full"]["validate"]
    assert attempt["timed_out"] is True
    assert results["summary"]["validate_full_measured"] is False
    assert "| validate stage, 3 companies | 1,656 | stopped after" in page


def test_smoke_run_validates_subsets_to_the_end(smoke: tuple[dict[str, Any], str]) -> None:
    results, _ = smoke
    for subset in results["validation"]["subsets"]:
        outcomes = subset["validate"]["result"]["outcomes"]
        assert outcomes.get("failed", 0) == 0, subset["companies"]
        assert outcomes["passed"] > 0, subset["companies"]


def test_smoke_measures_cpu_time(smoke: tuple[dict[str, Any], str]) -> None:
    results, page = smoke
    for subset in results["validation"]["subsets"]:
        assert subset["validate"]["result"]["cpu_seconds"] > 0, subset["companies"]
        assert subset["floor"]["result"]["cpu_seconds"] > 0, subset["companies"]
    # The full-size stage stopped at its cap, so its CPU time is not known.
    assert "validate stage and of the floor at 3 companies | not measured |" in page


def test_smoke_floor_finds_no_failures(smoke: tuple[dict[str, Any], str]) -> None:
    results, _ = smoke
    floor = results["validation"]["full"]["floor"]["result"]
    assert floor["statement_rows"] == 1656
    assert floor["month_bases"] == 3 * 2 * 2
    assert floor["balance_sheet_failures"] == 0
    assert floor["cash_flow_failures"] == 0


def test_smoke_fetch_stores_every_exchange(smoke: tuple[dict[str, Any], str]) -> None:
    results, _ = smoke
    fetched = results["ingestion"]["fetch"]["result"]
    assert fetched["companies"] == 2
    assert fetched["failed_exchanges"] == 0
    assert fetched["stored_exchanges"] == fetched["exchanges"]


def test_smoke_runs_do_the_same_work(smoke: tuple[dict[str, Any], str]) -> None:
    results, _ = smoke
    plain = results["orchestration"]["run-plain"]["result"]
    prefect = results["orchestration"]["run-prefect"]["result"]
    assert plain["findings"] == prefect["findings"]
    assert results["summary"]["orchestration_same_findings"] is True


def test_smoke_page_lists_every_target(smoke: tuple[dict[str, Any], str]) -> None:
    _, page = smoke
    for row in (
        "| Validation | validate stage / floor at 3 companies |",
        "| Validation | stock GX per company / validate stage at 3 companies |",
        "| Validation | validate stage peak memory at 3 companies |",
        "| Ingestion | ideal / measured |",
        "| Ingestion | fetch peak memory |",
        "| Orchestration | Prefect overhead, share of the Prefect run |",
        "| Start-up | `reach-dq --help` wall time, median of 1 |",
        "| Start-up | `reach-dq validate --help` wall time, median of 1 |",
    ):
        assert row in page, row


def test_smoke_page_states_machine_facts(smoke: tuple[dict[str, Any], str]) -> None:
    results, page = smoke
    machine = results["machine"]
    assert int(machine["cores"]) >= 1
    assert machine["memory"].endswith(" GiB")
    for fact in ("cores", "memory", "cpu", "python", "duckdb", "great-expectations", "date"):
        assert f"| {fact} | {machine[fact]} |" in page, fact


# --- the synthetic snapshot and the floor ------------------------------------------------


def test_synthetic_typed_rows_match_typed_load(tmp_path: Path) -> None:
    path, snapshot_id, _ = _snapshot(tmp_path)
    with duckdb.connect(str(path)) as connection:
        def typed() -> dict[str, list[tuple[Any, ...]]]:
            return {
                dataset.name: connection.execute(
                    f"SELECT * EXCLUDE (snapshot_id) FROM {dataset.name} WHERE snapshot_id = ? "
                    "ORDER BY ALL", [snapshot_id]).fetchall()
                for dataset in DATASETS
            }

        generated = typed()
        load_typed(connection, snapshot_id)
        loaded = typed()
    for dataset in DATASETS:
        assert loaded[dataset.name] == generated[dataset.name], dataset.name


def test_synthetic_statement_rows_match_size(tmp_path: Path) -> None:
    path, snapshot_id, size = _snapshot(tmp_path, companies=3, months=4)
    with duckdb.connect(str(path), read_only=True) as connection:
        rows = sum(
            connection.execute(f"SELECT count(*) FROM {name} WHERE snapshot_id = ?",
                               [snapshot_id]).fetchone()[0]
            for name in ("profit_and_loss", "balance_sheet", "cash_flow")
        )
        exchanges = connection.execute("SELECT count(*) FROM http_exchanges").fetchone()[0]
    # Per company: (24 + 36 + 8) rows x 4 months x 2 bases, plus 24 budget rows x 4 months x 2.
    assert size.statement_rows == 3 * (68 * 4 * 2 + 24 * 4 * 2)
    assert rows == size.statement_rows
    assert exchanges == 1 + 3 * 16


def test_synthetic_size_rejects_one_month() -> None:
    with pytest.raises(ValueError, match=r"months must be at least 2 .*got 1"):
        SnapshotSize(companies=1, months=1)


def test_floor_passes_consistent_books(tmp_path: Path) -> None:
    path, snapshot_id, size = _snapshot(tmp_path)
    floor = _floor(path, snapshot_id, size)
    assert floor["month_bases"] == 2 * 2 * 2
    assert floor["balance_sheet_failures"] == 0
    assert floor["cash_flow_failures"] == 0
    assert floor["duplicate_rows"] == 0


def test_floor_counts_broken_rows(tmp_path: Path) -> None:
    path, snapshot_id, size = _snapshot(tmp_path)
    with duckdb.connect(str(path)) as connection:
        # A cash balance a cent off in the last month breaks both identities of that month. The
        # duplicated P&L row and the null amount fall in the opening month, which is not checked.
        connection.execute(
            "UPDATE balance_sheet SET amount = amount + 0.01 WHERE rowid = (SELECT min(rowid) "
            "FROM balance_sheet WHERE account_id = 'A1250' AND basis = 'CASH' AND date = ?)",
            [size.last_month],
        )
        connection.execute(
            "INSERT INTO profit_and_loss SELECT * FROM profit_and_loss WHERE rowid = 0"
        )
        connection.execute("UPDATE cash_flow SET amount = NULL WHERE rowid = 1")
    floor = _floor(path, snapshot_id, size)
    assert floor["balance_sheet_failures"] == 1
    assert floor["cash_flow_failures"] == 1
    assert floor["duplicate_rows"] == 1
    assert floor["null_values"] == 1


# --- measurement and the latency hook ----------------------------------------------------


def test_measure_reports_each_child_alone(tmp_path: Path) -> None:
    large = run_command([sys.executable, "-c", "x = bytearray(300 * 2**20); x[::4096] = b'1' * len(x[::4096])"],
                        label="large", workdir=tmp_path)
    small = run_command([sys.executable, "-c", "pass"], label="small", workdir=tmp_path)
    assert large.max_rss_mib > 300
    assert small.max_rss_mib < 100


def test_measure_stops_child_at_timeout(tmp_path: Path) -> None:
    measurement = run_command([sys.executable, "-c", "import time; time.sleep(30)"],
                              label="sleeper", workdir=tmp_path, timeout_s=0.5)
    assert measurement.timed_out is True
    assert measurement.wall_s < 5


def test_partner_latency_delays_each_request() -> None:
    config = PartnerConfig(companies=1, as_of=dt.date(2026, 1, 15), latency_ms=300)
    with serve_in_background(config) as server, httpx.Client(base_url=server.base_url) as client:
        started = time.perf_counter()
        response = client.get("/auth/oauth-discovery")
        elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert elapsed >= 0.3


@pytest.mark.parametrize("latency_ms", [-1.0, math.inf, 60_001.0])
def test_partner_latency_rejects_invalid_value(latency_ms: float) -> None:
    with pytest.raises(ConfigError) as raised:
        check_latency_ms(latency_ms)
    assert str(raised.value) == f"latency_ms must be 0..60000 milliseconds, got {latency_ms!r}"
