"""Run every benchmark once, each measured step in its own process, and collect the figures.

The figures of one call of ``run_benchmarks`` all come from the same run on the same machine,
so each ratio compares a step with a baseline measured minutes apart, never with an old number.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import math
import os
import shutil
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.machine import machine_facts
from bench.measure import Measurement, run_command, run_step
from bench.partner import partner_server
from bench.step import BENCH_TOKEN_ENV
from bench.synthetic import SnapshotSize

log = logging.getLogger(__name__)

PREFECT_ENVIRONMENT = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    # Prefect waits 20 s for its temporary server by default, too short on a busy 2-core machine.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


@dataclasses.dataclass(frozen=True)
class Sizes:
    """The sizes of one benchmark run; ``FULL`` is ``make bench``, ``SMOKE`` the test's run."""

    name: str
    validation_companies: int = 2000  # companies of the full synthetic snapshot
    months: int = 36  # statement months per company in the synthetic snapshots
    validate_subsets: tuple[int, ...] = (50, 200)  # companies of the snapshots validated in full
    full_validate_cap_s: float = 300.0  # the validate stage on the full snapshot stops here
    ingestion_companies: int = 200
    ingestion_months: int = 24  # months a fetch requests (the validate default)
    latency_ms: float = 50.0
    concurrency: int = 8  # requests in flight (the validate default)
    orchestration_companies: int = 100
    orchestration_repeats: int = 2  # runs of each variant, plain and Prefect, in fresh processes
    startup_repeats: int = 5
    prefect_warmup: bool = True  # create Prefect's database before the measured flow runs

    def __post_init__(self) -> None:
        if len(self.validate_subsets) != 2 or self.validate_subsets[0] >= self.validate_subsets[1]:
            raise ValueError(
                f"validate_subsets must be two ascending sizes, got {self.validate_subsets!r}"
            )

    @property
    def stock_companies(self) -> int:
        """Companies of the stock GX run: the smaller subset, so one size compares directly."""
        return self.validate_subsets[0]


FULL = Sizes("full")
SMOKE = Sizes(
    "smoke",
    validation_companies=3,
    months=3,
    validate_subsets=(1, 2),
    full_validate_cap_s=2.0,
    ingestion_companies=2,
    ingestion_months=2,
    latency_ms=5.0,
    orchestration_companies=1,
    orchestration_repeats=1,
    startup_repeats=1,
    prefect_warmup=False,
)
AS_OF = dt.date(2026, 1, 15)  # of the partner server's books and of every fetch


