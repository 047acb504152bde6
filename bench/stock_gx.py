"""The stock approach: the project's GX suites run with GX Core on pandas, once per company.

This is how a GX user typically validates many tenants: read one company's rows of a dataset
into a pandas frame (``DuckDBPyConnection.df()``) and run the suite's ValidationDefinition on
it, for every company and every suite. Each dataset's asset, batch definition, suite and
ValidationDefinition are registered once and reused for every company, so the figure measures
the validations themselves, not the registration. No data docs are built.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import duckdb

from reach_dq.datasets import BY_NAME
from reach_dq.gx.context import create_context
from reach_dq.gx.suite_files import SuiteFile, load_suite, suite_paths
from reach_dq.gx_suites import default_suites_dir
from reach_dq.warehouse.ddl import table_columns

log = logging.getLogger(__name__)


def run_stock_gx(
    warehouse: Path, snapshot_id: str, *, companies: int, scratch: Path
) -> dict[str, Any]:
    """Validate the first ``companies`` companies one at a time; return counts and seconds."""
    import great_expectations as gx

    suites = [load_suite(path) for path in suite_paths(default_suites_dir())]
    context = create_context(scratch)
    definitions = {suite.dataset: _definition(gx, context, suite) for suite in suites}

    started = time.perf_counter()
    validations = failed = rows = 0
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        connection.execute("SET enable_progress_bar = false")
        company_ids = [
            row[0]
            for row in connection.execute(
                "SELECT company_id FROM company WHERE snapshot_id = ? ORDER BY company_id LIMIT ?",
                [snapshot_id, companies],
            ).fetchall()
        ]
        for company_id in company_ids:
            for suite in suites:
                frame = _company_frame(connection, suite.dataset, snapshot_id, company_id)
                result = definitions[suite.dataset].run(
                    batch_parameters={"dataframe": frame}, result_format="SUMMARY"
                )
                validations += 1
                rows += len(frame)
                failed += int(not result.success)
    seconds = time.perf_counter() - started
    log.info(
        "stock GX: %d validations of %d companies in %.1f s", validations, len(company_ids), seconds
    )
    return {
        "companies": len(company_ids),
        "validations": validations,
        "failed_validations": failed,
        "rows": rows,
        "loop_seconds": seconds,
    }


def _definition(gx: Any, context: Any, suite: SuiteFile) -> Any:
    source = context.data_sources.get("reach_dq")
    asset = source.add_dataframe_asset(f"stock_{suite.dataset}")
    batch = asset.add_batch_definition_whole_dataframe(f"stock_{suite.dataset}")
    expectation_suite = context.suites.add(
        gx.ExpectationSuite(name=f"stock_{suite.dataset}", expectations=list(suite.expectations))
    )
    return context.validation_definitions.add(
        gx.ValidationDefinition(name=f"stock_{suite.dataset}", data=batch, suite=expectation_suite)
    )


def _company_frame(
    connection: duckdb.DuckDBPyConnection, dataset: str, snapshot_id: str, company_id: str
) -> Any:
    names = ", ".join(f'"{column.name}"' for column in table_columns(BY_NAME[dataset]))
    return connection.execute(
        f'SELECT {names} FROM "{dataset}" WHERE snapshot_id = ? AND company_id = ?',
        [snapshot_id, company_id],
    ).df()
