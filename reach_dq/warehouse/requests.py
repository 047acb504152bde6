"""The columns that identify one request in ``http_exchanges``, to group its attempts.

A POST to one path differs by its body, so the statement and metric parameters that the fetch
records beside the path are part of a request's identity, as are the page and the operation.
"""

from __future__ import annotations

REQUEST_KEY = (
    "operation_id, method, path, basis, budget_id, class_id, department_id, "
    "page_offset, page_limit, start_date, end_date"
)

# A QUALIFY condition that keeps the last attempt of each request. Rows are those of one
# snapshot, so the snapshot is not part of the key.
LAST_ATTEMPT = f"attempt = max(attempt) OVER (PARTITION BY {REQUEST_KEY})"