def run_benchmarks(sizes: Sizes, workdir: Path) -> dict[str, Any]:
    """Run every benchmark at ``sizes`` in ``workdir``; return the results, also saved as JSON."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    results: dict[str, Any] = {"sizes": dataclasses.asdict(sizes), "machine": machine_facts()}
    load: dict[str, list[float]] = {}
    for name, benchmark in _BENCHMARKS:
        log.warning("benchmark %s ...", name)
        before = os.getloadavg()[0]
        results[name] = benchmark(sizes, workdir / name)
        load[name] = [before, os.getloadavg()[0]]
    results["load_average"] = load
    results["summary"] = summarize(results)
    (workdir / "results.json").write_text(json.dumps(results, indent=1, default=str))
    return results


def _startup(sizes: Sizes, workdir: Path) -> dict[str, Any]:
    script = Path(sys.executable).with_name("reach-dq")
    commands = {"reach-dq --help": [str(script), "--help"],
                "reach-dq validate --help": [str(script), "validate", "--help"]}
    figures: dict[str, Any] = {}
    for text, command in commands.items():
        label = text.replace(" ", "_").replace("-", "")
        run_command(command, label=f"{label}-warmup", workdir=workdir)  # compiles bytecode once
        walls = [
            run_command(command, label=f"{label}-{index}", workdir=workdir).wall_s
            for index in range(sizes.startup_repeats)
        ]
        figures[text] = {"median_s": statistics.median(walls), "runs_s": walls}
    return figures


def _validation(sizes: Sizes, workdir: Path) -> dict[str, Any]:
    full_size = SnapshotSize(sizes.validation_companies, sizes.months)
    full = _generate(full_size, workdir, "full")
    figures: dict[str, Any] = {
        "full": {"companies": full_size.companies, "generate": full.to_dict(),
                 "floor": _floor(full, full_size, workdir, "full").to_dict()},
        "subsets": [],
    }
    for companies in sizes.validate_subsets:
        size = SnapshotSize(companies, sizes.months)
        generated = _generate(size, workdir, f"subset-{companies}")
        subset = {"companies": companies, "statement_rows": generated.result["statement_rows"],
                  "validate": _validate(generated, size, workdir, f"subset-{companies}").to_dict(),
                  "floor": _floor(generated, size, workdir, f"subset-{companies}").to_dict()}
        if companies == sizes.stock_companies:
            subset["stock_gx"] = _stock_gx(generated, companies, workdir).to_dict()
        figures["subsets"].append(subset)

    if sizes.full_validate_cap_s > 0:
        attempt = _validate(full, full_size, workdir, "full", timeout_s=sizes.full_validate_cap_s)
        figures["full"]["validate"] = attempt.to_dict()
    return figures


def _generate(size: SnapshotSize, workdir: Path, label: str) -> Measurement:
    parameters = {"warehouse": str(workdir / f"{label}.duckdb"), "companies": size.companies,
                  "months": size.months}
    measurement = run_step("generate", parameters, label=f"generate-{label}", workdir=workdir)
    return dataclasses.replace(measurement, result={**measurement.result, **parameters})


def _validate(
    generated: Measurement, size: SnapshotSize, workdir: Path, label: str,
    *, timeout_s: float | None = None,
) -> Measurement:
    parameters = {"warehouse": generated.result["warehouse"],
                  "snapshot_id": generated.result["snapshot_id"], "companies": size.companies,
                  "months": size.months, "docs_dir": str(workdir / f"docs-{label}")}
    return run_step("validate", parameters, label=f"validate-{label}", workdir=workdir,
                    timeout_s=timeout_s)


def _floor(generated: Measurement, size: SnapshotSize, workdir: Path, label: str) -> Measurement:
    parameters = {"warehouse": generated.result["warehouse"],
                  "snapshot_id": generated.result["snapshot_id"],
                  "first_month": _checked_first_month(size).isoformat(),
                  "last_month": size.last_month.isoformat()}
    return run_step("floor", parameters, label=f"floor-{label}", workdir=workdir)


def _checked_first_month(size: SnapshotSize) -> dt.date:
    from reach_dq.settings import add_months

    return add_months(size.last_month, -(size.checked_months - 1))


def _stock_gx(generated: Measurement, companies: int, workdir: Path) -> Measurement:
    parameters = {"warehouse": generated.result["warehouse"],
                  "snapshot_id": generated.result["snapshot_id"], "companies": companies,
                  "scratch": str(workdir / "stock-gx")}
    return run_step("stock-gx", parameters, label=f"stock-gx-{companies}", workdir=workdir)


def _ingestion(sizes: Sizes, workdir: Path) -> dict[str, Any]:
    with partner_server(companies=sizes.ingestion_companies, as_of=AS_OF,
                        latency_ms=sizes.latency_ms, workdir=workdir, label="partner") as server:
        parameters = _run_parameters(server.base_url, sizes.ingestion_months, sizes.concurrency,
                                     workdir, "fetch")
        fetched = run_step("fetch", parameters, label="fetch", workdir=workdir,
                           extra_environment={BENCH_TOKEN_ENV: server.token})
    return {"companies": sizes.ingestion_companies, "latency_ms": sizes.latency_ms,
            "concurrency": sizes.concurrency, "months": sizes.ingestion_months,
            "server_startup_s": server.startup_s, "fetch": fetched.to_dict()}


def _orchestration(sizes: Sizes, workdir: Path) -> dict[str, Any]:
    environment = {**PREFECT_ENVIRONMENT, "PREFECT_HOME": str(workdir / "prefect")}
    with partner_server(companies=sizes.orchestration_companies, as_of=AS_OF, latency_ms=0,
                        workdir=workdir, label="partner") as server:
        environment[BENCH_TOKEN_ENV] = server.token
        runs: dict[str, Any] = {}
        if sizes.prefect_warmup:
            warmup = run_step("prefect-warmup", {}, label="prefect-warmup", workdir=workdir,
                              extra_environment=environment)
            runs["prefect-warmup"] = warmup.to_dict()
        measured: dict[str, list[dict[str, Any]]] = {"run-plain": [], "run-prefect": []}
        for index, step in enumerate(orchestration_order(sizes.orchestration_repeats)):
            label = f"{step}-{index + 1}"
            parameters = _run_parameters(server.base_url, sizes.ingestion_months,
                                         sizes.concurrency, workdir, label)
            measured[step].append(run_step(step, parameters, label=label, workdir=workdir,
                                           extra_environment=environment).to_dict())
    for step, repeats in measured.items():
        runs[f"{step}-all"] = repeats
        runs[step] = min(repeats, key=lambda run: run["result"]["run_seconds"])
    return {"companies": sizes.orchestration_companies, "months": sizes.ingestion_months,
            "repeats": sizes.orchestration_repeats, **runs}


def orchestration_order(repeats: int) -> list[str]:
    """Return the steps in the order they run: pairs of both variants, each pair reversed.

    With two repeats the order is plain, Prefect, Prefect, plain, so a load that rises or falls
    steadily during the four runs weighs on both variants alike.
    """
    order: list[str] = []
    for index in range(repeats):
        pair = ["run-plain", "run-prefect"]
        order += pair if index % 2 == 0 else pair[::-1]
    return order


def _run_parameters(
    base_url: str, months: int, concurrency: int, workdir: Path, label: str
) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "months": months,
        "as_of": AS_OF.isoformat(),
        "warehouse": str(workdir / f"{label}.duckdb"),
        "docs_dir": str(workdir / f"docs-{label}"),
        "concurrency": concurrency,
        "command": "golive",
    }


_BENCHMARKS: tuple[tuple[str, Callable[[Sizes, Path], dict[str, Any]]], ...] = (
    ("startup", _startup),
    ("ingestion", _ingestion),
    ("orchestration", _orchestration),
    ("validation", _validation),
)


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Derive the ratios, extrapolations and target verdicts from the measured figures."""
    summary: dict[str, Any] = {}
    summary.update(_validation_summary(results["validation"]))
    summary.update(_ingestion_summary(results["ingestion"]))
    summary.update(_orchestration_summary(results["orchestration"]))
    summary["help_s"] = max(figure["median_s"] for figure in results["startup"].values())
    return summary


