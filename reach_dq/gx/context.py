"""The GX Core 1.x Data Context of one run: in memory, with one data docs site on disk.

Nothing is written outside ``docs_dir``: the stores are in memory, the context has no project
folder, analytics are off and progress bars are off.

Each dataset is validated by its own ValidationDefinition run rather than by one Checkpoint over
all of them. ``Checkpoint.run`` in GX 1.24.1 passes the same ``batch_parameters`` (and so the
same dataframe) to every ValidationDefinition. The runs share one RunIdentifier, and the data
docs are built once after the last run.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from reach_dq.exceptions import PublishError
from reach_dq.findings import MAX_FAILURE_CASES

if TYPE_CHECKING:
    import pandas

    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context import EphemeralDataContext
    from great_expectations.datasource.fluent import PandasDatasource

    from reach_dq.gx.suite_files import SuiteFile

log = logging.getLogger(__name__)

DATA_SOURCE_NAME = "reach_dq"
DOCS_SITE_NAME = "local_site"

# Columns reported beside each unexpected value, when the frame has them. unstored_values
# contains what the partner sent for a column that is NULL because the warehouse could not
# store it.
INDEX_COLUMNS = (
    "company_id", "basis", "budget_id", "class_id", "department_id", "account_id", "date",
    "unstored_values",
)


def create_context(docs_dir: Path) -> EphemeralDataContext:
    """Create an in-memory Data Context whose only data docs site is rooted at ``docs_dir``."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    site = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(docs_dir.resolve()),
        },
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        data_docs_sites={DOCS_SITE_NAME: site},
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    context.data_sources.add_pandas(DATA_SOURCE_NAME)
    return context


def validate_frame(
    context: EphemeralDataContext,
    suite_file: SuiteFile,
    frame: pandas.DataFrame,
    *,
    run_id: RunIdentifier,
) -> ExpectationSuiteValidationResult:
    """Validate ``frame`` against the suite: one dataframe asset and one ValidationDefinition."""
    import great_expectations as gx

    needed = suite_file.columns() | set(INDEX_COLUMNS)
    columns = [column for column in frame.columns if column in needed]
    data = _suite_data(frame, columns)

    source = cast("PandasDatasource", context.data_sources.get(DATA_SOURCE_NAME))
    asset = source.add_dataframe_asset(suite_file.dataset)
    batch_definition = asset.add_batch_definition_whole_dataframe(suite_file.dataset)
    suite = context.suites.add(
        gx.ExpectationSuite(
            name=suite_file.name,
            expectations=list(suite_file.expectations),
            notes=suite_file.notes,
        )
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite_file.name, data=batch_definition, suite=suite)
    )
    return definition.run(
        batch_parameters={"dataframe": data},
        result_format=_result_format(columns),
        run_id=run_id,
    )


def build_docs(context: EphemeralDataContext, docs_dir: Path) -> Path:
    """Build the data docs site from this run's validation results and return its index.html.

    The partner's values in the stored results are HTML-escaped first (see ``gx.escape``).
    """
    from reach_dq.gx.escape import escape_stored_results

    try:
        escape_stored_results(context)
        context.build_data_docs(site_names=[DOCS_SITE_NAME])
    except Exception as exc:  # noqa: BLE001  # any GX rendering or file error is a PublishError
        raise PublishError(f"GX data docs could not be built in {str(docs_dir)!r}: {exc}") from exc

    index = docs_dir / "index.html"
    if not index.is_file():
        raise PublishError(f"GX data docs were built but {str(index)!r} is missing")
    log.info("built GX data docs at %s", index)
    return index


def _suite_data(frame: pandas.DataFrame, columns: list[str]) -> pandas.DataFrame:
    """Return the suite's columns with a 0..n-1 index, copying only when ``frame`` differs."""
    import pandas

    index = frame.index
    plain_index = isinstance(index, pandas.RangeIndex) and index.start == 0 and index.step == 1
    if plain_index and list(frame.columns) == columns:
        return frame  # GX only reads the frame, so the caller's frame is passed as it is
    return frame.loc[:, columns].reset_index(drop=True)


def _result_format(columns: list[str]) -> dict[str, Any]:
    # SUMMARY keeps only the first MAX_FAILURE_CASES unexpected rows with their index columns,
    # so results and docs pages stay small however many rows fail.
    result_format: dict[str, Any] = {
        "result_format": "SUMMARY",
        "partial_unexpected_count": MAX_FAILURE_CASES,
    }
    index_columns = [column for column in INDEX_COLUMNS if column in columns]
    if index_columns:
        result_format["unexpected_index_column_names"] = index_columns
    return result_format
