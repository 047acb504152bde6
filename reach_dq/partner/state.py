"""Shared state of the partner server's routes: the companies, the tokens and the active faults."""

from __future__ import annotations

import dataclasses

from fastapi import HTTPException, Request

from reach_dq.partner.auth import TokenStore
from reach_dq.partner.faults import Fault
from reach_dq.partner.statements import Statements


@dataclasses.dataclass(frozen=True)
class PartnerState:
    companies: dict[str, Statements]  # by CompanyId, in CompanyId order
    tokens: TokenStore
    faults: tuple[Fault, ...]

    @property
    def target_company_id(self) -> str:
        """The company that faults target: the first in CompanyId order."""
        return next(iter(self.companies))


def partner_state(request: Request) -> PartnerState:
    state: PartnerState = request.app.state.partner
    return state


def require_token(request: Request) -> None:
    """Raise a 401 unless the request carries an accepted ``Authorization: Bearer`` token."""
    header = request.headers.get("authorization")
    if header is None:
        raise _unauthorized("missing Authorization header; expected 'Bearer <access token>'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("the Authorization header must use the Bearer scheme with a token")
    if not partner_state(request).tokens.accepts(token.strip()):
        raise _unauthorized("the access token is invalid or expired")


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def company_statements(company_id: str, request: Request) -> Statements:
    """Check the token, then return the company's statements or raise a 404."""
    require_token(request)
    statements = partner_state(request).companies.get(company_id)
    if statements is None:
        raise HTTPException(
            status_code=404,
            detail=f"unknown CompanyId {company_id!r}; expected one listed by /oauth2/user-info",
        )
    return statements
