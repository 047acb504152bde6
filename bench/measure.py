"""Run one measured step in a child process: wall time, peak memory and the step's result.

Every measured command starts from ``bench/launch.py``, a small process that times it and reads
its peak memory: the maximum resident set size as the kernel accounts it (``ru_maxrss``), from
``os.wait4`` on that one command. That is the figure ``resource.getrusage(RUSAGE_CHILDREN)``
gives, but for one child alone, so figures of different steps never mix. The launcher keeps
the harness's own memory out of the figure (see its docstring). When the command itself started
and waited for processes, the figure is the largest of them and the command, not their sum.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parent.parent
LAUNCHER = Path(__file__).resolve().with_name("launch.py")


class BenchmarkError(RuntimeError):
    """A measured step failed, so its figures do not exist."""


@dataclasses.dataclass(frozen=True)
class Measurement:
    label: str
    wall_s: float  # from starting the child to reaping it
    max_rss_mib: float  # the child's peak resident memory
    exit_code: int
    timed_out: bool  # stopped at ``timeout_s``; wall_s and max_rss_mib are lower bounds then
    result: dict[str, Any]  # what the step wrote, empty for a plain command

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return this process's environment with the repository on PYTHONPATH, plus ``extra``."""
    environment = dict(os.environ)
    environment.pop("PREFECT_API_URL", None)  # Prefect starts its own temporary server instead
    paths = [str(REPOSITORY), *filter(None, environment.get("PYTHONPATH", "").split(os.pathsep))]
    environment["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    environment.update(extra or {})
    return environment


def run_command(
    command: Sequence[str],
    *,
    label: str,
    workdir: Path,
    environment: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
    result_path: Path | None = None,
) -> Measurement:
    """Run ``command`` through the launcher, with stdout and stderr in ``workdir``.

    A step that exits non-zero without being stopped raises BenchmarkError with the end of its
    stderr. A step stopped at ``timeout_s`` returns a Measurement with ``timed_out`` set.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = workdir / f"{label}.out", workdir / f"{label}.err"
    report_path = workdir / f"{label}.launch.json"
    report_path.unlink(missing_ok=True)
    launcher = [sys.executable, str(LAUNCHER), str(report_path), str(timeout_s or 0), *command]
    with out_path.open("wb") as out, err_path.open("wb") as err:
        subprocess.run(
            launcher, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=REPOSITORY,
            env=dict(environment) if environment is not None else child_environment(),
            check=False,
        )
    if not report_path.is_file():
        raise BenchmarkError(f"step {label!r} was not measured: the launcher wrote no report")
    report = json.loads(report_path.read_text())

    if report["exit_code"] != 0 and not report["timed_out"]:
        tail = err_path.read_text(errors="replace")[-3000:]
        raise BenchmarkError(
            f"step {label!r} exited with {report['exit_code']}; end of stderr:\n{tail}"
        )
    result: dict[str, Any] = {}
    if result_path is not None and result_path.is_file():
        result = json.loads(result_path.read_text())
    return Measurement(
        label, report["wall_s"], report["max_rss_kib"] / 1024, report["exit_code"],
        report["timed_out"], result,
    )


def run_step(
    step: str,
    parameters: Mapping[str, Any],
    *,
    label: str,
    workdir: Path,
    extra_environment: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
) -> Measurement:
    """Run ``python -m bench.step STEP`` with JSON ``parameters`` in its own process."""
    result_path = workdir / f"{label}.json"
    result_path.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "bench.step", step, json.dumps(dict(parameters)), str(result_path),
    ]
    return run_command(
        command,
        label=label,
        workdir=workdir,
        environment=child_environment(extra_environment),
        timeout_s=timeout_s,
        result_path=result_path,
    )
