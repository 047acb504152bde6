"""Partner values in stored GX validation results are HTML-escaped before data docs are built."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reach_dq.gx.context import create_context
from reach_dq.gx.escape import escape_stored_results, escape_strings

HOSTILE = "<img src=x onerror=\"alert('x')\">"
ESCAPED = "&lt;img src=x onerror=&quot;alert(&#x27;x&#x27;)&quot;&gt;"


def test_escape_strings_walks_nested_values() -> None:
    value = {"partial_unexpected_list": [HOSTILE, 3], "counts": ({"value": HOSTILE, "count": 1},)}
    assert escape_strings(value) == {
        "partial_unexpected_list": [ESCAPED, 3],
        "counts": ({"value": ESCAPED, "count": 1},),
    }


def test_stored_results_escaped_returned_ones_kept(tmp_path: Path) -> None:
    import great_expectations as gx

    context = create_context(tmp_path / "gx")
    asset = context.data_sources.get("reach_dq").add_dataframe_asset("names")
    batch = asset.add_batch_definition_whole_dataframe("names")
    expectation = gx.expectations.ExpectColumnValuesToMatchRegex(column="name", regex="^[A-Z]+$")
    suite = context.suites.add(gx.ExpectationSuite(name="names", expectations=[expectation]))
    definition = context.validation_definitions.add(gx.ValidationDefinition(name="names", data=batch, suite=suite))
    returned = definition.run(batch_parameters={"dataframe": pd.DataFrame({"name": ["OK", HOSTILE]})})

    assert escape_stored_results(context) == 1

    [key] = context.validation_results_store.list_keys()
    stored = context.validation_results_store.get(key)
    assert stored.results[0].result["partial_unexpected_list"] == [ESCAPED]
    assert returned.results[0].result["partial_unexpected_list"] == [HOSTILE]
