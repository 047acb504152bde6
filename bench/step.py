"""One measured step, run in a process of its own by ``bench.measure.run_step``.

``python -m bench.step NAME PARAMETERS_JSON RESULT_PATH`` runs the step NAME with the keyword
arguments in PARAMETERS_JSON and writes what it returns to RESULT_PATH as JSON. The parent
measures the whole process. The step itself times only the call it exists for, so the
difference between the two is interpreter start-up and imports.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import functools
import importlib
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_TOKEN_ENV = "REACH_DQ_BENCH_TOKEN"


class _Timeline(logging.Handler):
    """Collect the end time of each check and GX suite from the engine's INFO log records.

    The validate stage works in two threads at the same time, so each thread is a lane, and a
    part lasts from the lane's previous mark to its own.
    """

    def __init__(self, started: float, *, second_thread: str) -> None:
        super().__init__(logging.INFO)
        self.started = started
        self.second_thread = second_thread  # the name prefix of the stage's second thread
        self.marks: list[tuple[str, str, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        label = _mark_label(record)
        if label is not None:
            second = record.threadName.startswith(self.second_thread)
            lane = "second thread" if second else "main thread"
            self.marks.append((lane, label, time.perf_counter() - self.started))

    def parts(self) -> list[list[Any]]:
        """Return [label, seconds, lane] for each mark: the time since its lane's last mark."""
        parts, previous = [], collections.defaultdict(float)
        for lane, label, at in self.marks:
            parts.append([label, round(at - previous[lane], 3), lane])
            previous[lane] = at
        return parts


def _mark_label(record: logging.LogRecord) -> str | None:
    # NOTE: these match the engine's own log messages. If one changes, its part is missing from
    # the breakdown and its time is counted in the next part instead. The totals stay exact.
    message = str(record.msg)
    if record.name == "reach_dq.runner" and message.startswith("check %s"):
        return f"check {record.args[0]}" if record.args else None
    if record.name == "reach_dq.gx_suites" and message.startswith("suite %s on"):
        return f"gx suite {record.args[0]}" if record.args else None
    if record.name == "reach_dq.gx.context" and message.startswith("built GX data docs"):
        return "gx data docs"
    return None


def _options(**values: Any) -> Any:
    from reach_dq.settings import RunOptions

    return RunOptions(
        base_url=values["base_url"],
        token_env=BENCH_TOKEN_ENV,
        command=values.get("command", "validate"),
        months=values["months"],
        as_of=dt.date.fromisoformat(values["as_of"]),
        warehouse=Path(values["warehouse"]),
        docs_dir=Path(values["docs_dir"]),
        concurrency=values.get("concurrency", 8),
    )


def generate(*, warehouse: str, companies: int, months: int) -> dict[str, Any]:
    from bench.synthetic import SnapshotSize, generate_snapshot

    snapshot = generate_snapshot(Path(warehouse), SnapshotSize(companies, months))
    return {
        "snapshot_id": snapshot.snapshot_id,
        "statement_rows": snapshot.statement_rows,
        "exchanges": snapshot.exchanges,
        "body_bytes": snapshot.body_bytes,
        "seconds": snapshot.seconds,
        "file_bytes": Path(warehouse).stat().st_size,
    }


def validate(
    *, warehouse: str, snapshot_id: str, companies: int, months: int, docs_dir: str
) -> dict[str, Any]:
    """Run ``reach_dq.pipeline.validate`` on a synthetic snapshot and time each check in it."""
    from bench.floor import process_cpu_seconds
    from bench.synthetic import BASE_URL, SnapshotSize
    from reach_dq import pipeline

    size = SnapshotSize(companies, months)
    options = _options(
        base_url=BASE_URL, months=size.checked_months, as_of=size.as_of.isoformat(),
        warehouse=warehouse, docs_dir=docs_dir,
    )
    engine_log = logging.getLogger("reach_dq")
    engine_log.setLevel(logging.INFO)
    started, cpu_started = time.perf_counter(), process_cpu_seconds()
    timeline = _Timeline(started, second_thread=pipeline.SECOND_THREAD)
    engine_log.addHandler(timeline)
    validation = pipeline.validate(options, snapshot_id)
    seconds = time.perf_counter() - started
    cpu_seconds = process_cpu_seconds() - cpu_started
    outcomes = collections.Counter(str(finding.outcome) for finding in validation.findings)
    return {"stage_seconds": seconds, "cpu_seconds": cpu_seconds,
            "findings": len(validation.findings), "outcomes": dict(outcomes),
            "parts": timeline.parts()}


def stock_gx(
    *, warehouse: str, snapshot_id: str, companies: int, scratch: str
) -> dict[str, Any]:
    from bench.stock_gx import run_stock_gx

    return run_stock_gx(Path(warehouse), snapshot_id, companies=companies, scratch=Path(scratch))


def floor(
    *, warehouse: str, snapshot_id: str, first_month: str, last_month: str
) -> dict[str, Any]:
    from bench.floor import run_floor

    return run_floor(
        Path(warehouse), snapshot_id,
        first_month=dt.date.fromisoformat(first_month), last_month=dt.date.fromisoformat(last_month),
    )


def fetch(**values: Any) -> dict[str, Any]:
    """Run the fetch stage alone against a partner server; count what it stored."""
    import duckdb

    from reach_dq import pipeline

    options = _options(**values)
    writes = _WriterLog()
    writer_log = logging.getLogger("reach_dq.fetch.writer")
    writer_log.setLevel(logging.INFO)
    writer_log.addHandler(writes)
    started = time.perf_counter()
    fetched = pipeline.fetch(options)
    seconds = time.perf_counter() - started
    with duckdb.connect(str(options.warehouse), read_only=True) as connection:
        stored = connection.execute(
            "SELECT count(*), coalesce(sum(bytes), 0) FROM http_exchanges WHERE snapshot_id = ?",
            [fetched.snapshot_id],
        ).fetchone()
    return {"stage_seconds": seconds, "companies": len(fetched.companies),
            "exchanges": fetched.exchanges, "failed_exchanges": fetched.failed_exchanges,
            "stored_exchanges": stored[0], "body_bytes": stored[1],
            "write_transactions": writes.transactions}


