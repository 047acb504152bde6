"""Customer isolation probes: a token reads only its own customer's companies.

With one token reach-dq cannot know another customer's CompanyIds, so it checks what it can:
``isolation.unlisted_company`` requests company information and the chart of accounts of a
CompanyId that user-info does not list. A 401, 403 or 404 passes, a 2xx carrying data fails
(a security breach) and any other response is a warning, because the status itself is judged by
``http.unknown_company``.

With two or more tokens (``--token-env`` repeated, or a token plus ``--client-id``) the full
cross check runs:

- ``isolation.user_info_disjoint``: no company is listed by the user-info of two tokens, since
  each token belongs to one customer.
- ``isolation.cross_company``: for every ordered pair of tokens A and B, A asks for company
  information and the chart of accounts of every company that B lists and A does not. Each must
  get 401, 403 or 404; a 2xx is a breach.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence

from reach_dq.datasets import BY_NAME
from reach_dq.fetch.client import ProbeReply
from reach_dq.fetch.plan import planned
from reach_dq.fetch.snapshot import companies_from_user_info
from reach_dq.exceptions import TerminalFetchError
from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.golive.probing import (
    REFUSED_STATUSES,
    LabelledToken,
    ProbeContext,
    carries_data,
    describe,
    document,
    request_text,
)

CHECK_UNLISTED = "isolation.unlisted_company"
CHECK_DISJOINT = "isolation.user_info_disjoint"
CHECK_CROSS = "isolation.cross_company"

UNLISTED_COMPANY_ID = "reach-dq-isolation-probe"
PROBED_DATASETS = ("company", "chart_of_accounts")
DATASET = "user_info"


async def probe_isolation(context: ProbeContext) -> list[Finding]:
    if len(context.tokens) < 2:
        return await _unlisted(context)
    listings = await asyncio.gather(*(_user_info(context, token) for token in context.tokens))
    findings = [_disjoint_finding(context.tokens, listings)]
    pairs = itertools.permutations(range(len(context.tokens)), 2)
    results = await asyncio.gather(
        *(_cross(context, context.tokens[a], listings[a], context.tokens[b], listings[b])
          for a, b in pairs)
    )
    return findings + [finding for group in results for finding in group]


async def _unlisted(context: ProbeContext) -> list[Finding]:
    findings = []
    for name in PROBED_DATASETS:
        request = planned(BY_NAME[name].operation_id, UNLISTED_COMPANY_ID)
        reply = await context.client.probe(request, name=CHECK_UNLISTED)
        outcome, verdict = judge_refusal(reply)
        message = f"{name}: a CompanyId that user-info does not list got {verdict}"
        cases = ()
        if outcome is not Outcome.PASSED:
            cases = (FailureCase(company_id=UNLISTED_COMPANY_ID, field=request_text(request),
                                 expected="401, 403 or 404", actual=describe(reply)),)
        findings.append(Finding(CHECK_UNLISTED, Category.SECURITY, name, outcome, message,
                                failure_count=len(cases), failure_cases=cases))
    return findings


def judge_refusal(reply: ProbeReply) -> tuple[Outcome, str]:
    """Judge the response to a request for a company the token may not read."""
    status = reply.status_code
    if status in REFUSED_STATUSES:
        return Outcome.PASSED, str(status)
    if status is not None and 200 <= status < 300 and carries_data(reply):
        return Outcome.FAILED, f"{status} with data, a breach of isolation"
    return Outcome.WARNING, f"{describe(reply)}, expected 401, 403 or 404"


async def _user_info(context: ProbeContext, token: LabelledToken) -> tuple[str, ...] | str:
    """Return the companies user-info lists for ``token``, or why it could not be read."""
    reply = await context.client.probe(planned("getUserInfo"), name=CHECK_DISJOINT,
                                       token=token.token)
    if reply.status_code != 200:
        return f"user-info for {token.label} -> {describe(reply)}"
    try:
        return companies_from_user_info(document(reply))
    except TerminalFetchError as exc:
        return f"user-info for {token.label}: {exc}"


def _disjoint_finding(
    tokens: Sequence[LabelledToken], listings: Sequence[tuple[str, ...] | str]
) -> Finding:
    problems = [listing for listing in listings if isinstance(listing, str)]
    if problems:
        message = f"user-info could not be read for every token: {problems[0]}"
        return Finding(CHECK_DISJOINT, Category.SECURITY, DATASET, Outcome.NOT_EVALUATED, message)
    cases = []
    for a, b in itertools.combinations(range(len(tokens)), 2):
        shared = sorted(set(listings[a]) & set(listings[b]))
        if shared:
            cases.append(FailureCase(field=f"{tokens[a].label} and {tokens[b].label}",
                                     expected="no company listed for both",
                                     actual=f"both list {', '.join(shared)}"))
    if cases:
        message = f"user-info lists the same companies for two tokens: {cases[0].field}: {cases[0].actual}"
        return Finding(CHECK_DISJOINT, Category.SECURITY, DATASET, Outcome.FAILED, message,
                       failure_count=len(cases), failure_cases=tuple(cases))
    counts = ", ".join(f"{token.label}: {len(listing)}" for token, listing in zip(tokens, listings))
    message = f"each token's user-info lists companies of its own ({counts})"
    return Finding(CHECK_DISJOINT, Category.SECURITY, DATASET, Outcome.PASSED, message)


async def _cross(
    context: ProbeContext,
    reader: LabelledToken,
    readable: tuple[str, ...] | str,
    owner: LabelledToken,
    owned: tuple[str, ...] | str,
) -> list[Finding]:
    if isinstance(readable, str) or isinstance(owned, str):
        return []
    foreign = [company for company in owned if company not in readable]
    findings = []
    for company_id in foreign:
        cases = []
        verdicts = []
        for name in PROBED_DATASETS:
            request = planned(BY_NAME[name].operation_id, company_id)
            reply = await context.client.probe(request, name=CHECK_CROSS, token=reader.token)
            outcome, verdict = judge_refusal(reply)
            verdicts.append(f"{name} {verdict}")
            if outcome is Outcome.FAILED:
                cases.append(FailureCase(company_id=company_id, field=request_text(request),
                                         expected="401, 403 or 404", actual=describe(reply)))
        who = f"{reader.label} reading {company_id} of {owner.label}"
        if cases:
            message = f"{who}: {cases[0].field} -> {cases[0].actual}, a breach of isolation"
            findings.append(Finding(CHECK_CROSS, Category.SECURITY, "company", Outcome.FAILED,
                                    message, company_id, failure_count=len(cases),
                                    failure_cases=tuple(cases)))
        else:
            findings.append(Finding(CHECK_CROSS, Category.SECURITY, "company", Outcome.PASSED,
                                    f"{who}: {'; '.join(verdicts)}", company_id))
    return findings
