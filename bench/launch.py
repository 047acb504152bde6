"""Start one command from this small process and write its wall time and peak memory as JSON.

``python bench/launch.py REPORT_PATH TIMEOUT_S COMMAND...`` runs COMMAND with this process's
stdin, stdout and stderr. It writes ``wall_s``, ``max_rss_kib``, ``exit_code`` and
``timed_out`` to REPORT_PATH. A TIMEOUT_S above zero stops COMMAND with SIGKILL after that
many seconds.

Why a launcher: Python starts children with vfork, and Linux carries the parent's peak
resident memory over into the child's ``ru_maxrss`` when the child calls exec. Started from the
benchmark harness, every step would report at least the harness's own peak. Started from here,
a command reports at least this process's peak, which is small: it imports only the standard
library modules below.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        print("usage: python bench/launch.py REPORT_PATH TIMEOUT_S COMMAND...", file=sys.stderr)
        return 2
    report_path, timeout_s, command = Path(argv[1]), float(argv[2]), argv[3:]

    timed_out = threading.Event()
    started = time.perf_counter()
    process = subprocess.Popen(command)

    def stop() -> None:
        timed_out.set()
        process.kill()

    timer = threading.Timer(timeout_s, stop) if timeout_s > 0 else None
    if timer is not None:
        timer.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall_s = time.perf_counter() - started
    if timer is not None:
        timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen.wait

    report = {
        "wall_s": wall_s,
        "max_rss_kib": usage.ru_maxrss,
        "exit_code": process.returncode,
        "timed_out": timed_out.is_set(),
    }
    report_path.write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