def _validation_summary(validation: dict[str, Any]) -> dict[str, Any]:
    full = validation["full"]
    companies = full["companies"]
    small, large = validation["subsets"]
    stock = small["stock_gx"]["result"]
    t_small = small["validate"]["result"]["stage_seconds"]
    t_large = large["validate"]["result"]["stage_seconds"]
    exponent = math.log(t_large / t_small) / math.log(large["companies"] / small["companies"])
    attempt = full.get("validate")
    finished = attempt is not None and not attempt["timed_out"]

    linear = t_large * companies / large["companies"]
    fitted = t_large * (companies / large["companies"]) ** exponent
    validate_full = attempt["result"]["stage_seconds"] if finished else linear
    stock_full = stock["loop_seconds"] * companies / stock["companies"]
    floor_full = full["floor"]["result"]["query_seconds"]
    rss_small, rss_large = small["validate"]["max_rss_mib"], large["validate"]["max_rss_mib"]
    rss_slope = (rss_large - rss_small) / (large["companies"] - small["companies"])
    return {
        "validate_full_measured": finished,
        "validate_full_cpu_s": attempt["result"].get("cpu_seconds") if finished else None,
        "floor_full_cpu_s": full["floor"]["result"].get("cpu_seconds"),
        "validate_full_s": validate_full,
        "validate_full_linear_s": linear,
        "validate_full_fitted_s": fitted,
        "validate_growth_exponent": exponent,
        "validate_full_rss_mib": (attempt["max_rss_mib"] if finished
                                  else rss_large + rss_slope * (companies - large["companies"])),
        "stock_full_s": stock_full,
        "floor_full_s": floor_full,
        "validate_vs_floor": validate_full / floor_full,
        "stock_vs_validate": stock_full / validate_full,
        "same_size_companies": small["companies"],
        "same_size_validate_vs_floor": t_small / small["floor"]["result"]["query_seconds"],
        "same_size_stock_vs_validate": stock["loop_seconds"] / t_small,
    }


