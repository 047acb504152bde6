"""``python -m bench``: run every benchmark and write docs/benchmarks.md."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from bench.measure import REPOSITORY, BenchmarkError
from bench.report import render
from bench.runner import FULL, SMOKE, run_benchmarks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--smoke", action="store_true", help="Run at tiny sizes, in one to two minutes."
    )
    parser.add_argument(
        "--output", type=Path, default=REPOSITORY / "docs" / "benchmarks.md",
        help="Markdown page to write. [default: docs/benchmarks.md]",
    )
    parser.add_argument(
        "--workdir", type=Path, default=REPOSITORY / "data" / "bench",
        help="Folder for warehouses, logs and results.json; emptied first. [default: data/bench]",
    )
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)

    started = time.perf_counter()
    sizes = SMOKE if arguments.smoke else FULL
    try:
        results = run_benchmarks(sizes, arguments.workdir)
    except BenchmarkError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 1
    command = "python -m bench --smoke" if arguments.smoke else "make bench"
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(render(results, command=command))
    print(f"wrote {arguments.output} in {time.perf_counter() - started:,.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
