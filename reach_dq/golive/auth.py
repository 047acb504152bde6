"""Access probes: every data operation without a token and with a wrong token.

The Reach API rejects a missing or invalid token with 401 or 403, never 200 and never HTML. So
a probe fails on a 2xx (the data is open to anyone), on an HTML page (a login page meant for a
browser) and on any other status.
"""

from __future__ import annotations

import asyncio
import secrets

from pydantic import SecretStr

from reach_dq.datasets import Dataset
from reach_dq.findings import Category, FailureCase, Finding
from reach_dq.golive.probing import (
    REJECTED_STATUSES,
    ProbeContext,
    data_datasets,
    describe,
    is_html,
    judged,
    month_range,
    request_text,
    valid_request,
)

CHECK_MISSING_TOKEN = "auth.missing_token"
CHECK_INVALID_TOKEN = "auth.invalid_token"


async def probe_access(context: ProbeContext) -> list[Finding]:
    """Send each data operation once without a token and once with a random wrong token."""
    wrong = SecretStr(f"reach-dq-wrong-token-{secrets.token_hex(8)}")
    checks = [
        _probe(context, dataset, CHECK_MISSING_TOKEN, None)
        for dataset in data_datasets()
    ] + [
        _probe(context, dataset, CHECK_INVALID_TOKEN, wrong)
        for dataset in data_datasets()
    ]
    return [finding for finding in await asyncio.gather(*checks) if finding is not None]


async def _probe(
    context: ProbeContext, dataset: Dataset, check: str, token: SecretStr | None
) -> Finding | None:
    company_id = context.first_company if dataset.per_company else None
    if dataset.per_company and company_id is None:
        return None
    start, end = month_range(context.last_month)
    request = valid_request(dataset, company_id, start=start, end=end)
    reply = await context.client.probe(
        request, name=check, authenticate=False, token=token
    )
    cases = []
    if reply.status_code not in REJECTED_STATUSES or is_html(reply):
        cases.append(
            FailureCase(
                company_id=company_id,
                field=request_text(request),
                expected="401 or 403 with a JSON body",
                actual=describe(reply),
            )
        )
    what = "without a token" if token is None else "with an invalid token"
    return judged(
        check,
        Category.SECURITY,
        dataset.name,
        checked=1,
        cases=cases,
        company_id=company_id,
        passed=f"a request {what} got {reply.status_code}",
        failed=f"a request {what} was not rejected with 401 or 403",
    )
