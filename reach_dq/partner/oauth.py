"""OAuth 2.0 routes of the partner server: discovery, authorize, token and user info.

Errors of the authorize and token endpoints follow RFC 6749 section 5.2 (``error`` and
``error_description``) and repeat the description as ``Message``, the error field of the rest
of the API.
"""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from reach_dq.partner.auth import DEFAULT_SCOPE, SCOPES_SUPPORTED, TokenGrant
from reach_dq.partner.faults import FaultRequest, apply_faults
from reach_dq.partner.faults.golive import REFRESH_FAILS
from reach_dq.partner.jsonbody import ExactJSONResponse
from reach_dq.partner.state import PartnerState, partner_state, require_token

log = logging.getLogger(__name__)

router = APIRouter()
Partner = Annotated[PartnerState, Depends(partner_state)]

DEMO_USER = {
    "sub": "reach-dq-demo-user",
    "name": "Reach demo user",
    "email": "demo-user@example.com",
}
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def oauth_error(status_code: int, error: str, description: str) -> Response:
    log.info("OAuth request rejected with %d %s: %s", status_code, error, description)
    # The Reach contract has every 401 send this header, the token endpoint's included.
    headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else None
    body = {"error": error, "error_description": description, "Message": description}
    return ExactJSONResponse(body, status_code=status_code, headers=headers)


@router.get("/auth/oauth-discovery")
def discovery(request: Request, partner: Partner) -> Response:
    base_url = str(request.base_url).rstrip("/")
    body = apply_faults(
        partner.faults,
        _server_fault_request(partner, "getOAuthDiscovery"),
        {
            "issuer": base_url,
            "authorization_endpoint": f"{base_url}/oauth2/authorize",
            "token_endpoint": f"{base_url}/oauth2/token",
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "response_types_supported": ["code"],
            "scopes_supported": list(SCOPES_SUPPORTED),
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
        },
    )
    return body if isinstance(body, Response) else ExactJSONResponse(body)


def _server_fault_request(partner: PartnerState, operation_id: str) -> FaultRequest:
    """Describe a request that concerns the server rather than a company, for the faults."""
    books = partner.companies[partner.target_company_id].books
    return FaultRequest(operation_id, books, target_company=True, target_month=books.last_month)


@router.get("/oauth2/authorize")
def authorize(request: Request, partner: Partner) -> Response:
    """Grant a code at once: the demo server has one user, who always consents.

    The documented response is a 200 JSON body with the code, not a redirect. ``state`` is
    echoed only when the request sends one.
    """
    query = request.query_params
    client_id = query.get("client_id")
    if not client_id or not partner.tokens.client_matches(client_id):
        return oauth_error(400, "invalid_request", f"unknown client_id {client_id!r}")
    redirect_uri = query.get("redirect_uri")
    if not redirect_uri:
        return oauth_error(400, "invalid_request", "redirect_uri is required")
    response_type = query.get("response_type")
    if response_type != "code":
        return oauth_error(
            400, "unsupported_response_type", f"response_type must be 'code', got {response_type!r}"
        )
    scope = query.get("scope") or DEFAULT_SCOPE
    unknown = [name for name in scope.split() if name not in SCOPES_SUPPORTED]
    if unknown:
        supported = list(SCOPES_SUPPORTED)
        message = f"unsupported scopes {unknown!r}; expected some of {supported}"
        return oauth_error(400, "invalid_scope", message)
    body = {"code": partner.tokens.issue_code(redirect_uri=redirect_uri, scope=scope)}
    if query.get("state") is not None:
        body["state"] = query["state"]
    return ExactJSONResponse(body)


@router.post("/oauth2/token")
async def token(request: Request, partner: Partner) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        return oauth_error(
            400, "invalid_request", f"the body must be {FORM_CONTENT_TYPE}, got {content_type!r}"
        )
    text = (await request.body()).decode("utf-8", errors="replace")
    form = {name: values[0] for name, values in parse_qs(text, keep_blank_values=True).items()}

    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    # A missing secret is compared as "" so that it never matches: the secret is never empty.
    if not client_id or not partner.tokens.client_matches(client_id, client_secret or ""):
        return oauth_error(401, "invalid_client", "client_id or client_secret is missing or wrong")
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        return _exchange_code(partner, form)
    if grant_type == "refresh_token":
        return _refresh(partner, form)
    if grant_type is None:
        return oauth_error(400, "invalid_request", "grant_type is required")
    return oauth_error(
        400,
        "unsupported_grant_type",
        f"grant_type must be 'authorization_code' or 'refresh_token', got {grant_type!r}",
    )


def _exchange_code(partner: PartnerState, form: dict[str, str]) -> Response:
    code, redirect_uri = form.get("code"), form.get("redirect_uri")
    if not code or not redirect_uri:
        return oauth_error(400, "invalid_request", "code and redirect_uri are required")
    grant = partner.tokens.exchange_code(code, redirect_uri=redirect_uri)
    if grant is None:
        return oauth_error(
            400,
            "invalid_grant",
            "the authorization code is unknown, spent or expired, or redirect_uri differs "
            "from the authorization request",
        )
    log.info("issued an access token for an authorization code")
    return _token_response(grant)


def _refresh(partner: PartnerState, form: dict[str, str]) -> Response:
    refresh_token = form.get("refresh_token")
    if not refresh_token:
        return oauth_error(400, "invalid_request", "refresh_token is required")
    grant = partner.tokens.refresh(refresh_token)
    if partner.fault_active(REFRESH_FAILS):
        grant = None
    if grant is None:
        return oauth_error(400, "invalid_grant", "the refresh token is unknown or already spent")
    log.info("issued an access token for a refresh token")
    return _token_response(grant)


def _token_response(grant: TokenGrant) -> Response:
    body = {
        "access_token": grant.access_token,
        "token_type": "Bearer",
        "expires_in": grant.expires_in,
        "scope": grant.scope,
        "refresh_token": grant.refresh_token,
    }
    # RFC 6749 section 5.1: responses carrying tokens must not be cached.
    return ExactJSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get("/oauth2/user-info")
def user_info(partner: Partner, token: Annotated[str, Depends(require_token)]) -> Response:
    """List the companies the token may read: those of its customer only."""
    companies = [
        {"CompanyId": company_id, "CompanyName": partner.companies[company_id].books.company.name}
        for company_id in partner.readable_companies(token)
    ]
    return ExactJSONResponse({**DEMO_USER, "Companies": companies})
