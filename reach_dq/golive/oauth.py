"""OAuth probes: the discovery document, its endpoints, and tokens obtained and refreshed.

- ``oauth.discovery``: ``GET /auth/oauth-discovery`` without a token returns 200 JSON with every
  field that the OpenAPI document declares for it (the contract lists seven).
- ``oauth.endpoints``: the authorization and token endpoints it names respond with any status
  below 500 other than 404 and 405. An endpoint outside the partner's base URL is not contacted,
  so reach-dq never sends a request to another host; that is a warning.
- ``oauth.token_grant`` and ``oauth.refresh`` (only with ``--client-id``): a token pair obtained
  through the authorization code flow, then a refresh_token grant, each followed by a user-info
  request that must accept the new access token.
- ``oauth.token_renewal``: every renewal of the run's own token (``expires_in`` passed, or a 401
  on a token that worked) succeeded. A run that needed no renewal has no such finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr

from reach_dq.exceptions import ContractError, FetchError
from reach_dq.fetch.plan import PlannedRequest, planned
from reach_dq.fetch.tokens import OAuthTokens, Renewal
from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.golive.probing import ProbeContext, describe, document, is_json

CHECK_DISCOVERY = "oauth.discovery"
CHECK_ENDPOINTS = "oauth.endpoints"
CHECK_TOKEN_GRANT = "oauth.token_grant"
CHECK_REFRESH = "oauth.refresh"
CHECK_RENEWAL = "oauth.token_renewal"

DATASET = "oauth"
DISCOVERY_OPERATION = "getOAuthDiscovery"
DISCOVERY_PATH = "/auth/oauth-discovery"
ENDPOINT_FIELDS = (("authorization_endpoint", "GET"), ("token_endpoint", "POST"))
NOT_ANSWERED = (404, 405)


async def probe_oauth(context: ProbeContext) -> list[Finding]:
    findings = await _discovery(context)
    if context.credentials is not None:
        findings += await _grant_and_refresh(context)
    return findings


def discovery_fields(context: ProbeContext) -> list[str]:
    """Return the fields the OpenAPI document declares for the discovery document."""
    operation = context.spec.operations.get(DISCOVERY_OPERATION)
    if operation is None:
        operation = context.spec.match("GET", DISCOVERY_PATH)
    if operation is None:
        raise ContractError(f"the OpenAPI document has no operation GET {DISCOVERY_PATH}")
    schema = context.spec.response_schema(operation.operation_id, 200)
    return list(schema.get("properties", {}))


async def _discovery(context: ProbeContext) -> list[Finding]:
    request = PlannedRequest(DISCOVERY_OPERATION, "GET", DISCOVERY_PATH)
    reply = await context.client.probe(request, name=CHECK_DISCOVERY, authenticate=False)
    try:
        fields = discovery_fields(context)
    except ContractError as exc:
        return [_finding(CHECK_DISCOVERY, Outcome.NOT_EVALUATED, f"discovery: {exc}")]

    body = document(reply)
    if reply.status_code != 200 or not isinstance(body, dict) or not is_json(reply.content_type):
        case = FailureCase(field=f"GET {DISCOVERY_PATH}", expected="200 with a JSON object",
                           actual=describe(reply))
        return [_finding(CHECK_DISCOVERY, Outcome.FAILED,
                         f"discovery: GET {DISCOVERY_PATH} -> {case.actual}", [case])]

    missing = [name for name in fields if name not in body]
    cases = [FailureCase(field=name, expected="present", actual="missing") for name in missing]
    if cases:
        message = f"discovery: the document lacks {', '.join(missing)}"
        findings = [_finding(CHECK_DISCOVERY, Outcome.FAILED, message, cases)]
    else:
        message = f"discovery: all {len(fields)} fields of the contract are present"
        findings = [_finding(CHECK_DISCOVERY, Outcome.PASSED, message)]
    findings.append(await _endpoints(context, body))
    return findings


async def _endpoints(context: ProbeContext, body: dict[str, Any]) -> Finding:
    cases: list[FailureCase] = []
    skipped: list[str] = []
    answered: list[str] = []
    for name, method in ENDPOINT_FIELDS:
        url = body.get(name)
        path = _path_under(context.base_url, url)
        if path is None:
            skipped.append(f"{name} {url!r}")
            continue
        request = PlannedRequest(DISCOVERY_OPERATION, method, path)
        reply = await context.client.probe(request, name=CHECK_ENDPOINTS, authenticate=False)
        if reply.status_code is None or reply.status_code >= 500 or (
            reply.status_code in NOT_ANSWERED
        ):
            cases.append(FailureCase(field=f"{name} {method} {path}",
                                     expected="an HTTP answer (a 4xx for an empty request)",
                                     actual=describe(reply)))
        else:
            answered.append(f"{name} {reply.status_code}")

    if cases:
        first = cases[0]
        return _finding(CHECK_ENDPOINTS, Outcome.FAILED,
                        f"discovery endpoints: {first.field} -> {first.actual}", cases)
    if skipped:
        message = (f"discovery endpoints outside the base URL {context.base_url!r} were not "
                   f"contacted: {'; '.join(skipped)}")
        return _finding(CHECK_ENDPOINTS, Outcome.WARNING, message)
    return _finding(CHECK_ENDPOINTS, Outcome.PASSED,
                    f"discovery endpoints answer: {', '.join(answered)}")


async def _grant_and_refresh(context: ProbeContext) -> list[Finding]:
    assert context.credentials is not None  # checked by the caller
    tokens = OAuthTokens(context.credentials, probe=CHECK_TOKEN_GRANT)
    try:
        grant = await tokens.obtain(context.client)
    except FetchError as exc:
        message = _redact(f"no token for client {context.credentials.client_id!r}: {exc}", tokens)
        return [_finding(CHECK_TOKEN_GRANT, Outcome.FAILED, message,
                         [FailureCase(field="authorization code flow", actual=message)])]
    granted = await _user_info_accepts(context, grant.access_token, CHECK_TOKEN_GRANT, tokens)
    if grant.refresh_token is None:
        refreshed = _finding(CHECK_REFRESH, Outcome.FAILED,
                             "refresh: the token response carried no refresh_token",
                             [FailureCase(field="refresh_token", expected="present",
                                          actual="missing")])
        return [granted, refreshed]

    tokens.probe = CHECK_REFRESH
    try:
        renewed = await tokens.refresh(context.client, grant.refresh_token)
    except FetchError as exc:
        message = _redact(f"refresh: the refresh_token grant failed: {exc}", tokens)
        case = FailureCase(field="POST /oauth2/token grant_type=refresh_token",
                           expected="200 with a new access_token", actual=message)
        return [granted, _finding(CHECK_REFRESH, Outcome.FAILED, message, [case])]
    return [granted, await _user_info_accepts(context, renewed.access_token, CHECK_REFRESH, tokens)]


async def _user_info_accepts(
    context: ProbeContext, token: SecretStr, check: str, tokens: OAuthTokens
) -> Finding:
    request = planned("getUserInfo")
    reply = await context.client.probe(request, name=check, token=token)
    what = "a new token" if check == CHECK_TOKEN_GRANT else "a refreshed token"
    if reply.status_code == 200:
        return _finding(check, Outcome.PASSED, f"{check}: user-info accepted {what}")
    actual = _redact(describe(reply), tokens)
    return _finding(check, Outcome.FAILED, f"{check}: user-info rejected {what}: {actual}",
                    [FailureCase(field="GET /oauth2/user-info", expected="200", actual=actual)])


def renewal_finding(renewals: Sequence[Renewal]) -> Finding | None:
    """Return the finding on the run's token renewals; None when the run needed none."""
    if not renewals:
        return None
    failed = [renewal for renewal in renewals if not renewal.succeeded]
    cases = [FailureCase(field=f"renewal ({renewal.reason})", expected="a new access token",
                         actual=renewal.message) for renewal in failed]
    if failed:
        message = (f"token renewal: {len(failed)} of {len(renewals)} renewals failed; first: "
                   f"{failed[0].message}")
        return _finding(CHECK_RENEWAL, Outcome.FAILED, message, cases)
    reasons = ", ".join(sorted({renewal.reason for renewal in renewals}))
    return _finding(CHECK_RENEWAL, Outcome.PASSED,
                    f"token renewal: {len(renewals)} renewals ({reasons}) succeeded")


def _path_under(base_url: str, url: Any) -> str | None:
    """Return ``url`` relative to ``base_url``, or None when it lies outside it."""
    if not isinstance(url, str) or not url.startswith(f"{base_url}/"):
        return None
    return url[len(base_url):]


def _redact(text: str, tokens: OAuthTokens) -> str:
    for secret in tokens.secrets():
        if secret:
            text = text.replace(secret, "[token]")
    return text


def _finding(
    check: str, outcome: Outcome, message: str, cases: Sequence[FailureCase] = ()
) -> Finding:
    return Finding(check, Category.SECURITY, DATASET, outcome, message,
                   failure_count=len(cases), failure_cases=tuple(cases))
