"""HTML-escape the partner's values in stored GX validation results before data docs are built.

GX Core 1.24.1 renders the table cells of its validation pages (the unexpected values, their
counts and the index columns of their rows) from ``.j2`` templates. Jinja's
``select_autoescape(["html", "xml"])`` does not escape templates with that suffix, so a value
such as ``<script>...</script>`` from a partner reaches the page as markup and runs when the page
is opened. GX escapes only the parameters of its string templates.

``escape_stored_results`` rewrites every result in the context's validation results store with
each string of ``result`` and ``exception_info`` HTML-escaped. Findings are taken from the results
that the validation runs return, which this does not change, so only the data docs see escaped
text. A value that also passes through a GX string template shows its escapes literally (for
example ``&amp;lt;``), which is the price of never running partner text as code.
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations.data_context import AbstractDataContext

log = logging.getLogger(__name__)


def escape_stored_results(context: AbstractDataContext) -> int:
    """Escape the partner's values in every stored validation result; return how many there were."""
    store = context.validation_results_store
    keys = store.list_keys()
    for key in keys:
        suite_result = store.get(key)
        for result in suite_result.results:
            result.result = escape_strings(result.result)
            result.exception_info = escape_strings(result.exception_info)
        store.set(key, suite_result)
    log.debug("escaped the values of %d stored validation results", len(keys))
    return len(keys)


def escape_strings(value: Any) -> Any:
    """Return ``value`` with every string in it HTML-escaped; mapping keys stay as they are."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, dict):
        return {key: escape_strings(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(escape_strings(item) for item in value)
    return value
