"""The run lock of a warehouse: one reach-dq run at a time per warehouse file.

A run (validate, golive, nightly) holds an exclusive ``flock`` on ``<warehouse>.lock`` from its
first stage to its last, because the stages open the DuckDB file one after another and DuckDB's
own lock is released between them. The kernel releases a ``flock`` when its process dies,
SIGKILL included, so a crashed run never blocks the next one.

A second run does not queue: it fails at once with a ``StoreError`` naming the process that
holds the lock, as recorded in the lock file. Queueing would let nightly runs pile up behind a
hung one without anyone noticing.

While the lock is held no other run writes the warehouse, so a snapshot still ``running`` when
a run takes the lock belongs to a run that died. The run marks it ``incomplete`` at once, and
such a snapshot is never used as a baseline.

NOTE: ``flock`` is POSIX only; on other systems the module cannot be imported.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from reach_dq.exceptions import StoreError
from reach_dq.warehouse.warehouse import MEMORY, Warehouse

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"

# Warehouses whose run lock this process holds, with the nesting depth, so that a flow that
# holds the lock can call a stage function that takes it again.
_depth_by_lock: dict[Path, int] = {}
_held_guard = threading.Lock()


def lock_path(warehouse: Path | str) -> Path:
    """Return the lock file beside ``warehouse``: the same name with ``.lock`` appended."""
    path = Path(warehouse)
    return path.with_name(path.name + LOCK_SUFFIX)


@contextlib.contextmanager
def run_lock(warehouse: Path | str, *, command: str) -> Iterator[list[str]]:
    """Hold the run lock of ``warehouse`` for the block; yield the snapshots it closed.

    On entry it marks every snapshot left ``running`` by a dead run ``incomplete`` and yields
    their ids. Raises ``StoreError`` at once when another process holds the lock. Nested use
    in one process is allowed and yields an empty list. A ``":memory:"`` warehouse needs no lock.
    """
    if str(warehouse) == MEMORY:
        yield []
        return

    key = lock_path(warehouse).resolve()
    with _held_guard:
        depth = _depth_by_lock.get(key, 0)
        _depth_by_lock[key] = depth + 1
    try:
        if depth:
            yield []
            return
        with _locked_file(key, command=command):
            yield _close_abandoned(warehouse)
    finally:
        with _held_guard:
            _depth_by_lock[key] -= 1
            if not _depth_by_lock[key]:
                del _depth_by_lock[key]


@contextlib.contextmanager
def _locked_file(path: Path, *, command: str) -> Iterator[None]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot open the run lock {str(path)!r}: {exc.strerror}") from exc

    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(_busy_message(path, _read_holder(descriptor))) from None
        _write_holder(descriptor, command)
        log.info("took the run lock %s", path)
        try:
            yield
        finally:
            os.ftruncate(descriptor, 0)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            log.info("released the run lock %s", path)
    finally:
        os.close(descriptor)


def _write_holder(descriptor: int, command: str) -> None:
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    text = f"pid {os.getpid()}, reach-dq {command}, started {started}\n"
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, text.encode("utf-8"), 0)


def _read_holder(descriptor: int) -> str:
    text = os.pread(descriptor, 512, 0).decode("utf-8", errors="replace").strip()
    return text or "a process that has not written its pid yet"


def _busy_message(path: Path, holder: str) -> str:
    warehouse = path.with_name(path.name.removesuffix(LOCK_SUFFIX))
    return (
        f"warehouse {str(warehouse)!r} is in use by another reach-dq run ({holder}); "
        "wait for that run to finish, or use another warehouse file"
    )


def _close_abandoned(warehouse: Path | str) -> list[str]:
    with Warehouse.open(warehouse) as opened:
        return opened.close_abandoned_snapshots()
