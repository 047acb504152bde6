"""Run the Great Expectations suites of the ``expectations/`` folder over one snapshot's frames.

Each ``<dataset>.json`` suite runs once over the pandas frame of its dataset, the typed table of
one snapshot. GX reads frames here, never DuckDB through SQLAlchemy, because every GX 1.24.1
metric on duckdb-engine comes back empty. Each expectation result becomes one finding, and GX
data docs for the run are written to ``docs_dir``.

``great_expectations`` is imported inside the functions that use it: the import takes about two
seconds, and command-line help must not pay for it.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from reach_dq.exceptions import ConfigError, PublishError
from reach_dq.findings import Finding, Outcome
from reach_dq.gx import context as gx_context
from reach_dq.gx.result_findings import (
    empty_suite_finding,
    invalid_suite_finding,
    not_evaluated_findings,
    suite_findings,
)
from reach_dq.gx.suite_files import SuiteFile, load_suite, suite_paths

if TYPE_CHECKING:
    import pandas

    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context import EphemeralDataContext

log = logging.getLogger(__name__)

# GX writes the run name into data docs paths, so it must be a single path segment.
_RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclasses.dataclass(frozen=True)
class SuiteRun:
    findings: list[Finding]
    docs_index: Path  # index.html of the data docs site


def default_suites_dir() -> Path:
    """Return the ``expectations/`` folder at the root of the repository."""
    # NOTE: the folder sits beside the package, not inside it. It exists in a source checkout
    # or an editable install, but a built wheel does not contain it.
    return Path(__file__).resolve().parent.parent / "expectations"


def run_suites(
    frames: Mapping[str, pandas.DataFrame],
    *,
    docs_dir: Path,
    run_name: str,
    suites_dir: Path | None = None,
) -> SuiteRun:
    """Validate each dataset's frame against its suite and build the data docs.

    A suite file that cannot be read, a dataset without a frame, an empty frame and a suite that
    GX could not run all give ``not_evaluated`` findings instead of raising. Raises
    ``ConfigError`` for an invalid ``run_name`` or a suites folder without suites, and
    ``PublishError`` when ``docs_dir`` or the data docs cannot be written.
    """
    if not _RUN_NAME.fullmatch(run_name):
        raise ConfigError(
            f"run name must be letters, digits, '.', '_' or '-' and start with a letter or "
            f"digit, got {run_name!r}"
        )
    suites, findings = _load_suites(suites_dir or default_suites_dir())
    _make_docs_dir(docs_dir)

    context = gx_context.create_context(docs_dir)
    run_id = _run_id(run_name)
    for suite_file in suites:
        findings.extend(_run_suite(context, suite_file, frames.get(suite_file.dataset), run_id))

    docs_index = gx_context.build_docs(context, docs_dir)
    return SuiteRun(findings, docs_index)


def _load_suites(suites_dir: Path) -> tuple[list[SuiteFile], list[Finding]]:
    suites: list[SuiteFile] = []
    findings: list[Finding] = []
    for path in suite_paths(suites_dir):
        try:
            suites.append(load_suite(path))
        except ConfigError as exc:
            log.warning("suite file skipped: %s", exc)
            findings.append(invalid_suite_finding(path, str(exc)))
    return suites, findings


def _make_docs_dir(docs_dir: Path) -> None:
    try:
        docs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PublishError(f"data docs folder {str(docs_dir)!r} cannot be created: {exc}") from exc


def _run_id(run_name: str) -> RunIdentifier:
    from great_expectations.core.run_identifier import RunIdentifier

    return RunIdentifier(run_name=run_name, run_time=dt.datetime.now(dt.timezone.utc))


def _run_suite(
    context: EphemeralDataContext,
    suite_file: SuiteFile,
    frame: pandas.DataFrame | None,
    run_id: RunIdentifier,
) -> list[Finding]:
    if frame is None:
        return not_evaluated_findings(suite_file, f"no frame for dataset {suite_file.dataset!r}")
    if frame.empty:
        # NOTE: an empty frame is not validated, so its suite is absent from the data docs.
        return [empty_suite_finding(suite_file)]

    try:
        validation = gx_context.validate_frame(context, suite_file, frame, run_id=run_id)
    except Exception as exc:  # noqa: BLE001  # any GX failure on one suite must not stop the rest
        log.warning("GX could not validate suite %s", suite_file.name, exc_info=True)
        reason = f"GX could not validate the suite: {type(exc).__name__}: {exc}"
        return not_evaluated_findings(suite_file, reason)

    findings = suite_findings(suite_file, validation)
    counts = collections.Counter(finding.outcome for finding in findings)
    log.info(
        "suite %s on %d rows: %d passed, %d failed, %d warnings, %d not evaluated",
        suite_file.name,
        len(frame),
        counts[Outcome.PASSED],
        counts[Outcome.FAILED],
        counts[Outcome.WARNING],
        counts[Outcome.NOT_EVALUATED],
    )
    return findings