def _ingestion_summary(ingestion: dict[str, Any]) -> dict[str, Any]:
    fetched = ingestion["fetch"]["result"]
    ideal = fetched["exchanges"] * ingestion["latency_ms"] / 1000 / ingestion["concurrency"]
    return {
        "ingestion_ideal_s": ideal,
        "ingestion_efficiency": ideal / fetched["stage_seconds"],
        "ingestion_rss_mib": ingestion["fetch"]["max_rss_mib"],
    }


def _orchestration_summary(orchestration: dict[str, Any]) -> dict[str, Any]:
    """Compare the fastest run of each variant; the spread shows how much load moved them.

    ``run-plain`` and ``run-prefect`` are the fastest runs, the ones least slowed by other work.
    ``prefect_overhead_s`` is their difference in the call. ``prefect_in_process_s`` is the
    Prefect run's time outside the stage functions minus the plain run's (the run lock and
    opening the warehouse), each measured inside its own process.
    """
    plain, prefect = orchestration["run-plain"], orchestration["run-prefect"]
    in_call = prefect["result"]["run_seconds"] - plain["result"]["run_seconds"]
    process = prefect["wall_s"] - plain["wall_s"]
    in_process = (prefect["result"].get("outside_stages_seconds", math.nan)
                  - plain["result"].get("outside_stages_seconds", math.nan))
    findings = {run["result"]["findings"]
                for step in ("run-plain", "run-prefect")
                for run in orchestration.get(f"{step}-all", [orchestration[step]])}
    return {
        "orchestration_same_findings": len(findings) == 1,
        "prefect_overhead_s": in_call,
        "prefect_overhead_share": in_call / prefect["result"]["run_seconds"],
        "prefect_in_process_s": in_process,
        "prefect_in_process_share": in_process / prefect["result"]["run_seconds"],
        "prefect_server_start_s": _median_of(orchestration, "run-prefect", "server_start_seconds"),
        "plain_spread_s": _spread(orchestration, "run-plain"),
        "prefect_spread_s": _spread(orchestration, "run-prefect"),
        "prefect_process_overhead_s": process,
        "prefect_process_overhead_share": process / prefect["wall_s"],
    }


def _run_seconds(orchestration: dict[str, Any], step: str) -> list[float]:
    runs = orchestration.get(f"{step}-all", [orchestration[step]])
    return [run["result"]["run_seconds"] for run in runs]


def _spread(orchestration: dict[str, Any], step: str) -> float:
    """Return the slowest minus the fastest run of ``step`` in seconds; 0 for a single run."""
    seconds = _run_seconds(orchestration, step)
    return max(seconds) - min(seconds)


def _median_of(orchestration: dict[str, Any], step: str, figure: str) -> float:
    runs = orchestration.get(f"{step}-all", [orchestration[step]])
    return statistics.median(run["result"].get(figure, math.nan) for run in runs)