class _WriterLog(logging.Handler):
    """Read the number of write transactions from the snapshot writer's closing log record."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.transactions: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        # NOTE: this matches SnapshotWriter.close's message; if it changes, the count is None.
        if str(record.msg).startswith("wrote %d records") and record.args:
            self.transactions = int(record.args[2])  # type: ignore[index]  # a tuple of 3


def run_plain(**values: Any) -> dict[str, Any]:
    """Run the golive flow's stages as plain calls (``pipeline.run_golive``)."""
    from reach_dq import pipeline

    # NOTE: this must mirror flows.golive.golive_flow stage for stage. The runner compares the
    # findings counts of both runs, and the report marks the overhead invalid when they differ.
    return _timed_run(pipeline.run_golive, values)


def run_prefect(**values: Any) -> dict[str, Any]:
    """Start Prefect's temporary server, then run the same stages as tasks of the golive flow.

    The server start is timed apart (``server_start_seconds``), so ``run_seconds`` holds only
    the flow run, as with a Prefect server that is already running.
    """
    from flows.golive import golive_flow

    server_start_seconds = _start_prefect_server()
    return {**_timed_run(golive_flow, values), "server_start_seconds": server_start_seconds}


def _start_prefect_server() -> float:
    """Start the temporary server that a flow would start on first use; return its seconds.

    Prefect 3 keeps one temporary server per process (``SubprocessASGIServer`` is a singleton
    per port), and the flow's client reuses the one started here.
    """
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return 0.0  # a configured server is already running
    started = time.perf_counter()
    SubprocessASGIServer().start()
    return time.perf_counter() - started


def prefect_warmup() -> dict[str, Any]:
    """Run a one-task flow, so Prefect's database exists before a measured flow runs."""
    from prefect import flow, task

    @task
    def one() -> int:
        return 1

    @flow(name="reach-dq-bench-warmup")
    def warmup() -> int:
        return one()

    started = time.perf_counter()
    warmup()
    return {"run_seconds": time.perf_counter() - started}


# The functions of reach_dq.pipeline that both the plain run and the golive flow's tasks call.
_STAGES = ("fetch", "store", "validate", "probe", "publish_golive")
# Modules the stages import on first use. Both variants import them before the timed call,
# because Prefect's own imports would otherwise pay for some of them before the Prefect run's
# timer starts, and the plain run would pay for them inside its stages.
_STAGE_IMPORTS = (
    "great_expectations",
    "checks.registry",
    "reach_dq.fetch.snapshot",
    "reach_dq.golive.publish",
    "reach_dq.golive.run",
    "reach_dq.gx_suites",
    "reach_dq.publish.html_page",
    "reach_dq.publish.json_report",
    "reach_dq.warehouse.typed",
)


def _timed_run(run: Callable[[Any], Any], values: dict[str, Any]) -> dict[str, Any]:
    """Time ``run(options)`` and, inside it, each pipeline stage it calls.

    ``outside_stages_seconds`` is the run's time outside the stage functions: for the flow,
    Prefect's own work in this process (task runs, state changes, API calls).
    """
    options = _options(**values)
    for module in _STAGE_IMPORTS:
        importlib.import_module(module)
    stage_seconds = _time_stages()
    started = time.perf_counter()
    publication = run(options)
    seconds = time.perf_counter() - started
    outcomes = collections.Counter(str(finding.outcome) for finding in publication.findings)
    return {"run_seconds": seconds, "findings": len(publication.findings), "outcomes": dict(outcomes),
            "stage_seconds": stage_seconds,
            "outside_stages_seconds": seconds - sum(stage_seconds.values())}


def _time_stages() -> dict[str, float]:
    """Wrap each function of ``_STAGES`` in ``reach_dq.pipeline`` to add its seconds to the result.

    The plain run calls them as globals of ``reach_dq.pipeline`` and the flow's tasks as its
    attributes, so replacing the module attributes times both.
    """
    from reach_dq import pipeline

    seconds: dict[str, float] = {}
    for name in _STAGES:
        setattr(pipeline, name, _stage_timer(name, getattr(pipeline, name), seconds))
    return seconds


def _stage_timer(
    name: str, stage: Callable[..., Any], seconds: dict[str, float]
) -> Callable[..., Any]:
    @functools.wraps(stage)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return stage(*args, **kwargs)
        finally:
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started

    return timed


STEPS: dict[str, Callable[..., dict[str, Any]]] = {
    "generate": generate,
    "validate": validate,
    "stock-gx": stock_gx,
    "floor": floor,
    "fetch": fetch,
    "run-plain": run_plain,
    "run-prefect": run_prefect,
    "prefect-warmup": prefect_warmup,
}


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[1] not in STEPS:
        print(f"usage: python -m bench.step {{{','.join(STEPS)}}} PARAMETERS_JSON RESULT_PATH",
              file=sys.stderr)
        return 2
    # The handler's own level keeps the engine's INFO records, which the timeline reads, off stderr.
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s",
                        handlers=[handler])
    result = STEPS[argv[1]](**json.loads(argv[2]))
    Path(argv[3]).write_text(json.dumps(result, default=_json_default, indent=1))
    return 0


def _json_default(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)  # type: ignore[arg-type]  # an instance, not a class
    return str(value)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
